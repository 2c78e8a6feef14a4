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


# ------------------------------------------------------------------ a select's values compared only where it matters

KL2 = ("exp(a)/(exp(a) + exp(b))*(log(exp(a)/(exp(a) + exp(b))) - log(exp(x)/(exp(x) + exp(y))))"
       " + exp(b)/(exp(a) + exp(b))*(log(exp(b)/(exp(a) + exp(b))) - log(exp(y)/(exp(x) + exp(y))))")


# Printing the KL of two written 2-class softmaxes spent 10 of its 13 CPU s (per backend) in one sp.cancel of a
# 4,100-operation difference of a select's two values, for a sum whose term is not sized either way; the 3-class KL
# 20 of 30. Now the term is weighed both ways first (its module: 65.6 → 7.1 CPU s for derive, describe and both
# backends; the same text, benchmarks/compile_time.py).
def test_the_kl_of_written_softmaxes_prints_without_comparing_its_select(monkeypatch):
    from symnet.codegen import ir
    from symnet.codegen.backends.numpy.elementwise import emit_module

    sizes = []
    cancel = sp.cancel

    def counted(e, *args, **kwargs):
        sizes.append(sp.count_ops(e))
        return cancel(e, *args, **kwargs)

    kernel = ir.describe(symnet.derive(KL2))
    monkeypatch.setattr(sp, "cancel", counted)
    source = emit_module([kernel], "a test", "-")
    assert max(sizes, default=0) < 1000, sorted(sizes)[-3:]


def test_the_kl_of_written_softmaxes_against_mpmath():
    """Its value and gradient at identical logits (0 exactly) and at random ones (≤ 4 ULP of mpmath at 60 digits where
    the truth is not below 1e−300), float64."""
    import mpmath
    import numpy as np

    k = compiled(KL2)
    rng = np.random.default_rng(39)
    a = rng.uniform(-5, 5, (40, 2))
    x = np.concatenate([a[:20], rng.uniform(-5, 5, (20, 2))])
    out = dict(zip(k.outputs, k(a=a[:, 0], b=a[:, 1], x=x[:, 0], y=x[:, 1])))
    for i in range(40):
        with mpmath.workdps(60):
            (pa, pb), (qx, qy) = ([mpmath.exp(v) / (mpmath.exp(r[0]) + mpmath.exp(r[1])) for v in r]
                                  for r in ([mpmath.mpf(v) for v in a[i]], [mpmath.mpf(v) for v in x[i]]))
            la, lb = mpmath.log(pa) - mpmath.log(qx), mpmath.log(pb) - mpmath.log(qy)
            f = pa * la + pb * lb
            want = {"f": f, "df_da": pa * (la - f), "df_db": pb * (lb - f), "df_dx": qx - pa, "df_dy": qy - pb}
        for name, truth in want.items():
            got = float(out[name][i])
            if i < 20:  # identical logits
                assert got == 0, (name, i, got)
            elif abs(truth) > 1e-300:
                assert abs(got - float(truth)) <= 4 * np.spacing(abs(float(truth))), (name, i, got, truth)
