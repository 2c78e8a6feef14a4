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

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import sympy as sp

from .functions import explicit
from .registry import as_piecewise

__all__ = ["OneSided", "one_sided", "on_kink"]

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
    A sum or product of Piecewise (a chain rule through where()) is folded into one first."""
    return sp.piecewise_fold(expr).replace(lambda n: isinstance(n, sp.Piecewise), _reachable)


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
    covered, kept = sp.S.EmptySet, []
    try:
        for value, cond in pw.args:
            region = _region(cond, s)
            if region.is_subset(covered):
                continue  # every point of it was taken by an earlier branch
            shown = cond if cond == sp.true or isinstance(region, sp.Union) else region.as_relational(s)
            kept.append((value, shown))
            covered = covered | region
    except (NotImplementedError, TypeError, ValueError):
        return pw
    return sp.Piecewise(*kept) if kept else pw


def _boxes(cond) -> list | None:
    """``cond`` as a union of boxes, each a dict symbol → the set of its real values (a conjunction of comparisons of
    one real variable each with a number), the empty ones dropped; None where a comparison holds two variables or
    another kind of condition."""
    if cond == sp.true:
        return [{}]
    boxes = []
    for conj in sp.Or.make_args(sp.to_dnf(cond)):
        box = {}
        for lit in sp.And.make_args(conj):
            if len(lit.free_symbols) != 1:
                return None
            (s,) = lit.free_symbols
            if not s.is_real:
                return None
            box[s] = sp.Intersection(box.get(s, sp.S.Reals), _region(lit, s))
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
def _region(cond, s: sp.Symbol) -> sp.Set:
    """The set of real ``s`` where ``cond`` holds, as SymPy's ``cond.as_set()`` gives it. A comparison of ``s`` with a
    finite real number, and And/Or/Not of such, are read off directly (the same Interval); SymPy's as_set solves each
    as an inequality and checks its periodicity (~0.2 s each: 3.6 of focal's 4.1 s derive, where 7 conditions were
    solved 68 times); anything else is SymPy's."""
    if cond == sp.true:
        return sp.S.Reals
    if cond == sp.false:
        return sp.S.EmptySet
    if isinstance(cond, sp.And):
        return sp.Intersection(*(_region(a, s) for a in cond.args))
    if isinstance(cond, sp.Or):
        return sp.Union(*(_region(a, s) for a in cond.args))
    if isinstance(cond, sp.Not):
        return _region(cond.args[0], s).complement(sp.S.Reals)
    if isinstance(cond, sp.core.relational.Relational) and cond.rel_op in _INTERVALS:
        rel = cond if cond.lhs == s else cond.reversed if cond.rhs == s else None
        if rel is not None and rel.rhs.is_number and rel.rhs.is_extended_real and rel.rhs.is_finite:
            return _INTERVALS[rel.rel_op](rel.rhs)
    return cond.as_set()
