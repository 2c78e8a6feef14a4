"""Compile time of a log-sum-exp and a softmax written out with N terms (issue 16), and how it grows.

    python3 benchmarks/lse_terms.py [--terms 6,10,30,60] [--softmax 10,30] [--time-limit 600]

Each formula is derived and compiled (NumPy) in a fresh process (SymPy's cache warm from a 3-term one first),
and the table gives CPU seconds of ``symnet.derive`` and ``symnet.compile``, the growth exponent of the total
against the previous row (log t₂/t₁ over log N₂/N₁: 1 is linear), and, measured in the same process, the
kernel's outputs stabilised one by one (``stabilise`` each, nothing shared: what describe did before session 14)
beside one :class:`symnet.codegen.rewrite.Stabiliser` for them all, and their ratio.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, os, sys, time
os.environ["SYMNET_NO_DISK_CACHE"] = "1"
import symnet
from symnet.codegen import rewrite
from symnet.codegen.ir import describe
kind, n = sys.argv[1], int(sys.argv[2])
def written(kind, n, a="a"):
    terms = "+".join(f"exp({a}{i})" for i in range(n))
    return f"log({terms})" if kind == "lse" else f"exp({a}0)/({terms})"
symnet.compile(symnet.derive(written(kind, 3, "b")), progress=False)
t0 = time.process_time(); d = symnet.derive(written(kind, n)); t1 = time.process_time()
symnet.compile(d, progress=False); t2 = time.process_time()
outs = describe(d).outputs
t3 = time.process_time(); [rewrite.stabilise(o.expr) for o in outs]; t4 = time.process_time()
shared = rewrite.Stabiliser(); [shared(o.expr) for o in outs]; t5 = time.process_time()
print(json.dumps({"derive": t1 - t0, "compile": t2 - t1, "alone": t4 - t3, "shared": t5 - t4}))
"""


def measure(kind: str, n: int, limit: float) -> dict | None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, kind, str(n)], capture_output=True, text=True,
                             timeout=limit, env=env, cwd=ROOT, check=True)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError):
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", default="6,10,30,60", help="log-sum-exp term counts")
    parser.add_argument("--softmax", default="10,30", help="softmax term counts")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds a formula")
    args = parser.parse_args()
    print("| formula | N | derive s | compile s | growth exponent | stabilise one by one s | Stabiliser s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, sizes in (("lse", args.terms), ("softmax", args.softmax)):
        previous = None
        for n in (int(s) for s in sizes.split(",") if s):
            m = measure(kind, n, args.time_limit)
            if m is None:
                print(f"| {kind} | {n} | over {args.time_limit:g} s or failed | | | | | |")
                continue
            total = m["derive"] + m["compile"]
            growth = (f"{math.log(total / previous[1]) / math.log(n / previous[0]):.2f}"
                      if previous and total > 0 and previous[1] > 0 else "")
            ratio = m["alone"] / m["shared"] if m["shared"] > 0 else float("inf")
            print(f"| {kind} | {n} | {m['derive']:.2f} | {m['compile']:.2f} | {growth} | {m['alone']:.2f} | "
                  f"{m['shared']:.2f} | {ratio:.1f}× |", flush=True)
            previous = (n, total)


if __name__ == "__main__":
    main()
