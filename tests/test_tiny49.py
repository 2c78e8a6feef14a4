"""tiny49 (issue 16, session 49, h-tiny49): formulas whose parameters are subnormal, tiny or huge.

Fixed here:
- Box-Cox (x^λ − 1)/λ at a subnormal λ (tests/test_user48.py's xfail): at λ = −5e−324, x = 0.3, λ·log x rounds to
  the one subnormal 4.9e−324 before expm1 and the division: −1 for −1.2040 (9.2e14 ULP; torch 8.3e15 at symnet
  verify's worst point), and 0/0 = NaN at λ = 0 (the limit log x). New rule power-minus-one-quotient (losses.py,
  registered last): ±(b^y − 1)/y = ±L·expm1(t)/t, L = log b, t = y·L, with expm1(t)/t = Σ_{n<4} t^n/(n + 1)! where
  |t| < 2⁻²⁰ (the first term left out below 2⁻⁸⁶), outside a select (the power-minus-one-slope rule's ∂λ keeps its
  widened written form): 0.40 ULP at the point, 1.00 at the random points below (before 2.1e13); the generalised
  cross-entropy (1 − σ(z)^q)/q at a subnormal q the same way (8.9e14 → 0.84). CPU time of the whole kernel, 1e6
  points (λ = U(−2, 2), q = U(0.1, 1), best of 5, new/base in one process): Box-Cox 0.98 (float64) and 1.03 (float32),
  the GCE 1.02 and 1.06 (the series is taken on the elements in its window alone or in one select).
- Tukey's biweight c²/6·(1 − (1 − (r/c)²)³) where |r| < c with r ≪ c (tests/test_loss41.py's xfail): the
  cancelling-polynomial rule's quotient (a monomial denominator) was widened at the inputs scaled by s, the largest
  input's power of two, so r/s went subnormal before it was squared: f at c = 1e10, r = 1e−150 4.99806414e−301 for
  5e−301 (3.9e12 ULP; torch 0). Now widened unscaled, with widen's far tier (every leaf scaled to [1/2, 1) by its
  exponent) past 2^±⌊960/n⌋ (quotients._homogeneous_quotient, no new rule): 0 ULP there; at 300 random points
  (c = 10^U(−150, 150), r/c = ±10^−U(0, 300)) float64 f 8.9e15 ULP worst (past the bound at 40) → 0.50, ∂c 8.6e15
  (past at 6) → 0.50 (torch as bad or worse at each); ∂r (another rule's) 11.5 at one point before and after, no
  worse than torch. CPU time of the Tukey kernel, 1e6 ordinary points (c = 10^U(−0.3, 0.7), r/c = U(−1.2, 1.2)):
  0.59 in float64, 1.25–1.33 in float32 (its float64 body unscaled holds c⁴, r⁴ as powers the by-exponents check
  recomputes: the base's scaled leaves did not need it).

References: mpmath (conftest.measure_formula, 100 digits; the truth of (x^λ − 1)/λ at λ = 1e−320 needs no more: x^λ
is evaluated at 100 digits of λ·log x's own relative precision) and torch autograd in the same dtype.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, measure_formula, ulps
from symnet.functions import sigmoid

MP_DPS = 1000
F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}

_l, _x, _q, _z = sp.symbols("l x q z", real=True)
BOXCOX = "(x**l - 1)/l"
GCE = "(1 - sigmoid(z)**q)/q"

# (rule, formula, variables, 50-digit range, a point where the written form fails, dtype); the points at λ = 1e−290,
# not a subnormal λ: test_stability_rules' 600-digit reference of ∂λ cancels by twice λ's exponent in digits (at
# 5e−324 it is −3.7e45 for 0.7248); the subnormal points are this file's tests'
RULE_CASES = [
    ("power-minus-one-quotient", (_x ** _l - 1) / _l, (_l, _x), (0.2, 3.0), (-1e-290, 0.3), np.float64),
    ("power-minus-one-quotient", (1 - sigmoid(_z) ** _q) / _q, (_q, _z), (0.1, 3.0), (1e-290, 1.5), np.float64),
]


# ------------------------------------------------------------------ Box-Cox at a subnormal, tiny or zero λ

def _boxcox_truth(l_, x):
    with mpmath.workdps(MP_DPS):
        lam, xx = mpmath.mpf(l_), mpmath.mpf(x)
        return +(xx ** lam - 1) / lam if lam != 0 else +mpmath.log(xx)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_boxcox_at_the_failing_point_and_at_zero(dtype):
    """λ = −5e−324 (float32: −1.4e−45), x = 0.3: −1 for −1.2040 before (9.2e14 ULP float64); λ = 0: NaN for log 0.3."""
    tiny = -5e-324 if dtype is F64 else -1.401298464324817e-45
    f = compiled(BOXCOX)(l=np.array([tiny, 0.0], dtype), x=np.array([0.3, 0.3], dtype))[0]
    for got, lam in zip(f, (tiny, 0.0)):
        assert ulps(got, _boxcox_truth(lam, float(dtype(0.3))), dtype) <= BOUND[dtype], (lam, got)


def _boxcox_points(n, seed, dtype):
    """n points: |λ| = 10^U(−323, −290) (float32: 10^U(−45, −35), subnormal and tiny normal), a sixth of them near the
    window's edge 10^U(−9, −5), random sign; x = 10^U(−3, 3)."""
    rng = np.random.default_rng(seed)
    lo, hi = (-323, -290) if dtype is F64 else (-45, -35)
    lam = 10.0 ** rng.uniform(lo, hi, n)
    lam[: n // 6] = 10.0 ** rng.uniform(-9, -5, n // 6)
    lam *= rng.choice([-1.0, 1.0], n)
    x = 10.0 ** rng.uniform(-3, 3, n)
    return [lam.astype(dtype), x.astype(dtype)]


@pytest.mark.parametrize("dtype", [F64, F32])
def test_boxcox_at_random_tiny_lambda(dtype):
    """120 points; before (9d4d1074) float64 f: 2.1e13 ULP worst, past the bound at 39 (torch 8.8e15); after 1.00.
    ∂λ (the power-minus-one-slope rule's, 2.51 ULP; at 1000 digits: its two terms cancel by 320 digits and more)
    and ∂x (0.76) within the bound before too; float32 (computed in float64) 0.50 before and after."""
    cols = _boxcox_points(120, 49 + (dtype is F32), dtype)
    (f_worst, f_past, f_worse, f_torch), (l_worst, l_past, l_worse, _), (x_worst, x_past, x_worse, _) = measure_formula(
        BOXCOX, "l x", cols, dtype, torch_fn=lambda t, l_, x: (x ** l_ - 1) / l_, digits=MP_DPS)
    assert f_past == 0 and f_worse == 0, (f_worst, f_past, f_worse, f_torch)
    assert l_past == 0 and l_worse == 0, l_worst
    assert x_past == 0 and x_worse == 0, x_worst


@pytest.mark.parametrize("dtype", [F64, F32])
def test_gce_at_a_subnormal_q(dtype):
    """The generalised cross-entropy (1 − σ(z)^q)/q at q subnormal (float64 10^U(−323, −308)), z = U(−5, 5): q·log σ(z)
    rounded into the subnormals before (9d4d1074: 8.9e14 ULP worst, past the bound at 59 of 60; torch 9.0e15); after
    0.84. Float32 (computed in float64) 0.50 before and after."""
    rng = np.random.default_rng(4949 + (dtype is F32))
    lo, hi = (-323, -308) if dtype is F64 else (-45, -38)
    q = (10.0 ** rng.uniform(lo, hi, 60)).astype(dtype)
    z = rng.uniform(-5, 5, 60).astype(dtype)
    (worst, past, worse, theirs), *_ = measure_formula(GCE, "q z", [q, z], dtype,
                                                     torch_fn=lambda t, q_, z_: (1 - t.sigmoid(z_) ** q_) / q_,
                                                     digits=MP_DPS)
    assert past == 0 and worse == 0, (worst, past, worse, theirs)


# ------------------------------------------------------------------ Tukey's biweight where r ≪ c

TUKEY = "where(abs(r) < c, c**2/6*(1 - (1 - (r/c)**2)**3), c**2/6)"


def _tukey_truths(c, r):
    """f, ∂c, ∂r from the factored forms (no cancellation: the written one at 60 digits is 0 at r/c = 1e−60)."""
    with mpmath.workdps(60):
        C, R = mpmath.mpf(float(c)), mpmath.mpf(float(r))
        if abs(R) >= C:
            return [C ** 2 / 6, C / 3, mpmath.mpf(0)]
        return [R ** 2 * (3 * C ** 4 - 3 * C ** 2 * R ** 2 + R ** 4) / (6 * C ** 4), R ** 4 * (3 * C ** 2 - 2 * R ** 2)
                / (3 * C ** 5), R * (1 - (R / C) ** 2) ** 2]


def test_tukey_at_the_failing_point():
    """c = 1e10, r = 1e−150: f 4.99806414e−301 for 5e−301 before (3.9e12 ULP)."""
    out = compiled(TUKEY)(c=np.array([1e10]), r=np.array([1e-150]))
    for got, true in zip(out, _tukey_truths(1e10, 1e-150)):
        assert ulps(got[0], true, F64) <= BOUND[F64], (got, true)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_tukey_where_r_is_far_below_c(dtype):
    """300 points, c = 10^U(−150, 150), r = ±c·10^−U(0, 300) (float32: 10^U(−20, 20), 10^−U(0, 40)): f and ∂c within
    the bound (before, float64: 8.9e15 and 8.6e15 ULP worst; float32 0.50 before and after); ∂r within it or no worse
    than torch autograd of the written form."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4941 + (dtype is F32))
    (lc, hc), (lr, hr) = ((-150, 150), (0, 300)) if dtype is F64 else ((-20, 20), (0, 40))
    c = (10.0 ** rng.uniform(lc, hc, 300)).astype(dtype)
    r = (c * 10.0 ** -rng.uniform(lr, hr, 300) * rng.choice([-1.0, 1.0], 300)).astype(dtype)
    outs = compiled(TUKEY)(c=c, r=r)
    tc, tr = (torch.tensor(v, requires_grad=True) for v in (c, r))
    tf = torch.where(tr.abs() < tc, tc ** 2 / 6 * (1 - (1 - (tr / tc) ** 2) ** 3), tc ** 2 / 6)
    theirs = [tf.detach().numpy(), *(g.numpy() for g in torch.autograd.grad(tf.sum(), (tc, tr)))]
    for i in range(300):
        for j, true in enumerate(_tukey_truths(c[i], r[i])):
            u, v = ulps(outs[j][i], true, dtype), ulps(theirs[j][i], true, dtype)
            # (∂r: 11.5 ULP at one float64 point, before too, torch worse)
            assert u <= BOUND[dtype] or (j == 2 and u <= v), (("f", "∂c", "∂r")[j], c[i], r[i], outs[j][i], u, v)
