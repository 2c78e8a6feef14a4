"""NumPy CPU time of the formulas root45 changed and three common ones: process_time, 10⁶ elements, best of 5
(benchmarks/cpu_time.best_of), float64 and float32. Run it once per symnet tree (PYTHONPATH names the tree, each with
a SYMNET_CACHE of its own) and compare the rows:

    PYTHONPATH=/path/to/before SYMNET_CACHE=/tmp/a python benchmarks/root45_cost.py
    PYTHONPATH=$PWD SYMNET_CACHE=/tmp/b python benchmarks/root45_cost.py
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import symnet  # noqa: E402
from cpu_time import best_of  # noqa: E402  (benchmarks/cpu_time.py)

FORMULAS = {
    "root difference": "sqrt(x**2 + eps) - sqrt(eps)",
    "charbonnier": "sqrt(x**2 + eps**2) - eps",
    "wgan penalty": "(sqrt(x**2 + y**2) - 1)**2",
    "wgan penalty far": "(sqrt(x**2 + y**2) - 1)**2",  # |y| in [1e20, 1e300]: the hypot rule's scaled branches
    "sigmoid": "sigmoid(x)",
    "x*y + z": "x*y + z",
    "tanh layer": "tanh(w*x + b)",
}


def main():
    rng = np.random.default_rng(45)
    print(f"{'formula':<18} {'float64 ms':>11} {'float32 ms':>11}")
    for name, formula in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        names = sorted({str(s) for s in symnet.parse(formula).free_symbols})
        row = []
        for dtype in (np.float64, np.float32):
            cols = {n: rng.normal(0, 2, 10 ** 6) for n in names}
            if "eps" in cols:
                cols["eps"] = np.abs(cols["eps"])
            if name.endswith("far"):
                top = 300 if dtype is np.float64 else 37
                cols["y"] = cols["y"] * 10.0 ** rng.uniform(20, top, 10 ** 6)
            cols = {n: c.astype(dtype) for n, c in cols.items()}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row.append(best_of(lambda: kernel(**cols)) * 1e3)
        print(f"{name:<18} {row[0]:>11.1f} {row[1]:>11.1f}")


if __name__ == "__main__":
    main()
