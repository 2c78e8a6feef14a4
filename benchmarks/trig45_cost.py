"""Session 45 (h-trig45): NumPy CPU time (time.process_time, 10^6 elements uniform in [−30, 30], best of 5) of the
kernels (f and ∂) of x·cos x, x·sin x, sin x − x·cos x and three common formulas, and of ∂(x·cos x) = cos x − x·sin x
alone in four forms: the plain float64 sum, the generated widened function (h-user45: double words wherever the
float64 bound is not within 3u), and a hand-written prototype of a middle tier (float64 sin and cos, the product and
the sum error-free: TwoProduct, TwoSum; double words only where that bound is not within 3u), with the fraction of
elements each tier sends on. A probe for the report, not generated code.

    PYTHONPATH=. python3 benchmarks/trig45_cost.py
    PYTHONPATH=/path/to/base python3 benchmarks/trig45_cost.py   # another tree (8d42f217: before h-user45)
"""
from __future__ import annotations


import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)
from user45_cost import table

FORMULAS = ["x*cos(x)", "x*sin(x)", "sin(x) - x*cos(x)", "sigmoid(x)", "x*y + z", "tanh(w*x + b)"]
U = 2.0 ** -53


def ulp(a):
    """An ulp of |a| from its exponent bits (the generated bound's)."""
    return np.bitwise_and(np.abs(a).view(np.int64), 0x7FF0000000000000).view(np.float64) * 2.0 ** -52 + 5e-324


def two_prod(a, b):
    p = a * b
    c = 134217729.0 * a
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def two_sum(a, b):
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def middle_tier(x, widened):
    """cos x − x·sin x: float64 cos and sin (1 ulp each), x·sin x and the sum error-free, rounded once; the bound
    ulp(cos) + |x|·ulp(sin) + u·|r| (+ second-order terms) kept within 3u·|r|; ``widened`` (gathered) elsewhere."""
    c, s = np.cos(x), np.sin(x)
    p, pe = two_prod(x, s)
    v, ve = two_sum(c, -p)
    r = v + (ve - pe)
    bound = ulp(c) + np.abs(x) * ulp(s) + U * np.abs(r) + 4 * U * U * (np.abs(p) + np.abs(v))
    redo = ~(bound <= 3 * U * np.abs(r))
    if redo.any():
        r[redo] = widened(x[redo], True, None)
    return r, np.count_nonzero(redo) / x.size


def main():
    table(FORMULAS, width=20)  # benchmarks/user45_cost.py's table of kernel times
    rng = np.random.default_rng(1)
    kernel = symnet.compile(symnet.derive("x*cos(x)"), progress=False)
    names = kernel._function.__wrapped__.__globals__ if hasattr(kernel._function, "__wrapped__") else None
    if names is None:
        names = {k: v for k, v in getattr(kernel._function, "__globals__", {}).items()}
    widened = next((v for k, v in names.items() if k.startswith("_dw_widened_") and not k.endswith("_scaled")), None)
    if widened is None:  # a tree before h-user45: x·cos x′ is not widened
        print("∂(x·cos x) is not widened in this tree")
        return
    x = rng.uniform(-30, 30, 10**6)
    block = 16384  # the generated kernel's _BLOCK

    def blockwise(fn):
        out = np.empty_like(x)
        for i in range(0, x.size, block):
            out[i:i + block] = fn(x[i:i + block])
        return out

    with np.errstate(all="ignore"):
        plain = best_of(lambda: blockwise(lambda b: np.cos(b) - b * np.sin(b))) * 1e3
        whole = best_of(lambda: blockwise(lambda b: widened(b, True))) * 1e3
        middle = best_of(lambda: blockwise(lambda b: middle_tier(b, widened)[0])) * 1e3
        r, frac = middle_tier(x, widened)
        exact = widened(x, True)
    print(f"∂(x·cos x) alone, float64, block by block: plain {plain:.1f} ms, widened (h-user45) {whole:.1f} ms, "
          f"middle tier {middle:.1f} ms ({frac:.1%} to double words); the middle tier's bits = the widened ones on "
          f"{np.mean(r == exact):.2%} of elements, max |difference| {np.max(np.abs(r - exact) / ulp(exact)):.2f} ulp")

if __name__ == "__main__":
    main()
