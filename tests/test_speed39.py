"""Session 39, speed39: the generator made faster without changing what it emits.

Each speed-up here keeps the printed modules byte-identical (benchmarks/compile_time.py compares them against a
base checkout, and `symnet codegen --check` the committed kernels); these tests check what a wrong speed-up would
break: a memo that mixes up two formulas, a table that a compile grows.
"""
from __future__ import annotations

import re

import sympy as sp

import symnet
from conftest import compiled


# ------------------------------------------------------------------ generated functions kept apart from the registry

# The functions generated for widened bodies were registered in the registry's helper tables (NUMPY_HELPERS,
# TRITON_HELPERS), which then grew with every formula a process compiled: tests/test_style15.py executes every NumPy
# helper once per node, 0.05 CPU s a node in a fresh process, 1.1–1.3 s after the KL of two 3-class softmaxes was
# compiled in the same process (one of its 14 generated functions takes Python 1.15 s to compile), ~5 s in CI.
def test_compiling_leaves_the_registry_tables_as_they_were():
    from symnet.codegen.backends.triton.elementwise import emit_triton_module
    from symnet.codegen.backends.triton.printer import TRITON_HELPERS
    from symnet.registry import GENERATED_HELPERS, NUMPY_HELPERS

    numpy_before, triton_before = dict(NUMPY_HELPERS), dict(TRITON_HELPERS)
    k = compiled("x*y - z")  # a sum of products: its cancelling elements in double words, a generated function
    triton_source = emit_triton_module([k.kernel], "a test", "-")
    assert NUMPY_HELPERS == numpy_before and TRITON_HELPERS == triton_before
    for backend, source in (("numpy", k.source), ("triton", triton_source)):
        names = re.findall(r"^def (_dw_widened_\w+)\(", source, flags=re.M)
        assert names, (backend, "no generated function any more: pick another formula")
        table = NUMPY_HELPERS if backend == "numpy" else TRITON_HELPERS
        kept = [text for text in GENERATED_HELPERS[backend].values() if text in source]  # each as it was printed
        for name in names:  # (a sum of products' front and the function on its cancelling elements: one text)
            assert any(f"def {name}(" in text for text in kept), (backend, name)
            assert name not in NUMPY_HELPERS and name not in TRITON_HELPERS  # not listed,
            if name in GENERATED_HELPERS[backend]:
                assert table[name] == GENERATED_HELPERS[backend][name]  # but read by name (tests/test_dwcost8.py)


def test_a_module_prints_the_same_after_other_formulas_were_compiled():
    """The generated functions in a module are those it calls, after the registry's helpers, by name: the same text
    whatever the process printed before."""
    from symnet.codegen import ir
    from symnet.codegen.backends.numpy.elementwise import emit_module

    d = symnet.derive("x*y - z")
    first = emit_module([ir.describe(d)], "a test", "-")
    other = compiled("w*sigmoid(2*w)")  # more generated functions in the table
    again = emit_module([ir.describe(d)], "a test", "-")
    assert first == again
    theirs = set(re.findall(r"^def (_dw_widened_\w+)\(", other.source, flags=re.M))
    assert theirs and not theirs & set(re.findall(r"^def (_dw_widened_\w+)\(", again, flags=re.M))
