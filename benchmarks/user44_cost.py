"""NumPy CPU time (time.process_time, 10⁶ elements, best of 5) of the functions symnet.compile generates for the
Charbonnier loss √(x² + ε²) − ε (session 44's conjugate-rule change) and three common formulas, value and every
gradient, float64 and float32. Run it once per tree and compare, e.g.
    PYTHONPATH=/path/to/base python benchmarks/user44_cost.py; PYTHONPATH=$PWD python benchmarks/user44_cost.py
(with separate SYMNET_CACHE folders); results/user44_cost.txt holds session 44's runs."""
import time
import warnings

import numpy as np

import symnet

FORMULAS = {"charbonnier": "sqrt(x**2 + eps**2) - eps", "sigmoid": "sigmoid(x)", "x*y + z": "x*y + z",
            "tanh layer": "tanh(w*x + b)"}


def main():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    print(f"{'formula':<12} {'dtype':<8} {'ms':>7}")
    for name, formula in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        for dtype in (np.float64, np.float32):
            args = {n: rng.standard_normal(10**6).astype(dtype) for n in kernel.inputs}
            if "eps" in args:
                args["eps"] = np.abs(args["eps"]) + dtype(0.1)
            best = np.inf
            for _ in range(5):
                start = time.process_time()
                kernel(**args)
                best = min(best, time.process_time() - start)
            print(f"{name:<12} {np.dtype(dtype).name:<8} {best * 1000:7.1f}")


if __name__ == "__main__":
    main()
