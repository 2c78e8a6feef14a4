"""Issue 16 (session 18): a user's rational activation, stable at every x (the rational-function rule of
symnet/codegen/rewrite.py).

h-fresh18 wrote ``(x**2+1)/(x**2+3*x+5)``: its derivative's numerator P′Q − PQ′ cancels (float32 ∂f/∂x 1.9e7 ULP
at x = −2.4e16, measured below the rule: the leading terms 2x³ cancel) and x² overflows (float64 NaN, inf/inf,
at |x| = 1.7e308; its derivative too). The rule puts P/Q over one denominator with the numerator expanded (the
cancellation done by SymPy, exactly), evaluates each polynomial by Horner and, past a threshold from the degrees,
in t = 1/x.

References, independent of symnet's code generator: mpmath of the written formula and of SymPy's derivative of it
at 1000 digits (the written derivative at x = 1.7e308 cancels ~925 digits: 50 are not enough there; at every
point of the sweep 1000 leave more than 50), and torch.autograd of the written formula in float64 ("never worse
than torch"). Bounds: 4 ULP float64, 8 ULP float32 where the true result is normal; below the normal range the
error in units of the smallest subnormal (as tests/test_stability_rules.py's _ulps); beyond it ±inf.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch, ulp_error
from symnet.codegen.rewrite import stabilise

F32, F64 = np.float32, np.float64
x = sp.Symbol("x", real=True)

# P and Q of equal degree; P of higher degree, with real poles (±√2) and a real zero (−1: x = −1.00000001 in the
# sweep); P of lower degree
FORMULAS = [
    (x ** 2 + 1) / (x ** 2 + 3 * x + 5),
    (2 * x ** 3 - x + 1) / (x ** 2 - 2),
    (x + 2) / (x ** 4 + 1),
]
SWEEP = [0.0, 1e-30, 1.0, 1.00000001, 1e4, 1e16, 2.4e16, 1e200, 3e38, 1.7e308, 1 / 3, 3.0, 2.5, 2 ** 0.5, 7.0]
SWEEP = sorted({s * v for v in SWEEP for s in (1, -1)})
BOUND = {F32: 8.0, F64: 4.0}

# the rule's case for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype); the domain
# stays off the root-series windows of its derivative's roots −3 and 1/3 (a series there, to 2⁻⁶⁰, not 1e−45)
RULE_CASES = [
    ("rational-function", FORMULAS[0], (x,), (1.0, 1e3), (-2.4e16,), F32),
]


def _reference(formula, point):
    """(value, ∂f/∂x) of the written formula at the float ``point``, mpmath at 1000 digits (inf at a pole)."""
    out = []
    for e in (formula, sp.diff(formula, x)):
        with mpmath.workdps(1000):
            try:
                out.append(sp.lambdify(x, e, "mpmath")(mpmath.mpf(point)))
            except ZeroDivisionError:
                out.append(mpmath.inf)
    return out



def _run_numpy(kernel, points, dtype):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [np.asarray(o, np.float64) for o in kernel(x=np.array(points, dtype))]


def _torch_errors(formula, points):
    """torch.autograd's (value, ∂f/∂x) of the written formula in float64 at ``points``, in ULPs of float64."""
    torch = pytest.importorskip("torch")
    f = sp.lambdify(x, formula, "math")
    errors = []
    for p in points:
        v = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        y = f(v)
        (g,) = torch.autograd.grad(y, v)
        want = _reference(formula, p)
        errors.append([ulp_error(float(y.detach()), want[0], F64), ulp_error(float(g), want[1], F64)])
    return errors


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("formula", FORMULAS, ids=str)
def test_sweep_numpy_against_mpmath_and_torch(formula, dtype):
    points = [p for p in SWEEP if abs(p) <= float(np.finfo(dtype).max) and abs(p) != 2 ** 0.5]  # √2: its own test
    kernel = compiled(formula, "numpy", (x,))
    got = _run_numpy(kernel, points, dtype)
    torch_errors = _torch_errors(formula, [float(dtype(p)) for p in points]) if dtype is F64 else None
    bad = []
    for i, p in enumerate(points):
        want = _reference(formula, float(dtype(p)))
        for j, name in enumerate(kernel.outputs):
            err = ulp_error(float(got[j][i]), want[j], dtype)
            limit = BOUND[dtype] if torch_errors is None else max(BOUND[dtype], torch_errors[i][j])
            if err > limit:
                bad.append(f"{name} at x = {p!r}: {err:.3g} ULP (got {got[j][i]!r}, want {mpmath.nstr(want[j], 17)})")
    assert not bad, f"{len(bad)} of {2 * len(points)} past {BOUND[dtype]} ULP: " + "; ".join(bad)


def test_the_reported_failures_were_real():
    """The written form, evaluated as written (lambdify, NumPy), at the reported points: float32 ∂f/∂x far off at
    x = −2.4e16, float64 NaN at 1.7e308 (so the sweep above tests something)."""
    formula = FORMULAS[0]
    d = sp.lambdify(x, sp.diff(formula, x), "numpy")
    f = sp.lambdify(x, formula, "numpy")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        slope32 = float(d(F32(-2.4e16)))
        value64 = float(f(F64(1.7e308)))
    assert ulp_error(slope32, _reference(formula, float(F32(-2.4e16)))[1], F32) > 1e6
    assert np.isnan(value64)


def test_derivative_numerator_is_collected():
    """The generated derivative of (x² + 1)/(x² + 3x + 5) is (3x² + 8x − 3)/(x² + 3x + 5)², the x³ terms of
    P′Q − PQ′ cancelled symbolically (the numerator as (3x − 1)(x + 3), each factor with its real root widened), and no x² of the input is formed past the threshold (in t = 1/x)."""
    from symnet.codegen.rewrite import RATIONAL_FUNCTION, unwiden
    from conftest import derived

    slope = derived(FORMULAS[0], (x,)).jacobian[0]
    new = RATIONAL_FUNCTION.apply(slope)
    near, far = new.args[0].expr, new.args[1].expr
    assert sp.expand(sp.numer(sp.together(unwiden(near).doit())) - (3 * x ** 2 + 8 * x - 3)) == 0
    assert not any(p.base == x and p.exp >= 2 for p in far.atoms(sp.Pow))
    assert "rational-function" in {r.name for r in stabilise(slope)[1]}


def test_real_pole():
    """(2x³ − x + 1)/(x² − 2) at x = fl(√2), where x·x − 2 cancels (as written 2.3e15 ULP in float64; the
    factor with a real root is evaluated in double-word), and x²/(x² − 1) at its pole x = 1: inf like the math
    (|f| → ∞ and f′ = −2x/(x² − 1)² → −∞ from both sides)."""
    formula = FORMULAS[1]
    kernel = compiled(formula, "numpy", (x,))
    for dtype in (F32, F64):
        point = float(dtype(2 ** 0.5))
        got = _run_numpy(kernel, [point, -point], dtype)
        for i, p in enumerate([point, -point]):
            want = _reference(formula, p)
            for j in range(2):
                assert ulp_error(float(got[j][i]), want[j], dtype) <= BOUND[dtype], (dtype, p, j, got[j][i], want[j])
    pole = compiled(x ** 2 / (x ** 2 - 1), "numpy", (x,))
    for dtype in (F32, F64):
        value, slope = _run_numpy(pole, [1.0, -1.0], dtype)
        assert np.all(np.isinf(value)) and np.all(slope == -np.inf) | np.all(np.isinf(slope)), (value, slope)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("which", [0, 1])
def test_triton_at_a_few_points(which, dtype):
    """Triton (under TRITON_INTERPRET=1 without a GPU): the reported points, and for (2x³ − x + 1)/(x² − 2) its
    widened factors (double-word in float64) next to the zero −1 and the pole √2."""
    torch = triton_torch()
    formula = FORMULAS[which]
    kernel = compiled(formula, "triton", (x,))
    points = [0.5, -2.4e16, 1e30] + ([1e200, -1.7e308] if dtype is F64 else [3e38])
    if which == 1:
        points += [-1.00000001, 2 ** 0.5]
    tdtype = torch.float32 if dtype is F32 else torch.float64
    outs = kernel(x=torch.tensor(points, dtype=tdtype))
    for i, p in enumerate(points):
        want = _reference(formula, float(dtype(p)))
        for j, name in enumerate(kernel.outputs):
            got = float(outs[j][i])
            assert ulp_error(got, want[j], dtype) <= BOUND[dtype], f"{name} at {p}: got {got!r}, want {mpmath.nstr(want[j], 17)}"


def test_log1p_of_an_overflowing_quotient():
    """Session 18 measured log(1 + (p − t)²/s) inf in float64 at p − t = 1e200, s = 1 (true 921.03; torch the same);
    session 19's overflowing-log1p rule takes log X = 2·log|p − t| − log|s| past X = 2¹⁰⁰⁰ (tests/test_gauss19.py)."""
    p, t, s = sp.symbols("p t s", real=True)
    formula = sp.log(1 + (p - t) ** 2 / s)
    kernel = compiled(formula, "numpy", (p, t, s))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = float(kernel(p=np.array([1e200]), t=np.array([0.0]), s=np.array([1.0]))[0][0])
    with mpmath.workdps(50):
        want = mpmath.log(1 + mpmath.mpf(1e200) ** 2)
    assert ulp_error(value, want, F64) <= BOUND[F64]
