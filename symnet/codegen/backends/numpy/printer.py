"""The NumPy printer: SymPy expressions as NumPy expressions over whole arrays, used by every
NumPy kernel family (elementwise, row-wise, dense layer, update rules).

Each function's lowering comes from the function registry (:mod:`symnet.registry`): its
NumPy template without the ``out=`` buffer (``np.tanh({0}, out={out})`` → ``np.tanh(z)``);
the code generator's own nodes (``nexp``) from the table ``FUNCTIONS``; Piecewise,
comparisons and Max/Min from :class:`~symnet.codegen.backends.printing.ConditionalPrinting`.
Unknown nodes raise, naming their type.

Statements in place: where a family keeps memory small (the row-wise blocks), the printer
chooses the in-place forms (:meth:`NumpyExpressionPrinter.assign_in_place`,
:meth:`NumpyExpressionPrinter.product_into`): a ufunc's ``out=`` is written here and nowhere
else.

Dtypes: a float32 array stays float32. A constant (``√2``, ``log 2``, ``e³``) is printed as a
Python float, which NumPy does not let widen an array (NEP 50), never as ``np.sqrt(2)``, a
float64 scalar that would; a select whose every value is a constant takes its dtype from
``dtype`` (the name of the kernel's dtype variable) where the family gives one.
"""
from __future__ import annotations

import copy

import math

import sympy as sp
from sympy.printing.str import StrPrinter

from ....errors import SymnetError
from ....registry import NUMPY_HELPERS, numpy_template
from ...doubleword import ORDER as DW_PRIMITIVES, leaf_identifiers, primitive_text, widened_function
from ..printing import ConditionalPrinting

__all__ = ["NumpyExpressionPrinter", "PRINTER_HELPERS"]

# Helpers the printed expressions call besides the registry's (NUMPY_HELPERS), emitted into a
# module where used; each takes the buffer ``out`` a statement in place writes (assign_into).
PRINTER_HELPERS = {
    "_sigmoid": '''\
def _sigmoid(x, out=None):
    """σ(x) from E = e^−|x| ≤ 1, which never overflows: 1/(1 + E) for x ≥ 0 and E/(1 + E)
    below, so σ(−100) in float32 is the subnormal 3.7e−44, not 0."""
    e = np.exp(-np.abs(x))
    return np.divide(np.where(x >= 0, 1, e), 1 + e, out=out)
''',
}

# the double-word primitives of the generated functions of widened sums (symnet.codegen.doubleword)
NUMPY_HELPERS.update({name: primitive_text(name, "numpy") for name in DW_PRIMITIVES})


class NumpyExpressionPrinter(ConditionalPrinting, StrPrinter):
    """SymPy expressions as NumPy expressions; ``helpers`` collects the helpers they call,
    ``names`` maps symbols to the identifiers the code uses (default: the symbol's name)."""

    # the table of ConditionalPrinting (symnet/codegen/backends/printing.py); & and | bind tighter than >
    BACKEND, WHERE, COMPARISON = "NumPy", "np.where({0}, {1}, {2})", "({0} {op} {1})"
    MAXIMUM, MINIMUM = "np.maximum({0}, {1})", "np.minimum({0}, {1})"
    # SymPy class name → template, {0} the printed argument: the code generator's own nodes;
    # the functions a formula may use take their NumPy templates from the registry
    FUNCTIONS = {"nexp": "np.exp(-({0}))"}

    def __init__(self, helpers: set, names: dict | None = None, dtype: str | None = None):
        super().__init__()
        self.helpers = helpers
        self.names = names or {}
        self.dtype = dtype
        # np.where of constants only is float64 (or int64): its first value takes the kernel's dtype
        self.CONSTANT_SELECT = f"{dtype}.type({{0}})" if dtype else None
        self.wide = False  # True: every input is a float64 block (the kernel's dtype is self.dtype)
        self.plain_widened = False  # True: a widened sum prints as its body (a generated function's float64 body)

    # the functions of one argument a statement may apply in place: np.exp(t, out=t)
    IN_PLACE = {sp.exp: "exp", sp.log: "log"}

    def assign_in_place(self, name: str, expr, buffer: str | None = None) -> list[str]:
        """Statements setting ``name`` to ``expr`` with one array: a function of IN_PLACE of a
        compound argument is applied in place to the argument (into ``buffer``, an array of its
        shape, where given and the argument is a sum of two terms); anything else is one
        assignment."""
        ufunc = self.IN_PLACE.get(type(expr))
        arg = expr.args[0] if ufunc else None
        if arg is None or arg.is_Atom:
            return [f"{name} = {self.doprint(expr)}"]
        if buffer is not None and isinstance(arg, sp.Add) and len(arg.args) == 2:
            a, b = sorted(arg.args, key=lambda t: t.could_extract_minus_sign())  # z_j, then −m
            if b.could_extract_minus_sign():
                first = f"{name} = np.subtract({self.doprint(a)}, {self.doprint(-b)}, out={buffer})"
            else:
                first = f"{name} = np.add({self.doprint(a)}, {self.doprint(b)}, out={buffer})"
        else:
            first = f"{name} = {self.doprint(arg)}"
        return [first, f"np.{ufunc}({name}, out={name})"]

    def assign_into(self, out: str, expr) -> str:
        """The statement writing ``expr`` into the existing array ``out``: its last operation
        (a sum, product, quotient, square or registry function) writes there itself through the
        ufunc's ``out=``, which saves a temporary and a copy a statement; anything else is
        ``out[...] = expr``."""
        code = self._into(out, expr) if not expr.is_number else None
        return code or f"{out}[...] = {self.doprint(expr)}"

    def _into(self, out: str, e) -> str | None:
        if isinstance(e, sp.Add):
            *rest, last = sorted(e.args, key=lambda t: t.could_extract_minus_sign())  # a − b, not −b + a
            head = sp.Add(*rest)
            if last.could_extract_minus_sign():
                return f"np.subtract({self.doprint(head)}, {self.doprint(-last)}, out={out})"
            return f"np.add({self.doprint(head)}, {self.doprint(last)}, out={out})"
        if isinstance(e, sp.Mul):
            factors = e.as_ordered_factors()
            # a quotient is one division, wherever SymPy orders its denominator: (p − t)/(p(1 − p))
            # printed as 1/(p(1 − p))·(p − t) rounded twice and overflowed the reciprocal of a
            # subnormal p (inf where the BCE gradient is 1 at p = 5e−324, t = 0)
            den = [f for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
            if den and len(den) < len(factors):
                num = sp.Mul(*[f for f in factors if f not in den])
                return f"np.divide({self.doprint(num)}, {self.doprint(sp.Mul(*[f.base for f in den]))}, out={out})"
            *rest, last = factors
            head = sp.Mul(*rest)
            if isinstance(last, sp.Pow) and last.exp == -1:
                return f"np.divide({self.doprint(head)}, {self.doprint(last.base)}, out={out})"
            return f"np.multiply({self.doprint(head)}, {self.doprint(last)}, out={out})"
        if isinstance(e, sp.Pow) and e.exp == 2:
            return f"np.square({self.doprint(e.base)}, out={out})"
        if isinstance(e, sp.Function):
            lowering = numpy_template(type(e))
            if lowering is not None and "out={out}" in lowering[0] and "{%d}" % (len(e.args) - 1) in lowering[0]:
                template, helper = lowering
                if helper:
                    self.helpers.add(helper)
                return template.format(*[self.doprint(a) for a in e.args], out=out)
        return None

    def product_into(self, out: str, a: str, b: str) -> str:
        """The statement writing the product of the printed ``a`` and ``b`` into the array ``out``."""
        return f"np.multiply({a}, {b}, out={out})"

    def _print(self, expr, **kwargs):
        # a constant expression (√2, log 2, 2π): one Python float, which keeps float32 float32
        if isinstance(expr, sp.Expr) and not expr.is_Atom and expr.is_number:
            try:
                value = float(expr)
            except TypeError:  # complex: left to the printer, which raises
                pass
            else:
                return self._float(value)
        return super()._print(expr, **kwargs)

    @staticmethod
    def _float(value: float) -> str:
        if math.isnan(value):
            return "np.nan"
        if math.isinf(value):
            return "np.inf" if value > 0 else "-np.inf"
        return repr(value)

    def _print_Symbol(self, e):
        return self.names.get(e, e.name)

    _print_Dummy = _print_Symbol

    def _print_Function(self, e):
        lowering = numpy_template(type(e))
        if lowering is None:
            template = self.FUNCTIONS.get(type(e).__name__)
            if template is None:
                raise SymnetError(f"the NumPy backend cannot generate {type(e).__name__} (in {e})")
            return template.format(self._print(e.args[0]))
        template, helper = lowering
        if helper:
            self.helpers.add(helper)
        return template.replace(", out={out}", "").format(*[self._print(a) for a in e.args])

    _print_Abs = _print_Heaviside = _print_sign = _print_Function

    def _print_WidenedBase(self, e):
        """A widened sum (the widen rule): a call of the function generated for its body
        (:func:`symnet.codegen.doubleword.widened_function`), which computes it in double-word
        arithmetic where the kernel's dtype is float64, in float64 where it is float32, and rounds
        once to the leaves' own dtype (np.asarray copies nothing where the kernel is float64; a
        Python float beside a float32 array stays float32, NEP 50)."""
        if self.plain_widened:  # inside a generated function's float64 body: the body itself
            return f"({self._print(e.expanded)})"
        name = self._widened_function(e)
        args = ", ".join(self._print(a) for a in e.args)
        if self.wide:  # the whole block is float64 already (emit_function): the dtype is the kernel's
            return f"{name}({args}, {self.dtype} == np.float64)"
        dtype = f"np.result_type({args})"
        return f"np.asarray({name}({args}, {dtype} == np.float64), {dtype})"

    def _widened_function(self, e) -> str:
        """The generated function of ``e``'s body, registered as a helper of the module."""
        names = leaf_identifiers(e.leaves)
        plain = copy.copy(self)  # the same printer (a family's subclass too), over the function's names
        plain.names, plain.CONSTANT_SELECT, plain.plain_widened = dict(zip(e.leaves, names)), None, True
        name, code, needs = widened_function(e, "numpy", plain, names)
        NUMPY_HELPERS.setdefault(name, code)
        self.helpers.update([name, *needs])
        return name

    def _print_nexp(self, e):  # e^−x: np.exp(-x), or np.exp(x) for e^−(−x)
        (arg,) = e.args
        if arg.could_extract_minus_sign():
            return f"np.exp({self._print(-arg)})"
        return self.FUNCTIONS["nexp"].format(self._print(arg))

    def _print_Float(self, e):
        return self._float(float(e))

    # an integer or fraction too large for a float (3·10³⁰⁸) printed exactly made the kernel raise
    # "OverflowError: int too large to convert to float" when NumPy met it: printed as its float
    # value instead (±inf past 1.8e308, as the arithmetic would give); smaller ones stay exact
    _EXACT_BELOW = 2**1000

    def _print_Integer(self, e):
        return str(e.p) if abs(e.p) < self._EXACT_BELOW else self._float(float(e))

    def _print_Rational(self, e):
        if abs(e.p) < self._EXACT_BELOW and e.q < self._EXACT_BELOW:
            return super()._print_Rational(e)
        return self._float(float(e))

    def _print_Pow(self, e, rational=False):
        if e.exp == sp.S.Half:
            return f"np.sqrt({self._print(e.base)})"
        if e.exp == -sp.S.Half:
            return f"1 / np.sqrt({self._print(e.base)})"
        return super()._print_Pow(e, rational)

    def _print_NumberSymbol(self, e):
        return self._float(float(e))

    _print_Pi = _print_Exp1 = _print_NumberSymbol
