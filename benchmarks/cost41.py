"""NumPy CPU time of the formulas h-cost41 made cheaper (softplus(x/y)⁻²: f and its gradients share one double-word
softplus a block, _dw_softplus_parts; x − y + 1 and its kind: _exact_sum's float32 path for two terms and a constant,
one comparison), beside formulas that take the same helpers and three common ones (sigmoid, x·y + z, a tanh layer).
1e6 elements, float64 and float32, the least CPU time of five calls after a warm-up (benchmarks/cpu_time.py), value
and every gradient; each tree in its own process, one formula at a time in every tree before the next, so that the
columns are measured side by side:

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base      # (or git worktree add --detach /tmp/base main)
    PYTHONPATH=$PWD python benchmarks/cost41.py /tmp/base $PWD      # trees: their columns, left to right
    PYTHONPATH=$PWD python benchmarks/cost41.py -k softplus /tmp/base $PWD      # the formulas holding "softplus"

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("softplus(x/y)**-2", "xy"), ("x - y + 1", "xy"), ("1 - x + y**2", "xy"), ("log(2) + x - y", "xy")]
SAME_HELPERS = [("mish(x/y)**-2", "xy"), ("softplus(x) - softplus(-x)*y", "xy"), ("tanh(c*x + d*h) - h", "cdhx")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + SAME_HELPERS + COMMON
RANGES = {"x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "b": (-2, 2), "c": (-2, 2), "d": (-2, 2), "h": (-1.5, 1.5),
          "v": (-2, 2), "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=41, script=__file__, cache="cost41-bench-cache")
