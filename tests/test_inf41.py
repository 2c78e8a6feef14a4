"""h-inf41: gradients of quotients at one infinite input (issue 16 point 2: where a limit exists, return it).

∂y of y/(x − y) and relu(y)/(x − y), joined by fraction-complement into x/(x − y)², and ∂y of x·y/(x + y),
x²/(x + y)², were inf/inf = NaN at x = ±inf (limits 0 and 1; torch 0 and NaN). The input-infinite-limit rule
selects the limit only where an input is ±inf and the others finite (x > 1.8e308); the other branch is the form as
it was, so product-over-sum's x·y/(x + y) printing (test_harm23/25, test_search33) is untouched.

References: torch autograd in the same dtype, mpmath at 60 digits at the finite points.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps

F64, F32 = np.float64, np.float32
# the rule's cases are here (its limits at ±inf are no points test_stability_rules's cases evaluate in mpmath)
CASES_ELSEWHERE = {"input-infinite-limit"}

# formula, torch's function, exact (f, ∂x, ∂y) at finite points, the ∂y limit at x = ±inf
CASES = {
    "y/(x - y)": (lambda t, x, y: y / (x - y), lambda x, y: [y / (x - y), -y / (x - y) ** 2, x / (x - y) ** 2], 0.0),
    "relu(y)/(x - y)": (lambda t, x, y: t.relu(y) / (x - y),
                        lambda x, y: [max(y, 0) / (x - y), -max(y, 0) / (x - y) ** 2,
                                      (x / (x - y) ** 2 if y > 0 else 0)], 0.0),
    "x*y/(x + y)": (lambda t, x, y: x * y / (x + y),
                    lambda x, y: [x * y / (x + y), y ** 2 / (x + y) ** 2, x ** 2 / (x + y) ** 2], 1.0),
}


def _points(dtype, n, seed):
    rng = np.random.default_rng(seed)
    big = 1e308 if dtype is F64 else 3e38
    top = float(np.finfo(dtype).max)
    ys = np.concatenate([[1.0, 0.0, -1.0, 2.5], rng.choice([-1, 1], n - 4) * 10.0 ** rng.uniform(-30, 30, n - 4)])
    xs = rng.choice([np.inf, -np.inf, big, -big, top, -top], n)
    xs[:4] = [np.inf, -np.inf, np.inf, -np.inf]
    return xs.astype(dtype), ys.astype(dtype)


def _torch(formula, dtype, xs, ys):
    torch = pytest.importorskip("torch")
    td = torch.float64 if dtype is F64 else torch.float32
    x = torch.tensor(xs, dtype=td, requires_grad=True)
    y = torch.tensor(ys, dtype=td, requires_grad=True)
    value = CASES[formula][0](torch, x, y)
    return [value.detach().double().numpy(), *(g.double().numpy() for g in torch.autograd.grad(value.sum(), [x, y]))]


from test_fix40 import _run  # noqa: E402  (the kernel runner: NumPy or Triton, either dtype, read back as float64)


def _truth(formula, x, y):
    with mpmath.workdps(60):
        return CASES[formula][1](mpmath.mpf(float(x)), mpmath.mpf(float(y)))


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula", list(CASES))
def test_quotient_gradients_at_an_infinite_x(formula, dtype):
    # before (5a2750d7), seed 4141, 300 points: ∂y NaN at every x = ±inf point (y/(x − y) and x·y/(x + y): all ~100;
    # relu(y)/(x − y): those with y > 0), torch 0, 0 and NaN there. Now the limit (0, 0, 1) at every one; the other
    # outputs at x = ±inf as torch's where torch's is a number; finite huge x unchanged (≤ 4 ULP or ≤ torch's)
    xs, ys = _points(dtype, 300, 4141)
    got = _run(formula, dtype, xs, ys)
    theirs = _torch(formula, dtype, xs, ys)
    infinite = np.isinf(xs)
    assert np.array_equal(got[2][infinite], np.full(infinite.sum(), CASES[formula][2])), got[2][infinite]
    for o in range(3):
        known = infinite & ~np.isnan(theirs[o])
        assert np.array_equal(got[o][known], theirs[o][known]), o
    for i in np.flatnonzero(~infinite):
        truth = _truth(formula, xs[i], ys[i])
        for o in range(3):
            mine = ulps(got[o][i], truth[o], dtype)
            assert mine <= max(4, ulps(theirs[o][i], truth[o], dtype)), (o, xs[i], ys[i], mine)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_quotient_gradients_at_an_infinite_x_triton(dtype):
    xs = np.array([np.inf, -np.inf, np.inf, -np.inf, 1.0, 2.0])
    ys = np.array([1.0, 2.5, 1e-30, 1e30, 3.0, -7.0])
    for formula in CASES:
        got = _run(formula, dtype, xs, ys, "triton")
        assert np.array_equal(got[2][:4], np.full(4, CASES[formula][2])), (formula, got[2])
        for i in (4, 5):
            for o in range(3):
                assert ulps(got[o][i], _truth(formula, xs[i], ys[i])[o], dtype) <= 4, (formula, o, i)


def test_both_inputs_infinite_left_as_computed():
    # the limit is taken only where the other input is finite: at x = y = inf, no limit (the computed NaN)
    got = _run("y/(x - y)", F64, np.array([np.inf]), np.array([np.inf]))
    assert np.isnan(got[2]).all()


# h-inf41's rule (a limit sampled in mpmath at 8 rows) took ∂w = x·(1 − tanh²(w·x + b)) at w = ±inf, x = 0 and
# ∂x = w·(1 − tanh²) at x = ±inf, w = 0 to 0; h-inf42's rule proves limits of rational functions only, and tanh of
# w·x is none. Measured before root49: NaN (w·x = inf·0) for the limit 0 (torch NaN). input-infinite-limit now takes
# z^k·B with B bounded (4x·σ(2u)·σ(−2u)) to 0 at x = 0 (|f| ≤ M·|z|^k): a far branch, the tanh layer's code otherwise
# as main prints it (tests/test_root49.py)
def test_tanh_layer_gradients_at_an_infinite_input():
    k = compiled("tanh(w*x + b)")
    b, w, x = np.array([0.3, 0.3, 0.3, -2.0]), np.array([np.inf, -np.inf, 0.0, 0.0]), np.array([0.0, 0.0, np.inf, -np.inf])
    with np.errstate(all="ignore"):
        f, db, dw, dx = (np.asarray(v) for v in k(b=b, w=w, x=x))
    assert np.isnan(f).all() and np.isnan(db).all()  # w·x undefined: no limit of f or ∂b (torch NaN too)
    assert np.array_equal(dw[:2], [0.0, 0.0]) and np.array_equal(dx[2:], [0.0, 0.0]), (dw, dx)
