"""Faults the lead found merging session 15's branches, each a test that failed before its fix."""
import mpmath
import sympy as sp

from symnet.codegen.rewrite import Grouped


def test_a_grouped_sum_opening_with_a_minus_is_one_term_in_sympys_code_printers():
    # ((x − t) + c)/(x + 1): lambdify printed the grouped x − t as its bare text "-t + x", which the enclosing
    # sum read as its sign: -(t + x) + c, 2.0 off at t = 0.9, x = 0.77 (the shifted-argument rule's 50-digit
    # check in test_stability_rules failed after merging h-elem15)
    t, x = sp.symbols("t x", real=True)
    e = sp.Add(Grouped(x - t), sp.Rational(1, 10**8), evaluate=False) / (x + 1)
    with mpmath.workdps(50):
        want = (mpmath.mpf("0.77") - mpmath.mpf("0.9") + mpmath.mpf("1e-8")) / (1 + mpmath.mpf("0.77"))
        got = sp.lambdify((t, x), e, modules=["mpmath"])(mpmath.mpf("0.9"), mpmath.mpf("0.77"))
        assert abs(got - want) < mpmath.mpf("1e-45")
    for module in ("math", "numpy"):
        assert abs(sp.lambdify((t, x), e, modules=[module])(0.9, 0.77) - float(want)) < 1e-15
