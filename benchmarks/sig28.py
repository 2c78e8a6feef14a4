"""Cost of session 28's float32 softplus and σ (h-sig28): a float32 block computed in float64, each output rounded
once. Times, side by side in one run, the kernels of a git revision (``--baseline``, default HEAD: its committed
kernels/numpy modules; silu and mish from its generator, in a child process) and of the working tree, on float32
data: CPU milliseconds of one call, min of ``--repeat`` calls in each of ``--rounds`` rounds (before and after taking
turns, so that a slow spell of the shared box falls on both), and the median of the rounds' minima.

    python benchmarks/sig28.py [--n 1000000] [--repeat 5] [--rounds 5] [--baseline REF]

Cases: the elementwise kernels with σ or softplus (sigmoid, sigmoid_mse, bce_logits, softplus, log_sigmoid; silu(z)
and mish(z) compiled), value and gradient, on z ~ N(0, 3), y ~ U(0, 1); the NumPy training kernels: one SGD gradient
of the digits MLP (64-64-10, batch 32: dense_sigmoid, linear, softmax_cross_entropy_grad and the backward kernels, as
symnet/training/mlp.py calls them), a dense sigmoid layer forward + backward at batch 1024, 1024 → 1024 (the case of
benchmarks/cpu.py), and the Elman RNN's 12 steps forward and back (batch 32, 4 → 32: rnn_step and its backward).
Speed is measured here, never asserted (results: benchmarks/results/sig28-2026-12-04.md).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symnet  # noqa: E402
from benchmarks.cpu_time import cpu  # noqa: E402

ELEMENTWISE = ["sigmoid", "sigmoid_mse", "bce_logits", "softplus", "log_sigmoid"]
COMPILED = ["silu(z)", "mish(z)"]  # registry activations with σ or softplus that no committed kernel holds
SOURCE = 'import sys, symnet; print(symnet.compile(symnet.derive(sys.argv[1])).source)'


def _module(source: str, label: str) -> dict:
    namespace: dict = {}
    exec(compile(source, label, "exec"), namespace)  # noqa: S102 - symnet's own generated modules
    return namespace


def committed(ref: str | None, module: str) -> dict:
    """kernels/numpy/<module>.py as committed at ``ref``, or (None) in the working tree."""
    if ref is None:
        return _module((ROOT / "kernels" / "numpy" / f"{module}.py").read_text(), f"kernels/numpy/{module}.py")
    source = subprocess.run(["git", "show", f"{ref}:kernels/numpy/{module}.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    return _module(source, f"{ref}:kernels/numpy/{module}.py")


def compiled_at(ref: str | None, formula: str):
    """``formula`` compiled by the generator of ``ref`` (its symnet package in a child process) or of the working
    tree."""
    if ref is None:
        return symnet.compile(symnet.derive(formula))
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(["git", "archive", ref, "symnet"], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        env = {**os.environ, "PYTHONPATH": folder, "SYMNET_CACHE": os.path.join(folder, "cache")}
        source = subprocess.run([sys.executable, "-c", SOURCE, formula], cwd=folder, check=True, capture_output=True,
                                text=True, env=env).stdout
    return _module(source, f"{ref}:{formula}")["kernel"]


def cases(ref: str | None, n: int) -> dict:
    """Each case's call for the kernels of ``ref`` (None: the working tree), on the same float32 data."""
    rng = np.random.default_rng(28)
    z = (rng.standard_normal(n) * 3).astype(np.float32)
    y = rng.uniform(0, 1, n).astype(np.float32)
    out = {}
    for name in ELEMENTWISE:
        fn = committed(ref, name)[name]
        out[name] = (lambda fn=fn, two=name in ("sigmoid_mse", "bce_logits"): fn(z, y) if two else fn(z))
    for formula in COMPILED:
        fn = compiled_at(ref, formula)
        out[formula] = lambda fn=fn: fn(z)
    dense, rnn = committed(ref, "dense"), committed(ref, "rnn_step")
    ce = committed(None, "softmax_cross_entropy")["softmax_cross_entropy_grad"]  # (no σ: the same module for both)

    # the digits MLP's gradient, as symnet/training/mlp.py's mlp_grads calls the kernels
    def layer(fan_out, fan_in):
        return (rng.normal(0, 1 / np.sqrt(fan_in), (fan_out, fan_in)).astype(np.float32),
                np.zeros(fan_out, np.float32))
    (W1, b1), (W2, b2) = layer(64, 64), layer(10, 64)
    x, t = rng.uniform(0, 1, (32, 64)).astype(np.float32), rng.integers(0, 10, 32)

    def digits_step():
        h = dense["dense_sigmoid"](x, W1, b1)
        loss, dz = ce(dense["linear"](h, W2, b2), t)
        _, _, dh = dense["linear_backward"](h, W2, dz)
        return dense["dense_sigmoid_backward"](x, W1, h, dh)
    out["train: digits MLP step (B 32)"] = digits_step

    (Wd, bd), a = layer(1024, 1024), rng.standard_normal((1024, 1024)).astype(np.float32)
    g = rng.standard_normal((1024, 1024)).astype(np.float32)

    def dense_layer():
        return dense["dense_sigmoid_backward"](a, Wd, dense["dense_sigmoid"](a, Wd, bd), g)
    out["train: dense layer 1024² (B 1024)"] = dense_layer

    (Wi, _), (Wh, _) = layer(32, 4), layer(32, 32)
    xs = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (32, 12))]
    gs = rng.standard_normal((32, 32)).astype(np.float32)

    def elman():
        hs = [np.zeros((32, 32), np.float32)]
        for k in range(12):
            hs.append(rnn["rnn_step"](xs[:, k], hs[-1], Wi, Wh))
        carry = gs
        for k in range(12, 0, -1):
            _, _, carry = rnn["rnn_step_backward"](xs[:, k - 1], hs[k - 1], Wi, Wh, hs[k], carry)
        return carry
    out["train: Elman RNN 12 steps (B 32)"] = elman
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000, help="float32 values of the elementwise cases")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--baseline", default="HEAD", help="the git revision whose kernels are 'before'")
    args = p.parse_args(argv)
    sides = {"before": cases(args.baseline, args.n), "after": cases(None, args.n)}
    best = {(s, c): [] for s in sides for c in sides["after"]}
    for _ in range(args.rounds):
        for c in sides["after"]:
            for s in sides:
                fn = sides[s][c]
                fn()
                times = []
                for _ in range(args.repeat):
                    t0 = cpu()
                    fn()
                    times.append(cpu() - t0)
                best[s, c].append(min(times) * 1e3)
    print(f"float32, CPU ms of one call: median over {args.rounds} rounds of the min of {args.repeat}; before = "
          f"{args.baseline}'s kernels, after = the working tree's")
    print("| case | before ms | after ms | after/before |")
    print("|---|---|---|---|")
    for c in sides["after"]:
        b, a = statistics.median(best["before", c]), statistics.median(best["after", c])
        print(f"| {c} | {b:.2f} | {a:.2f} | {a / b:.2f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
