"""The cost of the root-series rule's widened reach (session 11): ∂/∂x of f(x)/g(x) quotients whose derivative has a
cancelling root, from ``symnet.compile`` with the written form past the series' window widened where it was
measured beyond the bound (double-word in float64 where its error bound is not within 3u, float64 in float32),
beside the same generator without the widening (the series inside its window, the written form outside: session
10's kernels) and torch autograd, timed side by side in one run on data uniform over the span where the derivative
cancels.

    python3 benchmarks/quotient_roots.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the widened kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import symnet
from symnet.codegen import rewrite

# (formula, torch's form of it, the span of the data: where the derivative cancels, its root inside)
CASES = [
    ("sqrt(x)/log1p(x)", lambda t, x: t.sqrt(x) / t.log1p(x), (0.05, 12.0)),
    ("log1p(x)/sqrt(x)", lambda t, x: t.log1p(x) / t.sqrt(x), (0.05, 12.0)),
    ("exp(x)/x", lambda t, x: t.exp(x) / x, (0.1, 4.0)),
    ("log(x)/x", lambda t, x: t.log(x) / x, (0.5, 8.0)),
    ("tanh(x)/sqrt(x)", lambda t, x: t.tanh(x) / t.sqrt(x), (0.05, 4.0)),
]


def _median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def _options(doc: str):
    """The command line shared by the side-by-side benchmarks (--size, --repeat) and torch, or None where it is
    not installed."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    return args, torch


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    print(f"∂/∂x on {args.size} values, median of {args.repeat} (ms; ratio: time / the widened kernel)")
    print(f"{'formula':18} {'dtype':8} {'symnet widened':>15} {'symnet written':>15} {'torch autograd':>15}")
    for formula, torch_form, (lo, hi) in CASES:
        widened = symnet.compile(symnet.derive(formula, ["x"]), "numpy", name="widened")
        keep = rewrite.series._widen_vanishing
        rewrite.series._widen_vanishing = lambda expr, x, fits: expr  # the generator without the widening, here only
        try:
            written = symnet.compile(symnet.derive(formula, ["x"]), "numpy", name="written")
        finally:
            rewrite.series._widen_vanishing = keep
        assert "_dw_widened_" in widened.source and "_dw_widened_" not in written.source
        for dtype in (np.float32, np.float64):
            x = rng.uniform(lo, hi, args.size).astype(dtype)
            ms = {"widened": _median_ms(lambda: widened(x=x), args.repeat),
                  "written": _median_ms(lambda: written(x=x), args.repeat)}
            if torch is not None:
                def autograd():
                    tx = torch.from_numpy(x).requires_grad_()
                    return torch.autograd.grad(torch_form(torch, tx).sum(), tx)
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['widened']:.2f})" for k in ms]
            print(f"{formula:18} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
