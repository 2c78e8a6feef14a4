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

import symnet

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}


def _outputs(formula, dtype, point, backend="numpy"):
    k = symnet.compile(symnet.derive(formula), backend=backend, progress=False)
    if backend == "numpy":
        out = k(**{n: np.array([v], dtype) for n, v in point.items()})
    else:
        import torch

        tdtype = torch.float64 if dtype is F64 else torch.float32
        out = k(**{n: torch.tensor([v], dtype=tdtype) for n, v in point.items()})
    return {name: float(o.reshape(-1)[0]) for name, o in zip(k.outputs, out)}


def _ulps(got, true, dtype) -> float:
    got = float(got)
    true = mpmath.mpf(true)
    if not math.isfinite(got):
        return math.inf
    tiny = float(np.finfo(dtype).tiny)
    if abs(true) < tiny:
        return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(float(np.finfo(dtype).smallest_subnormal)))
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(float(np.spacing(dtype(abs(float(true)))))))


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
    assert _ulps(got["f"], true, dtype) <= BOUND[dtype], (got, true)
    dx = true * (1 if base == mpmath.e else mpmath.log(2))
    assert _ulps(got["df_dx"], dx, dtype) <= BOUND[dtype], (got, dx)


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
    assert _ulps(got["f"], true, dtype) <= BOUND[dtype], (got, true)


# log1p of such a product: before, float64 (−800, 1e300) 0 for 3.67e−48 (torch 0).
@pytest.mark.parametrize("backend", BACKENDS)
def test_log1p_of_a_product_past_the_underflow(backend):
    _backend(backend)
    got = _outputs("log1p(y*exp(x))", F64, {"x": -800.0, "y": 1e300}, backend)
    true = _true_product(-800.0, 1e300, F64)
    assert _ulps(got["f"], true, F64) <= BOUND[F64], (got, true)


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
    assert _ulps(got["f"], _true_product(3.0, 0.5, dtype), dtype) <= 1, got
