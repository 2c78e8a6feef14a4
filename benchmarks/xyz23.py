"""The cost of widening a sum of products of inputs (x·y − z, w·x − t, a linear model's (w·x + b − t)²; task h-xyz23):
CPU seconds per 10⁶ points of each formula's NumPy kernel (f and every ∂), float32 and float64, side by side in one
run, the kernels taking turns within each round:

* ``plain``: the kernel of ``--before-root`` (main: such a sum not widened, one rounding per operation: 5.8e15 ULP
  for x·y − z at z = fl(x·y));
* ``round22`` (with ``--round22-root``, a checkout of a8a6ad2^): h-round22's widened sum, the whole double-word
  function on every block (its bound, then its triple-word and subnormal tests on every element);
* ``this``: this checkout's: the float64 body and its bound, Sum2 (TwoSum, TwoProduct) on the elements whose bound
  is past ``within`` of the value only (gathered), the whole function past Sum2 (doubleword._product_sum_front).

Data (seeded): ``apart``: nothing cancels (x, y, w in [1, 2], b in [0, 1], z, t in [−1, 0]); ``random``: every input
in [−2, 2] (x·y − z: 16 % of the elements within a factor 2 of cancelling, which the bound sends to Sum2); ``all``: z
(t) the float64 rounding of x·y (w·x + b), every element cancels to its last bits.

Each run in a process with MALLOC_MMAP_THRESHOLD_=2³⁰ (set here, the script started again): the kernels' output
arrays (np.empty, 1.6 MB each) otherwise come from fresh mmap'd pages at some calls and not at others, page faults
that made the same plain float64 kernel 0.0014 or 0.0094 s per 10⁶ points from one run to the next.

    python benchmarks/xyz23.py [--n 200000] [--repeat 5] --before-root /work/main [--round22-root DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bound_cost import _load, before_kernels, cpu_seconds, machine  # noqa: E402

import symnet  # noqa: E402

CASES = {"(w*x + b - t)**2": ("b", "t", "w", "x"), "w*x - t": ("t", "w", "x"), "x*y - z": ("x", "y", "z")}
_PRODUCT = {"x": "y", "w": "x"}  # the first factor of each formula's product → the second


def data(formula: str, kind: str, rng, n: int) -> dict:
    inputs = CASES[formula]
    if kind == "random":
        return {k: rng.uniform(-2, 2, n) for k in inputs}
    out = {k: rng.uniform(1, 2, n) for k in inputs if k in "xyw"}
    out.update({k: rng.uniform(0, 1, n) for k in inputs if k == "b"})
    target = "z" if "z" in inputs else "t"
    if kind == "apart":
        out[target] = rng.uniform(-1, 0, n)
    else:  # every element: the target is the float64 value of the rest
        first = "x" if "y" in inputs else "w"
        out[target] = out[first] * out[_PRODUCT[first]] + out.get("b", 0.0)
    return out


def main() -> None:
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:  # (the docstring: page faults of fresh output arrays)
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2 ** 30)})
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before-root", required=True, help="main's checkout: the plain kernels")
    parser.add_argument("--round22-root", default=None, help="a checkout of a8a6ad2^ (h-round22's widened products)")
    a = parser.parse_args()
    before = before_kernels(a.before_root, list(CASES))
    round22 = before_kernels(a.round22_root, list(CASES)) if a.round22_root else {}
    rng = np.random.default_rng(0)
    print(f"CPU s per 10⁶ points (min of {a.repeat}, {a.n:.0e} points), NumPy {np.__version__}, {machine()}")
    head = "| formula | data | dtype | plain | " + ("round22 | round22 / plain | " if round22 else "") + "this | this / plain |"
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    scale = 1e6 / a.n
    for formula, inputs in CASES.items():
        kernel = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
        functions = [_load(*before[formula]), kernel] + ([_load(*round22[formula])] if round22 else [])
        for kind in ("apart", "random", "all"):
            columns = data(formula, kind, rng, a.n)
            for dtype in (np.float32, np.float64):
                args = {k: columns[k].astype(dtype) for k in inputs}
                if kind == "all" and dtype == np.float32:  # the target rounded to float32 from the float64 value
                    args = {k: v.astype(np.float64).astype(dtype) for k, v in args.items()}
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    for fn in functions:
                        fn(**args)
                    times = [t * scale for t in cpu_seconds(functions, args, a.repeat)]
                plain, this = times[0], times[1]
                row = f"| `{formula}` | {kind} | {np.dtype(dtype).name} | {plain:.4f} | "
                if round22:
                    row += f"{times[2]:.4f} | {times[2] / plain:.2f} | "
                print(row + f"{this:.4f} | {this / plain:.2f} |", flush=True)


if __name__ == "__main__":
    main()
