"""Session 24, h-exp24: exponential-dominant sums past e^x's overflow (the exp-dominant rule, symnet/codegen/rewrite.py).

Strict xfails of session 23 (tests/test_breakage23.py, tests/test_breakage22b.py), inf or NaN from x ≈ 710 in float64
(88.7 in float32) where the math is finite; torch is inf/NaN at each:
- log(e^x/3 + 1): the affine-root rule writes (e^x + 3)/3, a number times the sum, which the rule did not take
  (f inf at 710, truth 708.90; ∂ NaN, truth 1);
- √(e^x − 1 − x): a root, not a log (f inf at 710, truth 1.49e154, finite to x ≈ 1419; ∂ NaN, truth 7.47e153);
- log(cosh x − 1) at x < 0 (inf at −711, truth 710.31): cosh is even, its dominant e^|x|;
- log(e^x/2 + y) at (710, −3): the widen rule's compensated sum, a node the rule did not enter (inf, truth 709.31).

Every check is against mpmath at 1000 digits of SymPy's derivative of the formula as written and torch.autograd in
the same dtype (``test_breakage21b._faults``: ≤ 4 ULP float64, ≤ 8 float32 where the truth is normal, its rounding
within 1 ULP where subnormal, never worse than torch).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from conftest import triton_torch
from symnet.codegen.rewrite import _exp_dominant, stabilise
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
x, y = sp.symbols("x y", real=True)

# the rule's new cases, for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    # (session 28, h-break28: e^x/3 + 1 has no root, affine-root no longer groups it as (e^x + 3)/3; the softplus
    # rule's log(1 + c·e^x) takes it, ≤ 0.84 ULP float64/float32 at −5, 20, 710, 800, 1e5)
    ("softplus", sp.log(sp.exp(x) / 3 + 1), (x,), (30.0, 100.0), (800.0,), F64),
    ("exp-dominant", sp.sqrt(sp.exp(x) - 1 - x), (x,), (30.0, 100.0), (800.0,), F64),  # a root
    ("exp-dominant", sp.log(sp.cosh(x) - 1), (x,), (-100.0, -30.0), (-800.0,), F64),  # cosh on its left
    ("exp-dominant", sp.cbrt(sp.exp(x) - 3 * x), (x,), (30.0, 100.0), (95.0,), F32),
]


def _kept(faults):
    """``_faults`` less the points within 1 ULP of the truth (torch's ±inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


ONE_INPUT = {
    "log(exp(x)/3 + 1)": lambda t, x: t.log(t.exp(x) / 3 + 1),
    "sqrt(exp(x) - 1 - x)": lambda t, x: t.sqrt(t.exp(x) - 1 - x),
    "log(cosh(x) - 1)": lambda t, x: t.log(t.cosh(x) - 1),
    "(exp(x) - 1 - x)**(-1/3)": lambda t, x: (t.exp(x) - 1 - x) ** (-1 / 3),
    "(exp(x) - 3*x)**(1/3)": lambda t, x: (t.exp(x) - 3 * x) ** (1 / 3),  # under the exp-minus rule's select
    "(cosh(x) - 1)**(1/4)": lambda t, x: (t.cosh(x) - 1) ** 0.25,  # ∂ = sinh x/(4(cosh x − 1)^(3/4)): odd
}


def _points(formula, dtype):
    """Both sides of u = 64 and 1024, where e^x overflows the dtype, and (√: e^(x/2)) where the truth does."""
    if dtype == F32:
        big = [5.0, 20.0, 63.9, 64.1, 70.0, 88.0, 89.0, 120.0, 1e4, 3e38]
    else:
        big = [5.0, 20.0, 63.9, 64.1, 70.0, 709.0, 710.0, 1000.0, 1023.9, 1024.5, 1419.0, 1500.0, 1e5, 1e300]
    if "cosh" in formula:
        big += [-v for v in big]
    if "exp(x)/3" in formula:
        big += [-3.0, -70.0]  # log1p(e^x/3) below 64 (the affine-root rule's log((e^x + 3)/3): 0 at −70, 11 ULP at −3)
    return [(v,) for v in big]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(ONE_INPUT))
def test_numpy_dominant_exponential_past_its_overflow(formula, dtype):
    """f and ∂ from 5 to 1e300 (float32 3e38; cosh on both sides). Before: f inf, ∂ NaN from 710 (89) for the
    first two, f inf from −711 (−89) for the third; (e^x − 1 − x)^(−1/3) and its ∂ 0 from 710 (truth e^(−x/3):
    5.3e−104 at 710); (e^x − 3x)^(1/3) inf from 710; ∂ of (cosh x − 1)^(1/4) NaN from −710."""
    bad = _kept(_faults(formula, ["x"], _points(formula, dtype), dtype, ONE_INPUT[formula]))
    assert not bad, bad


WIDE_POINTS = {
    F64: [(710.0, -3.0), (700.0, -3.0), (1000.0, 5.0), (1e5, 1e300), (1023.9, -1e308), (3.0, -1.0),
          # y ≈ −e^x/2: the compensated sum's cancellation, kept by the written (widened) form below 709 and by
          # c + (y·e^(−x/2))·e^(−x/2) past it (c + y·e^−x: 863 ULP at 709.2 (torch 54), 2,316 at 709.9)
          (709.0, -4.1e307), (65.0, -8.47e27), (70.0, -1.2578e30), (709.2, -5.013973777843296e+307),
          (709.2, -5.018987751621139e+307), (709.5, -6.774924821641567e+307)],
    F32: [(89.0, -3.0), (100.0, 5.0), (1e4, 3e38), (3.0, -1.0), (65.0, -8.47e27), (70.0, -1.2578e30)],
}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_numpy_widened_dominant_exponential(dtype):
    """log(e^x/2 + y): the widen rule's compensated sum, entered by the exp-dominant rule. Before: inf at (710, −3)
    (truth 709.31), ∂x NaN (truth 1); float32 inf from x = 89.4."""
    bad = _kept(_faults("log(exp(x)/2 + y)", ["x", "y"], WIDE_POINTS[dtype], dtype,
                        lambda t, x, y: t.log(t.exp(x) / 2 + y)))
    assert not bad, bad


def test_reciprocal_of_a_cancelling_widened_sum_past_overflow():
    """A strict xfail until session 26 (measured 2026-12-03): ∂y = 1/(e^x/2 + y) of log(e^x/2 + y) where the sum
    cancels past e^x's overflow was 0 at (709.9, −1.0097e308) (truth 9.89e−306), (710.3, −1.5063e308) (6.63e−306);
    torch 0 at both. The exp-dominant rule now takes 1/A of a widened sum as e^(−u/2)·(e^(−u/2)/(c + y·e^−u))
    (tests/test_exp26.py)."""
    bad = _kept(_faults("log(exp(x)/2 + y)", ["x", "y"], [(709.9, -1.0096903270317222e+308),
                                                        (710.3, -1.50628096683538e+308)], F64,
                        lambda t, x, y: t.log(t.exp(x) / 2 + y)))
    assert not bad, bad


def test_float32_power_of_a_dominant_sum_below_64():
    """Float32 ∂ of (e^x + x²)^(−3/4), −(3/4)(e^x + 2x)(e^x + x²)^(−7/4). Before session 25 (a strict xfail): −0 at
    x = 52 (truth −8.66e−18; torch 35 ULP), 55 (torch 4,000 ULP), 60, 63.9, where (e^x + x²)^(7/4) overflows
    float32 below the rule's u = 64; the product's switch is now 45 for a 7/4 power (tests/test_pow25.py)."""
    bad = _kept(_faults("(exp(x) + x**2)**(-3/4)", ["x"], [(52.0,), (55.0,), (60.0,), (63.9,)], F32,
                        lambda t, x: (t.exp(x) + x ** 2) ** -0.75))
    assert not bad, bad


TRITON = {"log(exp(x)/3 + 1)": [(710.0,), (1e5,), (20.0,)], "sqrt(exp(x) - 1 - x)": [(710.0,), (1500.0,), (20.0,)],
          "log(cosh(x) - 1)": [(-711.0,), (-70.0,), (1000.0,)]}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(TRITON))
def test_triton_dominant_exponential_past_its_overflow(formula, dtype):
    triton_torch()
    points = TRITON[formula] if dtype == F64 else [(np.sign(p) * min(abs(p), 1e4),) for (p,) in TRITON[formula]]
    bad = _kept(_faults(formula, ["x"], points, dtype, ONE_INPUT[formula], backend="triton"))
    assert not bad, bad


def test_triton_widened_dominant_exponential():
    triton_torch()
    bad = _kept(_faults("log(exp(x)/2 + y)", ["x", "y"], [(710.0, -3.0), (709.0, -4.1e307), (1e5, 1e300)], F64,
                        lambda t, x, y: t.log(t.exp(x) / 2 + y), backend="triton"))
    assert not bad, bad


def test_what_the_rule_takes_now():
    """A number times the sum, grouped as the affine-root rule leaves it; cosh at |u| alone, at u beside sinh."""
    from symnet.codegen.rewrite import Grouped

    assert _exp_dominant(sp.Rational(1, 3) * Grouped(sp.exp(x) + 3)) == (x, sp.Rational(1, 3), 1)
    u, c, p = _exp_dominant(sp.cosh(x) - 1)
    assert (u, c) == (sp.Abs(x), sp.Rational(1, 2)) and sp.simplify(p - (sp.exp(-sp.Abs(x)) / 2 - 1)) == 0
    assert _exp_dominant(sp.cosh(x) - 1, even=False)[0] == x
    assert _exp_dominant(-sp.Rational(1, 3) * Grouped(sp.exp(x) + 3)) is None  # a negative number: not dominant
    rules = {r.name for r in stabilise(sp.diff(sp.log(sp.sinh(x) - x), x))[1]}  # (cosh x − 1)/(sinh x − x)
    assert "exp-dominant" in rules
    # a whole power is left as written: (e^x − 3x)² overflows where its truth does
    assert "exp-dominant" not in {r.name for r in stabilise((sp.exp(x) - 3 * x) ** 2)[1]}


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_far_branches_ahead_of_a_near_select_computed_where_taken(backend):
    """√(e^x − 1 − x)'s outputs are selects (x > 1024, x > 64, |x| < 1.16, otherwise): the far branches go first
    (``_far_first``) and are computed only where taken (FAR = 64; NumPy's np.nonzero block, Triton's block-wide
    branch), the near select on every element. Bit for bit the values of each element computed alone, far and near
    elements mixed in one call."""
    from conftest import compiled

    k = compiled("sqrt(exp(x) - 1 - x)", backend, ("x",))
    points = np.array([0.3, 5.0, 70.0, 800.0, 2000.0, -3.0, 1e-9, 64.5], F64)
    if backend == "numpy":
        assert "_far = np.nonzero(" in k.source and "(here its near branches" in k.source
        run = lambda v: [np.asarray(o) for o in k(x=v)]  # noqa: E731
    else:
        torch = triton_torch()
        run = lambda v: [o.cpu().numpy() for o in k(x=torch.tensor(v))]  # noqa: E731
    together = run(points)
    for i, v in enumerate(points):
        alone = run(points[i:i + 1])
        for a, b in zip(together, alone):
            assert a[i].tobytes() == b[0].tobytes(), (v, a[i], b[0])
