"""The elementwise losses of the registry (symnet/losses.py), tested like tests/test_registry.py.

For every loss (and its options) × backend (NumPy; Triton under TRITON_INTERPRET=1 on a few
points) × dtype (float64, float32): the value and the gradient in every argument against an
mpmath reference at 50 digits, written from the textbook formula (not the stable form the entry
uses), the gradients by mpmath's numerical differentiation of it at 100 digits, at random points
and at extremes (±20, ±88.7, ±1e4 logits, tiny probabilities, both sides of every Piecewise
boundary); and against torch's own function (torchvision's focal-loss formula when torchvision is
absent) in float64, value and autograd gradients.
"""
from __future__ import annotations

import functools
import math
import random
import re
import subprocess
import sys

import mpmath
import numpy as np
import pytest

import symnet
from symnet.errors import ParseError
from symnet.losses import LOSSES
from symnet.parsing import parse_expression
from symnet.registry import REGISTRY
from symnet.render import render_text
from conftest import triton_torch

MP = mpmath.mpf


def _u(rng, lo, hi):
    return rng.uniform(lo, hi)


# Variables: x the prediction (logit, log-probability, rate), t the target, v the variance.
# Each case: formula, mpmath reference (keyword arguments x, t[, v]), random point sampler,
# extreme points, and a "kink" test (a point on a Piecewise boundary: its gradient is not checked).
CASES = {
    "mse": dict(formula="mse(x, t)", ref=lambda x, t: (x - t) ** 2),
    "l1": dict(formula="l1(x, t)", ref=lambda x, t: abs(x - t), kink=lambda x, t: x == t),
    "smooth_l1": dict(formula="smooth_l1(x, t, 0.5)",
                      ref=lambda x, t: (x - t) ** 2 / 2 / MP("0.5") if abs(x - t) < MP("0.5") else abs(x - t) - MP("0.25"),
                      bound=(0.5,), kink=lambda x, t: x == t),
    "huber": dict(formula="huber(x, t, 2)",
                  ref=lambda x, t: (x - t) ** 2 / 2 if abs(x - t) < 2 else 2 * (abs(x - t) - 1), bound=(2.0,),
                  kink=lambda x, t: x == t),
    "log_cosh": dict(formula="log_cosh(x, t)", ref=lambda x, t: _log_cosh(x - t), bound=(1.0,)),
    "bce": dict(formula="bce(x, t)",
                ref=lambda x, t: -(t * max(mpmath.log(x), -100) + (1 - t) * max(mpmath.log(1 - x), -100)),
                sample=lambda r: {"x": _u(r, 0.001, 0.999), "t": _u(r, 0, 1)},
                extremes=[{"x": 1e-30, "t": 0.3}, {"x": 1e-300, "t": 0.7}, {"x": 0.5, "t": 1.0},
                          {"x": 1 - 2 ** -20, "t": 0.0}, {"x": 2 ** -20, "t": 1.0}],
                kink=lambda x, t: x < MP("1e-40") or 1 - x < MP("1e-40")),
    "bce_logits": dict(formula="bce_logits(x, t, 3)",
                       ref=lambda x, t: 3 * t * mpmath.log1p(mpmath.exp(-x)) + (1 - t) * mpmath.log1p(mpmath.exp(x)),
                       sample=lambda r: {"x": _u(r, -8, 8), "t": _u(r, 0, 1)}, logits=True),
    "bce_logits_default": dict(formula="bce_logits(x, t)",
                               ref=lambda x, t: t * mpmath.log1p(mpmath.exp(-x)) + (1 - t) * mpmath.log1p(mpmath.exp(x)),
                               sample=lambda r: {"x": _u(r, -8, 8), "t": _u(r, 0, 1)}, logits=True),
    "focal": dict(formula="focal(x, t)", ref=lambda x, t: _mp_focal(x, t, MP("0.25"), 2),
                  sample=lambda r: {"x": _u(r, -8, 8), "t": _u(r, 0, 1)}, logits=True),
    "focal_no_alpha": dict(formula="focal(x, t, -1, 3)", ref=lambda x, t: _mp_focal(x, t, -1, 3),
                           sample=lambda r: {"x": _u(r, -8, 8), "t": _u(r, 0, 1)}, logits=True),
    "hinge": dict(formula="hinge(x, t)", ref=lambda x, t: max(1 - t * x, 0),
                  sample=lambda r: {"x": _u(r, -3, 3), "t": r.choice([-1.0, 1.0])},
                  extremes=[{"x": s * (1 + e), "t": s} for s in (-1.0, 1.0) for e in (1e-3, -1e-3, 1e-7, -1e-7)]
                  + [{"x": 1e4, "t": -1.0}, {"x": -1e4, "t": -1.0}],
                  kink=lambda x, t: t * x == 1),
    "squared_hinge": dict(formula="squared_hinge(x, t)", ref=lambda x, t: max(1 - t * x, 0) ** 2,
                          sample=lambda r: {"x": _u(r, -3, 3), "t": r.choice([-1.0, 1.0])},
                          extremes=[{"x": s * (1 + e), "t": s} for s in (-1.0, 1.0) for e in (1e-3, -1e-3)]
                          + [{"x": 1e4, "t": -1.0}]),
    "poisson_nll": dict(formula="poisson_nll(x, t)", ref=lambda x, t: mpmath.exp(x) - t * x,
                        sample=lambda r: {"x": _u(r, -5, 4), "t": _u(r, 0, 10)},
                        extremes=[{"x": -20.0, "t": 3.0}, {"x": 20.0, "t": 0.5}, {"x": 88.0, "t": 1.0},
                                  {"x": -88.7, "t": 0.0}, {"x": 0.0, "t": 1.0}]),
    "poisson_nll_rate": dict(formula="poisson_nll(x, t, 0)", ref=lambda x, t: x - t * mpmath.log(x + MP("1e-8")),
                             sample=lambda r: {"x": _u(r, 0.01, 10), "t": _u(r, 0, 10)},
                             extremes=[{"x": 1e-30, "t": 2.0}, {"x": 1e4, "t": 3.0}, {"x": 1.0, "t": 0.0}]),
    "gaussian_nll": dict(formula="gaussian_nll(x, t, v)",
                         ref=lambda x, t, v: (mpmath.log(max(v, MP("1e-6"))) + (x - t) ** 2 / max(v, MP("1e-6"))) / 2,
                         sample=lambda r: {"x": _u(r, -5, 5), "t": _u(r, -5, 5), "v": _u(r, 0.01, 5)},
                         extremes=[{"x": 1.0, "t": -1.0, "v": 1e-8}, {"x": 1e4, "t": 0.0, "v": 1e4},
                                   {"x": 0.5, "t": 0.25, "v": 1e-6 * (1 + 1e-3)}, {"x": 0.5, "t": 0.25, "v": 1e-6 * (1 - 1e-3)}],
                         kink=lambda x, t, v: abs(v - MP("1e-6")) < MP("1e-12")),
    "kl_div": dict(formula="kl_div(x, t)", ref=lambda x, t: t * (mpmath.log(t) - x) if t > 0 else MP(0),
                   sample=lambda r: {"x": _u(r, -10, 0), "t": _u(r, 0, 1)},
                   extremes=[{"x": -3.0, "t": 0.0}, {"x": -20.0, "t": 1e-30}, {"x": -1e4, "t": 0.5},
                             {"x": 0.0, "t": 1.0}],
                   kink=lambda x, t: t == 0),
    "kl_div_log_target": dict(formula="kl_div(x, t, 1)", ref=lambda x, t: mpmath.exp(t) * (t - x),
                              sample=lambda r: {"x": _u(r, -8, 0), "t": _u(r, -8, 0)},
                              extremes=[{"x": -3.0, "t": -80.0}, {"x": -1e4, "t": -1.0}, {"x": 0.0, "t": 0.0}]),
}
# the torch call of each case (float64 tensors x, t[, v]), default options otherwise
TORCH = {
    "smooth_l1": lambda torch, x, t: torch.nn.functional.smooth_l1_loss(x, t, reduction="none", beta=0.5),
    "huber": lambda torch, x, t: torch.nn.functional.huber_loss(x, t, reduction="none", delta=2.0),
    "bce_logits": lambda torch, x, t: torch.nn.functional.binary_cross_entropy_with_logits(
        x, t, reduction="none", pos_weight=torch.tensor(3.0, dtype=torch.float64)),
    "focal_no_alpha": lambda torch, x, t: _focal_formula(torch, x, t, -1, 3),
    "poisson_nll_rate": lambda torch, x, t: torch.nn.functional.poisson_nll_loss(x, t, log_input=False, reduction="none"),
    "kl_div_log_target": lambda torch, x, t: torch.nn.functional.kl_div(x, t, reduction="none", log_target=True),
    "bce_logits_default": lambda torch, x, t: REGISTRY["bce_logits"].torch(torch, x, t),
}

assert {f.name for f in REGISTRY.values() if f.family == "loss"} == set(LOSSES)
assert set(LOSSES) <= {c["formula"].split("(")[0] for c in CASES.values()}, "every loss needs a case"

# bfloat16 (Triton only; computed in float32, stored in bfloat16): one bfloat16 ulp, 2⁻⁷ relative
# (Triton's interpreter rounds a float32 → bfloat16 store toward zero; see tests/test_registry.py)
TOLERANCE = {np.float64: 1e-13, np.float32: 2e-6, "bfloat16": 2.0 ** -7}


class _Bfloat16Info:
    """np.finfo's fields for bfloat16 (NumPy has no bfloat16)."""

    max, tiny, eps = 3.3895313892515355e38, 1.1754943508222875e-38, 2.0 ** -7


def _finfo(dtype):
    return _Bfloat16Info if dtype == "bfloat16" else np.finfo(dtype)


def _dtype_name(dtype):
    return dtype if isinstance(dtype, str) else np.dtype(dtype).name


def _rounded(value, dtype):
    """``value`` rounded to ``dtype`` (the reference takes the rounded inputs)."""
    if dtype == "bfloat16":
        torch = _torch()
        return torch.tensor(value, dtype=torch.float64).to(torch.bfloat16).item()
    return float(dtype(value))
LOGIT_EXTREMES = (0.0, 1e-30, -1e-30, 1.0, -1.0, 20.0, -20.0, 88.7, -88.7, 1e4, -1e4)


def _log_cosh(d):
    with mpmath.extradps(150):  # cosh(1e-30) = 1 + 5e-61: log(cosh d) needs the digits
        return +mpmath.log(mpmath.cosh(d))


def _mp_focal(x, t, alpha, gamma):
    p = 1 / (1 + mpmath.exp(-x))
    ce = t * mpmath.log1p(mpmath.exp(-x)) + (1 - t) * mpmath.log1p(mpmath.exp(x))  # −t·log p − (1 − t)·log(1 − p)
    one_minus_pt = t * (1 / (1 + mpmath.exp(x))) + (1 - t) * p
    loss = ce * one_minus_pt ** gamma
    return loss if alpha < 0 else (alpha * t + (1 - alpha) * (1 - t)) * loss


def _focal_formula(torch, z, t, alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss as torchvision writes it (torchvision/ops/focal_loss.py)."""
    p = torch.sigmoid(z)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    return loss if alpha < 0 else (alpha * t + (1 - alpha) * (1 - t)) * loss


def variables(case):
    return [n for n in ("t", "v", "x") if n in case["ref"].__code__.co_varnames[:case["ref"].__code__.co_argcount]]


def points(name, count, seed=1):
    """Random points, the case's extremes, and both sides of its Piecewise boundaries."""
    case = CASES[name]
    rng = random.Random(f"{name}-{seed}")
    sample = case.get("sample", lambda r: {"x": _u(r, -6, 6), "t": _u(r, -6, 6)})
    out = [sample(rng) for _ in range(count)]
    if "extremes" in case:
        out += case["extremes"]
    elif case.get("logits"):
        out += [{"x": z, "t": t} for z in LOGIT_EXTREMES for t in (0.0, 1.0, 0.3)]
    else:  # differences d = x − t at the extremes, and both sides of each |d| = boundary
        out += [{"x": d, "t": 0.0} for d in LOGIT_EXTREMES] + [{"x": 3.0, "t": 3.0 - d} for d in (1e4, 88.7)]
        for b in case.get("bound", ()):
            out += [{"x": 0.25 + s * (b + e), "t": 0.25} for s in (-1, 1) for e in (1e-3, -1e-3, 1e-7, -1e-7)]
    return out


_DERIVED: dict = {}


def derived(name):
    if name not in _DERIVED:
        _DERIVED[name] = symnet.derive(parse_expression(CASES[name]["formula"]))
    return _DERIVED[name]


def exact(name, point):
    """(value, {variable: derivative}) at 50 digits; derivatives by mpmath.diff at 100 digits,
    None on a boundary. Each (name, point) once a process (``_exact_at``): the Triton tests take the NumPy tests'
    first random points and extremes again, and float32's rounding leaves many points as they were."""
    value, grads = _exact_at(name, tuple(point.items()))
    return value, None if grads is None else dict(grads)


@functools.lru_cache(maxsize=None)
def _exact_at(name, items):
    point = dict(items)
    case = CASES[name]
    f = case["ref"]
    with mpmath.workdps(50):
        args = {k: MP(v) for k, v in point.items()}
        value = f(**args)
        if case.get("kink", lambda **_: False)(**args) or any(
                abs(abs(args["x"] - args["t"]) - b) < MP("1e-12") for b in case.get("bound", ())):
            return value, None
        grads = {}
        with mpmath.workdps(100):
            for k in args:
                grads[k] = mpmath.diff(lambda u, k=k: f(**{**args, k: u}), args[k])
    return value, grads


class Worst:
    """The worst error seen, in units of ε·(|exact| + scale), ε the dtype's machine epsilon (the
    measure the tolerance bounds; for the measurements in the report)."""

    table: dict = {}

    @classmethod
    def add(cls, key, err, want, dtype, scale):
        info = _finfo(dtype)
        units = float(err / (info.eps * max(abs(want) + scale, info.tiny)))
        cls.table[key] = max(cls.table.get(key, 0.0), units)


def assert_close(got, want, where, dtype, what, scale=0):
    """|got − exact| ≤ rtol·(|exact| + scale) + tiny; scale admits an unavoidable cancellation."""
    info = _finfo(dtype)
    got = float(got)
    if mpmath.isnan(want):
        assert math.isnan(got), f"{what} at {where}: expected NaN, got {got!r}"
        return
    if abs(want) > info.max:
        assert math.isinf(got) and (got > 0) == (want > 0), f"{what} at {where}: expected ±inf, got {got!r}"
        return
    assert math.isfinite(got), f"{what} at {where} ({_dtype_name(dtype)}): got {got!r}, exact {mpmath.nstr(want, 17)}"
    with mpmath.workdps(50):
        err = abs(MP(got) - want)
        bound = TOLERANCE[dtype] * (abs(want) + scale) + info.tiny
    Worst.add((what, _dtype_name(dtype)), err, want, dtype, scale)
    assert err <= bound, (f"{what} at {where} ({_dtype_name(dtype)}): got {got!r}, exact {mpmath.nstr(want, 17)}, "
                          f"error {mpmath.nstr(err, 3)} > {mpmath.nstr(bound, 3)}")


def check_backend(name, fn, pts, dtype, to_array, from_array):
    d = derived(name)
    names = [str(s) for s in d.inputs]
    pts = [{k: _rounded(v, dtype) for k, v in p.items()} for p in pts]  # the reference takes the rounded inputs
    as_numpy = np.float64 if isinstance(dtype, str) else dtype
    outs = fn(*[to_array(np.array([p[n] for p in pts], dtype=as_numpy)) for n in names])
    value, grads = from_array(outs[0]), dict(zip(names, map(from_array, outs[1:])))
    for k, p in enumerate(pts):
        v, g = exact(name, p)
        # cancellation a float formula cannot avoid: the inputs' own rounding, |x − t| and the terms' sizes
        scale = _scale(name, p)
        assert_close(value[k], v, p, dtype, f"{name} value", scale)
        if g is None:
            continue
        for n in names:
            assert_close(grads[n][k], g[n], p, dtype, f"{name} ∂/∂{n}", _grad_scale(name, p, n))


def _scale(name, p):
    """The size of the terms whose difference the value is (0 where the value is computed without
    cancellation), for the tolerance."""
    x, t = p["x"], p["t"]
    if name.startswith("poisson_nll"):
        return abs(t * x) if name == "poisson_nll" else abs(t) * (abs(math.log(x + 1e-8)) + 0.01)  # log(x + eps) near x = 1
    if name.startswith("kl_div"):
        return abs(t * x) + abs(t * math.log(t)) if name == "kl_div" and t > 0 else (
            math.exp(t) * (abs(t) + abs(x)) if name == "kl_div_log_target" else 0.0)
    if name == "gaussian_nll":
        return abs(math.log(max(p["v"], 1e-6)))
    if name == "bce":
        return 100.0 * ((1 - t) if x < 1e-20 else 0.0)
    return 0.0


def _grad_scale(name, p, n):
    """The size of the terms of a gradient (the same idea as _scale)."""
    x, t = p["x"], p["t"]
    if name.startswith(("bce_logits", "focal")):
        return 4.0 * (1 + abs(t)) + (abs(x) if n == "t" else 0.0)  # σ(±z) terms, and softplus(±z) in ∂/∂t
    if name == "poisson_nll":
        return math.exp(x) + abs(t) if n == "x" else 0.0
    if name == "poisson_nll_rate":
        return 1.0 + abs(t / (x + 1e-8)) if n == "x" else abs(math.log(x + 1e-8)) + 0.01  # log(x + eps) near 1
    if name == "kl_div":
        return abs(math.log(t)) + abs(x) + 1.0 if (n == "t" and t > 0) else 0.0
    if name == "kl_div_log_target":
        return math.exp(t) * (1 + abs(t) + abs(x)) if n == "t" else 0.0
    if name == "gaussian_nll" and n == "v":
        v = max(p["v"], 1e-6)
        return 1 / v + (p["x"] - p["t"]) ** 2 / v ** 2
    if name == "bce":
        return 1 / x + 1 / (1 - x) if n == "x" else abs(math.log(x)) + abs(math.log1p(-x))
    if name == "log_cosh" and n == "x":
        return 0.0
    return 0.0


# ------------------------------------------------------------------ NumPy

@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_against_mpmath(name, dtype):
    kernel = symnet.compile(derived(name), "numpy")
    with np.errstate(all="ignore"):
        check_backend(name, kernel, points(name, 12), dtype, lambda a: a, np.asarray)


# ------------------------------------------------------------------ Triton (interpreted on a CPU: a few points)

_torch = triton_torch


TRITON_POINTS = {  # the extremes that matter most for each, and two random points
    "bce_logits": [{"x": 1e4, "t": 0.0}, {"x": -1e4, "t": 1.0}, {"x": -1e4, "t": 0.3}, {"x": 88.7, "t": 1.0}],
    "focal": [{"x": 1e4, "t": 0.0}, {"x": -1e4, "t": 1.0}, {"x": -20.0, "t": 0.3}],
    "log_cosh": [{"x": 1e4, "t": 0.0}, {"x": -1e4, "t": 0.0}, {"x": 1e-30, "t": 0.0}, {"x": 1.25, "t": 0.25 + 1e-3}],
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32, "bfloat16"], ids=["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_triton_against_mpmath(name, dtype):
    torch = _torch()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    kernel = symnet.compile(derived(name), "triton")
    pts = points(name, 3) + TRITON_POINTS.get(name, [])
    as_dtype = torch.bfloat16 if dtype == "bfloat16" else None
    check_backend(name, kernel, pts, dtype, lambda a: torch.as_tensor(a, device=device).to(as_dtype or torch.as_tensor(a).dtype),
                  lambda t: t.cpu().double().numpy())


# ------------------------------------------------------------------ against torch's own functions

def _torch_reference(name):
    if name in TORCH:
        return TORCH[name]
    base = CASES[name]["formula"].split("(")[0]
    if base == "focal":
        return lambda torch, x, t: _focal_formula(torch, x, t, 0.25, 2)
    return REGISTRY[base].torch


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_against_torch(name):
    """Float64: the generated value and gradients against torch's function and autograd."""
    torch = _torch()
    ref = _torch_reference(name)
    pts = [p for p in points(name, 20) if max(map(abs, p.values())) < 30 and exact(name, p)[1] is not None]
    if name == "gaussian_nll":  # torch clamps var without a gradient; symnet's max(var, eps) has 0 below eps
        pts = [p for p in pts if p["v"] > 1e-6]
    if name == "bce":  # torch's gradient divides by max(p(1 − p), 1e-12); equal where no log is clamped
        pts = [p for p in pts if 1e-12 < p["x"] < 1 - 1e-12]
    d = derived(name)
    names = [str(s) for s in d.inputs]
    arrays = {n: np.array([p[n] for p in pts]) for n in names}
    outs = symnet.compile(d, "numpy")(*[arrays[n] for n in names])
    T = {n: torch.tensor(arrays[n], requires_grad=True) for n in names}
    want = ref(torch, *[T[n] for n in ("x", "t", "v") if n in T])
    np.testing.assert_allclose(outs[0], want.detach().numpy(), rtol=1e-10, atol=1e-12)
    for n, got in zip(names, outs[1:]):
        (g,) = torch.autograd.grad(want.sum(), T[n], retain_graph=True)
        np.testing.assert_allclose(got, g.numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{name} ∂/∂{n}")


# ------------------------------------------------------------------ derive, print, stable forms, options

@pytest.mark.parametrize("formula, rules", [
    ("huber(x, t, 1)", ("piecewise rule", "absolute-value rule")),
    ("bce_logits(x, t, 2)", ("softplus rule",)),
    ("log_cosh(x, t)", ("piecewise rule", "sinh rule", "log1p rule")),
    ("focal(x, t)", ("sigmoid rule", "softplus rule")),
    ("poisson_nll(x, t)", ("exponential rule",)),
])
def test_derivation_prints_each_rule(formula, rules):
    out = render_text(symnet.derive(formula))
    for rule in rules:
        assert rule in out, (formula, rule)


def test_cli_derives_a_loss():
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "huber(x, t, 1)"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "piecewise rule" in run.stdout and "∂" in run.stdout


@pytest.mark.parametrize("formula, message", [
    ("huber(x, t, -1)", "delta of huber"), ("smooth_l1(x, t, 0)", "beta of smooth_l1"),
    ("poisson_nll(x, t, 2)", "log_input of poisson_nll"), ("kl_div(x, t, y)", "log_target of kl_div"),
    ("mse(x)", "mse() takes 2 arguments"),
])
def test_bad_options_are_one_line_errors(formula, message):
    with pytest.raises(ParseError, match=re.escape(message)):
        parse_expression(formula)
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", formula], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode != 0 and "Traceback" not in run.stderr and message.split("(")[0] in run.stderr


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_stable_forms_do_not_overflow_in_float32(backend):
    """bce_logits at z = ±1e4 and log-cosh at ±1e4: finite, exact to float32 (torch's own
    formulas and log(cosh d) give inf or lose everything there)."""
    if backend == "triton":
        torch = _torch()
        to, back = (lambda a: torch.as_tensor(a)), (lambda t: t.numpy())
    else:
        to, back = (lambda a: a), np.asarray
    z = np.array([1e4, -1e4, 1e4, -1e4], dtype=np.float32)
    t = np.array([0.0, 1.0, 1.0, 0.0], dtype=np.float32)
    value, dt, dz = (back(a) for a in symnet.compile(derived("bce_logits_default"), backend)(to(t), to(z)))
    np.testing.assert_array_equal(value, [1e4, 1e4, 0.0, 0.0])
    np.testing.assert_array_equal(dz, [1.0, -1.0, 0.0, 0.0])
    value, dt, dx = (back(a) for a in symnet.compile(derived("log_cosh"), backend)(to(np.zeros(2, np.float32)),
                                                                                  to(np.array([1e4, -1e4], np.float32))))
    np.testing.assert_allclose(value, [1e4 - math.log(2)] * 2, rtol=1e-7)
    np.testing.assert_array_equal(dx, [1.0, -1.0])
    assert np.isinf(np.log(np.cosh(np.float32(1e4))))  # the naive form overflows
