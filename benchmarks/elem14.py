"""The cost of session 14's changes on normal data, each kernel beside the generator without the change and torch
autograd, value and gradients, timed side by side in one run: the learnable-β swish x·σ(β·x), its ∂β as
sigmoid_pair_product (β·x, x·x, (1 + E)² and the numerator by Dekker's products, the quotient in double-word; before:
session 12's form in float, rewrite.PAIR_PRODUCT_NODE off), on β·x in [−3, 1] and on β, x standard normal.

    cd benchmarks && python3 elem14.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the new kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")  # the kernel before is not the one on disk
import symnet  # noqa: E402
from symnet.codegen import rewrite  # noqa: E402
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)

SWISH = "x*sigmoid(b*x)"


def _compiled(node: bool, name: str):
    rewrite.series.PAIR_PRODUCT_NODE = node
    try:
        return symnet.compile(symnet.derive(SWISH), "numpy", name=name)
    finally:
        rewrite.series.PAIR_PRODUCT_NODE = True


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    new, old = _compiled(True, "new"), _compiled(False, "before")
    assert new.source != old.source
    print(f"value and gradients on {args.size} values, median of {args.repeat} (ms; ratio: time / the new kernel)")
    print(f"{'data':22} {'dtype':8} {'symnet new':>15} {'symnet before':>15} {'torch autograd':>15}")
    b = rng.choice([-1.0, 1.0], args.size) * 10.0 ** rng.uniform(-1, 1, args.size)
    sets = {"β·x in [−3, 1]": (b, rng.uniform(-3, 1, args.size) / b),
            "β, x normal": (rng.normal(size=args.size), rng.normal(size=args.size))}
    for label, (bv, xv) in sets.items():
        for dtype in (np.float32, np.float64):
            data = {"b": bv.astype(dtype), "x": xv.astype(dtype)}
            ms = {"new": _median_ms(lambda: new(**data), args.repeat),
                  "before": _median_ms(lambda: old(**data), args.repeat)}
            if torch is not None:
                def autograd():
                    tb, tx = (torch.from_numpy(data[k]).requires_grad_() for k in ("b", "x"))
                    return torch.autograd.grad((tx * torch.sigmoid(tb * tx)).sum(), [tb, tx])
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
            print(f"{label:22} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
