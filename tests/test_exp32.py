"""Triton's float32 exponential (registry._exp, session 26). Triton lowers a float32 tl.exp to 2^(x·log₂e) with the
product rounded to float32, whose error grows with |x|: on an H200, 63.4 ULP at x = 86.64 over 36M points (torch.exp
1.89; benchmarks/results/gpu-exp26-h200-2026-12-04.txt, h-cells26). Every generated exponential (the exp function,
e^−u, 2^u, and the registry's helpers: σ, softplus, expm1, sinh, cosh, …) now goes through _exp: Cody–Waite's
reduction x = j·ln 2 + r, then 2^(r·log₂e) times 2^j built from its bits. Under Triton's interpreter tl.exp2 is
NumPy's, so these tests check the reduction and the scaling (≤ 1 ULP of mpmath, subnormal results, the ends, NaN);
the GPU's ex2.approx adds its own 2⁻²² or so (not measured here: no GPU this session)."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
from conftest import compiled, triton_torch


def _exp32(xs):
    tt = triton_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, df = compiled("exp(x)", "triton")(x=tt.tensor(np.asarray(xs, np.float32)))
    return f.double().numpy(), df.double().numpy()


def _true(xs):
    with mpmath.workdps(50):
        return np.array([float(mpmath.exp(mpmath.mpf(float(v)))) for v in np.asarray(xs, np.float32)])


def _ulps(got, want):
    step = np.array([float(np.spacing(np.float32(abs(w)))) if np.isfinite(w) else 1.0 for w in want])
    return np.abs(got - want) / step


def test_the_whole_finite_range_within_one_ulp():
    """20,001 points over [−104, 89] and the points around the switches: ≤ 2.5 ULP of mpmath (measured 2.25: the
    interpreter's e^r is NumPy's float32 exp, itself 1.68 ULP at worst (h-cells26), of the reduced r; subnormal
    results in steps of the subnormal grid), ∂ = e^x the same; before, under the interpreter tl.exp was NumPy's
    float32 exp of x (63.4 ULP on the GPU at 86.64)."""
    xs = np.concatenate([np.linspace(-104, 89, 20001), [86.63916015625, 88.72283, -87.33654, -103.27893, -0.5, 0.5,
                                                        0.34657359, -0.34657359, 1e-30, -1e-30, 0.0]])
    xs = xs.astype(np.float32)
    f, df = _exp32(xs)
    want = _true(xs)
    finite = np.isfinite(want) & (want < 3.4e38)
    assert _ulps(f[finite], want[finite]).max() <= 2.5
    assert np.array_equal(f, df)


def test_the_ends_and_nan():
    """Past 88.7228 inf, below −103.98 0 (the subnormal 2⁻¹⁴⁹ rounds there), ±inf to inf and 0, NaN kept."""
    xs = np.array([88.73, 89.0, 1e4, 3e38, np.inf, -103.98, -104.0, -1e4, -3e38, -np.inf, np.nan], np.float32)
    f, _ = _exp32(xs)
    assert np.all(np.isinf(f[:5])) and np.all(f[:5] > 0)
    assert np.all(f[5:10] == 0.0)
    assert np.isnan(f[10])
    assert _exp32(np.array([-103.27893], np.float32))[0][0] == 2.0 ** -149


def test_every_generated_exponential_goes_through_it():
    """The committed kernels' exponentials (σ's e^−|x|, softplus, the exp function) call _exp, whose float32 branch
    is the reduction; float64 keeps tl.exp (libdevice)."""
    from symnet.kernels import load_kernel
    text = open(load_kernel("sigmoid", "triton").__file__, encoding="utf-8").read()
    assert "def _exp(x):" in text and "return tl.exp(x)" in text
    assert "exp_neg_abs_z = _exp(-(tl.abs(z)))" in text and "tl.exp(-" not in text


def test_a_power_of_two_is_exact_at_whole_exponents():
    """2^u (the registry's exp2): before, the printer wrote e^(u·log 2), the product rounded first: 308 ULP of f and
    428 of ∂ in float64 at u = 1000, 30 and 42 in float32 at u = 120 (h-tsweep26b, under the interpreter; a GPU the
    same: the error is the generated code's). Now _exp2: exact at whole u, ≤ 1 ULP between, subnormal results on
    their grid, the ends."""
    tt = triton_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f64 = compiled("exp2(x)", "triton")(x=tt.tensor([1000.0, -1074.0, 1023.5, -0.5, 1024.0], dtype=tt.float64))
        f32 = compiled("exp2(x)", "triton")(x=tt.tensor([120.0, -149.0, 127.5, -130.25, 128.0, -151.0, float("nan")]))
    assert f64[0][0].item() == 2.0 ** 1000 and f64[0][1].item() == 2.0 ** -1074 and f64[0][4].item() == float("inf")
    assert abs(f64[0][2].item() / (2.0 ** 1023 * 2 ** 0.5) - 1) < 3e-16
    assert abs(f64[1][0].item() / (2.0 ** 1000 * 0.6931471805599453) - 1) < 4e-16  # ∂ = 2^u·log 2
    v = f32[0].double().numpy()
    assert v[0] == 2.0 ** 120 and v[1] == 2.0 ** -149 and v[4] == float("inf") and v[5] == 0.0 and np.isnan(v[6])
    with mpmath.workdps(50):
        want = [float(mpmath.power(2, mpmath.mpf(u))) for u in (127.5, -130.25)]
    assert abs(v[2] - want[0]) <= np.spacing(np.float32(want[0])) and abs(v[3] - want[1]) <= 2.0 ** -149
