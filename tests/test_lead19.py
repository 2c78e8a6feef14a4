"""Lead's tests of session 19: relu6 and hardtanh at their kinks as torch (value, sign of zero, derivative)."""
import numpy as np
import pytest

import symnet

torch = pytest.importorskip("torch")

# Points at and beside the kinks; NaN is left out: torch's CPU hardtanh_backward gives 1 on its scalar path and 0 on
# its vectorised path (measured: 6 elements 1, 9 elements 0), so no one answer is torch's (symnet: 1, x falls through).
POINTS = [-0.0, 0.0, 6.0, -1.0, 1.0, 3.0, 7.0, -2.0, 2.0, -3.0, 1e-300, -1e-300]
CASES = [
    ("relu6(x)", lambda v: torch.nn.functional.relu6(v)),
    ("hardtanh(x)", lambda v: torch.nn.functional.hardtanh(v)),
    ("hardtanh(x, 0, 6)", lambda v: torch.nn.functional.hardtanh(v, 0.0, 6.0)),
    ("hardtanh(x, -2, 3)", lambda v: torch.nn.functional.hardtanh(v, -2.0, 3.0)),
]


def _torch(fn, dtype):
    x = torch.tensor(POINTS, dtype=dtype, requires_grad=True)
    y = fn(x)
    g, = torch.autograd.grad(y.sum(), x)
    return y.detach().numpy(), g.numpy()


def _same(a, b):
    return np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("formula, fn", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_clamps_at_their_kinks_as_torch_numpy(formula, fn, dtype):
    """Was: relu6′(0) = 1 and hardtanh′(±1) = 1 (torch's hardtanh_backward: 0 at x = lo and x = hi)."""
    value, grad = _torch(fn, getattr(torch, dtype))
    got = symnet.compile(symnet.derive(formula), "numpy")(x=np.array(POINTS, dtype))
    assert _same(got[0], value), (got[0], value)
    assert _same(got[1], grad), (got[1], grad)


@pytest.mark.parametrize("formula, fn", CASES[:2], ids=[c[0] for c in CASES[:2]])
def test_clamps_at_their_kinks_as_torch_triton(formula, fn):
    pytest.importorskip("triton")
    value, grad = _torch(fn, torch.float32)
    got = symnet.compile(symnet.derive(formula), "triton")(x=torch.tensor(POINTS, dtype=torch.float32))
    assert _same(got[0].numpy(), value), (got[0], value)
    assert _same(got[1].numpy(), grad), (got[1], grad)
