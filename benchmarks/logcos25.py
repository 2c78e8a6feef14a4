"""CPU seconds per 10⁶ points (min of 5 calls) of the kernels the log-near-one rule and the double-word asinh change
(session 25, h-logcos25), on ordinary data: x uniform on [−4, 4] (log(1 − cos x), log(cosh x − 1)) or [0.1, 4]
(the others). Run with PYTHONPATH at a tree before and after the change and compare (symnet.compile of each formula; the first
call's compile is not timed)."""
from __future__ import annotations

import sys
import warnings

import numpy as np

import symnet
from cpu_time import best

FORMULAS = {"log(1 - cos(x))": (-4.0, 4.0), "log(x - asinh(x))": (0.1, 4.0), "x - asinh(x)": (0.1, 4.0),
            "log(x - tanh(x))": (0.1, 4.0), "log(cosh(x) - 1)": (-4.0, 4.0)}
N = 1_000_000


def main() -> None:
    rng = np.random.default_rng(25)
    print(f"{'formula':<20} {'dtype':<8} CPU s / 10⁶ points")
    for formula, (lo, hi) in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula, wrt=["x"]), backend="numpy")
        for dtype in (np.float64, np.float32):
            x = rng.uniform(lo, hi, N).astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds = best(lambda: kernel(x=x), 5)
            print(f"{formula:<20} {np.dtype(dtype).name:<8} {seconds:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
