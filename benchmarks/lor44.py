"""NumPy CPU time of the cauchy-quotient rule's family (h-lor44, session 44): the Lorentzian 1/(1 + ((x − m)/g)²), the
Student-t-like (1 + (x/s)²/3)⁻², the Lorentzian written g/(g² + (x − m)²), the Cauchy-like x/(1 + (a·x)²), beside
three common formulas (sigmoid, x·y + z, a tanh layer). Value and every gradient, 1e6 elements, float64 and float32.

    git worktree add --detach /tmp/base f976335a
    PYTHONPATH=$PWD python benchmarks/lor44.py /tmp/base $PWD               # cost39's run: each tree in its process
    PYTHONPATH=$PWD python benchmarks/lor44.py --interleaved /tmp/base $PWD # each tree's module in this process

--interleaved: each tree prints its generated NumPy module (symnet.compile(...).source, in a process of its own); this
process runs the modules in turn, call by call (one call of each, seven rounds after a warm-up), and keeps each one's
least CPU time (time.process_time): a loaded box's noise falls on every column alike. The modules are symnet's own
generated text (numpy alone). The ratio column is the last tree over the first.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost39  # noqa: E402  (its measure and side-by-side run)

TANH_LAYER = "w*tanh(v*x + b) + c"
CHANGED = [("1/(1 + ((x - m)/g)**2)", "gmx"), ("(1 + (x/s)**2/3)**(-2)", "sx"), ("g/(g**2 + (x - m)**2)", "gmx"),
           ("x/(1 + (a*x)**2)", "ax")]
COMMON = [("sigmoid(x)", "x"), ("x*y + z", "xyz"), (TANH_LAYER, "bcvwx")]
CASES = CHANGED + COMMON
RANGES = {"a": (-3, 3), "x": (-4, 4), "y": (0.5, 4), "z": (-4, 4), "b": (-2, 2), "c": (-2, 2), "v": (-2, 2),
          "w": (-2, 2), "g": (0.5, 4), "m": (-4, 4), "s": (0.5, 4)}
ROUNDS = 7


def _source(tree, formula):
    """The NumPy module symnet in ``tree`` generates for ``formula`` (value and gradients), from a process of its own."""
    code = ("import sys, symnet; k = symnet.compile(symnet.derive(sys.argv[1]), progress=False, time_limit=None); "
            "sys.stdout.write(k.source)")
    env = dict(os.environ, PYTHONPATH=tree,
               SYMNET_CACHE=os.path.join("/tmp", "lor44-bench-cache", os.path.basename(tree.rstrip("/"))))
    return subprocess.run([sys.executable, "-c", code, formula], env=env, capture_output=True, text=True, cwd=tree,
                          check=True).stdout


def interleaved(trees, only=None):
    import numpy as np

    print(f"{'formula':40s} {'dtype':8s} " + " ".join(f"{os.path.basename(t.rstrip('/'))[:12]:>12s}" for t in trees)
          + "   ratio last/first")
    for formula, names in CASES:
        if only is not None and only not in formula:
            continue
        kernels = []
        for tree in trees:
            namespace = {}
            exec(compile(_source(tree, formula), f"<{tree}>", "exec"), namespace)  # symnet's generated module
            kernels.append(namespace["kernel"])
        rng = np.random.default_rng(43)
        data = {v: rng.uniform(*RANGES[v], 10 ** 6) for v in names}
        for dtype in (np.float64, np.float32):
            args = {v: data[v].astype(dtype) for v in names}
            best = [float("inf")] * len(kernels)
            for k in kernels:
                k(**args)  # warm-up
            for _ in range(ROUNDS):
                for i, k in enumerate(kernels):
                    t = time.process_time()
                    k(**args)
                    best[i] = min(best[i], time.process_time() - t)
            print(f"{formula[:40]:40s} {np.dtype(dtype).name:8s} " + " ".join(f"{1e3 * b:12.1f}" for b in best)
                  + f"   {best[-1] / best[0]:.2f}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--interleaved"]:
        rest = sys.argv[2:]
        if rest[:1] == ["-k"]:
            interleaved(rest[2:], rest[1])
        else:
            interleaved(rest)
    else:  # benchmarks/cost39.py's side-by-side run over this file's formulas
        cost39.command_line(sys.argv[1:], cases=CASES, ranges=RANGES, seed=43, script=__file__,
                            cache="lor44-bench-cache")
