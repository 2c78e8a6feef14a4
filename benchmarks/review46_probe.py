"""review46: run ~40 common formulas (the test suite's breadth and session 46's targets) at 300 points per dtype
(moderate and extreme; benchmarks/review45_probe.points), in the tree on PYTHONPATH, and save every output, the compile
CPU time and the NumPy cost (1e6 elements, best of 5) to an .npz; benchmarks/review45_compare.py (… review46) compares two trees'
files against mpmath and torch where they differ.  python benchmarks/review46_probe.py OUT.npz [INDEX...]"""
import os
import sys
import tempfile

os.environ.setdefault("SYMNET_CACHE", tempfile.mkdtemp(prefix="review46cache"))
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from review45_probe import points as _points45, run  # noqa: E402

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
    run(FORMULAS, points, sys.argv[1:])
