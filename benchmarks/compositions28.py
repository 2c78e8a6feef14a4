"""Off-line search for faults of random compositions of registry functions (issue 16, "How it is checked"; h-hyp28).

Not a test (too slow for CI): draws compositions of depth 1–3 — chains of registry functions, two chains joined by
+ − · /, a chain raised to a power, a registry loss of a chain and a second variable — and measures each with
``symnet.verify`` (mpmath at 50+ digits; float32 and float64; values and gradients; at its random, extreme and
Piecewise-boundary points and the crossings of 0). Every point of every output is kept, so that a fault is:

* ``bound``: the true result is normal and symnet's code is past 4 ULP (float64) or 8 ULP (float32), and torch
  autograd of the same formula is within it (or no worse);
* ``bound-torch-too``: past the bound, and torch autograd is as bad or worse at that point;
* ``worse-than-torch``: within the bound but more than 1 ULP worse than torch autograd at that point;
* ``mismatch``: NaN/inf where the true result is finite (and torch's is not also one);
* ``error``: deriving, generating or measuring raised (the exception's type and first words); ``timeout``.

One JSON line a composition in ``--out``; ``--summary FILE`` prints the counts by class and the worst examples.

    python benchmarks/compositions28.py --count 300 --seed 1 --out /tmp/comp.jsonl [--jobs 2] [--timeout 60]
    python benchmarks/compositions28.py --count 20 --seed 7 --triton --out /tmp/comp_triton.jsonl
    python benchmarks/compositions28.py --summary /tmp/comp.jsonl
    python benchmarks/compositions28.py --formulas faulty.txt --out /tmp/after.jsonl   # the same formulas again
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BOUNDS = {"float64": 4.0, "float32": 8.0}


def unary_names():
    from symnet.registry import REGISTRY
    return sorted(n for n, f in REGISTRY.items() if f.arity[0] == 1 and f.family != "loss" and n != "where")


def loss_names():
    from symnet.registry import REGISTRY
    # gaussian_nll takes three arguments; bce / kl_div / poisson_nll have declared domains the second variable
    # does not always meet: verify leaves those points out and says so
    return sorted(n for n, f in REGISTRY.items() if f.family == "loss" and f.arity[0] == 2)


def chain(rng, names, depth, var="x") -> str:
    text = var
    for _ in range(rng.randint(1, depth)):
        text = f"{rng.choice(names)}({text})"
    return text


def draw(rng, unary, losses) -> str:
    kind = rng.choices(["chain", "binary", "power", "loss"], weights=[3, 4, 1.5, 1.5])[0]
    if kind == "chain":
        return chain(rng, unary, 3)
    if kind == "binary":
        a, b = chain(rng, unary, 2), chain(rng, unary, 2)
        return f"({a}) {rng.choice('+-*/')} ({b})"
    if kind == "power":
        return f"({chain(rng, unary, 2)})**{rng.choice(['2', '3', '(-1)', '(-2)', '(1/2)', '(3/2)'])}"
    inner = chain(rng, unary, 2)
    return f"{rng.choice(losses)}({inner}, y)"


def _measure_one(args):
    formula, dtypes, backends, n, timeout = args
    import warnings
    warnings.simplefilter("ignore")
    from symnet.verify import measure as M
    records = []
    orig = M._Acc.add

    def add(self, got, true, row):
        kind, ulps = M.classify(got, true, self.cell.dtype)
        records.append((self.cell.output, self.cell.dtype, self.cell.implementation,
                        tuple(float(v) for v in row), kind, ulps, float(got), float(true)))
        orig(self, got, true, row)

    M._Acc.add = add
    t0 = time.perf_counter()
    out = {"formula": formula}
    try:
        M.verify(formula, dtypes=dtypes, backends=backends, n=n, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - recorded as an error class
        name = type(exc).__name__
        out["error"] = f"{name}: {str(exc)[:300]}"
        out["timeout"] = name == "VerifyTimeoutError"
    finally:
        M._Acc.add = orig
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["faults"] = faults(records)
    out["points"] = len(records)
    return out


def faults(records):
    """Per (output, dtype, implementation): the points where symnet (numpy or triton) fails, with torch's figure."""
    torch_at = {(o, dt, row): (kind, ulps, got) for o, dt, impl, row, kind, ulps, got, _ in records
                if impl == "torch autograd"}
    found = []
    for o, dt, impl, row, kind, ulps, got, true in records:
        if not impl.startswith("symnet"):
            continue
        tk, tu, tg = torch_at.get((o, dt, row), (None, math.nan, math.nan))
        tu = math.inf if tk == "mismatch" else (0.0 if tk == "ok" else tu)
        if tk == "sub":
            tu = math.nan
        if kind == "mismatch":
            cls = "mismatch" if tk != "mismatch" else "mismatch-torch-too"
        elif kind != "normal":
            continue
        elif ulps > BOUNDS[dt]:
            cls = "bound-torch-too" if (tu == tu and tu >= ulps) else "bound"
        elif tu == tu and ulps > tu + 1 + 1e-6:
            cls = "worse-than-torch"
        else:
            continue
        found.append({"output": o, "dtype": dt, "impl": impl, "at": row, "class": cls,
                      "ulps": ulps if ulps != math.inf else "inf", "got": got, "true": true,
                      "torch_ulps": tu if tu == tu and tu != math.inf else str(tu)})
    # the worst point per (output, dtype, impl, class)
    worst = {}
    for f in found:
        key = (f["output"], f["dtype"], f["impl"], f["class"])
        u = math.inf if f["ulps"] == "inf" else f["ulps"]
        if key not in worst or u > worst[key][0]:
            worst[key] = (u, f, 0)
        worst[key] = (worst[key][0], worst[key][1], worst[key][2] + 1)
    return [dict(f, count=c) for _, f, c in worst.values()]


def run(args):
    rng = random.Random(args.seed)
    unary, losses = unary_names(), loss_names()
    formulas = list(dict.fromkeys(draw(rng, unary, losses) for _ in range(args.count)))
    if args.formulas:  # measured again (after a fix): one formula a line
        formulas = [f.strip() for f in open(args.formulas) if f.strip()]
    backends = ("numpy", "triton") if args.triton else ("numpy",)
    done = set()
    if os.path.exists(args.out):  # a run cut short goes on where it stopped (a line that lost torch to a timeout: again)
        for line in map(json.loads, open(args.out)):
            if "partially initialized" not in line.get("error", ""):
                done.add(line["formula"])
    # imported before the workers fork: a verify timeout inside a worker's first `import torch` left a half-imported
    # module behind ("partially initialized module 'torch'") for every later formula of that worker
    import importlib
    for module in ("torch", "symnet.verify.measure"):
        importlib.import_module(module)
    jobs = [(f, ("float32", "float64"), backends, args.points, args.timeout) for f in formulas if f not in done]
    with open(args.out, "a") as fh, mp.get_context("fork").Pool(args.jobs, maxtasksperchild=4) as pool:
        for i, res in enumerate(pool.imap_unordered(_measure_one, jobs)):
            fh.write(json.dumps(res) + "\n")
            fh.flush()
            print(f"[{i + 1}/{len(jobs)}] {res['seconds']:6.1f} s  {len(res['faults'])} faults  "
                  f"{res.get('error', '')[:80]}  {res['formula']}", flush=True)


def cls_of(line):
    if line.get("error"):
        return ["timeout" if line.get("timeout") else "error"]
    return sorted({f["class"] for f in line["faults"]})


def refined(line, impl="symnet numpy") -> set:
    """The classes of the report: a composition's faults for one implementation, torch's figure at the same point
    deciding whether it is symnet's own (past the bound where torch is within it; NaN/inf where torch is finite)."""
    if line.get("error"):
        if line.get("timeout"):
            return {"timeout"}
        return {"refused (domain/undefined)"} if any(w in line["error"] for w in ("ParseError", "DerivationError")) \
            else {"codegen/measure error"}
    out = set()
    for f in line["faults"]:
        if f["impl"] != impl:
            continue
        tu = {"inf": math.inf, "nan": math.nan}.get(str(f["torch_ulps"]), f["torch_ulps"])
        tu = float(tu)
        if f["class"].startswith("mismatch"):
            out.add("NaN/inf, torch finite" if f["class"] == "mismatch" else "NaN/inf, torch too")
        elif f["class"].startswith("bound"):
            out.add("past bound, torch within" if tu == tu and tu <= BOUNDS[f["dtype"]] else "past bound, torch too")
        else:
            out.add("within bound, >1 ULP worse than torch")
    return out


def _figure(ulps) -> str:
    """A ULP figure of a fault line ("inf", "nan" or a number) in 4 digits: the first 6 characters of its str, as
    before, showed 8.263e15 as 826340 (h-search34)."""
    return ulps if isinstance(ulps, str) else f"{ulps:.4g}"


def summary(path):
    lines = list({json.loads(s)["formula"]: json.loads(s) for s in open(path)}.values())  # the last line a formula
    c = Counter()
    by_impl = Counter()
    for line in lines:
        for k in cls_of(line):
            c[k] += 1
        for f in line["faults"]:
            by_impl[(f["impl"], f["dtype"], f["class"])] += 1
    print(f"{len(lines)} compositions; {sum(1 for s in lines if not cls_of(s))} without a fault")
    for k, v in c.most_common():
        print(f"  {k:20s} {v}")
    for k, v in sorted(by_impl.items()):
        print(f"  {k} {v}")
    for impl in ("symnet numpy", "symnet triton"):
        per = Counter(k for line in lines for k in refined(line, impl))
        if impl == "symnet triton" and not any(f["impl"] == impl for line in lines for f in line["faults"]):
            continue
        print(f"{impl}: compositions with a fault of each class")
        for k, v in per.most_common():
            print(f"  {k:40s} {v}")
    for line in lines:
        if line.get("error"):
            print("ERR", line["formula"], "|", line["error"][:160])
    for line in lines:
        for f in line["faults"]:
            print(f"{f['class']:18s} {f['impl'][7:]:6s} {f['dtype']} {f['output']:8s} ulps={_figure(f['ulps']):10s} "
                  f"torch={_figure(f['torch_ulps']):10s} n={f['count']:3d} at={f['at']} got={f['got']:.6g} "
                  f"true={f['true']:.6g}  {line['formula']}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--points", type=int, default=8, help="random points a dtype, beside the extremes")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--triton", action="store_true", help="also the Triton backend (TRITON_INTERPRET=1 on a CPU)")
    p.add_argument("--out", default="/tmp/compositions28.jsonl")
    p.add_argument("--summary", metavar="FILE")
    p.add_argument("--formulas", metavar="FILE", help="measure these formulas (one a line) instead of drawing")
    args = p.parse_args(argv)
    if args.summary:
        summary(args.summary)
        return 0
    if args.triton and not os.environ.get("TRITON_INTERPRET"):
        os.environ["TRITON_INTERPRET"] = "1"
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
