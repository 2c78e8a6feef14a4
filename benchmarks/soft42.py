"""NumPy CPU time of the formulas h-soft42 changed (the compensated-sum rule on two terms: the written two-term
softmax and log-softmax, and log(e^x + e^y), whose gradients are that softmax: the float64 block computed again in
double words, a float32 block in float64) and of three common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements,
float64 and float32, the least CPU time of five calls after a warm-up (benchmarks/cpu_time.py), value and every
gradient; each tree in its own process, side by side (benchmarks/cost39.py's run):

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base
    PYTHONPATH=$PWD python benchmarks/soft42.py /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("exp(a)/(exp(a) + exp(b))", "ab"), ("a - log(exp(a) + exp(b))", "ab"), ("log(exp(a) + exp(b))", "ab")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"a": (-30, 30), "b": (-2, 2), "x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "c": (-2, 2), "v": (-2, 2),
          "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=42, script=__file__, cache="soft42-bench-cache")
