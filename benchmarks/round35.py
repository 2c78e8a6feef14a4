"""The long-product rule's cost (session 35, h-round35): each formula's NumPy kernel compiled with the rule and without
it (the rule taken out of RULES), run side by side in one process on the same float64 arrays, best of ``--repeats``;
prints a table of times and their ratio. Not a test (no timed assertions).

    python benchmarks/round35.py [--n 200000] [--repeats 7]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ["SYMNET_NO_DISK_CACHE"] = "1"  # both kernels generated here, from the rules as they are set below

import symnet  # noqa: E402
from symnet.codegen import rewrite  # noqa: E402

FORMULAS = {  # name: (formula, {input: (low, high)})
    "2-layer net, squared error": ("(w2*tanh(w1*x+b1)+b2 - y)**2",
                                   {"b1": (-5, 5), "b2": (-2, 2), "w1": (-2, 2), "w2": (-2, 2), "x": (-2, 2),
                                    "y": (-3, 3)}),
    "σ nested 5 deep": ("sigmoid(sigmoid(sigmoid(sigmoid(sigmoid(x*y)*y)*y)*y)*y)", {"x": (-3, 3), "y": (-3, 3)}),
    "(gelu(x/y))^−2": ("(gelu((x) / (y)))**(-2)", {"x": (-3, 3), "y": (-3, 3)}),
}


def _kernel(formula, with_rule: bool):
    saved = rewrite.RULES
    if not with_rule:
        rewrite.pipeline.RULES = tuple(r for r in saved if r is not rewrite.LONG_PRODUCT)
    try:
        name = "with_long_product" if with_rule else "without_long_product"  # (compile's cache: one each)
        return symnet.compile(symnet.derive(formula, progress=False), name=name, progress=False)
    finally:
        rewrite.pipeline.RULES = saved


def _best(kernel, args, repeats):
    kernel(**args)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        kernel(**args)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=7)
    opts = parser.parse_args()
    rng = np.random.default_rng(35)
    print(f"{'formula':30} {'without (ms)':>13} {'with (ms)':>10} {'ratio':>6}   ({opts.n} float64 elements)")
    for name, (formula, ranges) in FORMULAS.items():
        args = {v: rng.uniform(lo, hi, opts.n) for v, (lo, hi) in ranges.items()}
        before, after = _kernel(formula, False), _kernel(formula, True)
        assert "long-product" in after.source and "long-product" not in before.source, name
        times = {"before": [], "after": []}
        for _ in range(3):  # interleaved, so that load on the machine falls on both
            times["before"].append(_best(before, args, opts.repeats))
            times["after"].append(_best(after, args, opts.repeats))
        b, a = min(times["before"]), min(times["after"])
        print(f"{name:30} {b * 1e3:13.1f} {a * 1e3:10.1f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
