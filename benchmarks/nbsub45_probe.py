"""nbsub45 probe: the negative-binomial NLL at a subnormal or tiny r and the Student-t NLL where s² and (x − m)²
underflow or overflow; f and every gradient, both dtypes, against mpmath and torch autograd. Prints a table."""
import sys
import warnings

import numpy as np

sys.path.insert(0, "tests")
from test_review44 import _worst, NEGBIN, NEGBIN_NAMES  # noqa: E402
from test_user43 import STUDENT_T  # noqa: E402

F64, F32 = np.float64, np.float32


def negbin_points(n, seed, dtype, band):
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    if band == "subnormal":
        lo, hi = np.log10(float(info.smallest_subnormal)), np.log10(float(info.tiny))
    else:
        lo = np.log10(float(info.tiny))
        hi = lo + 28 if dtype is F64 else lo + 8
    r = (10.0 ** rng.uniform(lo, hi, n)).astype(dtype).astype(F64)
    r = np.where(r == 0, float(info.smallest_subnormal), r)
    k = rng.uniform(0, 5, n) * (rng.random(n) > 0.2)
    mu = 10.0 ** rng.uniform(-3, 8, n)
    return [k, mu, r]


def student_points(n, seed, dtype, band):
    rng = np.random.default_rng(seed)
    if dtype is F64:
        lo, hi = (-200, -140) if band == "small" else (140, 200)
    else:
        lo, hi = (-44, -20) if band == "small" else (20, 38)
    s = 10.0 ** rng.uniform(lo, hi, n)
    x = 10.0 ** rng.uniform(lo, hi, n) * rng.choice([-1, 1], n)
    kind = rng.integers(0, 3, n)
    m = np.where(kind == 0, 0.0, np.where(kind == 1, x * rng.uniform(-2, 2, n), rng.normal(0, 3, n)))
    nu = 10.0 ** rng.uniform(-1, 1.5, n)
    cols = [m, nu, s, x]
    return [np.asarray(c, dtype).astype(F64) for c in cols]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    which = sys.argv[2] if len(sys.argv) > 2 else "both"
    print(f"{'formula':10} {'band':10} {'dtype':8} {'output':6} {'ours':>10} {'torch':>10} {'past':>5} {'worse':>5}")
    jobs = []
    if which in ("both", "nb"):
        jobs += [("negbin", NEGBIN, NEGBIN_NAMES, negbin_points, band, 700) for band in ("subnormal", "tiny")]
    if which in ("both", "st"):
        jobs += [("student", STUDENT_T, ["m", "nu", "s", "x"], student_points, band, 120) for band in ("small", "large")]
    for name, formula, names, points, band, digits in jobs:
        for dtype in (F64, F32):
            cols = points(n, 4500 + (dtype is F32), dtype, band)
            for wrt in [None] + names:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ours, theirs, past, worse = _worst(formula, names, cols, wrt, dtype, digits=digits)
                print(f"{name:10} {band:10} {np.dtype(dtype).name:8} {str(wrt or 'f'):6} {ours:10.3g} {theirs:10.3g} "
                      f"{past:5d} {worse:5d}", flush=True)


if __name__ == "__main__":
    main()
