"""The NumPy emitter.

Expressions are lowered to NumPy ufunc calls that write into reused buffers; which
ufunc or helper each SymPy function becomes lives in the tables of ``_Lowering``. The emitter writes a standalone module (it
imports only NumPy): a header naming the formula, the checks of its inputs, then the
CSE'd assignments with the math of each output as a comment.

Names: the function is called with the user's names; inside, each input and output is a
local identifier from :func:`~symnet.codegen.ir.local_names` that avoids every name the
skeleton uses (``np``, builtins, the helpers, ``_shape``, ``_n``, scratch buffers ``b1``, …,
and the whole-length array ``_x`` behind each block view ``x``). ``symnet.compile`` binds
the user's names to the parameters in order, so an input named ``b1`` or ``range`` is
called as ``k(b1=...)`` although the generated code reads ``b1_``.
"""
from __future__ import annotations

import re

import sympy as sp

from ....errors import InvalidNameError, SymnetError
from ....render import text
from ....registry import NUMPY_HELPERS, numpy_template
from ...ir import COMMON_NAMES, Kernel, local_names
from ...rewrite import SIGMOID_PAIR, nexp

__all__ = ["emit_module", "emit_function", "reserved_names", "HELPERS"]

# Helper functions a printed expression may call, emitted into the module when used.
HELPERS = {
    "_sigmoid": '''\
def _sigmoid(x, out):
    """σ(x) in place from E = e^−|x| ≤ 1, which never overflows: 1/(1 + E) for x ≥ 0 and
    E/(1 + E) below, so σ(−100) in float32 is the subnormal 3.7e−44, not 0."""
    e = np.exp(-np.abs(x))
    return np.divide(np.where(x >= 0, 1, e), 1 + e, out=out)
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
    "_flat": '''\
def _flat(a, n):
    """``a`` as n values in a row: a contiguous array's own memory, a 0-d value repeated."""
    return np.broadcast_to(a, (n,)) if a.ndim == 0 else np.ascontiguousarray(a).reshape(-1)
''',
}

# The names the elementwise function's own code uses besides COMMON_NAMES and the helpers'
# names; user names get local identifiers that avoid them, and avoid scratch buffers b1, b2, …
# (with their whole-length arrays _b1, _b2, …), and for each local x its whole array _x.
SKELETON_NAMES = frozenset({"_BLOCK", "_shape", "_dtype", "_n", "_i"})
_SCRATCH = re.compile(r"_?b\d+")
LOCAL_FORMS = ("{}", "_{}")


def reserved_names(kernel: Kernel):
    """Whether a name is one the generated function of ``kernel`` uses for itself."""
    names = COMMON_NAMES | SKELETON_NAMES | set(HELPERS) | set(NUMPY_HELPERS) | {kernel.name}
    return lambda name: name in names or _SCRATCH.fullmatch(name) is not None


# Elements per block: every operation runs over one block at a time, so the temporaries
# stay in the CPU cache and memory sees each input read once and each output written once.
BLOCK = 16384


class _Lowering:
    """Lower a kernel's CSE'd expressions to NumPy ufunc calls writing into buffers.

    Every intermediate is a block-sized scratch buffer, written in place (``out=``): an
    operand buffer no longer needed, else one from the pool of dead ones, else a new one.
    Inputs are never written. The emitted function allocates its outputs and the few
    scratch buffers once, then runs the operations block by block.
    """

    # which ufunc or helper each function becomes: the NumPy templates of the function
    # registry (symnet.registry), e.g. sigmoid → "_sigmoid({0}, out={out})"
    COMPARE = {">": ">", "<": "<", ">=": ">=", "<=": "<=", "==": "==", "!=": "!="}
    UFUNC = {">": "greater", "<": "less", ">=": "greater_equal", "<=": "less_equal", "==": "equal",
             "!=": "not_equal"}

    def __init__(self, names: dict, helpers: set):
        self.names = names  # input symbol → identifier
        self.helpers = helpers
        self.lines: list[str] = []
        self.pool: list[str] = []  # dead buffers, free for reuse
        self.count = 0
        self.temps: dict = {}  # CSE temporary → buffer name, or ("literal", text)
        self.written: dict = {}  # buffer → index of the line that last wrote it
        self.branches = False  # a Piecewise was lowered: np.where computes every branch

    # -- operands: ("literal" | "input" | "buffer" | "fresh", text)
    def operand(self, e):
        if e.is_Number or (e.is_number and not e.free_symbols):  # exp(3) too: one float
            return ("literal", repr(float(e)))
        if e in self.names:
            return ("input", self.names[e])
        if e in self.temps:
            name = self.temps[e]
            return name if isinstance(name, tuple) else ("buffer", name)
        return self.lower(e)

    def target(self, *operands) -> str:
        """Where an operation writes: a fresh intermediate operand in place, else a dead buffer."""
        for kind, name in operands:
            if kind == "fresh":
                return name
        if self.pool:
            return self.pool.pop()
        self.count += 1
        return f"b{self.count}"

    def call(self, template, *operands, helper=None):
        out = self.target(*operands)
        if helper:
            self.helpers.add(helper)
        self.free(*[o for o in operands if o[0] == "fresh" and o[1] != out])
        self.lines.append(template.format(*[name for _, name in operands], out=out))
        self.written[out] = len(self.lines) - 1
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
        if isinstance(e, sp.UnevaluatedExpr):  # a sum kept whole (the affine-root rule's (x + 3)/6)
            return self.lower(e.args[0])
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
            if isinstance(rest, sp.UnevaluatedExpr) and coeff.is_Rational and coeff.p == 1 and coeff.q > 1:
                return self.binary("divide", self.operand(rest), ("literal", repr(float(coeff.q))))  # (x + 3)/6
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
            return self.call("np.power({0}, {1}, out={out})", self.operand(base), self.operand(exp))
        if isinstance(e, nexp):  # e^−x
            arg = e.args[0]
            if arg.could_extract_minus_sign():
                return self.call("np.exp({0}, out={out})", self.operand(-arg))
            return self.call("np.exp({0}, out={out})", self.call("np.negative({0}, out={out})", self.operand(arg)))
        if isinstance(e, sp.Piecewise):
            return self.piecewise(e)
        if isinstance(e, sp.core.relational.Relational) and e.rel_op in self.UFUNC:  # a condition CSE
            return self.call(f"np.{self.UFUNC[e.rel_op]}({{0}}, {{1}}, out={{out}})",  # shared: 0 or 1
                             self.operand(e.lhs), self.operand(e.rhs))
        if isinstance(e, (sp.And, sp.Or)):
            acc = self.operand(e.args[0])
            for a in e.args[1:]:
                acc = self.call(f"np.logical_{'and' if isinstance(e, sp.And) else 'or'}({{0}}, {{1}}, out={{out}})",
                                acc, self.operand(a))
            return acc
        if isinstance(e, sp.Not):
            return self.call("np.logical_not({0}, out={out})", self.operand(e.args[0]))
        lowering = numpy_template(type(e))
        if lowering is not None:
            template, helper = lowering
            if isinstance(e, (sp.Max, sp.Min)):  # a binary ufunc, folded over the arguments
                acc = self.operand(e.args[0])
                for a in e.args[1:]:
                    acc = self.call(template, acc, self.operand(a), helper=helper)
                return acc
            return self.call(template, self.operand(e.args[0]), helper=helper)
        raise SymnetError(f"the NumPy backend cannot generate {type(e).__name__} (in {e})")

    def piecewise(self, e):
        """A Piecewise as nested np.where: every branch is computed over the block and the
        condition picks, so the branches not taken may overflow (silenced, and discarded)."""
        *pieces, (last, cond) = e.args
        if cond != sp.true:
            raise SymnetError(f"the NumPy backend needs a Piecewise with an 'otherwise' branch (in {e})")
        operands: list = []

        def slot(op) -> str:
            operands.append(op)
            return "{%d}" % (len(operands) - 1)

        def condition(c) -> str:
            if isinstance(c, sp.core.relational.Relational) and c.rel_op in self.COMPARE:
                return f"({slot(self.operand(c.lhs))} {self.COMPARE[c.rel_op]} {slot(self.operand(c.rhs))})"
            if isinstance(c, (sp.And, sp.Or)):
                parts = [condition(a) for a in c.args]
                combined = parts[0]
                for p in parts[1:]:
                    combined = f"np.logical_{'and' if isinstance(c, sp.And) else 'or'}({combined}, {p})"
                return combined
            if isinstance(c, sp.Not):
                return f"np.logical_not({condition(c.args[0])})"
            if c.is_Symbol or isinstance(c, (sp.Dummy,)):  # a condition the CSE shared: 0.0 or 1.0
                return f"({slot(self.operand(c))} != 0)"
            raise SymnetError(f"the NumPy backend cannot generate the condition {c} (in {e})")

        chosen = slot(self.operand(last))
        for value, c in reversed(pieces):
            chosen = f"np.where({condition(c)}, {slot(self.operand(value))}, {chosen})"
        self.branches = True
        return self.call(f"np.positive({chosen}, out={{out}})", *operands)


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
    helpers.update({"_inputs", "_flat"})
    if kernel.name in COMMON_NAMES:  # a module-level def would hide the module or builtin from the code
        raise InvalidNameError(f"the kernel name {kernel.name!r} is used by the generated module itself "
                               "(a Python builtin or module name); choose another")
    local = local_names([i.name for i in kernel.inputs] + [o.name for o in kernel.outputs],
                        reserved_names(kernel), LOCAL_FORMS)
    inputs = [local[i.name] for i in kernel.inputs]
    outputs = [local[o.name] for o in kernel.outputs]
    doc = [f'    """{kernel.formula}', "", "    Arguments (float32 or float64 arrays of one shape):"]
    doc += [f"      {i.name}: {text(i.symbol)} ({i.role})" for i in kernel.inputs]
    doc += ["", f"    Returns ({', '.join(o.name for o in kernel.outputs)}):"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ['    """']

    # the body, over one block: inputs and outputs are block views, b1, b2, … scratch buffers
    low = _Lowering({i.symbol: local[i.name] for i in kernel.inputs}, helpers)
    statements = [e for _, e in kernel.assignments] + list(kernel.results)
    last = _last_uses(statements)
    temps = [t for t, _ in kernel.assignments]
    for k, (temp, expr) in enumerate(kernel.assignments):
        if expr.is_number and not expr.free_symbols:  # a constant: a Python float, no array
            low.temps[temp] = ("literal", repr(float(expr)))
            continue
        low.lines.append(f"# {temp} = {text(expr)}")
        kind, name = low.operand(expr)
        low.temps[temp] = (kind, name) if kind in ("input", "literal") else name
        _release(low, temps, last, k)
    for j, (out, result, ident) in enumerate(zip(kernel.outputs, kernel.results, outputs)):
        k = len(kernel.assignments) + j
        low.lines.append(f"# {out.meaning} = {text(out.expr)}")
        kind, name = low.operand(result)
        if kind == "fresh" and name in low.written and not _still_needed(low, name, temps, last, k):
            # the operation that made the value writes it straight into the output instead
            at = low.written.pop(name)
            line = low.lines[at]
            head, _, tail = line.rpartition(f"out={name})")
            low.lines[at] = f"{head}out={ident}){tail}"
            low.free((kind, name))
        else:  # an input, a number, or a value another output still reads: copied
            low.lines.append(f"np.copyto({ident}, {name})")
        _release(low, temps, last, k)

    scratch = [f"b{k}" for k in range(1, low.count + 1)]
    views = inputs + outputs
    lines = [f"def {kernel.name}({', '.join(inputs)}):", *doc,
             f"    ({', '.join(inputs)}{',' if len(inputs) == 1 else ''}), _shape, _dtype = "
             f"_inputs({', '.join(f'{i.name}={n}' for i, n in zip(kernel.inputs, inputs))})"]
    lines += [f"    {o} = np.empty(_shape, _dtype)" for o in outputs]
    lines += ["    _n = int(np.prod(_shape))"]
    lines += [f"    _{v} = _flat({v}, _n)" for v in inputs]
    lines += [f"    _{v} = {v}.reshape(-1)  # a view: written block by block" for v in outputs]
    if scratch:
        lines += [f"    _{b} = np.empty(min(_n, _BLOCK), _dtype)" for b in scratch]
    loop = ["for _i in range(0, _n, _BLOCK):",
            f"    {', '.join(views)} = {', '.join(f'_{v}[_i:_i + _BLOCK]' for v in views)}"]
    if scratch:
        loop.append(f"    {', '.join(scratch)} = {', '.join(f'_{b}[:{outputs[0]}.size]' for b in scratch)}")
    loop += ["    " + line for line in low.lines]
    silence = set()  # σ's expected overflows: e^−x → ∞ for x ≪ 0, and 1/e^−x → ∞ for x ≫ 0
    if any("_sigmoid(" in line for line in low.lines) or SIGMOID_PAIR in kernel.rules:
        silence.add("over")
    if SIGMOID_PAIR in kernel.rules:
        silence.add("divide")
    why = "e^−x → ∞, 1/e^−x → ∞ give σ its limits 0 and 1"
    if low.branches:
        silence |= {"over", "divide", "invalid"}
        why = "np.where computes every branch: one not taken may overflow or be NaN, and is dropped"
    if silence:
        args = ", ".join(f'{w}="ignore"' for w in sorted(silence, reverse=True))
        lines.append(f"    with np.errstate({args}):  # {why}")
        lines += ["        " + line for line in loop]
    else:
        lines += ["    " + line for line in loop]
    # the loop rebinds the output names to block views: return the whole arrays, in the inputs' shape
    lines.append(f"    return {', '.join(f'_{o}.reshape(_shape)' for o in outputs)}" + ("," if len(outputs) == 1 else ""))
    return "\n".join(lines) + "\n"


def _still_needed(low, name, temps, last, k) -> bool:
    return any(low.temps.get(t) == name and last.get(t, -1) > k for t in temps)


def _release(low, temps, last, k) -> None:
    """Buffers of temporaries read for the last time by statement k become reusable."""
    for t in temps:
        name = low.temps.get(t)
        if isinstance(name, tuple):
            continue
        if name and last.get(t, -1) <= k and name not in low.pool \
                and not _still_needed(low, name, temps, last, k):
            low.pool.append(name)


def emit_module(kernels: list[Kernel], source: str, regenerate: str) -> str:
    """A standalone module: header, helpers, then one function per kernel."""
    from ...families.dense import LAYER_HELPERS, LayerKernel, emit_layer_function
    from .rowwise import HELPER_IMPORTS, ROW_HELPERS, emit_row_function
    from ...families.rowwise import RowKernel
    used: set = set()
    functions = [emit_row_function(k, used) if isinstance(k, RowKernel) else
                 emit_layer_function(k, used) if isinstance(k, LayerKernel) else emit_function(k, used)
                 for k in kernels]
    rules = {r.name: r.why for k in kernels for r in getattr(k, "rules", ())}
    header = ['"""Generated by symnet from {} — do not edit.'.format(source), ""]
    for k in kernels:
        header.append(f"{k.name}: {k.formula}")
    if rules:
        header += ["", "Stability rules applied:"] + [f"  {name}: {why}" for name, why in rules.items()]
    header += ["", f"Regenerate with: {regenerate}", '"""']
    every = {**HELPERS, **ROW_HELPERS, **LAYER_HELPERS, **NUMPY_HELPERS}
    helpers = [every[h] for h in every if h in used]
    body = "\n\n".join(helpers + functions)
    block = f"_BLOCK = {BLOCK}  # elements per block: the temporaries of a block stay in cache\n" \
        + ("\n" if body.startswith("_") else "\n\n") if "_BLOCK" in body else "\n"
    imports = sorted({i for h in used for i in HELPER_IMPORTS.get(h, ())}, key=lambda i: (i.startswith("from"), i))
    imports = "\n".join(imports + ["", "import numpy as np"] if imports else ["import numpy as np"])
    return "\n".join(header) + "\n" + imports + "\n\n" + block + body
