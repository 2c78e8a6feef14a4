"""Session 21, h-breakb21: attacks on session 21's own work (NumPy ``_fracpow``, the scaled double-word tier, the
vanishing-series / one-minus-cos rules, erf as a rounded function, Triton's ``_pow`` and third tier, symnet.torch on
views). Passing tests pin what held; strict xfails carry the numbers measured (2026-12-03).

References independent of symnet's code generator: mpmath at 1000 digits of SymPy's own derivative of the formula as
written (exponents read as exact rationals: ``x**0.3`` is x^(3/10), as symnet's printer takes it), torch's autograd
in the same dtype, torch.nn.functional's ops.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch
from test_focal19inf import _error  # ULPs of the dtype from the truth (0 where ours is its rounding)

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}
INF, NAN = math.inf, math.nan


def _truth(formula, names, point):
    """[f, ∂f/∂name...] at ``point`` (floats) in mpmath at 1000 digits, NaN where not real or not defined."""
    syms = sp.symbols(names, real=True)
    e = sp.sympify(formula, locals=dict(zip(names, syms)), rational=True)
    fns = [sp.lambdify(syms, g, "mpmath") for g in [e] + [sp.diff(e, s) for s in syms]]
    out = []
    with mpmath.workdps(1000):  # (x − sin x)/x³'s derivative at 1e−100 cancels ~400 digits
        for fn in fns:
            try:
                v = fn(*[mpmath.mpf(p) for p in point])
            except (ValueError, ZeroDivisionError):
                v = mpmath.mpf("nan")
            out.append(NAN if isinstance(v, mpmath.mpc) else float(v))
    return out


def _run(formula, names, points, dtype, backend="numpy"):
    """The compiled formula's outputs at ``points`` (rows), as float64 columns; the points rounded to ``dtype``."""
    cols = [np.array(c, dtype) for c in zip(*points)]
    k = compiled(formula, backend, tuple(names))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "triton":
            torch = triton_torch()
            out = [o.cpu().numpy() for o in k(**{n: torch.tensor(c) for n, c in zip(names, cols)})]
        else:
            out = k(**dict(zip(names, cols)))
    n = len(points)
    return [np.broadcast_to(np.asarray(o, np.float64), (n,)) for o in out], cols


def _torch(tfn, cols):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(c, requires_grad=True) for c in cols]
    f = tfn(torch, *ts)
    gs = torch.autograd.grad(f.sum(), ts, allow_unused=True)
    return [f.detach().double().numpy()] + [g.double().numpy() for g in gs]


def _faults(formula, names, points, dtype, tfn, backend="numpy", exact=None):
    """[(output, point, ours, truth, ULPs, torch's, torch's ULPs)] where ours is past the bound (where the truth is a
    normal number) or worse than max(torch, bound) (``exact``: the formula for mpmath where SymPy has no derivative of
    a symnet function); where the truth is not a number, where ours differs from torch's
    (torch's C99 special values: (−inf)^(2/3) = inf, 0^(−1/3) = inf) or where the truth overflows the dtype."""
    ours, cols = _run(formula, names, points, dtype, backend)
    theirs = _torch(tfn, cols)
    bad = []
    for i in range(len(points)):
        point = [float(c[i]) for c in cols]
        truth = _truth(exact or formula, names, point)
        for j, (o, t) in enumerate(zip(ours, theirs)):
            g, tv, w = float(o[i]), float(t[i]), truth[j]
            if abs(w) > float(np.finfo(dtype).max):
                w = math.copysign(INF, w)  # overflows the dtype: ±inf is its rounding
            if math.isnan(w) or math.isinf(w) and math.isinf(tv):
                ok = g == tv or (math.isnan(g) and math.isnan(tv))
                err = terr = NAN
            else:
                err, terr = _error(g, w, dtype), _error(tv, w, dtype)
                ok = err <= BOUND[dtype] and err <= max(terr, BOUND[dtype])
                if abs(w) < float(np.finfo(dtype).tiny):
                    ok = err <= max(terr, 1.0)  # a subnormal truth (or 0): its rounding, within 1 ULP, as test_cbrt21
            if not ok:
                bad.append((j, point, g, w, err, tv, terr))
    return bad


# --- NumPy _fracpow: negative bases, huge/negative exponents, subnormals, ±inf, ±0, NaN -------------------------------
EDGES = [5e-324, -5e-324, 2.0 ** -968, 2.0 ** -969, 2.0 ** -900, -2.0 ** -900, 1e-310, 1e-45, 0.0, -0.0, INF, -INF,
         NAN, 1e300, -1e300, 3e38, -8.0, 8.0, 0.7]
POWERS = {"x**(2/3)": lambda t, x: x ** (2 / 3), "x**(-5/3)": lambda t, x: x ** (-5 / 3),
          "x**0.3": lambda t, x: x ** 0.3, "x**(-7/10)": lambda t, x: x ** (-0.7)}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(POWERS))
def test_numpy_fracpow_edges_within_bound_and_special_values_as_torch(formula, dtype):
    """x^(2/3), x^(−5/3), x^0.3, x^(−0.7) and their derivatives at 19 points (5e−324, ±2⁻⁹⁰⁰, 2⁻⁹⁶⁸, 2⁻⁹⁶⁹, 1e−310,
    ±1e300, 3e38, −8, ±0, ±inf, NaN, …; float32: the same rounded): within 4/8 ULP of mpmath where the truth is a
    number, torch's value where it is not (−8^(2/3) NaN as a real power; (−inf)^(2/3) = inf as C's pow).
    Measured: 0 faults (float64 x^0.3 at 1e300 0.44 ULP: the frexp split; torch's x**0.3 there is 67 ULP from
    10^90 as its 0.3 is rounded)."""
    assert not _faults(formula, ["x"], [(v,) for v in EDGES], dtype, POWERS[formula])


# --- scaled tier inside a widened sum of a user formula with three inputs --------------------------------------------
def test_scaled_tier_in_a_three_input_widened_sum():
    """tanh(x)·y − z at z = fl(tanh(x)·y) and its neighbours, y at 1.3, 2⁻⁹⁶⁰, 2⁻⁹⁷⁵ and x at 2⁻⁹⁰⁰: within
    4 ULP where the truth is normal, 1 where it is subnormal. Measured: 0 faults (torch: 4.6e15 ULP at y = 2⁻⁹⁶⁰)."""
    pts = []
    for x, y in [(0.3, 1.3), (0.3, 2.0 ** -960), (0.3, 2.0 ** -975), (2.0 ** -900, 2.0 ** -90)]:
        z = math.tanh(x) * y
        pts += [(x, y, z), (x, y, float(np.nextafter(z, 0))), (x, y, float(np.nextafter(z, 1)))]
    bad = _faults("tanh(x)*y - z", ["x", "y", "z"], pts, F64, lambda t, x, y, z: t.tanh(x) * y - z)
    assert not bad, bad


def test_scaled_tier_with_a_subnormal_input_derivative():
    x, y = 0.7, 2.0 ** -1040
    z = math.tanh(x) * y
    pts = [(x, y, z), (x, y, float(np.nextafter(z, 0))), (x, y, float(np.nextafter(z, 1)))]
    assert not _faults("tanh(x)*y - z", ["x", "y", "z"], pts, F64, lambda t, x, y, z: t.tanh(x) * y - z)


def test_product_of_inputs_minus_input_widened():
    """x·y − z at z = fl(x·y), and x, y scaled by 2⁻⁴⁸⁰: within 4 ULP. Measured (session 22, the widen rule's product
    of inputs): 0 faults; before, 0 for a truth of 4.44e−18 (5.8e15 ULP) and 4.56e−307, torch the same bits."""
    x, y = 1.1, 1.3
    pts = [(x, y, x * y), (x * 2.0 ** -480, y * 2.0 ** -480, x * y * 2.0 ** -960)]
    assert not _faults("x*y - z", ["x", "y", "z"], pts, F64, lambda t, x, y, z: x * y - z)


# --- vanishing-series / one-minus-cos: huge arguments, just outside the window, inf/NaN -------------------------------
OUTSIDE = [1e300, -1e300, 1e30, 3.4e38, 1e-300, 5e-324, 2.0 ** -968, -0.0, INF, NAN] + list(np.linspace(0.05, 2.0, 14))


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula,tfn", [("x - sin(x)", lambda t, x: x - t.sin(x)),
                                         ("exp(x) - 1 - x", lambda t, x: t.exp(x) - 1 - x),
                                         ("sinh(x) - x", lambda t, x: t.sinh(x) - x),
                                         ("1 - cos(x)", lambda t, x: 1 - t.cos(x))])
def test_vanishing_series_far_and_just_outside_its_window(formula, tfn, dtype):
    """At 1e300, 3.4e38, 1e−300, 5e−324, 2⁻⁹⁶⁸, −0, inf, NaN and 14 points in [0.05, 2] (across the series windows):
    within 4/8 ULP and never worse than max(torch, bound). Measured: 0 faults (float32 x − sin x 2.25 ULP at 1.1,
    torch 1.75)."""
    pts = [(v,) for v in OUTSIDE if not (formula.startswith("exp") or formula.startswith("sinh")) or not v > 700]
    assert not _faults(formula, ["x"], pts, dtype, tfn)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_log1p_minus_x_just_outside_its_window(dtype):
    pts = [(v,) for v in list(np.linspace(0.05, 2.0, 14)) + list(-np.linspace(0.05, 0.95, 10)) + [1e300, -0.0]]
    assert not _faults("log(1 + x) - x", ["x"], pts, dtype, lambda t, x: t.log(1 + x) - x)


@pytest.mark.parametrize("dtype,x", [(F64, 1e-104), (F64, 1e-110), (F64, 1e-150), (F64, 1e-103), (F32, 1e-15),
                                     (F32, 1e-13)])
def test_vanishing_series_inside_a_log(dtype, x):
    """log(x − sin x) where x − sin x ≈ x³/6 leaves the normal range (below 1.2e−102 in float64, 1e−15 in float32).
    Was (session 21): f 117 ULP at 1e−104, −inf from 1e−110, ∂ inf from 1e−103; float32 −inf from 1e−15. Since
    session 22 the series-leading-power rule's 3·log|x| + log(sign(x)·(1/6 − x²/120 …)) and (sin(x/2)/x)²·2/R/x:
    measured 0 faults (tests/test_logser22.py)."""
    assert not _faults("log(x - sin(x))", ["x"], [(x,)], dtype, lambda t, x: t.log(x - t.sin(x)))


@pytest.mark.parametrize("dtype,x", [(F64, 710.0), (F64, 1000.0), (F32, 89.0), (F32, 100.0)])
def test_vanishing_series_exp_overflow_inside_a_log(dtype, x):
    """log(eˣ − 1 − x) at 710, 1000 (float64), 89, 100 (float32). Was (session 21): inf (truth x), ∂ NaN (truth 1);
    since session 22 the exp-dominant rule's x + log1p(−(1 + x)e^−x) and (1 − e^−x)/(1 − (1 + x)e^−x) from x > 64
    (x and 1 from 1024): measured 0 faults."""
    assert not _faults("log(exp(x) - 1 - x)", ["x"], [(x,)], dtype, lambda t, x: t.log(t.exp(x) - 1 - x))


# --- erf as a rounded function ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_numpy_erf_minus_target_at_6_and_27(dtype):
    """erf(x) − y with y = fl(erf x) (and one below) at ±6, ±27, 5.93, 5.9, ±3, 2, 1e−300, 5e−324, −0, ±inf, NaN:
    within 4/8 ULP (truth −2.15e−17 at x = 6, y = 1 in float32, 0 at 27). Measured: 0 faults."""
    xs = [6.0, -6.0, 27.0, -27.0, 5.9, 5.93, 1e-300, 5e-324, -0.0, INF, -INF, NAN]
    pts = [(x, float(np.array(math.erf(x) if not math.isnan(x) else 0.0, dtype))) for x in xs]
    pts += [(x, float(np.nextafter(np.array(math.erf(x), dtype), dtype(0)))) for x in (5.9, 3.0, -3.0, 2.0)]
    assert not _faults("erf(x) - y", ["x", "y"], pts, dtype, lambda t, x, y: t.erf(x) - y)


# --- Triton under TRITON_INTERPRET=1 at a few points ------------------------------------------------------------------
TRITON_EDGES = [5e-324, 2.0 ** -968, 2.0 ** -900, 0.0, -0.0, INF, -INF, NAN, -8.0, 8.0, 1e300, -1e300]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_x_to_minus_five_thirds_edges(dtype):
    """x^(−5/3) in Triton (_pow and its special values): measured 0 faults at the 12 points, float64 and float32."""
    assert not _faults("x**(-5/3)", ["x"], [(v,) for v in TRITON_EDGES], dtype, lambda t, x: x ** (-5 / 3), "triton")


def test_triton_float32_x_to_two_thirds_edges():
    assert not _faults("x**(2/3)", ["x"], [(v,) for v in TRITON_EDGES], F32, lambda t, x: x ** (2 / 3), "triton")


# was a strict xfail (session 21): e^(fl(2/3)·log x) 150 ULP at 1e300, 177 at 2⁻⁹⁶⁸, ∂ 60–83 ULP (torch's ∂ 118–165);
# session 22 (h-fracpow22) passes 2/3 − fl(2/3) to _pow as its u: measured 0 faults
def test_triton_float64_x_to_two_thirds_edges():
    assert not _faults("x**(2/3)", ["x"], [(v,) for v in TRITON_EDGES], F64, lambda t, x: x ** (2 / 3), "triton")


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_x_minus_sin_far(dtype):
    pts = [(v,) for v in [1e300, 1e-8, 1e-150, 5e-324, 0.9, 1.2, INF]]
    assert not _faults("x - sin(x)", ["x"], pts, dtype, lambda t, x: x - t.sin(x), "triton")


def test_triton_float64_erf_minus_target_at_6_and_27():
    xs = [6.0, -6.0, 27.0, -27.0, 5.93, -0.0, INF, -INF]
    pts = [(x, float(math.erf(x) if math.isfinite(x) else math.copysign(1, x))) for x in xs]
    assert not _faults("erf(x) - y", ["x", "y"], pts, F64, lambda t, x, y: t.erf(x) - y, "triton")


def test_triton_float32_erf_minus_target_at_6():
    """A strict xfail until session 26 (TRITON_INTERPRET=1): Triton float32 erf(x) − 1 at x = ±6 was 0 (truth
    ∓2.15e−17, 1.3e7 ULP), at 5.93 0 (−5.02e−17, 1.5e7 ULP); torch 0 too. Triton's double word of erf is now
    ±(1 − erfc|x|) from |x| = 1/2 (doubleword._dw_erf_tail; tests/test_exp26.py)."""
    xs = [6.0, -6.0, 5.93]
    pts = [(x, float(np.float32(math.erf(x)))) for x in xs]
    assert not _faults("erf(x) - y", ["x", "y"], pts, F32, lambda t, x, y: t.erf(x) - y, "triton")


# --- symnet.torch on views --------------------------------------------------------------------------------------------
_VIEWS = {"t": lambda a: a.t(), "slice": lambda a: a[:, ::3], "expand": lambda a: a[:1].expand(5, 8),
          "flip": lambda a: a.flip(0), "diagonal": lambda a: a.diagonal()}


@pytest.mark.parametrize("op", ["hardswish", "mish", "softplus"])
def test_torch_ops_on_views_match_torch(op):
    """symnet.torch.functional ops on a transposed, strided, expanded, flipped and diagonal view of one float64
    tensor: value and gradient (into the base) within 4e−16 of torch.nn.functional's. Measured ≤ 4.4e−16."""
    torch = triton_torch()
    import symnet.torch.functional as F
    base = torch.linspace(-4, 4, 48, dtype=torch.float64).reshape(6, 8)
    for name, view in _VIEWS.items():
        a, b = base.clone().requires_grad_(True), base.clone().requires_grad_(True)
        ours, ref = getattr(F, op)(view(a)), getattr(torch.nn.functional, op)(view(b))
        (ga,), (gb,) = torch.autograd.grad(ours.sum(), [a]), torch.autograd.grad(ref.sum(), [b])
        assert ours.shape == ref.shape, name
        assert (ours - ref).abs().max().item() <= 4.5e-16, name
        assert (ga - gb).abs().max().item() <= 4.5e-16, name


def test_torch_inplace_and_from_formula_on_views():
    """relu(inplace=True) on a strided and a transposed view writes through to the base (equal to torch's); a
    three-input from_formula on transposed and flipped views: value and gradients within 4e−16 of torch."""
    torch = triton_torch()
    import symnet.torch as st
    import symnet.torch.functional as F
    base = torch.linspace(-4, 4, 48, dtype=torch.float64).reshape(6, 8)
    for view in (lambda a: a[:, ::2], lambda a: a.t()):
        mine, ref = base.clone(), base.clone()
        r = F.relu(view(mine), inplace=True)
        torch.nn.functional.relu(view(ref), inplace=True)
        assert torch.equal(mine, ref) and r.data_ptr() == view(mine).data_ptr()
    f = st.from_formula("tanh(x)*y - z", inputs="x y z")
    xs = [base.clone().requires_grad_(True) for _ in range(3)]
    args = lambda x, y, z: (x.t(), (y * 0.5 + 2).t(), z.flip(1).t())  # noqa: E731
    out = f(*args(*xs))
    x, y, z = args(*xs)
    ref = torch.tanh(x) * y - z
    assert (out - ref).abs().max().item() <= 4.5e-16
    for g, h in zip(torch.autograd.grad(out.sum(), xs), torch.autograd.grad(ref.sum(), xs)):
        assert (g - h).abs().max().item() <= 4.5e-16


# --- constants last: x/(q·y) as (x/y)/q -------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_quotient_by_a_constant_times_input_near_overflow(dtype, backend):
    big = float(np.finfo(dtype).max)
    pts = [(big, 0.5), (big * 0.9, 0.9)]
    assert not _faults("x/(3*y)", ["x", "y"], pts, dtype, lambda t, x, y: x / (3 * y), backend)


def test_constant_times_quotient_with_a_subnormal_result():
    assert not _faults("8*x/y", ["x", "y"], [(6.675221575521604e-308, 300000.0)], F64, lambda t, x, y: 8 * x / y)


# --- sin x + cos x of one input; Φ(√2·v) as erfc(−v)/2; activation − target ----------------------------------------
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_sin_plus_cos_zeros_and_far(dtype):
    """sin x + cos x at 3π/4, −π/4, 7π/4 + 2000π, its float64 neighbours, 1e22, 1e300, 5e−324, inf: measured 0 faults."""
    xs = [3 * math.pi / 4, -math.pi / 4, 7 * math.pi / 4 + 2000 * math.pi, 2.356194490192345, 2.3561944901923453, 1e22,
          1e300, 5e-324, INF]
    assert not _faults("sin(x) + cos(x)", ["x"], [(v,) for v in xs], dtype, lambda t, x: t.sin(x) + t.cos(x))


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_normal_cdf_far_tails(dtype):
    """(1 + erf(x))/2 at −27, −26.5, −38, ±6, ±1e300, ±inf, NaN and (1 + erf(x/√2))/2 at −38, −40, ±8: measured 0
    faults (the value subnormal or 0 where the truth is)."""
    vs = [-27.0, -26.5, -26.6, -38.0, -6.0, -1e-300, 0.0, 6.0, 27.0, 1e300, -1e300, INF, -INF, NAN]
    assert not _faults("(1 + erf(x))/2", ["x"], [(v,) for v in vs], dtype, lambda t, x: (1 + t.erf(x)) / 2)
    assert not _faults("(1 + erf(x/sqrt(2)))/2", ["x"], [(v,) for v in [-38.0, -37.5, -40.0, -8.0, 1e-300, 8.0]], dtype,
                       lambda t, x: (1 + t.erf(x / math.sqrt(2))) / 2)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_hardswish_and_hardsigmoid_minus_target_off_the_kinks(dtype):
    """hardswish(x) − y, hardsigmoid(x) − y with y = fl(f(x)) and one ULP above, at ±2.9999999, ±1e−300, 5e−324,
    ±1e300, 0.1, −1.5, 2.5: measured 0 faults (the kinks ±3 and NaN left out: the derivative's convention there)."""
    tf = pytest.importorskip("torch").nn.functional
    pts = []
    for x in [-2.9999999, 2.9999999, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 0.1, -1.5, 2.5]:
        xd = float(np.array(x, dtype))
        y = float(np.array(min(max(xd + 3, 0.0), 6.0) * xd / 6, dtype))
        pts += [(xd, y), (xd, float(np.nextafter(np.array(y, dtype), dtype(1))))]
    hs = "Piecewise((0, x <= -3), (x, x >= 3), (x*(x + 3)/6, True)) - y"
    hg = "Piecewise((0, x <= -3), (1, x >= 3), (x/6 + 1/2, True)) - y"
    for formula, exact, tfn in [("hardswish(x) - y", hs, lambda t, x, y: tf.hardswish(x) - y),
                                ("hardsigmoid(x) - y", hg, lambda t, x, y: tf.hardsigmoid(x) - y)]:
        assert not _faults(formula, ["x", "y"], pts, dtype, tfn, exact=exact), formula


# --- vanishing-series inside a quotient, a root; a fractional power against a target ----------------------------------
# ∂/∂x of (x − sin x)/x³ = (1 − cos x)/x³ − 3(x − sin x)/x⁴ (two terms of ~1/(2x) that cancel) was 7.1e15 ULP at
# x = 1e−8, 160.25 at 1e−20 (torch 0: worse than torch), NaN at 1e−100 while the widen rule took cos x − … whole; since
# the widen rule takes only sums of sines and cosines alone (lead, session 21) the removable-series rule has it
@pytest.mark.parametrize("dtype,x", [(F64, 1e-8), (F64, 1e-20), (F64, 1e-5), (F64, 1e-100), (F32, 1e-8),
                                     (F32, 1e-20)])
def test_vanishing_series_over_its_leading_power(dtype, x):
    assert not _faults("(x - sin(x))/x**3", ["x"], [(x,)], dtype, lambda t, x: (x - t.sin(x)) / x ** 3)


@pytest.mark.parametrize("dtype,x", [(F64, 1e-110), (F32, 1e-20)])
def test_vanishing_series_under_a_root(dtype, x):
    """√(x − sin x) at 1e−110 (float64), 1e−20 (float32), x − sin x below the subnormals. Was (session 21): 0 (truth
    4.08e−166), ∂ inf; since session 22 (series-leading-power) |x|^(3/2)·√(sign(x)·R): measured 0 faults."""
    assert not _faults("sqrt(x - sin(x))", ["x"], [(x,)], dtype, lambda t, x: t.sqrt(x - t.sin(x)))


# was a strict xfail (session 21): x^(1/3) − y was not widened: float64 x = 2, y = fl(∛2): 0 (truth −2.59e−17, 8.4e15
# ULP; torch 0), x = 1e300, y = 1e100: 0 (truth 1.6e82), float32 x = 2: 0 (−2.4e−8); session 22 (h-fracpow22) makes a
# constant fractional power (q > 2) one of the widen rule's rounded functions: measured 0 faults
@pytest.mark.parametrize("dtype,x", [(F64, 2.0), (F64, 1e300), (F64, 3e38), (F32, 2.0)])
def test_cube_root_minus_target(dtype, x):
    xd = float(np.array(x, dtype))
    y = float(np.array(np.cbrt(xd), dtype))
    assert not _faults("x**(1/3) - y", ["x", "y"], [(xd, y)], dtype, lambda t, x, y: x ** (1 / 3) - y)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_third_tier_and_rules_at_edges(dtype):
    """Triton (TRITON_INTERPRET=1): y − tanh x at y = fl(tanh x) and one below (x ∈ {1e−300, 5e−324, 2⁻⁹⁶⁸, 0.3, 3,
    19, 20, −0.5, 1e−8, ±inf, NaN}), sin x + cos x at 3π/4 and far, log(1 + x) − x from 5e−324 to inf, (1 + erf x)/2
    at ±6, −26.5, −27, ±inf: measured 0 faults (the worst ∂x of y − tanh x 2 ULP at 0.3, torch 0)."""
    pts = []
    for x in [1e-300, 5e-324, 2.0 ** -968, 0.3, 3.0, 19.0, 20.0, -0.5, 1e-8, INF, -INF, NAN]:
        xd = float(np.array(x, dtype))
        y = float(np.array(math.tanh(xd) if not math.isnan(xd) else 0.0, dtype))
        pts += [(xd, y), (xd, float(np.nextafter(np.array(y, dtype), dtype(0))))]
    assert not _faults("y - tanh(x)", ["x", "y"], pts, dtype, lambda t, x, y: y - t.tanh(x), "triton")
    xs = [3 * math.pi / 4, 2.356194490192345, 1e22, 1e300, 5e-324, INF]
    assert not _faults("sin(x) + cos(x)", ["x"], [(v,) for v in xs], dtype, lambda t, x: t.sin(x) + t.cos(x), "triton")
    xs = [1e-300, 5e-324, 1e-8, 0.05, 0.5, 1.5, 1e300, INF, -0.0, -0.5]
    assert not _faults("log(1 + x) - x", ["x"], [(v,) for v in xs], dtype, lambda t, x: t.log(1 + x) - x, "triton")
    xs = [-27.0, -26.5, -6.0, 6.0, INF, -INF]
    assert not _faults("(1 + erf(x))/2", ["x"], [(v,) for v in xs], dtype, lambda t, x: (1 + t.erf(x)) / 2, "triton")


# was a strict xfail (session 21): the frexp split b = m·2ⁿ, m ∈ [1, 2), met the exponent's rounding with |log m| ≈
# 0.69 just below 1: x^(1000/3) 84 ULP at 0.999, 118 at 0.99999, x^(−1000/7) 13–18 (torch 0–3); session 22
# (h-fracpow22) corrects b**e by 1 + (p/q − e)·log b: measured ≤ 0.4 ULP there (1.9: 0.4, torch 87)
@pytest.mark.parametrize("formula,tfn,x", [("x**(1000/3)", lambda t, x: x ** (1000 / 3), 0.999),
                                           ("x**(1000/3)", lambda t, x: x ** (1000 / 3), 0.99999),
                                           ("x**(-1000/7)", lambda t, x: x ** (-1000 / 7), 0.99)])
def test_numpy_fracpow_large_exponent_just_below_one(formula, tfn, x):
    assert not _faults(formula, ["x"], [(x,)], F64, tfn)


def test_numpy_fracpow_moderate_exponents_near_one():
    """x^(10/3), x^(31/10), x^(7/2), x^(1/7) at 0.9 … 1.9 (float64): measured within 4 ULP and never worse than
    max(torch, 4) (x^(7/2)'s ∂ and x^(1/7) 2 ULP at 0.999, torch 0)."""
    pts = [(v,) for v in [0.9, 0.99, 0.999, 0.9999, 0.99999, 1.00001, 1.01, 1.9, 0.51]]
    for formula, tfn in [("x**(10/3)", lambda t, x: x ** (10 / 3)), ("x**(31/10)", lambda t, x: x ** 3.1),
                         ("x**(7/2)", lambda t, x: x ** 3.5), ("x**(1/7)", lambda t, x: x ** (1 / 7))]:
        assert not _faults(formula, ["x"], pts, F64, tfn), formula
