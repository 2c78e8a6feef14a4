"""Session 26, a new user with the README only: what they met, each against an independent reference.

- ``symnet derive "x**y" --at x=0,y=2 --wrt x`` ended in a traceback (TypeError: Invalid NaN comparison): the point's
  check compared the graph's y·x^(y − 1) = 0 with SymPy's form of the derivative, y·x^y/x, which is 0/0 there.
- ``max(x, y)`` at x = y = 1 refused ∂/∂x and said "the derivatives with respect to y can still be asked for";
  ∂/∂y is refused the same way there.
- softplus written as users write it, ``log1p(exp(x))``, was not the softplus rule's: inf at x = 100 in float32
  (and 800 in float64), where ``log(1 + exp(x))`` gave the number; the shifted softplus ``log(1 + exp(x)) - log(2)``
  cancelled near 0 (the vanishing-series rule did not see softplus(0) = log 2).
- squareplus (x + √(x² + 4))/2 and its derivative cancel for x < 0 (√A − B with B = −x, and 1 + x/√A): the
  conjugate rule took only √A − B written with a minus sign, and no c + g/√A at all.

References: mpmath at 60 digits, and exact values (d/dx x² at 0 is 0).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.cli import main
from symnet.errors import NotDifferentiableError
from conftest import ulps


def _kernel(formula: str):
    return symnet.compile(symnet.derive(formula), progress=False)


# ------------------------------------------------------------------ a point where SymPy's form is 0/0

@pytest.mark.parametrize("y, slope", [(2, 0), (1, 1), (3, 0)])
def test_power_at_zero_is_its_limit_not_a_traceback(y, slope, capsys):
    """x**y at x = 0 with respect to x: the derivative y·x^(y − 1) (2x at 0 is 0, x at 0 is 1). Before: TypeError
    "Invalid NaN comparison" from the point's check, a traceback from `symnet derive` (measured 2026-12-04)."""
    d = symnet.derive("x**y", ["x"], at={"x": 0, "y": y})
    x = next(s for s in d.inputs if s.name == "x")
    assert d.gradient_at({"x": 0, "y": y})[x] == slope
    assert main(["derive", "x**y", "--at", f"x=0,y={y}", "--wrt", "x"]) == 0
    out = capsys.readouterr().out
    assert f"= {slope}    [result; ✓" in out


def test_power_at_zero_still_refuses_where_no_derivative():
    """x**(1/2) at 0 has no derivative: still one clear refusal."""
    with pytest.raises(NotDifferentiableError):
        symnet.derive("x**y", ["x"], at={"x": 0, "y": 0.5})


def test_kink_hint_offers_only_variables_with_a_derivative():
    """max(x, y) at x = y is a kink along both: the hint to ask for the other is wrong there (before: "the
    derivatives with respect to y can still be asked for", and ∂/∂y is refused the same way). relu(w·x)·v + c at
    w = 0 keeps its hint (c, v, x)."""
    with pytest.raises(NotDifferentiableError) as tie:
        symnet.derive("max(x, y)", at={"x": 1, "y": 1})
    assert "can still be asked for" not in str(tie.value)
    with pytest.raises(NotDifferentiableError) as relu:
        symnet.derive("relu(w*x)*v + c", at={"x": 1, "w": 0, "v": 1, "c": 0})
    assert "with respect to c, v, x can still be asked for" in str(relu.value)


# ------------------------------------------------------------------ softplus as log1p(exp(x))

# log1p(exp(x)): a strict xfail after session 26 (the unguarded rule broke the logaddexp rule's output), fixed by
# h-logs27: the rule leaves log1p(e^u) alone where u ≤ 0 by its form (tests/test_logs27.py)


@pytest.mark.parametrize("dtype, x", [(np.float32, 100.0), (np.float64, 800.0), (np.float32, 0.5)])
def test_log1p_exp_is_softplus(dtype, x):
    """log1p(exp(x)) is softplus: before, inf at x = 100 in float32 and 800 in float64 (measured 2026-12-04)."""
    f, df = _kernel("log1p(exp(x))")(x=np.array([x], dtype))
    with mpmath.workdps(60):
        xm = mpmath.mpf(float(dtype(x)))
        assert ulps(f[0], mpmath.log1p(mpmath.exp(xm)), dtype) <= 1
        assert ulps(df[0], 1 / (1 + mpmath.exp(-xm)), dtype) <= 1


@pytest.mark.parametrize("formula", ["log(1 + exp(x)) - log(2)", "log1p(exp(x)) - log(2)"])
@pytest.mark.parametrize("dtype, x", [(np.float32, -9.739405e-07), (np.float32, 1e-3), (np.float64, -1e-9),
                                      (np.float64, 1.00182412246307e-16), (np.float32, 100.0), (np.float64, 800.0)])
def test_shifted_softplus(formula, dtype, x):
    """The shifted softplus softplus(x) − log 2 (SchNet's activation), 0 at x = 0. Before (measured 2026-12-04):
    log(1 + exp(x)) − log 2 was 1.78e5 ULP in float32 at x = −9.739405e−7 and 6.72e8 in float64 at x = −1e−9
    (softplus(x) − log 2 cancelled: the vanishing-series rule read softplus(0) as not log 2); log1p(exp(x)) − log 2
    was inf at x = 100 (float32) and 800 (float64)."""
    f, _ = _kernel(formula)(x=np.array([x], dtype))
    with mpmath.workdps(60):
        true = mpmath.log1p(mpmath.exp(mpmath.mpf(float(dtype(x))))) - mpmath.log(2)
    assert ulps(f[0], true, dtype) <= (2 if dtype is np.float32 else 1)


# ------------------------------------------------------------------ the conjugate rule: x + √A and c + g/√A

_SQUAREPLUS_POINTS = [-5.0, -20.0, -100.0, -537.0202, -1e4, -2.3837309e8, 3.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_squareplus_and_its_derivative(dtype):
    """squareplus (x + √(x² + 4))/2 and (1 + x/√(x² + 4))/2 for x < 0. Before (measured 2026-12-04, symnet / torch
    autograd): float32 f 159 / 97 ULP at x = −20, 4,820 / 729 at −100, 1.37e7 at −1e4; f′ 239 / 145 at −20, 1.13e7 at
    −1e4, 1.8e16 at −2.38e8; float64 f 1.69e5 / 9.3e4 at −537, f′ 1.48e5 / 1.14e5 there. After: ≤ 1.9 ULP."""
    xs = np.array(_SQUAREPLUS_POINTS, dtype)
    f, df = _kernel("(x + sqrt(x**2 + 4))/2")(x=xs)
    worst_f = worst_df = 0.0
    with mpmath.workdps(60):
        for i, x in enumerate(xs):
            xm = mpmath.mpf(float(x))
            root = mpmath.sqrt(xm * xm + 4)
            worst_f = max(worst_f, ulps(f[i], (xm + root) / 2, dtype))
            worst_df = max(worst_df, ulps(df[i], (1 + xm / root) / 2, dtype))
    assert worst_f <= 2 and worst_df <= 2, (worst_f, worst_df)


def test_pseudo_huber_delta_gradient():
    """∂/∂δ of the pseudo-Huber form √((p − t)² + δ²) − δ is δ/√A − 1 = −(p − t)²/(√A·(√A + δ)). Before (measured
    2026-12-04): float64 at δ = 7.762698590089394e145, p = 1, t = 0.3: −3.2e−38 for −4.07e−293 (5.8e270 ULP);
    float32 at p = t = δ = 2.9632428: −1.69e−38 where the value is exactly 0. At t = ∞ (float32) it stays −1."""
    k = _kernel("sqrt((p - t)**2 + d**2) - d")
    got = k(d=np.array([7.762698590089394e145]), p=np.array([1.0]), t=np.array([0.3]))[1]
    with mpmath.workdps(60):
        d, u = mpmath.mpf(7.762698590089394e145), mpmath.mpf(1.0) - mpmath.mpf(0.3)
        root = mpmath.sqrt(d * d + u * u)
        assert ulps(got[0], -u * u / (root * (root + d)), np.float64) <= 4
    v = np.array([2.9632428], np.float32)
    assert k(d=v, p=v, t=v)[1][0] == 0
    at_inf = k(d=np.array([0.7], np.float32), p=np.array([2.5], np.float32), t=np.array([np.inf], np.float32))[1]
    assert at_inf[0] == -1


def test_conjugate_of_the_derivative_root_minus_x():
    """√(x² + 1) − x: its derivative x/√(x² + 1) − 1 = −1/(√A·(√A + x)). Before (measured 2026-12-04): 0 in float32
    at x = 3497.9487 (true −4.09e−8); float64 −1.11e−16 at x = 3.17e10 (true −4.97e−22, 1.2e21 ULP)."""
    k = _kernel("sqrt(x**2 + 1) - x")
    for dtype, x in [(np.float32, 3497.9487), (np.float64, 31706775253.069256), (np.float64, 2.0)]:
        got = k(x=np.array([x], dtype))[1]
        with mpmath.workdps(60):
            xm = mpmath.mpf(float(dtype(x)))
            assert ulps(got[0], xm / mpmath.sqrt(xm * xm + 1) - 1, dtype) <= 2


def test_hardsigmoid_keeps_the_affine_root_rule():
    """The affine-root rule now defers to the conjugate rule on b + g/√A only: hardsigmoid's x/6 + 1/2 near −3 is
    still exact there (Sterbenz), 2.8e6 ULP in float32 without it."""
    x = sp.Symbol("x", real=True)
    from symnet.codegen.rewrite import _affine_root
    assert _affine_root(x / 6 + sp.Rational(1, 2)) is not None


# ------------------------------------------------------------------ symnet verify outside a checkout

def test_verify_outside_a_checkout_checks_the_installed_kernels(tmp_path, monkeypatch, capsys):
    """`symnet verify` run where there is no kernels/ folder (an installed symnet, any working directory) checks
    the kernels load_kernel runs. Before (measured 2026-12-04, a fresh venv, `pip install .`, run from /tmp):
    "note: no kernels/numpy; checking freshly generated kernels" — the shipped copy was never checked."""
    import importlib

    from symnet.kernels import kernel_folder

    vk = importlib.import_module("symnet.verify.kernels")  # symnet.verify is also the function

    seen = []
    monkeypatch.setattr(vk, "verify_numpy", lambda folder=None, **kw: seen.append(folder) or [])
    monkeypatch.setattr(vk, "format_table", lambda results: "")
    monkeypatch.chdir(tmp_path)
    assert main(["verify"]) == 0
    assert seen == [kernel_folder("numpy").parent]
    assert "freshly generated" not in capsys.readouterr().err


def test_squareplus_derivative_float64_within_4_ulp():
    """Was 4.11 ULP (a strict xfail until session 27: the conjugate form r/(1/r − x) after the hypot rule, about 7
    roundings); now widened, tests/test_misc27.py."""
    x = -537.0202162188024
    got = _kernel("(x + sqrt(x**2 + 4))/2")(x=np.array([x]))[1]
    with mpmath.workdps(60):
        xm = mpmath.mpf(x)
        assert ulps(got[0], (1 + xm / mpmath.sqrt(xm * xm + 4)) / 2, np.float64) <= 4
