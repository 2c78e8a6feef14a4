"""Cost of the needed-gather of NumPy's widened functions (task h-studt27, doubleword._needed_gather): CPU seconds per
10⁶ points of each generated kernel (value and gradients), the minimum over interleaved rounds of the best of two
calls, float64 and float32, in one run: the kernel as generated ("gathered": where the enclosing select takes a widened
sum on fewer than half of a block's elements, its float64 body, bound and double words run on those alone) beside the
same source with that gather switched off ("every element": the function as before, its float64 body and bound on
every element of the block). Both give the same bits (tests/test_studt27.py). With ``--before DIR``, a third column
times the kernels saved by ``--dump DIR`` from another tree (main: the Student-t ∂ν past the log1p-series window not
widened there):

    PYTHONPATH=/work/main python3 benchmarks/studt27.py --dump /tmp/before     # in the tree before
    python3 benchmarks/studt27.py --before /tmp/before [--n 1000000] [--rounds 5]

Data: the Student-t NLL's ν uniform in (1, 30), x ~ N(0, 1) (its ∂ν past the window |x²/ν| ≥ 0.4375 on 5.6% of the
points); the losses' prediction 3·N(0, 1), target uniform in (0, 1) (as benchmarks/cells26.py), Gaussian variance
uniform in (0.1, 2).

Measured (2026-12-04, h-studt27, 10⁶ points, min of 5 rounds, 2 shared cores under load; gathered / every element,
gathered / before = main): student float64 0.455 s (0.87, 1.22 of main's 0.372), float32 0.154 (0.82, 1.04);
poisson_nll float64 0.91, 0.83; float32 0.60, 0.70; focal float64 1.02, 0.92, float32 1.00, 1.03 (its selects take
every element but the far ones, |z| > 1000); bce_logits float64 0.98, 1.05, float32 1.08, 1.13; squared_hinge (no
select: a control) 1.02, 1.03 and 1.00, 1.06. The box's noise is some ±10%.
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

# (file name, formula, wrt): the Student-t ∂ν and four kernels with widened sums inside selects (or none: squared_hinge,
# gaussian_nll call theirs everywhere, needed True, a control)
KERNELS = [("student", "0.5*(nu + 1)*log(1 + x**2/nu)", "nu"), ("poisson_nll", "poisson_nll(x, t)", None),
           ("focal", "focal(z, t)", None), ("bce_logits", "bce_logits(z, t)", None),
           ("squared_hinge", "squared_hinge(x, t)", None), ("gaussian_nll", "gaussian_nll(x, t, v)", None)]
GATHER = "elif np.ndim(needed) and np.count_nonzero(needed) * 2 < np.size(needed):"


def source(formula: str, wrt) -> str:
    """The generated NumPy module of ``formula``."""
    return symnet.compile(symnet.derive(formula, wrt=wrt) if wrt else symnet.derive(formula), progress=False).source


def kernel_of(text: str, name: str):
    """The function ``kernel`` of a generated module's ``text``."""
    space: dict = {}
    exec(compile(text, f"<{name}>", "exec"), space)  # noqa: S102 - a module symnet generated
    return space["kernel"]


def ungathered(text: str) -> str:
    """``text`` with the needed-gather switched off: each widened function on every element, as before."""
    return text.replace(GATHER, "elif False:")


def data(name: str, n: int, rng) -> dict:
    """The inputs of kernel ``name`` by input name (float64)."""
    if name == "student":
        return {"nu": rng.uniform(1, 30, n), "x": rng.standard_normal(n)}
    prediction = rng.standard_normal(n) * 3
    target = rng.uniform(0, 1, n)
    if name == "gaussian_nll":
        return {"x": prediction, "t": target, "v": rng.uniform(0.1, 2, n)}
    return {("z" if name in ("focal", "bce_logits") else "x"): prediction, "t": target}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dump", help="write each kernel's generated module to this folder, and stop")
    p.add_argument("--before", help="a folder written by --dump in another tree: a third column")
    args = p.parse_args(argv)
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        for name, formula, wrt in KERNELS:
            (Path(args.dump) / f"{name}.py").write_text(source(formula, wrt))
        return 0
    rng = np.random.default_rng(27)
    columns = ["gathered", "every element"] + (["before"] if args.before else [])
    print(f"| kernel | dtype | {' | '.join(columns)} | gathered / every element |"
          + (" gathered / before |" if args.before else ""))
    print("|---|---|" + "---|" * (len(columns) + 1 + bool(args.before)))
    for name, formula, wrt in KERNELS:
        text = source(formula, wrt)
        kernels = [kernel_of(text, name), kernel_of(ungathered(text), name)]
        if args.before:
            kernels.append(kernel_of((Path(args.before) / f"{name}.py").read_text(), name))
        inputs = data(name, args.n, rng)
        for dtype in (np.float64, np.float32):
            typed = {k: v.astype(dtype) for k, v in inputs.items()}
            calls = [(lambda k=k: k(**{a: typed[a] for a in inspect.signature(k).parameters})) for k in kernels]
            times = [min(best(c, 2) for _ in range(1)) for c in calls]
            for _ in range(args.rounds - 1):  # interleaved: the box's load falls on every column alike
                times = [min(t, best(c, 2)) for t, c in zip(times, calls)]
            per = [t * 1e6 / args.n for t in times]
            cells = " | ".join(f"{t:.4f}" for t in per)
            ratios = f" {per[0] / per[1]:.2f} |" + (f" {per[0] / per[2]:.2f} |" if args.before else "")
            print(f"| {name} | {np.dtype(dtype).name} | {cells} |{ratios}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
