"""Session 37 (h-sig37): a float32 NumPy block holding σ is computed in float64, each output rounded once.

The sigmoid kernel (kernels/numpy/sigmoid.py) computed σ and σ′ from NumPy's float32 SIMD exp and the sigmoid pair's
float32 roundings: σ 3.69 ULP at −1.9717 (torch 0.31), σ′ 5.18 at −4.1391 (torch 0.18); test_sig28's strict xfail.
The NumPy printer now widens such a block (``_sigmoid_float64`` beside session 28's ``_softplus_float64``): 0.50 ULP.
Cost and the 10⁵-point sweep: benchmarks/sig37.py. References: mpmath at 40 digits of σ and σ′ written independently
(σ′ = σ·σ(−x)); torch's float32 sigmoid and autograd where torch is installed.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

import symnet
from symnet.kernels import load_kernel

try:
    import torch
except ImportError:  # torch beside is optional: the mpmath bounds are the tests
    torch = None

HALF = 0.5 + 2.0**-20  # a rounding's half ULP, and the float64 block's own error
TINY32 = float(np.finfo(np.float32).smallest_subnormal)


def _sigma(x):
    return 1 / (1 + mpmath.exp(-x))


def _ulps(got, exact, dtype) -> float:
    """|got − exact| in ULPs of the exact value rounded to ``dtype`` (the least subnormal's spacing below it)."""
    spacing = max(float(np.spacing(np.abs(np.asarray(float(exact), dtype)))),
                  float(np.finfo(dtype).smallest_subnormal))
    return float(abs(mpmath.mpf(float(got)) - exact) / spacing)


def _worst(x: np.ndarray, value: np.ndarray, grad: np.ndarray, dtype=np.float32) -> tuple[float, float, float]:
    """The worst ULPs of σ and σ′ over ``x`` and where they are, against mpmath."""
    worst = [0.0, 0.0, None]
    with mpmath.workdps(40):
        for i, v in enumerate(x):
            p = mpmath.mpf(float(v))
            s = _sigma(p)
            for k, (got, exact) in enumerate(((value[i], s), (grad[i], s * _sigma(-p)))):
                err = _ulps(got, exact, dtype)
                if err > worst[k]:
                    worst[k] = err
                    worst[2] = float(v)
    return tuple(worst)


def _around(x: float, n: int) -> np.ndarray:
    """x and the n float32 values on each side of it, bit by bit."""
    bits = np.float32(x).view(np.int32)
    return (bits + np.arange(-n, n + 1, dtype=np.int32)).view(np.float32)


def _bits(lo: float, hi: float, n: int, seed: int) -> np.ndarray:
    """n float32 values of [lo, hi] drawn uniformly in bit pattern on each side of 0 (every binade to 0)."""
    rng = np.random.default_rng(seed)
    neg = rng.integers(0, np.float32(-lo).view(np.int32), n // 2, dtype=np.int32).view(np.float32)
    pos = rng.integers(0, np.float32(hi).view(np.int32), n - n // 2, dtype=np.int32).view(np.float32)
    return np.concatenate([-neg, pos])


# test_sig28's points (the kernel before: σ 3.69, σ′ 5.18) and their neighbourhoods, 201 float32 values each
@pytest.mark.parametrize("x, before", [(-1.97165846824646, 3.69), (-4.139065742492676, 5.18)])
def test_sigmoid_kernel_float32_rounded_once_around_the_failing_points(x, before):
    z = _around(x, 100)
    value, grad = load_kernel("sigmoid").sigmoid(z)
    assert value.dtype == grad.dtype == np.float32
    es, ed, at = _worst(z, value, grad)
    assert max(es, ed) <= HALF, f"worst {max(es, ed):.3f} ULP at {at!r} (before {before} at {x!r})"


def test_sigmoid_kernel_float32_over_its_range_and_the_subnormal_tail():
    """300 float32 values of [−104, 89] in bit pattern, 100 evenly spaced ones, and 150 where σ is subnormal
    (z in [−103.97, −87.34]) or σ′ is: every output within half an ULP (the least subnormal's spacing there)."""
    z = np.concatenate([_bits(-104, 89, 300, 37), np.linspace(-104, 89, 100), np.linspace(-103.97, -87.34, 150),
                        [0.0, -0.0, 17.0, -17.0, 88.7, -88.7, 1e-30, -1e-30, TINY32, -TINY32]]).astype(np.float32)
    value, grad = load_kernel("sigmoid").sigmoid(z)
    es, ed, at = _worst(z, value, grad)
    assert max(es, ed) <= HALF, f"worst {max(es, ed):.3f} ULP at {at!r}"
    assert max(es, ed) > 0.4  # (the points reach the rounding's own half ULP)
    if torch is not None:  # never farther than torch's float32 sigmoid and its autograd at any point
        t = torch.from_numpy(z).requires_grad_()
        out = torch.sigmoid(t)
        out.sum().backward()
        theirs = (out.detach().numpy(), t.grad.numpy())
        with mpmath.workdps(40):
            for i, v in enumerate(z):
                p = mpmath.mpf(float(v))
                for k, exact in enumerate((_sigma(p), _sigma(p) * _sigma(-p))):
                    mine = _ulps((value, grad)[k][i], exact, np.float32)
                    assert mine <= _ulps(theirs[k][i], exact, np.float32) + 2.0**-20, (k, float(v))


def test_sigmoid_kernel_ends_and_float64_unchanged():
    """±inf, NaN and the float32 extremes give σ's limits (no warning); a float64 block is what it was (0.5 ULP + the
    pair's float64 roundings: ≤ 4 ULP float64 at 200 points, 2.70 worst)."""
    z = np.array([np.inf, -np.inf, np.nan, 3.4e38, -3.4e38], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = load_kernel("sigmoid").sigmoid(z)
    assert value[:2].tolist() == [1.0, 0.0] and grad[:2].tolist() == [0.0, 0.0] and np.isnan(value[2])
    assert value[3:].tolist() == [1.0, 0.0] and grad[3:].tolist() == [0.0, 0.0]
    x = np.random.default_rng(3).uniform(-40, 40, 200)
    value, grad = load_kernel("sigmoid").sigmoid(x)
    assert value.dtype == np.float64
    es, ed, at = _worst(x, value, grad, np.float64)
    assert max(es, ed) <= 4.0, f"float64 {max(es, ed):.3f} ULP at {at!r}"


def test_silu_compiled_float32_rounded_once():
    """x·σ(x) compiled alone (no softplus beside, test_sig28's case): its float32 block is float64 now too."""
    kernel = symnet.compile(symnet.derive("silu(x)"))
    assert "np.asarray(x, np.float64)" in kernel.source
    x = np.concatenate([_bits(-104, 89, 200, 8), _around(-1.2784645, 50)]).astype(np.float32)
    value, grad = kernel(x)
    with mpmath.workdps(40):
        for i, v in enumerate(x):
            p = mpmath.mpf(float(v))
            s = _sigma(p)
            for k, exact in enumerate((p * s, s + p * s * _sigma(-p))):
                if exact != 0:
                    assert _ulps((value, grad)[k][i], exact, np.float32) <= HALF, (k, float(v))
