"""The cost of the error bounds (issue 16's exact user formulas, task h-cost20): CPU seconds per 10⁶ points of each
formula's NumPy kernel (value and gradients) beside the same kernel with every widened body in plain float64, side
by side in one run, float32 and float64.

A widened sum (symnet/codegen/doubleword.py) computes the float64 body with a running bound of its rounding error and
recomputes in double words only the elements whose bound is not within ``within`` of the value; this script measures
what that costs on data where few elements cancel:

* ``this``: the kernel this checkout generates;
* ``before`` (with ``--before-root DIR``): the kernel that checkout generates (in a process of its own);
* ``plain f64``: this kernel with every widened body computed in plain float64 (``double_word=False``: the formula as
  written, one rounding per operation, not accurate where a sum cancels) — the reference of the ratio.

Formulas and data (seeded, uniform):

* ``log(x*y - z)``: x, y in [1, 2], z in [−1, 1];
* ``y + sin(x)``: x in [−10, 10], y in [−1, 1];
* ``log(1 + (p - t)**2/s)``: p, t normal, s in [0.1, 3];
* ``focal(z, t, 1/4, 3/4)``: z in [−8, 8], t in [0, 1];
* ``focal(z, t, 1/4, gamma)``: the same, γ in [0, 3] (session 21);
* ``erf(x) - y``: x in [−3, 3], y in [−1, 1]; ``x - sin(x)``: x in [−4, 4] (session 21);
* ``y + sin(x)``, ``exp(x) - y`` at a block of x = inf, y in [−1, 1] (the float64 value NaN, inf: kept since session 21).

Time: CPU seconds (user + sys of this process, ``resource.getrusage``; NumPy runs on one thread), the minimum of
``--repeat`` runs, per 10⁶ points. Speed is measured here, never asserted in a test.

    python benchmarks/bound_cost.py [--n 1000000] [--repeat 5] [--before-root /work/main] [--only log_xy_z,sin]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symnet  # noqa: E402

# name → (formula text, input names): the formulas are symnet's own derive() input, parsed safely by symnet
CASES = {
    "log_xy_z": ("log(x*y - z)", ("x", "y", "z")),
    "sin": ("y + sin(x)", ("x", "y")),
    "log1p_sq": ("log(1 + (p - t)**2/s)", ("p", "s", "t")),
    "focal": ("focal(z, t, 1/4, 3/4)", ("t", "z")),
    "focal_gamma": ("focal(z, t, 1/4, gamma)", ("gamma", "t", "z")),
    # session 21 (h-cancel21): erf among the widened functions, the vanishing-series rule, blocks of inf inputs
    "erf_y": ("erf(x) - y", ("x", "y")),
    "x_sin": ("x - sin(x)", ("x",)),
    "sin_inf": ("y + sin(x)", ("x", "y")),
    "exp_inf": ("exp(x) - y", ("x", "y")),
}

_GENERATE = """
import json, sys
import symnet
out = {}
for formula in json.loads(sys.argv[1]):
    k = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
    out[formula] = [k.source, k.kernel.name]
print(json.dumps(out))
"""


def data(name: str, rng, n: int) -> dict:
    if name == "log_xy_z":
        return {"x": rng.uniform(1, 2, n), "y": rng.uniform(1, 2, n), "z": rng.uniform(-1, 1, n)}
    if name == "sin":
        return {"x": rng.uniform(-10, 10, n), "y": rng.uniform(-1, 1, n)}
    if name == "log1p_sq":
        return {"p": rng.normal(size=n), "s": rng.uniform(0.1, 3, n), "t": rng.normal(size=n)}
    if name == "focal_gamma":
        return {"gamma": rng.uniform(0, 3, n), "t": rng.uniform(0, 1, n), "z": rng.uniform(-8, 8, n)}
    if name == "erf_y":  # x in [−3, 3], y in [−1, 1]: few elements cancel
        return {"x": rng.uniform(-3, 3, n), "y": rng.uniform(-1, 1, n)}
    if name == "x_sin":  # x in [−4, 4]: the series' window (|x| < 0.94) and the written form beyond
        return {"x": rng.uniform(-4, 4, n)}
    if name in ("sin_inf", "exp_inf"):  # every x = inf: the float64 value (NaN, inf) and its bound are not finite
        return {"x": np.full(n, np.inf), "y": rng.uniform(-1, 1, n)}
    return {"t": rng.uniform(0, 1, n), "z": rng.uniform(-8, 8, n)}


def _load(source: str, name: str):
    namespace: dict = {}
    exec(compile(source, "<generated kernel>", "exec"), namespace)  # noqa: S102 - a module symnet generated
    return namespace[name]


def plain_float64(source: str, name: str):
    """The module with every widened body in plain float64: its functions called with double_word=False."""
    return _load(source.replace(", True, ", ", False, ").replace(", True)", ", False)"), name)


def before_kernels(root: str, formulas) -> dict:
    """formula → (source, kernel name) as the checkout at ``root`` generates them (in a process of its own)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SYMNET_CACHE")}
    env["PYTHONPATH"], env["SYMNET_NO_DISK_CACHE"] = root, "1"
    run = subprocess.run([sys.executable, "-c", _GENERATE, json.dumps(list(formulas))], env=env, cwd=root,
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def machine() -> str:
    """The CPU's model name (Linux) or the platform's, and the number of CPUs."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} CPUs"


def cpu_seconds(functions, args, repeat: int) -> list[float]:
    """The least CPU seconds of each of ``functions`` on ``args`` over ``repeat`` rounds, the functions taking turns
    within each round (so that a slower period of the shared machine weighs on all of them alike)."""
    best = [float("inf")] * len(functions)
    for _ in range(repeat):
        for i, fn in enumerate(functions):
            start = resource.getrusage(resource.RUSAGE_SELF)
            fn(**args)
            end = resource.getrusage(resource.RUSAGE_SELF)
            best[i] = min(best[i], end.ru_utime - start.ru_utime + end.ru_stime - start.ru_stime)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before-root", default=None, help="another checkout (main): its kernels as a column")
    parser.add_argument("--only", default=",".join(CASES), help="cases, comma-separated: " + ",".join(CASES))
    a = parser.parse_args()
    names = a.only.split(",")
    before = before_kernels(a.before_root, [CASES[n][0] for n in names]) if a.before_root else {}
    rng = np.random.default_rng(0)
    print(f"CPU s per 10⁶ points (min of {a.repeat}, {a.n:.0e} points), NumPy {np.__version__}, {machine()}")
    head = ("| formula | dtype | plain f64 | " + ("before | before / plain | " if before else "")
            + "this | this / plain |")
    print(head)
    print("|---" * (head.count("|") - 1) + "|")
    scale = 1e6 / a.n
    for name in names:
        formula, inputs = CASES[name]
        kernel = symnet.compile(symnet.derive(formula), backend="numpy", progress=False)
        plain = plain_float64(kernel.source, kernel.kernel.name)
        old = _load(*before[formula]) if before else None
        columns = data(name, rng, a.n)
        for dtype in (np.float32, np.float64):
            args = {k: columns[k].astype(dtype) for k in inputs}
            functions = [plain, kernel] + ([old] if old is not None else [])
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                for fn in functions:  # warm
                    fn(**args)
                times = [t * scale for t in cpu_seconds(functions, args, a.repeat)]
            reference, this = times[0], times[1]
            row = f"| `{formula}` | {np.dtype(dtype).name} | {reference:.4f} | "
            if old is not None:
                row += f"{times[2]:.4f} | {times[2] / reference:.2f} | "
            print(row + f"{this:.4f} | {this / reference:.2f} |", flush=True)


if __name__ == "__main__":
    main()
