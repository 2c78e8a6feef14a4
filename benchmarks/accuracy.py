"""The accuracy table of the registry (issue 16, point 5).

Every function and loss of the registry (``symnet/registry.py``, ``symnet/losses.py``), float32
and float64: the worst error in ULPs (where the true result is a normal number) of symnet's
generated code (NumPy backend; ``--triton`` adds the Triton backend) and of torch (its built-in
function, and autograd of the formula as written) against mpmath, over the whole finite input
range: a log-spaced sweep of each dtype (both signs, ``--per-decade`` points a decade), its
extremes and both sides of each Piecewise boundary, plus random points. Writes
``benchmarks/results/accuracy-<date>.md`` and prints where symnet is more accurate than torch and
where it is worse. A reduced sweep of the same measurement is ``tests/test_accuracy.py``.

``--rows``: the same table for the row-wise registry (``symnet/rowwise_registry.py``: softmax,
log-softmax, logsumexp, cross-entropy with its options, NLL; :mod:`symnet.verify.rows`), one line per
function, option, output and dtype, the worst over the row sets; written to
``benchmarks/results/accuracy-rows-<date>.md``. Its reduced sweep is ``tests/test_accuracy_rows.py``.

    python benchmarks/accuracy.py [--per-decade 4] [--only sigmoid,tanh] [--triton]
    python benchmarks/accuracy.py --rows [--triton] [--only softmax,cross_entropy] [--known]

``--dump-triton FILE.npz`` (on a GPU) and ``--from-dump FILE.npz`` (here, with mpmath): the same table with the
Triton backend run on another machine (``benchmarks/accuracy_triton.py``).

    python benchmarks/accuracy.py --dump-triton out.npz [--jobs 8] [--budget 150] [--only sigmoid,tanh]
    python benchmarks/accuracy.py --from-dump out.npz [--only sigmoid] [--name accuracy-triton-h200-<date>]
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))  # accuracy_triton beside this file, also when imported from a test

from symnet.verify.measure import verify  # noqa: E402
from symnet.verify.spec import BOUNDS, registry_specs  # noqa: E402


def figure(cell) -> float:
    """A cell as one number: inf for a NaN/inf mismatch, NaN where nothing was measured."""
    if cell is None or not cell.measured:
        return math.nan
    return math.inf if cell.mismatches else cell.worst_ulp


def measure(specs, n: int, full_sweep: bool | int, backends=("numpy",)):
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
    """The table's text and its lists (more accurate than torch, worse, past the bound). A Triton column, where a
    report has one, stands beside the NumPy code's; the verdict and the lists then take the worse of the two."""
    impls = [i for i in ("symnet numpy", "symnet triton")
             if any(c.implementation == i for _, report, _ in rows if report is not None for c in report.cells)]
    lines = ["| function | output | dtype | bound | " + " | ".join(impls) + " | torch built-in | "
             "torch autograd (as written) | symnet vs torch |", "|---|---|---|---|" + "---|" * (len(impls) + 3)]
    better, worse, past = [], [], []
    for spec, report, note in rows:
        if report is None:
            lines.append(f"| {spec.formula} | — | — | — | not measured: {note} |" + " |" * (len(impls) + 2))
            continue
        keys = []
        for c in report.cells:
            if (c.output, c.dtype) not in keys:
                keys.append((c.output, c.dtype))
        for out, dt in keys:
            cols = [figure(report.cell(out, dt, i)) for i in impls]
            s = max((v for v in cols if not math.isnan(v)), default=math.nan)
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
            for i, v in zip(impls, cols):
                if not (v <= report.bounds[dt]) and not (math.isnan(v) and len(impls) > 1):
                    past.append((spec.name, out, dt, _fmt(v) + (f" ({i.split()[1]})" if len(impls) > 1 else "")))
            lines.append(f"| {spec.formula} | {out} | {dt} | ≤ {BOUNDS[dt]:g} | " + " | ".join(map(_fmt, cols)) +
                         f" | {_fmt(tb)} | {_fmt(ta)} | {verdict} |")
    return "\n".join(lines), better, worse, past


def row_table(cells, bounds=BOUNDS) -> tuple[str, list, list, list]:
    """The row-wise table: one line per function, option, output, dtype (the worst over the row sets, and
    where), and the lists by row set: symnet more accurate than torch, worse than torch, past the bound."""
    impls = [i for i in ("symnet numpy", "symnet triton") if any(c.implementation == i for c in cells)]
    by = {}
    for c in cells:
        by.setdefault((c.function, c.option, c.output, c.dtype), {}).setdefault(c.rows, {})[c.implementation] = c
    head = "| function | option | output | dtype | bound | " + " | ".join(impls) + " | torch built-in | worst rows | " \
        "symnet vs torch |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    better, worse, past = [], [], []
    count = {"cells": 0, "within": 0, "past": 0, "worse": 0}
    for (f, opt, out, dt), sets in by.items():
        bound = bounds[dt]
        worst = {i: math.nan for i in impls + ["torch built-in"]}
        where = {}
        for rows, cs in sets.items():
            t = cs.get("torch built-in")
            tf = t.figure if t is not None else math.nan
            for i, c in cs.items():
                v = c.figure
                if not math.isnan(v) and not (v <= worst[i]):
                    worst[i], where[i] = v, rows
                if not i.startswith("symnet") or math.isnan(v):
                    continue
                at = c.mismatch_at if c.mismatches else c.worst_at
                text = f"{f} [{opt}] {out} {dt}, {i.split()[1]}, rows {rows}: symnet {_fmt(v)}, torch {_fmt(tf)} ({at})"
                if v > bound:
                    past.append(text)
                if v > bound and v > tf:
                    worse.append(text)
                if v < tf and tf > bound and (v <= bound or v * 4 < tf):
                    better.append(text)
        s_worst = max((worst[i] for i in impls if not math.isnan(worst[i])), default=math.nan)
        tw = worst["torch built-in"]
        verdict = ""
        if any(w.startswith(f"{f} [{opt}] {out} {dt},") for w in worse):
            verdict = "symnet WORSE (some rows)"
        elif not math.isnan(s_worst) and not math.isnan(tw) and s_worst < tw and tw > bound:
            verdict = "symnet more accurate"
        if math.isnan(s_worst) and all(c.failed == "no such output" for cs in sets.values() for i, c in cs.items()
                                       if i.startswith("symnet")):
            cols = ["no kernel"] * len(impls)
        else:
            cols = [_fmt(worst[i]) for i in impls]
        rows_at = where.get(next((i for i in impls if not math.isnan(worst[i]) and worst[i] == s_worst), ""),
                            where.get("torch built-in", ""))
        lines.append(f"| {f} | {opt} | {out} | {dt} | ≤ {bound:g} | " + " | ".join(cols) + f" | {_fmt(tw)} | "
                     f"{rows_at} | {verdict} |")
        if not math.isnan(s_worst):
            count["cells"] += 1
            count["within" if s_worst <= bound else "past"] += 1
            count["worse"] += verdict.startswith("symnet WORSE")
    summary = (f"{count['cells']} cells (function, option, output, dtype) with a symnet kernel: {count['within']} "
               f"within the bound on every row set, {count['past']} past it on some row set, {count['worse']} of "
               f"them worse than torch on some row set (the lists below, row set by row set).\n\n")
    return summary + "\n".join(lines), better, worse, past


def rows_main(args) -> int:
    from symnet.verify import rows as rw
    backends = ("numpy", "triton") if args.triton else ("numpy",)
    cases = rw.CASES
    if args.only:
        wanted = set(args.only.split(","))
        cases = tuple(c for c in cases if c.function in wanted)
    t0 = time.perf_counter()
    cells = rw.measure_rows(backends=backends, reduced=args.reduced, cases=cases)
    text, better, worse, past = row_table(cells)
    date = datetime.date.today().isoformat()
    sets = ", ".join(f"{s.name} ({s.z.shape[0]}×{s.z.shape[1]})" for s in rw.row_sets("float64", args.reduced))
    head = (f"# Accuracy of the row-wise registry, {date}\n\n"
            "Worst error in ULPs against mpmath (50 digits) wherever the exact result is a normal number, the worst "
            "over the row sets (and which); `NaN/inf`: a NaN or an infinity where the exact result is not one; "
            "`n/m`: not measured; `no kernel`: symnet has no such output. A row holding +∞ has logsumexp +∞ "
            "and no softmax (∞/∞): nothing else is required there. Value columns: the value kernel and the "
            "_grad kernel's value, both measured. dz: the gradient with respect to the logits (the "
            "vector-Jacobian product with an upstream g ~ N(0,1) for softmax and log-softmax); dt: with respect "
            "to the soft targets (torch only). torch: its built-in in the same dtype (F.softmax, "
            "F.log_softmax, torch.logsumexp, F.cross_entropy, F.nll_loss; the softcap and the z-loss composed "
            "around F.cross_entropy), gradients by autograd. Options: class weights uniform in [0.2, 3], "
            "ignore_index on every third row, reductions over each row set. "
            f"Row sets (float64; float32 alike, ±3e38 for ±1e308): {sets}. Machine: this 2-core CPU box, NumPy "
            f"backend{' and Triton under TRITON_INTERPRET=1' if args.triton else ''}; "
            f"{time.perf_counter() - t0:.0f} s. Generated by `python benchmarks/accuracy.py --rows"
            f"{' --triton' if args.triton else ''}`.\n\n")
    body = head + text
    for title, items in (("symnet more accurate than torch (past the bound in torch)", better),
                         ("symnet worse than torch (and past the bound)", worse), ("symnet past the bound", past)):
        body += f"\n\n## {title}\n\n" + ("\n".join(f"- {b}" for b in items) or "none")
    body += "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy-rows-{date}.md"
    path.write_text(body, encoding="utf-8")
    print(body)
    if args.known:  # the tests' own measurement (tests/test_accuracy_rows.py), as KNOWN_ROW_FAILURES lines
        print(rw.known_failures_text(rw.reduced_cells(triton=args.triton)))
    print(f"written to {path}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", action="store_true", help="the row-wise registry (softmax, cross-entropy, …)")
    p.add_argument("--reduced", action="store_true", help="with --rows: the tests' reduced row sets")
    p.add_argument("--known", action="store_true",
                   help="with --rows: print the cells past the bound as a KNOWN_ROW_FAILURES table")
    p.add_argument("--per-decade", type=int, default=4, help="points of the log-spaced sweep per decade (0: no sweep)")
    p.add_argument("--points", type=int, default=60, help="random points besides the sweep")
    p.add_argument("--only", help="comma-separated registry names")
    p.add_argument("--triton", action="store_true", help="also the Triton backend (TRITON_INTERPRET=1 on a CPU)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--dump-triton", metavar="FILE.npz", help="run the Triton kernels at the sweep's points and save "
                   "points and outputs (on a GPU; no mpmath needed); the table is then --from-dump's")
    p.add_argument("--jobs", type=int, default=1, help="with --dump-triton: worker processes (entries at a time)")
    p.add_argument("--budget", type=float, default=150.0, help="with --dump-triton: seconds; the entries not "
                   "finished by then are left out (the dump names them)")
    p.add_argument("--from-dump", metavar="FILE.npz", help="the table of a --dump-triton file: its Triton outputs "
                   "against mpmath, beside the NumPy code and torch measured here at the same points")
    p.add_argument("--references", metavar="DIR", help="with --from-dump: keep each entry's mpmath references in "
                   "DIR and reuse them (another dump at the same points is then measured in minutes)")
    p.add_argument("--name", help="with --from-dump: the table's file name without .md "
                   "(default accuracy-triton-<date>)")
    args = p.parse_args(argv)
    if args.dump_triton or args.from_dump:
        return dump_main(args)
    if args.rows:
        if args.triton:
            import torch
            if not torch.cuda.is_available():  # the Triton kernels in the interpreter (read when triton is imported)
                os.environ.setdefault("TRITON_INTERPRET", "1")
        return rows_main(args)
    specs = registry_specs()
    if args.only:
        wanted = set(args.only.split(","))
        specs = [s for s in specs if s.name in wanted]
    t0 = time.perf_counter()
    # the number itself: `--per-decade 1` swept 4 a decade, as every value > 0 did (h-audit25)
    rows = measure(specs, args.points, full_sweep=max(args.per_decade, 0),
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


def dump_main(args) -> int:
    """--dump-triton and --from-dump (benchmarks/accuracy_triton.py)."""
    import accuracy_triton as at

    only = set(args.only.split(",")) if args.only else None
    if args.dump_triton:
        names = [s.name for s in registry_specs() if not only or s.name in only]
        at.dump(args.dump_triton, names, per_decade=max(args.per_decade, 0), points=args.points, jobs=args.jobs,
                budget=args.budget, log=lambda line: print(line, flush=True))
        return 0
    t0 = time.perf_counter()
    meta, rows = at.from_dump(args.from_dump, only, references=args.references)
    text, better, worse, past = table(rows)
    date = datetime.date.today().isoformat()
    sweep = meta["sweep"]
    head = (f"# Accuracy of the registry, Triton beside NumPy, {date}\n\n"
            "Worst error in ULPs against mpmath (50 digits, more where a formula cancels) wherever the true result "
            "is a normal number; `NaN/inf`: a NaN or infinity where the true result is not; `n/m`: not measured. "
            "Points: the NumPy sweep's (each dtype's extremes, both sides of every Piecewise boundary, "
            f"{sweep['points']} random points (seed {sweep['seed']}), the crossings of 0, and a log-spaced sweep of "
            f"the whole finite range, {sweep['per_decade']} a decade, both signs), made by the same code where "
            "the Triton kernels ran and saved with their outputs; the NumPy code and torch were run here at exactly "
            "those points. " + at.describe(meta) + f" References and the NumPy and torch columns: this CPU box, "
            f"{time.perf_counter() - t0:.0f} s. Generated by `python benchmarks/accuracy.py --from-dump FILE.npz` "
            "of `--dump-triton FILE.npz`. The verdict and the lists take the worse of the two symnet columns.\n\n")
    body = head + text + "\n\n## symnet more accurate than torch\n\n" + ("\n".join(f"- {b}" for b in better) or "none") + \
        "\n\n## symnet worse than torch\n\n" + ("\n".join(f"- {w}" for w in worse) or "none") + \
        "\n\n## symnet past the bound\n\n" + ("\n".join(f"- {n} {o} {d}: {f}" for n, o, d, f in past) or "none") + "\n"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.name or f'accuracy-triton-{date}'}.md"
    path.write_text(body, encoding="utf-8")
    print(body)
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
