"""Session 25, h-const25: a constant beyond 2^±100 around a product or quotient (c·x/y, x/(c·y), c·x·y and the
scaled-square chain c·x/y²), NumPy and Triton, float64 and float32.

No order of the constant, the numerator and the denominator keeps its partial products in range at every point:
x/(10³⁰⁸·y) at x = 1e−10, y = 5e−324 overflows x/y, makes x/10³⁰⁸ subnormal and rounds 10³⁰⁸·y, so session 24's
``_constant_times`` (the constant last or first) and ``_constant_quotients`` (three orders) lost digits or the range
there, and the Triton printer took no constant beyond them at all. Now such a constant is printed as m·2^k (m rounded
once from the exact value, k an int) for ``_constant_far``, which splits every factor into a fraction and an exponent
(frexp; Triton: exponent bits), multiplies the fractions (every partial product normal) and applies the summed
exponent once (ldexp). Constants within 2^±100 keep their helpers (cost unchanged).

References independent of the code generator: exact rational arithmetic (Python's Fraction, correctly rounded once),
mpmath at 1000 digits of SymPy's derivative of the formula as written, and torch.autograd in the same dtype
(``test_breakage21b._faults``: ≤ 4 ULP float64, ≤ 8 float32 where the truth is normal, its rounding within 1 ULP where
subnormal, never worse than torch).
"""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch
from test_breakage21b import _faults
from test_breakage24 import _kept

F64, F32 = np.float64, np.float32
x, y = sp.symbols("x y", real=True)


# --- the cases session 24 measured and left (strict xfails until now) ---------------------------------------------
def test_a_constant_over_a_product_with_a_subnormal_denominator():
    """x/(−1e308·y), NumPy float64 (test_breakage24's LEFT entry). Before (measured 2026-12-04): f −202402.0 at
    (1e−10, 5e−324) (truth −202402.2533, 8.7e9 ULP; torch exact); ∂y inf at (5e−324, 5e−324) (truth 2.02e15; torch
    1 ULP)."""
    bad = _kept(_faults("x/(-1e308*y)", ["x", "y"], [(1e-10, 5e-324), (5e-324, 5e-324)], F64,
                        lambda t, x, y: x / (-1e308 * y)))
    assert not bad, bad


def test_a_far_constant_around_a_quotient_in_triton():
    """1e−308·x/y in a Triton float64 kernel (test_breakage24's strict xfail). Before (measured 2026-12-04, the
    interpreter): f inf at (3e10, 1e−300) for 300 and at (1e300, 1e−10) for 100, ∂y −inf; torch within 3 ULP."""
    triton_torch()
    bad = _kept(_faults("1e-308*x/y", ["x", "y"], [(3e10, 1e-300), (1e300, 1e-10)], F64,
                        lambda t, x, y: 1e-308 * x / y, backend="triton"))
    assert not bad, bad


# --- the sweep: far constants × extreme points, both backends and dtypes ------------------------------------------
VALUES = [5e-324, 1e-310, 1e-300, 1e-30, 1e-10, 1.0, 3e10, 1e300, 1.797e308]
POINTS = [(a, b) for a in VALUES for b in VALUES] + [(-3e10, 1e-300), (1e-10, -5e-324), (-2.5, -1.797e308)]
SWEEP = [  # (formula, torch's, dtypes, backends) with the worst fault measured before (2026-12-04)
    ("x/(1e308*y)", lambda t, x, y: x / (1e308 * y), "Triton f64 ∂x inf at (5e−324, 5e−324) for 2.02e15 (204 faults "
     "in 324 points), NumPy ∂y −inf at (1e−310, 1e−310) for −100; Triton f32 f NaN at (3e10, 1e−30) for 3e−268 → 0"),
    ("1e-308*x/y", lambda t, x, y: 1e-308 * x / y, "Triton f64 f inf at (3e10, 1e−300) for 300, NumPy ∂y −inf at "
     "(5e−324, 5e−324) for −2.02e15; Triton f32 ∂y NaN at (1e−10, 1e−30) (truth −1e−258: −0)"),
    ("x/(-1e300*y)", lambda t, x, y: x / (-1e300 * y), "f −20240225330731.0 at (1e−10, 5e−324) for "
     "−20240225330731.06 (16 ULP, both backends; torch exact)"),
    ("x/(1e-308*y)", lambda t, x, y: x / (1e-308 * y), "Triton ∂y −inf at (2.5, 1.797e308) for −7.74e−309"),
    ("5e-324*x/y", lambda t, x, y: 5e-324 * x / y, "NumPy OverflowError (int too large to convert to float), Triton "
     "NameError: name 'inf' is not defined"),
    ("x/(1.5e-323*y)", lambda t, x, y: x / (1.5e-323 * y), "NumPy f64 f inf at (5e−324, 1) for 0.33, NaN at "
     "(5e−324, 2.5) for 0.13 (392 faults in 324 points × 3); Triton NameError"),
    ("-2.5e-322*x*y", lambda t, x, y: -2.5e-322 * x * y, "NumPy f −0 at (1, 1) for −2.5e−322, f at (1, 1e300) −0 "
     "for −2.5e−22 (torch 0.8 % off: 4.2e13 ULP); Triton NameError"),
    ("3.4e38*x/y", lambda t, x, y: 3.4e38 * x / y, "none (a guard: 3.4e38 is a normal float32)"),
]


def _sweep(formula, fn, dtype, backend):
    # (float32: inf and a y that rounds to 0, where the truth is not defined, left out)
    points = [(a, b) for a, b in POINTS if dtype == F64 or (max(abs(a), abs(b)) < 3e38 and F32(b) != 0)]
    return _kept(_faults(formula, ["x", "y"], points, dtype, fn, backend=backend))


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula, fn, before", SWEEP, ids=[c[0] for c in SWEEP])
def test_numpy_far_constants_at_extreme_points(formula, fn, before, dtype):
    """Within 4/8 ULP of the truth where it is normal, its rounding where subnormal, never worse than torch, at 84
    points of 5e−324 … 1.797e308 (both signs). Before: see ``before``."""
    bad = _sweep(formula, fn, dtype, "numpy")
    assert not bad, bad[:6]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula, fn, before", SWEEP[:5], ids=[c[0] for c in SWEEP[:5]])
def test_triton_far_constants_at_extreme_points(formula, fn, before, dtype):
    """As the NumPy sweep, in a Triton kernel (one kernel for both dtypes: float32 computed in float64 and rounded
    once). Before: see ``before``."""
    triton_torch()
    bad = _sweep(formula, fn, dtype, "triton")
    assert not bad, bad[:6]


# --- the helper against exact rational arithmetic at random exponents ----------------------------------------------
def _ulps(ours: float, exact: Fraction) -> float:
    """|ours − exact| in float64 ULPs of the exact value (the subnormal grid's spacing below 2⁻¹⁰²²)."""
    try:
        rounded = float(exact)
    except OverflowError:
        rounded = math.inf if exact > 0 else -math.inf
    if math.isinf(rounded):
        return 0.0 if ours == rounded else math.inf
    if not math.isfinite(ours):
        return math.inf
    off = abs(Fraction(ours) - exact) / Fraction(math.ulp(max(abs(rounded), 2.0 ** -1022)))
    return float(off) if off < 2 ** 1000 else math.inf


def _random_operands(n=400, seed=25):
    rng = np.random.default_rng(seed)
    sign = np.where(rng.random((3, n)) < 0.5, -1.0, 1.0)
    return sign * np.ldexp(rng.uniform(1.0, 2.0, (3, n)), rng.integers(-1074, 1024, (3, n)))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("formula, c", [("1e-308*x/y", Fraction(1, 10 ** 308)),
                                        ("x/(3.4e38*y)", Fraction(1, 34 * 10 ** 37)),
                                        ("1e300*x*y", Fraction(10 ** 300))])
def test_far_constant_against_exact_arithmetic(formula, c, backend):
    """f and ∂y of c·x/y, x/(c·y), c·x·y at 400 random (x, y), each of any sign and exponent from −1074 to 1023, against
    the exact rational value: within 4 ULP wherever it is normal and 1 subnormal ULP below (the scaled path's 4
    roundings, then ldexp's). Before (measured 2026-12-04): Triton 1e−308·x/y 117 of the 800 values off (inf where
    the truth is 7.7e155: its printer took no such constant); NumPy's per-element orders held at these random points
    (their faults are at the range ends, the sweep above): a guard there, as Triton's other two."""
    if backend == "triton":
        torch = triton_torch()
    xs, ys, _ = _random_operands()
    k = compiled(formula, backend, ("x", "y"))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "triton":
            f, _, dy = (o.cpu().numpy() for o in k(x=torch.tensor(xs), y=torch.tensor(ys)))
        else:
            f, _, dy = k(x=xs, y=ys)
    bad = []
    for i, (a, b) in enumerate(zip(xs.tolist(), ys.tolist())):
        A, B = Fraction(a), Fraction(b)
        if "*x*y" in formula:
            truths = (c * A * B, c * A)
        else:
            truths = (c * A / B, -c * A / B ** 2)
        for name, ours, exact in (("f", float(f[i]), truths[0]), ("dy", float(dy[i]), truths[1])):
            err = _ulps(ours, exact)
            if err > (4.0 if abs(exact) >= Fraction(2.0 ** -1022) else 1.0):
                bad.append((name, a, b, ours, f"{exact.numerator / exact.denominator:.6g}"
                            if abs(exact) < 2 ** 1000 else "> 2^1000", err))
    assert not bad, (len(bad), bad[:5])


# --- a pole with a tiny coefficient is no removable singularity ------------------------------------------------------
def test_a_pole_with_a_tiny_coefficient_gets_no_removable_series():
    """∂x of 5e−324·x/y is 1/(2·10³²³·y), a pole at y = 0: the removable-series rule took it for a finite limit (its
    values at 2⁻⁴⁰ and 2⁻²⁰ were within 2⁻¹² of each other in absolute terms) and printed a polynomial in y for |y| <
    2⁻¹⁰. Before (measured 2026-12-04): ∂x 0 at y = 1e−300 for 5e−24, at y = 1e−10 for 5e−314 (torch 4.94e−24: the
    literal rounded to 2⁻¹⁰⁷⁴; NumPy and Triton, 120 of 324 sweep points worse than torch)."""
    from symnet.codegen.roots import removable_fit

    assert removable_fit(1 / (2 * 10 ** 323 * y)) is None
    assert removable_fit(sp.sin(y) / y) is not None  # (a removable one still is)
    bad = _kept(_faults("5e-324*x/y", ["x", "y"], [(5e-324, 1e-300), (1.0, 1e-10), (-2.0, -1e-30)], F64,
                        lambda t, x, y: 5e-324 * x / y))
    assert not bad, bad


# --- the printed call ------------------------------------------------------------------------------------------------
def test_the_far_constant_is_printed_as_m_times_a_power_of_two():
    """1e−308·x/y: NumPy calls _constant_far with m·2^k = 10⁻³⁰⁸ (m rounded once from the exact value), then each
    factor with its power, for f (y to −1) and ∂y's scaled-square branch (y to −2); an ordinary constant keeps its
    helpers (3·x/y: _constant_times). (Session 26 put m and k first and a power beside every factor.)"""
    source = compiled("1e-308*x/y", "numpy", ("x", "y")).source
    m, k = math.frexp(Fraction(1, 10 ** 308) * 2 ** 1024)  # (10⁻³⁰⁸ = m'·2^(k − 1024), m' in [1/2, 1))
    call = f"_constant_far({2 * m!r}, {k - 1025}, x, 1, y, "
    assert call + "-1)" in source and call + "-2)" in source, source[-1500:]
    ordinary = compiled("3*x/y", "numpy", ("x", "y")).source
    body = ordinary[ordinary.rindex("\ndef "):]
    # (session 32: a quotient of three factors is taken again by exponents where it is not finite, h-search32; the
    # constant's own printing is the helper's as before)
    assert "_constant_times(" in body and body.count("_constant_far(") == body.count("lambda: _constant_far(")
    for formula, power in (("1e-308*x/y", -1), ("x/(1e40*y)", -2)):
        source = compiled(formula, "triton", ("x", "y")).source
        assert "_constant_far(" in source and f", x, 1, y, {power}, 1.0, 0, 1.0, 0, " in source, source[-1500:]


# --- a far constant over a product of powers (session 25's strict xfail; session 26 passes it) ---------------------
def test_a_far_constant_over_a_product_of_powers():
    """c/(x·y)'s derivatives −c/(x²·y) passed the denominator to _constant_far as one printed value x**2*y, which
    overflowed or underflowed before it was split (measured 2026-12-04, NumPy and Triton alike: ∂x of 1e−308/(x·y)
    −inf at (5e−324, 1e300) for −4.1e38, ∂y of 1e300/(x·y) −0 at (1e−300, 1e300) for −1.0; torch within 1 ULP at
    both; 16 to 56 points worse than torch of 324 for each of 1e±308, ±1e±300, 1e±40, 3.4e38, 5e−324 over (x·y)).
    Session 26 (h-cxy26) gives the helper every factor with its power (tests/test_cxy26.py)."""
    bad = _kept(_faults("1e-308/(x*y)", ["x", "y"], [(5e-324, 1e300), (2.0, 3.0)], F64,
                        lambda t, x, y: 1e-308 / (x * y)))
    bad += _kept(_faults("1e300/(x*y)", ["x", "y"], [(1e-300, 1e300), (2.0, 3.0)], F64,
                         lambda t, x, y: 1e300 / (x * y)))
    assert not bad, bad
