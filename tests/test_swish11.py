"""Swish and mish with a learnable β (issue 16, found by h-fresh11 with ``symnet verify "x*sigmoid(beta*x)"``):
where β·x overflows (β = x = ±1.8e308) the generated ∂β and ∂x were NaN (inf·0) where the true values are
finite; the overflowed-product rule returns the limits. References: mpmath at 50 digits, written here from
the textbook derivatives (independent of symnet's derivation and printers)."""
import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen import rewrite

BIG = 1.7976931348623157e308

_beta, _x = sp.symbols("beta x", real=True)
# the rule's case for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype); swish-β′
# in x, NaN as written at β = x = −1.8e308 (true 1)
RULE_CASES = [
    ("overflowed-product", (1 + _beta * _x * rewrite.sigmoid(-_beta * _x)) * rewrite.sigmoid(_beta * _x),
     (_beta, _x), (-4.0, 4.0), (-BIG, -BIG), np.float64),
]


def _swish_reference(beta, x):
    """(f, ∂f/∂β, ∂f/∂x) of f = x·σ(β·x) in mpmath at 50 digits: σ(u)·σ(−u) = 1/(4cosh²(u/2))."""
    with mpmath.workdps(50):
        b, x = mpmath.mpf(beta), mpmath.mpf(x)
        u = b * x
        s = 1 / (1 + mpmath.exp(-u))
        ds = 1 / (4 * mpmath.cosh(u / 2) ** 2)
        return float(x * s), float(x * x * ds), float(s + u * ds)


def _mish_reference(beta, x):
    """(f, ∂f/∂β, ∂f/∂x) of f = x·tanh(softplus(β·x)) in mpmath at 50 digits."""
    with mpmath.workdps(50):
        b, x = mpmath.mpf(beta), mpmath.mpf(x)
        u = b * x
        sp_u = mpmath.log1p(mpmath.exp(u)) if u < 100 else u + mpmath.log1p(mpmath.exp(-u))
        t = mpmath.tanh(sp_u)
        dt = (1 - t * t) / (1 + mpmath.exp(-u))  # d tanh(softplus u)/du = sech²(softplus u)·σ(u)
        return float(x * t), float(x * x * dt), float(t + u * dt)


@pytest.fixture(scope="module")
def swish():
    return symnet.compile(symnet.derive("x*sigmoid(beta*x)"))


@pytest.fixture(scope="module")
def mish():
    return symnet.compile(symnet.derive("x*tanh(softplus(beta*x))"))


POINTS = [(-BIG, -BIG), (BIG, BIG), (-BIG, BIG), (BIG, -BIG), (-1e200, -1e200), (1e300, 1e10),
          (2.0, 3.0), (-0.5, 1.5)]


@pytest.mark.parametrize("which", ["swish", "mish"])
def test_overflowed_product_gives_the_limits(which, swish, mish):
    program, reference = (swish, _swish_reference) if which == "swish" else (mish, _mish_reference)
    beta = np.array([b for b, _ in POINTS])
    x = np.array([v for _, v in POINTS])
    got = program(beta=beta, x=x)
    for i, (b, v) in enumerate(POINTS):
        want = reference(b, v)
        for name, g, w in zip(("f", "df_dbeta", "df_dx"), got, want):
            assert not np.isnan(g[i]), f"{which} {name} is NaN at beta={b}, x={v} (true {w})"
            assert g[i] == pytest.approx(w, rel=1e-14, abs=0), f"{which} {name} at beta={b}, x={v}"


def test_overflowed_product_in_float32(swish):
    """float32 inputs: β·x overflows float32 at 3.4e38 (β = x = −2e19); the select's bound is float32's largest."""
    beta = np.array([-3e38, 3e38, -2e19], np.float32)
    x = np.array([-3e38, -3e38, -2e19], np.float32)
    f, d_beta, d_x = swish(beta=beta, x=x)
    assert not np.isnan(d_beta).any() and not np.isnan(d_x).any()
    np.testing.assert_array_equal(d_beta, [0, 0, 0])
    np.testing.assert_array_equal(d_x, [1, 0, 1])


def test_overflowed_product_rule_exact_and_named(swish):
    """The rule's limits hold against mpmath from |β·x| = 3.4e38 on, it fires on the derivatives only (f is
    not NaN there as written) and the generated module prints its reason."""
    beta, x = sp.symbols("beta x", real=True)
    u = sp.Dummy("u", real=True)
    slope = (1 + u * rewrite.sigmoid(-u)) * rewrite.sigmoid(u)
    assert rewrite._limit_holds(slope, u, sp.S.One, 1) and rewrite._limit_holds(slope, u, sp.S.Zero, -1)
    assert not rewrite._limit_holds(slope, u, sp.S.Zero, 1)
    assert not rewrite._limit_holds(1e39 / u, u, sp.S.Zero, 1)  # tending slowly: 2.9 at 3.4e38, not 0
    _, fired = rewrite.stabilise(x * rewrite.sigmoid(beta * x))
    assert rewrite.OVERFLOWED_PRODUCT not in fired
    _, fired = rewrite.stabilise(x ** 2 * rewrite.sigmoid(beta * x) * rewrite.sigmoid(-beta * x))
    assert rewrite.OVERFLOWED_PRODUCT in fired
    assert "overflowed-product:" in swish.source


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_overflowed_product_triton(dtype):
    """The Triton kernel (TRITON_INTERPRET=1) selects the same limits."""
    from conftest import triton_torch

    torch = triton_torch()  # TRITON_INTERPRET=1 before symnet.compile imports triton (no GPU)
    program = symnet.compile(symnet.derive("x*sigmoid(beta*x)"), backend="triton")
    big = BIG if dtype == "float64" else 3e38
    beta = torch.tensor([-big, big, 2.0], dtype=getattr(torch, dtype))
    x = torch.tensor([-big, -big, 3.0], dtype=getattr(torch, dtype))
    _, d_beta, d_x = (o.double().numpy() for o in program(beta=beta, x=x))
    want = [_swish_reference(float(b), float(v)) for b, v in zip(beta.tolist(), x.tolist())]
    np.testing.assert_allclose(d_beta, [w[1] for w in want], rtol=1e-6 if dtype == "float32" else 1e-14)
    np.testing.assert_allclose(d_x, [w[2] for w in want], rtol=1e-6 if dtype == "float32" else 1e-14)
