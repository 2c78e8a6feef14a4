"""review49 (issue 16, session 49, h-review49): the session's merged changes (9d4d1074..a4f51dda) compared with the
base 9d4d1074 on 320 random points per formula (ordinary, far, tiny, subnormal, ±inf, signed zeros; float32 and
float64; NumPy) of 35 formulas the changed rules match and their relatives, against mpmath at 600 digits.

Fixed here:
- power-minus-one-quotient (tiny49) rewrote the (x^λ − 1)/λ inside ∂λ of (x^λ − 1)/(c·λ), c ≠ 1 (the
  power-minus-one-slope rule matches c = 1 alone): ∂λ = (x^λ·log x − (x^λ − 1)/λ)/(3λ), whose sum cancels, lost the
  widening of the written sum. float64 ∂λ at (λ, x) = (1.354e−8, 1.1453): 8.7e7 ULP (base 0.34; torch 4.4e17); at the
  ordinary (−0.8112, 2.0399) 7.54 (base 0.46, torch 2.54: worse than torch); (−3.4e−4, 23.78) 1,837 (base 0.88);
  ((x^λ − 1)/(2λ) at the first point 6.5e7); float32 ∂λ at (1e−8, 1.5) 0 for 0.0274 (1.5e7 ULP; base 0.14; torch
  7.3e15) and f at the subnormal λ = 2.1e−44, x = 0.4382: −0.26667 for −0.27501 (2.8e5 ULP; base 0.24; torch 9.2e6,
  as the kernel's f shared ∂λ's rewritten quotient). Now the rule leaves a term of a sum whose other terms hold the
  same power b^y (losses._power_minus_one_quotients): every point back to base's numbers (0.34, 0.46, 0.88, 0.14,
  0.24 ULP). Plain Box-Cox and the GCE (tiny49's tests) are unchanged.

Found (base 9d4d1074 was right at each, torch as noted):
- sigmoid-weighted-exps (mix49; fixed by the lead after: the shift only where every exponent is within 2¹²⁷): −log(σ(a)e^(−(x−m)²) + σ(−a)e^(−(x−n)²)) f at (a, m, n, x) = (0, 0, 1, 1e200): NaN for
  +inf (true 1e400; base inf, torch inf); the Laplace mixture −log(σ(a)e^(−|x−m|) + σ(−a)e^(−|x−n|)) f at x = −inf
  (a = m = 0, n = 2): NaN for +inf (base inf, torch inf). 1/(σ(a)e^x + σ(−a)e^y) ∂x at (2.9005, 0.4898, y = +inf):
  NaN for 0 (base −0, torch −0). Random probe: f NaN for +inf at 16 of 320 points (Laplace) and 37 (Gaussian mixture)
  in float64, where one exponent is infinite or overflows.
- power-under-root (root49; a strict xfail below): √(y^x) ∂y at (x, y) = (−1e−300, 1e−310): −inf for −5e9 (base 0.15 ULP; torch −inf);
  float32 (−1e−40, 1e−40): −inf for −0.5 (base exact; torch −inf); x·√(y^(2x)) ∂y at (−2.144e−241, 1.348e−316): +inf for
  3.41e−166 (base 0.17 ULP; torch inf). |y|^(e/2 − 1) overflows where the factor e/2 brings it back into range.

Cost (NumPy, 1e6 elements at U(−3, 3) (positive where a power's base), base/merged in turn in one process, best of 5,
two runs): (x − y)/√(x² + y² + 1) (sum-power-cancel's half powers) 1.56 / 1.59× in float64 (0.74–0.80 float32);
x/√((x² + y² + z²)/3 + 1e−6) 1.28 / 1.41× float64; Tukey's biweight float32 1.42× (float64 0.56×); cosine loss float32
1.29×; σ(z)^q float32 1.29×; the rest 0.7–1.23×.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, mp_function, ulps
from symnet.parsing import FUNCTIONS

MP_DPS = 600
F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}
RULE_CASES: list = []  # no new rule


def _value(formula, point, which, dtype):
    """symnet's NumPy value of ``formula`` (f, or ∂ by input ``which``) at ``point`` (a dict) and its truth."""
    names = sorted(point)
    symbols = sp.symbols(names, real=True)
    expr = sp.sympify(formula, locals={**FUNCTIONS, **{str(v): v for v in symbols}})
    target = expr if which == "f" else sp.diff(expr, symbols[names.index(which)])
    with np.errstate(all="ignore"):
        out = compiled(formula)(*[np.array([point[n]], dtype) for n in names])
    got = float(out[0 if which == "f" else 1 + names.index(which)][0])
    with mpmath.workdps(MP_DPS):
        truth = mp_function(target, symbols)(*(mpmath.mpf(float(dtype(point[n]))) for n in names))
    return got, truth


BOXCOX3 = "(x**l - 1)/(3*l)"


@pytest.mark.parametrize("formula, point, which, dtype", [
    (BOXCOX3, dict(l=1.3543949142118065e-08, x=1.1452509325050588), "l", F64),  # was 8.7e7 ULP
    (BOXCOX3, dict(l=-0.8111884360917769, x=2.0398841834193258), "l", F64),  # 7.54 (torch 2.54)
    (BOXCOX3, dict(l=-0.00034072606765460275, x=23.775180014851067), "l", F64),  # 1,837
    ("(x**l - 1)/(2*l)", dict(l=1.3543949142118065e-08, x=1.1452509325050588), "l", F64),  # 6.5e7
    (BOXCOX3, dict(l=1e-08, x=1.5), "l", F32),  # 1.5e7 (0 for 0.0274)
    (BOXCOX3, dict(l=2.1019476964872256e-44, x=0.4382251799106598), "f", F32),  # 2.8e5
])
def test_scaled_box_cox_slope_keeps_its_widened_sum(formula, point, which, dtype):
    got, truth = _value(formula, point, which, dtype)
    assert ulps(got, truth, dtype) <= BOUND[dtype], (got, truth)


_GMIX = "-log(sigmoid(a)*exp(-(x - m)**2) + sigmoid(-a)*exp(-(x - n)**2))"
_LAPLACE = "-log(sigmoid(a)*exp(-abs(x - m)) + sigmoid(-a)*exp(-abs(x - n)))"


# review49 measured: sigmoid-weighted-exps (mix49) gave NaN where an exponent is infinite or overflows: f NaN for +inf
# (base inf, torch inf); ∂x NaN for 0 (base −0, torch −0). Fixed by the lead: the shifted branch only where every
# exponent is within 2¹²⁷; since session 51 (h-reshift51) within 2¹⁰⁰⁰ in float64, finite in float32
# (sigmoids._WEIGHTED_EXPONENT_SCALE; tests/test_reshift51.py)
@pytest.mark.parametrize("formula, point, which", [
    (_GMIX, dict(a=0.0, m=0.0, n=1.0, x=1e200), "f"),
    (_LAPLACE, dict(a=0.0, m=0.0, n=2.0, x=-np.inf), "f"),
    ("1/(sigmoid(a)*exp(x) + sigmoid(-a)*exp(y))", dict(a=2.9004981945517976, x=0.4898007379912461, y=np.inf), "x"),
])
def test_sigmoid_weighted_exps_at_an_infinite_exponent(formula, point, which):
    got, truth = _value(formula, point, which, F64)
    assert ulps(got, truth, F64) <= BOUND[F64], (got, truth)


# review49 measured: power-under-root (root49) formed |y|^(e/2 − 1), which overflows where e/2·|y|^(e/2 − 1) does not:
# ±inf for −5e9, −0.5, 3.41e−166 (base ≤ 0.17 ULP; torch ±inf)
@pytest.mark.parametrize("formula, point, dtype", [
    ("sqrt(y**x)", dict(x=-1e-300, y=1e-310), F64),
    ("sqrt(y**x)", dict(x=-1e-40, y=1e-40), F32),
    ("x*sqrt(y**(2*x))", dict(x=-2.1442419124309798e-241, y=1.3479054e-316), F64),
])
def test_power_under_root_slope_at_a_subnormal_base(formula, point, dtype):
    got, truth = _value(formula, point, "y", dtype)
    assert ulps(got, truth, dtype) <= BOUND[dtype], (got, truth)
