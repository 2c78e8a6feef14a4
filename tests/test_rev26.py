"""A review of session 26's Triton exponentials (h-rev26): b^u for a number b > 0 other than 2.

The printer wrote b^u as _exp(u·log b) with the product rounded to the kernel's dtype first, the fault 9b73f1f
fixed for 2^u alone: an error of |u·log b| ulps of the exponent's scale, so 84 ULP of 10^u in float32 at u near 38
and 968 in float64 near 300 (torch.pow ≤ 1). Now registry._exp_times: u·log b in float64 for float32 (its
exponential rounded once), and in float64 the product's rounding error by an FMA plus log b's second part. Checked
under Triton's interpreter against mpmath at 50 digits, torch beside."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from conftest import compiled, triton_torch


def _run(expr, xs, dtype):
    tt = triton_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, df = compiled(expr, "triton")(x=tt.tensor(np.asarray(xs, dtype)))
    return f.double().numpy(), df.double().numpy()


def _ulps(got, want, dtype):
    """|got − want| in steps of dtype at want, over the points where want is a normal number of dtype."""
    info = np.finfo(dtype)
    ok = np.isfinite(want) & (np.abs(want) < float(info.max)) & (np.abs(want) >= float(info.tiny))
    step = np.spacing(np.abs(want[ok]).astype(dtype)).astype(np.float64)
    return np.abs(got[ok] - want[ok]) / step


# (expression, base, float32 points, float64 points): |u·log b| up to the ends of each dtype's range
_POWERS = [("10**x", 10, np.linspace(-37, 38, 151), np.linspace(-300, 300, 151)),
           ("3**x", 3, np.linspace(-74, 76, 151), np.linspace(-600, 600, 151)),
           ("0.5**x", 0.5, np.linspace(-120, 120, 151), np.linspace(-1000, 1000, 151))]


@pytest.mark.parametrize("expr, base, xs32, xs64", _POWERS, ids=[p[0] for p in _POWERS])
def test_a_constant_base_power_rounds_no_product_first(expr, base, xs32, xs64):
    """b^u and its ∂ = b^u·log b against mpmath: f ≤ 1 ULP (measured after: 0.5 float32, 1.0 float64; torch.pow
    0.57 and 1.0), ∂ ≤ 2.5 (1.75, 2.0). Measured 2026-12-04 before (e^(u·log b), the product rounded; 2001 points):
    10^u f/∂ 83.5/78.0 ULP float32, 968/975 float64; 3^u 84.6/84.1 and 901/921; 0.5^u f 63.7 and 657."""
    for dtype, xs in ((np.float32, xs32), (np.float64, xs64)):
        x = np.asarray(xs, dtype)
        f, df = _run(expr, x, dtype)
        with mpmath.workdps(50):
            true = [mpmath.power(mpmath.mpf(base), mpmath.mpf(float(v))) for v in x]
            want = np.array([float(t) for t in true])
            want_d = np.array([float(t * mpmath.log(base)) for t in true])
        assert _ulps(f, want, dtype).max() <= 1.0, (dtype, _ulps(f, want, dtype).max())
        assert _ulps(df, want_d, dtype).max() <= 2.5, (dtype, _ulps(df, want_d, dtype).max())


def test_a_constant_base_power_at_its_ends():
    """10^u near the largest float of each dtype (float64 10^308.25, float32 10^38.5: ≤ 1 ULP of mpmath; before
    859 and 37.4 ULP, the product rounded), past it inf, far below 0, ±inf to inf and 0, NaN kept, and
    subnormal results on their grid (float64 10^−320, float32 10^−40 and 10^−45)."""
    f64, _ = _run("10**x", [308.25, 400.0, -400.0, np.inf, -np.inf, np.nan, -320.0, 1e308, -1e308], np.float64)
    f32, _ = _run("10**x", [38.5, 39.0, -46.0, np.inf, -np.inf, np.nan, -40.0, -45.0], np.float32)
    with mpmath.workdps(50):
        near64, near32 = float(mpmath.power(10, 308.25)), float(mpmath.power(10, 38.5))
    assert abs(f64[0] - near64) <= np.spacing(near64), (f64[0] - near64) / np.spacing(near64)
    assert abs(f32[0] - near32) <= float(np.spacing(np.float32(near32))), \
        (f32[0] - near32) / float(np.spacing(np.float32(near32)))
    assert f64[1] == np.inf and f64[2] == 0.0 and f64[3] == np.inf and f64[4] == 0.0 and np.isnan(f64[5])
    assert f64[6] == 1e-320 and f64[7] == np.inf and f64[8] == 0.0
    assert f32[1] == np.inf and f32[2] == 0.0 and f32[3] == np.inf and f32[4] == 0.0 and np.isnan(f32[5])
    assert f32[6] == float(np.float32(1e-40)) and f32[7] == float(np.float32(1e-45))
