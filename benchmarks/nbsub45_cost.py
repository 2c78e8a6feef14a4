"""nbsub45 cost: NumPy CPU time (time.process_time, 1e6 float64 elements, best of 5) of every output of the
negative-binomial and Student-t NLLs and of three common formulas, for the rules of this checkout; run it on two
checkouts and compare. Points: ordinary data (the fast paths) and the failing bands (the far forms)."""
import sys
import time
import warnings

import numpy as np

import symnet

FORMULAS = {
    "negbin": ("-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))", ["k", "mu", "r"]),
    "student_t": ("(nu + 1)/2*log(1 + (x - m)**2/(nu*s**2)) + log(s)", ["m", "nu", "s", "x"]),
    "sigmoid": ("sigmoid(x)", ["x"]),
    "xy_plus_z": ("x*y + z", ["x", "y", "z"]),
    "tanh_layer": ("tanh(w*x + b)", ["b", "w", "x"]),
}


def columns(name, names, n, rng, far):
    if name == "negbin":
        r = 10.0 ** rng.uniform(-323, -280, n) if far else 10.0 ** rng.uniform(-2, 3, n)
        return [rng.uniform(0, 5, n), 10.0 ** rng.uniform(-2, 4, n), r]
    if name == "student_t":
        lo, hi = (-200, -140) if far else (-1, 1)
        return [rng.normal(0, 3, n) * (10.0 ** lo if far else 1), 10.0 ** rng.uniform(0, 1.5, n),
                10.0 ** rng.uniform(lo, hi, n), rng.normal(0, 3, n) * (10.0 ** lo if far else 1)]
    return [rng.normal(0, 2, n) for _ in names]


def best(fn, args, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn(*args)
        times.append(time.process_time() - t)
    return min(times)


def main():
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(45)
    for name, (formula, names) in FORMULAS.items():
        kernel = symnet.compile(symnet.derive(formula), progress=False)
        for far in ((False, True) if name in ("negbin", "student_t") else (False,)):
            cols = columns(name, names, n, rng, far)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds = best(lambda *a: kernel(**dict(zip(names, a))), cols)
            print(f"{name:10} {'far' if far else 'ordinary':9} {seconds:8.3f} s", flush=True)


if __name__ == "__main__":
    main()
