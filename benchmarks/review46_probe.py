"""review46: run ~40 common formulas (the test suite's breadth and session 46's targets) at 300 points per dtype
(moderate and extreme; benchmarks/review45_probe.points), in the tree on PYTHONPATH, and save every output, the compile
CPU time and the NumPy cost (1e6 elements, best of 5) to an .npz; benchmarks/review45_compare.py (… review46) compares two trees'
files against mpmath and torch where they differ.  python benchmarks/review46_probe.py OUT.npz [INDEX...]"""
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("SYMNET_CACHE", tempfile.mkdtemp(prefix="review46cache"))
import numpy as np  # noqa: E402
import symnet  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_time import best_of  # noqa: E402
from review45_probe import points as _points45  # noqa: E402

# (formula, domain): "any" every input over both signs, "pos" every input positive, "t01" t in [0, 1],
# "Tpos" T positive and the rest over both signs
FORMULAS = [
    ("sigmoid(x)", "any"), ("softplus(x)", "any"), ("tanh(w*x + b)", "any"), ("x*y + z", "any"),
    ("log(exp(a) + exp(b) + exp(c))", "any"), ("-log(exp(a)/(exp(a) + exp(b) + exp(c)))", "any"),
    ("gelu(x)", "any"), ("mish(x)", "any"), ("huber(p, t)", "any"), ("sqrt(x**2 + y**2)", "any"),
    ("z/sqrt(x**2 + y**2)", "any"), ("(x + sqrt(x**2 + b))/2", "pos"), ("sqrt((p - t)**2 + eps**2) - eps", "any"),
    ("(sqrt(gx**2 + gy**2 + gz**2) - 1)**2", "any"), ("log(1 + (x - m)**2/(nu*s**2))*(nu + 1)/2", "pos"),
    ("-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))", "pos"),
    ("1 - (a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))", "any"),
    ("tanh(w*x + u*h + b)", "any"), ("x/(x**2 + 1)", "any"), ("log(x/(x + y))", "pos"), ("log(1 + x/y)", "pos"),
    ("x/(x + y)**2", "pos"), ("(1 + x)**0.3", "pos"), ("x**2.5 - 1", "pos"), ("focal(z, t)", "t01"),
    ("elu(x)", "any"), ("T*log(exp(a/T) + exp(b/T))", "Tpos"), ("-log(exp(a/T)/(exp(a/T) + exp(b/T)))", "Tpos"),
    ("x*sin(x)", "any"), ("x*y/(x + y)", "pos"),
    # session 46's targets and neighbours of its new rules
    ("x*y/(x - y)**3", "any"), ("(x + y)/(x - y)**3", "any"), ("(x + y)/(x - y)**2", "any"),
    ("(1 + x**2)**0.5 - 1", "any"), ("(1 + x)**2.5 - 1", "pos"), ("x*cos(x)", "any"),
    ("log(sigmoid(x) + sigmoid(y))", "any"), ("log(a/(a + b) + c)", "pos"), ("x/(x + y + z)", "pos"),
    ("-(exp(a)*a + exp(b)*b)/(exp(a) + exp(b)) + log(exp(a) + exp(b))", "any"),
]


def points(names, domain, dtype, n=300, seed=46):
    cols = _points45(names, "pos" if domain == "pos" else domain, dtype, n, seed)
    if domain == "Tpos":
        cols = [np.where(c == 0, 1, np.abs(c)).astype(dtype) if nm == "T" else c for nm, c in zip(names, cols)]
    return cols


if __name__ == "__main__":
    out = sys.argv[1]
    idx = [int(a) for a in sys.argv[2:]] or range(len(FORMULAS))
    save = {}
    for i in idx:
        f, dom = FORMULAS[i]
        t = time.process_time()
        try:
            k = symnet.compile(symnet.derive(f), progress=False, time_limit=300)
        except Exception as e:  # noqa: BLE001
            print(f"{i:3d} ERROR {type(e).__name__}: {str(e)[:100]}  {f}", flush=True)
            continue
        ct = time.process_time() - t
        names = [s.name for s in sorted(symnet.parse(f).free_symbols, key=lambda s: s.name)]
        save[f"{i}_compile"] = np.array(ct)
        save[f"{i}_outputs"] = np.array(list(k.outputs))
        save[f"{i}_names"] = np.array(names)
        for dt in (np.float64, np.float32):
            cols = points(names, dom, dt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = k(**dict(zip(names, cols)))
            for o, r in zip(k.outputs, res):
                save[f"{i}_{np.dtype(dt).name}_{o}"] = np.broadcast_to(np.asarray(r), cols[0].shape).copy()
        big = [c for c in points(names, dom, np.float64, n=1000, seed=1)]
        big = [np.resize(c[:150], 10 ** 6) for c in big]  # moderate values only
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cost = best_of(lambda: k(**dict(zip(names, big))))
        save[f"{i}_cost"] = np.array(cost)
        print(f"{i:3d} compile {ct:7.2f}s cost {cost * 1e3:7.1f}ms  {f}", flush=True)
        np.savez(out, **save)
