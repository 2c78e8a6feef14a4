"""Session 46 (h-worse46): NumPy CPU time of the formulas whose printed code this branch changes (x·y + z's far
condition, the zero-inflated Poisson zero term with σ written out, the two log-quotient terms, log((x + y)/y) − x/(x + y)) and of three common ones,
for 10^6 elements (time.process_time, best of 5), by user45_cost.table.

    PYTHONPATH=. python3 benchmarks/worse46_cost.py            # this tree
    PYTHONPATH=/path/to/other/tree python3 benchmarks/worse46_cost.py   # another (run both, compare the columns)
"""
from __future__ import annotations

from user45_cost import table  # benchmarks/user45_cost.py (run as a script from benchmarks/)

FORMULAS = ["x*y + z", "-log(1/(1 + exp(-a)) + exp(-l)/(1 + exp(a)))",
            "log(1 + x/y) + log(1 + z/w) - x/(x + y) - z/(z + w)", "log((x + y)/y) - x/(x + y)", "sigmoid(x)",
            "tanh(w*x + b)"]


def main():
    table(FORMULAS, width=52)


if __name__ == "__main__":
    main()
