"""CPU seconds to derive and compile the formulas the slowest tests compile, at a base revision and at this
checkout side by side, and whether every printed module (NumPy and Triton) is byte-identical between them.

    python benchmarks/compile_time.py                      # base: a detached worktree of main in /tmp
    python benchmarks/compile_time.py --base /path/to/tree # or any checkout of symnet
    python benchmarks/compile_time.py --only kl3 security  # some rows
    python benchmarks/compile_time.py --slow               # with the nested focal loss (about a minute a side)

Each row runs in a fresh process per side (SYMNET_NO_DISK_CACHE=1, an empty SYMNET_CACHE), which derives the
formulas of the row, describes them (the rewrite pass: symnet.codegen.ir.describe) and prints the NumPy and the
Triton module of each, as symnet.compile does (Triton's module is printed only: neither torch nor triton is
imported). CPU seconds are user + system of that process from the first derivation on (imports not counted):
the box may be shared, and wall time means little there. The sources of both sides are written to --out; a row
whose sources differ says "DIFFERENT" and names the files to diff.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

KL2 = ("exp(a)/(exp(a) + exp(b))*(log(exp(a)/(exp(a) + exp(b))) - log(exp(x)/(exp(x) + exp(y))))"
       " + exp(b)/(exp(a) + exp(b))*(log(exp(b)/(exp(a) + exp(b))) - log(exp(y)/(exp(x) + exp(y))))")


def _kl(n: int) -> str:
    """tests/test_cancel35.py's KL divergence of two written n-class softmaxes."""
    p, q = "abc"[:n], "xyz"[:n]
    P, Q = " + ".join(f"exp({a})" for a in p), " + ".join(f"exp({x})" for x in q)
    return " + ".join(f"exp({a})/({P})*(log(exp({a})/({P})) - log(exp({x})/({Q})))" for a, x in zip(p, q))


def _security():
    """tests/test_security_names.py: its three representative formulas, and its placeholder formula renamed twice."""
    import dataclasses

    import sympy as sp

    import symnet
    from symnet.functions import relu, sigmoid

    R = dict(real=True)
    x, b1, b2 = sp.symbols("x b1 b2", **R)
    y, z = sp.symbols("y z", **R)
    out = [(symnet.derive((y - sigmoid(z)) ** 2, [y, z], output="L"), "representative L"),
           (symnet.derive(sp.log(1 + sp.exp(x)) * sp.tanh(x) + sp.log(sigmoid(x)) + sp.exp(x) - 1, [x]), "representative 2"),
           (symnet.derive(relu(x) * x + sp.sin(x) * sp.cos(x) + sp.sqrt(1 + x ** 2), [x]), "representative 3")]
    ps = sp.symbols("p0:12", **R)
    f = sigmoid(x) * sum((j + 1) * p for j, p in enumerate(ps)) + sp.exp(x) * sum(p ** 2 for p in ps) + b1 * b2
    d = symnet.derive(f, [x, *ps, b1, b2])
    for names in (["mask", "np", "df_dx"] + [f"pad{k}" for k in range(9)], [f"n{k}_ptr" for k in range(12)]):
        sub = {p: sp.Symbol(n, **R) for p, n in zip(ps, names)}

        def r(e):
            return e.xreplace(sub)
        renamed = dataclasses.replace(
            d, inputs=tuple(map(r, d.inputs)), wrt=tuple(map(r, d.wrt)), outputs=tuple(map(r, d.outputs)),
            definitions=tuple((r(a), r(b)) for a, b in d.definitions),
            gradients={r(k): r(v) for k, v in d.gradients.items()}, jacobian=r(d.jacobian), sections=())
        out.append((renamed, f"placeholders as {names[0]}…"))
    return out


def _strings(*formulas):
    def build():
        import symnet
        return [(symnet.derive(f), f) for f in formulas]
    return build


ROWS = {  # name → what it compiles (a function returning [(derivation, label)]), and the tests that compile it
    "kl3": (_strings(_kl(3)), "test_kl36, test_cancel35, test_hostile29b"),
    "kl2": (_strings(KL2), "test_hostile29b/30, test_user28, test_kl30"),
    "2*kl2": (_strings("2*(" + KL2 + ")"), "test_hostile31"),
    "security": (_security, "test_security_names"),
    "widened-log": (_strings("(e**2 + (p - t)**2)**(a/2)"), "test_stability_rules (widened-log-argument)"),
    "hypot": (_strings("x1/sqrt(eps + x1**2/2 + x2**2/2)"), "test_stability_rules (hypot)"),
    "underflowing-sum": (_strings("(-exp(x)*exp(-exp(x)) + exp(-exp(x)))*exp(x)"),
                         "test_stability_rules (exp-into-underflowing-sum)"),
    "focal-gamma": (_strings("focal(z, t, 1/4, gamma)"), "test_tsub24, test_tfocal23, test_focal19 (Triton)"),
    "softplus-quotient": (_strings("softplus(x/y)**-2"), "test_softplus38, test_gelub36, test_break39"),
    "l1-focal-log": (_strings("l1(focal(celu(y, 2), y), log((x)*(y)))"),
                     "test_domain34 (test_l1_of_focal_and_a_log_against_mpmath)"),
}
SLOW = {"nested-focal": (_strings("focal(focal(z, t), t)"), "README: focal(focal(z, t), t)")}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def worker(row: str, out: Path) -> None:
    """In this process (symnet imported from PYTHONPATH): the row's formulas derived, described and printed."""
    import symnet
    from symnet.codegen import ir
    from symnet.codegen.backends.numpy.elementwise import emit_module
    from symnet.codegen.backends.triton.elementwise import emit_triton_module

    out.mkdir(parents=True, exist_ok=True)
    build = {**ROWS, **SLOW}[row][0]
    start = _cpu()
    times = {"derive": 0.0, "describe": 0.0, "numpy": 0.0, "triton": 0.0}
    t = _cpu()
    derivations = build()
    times["derive"] += _cpu() - t
    sources = []
    for i, (d, _) in enumerate(derivations):
        t = _cpu()
        kernel = ir.describe(d)
        times["describe"] += _cpu() - t
        t = _cpu()
        numpy_source = emit_module([kernel], "a benchmark", "-")
        times["numpy"] += _cpu() - t
        t = _cpu()
        triton_source = emit_triton_module([kernel], "a benchmark", "-", op_namespace="symnet_user")
        times["triton"] += _cpu() - t
        for backend, text in (("numpy", numpy_source), ("triton", triton_source)):
            path = out / f"{row}-{i}-{backend}.py"
            path.write_text(text, encoding="utf-8")
            sources.append(hashlib.sha256(text.encode()).hexdigest())
    print(json.dumps({"cpu": _cpu() - start, "times": times, "sources": sources, "symnet": symnet.__file__}))


def run_side(tree: Path, row: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="symnet-bench-cache-") as cache:
        env = {**os.environ, "PYTHONPATH": str(tree), "SYMNET_CACHE": cache, "SYMNET_NO_DISK_CACHE": "1"}
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", row, "--out", str(out)],
                              env=env, capture_output=True, text=True, cwd=tree)
    if done.returncode != 0:
        raise SystemExit(f"{row} at {tree}: exit {done.returncode}\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["symnet"]).resolve().is_relative_to(tree.resolve()), (result["symnet"], tree)
    return result


def base_tree(spec: str) -> Path:
    """A checkout of ``spec``: a folder as it is, else a detached worktree of that revision in /tmp."""
    if Path(spec).is_dir():
        return Path(spec)
    commit = subprocess.run(["git", "rev-parse", spec], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"symnet-bench-base-{commit[:12]}"
    if not tree.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, check=True,
                       capture_output=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="a revision (a detached worktree is made) or a checkout's folder")
    parser.add_argument("--only", nargs="*", help="these rows only")
    parser.add_argument("--slow", action="store_true", help="the nested focal loss too")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "symnet-compile-time"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = Path(args.out)
    if args.worker:
        return worker(args.worker, out)
    rows = args.only or [*ROWS, *(SLOW if args.slow else ())]
    base = base_tree(args.base)
    print(f"base {base}, this checkout {ROOT}; CPU s of one process each (derive + describe + print both backends)")
    print(f"{'row':18} {'base':>8} {'here':>8} {'ratio':>6}  {'describe':>17}  sources   (the tests)")
    total = [0.0, 0.0]
    for row in rows:
        before = run_side(base, row, out / "base")
        after = run_side(ROOT, row, out / "here")
        same = "identical" if before["sources"] == after["sources"] else f"DIFFERENT: diff {out}/base/{row}-* {out}/here/"
        total[0] += before["cpu"]
        total[1] += after["cpu"]
        describe = f"{before['times']['describe']:7.1f} → {after['times']['describe']:6.1f}"
        tests = {**ROWS, **SLOW}[row][1]
        print(f"{row:18} {before['cpu']:8.1f} {after['cpu']:8.1f} {after['cpu'] / before['cpu']:6.2f}  {describe:>17}  "
              f"{same}   ({tests})", flush=True)
    print(f"{'total':18} {total[0]:8.1f} {total[1]:8.1f} {total[1] / total[0]:6.2f}")


if __name__ == "__main__":
    main()
