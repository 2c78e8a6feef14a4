"""Session 30, a new user from the README alone (a teacher printing the lecture, an engineer bringing a
small model with hazardous formulas): what they met, each pinned at the value where it went wrong."""
from __future__ import annotations

import sympy as sp

import symnet
from symnet.codegen.ir import _overflows_at, describe, stability_section

x = sp.Symbol("x", real=True)


def test_stable_does_not_call_a_point_outside_the_domain_an_overflow():
    # `symnet derive "x*log(x)" --wrt x --stable` said "f still overflows for large inputs … (not finite in
    # float64 at every input = -1000)", while its own hazard table (and symnet verify: f 1.11 ULP float64)
    # found no hazard in x ∈ [4.9e-324, inf]: x·log x at −1000 is −1000·(6.9 + πi), not a real number, so the
    # NaN there is no overflow. Before: _overflows_at returned -1000.0.
    xlogx = x * sp.log(x)
    assert _overflows_at(sp.Piecewise((0, sp.Eq(x, 0)), (xlogx, True)), xlogx, [x]) is None
    assert _overflows_at(sp.sqrt(x), sp.sqrt(x), [x]) is None
    section = stability_section(describe(symnet.derive("x*log(x)")))
    assert "still overflow" not in section.text, section.text
    assert all("still overflows" not in s.why for s in section.steps)


def test_a_real_overflow_is_still_named():
    # the check keeps naming a real input where the form is not finite and the exact value is
    assert _overflows_at(sp.exp(x) / (1 + sp.exp(x)), sp.exp(x) / (1 + sp.exp(x)), [x]) == 1000.0
    f = sp.sqrt(x) * sp.exp(x) / (1 + sp.exp(x))  # real only for x ≥ 0: its overflow at +1000 is named
    assert _overflows_at(f, f, [x]) == 1000.0
