"""NumPy CPU time (time.process_time, 1e6 elements, best of 5) of the kernels helper geglu44 (session 44) made cheaper
and of three common ones, float64 and float32; run with PYTHONPATH at each tree and compare. One line per formula and
dtype: its seconds and a hash of its generated source (equal hashes: the same code)."""
import hashlib
import sys
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "GEGLU written": ("a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))/2*b", ["a", "b"]),
    "gelu_tanh(a)*b": ("gelu_tanh(a)*b", ["a", "b"]),
    "z/sqrt(x²+y²)": ("z/sqrt(x**2 + y**2)", ["x", "y", "z"]),
    "sigmoid": ("sigmoid(x)", ["x"]),
    "x*y + z": ("x*y + z", ["x", "y", "z"]),
    "tanh layer": ("tanh(w*x + b)", ["b", "w", "x"]),
}


def main():
    only = sys.argv[1:]
    for name, (formula, names) in FORMULAS.items():
        if only and name not in only:
            continue
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(43)
            args = {n: rng.normal(0, 2, 1_000_000).astype(dtype) for n in names}
            best = np.inf
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(5):
                    start = time.process_time()
                    kernel(**args)
                    best = min(best, time.process_time() - start)
            print(f"{name:16} {np.dtype(dtype).name}  {best:.4f} s  source "
                  f"{hashlib.sha1(kernel.source.encode()).hexdigest()[:10]}", flush=True)


if __name__ == "__main__":
    main()
