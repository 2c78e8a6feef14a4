"""Session 46 (h-smax46): NumPy CPU time of the generated kernels the smax46 change touches, and of three common ones.

Each formula's kernel (value and every gradient) on 10⁶ float64 elements, time.process_time, best of 5; run it on two
checkouts and compare (``python benchmarks/smax46_cost.py`` prints one line a formula: its CPU seconds).
"""
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "smooth max, 2 logits": "T*log(exp(a/T) + exp(b/T))",
    "smooth max, 2 logits + constant": "T*log(exp(a/T) + exp(b/T) + 1)",
    "smooth max, 3 logits": "T*log(exp(a/T) + exp(b/T) + exp(c/T))",
    "log-sum-exp, 3": "log(exp(a) + exp(b) + exp(c))",
    "cross-entropy, 3": "-log(exp(a)/(exp(a) + exp(b) + exp(c)))",
    "sigmoid": "1/(1 + exp(-x))",
    "x*y + z": "x*y + z",
    "tanh layer": "tanh(w*x + b)",
}


def inputs(names, n, seed=46):
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        out[name] = 10.0 ** rng.uniform(-2, 1, n) if name == "T" else rng.uniform(-5, 5, n)
    return out


def cpu_seconds(formula, n=10**6, repeats=5):
    derivation = symnet.derive(formula)
    kernel = symnet.compile(derivation, progress=False)
    args = inputs([str(s) for s in derivation.wrt], n)
    best = float("inf")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(repeats):
            start = time.process_time()
            kernel(**args)
            best = min(best, time.process_time() - start)
    return best


if __name__ == "__main__":
    for label, formula in FORMULAS.items():
        print(f"{label:34s} {cpu_seconds(formula):.3f}")
