"""The scaled-square rule's quotient chain (N/V)/V as the printers and the common-subexpression pass see it: a
module of its own (SymPy only), so that the printers need not import the rewrite rules (an import cycle:
backends.printing → rewrite → roots → backends.numpy.printer)."""
from __future__ import annotations

import sympy as sp

__all__ = ["quotient_chain"]


def quotient_chain(g):
    """(N, V) where ``g`` is :func:`_scaled_quotient`'s chain (N/V)/V, two quotients held unevaluated, else None:
    the printers place a constant that multiplies it per element (``_constant_quotients``), and CSE's temporary
    for it is put back where it is used (``symnet.codegen.ir``), so that they see it whole."""
    def quotient(e):
        if not isinstance(e, sp.UnevaluatedExpr):
            return None
        if e.args[0].is_Pow and e.args[0].exp == -1:  # 1/V
            return sp.S.One, e.args[0].base
        if not e.args[0].is_Mul:
            return None
        den = [f for f in e.args[0].args if f.is_Pow and f.exp == -1]
        if len(den) != 1:
            return None
        return sp.Mul(*[f for f in e.args[0].args if f is not den[0]]), den[0].base

    outer = quotient(g)
    inner = quotient(outer[0]) if outer is not None else None
    if inner is None or inner[1] != outer[1]:
        return None
    return inner
