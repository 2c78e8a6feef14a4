"""Session 18 (h-nan18): torch parity of the piecewise activations at x = NaN and the signs of zero at their kinks.
The reference is torch 2.13 itself, float64/float32, on both of its CPU paths: a tensor of one element (the scalar
loop, which is also what torch's CUDA kernels compute) and 1000 elements (the vectorised loop, AVX512 here). They
disagree, so where they do symnet is held to one of them, named.

Measured with torch 2.13 (CPU, AVX512), derivative at x = NaN (scalar path / vectorised path → symnet):
    relu          1 / 1              → 1    (was NaN; session 19: H(u) = u ≤ 0 ? 0 : 1, README)
    leaky_relu    0.01 / 0.01        → 0.01
    relu6         1 / 0              → 0    (the vectorised path; the scalar path until session 34, h-kink34)
    hardtanh      1 / 0              → 0    (the vectorised path; the scalar path until session 34, h-kink34)
    hardsigmoid   0 / 0              → 0    (was 1/6: fixed here)
    softshrink    1 / 0              → 0    (the vectorised path)
    hardshrink    1 / 0              → 0    (the vectorised path)
    elu, celu     1 / NaN            → NaN  (the vectorised path); selu 1.0507 / NaN → NaN
    hardswish     1 / NaN            → NaN  (the vectorised path)
Sign of a zero value at a kink or ±0 (scalar / vectorised → symnet):
    relu(−0.0)          −0 / −0      → −0   (was +0: session 19)
    relu6, hardtanh, leaky_relu, elu, celu, selu, hardswish at −0.0: −0 / −0 → −0
    hardswish(−3)       −0 / −0      → −0   (was +0, the select's 0; torch −3·0/6: session 19, x·{0; 1; …})
    softshrink(−0.5), softshrink(−1e−30), softshrink(−0.0):  −0 / +0  → +0 (the vectorised path)
    hardshrink(±0.5, ±0.0, ±1e−30): +0 / +0 → +0;  relu, relu6 at −0.5, −3: +0 / +0 → +0;  hardsigmoid(−3): +0 → +0
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import compiled, triton_torch

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

_TORCH = {"relu": lambda F, x: F.relu(x), "leaky_relu": lambda F, x: F.leaky_relu(x, 0.01),
          "relu6": lambda F, x: F.relu6(x), "hardtanh": lambda F, x: F.hardtanh(x),
          "hardsigmoid": lambda F, x: F.hardsigmoid(x), "softshrink": lambda F, x: F.softshrink(x),
          "hardshrink": lambda F, x: F.hardshrink(x), "elu": lambda F, x: F.elu(x), "celu": lambda F, x: F.celu(x),
          "selu": lambda F, x: F.selu(x), "hardswish": lambda F, x: F.hardswish(x)}


def _symnet(name, backend, dtype, points):
    """(f, ∂f/∂x) of symnet's generated function at points, as float64 arrays."""
    f = compiled(f"{name}(x)", backend)
    names = [o.name for o in f.kernel.outputs]
    if backend == "numpy":
        with np.errstate(all="ignore"):
            out = f(x=np.asarray(points, dtype))
    else:
        torch = triton_torch()
        out = [o.cpu() for o in f(x=torch.tensor(np.asarray(points, dtype)))]
    out = dict(zip(names, (np.asarray(o, np.float64) for o in out)))
    return out["f"], out["df_dx"]


def _torch(name, dtype, point, n):
    """torch's (value, gradient) at point, computed in a tensor of n copies of it (n = 1: the scalar loop;
    n = 1000: the vectorised loop), the first element's."""
    torch = triton_torch()
    x = torch.full((n,), point, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
    y = _TORCH[name](torch.nn.functional, x)
    g, = torch.autograd.grad(y.sum(), x)
    return float(y[0]), float(g[0])


def _same(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hardsigmoid_derivative_at_nan_is_zero_as_torch(backend, dtype):
    """torch's hardsigmoid_backward is (−3 < x < 3) ? g/6 : 0, on every path: 0 at NaN (symnet gave 1/6)."""
    x = [np.nan, -3.0, 3.0, -2.5, 0.0, 2.9, -1e300, np.inf, -np.inf]
    f, df = _symnet("hardsigmoid", backend, dtype, x)
    assert np.isnan(f[0]) and df[0] == 0.0, (f[0], df[0])  # was 0.1666…
    for n in (1, 1000):
        assert _torch("hardsigmoid", dtype, np.nan, n)[1] == 0.0
    torch = triton_torch()
    X = torch.tensor(np.asarray(x, dtype), requires_grad=True)
    Y = torch.nn.functional.hardsigmoid(X)
    G, = torch.autograd.grad(Y.sum(), X)
    np.testing.assert_array_equal(f[1:], Y.detach().double().numpy()[1:])
    # torch's float64 gradient is 1/6 rounded to float32 (0.16666667163…): symnet's is float64's 1/6
    np.testing.assert_allclose(df[1:], G.double().numpy()[1:], rtol=4e-8 if dtype == np.float64 else 0)


# (name, point, which torch path symnet agrees with: "both", "scalar" (n = 1) or "vectorised" (n = 1000))
_AT_NAN = [("leaky_relu", "both"), ("relu6", "vectorised"), ("hardtanh", "vectorised"), ("hardsigmoid", "both"),
           ("softshrink", "vectorised"), ("hardshrink", "vectorised"), ("elu", "vectorised"),
           ("celu", "vectorised"), ("selu", "vectorised"), ("hardswish", "vectorised")]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, path", _AT_NAN)
def test_value_and_derivative_at_nan_as_torch(name, path, dtype, backend):
    """The value at NaN is NaN; the derivative torch's on the path named in the module's table."""
    f, df = _symnet(name, backend, dtype, [np.nan])
    paths = {"scalar": [1], "vectorised": [1000], "both": [1, 1000]}[path]
    for n in paths:
        value, grad = _torch(name, dtype, np.nan, n)
        assert math.isnan(f[0]) and math.isnan(value)
        assert _same(float(df[0]), grad), (name, n, float(df[0]), grad)


# (name, point): the sign of a zero value where both torch paths agree
_ZEROS = [("relu6", -0.0), ("relu6", -0.5), ("hardtanh", -0.0), ("leaky_relu", -0.0), ("elu", -0.0),
          ("celu", -0.0), ("selu", -0.0), ("hardswish", -0.0), ("hardshrink", -0.5), ("hardshrink", 0.5),
          ("hardshrink", -0.0), ("hardshrink", -1e-30), ("hardsigmoid", -3.0), ("relu", -0.5),
          ("softshrink", 0.5), ("softshrink", 0.0),
          # session 19: relu as torch's x < 0 ? 0 : x (was np.maximum/tl.maximum: +0 at −0.0), hardswish as
          # x·{0; 1; (x + 3)/6} (was the select's +0 at −3; torch −3·0/6 = −0)
          ("relu", -0.0), ("hardswish", -3.0), ("hardswish", -5.0), ("hardswish", -1e30)]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, point", _ZEROS)
def test_sign_of_zero_as_torch(name, point, dtype, backend):
    f, _ = _symnet(name, backend, dtype, [point])
    for n in (1, 1000):
        want, _ = _torch(name, dtype, point, n)
        assert _same(float(f[0]), want), (name, point, n, float(f[0]), want)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_derivative_at_nan_as_torch(dtype, backend):
    """Decided in session 19 (README, the numerics paragraph): relu′(NaN) = 1, torch's x ≤ 0 ? 0 : g on both paths,
    as symnet's relu′·g already was (the heaviside-gate select); alone it was NaN (NumPy) or 0 (Triton)."""
    f, df = _symnet("relu", backend, dtype, [np.nan])
    assert math.isnan(f[0])
    for n in (1, 1000):
        assert _same(float(df[0]), _torch("relu", dtype, np.nan, n)[1]), (n, float(df[0]))


# ---------------------------------------------------------------------------------------------------------------
# The scalar reduction store (_sum_when_last: reduction="sum"/"mean" of an elementwise kernel, and of a row-wise
# one) wrote q.to(bfloat16): Triton's interpreter (3.9) truncates float32 → bfloat16 and breaks subnormals, so a
# bfloat16 x·y summed to 1 + 1.5·2⁻⁸ stored 1.0 (nearest 1.0078125) and a sum of subnormals 2⁻¹³⁰ + … stored
# 7.3e−39 (nearest 1.19e−39). Now it goes through _stored, as the elementwise stores do. The reference: torch's
# own bfloat16 rounding of the float64 sum, which is exact here (the products and sums are exact in float32).

@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("x", [[1.0, 1.5 * 2 ** -8], [2.0 ** -130, 2.0 ** -131 + 2.0 ** -133],
                               [-1.0, -1.5 * 2 ** -8, 2.0 ** -9], [3.0, 2.0 ** -6, 2.0 ** -7]])
def test_bfloat16_reduction_store_rounds_to_nearest(x, reduction):
    torch = triton_torch()
    X = torch.tensor(x, dtype=torch.bfloat16)
    assert X.double().tolist() == x  # the inputs are bfloat16 numbers
    f = compiled("x*y", "triton")
    total = f(x=X, y=torch.ones_like(X), reduction=reduction)[0]
    exact = torch.tensor(math.fsum(x) / (len(x) if reduction == "mean" else 1), dtype=torch.float64)
    want = exact.to(torch.bfloat16)
    assert total.dtype == torch.bfloat16 and total.shape == ()
    assert float(total) == float(want), (x, reduction, float(total), float(want), float(exact))


def _row_kernel(name):
    triton_torch()
    from symnet.kernels import load_kernel
    return load_kernel(name, "triton")


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("z0", [[-1.0, -1.5 * 2 ** -8], [-3.0, -2.0 ** -6], [1.0, 2.0 ** -8 + 2.0 ** -9]])
def test_bfloat16_row_wise_reduction_store_rounds_to_nearest(z0, reduction):
    """nll_loss's Σ/mean is _sum_dw_when_last's float64 q: stored with .to(bfloat16), the interpreter's float64 →
    bfloat16, 1 + 1.5·2⁻⁸ came back 9.2e−41 and the mean 0.0. Reference: torch's nll_loss in float64, rounded by
    torch to bfloat16 (exact sums here)."""
    torch = triton_torch()
    z = torch.tensor([[v, 0.0] for v in z0], dtype=torch.bfloat16)
    assert z[:, 0].double().tolist() == z0
    r = torch.zeros(len(z0), dtype=torch.int64)
    got = _row_kernel("nll_loss").nll_loss(z, r, reduction=reduction)
    want = torch.nn.functional.nll_loss(z.double(), r, reduction=reduction).to(torch.bfloat16)
    assert got.dtype == torch.bfloat16 and float(got) == float(want), (float(got), float(want))


def test_bfloat16_softmax_cross_entropy_sum_rounds_to_nearest():
    """log 3 = 1.0986…: bfloat16's nearest 1.1015625, truncated 1.09375 (what _sum_when_last stored before)."""
    torch = triton_torch()
    z, r = torch.zeros(1, 3, dtype=torch.bfloat16), torch.zeros(1, dtype=torch.int64)
    got = _row_kernel("softmax_cross_entropy").softmax_cross_entropy(z, r, reduction="sum")
    assert float(got) == float(torch.tensor(math.log(3), dtype=torch.float64).to(torch.bfloat16)) == 1.1015625


def test_bfloat16_row_wise_subnormal_logits():
    """Was 1.18e−38 (torch 1.76e−38): the row-wise kernels loaded bfloat16 with .to(), and the interpreter's upcast
    of the subnormal 2⁻¹²⁷ is 0; session 19: every load of z, t, g goes through _upcast (by the bits, exact)."""
    torch = triton_torch()
    z = torch.tensor([[-2.0 ** -126, 0.0], [-2.0 ** -127, 0.0]], dtype=torch.bfloat16)
    r = torch.zeros(2, dtype=torch.int64)
    got = _row_kernel("nll_loss").nll_loss(z, r, reduction="sum")
    assert float(got) == float(torch.nn.functional.nll_loss(z.double(), r, reduction="sum").to(torch.bfloat16))


@pytest.mark.parametrize("V", [3, 5, 7, 11])
def test_bfloat16_row_wise_stores_round_to_nearest(V):
    """The row-wise kernels' per-row and per-entry stores (loss, gradient, softmax, log_softmax) went through
    .to(bfloat16), truncated by the interpreter: softmax_cross_entropy of zeros over 3 classes stored the loss
    1.09375 (log 3 = 1.0986…, nearest 1.1015625) and the gradient 0.33203125 (1/3: nearest 0.333984375). Now
    _stored. Reference: torch in float64 of the same bfloat16 logits, rounded by torch to bfloat16."""
    torch = triton_torch()
    F = torch.nn.functional
    z, r = torch.zeros(2, V, dtype=torch.bfloat16), torch.zeros(2, dtype=torch.int64)
    Z = z.double().requires_grad_(True)
    loss = F.cross_entropy(Z, r, reduction="none")
    dz, = torch.autograd.grad(loss.sum(), Z)
    bf = lambda t: t.detach().to(torch.bfloat16).float().tolist()  # noqa: E731
    got_loss, got_dz = _row_kernel("softmax_cross_entropy").softmax_cross_entropy_grad(z, r, "none")
    assert got_loss.float().tolist() == bf(loss) and got_dz.float().tolist() == bf(dz)
    assert _row_kernel("cross_entropy").cross_entropy(z, r, reduction="none").float().tolist() == bf(loss)
    assert _row_kernel("softmax").softmax(z).float().tolist() == bf(F.softmax(Z, -1))
    assert _row_kernel("log_softmax").log_softmax(z).float().tolist() == bf(F.log_softmax(Z, -1))
