"""A new user's first hour with only the README (helper h-fresh12): what they met, as tests.

Each test failed before its fix: a formula calling a registry loss such as ``log_cosh(p, t)``
was titled "Derivative of f" with no word that the steps differentiate the registry's written-out
form; LaTeX prose typeset the name log_cosh as log with subscript cosh; and ``relu(x)`` at its
kink offered "the other variables" of a formula that has none.
"""
import shutil
import subprocess

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.cli import main
from symnet.errors import NotDifferentiableError
from symnet.render import render_latex, render_markdown


def test_a_written_out_loss_is_titled_as_written_and_said_to_be_written_out():
    d = symnet.derive("log_cosh(p,  t)")
    assert d.title == "Derivative of log_cosh(p, t)"  # was "Derivative of f"
    forward = d.sections[0]
    assert forward.title == "Forward pass"
    assert "log_cosh is written out as symnet's function registry defines it" in forward.text
    assert str(d).splitlines()[0] == "Derivative of log_cosh(p, t)"
    assert render_markdown(d).splitlines()[0] == "# Derivative of log_cosh(p, t)"


def test_the_written_out_steps_still_give_log_cosh_s_derivative():
    """Independent reference: d/dp log cosh(p − t) = tanh(p − t), in mpmath at 30 digits."""
    d = symnet.derive("log_cosh(p, t)")
    p, t = sp.symbols("p t", real=True)
    for pv, tv in [(0.3, -0.2), (4.0, 1.5), (-7.25, 2.0)]:
        got = sp.N(d.gradients["p"].subs({p: sp.Float(pv, 40), t: sp.Float(tv, 40)}), 30)
        with mpmath.workdps(30):
            want = mpmath.tanh(mpmath.mpf(pv) - mpmath.mpf(tv))
        assert abs(float(got) - float(want)) <= 1e-25 * max(1.0, abs(float(want)))


def test_the_command_line_titles_it_the_same_way(capsys):
    assert main(["derive", "focal(z, t)"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Derivative of focal(z, t)"
    assert any("focal is written out as symnet's function registry defines it" in line for line in out)


def test_formulas_without_a_written_out_function_keep_their_titles(capsys):
    assert symnet.derive("x*exp(x**2)").title == "Derivative of x·exp(x²)"
    assert "written out" not in symnet.derive("sigmoid(x)*w").sections[0].text  # σ is a node of its own
    assert main(["derive", "x*exp(x**2)", "--wrt", "x"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "Derivative of x·exp(x²)"


def test_two_written_out_functions_are_named_once_each_in_order():
    d = symnet.derive("huber(p, t) + mish(p) + huber(t, p)")
    assert "huber and mish are written out as symnet's function registry defines them" in d.sections[0].text


def test_latex_prose_sets_a_function_name_with_an_underscore_as_one_name():
    d = symnet.derive("smooth_l1(p, t)")
    tex = render_latex(d)
    assert r"\textbf{Derivative of $\operatorname{smooth\_l1}$(p, t)}" in tex
    # never smooth with subscript l1 (a paragraph writes it breakable after the _: test_print34)
    assert "l1}" not in tex.replace(r"\operatorname{smooth\_l1}", "").replace(r"\mathrm{smooth\_}\allowbreak\mathrm{l1}", "")
    assert "_{cosh}" not in render_latex(symnet.derive("log_cosh(p, t)"))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_the_latex_of_a_written_out_loss_compiles(tmp_path):
    body = render_latex(symnet.derive("log_cosh(p, t)"))
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n"
                                      "\\begin{document}\n" + body + "\\end{document}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]


def test_a_kink_offers_only_variables_that_exist():
    with pytest.raises(NotDifferentiableError) as err:
        symnet.derive("relu(x)", wrt=["x"], at={"x": 0})
    assert "other variables" not in str(err.value) and "wrt" not in str(err.value)
    with pytest.raises(NotDifferentiableError) as err:
        symnet.derive("relu(w*x)*v", wrt=["w"], at={"w": 0, "x": 1, "v": 2})
    assert str(err.value).endswith("the derivatives with respect to v, x can still be asked for (wrt)")


def test_a_node_only_in_a_condition_says_why_its_partial_is_zero():
    """huber's f = {u₃ if u₄ < 1; u₅ otherwise}: ∂f/∂u₄ = 0 was labelled "each branch
    differentiated", which a student reads as a mistake (u₄ is right there in the formula)."""
    d = symnet.derive("huber(p, t)")
    local = {str(s.lhs): s for s in next(sec for sec in d.sections if sec.title == "Local derivatives").steps}
    zero = [s for s in local.values() if s.value == 0 and "piecewise rule" in s.why]
    assert len(zero) == 1
    assert "only in the conditions, so 0 between the boundaries" in zero[0].why
    # an independent check of what it means: away from |p − t| = 1, ∂f/∂p is p − t or sign(p − t)
    p, t = sp.symbols("p t", real=True)
    for pv, tv, want in [(0.25, 0.0, 0.25), (3.0, 0.5, 1.0), (-4.0, 1.0, -1.0)]:
        assert float(d.gradients["p"].subs({p: pv, t: tv})) == want
