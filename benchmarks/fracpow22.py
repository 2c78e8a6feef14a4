"""The cost of NumPy's ``_fracpow`` (constant fractional powers, session 22): each generated kernel (value and
gradient) beside a naive NumPy reference written by hand (``naive_*`` below: b**e with e rounded, one rounding per
operation), in CPU milliseconds (the box is shared: wall time means little), the minimum of the repeats. Run it from
the tree before the change too (PYTHONPATH=that tree) for the before column: the kernel's ratio to the naive form is
comparable across runs.

    cd benchmarks && python3 fracpow22.py [--size N] [--repeat R]

* x·(1 + x²)^(3/10) on x normal, float64 and float32 (session 21's _fracpow made the float64 kernel 3–4× slower)
* x^(2/3) (cbrt) and x^(1000/3) (x in [0.5, 1.5]) on float64

Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os
import resource

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402


def naive_x_power_sum(x):
    s = 1 + x * x
    return x * s ** 0.3, s ** 0.3 + 0.6 * x * x * s ** -0.7


def naive_two_thirds(x):
    return x ** (2 / 3), (2 / 3) * x ** (-1 / 3)


def naive_thousand_thirds(x):
    return x ** (1000 / 3), (1000 / 3) * x ** (997 / 3)


def _cpu_ms(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        r = resource.getrusage(resource.RUSAGE_SELF)
        start = r.ru_utime + r.ru_stime
        fn()
        r = resource.getrusage(resource.RUSAGE_SELF)
        best = min(best, r.ru_utime + r.ru_stime - start)
    return best * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = [("x*(1+x**2)**(3/10)", rng.normal(size=args.size), naive_x_power_sum, (np.float64, np.float32)),
             ("x**(2/3)", rng.uniform(0.1, 10, args.size), naive_two_thirds, (np.float64,)),
             ("x**(1000/3)", rng.uniform(0.5, 1.5, args.size), naive_thousand_thirds, (np.float64,))]
    print(f"{'formula':24} {'dtype':8} {'kernel ms':>10} {'naive ms':>9} {'ratio':>6}   (CPU, min of {args.repeat})")
    for formula, x, naive, dtypes in cases:
        kernel = symnet.compile(symnet.derive(formula, wrt=["x"]), backend="numpy")
        for dtype in dtypes:
            xd = x.astype(dtype)
            with np.errstate(all="ignore"):
                ours = _cpu_ms(lambda: kernel(x=xd), args.repeat)
                theirs = _cpu_ms(lambda: naive(xd), args.repeat)
            print(f"{formula:24} {np.dtype(dtype).name:8} {ours:10.2f} {theirs:9.2f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
