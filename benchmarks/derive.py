"""Derivation speed: named derivations from the command line, written-out networks, compile.

    python3 benchmarks/derive.py [--layers 4] [--skip-compile] [--only-named] [--json FILE]

Prints, all measured in the same run on this machine:

1. the cold time of ``python -m symnet derive NAME`` (a fresh process each) for every named
   derivation, first with an empty disk cache (it builds the derivation and stores its
   printout), then again (best of 3; it prints the stored text), beside the cold time of ``python -c "import sympy"``; goal: every
   named derivation within 1.5× ``import sympy`` after its first build;
1b. the cold time of ``symnet.get(NAME)`` from Python (a fresh process each: the whole process,
   and inside it ``import symnet`` + ``get``), first with an empty disk cache, then again;
2. ``symnet.derive`` of written-out networks of 1…N sigmoid layers (2 inputs, 2 units a
   layer, one output unit) beside ``sympy.diff`` (every parameter) + ``sympy.cse`` of the same
   expression, the ratio, and the growth exponent of the derive time fitted against the size
   of the computational graph (its number of nodes) on a log-log scale; goal: 4 layers within
   5× diff + cse;
3. ``symnet.compile`` (numpy) time of σ nested 4/8/12/16 deep and of sums of 8/16/32
   sigmoids (measured only: making compile fast is another part of the work), each in a
   fresh process with a time limit.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sympy as sp  # noqa: E402

import symnet  # noqa: E402
from symnet import sigmoid  # noqa: E402
from symnet.curriculum import names  # noqa: E402

COMPILE_LIMIT_S = 120


def cold(args: list[str], env: dict, repeat: int = 1) -> float:
    """Best wall time of a fresh process running ``args`` (seconds)."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


_GET = "import sys, time; start = time.perf_counter(); import symnet; symnet.get(sys.argv[1]); print(time.perf_counter() - start)"


def python_get(env: dict) -> list[dict]:
    """``symnet.get(NAME)`` in a fresh process, whole process (wall) and inside it (import symnet
    + get): first with an empty disk cache, then again (best of 3)."""
    rows = []
    for name in names():
        args = [sys.executable, "-c", _GET, name]
        first = cold(args, env)
        again = cold(args, env, repeat=3)
        inside = min(float(subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True,
                                          check=True).stdout) for _ in range(3))
        rows.append({"name": name, "first_s": first, "cached_s": again, "cached_inside_s": inside})
    return rows


def network(layers: int, width: int = 2, n_in: int = 2) -> sp.Expr:
    a = list(sp.symbols(f"x1:{n_in + 1}", real=True))
    for layer in range(layers):
        units = width if layer < layers - 1 else 1
        a = [sigmoid(sum(sp.Symbol(f"w{layer}_{i}_{j}", real=True) * a[j] for j in range(len(a)))
                     + sp.Symbol(f"b{layer}_{i}", real=True)) for i in range(units)]
    return a[0]


def fit_exponent(xs, ys) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def named(env: dict) -> list[dict]:
    rows = []
    for name in names():
        first = cold([sys.executable, "-m", "symnet", "derive", name], env)
        again = cold([sys.executable, "-m", "symnet", "derive", name], env, repeat=3)
        rows.append({"name": name, "first_s": first, "cached_s": again})
    return rows


def networks(max_layers: int) -> list[dict]:
    rows = []
    for layers in range(1, max_layers + 1):
        f = network(layers)
        start = time.perf_counter()
        d = symnet.derive(f)
        t_derive = time.perf_counter() - start
        start = time.perf_counter()
        grads = [sp.diff(f, s) for s in sorted(f.free_symbols, key=str)]
        sp.cse(grads)
        t_sympy = time.perf_counter() - start
        rows.append({"layers": layers, "graph_nodes": len(d.definitions), "derive_s": t_derive,
                     "diff_cse_s": t_sympy, "ratio": t_derive / t_sympy,
                     "expanded_gradient_ops": int(sum(sp.count_ops(g) for g in grads))})
    return rows


_COMPILE_CASE = """
import sys, time, sympy as sp
sys.path.insert(0, {root!r})
import symnet
from symnet import sigmoid
x = sp.Symbol("x", real=True)
kind, n = sys.argv[1], int(sys.argv[2])
if kind == "nested":
    f = x
    for _ in range(n):
        f = sigmoid(f)
else:
    ws = sp.symbols(f"w1:{{n + 1}}", real=True)
    f = sum(sigmoid(w * x) for w in ws)
d = symnet.derive(f, wrt=[x])
start = time.perf_counter()
symnet.compile(d, "numpy")
print(time.perf_counter() - start)
"""


def compiles(env: dict) -> list[dict]:
    rows = []
    script = _COMPILE_CASE.format(root=str(ROOT))
    for kind, sizes in (("nested", (4, 8, 12, 16)), ("sum", (8, 16, 32))):
        for n in sizes:
            try:
                done = subprocess.run([sys.executable, "-c", script, kind, str(n)], env=env, cwd=ROOT,
                                      capture_output=True, text=True, timeout=COMPILE_LIMIT_S)
                seconds = float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
                note = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["failed"])[-1][:120]
            except subprocess.TimeoutExpired:
                seconds, note = None, f"over {COMPILE_LIMIT_S} s (stopped)"
            rows.append({"case": f"σ nested {n} deep" if kind == "nested" else f"sum of {n} sigmoids",
                         "compile_s": seconds, "note": note})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--only-named", action="store_true", help="parts 1 and 1b only")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = dict(os.environ, SYMNET_CACHE=tempfile.mkdtemp(prefix="symnet-bench-"), PYTHONPATH=str(ROOT))
    env.pop("SYMNET_NO_DISK_CACHE", None)
    # as an installed package runs: with its bytecode cached (some sandboxes set
    # PYTHONDONTWRITEBYTECODE, which makes every cold start compile symnet's sources again)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
                    "python": platform.python_version(), "sympy": sp.__version__, "symnet": symnet.__version__}
    print(f"{report['date']} — {report['machine']}; Python {report['python']}, SymPy {report['sympy']}")

    sympy_s = cold([sys.executable, "-c", "import sympy"], env, repeat=3)
    report["import_sympy_s"] = sympy_s
    print(f"\n1. cold CLI time of every named derivation (fresh process); python -c 'import sympy': {sympy_s:.2f} s")
    print(f"   {'name':<24}{'first build':>12}{'cached':>10}{'cached/sympy':>14}")
    report["named"] = named(env)
    for r in report["named"]:
        r["ratio"] = r["cached_s"] / sympy_s
        print(f"   {r['name']:<24}{r['first_s']:>11.2f}s{r['cached_s']:>9.2f}s{r['ratio']:>13.2f}×")
    worst = max(report["named"], key=lambda r: r["ratio"])
    print(f"   goal ≤ 1.5×: worst {worst['name']} {worst['ratio']:.2f}× "
          f"({'met' if worst['ratio'] <= 1.5 else 'not met'})")

    print("\n1b. symnet.get(NAME) from Python, fresh process each (its own disk cache)")
    print(f"   {'name':<24}{'first build':>12}{'cached':>10}{'cached/sympy':>14}{'in-process':>12}")
    get_env = dict(env, SYMNET_CACHE=tempfile.mkdtemp(prefix="symnet-bench-get-"))
    report["python_get"] = python_get(get_env)
    for r in report["python_get"]:
        r["ratio"] = r["cached_s"] / sympy_s
        print(f"   {r['name']:<24}{r['first_s']:>11.2f}s{r['cached_s']:>9.2f}s{r['ratio']:>13.2f}×"
              f"{r['cached_inside_s']:>11.2f}s")

    if args.only_named:
        args.skip_compile = True
    else:
        print("\n2. written-out sigmoid networks (2 inputs, 2 units a layer): symnet.derive vs sympy.diff + cse")
        print(f"   {'layers':>6}{'graph nodes':>13}{'gradient ops':>14}{'derive':>10}{'diff+cse':>10}{'ratio':>8}")
        report["networks"] = networks(args.layers)
        for r in report["networks"]:
            print(f"   {r['layers']:>6}{r['graph_nodes']:>13}{r['expanded_gradient_ops']:>14}{r['derive_s']:>9.2f}s"
                  f"{r['diff_cse_s']:>9.2f}s{r['ratio']:>7.1f}×")
        rows = [r for r in report["networks"] if r["layers"] >= 2]
        if len(rows) >= 2:
            report["derive_exponent_vs_graph_nodes"] = fit_exponent([r["graph_nodes"] for r in rows],
                                                                     [r["derive_s"] for r in rows])
            report["gradient_ops_exponent_vs_graph_nodes"] = fit_exponent([r["graph_nodes"] for r in rows],
                                                                           [r["expanded_gradient_ops"] for r in rows])
            print(f"   derive time ~ nodes^{report['derive_exponent_vs_graph_nodes']:.2f} (layers ≥ 2); "
                  f"the written-out gradient grows ~ nodes^{report['gradient_ops_exponent_vs_graph_nodes']:.2f}")
        last = report["networks"][-1]
        print(f"   goal ≤ 5× at 4 layers: {last['layers']} layers {last['ratio']:.1f}× "
              f"({'met' if last['ratio'] <= 5 else 'not met'})")

    if not args.skip_compile:
        print(f"\n3. symnet.compile (numpy), fresh process each, limit {COMPILE_LIMIT_S} s")
        report["compile"] = compiles(env)
        for r in report["compile"]:
            shown = f"{r['compile_s']:.2f} s" if r["compile_s"] is not None else r["note"]
            print(f"   {r['case']:<22}{shown}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
