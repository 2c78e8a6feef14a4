"""NumPy CPU time of the formulas h-cost43 changed (the two-term compensated sum's double words: a pair's product
e^(x − m)·e^(y − m) is its one exponential E, its sum 1 + E by one TwoSum) — the written two-term softmax, log-softmax
and log(e^a + e^b) — and of three common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the
least CPU time of five calls after a warm-up (benchmarks/cpu_time.py), value and every gradient; each tree in its own
process, side by side (benchmarks/cost39.py's run; soft42.py's formulas, inputs and seed):

    mkdir /tmp/pre && git archive f2c235bd^1 | tar -x -C /tmp/pre      # before h-soft42
    mkdir /tmp/base && git archive c9775006 | tar -x -C /tmp/base      # before h-cost43
    PYTHONPATH=$PWD python benchmarks/cost43.py /tmp/pre /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first (benchmarks/results/cost43.txt).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)
import soft42  # noqa: E402  (the same formulas, inputs and seed)

if __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over soft42.py's formulas
    cost39.command_line(sys.argv[1:], cases=soft42.CASES, ranges=soft42.RANGES, seed=42, script=__file__,
                        cache="cost43-bench-cache")
