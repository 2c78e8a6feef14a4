"""NumPy CPU time of the formulas h-hyp42 changed (squareplus with an input b: the conjugate form where x² overflows;
the RMS form with a written ε: the hypot rule's sum of squares with a number beside them; s·asinh(x/s): the
scaled-asinh rule; √(x² + y²)·z and z/√(x² + y²): the scaled sum of squares' power times an input), beside three
common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the least CPU time of five calls after
a warm-up (benchmarks/cpu_time.py), value and every gradient; each tree in its own process, side by side:

    mkdir /tmp/base && git archive main | tar -x -C /tmp/base
    PYTHONPATH=$PWD python benchmarks/hyp42.py /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("(x + sqrt(x**2 + b))/2", "bx"), ("x/sqrt((x**2 + y**2)/2 + 1e-6)", "xy"), ("s*asinh(x/s)", "sx"),
           ("sqrt(x**2 + y**2)*z", "xyz"), ("z/sqrt(x**2 + y**2)", "xyz")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "b": (0.5, 4), "c": (-2, 2), "s": (0.5, 4), "v": (-2, 2),
          "w": (-2, 2)}


if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over this file's formulas
    cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=42, script=__file__, cache="hyp42-bench-cache")
