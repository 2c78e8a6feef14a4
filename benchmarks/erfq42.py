"""NumPy CPU time of the formula h-erfq42 changed (erf(x/y) − z: ∂y's c·e^(−(x/y)²)·x/y² widened whole, the
gaussian-quotient-product rule), beside three common ones (sigmoid, x·y + z, a tanh layer: their printed code is
byte-identical). 1e6 elements, float64 and float32, the least CPU time of five calls after a warm-up
(benchmarks/cpu_time.py), value and every gradient; each tree in its own process, side by side:

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base
    PYTHONPATH=$PWD python benchmarks/erfq42.py /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("erf(x/y) - z", "xyz")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"x": (-4, 4), "y": (0.3, 3), "z": (-1, 1), "b": (0.5, 4), "c": (-2, 2), "v": (-2, 2), "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=42, script=__file__, cache="erfq42-bench-cache")
