"""Breakage round 5 on symnet.torch: torch.func nesting, the fused step's learning-rate and
aliasing checks. Each test is a fault found, fixed, and checked against an independent
reference (torch's own functions in float64) or a clear one-line error."""
from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

import numpy as np  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import symnet  # noqa: E402
import symnet.torch as st  # noqa: E402
from symnet.errors import FusedStepError  # noqa: E402

SF = st.functional
D = torch.float64


# --- torch.func: forward mode over a gradient --------------------------------------------------

@pytest.mark.parametrize("case", ["gelu", "mse"])
def test_hessian_and_jacfwd_of_jacrev_raise_double_backward_error_not_a_treespec_error(case):
    """jacfwd(jacrev(f)) / hessian through an elementwise op used to fail inside torch with
    "treespec.unflatten(leaves): `leaves` has length 5 but the spec refers to ... 8 items" (the
    flattened-argument layout was a tuple, several pytree leaves); now the second derivative is
    refused in one line naming the op."""
    x, t = torch.randn(3, dtype=D), torch.randn(3, dtype=D)
    f = (lambda v: SF.gelu(v).sum()) if case == "gelu" else (lambda v: SF.mse_loss(v, t))
    with pytest.raises(st.DoubleBackwardError, match=f"symnet_torch::{case} is differentiable once"):
        torch.func.hessian(f)(x)
    with pytest.raises(st.DoubleBackwardError, match=f"symnet_torch::{case}"):
        torch.func.jacfwd(torch.func.jacrev(f))(x)


def test_forward_mode_still_works_under_vmap_after_the_layout_change():
    """jacfwd (vmap of jvp) and vmap of jvp through elementwise ops, against torch in float64."""
    x, t = torch.randn(3, dtype=D), torch.randn(3, dtype=D)
    torch.testing.assert_close(torch.func.jacfwd(SF.gelu)(x), torch.func.jacfwd(F.gelu)(x), rtol=1e-12, atol=1e-14)
    got = torch.func.jacfwd(lambda a, b: SF.huber_loss(a, b, reduction="none"), argnums=(0, 1))(x, t)
    want = torch.func.jacfwd(lambda a, b: F.huber_loss(a, b, reduction="none"), argnums=(0, 1))(x, t)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-14)
    xs, ts = torch.randn(2, 3, dtype=D), torch.randn(2, 3, dtype=D)
    got = torch.vmap(lambda a, ta: torch.func.jvp(lambda u: SF.leaky_relu(u, 0.2), (a,), (ta,))[1])(xs, ts)
    want = torch.vmap(lambda a, ta: torch.func.jvp(lambda u: F.leaky_relu(u, 0.2), (a,), (ta,))[1])(xs, ts)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


# --- the fused step: learning rates --------------------------------------------------------------

def _mlp():
    g = torch.Generator().manual_seed(0)
    return (torch.randn(3, 2, generator=g), torch.zeros(3), torch.randn(2, 3, generator=g), torch.zeros(2))


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4, 2, generator=g), torch.randint(0, 2, (4,), generator=g), torch.arange(4)


@pytest.mark.parametrize("lr", [torch.tensor(float("nan")), torch.tensor(-1.0), torch.tensor(float("inf")),
                                10**400, np.array([0.1, 0.2]), np.complex128(0.1 + 1j)],
                         ids=["0d-nan", "0d-negative", "0d-inf", "huge-int", "numpy-array", "numpy-complex"])
def test_raw_compile_step_refuses_these_learning_rates_in_one_line(lr):
    """A 0-d NaN tensor gave "IndexError: index 0 is out of bounds for dimension 1 with size 0"
    (nonzero() of a 0-d tensor); 10**400 an OverflowError and a numpy array of two a TypeError,
    neither naming lr; numpy's complex ran silently with its real part."""
    step = symnet.compile_step(("sigmoid", "linear"), "ce")
    x, t, order = _data()
    params = _mlp()
    before = [p.clone() for p in params]
    with pytest.raises(FusedStepError, match="lr"):
        step(x, t, *params, order, lr, 2)
    assert all(torch.equal(a, b) for a, b in zip(params, before))


@pytest.mark.parametrize("lr", [torch.tensor([0.1, 0.2]), np.array([0.1, 0.2]), 10**400, np.complex128(0.1 + 1j),
                                torch.tensor(0.1 + 1j)],
                         ids=["tensor-of-two", "numpy-array", "huge-int", "numpy-complex", "complex-tensor"])
def test_fused_step_refuses_these_learning_rates_in_one_line(lr):
    """FusedStep(lr=...) raised raw ValueError/TypeError/OverflowError for these, and took
    numpy's complex as its real part without a word."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2))
    with pytest.raises(FusedStepError, match="lr must be"):
        st.optim.FusedStep(model, lr=lr)


# --- the fused step: memory shared through two storages ----------------------------------------

def test_raw_compile_step_finds_memory_shared_by_two_storages():
    """torch.from_numpy of two overlapping slices of one array makes two storages over the same
    bytes: the check compared storages first and let W1/b1 (or x/W1) overlap, so the step
    updated the shared floats twice. Now refused, naming both."""
    step = symnet.compile_step(("sigmoid", "linear"), "ce")
    x, t, order = _data()
    buf = np.random.default_rng(0).standard_normal(40).astype(np.float32)
    W1, b1 = torch.from_numpy(buf[0:6]).view(3, 2), torch.from_numpy(buf[4:7])
    assert W1.untyped_storage().data_ptr() != b1.untyped_storage().data_ptr()
    with pytest.raises(FusedStepError, match="W1 and b1 share memory"):
        step(x, t, W1, b1, torch.randn(2, 3), torch.zeros(2), order, 0.1, 2)
    xs = torch.from_numpy(buf[10:18]).view(4, 2)
    W1 = torch.from_numpy(buf[12:18]).view(3, 2)
    with pytest.raises(FusedStepError, match="W1 and x share memory"):
        step(xs, t, W1, torch.zeros(3), torch.randn(2, 3), torch.zeros(2), order, 0.1, 2)
    # separate bytes of one array are fine
    loss = step(torch.from_numpy(buf[0:8]).view(4, 2), t, torch.from_numpy(buf[8:14].copy()).view(3, 2),
                torch.zeros(3), torch.randn(2, 3), torch.zeros(2), order, 0.1, 2)
    assert torch.isfinite(loss).all()


# --- symnet.compile's kernels under torch.func ---------------------------------------------------

def test_vmap_or_grad_through_a_symnet_compile_kernel_is_one_clear_error():
    """torch.vmap over a ``symnet.compile(..., backend="triton")`` function failed deep inside torch
    with "NotImplementedError: Cannot access storage of BatchedTensorImpl"; it is a plain launcher,
    not a torch op: now one SymnetError pointing to symnet.torch.from_formula (which does work)."""
    import sympy as sp

    from symnet.errors import SymnetError

    x, y = sp.symbols("x y", real=True)
    k = symnet.compile(symnet.derive(x * sp.sin(y), wrt=[x, y], name="b5_xsiny"), backend="triton")
    a = torch.randn(2, 3, dtype=D)
    with pytest.raises(SymnetError, match="from_formula"):
        torch.vmap(lambda u: k(x=u, y=u))(a)
    with pytest.raises(SymnetError, match="not a torch op"):
        torch.func.grad(lambda u: k(x=u, y=u)[0].sum())(a[0])
    out = k(x=a, y=a)  # plain tensors still run
    torch.testing.assert_close(out[0], a * torch.sin(a), rtol=1e-12, atol=1e-14)
    f = st.from_formula(x * sp.sin(y), [x, y])
    torch.testing.assert_close(torch.vmap(lambda u: f(u, u))(a), a * torch.sin(a), rtol=1e-12, atol=1e-14)
