"""h-inf42: the input-infinite-limit rule's limit proved (issue 16 point 2: where a limit exists, return it).

h-inf41's rule took L from mpmath at |x| = 1e400, 1e700, 1e1000 at 8 sample rows of the other inputs, and printed and
ran a float64 probe for every output of 2–6 inputs (+20 % compile time). Now the form must be a rational function of
the infinite input x toward that infinity (|p|, sign p, relu p and selects resolved by p's eventual sign), L is exact
from the degrees and leading coefficients (0, or lc(P)/lc(Q), which may be an expression of the other inputs:
x·y/(x + y) at x = ±inf is y), and the probe runs only for such forms.

References: mpmath at 60 digits at |x| = 1e1000 (the value there rounds to L; a zero's sign where the rule takes it),
torch autograd in the same dtype at the same points, mpmath at the finite points. On 79856dea (main, without the rule)
32 of these 38 tests fail.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, patch_rewrite, triton_torch, ulps

F64, F32 = np.float64, np.float32
R = dict(real=True)
a, x, y = sp.symbols("a x y", **R)

# formula → torch's function, the exact value (f, ∂ of each input in order) in mpmath, the inputs in order
CASES = {
    "x*y/(x + y)": (lambda t, x, y: x * y / (x + y),
                    lambda x, y: [x * y / (x + y), y ** 2 / (x + y) ** 2, x ** 2 / (x + y) ** 2], "xy"),
    "x/abs(x + y)": (lambda t, x, y: x / t.abs(x + y),
                     lambda x, y: [x / abs(x + y), mpmath.sign(x + y) * y / (x + y) ** 2,
                                   -mpmath.sign(x + y) * x / (x + y) ** 2], "xy"),
    "y/(x - y)": (lambda t, x, y: y / (x - y), lambda x, y: [y / (x - y), -y / (x - y) ** 2, x / (x - y) ** 2], "xy"),
    "relu(y)/(x - y)": (lambda t, x, y: t.relu(y) / (x - y),
                        lambda x, y: [max(y, 0) / (x - y), -max(y, 0) / (x - y) ** 2,
                                      (x / (x - y) ** 2 if y > 0 else 0 * x)], "xy"),
    "x/(1 + (a*x)**2)": (lambda t, a, x: x / (1 + (a * x) ** 2),
                         lambda a, x: [x / (1 + (a * x) ** 2), -2 * a * x ** 3 / (1 + (a * x) ** 2) ** 2,
                                       (1 - (a * x) ** 2) / (1 + (a * x) ** 2) ** 2], "ax"),
}


def _run(formula, dtype, columns, backend="numpy"):
    k = compiled(formula, backend)
    names = CASES[formula][2]
    with np.errstate(all="ignore"):
        if backend == "numpy":
            return [np.asarray(v, F64) for v in k(**{n: c.astype(dtype) for n, c in zip(names, columns)})]
        torch = triton_torch()
        td = torch.float64 if dtype is F64 else torch.float32
        return [v.double().numpy() for v in k(**{n: torch.tensor(c.astype(dtype), dtype=td)
                                                 for n, c in zip(names, columns)})]


def _torch(formula, dtype, columns):
    torch = pytest.importorskip("torch")
    td = torch.float64 if dtype is F64 else torch.float32
    ts = [torch.tensor(c.astype(dtype), dtype=td, requires_grad=True) for c in columns]
    value = CASES[formula][0](torch, *ts)
    return [value.detach().double().numpy(), *(g.double().numpy() for g in torch.autograd.grad(value.sum(), ts))]


def _limit(formula, point, k):
    """The exact outputs with input k at ±1e1000 (the others as given), rounded to float64: 0 keeps its sign; None
    for the sign of an exact 0 (the other input 0: no side to come from)."""
    with mpmath.workdps(60):
        at = [mpmath.mpf(float(v)) for v in point]
        at[k] = mpmath.mpf("1e1000") * (1 if point[k] > 0 else -1)
        values = CASES[formula][1](*at)
        return [float(v) for v in values], [None if v == 0 else bool(v < 0) for v in values]


def _points(dtype, n, seed, k):
    """n points: input k ±inf, the other 0, ±1, 2.5, ±10^[−30, 30], and the dtype's largest and smallest normal."""
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    other = np.concatenate([[1.0, 0.0, -1.0, 2.5, float(info.max), -float(info.max), float(info.tiny)],
                            rng.choice([-1, 1], n - 7) * 10.0 ** rng.uniform(-30, 30, n - 7)])
    infinite = rng.choice([np.inf, -np.inf], n)
    return [infinite, other] if k == 0 else [other, infinite]


# (formula, the infinite input) the rule fires at; before (79856dea, seed 4242, 200 points a row, both dtypes): every
# output marked NaN at all 200 points (relu(y)/(x − y) at y = +inf: at the 105 (float32 97) with y = +inf), torch NaN
# at all of them too; the outputs not marked were finite already and keep their value. The other input ±1.8e308
# among the points: y/(x − y)'s ∂y at x = 1.8e308, y = ±inf was NaN (torch 0). The value at 1e1000 rounds to the limit;
# a zero's sign is taken where the leading coefficients are numbers (test_exact_limits), +0 where it is the others'
FIRING = [("x*y/(x + y)", 0), ("x*y/(x + y)", 1),        # before: f, ∂y NaN at x = ±inf (f, ∂x at y = ±inf)
          ("x/abs(x + y)", 0),                            # before: f, ∂y NaN (test_review41's strict xfail)
          ("y/(x - y)", 0), ("y/(x - y)", 1),             # before: ∂y NaN at x = ±inf (torch 0); f, ∂x at y = ±inf
          ("relu(y)/(x - y)", 0), ("relu(y)/(x - y)", 1)]  # before: ∂y NaN at 92 of 200 at x = ±inf (torch 0)


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula, k", FIRING)
def test_outputs_at_an_infinite_input_are_the_exact_limit(formula, k, dtype):
    columns = _points(dtype, 200, 4242, k)
    got = _run(formula, dtype, columns)
    theirs = _torch(formula, dtype, columns)
    for i in range(200):
        point = [float(c[i]) for c in columns]
        if not all(np.isfinite(point[j]) for j in range(2) if j != k) or abs(point[1 - k]) > float(np.finfo(dtype).max):
            continue
        want, _ = _limit(formula, point, k)
        for o in range(3):
            assert got[o][i] == np.asarray(want[o], dtype), (o, point, got[o][i], want[o])
            if not np.isnan(theirs[o][i]):  # where torch gives a number, it is ours
                assert got[o][i] == theirs[o][i], (o, point, got[o][i], theirs[o][i])


def test_the_product_over_sum_value_at_an_infinite_input_is_the_other_input():
    # lc(P)/lc(Q) an expression: x·y/(x + y) at x = ±inf is y (before NaN; torch NaN), exactly, float64 and float32
    ys = np.array([3.0, -2.5e-30, 1e30, 0.0, -7.0])
    for dtype in (F64, F32):
        f = _run("x*y/(x + y)", dtype, [np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf]), ys])[0]
        assert np.array_equal(f, ys.astype(dtype).astype(F64)), f


@pytest.mark.parametrize("dtype", [F64, F32])
def test_cauchy_like_quotient_at_an_infinite_input_and_a_zero_leading_coefficient(dtype):
    # x/(1 + (a·x)²) at x = ±inf: lc(Q) = a² (a⁴ for ∂a, ∂x), the limits 0 (±0) only where a ≠ 0 (the select's
    # condition); at a = 0 (the form x, ∂a 0, ∂x 1) left as computed
    xs = np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf, -np.inf])
    avals = np.array([2.0, 2.0, -1e-30, 1e30, 0.0, 0.0])
    got = _run("x/(1 + (a*x)**2)", dtype, [avals, xs])
    theirs = _torch("x/(1 + (a*x)**2)", dtype, [avals, xs])
    for i in range(4):
        want, below = _limit("x/(1 + (a*x)**2)", [avals[i], xs[i]], 1)
        for o in range(3):  # ∂a's 0 is +0 (its sign, −sign(a·x), is the others': not taken)
            assert got[o][i] == want[o] and (o == 1 or below[o] == np.signbit(got[o][i])), (o, i, got[o][i], want[o])
    # a = 0: (a·x)² = 0·inf = NaN as written: f NaN, as torch's
    assert np.isnan(got[0][4:]).all() and np.isnan(theirs[0][4:]).all()


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula", ["x*y/(x + y)", "x/abs(x + y)", "y/(x - y)"])
def test_finite_neighbourhood_unchanged_and_never_worse_than_torch(formula, dtype):
    # the other branch of the select is the form as it was: huge finite inputs (the dtype's largest, 1e300) and
    # ordinary ones within 4 ULP or no worse than torch
    rng = np.random.default_rng(42)
    top = float(np.finfo(dtype).max)
    big = rng.choice([top, -top, top / 3, -top / 7], 150)
    small = rng.choice([-1, 1], 150) * 10.0 ** rng.uniform(-20, 20, 150)
    columns = [np.concatenate([big, small]), np.concatenate([small, big])]
    got = _run(formula, dtype, columns)
    theirs = _torch(formula, dtype, columns)
    for i in range(300):
        with mpmath.workdps(60):
            truth = CASES[formula][1](*(mpmath.mpf(float(np.asarray(c[i], dtype))) for c in columns))
        for o in range(3):
            mine = ulps(got[o][i], truth[o], dtype)
            assert mine <= max(4, ulps(theirs[o][i], truth[o], dtype)), (o, columns[0][i], columns[1][i], mine)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_the_limits_in_triton(dtype):
    xs = np.array([np.inf, -np.inf, np.inf, -np.inf, 1.0, 2.0])
    ys = np.array([1.0, 2.5, 1e-30, -1e30, 3.0, -7.0])
    for formula in ("x*y/(x + y)", "x/abs(x + y)"):
        got = _run(formula, dtype, [xs, ys], "triton")
        mine = _run(formula, dtype, [xs, ys])
        for o in range(3):
            assert np.array_equal(got[o][:4], mine[o][:4]) and np.array_equal(np.signbit(got[o][:4]),
                                                                              np.signbit(mine[o][:4])), (formula, o)
            for i in (4, 5):
                with mpmath.workdps(60):
                    truth = CASES[formula][1](mpmath.mpf(xs[i]), mpmath.mpf(ys[i]))[o]
                assert ulps(got[o][i], truth, dtype) <= 4, (formula, o, i)


# ------------------------------------------------------------------ the proof itself (no kernel)

def _limit_of(expr, var, sign):
    from symnet.codegen.rewrite import _TowardInfinity

    others = sorted(expr.free_symbols - {var}, key=lambda s: s.name)
    return _TowardInfinity(expr, var, others).limit(sign)


@pytest.mark.parametrize("expr, var, sign, limit, nonzero", [
    (x * y / (x + y), x, 1, y, set()),
    (x ** 2 / (x + y) ** 2, x, -1, 1, set()),
    (x / (a * x + 1), x, 1, 1 / a, {a}),                    # lc(Q) = a: taken only where a ≠ 0
    (-2 * a * x ** 3 / (1 + a ** 2 * x ** 2) ** 2, x, 1, 0, {a}),  # +0: its sign, −sign(a), not taken
    (x / sp.Abs(x + y), x, -1, -1, set()),
    (-x * sp.sign(x + y) / (x + y) ** 2, x, 1, sp.Float("-1e-400", 17), set()),  # −0: from below
    (sp.Piecewise((0, y <= 0), (x / (x - y), True)) / (x - y), x, -1,
     sp.Piecewise((0, y <= 0), (sp.Float("-1e-400", 17), True)), set()),       # a select over y: each side
])
def test_exact_limits(expr, var, sign, limit, nonzero):
    got, needs = _limit_of(expr, var, sign)
    assert got == limit and needs == nonzero, (got, needs)
    if not got.has(sp.Piecewise):  # and mpmath agrees at |var| = 1e1000, y = 0.7, a = 3
        with mpmath.workdps(60):
            at = {a: mpmath.mpf(3), y: mpmath.mpf("0.7"), var: sign * mpmath.mpf("1e1000")}
            value = sp.lambdify([a, x, y], expr, "mpmath")(at[a], at[x], at[y])
            want = sp.lambdify([a, y], got, "mpmath")(at[a], at[y])
            zero = abs(want) <= mpmath.mpf("1e-399")  # ±0 (printed −0.0 and 0.0)
            assert abs(value - (0 if zero else want)) < mpmath.mpf("1e-900")


@pytest.mark.parametrize("expr, var", [
    (x ** 2 / (x + y), x),                  # the limit is ±inf: left alone
    (x * sp.tanh(a * x), x),                 # no rational function of x
    (x / (x * (a + y) + 1), x),              # lc(Q) = a + y: not a monomial (0 on a line), not proved
    (x * y, x),                              # no quotient in x: no limit taken, no probe
    (sp.exp(y) * x / (x + 1), x),            # e^y may overflow at a finite y: no coefficient of the limit
])
def test_no_limit_without_a_proof(expr, var):
    from symnet.codegen.rewrite import _NoRationalLimit

    with pytest.raises(_NoRationalLimit):
        _limit_of(expr, var, 1)


def test_no_probe_for_common_formulas(monkeypatch):
    # the structural pre-filter: sigmoid, x·y + z and a tanh layer print no probe (h-inf41 printed one for every
    # output of 2–6 inputs) and are untouched by the rule
    import symnet
    from symnet.codegen import rewrite

    def refuse(*args):
        raise AssertionError("probed")
    patch_rewrite(monkeypatch, "_float_probe_inputs", refuse)  # where limits.py looks it up (session 43 split)
    rewrite._input_infinite_limits.cache_clear()
    for formula in ("x*y + z", "w*tanh(v*x + b) + c", "tanh(w*x + b)"):
        d = symnet.derive(formula)
        for output in d.outputs if hasattr(d, "outputs") else ():
            assert rewrite._input_infinite_limits(output) is output
    for g in (x * y + a, sp.tanh(a * x + y) * x):
        assert rewrite._input_infinite_limits(g) is g
