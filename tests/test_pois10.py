"""Issue 16, parametrised activations (2026-12-01, session 10), against mpmath (independent of the
expression the code came from):

* softplus-slope: ∂β of softplus(β·x)/β (torch's Softplus(beta) with a learned β) is
  (x·σ(βx) − softplus(βx)/β)/β, whose sum cancels for u = βx ≫ 0: 0 in float32 at β = −32.27, x = −1.5
  (true −4.5e−23: 1.4e7 ULP), and 3.8e258 ULP in float64 at β = 632.56, x = 1 (the double-word widening
  cannot resolve e^−632 against 1). Now −(|u|·σ(−|u|) + softplus(−|u|))/β², two terms ≥ 0: within 1 ULP in
  float32 and 2.3 in float64 over u in [−700, 700].
* rounded-softplus-argument: softplus(v) of a rounded v = β·x ≪ 0 is e^v to the first digits, and v's
  rounding is |v|·ε of it: softplus(β·x)/β 30 ULP in float64 at β = −226.5, x = 0.3 and 390 ULP at
  β = −2074.96 (β·x = −622.5); now v in double-word and softplus(v_hi) + σ(v_hi)·v_lo: 1.41 ULP."""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import triton_torch
from symnet.codegen.rewrite import stabilise
from symnet.functions import sigmoid
from symnet.special import softplus

_b, _x = sp.symbols("b x", real=True)
# the rule's case for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("softplus-slope", softplus(_b * _x) / _b, (_b, _x), (0.25, 4.0), (-32.27011, -1.5), np.float32),
    ("rounded-softplus-argument", softplus(_b * _x) / _b, (_b, _x), (0.25, 4.0), (-2074.9623670316005, 0.3),
     np.float64),
]


def _true_slope(b: float, x: float):
    """∂/∂b of log(1 + e^(b·x))/b at the float point, in mpmath (600 digits: e^−700 against 700)."""
    with mpmath.workdps(600):
        b, x = mpmath.mpf(b), mpmath.mpf(x)
        u = b * x
        return (x / (1 + mpmath.exp(-u)) - mpmath.log1p(mpmath.exp(u)) / b) / b


def _ulps(got: float, true, dtype) -> float:
    want = float(np.asarray(float(true), dtype))
    if math.isnan(got) or math.isinf(got) or math.isinf(want):
        return 0.0 if got == want else math.inf
    tiny = float(np.finfo(dtype).tiny)
    return float(abs(mpmath.mpf(got) - true)) / float(np.spacing(np.asarray(max(abs(want), tiny), dtype)))


def _points(dtype):
    """b·x from −700 to 700 (float32: to ±88), b of both signs and of several sizes."""
    top = 88.0 if dtype == np.float32 else 700.0
    us = np.concatenate([np.linspace(-top, top, 41), [48.405165, 75.0, -48.405165, 2.0, -2.0, 0.5, 1e-3]])
    bs = np.array([-32.27011, -1.0, 0.3, 2.5, 255.475])
    b = np.repeat(bs, len(us)).astype(dtype)
    x = (np.tile(us, len(bs)) / np.repeat(bs, len(us))).astype(dtype)
    return b, x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_beta_slope_in_beta_within_the_bound(dtype):
    k = symnet.compile(symnet.derive("softplus(b*x)/b", ["b", "x"]))
    b, x = _points(dtype)
    got = k(b=b, x=x)[1]
    worst = max(_ulps(float(g), _true_slope(float(bi), float(xi)), dtype) for g, bi, xi in zip(got, b, x))
    assert worst <= 4, worst  # float32 1.4e7 ULP (0 for −4.5e−23), float64 3.8e258 before


def test_softplus_beta_slope_at_infinite_u_is_its_limit():
    """|u|·σ(−|u|) is 0·∞ at |u| = ∞: the rule's select gives its limit 0 (∂β → 0 at β = ±∞)."""
    k = symnet.compile(symnet.derive("softplus(b*x)/b", ["b", "x"]))
    for dtype in (np.float32, np.float64):
        got = k(b=np.array([-np.inf, np.inf], dtype), x=np.array([0.7, 0.7], dtype))[1]
        assert np.all(got == 0), got
        assert np.isnan(k(b=np.array([np.nan], dtype), x=np.array([0.7], dtype))[1][0])  # NaN stays NaN


def test_softplus_beta_slope_triton():
    torch = triton_torch()
    k = symnet.compile(symnet.derive("softplus(b*x)/b", ["b", "x"]), "triton")
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        b = np.array([-32.27011, 255.475, -1.0, 0.3], dtype)
        x = np.array([-1.5, 0.3, 40.0, -2.0], dtype)
        got = k(b=torch.tensor(b, dtype=tdtype), x=torch.tensor(x, dtype=tdtype))[1].cpu().numpy()
        worst = max(_ulps(float(g), _true_slope(float(bi), float(xi)), dtype) for g, bi, xi in zip(got, b, x))
        assert worst <= 4, (dtype, worst)


def test_softplus_slope_fires_on_the_written_softplus_and_only_on_its_pair():
    names = lambda e: {r.name for r in stabilise(e)[1]}  # noqa: E731
    written = sp.diff(sp.log(1 + sp.exp(_b * _x)) / _b, _b)  # torch's Softplus(beta) as written
    assert "softplus-slope" in names(written)
    u = _b * _x
    # the pair with another coefficient, or of two arguments, is not the entropy: left alone
    for e in (_x * sigmoid(u) - 2 * softplus(u) / _b, _x * sigmoid(u) - softplus(2 * u) / _b,
              u * sigmoid(u) + softplus(u)):
        assert "softplus-slope" not in names(e), e
    rewritten = stabilise(u * sigmoid(u) - softplus(u))[0]
    assert not rewritten.has(sp.Add) or all(not a.could_extract_minus_sign() for a in
                                               sp.Add.make_args(-rewritten))


def _true_value(b: float, x: float):
    with mpmath.workdps(60):
        return mpmath.log1p(mpmath.exp(mpmath.mpf(b) * mpmath.mpf(x))) / mpmath.mpf(b)


def test_softplus_of_a_rounded_product_float64():
    k = symnet.compile(symnet.derive("softplus(b*x)/b", ["b", "x"]))
    rng = np.random.default_rng(10)
    b = np.concatenate([-rng.uniform(3, 2300, 300), [-226.48121446408086, -2074.9623670316005, 7.0, -1.0]])
    x = np.concatenate([np.full(300, 0.3), [0.3, 0.3, -100.0, 1.5]])
    got = k(b=b, x=x)[0]
    worst = max(_ulps(float(g), _true_value(bi, xi), np.float64) for g, bi, xi in zip(got, b, x))
    assert worst <= 2, worst  # 390 ULP before (30 at β = −226.5)


def test_softplus_of_a_rounded_product_triton_float64():
    torch = triton_torch()
    k = symnet.compile(symnet.derive("softplus(b*x)/b", ["b", "x"]), "triton")
    b = np.array([-226.48121446408086, -2074.9623670316005, 7.0, -1.0])
    x = np.array([0.3, 0.3, -100.0, 1.5])
    got = k(b=torch.tensor(b), x=torch.tensor(x))[0].cpu().numpy()
    worst = max(_ulps(float(g), _true_value(bi, xi), np.float64) for g, bi, xi in zip(got, b, x))
    assert worst <= 2, worst
