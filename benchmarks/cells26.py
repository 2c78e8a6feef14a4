"""Cost of session 26's NumPy lowerings (h-cells26): NumPy's float32 transcendentals in float64, rounded once
(``_rounded_once`` of symnet/registry.py) and x^(y + c) with the rounding of y + c restored (``_power_shifted`` of the
NumPy printer): CPU seconds per 10⁶ points of each kernel, min of repeats, float32 and float64, the generated kernel
beside the same source with each ``_rounded_once(np.f, …)`` call written back as ``np.f(…)`` and each
``_power_shifted(b, y, c)`` as ``b**(y + c)`` (the lowerings before session 26), measured in one run. The widen rule's
margin (hinge, squared_hinge) changes the kernel itself: its cost is measured by running this script on the code
before (``git checkout`` of the commit before, or main) and after.

    python benchmarks/cells26.py [--n 1000000] [--repeat 7] [--only "hinge(x, t),,squared_hinge(x, t)"]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import symnet  # noqa: E402
from benchmarks.cpu_time import best  # noqa: E402

FORMULAS = ["exp(x)", "expm1(x)", "log(x)", "tan(x)", "tanh(x)", "atan(x)", "sinh(x)", "elu(x)", "selu(x)",
            "softplus(x)", "silu(x)", "log2(x)", "bce(x, t)", "hinge(x, t)", "squared_hinge(x, t)", "x**y"]


def kernels(formula: str):
    """(after, before): the generated kernel, and its source with NumPy's own float32 calls."""
    compiled = symnet.compile(symnet.derive(formula))
    # (session 27's c·f(u) with the product in float64, scale=c: written back as f(u)·c)
    before = re.sub(r"_rounded_once\(np\.(\w+), ([^,()]+), scale=([^,()]+)\)", r"np.\1(\2) * \3", compiled.source)
    before = re.sub(r"_rounded_once\(np\.(\w+), ", r"np.\1(", before)
    before = re.sub(r"_power_shifted\((\w+), (\w+), (-?\d+)\)", r"\1**(\2 + \3)", before)
    space: dict = {}
    exec(compile(before, f"<before {formula}>", "exec"), space)  # noqa: S102 - the generated module, rewritten
    return compiled, space[compiled.kernel.name]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--only", help="formulas of FORMULAS, separated by two commas: 'hinge(x, t),,exp(x)'")
    args = p.parse_args(argv)
    wanted = None if args.only is None else {f.replace(" ", "") for f in args.only.split(",,")}
    rng = np.random.default_rng(26)
    print("| formula | dtype | before (NumPy's own) | after (float64, rounded once) | ratio |")
    print("|---|---|---|---|---|")
    for formula in FORMULAS:
        if wanted is not None and formula.replace(" ", "") not in wanted:
            continue
        after, before = kernels(formula)
        n_args = len(after.kernel.inputs) if hasattr(after.kernel, "inputs") else formula.count(",") + 1
        for dtype in (np.float32, np.float64):
            x = rng.uniform(0.01, 0.99, args.n) if formula in ("log(x)", "log2(x)", "bce(x, t)", "x**y") \
                else rng.standard_normal(args.n) * 3
            data = [x.astype(dtype)] + [rng.uniform(0, 1, args.n).astype(dtype) for _ in range(n_args - 1)]
            b = best(lambda: before(*data), args.repeat) * 1e6 / args.n
            a = best(lambda: after(*data), args.repeat) * 1e6 / args.n
            print(f"| {formula} | {np.dtype(dtype).name} | {b:.4f} | {a:.4f} | {a / b:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
