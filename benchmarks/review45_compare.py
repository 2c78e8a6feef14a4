"""review45, review46: compare two trees' outputs from benchmarks/review45_probe.py or review46_probe.py (BASE.npz
NEW.npz, written by the probe named last) where they differ, against
mpmath (SymPy's derivative of the formula as written, 700 digits) and torch autograd float64 (float32 for float32).
Prints per formula/dtype/output: differing points, points where NEW is worse than BASE and past the bound, worst ULPs,
and the worst such point.  python benchmarks/review45_compare.py BASE.npz NEW.npz [review45|review46]"""
import importlib
import os
import sys
import warnings

import mpmath
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "tests"))
from conftest import ulps  # noqa: E402
from test_user43 import _torch_grad, _truth_fn  # noqa: E402

# the probe that wrote the files: its formulas
PROBES = {"review45": "review45_probe", "review46": "review46_probe", "review47": "review47_probe",
          "review48": "review48_probe"}
probe = importlib.import_module(PROBES[sys.argv[3] if len(sys.argv) > 3 else "review45"])
FORMULAS, points = probe.FORMULAS, probe.points

BOUND = {"float64": 4.0, "float32": 8.0}
base, new = np.load(sys.argv[1]), np.load(sys.argv[2])
for i, (f, dom) in enumerate(FORMULAS):
    if f"{i}_compile" not in base or f"{i}_compile" not in new:
        print(f"{i:3d} missing in {'base' if f'{i}_compile' not in base else 'new'}  {f}")
        continue
    names = [str(n) for n in new[f"{i}_names"]]
    cb, cn = float(base[f"{i}_compile"]), float(new[f"{i}_compile"])
    kb, kn = float(base[f"{i}_cost"]), float(new[f"{i}_cost"])
    print(f"{i:3d} compile {cb:6.2f} -> {cn:6.2f} s  cost {kb*1e3:6.1f} -> {kn*1e3:6.1f} ms ({kn/kb:4.2f})  {f}")
    for dt in ("float64", "float32"):
        cols = points(names, dom, np.dtype(dt).type)
        finite = np.all([np.isfinite(c) for c in cols], axis=0)
        for o in new[f"{i}_outputs"]:
            a, b = base[f"{i}_{dt}_{o}"], new[f"{i}_{dt}_{o}"]
            diff = ~((a == b) | (np.isnan(a) & np.isnan(b))) & finite
            idx = np.nonzero(diff)[0]
            if not len(idx):
                continue
            wrt = None if o == "f" else str(o)[4:]
            try:
                fn = _truth_fn(f, tuple(names), wrt)
                with mpmath.workdps(700):
                    truths = [fn(*[mpmath.mpf(float(c[j])) for c in cols]) for j in idx]
            except Exception as e:  # noqa: BLE001
                print(f"      {dt} {o}: {len(idx)} differ; truth failed {e!r:.80}")
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    th = _torch_grad(f, names, [c[idx] for c in cols], wrt, dt)
            except Exception:  # noqa: BLE001
                th = np.full(len(idx), np.nan)
            ub = np.array([ulps(a[j], t, dt) for j, t in zip(idx, truths)])
            un = np.array([ulps(b[j], t, dt) for j, t in zip(idx, truths)])
            ut = np.array([ulps(x, t, dt) for x, t in zip(th, truths)])
            worse = (un > ub + 0.5) & (un > BOUND[dt])
            line = (f"      {dt} {o}: {len(idx)} differ, worst base {ub.max():.3g} new {un.max():.3g} torch "
                    f"{np.nanmax(ut):.3g}; new worse & past bound at {worse.sum()}, of them worse than torch "
                    f"{(worse & (un > ut)).sum()}")
            print(line)
            for j in np.argsort(-(un - ub) * worse)[: min(3, worse.sum())]:
                p = {n: float(c[idx[j]]) for n, c in zip(names, cols)}
                print(f"          at {p}: base {ub[j]:.3g} new {un[j]:.3g} torch {ut[j]:.3g} truth "
                      f"{mpmath.nstr(truths[j], 8)} base {a[idx[j]]!r} new {b[idx[j]]!r}")
            still = (un > BOUND[dt]) & ~worse
            for j in np.argsort(-un * still)[: min(2, still.sum())]:  # changed, no worse, yet past the bound
                p = {n: float(c[idx[j]]) for n, c in zip(names, cols)}
                print(f"          still past the bound at {p}: base {ub[j]:.3g} new {un[j]:.3g} torch {ut[j]:.3g} "
                      f"truth {mpmath.nstr(truths[j], 8)} new {float(b[idx[j]])!r}")
