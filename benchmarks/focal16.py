"""The cost of a select's far branches in NumPy: the focal loss with γ an number and as an input
(``focal(z, t)``, ``focal(z, t, 1/4, gamma)``; branches beyond |z| = 1000), value and gradients from
``symnet.compile`` with the far branches computed only where they are taken (session 16's emitter) beside the
same kernel with every branch computed on every element (``elementwise.FAR = ∞``: the printing before) and torch
autograd, on normal data (z ~ N(0, 3): no far value) and on data with 1 % of z beyond ±1000, timed side by side in
one run.

    cd benchmarks && python3 focal16.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the new kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import math
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")  # both kernels built by this run's generator
import symnet  # noqa: E402
from symnet.codegen.backends.numpy import elementwise  # noqa: E402
from elem12 import _torch_form  # noqa: E402  (the focal loss written for torch autograd)
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)

FORMULAS = ("focal(z, t, 1/4, gamma)", "focal(z, t)")


def _data(rng, n, far_share):
    z = rng.normal(0.0, 3.0, n)
    far = rng.uniform(size=n) < far_share
    z[far] = rng.choice([-1.0, 1.0], far.sum()) * rng.uniform(1e3, 1e5, far.sum())
    return {"gamma": rng.uniform(0.0, 5.0, n), "t": rng.integers(0, 2, n).astype(float), "z": z}


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    for formula in FORMULAS:
        d = symnet.derive(formula)
        new = symnet.compile(d, "numpy", name="far_apart")
        kept = elementwise.FAR
        try:
            elementwise.FAR = math.inf
            old = symnet.compile(d, "numpy", name="everywhere")
        finally:
            elementwise.FAR = kept
        assert "_far = np.nonzero(" in new.source and "_far" not in old.source
        print(f"{formula}: value and gradients on {args.size} values, median of {args.repeat} "
              f"(ms; ratio: time / the new kernel)")
        print(f"{'z':10} {'dtype':8} {'far apart':>15} {'everywhere':>15} {'torch autograd':>15}")
        for far_share in (0.0, 0.01):
            for dtype in (np.float32, np.float64):
                data = {k: v.astype(dtype) for k, v in _data(rng, args.size, far_share).items()
                        if k != "gamma" or "gamma" in formula}
                ms = {"new": _median_ms(lambda: new(**data), args.repeat),
                      "old": _median_ms(lambda: old(**data), args.repeat)}
                if torch is not None:
                    def autograd():
                        tv = {k: torch.from_numpy(v).requires_grad_() for k, v in data.items()}
                        if "gamma" not in tv:
                            tv["gamma"] = 2.0
                        loss = _torch_form(torch, "focal(z, t, 1/4, gamma)", tv)
                        return torch.autograd.grad(loss.sum(), [v for k, v in tv.items() if k in data])
                    ms["torch"] = _median_ms(autograd, args.repeat)
                cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
                label = "normal" if far_share == 0 else f"{far_share:.0%} far"
                print(f"{label:10} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
