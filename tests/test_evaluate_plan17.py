"""mp_value's plan (symnet/verify/evaluate.py, _Plan: each expression's walk laid out once, h-ctA17) computes
what the recursive walk it replaced computes, bit for bit, with the same digits-lost record and the same errors:
at 15, 50 and 300 digits, at zeros, tiny and huge values, ±inf and NaN, through Piecewise branches (read only
where taken), an ITE, a Grouped (unevaluated) sum, subtrees repeated and registry functions. The values
themselves are checked against independent references elsewhere (test_verify_reference, test_elem11, …)."""
import random

import mpmath
import pytest
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from symnet.functions import relu, sigmoid
from symnet.parsing import parse_expression
from symnet.verify import evaluate

x, y = sp.symbols("x y", real=True)
EXPRESSIONS = [
    sp.log(1 + sp.exp(x)) * sp.tanh(x) + sp.log(sigmoid(x)) + sp.exp(x) - 1,
    relu(x) * x + sp.sin(x) * sp.cos(x) + sp.sqrt(1 + x ** 2) - 1,
    sp.Piecewise((sp.log(x), x > 0), (sp.exp(x) * y, x < -1), (x ** 2 + sp.Rational(1, 3), True))
    + sp.log(x + 2) * sp.Piecewise((sp.log(x), x > 0), (0, True)),
    1 - sp.tanh(x) ** 2 + sp.Float(0.1) * x + sp.pi * y,
    sp.Max(x, y) - sp.Abs(x - y) + sp.Min(x, 2),
    sp.Piecewise((x, sp.ITE(x > y, x > 0, y > 0)), (y, True)) * 2 + sp.erf(x) / sp.sqrt(x),
    log1p(x) - expm1(y) + sigmoid(x * y) ** sp.Rational(3, 2),
    (x - 1) ** -2 + sp.exp(sp.exp(x)),
    sp.UnevaluatedExpr(x + 1) * sp.sign(x) + sp.Heaviside(x),
    parse_expression("gelu(x) + mish(x) * softplus(y) - x * y"),  # ndtr: a registry entry's mpmath reference
    # a subtree in a branch not taken, read again in another: its atoms must be there (the first plan read
    # an unset slot: the infinite-limit rule lost x·tanh(softplus(x))′ at −inf, test_stability_rules)
    sp.Piecewise((sp.exp(2 * x) * y, x > 1), (0, True)) + sp.Piecewise((sp.exp(2 * x) * y + 1, x < 0), (2, True)),
]
POINTS = [0.0, 1.0, -1.0, 1e-30, -1e-30, 88.7, -745.0, 1e300, float("inf"), float("-inf"), float("nan"), 0.5, -2.5]


def _outcome(compute):
    track = evaluate._Track()
    try:
        return "value", repr(compute(track)), track.lost
    except Exception as error:  # noqa: BLE001 - the same error either way is part of the claim
        return "error", type(error).__name__, str(error)


@pytest.mark.parametrize("expr", EXPRESSIONS, ids=range(len(EXPRESSIONS)))
def test_the_plan_computes_what_the_walk_computes(expr):
    rng = random.Random(17)
    points = POINTS + [rng.uniform(-50, 50) for _ in range(4)]
    for dps in (15, 50, 300):
        for v in points:
            with mpmath.workdps(dps):
                env = {x: mpmath.mpf(v), y: mpmath.mpf(0.75)}
                walked = _outcome(lambda track: evaluate._walk(expr, env, track, {})[0])
                planned = _outcome(lambda track: evaluate.mp_value(expr, env, track))
            assert planned == walked, (expr, dps, v)
