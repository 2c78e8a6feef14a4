"""NumPy CPU time of the cauchy-quotient rule's family (h-lor44, session 44): the Lorentzian 1/(1 + ((x − m)/g)²), the
Student-t-like (1 + (x/s)²/3)⁻², the Lorentzian written g/(g² + (x − m)²), the Cauchy-like x/(1 + (a·x)²), beside
three common formulas (sigmoid, x·y + z, a tanh layer). Value and every gradient, 1e6 elements, float64 and float32,
the least CPU time of five calls after a warm-up, each tree in its own process, one formula at a time in every tree
(benchmarks/cost39.py's side-by-side run):

    git worktree add --detach /tmp/base f976335a
    PYTHONPATH=$PWD python benchmarks/lor44.py /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("1/(1 + ((x - m)/g)**2)", "gmx"), ("(1 + (x/s)**2/3)**(-2)", "sx"), ("g/(g**2 + (x - m)**2)", "gmx"),
           ("x/(1 + (a*x)**2)", "ax")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"a": (-3, 3), "x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "b": (-2, 2), "c": (-2, 2), "v": (-2, 2),
          "w": (-2, 2), "g": (0.5, 4), "m": (-4, 4), "s": (0.5, 4)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=43, script=__file__, cache="lor44-bench-cache")
