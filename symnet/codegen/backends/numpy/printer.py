"""A NumPy printer for expressions over whole arrays (the dense-layer and row-wise families).

The elementwise emitter (:mod:`symnet.codegen.backends.numpy.elementwise`) lowers into buffers with
``out=``; kernel families that print one NumPy expression per formula use this printer
instead. Both take each function's lowering from the function registry
(:mod:`symnet.registry`): here its template without the ``out=`` buffer
(``np.tanh({0}, out={out})`` → ``np.tanh(z)``). Unknown nodes raise, naming their type.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from ....errors import SymnetError
from ....registry import numpy_template
from ..printing import ConditionalPrinting

__all__ = ["NumpyExpressionPrinter"]


class NumpyExpressionPrinter(ConditionalPrinting, StrPrinter):
    """SymPy expressions as NumPy expressions; ``helpers`` collects the helpers they call."""

    # the table of ConditionalPrinting (symnet/codegen/backends/printing.py); & and | bind tighter than >
    BACKEND, WHERE, COMPARISON = "NumPy", "np.where({0}, {1}, {2})", "({0} {op} {1})"
    MAXIMUM, MINIMUM = "np.maximum({0}, {1})", "np.minimum({0}, {1})"

    def __init__(self, helpers: set):
        super().__init__()
        self.helpers = helpers

    def _print_Function(self, e):
        lowering = numpy_template(type(e))
        if lowering is None:
            raise SymnetError(f"the NumPy backend cannot generate {type(e).__name__} (in {e})")
        template, helper = lowering
        if helper:
            self.helpers.add(helper)
        return template.replace(", out={out}", "").format(self._print(e.args[0]))

    def _print_sigmoid(self, e):  # σ(x) = 1/(1 + e^−x) over a whole array
        self.helpers.add("_logistic")
        return f"_logistic({self._print(e.args[0])})"

    _print_Abs = _print_Heaviside = _print_sign = _print_Function

    def _print_Float(self, e):
        return repr(float(e))

    def _print_Pow(self, e, rational=False):
        if e.exp == sp.S.Half:
            return f"np.sqrt({self._print(e.base)})"
        if e.exp == -sp.S.Half:
            return f"1 / np.sqrt({self._print(e.base)})"
        return super()._print_Pow(e, rational)

    def _print_NumberSymbol(self, e):
        return repr(float(e))

    _print_Pi = _print_Exp1 = _print_NumberSymbol
