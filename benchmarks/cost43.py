"""NumPy CPU time of the formulas h-cost43 changed (the two-term compensated sum's double words: a pair's product
e^(x − m)·e^(y − m) is its one exponential E, its sum 1 + E by one TwoSum) — the written two-term softmax, log-softmax
and log(e^a + e^b) — and of three common ones (sigmoid, x·y + z, a tanh layer). 1e6 elements, float64 and float32, the
least CPU time of five calls after a warm-up (benchmarks/cpu_time.py), value and every gradient; each tree in its own
process, side by side (benchmarks/cost39.py's run; soft42.py's formulas, inputs and seed):

    mkdir /tmp/pre && git archive f2c235bd^1 | tar -x -C /tmp/pre      # before h-soft42
    mkdir /tmp/base && git archive c9775006 | tar -x -C /tmp/base      # before h-cost43
    PYTHONPATH=$PWD python benchmarks/cost43.py /tmp/pre /tmp/base $PWD      # trees: their columns, left to right

The ratio column is the last tree over the first (benchmarks/results/cost43.txt). On a shared box the columns of one
row are minutes apart; ``--in-process`` measures the three changed formulas in one process instead, this tree's module
beside the one printed without h-cost43's two changes (patched out, under another name), in turns (old, new, old,
new, …), best of 5 calls each time, the least of the turns:

    PYTHONPATH=$PWD python benchmarks/cost43.py --in-process
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)
import soft42  # noqa: E402  (the same formulas, inputs and seed)



def in_process(turns=4, n=10 ** 6):
    """The three changed formulas, before and after, in one process (the module docstring): a row a dtype."""
    import warnings

    import numpy as np

    import symnet
    import symnet.codegen.doubleword as doubleword
    from cpu_time import best

    warnings.simplefilter("ignore")
    print(f"{'formula':40s} {'dtype':8s} {'before':>10s} {'cost43':>10s}   ratio")
    for formula, names in soft42.CHANGED:
        derived = symnet.derive(formula)
        new = symnet.compile(derived, progress=False, time_limit=None)
        pair_identity, pair_log_terms = doubleword._Emitter._pair_identity, doubleword._pair_log_terms
        doubleword._Emitter._pair_identity = lambda self, a, b: None
        doubleword._pair_log_terms = lambda assignments, results: None
        try:
            old = symnet.compile(derived, progress=False, time_limit=None, name="cost43_before")
        finally:
            doubleword._Emitter._pair_identity, doubleword._pair_log_terms = pair_identity, pair_log_terms
        rng = np.random.default_rng(42)
        data = {v: rng.uniform(*soft42.RANGES[v], n) for v in names}
        for dtype in (np.float64, np.float32):
            args = {v: data[v].astype(dtype) for v in names}
            ms = {"old": [], "new": []}
            for _ in range(turns):
                for which, kernel in (("old", old), ("new", new)):
                    ms[which].append(1e3 * best(lambda: kernel(**args), 5))
            before, after = min(ms["old"]), min(ms["new"])
            print(f"{formula:40s} {np.dtype(dtype).name:8s} {before:10.1f} {after:10.1f}   {after / before:.2f}",
                  flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["--in-process"]:
    in_process()
elif __name__ == "__main__":  # benchmarks/cost39.py's side-by-side run over soft42.py's formulas
    cost39.command_line(sys.argv[1:], cases=soft42.CASES, ranges=soft42.RANGES, seed=42, script=__file__,
                        cache="cost43-bench-cache")
