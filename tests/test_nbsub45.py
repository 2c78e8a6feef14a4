"""nbsub45 (issue 16, session 45, h-nbsub45): the negative-binomial NLL at a subnormal or tiny r, and the Student-t
NLL where s² and (x − m)² underflow or overflow: f and every partial against mpmath (700 digits for the negative
binomial, 120 for the Student-t) and torch autograd at the same points, in both dtypes.

Fixed here: log-quotient-complement past 2¹²⁶ (log(P/(P + Q)) as log|P| − log|P + Q| in double words, where P/(P + Q)
may be subnormal) and the widen rule's far tier (a rational sum of degree D ≥ 3 past 2^±⌊960/D⌋ as one factored
fraction in scaled double words). The points' generators are benchmarks/nbsub45_probe.py's."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from test_review44 import _worst, NEGBIN, NEGBIN_NAMES
from test_user43 import STUDENT_T

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from nbsub45_probe import negbin_points, student_points  # noqa: E402

F64, F32 = np.float64, np.float32
STUDENT_NAMES = ["m", "nu", "s", "x"]


# ------------------------------------------------------------------ the negative-binomial NLL at a subnormal r

def test_negative_binomial_r_at_the_failing_point():
    """∂r = −1 − log(r/(μ + r)) + (k + r)/(μ + r) at k = 0.0794, μ = 56792.6, r = 2.806e−319: r/(μ + r) = 4.9e−324,
    one bit. Before (8d42f217): 6.6e7 ULP float64 (torch 250); after 0.057."""
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, [[0.079435701808242], [56792.57192978726],
                                                             [2.80595e-319]], "r", F64, digits=700)
    assert past == 0 and worse == 0, (ours, theirs)


@pytest.mark.parametrize("band", ["subnormal", "tiny"])
@pytest.mark.parametrize("wrt, dtype", [(w, d) for w in (None, "k", "mu", "r") for d in (F64, F32)
                                        if not (w == "mu" and d is F32)])  # float32 ∂μ: below
def test_negative_binomial_at_a_subnormal_or_tiny_r(wrt, dtype, band):
    """300 points: r in the dtype's subnormals ("subnormal") or its smallest normal decades ("tiny": float64
    [2.2e−308, 2.2e−280]), k = U(0, 5) (a fifth 0), μ = 10^U(−3, 8). Before (8d42f217), float64 ∂r: inf worst,
    past the bound at 255 of the subnormal band's points, worse than torch at 202 (torch inf); 1.0e4 ULP in the tiny
    band, worse than torch (0.91) at 10; float64 ∂μ = (k + r)/(μ + r) − k/μ (of size r/μ; the double words held it
    to 2⁻¹⁰⁶ of k/μ): 8.9e15 ULP, past the bound at 202 and 241, worse than torch (inf) at 16 and 0. After: ∂r 0.96
    and 1.18 ULP, ∂μ 0.50 (widen's far tier: r·(μ − k)/(μ·(μ + r))). f, ∂k and float32 within the bound before too,
    but float32 ∂μ (below)."""
    cols = negbin_points(300, 4500 + (dtype is F32), dtype, band)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, cols, wrt, dtype, digits=700)
    assert past == 0 and worse == 0, (ours, theirs, past, worse)


def test_negative_binomial_r_at_zero_and_the_smallest_subnormal():
    """∂r at r = 0 is +inf (−log 0), and at r = 5e−324, μ = 1e300, k = 1 it is 1434.2156 (log(μ/r) − 1): the far
    form's logs of a 0 and of the smallest subnormal."""
    from test_user43 import _kernel
    out = _kernel(NEGBIN)(k=np.array([1.0, 1.0]), mu=np.array([5.0, 1e300]), r=np.array([0.0, 5e-324]))
    dr = out[_kernel(NEGBIN).outputs.index("df_dr")]
    assert dr[0] == np.inf and abs(dr[1] - 1434.215599819595) <= 2e-13 * 1434.2, dr


@pytest.mark.parametrize("band", ["subnormal", "tiny"])
@pytest.mark.parametrize("wrt, dtype", [(w, d) for w in (None, "k", "mu", "r") for d in (F64, F32)
                                        if not (w is None and d is F64)])  # float64 f: below
def test_negative_binomial_at_a_subnormal_or_tiny_mu(wrt, dtype, band):
    """200 points with μ and r exchanged (μ subnormal or tiny, r = 10^U(−3, 8)): ∂k = −log(μ/(μ + r)) takes the same
    far form, log μ − log(μ + r). Before (8d42f217), float64 ∂k: inf at 167 of the subnormal band's points (torch
    inf), 2553 ULP at 4 of the tiny band's (torch the same). After: 0.50 and 0.91."""
    k, mu, r = negbin_points(200, 77, dtype, band)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, [k, r, mu], wrt, dtype, digits=700)
    assert past == 0 and worse == 0, (ours, theirs, past, worse)


# f at a subnormal μ, k = 0: −r·log(r/(μ + r)) = r·log1p(μ/r) ≈ μ, subnormal: the widened form holds it to 2⁻¹⁰⁶ of
# its terms, not to an ulp of a subnormal (8d42f217 the same).
@pytest.mark.xfail(strict=True, reason="measured: negative-binomial f at a subnormal or tiny μ, float64: 1.95e7 ULP "
                   "(of the smallest subnormal) worst, past the bound at 24 (subnormal) and 4 (tiny: 1.5e6) of 200 "
                   "points; torch inf and 9.0e15: worse than torch at 0")
@pytest.mark.parametrize("band", ["subnormal", "tiny"])
def test_negative_binomial_f_at_a_subnormal_mu(band):
    k, mu, r = negbin_points(200, 77, F64, band)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, [k, r, mu], None, F64, digits=700)
    assert worse == 0, (ours, theirs, past, worse)
    assert past == 0, (ours, theirs, past, worse)


# Float32 ∂μ = (k + r)/(μ + r) − k/μ = r·(μ − k)/(μ·(μ + r)), of size r/μ: in a float32 kernel the widened sum is
# float64, which holds it to 2⁻⁵³ of k/μ, nothing of r/μ ≈ 1e−40; its inputs are within the far tier's 2^±240, where
# the in-range form is kept (8d42f217 and here the same; torch worse still).
@pytest.mark.xfail(strict=True, reason="measured: negative-binomial ∂μ at a float32 subnormal or tiny r, float32: "
                   "1.6e7 ULP worst, past the bound at 131 (subnormal) and 232 (tiny) of 300 points; torch 8.5e37 and "
                   "inf: worse than torch at 0")
@pytest.mark.parametrize("band", ["subnormal", "tiny"])
def test_negative_binomial_mu_at_a_subnormal_r_float32(band):
    cols = negbin_points(300, 4501, F32, band)
    ours, theirs, past, worse = _worst(NEGBIN, NEGBIN_NAMES, cols, "mu", F32, digits=700)
    assert worse == 0, (ours, theirs, past, worse)
    assert past == 0, (ours, theirs, past, worse)


# ------------------------------------------------------------------ the Student-t NLL where s² underflows

@pytest.mark.parametrize("dtype", [F64, F32])
def test_student_t_s_at_the_failing_point(dtype):
    """∂s at m = 0, ν = 1, s = x = 1e−150 (float32: 1e−30) is exactly 0. Before (8d42f217): −inf float64 (torch 0);
    after 0."""
    tiny = 1e-150 if dtype is F64 else 1e-30
    ours, theirs, past, worse = _worst(STUDENT_T, STUDENT_NAMES, [[0.0], [1.0], [tiny], [tiny]], "s", dtype)
    assert ours == 0 and worse == 0, (ours, theirs)


@pytest.mark.parametrize("band", ["small", "large"])
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("wrt", ["m", "s", "x"])  # f and ∂ν: below
def test_student_t_where_the_squares_leave_the_range(wrt, dtype, band):
    """300 points: s, |x| = 10^U(−200, −140) ("small") or 10^U(140, 200) ("large") (float32: 10^U(−44, −20),
    10^U(20, 38)), m 0, x·U(−2, 2) or N(0, 3), ν = 10^U(−1, 1.5). Before (8d42f217), float64 ∂s: inf worst, past the
    bound at 253 (small) and 238 (large) points, worse than torch at 15 and 1; ∂m, ∂x 2.6e13 (large, past at 8,
    torch inf). After: ∂s 0.50, ∂m and ∂x 2.7 and 3.1. Float32 within the bound before too."""
    cols = student_points(300, 4500 + (dtype is F32), dtype, band)
    ours, theirs, past, worse = _worst(STUDENT_T, STUDENT_NAMES, cols, wrt, dtype, digits=120)
    assert past == 0 and worse == 0, (ours, theirs, past, worse)


# f = (ν + 1)/2·log(1 + (x − m)²/(ν·s²)) + log s is widened whole (double words without the scaled tier): where
# (x − m)²/(ν·s²) overflows (m = 0.46, s = 1.2e−186, x = 2.2e−141) its log is inf; 8d42f217 the same.
# stt46: its widened function's scaled tier (taken where the float64 value is inf) scales a leaf only below 2⁻⁹⁰⁰
# (no far_bound: the widen rule's, not widened-log-sum's), so s² underflows there too and it is NaN (s = 2.4e−169).
# Its strict xfail's numbers: small band inf at 85 of 300 points (past the bound), worse than torch at 2 (1.9e10 ULP at
# m = 0, ν = 5.0, s = 6.2e−161, x = −1.8e−150, torch 1.9e10 − 1; 9.6e4 at another, torch 4.1e4); large band 1.2e9 at 1
# point, torch inf. On dfe9bdb8: inf at 217 of 300, worse than torch at 2. past47 (widen's far tier for sums of logs of
# rational functions past 2^±⌊960/D⌋, widening._far_log_widened; tests/test_past47.py): 0.497 ULP worst.
def test_student_t_f_where_the_quotient_overflows():
    cols = student_points(300, 4500, F64, "small")
    ours, theirs, past, worse = _worst(STUDENT_T, STUDENT_NAMES, cols, None, F64, digits=120)
    assert past == 0, (ours, theirs, past, worse)


# ∂ν = log1p(a)/2 − (ν + 1)·a/(2ν(1 + a)), a = (x − m)²/(ν·s²): past the widened-log-sum rule's reach (inputs within
# 2^±80) it was the float64 form. 8d42f217: 1.64e6 worst in both bands at 120 digits, a reference artefact (mpmath's
# log(1 + a) at a = 5e−113 keeps 7 digits; 0.079 ULP at 700 digits); at 700 digits 3e46d53d: 36 (small) and 65.7
# (large), past at 33 and 44, worse than torch at 1 each (36 for 20 at m = −5.8e−142, ν = 0.169, s = 8.0e−142,
# x = −9.3e−141: a = 700, terms 3.28 and −3.46; 7.7 for 0.25 at m = 0, ν = 0.205, s = 5.1e151, x = 1.1e153).
# stt45 (the rule's far tier, tests/test_stt45.py): 14.3 and 12.8, past at 5 and 10, worse than torch (inf there) at
# none: where a is tiny (1e−27 at m = 0, ν = 29.9, s = 2.8e−163, x = 4.1e−175) the scaled tier's log(1 + a) is the
# log of the double word 1 + a, which holds log1p(a) to about 2⁻⁵⁰ of itself, cancelling by ν + 1 against the second
# term (the rule's sum writes log(1 + a), not log1p(a)). Its strict xfail's numbers (stt45): 14.3 ULP worst (small
# band; large 12.8), past the bound at 5 and 10 of 300 points, worse than torch at none (torch inf there). stt46
# (doubleword._Scaled takes log(1 + X) as log1p(X) where X unscaled is finite; tests/test_stt46.py): 0.82 and 0.50.
@pytest.mark.parametrize("band", ["small", "large"])
def test_student_t_nu_where_the_squares_leave_the_range(band):
    cols = student_points(300, 4500, F64, band)
    ours, theirs, past, worse = _worst(STUDENT_T, STUDENT_NAMES, cols, "nu", F64, digits=700)
    assert past == 0, (ours, theirs, past, worse)


# ------------------------------------------------------------------ the Triton kernels at the failing points

@pytest.mark.parametrize("formula, names, point, wrt, truth", [
    (NEGBIN, NEGBIN_NAMES, (0.079435701808242, 56792.57192978726, 2.80595e-319), "r", None),
    (STUDENT_T, STUDENT_NAMES, (0.0, 1.0, 1e-150, 1e-150), "s", 0.0)])
def test_the_triton_kernels_at_the_failing_points(formula, names, point, wrt, truth):
    """symnet.torch.from_formula (the Triton kernel; the interpreter without a GPU) at the two failing points, float64:
    within the bound of mpmath, no worse than torch autograd (NB ∂r: torch 250 ULP; Student-t ∂s: 0 exactly)."""
    import mpmath

    from conftest import triton_torch, ulps
    from test_user43 import _torch_grad, _truth_fn
    torch = triton_torch()
    st = pytest.importorskip("symnet.torch")
    ts = [torch.tensor([p], dtype=torch.float64, requires_grad=True) for p in point]
    module = st.from_formula(formula, inputs=names)
    got = torch.autograd.grad(module(*ts).sum(), ts)[names.index(wrt)].item()
    theirs = _torch_grad(formula, names, [np.array([p]) for p in point], wrt, "float64")[0]
    with mpmath.workdps(700):
        true = _truth_fn(formula, tuple(names), wrt)(*[mpmath.mpf(p) for p in point])
    assert truth is None or got == truth, got
    assert ulps(got, true, F64) <= max(4.0, ulps(theirs, true, F64)), (got, theirs)
