"""The curriculum blocks that become committed kernels, and writing them out.

Each block is a derivation (made by the engine, here) plus the roles of its inputs; the
generated module for it is emitted from that derivation alone. ``symnet codegen``
writes them under ``kernels/``; a test fails when a committed file is stale.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import sympy as sp

from ..engine import derive
from ..errors import SymnetError
from ..files import write_atomically
from ..functions import sigmoid
from .ir import Kernel, describe
from .backends.numpy.elementwise import emit_module
from .families.dense import layer_modules
from .families.rowwise import row_modules

__all__ = ["BLOCKS", "numpy_sources", "triton_sources", "write_sources", "stale_sources"]

R = dict(real=True)
z, y, a = sp.symbols("z y a", **R)


@dataclass(frozen=True)
class Block:
    module: str
    summary: str
    kernel: Callable[[], Kernel]


def _kernel(name, formula, wrt, output, roles):
    return lambda: describe(derive(formula, wrt, output=output, name=name), name=name, roles=roles)


BLOCKS = (
    Block("sigmoid", "a = σ(z) and da/dz = σ(z)(1 − σ(z))",
          _kernel("sigmoid", sigmoid(z), [z], "a", {})),
    Block("mse", "L = (y − a)² and dL/da = −2(y − a)",
          _kernel("mse", (y - a) ** 2, [a], "L", {y: "target"})),
    Block("sigmoid_mse", "sigmoid + squared error fused: L = (y − σ(z))², dL/dz",
          _kernel("sigmoid_mse", (y - sigmoid(z)) ** 2, [z], "L", {y: "target"})),
    Block("log_sigmoid", "l = log σ(z) = −softplus(−z) and dl/dz = 1 − σ(z)",
          _kernel("log_sigmoid", sp.log(sigmoid(z)), [z], "l", {})),
    Block("softplus", "s = log(1 + e^z) and ds/dz = σ(z)",
          _kernel("softplus", sp.log(1 + sp.exp(z)), [z], "s", {})),
    Block("bce_logits", "binary cross-entropy on logits: C = −y log σ(z) − (1 − y) log(1 − σ(z)), dC/dz = σ(z) − y",
          _kernel("bce_logits", -y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z)), [z], "C",
                  {y: "target"})),
)


LAYER_SUMMARIES = {
    "dense": "a dense layer ('dense'): y = σ(W a + b), δ = g∘σ'(z), ∂C/∂W = δ aᵀ, ∂C/∂b = δ, ∂C/∂a = Wᵀδ; "
             "and the linear layer z = W a + b",
    "rnn_step": "one step of the Elman network ('rnn-bptt'): h = σ(W^i x + W^h h⁻) and its backward step",
}

ROW_SUMMARIES = {
    "softmax": "softmax p_j = e^{z_j}/Σ_k e^{z_k} over each row, and its vector-Jacobian product",
    "log_softmax": "log-softmax l_j = z_j − log Σ_k e^{z_k} over each row, and its vector-Jacobian product",
    "softmax_cross_entropy": "softmax cross-entropy ('softmax-cross-entropy'): C = −log p_r, ∂C/∂z = p − onehot(r)",
}

# the row-wise functions of the row registry (symnet/rowwise_registry.py) with modules of their own
REGISTRY_ROW_SUMMARIES = {
    "logsumexp": "the row registry's logsumexp L = log Σ_k e^{z_k} over each row, and ∂L/∂z",
    "cross_entropy": "the row registry's softmax cross-entropy with class weights, label smoothing, softcap and "
                     "z-loss, with class indices or soft targets, and ∂C/∂z",
    "nll_loss": "the row registry's negative log-likelihood C = −w_r l_r on log-probabilities, and ∂C/∂l",
}


def registry_row_modules() -> dict:
    from ..rowwise_registry import row_kernels
    return {module: row_kernels(module) for module in REGISTRY_ROW_SUMMARIES}


def numpy_sources() -> dict[str, str]:
    out = {}
    for block in BLOCKS:
        out[f"{block.module}.py"] = emit_module([block.kernel()], f"the derivation of {block.summary}",
                                                "symnet codegen --backend numpy")
    for module, kernels in layer_modules().items():
        out[f"{module}.py"] = emit_module(kernels, f"the derivation of {LAYER_SUMMARIES[module]}",
                                          "symnet codegen --backend numpy")
    for module, kernels in row_modules().items():
        out[f"{module}.py"] = emit_module(kernels, f"the derivation of {ROW_SUMMARIES[module]}",
                                          "symnet codegen --backend numpy")
    for module, kernels in registry_row_modules().items():
        out[f"{module}.py"] = emit_module(kernels, f"the derivation of {REGISTRY_ROW_SUMMARIES[module]}",
                                          "symnet codegen --backend numpy")
    return out


def triton_sources() -> dict[str, str]:
    from .backends.triton.elementwise import emit_triton_module
    from .backends.triton.rowwise import emit_triton_row_module
    regenerate = "symnet codegen --backend triton"
    out = {}
    for block in BLOCKS:
        out[f"{block.module}.py"] = emit_triton_module([block.kernel()], f"the derivation of {block.summary}",
                                                       regenerate)
    from .backends.triton.dense import emit_triton_layer_module
    for module, kernels in layer_modules().items():
        out[f"{module}.py"] = emit_triton_layer_module(kernels, f"the derivation of {LAYER_SUMMARIES[module]}",
                                                       regenerate)
    for module, kernels in row_modules().items():
        out[f"{module}.py"] = emit_triton_row_module(kernels, f"the derivation of {ROW_SUMMARIES[module]}",
                                                     regenerate)
    for module, kernels in registry_row_modules().items():
        out[f"{module}.py"] = emit_triton_row_module(kernels, f"the derivation of {REGISTRY_ROW_SUMMARIES[module]}",
                                                     regenerate)
    from .families.step import FUSED_MLPS, elman_step, mlp_step
    from .backends.triton.step import emit_triton_train_module
    out["mlp_train.py"] = emit_triton_train_module(
        [mlp_step(acts, loss) for acts, loss in FUSED_MLPS],
        "the derivations of the dense layers ('dense', with σ, tanh, relu or no activation), squared error "
        "and softmax cross-entropy: whole SGD steps of small MLPs", regenerate)
    out["elman_train.py"] = emit_triton_train_module(
        [elman_step()], "the derivation of the Elman network ('rnn-bptt') and softmax cross-entropy: "
        "whole SGD steps with backpropagation through time", regenerate)
    return out


BACKENDS = {"numpy": numpy_sources, "triton": triton_sources}


def _sources(backend: str) -> dict[str, str]:
    if backend not in BACKENDS:
        raise SymnetError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    return BACKENDS[backend]()


def write_sources(folder: str | os.PathLike, backend: str = "numpy") -> list[Path]:
    folder = Path(folder) / backend
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in _sources(backend).items():
        path = folder / name
        if path.exists() and path.read_text(encoding="utf-8") == content:
            continue
        write_atomically(path, lambda f: f.write(content.encode("utf-8")), "the generated kernel")
        written.append(path)
    return written


def stale_sources(folder: str | os.PathLike, backend: str = "numpy") -> list[str]:
    folder = Path(folder) / backend
    return [name for name, content in _sources(backend).items()
            if not (folder / name).exists() or (folder / name).read_text(encoding="utf-8") != content]
