"""h-fix41: ∂y of relu(y)/l1(x, y) at x = ±inf, NaN for 0 since session 39 (h-worseb39), without h-fix40's side effects.

The abs-sign and fraction-complement rules join ∂y = H(y)/|x − y| + relu(y)·sign(x − y)/(x − y)² into
x·sign(x − y)/(x − y)² for y > 0, inf/inf = NaN wherever x = ±inf (torch 0; e562f99c 0). h-fix40 took the joined
K·(S − a)/S^(m+1) as K·(1 − a/S)/S^m where it is ±inf or NaN wherever S − a holds an input; the wrapper kept the
product-over-sum rule from x·y/(x + y)'s ∂x, y·(y/(x + y)²) (test_harm23/25: NaN, 0 or inf at ±1.8e308 and 5e−324),
and the double words from ∂x of mish(x)/(x + y), y·tanh(softplus(x))/(x + y)² (test_xfailb34: 8.7e15 ULP at
x = 1.1e71), and was reverted. The stand-in is now taken only where K holds sign(S) (the quotient by |S| that abs-sign
wrote sign(S)/S), a factor the product-over-sum rule never takes; a form taken as written where not finite is
evaluated by mpmath as its computed form (the infinite-limit rule's probe met it: "no mpmath rule").

References: torch autograd in the same dtype (0 at every x = ±inf point), mpmath at 60 digits at finite points.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulps

F64, F32 = np.float64, np.float32

# the four spellings, mpmath's truth, torch's autograd and the compiled kernel's outputs: test_fix40's
from test_fix40 import RELU_FORMS, _relu_truth as _truth, _run, _torch_relu as _torch  # noqa: E402


def _neighbourhood(dtype, n, seed):
    """x = ±inf, and x = ±1e308 (±3e38 in float32) and ±the largest finite; y of both signs over 10^[−30, 30]
    (10^[−30, 30] in float32 too: 1e−30 is normal there) and 0."""
    rng = np.random.default_rng(seed)
    big = 1e308 if dtype is F64 else 3e38
    top = float(np.finfo(dtype).max)
    ys = np.concatenate([[1.0, 0.0, -1.0], rng.choice([-1, 1], n - 3) * 10.0 ** rng.uniform(-30, 30, n - 3)])
    xs = rng.choice([np.inf, -np.inf, big, -big, top, -top], n)
    xs[0] = np.inf
    return xs.astype(dtype), ys.astype(dtype)


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula", RELU_FORMS)
def test_relu_over_l1_near_an_infinite_x(formula, dtype):
    # before (35e1a307): ∂y NaN at every x = ±inf point with y > 0 (seed 4101: 49 of the 101 infinite points, each
    # spelling and dtype; torch 0 at all). Now 0 NaN: torch's value (±0) at every infinite x, every output. Finite
    # huge x the same before and after: worst f 0.5, ∂x 0, ∂y 0.16 ULP (float32 0.49, 0, 0.15), torch the same
    xs, ys = _neighbourhood(dtype, 300, 4101)
    got = _run(formula, dtype, xs, ys)
    theirs = _torch(dtype, xs, ys)
    infinite = np.isinf(xs)
    for o in range(3):
        assert not np.isnan(got[o]).any(), (o, np.isnan(got[o]).sum())
        assert np.array_equal(got[o][infinite], theirs[o][infinite]), o
    for i in np.flatnonzero(~infinite):
        truth = _truth(xs[i], ys[i])
        for o in range(3):
            mine = ulps(got[o][i], truth[o], dtype)
            assert mine <= 4 and mine <= max(ulps(theirs[o][i], truth[o], dtype), 0.5), (o, xs[i], ys[i], mine)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_relu_over_l1_near_an_infinite_x_triton(dtype):
    # Triton (interpreter), before: ∂y NaN at x = ±inf, y > 0; now 0, and finite huge x within 4 ULP
    big = 1e308 if dtype is F64 else 3e38
    xs = np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf, big, -big, 1.0])
    ys = np.array([1.0, 1e-30, 88.7, 1e4, -1.0, 3.0, 1e20, 3.0])
    got = _run("relu(y)/l1(x, y)", dtype, xs, ys, "triton")
    theirs = _torch(dtype, xs, ys)
    for o in range(3):
        assert np.array_equal(got[o][:5], theirs[o][:5]), (o, got[o][:5])
        for i in (5, 6, 7):
            assert ulps(got[o][i], _truth(xs.astype(dtype)[i], ys.astype(dtype)[i])[o], dtype) <= 4, (o, i, got[o][i])


def test_the_stand_in_only_where_k_holds_the_sign_of_the_sum():
    # the stand-in (a written-where-not-finite form) for relu(y)/|x − y|'s ∂y, whose K is sign(x − y); none for
    # x·y/(x + y)'s ∂x (product-over-sum's, test_harm23) nor mish(x)/(x + y)'s (the double words', test_xfailb34)
    from symnet.codegen.rewrite import WrittenWhereNotFiniteBase, _fraction_complement

    x, y = sp.symbols("x y", real=True)
    u = x - y
    relu_dy = sp.sign(u) / u + y * sp.sign(u) / u ** 2
    product_dx = 1 / (x + y) - x / (x + y) ** 2
    t = sp.tanh(sp.log(1 + sp.exp(x)))
    mish_dx = sp.Symbol("d") / (x + y) - x * t / (x + y) ** 2 + t / (x + y)
    assert _fraction_complement(relu_dy).expr.has(WrittenWhereNotFiniteBase)
    joined = _fraction_complement(product_dx).expr
    assert not joined.has(WrittenWhereNotFiniteBase) and sp.simplify(joined - y / (x + y) ** 2) == 0
    fired = _fraction_complement(mish_dx)
    assert fired is not None and not fired.expr.has(WrittenWhereNotFiniteBase)


def test_a_written_where_not_finite_form_is_its_computed_value_in_mpmath():
    # before: NotEvaluable "no mpmath rule for WrittenWhereNotFiniteBase" (the infinite-limit rule's probe)
    from symnet.codegen.rewrite import written_where_not_finite
    from symnet.verify.evaluate import mp_value

    x = sp.Symbol("x", real=True)
    form = written_where_not_finite(x / (x + 1) ** 2, (1 - 1 / (x + 1)) / (x + 1))
    with mpmath.workdps(50):
        assert mp_value(form, {x: mpmath.mpf(3)}) == mpmath.mpf(3) / 16
        assert mp_value(sp.sin(form) + 1, {x: mpmath.mpf(3)}) == mpmath.sin(mpmath.mpf(3) / 16) + 1


# was a strict xfail, "measured: ∂y of y/(x − y) (and relu(y)/(x − y)), 1/(x − y) + y/(x − y)² joined by
# fraction-complement into x/(x − y)², is NaN (inf/inf) at x = ±inf for 0 (torch 0): 4 of 4 points in float64;
# e562f99c and 35e1a307 the same"; h-inf41's input-infinite-limit rule returns the limit 0 there (tests/test_inf41.py)
def test_y_over_x_minus_y_dy_at_an_infinite_x():
    xs = np.array([np.inf, -np.inf, np.inf, -np.inf])
    ys = np.array([1.0, 2.5, 1e-30, 1e30])
    k = compiled("y/(x - y)")
    with np.errstate(all="ignore"):
        dy = np.asarray(k(x=xs, y=ys)[2])
    assert np.all(dy == 0), dy


# ------------------------------------------------------------------ verify's row-wise name check uses the one parser

@pytest.mark.parametrize("wrt", ["x,,y", ",", "x y", "x, log_softmax_"])
def test_verify_row_wise_name_with_a_wrt_list_not_naming_it(capsys, wrt):
    # unchanged by cli._listed (was its own re.split): a --wrt list that does not name the function is refused
    from test_user37 import _run as run

    code, out, err = run(capsys, "verify", "log_softmax", "--wrt", wrt)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out[:200], err)
    assert "'log_softmax' is a row-wise function of symnet's registry" in err, err


def test_verify_row_wise_name_listed_in_wrt_is_measured_and_empty_lists_refused(capsys):
    from test_user37 import _run as run

    code, out, err = run(capsys, "verify", "log_softmax", "--wrt", "x, log_softmax", "--points", "0")
    assert "row-wise function" not in err, err
    code, out, err = run(capsys, "verify", "x*y", "--dtype", " , ")
    assert code == 2 and "--dtype names nothing" in err, (code, err)
    code, out, err = run(capsys, "verify", "x*y", "--backend", ",")
    assert code == 2 and "--backend names nothing" in err, (code, err)
