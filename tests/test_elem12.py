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
