"""Cost of session 27's NumPy lowerings (h-cells27): log(u)·(1/log 2) as one call of np.log2, 2^u as np.exp2, c·f(u)
of a rounded-once function with the product in float64 too (``_rounded_once(np.f, u, scale=c)``), selu written
{λx; λα·expm1(x)}, silu's x·σ(x) as _x_sigmoid(x): CPU seconds per 10⁶ points of each generated kernel (value and
gradient), min of repeats, float32 and float64. Run it on the tree before (``git archive`` of the commit before into a
folder, PYTHONPATH there) and after; each run prints one column.

    python benchmarks/cells27.py [--n 1000000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import symnet  # noqa: E402
from benchmarks.cpu_time import best  # noqa: E402

FORMULAS = ["log2(x)", "exp2(x)", "selu(x)", "3*exp(x)", "log2(x)*y", "silu(x)"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    rng = np.random.default_rng(27)
    print(f"symnet from {Path(symnet.__file__).resolve().parent.parent}")
    print("| formula | dtype | ms per 10⁶ points |")
    print("|---|---|---|")
    for formula in FORMULAS:
        kernel = symnet.compile(symnet.derive(formula))
        n_args = formula.count("y") + 1
        for dtype in (np.float32, np.float64):
            x = rng.uniform(0.01, 0.99, args.n) if "log" in formula else rng.standard_normal(args.n) * 3
            data = [x.astype(dtype)] + [rng.uniform(0, 1, args.n).astype(dtype) for _ in range(n_args - 1)]
            seconds = best(lambda: kernel(*data), args.repeat) * 1e6 / args.n
            print(f"| {formula} | {np.dtype(dtype).name} | {seconds * 1e3:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
