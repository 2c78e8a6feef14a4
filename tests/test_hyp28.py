"""Faults of random compositions found by h-hyp28's off-line search (benchmarks/compositions28.py: depth 1–3, + − · /,
powers and registry losses, float32 and float64, NumPy backend, values and gradients against mpmath; issue 16).

* A select with no 'otherwise': SymPy's Piecewise collapses {…; A if c; B otherwise} nested in a branch taken where c
  holds to {…; A if c}; ∂x of log(elu(hardswish(x))) held one, and every backend refused it ("the NumPy backend needs a
  Piecewise with an 'otherwise' branch"). onesided.close_collapsed makes such a last condition the 'otherwise' (exact:
  c is true wherever that select is evaluated), and SymPy's complex infinity (1/0 in a branch never taken there)
  prints as NaN (before: NameError 'zoo').
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnet

from symnet.onesided import close_collapsed

x = sp.Symbol("x", real=True)
MP_DPS = 50  # the truths' digits (conftest._mpmath_digits); mpmath's 15 where this file ran alone before h-dps48


# ------------------------------------------------------------------ a select with no 'otherwise'

def test_collapsed_select_gets_its_otherwise():
    """SymPy collapses the inner select inside the branch x > 1 to {x if x < 0; x² if x > 1}: no 'otherwise'."""
    inner = sp.Piecewise((x, x < 0), (x ** 2, x > 1), (sp.S.One, True))
    outer = sp.Piecewise((inner, x > 1), (sp.S.Zero, True))
    (collapsed,) = [p for p in outer.atoms(sp.Piecewise) if p != outer]
    assert collapsed.args[-1].cond != sp.true  # SymPy's collapse, the form the derivation met
    closed = close_collapsed(outer)
    assert all(p.args[-1].cond == sp.true for p in closed.atoms(sp.Piecewise))
    for v in (-2.0, 0.5, 1.5, 3.0):  # the same function
        assert float(closed.subs(x, v)) == float(outer.subs(x, v))
    # a last condition the enclosing branch does not make true is left as it is
    alone = sp.Piecewise((x, x < 0), (x ** 2, x > 1))
    assert close_collapsed(alone) == alone


def test_printers_write_complex_infinity_as_nan():
    """zoo (1/0) was printed as the name 'zoo': NameError in the NumPy probe of the infinite-limits rule (before)."""
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    from symnet.codegen.backends.triton.printer import TritonPrinter
    e = sp.Piecewise((sp.zoo, x > 3), (x, True))
    assert NumpyExpressionPrinter(set(), {x: "x"}, dtype="_dtype").doprint(e) == "np.where((x > 3), np.nan, x)"
    assert 'float("nan")' in TritonPrinter({}, set()).doprint(e)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_of_elu_of_hardswish_generates(dtype):
    """Before: SymnetError "the NumPy backend needs a Piecewise with an 'otherwise' branch (in {zoo if _t0; _t2 if
    _t3})" while deriving its code (h-hyp28's search, seed 1). Values and gradient against mpmath (the composition
    check's tolerance)."""
    from test_hypothesis_compositions import check
    check("log(elu(hardswish(x)))", [0.5, 4.0, -1.0, 2.9, -2.5, 10.0, 1e-30], dtype)


# ------------------------------------------------------------------ affine-root with a dyadic shift

@pytest.mark.parametrize("dtype, at", [(np.float64, -0.5000000000000001), (np.float32, -0.50000006)])
def test_leaky_relu_of_softshrink_near_its_root(dtype, at):
    """leaky_relu(softshrink(x)) = (x + 1/2)/100 for x < −1/2, which SymPy distributes to x/100 + 1/200: x/100 rounded
    first, then the sum cancels. Before (h-hyp28's search, seed 1, tanh(leaky_relu(softshrink(x)))): −8.6736e−19 at
    x = −0.5000000000000001, true −1.1102e−18 (1.3e5 ULP; torch 0.12); now (x + 1/2)/100, x + 1/2 exact (rule
    affine-root, b·n = 1/2 dyadic; taken out at session 28's merge, back in session 29 with b = 1/200 not a binary
    fraction: test_focal29.py)."""
    import mpmath
    for formula in ("leaky_relu(softshrink(x))", "tanh(leaky_relu(softshrink(x)))"):
        k = symnet.compile(symnet.derive(symnet.parse(formula)))
        value, grad = k(np.array([at], dtype))
        xv = mpmath.mpf(float(dtype(at)))
        true = (xv + mpmath.mpf(1) / 2) / 100
        true = mpmath.tanh(true) if formula.startswith("tanh") else true
        ulp = float(np.spacing(dtype(abs(float(true)))))
        assert abs(float(value[0]) - float(true)) / ulp <= 1.0, (formula, value[0], float(true))
        assert grad[0] == dtype(0.01)


# ------------------------------------------------------------------ found, not fixed (strict xfails with numbers)

def _ulps(got, true, dtype) -> float:
    return abs(float(got) - float(true)) / float(np.spacing(dtype(abs(float(true)))))


# hardsigmoid(x)/leaky_relu(selu(x)) f64 at x = 2.781342323134e−309: inf, true 1.71095e308 (torch 3.9 ULP); f32 at
# 1.4694e−39: inf, true 3.23862e38 (torch 1.8 ULP): SymPy makes 1/leaky_relu(selu(x)) the select {(1/λ)/x if x > 0; …},
# and (1/λ)/x = 3.42e308 (f32 6.48e38) is past the range before hardsigmoid's 1/2 multiplies it. A strict xfail until
# session 32; now the factor-into-quotient-branches rule's {(c·h)/x; …} (tests/test_xfail31.py, tests/test_quot32.py),
# and where h is not one the rule moves, the printers' product taken again where it is not finite (h-search32).
def test_quotient_by_a_subnormal_does_not_overflow_first():
    import mpmath
    k = symnet.compile(symnet.derive(symnet.parse("(hardsigmoid(x)) / (leaky_relu(selu(x)))")))
    at = 2.781342323134e-309
    value, _ = k(np.array([at]))
    lam = mpmath.mpf("1.0507009873554804934193349852946")
    true = (mpmath.mpf(at) / 6 + mpmath.mpf(1) / 2) / (lam * mpmath.mpf(at))
    assert np.isfinite(value[0]) and _ulps(value[0], true, np.float64) <= 4


# (the strict xfail on ∂x of σ(x)/mish(x) at −709, NaN: fixed in session 30, tests/test_quot30.py)


def test_zero_times_overflowed_erfcx_float32():
    """Before: at x = −24.94 f32, erfcx = inf and log1p(H(x)) = 0: value and ∂x NaN, true 0 (torch's value NaN too);
    the step-value rule (h-quot29, tests/test_quot29.py)."""
    from test_hypothesis_compositions import check
    check("(log1p(Heaviside(x))) * (erfcx(x))", [-24.942674605326964], np.float32)


def test_log_of_elu_of_hardswish_generates_for_triton():
    """The same refusal on the Triton backend (its printer shares the select printing; zoo printed as a name there too):
    now generated, and equal to the NumPy code's values and gradients (NaN where log's argument is negative)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    import os
    if os.environ.get("TRITON_INTERPRET") != "1" and not torch.cuda.is_available():
        pytest.skip("Triton needs a GPU or TRITON_INTERPRET=1")
    d = symnet.derive(symnet.parse("log(elu(hardswish(x)))"))
    xs = [0.5, 4.0, -1.0, 2.9, -2.5, 10.0]
    value, grad = symnet.compile(d, "triton")(x=torch.tensor(xs, dtype=torch.float64))
    want_value, want_grad = symnet.compile(d)(np.array(xs))
    np.testing.assert_allclose(torch.as_tensor(value).cpu().numpy(), want_value, rtol=1e-14)
    np.testing.assert_allclose(torch.as_tensor(grad).cpu().numpy(), want_grad, rtol=1e-14)
