"""The function registry, tested the way PyTorch's OpInfo tests its operators.

For every function of the registry × backend (NumPy; Triton under TRITON_INTERPRET=1 on
fewer points, it is slow) × dtype (float64, float32): the generated value and gradient
against the registry's own mpmath reference at 50 digits (written independently of the
SymPy form; the gradient by mpmath's numerical differentiation of it) at random points and
at extremes (0, ±1e−30, ±1, ±20, ±88.7, ±1e4, both sides of every Piecewise boundary), with
one tolerance table per dtype; and against torch's own function where torch has one. A toy
function added through the registry alone works in derive, print, NumPy and Triton.
"""
from __future__ import annotations

import functools
import math
import random

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import NotDifferentiableError
from symnet.parsing import parse_expression
from symnet.registry import REGISTRY, Function, Rule, register
from symnet.render import render_text
from conftest import triton_torch

# name → the formula tested (one variable x), for every entry of the registry. A function of
# several arguments is tested on a one-variable formula; its reference is built alongside.
ROWS = {name: f"{name}(x)" for name in REGISTRY if REGISTRY[name].family != "loss"}  # losses: test_registry_losses.py
ROWS.update({
    "max": "max(x, 1 - x)", "min": "min(x, 1 - x)", "clamp": "clamp(x, -1, 2)",
    "where": "where(x > 0, sqrt(x), x)",
})
# the mpmath references of the rows that are not a plain f(x)
REFERENCES = {
    "max": lambda x: max(x, 1 - x), "min": lambda x: min(x, 1 - x),
    "clamp": lambda x: min(max(x, -1), 2),
    "where": lambda x: mpmath.sqrt(x) if x > 0 else x,
}
# powers (no entries of their own: SymPy's Pow, lowered by each printer): name → (formula, reference, domain)
POWERS = {
    "power_integer": ("x**3 - 2*x**(-2)", lambda x: x ** 3 - 2 / x ** 2, (-math.inf, math.inf)),
    "power_rational": ("x**(1/3) + x**(-3/2)", lambda x: mpmath.cbrt(x) + x ** mpmath.mpf(-1.5), (0, math.inf)),
    "power_real": ("x**2.5", lambda x: x ** mpmath.mpf(2.5), (0, math.inf)),
    "power_variable": ("x**x + 3**x", lambda x: x ** x + mpmath.power(3, x), (0, 30.0)),
}
for _name, (_formula, _ref, _) in POWERS.items():
    ROWS[_name] = _formula
    REFERENCES[_name] = _ref
EXTRA_BOUNDARIES = {"max": (0.5,), "min": (0.5,), "clamp": (-1.0, 2.0), "where": (0.0,), "abs": (0.0,)}
# one tolerance table per dtype: |got − exact| ≤ rtol·(|exact| + |x|) + the smallest normal number.
# The |x| term admits the cancellation a formula cannot avoid (x − tanh x near 0, x/2·(1 + erf(x/√2))
# for x ≪ 0, as torch computes them too); a value of 0 where a tiny one is due still fails.
# bfloat16 (Triton only; computed in float32, stored in bfloat16): one bfloat16 ulp, 2⁻⁷ relative at the
# bottom of a binade. (Triton's interpreter rounds a float32 → bfloat16 store toward zero, up to one ulp
# off: 2.718… is stored as 2.703125 where torch rounds to 2.71875; a GPU rounds to nearest, half an ulp.)
TOLERANCE = {np.float64: 1e-13, np.float32: 1e-5, "bfloat16": 2.0 ** -7}
# (largest finite, smallest normal) of each dtype
LIMITS = {np.float64: (np.finfo(np.float64).max, np.finfo(np.float64).tiny),
          np.float32: (np.finfo(np.float32).max, np.finfo(np.float32).tiny),
          "bfloat16": (3.3895313892515355e38, 1.1754943508222875e-38)}
# (name, dtype) → a wider rtol, for a lowering known to lose more (none needed at present)
WIDER: dict = {}
EXTREMES = (0.0, 1e-30, -1e-30, 1.0, -1.0, 20.0, -20.0, 88.7, -88.7, 1e4, -1e4)

assert {n for n in REGISTRY if REGISTRY[n].family != "loss"} <= set(ROWS), "every registry entry needs its row in ROWS"


def reference(name):
    return REFERENCES.get(name) or REGISTRY[name].mpmath


def boundaries(name):
    return tuple(REGISTRY[name].boundaries if name in REGISTRY else ()) + EXTRA_BOUNDARIES.get(name, ())


def domain(name):
    return REGISTRY[name].domain if name in REGISTRY else POWERS[name][2]


def points(name, count, seed=1):
    """Random points and the extremes in the function's domain, and both sides of its boundaries."""
    lo, hi = domain(name)
    rng = random.Random(f"{name}-{seed}")
    out = [rng.uniform(max(lo, -6.0), min(hi, 6.0)) for _ in range(count)]
    out += [x for x in EXTREMES if lo < x < hi]
    for b in boundaries(name):
        out += [b - 1e-3, b + 1e-3, b - 1e-7, b + 1e-7]
    return [x for x in out if lo < x < hi and x not in SINGULAR.get(name, ())]


SINGULAR = {"power_integer": (0.0,)}  # poles: not a point of the domain


_DERIVED: dict = {}


def derived(name):
    if name not in _DERIVED:
        _DERIVED[name] = symnet.derive(parse_expression(ROWS[name]))
    return _DERIVED[name]


@functools.lru_cache(maxsize=None)
def exact(name, x):
    """(value, derivative) at 50 digits; the derivative by mpmath.diff of the reference. Each (name, x) once a
    process: the Triton tests take the NumPy tests' first random points and extremes again, and float32's rounding
    leaves many points as they were (mpf results, immutable)."""
    f = reference(name)
    with mpmath.workdps(50):
        xm = mpmath.mpf(x)
        value = f(xm)
        if any(abs(xm - b) < mpmath.mpf("1e-12") for b in boundaries(name)):
            slope = None  # on a boundary (not tested there)
        else:
            with mpmath.workdps(100):  # the difference quotient loses digits: work at 100
                slope = mpmath.diff(f, xm)
    return value, slope


def rounded(xs, dtype):
    """The inputs rounded to ``dtype``: the exact value of each rounded input is the reference's input."""
    if dtype == "bfloat16":
        torch = _torch()
        return torch.tensor(xs, dtype=torch.float64).to(torch.bfloat16).double().tolist()
    return [float(dtype(x)) for x in xs]


def assert_close(got, want, x, dtype, what, rtol, slack=0):
    largest, tiny = LIMITS[dtype]
    got = float(got)
    if want is None:
        return
    if mpmath.isnan(want):
        assert math.isnan(got), f"{what} at x = {x!r}: expected NaN, got {got!r}"
        return
    if abs(want) > largest:  # overflows this dtype: ±inf expected
        assert math.isinf(got) and (got > 0) == (want > 0), f"{what} at x = {x!r}: expected ±inf, got {got!r}"
        return
    with mpmath.workdps(50):
        err = abs(mpmath.mpf(got) - want)
        bound = rtol * (abs(want) + abs(x)) + tiny + slack
    assert err <= bound, (f"{what} at x = {x!r} ({dtype if isinstance(dtype, str) else np.dtype(dtype).name}): got {got!r}, exact {mpmath.nstr(want, 17)}, "
                          f"error {mpmath.nstr(err, 3)} > {mpmath.nstr(bound, 3)}")


def check_backend(name, fn, xs, dtype, to_array, from_array):
    rtol = WIDER.get((name, dtype), TOLERANCE[dtype])
    xs = rounded(xs, dtype)
    value, grad = fn(to_array(np.array(xs, dtype=np.float64 if isinstance(dtype, str) else dtype)))
    value, grad = from_array(value), from_array(grad)
    for k, x in enumerate(xs):
        v, g = exact(name, x)
        assert_close(value[k], v, x, dtype, f"{name} value", rtol)
        if g is not None and not (abs(v) > LIMITS[dtype][0]):
            assert_close(grad[k], g, x, dtype, f"{name} gradient", rtol, slack=1e-60)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ROWS))
def test_numpy_against_mpmath(name, dtype):
    kernel = symnet.compile(derived(name), "numpy")
    with np.errstate(all="ignore"):
        check_backend(name, kernel, points(name, 12), dtype, lambda a: a, np.asarray)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_derivation_prints_each_rule(name):
    d = derived(name)
    out = render_text(d)
    entry = REGISTRY.get(name)
    if entry is None:
        assert "power rule" in out
    elif entry.rule is not None:
        assert entry.rule.name in out
    if any(isinstance(n, sp.Piecewise) for n in sp.preorder_traversal(d.jacobian)):
        assert "piecewise rule" in out


# ------------------------------------------------------------------ Triton (interpreted on a CPU)

_torch = triton_torch


@pytest.mark.parametrize("dtype", [np.float64, np.float32, "bfloat16"], ids=["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("name", sorted(ROWS))
def test_triton_against_mpmath(name, dtype):
    torch = _torch()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    kernel = symnet.compile(derived(name), "triton")
    as_dtype = torch.bfloat16 if dtype == "bfloat16" else None
    check_backend(name, kernel, points(name, 3), dtype,
                  lambda a: torch.as_tensor(a, device=device).to(as_dtype or torch.as_tensor(a).dtype),
                  lambda t: t.cpu().double().numpy())


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if REGISTRY[n].torch is not None and ROWS.get(n) == f"{n}(x)"))
def test_numpy_against_torch(name):
    """The generated function against torch's own, float64, value and autograd gradient."""
    torch = _torch()
    xs = np.array([x for x in points(name, 20) if abs(x) < 30], dtype=np.float64)
    xs = xs[[all(abs(x - b) > 1e-9 for b in boundaries(name)) for x in xs]]
    value, grad = symnet.compile(derived(name), "numpy")(xs)
    t = torch.tensor(xs, requires_grad=True)
    want = REGISTRY[name].torch(torch, t)
    np.testing.assert_allclose(value, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    if name in TORCH_HAS_NO_GRADIENT:
        return
    (want_grad,) = torch.autograd.grad(want.sum(), t)
    np.testing.assert_allclose(grad, want_grad.numpy(), rtol=TORCH_GRAD_RTOL.get(name, 1e-9), atol=1e-12)


TORCH_HAS_NO_GRADIENT = {"Heaviside"}  # aten::heaviside has no derivative
# torch's float64 hardsigmoid backward multiplies by 1/6 rounded to float32 (0.1666666716…);
# mpmath agrees with the generated 1/6 (test_numpy_against_mpmath)
TORCH_GRAD_RTOL = {"hardsigmoid": 1e-7}


# ------------------------------------------------------------------ Piecewise and kinks

def test_piecewise_derivations():
    x = sp.Symbol("x")  # plain, not real: derive takes it as real
    elu = parse_expression("elu(x)")
    assert symnet.derive(elu, at={"x": 0}).gradients  # one-sided derivatives 1 and e⁰ agree
    with pytest.raises(NotDifferentiableError, match="kink"):
        symnet.derive(parse_expression("relu(x)"), at={"x": 0})
    d = symnet.derive(parse_expression("where(x > 0, sqrt(x), x)"))
    assert "piecewise rule" in render_text(d)
    huber = sp.Piecewise((x ** 2 / 2, sp.Abs(x) <= 1), (sp.Abs(x) - sp.Rational(1, 2), True))
    d = symnet.derive(huber, at={x: 1})  # Huber is differentiable at |x| = 1
    (g,) = d.gradients.values()
    assert sp.simplify(g.subs(list(d.inputs)[0], sp.Rational(3, 2)) - 1) == 0


def test_kink_judged_per_variable():
    f = parse_expression("relu(w*x)*v + c")
    w, v, c, x = sp.symbols("w v c x", real=True)
    at = {w: 0, x: 2, v: 3, c: 1}
    d = symnet.derive(f, wrt=[v, c], at=at)
    assert d.gradients == {v: symnet.relu(w * x), c: 1}
    from symnet.engine import evaluate_gradients
    assert evaluate_gradients(d, at) == {v: 0, c: 1}
    with pytest.raises(NotDifferentiableError, match="with respect to w"):
        symnet.derive(f, at=at)


def test_abs_of_a_plain_symbol_derives():
    x = sp.Symbol("x")
    d = symnet.derive(x * sp.Abs(x), wrt=[x])
    (g,) = d.gradients.values()
    assert float(g.subs(list(d.inputs)[0], -2)) == 4.0


# ------------------------------------------------------------------ a toy function, through the registry alone

class cube(sp.Function):  # noqa: N801
    """cube(x) = x³, a node of its own (a toy)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 3 * self.args[0] ** 2

    def _eval_evalf(self, prec):
        return (self.args[0] ** 3)._eval_evalf(prec)


def _register_cube():
    if "cube" not in REGISTRY:
        register(Function("cube", cube, cls=cube, rule=Rule("cube rule", "cube′(u) = 3u²", lambda u: 3 * u ** 2),
                          numpy="np.power({0}, 3, out={out})", triton="_cube({0})",
                          mpmath=lambda x: x ** 3, torch=lambda t, x: x ** 3, family="activation"),
                 triton_helpers={"_cube": "@triton.jit\ndef _cube(x):\n    return x * x * x\n"})


def test_toy_function_through_the_registry_alone(tmp_path, monkeypatch):
    """cube is one registry entry (and no other code): derived, printed, generated for NumPy and
    Triton, a dense layer's activation and the fused step's."""
    _register_cube()
    f = parse_expression("cube(sin(x))")
    d = symnet.derive(f)
    out = render_text(d)
    assert "cube rule" in out and "sine rule" in out
    xs = np.array([-1.5, 0.25, 2.0])
    value, grad = symnet.compile(d, "numpy")(xs)
    np.testing.assert_allclose(value, np.sin(xs) ** 3, rtol=1e-14)
    np.testing.assert_allclose(grad, 3 * np.sin(xs) ** 2 * np.cos(xs), rtol=1e-14)
    torch = _torch()
    k = symnet.compile(d, "triton")
    assert "def _cube" in k.source
    tv, tg = k(torch.tensor(xs))
    np.testing.assert_allclose(tv.numpy(), np.sin(xs) ** 3, rtol=1e-14)
    np.testing.assert_allclose(tg.numpy(), 3 * np.sin(xs) ** 2 * np.cos(xs), rtol=1e-14)
    test_numpy_dense_layer_follows_torch("cube")
    check_fused_step("cube", tmp_path, monkeypatch, lr=0.01, scale=0.2)  # x³ grows fast: small steps


# ------------------------------------------------------------------ activations in dense layers and the fused step

def _torch_sgd(acts, x, t, p, order, lr, batch):
    """SGD in float64 torch (autograd), softmax cross-entropy on the last layer."""
    torch = _torch()
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    X = torch.tensor(x, dtype=torch.float64)
    losses = []
    for lo in range(0, len(order), batch):
        idx = torch.from_numpy(order[lo:lo + batch])
        a = X[idx]
        for n, act in enumerate(acts, 1):
            z = a @ P[f"W{n}"].T + P[f"b{n}"]
            a = z if act == "linear" else REGISTRY[act].torch(torch, z)
        J = torch.nn.functional.cross_entropy(a, torch.from_numpy(t)[idx])
        grads = torch.autograd.grad(J, list(P.values()))
        with torch.no_grad():
            for w, g in zip(P.values(), grads):
                w -= lr * g
        losses.append(float(J.detach()))
    return np.array(losses), {k: v.detach().numpy() for k, v in P.items()}


@pytest.mark.parametrize("act", ["silu", "gelu", "elu", "leaky_relu", "mish", "hardswish"])
def test_fused_step_follows_torch_for_20_steps(act, tmp_path, monkeypatch):
    """The fused step rebuilt each activation as expr.func(z): for SiLU, z·σ(z), that was z."""
    check_fused_step(act, tmp_path, monkeypatch)


def check_fused_step(act, tmp_path, monkeypatch, lr=0.3, scale=0.7):
    torch = _torch()
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    step = symnet.compile_step((act, "linear"), "ce")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    t = rng.integers(0, 3, 40)
    p = {"W1": rng.normal(0, scale, (8, 5)).astype(np.float32), "b1": rng.normal(0, scale, 8).astype(np.float32),
         "W2": rng.normal(0, scale, (3, 8)).astype(np.float32), "b2": rng.normal(0, scale, 3).astype(np.float32)}
    order = np.concatenate([rng.permutation(40) for _ in range(10)])  # 20 steps of 20
    P = {k: torch.from_numpy(v.copy()) for k, v in p.items()}
    got = step(torch.from_numpy(x), torch.from_numpy(t), P["W1"], P["b1"], P["W2"], P["b2"],
               torch.from_numpy(order), lr, 20).numpy()
    want, w = _torch_sgd((act, "linear"), x, t, p, order, lr, 20)
    assert len(got) == 20
    np.testing.assert_allclose(got, want, rtol=2e-5)
    for k in p:
        np.testing.assert_allclose(P[k].numpy(), w[k], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", [n for n in REGISTRY if REGISTRY[n].family == "activation"])
def test_numpy_dense_layer_follows_torch(act):
    """The NumPy dense-layer emitter prints every registry activation (it printed only σ and exp)."""
    from symnet.codegen.families.dense import dense_layer_kernels
    from symnet.codegen.backends.numpy.elementwise import emit_module
    torch = _torch()
    forward, backward = dense_layer_kernels(act)
    namespace: dict = {}
    exec(emit_module([forward, backward], "a test", "-"), namespace)  # noqa: S102 - generated
    rng = np.random.default_rng(7)
    a, W, b, g = rng.normal(size=(6, 4)), rng.normal(size=(5, 4)), rng.normal(size=5), rng.normal(size=(6, 5))
    y = namespace[forward.name](a, W, b)
    z = a @ W.T + b
    given = {"a": a, "W": W, "y": y, "z": z, "g": g}
    dW, db, da = namespace[backward.name](*[given[arg.name] for arg in backward.args])
    A, Wt, B = (torch.tensor(v, requires_grad=True) for v in (a, W, b))
    Y = REGISTRY[act].torch(torch, A @ Wt.T + B)
    gA, gW, gB = torch.autograd.grad(Y, (A, Wt, B), torch.tensor(g))
    np.testing.assert_allclose(y, Y.detach().numpy(), rtol=1e-12, atol=1e-14)
    for got, want in ((dW, gW), (db, gB), (da, gA)):
        np.testing.assert_allclose(got, want.numpy(), rtol=TORCH_GRAD_RTOL.get(act, 1e-10), atol=1e-12)


@pytest.mark.parametrize("act", ["silu", "elu", "relu", "gelu_tanh", "softsign"])
def test_triton_dense_layer_follows_torch(act, tmp_path, monkeypatch):
    """The Triton dense layer of a registry activation: forward against torch, the generated
    backward (through its torch custom op) against finite differences in float64."""
    torch = _torch()
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    from symnet.codegen.compiler import _load_module
    from symnet.codegen.families.dense import dense_layer_kernels
    from symnet.codegen.backends.triton.dense import emit_triton_layer_module
    forward, backward = dense_layer_kernels(act)
    module = _load_module(f"dense_{act}_registry_test", emit_triton_layer_module([forward, backward], "a test", "-"))
    layer = getattr(module, f"dense_{act}_layer")
    g = torch.Generator().manual_seed(3)
    a, W, b = (torch.randn(*s, generator=g, dtype=torch.float64).requires_grad_(True) for s in ((6, 5), (4, 5), (4,)))
    want = REGISTRY[act].torch(torch, a @ W.T + b)
    torch.testing.assert_close(layer(a, W, b), want, rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(layer, (a, W, b))


@pytest.mark.parametrize("formula, reference", [
    ("softplus(x, 2, 5)", lambda t, x: t.nn.functional.softplus(x, beta=2, threshold=5)),
    ("leaky_relu(x, 0.2)", lambda t, x: t.nn.functional.leaky_relu(x, 0.2)),
    ("elu(x, 0.5)", lambda t, x: t.nn.functional.elu(x, 0.5)),
    ("celu(x, 2)", lambda t, x: t.nn.functional.celu(x, 2.0)),
    ("hardtanh(x, -2, 3)", lambda t, x: t.nn.functional.hardtanh(x, -2.0, 3.0)),
    ("softshrink(x, 1)", lambda t, x: t.nn.functional.softshrink(x, 1.0)),
    ("hardshrink(x, 1)", lambda t, x: t.nn.functional.hardshrink(x, 1.0)),
])
def test_activation_options_follow_torch(formula, reference):
    """The optional arguments (slopes, thresholds, α, bounds) as torch takes them."""
    torch = _torch()
    xs = np.array([-7.3, -2.6, -1.2, -0.4, 0.3, 0.9, 1.7, 2.8, 4.1, 9.5])
    value, grad = symnet.compile(symnet.derive(parse_expression(formula)), "numpy")(xs)
    t = torch.tensor(xs, requires_grad=True)
    want = reference(torch, t)
    (want_grad,) = torch.autograd.grad(want.sum(), t)
    np.testing.assert_allclose(value, want.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grad, want_grad.numpy(), rtol=1e-12, atol=1e-14)
