"""Session 15, style (h-style15): symnet's function nodes share one base class
(:class:`symnet.functions.SymnetFunction`), and three printout faults fixed.

Each test here failed before its fix (said at the test)."""
from __future__ import annotations

import mpmath
import sympy as sp

from symnet.functions import relu, sigmoid

x, y = sp.symbols("x y", real=True)


def test_code_printers_bracket_sigmoid_and_relu_under_a_power():
    # failed before: x**σ(y) printed x**1/(1 + exp(-y)), which Python reads as (x**1)/(1 + e^−y):
    # lambdify gave 1.0 at x = 2, y = 0, where 2**σ(0) = √2
    for module in ("mpmath", "math", "numpy"):
        f = sp.lambdify((x, y), x ** sigmoid(y), module)
        assert abs(float(f(2.0, 0.0)) - float(mpmath.sqrt(2))) < 1e-15, module
    assert sp.lambdify((x, y), 2 ** relu(y) * x, "math")(3.0, 1.5) == 3.0 * 2 ** 1.5


# ---------------------------------------------------------------- one base class for every function node

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from symnet import functions, special  # noqa: E402
from symnet.codegen.backends.numpy.printer import PRINTER_HELPERS, NumpyExpressionPrinter  # noqa: E402
from symnet.codegen.backends.triton.printer import TritonPrinter  # noqa: E402
from symnet.functions import SymnetFunction  # noqa: E402
from symnet.registry import NUMPY_HELPERS, entry_of, numpy_helper_closure  # noqa: E402
from symnet.render import latex, text  # noqa: E402

_NODES = sorted({getattr(functions, n) for n in ("sigmoid", "relu")}
                | {getattr(special, n) for n in special.__all__}, key=lambda c: c.__name__)
# a point inside every node's domain, by arity
_POINT = {1: (0.7,), 2: (0.7, -1.9), 3: (0.7, -1.9, 2.3), 4: (0.7, -1.9, 2.3, -0.4)}


def _node_classes(module):
    return [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, sp.Function)
            and v.__module__ == module.__name__ and not v.__name__.startswith("_")]


def test_every_function_node_of_special_and_functions_derives_from_the_base_class():
    classes = _node_classes(special) + _node_classes(functions)
    assert len(classes) >= 13 and set(_NODES) <= set(classes) | {SymnetFunction}
    assert [c.__name__ for c in classes if not issubclass(c, SymnetFunction)] == []


@pytest.mark.parametrize("cls", _NODES, ids=lambda c: c.__name__)
def test_node_prints_in_text_latex_numpy_and_triton(cls):
    args = sp.symbols("x0:%d" % len(_POINT[max(cls.nargs)]), real=True)[:max(cls.nargs)]
    node = cls(*args)
    at = dict(zip(args, _POINT[len(args)]))
    with mpmath.workdps(50):  # the registry's mpmath reference, written apart from the node's SymPy forms
        exact = entry_of(cls).mpmath(*[mpmath.mpf(v) for v in at.values()])
    # text and LaTeX: by name (σ(x0), \Phi\left(x_{0}\right)), or as the node's form (exp(x0 + x1))
    t, tex = text(node), latex(node)
    if cls.latex_name is not None:
        assert t.startswith((cls.text_name or cls.__name__) + "(") and tex.startswith(cls.latex_name), (t, tex)
    else:
        assert cls.__name__ not in t and cls.__name__ not in tex and t and tex, (t, tex)
    assert latex(node ** 2).endswith("^{2}")
    # SymPy's code printers: the elementary form, bracketed, with the node's value
    f = sp.lambdify(args, node * 2 + node ** 2, "mpmath")
    with mpmath.workdps(50):
        assert abs(f(*[mpmath.mpf(v) for v in at.values()]) - (2 * exact + exact ** 2)) < mpmath.mpf(10) ** -40
    # the generated NumPy code (the registry's template and helpers), against mpmath
    helpers: set = set()
    code = NumpyExpressionPrinter(helpers).doprint(node)
    scope = {"np": np}
    # the helpers the code calls and theirs (NUMPY_HELPER_NEEDS), as a generated module holds them; not every helper:
    # NUMPY_HELPERS also keeps each widened function the process has generated (test_kl36's KL of two 3-class softmaxes
    # adds one of 3.3 MB), and executing them all took 4-6 s a node where an earlier test file in the xdist worker had
    # compiled such formulas (CI of d814c00c: 93 s for this test, 0.2 s a node in a fresh process)
    needed = numpy_helper_closure(helpers)
    for source in [s for n, s in [*NUMPY_HELPERS.items(), *PRINTER_HELPERS.items()] if n in needed]:
        exec(source, scope)  # noqa: S102 - the registry's own helper sources
    got = eval(code, scope, {str(a): np.full(3, v) for a, v in at.items()})  # noqa: S307 - generated code
    assert np.all(abs(got - float(exact)) <= 4 * np.spacing(abs(float(exact)))), (code, got, exact)
    # Triton: a call of the registry's template (run by the Triton tests of the kernels)
    tcode = TritonPrinter({}, set()).doprint(node)
    assert all(str(a) in tcode for a in args) and "(" in tcode, tcode


# ---------------------------------------------------------------- printout faults

def test_rnn_bptt_names_delta_as_the_lecture_does():
    # failed before: the recurrence section wrote δᵗ_j out, Σ_c (Wᵒ_cj·(yᵗ_c − [c = rᵗ]))·σ(sᵗ_j)·(1 − σ(sᵗ_j)) + …,
    # where the lecture names it: δᵗ = σ'(sᵗ) ∘ ∂C/∂hᵗ, with ∂C/∂hᵗ holding δ⁽ᵗ⁺¹⁾ (the recurrence)
    from symnet import get  # from the disk cache where another test file built it (15 s to build)
    from symnet.render import render

    d = get("rnn-bptt")
    section = next(sec for sec in d.sections if sec.title == "The BPTT recurrence")
    shown = [text(s.lhs) + " = " + text(s.value) for s in section.steps]
    assert "δᵗ_j = σ(sᵗ_j)·(1 − σ(sᵗ_j))·∂C/∂hᵗ_j" in shown, shown
    assert any(line.startswith("∂C/∂hᵗ_j = ") and "δ⁽ᵗ⁺¹⁾_i" in line for line in shown), shown  # its recurrence
    assert "δᵗ_j = σ(sᵗ_j)·(1 − σ(sᵗ_j))·∂C/∂hᵗ_j" in render(d, "text")


def test_focal_loss_latex_rows_fit_a_page():
    # failed before: the Result's df/dt was one \begin{cases} row of 2,148 characters (1,300 of them one case's
    # value); each case now an aligned block of rows, its terms split as a long sum is elsewhere
    import symnet
    from symnet.render import render

    tex = render(symnet.derive(symnet.parse("focal(z, t)")), "latex")
    assert max(len(line) for line in tex.splitlines()) < 450
    assert r"\begin{cases} \begin{aligned}&" in tex


def test_sigmoid_derivative_rounding_correction_is_a_commented_temporary():
    # failed before: sigmoid_mse's ∂z held exp_neg_abs_z − (inv_sig_abs_z − 1) inline, which reads as 0, with no word
    # of what it is (the rounding error of 1 + E, taken back in σ′ = E/(1 + E)²: the sigmoid-pair rule's product)
    import pathlib
    import re

    kernels = pathlib.Path(__file__).resolve().parents[1] / "kernels"
    pattern = re.compile(r"(\w+) - \((\w+) - 1(\.0)?\)")  # E − (s − 1)
    seen = 0
    for path in sorted(kernels.glob("*/*.py")):
        lines = path.read_text().splitlines()
        for k, line in enumerate(lines):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                seen += 1
                name = line.split("=")[0].strip()
                assert re.fullmatch(rf"{name} = {pattern.pattern}", line.strip()), (path.name, line)  # alone
                comment = lines[k - 1].strip()
                assert comment.startswith(f"# {name} = ") and "the rounding error of" in comment \
                    and "σ′ = E/(1 + E)²" in comment, (path.name, comment)
    assert seen >= 2  # sigmoid_mse, NumPy and Triton
