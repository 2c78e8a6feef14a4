"""NumPy CPU time of the formulas h-softcost42 changed (the two-term compensated sum's double-word block computes each
statement once: log(e^a + e^b) and a − log(e^a + e^b) took the TwoSum and the full double-word e^(min − max) twice a
float64 element) beside the written two-term softmax (its block had no statement twice: the same module) and three
common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the least CPU time of five calls after
a warm-up (benchmarks/cpu_time.py), value and every gradient; each tree in its own process, side by side
(benchmarks/cost39.py's run):

    mkdir /tmp/pre && git archive f2c235bd^1 | tar -x -C /tmp/pre      # before h-soft42
    mkdir /tmp/base && git archive 1714ea32 | tar -x -C /tmp/base      # before h-softcost42
    PYTHONPATH=$PWD python benchmarks/softcost42.py /tmp/pre /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first (benchmarks/results/softcost42.txt).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)
import soft42  # noqa: E402  (the same formulas, inputs and seed)

if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over soft42.py's formulas
    cost39.command_line(sys.argv[1:], cases=soft42.CASES, ranges=soft42.RANGES, seed=42, script=__file__,
                        cache="softcost42-bench-cache")
