"""Can the sigmoid kernel's float32 σ be rounded once at ≤ 1.3× its cost? (session 36, h-meas36), measured side by side.

tests/test_sig28.py's strict xfail ``test_sigmoid_kernel_float32_as_torch``: the committed kernel (kernels/numpy/
sigmoid.py) gives σ 3.69 ULP at −1.9717 (torch 0.31) and σ′ 5.18 at −4.1391 (torch 0.18). Session 30
(benchmarks/sig30.py) timed exact-exponential schemes at 1.34–2.1× when NumPy's float64 exp was libm's, scalar. On this
box NumPy 2.4 finds AVX-512 (numpy.show_runtime(): X86_V4, AVX512_ICL) and its float64 exp is SIMD: about 1.7× its
float32 exp per 16,384 values, not 4–6×. This script re-times the float64 forms against the generated kernel in one
run, the candidates taking turns, and measures each one's worst ULP over 10⁶ float32 values of [−104, 89]: half evenly
spaced in value, half evenly spaced in bit pattern (so every binade down to the subnormals is sampled), against the
float64 formula (within 2⁻²⁹ ULP of float32's).

    python benchmarks/sig36.py [--n 1000000] [--repeat 5] [--rounds 7] [--points 1000000]

Times: CPU ms of one call on z ~ N(0, 3), median over rounds of the min of ``--repeat``.
Results: benchmarks/results/sig36-2026-12-05.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.sig30 import BLOCK, blocked, exp_f64, numpy_exp, print_rows, signed_f64, timings  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402


def exp_f64_in_place(z):
    """sig30's ``exp_f64`` (E = e^min(z, 709) by NumPy's float64 exp, σ = E/(1 + E), σ′ = σ/(1 + E)) with the two
    float64 → float32 roundings written straight into the outputs (no separate astype pass): the fewest NumPy calls
    of a float64 σ, six per block."""
    a, b = np.empty(z.shape, np.float32), np.empty(z.shape, np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(0, len(z), BLOCK):
            e = np.minimum(z[i:i + BLOCK], 709.0, dtype=np.float64)
            np.exp(e, out=e)
            s = e + 1.0
            np.divide(e, s, out=e)
            np.divide(e, s, out=b[i:i + BLOCK])
            a[i:i + BLOCK] = e
    return a, b


def widened_block(z):
    """The committed kernel's text with its block in float64 (``np.asarray(z, np.float64)`` at the top of the loop, as
    a kernel with a widened sum or softplus prints it): every output rounded once, as it is written."""
    a, b = np.empty(z.shape, np.float32), np.empty(z.shape, np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(0, len(z), BLOCK):
            w = np.asarray(z[i:i + BLOCK], np.float64)
            e = np.exp(-(np.abs(w)))
            r = 1/(1 + e)
            nonneg = (w >= 0)
            n = e*r
            a[i:i + BLOCK] = np.maximum(n, np.minimum(r, nonneg))
            np.multiply(r, n, out=b[i:i + BLOCK])
    return a, b


def generated(z):
    """The committed kernel as a caller calls it (kernels/numpy/sigmoid.py: input checks, blocks, outputs)."""
    return load_kernel("sigmoid").sigmoid(z)


def torch_sigmoid(z):
    """torch.sigmoid in float32 and its backward's σ·(1 − σ) (a reference row: torch's CPU kernel computes 1/(1 + e^−x)
    with its own vectorised expf, and sigmoid_backward grad·(1 − y)·y, all float32)."""
    import torch
    y = torch.sigmoid(torch.from_numpy(z))
    return y.numpy(), ((1 - y) * y).numpy()


CANDIDATES = {"generated kernel (committed)": generated,
              "numpy exp (generated's text, sig30)": blocked(numpy_exp),
              "float64 block (the kernel's text widened)": widened_block,
              "float64 exp, E/(1+E) (sig30)": blocked(exp_f64),
              "float64 exp, E/(1+E), in place": exp_f64_in_place,
              "signed table f64 (sig30)": blocked(signed_f64),
              "torch.sigmoid, (1 − y)·y (reference)": torch_sigmoid}


def points(n: int) -> np.ndarray:
    """n float32 values of [−104, 89]: half evenly spaced in value, half evenly spaced in bit pattern."""
    by_value = np.linspace(-104, 89, n // 2).astype(np.float32)
    lo, hi = np.float32(-104).view(np.int32), np.float32(89).view(np.int32)
    negative = np.linspace(0, lo & 0x7FFFFFFF, n // 4).astype(np.int32).view(np.float32)
    positive = np.linspace(0, hi, n // 4).astype(np.int32).view(np.float32)
    return np.concatenate([by_value, -negative, positive, np.float32([-1.97165846824646, -4.139065742492676])])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--points", type=int, default=1_000_000)
    args = p.parse_args(argv)
    z = (np.random.default_rng(36).standard_normal(args.n) * 3).astype(np.float32)
    ms = timings(CANDIDATES, z, args.rounds, args.repeat)
    x = points(args.points)
    print(f"float32 sigmoid kernel, {args.n:,} values: CPU ms (median of {args.rounds} rounds' min of {args.repeat}); "
          f"worst ULP over {len(x) - 2:,} points of [−104, 89] against float64 (normal results)")
    print("| candidate | ms | × committed | σ worst | σ′ worst | σ at −1.9717 | σ′ at −4.1391 |")
    print("|---|---|---|---|---|---|---|")
    print_rows(CANDIDATES, ms, "generated kernel (committed)", x)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
