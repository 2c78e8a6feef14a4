"""review47: review46's formulas plus session 47's targets and their neighbours (56 in all) at 300 points per dtype
(moderate and extreme; benchmarks/review45_probe.points), in the tree on PYTHONPATH, and save every output, the compile
CPU time and the NumPy cost (1e6 elements, best of 5) to an .npz; benchmarks/review45_compare.py (… review47) compares
two trees' files against mpmath and torch where they differ.  python benchmarks/review47_probe.py OUT.npz [INDEX...]"""
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("SYMNET_CACHE", tempfile.mkdtemp(prefix="review47cache"))
import numpy as np  # noqa: E402
import symnet  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_time import best_of  # noqa: E402
from review46_probe import FORMULAS as _FORMULAS46, points as _points46  # noqa: E402

# (formula, domain) as in review46: "any" every input over both signs, "pos" every input positive, "t01" t in [0, 1],
# "Tpos" T positive and the rest over both signs; and "gt": as "any", the first input (by name) at least the second
# (−log(σ(a) − σ(b)) is complex where a < b: mpmath's truth there is no real number to count ULPs from)
FORMULAS = _FORMULAS46 + [
    # session 47's targets and neighbours of its rules
    ("log(exp(a) + exp(b) + 1) - a", "any"), ("y**2/6*(1 - (1 - (x/y)**2)**3)", "any"),
    ("sqrt(x**2 + eps) - sqrt(eps)", "pos"), ("x*y + u*v", "any"), ("sin(x)*cos(x)/x", "any"),
    ("sin(x) + x*sin(x) - 3", "any"), ("(x + 1)/(x - y)**3", "any"), ("x*y/(x - y)**4", "any"),
    ("(y**x)**3*log(y)", "pos"), ("1/(1 + ((x - m)/g)**2)", "any"), ("log(exp(a) + exp(b) + exp(-a))", "any"),
    ("1/sqrt(eps) - 1/sqrt(eps + x**2)", "pos"), ("log(2*exp(a) + exp(b) + 1)", "any"), ("elu(x)/2 + 1/2", "any"),
    ("abs(x - m)*exp(-s) + s", "any"), ("-log(sigmoid(a) - sigmoid(b))", "gt"),
]


def points(names, domain, dtype, n=300, seed=46):
    """review46's points; for "gt" the first two columns ordered so that the first is the larger."""
    if domain != "gt":
        return _points46(names, domain, dtype, n, seed)
    cols = _points46(names, "any", dtype, n, seed)
    swap = cols[1] > cols[0]
    return [np.where(swap, cols[1], cols[0]), np.where(swap, cols[0], cols[1])] + cols[2:]


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
