"""Issue 16, session 13: the focal loss with γ an input at the extremes, against mpmath (the written formula and its
derivatives at as many digits as it takes: symnet.verify's reference, independent of the rewritten form).

* ∂γ at γ = 0, t = 1, z = 709 was 154 ULP in float64 (0.86 before the rounded-power rule): the double-word
  softplus(−709) = log1p(e^−709) took a Newton step whose e^y − 1 of a subnormal y lost bits (56 subnormal steps
  off); _dw_log1p now returns d − d²/2 below |d| = 2⁻¹⁰⁰.
* ∂γ was NaN at t = 1, z = 930 (and t = 0, z = −930): CE·(1 − p_t)^γ·log(1 − p_t) with 1 − p_t = σ(−930) = 0 is
  0·(−∞); the mixture-log rule takes log(1 − p_t) as −softplus(±z) at t = 1 and t = 0 (a select of the log
  alone: the whole gradient in branches of its own cost 1.3–2× on normal data, benchmarks/focal13.py).

Left (measured, not fixed): at t = 1, z > 745 and 0 < γ < 1, ∂t and ∂z are NaN where the true values are normal
(−2.6e−200 at γ = 1/2, z = 930: CE·σ(−z)^(γ − 1) is 0·∞; torch NaN too).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symnet.functions import sigmoid
from test_elem12 import _focal_errors

_g, _t, _z = sp.symbols("gamma t z", real=True)
_MIXTURE = _t * sigmoid(-_z) + (1 - _t) * sigmoid(_z)  # the focal loss's 1 − p_t
# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    # log(1 − p_t) at t = 1, z = 930: log 0 = −∞ before, true −930
    ("mixture-log", sp.log(_MIXTURE), (_t, _z), (0.0, 1.0), (1.0, 930.0), np.float64),
]

# (γ, t, z): the subnormal CE of the first two (∂γ normal: −2.2e−306 at z = 709); 1 − p_t underflowing in the others
SUBNORMAL_CE = [(0.0, 1.0, 709.0), (0.0, 1.0, 708.0)]
UNDERFLOWED_BASE = [(2.0, 1.0, 930.0), (0.0, 1.0, 930.0), (2.0, 0.0, -930.0), (1.0, 1.0, 800.0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gamma_gradient_where_the_cross_entropy_is_subnormal(dtype):
    """Before: ∂γ 154 and 57 ULP in float64; after 0.86 and 0.53."""
    worst = _focal_errors(SUBNORMAL_CE, dtype)
    assert max(worst) <= (4 if dtype == np.float64 else 8), worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_nan_where_one_minus_p_t_underflows(dtype):
    """Before: ∂γ NaN at each point (float32 too: its widened products run in float64); after every output is
    the true value rounded (0 or −0 where it underflows, −232.5 for ∂t at γ = 0)."""
    worst = _focal_errors(UNDERFLOWED_BASE, dtype)
    assert max(worst) <= (4 if dtype == np.float64 else 8), worst


def test_the_mixture_log_is_a_select_at_t_zero_and_one():
    from symnet.codegen.rewrite import MIXTURE_LOG, stabilise, softplus

    stable, fired = stabilise(sp.log(_MIXTURE))
    assert MIXTURE_LOG in fired
    assert stable.args[0] == (-softplus(_z), sp.Eq(_t, 1)) and stable.args[1] == (-softplus(-_z), sp.Eq(_t, 0))
    # coefficients that do not sum to 1 are not a 1 − p_t
    _, fired = stabilise(sp.log(_t * sigmoid(-_z) + _t * sigmoid(_z)))
    assert MIXTURE_LOG not in fired


def test_focal_extremes_triton():
    worst = _focal_errors(SUBNORMAL_CE[:1] + UNDERFLOWED_BASE[:1], np.float64, "triton")
    assert max(worst) <= 4, worst
