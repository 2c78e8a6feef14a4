"""Session 16's breakage tests: hostile inputs against what was built today, each fault found a test that failed
before its fix (or a strict xfail naming the fault). References are independent of symnet: mpmath at 50 digits,
torch in float64, written here per formula."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

import symnet
from test_breakage5_formula import _ulps  # |got − want| in steps of the dtype at want (subnormal at least)
from test_far16 import _compiled_both  # the kernel as emitted, and with every select on every element

MP_DPS = 50  # mpmath's digits for each test here (conftest._mpmath_digits)


def _quiet(kernel, **arrays):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kernel(**arrays)


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


# ---------------------------------------------------------------------------------------------------------------
# (2) the NumPy emitter's far branches. Fault: an output whose select has far branches wrote its last branch through
# printer.assign_into (np.multiply(−y/s², E − …, out=)), the select prints it −y·(E − …)/s²: other roundings, so not
# the bits of the select computed everywhere, and 1.9 ULP off in float32 at x = 1, y = 1e4 (∂f/∂x −1966.1191, true
# −1966.11933; the select's −1966.1193).

SOFTPLUS_FAR = "where(x > 1000, softplus(x) - softplus(-x), y*sigmoid(-x))"


def test_far_output_last_branch_is_the_select_s_printing():
    now, everywhere = _compiled_both(SOFTPLUS_FAR)
    assert "_far = np.nonzero(" in now.source
    x = np.float32(1.0)
    ys = np.array([1e4, -1e4, 1000.0, -1000.0, 100.0, 88.7], np.float32)
    _, df_dx, _ = _quiet(now, x=np.full_like(ys, x), y=ys)
    want = [-float(mpmath.mpf(float(y)) * _sig(mpmath.mpf(1)) * _sig(mpmath.mpf(-1))) for y in ys]
    assert float(_ulps(df_dx, want, np.float32).max()) <= 1, (df_dx, want)
    for dtype in (np.float32, np.float64):
        xs = np.array([1.0, 2000.0, -5.0, np.inf, 0.0, 1e-30], dtype)
        for y in ys.astype(dtype):
            for g, w in zip(_quiet(now, x=xs, y=np.full_like(xs, y)), _quiet(everywhere, x=xs, y=np.full_like(xs, y))):
                assert np.array_equal(g, w, equal_nan=True), (dtype, y, g, w)


# ---------------------------------------------------------------------------------------------------------------
# (1) the shifted argument (a user's p − t·log(p + 1e−8)): f is double-word now (fine at every point tried, float64,
# against mpmath with 1e−8 the decimal); its ∂p = 1 − t/(p + 1e−8) is not: it cancels where p + 1e−8 ≈ t.

def test_shifted_argument_f_is_accurate_where_it_cancels():
    k = symnet.compile(symnet.derive("p - t*log(p + 1e-8)"), "numpy")
    p = np.array([1.0, 1.078, 1e4, -9.999999e-9, 1e-30, 5e-324])
    t = np.array([1.0, 14.352764527482286, 1e4, 0.5, 3e38, 1e-30])
    f, _, _ = _quiet(k, p=p, t=t)
    eps = mpmath.mpf("1e-8")
    want = [mpmath.mpf(a) - mpmath.mpf(b) * mpmath.log(mpmath.mpf(a) + eps) for a, b in zip(p, t)]
    assert float(_ulps(f, [float(w) for w in want], np.float64).max()) <= 4, (f, want)


def test_shifted_argument_dp_where_it_cancels():
    """Was 2.4e7 ULP at p = t = 1, 4.4e11 at 1e4, 0 at 3e38 (true 3.3e−47): the derivative reached the shifted-argument
    rule as 1 − 10⁸·t/(1 + 10⁸·p) (together() of 1 − t/(p + 10⁻⁸)), whose sum 10⁸·p + 1 the rule did not take for
    x + c. Session 18: k·x + c too, ((10⁸·p − 10⁸·t) + 1)/(1 + 10⁸·p) in double words: 0.50 ULP at each point.
    The reference at 120 digits (1 − p/(p + 10⁻⁸) at p = 3e38 leaves 3 of 50 digits)."""
    torch = pytest.importorskip("torch")
    k = symnet.compile(symnet.derive("p - t*log(p + 1e-8)"), "numpy")
    p = np.array([1.0, 1e4, 3e38])
    _, dp, _ = _quiet(k, p=p, t=p.copy())
    with mpmath.workdps(120):
        eps = mpmath.mpf("1e-8")
        want = [float(1 - mpmath.mpf(a) / (mpmath.mpf(a) + eps)) for a in p]
    pt = torch.tensor(p, requires_grad=True)
    (pt - pt.detach() * torch.log(pt + 1e-8)).sum().backward()
    assert float(_ulps(pt.grad.numpy(), want, np.float64).max()) > 1e6  # torch cancels too
    assert float(_ulps(dp, want, np.float64).max()) <= 4, (dp, want)


# ---------------------------------------------------------------------------------------------------------------
# (3) one-minus-scaled-exp in float32: 0.5·(s + (p − t)²·e^(−s)) is within 2 ULP of mpmath float32 and float64 over
# p, t in {0, ±1e−30, ±1, 2.5, 1e4, ±3e38}, s in {±1e−30, 0, 1, ±80, ±88.7, 180, ±1e4} (p − t overflowing float32
# included) except where p = t and e^(−s) overflows: 0·inf.

# (session 19: the zero-scaled-exp rule; measured before: f, ∂p, ∂t NaN where −5000, 0, 0, torch the same)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_variance_nll_at_p_equal_t_and_e_minus_s_overflowing(dtype):
    k = symnet.compile(symnet.derive("0.5*(s + (p - t)**2*exp(-s))"), "numpy")
    p = np.array([1.0, 0.0, -3e38], dtype)
    outs = _quiet(k, p=p, t=p.copy(), s=np.full_like(p, -1e4))
    assert all(np.isfinite(o).all() for o in outs), outs


# ---------------------------------------------------------------------------------------------------------------
# A select's condition against a constant float32 cannot hold (x > 1e300, x < −1e39: far conditions, the far
# emitter's kind). Fault: in a float32 kernel the constant rounded to ±inf, so x > 1e300 was false at x = +inf and
# x < −1e39 false at −inf: where(x > 1e300, y, x·y) gave inf at x = inf, y = 2 (true 2; float64 kernels 2), and
# where(x < −1e39, 0, x·y) NaN at x = −inf, y = 0 (true 0), NumPy and Triton alike (torch's float32 the same).
# The constant is now compared as a float64 (printing.ConditionalPrinting._compared).

BEYOND_FLOAT32 = [  # formula, x, y, the value of f (the math, not symnet's), exact in float32
    ("where(x > 1e300, y, x*y)", [np.inf, 1.0, -np.inf, 1e30], [2.0, 2.0, 0.5, 2.0], [2.0, 2.0, -np.inf, 2e30]),
    ("where(x < -1e39, 0, x*y)", [-np.inf, 1.0, np.inf], [0.0, 3.0, 2.0], [0.0, 3.0, np.inf]),
    ("where(x >= 5e38, y, x*y)", [np.inf, 1e3], [2.0, 2.0], [2.0, 2e3]),
]


@pytest.mark.parametrize("formula, x, y, want", BEYOND_FLOAT32)
def test_a_condition_beyond_float32_numpy(formula, x, y, want):
    k = symnet.compile(symnet.derive(formula), "numpy")
    for dtype in (np.float32, np.float64):
        f = _quiet(k, x=np.array(x, dtype), y=np.array(y, dtype))[0]
        assert np.array_equal(f, np.array(want, dtype)), (dtype, f, want)


@pytest.mark.parametrize("formula, x, y, want", BEYOND_FLOAT32[:2])
def test_a_condition_beyond_float32_triton(formula, x, y, want):
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    k = symnet.compile(symnet.derive(formula), "triton")
    f = k(x=torch.tensor(x, dtype=torch.float32), y=torch.tensor(y, dtype=torch.float32))[0]
    assert np.array_equal(f.numpy(), np.array(want, np.float32)), (f, want)


# (session 19: the zero-scaled-exp rule widens (p − t)·e^(−s) alone; measured before: NaN, torch's float32 NaN too)
def test_log_variance_nll_triton_float32_product_overflowing_and_underflowing():
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    formula = "0.5*(s + (p - t)**2*exp(-s))"
    p, t, s = np.float32(3e38), np.float32(-3e38), np.float32(180.0)
    true = float((mpmath.mpf(float(p)) - mpmath.mpf(float(t))) * mpmath.exp(-mpmath.mpf(float(s))))
    numpy_kernel = symnet.compile(symnet.derive(formula), "numpy")
    _, dp, _, dt = _quiet(numpy_kernel, p=np.array([p]), s=np.array([s]), t=np.array([t]))
    assert float(_ulps(dp, [true], np.float32).max()) <= 1 and float(_ulps(dt, [-true], np.float32).max()) <= 1
    triton_kernel = symnet.compile(symnet.derive(formula), "triton")
    _, dp, _, dt = triton_kernel(p=torch.tensor([p]), s=torch.tensor([s]), t=torch.tensor([t]))
    assert float(_ulps(dp.numpy(), [true], np.float32).max()) <= 1, dp
