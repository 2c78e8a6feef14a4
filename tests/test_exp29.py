"""Session 29 (h-exp29, issue 16: exact and stable for any formula, ≤ 4 ULP float64, ≤ 8 ULP float32, never worse
than torch): exponentials that overflow where the result is finite.

* **f·b^u, f a factor holding a variable** (an input c in c·2^x, 1/x in e^x/x), past b^u's overflow: b^u rounded
  first to inf, the product inf where it is finite. ``_exp_overflowed`` took a constant c only. Now
  ``_exp_overflowed_by`` (both backends) takes it again there as b^(u − a)·(f·b^a). Before, float64: c·2^x at
  (0.5, 1024) inf for 8.99e307; e^x/x at 709.9 inf for 2.847e305 and its ∂ NaN (inf − inf) for 2.843e305; 2^x/x at
  1024.25 inf for 2.087e305, ∂ NaN for 1.445e305; float32 c·e^x at (0.5, 89) inf for 2.24e38 (torch inf / NaN at
  each).

* **exp-product-cancel** (a rule): a product of exponentials whose exponents' variables cancel in their sum is one
  exponential of the sum. Before, float64: e^x·e^(−y)·e^(y − x) ≡ 1 inf at (709.8, 0.87), NaN (0·inf) at (−30, 3e38)
  (torch the same); z·e^(x + y)·e^(−y) NaN at (x, y, z) = (1, 800, 1) for e (inf·0).

* **log(f·b^u), log1p(f·b^u) where the product overflows** and its log does not: k·u + log f there
  (``_log_overflowed``, both backends). Before: log1p(y·e^x) float32 at (89.36, 128.69) inf for 94.2162; float64 at
  (800, 0.5) inf for 799.31; log(y·2^x) at (1100, 0.25) inf for 761.08 (torch inf at each).
* **c·e^u inside a widened sum** (NumPy): the double-word function's float64 body computes e^u whole, and where its
  value was inf it was the result. Now that value is taken again as the kernel prints it outside (with
  ``_exp_overflowed``). Before: e^x/2 + y at (709.9, 1) inf for 1.011e308 (torch inf).

References: mpmath at 50 digits.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch

E = mpmath.exp

_x, _y, _z = sp.symbols("x y z", real=True)
# (rule, formula, variables, the range of its ordinary points, the point where the written form fails, dtype): the
# cases tests/test_stability_rules.py checks for every rule (a symbolic identity; finite and right at the point)
RULE_CASES = [
    ("exp-product-cancel", _z * sp.exp(_x + _y) * sp.exp(-_y), (_x, _y, _z), (-4.0, 4.0), (1.0, 800.0, 1.0),
     np.float64),
]
BOUND = {np.float64: 4.0, np.float32: 8.0}


def _ulps(got, want, dtype) -> float:
    """|got − want| in units of the last place of want in dtype; 0 where both are the same ±inf."""
    want = mpmath.mpf(want)
    big = float(np.finfo(dtype).max)
    w = float(want) if abs(want) <= big else float(mpmath.sign(want)) * np.inf
    got = float(got)
    if np.isinf(w) or np.isinf(got):
        return 0.0 if got == w else np.inf
    return abs(got - w) / float(np.spacing(dtype(abs(w))))


def _run(formula, backend, dtype, **inputs):
    k = compiled(formula, backend)
    arrays = {n: np.array(v, dtype) for n, v in inputs.items()}
    if backend == "triton":
        torch = triton_torch()
        return [o.numpy() for o in k(**{n: torch.from_numpy(a) for n, a in arrays.items()})]
    return k(**arrays)


# ------------------------------------------------------------------ f·b^u, f holding a variable

def _exp_over_x(x):
    return E(x) / x, E(x) / x - E(x) / x ** 2


def _exp2_over_x(x):
    p = mpmath.power(2, x)
    return p / x, mpmath.log(2) * p / x - p / x ** 2


# (formula, dtype, inputs (name → points), the exact outputs in the kernel's order at a point)
FACTOR = [
    ("c*2**x", np.float64, {"c": [0.5, 0.25, 1e-300, -0.5, 3.0, 0.5], "x": [1024.0, 1025.5, 2000.0, 1024.0, 1024.0, 5.0]},
     lambda c, x: (c * mpmath.power(2, x), mpmath.power(2, x), c * mpmath.log(2) * mpmath.power(2, x))),
    ("c*exp(x)", np.float32, {"c": [0.5, 0.125, 1e-30, -0.5, 4.0, 0.5], "x": [89.0, 90.5, 150.0, 89.0, 89.0, 3.0]},
     lambda c, x: (c * E(x), E(x), c * E(x))),
    ("exp(x)/x", np.float64, {"x": [709.9, 710.0, 712.0, 3.5]}, _exp_over_x),
    ("exp2(x)/x", np.float64, {"x": [1024.25, 1030.0, 2.5]}, _exp2_over_x),
    ("exp(x)/x", np.float32, {"x": [88.9, 90.0, 3.5]}, _exp_over_x),
]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("formula,dtype,inputs,exact", FACTOR, ids=[f"{f}-{d.__name__}" for f, d, *_ in FACTOR])
def test_an_exponential_times_a_variable_factor_past_its_overflow(backend, formula, dtype, inputs, exact):
    """Every output within the bound (or the right ±inf where the truth is past the range). Before: inf or NaN at
    each point past b^u's overflow (c·2^x at (0.5, 1024): inf for 8.99e307; e^x/x at 709.9: inf for 2.847e305, ∂
    NaN for 2.843e305; float32 c·e^x at (0.5, 89): inf for 2.24e38)."""
    got = _run(formula, backend, dtype, **inputs)
    names = list(inputs)
    with mpmath.workdps(50):
        for i in range(len(inputs[names[0]])):
            point = [mpmath.mpf(float(dtype(inputs[n][i]))) for n in names]
            for k, want in enumerate(exact(*point)):
                assert _ulps(got[k][i], want, dtype) <= BOUND[dtype], (k, point, float(got[k][i]), mpmath.nstr(want, 10))


def test_a_variable_factor_at_inf_zero_and_nan():
    """c·e^x with c = ±inf, 0, NaN past e^x's overflow: ±inf, 0, NaN (the product is taken again only where it is
    ±inf and u is past a; session 30, h-under30: and where c is an input 0, whose product with the finite e^710 is 0 —
    it was NaN, 0·inf, as torch's)."""
    f = _run("c*exp(x)", "numpy", np.float64, c=[np.inf, -np.inf, 0.0, np.nan], x=[710.0] * 4)[0]
    assert f[0] == np.inf and f[1] == -np.inf and f[2] == 0 and np.isnan(f[3]), f


# ------------------------------------------------------------------ exp-product-cancel

@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_exponentials_whose_exponents_cancel(backend, dtype):
    """e^x·e^(−y)·e^(y − x) ≡ 1 (∂ 0) and z·e^(x + y)·e^(−y) = z·e^x. Before, float64: inf at (709.8, 0.87), NaN at
    (−30, 3e38); z·e^(x + y)·e^(−y) NaN at (1, 800, 1) (float32 NaN from y = 89)."""
    x, y = [709.8, -30.0, 1.0, 0.0], [0.87, 3e38, -2.5, 0.0]
    if dtype == np.float32:
        x, y = [88.5, -30.0, 1.0, 0.0], [0.87, 3e38, -2.5, 0.0]
    f, dx, dy = _run("exp(x)*exp(-y)*exp(y - x)", backend, dtype, x=x, y=y)
    assert np.all(f == 1) and np.all(dx == 0) and np.all(dy == 0), (f, dx, dy)
    x, y, z = [1.0, 2.0, -3.0], [800.0, -800.0, 95.0], [1.0, 0.5, 2.0]
    f, dx, dy, dz = _run("z*exp(x + y)*exp(-y)", backend, dtype, x=x, y=y, z=z)
    with mpmath.workdps(50):
        for i in range(3):
            X, Z = mpmath.mpf(float(dtype(x[i]))), mpmath.mpf(float(dtype(z[i])))
            for got, want in ((f[i], Z * E(X)), (dx[i], Z * E(X)), (dy[i], 0), (dz[i], E(X))):
                assert _ulps(got, want, dtype) <= BOUND[dtype] if want else got == 0, (i, float(got), want)


def test_exp_product_cancel_leaves_sums_that_keep_their_variables():
    """Exactness: the rewrite is e^a·e^b = e^(a + b) (SymPy agrees symbolically), and it is not applied where no
    variable cancels (e^x·e^y, e^(a − m)·e^(m − b) of a max shift): there e^(a + b) rounds a + b first."""
    from symnet.codegen.rewrite import _exp_product_cancel
    x, y, z = sp.symbols("x y z", real=True)
    fired = _exp_product_cancel(z * sp.exp(x + y) * sp.exp(-y))
    assert fired.expr == z * sp.exp(x) and sp.simplify(fired.expr - z * sp.exp(x + y) * sp.exp(-y)) == 0
    assert _exp_product_cancel(sp.exp(x) * sp.exp(-y) * sp.exp(y - x)).expr == 1
    m = sp.Max(x, y)
    assert _exp_product_cancel(sp.exp(x) * sp.exp(y)) is None
    assert _exp_product_cancel(sp.exp(x - m) * sp.exp(m - y)) is None


# ------------------------------------------------------------------ log(f·b^u), log1p(f·b^u) past the product's overflow

# (formula, dtype, inputs, the exact f)
LOG_OF_PRODUCT = [
    ("log1p(exp(x)*y)", np.float32, {"x": [89.35884857177734, 200.0, 3.0, 3.0], "y": [128.6876220703125, 0.5, 2.0, -0.01]},
     lambda x, y: mpmath.log1p(y * E(x))),
    ("log1p(exp(x)*y)", np.float64, {"x": [800.0, 709.9, 1.5], "y": [0.5, 3e300, 2.0]},
     lambda x, y: mpmath.log1p(y * E(x))),
    ("log(y*2**x)", np.float64, {"x": [1100.0, 1024.0, 2.0], "y": [0.25, 3.0, 5.0]},
     lambda x, y: mpmath.log(y * mpmath.power(2, x))),
]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("formula,dtype,inputs,exact", LOG_OF_PRODUCT,
                         ids=[f"{f}-{d.__name__}" for f, d, *_ in LOG_OF_PRODUCT])
def test_the_log_of_an_overflowing_product(backend, formula, dtype, inputs, exact):
    """f within the bound where y·b^x overflows and its log does not. Before: inf (log1p(y·e^x) float32 at (89.36,
    128.69) for 94.2162; float64 at (800, 0.5) for 799.31; log(y·2^x) at (1100, 0.25) for 761.08; torch inf too)."""
    f = _run(formula, backend, dtype, **inputs)[0]
    with mpmath.workdps(50):
        for i in range(len(inputs["x"])):
            want = exact(*[mpmath.mpf(float(dtype(inputs[n][i]))) for n in inputs])
            assert _ulps(f[i], want, dtype) <= BOUND[dtype], (i, float(f[i]), mpmath.nstr(want, 10))


def test_the_log_of_an_overflowing_product_with_y_not_positive():
    """y ≤ 0 or NaN past the overflow: as before (log1p(−inf) NaN, the truth's; log(0·inf) NaN)."""
    f = _run("log1p(exp(x)*y)", "numpy", np.float64, x=[800.0, 800.0, 800.0], y=[-0.5, np.nan, np.inf])[0]
    assert np.isnan(f[0]) and np.isnan(f[1]) and f[2] == np.inf, f


# ------------------------------------------------------------------ c·e^u inside a widened sum (NumPy's double-word function)

@pytest.mark.parametrize("n", [1, 3, 40], ids=["one", "three", "forty"])
def test_a_constant_times_an_exponential_inside_a_widened_sum(n):
    """e^x/2 + y and y − e^x/3 (float64) with x past e^x's overflow beside ordinary points (one element, a block
    where most are past, one where few are: the double word gathered): within 4 ULP. Before: inf / −inf at
    (709.9, 1) for 1.011e308 / −6.74e307."""
    rng = np.random.default_rng(29)
    x = np.where(np.arange(n) % 3 == 0, 709.9, rng.uniform(-5, 5, n)) if n > 1 else np.array([709.9])
    y = rng.uniform(-3, 3, n)
    for formula, exact in (("exp(x)/2 + y", lambda x, y: E(x) / 2 + y), ("y - exp(x)/3", lambda x, y: y - E(x) / 3)):
        f = _run(formula, "numpy", np.float64, x=x, y=y)[0]
        with mpmath.workdps(50):
            for i in range(n):
                want = exact(mpmath.mpf(float(x[i])), mpmath.mpf(float(y[i])))
                assert _ulps(f[i], want, np.float64) <= 4.0, (formula, x[i], y[i], float(f[i]), mpmath.nstr(want, 10))
