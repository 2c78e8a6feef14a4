"""Session 23, h-rules23: the square-sum parser shared, the square-sum-power select taken per element (NumPy) or per
block (Triton), and the exp-dominant rule's misses of session 22 (tests/test_breakage22b.py).

* One parser of c + w·v² (``rewrite._constant_plus_square``) for the hypot and square-sum-power rules.
* square-sum-power's select is one far select on the whole output: the written form on every element, the scaled
  one (|v| ≥ 2⁶⁰) only on the elements past it (NumPy ``elementwise.far_branches``) or in a block holding one
  (Triton's scalar branch). Its cost is in benchmarks/rules23.py (never asserted here).
* exp-dominant takes c·e^u of any expression u of the inputs (u = x·y), sinh and cosh ((c/2)·e^u ± (c/2)·e^−u), P a
  sum of terms negligible beside e^u past u = 1024 (a polynomial in u, a constant times another input), and looks
  through a select another rule made of the sum (the exp-minus rule's x·(e^x/x − 3)).

References independent of the code generator: mpmath at 1000 digits of SymPy's derivative of the formula as written
and torch.autograd of it in the same dtype (``test_breakage21b._faults``: ≤ 4 ULP float64, ≤ 8 float32 where the
truth is normal, never worse than torch).
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch
from symnet.codegen.rewrite import _constant_plus_square, _exp_dominant, stabilise
from test_breakage21b import _faults

F64, F32 = np.float64, np.float32
x, y = sp.symbols("x y", real=True)

# the exp-dominant rule's new cases, for tests/test_stability_rules.py (through tests/test_logser22.py's RULE_CASES):
# (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("exp-dominant", sp.log(sp.exp(x) - 3 * x), (x,), (30.0, 100.0), (800.0,), F64),  # through exp-minus's select
    ("exp-dominant", sp.log(sp.sinh(x) - x), (x,), (30.0, 100.0), (1023.9,), F64),  # sinh: (1/2)e^x − (1/2)e^−x
    # ∂ = (2e^x − 2x)/(2e^x − x²): a quotient through exp-minus's select (NaN at 800 before)
    ("exp-dominant", sp.log(2 * sp.exp(x) - x ** 2), (x,), (30.0, 100.0), (800.0,), F64),
    ("exp-dominant", sp.log(sp.exp(x * y) - 1 - x * y), (x, y), (6.0, 10.0), (40.0, 40.0), F64),  # u = x·y
    ("exp-dominant", sp.log(sp.cosh(x) + x), (x,), (30.0, 100.0), (95.0,), F32),
]


def _kept(faults):
    """``_faults`` less the points within 1 ULP of the truth (torch's ±inf for a finite truth makes its error NaN)."""
    return [f for f in faults if not f[4] <= 1.0]


# --- one parser of c + w·v² -----------------------------------------------------------------------------------------
def test_constant_plus_square_parses_one_square_beside_positive_numbers():
    assert _constant_plus_square(2 + 3 * x ** 2) == (2, 3, x)
    assert _constant_plus_square(sp.Rational(1, 2) + x ** 2 + 1) == (sp.Rational(3, 2), 1, x)
    assert _constant_plus_square(1 + ((x - y) / 2) ** 2)[0] == 1  # any base v: the hypot rule's (x − y)/2
    for no in [x ** 2 - 1, x ** 2 + y ** 2 + 1, 1 + x, x ** 2, 1 - 3 * x ** 2, 1 + x ** 3]:
        assert _constant_plus_square(no) is None, no


# --- square-sum-power: the scaled branch where it is taken only ------------------------------------------------------
POWERS = {"x*(1+x**2)**(3/10)": lambda t, x: x * (1 + x ** 2) ** 0.3,
          "(2+3*x**2)**(-2/3)": lambda t, x: (2 + 3 * x ** 2) ** (-2 / 3)}


def test_numpy_source_computes_the_scaled_branch_past_the_edge_only():
    """The written form on every element, the scaled form (|x|^1.6 for x·(1 + x²)^0.3) only under ``_far``."""
    source = compiled("x*(1+x**2)**(3/10)", "numpy", ("x",)).source
    body = source[source.index("for _i in range"):]
    far = body.index("_far = np.nonzero(")
    assert "_fracpow(abs_x, 1.6" in body[far:] and "_fracpow(abs_x, 1.6" not in body[:far]
    assert "f[...] = pow_1*x" in body[:far]


def _mixed(dtype):
    """Ordinary values and values past 2⁶⁰ (and past the square's overflow) interleaved in one block."""
    far = [1e20, -3e25, 2.0 ** 60, 1e30] if dtype == F32 else [1e160, -1e200, 2.0 ** 60, 1e300]
    near = [0.3, -7.5, 1e10, 0.0, -(2.0 ** 59)]
    return [(v,) for pair in zip(far + [1.5], near) for v in pair]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(POWERS))
def test_numpy_power_of_a_square_sum_in_a_mixed_block(formula, dtype):
    bad = _kept(_faults(formula, ["x"], _mixed(dtype), dtype, POWERS[formula]))
    assert not bad, bad


def test_triton_source_branches_on_the_block():
    triton_torch()
    source = compiled("x*(1+x**2)**(3/10)", "triton", ("x",)).source
    kernel = source[source.index("def _kernel_kernel"):]
    far = kernel.index("if tl.max(tl.where(mask & ")
    assert "tl.full([], 1.6" in kernel[far:] and "tl.full([], 1.6" not in kernel[:far]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("points", ["mixed", "near"])
def test_triton_power_of_a_square_sum(dtype, points):
    """A block holding far elements (the scalar branch taken) and one without (not taken), TRITON_INTERPRET=1."""
    triton_torch()
    pts = _mixed(dtype) if points == "mixed" else [(v,) for v in (0.3, -7.5, 1e10, 0.0)]
    formula = "x*(1+x**2)**(3/10)"
    bad = _kept(_faults(formula, ["x"], pts, dtype, POWERS[formula], backend="triton"))
    assert not bad, bad


# --- exp-dominant: the misses of session 22 ------------------------------------------------------------------------
DOMINANT = {
    "log(exp(x) - 3*x)": lambda t, x: t.log(t.exp(x) - 3 * x),
    "log(sinh(x) - x)": lambda t, x: t.log(t.sinh(x) - x),
    "log(2*exp(x) - x**2)": lambda t, x: t.log(2 * t.exp(x) - x ** 2),
    "log(cosh(x) + x)": lambda t, x: t.log(t.cosh(x) + x),
}


def _far_points(dtype):
    big = [70.0, 88.0, 89.0, 120.0, 1e4, 3e38] if dtype == F32 else [70.0, 709.0, 710.0, 1000.0, 1023.9, 1024.5, 1e5,
                                                                    1e300]
    return [(v,) for v in big + [5.0, 20.0, 63.9, 64.1]]  # (log(sinh x − x) at 1.5: 5 ULP, torch too: not this rule)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(DOMINANT))
def test_numpy_log_of_a_dominant_exponential(formula, dtype):
    """f and ∂ from 1.5 to 1e300 (float32 3e38), both sides of u = 64 and 1024."""
    bad = _kept(_faults(formula, ["x"], _far_points(dtype), dtype, DOMINANT[formula]))
    assert not bad, bad


@pytest.mark.parametrize("formula", ["log(exp(x) - 3*x)", "log(sinh(x) - x)"])
def test_triton_log_of_a_dominant_exponential(formula):
    triton_torch()
    bad = _kept(_faults(formula, ["x"], [(710.0,), (1023.9,), (1e5,), (20.0,)], F64, DOMINANT[formula],
                        backend="triton"))
    assert not bad, bad


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_numpy_dominant_exponential_of_a_product(dtype):
    """log(e^(xy) − 1 − xy) with u = x·y past both edges, and where u < 0."""
    pts = [(63.99, 1023.99), (8.0, 8.1), (30.0, 30.0), (2.0, 3.0), (-30.0, 30.0), (1e150, 1e150)]
    if dtype == F32:
        pts = [(9.0, 9.5), (10.0, 10.0), (2.0, 3.0), (-9.0, 9.0), (1e19, 1e19)]
    bad = _kept(_faults("log(exp(x*y) - 1 - x*y)", ["x", "y"], pts, dtype,
                        lambda t, x, y: t.log(t.exp(x * y) - 1 - x * y)))
    assert not bad, bad


def test_what_exp_dominant_takes_and_what_it_leaves():
    """P's terms must be negligible beside e^u past u = 1024 wherever they are floats; a select is looked through
    only where its other branches are the same sum or are not taken at 64 < u ≤ 1024 (not a user's own select)."""
    assert _exp_dominant(sp.exp(x) - 3 * x) == (x, 1, -3 * x)
    assert _exp_dominant(sp.exp(x) / 2 + y) == (x, sp.Rational(1, 2), y)  # y ≤ 1.8e308 = e^709.8
    u, c, p = _exp_dominant(sp.sinh(x) - x)
    assert (u, c) == (x, sp.Rational(1, 2)) and sp.simplify(p - (-x - sp.exp(-x) / 2)) == 0
    assert _exp_dominant(sp.exp(x * y) - 1 - x * y) == (x * y, 1, -1 - x * y)
    for no in [sp.exp(x) + y ** 2,  # y² is inf in float64 where it is 1e616 > e^1024
               sp.exp(x) + x ** 65,  # past degree 64
               sp.exp(x) + 1e30 * x,  # a coefficient past 2⁶⁴
               sp.exp(x) + sp.exp(y),  # another exponential
               -sp.exp(x) + x,  # c < 0
               sp.Piecewise((1, x > 100), (sp.exp(x) - x, True))]:  # a select whose branches differ
        assert _exp_dominant(no) is None, no
    # the exp-minus rule's select of e^x − 3x: x·(e^x/x − 3) for x > 64 is the same sum, its others taken elsewhere
    made = sp.Piecewise((x * (sp.exp(x) / x - 3), x > 64), (sp.exp(x) - 3 * x, True))
    assert _exp_dominant(made) == (x, 1, -3 * x)
    assert "exp-dominant" in {r.name for r in stabilise(sp.log(sp.sinh(x) - x))[1]}
