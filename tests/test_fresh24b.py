"""Session 24, fresh eyes on formulas a user brings (tests/test_fresh24b.py).

erfc(−u) written by the user: SymPy evaluates it at once to 2 − erfc(u), which cancels for u ≫ 0, so
GELU as torch computes it, x·erfc(−x/√2)/2, was 0 at x = −8.3 (true −4.35e−16; 8.8e15 ULP in float64,
`symnet verify "x*erfc(-x/sqrt(2))/2"`) and erfc(−x) 0 from x ≈ −6. The erf-complement rule now takes
2k − k·erfc(w) to 2k·Φ(√2·w). References: mpmath at 60 digits, torch.special.erfc in float64."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen.rewrite import _erf_complement
from symnet.special import ndtr

MP_DPS = 60  # mpmath's digits for each test here (conftest._mpmath_digits)
XS = [-30.0, -8.3, -6.0, -3.0, -0.5, 0.0, 1e-300, 0.7, 3.0, 8.3, 30.0]


def _ulps(got, true):
    true = float(true)
    if true == 0.0:
        return 0.0 if got == 0.0 else np.inf
    return abs(float(got) - true) / np.spacing(abs(true))


def _kernel(formula):
    return symnet.compile(symnet.derive(formula))


@pytest.mark.parametrize("formula, f, df", [
    ("erfc(-x)", lambda x: mpmath.erfc(-x), lambda x: 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x * x)),
    ("x*erfc(-x/sqrt(2))/2", lambda x: x * mpmath.erfc(-x / mpmath.sqrt(2)) / 2,
     lambda x: mpmath.erfc(-x / mpmath.sqrt(2)) / 2 + x * mpmath.npdf(x)),
])
def test_written_erfc_of_negated_argument_keeps_its_digits(formula, f, df):
    k = _kernel(formula)
    x = np.array(XS)
    value, grad = k(x=x)
    worst_f = max(_ulps(g, f(mpmath.mpf(v))) for g, v in zip(value, XS))
    worst_df = max(_ulps(g, df(mpmath.mpf(v))) for g, v in zip(grad, XS))
    assert worst_f <= 4 and worst_df <= 4, (formula, worst_f, worst_df, value, grad)


def test_gelu_erfc_beside_torch():
    torch = pytest.importorskip("torch")
    k = _kernel("x*erfc(-x/sqrt(2))/2")
    x = np.array(XS)
    tx = torch.tensor(x, dtype=torch.float64)
    ref = (tx * torch.special.erfc(-tx / np.sqrt(2)) / 2).numpy()  # torch's own GELU form: it rounds −x/√2
    got = k(x=x)[0]  # first, 728 ULP at x = −30 (2u²·ε), so agreement to 1e−12, not in ULPs
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)
    assert got[1] < 0  # x = −8.3: was −0


def test_rule_takes_sympys_two_minus_erfc():
    x, y = sp.symbols("x y", real=True)
    fired = _erf_complement(sp.erfc(-x) + y)  # SymPy: 2 − erfc(x) + y
    assert fired is not None and fired.expr == 2 * ndtr(sp.sqrt(2) * x) + y
    assert _erf_complement(3 - sp.erfc(x)) is None  # not 2k − k·erfc: no such identity


def test_verify_details_name_the_value_where_the_true_result_is_zero():
    """`symnet verify "2*(y*mu**(-0.5)/0.5 + mu**0.5/0.5)"` (a Tweedie deviance, p = 1.5) printed "true 0/subnormal: inf
    subnormal steps at mu=0.0014122456874570298, y=0.0014122456874570298": no value, and a figure that overflowed."""
    from symnet.verify.measure import Cell, Report, _Acc

    cell = Cell("df_dmu", "float64", "symnet numpy")
    acc = _Acc(cell, ["mu", "y"])
    acc.add(1.0000000000000002, mpmath.mpf(1), (0.5, 0.5))  # 1 ULP: a worst point, which the line hangs on
    acc.add(4.440892098500626e-13, mpmath.mpf(0), (0.0014122456874570298, 0.0014122456874570298))
    text = Report("f", {"float64": 4.0}, [cell]).details()
    assert "(got 4.4408920985006262e-13, true 0.0)" in text, text
    assert "> 1.8e+308 subnormal steps" in text and "inf subnormal" not in text, text


def _grad_ulps(formula, name, point, exact):
    """ULPs of ∂formula/∂name at one float64 point against mpmath's derivative of ``exact``."""
    k = _kernel(formula)
    got = dict(zip(k.outputs, (o[0] for o in k(**{n: np.array([v]) for n, v in point.items()}))))[f"df_d{name}"]
    true = mpmath.diff(lambda v: exact(**{**{n: mpmath.mpf(p) for n, p in point.items()}, name: v}), mpmath.mpf(point[name]))
    return _ulps(got, true)


def test_student_t_dnu_at_moderate_nu():
    """∂ν of ½(ν + 1)·log(1 + x²/ν) was 92 ULP in float64 at ν = 30, x = 1 (torch 988): the log1p-series rule (h-misc25)."""
    exact = lambda nu, x: (nu + 1) / 2 * mpmath.log(1 + x * x / nu)
    assert _grad_ulps("0.5*(nu + 1)*log(1 + x**2/nu)", "nu", {"nu": 30.0, "x": 1.0}, exact) <= 4


def test_tweedie_dmu_near_the_optimum():
    """Tweedie deviance (p = 1.5) 2(2y/√μ + 2√μ): ∂μ = 2(μ^−½ − y·μ^−³⁄²) cancels near the optimum μ = y. A strict
    xfail until session 25: 1.9e4 ULP at μ = 1.0001, y = 1 in float64 (torch 1.1e4); the common-power rule's
    μ^−³⁄²·(2μ − 2y) is within 1 (tests/test_pow25.py)."""
    exact = lambda mu, y: 2 * (y * mu ** -0.5 / 0.5 + mu ** 0.5 / 0.5)
    assert _grad_ulps("2*(y*mu**(-0.5)/0.5 + mu**0.5/0.5)", "mu", {"mu": 1.0001, "y": 1.0}, exact) <= 4


def test_gelu_tanh_written_out_slope_at_huge_x():
    """GELU-tanh written out, 0.5x(1 + tanh(c(x + 0.044715x³))): ∂x was NaN from |x| ≈ 1e103 in float64 (x³
    overflows: sech²(u)·x·u′ = 0·inf; torch NaN too), a strict xfail until session 27: the overflowed-product rule
    takes the limit past |x| = 3.4e38^(1/3) (tests/test_logs27.py)."""
    k = _kernel("0.5*x*(1 + tanh(0.7978845608028654*(x + 0.044715*x**3)))")
    with np.errstate(all="ignore"):
        grad = k(x=np.array([1e103, -1e103]))[1]
    assert grad[0] == 1.0 and grad[1] == 0.0, grad
