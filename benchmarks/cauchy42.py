"""NumPy CPU time of the Cauchy-like x/(1 + (a·x)²) (value and gradients; its ∂a the rational-product rule's) inside
the rule's old guard 2^±80 and past it, where h-cauchy42's scaled double words (each input in [1/2, 1)) take ∂a,
beside three common formulas (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the least CPU time
of five calls after a warm-up, each tree in its own process, one formula at a time in every tree (benchmarks/cost39.py's
side-by-side run):

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base
    PYTHONPATH=$PWD python benchmarks/cauchy42.py /tmp/base $PWD      # trees: their columns, left to right

The past-the-guard case is the same formula in other letters, q/(1 + (p·q)²), so that its inputs take their own
ranges: p in [1e30, 1e40], q in [−1e−35, −1e−45] (p·q about −1e−5 … −1e5, every element past 2^±80: a float32
kernel's inputs overflow and underflow there, its column measures that). The ratio column is the last tree over the
first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("x/(1 + (a*x)**2)", "ax"), ("q/(1 + (p*q)**2)", "pq")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"a": (-3, 3), "x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "b": (-2, 2), "c": (-2, 2), "v": (-2, 2),
          "w": (-2, 2), "p": (1e30, 1e40), "q": (-1e-35, -1e-45)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=42, script=__file__, cache="cauchy42-bench-cache")
