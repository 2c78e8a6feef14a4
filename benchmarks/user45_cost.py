"""Session 45 (h-user45): NumPy CPU time of the formulas whose printed code the expm1-select-sum rule and the widened
sums of sines and cosines change, and of three common ones, for 10^6 elements (time.process_time, best of 5).

    PYTHONPATH=. python3 benchmarks/user45_cost.py            # this tree
    PYTHONPATH=/path/to/other/tree python3 benchmarks/user45_cost.py   # another (run both, compare the columns)
"""
from __future__ import annotations

import warnings

import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)

FORMULAS = ["elu(x) + 1", "x*cos(x)", "sigmoid(x)", "x*y + z", "tanh(w*x + b)"]


def table(formulas, width=16):
    """Print the NumPy CPU time (ms, best of 5) of each formula's kernel, float64 and float32, x uniform in [−30, 30]."""
    rng = np.random.default_rng(0)
    print(f"symnet from {symnet.__file__}")
    print(f"{'formula':<{width}} {'float64 ms':>11} {'float32 ms':>11}")
    for formula in formulas:
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        cells = []
        for dtype in (np.float64, np.float32):
            args = {name: rng.uniform(-30, 30, 10**6).astype(dtype) for name in kernel.inputs}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cells.append(best_of(lambda: kernel(**args)) * 1e3)
        print(f"{formula:<{width}} {cells[0]:>11.1f} {cells[1]:>11.1f}")


def main():
    table(FORMULAS)

if __name__ == "__main__":
    main()
