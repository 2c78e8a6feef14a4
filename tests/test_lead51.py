"""Session 51, the lead: a float32 NumPy kernel crashed on a product whose constants come first.

h-review51 found √2·x·y/(1000·√π·z) raise "TypeError: return arrays must be of ArrayType" in every float32 call (base
9054e200 the same): the generated helper _float32_product multiplied its first two factors, both numbers (√2 and
π^(−1/2)), into a float64 scalar and then tried to multiply the arrays into it in place. It now multiplies in place
only into an array of the product's shape. Checked against mpmath at 50 digits, float32 and float64.
"""
import mpmath
import numpy as np
import pytest

import symnet
from conftest import ulps

MP_DPS = 50


def _truth(x, y, z):
    with mpmath.workdps(MP_DPS):
        c = mpmath.sqrt(2) / (1000 * mpmath.sqrt(mpmath.pi))
        x, y, z = (mpmath.mpf(float(v)) for v in (x, y, z))
        return [c * x * y / z, c * y / z, c * x / z, -c * x * y / z**2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constants_first_product_runs_in_float32(dtype):
    d = symnet.derive("sqrt(2)*x*y/(1000*sqrt(pi)*z)")
    k = symnet.compile(d, progress=False)
    x = np.array([1.0, 2.0, 3e-30, -0.7], dtype=dtype)
    y = np.array([1.5, -2.0, 1e30, 1e-3], dtype=dtype)
    z = np.array([0.3, 7.0, 1e-20, -5.0], dtype=dtype)
    outs = k(x, y, z)
    assert all(o.dtype == dtype for o in outs)
    for i in range(len(x)):
        for got, want in zip(outs, _truth(x[i], y[i], z[i])):
            want = float(want)
            if abs(want) > np.finfo(dtype).max:
                assert np.isinf(got[i]) and np.sign(got[i]) == np.sign(want)
            else:
                assert ulps(got[i], want, dtype) <= 4
