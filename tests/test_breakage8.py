"""Breakage 8: the numerics of session 8 (double-word widened sums, row-wise rules, the infinite
shift) through the public API, against mpmath (50 digits) and torch float64.

Each test failed before its fix (the fault is named in its docstring).
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

import symnet
from conftest import triton_torch


def _ulps(got: float, true) -> float:
    tv = float(true)
    assert math.isfinite(tv) and abs(tv) > 2.2250738585072014e-308
    if not math.isfinite(got):
        return math.inf
    return float(abs(mpmath.mpf(got) - true) / float(np.spacing(abs(tv))))


# exp(x) − t·x at the top of float64's range: e^x and t·x both just below 1.8e308, cancelling to
# 1e−12 of them. Before: Dekker's TwoProduct of t·x formed a_hi·b_hi, which rounded above the largest
# float64 (inf − p = inf), so the double-word value was not finite and the kernel fell back to the
# float64 body: 3.0e11 ULP at x = 709.7827128933839.
_TOP_X = np.array([709.7827128933839, 709.78, 709.7, 709.5])


def _top_points():
    with mpmath.workdps(50):
        t = np.array([float(mpmath.exp(mpmath.mpf(a)) / a * (1 + mpmath.mpf(10) ** -12)) for a in _TOP_X])
        true = [mpmath.exp(mpmath.mpf(a)) - mpmath.mpf(b) * mpmath.mpf(a) for a, b in zip(_TOP_X, t)]
    return t, true


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_exp_minus_product_near_the_largest_float64(backend):
    t, true = _top_points()
    torch = triton_torch() if backend == "triton" else None
    kernel = symnet.compile(symnet.derive("exp(x) - t*x", ["x", "t"]), backend=backend)
    names = [o.name for o in kernel.kernel.outputs]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "numpy":
            outs = kernel(x=_TOP_X, t=t)
        else:
            outs = [o.double().numpy() for o in kernel(x=torch.tensor(_TOP_X), t=torch.tensor(t))]
    f = np.asarray(outs[names.index("f")])
    worst = max(_ulps(float(g), tr) for g, tr in zip(f, true))
    assert worst <= 4.0, f"exp(x) - t*x near 1.8e308 ({backend}): {worst:.3g} ULP"
