"""The four output formats, and Jupyter's rich display."""
from __future__ import annotations

import json

import sympy as sp

import symnet
from symnet.render import _parsable, render
from symnet.parsing import FUNCTIONS


def test_text_is_readable_unicode(curriculum):
    text = render(curriculum["mse-sigmoid"], "text")
    assert "σ(z)" in text and "∂" in text and "θ₁₀" in text and "**" not in text


def test_latex_and_markdown(curriculum):
    d = curriculum["comp-graph"]
    tex = render(d, "latex")
    assert r"\frac{\partial e}{\partial c}" in tex and r"\begin{gather*}" in tex
    md = render(d, "markdown")
    assert md.startswith("# ") and "$$" in md
    assert d._repr_markdown_() == md
    jupyter = d._repr_latex_()  # one math block: MathJax renders no text-mode LaTeX
    assert jupyter.startswith("$$") and jupyter.rstrip().endswith("$$") and r"\par\textit" not in jupyter


def _parse(s, doc, matrices=None):
    # sympify reads them as they are: IndexedBase(W)[j, k], MatrixSymbol(W, n, m)
    return sp.sympify(s, locals={name: FUNCTIONS[name] for name in doc["functions"]})


def test_json_results_parse_back(curriculum):
    for name in ("mse-sigmoid", "dense", "softmax-cross-entropy", "jacobian"):
        d = curriculum[name]
        doc = json.loads(render(d, "json"))
        assert doc["name"] == name and doc["sections"]
        for key, value in doc["gradients"].items():
            parsed = _parse(value, doc)
            original = next(v for k, v in d.gradients.items() if _parsable(k) == key)
            diff = sp.simplify(parsed.xreplace({s: sp.Symbol(s.name) for s in parsed.free_symbols})
                               - original.xreplace({s: sp.Symbol(s.name) for s in original.free_symbols}))
            assert diff == 0, (name, key)
        for section in doc["sections"]:
            for step in section["steps"]:
                _parse(step["value"], doc, step.get("matrices"))  # SymPy-parsable, every one
    doc = json.loads(render(curriculum["jacobian"], "json"))
    assert doc["jacobian"] == [["1", "x3", "x2"], ["0", "0", "2"]]


def test_unknown_format_is_an_error():
    import pytest
    d = symnet.derive(sp.Symbol("x") ** 2)
    with pytest.raises(symnet.SymnetError, match="unknown format"):
        render(d, "pdf")


def test_json_of_registry_functions_parses_back_with_the_parsers_table():
    """mish's gradient holds softplus and tanh: "functions" names symnet's own, and
    sympify with symnet.parsing.FUNCTIONS reads every result back to the same value."""
    import json

    import symnet
    from symnet.parsing import FUNCTIONS as TABLE

    d = symnet.derive("mish(x) + gelu(y)")
    doc = json.loads(render(d, "json"))
    assert "softplus" in doc["functions"] and "relu" not in doc["functions"]
    by_name = {s.name: v for s, v in d.gradients.items()}
    for name, text in doc["gradients"].items():
        back = sp.sympify(text, locals=dict(TABLE))
        here = lambda e: e.xreplace({s: sp.Rational(3, 7) for s in e.free_symbols})  # noqa: E731
        assert abs(sp.N(here(back) - here(by_name[name]), 30)) < 1e-25
