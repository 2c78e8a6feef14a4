"""Session 43, h-hyp43 (issue 16): the hypot / quotient family's remaining strict xfails.

References: mpmath (60 digits) of the derivatives written by hand, not the printed form; torch autograd in float64 at
the same points. The before of each test is in its comment (measured on main c9775006)."""
import os
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import ulps

BOUND = {np.float64: 4.0, np.float32: 8.0}
INVERSE_HYPOTENUSE = "z/sqrt(x**2 + y**2)"

_s, _x, _y = sp.symbols("s x y", real=True)
# tests/test_stability_rules.py's cases (rule, formula, variables, domain, bad point, dtype): the 50-digit exactness
# check over the domain, the symbolic identity, and the failing point in NumPy and Triton. asinh-far-sum: s·asinh(x/s),
# whose ∂s (the sum) was inf for 1016.89 at the point; halved-difference: y/(x − y), −0.46 at (1.3e308,
# −1.1e308) for which x − y overflows (0 as written)
RULE_CASES = [
    ("asinh-far-sum", _s * sp.asinh(_x / _s), (_s, _x), (0.5, 4.0),
     (-3.295302638074605e-244, -1.9136770859990167e198), np.float64),
    ("halved-difference", _y / (_x - _y), (_x, _y), (0.5, 4.0), (1.2961102112397205e308, -1.1150607536784788e308),
     np.float64),
]
# distributed-power-sum is tested here alone (test_distributed_power_sum_is_exact_at_50_digits and the tests of part 4):
# its Triton kernel is inf at its failing point (the strict xfail below), which the shared case would assert
CASES_ELSEWHERE = {"distributed-power-sum"}


from test_hyp42 import _kernel, _normal, _ulps  # noqa: E402  (the same runner and measures as session 42's file)


# ---------------------------------------------------------------- 1. c·v·W^e of the hypot rule where r·v is below the
# scaled form's edge (v ≪ max |v|), or a float32 W^e leaves the range: by exponents, c·v·S^e·r^(−2e)

def _inverse_hypotenuse_gradients(x, y, z):
    """(∂x, ∂y) of z/√(x² + y²), −x·z·W^(−3/2) and −y·z·W^(−3/2), at 60 digits."""
    dx, dy = [], []
    with mpmath.workdps(60):
        for a, b, c in zip(x, y, z):
            a, b, c = (mpmath.mpf(float(v)) for v in (a, b, c))
            w = (a * a + b * b) ** mpmath.mpf(-1.5)
            dx.append(-a * c * w)
            dy.append(-b * c * w)
    return dx, dy


def _torch_inverse_hypotenuse(x, y, z):
    torch = pytest.importorskip("torch")
    tx, ty, tz = (torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in (x, y, z))
    (tz / torch.sqrt(tx ** 2 + ty ** 2)).sum().backward()
    return tx.grad.numpy(), ty.grad.numpy()


def _far_below_points(dtype, n, seed):
    """|x| ≪ |y| (x the small leg by 2^[34, 1000] in float64, 2^[10, 120] in float32), y anywhere, z of the size that
    keeps ∂x near the middle of the range, half of them swapped (y the small leg): the regime of the failing point."""
    rng = np.random.default_rng(seed)
    if dtype == np.float64:
        ly = rng.uniform(-300, 300, n)
        lx = ly - rng.uniform(10, 300, n)
        lo = -307
    else:
        ly = rng.uniform(-36, 36, n)
        lx = ly - rng.uniform(3, 36, n)
        lo = -44
    lx = np.maximum(lx, lo)
    lz = np.clip(3 * ly - lx + rng.uniform(-20, 20, n) * (1 if dtype == np.float64 else 0.3),
                 lo, 300 if dtype == np.float64 else 38)
    x, y, z = (rng.choice([-1, 1], n) * 10.0 ** v for v in (lx, ly, lz))
    swap = rng.uniform(0, 1, n) < 0.5
    x, y = np.where(swap, y, x), np.where(swap, x, y)
    return x.astype(dtype), y.astype(dtype), z.astype(dtype)


def test_inverse_hypotenuse_dx_at_the_failing_point():
    """The strict xfail of tests/test_hyp42.py: ∂x at (8.84e−237, −2.26e−159, −2.13e27) was inf for 1.62e267 (torch
    inf); after 0.50 ULP (measured)."""
    x, y, z = np.array([8.837976748359328e-237]), np.array([-2.2623396164508844e-159]), np.array([-2.1272098528556113e27])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        dx = _kernel(INVERSE_HYPOTENUSE)(x=x, y=y, z=z)[1]
    assert _ulps(dx, _inverse_hypotenuse_gradients(x, y, z)[0], np.float64).max() <= 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inverse_hypotenuse_gradients_where_one_leg_is_far_below_the_other(dtype):
    """∂x, ∂y within 4 ULP (float64) / 8 (float32) of mpmath at 300 points where the truth is normal, and none past it
    where torch is within it. Before (main c9775006): float64 ∂x past 4 ULP at 64 of 280 normal truths (inf; worse than
    torch at 23), ∂y 62 of 281 (22); float32 ∂x 46 of 281, ∂y 46 of 283 (inf, torch within 0.50 at every one); after
    ≤ 1.92 / 2.41 ULP (float64 ∂x / ∂y), 1.58 / 1.92 (float32; measured). torch past 4 ULP at 130 / 131 float64 ones."""
    x, y, z = _far_below_points(dtype, 300, 43)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = _kernel(INVERSE_HYPOTENUSE)(x=x, y=y, z=z)[1:3]
    theirs = _torch_inverse_hypotenuse(x, y, z)
    for mine_out, their_out, truths in zip(got, theirs, _inverse_hypotenuse_gradients(x, y, z)):
        normal = _normal(truths, dtype)
        assert normal.sum() > 200
        mine = _ulps(mine_out, truths, dtype)
        assert mine[normal].max() <= BOUND[dtype], (x[np.argmax(mine * normal)], y[np.argmax(mine * normal)])
        with np.errstate(over="ignore"):
            theirs_u = _ulps(their_out.astype(dtype), truths, dtype)
        assert not ((mine > BOUND[dtype]) & (mine > theirs_u) & normal).any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inverse_hypotenuse_gradients_over_the_range(dtype):
    """∂x, ∂y over 10^[−323, 308] (float32 10^[−45, 38.5]) for each of x, y, z: within the bound where the truth is
    normal. Before: float64 ∂x past at 15 of 132, ∂y 9; float32 ∂x at 25 of 127 (inf; worse than torch at all 25),
    ∂y 27; after ≤ 1.96 / 2.93 ULP (measured)."""
    rng = np.random.default_rng(11)
    lo, hi = (-323, 308) if dtype == np.float64 else (-45, 38.5)
    x, y, z = (rng.choice([-1, 1], 300) * 10.0 ** rng.uniform(lo, hi, 300) for _ in range(3))
    x, y, z = (v.astype(dtype) for v in (x, y, z))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = _kernel(INVERSE_HYPOTENUSE)(x=x, y=y, z=z)[1:3]
    theirs = _torch_inverse_hypotenuse(x, y, z)
    for mine_out, their_out, truths in zip(got, theirs, _inverse_hypotenuse_gradients(x, y, z)):
        normal = _normal(truths, dtype)
        mine = _ulps(mine_out, truths, dtype)
        assert mine[normal].max() <= BOUND[dtype]
        with np.errstate(over="ignore"):
            theirs_u = _ulps(their_out.astype(dtype), truths, dtype)
        assert not ((mine > BOUND[dtype]) & (mine > theirs_u) & normal).any()


def test_inverse_hypotenuse_gradients_through_symnet_torch():
    """symnet.torch (the Triton kernel, interpreted): ∂x, ∂y within 4 / 8 ULP at 24 points a dtype where one leg is far
    below the other."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    f = st.from_formula(INVERSE_HYPOTENUSE, inputs=["x", "y", "z"])
    for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
        x, y, z = _far_below_points(dtype, 24, 5)
        tx, ty = (torch.tensor(v, dtype=tdtype, requires_grad=True) for v in (x, y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f(tx, ty, torch.tensor(z, dtype=tdtype)).sum().backward()
        for grad, truths in zip((tx.grad, ty.grad), _inverse_hypotenuse_gradients(x, y, z)):
            normal = _normal(truths, dtype)
            assert _ulps(grad.numpy(), truths, dtype)[normal].max() <= BOUND[dtype]


# ---------------------------------------------------------------- 2. ∂s of s·asinh(x/s), asinh(x/s) − x/(s·√(1 + x²/s²)),
# where x/s overflows (the asinh-far-sum rule: log 2 + log|x| − log|s| for asinh, the algebraic term's limit ∓1)

SCALED_ASINH = "s*asinh(x/s)"


def _asinh_ds_truths(s, x):
    with mpmath.workdps(60):
        return [mpmath.asinh(u) - u / mpmath.sqrt(1 + u * u)
                for u in (mpmath.mpf(float(b)) / mpmath.mpf(float(a)) for a, b in zip(s, x))]


def _torch_asinh_ds(s, x):
    torch = pytest.importorskip("torch")
    ts = torch.tensor(np.asarray(s, np.float64), requires_grad=True)
    tx = torch.tensor(np.asarray(x, np.float64))
    (ts * torch.asinh(tx / ts)).sum().backward()
    return ts.grad.numpy()


def _asinh_far_points(dtype, n, seed):
    """|x/s| past the dtype's largest number by 10^[0, 300] (float64; float32 10^[0, 40]: its block is in float64,
    where x/s stays finite), both signs of each."""
    rng = np.random.default_rng(seed)
    if dtype == np.float64:
        ls = rng.uniform(-323, -10, n)
        lx = np.minimum(ls + 308.3 + rng.uniform(0, 300, n), 308)
    else:
        ls = rng.uniform(-45, -5, n)
        lx = np.minimum(ls + 38.6 + rng.uniform(0, 40, n), 38.5)
    s, x = (rng.choice([-1, 1], n) * 10.0 ** v for v in (ls, lx))
    return s.astype(dtype), x.astype(dtype)


def test_scaled_asinh_ds_at_the_failing_points():
    """The strict xfail of tests/test_hyp42.py: inf for 1016.89 at s = −3.3e−244, x = −1.9e198 and for 859.80 at
    s = −2.1e−174, x = −7.5e199 (torch NaN at both); after 0.44 and 0.40 ULP (measured)."""
    s, x = np.array([-3.295302638074605e-244, -2.142613442262337e-174]), np.array([-1.9136770859990167e198,
                                                                                    -7.453498363711348e199])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ds = _kernel(SCALED_ASINH)(s=s, x=x)[1]
    assert _ulps(ds, _asinh_ds_truths(s, x), np.float64).max() <= 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaled_asinh_ds_where_the_quotient_overflows(dtype):
    """∂s within 4 ULP (float64) / 8 (float32) of mpmath at 300 points where |x/s| is past the dtype's range, and
    none past it where torch is within it. Before (main c9775006): float64 inf at 300 of 300 (torch NaN or inf at
    300); float32 within 0.50 before and after (its block in float64). After ≤ 1.19 ULP (measured)."""
    s, x = _asinh_far_points(dtype, 300, 17)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ds = _kernel(SCALED_ASINH)(s=s, x=x)[1]
        theirs = _torch_asinh_ds(s, x).astype(dtype)
    truths = _asinh_ds_truths(s, x)
    normal = _normal(truths, dtype)
    assert normal.all()
    mine = _ulps(ds, truths, dtype)
    assert mine.max() <= BOUND[dtype], (s[np.argmax(mine)], x[np.argmax(mine)])
    assert not ((mine > BOUND[dtype]) & (mine > _ulps(theirs, truths, dtype))).any()


def test_scaled_asinh_ds_near_the_overflow_edge():
    """|x/s| within 10^±3 of float64's largest number (each side of the rule's edge): within 4 ULP at 300 points.
    Before: inf at 159 of them (those past the edge); after ≤ 0.91 ULP (measured)."""
    rng = np.random.default_rng(19)
    s = rng.choice([-1, 1], 300) * 10.0 ** rng.uniform(-300, -5, 300)
    x = np.sign(rng.uniform(-1, 1, 300)) * np.abs(s) * 1e154 * 10.0 ** (154.25 + rng.uniform(-3, 3, 300))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        ds = _kernel(SCALED_ASINH)(s=s, x=x)[1]
    assert _ulps(ds, _asinh_ds_truths(s, x), np.float64).max() <= BOUND[np.float64]


def test_scaled_asinh_ds_through_symnet_torch():
    """symnet.torch (the Triton kernel, interpreted): ∂s within 4 / 8 ULP at 20 points a dtype where x/s overflows."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    f = st.from_formula(SCALED_ASINH, inputs=["s", "x"])
    for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
        s, x = _asinh_far_points(dtype, 20, 23)
        ts = torch.tensor(s, dtype=tdtype, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f(ts, torch.tensor(x, dtype=tdtype)).sum().backward()
        assert _ulps(ts.grad.numpy(), _asinh_ds_truths(s, x), dtype).max() <= BOUND[dtype]


# ---------------------------------------------------------------- 3. N/|x − y|, N/(x − y) where x − y overflows (the
# halved-difference rule: (N/|x/16 − y/16|)/16)

DIFFERENCE_QUOTIENTS = [
    ("relu(y)/abs(x - y)", lambda t, x, y: t.relu(y) / t.abs(x - y), lambda x, y: max(y, 0) / abs(x - y)),
    ("y/(x - y)", lambda t, x, y: y / (x - y), lambda x, y: y / (x - y)),
    ("x/abs(x + y)", lambda t, x, y: x / t.abs(x + y), lambda x, y: x / abs(x + y)),
]


def _overflowing_difference_points(dtype, n, seed, same_signs=False):
    """x, y of opposite signs (of one sign with ``same_signs``), each within a decade of the dtype's largest number:
    x ∓ y overflows at about half of them."""
    rng = np.random.default_rng(seed)
    hi = 308.254 if dtype == np.float64 else 38.53
    a, b = (10.0 ** rng.uniform(hi - 1, hi, n) for _ in range(2))
    first = rng.choice([-1, 1], n)
    x, y = first * a, (first if same_signs else -first) * b
    return x.astype(dtype), y.astype(dtype)


def test_relu_over_l1_at_the_failing_points():
    """test_review41's strict xfail: f 0 for 0.5 at x = −t, y = t, t in [9e307, 1.79e308] (200 points; torch 0 too);
    after 0.0 ULP (measured)."""
    t = np.linspace(9e307, 1.79e308, 200)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f = _kernel("relu(y)/abs(x - y)")(x=-t, y=t)[0]
    assert np.all(f == 0.5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("formula, torch_form, truth", DIFFERENCE_QUOTIENTS)
def test_difference_quotients_where_the_difference_overflows(formula, torch_form, truth, dtype):
    """f within 4 ULP (float64) / 8 (float32) at 300 points near the dtype's largest number where the truth is normal
    (x − y overflowing at about half), none past it where torch is within it. Before (main c9775006): relu(y)/|x − y|
    past at 35 of 138 (float64, 8.9e15 ULP; torch 35 too) and 33 of 138 (float32, 1.7e7, worse than torch at all 33),
    y/(x − y) at 75 of 300 (float64, 9.0e15; torch 75), x/|x + y| at 0 (its sum cannot overflow with opposite
    signs). After ≤ 1.35 ULP (float64), ≤ 1.20 (float32) (measured)."""
    torch = pytest.importorskip("torch")
    x, y = _overflowing_difference_points(dtype, 300, 3)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f = _kernel(formula)(x=x, y=y)[0]
        theirs = torch_form(torch, torch.tensor(x.astype(np.float64)), torch.tensor(y.astype(np.float64)))
        theirs = theirs.numpy().astype(dtype)
    with mpmath.workdps(60):
        truths = [truth(mpmath.mpf(float(a)), mpmath.mpf(float(b))) for a, b in zip(x, y)]
    normal = _normal(truths, dtype)
    assert normal.sum() >= 100
    mine = _ulps(f, truths, dtype)
    assert mine[normal].max() <= BOUND[dtype], (x[np.argmax(mine * normal)], y[np.argmax(mine * normal)])
    assert not ((mine > BOUND[dtype]) & (mine > _ulps(theirs, truths, dtype)) & normal).any()


def test_sum_quotient_where_the_sum_overflows():
    """x/|x + y| with x, y of one sign (x + y overflows at about half of 300 points): within 4 ULP (float64), 8
    (float32). Before: past at 93 (float64, torch 93) and 92 (float32, worse than torch at all 92)."""
    for dtype in (np.float64, np.float32):
        x, y = _overflowing_difference_points(dtype, 300, 4, same_signs=True)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            f = _kernel("x/abs(x + y)")(x=x, y=y)[0]
        with mpmath.workdps(60):
            truths = [mpmath.mpf(float(a)) / abs(mpmath.mpf(float(a)) + mpmath.mpf(float(b))) for a, b in zip(x, y)]
        assert _ulps(f, truths, dtype).max() <= BOUND[dtype]


def test_difference_quotient_through_symnet_torch():
    """symnet.torch (the Triton kernel, interpreted): relu(y)/|x − y| within 4 / 8 ULP at 24 points a dtype where
    x − y overflows at about half."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    f = st.from_formula("relu(y)/abs(x - y)", inputs=["x", "y"])
    for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
        x, y = _overflowing_difference_points(dtype, 24, 6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = f(torch.tensor(x, dtype=tdtype), torch.tensor(y, dtype=tdtype)).numpy()
        with mpmath.workdps(60):
            truths = [max(mpmath.mpf(float(b)), 0) / abs(mpmath.mpf(float(a)) - mpmath.mpf(float(b)))
                      for a, b in zip(x, y)]
        normal = _normal(truths, dtype)
        assert _ulps(out, truths, dtype)[normal].max() <= BOUND[dtype]


# ---------------------------------------------------------------- 4. v·Σ c·m·D^(−k), SymPy's collected gradient of a
# rational product (∂x of x·y/(x − y)⁸, y·((x − y)⁻⁸ − 8x·(x − y)⁻⁹)), where the sum overflows and v brings it back
# (the distributed-power-sum rule: Σ v·c·m·D^(−k) where the product is not finite)

def _rational_gradient_rows(scale, gap, n=200, seed=2):
    """[(symnet's ULPs, torch's)] of ∂x and ∂y of x·y/(x − y)⁸ at y = scale·[1, 2), x = y·(1 ± gap·[0.5, 2]) where
    the truth is normal (as tests/test_review41.py's rows)."""
    from test_review41 import _rational_rows

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [(r[1], r[2]) for r in _rational_rows(scale, gap, n, seed) if r[0] != "f"]


def test_rational_gradient_at_the_failing_points():
    """test_review41's strict xfail: ∂x, ∂y inf for a finite truth at x, y ≈ 8e−25, x − y ≈ 1e−38 (200 of 200 points,
    gap 1e−14; torch inf at 200); after ≤ 0.97 ULP (measured)."""
    rows = _rational_gradient_rows(8e-25, 1e-14)
    assert len(rows) >= 200 and max(m for m, _ in rows) <= 1


# measured before (main c9775006), 200 points a case, ∂x and ∂y: past 4 ULP at 232 of 400 (gap 1e−13), 400 (1e−15),
# 386 (scale 1e−30, gap 1e−8), 396 (3e−35, 1e−4), inf each, torch inf at all of them; 0 at (1, 1e−3) and
# (8e−25, 4.7e−10) (≤ 1.89, 2.17 before and after). After ≤ 1.76, 0.93, 0.92, 1.01 ULP
@pytest.mark.parametrize("scale, gap", [(8e-25, 1e-13), (8e-25, 1e-15), (1e-30, 1e-8), (3e-35, 1e-4), (1.0, 1e-3),
                                        (8e-25, 4.7e-10)])
def test_rational_gradient_where_the_collected_sum_overflows(scale, gap):
    rows = _rational_gradient_rows(scale, gap)
    assert len(rows) >= 200
    mine = np.array([m for m, _ in rows])
    theirs = np.array([t for _, t in rows])
    assert mine.max() <= 4, mine.max()
    assert not ((mine > 4) & (mine > theirs)).any()


# Was a strict xfail (session 43): "measured: Triton (interpreted) ∂x, ∂y of x·y/(x − y)⁸ inf at 24 of 24 points at
# x, y ≈ 8e−25, x − y ≈ 1e−38 (∂x at (1.0615778212844431e−24, 1.0615778212844486e−24) inf for 1.93e297; the NumPy
# kernel right): the Triton printer's written sum y/(x − y)⁸ − 8x·y/(x − y)⁹ is itself inf there (NumPy's 2.7e292 …
# 1.6e294), so the distributed-power-sum form taken where the product is not finite is inf too; torch inf". Its term
# 8x·y/(x − y)⁹ by exponents took (x − y)⁹ whole (Triton's FAR_POWER 4: five pairs past four slots), 0 before it was
# split; with ±6 as NumPy's (h-cos44) (x − y, −6), (x − y, −3), x, y: within the bound (tests/test_cos44.py).
def test_rational_gradient_through_symnet_torch():
    """symnet.torch (the Triton kernel, interpreted): ∂x, ∂y of x·y/(x − y)⁸ within 4 ULP (float64) at 24 points at
    x, y ≈ 8e−25, x − y ≈ 1e−38."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    rng = np.random.default_rng(8)
    y = 8e-25 * (1 + rng.uniform(0, 1, 24))
    x = y + y * 1e-14 * rng.uniform(0.5, 2, 24) * rng.choice([-1, 1], 24)
    f = st.from_formula("x*y/(x - y)**8", inputs=["x", "y"])
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f(tx, ty).sum().backward()
    with mpmath.workdps(80):
        for j in range(24):
            X, Y = mpmath.mpf(float(x[j])), mpmath.mpf(float(y[j]))
            s = X - Y
            assert ulps(float(tx.grad[j]), Y / s ** 8 - 8 * X * Y / s ** 9, np.float64) <= 4
            assert ulps(float(ty.grad[j]), X / s ** 8 + 8 * X * Y / s ** 9, np.float64) <= 4


# ---------------------------------------------------------------- left open (found by h-hyp43 over 10^[−323, 308])

# Was a strict xfail ("measured: ∂x of (x² + y²)^(−3/2)·z, −3x·z·W^(−5/2), at (1.0637501382732223e−118,
# 1.7410437418665845e−195, 6e−323): −inf for −1.389e150 (torch −inf); the hypot rule's scaled form c·(r·v)·S^e·r^(−2e − 1)
# overflows in its steps by r with a subnormal z; over 300 points of 10^[−323, 308] float64 ∂x past 4 ULP at 11 of 81,
# ∂y 12, float32 1 and 1, worse than torch at 0 float64 / 1 float32"), fixed by h-hyp48: the scaled form's product with z taken by
# exponents where it is not finite (tests/test_hyp48.py)
# (taken out by 2226c945, finite and wrong where the true value overflows; back with h-hyp49's printer fix,
# tests/test_hyp49.py)
def test_inverse_cube_hypotenuse_dx_with_a_subnormal_z():
    x, y, z = np.array([1.0637501382732223e-118]), np.array([1.7410437418665845e-195]), np.array([6e-323])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        dx = _kernel("(x**2 + y**2)**(-1.5)*z")(x=x, y=y, z=z)[1]
    with mpmath.workdps(60):
        a, b, c = (mpmath.mpf(float(v[0])) for v in (x, y, z))
        truth = -3 * a * c * (a * a + b * b) ** mpmath.mpf(-2.5)
    assert ulps(dx[0], truth, np.float64) <= 4


def test_distributed_power_sum_is_exact_at_50_digits():
    """The rule fires on ∂x and ∂y of x·y/(x − y)⁸, and its form (both arguments of the taken-again node: the
    product as collected and the distributed sum) equals the derivative at 60 digits at 12 random points."""
    import random

    from symnet.codegen.rewrite import Stabiliser, WrittenWhereNotFiniteBase
    from conftest import derived
    from test_stability_rules import _mp

    formula = _x * _y / (_x - _y) ** 8
    each = Stabiliser()
    grads = list(derived(formula, (_x, _y)).jacobian)  # (as symnet derives them: y·((x − y)⁻⁸ − 8x·(x − y)⁻⁹))
    stable = [each(g) for g in grads]
    assert all("distributed-power-sum" in {r.name for r in fired} for _, fired in stable)
    rng = random.Random(43)
    for _ in range(12):
        point = [rng.uniform(0.5, 4.0), rng.uniform(0.5, 4.0)]
        for g, (rewritten, _) in zip(grads, stable):
            taken = [n for n in sp.preorder_traversal(rewritten) if isinstance(n, WrittenWhereNotFiniteBase)]
            assert taken
            want = _mp(g, (_x, _y), point, 60)
            for form in (rewritten, *[rewritten.xreplace({n: n.args[1]}) for n in taken]):
                got = _mp(form, (_x, _y), point, 60)
                assert abs(got - want) <= mpmath.mpf("1e-45") * max(1, abs(want))
