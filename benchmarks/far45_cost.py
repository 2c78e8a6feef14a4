"""NumPy CPU time of session 45's formulas (h-far45) and three common ones: process_time, 10⁶ elements, best of 5.

Run once per checkout (PYTHONPATH=<checkout> python benchmarks/far45_cost.py) and compare the two tables: the ratio
is after/before of the same row. Each kernel is compiled first (not timed). Inputs N(0, 2), and for the rows marked
"far" ±10^[38, 39] (x·y/(x − y)⁸: y = −r·x, r in [0.3, 3], every element in the distributed-power-sum rule's far
branch; x/(1 − x²): every element past 10¹⁵⁴·⁵)."""
import warnings

import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)

FORMULAS = [("x*y/(x-y)^8", "x*y/(x - y)**8", None), ("x*y/(x-y)^8 far", "x*y/(x - y)**8", (38, 39)),
            ("x/(1-x^2)", "x/(1 - x**2)", None), ("x/(1-x^2) far", "x/(1 - x**2)", (160, 300)),
            ("y/(1-x*y)", "y/(1 - x*y)", None), ("sigmoid", "sigmoid(x)", None), ("x*y + z", "x*y + z", None),
            ("tanh layer", "tanh(w*x + b)", None)]


def _columns(names, band, dtype, rng):
    if band is None:
        return {n: rng.normal(0, 2, 10 ** 6).astype(dtype) for n in names}
    x = rng.choice([-1.0, 1.0], 10 ** 6) * 10.0 ** rng.uniform(*band, 10 ** 6)
    cols = {"x": x, "y": -x * rng.uniform(0.3, 3.0, 10 ** 6)}
    return {n: cols[n].astype(dtype) for n in names}


def main():
    rng = np.random.default_rng(45)
    print(f"{'formula':<16} {'float64 ms':>11} {'float32 ms':>11}")
    for name, formula, band in FORMULAS:
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        names = sorted({str(s) for s in symnet.parse(formula).free_symbols})
        row = []
        for dtype in (np.float64,) if band else (np.float64, np.float32):
            cols = _columns(names, band, dtype, rng)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                row.append(best_of(lambda: kernel(**cols)) * 1e3)
        print(f"{name:<16} {row[0]:>11.1f} " + (f"{row[1]:>11.1f}" if len(row) > 1 else f"{'':>11}"), flush=True)


if __name__ == "__main__":
    main()
