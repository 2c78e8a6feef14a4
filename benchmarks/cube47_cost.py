"""Session 47 (h-cube47): NumPy CPU time of the generated kernels whose printed code common-power-sum's polynomial
factors and distributed-power-sum's far branch change, another tree's and this one's timed in turn in one process
(10^6 elements, time.process_time, best of 5; inputs x uniform in ±[1, 10], y = −2x − 3 scaled by 1 + δ, δ uniform
in [−0.5, 0.5]: near the roots, where the near branch is taken (y/(1 − x·y): y = (1/x)(1 + δ)); and a far set, x = ±10^[−300, 300], y = ±0 at half
the elements, for the three formulas whose far branch changed).

    PYTHONPATH=. python3 benchmarks/cube47_cost.py /path/to/other/tree   # ratios this tree / the other

Each tree's generated source is made in a subprocess with PYTHONPATH set to that tree (its own rules), then both are
executed here, so the timings share one process and one state of the box.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np

from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)

FORMULAS = ["x*y/(x - y)**3", "(x + y)/(x - y)**3", "x*y/(x - y)**4", "(x + 1)/(x - y)**3", "(x + 1)/(x - y)**2",
            "(x**2 + 1)/(x - y)**4", "(x + 2*y + 1)/(x - y)**3", "y/(1 - x*y)", "sigmoid(x)", "x*y + z"]
# the far set (mostly the far branches' elements, 10× the time) only where the far branch changed
FAR = {"x*y/(x - y)**4", "(x + 1)/(x - y)**3", "y/(1 - x*y)"}

_SOURCE = "import json, sys, symnet; print(json.dumps([symnet.compile(symnet.derive(f), progress=False).source " \
          "for f in json.loads(sys.argv[1])]))"


def sources(tree):
    """The generated NumPy module of each formula, by the symnet of ``tree``."""
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", _SOURCE, json.dumps(FORMULAS)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def function(source):
    namespace: dict = {}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace["kernel"]


def inputs(formula, far, rng, n=10**6):
    names = sorted({c for c in formula if c in "xyz"})
    if far:
        x = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-300, 300, n)
        y = np.where(rng.random(n) < 0.5, 0.0, rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-300, 300, n))
    else:
        x = rng.choice([-1.0, 1.0], n) * rng.uniform(1, 10, n)
        y = (-2 * x - 3) * (1 + rng.uniform(-0.5, 0.5, n))
        if formula == "y/(1 - x*y)":  # (near its pole x·y = 1, where the widened form is taken)
            y = (1 / x) * (1 + rng.uniform(-0.5, 0.5, n))
    values = {"x": x, "y": y, "z": rng.uniform(-30, 30, n)}
    return [values[v] for v in names]


def main(other):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    theirs, ours = sources(other), sources(here)
    rng = np.random.default_rng(47)
    print(f"this tree {here} / other {other}: NumPy, 10^6 elements, CPU ms best of 5 (a shared box)")
    print(f"{'formula':<26} {'set':<5} {'other ms':>9} {'this ms':>9} {'ratio':>6}")
    for formula, a, b in zip(FORMULAS, theirs, ours):
        before, after = function(a), function(b)
        for far in (False, True) if formula in FAR else (False,):
            args = inputs(formula, far, rng)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                t0 = best_of(lambda: before(*args))  # in turn: each best of 5
                t1 = best_of(lambda: after(*args))
            print(f"{formula:<26} {'far' if far else 'near':<5} {t0 * 1e3:>9.1f} {t1 * 1e3:>9.1f} {t1 / t0:>6.2f}",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
