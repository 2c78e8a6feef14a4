"""The product-order rule's cost: a·b·c from ``symnet.compile`` with the rule (_ordered_product: (a·b)·c, redone with the
middle-magnitude factor last where a·b left the normal range) beside the same generator with the rule taken out (a·b·c as written),
NumPy's a*b*c and torch's, timed side by side in one run.

    python3 benchmarks/product_order.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the rule's kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import symnet
from symnet.codegen import rewrite


def _median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    ordered = symnet.compile(symnet.derive("a*b*c", ["a", "b", "c"]), "numpy", gradients=False, name="ordered")
    keep = rewrite.products._ordered_product
    rewrite.products._ordered_product = lambda node: None  # the generator without the rule, for this comparison only
    try:
        written = symnet.compile(symnet.derive("a*b*c", ["a", "b", "c"]), "numpy", gradients=False, name="written")
    finally:
        rewrite.products._ordered_product = keep
    assert "_ordered_product(" in ordered.source and "_ordered_product(" not in written.source
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"a·b·c on {args.size} values, median of {args.repeat} (ms; ratio: time / the rule's kernel)")
    print(f"{'dtype':8} {'data':6} {'symnet (rule)':>14} {'symnet written':>15} {'numpy a*b*c':>14} {'torch a*b*c':>14}")
    for dtype in (np.float32, np.float64):
        for data in ("normal", "wide"):  # N(0, 1): nothing overflows; N(0, 1)·10^U(−30, 30): float32's a·b often does
            scale = (lambda: 10.0 ** rng.integers(-30, 30, args.size)) if data == "wide" else (lambda: 1.0)
            a, b, c = ((rng.standard_normal(args.size) * scale()).astype(dtype) for _ in range(3))
            ms = {"rule": _median_ms(lambda: ordered(a=a, b=b, c=c), args.repeat),
                  "written": _median_ms(lambda: written(a=a, b=b, c=c), args.repeat),
                  "numpy": _median_ms(lambda: a * b * c, args.repeat)}
            if torch is not None:
                ta, tb, tc = (torch.from_numpy(v) for v in (a, b, c))
                ms["torch"] = _median_ms(lambda: ta * tb * tc, args.repeat)
            cells = [f"{ms[k]:7.2f} ({ms[k] / ms['rule']:.2f})" for k in ms]
            print(f"{np.dtype(dtype).name:8} {data:6} " + " ".join(f"{c:>14}" for c in cells))

if __name__ == "__main__":
    main()
