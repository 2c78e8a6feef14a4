"""Session 38, helper mend38: RMSNorm written out at a tiny ε above max|x|² (review38's finding: the hypot rule's
written branch took W^(−3/2) = inf there), on Triton's interpreter and in the neighbourhood beyond review38's points.
References: mpmath at 50 digits of the formula as written, torch autograd in float64."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

_FORMS = {True: "x1/sqrt((x1**2 + x2**2)/2 + e)", False: "x1/sqrt(x1**2 + x2**2 + e)"}


def _points(n, seed, lo=-308, hi=-206, below=(-3, 0)):
    """ε = 10^U(lo, hi), |x| = √ε·10^U(below), random signs."""
    rng = np.random.default_rng(seed)
    e = 10.0 ** rng.uniform(lo, hi, n)
    x1 = np.sqrt(e) * 10.0 ** rng.uniform(*below, n) * rng.choice([-1, 1], n)
    x2 = np.sqrt(e) * 10.0 ** rng.uniform(*below, n) * rng.choice([-1, 1], n)
    return e, x1, x2


def _truth(e, a, b, half):
    with mpmath.workdps(50):
        E, a, b = (mpmath.mpf(float(v)) for v in (e, a, b))
        s = mpmath.mpf(1) / 2 if half else mpmath.mpf(1)
        w = s * (a * a + b * b) + E
        return {"f": a / mpmath.sqrt(w), "df_de": -a / (2 * w ** 1.5),
                "df_dx1": 1 / mpmath.sqrt(w) - s * a * a / w ** 1.5, "df_dx2": -s * a * b / w ** 1.5}


def _torch(e, x1, x2, half):
    torch = pytest.importorskip("torch")
    t = [torch.tensor(v, requires_grad=True) for v in (e, x1, x2)]
    f = t[1] / torch.sqrt((t[1] ** 2 + t[2] ** 2) / (2 if half else 1) + t[0])
    f.sum().backward()
    return {"f": f.detach().numpy(), "df_de": t[0].grad.numpy(), "df_dx1": t[1].grad.numpy(),
            "df_dx2": t[2].grad.numpy()}


def _bad(got, e, x1, x2, half):
    """The points where an output is past 4 ULP and worse than torch's."""
    ref = _torch(e, x1, x2, half)
    bad = []
    for i in range(e.size):
        true = _truth(e[i], x1[i], x2[i], half)
        for name, value in got.items():
            u = ulps(value[i], true[name], np.float64)
            if u > 4 and u > ulps(ref[name][i], true[name], np.float64):
                bad.append((name, e[i], x1[i], x2[i], float(value[i]), u))
    return bad


@pytest.mark.parametrize("half", [True, False])
def test_rmsnorm_tiny_epsilon_neighbourhood(half):
    """200 points: ε from 1e−320 (subnormal) to 1e−150, |x| from √ε·1e−8 to √ε·3 (across ε = max|x|²)."""
    e, x1, x2 = _points(200, 3838 + half, lo=-320, hi=-150, below=(-8, 0.5))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        k = compiled(_FORMS[half])
        got = dict(zip(k.outputs, k(e=e, x1=x1, x2=x2)))
    bad = _bad(got, e, x1, x2, half)
    assert not bad, (len(bad), bad[:3])


@pytest.mark.parametrize("half", [True, False])
def test_rmsnorm_tiny_epsilon_triton(half):
    """review38's regime on Triton's float64 kernel (interpreter): 20 points (∂e, ∂x2 ±inf at 20/20 before)."""
    torch = triton_torch()
    e, x1, x2 = _points(20, 3808)
    k = compiled(_FORMS[half], "triton")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = k(*[torch.tensor(v) for v in (e, x1, x2)])
    got = {name: o.cpu().numpy() for name, o in zip(k.outputs, out)}
    bad = _bad(got, e, x1, x2, half)
    assert not bad, (len(bad), bad[:3])
