"""review41 (session 41): a read-only review of session 41's merges, each suspicion measured against mpmath (50+
digits) and torch autograd float64 at the same points. Worst first:

1. relu(y)/|x − y|'s f where x − y overflows (x = −1e308, y = 1e308): 0 for 0.5 (4.5e15 ULP), torch 0 too — not
   h-fix41's rule (its f is untouched), but the overflowing S that h-fix41's stand-in K·(1 − a/S)/S^m reasons about:
   a strict xfail. Beside it x/|x + y|'s ∂y, −x·sign(x + y)/(x + y)², NaN at x = ±inf, y finite, for its limit 0
   (torch NaN; one term, which the stand-in does not reach): a strict xfail.
2. rational-product (h-worseb41) where its sum of monomials cancels: the guard 2^±⌊960/D⌋ bounds the inputs, not the
   sum, so f = x·y/(x − y)⁸ (the rule's, guard 2^±96) at x, y ≈ 2⁻⁹⁵ with x − y ≈ 2⁻¹⁴⁵ forms (x − y)⁸ far below the
   range; measured fine: f ≤ 0.50 ULP at 1,000 such points (gaps 2⁻³⁰ … 2⁻⁵⁰), torch inf at 483. Its
   gradients are sums (not the rule's: an output only): ∂x, ∂y inf for a finite truth at x, y ≈ 8e−25, x − y ≈ 1e−38,
   where (x − y)⁹ underflows: 116 of 200 at gap 1e−13 (torch inf at all 200), 200 of 200 at 1e−14 (torch 200):
   not worse than torch, past the bound (strict xfail). And past the guard, where the rule leaves the Cauchy-like ∂a
   −2·a·x³/(1 + a²·x²)² as written: worse than max(torch, 1) at 109 of 400 points, 4.13 ULP (past the bound) where
   torch is 0.13 — as before session 41, which measured only inside ±1e3 (strict xfail).
3. _dw_softplus_parts' memo (h-cost41, module state in generated NumPy modules): concurrent threads with different
   inputs, views, non-contiguous and float32 inputs, and a caller writing into its inputs between calls give the
   bits a fresh memo gives (passes).
4. fraction-complement's stand-in (h-fix41) at ±inf, overflowing and subnormal x − y: ∂x, ∂y equal torch's where
   torch's is a number, and a number where torch's is NaN (passes).
5. h-user41's written-out softmax hints ("computed without overflow"): within 2.5 ULP everywhere (passes), but worse
   than max(torch, 1) of the same written form at 79 of 306 points (softmax's ∂b, 2.38 ULP where torch is 0.38) and
   16 (log_softmax's ∂b): strict xfails.
6. _tw_erf_words (h-erf41): erf(x/y) − z at z = erf(x/y) rounded (and z = 1 past x/y = 5) ≤ 1.80 ULP float64, 0.50
   float32 over 300 points (passes; 220.6 at 35e1a307); its ∂y worse than max(torch, 1) at 16 of 300 (2.28 ULP, torch
   0.72), the same before session 41: a strict xfail.
7. _binary_power (h-powk41) on a small base, log y within 2⁻²⁶ … 2⁻²⁰, its partial squares' lo parts subnormal: ∂y of
   (y^x/log y)⁴⁰ ≤ 0.50 ULP at 350 points (passes).
8. h-break41's non-finite value check strips ASCII + and − only: --at x=−inf with the minus sign U+2212 (which a value
   may hold: x=−1 is −1) is refused as a name, "'inf' means infinity in SymPy; choose another name for a variable",
   the message break41 fixed for x=ｉｎｆ (strict xfail; −ｉｎｆ, −oo, −nan likewise).
"""
from __future__ import annotations

import threading

import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps
from test_worseb39 import _outputs
from test_worseb40 import _torch_outputs

F64, F32 = np.float64, np.float32


# ------------------------------------------------------------------ 1. relu(y)/|x − y| where x − y overflows

def _relu_over_l1_truth(x, y):
    s = x - y
    r = max(y, 0)
    return {"f": r / abs(s), "df_dx": -r * mpmath.sign(s) / s ** 2,
            "df_dy": (1 if y > 0 else 0) / abs(s) + r * mpmath.sign(s) / s ** 2}


# measured (main c6e5504c): f 0.0 at (−1e308, 1e308) for 0.5: 4.5e15 ULP; torch 0.0 (4.5e15) — x − y overflows to
# −inf in float64; over x = −t, y = t for t in [9e307, 1.79e308] (200 points) every f is 0 for ~0.5. Was a strict
# xfail ("relu(y)/|x − y| f = 0 for 0.5 where x − y overflows"); since h-hyp43's halved-difference rule 0.0 ULP
def test_relu_over_l1_value_where_the_difference_overflows():
    t = np.linspace(9e307, 1.79e308, 200)
    got = _outputs("relu(y)/abs(x - y)", F64, x=-t, y=t)["f"]
    with mpmath.workdps(50):
        worst = max(ulps(got[j], _relu_over_l1_truth(mpmath.mpf(-t[j]), mpmath.mpf(t[j]))["f"], F64)
                    for j in range(t.size))
    assert worst <= 4, worst


# ------------------------------------------------------------------ 2. rational-product where its sum cancels

_RATIONAL = "x*y/(x - y)**8"


def _rational_rows(scale, gap, n=200, seed=2):
    """[(output, symnet's ULPs, torch's, x, y)] at y = scale·[1, 2), x = y·(1 ± gap·[0.5, 2]) where the truth is
    normal."""
    rng = np.random.default_rng(seed)
    y = scale * (1 + rng.uniform(0, 1, n))
    x = y + y * gap * rng.uniform(0.5, 2, n) * rng.choice([-1, 1], n)
    mine = _outputs(_RATIONAL, F64, x=x, y=y)
    theirs = _torch_outputs(lambda torch, x, y: x * y / (x - y) ** 8, F64, x=x, y=y)
    info, rows = np.finfo(F64), []
    with mpmath.workdps(80):
        for j in range(n):
            X, Y = mpmath.mpf(float(x[j])), mpmath.mpf(float(y[j]))
            s = X - Y
            truth = {"f": X * Y / s ** 8, "df_dx": Y / s ** 8 - 8 * X * Y / s ** 9,
                     "df_dy": X / s ** 8 + 8 * X * Y / s ** 9}
            for output, true in truth.items():
                if info.tiny <= abs(true) <= info.max:
                    rows.append((output, ulps(mine[output][j], true, F64), ulps(theirs[output][j], true, F64),
                                 float(x[j]), float(y[j])))
    return rows


# measured (main c6e5504c): max ULP f 0.50, ∂x 2.12, ∂y 2.17 (gap 4.7e−10), 1.75/1.60 (2e−11), 1.55/1.65 (1e−12), and
# 0.50/1.14/1.89 at scale 1, gap 1e−3; f ≤ 0.50 at scale 2⁻⁹⁵, gaps 2⁻³⁰…2⁻⁵⁰ (torch inf at 0, 0, 83, 200, 200 of 200);
# never worse than max(torch, 4)
@pytest.mark.parametrize("scale, gap", [(1.0, 1e-3), (8e-25, 4.7e-10), (8e-25, 2e-11), (8e-25, 1e-12),
                                        (2.0 ** -95, 2.0 ** -30), (2.0 ** -95, 2.0 ** -40), (2.0 ** -95, 2.0 ** -50)])
def test_rational_product_with_a_cancelling_sum_never_worse_than_torch(scale, gap):
    rows = _rational_rows(scale, gap)
    assert len(rows) >= 200  # f at least (the gradients overflow at 2⁻⁹⁵ and small gaps)
    bad = [r for r in rows if r[1] > max(r[2], 4.0)]
    assert not bad, (len(bad), bad[:3])


# measured (main c6e5504c): at scale 8e−25, gap 1e−13: ∂x and ∂y inf (for a finite truth) at 116 of 200 points, torch
# inf at 200; gap 1e−14: 200 of 200, torch 200; f 0.50. The gradients are sums, the widened sum's (not rational-product)
# (was a strict xfail: "x·y/(x − y)⁸ ∂x, ∂y inf for a finite truth at x, y ≈ 8e−25, x − y ≈ 1e−38, 200 of 200 (torch
# inf too)"; since h-hyp43's distributed-power-sum rule ≤ 0.97 ULP at gap 1e−14, ≤ 1.76 at 1e−13)
def test_rational_product_where_the_sum_cancels_below_the_range():
    rows = [r for r in _rational_rows(8e-25, 1e-14) if r[0] != "f"]
    assert rows and max(r[1] for r in rows) <= 4, max(r[1] for r in rows)


# the Cauchy-like ∂a, −2·a·x³/(1 + a²·x²)², past the guard (D = 12: 2^±80), where the rule left it as written (since
# session 42 the scaled double words, each input in [1/2, 1))
def _cauchy_past_the_guard_rows(n=400):
    from test_worseb41 import _cauchy_truth

    rng = np.random.default_rng(10)
    far = rng.uniform(80.5, 200, n)  # one input's exponent past 2⁸⁰; the other's about its reciprocal or anywhere
    other = np.where(rng.uniform(0, 1, n) < 0.5, -far + rng.uniform(-3, 3, n), rng.uniform(-150, 150, n))
    swap = rng.uniform(0, 1, n) < 0.5
    a = rng.choice([-1, 1], n) * 2.0 ** np.where(swap, far, other)
    x = rng.choice([-1, 1], n) * 2.0 ** np.where(swap, other, far)
    mine = _outputs("x/(1 + (a*x)**2)", F64, a=a, x=x)["df_da"]
    theirs = _torch_outputs(lambda torch, a, x: x / (1 + (a * x) ** 2), F64, a=a, x=x)["df_da"]
    info, rows = np.finfo(F64), []
    with mpmath.workdps(80):
        for j in range(n):
            true = _cauchy_truth(mpmath.mpf(a[j]), mpmath.mpf(x[j]))["df_da"]
            if info.tiny <= abs(true) <= info.max:
                rows.append((ulps(mine[j], true, F64), ulps(theirs[j], true, F64), float(a[j]), float(x[j])))
    return rows


# measured (c6e5504c, and 35e1a307 the same): 109 of 400 points worse than max(torch, 1), 4.13 ULP (past the bound) at
# (a, x) = (−6.39735662847246e42, −1.808051592918966e−43), torch 0.13; torch worse than ours at 113. Inside the guard
# (±2⁻⁸⁴ … 2⁸⁴, 400 points) 6 worse than max(torch, 1) by ≤ 1.2 ULP, every one with an input past 2⁸⁰. Was a strict
# xfail; since session 42 (h-cauchy42: the scaled double words, each input in [1/2, 1), past the guard) 0 of 400, ≤ 0.499
def test_cauchy_gradient_past_the_guard_never_worse_than_torch():
    rows = _cauchy_past_the_guard_rows()
    bad = [r for r in rows if r[0] > 4 or r[0] > max(r[1], 1.0)]
    assert len(rows) > 300 and not bad, (len(bad), max(rows))


# ------------------------------------------------------------------ 3. _dw_softplus_parts' memo

_SOFTPLUS = "softplus(x/y)**-2"


def _fresh(kernel, **inputs):
    """The kernel's outputs with the memo emptied first (every part computed)."""
    kernel._function.__wrapped__.__globals__["_DW_SOFTPLUS_LAST"][0] = None
    return [np.array(o) for o in kernel(**inputs)]


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True) and \
        np.array_equal(np.signbit(a), np.signbit(b))


def test_softplus_memo_under_threads_gives_the_fresh_bits():
    kernel = compiled(_SOFTPLUS)
    rng = np.random.default_rng(41)
    inputs = [dict(x=rng.uniform(-30, 30, 4000), y=rng.choice([-1.0, 1.0], 4000) * rng.uniform(0.5, 2, 4000))
              for _ in range(6)]
    with np.errstate(all="ignore"):
        want = [_fresh(kernel, **p) for p in inputs]
    got, errors = {}, []

    def work(i):
        try:
            with np.errstate(all="ignore"):
                for _ in range(3):
                    got[i] = [np.array(o) for o in kernel(**inputs[i % 6])]
                    assert all(_same(g, w) for g, w in zip(got[i], want[i % 6])), i
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_softplus_memo_views_dtypes_and_writes_between_calls():
    kernel = compiled(_SOFTPLUS)
    rng = np.random.default_rng(4142)
    x = rng.uniform(-30, 30, 2000)
    y = rng.choice([-1.0, 1.0], 2000) * rng.uniform(0.5, 2, 2000)
    with np.errstate(all="ignore"):
        cases = [dict(x=x, y=y), dict(x=x[::2], y=y[::2]), dict(x=x[1::2], y=y[1::2]),
                 dict(x=x.reshape(40, 50), y=y.reshape(40, 50)), dict(x=x.reshape(40, 50).T, y=y.reshape(40, 50).T),
                 dict(x=x.astype(F32), y=y.astype(F32)), dict(x=x[:1], y=y[:1]), dict(x=x[0], y=y[0])]
        want = [_fresh(kernel, **c) for c in cases]
        for c, w in zip(cases + cases[::-1], want + want[::-1]):  # each after another shape, view or dtype
            assert all(_same(g, v) for g, v in zip(kernel(**c), w))
        xs, ys = x.copy(), y.copy()
        first = [np.array(o) for o in kernel(x=xs, y=ys)]
        xs *= -1  # the caller writes into its inputs: the same arrays, other values
        after = kernel(x=xs, y=ys)
        assert all(_same(g, v) for g, v in zip(after, _fresh(kernel, x=xs, y=ys)))
        assert not _same(first[0], after[0]) or True


# ------------------------------------------------------------------ 4. fraction-complement's stand-in

# measured (main c6e5504c): ∂x, ∂y equal torch's wherever torch's is a number; y/|x − y| ∂y at (5e−324, −5e−324) inf
# (the truth 5e322 overflows: inf is right), torch NaN; x/|x + y| ∂x at x = ±inf 0 (the limit), torch NaN; both NaN
# where S = 0
_STAND_IN = {  # form → (torch's, its sum S)
    "relu(y)/abs(x - y)": (lambda t, x, y: t.relu(y) / t.abs(x - y), lambda x, y: x - y),
    "y/abs(x - y)": (lambda t, x, y: y / t.abs(x - y), lambda x, y: x - y),
    "x/abs(x + y)": (lambda t, x, y: x / t.abs(x + y), lambda x, y: x + y),
}


@pytest.mark.parametrize("form", sorted(_STAND_IN))
def test_fraction_complement_stand_in_matches_torch_where_torch_is_a_number(form):
    inf = np.inf
    x = np.array([inf, -inf, inf, 1e308, -1e308, 1.7e308, 1e308, 3.0, inf, 5e-324, 1e300, 1e-300])
    y = np.array([2.0, 2.0, 1e308, -1e308, 1e308, -1.7e308, -3e307, 3.5, -inf, -5e-324, -1e300,
                  1.0000000000000002e-300])
    mine = _outputs(form, F64, x=x, y=y)
    fn, total = _STAND_IN[form]
    theirs = _torch_outputs(fn, F64, x=x, y=y)
    with np.errstate(all="ignore"):
        zero_sum = total(x, y) == 0  # (x + y at x = −y: 0/0 for both)
    bad = []
    for output in ("df_dx", "df_dy"):
        for j in range(x.size):
            m, t = mine[output][j], theirs[output][j]
            if np.isinf(x[j]) and np.isinf(y[j]) or (form, output) == ("x/abs(x + y)", "df_dy"):
                continue  # no limit at two infinite inputs; x/|x + y|'s ∂y below
            if np.isnan(t):
                ok = zero_sum[j] or not np.isnan(m)
            else:
                ok = m == t or abs(m - t) <= 2 ** -50 * abs(t)
            if not ok:
                bad.append((output, x[j], y[j], m, t))
    assert not bad, bad


# measured (main c6e5504c): ∂y of x/|x + y|, −x·sign(x + y)/(x + y)², NaN at x = ±inf, y ∈ {2, 1e308} (inf/inf) for its
# limit 0 (x/x² → 0, the same limit h-fix41 gives relu(y)/|x − y|'s ∂y at x = ±inf); torch NaN too. One term K·a/S², not
# the fraction-complement's pair, so its stand-in does not reach it. Was a strict xfail, "measured: x/|x + y| ∂y NaN at
# x = ±inf, y finite, for its limit 0 (torch NaN)"; h-inf42's input-infinite-limit rule returns the limit, −0 at both
# infinities (−x·sign(x + y)/(x + y)² comes from below; tests/test_inf42.py)
def test_quotient_by_an_absolute_sum_at_an_infinite_numerator():
    x = np.array([np.inf, -np.inf, np.inf, -np.inf])
    y = np.array([2.0, 2.0, 1e308, -3.5])
    got = _outputs("x/abs(x + y)", F64, x=x, y=y)["df_dy"]
    assert np.array_equal(got, np.zeros(4)), got


# ------------------------------------------------------------------ 5. h-user41's written forms, "without overflow"

# h-user41's hints write softmax(a, b)'s first entry as exp(a)/(exp(a) + exp(b)) and log_softmax's as
# a − log(exp(a) + exp(b)), "computed without overflow"
_WRITTEN_OUT = {  # form → (torch autograd of the same written form, its truth)
    "exp(a)/(exp(a) + exp(b))": (
        lambda t, a, b: t.exp(a) / (t.exp(a) + t.exp(b)),
        lambda a, b: {"f": 1 / (1 + mpmath.exp(b - a)), "df_da": mpmath.exp(b - a) / (1 + mpmath.exp(b - a)) ** 2,
                      "df_db": -mpmath.exp(b - a) / (1 + mpmath.exp(b - a)) ** 2}),
    "a - log(exp(a) + exp(b))": (
        lambda t, a, b: a - t.log(t.exp(a) + t.exp(b)),
        lambda a, b: {"f": -mpmath.log1p(mpmath.exp(b - a)), "df_da": 1 / (1 + mpmath.exp(a - b)),
                      "df_db": -1 / (1 + mpmath.exp(a - b))}),
}


def _written_out_rows(form):
    """[(output, symnet's ULPs, torch's, a, b)] at 306 points: a, b up to ±1e5, b − a within ±40, where the truth is
    normal."""
    rng = np.random.default_rng(3)
    spread = rng.uniform(-800, 800, 300)
    a = np.concatenate([[1000, -1000, 700, 750, -745, 1e5], spread])
    b = np.concatenate([[999, -1000, 710, 700, -746, 1e5 - 3], spread + rng.uniform(-40, 40, 300)])
    fn, truth = _WRITTEN_OUT[form]
    mine, theirs = _outputs(form, F64, a=a, b=b), _torch_outputs(fn, F64, a=a, b=b)
    info, rows = np.finfo(F64), []
    with mpmath.workdps(60):
        for j in range(a.size):
            for output, true in truth(mpmath.mpf(a[j]), mpmath.mpf(b[j])).items():
                if info.tiny <= abs(true) <= info.max:
                    rows.append((output, ulps(mine[output][j], true, F64), ulps(theirs[output][j], true, F64),
                                 float(a[j]), float(b[j])))
    return rows


# measured (main c6e5504c): softmax's first entry f ≤ 1.54 ULP, gradients ≤ 2.49; log_softmax's f ≤ 0.50, gradients
# ≤ 1.41 — within the bound everywhere, where the written form in torch is inf/NaN past |a| ≈ 709
@pytest.mark.parametrize("form", sorted(_WRITTEN_OUT))
def test_the_written_out_softmax_hints_are_within_the_bound(form):
    rows = _written_out_rows(form)
    bad = [r for r in rows if r[1] > 4]
    assert len(rows) > 900 and not bad, (len(rows), bad[:3])


# measured (main c6e5504c), worse than max(torch, 1) of the same written form at the 306 points: softmax's first entry
# ∂b 79 (2.38 ULP at (−650.73, −644.80), torch 0.38), ∂a 44 (2.21 at (−152.65, −152.14), torch 0.21), f 20 (1.54 at
# (−107.00, −91.72), torch 0.46); log_softmax's ∂b 16, ∂a 7 (1.34 at (221.79, 233.29), torch 0.34). Was a strict xfail;
# fixed by h-soft42 (the compensated-sum rule takes two terms: each output rounded once, 0.50 ULP at all 306 points,
# worse than torch at none; tests/test_soft42.py)
@pytest.mark.parametrize("form", sorted(_WRITTEN_OUT))
def test_the_written_out_softmax_hints_never_worse_than_torch(form):
    rows = _written_out_rows(form)
    bad = [r for r in rows if r[1] > max(r[2], 1.0)]
    assert not bad, (len(bad), max(bad, key=lambda r: r[1] - r[2]))


# ------------------------------------------------------------------ 6. erf of a triple word (h-erf41, _tw_erf_words)

def _erf_minus_rows(dtype):
    """[(output, symnet's ULPs, torch's, x, y, z)] of erf(x/y) − z at 300 points: x/y in ±0.6, [0.4, 6.5] and
    [5, 9], y in [0.3, 3], z = erf(x/y) rounded to ``dtype`` (1 for the last 50: −erfc(x/y) down to 1e−37)."""
    rng = np.random.default_rng(7)
    y = rng.uniform(0.3, 3, 300).astype(dtype)
    ratio = np.concatenate([rng.uniform(-0.6, 0.6, 100), rng.uniform(0.4, 6.5, 100), rng.uniform(5, 9, 100)])
    x = (ratio * y).astype(dtype)
    rows, info = [], np.finfo(dtype)
    with mpmath.workdps(60):
        z = np.array([float(mpmath.erf(mpmath.mpf(float(a)) / mpmath.mpf(float(b)))) for a, b in zip(x, y)])
        z = z.astype(dtype)
        z[250:] = 1
        mine = _outputs("erf(x/y) - z", dtype, x=x, y=y, z=z)
        theirs = _torch_outputs(lambda t, x, y, z: t.erf(x / y) - z, dtype, x=x, y=y, z=z)
        for j in range(300):
            X, Y, Z = (mpmath.mpf(float(v)) for v in (x[j], y[j], z[j]))
            q = X / Y
            g = 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-q * q)
            for output, true in {"f": mpmath.erf(q) - Z, "df_dx": g / Y, "df_dy": -g * X / Y ** 2}.items():
                if info.tiny <= abs(true) <= info.max:
                    rows.append((output, ulps(mine[output][j], true, dtype), ulps(theirs[output][j], true, dtype),
                                 float(x[j]), float(y[j]), float(z[j])))
    return rows


# measured: f at most 1.80 ULP float64 (torch 8.8e15 there, z = 1 at x/y = 8.7), 0.50 float32 (torch 9.3e6); before
# (35e1a307) float64 f 220.6 ULP at (−0.005768, 1.838), past 4 at 12 of 300; ∂x ≤ 2.52, ∂y ≤ 2.28 (float64), 0.50
# (float32)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_erf_of_a_quotient_minus_its_rounding_within_the_bound(dtype):
    rows = _erf_minus_rows(dtype)
    bad = [r for r in rows if r[1] > 4 or (r[0] == "f" and r[1] > max(r[2], 1.0))]
    assert len(rows) == 900 and not bad, (len(rows), bad[:3])


# measured (c6e5504c and 35e1a307 alike: not session 41's): float64 ∂y = −2/√π·e^(−(x/y)²)·x/y² worse than
# max(torch, 1) at 16 of 300 points, 2.28 ULP at (0.16343, 0.41864), torch 0.72; ∂x at 1 (2.52, torch 5.48 — no).
# Where the ULPs go (h-soft42, 79856dea, that point, the printed steps against mpmath): y⁻² 0.39 ULP, x²·y⁻² 0.45,
# e^(−x²·y⁻²) 0.46 (q = x/y's rounding is amplified by 2q² ≈ 0.3 only), e^(…)·y⁻²·x 1.62, times 2/√π 2.28: the
# product's roundings, not the quotient's. Rounding the product once would still leave e^'s own error beside it (not
# measured); a sketch outside symnet (q = x/y and −q² as double words, e^ of the hi part with its lo part kept as
# e^hi·lo, the product with 2/√π in double words, rounded once; some 40 array operations) gave ≤ 0.98 ULP at these 300
# points and worse than max(torch, 1) at none: a target for the printed form. Was a strict xfail; fixed by h-erfq42 (the
# gaussian-quotient-product rule widens the product whole: 0.50 ULP at all 300 points, worse than torch at none;
# tests/test_erfq42.py)
def test_erf_of_a_quotient_gradient_never_worse_than_torch():
    bad = [r for r in _erf_minus_rows(F64) if r[0] == "df_dy" and r[1] > max(r[2], 1.0)]
    assert not bad, (len(bad), bad[:3])


# ------------------------------------------------------------------ 7. _binary_power (h-powk41) on a base near 0

# (y^x/log y)^40 with log y within 2⁻²⁶ … 2⁻²⁰ (y = 1 ± that): log(y)⁴¹ by squaring down to 2⁻¹⁰⁶⁶, its partial
# squares' lo parts subnormal. Measured (c6e5504c): ∂y ≤ 0.50 ULP at all 350 points with a normal truth (torch up to
# 43.5); f ≤ 3.22, worse than max(torch, 1) at 4 of 423 by at most 0.31 ULP (1.65, torch 1.35), as at 35e1a307
def test_binary_power_of_a_small_log_within_the_bound_and_torch():
    from test_powk40 import _outputs as _powk_outputs, _torch as _powk_torch, _truths as _powk_truths

    rng = np.random.default_rng(11)
    form, rows = "(y**x/log(y))**40", []
    for low, high in ((-23, -20), (-25, -23), (-26, -24)):
        ys = 1 + rng.choice([-1, 1], 150) * 2.0 ** rng.uniform(low, high, 150)
        xs = rng.uniform(-3, 3, 150)
        got, truths, theirs = (_powk_outputs(form, "numpy", F64, xs, ys), _powk_truths(form, xs, ys),
                               _powk_torch(form, F64, xs, ys))
        info = np.finfo(F64)
        rows += [(ulps(got[2][i], t, F64), ulps(theirs[2][i], t, F64), xs[i], ys[i])
                 for i, t in enumerate(truths[2]) if info.tiny <= abs(t) <= info.max]
    bad = [r for r in rows if r[0] > 4 or r[0] > max(r[1], 1.0)]
    assert len(rows) > 300 and not bad, (len(rows), bad[:3])


# ------------------------------------------------------------------ 8. h-break41's non-finite value check, minus sign

# h-break41 compares a point's value in NFKC form, stripping ASCII + and − first; the minus sign U+2212, which a value
# may hold (x=−1 is −1), is not stripped: measured (c6e5504c) `derive x*y --at "x=−inf,y=1"` says "'inf' means infinity
# in SymPy; choose another name for a variable" (and −ｉｎｆ, −oo, −nan likewise; symnet.derive(at={"x": "−inf"}) too),
# where x=inf and x=－inf (fullwidth hyphen-minus, NFKC's -) say "the value of x must be a finite real number".
# Fixed by the lead (session 41: _not_finite strips U+2212 too); was a strict xfail.
@pytest.mark.parametrize("value", ["\u2212inf", "\u2212ｉｎｆ", "\u2212oo", "\u2212nan"])
def test_a_point_value_not_finite_after_a_minus_sign(capsys, value):
    import symnet
    from symnet.errors import ParseError
    from test_break41 import _run

    code, _, err = _run(capsys, "derive", "x*y", "--at", f"x={value},y=1")
    assert code != 0 and "the value of x must be a finite real number" in err, err
    with pytest.raises(ParseError, match="must be a finite real number"):
        symnet.derive("x*y", at={"x": value, "y": 1})


def test_a_minus_sign_value_is_a_number():  # the sign itself is read: x=−1 is −1 (passes)
    from symnet.parsing import parse_point

    assert {str(k): v for k, v in parse_point("x=\u22121").items()} == {"x": -1}
