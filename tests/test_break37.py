"""Session 37 (h-break37): a hostile tester's faults in what session 37 merged (float32 long products, by-exponents).

1. Fixed: a float32 product or quotient of five inputs taken again by exponents (_taken_by_exponents, Triton's
   _taken_far) passed the factors past _constant_far's fourth slot as one float32 product (y·z), which overflowed or
   underflowed where the whole did not: ∂v of w·x·y·z/v at (v, w, x, y, z) = (4.0e28, 8.0, 7.0e31, −1.5e18, −1.9e35)
   was −inf for −9.88e28 on both backends (torch float32 −inf). That rest is now computed in float64 from its float32
   leaves (ConditionalPrinting._widened_far_rest) and rounded once with the rest.
2. Fixed: _exp_overflowed_by where f = n/d^p underflowed while b^u overflowed: e^v·w·x·y/z at (800, 1, 1, 1e−300,
   1e100) float64 was 0 for 2.73e−53 (torch inf); now by frexp of n and d (NumPy).
3. Fixed: abs-quotient-sum where S = |x| + |y| overflows with x, y finite: softsign(x/y) at x = y = 3e38 float32 was 0
   for 0.5 (torch 0.5); now over S/2.
4. Open (strict xfails, measured): float32 partial products that are subnormal inside one printed product, which the
   by-exponents test (is the result, or a held temporary, not normal?) does not see; Triton's e^v·(n/d) of 2; float32
   ∂x of √(x² + y²)·z where z/√(x² + y²) overflows first (torch inf too).

Truths: mpmath at 60 digits of the products as written here (not the generated code); torch float32 autograd for
torch's figures; errors in ULPs of float32 (conftest.ulps)."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

F32 = np.float32
FAULT = (4.013288043894023e+28, 8.005829811096191, 7.0330057447122e+31, -1.5016614416089088e+18,
         -1.8821163007615773e+35)  # (v, w, x, y, z)


def _products(v, w, x, y, z):
    """The outputs of w·x·y·z/v (mpmath numbers), by name: f, ∂v … ∂z."""
    return {"f": w * x * y * z / v, "df_dv": -w * x * y * z / v ** 2, "df_dw": x * y * z / v,
            "df_dx": w * y * z / v, "df_dy": w * x * z / v, "df_dz": w * x * y / v}


def _around(point, n, seed):
    """n points: each input the fault's times 2^u, u uniform in [−3, 3] (the fault's first; float32)."""
    rng = np.random.default_rng(seed)
    cols = np.asarray(point)[:, None] * 2.0 ** rng.uniform(-3, 3, (len(point), n))
    cols[:, 0] = point
    return cols.astype(F32)


def _worst(formula, cols, outputs, backend="numpy"):
    """(worst ULP, name, point) of the kernel's float32 outputs against mpmath's."""
    k = compiled(formula, backend)
    assert k.inputs == ("v", "w", "x", "y", "z")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "triton":
            torch = triton_torch()
            got = [g.cpu().numpy() for g in k(*[torch.tensor(c) for c in cols])]
        else:
            got = k(*cols)
    worst = (0.0, None, None)
    with mpmath.workdps(60):
        for i in range(cols.shape[1]):
            truths = outputs(*(mpmath.mpf(float(c[i])) for c in cols))
            for name, out in zip(k.outputs, got):
                u = ulps(out[i], truths[name], F32)
                if u > worst[0]:
                    worst = (u, name, tuple(float(c[i]) for c in cols))
    return worst


def test_five_factor_product_taken_by_exponents_at_overflow_numpy():
    """w·x·y·z/v at the fault and 300 points around it (y·z overflows float32, the outputs are normal): every output
    ≤ 4 ULP against mpmath (1.53 measured, ∂z; was ∂v −inf for −9.88e28; torch float32 −inf)."""
    worst = _worst("w*x*y*z/v", _around(FAULT, 300, 3701), _products)
    assert worst[0] <= 4.0, worst


def test_five_factor_product_taken_by_exponents_at_overflow_triton():
    """The same on Triton (interpreter where there is no GPU): the fault and 15 points around it."""
    triton_torch()
    worst = _worst("w*x*y*z/v", _around(FAULT, 16, 3702), _products, backend="triton")
    assert worst[0] <= 4.0, worst


# ---------------------------------------------------------------- e^v·(n/d) where n/d underflows and e^v overflows

def _exp_products(v, w, x, y, z):
    """The outputs of e^v·w·x·y/z that hold the quotient y/z (mpmath numbers)."""
    e = mpmath.exp(v)
    return {"f": e * w * x * y / z, "df_dv": e * w * x * y / z, "df_dw": e * x * y / z, "df_dx": e * w * y / z}


@pytest.mark.parametrize("point, dtype", [
    ((800.0, 1.0, 1.0, 1e-300, 1e100), np.float64),  # y/z = 1e−400 underflows: was 0 for 2.73e−53 (torch inf)
    ((1000.0, -1e-3, 1e-100, -1e-200, 1e200), np.float64),  # was 0 for 1.97e−69 (torch inf)
], ids=["f64-800", "f64-1000"])
def test_exp_times_underflowed_quotient(point, dtype):
    """e^v·w·x·y/z where e^v overflows and y/z underflows, the product normal: the fault and 200 points around it
    (each input times 2^u, u in [−2, 2]; v + [−20, 20]); f, ∂v, ∂w, ∂x ≤ 4 ULP against mpmath."""
    rng = np.random.default_rng(3703 + int(point[0]))
    n = 200
    cols = np.asarray(point)[:, None] * 2.0 ** rng.uniform(-2, 2, (5, n))
    cols[0] = point[0] + rng.uniform(-20, 20, n)
    cols[:, 0] = point
    cols = cols.astype(dtype)
    k = compiled("exp(v)*w*x*y/z")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = dict(zip(k.outputs, k(*cols)))
    worst = (0.0, None, None)
    with mpmath.workdps(60):
        for i in range(n):
            truths = _exp_products(*(mpmath.mpf(float(c[i])) for c in cols))
            for name, truth in truths.items():
                u = ulps(got[name][i], truth, dtype)
                if u > worst[0]:
                    worst = (u, name, tuple(float(c[i]) for c in cols))
    assert worst[0] <= 4.0, worst


def test_exp_times_underflowed_quotient_float32_far_past_the_range():
    """float32 e^v·w·x·y/z at v = 2.6e20, y/z = 2.2e−48 (0 in float32): +inf, torch inf (was 0)."""
    cols = np.array([[2.554417783271525e+20], [-0.0006516983266919851], [2.346574795421778e+17],
                     [-1.0142866052905351e-20], [4.599592628160569e+27]], F32)
    k = compiled("exp(v)*w*x*y/z")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = dict(zip(k.outputs, k(*cols)))
    assert got["f"][0] == np.inf and got["df_dv"][0] == np.inf, got


# ---------------------------------------------------------------- open: strict xfails with measured reasons

# fixed session 38 (h-brk38: the product in float64 from its printed factors; tests/test_brk38.py, 800 points)
def test_five_factor_product_with_a_subnormal_partial_product():
    """Both points ≤ 8 ULP against mpmath (NumPy float32)."""
    cols = np.array([[4.9585808349356724e-17, -2.954287703360592e-09], [-1.1589036166610944e+16, -6.532491383563494e-19],
                     [-3.688265299111881e+25, -8.852610311471665e-11], [-1.5199431347952695e-18, 5.96341529234451e-16],
                     [-1.3670446727891741e-24, -9.641107512951477e+37]], F32)
    assert _worst("w*x*y*z/v", cols, _products)[0] <= 8.0


# fixed session 38 (h-brk38: Triton's _exp_underflowed_over past the overflow too; tests/test_brk38.py, 600 points)
def test_triton_exp_times_underflowed_quotient():
    torch = triton_torch()
    k = compiled("exp(v)*w*x*y/z", "triton")
    got = k(*[torch.tensor([a], dtype=torch.float64) for a in (800.0, 1.0, 1.0, 1e-300, 1e100)])
    with mpmath.workdps(60):
        truth = mpmath.exp(800) * mpmath.mpf(1e-300) / mpmath.mpf(1e100)
    assert ulps(float(got[0][0]), truth, np.float64) <= 4.0


# ---------------------------------------------------------------- abs-quotient-sum where S = |x| + |y| overflows

SOFTSIGN = "(x/y)/(1 + abs(x/y))"


@pytest.mark.parametrize("dtype", [np.float64, F32], ids=["float64", "float32"])
def test_softsign_of_a_quotient_where_the_sum_of_magnitudes_overflows(dtype):
    """softsign(x/y) over S = |x| + |y| (abs-quotient-sum), S past the range with x, y finite: at x = y = the dtype's
    largest and 200 points with |x|, |y| log-uniform in [max/8, max], both signs, f, ∂x, ∂y ≤ 4 ULP against mpmath
    (float32 at x = y = 3e38 was f 0 for 0.5 (torch 0.5), ∂x 0 for 8.3e−40; float64 at 1.7e308 the same)."""
    big = float(np.finfo(dtype).max)
    rng = np.random.default_rng(3704 + (dtype is F32))
    cols = (rng.choice([-1.0, 1.0], (2, 201)) * big * 2.0 ** rng.uniform(-3, 0, (2, 201))).astype(dtype)
    cols[:, 0] = big
    k = compiled(SOFTSIGN)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = dict(zip(k.outputs, k(*cols)))
    worst = (0.0, None, None)
    with mpmath.workdps(60):
        for i in range(cols.shape[1]):
            x, y = (mpmath.mpf(float(c[i])) for c in cols)
            truths = {"f": x / y / (1 + abs(x / y)), "df_dx": 1 / (y * (1 + abs(x / y)) ** 2),
                      "df_dy": -x / (y ** 2 * (1 + abs(x / y)) ** 2)}
            for name, truth in truths.items():
                u = ulps(got[name][i], truth, dtype)
                if u > worst[0]:
                    worst = (u, name, (float(x), float(y)))
    assert worst[0] <= 4.0, worst


def test_softsign_of_a_quotient_where_the_sum_of_magnitudes_overflows_triton():
    """Triton (interpreter where there is no GPU), float32: x = y = 3e38 and (−3e38, 2e38): f 0.5 and −0.6 to 1 ULP."""
    torch = triton_torch()
    k = compiled(SOFTSIGN, "triton")
    f = k(torch.tensor([3e38, -3e38], dtype=torch.float32), torch.tensor([3e38, 2e38], dtype=torch.float32))[0]
    assert [ulps(float(v), t, F32) for v, t in zip(f.cpu(), (0.5, mpmath.mpf(-3) / 5))] <= [1.0, 1.0], f


# fixed session 38 (h-brk38: FLOAT32_PRODUCT_RANGE 2; tests/test_brk38.py, 400 points)
def test_hypot_times_input_derivative_where_the_quotient_overflows():
    k = compiled("sqrt(x**2 + y**2)*z")
    point = np.array([[3.109129293337179e-33], [3.478554208413698e-05], [2.7429688606906835e+34]], F32)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = dict(zip(k.outputs, k(*point)))
    x, y, z = (mpmath.mpf(float(c[0])) for c in point)
    with mpmath.workdps(60):
        assert ulps(got["df_dx"][0], x * z / mpmath.sqrt(x ** 2 + y ** 2), F32) <= 8.0
