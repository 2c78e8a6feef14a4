"""Session 34, h-print34: printouts and command-line rough edges a reader of `symnet derive` meets.

Each test failed before its change; the before is in its comment. References are independent of symnet's
checker: mpmath at 50 digits for values, pdflatex's own log for widths."""
import random
import re

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.cli import main
from symnet.render import render, text
from test_printouts import _compile, needs_pdflatex

MP_DPS = 50  # mpmath's digits for each test here (conftest._mpmath_digits)


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- --wrt with an empty name

# before: `--wrt x,,y` differentiated with respect to x and y as if the empty name were not there (exit 0), while
# `--at x=1,,y=2` said "has an empty pair between commas"
@pytest.mark.parametrize("wrt, where", [("x,,y", "between commas"), (",x", "at the start"), ("x,,", "at the end"),
                                        ("x, ,y", "between commas"), (",x,y", "at the start")])
def test_an_empty_name_in_wrt_is_one_line_naming_it(capsys, wrt, where):
    for command in (("derive", "x*y"), ("graph", "x*y")):
        code, out, err = _run(capsys, *command, "--wrt", wrt)
        assert code == 2 and not out, (command, out[:200])
        assert err.count("\n") == 1 and "empty name" in err and where in err and repr(wrt) in err, err


def test_a_list_of_no_names_says_so(capsys):
    code, out, err = _run(capsys, "derive", "x*y", "--wrt", ",,")
    assert code == 2 and err == "symnet: error: no variable names given\n", err


@pytest.mark.parametrize("wrt, names", [("x,", ["x"]), ("x,y,", ["x", "y"]), ("x y", ["x", "y"]), ("x, y", ["x", "y"])])
def test_wrt_lists_that_were_read_before_still_are(wrt, names):
    from symnet.parsing import parse_symbols

    assert [s.name for s in parse_symbols(wrt)] == names  # one trailing comma, as the point allows


def test_an_empty_name_is_refused_from_python_too():
    x, y = sp.symbols("x y", real=True)
    with pytest.raises(symnet.SymnetError, match="empty name between commas"):
        symnet.derive(x * y, wrt="x,,y")


# ---------------------------------------------------------------- a superscript in a formula

# before: "symnet: error: unknown derivation 'x²'; see 'symnet derive --list' (to differentiate the formula x², add
# --wrt)": ² is a \w character, so x² looked like a derivation's name, though the parser reads it as x**2
@pytest.mark.parametrize("formula, result", [("x²", "df/dx = 2·x"), ("x³", "df/dx = 3·x²"), ("y²", "df/dy = 2·y"),
                                             ("x⁻¹", "df/dx = −1/x²")])
def test_a_superscript_power_is_a_formula(capsys, formula, result):
    code, out, err = _run(capsys, "derive", formula)
    assert code == 0 and result in out, (out[-300:], err)


def test_a_name_is_still_a_name(capsys):
    code, out, err = _run(capsys, "derive", "softmaxx")
    assert code == 2 and "did you mean 'softmax'" in err


# ---------------------------------------------------------------- one exponential, one name: not kept
# h-print34 named a node that is its own derivative (∂e₁/∂z₁ = exp(z₁) = e₁) so that softmax's backward pass wrote each
# exponential one way; the lead took it out at the merge: it changed the gradients' form the code generator reads
# (exp(x)·e^(−eˣ)·(1 − eˣ) for exp(x)·(e^(−eˣ) − eˣ·e^(−eˣ))), and ∂ of exp(x)·exp(−exp(x)) at 6.5807 went from ≤ 4 to
# 321 ULP (tests/test_hostile32.py). Open: a printed-only naming.


# ---------------------------------------------------------------- log cosh's derivative as tanh

# before: df/dp = sinh(p − t)/cosh(p − t), the last form of the Result
def test_log_cosh_derivative_is_shown_as_tanh_and_is_tanh():
    d = symnet.derive("log(cosh(p - t))")
    out = render(d, "text")
    assert "df/dp = tanh(p − t)    [sinh(u)/cosh(u) = tanh(u); ✓" in out, out
    assert "df/dt = −tanh(p − t)    [sinh(u)/cosh(u) = tanh(u); ✓" in out, out
    result = next(s for s in d.sections if s.title == "Result")
    p, t = sp.symbols("p t", real=True)
    shown = {str(s.lhs): s.value for s in result.steps if s.why.startswith("sinh(u)/cosh(u)")}
    assert len(shown) == 2
    rng = random.Random(3400)
    for _ in range(300):  # the printed tanh form against mpmath's derivative of log cosh, around 0 and far out
        pv, tv = rng.uniform(-30, 30), rng.choice([rng.uniform(-1, 1), rng.uniform(-30, 30)])
        for lhs, value in shown.items():
            sign = 1 if lhs.endswith("p") else -1
            got = mpmath.mpf(sp.N(value.subs({p: sp.Float(pv, 60), t: sp.Float(tv, 60)}), 50))
            true = sign * mpmath.diff(lambda u: mpmath.log(mpmath.cosh(u)), mpmath.mpf(pv) - mpmath.mpf(tv))
            assert abs(got - true) <= mpmath.mpf(10) ** -40, (pv, tv, got, true)


def test_the_tanh_form_is_a_printed_form_only():
    d = symnet.derive("log(cosh(p - t))")
    p = next(s for s in d.inputs if s.name == "p")
    assert d.gradients[p].has(sp.sinh)  # what the code generator reads is the substituted result, as before


# ---------------------------------------------------------------- conditions read as they were

# before: And(Or(a, b), Or(c, d)) printed "a or b and c or d", which reads a or (b and c) or d (clamp's derivative)
def test_a_conjunction_of_disjunctions_is_parenthesised():
    a, b, c = sp.symbols("a b c", real=True)
    assert text(sp.And(sp.Or(a > 0, b > 0), c > 0)) in ("(a > 0 or b > 0) and c > 0", "c > 0 and (a > 0 or b > 0)")
    assert text(sp.Or(sp.And(a > 0, b > 0), c > 0)) in ("a > 0 and b > 0 or c > 0", "c > 0 or a > 0 and b > 0")
    out = render(symnet.derive("clamp(x, lo, hi)"), "text")
    # (clamp with input bounds: a select of x, lo, hi on torch's conditions since session 36; min(max(x, lo), hi) before)
    assert " or lo ≤ x and " not in out.replace(") and (", ")") and "(lo ≥ x or lo ≤ x) and (hi ≤ lo or hi < x)" in out


# ---------------------------------------------------------------- LaTeX within the page

def _overfull(tmp_path, formula) -> list[float]:
    run = _compile(render(symnet.derive(formula), "latex"), tmp_path, "doc")
    assert run.returncode == 0, run.stdout[-800:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


# before (pdflatex, article): clamp's derivative 741 and 993 pt wider than the page (a condition of 40 clauses on
# one line), ndtr_tanh_pdf's 67 pt (a fraction whose numerator is a long sum)
@needs_pdflatex
@pytest.mark.parametrize("formula", ["clamp(x, lo, hi)", "ndtr_tanh_pdf(x)", "clamp(x, 0, 1)*y"])
def test_long_conditions_and_quotients_are_broken_over_lines(tmp_path, formula):
    widths = _overfull(tmp_path, formula)
    assert max(widths, default=0) < 1, widths


# before: a helper's name in a rule's reason, sigmoid_pair_product, was y-with-subscripts LaTeX, which pdflatex refused
# ("! Double subscript": `symnet derive vanishing-gradient --stable --format latex` did not compile)
def test_a_name_of_code_in_prose_is_one_name():
    from symnet.render import _segments, _tex_note

    assert _tex_note("(inputs): sigmoid_pair_product, every product") == \
        r"\text{(inputs): }{\operatorname{sigmoid\_pair\_product}}\text{, every product}"
    for subscripted in ("y_r", "W_jk", "x_10", "E_total", "δ_ij"):  # a letter with a subscript stays one
        assert "operatorname" not in "".join(p for _, p in _segments(subscripted)), subscripted


@needs_pdflatex
def test_vanishing_gradient_stable_latex_compiles(tmp_path):
    import dataclasses

    from symnet.codegen.ir import describe, stability_section

    d = symnet.get("vanishing-gradient")
    d = dataclasses.replace(d, sections=d.sections + (stability_section(describe(d)),))
    run = _compile(render(d, "latex"), tmp_path, "doc")
    assert run.returncode == 0, [line for line in run.stdout.splitlines() if line.startswith("!")]


# before: squared_hinge's forward-pass paragraph 9.8 pt past the margin ($\operatorname{squared\_hinge}$ cannot break)
@needs_pdflatex
def test_a_paragraph_may_break_a_name_of_code(tmp_path):
    from symnet.render import _tex_paragraph

    assert _tex_paragraph("squared_hinge is written out") == r"$\mathrm{squared\_}\allowbreak\mathrm{hinge}$ is written out"
    assert max(_overfull(tmp_path, "squared_hinge(x, t)"), default=0) < 1


# ---------------------------------------------------------------- what a user can change

# before: "... does not fit one SM with precision='tf32x3' (out of resource: shared memory, Required: 393216, Hardware
# limit: 232448. Reducing block sizes or `num_stages` may help.)": Triton's hint names the launcher's own settings, which a
# caller of `symnet train --backend triton-fused` never chose
@pytest.mark.parametrize("module", ["mlp_train", "elman_train"])
def test_a_network_too_large_for_the_sm_names_what_the_caller_can_change(module):
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    from triton.runtime.errors import OutOfResources

    from symnet.kernels import load_kernel

    class TooLarge:
        def __getitem__(self, grid):
            def launch(*args, **kwargs):
                raise OutOfResources(393216, 232448, "shared memory")
            return launch

    with pytest.raises(ValueError) as info:
        load_kernel(module, "triton")._launch(TooLarge(), 4, 24576, PRECISION="tf32x3")
    message = str(info.value)
    assert "block" not in message.lower() and "num_stages" not in message, message
    assert "(shared memory: needs 393216, the GPU has 232448)" in message and "precision='ieee'" in message, message
