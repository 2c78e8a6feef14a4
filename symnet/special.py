"""SymPy function classes that symnet adds besides σ and relu (``symnet.functions``).

``softplus`` lives here, outside ``symnet.codegen``, because the function registry
(:mod:`symnet.registry`) names it and the code generator imports the registry.
"""
from __future__ import annotations

import sympy as sp

from .functions import _PRINT_METHODS, sigmoid

__all__ = ["softplus"]


class softplus(sp.Function):  # noqa: N801
    """softplus(x) = log(1 + e^x), printed as an overflow-free log-add-exp."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec):
        x = self.args[0]._eval_evalf(prec)
        return None if x is None else sp.log(1 + sp.exp(x))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _explicit_for(self, printer):
        x = self.args[0]
        return sp.Max(x, 0) + sp.log(1 + sp.exp(-sp.Abs(x)))  # overflow-free in every printer


def _print_parenthesised(self, printer, *args, **kwargs):
    return "(" + printer._print(self._explicit_for(printer)) + ")"  # a sum: bracketed where a call stood


for _method in _PRINT_METHODS:  # lambdify and the code printers print softplus in elementary functions
    setattr(softplus, _method, _print_parenthesised)
