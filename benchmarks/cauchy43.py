"""NumPy CPU time of the Cauchy-like x/(1 + (a·x)²) (value and gradients; its value h-cauchy43's cauchy-quotient rule's,
its ∂x past widen-quotients' guard the scaled double words) inside the guards and past them, the Lorentzian
1/(1 + ((x − m)/g)²) and the Student-t-like (1 + (x/s)²/3)⁻² (the cauchy-quotient rule's too), beside three common
formulas (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the least CPU time of five calls after a
warm-up, each tree in its own process, one formula at a time in every tree (benchmarks/cost39.py's side-by-side run):

    git worktree add --detach /tmp/base c9775006
    PYTHONPATH=$PWD python benchmarks/cauchy43.py /tmp/base $PWD      # trees: their columns, left to right

The past-the-guard case is the same formula in other letters, q/(1 + (p·q)²), so that its inputs take their own
ranges: p in [1e250, 1e260], q in [−1e−250, −1e−260] (p² past the range: every element past widen-quotients' guard
and the cauchy-quotient rule's 2^±192; a float32 kernel's inputs overflow and underflow there, its column measures
that). The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("x/(1 + (a*x)**2)", "ax"), ("q/(1 + (p*q)**2)", "pq"), ("1/(1 + ((x - m)/g)**2)", "gmx"),
           ("(1 + (x/s)**2/3)**(-2)", "sx")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"a": (-3, 3), "x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "b": (-2, 2), "c": (-2, 2), "v": (-2, 2),
          "w": (-2, 2), "p": (1e250, 1e260), "q": (-1e-250, -1e-260), "g": (0.5, 4), "m": (-4, 4),
          "s": (0.5, 4)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=43, script=__file__, cache="cauchy43-bench-cache")
