"""``from_formula``: a user's formula as a differentiable module (see :func:`from_formula`)."""
from __future__ import annotations

import sympy as sp
import torch

from ..errors import DerivationError
from . import _ops
from .functional import _broadcast


class Formula(torch.nn.Module):
    """A formula applied entry by entry: ``f(*inputs)`` with the inputs in the order declared.

    Arguments are tensors or Python numbers, broadcast together as torch does; every
    floating-point tensor argument gets its gradient (from the generated kernel, which
    computes the value and every partial derivative in one pass). The op is registered in
    this process under ``symnet_torch::formula_<hash>``: a ``torch.export`` file using it
    reloads in a process that has called ``from_formula`` with the same formula first.
    """

    def __init__(self, expr: sp.Expr, inputs: tuple[sp.Symbol, ...]):
        super().__init__()
        self.expr, self.inputs = expr, inputs
        self._op = _ops.formula_op(expr, inputs)

    def forward(self, *args, **kwargs):
        names = [s.name for s in self.inputs]
        for k, v in kwargs.items():
            if k not in names:
                raise TypeError(f"unexpected argument {k!r} (the inputs are {', '.join(names)})")
        twice = [k for k in kwargs if k in names[:len(args)]]
        if twice:
            raise TypeError(f"got multiple values for argument {twice[0]!r}")
        args = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
        if len(args) != len(names):
            raise TypeError(f"the formula takes {len(names)} arguments ({', '.join(names)}), got {len(args)}")
        return _ops.call(self._op.op, *_broadcast(*args), [])[0]

    def extra_repr(self):
        return f"{self.expr}, inputs=[{', '.join(s.name for s in self.inputs)}]"


def from_formula(expr, inputs) -> Formula:
    """The formula ``expr`` (text or SymPy) as a module ``f(*inputs)``, arguments in the order of ``inputs``.

    Raises:
        ParseError: text the parser refuses.
        DerivationError: an input not in the formula, a formula symbol not among ``inputs``,
            or a formula symnet cannot derive.
    """
    from .. import parse
    from ..engine import derive  # noqa: F401 - the derivation is made by _ops.formula_op

    if isinstance(expr, str):
        expr = parse(expr)
    if isinstance(inputs, (str, sp.Symbol)):
        inputs = [inputs]
    names = [i if isinstance(i, str) else getattr(i, "name", None) for i in inputs]
    if any(not isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise DerivationError(f"inputs must be distinct names or symbols, not {inputs!r}")
    free = {s.name: s for s in expr.free_symbols}
    missing = sorted(set(free) - set(names))
    if missing:
        raise DerivationError(f"the formula uses {', '.join(missing)}, which is not among inputs=[{', '.join(names)}]")
    unused = [n for n in names if n not in free]
    if unused:
        raise DerivationError(f"input {unused[0]!r} does not appear in the formula {expr}")
    symbols = tuple(sp.Symbol(n, real=True) for n in names)
    expr = expr.xreplace({free[n]: s for n, s in zip(names, symbols)})
    return Formula(expr, symbols)
