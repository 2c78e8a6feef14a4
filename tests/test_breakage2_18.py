"""Session 18, h-break2_18: attacks on the day's new stability rules (rounded-log-argument, scaled-erfc,
quotient-square, rational-function, mixture-power, exp-minus-limit, the double-word block).

References are independent of symnet's code generator: mpmath of the formula as written, at 2000 digits
(a float64 product x·y of −1 + 2⁻⁵⁴·… needs ~1000 bits to leave −1: 50 digits would round it to −1 too).
Bounds: 4 ULP float64, 8 ULP float32.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch, ulp_error

F32, F64 = np.float32, np.float64
x, y = sp.symbols("x y", real=True)



def _log1p_product(a: float, b: float):
    """log(1 + a·b) of the floats a, b, exactly multiplied (mpmath, 2000 digits); NaN below −1."""
    with mpmath.workdps(2000):
        v = 1 + mpmath.mpf(a) * mpmath.mpf(b)
        return mpmath.log(v) if v > 0 else mpmath.nan


# float64 products that round to exactly −1 where the true product does not: −3·fl(1/3) = −1 + 2⁻⁵⁴·… (true
# log1p −37.43, float64 log1p −inf as torch's), −10⁻²⁰⁰·10²⁰⁰ (−37.57), −0.1·10 (true product −1 − 5.6e−17 < −1:
# NaN, not −inf), and one that rounds to −1 + 2⁻⁵³ (a check that the fix leaves it)
ROOT_PRODUCTS = [(-3.0, 1 / 3), (-1e-200, 1e200), (-0.1, 10.0), (-1.0, 1 - 2 ** -53)]


def test_log1p_of_a_product_rounding_to_minus_one_numpy():
    """log1p(x·y), NumPy float64, where fl(x·y) = −1: was −inf at the first three points (the widened function
    took the plain −inf over the double-word log1p's finite value; −0.1·10: −inf where the true value is NaN)."""
    kernel = compiled(sp.log(1 + x * y), "numpy", (x, y))
    a = np.array([p[0] for p in ROOT_PRODUCTS], F64)
    b = np.array([p[1] for p in ROOT_PRODUCTS], F64)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = kernel(x=a, y=b)[0]
    bad = [(p, float(value[i]), mpmath.nstr(_log1p_product(*p), 17)) for i, p in enumerate(ROOT_PRODUCTS)
           if ulp_error(float(value[i]), _log1p_product(*p), F64) > 4]
    assert not bad, bad


def test_log1p_of_a_product_rounding_to_minus_one_triton():
    """The same in the Triton kernel (TRITON_INTERPRET=1 without a GPU), float64."""
    torch = triton_torch()
    kernel = compiled(sp.log(1 + x * y), "triton", (x, y))
    a = torch.tensor([p[0] for p in ROOT_PRODUCTS], dtype=torch.float64)
    b = torch.tensor([p[1] for p in ROOT_PRODUCTS], dtype=torch.float64)
    value = kernel(x=a, y=b)[0]
    bad = [(p, float(value[i]), mpmath.nstr(_log1p_product(*p), 17)) for i, p in enumerate(ROOT_PRODUCTS)
           if ulp_error(float(value[i]), _log1p_product(*p), F64) > 4]
    assert not bad, bad


def _torch_grad(fn, a: float, b: float):
    """torch.autograd's (∂x, ∂y) of fn(x, y) in float64 at (a, b)."""
    import torch

    tx = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    ty = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    return [float(g) for g in torch.autograd.grad(fn(torch, tx, ty), (tx, ty))]


def test_quotient_square_beside_a_power_of_a():
    """∂y of x·atan(x/y) is −x²/(y²·(1 + x²/y²)): quotient-square took A = x as a factor only where it stood alone,
    so −x² kept 1/(x² + y²), ((1/m)/S)/m, which overflows at m < 2⁻⁵¹² in float64 (−inf at x = y = 1e−160, true
    −0.5, torch −0.5) and 2⁻⁶⁴ in float32; now −x·((x/m)/S)/m. Both dtypes, mpmath at 100 digits."""
    formula = x * sp.atan(x / y)
    kernel = compiled(formula, "numpy", (x, y))
    points = [(1e-160, 1e-160), (1e-200, 3e-200), (3e-20, 1e-20), (1e-25, 1e-25), (0.3, 1e-30), (2.0, 3.0),
              (1e200, 1e200), (0.0, 1e-300)]
    bad = []
    for dtype in (F32, F64):
        a = np.array([p[0] for p in points], dtype)
        b = np.array([p[1] for p in points], dtype)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = kernel(x=a, y=b)
        for i in range(len(points)):
            pa, pb = float(a[i]), float(b[i])
            if pb == 0.0:
                continue
            for j, e in enumerate((formula, sp.diff(formula, x), sp.diff(formula, y))):
                with mpmath.workdps(100):
                    want = sp.lambdify((x, y), e, "mpmath")(mpmath.mpf(pa), mpmath.mpf(pb))
                err = ulp_error(float(outs[j][i]), want, dtype)
                if err > (8 if dtype is F32 else 4):
                    bad.append((dtype.__name__, j, pa, pb, float(outs[j][i]), mpmath.nstr(want, 17)))
    assert not bad, bad


# quotient-square inside a sum: SymPy takes the factor x out of it (∂y of atan(x/y) + x·y is
# x·(1 − 1/(y²·(1 + x²/y²)))), so the rule saw 1/(y²·(1 + x²/y²)) alone and wrote ((1/m)/S)/m, which overflowed
# where m = max(|x|, |y|) < 2⁻⁵¹² though x·(…) does not (−inf at x = y = 1e−160; true and torch −5e159); session
# 19: the factor x outside is taken into the sum (x − x/(x² + y²)); more arrangements in tests/test_misc19.py
def test_quotient_square_inside_a_sum():
    formula = sp.atan(x / y) + x * y
    kernel = compiled(formula, "numpy", (x, y))
    a = b = 1e-160
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = float(kernel(x=np.array([a]), y=np.array([b]))[2][0])
    with mpmath.workdps(100):
        want = sp.lambdify((x, y), sp.diff(formula, y), "mpmath")(mpmath.mpf(a), mpmath.mpf(b))
    torch_err = ulp_error(_torch_grad(lambda t, u, v: t.atan(u / v) + u * v, a, b)[1], want, F64)
    assert ulp_error(got, want, F64) <= max(4, torch_err), (got, mpmath.nstr(want, 17))


@pytest.mark.parametrize("text", ["log1p(needed*within)", "log1p(deep*within)", "log1p(arg1*np)"])
def test_input_names_that_the_widened_function_uses(text):
    """Inputs named as the widened function's own arguments and locals (within, deep) or as its fallback names
    (arg1 beside np, which becomes arg1 too): was a SyntaxError traceback from symnet.compile (duplicate argument
    'within'); now a kernel whose value is log1p of the product (mpmath, 2000 digits, fl(x·y) = −1 included)."""
    import symnet

    kernel = symnet.compile(symnet.derive(text), backend="numpy")
    a = np.array([-3.0, 0.5, -1e-200], F64)
    b = np.array([1 / 3, 0.25, 1e200], F64)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        value = kernel(**dict(zip(kernel.inputs, (a, b))))[0]
    for i in range(3):
        assert ulp_error(float(value[i]), _log1p_product(float(a[i]), float(b[i])), F64) <= 4, (i, value[i])


def test_rational_of_high_degree_prints_each_horner_level_once(monkeypatch):
    """A rational function of degree n (rational-function: Horner in x and in 1/x) compiles in time linear in its
    printing: the derivation's text printer printed a nested sum with a leading minus twice (once to look at it,
    once reordered), 2ᵏ prints at depth k: degree 10 15,120 sum prints, degree 14 past 190 CPU s, degree 30 past
    4 CPU minutes (killed); now degree 10 2,350, degree 14 5,040 (3.0 s), degree 30 23 CPU s. Counted, not timed."""
    import symnet
    from symnet.render import TextPrinter

    calls = [0]
    original = TextPrinter._print_Add

    def counted(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TextPrinter, "_print_Add", counted)
    n = 10
    numerator = " + ".join(f"{i % 7 + 1}*x**{i}" for i in range(n + 1))
    denominator = " + ".join(f"{i % 5 + 1}*x**{i}" for i in range(n + 1))
    kernel = symnet.compile(symnet.derive(f"({numerator})/({denominator} + 3)"), backend="numpy")
    assert calls[0] <= 6000, calls[0]
    value = float(kernel(x=np.array([0.5]))[0][0])
    with mpmath.workdps(50):
        h = mpmath.mpf(0.5)
        want = sum((i % 7 + 1) * h ** i for i in range(n + 1)) / (sum((i % 5 + 1) * h ** i for i in range(n + 1)) + 3)
    assert ulp_error(value, want, F64) <= 4
