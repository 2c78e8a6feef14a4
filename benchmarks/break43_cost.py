"""NumPy CPU time of the formulas break43's fixes print differently, and of three common ones: 1e6 elements, best of 5
(time.process_time), float64 and float32. Run once per code version (PYTHONPATH) and compare the two tables:
    PYTHONPATH=<old tree> python benchmarks/break43_cost.py > old.txt
    PYTHONPATH=<new tree> python benchmarks/break43_cost.py > new.txt
Also prints a hash of each generated source, so that identical code shows as identical."""
import hashlib
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "exp(a/T)/(exp(a/T) + exp(b/T))": ("T", "a", "b"),
    "sigmoid(x) - sigmoid(x - 701)": ("x",),
    "x - sqrt(x**2 + 4)": ("x",),
    "sigmoid(x)": ("x",),
    "x*y + z": ("x", "y", "z"),
    "tanh(w*x + b)": ("w", "x", "b"),
}


def best_of(fn, kwargs, repeats=5):
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn(**kwargs)
        times.append(time.process_time() - t0)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    n = 10 ** 6
    for formula, names in FORMULAS.items():
        k = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
        digest = hashlib.sha256(k.source.encode()).hexdigest()[:10]
        row = [f"{formula:36s}", digest]
        for dtype in (np.float64, np.float32):
            kwargs = {v: rng.uniform(-3, 3, n).astype(dtype) for v in names}
            if "T" in kwargs:
                kwargs["T"] = rng.uniform(0.5, 2.0, n).astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row.append(f"{np.dtype(dtype).name} {best_of(k, kwargs) * 1e3:8.1f} ms")
        print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
