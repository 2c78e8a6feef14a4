"""NumPy CPU time of the cosine loss before and after lagr44's Lagrange form, and three common formulas:
process_time, 10⁶ elements, best of 5, in one run (``before``: cosine-complement without the Lagrange form, by
replacing ``_cosine_lagrange`` with the whole-sum form it wraps; give it a SYMNET_CACHE of its own).

    SYMNET_CACHE=/tmp/a python benchmarks/lagr44_cost.py before; SYMNET_CACHE=/tmp/b python benchmarks/lagr44_cost.py
"""
import sys
import warnings

import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)

FORMULAS = {
    "cosine loss 2": "1 - (a1*b1 + a2*b2)/sqrt((a1**2 + a2**2)*(b1**2 + b2**2))",
    "cosine loss 3": "1 - (a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))",
    "sigmoid": "sigmoid(x)",
    "x*y + z": "x*y + z",
    "tanh layer": "tanh(w*x + b)",
}



def main():
    if sys.argv[1:] == ["before"]:
        from symnet.codegen.rewrite import cancellation
        cancellation._cosine_lagrange = lambda node, p, sums, scales, whole: whole
    rng = np.random.default_rng(44)
    print(f"{'formula':<14} {'float64 ms':>11} {'float32 ms':>11}")
    for name, formula in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        names = sorted({str(s) for s in symnet.parse(formula).free_symbols})
        row = []
        for dtype in (np.float64, np.float32):
            cols = {n: rng.normal(0, 2, 10 ** 6).astype(dtype) for n in names}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row.append(best_of(lambda: kernel(**cols)) * 1e3)
        print(f"{name:<14} {row[0]:>11.1f} {row[1]:>11.1f}")


if __name__ == "__main__":
    main()
