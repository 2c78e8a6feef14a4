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

__all__ = ["PIECE_WIDTH", "PIECES", "FAR", "numpy_helpers", "triton_helpers", "mp_erfcx", "mp_erfcx_slope",
           "numpy_tail_helpers", "triton_tail_helpers", "mp_erfcx_slope_tail"]

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


def _left_lines(below: str, overflow: str) -> list:
    """The NumPy helper's opening and its left branch, x < ``below``: scaled = e^(x²)·erfc(x) with x² = p + e exactly
    (Dekker's split), shared by erfcx, erfcx′ and erfcx′ + 1/(√π·x²)."""
    return ["    if out is None:",
            "        out = np.empty(np.shape(x), np.result_type(x, np.float32))",
            "    a = np.asarray(x, np.float64)",
            "    y = np.full(np.shape(a), np.nan)",
            "    with np.errstate(all='ignore'):",
            f"        neg = a < {below}",
            "        if neg.any():",
            f"            s = np.maximum(a[neg], -27.0)  # below −26.6 {overflow}",
            "            c = 134217729.0 * s",
            "            s_hi = c - (c - s)",
            "            s_lo = s - s_hi",
            "            p = s * s",
            "            e = ((s_hi * s_hi - p) + 2.0 * s_hi * s_lo) + s_lo * s_lo  # x² = p + e exactly",
            "            t = np.exp(p)",
            "            scaled = np.where(t < np.inf, t + t * e, t) * _erfc(s)"]


def _numpy_text(name: str, slope: bool, pieces, far) -> str:
    what = "erfcx′(x) = 2x·erfcx(x) − 2/√π" if slope else "erfcx(x) = e^(x²)·erfc(x)"
    lines = [f"def {name}(x, out=None):",
             f'    """{what} into out, in float64 (symnet/scaled_erfc.py: generated from mpmath). x < 0:',
             "    e^(x²)·erfc(x) with x² = p + e exactly (Dekker); [0, 8.75): Taylor pieces of width 1.25; beyond:",
             '    the asymptotic series (Abramowitz & Stegun 7.1.23)."""'] + _left_lines("0", "erfcx overflows: inf")
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


# ------------------------------------------------------------------ erfcx′ less its leading term (session 27)
# h(x) = erfcx′(x) + 1/(√π·x²), the derivative of erfcx(x) − 1/(√π·x) (the scaled-erfc rule's erfcx′(u)/(2u)):
# written so it cancels to 3/(2√π·x⁴) for x ≫ 1 (18 ULP in float64 at x = 8, 5.3e3 at 100, 1.5e7 at 1e4), and it
# crosses 0 at x ≈ −0.4517. Computed whole, in float64:
# * x ≥ 8.75: the asymptotic series of erfcx′ from its second term, 3/(2√π·x⁴)·Σ (−1)^j·(2j + 3)!!/3/(2x²)^j;
# * [−0.8, 8.75): q(x) = x²·erfcx′(x) + 1/√π, which is entire (1/√π at 0: no pole), by Taylor pieces, and h = q/x/x;
#   q's coefficients about c are c²·b_n + 2c·b_(n−1) + b_(n−2) (b: erfcx′'s, from the ODE above), with 1/√π added
#   to the first, at 40 digits; [−0.8, −0.2) is centred at q's root (t = x − r exact by Sterbenz near it, so h
#   keeps its relative accuracy through the zero), [−0.2, 0) at −0.1, the others at the pieces' centres as erfcx's
#   (one piece [−1.25, 0) about the root was 3.1 ULP at x = −0.0085: its terms there sum to several times q);
# * x < −0.8: erfcx′(x) + 1/(√π·x²) as written (erfcx′ ≤ −6.4 there, the second term ≤ 0.89: no cancellation).
_TAIL_LOW = -0.8
_TAIL_SPLIT = -0.2  # [−0.8, −0.2) about q's root, [−0.2, 0) about −0.1


def _q_series(c, n):
    """The Taylor coefficients of q(x) = x²·erfcx′(x) + 1/√π about c, n + 1 of them (mpmath)."""
    a = _taylor(c, n + 2)
    b = [(k + 1) * a[k + 1] for k in range(n + 1)]
    d = [c * c * b[k] + (2 * c * b[k - 1] if k >= 1 else 0) + (b[k - 2] if k >= 2 else 0) for k in range(n + 1)]
    d[0] += 1 / mpmath.sqrt(mpmath.pi)
    return d


def _q_piece(c, lo, hi):
    """(centre, float coefficients) of q on [lo, hi] about c, cut where a term at the far end falls below 2⁻⁵⁸ of the
    least |q| on the piece or of |q′(c)|·radius (near a root of q, where the least is 0, relative to the slope)."""
    radius = max(c - lo, hi - c)
    d = _q_series(c, 60)
    at = [abs(sum(d_k * (e - c) ** k for k, d_k in enumerate(d))) for e in (lo, hi)]
    least = min(at + ([abs(d[1]) * radius] if abs(d[0]) < abs(d[1]) * radius else []))
    return float(c), _cut(d, radius, least)


def _tail_tables():
    """(Taylor pieces of q: about its root, about −0.1, then the seven of [0, 8.75); the far series)."""
    with mpmath.workdps(_DPS):
        q = lambda v: sum(d_k for d_k in _q_series(v, 0))  # noqa: E731 - q itself, d_0 about v
        root = mpmath.findroot(q, -0.45)
        pieces = [_q_piece(mpmath.mpf(float(root)), mpmath.mpf(_TAIL_LOW), mpmath.mpf(_TAIL_SPLIT)),
                  _q_piece(mpmath.mpf(_TAIL_SPLIT) / 2, mpmath.mpf(_TAIL_SPLIT), mpmath.mpf(0))]
        for j in range(PIECES):
            c = mpmath.mpf(PIECE_WIDTH) * j + mpmath.mpf(PIECE_WIDTH) / 2
            pieces.append(_q_piece(c, c - mpmath.mpf(PIECE_WIDTH) / 2, c + mpmath.mpf(PIECE_WIDTH) / 2))
        v = 1 / (2 * mpmath.mpf(FAR) ** 2)
        far, total, j = [], 0, 0
        while True:  # terms until the next is below 2⁻⁶⁰ of the sum at 8.75 (the series falls there to j ≈ 75)
            term = (-1) ** j * mpmath.fac2(2 * j + 3) / 3
            if far and abs(term) * v ** j < mpmath.mpf(2) ** -60 * abs(total):
                break
            far.append(float(term))
            total += term * v ** j
            j += 1
    return pieces, far


def mp_erfcx_slope_tail(x):
    """erfcx′(x) + 1/(√π·x²) in mpmath (the reference), by its asymptotic series beyond 1e6."""
    x = mpmath.mpf(x)
    if mpmath.isinf(x):
        return mpmath.mpf(0) if x > 0 else -mpmath.inf
    if x == 0:
        return mpmath.inf
    if x > 10 ** 6:
        v = 1 / (2 * x * x)
        return sum((-1) ** j * mpmath.fac2(2 * j + 3) * v ** j for j in range(12)) * v / (x * x * mpmath.sqrt(mpmath.pi))
    with mpmath.workdps(mpmath.mp.dps + 20 + int(4 * mpmath.log10(1 + abs(x)))):  # 2x² and then 2x² more cancel
        return +(mp_erfcx_slope(x) + 1 / (mpmath.sqrt(mpmath.pi) * x * x))


_FAR_TAIL = "3.0 * {r} / g / g * (v * series)"  # 3/(√π·x²)·1/(2x²)·Σ: 3/(2√π·x⁴)·(1 − 5/(2x²) + …)


def _tail_numpy_text(name: str, pieces, far) -> str:
    lines = [f"def {name}(x, out=None):",
             '    """erfcx′(x) + 1/(√π·x²) into out, in float64 (symnet/scaled_erfc.py: generated from mpmath). x < −0.8:',
             "    as written (no cancellation there); [−0.8, 8.75): q(x) = x²·erfcx′(x) + 1/√π (entire) by Taylor pieces,",
             '    q/x/x; beyond: the asymptotic series of erfcx′ from its second term (A&S 7.1.23)."""']
    lines += _left_lines(repr(_TAIL_LOW), "erfcx′ overflows: −inf")
    lines += [f"            y[neg] = (2.0 * s * scaled - {_TWO_RSQRTPI!r}) + {_RSQRTPI!r} / s / s"]
    bounds = [(_TAIL_LOW, _TAIL_SPLIT), (_TAIL_SPLIT, 0.0)] + [(PIECE_WIDTH * j, PIECE_WIDTH * (j + 1)) for j in range(PIECES)]
    for (lo, hi), (c, coefficients) in zip(bounds, pieces):
        lines += [f"        piece = (a >= {lo!r}) & (a < {hi!r})",
                  "        if piece.any():",
                  f"            t = a[piece] - {c!r}",
                  f"            y[piece] = ({_horner(coefficients, 't')}) / a[piece] / a[piece]"]
    lines += [f"        far = a >= {FAR!r}",
              "        if far.any():",
              "            g = a[far]",
              "            v = 0.5 / g / g  # 1/(2x²): 0 beyond 1e154, no overflow",
              f"            series = {_horner(far, 'v')}",
              "            y[far] = " + _FAR_TAIL.format(r=repr(_RSQRTPI)),
              "    out[...] = y  # NaN where x is NaN", "    return out", ""]
    return "\n".join(lines)


def _tail_triton_text(name: str, pieces, far) -> str:
    lines = ["@triton.jit", f"def {name}(x):",
             '    """erfcx′(x) + 1/(√π·x²) in float64 (symnet/scaled_erfc.py: generated from mpmath; a float32 x rounded',
             "    once at the end). x < −0.8: as written (no cancellation there); [−0.8, 8.75): q(x) = x²·erfcx′(x) + 1/√π",
             '    (entire) by Taylor pieces, q/x/x; beyond: the asymptotic series of erfcx′ from its second term."""',
             "    a = x.to(tl.float64)",
             f"    s = tl.minimum(tl.maximum(a, -27.0), {_TAIL_LOW!r})  # the branch x < −0.8 (below −26.6: −inf)",
             "    c = 134217729.0 * s",
             "    s_hi = c - (c - s)",
             "    s_lo = s - s_hi",
             "    p = s * s",
             "    e = ((s_hi * s_hi - p) + 2.0 * s_hi * s_lo) + s_lo * s_lo  # x² = p + e exactly",
             "    t = tl.exp(p)",
             "    scaled = tl.where(t < float(\"inf\"), t + t * e, t) * _erfc(s)",
             f"    y = (2.0 * s * scaled - {_TWO_RSQRTPI!r}) + {_RSQRTPI!r} / s / s"]
    lows = [_TAIL_LOW, _TAIL_SPLIT] + [PIECE_WIDTH * j for j in range(PIECES)]
    for lo, (c, coefficients) in zip(lows, pieces):
        lines += [f"    t = a - {c!r}", f"    y = tl.where(a >= {lo!r}, ({_horner(coefficients, 't')}) / a / a, y)"]
    lines += [f"    g = tl.maximum(a, {FAR!r})", "    v = 0.5 / g / g  # 1/(2x²): 0 beyond 1e154, no overflow",
              f"    series = {_horner(far, 'v')}",
              f"    y = tl.where(a >= {FAR!r}, " + _FAR_TAIL.format(r=repr(_RSQRTPI)) + ", y)",
              "    return tl.where(a != a, a, y).to(x.dtype)  # NaN stays NaN", ""]
    return "\n".join(lines)


_cached_tail_tables = functools.cache(_tail_tables)


def numpy_tail_helpers() -> dict:
    """The NumPy helper ``_erfcx_slope_tail`` (it calls the registry's ``_erfc``)."""
    return {"_erfcx_slope_tail": _tail_numpy_text("_erfcx_slope_tail", *_cached_tail_tables())}


def triton_tail_helpers() -> dict:
    """The Triton device helper ``_erfcx_slope_tail`` (it calls the registry's ``_erfc``)."""
    return {"_erfcx_slope_tail": _tail_triton_text("_erfcx_slope_tail", *_cached_tail_tables())}
