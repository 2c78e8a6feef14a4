"""Session 50 (h-rms50): the cost of the written normalisations' mends (RMSNorm-4's far branch, the affine
LayerNorm's γ·n + β).

    PYTHONPATH=<base tree> python benchmarks/rms50_cost.py --save /tmp/base
    PYTHONPATH=.           python benchmarks/rms50_cost.py --save /tmp/new
    python benchmarks/rms50_cost.py --compare /tmp/base /tmp/new

Inputs U(−3, 3) (ordinary points: the widened branches on every element)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)

E = "1/100000"


def _layernorm(k, affine=False):
    xs = "abcd"[:k]
    m = "(" + " + ".join(xs) + f")/{k}"
    var = "(" + " + ".join(f"({x} - {m})**2" for x in xs) + f")/{k}"
    f = f"(a - {m})/sqrt({var} + {E})"
    return f"g*{f} + h" if affine else f


def _uniform(names):
    return lambda r, n: {x: r.uniform(-3, 3, n) for x in names.split()}


FORMULAS = {
    "rms4": (f"a/sqrt((a**2 + b**2 + c**2 + d**2)/4 + {E})", _uniform("a b c d")),
    "ln3": (_layernorm(3), _uniform("a b c")),
    "ln3_affine": (_layernorm(3, True), _uniform("a b c g h")),
    "ln2_affine": (_layernorm(2, True), _uniform("a b g h")),
    "ln4_affine": (_layernorm(4, True), _uniform("a b c d g h")),
}

if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
