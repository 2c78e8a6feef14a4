"""The fused training step as an optimizer: one Triton launch per step, autograd told.

:class:`FusedStep` wraps :func:`symnet.compile_step`: forward, loss, backpropagation and
the update of an MLP run in ONE generated kernel, which writes the parameters (and the
optimizer's state) in place through their data pointers. Autograd cannot see such a write,
so after every launch the version counter of each tensor written is bumped
(``torch.autograd.graph.increment_version``, the public call for custom kernels): a graph
that saved a parameter before the step then refuses to backpropagate ("modified by an
inplace operation") instead of silently using the new values.

The update rules (plain SGD with weight decay, SGD with momentum, Adam) are derived with
SymPy in :mod:`symnet.codegen.families.update_rules` and printed into the kernel; they follow
``torch.optim.SGD`` and ``torch.optim.Adam``.
"""
from __future__ import annotations

import math
import re

from ..errors import FusedStepError

__all__ = ["FusedStep"]


class FusedStep:
    """An optimizer-like fused training step for an MLP of dense layers.

    ``FusedStep(model_or_params, activations=("relu", "linear"), loss="ce", optimizer="adam", lr=1e-3)``
    then ``opt.step(x, target)`` runs one step over the whole batch and returns its loss.

    Args:
        model_or_params: an ``nn.Module`` whose ``parameters()`` are, in order, ``W1, b1, W2, b2, …``
            (an ``nn.Sequential`` of ``nn.Linear`` and activation modules), or that list of tensors:
            ``Wn`` of shape ``(out, in)`` as ``nn.Linear.weight``, ``bn`` of shape ``(out,)``; float32,
            contiguous, on one device, leaf tensors, no two sharing memory.
        activations: one per layer: "linear" or any activation of the function registry
            ("sigmoid", "tanh", "relu", "gelu", "silu", … as :func:`symnet.compile_step`); read
            from the model when it is an ``nn.Sequential`` of ``nn.Linear`` layers, each followed
            by ``nn.Sigmoid``, ``nn.Tanh``, ``nn.ReLU`` or nothing (pass it for any other).
        loss: "ce" (softmax cross-entropy on the last layer, ``target`` the classes) or an
            elementwise loss of the registry of (prediction, target) such as "mse" (summed over
            the outputs, averaged over the batch), as :func:`symnet.compile_step`.
        optimizer: "sgd", "momentum" (``torch.optim.SGD(momentum=...)``) or "adam".
        lr, momentum, betas, eps, weight_decay: as ``torch.optim``'s (L2 weight decay added to the
            gradient, as SGD and Adam, not AdamW, do); ``lr`` defaults to 1e-3, as torch's SGD and Adam.
        precision: the products' precision, see :func:`symnet.compile_step`.

    Raises:
        FusedStepError: parameters that are not float32, not contiguous, not leaves (inside an
            autograd graph), on several devices, sharing memory, of the wrong number or shapes;
            a learning rate or hyperparameter that is NaN, infinite or out of range; an unknown
            optimizer, activation or loss.
    """

    def __init__(self, model_or_params, *, activations=None, loss: str = "ce", optimizer: str = "sgd", lr: float = 1e-3,
                 momentum: float = 0.9, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 precision: str = "ieee"):
        import torch

        from ..codegen.compiler import compile_step
        from ..codegen.families.update_rules import OPTIMIZERS, update_rule
        from ..errors import SymnetError

        if optimizer not in OPTIMIZERS:
            raise FusedStepError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        if isinstance(model_or_params, torch.nn.parallel.DistributedDataParallel):
            raise FusedStepError("the fused step computes and applies its own gradients in one process; under "
                                 "DistributedDataParallel they would never be averaged: use symnet's ops with a "
                                 "torch.optim optimizer instead")
        # a weight shared by two layers counted twice, so that it is refused as shared, not miscounted
        params = [p for _, p in model_or_params.named_parameters(remove_duplicate=False)] \
            if isinstance(model_or_params, torch.nn.Module) else list(model_or_params)
        if activations is None:
            activations = _activations_of(model_or_params)
        activations = tuple(activations) if not isinstance(activations, str) else (activations,)
        _check_params(params, len(activations))
        self.params = params
        self.activations, self.loss, self.optimizer, self.precision = activations, loss, optimizer, precision
        self.rule = update_rule(optimizer)
        hyper = {"weight_decay": weight_decay}
        if optimizer == "momentum":
            hyper["momentum"] = momentum
        if optimizer == "adam":
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise FusedStepError(f"betas must be a pair (beta1, beta2), not {betas!r}"[:200])
            hyper.update(beta1=betas[0], beta2=betas[1], eps=eps)
        self.hyper = _hyper(hyper)
        self.lr = lr  # checked by the property
        try:
            self._function = compile_step(activations, loss, optimizer=optimizer)
        except FusedStepError:
            raise
        except SymnetError as exc:
            raise FusedStepError(str(exc)) from None
        self.state = [torch.zeros_like(p) for p in params for _ in self.rule.state]
        self.steps_taken = 0

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = _number("lr", value, low=0.0)

    def step(self, x, target):
        """One step over the whole batch ``(x, target)``; returns its loss (a 0-d float32 tensor,
        before the update). The parameters and the optimizer's state are updated in place and their
        version counters bumped.

        Raises:
            FusedStepError: the parameters changed since (see the class); the step's loss is NaN or
                infinite (the step is then not applied).
            TypeError, ValueError, IndexError: ``x`` or ``target`` of the wrong kind, shape, device or range.
        """
        import torch

        order = torch.arange(x.shape[0] if isinstance(x, torch.Tensor) and x.dim() else 0, device=_device(x))
        losses = self.steps(x, target, order, max(1, order.numel()))
        return losses[0] if losses.numel() else losses.new_zeros(())

    def steps(self, x, target, order, batch: int):
        """Steps over ``x[order[0]], x[order[1]], …`` in mini-batches of ``batch`` (the last may be
        shorter), all in one launch; returns each step's loss, a float32 tensor.

        Raises: as :meth:`step`; a NaN or infinite loss stops the updates at that step.
        """
        import torch

        _check_params(self.params, len(self.activations))
        device = self.params[0].device
        for name, value in (("x", x), ("target", target), ("order", order)):
            if not isinstance(value, torch.Tensor):
                raise FusedStepError(f"{name} must be a torch.Tensor, not {type(value).__name__}")
            if value.device != device:
                raise FusedStepError(f"{name} is on {value.device} but the parameters are on {device}")
        inputs = self.params[0].shape[1]  # W1 is (out, in): name x, not W1, when x has other features
        if x.dim() != 2 or x.shape[1] != inputs:
            raise ValueError(f"x has shape {tuple(x.shape)}; the first layer takes (examples, {inputs})")
        args = (x, target, *self.params, order, self._lr, batch)
        try:
            losses = self._function(*args, state=self.state, step0=self.steps_taken, check=True,
                                    precision=self.precision, **self.hyper)
        except (IndexError, ValueError, TypeError) as error:  # the launcher's checks name its argument t: the user
            raise type(error)(_renamed_target(str(error))) from None  # passed target
        # the kernel wrote through data pointers: tell autograd, so a graph that saved a parameter refuses
        torch.autograd.graph.increment_version(self.params + self.state)
        finite = torch.isfinite(losses)
        applied = int(finite.cumprod(0).sum()) if losses.numel() else 0
        self.steps_taken += applied
        if applied < losses.numel():
            rows = order[applied * batch:(applied + 1) * batch]
            raise FusedStepError(f"step {self.steps_taken + 1} had loss {float(losses[applied])}: it was not applied, "
                                 f"nor any after it{_non_finite_entry(x, target, rows)}")
        return losses

    def state_dict(self) -> dict:
        """The optimizer's settings, state tensors (copies) and step count, as ``torch.optim``'s."""
        return {"optimizer": self.optimizer, "lr": self._lr, "hyper": dict(self.hyper), "steps_taken": self.steps_taken,
                "state": [s.detach().clone() for s in self.state]}

    def load_state_dict(self, state: dict) -> None:
        """Take up ``state`` from :meth:`state_dict` (same optimizer and parameter shapes).

        Raises:
            FusedStepError: another optimizer, state tensors missing or of other shapes, not real
                floating point, with a NaN or infinite entry or (Adam's v) a negative one, another optimizer's
                hyperparameters, a learning rate or hyperparameter out of range (as the constructor
                refuses them), or a step count that is not a whole number ≥ 0. Nothing is changed then.
        """
        import torch

        if not isinstance(state, dict):
            raise FusedStepError(f"the state must be a dict from state_dict(), not {type(state).__name__}")
        if state.get("optimizer") != self.optimizer:
            raise FusedStepError(f"the state is of optimizer {state.get('optimizer')!r}, not {self.optimizer!r}")
        saved = state.get("state")
        if not isinstance(saved, (list, tuple)) or not all(isinstance(s, torch.Tensor) for s in saved):
            kind = "a list holding other things" if isinstance(saved, (list, tuple)) else type(saved).__name__
            raise FusedStepError(f"the state's 'state' must be the list of tensors from state_dict(), not {kind}")
        if len(saved) != len(self.state) or any(a.shape != b.shape for a, b in zip(saved, self.state)):
            raise FusedStepError("the state tensors do not match these parameters' shapes")
        _check_state_values(saved, [n for n, _ in self.rule.state], [s.dtype for s in self.state])
        hyper = state.get("hyper")
        if not isinstance(hyper, dict) or set(hyper) != set(self.hyper):
            raise FusedStepError(f"the state's hyperparameters {sorted(hyper) if isinstance(hyper, dict) else hyper!r} "
                                 f"are not {self.optimizer}'s {sorted(self.hyper)}"[:300])
        hyper = _hyper(hyper)  # checked as the constructor checks them: the kernel would take any number
        steps = state.get("steps_taken")
        if isinstance(steps, bool) or not hasattr(type(steps), "__index__") or steps.__index__() < 0:
            raise FusedStepError(f"steps_taken must be a whole number ≥ 0, not {steps!r}"[:200])
        lr = _number("lr", state.get("lr"), low=0.0)
        with torch.no_grad():  # an in-place copy: the version counters move
            for mine, theirs in zip(self.state, saved):
                mine.copy_(theirs)
        self._lr, self.hyper, self.steps_taken = lr, hyper, steps.__index__()

    def zero_state(self) -> None:
        """Forget the optimizer's state (momentum buffers, Adam's moments, the step count)."""
        for s in self.state:
            s.zero_()
        self.steps_taken = 0

    # torch.optim's names a training loop calls, answered in one line (opt.zero_grad() was "AttributeError:
    # 'FusedStep' object has no attribute 'zero_grad'": session 18's new user)
    _NOT_HERE = {
        "zero_grad": "it computes the gradients inside its kernel and never reads .grad: opt.step(x, target) is the "
                     "whole step (forward, loss, backward, update), with no loss.backward() before it",
        "param_groups": "its learning rate is opt.lr (settable between steps, e.g. by your own schedule; torch's "
                        "lr_scheduler classes need param_groups), its parameters opt.params",
        "add_param_group": "its parameters are fixed when it is made (opt.params); make another FusedStep",
    }

    def __getattr__(self, name: str):
        if name in FusedStep._NOT_HERE:
            raise AttributeError(f"FusedStep has no {name}: {FusedStep._NOT_HERE[name]}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict:
        """Pickled (``pickle``, ``copy.deepcopy``, ``torch.save``) without its generated function, which is compiled
        again from the activations, loss and optimizer on unpickling (from symnet's caches where kept). Before:
        "PicklingError: Can't pickle <function mlp_relu_linear_ce_adam>: it's not the same object as …"."""
        state = dict(self.__dict__)
        del state["_function"]
        return state

    def __setstate__(self, state: dict) -> None:
        from ..codegen.compiler import compile_step

        self.__dict__.update(state)
        self._function = compile_step(self.activations, self.loss, optimizer=self.optimizer)

    def __repr__(self):
        hyper = ", ".join(f"{k}={v}" for k, v in self.hyper.items())
        return f"FusedStep({self.optimizer}, activations={self.activations}, loss={self.loss!r}, lr={self._lr}, {hyper})"


# t as a word in the step launcher's messages ("a class in t lies outside [0, 3)", "t has 2 outputs per example …"),
# bare or quoted ("argument 't' has dtype torch.int64", a TypeError: session 20 found those still said t, as did "t must
# be a 1-D int32/int64 tensor of classes"): FusedStep's argument is target (session 19's new user); renamed in the
# message, not checked twice (each check of the classes is a device synchronisation). "can't" keeps its t.
_TARGET_IN_LAUNCHER = re.compile(r"'t'|(?<![\w'])t(?![\w'])")


def _renamed_target(message: str) -> str:
    """``message`` of the step launcher with its argument t named target, as the user passed it (quoted where it was)."""
    return _TARGET_IN_LAUNCHER.sub(lambda m: "'target'" if m.group(0) == "'t'" else "target", message)


def _check_state_values(saved: list, names: list, dtypes: list) -> None:
    """Refuse state tensors the kernel would turn into wrong weights silently: not real floating point (a complex
    tensor lost its imaginary part in the copy, an integer one took any number), on the meta device (no data), with
    a NaN or infinite entry, also once copied into the optimizer's own ``dtypes`` (a float64 state of 1e300 became
    inf in a float32 optimizer, its weights inf/NaN after the next step), or Adam's second moment v (a mean of
    squares) with a negative entry: √v is NaN there and the step, whose loss is computed before the update, was
    applied (its weights NaN; torch.optim.Adam the same)."""
    import torch

    for i, (s, dtype) in enumerate(zip(saved, dtypes)):  # per parameter in order, its state variables in the rule's order (names)
        name = names[i % len(names)]
        what = f"state tensor {i} (parameter {i // len(names)}'s {name})"
        if s.is_complex() or not s.is_floating_point():
            raise FusedStepError(f"{what} is {s.dtype}, not a real floating-point tensor")
        if s.is_meta:
            raise FusedStepError(f"{what} is on the meta device: it holds no values")
        if not bool(torch.isfinite(s).all()):
            raise FusedStepError(f"{what} has a NaN or infinite entry: the weights would become NaN")
        if not bool(torch.isfinite(s.to(dtype)).all()):
            raise FusedStepError(f"{what} has an entry of {float(s.abs().max()):g}, beyond {dtype}'s range, the "
                                 "optimizer's: it would be inf there, and the weights NaN")
        if name == "v" and bool((s < 0).any()):
            raise FusedStepError(f"{what}, a mean of squared gradients, has a negative entry "
                                 f"({float(s.min())}): √v would be NaN")


def _non_finite_entry(x, target, rows) -> str:
    """"; its batch holds target[3] = nan": the first NaN or infinite entry of ``x`` or ``target`` among ``rows`` (a
    step's examples), named for the error of a step whose loss is not finite ("step 1 had loss nan" said no more,
    where the cause was one NaN target); "" where every entry is finite (the step diverged) or a row is out of range."""
    import torch

    if rows.numel() == 0 or int(rows.min()) < 0 or int(rows.max()) >= x.shape[0]:
        return ""
    for name, data in (("x", x), ("target", target)):
        if not data.is_floating_point() or data.shape[:1] != x.shape[:1]:
            continue
        bad = ~torch.isfinite(data[rows])
        if bad.any():
            at = [int(i) for i in bad.nonzero()[0]]
            at[0] = int(rows[at[0]])
            value = float(data[tuple(at)])
            return f"; its batch holds {name}[{', '.join(map(str, at))}] = {value}"
    return ""


def _activations_of(model) -> tuple:
    """The activations of an ``nn.Sequential`` of ``nn.Linear`` layers and activation modules."""
    import torch

    names = {torch.nn.Sigmoid: "sigmoid", torch.nn.Tanh: "tanh", torch.nn.ReLU: "relu"}
    if not isinstance(model, torch.nn.Sequential):
        raise FusedStepError("activations=... is needed unless the model is an nn.Sequential of nn.Linear layers")
    found = []
    for module in model:
        if isinstance(module, torch.nn.Linear) and module.bias is not None:
            found.append("linear")
        elif type(module) in names and found and found[-1] == "linear":
            found[-1] = names[type(module)]
        elif isinstance(module, torch.nn.Linear):
            raise FusedStepError(f"the fused step cannot take nn.Linear({module.in_features}, {module.out_features}, "
                                 "bias=False): every layer needs its bias (zero it to do without)")
        elif isinstance(module, (torch.nn.Softmax, torch.nn.LogSoftmax)) and module is model[-1]:
            # the usual slip of a classifier written for NLLLoss or for predictions: the kernel's "ce" takes logits
            raise FusedStepError(f"the fused step cannot take a final nn.{type(module).__name__}: a layer's activation "
                                 "is elementwise; for classes, loss='ce' takes the last layer's logits and applies the "
                                 "softmax itself, as torch.nn.CrossEntropyLoss does: drop that module")
        else:
            raise FusedStepError(f"the fused step cannot take {type(module).__name__} here: it reads nn.Linear layers "
                                 "with biases, each followed by nn.Sigmoid, nn.Tanh, nn.ReLU or nothing; for another "
                                 "activation (nn.GELU, nn.SiLU, ...) pass activations=(...), one registry name per "
                                 f"nn.Linear{_suggestion(model, names)}")
    return tuple(found)


def _suggestion(model, names: dict) -> str:
    """``, here activations=('mish', 'linear')`` for a model whose activation modules are named as
    registry activations (nn.Mish is mish, nn.SiLU silu, nn.GELU() gelu), or "" where one is not
    (nn.Dropout) or takes options the name does not say (nn.GELU(approximate="tanh"), nn.ELU(alpha=…)):
    what to pass, checked against the registry rather than guessed."""
    import torch

    from ..registry import activation_names

    known, found = set(activation_names()), []
    for module in model:
        if isinstance(module, torch.nn.Linear):
            found.append("linear")
            continue
        name = names.get(type(module)) or type(module).__name__.lower()
        plain = type(module).__module__.startswith("torch.nn") and not module.extra_repr()  # no options
        if type(module) is torch.nn.GELU:  # its one option picks the registry's function
            name, plain = {"none": "gelu", "tanh": "gelu_tanh"}.get(module.approximate), True
        if name not in known or not plain or not found or found[-1] != "linear":
            return ""
        found[-1] = name
    return f", here activations={tuple(found)!r}"


def _device(x):
    import torch

    return x.device if isinstance(x, torch.Tensor) else None


_RANGES = {"weight_decay": ("weight_decay", {"low": 0.0}), "momentum": ("momentum", {"low": 0.0}),
           "beta1": ("betas[0]", {"low": 0.0, "below": 1.0}), "beta2": ("betas[1]", {"low": 0.0, "below": 1.0}),
           "eps": ("eps", {"low": 0.0, "strict": True})}


def _hyper(values: dict) -> dict:
    """The hyperparameters, each checked against its range (as floats)."""
    out = {}
    for key, value in values.items():
        name, bounds = _RANGES[key]
        out[key] = _number(name, value, **bounds)
    return out


def _number(name: str, value, *, low: float, below: float | None = None, strict: bool = False) -> float:
    import torch

    from ..codegen.compiler import _complex_number

    if isinstance(value, bool) or not hasattr(type(value), "__float__"):
        raise FusedStepError(f"{name} must be a number, not {type(value).__name__}")
    if _complex_number(value) or (isinstance(value, torch.Tensor) and value.is_complex()):
        raise FusedStepError(f"{name} must be a real number, not {value!r}"[:200])
    try:
        value = float(value)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:  # 10**400, a tensor of several numbers
        raise FusedStepError(f"{name} must be one number, not {str(value)[:60]} ({exc})") from None
    if math.isnan(value) or math.isinf(value):
        raise FusedStepError(f"{name} must be finite, not {value}")
    if value < low or (strict and value == low) or (below is not None and value >= below):
        interval = f"{'(' if strict else '['}{low}, {below if below is not None else '∞'})"
        raise FusedStepError(f"{name} must lie in {interval}, not {value}")
    if abs(value) > _FLOAT32_MAX:  # the kernel takes it as a float32: torch's conversion would overflow
        raise FusedStepError(f"{name} must be at most {_FLOAT32_MAX:.7g} (it is passed as a float32), not {value}")
    return value


_FLOAT32_MAX = 3.4028234663852886e38


def _check_params(params: list, layers: int) -> None:
    """Refuse parameters the fused kernel cannot update in place, or whose update autograd would miss."""
    import torch

    if len(params) != 2 * layers:
        # activations=("gelu",) for a two-layer model said "1 layer(s) take 2 parameters (W1, b1, …), not 4"
        # (session 18's new user): say which of the two is short
        raise FusedStepError(f"activations names {layers} layer(s), which take {2 * layers} parameters (W1, b1, …), "
                             f"but there are {len(params)}: give one activation per nn.Linear layer (W and b), "
                             "the last usually 'linear'")
    device = None
    for i, p in enumerate(params):
        what = f"parameter {i} ({'W' if i % 2 == 0 else 'b'}{i // 2 + 1})"
        if not isinstance(p, torch.Tensor):
            raise FusedStepError(f"{what} is a {type(p).__name__}, not a torch.Tensor")
        if type(p) not in (torch.Tensor, torch.nn.Parameter):
            raise FusedStepError(f"{what} is a {type(p).__name__}, not a plain tensor (an FSDP2 shard is a DTensor); "
                                 "the fused step updates whole tensors in one process")
        if p.dtype != torch.float32:
            raise FusedStepError(f"{what} has dtype {p.dtype}; the fused step updates float32 parameters")
        if p.dim() != (2 if i % 2 == 0 else 1):
            raise FusedStepError(f"{what} has shape {tuple(p.shape)}; expected a {'matrix' if i % 2 == 0 else 'vector'}")
        if not p.is_contiguous():
            raise FusedStepError(f"{what} is not contiguous; the fused step writes it in place")
        if p.requires_grad and p.grad_fn is not None:
            raise FusedStepError(f"{what} is not a leaf: it is computed inside an autograd graph "
                                 f"({type(p.grad_fn).__name__}); the fused step updates leaf parameters only")
        if p.is_inference():
            raise FusedStepError(f"{what} was made under torch.inference_mode; autograd could not be told of "
                                 "its update")
        device = device or p.device
        if p.device != device:
            raise FusedStepError(f"{what} is on {p.device} but parameter 0 is on {device}")
    for i in range(0, len(params) - 2, 2):
        W, b, W_next = params[i], params[i + 1], params[i + 2]
        if b.shape[0] != W.shape[0] or W_next.shape[1] != W.shape[0]:
            raise FusedStepError(f"the shapes {tuple(W.shape)}, {tuple(b.shape)}, {tuple(W_next.shape)} do not chain "
                                 f"(layer {i // 2 + 1} has {W.shape[0]} units)")
    if params[-1].shape[0] != params[-2].shape[0]:
        raise FusedStepError(f"the last bias has {params[-1].shape[0]} entries for {params[-2].shape[0]} units")
    spans = sorted((p.data_ptr(), p.data_ptr() + p.numel() * p.element_size(), i) for i, p in enumerate(params)
                   if p.numel())
    for (_, end, i), (start, _, j) in zip(spans, spans[1:]):
        if start < end:
            raise FusedStepError(f"parameters {min(i, j)} and {max(i, j)} share memory; the fused step would update "
                                 "it twice")
    # last, after the checks of what each tensor is
    frozen = [i for i, p in enumerate(params) if isinstance(p, torch.Tensor) and not p.requires_grad]
    if frozen and (len(frozen) < len(params) or any(isinstance(p, torch.nn.Parameter) for p in params)):
        i = frozen[0]  # torch.optim leaves a parameter with requires_grad=False alone; the kernel updates all
        raise FusedStepError(f"parameter {i} ({'W' if i % 2 == 0 else 'b'}{i // 2 + 1}) is frozen (requires_grad="
                             "False), but the fused step updates every parameter: unfreeze it, or train with "
                             "symnet's ops and a torch.optim optimizer")
