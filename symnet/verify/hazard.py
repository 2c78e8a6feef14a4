"""The measured hazard report of ``symnet derive FORMULA --stable`` (issue 16 point 3).

For the generated form of each output (the NumPy code ``symnet.compile`` runs), in float32 and
float64, at a grid of extreme points (each dtype's extremes: 0, ±1e−30, subnormals, ±1, ±20,
±88.7, ±1e4, ±3e38, the largest finite number, ±inf, both sides of every Piecewise boundary,
random points, and the points around each crossing of 0 of an output or a sum: the points
``symnet verify`` measures, :func:`symnet.verify.measure.points_of`), the result is compared with the exact value in mpmath. A hazard is FOUND, never
asserted:

* **overflow**: NaN or ±inf where the true result is a finite number of the dtype (or the wrong
  infinity);
* **underflow**: 0 or a subnormal where the true result is a normal number;
* **cancellation** (lost digits): a finite normal result off by more than the dtype's bound
  (:data:`symnet.verify.spec.BOUNDS`) in ULPs.

An output with none at any point is reported as "no hazard found in" the ranges measured, with
the number of points.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np

from .measure import classify, exact_text, points_of
from .spec import BOUNDS, spec_for

__all__ = ["hazards", "hazard_section"]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def hazards(d, dtypes=("float32", "float64"), n: int = 60, seed: int = 0, function=None) -> list[dict]:
    """One dict per output × dtype: ``output``, ``meaning``, ``dtype``, ``points`` measured, ``ranges``
    (text), ``found`` (kind → (where, got, true, ULPs): the first point of an overflow or underflow,
    the worst of a cancellation). ``function``: what to measure instead of the generated code (called
    with the input arrays in the kernel's order, returning one array per output); for tests.
    The points are those ``symnet verify`` measures with the same ``n`` and ``seed`` (its default 60),
    so "no hazard found" is never said of an output its table fails."""
    from ..codegen import compile as compile_
    from .evaluate import reference

    kernel = compile_(d, "numpy")
    k = kernel.kernel
    symbols = [i.symbol for i in k.inputs]
    names = [i.name for i in k.inputs]
    spec = spec_for(d.title or d.name or "derivation")
    rows = []
    for dt in dtypes:
        pts, note = points_of(kernel, spec, dt, n, seed)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = (function or kernel)(*[np.ascontiguousarray(pts[:, q]) for q in range(len(symbols))])
        fi = np.finfo(dt)
        for q, o in enumerate(k.outputs):
            found: dict[str, tuple] = {}
            measured = []
            for r, row in enumerate(pts):
                env = {s: float(v) for s, v in zip(symbols, row)}
                true, _ = reference(o.expr, env)
                if true is None or mpmath.isnan(true):
                    continue
                measured.append(row)
                got = float(outs[q][r])
                kind, ulps = classify(got, true, dt)
                where = ", ".join(f"{nm}={exact_text(v)}" for nm, v in zip(names, row))
                t = float(true) if abs(true) < mpmath.mpf("1e400") else math.copysign(math.inf, float(true))
                hazard = None
                if kind == "mismatch":
                    hazard = "overflow"
                elif kind == "normal" and (got == 0 or abs(got) < fi.tiny):
                    hazard = "underflow"
                elif kind == "normal" and ulps > BOUNDS[dt]:
                    hazard = "cancellation"
                if hazard and (hazard not in found or (hazard == "cancellation" and ulps > found[hazard][3])):
                    found[hazard] = (where, got, t, ulps)
            ranges = "; ".join(f"{nm} ∈ [{_fmt(min(float(r[i]) for r in measured))}, "
                               f"{_fmt(max(float(r[i]) for r in measured))}]" for i, nm in enumerate(names)) \
                if measured else "no point in the domain"
            rows.append({"output": o.name, "meaning": o.meaning, "dtype": dt, "points": len(measured),
                         "ranges": ranges, "found": found, "note": note})
    return rows


def hazard_section(d):
    """The measured hazards as a Section (a table: output, dtype, what was found, where)."""
    from ..derivation import Section

    rows = hazards(d)
    table = [("output", "dtype", "measured", "hazard found", "first/worst point")]
    for r in rows:
        if not r["found"]:
            table.append((r["meaning"], r["dtype"], f"{r['points']} points", f"no hazard found in {r['ranges']}", ""))
        for kind, (where, got, true, ulps) in r["found"].items():
            what = {"overflow": f"overflow or NaN: {got:.4g} where the true value is {true:.6g} (a term overflowed, "
                                "or 0/0, inf − inf, 0·inf)",
                    "underflow": f"underflow or cancellation to 0: {got:.4g} where the true value is {true:.6g} (a "
                                 "term underflowed, overflowed in a divisor, or cancelled)",
                    "cancellation": f"cancellation: {ulps:.3g} ULP off (true {true:.6g}, got {got:.6g})"}[kind]
            table.append((r["meaning"], r["dtype"], f"{r['points']} points", what, where))
    text = ("The generated code of each output, run in float32 and float64 at the extreme points of each dtype "
            "(0, ±1e−30, subnormals, ±1, ±20, ±88.7, ±1e4, ±3e38, the largest number, ±inf, both sides of "
            "each Piecewise boundary), random ones, and those at and around each point where an output or a sum of "
            "the formula crosses 0 (where it cancels; searched with the other variables fixed), against mpmath "
            "— the points symnet verify measures: overflow = NaN/inf where the true value "
            f"is finite; underflow = 0 or subnormal where it is normal; cancellation = more than "
            f"{BOUNDS['float32']:g} (float32) / {BOUNDS['float64']:g} (float64) ULPs off. Measured, not claimed: "
            "points outside the formula's domain are left out, ranges not listed were not measured, and a range "
            "listed is the span of the points measured, not every number in it.")
    for note in dict.fromkeys(f"{r['dtype']}: {r['note']}" for r in rows if r.get("note")):
        text += " " + note[0].upper() + note[1:] + "."
    return Section("Measured hazards of the generated code", (), text, tuple(table))
