"""Printouts a reader sees (session 35, h-print35): one exponential named one way in a printout's sweeps, and
vanishing-gradient's stable forms within an article page in LaTeX. Printed forms only: the gradients the code
generator reads are unchanged (codegen --check of both backends stays up to date)."""
import dataclasses
import random
import re

import pytest
import sympy as sp

import symnet
from symnet.render import _flat_cases, render
from test_printouts import _compile, needs_pdflatex

_SWEEPS = ("Local derivatives", "Backward pass", "Forward mode")


def _sweep_lines(d, fmt="text") -> list[str]:
    """The printed lines of the local derivatives, backward and forward sweeps (not the Forward pass, which defines
    e₁ = exp(z₁), nor the Result's substituted forms, written in the inputs)."""
    kept = dataclasses.replace(d, sections=tuple(s for s in d.sections if s.title.startswith(_SWEEPS)))
    return [line for line in render(kept, fmt).splitlines() if line.startswith("  ")]


def _mixed(line: str, nodes: dict) -> list[str]:
    """The nodes a line writes both by name and as the exponential that defines them."""
    return [name for name, call in nodes.items() if re.search(rf"{name}(?![₀-₉])", line) and call in line]


# before: softmax's backward pass read dy₁/dz₁ = dy₁/de₁·∂e₁/∂z₁ = exp(z₁)·(1 − e₁/s)/s and dy₁/dz₂ = −e₁·exp(z₂)/s²:
# the same e^z₁ as exp(z₁) and as e₁ in one product (h-print34 named it in the local derivative, which changed the
# gradients' form and was taken out: ∂ of eˣ·e^(−eˣ) 321 ULP at 6.5807)
def test_softmax_names_each_exponential_one_way():
    d = symnet.get("softmax")
    nodes = {f"e{k}".translate(str.maketrans("123", "₁₂₃")): f"exp(z{k})".translate(str.maketrans("123", "₁₂₃"))
             for k in (1, 2, 3)}
    lines = _sweep_lines(d)
    # each line of the sweeps writes e₁ one way, but the local derivative, which states the rule and then names the
    # node: ∂e₁/∂z₁ = exp(z₁) = e₁
    assert [line for line in lines if _mixed(line, nodes)] == [
        f"  ∂e{k}/∂z{k} = exp(z{k}) = e{k}    [exponential rule; ✓]".translate(str.maketrans("123", "₁₂₃"))
        for k in (1, 2, 3)]
    assert "  dy₁/dz₁ = dy₁/de₁·∂e₁/∂z₁ = e₁·(1 − e₁/s)/s    [chain rule; ✓ symbolic]" in lines
    assert "  dy₁/dz₂ = dy₁/de₂·∂e₂/∂z₂ = −e₁·e₂/s²    [chain rule; ✓]" in lines


@pytest.mark.parametrize("mode", ["reverse", "forward", "both"])
@pytest.mark.parametrize("formula,named", [
    ("exp(a)/(exp(a) + exp(b))", {"u₁": "exp(a)", "u₂": "exp(b)"}),  # a written softmax
    ("x*exp(x**2)", {"u₂": "exp(u₁)"}),  # param-sharing's formula
    ("exp(x)*exp(-exp(x))", {"u₁": "exp(x)", "u₃": "exp(u₂)"}),
])
def test_a_written_exponential_is_named_one_way(formula, named, mode):
    d = symnet.derive(formula, mode=mode)
    forward = next(s for s in d.sections if s.title == "Forward pass")
    defined = {str(s.lhs): str(s.chain[0]) for s in forward.steps}
    assert {k: defined[k.translate(str.maketrans("₁₂₃", "123"))] for k in named} == \
        {k: v.translate(str.maketrans("₁₂₃", "123")) for k, v in named.items()}
    for fmt in ("text", "ascii"):
        lines = _sweep_lines(d, fmt)
        if fmt == "ascii":
            named_ = {k.translate(str.maketrans("₁₂₃", "123")): v.translate(str.maketrans("₁₂₃", "123"))
                      for k, v in named.items()}
        else:
            named_ = named
        # but the local derivative's rule, ∂u₁/∂a = exp(a) = u₁
        assert [line for line in lines if _mixed(line, named_)] == [
            line for line in lines if line.lstrip().startswith(("∂", "D")) and "exponential rule" in line], (fmt, lines)


@pytest.mark.parametrize("formula", ["exp(a)/(exp(a) + exp(b))", "x*exp(x**2)", "exp(x)*exp(-exp(x))"])
def test_the_naming_is_printed_only(formula):
    """The gradients, the local partials and the Result's substituted forms are written in the inputs, as before."""
    d = symnet.derive(formula)
    nodes = {t for t, _ in d.definitions}
    for w in d.wrt:
        assert not d.gradients[w].free_symbols & nodes
        assert d.gradients[w].equals(sp.diff(d.definitions[-1][1].subs(
            [(t, e) for t, e in reversed(d.definitions[:-1])]), w))
    for (target, u), value in d.local_partials.items():
        assert target not in value.free_symbols  # ∂u₁/∂x = exp(x), not u₁: the code generator reads these
    result = next(s for s in d.sections if s.title == "Result")
    assert all(not step.chain[-1].free_symbols & nodes for step in result.steps)


# the flattened cases of a nested select are the same select: checked at random points of both conditions
def test_flat_cases_are_the_same_select():
    x, y = sp.symbols("x y", real=True)
    inner = sp.Piecewise((x, y > 0), (-x, True))
    for outer in (sp.Piecewise((0, x > 3), (inner, True)), sp.Piecewise((inner, x < 1), (x ** 2, True)),
                  sp.Piecewise((1, x > 2), (inner, x < -1), (inner * 0 + y, True))):
        flat = sp.Piecewise(*_flat_cases(outer))
        rng = random.Random(35)
        for _ in range(200):
            point = {x: sp.Rational(rng.randint(-50, 50), 10), y: sp.Rational(rng.randint(-20, 20), 10)}
            assert flat.subs(point) == outer.subs(point), (outer, point)


@pytest.fixture(scope="module")
def stable_vanishing_gradient_latex():
    """`symnet derive vanishing-gradient --stable --format latex`'s printout, made once for the module."""
    from symnet.codegen.ir import describe, stability_section

    d = symnet.get("vanishing-gradient")
    return render(dataclasses.replace(d, sections=d.sections + (stability_section(describe(d)),)), "latex")


# before: `symnet derive vanishing-gradient --stable --format latex` set its stable form's select (nested selects inside
# six nested grouped products) on one line of 1,919 characters, 1,716 pt wider than an article page (pdflatex)
def test_vanishing_gradient_stable_latex_lines_are_short(stable_vanishing_gradient_latex):
    tex = stable_vanishing_gradient_latex
    assert max(len(line) for line in tex.splitlines()) < 400


@needs_pdflatex
def test_vanishing_gradient_stable_latex_fits_the_page(stable_vanishing_gradient_latex, tmp_path):
    run = _compile(stable_vanishing_gradient_latex, tmp_path, "doc")
    assert run.returncode == 0, [line for line in run.stdout.splitlines() if line.startswith("!")]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(widths, default=0) < 1, widths


# before: `symnet derive "exp(a)/(exp(a)+exp(b))" --at a=1,b=2` read df/da = exp(a)·(u₄ − u₁/u₃²) = …
def test_the_values_at_a_point_name_the_exponential_one_way():
    d = symnet.derive("exp(a)/(exp(a) + exp(b))", at={"a": 1, "b": 2})
    values = next(s for s in d.sections if s.title.startswith("Values at"))
    lines = render(dataclasses.replace(d, sections=(values,)), "text").splitlines()
    assert any(line.startswith("  df/da = u₁·(u₄ − u₁/u₃²) = exp(1)·(") for line in lines), lines
    assert any(line.startswith("  df/db = −u₁·u₂/u₃² = −exp(1)·exp(2)/") for line in lines), lines
