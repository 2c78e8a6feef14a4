"""The cost of session 24's series-leading-power cases on ordinary data: each generated NumPy kernel (value and
gradient) of log(x − tanh x), log(1 − cos x) and log(x − asinh x) beside torch (the same formula and its autograd,
CPU, one thread), float64 and float32, in CPU seconds per 10⁶ points (the box is shared: wall time means little), the
minimum of the repeats. Run it from the tree before the change too (PYTHONPATH=that tree) for the before column.

    cd benchmarks && python3 series24.py [--size N] [--repeat R]

x uniform in [0.05, 3] (ordinary values: none below the 2⁻³² edge of log(1 − cos x)'s leading term, some past the
tanhshrink window |x| < 1.5 and the asinh series windows). Speed is measured here, never asserted.

Measured (session 24, 2·10⁵ points, min of 7, the lesser of two alternating runs of each tree, 2 shared cores, load
~5; before (a78137a) → after, torch beside): log(x − tanh x) float64 0.022 → 0.023 (torch 0.011), float32 0.010 →
0.011 (0.005); log(1 − cos x) float64 0.026 → 0.033 (0.012), float32 0.003 → 0.009 (0.005): the select at 2⁻³² and
log|x| on every element; log(x − asinh x) float64 0.064 → 0.183 (0.030), float32 0.055 → 0.113 (0.024): the
derivative's numerator is now the vanishing-series rule's series and widened band (|x| < 0.875) besides the
written form, and NumPy computes every branch of the folded select (8) on every element.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402

TORCH = {
    "log(x - tanh(x))": lambda T, x: T.log(x - T.tanh(x)),
    "log(1 - cos(x))": lambda T, x: T.log(1 - T.cos(x)),
    "log(x - asinh(x))": lambda T, x: T.log(x - T.asinh(x)),
}


def torch_reference(formula: str, x):
    """torch's value and autograd gradient of the same formula, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)  # NumPy's kernel runs on one thread
    t = torch.tensor(x, requires_grad=True)

    def call():
        torch.autograd.grad(TORCH[formula](torch, t).sum(), [t])
    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10 ** 6)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    n = options.size
    rng = np.random.default_rng(0)
    print(f"{'formula':20s} {'dtype':8s} {'symnet s/1e6':>13s} {'torch s/1e6':>12s} {'ratio':>6s}")
    for formula in TORCH:
        kernel = symnet.compile(symnet.derive(formula), backend="numpy")
        for dtype in (np.float64, np.float32):
            x = rng.uniform(0.05, 3.0, n).astype(dtype)
            ours = best(lambda: kernel(x=x), options.repeat) * 1e6 / n
            reference = torch_reference(formula, x)
            theirs = best(reference, options.repeat) * 1e6 / n if reference else float("nan")
            print(f"{formula:20s} {np.dtype(dtype).name:8s} {ours:13.3f} {theirs:12.3f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
