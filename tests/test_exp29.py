"""Session 29 (h-exp29, issue 16: exact and stable for any formula, ≤ 4 ULP float64, ≤ 8 ULP float32, never worse
than torch): exponentials that overflow where the result is finite.

* **f·b^u, f a factor holding a variable** (an input c in c·2^x, 1/x in e^x/x), past b^u's overflow: b^u rounded
  first to inf, the product inf where it is finite. ``_exp_overflowed`` took a constant c only. Now
  ``_exp_overflowed_by`` (both backends) takes it again there as b^(u − a)·(f·b^a). Before, float64: c·2^x at
  (0.5, 1024) inf for 8.99e307; e^x/x at 709.9 inf for 2.847e305 and its ∂ NaN (inf − inf) for 2.843e305; 2^x/x at
  1024.25 inf for 2.087e305, ∂ NaN for 1.445e305; float32 c·e^x at (0.5, 89) inf for 2.24e38 (torch inf / NaN at
  each).

References: mpmath at 50 digits.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch

E = mpmath.exp
BOUND = {np.float64: 4.0, np.float32: 8.0}


def _ulps(got, want, dtype) -> float:
    """|got − want| in units of the last place of want in dtype; 0 where both are the same ±inf."""
    want = mpmath.mpf(want)
    big = float(np.finfo(dtype).max)
    w = float(want) if abs(want) <= big else float(mpmath.sign(want)) * np.inf
    got = float(got)
    if np.isinf(w) or np.isinf(got):
        return 0.0 if got == w else np.inf
    return abs(got - w) / float(np.spacing(dtype(abs(w))))


def _run(formula, backend, dtype, **inputs):
    k = compiled(formula, backend)
    arrays = {n: np.array(v, dtype) for n, v in inputs.items()}
    if backend == "triton":
        torch = triton_torch()
        return [o.numpy() for o in k(**{n: torch.from_numpy(a) for n, a in arrays.items()})]
    return k(**arrays)


# ------------------------------------------------------------------ f·b^u, f holding a variable

def _exp_over_x(x):
    return E(x) / x, E(x) / x - E(x) / x ** 2


def _exp2_over_x(x):
    p = mpmath.power(2, x)
    return p / x, mpmath.log(2) * p / x - p / x ** 2


# (formula, dtype, inputs (name → points), the exact outputs in the kernel's order at a point)
FACTOR = [
    ("c*2**x", np.float64, {"c": [0.5, 0.25, 1e-300, -0.5, 3.0, 0.5], "x": [1024.0, 1025.5, 2000.0, 1024.0, 1024.0, 5.0]},
     lambda c, x: (c * mpmath.power(2, x), mpmath.power(2, x), c * mpmath.log(2) * mpmath.power(2, x))),
    ("c*exp(x)", np.float32, {"c": [0.5, 0.125, 1e-30, -0.5, 4.0, 0.5], "x": [89.0, 90.5, 150.0, 89.0, 89.0, 3.0]},
     lambda c, x: (c * E(x), E(x), c * E(x))),
    ("exp(x)/x", np.float64, {"x": [709.9, 710.0, 712.0, 3.5]}, _exp_over_x),
    ("exp2(x)/x", np.float64, {"x": [1024.25, 1030.0, 2.5]}, _exp2_over_x),
    ("exp(x)/x", np.float32, {"x": [88.9, 90.0, 3.5]}, _exp_over_x),
]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("formula,dtype,inputs,exact", FACTOR, ids=[f"{f}-{d.__name__}" for f, d, *_ in FACTOR])
def test_an_exponential_times_a_variable_factor_past_its_overflow(backend, formula, dtype, inputs, exact):
    """Every output within the bound (or the right ±inf where the truth is past the range). Before: inf or NaN at
    each point past b^u's overflow (c·2^x at (0.5, 1024): inf for 8.99e307; e^x/x at 709.9: inf for 2.847e305, ∂
    NaN for 2.843e305; float32 c·e^x at (0.5, 89): inf for 2.24e38)."""
    got = _run(formula, backend, dtype, **inputs)
    names = list(inputs)
    with mpmath.workdps(50):
        for i in range(len(inputs[names[0]])):
            point = [mpmath.mpf(float(dtype(inputs[n][i]))) for n in names]
            for k, want in enumerate(exact(*point)):
                assert _ulps(got[k][i], want, dtype) <= BOUND[dtype], (k, point, float(got[k][i]), mpmath.nstr(want, 10))


def test_a_variable_factor_at_inf_zero_and_nan():
    """c·e^x with c = ±inf, 0, NaN past e^x's overflow: ±inf, NaN (0·inf), NaN as before (the product is taken
    again only where it is ±inf and u is past a)."""
    f = _run("c*exp(x)", "numpy", np.float64, c=[np.inf, -np.inf, 0.0, np.nan], x=[710.0] * 4)[0]
    assert f[0] == np.inf and f[1] == -np.inf and np.isnan(f[2]) and np.isnan(f[3]), f

