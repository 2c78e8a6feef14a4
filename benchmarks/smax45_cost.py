"""smax45: NumPy CPU time (time.process_time, 1e6 float64 elements, best of 5) of the kernels this branch changed and
of three common ones. Run from the repository root with PYTHONPATH=. and tests/ importable."""
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, "tests")
from conftest import compiled  # noqa: E402

FORMULAS = {"T*log(exp(a/T) + exp(b/T) + 1)": "T a b", "sigmoid(x)": "x", "x*y + z": "x y z",
            "tanh(w*x + b)": "b w x"}

rng = np.random.default_rng(0)
for formula, names in FORMULAS.items():
    kernel = compiled(formula)
    args = {n: rng.uniform(0.1, 3, 10**6) for n in names.split()}
    best = float("inf")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for _ in range(5):
            t = time.process_time()
            kernel(**args)
            best = min(best, time.process_time() - t)
    print(f"{formula:40s} {best:.4f} s")
