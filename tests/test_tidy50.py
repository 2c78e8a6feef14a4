"""tidy50 (session 50, h-tidy50): one place for the rewrite rules' common walk and their common ``fired``.

Seventeen whole-expression rules wrote out the same walk: "``expr`` as it is unless it is an expression holding one
of some classes, else every outermost node a node function rewrites, rewritten, top down" (nine asked the node
function of expression nodes only, through a ``lambda node: f(node) if isinstance(node, sp.Expr) else None``; eight
asked it of every node). Both are now ``widening._top_down_having(expr, atoms, node_form, leaves, exprs_only)``. The
102 rules whose ``fired`` was ``lambda old, new: new != old`` share ``core._rewrote``. Strictly behaviour-preserving:
``symnet codegen --check`` (NumPy and Triton) and ``symnet docs --check`` up to date, and the generated NumPy source
of 40 formulas of tests/test_*4[5-9].py (6.9 MB) identical before (a3232204) and after. Left as they were: the
copies guarded by ``isinstance(expr, sp.Basic)`` (softmax.py, logs.py, products.py, sigmoids.py, cancellation.py's
shifted sums: a non-expression holding the atoms is walked there), hypot.py's ``_hypot_slopes`` (its guard is a
predicate, not classes), and widening.py's ``fired=lambda old, new: old != new`` (the operands the other way round).
"""
import pathlib
import re

import sympy as sp
from sympy.codegen.cfunctions import log1p

from symnet.codegen.rewrite.core import _rewrote
from symnet.codegen.rewrite.widening import _top_down_having

REWRITE = pathlib.Path(__file__).resolve().parents[1] / "symnet" / "codegen" / "rewrite"

x, y = sp.symbols("x y", real=True)


def test_the_walk_leaves_an_expression_without_the_atoms_and_a_non_expression_alone():
    asked = []

    def node_form(node):
        asked.append(node)
        return None

    e = sp.exp(x) + y
    assert _top_down_having(e, sp.log, node_form) is e and not asked
    t = sp.Tuple(sp.log(x), y)
    assert _top_down_having(t, sp.log, node_form) is t and not asked
    assert _top_down_having(sp.log(x) + y, (sp.exp, sp.log), node_form) == sp.log(x) + y and asked


def test_the_walk_rewrites_each_outermost_node_and_asks_only_expressions_unless_told():
    def node_form(node):
        return log1p(node.args[0] - 1) if isinstance(node, sp.log) else None

    e = sp.Piecewise((sp.log(x) * y, x > 0), (sp.log(y), True))
    assert _top_down_having(e, sp.log, node_form) == sp.Piecewise(
        (log1p(x - 1) * y, x > 0), (log1p(y - 1), True))
    kinds = set()

    def spy(node):
        kinds.add(isinstance(node, sp.Expr))
        return None

    boolean_leaves = (sp.logic.boolalg.Boolean,)
    _top_down_having(e, sp.log, spy, boolean_leaves)
    assert kinds == {True}  # a Piecewise's pairs entered, not asked
    kinds.clear()
    _top_down_having(e, sp.log, spy, boolean_leaves, exprs_only=False)
    assert kinds == {True, False}


def test_rewrote_is_a_change():
    assert _rewrote(x, y) and not _rewrote(x + y, y + x)


def test_the_idioms_are_not_written_out_again():
    guarded = re.compile(r"if not isinstance\(expr, sp\.Expr\) or not expr\.has\([^)]*\):\n\s+return expr\n\s*"
                         r"return _top_down\(")
    for path in sorted(REWRITE.glob("*.py")):
        text = path.read_text()
        assert not guarded.search(text), f"{path.name}: use _top_down_having"
        assert "fired=lambda old, new: new != old" not in text, f"{path.name}: use fired=_rewrote"
