"""The cost of double-word arithmetic in float64 kernels (issue 16, the widen rule).

A float64 NumPy kernel computes each widened sum (kl_div's log t + 1 − x, poisson_nll's e^x − t·x …)
exactly enough to round once: the float64 body with a bound of its rounding error, and in
double-word arithmetic (symnet/codegen/doubleword.py) only the elements where that bound is not
within 3u of the value (a sum that cancels). This script times each kernel on ``--n`` values, side
by side in one run:

* ``float64 body``: the same generated module with every widened body in plain float64 (the kernel
  before the double-word functions, not accurate where a sum cancels);
* ``main``: the kernel that ``--before-root`` (a checkout of main, generated in a subprocess from
  there) generates: double-word on every element;
* ``this``: the kernel this checkout generates;

on two data sets: ``random`` (the inputs uniform: some elements cancel, most do not) and ``cancel``
(every element on a cancellation of the kernel's main widened sum, its result 2⁻⁸ to 2⁻⁴⁴ of its
terms: every element is double-word), the median of ``--repeat`` runs each, and prints a table.

    python benchmarks/doubleword.py [--n 1000000] [--repeat 5] [--before-root /work/main] [--only kl_div,focal]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
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

# the sources of the kernels as another checkout generates them (run there, in a process of its own)
_GENERATE = """
import json, sys
import sympy as sp, symnet
from symnet.registry import lookup
x, t, v, z = sp.symbols("x t v z", real=True)
cases = {"sigmoid_mse": ((t - symnet.sigmoid(z)) ** 2, (z, t)), "bce_logits": (lookup("bce_logits")(z, t), (z, t)),
         "kl_div": (lookup("kl_div")(x, t), (x, t)), "poisson_nll": (lookup("poisson_nll")(x, t), (x, t)),
         "gaussian_nll": (lookup("gaussian_nll")(x, t, v), (x, t, v)), "focal": (lookup("focal")(z, t), (z, t))}
out = {}
for name in sys.argv[1].split(","):
    formula, variables = cases[name]
    k = symnet.compile(symnet.derive(formula, list(variables)), backend="numpy")
    out[name] = [k.source, k.kernel.name]
print(json.dumps(out))
"""


def _load(source: str, name: str):
    namespace: dict = {}
    exec(compile(source, "<kernel>", "exec"), namespace)  # noqa: S102 - a generated module
    return namespace[name]


def plain_float64(kernel):
    """The same module with every widened body in float64 (the generated functions' float32 branch)."""
    # a widened sum prints as (f(…, True) if _dtype == np.float64 else body), or f(…, _dtype == np.float64)
    source = kernel.source.replace("if _dtype == np.float64 else", "if False else")
    return _load(source.replace("_dtype == np.float64)", "False)"), kernel.kernel.name)


def before_kernels(root: str, names) -> dict:
    """name → the kernel function as the checkout at ``root`` generates it."""
    env = {k: val for k, val in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = root
    run = subprocess.run([sys.executable, "-c", _GENERATE, ",".join(names)], env=env, cwd=root,
                         capture_output=True, text=True, check=True)
    return {name: _load(source, kname) for name, (source, kname) in json.loads(run.stdout).items()}


def _offset(rng, n):
    """1 ± 2^−u, u from 8 to 44: the result 2⁻⁸ to 2⁻⁴⁴ of the cancelling terms."""
    return 1 + rng.choice([-1, 1], n) * 2.0 ** -rng.uniform(8, 44, n)


def random_data(rng, n) -> dict:
    return {"x": rng.uniform(-5, 5, n), "z": rng.uniform(-8, 8, n), "t": rng.uniform(0.01, 1, n),
            "v": rng.uniform(0.1, 3, n)}


def cancel_data(name, rng, n) -> dict:
    """Every element on a cancellation: σ(z) ≈ t (sigmoid_mse, bce_logits, focal), log t + 1 ≈ x
    (kl_div ∂t), e^x ≈ t·x (poisson_nll f), v ≈ (x − t)² (gaussian_nll ∂v)."""
    cols = random_data(rng, n)
    if name in ("sigmoid_mse", "bce_logits", "focal"):
        cols["t"] = 1 / (1 + np.exp(-cols["z"])) * _offset(rng, n)
    elif name == "kl_div":
        cols["x"] = (np.log(cols["t"]) + 1) * _offset(rng, n)
    elif name == "poisson_nll":
        cols["x"] = rng.uniform(0.2, 20, n)
        cols["t"] = np.exp(cols["x"]) / cols["x"] * _offset(rng, n)
    elif name == "gaussian_nll":
        cols["v"] = (cols["x"] - cols["t"]) ** 2 * _offset(rng, n)
    return cols


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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before-root", default=None, help="a checkout of main: its kernels as a column")
    parser.add_argument("--only", default=",".join(CASES), help="kernels, comma-separated")
    a = parser.parse_args()
    names = a.only.split(",")
    before = before_kernels(a.before_root, names) if a.before_root else {}
    rng = np.random.default_rng(0)
    print(f"{a.n:.0e} float64 values, median of {a.repeat} runs, NumPy {np.__version__}")
    print("| kernel | data | float64 body (ms) | main (ms) | this (ms) | main / this | this / float64 body |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        formula, variables = CASES[name]
        kernel = symnet.compile(symnet.derive(formula, list(variables)), backend="numpy")
        plain = plain_float64(kernel)
        for data in ("random", "cancel"):
            columns = random_data(rng, a.n) if data == "random" else cancel_data(name, rng, a.n)
            args = {str(s): columns[str(s)] for s in variables}
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                kernel(**args), plain(**args)  # warm
                old = median_time(plain, args, a.repeat)
                new = median_time(kernel, args, a.repeat)
                main_time = median_time(before[name], args, a.repeat) if name in before else float("nan")
            print(f"| {name} | {data} | {old * 1e3:.1f} | {main_time * 1e3:.1f} | {new * 1e3:.1f} | "
                  f"{main_time / new:.2f}× | {new / old:.2f}× |")


if __name__ == "__main__":
    main()
