"""h-cauchy43: accuracy probe of the Cauchy / rational-product family against mpmath (50 digits) and torch autograd.

python benchmarks/cauchy43_probe.py [formula-index ...]: for each formula and output, float64 and float32, the worst
ULP, and the count of points worse than max(torch, 1) and past the bound (4 / 8), at random points log-uniform in
±[1e−3, 1e3] and the same near t = 1 (the product about ±1) and past 2^±80."""
from __future__ import annotations

import sys
import warnings

import mpmath
import numpy as np
import sympy as sp
import torch

sys.path.insert(0, "tests")
from conftest import ulps  # noqa: E402

import symnet  # noqa: E402

FORMULAS = [  # (formula, torch's spelling)
    ("x/(1 + (a*x)**2)", lambda t, a, x: x / (1 + (a * x) ** 2)),
    ("1/(1 + (x/s)**2)", lambda t, x, s: 1 / (1 + (x / s) ** 2)),
    ("g/(g**2 + (x - m)**2)", lambda t, g, m, x: g / (g ** 2 + (x - m) ** 2)),
    ("1/(1 + ((x - m)/g)**2)", lambda t, g, m, x: 1 / (1 + ((x - m) / g) ** 2)),
    ("(1 + (x/s)**2/3)**(-2)", lambda t, s, x: (1 + (x / s) ** 2 / 3) ** (-2)),
    ("x/(1 + a**2*x**2)", lambda t, a, x: x / (1 + a ** 2 * x ** 2)),
    ("x/(x**2 + y**2)", lambda t, x, y: x / (x ** 2 + y ** 2)),
]


def points(names, n, rng, far=False):
    cols = {}
    for v in names:
        e = rng.uniform(-90, 90, n) if far else rng.uniform(-3, 3, n) * np.log2(10)
        cols[v] = rng.choice([-1, 1], n) * 2.0 ** e
    return cols


def probe(formula, tfn, dtype, n=300, seed=43, far=False):
    d = symnet.derive(formula)
    k = symnet.compile(d, backend="numpy")
    names = list(k.inputs) if not isinstance(k.inputs, dict) else list(k.inputs)
    names = [str(v) for v in names]
    rng = np.random.default_rng(seed)
    cols = {v: c.astype(dtype) for v, c in points(names, n, rng, far).items()}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        mine = dict(zip(k.outputs, k(**cols)))
    td = torch.float64 if dtype == np.float64 else torch.float32
    ts = {v: torch.tensor(c, dtype=td, requires_grad=True) for v, c in cols.items()}
    f = tfn(torch, **ts)
    grads = torch.autograd.grad(f.sum(), [ts[v] for v in names])
    theirs = {"f": f.detach().double().numpy()}
    theirs.update({f"df_d{v}": g.double().numpy() for v, g in zip(names, grads)})
    syms = [sp.Symbol(v, real=True) for v in names]
    expr = sp.sympify(formula, locals={v: s for v, s in zip(names, syms)})
    truths = {"f": expr}
    truths.update({f"df_d{v}": sp.diff(expr, s) for v, s in zip(names, syms)})
    info = np.finfo(dtype)
    out = {}
    with mpmath.workdps(50):
        for o, e in truths.items():
            fn = sp.lambdify(syms, e, "mpmath")
            worst, worse, past, wt = 0.0, 0, 0, 0.0
            for j in range(n):
                true = fn(*[mpmath.mpf(float(cols[v][j])) for v in names])
                if not (info.tiny <= abs(true) <= info.max):
                    continue
                m, t = ulps(mine[o][j], true, dtype), ulps(theirs[o][j], true, dtype)
                worst, wt = max(worst, m), max(wt, t)
                worse += m > max(t, 1.0)
                past += m > (4 if dtype == np.float64 else 8)
            out[o] = (worst, worse, past, wt)
    return out


if __name__ == "__main__":
    which = [int(a) for a in sys.argv[1:]] or range(len(FORMULAS))
    for i in which:
        formula, tfn = FORMULAS[i]
        for far in (False, True):
            for dtype in (np.float64, np.float32):
                if far and dtype == np.float32:
                    continue
                res = probe(formula, tfn, dtype, far=far)
                print(f"{formula:28s} {'far' if far else 'mid'} {np.dtype(dtype).name}: " + "; ".join(
                    f"{o} {w:.3g} worse {b} past {p} (torch {t:.3g})" for o, (w, b, p, t) in res.items()), flush=True)
