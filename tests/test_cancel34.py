"""Two cancellations at ordinary points found by session 34's review (h-cancel34).

* series-common-denominator, D a function 0 at 0: x/sinh(x)′ = 1/sinh x − x·cosh x/sinh²x, two terms of 1/x meeting
  at −x/3, was 0 for −3.3e−13 at x = 1e−12 in float64 (6.6e15 ULP), 6.5e8 ULP at 1e−5, 98 at 0.1; 1.5e7 in float32 at
  1e−5 (torch the same); x/tanh(x)′ and x/sin(x)′ the same (inf ULP: NaN at 1e−300). Now (sinh x − x·cosh x)/sinh²x
  over one denominator, x·Q(x) with Q its Taylor polynomial within the fit's window, the sum as written (for the other
  rules) past it.
* sign-branches, a node of σ(±u) and σ(±|u|): ∂y of x·σ(y)/(1 + e^−|y|) is x·σ(y)σ(−y)·(σ(−y) − σ(y)) for y < 0, whose
  difference cancels near 0: 0 for 1.9e−18 at y = −1e−17 in float64 (4.9e15 ULP, torch the same), 5.8e4 ULP at −1e−5
  (torch 3.0e5), 74 at −0.01 (torch 342) with x = 1.5; 9.1e6 ULP in float32. Now each side of y = 0 through the
  node-by-node rules: −x·tanh(y/2)·σ(y)σ(−y) for −1 < y < 0 (as written past it, where tanh's rounding beside σσ
  cost one ULP more: 4.48 at y = −2.72).

References: mpmath of SymPy's derivative of the formula as written, at 40 + 2·|log10 x| digits (its terms of 1/x meet at
x: twice the digits of x lost), and torch autograd of the formula as written beside it (never worse).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch, ulps
from symnet.codegen.rewrite import stabilise
from symnet.functions import sigmoid

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}
_x = sp.Symbol("x", real=True)
_y = sp.Symbol("y", real=True)
GATED = "x*sigmoid(y)/(1 + exp(-Abs(y)))"

# the rules' cases for tests/test_stability_rules.py: x/sinh(x)′ at x = 1e−5, 6.5e8 ULP as written; ∂y of
# x·σ(y)/(1 + e^−|y|) at y = −1e−5, 5.8e4 ULP
RULE_CASES = [
    ("series-common-denominator", _x / sp.sinh(_x), (_x,), (-4.0, 4.0), (1e-5,), F64),
    ("sign-branches", _x * sigmoid(_y) / (1 + sp.exp(-sp.Abs(_y))), (_x, _y), (-4.0, 4.0), (1.5, -1e-5), F64),
]

# formula → torch's form of it: the quotients by a function 0 at 0 and sinh(x)/x beside them (the removable-series
# rule's, within the bound before)
QUOTIENTS = {
    "x/sinh(x)": lambda t, x: x / t.sinh(x),
    "sinh(x)/x": lambda t, x: t.sinh(x) / x,
    "x/tanh(x)": lambda t, x: x / t.tanh(x),
    "x/sin(x)": lambda t, x: x / t.sin(x),
}


def _points(dtype, seed):
    """|x| from the smallest normal number whose derivative (≈ x/3) is normal to 10, log-spaced and log-uniform at
    random, each of a random sign, with the review's points (1e−12, 1e−5, 0.1) and their neighbours: 258 points."""
    rng = np.random.default_rng(seed)
    lo = -300 if dtype is F64 else -37
    size = np.concatenate([np.geomspace(10.0 ** lo, 10, 120), 10 ** rng.uniform(lo, 1, 120)])
    review = np.array([1e-12, 1e-5, 0.1], dtype)
    near = np.concatenate([np.nextafter(review, 1), np.nextafter(review, 0), review * 1.03, review / 1.03])
    points = np.concatenate([size * rng.choice([-1.0, 1.0], size.size), review, -review, near]).astype(dtype)
    return points[points != 0]


def _truth(formula, points):
    """[(f, f′)] at each point: SymPy's derivative of the formula as written, in mpmath."""
    e = sp.sympify(formula, locals={"x": _x})
    exact = [sp.lambdify([_x], g, "mpmath") for g in (e, sp.diff(e, _x))]
    out = []
    for v in points:
        with mpmath.workdps(40 + int(2 * max(0.0, -math.log10(abs(float(v)))))):
            out.append([f(mpmath.mpf(float(v))) for f in exact])
    return out


def _worst(columns, truth, points, dtype):
    """[(worst ULPs, at x)] per output where the true value is normal."""
    tiny = mpmath.mpf(float(np.finfo(dtype).tiny))
    out = []
    for j, col in enumerate(columns):
        errs = [ulps(g, t[j], dtype) if abs(t[j]) >= tiny else 0.0 for g, t in zip(col, truth)]
        i = int(np.argmax(errs))
        out.append((errs[i], float(points[i])))
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # torch's and the written form's 0/0 at tiny x
@pytest.mark.parametrize("formula", list(QUOTIENTS))
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_quotient_by_a_function_zero_at_zero(formula, dtype):
    """Before (float64): x/sinh(x)′ 6.6e15 ULP at 1e−12, 6.5e8 at 1e−5, 98 at 0.1 (float32 1.5e7 at 1e−5); x/tanh(x)′
    and x/sin(x)′ NaN at 1e−300, 3.7e5 and 3.4e5 ULP at 9.4e−4; torch the same or worse. Now within the bound at 258
    points of |x| in [1e−300, 10] (float32: [1e−37, 10])."""
    torch = pytest.importorskip("torch")
    k = compiled(formula, "numpy", ("x",))
    points = _points(dtype, 34)
    truth = _truth(formula, points)
    mine = _worst(k(x=points), truth, points, dtype)
    tx = torch.tensor(points, requires_grad=True)
    value = QUOTIENTS[formula](torch, tx)
    (grad,) = torch.autograd.grad(value.sum(), [tx])
    theirs = _worst([value.detach().numpy(), grad.numpy()], truth, points, dtype)
    for name, (worst, at), (torch_worst, _) in zip(("f", "df_dx"), mine, theirs):
        assert worst <= BOUND[dtype], f"{formula} {name}: {worst:.3g} ULP at x = {at!r}"
        assert worst <= max(torch_worst, BOUND[dtype]), f"{formula} {name}: worse than torch ({torch_worst:.3g})"


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_quotient_by_sinh_far_out(dtype):
    """Past the series' window the sum as written, for the other rules: sinh² overflows from x ≈ 355 in float64 (89 in
    float32 at 45) where the derivative does not (widened over sinh²x it was NaN at x = 709 while the rule was written),
    and at ±inf the limit 0; NaN stays NaN."""
    k = compiled("x/sinh(x)", "numpy", ("x",))
    far = np.array([1.2, 2.0, 20, 37, 50, 89, 100, 400, 709, 711, 800, 1e5, 1e30], dtype)
    far = np.concatenate([far, -far])
    truth = _truth("x/sinh(x)", far)
    (worst, at), = _worst(k(x=far)[1:], [[t[1]] for t in truth], far, dtype)
    assert worst <= BOUND[dtype], (worst, at)
    _, slope = k(x=np.array([np.inf, -np.inf, np.nan], dtype))
    assert slope[0] == 0 and slope[1] == 0 and np.isnan(slope[2]), slope


def test_rule_named_and_kept_out_elsewhere():
    from symnet import derive

    for f in (_x / sp.sinh(_x), _x / sp.tanh(_x), _x / sp.sin(_x)):
        _, fired = stabilise(derive(f, [_x]).gradients[_x])
        assert "series-common-denominator" in [r.name for r in fired], f
    # sums over a function 0 at 0 that do not cancel there (2/x, 1/x + 1) and a function not 0 at 0 (cosh)
    for plain in (1 / sp.sinh(_x) + 1 / sp.tan(_x), 1 / sp.sinh(_x) + 1, _x / sp.cosh(_x) ** 2 - 1 / sp.cosh(_x)):
        _, fired = stabilise(plain)
        assert "series-common-denominator" not in [r.name for r in fired], plain


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_quotient_by_sinh_triton(dtype):
    torch = triton_torch()
    k = compiled("x/sinh(x)", "triton", ("x",))
    points = np.array([1e-12, -1e-5, 0.1, -0.7, 1.2, 20.0, -80.0], dtype)
    got = [o.cpu().numpy() for o in k(x=torch.tensor(points))]
    for (worst, at) in _worst(got, _truth("x/sinh(x)", points), points, dtype):
        assert worst <= BOUND[dtype], (worst, at)


# ------------------------------------------------------------------ σ(−y) − σ(y) across sign(y) (sign-branches)

def _gated_points(dtype, seed):
    """y near 0 from the smallest normal number to 20, both signs (more below 0, where it cancelled), log-spaced and
    log-uniform at random, with the review's points (−1e−17, −1.25e−18, −1e−5, −0.01) and their neighbours; x in
    [0.5, 3] at random, and x = 1 at the last 20: 270 points."""
    rng = np.random.default_rng(seed)
    lo = -300 if dtype is F64 else -37
    size = np.concatenate([np.geomspace(10.0 ** lo, 20, 100), 10 ** rng.uniform(lo, np.log10(20), 100)])
    review = np.array([-1e-17, -1.25e-18, -1e-5, -0.01], dtype)
    near = np.concatenate([np.nextafter(review, 1), np.nextafter(review, -1), review * 1.03, review / 1.03])
    ys = np.concatenate([-size, size[::4], review, near]).astype(dtype)
    xs = np.concatenate([rng.uniform(0.5, 3, ys.size - 20), np.ones(20)]).astype(dtype)
    return xs, ys


def _gated_truth(xs, ys):
    """[(f, ∂x, ∂y)] at each point: SymPy's derivatives of the formula as written (σ written out), in mpmath."""
    e = _x / (1 + sp.exp(-_y)) / (1 + sp.exp(-sp.Abs(_y)))
    exact = [sp.lambdify([_x, _y], g, "mpmath") for g in (e, sp.diff(e, _x), sp.diff(e, _y))]
    out = []
    for a, b in zip(xs, ys):
        with mpmath.workdps(40 + int(2 * max(0.0, -math.log10(abs(float(b)) or 1.0)))):  # (y = 0: sign(0) = 0)
            out.append([f(mpmath.mpf(float(a)), mpmath.mpf(float(b))) for f in exact])
    return out


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_sigmoid_difference_across_the_sign(dtype):
    """Before (float64, x = 1.5): ∂y 0 for 1.9e−18 at y = −1e−17 (4.9e15 ULP), 5.8e4 at −1e−5, 74 at −0.01; torch
    4.9e15, 3.0e5, 342 (float32: 9.1e6, 2.2e4, 54; torch the same, 138). Now within the bound at 270 points, y from
    1e−300 (float32 1e−37) to 20, both signs."""
    torch = pytest.importorskip("torch")
    k = compiled(GATED, "numpy", ("x", "y"))
    xs, ys = _gated_points(dtype, 35)
    truth = _gated_truth(xs, ys)
    mine = _worst(k(x=xs, y=ys), truth, ys, dtype)
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    value = tx * torch.sigmoid(ty) / (1 + torch.exp(-torch.abs(ty)))
    grads = torch.autograd.grad(value.sum(), [tx, ty])
    theirs = _worst([value.detach().numpy(), *(g.numpy() for g in grads)], truth, ys, dtype)
    for name, (worst, at), (torch_worst, _) in zip(("f", "df_dx", "df_dy"), mine, theirs):
        assert worst <= BOUND[dtype], f"{name}: {worst:.3g} ULP at y = {at!r}"
        assert worst <= max(torch_worst, BOUND[dtype]), f"{name}: worse than torch ({torch_worst:.3g})"


def test_sigmoid_difference_rule_named_and_kept_out_elsewhere():
    from symnet import derive

    _, fired = stabilise(derive(RULE_CASES[1][1], [_x, _y]).gradients[_y])
    assert "sign-branches" in [r.name for r in fired]
    # σ(y) + σ(|y|)·sign(y) is σ(y) − σ(−y) = tanh(y/2) below 0: split; σ(y) − σ(|y|)·sign(y) is 1 below 0, 0 above
    # (no tanh), and σ(|y|)·σ(y) no sum: left alone
    _, fired = stabilise(sigmoid(_y) + sigmoid(sp.Abs(_y)) * sp.sign(_y))
    assert "sign-branches" in [r.name for r in fired]
    for plain in (sigmoid(_y) - sigmoid(sp.Abs(_y)) * sp.sign(_y), sigmoid(sp.Abs(_y)) * sigmoid(_y)):
        _, fired = stabilise(plain)
        assert "sign-branches" not in [r.name for r in fired], plain


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_sigmoid_difference_triton(dtype):
    torch = triton_torch()
    k = compiled(GATED, "triton", ("x", "y"))
    ys = np.array([-1e-17, -1.25e-18, -1e-5, -0.01, -2.5, 0.3, 0.0], dtype)
    xs = np.full_like(ys, 1.5)
    got = [o.cpu().numpy() for o in k(x=torch.tensor(xs), y=torch.tensor(ys))]
    for (worst, at) in _worst(got, _gated_truth(xs, ys), ys, dtype):
        assert worst <= BOUND[dtype], (worst, at)
