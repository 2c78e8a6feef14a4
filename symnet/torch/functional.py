"""symnet's ops with ``torch.nn.functional``'s names, arguments, defaults and shapes.

Every function is differentiable in every floating-point tensor argument (the gradients come
from symnet's generated kernels), works under ``torch.compile(fullgraph=True)``, ``torch.export``
and ``torch.vmap``, and refuses a second derivative with :class:`DoubleBackwardError`. Inputs
may have any leading shape ``(*, F)``. ``linear``, ``dense`` and ``rnn_step`` follow autocast:
under ``torch.autocast`` their floating-point arguments are cast to the autocast dtype first
(bf16 activations with fp32 weights work); the losses compute in float32 there, as torch's do. The elementwise functions broadcast their tensor
arguments as torch does.

The first call of an activation or loss (for each set of its options) derives and generates its
kernel: seconds (GELU ~9 s, focal ~25 s on a 2-core CPU), shown as ``symnet: deriving and
generating the gelu kernel (first use) … N s`` on stderr where stderr is a terminal
(``SYMNET_PROGRESS=0`` never, ``1`` always; :mod:`symnet.progress`); the stabilised kernel
description is kept on disk (:mod:`symnet.codegen.stored`), so a later process skips most of it.

Raises:
    DeviceError: a CPU tensor without ``TRITON_INTERPRET=1`` (the kernels are Triton kernels).
    SymnetError: an option the generated kernels do not have (named in the message).
"""
from __future__ import annotations

import difflib
import math

import torch

from ..errors import ShapeError, SymnetError
from . import _ops
from ._fused_linear_ce import fused_linear_cross_entropy

__all__ = ["linear", "dense", "rnn_step", "softmax", "log_softmax", "cross_entropy", "fused_linear_cross_entropy",
           "activation", "loss",
           "sigmoid", "tanh", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish",
           "softplus", "softsign", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "tanhshrink",
           "softshrink", "hardshrink", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits"]

_ops.registry_ops()

# torch.nn.functional's names of registry losses that have no drop-in here: their torch options (full=,
# reduction="batchmean", a var that broadcasts) are not the registry's, so they go by loss(name, …). A new user
# (session 17) read "torch's names where torch has one" and met a bare AttributeError.
_BY_LOSS = {
    "kl_div": "loss('kl_div', input, target, log_target) (reduction 'mean' averages every entry, as torch's "
              "'mean'; torch's 'batchmean' is loss(..., reduction='sum') / input.shape[0])",
    "poisson_nll_loss": "loss('poisson_nll', input, target, log_input) (torch's full=False; no full=True)",
    "gaussian_nll_loss": "loss('gaussian_nll', input, (target, var), eps) (torch's full=False; var of the "
                         "input's shape, of its shape less the last dimension (one variance per row, as torch's), or "
                         "broadcasting as torch.broadcast_tensors does)",
}


def __getattr__(name: str):
    if name in _BY_LOSS:
        raise AttributeError(f"symnet.torch.functional has no {name}: use {_BY_LOSS[name]}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _arguments(op: str, tensors=(), numbers=()) -> None:
    """One line naming ``op`` and the argument for a tensor argument that is not a tensor (a list, a
    NumPy array: they reached the op's schema, a 5-line RuntimeError, or failed as AttributeError
    "'list' object has no attribute 'dtype'") and for a number given as text (``label_smoothing="0.1"``
    was read with float(); torch refuses it). ``tensors``, ``numbers``: (name, value) pairs; None
    passes (an optional argument left out)."""
    for name, value in tensors:
        if value is not None and not isinstance(value, torch.Tensor):
            raise TypeError(f"{op}: argument '{name}' must be a torch.Tensor, not {type(value).__name__}")
        _dense(op, name, value)
    for name, value in numbers:
        if value is not None:
            _number(op, name, value)


def _floating(op: str, tensors, hint: str = "") -> None:
    """TypeError naming ``op`` and the first of the (name, value) ``tensors`` that is a tensor of an
    integer, bool or complex dtype, checked before broadcasting: a loss given class indices
    ``(N,)`` beside logits ``(N, C)`` met torch's broadcast error ("The size of tensor a (3) must
    match the size of tensor b (5)"), which names neither the argument nor its dtype."""
    for name, value in tensors:
        _dense(op, name, value)
        if isinstance(value, torch.Tensor) and not value.is_floating_point():
            raise TypeError(f"{op}: argument {name!r} has dtype {value.dtype}; it takes floating-point tensors "
                            f"(float32, float64, bfloat16, float16){f' ({hint})' if hint else ''}")


def _dense(op: str, name: str, value) -> None:
    """TypeError naming ``op`` and ``name`` where ``value`` is a sparse or nested tensor: the kernels read strided
    memory, and such a tensor failed wherever it met the first view or schema (``F.sigmoid(x.to_sparse())``:
    "unsupported memory format option Contiguous", a nested one "Could not run 'symnet_torch::sigmoid' with arguments
    from the 'NestedTensorCPU' backend…" over several lines, from_formula's "Internal error: NestedTensorImpl doesn't
    support sizes. Please file an issue."; session 26, h-break26)."""
    if isinstance(value, torch.Tensor) and (value.is_nested or value.layout != torch.strided):
        kind, fix = (("nested", "torch.nested.to_padded_tensor(…)") if value.is_nested
                     else (f"{value.layout}".removeprefix("torch."), f"{name}.to_dense()"))
        raise TypeError(f"{op}: argument {name!r} is a {kind} tensor; symnet's kernels take dense (strided) "
                        f"tensors: pass {fix}")


def _agree(op: str, tensors, shapes: bool = False) -> None:
    """One line naming ``op`` and two of the (name, value) ``tensors`` by the caller's names (input, target,
    weight, bias, hx …) where they differ in dtype (TypeError) or device (:class:`DeviceError`), or with ``shapes`` where they do not broadcast
    together; None and plain numbers pass. The generated launchers name their kernel's arguments ('x', 't', 'W',
    'b', 'Wh'), and torch's broadcast error "tensor a (4) … tensor b (3)" names neither (session 23)."""
    named = [(name, value) for name, value in tensors if isinstance(value, torch.Tensor)]
    if not named:
        return
    first, like = named[0]
    for name, value in named[1:]:
        if value.dtype != like.dtype:
            raise TypeError(f"{op}: {name} is {value.dtype} but {first} is {like.dtype}; pass one dtype "
                            f"({name}.to({first}.dtype))")
        if value.device != like.device:
            raise _ops.DeviceError(f"{op}: {name} is on {value.device} but {first} is on {like.device}; put "
                                   "the tensors on one device")
    if shapes:
        try:
            torch.broadcast_shapes(*(value.shape for _, value in named))
        except RuntimeError:
            shown = ", ".join(f"{name} {tuple(value.shape)}" for name, value in named[1:])
            raise ShapeError(f"{op}: {first} has shape {tuple(like.shape)}, {shown}; they do not broadcast "
                           "together (same shapes, or 1 where they differ)") from None


def _number(op: str, name: str, value, *, tensor_too: bool = False) -> float:
    """``value`` as a float, else one line naming ``op`` and ``name``: text (``"0.1"`` was read
    with float(); torch refuses it), a complex number or a tensor of several entries (float()'s
    message named neither), or an int no float holds (``10**400``: "OverflowError: int too large
    to convert to float", naming nothing). ``tensor_too``: the argument also takes a tensor, and the
    message says so, with the conversion of a NumPy array or a list (a from_formula function given
    an ndarray was told it "must be a number", session 38's new user)."""
    wanted = "a torch.Tensor or a number" if tensor_too else "a number"
    if tensor_too and (isinstance(value, (list, tuple)) or type(value).__module__ == "numpy" and getattr(value, "ndim", 0)):
        convert = "torch.tensor(v)" if isinstance(value, (list, tuple)) else "torch.from_numpy(a)"
        raise TypeError(f"{op}: {name} must be {wanted}, not {type(value).__name__}; pass {convert}")
    if isinstance(value, (str, bytes, complex)):
        raise TypeError(f"{op}: {name} must be {wanted}, not {type(value).__name__} {str(value)[:40]!r}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{op}: {name} ({str(value)[:12]}…, {len(str(value))} digits) is beyond the float "
                         "range") from None
    except (TypeError, ValueError, RuntimeError):
        shape = f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else ""
        raise TypeError(f"{op}: {name} must be {wanted}, not {type(value).__name__}{shape}") from None


def _reduce(x: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    if reduction == "none":
        return x
    raise SymnetError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def activation(name: str, input: torch.Tensor, *params: float, **by_name) -> torch.Tensor:  # noqa: A002
    """The registry activation ``name`` applied entry by entry: ``activation("leaky_relu", x, 0.2)``.

    ``name``: one of ``symnet.registry.activation_names()`` (sigmoid, relu, gelu, mish, ...), or
    a name formulas take for one (``swish`` is silu).
    ``input``: a floating-point tensor (float32, float64, bfloat16, float16) of any shape, on a
    CUDA device or on the CPU under ``TRITON_INTERPRET=1``. ``params``: the activation's options
    as Python numbers, by position in the registry's order with its defaults (``leaky_relu(x,
    slope=1/100)``, ``elu(x, alpha=1)``); each distinct set of options derives and compiles its
    own kernel on first use. Returns a tensor of ``input``'s shape and dtype, differentiable in
    ``input`` (the generated kernel computes the value and the derivative in one pass).

    Raises:
        SymnetError: an unknown name, an option given by name, or more options than the
            activation has (the message shows them in order); a NaN or infinite option.
        TypeError: an integer or complex ``input``.
        DeviceError: a CPU tensor without ``TRITON_INTERPRET=1``.
    """
    op = _ops._POINTWISE.get(_canonical(name))
    if op is None or len(op.inputs) != 1:
        raise _unknown("activation", name, _activation_names())
    name = _canonical(name)
    _arguments(name, [("input", input)], [("a parameter", p) for p in params])
    _check_options("activation", name, params, by_name, tensors=1)
    _floating(name, [("input", input)])
    input, = _autocast_float32(name, input)
    return _ops.call(op.op, input, [float(p) for p in params])[0]


def loss(name: str, input: torch.Tensor, target, *params: float, reduction: str = "mean",
         **by_name) -> torch.Tensor:  # noqa: A002
    """The registry's elementwise loss ``name`` of (``input``, ``target``), reduced:
    ``loss("huber", p, t, 2.0)``, ``loss("focal", z, t, 0.25, 3)``.

    ``name``: mse, l1, smooth_l1, huber, log_cosh, bce, bce_logits, focal, hinge,
    squared_hinge, poisson_nll, gaussian_nll or kl_div (the registry's losses, formulas in
    ``symnet.registry``). ``input``, ``target``: floating-point tensors (float32, float64,
    bfloat16, float16) or Python numbers, broadcast together as torch does, of one dtype, on a
    CUDA device or on the CPU under ``TRITON_INTERPRET=1``; a loss of three tensors takes the
    others with the target as a tuple (``loss("gaussian_nll", mu, (t, var))``; a var of the input's shape less
    its last dimension is one variance per row, as torch's gaussian_nll_loss takes it). ``params``: the
    loss's options as Python numbers, by position in the registry's order with its defaults
    (torchvision's for ``focal(z, t, alpha=1/4, gamma=2)``; ``huber(x, t, delta=1)``). Every
    floating-point tensor argument gets its gradient, the target's included.

    ``reduction``: "mean" (default) or "sum" give a 0-d tensor, "none" the per-entry losses in
    the broadcast shape.

    Raises:
        SymnetError: an unknown name or reduction, an option given by name, a keyword the loss
            does not have (``ignore_index=``, ``weight=``: cross_entropy's), more options than the
            loss has, or the wrong number of tensors (the message shows the loss's arguments in
            order); a NaN or infinite option.
        TypeError: an integer or complex tensor (class indices: named before broadcasting), or
            tensors of different dtypes; an argument
            that is neither a tensor nor a number (a list, a NumPy array, a number as text).
        DeviceError: a CPU tensor without ``TRITON_INTERPRET=1``.
        DomainError: an entry outside the values an argument takes (gaussian_nll's var < 0, bce's p or t
            outside [0, 1]: the registry's ArgumentDomain), in one line naming the argument.
    """
    name = _canonical(name)
    op = _ops._POINTWISE.get(name)
    targets = tuple(target) if isinstance(target, (tuple, list)) else (target,)
    operands = [("input", input)] + [("target", t) for t in targets]
    # a plain number broadcasts (_broadcast); a list or an array does not
    number = [isinstance(v, (int, float)) and not isinstance(v, bool) for _, v in operands]

    def too_few_tensors():
        rest = _argument_names(name)[2:len(op.inputs)]
        how = f"the target and {', '.join(rest)} as a tuple: loss({name!r}, input, (target, {', '.join(rest)}))" \
            if rest else "the target"
        return SymnetError(f"{name} takes {len(op.inputs)} tensors, got {1 + len(targets)}: pass the input, then {how}")

    if op is not None and 1 + len(targets) < len(op.inputs) and any(isinstance(p, torch.Tensor) for p in params):
        # loss("gaussian_nll", mu, t, var): var was read as an option, "gaussian_nll: a parameter must be a number,
        # not Tensor of shape (7,)", which did not say where the variance goes (session 16, a new user)
        raise too_few_tensors()
    _arguments(name, [o for o, n in zip(operands, number) if not n],
               [("a parameter", p) for p in params] + [o for o, n in zip(operands, number) if n])
    if op is None or len(op.inputs) < 2:
        raise _unknown("elementwise loss", name, [n for n, o in _ops._POINTWISE.items()
                                                  if len(o.inputs) > 1 and '_' != n[0] and not n.startswith('formula_')])
    if reduction not in ("mean", "sum", "none"):
        raise SymnetError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    if 1 + len(targets) != len(op.inputs):
        if any(isinstance(t, (int, float)) and not isinstance(t, bool) for t in targets):
            # mse_loss(z, [1.0, 2.0]): a list of numbers is read as several targets
            raise TypeError(f"{name}: takes {len(op.inputs) - 1} target tensor(s), got {len(targets)} (a list or "
                            "tuple holds the target and a loss's further tensors, as loss('gaussian_nll', mu, "
                            "(t, var)); pass one tensor: torch.tensor(target, dtype=input.dtype))")
        raise too_few_tensors()
    _check_options("loss", name, params, by_name, tensors=len(op.inputs))
    same = [isinstance(input, torch.Tensor) and isinstance(t, torch.Tensor) and t.shape == input.shape
            for t in targets]
    _floating(name, operands, "counts or 0/1 labels of the input's shape: pass target.to(input.dtype)" if all(same)
              else "the elementwise losses take targets of the input's shape and kind, not class "
                   "indices: one-hot them, or use cross_entropy")
    if name == "gaussian_nll" and all(isinstance(v, torch.Tensor) for v in (input, *targets)) and input.dim() \
            and targets[1].shape != input.shape and targets[1].shape == input.shape[:-1]:
        # torch's gaussian_nll_loss: a var of one dimension fewer is one variance per row (var.unsqueeze(-1)), not
        # broadcast along the last dimension (input (3, 3), var (3,): 5.97 for torch's 4.08 before; (3, 2), (3,)
        # refused)
        targets = (targets[0], targets[1].unsqueeze(-1))
    names = ["input", "target", *_argument_names(name)[2:len(op.inputs)]]  # gaussian_nll: input, target, var
    input, *targets = _autocast_float32("loss", input, *targets)
    _agree(name, list(zip(names, [input, *targets])), shapes=True)
    tensors = _broadcast(input, *targets)
    if torch.compiler.is_compiling() and _ops.inductor_visible():
        # a negative variance, a probability outside [0, 1]: refused, as torch refuses them, by the op itself
        # (_ops._check_domains); a traced triton_op's launches run without it, so here (a graph break)
        from ..registry import REGISTRY, check_argument_domains
        if name in REGISTRY:
            check_argument_domains(REGISTRY[name], [*tensors, *(float(p) for p in params)])  # options: active_domains
    return _reduce(_ops.call(op.op, *tensors, [float(p) for p in params])[0], reduction)


def _canonical(name: str) -> str:
    """The registry's name for a name formulas also take (``swish`` is silu, ``σ`` sigmoid)."""
    from ..parsing import FUNCTIONS

    entry = FUNCTIONS.get(name) if isinstance(name, str) else None
    return getattr(entry, "name", name) if entry is not None else name


def _usage(name: str) -> str:
    """``focal(z, t, alpha=1/4, gamma=2)``: the registry function's arguments in order (the
    parser's own usage line), or "" for one without options."""
    from ..parsing import FUNCTIONS, _usage as usage

    return usage(name, FUNCTIONS[name]) if name in FUNCTIONS else ""


def _argument_names(name: str) -> list[str]:
    """The names of the registry function's arguments in order (gaussian_nll: x, t, var, eps)."""
    import inspect

    from ..registry import REGISTRY

    try:
        return list(inspect.signature(REGISTRY[name].build).parameters)
    except (KeyError, TypeError, ValueError):
        return []


def _check_options(kind: str, name: str, params: tuple, by_name: dict, tensors: int) -> None:
    """One line naming the options of ``name`` in order where they are given by name or too many
    (Python's own message named an internal function and counted its tensors too)."""
    from ..registry import REGISTRY

    if not by_name and (name not in REGISTRY or REGISTRY[name].arity[1] is None
                        or len(params) <= REGISTRY[name].arity[1] - tensors):
        return  # nothing to refuse: the usage line is built only for a message (torch.compile of loss("focal", …)
        # traced its str.join and failed with fullgraph=True: "Dynamo does not know how to trace method join")
    usage = _usage(name)
    options = _argument_names(name)[tensors:]
    foreign = [k for k in by_name if k not in options]
    if foreign:  # ignore_index=, weight=: not an option of this function at all, by name or by position
        keyword = "reduction= is its only keyword" if kind == "loss" else "it takes no keywords"
        hint = ("; to leave entries out or weight them, take reduction='none' and mask or multiply the "
                "per-entry losses (ignore_index and class weights are cross_entropy's)") if kind == "loss" else ""
        if kind == "activation" and foreign == ["inplace"]:  # session 19: the README's inplace=True is torch's names'
            import inspect
            try:  # gelu, sigmoid: wrappers whose signature inspect may not read
                takes = "inplace" in inspect.signature(globals()[name]).parameters
            except (KeyError, TypeError, ValueError):
                takes = False
            if takes:
                hint = (f"; inplace=True is taken by the function with torch's name: "
                        f"symnet.torch.functional.{name}(x, inplace=True)")
            else:
                hint = f"; {name} has no in-place form (nor has torch's)"
        raise SymnetError(f"{kind}() has no argument {foreign[0]!r}: {keyword}, and the options of {name} go "
                          f"by position: {usage or f'{name} has none'}{hint}")
    if by_name:
        given = ", ".join(f"{k}=…" for k in by_name)
        raise SymnetError(f"{kind}() takes the options of {name} by position, not by name ({given}): "
                          f"{usage or f'{name} has none'}")
    most = REGISTRY[name].arity[1] if name in REGISTRY else tensors
    if most is not None and len(params) > most - tensors:
        has = f"at most {most - tensors} option(s), by position: {usage}" if usage else "no options"
        more = f"; {_MORE_OPTIONS[name]}" if name in _MORE_OPTIONS else ""
        raise SymnetError(f"{name} takes {has}; got {len(params)} ({', '.join(map(repr, params))}){more}")


_apply_activation = activation


def _activation_names():
    return [n for n, o in _ops._POINTWISE.items() if len(o.inputs) == 1 and not n.startswith("formula_")]


def _unknown(kind: str, name, known: list[str]) -> SymnetError:
    """The error for an unknown activation or loss name, with the close names first, as the formula
    parser answers 'sigmod(x)': "no activation 'sigmod'; did you mean sigmoid?" (session 17: a typo
    here got the whole list, and an nn.ReLU() instance was not told to pass a name)."""
    if not isinstance(name, str):
        return SymnetError(f"no {kind} {name!r}: pass its name as a string, one of {', '.join(known)}")
    from ..parsing import spelled_out

    written = spelled_out(name.lower())
    if written:  # activation("prelu", x) was asked "did you mean relu?" (session 38's new user)
        formula, inputs = written
        return SymnetError(f"no {kind} {name!r}; as a formula it is {formula}: "
                           f"symnet.torch.from_formula({formula!r}, inputs={' '.join(inputs)!r})")
    close = [n for n in known if n.lower() == name.lower()] or difflib.get_close_matches(name, known, n=3)
    if close:
        return SymnetError(f"no {kind} {name!r}; did you mean {' or '.join(close)}? (known: {', '.join(known)})")
    return SymnetError(f"no {kind} {name!r}; known: {', '.join(known)}")


def _broadcast(*args, names=None, what=None):
    """``args`` (tensors and Python numbers) broadcast together, the numbers as 0-d tensors of the first
    tensor's dtype. Shapes that do not broadcast raise torch's RuntimeError with the two arguments named
    (``names``, in the order of ``args``; ``what`` the function): torch's own message calls them a and b."""
    like = next((a for a in args if isinstance(a, torch.Tensor)), None)
    if like is None:
        raise SymnetError("pass at least one torch.Tensor")
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    args = [a if isinstance(a, torch.Tensor) else torch.tensor(float(a), dtype=dtype, device=like.device) for a in args]
    try:
        return torch.broadcast_tensors(*args)
    except RuntimeError as exc:
        if names is None:
            raise
        shape = ()
        for k, a in enumerate(args):  # the first argument whose shape does not broadcast with those before it
            try:
                shape = torch.broadcast_shapes(shape, a.shape)
            except RuntimeError:
                other = next(j for j in range(k) if not _broadcasts(args[j].shape, a.shape)) if k else 0
                raise RuntimeError(f"{what + ': ' if what else ''}{names[other]!r} of shape {tuple(args[other].shape)} "
                                   f"and {names[k]!r} of shape {tuple(a.shape)} do not broadcast ({exc})") from None
        raise


def _broadcasts(a, b) -> bool:
    try:
        torch.broadcast_shapes(a, b)
    except RuntimeError:
        return False
    return True


def _applied(name: str, input, inplace, *params) -> torch.Tensor:  # noqa: A002
    """``activation(name, input, *params)``; with torch's ``inplace=True``, written into ``input``, which is returned
    (the argument was ignored: code that kept using ``input`` after ``F.relu(x, inplace=True)`` saw it unchanged).
    Where autograd records, the op reads a copy (it keeps its input for the backward pass, which an in-place write
    would break); a leaf that requires grad is refused by torch, as torch's own in-place ops refuse it."""
    if not inplace or not isinstance(input, torch.Tensor):
        return activation(name, input, *params)
    source = input.clone() if torch.is_grad_enabled() and input.requires_grad else input
    return input.copy_(activation(name, source, *params))


def sigmoid(input): return activation("sigmoid", input)  # noqa: E704
def tanh(input): return activation("tanh", input)  # noqa: E704
def relu(input, inplace=False): return _applied("relu", input, inplace)  # noqa: E704
def relu6(input, inplace=False): return _applied("relu6", input, inplace)  # noqa: E704
def leaky_relu(input, negative_slope=0.01, inplace=False): return _applied("leaky_relu", input, inplace, negative_slope)  # noqa: E704
def elu(input, alpha=1.0, inplace=False): return _applied("elu", input, inplace, alpha)  # noqa: E704
def selu(input, inplace=False): return _applied("selu", input, inplace)  # noqa: E704
def celu(input, alpha=1.0, inplace=False): return _applied("celu", input, inplace, alpha)  # noqa: E704
def silu(input, inplace=False): return _applied("silu", input, inplace)  # noqa: E704
def mish(input, inplace=False): return _applied("mish", input, inplace)  # noqa: E704
def softplus(input, beta=1.0, threshold=20.0):
    if beta == 0:  # softplus is log(1 + e^{βx})/β: there is no formula to derive at β = 0
        raise SymnetError("softplus: beta must be nonzero, not 0")
    return activation("softplus", input, beta, threshold)
def softsign(input): return activation("softsign", input)  # noqa: E704
def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False): return _applied("hardtanh", input, inplace, min_val, max_val)  # noqa: E704
def hardsigmoid(input, inplace=False): return _applied("hardsigmoid", input, inplace)  # noqa: E704
def hardswish(input, inplace=False): return _applied("hardswish", input, inplace)  # noqa: E704
def logsigmoid(input): return activation("logsigmoid", input)  # noqa: E704
def tanhshrink(input): return activation("tanhshrink", input)  # noqa: E704
def softshrink(input, lambd=0.5): return activation("softshrink", input, lambd)  # noqa: E704
def hardshrink(input, lambd=0.5): return activation("hardshrink", input, lambd)  # noqa: E704


def gelu(input, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise SymnetError(f"approximate must be 'none' or 'tanh', not {approximate!r}")
    return activation("gelu" if approximate == "none" else "gelu_tanh", input)


def _same_size(name: str, input, target, refuse: bool = False) -> None:
    """torch's own answer where a drop-in's target is not the input's size: (N, 1) against (N,) broadcasts
    to (N, N), a loss over N² pairs. torch.nn.functional.mse_loss, l1_loss, smooth_l1_loss and huber_loss
    warn (UserWarning, torch's words); binary_cross_entropy(_with_logits) refuse (ValueError). ``loss()``
    itself broadcasts without a word, as documented. A list or tuple target is refused as torch refuses it
    (``loss()`` reads one as the target and a loss's further tensors: mse_loss(z, [1.0]) was mse_loss(z, 1.0),
    and mse_loss(z, [1.0] * 4) said "takes 1 target tensor(s), got 4"; session 18's new user)."""
    if isinstance(target, (list, tuple)):
        raise TypeError(f"{name}: argument 'target' must be a torch.Tensor, not {type(target).__name__} "
                        "(torch.tensor(target, dtype=input.dtype) makes one)")
    for argument, value in (("input", input), ("target", target)):  # before .shape, which a nested one lacks
        _dense(name, argument, value)
    if not (isinstance(input, torch.Tensor) and isinstance(target, torch.Tensor)) or input.shape == target.shape:
        return
    if refuse:
        raise ValueError(f"{name}: target size ({tuple(target.shape)}) must be the same as input size "
                         f"({tuple(input.shape)}), as torch's {name} requires")
    import warnings

    warnings.warn(f"{name}: using a target size ({target.shape}) that is different to the input size "
                  f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
                  "Please ensure they have the same size.", UserWarning, stacklevel=3)


def mse_loss(input, target, reduction="mean"):
    _same_size("mse_loss", input, target)
    return loss("mse", input, target, reduction=reduction)


def l1_loss(input, target, reduction="mean"):
    _same_size("l1_loss", input, target)
    return loss("l1", input, target, reduction=reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    _same_size("smooth_l1_loss", input, target)
    if isinstance(beta, (int, float)) and not isinstance(beta, bool) and beta == 0:
        # torch: "when beta is 0, Smooth L1 loss is equivalent to L1 loss"; smooth_l1's kernel takes beta > 0 (it
        # divides by it), and beta=0 was refused ("the option beta of smooth_l1() must be a positive number, not 0")
        return loss("l1", input, target, reduction=reduction)
    return loss("smooth_l1", input, target, beta, reduction=reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    _same_size("huber_loss", input, target)
    return loss("huber", input, target, delta, reduction=reduction)


def binary_cross_entropy(input, target, reduction="mean"):
    _same_size("binary_cross_entropy", input, target, refuse=True)
    return loss("bce", input, target, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, reduction="mean", pos_weight=None):
    """As torch's; ``pos_weight`` a Python number (one weight for every entry), or None. ``input`` (logits)
    and ``target`` of one shape and floating dtype (float32, float64, bfloat16 or float16); the loss has
    their dtype, a scalar or, with ``reduction="none"``, their shape.

    Raises:
        SymnetError: ``pos_weight`` is a tensor; the message gives the formula that takes one (a weight
            per class, broadcast against the logits as torch's is), from :func:`symnet.torch.from_formula`.
    """
    if isinstance(pos_weight, torch.Tensor):  # torch's usual call passes one weight per class (session 21)
        raise SymnetError("binary_cross_entropy_with_logits: pos_weight must be a Python number here (the "
                          "generated kernel has one weight for all entries), not a tensor; for a tensor of "
                          "weights (one per class, broadcast as torch's) make the formula a function of it: "
                          "symnet.torch.from_formula(\"bce_logits(z, t, w)\", inputs=\"z t w\")"
                          "(input, target, pos_weight).mean()")
    params = () if pos_weight is None else (pos_weight,)
    _same_size("binary_cross_entropy_with_logits", input, target, refuse=True)
    return loss("bce_logits", input, target, *params, reduction=reduction)


def _autocast(*tensors):
    """The tensors cast to the autocast dtype where autocast is on (as torch does for matmuls)."""
    device = tensors[0].device.type
    if device in ("cpu", "cuda") and torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
        return [t.to(dtype) if t is not None and t.is_floating_point() else t for t in tensors]
    return list(tensors)


# The ops torch's autocast runs in float32 (its "CUDA/CPU ops that can autocast to float32"), by symnet's names:
# every loss on both devices (torch's gaussian_nll_loss, a composite, stays in bfloat16 on the CPU; symnet takes
# float32 there too: never less precise than torch), and on CUDA also softmax, log_softmax and softplus. Without
# this the standard AMP step, loss_fn(model(x), target) with a bfloat16 output beside a float32 target, was refused
# ("mse: target is torch.float32 but input is torch.bfloat16"), and a bfloat16 output gave a bfloat16 loss where
# torch's is float32 (session 35, h-brk35).
_AUTOCAST_FLOAT32 = {"cpu": frozenset(), "cuda": frozenset({"softmax", "log_softmax", "softplus"})}


def _autocast_float32(op: str, *tensors):
    """The tensors with float16/bfloat16 ones cast to float32 where ``op`` is a loss (``op == "loss"``) or one of
    :data:`_AUTOCAST_FLOAT32`'s for the device and autocast is on there, as torch's autocast casts them (float64
    and float32 tensors, numbers and None pass unchanged); else the tensors as given."""
    device = next((t.device.type for t in tensors if isinstance(t, torch.Tensor)), None)
    if device not in _AUTOCAST_FLOAT32 or not torch.is_autocast_enabled(device) \
            or (op != "loss" and op not in _AUTOCAST_FLOAT32[device]):
        return tensors
    return tuple(t.float() if isinstance(t, torch.Tensor) and t.dtype in (torch.float16, torch.bfloat16) else t
                 for t in tensors)


def dense(input, weight, bias=None, activation="sigmoid"):
    """activation(input Wᵀ + b) on ``(*, in_features)``; ``activation`` None/"linear", "sigmoid"
    or another activation with fused generated dense kernels (one kernel each way), or any
    activation of the registry (the linear kernel, then that activation's kernel).

    Shapes: input ``(*, in_features)``, weight ``(out_features, in_features)``, bias ``(out_features,)``
    or None; the result ``(*, out_features)``.
    Dtypes: float32, float64, bfloat16 or float16, one for every tensor (under ``torch.autocast`` the
    autocast dtype); the result has the input's dtype. Tensors on a CUDA device, or on the CPU with
    ``TRITON_INTERPRET=1``.

    Raises:
        ValueError: input's last dimension is not weight's in_features.
        TypeError: an integer tensor, or tensors of different dtypes.
        DeviceError: CPU tensors without ``TRITON_INTERPRET=1``.
        DoubleBackwardError: a second derivative.
    """
    act = _dense_activation(activation)
    op = "linear" if act == "linear" else "dense"
    _arguments(op, [("input", input), ("weight", weight), ("bias", bias)])
    _floating(op, [("input", input), ("weight", weight), ("bias", bias)])
    if weight.dim() != 2:
        raise ValueError(f"{op}: weight has shape {tuple(weight.shape)}; it takes (out_features, in_features)")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"{op}: bias has shape {tuple(bias.shape)}; weight {tuple(weight.shape)} needs "
                         f"({weight.shape[0]},), one per out_feature")
    if isinstance(input, torch.Tensor) and isinstance(weight, torch.Tensor) and weight.dim() == 2 \
            and input.dim() >= 1 and input.shape[-1] != weight.shape[1]:  # the kernel's check named W, not the input
        raise ValueError(f"{'linear' if act == 'linear' else 'dense'}: input has {input.shape[-1]} features (shape "
                         f"{tuple(input.shape)}) but weight {tuple(weight.shape)} takes {weight.shape[1]} "
                         "(weight is (out_features, in_features))")
    input, weight, bias = _autocast(input, weight, bias)
    _agree(op, [("input", input), ("weight", weight), ("bias", bias)])
    lead = input.shape[:-1]
    rows = input.reshape(math.prod(lead), input.shape[-1])  # not -1: 0 in_features leave no row count to infer
    fused = _ops.fused_dense(act)
    y = _ops.call(torch.ops.symnet_torch.dense.default, rows, weight, bias, act if fused else "linear")
    y = y.reshape(*lead, weight.shape[0])
    if fused:
        return y
    return _apply_activation(act, y)  # registry name: gelu, silu, leaky_relu (default slope), ...


def _dense_activation(activation) -> str:
    """The activation name a dense layer runs ("linear" for None/"identity"), checked before any launch."""
    act = "linear" if activation in (None, "linear", "identity") else activation
    if act != "linear" and (not isinstance(act, str) or act not in _activation_names()):
        raise _unknown("activation", act, ["linear"] + _activation_names())
    return act


def linear(input, weight, bias=None):
    """``input Wᵀ + b`` as torch.nn.functional.linear. Shapes: input ``(*, in_features)``, weight
    ``(out_features, in_features)``, bias ``(out_features,)`` or None; the result ``(*, out_features)``.
    Dtypes: float32, float64, bfloat16 or float16, one for every tensor (under ``torch.autocast`` the
    autocast dtype); the result has the input's dtype. Tensors on a CUDA device, or on the CPU with
    ``TRITON_INTERPRET=1``.

    Raises:
        ValueError: input's last dimension is not weight's in_features.
        TypeError: an integer tensor, or tensors of different dtypes.
        DeviceError: CPU tensors without ``TRITON_INTERPRET=1``.
        DoubleBackwardError: a second derivative.
    """
    return dense(input, weight, bias, activation=None)


def rnn_step(input, hx, weight_ih, weight_hh):
    """One Elman step h = σ(input W_ihᵀ + hx W_hhᵀ) (no biases). Shapes: input ``(*, D)``, hx ``(*, H)``,
    weight_ih ``(H, D)``, weight_hh ``(H, H)``; the result h ``(*, H)``.
    Dtypes: float32, float64, bfloat16 or float16, one for every tensor (under ``torch.autocast`` the
    autocast dtype); the result has the input's dtype. Tensors on a CUDA device, or on the CPU with
    ``TRITON_INTERPRET=1``.

    Raises:
        ValueError: input's or hx's last dimension is not its weight's.
        TypeError: an integer tensor, or tensors of different dtypes.
        DeviceError: CPU tensors without ``TRITON_INTERPRET=1``.
        DoubleBackwardError: a second derivative.
    """
    tensors = [("input", input), ("hx", hx), ("weight_ih", weight_ih), ("weight_hh", weight_hh)]
    _arguments("rnn_step", tensors)
    _floating("rnn_step", tensors)
    for name, w in tensors[2:]:
        if w.dim() != 2:
            raise ValueError(f"rnn_step: {name} has shape {tuple(w.shape)}; it takes 2 dimensions")
    if tuple(weight_hh.shape) != (weight_ih.shape[0],) * 2:
        raise ValueError(f"rnn_step: weight_hh has shape {tuple(weight_hh.shape)}; weight_ih "
                         f"{tuple(weight_ih.shape)} has {weight_ih.shape[0]} hidden units, so weight_hh must be "
                         f"({weight_ih.shape[0]}, {weight_ih.shape[0]})")
    if input.dim() == 0 or hx.dim() == 0:
        raise ValueError(f"rnn_step: input {tuple(input.shape)} and hx {tuple(hx.shape)} take a last axis of "
                         "features")
    if math.prod(hx.shape[:-1]) != math.prod(input.shape[:-1]):
        raise ValueError(f"rnn_step: hx has shape {tuple(hx.shape)} but input {tuple(input.shape)}; hx needs a "
                         f"row per row of the input, shape {(*input.shape[:-1], weight_ih.shape[0])}")
    input, hx, weight_ih, weight_hh = _autocast(input, hx, weight_ih, weight_hh)
    _agree("rnn_step", [("input", input), ("hx", hx), ("weight_ih", weight_ih), ("weight_hh", weight_hh)])
    # named as dense() names a wrong in_features; the op's own check named its argument 'Wi' (session 17)
    if isinstance(weight_ih, torch.Tensor) and weight_ih.dim() == 2 and input.dim() >= 1 \
            and input.shape[-1] != weight_ih.shape[1]:
        raise ValueError(f"rnn_step: input has {input.shape[-1]} features (shape {tuple(input.shape)}) but "
                         f"weight_ih {tuple(weight_ih.shape)} takes {weight_ih.shape[1]} (weight_ih is "
                         "(hidden_size, input_size))")
    if isinstance(weight_hh, torch.Tensor) and weight_hh.dim() == 2 and hx.dim() >= 1 \
            and hx.shape[-1] != weight_hh.shape[1]:
        raise ValueError(f"rnn_step: hx has {hx.shape[-1]} features (shape {tuple(hx.shape)}) but "
                         f"weight_hh {tuple(weight_hh.shape)} takes {weight_hh.shape[1]} (weight_hh is "
                         "(hidden_size, hidden_size))")
    lead = input.shape[:-1]
    h = _ops.call(torch.ops.symnet_torch.rnn_step.default, input.reshape(math.prod(lead), input.shape[-1]),
                  hx.reshape(math.prod(hx.shape[:-1]), hx.shape[-1]), weight_ih, weight_hh)
    return h.reshape(*lead, weight_ih.shape[0])


def _last(input, dim, log):
    _arguments("log_softmax" if log else "softmax", [("input", input)])
    _floating("log_softmax" if log else "softmax", [("input", input)])
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
        raise TypeError(f"{'log_softmax' if log else 'softmax'}: dim must be an int, not {type(dim).__name__}")
    if dim is None:
        dim = 0 if input.dim() in (0, 1, 3) else 1  # torch's legacy implicit dim
    if input.dim() == 0:  # torch takes a 0-d tensor as one entry (dim 0 or −1): 1 (log: 0), NaN at ±inf and NaN;
        # the kernel's "argument 'z' needs a last axis of at least one class" refused it (session 26, h-break26)
        input.movedim(dim, -1)  # dim out of range: torch's IndexError
        return _last(input.reshape(1), 0, log).reshape(())
    moved = input.movedim(dim, -1)
    if moved.shape[-1] == 0:  # no entries along dim: torch returns the empty tensor, which the kernel refused
        return input.clone()
    return _ops.call(torch.ops.symnet_torch.softmax.default, moved, log).movedim(-1, dim)


def _cast(op: str, input, dtype):  # noqa: A002
    """``input.to(dtype)`` for softmax's ``dtype=``, refused in one line where it cannot be: before (session 49),
    log_softmax(x64, dtype=torch.int64) said "argument 'input' has dtype torch.int64" of a float64 input, a list
    input raised AttributeError ('list' object has no attribute 'to'), dtype="float32" torch's "Invalid device
    string"."""
    _arguments(op, [("input", input)])
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point or dtype.itemsize > 8:
        raise TypeError(f"{op}: dtype must be a floating-point torch.dtype (torch.float32, torch.float64, "
                        f"torch.bfloat16, torch.float16), not {dtype!r}")
    return input.to(dtype)


def softmax(input, dim=None, dtype=None):
    """As torch.nn.functional.softmax (``dim`` should be given; None picks torch's legacy choice): the
    result has the input's shape, each slice along ``dim`` summing to 1; ``dtype`` casts the input first.
    Dtypes: float32, float64, bfloat16 or float16, one for every tensor (under ``torch.autocast`` the
    autocast dtype); the result has the input's dtype. Tensors on a CUDA device, or on the CPU with
    ``TRITON_INTERPRET=1``.

    Raises:
        IndexError: ``dim`` out of range (torch's message).
        TypeError: an integer input.
        DeviceError: a CPU tensor without ``TRITON_INTERPRET=1``.
        DoubleBackwardError: a second derivative.
    """
    # an explicit dtype is kept under autocast, as torch keeps it
    return _last(_autocast_float32("softmax", input)[0] if dtype is None else _cast("softmax", input, dtype), dim, False)


def log_softmax(input, dim=None, dtype=None):
    """As torch.nn.functional.log_softmax: the result has the input's shape, log of :func:`softmax`
    along ``dim``; ``dtype`` casts the input first.
    Dtypes: float32, float64, bfloat16 or float16, one for every tensor (under ``torch.autocast`` the
    autocast dtype); the result has the input's dtype. Tensors on a CUDA device, or on the CPU with
    ``TRITON_INTERPRET=1``.

    Raises:
        IndexError: ``dim`` out of range (torch's message).
        TypeError: an integer input.
        DeviceError: a CPU tensor without ``TRITON_INTERPRET=1``.
        DoubleBackwardError: a second derivative.
    """
    return _last(_autocast_float32("log_softmax", input)[0] if dtype is None else _cast("log_softmax", input, dtype), dim,
                 True)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  softcap=None, z_loss_scale=0.0):
    """As torch.nn.functional.cross_entropy: input (logits) ``(N, C)``, ``(N, C, d1, ...)`` or
    ``(C,)``; target class indices ``(N,)``, ``(N, d1, ...)`` or ``()``, or probabilities of the
    input's shape (soft targets); ``weight`` ``(C,)``; ``reduction`` "mean" (weighted mean, as
    torch), "sum" or "none"; ``label_smoothing`` in [0, 1]. Beyond torch, as Liger-Kernel:
    ``softcap`` (logits replaced by softcap·tanh(z/softcap), Gemma 2) and ``z_loss_scale``
    (λ·logsumexp² added to each row, PaLM's z-loss).

    Without options the generated ``softmax_cross_entropy`` kernel runs; with any, the generated
    ``cross_entropy`` kernel of the row registry (``symnet/rowwise_registry.py``). A class outside
    [0, C) that is not ``ignore_index`` raises ``IndexError``, as in torch (one host
    synchronisation, in the op's implementation, so ``torch.compile(fullgraph=True)`` traces either
    path); only while a CUDA graph is captured is it left unchecked, and then gives a NaN loss and
    NaN in that row's gradient.

    Gradients flow to ``input``, to soft ``target`` and to ``weight`` (hard and soft targets),
    computed only when they require grad, from the rows of the generated ``log_softmax`` kernel
    lp = log_softmax(c), c = softcap·tanh(z/softcap) (or z), with torch ops for the sums over
    rows. From torch's definition (``torch.nn.functional.cross_entropy`` docs: soft targets
    ℓ_i = −Σ_k w_k t'_ik·lp_ik, t' = (1−ε)t + ε/V, "mean" dividing by N; class indices
    ℓ_i = −w_{r_i}(1−ε)·lp_{i,r_i} − (ε/V)Σ_k w_k·lp_ik, ignored rows 0, "mean" dividing by
    D = Σ w_{r_i} over the rows kept), with a_i the upstream factor of row i (g_i, g, g/N or g/D):
    ∂/∂t_ik = −a_i(1−ε)w_k·lp_ik; soft ∂/∂w_k = −Σ_i a_i t'_ik·lp_ik; hard ∂/∂w_k =
    Σ_{i kept} a_i(−(1−ε)[r_i = k]·lp_{i,r_i} − (ε/V)·lp_ik) − (g·L/D)·n_k for "mean" (n_k the kept
    rows of class k, L the loss) and without the last term otherwise. The z-loss λ·lse² holds no
    target or weight: it reaches ∂/∂w only through D (its mean shares the divisor). With every row
    ignored the gradients are 0. (torch's own nll_loss refuses a class weight that requires grad;
    this follows its formula.) Differentiable once: a second derivative raises
    ``DoubleBackwardError``.

    Unlike torch, on purpose: a soft target 0 at a logit −∞ adds the limit 0 of t·(lse − z) (torch's
    loss is NaN, 0·∞), and a weighted mean over subnormal class weights is the mean (torch's gradient
    is ±∞, 1/Σ w_r overflowing).

    Dtypes: logits float32, float64, bfloat16 or float16 (soft targets and ``weight`` of the same); class
    indices an integer tensor. The loss has the logits' dtype: a scalar, or ``(N, d1, ...)`` with
    ``reduction="none"``. Tensors on a CUDA device, or on the CPU with ``TRITON_INTERPRET=1``.

    Raises:
        IndexError: a class outside [0, C) that is not ``ignore_index``.
        ValueError: soft targets not of the input's shape, and other shapes torch refuses.
        TypeError: integer logits.
        DeviceError: CPU tensors without ``TRITON_INTERPRET=1``.
        DoubleBackwardError: a second derivative.
    """
    _arguments("cross_entropy", [("input", input), ("target", target), ("weight", weight)],
               [("label_smoothing", label_smoothing), ("softcap", softcap), ("z_loss_scale", z_loss_scale)])
    if reduction not in ("mean", "sum", "none"):
        raise SymnetError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    # named as passed, as softmax names it: the launcher's line said "argument 'z'", its own name
    _floating("cross_entropy", [("input", input)])
    if input.dim() == 0:  # torch's own message speaks of class probabilities; ours failed on z.shape[-1]
        raise ValueError("cross_entropy: input has no class axis (a 0-d tensor); it takes logits of shape (C,), "
                         "(N, C) or (N, C, d1, ...)")
    ignore_index = _ops.ignore_index_arg(ignore_index, "cross_entropy")
    if isinstance(target, torch.Tensor) and target.dtype == torch.bool:  # the kernel's "argument 'r'" before
        raise TypeError("cross_entropy: target has dtype torch.bool; it takes class indices (an integer tensor: "
                        "target.long()) or probabilities of the input's shape (target.to(input.dtype))")
    target = _ops.int64_classes(target)
    input, target, weight = _autocast_float32("loss", input, target, weight)
    soft = target.is_floating_point()
    if soft and ignore_index >= 0:  # torch refuses it too: a soft target has no class to ignore
        raise ValueError(f"cross_entropy: ignore_index ({ignore_index}) is not supported for soft (floating-point) "
                         "targets")
    want = (input.shape[0], *input.shape[2:]) if input.dim() > 1 else ()
    if not soft and tuple(target.shape) != tuple(want) and not (input.dim() == 1 and tuple(target.shape) == (1,)):
        # torch refuses these too; reshaping would hide the mismatch
        raise ValueError(f"cross_entropy: target has shape {tuple(target.shape)}; input of shape "
                         f"{tuple(input.shape)} needs class indices of shape {tuple(want)}")
    if weight is not None or label_smoothing or softcap is not None or z_loss_scale or soft:
        return _cross_entropy_with_options(input, target, weight, ignore_index, reduction, float(label_smoothing),
                                           softcap, float(z_loss_scale))
    if input.dim() == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
        loss_ = cross_entropy(input, target, None, ignore_index, reduction)
        return loss_.squeeze(0) if reduction == "none" else loss_
    z = input.movedim(1, -1) if input.dim() > 2 else input
    shape = z.shape[:-1]
    rows = math.prod(shape)  # not -1: with 0 classes there is no row count to infer
    out = _ops.call(torch.ops.symnet_torch.cross_entropy.default, z.reshape(rows, z.shape[-1]), target.reshape(rows),
                    reduction, ignore_index)[0]
    return out.reshape(shape) if reduction == "none" else out


def _cross_entropy_with_options(input, target, weight, ignore_index, reduction, label_smoothing, softcap,
                                z_loss_scale):
    soft = target.is_floating_point()
    if soft and target.shape != input.shape:
        indices = input.shape[:1] + input.shape[2:] if input.dim() > 1 else ()  # (N, C, d…) → (N, d…)
        hint = (f"; class indices must be an integer tensor (target.long()), not {target.dtype}"
                if tuple(target.shape) == tuple(indices) else "")
        raise ValueError(f"cross_entropy: soft targets must have the input's shape {tuple(input.shape)}, "
                         f"got {tuple(target.shape)}{hint}")
    if weight is not None:  # named here: the launcher's line names neither the op nor the input's classes
        _floating("cross_entropy", [("weight", weight)])
        if tuple(weight.shape) != (input.shape[1 if input.dim() > 1 else 0],):
            classes = input.shape[1 if input.dim() > 1 else 0]
            raise ValueError(f"cross_entropy: weight has shape {tuple(weight.shape)}; input {tuple(input.shape)} "
                             f"has {classes} classes, so weight must be ({classes},), one per class")
        if weight.device != input.device:  # another float dtype is cast (the launcher checks its range)
            raise _ops.DeviceError(f"cross_entropy: weight is on {weight.device} but input is on {input.device}; "
                                   "put the tensors on one device")
    one = input.dim() == 1
    z = input.unsqueeze(0) if one else (input.movedim(1, -1) if input.dim() > 2 else input)
    t = target.unsqueeze(0) if one else (target.movedim(1, -1) if soft and target.dim() > 2 else target)
    shape, classes = z.shape[:-1], z.shape[-1]
    rows = math.prod(shape)  # not -1: with 0 classes there is no row count to infer
    z = z.reshape(rows, classes)
    t = t.reshape(rows, classes) if soft else t.reshape(rows)
    out = _ops.call(torch.ops.symnet_torch.cross_entropy_options.default, z, t, weight, int(ignore_index), reduction,
                    label_smoothing, None if softcap is None else float(softcap), z_loss_scale)[0]
    if reduction == "none":
        out = out.reshape(shape)
        return out.squeeze(0) if one else out
    return out


def _document_drop_ins() -> None:
    """Give the one-line drop-ins with torch's names a docstring (``help(st.functional.mish)`` printed none):
    what they compute, shapes, dtypes, options and errors, from the registry entry they call."""
    import inspect

    losses = {"mse_loss": "mse", "l1_loss": "l1", "smooth_l1_loss": "smooth_l1", "huber_loss": "huber",
              "binary_cross_entropy": "bce"}
    for public in __all__:
        f = globals()[public]
        if f.__doc__:
            continue
        params = [p for p in inspect.signature(f).parameters.values() if p.name not in ("input", "target")]
        options = ", ".join(f"``{p.name}={p.default!r}``" for p in params if p.name not in ("inplace", "reduction"))
        options = f" Options as torch's, by position or by name: {options}." if options else ""
        if public in losses:
            name = losses[public]
            f.__doc__ = (
                f"As ``torch.nn.functional.{public}``: the registry loss ``{name}`` of (``input``, ``target``), reduced, "
                f"computed by its generated Triton kernel (the formula: ``symnet derive \"{name}(p, t)\"``).\n\n"
                "``input``, ``target``: floating-point tensors (float32, float64, bfloat16, float16) of one dtype and "
                "the same shape (another shape: torch's answer, a warning and broadcasting, or for "
                "binary_cross_entropy a ValueError), on a CUDA device or on the CPU under ``TRITON_INTERPRET=1``. "
                "``reduction``: \"mean\" (default) or \"sum\" give a 0-d tensor, \"none\" the per-entry losses in "
                f"``input``'s shape. Both tensors get their gradient.{options}\n\n"
                "Raises: as :func:`loss` (SymnetError for an unknown reduction or a NaN/infinite option, "
                "DomainError for data outside the loss's domain, TypeError for integer or complex tensors or a "
                "list target, DeviceError for a CPU tensor without ``TRITON_INTERPRET=1``).")
            continue
        name = public
        gelu = " ``approximate=\"tanh\"`` is the registry's ``gelu_tanh``." if public == "gelu" else ""
        inplace = ("``inplace=True`` (torch's): the result is written into ``input``, which is returned; a leaf "
                   "that requires grad is refused by torch (RuntimeError), as torch's in-place ops refuse it. "
                   if "inplace" in inspect.signature(f).parameters else "")
        f.__doc__ = (
            f"As ``torch.nn.functional.{public}``: the registry activation ``{name}`` entry by entry, computed with its "
            f"derivative in one pass by its generated Triton kernel (the formula: ``symnet derive \"{name}(x)\"``; "
            f"its accuracy against mpmath: ``symnet verify \"{name}(x)\"``).{gelu}\n\n"
            "``input``: a floating-point tensor (float32, float64, bfloat16, float16) of any shape, on a CUDA device "
            "or on the CPU under ``TRITON_INTERPRET=1``; returns a tensor of its shape and dtype, differentiable in "
            f"``input``.{options} {inplace}".rstrip() + "\n\n"
            "Raises: as :func:`activation` (SymnetError for a NaN or infinite option, TypeError for an integer or "
            "complex ``input``, DeviceError for a CPU tensor without ``TRITON_INTERPRET=1``).")


_document_drop_ins()


# ------------------------------------------------------------------ user46 (session 46, h-user46: torch's full=True of
# poisson_nll_loss, which a new user passed as loss("poisson_nll", z, t, 1, 1) and met "takes at most 1 option(s)")
_STIRLING = ("for torch's full=True add the Stirling term: symnet.torch.from_formula('poisson_nll(x, t) + "
             "where(t > 1, t*log(t) - t + log(2*pi*t)/2, 0)', inputs='x t')")
_BY_LOSS["poisson_nll_loss"] = "loss('poisson_nll', input, target, log_input) (torch's full=False); " + _STIRLING
# what an option past the registry's count most likely meant (by the registry name)
_MORE_OPTIONS = {"poisson_nll": _STIRLING}
