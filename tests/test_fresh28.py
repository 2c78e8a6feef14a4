"""Found by h-fresh28 (session 28) using symnet as a new user, a teacher pasting derivations into notes.

Each test failed before its fix (the number in its comment) and passes after."""
import json

import pytest
import sympy as sp

import symnet
import symnet.parsing
from symnet.render import render, shown


def _read_back(text: str) -> sp.Expr:
    """The number a reader gets from a printed value: the text format read as Python arithmetic."""
    s = text.replace("·", "*").replace("−", "-").replace("²", "**2")
    return sp.sympify(s, locals={**symnet.parsing.FUNCTIONS, "E": sp.E, "x": x, "y": y, "z": z, "w": w})


def _unevaluated(*args):
    return sp.Mul(*args, evaluate=False)


def _inverse(base):
    return sp.Pow(base, -1, evaluate=False)


x, y, z, w = sp.symbols("x y z w", positive=True)
A = 1 + sp.exp(sp.Rational(3, 2)) * (1 + sp.E)


@pytest.mark.parametrize("expr", [
    # u₁·u₆/u₇ of a label-smoothed 3-class cross-entropy at --at a=1,b=2,c=-0.5,eps=0.1, each u a quotient:
    # printed −1·14/15·exp(1/2)/(1 + …)/exp(3/2)/(1 + …), which reads as −0.00110 for −0.34335
    # (main: df/da of the 2-class one at a=1, b=2, eps=1/10 read −0.6560 for −0.6311)
    _unevaluated(sp.Integer(-1), sp.Rational(14, 15), _unevaluated(_inverse(A), sp.exp(sp.Rational(1, 2))),
                 _inverse(_unevaluated(_inverse(A), sp.exp(sp.Rational(3, 2))))),
    # the same with symbols: printed −1·14/15·y/x/z/x, which reads as −14y/(15x²z) for −14y/(15z)
    _unevaluated(sp.Integer(-1), sp.Rational(14, 15), _unevaluated(_inverse(x), y),
                 _inverse(_unevaluated(_inverse(x), z))),
    # guards: these printed right before (w/((z/x))) and must stay right
    _unevaluated(w, _inverse(_unevaluated(_inverse(x), z))),
    _unevaluated(sp.Rational(1, 10), _inverse(_unevaluated(_inverse(x + 1), sp.exp(sp.Rational(5, 2)))), sp.exp(2)),
])
def test_printed_quotient_of_quotients_reads_as_its_value(expr):
    printed = shown(expr)
    point = {x: sp.Rational(3, 2), y: sp.Rational(5, 7), z: sp.Rational(2, 9), w: 3}
    assert sp.N(_read_back(printed).subs(point) - expr.subs(point), 30) == pytest.approx(0, abs=1e-25), printed


def test_printed_quotient_keeps_plain_forms():
    # what printed well before prints the same: no new parentheses in ordinary products and sums
    assert shown(x / (2 * y)) == "x/(2·y)"
    assert shown(x * y / (z + 1)) == "x·y/(z + 1)"
    assert shown(2 * x / 3) == "2·x/3"
    assert shown(-x / y) == "−x/y"
    assert shown(x / y + 1) in ("x/y + 1", "1 + x/y")


def test_json_of_sigmoid_parses_back_with_the_registry_names():
    # README: every expression in the JSON parses back with sympy.sympify(s, locals=symnet.parsing.FUNCTIONS).
    # The sigmoid derivation's output is named σ, which FUNCTIONS maps to the sigmoid function: before, 10 of its
    # 51 strings failed ("Derivative(σ, u2)": SympifyError) and "outputs": ["σ"] read back as a function
    doc = json.loads(render(symnet.get("sigmoid"), "json"))
    strings = [doc["outputs"][0], *(d["target"] for d in doc["definitions"])]
    strings += [s for sec in doc["sections"] for st in sec["steps"] for s in (st["lhs"], st["value"], *st["forms"])]
    read = [sp.sympify(s, locals=symnet.parsing.FUNCTIONS) for s in strings]
    assert read[0] == sp.Symbol("σ")
    assert all(isinstance(r, sp.Basic) for r in read)
    assert any(isinstance(r, sp.Derivative) and r.expr == sp.Symbol("σ") for r in read)


def test_latex_keeps_a_negative_product_of_numbers_as_written():
    # symnet derive mse-sigmoid --format latex: z = θ₁₀·x₀ + θ₁₁·x₁ + θ₁₂·x₂ = 0.1·1 − 0.1 + 0.3(−1), where the text
    # format shows 0.1·1 − 0.2·1/2 + 0.3·(−1): LatexPrinter's −term evaluated −1·0.2·1/2 (before: "- 0.1")
    from symnet.render import latex
    M = lambda *a: sp.Mul._from_args(a)  # noqa: E731
    put_in = sp.Add._from_args((M(sp.Rational(1, 10), sp.Integer(1)), M(sp.Integer(-1), sp.Rational(1, 5), sp.Rational(1, 2)),
                                M(sp.Integer(-1), sp.Rational(3, 10))))
    tex = latex(put_in)
    assert r"- 0.2 \cdot \frac{1}{2}" in tex and "0.1 -" not in tex.replace(r"0.1 \cdot 1", ""), tex
    z_step = symnet.get("mse-sigmoid").sections[0].steps[0]  # z = θ₁₀·x₀ + … = 0.1·1 − 0.2·1/2 + 0.3·(−1) = −0.3
    assert r"0.2 \cdot \frac{1}{2}" in latex(z_step.chain[1]), latex(z_step.chain[1])
