"""Layer kernels: dense layers and the Elman RNN step, from their index-form derivations.

A layer is derived for one example, entry by entry (``z_i = Σ_k W_ik a_k + b_i``,
``δ_j = g_j σ'(z_j)``, ``∂C/∂W_jk = δ_j a_k``). A batch of examples adds one leading
axis to every per-example family (a, z, y, g, δ …) and none to the parameters (W, b);
the cost of a batch is the sum of the examples' costs, so a parameter's gradient is the
per-example formula summed over the batch. Each formula then becomes one NumPy
contraction: a product of entries summed over indices is an ``einsum`` (printed as a
matrix product ``A @ B.T`` where it is one, which NumPy hands to BLAS), anything else is
elementwise over the (batch, entry) axes.

The backward functions take the forward outputs the formula needs (``y = σ(z)``) instead
of recomputing them: every ``σ(z_j)`` in a gradient is replaced by the saved ``y_j``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from ...errors import SymnetError
from ...functions import sigmoid
from ...indexed import derive_indexed
from ...registry import NUMPY_HELPER_NEEDS, REGISTRY, activation_names
from ...render import text
from ..backends.numpy.printer import NumpyExpressionPrinter

__all__ = ["LayerKernel", "layer_modules", "dense_layer_kernels", "ACTIVATIONS", "emit_layer_function", "LAYER_HELPERS"]

LAYER_HELPERS = {
    # session 30 (h-sig30): float32 σ took NumPy's float32 exp (its SIMD approximation, up to 2.35 ULP off): 3.37 ULP
    # over 2·10⁶ random points, at −16.6497 where torch.sigmoid's is 0.63 (tests/test_sig28.py); float64 with fewer
    # passes than session 28's (benchmarks/results/sig30-2026-12-05.md)
    "_logistic": '''\
def _logistic(x):
    """σ(x) = 1/(1 + e^−x): e^−x overflows to inf for x ≪ 0 and 1/(1 + inf) = 0 is right. float32: E/(1 + E), E = e^x,
    in float64 (NumPy's float32 exp is its SIMD approximation, 2.35 ULP off; its float64 exp is libm's, within 1 ULP of
    float64), the float64 quotient rounded once to float32: within 0.5 + 2⁻²⁷ ULP. x above 709 is taken as 709 (no
    overflow; σ rounds to 1 alike); e^x underflows to 0 for x ≪ 0, σ's limit; NaN stays NaN."""
    if x.dtype != np.float32:
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(np.minimum(x, 709.0, dtype=np.float64))
    return (e / (e + 1.0)).astype(np.float32)
''',
    "_batch": '''\
def _batch(name, x, dims, dtype=None):
    """A float32/float64 array with the given trailing sizes (None: any), checked by name; a numpy.ma
    masked array refused (_unmasked: np.asarray would drop its mask)."""
    x = np.asarray(_unmasked(x, name))
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"argument {name!r} must hold float32 or float64 values, not {x.dtype}")
    if x.ndim != len(dims) or any(d is not None and s != d for s, d in zip(x.shape, dims)):
        want = "(" + ", ".join("·" if d is None else str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
        raise ValueError(f"argument {name!r} has shape {x.shape}, expected {want}")
    return x if dtype is None else x.astype(dtype, copy=False)
''',
}


NUMPY_HELPER_NEEDS["_batch"] = ("_unmasked",)  # a masked array refused


@dataclass(frozen=True)
class LayerArg:
    name: str
    base: sp.IndexedBase
    indices: tuple  # the index symbols of one example's entry (W: (i, k); a: (k,))
    batched: bool  # has a leading batch axis
    meaning: str


@dataclass(frozen=True)
class LayerOutput:
    name: str
    indices: tuple
    expr: sp.Expr  # in terms of the arguments' entries
    meaning: str
    per_example: bool = True  # False: a parameter's gradient, summed over the batch


@dataclass(frozen=True)
class LayerKernel:
    name: str
    formula: str
    args: tuple[LayerArg, ...]
    outputs: tuple[LayerOutput, ...]
    steps: tuple[tuple[sp.IndexedBase, LayerOutput], ...] = ()  # named intermediates, computed first


# ------------------------------------------------------------------ NumPy printing

class _Operand:
    def __init__(self, code: str, axes: tuple):
        self.code, self.axes = code, axes  # axes: index symbols, "batch" first where batched


class _LayerPrinter(NumpyExpressionPrinter):
    """Elementwise parts of a layer formula over (batch, entry) arrays; the functions as the
    registry lowers them (NumpyExpressionPrinter)."""

    printmethod = "_symnet_numpy"
    TAKEN_AGAIN = False  # (no product or sum taken again in a layer's formulas: ConditionalPrinting.TAKEN_AGAIN)

    def __init__(self, lowering):
        super().__init__(lowering.helpers)
        self.lowering = lowering

    def _print_Indexed(self, e):
        return self.lowering.elementwise_operand(e)

    def _print_sigmoid(self, e):
        self.lowering.helpers.add("_logistic")
        return f"_logistic({self._print(e.args[0])})"

    def _print_exp(self, e):
        return f"np.exp({self._print(e.args[0])})"

    def _print_Sum(self, e):
        return self.lowering.contraction_operand(e)

    def _print_Float(self, e):
        return repr(float(e))


class _EinsumOperands:
    """Indexed entries and sums of a dense layer as einsum operands (axes: batch?, free indices);
    every scalar expression between them is printed by the NumPy printer."""
    def __init__(self, kernel: LayerKernel, helpers: set):
        self.args = {a.base: a for a in kernel.args}
        for base, step in kernel.steps:  # an intermediate reads like a per-example argument
            self.args[base] = LayerArg(step.name, base, step.indices, True, step.meaning)
        self.helpers = helpers
        self.axes: tuple = ()  # the axes of the array being printed elementwise

    def batched(self, e) -> bool:
        return any(self.args[x.base].batched for x in e.atoms(sp.Indexed))

    def operand(self, e) -> _Operand:
        """An array for ``e`` with axes (batch?, its free indices in first-seen order)."""
        if isinstance(e, sp.Indexed):
            arg = self.args[e.base]
            idx = tuple(e.indices)
            if any(not isinstance(q, sp.Symbol) for q in idx):
                raise SymnetError(f"a layer formula reads entries at plain indices, not {e}")
            return _Operand(arg.name, (("batch",) if arg.batched else ()) + idx)
        if isinstance(e, sp.Sum) or e.is_Mul:
            return _Operand(self.contraction_operand(e), self._axes_of(e))
        free = self._axes_of(e)
        saved, self.axes = self.axes, free
        code = _LayerPrinter(self).doprint(e)
        self.axes = saved
        return _Operand(f"({code})", free)

    def _axes_of(self, e) -> tuple:
        bound = {lim[0] for s in e.atoms(sp.Sum) for lim in s.limits}
        order = []
        for x in sorted(e.atoms(sp.Indexed), key=sp.default_sort_key):
            for q in x.indices:
                if q not in bound and q not in order:
                    order.append(q)
        return (("batch",) if self.batched(e) else ()) + tuple(order)

    def elementwise_operand(self, e) -> str:
        """An entry inside an elementwise formula, broadcast to the formula's axes."""
        op = self.operand(e)
        return self.align(op, self.axes)

    def contraction_operand(self, e) -> str:
        return self.contract(e, self._axes_of(e))

    def align(self, op: _Operand, axes: tuple) -> str:
        if op.axes == axes:
            return op.code
        if set(op.axes) <= set(axes) and [a for a in axes if a in op.axes] == list(op.axes):
            index = ", ".join(":" if a in op.axes else "None" for a in axes)
            return f"{op.code}[{index}]"
        return self.contract_operands([op], axes)

    def contract(self, e, axes: tuple) -> str:
        """Σ over bound indices of a product of factors, as one einsum / matrix product."""
        body, bound = e, []
        while isinstance(body, sp.Sum):
            bound += [lim[0] for lim in body.limits]
            body = body.function
        coeff, factors = body.as_coeff_mul()
        ops = [self.operand(f) for f in factors]
        code = self.contract_operands(ops, axes)
        return code if coeff == 1 else f"{float(coeff)!r} * {code}"

    def contract_operands(self, ops, axes: tuple) -> str:
        letters: dict = {"batch": "Z"}
        for op in ops:
            for a in op.axes:
                letters.setdefault(a, "abcdefghijklmnopqrstuvwxy"[len(letters) - 1])
        spec = [("".join(letters[a] for a in op.axes), op.code) for op in ops]
        out = "".join(letters[a] for a in axes)
        if len(spec) == 1 and spec[0][0] == out:  # nothing to sum or move
            return spec[0][1]
        if len(spec) > 1 and all(sub == out for sub, _ in spec):  # an elementwise product
            return " * ".join(code for _, code in spec)
        if len(spec) == 2:
            matmul = _as_matmul(spec[0], spec[1], out)
            if matmul:
                return matmul
        if len(spec) == 1 and sorted(spec[0][0]) == sorted(out) and len(out) == 2 and spec[0][0] != out:
            return f"{spec[0][1]}.T"
        if len(spec) == 1 and len(out) == len(spec[0][0]) - 1 and spec[0][0][1:] == out:
            return f"{spec[0][1]}.sum(axis=0)"
        subscripts = ",".join(s for s, _ in spec) + "->" + out
        return f"np.einsum({subscripts!r}, {', '.join(c for _, c in spec)}, optimize=True)"


def _as_matmul(a, b, out):
    """``A @ B`` (with transposes) for a two-operand contraction over one index, if it is one."""
    (sa, ca), (sb, cb) = a, b
    shared = set(sa) & set(sb)
    summed = shared - set(out)
    if len(sa) != 2 or len(sb) != 2 or len(summed) != 1 or shared != summed:
        return None
    (c,) = summed
    fa, fb = sa.replace(c, ""), sb.replace(c, "")
    if out == fa + fb:
        left = ca if sa == fa + c else f"{ca}.T"
        right = cb if sb == c + fb else f"{cb}.T"
        return f"{left} @ {right}"
    if out == fb + fa:
        left = cb if sb == fb + c else f"{cb}.T"
        right = ca if sa == c + fa else f"{ca}.T"
        return f"{left} @ {right}"
    return None


def emit_layer_function(kernel: LayerKernel, helpers: set) -> str:
    helpers.add("_batch")
    low = _EinsumOperands(kernel, helpers)
    names = [a.name for a in kernel.args]
    doc = [f'    """{kernel.formula}', "", "    Arguments (float32 or float64; B examples in a batch):"]
    doc += [f"      {a.meaning}" for a in kernel.args]
    doc += ["", "    Returns " + (f"({', '.join(o.name for o in kernel.outputs)}):" if len(kernel.outputs) > 1
                                 else f"{kernel.outputs[0].name}:")]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc.append('    """')
    # sizes: each index symbol is named by the first argument that has it
    size_of: dict = {}
    checks = []
    for a in kernel.args:
        dims = (["None" if "_B" not in size_of.values() else "_B"] if a.batched else []) + \
            ["None" if size_of.get(q) is None else size_of[q] for q in a.indices]
        cast = "" if a is kernel.args[0] else f", {kernel.args[0].name}.dtype"
        checks.append(f"{a.name} = _batch({a.name!r}, {a.name}, ({', '.join(dims)}{',' if len(dims) == 1 else ''}){cast})")
        if a.batched and "_B" not in size_of.values():
            checks.append(f"_B = {a.name}.shape[0]")
            size_of["batch"] = "_B"
        for pos, q in enumerate(a.indices):
            if q not in size_of:
                size_of[q] = f"{a.name}.shape[{pos + (1 if a.batched else 0)}]"
    lines = [f"def {kernel.name}({', '.join(names)}):", *doc] + ["    " + c for c in checks]
    for _, step in kernel.steps:
        lines.append(f"    # {step.meaning} = {text(step.expr)}")
        lines.append(f"    {step.name} = {_top(low, step.expr, ('batch',) + tuple(step.indices))}")
    for o in kernel.outputs:
        per_example = o.per_example and low.batched(o.expr)
        axes = (("batch",) if per_example else ()) + tuple(o.indices)
        lines.append(f"    # {o.meaning} = {text(o.expr)}" + ("" if per_example or not low.batched(o.expr)
                                                               else ", summed over the batch"))
        lines.append(f"    {o.name} = {_top(low, o.expr, axes)}")
    lines.append(f"    return {', '.join(o.name for o in kernel.outputs)}")
    return "\n".join(lines) + "\n"


def _top(low: _EinsumOperands, expr: sp.Expr, axes: tuple) -> str:
    """An output: a sum of terms, each contracted or elementwise onto ``axes``."""
    parts = []
    for term in sp.Add.make_args(expr):
        if not term.has(sp.Indexed):  # a constant broadcasts by itself
            parts.append(_LayerPrinter(low).doprint(term))
        elif isinstance(term, sp.Sum) or term.is_Mul:
            parts.append(low.contract(term, axes))
        else:
            parts.append(low.align(low.operand(term), axes))
    return " + ".join(parts)


# ------------------------------------------------------------------ the curriculum's layers

def layer_modules() -> dict[str, list[LayerKernel]]:
    """dense (sigmoid and linear) and the Elman RNN step, forward and backward."""
    sig, sig_back = dense_layer_kernels("sigmoid")
    lin, lin_back = dense_layer_kernels("linear")
    return {"dense": [sig, sig_back, lin, lin_back], "rnn_step": _rnn_step()}


class _Activations(Mapping):
    """Every activation of the function registry by name, its SymPy form (a class or a
    rewrite), and "linear" (none): read from the registry on each lookup, so an activation
    registered later is a layer's activation too. The lecture's three come first."""

    FIRST = ("sigmoid", "tanh", "relu", "linear")

    def __getitem__(self, name):
        if name == "linear":
            return None
        entry = REGISTRY.get(name)
        if entry is None or entry.family != "activation":
            raise KeyError(name)
        return entry.build

    def __iter__(self):
        yield from self.FIRST
        yield from (n for n in activation_names() if n not in self.FIRST)

    def __len__(self):
        return sum(1 for _ in self)


ACTIVATIONS = _Activations()
_FORMULAS = {"sigmoid": ("σ", "y_j(1 − y_j)"), "tanh": ("tanh", "(1 − y_j²)"), "relu": ("relu", "H(z_j)")}


def dense_layer_kernels(activation: str, bias: bool = True) -> tuple[LayerKernel, LayerKernel]:
    """A dense layer y_i = f(Σ_k W_ik a_k + b_i), the definition of the curriculum's ``dense``
    derivation (written here: code generation does not import the curriculum) with the
    activation f swapped in (``linear``: no f), forward and backward.

    The backward step is δ_j = g_j·f'(z_j), derived by the index-form engine; wherever
    f(z_j) appears in f' it is replaced by the saved output y_j (σ' = y(1 − y),
    tanh' = 1 − y²); an f' that is not a function of f (relu' = H(z)) reads z.
    ``bias=False`` drops b (the lecture's Elman network has none).
    """
    if activation not in ACTIVATIONS:
        raise SymnetError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    f = ACTIVATIONS[activation]
    n, m = sp.symbols("n m", integer=True, positive=True)
    i, j, k = sp.symbols("i j k", integer=True)
    W, a, b, z_, y_ = (sp.IndexedBase(name) for name in ("W", "a", "b", "z", "y"))
    zdef = (z_[i], sp.Sum(W[i, k] * a[k], (k, 0, m - 1)) + b[i])  # as the curriculum's 'dense' writes it
    g, delta = sp.IndexedBase("g"), sp.IndexedBase("delta")
    ranges = {i: (0, n - 1), j: (0, n - 1), k: (0, m - 1)}
    zexpr = zdef[1] if bias else zdef[1] - b[i]
    wrt = [W[j, k]] + ([b[j]] if bias else []) + [a[k]]
    A = [LayerArg("a", a, (k,), True, "a: inputs, (B, m)"), LayerArg("W", W, (i, k), False, "W: weights, (n, m)")]
    A += [LayerArg("b", b, (i,), False, "b: biases, (n,)")] if bias else []
    plus_b = " + b_i" if bias else ""
    if f is None:
        res = derive_indexed([(z_[i], zexpr)], ranges=ranges, seed=(z_[i], g[i]), wrt=wrt, sizes={n: 2, m: 3})
        grads = {w.base: e for w, e in res.gradients.items()}
        outs = [LayerOutput("dW", (i, k), grads[W].xreplace({j: i}), "∂C/∂W_ik", False)]
        outs += [LayerOutput("db", (i,), grads[b].xreplace({j: i}), "∂C/∂b_i", False)] if bias else []
        outs += [LayerOutput("da", (k,), grads[a], "∂C/∂a_k")]
        forward = LayerKernel("linear", f"z_i = Σ_k W_ik a_k{plus_b}", tuple(A),
                              (LayerOutput("z", (i,), zexpr, "z_i"),))
        backward = LayerKernel("linear_backward", "∂C/∂W = g aᵀ" + (", ∂C/∂b = g" if bias else "") + ", ∂C/∂a = Wᵀg",
                               (A[0], A[1], LayerArg("g", g, (i,), True, "g: ∂C/∂z, (B, n)")), tuple(outs))
        return forward, backward
    if activation not in _FORMULAS:  # an activation of the registry: δ_j = g_j·f′(z_j) by the scalar engine
        return _registry_layer(activation, f, A, bias, plus_b, zexpr, z_, y_, g, delta, (i, j, k, n, m), wrt, W, a, b)
    program = [(z_[i], zexpr), (y_[i], f(z_[i]))]
    res = derive_indexed(program, ranges=ranges, seed=(y_[i], g[i]), wrt=wrt,
                         sizes={n: 2, m: 3}, names={z_: delta}, probes={z_: (j,)})
    delta_i = res.adjoints[z_][1].xreplace({f(z_[j]): y_[j]}).xreplace({j: i})  # f(z) saved as y
    grads = {w.base: e for w, e in res.gradients.items()}
    name, slope = _FORMULAS.get(activation, (activation, f"{activation}′(z_j)"))
    Ab = [A[0], A[1], LayerArg("y", y_, (i,), True, f"y: the forward output {name}(z), (B, n)"),
          LayerArg("g", g, (i,), True, "g: ∂C/∂y, (B, n)")]
    if delta_i.has(z_):  # f' is not a function of f(z): the backward reads z too
        Ab.insert(3, LayerArg("z", z_, (i,), True, "z: the pre-activation, (B, n)"))
    outs = [LayerOutput("dW", (i, k), grads[W].xreplace({j: i}), "∂C/∂W_ik", False)]
    outs += [LayerOutput("db", (i,), grads[b].xreplace({j: i}), "∂C/∂b_i", False)] if bias else []
    outs += [LayerOutput("da", (k,), grads[a].xreplace({j: i}), "∂C/∂a_k")]
    forward = LayerKernel(f"dense_{activation}", f"y_i = {name}(Σ_k W_ik a_k{plus_b})", tuple(A),
                          (LayerOutput("y", (i,), f(zexpr), "y_i"),))
    backward = LayerKernel(f"dense_{activation}_backward",
                           f"δ_j = g_j·{slope}; ∂C/∂W = δ aᵀ" + (", ∂C/∂b = δ" if bias else "") + ", ∂C/∂a = Wᵀδ",
                           tuple(Ab), steps=((delta, LayerOutput("delta", (i,), delta_i, "δ_i")),),
                           outputs=tuple(outs))
    return forward, backward


def _registry_layer(activation, f, A, bias, plus_b, zexpr, z_, y_, g, delta, indices, wrt, W, a, b):
    """A dense layer with any activation f of the registry: y = f(z) entry by entry, so
    δ_i = g_i·f′(z_i) with f′ derived (and checked) by the scalar engine, and the gradients of
    z = W a + b are the linear layer's with δ as its upstream gradient."""
    from ...engine import derive

    u = sp.Symbol("z", real=True)
    slope = derive(f(u), wrt=[u]).gradients[u]
    i, j, k, n, m = indices
    ranges = {i: (0, n - 1), j: (0, n - 1), k: (0, m - 1)}
    res = derive_indexed([(z_[i], zexpr)], ranges=ranges, seed=(z_[i], delta[i]), wrt=wrt,
                         sizes={n: 2, m: 3})
    grads = {w.base: e for w, e in res.gradients.items()}
    delta_i = g[i] * slope.xreplace({u: z_[i]})
    Ab = [A[0], A[1], LayerArg("y", y_, (i,), True, f"y: the forward output {activation}(z), (B, n)"),
          LayerArg("z", z_, (i,), True, "z: the pre-activation, (B, n)"),
          LayerArg("g", g, (i,), True, "g: ∂C/∂y, (B, n)")]
    outs = [LayerOutput("dW", (i, k), grads[W].xreplace({j: i}), "∂C/∂W_ik", False)]
    outs += [LayerOutput("db", (i,), grads[b].xreplace({j: i}), "∂C/∂b_i", False)] if bias else []
    outs += [LayerOutput("da", (k,), grads[a].xreplace({j: i}), "∂C/∂a_k")]
    forward = LayerKernel(f"dense_{activation}", f"y_i = {activation}(Σ_k W_ik a_k{plus_b})", tuple(A),
                          (LayerOutput("y", (i,), f(zexpr), "y_i"),))
    backward = LayerKernel(f"dense_{activation}_backward",
                           f"δ_j = g_j·{activation}′(z_j) = g_j·({text(slope.xreplace({u: sp.Symbol('z_j')}))}); "
                           f"∂C/∂W = δ aᵀ" + (", ∂C/∂b = δ" if bias else "") + ", ∂C/∂a = Wᵀδ",
                           tuple(Ab), steps=((delta, LayerOutput("delta", (i,), delta_i, "δ_i")),),
                           outputs=tuple(outs))
    return forward, backward


def _rnn_step() -> list[LayerKernel]:
    """One time step of the lecture's Elman network, h = σ(W^i x + W^h h⁻): the
    rnn-bptt recurrence is this step's backward run from t = T down to 1."""
    from ...derivation import Name

    H, D = sp.symbols("H D", integer=True, positive=True)
    i, kk, dd = sp.symbols("i k d", integer=True)
    x, hp, g, delta = (sp.IndexedBase(name) for name in ("x", "hp", "g", "delta"))
    Wi, Wh = sp.IndexedBase(Name("Wi", "W^{i}", "Wⁱ")), sp.IndexedBase(Name("Wh", "W^{h}", "Wʰ"))
    # the curriculum's 'rnn-bptt' s^t_i at one t: h^{t−1} is an input hp, the time index is dropped
    body = sp.Sum(Wi[i, dd] * x[dd], (dd, 0, D - 1)) + sp.Sum(Wh[i, kk] * hp[kk], (kk, 0, H - 1))
    j = sp.Symbol("j", integer=True)
    s1, h1 = sp.IndexedBase("s"), sp.IndexedBase("h")
    program = [(s1[i], body), (h1[i], sigmoid(s1[i]))]
    ranges = {i: (0, H - 1), j: (0, H - 1), kk: (0, H - 1), dd: (0, D - 1)}
    res = derive_indexed(program, ranges=ranges, seed=(h1[i], g[i]), wrt=[Wi[j, dd], Wh[j, kk], hp[kk]],
                         sizes={H: 2, D: 2}, names={s1: delta}, probes={s1: (j,)})
    delta_i = res.adjoints[s1][1].xreplace({sigmoid(s1[j]): h1[j]}).xreplace({j: i})  # σ(s) saved as h
    grads = {w.base: e.xreplace({j: i}) for w, e in res.gradients.items()}
    args = (LayerArg("x", x, (dd,), True, "x: inputs at this step, (B, D)"),
            LayerArg("hp", hp, (kk,), True, "hp: the previous hidden state h^{t−1}, (B, H)"),
            LayerArg("Wi", Wi, (i, dd), False, "Wi: input weights W^i, (H, D)"),
            LayerArg("Wh", Wh, (i, kk), False, "Wh: recurrent weights W^h, (H, H)"))
    back_args = args + (LayerArg("h", h1, (i,), True, "h: this step's output σ(s), (B, H)"),
                        LayerArg("g", g, (i,), True, "g: ∂C/∂h^t from the output and from step t + 1, (B, H)"))
    return [
        LayerKernel("rnn_step", "h_i = σ(Σ_k W^h_ik h⁻_k + Σ_d W^i_id x_d)", args,
                    (LayerOutput("h", (i,), sigmoid(body), "h_i"),)),
        LayerKernel("rnn_step_backward", "δ_i = g_i·h_i(1 − h_i); ∂C/∂W^i = δ xᵀ, ∂C/∂W^h = δ h⁻ᵀ, ∂C/∂h⁻ = W^hᵀδ",
                    back_args, steps=((delta, LayerOutput("delta", (i,), delta_i, "δ_i")),),
                    outputs=(LayerOutput("dWi", (i, dd), grads[Wi], "∂C/∂W^i_id", False),
                                LayerOutput("dWh", (i, kk), grads[Wh], "∂C/∂W^h_ik", False),
                                LayerOutput("dhp", (kk,), grads[hp], "∂C/∂h⁻_k"))),
    ]
