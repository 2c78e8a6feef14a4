"""NumPy CPU time of the formulas ent44's fixes print differently, and of three common ones: 1e6 elements, best of 5
(time.process_time), float64 and float32. Run once per code version (PYTHONPATH) and compare the two tables:
    PYTHONPATH=<old tree> python benchmarks/ent44_cost.py > old.txt
    PYTHONPATH=<new tree> python benchmarks/ent44_cost.py > new.txt
Also prints a hash of each generated source, so that identical code shows as identical. Inputs uniform in [−3, 3]
(s of the scaled asinh and its sign in [0.5, 2]), so the near branches are timed."""
import hashlib
import warnings

import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)

FORMULAS = {
    "log(exp(a) + exp(-a)) - (a*exp(a) - a*exp(-a))/(exp(a) + exp(-a))": ("a",),
    "-(exp(a)/(exp(a)+exp(b)))*log(exp(a)/(exp(a)+exp(b))) - (exp(b)/(exp(a)+exp(b)))*log(exp(b)/(exp(a)+exp(b)))":
        ("a", "b"),
    "(1 - (x - m)**2*exp(-s))/2": ("m", "s", "x"),
    "s*asinh(2*x/s)": ("s", "x"),
    "sigmoid(x)": ("x",),
    "x*y + z": ("x", "y", "z"),
    "tanh(w*x + b)": ("w", "x", "b"),
}



def main():
    rng = np.random.default_rng(0)
    n = 10 ** 6
    for formula, names in FORMULAS.items():
        k = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
        digest = hashlib.sha256(k.source.encode()).hexdigest()[:10]
        row = [f"{formula[:40]:40s}", digest]
        for dtype in (np.float64, np.float32):
            kwargs = {v: rng.uniform(-3, 3, n).astype(dtype) for v in names}
            if "asinh" in formula:
                kwargs["s"] = (rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 2.0, n)).astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                row.append(f"{np.dtype(dtype).name} {best_of(lambda: k(**kwargs)) * 1e3:8.1f} ms")
        print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
