"""Issue 16, the user-formula numerics left open (session 11), each at the point where the generated form failed,
against mpmath (independent of the rewritten form):

* power-quotient: ∂/∂x of log1p(x)/x = 1/(x(1 + x)) − log1p(x)/x² was 0 from x = 1.34e154 in float64 (x² = inf;
  true −1.75e−306 at 1.42e154: 5.5e15 ULP); (N/x)/x past |x| = 2^⌊120/k⌋, applied after every other rule and only
  where no other rule's select bounds |x| (session 11's version fired before removable-series, scaled-square,
  scaled-power and softplus-slope: reverted).
* hypot-slope: the pseudo-Huber loss's gradients at extreme δ: float32 ∂p 0 at δ = 1.2e−38, p − t = 9e7 (true
  1.2e−38: 8.4e6 ULP), ∂δ −inf at δ = −226, t = −3.4e38 and 1.8e16 ULP at δ = 9e7, p − t = 1.76 (its terms cancel).
* rounded-power: the focal loss with γ an input: (1 − p_t)^γ of a rounded 1 − p_t is off by γ·u (float64 f 682 ULP
  at γ = 1035).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import log1p

from conftest import compiled, derived, triton_torch
from symnet.functions import sigmoid
from symnet.verify.evaluate import mp_value

_x, _d, _a = sp.symbols("x delta a", real=True)
_g, _t, _z = sp.symbols("gamma t z", real=True)
_ROUNDED_BASE = _t * sigmoid(-_z) + (1 - _t) * sigmoid(_z)  # the focal loss's 1 − p_t
# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    # at 2e154: 0 before (x² = inf), true 8.9e−307 (and its ∂/∂x, with x³, 0 from 5.6e102)
    ("power-quotient", log1p(_x) / _x ** 2, (_x,), (0.5, 4.0), (2e154,), np.float64),
    # ∂δ at δ = 9e7, a = 1.76 in float32: 1.8e16 ULP before (its two terms cancel), true 3.2e−24
    ("hypot-slope", _d ** 2 * (sp.sqrt(1 + (_a / _d) ** 2) - 1), (_a, _d), (0.5, 4.0), (1.7577, 9.023166e7),
     np.float32),
    # (1 − p_t)^γ at γ = 1035: b rounded, then raised to the 1035th power
    ("rounded-power", _ROUNDED_BASE ** _g, (_g, _t, _z), (0.5, 4.0), (1035.0, 0.9, -0.954), np.float64),
]


def _ulps(got, true, dtype):
    """|got − true| in ULPs of ``dtype`` at the true value (mpf); inf for a NaN or an infinity where the true
    value is finite in ``dtype``."""
    with np.errstate(over="ignore"):
        want = float(np.asarray(float(true), dtype))
    got = float(got)
    if math.isnan(got) or math.isinf(got) or math.isinf(want):
        return 0.0 if got == want else math.inf
    if want == 0:
        return 0.0 if got == 0 else math.inf
    return float(abs(mpmath.mpf(got) - true)) / float(np.spacing(np.asarray(abs(want), dtype)))


def _outputs(formula, wrt, backend, columns, dtype):
    """The compiled formula's outputs (value, then gradients) at ``columns`` (name → values), as float lists."""
    k = compiled(formula, backend, wrt)
    cols = {n: np.array(v, dtype) for n, v in columns.items()}
    if backend == "triton":
        torch = triton_torch()
        return [o.cpu().numpy() for o in k(**{n: torch.tensor(c) for n, c in cols.items()})]
    return k(**cols)


# ------------------------------------------------------------------ power-quotient: N/x^k past x^k's range


def _slope(formula, points, dtype):
    """The exact ∂/∂x of ``formula`` at the ``dtype`` values of ``points`` (mpmath, 50 digits, from the derivation's
    written Jacobian: not the rewritten form)."""
    g = derived(formula).jacobian[0, 0]
    (x,) = g.free_symbols
    with mpmath.workdps(50):
        return [mp_value(g, {x: mpmath.mpf(float(dtype(p)))}) for p in points]


@pytest.mark.parametrize("dtype,points", [(np.float64, [1.3e154, 1.4e154, 2e154, 1e155, 5e154, 1e150, 0.5, 3.0]),
                                          (np.float32, [2e19, 1e20, 3e20, 1e19, 0.5, 3.0])])
def test_log1p_over_x_slope_where_x_squared_overflows(dtype, points):
    """Before: 0 (x² = inf) where the derivative is normal: 5.7e15 ULP at x = 1.4e154, 7.2e15 at 1e155 (float64);
    torch autograd is right there (it divides by x step by step), symnet was not. After: ≤ 1.3 ULP."""
    got = _outputs("log1p(x)/x", None, "numpy", {"x": points}, dtype)[1]
    worst = max(_ulps(g, t, dtype) for g, t in zip(got, _slope("log1p(x)/x", points, dtype)))
    assert worst <= (4 if dtype == np.float64 else 8), worst


def test_log1p_over_x_slope_where_x_squared_overflows_triton():
    points = [1.4e154, 2e154, 1e155, 0.5]
    got = _outputs("log1p(x)/x", None, "triton", {"x": points}, np.float64)[1]
    assert max(_ulps(g, t, np.float64) for g, t in zip(got, _slope("log1p(x)/x", points, np.float64))) <= 4


def test_the_power_quotient_is_exact_and_one_sided():
    """The rewritten term equals the written one at 60 digits (both branches); the select is on |x| large only, and
    the removable-series rule still fits its series about 0 to log1p(x)/x′ first (the power-quotient rule runs
    after it, on its written branch)."""
    from symnet.codegen.rewrite import POWER_QUOTIENT, REMOVABLE_SERIES, stabilise, unwiden
    from symnet.codegen.roots import ZeroSeries

    x = sp.Symbol("x", real=True)
    term = log1p(x) * x ** -2
    stable, fired = stabilise(term)
    assert POWER_QUOTIENT in fired and isinstance(stable, sp.Piecewise)
    (written, cond), (scaled, _) = stable.args
    assert cond == (sp.Abs(x) < 2 ** 60)
    with mpmath.workdps(60):
        for v in (3.0, 1e160, 7e200):
            want = mp_value(term, {x: mpmath.mpf(v)})
            assert abs(mp_value(unwiden(scaled), {x: mpmath.mpf(v)}) - want) <= mpmath.mpf(10) ** -50 * abs(want)
    stable, fired = stabilise(derived("log1p(x)/x").jacobian[0, 0])
    assert fired.index(REMOVABLE_SERIES) < fired.index(POWER_QUOTIENT) and stable.has(ZeroSeries)


def test_the_power_quotient_leaves_a_bounded_branch_alone():
    """A quotient in the written branch of another rule's select (|x| < 2⁶⁰: the scaled-square rule's) is not
    rewritten again; the same quotient outside any select is."""
    from symnet.codegen.rewrite import _power_quotients

    x = sp.Symbol("x", real=True)
    guarded = sp.Piecewise((sp.exp(x) / x ** 2, (sp.Abs(x) < 2 ** 60) & (sp.Abs(x) > 2 ** -60)), (sp.exp(x), True))
    assert _power_quotients(guarded) == guarded
    assert _power_quotients(sp.exp(x) / x ** 2).has(sp.Piecewise)


# ------------------------------------------------------------------ hypot-slope: the pseudo-Huber gradients

PSEUDO_HUBER = "delta**2*(sqrt(1 + ((p - t)/delta)**2) - 1)"

# (δ, p, t) where the gradients failed before (symnet verify's worst points, and where u = (p − t)/δ or δ²
# overflows or underflows); the float32 column of ∂p/∂δ before: 0, 3.5e−15 (true 3.2e−24), −inf, …
EXTREME_DELTA = {
    np.float32: [(1.1754944e-38, 9.023166e07, 6.4638302e-06), (9.023166e07, 0.80332386, -0.9544816),
                 (-226.48122, -0.9544816, -3.4028235e38), (-0.0009201741, -3.4028235e38, 2.9632428),
                 (1e30, 1e-10, 0.0), (1e-30, 1e30, 0.0), (3e38, 1e20, -1e20), (-88.7, 0.3, -1.5), (1.0, 2.0, 0.5)],
    np.float64: [(-1.6023537046489114e308, 1.0, 0.3), (1e300, 1e-10, 0.0), (1e-300, 1e300, 0.0), (1e200, 1e190, 0.0),
                 (2e-308, 1e10, 0.0), (-3e38, 0.7, 2.5), (-1.3488983175517144, -0.5962284528421602, -1e200),
                 (-2.7284240646662026, 1.0, 0.3), (1.0, 2.0, 0.5)],
}
# the float64 ∂δ bound: α⁴/(h(h + β)²) took a = |p − t|/|δ| rounded once, to the 3rd power (3u), and 3 roundings
# more (symnet verify's worst 8.29 ULP at δ = 1.06e7; torch: 9.6e92): 9 here until session 13's hypot_gap_slope
# (its ratio, g and q in double-word: tests/test_elem13.py)
_BOUNDS = {np.float32: (8, 8, 8), np.float64: (4, 4, 4)}


def _pseudo_huber_gradient_errors(points, dtype, backend="numpy"):
    """The worst error in ULPs of (∂δ, ∂p, ∂t) at ``points`` (rows of δ, p, t), against the written gradients in
    mpmath at 1000 digits (u² is 1e−620 at δ = 1e300, p − t = 1e−10)."""
    d, p, t = sp.symbols("delta p t", real=True)
    f = d ** 2 * (sp.sqrt(1 + ((p - t) / d) ** 2) - 1)
    exact = [sp.lambdify((d, p, t), sp.diff(f, v), "mpmath") for v in (d, p, t)]
    cols = {n: [q[i] for q in points] for i, n in enumerate(("delta", "p", "t"))}
    got = _outputs(PSEUDO_HUBER, None, backend, cols, dtype)[1:]
    worst = [0.0, 0.0, 0.0]
    with mpmath.workdps(1000):
        for j, q in enumerate(points):
            row = [mpmath.mpf(float(dtype(v))) for v in q]
            for i in range(3):
                worst[i] = max(worst[i], _ulps(got[i][j], exact[i](*row), dtype))
    return worst


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pseudo_huber_gradients_at_extreme_delta(dtype):
    """Before (float32): ∂p 8.4e6 ULP (0 at δ = 1.2e−38), ∂δ 1.8e16 ULP and −inf; after ≤ 5.6. float64: ∂p, ∂t ≤ 1.5."""
    worst = _pseudo_huber_gradient_errors(EXTREME_DELTA[dtype], dtype)
    assert all(w <= b for w, b in zip(worst, _BOUNDS[dtype])), worst


def test_pseudo_huber_gradients_at_extreme_delta_triton():
    worst = _pseudo_huber_gradient_errors(EXTREME_DELTA[np.float32][:4], np.float32, "triton")
    assert all(w <= 8 for w in worst), worst


def test_the_hypot_slopes_replace_the_written_gradients():
    """Each gradient is the slope form (no X/B, no B², no difference), equal to the written one at 60 digits."""
    from symnet.codegen.rewrite import HYPOT_SLOPE, stabilise
    from symnet.special import hypot_gap_slope

    d, p, t = sp.symbols("delta p t", real=True)
    f = d ** 2 * (sp.sqrt(1 + ((p - t) / d) ** 2) - 1)
    for v in (d, p, t):
        g = sp.diff(f, v)
        stable, fired = stabilise(g)
        assert HYPOT_SLOPE in fired and stable.has(sp.sign, hypot_gap_slope) and not stable.has(sp.Piecewise)
        with mpmath.workdps(60):
            for point in [(2.0, 1.0, 0.5), (-3.0, 1e-3, 0.0), (1e-3, 7.0, -2.0), (5.0, -5.0, 5.0)]:
                env = dict(zip((d, p, t), map(mpmath.mpf, point)))
                want = mp_value(g, env)
                assert abs(mp_value(stable, env) - want) <= mpmath.mpf(10) ** -50 * max(1, abs(want)), (v, point)


# ------------------------------------------------------------------ rounded-power: the focal loss with γ an input

FOCAL = "focal(z, t, 1/4, gamma)"
# (γ, t, z) where (1 − p_t)^γ of a rounded 1 − p_t was off by about γ·u (float64 before: f 536/809/770/9690/165 ULP,
# ∂γ 832/525/510/5890/124, ∂t and ∂z alike); the last two: γ = 2 and 1/2, as before
FOCAL_POINTS = [(1035.0, 0.9, -0.954), (1035.0, 1.0, -0.954), (1035.0, 0.99, -0.954), (1e4, 1.0, -6.0),
                (300.0, 0.7, 0.3), (2.0, 0.3, 2.5), (0.5, 0.3, -2.5)]


def _focal_errors(points, dtype, backend="numpy"):
    """The worst error in ULPs of (f, ∂γ, ∂t, ∂z) of the focal loss with γ an input at ``points`` (rows of γ, t, z),
    against its written formula and derivatives in mpmath (symnet.verify's reference: as many digits as it takes)."""
    from symnet.verify.evaluate import reference

    d = derived(FOCAL)
    exprs = [o.expr for o in compiled(FOCAL, backend).kernel.outputs]  # the written value and gradients
    names = [str(s) for s in d.inputs]
    cols = {n: [q[("gamma", "t", "z").index(n)] for q in points] for n in names}
    got = _outputs(FOCAL, None, backend, cols, dtype)
    worst = [0.0] * len(exprs)
    for j in range(len(points)):
        env = {s: float(dtype(cols[str(s)][j])) for s in d.inputs}
        for i, e in enumerate(exprs):
            worst[i] = max(worst[i], _ulps(got[i][j], reference(e, env)[0], dtype))
    return worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_focal_loss_at_large_gamma(dtype):
    """After: ≤ 0.5 ULP in float64 at these points (before up to 9.7e3), float32 ≤ 0.5."""
    worst = _focal_errors(FOCAL_POINTS, dtype)
    assert max(worst) <= (4 if dtype == np.float64 else 8), worst


def test_focal_loss_at_large_gamma_triton():
    worst = _focal_errors(FOCAL_POINTS[:2], np.float64, "triton")
    assert max(worst) <= 4, worst


def test_the_rounded_power_is_widened_with_its_product():
    """f and ∂γ (which also holds log(1 − p_t)) are each one widened product; a power with a number for its exponent
    (γ = 2: the widen rule's case) is not this rule's."""
    from symnet.codegen.rewrite import ROUNDED_POWER, WidenedBase, stabilise

    d = derived(FOCAL)
    stable, fired = stabilise(d.jacobian[0])
    assert ROUNDED_POWER in fired and stable.has(WidenedBase)
    z, t = sp.symbols("z t", real=True)
    _, fired = stabilise((t * sigmoid(-z) + (1 - t) * sigmoid(z)) ** 2)
    assert ROUNDED_POWER not in fired
