"""Session 47 (h-trig47): NumPy CPU time of the generated kernels (f and ∂x) whose printed code the trig-sum changes
reach, base tree against this one in one process, timed in turn: 10^6 float64 (and float32) elements in U(−100, 100),
time.process_time, best of 5. Each tree's kernel source comes from a subprocess with PYTHONPATH set to that tree
(symnet.compile(symnet.derive(formula)).source), then both sources are exec'd here.

    python3 benchmarks/trig47_cost.py /path/to/base/tree            # base against this tree (the cwd)
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

FORMULAS = ["x*cos(x)", "x*sin(x)", "sin(x)*cos(x)", "sin(x)*cos(x)/x", "sin(x) + x*sin(x) - 3", "sin(x) - 1/2",
            "sigmoid(x)"]

_SOURCE = ("import json, sys, symnet; print(symnet.__file__, file=sys.stderr); "
           "print(json.dumps(symnet.compile(symnet.derive(sys.argv[1])).source))")


def source(tree, formula):
    env = dict(os.environ, PYTHONPATH=tree, SYMNET_CACHE=os.path.join("/tmp", "trig47_cost_" + str(abs(hash(tree)))))
    out = subprocess.run([sys.executable, "-c", _SOURCE, formula], env=env, capture_output=True, text=True, check=True,
                         cwd=tree)  # (python -c puts the working directory first on sys.path)
    assert out.stderr.strip().splitlines()[0].startswith(tree), out.stderr  # that tree's symnet
    return json.loads(out.stdout.strip().splitlines()[-1])


def kernel(text):
    namespace = {}
    exec(compile(text, "<generated>", "exec"), namespace)
    return namespace["kernel"]


def best(fn, x, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn(x)
        times.append(time.process_time() - start)
    return min(times)


def main(base, mine):
    x64 = np.random.default_rng(47).uniform(-100, 100, 10**6)
    print(f"{'formula':26s} {'dtype':8s} {'base ms':>8s} {'this ms':>8s} {'ratio':>6s}")
    for formula in FORMULAS:
        kernels = [kernel(source(tree, formula)) for tree in (base, mine)]
        for x in (x64, x64.astype(np.float32)):
            a, b = [], []
            for _ in range(5):  # in turn: the shared box's load falls on both alike
                a.append(best(kernels[0], x, 1))
                b.append(best(kernels[1], x, 1))
            print(f"{formula:26s} {x.dtype.name:8s} {1e3 * min(a):8.1f} {1e3 * min(b):8.1f} {min(b) / min(a):6.2f}")


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "."))
