"""Breakage round 3, formula-facing features: ``symnet.verify``, ``symnet derive --stable``,
the stability rewrites of ``symnet.compile``, the derivation disk cache. Each test is a fault
found by trying to break them (see the docstrings), checked against an independent reference."""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

import symnet


def _compiled(formula):
    return symnet.compile(symnet.derive(symnet.parse(formula)), "numpy")


def _at(kernel, *values):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [np.asarray(o, dtype=float) for o in kernel(*[np.array(v, dtype=np.float64) for v in values])]


@pytest.mark.parametrize("formula, limit", [
    ("x*log(x)/sin(x)", -math.inf),  # x/sin x → 1, log x → −∞
    ("x*log(x)*exp(1/x)", -math.inf),  # from the right
    ("x**2*log(x)/(x**3+x**2)", -math.inf),  # log(x)/(1 + x)
])
def test_zero_limit_rule_does_not_return_zero_where_other_factors_blow_up(formula, limit):
    """Fault: the zero-limit rule (b^e·log b → 0 at b = 0) fired on a product whatever its other
    factors, so ``x*log(x)/sin(x)`` compiled to 0 at x = 0 where the limit is −∞ (0 is a silent
    wrong answer; the written form's NaN, as torch gives, is not). Now the rule fires only where
    the other factors are finite at b = 0."""
    f, _ = _at(_compiled(formula), [0.0])
    assert not f[0] == 0.0, f"{formula} at 0 gave 0; its limit is {limit}"
    # and the compiled value just right of 0 agrees with mpmath (the written form is fine there)
    x = 1e-30
    with mpmath.workdps(50):
        true = float(mpmath.mpf(x) * mpmath.log(x) / mpmath.sin(x)) if "sin" in formula else None
    if true is not None:
        got, _ = _at(_compiled(formula), [x])
        assert got[0] == pytest.approx(true, rel=1e-12)


@pytest.mark.parametrize("formula, value", [
    ("x*log(x)", 0.0),
    ("x*log(x)*(x+3)", 0.0),
    ("x*log(x)*log(x+1)", 0.0),
    ("x**2*log(x)*exp(y)", 0.0),
])
def test_zero_limit_rule_still_fires_where_the_limit_is_zero(formula, value):
    k = _compiled(formula)
    args = [[0.0]] * len(k.inputs)
    assert _at(k, *args)[0][0] == value


def test_compile_with_a_name_works():
    """Fault: ``symnet.compile(d, name="mykernel")`` raised NameError (``builtins`` was not
    imported in the compiler after a refactor) instead of compiling or refusing the name."""
    d = symnet.derive(symnet.parse("x*x"))
    k = symnet.compile(d, "numpy", name="mykernel")
    assert _at(k, [3.0])[0][0] == 9.0
    with pytest.raises(symnet.SymnetError):
        symnet.compile(d, "numpy", name="print")
