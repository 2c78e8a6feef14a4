"""Session 51 (h-rerms51): the cost of h-rms50 brought back with the infinite-input branches (the written product
where one input is ±inf, inside the far branch of sum-power-cancel's half-power quotient).

    PYTHONPATH=<base tree> python benchmarks/rerms51_cost.py --save /tmp/base
    PYTHONPATH=.           python benchmarks/rerms51_cost.py --save /tmp/new
    python benchmarks/rerms51_cost.py --compare /tmp/base /tmp/new

Inputs U(−3, 3) (ordinary points)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)
from rms50_cost import FORMULAS as _RMS50, _uniform  # noqa: E402

E = "1/100000"

FORMULAS = {
    "rms3": (f"a/sqrt((a**2 + b**2 + c**2)/3 + {E})", _uniform("a b c")),
    "rms3_scaled": (f"g*a/sqrt((a**2 + b**2 + c**2)/3 + {E})", _uniform("a b c g")),
    "sum_factor": ("x*y/sqrt(x**2 + 2*y**2 + 1)", _uniform("x y")),
    **{k: v for k, v in _RMS50.items() if k in ("rms4", "ln3_affine", "ln4_affine")},
}

if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
