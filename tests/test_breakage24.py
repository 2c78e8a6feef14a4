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

Measured and left (strict xfail, the numbers in each reason).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from symnet.render import _ascii, shown, text

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
