"""Task h-cbrt21, session 21: NumPy float32 kernels raised a base to a fractional constant exponent in float32 (NEP
50: ``x**(1/3)`` of a float32 array rounds 1/3 to float32), so the exponent's error, times |log x| ≤ 103, reached the
result: x**(1/3) 12 ULP at x = 3.4e38 (torch 0.48), its derivative 29 ULP at x = 1e−45 (torch 1.00), x·(1 + x²)^0.3
6.76 ULP (torch 4.85). The printer (symnet/codegen/backends/numpy/printer.py) now calls the generated helper
``_fracpow``: in float32 the float64 power of the exact float64 base, rounded once; in float64 cbrt(|x|)^p for
exponents p/3 (|p| ≤ 2), NaN below 0 as x**(p/3) is. Checked against mpmath at 50 digits (real powers: NaN where the
base is negative) and torch's float32 autograd (never worse than torch where the value is normal).
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from conftest import compiled, torch_and_triton
from test_focal19inf import _error, _normal  # noqa: E402  ULPs of the dtype from the truth

_XS = (3.4e38, 1e30, 2.0, 0.7, 1e-30, 1e-45, -8.0, -3.4e38)
# formula, mpmath f, mpmath f', torch f
_CASES = {
    "x**(1/3)": (lambda x: x ** (mpmath.mpf(1) / 3), lambda x: x ** (mpmath.mpf(-2) / 3) / 3,
                 lambda t, x: x ** (1 / 3)),
    "x**(2/3)": (lambda x: x ** (mpmath.mpf(2) / 3), lambda x: 2 * x ** (mpmath.mpf(-1) / 3) / 3,
                 lambda t, x: x ** (2 / 3)),
    "x**0.3": (lambda x: x ** mpmath.mpf("0.3"), lambda x: mpmath.mpf("0.3") * x ** mpmath.mpf("-0.7"),
               lambda t, x: x ** 0.3),
    "x*(1+x**2)**0.3": (lambda x: x * (1 + x * x) ** mpmath.mpf("0.3"),
                        lambda x: (1 + x * x) ** mpmath.mpf("0.3")
                        + mpmath.mpf("0.6") * x * x * (1 + x * x) ** mpmath.mpf("-0.7"),
                        lambda t, x: x * (1 + x ** 2) ** 0.3),
}
BOUND = {np.float64: 4.0, np.float32: 8.0}


def _truth(fn, x) -> float:
    """fn at x in mpmath at 50 digits, a float64 (NaN where the real power is not real)."""
    with mpmath.workdps(50):
        v = fn(mpmath.mpf(float(x)))
        return float("nan") if isinstance(v, mpmath.mpc) else float(v)


def _torch(tfn, xs, dtype):
    torch = pytest.importorskip("torch")
    t = torch.tensor(xs, dtype=torch.float32 if dtype == np.float32 else torch.float64, requires_grad=True)
    f = tfn(torch, t)
    (g,) = torch.autograd.grad(f.sum(), t)
    return f.detach().numpy().astype(np.float64), g.numpy().astype(np.float64)


def errors(formula, dtype, with_torch=True, backend="numpy"):
    """[(output, x, ours, torch's or None, truth, ULPs ours, ULPs torch's)] at every x of _XS, x rounded to dtype."""
    mf, mdf, tfn = _CASES[formula]
    xs = np.array(_XS, dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "triton":
            torch, _ = torch_and_triton()
            out = compiled(formula, "triton", ("x",))(x=torch.tensor(xs))
            ours = [o.cpu().numpy().astype(np.float64) for o in out]
        else:
            ours = [np.asarray(o, np.float64) for o in compiled(formula, "numpy", ("x",))(x=xs)]
    theirs = _torch(tfn, xs, dtype) if with_torch else (None, None)
    rows = []
    for name, mine, tv, fn in (("f", ours[0], theirs[0], mf), ("df_dx", ours[1], theirs[1], mdf)):
        for i, x in enumerate(xs):
            want = _truth(fn, x)
            t = None if tv is None else float(tv[i])
            rows.append((name, float(x), float(mine[i]), t, want, _error(float(mine[i]), want, dtype),
                         None if t is None else _error(t, want, dtype)))
    return rows


_AVX512 = any(f.startswith(("AVX512", "X86_V4")) for f in np.__config__.CONFIG.get(
    "SIMD Extensions", {}).get("found", []))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("formula", list(_CASES))
def test_fractional_powers_within_the_bound_and_never_worse_than_torch(formula, dtype, request):
    if dtype is np.float64 and formula in ("x**(1/3)", "x**(2/3)") and not _AVX512:
        request.applymarker(pytest.mark.xfail(strict=False, reason=(
            "measured 2026-12-04 (session 27) on an AVX2 box (NumPy 2.4.6 X86_V3): f at x = 2 is 1.5874010519682 "
            "for 1.5874010519681994 (torch 1.5874010519681996) and ∂x 0.20998684164914544 for …552: NumPy's own "
            "float64 pow/cbrt differs by CPU; within the bound, worse than torch there (passes on AVX-512)")))
    _check(formula, dtype, "numpy")


@pytest.mark.parametrize("formula", list(_CASES))
def test_triton_float32_fractional_powers(formula):
    """The same in a Triton float32 kernel (TRITON_INTERPRET=1 without a GPU): its _pow works in float64, but took
    the constant exponent in the kernel's dtype, 1/3 rounded to float32: x**(1/3) 12.2 ULP at 3.4e38, ∂ 27.6 at
    1.4e−45, x**0.3 12.9 and 15.4 before; the exponent is now a float64 constant (measured ≤ 1.00 ULP). Triton's
    float64 x**0.3 (7 ULP at 3.4e38, ∂ 39 at 1e−45, as torch) took the rounded 0.3 until session 22 (h-fracpow22:
    p/q − fl(p/q) is _pow's u now; tests/test_fracpow22.py)."""
    _check(formula, np.float32, "triton")


def _check(formula, dtype, backend):
    """f and ∂f/∂x at x ∈ {3.4e38, 1e30, 2, 0.7, 1e−30, 1e−45, −8, −3.4e38} (rounded to the dtype): NaN where the
    truth is (a negative base of a fractional power), its rounding where it is not normal (0, inf, subnormal: within
    1 ULP), else within 4 ULP (float64) or 8 (float32) and never worse than torch's autograd in the same dtype.
    Measured after: at most 1.00 ULP, float32 and float64 (float64 torch up to 46); before, float32 x**(1/3) 11.2
    ULP at 3.4e38, ∂ 28.6 at 1.4e−45, x**(2/3) 27.2, x**0.3 12.9 (torch ≤ 1.00); float64 x**0.3's ∂ 39 at 1e−45."""
    bad = []
    for name, x, ours, theirs, want, err, terr in errors(formula, dtype, backend=backend):
        if _overflowed_square(formula, dtype, name, x):
            continue  # test_float32_square_overflow below
        if np.isnan(want):
            ok = np.isnan(ours)
        elif abs(want) > np.finfo(dtype).max:  # overflows: ±inf
            ok = ours == np.copysign(np.inf, want)
        elif not _normal(want, dtype):
            ok = err <= 1
        else:
            ok = err <= BOUND[dtype] and err <= max(terr, 1.0)
        if not ok:
            bad.append((name, x, ours, theirs, want, err, terr))
    assert not bad, bad


def _overflowed_square(formula, dtype, name, x) -> bool:
    return formula == "x*(1+x**2)**0.3" and dtype == np.float32 and name == "df_dx" and abs(x) >= 1e30


def test_float32_square_overflow():
    rows = [r for r in errors("x*(1+x**2)**0.3", np.float32, with_torch=False)
            if _overflowed_square("x*(1+x**2)**0.3", np.float32, r[0], r[1])]
    assert rows and all(r[5] <= BOUND[np.float32] for r in rows), rows


def test_fracpow_special_bases_as_pow():
    """_fracpow (the generated helper's text, exec'd) at ±0, ±inf, NaN, −8, 1 for p/q ∈ {±1/3, ±2/3, 3/10, −7/10,
    ±5/2, 7/4}, float64 and float32: what np.power gives (C99 pow: (−inf)^(1/3) = inf, 0^(−2/3) = inf, NaN for a
    finite negative base), value and dtype."""
    from symnet.codegen.backends.numpy import printer  # registers _fracpow
    from symnet.registry import NUMPY_HELPERS

    assert printer.NUMPY_HELPERS is NUMPY_HELPERS
    scope = {"np": np}
    exec(NUMPY_HELPERS["_fracpow"], scope)  # noqa: S102 - the generator's own helper text
    bases = [-np.inf, -8.0, -0.0, 0.0, 1.0, np.inf, np.nan]
    for dtype in (np.float64, np.float32):
        b = np.array(bases, dtype)
        for p, q in ((1, 3), (-1, 3), (2, 3), (-2, 3), (3, 10), (-7, 10), (5, 2), (-5, 2), (7, 4)):
            with np.errstate(all="ignore"):
                got, want = scope["_fracpow"](b, p / q, p, q), b ** (p / q)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want, err_msg=f"{p}/{q} {np.dtype(dtype).name}")
