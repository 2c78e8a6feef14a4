"""Triton vs NumPy at extreme points: where NumPy is within its bound and Triton is not (a Triton printer gap).

    TRITON_INTERPRET=1 PYTHONPATH=. python3 benchmarks/triton_vs_numpy39.py "FORMULA;FORMULA;..."

Session 39 (h-triton39). Per formula of x and y, float32 and float64: 48 points (far apart, of one size, ordinary,
nearly equal, a tiny x beside y = ±0), each output's truth by symnet.verify.evaluate.references (precision raised
until it settles), ULPs of both backends. Prints the gaps (NumPy ≤ 4 ULP float64 / 8 float32, Triton past) and, for
the first two points of each where both are past, "both past". A truth the evaluator could not settle (an exponent of
thousands of digits) shows as both past. Results: benchmarks/results/triton-vs-numpy39-2026-12-06.txt.
"""
import sys, time
sys.path.insert(0, "tests")  # conftest: compiled, ulps
import warnings; warnings.filterwarnings("ignore")
import numpy as np, mpmath, sympy as sp
from conftest import compiled, triton_torch, ulps
torch = triton_torch()
FORMULAS = sys.argv[1].split(";")
x, y = sp.symbols("x y", real=True)
rng = np.random.default_rng(3939)
def points(dtype, n=48):
    big = 38 if dtype == np.float32 else 307
    small = -44 if dtype == np.float32 else -320
    out = []
    for _ in range(n // 6):
        s = rng.choice([-1.0, 1.0], 2)
        out.append((s[0] * 10 ** rng.uniform(big * 0.8, big), s[1] * 10 ** rng.uniform(small, 3)))  # far apart
        out.append((s[0] * 10 ** rng.uniform(small, 3), s[1] * 10 ** rng.uniform(big * 0.8, big)))
        e = rng.uniform(small * 0.9, big * 0.95); out.append((s[0] * 10 ** e, s[1] * 10 ** (e + rng.uniform(-1, 1))))  # same size
        out.append((s[0] * rng.uniform(0.1, 4), s[1] * rng.uniform(0.1, 4)))  # ordinary
        v = s[0] * 10 ** rng.uniform(-3, 3); out.append((v, v * (1 + rng.choice([-1, 1]) * 10 ** rng.uniform(-7 if dtype == np.float32 else -15, -1))))  # near equal
        out.append((s[0] * 10 ** rng.uniform(small, -30), rng.choice([0.0, -0.0])))  # signed zero
    a = np.array(out, dtype=dtype)
    return a[:, 0], a[:, 1]
bound = {np.float32: 8.0, np.float64: 4.0}
for formula in FORMULAS:
    t0 = time.time()
    try:
        kt = compiled(formula, "triton"); kn = compiled(formula, "numpy")
    except Exception as ex:
        print(f"{formula}: compile error {type(ex).__name__}: {str(ex)[:100]}", flush=True); continue
    from symnet.verify.evaluate import references
    K = kt.kernel
    syms = [i.symbol for i in K.inputs]
    exprs = {o.name: o.expr for o in K.outputs}
    def truth(name, a, b):
        r = references((exprs[name],), dict(zip(syms, (a, b))))[0]
        return r[0] if isinstance(r, tuple) else r
    for dtype in (np.float32, np.float64):
        xs, ys = points(dtype)
        got_t = dict(zip(kt.outputs, (o.double().numpy() for o in kt(x=torch.tensor(xs), y=torch.tensor(ys)))))
        got_n = dict(zip(kn.outputs, (np.asarray(o, float) for o in kn(x=xs, y=ys))))
        gaps = []; compared = 0; tpast = 0
        with mpmath.workdps(60):
            for name in kt.outputs:
                for i in range(len(xs)):
                    try:
                        t = truth(name, float(xs[i]), float(ys[i]))
                    except Exception:
                        continue
                    if t is None or not isinstance(t, mpmath.mpf) or not mpmath.isfinite(t): continue
                    if t != 0 and abs(t) < float(np.finfo(dtype).tiny): continue
                    un, ut = ulps(got_n[name][i], t, dtype), ulps(got_t[name][i], t, dtype)
                    compared += 1; tpast += ut > bound[dtype]
                    if ut > bound[dtype] and un > bound[dtype] and tpast <= 2:
                        print("    both past", name, float(xs[i]), float(ys[i]), "triton", float(got_t[name][i]), "numpy", float(got_n[name][i]), "truth", mpmath.nstr(t, 8), flush=True)
                    if un <= bound[dtype] and ut > bound[dtype]:
                        gaps.append((name, float(xs[i]), float(ys[i]), float(got_t[name][i]), float(t), round(un, 2), ut))
        print(f"{formula} {dtype.__name__}: compared {compared}, triton past {tpast}, {len(gaps)} gaps ({time.time()-t0:.0f}s)", flush=True)
        for g in gaps[:4]:
            print("   ", g, flush=True)
