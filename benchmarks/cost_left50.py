"""Session 50 (h-left50): the cost of widened-product-overflow's written form (the infinite terms, each select one
node the printers print), taken only where the scaled far sum is ±inf or NaN.

    PYTHONPATH=<base tree> python benchmarks/cost_left50.py --save /tmp/base
    PYTHONPATH=.           python benchmarks/cost_left50.py --save /tmp/new
    python benchmarks/cost_left50.py --compare /tmp/base /tmp/new

Inputs: a, b, c, d N(0, 3²) ("ordinary"); a, c ±1e300·U(0.5, 1), b, d U(1, 100) ("far": the scaled branch on every
element, its written form's test over the block); the cosine loss's a, b, c, d N(0, 3²); tanh(c·x + d·h) − h's
c, d U(−2, 2), h U(−1.5, 1.5), x U(−4, 4) (releft51: --compare base left50 releft51, three folders)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)


def _products(far):
    def make(r, n):
        if not far:
            return {v: r.normal(0, 3, n) for v in "abcd"}
        a = r.choice([-1, 1], n) * 1e300 * r.uniform(0.5, 1, n)
        return {"a": a, "b": r.uniform(1, 100, n), "c": -a * r.uniform(0.9, 1.1, n), "d": r.uniform(1, 100, n)}
    return make


PRODUCTS = "a*b + c*d"
COSINE = "1 - (a*c + b*d)/sqrt((a**2 + b**2)*(c**2 + d**2) + 1e-12)"
TANH_GAP = "tanh(c*x + d*h) - h"  # (releft51: two outputs whose written forms shared a term; test_cost40's formula)


def _tanh_gap(r, n):
    return {"c": r.uniform(-2, 2, n), "d": r.uniform(-2, 2, n), "h": r.uniform(-1.5, 1.5, n), "x": r.uniform(-4, 4, n)}


FORMULAS = {
    "products": (PRODUCTS, _products(False)),
    "products_far": (PRODUCTS, _products(True)),
    "cosine": (COSINE, _products(False)),
    "tanh_gap": (TANH_GAP, _tanh_gap),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
