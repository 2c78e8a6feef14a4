"""Session 24, h-break24: hostile inputs against session 23's work (the Triton repair kernel, the product-over-sum
and log-linear-root rules, the widened x·y − z, ``_constant_times``/``_constant_quotients``/``_constant_product``,
``render.big_integer``, ``derive --format ascii``, ``bounds.cpu_alarm``), each fault against an independent
reference: mpmath at 1000 digits of SymPy's derivative of the formula as written and torch.autograd of it in the same
dtype (``test_breakage21b._faults``: ≤ 4 ULP float64, ≤ 8 float32 where the truth is normal, its rounding within
1 ULP where subnormal, never worse than torch).

Fixed:
- The text and ASCII printouts wrote a denominator abbreviated as k·10ⁿ or ≈m·10ⁿ bare after '/':
  ``symnet derive "x*5e-324"`` printed df/dx = 1/2·10³²³ (ASCII 1/2*10^323), which reads as 5·10³²², and
  ``x/1234567890123456789`` x/≈1.23457·10¹⁸; now 1/(2·10³²³) and x/(≈1.23457·10¹⁸) (LaTeX's \\frac was right).
- NumPy ``_constant_quotients`` (c·x/y², the scaled-square rule's chain) took a constant within 2^±100 only: beyond
  it the constant came last, ∂y of −1e308·x/y 0 at (1e−300, 3e38) for 1.1e−69, of x/(3.4e38·y) −inf at (1e300,
  1e−20) for −2.9e301 (torch exact at both). Now any constant held as a normal c or 1/q; a float32 block whose c/q
  is no normal float32 in float64 (as ``_constant_times``); an x/z that underflows to 0 itself counts as out of range.
- A NumPy widened function's scaled tier (a leaf or the value below 2⁻⁹⁶⁸) ran on the kept elements only where the
  whole block was kept: beside an element that cancels (gathered path) a kept element went without it, so its value
  depended on its neighbours: the Poisson deviance t·log(t/p) − t + p at p = 1e−300, t = 3e38 was 2.335e41 alone
  (truth 2.335e41) and inf beside (p, t) = (1, 2) (torch inf).
- NumPy ``_constant_times`` refused a constant below the normal range: 1e−308·x/y (1/10³⁰⁸) was (x/y)/10³⁰⁸, inf at
  (3e10, 1e−300) for 300 (torch 300). Now 1/q with q normal is divided by q first where x/y overflows.

Probed clean (no test added): product-over-sum x·y/(x ± y), −x·y/(y − x), 3x·y/(x + y) over 24² points of 0, ±0,
±1e−30, ±5e−324, 1e−310, ±88.7, ±710, ±1e4, ±3e38, ±1.797e308, ±inf, ±1, 1e±300 (float32 and float64; NumPy; Triton
under the interpreter on 81): 0 faults where the truth is finite; log-linear-root log x − x + 1, 3(log x − x + 1),
x − 1 − log x, + y, at 29 points about 1 and the extremes (both backends): 0; x·y − z, z − x·y, 2x·y − z, x·y + z,
(x·y − z)², x·y − z·x at 500 points z ∈ {fl(x·y), neighbours, 0, 1, 1.797e308, 5e−324}: none worse than torch (the
left one below); the repair kernel (float64, interpreter) on 0-d, (1,), empty (none and mean), a 1023-element expanded
view, a transposed 7×300 view with one flagged element (mean as mpmath's), ±inf, NaN, ±800 in the flagged block;
inputs named x_f64, x_hi, x_lo, np, tl, torch, math beside x (both backends); ``derive --format ascii`` of 16 formulas
(Greek and Unicode names, 2⁷⁰, erfcx, where) and of three ``--stable`` printouts: all ASCII; ``--time-limit`` 1e−9, 1e−7,
0.001, nan, −1, inf, 1e308, abc, and 3 CPU s on ``x*tanh(softplus(beta*x))`` --stable (the table left out with its
warning, exit 0, 6.1 CPU s in all); the constant fixes' outputs the same on 1823×781 arrays, Fortran-ordered and
transposed copies and element by element (1 % and 50 % far data).

Measured and left (strict xfail, the numbers in each reason).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy as sp

from conftest import triton_torch
from symnet.render import _ascii, shown, text
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
INF = math.inf
x, y = sp.symbols("x y", real=True)


def _kept(faults):
    """``_faults`` less the points within 1 ULP of the truth (torch's ±inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


# --- render.big_integer: an abbreviated denominator --------------------------------------------------------------
@pytest.mark.parametrize("expr, unicode, ascii_", [
    (sp.Rational(1, 2 * 10 ** 323), "1/(2·10³²³)", "1/(2*10^323)"),  # the exact 5e−324
    (x / (2 * 10 ** 323), "x/(2·10³²³)", "x/(2*10^323)"),
    (-x / (2 * 10 ** 323), "−x/(2·10³²³)", "-x/(2*10^323)"),
    (x ** 2 / (3 * 10 ** 20), "x²/(3·10²⁰)", "x^2/(3*10^20)"),
    (sp.Rational(7, 3 * 10 ** 20), "7/(3·10²⁰)", "7/(3*10^20)"),
    (x / 1234567890123456789, "x/(≈1.23457·10¹⁸)", "x/(~=1.23457*10^18)"),
    (sp.exp(x / (2 * 10 ** 20)), "exp(x/(2·10²⁰))", "exp(x/(2*10^20))"),
    (x ** sp.Rational(1, 2 * 10 ** 20), "x^(1/(2·10²⁰))", "x^(1/(2*10^20))"),
    # as before: a single-token denominator, a numerator, a denominator of several factors
    (x / 2 ** 60, "x/2⁶⁰", "x/2^60"),
    (x / 10 ** 300, "x/10³⁰⁰", "x/10^300"),
    (sp.Rational(3 * 10 ** 20, 7) * x, "3·10²⁰·x/7", "3*10^20*x/7"),
    (x / (3 * 10 ** 20 * y), "x/(3·10²⁰·y)", "x/(3*10^20*y)"),
])
def test_an_abbreviated_denominator_takes_parentheses(expr, unicode, ascii_):
    """Before: 1/2·10³²³, x/2·10³²³, x/≈1.23457·10¹⁸ (read (x/2)·10³²³: a factor 4·10⁶⁴⁶ off)."""
    assert shown(expr) == unicode and _ascii(shown(expr)) == ascii_
    assert text(expr).replace("-", "−") == unicode  # generated code's comments and docstrings


def test_derive_prints_a_subnormal_constant_unambiguously():
    """`symnet derive "x*5e-324"`: df/dx = 1/2·10³²³ before, in the text and ASCII printouts."""
    from test_bigint23 import symnet_cli

    for fmt, want in (("text", "df/dx = 1/(2·10³²³)"), ("ascii", "df/dx = 1/(2*10^323)")):
        r = symnet_cli("derive", "x*5e-324", "--format", fmt)
        assert r.returncode == 0, r.stderr
        assert want in r.stdout, (fmt, r.stdout[-300:])


# --- constants beyond 2^±100 or below the normal range around a quotient (NumPy) --------------------------------
CONSTANT_CASES = [
    ("-1e308*x/y", lambda t, x, y: -1e308 * x / y, F64, [(1e-300, 3e38), (1e-300, 1e20), (5e-324, 3e38), (2.5, 3.0)]),
    ("x/(3.4e38*y)", lambda t, x, y: x / (3.4e38 * y), F64, [(1e300, 1e-20), (1e-300, 5e-324), (2.5, 3.0)]),
    ("x/(3.4e38*y)", lambda t, x, y: x / (3.4e38 * y), F32, [(3e10, 1e-20), (2.5, 1e-20), (1e-40, 1e-40), (2.5, 3.0)]),
    ("3.4e38*x/y", lambda t, x, y: 3.4e38 * x / y, F64, [(1e-300, 1e20), (2.5, 3.0)]),
    ("1e-308*x/y", lambda t, x, y: 1e-308 * x / y, F64, [(3e10, 1e-300), (1e300, 1e-10), (1e300, 1e-40), (2.5, 3.0)]),
    ("x/(1e-308*y)", lambda t, x, y: x / (1e-308 * y), F64, [(1e-300, 3e38), (2.5, 1.797e308), (2.5, 3.0)]),
    ("1e-39*x/y", lambda t, x, y: 1e-39 * x / y, F32, [(3e10, 1e-20), (1e-10, 1e-40), (2.5, 3.0)]),
]


@pytest.mark.parametrize("formula, fn, dtype, points", CONSTANT_CASES,
                         ids=[f"{c[0]}-{c[2].__name__}" for c in CONSTANT_CASES])
def test_a_far_constant_around_a_quotient(formula, fn, dtype, points):
    """c·x/y and x/(c·y) with c = ±1e308, 3.4e38, 1e−308, 1e−39 (float32 subnormal): f, ∂x, ∂y within the bound or no
    worse than torch. Before (measured): −1e308·x/y ∂y 0 at (1e−300, 3e38) for 1.1e−69; x/(3.4e38·y) ∂y −inf at
    (1e300, 1e−20) float64 and at (3e10, 1e−20) float32 (−8.8e11); 3.4e38·x/y ∂y −0 at (1e−300, 1e20) for −3.4e−302;
    1e−308·x/y f inf at (3e10, 1e−300) for 300; x/(1e−308·y) ∂y −0 at (1e−300, 3e38); 1e−39·x/y float32 ∂y NaN at
    (3e10, 1e−20) for −3e11. torch within 3 ULP at each."""
    bad = _kept(_faults(formula, ["x", "y"], points, dtype, fn))
    assert not bad, bad


LEFT: dict = {}  # none left: the test below collects nothing (kept for the next one measured)
# product-over-sum: forms the rule does not take
# log-linear-root's log(x/y) − x/y + 1, ∂x = (y/x − 1)/y: fixed in session 26 (quotient-complement on a factor), a
# passing test in tests/test_pow26.py
# the Poisson deviance t·log(t/p) − t + p, f −inf at p = 1e300, t = 1e−30 and 1e−300 (truth 1e300: t/p underflowed to
# 0, t·log 0; torch −inf): fixed in session 29 (h-old29: log-linear-root's widened sum beside log t − log p beyond
# t/p's normal range), a passing test in tests/test_old29.py
# the widened x·y − z where x·y overflows and the difference does not (f inf at (1.1, 1.797e308, 1.797e308) for
# 1.797e307): fixed in session 27 (widened-product-overflow), a passing test in tests/test_logs27.py


@pytest.mark.parametrize("formula", list(LEFT))
def test_measured_and_left(formula, request):
    fn, points, dtype, numbers = LEFT[formula]
    request.applymarker(pytest.mark.xfail(strict=True, reason=f"measured (2026-12-03): {formula}: {numbers}"))
    names = [n for n in ("p", "t", "x", "y", "z") if re.search(rf"\b{n}\b", formula)]
    bad = _kept(_faults(formula, names, points, dtype, fn))
    assert not bad, bad


# x/(−1e308·y) (NumPy: f −202402.0 at (1e−10, 5e−324) for −202402.2533, ∂y inf at (5e−324, 5e−324)) and Triton
# 1e−308·x/y (f inf at (3e10, 1e−300) for 300), strict xfails here until session 25: fixed by h-const25's
# _constant_far, now tests in test_const25


# Fixed by the merge with h-quot24 (its float64 helpers for a constant that is no normal float32, both backends):
# h-break24's strict xfails of x/(1e−39·y) (NumPy float32 ∂x = 10³⁹/y inf at (0, 3e10), (2.5, 3); torch ≤ 3.2 ULP)
# and of Triton float32 x/(3.4e38·y) (∂y −inf at (3e10, 1e−20) for −8.8e11, f and ∂y ±inf at (1e−40, 1e−40))
MERGED = [
    ("x/(1e-39*y)", lambda t, x, y: x / (1e-39 * y), F32, [(0.0, 3e10), (2.5, 3.0)], "numpy"),
    ("x/(3.4e38*y)", lambda t, x, y: x / (3.4e38 * y), F32, [(3e10, 1e-20), (1e-40, 1e-40)], "triton"),
]


@pytest.mark.parametrize("formula, fn, dtype, points, backend", MERGED, ids=[c[0] for c in MERGED])
def test_a_constant_no_normal_float32_over_an_input(formula, fn, dtype, points, backend):
    if backend == "triton":
        triton_torch()
    bad = _kept(_faults(formula, ["x", "y"], points, dtype, fn, backend=backend))
    assert not bad, bad


# --- a widened function's scaled tier on the kept elements of a gathered block ------------------------------------
@pytest.mark.parametrize("others", [[], [(1.0, 2.0)], [(1.0, 2.0), (0.5, 0.7), (3.0, 3.0 * (1 + 1e-8))]],
                         ids=["tiny-only", "beside-one", "beside-three"])
def test_a_kept_tiny_leaf_takes_the_scaled_tier_whatever_its_neighbours(others):
    """t·log(t/p) − t + p at p = 1e−300 (below 2⁻⁹⁶⁸), t = 3e38: float64 t/p overflows; the scaled double words give
    2.3351171211619668e41. Before: that value alone, inf beside an element that cancels (the double word computed on
    the others only, the kept ones not given the scaled tier; torch inf)."""
    points = [(1e-300, 3e38), (1e-300, 1e-290)] + others
    bad = _kept(_faults("t*log(t/p) - t + p", ["p", "t"], points, F64, lambda T, p, t: t * T.log(t / p) - t + p))
    assert not [b for b in bad if b[0] == 0], bad  # f (∂p cancels at p ≈ t: test_misc23's strict xfail)
