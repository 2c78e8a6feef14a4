"""Session 46, h-cost46 (issue 16): h-cost45's cheaper float32 keep test (doubleword._CancellationBound) landed without
its six failures.

h-cost45's _CancellationBound._bound_sum began its sum with the first term's value negated where the term is −t, then
added the others: a sum whose first term (positive ones first, numbers last) is negative lost that sign, so 1 − p was
printed p + 1.0, and −2t² − 2t + 1 as 2t² − 2t + 1. Every body of the six failures has such a sum (BCE's ∂p
(p − t)/(p(1 − p)), the written KL's ∂q (q − p)/(q(1 − q)), the Dice loss's ∂p (−2t² − 2t + 1)/(p + t + 1)²), and the
wrong float64 value was kept wherever each sum's check held. Now a positive term (a number too) begins the sum, 1.0 − p,
or −t₀'s own value where every term is negative.

References: mpmath (50+ digits) of each body and of the derivatives written by hand, not the printed form; torch
autograd in float64 of the written formula at the same points. Costs: benchmarks/cost46.py, results/cost46.txt."""
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from test_hyp42 import _kernel, _normal, _ulps
from test_hyp43 import BOUND

_p, _q, _t, _x, _y, _gx, _gy = sp.symbols("p q t x y gx gy", real=True)
_LEAVES = {s: s.name for s in (_p, _q, _t, _x, _y, _gx, _gy)}

# ---------------------------------------------------------------- 1. the bound's proof, checked against mpmath: at every
# element the keep mask takes, the float64 body is within the relative bound the keep line states

# the algebraic quotients whose float32 kernels take _CancellationBound (BCE's, the written KL's and Dice's ∂, squareplus′,
# WGAN-GP's) and sums of other sign patterns: all terms negative, a negative number, a constant not exact in float64
BODIES = [
    (_p - _t) / (_p * (1 - _p)),
    (_q - _p) / (_q * (1 - _q)),
    (-2 * _t ** 2 - 2 * _t + 1) / (_p + _t + 1) ** 2,
    4 / (sp.sqrt(_x ** 2 + 4) * (sp.sqrt(_x ** 2 + 4) - _x)),
    (_gx ** 2 + _gy ** 2 - 1) ** 2 / (_gx ** 2 + _gy ** 2 + 2 * sp.sqrt(_gx ** 2 + _gy ** 2) + 1),
    2 * _gx * (_gx ** 2 + _gy ** 2 - 1) / (_gx ** 2 + _gy ** 2 + sp.sqrt(_gx ** 2 + _gy ** 2)),
    (-_x - _y - 1) / _x,
    (1 - _x - _y) / (_x * _y),
    (_x - sp.Rational(1, 3)) / (_y - 1),
]


def _bounded(body):
    """The keep statements _CancellationBound prints for ``body`` (a float32 kernel's branch), run on float64 columns:
    a function of the leaves → (value, keep, the relative bound its keep line states)."""
    from symnet.codegen import doubleword
    lines, value, _, _, _ = doubleword._cancellation_body(body, None, _LEAVES, set(), 1e-10)
    relative = float(lines[-1].split("within ")[-1].split(" ")[0])

    def run(**columns):
        namespace = {"np": np, "within": 2.0 ** -30, **{k: np.asarray(v, np.float64) for k, v in columns.items()}}
        with np.errstate(all="ignore"):
            exec("\n".join(lines), namespace)  # the generated statements, as the widened function runs them
        return namespace[value], namespace["keep"], relative
    return run, lines


def _columns(body, n, seed):
    """float32 inputs (as float64) about each sum's cancellation: each leaf ±10^U(−3, 3), then one leaf of a pair moved
    next to a value that makes a sum vanish (p → 1, q → p, t → the root of 2t² + 2t − 1, x → 1/3, x → −y − 1,
    gx² + gy² → 1, y → 1), at relative distances 10^U(−9, −1)."""
    rng = np.random.default_rng(seed)
    names = sorted(s.name for s in body.free_symbols)
    cols = {k: rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-3, 3, n) for k in names}
    near = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-9, -1, n)
    half = np.arange(n) < n // 2
    if "p" in cols and "t" in cols and body.has(_p * (1 - _p)):
        cols["p"] = np.where(half, 1 + near, rng.uniform(0, 1, n))
        cols["t"] = np.where(half, rng.uniform(-2, 2, n), cols["p"] * (1 + near))
    elif "q" in cols:
        cols["q"] = np.where(half, 1 + near, rng.uniform(0, 1, n))
        cols["p"] = np.where(half, rng.uniform(0, 1, n), cols["q"] * (1 + near))
    elif "t" in cols:
        cols["t"] = np.where(half, (np.sqrt(3) - 1) / 2 * (1 + near), -cols["p"] - 1 + near)
    elif "gx" in cols:
        angle = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(half, 1 + near, 10.0 ** rng.uniform(-3, 3, n))
        cols["gx"], cols["gy"] = radius * np.cos(angle), radius * np.sin(angle)
    elif "y" in cols and body.has(_x - sp.Rational(1, 3)):
        cols["x"] = np.where(half, (1 + near) / 3, cols["x"])
        cols["y"] = np.where(half, cols["y"], 1 + near)
    elif "y" in cols:
        cols["x"] = np.where(half, -cols["y"] - 1 + near * cols["y"], cols["x"])
    return {k: v.astype(np.float32).astype(np.float64) for k, v in cols.items()}


def _relative(value, true) -> float:
    """|value − true|/|true| (0 where both are 0; inf at a pole or where only the truth is 0)."""
    if true == mpmath.inf or true == 0:
        return 0.0 if true == 0 and value == 0 else float("inf")
    return float(abs(mpmath.mpf(float(value)) - true) / abs(true))


@pytest.mark.parametrize("body", BODIES, ids=[str(b) for b in BODIES])
def test_kept_elements_within_the_stated_bound(body):
    """At 300 float32 points about each sum's zero, every element the keep mask takes is within the keep line's
    relative bound (≤ 2⁻³⁰) of the 50-digit value, and the mask takes most elements away from the zeros. Before
    (h-cost45's 8f569249), kept elements' worst relative errors: (p − t)/(p(1 − p)) 47.7 at p = −0.9598, t = 0.3660
    (1 − p printed p + 1.0), (q − p)/(q(1 − q)) inf (q = 1 kept: 1 − q as q + 1.0), Dice's 2.96e7 at p = −25.81,
    t = 0.36603, (−x − y − 1)/x inf (a true 0 kept nonzero at x = 1.857, y = −2.857), (1 − x − y)/(xy) 1.47e4; the
    other four as now. After: each ≤ 1.7e−16, or ≤ 5.9e−11 where a root or 1/3 rounds (each within its bound; BCE's
    and the KL's: two exact values' sums, no check, the bound 4u: 1.3e−16 and 1.1e−16 of 4.4e−16)."""
    run, _ = _bounded(body)
    cols = _columns(body, 300, 4601)
    value, keep, relative = run(**cols)
    keep = np.broadcast_to(keep, value.shape)
    assert relative <= 2.0 ** -30
    f = sp.lambdify(sorted(body.free_symbols, key=lambda s: s.name), body, "mpmath")
    names = sorted(cols)
    worst = 0.0
    with mpmath.workdps(50):
        for i in np.nonzero(keep)[0]:
            try:
                true = f(*[mpmath.mpf(float(cols[k][i])) for k in names])
            except ZeroDivisionError:  # a pole kept (before: 1 − q printed q + 1.0 at q = 1)
                true = mpmath.inf
            worst = max(worst, _relative(value[i], true))
    assert worst <= relative, (worst, relative)
    assert keep.sum() >= 100, keep.sum()


def test_a_sum_begins_with_its_positive_term():
    """1 − p is printed 1.0 − p (before: p + 1.0), −x − y − 1 from −x (before: x − y − 1.0... its first term's sign
    lost), x − 1/3 as x − 0.333… (no "+ −")."""
    _, lines = _bounded((_p - _t) / (_p * (1 - _p)))
    assert "one_minus_p = 1.0 - p" in lines, lines
    _, lines = _bounded((-_x - _y - 1) / _x)
    assert "neg_x = -x" in lines and "neg_x_minus_y = neg_x - y" in lines, lines
    _, lines = _bounded((_x - sp.Rational(1, 3)) / (_y - 1))
    assert "sum_1 = x - 0.3333333333333333" in lines and not any("+ -" in line for line in lines), lines


# ---------------------------------------------------------------- 2. the six failures' gradients, at their points and
# about them, both dtypes, against mpmath and torch

def _bce_truth(p, t):
    return (1 - t) / (1 - p) - t / p


def _bce_torch(torch, p, t):
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p))


def _dice_truth(p, t):
    return -(2 * t * t + 2 * t - 1) / (p + t + 1) ** 2


def _dice_torch(torch, p, t):
    return 1 - (2 * p * t + 1) / (p + t + 1)


def _kl_truth(p, q):
    return -p / q + (1 - p) / (1 - q)


def _kl_torch(torch, p, q):
    return p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))


# (formula, the output, the gradient's variable, the point's names, the truth, torch's formula, the failing point)
# before (8f569249, float32): BCE ∂p −0.6722689 for −3.8095 at p = 0.7, t = 1.5 (1.3e7 ULP); Dice ∂p 6.5e7 ULP at
# p = −435963127008.7306, t = 0.30372285758224415 (truth 1.09e−24); KL ∂q 1.6e7 ULP at p = 0.9792163, q = 0.979226
CASES = {
    "bce": ("-(t*log(p) + (1 - t)*log(1 - p))", 1, "p", ("p", "t"), _bce_truth, _bce_torch, (0.7, 1.5)),
    "dice": ("1 - (2*p*t + 1)/(p + t + 1)", 1, "p", ("p", "t"), _dice_truth, _dice_torch,
             (-435963127008.7306, 0.30372285758224415)),
    "kl": ("p*log(p/q) + (1 - p)*log((1 - p)/(1 - q))", 2, "q", ("p", "q"), _kl_truth, _kl_torch,
           (0.9792163372039795, 0.9792259931564331)),
}


def _around(point, n, seed):
    """The failing point and n − 1 points about it: each coordinate times 1 ± 10^U(−8, −1.5)."""
    rng = np.random.default_rng(seed)
    return [np.append(c, c * (1 + rng.choice([-1, 1], n - 1) * 10.0 ** rng.uniform(-8, -1.5, n - 1))) for c in point]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_gradient_at_and_about_the_failing_point(case, dtype):
    """The gradient at the failing point and 299 points about it: within 4 / 8 ULP of mpmath where the truth is normal,
    never past it where torch (float64 autograd of the written formula, rounded to the dtype) is within it. Before
    (8f569249) float32: 1.3e7, 6.5e7, 1.6e7 ULP at the failing points (bce, dice, kl); float64 kernels never took the
    cheaper path. After, worst over the 300 (torch's): float32 bce 0.499 (0.499), dice 0.499 (4354), kl 0.497 (0.497);
    float64 bce 0.500 (1.22), dice 0.499 (2.3e12), kl 0.500 (5767)."""
    torch = pytest.importorskip("torch")
    formula, out, var, names, truth, written, point = CASES[case]
    a, b = (c.astype(dtype) for c in _around(point, 300, 4602))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = _kernel(formula)(**{names[0]: a, names[1]: b})[out]
    with mpmath.workdps(60):
        truths = [truth(mpmath.mpf(float(u)), mpmath.mpf(float(v))) for u, v in zip(a, b)]
    ta = torch.tensor(a.astype(np.float64), requires_grad=True)
    tb = torch.tensor(b.astype(np.float64), requires_grad=True)
    written(torch, ta, tb).sum().backward()
    theirs = (ta if var == names[0] else tb).grad.numpy().astype(dtype)
    normal = _normal(truths, dtype)
    assert normal.sum() > 250 and normal[0]
    mine = _ulps(got, truths, dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        theirs_u = _ulps(theirs, truths, dtype)
    assert mine[0] <= BOUND[dtype], (got[0], truths[0])
    assert mine[normal].max() <= BOUND[dtype], mine[normal].max()
    assert not ((mine > BOUND[dtype]) & (mine > theirs_u) & normal).any()


def test_two_exact_values_need_no_check():
    """BCE's widened ∂p, (p − t)/(p·(1 − p)): both sums are two exact values rounded once (u·|s| however far they
    cancel), so its float32 branch keeps the float64 body wherever it is finite, with no test of a sum (h-cost45's
    8f569249 tested both, |p| + |t| ≤ 2²⁰·|p − t|, sending p ≈ t to the double word; base dec905ca's _Bound the same
    4u, no test, one more operation: −p, then + 1.0)."""
    source = _kernel("-(t*log(p) + (1 - t)*log(1 - p))").source
    start = source.index("def _dw_widened_")
    branch = source[source.index("# a float32 kernel's 2⁻³⁰", start):source.index("if keep.all():", start)]
    assert "no sum cancels past its rounding" in branch and "one_minus_p = 1.0 - p" in branch, branch
    assert "<= 1048576.0*" not in branch and "_err" not in branch, branch
