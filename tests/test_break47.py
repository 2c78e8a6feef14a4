"""Session 47, helper break47: a hostile user against symnet.compile, the parser, the CLI's formulas and the rules' far
branches (extreme values, ±inf, names that collide with generated ones, odd shapes and views of symnet.torch ops).

Fixed here:
- series-common-denominator (symnet/codegen/rewrite/series.py ``_written_sum_edge``): past its series window the rule
  computed N/∏D^k everywhere; for 1/x − 1/(e^x − 1) (the Bernoulli function's reciprocal difference, the Langevin-type
  x-over-expm1 forms) that is ((e^x − 1 − x)/x)/(e^x − 1) = inf/inf, NaN, at ordinary finite inputs: from x = 709.8
  in float32 (its float64 body) and x ≈ 2,450 in float64 (the double words' scaled exponentials), ∂x from x = 354.9
  in float32 and at x < −1e268 in float64, where torch gives 1/x. Far out, where the written terms no longer cancel
  (checked at 60 digits, 16 points a binade up to 2⁸, 2 beyond, both signs), the written sum is taken again.
- conjugate (symnet/codegen/rewrite/hypot.py): √A − b (b a positive number) = (A − b²)/(√A + b) was inf/inf = NaN at
  A = +inf: √(1 + x) − 1 at x = +inf NaN in float64 and float32 (torch inf). Past A = 2¹⁰²² the rule takes √A itself
  (√A ≥ 2⁵¹¹, b < 2⁴⁰⁰: √A − b rounds to √A).

Probed and found sound (no test added, see results/break47.txt): hostile strings (dunders, lambda, imports, x**10**10,
100 nested parentheses, 20k-term sums, NUL, newlines, full-width letters), input names that are generated or library
names (np, tl, math, out, value_1, x_hi, df_dx, f and F, sig_z, exp_x, one_minus_y, tmp_1, self, ...: each kernel
bit-identical to the same formula with neutral names), symnet.torch's Formula on 0, 1, 1023 elements, 0-d, transposed,
strided, expanded, flipped, permuted, overlapping as_strided views and broadcasts (values and gradients as torch's).

References: mpmath (400 digits) of the formula as written and of SymPy's derivative of it; torch autograd at the same
points in the same dtype. Before-numbers measured on dfe9bdb8 (this branch's base) at the same points.
"""
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from symnet.parsing import FUNCTIONS

from conftest import compiled, mp_function, ulps

BOUND = {np.float64: 4.0, np.float32: 8.0}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])


def _torch_values(torch_fn, columns, dtype):
    """torch's f and autograd gradients of ``torch_fn(torch, *columns)`` in ``dtype``, as float64 arrays."""
    torch = pytest.importorskip("torch")
    kind = torch.float64 if dtype == np.float64 else torch.float32
    xs = [torch.tensor(np.asarray(c, dtype), dtype=kind, requires_grad=True) for c in columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = torch_fn(torch, *xs)
        grads = torch.autograd.grad(value.sum(), xs)
    return [value.detach().double().numpy()] + [g.double().numpy() for g in grads]


def _measure(formula, names, torch_fn, columns, dtype, digits=400):
    """Per output (f, then ∂ by each of ``names``, the kernel's inputs in order): (worst ULPs, points past the bound,
    points past it and worse than torch); mpmath at ``digits`` of SymPy's derivatives of the formula as written."""
    symbols = sp.symbols(names, real=True, seq=True)
    columns = [np.asarray(c, dtype) for c in columns]
    expr = sp.sympify(formula, locals={**FUNCTIONS, **{str(v): v for v in symbols}})
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = compiled(formula)(*columns)
    theirs = _torch_values(torch_fn, columns, dtype)
    out = []
    for e, mine, torch_ in zip([expr] + [sp.diff(expr, v) for v in symbols], got, theirs):
        f = mp_function(e, symbols)
        with mpmath.workdps(digits):
            truth = [f(*(mpmath.mpf(float(v)) for v in row)) for row in zip(*columns)]
        u = np.array([ulps(g, t, dtype) for g, t in zip(mine, truth)])
        v = np.array([ulps(g, t, dtype) for g, t in zip(torch_, truth)])
        past = ~(u <= BOUND[dtype])  # NaN counts as past
        out.append((float(np.nanmax(np.where(np.isnan(u), np.inf, u))), int(past.sum()), int((past & ~(u <= v)).sum())))
    return out


def _values(formula, columns, dtype):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return compiled(formula)(*[np.asarray(c, dtype) for c in columns])


# ---------------------------------------------------------------- series-common-denominator far out

def _far_points(seed=47):
    """x = ±U(1, 40), ±10^U(1, 4), ±10^U(4, 38) (100 each): the series window's edge, where e^x overflows (709.8,
    88.7 in float32), and far out."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.choice([-1, 1], 100) * rng.uniform(1, 40, 100),
                           rng.choice([-1, 1], 100) * 10.0 ** rng.uniform(1, 4, 100),
                           rng.choice([-1, 1], 100) * 10.0 ** rng.uniform(4, 38, 100)])


# measured before (dfe9bdb8), these 300 points (worst ULPs / past the bound / past it and worse than torch):
#   f   float64 inf (NaN) / 60 / 60,  float32 inf (NaN) / 72 / 72   (torch 1.80, 1.84)
#   ∂x  float64 inf (NaN) / 66 / 2,   float32 inf (NaN) / 74 / 0    (torch inf: its e^x/(e^x − 1)² is inf/inf)
# after: f 2.06 / 0.50, ∂x 1.40 / 0.50, none past.
@DTYPES
def test_reciprocal_difference_with_expm1_far_out(dtype):
    x = _far_points()
    f, dx = _measure("1/x - 1/(exp(x)-1)", "x", lambda t, x: 1 / x - 1 / (t.exp(x) - 1), [x], dtype)
    assert f[1] == 0 and dx[1] == 0, (f, dx)


@DTYPES
def test_reciprocal_difference_with_expm1_limits(dtype):
    """At ±inf the limits (0 and 1; ∂x 0); at 1e4 and −1e4 finite (they were NaN: x = 1e4 in both dtypes)."""
    f, dx = _values("1/x - 1/(exp(x)-1)", [[np.inf, -np.inf, 1e4, -1e4]], dtype)
    assert f[0] == 0 and f[1] == 1 and np.all(dx[:2] == 0), (f, dx)
    np.testing.assert_allclose(f[2:], [1e-4, 1 - 1e-4], rtol=1e-6)
    np.testing.assert_allclose(dx[2:], [-1e-8, -1e-8], rtol=1e-6)


# ---------------------------------------------------------------- conjugate at A = +inf

ROOTS_MINUS_NUMBERS = {
    "sqrt(1+x)-1": lambda t, x: t.sqrt(1 + x) - 1,
    "sqrt(4+x)-2": lambda t, x: t.sqrt(4 + x) - 2,
    "sqrt(x+2)-sqrt(2)": lambda t, x: t.sqrt(x + 2) - 2 ** 0.5,
}


# before (dfe9bdb8): NaN at x = +inf for each, float64 and float32 (torch inf)
@DTYPES
@pytest.mark.parametrize("formula", list(ROOTS_MINUS_NUMBERS))
def test_root_minus_a_number_at_infinity(formula, dtype):
    f, dx = _values(formula, [[np.inf]], dtype)
    assert f[0] == np.inf and dx[0] == 0, (f, dx)


# the branch past A = 2¹⁰²²: 0.50 ULP before and after at 100 points x = 10^U(307.7, 308.25) (float64), torch 0.50
@pytest.mark.parametrize("formula", list(ROOTS_MINUS_NUMBERS))
def test_root_minus_a_number_past_two_to_the_1022(formula):
    x = 10.0 ** np.random.default_rng(47).uniform(307.7, 308.25, 100)
    f, dx = _measure(formula, "x", ROOTS_MINUS_NUMBERS[formula], [x], np.float64)
    assert f[1] == 0 and dx[1] == 0, (f, dx)
