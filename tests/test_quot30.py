"""Products and quotients that made 0·inf or 0/0 far out (issue 16, session 30, h-quot30).

* ∂ of mish(x)·σ(eˣ) = (tanh(softplus x) + x·sech²(softplus x)·σ(x))·σ(eˣ) + x·tanh(softplus x)·eˣ·σ(eˣ)·σ(−eˣ): the
  product eˣ·(x·tanh(softplus x)) overflowed from x ≈ 703.2 while σ(−eˣ) was already 0 (from eˣ > 745, x ≈ 6.6):
  inf·0 = NaN in float64 (and in float32, whose NumPy block is float64) from x ≈ 703.2 up, true 1. The
  exp-product-limit rule reads σ(b) as the exponential e^(−softplus(−b)) and tests a factor's 0 by its exponent
  (Eq(σ(b), 0) and Eq(eᵃ, 0) are False to SymPy, so that test had been dropped): x·tanh(softplus x)·e^(x − softplus(eˣ))
  there, 0.
* ∂ of σ(x)/mish(x) = (σ(−x) − 1/x − sech²(softplus x)·σ(x)/tanh(softplus x))·σ(x)/(x·tanh(softplus x)): the
  cancel rule multiplied the sum out over σ(x)/(x·tanh(softplus x)) (it took x⁻¹ outside for a divisor x of the sum):
  σ(x)²/tanh²(softplus x) underflowed to 0/0 = NaN from x ≈ −354 in float64; unexpanded, σ(−x) − sech²(softplus x)·
  σ(x)/tanh(softplus x) cancels as x → −∞ (both → 1: up to 316 ULP) and σ(x)/tanh(softplus x) is 0/0 from −745. The
  new rule softplus-rational writes them as the rational functions of t = eˣ that they are, t(t² − 2)/((t + 1)(t + 2)
  (t² + 2t + 2)) and 1 − t/((t + 1)(t + 2)), in t for x ≤ 0 and in e^−x above (terms sharing a factor 1/x together).

References: mpmath at 60 digits of the formula as written (its own derivative by hand), torch autograd in float64.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch
from symnet import sigmoid
from symnet.codegen.rewrite import softplus

E = mpmath.exp
_x = sp.Symbol("x", real=True)

# the rule's case for tests/test_stability_rules.py: (rule, formula, variables, range of the 50-digit check, the point
# where the written form fails, dtype): σ(x)/mish(x), value NaN (0/0) at −800 and its ∂ too
RULE_CASES = [
    ("softplus-rational", sigmoid(_x) / (_x * sp.tanh(softplus(_x))), (_x,), (-30.0, 30.0), (-800.0,), np.float64),
]


def _ulps(got, want, dtype) -> float:
    """|got − want| in units of the last place of want in dtype; inf where got is not finite and want is."""
    got, w = float(got), float(want)
    if not np.isfinite(got):
        return 0.0 if got == w else np.inf
    return abs(got - w) / float(np.spacing(dtype(abs(w))))


def _run(formula, points, dtype, backend):
    x = np.array(points, dtype)
    if backend == "triton":
        torch = triton_torch()
        return [t.numpy() for t in compiled(formula, "triton")(x=torch.from_numpy(x))]
    return compiled(formula)(x)


def _mish_parts(X):
    s = 1 / (1 + E(-X))
    t = mpmath.tanh(mpmath.log1p(E(X)))
    return s, t, t + X * (1 - t * t) * s  # σ(x), tanh(softplus x), mish′(x)


# ------------------------------------------------------------------ mish(x)·σ(eˣ)

MISH_SIGMOID_EXP = [-800.0, -50.0, -1.0434, 0.3, 3.0, 6.6, 20.0, 87.0, 88.5, 89.0, 700.0, 703.0, 708.0, 709.0,
                    709.5, 709.78, 709.9, 710.0, 1e4, 1e300]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_of_mish_times_sigmoid_of_exp_far_right(dtype, backend):
    """∂x within the bound up to 1e300. Before (NumPy, float64 and float32): NaN from 703.2 on (708, 709, 709.9, 1e4,
    1e300: session 29's strict xfail at 709 and 709.9), true 1.0."""
    bound = 8.0 if dtype == np.float32 else 4.0
    points = [p for p in MISH_SIGMOID_EXP if np.isfinite(dtype(p))]
    f, df = _run("mish(x)*sigmoid(exp(x))", points, dtype, backend)
    with mpmath.workdps(60):
        for i, x in enumerate(points):
            X = mpmath.mpf(float(dtype(x)))
            s, t, dmish = _mish_parts(X)
            big = E(X)
            if big < 1e6:
                S = 1 / (1 + E(-big))
                want = dmish * S + X * t * big * S * (1 - S)
            else:  # σ(eˣ) = 1 and the second term below 1e−400000
                want = dmish
            assert _ulps(df[i], want, dtype) <= bound, (x, float(df[i]), float(want))


def test_gradient_of_mish_times_sigmoid_of_exp_beside_torch():
    """torch autograd in float64 of the formula as written: NaN from 709.9 on (its eˣ overflows), 16 ULP at x = 3;
    symnet within 4 ULP of mpmath at every point and never further than torch, 1.0 where torch is NaN."""
    torch = pytest.importorskip("torch")
    points = [0.3, 3.0, 20.0, 700.0, 703.0, 709.0, 709.9]
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.mish(x) * torch.sigmoid(torch.exp(x))
    (g,) = torch.autograd.grad(y.sum(), x)
    _, df = compiled("mish(x)*sigmoid(exp(x))")(np.array(points))
    assert np.isnan(g[-1].item()) and df[-1] == 1.0
    with mpmath.workdps(60):
        for i, p in enumerate(points):
            X = mpmath.mpf(p)
            s, t, dmish = _mish_parts(X)
            S = 1 / (1 + E(-E(X)))
            want = dmish * S + X * t * E(X) * S * (1 - S)
            ours = _ulps(df[i], want, np.float64)
            assert ours <= 4 and ours <= max(1.0, _ulps(g[i].item(), want, np.float64)), (p, float(df[i]), g[i].item())


# ------------------------------------------------------------------ σ(x)/mish(x)

def _sigmoid_over_mish(X):
    """σ(x)/mish(x) and its ∂ at 60 digits, from the written form (the quotient rule by hand)."""
    s, t, dmish = _mish_parts(X)
    m = X * t
    return s / m, (s * (1 - s) * m - s * dmish) / m ** 2


SIGMOID_OVER_MISH = [-1e4, -800.0, -746.0, -745.0, -714.5, -709.0, -700.0, -300.0, -104.0, -100.0, -88.7, -87.0,
                     -50.0, -29.8, -20.0, -13.8, -1.5, -0.5, -1e-3, -1e-30, 1e-30, 1e-8, 0.3466, 0.5, 2.0, 2.6175,
                     5.0, 20.0, 20.0005, 40.0, 100.0, 709.0, 1e4]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_over_mish_and_its_gradient(dtype, backend):
    """f and ∂f within the bound from −1e4 to 1e4 and at 40 random points of [−30, 30] and −e^[0, 6.7]. Before (NumPy
    float64): ∂ NaN at −709 (true −1.98933e−6, session 28's strict xfail; torch 308 ULP), −700, −714.5; 45 ULP at
    −100, 40 at −300, 37 at −29.8, 21 at 20.0005 (torch 14); f and ∂ NaN from −745 (torch the same); float32 (NumPy)
    ∂ NaN at −700, −709."""
    bound = 8.0 if dtype == np.float32 else 4.0
    rng = np.random.default_rng(30)
    points = SIGMOID_OVER_MISH + list(rng.uniform(-30, 30, 30)) + list(-np.exp(rng.uniform(0, 6.7, 10)))
    points = [p for p in points if p != 0 and dtype(p) != 0]
    f, df = _run("(sigmoid(x)) / (mish(x))", points, dtype, backend)
    with mpmath.workdps(60):
        for i, x in enumerate(points):
            want, dwant = _sigmoid_over_mish(mpmath.mpf(float(dtype(x))))
            assert _ulps(f[i], want, dtype) <= bound, (x, float(f[i]), float(want))
            if not np.isfinite(dtype(float(dwant))):  # −1/x² past float32's range (x = −1e−30): −inf
                assert df[i] == dtype(float(dwant)), (x, float(df[i]))
                continue
            assert _ulps(df[i], dwant, dtype) <= bound, (x, float(df[i]), float(dwant))


def test_sigmoid_over_mish_beside_torch():
    """Never further from mpmath than torch autograd in float64 (or within 1 ULP), at the points above: torch's ∂ is
    308 ULP at −709, NaN from −745 (symnet 1 ULP at most there)."""
    torch = pytest.importorskip("torch")
    points = [p for p in SIGMOID_OVER_MISH if p != 0]
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y = torch.sigmoid(x) / torch.nn.functional.mish(x)
    (g,) = torch.autograd.grad(y.sum(), x)
    _, df = compiled("(sigmoid(x)) / (mish(x))")(np.array(points))
    with mpmath.workdps(60):
        for i, p in enumerate(points):
            _, dwant = _sigmoid_over_mish(mpmath.mpf(p))
            ours, theirs = _ulps(df[i], dwant, np.float64), _ulps(g[i].item(), dwant, np.float64)
            assert ours <= max(1.0, theirs), (p, ours, theirs)
