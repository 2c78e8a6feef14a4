"""temp44 (session 44): NumPy CPU time of the formulas whose printed code temp44's rules change (softmax-weights'
∂T terms, scaled-max's f) and of three common ones: 1e6 elements, best of 5 (time.process_time), float64 and float32;
and the CPU time of symnet.compile of a written 8-logit temperature softmax cross-entropy (an empty cache). Run once
per code version (PYTHONPATH) and compare the two tables:
    PYTHONPATH=<old tree> python benchmarks/temp44_cost.py > old.txt
    PYTHONPATH=<new tree> python benchmarks/temp44_cost.py > new.txt
Also prints a hash of each generated source, so that identical code shows as identical."""
import hashlib
import os
import tempfile
import time
import warnings

import numpy as np

os.environ["SYMNET_CACHE"] = tempfile.mkdtemp(prefix="temp44_cost_")  # an empty cache: compile times are real
import symnet  # noqa: E402
from cpu_time import best_of  # noqa: E402  (benchmarks/cpu_time.py; run as a script from benchmarks/)

FORMULAS = {
    "-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T)))": ("T", "a", "b", "c"),
    "T*log(exp(a/T) + exp(b/T))": ("T", "a", "b"),
    "sigmoid(x)": ("x",),
    "x*y + z": ("x", "y", "z"),
    "tanh(w*x + b)": ("w", "x", "b"),
}
EIGHT = "-log(exp(s0/T)/(%s))" % " + ".join("exp(s%d/T)" % i for i in range(8))



def main():
    t0 = time.process_time()
    symnet.compile(symnet.derive(EIGHT), backend="numpy", progress=False)
    print(f"compile of the 8-logit cross-entropy: {time.process_time() - t0:.1f} CPU s", flush=True)
    rng = np.random.default_rng(0)
    n = 10 ** 6
    for formula, names in FORMULAS.items():
        k = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
        digest = hashlib.sha256(k.source.encode()).hexdigest()[:10]
        row = [f"{formula:50s}", digest]
        for dtype in (np.float64, np.float32):
            kwargs = {v: rng.uniform(-3, 3, n).astype(dtype) for v in names}
            if "T" in kwargs:
                kwargs["T"] = rng.uniform(0.5, 2.0, n).astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row.append(f"{np.dtype(dtype).name} {best_of(lambda: k(**kwargs)) * 1e3:8.1f} ms")
        print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
