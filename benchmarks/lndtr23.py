"""The cost of log Φ of a rounded argument (session 23: the rounded-argument rule's Φ(v_hi) + φ(v_hi)·v_lo): each
generated NumPy kernel (value and gradients) beside torch (torch.special.log_ndtr of the product or sum and its
autograd, CPU, float64 and float32), in CPU seconds per 10⁶ points (the box is shared: wall time means little), the
minimum of the repeats. Run it from the tree before the change too (PYTHONPATH=that tree) for the before column.

    cd benchmarks && python3 lndtr23.py [--size N] [--repeat R]

* log Φ(x·y), u = x·y uniform in [−5, 5] and in [−40, 38]
* −log Φ(w·x + b) (a probit model's loss), u = w·x + b likewise

Measured (session 23, NumPy 2.4, 2 shared cores; before → after this change, float64): log Φ(x·y) 0.28–0.31 →
0.28–0.33 s on [−5, 5], 0.33–0.38 → 0.49 on [−40, 38] (there Φ below 2⁻⁹⁶⁸, x·y < −37 or > 37, goes to the scaled
double words); −log Φ(w·x + b) 0.29 → 0.30–0.32, 0.35–0.37 → 0.54–0.62; float32 unchanged within the noise.
Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402


def torch_reference(formula: str, args: dict):
    """torch's value and autograd gradients of the same formula (torch.special.log_ndtr), or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in args.items()}

    def call():
        if formula == "log(ndtr(x*y))":
            value = torch.special.log_ndtr(tensors["x"] * tensors["y"])
        else:
            value = -torch.special.log_ndtr(tensors["w"] * tensors["x"] + tensors["b"])
        torch.autograd.grad(value.sum(), list(tensors.values()))
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10 ** 6)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    n = options.size
    rng = np.random.default_rng(0)
    print(f"{'formula':24s} {'u':14s} {'dtype':8s} {'symnet s/1e6':>13s} {'torch s/1e6':>12s} {'ratio':>6s}")
    for formula in ("log(ndtr(x*y))", "-log(ndtr(w*x + b))"):
        kernel = symnet.compile(symnet.derive(formula), backend="numpy")
        for label, lo, hi in (("[-5, 5]", -5.0, 5.0), ("[-40, 38]", -40.0, 38.0)):
            for dtype in (np.float64, np.float32):
                u = rng.uniform(lo, hi, n)
                x = rng.uniform(0.5, 3.0, n) * rng.choice([-1.0, 1.0], n)
                if formula == "log(ndtr(x*y))":
                    args = {"x": x.astype(dtype), "y": (u / x).astype(dtype)}
                else:
                    args = {"w": (0.9 * u / x).astype(dtype), "x": x.astype(dtype), "b": (0.1 * u).astype(dtype)}
                ours = best(lambda: kernel(**args), options.repeat) * 1e6 / n
                reference = torch_reference(formula, args)
                theirs = best(reference, options.repeat) * 1e6 / n if reference else float("nan")
                print(f"{formula:24s} {label:14s} {np.dtype(dtype).name:8s} {ours:13.3f} {theirs:12.3f} "
                      f"{ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
