"""Local derivative rules, one table, each rule stated where it is defined.

``differentiate(expr, var)`` applies these rules recursively (sum, product, power,
chain rule) and returns the derivative with the names of the rules it used, so that a
printed step can say *why*. SymPy's ``diff`` is kept as the independent reference the
engine checks every local derivative against.
"""
from __future__ import annotations

import sympy as sp

from .registry import Rule, kink_arguments, rule_of, unary_rules

__all__ = ["Rule", "UNARY_RULES", "differentiate", "kinks_of"]

# The rules of the functions in the registry (symnet.registry), by SymPy class: a snapshot
# taken at import; differentiate() asks the registry itself, so later entries count too.
UNARY_RULES: dict[type, Rule] = unary_rules()


def differentiate(expr: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, tuple[str, ...]]:
    """d(expr)/d(var) by the rules above, with the ordered names of the rules used."""
    used: list[str] = []

    def note(rule: str) -> None:
        if rule not in used:
            used.append(rule)

    def d(e: sp.Expr) -> sp.Expr:
        if e == var:
            return sp.S.One
        if not e.has(var):
            return sp.S.Zero
        if e.is_Add:
            note("sum rule")
            return sp.Add(*[d(a) for a in e.args])
        if e.is_Mul:
            coeff, rest = e.as_coeff_Mul()
            if coeff != 1:
                note("constant factor")
                return coeff * d(rest)
            factors = e.args
            varying = [k for k, f in enumerate(factors) if f.has(var)]
            if len(varying) == 1:
                k = varying[0]
                constant = sp.Mul(*(f for j, f in enumerate(factors) if j != k))
                note("constant factor")
                return constant * d(factors[k])
            note("product rule")
            return sp.Add(*[
                sp.Mul(*(f for j, f in enumerate(factors) if j != k)) * d(factors[k])
                for k in varying
            ])
        if e.is_Pow:
            base, exponent = e.args
            if not exponent.has(var):
                note("power rule" if exponent != -1 else "reciprocal rule")
                return exponent * base ** (exponent - 1) * inner(base)
            if not base.has(var):
                note("exponential rule")
                return e * sp.log(base) * inner(exponent)
            note("general power rule")
            return e * d(exponent * sp.log(base))
        if isinstance(e, sp.Piecewise):  # each branch by the rules; a boundary is a kink
            if not any(value.has(var) for value, _ in e.args):  # huber's |u| in `if |u| < 1` only
                note("piecewise rule: the variable is only in the conditions, so 0 between the boundaries")
            else:
                note("piecewise rule: each branch differentiated")
            return sp.Piecewise(*[(d(value), cond) for value, cond in e.args])
        if isinstance(e, (sp.Max, sp.Min)) and not any(a.is_number for a in e.args):
            note(TIE_RULE)  # max(a, b, c) as max(a, max(b, c)), as torch.maximum nested
            first, rest = e.args[0], e.func(*e.args[1:])
            return tie_split(e, first, rest, inner(first), inner(rest))
        if isinstance(e, (sp.Max, sp.Min)) and sum(not a.is_number for a in e.args) >= 2:
            # max(x, y, 0), SymPy's flattening of max(x, max(y, 0)): max(max(x, y), 0), the clamp's H(0) = 0 (relu′(0)
            # in torch) outside, the tie rule inside (SymPy's H(x − max(y, 0)) gave ∂x = ∂y = 0 at x = y > 0)
            note(TIE_RULE)
            rest = e.func(*(a for a in e.args if not a.is_number))
            bound = e.func(*(a for a in e.args if a.is_number))
            return sp.Heaviside(rest - bound if isinstance(e, sp.Max) else bound - rest) * inner(rest)
        rule = rule_of(type(e))
        if rule is not None and (len(e.args) == 1 or isinstance(e, sp.Heaviside)):
            note(rule.name)
            return rule.derivative(e.args[0]) * inner(e.args[0])
        note("SymPy diff")
        return sp.diff(e, var)

    def inner(u: sp.Expr) -> sp.Expr:
        if u != var and u.has(var):
            note("chain rule")
        return d(u)

    return d(expr), tuple(used)


TIE_RULE = ("max/min rule (a piecewise rule): the larger (smaller) argument's derivative, at a tie the mean "
            "of both (as torch.maximum)")


def tie_split(e: sp.Expr, a: sp.Expr, b: sp.Expr, da: sp.Expr, db: sp.Expr) -> sp.Expr:
    """The derivative of max(a, b) (min(a, b)) whose arguments have derivatives ``da``, ``db``: da where
    a > b (a < b), db where b > a (b < a), and (da + db)/2 at a tie, torch.maximum's and torch.minimum's
    rule. Equal branch derivatives give the true value at a tie: max(x, softplus(x))′ is 1 where
    softplus(x) rounds to x (x ≥ 746 in float64), max(x, x + y)′ is 1 at y = 0 (was 0, from H(0) = 0).
    ``e`` is max(a, b) or min(a, b) (or one with more arguments, b the max/min of the rest). A max/min
    with a constant argument (a clamp, max(x, 0)) keeps H(0) = 0, relu′(0) in torch."""
    if da == db:
        return da
    # a − b > 0 rather than a > b: the same test in floating point (a − b rounds to 0 only where a = b),
    # and SymPy simplifies the difference once the graph's nodes are substituted (max(x, x + y): y > 0,
    # exact where x + y rounds to x)
    first, second = (a - b > 0, b - a > 0) if isinstance(e, sp.Max) else (b - a > 0, a - b > 0)
    return sp.Piecewise((da, first), (db, second), ((da + db) / 2, True))


def kinks_of(expr: sp.Expr) -> tuple[sp.Expr, ...]:
    """Expressions u that are 0 where a function of ``expr`` may not be differentiable: the
    arguments of relu, |·|, sign and H, the differences of max/min's arguments, and the
    boundaries of a Piecewise's conditions (from the registry's kinks)."""
    found = []
    for node in sp.preorder_traversal(expr):
        for u in kink_arguments(node):
            if u not in found:
                found.append(u)
    return tuple(found)
