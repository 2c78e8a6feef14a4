"""NumPy CPU time of the formulas sessions 38–39 made slower to make them accurate, beside ten common formulas
(issue 16; task h-cost40). 1e6 elements, float64 and float32, the least CPU time of five calls after a warm-up
(benchmarks/cpu_time.py), value and every gradient; each tree in its own process, one formula at a time in every tree
before the next, so that the columns are measured side by side:

    git worktree add --detach /tmp/pre38 d2ad8564      # the last commit before session 38's merges
    git worktree add --detach /tmp/base main
    PYTHONPATH=$PWD python benchmarks/cost40.py /tmp/pre38 /tmp/base $PWD       # trees: their columns, left to right
    PYTHONPATH=$PWD python benchmarks/cost40.py -k softplus /tmp/base $PWD      # the formulas holding "softplus"

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

MLP = "w*tanh(v*x + b) + c"                                   # a 2-layer MLP; its ∂x among the gradients
LOG_SOFTMAX3 = "x - log(exp(x) + exp(y) + exp(z))"           # log-softmax of 3, written out
PRODUCT6 = "a*b*c*exp(-x**2)*sigmoid(y)*tanh(y)"             # a product of 3+ factors taken again by exponents
SLOW = [("softplus(x/y)**-2", "xy"), ("tanh(x) - y", "xy"), ("tanh(c*x + d*h) - h", "cdhx"),
        ("x - tanh(x)", "x"), ("x - y + 1", "xy"), ("(x*y)**2 - y", "xy"), (PRODUCT6, "abcxy"),
        ("(y**x)**3", "xy"), ("y**(3*x + 1)", "xy")]
COMMON = [("sigmoid(x)", "x"), ("softplus(x)", "x"), ("tanh(x)", "x"), ("mse(x, y)", "xy"),
          ("bce_logits(x, t)", "tx"), ("x*y + z", "xyz"), (MLP, "bcvwx"), (LOG_SOFTMAX3, "xyz")]
CASES = SLOW + COMMON
RANGES = {"x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "t": (0, 1), "a": (-2, 2), "b": (-2, 2), "c": (-2, 2),
          "d": (-2, 2), "h": (-1.5, 1.5), "v": (-2, 2), "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=40, script=__file__, cache="cost40-bench-cache")
