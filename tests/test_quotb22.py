"""Session 22, h-quotb22: a constant times a scaled chain ((N/V)/V…) placed per element where the chain alone would
leave the range.

The scaled-square rule writes c·N/V² as c·((N/V)/V) and the scaled-power rule c·N^a/V^b as c·(q·q·…/V) outside
2^±60 (2^±(120/max(a, b))): the chain was formed before the constant multiplied it, so it overflowed where c < 1
and the result did not (∂y of −x/(5y²) = 0.4·x/y³ at x = 1.618e308, y = 0.9: inf for 8.877e307) and went subnormal
where c > 1 and the result did not (∂y of 8x/y = −8x/y² at x = 1e−200, y = 1e61: 2 subnormal ULP). Now both rules
select, per element, the constant on N before the first division (|N| ≥ 2⁻¹²⁶/|c| for |c| < 1, |N| ≤ 2¹²⁷/|c| for
|c| > 1: c·N normal and finite in both dtypes) or last (``rewrite._constant_placed``).

References independent of the code generator: mpmath at 1000 digits of SymPy's derivative of the formula as written
(``test_breakage21b._faults``: ≤ 4 ULP float64, ≤ 8 float32 where the truth is normal, ≤ max(torch, 1) ULP where it
is subnormal, never worse than torch), and torch.autograd of the formula as written in the same dtype.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import compiled, triton_torch
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
INF = math.inf

FORMULAS = {
    "-x/(5*y**2)": lambda t, x, y: -x / (5 * y ** 2),  # ∂y = 0.4·x/y³ (scaled-power), f = −x/(5y²) (scaled-square)
    "8*x/y": lambda t, x, y: 8 * x / y,  # ∂y = −8x/y² (scaled-square's quotient chain)
    "x/(3*y**2)": lambda t, x, y: x / (3 * y ** 2),  # c = 1/3: f and ∂y = −(2/3)·x/y³
    "7*x/y**3": lambda t, x, y: 7 * x / y ** 3,  # c = 7 > 1 on a power chain: ∂y = −21x/y⁴
}


def _points(dtype):
    """Chains past a range end with the result inside it, both ways, and ordinary points."""
    info = np.finfo(dtype)
    big, tiny = float(info.max), float(info.tiny)
    if dtype == F64:
        far = [(1.618e308, 0.9), (-1.7e308, 0.95), (1e-200, 1e61), (3e-250, 1e30), (1e-300, 2.0 ** 70),
               (1e300, 1e-3), (2.5e-310, 1e-100)]
    else:
        far = [(3.06e38, 0.9), (-3.3e38, 0.95), (1e-30, 1e19), (3e-35, 2.0 ** 62), (1e38, 1e-3), (1e-25, 1e7)]
    return far + [(big, 1.1), (tiny, 3.0), (1.5, 2.5), (-2.0, 7.0), (0.0, 1.0), (3.0, 2.0 ** 65), (5.0, 2.0 ** -61)]


def _not_within_one(faults):
    """``_faults`` less the points where ours is within 1 ULP (torch's inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(FORMULAS))
def test_numpy_constant_in_a_scaled_chain(formula, dtype):
    """f, ∂x, ∂y at 14 points a dtype, mpmath and torch.autograd: measured before this session −x/(5y²) ∂y inf at
    (1.618e308, 0.9) and (3.06e38, 0.9) float32; 8x/y ∂y 2 subnormal ULP at (1e−200, 1e61)."""
    bad = _not_within_one(_faults(formula, ["x", "y"], _points(dtype), dtype, FORMULAS[formula]))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", ["-x/(5*y**2)", "8*x/y"])
def test_triton_constant_in_a_scaled_chain(formula, dtype):
    """The same under TRITON_INTERPRET=1 (the points past a range end only)."""
    triton_torch()
    pts = _points(dtype)[:6]
    bad = _not_within_one(_faults(formula, ["x", "y"], pts, dtype, FORMULAS[formula], backend="triton"))
    assert not bad, bad


def test_the_two_failures_of_the_issue():
    """The two values the strict xfails of test_quot22 measured, exactly: ∂y of −x/(5y²) at (1.618e308, 0.9) finite
    and within 4 ULP of 8.877e307; ∂y of 8x/y at (1e−200, 1e61) −8e−322 (torch's −(8x)/y², the rounding of the truth)."""
    k = compiled("-x/(5*y**2)", "numpy", ("x", "y"))
    dy = k(x=np.array([1.618e308]), y=np.array([0.9]))[2][0]
    assert math.isfinite(dy) and abs(dy - 1.618e308 * 0.4 / 0.729) <= 4 * math.ulp(dy), dy
    k = compiled("8*x/y", "numpy", ("x", "y"))
    assert k(x=np.array([1e-200]), y=np.array([1e61]))[2][0] == -(8e-200 / 1e61) / 1e61


# --- a fractional power of c + w·x² past the square's overflow (the square-sum-power rule) ---------------------------
POWERS = {
    "x*(1+x**2)**(3/10)": lambda t, x: x * (1 + x ** 2) ** 0.3,
    "(2+3*x**2)**(-2/3)": lambda t, x: (2 + 3 * x ** 2) ** (-2 / 3),
    "x**2*(1+x**2)**(1/3)": lambda t, x: x ** 2 * (1 + x ** 2) ** (1 / 3),
}


def _power_points(dtype):
    """Past the square's overflow (float32 from 1.8e19, float64 from 1.3e154), the select's edge 2⁶⁰, ordinary."""
    far = [1e20, -3e25, 2.0 ** 60, -(2.0 ** 60) * 1.5, 1e30] if dtype == F32 else [1e160, -1e200, 1e300, 2.0 ** 60, 1e100]
    return [(x,) for x in far + [1e10, -7.5, 0.3, 0.0]]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(POWERS))
def test_numpy_power_of_a_square_sum(formula, dtype):
    """f and ∂x within 4/8 ULP of mpmath, never worse than torch (inf or NaN there: measured before, f inf at 1e20
    float32, ∂ NaN (inf/inf) from 1.8e19; float64 from 1.3e154)."""
    bad = _not_within_one(_faults(formula, ["x"], _power_points(dtype), dtype, POWERS[formula]))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_power_of_a_square_sum(dtype):
    """x·(1 + x²)^(3/10) under TRITON_INTERPRET=1 at the same points."""
    triton_torch()
    formula = "x*(1+x**2)**(3/10)"
    bad = _not_within_one(_faults(formula, ["x"], _power_points(dtype), dtype, POWERS[formula], backend="triton"))
    assert not bad, bad
