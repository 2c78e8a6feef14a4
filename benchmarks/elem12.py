"""The cost of session 12's elementwise rules on normal data: power-quotient (log1p(x)/x′: a select on |x| < 2⁶⁰),
hypot-slope (the pseudo-Huber gradients as quotients at most 1) and rounded-power (the focal loss with γ an input:
its products with (1 − p_t)^γ widened, double-word in float64), each kernel from ``symnet.compile`` beside the same
generator with the rule switched off (session 11's kernels) and torch autograd, timed side by side in one run.

    python3 benchmarks/elem12.py [--size N] [--repeat R]

Prints the median milliseconds of value and gradients and each one's time over the new kernel. Speed is measured
here, never asserted.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")  # the kernel before the rules is not the one on disk
import symnet  # noqa: E402
from symnet.codegen import doubleword, rewrite  # noqa: E402
from quotient_roots import _median_ms, _options  # noqa: E402  (the sibling benchmark's timer: run from benchmarks/)


def _data(rng, n, dtype):
    return {
        "log1p(x)/x": {"x": rng.uniform(0.5, 100.0, n)},
        "delta**2*(sqrt(1 + ((p - t)/delta)**2) - 1)": {"delta": rng.uniform(0.5, 2.0, n), "p": rng.normal(size=n),
                                                         "t": rng.normal(size=n)},
        "focal(z, t, 1/4, gamma)": {"gamma": rng.uniform(0.0, 5.0, n), "t": rng.integers(0, 2, n).astype(float),
                                    "z": rng.normal(0.0, 3.0, n)},
    }


def _torch_form(torch, formula, v):
    if formula == "log1p(x)/x":
        return torch.log1p(v["x"]) / v["x"]
    if formula.startswith("delta"):
        return v["delta"] ** 2 * (torch.sqrt(1 + ((v["p"] - v["t"]) / v["delta"]) ** 2) - 1)
    z, t, g = v["z"], v["t"], v["gamma"]
    p = torch.sigmoid(z)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none")
    return (0.25 * t + 0.75 * (1 - t)) * ce * (1 - (p * t + (1 - p) * (1 - t))) ** g


@contextlib.contextmanager
def _rules_off():
    """The generator as it was before these rules (their apply the identity; b^γ in a widened body in float64)."""
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS

    rules = [rewrite.POWER_QUOTIENT, rewrite.HYPOT_SLOPE, rewrite.ROUNDED_POWER]
    kept = [r.apply for r in rules]
    power = doubleword._Emitter._power
    # the widened bodies' functions are registered by the body's digest, first text kept: set the new ones aside
    widened = {k: v for k, v in NUMPY_HELPERS.items() if k.startswith(doubleword.GENERATED_PREFIX)}

    def plain_power(self, e):
        return self._plain(e) if not e.exp.is_number else power(self, e)

    try:
        for r in rules:
            object.__setattr__(r, "apply", lambda e: e)
        doubleword._Emitter._power = plain_power
        for k in widened:
            del NUMPY_HELPERS[k]
        yield
    finally:
        for r, apply in zip(rules, kept):
            object.__setattr__(r, "apply", apply)
        doubleword._Emitter._power = power
        for k in [k for k in NUMPY_HELPERS if k.startswith(doubleword.GENERATED_PREFIX)]:
            del NUMPY_HELPERS[k]
        NUMPY_HELPERS.update(widened)


def main():
    args, torch = _options(__doc__)
    rng = np.random.default_rng(0)
    print(f"value and gradients on {args.size} values, median of {args.repeat} (ms; ratio: time / the new kernel)")
    print(f"{'formula':45} {'dtype':8} {'symnet new':>15} {'symnet before':>15} {'torch autograd':>15}")
    for formula in _data(rng, 1, np.float64):
        new = symnet.compile(symnet.derive(formula), "numpy", name="new")
        with _rules_off():
            old = symnet.compile(symnet.derive(formula), "numpy", name="before")
        assert new.source != old.source, formula
        for dtype in (np.float32, np.float64):
            data = {k: v.astype(dtype) for k, v in _data(rng, args.size, dtype)[formula].items()}
            ms = {"new": _median_ms(lambda: new(**data), args.repeat),
                  "before": _median_ms(lambda: old(**data), args.repeat)}
            if torch is not None:
                def autograd():
                    tv = {k: torch.from_numpy(v).requires_grad_() for k, v in data.items()}
                    return torch.autograd.grad(_torch_form(torch, formula, tv).sum(), list(tv.values()))
                ms["torch"] = _median_ms(autograd, args.repeat)
            cells = [f"{ms[k]:7.1f} ({ms[k] / ms['new']:.2f})" for k in ms]
            print(f"{formula:45} {np.dtype(dtype).name:8} " + " ".join(f"{c:>15}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
