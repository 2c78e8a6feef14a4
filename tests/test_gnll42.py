"""Session 42, h-gnll42: a sum that overflows before a number below 1 brings it back (the scale-into-sum rule).

The log-variance Gaussian NLL ½(s + (x − μ)²·e^(−s)) (Kendall & Gal 2017): ∂s = (1 − (x − μ)²·e^(−s))/2 was formed
before its halving, so at s = −709, x − μ = −1.5 it was −inf for −9.2457e307 (tests/test_user42.py), and the far
branch (|s| > 709) formed ((x − μ)·e^(−s/2))² before halving it. Every value is compared with mpmath at 50 digits of
the formula as written, and with torch autograd (float64, and float32 where named) at the same points."""
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import compiled, triton_torch, ulps
from symnet.codegen.rewrite import SCALE_INTO_SUM, stabilise

GNLL = "0.5*(s + (x - mu)**2*exp(-s))"

p, s, t = sp.symbols("p s t", real=True)
# the rule case of tests/test_stability_rules.py (rule, written formula, variables, domain, bad point, dtype): ∂s at
# p − t = −1.5, s = −709.3 was −inf for −1.25e308 as written, and before this rule
RULE_CASES = [
    ("scale-into-sum", sp.Rational(1, 2) * (s + (p - t) ** 2 * sp.exp(-s)), (p, s, t), (-4.0, 4.0), (1.0, -709.3, 2.5),
     np.float64),
]
BOUND = {np.float64: 4.0, np.float32: 8.0}


def _truth_ds(s, d):
    """(1 − d²·e^(−s))/2 at 50 digits, s and d = x − μ as the kernel's dtype holds them (read as float64, exact)."""
    with mpmath.workdps(50):
        return [(1 - mpmath.mpf(float(dv)) ** 2 * mpmath.exp(-mpmath.mpf(float(sv)))) / 2 for sv, dv in zip(s, d)]


def _points(dtype, low, high, d, n=200):
    s = np.linspace(low, high, n).astype(dtype)
    x = np.full(n, 1.0, dtype)
    mu = (x - dtype(d)).astype(dtype)
    return mu, s, x, x.astype(np.float64) - mu.astype(np.float64)


def _numpy_ds(mu, s, x):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(compiled(GNLL)(mu=mu, s=s, x=x)[2], np.float64)


def _torch_ds(mu, s, x, dtype):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ts = [torch.tensor(c, dtype=tdtype, requires_grad=True) for c in (mu, s, x)]
    tm, tsv, tx = ts
    f = 0.5 * (tsv + (tx - tm) ** 2 * torch.exp(-tsv))
    return torch.autograd.grad(f.sum(), tsv)[0].double().numpy()


def _errors(got, truth, dtype):
    return np.array([ulps(g, t, dtype) for g, t in zip(got, truth)])


# before: −inf at 200 of 200 points (x − μ = −1.5, s ∈ [−709.6, −709]; true −9.2e307 … −1.6e308); torch within 0.97 ULP
def test_ds_at_the_failing_points_float64():
    mu, s, x, d = _points(np.float64, -709.6, -709.0, 1.5)
    got = _numpy_ds(mu, s, x)
    errs = _errors(got, _truth_ds(s, d), np.float64)
    assert np.isfinite(got).all() and errs.max() <= BOUND[np.float64], errs.max()
    torch_errs = _errors(_torch_ds(mu, s, x, np.float64), _truth_ds(s, d), np.float64)
    assert (errs <= np.maximum(torch_errs, 0.5) + 1e-9).all(), (errs.max(), torch_errs.max())


# the neighbourhood: before, x − μ = 1.5 on s ∈ [−709.66, −709.6] (the far branch, ((x − μ)·e^(−s/2))² before its
# halving) −inf at 200 of 200, x − μ = 1.4 on s ∈ [−709.78, −709.4] −inf, and x − μ = 1 on s ∈ [−710, −709] (e^(−s)
# past float64's largest from s = −709.78, the far branch's square too) −inf; 0.50 ULP where no term overflowed. Where the truth is past float64's largest (x − μ = 1.5, s < −709.66):
# −inf, as it should be.
@pytest.mark.parametrize("d, low, high", [(1.5, -709.66, -709.0), (1.0, -710.0, -709.0), (0.75, -710.2, -708.0),
                                          (1.4, -709.78, -709.4)])
def test_ds_neighbourhood_float64(d, low, high):
    mu, s, x, dd = _points(np.float64, low, high, d)
    truth = _truth_ds(s, dd)
    got = _numpy_ds(mu, s, x)
    errs = _errors(got, truth, np.float64)
    assert errs.max() <= BOUND[np.float64], (errs.max(), s[errs.argmax()])
    torch_errs = _errors(_torch_ds(mu, s, x, np.float64), truth, np.float64)
    assert (errs <= np.maximum(torch_errs, 0.5) + 1e-9).all(), (errs.max(), torch_errs.max())


# float32 (s near −88.7, e^(−s) near float32's largest): the widened sum was computed in float64 already, 0.50 ULP
# before and after; kept by this test. Torch float32 at the same points: within its float32 rounding, or inf where
# (x − μ)²·e^(−s) overflows float32 before its halving.
@pytest.mark.parametrize("d, low, high", [(1.5, -88.7, -87.5), (1.0, -88.72, -88.0), (0.001, -89.5, -88.0)])
def test_ds_neighbourhood_float32(d, low, high):
    mu, s, x, dd = _points(np.float32, low, high, d)
    truth = _truth_ds(s, dd)
    got = _numpy_ds(mu, s, x)
    errs = _errors(got, truth, np.float32)
    assert errs.max() <= BOUND[np.float32], (errs.max(), s[errs.argmax()])
    torch_errs = _errors(_torch_ds(mu, s, x, np.float32), truth, np.float32)
    assert (errs <= np.maximum(torch_errs, 0.5) + 1e-9).all(), (errs.max(), torch_errs.max())


# Triton (the interpreter, a few points): before −inf at the failing points as NumPy's
@pytest.mark.parametrize("dtype, d, low, high", [(np.float64, 1.5, -709.66, -709.0), (np.float64, 1.0, -710.0, -709.6),
                                                 (np.float32, 1.5, -88.7, -87.5)])
def test_ds_triton(dtype, d, low, high):
    torch = triton_torch()
    mu, s, x, dd = _points(dtype, low, high, d, n=16)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    kernel = compiled(GNLL, "triton")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = kernel(mu=torch.tensor(mu, dtype=tdtype), s=torch.tensor(s, dtype=tdtype), x=torch.tensor(x, dtype=tdtype))
    got = outs[2].detach().double().numpy()
    errs = _errors(got, _truth_ds(s, dd), dtype)
    assert errs.max() <= BOUND[dtype], (errs.max(), s[errs.argmax()], got)


def test_rule_names_itself_and_leaves_harmless_formulas():
    x, y, z, w = sp.symbols("x y z w", real=True)
    d = symnet.derive(GNLL)
    assert "scale-into-sum" in symnet.compile(d, progress=False).source
    for expr in (1 / (1 + sp.exp(-x)), x * y + z, sp.tanh(w * x + y), (x - y) ** 2 / 2,
                 sp.Rational(1, 2) * (1 + x * y)):
        for wrt in sorted(expr.free_symbols, key=str):
            out, fired = stabilise(sp.diff(expr, wrt))
            assert SCALE_INTO_SUM not in fired, (expr, wrt, out)
