"""The one bottom-up pass over the expression graph: :func:`stabilise` and :class:`Stabiliser`.

Its blocks, in the order of the module rewrite.py that session 43 split into this package: stabilise.
"""
from __future__ import annotations

import sympy as sp

from .core import _Final, _Fired, Rule
from .local import _numbers_cancel
from .widening import _SHARED_WALKS, without_ite, WrittenWhereNotFiniteBase


# (from the cancellation-rules block of rewrite.py: the split script moved it here, to the first module that uses it)
_MAX_REWRITES = 64  # rewrites of one node (a guard; no rule set here comes close)
def stabilise(expr: sp.Expr, rules=None) -> tuple[sp.Expr, tuple[Rule, ...]]:
    """``expr`` with every rule applied, and the rules that changed something (in the order
    they first fired), e.g. ``stabilise(log(1 + exp(x))) == (softplus(x), (<softplus rule>,))``.

    When ``rules`` holds any of :data:`RULES` (the default, None: :data:`RULES` as it is at the call,
    so a rule registered after this function is defined is not left out), the whole node-by-node set is
    applied in one bottom-up pass over the expression graph, each distinct node once (the
    rules are not independent: a log-sum-exp needs the max-shift of its quotient first).
    Whole-expression rules (``apply``/``fired``, e.g. the row-wise rules) are then applied in
    order to the whole expression. Raises nothing: a node no rule matches is kept as written.
    For the many outputs of one kernel, :class:`Stabiliser` gives the same answers sharing the work."""
    return Stabiliser(rules)(expr)


class Stabiliser:
    """:func:`stabilise` for the outputs of one kernel: ``Stabiliser()(expr)`` is ``stabilise(expr)``
    for every ``expr``, and each distinct subexpression met by any of them is rewritten once.

    A written log-sum-exp of N terms has a value and N gradients, each holding the whole Σ e^{a_i}:
    stabilised one by one that is N passes over N terms (60 terms: 50 s of a 66 s compile, issue 16).
    The memo maps a node to its stable form and to the rules that fired at or below it, in the order
    they fired, so each output still reports exactly the rules a pass of its own would (the printout
    and ``--stable`` name them per output). It lives as long as the object: make one per kernel
    (holding every node met, it is as large as the kernel's expressions), never a global one."""

    def __init__(self, rules=None):
        from .pipeline import RULES, _BY_NAME  # a later module: imported at the call
        # None: RULES at the call (a default of RULES would be the tuple bound when the class was made: a rule
        # registered below it was silently never tried)
        rules = RULES if rules is None else rules
        self.rules = rules
        self._local = any(r.name in _BY_NAME and _BY_NAME[r.name] is r for r in rules)
        self._before = [r for r in rules if r.apply is not None and r.before]
        self._whole = [r for r in rules if r.apply is not None and not r.before]
        self._memo: dict = {}  # node → its stable form
        self._below: dict = {}  # node → names of the rules that fired at or below it, first firing first
        self._walks: dict = {}  # the whole-expression rules' bottom-up walks: (code, leaves) → node → rewritten

    def __call__(self, expr: sp.Expr) -> tuple[sp.Expr, tuple[Rule, ...]]:
        from .pipeline import _BY_NAME  # a later module: imported at the call
        expr, first = sp.sympify(expr), []
        for rule in self._before:
            new = rule.apply(expr)
            if rule.fired(expr, new):
                first.append(rule)
                expr = new
        if self._local:
            expr, names = _rewrite(expr, self._memo, self._below)
            fired = first + [r for r in dict.fromkeys(_BY_NAME[n] for n in names) if r not in first]  # once each
        else:
            fired = first
        token = _SHARED_WALKS.set(self._walks)
        try:
            for rule in self._whole:
                new = rule.apply(expr)
                if rule.fired(expr, new):
                    fired.append(rule)
                    expr = new
        finally:
            _SHARED_WALKS.reset(token)
        return expr, tuple(fired)


def _rewrite(expr, memo: dict, below: dict):
    """``expr`` with the node-by-node rules applied bottom-up, and the names of the rules that fired
    in it (each once, in the order they first fired). ``memo`` (node → stable form) and ``below``
    (node → the names fired at or below it) are :class:`Stabiliser`'s, kept between calls: a node
    met again, in this expression or an earlier one, is not rewritten again, and its names count."""
    from .pipeline import _LOCAL, _LOCAL_RULE  # a later module: imported at the call
    def visit(node, depth=0):
        done = memo.get(node)
        if done is not None:
            return done, below[node]
        if not node.args or isinstance(node, (sp.Indexed, sp.IndexedBase)):
            memo[node], below[node] = node, ()
            return node, ()
        spread = _numbers_cancel(node)  # before its terms are rewritten: affine-root groups k·(a + c) into one term
        if spread is not None and spread.expr != node:
            out, fired = visit(spread.expr, depth + 1)
            names = tuple(dict.fromkeys(("cancel", *fired)))
            memo[node], below[node] = out, names
            return out, names
        names: list = []
        args = []
        # a form taken as written where it is not finite: the written form as it is (its terms are rewritten already;
        # rewritten again, the fraction-complement rule's written form would be joined again, and again)
        written = isinstance(node, WrittenWhereNotFiniteBase)
        for a in node.args[:1] if written else node.args:
            arg, fired = visit(a, depth)
            args.append(arg)
            _note(names, fired)
        args = tuple(args) + node.args[1:] if written else tuple(args)
        new = node.func(*args) if args != node.args else node
        out = new
        for rule in _LOCAL:
            result = rule(new)
            if result is None:
                continue
            final = isinstance(result, _Final)
            if final:
                result = result.expr
            if isinstance(result, _Fired):
                fired, result = result.names, result.expr
            else:
                fired = [_LOCAL_RULE.get(rule, "cancel")]
            if result == new:
                continue
            result = without_ite(result)
            _note(names, fired)
            if final or depth > _MAX_REWRITES:
                out = result
                memo[result], below[result] = result, ()
            else:
                out, fired = visit(result, depth + 1)
                _note(names, fired)
            break
        names = tuple(names)
        memo[node], below[node] = out, names
        if out != node:  # the stable form is final: met again, it is kept as it is
            memo[out], below[out] = out, ()
        return out, names

    return visit(expr)


def _rewritten(expr):
    """``expr`` with the node-by-node rules applied (a pass of its own), and the rules that fired in it: for a
    rule that stabilises a part it builds (conjugate's A − B², mixture-log's branches)."""
    from .pipeline import _BY_NAME  # a later module: imported at the call
    out, names = _rewrite(expr, {}, {})
    return out, list(dict.fromkeys(_BY_NAME[n] for n in names))


def _note(names: list, fired) -> None:
    """Append to ``names`` those of ``fired`` it does not hold yet, in order."""
    for n in fired:
        if n not in names:
            names.append(n)
