"""Session 35 (h-triton35): the Triton printer's strict xfails of issue 16, fixed where NumPy's printer had a fallback
Triton's lacked. Under TRITON_INTERPRET=1 where there is no GPU (kept small: each formula compiled once).

- the product by exponents taken again (``_taken_far``, NumPy's ``_taken_again(…, underflowed=True)``): ∂x of
  0.001/(x·y), −1/(1000·x²·y), in float32 at (−3e38, −1.4e−45) was 0 for 7.93e−36 (x² = inf; torch 1.57 ULP).
"""
from __future__ import annotations

import mpmath
import pytest

from test_hyp32 import BOUND, F32, F64, _sixty_digits, _worst  # noqa: F401  (its machinery, fixture too)
from test_search34 import _QUOTIENTS, _far_points


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("formula, const, px, py", _QUOTIENTS, ids=[q[0] for q in _QUOTIENTS])
def test_triton_quotient_by_exponents_where_the_product_underflowed(formula, const, px, py, dtype):
    # before: 0 (x² or y² overflowed) at most of these points; now ≤ 2 ULP over 120 points of each form and dtype, the
    # failing point among them (as the NumPy kernel's, test_search34)
    xs, ys = _far_points(120, dtype, 3503)
    c = mpmath.mpf(const)

    def truth(x, y):
        f = c / (x ** px * y ** py)
        return [f, -px * f / x, -py * f / y]

    worst = _worst(formula, dtype, xs, ys, truth, backend="triton")
    assert max(w[0] for w in worst) <= BOUND[dtype], worst


def test_triton_prints_the_quotient_taken_again_by_exponents():
    """The printed ∂x: the quotient as before, taken again by exponents in the helper where it came out 0 or not finite
    or its x² is not normal (a block with such an element only); the launcher halves the block for it."""
    from test_hyp32 import _kernel

    source = _kernel("0.001/((x) * (y))", "triton").source
    assert ("_taken_far(-(1.0/((x * x)*y))/1000.0, _not_normal((x * x)), tl.full([], -0.001, tl.float64), 0, x, -2, "
            "y, -1, 1.0, 0, 1.0, 0, x.dtype, True)") in source
    assert "block = BLOCK // 4 if f64 else BLOCK // 2" in source
