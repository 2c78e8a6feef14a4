"""Session 46, helper smax46: the smooth max T·log(Σ e^(aᵢ/T)) and its softmax weights where they were still wrong.

Fixed here (symnet/codegen/rewrite/softmax.py):
- ∂a, ∂b of T·log(e^(a/T) + e^(b/T) + 1): the compensated-sum rule wanted every term of the max-shifted sum an
  exp_shift(aᵢ, m), and the max-shift rule writes the constant logit's 1 as e^−m, so the sum was rounded term by term
  and the exponents a/T − m in float64 (|a/T| up to 5000: e^v's error |v|·ε); it now takes e^−m as exp_shift(0, m),
  and the float64 block is computed again in double words as for a written softmax;
- ∂T of T·log(e^(a/T) + e^(b/T)) at a subnormal T: the softmax-entropy rule's limit test |a/T − b/T| > 3.4e38 was
  NaN where both quotients overflow (inf − inf); it tests |(a − b)/T|;
- ∂T of the smooth max with a constant logit or three logits (the softmax-entropy-many rule): log S − Σ pᵢxᵢ cancelled
  where the entropy is small (8.6e15 ULP), was NaN where the quotients overflow, and 0 for log 2 at a tie past the
  range (T = 1e−300, a = b = 3); now from the top logit's side, every term ≥ 0, and log k past the range;
- f of test_break45's near misses T·log(e^(a/T) + 2e^(b/T)) and T·log((e^(a/T) + e^(b/T))/2) at a tiny T: ±inf or NaN
  (the scaled-max rule took only bare exponentials and a 1); it takes c·e^(r/F) with c > 0 a number.

References: mpmath (60–100 digits): the weights e^(a/T)/S, and the entropy (∂T) as Σᵢ pᵢ·log1p(Σ_{j≠i} e^(xⱼ − xᵢ))
(every term ≥ 0: no cancellation in the reference); torch autograd at the same points in the same dtype. Befores
measured on dec905ca (this branch's base) at the same points.
"""
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled
from test_smax45 import _run, _torch, _truth

BOUND = {np.float64: 4.0, np.float32: 8.0}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
CONSTANT = "T*log(exp(a/T) + exp(b/T) + 1)"
PAIR = "T*log(exp(a/T) + exp(b/T))"
THREE = "T*log(exp(a/T) + exp(b/T) + exp(c/T))"
WORST = (0.0010004992557713353, 1.687891249101245, 1.8633350676453642)  # test_smax45's worst ∂a point (565 ULP)
_T, _a, _b = sp.symbols("T a b", real=True)
# tests/test_stability_rules.py's case for softmax-entropy-many: the 50-digit check in [0.25, 4], and the failing value
# at T = 0.01, a = 1, b = −1 with the constant logit (x = 100, −100, 0): as written ∂T = log S − Σ pᵢxᵢ cancels
# (the entropy 3.8e−42, 101·e^−100), the kernel's within 8 ULP of mpmath at 600 digits
RULE_CASES = [
    ("softmax-entropy-many", _T * sp.log(sp.exp(_a / _T) + sp.exp(_b / _T) + 1), (_T, _a, _b), (0.25, 4.0),
     (0.01, 1.0, -1.0), np.float64),
]


def _units(ref, dtype):
    """Each reference's ulp in ``dtype`` (its smallest subnormal where the reference is 0)."""
    unit = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    return np.maximum(unit, np.finfo(dtype).tiny * np.finfo(dtype).eps)


def _within(got, ref, theirs, dtype):
    """Whether every ``got`` is within the bound or no worse than torch's ``theirs`` (NaN: worse than anything)."""
    unit = _units(ref, dtype)
    err = np.nan_to_num(np.abs(got - ref) / unit, nan=np.inf)
    their = np.nan_to_num(np.abs(theirs - ref) / unit, nan=np.inf)
    return np.all(err <= np.maximum(BOUND[dtype], their)), err.max()


def _around_worst(dtype):
    rng = np.random.default_rng(46)
    T, a, b = WORST
    T = T * (1 + rng.uniform(-0.05, 0.05, 300))
    a, b = a + rng.uniform(-0.1, 0.1, 300), b + rng.uniform(-0.1, 0.1, 300)
    return [np.asarray(v, dtype).astype(np.float64) for v in (T, a, b)]


def test_weights_at_the_worst_point():
    # before (dec905ca): ∂a 565 ULP in float64 (6.978131913020068e−77 for 6.978131913019201e−77); torch NaN (inf/inf)
    T, a, b = (np.array([v]) for v in WORST)
    _, tda, tdb = _truth(T, a, b)
    _, _, da, db = _run(T, a, b)
    _, qa, _ = _torch(T, a, b, np.float64)
    assert np.abs(da - tda)[0] <= 4 * np.spacing(tda[0]) and np.abs(db - tdb)[0] <= 4 * np.spacing(tdb[0])
    assert np.isnan(qa[0])


@DTYPES
def test_weights_around_the_worst_point(dtype):
    # 300 points, T within 5 % of it, a, b within 0.1. Before (dec905ca), float64: ∂a past 4 ULP at 296 of 300 (worst
    # 1797), ∂b at 5 (worst 1019); torch NaN at all 300 (inf/inf); float32 0 past 8 before too (a float64 block)
    T, a, b = _around_worst(dtype)
    _, tda, tdb = _truth(T, a, b)
    _, _, da, db = _run(T, a, b, dtype)
    _, qa, qb = _torch(T, a, b, dtype)
    for got, ref, theirs in [(da, tda, qa), (db, tdb, qb)]:
        ref = ref.astype(dtype).astype(np.float64)
        ok, worst = _within(got, ref, theirs, dtype)
        assert ok and worst <= BOUND[dtype], worst


def _entropy(T, logits, constant):
    """∂T of the smooth max, the entropy of the softmax of (aᵢ/T) (and 0), at 60 digits: Σᵢ pᵢ·Lᵢ with
    Lᵢ = log1p(Σ_{j≠i} e^(xⱼ − xᵢ)) and pᵢ = 1/(1 + Σ_{j≠i} e^(xⱼ − xᵢ)), every term ≥ 0."""
    out = []
    with mpmath.workdps(60):
        for i in range(len(T)):
            t = mpmath.mpf(float(T[i]))
            xs = [mpmath.mpf(float(v[i])) / t for v in logits] + ([mpmath.mpf(0)] if constant else [])
            H = 0
            for k, xk in enumerate(xs):
                r = mpmath.fsum(mpmath.exp(xj - xk) for j, xj in enumerate(xs) if j != k)
                H += mpmath.log1p(r) / (1 + r)
            out.append(float(H))
    return np.array(out)


def _dT(formula, T, logits, dtype=np.float64):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(compiled(formula)(*(np.asarray(v, dtype) for v in [T, *logits]))[1], np.float64)


def _torch_dT(T, logits, constant, dtype=np.float64):
    torch = pytest.importorskip("torch")
    kind = torch.float64 if dtype == np.float64 else torch.float32
    T, *xs = (torch.tensor(np.asarray(v, dtype), dtype=kind, requires_grad=True) for v in [T, *logits])
    S = sum(torch.exp(x / T) for x in xs) + (1 if constant else 0)
    return torch.autograd.grad((T * torch.log(S)).sum(), T)[0].double().numpy()


def _tiny_temperatures(n, seed, logits):
    """n points: T = ±10^U(−323.3, −290) (a/T past 3.4e38, many past the range), logits whole numbers in [−3, 3]
    (ties among them and with the constant's 0 often)."""
    rng = np.random.default_rng(seed)
    T = 10.0 ** rng.uniform(-323.3, -290, n) * rng.choice([-1.0, 1.0], n)
    return T, [np.round(rng.uniform(-3, 3, n)) for _ in range(logits)]


def test_smooth_max_dT_at_a_subnormal_temperature_with_a_constant_logit():
    # the constant logit's version of test_temp44's point; before (dec905ca): ∂T 0 at T = −2.78e−309 (right: the 0
    # logit is the max) and NaN at +2.78e−309 (true 0, b wins by 6.5e308); torch NaN at both
    T = np.array([-2.781342323134e-309, 2.781342323134e-309])
    a, b = np.array([0.7, 0.7]), np.array([2.5, 2.5])
    assert np.array_equal(_dT(CONSTANT, T, [a, b]), [0.0, 0.0])
    assert np.isnan(_torch_dT(T, [a, b], True)).all()


@pytest.mark.parametrize("formula, logits, constant", [(PAIR, 2, False), (CONSTANT, 2, True), (THREE, 3, False)],
                         ids=["pair", "constant", "three"])
def test_smooth_max_dT_at_tiny_temperatures(formula, logits, constant):
    # 300 points (_tiny_temperatures), float64. Before (dec905ca): past 4 ULP at 38 (pair: NaN at 38), 101 (constant:
    # NaN at 90, 0 for log k at 11 ties) and 141 (three: NaN at 115, 0 for log k at 24 ties); torch past 4 ULP at
    # 293, 294 and 300 of them (NaN)
    T, xs = _tiny_temperatures(300, 4600 + logits + constant, logits)
    ref = _entropy(T, xs, constant)
    ok, worst = _within(_dT(formula, T, xs), ref, _torch_dT(T, xs, constant), np.float64)
    assert ok and worst <= 4, worst


def test_smooth_max_dT_at_a_tie_past_the_range():
    # three logits at T = 1e−300, a = b = 3 (c = −1): the entropy of (1/2, 1/2, 0), log 2; before (dec905ca) 0, 0, NaN
    # and 0 at these four (log 2, log 2, log 3, log 2); torch NaN at all four. With T < 0 the smallest logits tie
    T = np.array([1e-300, -1e-300, 1e-310, 1e-300])
    a, b, c = np.array([3.0, -2.0, 1.5, 3.0]), np.array([3.0, -2.0, 1.5, 2.0]), np.array([-1.0, 7.0, 1.5, 3.0])
    want = np.log([2.0, 2.0, 3.0, 2.0])
    assert np.all(np.abs(_dT(THREE, T, [a, b, c]) - want) <= np.spacing(want))
    assert np.isnan(_torch_dT(T, [a, b, c], False)).all()


def _ordinary(n, seed, logits):
    """n points: T = ±10^U(−3, 1), logits U(−5, 5) (the entropy down to e^−10⁴, 0 in float64, and up to log n)."""
    rng = np.random.default_rng(seed)
    T = 10.0 ** rng.uniform(-3, 1, n) * rng.choice([-1.0, 1.0], n)
    return T, [rng.uniform(-5, 5, n) for _ in range(logits)]


@DTYPES
@pytest.mark.parametrize("formula, logits, constant", [(CONSTANT, 2, True), (THREE, 3, False)],
                         ids=["constant", "three"])
def test_smooth_max_dT_at_ordinary_temperatures(formula, logits, constant, dtype):
    # 300 points (_ordinary), where the entropy is normal in the dtype (within 4 of its smallest subnormals
    # elsewhere). Before (dec905ca; log S − Σ pᵢxᵢ cancels where the entropy is small): constant, float64 past 4 ULP
    # at 71 of 270 (worst 8.6e15), float32 past 8 at 12 of 211 (worst 1.5e7), never worse than torch (past at 168,
    # 107); three, float64 88 of 268 (worst 1.4e17, worse than torch at 22; torch past at 192), float32 13 of 203
    # (worst 1.9e7, worse than torch at 3; torch 113). A first form of the fix with δ·e^−δ: 81 ULP at
    # T = −0.0035167, a = 3.458, b = −2.509 (constant; e^−713.6 subnormal, the entropy 9.1e−308 not)
    T, xs = _ordinary(300, 4610 + logits, logits)
    T, xs = np.asarray(T, dtype).astype(np.float64), [np.asarray(v, dtype).astype(np.float64) for v in xs]
    ref = _entropy(T, xs, constant).astype(dtype).astype(np.float64)
    normal = np.abs(ref) >= np.finfo(dtype).tiny
    got, theirs = _dT(formula, T, xs, dtype), _torch_dT(T, xs, constant, dtype)
    ok, worst = _within(got[normal], ref[normal], theirs[normal], dtype)
    assert ok and worst <= BOUND[dtype], worst
    assert np.all(np.abs(got - ref)[~normal] <= 4 * np.finfo(dtype).tiny * np.finfo(dtype).eps)  # (subnormal)


def _smooth_max_truth(T, a, b, ca, cb):
    """T·log(ca·e^(a/T) + cb·e^(b/T)) at 60 digits, shifted by its largest exponent (mpmath's exponent is unbounded)."""
    out = []
    with mpmath.workdps(60):
        for t, x, y in zip(T, a, b):
            t, x, y = mpmath.mpf(float(t)), mpmath.mpf(float(x)), mpmath.mpf(float(y))
            m = max(x / t, y / t)
            out.append(float(t * (m + mpmath.log(ca * mpmath.exp(x / t - m) + cb * mpmath.exp(y / t - m)))))
    return np.array(out)


@pytest.mark.parametrize("formula, ca, cb", [("T*log(exp(a/T) + 2*exp(b/T))", 1, 2),
                                             ("T*log((exp(a/T) + exp(b/T))/2)", 0.5, 0.5)], ids=["2e^b", "half"])
def test_near_miss_smooth_maxes_around_tiny_temperatures(formula, ca, cb):
    # test_break45's near misses, 300 points: T = ±10^U(−323.3, 0), a, b in U(−5, 5), float64 (scaled-max's select at
    # |max xᵢ| > 2⁵⁵·(n + ⌈C⌉)). Before (dec905ca): 2e^b past 4 ULP at 14 of 300 (±inf at all 14), never worse than
    # torch (torch past at 296); half past at 14 (±inf at 8, NaN at 6: worse than torch at those 6; torch past at 296)
    rng = np.random.default_rng(4620)
    T = 10.0 ** rng.uniform(-323.3, 0, 300) * rng.choice([-1.0, 1.0], 300)
    a, b = rng.uniform(-5, 5, 300), rng.uniform(-5, 5, 300)
    ref = _smooth_max_truth(T, a, b, ca, cb)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f = np.asarray(compiled(formula)(T, a, b)[0], np.float64)
        torch = pytest.importorskip("torch")
        t, x, y = (torch.tensor(v) for v in (T, a, b))
        theirs = (t * torch.log(ca * torch.exp(x / t) + cb * torch.exp(y / t))).numpy()
    ok, worst = _within(f, ref, theirs, np.float64)
    assert ok and worst <= 4, worst
