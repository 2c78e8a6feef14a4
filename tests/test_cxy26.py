"""Session 26, h-cxy26: a constant beyond 2^±100 over a product of powers, c/(x·y), c/(x²·y), c·x/(y·z), c/(x·y·z)
and their derivatives (c/(x²·y) for ∂x of c/(x·y)), NumPy and Triton, float64 and float32.

Session 25's ``_constant_far`` split one numerator pair and one denominator factor (or its square) into fractions and
exponents; a denominator of several factors reached it as one printed product (x**2*y), which overflows or underflows
before it is split: ∂x of 10⁻³⁰⁸/(x·y) was −inf at (5e−324, 1e300) for −4.1e38 (test_const25's strict xfail). Now
every factor of the product goes to the helper apart, with its integer power.

References independent of the code generator: exact rational arithmetic (Python's Fraction) of the monomial c·Πxᵢ^pᵢ
and its derivatives pᵢ·c·Πxⱼ^pⱼ/xᵢ, written from the exponents (never from the printed kernel), and torch.autograd of
the formula as written in the same dtype beside it (test_breakage21b._faults: mpmath at 1000 digits).
"""
from __future__ import annotations

import itertools
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from conftest import compiled, triton_torch

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}  # ULPs where the truth is normal; 1 ULP of the subnormal grid below

# the constants of the brief: (as written in the formula, its exact value)
CONSTANTS = {"1e300": Fraction(10 ** 300), "1e-300": Fraction(1, 10 ** 300), "5e-324": Fraction(5, 10 ** 324),
             "1e40": Fraction(10 ** 40), "1e-40": Fraction(1, 10 ** 40), "2**1000": Fraction(2 ** 1000),
             "2**-1000": Fraction(1, 2 ** 1000)}
# the monomials: formula with C for the constant, its inputs and their powers
MONOMIALS = {"C/(x*y)": ("xy", (-1, -1)), "C/(x**2*y)": ("xy", (-2, -1)), "C*x/(y*z)": ("xyz", (1, -1, -1)),
             "C/(x*y*z)": ("xyz", (-1, -1, -1))}
MAGNITUDES = [5e-324, 1e-310, 1e-300, 1e-30, 1e-10, 1.0, 3e10, 1e300, 1.797e308]
MAGNITUDES32 = [1e-45, 1e-40, 1e-30, 1e-10, 1.0, 3e10, 1e30, 3.4e38]


def grid(n: int, dtype, seed: int = 26) -> list[tuple[float, ...]]:
    """Every combination of the dtype's magnitudes for n inputs, with signs: all four sign pairs for two inputs, one
    random sign per input for three (the product of magnitudes is what leaves the range; the sign only rides along)."""
    values = MAGNITUDES if dtype == F64 else [float(F32(v)) for v in MAGNITUDES32]
    rng = np.random.default_rng(seed)
    points = []
    for mags in itertools.product(values, repeat=n):
        signs = itertools.product((1.0, -1.0), repeat=n) if n == 2 else [tuple(rng.choice([1.0, -1.0], n))]
        points += [tuple(s * m for s, m in zip(sign, mags)) for sign in signs]
    return points


def exact_values(c: Fraction, powers, point) -> list[Fraction]:
    """[f, ∂f/∂x₁, …] of c·Πxᵢ^pᵢ at ``point``, exactly."""
    xs = [Fraction(v) for v in point]
    f = c
    for v, p in zip(xs, powers):
        f *= v ** p
    return [f] + [p * f / v for v, p in zip(xs, powers)]


def ulps(ours: float, exact: Fraction, dtype) -> float:
    """|ours − exact| in ULPs of the dtype at the exact value (the subnormal grid's spacing below the normal range);
    where the exact value overflows the dtype, 0 for ±inf of its sign, else inf."""
    info = np.finfo(dtype)
    top = Fraction(float(info.max)) + Fraction(2) ** (int(info.maxexp) - int(info.nmant) - 2)  # rounds to inf here
    if abs(exact) >= top:
        return 0.0 if ours == (math.inf if exact > 0 else -math.inf) else math.inf
    if not math.isfinite(ours):
        return math.inf
    size = max(abs(exact), Fraction(float(info.tiny)))
    e = size.numerator.bit_length() - size.denominator.bit_length()  # 2^e ≤ size < 2^(e + 2)
    if size < Fraction(2) ** e:
        e -= 1
    elif size >= Fraction(2) ** (e + 1):
        e += 1
    off = abs(Fraction(ours) - exact) / Fraction(2) ** (e - int(info.nmant))
    return float(off) if off < 2 ** 1000 else math.inf


def _shown(exact: Fraction) -> str:
    """The exact value to 6 digits (no float holds 10⁻³⁵⁰ or 10⁶⁰⁰)."""
    if exact == 0:
        return "0"
    digits = len(str(abs(exact.numerator))) - len(str(exact.denominator))
    scaled = exact / Fraction(10) ** digits  # within [0.1, 10)
    return f"{float(scaled):.6g}e{digits:+d}"


def run(formula: str, names: str, points, dtype, backend: str) -> list[np.ndarray]:
    cols = [np.array(c, dtype) for c in zip(*points)]
    k = compiled(formula, backend, tuple(names))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "triton":
            torch = triton_torch()
            out = k(**{n: torch.tensor(c) for n, c in zip(names, cols)})
            out = [o.cpu().numpy() for o in out]
        else:
            out = k(**dict(zip(names, cols)))
    return [np.broadcast_to(np.asarray(o, np.float64), (len(points),)) for o in out]


def errors(monomial: str, constant: str, dtype, backend: str, points=None):
    """[(output, point, ours, exact value, ULPs, bound)] of the monomial with the constant (``CONSTANTS``) over the grid
    (``grid``), every output at every point; the bound 4/8 ULP of the exact value where it is normal, 1 ULP of the
    subnormal grid where it is not (0 included)."""
    names, powers = MONOMIALS[monomial]
    points = points or grid(len(names), dtype)
    outs = run(monomial.replace("C", constant), names, points, dtype, backend)
    tiny = Fraction(float(np.finfo(dtype).tiny))
    out = []
    for i, point in enumerate(points):
        point = tuple(float(dtype(v)) for v in point)
        for j, exact in enumerate(exact_values(CONSTANTS[constant], powers, point)):
            ours = float(outs[j][i])
            out.append((["f", *(f"d{n}" for n in names)][j], point, ours, exact, ulps(ours, exact, dtype),
                        BOUND[dtype] if abs(exact) >= tiny else 1.0))
    return out


def faults(monomial: str, constant: str, dtype, backend: str, points=None):
    """The ``errors`` past their bound, the exact value shown to 6 digits."""
    return [(*e[:3], _shown(e[3]), e[4]) for e in errors(monomial, constant, dtype, backend, points) if e[4] > e[5]]


# --- the sweep: every constant over the sign × magnitude grid, both dtypes ------------------------------------------
# (formula's faults measured before, 2026-12-04, NumPy and Triton alike: per constant, of the grid's values)
BEFORE = {
    "C/(x*y)": "float64 80–224 of 972 values a constant, float32 136–268 of 768: ∂y of 1e300/(x·y) −0 at "
               "(1e−300, 1e300) for −1, f of 5e−324/(x·y) inf at (5e−324, 1e−300) for 1.01e300, float32 f of "
               "1e−300/(x·y) inf at (1.4e−45, 1.4e−45) for 5.1e−211 (its rounding 0)",
    "C/(x**2*y)": "float64 80–236 of 972, float32 180–360 of 768: ∂y of 1e300/(x²·y) NaN at (5e−324, 1e300) for "
                  "−4.1e346 (−inf), f of 1e−40/(x²·y) inf at (5e−324, 1e300) for 4.1e306 (f was t/y, t = c/x² a "
                  "temporary)",
    "C*x/(y*z)": "float64 308–676 of 2916, float32 309–640 of 2048: f of 5e−324·x/(y·z) inf at (−5e−324, 5e−324, "
                 "−5e−324) for 1.01, ∂z of 1e300·x/(y·z) −inf at (−5e−324, −1e−310, 1e−10) for −4.9e306",
    "C/(x*y*z)": "float64 422–865 of 2916, float32 488–932 of 2048: ∂z of 5e−324/(x·y·z) −inf at (5e−324, 5e−324, "
                 "−3e10) for −2.3e302, f of 1e−40/(x·y·z) inf at (−5e−324, −5e−324, 1e300) for 4.1e306",
}


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("monomial", list(MONOMIALS))
def test_far_constant_over_a_product_of_powers_at_extreme_points(monomial, backend):
    """f and every derivative of the monomial with each of 10^±300, 5·10⁻³²⁴, 10^±40, 2^±1000 over the sign ×
    magnitude grid (float64: 5e−324 … 1.797e308; float32: 1e−45 … 3.4e38), both dtypes, against the exact value: within
    4/8 ULP where it is normal (measured ≤ 2.2 float64, 0.5 float32), its rounding within 1 ULP where subnormal, ±inf
    where it overflows the dtype. Before: see ``BEFORE``."""
    if backend == "triton":
        triton_torch()
    bad = {}
    for constant in CONSTANTS:
        for dtype in (F64, F32):
            found = faults(monomial, constant, dtype, backend)
            if found:
                bad[constant, dtype.__name__] = (len(found), found[:2])
    assert not bad, bad


# --- the helper's roundings at random exponents ---------------------------------------------------------------------
def random_points(n: int, inputs: int, seed: int = 26) -> list[tuple[float, ...]]:
    """n points of float64 inputs of any sign and exponent from −1074 to 1023 (mantissas uniform in [1, 2))."""
    rng = np.random.default_rng(seed)
    sign = np.where(rng.random((n, inputs)) < 0.5, -1.0, 1.0)
    return [tuple(row) for row in sign * np.ldexp(rng.uniform(1.0, 2.0, (n, inputs)),
                                                 rng.integers(-1074, 1024, (n, inputs)))]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("monomial", ["C/(x**2*y)", "C*x/(y*z)"])
def test_far_constant_against_exact_arithmetic_at_random_exponents(monomial, backend):
    """f and the derivatives of 10⁻³⁰⁰/(x²·y) and 10⁻³⁰⁰·x/(y·z) at 300 random points (any sign and exponent): ∂x of the
    first, −2·10⁻³⁰⁰/(x³·y), takes the most roundings (m rounded from the exact constant, then x's fraction three
    times and y's once): within 4 ULP where normal, 1 subnormal ULP below (measured at 20,000 points: ≤ 2.1 ULP
    float64). Before (measured 2026-12-04): NumPy 10⁻³⁰⁰/(x²·y) 138 of 900 values off (∂x −inf where x³·y underflows
    first), 10⁻³⁰⁰·x/(y·z) 96 of 1200; Triton the same."""
    if backend == "triton":
        triton_torch()
    points = random_points(300, len(MONOMIALS[monomial][0]))
    bad = faults(monomial, "1e-300", F64, backend, points)
    assert not bad, (len(bad), bad[:4])


# --- the printed call -----------------------------------------------------------------------------------------------
def test_every_factor_goes_to_the_helper_with_its_power():
    """∂x of 10⁻³⁰⁸/(x·y) calls _constant_far with x to −2 and y to −1 (before: the one printed factor x**2*y), and f
    of 10³⁰⁰/(x²·y) calls it whole (before: f = t/y with CSE's temporary t = 10³⁰⁰/x², inf at x = 5e−324, y = 1e300
    for 4.1e46); Triton fills the helper's four slots (an absent factor 1.0 to the power 0)."""
    m, k = math.frexp(Fraction(1, 10 ** 308) * 2 ** 1024)
    source = compiled("1e-308/(x*y)", "numpy", ("x", "y")).source
    assert f"-_constant_far({2 * m!r}, {k - 1025}, x, -2, y, -1)" in source, source[-1500:]
    source = compiled("1e300/(x**2*y)", "numpy", ("x", "y")).source
    assert "f[...] = _constant_far(1e+300, 0, x, -2, y, -1)" in source, source[-1500:]
    source = compiled("1e300*x/(y*z)", "triton", ("x", "y", "z")).source
    assert "_constant_far(tl.full([], 1e+300, tl.float64), 0, x, 1, y, -2, z, -1, 1.0, 0, " in source, source[-1500:]


@pytest.mark.parametrize("formula, fn", [
    ("1e300/(sqrt(x)*y)", lambda c, x, y, z, w, v: c / (math.sqrt(x) * y)),  # a power taken whole: √x, to −1
    ("1e-300/(x**5*y)", lambda c, x, y, z, w, v: c / (x ** 5 * y)),  # |power| past 4: x**5 whole, to −1
    ("1e300*x*y/(z*w*v)", lambda c, x, y, z, w, v: c * x * y / (z * w * v)),  # five factors: the last two as one
])
def test_factors_the_helper_takes_whole(formula, fn):
    """A factor the helper does not take apart (a fractional power, a power past ±4, a fifth factor) is printed whole
    and still right at ordinary points (its own overflow is the formula's, as before session 26): f within 4 ULP of
    the exact value at (1.5, 2.5, 3.5, 0.75, 1.25)."""
    names = [n for n in "xyzwv" if n in formula.replace("sqrt", "")]
    point = (1.5, 2.5, 3.5, 0.75, 1.25)[:len(names)]
    k = compiled(formula, "numpy", tuple(names))
    f = float(np.asarray(k(**{n: np.array([v]) for n, v in zip(names, point)})[0])[0])
    c = 1e300 if "1e300" in formula else 1e-300
    assert abs(f / fn(c, *point, *[1.0] * (5 - len(point))) - 1) < 2 ** -50, (f, formula)
