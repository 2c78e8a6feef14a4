"""Session 16, h-plog16: NumPy's double-word log and log1p table-driven (symnet/codegen/doubleword.py, _NUMPY_LOG),
checked against mpmath (independent of the generated code):

* the primitives on double-word inputs with lo parts (x_hi + x_lo, |x_lo| up to ulp/2): near 1 on both sides, at the
  tables' edges (m = 0.75, 1.5, F halfway between entries, G at its ends), log-spaced over the whole float64 range
  with subnormals, and log1p near −1 and near 0: 2⁻¹⁰² relative (measured 2⁻¹⁰³·⁵); the Newton step they replace
  measured 2⁻¹⁰⁴, at 420 array operations to 150;
* inputs that are not positive finite (0, −1, inf, NaN, a NaN lo part) give the non-finite value log gives, never an
  IndexError from the tables (the widened function then takes the float64 body's value);
* poisson_nll(x, t, 0)'s f where x − t·log(x + 10⁻⁸) cancels to the last bits of float64 (t = x/log(x + 10⁻⁸)
  rounded): within 2⁻¹⁰¹ of the cancelling terms (the double-word's reach) and one ulp of f, as with the Newton
  step before (a guard of the tables' reach: 448 ULP of f at x = 1.078, where f is ~10⁻¹⁸ of its terms; 1,706 at
  x = 1.4669 before).

Before (main at 1412cc4): _dw_log 2⁻⁹⁹·⁷ at x = 1 − 2⁻⁵³ with a lo part, _dw_log1p 2⁻¹³·² at d = −1 + 4e−16 with a lo
part (1 + d rounded to a double-word first), NaN at x = 0 (log: −inf).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from symnet.codegen import doubleword as dw


def _numpy_primitives() -> dict:
    namespace = {"np": np}
    for name in dw.ORDER:
        exec(dw.primitive_text(name, "numpy"), namespace)  # noqa: S102 - the library's own helper texts
    return namespace


def _worst(fn, mp, hi, lo) -> tuple[float, float]:
    """The worst relative error (log2) of fn(hi, lo) against mpmath at hi + lo, and where."""
    with np.errstate(all="ignore"):
        got_hi, got_lo = fn(np.asarray(hi, np.float64), np.asarray(lo, np.float64))
    worst, at = 0.0, None
    with mpmath.workdps(80):
        for h, l, gh, gl in zip(hi, lo, got_hi, got_lo):
            true = mp(mpmath.mpf(float(h)) + mpmath.mpf(float(l)))
            if true == 0 or abs(true) < 2.0 ** -960:  # the lo part of a double-word is subnormal below
                continue
            e = float(abs((mpmath.mpf(float(gh)) + mpmath.mpf(float(gl)) - true) / true))
            if e > worst:
                worst, at = e, float(h)
    return (math.log2(worst) if worst else -math.inf), at


def _with_lo(rng, hi):
    lo = hi * rng.uniform(-1, 1, hi.size) * 2.0 ** -53
    return np.where(np.abs(lo) < 1e-300, 0.0, lo)


def test_numpy_log_with_lo_parts():
    rng = np.random.default_rng(161)
    edges = np.array([0.75, 0.75 + 2.0 ** -53, 1.5 - 2.0 ** -52, 1.5, 1 + 2.0 ** -8, 1 - 2.0 ** -8, 1 + 3 * 2.0 ** -9,
                      1 + 2.0 ** -52, 1 - 2.0 ** -53, 1.0, 0.999, 1.001, 2.0 ** -1000, 2.0 ** 1000, 5e-324, 1e-310,
                      1.7976931348623157e308, 2.0 ** -1022])
    near = 1 + rng.choice([-1, 1], 3000) * 2.0 ** -rng.uniform(1, 60, 3000)
    points = np.concatenate([edges, near, 10.0 ** rng.uniform(-323, 308, 1500), rng.uniform(0.7, 1.6, 1500)])
    bits, at = _worst(_numpy_primitives()["_dw_log"], mpmath.log, points, _with_lo(rng, points))
    assert bits <= -102, f"_dw_log: 2^{bits:.1f} at {at}"


def test_numpy_log1p_with_lo_parts():
    rng = np.random.default_rng(162)
    d = np.concatenate([rng.uniform(-1, 10, 1500), rng.choice([-1, 1], 2000) * 2.0 ** -rng.uniform(1, 1030, 2000),
                        -1 + 2.0 ** -rng.uniform(1, 52, 300), (rng.uniform(0, 10, 1000) - 1.0) + 1e-8,
                        [-0.5, -0.5 - 2.0 ** -54, 1e-8, -1e-8, 5e-324, 1e300]])
    bits, at = _worst(_numpy_primitives()["_dw_log1p"], mpmath.log1p, d, _with_lo(rng, d))
    assert bits <= -102, f"_dw_log1p: 2^{bits:.1f} at {at}"


@pytest.mark.parametrize("name", ["_dw_log", "_dw_log1p"])
def test_numpy_log_outside_its_domain(name):
    """Not positive finite: what log gives (−inf at 0, NaN below, inf at inf), a NaN lo part NaN; no IndexError."""
    fn = _numpy_primitives()[name]
    shift = 1.0 if name == "_dw_log1p" else 0.0
    x = np.array([0.0, -1.0, np.inf, np.nan, 2.0, 3.0]) - shift
    lo = np.array([0.0, 0.0, 0.0, 0.0, np.nan, 0.0])
    with np.errstate(all="ignore"):
        hi, _ = fn(x, lo)
    assert hi[0] == -np.inf and np.isnan(hi[1]) and hi[2] == np.inf and np.isnan(hi[3]) and np.isnan(hi[4])
    assert hi[5] == math.log(3.0)


def test_numpy_log_is_table_driven_and_triton_keeps_newton():
    numpy_text, triton_text = dw.primitive_text("_dw_log", "numpy"), dw.primitive_text("_dw_log", "triton")
    assert "_DW_LOG_F = np.array" in numpy_text and "_dw_log_step" not in numpy_text
    assert "_dw_log_step" in triton_text and "_DW_LOG" not in triton_text
    assert "_dw_log_step" not in dw._closure(["_dw_log1p"], "numpy")
    assert "_dw_log_step" in dw._closure(["_dw_log1p"], "triton")


def test_poisson_f_where_it_cancels_to_the_last_bits():
    """t = x/log(x + 10⁻⁸) rounded: f = x − t·log(x + 10⁻⁸) is some 2⁻⁵³ of its terms (and less); within 2⁻¹⁰¹ of
    the terms and one ulp of f."""
    from test_elem12 import _outputs

    rng = np.random.default_rng(163)
    x = np.concatenate([rng.uniform(1.0005, 1.5, 60), rng.uniform(0.6, 0.999, 40), rng.uniform(1.5, 10, 40)])
    with mpmath.workdps(60):
        t = np.array([float(mpmath.mpf(float(v)) / mpmath.log(mpmath.mpf(float(v)) + mpmath.mpf("1e-8"))) for v in x])
    f = _outputs("poisson_nll(x, t, 0)", None, "numpy", {"t": list(t), "x": list(x)}, np.float64)[0]
    worst = 0.0
    with mpmath.workdps(120):
        eps = mpmath.mpf("1e-8")
        for j in range(len(x)):
            terms = mpmath.mpf(float(t[j])) * mpmath.log(mpmath.mpf(float(x[j])) + eps)
            true = mpmath.mpf(float(x[j])) - terms
            excess = abs(mpmath.mpf(float(f[j])) - true) - np.spacing(abs(float(true)))
            worst = max(worst, float(excess / abs(terms)))
    assert worst <= 2.0 ** -101, math.log2(worst)
