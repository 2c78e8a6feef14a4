"""The scaled complementary error function erfcx(x) = e^(x²)·erfc(x) and its derivative, as generated helpers.

erfc(x)·e^(x²) written out is 0·inf from x ≈ 27 in float64 (erfc underflows, e^(x²) overflows) where erfcx is
moderate (0.0209 at 27, 5.6e−5 at 1e4); ``torch.special.erfcx`` and ``scipy.special.erfcx`` compute it whole
(SciPy by Steven G. Johnson's Faddeeva package: Chebyshev pieces and a continued fraction). SciPy is no
dependency of symnet, so the helpers here are generated from three formulas, their coefficients computed
with mpmath at 40 digits when this module is imported:

* x < 0: e^(x²)·erfc(x), x² = p + e exactly (Dekker's two-product), e^(x²) = e^p·(1 + e); erfc(x) in [1, 2]
  there (the registry's erfc). It overflows genuinely below x ≈ −26.6 (erfcx(−26.6) ≈ 2e^707.6 ≈ 1.7e307).
* 0 ≤ x < 8.75: Taylor polynomials on seven pieces of width 1.25 about their centres c. erfcx solves
  y′ = 2x·y − 2/√π, so its Taylor coefficients about c follow from y(c) alone:
  (n + 1)·a_(n+1) = 2c·a_n + 2·a_(n−1) (n ≥ 1), a_1 = 2c·a_0 − 2/√π, and erfcx′'s are (n + 1)·a_(n+1);
  each piece is cut where the terms fall below 2⁻⁵⁸ of the value (15 to 29 terms).
* x ≥ 8.75: the asymptotic series (Abramowitz & Stegun 7.1.23), erfcx(x) = 1/(x√π)·Σ (−1)^k·(2k − 1)!!/(2x²)^k
  and erfcx′(x) = −1/(x²√π)·Σ (−1)^k·(2k + 1)!!/(2x²)^k, 21 terms (the next below 3e−19 of the sum at 8.75).

erfcx′ = 2x·erfcx − 2/√π cancels for x ≫ 1 (to −1/(x²√π)): written so it would lose 2x² of its digits; the
pieces above compute it without that subtraction. Both in float64 (a float32 argument rounded once at the end).
Measured against mpmath (tests/test_logprod18.py): see there.
"""
from __future__ import annotations

import functools

import mpmath

from .mpfloat import exp as mp_exp

__all__ = ["PIECE_WIDTH", "PIECES", "FAR", "numpy_helpers", "triton_helpers", "mp_erfcx", "mp_erfcx_slope"]

PIECE_WIDTH = 1.25
PIECES = 7  # [0, 8.75): Taylor pieces
FAR = PIECE_WIDTH * PIECES  # from here: the asymptotic series
_FAR_TERMS = 21
_DPS = 40


def _taylor(c, n):
    """The Taylor coefficients a_0 … a_(n+1) of erfcx about c (mpmath, at the working precision)."""
    a = [mpmath.exp(c * c) * mpmath.erfc(c)]
    a.append(2 * c * a[0] - 2 / mpmath.sqrt(mpmath.pi))
    for k in range(1, n + 1):
        a.append((2 * c * a[k] + 2 * a[k - 1]) / (k + 1))
    return a


def _cut(coefficients, radius, least) -> list[float]:
    """The coefficients up to the last whose term at ``radius`` reaches 2⁻⁵⁸ of ``least``, as floats."""
    keep = max(k for k, a in enumerate(coefficients) if abs(a) * radius ** k >= mpmath.mpf(2) ** -58 * least)
    return [float(a) for a in coefficients[:keep + 1]]


def _tables():
    """(value pieces, slope pieces, far value series, far slope series): per piece (centre, coefficients)."""
    with mpmath.workdps(_DPS):
        value, slope = [], []
        radius = mpmath.mpf(PIECE_WIDTH) / 2
        for j in range(PIECES):
            c = mpmath.mpf(PIECE_WIDTH) * j + radius
            a = _taylor(c, 44)
            b = [(k + 1) * a[k + 1] for k in range(44)]
            # the least |value| on the piece, at one of its ends (erfcx falls, erfcx′ rises to 0): the series there
            least_value = min(abs(sum(a_k * t ** k for k, a_k in enumerate(a[:44]))) for t in (-radius, radius))
            least_slope = min(abs(sum(b_k * t ** k for k, b_k in enumerate(b))) for t in (-radius, radius))
            value.append((float(c), _cut(a[:44], radius, least_value)))
            slope.append((float(c), _cut(b, radius, least_slope)))
        far_value = [float((-1) ** k * mpmath.fac2(2 * k - 1)) for k in range(_FAR_TERMS)]
        far_slope = [float((-1) ** k * mpmath.fac2(2 * k + 1)) for k in range(_FAR_TERMS)]
    return value, slope, far_value, far_slope


def mp_erfcx(x):
    """erfcx(x) in mpmath (the reference): e^(x²)·erfc(x), by the asymptotic series beyond 1e6 (mpmath's erfc
    fails from about 1e200; 12 terms are exact to 1e−70 there)."""
    x = mpmath.mpf(x)
    if mpmath.isinf(x):
        return mpmath.mpf(0) if x > 0 else mpmath.inf
    if x > 10 ** 6:
        return sum((-1) ** k * mpmath.fac2(2 * k - 1) / (2 * x * x) ** k for k in range(12)) / (x * mpmath.sqrt(mpmath.pi))
    return mp_exp(x * x) * mpmath.erfc(x)


def mp_erfcx_slope(x):
    """erfcx′(x) = 2x·erfcx(x) − 2/√π in mpmath (the reference), by its asymptotic series beyond 1e6."""
    x = mpmath.mpf(x)
    if mpmath.isinf(x):
        return mpmath.mpf(0) if x > 0 else -mpmath.inf
    if x > 10 ** 6:
        return -sum((-1) ** k * mpmath.fac2(2 * k + 1) / (2 * x * x) ** k for k in range(12)) / (x * x * mpmath.sqrt(mpmath.pi))
    with mpmath.workdps(mpmath.mp.dps + 20 + int(2 * mpmath.log10(1 + abs(x)))):  # 2x² of the digits cancel
        return +(2 * x * mp_exp(x * x) * mpmath.erfc(x) - 2 / mpmath.sqrt(mpmath.pi))


def _horner(coefficients, t: str) -> str:
    """c_0 + t·(c_1 + t·(…)) as text."""
    text = repr(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        text = f"{c!r} + {t} * ({text})"
    return text


_RSQRTPI = 0.5641895835477563  # 1/√π
_TWO_RSQRTPI = 1.1283791670955126  # 2/√π


def _numpy_text(name: str, slope: bool, pieces, far) -> str:
    what = "erfcx′(x) = 2x·erfcx(x) − 2/√π" if slope else "erfcx(x) = e^(x²)·erfc(x)"
    lines = [f"def {name}(x, out=None):",
             f'    """{what} into out, in float64 (symnet/scaled_erfc.py: generated from mpmath). x < 0:',
             "    e^(x²)·erfc(x) with x² = p + e exactly (Dekker); [0, 8.75): Taylor pieces of width 1.25; beyond:",
             '    the asymptotic series (Abramowitz & Stegun 7.1.23)."""',
             "    if out is None:",
             "        out = np.empty(np.shape(x), np.result_type(x, np.float32))",
             "    a = np.asarray(x, np.float64)",
             "    y = np.full(np.shape(a), np.nan)",
             "    with np.errstate(all='ignore'):",
             "        neg = a < 0",
             "        if neg.any():",
             "            s = np.maximum(a[neg], -27.0)  # below −26.6 erfcx overflows: inf",
             "            c = 134217729.0 * s",
             "            s_hi = c - (c - s)",
             "            s_lo = s - s_hi",
             "            p = s * s",
             "            e = ((s_hi * s_hi - p) + 2.0 * s_hi * s_lo) + s_lo * s_lo  # x² = p + e exactly",
             "            t = np.exp(p)",
             "            scaled = np.where(t < np.inf, t + t * e, t) * _erfc(s)"]
    lines += [f"            y[neg] = 2.0 * s * scaled - {_TWO_RSQRTPI!r}" if slope else "            y[neg] = scaled"]
    for j, (c, coefficients) in enumerate(pieces):
        lo, hi = PIECE_WIDTH * j, PIECE_WIDTH * (j + 1)
        lines += [f"        piece = (a >= {lo!r}) & (a < {hi!r})",
                  "        if piece.any():",
                  f"            t = a[piece] - {c!r}",
                  f"            y[piece] = {_horner(coefficients, 't')}"]
    lines += [f"        far = a >= {FAR!r}",
              "        if far.any():",
              "            g = a[far]",
              "            v = 0.5 / g / g  # 1/(2x²): 0 beyond 1e154, no overflow",
              f"            series = {_horner(far, 'v')}"]
    lines += [f"            y[far] = -(series * ({_RSQRTPI!r} / g / g))" if slope else
              f"            y[far] = series * ({_RSQRTPI!r} / g)"]
    lines += ["    out[...] = y  # NaN where x is NaN", "    return out", ""]
    return "\n".join(lines)


def _triton_text(name: str, slope: bool, pieces, far) -> str:
    what = "erfcx′(x) = 2x·erfcx(x) − 2/√π" if slope else "erfcx(x) = e^(x²)·erfc(x)"
    lines = ["@triton.jit", f"def {name}(x):",
             f'    """{what} in float64 (symnet/scaled_erfc.py: generated from mpmath; a float32 x rounded once',
             "    at the end). x < 0: e^(x²)·erfc(x) with x² = p + e exactly (Dekker); [0, 8.75): Taylor pieces of",
             '    width 1.25; beyond: the asymptotic series (Abramowitz & Stegun 7.1.23)."""',
             "    a = x.to(tl.float64)",
             "    s = tl.minimum(tl.maximum(a, -27.0), 0.0)  # the branch x < 0 (below −26.6 erfcx overflows: inf)",
             "    c = 134217729.0 * s",
             "    s_hi = c - (c - s)",
             "    s_lo = s - s_hi",
             "    p = s * s",
             "    e = ((s_hi * s_hi - p) + 2.0 * s_hi * s_lo) + s_lo * s_lo  # x² = p + e exactly",
             "    t = tl.exp(p)",
             "    scaled = tl.where(t < float(\"inf\"), t + t * e, t) * _erfc(s)"]
    lines += [f"    y = 2.0 * s * scaled - {_TWO_RSQRTPI!r}" if slope else "    y = scaled"]
    for j, (c, coefficients) in enumerate(pieces):
        lo = PIECE_WIDTH * j
        lines += [f"    t = a - {c!r}", f"    y = tl.where(a >= {lo!r}, {_horner(coefficients, 't')}, y)"]
    lines += [f"    g = tl.maximum(a, {FAR!r})", "    v = 0.5 / g / g  # 1/(2x²): 0 beyond 1e154, no overflow",
              f"    series = {_horner(far, 'v')}"]
    lines += [f"    y = tl.where(a >= {FAR!r}, -(series * ({_RSQRTPI!r} / g / g)), y)" if slope else
              f"    y = tl.where(a >= {FAR!r}, series * ({_RSQRTPI!r} / g), y)"]
    lines += ["    return tl.where(a != a, a, y).to(x.dtype)  # NaN stays NaN", ""]
    return "\n".join(lines)


_cached_tables = functools.cache(_tables)  # one mpmath computation for both backends' helpers


def numpy_helpers() -> dict:
    """The NumPy helpers ``_erfcx`` and ``_erfcx_slope`` (they call the registry's ``_erfc``)."""
    value, slope, far_value, far_slope = _cached_tables()
    return {"_erfcx": _numpy_text("_erfcx", False, value, far_value),
            "_erfcx_slope": _numpy_text("_erfcx_slope", True, slope, far_slope)}


def triton_helpers() -> dict:
    """The Triton device helpers ``_erfcx`` and ``_erfcx_slope`` (they call the registry's ``_erfc``)."""
    value, slope, far_value, far_slope = _cached_tables()
    return {"_erfcx": _triton_text("_erfcx", False, value, far_value),
            "_erfcx_slope": _triton_text("_erfcx_slope", True, slope, far_slope)}
