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


@pytest.mark.xfail(strict=True, reason="measured 2026-12-06: 1/poisson_nll(x, y) at y = −0, x in {−746, −1000, −1e4, "
                   "−3e4}: −inf for +inf (1/e^x, mpmath), torch +inf; poisson_nll itself −0 where e^x > 0 (+0 before "
                   "h-worsea39's |u| > 64 piece u·(e^u/u − c) of the exp-minus rule; e562f99c gave +0, +inf)")
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


@pytest.mark.xfail(strict=True, reason="measured 2026-12-06 (as at e562f99c, before session 39): 1/poisson_nll(x, 0) "
                   "at x = −7.2e43 and −1e100 in float64: NaN for +inf (torch +inf: 1/(0 − 0·x)); from x ≈ −7e43 on "
                   "(26 of 30 points geometric in [−1e300, −746]); (x + y)/poisson_nll(x, y) NaN there too, torch −inf")
def test_reciprocal_poisson_nll_far_below(reciprocal):
    x = np.array([-7.2e43, -1e100])
    with np.errstate(all="ignore"):
        got = reciprocal(x=x, y=np.zeros(2))[0]
    assert np.all(got == np.inf), got
