"""NumPy time of the kernels session 38 (h-laplace38) changed or meant not to change: widen-quotients (narrowed and
guarded) and tanhshrink's target form. 1e6 elements, float64 and float32, the median and least of five calls after a
warm-up. Run it in two trees (main and the change) one after the other on a quiet machine and compare the rows:

    PYTHONPATH=$PWD python benchmarks/quotients38.py
"""
import time
import warnings

import numpy as np

import symnet

LAPLACE = "log(b) - log(k/(1 + k**2)) + where(t - p >= 0, k*(t - p)/b, (p - t)/(k*b))"
DK = "(t - p)/b - 1/k + 2*k/(1 + k**2)"  # the Laplace NLL's ∂κ for t ≥ p, as a formula of its own
GRU = "(1 - sigmoid(a*x + b*h))*h + sigmoid(a*x + b*h)*tanh(c*x + d*h)"
CASES = [("1/x - 1/y", None, "xy"), ("x/y - y/x", None, "xy"), (DK, None, "bkpt"), (LAPLACE, ["k"], "bkpt"),
         (GRU, None, "abcdhx")]


def main(n=10 ** 6, calls=5):
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    data = {"x": rng.uniform(0.5, 4, n), "y": rng.uniform(0.5, 4, n), "b": rng.uniform(0.1, 5, n),
            "k": rng.uniform(0.05, 20, n), "p": rng.uniform(-3, 3, n), "t": rng.uniform(-3, 3, n),
            "a": rng.uniform(-2, 2, n), "c": rng.uniform(-2, 2, n), "d": rng.uniform(-2, 2, n),
            "h": rng.uniform(-1.5, 1.5, n)}
    print(f"{'formula':46s} {'dtype':8s} {'median ms':>10s} {'least ms':>9s}")
    for formula, wrt, names in CASES:
        kernel = symnet.compile(symnet.derive(formula, wrt=wrt), progress=False)
        for dtype in (np.float64, np.float32):
            args = {v: data[v].astype(dtype) for v in names}
            kernel(**args)
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                kernel(**args)
                times.append(time.perf_counter() - start)
            print(f"{formula[:44]:46s} {np.dtype(dtype).name:8s} {1e3 * np.median(times):10.1f} {1e3 * min(times):9.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
