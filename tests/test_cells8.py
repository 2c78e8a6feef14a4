"""The three registry cells past the float64 bound after the double-word merge (issue 16, numerics;
symnet.verify.spec.KNOWN_FAILURES before this change), each measured on a dense grid of floats around
its zero crossing against mpmath at 50 digits, on the NumPy and the Triton backend:

1. bce's ∂t = log(1 − x) − log x near x = ½ (821 ULP in float64 at x = 0.49995; 8.0 in float32 at
   x = 0.49): one input, so not a widened sum. The ``log-difference`` rule
   (symnet/codegen/rewrite.py) computes k·log a − k·log b as k·sign(d)·log1p(|d|/min(a, b)), d = a − b
   simplified symbolically (1 − 2x, exact near ½ by Sterbenz).
2. focal's ∂t at its zero crossings (17.4 ULP at x = −0.1743 on the reduced sweep, 162 on these grids)
   and 3. gaussian_nll f = ½(log v + (x − t)²/v) at log v ≈ −(x − t)²/v (9.27 ULP at v = 0.0242,
   x − t = 0.3; 237 on these grids). Every part of their widened sums was in double-word already;
   the double-word e^x (symnet/codegen/doubleword.py, ``_dw_exp_reduced``) computed the r⁵/120 term of
   its Taylor series in float64, 2⁻⁴⁵ of the sum: e^x, log, log1p, σ, softplus and tanh were 2⁻⁹⁸
   relative, not 2⁻¹⁰⁴. The log's Newton step (``_dw_log_step``) dropped its second-order term c²/2
   and took e^−y in float64, each up to 2⁻¹⁰⁵ of log x. Focal's ∂t as derived holds
   X·σ(−z) − X·σ(z), two products of about 0.2 summing to 0.07 near its zeros; the collect rule now
   takes them together, −X·tanh(z/2) (4.3 ULP on these grids with the first two fixes alone, 2.5 with it).

Before (main at f1961d2), the grids below measure: bce ∂t 821 ULP (float64) and 8.0 (float32), focal ∂t
162, gaussian_nll f 237 (float64; float32 0.5 for both, computed in float64 there), the same on
Triton (interpreter). The 50-digit references are the formulas written out here in mpmath (focal's ∂t
derived by hand, checked against a central difference of the registry's mpmath loss), never the
expressions the code came from.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import mp_function, triton_torch
from symnet.codegen.rewrite import log1p, stabilise, unwiden
from symnet.registry import NAMES, lookup
from symnet.verify.spec import BOUNDS

x, t, v, z = sp.symbols("x t v z", real=True)
F32, F64 = np.float32, np.float64

# the log-difference rule's case, in the format of tests/test_stability_rules.py (which runs it: exact
# at 50 digits, the failing value fixed on both backends): (rule, formula, variables, domain, bad point,
# dtype); the written form is 821 ULP off at x = 0.49995 in float64
RULE_CASES = [
    ("log-difference", sp.log(1 - x) - sp.log(x), (x,), (0.01, 0.99), (0.49995,), F64),
]


# ------------------------------------------------------------------ references (mpmath, 50 digits)

def _bce_dt(xv, tv):
    """∂/∂t of −(t·log x + (1 − t)·log(1 − x)) (both clamps off: x in [e^−100, 1 − e^−100])."""
    xv = mpmath.mpf(xv)
    return mpmath.log(1 - xv) - mpmath.log(xv)


def _focal_dt(zv, tv):
    """∂/∂t of w·q²·CE (w = 3/4 − t/2, q = t·σ(−z) + (1 − t)·σ(z), CE = t·softplus(−z) +
    (1 − t)·softplus(z)), by hand: w′q²CE + 2wq·q′·CE + wq²·CE′, w′ = −1/2, q′ = σ(−z) − σ(z),
    CE′ = softplus(−z) − softplus(z) = −z."""
    zv, tv = mpmath.mpf(zv), mpmath.mpf(tv)
    w = mpmath.mpf(3) / 4 - tv / 2
    s, s_neg = 1 / (1 + mpmath.exp(-zv)), 1 / (1 + mpmath.exp(zv))
    q = tv * s_neg + (1 - tv) * s
    ce = tv * mpmath.log1p(mpmath.exp(-zv)) + (1 - tv) * mpmath.log1p(mpmath.exp(zv))
    return -q * q * ce / 2 + 2 * w * q * (s_neg - s) * ce - w * q * q * zv


def _gaussian_f(xv, tv, vv):
    return NAMES["gaussian_nll"].mpmath(mpmath.mpf(xv), mpmath.mpf(tv), mpmath.mpf(vv))


def test_focal_reference_is_the_derivative():
    """The hand-derived ∂t against a central difference of the registry's mpmath focal loss."""
    loss = NAMES["focal"].mpmath
    with mpmath.workdps(100):
        for zv, tv in [(-0.4, 0.7), (-0.17, 0.3), (2.5, 0.1), (-3.0, 0.9)]:
            h = mpmath.mpf("1e-30")
            diff = (loss(mpmath.mpf(zv), mpmath.mpf(tv) + h) - loss(mpmath.mpf(zv), mpmath.mpf(tv) - h)) / (2 * h)
            assert abs(diff - _focal_dt(zv, tv)) < mpmath.mpf("1e-45"), (zv, tv)


# ------------------------------------------------------------------ the grids

def _neighbours(x0, k: int, dtype) -> np.ndarray:
    """The 2k + 1 floats of ``dtype`` nearest x0 (an mpf), in order."""
    c = dtype(float(x0))
    out = [c]
    down = up = c
    for _ in range(k):
        down, up = np.nextafter(down, dtype(-np.inf)), np.nextafter(up, dtype(np.inf))
        out += [down, up]
    return np.sort(np.asarray(out, dtype))


def _bce_grid(k, dtype):
    """x about ½ (the zero of ∂t), k floats each side, and x from 0.3 to 0.7 (the written form is 8 ULP
    off in float32 at 0.49)."""
    xs = np.concatenate([_neighbours(mpmath.mpf(1) / 2, k, dtype), np.linspace(0.3, 0.7, 4 * k + 1).astype(dtype),
                         np.asarray([0.49995, 0.49, 0.2, 0.9, 1e-5, 1 - 1e-5], dtype)])
    return {"x": xs, "t": np.full_like(xs, 0.3)}


FOCAL_TARGETS = (0.1, 0.3, 0.5, 0.7, 0.9)
GAUSSIAN_DIFFERENCES = ((0.3, 0.0), (1.0, 0.7), (-0.25, -0.75), (0.5, 0.4))  # (x, t)


def _focal_grid(k, dtype):
    """z about each zero of ∂t (one a target t, near z = −0.17 … −0.66), k floats each side."""
    zs, ts = [], []
    for tv in FOCAL_TARGETS:
        with mpmath.workdps(50):
            z0 = mpmath.findroot(lambda zz: _focal_dt(zz, tv), -0.2)
        near = _neighbours(z0, k, dtype)
        zs.append(near)
        ts.append(np.full_like(near, tv))
    return {"z": np.concatenate(zs), "t": np.concatenate(ts)}


def _gaussian_grid(k, dtype):
    """v about each zero of f, log v = −(x − t)²/v (v < 1: two zeros where (x − t)² < 1/e), k floats
    each side."""
    cols: dict = {"x": [], "t": [], "v": []}
    for xv, tv in GAUSSIAN_DIFFERENCES:
        d = mpmath.mpf(float(dtype(xv))) - mpmath.mpf(float(dtype(tv)))
        for guess in (0.02, 0.9):
            with mpmath.workdps(50):
                v0 = mpmath.findroot(lambda vv: mpmath.log(vv) + d * d / vv, guess)
            near = _neighbours(v0, k, dtype)
            cols["v"].append(near)
            cols["x"].append(np.full_like(near, xv))
            cols["t"].append(np.full_like(near, tv))
    return {name: np.concatenate(c) for name, c in cols.items()}


CELLS = {  # name: (formula, variables, grid, output, reference of a row)
    "bce_dt": (lookup("bce")(x, t), (x, t), _bce_grid, "df_dt", lambda r: _bce_dt(r["x"], r["t"])),
    "focal_dt": (lookup("focal")(z, t), (z, t), _focal_grid, "df_dt", lambda r: _focal_dt(r["z"], r["t"])),
    "gaussian_nll_f": (lookup("gaussian_nll")(x, t, v), (x, t, v), _gaussian_grid, "f",
                       lambda r: _gaussian_f(r["x"], r["t"], r["v"])),
}
_KERNELS: dict = {}


def _kernel(case, backend):
    formula, variables = CELLS[case][:2]
    if (case, backend) not in _KERNELS:
        _KERNELS[case, backend] = symnet.compile(symnet.derive(formula, list(variables)), backend=backend)
    return _KERNELS[case, backend]


def _output(kernel, backend, columns: dict, name: str) -> np.ndarray:
    names = [o.name for o in kernel.kernel.outputs]
    if backend == "numpy":
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = kernel(**columns)
        return np.asarray(outs[names.index(name)], F64)
    torch = triton_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = kernel(**{k: torch.tensor(c) for k, c in columns.items()})
    return outs[names.index(name)].detach().cpu().double().numpy()


def _ulps(got: float, true, dtype) -> float | None:
    """|got − true| in ulps of the true value rounded to ``dtype``; None where it is not normal."""
    tv = float(true)
    if not math.isfinite(tv) or abs(tv) < np.finfo(dtype).tiny:
        return None
    if not math.isfinite(got):
        return math.inf
    return float(abs(mpmath.mpf(got) - true) / float(np.spacing(np.abs(dtype(tv)))))


def _worst(case, backend, dtype, k):
    _, _, grid, name, reference = CELLS[case]
    columns = grid(k, dtype)
    got = _output(_kernel(case, backend), backend, columns, name)
    worst, at, measured = 0.0, None, 0
    with mpmath.workdps(50):
        for r in range(len(got)):
            row = {s: float(c[r]) for s, c in columns.items()}
            e = _ulps(float(got[r]), reference(row), dtype)
            if e is not None:
                measured += 1
                if e > worst:
                    worst, at = e, row
    return worst, at, measured


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("backend, k", [("numpy", 24), ("triton", 3)])
@pytest.mark.parametrize("case", list(CELLS))
def test_cell_within_the_bound_around_its_zero(case, backend, k, dtype):
    worst, at, measured = _worst(case, backend, dtype, k)
    bound = BOUNDS[np.dtype(dtype).name]
    assert measured > 10
    assert worst <= bound, f"{case} ({backend}, {np.dtype(dtype).name}): {worst:.3g} ULP at {at}"


# ------------------------------------------------------------------ the log-difference rule

def test_log_difference_is_exact():
    """sign(d)·log1p(|d|/min(a, b)) = log a − log b for a, b > 0, d = a − b: for d ≥ 0 (min = b)
    log1p(d/b) = log((b + d)/b); for d < 0 (min = a) −log1p(−d/a) = −log((a − d)/a) = −log(b/a)."""
    a, b = sp.symbols("a b", positive=True)
    assert sp.simplify(sp.expand_log(sp.log(1 + (a - b) / b) - (sp.log(a) - sp.log(b)), force=True)) == 0
    assert sp.simplify(sp.expand_log(-sp.log(1 + (b - a) / a) - (sp.log(a) - sp.log(b)), force=True)) == 0


LOG_DIFFERENCES = [  # (formula, variable, domain where both logs are defined, where they cancel)
    (sp.log(1 - x) - sp.log(x), (0.0, 1.0), 0.5),
    (sp.Max(-100, log1p(-x)) - sp.Max(-100, sp.log(x)), (0.0, 1.0), 0.5),  # bce's ∂t, clamps and all
    (sp.log(x) - sp.log(x + 1), (0.0, 50.0), None),
    ((sp.log(x) - sp.log(3)) / 2, (0.0, 50.0), 3.0),
    (log1p(x) - log1p(-x), (-1.0, 1.0), 0.0),  # 2·atanh x
    (sp.log(1 + 2 * x) - sp.log(3 - 2 * x), (-0.5, 1.5), 0.5),
]


@pytest.mark.parametrize("formula, domain, root", LOG_DIFFERENCES, ids=[str(c[0]) for c in LOG_DIFFERENCES])
def test_log_difference_any_formula_within_the_bound(formula, domain, root):
    """Each formula rewritten (the rule named), equal to the written form at 50 digits and within 4 ULP
    float64 of it (2 ULP where it cancels) on a grid of its domain and about its zero."""
    stable, fired = stabilise(formula)
    assert "log-difference" in {r.name for r in fired}
    lo, hi = domain
    xs = np.linspace(lo, hi, 203)[1:-1]
    if root is not None:
        xs = np.concatenate([xs, _neighbours(mpmath.mpf(root), 20, F64)])
    kernel = symnet.compile(symnet.derive(formula, [x]), backend="numpy")
    with np.errstate(all="ignore"):
        got = np.asarray(kernel(x=xs)[0])
    exact = sp.lambdify(x, formula.replace(log1p, lambda u: sp.log(1 + u)), "mpmath")
    worst = 0.0
    with mpmath.workdps(50):
        for xv, g in zip(xs, got):
            e = _ulps(float(g), exact(mpmath.mpf(float(xv))), F64)
            worst = max(worst, e or 0.0)
    assert worst <= 2.0, f"{formula}: {worst:.3g} ULP"


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_log_difference_keeps_the_written_form_where_it_is_the_answer(backend):
    """a or b ≤ 0, ±inf, NaN, a clamp on (x below e^−100) or the quotient past 3.4e38: NaN, ±inf or
    the value exactly where the written form in float64 has it (x ≤ 0: NaN or +inf, x ≥ 1: −inf or NaN)."""
    formula = sp.Max(-100, log1p(-x)) - sp.Max(-100, sp.log(x))
    points = np.asarray([-1.0, 0.0, 5e-324, 1e-300, 1e-44, 1e-43, 1 - 2.0 ** -53, 1.0, 2.0, np.inf, -np.inf, np.nan, 0.5,
                         0.25])
    kernel = symnet.compile(symnet.derive(formula, [x]), backend=backend)
    got = _output(kernel, backend, {"x": points}, "f")
    with np.errstate(all="ignore"):
        written = np.maximum(-100, np.log1p(-points)) - np.maximum(-100, np.log(points))
    for p, g, w in zip(points, got, written):
        assert (np.isnan(g) and np.isnan(w)) or g == w or abs(g - w) <= 4 * np.spacing(abs(w)), (p, g, w)


def test_log_difference_leaves_two_inputs_to_the_widen_rule():
    """log x − log t (two inputs) stays a widened sum (double-word in float64): not rewritten twice."""
    _, fired = stabilise(sp.log(x) - sp.log(t))
    assert {r.name for r in fired} == {"widen"}


def test_log_difference_needs_a_difference_that_rounds_once():
    """log(x² + 1) − log(2x): d = (x − 1)², a square of an exact difference, is taken; log(x³ + x) − log x²
    (d = x³ − x² + x, three rounded terms) and log(4/3 − x) − log(1 + x) (d = 1/3 − 2x, 1/3 rounded) are
    not: the written form stays."""
    _, fired = stabilise(sp.log(x ** 2 + 1) - sp.log(2 * x))
    assert "log-difference" in {r.name for r in fired}
    _, fired = stabilise(sp.log(x ** 3 + x) - sp.log(x ** 2))
    assert "log-difference" not in {r.name for r in fired}
    _, fired = stabilise(sp.log(sp.Rational(4, 3) - x) - sp.log(1 + x))  # d = 1/3 − 2x: 1/3 rounds
    assert "log-difference" not in {r.name for r in fired}


# ------------------------------------------------------------------ the double-word primitives, tighter

def _primitives() -> dict:
    from symnet.codegen import doubleword as dw
    namespace = {"np": np}
    for name in dw.ORDER:
        exec(dw.primitive_text(name, "numpy"), namespace)  # noqa: S102 - the library's own helper texts
    return namespace


PRIMITIVES = [  # (name, mpmath reference, points: the range where the cells' terms lie)
    ("_dw_exp", mpmath.exp, np.linspace(-40, 40, 161)),
    ("_dw_expm1", mpmath.expm1, np.linspace(-3, 3, 121)),
    ("_dw_log", mpmath.log, np.concatenate([np.linspace(0.01, 4, 120), 10.0 ** np.linspace(-300, 300, 41)])),
    ("_dw_log1p", mpmath.log1p, np.linspace(-0.9, 4, 120)),
    ("_dw_sigmoid", lambda u: 1 / (1 + mpmath.exp(-u)), np.linspace(-30, 30, 121)),
    ("_dw_softplus", lambda u: mpmath.log1p(mpmath.exp(u)), np.linspace(-30, 30, 121)),
    ("_dw_tanh", mpmath.tanh, np.linspace(-4, 4, 121)),
]


@pytest.mark.parametrize("name, mp, points", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_double_word_primitive_within_2_to_the_minus_102(name, mp, points):
    """2⁻¹⁰² relative (16 u², u = 2⁻⁵³): measured about 4 u² at most; 2⁻⁹⁸ (256–600 u²) before, when e^x's
    Taylor series had r⁵/120 in float64 and the log's Newton step dropped c²/2."""
    with np.errstate(all="ignore"):  # Veltkamp's splitting of 1e300 overflows in a branch not taken
        hi, lo = _primitives()[name](np.asarray(points, F64), np.zeros(len(points)))
    worst, at = 0.0, None
    with mpmath.workdps(60):
        for p, h, l in zip(points, hi, lo):
            true = mp(mpmath.mpf(float(p)))
            if true == 0:
                continue
            e = float(abs((mpmath.mpf(float(h)) + mpmath.mpf(float(l)) - true) / true))
            if e > worst:
                worst, at = e, float(p)
    assert worst <= 2.0 ** -102, f"{name}: 2^{math.log2(worst):.1f} at {at}"


# ------------------------------------------------------------------ the collect rule's σ(−u) − σ(u)

def test_sigmoid_difference_of_one_factor_is_a_tanh():
    """X·σ(−u) − X·σ(u) → −X·tanh(u/2) (X a product of other functions, as in focal's ∂t)."""
    from symnet import sigmoid
    from symnet.special import softplus
    u, w = sp.symbols("u w", real=True)
    factor = (3 - 2 * w) * softplus(u) * (w * sigmoid(-u) + (1 - w) * sigmoid(u))
    stable, fired = stabilise(factor * sigmoid(-u) - factor * sigmoid(u))
    assert "collect" in {r.name for r in fired}
    assert stable.has(sp.tanh)
    written = mp_function(_plain(factor * sigmoid(-u) - factor * sigmoid(u)), [u, w])
    rewritten = mp_function(_plain(unwiden(stable)), [u, w])
    with mpmath.workdps(50):
        for uv, wv in [(-0.4, 0.7), (3.0, 0.2), (-30.0, 0.5)]:
            want = written(mpmath.mpf(uv), mpmath.mpf(wv))
            assert abs(rewritten(mpmath.mpf(uv), mpmath.mpf(wv)) - want) <= mpmath.mpf("1e-45") * abs(want)


def _plain(e):
    from symnet.special import softplus
    return e.replace(softplus, lambda u: sp.log(1 + sp.exp(u))).replace(log1p, lambda u: sp.log(1 + u))
