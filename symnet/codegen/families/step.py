"""A whole SGD training step of a small network, as one description made of derivations.

symnet holds every formula of a network's step symbolically, so it can put them all in
one kernel: the forward pass, the loss, backpropagation and the update. A step is
assembled from derivations the rest of symnet already makes and checks:

- each **dense layer** ``y_i = f(Σ_k W_ik a_k + b_i)`` from the curriculum's ``dense``
  derivation with its activation f (any activation of the function registry, or none), through the index-form
  engine: ``δ_j = g_j·f'(z_j)``, ``∂C/∂W = δ aᵀ``, ``∂C/∂b = δ``, ``∂C/∂a = Wᵀδ``
  (:func:`~symnet.codegen.families.dense.dense_layer_kernels`);
- the **loss**: an elementwise loss of the function registry (:mod:`symnet.losses`: ``mse``
  ``L = (a − y)²``, ``l1``, ``smooth_l1``, ``huber``, ``bce_logits``, …) of the last layer's
  output ``a`` and the target ``y``, with ``∂L/∂a`` from the scalar engine; or softmax cross-entropy ``C = −log p_r`` with ``∂C/∂z = p − onehot(r)``
  from the ``softmax-cross-entropy`` derivation after the row stability rules
  (log-softmax, log-sum-exp, max-shift);
- the lecture's **Elman cell** ``h = σ(W^i x + W^h h⁻)`` and its backward step from the
  ``rnn-bptt`` derivation, with a linear read-out ``z = W^o h`` (no biases, as in the
  lecture).

The step is SGD on the mean loss over the mini-batch: ``w ← w − α·∂J/∂w``. The Triton
emitter (:mod:`symnet.codegen.backends.triton.step`) prints these formulas into one kernel.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import sympy as sp

from ...engine import derive
from ...errors import SymnetError
from ...registry import REGISTRY
from ...render import text
from ..ir import Kernel, describe
from .dense import ACTIVATIONS, LayerKernel, dense_layer_kernels
from .rowwise import RowKernel

__all__ = ["DenseStep", "LossStep", "MlpStep", "ElmanStep", "mlp_step", "elman_step", "FUSED_MLPS", "loss_names"]


def loss_names() -> tuple[str, ...]:
    """The losses a fused step takes: "ce" (softmax cross-entropy over the last layer's outputs)
    and every elementwise loss of the registry that is a function of (prediction, target) alone,
    read from the registry on each call (a loss registered later is offered too)."""
    return ("ce",) + tuple(n for n, f in REGISTRY.items() if f.family == "loss" and f.arity[0] == 2)


@dataclass(frozen=True)
class DenseStep:
    activation: str  # an activation of the registry (sigmoid, tanh, silu, …) or "linear"
    forward: LayerKernel  # y_i = f(Σ_k W_ik a_k + b_i)
    backward: LayerKernel  # δ, ∂C/∂W, ∂C/∂b, ∂C/∂a
    linear: LayerKernel  # z_i = Σ_k W_ik a_k + b_i: the contraction the forward applies f to


@dataclass(frozen=True)
class LossStep:
    kind: str  # "ce": softmax cross-entropy on the last layer's output; else the registry loss of that name
    kernel: Kernel | RowKernel


@dataclass(frozen=True)
class MlpStep:
    name: str
    formula: str
    layers: tuple[DenseStep, ...]
    loss: LossStep


@dataclass(frozen=True)
class ElmanStep:
    name: str
    formula: str
    cell: LayerKernel  # h_i = σ(Σ_k W^h_ik h⁻_k + Σ_d W^i_id x_d)
    cell_backward: LayerKernel
    readout: DenseStep  # z_c = Σ_k W^o_ck h_k
    loss: LossStep


def dense_step(activation: str, bias: bool = True) -> DenseStep:
    forward, backward = dense_layer_kernels(activation, bias)
    linear = forward if activation == "linear" else dense_layer_kernels("linear", bias)[0]
    return DenseStep(activation, forward, backward, linear)


def _closest(name, known) -> str:
    """"did you mean …? " for a misspelt name ('gleu') or torch's ('mse_loss', 'cross_entropy': ce), or ""."""
    if not isinstance(name, str):
        return ""
    torch_name = {"cross_entropy": "ce", "softmax_cross_entropy": "ce", "binary_cross_entropy": "bce",
                  "binary_cross_entropy_with_logits": "bce_logits"}.get(name) or name.removesuffix("_loss")
    if torch_name != name and torch_name in known:  # torch.nn.functional's names: mse_loss is mse
        return f"did you mean {torch_name}? "
    from ...parsing import FUNCTIONS

    alias = getattr(FUNCTIONS.get(name), "name", None)  # a formula's other name: swish is silu (it suggested
    if alias and alias != name and alias in known:      # "hardswish or mish")
        return f"did you mean {alias}? "
    close = [n for n in known if n.lower() == name.lower()] or difflib.get_close_matches(name, list(known), n=2)
    return f"did you mean {' or '.join(close)}? " if close else ""


def loss_step(kind: str) -> LossStep:
    """The loss of a step: softmax cross-entropy ("ce"), or the registry's elementwise loss
    ``kind`` of the output a and the target y, L = kind(a, y), derived with ∂L/∂a.

    Raises SymnetError for an unknown name, and for a loss that needs more than the prediction
    and the target (gaussian_nll needs a variance per output, which a step has no input for)."""
    if kind == "ce":
        from .rowwise import row_modules
        (kernel,) = [k for k in row_modules()["softmax_cross_entropy"] if k.name.endswith("_grad")]
        return LossStep(kind, kernel)
    entry = REGISTRY.get(kind) if isinstance(kind, str) else None
    if entry is None or entry.family != "loss":
        raise SymnetError(f"unknown loss {kind!r}; {_closest(kind, loss_names())}choose one of: "
                          f"{', '.join(loss_names())}")
    if entry.arity[0] != 2:
        raise SymnetError(f"the loss {kind!r} takes {entry.arity[0]} inputs per output; a training step gives it "
                          f"only the prediction and the target (choose one of: {', '.join(loss_names())})")
    y, a = sp.symbols("y a", real=True)
    return LossStep(kind, describe(derive(entry(a, y), [a], output="L", name=kind), name=kind, roles={y: "target"}))


_SHOWN = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "linear": ""}


def mlp_step(activations, loss: str, name: str | None = None) -> MlpStep:
    """The training step of a multilayer perceptron: one activation per dense layer
    (``("sigmoid", "linear")``: a sigmoid hidden layer and linear logits) and its loss."""
    if isinstance(activations, str):
        raise SymnetError(f"activations: one name per layer, such as ('{activations}', 'linear'), not the string "
                          f"{activations!r}")
    activations = tuple(activations)
    if not activations:
        raise SymnetError("an MLP step needs at least one layer")
    for a in activations:
        if a not in ACTIVATIONS:
            raise SymnetError(f"unknown activation {a!r}; {_closest(a, ACTIVATIONS)}choose one of: "
                              f"{', '.join(ACTIVATIONS)}")
    layers = tuple(dense_step(a) for a in activations)
    loss_part = loss_step(loss)
    chain = "a⁰ = x"
    for n, a in enumerate(activations, 1):
        f = _SHOWN.get(a, a)
        chain += f", a{_sup(n)} = " + (f"{f}(W{_sup(n)}a{_sup(n - 1)} + b{_sup(n)})" if f else
                                        f"W{_sup(n)}a{_sup(n - 1)} + b{_sup(n)}")
    last = f"a{_sup(len(activations))}"
    cost = (f"J = mean over the batch of −log softmax({last})_r" if loss == "ce"
            else f"J = mean over the batch of Σ {loss}({last}, t), {loss}(a, y) = {text(loss_part.kernel.outputs[0].expr)}")
    name = name or "mlp_" + "_".join(activations) + "_" + loss
    return MlpStep(name, f"{chain}; {cost}; w ← w − α·∂J/∂w", layers, loss_part)


def _sup(n: int) -> str:
    return "".join("⁰¹²³⁴⁵⁶⁷⁸⁹"[int(c)] for c in str(n))


def elman_step() -> ElmanStep:
    """The lecture's Elman network (sigmoid hidden units, softmax read-out), one BPTT step."""
    from .dense import _rnn_step

    cell, cell_backward = _rnn_step()
    return ElmanStep("elman_sigmoid_ce",
                     "h^t = σ(W^i x^t + W^h h^(t−1)), h^0 = 0; z^t = W^o h^t; "
                     "J = mean over the scored steps t > k of −log softmax(z^t)_(r^t); "
                     "∂J/∂W by backpropagation through time; w ← w − α·∂J/∂w",
                     cell, cell_backward, dense_step("linear", bias=False), loss_step("ce"))


# The networks whose fused step is committed under kernels/triton/mlp_train.py: the
# lecture's XOR net, the digits net, and the same net with tanh and ReLU hidden units.
FUSED_MLPS = (
    (("sigmoid", "sigmoid"), "mse"),
    (("sigmoid", "linear"), "ce"),
    (("tanh", "linear"), "ce"),
    (("relu", "linear"), "ce"),
)
