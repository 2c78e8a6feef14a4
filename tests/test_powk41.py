"""powk41 (issue 16): ∂y of (y^x/log y)^k, 40·(x·y^(40x − 1) − y^(40x)/(y·log y))/log(y)⁴⁰ at k = 40, is a widened
difference whose double-word path took log(y)⁴¹ in float64 (b^k of b's hi, _plain): k times log's rounding and pow's
own, taken as exact, beside a term it cancels. Truths mpmath's (60 digits) of the formula as written; torch autograd
of the same formula in the same dtype (test_powk40's helpers).

Measured on 35e1a307 (worst ULP of ∂y; past the bound (4 float64, 8 float32) and worse than torch, of the points):
x ∈ [−3, 3], y ∈ (0, 1) and (1, 5), 150 points, NumPy: k = 40 float64 408.2 (torch 36.2 there, torch's worst 73.1),
47 of 150; k = 64 float64 449.4 (torch 6.39; worst 97.9), 50 of 149; float32 0.49 and 0.50 (computed in float64 and
rounded once: not affected). test_powk40's points (x, y ∈ [0.5, 4]) k = 40 845.6 (torch 120.6), 66 of 150; k = 64
2060 (torch 31.7), 65 of 150. Around (−2.8932, 0.7231), 283 ULP (torch 33.8): 300 points within 2 %, 1.17e4 (torch
2081 there), 285 of 300. Triton float64 (TRITON_INTERPRET=1), 24 points: k = 40 287.7 (torch 122.3), 8 of 24; k = 64
133.1 (torch 23.9), 5 of 24. After: within 0.5 ULP at every one of these points, both backends (log(y)^k by squaring
in double words, doubleword._Emitter._binary_power).

Also (below the ∂y tests): f of (y^x/log y)^k for k = 3, 4 where y^(kx) overflows, taken by exponents, whose log(y)^k
took log's rounding k times (test_mend39's k = 3 strict xfail, 4.06 ULP, torch 2.06; now 2.06): its rounding restored
(printing.ConditionalPrinting._restored_log_pair).
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import compiled, ulps
from test_mend39 import _power_quotient_errors
from test_powk40 import _outputs, _points, _torch, _truths

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64, F32 = np.float64, np.float32


def _domain(n, seed, dtype):
    """x ∈ [−3, 3]; y in (0, 1) at the even points, in (1, 5) at the odd ones."""
    rng = np.random.default_rng(seed)
    xs = rng.uniform(-3, 3, n)
    ys = np.where(np.arange(n) % 2 == 0, rng.uniform(0, 1, n), rng.uniform(1, 5, n))
    return xs.astype(dtype), ys.astype(dtype)


def _around(x, y, n, seed, dtype, within=0.02):
    rng = np.random.default_rng(seed)
    return (x * (1 + rng.uniform(-within, within, n))).astype(dtype), (y * (1 + rng.uniform(-within, within, n))).astype(dtype)


def _faults(formula, backend, dtype, xs, ys, output=2):
    """(x, y, ULP, torch's ULP) where ``output`` (2: ∂y) is past 4 ULP (float64) / 8 (float32) and worse than torch, the
    truth normal; and the worst ULP over the points."""
    got, truths, theirs = _outputs(formula, backend, dtype, xs, ys), _truths(formula, xs, ys), _torch(formula, dtype, xs, ys)
    bound, info = (4 if dtype is F64 else 8), np.finfo(dtype)
    bad, worst = [], 0.0
    for i, true in enumerate(truths[output]):
        if info.tiny <= abs(true) <= info.max:
            mine, torchs = ulps(got[output][i], true, dtype), ulps(theirs[output][i], true, dtype)
            worst = max(worst, mine)
            if mine > bound and mine > torchs:
                bad.append((float(xs[i]), float(ys[i]), mine, torchs))
    return bad, worst


def test_the_worst_point():
    # 283 ULP before (torch 33.8)
    got = _outputs("(y**x/log(y))**40", "numpy", F64, [-2.893155202934227], [0.7231322521988345])[2][0]
    true = _truths("(y**x/log(y))**40", [-2.893155202934227], [0.7231322521988345])[2][0]
    assert ulps(got, true, F64) <= 1


@pytest.mark.parametrize("dtype", [F64, F32])
def test_around_the_worst_point(dtype):
    # float64 before: 1.17e4 ULP (torch 2081 there), 285 of 300 past 4 and worse than torch; float32 0.49 before
    bad, worst = _faults("(y**x/log(y))**40", "numpy", dtype, *_around(-2.893155202934227, 0.7231322521988345, 300, 4143, dtype))
    assert not bad and worst <= 1, (len(bad), bad[:3], worst)


@pytest.mark.parametrize("k, seed", [(40, 4141), (64, 4142), (12, 4144)])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_dy_within_bounds_or_torch(k, seed, dtype):
    # float64 before: k = 40 408.2 ULP (torch 36.2 there), 47 of 150 past 4 and worse than torch; k = 64 449.4 (torch
    # 6.39), 50 of 149; k = 12 133.6 (torch 38.4), 32 of 150. float32 within 0.5 before and after
    bad, worst = _faults(f"(y**x/log(y))**{k}", "numpy", dtype, *_domain(150, seed, dtype))
    assert not bad and worst <= 1, (len(bad), bad[:3], worst)


@pytest.mark.parametrize("k, seed", [(40, 4131), (64, 4132)])
def test_dy_at_test_powk40s_points(k, seed):
    # before: k = 40 845.6 ULP (torch 120.6), 66 of 150; k = 64 2060 (torch 31.7), 65 of 150
    bad, worst = _faults(f"(y**x/log(y))**{k}", "numpy", F64, *_points(150, seed, F64))
    assert not bad and worst <= 1, (len(bad), bad[:3], worst)


@pytest.mark.parametrize("k, seed", [(40, 4150), (64, 4151)])
def test_triton_float64(k, seed):
    # before: k = 40 287.7 ULP (torch 122.3), 8 of 24; k = 64 133.1 (torch 23.9), 5 of 24
    bad, worst = _faults(f"(y**x/log(y))**{k}", "triton", F64, *_domain(24, seed, F64))
    assert not bad and worst <= 1, (len(bad), bad[:3], worst)


def test_triton_float32():
    bad, worst = _faults("(y**x/log(y))**40", "triton", F32, *_domain(24, 4150, F32))
    assert not bad and worst <= 1, (len(bad), bad[:3], worst)


def test_a_negative_power_keeps_its_bound():
    """(y^x/log y)^(−40): ∂y's log y is a numerator's power, printed as it was (2.15 ULP, torch 5.15)."""
    bad, worst = _faults("(y**x/log(y))**(-40)", "numpy", F64, *_domain(150, 4145, F64))
    assert not bad and worst <= 4, (len(bad), bad[:3], worst)


def test_the_power_is_a_double_word():
    """log(y)⁴¹ by squaring in double words in ∂y's double-word path, nothing of the body in float64 alone."""
    source = compiled("(y**x/log(y))**40", "numpy").source
    assert "log_y_pow_41_hi, log_y_pow_41_lo = _dw_mul(" in source and "(in float64)" not in source


@pytest.mark.parametrize("k", [12, 64])
def test_where_the_power_leaves_the_range(k):
    """Where ∂y is past the range: ±inf, its truth, from the scaled double words (doubleword.SCALED_TINY), which a body
    with an operation in float64 (_Scaled.plain_used: the power before) did not have; NaN before (k = 12 at (3, 1e10)
    and (−3, 1e−10), k = 64 at (20, 2) and (−20, 0.5)), where the double word and the float64 body were both NaN."""
    xs, ys = ([3.0, -3.0], [1e10, 1e-10]) if k == 12 else ([20.0, -20.0], [2.0, 0.5])
    dy = _outputs(f"(y**x/log(y))**{k}", "numpy", F64, xs, ys)[2]
    np.testing.assert_array_equal(dy, [np.inf, -np.inf])


# (y^x/log y)^k where y^(kx) overflows (test_mend39's domain, y = 10^[2, 8]): f is taken by exponents, _constant_far's
# pairs, which held log(y)^k as (log_y, −k) for k ≤ 4 (its fraction taken k times, each with log's rounding); now
# _rounded_log_power(log_y, k, y) with power −1 (_restored_log_pair). Float64 only: there the truth, y^(kx)/log(y)^k,
# is past float32's range wherever y^(kx) is past float64's.


def test_the_far_power_of_a_log_at_test_mend39s_point():
    # 4.06 ULP before (torch 2.06): test_mend39's strict xfail (seed 3908)
    errors = _power_quotient_errors(3, [25.07442163255245], [13071.351822399834])
    assert errors[0][0] == "f" and errors[0][1] <= 2.5, errors


@pytest.mark.parametrize("k, seed", [(3, 4160), (4, 4161)])
def test_the_far_power_of_a_log_around_that_point(k, seed):
    # f's worst before: k = 3 3.83 ULP (torch 1.83 there; torch's worst 5.82), k = 4 4.09 (torch 4.09; 8.21); after
    # 2.87, 2.27. ∂x (114 and 134 finite truths) 3.31 (torch 0.31) as before for k = 3 (log(y)², not restored), 3.14 →
    # 2.21 for k = 4
    rng = np.random.default_rng(seed)
    y = 13071.351822399834 * (1 + rng.uniform(-0.3, 0.3, 200))
    x = rng.uniform(710, 709 + k * np.log(np.log(y)), 200) / (k * np.log(y))
    errors = _power_quotient_errors(k, x, y)
    f = [e for e in errors if e[0] == "f"]
    assert len(f) == 200 and max(u for _, u, _ in f) <= 3, max(f, key=lambda e: e[1])
    assert not [e for e in errors if e[1] > 4 and e[1] > e[2]]


# measured (h-powk41): Triton float64 (TRITON_INTERPRET=1) (y^x/log y)³'s ∂x, 3·y^(3x)/log(y)², taken by exponents as
# (y^(3x/2), 2, log_y, −2) where y^(3x) overflows: 4.19 ULP at (30.763, 2222.47), torch 0.19, NumPy 0.19. h-pow47: Triton's
# _constant_far rounded each partial product (NumPy's sums their errors and applies them once); now 3.19 (the rest is
# Triton's _pow of y^(3x/2), 0.68 ULP where NumPy's is 0.30, squared)
def test_triton_far_dx_of_the_cube():
    faults, _ = _faults("(y**x/log(y))**3", "triton", F64, [30.762911392391622], [2222.4706278734334], output=1)
    assert not faults, faults


# measured (h-powk41): Triton float64 (TRITON_INTERPRET=1) (y^x/log y)⁴'s f taken by exponents where y^(4x) overflows:
# 4.68 ULP at (12.0143, 2852772.35), torch 3.68 (NumPy 0.32 there, 2.33 worst over 200 such points). h-pow47: Triton's
# _constant_far with NumPy's correction of its partial products; now 3.68
def test_triton_far_f_of_the_fourth_power():
    faults, _ = _faults("(y**x/log(y))**4", "triton", F64, [12.014260146718675], [2852772.3510367107], output=0)
    assert not faults, faults
