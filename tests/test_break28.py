"""Hostile tests of what session 27 built (h-break28, issue 16): the softmax-complement pairing w − w·p, the
cancel rule's (Σ c_j·S)·S⁻ᵏ, log1p(c·e^u) → softplus, cosh-square, log of a power, exp-collect, exp-product-limit,
widened-product-overflow, at random and extreme points (0, ±1e−30, subnormals, ±88.7, ±709.8, ±1e4, ±3e38,
±1.797e308, ±inf, NaN) against mpmath and torch's autograd of the formula as written in float64/float32.

References independent of the code generator: mpmath at 60 digits of the closed forms below (and, through
``test_breakage21b._faults``, at 1000 digits of SymPy's own derivative of the formula as written) and torch autograd.

Faults, fixed here:

* **w·p − w·p² where w holds an exponential was never paired.** softmax-complement's w − w·p skipped every factor w
  with an exponential, so ∂b of x·e^b/(e^a + e^b) − x = x·p_b·(1 − p_b), derived x·(1/S − e^b/S²)·e^b and multiplied
  out by the max-shift rule into x·p_b − x·p_b², cancelled: float64 at x = 1, a = 0: 2.06115369216775e−09 for
  2.061153613941849e−09 at b = 20 (3.8e7 ULP), 0 for 4.25e−18 at b = 40, 0 for 1.9e−174 at 400 (torch's autograd
  the same 0). The pair is now tried for any w that is not a number, the quotient (w·p²)/w collected into one
  exponential (e^(2b − 2m)·e^(m − b) is two factors in SymPy until powsimp): ≤ 0.5 ULP at every b.
"""
from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

import symnet

sys.path.insert(0, str(Path(__file__).resolve().parent))

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}


@functools.lru_cache(maxsize=None)
def _kernel(formula):
    return symnet.compile(symnet.derive(formula), progress=False)


def _ulps(got, true, dtype) -> float:
    got = float(got)
    if math.isnan(got) or math.isinf(got):
        return 0.0 if got == true else math.inf
    if true == 0:
        return 0.0 if got == 0 else math.inf
    tiny = float(np.finfo(dtype).tiny)
    spacing = max(float(np.spacing(dtype(min(abs(float(true)), float(np.finfo(dtype).max))))), 0.0)
    if abs(float(true)) < tiny:
        spacing = float(np.spacing(dtype(tiny)))  # a subnormal truth: its rounding
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(spacing))


def _outputs(formula, dtype, **inputs):
    k = _kernel(formula)
    out = k(**{n: np.array([v], dtype) for n, v in inputs.items()})
    return {name: float(o.reshape(-1)[0]) for name, o in zip(k.outputs, out)}


# ------------------------------------------------------------------ w·p − w·p², w holding an exponential

WEIGHTED = "x*exp(b)/(exp(a) + exp(b)) - x"


def _weighted_truth(x, a, b):
    with mpmath.workdps(60):
        x, a, b = mpmath.mpf(x), mpmath.mpf(a), mpmath.mpf(b)
        pa = 1 / (1 + mpmath.exp(b - a))
        pb = 1 / (1 + mpmath.exp(a - b))
        return {"f": -x * pa, "df_da": -x * pa * pb, "df_db": x * pa * pb, "df_dx": -pa}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("b", [3.0, 20.0, 40.0, 80.0, 100.0, 400.0, -30.0])
def test_scaled_softmax_complement_gradient_within_bound(b, dtype):
    """∂b of x·p_b − x = x·p_b·(1 − p_b) at x = 1.5, a = 0.25 (before, float64: 3.8e7 ULP at b = 20, 0 for 4.25e−18
    at b = 40, 0 for 1.9e−174 at 400; torch's autograd 0 too)."""
    if dtype is F32 and b > 80:
        pytest.skip("e^−b below float32's range: the truth underflows")
    x, a = 1.5, 0.25
    got, true = _outputs(WEIGHTED, dtype, x=x, a=a, b=b), _weighted_truth(x, a, b)
    errors = {k: _ulps(got[k], true[k], dtype) for k in true}
    assert max(errors.values()) <= BOUND[dtype], (got, errors)


# ------------------------------------------------------------------ affine-root where there is no root

def _softplus_scaled_truth(x, y, c):
    with mpmath.workdps(60):
        u = mpmath.mpf(x) - mpmath.mpf(y)
        s = 1 / (1 + mpmath.exp(-u) / c)
        return {"f": mpmath.log1p(c * mpmath.exp(u)), "df_dx": s, "df_dy": -s}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("x", [0.3, 30.0, 95.0, 800.0, 1e4, -30.0, -700.0])
def test_log1p_of_a_halved_exponential_gradient(x, dtype):
    """∂ of log1p(e^(x − y)/2) = e^u/(2·(e^u/2 + 1)): the affine-root rule grouped e^u/2 + 1 as (e^u + 2)/2 (a
    sum with no root: nothing cancels) and the max-shift rule never saw it: NaN (inf/inf) from x − y = 710 in
    float64 (truth 1.0), from 89 in float32; torch's autograd NaN too. Now the shifted quotient: ≤ 0.5 ULP."""
    if dtype is F32 and abs(x) > 3e38:
        pytest.skip("outside float32")
    y = 1.0
    got, true = _outputs("log1p(0.5*exp(x - y))", dtype, x=x, y=y), _softplus_scaled_truth(x, y, mpmath.mpf(0.5))
    errors = {k: _ulps(got[k], true[k], dtype) for k in true}
    assert max(errors.values()) <= BOUND[dtype], (got, errors)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("x", [1e-30, 0.5, 40.0, 355.0, 709.8, 1e4, -1e4])
def test_log_of_a_halved_cosh_square(x, dtype):
    """log(1/2 + sinh²x/2) = log(cosh²x/2) = 2·log cosh x − log 2: affine-root grouped sinh²x/2 + 1/2 (no root) and
    cosh-square never saw it: f inf from |x| = 355 in float64 (1417.52 at 709.8), ∂ NaN (truth ±2); torch inf/NaN
    too. Now cosh-square, log-cosh and 2·tanh x."""
    with mpmath.workdps(60):
        X = mpmath.mpf(x)
        true = {"f": 2 * (abs(X) + mpmath.log1p(mpmath.exp(-2 * abs(X)))) - 3 * mpmath.log(2),
                "df_dx": 2 * mpmath.tanh(X)}
    got = _outputs("log(0.5 + 0.5*sinh(x)**2)", dtype, x=x)
    errors = {k: _ulps(got[k], true[k], dtype) for k in true}
    assert max(errors.values()) <= BOUND[dtype], (got, errors)


# ------------------------------------------------------------------ log(2 − e^u)

@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("x", [1e-30, -1e-30, 1e-10, -3e-8, 0.5, -40.0, -800.0])
def test_log_two_minus_exp_near_zero(x, dtype):
    """log(2 − e^x) = log1p(−expm1(x)): as written 2 − e^x rounds to 1 and the log is 0 for ∓1e−30 at x = ±1e−30
    (5.7e15 ULP float64, 1.1e7 float32; torch the same 0). Not near the root x = log 2, where 2 − e^x cancels the
    rounding of e^x in either form (∂ 34 ULP float64 at x = 0.69, as written and now; left open)."""
    with mpmath.workdps(60):
        X = mpmath.mpf(float(dtype(x)))
        true = {"f": mpmath.log(2 - mpmath.exp(X)), "df_dx": -mpmath.exp(X) / (2 - mpmath.exp(X))}
    got = _outputs("log(2 - exp(x))", dtype, x=x)
    errors = {k: _ulps(got[k], true[k], dtype) for k in true}
    assert max(errors.values()) <= BOUND[dtype], (got, errors)
