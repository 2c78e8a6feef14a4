"""Session 46 (h-cube46): NumPy CPU time of the formulas whose printed code distributed-power-sum's factored near branch
changes (x·y/(x − y)^k for k = 2, 3, 4, 8; (x + y)/(x − y)³, common-power-sum) and of three common ones, for 10^6 elements (time.process_time, best of 5;
benchmarks/user45_cost.py's table, inputs uniform in [−30, 30]).

    PYTHONPATH=. python3 benchmarks/cube46_cost.py            # this tree
    PYTHONPATH=/path/to/other/tree python3 benchmarks/cube46_cost.py   # another (run both, compare the columns)
"""
from user45_cost import table  # benchmarks/user45_cost.py (run as a script from benchmarks/)

FORMULAS = ["x*y/(x - y)**2", "x*y/(x - y)**3", "x*y/(x - y)**4", "x*y/(x - y)**8", "(x + y)/(x - y)**3", "sigmoid(x)",
            "x*y + z",
            "tanh(w*x + b)"]

if __name__ == "__main__":
    table(FORMULAS, width=16)
