"""NumPy CPU time of the formulas session 38 made slower to make them accurate (issue 16; task h-cost39): compensated
sums (_exact_sum), softplus as a long product's factor in double words, float32 products of 3+ factors
(_float32_in_range), widen-quotients, sech²-offset, tanhshrink. 1e6 elements, float64 and float32, the least CPU time
of five calls after a warm-up (benchmarks/cpu_time.py), each tree in its own process, one formula at a time in every
tree before the next, so that the columns are measured side by side:

    git worktree add --detach /tmp/base main
    PYTHONPATH=$PWD python benchmarks/cost39.py /tmp/base $PWD      # trees: their columns, left to right
    PYTHONPATH=$PWD python benchmarks/cost39.py -k softplus /tmp/base $PWD      # the formulas holding "softplus"
"""
import json
import os
import subprocess
import sys

LAPLACE_DK = "(t - p)/b - 1/k + 2*k/(1 + k**2)"
GRU = "(1 - sigmoid(a*x + b*h))*h + sigmoid(a*x + b*h)*tanh(c*x + d*h)"
CASES = [("x - y + 1", "xy"), ("x*y - x + y", "xy"), ("elu(x, 0.5)/log(exp(x) + exp(x))", "x"),
         ("softplus(x/y)**-2", "xy"), ("mish(x/y)**-2", "xy"), ("x*y/z", "xyz"), ("x/(y*z)", "xyz"),
         ("1/x - 1/y", "xy"), (LAPLACE_DK, "bkpt"), ("tanh(c*x + d*h) - h", "cdhx"), (GRU, "abcdhx")]
RANGES = {"x": (-4, 4), "y": (0.5, 4), "z": (0.5, 4), "b": (0.1, 5), "k": (0.05, 20), "p": (-3, 3), "t": (-3, 3),
          "a": (-2, 2), "c": (-2, 2), "d": (-2, 2), "h": (-1.5, 1.5)}


def measure(formula, names, n=10 ** 6, repeat=5, ranges=RANGES, seed=39):
    """{dtype: least CPU ms} of one formula's kernel (value and gradients) in the tree on sys.path, its inputs
    uniform in ``ranges`` (benchmarks/cost40.py passes its own)."""
    import warnings

    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from cpu_time import best

    import symnet
    warnings.simplefilter("ignore")
    kernel = symnet.compile(symnet.derive(formula), progress=False, time_limit=None)
    rng = np.random.default_rng(seed)
    data = {v: rng.uniform(*ranges[v], n) for v in names}
    out = {}
    for dtype in (np.float64, np.float32):
        args = {v: data[v].astype(dtype) for v in names}
        out[np.dtype(dtype).name] = 1e3 * best(lambda: kernel(**args), repeat)
    return out


def main(trees, only=None, cases=CASES, script=__file__, cache="cost39-bench-cache"):
    """Each formula of ``cases`` measured in each tree in turn (``script --worker`` in a process of its own), a row a
    dtype; ``only``: the formulas holding it."""
    print(f"{'formula':40s} {'dtype':8s} " + " ".join(f"{os.path.basename(t.rstrip('/'))[:12]:>12s}" for t in trees)
          + "   ratio last/first")
    for formula, names in cases:
        if only is not None and only not in formula:
            continue
        rows = []
        for tree in trees:
            env = dict(os.environ, PYTHONPATH=tree,
                       SYMNET_CACHE=os.path.join("/tmp", cache, os.path.basename(tree.rstrip("/"))))
            done = subprocess.run([sys.executable, os.path.abspath(script), "--worker", formula, names], env=env,
                                  capture_output=True, text=True, cwd=tree)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
        for dtype in ("float64", "float32"):
            ms = [r[dtype] if r else float("nan") for r in rows]
            print(f"{formula[:40]:40s} {dtype:8s} " + " ".join(f"{m:12.1f}" for m in ms)
                  + f"   {ms[-1] / ms[0]:.2f}", flush=True)


def command_line(argv, cases=CASES, ranges=RANGES, seed=39, script=__file__, cache="cost39-bench-cache"):
    """The command line of this script and of the cost scripts built on it (cost40, cost41, sum41): ``TREE …`` (the
    side-by-side run), ``-k TEXT TREE …`` (the formulas holding TEXT only), ``--worker FORMULA NAMES`` (one tree's
    measurement, printed as JSON)."""
    if argv[:1] == ["--worker"]:
        print(json.dumps(measure(argv[1], argv[2], ranges=ranges, seed=seed)))
    elif argv[:1] == ["-k"]:
        main(argv[2:], argv[1], cases=cases, script=script, cache=cache)
    else:
        main(argv, cases=cases, script=script, cache=cache)


if __name__ == "__main__":
    command_line(sys.argv[1:])
