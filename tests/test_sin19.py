"""Sums of an input and a sin or tanh of another input that cancel (issue 16, session 19): y − tanh(x) and
y + sin(x) at y = −fl(sin x) etc., against mpmath at 50 digits (independent of symnet's formula), in ULPs of the
result, beside torch's float64 (never worse than torch)."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import symnet
from conftest import ulps


def _worst(formula, true_of, xs, ys, dtype, backend="numpy"):
    k = symnet.compile(symnet.derive(formula), backend=backend, progress=False)
    if backend == "numpy":
        f = np.asarray(k(x=xs.astype(dtype), y=ys.astype(dtype))[0], dtype=np.float64)
    else:
        import torch
        f = k(x=torch.from_numpy(xs.astype(dtype)), y=torch.from_numpy(ys.astype(dtype)))[0].double().numpy()
    with mpmath.workdps(150):  # y − tanh x at x = y = −1e−30 is 1e−61 of x: past 50 digits
        return max(ulps(v, true_of(mpmath.mpf(float(x)), mpmath.mpf(float(y))), dtype)
                   for v, x, y in zip(f, xs.astype(dtype), ys.astype(dtype)))


# y = x near 0 (x − tanh x = x³/3 is past a double word's 2⁻¹⁰⁶ below |x| ≈ 1e−16), y = fl(tanh x) elsewhere
_TANH_X = np.array([-1e-30, 3e-20, -2e-9, 1e-8, 1e-5, -0.7, 0.9, 4.0, -17.0, 19.5, 25.0])


def _tanh_points(dtype):
    xs = _TANH_X.astype(dtype)
    ys = np.where(np.abs(xs) < 1e-8, xs, np.tanh(xs)).astype(dtype)
    return xs, ys


@pytest.mark.parametrize("dtype, bound", [(np.float64, 4), (np.float32, 8)])
def test_y_minus_tanh_cancelling_numpy(dtype, bound):
    xs, ys = _tanh_points(dtype)
    worst = _worst("y - tanh(x)", lambda x, y: y - mpmath.tanh(x), xs, ys, dtype)
    assert worst <= bound, worst  # float64 was 6.1e15 ULP at x = y = −1e−30 (0 for −3.3e−91)


def test_y_minus_tanh_past_a_double_word():
    """y − tanh x at y = fl(tanh x), x = −0.3, is 2⁻⁵⁵·⁵ of tanh x: the double-word tanh's 2⁻¹⁰⁶ left 4.19 ULP (over
    500 such points 79 past 4, worst 186; y − exp x the same way: 13 past 4, worst 839); the third tier's triple
    words (session 20, tests/test_tw20.py) take it."""
    xs = np.array([-0.3])
    worst = _worst("y - tanh(x)", lambda x, y: y - mpmath.tanh(x), xs, np.tanh(xs), np.float64)
    assert worst <= 4, worst


def test_y_minus_tanh_cancelling_triton_float64():
    from conftest import triton_torch
    triton_torch()
    xs, ys = _tanh_points(np.float64)
    worst = _worst("y - tanh(x)", lambda x, y: y - mpmath.tanh(x), xs[:5], ys[:5], np.float64, backend="triton")
    assert worst <= 4, worst


# y = −fl(sin x) (y = fl(cos x)): the sum is what fl(sin x) lost, up to half an ulp of it; near multiples of π/2
# too, where sin or cos itself is small (x = 355: sin x = −3.0e−5)
_SIN_X = np.array([0.3, -1.1, 2.5, 3.141592653589793, -4.712388980384690, 355.0, 1e-3, 7.0, -20.0, 1000.0,
                   43113.645, 99999.0])


def _sin_points(dtype, name):
    xs = _SIN_X.astype(dtype)
    ys = (-np.sin(xs) if name == "sin" else np.cos(xs)).astype(dtype)
    return xs, ys


_CASES = {"sin": ("y + sin(x)", lambda x, y: y + mpmath.sin(x)), "cos": ("y - cos(x)", lambda x, y: y - mpmath.cos(x))}


@pytest.mark.parametrize("name", ["sin", "cos"])
@pytest.mark.parametrize("dtype, bound", [(np.float64, 4), (np.float32, 8)])
def test_y_plus_sin_cancelling_numpy(name, dtype, bound):
    """Was 8,113 ULP (float64, at x = −6.07e229, past SIN_LIMIT: still) and 1.3e5 (float32, x = 43113.645)."""
    formula, true_of = _CASES[name]
    xs, ys = _sin_points(dtype, name)
    worst = _worst(formula, true_of, xs, ys, dtype)
    assert worst <= bound, worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_y_plus_sin_cancelling_never_worse_than_torch(dtype):
    torch = pytest.importorskip("torch")
    formula, true_of = _CASES["sin"]
    xs, ys = _sin_points(dtype, "sin")
    ours = _worst(formula, true_of, xs, ys, dtype)
    theirs_f = (torch.from_numpy(ys) + torch.sin(torch.from_numpy(xs))).double().numpy()
    with mpmath.workdps(150):
        theirs = max(ulps(v, true_of(mpmath.mpf(float(x)), mpmath.mpf(float(y))), dtype)
                     for v, x, y in zip(theirs_f, xs, ys))
    assert ours <= max(theirs, 0.5), (ours, theirs)


def test_y_plus_sin_cancelling_triton_float64():
    from conftest import triton_torch
    triton_torch()
    xs, ys = _sin_points(np.float64, "sin")
    formula, true_of = _CASES["sin"]
    assert _worst(formula, true_of, xs[[0, 3, 5, 10]], ys[[0, 3, 5, 10]], np.float64, backend="triton") <= 4


def test_past_sin_limit_the_float64_sum_as_torch():
    """|x| > 2²¹ (SIN_LIMIT; 1e5 before session 47): no double-word reduction (Payne & Hanek's is not done): the float64 sum, as torch's."""
    torch = pytest.importorskip("torch")
    xs = np.array([-6.070778017266921e+229, 1.8263134160537530e10])
    ys = -np.sin(xs)
    k = symnet.compile(symnet.derive("y + sin(x)"), progress=False)
    got = k(x=xs, y=ys)[0]
    assert np.array_equal(got, (torch.from_numpy(ys) + torch.sin(torch.from_numpy(xs))).numpy())


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_double_word_sin_cos_within_2_to_the_minus_102(name):
    """_dw_sin/_dw_cos (the NumPy text) against mpmath at 80 digits, up to SIN_LIMIT (measured 2⁻¹⁰⁵·³ over 4,000
    points; SIN_LIMIT 2²¹ since session 47, tests/test_trig47.py, 1e5 before); NaN beyond it, so that the widened
    function takes its float64 body."""
    from symnet.codegen import doubleword as dw
    namespace = {"np": np}
    for helper in dw.ORDER:
        exec(dw.primitive_text(helper, "numpy"), namespace)  # noqa: S102 - the library's own helper texts
    rng = np.random.default_rng(19)
    x = np.concatenate([rng.uniform(-4, 4, 300), 10 ** rng.uniform(-12, 5, 300) * rng.choice([-1, 1], 300),
                        [np.pi, np.pi / 2, -3 * np.pi / 2, 355.0, 1e5, 5e-324, 0.7853981633974483]])
    hi, lo = namespace[f"_dw_{name}"](x, np.zeros_like(x))
    worst, at = 0.0, None
    with mpmath.workdps(80):
        for xi, h, l in zip(x, hi, lo):
            true = getattr(mpmath, name)(mpmath.mpf(float(xi)))
            e = float(abs((mpmath.mpf(float(h)) + mpmath.mpf(float(l)) - true) / true))
            if e > worst:
                worst, at = e, xi
    assert worst <= 2.0 ** -102, (worst, at)
    with np.errstate(invalid="ignore"):
        past = namespace[f"_dw_{name}"](np.array([2.2e6, 1e300, np.inf, np.nan]), np.zeros(4))[0]
    assert np.isnan(past).all()
