"""The cost of the square-sum-power rule (session 23): the generated NumPy kernel (value and gradient) of a
fractional power of c + w·x² with the rule, beside the same formula generated with that one rule left out (the plain
form: inf/NaN past |x| ≈ 1.8e19 in float32, 1.3e154 in float64), in CPU milliseconds per call (the box is shared:
wall time means little), the minimum of the repeats. Data: x normal (no element past the rule's |x| = 2⁶⁰), and
the same with 1 % of the elements at ±1e25 (``far`` column; the plain form is inf/NaN there). Run it from the tree
before the change too (PYTHONPATH=that tree) for the before column: the ratio to the plain form compares across
runs.

    cd benchmarks && python3 rules23.py [--size N] [--repeat R]

Session 22 computed both branches of the rule's select everywhere (x·(1 + x²)^0.3 float64 0.012 → 0.021 s per 10⁶
points); session 23 computes the scaled branch only on the elements past 2⁶⁰ (elementwise.far_branches).
Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import os
import resource

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from symnet.codegen import rewrite  # noqa: E402

FORMULAS = ["x*(1+x**2)**(3/10)", "(2+3*x**2)**(-2/3)", "x**2*(1+x**2)**(1/3)"]


def _cpu_ms(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        r = resource.getrusage(resource.RUSAGE_SELF)
        start = r.ru_utime + r.ru_stime
        fn()
        r = resource.getrusage(resource.RUSAGE_SELF)
        best = min(best, r.ru_utime + r.ru_stime - start)
    return best * 1e3


def _plain_kernel(formula):
    """The kernel generated with every rule but square-sum-power."""
    every = rewrite.RULES
    rewrite.pipeline.RULES = tuple(r for r in every if r.name != "square-sum-power")
    try:
        return symnet.compile(symnet.derive(formula, wrt=["x"]), backend="numpy", name="plain")  # (its own cache entry)
    finally:
        rewrite.pipeline.RULES = every


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=args.size)
    far = x.copy()
    far[rng.choice(args.size, args.size // 100, replace=False)] = 1e25 * np.sign(rng.normal(size=args.size // 100))
    print(f"{'formula':22} {'dtype':8} {'rule ms':>8} {'plain ms':>9} {'ratio':>6} {'rule, 1% far':>13}"
          f"   (CPU, min of {args.repeat})")
    for formula in FORMULAS:
        kernel = symnet.compile(symnet.derive(formula, wrt=["x"]), backend="numpy")
        plain = _plain_kernel(formula)
        assert "square-sum-power" in kernel.source and "square-sum-power" not in plain.source
        for dtype in (np.float64, np.float32):
            xd, fard = x.astype(dtype), far.astype(dtype)
            with np.errstate(all="ignore"):
                ours = _cpu_ms(lambda: kernel(x=xd), args.repeat)
                theirs = _cpu_ms(lambda: plain(x=xd), args.repeat)
                out = _cpu_ms(lambda: kernel(x=fard), args.repeat)
            print(f"{formula:22} {np.dtype(dtype).name:8} {ours:8.2f} {theirs:9.2f} {ours / theirs:6.2f} {out:13.2f}")


if __name__ == "__main__":
    main()
