"""The NumPy printer and emitter.

The printer is SymPy's ``NumPyPrinter`` plus a table for symnet's functions: what differs
between backends lives in such tables. The emitter writes a standalone module (it
imports only NumPy): a header naming the formula, the checks of its inputs, then the
CSE'd assignments with the math of each output as a comment.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from ..render import text
from .kernel import Kernel

__all__ = ["NumpyKernelPrinter", "emit_module", "emit_function", "HELPERS"]

# Helper functions a printed expression may call, emitted into the module when used.
HELPERS = {
    "_sigmoid": '''\
def _sigmoid(x):
    """σ(x) = 1/(1 + e^−x), as 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0, e = e^−|x|:
    e ≤ 1, so nothing overflows (σ(−1000) = 0, σ(1000) = 1 in float32)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1, e) / (1 + e)
''',
    "_inputs": '''\
def _inputs(**named):
    """The arguments as arrays of one floating dtype and one shape (0-d values broadcast).

    Refuses what NumPy would silently accept: integer or complex data, float16, and
    shapes that differ (NumPy would broadcast (n, 1) against (n,) into (n, n))."""
    arrays = {}
    for name, value in named.items():
        if value is None:
            raise TypeError(f"argument {name!r} is missing (got None)")
        array = np.asarray(value)
        if array.dtype not in (np.float32, np.float64):
            raise TypeError(f"argument {name!r} must hold float32 or float64 values, not {array.dtype}")
        arrays[name] = array
    shaped = {name: a for name, a in arrays.items() if a.ndim > 0}
    shape = ()
    for name, a in shaped.items():
        if shape == ():
            shape, first = a.shape, name
        elif a.shape != shape:
            raise ValueError(f"argument {name!r} has shape {a.shape} but {first!r} has shape {shape}; "
                             "pass arrays of one shape (symnet does not broadcast)")
    dtype = np.result_type(*(shaped or arrays).values())
    return [a.astype(dtype, copy=False) for a in arrays.values()], shape, dtype
''',
    "_result": '''\
def _result(value, shape, dtype):
    """An output with the inputs' shape and dtype, never aliasing an input."""
    value = np.asarray(value, dtype=dtype)
    return np.array(np.broadcast_to(value, shape), dtype=dtype) if value.shape != shape else value
''',
}


class NumpyKernelPrinter(NumPyPrinter):
    """NumPy source for one expression; symnet's functions from the table below."""

    FUNCTIONS = {
        "sigmoid": "_sigmoid({0})",
        "softplus": "np.logaddexp(0, {0})",
        "relu": "np.maximum({0}, 0)",
    }

    def __init__(self, settings=None):
        super().__init__(settings)
        self.helpers: set = set()

    def _module_format(self, fqn, register=True):
        out = super()._module_format(fqn, register)
        return "np." + out[len("numpy."):] if out.startswith("numpy.") else out

    def _print_Function(self, expr):
        template = self.FUNCTIONS.get(type(expr).__name__)
        if template is None:
            return super()._print_Function(expr)
        if template.startswith("_"):
            self.helpers.add(template.split("(")[0])
        return template.format(*(self._print(a) for a in expr.args))

    def _print_Heaviside(self, expr):
        # undefined at 0 in the math; relu'(0) = 0 here, as in PyTorch
        return "np.heaviside({0}, 0)".format(self._print(expr.args[0]))

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.args
        if exp == 2:  # x*x is exact and cheaper than the general power
            b = self.parenthesize(base, sp.printing.precedence.PRECEDENCE["Mul"])
            return f"{b}*{b}"
        return super()._print_Pow(expr, rational=rational)


def emit_function(kernel: Kernel, printer: NumpyKernelPrinter | None = None) -> str:
    printer = printer or NumpyKernelPrinter()
    args = ", ".join(i.name for i in kernel.inputs)
    names = {i.symbol: sp.Symbol(i.name) for i in kernel.inputs}
    outputs = ", ".join(o.name for o in kernel.outputs)
    doc = [f'    """{kernel.formula}', "", "    Arguments (float32 or float64 arrays of one shape):"]
    doc += [f"      {i.name}: {text(i.symbol)} ({i.role})" for i in kernel.inputs]
    doc += ["", f"    Returns ({outputs}):"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ['    """']
    printer.helpers.update({"_inputs", "_result"})
    lines = [f"def {kernel.name}({args}):", *doc,
             f"    ({args},), _shape, _dtype = _inputs({', '.join(f'{i.name}={i.name}' for i in kernel.inputs)})"
             if len(kernel.inputs) == 1 else
             f"    ({args}), _shape, _dtype = _inputs({', '.join(f'{i.name}={i.name}' for i in kernel.inputs)})"]
    for temp, expr in kernel.assignments:
        lines.append(f"    {temp} = {printer.doprint(expr.xreplace(names))}")
    for out, result in zip(kernel.outputs, kernel.results):
        lines.append(f"    # {out.meaning} = {text(out.expr)}")
        lines.append(f"    {out.name} = _result({printer.doprint(result.xreplace(names))}, _shape, _dtype)")
    lines.append(f"    return {outputs}" + ("," if len(kernel.outputs) == 1 else ""))
    return "\n".join(lines) + "\n"


def emit_module(kernels: list[Kernel], source: str, regenerate: str) -> str:
    """A standalone module: header, helpers, then one function per kernel."""
    printer = NumpyKernelPrinter()
    functions = [emit_function(k, printer) for k in kernels]
    rules = {r.name: r.why for k in kernels for r in k.rules}
    header = ['"""Generated by symnet from {} — do not edit.'.format(source), ""]
    for k in kernels:
        header.append(f"{k.name}: {k.formula}")
    if rules:
        header += ["", "Stability rules applied:"] + [f"  {name}: {why}" for name, why in rules.items()]
    header += ["", f"Regenerate with: {regenerate}", '"""']
    helpers = [HELPERS[h] for h in HELPERS if h in printer.helpers]
    body = "\n\n".join(helpers + functions)
    return "\n".join(header) + "\nimport numpy as np\n\n\n" + body
