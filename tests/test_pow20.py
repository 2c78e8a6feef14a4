"""Task h-pow20, session 20: Triton's b^u of a fractional or input exponent (Triton has no pow) was
e^(u·log b) with the product u·log b rounded in the kernel's dtype, |u·log b|/2 ULPs off: in float64 50–450 ULP at
b ≤ 1e−300 (the focal loss's t^γ: f at t = 1e−320, z = −1e300, γ = 3/4 was 447 ULP off; NumPy's np.power is right).
The printer now calls the generated helper ``_pow`` (symnet/codegen/backends/triton/printer.py): in float64 e^y of
the double-word y = u·log b (doubleword's _dw_log and a two-product), e^(y_hi)·(1 + y_lo); in float32 e^(u·log b) in
float64, rounded once. Checked under TRITON_INTERPRET=1 (no GPU) against mpmath at 50 digits (x**y) and the
written-out focal loss of tests/test_focal18.py (``_true``, mpmath); the exact cases (b = 1, u = 0, b = 0, b = inf,
NaN) against their values.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from conftest import compiled, torch_and_triton
from test_focal19inf import _error, _normal, _want  # noqa: E402  the focal loss in mpmath; ULPs from it

torch, _ = torch_and_triton()

_XS = (5e-324, 1e-300, 1e-10, 0.5, 2.0, 1e300)
_YS = (0.75, -0.3, 2.5, 1 / 3)


def _run(formula, wrt, dtype=torch.float64, **columns):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compiled(formula, "triton", wrt)(**{k: torch.tensor(v, dtype=dtype) for k, v in columns.items()})
    return [o.cpu().numpy().astype(np.float64) for o in out]


def _power(x: float, y: float) -> float:
    with mpmath.workdps(50):
        return float(mpmath.mpf(x) ** mpmath.mpf(y))


def test_power_of_two_inputs_float64():
    """x**y (both inputs) and its ∂x = y·x^(y − 1) at x ∈ {5e−324, 1e−300, 1e−10, 0.5, 2, 1e300} × y ∈ {0.75, −0.3,
    2.5, 1/3}: within 4 ULP of mpmath where the value is normal, its rounding (0, inf) elsewhere. Measured 1 ULP at
    worst (f and ∂x); before, f 392 ULP (x = 5e−324, y = 0.75: |y·log x| = 558) and ∂x 81."""
    points = [(x, y) for x in _XS for y in _YS]
    x, y = (np.array(c) for c in zip(*points))
    f, dx = _run("x**y", ("x",), x=x, y=y)
    bad = []
    for i, (a, b) in enumerate(points):
        with mpmath.workdps(50):
            want_dx = float(mpmath.mpf(b) * mpmath.mpf(a) ** (mpmath.mpf(b) - 1))
        for name, ours, want in (("f", f[i], _power(a, b)), ("dx", dx[i], want_dx)):
            err = _error(float(ours), want, np.float64)
            if not (err <= 4 if _normal(want, np.float64) else err <= 1):
                bad.append((name, a, b, float(ours), want, err))
    assert not bad, bad


def test_constant_exponents_float64():
    """x**(3/4) and x**(1/3) (constant exponents: the exponent printed as a float64 constant) at the same x, against
    the exact rational power (session 22, h-fracpow22: the reference was x^fl(1/3), the rounded exponent, which the
    kernel matched and the true x^(1/3) missed by 62–101 ULP; _pow now takes 1/3 − fl(1/3) as its u)."""
    for formula, p, q in (("x**(3/4)", 3, 4), ("x**(1/3)", 1, 3)):
        (f, _) = _run(formula, ("x",), x=np.array(_XS))
        with mpmath.workdps(50):
            want = [float(mpmath.mpf(a) ** (mpmath.mpf(p) / q)) for a in _XS]
        errs = [_error(float(o), w, np.float64) for w, o in zip(want, f)]
        assert max(errs) <= 4, (formula, errs)


def test_exact_cases_stay_exact():
    """b = 1 (1), u = 0 (1 for b > 0), b = 0 (0 for u > 0, inf for u < 0), b = inf (inf, 0), NaN in either (NaN),
    b < 0 (NaN: SymPy's principal power is complex there), in float64 and float32."""
    inf, nan = float("inf"), float("nan")
    cases = [(1.0, 0.75, 1.0), (1.0, -123.5, 1.0), (1e-300, 0.0, 1.0), (1e300, 0.0, 1.0), (5e-324, 0.0, 1.0),
             (0.0, 0.75, 0.0), (0.0, -0.3, inf), (inf, 0.75, inf), (inf, -0.3, 0.0), (nan, 0.75, nan),
             (2.0, nan, nan), (-2.0, 0.5, nan), (4.0, 0.5, 2.0), (0.25, -0.5, 2.0)]
    for dtype in (torch.float64, torch.float32):
        x, y, want = (np.array(c) for c in zip(*cases))
        (f, _) = _run("x**y", ("x",), dtype, x=x, y=y)
        same = (f == want) | (np.isnan(f) & np.isnan(want))
        assert same.all(), (dtype, [(c, float(o)) for c, o, s in zip(cases, f, same) if not s])


def test_power_float32_in_float64():
    """float32 b^u computed in float64 and rounded once: x**y at x = 1e−38 (|y·log x| = 65 at y = 0.75: 33 float32
    ULPs in float32 arithmetic) and a few others, within 1 float32 ULP of mpmath: measured 0 (the rounding), 50.5
    before."""
    points = [(1e-38, 0.75), (1e-38, -0.3), (3e38, 0.3), (1e-30, 1.25), (0.5, 0.75), (7.0, -2.5)]
    x, y = (np.array(c, dtype=np.float32) for c in zip(*points))
    (f, _) = _run("x**y", ("x",), torch.float32, x=x, y=y)
    errs = [_error(float(o), _power(float(a), float(b)), np.float32) for a, b, o in zip(x, y, f)]
    assert max(errs) <= 1, errs


FOCAL = "focal(z, t, 1/4, gamma)"
OUTPUTS = ("f", "df_dgamma", "df_dt", "df_dz")


@pytest.mark.parametrize("t", [5e-324, 1e-320, 1e-300])
def test_focal_at_tiny_targets_float64(t):
    """focal(z, t, 1/4, γ = 3/4) in float64 (the γ-input kernel) at z ∈ {−1e300, −145646, 3}: every output within 4
    ULP of the written-out loss in mpmath where it is normal, its rounding elsewhere. f at z = −1e300 was
    447 ULP off before at t = 1e−320 (t^γ as e^(γ·log t)), ∂γ 321, ∂t 395; measured 2, 2, 1 ULP at worst after."""
    points = [(z, t, 0.75) for z in (-1e300, -145646.0, 3.0)]
    z, tt, g = (np.array(c) for c in zip(*points))
    got = _run(FOCAL, None, gamma=g, t=tt, z=z)
    bad = []
    for j, p in enumerate(points):
        want = _want(*p)
        for i, name in enumerate(OUTPUTS):
            err = _error(float(got[i][j]), want[i], np.float64)
            if not (err <= 4 if _normal(want[i], np.float64) else err <= 1):
                bad.append((name, *p, float(got[i][j]), want[i], err))
    assert not bad, bad
