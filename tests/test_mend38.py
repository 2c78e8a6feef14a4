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


# ---------------------------------------------------------------- float32 products: the float64 form only where needed
# h-brk38 computed every float32 product of three factors not shown in range in float64, both values of its select
# (x*y/z, x/(y*z), √(x² + y²)·z 1.35–1.48× the kernel without those paths, NumPy float32 1e6); since h-mend38 the
# float32 product as printed where its factors show no partial product leaves the range (1.18–1.22×).

def _helper(name):
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS, PRINTER_HELPERS

    space = {"np": np}
    for needed in ("_normal", name):
        exec((PRINTER_HELPERS.get(needed) or NUMPY_HELPERS[needed]), space)  # the registry's own text
    return space[name]


def test_float32_in_range_computes_the_float64_form_only_where_needed():
    """On ordinary float32 inputs the float64 form is not called; where a factor is below the bound (or 0), or with no
    bound where a, b or a·b is not normal, it is taken there alone."""
    in_range = _helper("_float32_in_range")
    rng = np.random.default_rng(3839)
    x, y, z = (rng.uniform(-2, 2, 1000).astype(np.float32) for _ in range(3))

    def never():
        raise AssertionError("the float64 form computed on ordinary inputs")

    assert in_range(x * y / z, never, 2.0 ** 42, x, y, z) is not None
    assert in_range(x * y, never, None, x, y) is not None
    y[7] = 1e-20  # below 2⁻⁴²: a partial product x·y may go subnormal
    out = in_range(x * y / z, lambda: np.full(1000, 5.0, np.float32), 2.0 ** 42, x, y, z)
    assert out[7] == 5 and np.count_nonzero(out == 5) == 1
    big = np.float32(3e38) * np.ones(1000, np.float32)
    out = in_range(big * x, lambda: np.full(1000, 5.0, np.float32), None, big, x)
    assert np.all((out == 5) == ~(np.abs(big * x) <= np.finfo(np.float32).max))


@pytest.mark.parametrize("formula", ["x*y/z", "x/(y*z)"])
def test_float32_quotient_around_its_factor_bound(formula):
    """300 float32 points, each input 2^U(−70, 70) with random signs (across the bound 2^±42 / 2^±31 below which the
    float64 form is taken): every output ≤ 4 ULP against mpmath, or torch float32's error there."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3840 + len(formula))
    cols = {v: (2.0 ** rng.uniform(-70, 70, 300) * rng.choice([-1, 1], 300)).astype(np.float32) for v in "xyz"}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        k = compiled(formula)
        got = dict(zip(k.outputs, k(**cols)))
    t = {v: torch.tensor(c, requires_grad=True) for v, c in cols.items()}
    f = t["x"] * t["y"] / t["z"] if formula == "x*y/z" else t["x"] / (t["y"] * t["z"])
    f.sum().backward()
    theirs = {"f": f.detach().numpy(), **{f"df_d{v}": t[v].grad.numpy() for v in "xyz"}}
    bad = []
    with mpmath.workdps(60):
        for i in range(300):
            x, y, z = (mpmath.mpf(float(cols[v][i])) for v in "xyz")
            if formula == "x*y/z":
                true = {"f": x * y / z, "df_dx": y / z, "df_dy": x / z, "df_dz": -x * y / z ** 2}
            else:
                true = {"f": x / (y * z), "df_dx": 1 / (y * z), "df_dy": -x / (y ** 2 * z), "df_dz": -x / (y * z ** 2)}
            for name, want in true.items():
                u = ulps(got[name][i], want, np.float32)
                if u > max(4.0, ulps(theirs[name][i], want, np.float32)):
                    bad.append((name, i, u))
    assert not bad, (len(bad), bad[:3])
