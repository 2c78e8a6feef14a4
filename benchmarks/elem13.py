"""The cost of session 13's changes on normal data, each kernel beside the generator without the change and torch
autograd, value and gradients, timed side by side in one run: the pseudo-Huber ∂δ as hypot_gap_slope (r, g and q in
double-word, p − t by TwoSum; before: session 12's float form, rewrite.GAP_SLOPE_NODE off) and log1p(x)/x′ widened
past the removable series' window (before: as written there, roots.REMOVABLE_REACH off), on x in [0.5, 100] (the
widened branch taken below 2.47) and in [−0.9, 2.4] (taken everywhere past the window).

    cd benchmarks && python3 elem13.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the new kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")  # the kernel before is not the one on disk
import symnet  # noqa: E402
from symnet.codegen import rewrite, roots  # noqa: E402
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)

PSEUDO_HUBER = "delta**2*(sqrt(1 + ((p - t)/delta)**2) - 1)"


def _compiled(node: bool, name: str):
    rewrite.hypot.GAP_SLOPE_NODE = node
    rewrite._hypot_slopes.cache_clear()
    try:
        return symnet.compile(symnet.derive(PSEUDO_HUBER), "numpy", name=name)
    finally:
        rewrite.hypot.GAP_SLOPE_NODE = True
        rewrite._hypot_slopes.cache_clear()


def _compiled_log1p(reach: bool, name: str):
    roots.REMOVABLE_REACH = reach
    roots.removable_fit.cache_clear()
    try:
        return symnet.compile(symnet.derive("log1p(x)/x"), "numpy", name=name)
    finally:
        roots.REMOVABLE_REACH = True
        roots.removable_fit.cache_clear()


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    new, old = _compiled(True, "new"), _compiled(False, "before")
    assert new.source != old.source
    print(f"value and gradients on {args.size} values, median of {args.repeat} (ms; ratio: time / the new kernel)")
    print(f"{'formula':22} {'dtype':8} {'symnet new':>15} {'symnet before':>15} {'torch autograd':>15}")
    for dtype in (np.float32, np.float64):
        data = {"delta": rng.uniform(0.5, 2.0, args.size).astype(dtype), "p": rng.normal(size=args.size).astype(dtype),
                "t": rng.normal(size=args.size).astype(dtype)}
        ms = {"new": _median_ms(lambda: new(**data), args.repeat), "before": _median_ms(lambda: old(**data), args.repeat)}
        if torch is not None:
            def autograd():
                d, p, t = (torch.from_numpy(data[k]).requires_grad_() for k in ("delta", "p", "t"))
                f = d ** 2 * (torch.sqrt(1 + ((p - t) / d) ** 2) - 1)
                return torch.autograd.grad(f.sum(), [d, p, t])
            ms["torch"] = _median_ms(autograd, args.repeat)
        cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
        print(f"{'pseudo-Huber':22} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)
    new, old = _compiled_log1p(True, "new"), _compiled_log1p(False, "before")
    assert new.source != old.source
    for lo, hi in ((0.5, 100.0), (-0.9, 2.4)):
        for dtype in (np.float32, np.float64):
            x = rng.uniform(lo, hi, args.size).astype(dtype)
            ms = {"new": _median_ms(lambda: new(x=x), args.repeat), "before": _median_ms(lambda: old(x=x), args.repeat)}
            if torch is not None:
                def autograd():
                    tx = torch.from_numpy(x).requires_grad_()
                    return torch.autograd.grad((torch.log1p(tx) / tx).sum(), [tx])
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
            label = f"log1p(x)/x [{lo}, {hi}]"
            print(f"{label:22} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
