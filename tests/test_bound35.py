"""Session 35, h-bound35: ``symnet.derive``'s resource use is bounded for every input.

``symnet.derive("focal(focal(z, t), t)")`` (20 characters) did not finish in 122 CPU s from Python
(tests/test_break35.py): SymPy's piecewise_fold in onesided.tidy_piecewise folded sums and products of the nested
focal's selects into one select over every combination of their branches (16 × 1,021 operations took 1 CPU s for
14,618; the sum of three such that followed, 810 branches × 30,215 operations, never finished). tidy_piecewise now
folds only while the selects' conditions have at most onesided.FOLD_LIMIT = 1,000 nodes (a registry function's
largest: 189, so none's derivation changes; the nested focal's held the inner focal, 1,927), and ``symnet.derive`` runs under a default budget of 60 CPU s, the command
line's, refused past it with one line naming the formula and the ``time_limit=`` that raises it.
"""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp

import symnet
from symnet import LimitError
from symnet.bounds import time_limit
from symnet.onesided import FOLD_LIMIT, _fold_size, tidy_piecewise

MP_DPS = 50  # mpmath's digits for each test here (conftest._mpmath_digits)


def _focal(z, t, alpha=mpmath.mpf("0.25")):
    """The focal loss as torchvision writes it (γ = 2), in mpmath: α_t·(1 − p_t)²·CE."""
    p = 1 / (1 + mpmath.exp(-z))
    ce = -(t * mpmath.log(p) + (1 - t) * mpmath.log(1 - p))
    p_t = p * t + (1 - p) * (1 - t)
    return (alpha * t + (1 - alpha) * (1 - t)) * (1 - p_t) ** 2 * ce


@pytest.fixture(scope="module")
def nested_focal():
    with time_limit(10, "deriving focal(focal(z, t), t) took over 10 CPU s", cpu=True):
        return symnet.derive("focal(focal(z, t), t)", progress=False)


def _written_out(derivation, output):
    """``output`` with the derivation's definitions (u1 = 1 − t, …) put in until only the inputs are left."""
    definitions = dict(derivation.definitions)
    while output.free_symbols & set(definitions):
        output = output.xreplace(definitions)
    return output


@pytest.mark.parametrize("z, t", [("-3", "1/5"), ("1/2", "7/10"), ("2", "1/5"), ("-1/4", "9/10")])
def test_the_nested_focals_gradient_matches_mpmath(nested_focal, z, t):
    """The selects left unfolded are still the right gradient: its exact form at 40 digits against mpmath's
    derivative of the focal loss written out, at 50 digits. (Derivation.gradient_at refuses ∂t of focal(z, t)
    itself at z = −3, t = 1/5 as "undefined", before this change as after: not taken here.)"""
    point = {sp.Symbol("z", real=True): sp.Rational(z), sp.Symbol("t", real=True): sp.Rational(t)}
    z0, t0 = mpmath.mpf(sp.Rational(z)), mpmath.mpf(sp.Rational(t))
    truths = {"z": mpmath.diff(lambda v: _focal(_focal(v, t0), t0), z0),
              "t": mpmath.diff(lambda v: _focal(_focal(z0, v), v), t0)}
    for name, truth in truths.items():
        gradient = _written_out(nested_focal, nested_focal.gradients[sp.Symbol(name, real=True)])
        value = mpmath.mpf(str(gradient.subs(point).evalf(40)))
        assert abs(value - truth) <= mpmath.mpf("1e-30") * max(1, abs(truth)), (name, z, t, value, truth)


@pytest.mark.parametrize("formula", ["hardtanh(hardtanh(x))", "hardtanh(hardtanh(hardtanh(hardtanh(x))))",
                                     "hardshrink(hardshrink(hardshrink(x)))", "clamp(clamp(x, -1, 1), -2, 2)",
                                     "clamp(clamp(clamp(x, a, b), a, b), a, b)",
                                     "hardshrink(hardtanh(hardshrink(hardtanh(x))))"])
def test_nested_selects_derive_at_once(formula):
    """A hang guard (not a timing): nested one-variable selects fold small, each well under a CPU second."""
    with time_limit(5, f"deriving {formula} took over 5 CPU s", cpu=True):
        symnet.derive(formula, progress=False)


def test_a_select_of_small_conditions_still_folds():
    """Selects of one-variable conditions (focal(z, t)'s: z > 1000, t < 1) fold as before, so no registry function's
    derivation, printout or kernel changes (their largest conditions: 189 nodes); conditions holding a nested focal
    (1,927 nodes in focal(focal(z, t), t)'s first fold that grew 14-fold) are left unfolded."""
    z, t = sp.symbols("z t", real=True)
    selects = [sp.Piecewise((z + k, z > 1000), (t, z < -1000), (z * t, True)) for k in range(4)]
    assert _fold_size(selects[0] * selects[1])[0] == 9
    assert _fold_size(sp.Add(*selects, evaluate=False))[0] == 81
    assert 189 < FOLD_LIMIT < 1_927
    folded = tidy_piecewise(selects[0] * selects[1])
    assert isinstance(folded, sp.Piecewise)
    big = sp.Piecewise((z, sp.Gt(sum(sp.sin(z + k * t) for k in range(FOLD_LIMIT // 4)), 0)), (t, True))
    assert tidy_piecewise(big * selects[0]).is_Mul  # not folded: left a product of two selects


def test_derive_refuses_past_its_budget_in_one_line():
    with pytest.raises(LimitError) as refused:
        symnet.derive("focal(focal(focal(z, t), t), t)", progress=False, time_limit=0.3)
    message = str(refused.value)
    assert "\n" not in message
    assert message == ("deriving focal(focal(focal(z, t), t), t) took longer than 0.3 CPU s (raise it with "
                       "symnet.derive(..., time_limit=0.6), or time_limit=None for no limit)")


@pytest.mark.parametrize("bad", [-1, float("nan"), "60", True])
def test_a_bad_budget_is_refused(bad):
    with pytest.raises(LimitError, match="time_limit|time limit"):
        symnet.derive("x*y", progress=False, time_limit=bad)


@pytest.mark.parametrize("none", [None, 0])
def test_no_budget_derives(none):
    d = symnet.derive("x*y", progress=False, time_limit=none)
    assert d.gradient_at({"x": 2, "y": 3})[sp.Symbol("x", real=True)] == 3
