"""Optimizer update rules, derived with SymPy and generated for NumPy and the fused Triton step.

An update rule says how one parameter entry ``w`` moves given its gradient ``g = ∂J/∂w``:
plain SGD ``w ← w − α·g``; SGD with (heavy-ball) momentum; Adam. Each rule is derived, not
written down: its state variables follow a linear recurrence that SymPy solves (``rsolve``)
for a constant gradient, and what the solution says (the steady step of momentum, the bias
of Adam's zero-started moments) is what the update uses. :func:`update_rule` returns the
rule with its derivation steps (``.text()`` prints them); the per-entry assignments are
printed by the NumPy printer (:func:`numpy_update`) and by the Triton printer into the fused
training kernel (:mod:`symnet.codegen.backends.triton.step`).

The rules follow ``torch.optim.SGD`` (``dampening=0``, ``nesterov=False``) and
``torch.optim.Adam`` (``amsgrad=False``), with L2 weight decay added to the gradient.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ...errors import SymnetError
from ...render import shown, text

__all__ = ["UpdateRule", "update_rule", "numpy_update", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "momentum", "adam")

# the symbols of every rule: one parameter entry, its gradient, the step number and the hyperparameters
w, g = sp.symbols("w g", real=True)
t = sp.Symbol("t", integer=True, positive=True)
lr = sp.Symbol("alpha", positive=True)       # α, the learning rate
wd = sp.Symbol("lambda", nonnegative=True)   # λ, L2 weight decay added to the gradient
mu = sp.Symbol("mu", positive=True)          # μ, the momentum
beta1, beta2 = sp.symbols("beta1 beta2", positive=True)
eps = sp.Symbol("epsilon", positive=True)
gd = sp.Symbol("g_λ", real=True)             # the gradient with weight decay
buf, m, v = sp.symbols("b m v", real=True)   # state: momentum buffer; Adam's first and second moments
c1, c2 = sp.symbols("c1 c2", positive=True)  # Adam's bias corrections, one value a step


@dataclass(frozen=True)
class UpdateRule:
    """A derived update rule.

    ``hyper``: the scalar hyperparameters, by the name the fused kernel and the launcher use;
    ``state``: the state variables kept per parameter entry (zero before the first step);
    ``per_step``: scalars computed once a step from ``t`` and the hyperparameters (on the host);
    ``assignments``: ``(symbol, expression)`` in order, per entry; the new ``w`` and the new value
    of each state variable are the right-hand sides of ``w`` and of the state symbols;
    ``steps``: the derivation, ``(what, formula)`` pairs."""

    name: str
    title: str
    hyper: tuple        # (name, symbol)
    state: tuple        # (name, symbol)
    per_step: tuple     # (name, symbol, expression in t and the hyperparameters)
    assignments: tuple  # (symbol, expression)
    steps: tuple        # (what, SymPy expression or equation)

    def text(self) -> str:
        lines = [f"{self.title}", ""]
        for n, (what, formula) in enumerate(self.steps, 1):
            lines.append(f"{n}. {what}")
            lines.append(f"     {_show(formula)}")
        lines += ["", "Generated per entry (torch.optim's order of operations):"]
        lines += [f"     {shown(s)} ← {shown(e)}" for s, e in self.per_step_pairs()] + \
                 [f"     {shown(s)} ← {shown(e)}" for s, e in self.assignments]
        return "\n".join(lines)

    def per_step_pairs(self):
        return [(s, e) for _, s, e in self.per_step]

    def __str__(self):
        return self.text()


def _show(formula) -> str:  # a printout: a sum as a reader writes it (β₁^t − 1), as symnet.render's
    if isinstance(formula, sp.Eq):
        return f"{shown(formula.lhs)} = {shown(formula.rhs)}"
    return shown(formula)


def _solve_from_zero(recurrence, state: sp.Function):
    """The closed form of ``state(t)`` from its recurrence with ``state(0) = 0``."""
    solution = sp.rsolve(recurrence, state(t), {state(0): 0})
    if solution is None:
        raise SymnetError(f"SymPy cannot solve the recurrence {recurrence}")
    return sp.factor(solution)


def _sgd() -> UpdateRule:
    steps = (("The gradient with L2 weight decay λ (the gradient of J + λ/2·Σ w²)", sp.Eq(gd, g + sp.diff(wd / 2 * w**2, w))),
             ("A step down the gradient", sp.Eq(sp.Symbol("w'"), w - lr * gd)))
    return UpdateRule("sgd", "Plain SGD: w ← w − α·(g + λw)", (("lr", lr), ("weight_decay", wd)), (), (),
                      ((gd, g + wd * w), (w, w - lr * gd)), steps)


def _momentum() -> UpdateRule:
    b = sp.Function("b")
    rec = b(t) - mu * b(t - 1) - g
    closed = _solve_from_zero(rec, b)  # a constant gradient: b_t = g(1 − μ^t)/(1 − μ)
    steady = sp.simplify(closed.subs(mu**t, 0))
    steps = (("The gradient with L2 weight decay λ", sp.Eq(gd, g + wd * w)),
             ("The buffer b accumulates gradients, decayed by μ each step; b₀ = 0", sp.Eq(b(t), mu * b(t - 1) + gd)),
             ("For a constant gradient g SymPy solves the recurrence (rsolve)", sp.Eq(b(t), closed)),
             ("so for 0 ≤ μ < 1 (μ^t → 0) the step −α·b tends to α·g/(1 − μ): μ = 0.9 takes steps ten times "
              "as long along a steady slope, while oscillating gradient components cancel",
              sp.Eq(sp.Symbol("b_∞"), steady)),
             ("The update (torch.optim.SGD, dampening 0, not Nesterov)", sp.Eq(sp.Symbol("w'"), w - lr * buf)))
    return UpdateRule("momentum", "SGD with momentum: b ← μ·b + (g + λw), w ← w − α·b",
                      (("lr", lr), ("momentum", mu), ("weight_decay", wd)), (("b", buf),), (),
                      ((gd, g + wd * w), (buf, mu * buf + gd), (w, w - lr * buf)), steps)


def _adam() -> UpdateRule:
    M, V = sp.Function("m"), sp.Function("v")
    m_closed = _solve_from_zero(M(t) - beta1 * M(t - 1) - (1 - beta1) * g, M)
    v_closed = _solve_from_zero(V(t) - beta2 * V(t - 1) - (1 - beta2) * g**2, V)
    bias1 = sp.factor(sp.simplify(m_closed / g))      # m_t = g·(1 − β₁^t): the bias of a zero start
    bias2 = sp.factor(sp.simplify(v_closed / g**2))
    if sp.simplify(bias1 - (1 - beta1**t)) != 0 or sp.simplify(bias2 - (1 - beta2**t)) != 0:
        raise SymnetError(f"unexpected bias corrections {bias1}, {bias2}")
    m_hat, v_hat = sp.Symbol("m̂"), sp.Symbol("v̂")
    steps = (("The gradient with L2 weight decay λ (Adam, not AdamW)", sp.Eq(gd, g + wd * w)),
             ("Moving averages of the gradient and of its square, started at zero", sp.Eq(M(t), beta1 * M(t - 1)
                                                                                         + (1 - beta1) * gd)),
             ("likewise for the square", sp.Eq(V(t), beta2 * V(t - 1) + (1 - beta2) * gd**2)),
             ("For a constant gradient g SymPy solves both recurrences (rsolve)", sp.Eq(M(t), m_closed)),
             ("and", sp.Eq(V(t), v_closed)),
             ("so the zero start biases them by a factor the step count alone fixes; dividing it out:",
              sp.Eq(m_hat, M(t) / bias1)),
             ("and", sp.Eq(v_hat, V(t) / bias2)),
             ("The update: each entry steps by about α, scaled by the gradient's sign-to-noise ratio",
              sp.Eq(sp.Symbol("w'"), w - lr * m_hat / (sp.sqrt(v_hat) + eps))))
    per_step = (("bias1", c1, bias1), ("bias2", c2, bias2))  # not c1, c2: the kernel names its columns so
    return UpdateRule("adam", "Adam: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², w ← w − α·m̂/(√v̂ + ε)",
                      (("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps), ("weight_decay", wd)),
                      (("m", m), ("v", v)), per_step,
                      ((gd, g + wd * w), (m, beta1 * m + (1 - beta1) * gd), (v, beta2 * v + (1 - beta2) * gd**2),
                       (w, w - lr * (m / c1) / (sp.sqrt(v / c2) + eps))), steps)


_RULES = {"sgd": _sgd, "momentum": _momentum, "adam": _adam}
_CACHE: dict = {}


def update_rule(name: str) -> UpdateRule:
    """The update rule ``name`` ("sgd", "momentum" or "adam") with its derivation.

    Raises:
        SymnetError: an unknown optimizer.
    """
    if name not in _RULES:
        raise SymnetError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    if name not in _CACHE:
        _CACHE[name] = _RULES[name]()
    return _CACHE[name]


def per_step_values(rule: UpdateRule, step: int, hyper: dict) -> dict:
    """The per-step scalars (Adam's bias corrections) at step ``step`` (1 for the first), in
    float64 on the host, from the rule's expressions."""
    subs = {s: hyper[n] for n, s in rule.hyper}
    subs[t] = step
    return {n: float(e.subs(subs)) for n, _, e in rule.per_step}


def numpy_update(rule: UpdateRule):
    """A NumPy function ``f(w, g, *state, **hyper_and_per_step) -> (w', *state')`` generated from
    the rule's assignments (``f.source`` holds its code). The arrays' dtype is kept."""
    from ..modules import _exec_module
    from ..backends.numpy.printer import NumpyExpressionPrinter

    helpers: set = set()
    printer = NumpyExpressionPrinter(helpers)
    printer.TAKEN_AGAIN = False  # an update rule's module has no helpers: no product or sum taken again
    names = {w: "w", g: "g", gd: "g_wd"}
    names.update({s: n for n, s in rule.state})
    names.update({s: n for n, s in rule.hyper})
    names.update({s: n for n, s, _ in rule.per_step})
    local = {s: sp.Symbol(n) for s, n in names.items()}
    args = ["w", "g"] + [n for n, _ in rule.state]
    keywords = [n for n, _ in rule.hyper] + [n for n, _, _ in rule.per_step]
    body = []
    for symbol, expr in rule.assignments:
        body.append(f"    {names[symbol]} = {printer.doprint(expr.xreplace(local))}  # {text(symbol)} ← {text(expr)}")
    if helpers:
        raise SymnetError(f"the update rule {rule.name} needs NumPy helpers {sorted(helpers)}")
    source = "\n".join([
        f'"""Generated by symnet from the {rule.name} update rule (symnet.codegen.families.update_rules); do not edit."""',
        "import numpy as np", "", "",
        f"def {rule.name}_update({', '.join(args)}, *, {', '.join(keywords)}):",
        f'    """{rule.title}; returns the new ({", ".join(args[:1] + args[2:])})."""',
        *body,
        f"    return {', '.join(args[:1] + args[2:])}", ""])
    module = _exec_module(f"symnet_update_{rule.name}", source, f"<symnet:update_{rule.name}>")
    function = getattr(module, f"{rule.name}_update")
    function.source = source
    return function


if __name__ == "__main__":  # python -m symnet.codegen.families.update_rules adam: print the derivation
    import sys

    for name in sys.argv[1:] or OPTIMIZERS:
        print(update_rule(name).text(), end="\n\n")
