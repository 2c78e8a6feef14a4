"""Session 50 (h-cost50): the NumPy cost of session 49's accuracy fixes (sum-power-cancel's half-power quotient, the
written RMSNorm, quotient-power-near-one's Weibull NLL, Tukey's biweight, the Student-t NLL), base 9d4d1074 and new.

    PYTHONPATH=<9d4d1074 tree> python benchmarks/front50.py --save /tmp/base
    PYTHONPATH=.               python benchmarks/front50.py --save /tmp/new
    python benchmarks/front50.py --compare /tmp/base /tmp/new

Inputs ("ordinary" points): x, y N(0, 3²) or U(−3, 3); the Weibull k, λ U(0.3, 5), x = λ·U(0.05, 3); Tukey's c
U(0.5, 5), r N(0, 3²); the Student-t μ, x N(0, 3²), ν, s log-uniform."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cost  # noqa: E402  (the shared --save, --compare and naive runner)


def _pos(r, n, lo=0.1, hi=30):
    return np.exp(r.uniform(np.log(lo), np.log(hi), n))


def _weibull(r, n):
    k, lam = r.uniform(0.3, 5, n), r.uniform(0.3, 5, n)
    return {"k": k, "l": lam, "x": lam * r.uniform(0.05, 3, n)}


FORMULAS = {
    "half_power_quotient": ("(x - y)/sqrt(x**2 + y**2 + 1)",
                            lambda r, n: {"x": r.uniform(-3, 3, n), "y": r.uniform(-3, 3, n)}),
    "rmsnorm_written": ("x/sqrt((x**2 + y**2 + z**2)/3 + 1e-6)",
                        lambda r, n: {"x": r.uniform(-3, 3, n), "y": r.uniform(-3, 3, n), "z": r.uniform(-3, 3, n)}),
    "weibull_nll": ("-log(k/l) - (k - 1)*log(x/l) + (x/l)**k", _weibull),
    "tukey": ("where(abs(r) < c, c**2/6*(1 - (1 - (r/c)**2)**3), c**2/6)",
              lambda r, n: {"c": r.uniform(0.5, 5, n), "r": r.normal(0, 3, n)}),
    "student_t_3": ("(nu + 1)/2*log(1 + (x - mu)**2/nu)",
                    lambda r, n: {"mu": r.normal(0, 3, n), "nu": _pos(r, n), "x": r.normal(0, 3, n)}),
    "student_t_4": ("(nu + 1)/2*log(1 + (x - m)**2/(nu*s**2)) + log(s)",
                    lambda r, n: {"m": r.normal(0, 3, n), "nu": _pos(r, n), "s": _pos(r, n, 0.1, 10),
                                  "x": r.normal(0, 3, n)}),
}


if __name__ == "__main__":
    _cost.main(FORMULAS, __doc__)
