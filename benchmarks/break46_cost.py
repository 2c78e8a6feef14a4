"""Session 46 (h-break46): NumPy CPU time of the formulas whose printed code the widened trig products change
(x·sin x·cos x, sin x·cos x, sin² x·cos x) and sigmoid-mixture-log with σ(x) written 1 − σ(−x) and of three common ones, for 10^6 elements (time.process_time, best of 5).

    PYTHONPATH=. python3 benchmarks/break46_cost.py            # this tree
    PYTHONPATH=/path/to/other/tree python3 benchmarks/break46_cost.py   # another (run both, compare the columns)
"""
from user45_cost import table  # benchmarks/user45_cost.py (run as a script from benchmarks/)

FORMULAS = ["x*sin(x)*cos(x)", "sin(x)*cos(x)", "sin(x)**2*cos(x)", "log(1 - sigmoid(-a) + sigmoid(-a)*exp(-l))", "sigmoid(x)", "x*y + z", "tanh(w*x + b)"]

if __name__ == "__main__":
    table(FORMULAS)
