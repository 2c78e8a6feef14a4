"""Session 19 (issue 16): log1p of an overflowing quotient, and the log-variance Gaussian NLL at 0·inf.

1. overflowing-log1p: log(1 + (p − t)²/s) was inf in float64 at p − t = 1e200, s = 1 (true 921.03), its ∂p 0 (true
   2e−200) and ∂s −0 (true −1); torch the same. Past X = 2¹⁰⁰⁰ the value is 2·log|p − t| − log|s| and each
   derivative R/(1 + X) is 1/(a·(1 + 1/X)) with a = X/R cancelled ((p − t)/2 for ∂p, −s for ∂s).
2. zero-scaled-exp: ½(s + (p − t)²·e^(−s)) (Kendall & Gal 2017) at p = t, s = −1e4 was NaN in f, ∂p, ∂t (0·inf;
   true −5000, 0, 0; torch the same); and Triton float32 ∂p = (p − t)·e^(−s) at p = 3e38, t = −3e38, s = 180 was
   inf·0 (true 4.03e−40, a float32 subnormal). A select on p − t = 0, and (p − t)·e^(−s) computed in float64 in a
   float32 kernel.

References: mpmath at 50 digits of the written formula and its SymPy derivatives (independent of the rewrites), and
torch.autograd in float64 of the written formula (never worse than it).
"""
from __future__ import annotations

import functools
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch, ulp_error

p, t, s = sp.symbols("p t s", real=True)
F32, F64 = np.float32, np.float64
BOUND = {F32: 8.0, F64: 4.0}

LOG1P = sp.log(1 + (p - t) ** 2 / s)
LOGVAR = (s + (p - t) ** 2 * sp.exp(-s)) / 2
VARS = (p, t, s)

# (rule, written formula, its variables, domain of random points, bad point, dtype): tests/test_stability_rules.py
RULE_CASES = [
    ("overflowing-log1p", LOG1P, VARS, (0.05, 4.0), (1e200, 0.0, 1.0), F64),
    ("zero-scaled-exp", LOGVAR, VARS, (-4.0, 4.0), (1.0, 1.0, -1e4), F64),
    ("zero-scaled-exp", LOGVAR, VARS, (-4.0, 4.0), (1e-200, 0.0, -800.0), F64),  # e^800 overflows, the product not
]


@functools.lru_cache(maxsize=None)
def _mp_functions(formula):
    outs = [formula] + [sp.diff(formula, v) for v in VARS]
    return [sp.lambdify(VARS, o, "mpmath") for o in outs]


def _want(formula, point):
    with mpmath.workdps(50):
        args = [mpmath.mpf(float(v)) for v in point]
        return [f(*args) for f in _mp_functions(formula)]



def _named(kernel, outs):
    """The kernel's outputs in the order f, ∂p, ∂t, ∂s (by their names)."""
    by_name = dict(zip(kernel.outputs, outs))
    return [np.asarray(by_name[n]) for n in ("f", "df_dp", "df_dt", "df_ds")]


def _numpy(formula, points, dtype):
    """The generated NumPy kernel at ``points`` in ``dtype``: (f, ∂p, ∂t, ∂s)."""
    kernel = compiled(formula, "numpy", VARS)
    cols = [np.array([float(dtype(q[i])) for q in points], dtype) for i in range(3)]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _named(kernel, kernel(p=cols[0], t=cols[1], s=cols[2]))


def _triton(formula, points, dtype):
    """The generated Triton kernel (TRITON_INTERPRET=1 without a GPU) at ``points``: (f, ∂p, ∂t, ∂s)."""
    torch = triton_torch()
    kernel = compiled(formula, "triton", VARS)
    td = torch.float64 if dtype is F64 else torch.float32
    cols = [torch.tensor([float(dtype(q[i])) for q in points], dtype=td) for i in range(3)]
    return _named(kernel, [o.numpy() for o in kernel(p=cols[0], t=cols[1], s=cols[2])])


def _torch(formula, points):
    """torch.autograd in float64 of the written formula: (f, ∂p, ∂t, ∂s) at each point."""
    torch = pytest.importorskip("torch")
    P, T, S = (torch.tensor([float(q[i]) for q in points], dtype=torch.float64, requires_grad=True) for i in range(3))
    f = torch.log1p((P - T) ** 2 / S) if formula is LOG1P else (S + (P - T) ** 2 * torch.exp(-S)) / 2
    f.sum().backward()
    return [x.detach().numpy() for x in (f, P.grad, T.grad, S.grad)]


def _check(formula, points, dtype, outs, torch_outs=None):
    worst = 0.0
    for i, point in enumerate(points):
        point = [float(dtype(v)) for v in point]
        want = _want(formula, point)
        for j, name in enumerate(("f", "df_dp", "df_dt", "df_ds")):
            w = want[j]
            if not mpmath.isfinite(w) or (w != 0 and abs(w) > float(np.finfo(dtype).max)):
                continue
            e = ulp_error(float(outs[j][i]), w, dtype)
            worst = max(worst, e)
            assert e <= BOUND[dtype], f"{name} at {point}: got {float(outs[j][i])!r}, want {mpmath.nstr(w, 17)}"
            if torch_outs is not None:  # never worse than torch's float64 autograd
                assert e <= max(ulp_error(float(torch_outs[j][i]), w, dtype), BOUND[dtype])
    return worst


# ------------------------------------------------------------------ 1. log(1 + (p − t)²/s)

DIFFS = [1e100, 1e150, 1.3e154, 1e155, 1e160, 1e200, 1e250, 1e300, -1e200, -1e280]
SCALES = [1e-300, 1e-100, 1e-10, 1.0, 1e10, 1e100, 1e200]
LOG1P_POINTS = [(d, 0.0, v) for d in DIFFS for v in SCALES] + [(5e199, -5e199, 1.0), (0.3, -0.1, 2.0), (3.0, 0.0, 1.0)]


def test_log1p_overflowing_float64_sweep_against_mpmath_and_torch():
    outs = _numpy(LOG1P, LOG1P_POINTS, F64)
    _check(LOG1P, LOG1P_POINTS, F64, outs, _torch(LOG1P, LOG1P_POINTS))


def test_log1p_overflowing_at_the_reported_point():
    f, dp, dt, ds = (float(o[0]) for o in _numpy(LOG1P, [(1e200, 0.0, 1.0)], F64))
    assert abs(f - 921.0340371976183) <= 4 * np.spacing(921.0) and dp == 2e-200 and dt == -2e-200 and ds == -1.0


F32_POINTS = [(d, 0.0, v) for d in (1e19, 1e20, 1e30, 3e38, -2e38) for v in (1e-30, 1e-5, 1.0, 1e10, 1e30)]


def test_log1p_overflowing_float32_sweep():
    outs = _numpy(LOG1P, F32_POINTS, F32)
    _check(LOG1P, F32_POINTS, F32, outs)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_log1p_overflowing_triton(dtype):
    points = [(1e200, 0.0, 1.0), (-1e280, 0.0, 1e100), (0.3, -0.1, 2.0)] if dtype is F64 else \
        [(3e38, 0.0, 1.0), (1e30, 0.0, 1e-30), (0.3, -0.1, 2.0)]
    _check(LOG1P, points, dtype, _triton(LOG1P, points, dtype))


# ------------------------------------------------------------------ 2. ½(s + (p − t)²·e^(−s))

LOGVAR_POINTS = [(a, a, v) for a in (1.0, 0.0, -3e38, 1e-300) for v in (-1e4, -800.0, -100.0, 0.0, 5.0)] + \
    [(a, b, v) for a, b in ((0.3, -1.0), (1.0, 1.0 + 2 ** -52), (1e-200, 0.0), (1e150, -1e150))
     for v in (-700.0, -1.0, 0.0, 3.0, 180.0)]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_logvar_at_p_equal_t_and_around_numpy(dtype):
    points = [q for q in LOGVAR_POINTS if dtype is F64 or max(abs(v) for v in q) < 3.4e38]
    outs = _numpy(LOGVAR, points, dtype)
    order = outs  # kernel (f, ∂p, ∂s, ∂t); _check wants f, ∂p, ∂t, ∂s
    _check(LOGVAR, points, dtype, order, _torch(LOGVAR, points) if dtype is F64 else None)


# past s = −709.78 e^(−s) overflows float64 where (p − t)·e^(−s) need not (2.7e147 at p − t = 1e−200, s = −800) and
# (p − t)² underflows (f was 0·inf = NaN where it is −400): the halved exponent, (p − t)·e^(−s/2)·e^(−s/2)
FAR_POINTS = [(1e-200, 0.0, -800.0), (1e-300, 0.0, -750.0), (1e-5, 0.0, -720.0), (1e-170, 0.0, -780.0),
              (-3e-160, 1e-160, -850.0), (2.0 ** -1074, 0.0, -1400.0), (0.0, 0.0, -800.0), (0.5, 0.25, -709.5)]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_logvar_past_e_minus_s_overflowing_float64(backend):
    outs = _numpy(LOGVAR, FAR_POINTS, F64) if backend == "numpy" else _triton(LOGVAR, FAR_POINTS, F64)
    _check(LOGVAR, FAR_POINTS, F64, outs, _torch(LOGVAR, FAR_POINTS))


def test_logvar_product_overflowing_float32_numpy():
    outs = _numpy(LOGVAR, [(3e38, -3e38, 180.0), (-3e38, 3e38, 170.0), (3e38, -3e38, 88.0)], F32)
    _check(LOGVAR, [(3e38, -3e38, 180.0), (-3e38, 3e38, 170.0), (3e38, -3e38, 88.0)], F32,
           outs)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_logvar_triton(dtype):
    points = [(1.0, 1.0, -1e4), (0.0, 0.0, -800.0), (0.3, -1.0, 3.0)] + (
        [(3e38, -3e38, 180.0), (-3e38, 3e38, 170.0)] if dtype is F32 else [(1e150, -1e150, 180.0)])
    _check(LOGVAR, points, dtype, _triton(LOGVAR, points, dtype))


# ------------------------------------------------------------------ 3. erf in triple words: gaussian_nll(x, t, erf(v))
# at its zero crossings, where f = ½(log w + (x − t)²/w), w = erf(v), cancels 2⁵⁵ or more (session 16: erf(v) in float64
# was 1.6e16 ULP of f; torch 2.4e16). The crossings: x − t = √(−w·log w) for v in (0.5, 2], a float64 t.

def _crossings():
    import math
    out = []
    for v in (0.55, 0.8, 1.0, 1.37, 1.9):
        w = math.erf(v)
        out.append((0.3, 0.3 - math.sqrt(-w * math.log(w)), v))
    return out


def _gnll_want(x, t, v):
    with mpmath.workdps(60):
        w = mpmath.erf(mpmath.mpf(v))
        return (mpmath.log(w) + (mpmath.mpf(x) - mpmath.mpf(t)) ** 2 / w) / 2


def test_tw_erf_against_mpmath():
    """_tw_erf (the generated NumPy text) to 2⁻¹¹⁰ relative of mpmath's erf over (0, 2], negative x too; since session
    21 its series to |x| = 6 and ±(1 − erfc|x|) beyond (the registry's _erfc, a helper of the printer's)."""
    from symnet.codegen import doubleword as D
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS
    ns = {"np": np}
    for name in D._closure(["_tw_erf"], "numpy"):
        exec(NUMPY_HELPERS[name], ns)  # noqa: S102 - the code generator's own helper text
    xs = np.concatenate([np.linspace(-2.0, 2.0, 401), [1e-20, 1e-8, 0.3, 1.9999999999999998, 2.0],
                         np.linspace(2.0, 6.0, 81), -np.linspace(2.0, 6.0, 41), [6.000000000000001, 7.5, -9.0]])
    hi, lo, tail = ns["_tw_erf"](xs)
    with mpmath.workdps(60):
        for x, a, b, c in zip(xs, hi, lo, tail):
            want = mpmath.erf(mpmath.mpf(float(x)))
            got = mpmath.mpf(float(a)) + mpmath.mpf(float(b)) + mpmath.mpf(float(c))
            tol = -110 if abs(x) <= 6 else -105  # beyond 6: erfc|x| < 2.2e−17 in float64, an ulp of it 2⁻¹⁰⁸ of erf x
            assert abs(got - want) <= mpmath.mpf(2) ** tol * abs(want), (x, got, want)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_gaussian_nll_of_erf_at_zero_crossings(backend):
    import symnet
    points = _crossings()
    cols = {k: [q[i] for q in points] for i, k in enumerate("xtv")}
    kernel = symnet.compile(symnet.derive("gaussian_nll(x, t, erf(v))"), backend)
    if backend == "numpy":
        f = kernel(**{k: np.array(c) for k, c in cols.items()})[0]
    else:
        torch = triton_torch()
        f = kernel(**{k: torch.tensor(c, dtype=torch.float64) for k, c in cols.items()})[0].numpy()
    for (x, t, v), got in zip(points, f):
        want = _gnll_want(x, t, v)
        assert ulp_error(float(got), want, F64) <= 4, ((x, t, v), float(got), mpmath.nstr(want, 17))
