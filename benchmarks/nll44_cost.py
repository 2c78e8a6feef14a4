"""NumPy CPU time of the compiled kernels that session 44's nll44 rules change, and of three common formulas
(time.process_time, 1e6 elements, best of 5; float64 and float32). Run it in two checkouts (PYTHONPATH) and compare:

    PYTHONPATH=. python benchmarks/nll44_cost.py
"""
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "negative-binomial NLL": ("-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))", {"k": "poisson", "mu": "pos", "r": "pos"}),
    "Student-t NLL (4 inputs)": ("(nu + 1)/2*log(1 + (x - m)**2/(nu*s**2)) + log(s)",
                                 {"m": "normal", "nu": "pos", "s": "pos", "x": "normal"}),
    "Student-t NLL (3 inputs)": ("(nu + 1)/2*log(1 + (x - mu)**2/nu)", {"mu": "normal", "nu": "pos", "x": "normal"}),
    "sigmoid": ("sigmoid(x)", {"x": "normal"}),
    "x*y + z": ("x*y + z", {"x": "normal", "y": "normal", "z": "normal"}),
    "tanh layer": ("tanh(w*x + b)", {"b": "normal", "w": "normal", "x": "normal"}),
}


def _column(kind, rng, n):
    if kind == "poisson":
        return rng.poisson(3, n).astype(float)
    if kind == "pos":
        return np.exp(rng.uniform(np.log(0.1), np.log(30), n))
    return rng.normal(0, 3, n)


def main(n=1_000_000, repeats=5):
    rng = np.random.default_rng(44)
    for name, (formula, kinds) in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        columns = {v: _column(k, rng, n) for v, k in kinds.items()}
        for dtype in (np.float64, np.float32):
            args = {v: c.astype(dtype) for v, c in columns.items()}
            best = float("inf")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(repeats):
                    t0 = time.process_time()
                    kernel(**args)
                    best = min(best, time.process_time() - t0)
            print(f"{name:28s} {np.dtype(dtype).name:8s} {best * 1e3:9.1f} ms")


if __name__ == "__main__":
    main()
