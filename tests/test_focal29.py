"""Issue 16, session 29: why h-hyp28's affine-root for a dyadic b·n broke the focal loss's ∂z (session 28's merge), and
the rule back in.

The affine-root rule writes a sum x/n + b as Grouped(x + b·n)/n, a factor SymPy keeps whole. The collect rule
(symnet/codegen/rewrite.py ``_collect_pair``) combines c₁·X + c₂·X where the cofactors c₁, c₂ are polynomials, X the
factors holding a function; a Grouped factor was in neither (no function, no polynomial), so the focal ∂z's pair
γ·(1 − t)·α_t·X − γ·t·α_t·X with α_t grouped stayed two products of about 8.7e−5 that cancel exactly at t = 1/2, where
∂z ≈ α_t·q^γ·z/4 is 1.249e−301 at z = 1e−300: 0 in every widened form (double and triple words hold 106 and 150 bits,
the two scales are 2^983 apart). Written, (1 − t) − t collected to 1 − 2t, exactly 0 at t = 1/2. h-hyp28 grouped the
default α_t = 3/4 − t/2 (b·n = 3/2); the integer case already grouped α_t = (2 − t)/3 for α = 1/3, the same fault on
the main branch before this session (test below). Now the collect rule counts a Grouped factor as part of X, and the
dyadic case takes only a b that is not itself a binary fraction (x/100 + 1/200: leaky_relu(softshrink(x)),
tests/test_hyp28.py), leaving hardswish′'s x/3 + 1/2 to the root-series rule and the default α_t written.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import compiled

from symnet.codegen.rewrite import _affine_root

_x = sp.Symbol("x", real=True)
BOUND = {np.float64: 4, np.float32: 8}


def _true_dz(z, t, g, alpha):
    """∂z of α_t·q^γ·CE (torchvision's focal loss with soft targets), q = t·σ(−z) + (1 − t)·σ(z), CE = t·softplus(−z) +
    (1 − t)·softplus(z), α_t = α·t + (1 − α)(1 − t), by the chain rule in mpmath: α_t·(γ·q^(γ − 1)·(1 − 2t)·σ(z)σ(−z)·CE
    + q^γ·(σ(z) − t)), at 400 digits (σ(z) − 1/2 at z = 1e−300 is z/4 beside terms of 1/2)."""
    with mpmath.workdps(400):
        z, t, g, a = (mpmath.mpf(v) for v in (z, t, g, alpha))
        s, r = 1 / (1 + mpmath.exp(-z)), 1 / (1 + mpmath.exp(z))
        q = t * r + (1 - t) * s
        ce = t * mpmath.log1p(mpmath.exp(-z)) + (1 - t) * mpmath.log1p(mpmath.exp(z))
        a_t = a * t + (1 - a) * (1 - t)
        return float(a_t * (g * q ** (g - 1) * (1 - 2 * t) * s * r * ce + q ** g * (s - t)))


# α = 1/3: α_t = 2/3 − t/3, grouped by affine-root's integer case (b·n = 2). Before (main at 6584dfd), float64:
# ∂z = 0 at (1e−300, 1/2, 0.001) for 1.249e−301, at (1e−300, 1/2, 1/2) for 8.84e−302 and at (1e−200, 1/2, 2) for
# 3.125e−202 (6.0e15, 8.5e15, 6.9e15 ULP; torch 0 too); right at (1e−30, 1/2, 0.7) (torch 0) and in float32.
_POINTS = [(1e-300, 0.5, 0.001), (1e-300, 0.5, 0.5), (1e-30, 0.5, 0.7), (1e-200, 0.5, 2.0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_focal_dz_with_a_grouped_alpha_at_half(dtype):
    points = [p for p in _POINTS if dtype == np.float64 or p[0] > 1e-37]
    z, t, g = (np.array(c, dtype) for c in zip(*points))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        *_, dz = compiled("focal(z, t, 1/3, gamma)")(gamma=g, t=t, z=z)
    for i, (zi, ti, gi) in enumerate(points):
        want = _true_dz(float(z[i]), float(t[i]), float(g[i]), mpmath.mpf(1) / 3)
        ulp = float(np.spacing(dtype(abs(want))))
        assert abs(float(dz[i]) - want) / ulp <= BOUND[dtype], (zi, ti, gi, float(dz[i]), want)


def test_affine_root_takes_a_dyadic_shift_only_where_b_is_rounded():
    """x/100 + 1/200 (b = 1/200 rounded, b·n = 1/2) → (x + 1/2)/100 (None before: b·n not whole); x/3 + 1/2
    (hardswish′, b a binary fraction) and 3/4 − t/2 (the default focal α_t) stay written; x/6 + 1/2 (b·n = 3) as before."""
    fired = _affine_root(_x / 100 + sp.Rational(1, 200))
    assert fired is not None
    assert _affine_root(_x / 3 + sp.Rational(1, 2)) is None
    assert _affine_root(sp.Rational(3, 4) - _x / 2) is None
    assert _affine_root(_x / 6 + sp.Rational(1, 2)) is not None
