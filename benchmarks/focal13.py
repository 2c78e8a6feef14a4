"""The cost of session 13's mixture-log rule on normal data: the focal loss with γ an input
(``focal(z, t, 1/4, gamma)``), value and gradients from ``symnet.compile`` beside the same generator with the rule
switched off (session 12's kernel) and torch autograd, on binary targets (t in {0, 1}: the rule's t = 1 and t = 0
branches of log(1 − p_t) in ∂γ) and on soft targets (its last branch: the written log), timed side by side in
one run.

    cd benchmarks && python3 focal13.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the new kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")  # the kernel before the rule is not the one on disk
import symnet  # noqa: E402
from symnet.codegen import doubleword, rewrite  # noqa: E402
from elem12 import _torch_form  # noqa: E402  (the focal loss written for torch autograd)
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)

FOCAL = "focal(z, t, 1/4, gamma)"


def _data(rng, n, targets):
    t = rng.integers(0, 2, n).astype(float) if targets == "binary" else rng.uniform(0.0, 1.0, n)
    return {"gamma": rng.uniform(0.0, 5.0, n), "t": t, "z": rng.normal(0.0, 3.0, n)}


@contextlib.contextmanager
def _rule_off():
    """The generator as it was before the rule (its function out of the node-by-node pass)."""
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS

    kept = rewrite._LOCAL
    widened = {k: v for k, v in NUMPY_HELPERS.items() if k.startswith(doubleword.GENERATED_PREFIX)}
    try:
        rewrite.pipeline._LOCAL = tuple(r for r in kept if r is not rewrite.MIXTURE_LOG.local)
        for k in widened:
            del NUMPY_HELPERS[k]
        yield
    finally:
        rewrite.pipeline._LOCAL = kept
        for k in [k for k in NUMPY_HELPERS if k.startswith(doubleword.GENERATED_PREFIX)]:
            del NUMPY_HELPERS[k]
        NUMPY_HELPERS.update(widened)


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    new = symnet.compile(symnet.derive(FOCAL), "numpy", name="new")
    with _rule_off():
        old = symnet.compile(symnet.derive(FOCAL), "numpy", name="before")
    assert new.source != old.source
    print(f"{FOCAL}: value and gradients on {args.size} values, median of {args.repeat} "
          f"(ms; ratio: time / the new kernel)")
    print(f"{'targets':8} {'dtype':8} {'symnet new':>15} {'symnet before':>15} {'torch autograd':>15}")
    for targets in ("binary", "soft"):
        for dtype in (np.float32, np.float64):
            data = {k: v.astype(dtype) for k, v in _data(rng, args.size, targets).items()}
            ms = {"new": _median_ms(lambda: new(**data), args.repeat),
                  "before": _median_ms(lambda: old(**data), args.repeat)}
            if torch is not None:
                def autograd():
                    tv = {k: torch.from_numpy(v).requires_grad_() for k, v in data.items()}
                    return torch.autograd.grad(_torch_form(torch, FOCAL, tv).sum(), list(tv.values()))
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
            print(f"{targets:8} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
