"""Sigmoid networks trained with backprop: XOR (2-2-1, squared error) and the 8×8 digits
(64-H-10, softmax cross-entropy).

The numpy backend runs only generated kernels: ``dense_sigmoid``/``dense_sigmoid_backward``
and ``linear``/``linear_backward`` (from the ``dense`` derivation), ``mse`` (from
L = (y − a)²) and ``softmax_cross_entropy_grad`` (from ``softmax-cross-entropy``).
"""
from __future__ import annotations

import contextlib

import itertools
import math
import time

import numpy as np

from ..errors import SymnetError
from ..kernels import load_kernel
from .engines import FusedEngine, NumpyEngine, TorchEngine, TritonEngine, on_device, require_torch
from .tasks import Task, legend_both

__all__ = ["Xor", "Digits", "mlp_grads", "mlp_forward"]


def _epochs(n: int) -> str:
    """The count with its noun: 1 epoch, 40 epochs (a report read "after 1 epochs")."""
    return f"{n} epoch{'' if n == 1 else 's'}"


def init_layer(rng, fan_out: int, fan_in: int, scale: float = 1.0):
    """W ~ N(0, scale²/fan_in), b = 0, in float32."""
    W = rng.normal(0.0, scale / np.sqrt(fan_in), (fan_out, fan_in)).astype(np.float32)
    return W, np.zeros(fan_out, np.float32)


def mlp_forward(p: dict, x: np.ndarray, output: str) -> np.ndarray:
    """The network's output: σ (squared-error nets) or the logits (softmax nets)."""
    dense = load_kernel("dense")
    h = dense.dense_sigmoid(x, p["W1"], p["b1"])
    if output == "mse":
        return dense.dense_sigmoid(h, p["W2"], p["b2"])
    return dense.linear(h, p["W2"], p["b2"])


def mlp_grads(p: dict, x, t, output: str, backend: str = "numpy"):
    """The mini-batch loss and ∂J/∂(W1, b1, W2, b2), from generated kernels only: the NumPy
    ones on arrays, or (``backend="triton"``) the Triton ones on torch tensors.

    ``output="mse"``: y = σ(W2 h + b2), J = mean over the batch of Σ (t − y)².
    ``output="ce"``: z = W2 h + b2, J = mean over the batch of −log softmax(z)_t.
    """
    dense = load_kernel("dense", backend)
    h = dense.dense_sigmoid(x, p["W1"], p["b1"])                  # h = σ(W1 x + b1)
    if output == "mse":
        y = dense.dense_sigmoid(h, p["W2"], p["b2"])              # y = σ(W2 h + b2)
        L, dL_dy = load_kernel("mse", backend).mse(y, t)           # L = (t − y)², ∂L/∂y = 2(y − t)
        B = len(x)
        loss = L.sum() / B
        dW2, db2, dh = dense.dense_sigmoid_backward(h, p["W2"], y, dL_dy / B)
    else:
        z = dense.linear(h, p["W2"], p["b2"])                      # z = W2 h + b2
        ce = load_kernel("softmax_cross_entropy", backend)
        loss, dz = ce.softmax_cross_entropy_grad(z, t)            # the mean; (p − onehot)/B
        dW2, db2, dh = dense.linear_backward(h, p["W2"], dz)
    dW1, db1, _ = dense.dense_sigmoid_backward(x, p["W1"], h, dh)  # δ1 = σ'(z1)∘(W2ᵀδ2)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def triton_mlp_grads(data_x, data_t, output: str):
    X, T = on_device(data_x, data_t)
    return lambda p, idx: mlp_grads(p, X[idx], T[idx], output, "triton")


def fused_mlp_engine(params: dict, data_x, data_t, kernel: str):
    """The generated whole-step kernel ``kernel`` of kernels/triton/mlp_train.py: one launch an epoch."""
    X, T = on_device(data_x, data_t)
    step = getattr(load_kernel("mlp_train", "triton"), kernel)

    def launch(p, order, lrs, batch):
        return step(X, T, p["W1"], p["b1"], p["W2"], p["b2"], order, lrs, batch, check=False)
    return FusedEngine(params, launch)


def torch_mlp_objective(data_x, data_t, output: str):
    """The same network in PyTorch; its gradient from autograd."""
    torch = require_torch("--backend torch")
    F = torch.nn.functional
    X = torch.from_numpy(data_x)
    T = torch.from_numpy(data_t)

    def objective(p, idx):
        x, t = X[idx], T[idx]
        h = torch.sigmoid(x @ p["W1"].T + p["b1"])
        if output == "mse":
            y = torch.sigmoid(h @ p["W2"].T + p["b2"])
            loss = ((t - y) ** 2).sum() / len(x)
        else:
            loss = F.cross_entropy(h @ p["W2"].T + p["b2"], t)
        return loss, loss
    return objective


class Xor(Task):
    """A 2-2-1 sigmoid network learns XOR with squared error and SGD on the truth table."""

    name = "xor"
    summary = "a 2-2-1 sigmoid network with squared error learns XOR; prints the truth table"
    defaults = {"epochs": 3000, "lr": 5.0, "batch": 4}
    backends = ("numpy", "torch", "triton", "triton-fused")
    shuffle = True

    def prepare(self, settings) -> None:
        rows = list(itertools.product((0, 1), repeat=2))
        self.x = np.array(rows, dtype=np.float32)
        self.t = np.array([[a ^ b] for a, b in rows], dtype=np.float32)
        self.examples = 4

    def init_params(self, rng) -> dict:
        # small random weights and biases: 76 of 80 seeds reach 4/4 with loss < 0.01 in
        # 3000 epochs at lr 5 (seeds 0–79, measured); the others stall in XOR's local minima
        W1, _ = init_layer(rng, 2, 2, scale=0.5)
        W2, _ = init_layer(rng, 1, 2, scale=0.5)
        b1 = rng.normal(0.0, 0.5, 2).astype(np.float32)
        b2 = rng.normal(0.0, 0.5, 1).astype(np.float32)
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    def engine(self, backend: str, params: dict):
        if backend == "numpy":
            return NumpyEngine(params, lambda p, idx: mlp_grads(p, self.x[idx], self.t[idx], "mse"))
        if backend == "triton":
            return TritonEngine(params, triton_mlp_grads(self.x, self.t, "mse"))
        if backend == "triton-fused":
            return fused_mlp_engine(params, self.x, self.t, "mlp_sigmoid_sigmoid_mse")
        return TorchEngine(params, torch_mlp_objective(self.x, self.t, "mse"))

    def evaluate(self, params: dict) -> dict:
        y = mlp_forward(params, self.x, "mse")
        return {"mse": float(((self.t - y) ** 2).mean()),
                "correct": int(((y > 0.5) == (self.t > 0.5)).sum())}

    def progress_text(self, record: dict) -> str:
        return f"loss {record['mse']:.5f}  {record['correct']}/4 correct"

    def report(self, result) -> list[str]:
        y = mlp_forward(result.params, self.x, "mse")
        lines = ["  x1 x2  target  output", *(
            f"   {int(a)}  {int(b)}     {int(t[0])}    {o[0]:.4f}  {'✓' if (o[0] > 0.5) == (t[0] > 0.5) else '✗'}"
            for (a, b), t, o in zip(self.x, self.t, y))]
        m = result.metrics
        lines.append(f"{m['correct']}/4 correct, mean squared error {m['mse']:.5f} after "
                     f"{_epochs(result.settings.epochs)} (lr {result.settings.lr}, seed {result.settings.seed})")
        return lines

    def plot(self, result, figure) -> None:
        ax1, ax2 = figure.subplots(1, 2)
        history = result.history
        ax1.semilogy([r["epoch"] for r in history], [r["mse"] for r in history])
        ax1.set(xlabel="epoch", ylabel="mean squared error (log)", title="loss")
        grid = np.linspace(-0.5, 1.5, 161, dtype=np.float32)
        gx, gy = np.meshgrid(grid, grid)
        out = mlp_forward(result.params, np.stack([gx.ravel(), gy.ravel()], 1), "mse").reshape(gx.shape)
        im = ax2.contourf(gx, gy, out, levels=np.linspace(0, 1, 11), cmap="RdBu_r")
        ax2.contour(gx, gy, out, levels=[0.5], colors="k")
        for target, marker in ((0, "s"), (1, "o")):  # white with a black edge: visible on either region
            at = self.t[:, 0] == target
            ax2.scatter(self.x[at, 0], self.x[at, 1], marker=marker, facecolors="white", edgecolors="k",
                        linewidths=2, s=140, label=f"target {target}", zorder=3)
        ax2.legend(loc="lower center", fontsize="small", framealpha=0.9)
        ax2.set(xlabel="x1", ylabel="x2", title="decision boundary (output = 0.5)", aspect="equal")
        figure.colorbar(im, ax=ax2)


class Digits(Task):
    """64-H-10 on scikit-learn's bundled 8×8 digits: sigmoid hidden units, softmax
    cross-entropy, mini-batch SGD. A fixed stratified split: 75% to train, 25% to test."""

    name = "digits"
    # (64-64-10, not 64-H-10: --list showed an H that no option sets; session 37's new user looked for --hidden)
    summary = "64-64-10 sigmoid network with softmax cross-entropy on the bundled 8×8 digits"
    defaults = {"epochs": 40, "lr": 1.0, "batch": 32}
    backends = ("numpy", "torch", "triton", "triton-fused")
    shuffle = True
    hidden = 64

    def learning_rate(self, settings, step: int, steps: int) -> float:
        """A half cosine from --lr down to 0 over the run: large steps first, then settling
        (with a constant rate the last epoch's test accuracy wanders by ±2%)."""
        return settings.lr * 0.5 * (1 + math.cos(math.pi * step / steps))

    def prepare(self, settings) -> None:
        try:
            from sklearn.datasets import load_digits
            from sklearn.model_selection import train_test_split
        except ImportError:
            raise SymnetError("the digits task reads scikit-learn's bundled 8×8 digits: "
                              "pip install scikit-learn (or, in symnet's folder, pip install '.[train]')") from None
        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)  # pixels 0..16 → [0, 1]
        y = digits.target.astype(np.int64)
        self.x, self.x_test, self.t, self.t_test = train_test_split(
            x, y, test_size=0.25, stratify=y, random_state=0)  # the same split for every seed
        self.examples = len(self.x)

    def init_params(self, rng) -> dict:
        W1, b1 = init_layer(rng, self.hidden, 64)
        W2, b2 = init_layer(rng, 10, self.hidden)
        return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    def engine(self, backend: str, params: dict):
        if backend == "numpy":
            return NumpyEngine(params, lambda p, idx: mlp_grads(p, self.x[idx], self.t[idx], "ce"))
        if backend == "triton":
            return TritonEngine(params, triton_mlp_grads(self.x, self.t, "ce"))
        if backend == "triton-fused":
            return fused_mlp_engine(params, self.x, self.t, "mlp_sigmoid_linear_ce")
        return TorchEngine(params, torch_mlp_objective(self.x, self.t, "ce"))

    def predict(self, params, x):
        return mlp_forward(params, x, "ce").argmax(axis=1)

    def evaluate(self, params: dict) -> dict:
        return {"train_accuracy": float((self.predict(params, self.x) == self.t).mean()),
                "test_accuracy": float((self.predict(params, self.x_test) == self.t_test).mean())}

    def progress_text(self, record: dict) -> str:
        return f"loss {record['loss']:.4f}  test accuracy {100 * record['test_accuracy']:.2f}%"

    def confusion(self, params) -> np.ndarray:
        matrix = np.zeros((10, 10), dtype=np.int64)
        np.add.at(matrix, (self.t_test, self.predict(params, self.x_test)), 1)
        return matrix

    def report(self, result) -> list[str]:
        m, s = result.metrics, result.settings
        lines = [f"64-{self.hidden}-10 sigmoid network, softmax cross-entropy, {_epochs(s.epochs)} of mini-batch "
                 f"SGD (batch {s.batch}, lr {s.lr} decaying to 0 along a half cosine, seed {s.seed})",
                 f"train {len(self.x)} images, test {len(self.x_test)} (a fixed stratified split)",
                 f"test accuracy {100 * m['test_accuracy']:.2f}%   train accuracy {100 * m['train_accuracy']:.2f}%   "
                 f"final epoch loss {m['loss']:.4f}" + (f"   {1e3 * result.seconds_per_epoch:.1f} ms per epoch"
                                                       if math.isfinite(result.seconds_per_epoch) else ""),
                 "", "confusion matrix (rows: true digit, columns: predicted)",
                 "     " + "".join(f"{d:>4}" for d in range(10))]
        for d, row in enumerate(self.confusion(result.params)):
            lines.append(f"  {d}: " + "".join(f"{v:>4}" for v in row))
        return lines

    def plot(self, result, figure) -> None:
        ax1, ax2 = figure.subplots(1, 2)
        epochs = [r["epoch"] for r in result.history]
        ax1.plot(epochs, [r["loss"] for r in result.history], label="train loss")
        ax1.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
        twin = ax1.twinx()
        twin.plot(epochs, [100 * r["test_accuracy"] for r in result.history], color="C1", label="test accuracy")
        twin.set_ylabel("test accuracy (%)")
        legend_both(ax1, twin)
        matrix = self.confusion(result.params)
        ax2.imshow(matrix, cmap="Blues")
        for (i, j), v in np.ndenumerate(matrix):
            if v:
                ax2.text(j, i, str(v), ha="center", va="center", fontsize=7,
                         color="white" if v > matrix.max() / 2 else "black")
        ax2.set(xlabel="predicted", ylabel="true", title="confusion matrix (test)",
                xticks=range(10), yticks=range(10))

    def compare(self, result) -> list[dict]:
        """scikit-learn's MLPClassifier and the torch backend, same architecture and settings;
        torch at the faster of one thread and its default thread count (probed on two epochs;
        at batch 32 its default threads can be many times slower), the setting named in the row."""
        from .loop import Settings, fit
        rows = [{"implementation": "symnet (numpy, generated kernels)", "test_accuracy": result.metrics["test_accuracy"],
                 "ms_per_epoch": 1e3 * result.seconds_per_epoch}]
        s = result.settings
        if not hasattr(self, "x"):
            self.prepare(s)
        try:
            threads, tried = best_torch_threads(
                lambda: fit(Digits(), "torch", Settings(min(2, s.epochs), s.lr, s.batch, s.seed)).seconds_per_epoch)
            with torch_threads(threads):
                torch_run = fit(Digits(), "torch", Settings(s.epochs, s.lr, s.batch, s.seed))
            def threads_(n):
                return f"{n} thread{'s' if n > 1 else ''}"

            probe = ", ".join(f"{threads_(n)} {1e3 * t:.1f} ms" for n, t in sorted(tried.items()))
            rows.append({"implementation": f"torch CPU autograd, {threads_(threads)}",
                         "test_accuracy": torch_run.metrics["test_accuracy"],
                         "ms_per_epoch": 1e3 * torch_run.seconds_per_epoch, "torch_threads": threads,
                         "torch_threads_probe_ms_per_epoch": {n: 1e3 * t for n, t in tried.items()},
                         "note": (f"torch ran at {threads_(threads)}, the faster thread setting here "
                                  f"(probe, ms per epoch: {probe})") if len(tried) > 1 else
                                 f"torch ran at {threads_(threads)}, its only setting here"})
        except SymnetError as exc:
            rows.append({"implementation": "torch CPU autograd", "skipped": str(exc)})
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        clf = MLPClassifier(hidden_layer_sizes=(self.hidden,), activation="logistic", solver="sgd",
                            learning_rate_init=s.lr, batch_size=s.batch, max_iter=s.epochs, momentum=0.0,
                            alpha=0.0, n_iter_no_change=s.epochs + 1, random_state=s.seed)
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(self.x, self.t)
        seconds = time.perf_counter() - started
        rows.append({"implementation": "scikit-learn MLPClassifier (constant lr)", "test_accuracy": float(clf.score(self.x_test, self.t_test)),
                     "ms_per_epoch": 1e3 * seconds / clf.n_iter_})
        return rows


@contextlib.contextmanager
def torch_threads(n: int):
    """torch's intra-op thread count set to ``n`` for the block, restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def best_torch_threads(seconds_per_epoch) -> tuple[int, dict]:
    """The faster of 1 thread and torch's default count for a run timed by
    ``seconds_per_epoch()`` (each setting timed twice, the better time kept), and the times."""
    import torch

    tried: dict = {}
    for n in sorted({1, torch.get_num_threads()}):
        with torch_threads(n):
            tried[n] = min(seconds_per_epoch() for _ in range(2))
    return min(tried, key=tried.get), tried
