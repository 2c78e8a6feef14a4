"""Numerical-stability rewrites as named rules, applied by one :func:`stabilise` call.

Each rule states what it fixes and is tested twice: the rewritten formula equals the
original symbolically, and at the values where the naive form fails (``tests/test_codegen.py``).
The functions they introduce (``sigmoid``, ``softplus``) are printed by every backend in
an overflow-free way, from the printers' tables.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.codegen.rewriting import expm1_opt, log1p_opt, optimize

from ..functions import sigmoid
from ..special import softplus

__all__ = ["softplus", "Rule", "RULES", "stabilise"]


@dataclass(frozen=True)
class Rule:
    name: str
    why: str
    apply: Callable[[sp.Expr], sp.Expr]
    fired: Callable[[sp.Expr, sp.Expr], bool]  # did the rewrite change anything that matters


def _introduces(function):
    return lambda old, new: new.count(function) > old.count(function)


def _fewer_divisions(old, new):
    return _divisions(new) < _divisions(old)


def _changed(old, new):
    return new != old


def _divisions(e: sp.Expr) -> int:
    return sum(1 for p in sp.preorder_traversal(e) if isinstance(p, sp.Pow) and p.exp.is_negative)


def _cancel(e: sp.Expr) -> sp.Expr:
    """Divide out common factors of a rational function of the (function) atoms."""
    try:
        return sp.factor(sp.cancel(e))
    except sp.PolynomialError:
        return e


def _fold_sigmoid(e: sp.Expr) -> sp.Expr:
    """1/(1 + e^−x) → σ(x), e^x/(1 + e^x) → σ(x), e^−x/(1 + e^−x)² → σ(x)(1 − σ(x))."""
    def is_logistic(node):
        return isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp < 0 and node.base.is_Add \
            and len(node.base.args) == 2 \
            and sp.S.One in node.base.args and any(isinstance(a, sp.exp) for a in node.base.args)

    def fold(node):
        (other,) = [a for a in node.base.args if a != sp.S.One]
        return sigmoid(-other.args[0]) ** (-node.exp)

    e = e.replace(is_logistic, fold)
    # e^x·σ(−x) is σ(x): the quotient form e^x/(1 + e^x) after the fold above
    def is_ratio(node):
        if not node.is_Mul:
            return False
        exps = [a for a in node.args if isinstance(a, sp.exp)]
        sigs = [a for a in node.args if isinstance(a, sigmoid)]
        return any(s.args[0] == -x.args[0] for s in sigs for x in exps)

    def ratio(node):
        for s in [a for a in node.args if isinstance(a, sigmoid)]:
            for x in [a for a in node.args if isinstance(a, sp.exp)]:
                if s.args[0] == -x.args[0]:
                    rest = [a for a in node.args if a is not s and a is not x]
                    return sp.Mul(*rest) * sigmoid(x.args[0])
        return node

    e = e.replace(is_ratio, ratio)
    # what is left of e^−x next to σ(x) (a derivative's e^−x/(1 + e^−x)²) is (1 − σ)/σ
    for sig in sorted(e.atoms(sigmoid), key=sp.default_sort_key):
        u = sig.args[0]
        if e.has(sp.exp(-u)):
            e = sp.factor(e.subs(sp.exp(-u), (1 - sig) / sig))
    return e


def _complement(e: sp.Expr) -> sp.Expr:
    """1 − σ(x) → σ(−x) and σ(x) − 1 → −σ(−x)."""
    def match(node):
        if not (node.is_Add and len(node.args) == 2):
            return None
        one = [a for a in node.args if a in (sp.S.One, sp.S.NegativeOne)]
        sig = [a for a in node.args if isinstance(a, sigmoid) or isinstance(-a, sigmoid)]
        if len(one) == 1 and len(sig) == 1 and (one[0] == 1) == (not isinstance(sig[0], sigmoid)):
            return one[0], sig[0]
        return None

    def rewrite(node):
        one, sig = match(node)
        inner = (sig if isinstance(sig, sigmoid) else -sig).args[0]
        return sigmoid(-inner) if one == 1 else -sigmoid(-inner)

    return e.replace(lambda n: match(n) is not None, rewrite)


def _softplus(e: sp.Expr) -> sp.Expr:
    """log(1 + e^x) → softplus(x); log σ(x) → −softplus(−x); log(1 − σ(x)) → −softplus(x)."""
    def is_log1pexp(node):
        return isinstance(node, sp.log) and node.args[0].is_Add and len(node.args[0].args) == 2 \
            and sp.S.One in node.args[0].args and any(isinstance(a, sp.exp) for a in node.args[0].args)

    def to_softplus(node):
        (other,) = [a for a in node.args[0].args if a != sp.S.One]
        return softplus(other.args[0])

    e = e.replace(is_log1pexp, to_softplus)
    e = e.replace(lambda n: isinstance(n, sp.log) and isinstance(n.args[0], sigmoid),
                  lambda n: -softplus(-n.args[0].args[0]))
    # log(1 − σ(x)) = log σ(−x) = −softplus(x)
    return e.replace(lambda n: isinstance(n, sp.log) and n.args[0].is_Add and len(n.args[0].args) == 2
                     and sp.S.One in n.args[0].args and any(isinstance(-a, sigmoid) for a in n.args[0].args),
                     lambda n: -softplus(next((-a).args[0] for a in n.args[0].args if isinstance(-a, sigmoid))))


RULES: tuple[Rule, ...] = (
    Rule("sigmoid", "1/(1 + e^−x) overflows e^−x for x ≪ 0 (NaN in float32 at x = −1000); "
         "σ is printed as e^−|x| based branches that never overflow", _fold_sigmoid, _introduces(sigmoid)),
    Rule("cancel", "a factor divided out again, σ(1 − σ)·(1/(1 − σ) − 1/σ), is 0·∞ = NaN where σ "
         "saturates to 0 or 1; the fraction is cancelled symbolically first", _cancel, _fewer_divisions),
    Rule("sigmoid-complement", "1 − σ(x) rounds to 0 once σ(x) rounds to 1 (x > 17 in float32, 37 in "
         "float64), losing every digit of e^−x; σ(−x) keeps them", _complement, _changed),
    Rule("softplus", "log(1 + e^x) overflows for x ≫ 0 and log σ(x) underflows to log 0 for "
         "x ≪ 0; softplus(x) = max(x, 0) + log1p(e^−|x|) does neither", _softplus, _introduces(softplus)),
    Rule("log1p", "log(1 + x) loses every digit of x when |x| < machine epsilon",
         lambda e: optimize(e, [log1p_opt]), _introduces(log1p)),
    Rule("expm1", "e^x − 1 cancels catastrophically near x = 0",
         lambda e: optimize(e, [expm1_opt]), _introduces(expm1)),
)


def stabilise(expr: sp.Expr, rules=RULES) -> tuple[sp.Expr, tuple[Rule, ...]]:
    """``expr`` with every rule applied, and the rules that changed something."""
    fired = []
    for rule in rules:
        new = rule.apply(expr)
        if rule.fired(expr, new):
            fired.append(rule)
            expr = new
    return expr, tuple(fired)


class nexp(sp.Function):  # noqa: N801
    """nexp(x) = e^−x, kept as one opaque node so that 1/nexp(x) is not folded back into
    e^x: the sigmoid-pair rule computes σ(x) and σ(−x) from this one exponential."""

    nargs = 1

    def fdiff(self, argindex=1):
        return -self

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sp.exp(-x)

    def _eval_evalf(self, prec):
        x = self.args[0]._eval_evalf(prec)
        return None if x is None else sp.exp(-x)._eval_evalf(prec)

    def _symnet_text(self, printer):
        return "exp(%s)" % printer._print(-self.args[0])

    def _latex(self, printer, exp=None):
        body = r"e^{%s}" % printer._print(-self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


def _share_sigmoid_pairs(e: sp.Expr) -> sp.Expr:
    """σ(x) and σ(−x) both present → with E = e^−x: σ(x) = 1/(1 + E), σ(−x) = 1/(1 + 1/E)."""
    sigs = e.atoms(sigmoid)
    pairs = {}
    for s in sorted(sigs, key=sp.default_sort_key):
        u = s.args[0]
        if sigmoid(-u) in sigs and u not in pairs and -u not in pairs:
            pairs[-u if u.could_extract_minus_sign() else u] = True
    if not pairs:
        return e
    mapping = {}
    for u in pairs:
        E = nexp(u)
        mapping[sigmoid(u)] = 1 / (1 + E)
        mapping[sigmoid(-u)] = 1 / (1 + 1 / E)
    return e.xreplace(mapping)


# Not a stability rule: an evaluation strategy the code generator applies across all the
# outputs of one kernel (so σ(z) in the loss and σ(−z) in its gradient share work).
SIGMOID_PAIR = Rule(
    "sigmoid-pair", "σ(x) and σ(−x) from one exponential E = e^−x: σ(x) = 1/(1 + E), "
    "σ(−x) = 1/(1 + 1/E); E → ∞ (x ≪ 0) and 1/E → ∞ (x ≫ 0) give the right limits 0 and 1",
    _share_sigmoid_pairs, _introduces(nexp))

__all__ += ["log1p", "expm1", "nexp", "SIGMOID_PAIR"]
