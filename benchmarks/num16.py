"""The cost of session 16's numerics fixes (h-num16) on normal data: each kernel (value and gradients) beside a
naive NumPy reference of the same formulas written by hand (``naive_*`` below: the written form, one rounding per
operation) and torch autograd, timed side by side in one run. Run it from the tree before the changes too
(PYTHONPATH=that tree) for the before column: the kernel's ratio to the naive form is comparable across runs.

    cd benchmarks && python3 num16.py [--size N] [--repeat R]

* e^z − t·z (the Poisson NLL with log input, written out) on z in [−5, 5], t in 0..20: exp-minus-limit's two
  selects beyond |z| = 3.4e38
* 0.5·(s + (p − t)²·e^(−s)) (the log-variance Gaussian NLL) on p, t normal, s in [−3, 3]: one-minus-scaled-exp

Prints the median milliseconds and each one's time over the naive NumPy form. Speed is measured here, never
asserted.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)


def naive_poisson_log(t, z):
    e = np.exp(z)
    return e - t * z, -z, e - t


def naive_logvar(p, s, t):
    d = p - t
    w = d * d * np.exp(-s)
    return 0.5 * (s + w), d * np.exp(-s), 0.5 * (1 - w), -d * np.exp(-s)


def _cases(rng, n):
    return [
        ("exp(z) - t*z", {"t": rng.integers(0, 20, n).astype(float), "z": rng.uniform(-5, 5, n)}, naive_poisson_log,
         lambda T, v: T.exp(v["z"]) - v["t"] * v["z"]),
        ("0.5*(s + (p - t)**2*exp(-s))", {"p": rng.normal(size=n), "s": rng.uniform(-3, 3, n), "t": rng.normal(size=n)},
         naive_logvar, lambda T, v: 0.5 * (v["s"] + (v["p"] - v["t"]) ** 2 * T.exp(-v["s"]))),
    ]


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    print(f"value and gradients on {args.size} values, median of {args.repeat} (ms; ratio: time / the naive NumPy form)")
    print(f"{'formula':28} {'dtype':8} {'symnet':>15} {'naive NumPy':>15} {'torch autograd':>15}")
    for formula, data, naive, written in _cases(rng, args.size):
        kernel = symnet.compile(symnet.derive(formula), "numpy", name="bench")
        names = [str(v) for v in symnet.derive(formula).inputs]
        for dtype in (np.float32, np.float64):
            v = {k: a.astype(dtype) for k, a in data.items()}
            ms = {"symnet": _median_ms(lambda: kernel(**v), args.repeat),
                  "naive": _median_ms(lambda: naive(*[v[k] for k in names]), args.repeat)}
            if torch is not None:
                def autograd():
                    tv = {k: torch.from_numpy(a).requires_grad_() for k, a in v.items()}
                    return torch.autograd.grad(written(torch, tv).sum(), [tv[k] for k in names])
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['naive']:.2f})" for k in ms]
            print(f"{formula[:28]:28} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
