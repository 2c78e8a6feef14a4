"""Random compositions of registry activations and the arithmetic of two inputs, against mpmath (issue 16; h-hyp31).

Not a test (too slow for CI): the off-line, longer form of tests/test_hypothesis_compositions.py, drawn by our own
seeded RNG so that every draw is logged. benchmarks/compositions28.py drew chains of one variable (and a loss of a
chain and y); this draws formulas of two inputs x and y, depth 1–3:

* an activation (or another unary function of the registry) of a formula;
* a sum, difference, product or quotient of two formulas;
* a formula to a power (2, 3, −1, −2, 1/2, 3/2, or the other input: x**y);
* log, exp, log1p, expm1 around a formula, and the two-input log/exp shapes log(e^A + e^B), e^A/(e^A + e^B),
  log(A·B), e^(A − B).

Each draw is derived and compiled (NumPy) under a limit of ``--compile-limit`` CPU seconds (30: a compile past it is
skipped and logged with its formula, a finding too), then measured with :func:`symnet.verify`: mpmath at 50+ digits
(more where the formula cancels), float32 and float64, the value and every gradient, at its random, extreme and
Piecewise-boundary points and the crossings of 0, with torch autograd (the formula as written) at the same points.
Every ``--triton-every``-th draw is measured on the Triton backend too (TRITON_INTERPRET=1 on a CPU). The classes of
a fault are benchmarks/compositions28.py's (``summary`` prints them):

* ``bound`` / ``bound-torch-too``: the true result is normal and symnet is past 4 ULP (float64) / 8 ULP (float32);
* ``mismatch`` / ``mismatch-torch-too``: NaN or inf where the true result is finite;
* ``worse-than-torch``: within the bound but more than 1 ULP worse than torch autograd at that point.

One JSON line a draw in ``--out`` (its index, formula, compile CPU seconds, measure seconds, CPU seconds, faults).
The run stops drawing once its workers have spent ``--cpu-minutes`` of CPU time.

    nice -n 19 python benchmarks/compositions31.py --seed 1 --count 400 --cpu-minutes 40 --out /tmp/hyp31/s1.jsonl
    python benchmarks/compositions31.py --summary /tmp/hyp31/s1.jsonl
    python benchmarks/compositions31.py --formulas faulty.txt --out /tmp/hyp31/after.jsonl   # the same again
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compositions28 import faults, summary  # noqa: E402  (the classes and the summary are the same)

POWERS = ["2", "3", "(-1)", "(-2)", "(1/2)", "(3/2)"]
AROUND = ["log", "exp", "log1p", "expm1"]


def unary_names():
    from symnet.registry import REGISTRY
    acts = sorted(n for n, f in REGISTRY.items() if f.family == "activation")
    others = sorted(n for n, f in REGISTRY.items() if f.arity[0] == 1 and f.family == "elementary" and n != "where")
    return acts, others


def formula(rng, depth: int, acts, others, lean=None) -> str:
    """A formula of ``depth`` nested operations over x and y; a leaf is ``lean`` four times in five (the two sides of
    an arithmetic node lean to x and to y, so that x − x and x/x are rare)."""
    if depth == 0:
        return lean if lean and rng.random() < 0.8 else rng.choice("xy")
    kind = rng.choices(["act", "arith", "power", "around", "logexp2"], weights=[4, 4, 1.5, 1.5, 1.0])[0]
    sub = depth - 1
    if kind == "act":
        f = rng.choice(acts) if rng.random() < 0.75 else rng.choice(others)
        return f"{f}({formula(rng, sub, acts, others, lean)})"
    if kind == "power":
        p = rng.choice(POWERS + ["y"])
        base = formula(rng, sub, acts, others, "x" if p == "y" else lean)
        return f"({base})**{p}"
    if kind == "around":
        return f"{rng.choice(AROUND)}({formula(rng, sub, acts, others, lean)})"
    a = formula(rng, sub, acts, others, "x")
    b = formula(rng, rng.randint(0, sub), acts, others, "y")
    if kind == "arith":
        return f"({a}) {rng.choice('+-*/')} ({b})"
    return rng.choice([f"log(exp({a}) + exp({b}))", f"exp({a})/(exp({a}) + exp({b}))", f"log(({a})*({b}))",
                       f"exp(({a}) - ({b}))"])


def draw(rng, acts, others) -> str:
    return formula(rng, rng.choices([1, 2, 3], weights=[1, 3, 3])[0], acts, others)


class CompileLimit(Exception):
    pass


def _on_prof(signum, frame):
    raise CompileLimit()


def _measure_one(args):
    index, text, triton, n, compile_limit, measure_timeout = args
    import warnings
    warnings.simplefilter("ignore")
    import symnet
    from symnet.verify import measure as M
    out = {"index": index, "formula": text, "triton": triton}
    cpu0, t0 = time.process_time(), time.perf_counter()
    # the compile limit counts CPU seconds (ITIMER_PROF), so a busy box does not cut a compile short; due again
    # every 50 ms after, in case a broad `except` inside SymPy swallowed it (as symnet.verify's Budget does)
    old = signal.signal(signal.SIGPROF, _on_prof)
    signal.setitimer(signal.ITIMER_PROF, compile_limit, 0.05)
    try:
        d, _ = M._as_derivation(text, None)
        symnet.compile(d)
    except CompileLimit:
        signal.setitimer(signal.ITIMER_PROF, 0)
        out.update(compile_timeout=True, compile_cpu=round(time.process_time() - cpu0, 2),
                   compile_wall=round(time.perf_counter() - t0, 2), faults=[], points=0,
                   cpu=round(time.process_time() - cpu0, 2))
        return out
    except Exception as exc:  # noqa: BLE001 - recorded as an error class
        signal.setitimer(signal.ITIMER_PROF, 0)
        out.update(error=f"{type(exc).__name__}: {str(exc)[:300]}", timeout=False, faults=[], points=0,
                   cpu=round(time.process_time() - cpu0, 2))
        return out
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
    out["compile_cpu"] = round(time.process_time() - cpu0, 2)
    out["compile_wall"] = round(time.perf_counter() - t0, 2)
    records = []
    orig = M._Acc.add

    def add(self, got, true, row):
        kind, ulps = M.classify(got, true, self.cell.dtype)
        records.append((self.cell.output, self.cell.dtype, self.cell.implementation,
                        tuple(float(v) for v in row), kind, ulps, float(got), float(true)))
        orig(self, got, true, row)

    M._Acc.add = add
    t1 = time.perf_counter()
    try:
        M.verify(d, dtypes=("float32", "float64"), backends=("numpy", "triton") if triton else ("numpy",), n=n,
                 timeout=measure_timeout, progress=False)
    except Exception as exc:  # noqa: BLE001
        name = type(exc).__name__
        out["error"] = f"{name}: {str(exc)[:300]}"
        out["timeout"] = name == "VerifyTimeoutError"
    finally:
        M._Acc.add = orig
    out["seconds"] = round(time.perf_counter() - t1, 2)
    out["cpu"] = round(time.process_time() - cpu0, 2)
    out["faults"] = faults(records)
    out["points"] = len(records)
    return out


def run(args, draws=None):
    """Measure the draws (``draws(seed, count)``: this module's grammar unless another's is given) or ``--formulas``."""
    if args.formulas:
        texts = [f.strip() for f in open(args.formulas) if f.strip() and not f.startswith("#")]
    else:
        texts = (draws or _draws)(args.seed, args.count)
    done = set()
    if os.path.exists(args.out):  # a run cut short goes on where it stopped
        done = {json.loads(s)["index"] for s in open(args.out)}
    import importlib
    for module in ("torch", "symnet.verify.measure"):  # before the workers fork (compositions28's note)
        importlib.import_module(module)
    import torch
    torch.set_num_threads(1)
    jobs = [(i, t, args.triton_every > 0 and i % args.triton_every == 0, args.points, args.compile_limit,
             args.timeout) for i, t in enumerate(texts) if i not in done]
    spent = 0.0
    budget = args.cpu_minutes * 60
    with open(args.out, "a") as fh, mp.get_context("fork").Pool(args.jobs, maxtasksperchild=4) as pool:
        pending = []
        it = iter(jobs)
        while True:
            while len(pending) < args.jobs and spent < budget:
                job = next(it, None)
                if job is None:
                    break
                pending.append(pool.apply_async(_measure_one, (job,)))
            if not pending:
                break
            time.sleep(0.5)
            for r in [r for r in pending if r.ready()]:
                pending.remove(r)
                res = r.get()
                spent += res.get("cpu", 0.0)
                fh.write(json.dumps(res) + "\n")
                fh.flush()
                tag = "COMPILE>LIMIT" if res.get("compile_timeout") else res.get("error", "")[:60]
                print(f"[{res['index']}] cpu {res.get('cpu', 0):6.1f} s (total {spent / 60:5.1f} min)  "
                      f"{len(res['faults'])} faults {tag}  {res['formula']}", flush=True)
    print(f"stopped: {spent / 60:.1f} CPU-minutes spent")


def _draws(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    acts, others = unary_names()
    return [draw(rng, acts, others) for _ in range(count)]


def main(argv=None, draws=None, description=None, out="/tmp/hyp31/compositions31.jsonl"):
    """The command line; another search (benchmarks/compositions34.py) passes its own ``draws`` and defaults."""
    p = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--points", type=int, default=8, help="random points a dtype, beside the extremes")
    p.add_argument("--compile-limit", type=float, default=30.0, help="CPU seconds to derive and compile")
    p.add_argument("--timeout", type=float, default=300.0, help="wall seconds to measure (symnet.verify's budget)")
    p.add_argument("--cpu-minutes", type=float, default=40.0, help="stop drawing past this much CPU time")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--triton-every", type=int, default=12, help="every k-th draw also on Triton (0: none)")
    p.add_argument("--out", default=out)
    p.add_argument("--summary", metavar="FILE")
    p.add_argument("--formulas", metavar="FILE", help="measure these formulas (one a line) instead of drawing")
    p.add_argument("--print", action="store_true", help="print the draws and stop")
    args = p.parse_args(argv)
    if args.summary:
        lines = [json.loads(s) for s in open(args.summary)]
        slow = [s for s in lines if s.get("compile_timeout")]
        print(f"{len(lines)} draws; {len(slow)} compiles past the limit:")
        for s in slow:
            print(f"  COMPILE>LIMIT ({s['compile_cpu']} CPU s)  {s['formula']}")
        rest = [s for s in lines if not s.get("compile_timeout")]
        tmp = Path(args.summary).with_suffix(".measured.jsonl")
        tmp.write_text("".join(json.dumps(s) + "\n" for s in rest))
        summary(tmp)
        return 0
    if args.print:
        for i, text in enumerate((draws or _draws)(args.seed, args.count)):
            print(i, text)
        return 0
    os.environ.setdefault("TRITON_INTERPRET", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    run(args, draws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
