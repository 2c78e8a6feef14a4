"""The cost of the triple words in gaussian_nll's f (h-gauss17): the NumPy float64 kernel of
gaussian_nll(x, t, v) (f and its three gradients) on ``--n`` points, CPU seconds (resource.getrusage: the
box is shared), min of ``--repeat`` runs, the two kernels interleaved, side by side:

* ``double``: this checkout's generator with the triple words switched off (doubleword._triple_worthy
  False): f's widened sum in double words, as before h-gauss17 (5.27 ULP at v = 0.0242, x − t = 0.3);
* ``triple``: the kernel this checkout generates (0.50 ULP there, tests/test_gauss17.py);

on two data sets: ``uniform`` (x, t normal, v uniform in [0.01, 3]: f's float64 bound is past 3u on 92 % of
them, so most take the double-word or triple-word path anyway) and ``cancel`` (every element within 10⁻¹² of
the crossing v = 0.0242 at x − t = 0.3).

    python benchmarks/gauss17.py [--n 1000000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import warnings
from pathlib import Path

os.environ.setdefault("SYMNET_NO_DISK_CACHE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402

import symnet  # noqa: E402
from symnet.codegen import compiler, doubleword  # noqa: E402
from symnet.registry import NUMPY_HELPERS, lookup  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _forget_widened() -> None:
    """The generated per-body functions are registered by their body's digest (the first text kept), the compiled
    functions cached by derivation: both forgotten, so that the next compile generates them again."""
    for name in [n for n in NUMPY_HELPERS if n.startswith(doubleword.GENERATED_PREFIX)]:
        del NUMPY_HELPERS[name]
    compiler._CACHE.clear()  # and the in-process cache of compiled functions


def _kernels():
    x, t, v = sp.symbols("x t v", real=True)
    d = symnet.derive(lookup("gaussian_nll")(x, t, v), [x, t, v])
    worthy = doubleword._triple_worthy
    doubleword._triple_worthy = lambda *a: False
    try:
        _forget_widened()
        double = symnet.compile(d, backend="numpy")
    finally:
        doubleword._triple_worthy = worthy
        _forget_widened()
    triple = symnet.compile(d, backend="numpy")
    assert "_tw_add(" in triple.source and "_tw_add(" not in double.source, "the two kernels are not the two sums"
    return {"double": double, "triple": triple}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    kernels = _kernels()
    rng = np.random.default_rng(0)
    n = args.n
    data = {"uniform": dict(x=rng.normal(size=n), t=rng.normal(size=n), v=rng.uniform(0.01, 3.0, n)),
            "cancel": dict(x=np.full(n, 0.3), t=np.zeros(n),
                           v=0.02417871146979806 * (1 + rng.uniform(-1e-12, 1e-12, n)))}
    best = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.repeat):
            for name, cols in data.items():
                for which, k in kernels.items():
                    start = _cpu()
                    k(**cols)
                    best[name, which] = min(best.get((name, which), np.inf), _cpu() - start)
    print(f"gaussian_nll float64 NumPy kernel, n = {n:,}, CPU seconds, min of {args.repeat} (interleaved)")
    print(f"{'data':<10}{'double':>10}{'triple':>10}{'ratio':>8}")
    for name in data:
        a, b = best[name, "double"], best[name, "triple"]
        print(f"{name:<10}{a:>10.3f}{b:>10.3f}{b / a:>7.2f}×")


if __name__ == "__main__":
    main()
