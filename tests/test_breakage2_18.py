"""Session 18, h-break2_18: attacks on the day's new stability rules (rounded-log-argument, scaled-erfc,
quotient-square, rational-function, mixture-power, exp-minus-limit, the double-word block).

References are independent of symnet's code generator: mpmath of the formula as written, at 2000 digits
(a float64 product x·y of −1 + 2⁻⁵⁴·… needs ~1000 bits to leave −1: 50 digits would round it to −1 too).
Bounds: 4 ULP float64, 8 ULP float32.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import sympy as sp

from conftest import compiled, triton_torch

F32, F64 = np.float32, np.float64
x, y = sp.symbols("x y", real=True)


def _ulps(got: float, want, dtype) -> float:
    """|got − want| in ULPs of ``dtype`` at ``want`` (the smallest subnormal below the normal range); 0 where both
    are NaN."""
    if mpmath.isnan(want):
        return 0.0 if np.isnan(got) else np.inf
    if not np.isfinite(got):
        return np.inf
    info = np.finfo(dtype)
    unit = max(abs(want) * mpmath.mpf(float(info.eps)), mpmath.mpf(float(info.smallest_subnormal)))
    return float(abs(mpmath.mpf(got) - want) / unit)


def _log1p_product(a: float, b: float):
    """log(1 + a·b) of the floats a, b, exactly multiplied (mpmath, 2000 digits); NaN below −1."""
    with mpmath.workdps(2000):
        v = 1 + mpmath.mpf(a) * mpmath.mpf(b)
        return mpmath.log(v) if v > 0 else mpmath.nan


# float64 products that round to exactly −1 where the true product does not: −3·fl(1/3) = −1 + 2⁻⁵⁴·… (true
# log1p −37.43, float64 log1p −inf as torch's), −10⁻²⁰⁰·10²⁰⁰ (−37.57), −0.1·10 (true product −1 − 5.6e−17 < −1:
# NaN, not −inf), and one that rounds to −1 + 2⁻⁵³ (a check that the fix leaves it)
ROOT_PRODUCTS = [(-3.0, 1 / 3), (-1e-200, 1e200), (-0.1, 10.0), (-1.0, 1 - 2 ** -53)]


def test_log1p_of_a_product_rounding_to_minus_one_numpy():
    """log1p(x·y), NumPy float64, where fl(x·y) = −1: was −inf at the first three points (the widened function
    took the plain −inf over the double-word log1p's finite value; −0.1·10: −inf where the true value is NaN)."""
    kernel = compiled(sp.log(1 + x * y), "numpy", (x, y))
    a = np.array([p[0] for p in ROOT_PRODUCTS], F64)
    b = np.array([p[1] for p in ROOT_PRODUCTS], F64)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = kernel(x=a, y=b)[0]
    bad = [(p, float(value[i]), mpmath.nstr(_log1p_product(*p), 17)) for i, p in enumerate(ROOT_PRODUCTS)
           if _ulps(float(value[i]), _log1p_product(*p), F64) > 4]
    assert not bad, bad


def test_log1p_of_a_product_rounding_to_minus_one_triton():
    """The same in the Triton kernel (TRITON_INTERPRET=1 without a GPU), float64."""
    torch = triton_torch()
    kernel = compiled(sp.log(1 + x * y), "triton", (x, y))
    a = torch.tensor([p[0] for p in ROOT_PRODUCTS], dtype=torch.float64)
    b = torch.tensor([p[1] for p in ROOT_PRODUCTS], dtype=torch.float64)
    value = kernel(x=a, y=b)[0]
    bad = [(p, float(value[i]), mpmath.nstr(_log1p_product(*p), 17)) for i, p in enumerate(ROOT_PRODUCTS)
           if _ulps(float(value[i]), _log1p_product(*p), F64) > 4]
    assert not bad, bad
