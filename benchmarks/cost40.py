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
import json
import os
import subprocess
import sys

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


def measure(formula, names, n=10 ** 6, repeat=5):
    """{dtype: least CPU ms} of one formula's kernel (value and gradients) in the tree on sys.path."""
    import warnings

    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from cpu_time import best

    import symnet
    warnings.simplefilter("ignore")
    kernel = symnet.compile(symnet.derive(formula), progress=False, time_limit=None)
    rng = np.random.default_rng(40)
    data = {v: rng.uniform(*RANGES[v], n) for v in names}
    out = {}
    for dtype in (np.float64, np.float32):
        args = {v: data[v].astype(dtype) for v in names}
        out[np.dtype(dtype).name] = 1e3 * best(lambda: kernel(**args), repeat)
    return out


def main(trees, only=None):
    print(f"{'formula':40s} {'dtype':8s} " + " ".join(f"{os.path.basename(t.rstrip('/'))[:12]:>12s}" for t in trees)
          + "   ratio last/first")
    for formula, names in CASES:
        if only is not None and only not in formula:
            continue
        rows = []
        for tree in trees:
            env = dict(os.environ, PYTHONPATH=tree,
                       SYMNET_CACHE=os.path.join("/tmp", "cost40-bench-cache", os.path.basename(tree.rstrip("/"))))
            done = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", formula, names], env=env,
                                  capture_output=True, text=True, cwd=tree)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None)
            if done.returncode:
                print(done.stderr[-2000:], file=sys.stderr)
        for dtype in ("float64", "float32"):
            ms = [r[dtype] if r else float("nan") for r in rows]
            print(f"{formula[:40]:40s} {dtype:8s} " + " ".join(f"{m:12.1f}" for m in ms)
                  + f"   {ms[-1] / ms[0]:.2f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
    elif sys.argv[1:2] == ["-k"]:  # -k TEXT: the formulas holding TEXT only
        main(sys.argv[3:], sys.argv[2])
    else:
        main(sys.argv[1:])
