"""h-worsed40 (session 40, issue 16): cancellations near a root that were worse than torch.

1. The Gumbel NLL's ∂b, derived 1/b − N/b² with N = x − μ + (μ − x)·e^((μ − x)/b), cancels near its root
   1 = v·expm1(v) (v = (μ − x)/b ≈ −1.3546): 3.25e4 ULP in float64 (torch 720). The one-denominator rule took 1/b out
   only where N was free of b; N holds b inside e^v's argument, which (1 − N/b)/b keeps exact. Now ≤ 0.5 ULP in both
   dtypes over 300 points of four spellings (measured: float64 and float32, within 10⁻³ and 10⁻¹ of the root).
2. ∂y of tanh(2x + 3y) − y, 3·sech²(2x + 3y) − 1, cancels near its root u = 2x + 3y = ±1.1462: 1172 ULP in float64
   at (0.551, 0.0150) (torch 660). The root-series rule took only one input; now f(u) of one linear argument
   u = Σ c_i·x_i is f's series in u with u − r widened: ≤ 1.6 ULP (float64), 0.5 (float32) over 402 points, 200 of
   them within 10⁻³ of the root, where torch is past the bound at 217 (worst 9.5e4).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_hyp32 import BOUND as LIMIT, F32, F64  # {F64: 4, F32: 8}
from test_worseb39 import _outputs  # (formula, dtype, **columns) → {output: float64 array}
from test_worseb40 import _torch_outputs

# ------------------------------------------------------------------ 1. the Gumbel NLL's ∂b near its root

_GUMBEL_SPELLINGS = ["(x - mu)/b + exp(-(x - mu)/b) + log(b)", "log(b) + exp(mu/b - x/b) - (mu - x)/b"]


def _gumbel_neighbourhood(dtype, n=150):
    """n points with v = (μ − x)/b within 10⁻¹ (relative) of the root of 1 − v·expm1(v), a third within 10⁻⁴."""
    rng = np.random.default_rng(4040)
    b, mu = 10 ** rng.uniform(-2, 2, n), rng.normal(0, 3, n)
    spread = np.where(np.arange(n) % 3 == 0, 1e-4, 1e-1)
    x = mu + 1.3546 * (1 + spread * rng.uniform(-1, 1, n)) * b
    return tuple(c.astype(dtype) for c in (x, mu, b))


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("formula", _GUMBEL_SPELLINGS)
def test_gumbel_db_near_its_root_within_the_bound_and_never_worse_than_torch(formula, dtype):
    x, mu, b = _gumbel_neighbourhood(dtype)
    got = _outputs(formula, dtype, x=x, mu=mu, b=b)["df_db"]
    theirs = _torch_outputs(lambda torch, x, mu, b: (x - mu) / b + torch.exp(-(x - mu) / b) + torch.log(b), dtype,
                            x=x, mu=mu, b=b)["df_db"]
    bad = []
    with mpmath.workdps(60):
        for j in range(len(x)):
            X, M, B = (mpmath.mpf(float(c[j])) for c in (x, mu, b))
            v = (M - X) / B
            true = (1 - v * mpmath.expm1(v)) / B
            mine, torch_ulps = ulps(got[j], true, dtype), ulps(theirs[j], true, dtype)
            if mine > LIMIT[dtype] or mine > max(torch_ulps, 1):
                bad.append((j, mine, torch_ulps))
    assert not bad, (len(bad), bad[:3])


# ------------------------------------------------------------------ 2. f(u) of one weighted sum u near a root of f

_TANH_SPELLINGS = {  # formula → (k: ∂y = k·sech²(u) − 1, u as a function of x, y; its root's tanh²u = 1 − 1/k)
    "tanh(2*x + 3*y) - y": (3, lambda x, y: 2 * x + 3 * y),
    "-y + tanh(2*(x + 3*y/2))": (3, lambda x, y: 2 * x + 3 * y),
    "tanh(x + 2*y) - y": (2, lambda x, y: x + 2 * y),
}


def _tanh_points(formula, dtype, n=100):
    """n points x in [−1, 1], y in [−2, 2], and n with u within 10⁻³ (relative) of a root ±atanh(√(1 − 1/k))."""
    k, _ = _TANH_SPELLINGS[formula]
    rng = np.random.default_rng(4041)
    root = float(mpmath.atanh(mpmath.sqrt(1 - mpmath.mpf(1) / k)))
    xs, ys = rng.uniform(-1, 1, n), rng.uniform(-2, 2, n)
    x2 = rng.uniform(-1, 1, n)
    u = rng.choice([-root, root], n) * (1 + 1e-3 * rng.uniform(-1, 1, n))
    y2 = (u - 2 * x2) / 3 if k == 3 else (u - x2) / 2
    return np.append(xs, x2).astype(dtype), np.append(ys, y2).astype(dtype)


def _tanh_dy_errors(formula, got, xs, ys, dtype):
    k, u = _TANH_SPELLINGS[formula]
    with mpmath.workdps(60):
        return [ulps(g, k * mpmath.sech(u(mpmath.mpf(float(x)), mpmath.mpf(float(y)))) ** 2 - 1, dtype)
                for g, x, y in zip(got, xs, ys)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("formula", list(_TANH_SPELLINGS))
def test_dy_of_tanh_of_a_weighted_sum_near_its_root(formula, dtype):
    xs, ys = _tanh_points(formula, dtype)
    if formula == "tanh(2*x + 3*y) - y" and dtype is F64:  # the point that failed, and test_break40's other one
        xs, ys = np.append(xs, [0.550966238162218, 0.0]), np.append(ys, [0.015040757953664219, 0.5])
    got = _outputs(formula, dtype, x=xs, y=ys)["df_dy"]
    k, _ = _TANH_SPELLINGS[formula]
    theirs = _torch_outputs(lambda torch, x, y: torch.tanh(k * y + (2 if k == 3 else 1) * x) - y, dtype, x=xs, y=ys)["df_dy"]
    mine, torch_ulps = _tanh_dy_errors(formula, got, xs, ys, dtype), _tanh_dy_errors(formula, theirs, xs, ys, dtype)
    # within the bound everywhere (so never worse than torch past it); 1.3 ULP where torch was 0.3 at points far from
    # the root (tanh(x + 2y) − y, float64, in the series' window) until h-worseb41 took the window to 2⁻¹⁰ of u's root
    # (the widened form past it: ≤ 0.5 there, never worse than torch + 0.5; tests/test_worseb41.py)
    bad = [(j, m, t) for j, (m, t) in enumerate(zip(mine, torch_ulps)) if m > LIMIT[dtype]]
    assert not bad, (len(bad), bad[:3])


def test_dy_of_tanh_of_a_weighted_sum_near_its_root_triton():
    torch = triton_torch()
    k = compiled("tanh(2*x + 3*y) - y", "triton")
    xs = np.array([0.550966238162218, 0.0, 0.1, -0.3])
    ys = np.array([0.015040757953664219, 0.5, (1.1462158347805889 * (1 + 1e-6) - 0.2) / 3, (-1.1462158 + 0.6) / 3])
    for dtype, tdtype in ((F64, torch.float64), (F32, torch.float32)):
        x, y = xs.astype(dtype), ys.astype(dtype)
        got = dict(zip(k.outputs, k(x=torch.tensor(x, dtype=tdtype), y=torch.tensor(y, dtype=tdtype))))["df_dy"]
        errors = _tanh_dy_errors("tanh(2*x + 3*y) - y", got.double().cpu().numpy(), x, y, dtype)
        assert max(errors) <= LIMIT[dtype], errors
