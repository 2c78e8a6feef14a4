"""Accuracy of the cauchy-quotient rule's family (h-lor44, session 44) in one tree: the Lorentzian 1/(1 + ((x − m)/g)²),
the Student-t-like (1 + (x/s)²/3)⁻², the Lorentzian written g/(g² + (x − m)²); each output at 300 points (each input
log-uniform in ±[1e−3, 1e3], "far": ±2^[−90, 90]; tests/test_cauchy43.py's _family_rows), float64 and float32: the
worst ULP, and at how many points worse than max(torch, 1) or past the bound (4 / 8 ULP); torch autograd's worst at
the same points. mpmath at 50 digits is the truth.

    PYTHONPATH=/tmp/base python benchmarks/lor44_probe.py       # a tree's numbers (its tests/ helpers)
"""
import os
import sys
import warnings

tree = os.environ.get("PYTHONPATH", ".").split(os.pathsep)[0]
sys.path.insert(0, os.path.join(tree, "tests"))
os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402

import test_cauchy43 as c43  # noqa: E402
from test_hyp32 import BOUND, F32, F64  # noqa: E402

FORMULAS = {"1/(1 + ((x - m)/g)**2)": None, "(1 + (x/s)**2/3)**(-2)": None,
            "g/(g**2 + (x - m)**2)": lambda torch, g, m, x: g / (g ** 2 + (x - m) ** 2)}

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    print(f"# tree {tree}")
    print(f"{'formula':28s} {'dtype':8s} {'output':6s} {'n':>4s} {'worst':>7s} {'worse':>5s} {'past':>5s} {'torch':>7s}")
    for formula, spelling in FORMULAS.items():
        if spelling is not None:
            c43._FAMILY[formula] = spelling
        for dtype, far in ((F64, False), (F32, False), (F64, True)):
            rows = c43._family_rows(formula, dtype, far, 300)
            for output, r in rows.items():
                worst = max(u for u, _ in r)
                worse = sum(u > max(t, 1.0) for u, t in r)
                past = sum(u > BOUND[dtype] for u, _ in r)
                name = np.dtype(dtype).name + ("-far" if far else "")
                print(f"{formula[:28]:28s} {name:8s} {output[3:] or 'f':6s} {len(r):4d} {worst:7.2f} {worse:5d} "
                      f"{past:5d} {max(t for _, t in r):7.2f}", flush=True)
