"""NumPy CPU time of the formulas break45 changed (cosine loss with ε norms, weighted norms, a reflected dot product;
the zero-inflated Poisson zero term written with 1 − π) and three common ones: process_time, 10⁶ elements, best of 5.
Run it once with this branch on PYTHONPATH and once with its base (each with a SYMNET_CACHE of its own):

    PYTHONPATH=BASE SYMNET_CACHE=/tmp/a python benchmarks/break45_cost.py; SYMNET_CACHE=/tmp/b python ... (this branch)
"""
import warnings

import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)

FORMULAS = {
    "cosine eps": "1 - (a*c + b*d)/(sqrt(a**2 + b**2 + 1e-12)*sqrt(c**2 + d**2 + 1e-12))",
    "cosine weighted": "1 - (a*c + b*d)/sqrt((a**2 + 2*b**2)*(c**2 + 2*d**2))",
    "cosine reflected": "1 - (a*c - b*d)/sqrt((a**2 + b**2)*(c**2 + d**2))",
    "ZIP 1 - pi": "-log(sigmoid(a) + (1 - sigmoid(a))*exp(-l))",
    "sigmoid": "sigmoid(x)",
    "x*y + z": "x*y + z",
    "tanh layer": "tanh(w*x + b)",
}


def main():
    rng = np.random.default_rng(45)
    print(f"{'formula':<17} {'float64 ms':>11} {'float32 ms':>11}  {symnet.__file__}")
    for name, formula in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        row = []
        for dtype in (np.float64, np.float32):
            cols = {n: rng.normal(0, 2, 10 ** 6).astype(dtype) for n in kernel.inputs}
            if "l" in cols:
                cols["l"] = np.abs(cols["l"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row.append(best_of(lambda: kernel(**cols)) * 1e3)
        print(f"{name:<17} {row[0]:>11.1f} {row[1]:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
