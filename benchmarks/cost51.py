"""Session 51 (h-reshift51): the cost of shift-gaps in the sigmoid-weighted-exps rule's shifted branch, of that rule's
new exponent guard and of the sigmoid-power rule's widened sums.

    PYTHONPATH=<base tree> python benchmarks/cost51.py --save /tmp/base
    PYTHONPATH=.           python benchmarks/cost51.py --save /tmp/new
    python benchmarks/cost51.py --compare /tmp/base /tmp/new

Inputs: the mixtures' a, m₁, m₂ N(0, 3²) and x N(0, 3²) ("ordinary": as written there), x = ±U(700, 3000) ("far":
the shifted branch on every element) or ±10^U(20, 150) ("huge", the Gaussian's, NaN in base); the Laplace pair and
GMM2 (no change expected: the rule does not fire on them); the GCE slope's q U(0.01, 3), z N(0, 3²) or −U(700, 6000)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)


def _mixture(far, huge=False):
    def make(r, n):
        x = (r.choice([-1, 1], n) * 10.0 ** r.uniform(20, 150, n) if huge else
             r.choice([-1, 1], n) * r.uniform(700, 3000, n) if far else r.normal(0, 3, n))
        return {"a": r.normal(0, 3, n), "m1": r.normal(0, 3, n), "m2": r.normal(0, 3, n), "x": x}
    return make


def _pair(r, n):
    return {"a": r.normal(0, 3, n), "b": r.normal(0, 3, n), "x": r.normal(0, 3, n)}


def _gce(far):
    return lambda r, n: {"q": r.uniform(0.01, 3, n), "z": -r.uniform(700, 6000, n) if far else r.normal(0, 3, n)}


LAPLACE = "-log(sigmoid(a)*exp(-abs(x - m1)) + sigmoid(-a)*exp(-abs(x - m2)))"
GAUSS = "-log(sigmoid(a)*exp(-(x - m1)**2) + sigmoid(-a)*exp(-(x - m2)**2))"
PAIR = "-log(exp(-abs(x - a)) + exp(-abs(x - b)))"
GMM2 = "-log(exp(logsigmoid(a) - (x - m1)**2/2) + exp(logsigmoid(-a) - (x - m2)**2/2))"
GCE_SLOPE = "sigmoid(z)**q*sigmoid(-z)"

FORMULAS = {
    "laplace": (LAPLACE, _mixture(False)),
    "laplace_far": (LAPLACE, _mixture(True)),
    "gauss": (GAUSS, _mixture(False)),
    "gauss_far": (GAUSS, _mixture(True)),
    "gauss_huge": (GAUSS, _mixture(True, True)),
    "laplace_pair": (PAIR, _pair),
    "gmm2": (GMM2, _mixture(False)),
    "gce_slope": (GCE_SLOPE, _gce(False)),
    "gce_slope_far": (GCE_SLOPE, _gce(True)),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
