"""NumPy CPU time of the kernels whose code session 39 (h-range39) changed: plain products of three factors or more
taken again by exponents where they are not normal (ConditionalPrinting._plain_far_product), and of common formulas
meant not to change. 1e6 elements of size 0.5–2, either sign (positive under a log: ordinary inputs, nothing taken
again; with log x's NaN at half of them log(x)·y·z cost 1.45× float64, 1.32× float32), float64 and float32.

The two trees' kernels run in one process, their calls alternated (nine each, the least CPU time kept), so that the
ratio is not the machine's drift between two runs. First dump each tree's kernel sources, then compare:

    PYTHONPATH=/path/to/main python benchmarks/products39.py --dump /tmp/before
    PYTHONPATH=$PWD python benchmarks/products39.py --dump /tmp/after
    python benchmarks/products39.py --compare /tmp/before /tmp/after

Only formulas whose source differs are timed (the rest are listed as unchanged).
"""
import argparse
import inspect
import os
import time
import types
import warnings

import numpy as np

FORMULAS = ["x*y*z", "w*x + b", "tanh(w*x + b)", "sigmoid(w*x + b)", "sqrt(x**2 + y**2)*z",
            "w1*w2*w3*exp(-x**2)*sigmoid(y)*tanh(y)", "x*y*sigmoid(z)", "w*x*y*z", "x**2*y", "x*y*exp(z)",
            "x*y*z + w", "w*x*tanh(y)", "softplus(x)*y*z", "exp(-x**2)*y*z", "log(x)*y*z", "x*y*z/w",
            "w2*relu(w1*x + b1) + b2", "tanh(w3*tanh(w2*tanh(w1*x + b1) + b2) + b3)"]


def dump(folder):
    import symnet
    os.makedirs(folder, exist_ok=True)
    for i, formula in enumerate(FORMULAS):
        source = symnet.compile(symnet.derive(formula), progress=False).source
        with open(os.path.join(folder, f"{i:02d}.py"), "w") as out:
            out.write(source)


def _kernel(path):
    module = types.ModuleType("bench_" + os.path.basename(os.path.dirname(path)) + os.path.basename(path)[:-3])
    with open(path) as source:
        exec(compile(source.read(), path, "exec"), module.__dict__)
    return module.kernel


def compare(before, after, n=10 ** 6, calls=9):
    warnings.simplefilter("ignore")
    print(f"{'formula':46s} {'dtype':8s} {'before ms':>10s} {'after ms':>9s} {'ratio':>6s}")
    for i, formula in enumerate(FORMULAS):
        a, b = (os.path.join(folder, f"{i:02d}.py") for folder in (before, after))
        with open(a) as fa, open(b) as fb:
            if fa.read() == fb.read():
                print(f"{formula[:44]:46s} unchanged")
                continue
        ka, kb = _kernel(a), _kernel(b)
        names = list(inspect.signature(ka).parameters)
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(0)
            signs = (lambda: 1.0) if "log(" in formula else (lambda: rng.choice([-1, 1], n))  # (log x of x < 0: NaN,
            args = {v: (rng.uniform(0.5, 2, n) * signs()).astype(dtype) for v in names}  # every product taken again)
            times = ([], [])
            for _ in range(calls):
                for kernel, spent in zip((ka, kb), times):
                    start = time.process_time()
                    kernel(**args)
                    spent.append(time.process_time() - start)
            ta, tb = min(times[0]), min(times[1])
            print(f"{formula[:44]:46s} {np.dtype(dtype).name:8s} {1e3 * ta:10.1f} {1e3 * tb:9.1f} {tb / ta:6.2f}",
                  flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", metavar="FOLDER")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    options = parser.parse_args()
    if options.dump:
        dump(options.dump)
    if options.compare:
        compare(*options.compare)
