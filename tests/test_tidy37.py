"""Session 36's final-read leftovers and compile's time budget (issue 16), helper tidy37.

1. σ(x·y)·3·x·y wrote x·y inside ``_constant_times``' arguments (inside σ's select) beside its temporary x_times_y
   since 0840c4ff (found by git bisect 214b854b..main): ∂x and ∂y became one widened sum, σ's select was left to f
   alone, and the constant-times walk's put_back replaced the temporary everywhere inside the product. Values were
   unchanged (a cost question): they are measured here against mpmath all the same. The printed statements are
   tests/test_quot24.py's.
2. (The reciprocal-margin rule's text: docs/derivations/stability-rules.md, checked by ``symnet docs --check``.)
3. A widened sum's generated function is printed by a copy of the kernel's printer: the Triton one kept the kernel's
   temporaries (``definitions``) and both kept the overflow printing flags, so that the body's text, shared by name
   through the module, depended on where the first kernel of a process printed it.
4. Time: focal(focal(z, t), t)'s compile (symnet.pickling's srepr of trees of 50,000 operations, each printed once now) and
   ``symnet.torch.from_formula``, which derived with no time limit.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled


def _ulps(got, want, dtype):
    """|got − want| in units of the last place of ``want`` rounded to ``dtype`` (want an mpmath value)."""
    w = float(want)
    if not np.isfinite(w):
        return 0.0 if got == w else np.inf
    spacing = float(np.spacing(np.abs(np.array(w, dtype))))
    if spacing == 0 or not np.isfinite(got):
        return np.inf
    return float(abs(mpmath.mpf(float(got)) - want) / mpmath.mpf(spacing))


# ------------------------------------------------------------------ 1. σ(x·y)·3·x·y: the product once, values kept

def _sigmoid_product_reference(x, y):
    with mpmath.workdps(60):
        u = mpmath.mpf(x) * mpmath.mpf(y)
        s = 1 / (1 + mpmath.exp(-u))
        d = 3 * (u * s * (1 - s) + s)
        return 3 * u * s, d * mpmath.mpf(y), d * mpmath.mpf(x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_of_a_product_times_it_against_mpmath(dtype):
    """f = 3·x·y·σ(x·y) and its ∂x, ∂y at 240 points: x·y on both sides of the select's −2 and of σ′'s root of
    u·σ′(u) + σ(u) (u ≈ −1.2785), far out (|x·y| to 1e4), and small; ≤ 4 ULP in float64, ≤ 8 in float32."""
    rng = np.random.default_rng(3701)
    u = np.r_[rng.uniform(-2.05, -1.95, 60), rng.uniform(-1.35, -1.2, 60), rng.uniform(-40, 40, 60),
              10 ** rng.uniform(-30, 4, 60) * rng.choice([-1, 1], 60)]
    x = 10 ** rng.uniform(-3, 3, u.size) * rng.choice([-1, 1], u.size)
    x, y = x.astype(dtype), (u / x).astype(dtype)
    k = compiled("sigmoid(x*y)*3*x*y", "numpy", ("x", "y"))
    outs = k(x=x, y=y)
    bound = 4 if dtype == np.float64 else 8
    worst = []
    for i in range(x.size):
        want = _sigmoid_product_reference(float(x[i]), float(y[i]))
        for name, got, w in zip(("f", "df_dx", "df_dy"), outs, want):
            if abs(float(w)) < np.finfo(dtype).tiny:  # (the bound is stated where the true result is normal)
                continue
            e = _ulps(got[i], w, dtype)
            if e > bound:
                worst.append((name, float(x[i]), float(y[i]), e))
    assert not worst, worst[:5]


# ------------------------------------------------------------------ 3. a widened body without the kernel's state

@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_a_widened_body_does_not_depend_on_the_kernel_printers_state(backend):
    """x·e^y − z's widened function printed from a printer in the middle of a kernel (its temporaries, a leaf among
    them; inside a select, a product taken again, an exponential's and a log's overflow) is the text a fresh printer
    gives. Before, the Triton body read the kernel's temporaries and both read _overflow_printing: the texts
    differed."""
    import symnet
    from symnet.codegen.doubleword import leaf_identifiers, widened_function
    from symnet.codegen.ir import describe
    from symnet.codegen.rewrite import WidenedBase

    kernel = describe(symnet.derive("x*exp(y) - z"))
    nodes = {n for e in [e for _, e in kernel.assignments] + list(kernel.results) for n in e.atoms(WidenedBase)}
    assert nodes
    for node in sorted(nodes, key=sp.default_sort_key):
        names = leaf_identifiers(node.leaves)
        if backend == "triton":
            from symnet.codegen.backends.triton.printer import TritonPrinter

            def make():
                return TritonPrinter({}, set(), "tl.float64")
            leaf_names = {leaf: f"{n}_f64" for leaf, n in zip(node.leaves, names)}
        else:
            from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter

            def make():
                p = NumpyExpressionPrinter(set(), {}, dtype="_dtype")
                p.select_without_branches()
                return p
            leaf_names = dict(zip(node.leaves, names))
        busy = make()
        busy.definitions = {**dict(kernel.assignments), **{leaf: sp.exp(leaf) for leaf in node.leaves}}
        busy.selected = "cond_1"
        busy._select_moving = busy._overflow_printing = busy._log_overflow_printing = True
        fresh = widened_function(node, backend, make()._widened_body_printer(dict(leaf_names)), names).code
        during = widened_function(node, backend, busy._widened_body_printer(dict(leaf_names)), names).code
        assert during == fresh


# ------------------------------------------------------------------ 4. the time limit of symnet.torch.from_formula

def test_from_formula_honours_a_time_limit_in_one_line():
    """symnet.torch.from_formula derived outside symnet.derive, with no limit: focal(focal(focal(z, t), t), t) ran
    for minutes. Now deriving and generating take ``time_limit`` CPU seconds together (default 60, as symnet.derive's
    and symnet.compile's): past it one line naming from_formula's keyword (a hang guard only: the limit is tiny)."""
    from conftest import triton_torch
    triton_torch()
    import symnet.torch as st
    from symnet.errors import LimitError

    with pytest.raises(LimitError) as info:
        st.from_formula("focal(focal(focal(z, t), t), t)", inputs="z t", time_limit=0.3)
    message = str(info.value)
    assert "\n" not in message and "took longer than 0.3 CPU s" in message, message
    assert "symnet.torch.from_formula(..., time_limit=0.6)" in message, message


@pytest.mark.parametrize("limit", [-1.0, float("nan"), "60", True])
def test_from_formula_refuses_a_bad_time_limit(limit):
    from conftest import triton_torch
    triton_torch()
    import symnet.torch as st
    from symnet.errors import LimitError

    with pytest.raises(LimitError) as info:
        st.from_formula("x*y", inputs="x y", time_limit=limit)
    assert "\n" not in str(info.value) and "time limit" in str(info.value).replace("time_limit", "time limit")


# ------------------------------------------------------------------ 4. compile's own time: the disk cache's srepr

def test_fingerprints_print_each_object_once_and_exactly_as_srepr():
    """symnet.pickling's fingerprint (the disk cache's key of a kernel description and its faithful-copy check) is
    sympy.srepr's text printed once per object: 8 of focal(focal(z, t), t)'s 52 compile CPU s were srepr of trees of
    50,000 operations. The text is srepr's exactly, for a derivation and its kernel description, and two nodes SymPy
    finds equal but of other structure (a real x and a plain x inside a sum) still differ."""
    import symnet
    from symnet import pickling
    from symnet.codegen.ir import describe

    d = symnet.derive("focal(sigmoid(x*y), t)", ["x", "y"])
    for obj in (d, describe(d), (d.jacobian, d.jacobian)):
        assert pickling._fingerprint(obj) == pickling._fingerprint(obj, sp.srepr)
    real, plain = sp.Symbol("x", real=True), sp.Symbol("x")
    assert not pickling.same((real + 1, plain + 1), (plain + 1, plain + 1))
