"""Every printed step of every derivation is a true equation.

Independent of symnet's own checker: a ∂ symbol is replaced by a value computed here
with SymPy's diff (a local derivative: of the node's definition; a total one: of the
output written out with that node held free), node symbols by their definitions, and
every pair of forms is compared numerically with mpmath at random points. Index-form
steps are compared entry by entry after setting sizes to small numbers.
"""
from __future__ import annotations

import random

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.derivation import Partial
from symnet.functions import explicit

SMALL_SIZE, INDEX = 3, 1  # sizes set to 3, free indices to 1 (inside every range)


def _definitions(d):
    return {t: e for t, e in d.definitions if isinstance(t, sp.Symbol)}


def _expand(e, defs, hold=None):
    for _ in range(len(defs) + 1):
        new = e.xreplace({s: defs[s] for s in e.free_symbols if s in defs and s != hold})
        if new == e:
            break
        e = new
    return e


def _partial_value(p: Partial, defs):
    num, den = p.num, p.den
    if num not in defs or isinstance(den, sp.Indexed):
        return None  # index notation: checked entry by entry below, without ∂ forms
    if not p.total and den in defs[num].free_symbols:
        return sp.diff(defs[num], den)  # a local derivative along one edge
    held = _expand(num, defs, hold=den)  # the total derivative, den held free
    value = sp.diff(explicit(held), den)
    return value.xreplace({den: _expand(den, defs)}) if den in defs else value


def _prepare(e, d, defs, given):
    if isinstance(e, sp.MatrixBase):
        return e
    partials = e.atoms(Partial)
    values = {p: _partial_value(p, defs) for p in partials}
    if any(v is None for v in values.values()):
        return None
    e = e.xreplace(values)
    if given:
        e = e.xreplace(dict(given))
        if isinstance(e, sp.MatrixExpr):
            e = e.doit()
        if isinstance(e, sp.MatrixBase):
            return explicit(_expand(e, defs))
    if e.has(sp.Indexed) or e.has(sp.Sum):
        sizes = {s: SMALL_SIZE for s in e.free_symbols if isinstance(s, sp.Symbol) and s.is_integer and s.is_positive}
        idx = {s: INDEX for s in e.free_symbols if isinstance(s, sp.Symbol) and s.is_integer and s not in sizes}
        e = e.subs(idx)
        e = e.xreplace(dict(given)) if given else e  # concrete entries: y[1] → its definition
        sizes.update({s: SMALL_SIZE for s in e.free_symbols if isinstance(s, sp.Symbol)
                      and s.is_integer and s.is_positive})
        e = e.xreplace(sizes).doit()
    elif given:
        e = _expand(e, dict(given))
    return explicit(_expand(e, defs))


def _equal_at_random_points(forms, fixed=None, trials=3):
    variables = sorted({s for f in forms for s in f.free_symbols}
                       - {x.base.label for f in forms for x in f.atoms(sp.Indexed)}, key=str)
    dummies = [sp.Dummy() for _ in variables]
    fns = [sp.lambdify(dummies, f.xreplace(dict(zip(variables, dummies))), modules="mpmath") for f in forms]
    rng = random.Random(7)
    done = 0
    with mpmath.workdps(30):
        for _ in range(trials * 5):
            args = []
            for v in variables:
                if fixed and v in fixed:
                    args.append(mpmath.mpf(str(sp.N(fixed[v], 30))))
                else:
                    lo = 0.2 if (getattr(v, "is_positive", False) or getattr(v, "is_nonnegative", False)) else -1.5
                    args.append(mpmath.mpf(rng.uniform(lo, 1.5)))
            try:
                vals = [mpmath.mpmathify(f(*args)) for f in fns]
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if not all(mpmath.isfinite(v) for v in vals):
                continue
            for v in vals[1:]:
                if abs(v - vals[0]) > mpmath.mpf(10) ** -20 * max(1, abs(vals[0])):
                    return False
            done += 1
            if done >= trials:
                return True
    return done > 0


def _check_relation(lhs, rhs, relation):
    ops = {"≤": lambda a, b: a <= b + 1e-25, "<": lambda a, b: a < b, "≥": lambda a, b: a >= b - 1e-25,
           ">": lambda a, b: a > b}
    variables = sorted(lhs.free_symbols | rhs.free_symbols, key=str)
    fl, fr = (sp.lambdify(variables, e, modules="mpmath") for e in (lhs, rhs))
    rng = random.Random(3)
    for _ in range(20):
        args = [mpmath.mpf(rng.uniform(-4, 4)) for _ in variables]
        assert ops[relation](fl(*args), fr(*args))


@pytest.mark.parametrize("name", list(symnet.catalog()))
def test_every_step_is_a_true_equation(name, curriculum):
    d = curriculum[name]
    defs = _definitions(d)
    checked = 0
    for step in d.steps:
        if step.check == "definition":
            continue  # it defines its left side, or states a requirement (perceptron)
        forms = list(step.chain)
        lhs = step.lhs
        if isinstance(lhs, Partial) or (isinstance(lhs, sp.Symbol) and lhs in defs) or (
                isinstance(lhs, sp.Expr) and not isinstance(lhs, (sp.Symbol, sp.Indexed))):
            forms = [lhs] + forms
        prepared = [_prepare(f, d, defs, step.given) for f in forms]
        prepared = [p for p in prepared if p is not None]
        if step.relation != "=":
            if all(not p.has(sp.Indexed) for p in prepared) and len(prepared) == 2 and \
                    not any(str(s).startswith("|") for s in prepared[0].free_symbols):
                _check_relation(prepared[0], prepared[1], step.relation)
                checked += 1
            continue
        if any(isinstance(p, sp.MatrixBase) for p in prepared):
            mats = [sp.Matrix(p) if isinstance(p, sp.MatrixBase) else None for p in prepared]
            mats = [explicit(_expand(m.xreplace(dict(step.given)), defs)) for m in mats if m is not None]
            for entries in zip(*mats):
                assert _equal_at_random_points(list(entries)), f"{name}: {step.lhs} (matrix entry)"
            checked += 1
            continue
        if len(prepared) < 2:
            continue
        ok = _equal_at_random_points(prepared)
        if not ok and d.point:  # a step evaluated at the derivation's point
            ok = _equal_at_random_points([p.xreplace(d.point) for p in prepared])
        assert ok, f"{name}: step {step.lhs} = {' = '.join(map(str, step.chain))} is not true"
        checked += 1
    assert checked > 0


def test_a_false_step_would_be_caught():
    """The helper above can fail: a deliberately wrong form is reported."""
    x = sp.Symbol("x", real=True)
    assert not _equal_at_random_points([sp.sin(x) ** 2, 1 - sp.cos(x) ** 2 + x / 10 ** 6])
    assert _equal_at_random_points([sp.sin(x) ** 2, 1 - sp.cos(x) ** 2])
