"""Triton's scaled double words at the range's top end (session 36, h-tritonpar36), as NumPy's: the tier also where the
float64 value is ±inf beside a finite double word, leaves past 2⁹⁰⁰ scaled by 2⁻⁶⁰⁰, e^x and expm1 x scaled past x = 700.
Truths: mpmath (60 digits); under TRITON_INTERPRET=1 where there is no GPU (100 points a form: the interpreter is slow)."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_edge36 import SINH_FORMS, _brought_back_points
from test_kl36 import _focal_dy, _focal_points

F64 = np.float64


def _triton(formula, points):
    """{output: float64 array} of the Triton kernel of ``formula`` at ``points`` (float64)."""
    torch = triton_torch()
    k = compiled(formula, "triton")
    out = k(**{n: torch.tensor(np.asarray(v, F64)) for n, v in points.items()})
    return {name: o.double().numpy() for name, o in zip(k.outputs, out)}


# Before: focal(x, y)'s ∂y −inf at every x from 1.7e308 (−7.4375e307 at (1.7e308, 1/2); torch exact): the float64 body
# forms (3y − 4)·(…) past the range, and Triton's scaled tier was for tiny values alone. 100 points with x within
# 10^(−17…−0.3) of the largest float64, y uniform in [0, 1] (1/2 for a fifth), and the two points of the former xfail
def test_triton_focal_dy_near_the_largest_x():
    x, y = _focal_points(100, F64, seed=3636)
    got = _triton("focal(x, y)", dict(x=x, y=y))
    dy = next(v for n, v in got.items() if n.endswith("y") and n != "y")
    worst = max((ulps(dy[i], _focal_dy(x[i], y[i]), F64), i) for i in range(len(x)))
    assert worst[0] <= 4, (worst, x[worst[1]], y[worst[1]], dy[worst[1]])


# Before: x − 3y + sinh(x) NaN at (−711, −6e307) and (711, 6e307), −inf at (−710.5, −4e307) (NumPy ≤ 0.5 ULP): sinh x
# past the range in the double words and in Triton's scaled words (e^x scaled below x = −600 only). 100 points a form
# with |x| where sinh or cosh leaves the range and 3y within 0.6–1 of it (test_edge36's points): f, ∂y exact
@pytest.mark.parametrize("formula, g", SINH_FORMS, ids=[f[0] for f in SINH_FORMS])
def test_triton_widened_sum_whose_hyperbolic_term_overflows(formula, g):
    points = _brought_back_points(g, F64, 3636 + len(formula))
    points = {n: v[:100] for n, v in points.items()}
    got = _triton(formula, points)
    f = getattr(mpmath, g)
    worst = (0.0, None)
    with mpmath.workdps(60):
        for i in range(100):
            x, y = mpmath.mpf(float(points["x"][i])), mpmath.mpf(float(points["y"][i]))
            worst = max(worst, (ulps(got["f"][i], x - 3 * y + f(x), F64), i), key=lambda r: r[0])
    assert worst[0] <= 0.5, (worst, points["x"][worst[1]], points["y"][worst[1]])
    assert (got["df_dy"] == -3).all()


# Found here (a strict xfail until h-gelu37): Triton float64 ∂x of gelu(x/y)⁻² at (1e−310, −3) and (1e−310, −1e200) was
# NaN (inf − inf) for −inf (the truth about −7e931; NumPy −inf, torch −inf): NumPy's sum of products whose terms leave the
# range with opposite signs (_dominant_infinity) has no Triton counterpart. Now the long-product rule takes the sum as
# −(y/x³)·f64(2y/Φ² + √2·x·e^(−v²/2)/(√π·Φ³)), −inf there in both
def test_triton_gelu_reciprocal_square_dx_where_its_terms_overflow():
    torch = triton_torch()
    k = compiled("gelu(x/y)**-2", "triton")
    got = dict(zip(k.outputs, k(torch.tensor([1e-310, 1e-310], dtype=torch.float64),
                                torch.tensor([-3.0, -1e200], dtype=torch.float64))))
    assert (got["df_dx"].numpy() == -np.inf).all(), got["df_dx"]
# Found here: NumPy's sum of products whose terms leave the range with opposite signs (_dominant_infinity,
# ConditionalPrinting._sized_terms, h-gelu36) had no Triton counterpart: ∂x of gelu(x/y)⁻² at (1e−310, −3) and
# (1e−310, −1e200) NaN for −inf (a strict xfail here until session 37; fixed by h-triton37, tests/test_triton37.py)
