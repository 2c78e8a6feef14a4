"""symnet.torch, what kept issue 18 open:

1. the torch.library.triton_op / wrap_triton path (the default where kernels are compiled) run
   on this CPU: a fresh process with ``SYMNET_TORCH_TRITON_OP=1`` registers every elementwise op
   and both cross-entropy ops as triton_ops under Triton's interpreter, and this file, run as a
   script there (:func:`triton_op_path_checks`), checks them against torch in float64: eager
   values and gradients, gradcheck, ``torch.compile(backend="aot_eager", fullgraph=True)``
   whose graph holds the kernels (``triton_kernel_wrapper_functional``, launched by the
   interpreter), opcheck, vmap, and a torch.export file reloaded in another fresh process;
2. torch.func.grad / vjp through symnet ops;
3. compile_step's raw API refuses a bad lr and aliased state.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()

ROOT = Path(__file__).resolve().parents[1]
F = torch.nn.functional
# the in-process tests use CPU tensors: Triton's interpreter (on a GPU machine they are skipped)
cpu_interpreter = pytest.mark.skipif(os.environ.get("TRITON_INTERPRET") != "1",
                                     reason="CPU tensors, run by Triton's interpreter (TRITON_INTERPRET=1)")


def _close(got, want, what, rtol=1e-12, atol=1e-13):
    """assert_close naming the op and the worst element."""
    got, want = torch.as_tensor(got).detach(), torch.as_tensor(want).detach()
    assert got.shape == want.shape, f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    err = (got - want).abs()
    bad = err > atol + rtol * want.abs()
    if bool(bad.any()):
        i = int(torch.where(bad, err / (atol + rtol * want.abs()), 0).argmax())
        raise AssertionError(f"{what}: {int(bad.sum())}/{got.numel()} elements differ, worst at flat index {i}: "
                             f"{got.flatten()[i].item()!r} vs {want.flatten()[i].item()!r}")


# --- 1. the triton_op path, in a fresh process -------------------------------------------------

def _inputs(name, n, shape=(3, 5), seed=0):
    """float64 inputs inside each op's domain: x ~ 2·N(0, 1) (a probability for bce), the other
    inputs (targets, variances) in (0.1, 0.9); points off the kinks with probability 1."""
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(*shape, generator=g, dtype=torch.float64) * 2]
    xs += [torch.rand(*shape, generator=g, dtype=torch.float64) * 0.8 + 0.1 for _ in range(n - 1)]
    if name == "bce":
        xs[0] = torch.rand(*shape, generator=g, dtype=torch.float64) * 0.8 + 0.1
    return xs


RTOL: dict[str, float] = {}
OWN = {"hardsigmoid": lambda x: torch.clamp(x / 6 + 0.5, 0, 1)}  # torch's gradient takes 1/6 in float32


def _elementwise():
    """(name, op, the registry's torch function of the tensors) for every elementwise op."""
    from symnet.registry import REGISTRY
    from symnet.torch import _ops

    return [(name, op, OWN.get(name, lambda *xs, e=REGISTRY[name]: e.torch(torch, *xs)))
            for name, op in _ops.registry_ops().items() if name in REGISTRY]  # not from_formula's


def _check_eager_and_gradcheck():
    """Every op's values and gradients against torch's autograd at every element; finite differences (gradcheck's
    fast mode) through the triton_op registration, which every elementwise op shares (one Pointwise op class), at
    the first op of each number of inputs: gradcheck launches an op 2·inputs + 2 times, the check against torch once
    (the gradchecks of all 34 ops took a fifth of this script's CPU)."""
    arities = set()
    for name, op, reference in _elementwise():
        xs = _inputs(name, len(op.inputs))
        mine = [x.clone().requires_grad_() for x in xs]
        theirs = [x.clone().requires_grad_() for x in xs]
        out, ref = op.op(*mine, [])[0], reference(*theirs)
        _close(out, ref, f"{name} value")
        scale = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).reshape(out.shape)
        got = torch.autograd.grad((out * scale).sum(), mine)
        want = torch.autograd.grad((ref * scale).sum(), theirs)
        for i, (a, b) in enumerate(zip(got, want)):
            _close(a, b, f"{name} ∂/∂{op.inputs[i]}", rtol=RTOL.get(name, 1e-11))
        # finite differences in gradcheck's fast mode (vᵀ·J·u for random u, v: 2 forwards an input, not 2 an
        # element; each forward a launch under the interpreter); every element is compared with torch's above
        if len(op.inputs) in arities:
            continue
        arities.add(len(op.inputs))
        small = [x[:2, :2].clone().requires_grad_() for x in xs]
        assert torch.autograd.gradcheck(lambda *a, op=op: op.op(*a, [])[0], small, fast_mode=True), name
    assert arities == {1, 2, 3}, arities


def _check_compiled_graph_holds_the_kernels():
    """One fullgraph aot_eager compile of Σ c_i·op_i over every op: the forward graph launches
    each op's kernel (a triton_kernel_wrapper_functional node; no opaque symnet_torch call),
    the interpreter runs it; loss and the gradient of every input equal torch's."""
    from torch._dynamo.backends.common import aot_autograd
    from functorch.compile import make_boxed_func

    ops = _elementwise()
    xs = _inputs("all", 3)
    graphs = []

    def keep(gm, example_inputs):
        graphs.append(gm)
        return make_boxed_func(gm.forward)

    def total(fns, x, t, v):
        args = (x, t, v)
        return sum((i + 1) / len(fns) * f(*args[first:first + n]).sum() for i, (f, first, n) in enumerate(fns))

    # bce takes a probability: (t, v) there
    mine = [(lambda *a, op=op: op.op(*a, [])[0], int(name == "bce"), len(op.inputs)) for name, op, _ in ops]
    theirs = [(reference, int(name == "bce"), len(op.inputs)) for name, op, reference in ops]
    compiled = torch.compile(lambda *a: total(mine, *a), backend=aot_autograd(fw_compiler=keep, bw_compiler=keep),
                             fullgraph=True)
    a = [x.clone().requires_grad_() for x in xs]
    b = [x.clone().requires_grad_() for x in xs]
    loss, ref = compiled(*a), total(theirs, *b)
    _close(loss, ref, "compiled Σ ops value", rtol=1e-12)
    for i, (g, h) in enumerate(zip(torch.autograd.grad(loss, a), torch.autograd.grad(ref, b))):
        _close(g, h, f"compiled Σ ops ∂/∂input {i}", rtol=1e-10)
    forward = graphs[0].graph
    launches = [n for n in forward.nodes if "triton_kernel_wrapper_functional" in str(n.target)]
    opaque = [n for n in forward.nodes if "symnet_torch" in str(n.target)]
    # (up to 2 an op: a float64 kernel with a widened sum and its repair kernel, which a traced launcher runs on every
    # block: no flag can be read back while torch.compile traces; session 23 focal's alone, session 24 every kernel
    # whose widened sums have the scaled tier)
    assert len(ops) <= len(launches) <= 2 * len(ops) and not opaque, (len(launches), len(ops), opaque)


def _ce_cases():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(6, 7, generator=g, dtype=torch.float64) * 2
    target = torch.tensor([1, 0, 6, -100, 3, 2])
    w = torch.rand(7, generator=g, dtype=torch.float64) + 0.5
    plain = torch.ops.symnet_torch.cross_entropy.default
    options = torch.ops.symnet_torch.cross_entropy_options.default
    for reduction in ("mean", "sum", "none"):
        yield (f"cross_entropy {reduction}", z, lambda z, r=reduction: plain(z, target, r, -100)[0],
               lambda z, r=reduction: F.cross_entropy(z, target, reduction=r))
        yield (f"cross_entropy_options {reduction}", z,
               lambda z, r=reduction: options(z, target, w, -100, r, 0.1, None, 0.0)[0],
               lambda z, r=reduction: F.cross_entropy(z, target, weight=w, reduction=r, label_smoothing=0.1))


def _check_cross_entropy():
    """Both cross-entropy triton_ops, eager and compiled, against F.cross_entropy in float64;
    the compiled graph holds the class check and the kernels; a bad class still raises."""
    from torch._dynamo.backends.common import aot_autograd
    from functorch.compile import make_boxed_func

    for what, z, mine, theirs in _ce_cases():
        graphs = []

        def keep(gm, example_inputs):
            graphs.append(gm)
            return make_boxed_func(gm.forward)

        compiled = torch.compile(mine, backend=aot_autograd(fw_compiler=keep, bw_compiler=keep), fullgraph=True)
        if what.endswith("none"):  # torch cannot tell what an interpreted kernel writes: refused, see _ops
            try:
                compiled(z.clone().requires_grad_())
            except Exception as e:  # torch wraps the error raised while tracing
                assert "reduction='none' is not traced as a triton_op under TRITON_INTERPRET=1" in str(e), e
            else:
                raise AssertionError(f"{what}: compiled under the interpreter did not refuse")
            compiled = None
        for how, fn in (("eager", mine), ("compiled", compiled)):
            if fn is None:
                continue
            a, b = z.clone().requires_grad_(), z.clone().requires_grad_()
            loss, ref = fn(a), theirs(b)
            _close(loss, ref, f"{what} {how} loss")
            scale = torch.linspace(0.5, 1.5, loss.numel(), dtype=torch.float64).reshape(loss.shape)
            _close(torch.autograd.grad((loss * scale).sum(), a)[0], torch.autograd.grad((ref * scale).sum(), b)[0],
                   f"{what} {how} gradient")
        if not graphs:
            continue
        code = graphs[0].code
        assert "triton_kernel_wrapper_functional(" in code and "symnet_torch.checked_classes" in code, code
        assert "symnet_torch.cross_entropy" not in code, code
    z = torch.randn(2, 3, dtype=torch.float64)
    for call in (lambda: torch.ops.symnet_torch.cross_entropy(z, torch.tensor([0, 3]), "mean", -100),
                 lambda: torch.ops.symnet_torch.cross_entropy_options(z, torch.tensor([0, 3]), None, -100, "mean",
                                                                      0.0, None, 0.0)):
        try:
            call()
        except IndexError as e:
            assert "class index 3 in target is outside [0, 3)" in str(e), e
        else:
            raise AssertionError("a class out of range did not raise")


def _check_opcheck_and_vmap():
    from symnet.torch import _ops

    ops = _ops.registry_ops()
    for name, params in (("sigmoid", []), ("huber", [0.75]), ("gaussian_nll", []), ("leaky_relu", [0.2])):
        xs = [x.requires_grad_() for x in _inputs(name, len(ops[name].inputs))]
        torch.library.opcheck(ops[name].op, (*xs, params))
    # float32: opcheck calls an op a dozen times and checks its registration, the same in every dtype; float64 rows
    # launch the double-word helpers (a tenth of this script's CPU here); the float64 values are checked above
    z = torch.randn(4, 7, dtype=torch.float32, requires_grad=True)
    target = torch.tensor([1, 0, 6, 3])
    torch.library.opcheck(torch.ops.symnet_torch.cross_entropy.default, (z, target, "mean", -100))
    torch.library.opcheck(torch.ops.symnet_torch.cross_entropy_options.default,
                          (z, target, None, -100, "sum", 0.1, 2.0, 1e-3))
    for name, op, reference in _elementwise():
        xs = _inputs(name, len(op.inputs), shape=(2, 3, 4))
        _close(torch.vmap(lambda *a, op=op: op.op(*a, [])[0])(*xs), reference(*xs), f"{name} vmap",
               rtol=RTOL.get(name, 1e-12))


class _Model(torch.nn.Module):
    def forward(self, x, t, z, target):
        from symnet.torch import functional as SF

        return SF.huber_loss(SF.gelu(x), t, delta=0.5) + SF.cross_entropy(z, target, label_smoothing=0.1) \
            + SF.cross_entropy(z, target)


def _export_args():
    g = torch.Generator().manual_seed(5)
    return (torch.randn(3, 4, generator=g, dtype=torch.float64), torch.rand(3, 4, generator=g, dtype=torch.float64),
            torch.randn(5, 6, generator=g, dtype=torch.float64), torch.tensor([0, 5, 2, 1, 3]))


def _reference(x, t, z, target):
    return (F.huber_loss(F.gelu(x), t, delta=0.5) + F.cross_entropy(z, target, label_smoothing=0.1)
            + F.cross_entropy(z, target))


def _check_export(path):
    """A torch.export of a model of triton_ops (kept as symnet_torch ops, as torch keeps triton_ops
    in an exported program), saved for another fresh process to load and run."""
    ep = torch.export.export(_Model(), _export_args())
    called = {str(n.target) for n in ep.graph.nodes if "symnet_torch" in str(n.target)}
    assert {"symnet_torch.gelu.default", "symnet_torch.huber.default", "symnet_torch.cross_entropy.default",
            "symnet_torch.cross_entropy_options.default"} <= called, called
    _close(ep.module()(*_export_args()), _reference(*_export_args()), "exported program")
    torch.export.save(ep, path)


def _check_reload(path):
    ep = torch.export.load(path)
    _close(ep.module()(*_export_args()), _reference(*_export_args()), "reloaded program")


def triton_op_path_checks(export_path: str) -> dict:
    """Every check of the triton_op path, in this process (run with SYMNET_TORCH_TRITON_OP=1 and
    TRITON_INTERPRET=1 set before symnet.torch is imported)."""
    from symnet.torch import _ops

    assert _ops.inductor_visible(), "SYMNET_TORCH_TRITON_OP=1 did not register triton_ops"
    assert torch.ops.symnet_torch.gelu.default in _triton_ops(), "gelu is not a triton_op"
    _check_eager_and_gradcheck()
    _check_compiled_graph_holds_the_kernels()
    _check_cross_entropy()
    _check_opcheck_and_vmap()
    _check_export(export_path)
    return {"ops": len(_elementwise()) + 2}


def _triton_ops():
    from torch._library.triton import triton_ops_to_kernels

    return {getattr(torch.ops.symnet_torch, name.split("::")[1]).default for name in triton_ops_to_kernels
            if name.startswith("symnet_torch::")}


def _forced(*args, timeout=400):
    env = {**os.environ, "TRITON_INTERPRET": "1", "SYMNET_TORCH_TRITON_OP": "1", "PYTHONPATH": str(ROOT)}
    env.pop("SYMNET_TORCH_OPAQUE", None)
    return subprocess.run([sys.executable, str(Path(__file__)), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter's triton_op path; a GPU compiles the kernels")
def test_triton_op_path_runs_under_the_interpreter(tmp_path):
    """Every elementwise op and both cross-entropy ops registered as triton_ops (SYMNET_TORCH_TRITON_OP=1)
    run under the interpreter: eagerly, gradcheck, compiled (aot_eager, fullgraph; the graph holds
    the kernels), opcheck, vmap, and a torch.export file that reloads in another fresh process."""
    path = str(tmp_path / "model.pt2")
    run = _forced("check", path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-6000:]
    assert json.loads(run.stdout.strip().splitlines()[-1])["ops"] == 36
    run = _forced("reload", path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-6000:]



# --- 2. torch.func through symnet ops ------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _w_sin_x_plus_b():
    """from_formula's op of w·sin(x) + b, built when a test first calls it, not at import: every process that
    collects this file (each xdist worker, and both script processes of part 1) derived and compiled it (collecting
    it: 7.4 s of CPU, 6.7 s without)."""
    from symnet.torch import from_formula

    return from_formula("w*sin(x) + b", inputs=["x", "w", "b"])


def _func_cases():
    """(name, symnet function, torch function, inputs): every op of symnet.torch, each argument
    differentiated (torch.func.grad with argnums = every tensor input)."""
    from symnet.torch import functional as SF

    g = torch.Generator().manual_seed(11)

    def r(*shape, lo=None):
        x = torch.randn(*shape, generator=g, dtype=torch.float64)
        return x if lo is None else x.abs() * 0.4 + lo

    x, t = r(4, 3), r(4, 3, lo=0.1)
    W, b, Wh, h = r(5, 3), r(5), r(5, 5), r(4, 5)
    y = torch.tensor([1, 0, 4, 2])
    cases = [(name, getattr(SF, name), reference, (x,)) for name, reference in (
        ("sigmoid", torch.sigmoid), ("gelu", F.gelu), ("silu", F.silu), ("softplus", F.softplus),
        ("logsigmoid", F.logsigmoid), ("tanh", torch.tanh), ("mish", F.mish), ("elu", F.elu))]
    cases += [
        ("mse_loss", SF.mse_loss, F.mse_loss, (x, t)),
        ("huber_loss", lambda a, b: SF.huber_loss(a, b, delta=0.5), lambda a, b: F.huber_loss(a, b, delta=0.5), (x, t)),
        ("binary_cross_entropy_with_logits", SF.binary_cross_entropy_with_logits,
         F.binary_cross_entropy_with_logits, (x, t)),
        ("linear", SF.linear, F.linear, (x, W, b)),
        ("dense sigmoid", lambda a, w, c: SF.dense(a, w, c, activation="sigmoid"),
         lambda a, w, c: torch.sigmoid(F.linear(a, w, c)), (x, W, b)),
        ("rnn_step", SF.rnn_step, lambda a, hp, wi, wh: torch.sigmoid(a @ wi.T + hp @ wh.T), (x, h, W, Wh)),
        ("softmax", lambda z: SF.softmax(z, -1), lambda z: F.softmax(z, -1), (x,)),
        ("log_softmax", lambda z: SF.log_softmax(z, 0), lambda z: F.log_softmax(z, 0), (x,)),
        ("cross_entropy", lambda z: SF.cross_entropy(z, y[:, None].clamp(max=2).squeeze(1)),
         lambda z: F.cross_entropy(z, y[:, None].clamp(max=2).squeeze(1)), (x,)),
        ("cross_entropy options", lambda z: SF.cross_entropy(z, y.clamp(max=2), label_smoothing=0.1, reduction="sum"),
         lambda z: F.cross_entropy(z, y.clamp(max=2), label_smoothing=0.1, reduction="sum"), (x,)),
        ("fused_linear_cross_entropy", lambda a, w, c: SF.fused_linear_cross_entropy(a, w, y, c),
         lambda a, w, c: F.cross_entropy(F.linear(a, w, c), y), (x, W, b)),
        ("from_formula", lambda x, w, b: _w_sin_x_plus_b()(x, w, b), lambda x, w, b: w * torch.sin(x) + b,
         (x, t, x.flip(0))),
    ]
    return cases


FUNC_CASES = _func_cases() if __name__ != "__main__" else []  # not in the script processes of part 1


def _scalar(fn):
    """Σ c·fn(...) with weights c, so every output entry counts with its own factor."""
    def total(*a):
        out = fn(*a)
        return (out * torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)).sum()
    return total


@cpu_interpreter
@pytest.mark.parametrize("name, mine, theirs, inputs", FUNC_CASES, ids=[c[0] for c in FUNC_CASES])
def test_torch_func_grad_through_every_op(name, mine, theirs, inputs):
    """torch.func.grad with respect to every tensor argument, against torch's own functions in float64."""
    argnums = tuple(range(len(inputs)))
    got = torch.func.grad(_scalar(mine), argnums=argnums)(*inputs)
    want = torch.func.grad(_scalar(theirs), argnums=argnums)(*inputs)
    for i, (a, b) in enumerate(zip(got, want)):
        _close(a, b, f"{name} ∂/∂argument {i}", rtol=1e-11, atol=1e-12)


@cpu_interpreter
@pytest.mark.parametrize("name, mine, theirs, inputs", FUNC_CASES[::3], ids=[c[0] for c in FUNC_CASES[::3]])
def test_torch_func_vjp_jacrev_and_vmap_of_grad(name, mine, theirs, inputs):
    out, pull = torch.func.vjp(mine, *inputs)
    ref, pull_ref = torch.func.vjp(theirs, *inputs)
    _close(out, ref, f"{name} vjp value")
    v = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    for i, (a, b) in enumerate(zip(pull(v), pull_ref(v))):
        _close(a, b, f"{name} vjp ∂/∂argument {i}", rtol=1e-11, atol=1e-12)
    _close(torch.func.jacrev(mine)(*inputs), torch.func.jacrev(theirs)(*inputs), f"{name} jacrev", rtol=1e-11,
           atol=1e-12)
    if all(a.shape == inputs[0].shape for a in inputs) and name != "log_softmax":  # per-row gradients
        rows = lambda f: torch.vmap(torch.func.grad(lambda *row: _scalar(f)(*(r[None] for r in row))))  # noqa: E731
        _close(rows(mine)(*inputs), rows(theirs)(*inputs), f"{name} vmap(grad)", rtol=1e-11, atol=1e-12)


@cpu_interpreter
def test_torch_func_grad_of_module_parameters_with_functional_call():
    """Per-parameter gradients of a symnet.torch model by torch.func (functional_call), as of the
    same model built from torch.nn."""
    import symnet.torch as st

    torch.manual_seed(0)
    mine = torch.nn.Sequential(st.nn.Linear(3, 4, activation="sigmoid"), st.nn.GELU(), st.nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.GELU(),
                                 torch.nn.Linear(4, 2)).double()
    theirs[0].load_state_dict(mine[0].state_dict())
    theirs[3].load_state_dict(mine[2].state_dict())
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.tensor([0, 1, 1, 0, 1])

    def loss(model, ce):
        return lambda params: ce(torch.func.functional_call(model, params, (x,)), y)

    got = torch.func.grad(loss(mine, st.functional.cross_entropy))(dict(mine.named_parameters()))
    want = torch.func.grad(loss(theirs, F.cross_entropy))(dict(theirs.named_parameters()))
    for (k, a), b in zip(got.items(), [want[k.replace("2.", "3.")] for k in got]):
        _close(a, b, f"∂/∂{k}", rtol=1e-11, atol=1e-12)


@cpu_interpreter
def test_torch_func_second_derivative_and_forward_mode():
    """grad of grad raises DoubleBackwardError naming the op (never a silent 0); jvp works for the
    elementwise ops (their kernels return ∂f/∂x) and is a one-line ForwardModeError elsewhere."""
    from symnet.torch import DoubleBackwardError, functional as SF
    from symnet.torch._ops import ForwardModeError

    x, t = torch.randn(4, 3, dtype=torch.float64), torch.rand(4, 3, dtype=torch.float64)
    for f in (lambda x: SF.gelu(x).sum(), lambda x: SF.huber_loss(x, t), lambda x: SF.softmax(x, -1)[:, 0].sum()):
        with pytest.raises(DoubleBackwardError, match="is differentiable once"):
            torch.func.grad(lambda x, f=f: torch.func.grad(f)(x).sum())(x)
    value, tangent = torch.func.jvp(lambda a, b: SF.huber_loss(a, b, reduction="none"), (x, t), (t, x))
    ref, ref_tangent = torch.func.jvp(lambda a, b: F.huber_loss(a, b, reduction="none"), (x, t), (t, x))
    _close(value, ref, "jvp value")
    _close(tangent, ref_tangent, "jvp tangent")
    with pytest.raises(ForwardModeError, match="symnet_torch::softmax has no forward-mode derivative"):
        torch.func.jvp(lambda z: SF.softmax(z, -1), (x,), (t,))
    # plain autograd and torch.compile still call the ops themselves (no autograd.Function in between)
    gm = torch.fx.experimental.proxy_tensor.make_fx(lambda x: SF.gelu(x))(x)
    assert "symnet_torch.gelu.default" in gm.code


# --- 3. the raw compile_step refuses a bad lr and memory it would update twice ------------------

def _raw_step(optimizer="momentum"):
    import symnet

    f = symnet.compile_step(("tanh", "linear"), "mse", optimizer=optimizer)
    g = torch.Generator().manual_seed(2)
    params = [torch.randn(4, 3, generator=g) * 0.5, torch.zeros(4), torch.randn(2, 4, generator=g) * 0.5,
              torch.zeros(2)]
    per = 1 if optimizer == "momentum" else 2
    state = [torch.zeros_like(p) for p in params for _ in range(per)]
    hyper = {"momentum": 0.9, "weight_decay": 0.0} if optimizer == "momentum" else \
        {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    x, t = torch.randn(6, 3, generator=g), torch.randn(6, 2, generator=g)
    return f, x, t, params, state, hyper


@cpu_interpreter
@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -0.1, 1e39])
def test_raw_compile_step_refuses_a_bad_learning_rate(lr):
    """A NaN, infinite, negative or float32-overflowing lr went to the kernel (weights NaN or
    ascending), silently; FusedStep refused it, the raw API did not."""
    from symnet.errors import FusedStepError

    f, x, t, params, state, hyper = _raw_step()
    before = [p.clone() for p in params]
    with pytest.raises(FusedStepError, match="lr is .*; a learning rate must be a finite number ≥ 0"):
        f(x, t, *params, torch.arange(6), lr, 3, state=state, step0=0, **hyper)
    lrs = torch.tensor([0.1, lr], dtype=torch.float32)
    if lr <= 3.4e38:  # a float32 tensor cannot hold 1e39 (it is inf there: refused as such)
        with pytest.raises(FusedStepError, match=r"lr\[1\] is .*; a learning rate must be a finite number ≥ 0"):
            f(x, t, *params, torch.arange(6), lrs, 3, state=state, step0=0, **hyper)
    assert all(torch.equal(p, b) for p, b in zip(params, before))
    f(x, t, *params, torch.arange(6), 0.1, 3, state=state, step0=0, **hyper)  # a good one runs
    assert not all(torch.equal(p, b) for p, b in zip(params, before))


def _aliased(params, state):
    """(what, params, state, the error expected): memory shared where the step writes."""
    W1, b1, W2, b2 = params
    buffer = torch.zeros(W1.numel() + 8)
    first, shifted = buffer[:W1.numel()].view_as(W1), buffer[8:8 + W1.numel()].view_as(W1)  # overlapping
    yield "state[0] is W1", params, [W1, *state[1:]], r"W1 and state\[0\] share memory"
    yield "state[2] is state[1]", params, [*state[:2], state[1], *state[3:]], r"state\[1\] and state\[2\] share memory"
    yield "a view of b1 as a state", params, [state[0], b1[:], *state[2:]], r"b1 and state\[1\] share memory"
    yield "W1 and state[0] overlapping slices of one buffer", [first, b1, W2, b2], [shifted, *state[1:]], \
        r"W1 and state\[0\] share memory"


@cpu_interpreter
def test_raw_compile_step_refuses_state_sharing_memory_with_what_it_updates():
    """Momentum/Adam state aliasing a weight or another state tensor, or overlapping views of one
    buffer: the kernel keeps each in registers and writes it back, so one update was lost."""
    from symnet.errors import FusedStepError

    for optimizer in ("momentum", "adam"):
        f, x, t, params, state, hyper = _raw_step(optimizer)
        for what, ps, st, match in _aliased(params, state):
            with pytest.raises(FusedStepError, match=match):
                f(x, t, *ps, torch.arange(6), 0.1, 3, state=st, step0=0, **hyper)
        # a weight that is also the input x (read while it is written)
        x_as_weight = torch.randn(4, 3)
        with pytest.raises(FusedStepError, match="W1 and x share memory"):
            f(x_as_weight, torch.randn(4, 2), x_as_weight, *params[1:], torch.arange(4), 0.1, 2, state=state,
              step0=0, **hyper)
        # disjoint slices of one buffer are fine: the step runs and equals the same step on separate tensors
        buffer = torch.zeros(2 * params[0].numel())
        halves = [buffer[:params[0].numel()].view_as(params[0]), buffer[params[0].numel():].view_as(params[0])]
        halves[0].copy_(params[0])
        ps = [halves[0], *[p.clone() for p in params[1:]]]
        st = [halves[1], *[s.clone() for s in state[1:]]]
        ref_ps, ref_st = [p.clone() for p in params], [s.clone() for s in state]
        f(x, t, *ps, torch.arange(6), 0.1, 3, state=st, step0=0, **hyper)
        f(x, t, *ref_ps, torch.arange(6), 0.1, 3, state=ref_st, step0=0, **hyper)
        for a, b in zip(ps + st, ref_ps + ref_st):
            assert torch.equal(a, b)


# --- 4. vmap rules registered as each kernel module loads ---------------------------------------

def test_import_loads_no_kernel_module_and_each_gets_its_vmap_rules_as_it_loads():
    """import symnet.torch loaded all 16 committed Triton modules (0.2–0.35 s) to register their
    vmap rules; now a module's rules are registered when it loads (tests/test_vmap_generated.py
    checks every op of every module has one)."""
    script = (
        "import sys, torch, symnet.torch\n"
        "loaded = [m for m in sys.modules if m.startswith('symnet_kernels_triton_')]\n"
        "assert loaded == [], loaded\n"
        "from symnet.kernels import load_kernel\n"
        "load_kernel('dense', 'triton')\n"
        "has = lambda n: torch._C._dispatch_has_kernel_for_dispatch_key(f'symnet::{n}', 'FuncTorchBatched')\n"
        "assert all(has(n) for n in ('linear', 'linear_backward', 'dense_sigmoid', 'dense_sigmoid_backward'))\n"
        "x, W, b = torch.randn(3, 2, 4), torch.randn(5, 4), torch.randn(5)\n"
        "got = torch.vmap(lambda a: torch.ops.symnet.linear(a, W, b))(x)\n"
        "torch.testing.assert_close(got, x @ W.T + b, rtol=1e-5, atol=1e-5)\n")
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]

if __name__ == "__main__":
    if sys.argv[1] == "check":
        print(json.dumps(triton_op_path_checks(sys.argv[2])))
    else:
        import symnet.torch  # noqa: F401
        _check_reload(sys.argv[2])
