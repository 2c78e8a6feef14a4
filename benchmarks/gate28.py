"""Cost of session 28's bound-gated double-word fronts (task h-gate28): CPU seconds per 10⁶ points of each generated
NumPy kernel (value and gradients), the minimum over interleaved rounds of the best of two calls, float64 and float32,
in one run: the kernel as generated in this tree beside the same kernels saved by ``--dump DIR`` from other trees
(each a column, in the order given). Interleaved, so that the shared box's load falls on every column alike:

    PYTHONPATH=/tmp/plain python3 benchmarks/gate28.py --dump /tmp/k-plain   # e.g. the tree before 404e532
    PYTHONPATH=/tmp/main python3 benchmarks/gate28.py --dump /tmp/k-main     # main before this task
    python3 benchmarks/gate28.py --before /tmp/k-plain /tmp/k-main [--n 1000000] [--rounds 5]

Data: squareplus's x 3·N(0, 1) (as benchmarks/cells27.py); the Student-t NLL's ν uniform in (1, 30), x ~ N(0, 1)
(as benchmarks/studt27.py); exp2's x 3·N(0, 1).

Measured (2026-12-04, h-gate28, 10⁶ points, min of 5 interleaved rounds, 2 shared cores at load 8–12; k-plain: the tree
before 404e532, squareplus′ not widened; k-main: 41c709e, before this task):

| kernel | dtype | this tree | k-plain | k-main | this / k-plain | this / k-main |
|---|---|---|---|---|---|---|
| squareplus | float64 | 0.1641 | 0.0544 | 0.2118 | 3.02 | 0.77 |
| squareplus | float32 | 0.0608 | 0.0262 | 0.0584 | 2.32 | 1.04 |
| student | float64 | 0.5306 | 0.4300 | 0.5500 | 1.23 | 0.96 |
| student | float32 | 0.1979 | 0.1683 | 0.2170 | 1.18 | 0.91 |
| exp2 | float64 | 0.0132 | 0.0281 | 0.0123 | 0.47 | 1.07 |
| exp2 | float32 | 0.0226 | 0.0100 | 0.0107 | 2.27 | 2.11 |

squareplus: its double words on x < 0 only (before: every element); the float32 kernel has none (its float64 block
is the cost against k-plain). student: before the log1p-series gate (noise). exp2 float32: a second float64 exp2 for
f′. After the gate (|G + R| < |R|/2 widened inside the window: 18% of these points), the same run with pytest beside:

| kernel | dtype | this tree | k-plain | k-main | this / k-plain | this / k-main |
|---|---|---|---|---|---|---|
| squareplus | float64 | 0.1553 | 0.0511 | 0.2197 | 3.04 | 0.71 |
| squareplus | float32 | 0.0530 | 0.0269 | 0.0529 | 1.97 | 1.00 |
| student | float64 | 0.5572 | 0.3670 | 0.4415 | 1.52 | 1.26 |
| student | float32 | 0.1808 | 0.1486 | 0.1472 | 1.22 | 1.23 |

(float32 gains nothing from the gate, its series is float64 already, but pays for it: the rule knows no dtype.)
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent.parent))  # (after PYTHONPATH: --dump from another tree)

import symnet  # noqa: E402
from benchmarks.cpu_time import best  # noqa: E402

# (file name, formula, wrt)
KERNELS = [("squareplus", "(x + sqrt(x**2 + 4))/2", None), ("student", "0.5*(nu + 1)*log(1 + x**2/nu)", "nu"),
           ("exp2", "exp2(x)", None)]


def source(formula: str, wrt) -> str:
    """The generated NumPy module of ``formula``."""
    return symnet.compile(symnet.derive(formula, wrt=wrt) if wrt else symnet.derive(formula), progress=False).source


def kernel_of(text: str, name: str):
    """The function ``kernel`` of a generated module's ``text``."""
    space: dict = {}
    exec(compile(text, f"<{name}>", "exec"), space)  # noqa: S102 - a module symnet generated
    return space["kernel"]


def data(name: str, n: int, rng) -> dict:
    """The inputs of kernel ``name`` by input name (float64)."""
    if name == "student":
        return {"nu": rng.uniform(1, 30, n), "x": rng.standard_normal(n)}
    return {"x": rng.standard_normal(n) * 3}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dump", help="write each kernel's generated module to this folder, and stop")
    p.add_argument("--before", nargs="*", default=[], help="folders written by --dump in other trees: a column each")
    p.add_argument("--only", nargs="*", help="kernel names to time (default: all)")
    args = p.parse_args(argv)
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        for name, formula, wrt in KERNELS:
            (Path(args.dump) / f"{name}.py").write_text(source(formula, wrt))
        return 0
    rng = np.random.default_rng(28)
    columns = ["this tree"] + [Path(b).name for b in args.before]
    print(f"| kernel | dtype | {' | '.join(columns)} |" + "".join(f" this / {c} |" for c in columns[1:]))
    print("|---|---|" + "---|" * (2 * len(columns) - 1))
    for name, formula, wrt in KERNELS:
        if args.only and name not in args.only:
            continue
        kernels = [kernel_of(source(formula, wrt), name)]
        kernels += [kernel_of((Path(b) / f"{name}.py").read_text(), name) for b in args.before]
        inputs = data(name, args.n, rng)
        for dtype in (np.float64, np.float32):
            typed = {k: v.astype(dtype) for k, v in inputs.items()}
            calls = [(lambda k=k: k(**{a: typed[a] for a in inspect.signature(k).parameters})) for k in kernels]
            times = [best(c, 2) for c in calls]
            for _ in range(args.rounds - 1):  # interleaved: the box's load falls on every column alike
                times = [min(t, best(c, 2)) for t, c in zip(times, calls)]
            per = [t * 1e6 / args.n for t in times]
            cells = " | ".join(f"{t:.4f}" for t in per)
            ratios = "".join(f" {per[0] / t:.2f} |" for t in per[1:])
            print(f"| {name} | {np.dtype(dtype).name} | {cells} |{ratios}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
