"""review47: review46's formulas plus session 47's targets and their neighbours (56 in all) at 300 points per dtype
(moderate and extreme; benchmarks/review45_probe.points), in the tree on PYTHONPATH, and save every output, the compile
CPU time and the NumPy cost (1e6 elements, best of 5) to an .npz; benchmarks/review45_compare.py (… review47) compares
two trees' files against mpmath and torch where they differ.  python benchmarks/review47_probe.py OUT.npz [INDEX...]"""
import os
import sys
import tempfile

os.environ.setdefault("SYMNET_CACHE", tempfile.mkdtemp(prefix="review47cache"))
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from review45_probe import run  # noqa: E402
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
    run(FORMULAS, points, sys.argv[1:])
