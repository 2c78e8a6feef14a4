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
    if len(symbols) != 1:
        return pw
    (s,) = symbols
    if not s.is_real:
        return pw
    covered, kept = sp.S.EmptySet, []
    try:
        for value, cond in pw.args:
            region = sp.S.Reals if cond == sp.true else cond.as_set()
            if region.is_subset(covered):
                continue  # every point of it was taken by an earlier branch
            shown = cond if cond == sp.true or isinstance(region, sp.Union) else region.as_relational(s)
            kept.append((value, shown))
            covered = covered | region
    except (NotImplementedError, TypeError, ValueError):
        return pw
    return sp.Piecewise(*kept) if kept else pw
