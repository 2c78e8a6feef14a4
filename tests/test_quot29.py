"""Quotients, products and compositions that underflow or overflow in an intermediate (issue 16, session 29, h-quot29).

* log-softplus-left: log(softplus(x)) was −inf from x ≈ −745 in float64 (softplus underflows to 0) and its ∂
  σ(x)/softplus(x) 0/0 = NaN (torch the same); below x = −40 both are their limits x and 1, rounded.
* two-minus-exp-root: log(2 − e^x) near its root x = log 2 (2.7e13 ULP at fl(log 2) − 1 ulp in float64, −inf at
  fl(log 2)) and its ∂ −e^x/(2 − e^x) (1.6e15 ULP): 2 − e^u = −2·expm1(u − log 2), u − log 2 in double words.
* softplus-over-exp: softplus(x)·e^−x NaN from x ≈ −745, its ∂ (σ(x) − softplus(x))·e^−x 8.4e8 ULP at −20 (float64):
  1, a two-term series, double words.
* step-value: (log1p(H(x)))·erfcx(x) NaN (0·inf) in float32 at x = −24.94: log1p(H(u)) = log 2·H(u), then the gate.

References: mpmath at 50–100 digits (the true values), never the kernel's own form.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch
from symnet.codegen.rewrite import softplus
from symnet.special import erfcx

E = mpmath.exp
_x = sp.Symbol("x", real=True)

# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, range of the 50-digit check, the
# point where the written form fails, dtype). log-softplus-left's and softplus-over-exp's ranges stop short of their far
# branches (u < −40, −30: to 2⁻⁶⁰ and 1.4e−26 relative there, not identities; this file checks them against mpmath)
RULE_CASES = [
    ("log-softplus-left", sp.log(softplus(_x)), (_x,), (-35.0, 10.0), (-800.0,), np.float64),
    ("two-minus-exp-root", sp.log(2 - sp.exp(_x)), (_x,), (0.3, 0.69), (0.6931471805599452,), np.float64),
    ("softplus-over-exp", softplus(_x) * sp.exp(-_x), (_x,), (-25.0, 10.0), (-300.0,), np.float64),  # 600 digits
    ("step-value", sp.log(1 + sp.Heaviside(_x, 0)) * erfcx(_x), (_x,), (-4.0, 4.0), (-24.942674605326964,), np.float32),
]


def _ulps(got, want, dtype) -> float:
    """|got − want| in units of the last place of want in dtype; inf where got is not finite and want is."""
    got, w = float(got), float(want)
    if not np.isfinite(got):
        return 0.0 if got == w else np.inf
    return abs(got - w) / float(np.spacing(dtype(abs(w))))


def _run(formula, points, dtype, backend):
    x = np.array(points, dtype)
    if backend == "triton":
        torch = triton_torch()
        return [t.numpy() for t in compiled(formula, "triton")(x=torch.from_numpy(x))]
    return compiled(formula)(x)


# ------------------------------------------------------------------ log-softplus-left

@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_of_softplus_past_its_underflow(dtype, backend):
    """f and ∂f within the bound across the threshold −40 and past softplus's underflow. Before (NumPy float64): at
    x = −800 f −inf for −800 and ∂ NaN for 1; float32 the same from −104 (Triton: −104, as its softplus is float32)."""
    bound = 8.0 if dtype == np.float32 else 4.0
    points = [-1e4, -800.0, -746.0, -120.0, -104.0, -40.5, -39.5, -20.0, -1.0, 0.0, 3.0, 50.0]
    f, df = _run("log(softplus(x))", points, dtype, backend)
    with mpmath.workdps(100):
        for i, x in enumerate(points):
            X = mpmath.mpf(float(dtype(x)))
            s = mpmath.log1p(E(X))
            assert _ulps(f[i], mpmath.log(s), dtype) <= bound, (x, float(f[i]))
            assert _ulps(df[i], 1 / (1 + E(-X)) / s, dtype) <= bound, (x, float(df[i]))


# ------------------------------------------------------------------ two-minus-exp-root

LOG2 = float(np.log(2.0))
NEAR_LOG2 = [float(np.nextafter(LOG2, 0)), LOG2, LOG2 - 1e-10, LOG2 - 1e-6, 0.6, 0.5000001, 0.4999999, 0.3, 1e-30,
             -3.0, -800.0, float(np.nextafter(LOG2, 1)), 0.7, 0.9999999, 1.0000001, 30.0]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_of_two_minus_an_exponential_near_its_root(dtype, backend):
    """log(2 − e^x) and ∂ = −e^x/(2 − e^x) within the bound near x = log 2 and across the window's edges 1/2 and 1
    (NaN past the root for f, where the log's argument is negative). Before (NumPy float64): at fl(log 2) − 1 ulp f
    −36.04 for −35.85 (2.7e13 ULP), ∂ −9.01e15 for −7.45e15 (1.6e15 ULP); at fl(log 2) −inf for −37.61."""
    bound = 8.0 if dtype == np.float32 else 4.0
    points = [float(dtype(p)) for p in NEAR_LOG2]
    f, df = _run("log(2 - exp(x))", points, dtype, backend)
    with mpmath.workdps(60):
        for i, x in enumerate(points):
            X = mpmath.mpf(x)
            two_minus = 2 - E(X)
            if two_minus > 0:
                assert _ulps(f[i], mpmath.log(two_minus), dtype) <= bound, (x, float(f[i]))
            else:
                assert np.isnan(f[i]), (x, float(f[i]))
            assert _ulps(df[i], -E(X) / two_minus, dtype) <= bound, (x, float(df[i]))


# ------------------------------------------------------------------ softplus-over-exp

@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_times_exp_minus_x(dtype, backend):
    """softplus(x)·e^−x = log1p(t)/t and ∂ = 1/(1 + t) − log1p(t)/t (t = e^x) within the bound across the
    thresholds −40, −30 and 2 and far out. Before (NumPy float64): ∂ at −20 −1.0305769818e−9 for −1.0305768084e−9
    (8.4e8 ULP), at −88.8 0 for −1.36e−39, f and ∂ NaN at −800 (truth 1 and −0)."""
    bound = 8.0 if dtype == np.float32 else 4.0
    points = [-800.0, -88.8, -40.5, -39.5, -30.5, -29.5, -20.0, -5.0, -1.0, 0.0, 1.9, 2.1, 10.0, 700.0]
    f, df = _run("softplus(x)*exp(-x)", points, dtype, backend)
    with mpmath.workdps(800):  # ∂ cancels by 2e^−x: 348 digits at x = −800
        for i, x in enumerate(points):
            X = mpmath.mpf(float(dtype(x)))
            s = mpmath.log1p(E(X))
            assert _ulps(f[i], s * E(-X), dtype) <= bound, (x, float(f[i]))
            assert _ulps(df[i], (1 / (1 + E(-X)) - s) * E(-X), dtype) <= bound, (x, float(df[i]))


# ------------------------------------------------------------------ step-value

@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_function_of_a_step_times_an_overflowing_factor(dtype, backend):
    """(log1p(H(x)))·erfcx(x) = log 2·erfcx(x) for x > 0, 0 elsewhere (H(0) = 0), and its ∂ log 2·erfcx′(x) there.
    Before (NumPy float32): f and ∂ NaN at x = −24.94 (erfcx(x) inf times log1p(H(x)) = 0), true 0; float64 from
    x ≈ −26.6."""
    bound = 8.0 if dtype == np.float32 else 4.0
    points = [-1e4, -30.0, -24.942674605326964, -1.0, -0.0, 0.0, 1e-30, 0.5, 3.0, 1e3]
    f, df = _run("(log1p(Heaviside(x))) * (erfcx(x))", points, dtype, backend)
    with mpmath.workdps(60):
        for i, x in enumerate(points):
            X = mpmath.mpf(float(dtype(x)))
            erfcx = E(X * X) * mpmath.erfc(X)
            want = mpmath.log(2) * erfcx if X > 0 else mpmath.mpf(0)
            dwant = mpmath.log(2) * (2 * X * erfcx - 2 / mpmath.sqrt(mpmath.pi)) if X > 0 else mpmath.mpf(0)
            assert _ulps(f[i], want, dtype) <= bound, (x, float(f[i]))
            assert _ulps(df[i], dwant, dtype) <= bound, (x, float(df[i]))


# ------------------------------------------------------------------ complex infinity in a widened body

@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_poisson_nll_of_hardshrink_of_gelu_generates(backend):
    """poisson_nll(hardshrink(gelu(x)), y) = e^p − y·p, p = hardshrink(gelu x): before, TypeError "Cannot convert
    complex to float" while generating (SymPy's 1/0, zoo, in a select's branch never taken, inside a widened body
    whose double-word code took float() of it). Values and gradients against mpmath, float64."""
    xs = np.array([-3.0, 0.1, 0.7, 2.0, 5.0, -0.6])
    ys = np.array([0.5, 1.0, 2.0, 0.3, 4.0, 1.5])
    if backend == "triton":
        torch = triton_torch()
        outs = compiled("poisson_nll(hardshrink(gelu(x)), y)", "triton")(x=torch.from_numpy(xs), y=torch.from_numpy(ys))
        outs = [o.numpy() for o in outs]
    else:
        outs = compiled("poisson_nll(hardshrink(gelu(x)), y)")(x=xs, y=ys)
    names = compiled("poisson_nll(hardshrink(gelu(x)), y)").outputs
    got = dict(zip(names, outs))
    with mpmath.workdps(50):
        for i, (xv, yv) in enumerate(zip(xs, ys)):
            X, Y = mpmath.mpf(xv), mpmath.mpf(yv)
            phi = mpmath.ncdf(X)
            g = X * phi
            shrunk = abs(g) > mpmath.mpf(1) / 2
            p = g if shrunk else mpmath.mpf(0)
            slope = (phi + X * mpmath.npdf(X)) if shrunk else mpmath.mpf(0)
            want = {"f": E(p) - Y * p, "df_dx": (E(p) - Y) * slope, "df_dy": -p}
            for name, w in want.items():
                assert _ulps(got[name][i], w, np.float64) <= 4.0, (name, xv, yv, float(got[name][i]))


# (session 29's strict xfail, ∂ of mish(x)·σ(eˣ) NaN at 709 and 709.9: fixed in session 30, tests/test_quot30.py)
