"""Session 46 (h-trig46): NumPy CPU time (time.process_time, 10^6 elements uniform in [−30, 30], best of 5) of the
kernels (f and ∂) of x·cos x, x·sin x, sin x − x·cos x, x²·sin x and three common formulas (benchmarks/user45_cost.py's
table, as benchmarks/trig45_cost.py prints it), and of ∂(x·cos x) = cos x − x·sin x alone, block by block: the plain
float64 sum, the generated function the kernel calls (since h-trig46 the front, doubleword._trig_sum_front), and the
widened function alone where the tree has a front (``…_cancelling``), with the share of elements on which the
double-word sine and cosine run. A probe for the report, not generated code.

    cd benchmarks && PYTHONPATH=.. python3 trig46_cost.py
    cd benchmarks && PYTHONPATH=/path/to/base python3 trig46_cost.py   # another tree (dec905ca: before h-trig46)
"""
from __future__ import annotations

import numpy as np

import symnet
from cpu_time import best_of  # benchmarks/cpu_time.py (run as a script from benchmarks/)
from user45_cost import table

FORMULAS = ["x*cos(x)", "x*sin(x)", "sin(x) - x*cos(x)", "x**2*sin(x)", "sigmoid(x)", "x*y + z", "tanh(w*x + b)"]


def main():
    table(FORMULAS, width=20)
    kernel = symnet.compile(symnet.derive("x*cos(x)"), progress=False)
    function = kernel._function
    names = getattr(function, "__wrapped__", function).__globals__  # the generated module's names
    called = [n for n in names if n.startswith("_dw_widened_") and not n.endswith(("_scaled", "_cancelling"))]
    if not called:  # a tree before h-user45: x·cos x′ is not widened
        print("∂(x·cos x) is not widened in this tree")
        return
    widened = names[called[0]]
    inner = names.get(called[0] + "_cancelling")
    x = np.random.default_rng(1).uniform(-30, 30, 10**6)
    block = 16384  # the generated kernel's _BLOCK

    def blockwise(fn):
        out = np.empty_like(x)
        for i in range(0, x.size, block):
            out[i:i + block] = fn(x[i:i + block])
        return out

    count, shifted = [0], names["_dw_sin_shifted"]

    def counted(x_hi, x_lo, q):  # an element's double-word sine and cosine: two elements here (two calls or one)
        count[0] += np.size(x_hi) / 2
        return shifted(x_hi, x_lo, q)

    with np.errstate(all="ignore"):
        plain = best_of(lambda: blockwise(lambda b: np.cos(b) - b * np.sin(b))) * 1e3
        called_ms = best_of(lambda: blockwise(lambda b: widened(b, True))) * 1e3
        alone = best_of(lambda: blockwise(lambda b: inner(b, True))) * 1e3 if inner else None
        names["_dw_sin_shifted"] = counted
        try:
            blockwise(lambda b: widened(b, True))
        finally:
            names["_dw_sin_shifted"] = shifted
    print(f"∂(x·cos x) alone, float64, block by block: plain {plain:.1f} ms, the kernel's function "
          f"({called[0]}) {called_ms:.1f} ms" + (f", the widened function alone {alone:.1f} ms" if alone else "")
          + f"; the double-word sine on {count[0] / x.size:.1%} of the elements")


if __name__ == "__main__":
    main()
