"""Helpers for the builders of the named derivations (re-exported by :mod:`symnet.curriculum`,
which loads this module, and with it SymPy, only when a builder needs it)."""
from __future__ import annotations

import dataclasses
from typing import Iterable

import sympy as sp

from ..derivation import Derivation, Section, Step
from ..stepcheck import check_equal

def claim(lhs, forms, reference=None, why: str = "", relation: str = "=",
          where: dict | None = None) -> Step:
    """A step stating ``lhs = forms…``, each form checked equal to ``reference``.

    ``where`` substitutes definitions (``a → σ(z)``) on both sides before checking; with
    no ``reference`` the first form is the reference. For a ``relation`` other than "="
    the caller proves the relation and the forms are checked equal to each other.
    """
    forms = tuple(sp.sympify(f) for f in (forms if isinstance(forms, (tuple, list)) else (forms,)))
    reference = forms[0] if reference is None else sp.sympify(reference)
    sub = (lambda e: _subs_all(e, where)) if where else (lambda e: e)
    how = "exact"
    for f in forms:
        if isinstance(f, sp.MatrixBase):
            for a, b in zip(sub(f), sub(reference)):
                how = _stronger(how, check_equal(a, b, f"claim {lhs}"))
            continue
        how = _stronger(how, check_equal(sub(f), sub(reference), f"claim {lhs}"))
    return Step(sp.sympify(lhs), forms, why, how, relation, tuple((where or {}).items()))


def _subs_all(e, where):
    for _ in range(10):  # definitions may refer to each other
        new = e.xreplace(where) if not isinstance(e, sp.MatrixBase) else e.xreplace(where)
        if new == e:
            return e
        e = new
    return e


def _stronger(a: str, b: str) -> str:
    rank = {"exact": 0, "symbolic": 1, "numeric": 2}
    return a if rank[a] >= rank[b] else b


def forward_section(definitions, text: str = "") -> Section:
    """The forward pass as definition steps, so that every name a later step uses is
    defined before it (index-form derivations state no forward pass of their own)."""
    return Section("Forward pass", tuple(Step(t, (e,), "definition") for t, e in definitions), text)


def numbers(lhs, unevaluated, value, why: str = "") -> Step:
    """``lhs = 3 + 5 = 8`` with exact arithmetic checked."""
    check_equal(sp.sympify(unevaluated).doit(), value, f"arithmetic for {lhs}")
    return Step(sp.sympify(lhs), (unevaluated, sp.sympify(value)), why, "exact")


def signed(value) -> str:
    """A number for a table or a note as the formulas print it: −7.863 and −24/5, with the
    minus sign −, not the hyphen of str() (-7.863)."""
    return str(value).replace("-", "−")


def with_sections(d: Derivation, before: Iterable[Section] = (), after: Iterable[Section] = (),
                  **changes) -> Derivation:
    return dataclasses.replace(d, sections=tuple(before) + d.sections + tuple(after), **changes)


def compose(title: str, sections: Iterable[Section], *, inputs=(), wrt=(), outputs=(),
            definitions=(), gradients=None, **extra) -> Derivation:
    return Derivation(name="", title=title, summary="", inputs=tuple(inputs), wrt=tuple(wrt),
                      outputs=tuple(outputs), definitions=tuple(definitions),
                      gradients=dict(gradients or {}), sections=tuple(sections), **extra)


def claim_entries(lhs, forms, reference, ranges: dict, sizes: dict, why: str = "",
                  where: dict | None = None) -> Step:
    """An index-form claim, checked entry by entry at small sizes.

    ``reference`` is an expression with the same free indices; ``ranges`` maps each free
    index to (lo, hi) in terms of the size symbols, which ``sizes`` sets to numbers.
    """
    from ..indexed import _index_points, _instantiate

    forms = tuple(sp.sympify(f) for f in (forms if isinstance(forms, (tuple, list)) else (forms,)))
    how = "exact"
    def entry(e, point):
        if where:  # a name in the free indices (∂C/∂hᵗ_j) before they take the point's values, and one at a point
            e = _subs_all(e.xreplace(sizes), where)
        e = e.xreplace(sizes).subs(point)
        return _instantiate(_subs_all(e, where) if where else e, sizes, point, ranges)

    for point in _index_points(list(ranges), ranges, sizes, limit=30):
        ref = entry(reference, point)
        for f in forms:
            how = _stronger(how, check_equal(entry(f, point), ref, f"claim {lhs} at {point}"))
    return Step(sp.sympify(lhs), forms, why, "symbolic" if how == "exact" else how,
                given=tuple((where or {}).items()))
