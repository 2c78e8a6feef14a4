"""pq45 (session 45): NumPy CPU time of the temperature cross-entropy with a constant logit, whose ∂T the
power-quotient rule now takes as Σ tᵢ/T² also where N is below the normal range (``_taken_below``: the widened sum
on those elements alone), and of three common formulas: 1e6 elements, best of 5 (time.process_time), float64 and
float32. The cross-entropy at two input sets: ordinary ones (T in [0.5, 2], a, b in [−3, 3]: no element needs the
written sum) and issue 16's (T in [1e−30, 1e−20], a subnormal, b in −[1e100, 1e300]: every element needs it; float64
only, as the inputs are not float32 numbers). Run once per code version (PYTHONPATH) and compare the two tables:
    PYTHONPATH=<old tree> python benchmarks/pq45_cost.py > old.txt
    PYTHONPATH=<new tree> python benchmarks/pq45_cost.py > new.txt
Also prints a hash of each generated source, so that identical code shows as identical."""
import hashlib
import os
import tempfile
import warnings

import numpy as np

os.environ["SYMNET_CACHE"] = tempfile.mkdtemp(prefix="pq45_cost_")  # an empty cache
import symnet  # noqa: E402
from cpu_time import best_of  # noqa: E402  (benchmarks/cpu_time.py; run as a script from benchmarks/)

CE = "log(exp(a/T) + exp(b/T) + 1) - a/T"
FORMULAS = {
    CE: ("T", "a", "b"),
    "sigmoid(x)": ("x",),
    "x*y + z": ("x", "y", "z"),
    "tanh(w*x + b)": ("w", "x", "b"),
}
N = 10 ** 6


def _ordinary(names, dtype, rng):
    kwargs = {v: rng.uniform(-3, 3, N).astype(dtype) for v in names}
    if "T" in kwargs:
        kwargs["T"] = rng.uniform(0.5, 2.0, N).astype(dtype)
    return kwargs


def _subnormal(rng):
    """issue 16's inputs (tests/test_break44.py's test at a subnormal logit)."""
    return {"T": 10.0 ** rng.uniform(-30, -20, N), "a": -10.0 ** rng.uniform(-323.3, -310, N),
            "b": -10.0 ** rng.uniform(100, 300, N)}


def main():
    rng = np.random.default_rng(0)
    for formula, names in FORMULAS.items():
        k = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
        digest = hashlib.sha256(k.source.encode()).hexdigest()[:10]
        row = [f"{formula:40s}", digest]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for dtype in (np.float64, np.float32):
                kwargs = _ordinary(names, dtype, rng)
                row.append(f"{np.dtype(dtype).name} {best_of(lambda: k(**kwargs)) * 1e3:8.1f} ms")
            if formula == CE:
                kwargs = _subnormal(rng)
                row.append(f"subnormal a float64 {best_of(lambda: k(**kwargs)) * 1e3:8.1f} ms")
        print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
