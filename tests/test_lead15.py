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


def test_a_rule_registered_late_is_tried_by_default():
    # stabilise's and Stabiliser's default was RULES as bound when they were defined: a rule registered after
    # them was silently never tried (h-smax15 lost a first run to it)
    from symnet.codegen import rewrite

    x = sp.Symbol("x", real=True)
    marker = sp.Function("late_marker")
    late = rewrite.Rule("late-test-rule", "a test rule", apply=lambda e: e.replace(sp.cos, marker),
                        fired=lambda old, new: new != old)
    pipeline = rewrite.pipeline  # where _register appends and stabilise reads (session 43's split)
    saved = (pipeline.RULES, dict(pipeline._BY_NAME), pipeline._LOCAL)
    try:
        rewrite._register(late)
        stable, fired = rewrite.stabilise(sp.cos(x))
        assert stable == marker(x) and [r.name for r in fired] == ["late-test-rule"]
    finally:
        pipeline.RULES, pipeline._LOCAL = saved[0], saved[2]
        pipeline._BY_NAME.clear()
        pipeline._BY_NAME.update(saved[1])
