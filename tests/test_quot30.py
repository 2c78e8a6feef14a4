"""Products and quotients that made 0·inf or 0/0 far out (issue 16, session 30, h-quot30).

* ∂ of mish(x)·σ(eˣ) = (tanh(softplus x) + x·sech²(softplus x)·σ(x))·σ(eˣ) + x·tanh(softplus x)·eˣ·σ(eˣ)·σ(−eˣ): the
  product eˣ·(x·tanh(softplus x)) overflowed from x ≈ 703.2 while σ(−eˣ) was already 0 (from eˣ > 745, x ≈ 6.6):
  inf·0 = NaN in float64 (and in float32, whose NumPy block is float64) from x ≈ 703.2 up, true 1. The
  exp-product-limit rule reads σ(b) as the exponential e^(−softplus(−b)) and tests a factor's 0 by its exponent
  (Eq(σ(b), 0) and Eq(eᵃ, 0) are False to SymPy, so that test had been dropped): x·tanh(softplus x)·e^(x − softplus(eˣ))
  there, 0.
* ∂ of σ(x)/mish(x) = (σ(−x) − 1/x − sech²(softplus x)·σ(x)/tanh(softplus x))·σ(x)/(x·tanh(softplus x)): the
  cancel rule multiplied that sum out over σ(x)/(x·tanh(softplus x)) although nothing cancels (it took x⁻¹ outside
  for a divisor x of the sum): σ(x)²/tanh²(softplus x) underflowed to 0/0 = NaN from x ≈ −354 in float64.

References: mpmath at 60 digits of the formula as written (its own derivative by hand), torch autograd in float64.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch

E = mpmath.exp


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
