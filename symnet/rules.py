"""Local derivative rules, one table, each rule stated where it is defined.

``differentiate(expr, var)`` applies these rules recursively (sum, product, power,
chain rule) and returns the derivative with the names of the rules it used, so that a
printed step can say *why*. SymPy's ``diff`` is kept as the independent reference the
engine checks every local derivative against.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .functions import relu, sigmoid

__all__ = ["Rule", "UNARY_RULES", "differentiate", "kinks_of"]


@dataclass(frozen=True)
class Rule:
    name: str
    formula: str  # the rule in readable math, shown in the printout
    derivative: Callable[[sp.Expr], sp.Expr]  # f'(u) as a function of the argument u
    kink: bool = False  # not differentiable where the argument is 0


UNARY_RULES: dict[type, Rule] = {
    sp.exp: Rule("exponential rule", "(eᵘ)′ = eᵘ", sp.exp),
    sp.log: Rule("logarithm rule", "(log u)′ = 1/u", lambda u: 1 / u),
    sigmoid: Rule("sigmoid rule", "σ′(u) = σ(u)(1 − σ(u))", lambda u: sigmoid(u) * (1 - sigmoid(u))),
    sp.tanh: Rule("tanh rule", "tanh′(u) = 1 − tanh²(u)", lambda u: 1 - sp.tanh(u) ** 2),
    sp.sin: Rule("sine rule", "sin′(u) = cos(u)", sp.cos),
    sp.cos: Rule("cosine rule", "cos′(u) = −sin(u)", lambda u: -sp.sin(u)),
    relu: Rule("ReLU rule", "relu′(u) = H(u), undefined at u = 0", sp.Heaviside, kink=True),
    sp.Abs: Rule("absolute-value rule", "|u|′ = sign(u), undefined at u = 0", sp.sign, kink=True),
}


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
        rule = UNARY_RULES.get(type(e))
        if rule is not None and len(e.args) == 1:
            note(rule.name)
            return rule.derivative(e.args[0]) * inner(e.args[0])
        note("SymPy diff")
        return sp.diff(e, var)

    def inner(u: sp.Expr) -> sp.Expr:
        if u != var and u.has(var):
            note("chain rule")
        return d(u)

    return d(expr), tuple(used)


def kinks_of(expr: sp.Expr) -> tuple[sp.Expr, ...]:
    """Arguments u of functions that are not differentiable where u = 0."""
    found = []
    for node in sp.preorder_traversal(expr):
        rule = UNARY_RULES.get(type(node))
        if rule is not None and rule.kink and node.args[0] not in found:
            found.append(node.args[0])
        if isinstance(node, (sp.Heaviside, sp.sign)) and node.args[0] not in found:
            found.append(node.args[0])
    return tuple(found)
