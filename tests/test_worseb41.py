"""h-worseb41 (session 41, issue 16): two formulas worse than torch autograd at some points.

1. ∂a of the Cauchy-like x/(1 + (a·x)²), −2·a·x³/(1 + a²·x²)², was rounded some 8 times (a², x², their product, 1 +,
   its power −2, x³, two products): 4.78 ULP in float64 at a = x = −32.27011277879656 (torch 2.78), past the 4-ULP
   bound, and worse than max(torch, 1) at 486 of 2001 random points (a, x in ±[1e−3, 1e3] and ±[0.1, 10], half of
   them a = x). The rational-product rule computes it in double words, rounded once: 0.22 ULP there, ≤ 0.5 over the
   points, never worse than torch. Its value f, x/(1 + a²·x²) (a²·x² rounded three times where torch's (a·x)² is
   rounded twice), is within 2.45 ULP but worse than max(torch, 1) at 62 of those points: a strict xfail below.
2. ∂y of tanh(x + 2y) − y, 1 − 2·tanh²(x + 2y): the root series in u = x + 2y (h-worsed40) held a window of 0.4375
   about u's roots ±0.8814, where its Horner and d's three roundings were 1.2–1.7 ULP in float64 while torch's written
   form was as low as 0.2: worse than torch + 0.5 at 1–2 of 400 points (1.48 at (−0.48439, 0.48128), torch 0.48; 1.22
   at (−0.036074, −0.39520), torch 0.22). Its window is now 2⁻¹⁰ and the widened form (u exact in double words) past
   it: ≤ 0.5 ULP at 2⁻¹⁰ ≤ |u − r|, ≤ 1.91 within 2⁻¹⁰ of the root (torch ≥ 50 there).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_hyp32 import BOUND as LIMIT, F32, F64  # {F64: 4, F32: 8}
from test_worseb39 import _outputs  # (formula, dtype, **columns) → {output: float64 array}
from test_worseb40 import _torch_outputs

# the rational-product rule's case is here, not in test_stability_rules' RULE_CASES: the written form is a few ULP off
# (4.78 at most), not the 100 its failing-value test asks for
CASES_ELSEWHERE = {"rational-product"}

# ------------------------------------------------------------------ 1. the Cauchy-like x/(1 + (a·x)²)

_CAUCHY = "x/(1 + (a*x)**2)"


def _cauchy_points(dtype, n=150):
    """3n points: a, x log-uniform in ±[1e−3, 1e3], in ±[0.1, 10], and a = x in ±[1e−3, 1e3]; and the point that
    failed."""
    rng = np.random.default_rng(4141)

    def magnitude(lo, hi):
        return rng.choice([-1, 1], n) * 10.0 ** rng.uniform(lo, hi, n)

    same = magnitude(-3, 3)
    a = np.concatenate([magnitude(-3, 3), magnitude(-1, 1), same, [-32.27011277879656]])
    x = np.concatenate([magnitude(-3, 3), magnitude(-1, 1), same, [-32.27011277879656]])
    return a.astype(dtype), x.astype(dtype)


def _cauchy_truth(a, x):
    s = 1 + (a * x) ** 2
    return {"f": x / s, "df_da": -2 * a * x ** 3 / s ** 2, "df_dx": (1 - (a * x) ** 2) / s ** 2}


def _cauchy_errors(dtype, output):
    """[(symnet's ULPs, torch's, a, x)] of ``output`` where its truth is a normal number."""
    a, x = _cauchy_points(dtype)
    mine = _outputs(_CAUCHY, dtype, a=a, x=x)[output]
    theirs = _torch_outputs(lambda torch, a, x: x / (1 + (a * x) ** 2), dtype, a=a, x=x)[output]
    info, rows = np.finfo(dtype), []
    with mpmath.workdps(50):
        for j in range(a.size):
            true = _cauchy_truth(mpmath.mpf(float(a[j])), mpmath.mpf(float(x[j])))[output]
            if info.tiny <= abs(true) <= info.max:
                rows.append((ulps(mine[j], true, dtype), ulps(theirs[j], true, dtype), float(a[j]), float(x[j])))
    return rows


# before (main 35e1a307): float64 ∂a 4.78 ULP at a = x = −32.27011277879656, torch 2.78; worse than max(torch, 1) at
# 108 of these 451 points (486 of 2001 in a wider sweep); ∂x 0 (0.50 ULP at most, its sum widened already), float32
# (computed in float64) within 0.5 already. Now ∂a ≤ 0.50 ULP at the 451
@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("output", ["df_da", "df_dx"])
def test_cauchy_gradient_within_the_bound_and_never_worse_than_torch(output, dtype):
    rows = _cauchy_errors(dtype, output)
    assert len(rows) > 400
    bad = [r for r in rows if r[0] > LIMIT[dtype] or r[0] > max(r[1], 1.0)]
    assert not bad, (len(bad), bad[:3])


def test_cauchy_da_at_the_point_that_failed():
    # 4.78 ULP before (torch 2.78); 0.22 now, the rational-product rule's
    (mine, theirs, _, _), = [r for r in _cauchy_errors(F64, "df_da") if r[2] == -32.27011277879656]
    assert mine <= 0.5 and mine < theirs
    from symnet.codegen.rewrite import Stabiliser

    import sympy as sp
    a, x = sp.symbols("a x", real=True)
    stable, fired = Stabiliser()(-2 * a * x ** 3 / (1 + a ** 2 * x ** 2) ** 2)
    assert "rational-product" in {r.name for r in fired}
    with mpmath.workdps(60):  # the rewritten form is the written one, exactly (60 digits; its branches and range ends)
        for p, q in [(0.3, -2.0), (-32.27, -32.27), (1e20, 3e-5), (1e30, 1e30), (0.0, 7.0), (5e-30, -1e-3)]:
            want = -2 * mpmath.mpf(p) * mpmath.mpf(q) ** 3 / (1 + (mpmath.mpf(p) * mpmath.mpf(q)) ** 2) ** 2
            got = sp.N(stable.subs({a: sp.Float(p, 60), x: sp.Float(q, 60)}), 60)
            assert abs(mpmath.mpf(str(got)) - want) <= mpmath.mpf(10) ** -50 * max(1, abs(want))


# Was a strict xfail, "measured 2026-12-06 (h-worseb41): f = x/(1 + (a*x)**2) in float64 is within 2.45 ULP but
# worse than max(torch, 1) at 9 of these 451 points (1.47 ULP at (6.5414, 0.35363), torch 0.47) and 62 of 2001 in a wider
# sweep (2.16 at (176.46, −0.0655), torch 0.16): SymPy writes (a·x)² as a²·x², rounded three times where torch rounds
# (a·x)² twice"; since session 43 (h-cauchy43: the cauchy-quotient rule, double words rounded once) 0 worse, ≤ 0.50
# ULP (0.47 at (6.5414, 0.35363), torch's)
def test_cauchy_value_never_worse_than_torch():
    rows = _cauchy_errors(F64, "f")
    bad = [r for r in rows if r[0] > LIMIT[F64] or r[0] > max(r[1], 1.0)]
    assert not bad, (len(bad), bad[:3])


def test_cauchy_da_triton():
    torch = triton_torch()
    k = compiled(_CAUCHY, "triton")
    a0 = np.array([-32.27011277879656, 2.8966136956496724, -90.64421257844874, 0.5])
    x0 = np.array([-32.27011277879656, 2.8966136956496724, -0.04476728678451035, -3.0])
    for dtype, tdtype in ((F64, torch.float64), (F32, torch.float32)):
        a, x = a0.astype(dtype), x0.astype(dtype)
        got = dict(zip(k.outputs, k(a=torch.tensor(a, dtype=tdtype), x=torch.tensor(x, dtype=tdtype))))["df_da"]
        got = got.double().cpu().numpy()
        with mpmath.workdps(50):
            errors = [ulps(g, _cauchy_truth(mpmath.mpf(float(p)), mpmath.mpf(float(q)))["df_da"], dtype)
                      for g, p, q in zip(got, a, x)]
        assert max(errors) <= 1.0, errors


# ------------------------------------------------------------------ 2. ∂y of tanh(x + 2y) − y about its roots

_ROOT = float(mpmath.atanh(mpmath.sqrt(mpmath.mpf(1) / 2)))  # 1 − 2·tanh²u = 0 at u = ±0.88137


def _tanh_points(dtype, n=200):
    """n points x in [−1, 1], y in [−2, 2], n with u = x + 2y at 10^(−6…−0.3) from a root, and the two that were worse
    than torch + 0.5."""
    rng = np.random.default_rng(4142)
    xs, ys = rng.uniform(-1, 1, n), rng.uniform(-2, 2, n)
    x2 = rng.uniform(-1, 1, n)
    u = rng.choice([-_ROOT, _ROOT], n) + rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-6, -0.3, n)
    x = np.concatenate([xs, x2, [-0.48439376200652684, -0.03607390562323487]])
    y = np.concatenate([ys, (u - x2) / 2, [0.4812822226197486, -0.3951980187921236]])
    return x.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_tanh_of_x_plus_2y_dy_never_worse_than_torch(dtype):
    # before (main 35e1a307): float64 worse than torch + 0.5 at 3 of these 402 points: 1.48 ULP at (−0.48439, 0.48128),
    # torch 0.48; 1.22 at (−0.036074, −0.39520), torch 0.22; 0.87 at (0.27898, 0.11027), torch 0.13; the series up to 1.69 at 2⁻¹⁰ ≤ |u − r| < 1/16 (torch ≤ 858). Now ≤ 0.5 past 2⁻¹⁰ of a root, ≤ 1.91
    # within it, where torch is ≥ 50
    x, y = _tanh_points(dtype)
    mine = _outputs("tanh(x + 2*y) - y", dtype, x=x, y=y)["df_dy"]
    theirs = _torch_outputs(lambda torch, x, y: torch.tanh(x + 2 * y) - y, dtype, x=x, y=y)["df_dy"]
    bad = []
    with mpmath.workdps(60):
        for j in range(x.size):
            u = mpmath.mpf(float(x[j])) + 2 * mpmath.mpf(float(y[j]))
            true = 2 * mpmath.sech(u) ** 2 - 1
            m, t = ulps(mine[j], true, dtype), ulps(theirs[j], true, dtype)
            if m > LIMIT[dtype] or m > t + 0.5:
                bad.append((float(x[j]), float(y[j]), m, t))
    assert not bad, (len(bad), bad[:3])
