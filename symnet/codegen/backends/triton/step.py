"""The whole-step Triton skeleton: forward, loss, backpropagation and SGD in one launch.

From an :class:`~symnet.codegen.families.step.MlpStep` or
:class:`~symnet.codegen.families.step.ElmanStep` (the derivations of every layer and of the
loss) this emits one ``@triton.jit`` kernel that runs training steps of a small network:

- the **parameters** are loaded once into registers and stay there for every step of the
  launch; the gradients accumulate in registers too;
- each step reads its mini-batch by index from the data (a shuffled order held on the
  GPU), ``BLOCK_B`` examples at a time: every contraction ``Σ_k W_ik a_k`` is one
  ``tl.dot`` on register tiles, every activation, δ and loss term is printed from its
  derivation onto the tile;
- the update ``w ← w − α·∂J/∂w`` is applied in registers, with the step's learning rate
  read from a device array; a step whose loss is NaN or ±inf is not applied, nor any after
  it (the host reads the losses and reports the first bad one);
- **epoch mode**: one program runs a whole epoch of steps (``STEPS`` > 1) in one launch;
  **split mode** (one step over a larger batch): one program per ``BLOCK_B`` examples,
  each adds its gradient into a zeroed scratch buffer with atomics, and the last program
  to finish (an atomic counter) applies the update and zeroes the scratch again;
- every index read from user data is bounded in the kernel, also when the launcher's host
  check is off: an example index outside [0, N_data) is replaced by 0 and a class outside
  [0, C) is only compared with; either makes the step's loss NaN, so the step is not applied;
- the Elman kernel runs the T forward steps (``h^t`` kept in a scratch row per sequence)
  and then BPTT from t = T down to 1 with ``W^i``, ``W^h``, ``W^o`` in registers throughout.

Sizes are padded to powers of two (at least 16, ``tl.dot``'s smallest tile) with masked
loads; padded units carry exact zeros through every product, and padded logits are −inf.
Arithmetic is float32; products use IEEE float32 by default (``precision="tf32x3"`` or
``"tf32"`` put them on the tensor cores: about float32's accuracy, or ~1e-3 relative).
"""
from __future__ import annotations

import sympy as sp

from ....errors import SymnetError, domain_message
from ....render import text
from ...families.rowwise import j as row_j, r as row_r, rowsum, rowsum_rest, z as row_z
from ...families.dense import ACTIVATIONS
from ...families.step import DenseStep, ElmanStep, LossStep, MlpStep
from .elementwise import HOST_HELPERS, assemble
from ...doubleword import generated_last
from .printer import TRITON_HELPERS, TritonPrinter
from .dense import _classify, _contraction

__all__ = ["emit_triton_train_module"]

# registers: every padded parameter and its gradient live in registers for the whole launch
MAX_PARAMS = 32768   # padded parameter entries a fused kernel accepts
MAX_WIDTH = 256      # padded units in one layer


class _StepPrinter(TritonPrinter):
    """Formulas on register tiles: ``tiles`` maps each Indexed entry (and contraction) to
    its tile; row sums and the row maximum of the logits reduce over the tile's columns."""

    EXACT_SUMS = False  # its sums as written (ConditionalPrinting._exact_sum_terms: the elementwise kernels')
    REFUSED = (sp.Derivative, sp.Integral, sp.MatrixBase)

    def __init__(self, tiles: dict, names: dict, helpers: set):
        super().__init__(names, helpers)
        self.tiles = tiles

    def _print_Indexed(self, e):
        try:
            return self.tiles[e]
        except KeyError:
            raise SymnetError(f"the whole-step skeleton has no tile for {text(e)}") from None

    def _print_Sum(self, e):
        try:
            return self.tiles[e]
        except KeyError:
            raise SymnetError(f"the whole-step skeleton cannot generate the sum {text(e)} here") from None

    def _print_rowmax(self, e):
        return f"tl.max({self.tiles[row_z[row_j]]}, axis=1)[:, None]"

    def _print_Function(self, e):
        if isinstance(e, rowsum):
            return f"tl.sum({self._print(e.args[0])}, axis=1)[:, None]"
        if isinstance(e, rowsum_rest):  # Σ_j f_j − 1, f = e^{z_j − m}: the terms below m, the entries at m less one
            f, x, m = (self._print(a) for a in e.args)
            return (f"(tl.sum({f} - tl.where({x} == {m}, 1.0, 0.0), axis=1)[:, None] "
                    f"+ (tl.sum(tl.where({x} == {m}, 1.0, 0.0), axis=1)[:, None] - 1.0))")
        return super()._print_Function(e)


class _Code:
    def __init__(self):
        self.lines: list[str] = []
        self.depth = 1

    def __call__(self, *lines: str) -> None:
        self.lines += ["    " * self.depth + x if x else "" for x in lines]

    def indent(self):
        code = self

        class _Block:
            def __enter__(self):
                code.depth += 1

            def __exit__(self, *exc):
                code.depth -= 1
        return _Block()


def _dot(a: str, b: str) -> str:
    return f"tl.dot({a}, {b}, input_precision=PRECISION)"


def _tile_load(ptr: str, rows: str, cols: str, nrows: str, ncols: str) -> str:
    """A (rows × cols) tile of a row-major (nrows × ncols) parameter, zero where padded."""
    return (f"tl.load({ptr} + {rows}[:, None] * {ncols} + {cols}[None, :], "
            f"mask=({rows}[:, None] < {nrows}) & ({cols}[None, :] < {ncols}), other=0.0)")


# ------------------------------------------------------------------ the pieces of a step

class _Param:
    """A parameter: its name, tile shape (padded sizes) and true sizes."""

    def __init__(self, name: str, rows: tuple, cols: tuple | None = None):
        self.name, self.rows, self.cols = name, rows, cols  # rows/cols: (arange, true size, padded size)

    def load(self) -> str:
        if self.cols is None:
            (r, n, _) = self.rows
            return f"tl.load({self.name}_ptr + {r}, mask={r} < {n}, other=0.0)"
        return _tile_load(f"{self.name}_ptr", self.rows[0], self.cols[0], self.rows[1], self.cols[1])

    def zeros(self) -> str:
        shape = self.rows[2] if self.cols is None else f"{self.rows[2]}, {self.cols[2]}"
        return f"tl.zeros([{shape}], tl.float32)"

    def padded_offsets(self) -> str:
        """Offsets into the scratch buffer, laid out with the padded sizes."""
        if self.cols is None:
            return self.rows[0]
        return f"{self.rows[0]}[:, None] * {self.cols[2]} + {self.cols[0]}[None, :]"

    def padded_size(self) -> str:
        return self.rows[2] if self.cols is None else f"{self.rows[2]} * {self.cols[2]}"

    def store(self, value: str, ptr: str | None = None) -> str:
        ptr = ptr or f"{self.name}_ptr"
        if self.cols is None:
            (r, n, _) = self.rows
            return f"tl.store({ptr} + {r}, {value}, mask={r} < {n})"
        (r, n, _), (c, m, _) = self.rows, self.cols
        return (f"tl.store({ptr} + {r}[:, None] * {m} + {c}[None, :], {value}, "
                f"mask=({r}[:, None] < {n}) & ({c}[None, :] < {m}))")


def _forward(code: _Code, layer: DenseStep, a_in: str, W: str, b: str | None, z: str, a_out: str,
             helpers: set, units: str, extra: dict | None = None) -> None:
    """z = W a + b by tl.dot, then a = f(z), both printed from the layer's derivation; ``units``
    is the mask of real units: padded ones are set to exactly 0 (σ(0) = ½ would leak into
    the next layer's padded columns and, through the update, into the weights)."""
    lin = layer.linear
    args = {x.base: x for x in lin.args}
    (out,) = lin.outputs
    tiles = dict(extra or {})
    for s in out.expr.atoms(sp.Sum):
        plan = _contraction(s, args)
        if plan is None:
            raise SymnetError(f"{lin.name}: the whole-step skeleton multiplies a weight matrix by the layer's "
                              f"input, not {text(s)}")
        tiles[s] = _dot(a_in, f"tl.trans({W})")
    for x in lin.args:
        if not x.batched and len(x.indices) == 1:
            tiles[x.base[x.indices]] = f"{b}[None, :]"
    printer = _StepPrinter(tiles, {}, helpers)
    code(f"# {out.meaning} = {text(out.expr)}", f"{z} = {printer.doprint(out.expr)}")
    if layer.activation != "linear":
        (y,) = layer.forward.outputs
        # f(z_i): the activation applied to z, from its definition (a composite such as
        # SiLU = z·σ(z) is a product, whose .func would not be f)
        act = ACTIVATIONS[layer.activation](sp.IndexedBase("z")[out.indices])
        p = _StepPrinter({sp.IndexedBase("z")[out.indices]: z}, {}, helpers)
        code(f"# {y.meaning} = {text(act)}; padded units 0",
             f"{a_out} = tl.where({units}, {p.doprint(act)}, 0.0)")


def _backward(code: _Code, kernel, tiles: dict, d: str, targets: dict, helpers: set) -> None:
    """A layer's backward from its derivation: δ from the upstream g (and the saved y or z),
    then each gradient — ``outer`` Σ_batch δᵀ·(input) and ``sum`` Σ_batch δ are added to their
    accumulators, ``back`` δ·W is what the layer passes to its input.

    ``tiles``: the tile of each argument of the backward kernel, by name; ``targets``: the
    variable each output goes to, by name (an output without one, such as ∂C/∂x of the
    data, is not computed)."""
    step_base, step, plans = _classify(kernel)
    args = {x.base: x for x in kernel.args}
    entry = {base[step.indices]: tiles[x.name] for base, x in args.items() if x.batched and x.name in tiles}
    if step_base[step.indices] in entry:  # no activation: δ is the upstream gradient itself
        code(f"{d} = {entry[step_base[step.indices]]}  # {step.meaning}")
    else:
        code(f"# {step.meaning} = {text(step.expr)}", f"{d} = {_StepPrinter(entry, {}, helpers).doprint(step.expr)}")
    for o, kind, other in plans:
        target = targets.get(o.name)
        if target is None:
            continue
        if kind == "outer":
            code(f"# {o.meaning} = {text(o.expr)}, summed over the batch: δᵀ·{other.name}",
                 f"{target} += {_dot(f'tl.trans({d})', tiles[other.name])}")
        elif kind == "sum":
            code(f"# {o.meaning} = {text(o.expr)}, summed over the batch", f"{target} += tl.sum({d}, axis=0)")
        else:
            code(f"# {o.meaning} = {text(o.expr)}: δ·{other.name}, passed back to the layer's input",
                 f"{target} = {_dot(d, tiles[other.name])}")


def _loss(code: _Code, loss: LossStep, out: str, cols: str, size: str, keep_rows: str, target: str,
          helpers: set, total: str, g: str, divisor: str) -> None:
    """The loss of each example into ``total`` and its gradient ∂L/∂out (÷ divisor) into ``g``."""
    if loss.kind != "ce":  # an elementwise loss L(a, t) of each output
        k = loss.kernel
        (data,) = [i for i in k.inputs if i.role == "data"]
        (tgt,) = [i for i in k.inputs if i.role == "target"]
        names = {data.symbol: out, tgt.symbol: target}
        for temp, _ in k.assignments:
            names[temp] = f"{loss.kind}_{temp}"
        printer = _StepPrinter({}, names, helpers)
        code(f"keep = {keep_rows}[:, None] & ({cols}[None, :] < {size})")
        for temp, expr in k.assignments:
            code(f"{loss.kind}_{temp} = {printer.doprint(expr)}")
        (value, grad) = k.outputs
        (v_res, g_res) = k.results
        code(f"# {value.meaning} = {text(value.expr)}, summed over the outputs and the batch",
             f"{total} += tl.sum(tl.sum(tl.where(keep, {printer.doprint(v_res)}, 0.0), axis=1), axis=0)",
             f"# {grad.meaning} = {text(grad.expr)}, of the mean over the batch",
             f"{g} = tl.where(keep, {printer.doprint(g_res)}, 0.0) / {divisor}")
        return
    k = loss.kernel
    code(f"# a class outside [0, {size}) (check=False lets one through) is only compared with, never an",
         "# index; it makes the step's loss NaN, so the step is not applied (nor any after it)",
         f"stray = {keep_rows} & (({target} < 0) | ({target} >= {size}))",
         f"{total} += tl.where(tl.max(stray.to(tl.int32), axis=0) > 0, float(\"nan\"), 0.0)")
    code("# softmax cross-entropy over the logits of each row; padded columns are −inf",
         f"zc = tl.where({cols}[None, :] < {size}, {out}, float(\"-inf\"))",
         f"z_r = tl.sum(tl.where({cols}[None, :] == {target}[:, None], zc, 0.0), axis=1)[:, None]  # z at the class r")
    names = {temp: f"ce_{temp}" for temp, _ in k.assignments + k.class_assignments}
    printer = _StepPrinter({row_z[row_j]: "zc", row_z[row_r]: "z_r"}, names, helpers)
    for temp, expr in k.assignments + k.class_assignments:
        code(f"ce_{temp} = {printer.doprint(expr)}  # {text(expr)}")
    (value, grad) = k.outputs
    (v_res, g_res) = k.results
    (_, coeff) = k.scatter
    at = k.at_class[1] if k.at_class else None  # the gradient at the class column (class-gap), per row
    onehot = f"tl.where({cols}[None, :] == {target}[:, None], {printer.doprint(coeff)}, 0.0)"
    at_class = f"tl.where({cols}[None, :] == {target}[:, None], {printer.doprint(at)}, {printer.doprint(g_res)})" \
        if at is not None else f"{printer.doprint(g_res)} + {onehot}"
    code(f"# {value.meaning} = {text(value.expr)} (rules: {', '.join(r.name for r in k.rules)})",
         f"{total} += tl.sum(tl.sum(tl.where({keep_rows}[:, None], {printer.doprint(v_res)}, 0.0), axis=1), axis=0)",
         f"# {grad.meaning} = {text(grad.expr)}, of the mean over the batch",
         f"{g} = tl.where({keep_rows}[:, None] & ({cols}[None, :] < {size}), "
         f"{at_class}, 0.0) / {divisor}")


def _apply(code: _Code, params: list, grads: dict, count: str, step: str, rule=None) -> None:
    """The end of a step: the mean loss, then w ← w − α·∂J/∂w (or ``rule``'s update, see
    :func:`_rule_update`) — in registers (epoch mode), or through the scratch buffer by the last
    program (split mode)."""
    offsets, at = {}, []
    for p in params:  # the scratch layout: each parameter's padded tile, then the loss
        offsets[p.name] = " + ".join(at) if at else "0"
        at.append(p.padded_size())
    where = {p.name: f"scratch_ptr + {offsets[p.name]} + {p.padded_offsets()}" if offsets[p.name] != "0"
             else f"scratch_ptr + {p.padded_offsets()}" for p in params}
    loss_slot = f"scratch_ptr + {' + '.join(at)}"
    code("if SPLIT:")
    with code.indent():
        code("# every program adds its share of the gradient; the last one to finish applies the step")
        for p in params:
            code(f"tl.atomic_add({where[p.name]}, {grads[p.name]})")
        code(f"tl.atomic_add({loss_slot}, total)",
             "done = tl.atomic_add(counter_ptr, 1)  # acq_rel: the adds above are seen by the last program",
             "if done == tl.num_programs(0) - 1:")
        with code.indent():
            code(f"loss = tl.atomic_add({loss_slot}, 0.0) / {count}  # an atomic read: the sum of every share",
                 f"tl.store({loss_slot}, 0.0)",
                 f"tl.store(loss_ptr + {step}, loss)")
            for p in params:
                code(f"g_{p.name} = tl.atomic_add({where[p.name]}, {p.zeros()})",
                     f"tl.store({where[p.name]}, {p.zeros()})  # zero again for the next launch")
            code("if tl.abs(loss) < float(\"inf\"):  # a NaN or infinite loss: the step is not applied")
            with code.indent():
                for p in params:
                    if rule is None:
                        code(p.store(f"{p.load()} - lr * g_{p.name}"))
                    else:  # each value read once (names of their own: the registers' are the epoch mode's)
                        code(f"{p.name}_old = {p.load()}")
                        for n, _ in rule.state:
                            code(f"{_state(p, n).name}_old = {_state(p, n).load()}")
                        _rule_update(code, rule, p, f"{p.name}_old", f"g_{p.name}",
                                     {n: f"{_state(p, n).name}_old" for n, _ in rule.state}, store=True)
            code("tl.atomic_xchg(counter_ptr, 0)")
    code("else:")
    with code.indent():
        code(f"loss = total / {count}",
             f"tl.store(loss_ptr + {step}, loss)",
             "live = live & (tl.abs(loss) < float(\"inf\"))  # false from the first NaN or infinite loss on",
             "# w ← w − α·∂J/∂w, in registers" if rule is None else f"# {rule.title}, in registers")
        for p in params:
            if rule is None:
                code(f"{p.name} = tl.where(live, {p.name} - lr * {grads[p.name]}, {p.name})")
            else:
                _rule_update(code, rule, p, p.name, grads[p.name], {n: _state(p, n).name for n, _ in rule.state})


# ------------------------------------------------------------------ optimizer update rules

def _state(p: _Param, name: str) -> _Param:
    """A state variable of an update rule (Adam's m, the momentum buffer b) for parameter ``p``:
    laid out like ``p``, in its own tensor."""
    return _Param(f"{p.name}_{name}", p.rows, p.cols)


def _load_states(code: _Code, rule, params: list) -> None:
    code(f"# the {rule.name} state of every parameter ({', '.join(n for n, _ in rule.state)}): in registers too")
    for p in params:
        for n, _ in rule.state:
            code(f"{_state(p, n).name} = {_state(p, n).load()}")


def _rule_update(code: _Code, rule, p: _Param, w: str, g: str, states: dict, store: bool = False) -> None:
    """``rule``'s per-entry assignments (from its derivation, :mod:`symnet.codegen.families.update_rules`)
    printed onto parameter ``p``'s tile ``w`` with its gradient ``g`` and state tiles ``states``.
    In epoch mode (``store`` false) the new values replace the registers' while ``live``; in
    split mode they are stored."""
    from ...families.update_rules import g as g_sym, w as w_sym

    names = {s: n for n, s in rule.hyper}
    names.update({s: n for n, s, _ in rule.per_step})
    names[w_sym], names[g_sym] = w, g
    names.update({s: states[n] for n, s in rule.state})
    new = {}
    for symbol, expr in rule.assignments:
        var = f"{p.name}_new_{_STATE_NAMES.get(symbol.name, symbol.name)}"
        helpers: set = set()
        printed = _StepPrinter({}, names, helpers).doprint(expr)
        if helpers:  # the rules use +, ×, ÷ and √ only; a helper would need emitting into the module
            raise SymnetError(f"the {rule.name} update needs the Triton helpers {sorted(helpers)}")
        code(f"{var} = {printed}  # {text(symbol)} ← {text(expr)}")
        names[symbol] = var
        new[symbol] = var
    for n, s in rule.state:
        if store:
            code(_state(p, n).store(new[s]))
        else:
            code(f"{states[n]} = tl.where(live, {new[s]}, {states[n]})")
    if store:
        code(p.store(new[w_sym]))
    else:
        code(f"{w} = tl.where(live, {new[w_sym]}, {w})")


_STATE_NAMES = {"g_λ": "g_wd"}


def _rule_args(rule) -> tuple[list, list]:
    """The kernel's extra arguments for ``rule``: the state pointers of each parameter go after
    the parameters; the hyperparameters (lr excepted: per step already) and per-step arrays last."""
    scalars = [n for n, _ in rule.hyper if n != "lr"] + [f"{n}_ptr" for n, _, _ in rule.per_step]
    return [n for n, _ in rule.state], scalars


def _training_loop(code: _Code, params: list, unit: str, counts: list[str], chunk, rule=None) -> None:
    """The frame of every whole-step kernel: the parameters loaded into registers once; per
    step, the gradients zeroed, the step's examples taken BLOCK_B at a time (``chunk`` emits
    the forward and backward pass of one chunk), then the update; the parameters stored last."""
    code("# the parameters: loaded once, kept in registers for every step of this launch")
    for p in params:
        code(f"{p.name} = {p.load()}")
    if rule is not None:
        _load_states(code, rule, params)
    code("live = tl.full([], 1, tl.int1)  # cleared by the first NaN or infinite loss: no later step is applied",
         "for s in range(STEPS):")
    with code.indent():
        code("first = s * B",
             f"nb = tl.minimum(N - first, B)  # {unit} in this step (the last may be fewer)",
             *counts,
             "lr = tl.load(lr_ptr + s)",
             *[f"{n} = tl.load({n}_ptr + s)  # {text(e)}, this step's" for n, _, e in (rule.per_step if rule else ())],
             "total = tl.zeros([], tl.float32)  # Σ of the losses")
        grads = {}
        for p in params:
            grads[p.name] = f"d{p.name}"
            code(f"d{p.name} = {p.zeros()}")
        code("for b0 in range(tl.program_id(0) * BLOCK_B, nb, tl.num_programs(0) * BLOCK_B):")
        with code.indent():
            code("rows = b0 + rb",
                 "ok = rows < nb",
                 f"ex = tl.load(order_ptr + first + rows, mask=ok, other=0).to(tl.int64)  # which {unit}",
                 f"# an index outside [0, N_DATA) (check=False lets one through) is never followed: {unit[:-1]} 0",
                 "# is read in its place and the step's loss made NaN, so the step is not applied (nor any after)",
                 "stray = ok & ((ex < 0) | (ex >= N_DATA))",
                 "ex = tl.where(stray, 0, ex)",
                 "total += tl.where(tl.max(stray.to(tl.int32), axis=0) > 0, float(\"nan\"), 0.0)")
            chunk(code)
        code("")
        _apply(code, params, grads, "count", "s", rule)
    code("if not SPLIT:")
    with code.indent():
        for p in params:
            code(p.store(p.name))
            for n, _ in (rule.state if rule else ()):
                code(_state(p, n).store(_state(p, n).name))


# ------------------------------------------------------------------ the MLP kernel

def emit_mlp_kernel(step: MlpStep, helpers: set, rule=None) -> str:
    L = len(step.layers)
    params = []
    for n in range(1, L + 1):
        params += [_Param(f"W{n}", (f"c{n}", f"D{n}", f"P{n}"), (f"c{n - 1}", f"D{n - 1}", f"P{n - 1}")),
                   _Param(f"b{n}", (f"c{n}", f"D{n}", f"P{n}"))]
    sizes = [f"D{n}" for n in range(L + 1)]
    pads = [f"P{n}: tl.constexpr" for n in range(L + 1)]
    sig = (["x_ptr", "t_ptr", "order_ptr", "lr_ptr", "loss_ptr"] + [f"{p.name}_ptr" for p in params]
           + ["scratch_ptr", "counter_ptr", "N", "B", "STEPS", "N_DATA"] + sizes + pads
           + ["BLOCK_B: tl.constexpr", "SPLIT: tl.constexpr", "PRECISION: tl.constexpr"])
    if rule is not None:
        states, scalars = _rule_args(rule)
        at = sig.index("scratch_ptr")
        sig[at:at] = [f"{p.name}_{n}_ptr" for p in params for n in states]
        at = sig.index("P0: tl.constexpr")
        sig[at:at] = scalars
    code = _Code()
    code.lines = ["@triton.jit", f"def _{step.name}_kernel({', '.join(sig)}):",
                  f'    """{step.formula}.',
                  "",
                  "    STEPS steps over order[0:N] in mini-batches of B (the last may be shorter);",
                  '    the parameters stay in registers from the first step to the last."""']
    code("rb = tl.arange(0, BLOCK_B)  # examples of a chunk")
    for n in range(L + 1):
        code(f"c{n} = tl.arange(0, P{n})  # " + ("inputs" if n == 0 else f"units of layer {n}"))

    def chunk(code):
        code("a0 = tl.load(x_ptr + ex[:, None] * D0 + c0[None, :], mask=ok[:, None] & (c0[None, :] < D0), other=0.0)")
        outs = {}
        for n, layer in enumerate(step.layers, 1):
            code("", f"# layer {n}: {layer.forward.formula}")
            a_out = f"a{n}" if layer.activation != "linear" else f"z{n}"
            _forward(code, layer, f"a{n - 1}", f"W{n}", f"b{n}", f"z{n}", a_out, helpers, f"c{n}[None, :] < D{n}")
            outs[n] = a_out
        code("", "# the loss")
        if step.loss.kind != "ce":
            code(f"t = tl.load(t_ptr + ex[:, None] * D{L} + c{L}[None, :], "
                 f"mask=ok[:, None] & (c{L}[None, :] < D{L}), other=0.0)")
        else:
            code("t = tl.load(t_ptr + ex, mask=ok, other=0)  # the class of each example")
        _loss(code, step.loss, outs[L], f"c{L}", f"D{L}", "ok", "t", helpers, "total", f"g{L}", "count")
        for n in range(L, 0, -1):
            layer = step.layers[n - 1]
            code("", f"# layer {n}, backward: {layer.backward.formula}")
            tiles = {"a": f"a{n - 1}", "W": f"W{n}", "y": outs[n], "z": f"z{n}", "g": f"g{n}"}
            _backward(code, layer.backward, tiles, f"d{n}",
                      {"dW": f"dW{n}", "db": f"db{n}", "da": f"g{n - 1}" if n > 1 else None}, helpers)

    _training_loop(code, params, "examples", ["count = nb  # the mean is over these"], chunk, rule)
    return "\n".join(code.lines) + "\n"


# ------------------------------------------------------------------ the Elman kernel

def emit_elman_kernel(step: ElmanStep, helpers: set, rule=None) -> str:
    params = [_Param("Wi", ("ch", "H", "PH"), ("cd", "D", "PD")),
              _Param("Wh", ("ch", "H", "PH"), ("ch2", "H", "PH")),
              _Param("Wo", ("cc", "C", "PC"), ("ch2", "H", "PH"))]
    sig = (["x_ptr", "r_ptr", "order_ptr", "lr_ptr", "loss_ptr", "Wi_ptr", "Wh_ptr", "Wo_ptr", "hs_ptr",
            "scratch_ptr", "counter_ptr", "N", "B", "STEPS", "N_DATA", "T", "DELAY", "D", "H", "C",
            "PD: tl.constexpr", "PH: tl.constexpr", "PC: tl.constexpr", "BLOCK_B: tl.constexpr",
            "SPLIT: tl.constexpr", "PRECISION: tl.constexpr"])
    if rule is not None:  # as the MLP's: state pointers after the parameters' scratch, scalars before the pads
        states, scalars = _rule_args(rule)
        at = sig.index("hs_ptr")
        sig[at:at] = [f"{p.name}_{n}_ptr" for p in params for n in states]
        at = sig.index("PD: tl.constexpr")
        sig[at:at] = scalars
    code = _Code()
    code.lines = ["@triton.jit", f"def _{step.name}_kernel({', '.join(sig)}):",
                  f'    """{step.formula}.',
                  "",
                  "    STEPS steps over the sequences order[0:N] in mini-batches of B; x is (·, T, D), r (·, T).",
                  "    hs (B, T + 1, PH) keeps each sequence's hidden states between the forward pass and BPTT;",
                  '    W^i, W^h and W^o stay in registers from the first step to the last, over every time step."""']
    code("rb = tl.arange(0, BLOCK_B)  # sequences of a chunk",
         "cd = tl.arange(0, PD)  # inputs",
         "ch = tl.arange(0, PH)  # hidden units (rows of W^i, W^h)",
         "ch2 = tl.arange(0, PH)  # hidden units (columns of W^h, W^o)",
         "cc = tl.arange(0, PC)  # classes")
    cell_fwd, cell_back = step.cell, step.cell_backward
    x_t = ("xt = tl.load(x_ptr + (ex[:, None] * T + (t - 1)) * D + cd[None, :], "
           "mask=ok[:, None] & (cd[None, :] < D), other=0.0)")

    def chunk(code):
        code("slot = hs_ptr + rows[:, None].to(tl.int64) * ((T + 1) * PH) + ch[None, :]  # h^t at slot + t·PH",
             "h = tl.zeros([BLOCK_B, PH], tl.float32)  # h^0 = 0",
             "tl.store(slot, h, mask=ok[:, None])",
             "", f"# forward over time: {cell_fwd.formula}",
             "for t in range(1, T + 1):")
        with code.indent():
            code(x_t)
            args = {a.base: a for a in cell_fwd.args}
            (out,) = cell_fwd.outputs
            tiles = {}
            for sm in out.expr.atoms(sp.Sum):
                mat, vec, _ = _contraction(sm, args)
                tiles[sm] = _dot({"x": "xt", "hp": "h"}[args[vec.base].name], f"tl.trans({args[mat.base].name})")
            printer = _StepPrinter(tiles, {}, helpers)
            code(f"# {out.meaning} = {text(out.expr)}; padded units 0",
                 f"h = tl.where(ch[None, :] < H, {printer.doprint(out.expr)}, 0.0)",
                 "tl.store(slot + t * PH, h, mask=ok[:, None])")
        code("tl.debug_barrier()  # the hidden states are read back by other threads of this program",
             "", f"# backpropagation through time, t = T … 1: {cell_back.formula}",
             "carry = tl.zeros([BLOCK_B, PH], tl.float32)  # ∂C/∂h^t from step t + 1",
             "for back in range(0, T):")
        with code.indent():
            code("t = T - back",
                 "h = tl.load(slot + t * PH, mask=ok[:, None], other=0.0)",
                 "hp = tl.load(slot + (t - 1) * PH, mask=ok[:, None], other=0.0)",
                 "scored = ok & (tl.full([BLOCK_B], t, tl.int32) > DELAY)  # the read-out at t is scored from t > k on",
                 "", f"# the read-out: {step.readout.forward.formula}")
            _forward(code, step.readout, "h", "Wo", None, "zo", "zo", helpers, "cc[None, :] < C")
            code("r = tl.load(r_ptr + ex * T + (t - 1), mask=scored, other=0)")
            _loss(code, step.loss, "zo", "cc", "C", "scored", "r", helpers, "total", "go", "count")
            code("", f"# read-out backward: {step.readout.backward.formula}")
            _backward(code, step.readout.backward, {"a": "h", "W": "Wo", "g": "go"}, "do", {"dW": "dWo", "da": "gh"},
                      helpers)
            code("", "# ∂C/∂h^t: from the read-out at t and from h^(t+1)", "g = carry + gh", x_t,
                 "# the cell at t, backward; its weight gradients add up over t")
            _backward(code, cell_back, {"x": "xt", "hp": "hp", "Wi": "Wi", "Wh": "Wh", "h": "h", "g": "g"}, "d",
                      {"dWi": "dWi", "dWh": "dWh", "dhp": "carry"}, helpers)
        code("tl.debug_barrier()  # the next chunk overwrites the hidden states")

    _training_loop(code, params, "sequences", ["count = nb * (T - DELAY)  # scored time steps: the mean is over these"],
                   chunk, rule)
    return "\n".join(code.lines) + "\n"


# ------------------------------------------------------------------ host launchers

HOST = '''\
_SCRATCH = {}


def _scratch(device, floats, key):
    """A zeroed float32 buffer and an int32 counter per device and size, reused across launches:
    every split launch leaves them zero again. (Launches that share them run on one stream.)"""
    k = (str(device), floats, key)
    if k not in _SCRATCH:
        _SCRATCH[k] = (torch.zeros(floats, dtype=torch.float32, device=device),
                       torch.zeros(1, dtype=torch.int32, device=device))
    return _SCRATCH[k]


def _pad(n):
    return max(16, triton.next_power_of_2(n))


def _floats(name, x, ndim, device=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"argument {name!r} must be a torch.Tensor, not {type(x).__name__}")
    if x.dtype != torch.float32:
        raise TypeError(f"argument {name!r} has dtype {x.dtype}; the fused training kernels take float32")
    if x.dim() != ndim:
        raise ValueError(f"argument {name!r} has shape {tuple(x.shape)}; expected {ndim} dimensions")
    if device is None:
        _device_ok(name, x)
    elif x.device != device:
        raise ValueError(f"argument {name!r} is on {x.device} but the data is on {device}")


def _param(name, w, shape, device):
    """A parameter updated in place: float32, this shape, contiguous, on the data's device."""
    _floats(name, w, len(shape), device)
    if tuple(w.shape) != tuple(shape):
        raise ValueError(f"argument {name!r} has shape {tuple(w.shape)}, expected {tuple(shape)}")
    if not w.is_contiguous():
        raise ValueError(f"argument {name!r} must be contiguous: the step updates it in place")


def _steps(order, lr, batch, n_data, device, check):
    """The order tensor, the per-step learning rates and the number of steps."""
    if not isinstance(order, torch.Tensor) or order.dtype not in (torch.int32, torch.int64) or order.dim() != 1:
        raise TypeError("order must be a 1-D int32/int64 tensor of example indices")
    if order.device != device:
        raise ValueError(f"order is on {order.device} but the data is on {device}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive whole number, not {batch!r}")
    if batch >= 2**31:  # a kernel argument of 32 bits
        raise ValueError(f"batch must be a positive whole number below 2³¹, not {batch!r}")
    n = order.numel()
    steps = triton.cdiv(n, batch)
    if isinstance(lr, torch.Tensor):
        if lr.dim() != 1 or lr.numel() != steps or lr.dtype != torch.float32 or lr.device != device:
            raise ValueError(f"lr must be a float or a float32 tensor of {steps} learning rates (one per step) on {device}")
        lrs = lr.contiguous()
    elif not isinstance(lr, bool) and hasattr(type(lr), "__float__"):  # a number (numpy's too)
        lrs = torch.full((steps,), float(lr), dtype=torch.float32, device=device)
    else:
        raise TypeError(f"lr must be a float or a float32 tensor of {steps} learning rates, not {lr!r}"[:200])
    if n and not n_data:  # known on the host: no synchronisation needed
        raise IndexError(f"order holds {n} indices but there are no examples")
    if check and n and (int(order.min()) < 0 or int(order.max()) >= n_data):
        raise IndexError(f"order holds an index outside [0, {n_data})")
    return order.contiguous(), lrs, n, steps


def _plan(batch, n, steps, padded, pads, device, key):
    """The launch: BLOCK_B, the programs (one step is split over programs by the batch; an epoch
    runs in one program, the weights staying in its registers) and the scratch of split steps."""
    _fits(padded, pads)
    block = 16 if batch <= 16 or padded > 8192 else 32  # examples a program takes at a time
    programs = triton.cdiv(min(batch, n), block) if steps == 1 and n else 1
    scratch, counter = _scratch(device, padded + 1, key)
    return block, programs, scratch, counter


def _warps(padded):
    """Warps a program: parameters and gradients are 2·padded floats spread over its threads' registers
    (an SM has 65,536; a thread at most 255, and 65,536/threads when the program fills the SM).
    Chosen from ptxas's report for sm_90a (benchmarks/sm90_compile.py): 4 warps spill 1.5 KB a thread
    for digits 64-64-10 where 8 spill 0.6 KB; the 128-unit Elman RNN spills least with 16."""
    return 4 if padded <= 1024 else 8 if padded <= 16384 else 16


# tl.dot's input precisions, most accurate first. "tf32x3" splits each float32 operand into a TF32
# high part and a TF32 remainder and adds three tensor-core products (about float32's accuracy).
PRECISIONS = ("ieee", "tf32x3", "tf32")


# No software pipelining: a step's loads are few and small, and the pipeliner's buffers cost shared
# memory (the 128-unit Elman RNN in tf32 needs 230 KB with 3 stages, over an H100's 227 KB; 202 KB with 1).
STAGES = 1


def _launch(kernel, programs, padded, *args, **constants):
    """Launch, turning the compiler's refusal of a program too large for one SM into a clear error. Triton's own
    message ends "Reducing block sizes or `num_stages` may help": settings of this launcher, not the caller's
    (session 33), so the error names what was short and what the caller can change."""
    try:
        kernel[(programs,)](*args, **constants, num_warps=_warps(padded), num_stages=STAGES)
    except triton.runtime.OutOfResources as exc:
        short = getattr(exc, "name", "resources")
        need = f"{short}: needs {exc.required}, the GPU has {exc.limit}" if hasattr(exc, "required") else short
        raise ValueError(f"this network ({padded} padded parameter entries) does not fit one SM with "
                         f"precision={constants['PRECISION']!r} ({need}); try precision='ieee' or 'tf32', "
                         f"a smaller network, or the per-layer kernels (backend 'triton')") from None


def _fits(padded, widths):
    if max(widths) > MAX_WIDTH or padded > MAX_PARAMS:
        raise ValueError(f"the fused kernel keeps every parameter and its gradient in registers: this network has "
                         f"{padded} padded parameter entries (widest layer {max(widths)}); it takes at most "
                         f"{MAX_PARAMS} (and {MAX_WIDTH} units a layer). Use the per-layer kernels instead.")
'''


MLP_HOST = '''\
def _run_mlp(kernel, key, x, t, params, order, lr, batch, ce, check, precision, domains=()):
    """Check the arguments of an MLP step by name, then launch it (see the networks' functions)."""
    _floats("x", x, 2)
    device = x.device
    if ce:
        if not isinstance(t, torch.Tensor) or t.dtype not in (torch.int32, torch.int64) or t.dim() != 1:
            raise TypeError("t must be a 1-D int32/int64 tensor of classes, one per example")
        if t.device != device:
            raise ValueError(f"t is on {t.device} but x is on {device}")
    else:
        _floats("t", t, 2, device)
    if t.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but t has {t.shape[0]}")
    sizes = [x.shape[1]] + [w.shape[0] if isinstance(w, torch.Tensor) and w.dim() else 0 for w in params[::2]]
    for n in range(1, len(sizes)):
        _param(f"W{n}", params[2 * n - 2], (sizes[n], sizes[n - 1]), device)
        _param(f"b{n}", params[2 * n - 1], (sizes[n],), device)
    if not ce and t.shape[1] != sizes[-1]:
        raise ValueError(f"t has {t.shape[1]} outputs per example but the network has {sizes[-1]}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    order, lrs, n, steps = _steps(order, lr, batch, x.shape[0], device, check)
    if ce and check and t.numel() and (int(t.min()) < 0 or int(t.max()) >= sizes[-1]):
        raise IndexError(f"a class in t lies outside [0, {sizes[-1]})")
    for low, high, message in domains if check else ():  # the loss's target domain (bce's t in [0, 1])
        _refuse_outside(t, low, high, message)
    pads = [_pad(d) for d in sizes]
    padded = sum(pads[i + 1] * (pads[i] + 1) for i in range(len(sizes) - 1))
    losses = torch.empty(steps, dtype=torch.float32, device=device)
    block, programs, scratch, counter = _plan(batch, n, steps, padded, pads, device, key)
    if n:
        _launch(kernel, programs, padded, x.contiguous(), t.contiguous(), order, lrs, losses, *params, scratch,
                counter, n, batch, steps, x.shape[0], *sizes, *pads, BLOCK_B=block, SPLIT=programs > 1, PRECISION=precision)
    return losses
'''


PRECISION_DOC = """\
      precision: "ieee" float32 products (default); "tf32x3" (tensor cores, three TF32 products
        a product: about float32's accuracy); "tf32" (fastest, ~1e-3 relative)"""


CHECK_FALSE_DOC = """\
        with check=False the kernel still never reads by an index out of range: a step holding
        one has a NaN loss, so it is not applied, nor any step after it"""


VIEWS_DOC = """\
    Views: the data, targets and order are copied to contiguous memory where they are views
    (sliced, transposed, expanded); the parameters must be contiguous (they are updated in place)."""


DOMAIN_HOST = (HOST_HELPERS["_refuse_outside"], HOST_HELPERS["_domain_error"])  # the MLP launchers' target checks


def _target_domains(step: MlpStep) -> list:
    """(low, high, message) of each domain of the step's loss on its target (bce's t in [0, 1], kl_div's
    t ≥ 0: the loss kernel's ArgumentChecks on the input of role "target"), checked by the launcher with
    ``check``. The prediction's domain (bce's p) is the network's output, not checked on the host: outside
    it the loss is NaN and the step is not applied."""
    kernel = step.loss.kernel
    targets = {i.symbol for i in getattr(kernel, "inputs", ()) if i.role == "target"}
    return [(c.low, c.high, domain_message(c.function, c.argument, c.low, c.high, "{value}"))
            for c in getattr(kernel, "domains", ()) if c.expr in targets]


def _domains_argument(step: MlpStep) -> str:
    """``, domains=[...]`` for a launcher whose loss has target domains, else nothing."""
    literal = lambda v: repr(v) if abs(v) != float("inf") else f'float("{v}")'  # noqa: E731 (inf is no name)
    domains = ", ".join(f"({literal(lo)}, {literal(hi)}, {m!r})" for lo, hi, m in _target_domains(step))
    return f",\n                    domains=[{domains}]" if domains else ""


def _mlp_launcher(step: MlpStep) -> str:
    L = len(step.layers)
    pnames = [f"{w}{n}" for n in range(1, L + 1) for w in ("W", "b")]
    ce = step.loss.kind == "ce"
    target_doc = ("t: the class of each example, int64 or int32 (N_data,)" if ce else
                  f"t: the targets, float32 (N_data, D{L})")
    lines = [f"def {step.name}(x, t, {', '.join(pnames)}, order, lr, batch, *, check=True, precision=\"ieee\"):",
             f'    """{step.formula}.',
             "",
             "    Runs SGD steps over the examples order[0], order[1], … in mini-batches of ``batch`` — one",
             "    step, or a whole epoch of them — in ONE kernel launch, and updates the parameters in place.",
             "",
             "    Arguments (on one CUDA device, or the CPU under TRITON_INTERPRET=1):",
             "      x: the inputs, float32 (N_data, D0)",
             f"      {target_doc}",
             *[f"      W{n}: float32 (D{n}, D{n - 1}), b{n}: float32 (D{n},) — updated in place" for n in range(1, L + 1)],
             "      order: int tensor of example indices; steps = ceil(len(order) / batch)",
             "      lr: the learning rate, a float or a float32 tensor with one per step",
             "      check: check on the host that every index (and class) is in range (one synchronisation);",
             *CHECK_FALSE_DOC.splitlines(),
             *PRECISION_DOC.splitlines(),
             "",
             "    Returns the loss of each step before its update, a float32 tensor (steps,). A step whose loss",
             "    is NaN or infinite is not applied, nor any step after it.",
             "",
             *VIEWS_DOC.splitlines(),
             '    """',
             f"    return _run_mlp(_{step.name}_kernel, \"{step.name}\", x, t, [{', '.join(pnames)}], order, lr, batch,",
             f"                    ce={ce}, check=check, precision=precision{_domains_argument(step)})"]
    return "\n".join(lines) + "\n"


MLP_OPT_HOST = '''\
def _run_mlp_opt(kernel, key, x, t, params, states, hyper, per_step, order, lr, batch, ce, check, precision, domains=()):
    """An MLP step with an optimizer's state: the state tensors are checked like the parameters
    (each laid out like its parameter, updated in place), then the step is launched."""
    _floats("x", x, 2)
    device = x.device
    if ce:
        if not isinstance(t, torch.Tensor) or t.dtype not in (torch.int32, torch.int64) or t.dim() != 1:
            raise TypeError("t must be a 1-D int32/int64 tensor of classes, one per example")
        if t.device != device:
            raise ValueError(f"t is on {t.device} but x is on {device}")
    else:
        _floats("t", t, 2, device)
    if t.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but t has {t.shape[0]}")
    sizes = [x.shape[1]] + [w.shape[0] if isinstance(w, torch.Tensor) and w.dim() else 0 for w in params[::2]]
    for n in range(1, len(sizes)):
        _param(f"W{n}", params[2 * n - 2], (sizes[n], sizes[n - 1]), device)
        _param(f"b{n}", params[2 * n - 1], (sizes[n],), device)
    per = len(states) // len(params)
    for i, w in enumerate(params):
        for k in range(per):
            _param(f"the state {k} of parameter {i}", states[i * per + k], tuple(w.shape), device)
    if not ce and t.shape[1] != sizes[-1]:
        raise ValueError(f"t has {t.shape[1]} outputs per example but the network has {sizes[-1]}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    order, lrs, n, steps = _steps(order, lr, batch, x.shape[0], device, check)
    if ce and check and t.numel() and (int(t.min()) < 0 or int(t.max()) >= sizes[-1]):
        raise IndexError(f"a class in t lies outside [0, {sizes[-1]})")
    for low, high, message in domains if check else ():  # the loss's target domain (bce's t in [0, 1])
        _refuse_outside(t, low, high, message)
    pads = [_pad(d) for d in sizes]
    padded = sum(pads[i + 1] * (pads[i] + 1) for i in range(len(sizes) - 1))
    losses = torch.empty(steps, dtype=torch.float32, device=device)
    block, programs, scratch, counter = _plan(batch, n, steps, padded, pads, device, key)
    if n:
        arrays = [torch.tensor(values[:steps], dtype=torch.float32, device=device) for values in per_step]
        _launch(kernel, programs, padded, x.contiguous(), t.contiguous(), order, lrs, losses, *params, *states,
                scratch, counter, n, batch, steps, x.shape[0], *sizes, *hyper, *arrays, *pads, BLOCK_B=block,
                SPLIT=programs > 1, PRECISION=precision)
    return losses
'''


HYPER_HOST = '''\
_HYPER_RANGES = {"beta1": (0.0, 1.0, False), "beta2": (0.0, 1.0, False), "eps": (0.0, None, True)}


def _check_hyper(step0, hyper):
    """The step count and the update's hyperparameters checked before any use: the kernel would
    take any number (a NaN, β₁ = 1 or step0 < 0 turns the weights into NaN, silently)."""
    if isinstance(step0, bool) or not hasattr(type(step0), "__index__") or step0.__index__() < 0:
        raise ValueError(f"step0 must be a whole number ≥ 0, not {step0!r}")
    for name, value in hyper.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
            raise ValueError(f"{name} must be a finite number, not {value!r}")
        low, below, strict = _HYPER_RANGES.get(name, (0.0, None, False))
        if value < low or (strict and value == low) or (below is not None and value >= below):
            bounds = f"{'(' if strict else '['}{low}, {below if below is not None else '∞'})"
            raise ValueError(f"{name} must lie in {bounds}, not {value!r}")
'''


def _hyper_check_line(rule) -> str:
    """The launcher's first line with an update rule: its step count and hyperparameters checked."""
    hyper = [n for n, _ in rule.hyper if n != "lr"]
    return f"    _check_hyper(step0, {{{', '.join(f'{n!r}: {n}' for n in hyper)}}})\n"


def _mlp_opt_launcher(step: MlpStep, rule) -> str:
    """The launcher of an MLP step with ``rule``'s update; its per-step scalars (Adam's bias
    corrections) are printed from the rule's expressions and computed on the host in float64."""
    from sympy.printing.pycode import pycode

    from ...families.update_rules import t as t_sym

    L = len(step.layers)
    pnames = [f"{w}{n}" for n in range(1, L + 1) for w in ("W", "b")]
    states = [n for n, _ in rule.state]
    hyper = [n for n, _ in rule.hyper if n != "lr"]
    ce = step.loss.kind == "ce"
    names = {s: sp.Symbol(n) for n, s in rule.hyper}
    names[t_sym] = sp.Symbol("k")
    per_step = [f"[{pycode(e.xreplace(names))} for k in range(step0 + 1, step0 + steps + 1)]"
                for _, _, e in rule.per_step]
    lines = [f"def {step.name}(x, t, {', '.join(pnames)}, order, lr, batch, *, state, step0, {', '.join(hyper)}, "
             "check=True, precision=\"ieee\"):",
             f'    """{step.formula}.',
             "",
             "    As the plain SGD step, with the optimizer's state updated in place too: ``state`` lists,",
             f"    for each parameter in order, its {', '.join(states) or 'no'} tensor(s) (float32, the parameter's",
             "    shape, contiguous; zero before the first step); ``step0`` counts the steps taken before.",
             "    Returns the loss of each step before its update, a float32 tensor (steps,).",
             '    """',
             _hyper_check_line(rule).rstrip("\n"),
             "    steps = triton.cdiv(order.numel(), batch) if isinstance(order, torch.Tensor) and isinstance(batch, int) "
             "and batch > 0 else 0",
             f"    per_step = [{', '.join(per_step)}]",
             f"    return _run_mlp_opt(_{step.name}_kernel, \"{step.name}\", x, t, [{', '.join(pnames)}], list(state), "
             f"[{', '.join(hyper)}], per_step, order, lr, batch, ce={ce}, check=check, precision=precision"
             f"{_domains_argument(step)})"]
    return "\n".join(lines) + "\n"


def _elman_launcher(step: ElmanStep, rule=None) -> str:
    """The launcher of the Elman step; with ``rule`` (momentum, Adam) its state tensors, the step
    count before and the hyperparameters are arguments too, and its per-step scalars (Adam's bias
    corrections) are printed from the rule's expressions and computed on the host in float64."""
    from sympy.printing.pycode import pycode

    from ...families.update_rules import t as t_sym

    states = [n for n, _ in rule.state] if rule else []
    hyper = [n for n, _ in rule.hyper if n != "lr"] if rule else []
    extra = f"state, step0, {', '.join(hyper)}, " if rule else ""
    names = {s: sp.Symbol(n) for n, s in rule.hyper} if rule else {}
    names[t_sym] = sp.Symbol("k")
    per_step = [f"[{pycode(e.xreplace(names))} for k in range(step0 + 1, step0 + steps + 1)]"
                for _, _, e in (rule.per_step if rule else ())]
    state_doc = (f"      state: for W^i, W^h, W^o in turn, its {', '.join(states) or 'no'} tensor(s) (float32, the\n"
                 "        parameter's shape, contiguous; zero before the first step) — updated in place\n"
                 "      step0: the steps taken before (Adam's bias corrections count from it)\n"
                 f"      {', '.join(hyper)}: the update's hyperparameters ({rule.title})\n") if rule else ""
    state_check = ("    if not isinstance(state, (list, tuple)) or len(state) != " + str(3 * len(states)) + ":\n"
                   f"        raise ValueError(\"state must list {3 * len(states)} tensors: "
                   f"{', '.join(states)} of W^i, W^h, W^o in turn\")\n"
                   "    for i, (w, shape) in enumerate(((Wi, (H, D)), (Wh, (H, H)), (Wo, (C, H)))):\n"
                   f"        for k in range({len(states)}):\n"
                   f"            _param(f\"the state {{k}} of parameter {{i}}\", state[i * {len(states)} + k], shape, device)\n"
                   ) if rule else ""
    arrays = ("    arrays = [torch.tensor(values[:steps], dtype=torch.float32, device=device) for values in "
              f"[{', '.join(per_step)}]]\n") if rule else ""
    more = "*state, " if rule else ""
    scalars = f"*[{', '.join(hyper)}], *arrays, " if rule else ""
    what = f"{rule.name} steps ({rule.title})" if rule else "SGD steps"
    return f'''\
def {step.name}(x, r, Wi, Wh, Wo, order, lr, batch, delay, *, {extra}check=True, precision="ieee"):
    """{step.formula}.

    Runs {what} over the sequences order[0], order[1], … in mini-batches of ``batch`` — one step,
    or a whole epoch of them — in ONE kernel launch: per step the forward pass over all T time
    steps, BPTT back from T to 1, and the update, with W^i, W^h, W^o kept in registers throughout.

    Arguments (on one CUDA device, or the CPU under TRITON_INTERPRET=1):
      x: the input sequences, float32 (N_data, T, D)
      r: the class to name at each time step, int64 or int32 (N_data, T); scored where t > delay
      Wi: float32 (H, D), Wh: float32 (H, H), Wo: float32 (C, H) — updated in place
      order: int tensor of sequence indices; steps = ceil(len(order) / batch)
      lr: the learning rate, a float or a float32 tensor with one per step
      delay: k, the number of first time steps that are not scored (0 ≤ k < T)
{state_doc}      check: check on the host that every index and class is in range (one synchronisation);
{CHECK_FALSE_DOC}
{PRECISION_DOC}

    Returns the loss of each step before its update, a float32 tensor (steps,). A step whose loss
    is NaN or infinite is not applied, nor any step after it.

{VIEWS_DOC}
    """
{_hyper_check_line(rule) if rule else ""}    _floats("x", x, 3)
    device = x.device
    if not isinstance(r, torch.Tensor) or r.dtype not in (torch.int32, torch.int64) or r.dim() != 2:
        raise TypeError("r must be a 2-D int32/int64 tensor of classes, (N_data, T)")
    if r.device != device:
        raise ValueError(f"r is on {{r.device}} but x is on {{device}}")
    N_data, T, D = x.shape
    H, C = Wh.shape[0], Wo.shape[0]
    if tuple(r.shape) != (N_data, T):
        raise ValueError(f"r has shape {{tuple(r.shape)}}, expected {{(N_data, T)}} like x")
    _param("Wi", Wi, (H, D), device)
    _param("Wh", Wh, (H, H), device)
    _param("Wo", Wo, (C, H), device)
{state_check}    if T == 0:  # (else the delay's range below, [0, 0), named the wrong argument)
        raise ValueError(f"x has no time steps, shape {{tuple(x.shape)}}: a sequence needs T ≥ 1")
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay < T:
        raise ValueError(f"delay must be a whole number in [0, {{T}}), not {{delay!r}}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {{PRECISIONS}}, not {{precision!r}}")
    order, lrs, n, steps = _steps(order, lr, batch, N_data, device, check)
    if check and r.numel() and (int(r[:, delay:].min()) < 0 or int(r[:, delay:].max()) >= C):
        raise IndexError(f"a scored class in r lies outside [0, {{C}})")
    PD, PH, PC = _pad(D), _pad(H), _pad(C)
    padded = PH * PD + PH * PH + PC * PH
    losses = torch.empty(steps, dtype=torch.float32, device=device)
    block, programs, scratch, counter = _plan(batch, n, steps, padded, (PD, PH, PC), device, "{step.name}")
    if not n:
        return losses
    hs = torch.empty(min(batch, n) * (T + 1) * PH, dtype=torch.float32, device=device)
{arrays}    _launch(_{step.name}_kernel, programs, padded,
            x.contiguous(), r.contiguous(), order, lrs, losses, Wi, Wh, Wo, {more}hs, scratch, counter,
            n, batch, steps, N_data, T, delay, D, H, C, {scalars}PD=PD, PH=PH, PC=PC, BLOCK_B=block, SPLIT=programs > 1,
            PRECISION=precision)
    return losses
'''


def emit_triton_train_module(steps: list, source: str, regenerate: str, rule=None) -> str:
    """The Triton module of the training steps ``steps``; with an update ``rule`` (momentum, Adam:
    :func:`symnet.codegen.families.update_rules.update_rule`) the MLP and Elman steps apply it instead of plain SGD."""
    used: set = set()
    parts = []
    host: set = set()
    for step in steps:
        if isinstance(step, MlpStep) and rule is not None:
            parts += [emit_mlp_kernel(step, used, rule), _mlp_opt_launcher(step, rule)]
            host.update((MLP_OPT_HOST, HYPER_HOST, *DOMAIN_HOST))
        elif isinstance(step, MlpStep):
            parts += [emit_mlp_kernel(step, used), _mlp_launcher(step)]
            host.update((MLP_HOST, *DOMAIN_HOST))
        elif isinstance(step, ElmanStep):
            parts += [emit_elman_kernel(step, used, rule), _elman_launcher(step, rule)]
            if rule is not None:
                host.add(HYPER_HOST)
        else:
            raise SymnetError(f"not a training step: {step!r}")
    device = generated_last(TRITON_HELPERS, used, "triton")
    limits = f"MAX_PARAMS = {MAX_PARAMS}  # padded parameter entries kept in registers\nMAX_WIDTH = {MAX_WIDTH}  # padded units in one layer\n\n\n"
    return assemble(steps, source, regenerate,
                    ["One launch runs whole SGD steps — forward, loss, backpropagation, update — with the",
                     "parameters in registers: one step (split over programs by the batch), or a whole epoch",
                     "of steps in one program. float32; IEEE float32 products unless precision=\"tf32x3\" or \"tf32\"."],
                    device + [HOST_HELPERS["_device_ok"], HOST] + sorted(host) + parts, preamble=limits)
