"""Session 45, helper smax45: the smooth max with a constant logit, T·log(e^(a/T) + e^(b/T) + 1), where a/T and b/T
both overflow (a subnormal T).

Fixed here:
- its gradient: the overflowed-shift rule (symnet/codegen/rewrite/shifts.py), which compares r_a with r_b where the
  max-shifted e^(a/T − m) overflows, wanted every argument of m = max(0, a/T, b/T) to share the factor 1/T: the 0 kept
  it out, and infinite-shift's exp_shift took a/T = b/T = +inf as a tie (1 each), so ∂a = ∂b = 0.5 where the limits
  are 0 and 1 (_shared_factor takes the 0 as 0·(1/T));
- its value: the scaled-max rule took only sums of exponentials, so the 1 kept it from b (f = inf; softmax.py,
  _scaled_max_node takes 1 as e^(0/T)).

References: mpmath (100 digits) of the weights e^(a/T)/(e^(a/T) + e^(b/T) + 1) and of f; torch autograd at the same
points in the same dtype. Befores measured on fdeb7c4f (this branch's base) at the same points.
"""
import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled
from test_break45 import _subnormal_temperatures

FORMULA = "T*log(exp(a/T) + exp(b/T) + 1)"


def _run(T, a, b, dtype=np.float64):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [np.asarray(v, np.float64) for v in compiled(FORMULA)(*(np.asarray(v, dtype) for v in (T, a, b)))]


def _torch(T, a, b, dtype):
    torch = pytest.importorskip("torch")
    kind = torch.float64 if dtype == np.float64 else torch.float32
    T, a, b = (torch.tensor(np.asarray(v, dtype), dtype=kind, requires_grad=True) for v in (T, a, b))
    f = T * torch.log(torch.exp(a / T) + torch.exp(b / T) + 1)
    _, da, db = torch.autograd.grad(f.sum(), (T, a, b))
    return f.detach().double().numpy(), da.double().numpy(), db.double().numpy()


def _truth(T, a, b):
    """f and the weights ∂a, ∂b at 100 digits (each rounded to float64)."""
    out = []
    with mpmath.workdps(100):
        for t, x, y in zip(T, a, b):
            t, x, y = mpmath.mpf(float(t)), mpmath.mpf(float(x)), mpmath.mpf(float(y))
            m = max(x / t, y / t, 0)
            ea, eb, e0 = mpmath.exp(x / t - m), mpmath.exp(y / t - m), mpmath.exp(-m)
            s = ea + eb + e0
            out.append((float(t * (m + mpmath.log(s))), float(ea / s), float(eb / s)))
    return np.array(out).T


def test_weights_and_value_where_both_exponents_overflow():
    # before (fdeb7c4f): ∂a = ∂b = 0.5 at 200 of 200 points (limits 0 and 1), f = inf for b at 200 of 200;
    # torch: f inf, ∂a and ∂b NaN at all 200
    T, a, b = _subnormal_temperatures()
    f, _, da, db = _run(T, a, b)
    assert np.array_equal(f, b) and np.all(da == 0) and np.all(db == 1)
    tf, tda, tdb = _torch(T, a, b, np.float64)
    assert np.all(np.isinf(tf)) and np.all(np.isnan(tda)) and np.all(np.isnan(tdb))  # torch: never better here


def test_weights_in_the_neighbourhood_order_and_ties():
    # a > b (the weights swap), a = b (a tie: 1/2 each, the limit along the diagonal), and a, b < 0 (the logit 0
    # wins: 0, 0, f = 0); before: 0.5, 0.5 at every point with a, b > 0, f inf
    T, a, b = _subnormal_temperatures()
    f, _, da, db = _run(T, b, a)
    assert np.array_equal(f, b) and np.all(da == 1) and np.all(db == 0)
    f, _, da, db = _run(T, a, a)
    assert np.array_equal(f, a) and np.all(da == 0.5) and np.all(db == 0.5)
    f, _, da, db = _run(T, -a, -b)
    assert np.all(f == 0) and np.all(da == 0) and np.all(db == 0)


# float64 was a strict xfail until session 46 (h-smax46, the compensated-sum rule takes the constant logit's e^−m):
# ∂a, ∂b past 4 ULP at 55 and 40 of 200 points, worst 565 and 336 ULP, worse than torch at 9 and 5 of those (torch
# worst 6.2e15 and 202): the exponents a/T − m rounded, |a/T| up to 5000 (e^v's error |v|·ε); now 0 past 4 ULP
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_weights_at_ordinary_temperatures_stay_accurate(dtype):
    # not past 4 / 8 ULP (absolute, in units of the weight's own ulp) and never worse than torch at 200 points with
    # T in 10^[−3, 1], a, b in [−5, 5] (below the overflowed-shift rule's 3.4e38)
    rng = np.random.default_rng(45)
    T, a, b = 10.0 ** rng.uniform(-3, 1, 200), rng.uniform(-5, 5, 200), rng.uniform(-5, 5, 200)
    T, a, b = (np.asarray(v, dtype).astype(np.float64) for v in (T, a, b))
    tf, tda, tdb = _truth(T, a, b)
    f, _, da, db = _run(T, a, b, dtype)
    _, qa, qb = _torch(T, a, b, dtype)
    bound = 4.0 if dtype == np.float64 else 8.0
    for got, ref, theirs in [(da, tda, qa), (db, tdb, qb)]:
        ref = ref.astype(dtype).astype(np.float64) if dtype == np.float32 else ref
        unit = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
        unit = np.maximum(unit, np.finfo(dtype).tiny * np.finfo(dtype).eps)
        err, their = np.abs(got - ref) / unit, np.nan_to_num(np.abs(theirs - ref) / unit, nan=np.inf)
        assert np.all(err <= np.maximum(bound, their))
