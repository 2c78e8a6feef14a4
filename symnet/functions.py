"""Activation functions as SymPy functions that know their own derivative.

Each function states its derivative in ``fdiff`` (the way micrograd states a local
derivative next to the op) and can be rewritten into elementary functions, so that
checks can differentiate the explicit form independently of the rule stated here.
"""
from __future__ import annotations

import sympy as sp

__all__ = ["sigmoid", "relu", "explicit"]


# SymPy's code printers look for a method named after their ``printmethod``: math and
# sympy (``lambdify``, ``pycode``) ``_pythoncode``; NumPy, SciPy, CuPy, JAX ``_numpycode``
# and so on; mpmath ``_mpmathcode``; C, C++ and Fortran ``_ccode``, ``_cxxcode``, ``_fcode``. Each prints the function's elementary form, so ``lambdify`` and
# ``ccode`` work without being told what ``sigmoid`` is.
_PRINT_METHODS = ("_pythoncode", "_numpycode", "_scipycode", "_cupycode", "_jaxcode", "_mpmathcode", "_cmathcode", "_lambdacode", "_numexprcode",
                  "_torchcode", "_tensorflowcode", "_ccode", "_cxxcode", "_fcode",
                  "_rust_code", "_julia", "_octave", "_javascript")

# f(args) is real (``realness``): "argument": where its one argument is real (and not real where that is
# not); "arguments": where every argument is extended-real (else unknown); None: SymPy's default (unknown)
_REALNESS = {
    None: lambda args: None,
    "argument": lambda args: args[0].is_real,
    "arguments": lambda args: True if all(a.is_extended_real for a in args) else None,
}


class SymnetFunction(sp.Function):
    r"""What every function node of symnet shares (σ and relu here; softplus, Φ, e^(x + y) with the rounding
    of x + y corrected … in :mod:`symnet.special`): how it prints and evaluates, from a table of class
    attributes, so that a node is its math (``eval``, ``fdiff``, rewrites) and a row of this table.

    Printers (by their ``printmethod``): symnet's text (``_symnet_text``) and LaTeX (``_latex``) show a
    node by its name where it has one (``σ(x)``, ``\Phi\left(x\right)``) and as its form :meth:`_shown`
    otherwise (exp_twosum(x, y) as e^(x + y)); SymPy's code printers (``lambdify``, ``pycode``, ``ccode``:
    ``_PRINT_METHODS``) print its elementary form :meth:`_explicit_for`, bracketed (x**σ(y) is
    x**(1/(1 + exp(−y))), not x**1/(…)). The generated NumPy and Triton code calls the registry's
    template of the class (:func:`symnet.registry.numpy_template`), not these.

    Class attributes:
      ``text_name``   the name in text, ``σ``; None: the class's name (``softplus(x)``)
      ``latex_name``  the name in LaTeX, ``\Phi``; None: the node is shown as :meth:`_shown`
      ``bracketed``   a node shown as its form: LaTeX brackets the form always (a sum, or a product
                      that reads as one value), not only under a power
      ``realness``    "argument", "arguments" or None (``_REALNESS``)
      ``positive``    positive where every argument is extended-real (e^…, σ)

    and forms (static methods of the arguments):
      ``_of``         the elementary form, what code printers print (and evalf evaluates)
      ``_shown``      what a node without a LaTeX name shows (default ``_of``)
      ``_numeric``    what evalf evaluates at the values of :meth:`_evalf_args` (default ``_of``),
                      where a form without cancellation or overflow differs from ``_of``
    """

    text_name: str | None = None
    latex_name: str | None = None
    bracketed = False
    realness: str | None = None
    positive = False

    @staticmethod
    def _of(*args):
        raise NotImplementedError  # each node states its form

    @classmethod
    def _shown(cls, *args):
        return cls._of(*args)

    @classmethod
    def _numeric(cls, *values):
        return cls._of(*values)

    def _evalf_args(self):
        """The expressions evalf evaluates first, at the working precision (the arguments)."""
        return self.args

    def _eval_evalf(self, prec):
        values = [a._eval_evalf(prec) for a in self._evalf_args()]
        return None if any(v is None for v in values) else self._numeric(*values)._eval_evalf(prec)

    def _eval_is_real(self):
        return _REALNESS[self.realness](self.args)

    def _eval_is_positive(self):
        return True if self.positive and all(a.is_extended_real for a in self.args) else None

    def _explicit_for(self, printer):
        """The elementary form a SymPy code printer prints (``printer``: for a form it cannot evaluate)."""
        return self._of(*self.args)

    def _symnet_text(self, printer, **kwargs):
        if self.latex_name is None:
            return printer._print(self._shown(*self.args))
        args = ", ".join(printer._print(a) for a in self.args)
        return "%s(%s)" % (self.text_name or type(self).__name__, args)

    def _latex(self, printer, exp=None, **kwargs):
        if self.latex_name is None:
            body = printer._print(self._shown(*self.args))
            if self.bracketed:
                body = r"\left(%s\right)" % body
            elif exp is not None:
                return r"\left(%s\right)^{%s}" % (body, exp)
        else:
            body = r"%s\left(%s\right)" % (self.latex_name, ", ".join(printer._print(a) for a in self.args))
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _print_code(self, printer, *args, **kwargs):
        return "(" + printer._print(self._explicit_for(printer)) + ")"  # a sum: bracketed where a call stood

    for _method in _PRINT_METHODS:  # in the class body: every node inherits them
        locals()[_method] = _print_code
    del _method


class sigmoid(SymnetFunction):  # noqa: N801 - SymPy function classes are lower-case
    """The logistic sigmoid σ(x) = 1 / (1 + e^(−x))."""

    nargs = 1
    text_name, latex_name, realness, positive = "σ", r"\sigma", "argument", True

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

    @staticmethod
    def _of(x):
        return 1 / (1 + sp.exp(-x))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return self._of(x)

    def _explicit_for(self, printer):
        x = self.args[0]
        if _raises_on_overflow(printer):  # Python's math.exp(1000) raises: never call it there
            return sp.Piecewise((1 / (1 + sp.exp(-x)), x >= 0), (sp.exp(x) / (1 + sp.exp(x)), True))
        return 1 / (1 + sp.exp(-x))  # IEEE exp overflows to inf, and 1/(1 + inf) = 0


class relu(SymnetFunction):  # noqa: N801
    """The rectifier relu(x) = max(0, x); not differentiable at x = 0."""

    nargs = 1
    latex_name, realness = r"\operatorname{relu}", "argument"

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

    @staticmethod
    def _of(x):
        return sp.Max(0, x)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return self._of(x)


def _raises_on_overflow(printer) -> bool:
    """Plain Python ``math`` (not NumPy, whose printers derive from the same class)."""
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import MpmathPrinter, PythonCodePrinter, SymPyPrinter

    return (isinstance(printer, PythonCodePrinter)
            and not isinstance(printer, (NumPyPrinter, MpmathPrinter, SymPyPrinter)))


def explicit(expr: sp.Expr) -> sp.Expr:
    """Rewrite symnet's functions into elementary ones (σ → 1/(1+e^−x), relu → Max)."""
    return expr.replace(sigmoid, sigmoid._of).replace(relu, relu._of)
