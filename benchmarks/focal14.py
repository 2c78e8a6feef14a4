"""The cost on normal data of the focal loss with γ an input (``focal(z, t, 1/4, gamma)``, value and gradients from
``symnet.compile``) after session 14: its b^γ in NumPy's power times 1 + expm1(γ·b_lo/b_hi) (doubleword._dw_pow)
and the mixture-ratio and mixture-power rules, beside the same generator as session 13 left it (both rules off,
b^γ as the double-word e^(γ·log b)), without the rounded-power rule (session 11's kernel: b^γ of a rounded b) and
torch autograd, on binary targets (t in {0, 1}: the rules' t = 1 and t = 0 branches) and soft ones, timed side by
side in one run.

    cd benchmarks && python3 focal14.py [--size N] [--repeat R]

Prints the median milliseconds and each one's time over the new kernel. Speed is measured here, never asserted.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")  # the kernels before are not the ones on disk
import symnet  # noqa: E402
from symnet.codegen import doubleword, rewrite  # noqa: E402
from elem12 import _torch_form  # noqa: E402  (the focal loss written for torch autograd)
from focal13 import FOCAL, _data, _rule_off  # noqa: E402  (session 13's data and switch)
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)


@contextlib.contextmanager
def _session13_power():
    """NumPy's _dw_pow as session 13 had it: the double-word e^(γ·log b) (the Triton text, which is arithmetic)."""
    from symnet.registry import NUMPY_HELPER_NEEDS, NUMPY_HELPERS

    kept = NUMPY_HELPERS["_dw_pow"], NUMPY_HELPER_NEEDS["_dw_pow"]
    try:
        NUMPY_HELPERS["_dw_pow"] = doubleword._POW["triton"].split("\n", 1)[1]
        NUMPY_HELPER_NEEDS["_dw_pow"] = doubleword._POW_NEEDS["triton"]
        yield
    finally:
        NUMPY_HELPERS["_dw_pow"], NUMPY_HELPER_NEEDS["_dw_pow"] = kept


@contextlib.contextmanager
def _no_rounded_power():
    """The rounded-power rule applying nothing (a frozen Rule: its apply swapped for the identity meanwhile)."""
    kept = rewrite.ROUNDED_POWER.apply
    try:
        object.__setattr__(rewrite.ROUNDED_POWER, "apply", lambda e: e)
        yield
    finally:
        object.__setattr__(rewrite.ROUNDED_POWER, "apply", kept)


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    kernels = {"new": symnet.compile(symnet.derive(FOCAL), "numpy", name="new")}
    with _rule_off(rewrite.MIXTURE_RATIO, rewrite.MIXTURE_POWER), _session13_power():
        kernels["session 13"] = symnet.compile(symnet.derive(FOCAL), "numpy", name="session13")
        with _no_rounded_power():
            kernels["no rounded-power"] = symnet.compile(symnet.derive(FOCAL), "numpy", name="unrounded")
    assert len({k.source for k in kernels.values()}) == 3
    print(f"{FOCAL}: value and gradients on {args.size} values, median of {args.repeat} "
          f"(ms; ratio: time / the new kernel)")
    print(f"{'targets':8} {'dtype':8} " + " ".join(f"{k:>17}" for k in [*kernels, "torch autograd"]))
    for targets in ("binary", "soft"):
        for dtype in (np.float32, np.float64):
            data = {k: v.astype(dtype) for k, v in _data(rng, args.size, targets).items()}
            ms = {name: _median_ms(lambda: k(**data), args.repeat) for name, k in kernels.items()}
            if torch is not None:
                def autograd():
                    tv = {k: torch.from_numpy(v).requires_grad_() for k, v in data.items()}
                    return torch.autograd.grad(_torch_form(torch, FOCAL, tv).sum(), list(tv.values()))
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
            print(f"{targets:8} {np.dtype(dtype).name:8} " + " ".join(f"{c:>17}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
