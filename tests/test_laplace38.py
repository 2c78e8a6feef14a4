"""Session 38 (h-laplace38): widen-quotients back, narrowed and guarded (issue 16: an asymmetric Laplace NLL's ∂κ was
worse than torch once session 37's review took the rule out).

The rule widens a sum of quotients of opposite signs (double words in a float64 kernel, float64 in a float32 one) only
  * where no earlier rule keeps the sum as written beside its own form of it (reciprocal-difference's 1/x − 1/y where
    y/x is outside [1/2, 2], reciprocal-margin's x/y − y/x outside its range: widened there too, 3–7× slower, no gain);
  * not for terms that are a number times signs (|x|·sign(y)/x: exact as written);
  * and only where every input is 0 or within 2^±e, e such that every product, quotient and sum of the double words
    stays within 2^±968 (below 2⁻⁹⁶⁸ a double word's lo part is lost: 6 for 5 in session 37's review).

References: mpmath at 60 digits of the formula as written, torch autograd in float64 (float32 for the float32 kernel)
of the formula as written. Each formula is compiled once (conftest.compiled).
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulps
from symnet.codegen.rewrite import stabilise

F64, F32 = np.float64, np.float32

# the asymmetric Laplace NLL in two forms (tests/test_user37.py); its ∂κ is (t − p)/b − 1/κ + 2κ/(1 + κ²) for t ≥ p,
# −(p − t)/(b·κ²) − 1/κ + 2κ/(1 + κ²) for t < p
_LAPLACE = ("log(b) - log(k/(1 + k**2)) + where(t - p >= 0, k*(t - p)/b, (p - t)/(k*b))",
            "log(b) + log(1 + k**2) - log(k) + where(p - t > 0, (p - t)/(k*b), k*(t - p)/b)")


def _true_dk(bv, kv, pv, tv):
    B, K, P, T = (mpmath.mpf(float(v)) for v in (bv, kv, pv, tv))
    return ((T - P) / B if T >= P else -(P - T) / (B * K ** 2)) - 1 / K + 2 * K / (1 + K ** 2)


def _torch_dk(formula, dtype, bv, kv, pv, tv):
    """torch autograd of the NLL as written, in ``dtype``: ∂κ."""
    torch = pytest.importorskip("torch")
    tdt = torch.float64 if dtype is F64 else torch.float32
    b, p, t = (torch.tensor(np.asarray(v, dtype), dtype=tdt) for v in (bv, pv, tv))
    k = torch.tensor(np.asarray(kv, dtype), dtype=tdt, requires_grad=True)
    if formula == _LAPLACE[0]:
        nll = torch.log(b) - torch.log(k / (1 + k ** 2)) + torch.where(t - p >= 0, k * (t - p) / b, (p - t) / (k * b))
    else:
        nll = torch.log(b) + torch.log(1 + k ** 2) - torch.log(k) + torch.where(p - t > 0, (p - t) / (k * b),
                                                                               k * (t - p) / b)
    (dk,) = torch.autograd.grad(nll.sum(), [k])
    return dk.double().numpy()


def _kernel_dk(formula, dtype, bv, kv, pv, tv):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kernel = compiled(formula, wrt=("k",))
        outs = dict(zip(kernel.outputs, kernel(b=np.asarray(bv, dtype), k=np.asarray(kv, dtype),
                                                p=np.asarray(pv, dtype), t=np.asarray(tv, dtype))))
    return np.asarray(outs["df_dk"], np.float64)


def _near_zero(dtype, seed, scale=1.0):
    """The reported point (28.7 ULP in float64, torch 12.7) and the zero next to it; then 10 (b, κ, p) on each branch of
    the select with t at the zero of ∂κ and 4 steps of t's dtype either side (t − p = b(1 − κ²)/(κ(1 + κ²)) for κ < 1,
    p − t = b·κ(κ² − 1)/(1 + κ²) for κ > 1); 20 ordinary points. b, p and t times ``scale`` (∂κ does not change)."""
    rng = np.random.default_rng(seed)
    rows = [(1.0, 0.3, -1.5, 1.2318714468604242), (1.0, 0.3, -1.5, 1.2828746177370034)]
    for _ in range(10):
        for low, high, side in ((0.05, 0.95, 1.0), (1.05, 20.0, -1.0)):
            bv, kv, pv = rng.uniform(0.1, 5) * scale, rng.uniform(low, high), rng.uniform(-3, 3) * scale
            zero = dtype(pv + side * bv * abs(1 - kv * kv) / (kv * (1 + kv * kv)))
            for step in range(-4, 5):
                tv = zero
                for _ in range(abs(step)):
                    tv = np.nextafter(tv, dtype(np.inf) * np.sign(step), dtype=dtype)
                rows.append((bv, kv, pv, float(tv)))
    rows += [(rng.uniform(0.1, 5) * scale, rng.uniform(0.05, 20), rng.uniform(-3, 3) * scale,
              rng.uniform(-3, 3) * scale) for _ in range(20)]
    return [np.array(c, dtype).astype(F64) for c in zip(*rows)]


def _errors(formula, dtype, columns):
    got = _kernel_dk(formula, dtype, *columns)
    torch_dk = _torch_dk(formula, dtype, *columns)
    with mpmath.workdps(60):
        truth = [_true_dk(*row) for row in zip(*columns)]
        mine = [ulps(g, w, dtype) for g, w in zip(got, truth)]
        theirs = [ulps(g, w, dtype) for g, w in zip(torch_dk, truth)]
    return np.array(mine), np.array(theirs)


# before (main at 94c7aaf6, the rule taken out), float64, each form: 28.7 ULP at (1, 0.3, −1.5, 1.2318714468604242),
# torch 12.7; 0 for 1.99e−16 at the zero t = 1.2828746177370034 (8.1e15 ULP, torch 3.6e15); of these 202 points 92 past
# 4 ULP, worst 3.0e16 at (4.0683, 0.2243, 0.4315, 16.8278), 63 and 38 (second form) worse than torch (torch's worst
# 3.6e16 / 4.2e16). Float32 within 0.67 before, 0.50 now (torch 2.8e8). With b, p, t times 1e80 or 1e−80 (∂κ the same),
# before: 92 past 4 ULP, worst 7.9e16 / 6.7e16; now 0.65 / 0.84. (Worse than torch: past 1 ULP and past torch's error;
# the widened function keeps the float64 body where its bound is within 3 ULP, so torch may be nearer by a fraction)
@pytest.mark.parametrize("formula", _LAPLACE)
@pytest.mark.parametrize("dtype, bound, scale", [(F64, 4.0, 1.0), (F32, 8.0, 1.0), (F64, 4.0, 1e80), (F64, 4.0, 1e-80)])
def test_laplace_dk_near_its_zero_is_within_the_bound_and_torch(formula, dtype, bound, scale):
    columns = _near_zero(dtype, 38_1 if scale == 1.0 else 38_2, scale)
    mine, theirs = _errors(formula, dtype, columns)
    worst = int(np.argmax(mine))
    assert mine[worst] <= bound, (mine[worst], [c[worst] for c in columns])
    worse = [(i, mine[i], theirs[i]) for i in range(mine.size) if mine[i] > max(theirs[i], 1.0)]
    assert not worse, (len(worse), worse[:3])


def _subnormal_product_points(n=150, seed=38_3):
    """x/(y·z) − w/(y·z) + 1/v with y·z subnormal (y, z in 10^[−161, −157]), x, w in [1, 2]·1e−300, 1/v of the other
    terms' size and either sign: every term near 1e−300/1e−318."""
    rng = np.random.default_rng(seed)
    y, z = 10.0 ** rng.uniform(-161, -157, n), 10.0 ** rng.uniform(-161, -157, n)
    x, w = rng.uniform(1, 2, n) * 1e-300, rng.uniform(1, 2, n) * 1e-300
    with mpmath.workdps(60):
        v = np.array([float((mpmath.mpf(y[i]) * mpmath.mpf(z[i])) / (mpmath.mpf(w[i]) - mpmath.mpf(x[i])))
                      for i in range(n)]) * rng.uniform(1, 3, n) * rng.choice([-1.0, 1.0], n)
    return x, y, z, w, v


# before (the rule unguarded, session 37's form): 93 of 200 such points worse than torch (worst 5.1e13 ULP, torch the
# same there; here 150 points); guarded: the written form, 0 worse than torch (worst 171 ULP, torch 5.1e13)
def test_a_quotient_sum_whose_products_are_subnormal_is_not_widened():
    torch = pytest.importorskip("torch")
    x, y, z, w, v = _subnormal_product_points()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f = compiled("x/(y*z) - w/(y*z) + 1/v")(x=x, y=y, z=z, w=w, v=v)[0]
    tx, ty, tz, tw, tv = (torch.tensor(a) for a in (x, y, z, w, v))
    tf = (tx / (ty * tz) - tw / (ty * tz) + 1 / tv).numpy()
    worse = []
    with mpmath.workdps(60):
        for i in range(x.size):
            X, Y, Z, W, V = (mpmath.mpf(float(a[i])) for a in (x, y, z, w, v))
            true = X / (Y * Z) - W / (Y * Z) + 1 / V
            mine, theirs = ulps(f[i], true, F64), ulps(tf[i], true, F64)
            if mine > max(theirs, 0.5):
                worse.append((i, mine, theirs))
    assert not worse, (len(worse), worse[:3])


_x, _y = sp.symbols("x y", real=True)


@pytest.mark.parametrize("expr, fires", [
    (1 / _x - 1 / _y, False),  # reciprocal-difference's: its written piece cannot cancel
    (_x / _y - _y / _x, False),  # reciprocal-margin's: its written piece is past its range
    (_x / _y ** 2 - 1 / _x, False),  # reciprocal-margin's, its written piece scaled-square's select
    (sp.Abs(_x) * sp.sign(_y) / _x - sp.sign(_x) * sp.sign(_y) + 5 * sp.Abs(_x * _y) / (_x * _y), False),  # signs
    ((sp.Symbol("t", real=True) - _y) / _x - 1 / _y + 2 * _y / (1 + _y ** 2), True),  # ∂κ: κ = y, b = x
])
def test_where_widen_quotients_fires(expr, fires):
    _, rules = stabilise(expr)
    assert ("widen-quotients" in [r.name for r in rules]) == fires, [r.name for r in rules]


# ---------------------------------------------------------------- a GRU update: tanh(c·x + d·h) − h (tests/test_user37.py)

_GRU = "(1 - sigmoid(a*x + b*h))*h + sigmoid(a*x + b*h)*tanh(c*x + d*h)"


def _gru_points(seed=38_4):
    """60 points with the tanh's argument h itself (c = 0, d = 1), h = ±10^[−300, −0.3]; 60 with it near h (c·x of
    h's size times 10^[−8, −2], d = 1 ± 10^[−8, −2]); 60 ordinary (a, b, c, d in [−2, 2], h, x in [−1.5, 1.5])."""
    rng = np.random.default_rng(seed)
    n = 60
    sign = rng.choice([-1.0, 1.0], (2, n))
    h = np.concatenate([10.0 ** rng.uniform(-300, -0.3, n) * sign[0], 10.0 ** rng.uniform(-30, -0.3, n) * sign[1],
                        rng.uniform(-1.5, 1.5, n)])
    x = np.concatenate([rng.uniform(-1.5, 1.5, 2 * n), rng.uniform(-1.5, 1.5, n)])
    c = np.concatenate([np.zeros(n), h[n:2 * n] / x[n:2 * n] * 10.0 ** rng.uniform(-8, -2, n), rng.uniform(-2, 2, n)])
    d = np.concatenate([np.ones(n), 1 + rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-8, -2, n),
                        rng.uniform(-2, 2, n)])
    a, b = rng.uniform(-2, 2, 3 * n), rng.uniform(-2, 2, 3 * n)
    return dict(a=a, b=b, c=c, d=d, h=h, x=x)


# before (main): ∂a 0 for 9.60e−92 at a = 0.7, b = 2.5, c = 0, d = 1, h = 1e−30, x = −1.5 (7.0e15 ULP), torch the same;
# here (∂a and ∂b, 360 values) past 4 ULP: 33 with the argument h itself (worst 9.0e15), 118 near it (8.8e6), 11 at
# ordinary points (16.2, where tanh(c·x + d·h) ≈ h); torch 33, 116, 15 (worst 23.7 at ordinary ones). Now 0 (worst 3.83,
# 2.64, 3.39): tanhshrink's target form. (The truth at 60 + 3·|log₁₀ h| digits: tanh h − h is h³/3 below h's digits)
def test_gru_gate_tanh_minus_its_own_input_near_and_far():
    torch = pytest.importorskip("torch")
    pts = _gru_points()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kernel = compiled(_GRU)
        outs = dict(zip(kernel.outputs, kernel(**pts)))
    T = {k: torch.tensor(v, requires_grad=True) for k, v in pts.items()}
    z = torch.sigmoid(T["a"] * T["x"] + T["b"] * T["h"])
    ((1 - z) * T["h"] + z * torch.tanh(T["c"] * T["x"] + T["d"] * T["h"])).sum().backward()
    bad = []
    for i in range(pts["a"].size):
        with mpmath.workdps(60 + int(3 * max(0.0, -np.log10(abs(pts["h"][i]))))):
            A, B, C, D, H, X = (mpmath.mpf(float(pts[k][i])) for k in "abcdhx")
            Z = 1 / (1 + mpmath.exp(-(A * X + B * H)))
            gap = mpmath.tanh(C * X + D * H) - H
            for name, true in (("df_da", X * Z * (1 - Z) * gap), ("df_db", H * Z * (1 - Z) * gap)):
                mine = ulps(outs[name][i], true, F64)
                if abs(true) >= 2.2250738585072014e-308 and mine > 4:
                    bad.append((name, i, mine, ulps(T[name[-1]].grad[i].item(), true, F64)))
    assert not bad, (len(bad), bad[:4])


@pytest.mark.xfail(strict=True, reason="measured 2026-12-06 session 38 (h-laplace38), main the same: tanh(c·x + d·h) − h, "
                   "∂h = d·sech²(c·x + d·h) − 1 at c = 0, d = 1, h = 1e−6, x = −1.5: got −9.99644811372491e−13, truth "
                   "−9.99999999999333e−13 (1.75e12 ULP float64); torch autograd −9.999778782798785e−13 (1.1e11). "
                   "d·sech² u − 1 cancels where d ≈ 1 and u is small; (d − 1) − d·tanh² u would not (no rule yet). The "
                   "value's own gap is fixed (tanhshrink's target form: −3.3333333333332e−19, main −3.33307e−19)")
def test_the_gap_s_slope_in_h_where_its_argument_is_h():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kernel = compiled("tanh(c*x + d*h) - h")
        outs = dict(zip(kernel.outputs, kernel(c=np.array([0.0]), d=np.array([1.0]), h=np.array([1e-6]),
                                                 x=np.array([-1.5]))))
    with mpmath.workdps(60):
        assert ulps(outs["df_dh"][0], -mpmath.tanh(mpmath.mpf(1e-6)) ** 2, F64) <= 4
        assert ulps(outs["f"][0], mpmath.tanh(mpmath.mpf(1e-6)) - mpmath.mpf(1e-6), F64) <= 4
