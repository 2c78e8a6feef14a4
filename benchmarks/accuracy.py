"""The accuracy table of the registry (issue 16, point 5).

Every function and loss of the registry (``symnet/registry.py``, ``symnet/losses.py``), float32
and float64: the worst error in ULPs (where the true result is a normal number) of symnet's
generated code (NumPy backend; ``--triton`` adds the Triton backend) and of torch (its built-in
function, and autograd of the formula as written) against mpmath, over the whole finite input
range: a log-spaced sweep of each dtype (both signs, ``--per-decade`` points a decade), its
extremes and both sides of each Piecewise boundary, plus random points. Writes
``benchmarks/results/accuracy-<date>.md`` and prints where symnet is more accurate than torch and
where it is worse. A reduced sweep of the same measurement is ``tests/test_accuracy.py``.

    python benchmarks/accuracy.py [--per-decade 4] [--only sigmoid,tanh] [--triton]
"""
from __future__ import annotations

import argparse
import datetime
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from symnet.verify.measure import verify  # noqa: E402
from symnet.verify.spec import BOUNDS, registry_specs  # noqa: E402


def figure(cell) -> float:
    """A cell as one number: inf for a NaN/inf mismatch, NaN where nothing was measured."""
    if cell is None or not cell.measured:
        return math.nan
    return math.inf if cell.mismatches else cell.worst_ulp


def measure(specs, n: int, full_sweep: bool, backends=("numpy",)):
    rows = []
    for spec in specs:
        t0 = time.perf_counter()
        try:
            report = verify(spec, dtypes=spec.dtypes, backends=backends, n=n, full_sweep=full_sweep)
        except Exception as exc:  # noqa: BLE001 - one entry that cannot be measured: say so, go on
            rows.append((spec, None, f"{type(exc).__name__}: {exc}"))
            continue
        rows.append((spec, report, f"{time.perf_counter() - t0:.1f} s"))
    return rows


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "n/m"
    if math.isinf(v):
        return "NaN/inf"
    return "0" if v == 0 else (f"{v:.2f}" if v < 10 else (f"{v:.0f}" if v < 1e5 else f"{v:.1e}"))


def table(rows) -> tuple[str, list, list, list]:
    lines = ["| function | output | dtype | bound | symnet numpy | torch built-in | torch autograd (as written) | "
             "symnet vs torch |", "|---|---|---|---|---|---|---|---|"]
    better, worse, past = [], [], []
    for spec, report, note in rows:
        if report is None:
            lines.append(f"| {spec.formula} | — | — | — | not measured: {note} | | | |")
            continue
        keys = []
        for c in report.cells:
            if (c.output, c.dtype) not in keys:
                keys.append((c.output, c.dtype))
        for out, dt in keys:
            s = figure(report.cell(out, dt, "symnet numpy"))
            tb = figure(report.cell(out, dt, "torch built-in"))
            ta = figure(report.cell(out, dt, "torch autograd"))
            torch_fig = tb if not math.isnan(tb) else ta
            verdict = ""
            if not math.isnan(torch_fig) and not math.isnan(s):
                if s < torch_fig and (torch_fig > BOUNDS[dt] or math.isinf(torch_fig)):
                    verdict = "symnet more accurate"
                    better.append(f"{spec.formula} {out} {dt}: symnet {_fmt(s)}, torch {_fmt(torch_fig)}")
                elif s > torch_fig and s > BOUNDS[dt]:
                    verdict = "symnet WORSE"
                    worse.append(f"{spec.formula} {out} {dt}: symnet {_fmt(s)}, torch {_fmt(torch_fig)}")
            if not (s <= report.bounds[dt]):
                past.append((spec.name, out, dt, _fmt(s)))
            lines.append(f"| {spec.formula} | {out} | {dt} | ≤ {BOUNDS[dt]:g} | {_fmt(s)} | {_fmt(tb)} | {_fmt(ta)} | "
                         f"{verdict} |")
    return "\n".join(lines), better, worse, past


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-decade", type=int, default=4, help="points of the log-spaced sweep per decade")
    p.add_argument("--points", type=int, default=60, help="random points besides the sweep")
    p.add_argument("--only", help="comma-separated registry names")
    p.add_argument("--triton", action="store_true", help="also the Triton backend (TRITON_INTERPRET=1 on a CPU)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = p.parse_args(argv)
    specs = registry_specs()
    if args.only:
        wanted = set(args.only.split(","))
        specs = [s for s in specs if s.name in wanted]
    t0 = time.perf_counter()
    rows = measure(specs, args.points, full_sweep=args.per_decade > 0,
                   backends=("numpy", "triton") if args.triton else ("numpy",))
    text, better, worse, past = table(rows)
    date = datetime.date.today().isoformat()
    head = (f"# Accuracy of the registry, {date}\n\n"
            "Worst error in ULPs against mpmath (50 digits, more where a formula cancels) wherever the true "
            "result is a normal number; `NaN/inf`: a NaN or infinity where the true result is not; `n/m`: not "
            "measured. Points: each dtype's extremes, both sides of every Piecewise boundary, random points, and a "
            f"log-spaced sweep of the whole finite range ({args.per_decade} a decade, both signs); a loss's target "
            "stays in its range. Machine: this CPU box, NumPy backend"
            f"{' and Triton under TRITON_INTERPRET=1' if args.triton else ''}; "
            f"{time.perf_counter() - t0:.0f} s. Generated by `python benchmarks/accuracy.py`.\n\n")
    body = head + text + "\n\n## symnet more accurate than torch\n\n" + ("\n".join(f"- {b}" for b in better) or "none") + \
        "\n\n## symnet worse than torch\n\n" + ("\n".join(f"- {w}" for w in worse) or "none") + \
        "\n\n## symnet past the bound\n\n" + ("\n".join(f"- {n} {o} {d}: {f}" for n, o, d, f in past) or "none") + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy-{date}.md"
    path.write_text(body, encoding="utf-8")
    print(body)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
