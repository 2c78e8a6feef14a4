"""The torch.library ops of :mod:`symnet.torch`, registered when this module is imported.

Every op wraps generated code: the committed Triton kernels under ``kernels/triton/`` (dense,
rnn_step, softmax, log_softmax, softmax_cross_entropy) or, for the activations and elementwise
losses of the registry, the Triton module ``symnet.compile`` generates from the registry
entry's derivation with respect to EVERY tensor input (compiled on first use, cached).

Each op is a pair of opaque custom ops: the forward, and its backward (``<op>_backward``),
so ``torch.compile`` and ``torch.export`` trace both through their fake kernels and never
launch Triton on a FakeTensor. The backward ops have an autograd formula that raises
:class:`DoubleBackwardError` (one line naming the op): a second derivative is refused, never
silently wrong. Each op has a vmap rule, and so has each op of the committed kernel modules
(``symnet::*``): registered as each module loads (:func:`register_generated_vmap`).

Devices: a launch runs under ``torch.cuda.device(x.device)`` for CUDA tensors. CPU tensors run
the Triton kernels in Triton's interpreter when ``TRITON_INTERPRET=1``; otherwise the op raises
:class:`DeviceError` (there is no silent fallback to another implementation).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import os
import re
import sys
import types

import sympy as sp
import torch

from .. import TIME_LIMIT, _shortened
from ..codegen.backends.triton.interpreted import interpreted_launch
from ..errors import SymnetError

NS = "symnet_torch"


class DeviceError(SymnetError, ValueError):
    """A tensor on a device the Triton kernels cannot run on (a CPU tensor without TRITON_INTERPRET=1)."""


class DoubleBackwardError(SymnetError, RuntimeError):
    """A second derivative (``create_graph=True`` then backward again) through a symnet op."""


def _launch(op: str, x: torch.Tensor):
    """The device guard of a launch, after checking the device can run Triton at all."""
    if x.device.type == "cuda":
        return torch.cuda.device(x.device)
    if os.environ.get("TRITON_INTERPRET") != "1":
        raise DeviceError(f"{_label(op)}: the tensors are on {x.device}; symnet's Triton kernels run on a CUDA "
                          "device, or on the CPU with TRITON_INTERPRET=1 set before triton is imported")
    # the interpreter runs each operation in NumPy, on every lane: a where's discarded branch (log-cosh's e^x/e^x
    # at |x| ≫ 1) warned "RuntimeWarning: invalid value encountered in divide" from triton's interpreter.py, which a
    # GPU never does; the results are the same, NaN where a kept lane is NaN (session 42's new user). The block
    # also patches triton.language once per launch, not at every helper call (half a double-word launch's time), and
    # shows a progress line after a second (a double-word kernel takes seconds a launch there: session 51's new user)
    text = _FORMULA_TEXT.get(op)
    return interpreted_launch(f"from_formula({_shortened(text, 40)})" if text else f"{NS}::{op}")


# the formula of each from_formula op, by its hashed name (formula_…), so that an error names what the user wrote
_FORMULA_TEXT: dict[str, str] = {}


def _label(op: str) -> str:
    """``symnet_torch::op``, and for a from_formula op the formula it was made from (its name is a hash)."""
    text = _FORMULA_TEXT.get(op)
    return f"{NS}::{op}" + (f" (from_formula({text}))" if text else "")


def _refuse_second(op: str):
    def backward(ctx, *grads):
        raise DoubleBackwardError(f"{NS}::{op} is differentiable once: its backward has no derivative "
                                  "(create_graph=True then backward again is not supported)")
    return backward


# ---------------------------------------------------------------------------------------
# torch.func (grad, vjp, jacrev, vmap of those): torch's custom-op autograd is an
# autograd.Function whose forward takes ctx, which torch.func refuses ("must override the
# setup_context staticmethod"). Each differentiable op's autograd formula (its setup_context
# and backward) is also kept here, and :func:`call` runs the op through an autograd.Function
# of the torch.func form (forward without ctx, setup_context, a generated vmap rule) while a
# torch.func transform is active; otherwise it calls the op (torch.compile, torch.export and
# plain autograd see the op itself).

_AUTOGRAD: dict[str, tuple] = {}


def register_autograd(op, backward, setup) -> None:
    """``op.register_autograd(backward, setup_context=setup)``, kept for :func:`call`."""
    op.register_autograd(backward, setup_context=setup)
    _AUTOGRAD[op._name] = (setup, backward)


def _transforms_active() -> bool:
    """Whether a torch.func transform is active, or a forward-AD level of torch.autograd.forward_ad (session 48,
    h-break48: a dual tensor through the op itself, which has no forward-AD formula, came out with tangent None, the
    derivative silently lost: st.functional.gelu, from_formula, softmax and mse_loss alike; torch.func.jvp was right);
    the op then runs through its autograd.Function, whose jvp gives Σ ∂f/∂xᵢ·ẋᵢ or raises ForwardModeError."""
    if torch.compiler.is_compiling():
        return False
    return (torch._C._functorch.peek_interpreter_stack() is not None
            or getattr(torch.autograd.forward_ad, "_current_level", -1) >= 0)


def call(op, *args):
    """The symnet_torch op ``op`` (an OpOverload) applied to ``args``; under torch.func.grad,
    vjp, jacrev or vmap through an autograd.Function of the torch.func form (see above);
    torch.func.jvp (forward mode) raises :class:`ForwardModeError` naming the op, except for the
    elementwise ops, whose kernels return ∂f/∂(each input) (their jvp is Σ ∂f/∂xᵢ·ẋᵢ)."""
    _one_device(op, args)
    if not _transforms_active():
        return op(*args)
    return _function(op._opname).apply(*args)


def _one_device(op, args, kwargs=None) -> None:
    """Raises :class:`DeviceError` naming two arguments of ``op`` on different devices. The
    dispatcher runs a custom op for the device of highest priority among its tensors: a meta
    tensor beside CPU ones ran the fake kernel and returned uninitialised memory as the loss
    (``cross_entropy(z, y.to("meta"))`` gave 5.9e-201), and a kernel launched on one device
    cannot read another's memory. Here for eager and torch.func calls; while torch.compile traces
    (Dynamo cannot iterate a schema) the op's fake kernel checks the same (:func:`register_fake`)."""
    if not torch.compiler.is_compiling():
        _same_device(op, args, kwargs)


def _same_device(op, args, kwargs=None) -> None:
    """The check of :func:`_one_device`, wherever it runs (a fake kernel runs it while torch.compile traces)."""
    kwargs = kwargs or {}
    specs = op._schema.arguments
    values = list(args) + [kwargs[s.name] for s in specs[len(args):] if s.name in kwargs]
    first = None
    for spec, value in zip(specs, values):
        many = isinstance(value, (list, tuple))
        for i, x in enumerate(value if many else (value,)):
            if not isinstance(x, torch.Tensor):
                continue
            name = f"{spec.name}[{i}]" if many else spec.name
            if first is None:
                first = (name, x.device)
            elif x.device != first[1]:
                raise DeviceError(f"{NS}::{op._opname}: argument '{name}' is on {x.device} but '{first[0]}' is on "
                                  f"{first[1]}; put the tensors on one device")


def register_fake(op, fake) -> None:
    """``op.register_fake(fake)`` for a ``torch.library.custom_op`` ``op``, the fake first checking that
    its tensors share a device (:func:`_one_device`). The fake kernel is what torch.compile runs while it
    traces: without the check a CPU tensor beside a meta one compiled into a graph that returned
    uninitialised memory (``torch.compile(mse_loss)(z, z.to("meta"))`` gave 6.8e-310)."""
    overload = op._opoverload

    def checked(*args, **kwargs):
        _same_device(overload, args, kwargs)
        return fake(*args, **kwargs)

    op.register_fake(checked)


class ForwardModeError(SymnetError, NotImplementedError):
    """Forward-mode AD (torch.func.jvp, jacfwd) through a symnet op that has no forward formula."""


class _Layout:
    """How to put the flattened arguments back (one entry an argument: its length for a list, else
    None). Not a tuple: torch.func flattens an autograd.Function's arguments as pytrees, and under
    vmap of jvp (jacfwd of jacrev, hessian) it pairs each top-level argument with one tangent, so a
    tuple here (several pytree leaves) broke that pairing with an internal treespec error."""
    __slots__ = ("lengths",)

    def __init__(self, lengths):
        self.lengths = tuple(lengths)


def _flatten(args):
    """The arguments with each list spread out (autograd.Function sees only top-level tensors),
    and the lengths to put them back (a :class:`_Layout`)."""
    flat, layout = [], []
    for a in args:
        if isinstance(a, (list, tuple)):
            layout.append(len(a))
            flat += list(a)
        else:
            layout.append(None)
            flat.append(a)
    return flat, _Layout(layout)


def _unflatten(flat, layout):
    args, i = [], 0
    for n in layout.lengths:
        args.append(flat[i] if n is None else list(flat[i:i + n]))
        i += 1 if n is None else n
    return args


def _flat_grads(args, grads):
    """The backward's gradients (one per argument, a list for a list) laid out as _flatten's."""
    out = []
    for a, g in zip(args, grads):
        if isinstance(a, (list, tuple)):
            g = g if isinstance(g, (list, tuple)) and len(g) == len(a) else [None] * len(a)
            out += [gi if isinstance(ai, torch.Tensor) else None for ai, gi in zip(a, g)]
        else:
            out.append(g if isinstance(a, torch.Tensor) else None)
    return out


class _Func:
    def __init__(self, function):
        self.function = function

    def apply(self, *args):
        flat, layout = _flatten(args)
        return self.function.apply(layout, *flat)


@functools.lru_cache(maxsize=None)
def _function(name: str):
    overload = getattr(getattr(torch.ops, NS), name).default
    setup, backward = _AUTOGRAD[name]
    listed = str(overload._schema.returns[0].type) == "List[Tensor]"
    pointwise = name in _POINTWISE

    def forward(layout, *flat):
        out = overload(*_unflatten(flat, layout))
        return tuple(out) if listed else out

    def setup_context(ctx, inputs, output):
        ctx.layout, ctx.args = inputs[0], _unflatten(inputs[1:], inputs[0])
        if pointwise:
            ctx.save_for_forward(*output[1:])
        setup(ctx, ctx.args, list(output) if listed else output)

    def backward_(ctx, *grads):
        flat_needs = ctx.needs_input_grad
        ctx.needs_input_grad = tuple(any(n) if isinstance(n, list) else n  # one per argument, as the op's
                                     for n in _unflatten(flat_needs[1:], ctx.layout))
        try:
            grads_in = backward(ctx, list(grads) if listed else grads[0])
        finally:
            ctx.needs_input_grad = flat_needs
        return (None, *_flat_grads(ctx.args, grads_in if isinstance(grads_in, tuple) else (grads_in,)))

    def jvp(ctx, layout_tangent, *tangents):
        if name.endswith("_backward"):  # forward mode through a backward: a second derivative
            op = ctx.args[3] if name == "pointwise_backward" else name[:-len("_backward")]
            raise DoubleBackwardError(f"{_label(op)} is differentiable once: its backward has no derivative "
                                      "(forward mode over a gradient, as jacfwd(jacrev(f)) or hessian, is not "
                                      "supported)")
        if not pointwise:
            raise ForwardModeError(f"{NS}::{name} has no forward-mode derivative (torch.func.jvp, jacfwd); "
                                   "use torch.func.vjp, grad or jacrev")
        partials = ctx.saved_tensors
        df = sum(p * t for p, t in zip(partials, tangents) if t is not None)
        return (df, *(None for _ in partials))

    return _Func(type(f"SymnetFunction_{name}", (torch.autograd.Function,),
                      {"generate_vmap_rule": True, "forward": staticmethod(forward),
                       "setup_context": staticmethod(setup_context), "backward": staticmethod(backward_),
                       "jvp": staticmethod(jvp)}))


def _exists(name: str) -> bool:
    return hasattr(getattr(torch.ops, NS), name)


@functools.lru_cache(maxsize=None)
def _kernels(module: str):
    from ..kernels import load_kernel

    return load_kernel(module, "triton")


# ---------------------------------------------------------------------------------------
# vmap: the batch dimension of every batched tensor moved to the front (unbatched ones are
# expanded); an op that works row by row or entry by entry takes the batch as more rows, the
# others run once per batch entry.

def _front(x, d, size):
    if not isinstance(x, torch.Tensor):
        return x
    return x.movedim(d, 0) if d is not None else x.unsqueeze(0).expand(size, *x.shape)


def _vmap_loop(op):
    def rule(info, in_dims, *args):
        args = [[_front(t, td, info.batch_size) for t, td in zip(a, d if isinstance(d, (list, tuple)) else [d] * len(a))]
                if isinstance(a, (list, tuple))
                else (_front(a, d, info.batch_size) if d is not None or isinstance(a, torch.Tensor) else a)
                for a, d in zip(args, in_dims)]
        outs = []
        for i in range(info.batch_size):
            pick = [[t[i] for t in a] if isinstance(a, list) else (a[i] if isinstance(a, torch.Tensor) else a)
                    for a in args]
            outs.append(op(*pick))
        if isinstance(outs[0], (list, tuple)):
            return [torch.stack(o) for o in zip(*outs)], [0] * len(outs[0])
        return torch.stack(outs), 0
    return rule


# ---------------------------------------------------------------------------------------
# Elementwise ops: one generated kernel returns the value and ∂f/∂(each tensor input).

_POINTWISE: dict[str, "Pointwise"] = {}
_SYMBOLS = ("x", "t", "v", "u", "w")


class Pointwise:
    """An elementwise op ``symnet_torch::<name>(Tensor x, ..., float[] params) -> Tensor[]``
    returning [f, ∂f/∂x, ...]; ``build(params)`` gives the compiled kernel (wrt = every input,
    in order) for the given extra parameters. ``visible``: register it with
    torch.library.triton_op (default: :func:`inductor_visible`)."""

    def __init__(self, name: str, inputs: tuple[str, ...], build, visible: bool | None = None):
        self.name, self.inputs, self._build = name, inputs, build
        self._compiled = {}
        schema = "(" + ", ".join(f"Tensor {n}" for n in inputs) + ", float[] params) -> Tensor[]"
        n = len(inputs)
        if inductor_visible() if visible is None else visible:  # the launch is the op: Inductor sees the kernel
            op = torch.library.triton_op(f"{NS}::{name}", _typed(self._run_visible, inputs), mutates_args=())
        else:
            op = torch.library.custom_op(f"{NS}::{name}", self._run, mutates_args=(), schema=schema)
            register_fake(op, lambda *args: [torch.empty_like(args[0]) for _ in range(n + 1)])

        def setup(ctx, inputs, output):
            ctx.save_for_backward(*inputs[:n], *output[1:])
            ctx.mark_non_differentiable(*output[1:])
            ctx.no_params = [] if not inputs[n] else None  # the structure torch expects for the floats

        def backward(ctx, grads):
            saved = ctx.saved_tensors
            parts = call(torch.ops.symnet_torch.pointwise_backward.default, grads[0], list(saved[n:]), list(saved[:n]),
                         name)
            return (*parts, ctx.no_params)

        register_autograd(op, backward, setup)
        op.register_vmap(self._vmap)
        self.op = getattr(torch.ops.symnet_torch, name).default
        _POINTWISE[name] = self

    def kernel(self, params=()):
        params = tuple(float(p) for p in params)
        bad = [p for p in params if p != p or abs(p) == float("inf")]
        if bad:  # the formula is derived with the number in it: NaN or ∞ there has no meaning
            raise SymnetError(f"{self.name}: its parameters must be finite numbers, not {bad[0]}")
        compiled = self._compiled.get(params)
        if compiled is None:
            from ..progress import progress

            # the first use of these parameters in this process: derive and generate (seconds; the stabilised
            # kernel description is read from the disk cache where an earlier process kept it)
            with progress(f"deriving and generating the {self.name} kernel (first use)"):
                compiled = self._compiled[params] = self._build(params)
        return compiled

    def _run(self, *args):
        tensors, params = args[:-1], args[-1]
        _check_domains(self.name, tensors, params)
        order, tensors = _memory_order(tensors)
        with _launch(self.name, tensors[0]):
            out = self.kernel(params)(**{n: t.contiguous() for n, t in zip(self.inputs, tensors)})
        return [_in_memory_order(o.reshape(tensors[0].shape), order) for o in out]

    def _run_visible(self, *args):
        """The op as torch.library.triton_op runs it: eagerly a plain launch; traced (torch.compile,
        its fake kernel) a wrap_triton launch that Inductor sees and schedules."""
        tensors, params = args[:-1], args[-1]
        _check_domains(self.name, tensors, params)
        order, tensors = _memory_order(tensors)
        with _launch(self.name, tensors[0]):
            compiled = self.kernel(params)
            named = dict(zip(self.inputs, tensors))
            out = traced_launches(compiled.module, compiled.kernel.name)(*(named[n] for n in compiled.inputs))
        return [_in_memory_order(o.reshape(tensors[0].shape), order) for o in out]

    def _vmap(self, info, in_dims, *args):
        tensors = [_front(t, d, info.batch_size) for t, d in zip(args[:-1], in_dims[:-1])]
        out = self.op(*tensors, args[-1])
        return out, [0] * len(out)


def _memory_order(tensors):
    """(order, the tensors permuted to it): where the first tensor is dense but not contiguous
    (channels_last, a transpose) and every tensor is laid out alike, its dimensions from the largest
    stride down, so that the elementwise kernel reads each in memory order without a copy and
    :func:`_in_memory_order` gives the outputs the input's layout, as torch's elementwise ops do
    (``torch.empty_like``, the ops' fake kernels, keeps it too). Otherwise (None, the tensors)."""
    first = tensors[0]
    if first.dim() < 2 or first.is_contiguous() or any(t.shape != first.shape or t.stride() != first.stride()
                                                       for t in tensors[1:]):
        return None, tensors
    order = sorted(range(first.dim()), key=lambda d: (-first.stride(d), d))
    if not first.permute(order).is_contiguous():  # overlapping or with gaps (a broadcast, a slice)
        return None, tensors
    return order, [t.permute(order) for t in tensors]


def _in_memory_order(out: torch.Tensor, order):
    """An output computed in the permuted ``order`` of :func:`_memory_order`, in the input's dimensions."""
    if order is None:
        return out
    return out.permute(sorted(range(len(order)), key=order.__getitem__))


def inductor_visible() -> bool:
    """Whether ops are registered with torch.library.triton_op (their Triton launches visible to
    Inductor): wherever the kernels are compiled ones. Under TRITON_INTERPRET=1 a kernel is an
    interpreted function, which wrap_triton does not trace, so the ops are opaque custom ops with
    fake kernels there (torch.compile still traces them; Inductor calls them as they are).
    Set before ``import symnet.torch``: ``SYMNET_TORCH_OPAQUE=1`` registers opaque ops everywhere;
    ``SYMNET_TORCH_TRITON_OP=1`` (for tests) registers triton_ops under the interpreter too, whose
    traced launches run there through :func:`symnet.torch._interpreted.jit_twin` (eagerly, under
    ``torch.compile(backend="aot_eager")``; Inductor's CPU backend cannot compile Triton kernels)."""
    if os.environ.get("SYMNET_TORCH_OPAQUE") == "1":
        return False
    return os.environ.get("TRITON_INTERPRET") != "1" or os.environ.get("SYMNET_TORCH_TRITON_OP") == "1"


def traced_launches(module, function: str):
    """The generated launcher ``module.<function>`` with every Triton kernel it launches (the
    module's ``_*_kernel`` functions) passed through ``torch.library.wrap_triton`` at this call:
    eagerly the launcher itself; while torch.compile traces a triton_op (FunctionalTensorMode,
    fake tensors) the same launcher code whose launches are traced as
    ``triton_kernel_wrapper_*`` nodes, which Inductor compiles and schedules. The generated
    launcher is not copied or edited: its code runs with those names rebound."""
    launcher = getattr(module, function)
    rebound = {}
    for name, value in vars(module).items():
        if name.startswith("_") and name.endswith("_kernel"):
            if _interpreted_kernel(value):  # Triton's interpreter: a JIT face wrap_triton traces
                from ._interpreted import jit_twin
                value = rebound[name] = jit_twin(value)
            try:
                wrapped = torch.library.wrap_triton(value)
            except RuntimeError:  # not a Triton kernel
                continue
            if wrapped is not value:
                rebound[name] = wrapped
    if not rebound:
        return launcher
    names = {**vars(module), **rebound}
    traced = types.FunctionType(launcher.__code__, names, launcher.__name__, launcher.__defaults__,
                                launcher.__closure__)
    traced.__kwdefaults__ = launcher.__kwdefaults__
    return traced


def _interpreted_kernel(value) -> bool:
    if os.environ.get("TRITON_INTERPRET") != "1":
        return False
    from ._interpreted import is_interpreted
    return is_interpreted(value)


def _typed(fn, inputs: tuple[str, ...]):
    """``fn(*tensors, params)`` with the signature torch.library infers the op's schema from:
    (Tensor <input>, ..., float[] params) -> Tensor[]."""
    def typed(*args, **kwargs):
        return fn(*signature.bind(*args, **kwargs).args)
    P = inspect.Parameter
    typed.__signature__ = signature = inspect.Signature(
        [P(n, P.POSITIONAL_OR_KEYWORD, annotation=torch.Tensor) for n in inputs]
        + [P("params", P.POSITIONAL_OR_KEYWORD, annotation=list[float])], return_annotation=list[torch.Tensor])
    return typed


def _pointwise_backward_impl(g: torch.Tensor, partials: list[torch.Tensor], inputs: list[torch.Tensor],
                             op: str) -> list[torch.Tensor]:
    return [(g * p).to(p.dtype) for p in partials]


if not _exists("pointwise_backward"):
    _pwb = torch.library.custom_op(f"{NS}::pointwise_backward", _pointwise_backward_impl, mutates_args=())
    register_fake(_pwb, lambda g, partials, inputs, op: [torch.empty_like(p) for p in partials])

    def _pwb_backward(ctx, grads):
        raise DoubleBackwardError(f"{_label(ctx.op)} is differentiable once: its backward has no derivative "
                                  "(create_graph=True then backward again is not supported)")

    def _pwb_setup(ctx, inputs, output):
        ctx.op = inputs[3]

    register_autograd(_pwb, _pwb_backward, _pwb_setup)

    def _pwb_vmap(info, in_dims, g, partials, inputs, op):
        b = info.batch_size
        return (torch.ops.symnet_torch.pointwise_backward(_front(g, in_dims[0], b),
                                                          [_front(p, d, b) for p, d in zip(partials, in_dims[1])],
                                                          [_front(x, d, b) for x, d in zip(inputs, in_dims[2])], op),
                [0] * len(partials))

    _pwb.register_vmap(_pwb_vmap)


def _check_domains(name: str, tensors, params=()) -> None:
    """Refuse data outside the argument domains of the registry entry ``name`` (gaussian_nll's var < 0,
    bce's p outside [0, 1]: :func:`symnet.registry.check_argument_domains`, one line naming the argument);
    ``params``, the op's options in order, decide the domains that depend on one (kl_div's t ≥ 0 only with
    log_target = 0).

    Here, in the op itself, it reads real data however the op is reached: eagerly, and under
    torch.func, whose vmap hands the op the whole batch (a check of the batched tensors before the op
    was Python control flow on their data, which vmap refuses: ``vmap(bce)`` failed where torch's runs).
    Not while torch.compile traces (fake tensors, no data): symnet.torch.functional.loss checks there."""
    from torch._subclasses.fake_tensor import is_fake

    from ..registry import REGISTRY

    entry = REGISTRY.get(name)
    if entry is None or not entry.argument_domains or torch.compiler.is_compiling() \
            or any(is_fake(t) or t.device.type == "meta" for t in tensors):
        return
    from ..registry import check_argument_domains

    check_argument_domains(entry, [*tensors, *params])  # the options after the tensors (kl_div's log_target)


def _as_number(p: float):
    return sp.Rational(repr(float(p))) if float(p) == float(p) and abs(float(p)) != float("inf") else sp.Float(p)


def _registry_op(entry) -> Pointwise:
    """The op of one registry activation (one tensor input) or loss (its required tensor inputs)."""
    inputs = _SYMBOLS[:entry.arity[0]]

    def build(params):
        from .. import compile as symnet_compile
        from ..codegen.stored import stored_derivation
        from ..engine import derive

        def derived():
            symbols = sp.symbols(" ".join(inputs), real=True)
            symbols = symbols if isinstance(symbols, tuple) else (symbols,)
            expr = entry.build(*symbols, *map(_as_number, params))
            return derive(expr, wrt=list(symbols), name=entry.name)

        # the derivation too is kept on disk: it depends only on the entry, its parameters and symnet's code
        d = stored_derivation(f"symnet.torch registry op {entry.name}{inputs!r}{params!r}", derived)
        return symnet_compile(d, backend="triton")

    return Pointwise(entry.name, inputs, build)


def registry_ops() -> dict[str, Pointwise]:
    """Every activation and elementwise loss of the registry, as ops (registered once)."""
    from ..registry import REGISTRY

    for entry in REGISTRY.values():
        if entry.family in ("activation", "loss") and entry.name not in _POINTWISE:
            _registry_op(entry)
    return _POINTWISE


def formula_op(expr: sp.Expr, inputs: tuple[sp.Symbol, ...], checks: tuple = (),
               time_limit: float | None = TIME_LIMIT, text: str | None = None) -> Pointwise:
    """The op of a user's formula, named by a hash of the formula, its declared inputs and the arguments its
    kernel checks (``checks``: symnet.derivation.ArgumentCheck, from symnet.parsing.parse_with_checks). Deriving and
    generating its kernel take ``time_limit`` CPU seconds at most together (symnet.derive's and symnet.compile's
    budget: LimitError past it, naming from_formula's keyword; a formula built before is not derived again). ``text``:
    the formula as the user wrote it, which messages name (``expr`` by default: a parsed focal(z, t) is a Piecewise)."""
    from dataclasses import replace

    from .. import _budget, compile as symnet_compile
    from ..engine import derive

    key = f"{sp.srepr(expr)}|{','.join(s.name for s in inputs)}" + (f"|{checks!r}" if checks else "")
    name = "formula_" + hashlib.sha256(key.encode()).hexdigest()[:16]
    if name in _POINTWISE:
        return _POINTWISE[name]
    text = text if isinstance(text, str) else sp.sstr(expr)
    budget = _budget(time_limit, f"deriving and generating the kernel of {_shortened(text)}",
                     "symnet.torch.from_formula")
    _FORMULA_TEXT[name] = f"{text!r}, inputs={[s.name for s in inputs]}"
    from ..progress import progress

    with budget, progress("deriving and generating the formula's kernel"):
        d = replace(derive(expr, wrt=list(inputs), name="formula"), domains=tuple(checks))
        compiled = symnet_compile(d, backend="triton", time_limit=None)  # (within the budget above)
    return Pointwise(name, tuple(s.name for s in inputs), lambda params: compiled)


# ---------------------------------------------------------------------------------------
# Dense layers: y = act(a Wᵀ + b) on (B, m) rows: "linear", or an activation with a fused
# generated kernel pair dense_<act> / dense_<act>_backward in kernels/triton/dense.py (σ today).

def _constant_result(fn):
    """``torch.compiler.assume_constant_result(fn)`` (torch.compile takes fn's answer as a constant, no
    file access traced) without importing torch._dynamo, which that call does: 4.4 s of ``import
    symnet.torch``'s 12.7 s. The decorator only marks the function (``_dynamo_marked_constant``, read
    when Dynamo meets a call); where Dynamo is loaded already, its own decorator is used.
    tests/test_breakage14.py (f) checks that the two mark alike."""
    if "torch._dynamo" in sys.modules:
        return torch.compiler.assume_constant_result(fn)
    fn._dynamo_marked_constant = True
    return fn


@_constant_result
def fused_dense(activation: str) -> bool:
    """Whether the committed dense module has fused forward and backward kernels for ``activation``."""
    k = _kernels("dense")
    return activation == "linear" or (hasattr(k, f"dense_{activation}") and hasattr(k, f"dense_{activation}_backward"))


def _dense_impl(a: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None, activation: str) -> torch.Tensor:
    k = _kernels("dense")
    with _launch("dense", a):
        if b is None:
            b = torch.zeros(W.shape[0], dtype=a.dtype, device=a.device)
        return (k.linear if activation == "linear" else getattr(k, f"dense_{activation}"))(a, W, b)


def _dense_backward_impl(g: torch.Tensor, a: torch.Tensor, W: torch.Tensor, b: torch.Tensor | None, y: torch.Tensor,
                         activation: str) -> list[torch.Tensor]:
    k = _kernels("dense")
    g = g.contiguous()
    with _launch("dense_backward", a):
        if activation == "linear":
            dW, db, da = k.linear_backward(a, W, g)
        else:  # the generated backward's arguments by name: a, W, y = f(z), z (an f′ that reads z), g
            backward = getattr(k, f"dense_{activation}_backward")
            known = {"a": a, "W": W, "y": y, "g": g}
            if "z" in inspect.signature(backward).parameters:
                known["z"] = a @ W.T + (b if b is not None else 0)
            dW, db, da = backward(*(known[n] for n in inspect.signature(backward).parameters))
    return [da, dW, db]


if not _exists("dense"):
    _dense = torch.library.custom_op(f"{NS}::dense", _dense_impl, mutates_args=())
    register_fake(_dense, lambda a, W, b, activation: a.new_empty(a.shape[0], W.shape[0]))

    def _dense_setup(ctx, inputs, output):
        a, W, b, activation = inputs
        ctx.activation, ctx.has_bias = activation, b is not None
        ctx.save_for_backward(a, W, b, output)

    def _dense_backward(ctx, g):
        a, W, b, y = ctx.saved_tensors
        da, dW, db = call(torch.ops.symnet_torch.dense_backward.default, g, a, W, b, y, ctx.activation)
        return da, dW, (db if ctx.has_bias else None), None

    register_autograd(_dense, _dense_backward, _dense_setup)
    _dense.register_vmap(_vmap_loop(torch.ops.symnet_torch.dense))

    _dense_b = torch.library.custom_op(f"{NS}::dense_backward", _dense_backward_impl, mutates_args=())
    register_fake(_dense_b, lambda g, a, W, b, y, activation: [torch.empty_like(a), torch.empty_like(W),
                                                           W.new_empty(W.shape[0])])
    register_autograd(_dense_b, _refuse_second("dense"), lambda ctx, inputs, output: None)
    _dense_b.register_vmap(_vmap_loop(torch.ops.symnet_torch.dense_backward))


# ---------------------------------------------------------------------------------------
# One Elman step h = σ(x Wiᵀ + hp Whᵀ) (kernels/triton/rnn_step.py).

def _rnn_impl(x: torch.Tensor, hp: torch.Tensor, Wi: torch.Tensor, Wh: torch.Tensor) -> torch.Tensor:
    with _launch("rnn_step", x):
        return _kernels("rnn_step").rnn_step(x, hp, Wi, Wh)


def _rnn_backward_impl(g: torch.Tensor, x: torch.Tensor, hp: torch.Tensor, Wi: torch.Tensor, Wh: torch.Tensor,
                       h: torch.Tensor) -> list[torch.Tensor]:
    g = g.contiguous()
    with _launch("rnn_step_backward", x):
        dWi, dWh, dhp = _kernels("rnn_step").rnn_step_backward(x, hp, Wi, Wh, h, g)
        # ∂C/∂x = Wⁱᵀδ with δ = g·h(1 − h): the dense σ layer's ∂C/∂a, with a = x, W = Wⁱ, y = h
        _, _, dx = _kernels("dense").dense_sigmoid_backward(x, Wi, h, g)
    return [dx, dhp, dWi, dWh]


if not _exists("rnn_step"):
    _rnn = torch.library.custom_op(f"{NS}::rnn_step", _rnn_impl, mutates_args=())
    register_fake(_rnn, lambda x, hp, Wi, Wh: x.new_empty(x.shape[0], Wi.shape[0]))

    def _rnn_setup(ctx, inputs, output):
        ctx.save_for_backward(*inputs, output)

    def _rnn_backward(ctx, g):
        return tuple(call(torch.ops.symnet_torch.rnn_step_backward.default, g, *ctx.saved_tensors))

    register_autograd(_rnn, _rnn_backward, _rnn_setup)
    _rnn.register_vmap(_vmap_loop(torch.ops.symnet_torch.rnn_step))

    _rnn_b = torch.library.custom_op(f"{NS}::rnn_step_backward", _rnn_backward_impl, mutates_args=())
    register_fake(_rnn_b, lambda g, x, hp, Wi, Wh, h: [torch.empty_like(x), torch.empty_like(hp),
                                                      torch.empty_like(Wi), torch.empty_like(Wh)])
    register_autograd(_rnn_b, _refuse_second("rnn_step"), lambda ctx, inputs, output: None)
    _rnn_b.register_vmap(_vmap_loop(torch.ops.symnet_torch.rnn_step_backward))


# ---------------------------------------------------------------------------------------
# softmax / log_softmax over the last axis (kernels/triton/softmax.py, log_softmax.py).

def _softmax_impl(z: torch.Tensor, log: bool) -> torch.Tensor:
    with _launch("softmax", z):
        return _kernels("log_softmax").log_softmax(z) if log else _kernels("softmax").softmax(z)


def _softmax_backward_impl(g: torch.Tensor, z: torch.Tensor, log: bool) -> torch.Tensor:
    with _launch("softmax_backward", z):
        if log:
            return _kernels("log_softmax").log_softmax_grad(z, g)[1]
        return _kernels("softmax").softmax_grad(z, g)[1]


def _rows_vmap(op):
    def rule(info, in_dims, *args):  # row-wise over the last axis: the batch is more rows
        args = [_front(a, d, info.batch_size) if isinstance(a, torch.Tensor) else a for a, d in zip(args, in_dims)]
        return op(*args), 0
    return rule


if not _exists("softmax"):
    _sm = torch.library.custom_op(f"{NS}::softmax", _softmax_impl, mutates_args=())
    register_fake(_sm, lambda z, log: torch.empty_like(z))

    def _sm_setup(ctx, inputs, output):
        ctx.log = inputs[1]
        ctx.save_for_backward(inputs[0])

    def _sm_backward(ctx, g):
        (z,) = ctx.saved_tensors
        return call(torch.ops.symnet_torch.softmax_backward.default, g, z, ctx.log), None

    register_autograd(_sm, _sm_backward, _sm_setup)
    _sm.register_vmap(_rows_vmap(torch.ops.symnet_torch.softmax))

    _sm_b = torch.library.custom_op(f"{NS}::softmax_backward", _softmax_backward_impl, mutates_args=())
    register_fake(_sm_b, lambda g, z, log: torch.empty_like(z))
    register_autograd(_sm_b, _refuse_second("softmax"), lambda ctx, inputs, output: None)
    _sm_b.register_vmap(_rows_vmap(torch.ops.symnet_torch.softmax_backward))


# ---------------------------------------------------------------------------------------
# Softmax cross-entropy over (N, V) rows with integer classes (kernels/triton/softmax_cross_entropy.py).

def ignore_index_arg(value, op: str) -> int:
    """``ignore_index`` as a Python int, as torch takes it: an int (or numpy integer), not a float
    (1.5 would silently ignore class 1), a bool or a tensor, within int64."""
    if isinstance(value, (bool, torch.Tensor)) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{op}: ignore_index must be an int, not {value!r}")
    value = value.__index__()
    if not -2**63 <= value < 2**63:
        raise ValueError(f"{op}: ignore_index {value} is outside the int64 range of class indices")
    return value


_NARROW_INTEGERS = (torch.uint8, torch.int8, torch.int16, torch.int32)


def int64_classes(target: torch.Tensor) -> torch.Tensor:
    """Integer classes as int64 (others unchanged, for the kernels to refuse): compared with a
    Python int in their own narrow dtype, int8 classes wrap (200 becomes −56, so class 3 was
    "out of bounds for 200 classes") and uint8 ones too (−100 becomes 156, so class 156 counted
    as ignore_index in the mean's divisor while the kernel, in int64, scored it)."""
    return target.to(torch.int64) if target.dtype in _NARROW_INTEGERS else target


def classes_checkable(z: torch.Tensor) -> bool:
    """Classes are checked on the host (one synchronisation, as torch raises for a class out of
    range) except while a CUDA graph is captured, where the kernel's NaN loss and NaN gradient row
    are the signal."""
    return not (z.is_cuda and torch.cuda.is_current_stream_capturing())


def _checked_classes_impl(target: torch.Tensor, classes: int, ignore_index: int) -> torch.Tensor:
    if classes_checkable(target) and target.numel():
        bad = (target != ignore_index) & ((target < 0) | (target >= classes))
        if bool(bad.any()):
            v = int(target[bad][0])
            raise IndexError(f"cross_entropy: class index {v} in target is outside [0, {classes}) (out of bounds; "
                             f"not ignore_index={ignore_index})")
    return target.clone()


if not _exists("checked_classes"):  # the host check of the classes, an opaque op of its own: a traced
    # (triton_op) cross-entropy keeps it as a node that runs before its kernels
    _cc = torch.library.custom_op(f"{NS}::checked_classes", _checked_classes_impl, mutates_args=())
    register_fake(_cc, lambda target, classes, ignore_index: torch.empty_like(target))
    _cc.register_vmap(lambda info, in_dims, target, classes, ignore_index:
                      (torch.ops.symnet_torch.checked_classes(_front(target, in_dims[0], info.batch_size), classes,
                                                              ignore_index), 0))


def _refuse_interpreted_none(op: str, reduction: str) -> None:
    """A traced triton_op launch under Triton's interpreter (SYMNET_TORCH_TRITON_OP=1) with
    reduction="none" would be silently wrong: torch finds the tensors a kernel writes from its
    TTIR, which needs a GPU driver; without one it takes every tensor argument as written and
    clones each, and the launcher passes the per-row loss also as the unused sum (``out =
    loss``), so the unwritten clone is copied back over the loss. Refused in one line."""
    from torch._library.triton import is_wrap_triton_enabled

    if reduction == "none" and os.environ.get("TRITON_INTERPRET") == "1" and is_wrap_triton_enabled():
        raise SymnetError(f"{NS}::{op}: reduction='none' is not traced as a triton_op under TRITON_INTERPRET=1 "
                          "(torch cannot tell which tensors the interpreted kernel writes); unset "
                          "SYMNET_TORCH_TRITON_OP or use 'mean' or 'sum'")


def _specialize_classes(z: torch.Tensor) -> None:
    """A traced launch takes the class count as a number: the launcher's tile (BLOCK_V, a
    constexpr) is triton.next_power_of_2(V), whose bit operations on a symbolic V (dynamic
    shapes: opcheck's test_aot_dispatch_dynamic, torch.compile(dynamic=True)) built sympy
    expressions for 80 s a trace on this CPU; the kernel is compiled for one tile anyway."""
    if isinstance(z.shape[-1], torch.SymInt):
        int(z.shape[-1])  # a guard on V: the shape environment replaces it by its value


def _ce_body(module, traced: bool, z, target, reduction, ignore_index):
    with _launch("cross_entropy", z):
        if traced:  # a triton_op: the check as its own op, the launches visible (traced_launches)
            _refuse_interpreted_none("cross_entropy", reduction)
            _specialize_classes(z)
            target = torch.ops.symnet_torch.checked_classes(target, z.shape[-1], ignore_index)
            loss, dz = traced_launches(module, "softmax_cross_entropy_grad")(z, target, reduction, ignore_index,
                                                                             check=False)
            return [loss, dz]
        try:
            loss, dz = module.softmax_cross_entropy_grad(z, target, reduction, ignore_index,
                                                         check=classes_checkable(z))
        except ValueError as e:
            if "class index" not in str(e):
                raise
            raise IndexError(f"cross_entropy: {e}".replace("argument 'r'", "target")) from None
    return [loss, dz]


def _ce_op(name: str, module_of, visible: bool):
    """Registers ``symnet_torch::<name>``, softmax cross-entropy over (N, V) rows with integer
    classes: a triton_op where ``visible``, else an opaque custom op with a fake kernel."""
    def run(z: torch.Tensor, target: torch.Tensor, reduction: str, ignore_index: int) -> list[torch.Tensor]:
        return _ce_body(module_of(), visible, z, target, reduction, ignore_index)

    if visible:
        op = torch.library.triton_op(f"{NS}::{name}", run, mutates_args=())
    else:
        op = torch.library.custom_op(f"{NS}::{name}", run, mutates_args=())
        register_fake(op, lambda z, target, reduction, ignore_index:
                         [z.new_empty(z.shape[:-1]) if reduction == "none" else z.new_empty(()), torch.empty_like(z)])

    def setup(ctx, inputs, output):
        ctx.reduction, ctx.ignore_index = inputs[2], inputs[3]
        ctx.save_for_backward(output[1], inputs[0], inputs[1] if inputs[2] == "none" else None)
        ctx.mark_non_differentiable(output[1])

    def backward(ctx, grads):
        dz, z, target = ctx.saved_tensors
        g = _ignored_rows_zero(grads[0], target, ctx.ignore_index)
        return call(torch.ops.symnet_torch.cross_entropy_backward.default, g, dz, z, ctx.reduction), None, None, None

    register_autograd(op, backward, setup)
    op.register_vmap(_ce_vmap(getattr(torch.ops.symnet_torch, name)))
    return op


def _ignored_rows_zero(g, target, ignore_index):
    """reduction="none": an ignored row's gradient is 0 whatever its upstream g_i (NaN or ∞ too,
    where g_i·0 would be NaN), as torch's; ``target`` None (another reduction, soft targets): g."""
    if target is None or target.is_floating_point():
        return g
    return torch.where(target.reshape(g.shape) != ignore_index, g, 0)


def _ce_backward_impl(g: torch.Tensor, dz: torch.Tensor, z: torch.Tensor, reduction: str) -> torch.Tensor:
    g = g.unsqueeze(-1) if reduction == "none" else g
    return (g * dz).to(dz.dtype)


def _ce_vmap(op):
    def rule(info, in_dims, z, target, reduction, ignore_index):
        b = info.batch_size
        z, target = _front(z, in_dims[0], b), _front(target, in_dims[1], b)
        rows = z.shape[1]
        loss, dz = op(z.reshape(b * rows, z.shape[-1]), target.reshape(-1), "none", ignore_index)
        loss = loss.reshape(b, rows)
        dz = dz.reshape(z.shape)
        if reduction == "none":
            return [loss, dz], [0, 0]
        if reduction == "sum":
            return [loss.sum(1), dz], [0, 0]
        counted = (target != ignore_index).sum(1)
        # an entry whose rows are all ignored: loss NaN (0/0) but gradient 0, as torch; a plain 0/0 here
        # would send ∞ back to the rows' zero gradients (autograd differentiates this rule): NaN
        per = counted.clamp(min=1)
        mean = torch.where(counted == 0, float("nan"), loss.sum(1) / per)
        return [mean, dz / per[:, None, None]], [0, 0]
    return rule


if not _exists("cross_entropy"):
    _ce_op("cross_entropy", lambda: _kernels("softmax_cross_entropy"), inductor_visible())

    _ce_b = torch.library.custom_op(f"{NS}::cross_entropy_backward", _ce_backward_impl, mutates_args=())
    register_fake(_ce_b, lambda g, dz, z, reduction: torch.empty_like(dz))
    register_autograd(_ce_b, _refuse_second("cross_entropy"), lambda ctx, inputs, output: None)
    _ce_b.register_vmap(_vmap_loop(torch.ops.symnet_torch.cross_entropy_backward))


# ---------------------------------------------------------------------------------------
# Cross-entropy with options (class weights, label smoothing, soft targets, softcap, z-loss):
# the row registry's generated kernels (kernels/triton/cross_entropy.py), registered here at
# import time so torch.compile traces only the op (its fake kernel), never the module load or
# the host class check, which run in the op's real implementation.

def _ce_options_body(module, traced: bool, z, target, weight, ignore_index, reduction, label_smoothing, softcap,
                     z_loss_scale):
    launch = (lambda f: traced_launches(module, f)) if traced else (lambda f: getattr(module, f))
    if traced:
        _refuse_interpreted_none("cross_entropy_options", reduction)
        _specialize_classes(z)
    with _launch("cross_entropy_options", z):
        if target.dtype.is_floating_point:  # soft targets: a probability per class
            loss, dz = launch("cross_entropy_soft_grad")(z, target, weight, reduction, label_smoothing, softcap,
                                                         z_loss_scale)
        else:
            target = torch.ops.symnet_torch.checked_classes(target, z.shape[-1], ignore_index)
            loss, dz = launch("cross_entropy_grad")(z, target, weight, ignore_index, reduction, label_smoothing,
                                                    softcap, z_loss_scale, check=False)
    return [loss, dz]


def _ce_options_fake(z, target, weight, ignore_index, reduction, label_smoothing, softcap, z_loss_scale):
    return [z.new_empty(z.shape[:-1]) if reduction == "none" else z.new_empty(()), torch.empty_like(z)]


def _ce_options_vmap(op):
    """The vmap rule of an op with cross_entropy_op's schema (z, target, weight, ignore_index,
    reduction, label_smoothing, softcap, z_loss_scale) -> [loss, dz]: with reduction "none" and
    one weight for all, the batch is more rows (one launch); otherwise one call per batch entry
    (a mean's divisor is per entry)."""
    loop = _vmap_loop(op)

    def rule(info, in_dims, z, target, weight, *rest):
        reduction = rest[1]
        if reduction != "none" or in_dims[2] is not None:
            return loop(info, in_dims, z, target, weight, *rest)
        b = info.batch_size
        z, target = _front(z, in_dims[0], b), _front(target, in_dims[1], b)
        classes = z.shape[-1]
        soft = target.is_floating_point()
        loss, dz = op(z.reshape(-1, classes), target.reshape(-1, classes) if soft else target.reshape(-1),
                      weight, *rest)
        return [loss.reshape(z.shape[:-1]), dz.reshape(z.shape)], [0, 0]
    return rule


def _ce_options_op(name: str, module_of, visible: bool):
    """Registers ``symnet_torch::<name>``, the options cross-entropy (the schema of the generated
    ``symnet::cross_entropy``): a triton_op where ``visible``, else an opaque custom op."""
    def run(z: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int, reduction: str,
            label_smoothing: float, softcap: float | None, z_loss_scale: float) -> list[torch.Tensor]:
        return _ce_options_body(module_of(), visible, z, target, weight, ignore_index, reduction, label_smoothing,
                                softcap, z_loss_scale)

    if visible:
        op = torch.library.triton_op(f"{NS}::{name}", run, mutates_args=())
    else:
        op = torch.library.custom_op(f"{NS}::{name}", run, mutates_args=())
        register_fake(op, _ce_options_fake)

    def setup(ctx, inputs, output):
        ctx.reduction, ctx.ignore_index = inputs[4], inputs[3]
        ctx.label_smoothing, ctx.softcap = inputs[5], inputs[6]
        # references only (no copies): the target, weight and loss serve ∂/∂target and ∂/∂weight
        ctx.save_for_backward(output[1], inputs[0], inputs[1], inputs[2], output[0])
        ctx.mark_non_differentiable(output[1])

    def backward(ctx, grads):
        dz, z, target, weight, loss = ctx.saved_tensors
        g = _ignored_rows_zero(grads[0], target if ctx.reduction == "none" else None, ctx.ignore_index)
        dzz = (call(torch.ops.symnet_torch.cross_entropy_backward.default, g, dz, z, ctx.reduction)
               if ctx.needs_input_grad[0] else None)
        dt = dw = None
        want_t = ctx.needs_input_grad[1] and target.is_floating_point()
        want_w = weight is not None and ctx.needs_input_grad[2]
        if want_t or want_w:  # only then: no cost to a call whose target and weight are constants
            dt, dw = call(torch.ops.symnet_torch.cross_entropy_options_backward.default, g, z, target, weight, loss,
                          ctx.ignore_index, ctx.reduction, ctx.label_smoothing, ctx.softcap)
            dt, dw = (dt if want_t else None), (dw if want_w else None)
        return dzz, dt, dw, None, None, None, None, None

    register_autograd(op, backward, setup)
    op.register_vmap(_ce_options_vmap(getattr(torch.ops.symnet_torch, name)))
    return op


def _ce_target_weight_grads_impl(g: torch.Tensor, z: torch.Tensor, target: torch.Tensor,
                                 weight: torch.Tensor | None, loss: torch.Tensor, ignore_index: int, reduction: str,
                                 label_smoothing: float, softcap: float | None) -> list[torch.Tensor]:
    """∂loss/∂target (soft targets) and ∂loss/∂weight of the options cross-entropy over (N, V)
    rows, given the upstream gradient ``g`` and the forward ``loss``; ``[dt, dw]``, each empty
    (shape (0,)) where there is none (class-index targets; no weight).

    From torch's definition (``torch.nn.functional.cross_entropy`` / ``CrossEntropyLoss`` docs),
    with c = softcap·tanh(z/softcap) (or z), lp = log_softmax(c) from the generated
    ``log_softmax`` kernel, ε the label smoothing, w the weight (1 without one) and a_i the
    upstream factor of row i (g_i for "none", g for "sum", g/N or g/D for "mean"):

    - soft targets, ℓ_i = −Σ_k w_k((1−ε)t_ik + ε/V)·lp_ik + λ·lse_i², "mean" dividing by N:
      ∂/∂t_ik = −a_i(1−ε)w_k·lp_ik,  ∂/∂w_k = −Σ_i a_i((1−ε)t_ik + ε/V)·lp_ik;
    - class indices r_i, m_i = [r_i ≠ ignore_index], ℓ_i = m_i(−(1−ε)w_{r_i}·lp_{i,r_i}
      − (ε/V)Σ_k w_k·lp_ik + λ·lse_i²), "mean" dividing by D = Σ_i m_i·w_{r_i}:
      ∂/∂w_k = Σ_i a_i·m_i(−(1−ε)[r_i = k]·lp_{i,r_i} − (ε/V)·lp_ik) − ("mean" only) (g·L/D)·n_k,
      n_k = Σ_i m_i[r_i = k], L the mean loss (its z-loss too: it shares the divisor D).

    The softcap enters only through lp (it is a function of z alone); the z-loss λ·lse² has no
    target or weight in it, and reaches ∂/∂w only through the divisor D of a hard-target mean.
    With every row ignored the weight gradient is 0 (the input's is 0 too, as torch's)."""
    acc = torch.promote_types(z.dtype, torch.float32)
    rows, classes = z.shape
    soft = target.is_floating_point()
    dt = torch.zeros_like(target) if soft else target.new_zeros((0,), dtype=z.dtype)
    dw = torch.zeros_like(weight) if weight is not None else z.new_zeros((0,))
    if rows == 0 or classes == 0:
        return [dt, dw]
    c = z if softcap is None else softcap * torch.tanh(z.to(acc) / softcap)  # the capped logits, in acc
    with _launch("cross_entropy_options_backward", z):
        lp = _kernels("log_softmax").log_softmax(c.contiguous()).to(acc)
    w = weight.to(acc) if weight is not None else None
    eps = float(label_smoothing)
    g = g.to(acc)
    if soft:
        t = target.to(acc)
        a = g.reshape(rows, 1) if reduction == "none" else (g / rows if reduction == "mean" else g)
        dt = (-(a * (1 - eps)) * lp * (w if w is not None else 1.0)).to(target.dtype)
        if weight is not None:
            dw = (-(a * ((1 - eps) * t + eps / classes) * lp)).sum(0).to(weight.dtype)
        return [dt, dw]
    if weight is None:
        return [dt, dw]
    keep = target != ignore_index
    r = torch.where(keep, target, 0)
    m = keep.to(acc)
    lp_r = lp.gather(1, r.unsqueeze(1)).squeeze(1)
    a = g.reshape(rows) * m if reduction == "none" else g * m
    per_class = torch.zeros(classes, dtype=acc, device=z.device)
    per_class = per_class.index_add(0, r, -(1 - eps) * a * lp_r)  # the [r_i = k] term
    if eps:
        per_class = per_class + (-(eps / classes) * a.unsqueeze(1) * lp).sum(0)
    if reduction == "mean":
        counted = keep.sum()
        d = (w[r] * m).sum()
        n = torch.zeros(classes, dtype=acc, device=z.device).index_add(0, r, m)
        grad = (per_class - g * loss.to(acc) * n) / d
        per_class = torch.where(counted == 0, 0.0, grad)
    return [dt, per_class.to(weight.dtype)]


def _ce_target_weight_grads_fake(g, z, target, weight, loss, ignore_index, reduction, label_smoothing, softcap):
    soft = target.is_floating_point()
    return [torch.empty_like(target) if soft else z.new_empty((0,)),
            torch.empty_like(weight) if weight is not None else z.new_empty((0,))]


if not _exists("cross_entropy_options"):
    _ce_options_op("cross_entropy_options", lambda: _kernels("cross_entropy"), inductor_visible())

    # ∂/∂target and ∂/∂weight: an op of its own (opaque to torch.compile, differentiable once)
    _ce_tw = torch.library.custom_op(f"{NS}::cross_entropy_options_backward", _ce_target_weight_grads_impl,
                                     mutates_args=())
    register_fake(_ce_tw, _ce_target_weight_grads_fake)
    register_autograd(_ce_tw, _refuse_second("cross_entropy_options"), lambda ctx, inputs, output: None)
    _ce_tw.register_vmap(_vmap_loop(torch.ops.symnet_torch.cross_entropy_options_backward))


# ---------------------------------------------------------------------------------------
# vmap rules for the committed kernel modules' own ops (``symnet::*``, defined when a module
# under kernels/triton/ loads). Each op of those modules is named in _GENERATED_VMAP with its
# kind of rule; an op missing from it has no rule (tests/test_vmap_generated.py fails on it).

def _dims(d, n):
    return list(d) if isinstance(d, (list, tuple)) else [d] * n


def _elementwise_vmap(op):
    """Entry by entry (tensors of one shape, any shape): every tensor, and every tensor of a
    list argument, with its batch dimension moved to the front, unbatched ones expanded to
    the batch size (the kernels take one shape and copy an expanded view once); one call."""
    def rule(info, in_dims, *args):
        b = info.batch_size
        args = [[_front(t, td, b) for t, td in zip(a, _dims(d, len(a)))] if isinstance(a, (list, tuple))
                else _front(a, d, b) for a, d in zip(args, in_dims)]
        out = op(*args)
        return (list(out), [0] * len(out)) if isinstance(out, (list, tuple)) else (out, 0)
    return rule


def _rows_fold_vmap(op, rows: tuple[int, ...], shared: tuple[int, ...]):
    """A row op ((B, ·) arguments ``rows``, weights ``shared``) whose rows are independent:
    with every weight unbatched, the vmapped dimension is folded into the rows (one launch,
    (V, B, ·) -> (V·B, ·)); a batched weight is one call per batch entry."""
    loop = _vmap_loop(op)

    def rule(info, in_dims, *args):
        if any(in_dims[i] is not None for i in shared):
            return loop(info, in_dims, *args)
        b = info.batch_size
        args = list(args)
        for i in rows:
            x = _front(args[i], in_dims[i], b)
            n = x.shape[1]  # rows per batch entry
            args[i] = x.reshape(b * n, *x.shape[2:])
        out = op(*args)
        return out.reshape(b, n, *out.shape[1:]), 0
    return rule


def _row_loss_vmap(op, reduction_at: int, weight_at: int | None):
    """A row loss op (z, target, ...) -> [loss, dz] with its reduction the argument at
    ``reduction_at``: with reduction 'none' and the class weight (argument ``weight_at``)
    unbatched, the vmapped dimension is more rows (one launch); a 'mean' or 'sum' is not folded
    across the vmapped dimension (each batch entry has its own sum and divisor): one call per
    batch entry, as is a batched weight."""
    loop = _vmap_loop(op)

    def rule(info, in_dims, z, target, *rest):
        args = (z, target, *rest)
        if args[reduction_at] != "none" or (weight_at is not None and in_dims[weight_at] is not None):
            return loop(info, in_dims, *args)
        b = info.batch_size
        z, target = _front(z, in_dims[0], b), _front(target, in_dims[1], b)
        classes = z.shape[-1]
        soft = target.is_floating_point()
        loss, dz = op(z.reshape(-1, classes), target.reshape(-1, classes) if soft else target.reshape(-1), *rest)
        return [loss.reshape(z.shape[:-1]), dz.reshape(z.shape)], [0, 0]
    return rule


def _loop_vmap(op):
    """One call per batch entry: the backward of a layer sums its weight gradients over the
    rows, so folding the vmapped dimension into the rows would sum across it."""
    return _vmap_loop(op)


_GENERATED_VMAP = {
    # elementwise activations and losses: [f, ∂f/∂inputs] entry by entry; their backward g·∂f
    **{name: _elementwise_vmap for name in ("sigmoid", "log_sigmoid", "softplus", "mse", "sigmoid_mse",
                                            "bce_logits")},
    **{name + "_backward": _elementwise_vmap for name in ("sigmoid", "log_sigmoid", "softplus", "mse",
                                                          "sigmoid_mse", "bce_logits")},
    # layers: rows folded when the weights are unbatched; their backward loops (see _loop_vmap)
    "linear": lambda op: _rows_fold_vmap(op, rows=(0,), shared=(1, 2)),
    "dense_sigmoid": lambda op: _rows_fold_vmap(op, rows=(0,), shared=(1, 2)),
    "rnn_step": lambda op: _rows_fold_vmap(op, rows=(0, 1), shared=(2, 3)),
    "linear_backward": _loop_vmap,
    "dense_sigmoid_backward": _loop_vmap,
    "rnn_step_backward": _loop_vmap,
    # row losses (z, target, ...): (z, r, reduction, ignore_index), (z, target, weight,
    # ignore_index, reduction), and cross_entropy with options (the schema of cross_entropy_options)
    "softmax_cross_entropy": lambda op: _row_loss_vmap(op, reduction_at=2, weight_at=None),
    "nll_loss": lambda op: _row_loss_vmap(op, reduction_at=4, weight_at=2),
    "cross_entropy": _ce_options_vmap,
}

_GENERATED_DONE: set[str] = set()


def generated_vmap_ops() -> dict[str, object]:
    """The rule builder of each committed ``symnet::`` op (the op's name without namespace)."""
    return dict(_GENERATED_VMAP)


_DENSE_OP = re.compile(r"dense_\w+")


def _rule_builder(name: str):
    """The vmap rule builder of the ``symnet::`` op ``name``: from _GENERATED_VMAP, or, for the dense
    layers ``symnet.compile`` generates at run time with any registry activation (``dense_relu``,
    ``dense_gelu_backward``: the schema of dense_sigmoid), the dense layer's rules; else None."""
    if name in _GENERATED_VMAP:
        return _GENERATED_VMAP[name]
    if _DENSE_OP.fullmatch(name):
        return _GENERATED_VMAP["dense_sigmoid_backward" if name.endswith("_backward") else "dense_sigmoid"]
    return None


def register_generated_vmap(load: bool = True) -> list[str]:
    """vmap rules for the committed kernel modules' own ops (``symnet::*``): with ``load``, loads
    every committed Triton kernel module first (once; this defines their ops); registers the rule
    of each op named in ``_GENERATED_VMAP`` (or a dense layer's) that is defined; returns the
    ``symnet::`` ops with a rule. An op of those modules not named there is left without a rule.

    Lazily: importing this module registers the rules of the modules loaded so far
    (``load=False``), and each kernel module loaded afterwards (``symnet.kernels.load_kernel``,
    ``symnet.compile``) has its ops' rules registered as it loads; so ``import symnet.torch``
    loads none of the 16 modules (0.2–0.35 s on this CPU) until they are used.

    Raises:
        SymnetError: no committed Triton kernels found (``symnet.kernels.kernel_folder``).
    """
    if load:
        from ..kernels import _committed

        for module in _committed("triton"):
            _kernels(module)
    done = []
    for name in sorted(set(_GENERATED_VMAP) | set(torch.ops.symnet)):
        rule_of = _rule_builder(name)
        if rule_of is None or not hasattr(torch.ops.symnet, name):
            continue
        if name not in _GENERATED_DONE:
            torch.library.register_vmap(f"symnet::{name}", rule_of(getattr(torch.ops.symnet, name)))
            _GENERATED_DONE.add(name)
        done.append(f"symnet::{name}")
    return done


register_generated_vmap(load=False)  # the modules loaded so far; the others as they load
