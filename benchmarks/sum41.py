"""NumPy CPU time of the formulas h-sum41 changed (a power of a rounded sum of three or more exact terms, _rounded_sum_power;
a power of log v printed in place, _rounded_log_power), beside powers that must print as before (x³, (x + y)³) and three
common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the least CPU time of five calls after
a warm-up (benchmarks/cpu_time.py), value and every gradient; each tree in its own process, side by side:

    mkdir /tmp/base && git archive main symnet | tar -x -C /tmp/base
    PYTHONPATH=$PWD python benchmarks/sum41.py /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

CHANGED = [("(x + y + z)**40", "xyz"), ("(x + y + z + w)**(-12)", "wxyz"), ("y + log(u)**64", "uy")]
SAME = [("x**3", "x"), ("(x + y)**3", "xy")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), ("w*tanh(v*x + b) + c", "bcvwx")]
CASES = CHANGED + SAME + COMMON
RANGES = {"x": (0.5, 4), "y": (-4, 4), "z": (0.5, 4), "w": (0.5, 4), "u": (1e-3, 1e3), "b": (-2, 2), "c": (-2, 2),
          "v": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=41, script=__file__, cache="sum41-bench-cache")
