"""Session 29's hostile tester (h-hostile29): symnet.torch ops, compiled functions, the cache folder.

Each test failed before its fix (the number or message before is in its comment)."""
import pytest
import sympy as sp

import symnet
from symnet.parsing import parse_point


# A formula's Greek letters are read as their names (θ → theta, θ₁ → theta_1, as the printer shows them),
# but names given on their own (wrt=, inputs=, --at) were read without that step: derive("θ*x", wrt=["θ"])
# raised "'θ' does not appear in the formula (its inputs: theta, x)", and the parser's own hint for
# `lambda*x` ("call it lam or λ") was the only Greek name accepted.
@pytest.mark.parametrize("formula, wrt, name", [("θ*x", ["θ"], "theta"), ("x*θ₁", ["θ₁", "x"], "theta_1"),
                                                ("α*a", "α a", "alpha"), ("ϑ*x", ["ϑ"], "theta"),
                                                ("µ*x", ["µ"], "mu")])
def test_greek_names_in_wrt_are_the_formulas(formula, wrt, name):
    d = symnet.derive(formula, wrt=wrt)
    symbol = d.wrt[0]
    assert symbol.name == name
    # the derivative by hand: the formula's other factor
    expr = d.jacobian[0, 0]
    assert sp.simplify(expr - sp.diff(sp.sympify(formula.replace("θ₁", "theta_1").replace("θ", "theta")
                                                 .replace("ϑ", "theta").replace("α", "alpha").replace("µ", "mu"),
                                                 locals={name: symbol, "x": sp.Symbol("x", real=True),
                                                         "a": sp.Symbol("a", real=True)}), symbol)) == 0

def test_greek_names_at_a_point():
    point = parse_point("θ=2, x=3")
    assert sorted(s.name for s in point) == ["theta", "x"]
