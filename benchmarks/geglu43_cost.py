"""NumPy CPU time (time.process_time, 1e6 elements, best of 5) of the kernels whose printing h-geglu43 changed and of
three common ones; run with PYTHONPATH at each tree and compare (helper geglu43, session 43). Prints one line per
formula: its seconds and a hash of its generated source (equal hashes: the same code)."""
import hashlib
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "GEGLU written": ("a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))/2*b", ["a", "b"]),
    "gelu_tanh(a)*b": ("gelu_tanh(a)*b", ["a", "b"]),
    "sigmoid": ("sigmoid(x)", ["x"]),
    "x*y + z": ("x*y + z", ["x", "y", "z"]),
    "tanh layer": ("tanh(w*x + b)", ["b", "w", "x"]),
}


def main():
    rng = np.random.default_rng(43)
    for name, (formula, names) in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        args = {n: rng.normal(0, 2, 1_000_000) for n in names}
        best = np.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(5):
                start = time.process_time()
                kernel(**args)
                best = min(best, time.process_time() - start)
        print(f"{name:16} {best:.4f} s  source {hashlib.sha1(kernel.source.encode()).hexdigest()[:10]}", flush=True)


if __name__ == "__main__":
    main()
