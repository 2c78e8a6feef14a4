"""review44 (issue 16, session 44, h-review44): faults found reviewing session 44's merges (main at a580c5bd), each
against mpmath (SymPy's derivative of the formula as written, at enough digits) and torch autograd in float64."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from conftest import ulps
from test_user43 import _kernel, _torch_grad, _truth_fn, NEGBIN

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}
NEGBIN_NAMES = ["k", "mu", "r"]


def _worst(formula, names, columns, wrt, dtype, digits=60):
    """(symnet's worst ULPs, torch's worst, points past the bound, points worse than max(torch, the bound)) of
    ∂f/∂wrt (f where wrt is None) over the columns' points, the truths at ``digits`` digits."""
    cols = [np.asarray(c, dtype) for c in columns]
    kernel = _kernel(formula)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = kernel(**dict(zip(names, cols)))
        theirs = _torch_grad(formula, names, cols, wrt, np.dtype(dtype).name)
    got = out[0] if wrt is None else out[kernel.outputs.index(f"df_d{wrt}")]
    fn = _truth_fn(formula, tuple(names), wrt)
    with mpmath.workdps(digits):
        truths = [fn(*[mpmath.mpf(float(c[i])) for c in cols]) for i in range(len(cols[0]))]
    ours = np.array([ulps(g, t, dtype) for g, t in zip(got, truths)])
    torch_ = np.array([ulps(g, t, dtype) for g, t in zip(theirs, truths)])
    return (ours.max(), torch_.max(), int((ours > BOUND[dtype]).sum()),
            int((ours > np.maximum(torch_, BOUND[dtype])).sum()))


# ------------------------------------------------------------------ log-quotient-complement where Q/P overflows
# −log(μ/(μ + r)) → log1p(r/μ) was taken wherever r/μ ≥ −1/2; where r/μ overflows (μ = 1e−300, r = 1e10) it is
# log1p(inf) = inf, and the negative-binomial NLL −(k·log(μ/(μ + r)) + r·log(r/(μ + r))) was inf where it is 1427.6
# (k = 2; torch 0.05 ULP; before session 44 0.05), NaN at k = 0, μ = 5e−324, r = 1 (0·inf; truth 0, torch 0) and inf at
# k = 1, μ = 1, r = 5e−324 (truth 3.68e−321). Now taken where −1/2 ≤ Q/P ≤ 2¹²⁶ only: P/(P + Q) < 2⁻¹²⁶ past it.

def _negbin_overflowing_ratio(n, seed, dtype):
    """n points (k, μ, r): k = U(0, 5) (a fifth 0), r/μ or μ/r = 10^U(above the dtype's range by up to 20 decades)."""
    rng = np.random.default_rng(seed)
    top = 308 if dtype is F64 else 38
    k = rng.uniform(0, 5, n) * (rng.random(n) > 0.2)
    big = 10.0 ** rng.uniform(0, 12, n)
    small = big * 10.0 ** -rng.uniform(top + 1, top + 20, n)
    small = np.where(small == 0, np.finfo(dtype).smallest_subnormal, small).astype(dtype).astype(F64)
    small = np.where(small == 0, float(np.finfo(dtype).smallest_subnormal), small)
    swap = rng.random(n) < 0.5
    return [k, np.where(swap, big, small), np.where(swap, small, big)]


def test_negative_binomial_where_the_quotient_overflows_at_the_failing_points():
    for point, truth in [((2.0, 1e-300, 1e10), 1427.6027576563083), ((0.0, 5e-324, 1.0), 0.0),
                         ((1.0, 1.0, 5e-324), 3.6780226e-321)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = _kernel(NEGBIN)(**dict(zip(NEGBIN_NAMES, [np.array([v]) for v in point])))[0][0]
        assert np.isfinite(got) and abs(got - truth) <= 1e-12 * abs(truth) + 1e-323, (point, got)  # was inf, NaN, inf


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("wrt", [None, "k", "mu"])  # ∂r: below
def test_negative_binomial_where_the_quotient_overflows(wrt, dtype):
    """300 points with r/μ or μ/r past the dtype's range: f and its partials within the bound of mpmath (700 digits;
    where normal), no worse than torch. Before (a580c5bd): f inf or NaN at 234 of the 300 float64 points (torch
    finite at all); three of these tests failed."""
    cols = _negbin_overflowing_ratio(300, 444 + (dtype is F32), dtype)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, cols, wrt, dtype, digits=700)
    assert worse == 0, (ours, theirs, past, worse)


# The negative-binomial ∂r = −1 − log(r/(μ + r)) + (k + r)/(μ + r) at k = 0 is log1p(μ/r) − μ/(μ + r) ≈ (μ/r)²/2.
# Past the widened-log-sum rule's reach it was μ/r where it is (μ/r)²/2: at μ = 1e−100, r = 1e10 1e−110 for 5e−221
# (1.0e126 ULP; f976335a 0, torch 0: 5.1e15 ULP). Fixed by nbfix44 (the series u²·(1/2 − 2u/3) where |μ/r| ≤ 2⁻³⁰):
# 0.24 ULP; tests/test_nbfix44.py.
def test_negative_binomial_r_at_k_zero_past_the_reach():
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, [[0.0], [1e-100], [1e10]], "r", F64, digits=700)
    assert worse == 0, (ours, theirs)


# ------------------------------------------------------------------ measured, not fixed

# At a subnormal r (both dtypes) ∂r = −1 − log(r/(μ + r)) + (k + r)/(μ + r) ≈ log(μ/r) − 1 loses r's precision:
# 6.6e7 ULP float64 at k = 0.0794, μ = 56792.6, r = 2.806e−319 (torch 250; f976335a the same 6.6e7).
# (was a strict xfail, measured: 6.6e7 ULP float64, torch 250; 0.057 since nbsub45's log-quotient-complement past
# 2¹²⁶, log r − log(μ + r) in double words; tests/test_nbsub45.py)
def test_negative_binomial_r_at_a_subnormal_r():
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, [[0.079435701808242], [56792.57192978726],
                                                             [2.80595e-319]], "r", F64, digits=700)
    assert worse == 0, (ours, theirs)


# cosine-complement computes 1 − a·b/(‖a‖·‖b‖) in double words to about 2⁻¹³⁰ of 1, an absolute floor: where a ∥ b
# exactly (truth 0) it is ±1e−39 or so, and where 1 − cos θ is below ~1e−24 it is past the bound. At a = b = (3, 4):
# −6.6e−40 for 0 in float64 and in float32 (f976335a −2.2e−16 in float64, 0 in float32; torch 0); at a = (3, 4),
# b = (3, 4 + 2⁻⁵⁰): 5.679798537472449e−33 for 5.6797985e−33, 2.91e7 ULP float64 (f976335a and torch 0: 8.3e15).
# A form exact there: (S_a·S_b − (a·b)²)/(‖a‖‖b‖·(‖a‖‖b‖ + a·b)) with Lagrange's S_a·S_b − (a·b)² = Σ_{i<j} (aᵢbⱼ − aⱼbᵢ)²
# (each cross difference of two exact two-products), where a·b > 0.
COSINE_2 = "1 - (a1*b1 + a2*b2)/sqrt((a1**2 + a2**2)*(b1**2 + b2**2))"


# (was a strict xfail, measured: −6.6e−40 for 0 in float64 and float32, torch 0; 0 since lagr44's Lagrange form)
@pytest.mark.parametrize("dtype", [F64, F32])
def test_cosine_loss_exactly_parallel(dtype):
    ours, theirs, past, worse = _worst(COSINE_2, ["a1", "a2", "b1", "b2"], [[3.0], [4.0], [3.0], [4.0]], None, dtype)
    assert worse == 0, (ours, theirs)


# (was a strict xfail, measured: 2.91e7 ULP float64, truth 5.68e−33, torch 8.3e15; 0.13 ULP since lagr44)
def test_cosine_loss_below_the_double_words_floor():
    ours, theirs, past, worse = _worst(COSINE_2, ["a1", "a2", "b1", "b2"], [[3.0], [4.0], [3.0], [4.000000000000001]],
                                       None, F64, digits=100)
    assert past == 0, (ours, theirs)


# Found while probing (before session 44 as well, f976335a the same): the Student-t NLL's ∂s at s = x = 1e−150
# (m = 0, ν = 1), where s² underflows: −inf for 0 (torch 0).
# (was a strict xfail, measured: −inf for 0, torch 0; exactly 0 since nbsub45's far tier of the widen rule, one
# factored fraction ν·(s − d)·(s + d)/(s·(ν·s² + d²)) in scaled double words; tests/test_nbsub45.py)
def test_student_t_s_where_its_square_underflows():
    from test_user43 import STUDENT_T
    ours, theirs, past, worse = _worst(STUDENT_T, ["m", "nu", "s", "x"], [[0.0], [1.0], [1e-150], [1e-150]], "s", F64)
    assert worse == 0, (ours, theirs)


# Found while probing (f976335a the same): sqrt(x² + ε) − sqrt(ε) at ε = x = 0 is NaN for 0 (torch 0).
# (was a strict xfail, measured: NaN for 0, torch 0, f976335a NaN; 0 since root45's select where √ε = 0 in the
# conjugate rule, tests/test_root45.py)
def test_root_difference_at_zero():
    ours, theirs, past, worse = _worst("sqrt(x**2 + eps) - sqrt(eps)", ["eps", "x"], [[0.0], [0.0]], None, F64)
    assert worse == 0, (ours, theirs)
