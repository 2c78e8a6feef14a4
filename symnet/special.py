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


class ndtr(sp.Function):  # noqa: N801
    """Φ(x) = erfc(−x/√2)/2, the standard normal CDF (``torch.special.ndtr``): GELU is x·Φ(x).

    Written as (1 + erf(x/√2))/2 it cancels for x ≪ 0 (every digit lost from x ≈ −5.5 in float32,
    −8.3 in float64), and erfc(−x/√2) alone rounds x/√2 first, which erfc amplifies 2u²-fold
    (700 ulp at x = −37); the generated code corrects that rounding (the ``_ndtr`` helpers of
    :mod:`symnet.registry`)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        if x is sp.oo:
            return sp.S.One
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        x = self.args[0]
        return sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi)

    def _eval_rewrite_as_erfc(self, x, **kwargs):
        return sp.erfc(-x / sp.sqrt(2)) / 2

    def _eval_rewrite_as_erf(self, x, **kwargs):
        return (1 + sp.erf(x / sp.sqrt(2))) / 2

    def _eval_evalf(self, prec):
        x = self.args[0]._eval_evalf(prec)
        return None if x is None else (sp.erfc(-x / sp.sqrt(2)) / 2)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\Phi\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _explicit_for(self, printer):
        return sp.erfc(-self.args[0] / sp.sqrt(2)) / 2


for _method in _PRINT_METHODS:  # lambdify and the code printers print Φ as erfc
    setattr(ndtr, _method, _print_parenthesised)


class _ExpNegSquare(sp.Function):
    """e^(−c·u²) as one node of the code generator (the ``exp-square`` stability rule of
    :mod:`symnet.codegen.rewrite`): the generated code evaluates it without rounding u² (an error
    of c·u²·ε, 700 ulp at e^(−u²), u = 26, in float64). Not a parser name: formulas write exp(−u²)."""

    nargs = 1
    c = sp.S.One

    def fdiff(self, argindex=1):
        return -2 * self.c * self.args[0] * self

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return sp.exp(-self.c * u ** 2)

    def _eval_evalf(self, prec):
        u = self.args[0]._eval_evalf(prec)
        return None if u is None else sp.exp(-self.c * u ** 2)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_extended_real else None

    def _symnet_text(self, printer):
        return "exp(%s)" % printer._print(-self.c * self.args[0] ** 2)

    def _latex(self, printer, exp=None):
        body = r"e^{%s}" % printer._print(-self.c * self.args[0] ** 2)
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)

    def _explicit_for(self, printer):
        return sp.exp(-self.c * self.args[0] ** 2)


class nexpsq(_ExpNegSquare):  # noqa: N801
    """nexpsq(u) = e^(−u²) (erf′ and erfc′), evaluated without rounding u²."""

    c = sp.S.One


class nexpsq2(_ExpNegSquare):  # noqa: N801
    """nexpsq2(u) = e^(−u²/2) (the normal density, Φ′ = nexpsq2/√(2π)), evaluated without rounding u²."""

    c = sp.S.Half


for _cls in (nexpsq, nexpsq2):
    for _method in _PRINT_METHODS:
        setattr(_cls, _method, _print_parenthesised)

__all__ += ["ndtr", "nexpsq", "nexpsq2"]
