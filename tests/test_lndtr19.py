"""Issue 16 (session 19): the log of a Gaussian tail, against mpmath at 50 digits and torch.special.log_ndtr
(independent of symnet's code generator).

log(ndtr(x)) was log 0 = −inf from x ≈ −38.5 in float64 (true −804.6 at x = −40; torch.special.log_ndtr gets it)
and its derivative e^(−x²/2)/(√(2π)Φ(x)) 0/0 = NaN; log(erfc(u)) the same from u ≈ 27.2. The log-gaussian-tail
rule (symnet/codegen/rewrite.py) writes log(erfc(u)) = log(erfcx(u)) − u² where u > 1/2 (log1p(−erf(u))
elsewhere), log Φ(x) = log(erfcx(−x/√2)/2) − x²/2 where x < 0 (log1p(−Φ(−x)) elsewhere: −7.6e−24 at x = 10, not
0), and the derivatives −2/(√π·erfcx(u)), √(2/π)/erfcx(−x/√2) there.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch
from symnet.special import ndtr

MP_DPS = 50  # mpmath's digits for each test here (conftest._mpmath_digits)
F32, F64 = np.float32, np.float64
_x = sp.Symbol("x", real=True)

# the rule's cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("log-gaussian-tail", sp.log(ndtr(_x)), (_x,), (-3.0, 3.0), (-40.0,), F64),
    ("log-gaussian-tail", sp.log(sp.erfc(_x)), (_x,), (-3.0, 3.0), (30.0,), F64),
]

FORMULAS = ("log(ndtr(x))", "log(erfc(x))")


def _truth(formula, x):
    """(value, derivative) of ``formula`` by mpmath at 50 digits (more where x² is large), one pair a point."""
    out, slope = [], []
    for v in x:
        v = mpmath.mpf(float(v))
        with mpmath.workdps(50 + int(2 * mpmath.log10(1 + v * v))):
            if formula == "log(ndtr(x))":
                p = mpmath.ncdf(v)
                out.append(+mpmath.log(p))
                slope.append(+(mpmath.npdf(v) / p))
            else:
                e = mpmath.erfc(v)
                out.append(+mpmath.log(e))
                slope.append(+(-2 * mpmath.exp(-v * v) / (mpmath.sqrt(mpmath.pi) * e)))
    return out, slope


def _ulps(got, want, dtype):
    """|got − want| in ULPs of the dtype at want (absolute below the normal range); inf where got is not
    finite (want is finite at every point used here)."""
    got = np.asarray(got, np.float64)
    info = np.finfo(dtype)
    out = np.empty(got.shape)
    for i, (g, w) in enumerate(zip(got.ravel(), want)):
        if not np.isfinite(g):
            out[i] = np.inf
            continue
        # the dtype's ulp at |w| (np.spacing overflows to inf at the largest finite number)
        unit = max(math.ldexp(float(info.eps), math.frexp(abs(float(w)))[1] - 1), float(info.tiny) * float(info.eps))
        out[i] = float(abs(mpmath.mpf(float(g)) - w)) / unit
    return out


def _points(formula, dtype, n, seed):
    """n points of ``dtype`` over x in [−1e4, 10] (log(erfc(x)): mirrored, the tail is at u ≫ 0), half in
    [−6, 6], a quarter log-spread to ∓1e4 (float32: ∓1e3, x² within range), and where the derivative is normal
    (float32: |x| ≤ 12 on the side where erfc, Φ ≥ 1/2 and the derivative is e^(−x²)-small)."""
    rng = np.random.default_rng(seed)
    far = 1e4 if dtype is F64 else 1e3
    near = 10.0 if dtype is F64 else 6.0
    x = np.concatenate([rng.uniform(-6.0, near, n // 2), -10 ** rng.uniform(0.5, np.log10(far), n // 4),
                        rng.uniform(0.0, near, n - n // 2 - n // 4)])
    if formula == "log(erfc(x))":
        x = -x
    return x.astype(dtype)


def _value_in_range(want, dtype):
    """The points where the true value is normal in ``dtype`` (the bounds hold there)."""
    tiny = float(np.finfo(dtype).tiny)
    return np.array([abs(float(w)) >= tiny for w in want])


def test_the_rule_fires_on_both_forms():
    """stabilise names log-gaussian-tail for each log and for each derivative SymPy writes."""
    from symnet.codegen.rewrite import stabilise

    for expr in (sp.log(ndtr(_x)), sp.log(sp.erfc(_x)), sp.diff(sp.log(ndtr(_x)), _x), sp.diff(sp.log(sp.erfc(_x)), _x)):
        _, fired = stabilise(expr)
        assert "log-gaussian-tail" in [r.name for r in fired], expr


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", FORMULAS)
def test_numpy_against_mpmath(formula, dtype):
    """Value and derivative at 300 points within 4 ULP (float64) / 8 ULP (float32) of mpmath where normal."""
    x = _points(formula, dtype, 300, 19)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = compiled(formula, "numpy", ("x",))(x=x)
    bound = 4 if dtype is F64 else 8
    for name, g, w in zip(("f", "df_dx"), got, _truth(formula, x)):
        keep = _value_in_range(w, dtype)
        worst = _ulps(np.asarray(g)[keep], [v for v, k in zip(w, keep) if k], dtype)
        assert worst.max() <= bound, (formula, name, dtype.__name__, worst.max(), x[keep][worst.argmax()])


def test_triton_against_mpmath():
    """The Triton kernels (TRITON_INTERPRET=1 without a GPU) at 8 points of each dtype, tails included."""
    torch = triton_torch()
    for formula in FORMULAS:
        kernel = compiled(formula, "triton", ("x",))
        for dtype, tdtype, bound in ((F64, torch.float64, 4), (F32, torch.float32, 8)):
            x = np.array([-1e3, -40.0, -7.5, -1.0, 0.0, 0.3, 3.0, 5.5], dtype)
            if formula == "log(erfc(x))":
                x = -x
            got = [o.cpu().numpy() for o in kernel(x=torch.tensor(x, dtype=tdtype))]
            for name, g, w in zip(("f", "df_dx"), got, _truth(formula, x)):
                keep = _value_in_range(w, dtype)
                worst = _ulps(g[keep], [v for v, k in zip(w, keep) if k], dtype)
                assert worst.max() <= bound, (formula, name, dtype.__name__, worst.max(), x[keep], g[keep])


def test_log_ndtr_never_worse_than_torch():
    """torch.special.log_ndtr and torch.autograd's gradient (float64) beside ours over [−1e4, 10]: ours within
    4 ULP of mpmath at every point, and never further off than torch's."""
    torch = pytest.importorskip("torch")
    x = np.array([-1e4, -1e3, -40.0, -38.6, -20.0, -5.0, -1.0, -1e-8, 0.0, 1e-8, 0.3, 3.0, 8.0, 10.0])
    ours = compiled("log(ndtr(x))", "numpy", ("x",))(x=x)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    value = torch.special.log_ndtr(t)
    (grad,) = torch.autograd.grad(value.sum(), t)
    for name, o, theirs, w in zip(("f", "df_dx"), ours, (value.detach().numpy(), grad.numpy()),
                                  _truth("log(ndtr(x))", x)):
        mine, torch_ulps = _ulps(o, w, F64), _ulps(theirs, w, F64)
        assert mine.max() <= 4, (name, mine.max(), x[mine.argmax()])
        assert (mine <= np.maximum(torch_ulps, 4)).all(), (name, mine, torch_ulps)


def test_the_reported_points():
    """The user's report: log(ndtr(−40)) = −804.608… (was −inf) and log(erfc(30)) = −904.67… (was −inf),
    derivatives finite (were NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log 0, no 0/0 on the way
        f, d = compiled("log(ndtr(x))", "numpy", ("x",))(x=np.array([-40.0]))
        g, e = compiled("log(erfc(x))", "numpy", ("x",))(x=np.array([30.0]))
    assert np.isfinite([f, d, g, e]).all()
    assert abs(f[0] - -804.6084420137538) < 1e-12 * 805
    want = _truth("log(erfc(x))", [30.0])
    assert _ulps(g, want[0], F64).max() <= 4 and _ulps(e, want[1], F64).max() <= 4


def test_probit_loss_both_tails():
    """The probit loss t·log Φ(z) + (1 − t)·log Φ(−z): its ∂z, c·e^(−z²/2)·(t/Φ(z) − (1 − t)/Φ(−z)) as SymPy
    writes it, was NaN at z = −40, −1e3 and 90 (0/0 in one term); each term rewritten, all three outputs within
    4 ULP of mpmath (float64) at both tails."""
    z = np.array([-1e3, -40.0, -3.0, -0.2, 0.0, 0.4, 2.0, 30.0, 90.0])
    t = np.full_like(z, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, d_t, d_z = compiled("t*log(ndtr(z)) + (1 - t)*log(ndtr(-z))", "numpy", ("t", "z"))(t=t, z=z)
    want_f, want_t, want_z = [], [], []
    for v in z:
        v, w = mpmath.mpf(float(v)), mpmath.mpf(0.3)
        lo, hi = mpmath.log(mpmath.ncdf(v)), mpmath.log(mpmath.ncdf(-v))
        want_f.append(w * lo + (1 - w) * hi)
        want_t.append(lo - hi)
        want_z.append(mpmath.npdf(v) * (w / mpmath.ncdf(v) - (1 - w) / mpmath.ncdf(-v)))
    for name, g, w in (("f", f, want_f), ("df_dt", d_t, want_t), ("df_dz", d_z, want_z)):
        worst = _ulps(g, w, F64)
        assert worst.max() <= 4, (name, worst.max(), z[worst.argmax()])


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_derivative_at_the_end_of_the_range(dtype):
    """∂ log Φ(x) ≈ −x and ∂ log erfc(u) ≈ −2u at |x| up to the dtype's largest: erfcx there, ≈ 1/(w√π), is
    subnormal in float32 from w ≈ 1e37, and its reciprocal was inf at x = −3.4e38 (symnet verify found it);
    beyond w = 2³⁰ the rule writes √π·w. Within 4 (float64) / 8 (float32) ULP of mpmath."""
    big = float(np.finfo(dtype).max)
    x = np.array([-big, -1e37, -3e9, -1e9], dtype)
    bound = 4 if dtype is F64 else 8
    for formula, points in (("log(ndtr(x))", x), ("log(erfc(x))", -x / 2)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, slope = compiled(formula, "numpy", ("x",))(x=points)
        want = []
        for v in points:
            v = mpmath.mpf(float(v))
            with mpmath.workdps(60):
                # the asymptotic series to four terms: to 1e−70 at |v| ≥ 1e9 (mpmath's erfc is slow there)
                if formula == "log(ndtr(x))":
                    want.append(-v / (1 - 1 / v ** 2 + 3 / v ** 4 - 15 / v ** 6))  # Mills' ratio, A&S 26.2.12
                else:
                    want.append(-2 * v / (1 - 1 / (2 * v ** 2) + 3 / (4 * v ** 4) - 15 / (8 * v ** 6)))  # A&S 7.1.23
        worst = _ulps(slope, want, dtype)
        assert worst.max() <= bound, (formula, worst.max(), points[worst.argmax()], slope)
