"""The lecture's Elman network, trained with backpropagation through time.

    h^t = σ(W^i x^t + W^h h^(t−1)),   y^t = softmax(W^o h^t)   (biases ignored, h^0 = 0)

on a delayed-recall task that symnet generates: a sequence of random symbols from an
alphabet of C, one-hot; at every step t ≥ k the network must name the symbol it saw k
steps earlier (k = 2). Nothing but the recurrence can carry it, so the task fails
without a working BPTT. The cost is the mean cross-entropy over the scored steps,
C = Σ_t C^t / (number of scored steps), with the **same** weights at every step.

The numpy backend runs the ``rnn_step``/``rnn_step_backward`` kernels (one step of the
``rnn-bptt`` derivation), ``linear``/``linear_backward`` and ``softmax_cross_entropy_grad``;
∂C/∂W^h is the sum over time of each step's contribution, each flowing back through
∂h^(t+1)/∂h^t — the BPTT recurrence of the derivation.
"""
from __future__ import annotations

import numpy as np

from ..kernels import load_kernel
from .engines import FusedEngine, NumpyEngine, TorchEngine, TritonEngine, on_device, require_torch
from .mlp import init_layer
from .tasks import Task, legend_both

__all__ = ["DelayedRecall", "bptt_grads"]


def _zeros(like, *shape):
    return np.zeros(shape, like.dtype) if isinstance(like, np.ndarray) else like.new_zeros(shape)


def _stack_rows(blocks):
    if isinstance(blocks[0], np.ndarray):
        return np.concatenate(blocks, axis=0)
    import torch
    return torch.cat(blocks, dim=0)


def bptt_grads(p: dict, x, r, delay: int, backend: str = "numpy"):
    """Loss and ∂C/∂(W^i, W^h, W^o) for a batch x (B, T, C) with classes r (B, T), from
    generated kernels only: NumPy's on arrays, or (``backend="triton"``) Triton's on tensors."""
    step, dense = load_kernel("rnn_step", backend), load_kernel("dense", backend)
    ce = load_kernel("softmax_cross_entropy", backend)
    B, T, _ = x.shape
    H, C = p["Wh"].shape[0], p["Wo"].shape[0]
    no_bias = _zeros(x, C)
    hs = [_zeros(x, B, H)]                                        # h^0 = 0
    for t in range(T):
        hs.append(step.rnn_step(x[:, t], hs[-1], p["Wi"], p["Wh"]))  # h^t = σ(W^i x^t + W^h h^(t−1))
    scored = _stack_rows(hs[1 + delay:])                          # h^t for t ≥ k, stacked (B·(T−k), H)
    z = dense.linear(scored, p["Wo"], no_bias)                    # z^t = W^o h^t
    targets = r[:, delay:].T.reshape(-1)                          # the same (time-major) order
    loss, dz = ce.softmax_cross_entropy_grad(z, targets)          # mean over scored steps; y − onehot
    dWo, _, dh_out = dense.linear_backward(scored, p["Wo"], dz)   # ∂C/∂W^o = Σ_t (y^t − onehot) h^tᵀ
    dh_out = dh_out.reshape(T - delay, B, H)
    dWi, dWh = _zeros(x, *p["Wi"].shape), _zeros(x, *p["Wh"].shape)
    carry = _zeros(x, B, H)                                       # ∂C/∂h^t from step t + 1
    for t in range(T, 0, -1):                                     # t = T … 1
        g = carry + dh_out[t - 1 - delay] if t > delay else carry  # ∂C/∂h^t: from y^t and from h^(t+1)
        dWi_t, dWh_t, carry = step.rnn_step_backward(x[:, t - 1], hs[t - 1], p["Wi"], p["Wh"], hs[t], g)
        dWi += dWi_t
        dWh += dWh_t
    return loss, {"Wi": dWi, "Wh": dWh, "Wo": dWo}


def torch_rnn_objective(x: np.ndarray, r: np.ndarray, delay: int):
    torch = require_torch("--backend torch")
    X, R = torch.from_numpy(x), torch.from_numpy(r)

    def objective(p, idx):
        xb, rb = X[idx], R[idx]
        h = torch.zeros(len(idx), p["Wh"].shape[0], dtype=xb.dtype)
        logits = []
        for t in range(xb.shape[1]):
            h = torch.sigmoid(xb[:, t] @ p["Wi"].T + h @ p["Wh"].T)
            if t >= delay:
                logits.append(h @ p["Wo"].T)
        loss = torch.nn.functional.cross_entropy(torch.cat(logits), rb[:, delay:].T.reshape(-1))
        return loss, loss
    return objective


class DelayedRecall(Task):
    name = "rnn"
    summary = "the Elman network (sigmoid, BPTT) recalls the symbol seen 2 steps earlier"
    defaults = {"epochs": 30, "lr": 1.0, "batch": 32}
    backends = ("numpy", "torch", "triton", "triton-fused")
    shuffle = True
    symbols, delay, length, hidden = 4, 2, 12, 32
    train_size, test_size = 2048, 512

    def prepare(self, settings) -> None:
        rng = np.random.default_rng([settings.seed, 2])  # the data: fixed by the seed, apart from the weights
        def sequences(n):
            s = rng.integers(0, self.symbols, (n, self.length))
            r = np.zeros_like(s)
            r[:, self.delay:] = s[:, :-self.delay]  # the target at t is the symbol at t − k
            return np.eye(self.symbols, dtype=np.float32)[s], r
        self.x, self.r = sequences(self.train_size)
        self.x_test, self.r_test = sequences(self.test_size)
        self.examples = self.train_size

    def init_params(self, rng) -> dict:
        Wi, _ = init_layer(rng, self.hidden, self.symbols)
        Wh, _ = init_layer(rng, self.hidden, self.hidden)
        Wo, _ = init_layer(rng, self.symbols, self.hidden)
        return {"Wi": Wi, "Wh": Wh, "Wo": Wo}

    def engine(self, backend: str, params: dict):
        if backend == "numpy":
            return NumpyEngine(params, lambda p, idx: bptt_grads(p, self.x[idx], self.r[idx], self.delay))
        if backend in ("triton", "triton-fused"):
            X, R = on_device(self.x, self.r)
        if backend == "triton":
            return TritonEngine(params, lambda p, idx: bptt_grads(p, X[idx], R[idx], self.delay, "triton"))
        if backend == "triton-fused":  # forward over T, BPTT and the update: one launch an epoch
            step = load_kernel("elman_train", "triton").elman_sigmoid_ce
            return FusedEngine(params, lambda p, order, lrs, batch: step(
                X, R, p["Wi"], p["Wh"], p["Wo"], order, lrs, batch, self.delay, check=False))
        return TorchEngine(params, torch_rnn_objective(self.x, self.r, self.delay))

    def predict(self, params, x):
        step, dense = load_kernel("rnn_step"), load_kernel("dense")
        h = np.zeros((len(x), self.hidden), np.float32)
        out = []
        for t in range(x.shape[1]):
            h = step.rnn_step(x[:, t], h, params["Wi"], params["Wh"])
            out.append(dense.linear(h, params["Wo"], np.zeros(self.symbols, np.float32)).argmax(axis=1))
        return np.stack(out, axis=1)

    def evaluate(self, params: dict) -> dict:
        right = self.predict(params, self.x_test)[:, self.delay:] == self.r_test[:, self.delay:]
        return {"test_accuracy": float(right.mean())}

    def progress_text(self, record: dict) -> str:
        return f"loss {record['loss']:.4f}  recall accuracy {100 * record['test_accuracy']:.2f}%"

    def report(self, result) -> list[str]:
        s, m = result.settings, result.metrics
        chance = 100 / self.symbols
        example = self.x_test[0].argmax(axis=1)
        guess = self.predict(result.params, self.x_test[:1])[0]
        return [f"Elman network {self.symbols}-{self.hidden}-{self.symbols} (sigmoid hidden units, softmax output), "
                f"BPTT over {self.length} steps; {s.epochs} epochs, batch {s.batch}, lr {s.lr}, seed {s.seed}",
                f"task: name the symbol seen {self.delay} steps earlier ({self.symbols} symbols, chance {chance:.0f}%)",
                f"test accuracy {100 * m['test_accuracy']:.2f}% on {self.test_size} new sequences; "
                f"final epoch loss {m['loss']:.4f}",
                "", "  input:  " + " ".join("ABCDEFGH"[v] for v in example),
                "  output: " + " ".join("·" * self.delay) + " " + " ".join("ABCDEFGH"[v] for v in guess[self.delay:])]

    def plot(self, result, figure) -> None:
        ax = figure.subplots()
        epochs = [r["epoch"] for r in result.history]
        ax.plot(epochs, [r["loss"] for r in result.history], label="train loss")
        ax.set(xlabel="epoch", ylabel="cross-entropy", title=f"Elman RNN, recall at delay {self.delay}")
        twin = ax.twinx()
        twin.plot(epochs, [100 * r["test_accuracy"] for r in result.history], color="C1", label="test accuracy")
        twin.set_ylabel("test accuracy (%)")
        legend_both(ax, twin)
