"""The lecture's first two models: km → miles learned from error, and the perceptron."""
from __future__ import annotations

import itertools

import numpy as np

from .engines import NumpyEngine, TorchEngine
from .tasks import Task

__all__ = ["Miles", "Perceptron"]

MILES_PER_KM = 0.62137  # the lecture's truth: 100 km is 62.137 miles


class Miles(Task):
    """y = c·x learned from the error E = t − c·x, with a learning rate.

    The gradient ∂J/∂c = −E·x of J = ½E² comes from the kernel generated from the
    ``linear-miles`` derivation. Each step is that gradient divided by Σx² over the
    batch: for one example it is the lecture's update ΔA = L·E/x exactly, whatever the
    distance, so the learning rate L means "move this fraction of the way".
    """

    name = "miles"
    summary = "the one-parameter km → miles model y = c·x, learned from the error (ΔA = L·E/x)"
    defaults = {"epochs": 8, "lr": 0.5, "batch": 1}
    shuffle = True

    def prepare(self, settings) -> None:
        self.km = np.array([5, 10, 21.1, 42.2, 50, 100, 160, 200, 400], dtype=np.float64)
        self.miles = self.km * MILES_PER_KM
        self.examples = len(self.km)

    def init_params(self, rng) -> dict:
        return {"c": np.array([0.5])}  # the lecture's first guess

    def engine(self, backend: str, params: dict):
        x, t = self.km, self.miles
        if backend == "numpy":
            import symnet
            kernel = symnet.compile(symnet.get("linear-miles"))  # J = ½(t − c·x)², ∂J/∂c

            def grads(p, idx):
                xs = x[idx]
                J, dJ_dc = kernel(c=np.full(len(idx), p["c"][0]), t=t[idx], x=xs)
                return J.mean(), {"c": np.array([dJ_dc.sum() / np.dot(xs, xs)])}
            return NumpyEngine(params, grads)
        tx, tt = (self._torch(v) for v in (x, t))

        def objective(p, idx):
            xs, E = tx[idx], tt[idx] - p["c"] * tx[idx]
            J = 0.5 * E ** 2
            return J.mean(), J.sum() / (xs * xs).sum()
        return TorchEngine(params, objective)

    @staticmethod
    def _torch(v):
        import torch
        return torch.from_numpy(v)

    def evaluate(self, params: dict) -> dict:
        c = float(params["c"][0])
        return {"c": c, "error_at_100km": 100 * MILES_PER_KM - 100 * c}

    def progress_text(self, record: dict) -> str:
        return f"c {record['c']:.5f}  error at 100 km {record['error_at_100km']:+.4f}"

    def report(self, result) -> list[str]:
        lines = ["The lecture's guesses for 100 km (truly 62.137 miles):"]
        for guess in (0.5, 0.6, 0.7):
            lines.append(f"  c = {guess}: {100 * guess:.3f} miles, error E = {100 * MILES_PER_KM - 100 * guess:+.3f}")
        s = result.settings
        lines += ["", f"Learned from the error with ΔA = L·E/x, L = {s.lr}, one pass over "
                      f"{self.examples} distances per epoch, from c = 0.5:",
                  f"  {'epoch':>5}  {'c':>9}  {'error at 100 km':>15}"]
        for record in result.history:
            lines.append(f"  {record['epoch']:>5}  {record['c']:>9.5f}  {record['error_at_100km']:>+15.5f}")
        c = result.metrics["c"]
        lines += ["", f"c = {c:.4f} (true 0.62137): 100 km → {100 * c:.3f} miles"]
        return lines

    def plot(self, result, figure) -> None:
        ax1, ax2 = figure.subplots(1, 2)
        epochs = [r["epoch"] for r in result.history]
        ax1.semilogy(epochs, [max(r["loss"], 1e-30) for r in result.history], marker="o")
        ax1.set(xlabel="epoch", ylabel="mean ½E² (log)", title="loss")
        ax2.plot([0] + epochs, [0.5] + [r["c"] for r in result.history], marker="o", label="c")
        ax2.axhline(MILES_PER_KM, color="grey", linestyle="--", label="0.62137")
        ax2.set(xlabel="epoch", ylabel="c", title="the learned constant")
        ax2.legend()


GATES = {
    "AND": lambda a, b: a & b,
    "OR": lambda a, b: a | b,
    "NAND": lambda a, b: 1 - (a & b),
    "XOR": lambda a, b: a ^ b,
}


class Perceptron(Task):
    """Hard-threshold perceptrons for AND, OR, NAND and XOR, trained side by side with the
    perceptron rule w ← w + L·(t − y)·(1, x1, x2) from zero weights (bias input 1)."""

    name = "perceptron"
    summary = "the hard-threshold perceptron learns AND and OR, never XOR; two layers solve XOR"
    defaults = {"epochs": 25, "lr": 1.0, "batch": 1}
    shuffle = False  # the truth table in order, as in the lecture

    def prepare(self, settings) -> None:
        rows = list(itertools.product((0, 1), repeat=2))
        self.inputs = np.array([(1, a, b) for a, b in rows], dtype=np.float64)  # bias input 1 first
        self.targets = {g: np.array([f(a, b) for a, b in rows], dtype=np.float64) for g, f in GATES.items()}
        self.examples = len(rows)

    def init_params(self, rng) -> dict:
        return {g: np.zeros(3) for g in GATES}

    def engine(self, backend: str, params: dict):
        X = self.inputs
        if backend == "numpy":
            def grads(p, idx):
                errors, g = 0, {}
                for gate, w in p.items():
                    y = (X[idx] @ w > 0).astype(np.float64)  # hard threshold
                    miss = self.targets[gate][idx] - y
                    errors += int(np.abs(miss).sum())
                    g[gate] = -(miss @ X[idx])  # the step −L·g is the perceptron rule
                return errors, g
            return NumpyEngine(params, grads)
        import torch
        tX = torch.from_numpy(X)
        tT = {g: torch.from_numpy(v) for g, v in self.targets.items()}

        def objective(p, idx):
            # the perceptron criterion −Σ (t − y)·(w·x) with y held fixed: its gradient is the rule
            errors, J = 0, 0
            for gate, w in p.items():
                s = tX[idx] @ w
                miss = tT[gate][idx] - (s > 0).double()
                errors += miss.abs().sum()
                J = J - (miss * s).sum()
            return errors, J
        return TorchEngine(params, objective)

    def correct(self, w, gate) -> int:
        return int(((self.inputs @ w > 0) == self.targets[gate].astype(bool)).sum())

    def evaluate(self, params: dict) -> dict:
        return {f"{g}_correct": self.correct(params[g], g) for g in GATES}

    def final_metrics(self, params: dict) -> dict:
        two_layer = self.two_layer(params)
        return {"two_layer_XOR_correct": int((two_layer == self.targets["XOR"]).sum())}

    def two_layer(self, params) -> np.ndarray:
        """XOR = AND(OR(x1, x2), NAND(x1, x2)) with the learned perceptrons."""
        h_or = (self.inputs @ params["OR"] > 0).astype(np.float64)
        h_nand = (self.inputs @ params["NAND"] > 0).astype(np.float64)
        hidden = np.stack([np.ones(4), h_or, h_nand], axis=1)
        return (hidden @ params["AND"] > 0).astype(np.float64)

    def progress_text(self, record: dict) -> str:
        return "  ".join(f"{g} {record[f'{g}_correct']}/4" for g in GATES)

    def first_perfect(self, history, gate):
        return next((r["epoch"] for r in history if r[f"{gate}_correct"] == 4), None)

    def report(self, result) -> list[str]:
        p, history, lines = result.params, result.history, []
        for gate in ("AND", "OR", "NAND"):
            w = ", ".join(f"{v:g}" for v in p[gate])
            epoch = self.first_perfect(history, gate)
            got = f"4/4 from epoch {epoch}" if epoch else f"{history[-1][f'{gate}_correct']}/4 (not yet)"
            lines.append(f"{gate:<5} learned: w = ({w}), {got}")
        best = max(r["XOR_correct"] for r in history)
        lines.append(f"XOR   never learned: at best {best}/4 in {len(history)} epochs "
                     f"— and no number of epochs would do: XOR is not linearly separable")
        lines.append("      (no line w0 + w1·x1 + w2·x2 = 0 puts (0,1), (1,0) on one side and (0,0), (1,1) on the "
                     "other: (w0 + w1) + (w0 + w2) − w0 > 0 when w0 ≤ 0,")
        lines.append("      so w0 + w1 + w2 > 0 and the row (1,1) comes out 1, not 0).")
        lines += ["", "Two layers solve it: XOR = AND(OR(x1, x2), NAND(x1, x2)), with the perceptrons above:",
                  "  x1 x2   OR NAND   XOR"]
        out = self.two_layer(p)
        for row, y in zip(self.inputs, out):
            h1 = int(row @ p["OR"] > 0)
            h2 = int(row @ p["NAND"] > 0)
            lines.append(f"   {int(row[1])}  {int(row[2])}    {h1}    {h2}     {int(y)}")
        lines.append(f"  {result.metrics['two_layer_XOR_correct']}/4 correct")
        return lines

    def plot(self, result, figure) -> None:
        ax = figure.subplots()
        epochs = [r["epoch"] for r in result.history]
        for gate in GATES:
            ax.plot(epochs, [r[f"{gate}_correct"] for r in result.history], marker=".", label=gate)
        ax.set(xlabel="epoch", ylabel="rows correct (of 4)", title="perceptron rule", ylim=(0, 4.3))
        ax.legend()
