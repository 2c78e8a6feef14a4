"""The conjugate rule (session 10): √A − B where A ≈ B², the pseudo-Huber loss δ²(√(1 + ((p − t)/δ)²) − 1)
(Charbonnier; Barron 2019, "A General and Adaptive Robust Loss Function"; torch has no built-in).

Before the rule, ``symnet verify`` of that loss: float32 value inf at 19 points, 1.7e7 ULP (0 where 1 + u²
rounds to 1: δ = −8.8e6, p = 255.475, t = 6.5e−6, true 32633.74); float32 ∂p 1.6e7 ULP; float64 ∂p 8.5e15 ULP
(0 where u² overflows: (p − t)/√(1 + u²) with u = 9.8e310). Each value here is checked against mpmath at 60 digits
from the formula read with its decimals as exact fractions, independent of the rewritten form."""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen.rewrite import stabilise

PSEUDO_HUBER = "delta**2*(sqrt(1 + ((p - t)/delta)**2) - 1)"
_u, _x, _t = sp.symbols("u x t", real=True)

# the rule's cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("conjugate", sp.sqrt(1 + _u ** 2) - 1, (_u,), (-4.0, 4.0), (1e-5,), np.float32),  # 0 before, true 5e−11
    ("conjugate", sp.sqrt(1 + (_x - _t) ** 2) - 1, (_x, _t), (-4.0, 4.0), (1e-3, 0.0), np.float32),
]


def _exact():
    """f and ∂f/∂p of the pseudo-Huber loss as mpmath functions of (p, t, δ)."""
    p, t, d = sp.symbols("p t delta", real=True)
    f = d ** 2 * (sp.sqrt(1 + ((p - t) / d) ** 2) - 1)
    return [sp.lambdify((p, t, d), g, "mpmath") for g in (f, sp.diff(f, p))]


def _ulps(got, true, dtype):
    with np.errstate(over="ignore"):
        want = float(np.asarray(float(true), dtype))
    if math.isnan(got) or math.isinf(got) or math.isinf(want):
        return 0.0 if got == want else math.inf  # the true value past the dtype's range: inf is right
    if want == 0:
        return 0.0 if got == 0 else math.inf
    return float(abs(mpmath.mpf(got) - true)) / float(np.spacing(np.asarray(abs(want), dtype)))


def _worst(points, dtype, backend="numpy"):
    """The worst error in ULPs of (f, ∂f/∂p) of the compiled loss at ``points`` (rows of δ, p, t)."""
    k = symnet.compile(symnet.derive(PSEUDO_HUBER, ["p"]), backend)
    cols = {n: np.array([q[i] for q in points], dtype) for i, n in enumerate(("delta", "p", "t"))}
    if backend == "triton":
        from conftest import triton_torch

        torch = triton_torch()
        got = [o.cpu().numpy() for o in k(**{n: torch.tensor(c) for n, c in cols.items()})]
    else:
        got = k(**cols)
    worst = [0.0, 0.0]
    with mpmath.workdps(60):
        for j, exact in enumerate(_exact()):
            for i in range(len(points)):
                true = exact(*[mpmath.mpf(float(cols[n][i])) for n in ("p", "t", "delta")])
                worst[j] = max(worst[j], _ulps(float(got[j][i]), true, dtype))
    return worst


# √(1 + u²) rounds to 1 for |u| < 2.4e−4 (float32), 1.05e−8 (float64): the written loss was 0 there
SMALL_U = [(-8804329.0, 255.475, 6.4638302e-06), (2.0, 1.0, 0.99999), (1.0, 1e-3, 0.0), (1.0, 1e-9, 0.0),
           (0.5, 3.0, -1.0), (-3.9, 0.25, 0.2500001)]
# u² overflows where the loss ≈ |δ|·|p − t| and its slope ≈ ±|δ| are finite
LARGE_U = {np.float32: [(1.0, 1e30, 0.0), (3.9027436, -2.8386689e-08, 3e+38), (2.0, 1e20, -1e20)],
           np.float64: [(1.0, 1e30, 0.0), (1e-3, 1e200, 0.0), (3.9027436, -2.8386689e-08, 3e+38),
                        (-0.0009201741, -3.4028235e+38, 2.9632428), (1e-3, -1e200, 3.0)]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pseudo_huber_where_one_plus_u_squared_rounds_to_one(dtype):
    worst = _worst(SMALL_U, dtype)
    assert max(worst) <= 4, worst  # f: 1.7e7 ULP (float32) / 1.4e9 (float64) before: 0 or the rounding of 1 + u²


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pseudo_huber_where_u_squared_overflows(dtype):
    worst = _worst(LARGE_U[dtype], dtype)
    assert max(worst) <= 4, worst  # f inf and ∂p 0 before


def test_pseudo_huber_triton():
    worst = _worst([(1.0, 1e-3, 0.0), (-8804329.0, 255.475, 6.4638302e-06), (1.0, 1e30, 0.0)], np.float32, "triton")
    assert max(worst) <= 4, worst


def test_the_derivative_is_the_rewritten_form_too():
    """∂f/∂p = (p − t)/√(1 + u²) goes through the hypot rule (v = (p − t)/δ a quotient), f through the conjugate."""
    d = symnet.derive(PSEUDO_HUBER, ["p"])
    assert "hypot" in {r.name for r in stabilise(d.jacobian[0, 0])[1]}
    source = symnet.compile(d, "numpy").source
    assert "  conjugate: " in source and "  hypot: " in source  # the rules the module header lists


@pytest.mark.parametrize("formula,variable,point,true", [
    (sp.sqrt(_x + 1) - sp.sqrt(_x), _x, 1e8, "1/(sqrt(100000001) + 10000)"),
    (sp.sqrt(_x ** 2 + 1) - _x, _x, 1e6, "1/(sqrt(1000000000001) + 1000000)"),
    (sp.sqrt(_x ** 2 + 4) - 2, _x, 1e-5, "1e-10/(sqrt(4.0000000001) + 2)"),
])
def test_the_family(formula, variable, point, true):
    """√(x + 1) − √x, √(x² + 1) − x (B not a number: only where x > 0), √(x² + c) − √c: float32, against mpmath."""
    stable, fired = stabilise(formula)
    assert "conjugate" in {r.name for r in fired}
    k = symnet.compile(symnet.derive(formula, [variable]), "numpy")
    got = float(k(**{str(variable): np.array([point], np.float32)})[0][0])
    with mpmath.workdps(60):
        want = mpmath.mpf(sp.sympify(true, rational=True).evalf(60))
    assert _ulps(got, want, np.float32) <= 4


def test_the_sign_aware_form_keeps_the_written_sum_where_b_is_negative():
    """√(x² + 1) − x at x = −1e6 adds two positive numbers as written: no rewrite is needed (and none loops)."""
    k = symnet.compile(symnet.derive(sp.sqrt(_x ** 2 + 1) - _x, [_x]), "numpy")
    got = float(k(x=np.array([-1e6]))[0][0])
    assert got == pytest.approx(2e6 + 5e-7, rel=1e-15)


def test_no_rewrite_where_nothing_cancels():
    for formula in (sp.sqrt(_x ** 2 + 1) + 1, sp.sqrt(_x ** 2 + 1) - _x ** 3, sp.sqrt(_x + 2) - 1):
        _, fired = stabilise(formula)
        assert "conjugate" not in {r.name for r in fired}, formula
