"""A fresh user's pass (ninth session) through README.md with formulas of their own: each test is a
place where the docs and the behaviour disagreed, checked the way a user meets it, against
independent references (mpmath)."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import symnet


def _ulps(got: float, true, dtype) -> float:
    """|got − true| in ULPs of the true value (its spacing in ``dtype``)."""
    true_f = float(true)
    return abs(float(got) - true_f) / float(np.spacing(np.abs(np.asarray(true_f, dtype))))


@pytest.mark.parametrize("formula", ["log(cosh(p - t))", "log((exp(p - t) + exp(t - p))/2)"])
@pytest.mark.parametrize("dtype, bound", [(np.float32, 8.0), (np.float64, 4.0)])
def test_written_out_log_cosh_keeps_its_digits_near_zero(formula, dtype, bound):
    """`symnet verify "log(cosh(p - t))"`: a log-cosh loss written out. Fault: the log-cosh rule
    gave |u| + log1p(e^−2|u|) − log 2 everywhere, which cancels to ~1e−16 absolute where
    log cosh u ≈ u²/2 is tiny: at u = 5.6e−17 float32 returned 1.1e−16 for 1.5e−33 (6e23 ULP
    off), at u = 1e−3 float64 was 1e5 ULP off (the registry's ``log_cosh(p, t)`` was right)."""
    k = symnet.compile(symnet.derive(formula, wrt=["p"]))
    u = np.concatenate([-np.logspace(-20, 1.5, 40), np.logspace(-20, 1.5, 40), [0.5, 0.999, 1.0, 1.001, 3.0]])
    p = u.astype(dtype)
    t = np.zeros_like(p)
    f, df_dp = k(p=p, t=t)
    mpmath.mp.dps = 150  # log(1 + 5e−41) needs more than 50 digits
    worst = 0.0
    for pi, fi in zip(p, f):
        true = mpmath.log(mpmath.cosh(mpmath.mpf(float(pi))))
        if true == 0:
            assert fi == 0
            continue
        if abs(true) < np.finfo(dtype).tiny:
            step = float(np.finfo(dtype).smallest_subnormal)  # a subnormal: within one step
            assert abs(float(fi) - float(true)) <= step, (pi, fi, true)
            continue
        worst = max(worst, _ulps(fi, true, dtype))
    assert worst <= bound, f"{formula} {np.dtype(dtype).name}: {worst:.3g} ULP"
