"""Session 37 (h-brk37): the two faults session 36's breaker left open (issue 16).

1. abs-sign's sum-level join c·|u|/u·R + d·sign(u)·R → (c + d)·|u|/u·R lost the sum's 0/0 at u = 0 where c + d = 0
   (SymPy drops 0·|u|/u·R): |x|·y/x − sign(x)·y, |x|/x − sign(x), 2|x|/x − 2sign(x) + x were 0 (or x) at x = ±0 where
   the formula is 0/0 and torch NaN. Now the pair is one grouped term c·R·(|u|/u − sign(u)): exactly 0 at every finite
   u ≠ 0, NaN at u = 0 (and NaN or the limit 0 at ±∞, as test_tidy36 allows).
2. float32 products of four or five factors whose partial products leave the range while the whole does not (NumPy, and
   Triton below its accuracy threshold): ∂v of v·w·x·y·z 55.2 ULP at (1e−30, 1e−30, 1e−10, 1e−30, 3e38), ∂y inf for
   9.0e6 at (3e38, 1e−30, 1e−40, 1.5, 3e38). Now computed in float64 from their float32 leaves, rounded once.

Truths: exact values (0, x) where the formula is one, by mpmath at 60 digits; torch autograd float64 for torch's
conventions at 0, ±∞ and NaN, torch float32 autograd for its products; errors in ULPs of the kernel's dtype (conftest.ulps)."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_brk36 import PRODUCT_POINTS, _run  # the kernel's outputs by name; the four points of its fault

F64, F32 = np.float64, np.float32


# ---------------------------------------------------------------- 1. abs-sign's join where c + d = 0

# formula → (torch's form, the exact value at finite x ≠ 0 as a function of mpmath x, y). Forms: the three of
# tests/test_brk36.py, the pair's other sign, a number and a function in R, the pair beside another |x|/x term.
PAIR_FORMS = {
    "abs(x)*y/x - sign(x)*y": (lambda X, Y: X.abs() * Y / X - X.sign() * Y, lambda x, y: 0),
    "abs(x)/x - sign(x)": (lambda X, Y: X.abs() / X - X.sign(), lambda x, y: 0),
    "2*abs(x)/x - 2*sign(x) + x": (lambda X, Y: 2 * X.abs() / X - 2 * X.sign() + X, lambda x, y: x),
    "y*sign(x) - abs(x)*y/x": (lambda X, Y: Y * X.sign() - X.abs() * Y / X, lambda x, y: 0),
    "abs(x)*exp(y)/(3*x) - sign(x)*exp(y)/3 + y": (
        lambda X, Y: X.abs() * Y.exp() / (3 * X) - X.sign() * Y.exp() / 3 + Y, lambda x, y: y),
}


def _pair_points(dtype, seed):
    """x: ±0, 200 log-uniform from the least subnormal over 40 decades (both signs), the least normal, 1e−5, 1.5, 1e30,
    the largest number, ±inf, NaN; y: 2 at the first half, log-uniform ±[1e−3, 30] at the rest (e^y finite)."""
    info = np.finfo(dtype)
    rng = np.random.default_rng(seed)
    low = np.log10(float(info.smallest_subnormal))
    xs = np.r_[10 ** rng.uniform(low, low + 40, 100), float(info.tiny), 1e-5, 1.5, 1e30, float(info.max)]
    xs = np.r_[0.0, -0.0, xs, -xs, np.inf, -np.inf, np.nan].astype(dtype)
    ys = np.where(np.arange(xs.size) < xs.size // 2, 2.0,
                  rng.choice([-1, 1], xs.size) * 10 ** rng.uniform(-3, np.log10(30), xs.size)).astype(dtype)
    return xs, ys


def _torch_pair(formula, xs, ys):
    """torch autograd float64 of the form: {"f", "df_dx", "df_dy"} as float64 arrays."""
    torch = pytest.importorskip("torch")
    X = torch.tensor(xs.astype(F64), requires_grad=True)
    Y = torch.tensor(ys.astype(F64), requires_grad=True)
    v = PAIR_FORMS[formula][0](X, Y)
    v.sum().backward()
    return {"f": v.detach().numpy(), "df_dx": X.grad.numpy(), "df_dy": None if Y.grad is None else Y.grad.numpy()}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(PAIR_FORMS))
def test_abs_sign_pair_whose_numbers_cancel_keeps_nan_at_zero(formula, dtype):
    """f NaN at x = ±0 (torch NaN: 0/0), and so is every derivative that holds the pair (∂y; ∂x where it is not
    SymPy's own sign(x)/x − |x|/x², which test_tidy36 allows to be 0); exact (0 ULP against mpmath) at every finite
    x ≠ 0; at ±∞ NaN or the limit (torch NaN: inf/inf); NaN at NaN (∂x: SymPy's constant, or NaN)."""
    xs, ys = _pair_points(dtype, 3700 + len(formula) + (dtype is F32))
    got = _run(formula, dtype, x=xs, y=ys) if "y" in formula else _run(formula, dtype, x=xs)
    theirs = _torch_pair(formula, xs, ys)
    exact = PAIR_FORMS[formula][1]
    with mpmath.workdps(60):
        for i, (x, y) in enumerate(zip(xs, ys)):
            X, Y = mpmath.mpf(float(x)), mpmath.mpf(float(y))
            truths = {"f": exact(X, Y), "df_dx": 1 if "+ x" in formula else 0, "df_dy": 1 if "+ y" in formula else 0}
            for name, out in got.items():
                g = float(out[i])
                if (x == 0 or np.isnan(x)) and name == "df_dx":  # SymPy's sign(x)/x − |x|/x² is 0 as written
                    assert g == truths[name] or np.isnan(g), (formula, name, x, g)  # (test_tidy36 allows it)
                elif x == 0 or np.isnan(x):
                    assert np.isnan(g) and np.isnan(theirs[name][i]), (formula, name, x, g, theirs[name][i])
                elif np.isinf(x):
                    assert np.isnan(g) or g == truths[name], (formula, name, x, g)
                else:
                    assert ulps(g, truths[name], dtype) == 0, (formula, name, x, y, g)


def test_abs_sign_pair_keeps_the_rest_of_the_sum_exact():
    """2·|x|/x − 2·sign(x) + x is x at every finite x ≠ 0 (the pair's group is 0, added to x once): the join's
    guard of tests/test_brk36.py, on 200 points near 1 and near the largest number too."""
    rng = np.random.default_rng(3705)
    for dtype in (F64, F32):
        top = np.log10(float(np.finfo(dtype).max))
        xs = (rng.choice([-1, 1], 200) * 10 ** rng.uniform(-3, top, 200)).astype(dtype)
        assert np.array_equal(_run("2*abs(x)/x - 2*sign(x) + x", dtype, x=xs)["f"], xs)


def test_abs_sign_pair_whose_quotient_term_joins_another_pair():
    """|x|·sign(y)/x − sign(x)·sign(y) + 5·|x·y|/(x·y): the |x|/x term holds sign(y), which joins it to the |x|·|y|/(x·y)
    term first; the join then leaves the sum as written (it dropped −sign(x)·sign(y) before the guard). f is 5·sign(x)·
    sign(y) exactly at 200 points x, y log-uniform over ±[1e−300, 1e300] (f64), NaN at x = 0 or y = 0 (torch NaN)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3718)
    x = np.r_[0.0, -0.0, 1.0, rng.choice([-1, 1], 200) * 10 ** rng.uniform(-300, 300, 200)]
    y = np.r_[2.0, 2.0, 0.0, rng.choice([-1, 1], 200) * 10 ** rng.uniform(-300, 300, 200)]
    f = _run("abs(x)*sign(y)/x - sign(x)*sign(y) + 5*abs(x*y)/(x*y)", F64, x=x, y=y)["f"]
    X, Y = torch.tensor(x), torch.tensor(y)
    theirs = (X.abs() * Y.sign() / X - X.sign() * Y.sign() + 5 * (X * Y).abs() / (X * Y)).numpy()
    assert np.all(np.isnan(f[:3])) and np.all(np.isnan(theirs[:3])), f[:3]
    assert np.array_equal(f[3:], 5 * np.sign(x[3:]) * np.sign(y[3:])), f[3:]


def test_abs_sign_pair_triton():
    """The Triton kernel of the pair: NaN at ±0 (f and ∂y), exact 0 elsewhere, both dtypes (interpreter)."""
    torch = triton_torch()
    k = compiled("abs(x)*y/x - sign(x)*y", "triton")
    xs = np.array([0.0, -0.0, 1e-40, -1e-40, 1e-30, -1.5, 3e38, -1e30, np.nan])
    for dtype, tdtype in ((F64, torch.float64), (F32, torch.float32)):
        ys = np.full_like(xs, 2.0)
        with np.errstate(all="ignore"):
            f, dx, dy = [o.numpy() for o in k(torch.tensor(xs, dtype=tdtype), torch.tensor(ys, dtype=tdtype))]
        zero = (xs == 0) | np.isnan(xs)
        assert np.all(np.isnan(f[zero])) and np.all(np.isnan(dy[zero])), (dtype, f, dy)
        assert np.all(f[~zero] == 0) and np.all(dy[~zero] == 0) and np.all(dx[~zero] == 0), (dtype, f, dx, dy)


# ---------------------------------------------------------------- 2. float32 products whose partial products leave the range

# formula → (its variables, its number): f = c·Π, ∂v = c·Π of the others. Before (NumPy, and Triton below its
# accuracy threshold of four roundings), the float32 product rounded left to right and a partial product left the range
# where the whole does not: ∂v of v·w·x·y·z at (1e−30, 1e−30, 1e−10, 1e−30, 3e38) 55.2 ULP (x·y·z subnormal on the way;
# torch 0.23), ∂y inf for 8999951.6 at (3e38, 1e−30, 1e−40, 1.5, 3e38) (torch 0.45). Now a product of three
# multiplications or more (ConditionalPrinting._long_product) is computed in float64 from its float32 leaves and
# rounded once (≤ 0.5 ULP and a float64 error) on both backends.
PRODUCT_FORMS = {"v*w*x*y*z": ("vwxyz", 1), "w*x*y*z": ("wxyz", 1), "3*x*y*z": ("xyz", 3)}
_SIZES = [3e38, 1e30, 1e10, 1.5, 2.0, 1e-10, 1e-30, 1e-40, 0.0]


def _product_points(n, width, seed):
    """The four points of tests/test_brk36.py (their first ``width`` coordinates) and n − 4 more: each coordinate one
    of _SIZES times 10^−U(0, 1), either sign: partial products past float32's range either way, most wholes within."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice(_SIZES, (n - 4, width)) * 10 ** -rng.uniform(0, 1, (n - 4, width))
    drawn = sizes * rng.choice([-1, 1], (n - 4, width))
    return np.r_[np.array(PRODUCT_POINTS)[:, :width], drawn].astype(F32)


def _product_truths(point, c):
    """{"f": c·Π, "df_d<v>": c·Π of the others} exactly (mpmath), the point's float32 values as given."""
    vals = [mpmath.mpf(float(v)) for v in point]
    return [c * mpmath.fprod(vals)] + [c * mpmath.fprod(vals[:i] + vals[i + 1:]) for i in range(len(vals))]


def _torch_product(formula, P):
    """torch float32 autograd of the product, left to right as written: [f, ∂ each variable] as float64 arrays."""
    torch = pytest.importorskip("torch")
    names, c = PRODUCT_FORMS[formula]
    T = [torch.tensor(P[:, i], requires_grad=True) for i in range(len(names))]
    v = T[0] * c if c != 1 else T[0]
    for t in T[1:]:
        v = v * t
    v.sum().backward()
    return [v.detach().numpy().astype(F64)] + [t.grad.numpy().astype(F64) for t in T]


@pytest.mark.parametrize("formula", list(PRODUCT_FORMS))
def test_float32_product_whose_partial_products_leave_the_range(formula):
    """A product of three multiplications or more (f, ∂ of the five-factor form): ≤ 0.5 ULP and a float64 error
    against mpmath at every point (0 where the truth is, the infinity of its sign past the range). Every output (a
    three-factor ∂, two float32 roundings, not taken): ≤ 8 ULP or torch float32's error there. 200 points, NumPy."""
    names, c = PRODUCT_FORMS[formula]
    P = _product_points(200, len(names), 3710 + len(names) + c)
    got = _run(formula, F32, **{n: P[:, i] for i, n in enumerate(names)})
    outs = [got["f"]] + [got[f"df_d{n}"] for n in names]
    # the outputs of three multiplications or more; c·x·y·z is not a product when printed (_constant_product, the
    # constant placed per element) and keeps its bound of 8 ULP or torch's
    long = [c == 1] + [c == 1 and len(names) - 2 >= 3] * len(names)
    theirs = _torch_product(formula, P)
    worst = [0.0, 0.0]  # (the long products', the others')
    with mpmath.workdps(60):
        for j, point in enumerate(P):
            for out, their, truth, widened in zip(outs, theirs, _product_truths(point, c), long):
                e = ulps(out[j], truth, F32)
                worst[not widened] = max(worst[not widened], e)
                bound = 0.51 if widened else max(8.0, ulps(their[j], truth, F32))
                assert e <= bound, (formula, tuple(point), float(out[j]), truth, float(their[j]))
    assert worst[0] <= 0.51 and worst[1] <= 8, worst


def test_float32_product_whose_partial_products_leave_the_range_triton():
    """The same in Triton's float32 kernel (interpreter), 24 points of the four-factor form (below the accuracy
    threshold of four roundings, so widened for its range only): f ≤ 0.5 ULP, its three-factor ∂ ≤ 8."""
    torch = triton_torch()
    k = compiled("w*x*y*z", "triton")
    P = _product_points(24, 4, 3716)
    with np.errstate(all="ignore"):
        outs = [o.numpy() for o in k(*[torch.tensor(P[:, i]) for i in range(4)])]
    with mpmath.workdps(60):
        errors = np.array([[ulps(out[j], truth, F32) for out, truth in zip(outs, _product_truths(point, 1))]
                           for j, point in enumerate(P)])
    assert errors[:, 0].max() <= 0.51 and errors.max() <= 8, errors.max(axis=0)


def test_float64_product_is_printed_as_before():
    """A float64 kernel's product is the one it was (the float32 form is selected by the kernel's dtype): the same
    bits as NumPy's left-to-right float64 product as CSE writes it, at 200 ordinary points."""
    rng = np.random.default_rng(3717)
    P = rng.uniform(-2, 2, (200, 4))
    got = _run("w*x*y*z", F64, w=P[:, 0], x=P[:, 1], y=P[:, 2], z=P[:, 3])
    assert "_float32_product(" in compiled("w*x*y*z").source
    assert np.allclose(got["f"], np.prod(P, axis=1), rtol=4e-16, atol=0)
