"""Session 30 (h-under30): underflow and overflow left by the exponential helpers (h-hostile30's strict xfails).

- ``_exp_overflowed_by`` (f·b^u, f holding a variable) took the product again only where it was ±inf. Where b^u
  underflows first (a subnormal of few digits, or 0) while f·b^u is a normal number, the product was 0 or a number of
  one or two digits; and 0·inf (f an input 0, b^u overflowed) was NaN where the product is 0.
- ``_log_overflowed`` (log(f·b^u)) took +inf only; a product that underflowed gave −inf where the log is a number.

References: mpmath at 60 digits, torch autograd of the written formula in float64 (it is NaN / −inf / 0 at each of
these points, so symnet is not worse than torch anywhere here). Each test's comment gives the value before.
"""
from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest


F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}


from conftest import ulps  # noqa: E402  (the tests' shared ULP measure)
from test_hostile30 import _outputs  # noqa: E402  (the same runner)

BACKENDS = ["numpy", "triton"]


def _backend(backend):
    if backend == "triton":
        torch = pytest.importorskip("torch")
        pytest.importorskip("triton")
        if not torch.cuda.is_available():
            os.environ.setdefault("TRITON_INTERPRET", "1")


def _true_product(x, y, dtype, base=mpmath.e):
    with mpmath.workdps(60):
        return mpmath.mpf(float(dtype(y))) * mpmath.power(base, mpmath.mpf(float(dtype(x))))


# y·e^x where e^x underflows and the product does not. Before (NumPy measured; Triton failed the same test): float64
# (−800, 1e300) 0 for 3.67e−48; (−740, 1e300) 4.1996e−22 for 4.1887e−22 (e^−740 a subnormal of 7 bits, 2.6e−3
# relative); float32 (−100, 1e30) 3.7835e−14 for 3.7201e−14 (1.7 %); y·2^x at (−1100, 1e300) 0 for 7.4e−32.
UNDER = [("exp(x)*y", F64, -800.0, 1e300, mpmath.e), ("exp(x)*y", F64, -740.0, 1e300, mpmath.e),
         ("exp(x)*y", F32, -100.0, 1e30, mpmath.e), ("y*2**x", F64, -1100.0, 1e300, 2)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", UNDER, ids=range(len(UNDER)))
def test_product_past_the_exponential_underflow(case, backend):
    _backend(backend)
    formula, dtype, x, y, base = case
    got = _outputs(formula, dtype, {"x": x, "y": y}, backend)
    true = _true_product(x, y, dtype, base)
    assert ulps(got["f"], true, dtype) <= BOUND[dtype], (got, true)
    dx = true * (1 if base == mpmath.e else mpmath.log(2))
    assert ulps(got["df_dx"], dx, dtype) <= BOUND[dtype], (got, dx)


# log(y·e^x) beyond: before, float64 −inf for −109.2245 at (−800, 1e300), −inf for −800 at (−800, 1), −743.747 for
# −744 at (−744, 1) (the log of a subnormal e^−744 of 2 bits: 2.2e12 ULP), −inf for −10690.8 at (−1e4, 1e−300);
# float32 −30.9055 for −30.9224 at (−100, 1e30) (8.9e3 ULP).
LOGS = [(F64, -800.0, 1e300), (F64, -800.0, 1.0), (F64, -744.0, 1.0), (F32, -100.0, 1e30), (F64, -1e4, 1e-300)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", LOGS, ids=range(len(LOGS)))
def test_log_of_a_product_past_the_underflow(case, backend):
    _backend(backend)
    dtype, x, y = case
    got = _outputs("log(y*exp(x))", dtype, {"x": x, "y": y}, backend)
    with mpmath.workdps(60):
        true = mpmath.mpf(float(dtype(x))) + mpmath.log(mpmath.mpf(float(dtype(y))))
    assert ulps(got["f"], true, dtype) <= BOUND[dtype], (got, true)


# log1p of such a product: before, float64 (−800, 1e300) 0 for 3.67e−48 (torch 0).
@pytest.mark.parametrize("backend", BACKENDS)
def test_log1p_of_a_product_past_the_underflow(backend):
    _backend(backend)
    got = _outputs("log1p(y*exp(x))", F64, {"x": -800.0, "y": 1e300}, backend)
    true = _true_product(-800.0, 1e300, F64)
    assert ulps(got["f"], true, F64) <= BOUND[F64], (got, true)


# 0·inf: y·e^x at (800, ±0): before NaN for ±0 (f and ∂x), both dtypes and backends (torch NaN); an input 0 is exact, so
# the product is that 0. A computed factor that is 0 may have underflowed: e^x·(y − y) stays as written.
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_input_zero_times_an_overflowed_exponential(dtype, backend):
    _backend(backend)
    for x in (800.0, 1e4):
        for y in (0.0, -0.0):
            got = _outputs("exp(x)*y", dtype, {"x": x, "y": y}, backend)
            assert got["f"] == 0 and got["df_dx"] == 0, (x, y, got)
            assert math.copysign(1, got["f"]) == math.copysign(1, y), (x, y, got)
    # and a point that overflows truly stays ±inf, one that is finite stays as before
    got = _outputs("exp(x)*y", dtype, {"x": 1e4, "y": -2.0}, backend)
    assert got["f"] == -math.inf, got
    got = _outputs("exp(x)*y", dtype, {"x": 3.0, "y": 0.5}, backend)
    assert ulps(got["f"], _true_product(3.0, 0.5, dtype), dtype) <= 1, got


# ------------------------------------------------------------------ one-plus-exp-power: σ(z)^g written out

import sympy as sp  # noqa: E402

_z, _g = sp.symbols("z g", real=True)
# (rule, written formula, variables, domain of random points, bad point, dtype): the 50-digit check over z ∈ (−900,
# −600) takes both branches
RULE_CASES = [("one-plus-exp-power", (1 / (1 + sp.exp(-_z))) ** _g, (_z, _g), (-900.0, -600.0), (-800.0, 0.5), F64)]


def _sigmoid_power_truth(z, g):
    """σ(z)^g, ∂z = g·σ^g·σ(−z), ∂g = σ^g·log σ at 60 digits (σ(z) = 1/(1 + e^−z), no cancellation)."""
    with mpmath.workdps(60):
        z, g = mpmath.mpf(z), mpmath.mpf(g)
        s = 1 / (1 + mpmath.exp(-z))
        return s ** g, g * s ** g * (1 - s), s ** g * mpmath.log(s)


# Before (float64, NumPy and Triton): (−800, 0.5) f 0 for 1.915e−174, ∂z NaN, ∂g −0 for −7.66e−172; (−1000, 0.7) 0 for
# 9.86e−305; (−1e4, 0.07) 0 for 2.9e−304; (−800, −0.5) inf for 5.2e173 (torch 0 / NaN / −0 / inf alike). Now ≤ 1 ULP at
# each, and the written branch as before at −699.5, −30, 3.
SIGPOW = [(-800.0, 0.5), (-1000.0, 0.7), (-750.3, 0.9), (-700.5, 1.0), (-699.5, 1.0), (-1e4, 0.07), (-800.0, -0.5),
          (-30.0, 0.5), (3.0, 2.0)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_written_sigmoid_power_where_one_plus_exp_overflows(backend):
    _backend(backend)
    for z, g in SIGPOW:
        got = _outputs("(1/(1 + exp(-z)))**g", F64, {"z": z, "g": g}, backend)
        f, dz, dg = _sigmoid_power_truth(z, g)
        for name, true in (("f", f), ("df_dz", dz), ("df_dg", dg)):
            assert ulps(got[name], true, F64) <= BOUND[F64], (z, g, name, got[name], true)


# float32: the widened power is computed in float64, so (−100, 0.5) was already right. Before: (−800, 0.5) ∂z NaN (f 0,
# the truth 1.9e−174 rounded to float32); (−800, −0.01) f inf for 2981, ∂g −inf, ∂z NaN.
def test_written_sigmoid_power_float32():
    for z, g in ((-100.0, 0.5), (-800.0, 0.5), (-800.0, -0.01), (2.0, 3.0)):
        got = _outputs("(1/(1 + exp(-z)))**g", F32, {"z": z, "g": g})
        f, dz, dg = _sigmoid_power_truth(z, g)
        for name, true in (("f", f), ("df_dz", dz), ("df_dg", dg)):
            assert ulps(got[name], true, F32) <= BOUND[F32], (z, g, name, got[name], true)


def test_one_plus_exp_power_takes_only_its_form():
    from symnet.codegen.rewrite import stabilise

    x, p = sp.symbols("x p", real=True)
    for e in ((1 + sp.exp(x)) ** 2, (2 + sp.exp(x)) ** p, (1 + x) ** p):
        assert "one-plus-exp-power" not in {r.name for r in stabilise(e)[1]}, e
    assert "one-plus-exp-power" in {r.name for r in stabilise((1 + sp.exp(x)) ** p * sp.exp(2 * x))[1]}


# ------------------------------------------------------------------ exp-sigmoid-far: e^x/(1 + e^y) = e^x·σ(−y)

_x, _y = sp.symbols("x y", real=True)
RULE_CASES += [("exp-sigmoid-far", sp.exp(_x) / (1 + sp.exp(_y)), (_x, _y), (600.0, 900.0), (745.0, 745.0), F64)]

# Before, float64 (NumPy and Triton): (745, 745) f, ∂x, ∂y inf for 1, 1, −1 (torch NaN); (740, 745), (720, 740) inf for
# 6.7e−3, 2.06e−9; (1400, 745.3) NaN for 1.6e284; float32 NaN at all four. Now ≤ 1 ULP (the exponents' sum in double words), float32 the same
# (inf where the truth is past its range), and the written branch (3, 2), (80, 90) as before.
EXPSIG = [(745.0, 745.0), (740.0, 745.0), (720.0, 740.0), (1400.0, 745.3), (3.0, 2.0), (-3.0, 800.0), (80.0, 90.0)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_exp_over_one_plus_exp_past_the_overflow(dtype, backend):
    _backend(backend)
    for x, y in EXPSIG:
        got = _outputs("exp(x)/(1 + exp(y))", dtype, {"x": x, "y": y}, backend)
        with mpmath.workdps(60):
            X, Y = mpmath.mpf(float(dtype(x))), mpmath.mpf(float(dtype(y)))
            f = mpmath.exp(X) / (1 + mpmath.exp(Y))
            dy = -f / (1 + mpmath.exp(-Y))
        for name, true in (("f", f), ("df_dx", f), ("df_dy", dy)):
            if abs(true) > np.finfo(dtype).max:
                assert got[name] == math.copysign(math.inf, true), (x, y, name, got[name])
            else:
                assert ulps(got[name], true, dtype) <= BOUND[dtype], (x, y, name, got[name], true)


# ------------------------------------------------------------------ exp-over-power-far: 1/(2 − e^x) and its derivative

RULE_CASES += [("exp-over-power-far", 1 / (2 - sp.exp(_x)), (_x,), (30.0, 900.0), (400.0,), F64)]

# Before, float64 (NumPy and Triton): ∂ = e^x/(2 − e^x)² 0 for 1.915e−174 at x = 400, 0 for 9.86e−305 at 700, NaN for
# 5.47e−309 at 709.8 ((2 − e^x)² overflows; torch 0, 0, NaN); f −0 for −5.47e−309 at 709.8. Now ≤ 1 ULP from −50 to 800
# (the written form, and two-minus-exp-root's near log 2, below x = 40).
RECIP = [-50.0, 0.3, 0.69, 30.0, 39.9, 40.1, 80.0, 355.0, 400.0, 700.0, 709.8, 745.0, 800.0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_reciprocal_of_two_minus_exp_far_right(backend):
    _backend(backend)
    for x in RECIP:
        got = _outputs("1/(2 - exp(x))", F64, {"x": x}, backend)
        with mpmath.workdps(80):
            t = mpmath.exp(mpmath.mpf(x))
            f, d = 1 / (2 - t), t / (2 - t) ** 2
        assert ulps(got["f"], f, F64) <= BOUND[F64], (x, got, f)
        assert ulps(got["df_dx"], d, F64) <= BOUND[F64], (x, got, d)


def test_exp_over_power_far_keeps_a_far_root_as_written():
    from symnet.codegen.rewrite import stabilise

    # c + d·e^v with its root at v = log(1e30) ≈ 69: past the threshold, the written form's select is kept
    assert "exp-over-power-far" not in {r.name for r in stabilise(sp.exp(_x) / (sp.Float(1e30) - sp.exp(_x)) ** 2)[1]}
    assert "exp-over-power-far" in {r.name for r in stabilise(sp.exp(_y) / (3 - sp.exp(_x)) ** 2)[1]}
