"""The cost of double-word arithmetic in float64 kernels (issue 16, the widen rule).

A float64 NumPy kernel computes each widened sum (kl_div's log t + 1 − x, poisson_nll's e^x − t·x …)
in double-word arithmetic (symnet/codegen/doubleword.py). This script times each kernel on 1e6
values against the same generated module with every widened body in plain float64 (the kernel as it
was before), side by side in one run, float64 and float32 (where nothing changed but a call), and
prints a table of the ratios: the median of ``--repeat`` runs each.

    python benchmarks/doubleword.py [--n 1000000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sympy as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symnet  # noqa: E402
from symnet.registry import lookup  # noqa: E402

x, t, v, z = sp.symbols("x t v z", real=True)
CASES = {
    "sigmoid_mse": ((t - symnet.sigmoid(z)) ** 2, (z, t)),
    "bce_logits": (lookup("bce_logits")(z, t), (z, t)),
    "kl_div": (lookup("kl_div")(x, t), (x, t)),
    "poisson_nll": (lookup("poisson_nll")(x, t), (x, t)),
    "gaussian_nll": (lookup("gaussian_nll")(x, t, v), (x, t, v)),
    "focal": (lookup("focal")(z, t), (z, t)),
}


def plain_float64(kernel):
    """The same module with every widened body in float64 (the generated functions' float32 branch)."""
    namespace: dict = {}
    exec(compile(kernel.source.replace("_dtype == np.float64)", "False)"), "<plain>", "exec"), namespace)  # noqa: S102
    return namespace[kernel.kernel.name]


def median_time(fn, args, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(**args)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    a = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{a.n:.0e} values, median of {a.repeat} runs, NumPy {np.__version__}")
    print("| kernel | dtype | float64 body (ms) | double-word (ms) | ratio |")
    print("|---|---|---|---|---|")
    for name, (formula, variables) in CASES.items():
        kernel = symnet.compile(symnet.derive(formula, list(variables)), backend="numpy")
        before = plain_float64(kernel)
        columns = {"x": rng.uniform(-5, 5, a.n), "z": rng.uniform(-8, 8, a.n), "t": rng.uniform(0.01, 1, a.n),
                   "v": rng.uniform(0.1, 3, a.n)}
        for dtype in (np.float64, np.float32):
            args = {str(s): columns[str(s)].astype(dtype) for s in variables}
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                kernel(**args), before(**args)  # warm
                old = median_time(before, args, a.repeat)
                new = median_time(kernel, args, a.repeat)
            print(f"| {name} | {np.dtype(dtype).name} | {old * 1e3:.1f} | {new * 1e3:.1f} | {new / old:.2f}× |")


if __name__ == "__main__":
    main()
