"""The CPU cost of the third tier (issue 16, session 20): triple words on the elements where a widened sum's float64
bound is past 2⁻¹⁰ of its value (symnet/codegen/doubleword.py, ``deep``), measured side by side with the kernels
another checkout (``--before-root``, e.g. an export of the commit before) generates.

For each formula, on ``--n`` ordinary points (uniform inputs: a deep cancellation is rare, so the triple words should
cost nothing there but the mask), and on points at such cancellations (focal at the floats beside the zeros of ∂t,
y − tanh x at y = fl(tanh x)), CPU seconds (user + sys, resource.getrusage) of one kernel call, the least of
``--repeat`` (the two interleaved); the ratio this/before. Both kernels are generated in processes of their own (each checkout's symnet)
and run here on the same arrays.

    python benchmarks/tw20.py --before-root /tmp/base [--n 1000000] [--repeat 5] [--only "y − tanh x,sigmoid_mse"]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = {"focal γ input": "focal(z, t, 1/4, gamma)", "focal γ = 3/4": "focal(z, t, 1/4, 3/4)",
            "y − tanh x": "y - tanh(x)", "y − exp x": "y - exp(x)", "sigmoid_mse": "mse(sigmoid(z), t)",
            "bce_logits": "bce_logits(z, t)"}
_GENERATE = """
import json, sys, symnet
print(json.dumps({k: symnet.compile(symnet.derive(f), backend="numpy", progress=False).source
                  for k, f in json.loads(sys.argv[1]).items()}))
"""


def _sources(root: Path, cache: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), SYMNET_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", _GENERATE, json.dumps(FORMULAS)], env=env, cwd=root,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _kernel(source: str):
    namespace: dict = {}
    exec(compile(source, "<kernel>", "exec"), namespace)  # noqa: S102  a generated kernel
    return namespace["kernel"]


def _cpu(kernels, args, repeat: int) -> list:
    """The least CPU seconds of each kernel over ``repeat`` rounds, the kernels interleaved in each round (a loaded
    machine's drift falls on both alike)."""
    best = [float("inf")] * len(kernels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            for k, f in enumerate(kernels):
                before = resource.getrusage(resource.RUSAGE_SELF)
                f(**args)
                after = resource.getrusage(resource.RUSAGE_SELF)
                best[k] = min(best[k], after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best


def _ordinary(name: str, n: int, dtype) -> dict:
    rng = np.random.default_rng(16)
    if name.startswith("focal"):
        args = {"z": rng.uniform(-10, 10, n), "t": rng.uniform(0, 1, n)}
        if "input" in name:
            args["gamma"] = rng.uniform(0.25, 3, n)
    elif name in ("sigmoid_mse", "bce_logits"):
        args = {"z": rng.uniform(-10, 10, n), "t": rng.uniform(0, 1, n)}
    else:
        args = {"x": rng.uniform(-10, 10, n), "y": rng.uniform(-1, 1, n)}
    return {k: v.astype(dtype) for k, v in args.items()}


def _cancelling(name: str, n: int):
    """Points at deep cancellations, repeated to n (None where the formula has none here)."""
    rng = np.random.default_rng(17)
    if name == "y − tanh x":
        x = rng.uniform(-4, 4, n)
        return {"x": x, "y": np.tanh(x)}
    if name == "y − exp x":
        x = rng.uniform(-4, 4, n)
        return {"x": x, "y": np.exp(x)}
    if name == "focal γ input":  # test_focal19's points beside the zeros, repeated
        sys.path.insert(0, str(ROOT / "tests"))
        from test_focal19 import _near_roots
        z, t, g = _near_roots(np.float64)
        k = np.resize(np.arange(z.size), n)
        return {"z": z[k], "t": t[k], "gamma": g[k]}
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before-root", required=True, type=Path)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated names of FORMULAS (default: all)")
    a = parser.parse_args()
    if a.only:
        for name in [n for n in FORMULAS if n not in a.only.split(",")]:
            del FORMULAS[name]
    before = _sources(a.before_root, "/tmp/tw20-bench-before-cache")
    this = _sources(ROOT, "/tmp/tw20-bench-this-cache")
    print(f"CPU s per {a.n:,} points (user + sys, least of {a.repeat}); 'cancel': every point at a deep cancellation")
    print(f"{'formula':16} {'data':9} {'dtype':8} {'before':>9} {'this':>9} {'ratio':>7}")
    for name in FORMULAS:
        k_before, k_this = _kernel(before[name]), _kernel(this[name])
        rows = [("ordinary", np.float64, _ordinary(name, a.n, np.float64)),
                ("ordinary", np.float32, _ordinary(name, a.n, np.float32))]
        cancel = _cancelling(name, a.n // 10)
        if cancel is not None:
            rows.append(("cancel/10", np.float64, cancel))
        for data, dtype, args in rows:
            b, t = _cpu([k_before, k_this], args, a.repeat)
            print(f"{name:16} {data:9} {np.dtype(dtype).name:8} {b:9.3f} {t:9.3f} {t / b:7.2f}")


if __name__ == "__main__":
    main()
