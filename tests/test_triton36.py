"""Session 36 (h-triton36): the Triton backend's open faults (issue 16), under TRITON_INTERPRET=1 where there is no GPU.

A meta tensor (no data) given to a Triton function: the launcher of ``symnet.compile(..., backend="triton")`` reached
torch's "NotImplementedError: Cannot copy out of meta tensor; no data!" inside the interpreter (found in session 35),
where the same formula's torch op (symnet.torch) returns meta outputs through its fake kernel. Now the elementwise
launcher returns meta outputs of the shapes and dtypes it returns for data, and every other Triton launcher (the
committed row-wise, dense and training kernels) refuses a meta tensor in one line."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import symnet
from conftest import triton_torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def torch():
    return triton_torch()


@pytest.fixture(scope="module")
def sigmoid_product(torch):
    return symnet.compile(symnet.derive("x*sigmoid(y)"), backend="triton", progress=False)


def _layout(outputs):
    return [(tuple(o.shape), o.dtype) for o in outputs]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_triton_function_takes_meta_tensors(torch, sigmoid_product, dtype, reduction):
    dtype = getattr(torch, dtype)
    real = sigmoid_product(torch.ones(2, 3, dtype=dtype), torch.ones(2, 3, dtype=dtype), reduction=reduction)
    meta = sigmoid_product(torch.ones(2, 3, dtype=dtype, device="meta"), torch.ones(2, 3, dtype=dtype, device="meta"),
                           reduction=reduction)
    assert all(o.is_meta for o in meta) and _layout(meta) == _layout(real), (_layout(meta), _layout(real))


def test_meta_beside_data_is_one_line(torch, sigmoid_product):
    with pytest.raises(ValueError, match="is on cpu but 'x' is on meta"):
        sigmoid_product(torch.ones(3, device="meta"), torch.ones(3))


def test_meta_through_the_function_and_the_op_alike(torch):
    formula = symnet.torch.from_formula("x*sigmoid(y)", inputs=["x", "y"])
    x = torch.ones(4, 5, dtype=torch.float64, device="meta", requires_grad=True)
    y = torch.ones(4, 5, dtype=torch.float64, device="meta")
    out = formula(x, y)
    assert out.is_meta and tuple(out.shape) == (4, 5) and out.dtype == torch.float64
    out.sum().backward()
    assert x.grad.is_meta and tuple(x.grad.shape) == (4, 5)


def test_a_formula_with_a_domain_check_takes_meta(torch):
    # gaussian_nll's variance is checked on the host (reading the data back): a meta tensor has none to refuse
    k = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"), backend="triton", progress=False)
    meta = [torch.ones(3, device="meta") for _ in range(3)]
    assert all(o.is_meta and tuple(o.shape) == (3,) for o in k(*meta))


def test_committed_row_kernel_refuses_meta_in_one_line(torch):
    sys.path.insert(0, str(ROOT / "kernels" / "triton"))
    try:
        import softmax
    finally:
        sys.path.remove(str(ROOT / "kernels" / "triton"))
    with pytest.raises(ValueError, match="argument 'z' is on the meta device, which holds no data"):
        softmax.softmax(torch.ones(3, 4, device="meta"))
