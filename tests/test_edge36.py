"""Session 36, h-edge36: losses at the ends of the range (issue 16).

* reciprocal-margin takes a difference of squares, R + k·u² − k·v² with u, v inputs or sums of inputs, as
  R + k·(u − v)·(u + v) in double words: the triplet loss relu((a − p)² − (a − n)² + m) at a = −1e200 formed inf − inf
  (f NaN for 0), and at a = −1e100 its squares' roundings (2⁻¹⁰⁶ of 1e200) were past the true value (−3e100).

Truths are mpmath's at 60 digits of the formula as written (at the inputs rounded to the dtype); torch autograd's
figures (float64) are measured beside them and quoted where they are worse."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, torch_autograd_values, ulps

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}

_a, _p, _n, _m, _q, _y = sp.symbols("a p n m q y", real=True)
# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("reciprocal-margin", (_a - _p) ** 2 - (_a - _n) ** 2 + _m, (_a, _p, _n, _m), (-3.0, 3.0), (-1e200, -0.5, 1.0, 1.0),
     F64),  # inf − inf as written
    ("tie-difference", sp.Max(_q * (_y - _p), (_q - 1) * (_y - _p)), (_y, _p, _q), (-3.0, 3.0),
     (-1.12589978864448e+308, 1.122091034592725e+308, 1.9785386571594223), F64),  # ∂y 1.48 for 0.98 as written
]


def _heaviside(u):
    return 1 if u > 0 else 0  # H(0) = 0: relu′(0) = 0, as torch


def _errors(formula, points, truths, dtype, digits=60):
    """{output: [ULP error at each point]} of the compiled formula against ``truths`` (a function of mpmath inputs
    returning {output: truth} at ``digits``), the inputs rounded to ``dtype`` first."""
    k = compiled(formula)
    cast = {n: np.asarray(v, dtype) for n, v in points.items()}
    with np.errstate(all="ignore"):
        out = dict(zip(k.outputs, k(**cast)))
    errors: dict = {}
    with mpmath.workdps(digits):
        for i in range(len(next(iter(cast.values())))):
            p = {n: mpmath.mpf(float(v[i])) for n, v in cast.items()}
            for name, true in truths(**p).items():
                errors.setdefault(name, []).append((ulps(out[name][i], true, dtype), p, float(out[name][i]), true))
    return errors


def _assert_within(errors, dtype):
    for name, rows in errors.items():
        worst = max(rows, key=lambda r: r[0])
        assert worst[0] <= BOUND[dtype], (name, worst[0], {k: float(v) for k, v in worst[1].items()}, worst[2],
                                          mpmath.nstr(worst[3], 17))


# ---------------------------------------------------------------- the triplet loss: a difference of squares

TRIPLET = "relu((a - p)**2 - (a - n)**2 + m)"  # a triplet loss with squared distances, one coordinate
TRIPLET_FORMS = [TRIPLET, "relu(m + (p - a)**2 - (n - a)**2)", "(a - p)**2 - (a - n)**2 + m"]


def _triplet_truths(gated):
    def truths(a, p, n, m):
        s = (a - p) ** 2 - (a - n) ** 2 + m
        h = _heaviside(s) if gated else 1
        return dict(f=max(s, 0) if gated else s, df_da=2 * (n - p) * h, df_dm=h, df_dn=2 * (a - n) * h,
                    df_dp=-2 * (a - p) * h)
    return truths


def _triplet_points(dtype, seed):
    """a far from p and n (|a| log-uniform up to the dtype's largest / 32, both signs), p and n in [−3, 3]; m in [−3, 3]
    for a third (the relu closed or open by the sign of a), and within 1e−6 relative of −(n − p)(2a − p − n) for the
    rest, where the loss is the cancellation of m against the difference of squares."""
    rng = np.random.default_rng(seed)
    n_points = 150
    top = np.log10(float(np.finfo(dtype).max) / 32)  # (m ≈ 6·2a stays finite)
    a = 10 ** rng.uniform(top / 4, top, n_points) * rng.choice([-1, 1], n_points)
    p, n = rng.uniform(-3, 3, n_points), rng.uniform(-3, 3, n_points)
    a, p, n = (np.asarray(v, dtype).astype(np.float64) for v in (a, p, n))
    balance = -(n - p) * (2 * a - p - n)
    m = np.where(np.arange(n_points) < n_points // 3, rng.uniform(-3, 3, n_points),
                 balance * (1 + rng.uniform(-1e-6, 1e-6, n_points)))
    far = -1e200 if dtype is F64 else -1e30
    return dict(a=np.concatenate([[far], a]), p=np.concatenate([[-0.5], p]), n=np.concatenate([[1.0], n]),
                m=np.concatenate([[1.0], m]))


# Before: f NaN at a = −1e200, p = −0.5, n = 1, m = 1 (true 0), ∂a 3, ∂p 2e200, ∂n −2e200 (true 0 each: the relu is
# closed); torch autograd f NaN, ∂a 0, ∂p 2e200, ∂n −2e200. Over the neighbourhood (151 points × 3 forms × 2 dtypes),
# f64 before: f past 4 ULP at 102 of 151 points (the relu forms; 134 without the relu): NaN or inf at 76 (80) from
# |a| = 6.8e154, finite up to 8.8e15 ULP off at the rest (m cancelling the difference of squares, each square rounded
# at 2⁻¹⁰⁶ of a²); the gradients NaN or past 4 ULP at 49; after: ≤ 0.5 ULP f64 and f32 (f32 ≤ 0.5 before too: the
# float64 body). torch autograd: f NaN, inf or past 4 ULP at 141 of 151, ∂a past 4 ULP at 74 (8.9e15 f64), both dtypes.
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula", TRIPLET_FORMS)
def test_triplet_loss_where_the_squares_cancel_or_overflow(formula, dtype):
    points = _triplet_points(dtype, 3600 + len(formula))
    # 700 digits: the squares (to 1e616) cancel down to the loss (from 1e−3)
    _assert_within(_errors(formula, points, _triplet_truths(formula.startswith("relu")), dtype, digits=700), dtype)


def test_triplet_loss_with_a_far_anchor_beside_torch():
    """The point of tests/test_edge35.py's xfail (now passing there): every output exact, where torch's f is NaN."""
    k = compiled(TRIPLET)
    out = dict(zip(k.outputs, k(a=np.array([-1e200]), p=np.array([-0.5]), n=np.array([1.0]), m=np.array([1.0]))))
    assert (out["f"][0], out["df_da"][0], out["df_dp"][0], out["df_dn"][0], out["df_dm"][0]) == (0, 0, 0, 0, 0)
    theirs = torch_autograd_values(lambda torch, a, p, n, m: torch.relu((a - p) ** 2 - (a - n) ** 2 + m), "apnm",
                                   [[-1e200], [-0.5], [1.0], [1.0]], F64)
    assert np.isnan(theirs["f"][0])  # torch's figure, for the record: inf − inf


# ---------------------------------------------------------------- the pinball loss: h·(y − p) where y − p overflows

PINBALL_FORMS = ["max(q*(y - p), (q - 1)*(y - p))", "max(q*(y - p), (1 - q)*(p - y))",
                 "q*relu(y - p) + (1 - q)*relu(p - y)", "(y - p)*(q - heaviside(p - y))"]


def _pinball_truths(y, p, q):
    """q·d for d = y − p > 0, (q − 1)·d below: every form above, at every q (not at d = 0, where the forms' gradients
    differ by their conventions)."""
    d = y - p
    slope = q if d > 0 else q - 1
    return dict(f=slope * d, df_dy=slope, df_dp=-slope, df_dq=d)


def _pinball_points(dtype, seed):
    """The point (y, p, q) = (big, −big, 1/4) (1.7e308 in float64), then 100 points where y − p overflows (y, p of
    opposite signs within a factor 2 of the largest float; q in [0, 1] for 60, in [−2, 3] for 40), 50 where it does
    not (within 1/10…1/2 of it), 50 in [−10, 10]."""
    rng = np.random.default_rng(seed)
    big = float(np.finfo(dtype).max)
    side = rng.choice([-1, 1], 150)
    y = np.concatenate([big * rng.uniform(0.5, 1, 100), big * rng.uniform(0.1, 0.5, 50)]) * side
    p = -np.concatenate([big * rng.uniform(0.5, 1, 100), big * rng.uniform(0.1, 0.5, 50)]) * side
    q = np.concatenate([rng.uniform(0, 1, 60), rng.uniform(-2, 3, 40), rng.uniform(0, 1, 50)])
    first = 1.7e308 if dtype is F64 else 3.3e38
    return dict(y=np.concatenate([[first], y, rng.uniform(-10, 10, 50)]),
                p=np.concatenate([[-first], p, rng.uniform(-10, 10, 50)]),
                q=np.concatenate([[0.25], q, rng.uniform(0, 1, 50)]))


# Before: f inf for 8.5e307 at (y, p, q) = (1.7e308, −1.7e308, 0.25) in every form (torch autograd inf too); the max
# forms' ∂y, ∂p wrong where both products overflow to one infinity at q outside [0, 1] (the select's q·d − (q − 1)·d
# inf − inf = NaN: the tie's mean, 1.48 for 0.98 at (−1.12e308, 1.12e308, 1.98)). Now the product is taken again as
# (h·(y/2 − p/2))·2 where it came out ±inf or NaN (both printers), and the select tests y − p (tie-difference).
# 201 points × 4 forms: before, f past 4 ULP (inf) at 54–57 of them in both dtypes, the max forms' ∂y and ∂p at 34
# (2.9e17 ULP f64, 5.4e8 f32); after ≤ 1.05–1.12 ULP f64, ≤ 1.65 f32, the gradients ≤ 0.5. torch autograd (the first
# form): f at 54, ∂y and ∂p at 34, ∂q (inf for 3.4e308 − …: its own y − p) at 67, in both dtypes.
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula", PINBALL_FORMS)
def test_pinball_loss_where_y_minus_p_overflows(formula, dtype):
    points = _pinball_points(dtype, 3610 + len(formula))
    _assert_within(_errors(formula, points, _pinball_truths, dtype), dtype)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_triton_pinball_and_triplet_at_the_range_end(dtype):
    """The Triton printer takes the pinball's product again as NumPy's does (its first 21 points of each kind; under
    TRITON_INTERPRET=1 where there is no GPU), and the triplet's factored difference of squares at its first 21."""
    from conftest import triton_torch
    torch = triton_torch()
    for formula, points, truths, digits in (
            (PINBALL_FORMS[0], _pinball_points(dtype, 3611), _pinball_truths, 60),
            (TRIPLET, _triplet_points(dtype, 3612), _triplet_truths(True), 700)):
        cols = {n: np.asarray(v, dtype)[np.r_[0:11, 101:106, 151:156] if formula != TRIPLET else np.r_[0:21]]
                for n, v in points.items()}
        k = compiled(formula, "triton")
        out = dict(zip(k.outputs, (o.double().numpy() for o in k(*[torch.tensor(cols[n]) for n in sorted(cols)]))))
        with mpmath.workdps(digits):
            for i in range(len(cols["p"])):
                p = {n: mpmath.mpf(float(v[i])) for n, v in cols.items()}
                for name, true in truths(**p).items():
                    assert ulps(out[name][i], true, dtype) <= BOUND[dtype], (formula, name, p, out[name][i])


# ---------------------------------------------------------------- a widened sum whose sinh or cosh term overflows

SINH_FORMS = [("x - 3*y + sinh(x)", "sinh"), ("x + sinh(x) - 3*y", "sinh"), ("x - 3*y + cosh(x)", "cosh")]


def _brought_back_points(g, dtype, seed):
    """The point (−711, −6e307) (float64; float32 (−89.6, −1.1e38)), then 200 with |x| in the band where g(x) leaves
    the dtype's range (709.8…711.7 in float64, 89.4…89.9 in float32; both signs for sinh) and 3y within 0.6–1 of g(x),
    so that the sum is back in the range."""
    rng = np.random.default_rng(seed)
    lo, hi, first = (709.8, 711.7, (-711.0, -6e307)) if dtype is F64 else (89.42, 89.9, (-89.6, -1.1e38))
    x = rng.uniform(lo, hi, 200) * (rng.choice([-1, 1], 200) if g == "sinh" else 1)
    with mpmath.workdps(30):
        gx = np.array([float(getattr(mpmath, g)(mpmath.mpf(v)) / 3) for v in x])  # (as floats past float32's range)
    y = gx * rng.uniform(0.6, 1.0, 200)
    y = np.clip(y, -float(np.finfo(dtype).max), float(np.finfo(dtype).max))
    return dict(x=np.concatenate([[first[0]], x]), y=np.concatenate([[first[1]], y]))


# Before (float64): f ±inf at 143–144 of the 201 points (x − 3y + sinh x at (−711, −6e307) −inf for −1.2363137e308,
# tests/test_xfailb35.py's strict xfail: sinh(−711) past the range in the double words and in their scaled tier);
# torch autograd ±inf at 198–201 of them, both dtypes. After: f ≤ 0.5 ULP over the 201 points × 3 forms (the scaled
# double words' e^x and expm1 x carry a k past x = 700, sinh and cosh keep it); float32 ≤ 0.5 before and after (its
# float64 body). ∂x = 1 + cosh x (sinh x) is past the range there, as its truth (≤ 0.5 where it is not).
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula, g", SINH_FORMS, ids=[f[0] for f in SINH_FORMS])
def test_widened_sum_whose_hyperbolic_term_overflows_and_is_brought_back(formula, g, dtype):
    points = _brought_back_points(g, dtype, 3620 + len(formula))
    f, df = getattr(mpmath, g), mpmath.cosh if g == "sinh" else mpmath.sinh
    _assert_within(_errors(formula, points, lambda x, y: dict(f=x - 3 * y + f(x), df_dx=1 + df(x), df_dy=-3), dtype),
                   dtype)


# ---------------------------------------------------------------- the contrastive loss: d² − relu(m − d)²

CONTRASTIVE_FORMS = ["y*d**2 + (1 - y)*relu(m - d)**2", "y*d**2 + (1 - y)*max(m - d, 0)**2"]


def _contrastive_truths(d, m, y):
    r = max(m - d, 0)
    return dict(f=y * d * d + (1 - y) * r * r, df_dd=2 * y * d - 2 * (1 - y) * r, df_dm=2 * (1 - y) * r,
                df_dy=d * d - r * r)


def _contrastive_points(dtype, seed):
    """test_user35's point (d, m, y) = (0.49999998221238817, 1, 1), then 300 with d within 10^(−16…−1) of m/2 (either
    side): m in 10^(−3…3) for 200, up to a sixteenth of the dtype's largest for 100 (the squares past the range); y 1,
    uniform in [0, 1], 1/2 for a third each."""
    rng = np.random.default_rng(seed)
    n = 300
    top = np.log10(float(np.finfo(dtype).max) / 16)
    m = np.concatenate([10 ** rng.uniform(-3, 3, 200), 10 ** rng.uniform(3, top, 100)])
    d = m / 2 * (1 + rng.choice([-1, 1], n) * 10 ** rng.uniform(-16 if dtype is F64 else -7, -1, n))
    y = np.concatenate([np.ones(100), rng.uniform(0, 1, 100), np.full(100, 0.5)])
    return dict(d=np.concatenate([[0.49999998221238817], d]), m=np.concatenate([[1.0], m]),
                y=np.concatenate([[1.0], y]))


# Before (float64): ∂y = d² − relu(m − d)² past 4 ULP at 286 (relu form) and 289 (max form) of 301 points (4.2e6 ULP
# at test_user35's point, its strict xfail; up to 1.3e15 near m = 7, ±inf or NaN where the squares overflow): d² and
# relu(m − d)² rounded before they cancel. After: ≤ 0.5 ULP (reciprocal-margin's difference of squares, the relu as
# max(m − d, 0) in double words); f ≤ 1.33, ∂d ≤ 0.98, ∂m ≤ 0.5 before and after; float32 ≤ 0.5 both (its float64
# body). torch autograd: ∂y past 4 ULP at 286 (float64) and 264 (float32), ∂d at 3 (22.4 ULP) and 4 (46.8).
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("formula", CONTRASTIVE_FORMS)
def test_contrastive_loss_near_half_the_margin(formula, dtype):
    points = _contrastive_points(dtype, 3640 + len(formula))
    _assert_within(_errors(formula, points, _contrastive_truths, dtype, digits=700), dtype)


# The Triton kernel of x − 3y + sinh(x) was NaN for −1.2363137e308 at (−711, −6e307) (torch NaN), −inf for
# −6.4161734e307 at (−710.5, −4e307) (torch −inf), NaN for 1.2363137e308 at (711, 6e307): its scaled tier repaired
# subnormals alone. Now its e^x and expm1 x carry a k past x = 700, as NumPy's (h-tritonpar36)
def test_triton_widened_sum_whose_sinh_overflows_and_is_brought_back():
    from conftest import triton_torch
    torch = triton_torch()
    xs, ys = np.array([-711.0, -710.5, 711.0]), np.array([-6e307, -4e307, 6e307])
    got = compiled("x - 3*y + sinh(x)", "triton")(torch.tensor(xs), torch.tensor(ys))[0].double().numpy()
    with mpmath.workdps(60):
        for x, y, g in zip(xs, ys, got):
            assert ulps(g, mpmath.mpf(x) - 3 * mpmath.mpf(y) + mpmath.sinh(mpmath.mpf(x)), F64) <= BOUND[F64], (x, y, g)
