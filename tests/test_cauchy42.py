"""h-cauchy42 (session 42, issue 16): the Cauchy-like x/(1 + (a·x)²) where an input is past 2^±80.

Session 41's rational-product rule computes ∂a, −2·a·x³/(1 + a²·x²)², in double words rounded once, but only where
each input is 0 or within 2^±⌊960/D⌋ = 2^±80 (D = 12, its total degree: within it every power its double words form
stays within 2^±960, where a double word's lo part is kept). Past it the shared-powers rule's far form ran, rounded
some 8 times: 4.13 ULP in float64 at (a, x) = (−6.39735662847246e42, −1.808051592918966e−43), torch 0.13, and worse
than max(torch, 1) at 109 of 400 points (tests/test_review41.py). Now the scaled double words take those elements,
each input scaled to [1/2, 1) by its exponent (exact: np.frexp, Triton's exponent bits), products adding the
exponents and sums aligning them, rounded once (doubleword._dwx_unit, widen's far_bound).

References: mpmath at 80 digits of the closed forms, and torch autograd (float64, float32) at the same points.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_hyp32 import BOUND as LIMIT, F32, F64  # {F64: 4, F32: 8}
from test_worseb39 import _outputs  # (formula, dtype, **columns) → {output: float64 array}
from test_worseb40 import _torch_outputs
from test_worseb41 import _cauchy_truth  # {"f", "df_da", "df_dx"} of mpmath a, x

_CAUCHY = "x/(1 + (a*x)**2)"
_FAILED = (-6.39735662847246e42, -1.808051592918966e-43)  # 4.13 ULP in float64 before (∂a), torch 0.13


def _torch_cauchy(torch, a, x):
    return x / (1 + (a * x) ** 2)


def _points(dtype, n=300, seed=4242):
    """n points about the one that failed (a, x each times 2^[−4, 4]: a·x about −1.16, where neither term of 1 + t²
    dominates), n with one input's exponent past the guard (80.5 … 1000 in float64, … 126 in float32) and the other
    about its reciprocal (a·x within 2^±8) or anywhere, and the point itself (float64)."""
    rng = np.random.default_rng(seed)
    top = 1000.0 if dtype is F64 else 126.0
    near_a = _FAILED[0] * 2.0 ** rng.uniform(-4, 4, n)
    near_x = _FAILED[1] * 2.0 ** rng.uniform(-4, 4, n)
    if dtype is F32:  # (float32 cannot hold 6.4e42: the same shape at 2^±100)
        near_a, near_x = near_a * 2.0 ** -42, near_x * 2.0 ** 42
    far = rng.uniform(80.5, top, n)
    other = np.where(rng.uniform(0, 1, n) < 0.5, -far + rng.uniform(-8, 8, n),
                     rng.uniform(-min(top, 1000.0 - 4), top, n) / 3)
    swap = rng.uniform(0, 1, n) < 0.5
    a = np.concatenate([near_a, rng.choice([-1, 1], n) * 2.0 ** np.where(swap, far, other)])
    x = np.concatenate([near_x, rng.choice([-1, 1], n) * 2.0 ** np.where(swap, other, far)])
    if dtype is F64:
        a, x = np.append(a, _FAILED[0]), np.append(x, _FAILED[1])
    with np.errstate(over="ignore", under="ignore"):
        return a.astype(dtype), x.astype(dtype)


def _rows(dtype, output, mine=None):
    """[(symnet's ULPs, torch's, a, x)] of ``output`` at _points where its truth is a normal number of ``dtype``."""
    a, x = _points(dtype)
    mine = _outputs(_CAUCHY, dtype, a=a, x=x)[output] if mine is None else mine
    theirs = _torch_outputs(_torch_cauchy, dtype, a=a, x=x)[output]
    info, rows = np.finfo(dtype), []
    with mpmath.workdps(80):
        for j in range(a.size):
            true = _cauchy_truth(mpmath.mpf(float(a[j])), mpmath.mpf(float(x[j])))[output]
            if info.tiny <= abs(true) <= info.max:
                rows.append((ulps(mine[j], true, dtype), ulps(theirs[j], true, dtype), float(a[j]), float(x[j])))
    return rows


def test_cauchy_da_at_the_point_that_failed():
    # before (main 79856dea): 4.13 ULP, torch 0.13 (shared-powers' far form, −2·a·(x·(x/S)²)); now 0.13, torch's
    (mine, theirs, _, _), = [r for r in _rows(F64, "df_da") if (r[2], r[3]) == _FAILED]
    assert mine <= 0.5 and mine <= max(theirs, 1.0), (mine, theirs)


# before (main 79856dea), float64 ∂a at these 601 points (446 with a normal truth): worse than max(torch, 1) at 85,
# past 4 ULP at 21 (8.8e15 ULP at (−5.44e51, 8.67e147), torch the same: x·(x/S)² past the range), 4.13 at the point that
# failed (torch 0.13). Float32 (inputs within 2^±126: ∂a normal at 44 of 601) 0 and 0 already (its float64 body, ≤ 0.50).
# Now float64 ≤ 0.499, 0 worse
@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_cauchy_da_past_the_guard_within_the_bound_and_never_worse_than_torch(dtype):
    rows = _rows(dtype, "df_da")
    assert len(rows) > (400 if dtype is F64 else 40)
    bad = [r for r in rows if r[0] > max(r[1], 1.0)]
    assert not bad, (len(bad), bad[:3])
    assert max(r[0] for r in rows) <= 0.5, max(rows)


# ∂x and f in float32 at those points: never worse than max(torch, 1), within 0.5 ULP (before and after)
@pytest.mark.parametrize("output", ["df_dx", "f"])
def test_cauchy_float32_past_the_guard_never_worse_than_torch(output):
    rows = _rows(F32, output)
    assert len(rows) > 400
    bad = [r for r in rows if r[0] > LIMIT[F32] or r[0] > max(r[1], 1.0)]
    assert not bad, (len(bad), bad[:3])


# measured (h-cauchy42, before and after: not the rational-product rule's): float64 ∂x, (1 − t²)/(1 + t²)² with t = a·x,
# cancels about t = ±1; past 4 ULP at 11 of 520 points, worse than max(torch, 1) at 8: 115 ULP at (−3.58e−260, 2.76e259),
# torch 51; 16.4 at (−8.39e−240, −1.29e239), torch 0.42 (the widen-quotients rule's sum is taken only where a², x² and
# their products are within 2^±968; the written form past it)
# Was a strict xfail ("worse than max(torch, 1) at 8 of 520 points, 115 ULP at (−3.58e−260, 2.76e259), torch 51");
# since session 43 (h-cauchy43: widen-quotients' sum in scaled double words past its guard) 0 worse, ≤ 0.50
# (0.44 there, torch 51.4)
def test_cauchy_dx_float64_past_the_guard_never_worse_than_torch():
    rows = _rows(F64, "df_dx")
    bad = [r for r in rows if r[0] > LIMIT[F64] or r[0] > max(r[1], 1.0)]
    assert not bad, (len(bad), bad[:3])


# measured (h-cauchy42, before and after): float64 f worse than max(torch, 1) at 8 of 550 points, by ≤ 1.0 ULP: 1.31 at
# (2.77e61, −1.23e−53), torch 0.31 (tests/test_worseb41.py's strict xfail on f: a²·x² rounded three times)
# Was a strict xfail ("within 1.52 ULP but worse than max(torch, 1) at 8 of 550 points (1.31 at (2.77e61,
# −1.23e−53), torch 0.31)"); since session 43 (h-cauchy43: the cauchy-quotient rule) 0 worse, ≤ 0.50
def test_cauchy_value_float64_past_the_guard_never_worse_than_torch():
    rows = _rows(F64, "f")
    bad = [r for r in rows if r[0] > LIMIT[F64] or r[0] > max(r[1], 1.0)]
    assert not bad, (len(bad), bad[:3])


def _special_points():
    """Zeros of either sign beside inputs within and past the guard, infinities, NaN, values past the range."""
    a = np.array([0.0, -0.0, 3e200, 1e-200, 1e300, np.inf, np.nan, 2.0 ** 900, 2.0 ** -400, 5e-324,
                  -0.0, -0.0, 0.0, -0.0, 3.0, -3.0, 1e100])
    x = np.array([1e300, 2e-300, 0.0, 1e200, 1e-310, 1.0, 1e100, 2.0 ** -600, 2.0 ** 170, 1e100,
                  0.5, 2e-300, -2e-300, -0.5, 0.0, -0.0, -0.0])
    return a, x


def test_cauchy_da_special_points_as_torch():
    # ∂a past the largest float64 (a = 1e−200, x = 1e200: −2e400) −inf, as torch; below the smallest (a = 1e300,
    # x = 1e−310) −0; NaN where torch's is; a zero input: torch's signed zero (before, main 79856dea: −0 for torch's +0
    # at (−0, 0.5), the double words' sums lose a −0; the scaled words took (−0, 2e−300), (0, −2e−300) and (1e100, −0)
    # the same way before the rule took ±0 inputs as written)
    a, x = _special_points()
    got = _outputs(_CAUCHY, F64, a=a, x=x)["df_da"]
    theirs = _torch_outputs(_torch_cauchy, F64, a=a, x=x)["df_da"]
    with mpmath.workdps(80):
        for j in range(a.size):
            if np.isfinite(a[j]) and np.isfinite(x[j]):
                true = _cauchy_truth(mpmath.mpf(float(a[j])), mpmath.mpf(float(x[j])))["df_da"]
                assert ulps(got[j], true, F64) <= 0.5, (a[j], x[j], got[j], true)
            elif np.isinf(a[j]) and np.isfinite(x[j]) and x[j] != 0:
                # the limit −2a·x³/(1 + a²x²)² → 0 as |a| → ∞ (input-infinite-limit, h-inf42; torch NaN)
                assert got[j] == 0, (a[j], x[j], got[j], theirs[j])
            else:  # NaN where torch's is (NaN)
                assert np.isnan(got[j]) == np.isnan(theirs[j]), (a[j], x[j], got[j], theirs[j])
            if got[j] == 0 and theirs[j] == 0:
                assert np.signbit(got[j]) == np.signbit(theirs[j]), (a[j], x[j], got[j], theirs[j])


def test_cauchy_da_triton_past_the_guard():
    # before (main 79856dea), Triton under the interpreter, float64: 2.13 ULP at the point that failed (torch 0.13),
    # 1.18 at (7.5e95, 1.9e−96) (torch 0.18); now 0.13 and 0.18, ≤ 0.35 at the 8 (the scaled words, in the repair
    # kernel). Float32 (its float64 body) ≤ 0.5 before and after
    torch = triton_torch()
    k = compiled(_CAUCHY, "triton")
    a64 = np.array([_FAILED[0], 2.0 ** 300, -3e-200, 7.5e95, 1.3e-90, -2.0 ** 85, 0.0, 2.0 ** -900])
    x64 = np.array([_FAILED[1], 2.0 ** -301, 2.2e199, 1.9e-96, -4.4e87, 2.0 ** -86, 1e300, 2.0 ** 500])
    a32 = np.array([1.3 * 2.0 ** -90, -1.9 * 2.0 ** -120, -2.0 ** 85, 2.0 ** -100, 0.0], np.float32)
    x32 = np.array([1.7 * 2.0 ** 35, 1.1 * 2.0 ** 40, 2.0 ** -86, -1.4 * 2.0 ** 45, 1e30], np.float32)
    for a, x, dtype, tdtype in ((a64, x64, F64, torch.float64), (a32, x32, F32, torch.float32)):
        got = dict(zip(k.outputs, k(a=torch.tensor(a, dtype=tdtype), x=torch.tensor(x, dtype=tdtype))))["df_da"]
        got = got.double().cpu().numpy()
        with mpmath.workdps(80):  # (−3e−200, 2.2e199): past the largest float64, −inf as torch (ulps: 0)
            for g, p, q in zip(got, a, x):
                true = _cauchy_truth(mpmath.mpf(float(p)), mpmath.mpf(float(q)))["df_da"]
                assert ulps(g, true, dtype) <= 0.5, (dtype, p, q, g, true)
    a, x = _special_points()  # zeros: torch's signed zero, as NumPy's
    got = dict(zip(k.outputs, k(a=torch.tensor(a), x=torch.tensor(x))))["df_da"].double().cpu().numpy()
    theirs = _torch_outputs(_torch_cauchy, F64, a=a, x=x)["df_da"]
    same = (got == theirs) & (np.signbit(got) == np.signbit(theirs)) | np.isnan(got) & np.isnan(theirs)
    zero = theirs == 0
    assert same[zero].all(), list(zip(a[zero], x[zero], got[zero], theirs[zero]))
