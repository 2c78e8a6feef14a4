"""Session 16, a new user from the README alone: their own losses through `symnet derive --stable`
and `symnet.torch.functional.loss`.

* `symnet derive "bce(p, t)" --stable` printed no derivation at all, only
  "symnet: error: bce: t has an entry outside [0, 1] (1.25); t must be in [0, 1]" (12 s in): the kink
  report ran the generated code at a point on the kink whose other inputs were fixed at 5/4, which the
  code refuses with a DomainError (`focal(z, t, 0.25, g) --stable` the same after 45 s).
* The stable-forms section wrote `f64(…)` without saying what it is, and for a formula that still
  overflows pointed at the row-wise softmax kernels (a log-variance Gaussian NLL has no softmax).
* `loss("gaussian_nll", mu, t, var)` said "gaussian_nll: a parameter must be a number, not Tensor of
  shape (7,)", not where the variance goes.
"""
from __future__ import annotations

import sympy as sp

import symnet
from symnet.codegen.ir import describe, stability_section

from symnet.verify.hazard import _kink_text, kinks


def test_kink_report_of_a_loss_with_a_domain_picks_a_point_inside_it():
    rows = kinks(symnet.derive("bce(p, t)"))  # raised DomainError (t = 5/4) before
    assert rows
    measured = [r for r in rows if "point" in r]
    assert measured, rows
    for r in measured:
        t = float(sp.sympify(r["point"].split("t = ")[1]))
        assert 0 <= t <= 1, r["point"]
    for r in rows:
        found, _ = _kink_text(r)
        assert found.startswith("kink: "), found


def _section(formula):
    return stability_section(describe(symnet.derive(formula)))


def test_stable_forms_say_what_f64_is_and_do_not_point_a_gaussian_nll_to_softmax():
    section = _section("0.5*(s + (p-t)**2*exp(-s))")
    assert "f64(…) is a sum the kernel computes in float64" in section.text
    # f at p = t, s = −1000 was 0·inf = NaN and --stable said "still overflows"; since session 19's rule
    # zero-scaled-exp (tests/test_gauss19.py) the form is right there, and --stable no longer says so
    assert "still overflows" not in section.text
    assert "softmax" not in section.text
    import numpy as np
    k = symnet.compile(symnet.derive("0.5*(s + (p-t)**2*exp(-s))"))
    f, dp, ds, dt = k(p=np.array([1.0]), t=np.array([1.0]), s=np.array([-1000.0]))
    assert (f[0], dp[0], ds[0], dt[0]) == (-500.0, 0.0, 0.5, 0.0)


def test_softmax_written_out_still_names_the_max_shift_when_it_overflows():
    section = _section("exp(a)/(exp(a) + exp(b))")
    if "still overflow" in section.text:
        assert "max-shift" in section.text


def test_no_f64_note_where_no_sum_is_widened():
    section = _section("log(1 + exp(z))")
    assert "f64(" not in section.text


def test_gaussian_nll_with_the_variance_as_a_third_tensor_says_to_pass_a_tuple():
    import pytest

    torch = pytest.importorskip("torch")
    import symnet.torch as st
    from symnet.errors import SymnetError

    mu, t = torch.zeros(7, dtype=torch.float64), torch.ones(7, dtype=torch.float64)
    with pytest.raises(SymnetError, match=r"gaussian_nll takes 3 tensors, got 2: pass the input, then the target "
                                          r"and var as a tuple: loss\('gaussian_nll', input, \(target, var\)\)"):
        st.functional.loss("gaussian_nll", mu, t, t + 0.5)


def test_readme_on_what_the_triton_function_takes_matches_it():
    """The README said the Triton function takes "not a number or a 0-d tensor"; 0-d tensors alone run
    (one shape), as a new user found; beside larger tensors they are refused, as a number is."""
    import os
    import pathlib

    import pytest

    torch = pytest.importorskip("torch")
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "not a number or a 0-d tensor." not in readme
    assert "nor a 0-d tensor beside larger ones (0-d tensors alone are one shape)" in readme
    if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("the Triton function runs on a GPU or under TRITON_INTERPRET=1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    k = symnet.compile(symnet.derive("exp(z) - t*z"), "triton", progress=False)
    z, t = torch.tensor(-3.0, dtype=torch.float64, device=device), torch.tensor(0.5, dtype=torch.float64, device=device)
    f, df_dt, df_dz = k(z=z, t=t)
    assert f.shape == () and abs(float(f) - (float(torch.exp(z)) + 1.5)) < 1e-15
    assert float(df_dt) == 3.0 and abs(float(df_dz) - (float(torch.exp(z)) - 0.5)) < 1e-15
    with pytest.raises(ValueError, match="pass tensors of one shape"):
        k(z=torch.zeros(3, dtype=torch.float64, device=device), t=t)
    with pytest.raises(TypeError, match="must be a torch.Tensor, not float"):
        k(z=z, t=0.5)
