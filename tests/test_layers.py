"""Layer kernels (dense sigmoid, linear, the Elman RNN step): generated NumPy against
torch.autograd and against central differences of a forward pass written here."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import load_kernel

DENSE, RNN = load_kernel("dense"), load_kernel("rnn_step")


def sig(x):
    return 1 / (1 + np.exp(-x))


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


def test_dense_sigmoid_forward_and_backward_against_finite_differences():
    rng = np.random.default_rng(0)
    a, W, b, g = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(5, 4))
    y = DENSE.dense_sigmoid(a, W, b)
    np.testing.assert_allclose(y, sig(a @ W.T + b), rtol=1e-14)
    dW, db, da = DENSE.dense_sigmoid_backward(a, W, y, g)

    def cost(a_, W_, b_):  # C = Σ g∘σ(a Wᵀ + b): ∂C/∂y = g
        return float((g * sig(a_ @ W_.T + b_)).sum())

    np.testing.assert_allclose(dW, numeric_grad(lambda w: cost(a, w, b), W), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(db, numeric_grad(lambda v: cost(a, W, v), b), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(da, numeric_grad(lambda v: cost(v, W, b), a), rtol=1e-7, atol=1e-9)


def test_linear_and_rnn_step_against_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    B, D, H = 6, 3, 5
    x, hp, Wi, Wh, g = (rng.normal(size=s) for s in ((B, D), (B, H), (H, D), (H, H), (B, H)))
    tx, thp, tWi, tWh = (torch.tensor(v, requires_grad=True) for v in (x, hp, Wi, Wh))
    th = torch.sigmoid(thp @ tWh.T + tx @ tWi.T)
    (th * torch.tensor(g)).sum().backward()
    h = RNN.rnn_step(x, hp, Wi, Wh)
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-14)
    dWi, dWh, dhp = RNN.rnn_step_backward(x, hp, Wi, Wh, h, g)
    for got, want in ((dWi, tWi.grad), (dWh, tWh.grad), (dhp, thp.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-14)
    a, W, b, gz = rng.normal(size=(B, D)), rng.normal(size=(H, D)), rng.normal(size=H), rng.normal(size=(B, H))
    ta, tW, tb = (torch.tensor(v, requires_grad=True) for v in (a, W, b))
    tz = ta @ tW.T + tb
    (tz * torch.tensor(gz)).sum().backward()
    np.testing.assert_allclose(DENSE.linear(a, W, b), tz.detach().numpy(), rtol=1e-14)
    for got, want in zip(DENSE.linear_backward(a, W, gz), (tW.grad, tb.grad, ta.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, atol=1e-14)


def test_float32_stays_float32_and_no_overflow():
    a = np.array([[1000.0, -1000.0]], np.float32)
    y = DENSE.dense_sigmoid(a, np.eye(2, dtype=np.float32), np.zeros(2, np.float32))
    assert y.dtype == np.float32 and y.tolist() == [[1.0, 0.0]]


def test_layer_bad_input():
    a, W, b = np.zeros((2, 3)), np.zeros((4, 3)), np.zeros(4)
    with pytest.raises(ValueError, match=r"argument 'W' has shape \(4, 2\), expected \(·, 3\)"):
        DENSE.dense_sigmoid(a, np.zeros((4, 2)), b)
    with pytest.raises(ValueError, match="argument 'b' has shape"):
        DENSE.dense_sigmoid(a, W, np.zeros(5))
    with pytest.raises(TypeError, match="argument 'a' must hold float32 or float64"):
        DENSE.dense_sigmoid(a.astype(int), W, b)
    with pytest.raises(ValueError, match="argument 'g' has shape"):
        DENSE.dense_sigmoid_backward(a, W, np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="argument 'hp' has shape"):
        RNN.rnn_step(np.zeros((2, 3)), np.zeros((3, 5)), np.zeros((5, 3)), np.zeros((5, 5)))
