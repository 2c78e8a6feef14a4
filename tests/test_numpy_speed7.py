"""The NumPy kernels' faster printing (issue 7, speed) gives the same bits as before.

The printer selects without a branch per element where it knows the values (the sigmoid-pair
selects as max/min, a product of two swapped selects as the product of their values, σ given
the kernel's own e^−|x|), and the elementwise emitter computes softplus(x) and softplus(−x)
from one log(1 + e^−|x|).
Every kernel is printed twice, with ``NumpyExpressionPrinter.ARITHMETIC_SELECTS`` on and off
(off: np.where, the printing of before), and both are run on random and extreme inputs in
float32 and float64: every output must be the same bits (NaN where NaN). The helpers' texts are
checked against the formulas they replace.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import sigmoid
from symnet.special import softplus
from symnet.codegen.backends.numpy import elementwise
from symnet.codegen.backends.numpy.printer import PRINTER_HELPERS, NumpyExpressionPrinter
from symnet.codegen.blocks import BLOCKS
from symnet.codegen.ir import describe
from symnet.kernels import load_kernel
from symnet.losses import LOSSES
from symnet.parsing import parse_expression
from symnet.registry import activation_names

N = 40_000  # more than two blocks of 16384

_SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-45, -1e-45, 1.2e-38, -1.2e-38, 1e-8, -1e-8,
            0.5, -0.5, 1.0986122886681098, -1.0986122886681098, 1.0986123, -1.0986123, 16.6, 17, -17, 20, -20,
            36.7, -37, 88.7, -88.7, 89, -89, 103.9, -104, 709.8, -745, 746, 3.4e38, -3.4e38, 1e300, -1e300]


def _logits(rng, dtype):
    """Random signs at random (the case np.where mispredicts), wide magnitudes, every special value."""
    parts = [rng.normal(0, 3, N // 4), rng.normal(0, 40, N // 4),
             np.exp(rng.uniform(-110, 110, N // 4)) * rng.choice([-1.0, 1.0], N // 4)]
    body = np.concatenate(parts)
    body = np.concatenate([body, np.resize(_SPECIAL, N - len(body))])
    with np.errstate(over="ignore"):
        return rng.permutation(body).astype(dtype)


def _targets(rng, dtype):
    parts = [rng.uniform(0, 1, N // 4), rng.choice([0.0, 1.0], N // 4), rng.normal(0, 5, N // 4)]
    body = np.concatenate(parts)
    body = np.concatenate([body, np.resize(_SPECIAL + [0.0, 1.0, 0.5], N - len(body))])
    with np.errstate(over="ignore"):
        return rng.permutation(body).astype(dtype)


def same_bits(a, b) -> bool:
    """The same dtype, shape and bits; NaN matches NaN (its sign and payload are not results)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan = np.isnan(a)
    if not np.array_equal(nan, np.isnan(b)):
        return False
    bits = np.dtype(f"u{a.dtype.itemsize}")
    return np.array_equal(a[~nan].view(bits), b[~nan].view(bits))


def test_same_bits_sees_one_ulp_and_the_sign_of_zero():
    x = np.array([1.0, 0.0, np.nan], np.float32)
    assert same_bits(x, x.copy())
    assert not same_bits(x, np.nextafter(x, np.float32(2)))
    assert not same_bits(x, np.array([1.0, -0.0, np.nan], np.float32))
    assert not same_bits(x, x.astype(np.float64))


def _module(kernel, arithmetic: bool, monkeypatch) -> dict:
    monkeypatch.setattr(NumpyExpressionPrinter, "ARITHMETIC_SELECTS", arithmetic)
    source = elementwise.emit_module([kernel], "a test", "tests/test_numpy_speed7.py")
    namespace: dict = {"__source__": source}
    exec(compile(source, f"<{kernel.name} {arithmetic}>", "exec"), namespace)  # noqa: S102 - generated here
    return namespace


def _run(fn, kernel, dtype, seed=0):
    rng = np.random.default_rng(seed)
    args = [_targets(rng, dtype) if i.role == "target" or i.name in ("y", "t") else _logits(rng, dtype)
            for i in kernel.inputs]
    with np.errstate(all="ignore"):
        out = fn(*args)
    return out if isinstance(out, tuple) else (out,)


z, y = sp.symbols("z y", real=True)
FORMULAS = {
    "sigmoid_mse_grad": (lambda: describe(symnet.derive((y - sigmoid(z)) ** 2, [z]), value=False)),
    "sigmoid_mse_both": (lambda: describe(symnet.derive((y - sigmoid(z)) ** 2, [z]))),
    "bce_both": (lambda: describe(symnet.derive(-y * sp.log(sigmoid(z)) - (1 - y) * sp.log(1 - sigmoid(z)), [z]))),
    "silu": (lambda: describe(symnet.derive(z * sigmoid(z), [z]))),
    "sigmoid_product": (lambda: describe(symnet.derive(sigmoid(z) * sigmoid(-z) * y, [z, y]))),
    "softplus_pair": (lambda: describe(symnet.derive(y * softplus(z) + softplus(-z), [z]))),
    "log_sigmoid": (lambda: describe(symnet.derive(sp.log(sigmoid(z)), [z]))),
}
FORMULAS |= {f"block {b.module}": b.kernel for b in BLOCKS}
# every activation and elementwise loss of the registries, whose stability rules print selects
FORMULAS |= {f"activation {a}": (lambda a=a: describe(symnet.derive(parse_expression(f"{a}(z)"), [z])))
             for a in activation_names()}
FORMULAS |= {f"loss {f}": (lambda f=f: describe(symnet.derive(parse_expression(f"{f}(z, y)"), [z])))
             for f in LOSSES if f != "gaussian_nll"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(FORMULAS))
def test_arithmetic_selects_give_the_bits_of_np_where(name, dtype, monkeypatch):
    kernel = FORMULAS[name]()
    new, old = _module(kernel, True, monkeypatch), _module(kernel, False, monkeypatch)
    got, want = _run(new[kernel.name], kernel, dtype), _run(old[kernel.name], kernel, dtype)
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        assert same_bits(g, w), f"{name}, output {k} ({dtype.__name__}): {np.flatnonzero(~((g == w) | np.isnan(g)))[:5]}"


def test_the_faster_forms_are_printed(monkeypatch):
    """What the identity above is about: the arithmetic forms are printed where they apply."""
    for name in ("sigmoid_mse_grad", "sigmoid_mse_both", "block sigmoid"):
        source = _module(FORMULAS[name](), True, monkeypatch)["__source__"]
        loop = source[source.index("for _i in range"):]
        assert "np.where(" not in loop, name
        # σ(z) in the float32 kernel's inline widened body shared e^−|z| (e=exp_neg_abs_z) before session 18; now a
        # float32 kernel calls the widened sum's function (its within, WidenedFunction.takes_within: double word
        # where float64 is not enough), which computes its own e^−|z|; the kernel's is computed once for the rest
        assert loop.count("exp_neg_abs_z = np.exp(") == 1 or name == "block sigmoid", name
    grad = _module(FORMULAS["sigmoid_mse_grad"](), True, monkeypatch)["__source__"]
    # σ(z)·σ(−z) beside another factor: E/(1 + E)², one quotient with the rounding of 1 + E taken back
    # (the sigmoid-pair product of h-rules9; r·E·r, one product, before); since session 22 the quotient is the
    # denominator argument of _constant_times (the constant 2 last or first, ConditionalPrinting._moved_constant)
    assert "inv_sig_abs_z = 1 + exp_neg_abs_z" in grad and ", inv_sig_abs_z**2, 2.0, 1, " in grad
    for name in ("softplus_pair", "bce_both", "block bce_logits"):  # one np.logaddexp for softplus(±z)
        source = _module(FORMULAS[name](), True, monkeypatch)["__source__"]
        # in the kernel itself, the last function (the widened functions before it take their own, on the elements
        # they are called for: bce's softplus-mixture where the target is outside [0, 1], session 48)
        body = source[source.rindex("\ndef "):]
        assert body.count("np.logaddexp(") == 1 and "np.maximum(-z, 0) + softplus_neg_abs_z" in source, name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logaddexp_is_max_plus_the_shared_term(dtype):
    """What the softplus sharing relies on: NumPy's np.logaddexp(0, u) is max(u, 0) + np.logaddexp(0, −|u|)."""
    u = _logits(np.random.default_rng(5), dtype)
    with np.errstate(all="ignore"):
        shared = np.logaddexp(0, -np.abs(u))
        for v in (u, -u):
            assert same_bits(np.maximum(v, 0) + shared, np.logaddexp(0, v))


@pytest.mark.parametrize("module", ["sigmoid", "sigmoid_mse", "bce_logits", "softplus", "log_sigmoid"])
def test_committed_kernels_give_the_bits_of_np_where_printing(module, monkeypatch):
    """The regenerated kernels/numpy modules against their blocks printed with np.where."""
    block = next(b for b in BLOCKS if b.module == module)
    kernel = block.kernel()
    old = _module(kernel, False, monkeypatch)[kernel.name]
    committed = getattr(load_kernel(module), kernel.name)
    for dtype in (np.float32, np.float64):
        for k, (g, w) in enumerate(zip(_run(committed, kernel, dtype, 1), _run(old, kernel, dtype, 1))):
            assert same_bits(g, w), f"{module} output {k} {dtype.__name__}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_helper_is_the_np_where_formula(dtype):
    """_sigmoid's numerator max(E, [x ≥ 0]) is np.where(x ≥ 0, 1, E), with or without the E given."""
    namespace = {"np": np}
    exec(PRINTER_HELPERS["_sigmoid"], namespace)  # noqa: S102 - the helper's own text
    helper = namespace["_sigmoid"]
    x = _logits(np.random.default_rng(3), dtype)
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        want = np.divide(np.where(x >= 0, 1, e), 1 + e)
        out = np.empty_like(x)
        assert same_bits(helper(x), want)
        assert same_bits(helper(x, e=e), want)
        helper(x, out=out, e=e)
    assert same_bits(out, want)
    assert same_bits(helper(dtype(-100.0)), np.float64(3.720075976020836e-44).astype(dtype))  # not 0


def test_sigmoid_kernel_against_torch_float64():
    """An independent reference: σ and σ′ of the committed float32 kernel (not widened: e^−|x|, a
    division and E·r each round) within 8 float32 ULP of torch's float64 σ rounded (3 and 5 here)."""
    torch = pytest.importorskip("torch")
    x = _logits(np.random.default_rng(4), np.float32)
    x = x[np.isfinite(x)]
    a, da = load_kernel("sigmoid").sigmoid(x)
    t = torch.from_numpy(x.astype(np.float64))
    s = torch.sigmoid(t)
    for got, want in ((a, s), (da, s * torch.sigmoid(-t))):
        want = want.numpy().astype(np.float32)
        ulp = np.spacing(np.maximum(np.abs(want), np.float32(1e-45)))
        assert np.all(np.abs(got.astype(np.float64) - want) <= 8 * ulp)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_select_helper_is_np_where(dtype):
    """_select(c, a, b) against np.where(c, a, b): arrays, Python and NumPy scalars either side (the
    result's dtype by NumPy's rules, NEP 50), a 0-d condition, boolean values."""
    namespace = {"np": np}
    exec(PRINTER_HELPERS["_select"], namespace)  # noqa: S102 - the helper's own text
    select = namespace["_select"]
    rng = np.random.default_rng(6)
    x, w = _logits(rng, dtype), _logits(rng, dtype)
    c = x > w
    for a, b in ((x, w), (0, w), (x, 0.5), (dtype(1), 0), (np.float32(2), w), (1, 2.5), (x, w.astype(np.float64))):
        assert same_bits(select(c, a, b), np.where(c, a, b))
    assert same_bits(select(np.bool_(True), x, w), np.where(True, x, w))
    assert np.array_equal(select(c, c, ~c), np.where(c, c, ~c)) and select(c, c, ~c).dtype == bool


def _helpers(*names) -> dict:
    """The NumPy helper texts of the registry, with the helpers they call, run in one namespace."""
    from symnet.registry import NUMPY_HELPER_NEEDS, NUMPY_HELPERS
    namespace = {"np": np}
    for name in [n for h in names for n in NUMPY_HELPER_NEEDS.get(h, ())] + list(names):
        exec(NUMPY_HELPERS[name], namespace)  # noqa: S102 - the registry's own text
    return namespace


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_twosum_helper_selects_as_np_where(dtype):
    """_sigmoid_twosum's σ(s), σ(−s) by max/min: the formula with np.where, bit for bit."""
    h = _helpers("_sigmoid_twosum")
    rng = np.random.default_rng(8)
    x, w = _logits(rng, dtype), _logits(rng, dtype)

    def reference(x, y):
        with np.errstate(over="ignore"):
            s = np.add(x, y)
        e = h["_twosum_error"](x, y, s)
        E = np.exp(-np.abs(s))
        r = 1.0 / (1.0 + E)
        sig = np.where(s >= 0, r, E * r)
        neg = np.where(s >= 0, E * r, r)
        return np.add(sig, sig * (neg * e))

    with np.errstate(all="ignore"):
        assert same_bits(h["_sigmoid_twosum"](x, w), reference(x, w))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ndtr_tanh_helpers_select_as_np_where(dtype):
    """_ndtr_tanh and _ndtr_tanh_pdf (GELU-tanh) with σ(±v)'s numerators max(e, [v ≥ 0]) and
    max(e, [v < 0]): the formulas with np.where, bit for bit."""
    h = _helpers("_gelu_tanh_v", "_ndtr_tanh", "_ndtr_tanh_pdf")
    x = _logits(np.random.default_rng(9), dtype)

    def sigmas(x):
        a = np.clip(np.asarray(x, np.float64), -30.0, 30.0)
        s, v, v_l = h["_gelu_tanh_v"](a)
        e = np.exp(-np.abs(v))
        return s, v_l, np.where(v >= 0, 1.0, e) / (1.0 + e), np.where(v >= 0, e, 1.0) / (1.0 + e)

    with np.errstate(all="ignore"):
        s, v_l, sig, neg = sigmas(x)
        want = np.empty(x.shape, np.result_type(x, np.float32))
        want[...] = sig + sig * (v_l * neg)
        assert same_bits(h["_ndtr_tanh"](x), want)
        pair = sig * neg
        want[...] = 1.5957691216057308 * (1.0 + 0.134145 * s) * (pair + pair * (v_l * (neg - sig)))
        assert same_bits(h["_ndtr_tanh_pdf"](x), want)
