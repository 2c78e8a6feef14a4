"""review45: run ~28 common formulas (and session 45's targets) at 300 points per dtype (moderate and extreme), in the
tree on PYTHONPATH, and save every output, the compile CPU time and the NumPy cost (1e6 elements, best of 5) to an
.npz; benchmarks/review45_compare.py compares two trees' files against mpmath and torch where they differ.
python benchmarks/review45_probe.py OUT.npz [INDEX...]"""
import os
import sys
import tempfile
import time
import warnings

os.environ.setdefault("SYMNET_CACHE", tempfile.mkdtemp(prefix="review45cache"))
import numpy as np  # noqa: E402
import symnet  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpu_time import best_of  # noqa: E402

# (formula, domain): "any" every input over both signs, "pos" every input positive, "t01" t in [0, 1], the rest any
FORMULAS = [
    ("sigmoid(x)", "any"), ("softplus(x)", "any"), ("tanh(w*x + b)", "any"), ("x*y + z", "any"),
    ("log(exp(a) + exp(b) + exp(c))", "any"), ("-log(exp(a)/(exp(a) + exp(b) + exp(c)))", "any"),
    ("gelu(x)", "any"), ("mish(x)", "any"), ("huber(p, t)", "any"), ("sqrt(x**2 + y**2)", "any"),
    ("z/sqrt(x**2 + y**2)", "any"), ("(x + sqrt(x**2 + b))/2", "pos"), ("sqrt((p - t)**2 + eps**2) - eps", "any"),
    ("(sqrt(gx**2 + gy**2 + gz**2) - 1)**2", "any"), ("log(1 + (x - m)**2/(nu*s**2))*(nu + 1)/2", "pos"),
    ("-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))", "pos"),
    ("1 - (a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))", "any"),
    ("tanh(w*x + u*h + b)", "any"), ("x/(x**2 + 1)", "any"), ("log(x/(x + y))", "pos"), ("focal(z, t)", "t01"),
    ("elu(x)", "any"), ("bce_logits(z, t)", "t01"), ("x*y/(x + y)", "pos"), ("gaussian_nll(p, t, v)", "pos"),
    # session 45's targets
    ("sin(x) + cos(x)", "any"), ("1/sqrt(x) - 1/sqrt(y)", "pos"), ("sqrt(x**2 + 1) - x", "any"),
    ("exp(x) + exp(y) - 2", "any"), ("x**3 + y**3 + x*y + 1", "any"),
    ("elu(x) + 1", "any"), ("2*elu(x) + 2", "any"), ("elu(x) + y", "any"), ("x*cos(x)", "any"),
    ("x*sin(x) + cos(x)", "any"), ("sqrt(x**2 + eps) - sqrt(eps)", "pos"), ("(x**2 + eps**2)**(a/2)", "any"),
    ("sigmoid(o)*tanh(sigmoid(f)*c + sigmoid(i)*tanh(g))", "any"), ("x**3/3 - x*y**2 + y", "any"),
]


def points(names, domain, dtype, n=300, seed=45):
    rng = np.random.default_rng(seed)
    top = 307 if dtype == np.float64 else 37
    cols = []
    for _ in names:  # (the name is read by "t01")
        m = n // 2
        mod = rng.standard_normal(m) * 10.0 ** rng.uniform(-2, 1.5, m)
        ext = 10.0 ** rng.uniform(-top - 8, top, n - m)
        special = [0.0, 5e-324 if dtype == np.float64 else 1e-45, 2.0 ** -1000 if dtype == np.float64 else 2.0 ** -126,
                   1.8e308 if dtype == np.float64 else 3.4e38, 1e-300, 1e300, 1.0, 2.0 ** -17, 40.0, 800.0]
        ext[: len(special)] = special
        rng.shuffle(ext)
        c = np.concatenate([mod, ext])
        if domain == "pos":
            c = np.abs(c)
            c[c == 0] = 1.0
        else:
            c[m:] *= rng.choice([-1.0, 1.0], n - m)
        if domain == "t01" and _ == "t":  # a target in [0, 1], its ends included
            c = rng.uniform(0, 1, n)
            c[:3] = [0.0, 1.0, 0.5]
        cols.append(c.astype(dtype))
    return cols


def run(formulas, points, argv):
    """Compile each of ``formulas`` (or those at the indexes argv[1:]), evaluate it at ``points``, and save to argv[0]
    (review45, review46 and review47 share this loop)."""
    out = argv[0]
    idx = [int(a) for a in argv[1:]] or range(len(formulas))
    save = {}
    for i in idx:
        f, dom = formulas[i]
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


if __name__ == "__main__":
    run(FORMULAS, points, sys.argv[1:])
