"""Session 17's breakage tests: hostile inputs against recent work, each fault found a test that failed before its
fix (or a strict xfail naming the fault). References are independent of symnet: torch's own optimizers, mpmath at
50 digits, torch in float64."""
from __future__ import annotations

import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()

from symnet.errors import FusedStepError  # noqa: E402
from symnet.torch.optim import FusedStep  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")


# ---------------------------------------------------------------------------------------------------------------
# (1) FusedStep.load_state_dict. Faults: a state without 'state', with None or a list of lists there gave KeyError,
# TypeError, AttributeError tracebacks; a complex or integer state was copied in (the imaginary part dropped with a
# warning), a meta one raised NotImplementedError half-way; and an Adam state whose second moment v has a negative
# entry (or any state with a NaN) was taken: the next step's loss, computed before the update, was finite, so the
# step was applied and the weights became NaN silently (torch.optim.Adam: the same NaN weights).

def _model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).to(DEVICE)


def _stepped(optimizer):
    opt = FusedStep(_model(), optimizer=optimizer, lr=0.01)
    opt.step(torch.randn(5, 3, device=DEVICE), torch.randint(0, 2, (5,), device=DEVICE))
    return opt


def _negative_v(state):  # Adam's state per parameter is (m, v): every odd tensor is a v
    state["state"] = [s - 5 if i % 2 else s for i, s in enumerate(state["state"])]


@pytest.mark.parametrize("optimizer, edit, match", [
    ("adam", lambda s: s.pop("state"), "must be the list of tensors from state_dict"),
    ("adam", lambda s: s.update(state=None), "not NoneType"),
    ("adam", lambda s: s.update(state=[[0.0]] * 8), "a list holding other things"),
    ("adam", lambda s: s.update(state=[t.to(torch.complex64) for t in s["state"]]), "complex64, not a real"),
    ("momentum", lambda s: s.update(state=[t.long() for t in s["state"]]), "int64, not a real"),
    ("adam", lambda s: s.update(state=[torch.empty_like(t, device="meta") for t in s["state"]]), "meta device"),
    ("momentum", lambda s: s["state"][2].view(-1)[3].fill_(float("nan")), r"state tensor 2 \(parameter 2's b\) has a NaN"),
    ("adam", lambda s: s["state"][0].view(-1)[0].fill_(float("inf")), "NaN or infinite"),
    ("adam", _negative_v, r"state tensor 1 \(parameter 0's v\).*negative entry"),
], ids=["no-state", "none", "lists", "complex", "int", "meta", "nan-buffer", "inf-m", "negative-v"])
def test_fused_step_load_state_dict_refuses_state_that_breaks_the_weights(optimizer, edit, match):
    state = _stepped(optimizer).state_dict()
    edit(state)
    other = FusedStep(_model(), optimizer=optimizer, lr=0.02)
    before = [s.clone() for s in other.state]
    with pytest.raises(FusedStepError, match=match):
        other.load_state_dict(state)
    assert other.lr == 0.02 and other.steps_taken == 0  # nothing changed
    assert all(torch.equal(a, b) for a, b in zip(before, other.state))


def test_fused_step_adam_state_with_a_zero_v_still_loads_and_matches_torch():
    """The check refuses v < 0 only: v = 0 (a weight whose gradient was always 0: m and v zero, as for a dead ReLU
    unit's row) loads, and the next step equals torch.optim.Adam's from the same state (float32, 1e-6)."""
    opt = _stepped("adam")
    state = opt.state_dict()
    state["state"][0][1].zero_()
    state["state"][1][1].zero_()
    model = _model()
    with torch.no_grad():
        for p, q in zip(model.parameters(), opt.params):
            p.copy_(q)
    again = FusedStep(model, optimizer="adam", lr=0.5)
    again.load_state_dict(state)
    x, t = torch.randn(5, 3, device=DEVICE), torch.randint(0, 2, (5,), device=DEVICE)
    ref_model = _model()
    with torch.no_grad():
        for p, q in zip(ref_model.parameters(), opt.params):
            p.copy_(q)
    ref = torch.optim.Adam(ref_model.parameters(), lr=0.01)
    ref.load_state_dict({"state": {i: {"step": torch.tensor(float(state["steps_taken"])), "exp_avg": m.clone(),
                                       "exp_avg_sq": v.clone()}
                                   for i, (m, v) in enumerate(zip(state["state"][0::2], state["state"][1::2]))},
                         "param_groups": ref.state_dict()["param_groups"]})
    ref.zero_grad()
    torch.nn.functional.cross_entropy(ref_model(x), t).backward()
    ref.step()
    again.step(x, t)
    for p, q in zip(again.params, ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-6)
