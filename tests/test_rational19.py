"""Session 19: the printed derivation of a rational function of one input shows its numerator collected.

The rational-function rule (symnet/codegen/rewrite.py, tests/test_rational18.py) makes the generated code of
``(x**2+1)/(x**2+3*x+5)`` stable by putting the derivative over one denominator with the numerator expanded (P′Q −
PQ′'s leading terms 2x³ cancel exactly, in SymPy); ``symnet derive`` printed the derivative as the substitution
gives it, P′Q − PQ′ over Q² as written. The Result now ends with a step "collect the numerator" (the printer's
ordinary step, checked as every step is): df/dx = (3x² + 8x − 3)/(x² + 3x + 5)².

References: SymPy's own derivative of the written formula (simplify of the difference is 0) and the numerator
worked by hand above; the printed text parsed back from ``--format json`` (what a reader copies).
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy as sp

import symnet
from symnet.parsing import FUNCTIONS
from symnet.render import render_latex

x = sp.Symbol("x", real=True)

# the three shapes of tests/test_rational18.py: P and Q of equal degree; P of higher degree (real poles ±√2, a
# real zero); P of lower degree
FORMULAS = ["(x**2+1)/(x**2+3*x+5)", "(2*x**3-x+1)/(x**2-2)", "(x+2)/(x**4+1)"]


def _result_steps(d):
    return next(s for s in d.sections if s.title == "Result").steps


def _derive_json(formula: str) -> dict:
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", formula, "--wrt", "x", "--format", "json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    return json.loads(run.stdout)


def test_the_issues_rational_prints_its_numerator_collected_plain_and_latex():
    """The numerator 2x(x² + 3x + 5) − (x² + 1)(2x + 3) = 3x² + 8x − 3 (by hand), over (x² + 3x + 5)²: in the
    text printout and in the LaTeX one, as the Result's last step, after the substituted form it is equal to."""
    d = symnet.derive(FORMULAS[0], wrt="x", progress=False)
    steps = _result_steps(d)
    assert [s.why.split(":")[0] for s in steps] == ["substitute the forward pass", "collect the numerator"]
    assert steps[-1].check in ("exact", "symbolic")
    printed = str(d)
    assert "df/dx = (3·x² − 3 + 8·x)/(5 + x² + 3·x)²    [collect the numerator: " in printed
    assert printed.index("[substitute the forward pass") < printed.index("[collect the numerator")
    tex = render_latex(d)
    assert r"\frac{d f}{d x} = \frac{3 x^{2} - 3 + 8 x}{\left(5 + x^{2} + 3 x\right)^{2}}" in tex
    assert r"\text{collect the numerator: one denominator, the numerator}" in tex
    assert "?" not in tex  # every character of the reason written as LaTeX


@pytest.mark.parametrize("formula", FORMULAS)
def test_the_printed_final_formula_is_sympys_derivative(formula):
    """The last Result step's formula as printed (JSON, parsed back as the README says) minus SymPy's derivative of
    the written formula simplifies to 0; its numerator is a polynomial (collected), its denominator the factors
    of Q squared."""
    out = _derive_json(formula)
    result = next(s for s in out["sections"] if s["title"] == "Result")["steps"]
    last = result[-1]
    assert last["why"].startswith("collect the numerator"), last
    assert last["check"] in ("exact", "symbolic")
    printed = sp.sympify(last["value"], locals={**FUNCTIONS, "x": x})
    written = sp.sympify(formula, locals={"x": x})
    assert sp.simplify(printed - sp.diff(written, x)) == 0
    numerator, denominator = sp.fraction(printed)
    assert sp.Poly(numerator, x).degree() >= 0 and sp.expand(numerator) == numerator  # collected: no product left
    q = sp.fraction(sp.cancel(written))[1]
    assert sp.simplify(denominator / q ** 2).is_number


@pytest.mark.parametrize("formula, wrt", [("x*exp(x**2)", "x"), ("x**3 + 2*x", "x"), ("1/x", "x"),
                                          ("(x**2+1)/(x**2+y)", "x")])
def test_no_collect_step_where_there_is_nothing_to_collect(formula, wrt):
    """Not a rational function of one input (an exponential; two inputs), a polynomial (no denominator), or one
    already in that form (−1/x²): the Result is the substituted form alone, as before."""
    d = symnet.derive(formula, wrt=wrt, progress=False)
    assert not any(s.why.startswith("collect the numerator") for s in _result_steps(d))
