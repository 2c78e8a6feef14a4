"""Session 38, h-tidy38: time-limit messages that name the formula as the user wrote it, and the
exp-sigmoid-spread rule's stated bound. Hang guards only: every limit here is tiny, nothing is timed."""
import functools
import math

import pytest

import symnet
from symnet.errors import LimitError

NESTED = "focal(focal(focal(z, t), t), t)"


# ------------------------------------------------------------------ 1. from_formula names what the user wrote

def test_from_formula_time_limit_names_the_formula_as_written():
    """Before: "deriving and generating the kernel of Piecewise(((3/4 - t/2)*(1 - t)**2*(t*softplus(-Piecewise(((3…
    took longer than 2 CPU s …": the parsed focal, which the user never wrote. Now the text given, in one line."""
    from conftest import triton_torch
    triton_torch()
    import symnet.torch as st

    with pytest.raises(LimitError) as info:
        st.from_formula(f"  {NESTED}", inputs="z t", time_limit=0.3)
    message = str(info.value)
    assert message == (f"deriving and generating the kernel of {NESTED} took longer than 0.3 CPU s (raise it with "
                       "symnet.torch.from_formula(..., time_limit=0.6), or time_limit=None for no limit)"), message
    assert "Piecewise" not in message


def test_a_formula_op_is_labelled_by_the_text_written():
    """The op's label (DoubleBackwardError and the like name it) is the text written, not the parsed Piecewise."""
    from conftest import triton_torch
    triton_torch()
    from symnet.torch import _ops

    expr = symnet.parse("focal(z, t)")
    assert "Piecewise" in str(expr)  # what the label named before
    with pytest.raises(LimitError) as info:
        _ops.formula_op(expr, tuple(sorted(expr.free_symbols, key=str)), time_limit=1e-9, text="focal(z, t)")
    assert "the kernel of focal(z, t) took" in str(info.value)
    name = next(k for k, v in _ops._FORMULA_TEXT.items() if v.startswith("'focal(z, t)'"))
    assert _ops._label(name).endswith("(from_formula('focal(z, t)', inputs=['t', 'z']))")


def test_the_command_line_time_limit_names_the_formula(capsys):
    """`symnet derive F --time-limit S` said "the formula took longer than …": which one, in a script of many, not."""
    from symnet.cli import main

    assert main(["derive", NESTED, "--time-limit", "0.3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"symnet: error: the formula {NESTED} took longer than 0.3 s (wall clock) to derive and print "
                   "(raise it with --time-limit 0.6, or 0 for no limit)"), err


# ------------------------------------------------------------------ 2. exp-sigmoid-spread's bound, against mpmath

@pytest.mark.parametrize("k", [1, -1, 0.5, 1024, -1024])
def test_tanh_is_linear_below_minus_40_to_the_stated_bound(k):
    """tanh(k·e^a) = k·e^a·(1 − δ) below a = −40 with δ < 2⁻⁹⁷ for |k| ≤ 1024 (the rule said 2⁻¹¹⁵, which holds
    only for |k| ≤ 2); at k = ±1024 δ is 2^−97.0, past 2⁻¹¹⁵ by 2¹⁸. mpmath at 60 digits."""
    import mpmath

    with mpmath.workdps(60):
        for a in (-40, -40.5, -60):
            c = mpmath.mpf(k) * mpmath.exp(a)
            delta = abs(1 - mpmath.tanh(c) / c)
            assert delta < mpmath.mpf(2) ** -97, (k, a, delta)
        if abs(k) == 1024:
            c = mpmath.mpf(k) * mpmath.exp(-40)
            assert abs(1 - mpmath.tanh(c) / c) > mpmath.mpf(2) ** -98  # the bound is tight: 2⁻¹¹⁵ was not


def test_the_rule_states_the_bound_it_has():
    from symnet.codegen.rewrite import EXP_SIGMOID_SPREAD

    assert "2⁻¹¹⁵" not in EXP_SIGMOID_SPREAD.why and "2⁻⁹⁷" in EXP_SIGMOID_SPREAD.why
    assert -97.1 < 2 * math.log2(1024 * math.exp(-40)) - math.log2(3) < -96.9  # c²/3 at c = 1024·e⁻⁴⁰


# ------------------------------------------------------------------ 3. a widened body's nodes printed once each

@functools.lru_cache(maxsize=None)
def _widened_nodes(formula: str) -> frozenset:
    """The widened sums of ``formula``'s stabilised kernel (described once per module: both backends read them)."""
    from symnet.codegen.ir import describe
    from symnet.codegen.rewrite import WidenedBase

    kernel = describe(symnet.derive(formula))
    return frozenset(n for e in [e for _, e in kernel.assignments] + list(kernel.results) for n in e.atoms(WidenedBase))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("formula", ["focal(z, t)", "x*exp(y) - z"])
def test_a_widened_body_printed_each_node_once_is_the_same_text(backend, formula, monkeypatch):
    """widened_function prints its float64 body with each (node, printer state) printed once
    (_printing_each_node_once: focal(focal(z, t), t)'s compile spent 11 of its 50 CPU s printing the repeated subtrees
    of one body). Its functions' texts are those printed node by node, for both backends."""
    import sympy as sp

    from symnet.codegen import doubleword
    from symnet.codegen.doubleword import leaf_identifiers, widened_function

    nodes = _widened_nodes(formula)
    assert nodes

    def make():
        if backend == "triton":
            from symnet.codegen.backends.triton.printer import TritonPrinter
            return TritonPrinter({}, set(), "tl.float64")
        from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
        p = NumpyExpressionPrinter(set(), {}, dtype="_dtype")
        p.select_without_branches()
        return p

    def texts():
        out = []
        for node in sorted(nodes, key=sp.default_sort_key):
            names = leaf_identifiers(node.leaves)
            leaf_names = {leaf: (f"{n}_f64" if backend == "triton" else n) for leaf, n in zip(node.leaves, names)}
            out.append(widened_function(node, backend, make()._widened_body_printer(leaf_names), names).code)
        return out

    once = texts()
    monkeypatch.setattr(doubleword, "_printing_each_node_once", lambda printer: __import__("contextlib").nullcontext())
    assert texts() == once
