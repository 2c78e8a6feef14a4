"""The cost of a product over a sum (session 23: the product-over-sum rule's b·(a/V) with |b| ≤ |a|, (b/V)² for
the derivatives, the inputs halved past 2⁶⁰): the generated NumPy kernel of x·y/(x + y) and 2·x·y/(x + y) (value
and both derivatives) beside a hand-written NumPy reference of the formula as written (``written_reference``: x·y/s,
y²/s², x²/s², the form that fails at the range ends), in CPU seconds per 10⁶ points (the box is shared: wall
time means little), the minimum of the repeats, and their ratio.

    cd benchmarks && python3 harm23.py [--size N] [--repeat R]

Measured (session 23, NumPy 2.4, 2 shared cores, 10⁶ points, min of 7, x in [0.5, 4], y in [−4, 4]): the
generated kernel before this change (x·y/s and y·(y·s⁻²), s⁻² as a power) 0.026 (float32) and 0.029 (float64)
CPU s; after 0.007–0.009 and 0.016–0.022; beside the written reference (one run): 0.71–0.77× in float32,
1.7–1.9× in float64. Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402


def written_reference(c, x, y):
    """c·x·y/(x + y) and its derivatives c·y²/(x + y)², c·x²/(x + y)² as written (hand-written, for timing)."""
    s = x + y
    s2 = s * s
    return c * x * y / s, c * y * y / s2, c * x * x / s2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'formula':14s} {'dtype':8s} {'generated':>10s} {'written':>10s} {'ratio':>6s}   (CPU s per 1e6 points)")
    for formula, c in (("x*y/(x+y)", 1.0), ("2*x*y/(x+y)", 2.0)):
        kernel = symnet.compile(symnet.derive(formula))
        for dtype in (np.float32, np.float64):
            x = rng.uniform(0.5, 4, args.size).astype(dtype)
            y = rng.uniform(-4, 4, args.size).astype(dtype)
            scale = 1e6 / args.size
            ours = best(lambda: kernel(x=x, y=y), args.repeat) * scale
            with np.errstate(all="ignore"):
                plain = best(lambda: written_reference(dtype(c), x, y), args.repeat) * scale
            print(f"{formula:14s} {np.dtype(dtype).name:8s} {ours:10.4f} {plain:10.4f} {ours / plain:6.2f}")


if __name__ == "__main__":
    main()
