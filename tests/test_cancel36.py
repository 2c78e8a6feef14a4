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
