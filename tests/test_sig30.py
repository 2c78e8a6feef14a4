"""Session 30 (h-sig30): the training kernels' float32 σ (``_logistic`` of kernels/numpy/dense.py and rnn_step.py).

``_logistic`` was 1/(1 + e^−x) with NumPy's float32 exp (its SIMD approximation, up to 2.35 ULP off): 3.37 ULP over
2·10⁶ random points, 3.37 at −16.6497 where torch.sigmoid's is 0.63 (tests/test_sig28.py). Now the float32 σ is
computed in float64 (−x clamped to 709, NumPy's float64 exp, within 1 ULP of float64) and rounded once into the float32
result by the division's ``out=``: within 0.5 + 2⁻²⁸ ULP of the truth, so no farther from it than torch's float32 σ
but within 2⁻²⁷ ULP where the truth lies that close to a rounding boundary. Session 28's float64 form cost 1.2–1.5× the
training steps; this one, with fewer passes, is in benchmarks/results/sig30-2026-12-05.md.

References: mpmath at 50 digits of 1/(1 + e^−x); torch.sigmoid in float32 beside.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from symnet.kernels import load_kernel

try:
    import torch
except ImportError:  # torch beside is optional: the mpmath bound is the test
    torch = None

BOUND = 0.5 + 2.0**-20


def _ulps(got: float, exact, dtype=np.float32) -> float:
    """|got − exact| in ULPs of the exact value rounded to ``dtype`` (the least subnormal's spacing below it)."""
    want = np.asarray(float(exact), dtype)
    spacing = max(float(np.spacing(np.abs(want))), float(np.finfo(dtype).smallest_subnormal))
    return float(abs(mpmath.mpf(float(got)) - exact) / spacing)


def _sigma(x):
    return 1 / (1 + mpmath.exp(-x))


def _points(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(0, 3, n // 2), rng.uniform(-30, 30, n // 4), rng.uniform(-110, 110, n // 4),
                        [-16.649730682373047, -1.97165846824646, -4.139065742492676, 0.0, 1e-8, -1e-8, 17.0, -17.0,
                         -87.3, -100.0, -103.2, 103.9, -103.9, 104.0, -104.0]])
    return x.astype(np.float32)


def _dense(x: np.ndarray) -> np.ndarray:
    """σ(x) through dense_sigmoid (W = 1, b = 0: the pre-activation is x itself, exactly)."""
    a = x.reshape(-1, 1)
    return load_kernel("dense").dense_sigmoid(a, np.ones((1, 1), a.dtype), np.zeros(1, a.dtype))[:, 0]


def _rnn(x: np.ndarray) -> np.ndarray:
    """σ(x) through rnn_step (one input, no hidden state: h = σ(x·1))."""
    xs = x.reshape(-1, 1)
    h = np.zeros((len(x), 1), x.dtype)
    return load_kernel("rnn_step").rnn_step(xs, h, np.ones((1, 1), x.dtype), np.zeros((1, 1), x.dtype))[:, 0]


@pytest.mark.parametrize("kernel", [_dense, _rnn], ids=["dense", "rnn_step"])
def test_training_logistic_float32_rounded_once(kernel):
    """Within 0.5 + 2⁻²⁰ ULP of mpmath at 2,000 random points and the edges (before: 3.37 ULP worst over 2·10⁶
    points, 3.37 at −16.6497), and no farther from it than torch.sigmoid (but 2⁻²⁰ ULP) at every one."""
    x = _points(2000, 30)
    got = kernel(x)
    assert got.dtype == np.float32
    theirs = torch.sigmoid(torch.from_numpy(x)).numpy() if torch is not None else None
    worst = 0.0
    with mpmath.workdps(50):
        for i, v in enumerate(x):
            exact = _sigma(mpmath.mpf(float(v)))
            err = _ulps(got[i], exact)
            worst = max(worst, err)
            assert err <= BOUND, f"σ({float(v)!r}) = {got[i]!r}: {err:.3f} ULP"
            if theirs is not None:
                assert err <= _ulps(theirs[i], exact) + 2.0**-20, f"σ({float(v)!r}): {err:.3f} ULP, torch more exact"
    assert worst > 0.45  # (the points reach the rounding's own half ULP)


def test_training_logistic_float32_edges():
    """±inf give 0 and 1, NaN stays NaN, the largest floats the limits, σ(−100) the subnormal 3.78e−44."""
    x = np.array([np.inf, -np.inf, np.nan, 3.4e38, -3.4e38, -100.0, 0.0, -0.0], np.float32)
    got = _dense(x)
    np.testing.assert_array_equal(got[[0, 1, 3, 4, 6, 7]], np.float32([1, 0, 1, 0, 0.5, 0.5]))
    assert np.isnan(got[2])
    assert got[5] == np.float32(1 / (1 + np.exp(100.0)))


def test_training_logistic_float64_unchanged():
    """float64 keeps 1/(1 + e^−x) bit for bit (NumPy's float64 exp: not this change)."""
    x = np.random.default_rng(3).normal(0, 5, 500)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(_dense(x), 1.0 / (1.0 + np.exp(-x)))
