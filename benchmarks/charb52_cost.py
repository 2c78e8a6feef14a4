"""Session 52 (h-charb52): the NumPy cost of power-of-sum-difference (the generalised Charbonnier loss
((p − t)² + c²)^(q/2) − c^q, f and its 4 gradients), the tree before the rule (51eb894c), session 51's (24d86a8f) and new.

    PYTHONPATH=<base tree> python benchmarks/charb52_cost.py --save /tmp/base
    PYTHONPATH=.           python benchmarks/charb52_cost.py --save /tmp/new
    python benchmarks/charb52_cost.py --compare /tmp/base /tmp/new

Inputs ("ordinary" points, as tests/test_charb51.py's cost): c U(0.1, 10), p, t U(−2, 2), q U(0.2, 2); "robust":
the usual Charbonnier c = 1e−3, q = 1 (the power ½)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)

CHARB = "((p - t)**2 + c**2)**(q/2) - c**q"


def _ordinary(r, n):
    return {"c": r.uniform(0.1, 10, n), "p": r.uniform(-2, 2, n), "q": r.uniform(0.2, 2, n),
            "t": r.uniform(-2, 2, n)}


def _small_c(r, n):
    return {"c": np.full(n, 1e-3), "p": r.uniform(-2, 2, n), "q": np.ones(n), "t": r.uniform(-2, 2, n)}


FORMULAS = {
    "charbonnier": (CHARB, _ordinary),
    "charbonnier_small_c": (CHARB, _small_c),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
