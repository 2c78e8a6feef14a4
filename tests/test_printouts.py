"""Printouts a student can paste and render (issue 17).

LaTeX that a real TeX engine compiles, Markdown and Jupyter math without literal escapes,
a short repr, ✓ marks in rich output, a graph (or a one-line reason) for every named
derivation, symnet's functions through SymPy's own printers, JSON that ``sympify`` reads
back, and notation: every name defined before it is used, no equality that says nothing.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.derivation import Partial
from symnet.graph import to_dot
from symnet.parsing import parse_expression
from symnet.render import _shown_forms, _step_latex, render, render_latex_math, render_markdown, text

ROOT = Path(__file__).resolve().parents[1]

# the parser's whole function set, unicode names, ^ and **, subscripts, constants
USER_FORMULAS = (
    "x*exp(x**2)", "log(1 + exp(z))*y", "sqrt(x**2 + 1)", "sin(x)*cos(y)", "tanh(w*x + b)",
    "abs(x - t)", "Abs(x)*y", "sigmoid(w*x + b)", "σ(θ_1*x_1 + θ_2*x_2)", "relu(x)*w",
    "ln(x) + x^3", "(t - sigmoid(z))^2", "exp(-x)/(1 + exp(-x))", "x_10*α + β_2", "θ^2/2 - θ",
    "relu(w_1*x) + relu(w_2*x)", "log(sigmoid(z))", "1/(1 + x**2)", "x**y", "cos(x)**2 + sin(x)**2",
    "sqrt(abs(x))", "tanh(tanh(x))", "exp(x)/(exp(x) + exp(y))", "-log(y_r)", "pi*r^2",
    "x/y - y/x", "(a + b)*(b + 1)", "λ*w**2 + (y - w*x)**2", "sigmoid(relu(x))", "E_total*δ_1 + x_0",
)

PREAMBLE = r"""\documentclass{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{amsmath,amssymb}
\begin{document}
"""


@pytest.fixture(scope="module")
def user_derivations():
    # as `symnet derive FORMULA` titles them
    return {f: symnet.derive(parse_expression(f), title=f"Derivative of {f}") for f in USER_FORMULAS}


def _math_blocks(markdown: str) -> list[str]:
    return re.findall(r"^\$\$\n(.*?)\n\$\$$", markdown, flags=re.S | re.M)


# ------------------------------------------------------------------------------- LaTeX

def test_latex_is_plain_ascii(curriculum, user_derivations):
    """pdflatex has no glyphs for σ, δ, −, ᵀ, ∂ in text; every one must be a command
    (typographic quotes and dashes, which its UTF-8 input maps, may stay)."""
    for name, d in {**curriculum, **user_derivations}.items():
        tex = render(d, "latex")
        odd = sorted({c for c in tex if not c.isascii() and c not in "“”‘’—–"})
        assert not odd, f"{name}: raw non-ASCII {odd} in the LaTeX"
        # ^ and _ only in math: never inside \text{...}, \textbf{...}, \textit{...}
        for body in re.findall(r"\\text(?:bf|it)?\{([^{}]*)\}", tex):
            body = re.sub(r"\$[^$]*\$", "", body)  # inline math inside text is fine
            assert not re.search(r"[\\^_]", body), f"{name}: TeX specials in text {body!r}"


def _compile(body: str, folder: Path, name: str = "doc") -> subprocess.CompletedProcess:
    source = folder / f"{name}.tex"
    source.write_text(PREAMBLE + body + "\n\\end{document}\n", encoding="utf-8")
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def _errors(run: subprocess.CompletedProcess) -> str:
    return "\n".join(line for line in run.stdout.splitlines() if line.startswith("!"))[:800]


def _compile_all(pieces: dict[str, str], folder: Path) -> None:
    """One document for speed; where it fails, each piece alone names the culprit."""
    run = _compile("\n\\clearpage\n".join(pieces.values()), folder)
    if run.returncode == 0:
        return
    failed = {}
    for k, (name, body) in enumerate(pieces.items()):
        one = _compile(body, folder, f"piece{k}")
        if one.returncode != 0:
            failed[name] = _errors(one)
    assert not failed, f"pdflatex fails on {len(failed)} of {len(pieces)}: {failed}"
    pytest.fail(f"pdflatex fails on the whole document only: {_errors(run)}")


needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None,
                                    reason="pdflatex not installed (apt-get install texlive-latex-base); "
                                           ".ci/run installs it")


@needs_pdflatex
def test_latex_compiles_with_pdflatex(curriculum, user_derivations, tmp_path):
    pieces = {name: render(d, "latex") for name, d in curriculum.items()}
    pieces.update({f"formula {f}": render(d, "latex") for f, d in user_derivations.items()})
    _compile_all(pieces, tmp_path)
    # long steps are broken over lines: nothing runs far off an article page (BPTT ran 366 pt)
    log = (tmp_path / "doc.log").read_text(errors="replace")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(widths, default=0) < 100, f"a line runs {max(widths):.0f} pt off the page"


@needs_pdflatex
def test_markdown_and_jupyter_math_compiles_with_pdflatex(curriculum, tmp_path):
    """The docs pages' $$ blocks and Jupyter's one math block, each as display math."""
    pieces = {}
    for name, d in curriculum.items():
        for k, block in enumerate(_math_blocks(render_markdown(d))):
            pieces[f"{name}.md block {k}"] = "\\begin{gather*}\n%s\n\\end{gather*}" % block
        jupyter = render_latex_math(d).strip().removeprefix("$$").removesuffix("$$").strip()
        pieces[f"{name} _repr_latex_"] = "\\[\n%s\n\\]" % jupyter
    _compile_all(pieces, tmp_path)


# ------------------------------------------------------------------ Markdown and Jupyter

def test_markdown_math_has_no_literal_escapes(curriculum):
    """MathJax and KaTeX print \\_ inside \\text{} literally (the docs showed y\\_r, Σ\\_k)."""
    for name, d in curriculum.items():
        blocks = _math_blocks(render_markdown(d)) + [d._repr_latex_()]
        for block in blocks:
            assert r"\_" not in block and "Σ" not in block and "σ" not in block, (name, block[:200])
            for body in re.findall(r"\\text(?:bf|it)?\{([^{}]*)\}", block):
                assert not re.search(r"[\\^_]", body), (name, body)


def test_nabla_has_one_letter_in_its_subscript(curriculum):
    md = render_markdown(curriculum["softmax-cross-entropy"])
    assert r"\nabla _{z}\ C" in md and "_{z C}" not in md
    assert "_{y C}" not in render_markdown(curriculum["cross-entropy"])


def test_long_bptt_equations_are_broken_over_lines(curriculum):
    d = curriculum["rnn-bptt"]
    md = render_markdown(d)
    long_steps = [s for s in d.steps if len(text(s.value)) + len(text(s.lhs)) > 90 or len(s.chain) > 2]
    assert long_steps
    very_long = [s for s in d.steps if len(_one_line(s)) > 150]
    assert very_long
    for step in very_long:  # one form (or one group of terms) per line, the note below
        block = _step_latex(step)
        assert block.startswith(r"\begin{aligned}") and block.count(r"\\") >= len(_shown_forms(step))


def _one_line(step) -> str:
    return text(step.lhs) + " = " + " = ".join(text(f) for f in step.chain)


def test_repr_is_short_and_useful(curriculum):
    for name, d in curriculum.items():
        r = repr(d)
        assert len(r) < 400 and "\n" not in r, (name, len(r))
        assert name in r and f"{len(d.steps)} steps" in r
    r = repr(symnet.derive(sp.Symbol("x") ** 2))
    assert r.startswith("<Derivation") and "(x)" in r


def test_rich_output_keeps_check_marks(curriculum):
    for name in ("mse-sigmoid", "softmax", "rnn-bptt"):
        d = curriculum[name]
        checked = sum(1 for s in d.steps if s.check in ("exact", "symbolic", "numeric"))
        assert checked
        assert d._repr_latex_().count(r"\checkmark") == checked, name
        assert d._repr_markdown_().count(r"\checkmark") == checked, name
        assert render(d, "latex").count(r"\checkmark") == checked, name
        numeric = sum(1 for s in d.steps if s.check == "numeric")
        assert d._repr_markdown_().count(r"\checkmark\ \text{numeric}") == numeric


# ---------------------------------------------------------------------------- graphs

def test_every_named_derivation_draws_a_graph_or_says_why(curriculum):
    for name, d in curriculum.items():
        try:
            dot = to_dot(d)
        except symnet.SymnetError as exc:
            assert "\n" not in str(exc) and name in str(exc), name
            continue
        assert dot.startswith("digraph") and "->" in dot, f"{name}: an empty picture"


@pytest.mark.parametrize("name, drawn", [("softmax", True), ("jacobian", True), ("perceptron", False)])
def test_graph_command_never_shows_a_traceback(name, drawn, tmp_path):
    out = tmp_path / f"{name}.dot"
    run = subprocess.run([sys.executable, "-m", "symnet", "graph", name, "-o", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert "Traceback" not in run.stderr
    if drawn:
        assert run.returncode == 0, run.stderr
        assert "->" in out.read_text()
    else:
        assert run.returncode != 0 and not out.exists()
        assert len(run.stderr.strip().splitlines()) == 1 and "no computational graph" in run.stderr


# ------------------------------------------------------------- SymPy's own printers

def _reference(x: float, w: float) -> mpmath.mpf:
    """σ(w·x)·relu(x) + relu(w − x)², written out in mpmath (not via symnet or SymPy)."""
    with mpmath.workdps(40):
        x, w = mpmath.mpf(x), mpmath.mpf(w)
        sig = 1 / (1 + mpmath.exp(-w * x))
        return sig * max(x, 0) + max(w - x, 0) ** 2


def _expression():
    x, w = sp.symbols("x w", real=True)
    return (x, w), symnet.sigmoid(w * x) * symnet.relu(x) + symnet.relu(w - x) ** 2


@pytest.mark.parametrize("module", ["numpy", "math", "mpmath"])
def test_lambdify_prints_sigmoid_and_relu(module):
    (x, w), e = _expression()
    f = sp.lambdify((x, w), e, module)
    for point in [(0.3, -1.2), (2.0, 0.5), (-1.5, 3.0), (40.0, -1.0)]:
        assert float(f(*point)) == pytest.approx(float(_reference(*point)), rel=1e-12, abs=1e-300)


def test_lambdify_math_does_not_overflow_where_sigmoid_saturates():
    x = sp.Symbol("x", real=True)
    f = sp.lambdify(x, symnet.sigmoid(x), "math")
    assert f(-1000.0) == 0.0 and f(1000.0) == 1.0
    assert f(-40.0) == pytest.approx(float(mpmath.mpf(1) / (1 + mpmath.exp(40))), rel=1e-14)


def test_lambdify_of_a_derived_gradient():
    """A gradient containing σ and Heaviside, evaluated by lambdify, against a central difference."""
    (x, w), e = _expression()
    d = symnet.derive(e, [w])
    f = sp.lambdify((x, w), d.gradients[w], "numpy")
    for px, pw in [(0.3, 1.2), (-0.7, 0.4), (1.1, -0.2)]:
        h = 1e-7
        numeric = (_reference(px, pw + h) - _reference(px, pw - h)) / (2 * h)
        assert float(f(px, pw)) == pytest.approx(float(numeric), rel=1e-6)


def test_pycode_runs_as_plain_python():
    (x, w), e = _expression()
    source = sp.pycode(e)
    assert "sigmoid" not in source and "relu" not in source
    for point in [(0.3, -1.2), (-1.5, 3.0)]:
        value = eval(source, {"math": math}, {"x": point[0], "w": point[1]})  # our own output only
        assert value == pytest.approx(float(_reference(*point)), rel=1e-12)


def test_ccode_compiles_and_runs(tmp_path):
    (x, w), e = _expression()
    body = sp.ccode(e)
    assert "sigmoid" not in body and "relu" not in body and "exp(" in body
    assert sp.latex(e).count(r"\sigma") == 1 and r"\operatorname{relu}" in sp.latex(e)
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    program = tmp_path / "f.c"
    program.write_text('#include <math.h>\n#include <stdio.h>\n#include <stdlib.h>\n'
                       "int main(int argc, char **argv) { double x = atof(argv[1]), w = atof(argv[2]);\n"
                       f'printf("%.17g\\n", {body}); return 0; }}\n')
    binary = tmp_path / "f"
    subprocess.run([cc, str(program), "-o", str(binary), "-lm"], check=True, timeout=120)
    for point in [(0.3, -1.2), (-1.5, 3.0), (40.0, -1.0)]:
        out = subprocess.run([str(binary), *map(str, point)], capture_output=True, text=True, check=True)
        assert float(out.stdout) == pytest.approx(float(_reference(*point)), rel=1e-12)


# ----------------------------------------------------------------------------- JSON

def _by_name(e):
    """Every symbol, dummy and indexed label by its name only (assumptions dropped), and an
    Iverson bracket as the KroneckerDelta the JSON writes it as."""
    if isinstance(e, sp.MatrixBase):
        return e.applyfunc(_by_name)
    e = e.replace(lambda a: isinstance(a, sp.KroneckerDelta), lambda a: sp.KroneckerDelta(*a.args))
    e = e.replace(lambda a: isinstance(a, sp.IndexedBase), lambda a: sp.IndexedBase(str(a.label)))
    return e.xreplace({s: sp.Symbol(s.name) for s in e.atoms(sp.Symbol) if not isinstance(s, Partial)})


def test_json_parses_back_with_sympify(curriculum):
    """Every expression string, as the README promises; results equal the derivation's."""
    names = {"sigmoid": symnet.sigmoid, "relu": symnet.relu}
    for name, d in curriculum.items():
        doc = json.loads(render(d, "json"))
        strings = [s for sec in doc["sections"] for step in sec["steps"]
                   for s in [step["lhs"], step["value"], *step["forms"]]]
        strings += [x for pair in doc["definitions"] for x in pair.values()]
        for s in strings:
            sp.sympify(s, locals=names)  # raises where a string does not parse
        for (key, value), (wrt, grad) in zip(doc["gradients"].items(), d.gradients.items()):
            assert _by_name(sp.sympify(key, locals=names)) == _by_name(sp.sympify(wrt))
            parsed = _by_name(sp.sympify(value, locals=names))
            assert parsed == _by_name(grad) or sp.simplify(parsed - _by_name(grad)) == 0, (name, key)


def test_json_of_indexed_results_uses_indexed_bases(curriculum):
    doc = json.loads(render(curriculum["dense"], "json"))
    W, a, delta = sp.IndexedBase("W"), sp.IndexedBase("a"), sp.IndexedBase("delta")
    j, k = sp.symbols("j k")
    assert sp.sympify(doc["gradients"]["IndexedBase(W)[j, k]"]) == a[k] * delta[j]
    assert sp.sympify("IndexedBase(W)[j, k]") == W[j, k]


# ------------------------------------------------------------------------ notation

def _names(e) -> set:
    """The names an expression uses: symbols, indexed families and matrices; not summation
    or entry indices, bounds, or descriptive labels (names with a space)."""
    if isinstance(e, sp.MatrixBase):
        return set().union(*(_names(x) for x in e)) if e else set()
    if not isinstance(e, sp.Basic):
        return set()
    skip = set()
    for s in e.atoms(sp.Sum):
        for var, lo, hi in s.limits:
            skip |= {var} | lo.free_symbols | hi.free_symbols
    out = set()
    for x in e.atoms(sp.Indexed):
        out.add(x.base.label)
        skip |= x.base.label.free_symbols | set().union(*(i.free_symbols for i in x.indices))
    skip |= {s for x in e.atoms(sp.KroneckerDelta) for s in x.free_symbols}
    for s in e.atoms(sp.Symbol):
        if isinstance(s, Partial):
            out |= _names(s.num) | _names(s.den)
        elif s not in skip and not s.is_integer and not isinstance(s, sp.Dummy) and " " not in s.name:
            out.add(s)
    return out | {sp.Symbol(m.name) for m in e.atoms(sp.MatrixSymbol)}


def _label(s) -> sp.Basic:
    return s.base.label if isinstance(s, sp.Indexed) else (sp.Symbol(s.name) if isinstance(s, sp.MatrixSymbol) else s)


def notation_problems(d) -> list[str]:
    """Names used before a step or the prose defines them; equalities X = X."""
    from symnet.render import _step_text

    problems = []
    defined = {_label(s) for s in (*d.inputs, *d.wrt)}
    prose = f"{d.title} {d.summary}"
    for sec in d.sections:
        prose += " ".join(["", sec.title, sec.text, *(" ".join(r) for r in sec.table)])
        for step in sec.steps:
            used = set().union(*(_names(f) for f in step.chain))
            if isinstance(step.lhs, Partial):
                used |= _names(step.lhs)
            else:
                defined |= _names(step.lhs)
            if step.why.startswith("given"):  # "given: the upstream gradient" introduces it
                defined |= used
            for s in sorted(used - defined, key=str):
                spelled = text(s)  # named in prose ("x_t is the input") counts as defined
                if not re.search(r"(?<![^\W_])%s(?![^\W_])" % re.escape(spelled), prose + " " + step.why):
                    problems.append(f"{text(step.lhs)} uses {spelled} before it is defined")
                defined.add(s)
            line = _step_text(step).split("    [")[0]
            forms = line.split(f" {step.relation} ")
            if any(a == b for a, b in zip(forms, forms[1:])):
                problems.append(f"an equality that says nothing: {line}")
    return problems


def test_every_name_is_defined_before_use_and_no_equality_is_empty(curriculum):
    problems = {name: notation_problems(d) for name, d in curriculum.items()}
    assert not any(problems.values()), {k: v for k, v in problems.items() if v}


def test_notation_check_catches_the_old_faults():
    """The checker itself: an undefined forward-pass name, and X = X."""
    from symnet.curriculum import compose
    from symnet.derivation import Section, Step

    x, u2, f = sp.symbols("x u_2 f")
    d = compose("t", [Section("s", (Step(Partial(f, x), (-u2 * x,), "chain rule", "exact"),
                                    Step(f, (f,), "same", "exact")))], inputs=(x,), wrt=(x,))
    found = notation_problems(d)
    assert any("u₂ before" in p for p in found) and any("says nothing" in p for p in found)


def test_jacobian_results_use_one_notation(curriculum):
    """The result section used d where an edge existed and ∂ elsewhere, for the same meaning."""
    for name in ("jacobian", "mse-sigmoid", "comp-graph"):
        result = next(sec for sec in curriculum[name].sections if sec.title == "Result")
        kinds = {s.lhs.total for s in result.steps if isinstance(s.lhs, Partial)}
        assert kinds == {True}, name


# --------------------------------------------------------------- softmax --stable

def test_softmax_stable_section_claims_only_what_holds(curriculum):
    """It claimed forms that overflow do not, and quoted the σ case of the cancel rule. Since
    the max-shift rule applies node by node (issue 16) the forms it prints hold: checked here."""
    import numpy as np

    from symnet.codegen.ir import describe, stability_section

    section = stability_section(describe(curriculum["softmax"]))
    assert section.steps and "still overflow" not in section.text and "does not overflow" in section.text
    for step in section.steps:
        assert "σ" not in step.why and "max-shift" in step.why
        stable = step.chain[-1]  # the claim checked independently: the printed form is finite here
        f = sp.lambdify(sorted(stable.free_symbols, key=str), stable, "numpy")
        with np.errstate(all="raise"):
            assert np.isfinite(f(*[np.float64(1000.0)] * len(stable.free_symbols)))
    sig = stability_section(describe(curriculum["sigmoid"]))  # a form that holds keeps its claim
    assert "does not overflow" in sig.text and all("still overflows" not in s.why for s in sig.steps)
