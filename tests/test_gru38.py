"""Session 38 (gru38): issue 16, two gradients worse than torch.

* ∂h of tanh(c·x + d·h) − h, d·sech²u − 1 (u = c·x + d·h): it cancels where d·sech²u ≈ 1, near u = 0 where d ≈ 1
  (1.75e12 ULP in float64 at c = 0, d = 1, h = 1e−6, x = −1.5; torch 1.1e11). The sech²-offset rule takes it as
  (d − 1) − d·tanh²u, widened, where |u| < 7/8.
* ∂p of a log-cosh-Dice loss, log(cosh(1 − (2pt + 1)/(p + t + 1))): its stable form tanh(N/D)·P/D² rounded nine
  times (D's rounding thrice): 4.95 ULP in float64 (torch 0.05); sum-power-cancel's P/D² is now one widened quotient.

References: mpmath at 80 digits of the formula as written (sech² = 1/cosh²), torch autograd of it in the kernel's
dtype. Each formula is compiled once (conftest.compiled); each set of points has its own seed.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulps

F64, F32 = np.float64, np.float32
BOUND = {F64: 4, F32: 8}
_d, _x = sp.symbols("d x", real=True)

# (rule, written formula, its variables, domain of random points, bad point, dtype): tests/test_stability_rules.py's
# format, which runs it (exact at 50 digits, a symbolic identity, the naive form failing at the bad point)
RULE_CASES = [
    ("sech²-offset", _d * (1 - sp.tanh(_x) ** 2) - 1, (_d, _x), (-4.0, 4.0), (1.0, 1e-6), F64),
]


def _points(kind):
    """200 points of one kind: 'near' the failing one (c = 0 or ±1e−7, d = 1 or a few ulps off, |h| in [1e−9, 1e−3],
    x near −1.5), 'root' (d = cosh²u rounded, |u| < 0.85: d·sech²u − 1 is a rounding of d, the near branch's own
    cancellation), 'far' (the same with 0.9 < |u| < 15, the far branch's), 'ordinary' (each input N(0, 1.5)),
    'extreme' (inputs 0, tiny, huge)."""
    rng = np.random.default_rng({"near": 3801, "root": 3802, "ordinary": 3803, "far": 3804, "extreme": 3805}[kind])
    if kind == "near":
        return dict(c=np.r_[0.0, np.zeros(99), rng.normal(0, 1e-7, 100)],
                    d=np.r_[1.0, np.where(rng.random(99) < 0.5, 1.0, 1 + rng.integers(-8, 9, 99) * 2.0 ** -52),
                            1 + rng.normal(0, 1e-9, 100)],
                    h=np.r_[1e-6, rng.choice([-1, 1], 199) * 10 ** rng.uniform(-9, -3, 199)],
                    x=np.r_[-1.5, -1.5 + rng.normal(0, 0.1, 199)])
    if kind in ("root", "far"):
        u = rng.uniform(-0.85, 0.85, 200) if kind == "root" else rng.choice([-1, 1], 200) * rng.uniform(0.9, 15, 200)
        h, x = rng.normal(0, 1, 200), rng.normal(0, 1, 200)
        return dict(c=(u - np.cosh(u) ** 2 * h) / x, d=np.cosh(u) ** 2, h=h, x=x)
    if kind == "extreme":  # each input ±(0, 1e−300, 1e−8, 1, 20, 400, 1e8, 1e300) and random ones
        values = np.array([0.0, 1e-300, 1e-8, 1.0, 20.0, 400.0, 1e8, 1e300])
        return {name: rng.choice([-1, 1], 200) * np.where(rng.random(200) < 0.5, rng.choice(values, 200),
                                                           rng.normal(0, 3, 200)) for name in "cdhx"}
    return {name: rng.normal(0, 1.5, 200) for name in "cdhx"}


def _slope_in_h(pts):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kernel = compiled("tanh(c*x + d*h) - h", wrt=("h",))
        return np.asarray(dict(zip(kernel.outputs, kernel(**pts)))["df_dh"], np.float64)


def _torch_slope_in_h(pts):
    torch = pytest.importorskip("torch")
    t = {name: torch.tensor(v, requires_grad=name == "h") for name, v in pts.items()}
    (torch.tanh(t["c"] * t["x"] + t["d"] * t["h"]) - t["h"]).sum().backward()
    return t["h"].grad.double().numpy()


@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("kind", ["near", "root", "far", "ordinary", "extreme"])
def test_gap_slope_in_h_within_the_bound_and_never_worse_than_torch(kind, dtype):
    # before (main, session 38): near 2.9e17 / 1.1e9 ULP worst (float64 / float32), 200 / 141 points past the bound;
    # root 4.6e18 / 9.4; ordinary 28.7 / 0.49 (7 past 4 in float64, 4 of them worse than torch)
    with np.errstate(over="ignore"):  # 1e300 is inf in float32
        pts = {name: v.astype(dtype) for name, v in _points(kind).items()}
    got, theirs = _slope_in_h(pts), _torch_slope_in_h(pts)
    bad = []
    with mpmath.workdps(80):
        for i in range(pts["c"].size):
            c, d, h, x = (mpmath.mpf(float(pts[name][i])) for name in "cdhx")
            true = d / mpmath.cosh(c * x + d * h) ** 2 - 1 if mpmath.isfinite(c * x + d * h) else None
            if true is None:
                continue
            mine, torch_ulps = ulps(got[i], true, dtype), ulps(theirs[i], true, dtype)
            if abs(true) >= np.finfo(dtype).tiny and (mine > BOUND[dtype] or mine > max(torch_ulps, 1.0)):
                bad.append((i, mine, torch_ulps, {name: float(pts[name][i]) for name in "cdhx"}))
    assert not bad, (len(bad), bad[:4])


# ---------------------------------------------------------------- the log-cosh-Dice's ∂p

_DICE = "log(cosh(1 - (2*p*t + 1)/(p + t + 1)))"


def _dice_points():
    """session 37's point (p = −0.0009201741081848515, t = 0.3), 99 within 1e−3 of its p, 100 with p in [−0.05, 0.05],
    t in [0, 1]."""
    rng = np.random.default_rng(3806)
    p0 = -0.0009201741081848515
    return (np.r_[p0, p0 * (1 + rng.normal(0, 1e-3, 99)), rng.uniform(-0.05, 0.05, 100)],
            np.r_[0.3, np.full(99, 0.3), rng.uniform(0, 1, 100)])


def _dice_slope_errors(dtype):
    """(kernel, torch autograd) ULPs of ∂p at _dice_points in ``dtype``, against mpmath at 60 digits."""
    torch = pytest.importorskip("torch")
    p, t = (v.astype(dtype) for v in _dice_points())
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kernel = compiled(_DICE)
        got = dict(zip(kernel.outputs, kernel(p=p, t=t)))["df_dp"]
    tp, tt = torch.tensor(p, requires_grad=True), torch.tensor(t)
    torch.log(torch.cosh(1 - (2 * tp * tt + 1) / (tp + tt + 1))).sum().backward()
    mine, theirs = [], []
    with mpmath.workdps(60):
        for i in range(p.size):
            pi, ti = mpmath.mpf(float(p[i])), mpmath.mpf(float(t[i]))
            d = pi + ti + 1
            true = mpmath.tanh(1 - (2 * pi * ti + 1) / d) * ((2 * pi * ti + 1) - 2 * ti * d) / d ** 2
            mine.append(ulps(got[i], true, dtype))
            theirs.append(ulps(tp.grad[i].item(), true, dtype))
    return np.array(mine), np.array(theirs)


def test_log_cosh_dice_slope_float32_within_the_bound():
    mine, theirs = _dice_slope_errors(F32)  # measured: worst 0.5 ULP (torch 59.4; 6.17 at session 37's point)
    assert (mine <= BOUND[F32]).all(), (mine.max(), mine.argmax())


# before (main, session 38): 3 of these 200 past 4 ULP in float64 (4.95 at session 37's point, torch 0.05; 4.38 at
# p = −0.0009195938246484753, torch 2.38; 4.10 at p = −0.000919941729043164, torch 9.10): tanh(N/D)·(2t − 1 + 2t²)/D²
# with the sum, D and the quotient each rounded, 9 roundings (D's thrice); now (2t − 1 + 2t²)/D² is one widened
# quotient: worst 2.07 (torch's worst 152.9)
def test_log_cosh_dice_slope_float64_within_the_bound_and_torch_s_step():
    mine, theirs = _dice_slope_errors(F64)
    # (never more than one float64 step past torch: where mine is past 1 ULP and torch's is not, the two are adjacent
    # floats either side of the truth, 14 of 200 points: 1.009 apart at most, a binade edge)
    assert not ((mine > BOUND[F64]) | (mine > theirs + 1.05)).any(), (mine.max(), mine.argmax())
