"""Breakage round 4, PyTorch side: hostile input to the fused linear + cross-entropy, the
cross-entropy with options, their vmap rules and ``symnet.torch.optim.FusedStep``. Each fault
as a test against torch float64 or the one-line error it should give. Under Triton's
interpreter: tiny shapes."""
from __future__ import annotations

import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()

import numpy as np  # noqa: E402

import symnet.torch as st  # noqa: E402
from symnet.errors import FusedStepError  # noqa: E402
from symnet.torch import functional as SF  # noqa: E402
from symnet.torch.optim import FusedStep  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
F = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


def _data(N=5, H=3, V=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, H, generator=g, dtype=torch.float64)
    W = torch.randn(V, H, generator=g, dtype=torch.float64)
    b = torch.randn(V, generator=g, dtype=torch.float64)
    t = torch.randint(0, V, (N,), generator=g)
    return x, W, b, t


# --- ignore_index=1.5 was truncated to 1: class 1 silently ignored (torch: TypeError) -----------------------

@pytest.mark.parametrize("call, ls", [
    (lambda z, t, x, W, ii: SF.cross_entropy(z, t, ignore_index=ii), 0.0),
    (lambda z, t, x, W, ii: SF.cross_entropy(z, t, ignore_index=ii, label_smoothing=0.1), 0.1),
    (lambda z, t, x, W, ii: SF.fused_linear_cross_entropy(x, W, t, ignore_index=ii), 0.0),
], ids=["plain", "options", "fused_linear"])
def test_float_ignore_index_is_refused_not_truncated(call, ls):
    x, W, _, t = (a.to(DEVICE) for a in _data())
    z = x @ W.T
    with pytest.raises(TypeError, match="ignore_index must be an int, not 1.5"):
        call(z, t, x, W, 1.5)
    with pytest.raises(TypeError, match="ignore_index must be an int"):
        call(z, t, x, W, True)
    got = call(z, t, x, W, np.int64(1))  # an integer of numpy is an integer
    torch.testing.assert_close(got, F.cross_entropy(z, t, ignore_index=1, label_smoothing=ls))


def test_fused_linear_ignore_index_outside_int64_is_one_clear_error():
    """2**64 reached the op's schema: 'Expected a value of type int ... found type int'."""
    x, W, _, t = (a.to(DEVICE) for a in _data())
    with pytest.raises(ValueError, match="outside the int64 range"):
        SF.fused_linear_cross_entropy(x, W, t, ignore_index=2**64)


def test_fused_linear_huge_chunk_size_is_one_chunk():
    """chunk_size=2**70 failed in the op's schema with a confusing RuntimeError."""
    x, W, b, t = (a.to(DEVICE) for a in _data())
    got = SF.fused_linear_cross_entropy(x, W, t, b, chunk_size=2**70)
    torch.testing.assert_close(got, F.cross_entropy(F.linear(x, W, b), t))


# --- soft targets: a class to ignore was silently dropped (torch refuses it) ---------------------------------

def test_soft_targets_refuse_a_nonnegative_ignore_index():
    x, W, _, _ = _data()
    z = (x @ W.T).to(DEVICE)
    p = torch.softmax(torch.randn(5, 4, dtype=torch.float64), -1).to(DEVICE)
    with pytest.raises(ValueError, match="ignore_index .1. is not supported for soft"):
        SF.cross_entropy(z, p, ignore_index=1)
    # a negative one means nothing for soft targets, in torch too
    torch.testing.assert_close(SF.cross_entropy(z, p, ignore_index=-1), F.cross_entropy(z, p, ignore_index=-1))


# --- zero features / zero classes: reshape(-1, 0) raised torch's "cannot reshape ... ambiguous" ------------

def test_fused_linear_with_zero_features_equals_torch():
    """H = 0: the logits are the bias alone (F.linear); was a RuntimeError from reshape(-1, 0)."""
    _, _, b0, t = _data()
    x0 = torch.zeros(5, 0, dtype=torch.float64)
    W0 = torch.zeros(4, 0, dtype=torch.float64)
    b = b0.clone().to(DEVICE).requires_grad_()
    got = SF.fused_linear_cross_entropy(x0.to(DEVICE), W0.to(DEVICE), t.to(DEVICE), b)
    got.backward()
    br = b0.clone().requires_grad_()
    want = F.cross_entropy(F.linear(x0, W0, br), t)
    want.backward()
    torch.testing.assert_close(got.cpu(), want)
    torch.testing.assert_close(b.grad.cpu(), br.grad)


@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.1}])
def test_cross_entropy_with_zero_classes_is_one_clear_error(opts):
    z = torch.randn(2, 0, device=DEVICE)
    with pytest.raises((IndexError, ValueError), match="outside|at least one class"):  # torch: IndexError
        SF.cross_entropy(z, torch.zeros(2, dtype=torch.long, device=DEVICE), **opts)
    with pytest.raises(ValueError, match="at least one class"):
        SF.cross_entropy(z, torch.full((2,), -100, device=DEVICE), **opts)


# --- no rows: the options were never checked (label_smoothing=2 gave a NaN loss, no error) -----------------

@pytest.mark.parametrize("bad, match", [
    ({"label_smoothing": 2.0}, "label_smoothing"),
    ({"softcap": 0.0}, "softcap"),
    ({"z_loss_scale": float("nan")}, "z_loss_scale"),
    ({"ce_weight": torch.ones(5)}, "weight"),
])
def test_fused_linear_with_no_rows_still_checks_its_options(bad, match):
    x, W, _, t = (a.to(DEVICE) for a in _data())
    bad = {k: (v.to(DEVICE) if isinstance(v, torch.Tensor) else v) for k, v in bad.items()}
    with pytest.raises(ValueError, match=match):
        SF.fused_linear_cross_entropy(x[:0], W, t[:0], **bad)
    # and with rows, the same error
    with pytest.raises(ValueError, match=match):
        SF.fused_linear_cross_entropy(x, W, t, **bad)


def test_fused_linear_with_no_rows_equals_torch():
    x, W, b, t = (a.to(DEVICE) for a in _data())
    for reduction in ("mean", "sum"):
        got = SF.fused_linear_cross_entropy(x[:0], W, t[:0], b, reduction=reduction, label_smoothing=0.1)
        want = F.cross_entropy(F.linear(x[:0], W, b), t[:0], reduction=reduction, label_smoothing=0.1)
        torch.testing.assert_close(got, want, equal_nan=True)


# --- vmap of the plain cross-entropy: an entry whose rows are all ignored had a NaN gradient (torch: 0) ------

def test_vmap_cross_entropy_entry_with_every_row_ignored_has_zero_gradient():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
    t = torch.randint(0, 4, (3, 5), generator=g)
    t[0] = -100
    zz = z.clone().to(DEVICE).requires_grad_()
    out = torch.vmap(lambda z, t: SF.cross_entropy(z, t))(zz, t.to(DEVICE))
    out.nansum().backward()
    zr = z.clone().requires_grad_()
    want = torch.stack([F.cross_entropy(zr[i], t[i]) for i in range(3)])
    want.nansum().backward()
    torch.testing.assert_close(out.cpu(), want, equal_nan=True)
    assert torch.isnan(out[0]).item()
    torch.testing.assert_close(zz.grad.cpu(), zr.grad)  # entry 0: zeros, was NaN


# --- FusedStep.load_state_dict took any hyperparameters and step count ---------------------------------------

def _model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).to(DEVICE)


@pytest.mark.parametrize("edit, match", [
    (lambda s: s["hyper"].update(beta1=5.0), r"betas\[0\] must lie in \[0.0, 1.0\)"),
    (lambda s: s["hyper"].update(eps=float("nan")), "eps must be finite"),
    (lambda s: s["hyper"].update(momentum=0.9), "hyperparameters"),
    (lambda s: s.update(steps_taken=-5), "steps_taken must be a whole number"),
    (lambda s: s.update(steps_taken=1.5), "steps_taken must be a whole number"),
    (lambda s: s.update(lr=float("inf")), "lr must be finite"),
])
def test_fused_step_load_state_dict_checks_what_it_takes(edit, match):
    """beta1=5 or steps_taken=-5 were taken as they were: Adam's update silently wrong (1 − β^k)."""
    opt = FusedStep(_model(), optimizer="adam", lr=0.1)
    opt.step(torch.randn(6, 3, device=DEVICE), torch.randint(0, 3, (6,), device=DEVICE))
    state = opt.state_dict()
    edit(state)
    other = FusedStep(_model(), optimizer="adam", lr=0.01)
    before = [s.clone() for s in other.state]
    with pytest.raises(FusedStepError, match=match):
        other.load_state_dict(state)
    assert other.lr == 0.01 and other.steps_taken == 0  # nothing changed
    assert all(torch.equal(a, b) for a, b in zip(before, other.state))


def test_fused_step_load_state_dict_round_trip_equals_continuing():
    x, t = torch.randn(6, 3, device=DEVICE), torch.randint(0, 3, (6,), device=DEVICE)
    a = FusedStep(_model(), optimizer="adam", lr=0.1, betas=(0.8, 0.9))
    a.step(x, t)
    b_model = _model()
    with torch.no_grad():
        for p, q in zip(b_model.parameters(), a.params):
            p.copy_(q)
    b = FusedStep(b_model, optimizer="adam", lr=0.5)
    b.load_state_dict(a.state_dict())
    assert b.lr == 0.1 and b.hyper == a.hyper and b.steps_taken == 1
    a.step(x, t)
    b.step(x, t)
    for p, q in zip(a.params, b.params):
        torch.testing.assert_close(p, q)


# --- FusedStep updated a frozen parameter (torch.optim leaves requires_grad=False alone) ----------------------

def test_fused_step_refuses_a_frozen_parameter():
    model = _model()
    model[0].bias.requires_grad_(False)
    with pytest.raises(FusedStepError, match=r"parameter 1 \(b1\) is frozen"):
        FusedStep(model, optimizer="momentum", lr=0.1)
    model[0].bias.requires_grad_(True)
    opt = FusedStep(model, optimizer="momentum", lr=0.1)
    model[2].weight.requires_grad_(False)  # frozen after construction: refused at the step, nothing written
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(FusedStepError, match=r"parameter 2 \(W2\) is frozen"):
        opt.step(torch.randn(6, 3, device=DEVICE), torch.randint(0, 3, (6,), device=DEVICE))
    assert all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before))


def test_fused_step_still_takes_plain_tensors():
    """A list of plain tensors (none requiring grad) is the documented other form: still taken."""
    params = [p.detach().clone() for p in _model().parameters()]
    opt = FusedStep(params, activations=("tanh", "linear"), optimizer="sgd", lr=0.1)
    loss = opt.step(torch.randn(6, 3, device=DEVICE), torch.randint(0, 3, (6,), device=DEVICE))
    assert torch.isfinite(loss)


# --- narrow integer classes compared in their own dtype: int8 200 wraps to −56, uint8 −100 to 156 ---------------

def _wide():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(3, 2, generator=g, dtype=torch.float64)
    W = torch.randn(200, 2, generator=g, dtype=torch.float64)
    return x, W


def test_int8_classes_with_200_classes_are_not_out_of_bounds():
    """int8 classes [−100, 3, 7] for 200 classes: 'class index 3 ... outside [0, 200)' (200 wrapped to −56)."""
    x, W = _wide()
    t8 = torch.tensor([-100, 3, 7], dtype=torch.int8)
    z = x @ W.T
    want = F.cross_entropy(z, t8.long(), label_smoothing=0.1)
    torch.testing.assert_close(SF.cross_entropy(z.to(DEVICE), t8.to(DEVICE), label_smoothing=0.1).cpu(), want)
    want = F.cross_entropy(z, t8.long())
    torch.testing.assert_close(SF.fused_linear_cross_entropy(x.to(DEVICE), W.to(DEVICE), t8.to(DEVICE)).cpu(), want)


def test_uint8_class_156_is_not_taken_for_ignore_index_minus_100():
    """uint8 class 156 equalled −100 (wrapped) in the mean's divisor while the kernel scored it:
    the fused linear CE's mean and the vmapped cross-entropy's mean were 3/2 too large, silently."""
    x, W = _wide()
    t = torch.tensor([156, 3, 7], dtype=torch.uint8)
    want = F.cross_entropy(x @ W.T, t.long())
    got = SF.fused_linear_cross_entropy(x.to(DEVICE), W.to(DEVICE), t.to(DEVICE))
    torch.testing.assert_close(got.cpu(), want)
    got = torch.vmap(lambda z, t: SF.cross_entropy(z, t))((x @ W.T).to(DEVICE)[None], t.to(DEVICE)[None])
    torch.testing.assert_close(got.cpu(), want[None])


# --- reduction="none": an ignored row's gradient was g_i·0, NaN for an upstream NaN/∞ (torch: 0) -------------

@pytest.mark.parametrize("call, ls", [
    (lambda x, W, t: SF.fused_linear_cross_entropy(x, W, t, reduction="none"), 0.0),
    (lambda x, W, t: SF.fused_linear_cross_entropy(x, W, t, reduction="none", label_smoothing=0.1), 0.1),
    (lambda x, W, t: SF.cross_entropy(x @ W.T, t, reduction="none"), 0.0),
    (lambda x, W, t: SF.cross_entropy(x @ W.T, t, reduction="none", label_smoothing=0.1), 0.1),
], ids=["fused_linear", "fused_linear_options", "plain", "options"])
def test_ignored_row_gradient_is_zero_whatever_its_upstream_gradient(call, ls):
    x0, W0, _, t = _data()
    t[0], t[3] = -100, -100
    g = torch.tensor([float("nan"), 1.0, -2.0, float("inf"), 0.5], dtype=torch.float64)
    x = x0.clone().to(DEVICE).requires_grad_()
    call(x, W0.to(DEVICE), t.to(DEVICE)).backward(g.to(DEVICE))
    xr = x0.clone().requires_grad_()
    F.cross_entropy(xr @ W0.T, t, reduction="none", label_smoothing=ls).backward(g)
    assert torch.isfinite(x.grad).all()
    torch.testing.assert_close(x.grad.cpu(), xr.grad)


def test_fused_linear_class_weights_summing_to_zero_give_no_finite_gradient():
    """Rows that count whose class weights sum to 0: the mean is ±∞/NaN, as torch; its gradient
    was 0 (the guard meant for all rows ignored), a finite gradient of a non-finite loss."""
    x0, W0, _, _ = _data()
    cw = torch.tensor([1.0, -1.0, 2.0, 1.0], dtype=torch.float64)
    t = torch.tensor([1, 3, -100, -100, -100])  # −1 + 1 = 0
    x = x0.clone().to(DEVICE).requires_grad_()
    loss = SF.fused_linear_cross_entropy(x, W0.to(DEVICE), t.to(DEVICE), ce_weight=cw.to(DEVICE))
    loss.backward()
    want = F.cross_entropy(x0 @ W0.T, t, weight=cw)
    assert not torch.isfinite(want) and not torch.isfinite(loss)
    assert not torch.isfinite(x.grad[:2]).any()  # torch: NaN there too


# --- symnet.compile_step(..., optimizer=...): its hyperparameters and step0 went to the kernel unchecked --------

@pytest.mark.parametrize("bad, match", [
    ({"beta1": 1.0}, r"beta1 must lie in \[0.0, 1.0\)"),
    ({"beta2": float("nan")}, "beta2 must be a finite number"),
    ({"eps": 0.0}, r"eps must lie in \(0.0"),
    ({"weight_decay": -1.0}, r"weight_decay must lie in \[0.0"),
    ({"step0": -1}, "step0 must be a whole number"),
    ({"step0": 1.5}, "step0 must be a whole number"),
])
def test_compile_step_with_adam_checks_its_hyperparameters(bad, match):
    """β₁ = 1, a NaN β₂, ε = 0 or step0 = −1 made every weight NaN after the first step, silently."""
    import symnet

    f = symnet.compile_step(("tanh", "linear"), "ce", optimizer="adam")
    params = [p.detach().clone() for p in _model().parameters()]
    state = [torch.zeros_like(p) for p in params for _ in range(2)]
    before = [p.clone() for p in params]
    kw = {"step0": 0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, **bad}
    x, t = torch.randn(6, 3, device=DEVICE), torch.randint(0, 3, (6,), device=DEVICE)
    with pytest.raises(ValueError, match=match):
        f(x, t, *params, torch.arange(6, device=DEVICE), 0.1, 2, state=state, **kw)
    assert all(torch.equal(p, b) for p, b in zip(params, before))
    f(x, t, *params, torch.arange(6, device=DEVICE), 0.1, 2, state=state,
      **{**kw, "step0": 0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0})
    assert all(torch.isfinite(p).all() for p in params)
