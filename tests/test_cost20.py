"""Task h-cost20: the cost of the error bounds, made smaller without losing accuracy.

* NumPy's double-word sin and cos take one series per element (its coefficients picked by the quadrant), not both;
* a NumPy widened body that takes σ(±v) or softplus(±v) twice or more computes e^−|v| (and log1p of it) once
  (``_dw_exp_negabs``, ``_dw_sigmoid_e``, ``_dw_softplus_l``): the same operations, so the same bits;
* a float64 kernel's widened function whose bound can never keep an element (focal's ∂t, ∂z) computes its
  float64 body once, not twice.

Checked here against independent references (mpmath at 50 digits; the separate primitives bit for bit), at the
cancellations where the double words are needed, in float32 and float64 kernels. Speed is measured in
benchmarks/bound_cost.py, never asserted.
"""
from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest

import symnet
from symnet.codegen import doubleword as dw

MP_DPS = 50  # mpmath's digits for each test here (conftest._mpmath_digits)


def _primitives() -> dict:
    namespace = {"np": np}
    for name in dw.ORDER:
        exec(dw.primitive_text(name, "numpy"), namespace)  # noqa: S102 - the library's own helper texts
    return namespace


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


def _double_words(rng, n=3000):
    """Double-words hi + lo over the ranges σ and softplus meet (|hi| to 800, the exponent's clamps, ±0, ±inf, NaN),
    lo within half an ulp of hi."""
    hi = np.concatenate([rng.uniform(-40, 40, n), 10 ** rng.uniform(-30, 2.9, n) * rng.choice([-1, 1], n),
                         [0.0, -0.0, 5e-324, -5e-324, 745.2, -745.2, 709.9, -709.9, 1e300, -1e300, np.inf, -np.inf,
                          np.nan, 36.7, -36.7]])
    lo = np.where(np.isfinite(hi), np.spacing(hi) * rng.uniform(-0.5, 0.5, hi.size), 0.0)
    return hi, lo


def test_shared_exp_gives_the_bits_of_the_separate_primitives():
    """σ(v), σ(−v), softplus(v), softplus(−v) from one E = e^−|v| are bit for bit _dw_sigmoid's and _dw_softplus's."""
    p = _primitives()
    hi, lo = _double_words(np.random.default_rng(20))
    with np.errstate(all="ignore"):
        e_hi, e_lo = p["_dw_exp_negabs"](hi, lo)
        l_hi, l_lo = p["_dw_log1p"](e_hi, e_lo)
        for sign in (1.0, -1.0):
            x_hi, x_lo = sign * hi, sign * lo
            for got, want in [(p["_dw_sigmoid_e"](x_hi, x_lo, e_hi, e_lo), p["_dw_sigmoid"](x_hi, x_lo)),
                              (p["_dw_softplus_l"](x_hi, x_lo, l_hi, l_lo), p["_dw_softplus"](x_hi, x_lo))]:
                assert _same_bits(got[0], want[0]) and _same_bits(got[1], want[1])


def test_focal_takes_one_exp_per_function():
    """focal(z, t, ¼, ¾)'s float64 ∂t and ∂z functions compute e^−|z| once each (four before: σ(z), σ(−z),
    softplus(z), softplus(−z)); Triton's kernel is unchanged (its own primitives). Since h-cost41 a body that takes
    softplus of z takes e^−|z| and its log1p from one _dw_softplus_parts (remembered between the functions)."""
    k = symnet.compile(symnet.derive("focal(z, t, 1/4, 3/4)"), progress=False)
    bodies = k.source.split("\ndef ")
    shared = [b for b in bodies if b.startswith("_dw_widened_") and ("_dw_exp_negabs(z" in b
                                                                      or "_dw_softplus_parts(z" in b)]
    assert len(shared) >= 2
    for body in shared:
        assert body.count("_dw_exp_negabs(") + body.count("_dw_softplus_parts(") == 1
        assert "_dw_sigmoid(" not in body and "_dw_softplus(" not in body


def _quadrant_points(rng):
    k = np.arange(-12, 13)
    x = np.concatenate([(k * np.pi / 2)[:, None] + rng.uniform(-0.8, 0.8, (k.size, 40)) for _ in range(1)]).ravel()
    x = np.concatenate([x, k * np.pi / 2, k * np.pi / 4, 10 ** rng.uniform(-10, 5, 400) * rng.choice([-1, 1], 400)])
    lo = np.spacing(x) * rng.uniform(-0.5, 0.5, x.size)
    return x, lo


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_one_series_sin_cos_in_every_quadrant(name):
    """_dw_sin/_dw_cos (one series per element) of a double-word x_hi + x_lo in all four quadrants, near kπ/2 and
    kπ/4 (where the reduction and the series' switch meet), against mpmath at 50 digits: within 2⁻¹⁰⁰ of the value
    (measured 2⁻¹⁰⁵·⁵ over 6,000 points with lo = 0)."""
    p = _primitives()
    x, lo = _quadrant_points(np.random.default_rng(21))
    hi_out, lo_out = p[f"_dw_{name}"](x, lo)
    worst = 0.0
    for xi, li, h, l in zip(x, lo, hi_out, lo_out):
        true = getattr(mpmath, name)(mpmath.mpf(float(xi)) + mpmath.mpf(float(li)))
        if true == 0:
            continue
        worst = max(worst, float(abs((mpmath.mpf(float(h)) + mpmath.mpf(float(l)) - true) / true)))
    assert worst < 2.0 ** -100, worst


def _ulps(got, true, dtype) -> float:
    """|got − true| in ULPs of the dtype at the true value (mpmath), the smallest normal's ULP below it."""
    t = float(true)
    spacing = float(np.spacing(np.abs(dtype(t)))) if t != 0 else float(np.finfo(dtype).smallest_subnormal)
    return float(abs(mpmath.mpf(float(got)) - true) / spacing)


def _sin_cancellations(rng, dtype, n=150):
    """y + sin(x) at y = −fl(sin x) plus a few ulps: the sum 2⁻²⁴ to 2⁻⁵³ of its terms."""
    x = rng.uniform(-20, 20, n).astype(dtype)
    s = np.sin(x.astype(np.float64)).astype(dtype)
    y = (-s + rng.integers(-3, 4, n) * np.spacing(s)).astype(dtype)
    return {"x": x, "y": y}


def _log_cancellations(rng, dtype, n=150):
    """log(x·y − z) where x·y − z cancels (z beside fl(x·y)) and where it is near 1 (log near 0)."""
    x = rng.uniform(0.5, 2, n).astype(dtype)
    y = rng.uniform(0.5, 2, n).astype(dtype)
    p = (x.astype(np.float64) * y.astype(np.float64)).astype(dtype)
    near = (p - rng.integers(1, 5, n) * np.spacing(p)).astype(dtype)
    one = (x.astype(np.float64) * y.astype(np.float64) - 1 + rng.uniform(-1e-3, 1e-3, n)).astype(dtype)
    z = np.where(np.arange(n) % 2 == 0, near, one).astype(dtype)
    return {"x": x, "y": y, "z": z}


def _log_near_one(rng, dtype, n=150):
    """log(x·y − z) with x·y − z within 2⁻¹⁰ of 1 (log near 0, where x·y's rounding is most of its error): every
    element below |log| = 2, so a float64 kernel skips the bound and takes double words on the whole block
    (doubleword._log_of_rounded_sum)."""
    x = rng.uniform(0.5, 4, n).astype(dtype)
    y = rng.uniform(0.5, 4, n).astype(dtype)
    z = (x.astype(np.float64) * y.astype(np.float64) - 1 - rng.uniform(-2.0 ** -10, 2.0 ** -10, n)).astype(dtype)
    return {"x": x, "y": y, "z": z}


def _log_xy_z(v):
    return mpmath.log(v["x"] * v["y"] - v["z"])


CASES = {  # id: (formula, points, the exact value)
    "y + sin(x)": ("y + sin(x)", _sin_cancellations, lambda v: v["y"] + mpmath.sin(v["x"])),
    "log(x*y - z)": ("log(x*y - z)", _log_cancellations, _log_xy_z),
    "log(x*y - z) near 1": ("log(x*y - z)", _log_near_one, _log_xy_z),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_value_at_the_cancellations_against_mpmath(case, dtype):
    """Every element at the cancellations (where the bound sends it to double words, or keeps it, or is skipped)
    within 4 ULP in float64 and 1 ULP in float32 (rounded once from float64 or double words: about ½) of mpmath at
    50 digits."""
    formula, points, exact = CASES[case]
    data = points(np.random.default_rng(22), dtype)
    k = symnet.compile(symnet.derive(formula), progress=False)
    f = k(**data)[0]
    assert f.dtype == dtype
    worst, at = 0.0, None
    for i in range(f.size):
        true = exact({name: mpmath.mpf(float(v[i])) for name, v in data.items()})
        if mpmath.im(true) != 0 if isinstance(true, mpmath.mpc) else False:
            continue
        e = _ulps(f[i], true, dtype)
        if e > worst:
            worst, at = e, {name: float(v[i]) for name, v in data.items()}
    assert worst <= (4.0 if dtype == np.float64 else 1.0), (worst, at)


def test_select_of_exponentials_takes_one_exp_and_stays_exact():
    """{e^x if x > 0; e^(2x) otherwise} − y: the double-word function selects the argument (x or 2x) and takes one
    e^x of it (two before), and at y = fl(e^x or e^(2x)) ± a few ulps, where the sum cancels to 2⁻⁵⁰ of its terms,
    each float64 value is within 4 ULP of mpmath at 50 digits (a float64 e^x there is 1e15 ULP off)."""
    k = symnet.compile(symnet.derive("where(x > 0, exp(x), exp(2*x)) - y"), progress=False)
    (function,) = [b for b in k.source.split("\ndef ") if b.startswith("_dw_widened_")
                   and not b.split("(")[0].endswith("_scaled")]  # (its scaled-tier partner, session 21, aside)
    # one e^ of one argument (written once, inside doubleword's _dw_where_finite since session 35)
    assert len(re.findall(r"_dw_exp\(([^()]*)\)", function)) == 1, function
    rng = np.random.default_rng(23)
    x = np.concatenate([rng.uniform(-20, 20, 200), [0.0, -0.0, 1e-300, -1e-300]])
    e = np.where(x > 0, np.exp(x), np.exp(2 * x))
    y = e + rng.integers(-3, 4, x.size) * np.spacing(e)
    f = k(x=x, y=y)[0]
    worst = 0.0
    for xi, yi, fi in zip(x, y, f):
        xm = mpmath.mpf(float(xi))
        true = (mpmath.exp(xm) if xi > 0 else mpmath.exp(2 * xm)) - mpmath.mpf(float(yi))
        if true != 0:
            worst = max(worst, _ulps(fi, true, np.float64))
        else:
            assert fi == 0
    assert worst <= 4.0, worst
