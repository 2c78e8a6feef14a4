"""Session 35, h-edge35: faults a new user (h-user35) found at the ends of the range (issue 16).

softplus-scale: softplus(c·u)/c (softplus with β, written softplus(x, β) or log1p(exp(b*x))/b) overflowed c·u before
the quotient by c brought it back: softplus(x, 2) was inf at x = 1.797e308 (true x; torch's F.softplus(x, 2) inf too),
log1p(exp(b*x))/b NaN at b = −1.8e308, x = −2.6 (true −2.6; torch inf). Now max(u, 0) + softplus(−c·|u|)/c, or
u·H(c·u) + softplus(−|c·u|)/c with c an input. Truths are mpmath's at 60 digits of the formula as written."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulps
from symnet.codegen.rewrite import softplus

_x, _b = sp.symbols("x b", real=True)
# the rule's cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("softplus-scale", softplus(2 * _x) / 2, (_x,), (-30.0, 30.0), (1.7976931348623157e308,), np.float64),
    ("softplus-scale", softplus(_b * _x) / _b, (_b, _x), (-30.0, 30.0), (-1.79e308, -2.6), np.float64),
]


def _softplus(z):
    return mpmath.log1p(mpmath.exp(z)) if z < 0 else z + mpmath.log1p(mpmath.exp(-z))


def _sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def _truths_beta(x, b):
    s = _softplus(b * x)
    return dict(f=s / b, df_dx=_sigmoid(b * x), df_db=x * _sigmoid(b * x) / b - s / b ** 2)


def _worst(formula, points, truths, dtype):
    k = compiled(formula)
    out = dict(zip(k.outputs, k(**{n: v.astype(dtype) for n, v in points.items()})))
    worst = 0.0
    with mpmath.workdps(60):
        for i in range(len(next(iter(points.values())))):
            p = {n: mpmath.mpf(float(v.astype(dtype)[i])) for n, v in points.items()}
            for name, true in truths(**p).items():
                err = ulps(out[name][i], true, dtype)
                assert err <= (4 if dtype is np.float64 else 8), (formula, name, p, float(out[name][i]), true)
                worst = max(worst, err)
    return worst


# Before: inf at x = 1.797e308 (every x past 8.99e307); the neighbourhood: 60 points within 40 % of the largest float
# (both signs), 60 in [−40, 40], 60 log-uniform in 1e−30…1e300. After: ≤ 1.4 ULP float64, ≤ 0.5 float32 (torch's
# F.softplus(x, 2): inf past 8.99e307, and 5.6e5 ULP in float64 below: its threshold 20 returns x for βx > 20).
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softplus_with_beta_near_the_largest_float(dtype):
    rng = np.random.default_rng(35)
    big = float(np.finfo(dtype).max)
    x = np.concatenate([[big, -big], big * (1 - rng.uniform(0, 0.4, 60)) * rng.choice([-1, 1], 60),
                        rng.uniform(-40, 40, 60), 10 ** rng.uniform(-30, np.log10(big) - 8, 60) * rng.choice([-1, 1], 60)])
    _worst("softplus(x, 2)", dict(x=x), lambda x: dict(f=_softplus(2 * x) / 2, df_dx=_sigmoid(2 * x)), dtype)
    k = compiled("softplus(x, 2)")
    assert k(x=np.array([big], dtype))[0][0] == dtype(big)


# Before: NaN at b = −1.8e308, x = −2.6 (torch inf), NaN wherever b·x overflows. The neighbourhood: b within 50 % of
# the largest float (both signs) with x in [−5, 5], and b in ±[0.1, 5] — 120 points; both forms, softplus(x, b) and
# log1p(exp(b*x))/b. After: ≤ 1.9 ULP float64 (f at b = −270.4, x = 0.0383; the same before), ≤ 0.5 float32.
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("formula", ["log1p(exp(b*x))/b", "softplus(x, b)"])
def test_softplus_with_an_input_beta_where_b_x_overflows(formula, dtype):
    rng = np.random.default_rng(351)
    big = float(np.finfo(dtype).max)
    b = np.concatenate([[-1.79e308 if dtype is np.float64 else -3.3e38],
                        big * (1 - rng.uniform(0, 0.5, 60)) * rng.choice([-1, 1], 60),
                        rng.uniform(0.1, 5, 59) * rng.choice([-1, 1], 59)])
    x = np.concatenate([[-2.6], rng.uniform(-5, 5, 119)])
    _worst(formula, dict(x=x, b=b), _truths_beta, dtype)
    k = compiled(formula)
    out = dict(zip(k.outputs, k(x=np.array([-2.6], dtype), b=np.array([b[0]], dtype))))
    assert out["f"][0] == dtype(-2.6)


# ---------------------------------------------------------------- zero-scaled-exp below b = −709 and past |a′| = 2⁵⁰⁰

NLL = "0.5*(s + (y - m)**2*exp(-s))"  # the log-variance Gaussian NLL as h-user35 wrote it


def _truths_nll(m, s, y):
    d, e = y - m, mpmath.exp(-s)
    return dict(f=(s + d * d * e) / 2, df_dm=-d * e, df_dy=d * e, df_ds=(1 - d * d * e) / 2)


# Before: f, ∂s NaN at μ = −1e200, s = 1e200, y = 0 ((y − μ)² inf times e^(−s) = 0; true 5e199, 1/2); inf at
# μ = 3.7e203, s = 701.7 (true 2.2e102), where (y − μ)² overflows and e^(−s) is normal. After: ≤ 1.02 ULP float64
# (torch inf or NaN at the far points) over 300 points: |y − μ| in 1e150…1e300 with s in [−700, 700] and in 1e2…1e300,
# and s in [700, 1500]; float32 ≤ 0.5 (and the same before).
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_variance_nll_where_the_residual_squared_overflows(dtype):
    rng = np.random.default_rng(352)
    n = 50
    big = float(np.finfo(dtype).max) / 2
    m = np.concatenate([[-1e200, 3.683239837153237e+203], -(10 ** rng.uniform(150, 300, n)) * rng.choice([-1, 1], n),
                        10 ** rng.uniform(150, 300, n) * rng.choice([-1, 1], n),
                        10 ** rng.uniform(-10, 300, n) * rng.choice([-1, 1], n)])
    s = np.concatenate([[1e200, 701.7017629429882], 10 ** rng.uniform(2, 300, n), rng.uniform(-700, 700, n),
                        rng.uniform(700, 1500, n)])
    y = np.concatenate([[0.0, 0.8642948087871227], rng.uniform(-3, 3, 3 * n)])
    _worst(NLL, dict(m=np.clip(m, -big, big), s=np.clip(s, -big, big), y=y), _truths_nll, dtype)
    k = compiled(NLL)
    out = dict(zip(k.outputs, k(m=np.array([-1e200]), s=np.array([1e200]), y=np.array([0.0]))))
    assert (out["f"][0], out["df_ds"][0], out["df_dm"][0]) == (5e199, 0.5, 0.0)


# ---------------------------------------------------------------- found and left open (strict xfail)

TRIPLET = "relu((a - p)**2 - (a - n)**2 + m)"  # a triplet loss with squared distances, one coordinate


# Found in session 35 (h-edge35): f NaN (true 0, the relu closed: (n − p)(2a − p − n) + m = −3e200), ∂a 3, ∂p 2e200, ∂n
# −2e200 (true 0 each; torch autograd f NaN, ∂a 0, ∂p 2e200, ∂n −2e200): inf − inf. Fixed in session 36 (h-edge36):
# reciprocal-margin takes the difference of squares as (n − p)·(2a − p − n); its neighbourhood in tests/test_edge36.py.
def test_triplet_loss_with_a_far_anchor():
    k = compiled(TRIPLET)
    out = dict(zip(k.outputs, k(a=np.array([-1e200]), p=np.array([-0.5]), n=np.array([1.0]), m=np.array([1.0]))))
    assert (out["f"][0], out["df_da"][0], out["df_dp"][0], out["df_dn"][0]) == (0.0, 0.0, 0.0, 0.0)
