"""NumPy CPU time of the softmax-weights rule (session 43, h-temp43): each formula compiled with the rule and without
it (the rule taken out of symnet.codegen.rewrite.RULES, in a separate process with its own kernel cache), 1e6
elements, time.process_time, best of 5; and whether the printed module is the same text.

    python benchmarks/temp43_cost.py
"""
import json
import os
import subprocess
import sys
import tempfile

FORMULAS = {
    "cross-entropy with T": ("-log(exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T)))", ("T", "a", "b", "c")),
    "sigmoid": ("sigmoid(x)", ("x",)),
    "x*y + z": ("x*y + z", ("x", "y", "z")),
    "tanh layer": ("tanh(w*x + b)", ("w", "x", "b")),
}

CHILD = r"""
import json, sys, time
import numpy as np
if sys.argv[1] == "without":
    import symnet.codegen.rewrite as rw
    rw.RULES = tuple(r for r in rw.RULES if r.name != "softmax-weights")
import symnet
formula, names, dtype = json.loads(sys.argv[2])
fn = symnet.compile(symnet.derive(formula), progress=False)
rng = np.random.default_rng(0)
cols = {n: rng.uniform(0.5, 2.0, 1_000_000).astype(dtype) for n in names}
best = float("inf")
for _ in range(5):
    t = time.process_time()
    fn(**cols)
    best = min(best, time.process_time() - t)
print(json.dumps([best, fn.source]))
"""


def _run(which, formula, names, dtype):
    env = dict(os.environ, SYMNET_CACHE=tempfile.mkdtemp(prefix="temp43_" + which))
    out = subprocess.run([sys.executable, "-c", CHILD, which, json.dumps([formula, names, dtype])],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.splitlines()[-1])


def main():
    print(f"{'formula':24} {'dtype':8} {'without s':>10} {'with s':>8} {'ratio':>6}  same text")
    for label, (formula, names) in FORMULAS.items():
        for dtype in ("float64", "float32"):
            t0, src0 = _run("without", formula, names, dtype)
            t1, src1 = _run("with", formula, names, dtype)
            print(f"{label:24} {dtype:8} {t0:10.3f} {t1:8.3f} {t1 / t0:6.2f}  {src0 == src1}")


if __name__ == "__main__":
    main()
