"""h-domain34: a derivation step is checked on the real domain of the formula being derived, in both directions.

symnet.stepcheck's numeric check compares the two forms of a step at random points. Where the forms agree wherever the
formula is real and differ only off it (mpmath's complex log where x·y < 0), the step was refused:
l1(focal(celu(y, 2), y), log(x·y)) and max(l1(π/x, log x), y) ("step ∂f/∂u… is false"). Skipping every point where a
form was complex accepted false steps (log(x²) = 2·log x). Now the engine passes the formula down (``domain=``): a point
is skipped only where a node of the formula is not real, and judged strictly elsewhere. The graph check
(symnet.graphcheck), which the engine tries first, had the same hole from the other side: it skipped a point where the
step was not real, so x·log(x²) derived with 2·log x + 2 was accepted (its points are those where every node is real:
a step not real there is now false); and it could not evaluate Max, Min or ITE, so it never decided these formulas.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
import symnet.engine as engine
import symnet.graphcheck as graphcheck
from symnet.errors import DerivationError
from symnet.stepcheck import check_equal
from test_hyp32 import BOUND, F64, _sixty_digits, _worst  # noqa: F401  (its machinery, fixture too)

x, y = sp.symbols("x y", real=True)


# ------------------------------------------------------------------ stepcheck with the formula's domain

@pytest.mark.parametrize("a, b, formula", [
    (sp.log(x ** 2), 2 * sp.log(x), sp.log(x)),                        # formula real on x > 0 only
    (sp.log(x * y), sp.log(x) + sp.log(y), sp.log(x) + sp.sqrt(y)),     # x > 0, y ≥ 0
    (sp.sqrt(x ** 2), x, sp.sqrt(x)),
    (sp.log(x ** 2), 2 * sp.log(x), sp.log(x) * y),                    # the formula's other variable drawn too
    (sp.sign(1 - sp.log(x * y)), (1 - sp.log(x * y / sp.sign(x * y))) * sp.sign(1 - sp.log(x * y))
     / (1 - sp.log(x * y)), sp.Max(sp.Abs(1 - sp.log(x * y)), y)),       # the engine's form where x·y > 0
])
def test_a_step_true_on_the_formulas_real_domain_is_accepted(a, b, formula):
    assert check_equal(a, b, simplify_ops=0, domain=formula) == "numeric"


@pytest.mark.parametrize("a, b, formula", [
    (sp.log(x ** 2), 2 * sp.log(x), sp.log(x ** 2)),                   # real at x < 0, where 2·log x is not
    (sp.log(x ** 2), 2 * sp.log(x), x),                                # a formula real everywhere
    (sp.log(x * y), sp.log(x) + sp.log(y), sp.log(x * y)),             # real at x, y < 0
    (sp.log(x * y), sp.log(x) + sp.log(y), [sp.log(x * y), x + y]),    # several outputs
    (sp.sqrt(x ** 2), x, sp.sqrt(x ** 2)),                             # both real, different at x < 0
    (sp.log(x * y), sp.log(x) + sp.log(y) + 1, sp.log(x) + sp.sqrt(y)),  # false on the domain too
    (sp.log(x ** 2), 2 * sp.log(x), sp.sqrt(x) + sp.sqrt(-x)),         # empty domain: the strict check off it
])
def test_a_step_false_on_the_formulas_real_domain_is_refused(a, b, formula):
    with pytest.raises(DerivationError, match="is false"):
        check_equal(a, b, simplify_ops=0, domain=formula)


# ------------------------------------------------------------------ the engine: a derivation with 2·log x put in


@pytest.fixture
def log_expanded(monkeypatch):
    """Every tidied step with its logs expanded by force (log(x²) → 2·log x, log(x·y) → log x + log y): true only where
    the arguments are positive."""
    tidy = engine._tidy
    monkeypatch.setattr(engine, "_tidy", lambda e: sp.expand_log(tidy(e), force=True))


@pytest.fixture(params=["graph", "written-out"])
def checker(request, monkeypatch):
    """The graph check (tried first), or the written-out check alone (the graph check undecided)."""
    if request.param == "written-out":
        monkeypatch.setattr(graphcheck.GraphCheck, "derivative_equals", lambda *_: False)
    return request.param


@pytest.mark.parametrize("formula", ["x*log(x**2)", "log(x**2)*x + y", "x*log(x*y)", "y*log(x*y) + x",
                                     "log(x**2)**2"])
def test_a_derivation_refuses_2_log_x_where_the_formula_is_real_at_x_below_0(formula, log_expanded, checker):
    # x·log(x²): ∂x is log(x²) + 2; with the step written 2·log x + 2 (complex at x < 0) it was accepted by the graph
    # check (the point skipped); the written-out check refuses it
    with pytest.raises(DerivationError, match="is false"):
        symnet.derive(formula)


@pytest.mark.parametrize("formula, truth", [
    ("x*log(x**2) + sqrt(x)", lambda x: mpmath.log(x ** 2) + 2 + 1 / (2 * mpmath.sqrt(x))),
    ("x*log(x**2) + log(x)", lambda x: mpmath.log(x ** 2) + 2 + 1 / x),
    ("x*log(x**2) + sqrt(x) + y", lambda x: mpmath.log(x ** 2) + 2 + 1 / (2 * mpmath.sqrt(x))),
])
def test_the_same_step_is_accepted_where_the_formula_is_real_only_at_x_above_0(formula, truth, log_expanded, checker):
    d = symnet.derive(formula, wrt="x")
    (w, g), = d.gradients.items()
    for v in ("0.3", "1.7", "25"):
        assert abs(sp.N(g.subs(w, sp.Rational(v)), 40) - truth(mpmath.mpf(v))) < 1e-30


def test_a_derivation_of_log_x_squared_is_real_at_x_below_0():
    # no step of log(x²)'s derivation, nor x·log(x²)'s, is 2·log x (each checked at x < 0, where the formula is real)
    for formula, want in (("log(x**2)", lambda v: 2 / v), ("x*log(x**2)", lambda v: mpmath.log(v ** 2) + 2)):
        d = symnet.derive(formula)
        (w, g), = d.gradients.items()
        for v in ("-0.3", "-1.7", "-25"):
            got = sp.N(g.subs(w, sp.Rational(v)), 40)
            assert got.is_real and abs(got - want(mpmath.mpf(v))) < 1e-30, (formula, v, got)


# ------------------------------------------------------------------ the derivations refused before, and neighbours

def _focal_l1(x, y):
    """|focal(celu(y, 2), y) − log(x·y)|, focal(z, t) = (3/4 − t/2)·(t·σ(−z) + (1 − t)·σ(z))²·(t·sp(−z) + (1 − t)·sp(z))
    (α = 1/4, γ = 2), written apart from symnet."""
    z = y if y > 0 else 2 * mpmath.expm1(y / 2)
    sig = lambda v: 1 / (1 + mpmath.exp(-v))  # noqa: E731
    softplus = lambda v: mpmath.log1p(mpmath.exp(v))  # noqa: E731
    focal = (mpmath.mpf(3) / 4 - y / 2) * (y * sig(-z) + (1 - y) * sig(z)) ** 2 * (y * softplus(-z)
                                                                                 + (1 - y) * softplus(z))
    return abs(focal - mpmath.log(x * y))


def test_l1_of_focal_and_a_log_against_mpmath():
    # refused before ("step ∂f/∂u25 is false"); now its float64 kernel against mpmath at 60 digits, ∂ by mpmath's
    # numerical differentiation of the formula written apart, at 200 points of its domain (focal's t = y in [0, 1],
    # log(x·y) real: x > 0)
    rng = np.random.default_rng(3434)
    xs = 10 ** rng.uniform(-2, 2, 200)
    ys = rng.uniform(0.01, 1, 200)

    def truth(x, y):
        return [_focal_l1(x, y), mpmath.diff(_focal_l1, (x, y), (1, 0)), mpmath.diff(_focal_l1, (x, y), (0, 1))]

    worst = _worst("l1(focal(celu(y, 2), y), log((x)*(y)))", F64, xs, ys, truth)
    assert max(w[0] for w in worst) <= BOUND[F64], worst


@pytest.mark.parametrize("formula", [
    "l1(log((x)*(y)), pi/(y))",
    "max(abs(1 - log((x)*(y))), y)",
    "min(l1(log((x)*(y)), x), y)",
    "abs(log(x) - y) + sqrt(x)",
])
def test_neighbouring_forms_are_derived(formula):
    symnet.derive(formula)
