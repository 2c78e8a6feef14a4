"""h-scale50: the scaled double words' products renormalised (doubleword._dwx_norm, NumPy and Triton).

The scaled tier (doubleword._Scaled: (hi + lo)·2^−k, for the elements of a widened body below 2⁻⁹⁶⁸, with a leaf
there, or past the range) added the k of a product's factors but kept the product's hi as it came: where k held the
scale the hi itself underflowed or overflowed. ((x + y)/y)⁵ at (5e−200, 1e−310): (x + y)/y = 1.2e−70·2⁶⁰⁰ scaled,
its fifth power's hi 2.5e−350, 0: f 0.0 for 3.1e553 (+inf in float64; torch inf), NumPy and Triton (test_break40's
and test_root49's strict xfails: 94 of 200 points 0, 106 inf). h-root49 had the tier's 0 not taken for the double
word's inf, which made the Tukey loss c²/6·(1 − (1 − (r/c)²)³) inf at c = 6.8e90, r = −2.7e−185, where the truth
underflows (the double word's c⁴ overflows, the scaled tier's 0 is right): taken out when merged. Now every product
and quotient of the scaled tier that carries a k is renormalised (exact): its hi brought to [1/2, 1) and its k by
as much where the value is past 2^±100, k 0 within (a value near 1 at a k ≠ 0 made _dwx_log's log x − k·ln 2
cancel: the focal loss's ∂γ at z = 745, t = 2.2e−308, γ = 0 was 0 for −1.229e−305 with the hi always in [1/2, 1);
test_focaledge20): the scaled tier is right in both cases, no preference between the tiers.

Measured (float64; before → after; torch autograd of the written form, float64), NumPy and Triton alike:
- ((x + y)/y)⁵, x = 10^U(−250, −150), y = 10^U(−323, −309) (40 points, every truth past the range): f 0 for +inf at
  16, ∂x 0 for +inf at 1 → ±inf at all (torch: f, ∂x inf, ∂y NaN at all 40); x = 10^U(−300, −260), y = 10^U(−318,
  −309) (40 points, f finite up to 1e300, ∂x, ∂y past the range): f 0 at 13 (8.8e15 ULP), ∂x 0 for +inf at 13 →
  f ≤ 0.47 ULP, ∂x inf (torch: f, ∂x right, ∂y NaN at all 40); ∂y −inf before and after.
- Tukey, c = 10^U(78, 150), r = ±10^U(−300, −150) (60 points) and (6.8e90, −2.7e−185): f, ∂c 0 or the nearest
  subnormal, ∂r within 4 ULP, before and after (h-root49's preference had f inf at the first point).
- ∂y of (y^x)³·log y where y^(3x) is below 2⁻⁹⁶⁸ (test_pow47's class, 30 new points), the Student-t NLL f at a tiny s
  (test_stt45's, 60 new points), x − 3y + sinh x where sinh x overflows and 3y brings it back (test_edge36's, 40 new
  points): within their bounds, as before (≤ 2, ≤ 1, ≤ 0.5 ULP).

Cost (NumPy CPU time, 1e6 elements, best of 5, base and new in one process): ((x + y)/y)⁵ at x, y = U(0.5, 2) 1.02×,
at the past-range points above (every element in the scaled tier) 1.05×; Tukey at c = 10^U(−0.3, 0.7), r = U(−1.2,
1.2) 1.02×, at c = 10^U(78, 150), r = 10^U(−300, −150) 1.05× (ordinary points: the same code, noise). The tier runs only on the elements that take it (NumPy
gathers them; Triton in a block with one). Committed kernels: bce_logits (NumPy, Triton) regenerated, its scaled
function's products renormalised. No stability rule was added (the scaled tier's emitter,
doubleword._Scaled, and its NumPy and Triton helpers): no RULE_CASES.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import ulps
from test_worsea41 import _outputs

MP_DPS = 60
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64 = np.float64
BOUND = 4.0
TINY, HUGE = mpmath.mpf(float(np.finfo(F64).tiny)), mpmath.mpf(float(np.finfo(F64).max))

P5 = "((x + y)/y)**5"


def _p5_truths(x, y):
    xx, yy = mpmath.mpf(float(x)), mpmath.mpf(float(y))
    q = (xx + yy) / yy
    return [q ** 5, 5 * q ** 4 / yy, -5 * q ** 4 * xx / yy ** 2]


def _check(got, truths, i):
    """Each output within the bound where its truth is normal, ±inf where it is past the range, the nearest
    subnormal (≤ 1 subnormal step) where it is below the normal range."""
    bad = []
    for o, t in enumerate(truths):
        if abs(t) > HUGE:
            ok = got[o][i] == (np.inf if t > 0 else -np.inf)
        elif abs(t) < TINY:
            ok = abs(mpmath.mpf(float(got[o][i])) - t) <= mpmath.mpf(5e-324)
        else:
            ok = ulps(got[o][i], t, F64) <= BOUND
        if not ok:
            bad.append((o, got[o][i], mpmath.nstr(t, 17)))
    return bad


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_fifth_power_of_a_sum_quotient_where_the_scaled_hi_underflowed(backend):
    # before: f 0 at 20 of the first 40 (truths past the range), ∂x 0 and ∂y −0 at 20; f past 4 ULP at 19 of the next
    # 40 (0 for finite truths up to 1e300); now ±inf, within the bound (0.50 worst), NumPy and Triton
    rng = np.random.default_rng(5001)
    xs = np.concatenate([10.0 ** rng.uniform(-250, -150, 40), 10.0 ** rng.uniform(-300, -260, 40), [5e-200]])
    ys = np.concatenate([10.0 ** rng.uniform(-323, -309, 40), 10.0 ** rng.uniform(-318, -309, 40), [1e-310]])
    got = _outputs(P5, backend, F64, x=xs, y=ys)
    with mpmath.workdps(MP_DPS):
        bad = [(float(xs[i]), float(ys[i]), b) for i in range(len(xs))
               for b in _check(got, _p5_truths(xs[i], ys[i]), i)]
    assert not bad, (len(bad), bad[:4])


TUKEY = "where(abs(r) < c, c**2/6*(1 - (1 - (r/c)**2)**3), c**2/6)"  # (test_tiny49's)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_tukey_where_c4_overflows_and_the_truth_underflows(backend):
    # c⁴ past the range in the double word, the scaled tier's c⁴ renormalised: f, ∂c 0 or subnormal (the truth), ∂r
    # within the bound; the point h-root49's preference made inf (c = 6.8e90, r = −2.7e−185) first
    from test_tiny49 import _tukey_truths

    rng = np.random.default_rng(5002)
    cs = np.concatenate([[6.8e90], 10.0 ** rng.uniform(78, 150, 60)])
    rs = np.concatenate([[-2.7e-185], 10.0 ** rng.uniform(-300, -150, 60) * rng.choice([-1.0, 1.0], 60)])
    got = _outputs(TUKEY, backend, F64, c=cs, r=rs)
    bad = [(float(cs[i]), float(rs[i]), b) for i in range(len(cs)) for b in _check(got, _tukey_truths(cs[i], rs[i]), i)]
    assert not bad, (len(bad), bad[:4])


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_power_times_its_log_where_the_power_is_below_the_double_words_range(backend):
    # test_pow47's class (y^(3x) below 2⁻⁹⁶⁸, the scaled tier), 30 new points: ∂y ≤ 2 ULP, never past 4 and worse
    # than torch (as before)
    from test_pow47 import _dy_errors, _underflowed_power_points

    xs, ys = _underflowed_power_points(30, 5003)
    errors = _dy_errors("((y)**x)**3*log(y)", backend, xs, ys)
    assert len(errors) >= 15 and max(e[2] for e in errors) <= 2, max(errors, key=lambda e: e[2])


def test_student_t_at_a_tiny_s():
    # test_stt45's class (s = 10^U(−320, −293): a leaf below 2⁻⁹⁶⁸, the scaled tier's log(1 + a)), 60 new points:
    # f ≤ 1 ULP (0.50), none worse than torch (as before)
    from test_review44 import _worst
    from test_stt45 import NAMES, _tiny_s_points
    from test_user43 import STUDENT_T

    ours, theirs, past, worse = _worst(STUDENT_T, NAMES, _tiny_s_points(60, 5004), None, F64, digits=700)
    assert past == 0 and worse == 0 and ours <= 1, (ours, theirs, past, worse)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_sinh_past_the_range_brought_back(backend):
    # test_edge36's class (sinh x past the range, 3y brings the sum back: the scaled tier's e^x with a k), 40 new
    # points: f ≤ 0.5 ULP, ∂y = −3 exact (as before)
    from test_edge36 import _brought_back_points

    points = _brought_back_points("sinh", F64, 5005)
    xs, ys = points["x"][:41], points["y"][:41]
    got = _outputs("x - 3*y + sinh(x)", backend, F64, x=xs, y=ys)
    with mpmath.workdps(MP_DPS):
        found = [ulps(got[0][i], mpmath.mpf(float(xs[i])) - 3 * mpmath.mpf(float(ys[i]))
                      + mpmath.sinh(mpmath.mpf(float(xs[i]))), F64) for i in range(41)]
    assert max(found) <= 0.5 and (got[2] == -3.0).all(), (max(found), got[2])


def test_focal_dgamma_where_the_scaled_sum_is_near_one():
    # (1 − t)·σ(z) ≈ 1 at z = 745, t tiny: renormalised to [1/2, 1) with k = −1 its log was log(1/2) + ln 2, 0 for
    # log(1 − t) = −t (∂γ 0 for −1.229e−305 at t = 2.2e−308, γ = 0: test_focaledge20's drawn extremes); k 0 within
    # 2^±100 now: every output within the bound, or no worse than torch below the normal range
    from test_focaledge20 import _faults

    points = [(z, t, g) for z in (745.0, 700.0, 40.0) for t in (2.2e-308, 1e-300, 1e-320) for g in (0.0, 0.5, 2.0)]
    assert not _faults(F64, points)


def test_the_scaled_tier_renormalises_its_products():
    """The generated scaled function of ((x + y)/y)⁵ brings each product's hi to [1/2, 1) (_dwx_norm), k by as much."""
    from conftest import compiled

    source = compiled(P5, "numpy").source
    assert "def _dwx_norm(x_hi, x_lo, k):" in source
    assert "pow_1_2_hi, pow_1_2_lo, pow_1_2_k = _dwx_norm(pow_1_2_hi, pow_1_2_lo, x_plus_y_over_y_2_k + " in source
