"""How one SGD step runs on each backend.

``numpy``: the task's gradient function calls only kernels that symnet generated from
the derivations (``kernels/numpy``); the update ``w ← w − α·∂J/∂w`` is one in-place NumPy
operation per weight. ``triton``: the same with the generated Triton kernels
(``kernels/triton``) on torch tensors on the GPU (or under ``TRITON_INTERPRET=1``).
``triton-fused``: one generated kernel runs whole steps — forward, loss, backprop and
update, with the weights in registers — and a whole epoch of them in one launch
(``kernels/triton/mlp_train.py``, ``elman_train.py``).
``torch``: the same model written in PyTorch, its gradient from ``torch.autograd`` — kept
as the reference the generated gradients are compared with.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..errors import SymnetError

__all__ = ["BACKENDS", "NonFiniteWeights", "NumpyEngine", "TorchEngine", "TritonEngine", "FusedEngine", "require_torch",
           "check_backend", "triton_device", "on_device"]

BACKENDS = ("numpy", "torch", "triton", "triton-fused")


def require_torch(why: str):
    try:
        import torch
    except ImportError:
        raise SymnetError(f"{why} needs PyTorch, which is not installed (pip install torch); "
                          f"the numpy backend needs nothing more") from None
    return torch


def check_backend(backend: str, task) -> None:
    if backend not in BACKENDS:
        raise SymnetError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    # the task's own backends first: `train miles --backend triton-fused` without a GPU was told to set
    # TRITON_INTERPRET=1, and then that miles has no such backend (session 17, a new user)
    if backend not in task.backends:
        raise SymnetError(f"the {task.name} task runs on {', '.join(task.backends)}, not on {backend!r}")
    if backend in ("triton", "triton-fused"):
        torch = require_torch(f"--backend {backend}")
        interpreted = os.environ.get("TRITON_INTERPRET") == "1"
        if not torch.cuda.is_available() and not interpreted:
            raise SymnetError(f"--backend {backend} needs an NVIDIA GPU and none is visible; use --backend numpy "
                              "(or set TRITON_INTERPRET=1 to run the Triton kernels on the CPU, slowly)")


class NonFiniteWeights(Exception):
    """A step whose update would make the weight ``name`` NaN or infinite (its loss,
    ``loss``, was finite); the step was not applied."""

    def __init__(self, name: str, loss: float):
        super().__init__(name, loss)
        self.name, self.loss = name, loss


class NumpyEngine:
    """SGD with a gradient function ``grads(params, idx) -> (loss, {name: ∂J/∂name})``.
    A step is applied only when its loss and the updated weights are finite; an update
    that is not raises :class:`NonFiniteWeights`."""

    def __init__(self, params: dict, grads):
        self.p = {k: np.array(v, copy=True) for k, v in params.items()}
        self.grads = grads

    def step(self, idx: np.ndarray, lr: float) -> float:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported by its loss
            loss, grads = self.grads(self.p, idx)
            loss = float(loss)
            if not math.isfinite(loss):  # a diverged step is never applied
                return loss
            updated = {name: self.p[name] - lr * g for name, g in grads.items()}
        bad = next((name for name, w in updated.items() if not np.isfinite(w).all()), None)
        if bad is not None:
            raise NonFiniteWeights(bad, loss)
        for name, w in updated.items():
            np.copyto(self.p[name], w)
        return loss

    def params(self) -> dict:
        return {k: v.copy() for k, v in self.p.items()}


class TorchEngine:
    """SGD with ``objective(params, idx) -> (loss, J)``: J's autograd gradient is the step
    (J is the loss itself, or a rescaled loss where the task's update is normalised)."""

    def __init__(self, params: dict, objective, data=None):
        self.torch = torch = require_torch("--backend torch")
        self.p = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in params.items()}
        self.objective = objective

    def step(self, idx: np.ndarray, lr: float) -> float:
        torch = self.torch
        loss, J = self.objective(self.p, torch.from_numpy(np.ascontiguousarray(idx)))
        value = float(loss.detach())
        if math.isfinite(value):  # as NumpyEngine: neither a non-finite loss nor weights are applied
            grads = torch.autograd.grad(J, list(self.p.values()))
            with torch.no_grad():
                updated = {name: p - lr * g for (name, p), g in zip(self.p.items(), grads)}
                bad = next((name for name, w in updated.items() if not bool(torch.isfinite(w).all())), None)
                if bad is not None:
                    raise NonFiniteWeights(bad, value)
                for name, w in updated.items():
                    self.p[name].copy_(w)
        return value

    def params(self) -> dict:
        return {k: v.detach().numpy().copy() for k, v in self.p.items()}


def triton_device() -> str:
    torch = require_torch("--backend triton")
    return "cuda" if torch.cuda.is_available() else "cpu"  # cpu: under TRITON_INTERPRET=1


def on_device(*arrays):
    """The task's data as torch tensors on the Triton backends' device, copied there once."""
    torch, device = require_torch("--backend triton"), triton_device()
    return [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in arrays]


class TritonEngine:
    """SGD with a gradient function over torch tensors that calls the generated Triton kernels.
    As :class:`NumpyEngine`, a step whose loss or updated weights are not finite is not applied."""

    def __init__(self, params: dict, grads):
        self.torch = torch = require_torch("--backend triton")
        self.device = triton_device()
        self.p = {k: torch.tensor(np.asarray(v), device=self.device) for k, v in params.items()}
        self.grads = grads

    def step(self, idx: np.ndarray, lr: float) -> float:
        loss, grads = self.grads(self.p, self.torch.from_numpy(np.ascontiguousarray(idx)).to(self.device))
        value = float(loss)
        if math.isfinite(value):  # as NumpyEngine: neither a non-finite loss nor weights are applied
            updated = {name: self.p[name] - lr * g for name, g in grads.items()}
            finite = self.torch.stack([self.torch.isfinite(w).all() for w in updated.values()]).tolist()
            if not all(finite):
                raise NonFiniteWeights(list(updated)[finite.index(False)], value)
            for name, w in updated.items():
                self.p[name].copy_(w)
        return value

    def params(self) -> dict:
        return {k: v.cpu().numpy().copy() for k, v in self.p.items()}


class FusedEngine:
    """SGD by a generated whole-step kernel: ``launch(params, order, lrs, batch) -> losses``
    runs ``ceil(len(order)/batch)`` steps in one launch, updating the parameter tensors in
    place, and stops applying steps at the first NaN or infinite loss."""

    def __init__(self, params: dict, launch):
        self.torch = torch = require_torch("--backend triton-fused")
        self.device = triton_device()
        self.p = {k: torch.tensor(np.asarray(v), device=self.device).contiguous() for k, v in params.items()}
        self.launch = launch

    def run_epoch(self, order: np.ndarray, lrs, batch: int) -> list[float]:
        """Every step of an epoch in one launch; the loss of each step before its update.
        Raises :class:`SymnetError` for a learning rate beyond float32, the kernels' precision."""
        largest = max(lrs, default=0.0)
        if largest > float(np.finfo(np.float32).max):
            raise SymnetError(f"the learning rate {largest:g} does not fit in float32, the precision of the fused "
                              f"kernels (at most {np.finfo(np.float32).max:.3g})")
        lrs = self.torch.tensor(np.asarray(lrs, dtype=np.float32), device=self.device)
        order = self.torch.from_numpy(np.ascontiguousarray(order, dtype=np.int64)).to(self.device)
        return self.launch(self.p, order, lrs, batch).tolist()

    def params(self) -> dict:
        return {k: v.cpu().numpy().copy() for k, v in self.p.items()}
