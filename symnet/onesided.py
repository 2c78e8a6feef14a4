"""Derivatives on a kink: one-sided derivatives, judged per variable.

relu, |u|, sign, H, max, min and every Piecewise switch formula at a boundary. There the
derivative with respect to a variable w exists exactly when the function is continuous
along w and its one-sided derivatives along w agree: ELU at 0 (1 from the right, e⁰ = 1
from the left) has one, ReLU at 0 (1 and 0) has none. Other variables may still have a
derivative: ``relu(w·x)·v + c`` at w = 0 is differentiable in v and c, not in w.

The test is exact: the kinked functions are written as Piecewise
(:func:`symnet.registry.as_piecewise`), w is moved to w₀ ± t, every condition is decided
for a small positive t (t = 10⁻⁴⁰, exactly), which picks the branch that holds on each
side, and the branch's value and derivative are taken at t = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from .functions import explicit
from .registry import as_piecewise

__all__ = ["OneSided", "one_sided", "on_kink"]
# tidy_piecewise folds a sum or product of selects into one only while their conditions have at most this many nodes:
# the fold joins one condition of each select into every combination of branches and SymPy simplifies each. The
# largest in a derivation of a registry function is 126 (focal(z, t, a, γ), 648 branches at most), focal(z, t)'s 50;
# focal(focal(z, t), t)'s conditions hold the inner focal itself: its fold of 16 branches under conditions of 1,927
# nodes took 1 CPU s for 14,618 operations, and the sum of three such that followed (810 branches, 30,215
# operations) did not finish in 122 CPU s
FOLD_LIMIT = 1_000

_TINY = sp.Rational(1, 10 ** 40)


@dataclass(frozen=True)
class OneSided:
    """The value and the derivative of a formula along one variable, from each side."""

    left_value: sp.Expr
    right_value: sp.Expr
    left: sp.Expr  # the derivative from the left (w < w₀)
    right: sp.Expr  # the derivative from the right
    decided: bool  # False: a condition could not be decided at the point (a free symbol left)

    @property
    def differentiable(self) -> bool:
        if not self.decided:
            return False
        values = [self.left_value, self.right_value, self.left, self.right]
        if any(v.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or v.is_finite is False for v in values):
            return False
        return _zero(self.left_value - self.right_value) and _zero(self.left - self.right)


def _zero(e: sp.Expr) -> bool:
    e = sp.simplify(e)
    if e == 0:
        return True
    return e.is_number and abs(sp.N(e, 30)) < sp.Float(10) ** -25


def _resolve(expr: sp.Expr, t: sp.Symbol) -> tuple[sp.Expr, bool]:
    """``expr`` with each Piecewise replaced by the branch that holds for small t > 0."""
    decided = True

    def choose(pw):
        nonlocal decided
        for value, cond in pw.args:
            verdict = cond.xreplace({t: _TINY}) if cond not in (sp.true, sp.false) else cond
            verdict = sp.simplify(verdict) if verdict not in (sp.true, sp.false) else verdict
            if verdict == sp.true:
                return value
            if verdict != sp.false:
                decided = False
                return value
        decided = False
        return sp.nan

    return expr.replace(lambda n: isinstance(n, sp.Piecewise), choose), decided


def one_sided(expr: sp.Expr, w: sp.Symbol, point: Mapping) -> OneSided:
    """The one-sided values and derivatives of ``expr`` along ``w`` at ``point``."""
    t = sp.Dummy("t", positive=True)
    form = as_piecewise(explicit(expr))
    others = {s: v for s, v in point.items() if s != w}
    sides = []
    decided = True
    for sign in (-1, 1):
        moved = form.xreplace(others).xreplace({w: point[w] + sign * t})
        branch, ok = _resolve(moved, t)
        decided = decided and ok
        value = sp.limit(branch, t, 0, "+") if branch.has(t) else branch
        slope = sign * sp.diff(branch, t)
        slope = sp.limit(slope, t, 0, "+") if slope.has(t) else slope
        sides.append((sp.simplify(value), sp.simplify(slope)))
    (lv, ls), (rv, rs) = sides
    return OneSided(lv, rv, ls, rs, decided)


def on_kink(kinks, point: Mapping, is_zero=None) -> bool:
    """Does ``point`` (which gives every input) lie where one of ``kinks`` is 0? ``is_zero``
    decides it for an expression (the engine passes one bounded by :mod:`symnet.bounds`)."""
    is_zero = is_zero or (lambda e: sp.simplify(e.xreplace(point)) == 0)
    for k in kinks:
        if k.free_symbols <= set(point) and is_zero(k):
            return True
    return False


def tidy_piecewise(expr: sp.Expr) -> sp.Expr:
    """Piecewise branches that can never be taken dropped, and each condition of one real
    variable written as its interval: {0 if x ≤ −3 ∧ (x ≥ 3 ∨ x ≤ −3); …} → {0 if x ≤ −3; …}.
    A sum or product of Piecewise (a chain rule through where()) is folded into one first, unless their conditions
    have more than :data:`FOLD_LIMIT` nodes (then each select is tidied where it is: the fold joins and simplifies
    conditions for every combination of branches, their number the product of the selects'). The branch after which every
    real value is taken becomes the 'otherwise' (the later ones, the 'otherwise' among them, can never be taken):
    ∂x of |cos(celu(x))| − hardsigmoid(x) folded to {… if x ≤ −3; … if 0 < x < 3; … if x < 3; … if x > 0; … otherwise}
    and kept {… if x > 0} last, a select with no 'otherwise' that no backend generates (session 25's audit)."""
    folded = sp.piecewise_fold(expr) if _fold_size(expr)[1] <= FOLD_LIMIT else expr
    return close_collapsed(folded.replace(lambda n: isinstance(n, sp.Piecewise), _reachable))


def _fold_size(expr: sp.Expr, memo: dict | None = None) -> tuple[int, int]:
    """An upper bound on the branches of ``sp.piecewise_fold(expr)`` (a sum, product or function of selects folds
    into the product of their branch counts, each branch's condition the conjunction of one of each select's), and
    the nodes of the selects' conditions in ``expr``'s tree (what each folded condition joins and SymPy simplifies)."""
    memo = {} if memo is None else memo
    if not isinstance(expr, sp.Basic) or not expr.args:
        return 1, 0
    if expr not in memo:
        if isinstance(expr, sp.Piecewise):
            sizes = [_fold_size(value, memo) for value, _ in expr.args]
            conditions = sum(1 + sum(1 for _ in sp.preorder_traversal(cond)) for _, cond in expr.args)
            memo[expr] = sum(s[0] for s in sizes), conditions + sum(s[1] for s in sizes)
        else:
            sizes = [_fold_size(a, memo) for a in expr.args]
            memo[expr] = math.prod(s[0] for s in sizes), sum(s[1] for s in sizes)
    return memo[expr]


def close_collapsed(e: sp.Expr, holding: frozenset = frozenset()) -> sp.Expr:
    """Each select nested in a branch whose condition c holds there and whose last condition is c (or a conjunct of
    c), that last condition made the 'otherwise': SymPy's Piecewise collapses {… ; A if c; B otherwise} inside a
    branch taken where c holds to {… ; A if c}, with no 'otherwise' (exact there: c is true wherever it is
    evaluated), and no backend generates a select without one. ∂x of log(elu(hardswish(x))) held
    {zoo if x ≤ −3; {1/x if x > 0; …} if x ≥ 3} in the branch x ≥ 3 (h-hyp28's composition search, before: "the
    NumPy backend needs a Piecewise with an 'otherwise' branch")."""
    if not isinstance(e, sp.Basic) or e.is_Atom or not e.has(sp.Piecewise):
        return e
    if isinstance(e, sp.Piecewise):
        args = []
        for value, cond in e.args:
            inner = holding | set(sp.And.make_args(cond)) if cond != sp.true else holding
            args.append((close_collapsed(value, frozenset(inner)), cond))
        last, cond = args[-1]
        if cond != sp.true and set(sp.And.make_args(cond)) <= holding:
            args[-1] = (last, sp.true)
        return sp.Piecewise(*args)
    new = [close_collapsed(a, holding) for a in e.args]
    return e.func(*new) if any(a is not b for a, b in zip(new, e.args)) else e


def _reachable(pw: sp.Piecewise) -> sp.Expr:
    symbols = set()
    for _, cond in pw.args:
        symbols |= cond.free_symbols
    if len(symbols) > 1:
        return _reachable_boxes(pw)
    if len(symbols) != 1:
        return pw
    (s,) = symbols
    if not s.is_real:
        return pw
    covered, kept = sp.S.EmptySet, []  # covered: within the points taken by the branches so far
    try:
        for value, cond in pw.args:
            inner, outer = _within(cond, s)
            if outer.is_subset(covered):
                continue  # every point of it was taken by an earlier branch
            covered = covered | inner
            if covered == sp.S.Reals:  # every real s is taken by now: this branch is the select's 'otherwise'
                kept.append((value, sp.true))
                break
            exact = inner == outer and not isinstance(outer, sp.Union)
            kept.append((value, outer.as_relational(s) if exact and cond != sp.true else cond))
    except (NotImplementedError, TypeError, ValueError):
        return pw
    return sp.Piecewise(*kept) if kept else pw


# the most terms of a condition's disjunctive normal form _boxes writes out: SymPy's to_dnf distributes ∧ over ∨, and
# the chain rule's conditions of hardsigmoid(softshrink(hardswish(x))) on its nodes (an ∧ of ∨s of ∧s …) ran past 60 s in
# it (session 25's audit)
_MOST_BOXES = 64


def _dnf_terms(cond) -> float:
    """How many terms ``cond``'s disjunctive normal form has before any is simplified (inf: a negation of a compound
    condition or another Boolean function, not counted)."""
    if isinstance(cond, sp.Or):
        return sum(_dnf_terms(a) for a in cond.args)
    if isinstance(cond, sp.And):
        return math.prod(_dnf_terms(a) for a in cond.args)
    if isinstance(cond, sp.Not):
        return 1 if isinstance(cond.args[0], sp.core.relational.Relational) else math.inf
    return 1 if isinstance(cond, (sp.core.relational.Relational, sp.logic.boolalg.BooleanAtom)) else math.inf


def _boxes(cond) -> list | None:
    """``cond`` as a union of boxes, each a dict symbol → the set of its real values (a conjunction of comparisons of
    one real variable each with a number), the empty ones dropped; None where a comparison holds two variables or
    another kind of condition, or where the disjunctive normal form would have more than ``_MOST_BOXES`` terms."""
    if cond == sp.true:
        return [{}]
    if _dnf_terms(cond) > _MOST_BOXES:
        return None
    boxes = []
    for conj in sp.Or.make_args(sp.to_dnf(cond)):
        box = {}
        for lit in sp.And.make_args(conj):
            if len(lit.free_symbols) != 1:
                return None
            (s,) = lit.free_symbols
            if not s.is_real:
                return None
            region = _region(lit, s)
            if region is None:
                return None
            box[s] = sp.Intersection(box.get(s, sp.S.Reals), region)
        if not any(r.is_empty for r in box.values()):
            boxes.append(box)
    return boxes


def _inside(small: dict, big: dict) -> bool:
    return all(small.get(s, sp.S.Reals).is_subset(region) is True for s, region in big.items())


def _reachable_boxes(pw: sp.Piecewise) -> sp.Expr:
    """:func:`_reachable` for conditions of several variables, each comparison of one: a branch whose every box lies
    within a box of an earlier branch (or of its own, larger) is dropped, the rest written as their boxes. The chain
    rule's piecewise_fold of focal(z, t, 1/4, γ)'s branches (z > 1000) ∧ (t < 1), (z < −1000) ∧ (t > 0) gave 8
    branches, some holding z > 1000 ∧ z < −1000; a sufficient test (box within box), not an exact one."""
    covered, kept = [], []
    try:
        for value, cond in pw.args:
            boxes = _boxes(cond)
            if boxes is None:
                return pw
            new = [b for b in boxes if not any(_inside(b, c) for c in covered)]
            new = [b for i, b in enumerate(new) if not any(_inside(b, c) and (not _inside(c, b) or j < i)
                                                         for j, c in enumerate(new) if j != i)]
            if not new:
                continue
            shown = cond if cond == sp.true else sp.Or(*[sp.And(*[r.as_relational(s) for s, r in sorted(
                b.items(), key=lambda item: str(item[0]))]) for b in new])
            kept.append((value, shown))
            covered += new
    except (NotImplementedError, TypeError, ValueError):
        return pw
    if kept and kept[-1][1] != sp.true and not any(b == {} for b in covered):
        return pw  # a select that takes no branch somewhere: left as it was
    return sp.Piecewise(*kept) if kept else pw


_INTERVALS = {  # x OP a as a set of x: x > a is (a, ∞)
    ">": lambda a: sp.Interval.open(a, sp.oo), ">=": lambda a: sp.Interval(a, sp.oo),
    "<": lambda a: sp.Interval.open(-sp.oo, a), "<=": lambda a: sp.Interval(-sp.oo, a),
    "==": lambda a: sp.FiniteSet(a), "!=": lambda a: sp.Union(sp.Interval.open(-sp.oo, a), sp.Interval.open(a, sp.oo)),
}


@lru_cache(maxsize=4096)
def _region(cond, s: sp.Symbol) -> sp.Set | None:
    """The set of real ``s`` where ``cond`` holds, as SymPy's ``cond.as_set()`` gives it, or None where it is not
    read here. A comparison of ``s`` with a finite real number, and And/Or/Not of such, are read off directly (the same
    Interval); SymPy's as_set solves each as an inequality and checks its periodicity (~0.2 s each: 3.6 of focal's
    4.1 s derive, where 7 conditions were solved 68 times). A comparison of an increasing function of ``s`` with a
    number is solved by its inverse (:func:`_inverted`), a polynomial one by SymPy; for anything else (sin(s) > 0)
    SymPy returns a ConditionSet, whose intersections took minutes (below): None."""
    inner, outer = _within(cond, s)
    return outer if inner == outer else None


@lru_cache(maxsize=4096)
def _within(cond, s: sp.Symbol) -> tuple[sp.Set, sp.Set]:
    """Two sets of real ``s``, ``inner`` ⊆ {s: cond} ⊆ ``outer``, the same where the condition is read exactly
    (:func:`_region`). A comparison not read is within (∅, ℝ), and And/Or/Not pass the bounds on: the chain rule
    through hardsigmoid(selu(elu(x))) folds conditions such as (x > 0 ∨ expm1(x) > 0) ∧ 1.76·expm1(expm1(x)) < 3, and
    SymPy's as_set made each a ConditionSet and intersected them, 4 minutes and more (session 25's audit)."""
    if cond == sp.true:
        return sp.S.Reals, sp.S.Reals
    if cond == sp.false:
        return sp.S.EmptySet, sp.S.EmptySet
    if isinstance(cond, sp.ITE):  # a condition on a Piecewise, as SymPy writes it
        a, b, c = cond.args
        return _within(sp.Or(sp.And(a, b), sp.And(sp.Not(a), c)), s)
    if isinstance(cond, (sp.And, sp.Or)):
        bounds = [_within(a, s) for a in cond.args]
        join = sp.Intersection if isinstance(cond, sp.And) else sp.Union
        return join(*(i for i, _ in bounds)), join(*(o for _, o in bounds))
    if isinstance(cond, sp.Not):
        inner, outer = _within(cond.args[0], s)
        return outer.complement(sp.S.Reals), inner.complement(sp.S.Reals)
    if isinstance(cond, sp.core.relational.Relational) and cond.rel_op in _INTERVALS:
        region = _inverted(cond.lhs - cond.rhs, cond.rel_op, s)
        if region is not None:
            return region, region
        if (cond.lhs - cond.rhs).is_polynomial(s):
            return cond.as_set(), cond.as_set()
    return sp.S.EmptySet, sp.S.Reals


# increasing functions of every real, each with its range (open at both ends) and inverse
_INCREASING = {
    "exp": (0, sp.oo, sp.log), "expm1": (-1, sp.oo, log1p), "sinh": (-sp.oo, sp.oo, sp.asinh),
    "asinh": (-sp.oo, sp.oo, sp.sinh), "tanh": (-1, 1, sp.atanh), "atan": (-sp.pi / 2, sp.pi / 2, sp.tan),
    "erf": (-1, 1, sp.erfinv), "sigmoid": (0, 1, lambda y: sp.log(y / (1 - y))),
    "softplus": (0, sp.oo, lambda y: sp.log(expm1(y))),
}
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


def _inverted(e: sp.Expr, op: str, s: sp.Symbol) -> sp.Set | None:
    """The set of real ``s`` where ``e op 0``, for e = a·f(g) + b with f an increasing function of every real
    (:data:`_INCREASING`), g again such or a·s + b: f(g) op c is g op f⁻¹(c) where c lies in f's range, else it holds
    everywhere or nowhere (expm1(u) ≤ −2.9 nowhere, expm1(u) > −2.9 everywhere); None where ``e`` is not so."""
    while True:
        if not e.has(s):
            return None
        b, rest = e.as_independent(s, as_Add=True)
        a, f = rest.as_independent(s, as_Add=False)
        if not (a.is_number and a.is_extended_real and b.is_number and b.is_extended_real) or a == 0:
            return None
        c = -b / a
        if a.is_negative:
            op = _FLIPPED[op]
        if f == s:
            return _INTERVALS[op](c) if c.is_finite else None
        name = type(f).__name__
        if name not in _INCREASING or len(f.args) != 1:
            return None
        low, high, inverse = _INCREASING[name]
        if (c <= low) == sp.true:  # f > low ≥ c everywhere
            return sp.S.Reals if op in (">", ">=", "!=") else sp.S.EmptySet
        if (c >= high) == sp.true:
            return sp.S.Reals if op in ("<", "<=", "!=") else sp.S.EmptySet
        if not ((c > low) == sp.true and (c < high) == sp.true):
            return None
        e = f.args[0] - inverse(c)
