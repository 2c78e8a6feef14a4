"""Checking that two forms of a step are equal: symbolically, else numerically.

SymPy's simplification can be inconclusive (it may fail to prove a true identity), so
a difference that does not simplify to zero is evaluated at random points with mpmath
at 30 significant digits. Disagreement there means the step is false and the engine
refuses to record it.
"""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .errors import DerivationError
from .functions import explicit
from .graphcheck import Unevaluable, evaluate

__all__ = ["check_equal", "sample_point"]

_DIGITS = 30
# SymPy's simplify can take minutes on a few hundred operations (nested exponentials):
# expand up to this size, simplify only small differences, else decide numerically
_EXPAND_LIMIT = 400
_SIMPLIFY_LIMIT = 60
# ... and only where its Piecewise conditions hold at most this many distinct comparisons, of polynomials: SymPy's
# Piecewise simplify minimises the conditions as Boolean functions of the comparisons (simplify_logic, exponential in
# their number) and compares each pair of comparisons with equals(), which simplifies their difference; ∂ of
# hardsigmoid(selu(elu(x))) (conditions on x, expm1(x), expm1(expm1(x)): 10–14 comparisons) ran past 10 minutes in it,
# and a difference of 30 operations in elu(sign(softshrink(x))) (5 comparisons, on sign(x ∓ 1/2)) took 45 s, one in
# celu(hardswish(relu6(x))) (6, on Max(0, x)) 13 s
_SIMPLIFY_RELATIONS = 6


def sample_point(symbols, rng: random.Random) -> dict:
    point = {}
    for s in sorted(symbols, key=str):
        if s.is_integer:
            point[s] = sp.Integer(rng.randint(1, 4))
            continue
        v = rng.uniform(0.2, 1.8)
        if not s.is_positive and not s.is_nonnegative and rng.random() < 0.5:
            v = -v
        point[s] = sp.Float(v, _DIGITS)
    return point


_MPMATH_EXTRAS = {
    "Heaviside": lambda x, *_: mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf("nan")),
    "sign": mpmath.sign,
    "Max": max,
    "Min": min,
    "DiracDelta": lambda *_: mpmath.mpf(0),  # off a kink (points on one are judged apart)
}


def _evaluator(expr: sp.Expr, variables: list):
    """A fast mpmath function of the variables (Indexed entries become plain arguments).

    The arguments are plain symbols named apart from every symbol of ``expr`` (_a0, _a1 …), not Dummies:
    given one Dummy argument, ``sp.lambdify`` renames every argument, each with a walk of the whole
    expression for a unique name and an xreplace of it (O(arguments × size)): rnn-bptt's written-out
    network took 25.8 s of CPU to derive, 11.8 s with these (the whole curriculum 36.5 -> 19.1 s)."""
    taken = {s.name for s in expr.atoms(sp.Symbol)}
    names, k = [], 0
    for _ in variables:
        while f"_a{k}" in taken:
            k += 1
        names.append(f"_a{k}")
        k += 1
    args = [sp.Symbol(n) for n in names]
    with sp.evaluate(False):  # a renaming: Max/Min's constructor compared every pair of arguments again, O(n²)
        body = expr.xreplace(dict(zip(variables, args)))
    return sp.lambdify(args, body, modules=[_MPMATH_EXTRAS, "mpmath"])


def _real_domain(formulas: list, variables: list):
    """A test of whether a point (``variables``' values, in order) lies on the real domain of ``formulas`` (the formula
    being derived, written out): every node of it real and finite there, a Piecewise's branches only where taken
    (graphcheck's evaluation). None where there is no such test (no formula)."""
    if not formulas:
        return None

    def inside(args) -> bool:
        values, memo = dict(zip(variables, args)), {}
        try:
            for f in formulas:
                evaluate(f, values, memo)
        except Unevaluable:
            return False
        return True

    return inside


def _judged(va, vb, tolerance, strict: bool) -> bool | None:
    """Whether two values agree to ``tolerance``; None (not judged) where neither is real, unless ``strict`` (a point on
    the formula's real domain, where a step must hold whatever its forms' values)."""
    if not strict and min(abs(mpmath.im(va)), abs(mpmath.im(vb))) > tolerance:
        return None
    return abs(va - vb) <= tolerance


def _numeric_equal(a: sp.Expr, b: sp.Expr, trials: int = 4, domain=None) -> bool | None:
    """True/False at random points; None if no point could be evaluated to a number.

    ``domain`` is the formula being derived: a point off its real domain (a node of it not real there: a log of a
    negative number) is not judged, as a step need hold only where the formula is real; on it the forms are judged
    strictly, real or not. The two sides can write the same real function differently off it: ∂ of |c − log(x·y)| as
    sign(c − log(x·y)) beside (c − log(x·y/sign(x·y)))·sign(…)/(c − log(x·y)), equal wherever x·y > 0, not at
    x·y < 0 (mpmath's complex log); l1(focal(celu(y, 2), y), log(x·y)) and max(l1(π/x, log x), y) were refused there
    ("step ∂f/∂u… is false"; h-search34). log(x²) = 2·log(x) stays false where the formula is log(x²), real at x < 0
    (h-search34 skipped every point where either form was complex, and accepted it; session 34's review).

    Without a formula, or where no point of its domain is drawn, a point where both forms are not real is judged only
    if no other point is found, and one where one form is real and the other not is judged as anywhere."""
    formulas = [] if domain is None else [explicit(sp.sympify(f)) for f in
                                          (domain if isinstance(domain, (list, tuple)) else [domain])]

    def variables_of(*exprs):  # an Indexed entry W[0, 1] is a variable; its label W and integer indices are not
        symbols = set().union(*(e.free_symbols for e in exprs))
        labels = {x.base.label for e in exprs for x in e.atoms(sp.Indexed)}
        return symbols - labels

    if any(isinstance(s, sp.Symbol) and s.is_integer for s in variables_of(a, b, *formulas)):
        if any(isinstance(s, sp.Symbol) and s.is_integer for s in variables_of(a, b)):
            return None  # a free index: not a number anywhere
        formulas = []  # a formula with a free index: no domain test
    # the formula's variables too (a step in x alone, of x·log(x²) + y): its domain is tested at the same points
    variables = sorted(variables_of(a, b, *formulas), key=str)
    try:
        fa, fb = _evaluator(a, variables), _evaluator(b, variables)
    except Exception:  # a function mpmath does not know: SymPy's slower evaluation
        fa = fb = None
    inside = _real_domain(formulas, variables)

    def values():
        """(va, vb, scale, strict) at random points of the formula's real domain; if none is drawn, off it."""
        rng, outside, on = random.Random(20261126), [], 0
        for _ in range(trials * 4):
            point = sample_point(variables, rng)
            args = [mpmath.mpf(str(point[v])) for v in variables]
            try:
                if fa is not None:
                    va, vb = mpmath.mpmathify(fa(*args)), mpmath.mpmathify(fb(*args))
                else:
                    va = mpmath.mpmathify(complex(sp.N(a.subs(point), _DIGITS)))
                    vb = mpmath.mpmathify(complex(sp.N(b.subs(point), _DIGITS)))
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                continue
            if not (mpmath.isfinite(va) and mpmath.isfinite(vb)):
                continue
            scale = max(mpmath.mpf(1), abs(va), abs(vb))
            if inside is not None and not inside(args):
                outside.append((va, vb, scale, False))
                continue
            on += 1
            yield va, vb, scale, inside is not None
        if not on:
            yield from outside

    evaluated = 0
    off_domain = []  # whether the forms agreed at each point where neither is real (not judged there)
    with mpmath.workdps(_DIGITS):
        tolerance = mpmath.mpf(10) ** (5 - _DIGITS)
        for va, vb, scale, strict in values():
            verdict = _judged(va, vb, tolerance * scale, strict)
            if verdict is None:
                off_domain.append(abs(va - vb) <= tolerance * scale)
                continue
            if not verdict:
                return False
            evaluated += 1
            if evaluated >= trials:
                return True
    if evaluated == 0 and off_domain:  # no point where a form is real: the complex values judge
        return all(off_domain)
    return None if evaluated == 0 else True


def _conditions(e: sp.Expr) -> set:
    """The distinct comparisons in the conditions of ``e``'s Piecewise."""
    return {r for p in e.atoms(sp.Piecewise) for _, c in p.args for r in c.atoms(sp.core.relational.Relational)}


def _simplifies_to_zero(e: sp.Expr) -> bool:
    """Whether SymPy's simplify proves ``e`` zero; False where it cannot (the numeric check decides then).
    A difference holding both a Heaviside step and a Piecewise (a kink's derivative as the rule table writes it
    against SymPy's diff of Max/Min) is not tried: simplify never proved one zero (23 such differences in deriving
    every registry formula and the catalog, none proved) and spent 0.3–6 s of CPU on each in its relational
    simplification (clamp(x, t, v): 28 s of its 29 s derivation). Nor is one whose conditions hold more than
    ``_SIMPLIFY_RELATIONS`` comparisons, or a comparison not of polynomials (sign(x − 1/2) > 0, Max(0, x) < 3)."""
    if e.has(sp.Heaviside) and e.has(sp.Piecewise):
        return False
    conditions = _conditions(e)
    if len(conditions) > _SIMPLIFY_RELATIONS or any(not (r.lhs - r.rhs).is_polynomial() for r in conditions):
        return False
    try:
        return sp.simplify(e) == 0
    except Exception:  # SymPy's simplifier can fail on sums; the numeric check decides then
        return False


def check_equal(a: sp.Expr, b: sp.Expr, what: str = "step", simplify_ops: int = _SIMPLIFY_LIMIT,
                domain=None) -> str:
    """Return how ``a == b`` was established ('exact', 'symbolic' or 'numeric'). SymPy's
    ``simplify`` is tried on a difference of at most ``simplify_ops`` operations (it can run for
    minutes on a few dozen with tanh of a polynomial); beyond, the forms are compared at random
    points at 50 digits.

    ``domain`` is the formula being derived (an expression or several, in the forms' variables): numerically, the
    forms are compared only where it is real (see :func:`_numeric_equal`).

    Raises :class:`DerivationError` naming ``what`` if the forms differ.
    """
    a, b = sp.sympify(a), sp.sympify(b)
    if a == b:
        return "exact"
    ea, eb = explicit(a), explicit(b)
    size = sp.count_ops(ea) + sp.count_ops(eb)
    if size <= _EXPAND_LIMIT:
        diff = sp.expand(ea - eb)
        if diff == 0 or (sp.count_ops(diff) <= simplify_ops and _simplifies_to_zero(diff)):
            return "symbolic"
    # large forms (written-out networks) are compared numerically only
    verdict = _numeric_equal(ea, eb, domain=domain)
    if verdict is True:
        return "numeric"
    if verdict is None:
        raise DerivationError(f"could not evaluate {what} to check it: {_short(a)} = {_short(b)}")
    raise DerivationError(f"{what} is false: {_short(a)} ≠ {_short(b)}")


def _short(e, limit: int = 240) -> str:
    s = str(e)
    return s if len(s) <= limit else s[:limit] + f"… ({len(s)} characters)"
