"""``torch.nn`` modules on symnet's generated kernels, with torch.nn's names, arguments,
defaults, parameters (same initialisation, same ``state_dict`` keys) and shapes."""
from __future__ import annotations

import math

import torch

from . import functional as F

__all__ = ["Linear", "CrossEntropyLoss", "FusedLinearCrossEntropyLoss", "ElmanRNN", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
           "BCEWithLogitsLoss", "Sigmoid", "Tanh", "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU",
           "SiLU", "Mish", "Softplus", "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "LogSigmoid",
           "Tanhshrink", "Softshrink", "Hardshrink", "Softmax", "LogSoftmax"]


class Linear(torch.nn.Linear):
    """torch.nn.Linear (same parameters and initialisation) with an optional fused activation:
    ``Linear(in_features, out_features, bias=True, activation=None)``; ``activation`` a registry
    activation name ("sigmoid" is one fused kernel)."""

    def __init__(self, in_features, out_features, bias=True, activation=None, device=None, dtype=None):
        F._dense_activation(activation)  # an unknown name is refused here, as torch refuses bad arguments
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.activation = activation

    def forward(self, input):
        return F.dense(input, self.weight, self.bias, activation=self.activation)

    def extra_repr(self):
        return super().extra_repr() + f", activation={self.activation!r}"


class _Loss(torch.nn.Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        self.reduction = reduction


class CrossEntropyLoss(_Loss):
    """torch.nn.CrossEntropyLoss, plus Liger's ``softcap`` and ``z_loss_scale`` (see
    :func:`functional.cross_entropy`)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, softcap=None,
                 z_loss_scale=0.0):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.softcap, self.z_loss_scale = softcap, z_loss_scale

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing,
                               self.softcap, self.z_loss_scale)


class FusedLinearCrossEntropyLoss(_Loss):
    """Liger-Kernel's ``LigerFusedLinearCrossEntropyLoss``: the last linear layer and
    cross-entropy in one, chunked over rows so the (N, V) logits are never held (see
    :func:`functional.fused_linear_cross_entropy`). ``forward(lin_weight, _input, target,
    bias=None)`` in Liger's argument order."""

    def __init__(self, ce_weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, softcap=None,
                 z_loss_scale=0.0, chunk_size=None):
        super().__init__(reduction)
        self.register_buffer("ce_weight", ce_weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing
        self.softcap, self.z_loss_scale, self.chunk_size = softcap, z_loss_scale, chunk_size

    def forward(self, lin_weight, _input, target, bias=None):
        return F.fused_linear_cross_entropy(_input, lin_weight, target, bias, ce_weight=self.ce_weight,
                                            ignore_index=self.ignore_index, reduction=self.reduction,
                                            label_smoothing=self.label_smoothing, softcap=self.softcap,
                                            z_loss_scale=self.z_loss_scale, chunk_size=self.chunk_size)


class MSELoss(_Loss):
    def forward(self, input, target): return F.mse_loss(input, target, self.reduction)  # noqa: E704


class L1Loss(_Loss):
    def forward(self, input, target): return F.l1_loss(input, target, self.reduction)  # noqa: E704


class BCELoss(_Loss):
    def forward(self, input, target): return F.binary_cross_entropy(input, target, self.reduction)  # noqa: E704


class SmoothL1Loss(_Loss):
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target): return F.smooth_l1_loss(input, target, self.reduction, self.beta)  # noqa: E704


class HuberLoss(_Loss):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target): return F.huber_loss(input, target, self.reduction, self.delta)  # noqa: E704


class BCEWithLogitsLoss(_Loss):
    def __init__(self, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.pos_weight = pos_weight

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.reduction, self.pos_weight)


def _activation(cls_name, fn, **defaults):
    """A module class ``cls_name(**defaults)`` calling ``fn(input, **its arguments)``."""
    names = tuple(defaults)

    def __init__(self, *args, **kwargs):
        torch.nn.Module.__init__(self)
        values = dict(defaults)
        values.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{cls_name}() got an unexpected keyword argument {k!r}")
            values[k] = v
        for k, v in values.items():
            setattr(self, k, v)

    def forward(self, input):  # inplace=True as torch's: the input holds the result (functional._applied)
        return fn(input, **{k: getattr(self, k) for k in names})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in names)

    return type(cls_name, (torch.nn.Module,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
                                               "__doc__": f"torch.nn.{cls_name} on symnet's generated kernel.",
                                               "__module__": __name__})


Sigmoid = _activation("Sigmoid", F.sigmoid)
Tanh = _activation("Tanh", F.tanh)
ReLU = _activation("ReLU", F.relu, inplace=False)
ReLU6 = _activation("ReLU6", F.relu6, inplace=False)
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, negative_slope=0.01, inplace=False)
ELU = _activation("ELU", F.elu, alpha=1.0, inplace=False)
SELU = _activation("SELU", F.selu, inplace=False)
CELU = _activation("CELU", F.celu, alpha=1.0, inplace=False)
GELU = _activation("GELU", F.gelu, approximate="none")
SiLU = _activation("SiLU", F.silu, inplace=False)
Mish = _activation("Mish", F.mish, inplace=False)
Softplus = _activation("Softplus", F.softplus, beta=1.0, threshold=20.0)
Softsign = _activation("Softsign", F.softsign)
Hardtanh = _activation("Hardtanh", F.hardtanh, min_val=-1.0, max_val=1.0, inplace=False)
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, inplace=False)
Hardswish = _activation("Hardswish", F.hardswish, inplace=False)
LogSigmoid = _activation("LogSigmoid", F.logsigmoid)
Tanhshrink = _activation("Tanhshrink", F.tanhshrink)
Softshrink = _activation("Softshrink", F.softshrink, lambd=0.5)
Hardshrink = _activation("Hardshrink", F.hardshrink, lambd=0.5)
Softmax = _activation("Softmax", F.softmax, dim=None)
LogSoftmax = _activation("LogSoftmax", F.log_softmax, dim=None)


class ElmanRNN(torch.nn.Module):
    """A one-layer Elman network h_t = σ(x_t W_ihᵀ + h_{t−1} W_hhᵀ) (no biases; σ the logistic
    sigmoid), with torch.nn.RNN's conventions: ``ElmanRNN(input_size, hidden_size,
    batch_first=False)``; ``forward(input, hx=None)`` takes ``(T, B, D)`` (``(B, T, D)`` with
    batch_first, or unbatched ``(T, D)``) and returns ``(output, h_n)``, output ``(T, B, H)``,
    h_n ``(1, B, H)``. Parameters ``weight_ih_l0`` ``(H, D)``, ``weight_hh_l0`` ``(H, H)``,
    initialised U(−1/√H, 1/√H) as torch's.

    torch.nn.RNN's other keywords are taken only at the values this network has (``num_layers=1``,
    ``bias=False``, ``dropout=0``, ``bidirectional=False``, ``nonlinearity="sigmoid"``); any other
    value, or another keyword, is a TypeError naming what ElmanRNN is.

    Raises (forward): ValueError for an input or ``hx`` of the wrong shape or an empty sequence;
    TypeError for an input or ``hx`` whose dtype is not the weights' (outside ``torch.autocast``)."""

    _AS_TORCH = {"num_layers": 1, "bias": False, "dropout": 0, "bidirectional": False, "nonlinearity": "sigmoid"}

    def __init__(self, input_size, hidden_size, batch_first=False, device=None, dtype=None, **torch_options):
        # torch.nn.RNN's keywords answered in one line (bias=True raised Python's bare "unexpected keyword
        # argument 'bias'": session 18's new user)
        for k, v in torch_options.items():
            if k not in self._AS_TORCH or v != self._AS_TORCH[k]:
                raise TypeError(f"ElmanRNN() got {k}={v!r}: it is one layer of h_t = σ(x_t W_ihᵀ + h_(t−1) W_hhᵀ), "
                                "without biases, dropout or a second direction; its arguments: input_size, "
                                "hidden_size, batch_first, device, dtype")
        for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):  # as torch.nn.RNN checks them:
            # hidden_size=0 raised "ZeroDivisionError: float division by zero" in reset_parameters (session 35)
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError(f"ElmanRNN: {name} should be of type int, got: {type(size).__name__}")
            if size <= 0:
                raise ValueError(f"ElmanRNN: {name} must be greater than zero, not {size}")
        super().__init__()
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        kw = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = torch.nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh_l0 = torch.nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            torch.nn.init.uniform_(w, -bound, bound)

    def extra_repr(self) -> str:  # printed ElmanRNN() before; torch's RNN prints RNN(3, 4, batch_first=True)
        return f"{self.input_size}, {self.hidden_size}" + (", batch_first=True" if self.batch_first else "")

    def _same_dtype(self, name, tensor):
        """The rnn step named its own argument ('Wi' is torch.float64 but the inputs are torch.float32)."""
        weight = self.weight_ih_l0
        device = tensor.device.type
        if tensor.dtype != weight.dtype and not (device in ("cpu", "cuda") and torch.is_autocast_enabled(device)):
            raise TypeError(f"ElmanRNN: {name} is {tensor.dtype} but the weights are {weight.dtype}; convert one "
                            f"({name}.to({weight.dtype}) or the module's .to({tensor.dtype}))")

    def forward(self, input, hx=None):
        if input.dim() not in (2, 3):
            raise ValueError(f"ElmanRNN: input must be (L, H_in), (L, N, H_in) or, batch_first, (N, L, H_in), "
                             f"not of shape {tuple(input.shape)}")
        unbatched = input.dim() == 2
        # torch.nn.RNN's checks, named as torch names them: a wrong H_in or hx was reported as the
        # step's weight "'Wi' has shape (32, 16), expected (·, 15)" (session 17, a new user)
        if input.shape[-1] != self.input_size:
            raise ValueError(f"ElmanRNN: input.size(-1) must be equal to input_size: expected {self.input_size}, "
                             f"got {input.shape[-1]} (input of shape {tuple(input.shape)})")
        self._same_dtype("input", input)
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        if hx is not None:
            expected = (1, self.hidden_size) if unbatched else (1, x.shape[1], self.hidden_size)
            if not isinstance(hx, torch.Tensor) or tuple(hx.shape) != expected:
                got = tuple(hx.shape) if isinstance(hx, torch.Tensor) else type(hx).__name__
                raise ValueError(f"ElmanRNN: expected hidden size {expected} (num_layers, "
                                 f"{'' if unbatched else 'batch, '}hidden_size), got {got}")
            self._same_dtype("hx", hx)
        h = (x.new_zeros(x.shape[1], self.hidden_size) if hx is None
             else (hx.unsqueeze(1) if unbatched else hx)[0])
        if x.shape[0] == 0:  # torch.nn.RNN refuses it too
            raise ValueError("ElmanRNN: expected a sequence length larger than 0")
        out = []
        for t in range(x.shape[0]):
            h = F.rnn_step(x[t], h, self.weight_ih_l0, self.weight_hh_l0)
            out.append(h)
        output = torch.stack(out)
        if unbatched:
            return output.squeeze(1), h.unsqueeze(0).squeeze(1)
        return (output.transpose(0, 1) if self.batch_first else output), h.unsqueeze(0)


_BY_LOSS = {"KLDivLoss": "kl_div", "PoissonNLLLoss": "poisson_nll_loss", "GaussianNLLLoss": "gaussian_nll_loss"}


def __getattr__(name: str):
    # torch.nn's modules of registry losses without a drop-in here: say what to call (session 17)
    if name in _BY_LOSS:
        raise AttributeError(f"symnet.torch.nn has no {name}: use symnet.torch.functional."
                             f"{F._BY_LOSS[_BY_LOSS[name]]}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
