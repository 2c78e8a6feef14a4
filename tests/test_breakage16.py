"""Session 16's breakage tests: hostile inputs against what was built today, each fault found a test that failed
before its fix (or a strict xfail naming the fault). References are independent of symnet: mpmath at 50 digits,
torch in float64, written here per formula."""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

import symnet
from symnet.codegen.backends.numpy import elementwise

mpmath.mp.dps = 50


def _ulps(got, want, dtype):
    """|got − want| in steps of ``dtype`` at ``want`` (the smallest subnormal at least)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    spacing = np.maximum(np.spacing(np.abs(want.astype(dtype))).astype(np.float64),
                         float(np.finfo(dtype).smallest_subnormal))
    return np.abs(got - want) / spacing


def _quiet(kernel, **arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kernel(**arrays)


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


# ---------------------------------------------------------------------------------------------------------------
# (2) the NumPy emitter's far branches. Fault: an output whose select has far branches wrote its last branch through
# printer.assign_into (np.multiply(−y/s², E − …, out=)), the select prints it −y·(E − …)/s²: other roundings, so not
# the bits of the select computed everywhere, and 1.9 ULP off in float32 at x = 1, y = 1e4 (∂f/∂x −1966.1191, true
# −1966.11933; the select's −1966.1193).

SOFTPLUS_FAR = "where(x > 1000, softplus(x) - softplus(-x), y*sigmoid(-x))"


def test_far_output_last_branch_is_the_select_s_printing():
    d = symnet.derive(SOFTPLUS_FAR)
    now = symnet.compile(d, "numpy")
    assert "_far = np.nonzero(" in now.source
    x = np.float32(1.0)
    ys = np.array([1e4, -1e4, 1000.0, -1000.0, 100.0, 88.7], np.float32)
    _, df_dx, _ = _quiet(now, x=np.full_like(ys, x), y=ys)
    want = [-float(mpmath.mpf(float(y)) * _sig(mpmath.mpf(1)) * _sig(mpmath.mpf(-1))) for y in ys]
    assert float(_ulps(df_dx, want, np.float32).max()) <= 1, (df_dx, want)
    kept = elementwise.FAR
    try:
        elementwise.FAR = math.inf
        everywhere = symnet.compile(d, "numpy", name="everywhere_b16")
    finally:
        elementwise.FAR = kept
    for dtype in (np.float32, np.float64):
        xs = np.array([1.0, 2000.0, -5.0, np.inf, 0.0, 1e-30], dtype)
        for y in ys.astype(dtype):
            for g, w in zip(_quiet(now, x=xs, y=np.full_like(xs, y)), _quiet(everywhere, x=xs, y=np.full_like(xs, y))):
                assert np.array_equal(g, w, equal_nan=True), (dtype, y, g, w)
