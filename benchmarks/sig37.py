"""The sigmoid kernel's float32 block in float64 (session 37, h-sig37): its cost beside the kernel it replaces, and its
accuracy against mpmath.

The NumPy printer now computes a float32 block holding σ (or the sigmoid pair's e^−|u|) in float64, each output
rounded once as it is written (symnet/codegen/backends/numpy/elementwise.py, ``_sigmoid_float64``), as it did for
softplus since session 28. Of the committed kernels only kernels/numpy/sigmoid.py changed (bce_logits and sigmoid_mse
were float64 blocks already). This script times, in one run with the candidates taking turns, the kernel before
(kernels/numpy/sigmoid.py at 07cc4e5f, read with git show), the regenerated one, session 36's fewest-call float64
form (benchmarks/sig36.py) and torch.sigmoid, at 10⁶ and 10⁷ float32 values z ~ N(0, 3); then each one's worst ULP
against mpmath (40 digits) over ``--points`` float32 values of [−104, 89] (half evenly spaced in value, half in bit
pattern, so every binade to the subnormals is sampled) and over the subnormal tail σ(z) < 2⁻¹²⁶ (z in [−103.98,
−87.34]; there an error is counted in the least subnormal's spacing).

    python benchmarks/sig37.py [--sizes 1000000 10000000] [--repeat 3] [--rounds 5] [--points 100000]

Times: CPU ms of one call, median over rounds of the min of ``--repeat``.
Results: benchmarks/results/sig37-2026-12-06.md.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import types
from pathlib import Path

import mpmath
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.sig30 import timings  # noqa: E402
from benchmarks.sig36 import exp_f64_in_place, torch_sigmoid  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402

BEFORE = "07cc4e5f"  # the last commit with the float32 block in float32


def _kernel_before():
    """kernels/numpy/sigmoid.py as committed at BEFORE, as a module (its text is generated; read, not edited)."""
    text = subprocess.run(["git", "show", f"{BEFORE}:kernels/numpy/sigmoid.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    module = types.ModuleType("sigmoid_before")
    exec(compile(text, "sigmoid_before", "exec"), module.__dict__)  # noqa: S102 - the repository's own file
    return module.sigmoid


def candidates() -> dict:
    runs = {"kernel before (float32 block)": _kernel_before(),
            "kernel now (float64 block)": load_kernel("sigmoid").sigmoid,
            "float64 E/(1+E) in place (sig36)": exp_f64_in_place}
    try:
        import torch  # noqa: F401
    except ImportError:  # a reference row where torch is installed
        return runs
    return {**runs, "torch.sigmoid, (1 − y)·y": torch_sigmoid}


def points(n: int) -> np.ndarray:
    """n float32 values of [−104, 89]: half evenly spaced in value, half evenly spaced in bit pattern."""
    by_value = np.linspace(-104, 89, n // 2).astype(np.float32)
    lo, hi = np.float32(-104).view(np.int32) & 0x7FFFFFFF, np.float32(89).view(np.int32)
    negative = np.linspace(0, lo, n // 4).astype(np.int32).view(np.float32)
    positive = np.linspace(0, hi, n // 4).astype(np.int32).view(np.float32)
    return np.concatenate([by_value, -negative, positive])


def ulps_mpmath(got: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|got − exact| in float32 ULPs of the exact σ(x) and σ′(x) (the least subnormal's spacing below 2⁻¹²⁶)."""
    s, d = got
    out = np.empty((2, len(x)))
    tiny = float(np.finfo(np.float32).smallest_subnormal)
    with mpmath.workdps(40):
        for i, v in enumerate(x.astype(np.float64)):
            p = mpmath.mpf(float(v))
            sig = 1 / (1 + mpmath.exp(-p))
            for k, (g, exact) in enumerate(((s[i], sig), (d[i], sig * (1 - sig) if p < 0 else sig / (1 + mpmath.exp(p))))):
                spacing = max(float(np.spacing(np.abs(np.float32(float(exact))))), tiny)
                out[k, i] = float(abs(mpmath.mpf(float(g)) - exact) / spacing)
    return out[0], out[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--points", type=int, default=100_000)
    args = p.parse_args(argv)
    runs = candidates()
    base = "kernel before (float32 block)"
    ms = {}
    for n in args.sizes:
        z = (np.random.default_rng(37).standard_normal(n) * 3).astype(np.float32)
        ms[n] = timings(runs, z, args.rounds, args.repeat)
    x = points(args.points)
    tail = np.linspace(-103.97, -87.34, 2001).astype(np.float32)
    head = " | ".join(f"ms {n:.0e} | × before" for n in args.sizes)
    print(f"float32 σ kernel: CPU ms (median of {args.rounds} rounds' min of {args.repeat}); worst ULP against mpmath "
          f"over {len(x):,} points of [−104, 89] (normal results) and {len(tail):,} of the subnormal tail")
    print(f"| candidate | {head} | σ | σ′ | σ tail | σ′ tail |")
    print("|---|" + "---|---|" * len(args.sizes) + "---|---|---|---|")
    for k, fn in runs.items():
        es, ed = ulps_mpmath(fn(x), x)
        ts, td = ulps_mpmath(fn(tail), tail)
        times = " | ".join(f"{ms[n][k]:.2f} | {ms[n][k] / ms[n][base]:.2f}×" for n in args.sizes)
        print(f"| {k} | {times} | {es.max():.2f} | {ed.max():.2f} | {ts.max():.2f} | {td.max():.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
