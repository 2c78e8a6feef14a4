"""The cost of session 16's numerics fixes (h-num16) on normal data: each kernel (value and gradients) beside a
naive NumPy reference of the same formulas written by hand (``naive_*`` below: the written form, one rounding per
operation) and torch autograd, timed side by side in one run. Run it from the tree before the changes too
(PYTHONPATH=that tree) for the before column: the kernel's ratio to the naive form is comparable across runs.

    cd benchmarks && python3 num16.py [--size N] [--repeat R]

* e^z − t·z (the Poisson NLL with log input, written out) on z in [−5, 5], t in 0..20: the exp-minus rule's kernel
  (exp-minus-limit's selects beyond |z| = 3.4e38: reverted in session 16, redone in session 18 as pieces of their
  own, the piece z > 64 unchanged)
* 0.5·(s + (p − t)²·e^(−s)) (the log-variance Gaussian NLL) on p, t normal, s in [−3, 3]: one-minus-scaled-exp

Prints the median milliseconds and each one's time over the naive NumPy form. Speed is measured here, never
asserted.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
from elem15 import compare  # noqa: E402  (the sibling benchmark's side-by-side loop: run from benchmarks/)


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
    compare(_cases, __doc__)


if __name__ == "__main__":
    main()
