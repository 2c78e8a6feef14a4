"""The kernel description: what a derivation computes, as one CSE'd list of assignments.

From a :class:`~symnet.derivation.Derivation` it collects the named inputs (with their
roles), the outputs (the forward value and each gradient) and one common-subexpression-
eliminated assignment list that computes all outputs together, so the forward value and
its gradient share work (σ(z) is computed once and reused in σ(z)(1 − σ(z))). Every
backend emits source from this one description.
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

import sympy as sp

from ..derivation import Derivation
from ..errors import SymnetError
from ..parsing import as_symbol
from ..render import text
from .stability import SIGMOID_PAIR, Rule, stabilise

__all__ = ["Kernel", "KernelInput", "KernelOutput", "describe", "stability_section"]

ROLES = ("data", "parameter", "target", "upstream")


@dataclass(frozen=True)
class KernelInput:
    symbol: sp.Symbol
    name: str  # a Python identifier
    role: str


@dataclass(frozen=True)
class KernelOutput:
    name: str
    expr: sp.Expr  # in terms of the inputs (before CSE), for comments and verification
    meaning: str  # readable math: "f", "∂f/∂x"


@dataclass(frozen=True)
class Kernel:
    name: str
    formula: str
    inputs: tuple[KernelInput, ...]
    outputs: tuple[KernelOutput, ...]
    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]  # temporaries, in order
    results: tuple[sp.Expr, ...]  # one per output, in terms of inputs and temporaries
    rules: tuple[Rule, ...]  # the stability rules that fired


def _identifier(name: str, taken: set) -> str:
    ident = re.sub(r"\W", "_", name.encode("ascii", "ignore").decode()) or "arg"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = "arg_" + ident
    base, k = ident, 1
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident


def forward_expressions(d: Derivation) -> dict:
    """Each output of the derivation written in terms of its inputs."""
    defs = {t: e for t, e in d.definitions if isinstance(t, sp.Symbol)}
    memo: dict = {}

    def full(s):
        if s not in defs:
            return s
        if s not in memo:
            memo[s] = defs[s].xreplace({u: full(u) for u in defs[s].free_symbols})
        return memo[s]

    return {out: full(out) for out in d.outputs}


def describe(d: Derivation, *, name: str | None = None, roles: dict | None = None,
             value: bool = True, gradients: bool = True) -> Kernel:
    """The kernel computing ``d``'s forward value and/or its gradients elementwise."""
    if any(not isinstance(w, sp.Symbol) for w in d.wrt) or any(isinstance(t, sp.Indexed) for t, _ in d.definitions):
        raise SymnetError(f"'{d.name or d.title}' is an index-form derivation: it is generated as a "
                          "layer kernel, not as an elementwise function")
    taken: set = {"np", "numpy"}
    roles = dict(roles or {})
    roles = {as_symbol(k, "role's variable", known=d.inputs) if isinstance(k, str) else k: v
             for k, v in roles.items()}
    unknown = [k for k in roles if k not in d.inputs]
    if unknown:
        raise SymnetError(f"roles name {unknown[0]}, which is not an input of the derivation")
    # arguments in the order data, parameters, targets, upstream gradients; by name within
    ordered = sorted(d.inputs, key=lambda s: (ROLES.index(roles.get(s, "data")), str(s)))
    inputs = tuple(KernelInput(s, _identifier(str(s), taken), roles.get(s, "data")) for s in ordered)
    for inp in inputs:
        if inp.role not in ROLES:
            raise SymnetError(f"unknown role {inp.role!r} for {inp.symbol}; roles are {', '.join(ROLES)}")
    outs: list[KernelOutput] = []
    forward = forward_expressions(d)
    if value:
        for out, expr in forward.items():
            outs.append(KernelOutput(_identifier(str(out), taken), expr, text(out)))
    if gradients:
        for row, out in enumerate(d.outputs):
            for col, w in enumerate(d.wrt):
                ident = _identifier(f"d{out}_d{w}", taken)
                outs.append(KernelOutput(ident, d.jacobian[row, col], f"∂{text(out)}/∂{text(w)}"))
    if not outs:
        raise SymnetError("a kernel needs at least one output")
    stable, fired = [], []
    for o in outs:
        e, rules = stabilise(o.expr)
        stable.append(e)
        fired += [r for r in rules if r not in fired]
    shared = SIGMOID_PAIR.apply(sp.Tuple(*stable))
    if SIGMOID_PAIR.fired(sp.Tuple(*stable), shared):
        stable, fired = list(shared), fired + [SIGMOID_PAIR]
    temps = sp.numbered_symbols("t", start=0, exclude=[i.symbol for i in inputs])
    assignments, results = sp.cse(stable, symbols=temps, order="none")
    formula = "; ".join(f"{text(out)} = {text(e)}" for out, e in forward.items())
    return Kernel(name or _identifier((d.name or "kernel").replace("-", "_"), set()), formula,
                  inputs, tuple(outs), tuple(assignments), tuple(results), tuple(fired))


def stability_section(kernel: Kernel):
    """The rewrites the code generator made, as checked steps: original = stable form."""
    from ..derivation import Section, Step
    from ..verify import check_equal
    from .stability import softplus, stabilise

    def plain(e):
        return e.replace(softplus, lambda v: sp.log(1 + sp.exp(v)))

    steps = []
    for out in kernel.outputs:
        stable, rules = stabilise(out.expr)
        if not rules:
            continue
        how = check_equal(plain(out.expr), plain(stable).rewrite(sp.log), f"stable form of {out.meaning}")
        why = "; ".join(f"{r.name} rule: {r.why}" for r in rules)
        steps.append(Step(sp.Symbol(out.meaning), (out.expr, stable), why, how))
    text_ = ("The code generator evaluates these forms instead: each equals the formula above, "
             "and does not overflow or cancel where the written-out form does.") if steps else \
        "No stability rule applies: the formulas are generated as derived."
    return Section("Numerically stable forms for code generation", tuple(steps), text_)
