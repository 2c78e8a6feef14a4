"""h-search36 (issue 16): faults found by benchmarks/compositions36.py (random compositions of two inputs in new shapes:
quotients of two compositions and their powers, sums whose terms cancel, functions of x/y and x·y, clamp with input
bounds; seed 36), each fixed or recorded at the point the search found and over its neighbourhood, against mpmath at
60 digits and torch autograd in float64 (benchmarks/results/compositions36-2026-12-05.md):

- a product of powers held in temporaries (CSE's x⁻³ and y⁻³) was no product by exponents: f = (x·y)⁻³, SymPy's
  x⁻³·y⁻³, NaN (0·inf) at (−3e38, −1.4e−45) in float32 for 1.35e19 (torch 0.13 ULP); and a product by exponents
  NaN as computed (inf/inf) kept its NaN where the product by exponents is ±inf (∂y there: NaN for 2.9e64, torch inf).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from test_hyp32 import BOUND, F32, F64, _kernel, _sixty_digits, _worst  # noqa: F401  (its machinery, fixture too)


# ------------------------------------------------------------------ a product of held powers, by exponents

def _far_pairs(n, dtype, seed):
    """(x, y) with x far (x³ leaves the range) and x·y moderate (10^±3, float32 10^±2), both signs."""
    rng = np.random.default_rng(seed)
    if dtype is F32:
        x, p = 10 ** rng.uniform(13, 38.5, n), 10 ** rng.uniform(-2, 2, n)
    else:
        x, p = 10 ** rng.uniform(103, 308.2, n), 10 ** rng.uniform(-3, 3, n)
    x = x * rng.choice([-1, 1], n)
    y = p / x * rng.choice([-1, 1], n)
    if rng.random() < 2:  # half the points the other way round: x tiny, y far
        x[: n // 2], y[: n // 2] = y[: n // 2].copy(), x[: n // 2].copy()
    x, y = x.astype(dtype), y.astype(dtype)
    keep = (x != 0) & (y != 0) & np.isfinite(x) & np.isfinite(y)
    xs = np.append(x[keep], dtype(-3.0000000054977558e+38) if dtype is F32 else -1e300)
    ys = np.append(y[keep], dtype(-1.401298464324817e-45) if dtype is F32 else -1e-300)
    return xs, ys


def _power_of_product(a, b):
    def truth(x, y):
        f = x ** a * y ** b
        return [f, a * f / x, b * f / y]
    return truth


# (x·y)^n and its neighbouring forms (the exponents unequal, a quotient, a constant)
_HELD_POWERS = [
    ("((x)*(y))**(-3)", -3, -3, 1),
    ("((x)*(y))**(-2)", -2, -2, 1),
    ("((y)*(x))**(-4)", -4, -4, 1),
    ("1/(((x)**2)*((y)**3))", -2, -3, 1),
    ("3/((x)*(y))**3", -3, -3, 3),
]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("formula, a, b, c", _HELD_POWERS, ids=[h[0] for h in _HELD_POWERS])
def test_product_of_held_negative_powers_by_exponents(formula, a, b, c, dtype):
    # before: f of (x·y)⁻³ NaN at (−3e38, −1.4e−45) in float32 for 1.35e19 (torch 0.13 ULP), ∂y NaN for 2.9e64 (torch
    # inf); numbers over 200 points of each form in the docstring of benchmarks/results/compositions36-2026-12-05.md
    xs, ys = _far_pairs(200, dtype, 3601)
    truth = _power_of_product(a, b)
    worst = _worst(formula, dtype, xs, ys, lambda x, y: [c * v for v in truth(x, y)])
    assert max(w[0] for w in worst) <= BOUND[dtype], worst


def test_nan_of_a_product_by_exponents_past_the_range_is_its_infinity():
    # ∂y of (x·y)⁻³ = −3/(x³·y⁴) at (−3e38, −1.4e−45) in float32: the true 2.9e64 is past float32's range; torch inf,
    # before NaN (inf/inf as computed, the product by exponents inf kept out)
    out = _kernel("((x)*(y))**(-3)")(np.array([-3.0000000054977558e+38], F32), np.array([-1.401298464324817e-45], F32))
    assert out[2][0] == np.inf and out[0][0] == np.float32(1.3459976e19)
