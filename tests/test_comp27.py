"""Faults of random compositions of registry functions (issue 16; h-comp27, 2026-12-04).

The strict xfails of tests/test_ite26.py (h-ite26's runs of tests/test_hypothesis_compositions.py), fixed here:

* Heaviside(softplus(tanhshrink(x))) raised ValueError in SymPy's Heaviside.eval while a rule's float probe ran CSE:
  a Grouped sum of CSE's temporaries (symbols with no assumptions) had an unknown commutativity, so the product
  holding it was built non-commutative, hence "not real". Grouped now takes its sum's commutativity.
* (mish(elu(x))) − (tan(x)) raised NotEvaluable 'no mpmath rule for CentredSeries': the infinite-limit rule's mpmath
  look at ±inf met the mish-series node. A series node (SeriesBase) is now evaluated as the function it stands for.
* ∂x of erf(exp(exp(x)))·elu(x) was NaN from x ≈ 6.57 (e^(−u²) 0 where u = e^(eˣ) inf): the exp-product-limit rule.
* float32 log2(erfcx(x)) was inf at x = −24.47 and its ∂ NaN (erfcx overflows first): the log-erfcx-left rule.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.special import erfcx

x = sp.Symbol("x", real=True)

# (rule, written formula, its variables, domain of random points, bad point, dtype): tests/test_stability_rules.py's cases
RULE_CASES = [
    ("log-erfcx-left", sp.log(erfcx(x)), (x,), (-4.0, 4.0), (-24.47,), np.float32),
    ("exp-product-limit", x * sp.exp(x) * sp.exp(-x ** 2), (x,), (-4.0, 4.0), (800.0,), np.float64),
]


def _ulp(got, true, dtype) -> float:
    return abs(float(got) - float(true)) / float(np.spacing(dtype(abs(float(true)))))


# ------------------------------------------------------------------ Heaviside of a select holding CSE's temporaries

def test_heaviside_of_softplus_of_tanhshrink_generates():
    """Before: ValueError 'Function defined only for Real Values. Complex part: im(softplus(Piecewise(…)))' (h-ite26
    seed 27 draw 34). Values (1; softplus > 0) and gradient (0) against mpmath, the composition check."""
    from test_hypothesis_compositions import check
    check("Heaviside(softplus(tanhshrink(x)))", [1.5, -2.0, 0.3, -1e-3, 0.0, 40.0, -40.0])


def test_grouped_sum_of_unassumed_symbols_is_commutative():
    """Grouped(t + 1) with t a symbol of no assumptions (CSE's _t0): its commutativity was None, x·Grouped(…) then
    non-commutative and a Piecewise of it is_real False (before), so Heaviside(softplus(that)) raised."""
    from symnet.codegen.rewrite import Grouped
    from symnet.special import softplus
    t = sp.Symbol("_t0")
    g = Grouped(t + 1)
    assert g.is_commutative and (x * g).is_commutative
    pw = sp.Piecewise((x ** 3 * g, sp.Abs(x) < 1), (x - sp.tanh(x), True))
    assert pw.is_real is None
    assert isinstance(sp.Heaviside(softplus(pw)), sp.Heaviside)


# ------------------------------------------------------------------ a series node in mpmath

def test_mish_of_elu_minus_tan_generates():
    """Before: NotEvaluable 'no mpmath rule for CentredSeries' (h-ite26 seed 27 draw 44). Composition check."""
    from test_hypothesis_compositions import check
    check("(mish(elu(x))) - (tan(x))", [-0.6, 0.4, -3.0, 1.2, 0.0, -40.0, 1e-8])


def test_series_node_evaluates_as_its_function_in_mpmath():
    """mp_value of a CentredSeries (and a RootSeries) is the function it stands for (before: NotEvaluable)."""
    from symnet.codegen.roots import CentredSeries, RootSeries
    from symnet.verify.evaluate import mp_value
    g = sp.sin(x) - sp.Rational(1, 2)
    for node in (CentredSeries(x - 1, g, sp.Float(0.5), sp.Float(1.0)), RootSeries(x - 1, g, sp.Float(1.0))):
        with mpmath.workdps(40):
            assert mp_value(node * 3, {x: mpmath.mpf("0.7")}) == 3 * (mpmath.sin(mpmath.mpf("0.7")) - mpmath.mpf(1) / 2)


# ------------------------------------------------------------------ exp-product-limit

def test_gradient_of_erf_of_exp_of_exp_times_elu_far_out():
    """Before: ∂x NaN at x = 53.94 (h-ite26 seed 27 draw 69), and from x ≈ 6.57 (true 1.0). Composition check."""
    from test_hypothesis_compositions import check
    check("(erf(exp(exp(x)))) * (elu(x))", [53.9423838020453, 6.6, 7.0, 3.3, 1.2, 0.3, -1.0, 700.0])


def test_exp_product_limit_where_the_product_is_a_number():
    """e^(−x²)·e^(x² − 10)·x: the written product is 0·inf = NaN from |x| ≈ 26.7 (before), true x·e^(−10); the one
    exponential e^(−10) there is exact to the sum's rounding (≤ 2 ULP against mpmath), and the select keeps the
    written form (each exponential alone) where both are finite."""
    from symnet.codegen.rewrite import stabilise
    e = x * sp.exp(-x ** 2) * sp.exp(x ** 2 - 10)
    stable, rules = stabilise(e)
    assert "exp-product-limit" in [r.name for r in rules]
    d = symnet.derive(symnet.parse("x*exp(-x**2)*exp(x**2 - 10)"))
    k = symnet.compile(d)
    xs = [30.0, -40.0, 1e3, 3.0, 0.5]
    with np.errstate(all="ignore"):
        value, _ = k(np.array(xs))
    for xv, got in zip(xs, value):
        true = mpmath.mpf(xv) * mpmath.exp(-10)
        assert _ulp(got, true, np.float64) <= 2, (xv, got)


def test_exp_product_limit_leaves_products_that_do_not_meet():
    """e^(sin x)·e^(−x²)·x (e^(sin x) ≤ e: never inf where e^(−x²) is 0): not rewritten. e^x·e^(−x²)·x is (at
    x = 1024 of the scan: e^1024 inf, e^(−1024²) 0; the written product NaN there, true 0)."""
    from symnet.codegen.rewrite import _exp_product_limit
    assert _exp_product_limit(sp.exp(sp.sin(x)) * sp.exp(-x ** 2) * x) is None
    assert _exp_product_limit(sp.exp(x) * sp.exp(-x ** 2) * x) is not None


def test_gradient_of_erf_of_exp_of_exp_times_elu_past_exp_overflow():
    """Was a strict xfail (h-comp27): NaN at x = 710, true 1.0 (the merged exponent x + eˣ − e^(2eˣ) inf − inf; torch
    NaN too). Fixed in session 29 (h-old29: exp-product-limit's 0 past the exponents' overflow; tests/test_old29.py)."""
    k = symnet.compile(symnet.derive(symnet.parse("(erf(exp(exp(x)))) * (elu(x))")))
    with np.errstate(all="ignore"):
        _, g = k(np.array([710.0]))
    assert g[0] == 1.0


# ------------------------------------------------------------------ log-erfcx-left

@pytest.mark.parametrize("dtype, bound", [(np.float32, 1.0), (np.float64, 1.0)])
def test_log2_of_erfcx_far_left(dtype, bound):
    """float32 log2(erfcx(x)) − H(x) at x = −24.47: inf, ∂ NaN (before; h-ite26 seed 27 draw 43; torch float32 inf
    too); now ≤ 1 ULP (0.07 and 0.38 float32 at −24.47, ≤ 1.03 at the points below) against mpmath, values and
    gradient, either side of 0 (the written form kept where x ≥ 0)."""
    k = symnet.compile(symnet.derive(symnet.parse("(log2(erfcx(x))) - (Heaviside(x))")))
    xs = [-24.471702575683594, -1e10, -100.0, -9.5, -3.0, -0.5, -1e-5, 0.0, 1e-5, 0.7, 3.0]
    with np.errstate(all="ignore"):
        f, g = k(np.array(xs, dtype=dtype))
    with mpmath.workdps(50):
        for xv, fv, gv in zip(xs, f, g):
            X = mpmath.mpf(float(dtype(xv)))
            e = mpmath.erfc(X) * mpmath.exp(X ** 2)
            tf = mpmath.log(e) / mpmath.log(2) - (1 if X > 0 else 0)
            tg = (2 * X * e - 2 / mpmath.sqrt(mpmath.pi)) / e / mpmath.log(2)
            assert tf == 0 and fv == 0 or _ulp(fv, tf, dtype) <= bound + 0.1, (xv, fv, tf)
            assert _ulp(gv, tg, dtype) <= bound + 0.1, (xv, gv, tg)


# ------------------------------------------------------------------ compile time of a select-heavy composition

def test_flat_zero_of_a_select_is_no_root():
    """hardsigmoid′ is 0 beyond ±3: every grid point there was a bracket of a 'root' (133 for ∂ of
    hardsigmoid(softshrink(hardswish(x))), each walking the derivative's 14,650 nodes for a sum that cancels: 75% of its
    compile, before). Now only an isolated 0 or a sign change is; a simple root is still found."""
    from symnet.codegen.roots import _sign_changes
    flat = sp.Piecewise((0, sp.Abs(x) >= 3), (x / 6, True))
    f = sp.lambdify(x, flat, "mpmath")
    (bracket,) = _sign_changes(f)  # before: 102 brackets, one at each grid point of a flat side
    assert bracket[0] == 0.0
    assert len(_sign_changes(lambda v: mpmath.sin(v))) == 5  # −2π, −π, 0, π, 2π in [−8, 8]


def test_depth3_select_composition_compiles_in_seconds(monkeypatch):
    """Derive + compile of hardsigmoid(softshrink(hardswish(x))) (no disk cache): 12.2 s of CPU on an idle box (h-ite26),
    3.5 + 29.4 s on the loaded 2-core box of this session, before; 4.8 + 5.5 s after (the compile's root-series
    search). Limit 20 s of CPU for the compile here; values and gradient against mpmath (the composition check)."""
    import time
    from test_hypothesis_compositions import check
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")
    d = symnet.derive(symnet.parse("hardsigmoid(softshrink(hardswish(x)))"))
    start = time.process_time()
    symnet.compile(d)
    assert time.process_time() - start < 20
    check("hardsigmoid(softshrink(hardswish(x)))", [-3.5, -1.0, 0.2, 0.7, 1.9, 2.5, 4.0])
