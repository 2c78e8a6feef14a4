"""Session 41 (h-sigdiff41): the shifted-difference rule, σ(a) − σ(b) and softplus(a) − softplus(b) with a − b a number
c, for h-user41's soft clip softplus(x) − softplus(x − 1) and its ∂x = σ(x) − σ(x − 1), which cancelled once both terms
round to 1 (σ) or to their argument (softplus).

References: mpmath at 60 digits and torch autograd in float64 (SymPy's lambdify of the formula as written, not
symnet's code); the identities are proved with SymPy on the exponential form."""
import os
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import ulps
from symnet.codegen.rewrite import SHIFTED_DIFFERENCE, stabilise
from symnet.functions import sigmoid
from symnet.special import softplus
from test_user41 import SOFTCLIP, _kernel, _softclip_truths, _torch_grads

BOUND = {np.float64: 4.0, np.float32: 8.0}
FORMS = [SOFTCLIP, "softplus(x) - softplus(x - 1)"]  # written and registry forms
F64 = np.float64
_x = sp.Symbol("x", real=True)
# tests/test_stability_rules.py's cases (exact at 50 digits, a symbolic identity, fixes the failing value): the
# soft clip's ∂x at x = 37.67 (1.19e16 ULP before) and its f at x = 34 (37 ULP before)
RULE_CASES = [
    ("shifted-difference", sigmoid(_x) - sigmoid(_x - 1), (_x,), (-40.0, 60.0), (37.67,), F64),
    ("shifted-difference", softplus(_x) - softplus(_x - 1), (_x,), (-40.0, 60.0), (34.0,), F64),
]


def _ulps(got, truths, dtype):
    return np.array([ulps(g, t, dtype) for g, t in zip(got, truths)])


# ---------------------------------------------------------------- the rule: exact, and where it fires

def test_the_identities_are_exact():
    """σ(a) − σ(b) = (e^c − 1)·σ(−a)·σ(b) and e^(softplus a − softplus b) = 1 + (e^c − 1)·σ(b), a = b + c, proved on
    the exponential form; and the rule's forms (c > 0 and c < 0) agree with mpmath at 50 digits."""
    b, c = sp.symbols("b c", real=True)
    a = b + c
    sig = lambda u: 1 / (1 + sp.exp(-u))  # noqa: E731
    assert sp.simplify(sig(a) - sig(b) - (sp.exp(c) - 1) * sig(-a) * sig(b)) == 0
    assert sp.simplify((1 + sp.exp(a)) / (1 + sp.exp(b)) - (1 + (sp.exp(c) - 1) * sig(b))) == 0
    x = sp.Symbol("x", real=True)
    for shift in (1, -1, sp.Rational(5, 2), -3, 40):
        for func in (sigmoid, softplus):
            written = 2 * func(x) - 2 * func(x - shift)
            assert SHIFTED_DIFFERENCE in stabilise(written)[1], written
            stable = SHIFTED_DIFFERENCE.local(written).expr  # the rule's own form (stabilise goes on from it)
            for v in (-30.5, -2, 0.25, 3, 37.67):
                with mpmath.workdps(50):
                    want = sp.N(written.subs(x, sp.Rational(v)).rewrite(sp.exp), 50)
                    got = sp.N(stable.subs(x, sp.Rational(v)).rewrite(sp.exp), 50)
                    assert abs(got - want) <= 1e-40 * abs(want), (written, v, got, want)


@pytest.mark.parametrize("written", ["sigmoid(x) - sigmoid(y)", "softplus(x) - softplus(2*x)",
                                     "sigmoid(x) - 2*sigmoid(x - 1)", "softplus(x) - softplus(x - 800)"])
def test_the_rule_leaves_other_differences_alone(written):
    # a − b not a number, coefficients that differ, |c| past 700 (e^c − 1 overflows from 709.8)
    expr = symnet.parse(written)
    assert SHIFTED_DIFFERENCE not in stabilise(expr)[1], stabilise(expr)


# ---------------------------------------------------------------- the soft clip: NumPy, both dtypes, both forms

def _points(dtype):
    """h-user41's 301 points of [−40, 60], the failing x = 37.67 and x = 34, and 400 points around them."""
    rng = np.random.default_rng(4141)
    x = np.concatenate([np.linspace(-40, 60, 301), [37.67, 34.0], 37.67 + rng.uniform(-3, 3, 200),
                        34 + rng.uniform(-3, 3, 100), rng.uniform(-45, -20, 100)])
    return x.astype(dtype)


# before (numpy, float64): ∂x 2.220446049250313e−16 for 7.28e−17 at x = 37.67, 1.19e16 ULP (torch 2.9e15), past 4 ULP at
# 171 of the 301 grid points; f 37 ULP at x = 34 (torch 37), 59 ULP at 33.2; float32 ∂x 2.2e7 ULP at 37.67 (torch 1.1e7)
@pytest.mark.parametrize("formula", FORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_soft_clip_numpy_neighbourhood(dtype, formula):
    x = _points(dtype)
    f, dx = _kernel(formula)(x=x)
    tf, tdx = _softclip_truths(x)
    uf, udx = _ulps(f, tf, dtype), _ulps(dx, tdx, dtype)
    # after: float64 f ≤ 2.94, ∂x ≤ 3.07 ULP; float32 ≤ 0.5 (computed in float64, rounded once)
    assert uf.max() <= BOUND[dtype], (uf.max(), x[uf.argmax()])
    assert udx.max() <= BOUND[dtype], (udx.max(), x[udx.argmax()])


def test_soft_clip_against_torch_at_the_same_points():
    """Within 4 ULP where torch is, and never worse than torch past that: torch's ∂x is 1.2e16 ULP at x = 37.67 (its
    own σ(x) − σ(x − 1) cancels), its f 37 ULP at x = 34."""
    x = _points(np.float64)
    f, dx = _kernel(SOFTCLIP)(x=x)
    tf, tdx = _softclip_truths(x)
    _, torch_dx = _torch_grads(SOFTCLIP, ["x"], (x,))
    torch_f = _torch_grads(SOFTCLIP, ["x"], (x,))[0]
    for ours, theirs, truth in ((f, torch_f, tf), (dx, torch_dx, tdx)):
        u, t = _ulps(ours, truth, np.float64), _ulps(theirs, truth, np.float64)
        assert (u <= np.maximum(t, 4)).all(), (u.max(), x[u.argmax()])
    i = int(np.flatnonzero(x == 37.67)[0])
    assert ulps(torch_dx[i], tdx[i], np.float64) > 1e15 and ulps(dx[i], tdx[i], np.float64) <= 4


def test_soft_clip_at_the_ends():
    # f → 1 and ∂x → 0 as x → +∞, both → 0 as x → −∞ (inf − inf was NaN before)
    f, dx = _kernel(SOFTCLIP)(x=np.array([np.inf, -np.inf, 1e300, -1e300]))
    assert f.tolist() == [1.0, 0.0, 1.0, 0.0] and dx.tolist() == [0.0, 0.0, 0.0, 0.0], (f, dx)


# ---------------------------------------------------------------- Triton (the interpreter, small sizes)

# before (symnet.torch, Triton interpreter, 61 points of [−40, 60]): float64 ∂x 8.3e15 ULP, f 23.7; float32 ∂x 1.5e7
@pytest.mark.parametrize("formula", FORMS)
def test_soft_clip_triton(formula):
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    fn = st.from_formula(formula, inputs=["x"])
    base = torch.tensor(np.concatenate([np.linspace(-40, 60, 41), [37.67, 34.0, 36.1, -33.5]]), dtype=torch.float64)
    for dtype, npdt in ((torch.float64, np.float64), (torch.float32, np.float32)):
        x = base.to(dtype).clone().requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            y = fn(x)
        y.sum().backward()
        tf, tdx = _softclip_truths(x.detach().tolist())
        # after: float64 f ≤ 2.95, ∂x ≤ 1.74 ULP; float32 f ≤ 1.78, ∂x ≤ 2.5
        assert _ulps(y.detach().numpy(), tf, npdt).max() <= BOUND[npdt]
        assert _ulps(x.grad.numpy(), tdx, npdt).max() <= BOUND[npdt]


# ---------------------------------------------------------------- other shifts: c < 0 and a coefficient

def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


def _softplus(u):
    return mpmath.log1p(mpmath.exp(u))


# before (numpy, float64, these 441 points): softplus(x − 2) − softplus(x + 0.5) f 8.85 ULP, ∂x 8.86e15;
# 2σ(x + 3) − 2σ(x) f 8.83e15 (torch: 4.0e6, 9.0e15, 8.8e15); its ∂x, 2σ(x + 3)σ(−x − 3) − 2σ(x)σ(−x), is no
# σ difference (3.91 before and after)
@pytest.mark.parametrize("formula, value, slope", [
    ("softplus(x - 2) - softplus(x + 0.5)", lambda v: _softplus(v - 2) - _softplus(v + mpmath.mpf(0.5)),
     lambda v: _sig(v - 2) - _sig(v + mpmath.mpf(0.5))),
    ("2*sigmoid(x + 3) - 2*sigmoid(x)", lambda v: 2 * _sig(v + 3) - 2 * _sig(v),
     lambda v: 2 * _sig(v + 3) * _sig(-v - 3) - 2 * _sig(v) * _sig(-v)),
])
def test_other_shifts(formula, value, slope):
    x = np.concatenate([np.linspace(-60, 60, 241), np.random.default_rng(2).uniform(-45, 45, 200)])
    f, dx = symnet.compile(symnet.derive(formula), progress=False)(x=x)
    with mpmath.workdps(60):
        tf = [value(mpmath.mpf(float(v))) for v in x]
        tdx = [slope(mpmath.mpf(float(v))) for v in x]
    assert _ulps(f, tf, np.float64).max() <= 4  # after: 2.34, 2.55
    assert _ulps(dx, tdx, np.float64).max() <= 4  # after: 3.09, 3.91
