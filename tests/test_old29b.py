"""Older strict xfails of issue 16, fixed in session 29 (h-old29b), each against mpmath at 50+ digits and torch's
autograd of the formula as written, never against the expression the code came from.

* ∂ of x^(1/1000001) at a subnormal x: (1/1000001)·x^(−1000000/1000001) overflowed x^p before the division by
  1000001 (inf at x = 1e−310 for 9.99e303; torch inf): the root-reciprocal rule's c·x^(p+1)/x where 0 < x < 2⁻¹⁰⁰
  (tests/test_breakage23.py's strict xfail, now passing).
* log(e^(x·y) − 1 − x·y): e^u − 1 − u with u = x·y cancelled (the vanishing-series rule took sums of one input only):
  f 1.9e6 ULP, ∂ 9.1e7 at (1e−8, 1); f −inf at (5e−324, 2) for −1488.19. The rule now takes a sum that holds its
  inputs as one product u, its series in u (h-old29's attempt), with the select lifted to the whole expression: the
  attempt's select inside the derivative's denominator hid the quotient (e^u − 1)/(e^u − 1 − u) from exp-dominant,
  NaN at (30, 30) and (63.99, 1023.99) (tests/test_breakage22b.py's strict xfail: f right now, ∂y still not).
"""
from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import pytest

import symnet
from conftest import triton_torch

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}


def _rule_cases():
    import sympy as sp

    x = sp.Symbol("x", real=True)
    # (rule, formula, variables, domain of random points, bad point, dtype), for tests/test_stability_rules.py
    return [("root-reciprocal", x ** sp.Rational(1, 1000001), (x,), (1e-6, 4.0), (1e-310,), F64)]


RULE_CASES = _rule_cases()


@functools.lru_cache(maxsize=None)
def _kernel(formula, backend="numpy"):
    return symnet.compile(symnet.derive(formula), backend, progress=False)


def _ulps(got, true, dtype) -> float:
    """|got − true| in ULPs of ``dtype`` at true (±inf where true overflows the dtype counts as its rounding)."""
    got = float(got)
    if abs(true) > float(np.finfo(dtype).max):
        true = math.copysign(math.inf, true)
    if math.isnan(got) or math.isinf(got) or math.isinf(true):
        return 0.0 if got == true else math.inf
    if true == 0:
        return 0.0 if got == 0 else math.inf
    tiny = float(np.finfo(dtype).tiny)
    spacing = float(np.spacing(dtype(max(min(abs(float(true)), float(np.finfo(dtype).max)), tiny))))
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(spacing))


def _torch_grad(fn, xs, dtype):
    torch = pytest.importorskip("torch")
    t = torch.tensor(np.asarray(xs, dtype), dtype=torch.float32 if dtype == F32 else torch.float64, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.double().numpy()


# ------------------------------------------------------------------ root-reciprocal: ∂ of x^(1/n), n large

_ROOT_POINTS = {F64: [1e-310, 1e-320, 2.2e-308, 2.0 ** -100, 2.0 ** -101, 1e-300, 1e-30, 0.5, 3.0, 1e300],
                F32: [1e-40, 1e-44, 2.0 ** -101, 1e-30, 0.5, 3.0, 3e38]}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_derivative_of_a_high_root_at_subnormals(dtype):
    """∂ x^(1/1000001) = x^(−1000000/1000001)/1000001. Before (main 50a34fe), float64: inf at 1e−310 (truth 9.99e303)
    and 1e−320 (9.99e313), as torch; now ≤ 1 ULP against mpmath at every point, and never worse than torch; 0, ∞ and
    a negative x keep the power's values (inf, 0, NaN: torch's)."""
    n = 1000001
    xs = _ROOT_POINTS[dtype]
    _, grad = _kernel("x**(1/1000001)")(x=np.array(xs, dtype))
    theirs = _torch_grad(lambda t: t ** (1 / n), xs, dtype)
    bad = []
    with mpmath.workdps(50):
        for xv, g, tg in zip(xs, grad, theirs):
            truth = mpmath.mpf(float(dtype(xv))) ** (mpmath.mpf(1) / n - 1) / n
            err, terr = _ulps(g, truth, dtype), _ulps(tg, truth, dtype)
            if err > BOUND[dtype] or err > max(terr, 1.0):
                bad.append((xv, float(g), float(truth), err, float(tg), terr))
    assert not bad, bad
    _, special = _kernel("x**(1/1000001)")(x=np.array([0.0, np.inf, -1e-30, -1.0], dtype))
    assert special[0] == np.inf and special[1] == 0.0 and np.isnan(special[2:]).all(), special


def test_derivative_of_a_high_root_at_subnormals_triton():
    """The same select in the Triton kernel (float64 and float32), at the points where the written form overflowed."""
    torch = triton_torch()
    k = _kernel("x**(1/1000001)", "triton")
    _, g64 = k(x=torch.tensor([1e-310, 1e-320, 0.0, 0.5], dtype=torch.float64))
    _, g32 = k(x=torch.tensor([1e-40, 0.5], dtype=torch.float32))
    n = 1000001
    with mpmath.workdps(50):
        for xs, got, dtype in (([1e-310, 1e-320], g64[:2], F64), ([1e-40], g32[:1], F32)):
            for xv, g in zip(xs, got.tolist()):
                truth = mpmath.mpf(float(dtype(xv))) ** (mpmath.mpf(1) / n - 1) / n
                assert _ulps(g, truth, dtype) <= 1.0, (xv, g, truth)
    assert float(g64[2]) == math.inf


# ------------------------------------------------------------------ vanishing-series in a product of inputs

_PRODUCT_POINTS = [(1e-8, 1.0), (3e-5, 0.5), (0.01, -2.0), (-1e-3, 1.0), (1e-3, 1e-3), (0.1, -0.1), (0.3, 2.0),
                   (2.0, 0.7), (5.0, -3.0), (30.0, 30.0), (63.99, 1023.99), (-30.0, 30.0), (1e154, 1e154),
                   (5e-324, 2.0)]


def test_log_of_exp_minus_one_minus_a_product_of_inputs():
    """log(e^(x·y) − 1 − x·y) and its ∂x, ∂y, float64 against mpmath at 1,000 digits. Before (main 50a34fe): f 1.9e6
    ULP, ∂x 9.1e7, ∂y 6.1e7 at (1e−8, 1); f 5.9e4, ∂ 1.85e6 at (1e−3, 1e−3); f 110, ∂ 1.76e3 at (−1e−3, 1); f 30, ∂
    491 at (3e−5, 1/2); ∂ 55 at (0.1, −0.1); f −inf at (5e−324, 2) for −1488.19 (torch NaN). Now ≤ 1 ULP at each;
    at (30, 30), (63.99, 1023.99) and (1e154, 1e154) the exp-dominant forms as before (h-old29's attempt: NaN there).
    (∂ at (5e−324, 2): tests/test_breakage22b.py's strict xfail.)"""
    f, gx, gy = _kernel("log(exp(x*y) - 1 - x*y)")(x=np.array([p[0] for p in _PRODUCT_POINTS]),
                                                   y=np.array([p[1] for p in _PRODUCT_POINTS]))
    bad = []
    with mpmath.workdps(1000):
        for i, (xv, yv) in enumerate(_PRODUCT_POINTS):
            X, Y = mpmath.mpf(xv), mpmath.mpf(yv)
            s = mpmath.exp(X * Y) - 1 - X * Y
            truth = [mpmath.log(s), Y * mpmath.expm1(X * Y) / s, X * mpmath.expm1(X * Y) / s]
            got = [f[i], gx[i], gy[i]][:1 if xv < 1e-300 else 3]
            errors = [_ulps(g, t, F64) for g, t in zip(got, truth)]
            if max(errors) > BOUND[F64]:
                bad.append(((xv, yv), errors))
    assert not bad, bad


def test_log_of_exp_minus_one_minus_a_product_of_inputs_triton():
    """The same in the Triton kernel, float64 and float32 (before: float64 f 1.9e6 ULP at (1e−8, 1), as NumPy)."""
    torch = triton_torch()
    k = _kernel("log(exp(x*y) - 1 - x*y)", "triton")
    points = [(1e-8, 1.0), (-1e-3, 1.0), (0.1, -0.1), (30.0, 30.0), (63.99, 1023.99), (5.0, -3.0)]
    bad = []
    for tdtype, dtype in ((torch.float64, F64), (torch.float32, F32)):
        outputs = k(x=torch.tensor([p[0] for p in points], dtype=tdtype),
                    y=torch.tensor([p[1] for p in points], dtype=tdtype))
        with mpmath.workdps(300):
            for i, (xv, yv) in enumerate(points):
                X, Y = mpmath.mpf(float(dtype(xv))), mpmath.mpf(float(dtype(yv)))
                s = mpmath.exp(X * Y) - 1 - X * Y
                truth = [mpmath.log(s), Y * mpmath.expm1(X * Y) / s, X * mpmath.expm1(X * Y) / s]
                errors = [_ulps(float(o[i]), t, dtype) for o, t in zip(outputs, truth)]
                if max(errors) > BOUND[dtype]:
                    bad.append((dtype.__name__, (xv, yv), errors))
    assert not bad, bad
