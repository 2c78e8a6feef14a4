"""Session 43 (h-review43): a review of the softmax-weights rule (h-temp43, tests/test_temp43.py), placed first in
RULES. Where it must not fire (near-miss shapes), where it fires on shapes test_temp43 does not name (exact at 50
digits: mpmath of the rule's form against mpmath of the derivative as derived, 20 points each), ∂T of a*x/T logits
against SymPy's derivative as written at 60/120 digits (test_user40's ``_worst``), and the points found where it gives
NaN where a limit exists (strict xfails, with the values before the rule at c9775006 and torch autograd float64's)."""
import random
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen.rewrite import SOFTMAX_WEIGHTS
from test_user40 import _worst
from test_user41 import _torch_grads

S3 = "(exp(a/T) + exp(b/T) + exp(c/T))"
CE = "-log(exp(a/T)/%s)" % S3
NAMES = ("T", "a", "b", "c")


def _fired(formula):
    """{output index: the rule's form} for each derivative of ``formula`` the rule changes."""
    d = symnet.derive(formula)
    out = {}
    for k, g in enumerate(d.jacobian):
        new = SOFTMAX_WEIGHTS.apply(g)
        if new != g:
            out[k] = (g, new)
    return out


@pytest.mark.parametrize("formula", [
    "-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c)))",  # one exponent without the common factor
    "-log(exp(a/T)/(exp(a/T) + exp(b/T) + 2*exp(c/T)))",  # a coefficient on one exponential
    "-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/U)))",  # two temperatures
    "-log(exp(a/T**2)/(exp(a/T**2) + exp(b/T**2) + exp(c/T**2)))",  # ∂T of order g^(3/2): not Nᵢ·g^q
    "exp(a/T)/%s*(log(exp(a/T)/%s) - log(exp(x/T)/(exp(x/T) + exp(y/T) + exp(z/T))))" % (S3, S3),  # KL term
    "-(exp(a/T)*log(exp(a/T)/{0}) + exp(b/T)*log(exp(b/T)/{0}) + exp(c/T)*log(exp(c/T)/{0}))/{0}".format(S3),
    "(exp(a/T)/%s)**2" % S3,
    "-T*log(exp(a/T)/%s)" % S3,
    "log(1 + log%s)*y" % S3,
])
def test_near_misses_left_alone(formula):
    assert _fired(formula) == {}


@pytest.mark.parametrize("formula, outputs", [
    ("-log(exp(a*b/T)/(exp(a*b/T) + exp(c/T) + exp(d/T)))", {1}),  # a product a·b/T: g = 1/T, r = a·b
    ("-log(exp(-a*B)/(exp(-a*B) + exp(-b*B) + exp(-c*B)))", {1}),  # negative β
    ("-(1 - e)*log(exp(a/T)/{0}) - e/3*(log(exp(a/T)/{0}) + log(exp(b/T)/{0}) + log(exp(c/T)/{0}))".format(S3),
     {1, 2, 3, 4}),  # label smoothing: ∂T and the logits' (kᵢ of order 1)
    ("a/T - log%s" % S3, {1}),  # log-softmax output
    ("-log(exp(a*x/T)/(exp(a*x/T) + exp(b*x/T) + exp(c*x/T)))", {1, 5}),  # g = x (r = a/T): ∂T and ∂x
    ("-log(exp(2*a/T)/(exp(2*a/T) + exp(b/T) + exp(c/T)))", {1}),
    ("-log(exp(a/sqrt(T))/(exp(a/sqrt(T)) + exp(b/sqrt(T)) + exp(c/sqrt(T))))", {1}),
    ("-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T) + exp(d/T)))", {1}),
])
def test_fires_exactly_on_other_shapes(formula, outputs):
    """Where it fires, its form is the derivative as derived, at 50 digits (20 points in [0.3, 2] each input)."""
    fired = _fired(formula)
    assert {k + 1 for k in fired} == outputs, sorted(fired)
    rng = random.Random(len(formula))
    for old, new in fired.values():
        syms = sorted(old.free_symbols, key=lambda s: s.name)
        fo, fn = sp.lambdify(syms, old, "mpmath"), sp.lambdify(syms, new, "mpmath")
        with mpmath.workdps(50):
            for _ in range(20):
                point = [mpmath.mpf(rng.uniform(0.3, 2)) for _ in syms]
                want, got = fo(*point), fn(*point)
                assert abs(got - want) <= mpmath.mpf(10) ** -40 * (1 + abs(want)), (formula, point)


# a·x/T logits (g = x, r = a/T: the differences a/T − b/T are of rounded quotients, but the double-word block computes
# them): 61 points, T log-uniform in [1e−300, 1e3], logits ±[1e−3, 1e3], x in [0.5, 2], and T = 1e−30 at test_user41's
# logits. Before the rule (c9775006): ∂T and ∂x inf ULP (∂T at T = 1.09e−95, a = −153.6); after ≤ 1.18 ULP (∂T),
# ≤ 0.92 (∂x), the others ≤ 0.50 before and after
def test_shared_factor_inside_the_logits():
    f = "-log(exp(a*x/T)/(exp(a*x/T) + exp(b*x/T) + exp(c*x/T)))"
    rng = np.random.default_rng(5)
    n = 60
    cols = [10 ** rng.uniform(-300, 3, n)] + [rng.choice([-1, 1], n) * 10 ** rng.uniform(-3, 3, n) for _ in range(3)] \
        + [rng.uniform(0.5, 2, n)]
    cols = [np.concatenate([[x], c]) for x, c in zip((1e-30, -1.5, 0.3, 1.0, 1.0), cols)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = _worst(f, ("T", "a", "b", "c", "x"), cols, np.float64)
    assert all(w <= 4 for w, _ in worst), worst


def _dT(points):
    cols = [np.array(c, dtype=np.float64) for c in zip(*points)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = symnet.compile(symnet.derive(CE), progress=False)(**dict(zip(NAMES, cols)))[1]
        theirs = _torch_grads(CE, list(NAMES), cols)[1]
    return got, theirs


# measured (NumPy float64, ∂T of the cross-entropy): the rule's term kᵢ·pᵢ = ((a − sᵢ)/T)·pᵢ is inf·0 = NaN where
# (a − sᵢ)/T overflows and pᵢ = 1/(1 + e^((a − sᵢ)/T) + …) = 1/inf = 0; the true term is below the subnormals
# (pᵢ ≤ e^−((a − sᵢ)/T)), ∂T is ±0 at these points. Before the rule (c9775006): −0.0 at both; torch NaN at both.
# was a strict xfail (session 43): ∂T NaN (inf·0 in the rule's ((a − c)/T)·p_c) at T = −1e−310, a = b = 0, c = 1 and
# at T = 1, a = 1e308, b = −1e308, c = 0, true ±0; −0.0 before the rule (c9775006), torch NaN. Fixed in session 44
# (h-temp44, tests/test_temp44.py): the term 0 where its exponent (a − c)/T is +inf (the rule's _tw_term)
def test_dT_where_a_difference_over_T_overflows():
    got, theirs = _dT([(-1e-310, 0.0, 0.0, 1.0), (1.0, 1e308, -1e308, 0.0)])
    assert np.isnan(theirs).all()  # torch
    assert (got == 0).all(), got


# measured: a logit of −inf (a class masked out) or a target of +inf; the limit is the softmax without it (its
# weight 0, its term 0). ∂T NaN before the rule and after, torch NaN; f, ∂a, ∂b, ∂c are their limits before and after.
# was a strict xfail (session 43): ∂T NaN where a logit is −inf (T = 1, a = 1, b = −inf, c = 0.3: true
# 0.2322685594822837; a = 0, b = c = −inf: true 0) or the target +inf (a = inf, b = c = 0: limit 0): the rule's
# ((a − b)/T)·p_b was inf·0; NaN before the rule (c9775006) too, torch NaN. Fixed in session 44 (h-temp44): _tw_term
def test_dT_with_an_infinite_logit():
    got, theirs = _dT([(1.0, 1.0, -np.inf, 0.3), (1.0, 0.0, -np.inf, -np.inf), (1.0, np.inf, 0.0, 0.0)])
    assert np.isnan(theirs).all()
    assert abs(got[0] - 0.2322685594822837) <= 4 * np.spacing(0.2322685594822837) and (got[1:] == 0).all(), got


# ---------------------------------------------------------------- fix: the rule's form is quadratic in the terms

def _ce(n):
    return "-log(exp(s0/T)/(%s))" % " + ".join("exp(s%d/T)" % i for i in range(n))


def test_rule_takes_at_most_eight_terms():
    """Its pᵢ hold n(n − 1) exponentials: 8 logits it takes (56), 9 it leaves as before the rule."""
    assert 0 in _fired(_ce(8)) and _fired(_ce(9)) == {}


# before (5f2ade83): symnet.compile of the 16-logit cross-entropy stopped at the default 60 CPU s (TimeLimitError, its
# 240 exponentials in the rounded-argument rule); 36.8 CPU s at c9775006 (before the rule); after: as at c9775006
def test_sixteen_logits_compile_within_the_default_limit():
    k = symnet.compile(symnet.derive(_ce(16)), progress=False)
    assert len(k.outputs) == 18
