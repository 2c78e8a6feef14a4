"""Every activation of the function registry as the activation of a dense layer (NumPy and
Triton) and of the fused training step (``compile_step``), each following float64 torch
autograd for SGD steps (NumPy 20; Triton and the fused step 3, each a float64 double-word or float32 kernel
under Triton's interpreter at about half a second a step: 3 steps agree or disagree as 20 do, the test's
point being that every step's loss and the weights after them follow the reference); the registry's elementwise losses as the loss of the fused step; a
toy function added through the registry alone, working everywhere; and the import graph of
code generation (no cycles, no curriculum).

References are independent of symnet: torch's own functions (``REGISTRY[name].torch``, written
with ``torch.nn.functional``) differentiated by autograd in float64. Triton runs under
TRITON_INTERPRET=1 on a CPU, so the networks are tiny (5 inputs, 4 hidden units, 3 outputs).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen.families.dense import dense_layer_kernels
from symnet.errors import SymnetError
from symnet.parsing import parse_expression
from symnet.registry import REGISTRY, Function, activation_names, register, unregister
from symnet.render import render_text
from conftest import triton_torch

ACTIVATIONS = activation_names()
STEPS, BATCH, LR = 20, 8, 0.05
TRITON_STEPS = 3  # the Triton layers and the fused step (interpreted: ~0.5 s CPU a step, 20 took ~10 s an activation)
ROOT = Path(__file__).resolve().parents[1]

assert {"silu", "gelu", "gelu_tanh", "tanh", "sigmoid", "relu", "hardshrink"} <= set(ACTIVATIONS)


def _data(seed=4, n_in=5, hidden=4, n_out=3, n=24, scale=0.7, steps=STEPS):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_in))
    t = rng.normal(size=(n, n_out))
    p = {"W1": rng.normal(0, scale, (hidden, n_in)), "b1": rng.normal(0, scale, hidden),
         "W2": rng.normal(0, scale, (n_out, hidden)), "b2": rng.normal(0, scale, n_out)}
    order = np.concatenate([rng.permutation(n) for _ in range(steps * BATCH // n + 1)])[:steps * BATCH]
    return x, t, p, order


def _torch_reference(act, x, t, p, order, loss="mse", last="linear", lr=LR):
    """SGD in float64 torch: a = act(W1 x + b1), out = last(W2 a + b2), J = mean over the batch of
    Σ loss(out, t); the registry's torch function for act, last and the loss, autograd for ∂J/∂w."""
    torch = triton_torch()
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    X, T = torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    losses = []
    for lo in range(0, len(order), BATCH):
        idx = torch.from_numpy(order[lo:lo + BATCH])
        h = REGISTRY[act].torch(torch, X[idx] @ P["W1"].T + P["b1"])
        out = h @ P["W2"].T + P["b2"]
        out = out if last == "linear" else REGISTRY[last].torch(torch, out)
        J = REGISTRY[loss].torch(torch, out, T[idx]).sum(dim=1).mean()
        grads = torch.autograd.grad(J, list(P.values()))
        with torch.no_grad():
            for w, g in zip(P.values(), grads):
                w -= lr * g
        losses.append(float(J.detach()))
    return np.array(losses), {k: v.detach().numpy() for k, v in P.items()}


# torch's float64 hardsigmoid backward multiplies by 1/6 rounded to float32 (0.1666666716…);
# symnet's 1/6 agrees with mpmath (tests/test_registry.py)
TORCH_RTOL = {"hardsigmoid": 1e-7}


def _assert_follows(got_losses, got_params, want_losses, want_params, rtol, atol):
    assert np.isfinite(want_losses).all(), "the reference diverged: the comparison would say nothing"
    np.testing.assert_allclose(got_losses, want_losses, rtol=rtol, atol=atol, err_msg="the losses of the steps")
    for k in want_params:
        np.testing.assert_allclose(got_params[k], want_params[k], rtol=rtol, atol=atol, err_msg=f"{k} after the steps")


# ------------------------------------------------------------------ NumPy dense layers

_NUMPY: dict = {}


def _numpy_layers(act):
    """The generated NumPy module of dense_<act> and linear, forward and backward."""
    if act not in _NUMPY:
        from symnet.codegen.backends.numpy.elementwise import emit_module
        kernels = [*dense_layer_kernels(act), *dense_layer_kernels("linear")]
        namespace: dict = {}
        exec(emit_module(kernels, "a test", "-"), namespace)  # noqa: S102 - generated
        _NUMPY[act] = (namespace, kernels)
    return _NUMPY[act]


def numpy_sgd(act, x, t, p, order):
    ns, (fwd, bwd, lin, lin_bwd) = _numpy_layers(act)
    p = {k: v.copy() for k, v in p.items()}
    losses = []
    for lo in range(0, len(order), BATCH):
        idx = order[lo:lo + BATCH]
        a0 = x[idx]
        z1 = ns["linear"](a0, p["W1"], p["b1"])
        a1 = ns[fwd.name](a0, p["W1"], p["b1"])
        out = ns["linear"](a1, p["W2"], p["b2"])
        d = out - t[idx]
        losses.append(float((d ** 2).sum(axis=1).mean()))
        dW2, db2, g1 = ns["linear_backward"](a1, p["W2"], 2 * d / len(idx))
        given = {"a": a0, "W": p["W1"], "y": a1, "z": z1, "g": g1}
        dW1, db1, _ = ns[bwd.name](*[given[arg.name] for arg in bwd.args])
        for k, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
            p[k] -= LR * g
    return np.array(losses), p


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_numpy_dense_layer_follows_torch_for_20_sgd_steps(act):
    x, t, p, order = _data()
    got = numpy_sgd(act, x, t, p, order)
    want = _torch_reference(act, x, t, p, order)
    _assert_follows(*got, *want, rtol=TORCH_RTOL.get(act, 1e-9), atol=1e-12)


# ------------------------------------------------------------------ Triton dense layers

def triton_sgd(act, x, t, p, order, monkeypatch, tmp_path):
    """SGD steps (one per BATCH entries of ``order``) of the generated Triton layers (their torch autograd
    functions) in float64."""
    torch = triton_torch()
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    from symnet.codegen.compiler import _load_module
    from symnet.codegen.backends.triton.dense import emit_triton_layer_module
    kernels = [*dense_layer_kernels(act), *dense_layer_kernels("linear")]
    module = _load_module(f"dense_{act}_everywhere", emit_triton_layer_module(kernels, "a test", "-"))
    layer, linear = getattr(module, f"dense_{act}_layer"), module.linear_layer
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in p.items()}
    X, T = torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    losses = []
    for lo in range(0, len(order), BATCH):
        idx = torch.from_numpy(order[lo:lo + BATCH])
        out = linear(layer(X[idx], P["W1"], P["b1"]), P["W2"], P["b2"])
        J = ((out - T[idx]) ** 2).sum(dim=1).mean()
        grads = torch.autograd.grad(J, list(P.values()))
        with torch.no_grad():
            for w, g in zip(P.values(), grads):
                w -= LR * g
        losses.append(float(J.detach()))
    return np.array(losses), {k: v.detach().numpy() for k, v in P.items()}


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_triton_dense_layer_follows_torch_for_3_sgd_steps(act, monkeypatch, tmp_path):
    x, t, p, order = _data(steps=TRITON_STEPS)
    got = triton_sgd(act, x, t, p, order, monkeypatch, tmp_path)
    want = _torch_reference(act, x, t, p, order)
    _assert_follows(*got, *want, rtol=TORCH_RTOL.get(act, 1e-9), atol=1e-12)


# ------------------------------------------------------------------ the fused step

def fused_sgd(act, x, t, p, order, monkeypatch, tmp_path, loss="mse", last="linear", lr=LR):
    """SGD steps (one per BATCH entries of ``order``) of compile_step((act, last), loss) in one launch (float32)."""
    torch = triton_torch()
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    step = symnet.compile_step((act, last), loss)
    P = {k: torch.tensor(v, dtype=torch.float32) for k, v in p.items()}
    got = step(torch.tensor(x, dtype=torch.float32), torch.tensor(t, dtype=torch.float32),
               P["W1"], P["b1"], P["W2"], P["b2"], torch.from_numpy(order), lr, BATCH)
    return got.numpy().astype(np.float64), {k: v.numpy().astype(np.float64) for k, v in P.items()}


# float32 kernel against float64 torch: the error of a float32 step, grown over the steps (set for 20)
FUSED_RTOL, FUSED_ATOL = 1e-4, 2e-5


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_fused_step_follows_torch_for_3_sgd_steps(act, monkeypatch, tmp_path):
    x, t, p, order = _data(steps=TRITON_STEPS)
    got = fused_sgd(act, x, t, p, order, monkeypatch, tmp_path)
    want = _torch_reference(act, x, t, p, order)
    _assert_follows(*got, *want, rtol=FUSED_RTOL, atol=FUSED_ATOL)


# loss → (the last layer's activation, the targets from standard normal draws u)
LOSS_CASES = {
    "mse": ("linear", lambda u: u),
    "l1": ("linear", lambda u: u),
    "smooth_l1": ("linear", lambda u: u),
    "huber": ("linear", lambda u: 2 * u),
    "log_cosh": ("linear", lambda u: u),
    "bce_logits": ("linear", lambda u: (u > 0).astype(float)),
    "focal": ("linear", lambda u: (u > 0).astype(float)),
    "bce": ("sigmoid", lambda u: 1 / (1 + np.exp(-u))),  # soft targets in (0, 1)
    "hinge": ("linear", lambda u: np.sign(u)),
    "squared_hinge": ("linear", lambda u: np.sign(u)),
    "poisson_nll": ("linear", lambda u: np.floor(np.abs(3 * u))),
    "kl_div": ("linear", lambda u: np.exp(u) / np.exp(u).sum(axis=1, keepdims=True)),
}


def test_every_loss_of_two_inputs_is_a_fused_step_loss_or_refused_by_name():
    from symnet.codegen.families.step import loss_names
    from symnet.losses import LOSSES
    assert set(LOSS_CASES) == set(loss_names()) - {"ce"}
    assert set(LOSSES) - set(loss_names()) == {"gaussian_nll"}


@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
def test_fused_step_loss_follows_torch_for_3_sgd_steps(loss, monkeypatch, tmp_path):
    last, targets = LOSS_CASES[loss]
    x, u, p, order = _data(seed=6, steps=TRITON_STEPS)
    t = targets(u)
    got = fused_sgd("tanh", x, t, p, order, monkeypatch, tmp_path, loss=loss, last=last, lr=0.1)
    want = _torch_reference("tanh", x, t, p, order, loss=loss, last=last, lr=0.1)
    _assert_follows(*got, *want, rtol=FUSED_RTOL, atol=FUSED_ATOL)


@pytest.mark.parametrize("loss, message", [
    ("gaussian_nll", "takes 3 inputs per output"),
    ("no_such_loss", "unknown loss 'no_such_loss'"),
    ("softplus", "unknown loss 'softplus'"),
])
def test_a_loss_the_step_cannot_take_is_a_one_line_error(loss, message):
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    with pytest.raises(SymnetError, match=message):
        symnet.compile_step(("tanh", "linear"), loss)


# ------------------------------------------------------------------ a toy function, through the registry alone

def _mp_bent(x):
    return (mpmath.sqrt(x * x + 1) - 1) / 2 + x


@pytest.fixture
def bent_identity():
    """The bent identity f(x) = (√(x² + 1) − 1)/2 + x, registered as ONE registry entry (a
    rewrite into sqrt and powers; no other code anywhere), removed again after the test."""
    entry = register(Function("bent_identity", lambda x: (sp.sqrt(x ** 2 + 1) - 1) / 2 + x, mpmath=_mp_bent,
                              torch=lambda t, x: (t.sqrt(x * x + 1) - 1) / 2 + x, family="activation"))
    yield entry
    unregister("bent_identity")


def test_toy_function_through_the_registry_alone(bent_identity, monkeypatch, tmp_path):
    assert "bent_identity" in activation_names()
    # derive: from the text the CLI parses, and from Python
    parsed = symnet.derive(parse_expression("bent_identity(x)*y"))
    x = sp.Symbol("x")
    d = symnet.derive(bent_identity(x))
    out = render_text(d)
    assert "power rule" in out
    assert len(parsed.gradients) == 2
    # NumPy and Triton elementwise kernels, against mpmath's derivative at 50 digits
    xs = [-30.0, -2.5, -1e-3, 0.0, 0.7, 4.0, 1e4]
    with mpmath.workdps(50):
        want_v = [float(_mp_bent(mpmath.mpf(v))) for v in xs]
        want_g = [float(mpmath.diff(_mp_bent, mpmath.mpf(v))) for v in xs]
    value, grad = symnet.compile(d, "numpy")(np.array(xs))
    np.testing.assert_allclose(value, want_v, rtol=1e-13, atol=1e-300)  # √(x² + 1) − 1 cancels near 0
    np.testing.assert_allclose(grad, want_g, rtol=1e-14)
    torch = triton_torch()
    tv, tg = symnet.compile(d, "triton")(torch.tensor(xs, dtype=torch.float64))
    np.testing.assert_allclose(tv.numpy(), want_v, rtol=1e-13, atol=1e-300)  # √(x² + 1) − 1 cancels near 0
    np.testing.assert_allclose(tg.numpy(), want_g, rtol=1e-14)
    # a dense layer (NumPy: 20 steps; Triton: 3) and the fused step (3), each following torch
    data = _data(seed=9)
    want = _torch_reference("bent_identity", *data)
    _assert_follows(*numpy_sgd("bent_identity", *data), *want, rtol=1e-9, atol=1e-12)
    _NUMPY.pop("bent_identity", None)
    data = _data(seed=9, steps=TRITON_STEPS)
    want = _torch_reference("bent_identity", *data)
    _assert_follows(*triton_sgd("bent_identity", *data, monkeypatch, tmp_path), *want, rtol=1e-9, atol=1e-12)
    _assert_follows(*fused_sgd("bent_identity", *data, monkeypatch, tmp_path), *want, rtol=FUSED_RTOL,
                    atol=FUSED_ATOL)


def test_unregister_forgets_every_name():
    register(Function("toy_twice", lambda x: 2 * x, aliases=("toy_double",), family="activation"))
    unregister("toy_twice")
    assert "toy_twice" not in REGISTRY and "toy_twice" not in activation_names()
    with pytest.raises(SymnetError, match="unknown function 'toy_double'"):
        parse_expression("toy_double(x)")
    with pytest.raises(SymnetError, match="not registered"):
        unregister("toy_twice")


# ------------------------------------------------------------------ the import graph of code generation

def _imports(package: str) -> dict[str, set[str]]:
    """Module → the symnet modules it imports (at the top or inside a function), from the AST."""
    root = ROOT / "symnet"
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if not name.startswith(package):
            continue
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]) if node.level else node.module
                base = base.rstrip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in modules else base)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _one_unit(name: str, package: str = "symnet.codegen.rewrite") -> str:
    return package if name.startswith(package + ".") else name


def test_code_generation_has_no_import_cycles():
    # The package symnet.codegen.rewrite counts as one module: its modules import one another inside functions, at
    # the call, where the one module rewrite.py (split in session 43) referred to its own names; a cycle between it
    # and the rest of symnet/codegen is still one.
    graph: dict[str, set[str]] = {}
    for m, deps in _imports("symnet.codegen").items():
        graph.setdefault(_one_unit(m), set()).update(_one_unit(d) for d in deps)
    inside = {m: {d for d in deps if d in graph and d not in ("symnet.codegen", m)} for m, deps in graph.items()}

    def reaches(start, goal):
        seen, todo = set(), [start]
        while todo:
            for nxt in inside.get(todo.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    cycles = sorted((a, b) for a, deps in inside.items() for b in deps if a < b and reaches(b, a))
    assert not cycles, f"import cycles in symnet/codegen (imports inside functions included): {cycles}"


# none: the row-wise family writes softmax cross-entropy's gradient itself (tests/test_layout.py)
CURRICULUM_STILL_READ_BY: set = set()


def test_code_generation_does_not_import_the_curriculum():
    graph = _imports("symnet.codegen")
    readers = {m for m, deps in graph.items() if any(d.startswith("symnet.curriculum") for d in deps)}
    assert readers <= CURRICULUM_STILL_READ_BY, f"modules of symnet/codegen importing the curriculum: {sorted(readers)}"
    # and at run time: importing code generation, making a dense layer of each kind, the NumPy
    # modules and an elementwise fused step's description loads no module of the curriculum
    script = ("import sys, symnet.codegen\n"
              "from symnet.codegen.families.dense import dense_layer_kernels\n"
              "from symnet.codegen.backends.numpy.elementwise import emit_module\n"
              "from symnet.codegen.families.step import mlp_step\n"
              "emit_module([*dense_layer_kernels('silu'), *dense_layer_kernels('linear')], 'x', 'x')\n"
              "mlp_step(('sigmoid', 'linear'), 'mse')\n"
              "print([m for m in sys.modules if 'curriculum' in m])\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ------------------------------------------------------------------ one conditional printing for both backends

def test_piecewise_and_comparisons_print_alike_on_both_backends():
    """Piecewise, comparisons, And/Or/Not and Max/Min: one implementation (symnet/codegen/backends/printing.py),
    the backends differing only in their tables."""
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    from symnet.codegen.backends.printing import ConditionalPrinting
    from symnet.codegen.backends.triton.elementwise import TritonPrinter
    x, y = sp.symbols("x y", real=True)
    f = sp.Piecewise((sp.Max(x, y), sp.And(x > 0, sp.Or(y < 1, sp.Not(x > 2)))), (sp.Min(x, -y), True))
    numpy_code = NumpyExpressionPrinter(set()).doprint(f)
    triton_code = TritonPrinter({}, set()).doprint(f)
    # SymPy writes Not(x > 2) as x <= 2; NumPy's comparisons are parenthesised (& binds tighter)
    assert numpy_code == ("np.where(((x > 0)) & (((x <= 2)) | ((y < 1))), np.maximum(x, y), np.minimum(x, -y))")
    # Triton's max/min propagate NaN, as NumPy's and torch's do (tl.maximum alone drops it)
    assert triton_code == ("tl.where((x > 0.0) & ((x <= 2.0) | (y < 1.0)), "
                           "tl.maximum(x, y, propagate_nan=tl.PropagateNan.ALL), "
                           "tl.minimum(x, -y, propagate_nan=tl.PropagateNan.ALL))")
    for printer in (NumpyExpressionPrinter, TritonPrinter):
        assert issubclass(printer, ConditionalPrinting)
        for name in ("_print_Piecewise", "_print_Relational", "_print_And", "_print_Or", "_print_Not",
                     "_print_Max", "_print_Min"):
            assert getattr(printer, name) is getattr(ConditionalPrinting, name), f"{printer.__name__}.{name}"
    # the NumPy code computes the right values
    xs, ys = np.array([-1.0, 0.5, 3.0, 3.0]), np.array([2.0, 0.2, 0.5, 4.0])
    got = eval(numpy_code, {"np": np, "x": xs, "y": ys})  # noqa: S307 - printed by the test itself
    want = [float(f.subs({x: a, y: b})) for a, b in zip(xs, ys)]
    np.testing.assert_array_equal(got, want)
    with pytest.raises(SymnetError, match="the Triton backend needs a Piecewise with an 'otherwise' branch"):
        TritonPrinter({}, set()).doprint(sp.Piecewise((x, x > 0)))
