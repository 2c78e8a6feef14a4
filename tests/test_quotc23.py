"""Session 23, h-quotc23: a constant between the two divisions of the scaled-square rule's chain, and a constant
times the product-order rule's product of three, placed per element.

∂y of c·x/y is −c·x/y², which the scaled-square rule writes c·((x/y)/y) outside |y| ∈ [2⁻⁶⁰, 2⁶⁰]. Session 22 put
the constant first (on x) or last per element by |x| alone; both leave the normal range where the result does not
(float64, measured by the lead before this session):
- c = 1024 at (x, y) = (1e300, 1.797e308): (x/y)/y is subnormal before 1024 scales it back: 432 ULP (torch exact);
- c = 1e−20 at (1e−300, 2.2e−308): (x/y)/y overflows: −inf for −2.07e295 (torch finite);
- c = 1e20 at (1e300, 1.797e308): 3.1e8 ULP (torch inf).
Now the printers emit ``_constant_quotients(x, y, c, q)``: ((x/y)·c)/y, the constant between the divisions, where
x/y and (x/y)·c are normal or 0, else the constant first (x/y out of range) or last ((x/y)·c out of range).

x·y·z/3 was (1/3)·_ordered_product(x, y, z): inf at (0.5, 1.797e308, 3) (truth 8.99e307; torch inf too). Now
``_constant_product``: the constant last, or on the factor of middle magnitude where the product of three leaves
the range and the whole does not.

References independent of the code generator (``test_breakage21b._faults``): mpmath at 1000 digits of SymPy's
derivative of the formula as written (≤ 4 ULP float64, ≤ 8 float32 where the truth is normal, its rounding within
1 ULP where it is subnormal), and torch.autograd of the formula as written in the same dtype (never worse).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import compiled, triton_torch
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
BIG64, TINY64 = float(np.finfo(F64).max), float(np.finfo(F64).tiny)

# c·x/y as a user writes it, and torch's formula as written (c rounded to the dtype, as a user's literal is)
CONSTANTS = {
    "x/(10**20*y)": lambda t, x, y: x / (1e20 * y),  # c = 1e−20
    "x/(3*y)": lambda t, x, y: x / (3 * y),  # c = 1/3: a quotient by 3, exact where the product is
    "3*x/y": lambda t, x, y: 3 * x / y,
    "1024*x/y": lambda t, x, y: 1024 * x / y,
    "10**20*x/y": lambda t, x, y: 1e20 * x / y,
}
# c·x/y²: f is the chain itself (shared with ∂y by CSE before this session: ((x/y)/y)·c, 276 ULP in float32 at
# c = 1024, (1.5, 3e20)), ∂x = c/y² ((1/y)/y: y⁻²·1e20 was 213 ULP in float32 at y = 3e20; torch 1.1e7), ∂y the
# scaled-power rule's ((x/y)/y)/y
SQUARES = {
    "x/(10**20*y**2)": lambda t, x, y: x / (1e20 * y ** 2),
    "x/(3*y**2)": lambda t, x, y: x / (3 * y ** 2),
    "1024*x/y**2": lambda t, x, y: 1024 * x / y ** 2,
    "10**20*x/y**2": lambda t, x, y: 1e20 * x / y ** 2,
}

# the scaled-power rule's chains and a constant times CSE's x/y: ∂x of c·x²/y is 2c·(x/y), the temporary for x/y shared
# with f, the constant last: 246 ULP at c = 1e20 (1e−300, 3e10), inf at c = 1e−20 (1e300, 1e−10), torch exact at
# both (float64; float32 4.8e6 ULP at (1e−38, 3e20)); c·x/y³'s ∂y 2 and 3 faults in float32 (c = 1e20, 1e−20)
POWERS = {
    "10**20*x**2/y": lambda t, x, y: 1e20 * x ** 2 / y,
    "x**2/(10**20*y)": lambda t, x, y: x ** 2 / (1e20 * y),
    "1024*x/y**3": lambda t, x, y: 1024 * x / y ** 3,
    "x/(10**20*y**3)": lambda t, x, y: x / (1e20 * y ** 3),
    "10**20*x/y**3": lambda t, x, y: 1e20 * x / y ** 3,
}


def _grid(dtype):
    """x and y near both ends of the dtype's normal range, and ordinary values: every pair."""
    if dtype == F64:
        xs = [1e300, BIG64, 1e-300, TINY64, 1.5, -7e-200]
        ys = [1.797e308, 1e300, TINY64, 1e-300, 1e-10, 3e10, 1e-200]
    else:
        xs = [1e38, 3.4e38, 1e-38, 1.2e-38, 1.5, -7e-30]
        ys = [3.4e38, 1e38, 1.2e-38, 1e-37, 1e-20, 3e20]
    return list(itertools.product(xs, ys))


def _kept(faults):
    """``_faults`` less the points within 1 ULP of the truth (torch's ±inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(CONSTANTS))
def test_numpy_constant_times_a_quotient_at_the_range_ends(formula, dtype):
    """f, ∂x, ∂y of c·x/y at 42 (float64) / 36 (float32) points, c ∈ {1e−20, 1/3, 3, 1024, 1e20}. Measured before
    (float64): ∂y 432 ULP at c = 1024 (1e300, 1.797e308), −inf at c = 1e−20 (1e−300, 2.2e−308), 3.1e8 ULP at
    c = 1e20 (1e300, 1.797e308)."""
    bad = _kept(_faults(formula, ["x", "y"], _grid(dtype), dtype, CONSTANTS[formula]))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(SQUARES))
def test_numpy_constant_times_a_quotient_by_a_square_at_the_range_ends(formula, dtype):
    """f, ∂x, ∂y of c·x/y² on the same grid. Measured before: f −inf at c = 1e−20 (1e−300, 2.2e−308) and 3.1e8 ULP
    at c = 1e20 (1e300, 1.797e308) in float64; ∂x 213 ULP (c = 1e20) and inf (c = 1e−20, y = 1e−20) in float32."""
    bad = _kept(_faults(formula, ["x", "y"], _grid(dtype), dtype, SQUARES[formula]))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(POWERS))
def test_numpy_constant_times_powers_and_shared_quotients(formula, dtype):
    """f, ∂x, ∂y of c·x²/y and c·x/y³ on the same grid (measured before: in the comment above POWERS)."""
    bad = _kept(_faults(formula, ["x", "y"], _grid(dtype), dtype, POWERS[formula]))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", ["x/(10**20*y)", "1024*x/y", "10**20*x/y", "x/(3*y**2)", "10**20*x/y**2",
                                     "x**2/(10**20*y)", "10**20*x/y**3"])
def test_triton_constant_times_a_quotient_at_the_range_ends(formula, dtype):
    """The same under TRITON_INTERPRET=1 (seven of the formulas; every point of the grid)."""
    triton_torch()
    bad = _kept(_faults(formula, ["x", "y"], _grid(dtype), dtype, {**CONSTANTS, **SQUARES, **POWERS}[formula], backend="triton"))
    assert not bad, bad


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_the_three_values_of_the_issue(backend):
    """The lead's three measurements, exactly: ∂y of c·x/y within 1 ULP of mpmath's −c·x/y² (torch: exact, finite
    5.1e10 ULP off, inf)."""
    if backend == "triton":
        triton_torch()
    for formula, x, y in [("1024*x/y", 1e300, 1.797e308), ("x/(10**20*y)", 1e-300, 2.2e-308),
                          ("10**20*x/y", 1e300, 1.797e308)]:
        bad = [f for f in _faults(formula, ["x", "y"], [(x, y)], F64, CONSTANTS[formula], backend=backend)
               if f[0] == 2 or not f[4] <= 1.0]
        assert not bad, (formula, bad)


def test_the_constant_between_the_divisions_is_printed():
    """The NumPy and Triton kernels of 1024·x/y call ``_constant_quotients`` for ∂y's scaled chain (the generated
    text; the values are the tests above). Session 24: the numerator as two factors, None where it has one."""
    assert "_constant_quotients(x, None, y, 1024.0, 1)" in compiled("1024*x/y", "numpy", ("x", "y")).source
    assert "_constant_quotients(x, None, y, 1, 3)" in compiled("x/(3*y)", "numpy", ("x", "y")).source


# --- a constant times a product of three (the product-order rule) -----------------------------------------------------
THREE = [(0.5, BIG64, 3.0), (BIG64, 0.5, -3.0), (3.0, 1.2e308, 0.9), (1e-300, 1e-10, 3.0), (2.0, 3.0, 5.0),
         (1e200, 1e200, 1e-300), (-1e-200, 1e-200, 1e200)]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("formula", ["x*y*z/3", "1024*x*y*z", "x*y*z/10**20"])
def test_a_constant_times_a_product_of_three_at_the_largest_float(formula, backend):
    """f and the gradient of k·x·y·z at points where the product of three leaves the range and the whole does not.
    Measured before: x·y·z/3 at (0.5, 1.797e308, 3) inf (truth 8.99e307; torch inf); test_breakage22b's strict
    xfail."""
    if backend == "triton":
        triton_torch()
    fn = {"x*y*z/3": lambda t, x, y, z: x * y * z / 3, "1024*x*y*z": lambda t, x, y, z: 1024 * x * y * z,
          "x*y*z/10**20": lambda t, x, y, z: x * y * z / 1e20}[formula]
    bad = _kept(_faults(formula, ["x", "y", "z"], THREE, F64, fn, backend=backend))
    assert not bad, bad


def test_a_third_of_a_product_of_three_is_finite():
    """x·y·z/3 at (0.5, 1.797e308, 3): 8.99e307 within 1 ULP (0.5·1.797e308 exact, times 3/3 = 1 exact)."""
    k = compiled("x*y*z/3", "numpy", ("x", "y", "z"))
    with np.errstate(all="ignore"):  # a 1-element call: the select's untaken branch overflows
        f = k(x=np.array([0.5]), y=np.array([BIG64]), z=np.array([3.0]))[0][0]
    assert math.isfinite(f) and abs(f - BIG64 / 2) <= math.ulp(f), f
