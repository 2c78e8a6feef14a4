"""Session 29's second hostile tester (h-hostile29b): the rules this session added (root-difference, nested-sum-factor,
softmax-mean, gap-sum, infinite-shift in widened bodies, log-erfcx-left below 3/8, log-linear-root's select,
exp-product-limit's 0 branch, series-leading-power's g′(0), affine-root's dyadic b·n) at the inputs that break such
rules: ±0, ±inf, NaN, subnormals, the largest float, the rules' own thresholds.

References: mpmath at 60 digits (tests/test_soft29.py's helpers: SymPy's derivative of the formula as written) and
torch's autograd of the written formula in float64. Each test failed before its fix (the number is in its comment).
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from test_soft29 import F32, F64, _kernel, _mp_truth, _outputs, _torch, _ulps

BOUND = {F64: 4.0, F32: 8.0}


# ------------------------------------------------------------------ root-difference at 0 and below

# The rule's identity is checked for s = √u, t = √v positive; at u = v = 0 its form (v − u)/(√v + √u) is 0/0. Before:
# √u − √v at (0, 0) was NaN (torch 0, the written 0 − 0), in both dtypes and both backends.
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_root_difference_at_zero_is_the_written_zero(dtype):
    got = _outputs("sqrt(u) - sqrt(v)", dtype, {"u": 0.0, "v": 0.0})
    assert got["f"] == 0.0 and got["df_du"] == math.inf and got["df_dv"] == -math.inf, got
    theirs = _torch("sqrt(u) - sqrt(v)", {"u": 0.0, "v": 0.0})
    assert theirs == {"f": 0.0, "df_du": math.inf, "df_dv": -math.inf}, theirs


# A negative input: the written sum is NaN (a root of a negative number), and stays NaN; where the formula is finite
# the rule still holds its bound (√u − √v at 1, 1 − 2⁻⁵³: torch 0 for 5.55e−17).
@pytest.mark.parametrize("formula", ["sqrt(u) - sqrt(v)", "4*sqrt(u) - 8*sqrt(v) + 4*v/sqrt(u)"])
@pytest.mark.parametrize("u, v", [(-1.0, 1.0), (1.0, -1.0), (-1.0, -1.0), (-0.0, -0.0), (math.nan, 1.0),
                                  (-5e-324, 5e-324), (1.0, 1 - 2.0 ** -53), (5e-324, 5e-324),
                                  (1.797e308, 1.797e308)])
def test_root_difference_negative_inputs_stay_nan(formula, u, v):
    got = _outputs(formula, F64, {"u": u, "v": v})
    theirs = _torch(formula, {"u": u, "v": v})
    if not min(u, v) > 0:  # a root of a negative number, NaN, or a zero: the written sum's value, as torch's
        assert got["f"] == theirs["f"] or math.isnan(got["f"]) and math.isnan(theirs["f"]), (got, theirs)
        return
    true = _mp_truth(formula, {"u": u, "v": v})
    assert _ulps(got["f"], true["f"], F64) <= BOUND[F64], (got, true)
