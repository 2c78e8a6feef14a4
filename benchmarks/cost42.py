"""NumPy CPU time of the slow accurate forms h-cost42 made cheaper, outputs bit-identical (y + log(x)⁶⁴: the
double-word log of a float64 value and _rounded_log_power remembered for the last call, _dw_log_remembered), beside
the other slow forms of the brief (Tukey's biweight, softplus(x/y)⁻², x − y + 1, Poly-1) and three common ones
(sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the least CPU time of five calls after a warm-up
(benchmarks/cpu_time.py), value and every gradient; each tree in its own process, one formula at a time in every tree
before the next, so that the columns are measured side by side:

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base      # (or git worktree add --detach /tmp/base main)
    PYTHONPATH=$PWD python benchmarks/cost42.py /tmp/base $PWD      # trees: their columns, left to right
    PYTHONPATH=$PWD python benchmarks/cost42.py -k log /tmp/base $PWD      # the formulas holding "log"

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TUKEY = "where(abs(r) < c, c**2/6*(1 - (1 - (r/c)**2)**3), c**2/6)"
POLY1 = "1 - t*sigmoid(z) - (1 - t)*sigmoid(-z)"
TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("y + log(x)**64", "xy"), ("log(x)**8*y", "xy")]
SLOW = [(TUKEY, "cr"), ("softplus(x/y)**-2", "xy"), ("x - y + 1", "xy"), (POLY1, "tz")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + SLOW + COMMON
RANGES = {"x": (0.1, 4), "y": (0.5, 4), "z": (-4, 4), "b": (-2, 2), "c": (0.5, 5), "r": (-3, 3), "t": (-0.5, 1.5),
          "v": (-2, 2), "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=42, script=__file__, cache="cost42-bench-cache")
