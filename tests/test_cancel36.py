"""Session 36 (h-cancel36), issue 16: cancellations at tiny and huge scales, each at the value that showed it and its
neighbourhood, both dtypes. Truths are mpmath's of the formula as written (SymPy's derivatives of it, never symnet's
derivation) at 80 digits; errors in ULPs of the kernel's dtype (conftest.ulps), and each point is held to torch
autograd in float64 too where torch is past the bound (test_xfailb33._check)."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps
from test_xfailb33 import _check, _sympy_truths

F64, F32 = np.float64, np.float32


def _near(rng, n, low, high, closest, farthest, dtype):
    """n points (x, y): y = ±10^U(low, high), x = y·(1 ± 10^U(closest, farthest)), as ``dtype``."""
    y = rng.choice([-1, 1], n) * 10 ** rng.uniform(low, high, n)
    x = y * (1 + rng.choice([-1, 1], n) * 10 ** rng.uniform(closest, farthest, n))
    return np.stack([x, y], 1).astype(dtype)


# ---------------------------------------------------------------- _tw_quotient: a triple word's quotient of tiny inputs

# The Gamma deviance 2·(log(μ/y) + y/μ − 1) at μ ≈ y, both below about 1e−278: its value cancels past 2⁴³ there, so its
# widened sum is taken in triple words, whose quotients y/μ and μ/y had remainders (2⁻⁵³ and 2⁻¹⁰⁶ of y) below the
# normal range. At μ = 4.126224107271759e−300, y = 4.12622410727164e−300 it was 1.4795521094654128e−24 for
# 8.3681309e−28 (8.2e18 ULP; torch autograd's forward −2.22e−16); 3.4e28 ULP at worst over the float64 points below.
# Now ≤ 0.5 (the dividend and divisor times 2⁶⁰⁰ first where the dividend is below 2⁻⁸⁰⁰: exact). The other forms of
# the deviance take the same quotients.
GAMMA_FORMS = ["2*(log(mu/y) + y/mu - 1)", "2*(y/mu - log(y/mu) - 1)", "y/mu - 1 - log(y/mu)"]


def _gamma_points(dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype is F64:
        at = [[4.126224107271759e-300, 4.12622410727164e-300]]
        pts = np.r_[_near(rng, 150, -308, -270, -15, -5, F64), _near(rng, 40, -323, -308, -15, -1, F64),
                    _near(rng, 40, -5, 5, -15, -5, F64)]
    else:
        at = [[1e-40 * (1 + 2 ** -20), 1e-40]]
        pts = np.r_[_near(rng, 150, -45, -30, -7, -2, F32), _near(rng, 40, -5, 5, -7, -2, F32)]
    pts = np.abs(np.r_[np.array(at, dtype), pts])  # (a deviance of positive μ, y)
    return pts[:, [0, 1]]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", GAMMA_FORMS)
def test_gamma_deviance_where_both_inputs_are_tiny(formula, dtype):
    points = _gamma_points(dtype, 3600 + len(formula))
    checked, worst = _check(formula, ["mu", "y"], dtype, points, _sympy_truths(formula, ["mu", "y"], 80), (0,))
    assert checked > (150 if dtype is F64 else 120) and worst <= 1.0, (checked, worst)


def test_gamma_deviance_at_the_point_that_showed_it():
    mu, y = 4.126224107271759e-300, 4.12622410727164e-300
    f = compiled(GAMMA_FORMS[0])(mu=np.array([mu]), y=np.array([y]))[0][0]
    with mpmath.workdps(80):
        M, Y = mpmath.mpf(mu), mpmath.mpf(y)
        assert ulps(f, 2 * (mpmath.log(M / Y) + Y / M - 1), F64) <= 0.5, f


# ---------------------------------------------------------------- reciprocal-margin: terms of one degree, scaled

# k₁·P₁ + k₂·P₂ of one total degree (x/y² − 1/x: −1; 3x³ − 3y³: 3) is widened at the bases over a power of two of their
# inputs (binade_reciprocal) and scaled back after, where it was widened inside a fixed range 2^±⌊900/D⌋ only and
# written elsewhere: x/y² − 1/x at x = 2.7e135·(1 + 1e−10), y = 2.7e135 was 7.407411123350214e−146 for
# 7.4074087034092507e−146 (2.7e9 ULP; at x = y + 1 ulp 3.8e15), 3x³ − 3y³ at x = y = 1.45e135 NaN for 0 and at
# x = y + 1 ulp NaN for inf (inf − inf; torch the same NaN), 7.7e12 ULP at x = 1.45e102·(1 + 1e−14). Now ≤ 0.54 ULP
# over 300 points a form and dtype across the whole range, 0 and ±inf where the truth is.
MONOMIAL_FORMS = ["x/y**2 - 1/x", "3*x**3 - 3*y**3", "x**2 - y**2", "1/x - 1/y", "x*y**2 - x**2*y", "x/y - y/x"]


def _monomial_points(dtype, seed):
    rng = np.random.default_rng(seed)
    top = 307 if dtype is F64 else 38
    closest = -16 if dtype is F64 else -7
    pts = np.r_[_near(rng, 100, -top, -top + 40, closest, -0.3, F64), _near(rng, 100, -top, top, closest, -0.3, F64),
                _near(rng, 100, top - 40, top, closest, -0.3, F64)]
    if dtype is F64:
        pts = np.r_[[[2.7e135 * (1 + 1e-10), 2.7e135], [np.nextafter(2.7e135, 3e135), 2.7e135],
                     [1.45e102 * (1 + 1e-14), 1.45e102]], pts]
    pts = pts[(np.abs(pts) < float(np.finfo(dtype).max)).all(1) & (np.abs(pts) > float(np.finfo(dtype).tiny)).all(1)]
    return pts.astype(dtype)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", MONOMIAL_FORMS)
def test_difference_of_one_degree_across_the_range(formula, dtype):
    points = _monomial_points(dtype, 3610 + len(formula))
    checked, worst = _check(formula, ["x", "y"], dtype, points, _sympy_truths(formula, ["x", "y"], 80), (0, 1, 2))
    assert checked > 120 and worst <= 2.0, (checked, worst)


def test_cubes_past_the_range_are_their_limits():
    y = 1.45e135
    up = np.nextafter(y, 2 * y)
    f = compiled("3*x**3 - 3*y**3")(x=np.array([y, up, y, 1.1e103]), y=np.array([y, y, up, 1.1e103]))[0]
    assert f.tolist() == [0.0, np.inf, -np.inf, 0.0]


# ---------------------------------------------------------------- reciprocal-margin: relu(w) as w inside a select

# A contrastive loss y·d² + (1 − y)·relu(m − d)² has ∂y = d² − relu(m − d)², which cancels near d = m/2: at
# d = 0.49999998221238817, m = 1 it was −3.557522368358157e−08 for −3.5575223655825994e−8 (4.2e6 ULP; torch autograd
# the same), 4.5e15 at worst over the float64 points below. Now {d² − (m − d)² widened where m − d > 0; as written
# elsewhere}: ≤ 0.5 ULP (the value too, which does not cancel; ∂d and ∂m at y = 1 are 2d and 0).
CONTRASTIVE = "y*d**2 + (1 - y)*relu(m - d)**2"


def _contrastive_truth(d, m, y):
    with mpmath.workdps(80):
        r = max(m - d, 0)
        return [y * d ** 2 + (1 - y) * r ** 2, 2 * y * d - 2 * (1 - y) * r, 2 * (1 - y) * r, d ** 2 - r ** 2]


def _contrastive_points(dtype, seed):
    rng = np.random.default_rng(seed)
    top, closest = (300, -16) if dtype is F64 else (36, -7)
    n = 300
    m = rng.choice([-1, 1], n) * 10 ** rng.uniform(-top, top, n)
    d = m / 2 * (1 + rng.choice([-1, 1], n) * 10 ** rng.uniform(closest, -0.5, n))
    d[:40] = m[:40] * rng.uniform(-3, 3, 40)  # the relu open and closed, away from d = m/2
    points = np.stack([d, m, np.ones(n)], 1)
    if dtype is F64:
        points = np.r_[[[0.49999998221238817, 1.0, 1.0]], points]
    return points.astype(dtype)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_contrastive_loss_label_gradient_near_half_the_margin(dtype):
    def torch_fn(torch, d, m, y):
        return y * d ** 2 + (1 - y) * torch.relu(m - d) ** 2

    checked, worst = _check(CONTRASTIVE, ["d", "m", "y"], dtype, _contrastive_points(dtype, 3620), _contrastive_truth,
                            (0, 3), torch_fn=torch_fn)
    assert checked > 250 and worst <= 1.0, (checked, worst)


# where relu(m − d) is closed or its argument NaN, ∂y is d² or NaN, as written (torch the same)
def test_contrastive_loss_label_gradient_where_the_relu_is_closed_or_nan():
    k = compiled(CONTRASTIVE)
    d = np.array([2.0, 1e200, -3.0, np.nan, 1.0])
    m = np.array([1.0, 1e200, -3.0, 1.0, np.nan])
    dy = dict(zip(k.outputs, k(d=d, m=m, y=np.ones(5))))["df_dy"]
    assert dy[:3].tolist() == [4.0, np.inf, 9.0] and np.isnan(dy[3:]).all(), dy


# ---------------------------------------------------------------- Triton (float64): the rules' forms, and what is open

# The rewrites above are the Triton kernels' too: before, x/y² − 1/x 2.7e9 and 3.8e15 ULP at the first two points, 3x³ −
# 3y³ NaN at 1.45e135, ∂y of the contrastive loss 4.2e6 ULP at d ≈ m/2 and NaN (inf − inf) at m = 5e200.
TRITON_CASES = [
    ("x/y**2 - 1/x", "f", ["x", "y"], [[2.7e135 * (1 + 1e-10), 2.7e135], [2.7000000000000002e135, 2.7e135],
                                        [1e-150, 1e-150 * (1 - 1e-13)]], lambda x, y: x / y ** 2 - 1 / x),
    ("3*x**3 - 3*y**3", "f", ["x", "y"], [[1.45e102 * (1 + 1e-14), 1.45e102], [1.45e135, 1.45e135],
                                           [1.4500000000000001e135, 1.45e135]], lambda x, y: 3 * x ** 3 - 3 * y ** 3),
    (CONTRASTIVE, "df_dy", ["d", "m", "y"], [[0.49999998221238817, 1.0, 1.0], [2.5e200 * (1 + 1e-12), 5e200, 1.0]],
     lambda d, m, y: d ** 2 - max(m - d, 0) ** 2),
]


@pytest.mark.parametrize("formula, output, names, points, truth", TRITON_CASES, ids=[c[0] for c in TRITON_CASES])
def test_triton_takes_the_same_forms(formula, output, names, points, truth):
    from conftest import triton_torch

    torch = triton_torch()
    k = compiled(formula, "triton")
    points = np.array(points)
    got = k(**{n: torch.tensor(points[:, i]) for i, n in enumerate(names)})[k.outputs.index(output)].numpy()
    for p, g in zip(points, got):
        with mpmath.workdps(80):
            assert ulps(g, truth(*(mpmath.mpf(float(v)) for v in p)), F64) <= 1, (formula, tuple(p), g)


# (Triton's float64 Gamma deviance at μ = 4.126224107271759e−300, y = 4.12622410727164e−300 was 4.7e10 ULP: a strict
# xfail here until session 37, whose tensors were float32; fixed by h-triton37, tests/test_triton37.py)
