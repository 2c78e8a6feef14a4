"""The cost of the generalised product-over-sum rule (session 25: coefficients, three inputs, x³y over (x + y)³, the
reciprocal sum 1/(1/x + 1/y)) on ordinary data, x, y, z in [0.1, 10]: the generated NumPy kernel (value and every
derivative) in CPU seconds per 10⁶ points, the minimum of the repeats (the box is shared: wall time means little).
Run it with PYTHONPATH at a checkout before the change and at one after, and compare.

    cd benchmarks && python3 harm25.py [--size N] [--repeat R]

Measured (session 25, NumPy 2.4, 2 shared cores with other work on them, 10⁶ points, min of 5; main at 63e80b0 →
this change, float64 / float32 CPU s): x·y/(x + y) 0.023 / 0.009 → 0.021 / 0.009 (the same rule's form);
x·y/(2x + y) 0.020 / 0.015 → 0.031 / 0.026; x²y²/(x + y)² 0.012 / 0.004 → 0.027 / 0.012; 1/(1/x + 1/y)
0.016 / 0.006 → 0.021 / 0.009; x·y·z/(x + y + z) 0.026 / 0.020 → 0.085 / 0.077 (a select over the 6 orders of
x, y, z for f, and over 3 for each derivative); 1/(1/x + 1/y + 1/z) 0.022 / 0.008 → 0.069 / 0.067 (three
branches, each with its D in double-word); x·y·z/(xy + xz + yz) 0.041 / 0.029 → 0.068 / 0.060 (as 1/(1/x + 1/y + 1/z)).
Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402

FORMULAS = ("x*y/(x+y)", "x*y/(2*x+y)", "x**2*y**2/(x+y)**2", "1/(1/x+1/y)", "x*y*z/(x+y+z)", "1/(1/x+1/y+1/z)",
            "x*y*z/(x*y+x*z+y*z)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'formula':20s} {'float64':>8s} {'float32':>8s}   (CPU s per 1e6 points)")
    for formula in FORMULAS:
        names = ["x", "y", "z"] if "z" in formula else ["x", "y"]
        kernel = symnet.compile(symnet.derive(formula))
        row = []
        for dtype in (np.float64, np.float32):
            data = {n: rng.uniform(0.1, 10, args.size).astype(dtype) for n in names}
            row.append(best(lambda: kernel(**data), args.repeat) * 1e6 / args.size)
        print(f"{formula:20s} {row[0]:8.4f} {row[1]:8.4f}")


if __name__ == "__main__":
    main()
