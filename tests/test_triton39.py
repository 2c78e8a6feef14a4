"""h-triton39 (issue 16): the Triton backend's float32 faults where NumPy's float32 block is float64.

1. A float32 kernel holding a widened sum computes in float32 where NumPy's block is float64. Its outputs were ±inf, NaN
   or 0 where a partial product or quotient left float32's range and the whole did not: (x + y)/(x·y²) with x, y far
   apart (test_triton38's FAR_QUOTIENT), 1/x + 1/y with x subnormal and y = ±0 (inf − inf; SUBNORMAL_OVER_ZERO). Such
   a kernel now has a float32 repair kernel (the block again in float64, each output rounded once) for a block where an
   output is ±inf or NaN, or, for an output that is a rational function of the inputs, 0 or subnormal
   (triton/elementwise.py: _overflowed, _underflowed).
2. A float32 kernel holding σ (the sigmoid pair's e^−|u|) and no widened sum computes in float64, each output rounded
   once (FLOAT64_REASONS["sigmoid"], as NumPy's since h-sig37): the sigmoid, softplus and log_sigmoid kernels.

Truths: mpmath at 40–50 digits; the infinities' signs from the dominant term. The Triton float32 exp under
TRITON_INTERPRET=1 is NumPy's; the float64 forms are within half an ULP on any device.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import test_triton38 as T38
from conftest import compiled, triton_torch, ulps

pytest.importorskip("triton")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F32 = np.float32
HALF = 0.5 + 2.0 ** -20  # one rounding of a float64 value to float32


def _sigma(p):
    return 1 / (1 + mpmath.exp(-p))


def _softplus(p):
    return mpmath.log1p(mpmath.exp(p))


# kernel → (its value, its derivative), written independently of the kernels' forms
SIGMOID_FAMILY = {
    "sigmoid": (_sigma, lambda p: _sigma(p) * _sigma(-p)),
    "softplus": (_softplus, _sigma),
    "log_sigmoid": (lambda p: -_softplus(-p), lambda p: _sigma(-p)),
}


def _around(x: float, n: int) -> np.ndarray:
    """x and the n float32 values on each side of it, bit by bit."""
    bits = np.float32(x).view(np.int32)
    return (bits + np.arange(-n, n + 1, dtype=np.int32)).view(np.float32)


@pytest.mark.parametrize("name", list(SIGMOID_FAMILY))
def test_sigmoid_family_float32_rounded_once(name):
    """The committed kernels at test_sig28's two points and 60 values around each, 120 float32 values of [−104, 89] in
    bit pattern and 40 where σ is subnormal: value and derivative within half an ULP. Measured under the interpreter
    on 1,302 such values (the same sets larger): before, σ 3.69 ULP at −1.97165846824646, σ′ 5.18 at −4.139065742492676
    (torch 1.87 and 1.95 around them), softplus 2.03 and 2.69 (torch 1.48 and 1.98), log_sigmoid 2.21 and 2.05 (torch
    0.93 and 1.30): worse than torch. Now 0.50 for all six."""
    from symnet.kernels import load_kernel

    torch = triton_torch()
    rng = np.random.default_rng([39, len(name)])
    z = np.concatenate([_around(-1.97165846824646, 60), _around(-4.139065742492676, 60),
                        rng.uniform(-104, 89, 120).astype(F32), rng.uniform(-103.9, -88, 40).astype(F32)])
    value, grad = getattr(load_kernel(name, "triton"), name)(torch.tensor(z))
    assert value.dtype == grad.dtype == torch.float32
    f, d = SIGMOID_FAMILY[name]
    worst = []
    with mpmath.workdps(40):
        for got, exact in ((value.numpy(), f), (grad.numpy(), d)):
            u = [ulps(g, exact(mpmath.mpf(float(v))), F32) for g, v in zip(got, z)]
            worst.append((max(u), float(z[int(np.argmax(u))])))
    assert all(w <= HALF for w, _ in worst), worst


def test_sigmoid_kernel_float32_sum_reduction():
    """reduction='sum' of the float32 kernel computing in float64: its partial sums stored as float32 (the partial
    buffer's dtype), the total the float64 sum of the values rounded, within 2 ULP of it at 4,099 values (three blocks,
    the last partial)."""
    from symnet.kernels import load_kernel

    torch = triton_torch()
    z = torch.tensor(np.random.default_rng(39).uniform(-20, 20, 4099).astype(F32))
    kernel = load_kernel("sigmoid", "triton").sigmoid
    total, _ = kernel(z, reduction="sum")
    each, _ = kernel(z)
    exact = float(each.double().sum())
    assert total.dtype == torch.float32
    assert ulps(float(total), exact, F32) <= 2.0, (float(total), exact)


def test_far_quotient_where_a_partial_quotient_underflows():
    """(x + y)/(x·y²) at x = ±10^[−38, −20], y = ±10^[28, 38.5], the points where every output is finite and ∂y normal
    (66 of 200; one launch: no output ±inf or NaN, the block goes to the repair kernel for ∂y's 0 alone). ∂y = (y⁻² −
    2(x + y)/y³)/x: y⁻² is 0 in float32 (at (3.7e−34, 4.3e35) −0 for −1.41e−38). Before: ∂y past 8 ULP at 66 of 66
    (−0 or 0, worst 1.66e7); now 0 past, worst 0.50 (f and ∂x 0.49 and 0.50, as before)."""
    rng = np.random.default_rng([39, 1])
    xs = (rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(-38, -20, 200)).astype(F32)
    ys = (rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(28, 38.5, 200)).astype(F32)
    x64, y64 = xs.astype(float), ys.astype(float)
    keep = (np.abs(1 / (x64 * x64 * y64)) < 1e38) & (np.abs(1 / (x64 * y64 * y64)) > 1.2e-38)
    assert keep.sum() >= 60
    assert T38._float32_faults("(x + y)/(x*y**2)", xs[keep], ys[keep]) == []


def test_far_quotient_one_point_a_launch():
    """test_triton38's far-apart (x + y)/(x·y²) points that were NaN, inf or 0 (one of each class, and the found ones),
    each launched alone: no block-mate's flag repairs it. Before: df_dx NaN for 1.22e−19, df_dy NaN for 2.6e85 (past
    the range: inf), inf for 1.08e11, −0 for −1.41e−38."""
    points = [(1.0908427050537739e-08, -6.892735257905352e+34), (-1.678088072828248e+33, -4.2474179131821056e-29),
              (-6.226922732270639e+32, -0.0002648470108397305), (-4.542860949641181e-07, 2.844354670322221e+37),
              (3.7478871838555e-34, 4.344222761349639e+35)]
    for a, b in points:
        assert T38._float32_faults("(x + y)/(x*y**2)", np.array([a], F32), np.array([b], F32)) == [], (a, b)


# formula → the sign of its infinity at a nonzero x (subnormal) and y = ±0, from the dominant term
AT_SIGNED_ZERO = {
    "1/x + 1/y": lambda x, y: math.copysign(1.0, y),
    "x/y**2 - 1/x": lambda x, y: math.copysign(1.0, x),
    "x/y**3 - 1/x**2": lambda x, y: math.copysign(1.0, x) * math.copysign(1.0, y),
}


@pytest.mark.parametrize("formula", list(AT_SIGNED_ZERO))
def test_sum_of_a_true_infinity_and_a_term_past_the_range(formula):
    """f at x = 1e−45 … 1e−38 (both signs, 200 float32 values, subnormal and the first normals) and y = ±0: the
    infinity of the dominant term's sign. Before (test_triton38's SUBNORMAL_OVER_ZERO): NaN at 2, 6 and 4 of its 6
    points (inf − inf; NumPy the limits, torch NaN); on these 200 not the limit at 97, 187 and 95 (1/x + 1/y, x/y² − 1/x,
    x/y³ − 1/x²). Now the block goes to the repair kernel, in float64: the limit at all."""
    torch = triton_torch()
    rng = np.random.default_rng([39, len(formula)])
    xs = (rng.choice([-1.0, 1.0], 200) * 10.0 ** rng.uniform(-45, -38, 200)).astype(F32)
    xs[:6] = [-1e-45, 3e-45, -1e-44, 2e-44, 1e-40, -1e-39]
    ys = np.where(rng.random(200) < 0.5, 0.0, -0.0).astype(F32)
    xs = xs[xs != 0]
    ys = ys[:len(xs)]
    got = compiled(formula, "triton")(x=torch.tensor(xs), y=torch.tensor(ys))[0].double().numpy()
    want = np.array([AT_SIGNED_ZERO[formula](float(a), float(b)) * math.inf for a, b in zip(xs, ys)])
    wrong = np.flatnonzero(got != want)
    assert wrong.size == 0, [(float(xs[i]), float(ys[i]), float(got[i])) for i in wrong[:5]]


# ---- 3. erfc and Φ of a double word in a Triton float64 widened body (doubleword: _dw_erfc_first, _dw_ndtr_first).
# NumPy's widened body takes erfc of the double word x/y by its table (_dw_erfc); Triton's took erfc and Φ of its hi
# alone, whose rounding ε erfc(a) amplifies 2a² times (Φ(u) u² times): ndtr(x/y)⁻² at x/y = −6.22 46 ULP (NumPy 0.50)

F64 = np.float64


def _quotient_points(seed: int, low: float, high: float, n: int = 200):
    """n points with y = ±10^[−3, 3] and x/y uniform in [low, high]."""
    rng = np.random.default_rng([39, seed])
    ys = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-3, 3, n)
    return rng.uniform(low, high, n) * ys, ys


def _ulps_f(formula: str, exact, xs, ys) -> np.ndarray:
    torch = triton_torch()
    got = compiled(formula, "triton")(x=torch.tensor(xs), y=torch.tensor(ys))[0].numpy()
    with mpmath.workdps(60):
        return np.array([ulps(g, exact(mpmath.mpf(float(a)) / mpmath.mpf(float(b))), F64)
                         for g, a, b in zip(got, xs, ys)])


# formula → (its value of u = x/y in mpmath, where erfc or Φ is small: u's range), measured on 200 such points
FIRST_ORDER_CASES = {
    "ndtr(x/y)**-2": (lambda u: mpmath.ncdf(u) ** -2, (-8.0, -1.5)),
    "erfc(x/y)**-2": (lambda u: mpmath.erfc(u) ** -2, (1.5, 8.0)),
}


@pytest.mark.parametrize("formula", list(FIRST_ORDER_CASES))
def test_float64_erfc_and_ndtr_of_a_rounded_quotient(formula):
    """f at 200 points where the function is small: within 5 ULP (the bound of 4 at 197 and 199 of 200, below).
    Before: past 4 at 130 and 169 (worst 50.5 and 100.8); now 3 and 1 (worst 4.91 and 4.91). On another draw of 200
    (seed [39, 5] and [39, 6]): 141 and 171 past before (46.0, 95.7; torch's worst 137.6 and 95.3, Triton worse than
    torch by more than half an ULP at 48 and 60 points), 4 and 4 now (4.85, 4.39; worse than torch at 5 and 1)."""
    exact, (low, high) = FIRST_ORDER_CASES[formula]
    xs, ys = _quotient_points(len(formula), low, high)
    u = _ulps_f(formula, exact, xs, ys)
    assert u.max() <= 5.0, (u.max(), xs[u.argmax()], ys[u.argmax()])


FIRST_ORDER_LEFT = ("measured (h-triton40, the first-order sum's rounding kept as the double word's lo): Triton float64 "
                    "ndtr(x/y)**-2 on seed [39, 5]'s 200 points past 4 ULP at 1 (4.33 at (-3.3813540157529935, "
                    "0.5529814902276898); torch past 4 at 193, worse than it at 1), erfc(x/y)**-2 on seed [39, 6]'s at 1 "
                    "(4.39 at (0.45998447019925903, 0.2714196102289185), torch 4.39 there), gelu(x/y)**-2 f on seed [39, "
                    "13]'s at 2 (5.62 at (-0.04574480339181272, 0.01096371464061499), torch 7.1e3 there; worse than torch "
                    "at 2); before: 4, 4 and 4 past (4.85, 4.39, 6.51). Over 4 seeds each: 12 → 2, 7 → 1, 14 → 8 of 800. "
                    "NumPy 0.50 (its _dw_erfc a double word by its table): the registry's float64 erfc (≤ 1.6 ULP) is "
                    "squared; Triton needs a double-word erfc (the third tier's _tw_erfc_words is one, at its register cost)")


@pytest.mark.xfail(strict=True, reason=FIRST_ORDER_LEFT)
@pytest.mark.parametrize("formula, seed", [("ndtr(x/y)**-2", 5), ("erfc(x/y)**-2", 6), ("gelu(x/y)**-2", 13)])
def test_float64_first_order_erfc_within_four(formula, seed):
    exact, (low, high) = {**FIRST_ORDER_CASES, "gelu(x/y)**-2": (lambda u: (u * mpmath.ncdf(u)) ** -2, (-8.0, -1.5))}[formula]
    xs, ys = _quotient_points(seed, low, high)
    assert _ulps_f(formula, exact, xs, ys).max() <= 4.0


def test_float64_ndtr_of_a_rounded_quotient_within_four():
    """ndtr(x/y)⁻² f at the 200 points above within 4 ULP since h-triton40 (Φ's first-order sum a double word, not
    rounded before the power): 4.91 → 3.91."""
    exact, (low, high) = FIRST_ORDER_CASES["ndtr(x/y)**-2"]
    xs, ys = _quotient_points(len("ndtr(x/y)**-2"), low, high)
    assert _ulps_f("ndtr(x/y)**-2", exact, xs, ys).max() <= 4.0


def test_float64_gelu_power_where_phi_is_small():
    """gelu(x/y)⁻² f at 60 points with x/y in [−8, −1.5]: within 6 ULP. Before: past 4 at 41 (worst 58.5); now 0 (worst
    3.99). On 200 other such points: 142 past (41.9; torch's gelu cancels there: its worst 3.5e14), now 3 (5.28, torch
    69.7 there). First the four points this session's search found (NumPy 0.12–0.52): 4.34, 4.48, 4.12, 4.20 → 0.34,
    0.48, 1.12, 1.80."""
    xs, ys = _quotient_points(7, -8.0, -1.5, 60)
    xs = np.concatenate([[1.9280417417493801e-205, 7.051759166074327e-189, -3.1493419990113076, -6.392970820984004e+188], xs])
    ys = np.concatenate([[-1.030605839580097e-205, -9.665121919277501e-190, 1.307980422064259, 2.0484104579452756e+188], ys])
    u = _ulps_f("gelu(x/y)**-2", lambda v: (v * mpmath.ncdf(v)) ** -2, xs, ys)
    assert u.max() <= 6.0, (u.max(), xs[u.argmax()], ys[u.argmax()])


# ---- found by the search, not fixed: faults of both backends (not a Triton printer gap; torch no better). The truths
# from closed forms of the outputs, mpmath at 60 digits
BOTH_BACKENDS = {
    # formula, output, point, dtype → the output's closed form
    ("x*tanh(y/x)", "f", -1.7662286944716856e+260, -5.640859278384897e-56, "float64"):
        lambda x, y: x * mpmath.tanh(y / x),
    ("x*tanh(y/x)", "f", 2.057010725472153e+261, -2.1585825384337676e-269, "float64"):
        lambda x, y: x * mpmath.tanh(y / x),
}
# fixed since (h-range39's plain products taken again by exponents, merged beside this file): ∂y of √(x²+y²)·x at
# (1.609e−35, −8.55e295) float64 was −0 for −1.609e−35 (torch −0)
FIXED_SINCE = {
    # session 49 (the merged state of its helpers; first seen as an XPASS in its CI): ∂x of (x + y)/(x·y²) at
    # (3.22e271, −1.49e−314) float64 was 0 for 6.46e−230 (x² = inf; torch NaN)
    ("(x + y)/(x*y**2)", "df_dx", 3.224583949774571e+271, -1.4887931126e-314, "float64"):
        lambda x, y: -1 / (x * x * y),
    ("sqrt(x**2 + y**2)*x", "df_dy", 1.6090683793956425e-35, -8.550032730261347e+295, "float64"):
        lambda x, y: x * y / mpmath.sqrt(x * x + y * y),
    # session 43 (h-cauchy43's cauchy-quotient rule, the denominator 1 + y² in double words): ∂y of x²/(1 + y²) at
    # (5.39e32, 4.05e33) float32 was −0 for −8.72e−36, at (1.0e185, 2.09e184) float64 −0 for −2.2e−183 (torch NaN)
    ("x**2/(1 + y**2)", "df_dy", 5.388625328442709e+32, 4.053204783961336e+33, "float32"):
        lambda x, y: -2 * x * x * y / (1 + y * y) ** 2,
    ("x**2/(1 + y**2)", "df_dy", 1.0062127774247077e+185, 2.0909424735282312e+184, "float64"):
        lambda x, y: -2 * x * x * y / (1 + y * y) ** 2,
}
BOTH_MEASURED = ("measured (NumPy and Triton alike): x·tanh(y/x) at (−1.77e260, −5.64e−56) −5.640859239878413e−56 for −5.640859278e−56, 4.25e7 "
                 "ULP (y/x subnormal; torch the same), at (2.06e261, −2.16e−269) 0 for −2.16e−269 (torch −0); ∂x of "
                 "(x + y)/(x·y²) at (3.22e271, −1.49e−314) 0 for 6.46e−230 (x² = inf; torch NaN)")


@pytest.mark.xfail(strict=True, reason=BOTH_MEASURED)
@pytest.mark.parametrize("case", list(BOTH_BACKENDS), ids=lambda c: f"{c[0]}-{c[1]}-{c[4]}")
def test_found_faults_of_both_backends(case):
    _within_bound(case, BOTH_BACKENDS[case])


@pytest.mark.parametrize("case", list(FIXED_SINCE), ids=lambda c: f"{c[0]}-{c[1]}-{c[4]}")
def test_found_faults_fixed_since(case):
    _within_bound(case, FIXED_SINCE[case])


def _within_bound(case, closed_form):
    formula, output, a, b, dtype = case
    k = compiled(formula, "numpy")
    got = dict(zip(k.outputs, k(x=np.array([a], dtype), y=np.array([b], dtype))))[output][0]
    with mpmath.workdps(60):
        truth = closed_form(mpmath.mpf(a), mpmath.mpf(b))
    bound = 8.0 if dtype == "float32" else 4.0
    assert ulps(got, truth, dtype) <= bound
