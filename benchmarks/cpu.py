"""CPU benchmark: generated NumPy against its peers, timed side by side in one run.

    python3 benchmarks/cpu.py [--size N] [--repeat R] [--json FILE]

Case (more come with the row-wise and layer kernels): the gradient dL/dz of
L = (y − σ(z))² on N float32 values (default 10M). Peers, on the same data:
``sympy.lambdify`` of the plain ``sympy.diff`` result, hand-written NumPy (naive and
in-place), and torch CPU autograd where torch is installed. Prints medians and ratios
(a speed-up > 1 means the generated code is faster). The hand-written versions here are
references for timing only; nothing of them is generated.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sympy as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import symnet  # noqa: E402


def median_ms(fn, repeat: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def hand_naive(z, y):
    """Reference: the textbook formula, one temporary per operation."""
    s = 1 / (1 + np.exp(-z))
    return -2 * (y - s) * s * (1 - s)


def hand_inplace(z, y):
    """Reference: the same with in-place operations (overflows to inf → 0 for z ≪ 0)."""
    s = np.negative(z)
    np.exp(s, out=s)
    s += 1
    np.reciprocal(s, out=s)  # σ(z)
    g = np.subtract(y, s)
    g *= s
    np.subtract(1, s, out=s)
    g *= s
    g *= -2
    return g


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    if args.size <= 0 or args.repeat <= 0:
        p.error("--size and --repeat must be positive")

    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, args.size).astype(np.float32)
    y = rng.uniform(0, 1, args.size).astype(np.float32)
    zs, ys = sp.symbols("z y", real=True)

    generated = symnet.compile(symnet.derive((ys - symnet.sigmoid(zs)) ** 2, [zs]), value=False)
    plain = sp.lambdify((zs, ys), sp.diff((ys - 1 / (1 + sp.exp(-zs))) ** 2, zs), "numpy")
    cases = {
        "generated (symnet)": lambda: generated(z=z, y=y),
        "sympy.lambdify(diff)": lambda: plain(z, y),
        "hand NumPy, naive": lambda: hand_naive(z, y),
        "hand NumPy, in-place": lambda: hand_inplace(z, y),
    }
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        tz, ty = torch.from_numpy(z), torch.from_numpy(y)

        def torch_autograd():
            zz = tz.clone().requires_grad_(True)
            loss = ((ty - torch.sigmoid(zz)) ** 2).sum()
            (grad,) = torch.autograd.grad(loss, zz)
            return grad

        cases["torch CPU autograd"] = torch_autograd
    except ImportError:
        torch = None

    # correctness first: every peer agrees with the generated gradient (loosely: the peers'
    # 1 − σ(z) loses relative accuracy where σ(z) is near 1; the generated code uses σ(−z))
    (want,) = generated(z=z[:1000], y=y[:1000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checks = {"hand NumPy, naive": hand_naive(z[:1000], y[:1000]),
                  "hand NumPy, in-place": hand_inplace(z[:1000], y[:1000]),
                  "sympy.lambdify(diff)": plain(z[:1000], y[:1000])}
    for name, got in checks.items():
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6, err_msg=name)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = {name: median_ms(fn, args.repeat) for name, fn in cases.items()}
    base = times["generated (symnet)"]
    print(f"sigmoid+MSE dL/dz, {args.size:,} float32 values, median of {args.repeat} "
          f"({platform.processor() or platform.machine()}, numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch else "") + ")")
    print(f"{'implementation':<24}{'median ms':>11}{'generated speed-up':>20}")
    for name, ms in times.items():
        print(f"{name:<24}{ms:>11.1f}{ms / base:>19.2f}×")
    best_hand = min(times["hand NumPy, naive"], times["hand NumPy, in-place"])
    goals = {
        "≥ 2.5× faster than lambdify of the plain derivative": times["sympy.lambdify(diff)"] / base >= 2.5,
        "within 1.05× of the best hand-written NumPy": base <= 1.05 * best_hand,
    }
    if "torch CPU autograd" in times:
        goals["≥ 1.5× faster than torch CPU autograd"] = times["torch CPU autograd"] / base >= 1.5
    for goal, met in goals.items():
        print(f"  {'met ' if met else 'NOT met'}  {goal}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "case": "sigmoid_mse_grad", "size": args.size, "dtype": "float32", "repeat": args.repeat,
            "median_ms": times, "goals": goals, "numpy": np.__version__,
            "torch": torch.__version__ if torch else None, "machine": platform.machine(),
        }, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
