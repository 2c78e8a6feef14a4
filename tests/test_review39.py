"""Session 39's review (h-review39): faults found in session 39's merges, recorded as strict xfails with measured numbers.

poisson_nll(x, y) = e^x − y·x (symnet.functions). h-worsea39 widened the exp-minus rule's far piece from u > 64 to
|u| > 64, u·(e^u/u − c): where e^u underflows (x ≤ −746) and y = −0 that is u·(−0 − (−0)) = u·(+0) = −0, where the
written e^x − y·x (and torch's) is 0 − (+0) = +0, the sign of the true e^x > 0. The sign of the zero reaches the result
through a quotient: 1/poisson_nll(x, −0) is −inf for +inf (torch +inf, mpmath 1/e^x = +inf). Before h-worsea39 (e562f99c)
+0 and +inf, in float64 and float32 alike.
"""
import numpy as np
import pytest

import symnet

torch = pytest.importorskip("torch")

X = np.array([-746.0, -1000.0, -1e4, -3e4])  # e^x underflows to 0 in float64; 1/e^x overflows to +inf


@pytest.fixture(scope="module")
def reciprocal():
    return symnet.compile(symnet.derive("1/poisson_nll(x, y)", wrt=["x"]), progress=False, gradients=False)


def _torch_reciprocal(x, y):
    x, y = torch.tensor(x), torch.tensor(y)
    return (1 / (torch.exp(x) - y * x)).numpy()


# found here (measured 2026-12-06): 1/poisson_nll(x, y) at y = −0, x in {−746, −1000, −1e4, −3e4}: −inf for +inf
# (1/e^x, mpmath), torch +inf; poisson_nll itself −0 where e^x > 0 (+0 before h-worsea39's |u| > 64 piece
# u·(e^u/u − c) of the exp-minus rule; e562f99c gave +0, +inf). Fixed by the lead after the merge: below −64 that
# piece only where |c·u| is past 2¹²⁷
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reciprocal_poisson_nll_at_a_negative_zero_target(reciprocal, dtype):
    x, y = X.astype(dtype), np.full(X.shape, -0.0, dtype)
    with np.errstate(all="ignore"):
        got = reciprocal(x=x, y=y)[0]
    theirs = _torch_reciprocal(x, y)
    assert np.all(theirs == np.inf), theirs
    assert np.all(got == np.inf), got


def test_reciprocal_poisson_nll_at_a_positive_zero_target(reciprocal):
    # the neighbour that is right: y = +0 gives +inf (torch +inf), in both widths
    for dtype in (np.float64, np.float32):
        with np.errstate(all="ignore"):
            got = reciprocal(x=X.astype(dtype), y=np.zeros(X.shape, dtype))[0]
        assert np.all(got == np.inf), (dtype, got)


# measured 2026-12-06 (as at e562f99c, before session 39): 1/poisson_nll(x, 0) at x = −7.2e43 and −1e100 in float64:
# NaN for +inf (torch +inf: 1/(0 − 0·x)); from x ≈ −7e43 on (26 of 30 points geometric in [−1e300, −746]);
# (x + y)/poisson_nll(x, y) NaN there too, torch −inf. Passes since h-fix40 (the exp-minus-limit piece written e^u).
def test_reciprocal_poisson_nll_far_below(reciprocal):
    x = np.array([-7.2e43, -1e100])
    with np.errstate(all="ignore"):
        got = reciprocal(x=x, y=np.zeros(2))[0]
    assert np.all(got == np.inf), got


# The same piece where e^u is normal and e^u/u is not (u in [−708.4, −701.8]): e^u/u is subnormal, so it keeps fewer
# bits than e^u, and u·(e^u/u − c) takes them back to e^u's size. Measured 2026-12-06 over 200 x evenly in
# [−708.3, −702], y = 0: poisson_nll(x, y) 302 ULP worst, 121 points past 4 ULP and torch (torch ≤ 0.50; e562f99c
# ≤ 0.50, 0 past); 1/poisson_nll(x, y) 464 ULP (torch ≤ 1.28); with |y| in 10^[−312, −309] 1,142 ULP (torch ≤ 5.48).
_NEAR = np.linspace(-708.3, -702.0, 200)


def _ulps_over(got, x, y, reciprocal_of):
    import mpmath

    worst = 0.0
    with mpmath.workdps(50):
        for g, a, b in zip(got, x, y):
            t = mpmath.exp(mpmath.mpf(float(a))) - mpmath.mpf(float(b)) * mpmath.mpf(float(a))
            t = 1 / t if reciprocal_of else t
            worst = max(worst, float(abs(mpmath.mpf(float(g)) - t) / np.spacing(abs(float(t)))))
    return worst


@pytest.fixture(scope="module")
def poisson():
    return symnet.compile(symnet.derive("poisson_nll(x, y)", wrt=["x"]), progress=False, gradients=False)


_BAND_POISSON = ("measured 2026-12-06: poisson_nll(x, 0) over 200 x in [−708.3, −702] (e^x normal, e^x/x subnormal): "
                 "302 ULP worst at x = −708.1734 (2.7810868596161095e−308 for 2.7810868596159603e−308; torch 0.04), "
                 "121 of 200 past 4 ULP and torch (torch ≤ 0.50; ≤ 0.50 at e562f99c): h-worsea39's exp-minus piece "
                 "u·(e^u/u − c) for u < −64")
_BAND_RECIPROCAL = ("measured 2026-12-06: 1/poisson_nll(x, 0) over 200 x in [−708.3, −702]: 464 ULP worst at x = −708.3 "
                    "(4.0811403659779086e307 for 4.081140365977677e307; torch 1.15, ≤ 1.28 over all; e562f99c ≤ 1.28); "
                    "with |y| in 10^[−312, −309] 1,142 ULP (torch ≤ 5.48)")


@pytest.mark.parametrize("kernel, of_reciprocal", [
    ("poisson", False), ("reciprocal", True)])
def test_poisson_nll_where_e_over_u_is_subnormal(request, kernel, of_reciprocal):
    """Found here: _BAND_POISSON, _BAND_RECIPROCAL (h-worsea39's far piece for u < −64); within 4 ULP since the lead's
    fix (that piece only where |c·u| is past 2¹²⁷)."""
    y = np.zeros_like(_NEAR)
    with np.errstate(all="ignore"):
        got = request.getfixturevalue(kernel)(x=_NEAR, y=y)[0]
    assert _ulps_over(got, _NEAR, y, of_reciprocal) <= 4


def test_poisson_nll_beside_that_band(poisson):
    # the neighbours that are right: x in [−700, −64.5] (e^x/x normal), y = 0, within 4 ULP
    x = np.linspace(-700.0, -64.5, 200)
    y = np.zeros_like(x)
    with np.errstate(all="ignore"):
        got = poisson(x=x, y=y)[0]
    assert _ulps_over(got, x, y, False) <= 4
