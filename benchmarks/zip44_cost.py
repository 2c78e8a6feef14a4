"""NumPy CPU time (time.process_time, 10⁶ elements, best of 5) of the functions symnet.compile generates for the
zero-inflated Poisson NLL's zero term −log(σ(a) + σ(−a)·e^(−λ)) and the Poly-1 mixture 1 − t·σ(z) − (1 − t)·σ(−z)
(session 44's sigmoid-mixture-log, common-factor-expm1 and halved-sum-factor rules) and three common formulas, value
and every gradient, float64 and float32. Run it once per tree and compare, e.g.
    PYTHONPATH=/path/to/base python benchmarks/zip44_cost.py; PYTHONPATH=$PWD python benchmarks/zip44_cost.py
(with separate SYMNET_CACHE folders); results/zip44_cost.txt holds session 44's runs."""
import time
import warnings

import numpy as np

import symnet

FORMULAS = {"zip zero": "-log(sigmoid(a) + sigmoid(-a)*exp(-lam))", "poly-1": "1 - t*sigmoid(z) - (1 - t)*sigmoid(-z)",
            "sigmoid": "sigmoid(x)", "x*y + z": "x*y + z", "tanh layer": "tanh(w*x + b)"}


def main():
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    print(f"{'formula':<12} {'dtype':<8} {'ms':>7}")
    for name, formula in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        for dtype in (np.float64, np.float32):
            args = {n: rng.standard_normal(10**6).astype(dtype) for n in kernel.inputs}
            if "lam" in args:  # λ > 0: 10^[−30, 3]
                args["lam"] = (10 ** rng.uniform(-30, 3, 10**6)).astype(dtype)
                args["a"] = rng.uniform(-40, 40, 10**6).astype(dtype)
            best = np.inf
            for _ in range(5):
                start = time.process_time()
                kernel(**args)
                best = min(best, time.process_time() - start)
            print(f"{name:<12} {np.dtype(dtype).name:<8} {best * 1000:7.1f}")


if __name__ == "__main__":
    main()
