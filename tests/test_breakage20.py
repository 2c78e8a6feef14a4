"""Session 20, h-break20: attacks on sessions 18–19's work (FusedStep's renamed target, the infinite-limit rule's far
branches and signed zeros, the double-word sin/cos/tanh, row-wise kernels on views and half precision, hostile names).

References are independent of symnet's code generator: torch in float64 (values, autograd), mpmath at 50+ digits, the
sign of a zero from the sign of the exact value next to it.
"""
from __future__ import annotations

import pytest



# --- FusedStep.step(x, target): every launcher message names target, quoted or not, TypeError too -----------------
# Session 19 renamed the launcher's t in IndexError/ValueError messages only, and only where t stood bare: a float or
# 2-D class target said "t must be a 1-D int32/int64 tensor of classes, one per example" (a TypeError), an int64 or
# 1-D regression target "argument 't' has dtype torch.int64 …" / "argument 't' has shape (6,) …".

def test_fused_step_names_target_in_type_errors_and_quoted():
    from conftest import torch_and_triton
    torch = torch_and_triton()[0]
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    x = torch.randn(8, 4)
    before = [p.detach().clone() for p in net.parameters()]
    ce = FusedStep(net, loss="ce")
    for bad in (torch.rand(8), torch.zeros(8, 3, dtype=torch.int64), torch.zeros(8, dtype=torch.int16)):
        with pytest.raises(TypeError, match=r"^target must be a 1-D int32/int64 tensor of classes, one per example$"):
            ce.step(x, bad)
    mse = FusedStep(net, activations=("relu", "linear"), loss="mse")
    with pytest.raises(TypeError, match=r"^argument 'target' has dtype torch.int64; the fused training kernels take"):
        mse.step(x, torch.zeros(8, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"^argument 'target' has shape \(8,\); expected 2 dimensions$"):
        mse.step(x, torch.zeros(8))
    with pytest.raises(ValueError, match=r"^target has 2 outputs per example but the network has 3$"):  # still
        mse.step(x, torch.zeros(8, 2))
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, net.parameters()))  # nothing applied


def test_renamed_target_keeps_other_words():
    pytest.importorskip("torch")
    from symnet.torch.optim import _renamed_target

    assert _renamed_target("argument 't' has dtype x") == "argument 'target' has dtype x"
    assert _renamed_target("can't read t's 'tt' or t") == "can't read t's 'tt' or target"
