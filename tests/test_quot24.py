"""Session 24, h-quot24: constants that are no normal float32 around products and quotients, in float32 kernels.

A float32 kernel held such a constant in float32: 10³⁰⁰ as inf, 10⁻⁴⁰ as a subnormal with 17 bits. ``_constant_times``
(NumPy) computed a float32 block with such a constant in float64 and rounded once (session 23), but
- a constant times one factor (1e−40·x, 10⁴⁰/y) did not reach it: 1e−40·x at x = 1e38 was 58 ULP off in NumPy (torch
  the same) and 0 for 0.01 in Triton;
- the scaled-square rule's far branch −(x·y/z)/z/10³⁰⁰ (|z| outside 2^±60) kept the constant last: NaN at
  x = y = 1e38, z = 1e−38 (inf/inf; torch −0), and in float64 a constant beyond 2^±100 stayed last too (∂z of
  1e−300·x·y/z at (1e−10, 1e−10, 1e−170) −inf for −1e20);
- Triton's ``_constant_times`` held the constant in float32 (1e−300·x·y/z: f and every derivative NaN at
  (1e38, 1e38, 1e−38), torch 0).
Now a product with such a constant goes to ``_constant_times``/``_constant_quotients`` (any normal float64 constant),
which a float32 block computes in float64 (x·y too) and rounds once (Triton: ``_constant_times_wide``,
``_constant_quotients_wide``). (Since session 25 every such constant, being outside 2^±100, goes to ``_constant_far``
instead; session 26 removed those float32 branches and wide helpers, which nothing reached.)

References independent of the code generator (``test_breakage21b._faults``): mpmath at 1000 digits of SymPy's
derivative of the formula as written (≤ 4 ULP float64, ≤ 8 float32 where the truth is normal, its rounding within
1 ULP where it is subnormal), and torch.autograd of the formula as written in the same dtype (never worse).
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import triton_torch
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32

CASES = {
    # (formula, torch's formula, dtype, points)
    "1e-300*x*y/z f32": ("1e-300*x*y/z", lambda t, x, y, z: 1e-300 * x * y / z, F32,
                         [(1e38, 1e38, 1e-38), (1e38, 1e38, 1e-20), (3e38, -3e38, 1e-30), (1e-30, 1e-30, 1e30),
                          (2.0, 3.0, 5.0)]),
    "1e-40*x*y/z f32": ("1e-40*x*y/z", lambda t, x, y, z: 1e-40 * x * y / z, F32,
                        [(1e10, 1e10, 1e-25), (-1e10, 3e10, 2e-25), (1e20, 1e20, 1e10), (2.0, 3.0, 5.0)]),
    "1e60*x*y/z f32": ("1e60*x*y/z", lambda t, x, y, z: 1e60 * x * y / z, F32,
                       [(1e-20, 1e-20, 1e20), (-3e-20, 1e-20, 3e19), (1e-30, 1e-30, 1.0), (2.0, 3.0, 5.0)]),
    "1e-300*x*y/z f64": ("1e-300*x*y/z", lambda t, x, y, z: 1e-300 * x * y / z, F64,
                         [(1e-10, 1e-10, 1e-170), (-1e-10, 1e-10, 3e-170), (2.0, 3.0, 5.0)]),
    "1e300*x*y/z f64": ("1e300*x*y/z", lambda t, x, y, z: 1e300 * x * y / z, F64,
                        [(1e10, 1e10, 1e170), (-1e10, 3e10, 1e170), (2.0, 3.0, 5.0e-300)]),
    "1e-40*x f32": ("1e-40*x", lambda t, x: 1e-40 * x, F32, [(1e38,), (-2.5e37,), (3e30,), (3.0,)]),
    "1e-40/y f32": ("1e-40/y", lambda t, y: 1e-40 / y, F32, [(1e-5,), (-3e-20,), (3.0,)]),
    "1e40/y f32": ("1e40/y", lambda t, y: 1e40 / y, F32, [(1e30,), (-3e38,), (1e20,)]),
}


def _kept(faults):
    """``_faults`` less the points within 1 ULP of the truth (torch's ±inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_constant_no_float32_holds(case, backend):
    """Every output within bound of mpmath and never worse than torch. Before (measured 2026-12-03): NumPy float32
    ∂z of 1e−300·x·y/z NaN at (1e38, 1e38, 1e−38) (torch −0), 1e−40·x 58 ULP at 1e38; Triton float32 f, ∂x, ∂y, ∂z
    of 1e−300·x·y/z NaN there, 1e−40·x 1.07e7 ULP (0 for 0.01); float64 ∂z of 1e−300·x·y/z −inf at
    (1e−10, 1e−10, 1e−170) for −1e20."""
    formula, fn, dtype, points = CASES[case]
    if backend == "triton":
        triton_torch()
    names = [n for n in ("x", "y", "z") if n in formula]
    bad = _kept(_faults(formula, names, points, dtype, fn, backend=backend))
    assert not bad, bad


# --- one walk for CSE's products and quotients of inputs under a constant (symnet.codegen.ir) -----------------------
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_a_shared_quotient_of_three_inputs_times_a_constant(backend):
    """∂z of 10²⁰·x·y·log(x·y/z) is −10²⁰·x·y/z, and x·y/z is CSE's temporary (the log's argument too): neither walk of
    session 23 took a quotient of three inputs (products of inputs, or x/y), so the constant came last on a subnormal
    x·y/z. Before (float64, NumPy): 3.9e12 ULP at (1e−300, 1e−10, 3e10), 2.6e12 at (1e−300, 3e−15, 7e5) (torch −0:
    8.0e15, 5.2e15); now the one walk puts any product or quotient of inputs back under its constant."""
    if backend == "triton":
        triton_torch()
    bad = _kept(_faults("1e20*x*y*log(x*y/z)", ["x", "y", "z"], [(1e-300, 1e-10, 3e10), (1e-300, 3e-15, 7e5),
                                                                    (2.0, 3.0, 5.0)], F64,
                        lambda t, x, y, z: 1e20 * x * y * t.log(x * y / z), backend=backend))
    assert not bad, bad


def test_the_walk_keeps_a_product_for_its_other_uses():
    """σ(x·y)·3·x·y: x·y is put back under the constant 3 (``_constant_times`` gets the factors) and kept as a
    temporary where σ and its branches use it (session 23 put a product back everywhere: x·y computed 8 times)."""
    from conftest import compiled
    src = compiled("sigmoid(x*y)*3*x*y", "numpy", ("x", "y")).source
    body = src[src.index("for _i"):]
    # the product's own factors put back under the constant, σ's select reading the temporary (session 36's widened
    # ∂ left σ(x·y)'s select to f alone, and the walk wrote x·y inside it too: tidy37)
    f = next(line for line in body.splitlines() if line.strip().startswith("f[...] ="))
    assert "x_times_y = x*y" in body and "_constant_times(" in f and "3.0" in f, body
    assert "_sigmoid(x_times_y" in f and "(x_times_y >= -2)" in f and "(x*y >= -2)" not in f, f
    assert "np.exp(-(np.abs(x_times_y)))" in body and "np.abs(x*y)" not in body, body  # σ's e^−|x·y| reads it too
