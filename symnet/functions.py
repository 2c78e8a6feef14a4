"""Activation functions as SymPy functions that know their own derivative.

Each function states its derivative in ``fdiff`` (the way micrograd states a local
derivative next to the op) and can be rewritten into elementary functions, so that
checks can differentiate the explicit form independently of the rule stated here.
"""
from __future__ import annotations

import sympy as sp

__all__ = ["sigmoid", "relu", "explicit"]


class sigmoid(sp.Function):  # noqa: N801 - SymPy function classes are lower-case
    """The logistic sigmoid σ(x) = 1 / (1 + e^(−x))."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        if x is sp.S.Infinity:
            return sp.S.One
        if x is sp.S.NegativeInfinity:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        x = self.args[0]._eval_evalf(prec)
        if x is None:
            return None
        return (1 / (1 + sp.exp(-x)))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_extended_real:
            return True
        return None

    def _latex(self, printer, exp=None):
        body = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _explicit_for(self, printer):
        x = self.args[0]
        if _raises_on_overflow(printer):  # Python's math.exp(1000) raises: never call it there
            return sp.Piecewise((1 / (1 + sp.exp(-x)), x >= 0), (sp.exp(x) / (1 + sp.exp(x)), True))
        return 1 / (1 + sp.exp(-x))  # IEEE exp overflows to inf, and 1/(1 + inf) = 0


class relu(sp.Function):  # noqa: N801
    """The rectifier relu(x) = max(0, x); not differentiable at x = 0."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_extended_nonnegative:
            return x
        if x.is_extended_negative:
            return sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return sp.Heaviside(self.args[0])

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)

    def _eval_evalf(self, prec):
        x = self.args[0]._eval_evalf(prec)
        if x is None:
            return None
        return sp.Max(0, x)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{relu}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _explicit_for(self, printer):
        return sp.Max(0, self.args[0])


# SymPy's code printers look for a method named after their ``printmethod``: math and
# sympy (``lambdify``, ``pycode``) ``_pythoncode``; NumPy, SciPy, CuPy, JAX ``_numpycode``
# and so on; mpmath ``_mpmathcode``; C, C++ and Fortran ``_ccode``, ``_cxxcode``, ``_fcode``. Each prints the function's elementary form, so ``lambdify`` and
# ``ccode`` work without being told what ``sigmoid`` is.
_PRINT_METHODS = ("_pythoncode", "_numpycode", "_scipycode", "_cupycode", "_jaxcode", "_mpmathcode", "_cmathcode", "_lambdacode", "_numexprcode",
                  "_torchcode", "_tensorflowcode", "_ccode", "_cxxcode", "_fcode",
                  "_rust_code", "_julia", "_octave", "_javascript")


def _print_explicit(self, printer, *args, **kwargs):
    # bracketed where a call stood: x**σ(y) printed x**1/(1 + exp(-y)), which is (x**1)/(1 + e^−y)
    return "(" + printer._print(self._explicit_for(printer)) + ")"


def _raises_on_overflow(printer) -> bool:
    """Plain Python ``math`` (not NumPy, whose printers derive from the same class)."""
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import MpmathPrinter, PythonCodePrinter, SymPyPrinter

    return (isinstance(printer, PythonCodePrinter)
            and not isinstance(printer, (NumPyPrinter, MpmathPrinter, SymPyPrinter)))


for _cls in (sigmoid, relu):
    for _method in _PRINT_METHODS:
        setattr(_cls, _method, _print_explicit)


def explicit(expr: sp.Expr) -> sp.Expr:
    """Rewrite symnet's functions into elementary ones (σ → 1/(1+e^−x), relu → Max)."""
    return expr.replace(sigmoid, lambda u: 1 / (1 + sp.exp(-u))).replace(
        relu, lambda u: sp.Max(0, u)
    )
