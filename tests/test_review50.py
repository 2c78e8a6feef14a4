"""Session 50's h-review50: session 50's merged changes (``git diff ad376022 a3232204``) reviewed for regressions.

How (2026-12-07): base ad376022 (its own worktree and cache) and the merged a3232204 compiled the same 21 formulas
(NumPy backend): each changed rule's formulas and near relatives (LayerNorm 2/3, RMSNorm 3, x·y/√(x² + 2y² + 1),
x/√(x² + y² + 1), Weibull as written and with log x apart (near x = λ and near the ∂x root), x^k-type
(x/λ)^k − k·log x, GMM2 with logsigmoid weights, the Laplace and Gaussian mixtures, the unweighted Laplace pair
−log(e^−|x − a| + e^−|x − b|), σ(z)^q·σ(−z), ((x + y)/y)^5, ((x + y)/y)³·x, Hellinger, 1 − √(pq) − √((1−p)(1−q)),
Bhattacharyya −log(√(pq) + √((1−p)(1−q))), (0.001/x)/ndtr(y), σ(2^√x)) at 300 points each (ordinary, near
cancellation, far, tiny, subnormal, ±0, ±inf, max), float64 and float32; mpmath (400 digits near cancellation, 300
elsewhere) at each point where base and merged differ. A regression: merged past 4/8 ULP and worse than base.

Found (the numbers are float64, NumPy backend; torch autograd of the formula as written). Items 1–3 came from h-shift50's
shift-gaps, which the lead took out (a1466341): their tests pass again and stay as guards; item 4 (a strict xfail
until h-weib51 fixed it) is a guard too:
1. shift-gaps (shifts.py): the Laplace pair −log(e^−|x − a| + e^−|x − b|), ∂x where x lies between a and b near
   their midpoint (the signs of x − a and x − b differ, so the gap keeps |p| − |q| in the select's last branch):
   base ≤ 0.45 ULP at 24 such points; merged 5.19e12 at (a, b, x) = (−1.5842827116307445, 1.5842827116309028,
   1e−17) (torch 5.19e12), 6.71e7 at (−5.0127836983267846, 0.8127837083267845, −2.1) (torch 0.05), 636 at
   (−1.0043112108304078, 1.005315522041238, 0) (torch 124); and 0 for 1.19e−129 at (−1.1426631771679024e−160,
   2.3753120129762392e−129, 0) (base exact).
2. The GMM2 −log(e^(logσ(a) − (x − m₁)²/2) + e^(logσ(−a) − (x − m₂)²/2)) ∂x at an ordinary point
   (a, m₁, m₂, x) = (−3.3667081035582833, −0.32580015619780195, 3.035729291657543, 0.01066015068107089):
   8.17 ULP (base 0.17, torch 1.17), past the bound and worse than torch.
3. The Laplace and Gaussian mixtures −log(σ(a)e^−|x − m₁| + σ(−a)e^−|x − m₂|) (and (x − m)²) at infinite a or m:
   f NaN for +inf (base inf, torch inf) at (a, m₁, m₂, x) = (−inf, −1.3476498284000957e18, −inf, −2.558146327172993)
   float64, and at 21 (Laplace) / 29 (Gaussian) of 300 float32 points, e.g. (inf, inf, −0, −0).
4. quotient-power-near-one's root branch (powers.py, h-weib50): Weibull with log x apart,
   (x/λ)^k − (k − 1)·log x + k·log λ − log k, ∂x near its root with k near 1: 2.12e4 ULP at (k, λ, x) =
   (1.0000000000319627, 1.7613565634763987e56, 5.62976317639209e45) (base 0.30, torch 9.2e9), 1.49e4 at
   (1.0000000000291187, 1.5767368670088704, 4.591253958217761e−11) (base 0.04, torch 1.4e9); 15 of 300 points past
   4 ULP (none worse than torch).

No regression found (merged ≤ bound or no worse than base at every differing point): LayerNorm 2/3, RMSNorm 3,
x·y/√(x² + 2y² + 1) and x/√(x² + y² + 1) (merged gives the limits at ±inf where base gave NaN), Weibull as written,
σ(z)^q·σ(−z), ((x + y)/y)^5, ((x + y)/y)³·x, Hellinger, its inner 1 − √(pq) − √((1−p)(1−q)) (also p, q > 1 and
< 0), Bhattacharyya, (0.001/x)/ndtr(y), and float32 of all but 3.

Cost (NumPy CPU time, 10⁶ ordinary points, best of 5, base and merged kernels in one process, loaded box ±15 %):
merged/base 0.81×/0.61× LayerNorm 3 (float64/float32), 1.00× LN2, RMS3, 1.03× x·y/√(x² + 2y² + 1), 1.09–1.12×/1.33×
Weibull, 1.10×/1.20× Weibull log x apart, 0.34×/0.42× GMM2, 1.01×/1.08× Laplace mixture, 0.39×/0.49× Gaussian mixture,
0.36×/2.24× the Laplace pair (float32 past 1.3×), 1.02×/1.04× σ(z)^q·σ(−z), 0.99×/1.01× ((x + y)/y)^5, 1.13×/1.40×
Hellinger (float32 past 1.3×; h-user50 reported 1.53×), 1.00× Bhattacharyya, 0.99×/0.95× (0.001/x)/ndtr(y).
Triton (TRITON_INTERPRET=1, merged, 18 of the formulas, 16 points each): every kernel generated and ran; no
_taken_again with a constant second argument; the deepest line nests 19 parentheses (Weibull log x apart).
"""
import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps

MP_DPS = 60

LAPLACE_PAIR = "-log(exp(-abs(x - a)) + exp(-abs(x - b)))"
GMM2 = "-log(exp(logsigmoid(a) - (x - m1)**2/2) + exp(logsigmoid(-a) - (x - m2)**2/2))"
LAPLACE = "-log(sigmoid(a)*exp(-abs(x - m1)) + sigmoid(-a)*exp(-abs(x - m2)))"
GAUSS = "-log(sigmoid(a)*exp(-(x - m1)**2) + sigmoid(-a)*exp(-(x - m2)**2))"
WEIBULL_LOG_X = "(x/l)**k - (k - 1)*log(x) + k*log(l) - log(k)"


def _run(formula, dtype, *columns):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [np.asarray(o, np.float64) for o in compiled(formula)(*(np.asarray(c, dtype) for c in columns))]


# a regression of h-shift50's shift-gaps (found by h-review50); the lead took shift-gaps out: right again, kept as a guard
def test_laplace_pair_dx_between_the_means():
    points = [(-1.5842827116307445, 1.5842827116309028, 1e-17), (-5.0127836983267846, 0.8127837083267845, -2.1),
              (-1.0043112108304078, 1.005315522041238, 0.0), (-1.1426631771679024e-160, 2.3753120129762392e-129, 0.0)]
    a, b, x = (np.array(c) for c in zip(*points))
    got = _run(LAPLACE_PAIR, np.float64, a, b, x)[3]
    errors = []
    with mpmath.workdps(400):  # e^−1.1e−160 is 1 − 1.1e−160
        for g, p in zip(got, points):
            A, B, X = (mpmath.mpf(v) for v in p)
            ea, eb = mpmath.exp(-abs(X - A)), mpmath.exp(-abs(X - B))
            errors.append(ulps(g, (mpmath.sign(X - A) * ea + mpmath.sign(X - B) * eb) / (ea + eb), np.float64))
    assert max(errors) <= 4.0, errors


# a regression of h-shift50's shift-gaps (found by h-review50); the lead took shift-gaps out: right again, kept as a guard
def test_gmm2_dx_at_an_ordinary_point():
    p = (-3.3667081035582833, -0.32580015619780195, 3.035729291657543, 0.01066015068107089)
    got = _run(GMM2, np.float64, *([v] for v in p))[4][0]
    with mpmath.workdps(MP_DPS):
        a, m1, m2, x = (mpmath.mpf(v) for v in p)
        wa = -mpmath.log1p(mpmath.exp(-a)) - (x - m1) ** 2 / 2
        wb = -mpmath.log1p(mpmath.exp(a)) - (x - m2) ** 2 / 2
        ea, eb = mpmath.exp(wa), mpmath.exp(wb)
        truth = ((x - m1) * ea + (x - m2) * eb) / (ea + eb)
    assert ulps(got, truth, np.float64) <= 4.0, (got, truth)


# a regression of h-shift50's shift-gaps (found by h-review50); the lead took shift-gaps out: right again, kept as a guard
@pytest.mark.parametrize("formula", [LAPLACE, GAUSS], ids=["laplace", "gauss"])
def test_mixture_value_at_infinite_parameters(formula):
    inf = np.inf
    points = [(-inf, -1.3476498284000957e18, -inf, -2.558146327172993), (inf, inf, -0.0, -0.0),
              (-inf, 3.2, inf, -inf), (113438842880.0, -inf, inf, 0.0)]
    for dtype in (np.float64, np.float32):
        got = _run(formula, dtype, *(np.array(c) for c in zip(*points)))[0]
        assert np.all(got == inf), (dtype, got)  # each exponential term 0 (σ(∓inf) = 0 or e^−inf): −log 0 = +inf


# quotient-power-near-one's root branch (h-weib50), 2.12e4 ULP (base 0.30, torch 9.2e9): fixed by h-weib51 (β as one
# quotient, (1 − k)/λ: 0.30 now); kept as a guard
def test_weibull_log_x_apart_dx_near_its_root_with_k_near_one():
    points = [(1.0000000000319627, 1.7613565634763987e56, 5.62976317639209e45),
              (1.0000000000291187, 1.5767368670088704, 4.591253958217761e-11),
              (1.0000000000028757, 1.235106661216988, 3.5517958331537034e-12),
              (1.00000000000358, 0.5084474760611777, 1.8202547581470714e-12)]
    got = _run(WEIBULL_LOG_X, np.float64, *(np.array(c) for c in zip(*points)))[3]
    errors = []
    with mpmath.workdps(MP_DPS):
        for g, p in zip(got, points):
            k, lam, x = (mpmath.mpf(v) for v in p)
            errors.append(ulps(g, k / x * (x / lam) ** k - (k - 1) / x, np.float64))
    assert max(errors) <= 4.0, errors
