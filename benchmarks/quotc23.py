"""The cost of placing a constant per element in a quotient chain or a product of three (session 23:
``_constant_quotients``, ``_constant_product``, c·x/y put back from CSE's x/y): each generated NumPy kernel (value and
gradients) beside torch's autograd of the formula as written (CPU, float64 and float32), in CPU seconds per 10⁶
points (the box is shared: wall time means little), the minimum of the repeats. Run it from the tree before the
change too (PYTHONPATH=that tree) for the before column.

    cd benchmarks && python3 quotc23.py [--size N] [--repeat R]

* ordinary: x, y (z) log-uniform in [0.5, 2]: the scaled-square rule's written branch is taken (the select computes
  every branch anyway);
* far: |y| past 2⁶⁰ (float64 x ∈ 10^±100, |y| ∈ 10^(70…170); float32 x ∈ 10^±20, |y| ∈ 10^(19…39)): the scaled
  chain is taken, and many results leave the range (the other orders are computed for those elements).

Measured (session 23, NumPy 2.4, 2 shared cores, 3·10⁵ points, min of 5; before (e09301d) → after, CPU s per 10⁶
points, NumPy): 1024·x/y float64 ordinary 0.0086 → 0.0081, far 0.0205 → 0.0186; float32 ordinary 0.0047 → 0.0043,
far 0.0141 → 0.0190 (most of that data's results underflow: the other orders are computed over the block);
x/(3y) float64 0.0097 → 0.0070, far 0.0128 → 0.0109; float32 0.0049 → 0.0040, far 0.0083 → 0.0142;
10²⁰·x²/y float64 0.0106 → 0.0114, far 0.0122 → 0.0185; float32 0.0057 → 0.0063, far 0.0064 → 0.0107;
x·y·z/3 float64 0.0066 → 0.0069, far 0.0058 → 0.0090; float32 0.0031 → 0.0031, far 0.0491 → 0.0664.
Speed is measured
here, never asserted.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402

FORMULAS = {  # symnet's formula → torch's, as written
    "1024*x/y": lambda x, y: 1024 * x / y,
    "x/(3*y)": lambda x, y: x / (3 * y),
    "10**20*x**2/y": lambda x, y: 1e20 * x ** 2 / y,
    "x*y*z/3": lambda x, y, z: x * y * z / 3,
}


def torch_reference(formula: str, args: dict):
    """torch's value and autograd gradients of the same formula, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # one core, as the NumPy kernel (torch's pool made its CPU time vary 100-fold)
    tensors = [torch.tensor(v, requires_grad=True) for v in args.values()]

    def call():
        value = FORMULAS[formula](*tensors)
        torch.autograd.grad(value.sum(), tensors)
    return call


def points(names, dtype, far: bool, n: int, rng) -> dict:
    """The arguments: log-uniform in [0.5, 2], or far (|y| past 2⁶⁰ and x across the range)."""
    wide, past = (100, 70) if dtype == np.float64 else (20, 19)
    args = {}
    for name in names:
        e = rng.uniform(-1, 1, n) * wide if far else np.zeros(n)
        if far and name == "y":
            e = e + np.sign(e) * past
        with np.errstate(over="ignore"):
            args[name] = (rng.uniform(0.5, 2, n) * 10.0 ** e).astype(dtype)
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10 ** 6)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    n = options.size
    rng = np.random.default_rng(0)
    print(f"{'formula':16s} {'data':9s} {'dtype':8s} {'symnet s/1e6':>13s} {'torch s/1e6':>12s} {'ratio':>6s}")
    for formula in FORMULAS:
        kernel = symnet.compile(symnet.derive(formula), backend="numpy")
        names = ["x", "y", "z"][:FORMULAS[formula].__code__.co_argcount]
        for label in ("ordinary", "far"):
            for dtype in (np.float64, np.float32):
                args = points(names, dtype, label == "far", n, rng)
                with np.errstate(all="ignore"):
                    ours = best(lambda: kernel(**args), options.repeat) * 1e6 / n
                reference = torch_reference(formula, args)
                theirs = best(reference, options.repeat) * 1e6 / n if reference else float("nan")
                print(f"{formula:16s} {label:9s} {np.dtype(dtype).name:8s} {ours:13.4f} {theirs:12.4f} "
                      f"{ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
