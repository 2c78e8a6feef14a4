"""Older strict xfails of issue 16, fixed in session 29 (h-old29), each against mpmath at 60+ digits (and torch's
autograd of the formula as written where it says so), never against the expression the code came from.

* log(erfcx(x)) near 0: erfcx(x) = 1 − 2x/√π + … rounds to 1, so the log kept nothing (float64 0 for −1.128e−30 at
  x = 1e−30, 6.4e15 ULP; float32 1.2e7; torch's log(special.erfcx) the same 0). The log-erfcx-left rule's
  x² + log1p(−erf(x)) is now taken below x = 3/8 as well (tests/test_break28.py's strict xfail, now passing).
* The Poisson deviance t·log(t/p) − t + p where t/p leaves float64's range: −inf at p = 1e300, t = 1e−30 (truth
  1e300: t/p underflowed to 0; torch −inf), inf at p = 1e−200, t = 1e200 (truth 9.2e202). The log-linear-root rule's
  widened sum is a select now: log t − log p beyond 2^±1000 (tests/test_breakage24.py's strict xfail, now passing).
* ∂ of (x − sin x)^(1/3) at a subnormal x: 0 at 5e−324 for 0.5503 (torch NaN), 2²³ ULP off at 1e−315 (x/2 in
  sin(x/2)/x rounded): series-leading-power's g(x)/x is g′(0) where 0 < |x| < 2⁻¹⁰⁰ (tests/test_breakage22b.py).
* ∂x of erf(exp(exp(x)))·elu(x) NaN from x = 709.78 (true 1.0; torch NaN): the exp-product-limit rule's merged
  exponent x + eˣ − e^(2eˣ) is inf − inf there; the product is 0 where an exponent is past the largest float on a
  side where the exponents' sum is measured below the underflow (tests/test_comp27.py's strict xfail, now passing).
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import pytest

import symnet
from conftest import triton_torch

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}


@functools.lru_cache(maxsize=None)
def _kernel(formula, backend="numpy"):
    return symnet.compile(symnet.derive(formula), backend, progress=False)


def _ulps(got, true, dtype) -> float:
    got = float(got)
    if math.isnan(got) or math.isinf(got):
        return 0.0 if got == true else math.inf
    if true == 0:
        return 0.0 if got == 0 else math.inf
    tiny = float(np.finfo(dtype).tiny)
    spacing = float(np.spacing(dtype(max(min(abs(float(true)), float(np.finfo(dtype).max)), tiny))))
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(spacing))


# ------------------------------------------------------------------ log(erfcx(x)) near 0

_LOG_ERFCX_POINTS = [1e-30, -1e-30, 5e-324, 1e-10, -1e-10, 1e-5, 0.01, 0.1, 0.2, 0.3, 0.37, 0.375, 0.38, 0.45, 0.5,
                     1.0, 5.0, 1e4, -0.3, -3.0]


def _log_erfcx_truth(x):
    digits = 60 + (int(-math.log10(abs(x))) if 0 < abs(x) < 1 else 0)  # erfc(x) ≈ 1 − 1.13x: the digits of x past 1
    with mpmath.workdps(digits):
        X = mpmath.mpf(x)
        e = mpmath.erfc(X) * mpmath.exp(X ** 2)
        return mpmath.log(e), (2 * X * e - 2 / mpmath.sqrt(mpmath.pi)) / e


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_log_erfcx_near_zero_numpy(dtype):
    """Before (main 6584dfd): f at x = 1e−30 0 for −1.128e−30 (float64 6.4e15 ULP; float32 1.7e7), at 1e−10 float64
    1.9e6 ULP, at 0.01 19 ULP; now within the bound at every point below, values and gradient."""
    xs = [float(dtype(v)) for v in _LOG_ERFCX_POINTS]
    f, g = _kernel("log(erfcx(x))")(x=np.array(xs, dtype))
    bad = []
    for xv, fv, gv in zip(xs, f, g):
        tf, tg = _log_erfcx_truth(xv)
        errors = (_ulps(fv, tf, dtype), _ulps(gv, tg, dtype))
        if max(errors) > BOUND[dtype]:
            bad.append((xv, float(fv), float(tf), errors))
    assert not bad, bad


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_log_erfcx_near_zero_triton(dtype):
    """The same select in the Triton kernel (interpreter): before, f 0 at x = 1e−30 (float64)."""
    torch = triton_torch()
    xs = [1e-30, -1e-30, 1e-10, 0.1, 0.37, 0.38, 1.0, -3.0]
    npd = {"float64": F64, "float32": F32}[dtype]
    xs = [float(npd(v)) for v in xs]
    f, g = _kernel("log(erfcx(x))", "triton")(x=torch.tensor(xs, dtype=getattr(torch, dtype)))
    bad = []
    for xv, fv, gv in zip(xs, f.tolist(), g.tolist()):
        tf, tg = _log_erfcx_truth(xv)
        errors = (_ulps(fv, tf, npd), _ulps(gv, tg, npd))
        if max(errors) > BOUND[npd]:
            bad.append((xv, fv, float(tf), errors))
    assert not bad, bad


# ------------------------------------------------------------------ the Poisson deviance beyond t/p's range

def test_poisson_deviance_where_the_quotient_leaves_the_range():
    """f, ∂p, ∂t within the bound (or no worse than torch's autograd of the formula as written) against mpmath at 1000
    digits of SymPy's derivative of the written formula (test_breakage21b._faults). Before (main 6584dfd): f −inf at
    (p, t) = (1e300, 1e−30) and (1e300, 1e−300), inf at (1e−200, 1e200). Near the root p = t, where the widened
    sum is taken, it stays within the bound."""
    from test_breakage21b import _faults
    far = [(1e300, 1e-30), (1e300, 1e-300), (1e-200, 1e200), (1e-300, 3e38), (1e-300, 1e-10), (1e250, 1e-60)]
    root = [(2.0 * (1 + e), 2.0) for e in (1e-8, -1e-8, 2.0 ** -50, -(2.0 ** -50), 1e-3)] + [(0.7, 0.7 * (1 + 1e-9))]
    bad = _faults("t*log(t/p) - t + p", ["p", "t"], far + root, F64, lambda T, p, t: t * T.log(t / p) - t + p)
    assert not bad, bad


# ------------------------------------------------------------------ exp-product-limit past the exponents' overflow

def test_erf_of_exp_of_exp_times_elu_gradient_past_overflow():
    """∂x of erf(e^(eˣ))·elu(x) against mpmath (erf′(u)·u′ = 2/√π·e^(−u²)·u·eˣ, u = e^(eˣ), 60 digits; exponents
    up to e^(2e^(1e300)) are mpmath numbers). Before (main 6584dfd): NaN at 709.79, 710, 1e4, 1e300 (true 1.0; torch's
    autograd NaN too); within 1 ULP at every point now, and the value too."""
    k = _kernel("(erf(exp(exp(x)))) * (elu(x))")
    xs = [709.79, 710.0, 1e4, 1e300, 709.0, 6.6, 1.5, 0.5, 1e-3, -1e-3, -3.0, -800.0]
    with np.errstate(all="ignore"):
        f, g = k(x=np.array(xs))
    bad = []
    with mpmath.workdps(60):
        for xv, fv, gv in zip(xs, f, g):
            X = mpmath.mpf(xv)
            if xv > 5:  # mpmath's erf(u) overflows its exponent past u = e^(e^700); 1 − erf(u) and e^(−u²)·u·eˣ are
                # below e^(−e^296) from x = 5, so to any float the value is x and the gradient 1
                tf, tg = X, mpmath.mpf(1)
                errors = (_ulps(fv, tf, F64), _ulps(gv, tg, F64))
                bad += [(xv, float(fv), float(gv), errors)] if max(errors) > 1.0 else []
                continue
            u = mpmath.exp(mpmath.exp(X))
            elu, elu1 = (X, 1) if X > 0 else (mpmath.expm1(X), mpmath.exp(X))
            tf = mpmath.erf(u) * elu
            tg = mpmath.erf(u) * elu1 + elu * 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-u * u) * u * mpmath.exp(X)
            errors = (_ulps(fv, tf, F64), _ulps(gv, tg, F64))
            if max(errors) > 1.0:
                bad.append((xv, float(fv), float(gv), float(tg), errors))
    assert not bad, bad


# ------------------------------------------------------------------ series-leading-power's g(x)/x at a subnormal x

@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_cube_root_of_x_minus_sin_x_gradient_at_subnormals(dtype):
    """∂ of (x − sin x)^(1/3) = (1 − cos x)/(3·(x − sin x)^(2/3)), written (sin(x/2)/x)²·… by the one-minus-cos and
    series-leading-power rules, against mpmath at 1,100 digits (x − sin x at 5e−324 is 2e−971). Before (main
    6584dfd): float64 0 at 5e−324 (truth 0.5503; torch NaN), 0.978 at 1.5e−323, 2²³ ULP off at 1e−315; float32 0 at
    1e−45 (x/2 rounded to 0). Now within the bound (2.09 ULP float64 at each subnormal, as at 1e−300 before; float32
    ≤ 1.68); at 0 NaN as before (torch NaN)."""
    xs = [5e-324, 1.5e-323, 1e-315, 2.2e-308, 1e-300, 1e-45, 1e-40, 1e-38, 1e-31, 1e-20, 1e-3, 0.5]
    xs = [float(dtype(v)) for v in xs if float(dtype(v)) > 0]
    f, g = _kernel("(x - sin(x))**(1/3)")(x=np.array(xs, dtype))
    bad = []
    with mpmath.workdps(1100):
        for xv, gv in zip(xs, g):
            X = mpmath.mpf(xv)
            tg = (1 - mpmath.cos(X)) / (3 * mpmath.cbrt(X - mpmath.sin(X)) ** 2)
            if _ulps(gv, tg, dtype) > BOUND[dtype]:
                bad.append((xv, float(gv), float(tg), _ulps(gv, tg, dtype)))
    assert not bad, bad
    assert np.isnan(_kernel("(x - sin(x))**(1/3)")(x=np.array([0.0], dtype))[1][0])
