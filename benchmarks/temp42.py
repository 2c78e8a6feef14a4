"""NumPy CPU time of the formula h-temp42's softmax-entropy and softmax-pair rules change (a smooth max with temperature
T·log(e^(a/T) + e^(b/T)): its ∂T as the widened entropy softplus(−u) + u·σ(−u), u = |a/T − b/T|; its ∂a, ∂b as
σ(±(a/T − b/T))), beside three common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the
least CPU time of five calls after a warm-up (benchmarks/cpu_time.py), value and every gradient; each tree in its own
process (benchmarks/cost39.py):

    git worktree add --detach /tmp/base main
    PYTHONPATH=$PWD python benchmarks/temp42.py /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)
from cost41 import COMMON  # noqa: E402

CHANGED = [("T*log(exp(p/T) + exp(q/T))", "Tpq")]
CASES = CHANGED + COMMON
RANGES = {"T": (0.01, 2), "p": (-10, 10), "q": (-10, 10), "b": (-2, 2), "x": (-4, 4), "y": (0.5, 4), "z": (-4, 4),
          "c": (-2, 2), "v": (-2, 2), "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=42, script=__file__, cache="temp42-bench-cache")
