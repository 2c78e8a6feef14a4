"""Issue 16 (breaker's round 9): derivatives of max/min at ties, and two stability rules. Each test
failed before its fix, against torch float64 autograd, mpmath or one-sided finite differences."""
from __future__ import annotations

import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.codegen.cfunctions import log1p

from conftest import compiled, derived


x_, y_ = sp.symbols("x y", real=True)
# (rule, written formula, its variables, domain of random points, bad point, dtype): the rules' cases for
# tests/test_stability_rules.py (exact at 50 digits, and fixing the value the written form gets wrong)
RULE_CASES = [
    ("log1p-erf", log1p(sp.erf(y_)), (y_,), (-4.0, 4.0), (-3.93,), np.float64),
    ("quotient-by-factors", sp.sqrt(x_) / log1p(x_), (x_,), (0.05, 4.0), (1e308,), np.float64),
]


def _cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, text=True, timeout=timeout)


def _run(formula, backend, dtype, **columns):
    """The compiled kernel's outputs (value first, then ∂/∂ each variable in order) as float64 arrays."""
    k = compiled(formula, backend)  # one kernel a formula and backend, run at each dtype
    args = {n: np.asarray(v, dtype=dtype) for n, v in columns.items()}
    if backend == "triton":
        from conftest import triton_torch
        torch = triton_torch()
        out = k(**{n: torch.tensor(a) for n, a in args.items()})
        return [np.asarray(o.numpy(), dtype=np.float64) for o in out]
    return [np.asarray(o, dtype=np.float64) for o in k(**args)]


def _torch_grads(fn, dtype, *columns):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    ts = [torch.tensor(np.asarray(c, dtype=dtype), dtype=tdtype, requires_grad=True) for c in columns]
    y = fn(torch, *ts)
    grads = torch.autograd.grad(y.sum(), ts, allow_unused=True)
    return [np.zeros(len(columns[0])) if g is None else g.double().numpy() for g in grads]


def _one_sided_mean(f, point, var):
    """The mean of the one-sided derivatives of f (a function of mpf keyword arguments) at ``point``
    along ``var``, at 50 digits (mpmath.diff with direction ±1): ½(a′ + b′) where max(a, b) ties."""
    with mpmath.workdps(50):
        def along(t):
            return f(**{**{k: mpmath.mpf(v) for k, v in point.items()}, var: t})
        at = mpmath.mpf(point[var])
        return float((mpmath.diff(along, at, direction=1) + mpmath.diff(along, at, direction=-1)) / 2)


# ------------------------------------------------------------------ A. max/min at ties

@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype,xs", [(np.float64, [746.0, 800.0, 1e300, 10.0, -3.0]),
                                      (np.float32, [104.0, 200.0, 3e38, 10.0, -3.0])])
def test_max_of_x_and_softplus_has_derivative_sigmoid_where_they_round_equal(backend, dtype, xs):
    """Before: ∂/∂x max(x, softplus(x)) was 0 for x ≥ 746 (float64), ≥ 104 (float32), where softplus(x)
    rounds to x (H(x − softplus x) + H(softplus x − x)·σ(x) with H(0) = 0); true σ(x) ≈ 1, torch 1."""
    got = _run("max(x, softplus(x))", backend, dtype, x=xs)[1]
    want = _torch_grads(lambda t, x: t.maximum(x, t.nn.functional.softplus(x)), np.float64, xs)[0]
    true = np.array([float(1 / (1 + mpmath.exp(-mpmath.mpf(float(v))))) for v in np.asarray(xs, dtype)])
    np.testing.assert_allclose(got, true, rtol=4 * np.finfo(dtype).eps)
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_max_of_two_branches_with_equal_derivatives_at_a_tie(backend):
    """Before: ∂/∂x max(x, x + y) at y = 0 was 0 (`derive --at x=1,y=0` said 1, torch 1); ∂/∂y is torch's
    ½ split (torch.maximum), the mean of the one-sided derivatives."""
    xs, ys = [1.0, -2.5, 3.0, 3.0], [0.0, 0.0, 0.5, -0.5]
    f, dx, dy = _run("max(x, x + y)", backend, np.float64, x=xs, y=ys)
    tx, ty = _torch_grads(lambda t, x, y: t.maximum(x, x + y), np.float64, xs, ys)
    np.testing.assert_array_equal(dx, tx)
    np.testing.assert_array_equal(dy, ty)
    for q in range(len(xs)):
        point = {"x": xs[q], "y": ys[q]}
        for var, got in (("x", dx[q]), ("y", dy[q])):
            assert got == pytest.approx(_one_sided_mean(lambda x, y: max(x, x + y), point, var), rel=1e-12)


@pytest.mark.parametrize("formula,point,var,torch_fn", [
    ("log1p(max(x, softplus(x)))", {"x": 800.0}, "x",
     lambda t, x: t.log1p(t.maximum(x, t.nn.functional.softplus(x)))),
    ("sqrt(max(log1p(x), abs(x)))", {"x": 1e-310}, "x", lambda t, x: t.sqrt(t.maximum(t.log1p(x), t.abs(x)))),
])
def test_ties_deeper_in_a_formula(formula, point, var, torch_fn):
    """Before: 0 (both ties from H(0) = 0); true 1/801 and 1/(2√x)·(the equal one-sided slopes) = 5e154."""
    got = _run(formula, "numpy", np.float64, **{k: [v] for k, v in point.items()})[1][0]
    want = _torch_grads(torch_fn, np.float64, [point["x"]])[0][0]
    assert got == pytest.approx(want, rel=1e-12) and got != 0


@pytest.mark.parametrize("formula,point,want", [
    ("min(erf(x), x)", {"x": -5e-324}, (1 + 2 / np.sqrt(np.pi)) / 2),  # torch.minimum's ½ split
    ("max(sqrt(x), y)", {"x": 1 + 2.0 ** -52, "y": 1.0}, 0.25),  # √x rounds to y: torch.maximum's 0.5·0.5
])
def test_a_rounded_tie_splits_the_derivative_as_torch(formula, point, want):
    """Before: 0 (the branch derivative dropped at a float tie). Now torch's ½/½ split (true: 1.128, 0.5
    — the tie is a rounding; both torch and symnet split it)."""
    got = _run(formula, "numpy", np.float64, **{k: [v] for k, v in point.items()})[1][0]
    assert got == pytest.approx(want, rel=1e-12)


def test_a_constant_argument_keeps_relu_convention():
    """max(x, 0) and relu keep H(0) = 0 (relu′(0) = 0 in torch); the committed kernels are unchanged."""
    assert _run("max(x, 0)", "numpy", np.float64, x=[0.0, 2.0])[1].tolist() == [0.0, 1.0]
    assert _run("relu(x) - relu(-x)", "numpy", np.float64, x=[0.0, 2.0])[1].tolist() == [0.0, 1.0]


def test_derivation_and_derive_at_state_the_tie_rule():
    d = derived("max(x, x + y)")
    assert d.jacobian[0, 0] == 1  # max(x, x + y)′ in x is 1 everywhere, ties included
    run = _cli("derive", "max(x, y)", "--at", "x=2,y=1", "--wrt", "x")
    assert run.returncode == 0 and "at a tie the mean of both" in run.stdout, run.stderr[-300:]


# ------------------------------------------------------------------ B. log1p(erf(u)) → log(erfc(−u))

def _ulps(got, true):
    return abs(got - true) / np.spacing(abs(true))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_log1p_erf_is_the_log_of_the_complement(backend):
    """Before: abs(softplus(log1p(erf(y)))) ∂/∂y was 3.2e6 ULP off in float64 at y = −3.93 (σ(log1p(erf y)) kept
    the rounding of 1 + erf(y), the denominator was exact; torch 9.3), and log1p(erf(y)) itself lost every
    digit from y ≈ −6 (−inf at y = −10, true −103.9). Reference: mpmath at 50 digits."""
    ys = [-3.93, -5.5, -10.0, -1.0, 0.5]

    def g(y):  # log(1 + erf(y)) = log(erfc(−y)), exact in mpmath
        return mpmath.log(mpmath.erfc(-y))

    with mpmath.workdps(50):
        true_v = [float(g(mpmath.mpf(y))) for y in ys]
        true_d = [float(abs(mpmath.log1p(mpmath.exp(g(mpmath.mpf(y)))))) for y in ys]
        # d/dy |softplus(g(y))| = σ(g)·g′ (softplus > 0), g′ = erf′(y)/erfc(−y)
        slope = [float(1 / (1 + mpmath.exp(-g(mpmath.mpf(y)))) * 2 / mpmath.sqrt(mpmath.pi)
                       * mpmath.exp(-mpmath.mpf(y) ** 2) / mpmath.erfc(-mpmath.mpf(y))) for y in ys]
    v, _ = _run("log1p(erf(y))", backend, np.float64, y=ys)
    assert max(_ulps(v, np.array(true_v))) <= 4, (v, true_v)
    f, d = _run("abs(softplus(log1p(erf(y))))", backend, np.float64, y=ys)
    assert max(_ulps(f, np.array(true_d))) <= 200, (f, true_d)  # the rest: Φ's argument √2·y rounded
    assert max(_ulps(d, np.array(slope))) <= 200, (d, slope)


# ------------------------------------------------------------------ C. a product in a denominator that overflows

@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_a_denominator_product_does_not_overflow_before_the_quotient(backend):
    """Before: ∂/∂x of √x/log1p(x) computed √x/((1 + x)·log1p(x)²), whose denominator is inf from
    x ≈ 3.6e302 in float64: 2.46e13 ULP at x = 1e308 (torch 0.8). Reference: the derivative 1/(2√x·L) − √x/((1 + x)·L²),
    L = log1p(x), at 50 digits; and torch float64 autograd."""
    xs = [1e308, 3.6e302, 1e300, 1e20, 1e-5]  # x = 2.0: test_the_derivative_near_its_root_cancels below
    with mpmath.workdps(50):
        def d(x):
            x = mpmath.mpf(x)
            L = mpmath.log1p(x)
            return float(1 / (2 * mpmath.sqrt(x) * L) - mpmath.sqrt(x) / ((1 + x) * L ** 2))
        true = np.array([d(x) for x in xs])
    got = _run("sqrt(x)/log1p(x)", backend, np.float64, x=xs)[1]
    assert max(_ulps(got, true)) <= 8, _ulps(got, true)
    tx = _torch_grads(lambda t, x: t.sqrt(x) / t.log1p(x), np.float64, xs)[0]
    assert max(_ulps(got, true)) <= max(_ulps(tx, true)) + 8


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_derivative_near_its_root_cancels(dtype):
    """The point x = 2.0 of the test above, on its own: a cancellation, not an overflow. ∂/∂x of √x/log1p(x) is
    1/(2√x·L) − √x/((1 + x)·L²), whose terms cancel about 5.7× at x = 2 (root at x ≈ 3.92) and 25× at x = 5.18,
    outside the root-series window (|x − 3.92| < 1.09; the series' radius is 3.92). Before: 11 ULP in float64 at 2
    (torch 3), 23 at 5.18; the written form outside the window is now widened (tests/test_elem11.py)."""
    with mpmath.workdps(50):
        x = mpmath.mpf(2)
        L = mpmath.log1p(x)
        true = np.array([float(1 / (2 * mpmath.sqrt(x) * L) - mpmath.sqrt(x) / ((1 + x) * L ** 2))])
    got = _run("sqrt(x)/log1p(x)", "numpy", dtype, x=[2.0])[1]
    assert max(_ulps(got, true) * np.spacing(abs(true)) / np.spacing(abs(true).astype(dtype))) <= 4


@pytest.mark.parametrize("formula,point,var,fn", [
    ("max(x, x + y)", {"x": 1.0, "y": 0.0}, "x", lambda x, y: max(x, x + y)),
    ("max(x, x + y)", {"x": 1.0, "y": 0.0}, "y", lambda x, y: max(x, x + y)),
    ("min(x*y, x)", {"x": 2.0, "y": 1.0}, "x", lambda x, y: min(x * y, x)),
    ("max(sqrt(x), y)", {"x": 1 + 2.0 ** -52, "y": 1.0}, "x", lambda x, y: max(mpmath.sqrt(x), y)),
])
def test_verify_reference_at_a_tie_is_the_one_sided_mean(formula, point, var, fn):
    """verify's exact value of a gradient: before, max(x, x + y)'s ∂x at y = 0 was 0 there too (the H(0) = 0
    form), so `verify` passed the kernel's 0. Now the mean of the one-sided derivatives (mpmath.diff, 50
    digits) at an exact tie, and the branch's derivative where the arguments only round equal (√x vs 1)."""
    from symnet.verify.evaluate import reference
    d = derived(formula)  # the derivation the kernels above were compiled from, and one for ∂x and ∂y
    col = [str(w) for w in d.wrt].index(var)
    env = {w: point[str(w)] for w in d.wrt}
    got = reference(d.jacobian[0, col], {sp.Symbol(str(w), real=True): v for w, v in env.items()})[0]
    assert float(got) == pytest.approx(_one_sided_mean(fn, point, var), rel=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype,big", [(np.float64, -1.7976931348623157e308), (np.float32, -3.4028235e38)])
def test_a_tie_that_is_only_a_rounding_is_decided_exactly_where_the_difference_simplifies(backend, dtype, big):
    """max(x, x + y)'s ∂y at x = −3.4e38, y = 0.3 (x + y rounds to x): the comparison is y > 0, not
    x + y > x in floating point, so ∂y is the true 1 (torch.maximum: ½; `symnet verify` measured 4.2e6 ULP
    in float32, 2.3e15 in float64)."""
    xs, ys = [big, big, 1.0], [0.3, -0.3, 0.0]
    _, dx, dy = _run("max(x, x + y)", backend, dtype, x=xs, y=ys)
    assert dx.tolist() == [1.0, 1.0, 1.0] and dy.tolist() == [1.0, 0.0, 0.5]


def test_max_of_three_splits_as_torch_maximum_nested():
    """max(x, y, z) is max(x, max(y, z)): at a three-way tie ½, ¼, ¼ (torch.maximum nested; before: SymPy's
    H(x − max(y, z)) with H(0) = 0 gave 0, 0, 0)."""
    cols = ([1.0, 1.0, 2.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0])
    got = _run("max(x, y, z)", "numpy", np.float64, x=cols[0], y=cols[1], z=cols[2])[1:]
    want = _torch_grads(lambda t, x, y, z: t.maximum(x, t.maximum(y, z)), np.float64, *cols)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
