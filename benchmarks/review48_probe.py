"""review48: review47's formulas plus session 48's targets and the neighbours of its rules at 300 points per dtype
(moderate and extreme; benchmarks/review45_probe.points), in the tree on PYTHONPATH, and save every output, the compile
CPU time and the NumPy cost (1e6 elements, best of 5) to an .npz; benchmarks/review45_compare.py (… review48) compares
two trees' files against mpmath and torch where they differ.  python benchmarks/review48_probe.py OUT.npz [INDEX...]"""
import os
import sys
import tempfile

os.environ.setdefault("SYMNET_CACHE", tempfile.mkdtemp(prefix="review48cache"))
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from review45_probe import run  # noqa: E402
from review47_probe import FORMULAS as _FORMULAS47, points as _points47  # noqa: E402

_KL = "sigmoid({x})*(log(sigmoid({x})) - log(sigmoid({y}))) + sigmoid(-{x})*(log(sigmoid(-{x})) - log(sigmoid(-{y})))"

# (formula, domain) as in review47; and "unit": c in [−1, 1], the rest over both signs; "spos": s positive, the rest
# over both signs
FORMULAS = _FORMULAS47 + [
    # session 48's targets and neighbours of its rules (trig48, cell48, kl48, mix48, inf48)
    ("s*(c*cos(m) - sqrt(1 - c**2)*sin(m))", "unit"), ("s*(c*sin(m) + sqrt(1 - c**2)*cos(m))", "unit"),
    ("sigmoid(o)*tanh(sigmoid(f)*c + sigmoid(i)*tanh(g))", "any"), ("sin(x)*cos(y) - cos(x)*sin(y)", "any"),
    ("-t*log(sigmoid(z)) - (1 - t)*log(1 - sigmoid(z))", "any"), ("t*softplus(-z) + (2 - t)*softplus(z)", "any"),
    ("bce_logits(z, t)", "any"),
    (_KL.format(x="a/T", y="b/T"), "Tpos"), (_KL.format(x="x", y="y"), "any"), (_KL.format(x="x", y="y") + " + x**2", "any"),
    ("sigmoid(x)*log(sigmoid(x)/sigmoid(y)) + (1 - sigmoid(x))*log((1 - sigmoid(x))/(1 - sigmoid(y)))", "any"),
    ("-log(exp(logsigmoid(a) - (x - m1)**2/2) + exp(logsigmoid(-a) - (x - m2)**2/2))", "any"),
    ("-log(exp(logsigmoid(a) - (x - m1)**2/2) + exp(logsigmoid(-a) - (x - m2)**2/8))", "any"),
    ("log(pi*s) + log(1 + ((x - m)/s)**2)", "spos"),
    ("x/sqrt(x**2 + y**2)", "any"), ("x**3/(x**2 + y**2)**(3/2)", "any"), ("x*y/sqrt(x**2 + 2*y**2 + 1)", "any"),
    ("sqrt(x**2 + eps**2)", "any"), ("eps**(-3/2) - (eps + x**2)**(-3/2)", "pos"),
    ("(eps + 2*x**2)**(-5/2) - eps**(-5/2)", "pos"),
]


def points(names, domain, dtype, n=300, seed=46):
    """review47's points; "unit" and "spos" as review47's "any" with c in [−1, 1] (ends and ±1/2 included), s > 0."""
    if domain not in ("unit", "spos"):
        return _points47(names, domain, dtype, n, seed)
    cols = _points47(names, "any", dtype, n, seed)
    for k, name in enumerate(names):
        if domain == "unit" and name == "c":
            c = np.random.default_rng(seed).uniform(-1, 1, n)
            c[:5] = [-1.0, 1.0, 0.5, -0.5, 0.0]
            cols[k] = c.astype(dtype)
        if domain == "spos" and name == "s":
            cols[k] = np.where(cols[k] == 0, 1, np.abs(cols[k])).astype(dtype)
    return cols


if __name__ == "__main__":
    run(FORMULAS, points, sys.argv[1:])
