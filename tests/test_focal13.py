"""Issue 16, session 13: the focal loss with γ an input at the extremes, against mpmath (the written formula and its
derivatives at as many digits as it takes: symnet.verify's reference, independent of the rewritten form).

* ∂γ at γ = 0, t = 1, z = 709 was 154 ULP in float64 (0.86 before the rounded-power rule): the double-word
  softplus(−709) = log1p(e^−709) took a Newton step whose e^y − 1 of a subnormal y lost bits (56 subnormal steps
  off); _dw_log1p now returns d − d²/2 below |d| = 2⁻¹⁰⁰.
* ∂γ was NaN at t = 1, z = 930 (and t = 0, z = −930): CE·(1 − p_t)^γ·log(1 − p_t) with 1 − p_t = σ(−930) = 0 is
  0·(−∞); the mixture-endpoint rule takes log(1 − p_t) as −softplus(±z) at t ∈ {0, 1}.
"""
from __future__ import annotations

import numpy as np
import pytest

from test_elem12 import _focal_errors

# (γ, t, z): the subnormal CE (∂γ normal: −2.2e−306 at z = 709)
SUBNORMAL_CE = [(0.0, 1.0, 709.0), (0.0, 1.0, 708.0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gamma_gradient_where_the_cross_entropy_is_subnormal(dtype):
    """Before: ∂γ 154 and 57 ULP in float64; after 0.86 and 0.53."""
    worst = _focal_errors(SUBNORMAL_CE, dtype)
    assert max(worst) <= (4 if dtype == np.float64 else 8), worst


def test_focal_extremes_triton():
    worst = _focal_errors(SUBNORMAL_CE[:1], np.float64, "triton")
    assert max(worst) <= 4, worst
