"""Session 26, h-exp26: exp/log hazards of issue 16 (any formula a user writes) left open by earlier sessions.

Fixed:
* exp-dominant takes several exponential functions of one argument ±w in one sum, summed into c·e^u + P (e^x + cosh x
  = (3/2)·e^x + (1/2)·e^−x), and each sum's left side, u = −w, where the coefficient of e^−w is the dominant one
  (1 + sinh x = −(1/2)·e^−x + 1 + (1/2)·e^x for x ≪ 0; a negative c in a factor with a whole power). log(e^x + cosh x)
  was inf past x = 709.78 and below −710 (∂ NaN), ∂ log(cosh x + x) = (1 + sinh x)/(x + cosh x) NaN below −710.5.
* exp-dominant looks through the log1p rule's log1p(A) for any exp-dominant A (was: of cosh or sinh only):
  log(1 + e^x − x) = log1p(the exp-minus rule's select of e^x − x) was inf from x = 710 (float32 88.8).
* 1/A of the widen rule's compensated e^x/2 + y past the overflow of e^x: e^(−u/2)·(e^(−u/2)/(c + y·e^−u)), so that
  ∂y of log(e^x/2 + y) is no longer 0 where the sum cancels (e^−u alone is subnormal from u = 708.4).
* Triton's double word of erf (doubleword._dw_erf_tail): ±(1 − erfc|x|) from |x| = 1/2 (was the float64 erf, whose
  rounding to ±1 erases erf(x) − y at y = ±1: float32 erf(6) − 1 was 0 for −2.15e−17).
* Rule half-angle-quotient: sin u/|sin(u/2)| (∂√(1 − cos x) = √2·sin x/(4·|sin(x/2)|), after the one-minus-cos rule)
  is 2·sign(u) where 0 < |u| < 2⁻¹²⁵: x/2 of a subnormal x is rounded (0 at 5e−324, where ∂ was inf for 1/√2).
* The exp-dominant far branches are hoisted before a root-series window |a·x + b| < r (its interval, which SymPy's
  as_set left a ConditionSet of): NumPy computes them on the far elements alone, not on every element.

References independent of the code generator (``test_breakage21b._faults``): mpmath at 1000 digits of SymPy's
derivative of the formula as written and torch.autograd of it in the same dtype; ≤ 4 ULP float64, ≤ 8 float32 where
the truth is normal, its rounding within 1 ULP where subnormal, never worse than torch. "Before" numbers: commit
39efd4f (main at the start of session 26), measured 2026-12-04.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from conftest import triton_torch
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
x, y = sp.symbols("x y", real=True)

# the rule's cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("exp-dominant", sp.log(sp.exp(x) + sp.cosh(x)), (x,), (-100.0, 100.0), (-800.0,), F64),
    ("exp-dominant", sp.log(sp.cosh(x) + x), (x,), (-100.0, -30.0), (-800.0,), F64),
    ("exp-dominant", sp.log(1 + sp.exp(x) - x), (x,), (30.0, 100.0), (1000.0,), F64),
    ("exp-dominant", sp.log(sp.exp(x) / 2 + y), (x, y), (30.0, 100.0), (709.9, -1.0096903270317222e308), F64),
    # ∂√(1 − cos x) = √2·sin x/(4·|sin(x/2)|) at x = 1e−40 in float32: x/2 rounded (float32 subnormal), 13 ULP before
    ("half-angle-quotient", sp.sqrt(1 - sp.cos(x)), (x,), (0.1, 3.0), (1e-40,), F32),
]


def _kept(faults):
    """``_faults`` less the points within 1 ULP of the truth (torch's ±inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


# (torch's form, the faults before: f64, f32 over _points)
DOMINANT = {
    "log(1 + exp(x) - x)": (lambda t, x: t.log(1 + t.exp(x) - x),
                            "f inf from 710 (6 points), float32 from 89 (4); torch inf"),
    "log(exp(x) + cosh(x))": (lambda t, x: t.log(t.exp(x) + t.cosh(x)),
                              "f inf, ∂ NaN past ±710 (22 faults), float32 past ±89 (14); torch the same"),
    "log(cosh(x) + x)": (lambda t, x: t.log(t.cosh(x) + x),
                         "∂ NaN below −710.5 (5 faults), float32 below −89.4 (2); torch the same"),
    "log(exp(x) + exp(-x) + x)": (lambda t, x: t.log(t.exp(x) + t.exp(-x) + x),
                                  "f inf, ∂ NaN past ±710 (24 faults), float32 (16); torch the same"),
    "log(cosh(x) + exp(-x))": (lambda t, x: t.log(t.cosh(x) + t.exp(-x)),
                               "f inf, ∂ NaN past ±710, float32 past ±89; torch the same"),
    "sqrt(exp(x) + cosh(x))": (lambda t, x: t.sqrt(t.exp(x) + t.cosh(x)),
                               "f, ∂ inf past 710 (18 faults), float32 past 89 (10); torch the same"),
    "log(sinh(x) + 1)": (lambda t, x: t.log(t.sinh(x) + 1),
                         "∂ NaN below −710 (5 faults), float32 below −89 (3); torch the same"),
}


def _points(dtype):
    big = [0.3, 2.0, 30.0, 63.9, 64.1, 100.0, 1e4]
    big += [709.0, 710.0, 800.0, 1023.9, 1024.5, 1e300] if dtype == F64 else [88.0, 89.0, 3e38]
    return [(v,) for v in big] + [(-v,) for v in big]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(DOMINANT))
def test_numpy_sums_of_exponentials_on_both_sides(formula, dtype):
    """f and ∂ at ±0.3 … ±1e300 (float32 ±3e38) within the bound: the faults before are in DOMINANT."""
    bad = _kept(_faults(formula, ["x"], _points(dtype), dtype, DOMINANT[formula][0]))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", ["log(1 + exp(x) - x)", "log(exp(x) + cosh(x))", "log(cosh(x) + x)"])
def test_triton_sums_of_exponentials_on_both_sides(formula, dtype):
    """The Triton kernels (TRITON_INTERPRET=1) at a few points: the same faults before as NumPy's (log(cosh x + x)'s ∂
    NaN at −800, −1e4 in float64, at −95, −1e4 in float32)."""
    triton_torch()
    far = [800.0, 1e4] if dtype == F64 else [95.0, 1e4]
    points = [(v,) for v in [0.5, 63.9, 64.1, *far]] + [(-v,) for v in [0.5, 64.1, *far]]
    bad = _kept(_faults(formula, ["x"], points, dtype, DOMINANT[formula][0], backend="triton"))
    assert not bad, bad


WIDE = [(709.9, -1.0096903270317222e308), (710.3, -1.50628096683538e308), (709.5, -7.0e307), (712.0, 1.0),
        (5.0, 1.0), (700.0, -5.0e303), (1100.0, -1e308)]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_reciprocal_of_a_cancelling_widened_sum_past_overflow(backend):
    """∂y = 1/(e^x/2 + y) of log(e^x/2 + y). Before: 0 at (709.9, −1.0097e308) (truth 9.89e−306, 7.8e15 ULP) and
    (710.3, −1.5063e308) (6.63e−306, 5.2e15 ULP); torch 0 at both (test_exp24's strict xfail, NumPy)."""
    if backend == "triton":
        triton_torch()
    bad = _kept(_faults("log(exp(x)/2 + y)", ["x", "y"], WIDE, F64, lambda t, x, y: t.log(t.exp(x) / 2 + y),
                        backend=backend))
    assert not bad, bad


def test_the_rule_writes_the_left_side_and_the_reciprocal():
    """The selects the rule makes: the left side's branches after the right side's, and 1/A of a widened sum."""
    from symnet.codegen.rewrite import EXP_DOMINANT, WidenedBase, stabilise

    e, fired = stabilise(sp.log(sp.exp(x) + sp.cosh(x)))
    assert EXP_DOMINANT in fired
    conditions = [c for _, c in e.args]
    assert conditions[:4] == [x > 1024, x > 64, x < -1024, x < -64] and conditions[-1] == sp.true
    assert e.args[0].expr == x + sp.log(sp.Rational(3, 2)) and e.args[2].expr == -x - sp.log(2)
    e, fired = stabilise(1 / sp.Add(sp.exp(x) / 2, y))
    assert EXP_DOMINANT in fired and e.args[0].expr == 0 and e.args[1].expr.has(sp.exp(-x / 2))
    assert e.args[1].expr.atoms(WidenedBase) and e.args[1].cond == (x > 709)


# --- the half-angle quotient at a subnormal x --------------------------------------------------------------------
HALF_ANGLE = {F64: [5e-324, -5e-324, 1e-315, 3 * 2.0 ** -1074, 1e-300, 2.0 ** -125, 1e-10, 0.5, 3.0, 0.0, math.inf],
              F32: [1e-45, -1e-45, 1e-40, 1e-38, 1e-30, 0.5, 0.0]}


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_half_angle_derivative_at_a_subnormal_x(dtype, backend):
    """∂√(1 − cos x) (test_breakage22b's strict xfail before, NumPy float64): inf at 5e−324 (truth 1/√2; torch inf),
    2.6e7 ULP at 1e−315, 1.9e15 at 1.5e−323 (torch inf); float32 inf at 1.4e−45, 13 ULP at 1e−40 (torch inf). At 0
    NaN as torch's (0/0: no value)."""
    if backend == "triton":
        triton_torch()
    bad = _faults("sqrt(1 - cos(x))", ["x"], [(v,) for v in HALF_ANGLE[dtype]], dtype,
                  lambda t, x: t.sqrt(1 - t.cos(x)), backend)
    assert not bad, bad


# --- Triton's double word of erf ---------------------------------------------------------------------------------
def _erf_points(dtype):
    xs = [6.0, -6.0, 5.93, 5.9, 4.0, 3.0, 27.0, -27.0, 0.3]
    pts = [(v, float(dtype(math.erf(v)))) for v in xs]
    return pts + [(v, float(np.nextafter(dtype(math.erf(v)), dtype(0)))) for v in (5.9, 4.0, 3.0, -3.0, 0.7)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_erf_minus_target_where_erf_rounds_to_one(dtype):
    """erf(x) − y at y = fl(erf x) and one below. Before (float32): 0 at ±6 (truth ∓2.15e−17, 1.3e7 ULP), 0 at 5.93
    (−5.02e−17, 1.5e7 ULP), −1.11e−16 at 5.9 (−7.19e−17, 5.9e6 ULP; torch 1.1e7); float64 0 faults before and after."""
    triton_torch()
    bad = _faults("erf(x) - y", ["x", "y"], _erf_points(dtype), dtype, lambda t, x, y: t.erf(x) - y, "triton")
    assert not bad, bad


def test_double_word_erf_tail_against_mpmath():
    """_dw_erf_tail's pair within 2⁻¹⁰⁰ + 2.5·2⁻⁵³·erfc|x| of erf x (its lo word erfc's digits) for |x| from 1/2 to 27, the
    float64 erf below (run as NumPy: the primitive's text is the same for both backends)."""
    import mpmath

    from symnet.codegen import doubleword as dw
    from symnet.registry import NUMPY_HELPERS

    ns = {"np": np, "math": math}
    exec(NUMPY_HELPERS["_erfc"], ns)
    exec(dw.primitive_text("_dw_fast_two_sum", "numpy"), ns)
    exec(dw.primitive_text("_dw_erf_tail", "numpy"), ns)
    xs = np.concatenate([np.linspace(0.5, 27.0, 120), -np.linspace(0.5, 6.5, 30), [0.3, -0.2]])
    erf64 = np.array([math.erf(v) for v in xs])
    hi, lo = ns["_dw_erf_tail"](xs, erf64)
    with mpmath.workdps(60):
        for v, h, low, e in zip(xs, hi, lo, erf64):
            truth = mpmath.erf(mpmath.mpf(float(v)))
            err = abs(mpmath.mpf(float(h)) + mpmath.mpf(float(low)) - truth)
            if abs(v) >= 0.5:
                assert err <= 2.0 ** -100 + 2.5 * 2.0 ** -53 * (1 - abs(truth)), v
            else:
                assert (h, low) == (e, 0.0)


# --- left here in session 26 (strict xfails), fixed by h-logs27 (tests/test_logs27.py: both dtypes, both backends) --
LEFT = {
    # exp-collect: sinh x + cosh x + 1 = e^x + 1 (before: f 7.4e15 ULP at x = −30, 6.5e15 at −64.1, 7.5e15 at −100)
    "log(sinh(x) + cosh(x) + 1)": (lambda t, x: t.log(t.sinh(x) + t.cosh(x) + 1), [(-30.0,), (-64.1,), (-100.0,)], F64),
    # cosh-square: 1 + sinh²x = cosh²x, log(cosh²x) = 2·log cosh x (before: f inf from x = 709, truth 1416.6)
    "log(1 + sinh(x)**2)": (lambda t, x: t.log(1 + t.sinh(x) ** 2), [(709.0,), (800.0,), (-800.0,)], F64),
}


@pytest.mark.parametrize("formula", list(LEFT))
def test_left(formula):
    fn, points, dtype = LEFT[formula]
    bad = _kept(_faults(formula, ["x"], points, dtype, fn))
    assert not bad, bad
