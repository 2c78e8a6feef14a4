"""The code generator's faults on random compositions (issue 16; h-ite26, 2026-12-04).

Session 25's audit (tests/test_audit25.py) ran the random compositions of tests/test_hypothesis_compositions.py and
found three kinds of fault; each is fixed in the pipeline and tested here at the compositions that found it:

* **ITE in generated code.** SymPy writes a condition on a Piecewise (hardswish's u ≥ 3 at u = hardtanh(2ˣ)) as
  ITE(2ˣ ≥ 1, False, 2ˣ ≥ 3); the kernel's expressions are written out (``rewrite.without_ite``), but a widened node's
  body is a class attribute no walk of the kernel reaches, and the printers printed an ITE as a call of ``ITE``:
  NameError when the kernel ran. Now ``widen`` writes its body out and the shared printer prints an ITE as
  (a ∧ b) ∨ (¬a ∧ c), so none reaches the code.
* **A select with no 'otherwise'.** The chain rule's tidy-up (``onesided.tidy_piecewise``) drops the branches no point
  reaches; where the branches before the 'otherwise' cover every real, it dropped the 'otherwise' and kept the last
  conditional branch last, which no backend generates. Now the branch after which every real is taken becomes the
  'otherwise'.
* **Derives that ran for minutes.** Depth-3 compositions of Piecewise activations fold conditions on expm1(x),
  expm1(expm1(x)), … into the derivative's Piecewise. The tidy-up solved each with SymPy's as_set (a ConditionSet:
  it cannot) and intersected them, and the step checker ran SymPy's Piecewise simplify, exponential in the number of
  comparisons; hardsigmoid(selu(elu(x))) ran past 4 minutes. Now a comparison of an increasing function with a
  number is solved by its inverse (``onesided._inverted``), one not solved is bounded by (∅, ℝ), a select-built
  activation of a select is built branch by branch (``registry.Function._through_select``: no ITE conditions), the
  tidy-up gives up on a condition whose normal form has more than 64 terms, and a difference whose conditions hold
  more than 6 comparisons, or one not of polynomials, is checked numerically.
"""
from __future__ import annotations

import time

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.onesided import _reachable, _region

x = sp.Symbol("x", real=True)


# ------------------------------------------------------------------ ITE in the generated code

@pytest.mark.parametrize("formula, points", [
    ("(erf(selu(x))) - (hardshrink(elu(x)))", [-3.0, 0.3, -0.5000000001]),
    ("(tanhshrink(softshrink(hardsigmoid(x)))) - (tan(gelu_tanh(x)))", [-3.0, 1.5, 2.9]),
])
def test_compositions_whose_code_held_an_ite_match_mpmath(formula, points):
    """The audit's other two ITE compositions (seed 1/2): NameError: name 'ITE' is not defined when the NumPy
    kernel ran (before); now values and gradients within the composition check's bound of mpmath."""
    from test_hypothesis_compositions import check
    check(formula, points)


def test_printers_print_an_ite_as_a_condition():
    """The NumPy and Triton printers printed ITE(a, b, c) as a call of ITE (before: 'ITE((x > 1), ...)'), which no
    module defines; now as (a ∧ b) ∨ (¬a ∧ c), the same truth table at every x (NaN: false, as the Piecewise's)."""
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    from symnet.codegen.backends.triton.printer import TritonPrinter
    cond = sp.ITE(x >= 1, x > 5, x >= -3)
    code = NumpyExpressionPrinter(set()).doprint(cond)
    assert "ITE" not in code and "ITE" not in TritonPrinter({}, set()).doprint(cond)
    xs = np.array([-4.0, -3.0, 0.0, 1.0, 5.0, 6.0, np.nan])
    got = eval(code, {"np": np, "x": xs})
    assert got.tolist() == [False, True, True, False, False, True, False]


def test_widened_body_holds_no_ite():
    """widen(body) for a body holding an ITE: its body (printed as it is by the widened function) held the ITE (before)."""
    from symnet.codegen.rewrite import widen
    body = sp.Piecewise((1, sp.ITE(x >= 1, False, x >= 3)), (x / 6, True)) * sp.exp(x)
    node = widen(body)
    assert not node.body.has(sp.ITE) and not node.expanded.has(sp.ITE)


def test_composition_with_an_ite_on_triton():
    """(hardswish(hardtanh(exp2(x)))) * (mish(silu(x))) on the Triton backend (interpreter), value and gradient against
    torch float64 autograd of the formula. Before: InterpreterError NameError("name 'ITE' is not defined") (Triton's
    printer printed the ITE too: the shared ConditionalPrinting)."""
    from conftest import triton_torch
    torch = triton_torch()
    F = torch.nn.functional
    xs = [-4.654741698486584, 6.0, 1.6474352160846735, -0.3, 0.0]
    k = symnet.compile(symnet.derive(symnet.parse("(hardswish(hardtanh(exp2(x)))) * (mish(silu(x)))")), "triton")
    code = [line for line in k.source.splitlines() if not line.lstrip().startswith("#")]
    assert not any("ITE((" in line for line in code)  # (the formula in the docstrings may show SymPy's ITE)
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = F.hardswish(F.hardtanh(torch.exp2(t))) * F.mish(F.silu(t))
    (g,) = torch.autograd.grad(y.sum(), t)
    value, grad = k(x=t.detach())
    assert torch.allclose(value.cpu().double(), y.detach(), rtol=1e-13, atol=1e-300)
    assert torch.allclose(grad.cpu().double(), g, rtol=1e-12, atol=1e-300)


# ------------------------------------------------------------------ a select with no 'otherwise'

def test_covering_branches_end_in_an_otherwise():
    """The chain rule's fold of ∂(|cos(celu(x))| − hardsigmoid(x)): branches x ≤ −3, 0 < x < 3, x < 3, x > 0 cover every
    real before the 'otherwise'; the tidy-up kept x > 0 last (before: no 'otherwise', the backends refused it)."""
    a, b, c, d, e = sp.symbols("a b c d e")
    pw = sp.Piecewise((a, x <= -3), (b, (x > 0) & (x < 3)), (c, x < 3), (d, x > 0), (e, True))
    assert _reachable(pw) == sp.Piecewise((a, x <= -3), (b, (x > 0) & (x < 3)), (c, x < 3), (d, True))
    d_written = symnet.derive(symnet.parse("(abs(cos(celu(x)))) - (hardsigmoid(x))")).jacobian[0, 0]
    assert all(p.args[-1].cond == sp.true for p in d_written.atoms(sp.Piecewise))


# ------------------------------------------------------------------ conditions on an increasing function

def _holds(cond, v):
    with mpmath.workdps(50):
        return bool(cond.xreplace({x: sp.Float(v, 50)}).doit())


@pytest.mark.parametrize("cond", [
    sp.Function("expm1")(x) > 0,
    sp.Float("1.0507009873554804934193349852946", 30) * sp.Function("expm1")(x) <= -3,
    sp.Float("1.7580993408473768599402175208123", 30) * sp.Function("expm1")(sp.Function("expm1")(x)) < 3,
    sp.tanh(2 * x - 1) >= sp.Rational(1, 2),
    sp.exp(x) > 2,
    sp.atan(x) < -2,
])
def test_a_condition_on_an_increasing_function_is_its_interval(cond):
    """onesided._region reads f(u) op c with f increasing as u op f⁻¹(c), or everywhere/nowhere where c lies outside
    f's range: before, SymPy's as_set gave a ConditionSet (expm1: it cannot solve it), whose intersections took
    minutes. The set agrees with the condition evaluated at 50 digits on a grid and at its own ends ± 1e−20."""
    from sympy.codegen.cfunctions import expm1
    cond = cond.replace(lambda n: isinstance(n, sp.core.function.AppliedUndef), lambda n: expm1(*n.args))
    region = _region(cond, x)
    assert region is not None and not region.has(sp.ConditionSet)
    points = [float(v) for v in np.linspace(-6, 6, 49)]
    for end in region.boundary:
        points += [float(end) - 1e-9, float(end) + 1e-9]
    for v in points:
        assert (sp.Float(v, 50) in region) == _holds(cond, v), (cond, v, region)


def test_a_condition_not_read_bounds_without_sympy_sets():
    """sin(x) > 0 is not read (None), and a branch under it is kept: nothing is dropped that might be reached."""
    assert _region(sp.sin(x) > 0, x) is None
    a, b, c = sp.symbols("a b c")
    pw = sp.Piecewise((a, sp.sin(x) > 0), (b, x > 1), (c, True))
    assert _reachable(pw) == pw


# ------------------------------------------------------------------ derive time of depth-3 Piecewise compositions

SLOW = ["hardsigmoid(selu(elu(x)))", "hardtanh(selu(selu(x)))", "elu(sign(softshrink(x)))"]


@pytest.mark.parametrize("formula", [SLOW[0], SLOW[2]])
def test_depth3_piecewise_composition_derives_in_seconds(formula):
    """hardsigmoid(selu(elu(x))): the audit's derive ran past 240 s (before; py-spy: SymPy's as_set and Intersection in
    the tidy-up, then Piecewise simplify in the step checker); now 5–6 s to derive and 1.5 to compile on the 2-core box
    (limit here 60 s of CPU for a loaded box). elu(sign(softshrink(x))): past 25 minutes (the audit), past 60 s here
    before the step checker's bound; now 2.5 + 0.8 s. Values and gradient against mpmath (the composition check)."""
    from test_hypothesis_compositions import check
    start = time.process_time()
    check(formula, [-3.0, -0.5, 0.7, 2.5, 4.0])
    assert time.process_time() - start < 60


def test_step_check_of_selects_on_sign_is_numeric():
    """A step of elu(sign(softshrink(x))): SymPy's Piecewise simplify proved this difference zero in 45 s (before: 5
    comparisons, two of sign(x ∓ 1/2)); comparisons not of polynomials are now left to the numeric check."""
    from symnet.stepcheck import check_equal
    half = sp.Rational(1, 2)
    a = sp.Piecewise((0, ((x > half) | (x < -half)) & ((x <= half) | (sp.sign(x - half) > 0))
                      & ((x > half) | (sp.sign(x + half) > 0))), (1, True))
    b = sp.Piecewise((0, sp.ITE(x > half, sp.sign(x - half) > 0, sp.ITE(x < -half, sp.sign(x + half) > 0, False))),
                     (1, True))
    start = time.thread_time()  # this thread's CPU time: the process's counts other threads too (BLAS's, a watchdog's)
    assert check_equal(a, b) == "numeric"
    assert time.thread_time() - start < 5


def test_boxes_of_a_condition_with_a_huge_normal_form_are_not_written_out():
    """onesided._boxes wrote every condition in disjunctive normal form with SymPy's to_dnf: an ∧ of 12 two-term ∨s
    has 4096 terms (to_dnf alone: 7.3 s of CPU, before; the chain rule's conditions of hardsigmoid(softshrink(
    hardswish(x))) on its nodes ran past 60 s in it);
    now it gives up (None: the select is left as it was) past 64 terms, and writes a small one out as before."""
    from symnet.onesided import _boxes
    y = sp.Symbol("y", real=True)
    big = sp.And(*[(x > k) | (y < k) for k in range(12)])
    start = time.thread_time()  # this thread's CPU time: the process's counts other threads too (BLAS's, a watchdog's)
    assert _boxes(big) is None
    assert time.thread_time() - start < 1
    got = _boxes((x > 1) & ((y < 0) | (y > 2)))  # (the boxes in SymPy's order of the ∨'s terms: either)
    want = [{x: sp.Interval.open(1, sp.oo), y: sp.Interval.open(-sp.oo, 0)},
            {x: sp.Interval.open(1, sp.oo), y: sp.Interval.open(2, sp.oo)}]
    assert len(got) == 2 and all(box in got for box in want), got


# ------------------------------------------------------------------ found by h-ite26's longer runs of the compositions

def test_sigmoid_of_a_select_that_sympy_cannot_compare_generates():
    """Seed 26 draw 42: sigmoid(tanhshrink(log2(x))) raised TypeError 'Invalid comparison of non-real Piecewise(…)'
    in the sigmoid-pair rule (u ≥ 0 of a select holding log(x)), and once that was skipped the NumPy kernel read the
    shared e^−|u| temporary before u was assigned (UnboundLocalError: 'where_1'), both before. Now no pair is made of
    such a u, and the shared exponential goes after the temporaries it reads. Values and gradient against mpmath."""
    from test_hypothesis_compositions import check
    check("sigmoid(tanhshrink(log2(x)))", [25.429161107270318, -2.341610866937761, 38.88180712254092, 1.0001, 0.5])


# found by h-ite26's runs (seed 27, 79 draws, float64 with the test's check and float32 against mpmath): four strict
# xfails here, fixed by h-comp27 and tested in tests/test_comp27.py (Heaviside(softplus(tanhshrink(x))), (mish(elu(x)))
# − (tan(x)), ∂ of erf(exp(exp(x)))·elu(x) at x = 53.94, float32 log2(erfcx(x)) − H(x) at x = −24.47)
