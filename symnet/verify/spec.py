"""What is measured, and against which bound: the one spec registry and tolerance table.

Both ``symnet verify`` and the tests (``tests/test_accuracy.py``) and the accuracy benchmark
(``benchmarks/accuracy.py``) take their outputs, dtypes, backends, points and bounds from here.

* :data:`BOUNDS`: the worst error allowed, in ULPs of the true result rounded to the dtype,
  wherever that result is a normal number (issue 16: ≤ 4 ULP float64, ≤ 8 ULP float32).
* :func:`extremes`: the extreme points of a dtype (0, ±1e−30, subnormals, ±1, ±20, ±88.7,
  ±1e4, ±3e38, the largest finite number, ±inf, and float64's own ±1e200, ±709).
* :func:`sweep`: a log-spaced sweep over the dtype's whole finite range, both signs.
* :class:`Spec` and :func:`registry_specs`: one spec per function and loss of the registry.
* :data:`KNOWN_FAILURES`: registry entries measured past the bound, with the measured number,
  so a test marks them xfail (strict) and progress shows when one is fixed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BOUNDS", "DTYPES", "BACKENDS", "DIGITS", "Spec", "extremes", "sweep", "registry_specs",
           "KNOWN_FAILURES", "spec_for"]

BOUNDS = {"float64": 4.0, "float32": 8.0}  # ULPs, where the true result is a normal number
DTYPES = ("float32", "float64")
BACKENDS = ("numpy", "triton")
DIGITS = 50  # mpmath's working precision; raised where the formula as written cancels (see measure.py)


def extremes(dtype: str) -> list[float]:
    """The extreme points of ``dtype``, both signs: the ones issue 16 names, and the dtype's own limits."""
    fi = np.finfo(dtype)
    mags = [1e-30, float(fi.smallest_subnormal), float(fi.tiny) / 2 ** 3, float(fi.tiny), 1.0, 20.0, 88.7, 1e4,
            3e38, float(fi.max), math.inf]
    if dtype == "float64":
        mags += [1e-300, 709.0, 1e200]
    values = [0.0]
    for m in mags:
        if m <= fi.max or math.isinf(m):
            values += [float(np.dtype(dtype).type(m)), float(np.dtype(dtype).type(-m))]
    return sorted(set(values), key=lambda v: (abs(v), v))


def sweep(dtype: str, per_decade: int = 4) -> list[float]:
    """Log-spaced magnitudes from the smallest subnormal to the largest finite number, both signs."""
    fi = np.finfo(dtype)
    lo, hi = math.log10(float(fi.smallest_subnormal)), math.log10(float(fi.max))
    n = int((hi - lo) * per_decade) + 1
    with np.errstate(over="ignore"):
        mags = np.logspace(lo, hi, n).astype(dtype)
    mags = mags[np.isfinite(mags) & (mags > 0)]
    return sorted({float(s * m) for m in mags for s in (1, -1)})


@dataclass(frozen=True)
class Spec:
    """One measured formula: its text (the parser's syntax), the torch built-in where one exists,
    the Piecewise boundaries of its first argument, the values its other arguments take."""

    name: str
    formula: str
    family: str = "formula"
    torch_builtin: object = None  # (torch, *tensors) → values, arguments in the order of ``arguments``
    arguments: tuple[str, ...] = ()  # the variables in the order the formula's function takes them
    boundaries: tuple[float, ...] = ()
    others: tuple[float, ...] = (0.0, 1.0, 0.3, -1.5, 0.7, 2.5)  # values of the arguments not swept
    ranges: dict = field(default_factory=dict)  # argument name → (lo, hi): a target's range
    dtypes: tuple[str, ...] = DTYPES
    backends: tuple[str, ...] = ("numpy",)
    notes: tuple[str, ...] = field(default=())


# the registry's argument names, by arity, and for the losses the names torch gives them
_ARGS = {1: ("x",), 2: ("x", "t"), 3: ("x", "t", "v")}
_SKIP = {"where"}  # where(cond, a, b): its first argument is a comparison, not a number


# a target's range, where the loss defines one (torch's documented ranges): probabilities, counts
_TARGET_RANGES = {"bce": (0.0, 1.0), "bce_logits": (0.0, 1.0), "focal": (0.0, 1.0), "kl_div": (0.0, 1.0),
                  "poisson_nll": (0.0, 1e4)}


def _ranges(name: str, args) -> dict:
    rng = {}
    if name in _TARGET_RANGES and len(args) > 1:
        rng[args[1]] = _TARGET_RANGES[name]
    if name == "bce":
        rng[args[0]] = (0.0, 1.0)
    return rng


def registry_specs() -> list[Spec]:
    """One spec per function and loss of the registry (``symnet/registry.py``, ``symnet/losses.py``),
    called with its fewest arguments: ``sigmoid(x)``, ``huber(x, t)``, ``clamp(x, t, v)``."""
    from ..registry import REGISTRY

    specs = []
    for name, entry in REGISTRY.items():
        if name in _SKIP:
            continue
        k = entry.arity[0]
        args = _ARGS[k]
        specs.append(Spec(name, f"{name}({', '.join(args)})", entry.family, entry.torch, args,
                          tuple(entry.boundaries), ranges=_ranges(name, args)))
    return specs


def spec_for(formula: str) -> Spec:
    """The spec of a user's formula: where the formula is one registry function applied to distinct
    variables (``sigmoid(x)``, ``bce_logits(z, y)``), torch's built-in is measured beside it."""
    import re

    from ..registry import NAMES

    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*\(\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*\)\s*", formula)
    if m and m.group(1) in NAMES:
        entry = NAMES[m.group(1)]
        args = tuple(a.strip() for a in m.group(2).split(","))
        if len(set(args)) == len(args) and entry.arity[0] <= len(args) and len(args) <= entry.arity[0]:
            return Spec(entry.name, formula, entry.family, entry.torch, args, tuple(entry.boundaries),
                        ranges=_ranges(entry.name, args))
    return Spec(formula, formula)


# Registry entries measured past BOUNDS with the reduced sweep of tests/test_accuracy.py (numpy
# backend, this machine): (name, output, dtype) → the measured worst ULPs. Filled from the
# measurement, never by hand-loosening a bound; a test fails (xfail strict) once one is fixed.
# Measured 2026-11-30 (after merging main: the stability rules of h-rules) with REDUCED_POINTS random points; all are true errors of the generated code
# (cancellation: tanh′ = 1 − tanh², hardsigmoid x/6 + 1/2 near −3, tanhshrink x − tanh x near 0;
# overflow to NaN/inf at large |x|), which the stability rules of issue 16 point 1 are to fix.
REDUCED_POINTS = 20
KNOWN_FAILURES: dict[tuple[str, str, str], str] = {
    # (gelu′, gelu_tanh′ float64 and mish′ float32, 13.6 / 10.9 / 19.1 ULP by their roots: fixed by the
    # root-series rule, tests/test_root_series.py)
    # (focal f float64, 4.64 at t = 1/3, z = 2.5: α_t·(1 − p_t)²·CE, some 12 roundings; the product
    # widened, in double-word arithmetic)
    # (focal ∂x float64, 4.37 at t = 0.7, z = 1.71: the product-rule sum that crosses zero, widened and
    # computed in double-word arithmetic, symnet/codegen/doubleword.py, tests/test_doubleword.py)
    # Found 2026-12-01 by the points at the crossings of 0 (measure.crossing_points; before it the random
    # points never came near them), a sum of rounded terms cancelling where it crosses 0 in float64.
    # Fixed by the double-word widened sums (symnet/codegen/doubleword.py): bce_logits ∂x (σ(x) − t at
    # t = σ(1), 3.6e15), poisson_nll f and ∂x (eˣ − t·x at t = e, x = 1, 5.9e15), gaussian_nll ∂v (at
    # v = (x − t)², 1.1e16), kl_div ∂t (log t + 1 − x at x = 1, 3.02e7). Measured after the double-word
    # merge on the reduced sweep's crossing points, fixed 2026-12-01 (tests/test_cells8.py): bce's
    # ∂/∂t = log(1 − x) − log x near x = ½ (821 at x = 0.49995; one input: the log-difference rule),
    # focal's ∂t at x = −0.1743 (17.4, the result 3.9e−18 of terms of order 1) and gaussian_nll
    # ½(log v + (x − t)²/v) at v = 0.0242, x − t = 0.3 (9.27): e^x and log in double-word were 2⁻⁹⁸
    # relative (r⁵/120 of their Taylor series in float64), now about 2⁻¹⁰⁴
    # (gaussian_nll f float64, 5.27 ULP at t = 0, v = 0.0242, x = 0.3, session 16: f = ½(log v + (x − t)²/v) =
    # 1.43e−17 from two terms of 1.86, a 2⁵⁸ cancellation, so 4 ULP of f is 2⁻¹⁰⁸ of each term, past what a
    # double word holds (its lo part rounds at 2⁻¹⁰⁶ of 1.86); the table-driven log's low parts summed in float64
    # (k·ln 2's 2⁻¹⁰⁹, log F's double word) and the quotient's one correction rounded there. Fixed 2026-12-02
    # (h-gauss17): a widened sum with a log among terms of products, quotients and selects is computed in triple
    # words (doubleword._tw_*, the NumPy log's _tw_log), 0.50 ULP there and at 361 floats about that crossing,
    # tests/test_gauss17.py; Triton's Newton log keeps its double word, 1.27 there)
    # trig46 (session 46): found by the float64 search's crossings of float32's range (measure._float32_range_crossings)
    ("gelu_tanh", "df_dx", "float64"): "59.9 ULP at x = −21.192674228181385 (got −4.6516196957540137e−307, true "
                                       "−4.6516196957540611e−307, a normal number near the underflow; torch autograd 0 "
                                       "there, 5.9e15 ULP)",
}
