"""Session 51 (h-weib51): the NumPy cost of quotient-power-near-one's root branch (the Weibull NLL as written and with
log x apart) and of sum-power-cancel's half-power quotient, base and new trees.

    PYTHONPATH=<base tree> python benchmarks/weib51_cost.py --save /tmp/base
    PYTHONPATH=.           python benchmarks/weib51_cost.py --save /tmp/new
    python benchmarks/weib51_cost.py --compare /tmp/base /tmp/new

Inputs ("ordinary" points, as benchmarks/front50.py): the Weibull k, λ U(0.3, 5), x = λ·U(0.05, 3); x, y U(−3, 3)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)
from front50 import FORMULAS as _FRONT50, _weibull  # noqa: E402  (one copy of the inputs: h-weib52)

FORMULAS = {
    "half_power_quotient": _FRONT50["half_power_quotient"],
    "weibull_nll": _FRONT50["weibull_nll"],
    "weibull_log_x": ("(x/l)**k - (k - 1)*log(x) + k*log(l) - log(k)", _weibull),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
