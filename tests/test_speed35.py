"""The collect rule's cofactor skips SymPy's cancel where the answer keeps a call anyway (session 35, h-speed35).

``_cofactor(p, X)`` is p/X cancelled; the collect rule uses it only where it holds no function. Where X depends on
a call of symnet's own functions that p does not hold, p/X depends on it however cancelled, so the cancel (most of
the focal loss's rewriting with α and γ inputs) is skipped. These tests check the skip against the cancel itself:
the answer holds a function exactly where ``sp.cancel(p / X)`` does, and the cases where a cancel is still needed
(a call p holds in another form, a sum whose terms in the call cancel) still take it.
"""
import sympy as sp

from symnet.codegen.rewrite import _cofactor, _holds_call_missing_from
from symnet.functions import sigmoid
from symnet.special import softplus

z, t, a, g, y = sp.symbols("z t a g y", real=True)

CASES = [  # (p, X): the focal loss's pairs in small, and the forms the cancel is still needed for
    (2 * t * sigmoid(-z), sigmoid(-z) - sigmoid(z)),  # X's σ(z) is not in p: skipped
    (g * (a * t + (1 - a) * (1 - t)) * softplus(-z), softplus(-z) - softplus(z)),  # softplus(z) missing: skipped
    ((1 - t) * sigmoid(z) * a, -t * sigmoid(-z) + (1 - t) * sigmoid(z)),  # σ(−z) missing: skipped
    (2 * t * (sigmoid(z) - 1), 1 - sigmoid(z)),  # σ(z) held in another form: cancelled, −2t
    (3 * (softplus(z) + 1) ** 2 * t, 2 * softplus(z) + 2),  # cancelled, (3/2)·t·(softplus(z) + 1)
    (t * sigmoid(z) ** 2, sigmoid(z)),  # in p's factors as a power: cancelled, t·σ(z)
    (t * a, sigmoid(z) * a + sigmoid(z) * g - sigmoid(z) * (a + g) + 1),  # not a function of σ(z): cancelled, t·a
]


def test_cofactor_holds_a_function_exactly_where_cancel_does():
    for p, X in CASES:
        got = _cofactor(p, X)
        truth = sp.cancel(p / X)
        assert got.has(sp.Function) == truth.has(sp.Function), (p, X, got, truth)
        if not truth.has(sp.Function):
            assert sp.expand(got - truth) == 0, (p, X, got, truth)
        assert sp.simplify(got - p / X) == 0, (p, X, got)


def test_skip_only_where_a_call_of_x_is_missing_from_p():
    skipped = [_holds_call_missing_from(X, p) for p, X in CASES]
    assert skipped == [True, True, True, False, False, False, False]


def test_no_skip_where_two_factors_of_x_hold_the_call():
    """h-mend35 (the session 35 review): X = (y·σ(z) + y)/(σ(z) + 1) holds σ(z) in two factors, which cancel
    between them: p/X with p = x·y is x, no function; the guard said it held σ(z) "however cancelled"."""
    x = sp.Symbol("x", real=True)
    s = sigmoid(z)
    for p, X, truth in [(x * y, (y * s + y) / (s + 1), x), (x * y, (y * s + y) * (s + 1) ** -2, x * (s + 1)),
                        (x, ((s ** 2 - 1) / (s - 1) - s), x)]:
        assert not _holds_call_missing_from(X, p) or truth.has(s), (p, X)
        got = _cofactor(p, X)
        assert sp.simplify(got - truth) == 0, (p, X, got)
        assert got.has(sp.Function) == truth.has(sp.Function), (p, X, got)
