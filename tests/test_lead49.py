"""Session 49, the lead: a generated kernel's math comment bracketed a kept quotient's inverse as the code does.

h-hyp49 found that the code printers printed a·Grouped(1/r)⁻¹ as ``a/1/r`` (a/r for a·r: ∂ε of the generalised
Charbonnier −0.4267 for −1e400) and fixed ConditionalPrinting.parenthesize; the comments' TextPrinter had the same
case (``# prod_2 = α·value_5²/1/fn_1``). Checked here by evaluating the printed text back, an independent reading."""
from __future__ import annotations

import sympy as sp

from symnet.codegen.rewrite import Grouped
from symnet.render import TextPrinter


def _read_back(text):
    """The comment's text as Python arithmetic (· → *, ⁻² → **(−2), ² → **2), evaluated at numbers."""
    return text.replace("·", "*").replace("⁻²", "**(-2)").replace("²", "**2").replace("α", "alpha")


def test_kept_inverse_quotient_is_bracketed_in_comments():
    r, alpha, v = sp.symbols("r alpha v")
    for e in (alpha * v**2 / Grouped(1 / r), alpha / Grouped(1 / r**2)):
        text = TextPrinter().doprint(e)
        point = {"alpha": 3.0, "v": 5.0, "r": 7.0}
        got = eval(_read_back(text), {}, dict(point))  # noqa: S307 test text
        want = float(e.subs({sp.Symbol(k): x for k, x in point.items()}).doit())
        assert abs(got - want) <= 1e-12 * abs(want), (text, got, want)
