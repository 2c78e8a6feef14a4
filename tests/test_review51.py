"""Session 51 (h-review51): a review of the session's merged changes (git diff 9054e200 c55f5c1e) against base 9054e200.

Probed (NumPy, float64 and float32, 320 points a formula: ordinary, near-cancelling, far, tiny, subnormal, ±0, ±inf;
mpmath at 300 digits where base and merged differ): the widened product overflow (a·b ± c·d, tanh(c·x + d·h) − h), the
sigmoid-weighted exponentials (Laplace and Gaussian mixtures, the Laplace pair), σ(z)^q sums (GCE), the half-power
quotients (RMSNorm-3, g·RMSNorm-3, x·y/√(x² + 2y² + 1), x/√(x² + y² + 1)), Weibull near its root with k ≈ 1, the
exponent products with an irrational constant, ((x + y)/y)^5, focal, huber and Grouped constants.

One regression found and fixed: h-shift50's widened-sum branch of sigmoid-power (sigmoids._widened_sigmoid_power)
rewrote σ(u)^γ as e^(γ·u)·σ(−u)^γ below u = −700 in the outer widened sum only; a widened sum nested in it (∂z of
σ(z)^q·(1 − σ(z))·z is z·W + σ(z)^q, W the GCE's sum) kept σ(z), which is 0 below z = −745, and the far branch then
replaced base's right path. ∂z at (q, z) = (0.04863114443882014, −955.7925600245663): base 9054e200 0.21 ULP, merged
c55f5c1e 6.5e−21 for −2.96e−19 (6.3e15 ULP, wrong sign); float32 0.21 → 1.2e7 ULP; 75 of 320 points in float64 and 48
in float32 (q ∈ [0.001, 3], z ∈ −[1, 1e4]). Now the rule declines where a nested widened sum holds σ: base's kernel.
"""
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, mp_function, ulps

MP_DPS = 300

GCE_Z = "sigmoid(z)**q*(1 - sigmoid(z))*z"
POINTS = [(0.04863114443882014, -955.7925600245663), (0.0014069681868500478, -840.0010569161128), (0.5, -3.0)]
# base 9054e200 and merged alike: below z ≈ −1100 (q·z still moderate) the nested sum's σ(z)^q is 0 in the double words
BASE_TOO = [(0.01607917181149524, -2402.491620639512), (0.03908228757245953, -4666.935867384123)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_power_with_a_nested_widened_sum_far(dtype):
    _check(POINTS, dtype)


@pytest.mark.xfail(strict=True, reason="∂z of σ(z)^q·(1 − σ(z))·z at (0.0161, −2402.5): 0 for −6.29e−16 (6.4e15 ULP), "
                   "at (0.0391, −4666.9) 0 for −1.11e−77, float64, base 9054e200 the same: the nested widened sum's "
                   "σ(z)^q underflows; rewriting inside nested widened sums is not done (review51)")
def test_sigmoid_power_with_a_nested_widened_sum_farther():
    _check(BASE_TOO, np.float64)


def _check(points, dtype):
    import mpmath
    from symnet.functions import sigmoid
    q, z = sp.symbols("q z", real=True)
    expr = sp.sympify(GCE_Z, locals={"q": q, "z": z, "sigmoid": sigmoid})
    truth = mp_function(sp.diff(expr, z), [q, z])
    cols = [np.array([p[0] for p in points], dtype), np.array([p[1] for p in points], dtype)]
    with np.errstate(all="ignore"):
        got = np.asarray(compiled(GCE_Z)(*cols)[2], np.float64)
    bound = 4 if dtype == np.float64 else 8
    for g, qq, zz in zip(got, *cols):
        with mpmath.workdps(MP_DPS):
            t = truth(mpmath.mpf(float(qq)), mpmath.mpf(float(zz)))
        if abs(t) >= np.finfo(dtype).tiny:
            assert ulps(g, t, dtype) <= bound, (qq, zz, g, float(t))
        else:
            assert abs(g) <= 2 * np.finfo(dtype).tiny, (qq, zz, g, float(t))
