"""The cost of session 24's square-sum-power changes (sums of powers of one base c + w·x², c < 0, the far select's
edge lowered where a power leaves float32): the generated NumPy kernel (value and gradient) of each formula, in CPU
milliseconds per call of 10⁶ points (min of the repeats; the box is shared, wall time means little). Data: x normal
(ordinary: no element past any far select), and the same with 1 % of the elements at ±1e25 (``1% far``). Run it
from this tree and from the tree before the change (PYTHONPATH=that tree) for the before column.

    cd benchmarks && python3 pow24.py [--size N] [--repeat R]

Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402

FORMULAS = ["x*(1 + 3*x**2)**(-0.7)", "x*(x**2 - 1)**0.3", "x**3*(2 + x**2)**(-3/2)", "x**2*(1 + x**2)**(-1.5)",
            "x*(1+x**2)**(3/10)", "(2+3*x**2)**(-2/3)"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=args.size)
    x_pos = 1.0 + np.abs(x)  # (x² − 1)^0.3: a real power where |x| > 1
    print(f"{'formula':26} {'dtype':8} {'ms':>8} {'1% far ms':>10}   (CPU, min of {args.repeat}; symnet from "
          f"{os.path.dirname(symnet.__file__)})")
    for formula in FORMULAS:
        kernel = symnet.compile(symnet.derive(formula, wrt=["x"]), backend="numpy", progress=False)
        data = x_pos if "- 1)" in formula else x
        far = data.copy()
        n = args.size // 100
        far[rng.choice(args.size, n, replace=False)] = 1e25 * np.sign(rng.normal(size=n))
        for dtype in (np.float64, np.float32):
            xd, fard = data.astype(dtype), far.astype(dtype)
            with np.errstate(all="ignore"):
                ms = best(lambda: kernel(x=xd), args.repeat) * 1e3
                far_ms = best(lambda: kernel(x=fard), args.repeat) * 1e3
            print(f"{formula:26} {np.dtype(dtype).name:8} {ms:8.2f} {far_ms:10.2f}")


if __name__ == "__main__":
    main()
