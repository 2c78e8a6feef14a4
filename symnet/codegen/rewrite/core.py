"""The Rule type, the results a rule returns, shared helpers and the exp-rational recogniser.

Its blocks, in the order of the module rewrite.py that session 43 split into this package: PRELUDE, helpers,
exp-rational-recogniser.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1

from ...functions import sigmoid


@dataclass(frozen=True)
class Rule:
    """A named rewrite. ``local(node)`` (node-by-node rules) returns the node's new form, or
    None where it does not apply; ``apply``/``fired`` (whole-expression rules, such as the
    row-wise ones of :mod:`symnet.codegen.families.rowwise`) rewrite a whole expression."""

    name: str
    why: str
    apply: Callable[[sp.Expr], sp.Expr] | None = None
    fired: Callable[[sp.Expr, sp.Expr], bool] | None = None
    local: Callable[[sp.Expr], object] | None = field(default=None, compare=False)
    # a whole-expression rule applied before the node-by-node pass (log-near-one: the log of a sum as written, before
    # another rule rewrites the sum into a form whose value near 1 is rounded several times)
    before: bool = False


def _rewrote(old, new) -> bool:
    """The ``fired`` of most whole-expression rules: their ``apply`` changed the expression."""
    return new != old


class _Final:
    """A rule's result that no rule may rewrite again (its own safe form contains the pattern)."""

    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class _Fired:
    """A result that names the rules it stands for (the exp-rational recogniser names its target)."""

    __slots__ = ("expr", "names")

    def __init__(self, expr, names):
        self.expr, self.names = expr, names


def rewrite_nodes(node_rule: Callable, expr, *heads):
    """``expr`` with every node that ``node_rule`` takes (returns an expression for, not None) replaced by what it
    returns: SymPy's ``replace``, bottom up, each node's arguments rewritten before the node is looked at, and
    ``node_rule`` called once a node (the predicate's result kept for the replacement). ``heads``: classes one of which
    ``expr`` must hold for a node to be taken (the walk is skipped otherwise)."""
    if not isinstance(expr, sp.Expr) or (heads and not expr.has(*heads)):
        return expr
    taken = {}

    def takes(node) -> bool:
        if node not in taken:
            taken[node] = node_rule(node)
        return taken[node] is not None

    return expr.replace(takes, lambda node: taken[node])


def _introduces(function):
    return lambda old, new: new.count(function) > old.count(function)


# ------------------------------------------------------------------ helpers

def _is_exp(e) -> bool:
    return isinstance(e, sp.exp)


def _positive_number(e) -> bool:
    return e.is_Number and e.is_positive


def _exp_terms(s: sp.Expr):
    """A sum of c·e^a (c > 0 a number) and positive numbers as [(c, a)], or None."""
    if not s.is_Add:
        return None
    terms = []
    for t in s.args:
        c, rest = t.as_coeff_Mul()
        if _positive_number(t):
            terms.append((t, sp.S.Zero))
        elif _is_exp(rest) and c.is_positive:
            terms.append((c, rest.args[0]))
        else:
            return None
    return terms


def _positive(e) -> bool:
    """Positive for every real input, by its form (not by SymPy's assumptions)."""
    if _positive_number(e) or isinstance(e, (sp.exp, sigmoid, sp.cosh)):
        return True
    if e.is_Pow:
        return _positive(e.base) and e.exp.is_real
    if e.is_Mul:
        return all(_positive(a) for a in e.args)
    if e.is_Add:
        return all(_positive(a) for a in e.args)
    return False


def _shifted(e) -> bool:
    return e.has(sp.Max)


# ------------------------------------------------------------------ exp-rational recogniser
# A node that is a rational function of e^a, σ(a), tanh(a), sinh(a), cosh(a), expm1(a) for
# arguments a = k·c (k small integers, c one common expression) is a rational function R(t)
# of t = e^c. R is cancelled (a small univariate fraction: cheap) and factored; where its
# factors are only t, t + 1 and t − 1 it is K·σ(c)^i·σ(−c)^j·tanh(c/2)^q (t/(1 + t) = σ(c),
# 1/(1 + t) = σ(−c), (t − 1)/(t + 1) = tanh(c/2)), which has no subtraction and no overflow:
# 2σ(2x) − 1 = tanh(x), 1 − tanh²(x) = 4σ(2x)σ(−2x), e^x/(1 + e^x) = σ(x), σ'' = −σσ(−)tanh.

_LEAVES = (sp.exp, sigmoid, sp.tanh, sp.sinh, sp.cosh, expm1)
_MAX_LEAVES, _MAX_POWER = 8, 8


def _collect(node, leaves) -> bool:
    if node.is_Rational:
        return True
    if isinstance(node, _LEAVES):
        leaves.add(node)
        return len(leaves) <= _MAX_LEAVES
    if node.is_Add or node.is_Mul:
        return all(_collect(a, leaves) for a in node.args)
    if node.is_Pow and node.exp.is_Integer and abs(node.exp) <= _MAX_POWER:
        return _collect(node.base, leaves)
    return False


def _split(arg):
    """arg = q·P with q rational and P a primitive expression, sign-normalised."""
    q, p = arg.as_content_primitive()
    if p.is_Mul:
        c, rest = p.as_coeff_Mul()
        q, p = q * c, rest
    if p.could_extract_minus_sign():
        q, p = -q, -p
    return q, p


def _leaf_argument(f):
    """The one primitive argument p (leaf arguments q·p) of the leaves of f, or None (none, several)."""
    leaves: set = set()
    _collect(f, leaves)
    ps = {_split(2 * leaf.args[0] if isinstance(leaf, sp.tanh) else leaf.args[0])[1] for leaf in leaves}
    return ps.pop() if len(ps) == 1 else None


def _exp_rational(node):
    if not (node.is_Add or node.is_Mul or node.is_Pow):
        return None
    if node.is_Mul:  # y·e^{xy}·σ(−xy): the factors in e^c recognised apart from the others (y)
        inner = [f for f in node.args if _collect(f, set())]
        groups: dict = {}  # e^x·σ(−x)·σ(2s)σ(−2s) (a hand-written mish′): each argument's factors apart
        for f in inner:
            if not f.is_Rational:
                groups.setdefault(_leaf_argument(f), []).append(f)
        if len(groups) > 1 and None not in groups:
            names: list = []
            out, changed = [f for f in node.args if f not in inner or f.is_Rational], False
            for group in groups.values():
                found = _exp_rational(sp.Mul(*group)) if len(group) >= 2 else None
                if isinstance(found, _Fired):
                    names += [n for n in found.names if n not in names]
                    found = found.expr
                changed |= found is not None
                out.append(group[0] if found is None else found)
                out += group[1:] if found is None else []
            if changed:
                return _Fired(sp.Mul(*out), names or ["sigmoid"])
            return None
        if 2 <= len(inner) < len(node.args):
            found = _exp_rational(sp.Mul(*inner))
            if found is None:
                return None
            outer = sp.Mul(*[f for f in node.args if f not in inner])
            if isinstance(found, _Fired):
                return _Fired(outer * found.expr, found.names)
            return outer * found
    if node.is_Add:  # 1/2 + tanh(u)/2 + x·(…) (GELU-tanh′ written out): the terms in e^c apart from the others
        inner = [a for a in node.args if _collect(a, set())]
        keys = {_leaf_argument(a) for a in inner if not a.is_Rational}
        if 2 <= len(inner) < len(node.args) and len(keys) == 1 and None not in keys:
            found = _exp_rational(sp.Add(*inner))
            if found is None:
                return None
            rest = [a for a in node.args if a not in inner]
            if isinstance(found, _Fired):
                return _Fired(sp.Add(found.expr, *rest), found.names)
            return sp.Add(found, *rest)
    leaves: set = set()
    if not _collect(node, leaves) or not leaves:
        return None
    parts = []
    for leaf in leaves:
        a = leaf.args[0]
        if a.is_number:
            return None
        q, p = _split(2 * a if isinstance(leaf, sp.tanh) else a)
        parts.append((leaf, q, p))
    ps = {p for _, _, p in parts}
    if len(ps) != 1:
        return None
    (p,) = ps
    g = sp.S.Zero
    for _, q, _ in parts:
        g = sp.gcd(g, q)
    if g == 0:
        return None
    t = sp.Dummy("t", positive=True)
    mapping = {}
    for leaf, q, _ in parts:
        k = q / g
        if not k.is_Integer or abs(k) > _MAX_POWER:
            return None
        tk = t ** int(k)
        mapping[leaf] = {sp.exp: tk, sigmoid: tk / (1 + tk), sp.tanh: (tk - 1) / (tk + 1),
                         sp.sinh: (tk - 1 / tk) / 2, sp.cosh: (tk + 1 / tk) / 2, expm1: tk - 1}[type(leaf)]
    r = sp.cancel(node.xreplace(mapping))
    c = g * p
    if not r.has(t):
        return r  # a constant: σ(x) + σ(−x) = 1
    collected = _exp_collected(node, mapping, r, t, c) if node.is_Add else None
    if collected is not None:
        return _Fired(collected, ["exp-collect"])
    num, den = (sp.Poly(f, t) for f in sp.fraction(r))
    step = 0
    for poly in (num, den):
        for (e,) in poly.monoms():
            step = sp.igcd(step, e)
    if step > 1:  # a function of t^step: t^step → t, c → step·c
        num, den = (sp.Poly(sum(k * t ** (m // step) for (m,), k in poly.terms()), t) for poly in (num, den))
        c = step * c
    powers = {t: 0, t + 1: 0, t - 1: 0}
    scale = sp.S.One
    for poly, sign in ((num, 1), (den, -1)):
        k, factors = poly.factor_list()
        scale *= k ** sign
        for f, mult in factors:
            f = f.as_expr()
            if f not in powers:
                return None
            powers[f] += sign * mult
    i, q = powers[t], powers[t - 1]
    j = -(powers[t + 1] + q) - i
    if i < 0 or j < 0:
        return None
    new = scale * sigmoid(c) ** i * sigmoid(-c) ** j * sp.tanh(c / 2) ** q
    if new == node:
        return None
    cosh_like = node.has(sp.tanh, sp.cosh) or any(  # e^x + e^−x: a cosh written out
        a.is_Add and sum(1 for x in a.args if _is_exp(x.as_coeff_Mul()[1])) >= 2 for a in sp.preorder_traversal(node))
    target = "tanh" if q else ("sech²" if i and j and cosh_like else "sigmoid")
    return _Fired(new, _rational_names(node, target))


def _laurent_terms(e, t):
    """{m: k} for ``e`` = Σ k·t^m (m whole), or None where ``e`` is no Laurent polynomial in t."""
    out: dict = {}
    for term in sp.Add.make_args(sp.expand(e)):
        k, m = term.as_coeff_exponent(t)
        if k.has(t) or not m.is_Integer:
            return None
        out[m] = out.get(m, 0) + k
    return out


def _exp_collected(node, mapping, r, t, c):
    """The exp-collect rule: Σ k_m·e^(m·c) for a sum ``node`` of exponential functions of one argument c (e^, sinh,
    cosh, expm1 as t = e^c: ``mapping``, their sum ``r``) in which the coefficient of some e^(m·c) cancels to 0
    (sinh x + cosh x + 1 = e^x + 1: the e^−x halves cancel, sinh x + cosh x is 0 for x < −37 in float64 where
    e^x is not); None where nothing cancels, or a term is no Laurent polynomial in t (σ, tanh)."""
    total = _laurent_terms(r, t)
    if total is None:
        return None
    written: set = set()
    for term in node.args:
        terms = _laurent_terms(term.xreplace(mapping), t)
        if terms is None:
            return None
        written |= set(terms)
    kept = {m: k for m, k in total.items() if k != 0}
    if not written - set(kept):
        return None
    return sp.Add(*[k * sp.exp(m * c) if m else k for m, k in kept.items()])


def _rational_names(node, target):
    """The rules a recognised form stands for, as the user would name them."""
    names = []
    divides = any(p.is_Pow and p.exp.is_negative and p.base.has(sigmoid, sp.tanh)
                  for p in sp.preorder_traversal(node))
    if target == "sech²":
        names.append("sech²")
    elif target == "tanh":
        names.append("tanh")
    elif node.has(sp.exp) or node.has(sp.cosh):
        names.append("sigmoid")
    if any(a.is_Add and any(x.is_Number for x in a.args) and a.has(sigmoid) for a in sp.preorder_traversal(node)):
        names.append("sigmoid-complement")
    if divides:
        names.append("cancel")
    return names or [target if target != "sech²" else "sigmoid"]
