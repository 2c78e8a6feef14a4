"""Session 19, h-break19: attacks on sessions 17–18's work (rounded-log-argument, rational-function, mixture-power,
the double-word block, mpfloat, symnet.torch's inplace activations, hostile names).

References are independent of symnet's code generator: mpmath of the formula as written (its numbers and the
float inputs read exactly) at 800 digits, or torch in float64. Bounds: 4 ULP float64, 8 ULP float32.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulp_error

F32, F64 = np.float32, np.float64
x, y, z, w = sp.symbols("x y z w", real=True)
_DIGITS = 800  # 1 + 1e−300 needs 300 digits to leave 1



def _truths(expr, variables, point):
    """(f, ∂f/∂v for v in variables) of the SymPy ``expr`` at ``point`` (floats, read exactly), mpmath at 800
    digits of sympy.diff of the formula as written; NaN where it is not a real number."""
    out = []
    with mpmath.workdps(_DIGITS):
        env = {v: sp.Float(mpmath.mpf(float(p)), _DIGITS) for v, p in zip(variables, point)}
        for e in [expr] + [sp.diff(expr, v) for v in variables]:
            value = sp.N(e.subs(env), _DIGITS)
            out.append(mpmath.mpf(str(value)) if value.is_real else mpmath.nan)
    return out


def _worst(expr, variables, points, dtype, backend="numpy"):
    """The worst (ULP, output, point, got, true) of the generated kernel of ``expr`` over ``points``."""
    kernel = compiled(expr, backend, tuple(variables))
    names = [str(v) for v in variables]
    columns = {n: np.array([p[i] for p in points], dtype) for i, n in enumerate(names)}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "numpy":
            results = kernel(**columns)
        else:
            from conftest import triton_torch
            torch = triton_torch()
            results = [r.numpy() for r in kernel(**{n: torch.tensor(c) for n, c in columns.items()})]
    worst = (0.0, None, None, None, None)
    for j in range(len(points)):
        point = [float(columns[n][j]) for n in names]
        for name, got, want in zip(kernel.outputs, results, _truths(expr, variables, point)):
            u = ulp_error(float(got[j]), want, dtype)
            if u > worst[0]:
                worst = (u, name, dict(zip(names, point)), float(got[j]), mpmath.nstr(want, 17))
    return worst


_BOUND = {F64: 4, F32: 8}

# ------------------------------------------------------------------ 1. rounded-log-argument: log and log1p of a sum
# whose terms are products of inputs (x·y − z, x·y + z·w, x² + y², x·(1 − y) + y·(1 − x)): the rule took a sum of bare
# inputs (x + y) or one product (x·y), not these; each product rounded once formed, half an ulp of 1 relative to a
# result near 0. Measured at session start (NumPy): log(x·y − z) 4.5e15 ULP float64 (0 for −5.55e−17 at x = 3,
# y = fl(1/3), z = 0), 9.3e6 float32; log(x·y + z·w) 4.5e15; log(x² + y²) 7.2e15 at (0.6, 0.8); log(x + y·z) 6.0e15
# at x = 1e−300, y = z = 1; log(x·(1 − y) + y·(1 − x)) 6.0e15 at x = 1e−300, y = 1 (the mixture 1 − p_t with inputs);
# log1p(x·y − z·w) −inf at x = 3, y = fl(1/3), z = 2, w = 1 (true: NaN, x·y − z·w < −1; float32 −17.33), and its
# gradients ±inf. torch the same (it rounds the same products).

A, B = 1.4428819183193045, 0.6930573954107464  # fl(A·B) = 1 − 1.58e−8·…: tests/test_logprod18.py's point
LOG_SUM_CASES = [
    (sp.log(x * y - z), (x, y, z), [(A, B, 0.0), (A, B, 2.0 ** -60), (3.0, 1 / 3, 0.0), (A, B, float(F64(A) * F64(B))),
                                     (0.5, 0.25, -0.875)]),
    (sp.log(x * y + z * w), (w, x, y, z), [(B / 2, A, B / 2, A), (1.0, 1.0, 0.3, 0.7), (2.0, 3.0, 0.5, -0.5)]),
    (sp.log(x * x + y * y), (x, y), [(0.6, 0.8), (1e-200, 1.0), (3.0, 4.0)]),
    (sp.log(x + y * z), (x, y, z), [(1e-300, 1.0, 1.0), (0.5, A, B / 2), (0.25, 0.5, 1.5)]),
    (sp.log(x * (1 - y) + y * (1 - x)), (x, y), [(1e-300, 1.0), (0.5, 0.5), (0.3, 0.9), (1e-20, 1.0)]),
    (sp.log(1 + x * y - z * w), (w, x, y, z), [(1.0, 3.0, 1 / 3, 2.0), (1.0, 1e-300, 1.0, 0.0), (0.5, 0.5, 0.5, 0.25)]),
]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", range(len(LOG_SUM_CASES)), ids=[str(c[0]) for c in LOG_SUM_CASES])
def test_log_of_a_sum_of_products_numpy(case, dtype):
    """log(s) and log1p(s) of a sum s of products of inputs, and their gradients, NumPy: within the bound."""
    expr, variables, points = LOG_SUM_CASES[case]
    worst = _worst(expr, variables, points, dtype)
    assert worst[0] <= _BOUND[dtype], worst


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", [0, 4, 5], ids=[str(LOG_SUM_CASES[c][0]) for c in (0, 4, 5)])
def test_log_of_a_sum_of_products_triton(case, dtype):
    """The same on the Triton backend (the interpreter on a CPU)."""
    expr, variables, points = LOG_SUM_CASES[case]
    worst = _worst(expr, variables, points, dtype, backend="triton")
    assert worst[0] <= _BOUND[dtype], worst


# ------------------------------------------------------------------ 2. rational-function: a real root beyond the rule's
# threshold T. T came from the largest coefficient, constant terms included (x² − 10²⁰: T = 2^⌊(120 − 67)/2⌋ = 2²⁶),
# and past T the far form, Horner in t = 1/x, cancels at a root (1 − 10²⁰·t²). Measured at session start, NumPy
# float64, worst over x = r and its 3 neighbours each side and r(1 ± 1e−9): (x² − 10²⁰)/(x + 1) 1.5e15 ULP near 10¹⁰;
# (x − 10³⁰)/(x² + 1) 3.7e16 near 10³⁰; (x² − 10⁶⁰)/(x² + 1) 1.2e16; (x − 10¹⁰)²/(x² + 1) 7.5e15;
# (x³ − 8·10³⁰)/(x⁴ + 1) 1.1e297 (its derivative) near 2·10¹⁰.

def _around(r: float, dtype) -> list[float]:
    r = dtype(r)
    out, up, down = [r], r, r
    for _ in range(3):
        up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(-np.inf))
        out += [up, down]
    return [float(v) for v in out] + [float(r) * (1 + 1e-9), float(r) * (1 - 1e-9)]


FAR_ROOT_CASES = [((x ** 2 - sp.Integer(10) ** 20) / (x + 1), 1e10), ((x - sp.Integer(10) ** 30) / (x ** 2 + 1), 1e30),
                  ((x ** 2 - sp.Integer(10) ** 60) / (x ** 2 + 1), 1e30), ((x - sp.Integer(10) ** 10) ** 2 / (x ** 2 + 1), 1e10),
                  ((x ** 3 - 8 * sp.Integer(10) ** 30) / (x ** 4 + 1), 2e10)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", range(len(FAR_ROOT_CASES)), ids=[str(c[0]) for c in FAR_ROOT_CASES])
def test_rational_root_beyond_the_threshold_numpy(case, dtype):
    """A rational function of one input at a real root of its numerator past the old threshold: within the bound."""
    expr, root = FAR_ROOT_CASES[case]
    worst = _worst(expr, (x,), [(p,) for p in _around(root, dtype)], dtype)
    assert worst[0] <= _BOUND[dtype], worst


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_rational_root_beyond_the_threshold_triton(dtype):
    """The same on the Triton backend: (x − 10³⁰)/(x² + 1), the far form's widened factor."""
    expr, root = FAR_ROOT_CASES[1]
    worst = _worst(expr, (x,), [(p,) for p in _around(root, dtype)], dtype, backend="triton")
    assert worst[0] <= _BOUND[dtype], worst


# ------------------------------------------------------------------ 3. two written two-term softmaxes sharing a logit:
# f = e^b/(e^a + e^b) ∓ e^c/(e^a + e^c). SymPy writes ∂f/∂a as e^a·(e^c/(e^a + e^c)² − e^b/(e^a + e^b)²); each term of
# the sum was max-shifted on its own (e^(b − 2·max(a, b))/(…)²) before the distribute rule looked at the product, which
# then saw no unshifted sum and left e^a outside: e^a·(… e^(b − 2m) …) = 0·inf = NaN at a = b = −1e4 (true −0.25),
# and at a = −1e4, b = −745 (true −4.0e−4020: −0). Measured at session start, NumPy float64 and float32: NaN at both.

a_, b_, c_ = sp.symbols("a b c", real=True)
SHARED_SOFTMAX_CASES = [sp.exp(b_) / (sp.exp(a_) + sp.exp(b_)) - sp.exp(c_) / (sp.exp(a_) + sp.exp(c_)),
                        sp.exp(b_) / (sp.exp(a_) + sp.exp(b_)) + sp.exp(c_) / (sp.exp(a_) + sp.exp(c_))]
SHARED_SOFTMAX_POINTS = [(-1e4, -1e4, 0.0), (-1e4, -745.0, 1.0), (-200.0, -200.0, 0.0), (0.3, -0.2, 1.5),
                         (700.0, 700.0, -700.0), (1e4, -1e4, 1e4)]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", range(len(SHARED_SOFTMAX_CASES)), ids=["minus", "plus"])
def test_softmaxes_sharing_a_logit_numpy(case, dtype):
    """Two written softmaxes sharing a: the value and gradients within the bound, no NaN."""
    worst = _worst(SHARED_SOFTMAX_CASES[case], (a_, b_, c_), SHARED_SOFTMAX_POINTS, dtype)
    assert worst[0] <= _BOUND[dtype], worst


# ------------------------------------------------------------------ 4. a mixture of inputs to an input power,
# (u·t + (1 − u)·(1 − t))^g (the focal loss's (1 − p_t)^γ with p and t inputs). Its ∂g, b^g·log b, took log b of the
# rounded b: 0 for −1e−300 at u = 1e−300, t = 0 (6.0e15 ULP): fixed with section 1 (a sum of products). b^g itself
# rounds b first: the error of b times g, 480 ULP float64 at u = 0.3, t = 0, g = 1000 (torch bit for bit the same).

u_, t_, g_ = sp.symbols("u t g", real=True)
MIXTURE_POWER = (u_ * t_ + (1 - u_) * (1 - t_)) ** g_


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_mixture_power_gradient_in_g_near_one(dtype):
    """∂g of (u·t + (1 − u)·(1 − t))^g where the base is 1 − u, u tiny: within the bound (was 0 for −1e−300)."""
    points = [(2.0, 0.0, 1e-300), (0.5, 0.0, 1e-20), (3.7, 0.7, 0.3), (2.0, 1e-17, 0.5)]
    worst = _worst(MIXTURE_POWER, (g_, t_, u_), points, dtype)
    assert worst[0] <= _BOUND[dtype], worst


def test_mixture_power_large_exponent():
    """b^g at g = 1000: 480 ULP in float64 (torch the same bits) until session 20's rounded-power of a sum of inputs
    (tests/test_misc20.py)."""
    worst = _worst(MIXTURE_POWER, (g_, t_, u_), [(1000.0, 0.0, 0.3)], F64)
    assert worst[0] <= _BOUND[F64], worst


# ------------------------------------------------------------------ 5. quotient-square with a number in the quotient:
# atan(2x/y)′ = 2/(y·(1 + 4x²/y²)) (the 4x² not read as a square), atan(x/(2y))′, which the affine-root and
# power-quotient rules had turned into 1/(4 + {x²/y² select}) (grouped) before quotient-square looked. Measured at
# session start, NumPy (worst over the points below): atan(2x/y) ∂y float64 NaN at x = 1, y = 5e−324 (true −0.5) and at
# x = 0, y = 1e−300, 5.7e10 ULP at x = y = 1e−160, −0 for −4e−201 at 1e200; float32 NaN at x = 0.3, y = 1e−30 (true
# −1.67); atan(x/(2y)) (= atan(0.5*x/y) as parsed) the same (∂y −inf at x = y = 1e−160, true −4e159); atan(x/y) passed.

QUOTIENT_POINTS = {F64: [(1e-160, 1e-160), (1e200, 1e200), (0.0, 1e-300), (1e-300, 1.0), (3e38, 1e-30), (0.3, 1e-30),
                         (1e-30, 0.3), (1.0, 1.0), (-2.0, 0.5), (1e154, 1e-154), (1e-200, 1e200), (5e-324, 1.0),
                         (1.0, 5e-324)],
                   F32: [(1e-25, 1e-25), (0.0, 1e-40), (1e-40, 1.0), (3e38, 1e-30), (0.3, 1e-30), (1e-30, 0.3),
                         (1.0, 1.0), (-2.0, 0.5), (1e19, 1e-19), (1e-20, 1e20), (1e-45, 1.0), (1.0, 1e-45)]}
QUOTIENT_CASES = [sp.atan(2 * x / y), sp.atan(x / (2 * y)), sp.atan(-x / (3 * y)), sp.atan(3 * x / (2 * y))]


def _finite_truths_only(expr, points, dtype):
    """The points where every true output is within the dtype's range (a true 2e40 is inf in float32, rightly)."""
    big = float(np.finfo(dtype).max)
    keep = []
    for p in points:
        truths = _truths(expr, (x, y), [float(dtype(v)) for v in p])
        if all(mpmath.isnan(t) or abs(t) <= big for t in truths):
            keep.append(p)
    return keep


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", range(len(QUOTIENT_CASES)), ids=[str(c) for c in QUOTIENT_CASES])
def test_atan_of_a_scaled_quotient_numpy(case, dtype):
    """atan(k·x/y) and its gradients, NumPy: within the bound wherever the true values are in range."""
    expr = QUOTIENT_CASES[case]
    worst = _worst(expr, (x, y), _finite_truths_only(expr, QUOTIENT_POINTS[dtype], dtype), dtype)
    assert worst[0] <= _BOUND[dtype], worst


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_atan_of_a_scaled_quotient_triton(dtype):
    """atan(x/(2y)) on the Triton backend (the interpreter)."""
    expr = QUOTIENT_CASES[1]
    worst = _worst(expr, (x, y), _finite_truths_only(expr, QUOTIENT_POINTS[dtype], dtype), dtype, backend="triton")
    assert worst[0] <= _BOUND[dtype], worst


def test_atan_of_a_scaled_quotient_where_a_overflows():
    """∂y of atan(2x/y) at x = 1e308, y = 1e−308: −0 for −5e−309 until session 20 (A = 2x overflowed, so m = max(|A|,
    |B|) was inf and the rule returned its A-infinite limit 0); now m = max(|x|, |y|) and A/m = 2·(x/m)."""
    worst = _worst(QUOTIENT_CASES[0], (x, y), [(1e308, 1e-308)], F64)
    assert worst[0] <= _BOUND[F64], worst


def test_atan_quotient_over_x_near_zero():
    """∂x of atan(x/y)/x at x = 1e−30, y = 0.3: −5.6e14 for −2.47e−29 until session 20 (two 3.3e30 terms cancelled);
    now the removable series of atan(v)/v in v = x/y (tests/test_misc20.py)."""
    worst = _worst(sp.atan(x / y) / x, (x, y), [(1e-30, 0.3)], F64)
    assert worst[0] <= _BOUND[F64], worst


# ------------------------------------------------------------------ 6. NaN through a select whose taken branch does not
# hold the compared input: nan_through rewrites {A if x > 0; c otherwise} as {c if x ≤ 0; A otherwise} so that a NaN x
# reaches A (relu(x)·y: NaN, as torch). Where A does not hold x (where(x > 0, y, 0)), a NaN x then gave A: f = y = 3,
# ∂y = 1 at x = NaN, y = 3 (torch.where: 0 and 0, the condition false); where(x < 1, y², 2) gave 9 (torch 2).

NAN_SELECTS = [("where(x > 0, y, 0)", lambda t, a, b: t.where(a > 0, b, 0.0)),
               ("where(x < 1, y*y, 2)", lambda t, a, b: t.where(a < 1, b * b, 2.0)),
               ("where(x > 0, exp(y), 0)", lambda t, a, b: t.where(a > 0, t.exp(b), 0.0))]
# (where(x > 0, x·y, 0) stays NaN at a NaN x, by design: A holds x; torch.where gives 0 there)


@pytest.mark.parametrize("case", range(len(NAN_SELECTS)), ids=[c[0] for c in NAN_SELECTS])
def test_nan_through_a_select_not_holding_it(case):
    """A select at a NaN input, NumPy float64: the value and ∂y as torch.where's (float64 autograd)."""
    torch = pytest.importorskip("torch")
    import symnet

    formula, reference = NAN_SELECTS[case]
    kernel = compiled(symnet.parse(formula), "numpy", (x, y))
    a = np.array([np.nan, 2.0, -2.0, 0.5])
    b = np.array([3.0, 3.0, 3.0, -1.5])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = dict(zip(kernel.outputs, kernel(x=a, y=b)))
    ta = torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    value = reference(torch, ta, tb)
    grad_b, = torch.autograd.grad(value.sum(), [tb])
    np.testing.assert_array_equal(got["f"], value.detach().numpy())
    np.testing.assert_array_equal(got["df_dy"], grad_b.numpy())
