"""review48: NumPy CPU time of the compiled kernels (value and gradients) of common formulas and session 48's
targets, base tree against this one in one process, timed in turn: 10^6 float64 and float32 elements (inputs in
U(−3, 3); v, eps, s, T, w, y in U(0.1, 3); t in U(0, 1); c in U(−1, 1)), time.process_time, best of 5. Each tree's
kernel source from a subprocess with PYTHONPATH at that tree (benchmarks/trig47_cost.py's source()).

    python3 benchmarks/review48_cost.py /path/to/base/tree [INDEX...]   # base against this tree (the cwd)
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trig47_cost import best, kernel, source  # noqa: E402

_KL = "sigmoid({x})*(log(sigmoid({x})) - log(sigmoid({y}))) + sigmoid(-{x})*(log(sigmoid(-{x})) - log(sigmoid(-{y})))"
FORMULAS = [
    "sigmoid(x)", "softplus(x)", "log(exp(a) + exp(b) + exp(c))", "(sigmoid(a*x + b) - y)**2",
    "-log(exp(a)/(exp(a) + exp(b) + exp(c)))", "-t*log(sigmoid(z)) - (1 - t)*log(1 - sigmoid(z))", "bce_logits(z, t)",
    "s*(c*cos(m) - sqrt(1 - c**2)*sin(m))", "sigmoid(o)*tanh(sigmoid(f)*c + sigmoid(i)*tanh(g))",
    "(x - m)/sqrt(v + eps)", "x*sqrt(y) - z*sqrt(w)", "sqrt(x**2 + 1) - x", _KL.format(x="a/T", y="b/T"),
    "-log(exp(logsigmoid(a) - (x - m1)**2/2) + exp(logsigmoid(-a) - (x - m2)**2/2))",
    "log(pi*s) + log(1 + ((x - m)/s)**2)", "x/sqrt(x**2 + y**2)", "1/sqrt(eps) - 1/sqrt(eps + x**2)",
    "eps**(-3/2) - (eps + x**2)**(-3/2)", "sqrt(x**2 + eps) - sqrt(eps)", "log(exp(a) + exp(b) + 1) - a",
]
POSITIVE = {"v", "eps", "s", "T", "w", "y"}


def columns(names, dtype, n=10**6):
    rng = np.random.default_rng(48)
    out = {}
    for name in names:
        lo, hi = (0.1, 3.0) if name in POSITIVE else (0.0, 1.0) if name == "t" else (-1.0, 1.0) if name == "c" else (
            -3.0, 3.0)
        out[name] = rng.uniform(lo, hi, n).astype(dtype)
    return out


def main(base, mine, idx):
    print(f"{'dtype':8s} {'base ms':>8s} {'this ms':>8s} {'ratio':>6s}  formula", flush=True)
    for i in idx:
        formula = FORMULAS[i]
        kernels = [kernel(source(tree, formula)) for tree in (base, mine)]
        names = sorted(kernels[1].__code__.co_varnames[:kernels[1].__code__.co_argcount])
        for dtype in (np.float64, np.float32):
            cols = columns(names, dtype)
            a, b = [], []
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                for _ in range(5):  # in turn: the shared box's load falls on both alike
                    a.append(best(lambda _: kernels[0](**cols), None, 1))
                    b.append(best(lambda _: kernels[1](**cols), None, 1))
            print(f"{np.dtype(dtype).name:8s} {1e3 * min(a):8.1f} {1e3 * min(b):8.1f} {min(b) / min(a):6.2f}  {formula}",
                  flush=True)


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]), os.path.abspath("."), [int(a) for a in sys.argv[2:]] or range(len(FORMULAS)))
