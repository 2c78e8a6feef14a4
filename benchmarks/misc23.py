"""The cost of the log-linear-root rule (session 23): each generated NumPy kernel (value and gradients) of a sum of
log and linear terms beside torch (the same formula and its autograd, CPU), float64 and float32, in CPU seconds per
10⁶ points (the box is shared: wall time means little), the minimum of the repeats. Run it from the tree before the
change too (PYTHONPATH=that tree) for the before column.

    cd benchmarks && python3 misc23.py [--size N] [--repeat R]

* log x − x + 1, x uniform in [0.5, 2] (about its double root) and in [0.01, 100]
* the Poisson deviance t·log(t/p) − t + p, p = t·(1 + e), e uniform in [−0.1, 0.1] and t in [0.1, 10]

Measured (session 23, 2·10⁵ points, min of 5, 2 shared cores; before → after the rule, NumPy): log x − x + 1 float64
0.020 → 0.097 s on [0.5, 2] (every element redone in double words: the pre-test's bound fails wherever the terms cancel
4× or more), 0.011 → 0.033 on [0.01, 100]; float32 0.006 → 0.025 and 0.007 → 0.021 (its body in float64); the
deviance float64 0.197 → 0.306 near p = t, 0.035 → 0.134 on p/t − 1 in [−0.9, 9]; float32 0.014 → 0.030 and 0.014 →
0.028. torch (one thread, autograd) 0.001–0.011. Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402


TORCH = {
    "log(x) - x + 1": lambda T, a: T.log(a["x"]) - a["x"] + 1,
    "t*log(t/p) - t + p": lambda T, a: a["t"] * T.log(a["t"] / a["p"]) - a["t"] + a["p"],
}


def torch_reference(formula: str, args: dict):
    """torch's value and autograd gradients of the same formula, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # CPU seconds of every thread count: one thread, as NumPy's kernel runs
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in args.items()}

    def call():
        torch.autograd.grad(TORCH[formula](torch, tensors).sum(), list(tensors.values()))
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10 ** 6)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    n = options.size
    rng = np.random.default_rng(0)
    print(f"{'formula':20s} {'points':16s} {'dtype':8s} {'symnet s/1e6':>13s} {'torch s/1e6':>12s} {'ratio':>6s}")
    for formula, ranges in (("log(x) - x + 1", ((0.5, 2.0), (0.01, 100.0))),
                            ("t*log(t/p) - t + p", ((-0.1, 0.1), (-0.9, 9.0)))):
        kernel = symnet.compile(symnet.derive(formula), backend="numpy")
        for lo, hi in ranges:
            for dtype in (np.float64, np.float32):
                if formula == "log(x) - x + 1":
                    label, args = f"x in [{lo}, {hi}]", {"x": rng.uniform(lo, hi, n).astype(dtype)}
                else:
                    t = rng.uniform(0.1, 10.0, n)
                    label = f"p/t-1 in [{lo}, {hi}]"
                    args = {"t": t.astype(dtype), "p": (t * (1 + rng.uniform(lo, hi, n))).astype(dtype)}
                ours = best(lambda: kernel(**args), options.repeat) * 1e6 / n
                reference = torch_reference(formula, args)
                theirs = best(reference, options.repeat) * 1e6 / n if reference else float("nan")
                print(f"{formula:20s} {label:16s} {np.dtype(dtype).name:8s} {ours:13.3f} {theirs:12.3f} "
                      f"{ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
