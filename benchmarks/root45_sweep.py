"""root45 (issue 16, session 45): the root differences √(x² + ε) − √ε, the Charbonnier loss √(x² + ε²) − ε and the
WGAN-GP penalty (√(x² + y²) − 1)² at 0, subnormals, ±1e−30, ±1e154, ±1e308 and the largest numbers (float32's own
edges in float32), f and every gradient, NumPy kernels (--backend triton: Triton's), against mpmath (1300 digits: x²
beside ε spans ~960 decades) and torch autograd of the formula as written. Prints one row per formula, output
and dtype: points, points past the bound (4 ULP float64, 8 float32;
only where the truth is finite and the inputs are), points worse than max(torch, the bound), the worst, and each
point where symnet is NaN or ±inf and torch is not (or the other way round) with both values.

    python benchmarks/root45_sweep.py [--backend triton]   (PYTHONPATH names the symnet tree measured)
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import warnings

import mpmath
import numpy as np
import sympy as sp

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import symnet  # noqa: E402
from conftest import ulps  # noqa: E402

FORMULAS = {
    "root": ("sqrt(x**2 + eps) - sqrt(eps)", ["eps", "x"]),
    "charbonnier": ("sqrt(x**2 + eps**2) - eps", ["eps", "x"]),
    "wgan": ("(sqrt(x**2 + y**2) - 1)**2", ["x", "y"]),
}
EDGES = {
    np.float64: [0.0, 5e-324, 1e-310, 1e-160, 1e-30, 1.0, 1e154, 1e300, 1e308, 1.7976931348623157e308],
    np.float32: [0.0, 1.4e-45, 1e-40, 1e-20, 1e-10, 1.0, 1e19, 1e30, 1e38, 3.4028234663852886e38],
}
BOUND = {np.float64: 4.0, np.float32: 8.0}


def points(names, dtype, seed=45):
    """The edges and their negatives (ε ≥ 0 for the root formula), every pair, and 200 random pairs of
    ±10^U(the dtype's exponent range)."""
    edges = EDGES[dtype]
    signed = sorted({v for e in edges for v in (e, -e)}) + [-0.0]
    cols = list(zip(*itertools.product(signed, signed)))
    rng = np.random.default_rng(seed)
    top = 308 if dtype is np.float64 else 38
    extra = [np.where(rng.random(200) < 0.5, -1, 1) * 10.0 ** rng.uniform(-top - 15, top, 200) for _ in names]
    cols = [np.concatenate([np.array(c, np.float64), e]).astype(dtype) for c, e in zip(cols, extra)]
    return cols


def truth_fns(formula, names):
    expr = symnet.parse(formula)
    expr = expr.subs({s: sp.Symbol(s.name, real=True) for s in expr.free_symbols})
    syms = [sp.Symbol(n, real=True) for n in names]
    return {"f": sp.lambdify(syms, expr, "mpmath"),
            **{f"df_d{n}": sp.lambdify(syms, sp.diff(expr, s), "mpmath") for n, s in zip(names, syms)}}


def torch_of(formula, names, cols, dtype):
    import torch
    expr = symnet.parse(formula)
    syms = [sp.Symbol(n, real=True) for n in names]
    expr = expr.subs({s: sp.Symbol(s.name, real=True) for s in expr.free_symbols})
    fn = sp.lambdify(syms, expr, modules=[torch])
    ts = [torch.tensor(np.asarray(c, np.float64), dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
          for c in cols]
    y = fn(*ts)
    grads = torch.autograd.grad(y.sum(), ts, allow_unused=True)
    return {"f": y.detach().double().numpy(),
            **{f"df_d{n}": g.double().numpy() for n, g in zip(names, grads)}}


def run(kernel, names, cols, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if backend == "numpy":
            out = kernel(**dict(zip(names, cols)))
        else:
            import torch
            out = [o.double().numpy() for o in kernel(**{n: torch.tensor(c) for n, c in zip(names, cols)})]
    return dict(zip(kernel.outputs, [np.asarray(o, np.float64) for o in out]))


def truth(fn, point):
    if not all(math.isfinite(v) for v in point):
        return None
    try:
        with mpmath.workdps(1300):
            t = fn(*[mpmath.mpf(v) for v in point])
    except (ZeroDivisionError, ValueError):
        return None
    if not isinstance(t, mpmath.mpf) or mpmath.isnan(t):
        return None
    return t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--only", default=None)
    parser.add_argument("--show", type=int, default=0, help="the worst points past the bound to list")
    args = parser.parse_args()
    for key, (formula, names) in FORMULAS.items():
        if args.only and key != args.only:
            continue
        kernel = symnet.compile(symnet.derive(formula), backend=args.backend, progress=False) \
            if args.backend == "numpy" else symnet.compile(symnet.derive(formula), backend=args.backend)
        fns = truth_fns(formula, names)
        for dtype in (np.float64, np.float32):
            cols = points(names, dtype)
            if key == "root":
                keep = cols[0] >= 0
                cols = [c[keep] for c in cols]
            ours = run(kernel, names, cols, args.backend)
            theirs = torch_of(formula, names, cols, dtype)
            for out in kernel.outputs:
                past = worse = 0
                worst, at = 0.0, None
                odd, pasts = [], []
                for i in range(len(cols[0])):
                    point = [float(c[i]) for c in cols]
                    got, tor = ours[out][i], theirs[out][i]
                    t = truth(fns[out], point)
                    if t is None:
                        if (np.isnan(got) and not np.isnan(tor)) or (not np.isnan(got) and np.isnan(tor)) \
                                or (np.isfinite(got) != np.isfinite(tor)):
                            odd.append((point, got, tor))
                        continue
                    e, et = ulps(got, t, dtype), ulps(tor, t, dtype)
                    if e > BOUND[dtype]:
                        past += 1
                        pasts.append((e, point, got, float(t), tor, et))
                    if e > max(et, BOUND[dtype]):
                        worse += 1
                    if e > worst:
                        worst, at = e, (point, got, float(t), tor, et)
                print(f"{key:12s} {out:7s} {np.dtype(dtype).name:8s} n={len(cols[0])} past={past} worse={worse} "
                      f"worst={worst:.3g} at {at}")
                for e, point, got, t, tor, et in sorted(pasts, key=lambda p: -p[0])[:args.show]:
                    print(f"    past: {e:.3g} ULP at {point}: symnet {got!r}, truth {t!r}, torch {tor!r} ({et:.3g})")
                for point, got, tor in odd[:12]:
                    print(f"    undefined truth at {point}: symnet {got!r}, torch {tor!r}")
                if len(odd) > 12:
                    print(f"    ... {len(odd) - 12} more")


if __name__ == "__main__":
    main()
