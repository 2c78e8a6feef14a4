"""Where a Triton dump and the NumPy code differ, point by point: the companion of ``accuracy.py --from-dump``.

    python benchmarks/accuracy_triton_points.py DUMP.npz --references DIR [--only exp,tanh] [--over 1]

The table of ``--from-dump`` gives each cell's worst error alone; two columns with the same worst figure may still
disagree elsewhere, and two that differ may do so at different points. This script reads the dump's Triton outputs and
the mpmath references ``--from-dump --references DIR`` kept (it computes none: an entry without its references file is
left out and named), runs the generated NumPy code at the same points, and prints, for each cell where the two results
differ by more than ``--over`` ULPs (of the true value, in the cell's dtype) at some point, that point, both results
and both errors against mpmath there. Where one backend gives NaN/inf and the other does not, that is said too.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import accuracy_triton as at  # noqa: E402


def _step(true: float, dtype: str) -> float:
    """One ULP of the true value in ``dtype`` (the smallest subnormal's step below the normal range)."""
    fi = np.finfo(dtype)
    with np.errstate(over="ignore"):
        td = abs(np.dtype(dtype).type(true))
    if not np.isfinite(td):
        td = fi.max
    return float(np.spacing(td)) if td >= fi.tiny else float(fi.smallest_subnormal)


def compare(spec, replay: dict, refs: dict, over: float = 1.0) -> list[dict]:
    """One dict per (output, dtype): the worst Triton-vs-NumPy difference in ULPs and where it is."""
    from symnet.codegen import compile as compile_
    from symnet.verify.measure import _as_derivation, _where, classify

    d, _ = _as_derivation(spec, None)
    kernel = compile_(d, "numpy")
    k = kernel.kernel
    names = [i.name for i in k.inputs]
    found = []
    for dt, (x, y) in replay.items():
        if isinstance(y, str):
            continue
        pts = np.asarray(x, dtype=dt)
        keep, truths = [], []
        for r, row in enumerate(pts):
            key = tuple(float(v) for v in row)
            vals = [refs.get((q, key), (None,))[0] for q in range(len(k.outputs))]
            if any(v is None for v in vals) or any(math.isnan(v) for v in vals):
                continue  # as verify_replayed: no true value, or not resolved, or not computed by --from-dump
            keep.append(r)
            truths.append(vals)
        if not keep:
            continue
        pts = pts[keep]
        with np.errstate(all="ignore"):
            outs = kernel(*[np.ascontiguousarray(pts[:, q]) for q in range(pts.shape[1])])
        for q, o in enumerate(k.outputs):
            ours = np.asarray(outs[q], dtype=np.float64)
            theirs = np.asarray(y[keep, q], dtype=np.float64)
            worst = {"output": o.name, "dtype": dt, "diff": 0.0, "points": len(keep), "over": 0, "nan_only": 0}
            for r in range(len(keep)):
                a, b = ours[r], theirs[r]
                if a == b or (math.isnan(a) and math.isnan(b)):
                    continue
                if not (math.isfinite(a) and math.isfinite(b)):
                    worst["nan_only"] += 1
                    diff = math.inf
                else:
                    diff = abs(a - b) / _step(float(truths[r][q]), dt)
                if diff > over:
                    worst["over"] += 1
                if diff > worst["diff"]:
                    worst.update(diff=diff, at=_where(names, pts[r]), numpy=a, triton=b,
                                 numpy_ulp=classify(a, truths[r][q], dt), triton_ulp=classify(b, truths[r][q], dt),
                                 true=truths[r][q])
            found.append(worst)
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dump", metavar="DUMP.npz")
    p.add_argument("--references", metavar="DIR", required=True, help="the folder --from-dump kept them in")
    p.add_argument("--only", help="comma-separated registry names")
    p.add_argument("--over", type=float, default=1.0, help="ULPs: the cells to print (default 1)")
    args = p.parse_args(argv)
    from symnet.verify.spec import registry_specs

    meta, replays = at.load(args.dump)
    only = set(args.only.split(",")) if args.only else None
    t0 = time.perf_counter()
    missing, lines, compared = [], [], 0
    for spec in registry_specs():
        if spec.name not in replays or (only and spec.name not in only):
            continue
        kept = Path(args.references) / f"{spec.name}.json"
        if not kept.exists():
            missing.append(spec.name)
            continue
        refs = at.load_references(kept)  # (JSON, written by accuracy_triton.from_dump: no pickle)
        for w in compare(spec, replays[spec.name], refs, args.over):
            compared += 1
            if w["diff"] <= args.over:
                continue
            kind = lambda c: f"{c[1]:.3g} ULP" if c[0] in ("normal", "ok") else (  # noqa: E731
                f"{c[1]:.3g} subnormal steps" if c[0] == "sub" else "NaN/inf")
            lines.append(f"| {spec.formula} | {w['output']} | {w['dtype']} | {w['diff']:.3g} | {w['at']} | "
                         f"{float(w['numpy'])!r} ({kind(w['numpy_ulp'])}) | {float(w['triton'])!r} ({kind(w['triton_ulp'])}) | "
                         f"{w['over']} of {w['points']} |")
    print(f"{compared} cells compared (Triton dump vs the NumPy code here, at the dump's points), "
          f"{len(lines)} differ by more than {args.over:g} ULP somewhere; {time.perf_counter() - t0:.0f} s."
          + (f" No references kept for: {', '.join(missing)}." if missing else "") + "\n")
    if lines:
        print("| function | output | dtype | worst \\|Triton − NumPy\\| (ULPs of the true value) | at | NumPy "
              "(error) | Triton (error) | points past the threshold |\n|---|---|---|---|---|---|---|---|")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
