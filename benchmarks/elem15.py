"""The cost of session 15's changes on normal data: each kernel (value and gradients) beside a naive NumPy
reference of the same formulas written by hand (``naive_*`` below: the written form, one rounding per
operation) and torch autograd, timed side by side in one run. Run it from the tree before the changes too
(PYTHONPATH=that tree) for the before column: the kernel's ratio to the naive form is comparable across runs.

    cd benchmarks && python3 elem15.py [--size N] [--repeat R]

* erf(x)/√x on x in (0, 3]: half-power-series (x^(−1/2)·P(x²) below 0.6875), e^(−x²) in double-word in widened sums
* t/x^(3/2) on t normal, x in [0.5, 4]: the power-quotient select, now two-sided where N is another input
* poisson_nll(x, t, 0) on x in [0, 10], t in 0..20: shifted-argument (each output widened, double-word in float64
  where its error bound is not within 3u)
* the pseudo-Huber loss δ²(√(1 + ((p − t)/δ)²) − 1) on δ in [0.5, 2], p, t normal (not changed: its float64 ∂δ,
  hypot_gap_slope in double-word on every element, is most of its cost)

Prints the median milliseconds and each one's time over the naive NumPy form. Speed is measured here, never
asserted.
"""
from __future__ import annotations

import math
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)

_erf = np.frompyfunc(math.erf, 1, 1)


def naive_erf_sqrt(x):
    e = _erf(x).astype(x.dtype)
    return e / np.sqrt(x), 2 * np.exp(-x * x) / np.sqrt(np.pi * x) - e / (2 * x ** 1.5)


def naive_t_x32(t, x):
    return t / x ** 1.5, x ** -1.5, -1.5 * t / x ** 2.5


def naive_poisson(t, x):
    return x - t * np.log(x + 1e-8), -np.log(x + 1e-8), 1 - t / (x + 1e-8)


def naive_pseudo_huber(delta, p, t):
    u = (p - t) / delta
    r = np.sqrt(1 + u * u)
    dp = delta * u / r
    return delta ** 2 * (r - 1), 2 * delta * (r - 1) - delta * u * u / r, dp, -dp


def _cases(rng, n):
    return [
        ("erf(x)/sqrt(x)", {"x": rng.uniform(1e-3, 3, n)}, naive_erf_sqrt,
         lambda T, v: T.erf(v["x"]) / T.sqrt(v["x"])),
        ("t/x**(3/2)", {"t": rng.normal(size=n), "x": rng.uniform(0.5, 4, n)}, naive_t_x32,
         lambda T, v: v["t"] / v["x"] ** 1.5),
        ("poisson_nll(x, t, 0)", {"t": rng.integers(0, 20, n).astype(float), "x": rng.uniform(0, 10, n)}, naive_poisson,
         lambda T, v: T.nn.functional.poisson_nll_loss(v["x"], v["t"], log_input=False, reduction="none")),
        ("delta**2*(sqrt(1 + ((p - t)/delta)**2) - 1)", {"delta": rng.uniform(0.5, 2, n), "p": rng.normal(size=n),
                                                         "t": rng.normal(size=n)}, naive_pseudo_huber,
         lambda T, v: v["delta"] ** 2 * (T.sqrt(1 + ((v["p"] - v["t"]) / v["delta"]) ** 2) - 1)),
    ]


def main():
    compare(_cases, __doc__)


def compare(cases, doc):
    """Time each case of ``cases(rng, size)`` (formula, data, naive NumPy form, torch form) side by side: symnet's
    NumPy kernel, the naive form and torch autograd, float32 and float64 (benchmarks/num16.py shares it)."""
    args, torch = _options(doc)
    rng = np.random.default_rng(0)
    print(f"value and gradients on {args.size} values, median of {args.repeat} (ms; ratio: time / the naive NumPy form)")
    print(f"{'formula':28} {'dtype':8} {'symnet':>15} {'naive NumPy':>15} {'torch autograd':>15}")
    for formula, data, naive, written in cases(rng, args.size):
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
