"""CPU benchmark: generated NumPy against its peers, timed side by side in one run.

    python3 benchmarks/cpu.py [--size N] [--repeat R] [--json FILE]

Cases: (1) the gradient dL/dz of L = (y − σ(z))² on N float32 values (default 10M);
peers on the same data: ``sympy.lambdify`` of the plain ``sympy.diff`` result,
hand-written NumPy (naive and in-place), torch CPU autograd where torch is installed.
(2) softmax cross-entropy forward + backward on 4096×1000 float32 logits (mean over
rows); peers: hand-written NumPy (naive and max-shifted), torch CPU autograd.
(3) a dense sigmoid layer forward + backward, batch 1024, 1024 → 1024 float32; peers:
hand-written NumPy, torch CPU autograd. Prints medians and ratios (a speed-up > 1 means
the generated code is faster). The hand-written versions here are references for timing
only; nothing of them is generated.
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
from symnet.kernels import load_kernel  # noqa: E402


def medians_ms(cases: dict, repeat: int, rounds: int = 3) -> dict:
    """Median milliseconds of each case over `rounds` rounds of `repeat` back-to-back calls
    (after one untimed call), the cases taking turns round by round, so that a slow spell
    of this shared machine falls on all of them alike. Back-to-back calls are how a kernel
    runs in a training loop; interleaving single calls instead would time how fast each
    library's idle worker threads wake up."""
    times = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            fn()  # warm up: caches, thread pools
            for _ in range(repeat):
                t = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


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


def ce_naive(z, r):
    """Reference: softmax then cross-entropy as written, with a one-hot matrix."""
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    onehot = np.zeros_like(z)
    onehot[np.arange(len(r)), r] = 1
    return -np.log(p[np.arange(len(r)), r]).mean(), (p - onehot) / len(r)


def ce_shifted(z, r):
    """Reference: the max-shifted, in-place version a careful person writes."""
    m = z.max(axis=1, keepdims=True)
    e = np.subtract(z, m)
    np.exp(e, out=e)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(r))
    loss = (np.log(s[:, 0]) + m[:, 0] - z[rows, r]).mean()
    e /= s
    e[rows, r] -= 1
    e /= len(r)
    return loss, e


def dense_hand(a, W, b, g):
    """Reference: y = σ(a Wᵀ + b) and its backward, written by hand."""
    y = 1 / (1 + np.exp(-(a @ W.T + b)))
    delta = g * y * (1 - y)
    return y, delta.T @ a, delta.sum(axis=0), delta @ W


def row_cases(torch, repeat: int) -> dict:
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (4096, 1000)).astype(np.float32)
    r = rng.integers(0, 1000, 4096)
    ce = load_kernel("softmax_cross_entropy").softmax_cross_entropy_grad
    want = ce(z, r)[1]
    for name, fn in (("naive", ce_naive), ("shifted", ce_shifted)):
        np.testing.assert_allclose(fn(z, r)[1], want, atol=1e-6, err_msg=name)
    cases = {"generated (symnet)": lambda: ce(z, r), "hand NumPy, naive": lambda: ce_naive(z, r),
             "hand NumPy, max-shifted": lambda: ce_shifted(z, r)}
    if torch:
        tz, tr = torch.from_numpy(z).requires_grad_(True), torch.from_numpy(r)  # a leaf: no copy per call

        def torch_ce():
            loss = torch.nn.functional.cross_entropy(tz, tr)
            (grad,) = torch.autograd.grad(loss, tz)
            return loss, grad

        np.testing.assert_allclose(torch_ce()[1].numpy(), want, atol=1e-6)
        cases["torch CPU autograd"] = torch_ce
    return medians_ms(cases, repeat)


def dense_cases(torch, repeat: int) -> dict:
    rng = np.random.default_rng(2)
    a = rng.normal(size=(1024, 1024)).astype(np.float32)
    W = (rng.normal(size=(1024, 1024)) / 32).astype(np.float32)
    b, g = rng.normal(size=1024).astype(np.float32), rng.normal(size=(1024, 1024)).astype(np.float32)
    mod = load_kernel("dense")

    def generated():
        y = mod.dense_sigmoid(a, W, b)
        return (y,) + mod.dense_sigmoid_backward(a, W, y, g)

    for got, want in zip(generated(), dense_hand(a, W, b, g)):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    cases = {"generated (symnet)": generated, "hand NumPy": lambda: dense_hand(a, W, b, g)}
    if torch:
        ta, tW, tb = (torch.from_numpy(v).requires_grad_(True) for v in (a, W, b))  # leaves: no copies
        tg = torch.from_numpy(g)

        def torch_dense():
            y = torch.sigmoid(ta @ tW.T + tb)
            return torch.autograd.grad(y, (tW, tb, ta), tg)

        cases["torch CPU autograd"] = torch_dense
    return medians_ms(cases, repeat)


def print_case(title: str, times: dict) -> None:
    base = times["generated (symnet)"]
    print(title)
    print(f"{'implementation':<26}{'median ms':>11}{'generated speed-up':>20}")
    for name, ms in times.items():
        print(f"{name:<26}{ms:>11.1f}{ms / base:>19.2f}×")


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
        tz, ty = torch.from_numpy(z).requires_grad_(True), torch.from_numpy(y)  # a leaf: no copy per call

        def torch_autograd():
            loss = ((ty - torch.sigmoid(tz)) ** 2).sum()
            (grad,) = torch.autograd.grad(loss, tz)
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
    with warnings.catch_warnings():  # and the whole 10M output, every block of it
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(generated(z=z, y=y)[0], hand_inplace(z, y), rtol=1e-3, atol=1e-6,
                                   err_msg="generated, whole array")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times = medians_ms(cases, args.repeat)
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ce_times = row_cases(torch, args.repeat)
        dense_times = dense_cases(torch, args.repeat)
    print()
    print_case("softmax cross-entropy forward + backward, 4096×1000 float32, mean over rows", ce_times)
    print()
    print_case("dense sigmoid layer forward + backward, batch 1024, 1024 → 1024 float32", dense_times)
    if "torch CPU autograd" in ce_times:
        goals["cross-entropy no slower than torch CPU autograd"] = \
            ce_times["torch CPU autograd"] >= ce_times["generated (symnet)"]
    print()
    for goal, met in goals.items():
        print(f"  {'met ' if met else 'NOT met'}  {goal}")
    if args.json:
        out = Path(args.json)
        tmp = out.with_name(out.name + ".tmp")  # written whole, then moved into place
        tmp.write_text(json.dumps({
            "cases": {"sigmoid_mse_grad": {"size": args.size, "dtype": "float32", "median_ms": times},
                      "softmax_cross_entropy_fwd_bwd": {"shape": [4096, 1000], "dtype": "float32",
                                                        "median_ms": ce_times},
                      "dense_sigmoid_fwd_bwd": {"batch": 1024, "in": 1024, "out": 1024, "dtype": "float32",
                                                "median_ms": dense_times}},
            "repeat": args.repeat, "goals": goals, "numpy": np.__version__,
            "torch": torch.__version__ if torch else None, "machine": platform.machine(),
            "cores": __import__("os").cpu_count(),
        }, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
