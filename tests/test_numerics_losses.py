"""The registry losses at the points where their generated code failed (issue 16, the loss entries of
symnet.verify.spec.KNOWN_FAILURES): each against mpmath (50 digits, raised where the written formula
cancels in mpmath too: symnet.verify.evaluate.reference), and torch float64 where torch has the loss.
The fixes are the loss rules of symnet/codegen/rewrite.py (softplus-difference, sigmoid-target,
heaviside-gate, exp-minus, collect) and, for the focal loss, its far form beyond |z| = 1000; each is
exact (checked here on the whole losses in mpmath, at random points and on both sides of every
branch point the rules introduce).
"""
from __future__ import annotations

import math
import random
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import triton_torch
from symnet.codegen.rewrite import stabilise
from symnet.registry import lookup
from symnet.verify.evaluate import reference

x, t, v = sp.symbols("x t v", real=True)
F32, F64 = np.float32, np.float64
BOUND = {F32: 8.0, F64: 4.0}


def _loss(name, *args):
    return lookup(name)(*args)


_CACHE: dict = {}


def _kernel(name, variables, backend="numpy"):
    key = (name, variables, backend)
    if key not in _CACHE:
        if backend == "triton":
            triton_torch()
        d = symnet.derive(_loss(name, *variables), list(variables))
        _CACHE[key] = (symnet.compile(d, backend=backend), d)
    return _CACHE[key]


def _run(name, variables, point, dtype, backend="numpy"):
    """{output name: value} of the generated kernel at one point."""
    k, _ = _kernel(name, variables, backend)
    if backend == "numpy":
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = k(**{str(s): np.array([p], dtype=dtype) for s, p in zip(variables, point)})
    else:
        torch = triton_torch()
        td = torch.float32 if dtype is F32 else torch.float64
        outs = k(**{str(s): torch.tensor([p], dtype=td) for s, p in zip(variables, point)})
    return {n: float(o[0]) for n, o in zip(k.outputs, outs)}


def _true(name, variables, point):
    """{output name: exact value} from the written (unstabilised) formulas, in mpmath."""
    k, _ = _kernel(name, variables)
    env = {s: float(p) for s, p in zip(variables, point)}
    return {o.name: reference(o.expr, env)[0] for o in k.kernel.outputs}


def _ulps(got: float, want, dtype) -> float:
    info = np.finfo(dtype)
    if mpmath.isinf(want) or math.isinf(got):
        return 0.0 if float(want) == got else math.inf
    if not math.isfinite(got):
        return math.inf
    w = mpmath.mpf(want)
    unit = max(abs(w) * mpmath.mpf(float(info.eps)), mpmath.mpf(float(info.smallest_subnormal)))
    return float(abs(mpmath.mpf(got) - w) / unit)


def _check(name, variables, point, dtype, outputs, backend="numpy", want=None):
    point = [float(dtype(p)) for p in point]
    got = _run(name, variables, point, dtype, backend)
    want = want or _true(name, variables, point)
    for out in outputs:
        assert _ulps(got[out], want[out], dtype) <= BOUND[dtype], \
            f"{name} {out} {np.dtype(dtype)} {backend} at {point}: got {got[out]!r}, true {mpmath.nstr(want[out], 17)}"
    return got


def _torch_grads(fn, point, requires):
    """torch float64 autograd of fn at point: the value and the gradient of each argument."""
    torch = pytest.importorskip("torch")
    ts = [torch.tensor([p], dtype=torch.float64, requires_grad=r) for p, r in zip(point, requires)]
    val = fn(torch, *ts)
    val.sum().backward()
    return float(val[0]), [float(a.grad[0]) if r else None for a, r in zip(ts, requires)]


# ------------------------------------------------------------------ BCE with logits

@pytest.mark.parametrize("dtype,point", [(F64, (1e-300, 1e-300)), (F32, (-1.10616e-08, 0.5)),
                                         (F64, (-1e-30, 0.5)), (F32, (3e38, 0.25))])
def test_bce_logits_target_gradient_is_minus_z(dtype, point):
    """∂/∂t = softplus(−z) − softplus(z) = −z exactly; written out log 2 − log 2 = 0 (was 5.7e15 ULP)."""
    got = _check("bce_logits", (x, t), point, dtype, ["df_dt"])
    assert got["df_dt"] == -float(dtype(point[0]))
    if dtype is F64:  # torch's built-in agrees
        _, (_, gt) = _torch_grads(lambda T, a, b: T.nn.functional.binary_cross_entropy_with_logits(
            a, b, reduction="none"), point, (False, True))
        assert gt == got["df_dt"]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("point", [(-1e-30, 0.5), (-1.10616e-08, 0.5), (1e-5, 0.5), (40.0, 1.0), (-40.0, 0.0),
                                   (0.3, 1.0), (-0.3, 0.0), (2.0, 0.5), (-700.0, 1.0), (1e4, 0.0)])
def test_bce_logits_logit_gradient_where_the_written_form_cancels(point, dtype):
    """∂/∂z = σ(z) − t: at t = 1/2 and z ≈ 0 the written (1 − t)σ(z) − tσ(−z) was 0 (true −2.5e−31 at
    z = −1e−30; torch's built-in also returns 0 there); exact at t in {0, 1/2, 1} for every z."""
    _check("bce_logits", (x, t), point, dtype, ["f", "df_dx", "df_dt"])


def test_bce_logits_torch_loses_what_symnet_keeps():
    """The figure beside torch: torch float64 at t = 1/2, z = −1e−30 gives ∂/∂z = 0 (true −2.5e−31)."""
    _, (gz, _) = _torch_grads(lambda T, a, b: T.nn.functional.binary_cross_entropy_with_logits(
        a, b, reduction="none"), (-1e-30, 0.5), (True, False))
    got = _run("bce_logits", (x, t), (-1e-30, 0.5), F64)["df_dx"]
    assert gz == 0.0 and got == -2.5e-31


@pytest.mark.parametrize("dtype", [F32, F64])
def test_bce_logits_logit_gradient_on_a_sweep(dtype):
    """t in {0, 1/2, 1} (no true cancellation σ(z) ≈ t is possible except where the form is exact):
    every z of a log-spaced sweep, both signs, to the bound."""
    zs = [s * 10.0 ** e for e in np.arange(-40, 39, 3.0) for s in (1, -1)]
    for tv in (0.0, 0.5, 1.0):
        for zv in zs:
            _check("bce_logits", (x, t), (zv, tv), dtype, ["df_dx"])


# ------------------------------------------------------------------ BCE on probabilities

@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("point,want", [((0.0, 0.0), 1.0), ((0.0, 1.0), 0.0), ((0.0, 0.3), 0.7),
                                        ((1.0, 1.0), -1.0), ((1.0, 0.0), 0.0), ((1.0, 0.6), -0.6),
                                        ((1.4e-45, 0.8333333), 0.1666667)])
def test_bce_gradient_at_a_clamped_log_is_the_clamped_derivative(point, want, dtype):
    """torch's documented clamp, log ≥ −100, applied to the gradient too: the derivative of the clamped
    value, 0 from the clamped term (was 0·∞ = NaN at p = 0 and 1, and at p = 1.4e−45 in float32)."""
    got = _run("bce", (x, t), [float(dtype(p)) for p in point], dtype)
    assert math.isfinite(got["df_dx"]) and math.isfinite(got["f"])
    assert got["df_dx"] == pytest.approx(float(dtype(1 - dtype(point[1])) if point[0] < 0.5 else -dtype(point[1])),
                                         rel=1e-6)
    assert got["df_dx"] == pytest.approx(want, rel=1e-6)
    torch = pytest.importorskip("torch")
    val = torch.nn.functional.binary_cross_entropy(torch.tensor([point[0]], dtype=torch.float64),
                                                   torch.tensor([point[1]], dtype=torch.float64), reduction="none")
    assert got["f"] == pytest.approx(float(val[0]), rel=1e-6)  # torch's clamped value


@pytest.mark.parametrize("dtype", [F32, F64])
def test_bce_gradient_inside_matches_torch(dtype):
    """Where no log is clamped and p(1 − p) > 1e−12 (torch's own clamp of the gradient's denominator:
    at p = 1e−20 torch gives −5e11 where the derivative is −5e19) the gradient is torch's."""
    for point in [(0.3, 0.2), (1e-10, 0.5), (0.999, 1.0)]:
        got = _check("bce", (x, t), point, dtype, ["f", "df_dx"])
        if dtype is F64:
            _, (gp, _) = _torch_grads(lambda T, a, b: T.nn.functional.binary_cross_entropy(a, b, reduction="none"),
                                      point, (True, False))
            assert got["df_dx"] == pytest.approx(gp, rel=1e-12)


# ------------------------------------------------------------------ Poisson NLL

@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("point", [(-1e-30, 1.0), (1e-8, 1.0), (0.5, 1.5), (-0.6, 0.6), (-0.69, 0.9),
                                   (1.4719, 2.5)])
def test_poisson_nll_gradient_near_the_minimum(point, dtype):
    """∂/∂x = e^x − t: 0 at x = −1e−30, t = 1 where the true value is −1e−30 (torch float64: 0 too).
    Where e^x ≈ t ≠ 1 (e^−0.69 − 1/2, e^3 − 20) the cancellation is true: e^x, or expm1(x), is rounded
    before t is subtracted, as in any working-precision evaluation (9.5 ULP at (3, 20) in float64)."""
    _check("poisson_nll", (x, t), point, dtype, ["f", "df_dx", "df_dt"])


def test_poisson_nll_torch_figure_beside():
    _, (gx, _) = _torch_grads(lambda T, a, b: T.nn.functional.poisson_nll_loss(a, b, reduction="none"),
                              (-1e-30, 1.0), (True, False))
    assert gx == 0.0  # torch loses it; symnet: −1e−30 (the test above)


@pytest.mark.parametrize("dtype,point", [(F32, (3.4028235e38, 4698.35)), (F64, (1.7976931348623157e308, 1e4)),
                                         (F32, (100.0, 1e4)), (F64, (800.0, 1e4))])
def test_poisson_nll_value_overflows_to_inf_not_nan(point, dtype):
    """e^x − t·x at x = 3.4e38 in float32 was inf − inf = NaN (torch too); the true value overflows."""
    got = _run("poisson_nll", (x, t), point, dtype)
    assert got["f"] == math.inf


def test_poisson_nll_value_large_but_finite():
    _check("poisson_nll", (x, t), (80.0, 1e4), F64, ["f", "df_dx"])
    _check("poisson_nll", (x, t), (80.0, 1e4), F32, ["f", "df_dx"])


# ------------------------------------------------------------------ Gaussian NLL

@pytest.mark.parametrize("dtype,point", [(F64, (1.0, -1e200, 0.0)), (F32, (1.0, -3e38, 0.0)),
                                         (F64, (1e300, -1e300, 1e-7))])
def test_gaussian_nll_variance_gradient_below_eps_is_zero(point, dtype):
    """The clamp max(var, 1e−6) has slope 0 below eps: −(x − t)²/(2·eps²)·H(var − eps) was ∞·0 = NaN."""
    got = _run("gaussian_nll", (x, t, v), [float(dtype(p)) for p in point], dtype)
    assert got["df_dv"] == 0.0


# ------------------------------------------------------------------ focal loss (torchvision's sigmoid_focal_loss)

@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("point", [(-1e-30, 0.5), (-1.10616e-08, 0.5), (1e-6, 0.5), (-2.0, 0.0), (3.0, 1.0)])
def test_focal_logit_gradient_where_its_terms_cancel(point, dtype):
    """At t = 1/2 the gradient's two products (−2t·X and 2(1 − t)·X, X = (1 − p_t)·CE·σσ(−)) and the
    σ(z) − t of CE′ cancelled: 6.9e−18 where the true value is −3.1e−32 (1.3e30 ULP); the collect and
    sigmoid-target rules take (1 − 2t) out exactly."""
    _check("focal", (x, t), point, dtype, ["f", "df_dx", "df_dt"])


@pytest.mark.parametrize("dtype,point", [(F32, (3e38, 0.0)), (F32, (-3e38, 1.0)), (F32, (3e38, 0.3)),
                                         (F64, (-1.7976931348623157e308, 1.0)), (F64, (1.7976931348623157e308, 0.3)),
                                         (F64, (1001.0, 0.25)), (F64, (-999.0, 0.25))])
def test_focal_gradients_at_extreme_logits_are_finite(point, dtype):
    """Beyond |z| = 1000, 1 − p_t is 1 − t or t: the gradient no longer multiplies CE ≈ |z| (doubled: inf)
    by σ(−|z|) = 0, which was NaN at z = ±3e38 in float32 and ±1.8e308 in float64 (torch autograd too)."""
    _check("focal", (x, t), point, dtype, ["f", "df_dx"])


def test_focal_matches_torchvision_formula_in_float64():
    from symnet.losses import _torchvision_focal

    for point in [(0.3, 0.2), (-4.0, 1.0), (2.5, 1 / 3)]:
        got = _run("focal", (x, t), point, F64)
        val, (gz, gt) = _torch_grads(lambda T, a, b: _torchvision_focal(T, a, b), point, (True, True))
        assert got["f"] == pytest.approx(val, rel=1e-13)
        assert got["df_dx"] == pytest.approx(gz, rel=1e-12) and got["df_dt"] == pytest.approx(gt, rel=1e-12)


# ------------------------------------------------------------------ exactness of the rewritten losses

_CASES = [("bce_logits", (x, t), {t: (0.0, 1.0)}), ("bce", (x, t), {x: (0.0, 1.0), t: (0.0, 1.0)}),
          ("poisson_nll", (x, t), {t: (0.0, 5.0)}), ("gaussian_nll", (x, t, v), {v: (0.0, 3.0)}),
          ("focal", (x, t), {t: (0.0, 1.0)})]


@pytest.mark.parametrize("name,variables,ranges", _CASES, ids=[c[0] for c in _CASES])
def test_rewritten_loss_equals_the_written_one_in_mpmath(name, variables, ranges):
    """Every output after the stability rules equals the derived one to 28 digits (mpmath, 50 digits or
    more where either form cancels in mpmath): random points and
    both sides of the branch points the rules introduce (z = ±log 3, |x| = log 2, x = 64)."""
    k, _ = _kernel(name, variables)
    special = [math.log(3), -math.log(3), math.log(2), -math.log(2), 64.0, 1e-20, -1e-20]
    rng = random.Random(16)
    points = []
    for i in range(40):
        pt = []
        for s in variables:
            lo, hi = ranges.get(s, (-80.0, 80.0))
            if s == variables[0] and i < 2 * len(special) and s not in ranges:
                pt.append(special[i // 2] * (1 + (1e-12 if i % 2 else -1e-12)))
            else:
                pt.append(rng.uniform(lo, hi))
        points.append(pt)
    for o in k.kernel.outputs:
        stable, fired = stabilise(o.expr)
        for pt in points:
            env = {s: p for s, p in zip(variables, pt)}
            want, got = reference(o.expr, env)[0], reference(stable, env)[0]
            assert abs(got - want) <= mpmath.mpf("1e-28") * abs(want), (name, o.name, pt, fired)


def test_the_rules_fire_on_the_losses():
    names = {}
    for name, variables, _ in _CASES:
        k, _ = _kernel(name, variables)
        names[name] = {r.name for o in k.kernel.outputs for r in stabilise(o.expr)[1]}
    assert {"softplus-difference", "sigmoid-target"} <= names["bce_logits"]
    assert "heaviside-gate" in names["bce"] and "heaviside-gate" in names["gaussian_nll"]
    assert "exp-minus" in names["poisson_nll"]
    assert {"collect", "sigmoid-target"} <= names["focal"]


# ------------------------------------------------------------------ the Triton backend (interpreter on a CPU)

@pytest.mark.parametrize("dtype", [F32, F64])
def test_triton_at_the_failing_points(dtype):
    _check("bce_logits", (x, t), (-1e-30, 0.5), dtype, ["f", "df_dx", "df_dt"], backend="triton")
    _check("bce_logits", (x, t), (1e-300 if dtype is F64 else 1e-30, 1.0), dtype, ["df_dt"], backend="triton")
    _check("poisson_nll", (x, t), (-1e-30, 1.0), dtype, ["f", "df_dx"], backend="triton")
    got = _run("bce", (x, t), (0.0, 0.3), dtype, backend="triton")
    assert got["df_dx"] == pytest.approx(0.7, rel=1e-6)
    got = _run("gaussian_nll", (x, t, v), (1.0, -1e30, 0.0), dtype, backend="triton")
    assert got["df_dv"] == 0.0
    _check("focal", (x, t), (-1e-30, 0.5), dtype, ["f", "df_dx", "df_dt"], backend="triton")
    _check("focal", (x, t), (3e38, 0.0), dtype, ["f", "df_dx"], backend="triton")
