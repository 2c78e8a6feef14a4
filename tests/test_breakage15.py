"""Faults found by h-break15 (session 15), each with the test that failed before its fix.

a. ``symnet.compile(symnet.derive("bce(sigmoid(x), t)"))`` generated NumPy code that raised UnboundLocalError
   on its first call: the check of bce's p = σ(x) ∈ [0, 1] was printed after the loop's body, by a printer that
   knew the block's temporaries, and so gave σ(x) the block's e^−|x| (``_sigmoid(x, e=exp_neg_abs_x)``) before
   the loop had defined it. The checks are printed first now, over the whole arrays.
b. ``symnet verify "gaussian_nll(x, t, erf(v))"`` stopped with the kernel's DomainError ("var = erf(v) has a
   negative entry (-1)") instead of measuring: the points outside a domain were found by evaluating the check in
   NumPy, which has no erf, and such a check was skipped. It is evaluated by torch where NumPy cannot, and the
   compiled function has the last word (the rows it refuses are found by halving).
c. Domains that do not meet (``bce(p, t) + gaussian_nll(x, y, t - 2)``: t in [0, 1] and t ≥ 2): every cell read
   "no point measured: all 0 were without a true value (NaN in mpmath ...)", a reason that was not the reason.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import symnet
from symnet.errors import DomainError


# ---------------------------------------------------------------- a. a domain check printed with the block's names

def _torch_bce_of_sigmoid(x, t):
    """Reference: torch's own binary_cross_entropy of torch.sigmoid, float64 autograd."""
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.binary_cross_entropy(torch.sigmoid(xt), tt, reduction="none")
    gt, gx = torch.autograd.grad(y.sum(), [tt, xt])
    return y.detach().numpy(), gt.numpy(), gx.numpy()


def test_a_bce_of_a_sigmoid_compiles_to_code_that_runs():
    """Before: UnboundLocalError: cannot access local variable 'exp_neg_abs_x' (the domain check of p = σ(x))."""
    f = symnet.compile(symnet.derive("bce(sigmoid(x), t)"))
    x, t = np.array([0.3, -2.0, 5.0, -0.0]), np.array([0.2, 0.5, 1.0, 0.0])
    f_value, df_dt, df_dx = f(x=x, t=t)
    ref = _torch_bce_of_sigmoid(x, t)
    for got, want in zip((f_value, df_dt, df_dx), ref):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)  # torch's log(σ(5)) is 18 ULP off
    assert "_refuse_outside(_sigmoid(x)," in f.source  # over the whole array, its own exponential
    with pytest.raises(DomainError, match=r"^bce: t has an entry outside \[0, 1\] \(1.5\); t must be in \[0, 1\]$"):
        f(x=x, t=np.array([0.2, 1.5, 1.0, 0.0]))


# ---------------------------------------------------------------- b. a domain check NumPy cannot evaluate

def test_b_verify_measures_inside_a_domain_whose_check_numpy_cannot_evaluate():
    """Before: DomainError: gaussian_nll: var = erf(v) has a negative entry (-1); var must be ≥ 0."""
    from symnet.verify import verify

    report = verify("gaussian_nll(x, t, erf(v))", dtypes="float64", n=0, torch=False)
    assert any("points outside the argument domains the formula declares (gaussian_nll's var = erf(v))" in note
               for note in report.notes), report.notes
    cell = report.cell("df_dx", "float64", "symnet numpy")
    assert cell.measured and cell.points > 50 and cell.passed(4.0), cell


def test_b_without_torch_the_generated_code_decides_which_points_are_outside(monkeypatch):
    """Neither NumPy nor torch (not installed: sys.modules["torch"] = None) evaluates erf: the compiled function
    finds the rows it refuses; without it they are left to it (none marked), as before."""
    from symnet.verify.measure import _outside_domains

    f = symnet.compile(symnet.derive("gaussian_nll(x, t, erf(v))"))
    symbols = [i.symbol for i in f.kernel.inputs]
    rng = np.random.default_rng(5)
    pts = rng.uniform(-3, 3, (203, len(symbols)))
    pts[7, :] = np.nan  # NaN passes, as in the generated code
    v = pts[:, [s.name for s in symbols].index("v")]
    with np.errstate(invalid="ignore"):
        want = v < 0
    monkeypatch.setitem(sys.modules, "torch", None)
    np.testing.assert_array_equal(_outside_domains(f.kernel.domains, symbols, pts, f), want)
    assert not _outside_domains(f.kernel.domains, symbols, pts).any()


# ---------------------------------------------------------------- c. declared domains that do not meet

def test_c_domains_that_do_not_meet_are_named_as_the_reason_nothing_was_measured():
    """Before: "no point measured: all 0 were without a true value (NaN in mpmath: outside the domain, ...)"."""
    from symnet.verify import verify

    report = verify("bce(p, t) + gaussian_nll(x, y, t - 2)", dtypes="float64", n=0, torch=False)
    assert not report.passed
    notes = {c.note for c in report.cells}
    assert notes == {"no point measured: every point was outside the argument domains the formula declares (the "
                     "note below names them): they may not meet"}, notes
    assert any("gaussian_nll's var = −2 + t" in n for n in report.notes), report.notes
