"""Session 24's exp-dominant cases (symnet/codegen/rewrite.py): accuracy past e^x's overflow and cost on ordinary data,
the generated NumPy kernel (value and gradient) of this tree beside the one a base tree generates (``--before DIR``,
a checkout of the commit before the change: its kernels are generated in a subprocess and run here, so both sides
are timed in one run) and torch's autograd on the CPU.

Accuracy: the largest error in ULPs of f and ∂ against mpmath at 60 digits over the points listed (past 709.78 in
float64, 88.7 in float32), inf where a finite truth came out inf or NaN, subnormal truths left out. Cost: CPU milliseconds per call (min of the
repeats; benchmarks/cpu_time.py) on x ~ N(0, 3²) (y ~ N(0, 1) for the widened sum), where no element reaches the far
branches (u > 64).

    cd benchmarks && python3 exp24.py --before /tmp/base [--size N] [--repeat R]

Speed is measured here, never asserted.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import sympy as sp

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
import symnet  # noqa: E402
from cpu_time import best  # noqa: E402

FORMULAS = {  # formula, torch's form, its inputs, the points (float64; float32)
    "log(exp(x)/3 + 1)": (lambda t, x: t.log(t.exp(x) / 3 + 1), "x",
                          ([-70.0, -3.0, 710.0, 1000.0, 1e5], [-70.0, -3.0, 89.0, 1000.0, 1e5])),
    "sqrt(exp(x) - 1 - x)": (lambda t, x: t.sqrt(t.exp(x) - 1 - x), "x",
                             ([710.0, 1000.0, 1419.0], [89.0, 120.0, 177.0])),
    "log(cosh(x) - 1)": (lambda t, x: t.log(t.cosh(x) - 1), "x", ([-711.0, -1000.0, 1000.0], [-89.0, -1000.0, 100.0])),
    "log(exp(x)/2 + y)": (lambda t, x, y: t.log(t.exp(x) / 2 + y), "xy",
                          ([(710.0, -3.0), (1000.0, 5.0), (709.0, -4.1e307)], [(89.0, -3.0), (100.0, 5.0)])),
    "(exp(x) - 1 - x)**(-1/3)": (lambda t, x: (t.exp(x) - 1 - x) ** (-1 / 3), "x",
                                 ([709.0, 710.0, 1000.0], [88.0, 89.0, 200.0])),
}


def _sources(tree):
    """{formula: kernel source} as ``tree`` generates them (a subprocess with that tree first on its path)."""
    code = ("import json, symnet; print(json.dumps({f: symnet.compile(symnet.derive(f), backend='numpy').source "
            f"for f in {list(FORMULAS)!r}}}))")
    env = dict(os.environ, PYTHONPATH=tree, SYMNET_NO_DISK_CACHE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loaded(source):
    space: dict = {}
    exec(compile(source, "<before>", "exec"), space)
    return space["kernel"]


def _truth(formula, names, point):
    syms = sp.symbols(list(names), real=True)
    e = sp.sympify(formula, locals=dict(zip(names, syms)), rational=True)
    with mpmath.workdps(60):
        return [float(sp.lambdify(syms, g, "mpmath")(*[mpmath.mpf(p) for p in point]))
                for g in [e] + [sp.diff(e, s) for s in syms]]


def _ulps(got, want, dtype):
    if math.isnan(got) or math.isinf(got) and not math.isinf(want):
        return math.inf
    if got == want:
        return 0.0
    return abs(got - want) / float(np.spacing(np.abs(np.asarray(want, dtype))))


def _torch(tfn, cols, dtype):
    import torch
    ts = [torch.tensor(c, requires_grad=True) for c in cols]
    f = tfn(torch, *ts)
    gs = torch.autograd.grad(f.sum(), ts)
    return [f.detach().double().numpy()] + [g.double().numpy() for g in gs]


def _worst(outs, formula, names, points, dtype):
    worst = 0.0
    for i, p in enumerate(points):
        truth = _truth(formula, names, p)
        for o, w in zip(outs, truth):
            if 0 < abs(w) < float(np.finfo(dtype).tiny):
                continue  # a subnormal truth (∂y of log(e^x/2 + y) at 710: 2e^−710; ours and torch's 0)
            w = math.copysign(math.inf, w) if abs(w) > float(np.finfo(dtype).max) else w
            worst = max(worst, _ulps(float(np.asarray(o, np.float64).reshape(-1)[i]), w, dtype))
    return worst


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="a checkout of the base commit")
    parser.add_argument("--size", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    before = {f: _loaded(s) for f, s in _sources(args.before).items()}
    rng = np.random.default_rng(0)
    data = {"x": 3 * rng.normal(size=args.size), "y": rng.normal(size=args.size)}
    print(f"{'formula':26} {'dtype':8} {'ULP before':>10} {'after':>6} {'torch':>6}   "
          f"{'ms before':>9} {'after':>7} {'torch':>7}   (CPU ms, min of {args.repeat}, {args.size} points)")
    for formula, (tfn, names, (p64, p32)) in FORMULAS.items():
        after = symnet.compile(symnet.derive(formula), backend="numpy")
        for dtype, pts in ((np.float64, p64), (np.float32, p32)):
            pts = [p if isinstance(p, tuple) else (p,) for p in pts]
            cols = [np.array(c, dtype) for c in zip(*pts)]
            kw = dict(zip(names, cols))
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                ulp = [_worst(k(**kw), formula, names, pts, dtype) for k in (before[formula], after)]
                ulp.append(_worst(_torch(tfn, cols, dtype), formula, names, pts, dtype))
                big = {n: data[n].astype(dtype) for n in names}
                tcols = [big[n] for n in names]
                ms = [1e3 * best(lambda k=k: k(**big), args.repeat) for k in (before[formula], after)]
                ms.append(1e3 * best(lambda: _torch(tfn, tcols, dtype), args.repeat))
            print(f"{formula:26} {np.dtype(dtype).name:8} {ulp[0]:10.3g} {ulp[1]:6.3g} {ulp[2]:6.3g}   "
                  f"{ms[0]:9.2f} {ms[1]:7.2f} {ms[2]:7.2f}")


if __name__ == "__main__":
    main()
