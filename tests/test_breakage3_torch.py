"""Breakage round 3, PyTorch side: each fault found by hostile input to ``symnet.torch`` and the
generated cross-entropy kernels, as a test against an independent reference (torch float64)
or the one-line error it should give. Under Triton's interpreter: tiny shapes."""
from __future__ import annotations

import math
import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()

import symnet.torch as st  # noqa: E402
from symnet import SymnetError  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402
from symnet.torch import functional as SF  # noqa: E402
from symnet.torch.optim import FusedStep  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
F = torch.nn.functional
NAN = float("nan")
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


# --- relu / max / min dropped NaN: tl.maximum(nan, 0) is 0 (it returns the other operand) ----------------------

@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh"])
def test_relu_family_keeps_nan_as_torch(name):
    """relu(nan) was 0 (torch: nan): a NaN vanished silently."""
    x = torch.tensor([NAN, -1.0, 0.5, 7.0, -math.inf], dtype=torch.float64, device=DEVICE)
    got = getattr(SF, name)(x)
    want = getattr(F, name)(x)
    torch.testing.assert_close(got, want, equal_nan=True)


def test_fused_relu_step_refuses_nan_input_instead_of_corrupting_weights():
    """FusedStep(relu) with one NaN in x: the loss was finite (relu ate the NaN), the step was
    applied and W1 became NaN silently. Now the loss is NaN and the step is refused."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).to(DEVICE)
    before = [p.detach().clone() for p in model.parameters()]
    opt = FusedStep(model, lr=0.1)
    x = torch.randn(5, 3, device=DEVICE)
    x[0, 0] = NAN
    with pytest.raises(SymnetError, match="loss nan"):
        opt.step(x, torch.randint(0, 2, (5,), device=DEVICE))
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p.detach(), b)


def test_formula_max_min_keep_nan():
    f = st.from_formula("Max(x, y) + Min(x, 0)", ["x", "y"])
    x = torch.tensor([NAN, 1.0, -2.0], dtype=torch.float64, device=DEVICE)
    y = torch.tensor([0.0, NAN, 3.0], dtype=torch.float64, device=DEVICE)
    want = torch.maximum(x, y) + torch.minimum(x, torch.zeros_like(x))
    torch.testing.assert_close(f(x, y), want, equal_nan=True)


# --- functional.cross_entropy: a target of the wrong shape was reshaped into a plausible loss ----------------

@pytest.mark.parametrize("zshape,rshape", [((5, 7), (5, 1)), ((5, 7), (1, 5)), ((2, 3, 4), (8,)),
                                            ((2, 3, 4), (4, 2)), ((7,), (2,)), ((7,), (1, 1))])
def test_cross_entropy_target_of_wrong_shape_is_refused(zshape, rshape):
    z = torch.randn(*zshape, dtype=torch.float64, device=DEVICE)
    n = 1
    for s in rshape:
        n *= s
    r = torch.zeros(n, dtype=torch.long, device=DEVICE).reshape(rshape)
    with pytest.raises((RuntimeError, ValueError)):
        F.cross_entropy(z, r)  # torch refuses it as well
    with pytest.raises(ValueError, match="target has shape"):
        SF.cross_entropy(z, r)


def test_cross_entropy_right_shapes_still_match_torch():
    z = torch.randn(2, 3, 4, dtype=torch.float64, device=DEVICE)
    r = torch.randint(0, 3, (2, 4), device=DEVICE)
    torch.testing.assert_close(SF.cross_entropy(z, r, reduction="none"), F.cross_entropy(z, r, reduction="none"))
    torch.testing.assert_close(SF.cross_entropy(z[0, :, 0], r[0, 0]), F.cross_entropy(z[0, :, 0], r[0, 0]))
    torch.testing.assert_close(SF.cross_entropy(z[0, :, 0], r[0, :1]), F.cross_entropy(z[0, :, 0], r[0, :1]))


# --- activation parameters NaN / ∞: a NameError from the Triton interpreter, or a derivation error -----------

@pytest.mark.parametrize("call", [lambda x: SF.leaky_relu(x, negative_slope=NAN),
                                  lambda x: SF.elu(x, alpha=math.inf),
                                  lambda x: SF.celu(x, alpha=-math.inf),
                                  lambda x: SF.huber_loss(x, x, delta=NAN)])
def test_non_finite_parameter_is_one_clear_error(call):
    x = torch.randn(3, dtype=torch.float64, device=DEVICE)
    with pytest.raises(SymnetError, match="parameters must be finite"):
        call(x)


# --- Triton soft cross-entropy: complex targets were cast to real (imaginary part dropped) -------------------

@pytest.mark.parametrize("fn", ["cross_entropy_soft", "cross_entropy_soft_grad"])
@pytest.mark.parametrize("dtype", [torch.complex128, torch.int64, torch.bool])
def test_soft_targets_must_be_floating_point(fn, dtype):
    T = load_kernel("cross_entropy", "triton")
    z = torch.randn(3, 4, dtype=torch.float64, device=DEVICE)
    t = torch.full((3, 4), 1, device=DEVICE).to(dtype)
    with pytest.raises(TypeError, match="floating-point"):
        getattr(T, fn)(z, t)


# --- from_formula: an argument given positionally and by name said "got 1" arguments ------------------------

def test_formula_argument_given_twice():
    f = st.from_formula("x*w", ["x", "w"])
    x = torch.randn(3, dtype=torch.float64, device=DEVICE)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        f(x, x=x)


# --- checks that held (kept so they stay held) --------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.3}, {"weight": True}, {"weight": True, "label_smoothing": 0.2},
                                {"weight": True, "ignore_index": 2}])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_kernel_options_match_torch_f64(kw, reduction):
    T = load_kernel("cross_entropy", "triton")
    g = torch.Generator().manual_seed(1)
    z = torch.randn(6, 5, generator=g, dtype=torch.float64).flip(0).to(DEVICE)  # a negative-stride view
    r = torch.tensor([0, 1, 2, 3, 4, 2], device=DEVICE)
    kw = dict(kw)
    if kw.get("weight"):
        kw["weight"] = (torch.rand(10, generator=g, dtype=torch.float64) + 0.1)[::2].to(DEVICE)  # non-contiguous
    loss, dz = T.cross_entropy_grad(z, r, reduction=reduction, **kw)
    zz = z.detach().clone().requires_grad_()
    want = F.cross_entropy(zz, r, reduction=reduction, **kw)
    want.sum().backward()
    torch.testing.assert_close(loss, want.detach())
    torch.testing.assert_close(dz if reduction != "none" else dz, zz.grad)


def test_soft_cross_entropy_kernel_matches_torch_f64():
    T = load_kernel("cross_entropy", "triton")
    z = torch.randn(4, 6, dtype=torch.float64, device=DEVICE)
    t = torch.softmax(torch.randn(4, 6, dtype=torch.float64, device=DEVICE), -1)
    w = torch.rand(6, dtype=torch.float64, device=DEVICE) + 0.1
    zz = z.clone().requires_grad_()
    want = F.cross_entropy(zz, t, weight=w, label_smoothing=0.25)
    want.backward()
    loss, dz = T.cross_entropy_soft_grad(z, t, weight=w, label_smoothing=0.25)
    torch.testing.assert_close(loss, want.detach())
    torch.testing.assert_close(dz, zz.grad)


# --- softplus(beta=0): "'x' does not appear in the formula"; ElmanRNN of 0 steps: a torch.stack error ---------

def test_softplus_beta_zero_is_named():
    with pytest.raises(SymnetError, match="beta must be nonzero"):
        SF.softplus(torch.randn(3, dtype=torch.float64, device=DEVICE), beta=0)


@pytest.mark.parametrize("shape", [(0, 2, 3), (0, 3), (2, 3, 3, 3), (3,)])
def test_elman_rnn_bad_input_shapes(shape):
    rnn = st.nn.ElmanRNN(3, 4).to(DEVICE)
    with pytest.raises(ValueError, match="ElmanRNN"):
        rnn(torch.randn(*shape, device=DEVICE))


# --- binary_cross_entropy's gradient at p = 0 or 1: H(log p + 100)/p was 0·∞ = NaN (fixed: the heaviside-gate rule) ---

def test_bce_gradient_at_saturated_probability_is_finite():
    p = torch.tensor([0.0, 1.0], dtype=torch.float64, device=DEVICE, requires_grad=True)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64, device=DEVICE)
    SF.binary_cross_entropy(p, t, reduction="sum").backward()
    assert torch.isfinite(p.grad).all()


# --- an ignored row with NaN/∞ logits got a NaN gradient row from the Triton kernels (NumPy: 0; docs: 0) ------

@pytest.mark.parametrize("module,fn", [("cross_entropy", "cross_entropy_grad"),
                                       ("softmax_cross_entropy", "softmax_cross_entropy_grad")])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignored_row_has_zero_gradient_whatever_its_logits(module, fn, reduction):
    T = load_kernel(module, "triton")
    N = load_kernel(module, "numpy")
    z = torch.tensor([[NAN, 0.0, 1.0], [1.0, 2.0, -1.0], [math.inf, -math.inf, 0.0]], dtype=torch.float64)
    r = torch.tensor([-100, 1, -100])
    loss, dz = getattr(T, fn)(z.to(DEVICE), r.to(DEVICE), reduction=reduction)
    assert torch.equal(dz[0].cpu(), torch.zeros(3, dtype=torch.float64))
    assert torch.equal(dz[2].cpu(), torch.zeros(3, dtype=torch.float64))
    # the row that counts: as torch in float64 on that row alone
    zz = z[1:2].clone().requires_grad_()
    F.cross_entropy(zz, r[1:2], reduction="sum").backward()
    torch.testing.assert_close(dz[1].cpu(), zz.grad[0])
    nloss, ndz = getattr(N, fn)(z.numpy(), r.numpy(), reduction=reduction)
    torch.testing.assert_close(dz.cpu(), torch.as_tensor(ndz))
    torch.testing.assert_close(torch.as_tensor(loss).cpu(), torch.as_tensor(nloss))


# --- FusedStep: lr=1e300 passed every check, then torch failed converting it to float32 at the first step ----

@pytest.mark.parametrize("kw", [{"lr": 1e300}, {"lr": 1e39}, {"lr": 0.1, "weight_decay": 1e39}])
def test_fused_step_hyperparameter_beyond_float32_is_refused_up_front(kw):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).to(DEVICE)
    with pytest.raises(SymnetError, match="float32"):
        FusedStep(model, **kw)


def test_fused_step_load_state_dict_of_the_wrong_kind():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2)).to(DEVICE)
    opt = FusedStep(model, lr=0.1)
    with pytest.raises(SymnetError, match="must be a dict"):
        opt.load_state_dict(None)
