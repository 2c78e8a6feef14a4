"""The NumPy emitter.

Expressions are lowered to NumPy ufunc calls that write into reused buffers; which
ufunc or helper each SymPy function becomes lives in the tables of ``_Lowering``. The emitter writes a standalone module (it
imports only NumPy): a header naming the formula, the checks of its inputs, then the
CSE'd assignments with the math of each output as a comment.
"""
from __future__ import annotations

import sympy as sp

from ..errors import SymnetError
from ..render import text
from .kernel import Kernel
from .stability import expm1, log1p

__all__ = ["emit_module", "emit_function", "HELPERS"]

# Helper functions a printed expression may call, emitted into the module when used.
HELPERS = {
    "_sigmoid": '''\
def _sigmoid(x, out=None):
    """σ(x) = 1/(1 + e^−x), in place. For x ≪ 0, e^−x overflows to inf and 1/(1 + inf)
    is 0, the right limit: that overflow is expected and silenced (σ(−1000) = 0)."""
    with np.errstate(over="ignore"):
        out = np.negative(x, out=out)
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)
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


class _Lowering:
    """Lower a kernel's CSE'd expressions to NumPy ufunc calls writing into buffers.

    Every intermediate array is a buffer; a buffer is written in place (``out=``) when
    an operand is a buffer no longer needed, or reused from a pool of dead ones, so a
    kernel allocates a few arrays instead of one per operation. Inputs are never
    written, and an array returned as an output is never reused.
    """

    UNARY = {sp.exp: "np.exp", sp.log: "np.log", log1p: "np.log1p", expm1: "np.expm1",
             sp.tanh: "np.tanh", sp.sin: "np.sin", sp.cos: "np.cos", sp.Abs: "np.abs"}
    SPECIAL = {"sigmoid": ("_sigmoid({0}, out={out})", "_sigmoid"),
               "softplus": ("np.logaddexp(0, {0}, out={out})", None),
               "relu": ("np.maximum({0}, 0, out={out})", None),
               "Heaviside": ("np.heaviside({0}, 0, out={out})", None)}  # relu'(0) = 0, as in PyTorch

    def __init__(self, names: dict, helpers: set):
        self.names = names  # input symbol → identifier
        self.helpers = helpers
        self.lines: list[str] = []
        self.pool: list[str] = []  # dead buffers, free for reuse
        self.count = 0
        self.temps: dict = {}  # CSE temporary → buffer name

    # -- operands: ("literal" | "input" | "buffer" | "fresh", text)
    def operand(self, e):
        if e.is_Number or (e.is_number and not e.free_symbols):  # exp(3) too: one float
            return ("literal", repr(float(e)))
        if e in self.names:
            return ("input", self.names[e])
        if e in self.temps:
            name = self.temps[e]
            return ("literal", name[1]) if isinstance(name, tuple) else ("buffer", name)
        return self.lower(e)

    def target(self, *operands):
        """Where an operation writes: a fresh intermediate operand in place, else a dead buffer."""
        for kind, name in operands:
            if kind == "fresh":
                return name, True
        if self.pool:
            return self.pool.pop(), True
        self.count += 1
        return f"b{self.count}", False

    def call(self, template, *operands, helper=None):
        out, exists = self.target(*operands)
        if helper:
            self.helpers.add(helper)
        args = [name for _, name in operands]
        self.free(*[o for o in operands if o[0] == "fresh" and o[1] != out])
        if exists:
            self.lines.append(template.format(*args, out=out))
        else:
            self.lines.append(f"{out} = " + template.format(*args, out="None"))
        return ("fresh", out)

    def free(self, *operands):
        for kind, name in operands:
            if kind == "fresh" and name not in self.pool:
                self.pool.append(name)

    def binary(self, ufunc, a, b):
        if a[0] == "literal" and b[0] == "literal":  # SymPy folds constants; kept for safety
            x, y = float(a[1]), float(b[1])
            value = {"add": x + y, "subtract": x - y, "multiply": x * y, "divide": x / y}[ufunc]
            return ("literal", repr(value))
        return self.call(f"np.{ufunc}({{0}}, {{1}}, out={{out}})", a, b)

    def lower(self, e):
        if e.is_Add:
            terms = [t.as_coeff_Mul() for t in e.args]
            terms.sort(key=lambda cm: bool(cm[0].is_negative))  # a − b, not −b + a
            acc = None
            for coeff, rest in terms:
                if rest == 1:
                    term, sign = ("literal", repr(float(abs(coeff)))), coeff < 0
                elif abs(coeff) == 1:
                    term, sign = self.operand(rest), coeff < 0
                else:
                    term, sign = self.binary("multiply", self.operand(rest), ("literal", repr(float(abs(coeff))))), coeff < 0
                if acc is None:
                    acc = self.call("np.negative({0}, out={out})", term) if sign else term
                else:
                    acc = self.binary("subtract" if sign else "add", acc, term)
            return acc
        if e.is_Mul:
            coeff, rest = e.as_coeff_Mul()
            factors = list(sp.Mul.make_args(rest))
            acc = self.operand(factors[0])
            for f in factors[1:]:
                if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp < 0:  # a·b⁻¹ as a/b
                    acc = self.binary("divide", acc, self.operand(f.base ** -f.exp))
                else:
                    acc = self.binary("multiply", acc, self.operand(f))
            if coeff == -1:
                return self.call("np.negative({0}, out={out})", acc)
            return acc if coeff == 1 else self.binary("multiply", acc, ("literal", repr(float(coeff))))
        if isinstance(e, sp.Pow):
            base, exp = e.args
            if exp == -1:
                return self.call("np.reciprocal({0}, out={out})", self.operand(base))
            if exp.is_Integer and exp < 0:
                return self.call("np.reciprocal({0}, out={out})", self.operand(base ** -exp))
            if exp == 2:
                b = self.operand(base)
                return self.call("np.multiply({0}, {1}, out={out})", b, b)
            if exp == sp.S.Half:
                return self.call("np.sqrt({0}, out={out})", self.operand(base))
            return self.binary_power(self.operand(base), self.operand(exp))
        if type(e) in self.UNARY:
            return self.call(self.UNARY[type(e)] + "({0}, out={out})", self.operand(e.args[0]))
        special = self.SPECIAL.get(type(e).__name__)
        if special is not None:
            return self.call(special[0], self.operand(e.args[0]), helper=special[1])
        raise SymnetError(f"the NumPy backend cannot generate {type(e).__name__} (in {e})")

    def binary_power(self, a, b):
        return self.call("np.power({0}, {1}, out={out})", a, b)


def _last_uses(statements) -> dict:
    """For each CSE temporary, the index of the last statement that reads it."""
    last = {}
    for k, expr in enumerate(statements):
        for s in expr.free_symbols:
            last[s] = k
    return last


def emit_function(kernel: Kernel, helpers: set | None = None) -> str:
    """One function; the names of the helpers it calls are added to ``helpers``."""
    helpers = set() if helpers is None else helpers
    args = ", ".join(i.name for i in kernel.inputs)
    outputs = ", ".join(o.name for o in kernel.outputs)
    doc = [f'    """{kernel.formula}', "", "    Arguments (float32 or float64 arrays of one shape):"]
    doc += [f"      {i.name}: {text(i.symbol)} ({i.role})" for i in kernel.inputs]
    doc += ["", f"    Returns ({outputs}):"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ['    """']
    helpers.update({"_inputs", "_result"})
    lines = [f"def {kernel.name}({args}):", *doc,
             f"    ({args},), _shape, _dtype = _inputs({', '.join(f'{i.name}={i.name}' for i in kernel.inputs)})"
             if len(kernel.inputs) == 1 else
             f"    ({args}), _shape, _dtype = _inputs({', '.join(f'{i.name}={i.name}' for i in kernel.inputs)})"]
    low = _Lowering({i.symbol: i.name for i in kernel.inputs}, helpers)
    statements = [e for _, e in kernel.assignments] + list(kernel.results)
    last = _last_uses(statements)
    temps = [t for t, _ in kernel.assignments]
    returned: set = set()
    for k, (temp, expr) in enumerate(kernel.assignments):
        if expr.is_number and not expr.free_symbols:  # a constant: a Python float, no array
            low.temps[temp] = ("literal", repr(float(expr)))
            continue
        low.lines.append(f"# {temp} = {text(expr)}")
        kind, name = low.operand(expr)
        if kind != "fresh":  # CSE never names a bare input or number; copy to be safe
            kind, name = low.call("np.positive({0}, out={out})", (kind, name))
        low.temps[temp] = name
        _release(low, temps, last, k, returned)
    for j, (out, result) in enumerate(zip(kernel.outputs, kernel.results)):
        k = len(kernel.assignments) + j
        low.lines.append(f"# {out.meaning} = {text(out.expr)}")
        kind, name = low.operand(result)
        if kind == "fresh" and name not in returned and not _still_needed(low, name, temps, last, k):
            low.lines.append(f"{out.name} = {name}")
            returned.add(name)
            if name in low.pool:
                low.pool.remove(name)
        else:  # an input, a literal, or an array another output still uses: a copy
            low.lines.append(f"{out.name} = _result({name}, _shape, _dtype)")
        _release(low, temps, last, k, returned)
    lines += ["    " + line for line in low.lines]
    lines.append(f"    return {outputs}" + ("," if len(kernel.outputs) == 1 else ""))
    return "\n".join(lines) + "\n"


def _still_needed(low, name, temps, last, k) -> bool:
    return any(low.temps.get(t) == name and last.get(t, -1) > k for t in temps)


def _release(low, temps, last, k, returned) -> None:
    """Buffers of temporaries read for the last time by statement k become reusable."""
    for t in temps:
        name = low.temps.get(t)
        if isinstance(name, tuple):
            continue
        if name and last.get(t, -1) <= k and name not in returned and name not in low.pool \
                and not _still_needed(low, name, temps, last, k):
            low.pool.append(name)


def emit_module(kernels: list[Kernel], source: str, regenerate: str) -> str:
    """A standalone module: header, helpers, then one function per kernel."""
    used: set = set()
    functions = [emit_function(k, used) for k in kernels]
    rules = {r.name: r.why for k in kernels for r in k.rules}
    header = ['"""Generated by symnet from {} — do not edit.'.format(source), ""]
    for k in kernels:
        header.append(f"{k.name}: {k.formula}")
    if rules:
        header += ["", "Stability rules applied:"] + [f"  {name}: {why}" for name, why in rules.items()]
    header += ["", f"Regenerate with: {regenerate}", '"""']
    helpers = [HELPERS[h] for h in HELPERS if h in used]
    body = "\n\n".join(helpers + functions)
    return "\n".join(header) + "\nimport numpy as np\n\n\n" + body
