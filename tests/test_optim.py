"""The update rules (symnet.codegen.families.update_rules) and the fused step as an optimizer
(symnet.torch.optim.FusedStep): derived SGD with momentum and Adam follow torch.optim.SGD
and torch.optim.Adam for 20 steps — the generated NumPy update in float64, the generated
fused Triton step in float32 (under the interpreter without a GPU); the fused step bumps
the version counters of what it writes and refuses what it cannot do."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import torch_and_triton

torch, triton = torch_and_triton()

from symnet.codegen.families.update_rules import numpy_update, per_step_values, update_rule  # noqa: E402
from symnet.errors import FusedStepError, SymnetError  # noqa: E402
from symnet.torch.optim import FusedStep  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the interpreter's numpy overflows

# (our optimizer, its hyperparameters, the torch.optim optimizer built from the same settings)
CASES = {
    "sgd": (dict(lr=0.1, weight_decay=0.01), lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.01)),
    "momentum": (dict(lr=0.05, momentum=0.9, weight_decay=0.01),
                 lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)),
    "adam": (dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
             lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
}


def _hyper(name: str, settings: dict) -> dict:
    """The rule's hyperparameters by its names, from torch.optim-style settings."""
    h = {"lr": settings["lr"], "weight_decay": settings.get("weight_decay", 0.0)}
    if name == "momentum":
        h["momentum"] = settings["momentum"]
    if name == "adam":
        h["beta1"], h["beta2"] = settings["betas"]
        h["eps"] = settings["eps"]
    return h


# ------------------------------------------------------------------ the derivations

def test_the_derivations_solve_the_state_recurrences():
    adam = update_rule("adam").text()
    assert "rsolve" in adam and "m(t) = −g·(β₁^t − 1)" in adam and "m̂ = m(t)/(1 − β₁^t)" in adam
    momentum = update_rule("momentum").text()
    assert "b(t) = g·(μ^t − 1)/(μ − 1)" in momentum and "b_∞ = −g/(μ − 1)" in momentum
    assert update_rule("adam").state and not update_rule("sgd").state
    with pytest.raises(SymnetError, match="unknown optimizer 'lion'"):
        update_rule("lion")


def test_adams_bias_corrections_are_computed_from_the_derived_expressions():
    rule = update_rule("adam")
    values = per_step_values(rule, 3, {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0})
    assert values == pytest.approx({"bias1": 1 - 0.9**3, "bias2": 1 - 0.999**3}, rel=1e-15)


# ------------------------------------------------------------------ NumPy, float64, 20 steps

@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_update_follows_torch_optim_for_20_steps_in_float64(name):
    settings, make = CASES[name]
    rule = update_rule(name)
    update = numpy_update(rule)
    rng = np.random.default_rng(1)
    A = torch.tensor(rng.normal(size=(7, 5)), dtype=torch.float64)
    start = rng.normal(size=(5,))

    def loss(w):  # not quadratic, so the gradients differ from step to step in every direction
        return torch.log1p(torch.exp(A @ w)).sum() + (w**4).sum() / 4

    ref = torch.tensor(start, requires_grad=True)
    opt = make([ref])
    w = start.copy()
    state = [np.zeros_like(w) for _ in rule.state]
    hyper = _hyper(name, settings)
    for step in range(1, 21):
        opt.zero_grad()
        loss(ref).backward()
        opt.step()
        wt = torch.tensor(w, requires_grad=True)
        loss(wt).backward()
        w, *state = np.atleast_1d(*update(w, wt.grad.numpy(), *state, **hyper, **per_step_values(rule, step, hyper))) \
            if state else (update(w, wt.grad.numpy(), **hyper),)
        np.testing.assert_allclose(w, ref.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"step {step}")
    assert np.abs(w - start).max() > 0.05  # it moved


# ------------------------------------------------------------------ the fused Triton step, float32

def _nets(activations, sizes, seed=0):
    """A torch.nn MLP and a float32 copy of its parameters, W1, b1, W2, b2, …"""
    torch.manual_seed(seed)
    layers = []
    for n, a in enumerate(activations):
        layers.append(torch.nn.Linear(sizes[n], sizes[n + 1]))
        if a != "linear":
            layers.append({"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}[a]())
    net = torch.nn.Sequential(*layers).to(DEVICE)
    params = [p.detach().clone().requires_grad_() for p in net.parameters()]
    return net, params


def _data(n, d, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g).to(DEVICE), torch.randint(0, c, (n,), generator=g).to(DEVICE)


def _assert_same(params, net, rtol, atol, what=""):
    for k, (a, b) in enumerate(zip(params, net.parameters())):
        err = (a.detach() - b.detach()).abs().max().item()
        assert torch.allclose(a.detach(), b.detach(), rtol=rtol, atol=atol), f"{what} parameter {k}: max |Δ| {err:.3g}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_step_follows_torch_optim_for_20_steps_in_float32(name):
    settings, make = CASES[name]
    activations = ("tanh", "linear")
    net, params = _nets(activations, (5, 6, 3))
    x, t = _data(12, 5, 3)
    fused = FusedStep(params, activations=activations, loss="ce", optimizer=name, **settings)
    opt = make(net.parameters())
    for step in range(20):
        opt.zero_grad()
        ref = torch.nn.functional.cross_entropy(net(x), t)
        ref.backward()
        opt.step()
        loss = fused.step(x, t)
        assert abs(loss.item() - ref.item()) < 2e-6 * max(1, abs(ref.item())), f"step {step}"
    assert fused.steps_taken == 20
    _assert_same(params, net, rtol=1e-5, atol=1e-6, what=name)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_fused_step_split_over_programs_and_a_whole_epoch_in_one_launch(name):
    """A 40-example step is split over programs (atomics, the last program applies the rule);
    then 10 steps of 4 run in ONE launch, the state kept in registers."""
    settings, make = CASES[name]
    activations = ("relu", "linear")
    net, params = _nets(activations, (4, 5, 3), seed=1)
    x, t = _data(40, 4, 3, seed=1)
    fused = FusedStep(net, optimizer=name, **settings)  # the module's own parameters; activations read from it
    assert fused.activations == activations
    ref_net, _ = _nets(activations, (4, 5, 3), seed=1)
    opt = make(ref_net.parameters())
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ref_net(x), t).backward()
        opt.step()
        fused.step(x, t)
    _assert_same(list(net.parameters()), ref_net, rtol=1e-5, atol=1e-6, what="split")
    order = torch.randperm(40, generator=torch.Generator().manual_seed(2)).to(DEVICE)
    losses = fused.steps(x, t, order, 4)
    for k in range(10):
        rows = order[4 * k:4 * k + 4]
        opt.zero_grad()
        ref = torch.nn.functional.cross_entropy(ref_net(x[rows]), t[rows])
        ref.backward()
        opt.step()
        assert abs(losses[k].item() - ref.item()) < 1e-5
    assert fused.steps_taken == 13
    _assert_same(list(net.parameters()), ref_net, rtol=1e-5, atol=2e-6, what="epoch")


def test_fused_step_mse():
    net, params = _nets(("sigmoid", "sigmoid"), (2, 3, 1))
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], device=DEVICE)
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]], device=DEVICE)
    fused = FusedStep(params, activations=("sigmoid", "sigmoid"), loss="mse", optimizer="adam", lr=0.05)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(5):
        opt.zero_grad()
        ((net(x) - y) ** 2).sum(1).mean().backward()  # the fused mse: Σ over the outputs, mean over the batch
        opt.step()
        fused.step(x, y)
    _assert_same(params, net, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ a torch citizen

def test_fused_step_bumps_version_counters_so_a_stale_graph_refuses_backward():
    net, params = _nets(("tanh", "linear"), (3, 4, 2))
    x, t = _data(5, 3, 2)
    fused = FusedStep(params, activations=("tanh", "linear"), optimizer="adam", lr=0.01)
    versions = [p._version for p in params]
    stale = torch.nn.functional.cross_entropy(torch.tanh(x @ params[0].T + params[1]) @ params[2].T + params[3], t)
    fused.step(x, t)
    assert all(p._version > v for p, v in zip(params, versions))
    assert all(s._version > 0 for s in fused.state)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        stale.backward()


def test_fused_step_refuses_what_it_cannot_do():
    act = ("tanh", "linear")
    _, params = _nets(act, (3, 4, 2))
    with pytest.raises(FusedStepError, match="lr must be finite"):
        FusedStep(params, activations=act, lr=float("nan"))
    with pytest.raises(FusedStepError, match=r"lr must lie in \[0.0"):
        FusedStep(params, activations=act, lr=-0.1)
    opt = FusedStep(params, activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="lr must be finite"):
        opt.lr = float("inf")
    with pytest.raises(FusedStepError, match=r"betas\[1\] must lie in"):
        FusedStep(params, activations=act, optimizer="adam", lr=0.1, betas=(0.9, 1.0))
    with pytest.raises(FusedStepError, match="unknown optimizer 'lion'"):
        FusedStep(params, activations=act, optimizer="lion", lr=0.1)
    with pytest.raises(FusedStepError, match="dtype torch.float64"):
        FusedStep([p.double() for p in params], activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="not contiguous"):
        FusedStep([params[0].detach().T.contiguous().T, *params[1:]], activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="not a leaf: it is computed inside an autograd graph"):
        FusedStep([params[0] * 1, *params[1:]], activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="take 4 parameters"):
        FusedStep(params[:3], activations=act, lr=0.1)
    storage = torch.zeros(4 * 3 + 4, device=DEVICE)
    aliased = [storage[:12].view(4, 3), storage[8:12], params[2].detach(), params[3].detach()]
    with pytest.raises(FusedStepError, match="parameters 0 and 1 share memory"):
        FusedStep(aliased, activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="do not chain"):
        FusedStep([params[0], params[1], torch.zeros(2, 5, device=DEVICE), params[3]], activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="unknown activation"):
        FusedStep(params, activations=("swish!", "linear"), lr=0.1)
    class Shard(torch.Tensor):  # as FSDP2's DTensor: a tensor subclass the kernel cannot write whole
        pass
    with pytest.raises(FusedStepError, match="parameter 0 .W1. is a Shard, not a plain tensor"):
        FusedStep([params[0].detach().as_subclass(Shard), *params[1:]], activations=act, lr=0.1)
    with pytest.raises(FusedStepError, match="cannot take Dropout here"):
        FusedStep(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Dropout(), torch.nn.Linear(4, 2)), lr=0.1)
    with pytest.raises(FusedStepError, match="activations=... is needed"):
        FusedStep(params, lr=0.1)
    with torch.inference_mode():
        frozen = [p.detach().clone() for p in params]
    with pytest.raises(FusedStepError, match="inference_mode"):
        FusedStep(frozen, activations=act, lr=0.1)


def test_a_nan_loss_is_not_applied_and_is_reported():
    act = ("tanh", "linear")
    _, params = _nets(act, (3, 4, 2))
    x, t = _data(5, 3, 2)
    x[2, 0] = float("nan")
    before = [p.detach().clone() for p in params]
    opt = FusedStep(params, activations=act, optimizer="momentum", lr=0.1)
    with pytest.raises(FusedStepError, match="step 1 had loss nan: it was not applied"):
        opt.step(x, t)
    assert opt.steps_taken == 0
    assert all(torch.equal(a.detach(), b) for a, b in zip(params, before))


def test_state_dict_round_trip_continues_the_same_trajectory():
    act = ("tanh", "linear")
    _, params = _nets(act, (3, 4, 2))
    x, t = _data(6, 3, 2)
    opt = FusedStep(params, activations=act, optimizer="adam", lr=0.05)
    for _ in range(3):
        opt.step(x, t)
    saved_params = [p.detach().clone() for p in params]
    saved = opt.state_dict()
    after = [opt.step(x, t).item() for _ in range(2)]
    with torch.no_grad():
        for p, s in zip(params, saved_params):
            p.copy_(s)
    again = FusedStep(params, activations=act, optimizer="adam", lr=0.01)
    again.load_state_dict(saved)
    assert again.lr == 0.05 and again.steps_taken == 3
    assert [again.step(x, t).item() for _ in range(2)] == after
    with pytest.raises(FusedStepError, match="the state is of optimizer 'adam', not 'momentum'"):
        FusedStep(params, activations=act, optimizer="momentum", lr=0.1).load_state_dict(saved)
    with pytest.raises(FusedStepError, match="x is a|x must be a torch.Tensor"):
        again.step([[0.0] * 3], t)
