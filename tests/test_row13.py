"""The loss arguments' domains travel with the formula, every registry loss checked against torch for its
domain, and masked arrays refused by the layer kernels (session 13, helper h-row13).

1. A compiled formula calling a registry function whose argument has a domain (gaussian_nll's var ≥ 0) checks
   its data: the parser writes the loss out into Max(var, eps), so its domain is noted then (ArgumentCheck on
   the Derivation, then the Kernel) and the generated NumPy function and Triton launcher refuse an entry
   outside in one line naming the argument. Before: gaussian_nll(x, t, v) at x = 1, t = 0, v = −0.5 gave
   4.99993e5 (NumPy and Triton); torch raises ValueError. An argument that is an expression of the inputs
   (v − 1) is computed and checked too (NumPy on the host, Triton in the kernel, flagged to the launcher).
2. Every loss of the registry with a domain, against torch: kl_div's t ≥ 0 (log_target = 0; before 0 where
   torch gives NaN) and poisson_nll's rate x ≥ 0 (log_input = 0; torch NaN) join gaussian_nll's var and bce's p,
   t: one mechanism (registry.ArgumentDomain, with the option it depends on), refused on every path (a number
   in a formula, a compiled formula, symnet.torch.functional.loss). Targets of hinge outside {±1} are not
   refused (the losses' notes say why).
3. The committed NumPy layer kernels (dense.py, rnn_step.py) dropped a numpy.ma mask silently (linear of
   [[1, --]] with W = [[1, 1]] gave 2): refused in one line (_unmasked), the argument named.
"""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

try:
    import torch
except ImportError:  # the NumPy tests run without it
    torch = None
if torch is not None and not torch.cuda.is_available():  # Triton in the interpreter (read when triton is imported)
    os.environ.setdefault("TRITON_INTERPRET", "1")

import symnet
from symnet.errors import DomainError, domain_message
from symnet.kernels import load_kernel
from symnet.registry import REGISTRY


def _gaussian_nll_reference(x, t, v):
    """torch.nn.functional.gaussian_nll_loss(reduction='none') in float64: the independent reference."""
    F = torch.nn.functional
    return F.gaussian_nll_loss(*(torch.as_tensor(a, dtype=torch.float64) for a in (x, t, v)), reduction="none").numpy()


def _refused(call, message):
    with pytest.raises(DomainError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError)  # what torch raises for gaussian_nll_loss


# --- 1. the compiled formula checks its data ------------------------------------------------------------------

def test_numpy_compiled_gaussian_nll_refuses_a_negative_variance_naming_it():
    """Before: 4.99993e5 at v = −0.5 (max(v, 1e-6) = 1e-6); torch: ValueError "var has negative entry"."""
    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"))
    x, t = np.ones(3), np.zeros(3)
    with pytest.raises(ValueError):
        _gaussian_nll_reference(x, t, [1.0, -0.5, 2.0])
    _refused(lambda: f(x=x, t=t, v=np.array([1.0, -0.5, 2.0])),
             "gaussian_nll: var = v has a negative entry (-0.5); var must be ≥ 0")
    _refused(lambda: f(x=x[:1], t=t[:1], v=np.array([-1e-300])), "(-1e-300)")  # subnormal side of 0: outside
    _refused(lambda: f(x=np.float32(1), t=np.float32(0), v=np.float32(-2)), "(-2)")  # 0-d


def test_numpy_compiled_gaussian_nll_values_where_the_variance_is_in_its_domain():
    """The edge v = 0 (clamped to eps, as torch), NaN (propagates, as torch's check lets it), and ordinary
    values: the same as torch's gaussian_nll_loss."""
    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"))
    x, t, v = np.array([1.0, 0.5, 2.0, 3.0]), np.array([0.0, 0.5, -1.0, 1.0]), np.array([0.0, np.nan, 2.5, 1e-8])
    got = f(x=x, t=t, v=v)[0]
    want = _gaussian_nll_reference(x, t, v)
    assert np.isnan(got[1]) and np.isnan(want[1])
    np.testing.assert_allclose(got[[0, 2, 3]], want[[0, 2, 3]], rtol=1e-14)


def test_an_argument_that_is_an_expression_is_computed_and_checked():
    """gaussian_nll(x, t, v − 1): the variance is v − 1, refused where v < 1 (before: 4.99993e5 at v = 0.5)."""
    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v - 1)"))
    _refused(lambda: f(x=np.ones(2), t=np.zeros(2), v=np.array([2.0, 0.5])),
             "gaussian_nll: var = −1 + v has a negative entry (-0.5); var must be ≥ 0")
    got = f(x=np.ones(2), t=np.zeros(2), v=np.array([2.0, 1.5]))[0]
    np.testing.assert_allclose(got, _gaussian_nll_reference(np.ones(2), np.zeros(2), [1.0, 0.5]), rtol=1e-14)


@pytest.mark.parametrize("formula", ["gaussian_nll(x, t, exp(s))", "gaussian_nll(x, t, s**2)", "mse(x, t)",
                                     "kl_div(x, t, 1)", "poisson_nll(x, t)"])
def test_what_the_formula_keeps_inside_its_domain_is_not_checked(formula):
    """e^s ≥ 0, s² ≥ 0 (SymPy shows it); kl_div with log_target = 1 and poisson_nll with log_input = 1 take
    any real argument. (bce(σ(z), t) checks σ(z) in [0, 1]: SymPy does not show 1 − σ(z) ≥ 0; it always passes.)"""
    assert symnet.derive(formula).domains == ()


def test_the_checks_are_part_of_the_derivation_and_kernel():
    d = symnet.derive("gaussian_nll(x, t, v) + bce(p, q)")
    assert [(c.function, c.argument, str(c.expr)) for c in d.domains] == \
        [("gaussian_nll", "var", "v"), ("bce", "p", "p"), ("bce", "t", "q")]
    f = symnet.compile(d)
    assert f.kernel.domains == d.domains
    _refused(lambda: f(p=np.array([0.5, 1.5]), q=np.full(2, 0.5), t=np.zeros(2), v=np.ones(2), x=np.ones(2)),
             "bce: p has an entry outside [0, 1] (1.5); p must be in [0, 1]")
    _refused(lambda: f(p=np.full(2, 0.5), q=np.array([0.5, -1.0]), t=np.zeros(2), v=np.ones(2), x=np.ones(2)),
             "bce: t = q has an entry outside [0, 1] (-1)")
    # the same formula given as a SymPy expression is checked the same (tests/test_breakage14.py, a)
    assert symnet.derive(symnet.parse("gaussian_nll(x, t, v) + bce(p, q)")).domains == d.domains


def _triton():
    pytest.importorskip("triton")
    return "cuda" if torch.cuda.is_available() else "cpu"


def _tensors(device, *values):
    return [torch.tensor(v, dtype=torch.float64, device=device) for v in values]


def test_triton_compiled_gaussian_nll_refuses_a_negative_variance():
    """The launcher checks an input (the first entry outside shown); before: 4.99993e5, as NumPy."""
    device = _triton()
    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"), backend="triton")
    t, v, x = _tensors(device, [0.0, 0.0], [1.0, -0.5], [1.0, 1.0])
    _refused(lambda: f(t, v, x), "gaussian_nll: var = v has a negative entry (-0.5); var must be ≥ 0")
    _refused(lambda: f.value(t, v, x), "gaussian_nll: var = v has a negative entry (-0.5)")
    t, v, x = _tensors(device, [0.0, 0.5], [0.0, 2.5], [1.0, 2.0])
    np.testing.assert_allclose(f(t, v, x)[0].cpu().numpy(), _gaussian_nll_reference(*(a.cpu() for a in (x, t, v))),
                               rtol=1e-14)


def test_triton_compiled_expression_argument_is_flagged_by_the_kernel():
    """gaussian_nll(x, t, v − 1): the kernel computes v − 1 and flags an entry below 0 (the launcher raises after
    the launch, without the entry's value); 3 blocks' worth of float32 data, the bad entry in the last block."""
    device = _triton()
    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v - 1)"), backend="triton")
    n = 2 * 4096 + 5
    v = torch.full((n,), 2.0, dtype=torch.float32, device=device)
    x, t = torch.ones_like(v), torch.zeros_like(v)
    f(t, v, x)  # inside everywhere: no error
    v[-1] = 0.5
    _refused(lambda: f(t, v, x), "gaussian_nll: var = −1 + v has a negative entry; var must be ≥ 0")
    _refused(lambda: f(t, v, x, reduction="mean"), "var = −1 + v has a negative entry")


def test_from_formula_refuses_a_negative_variance():
    """symnet.torch.from_formula("gaussian_nll(x, t, v)"): the op checks, as the compiled function does."""
    device = _triton()
    from symnet.torch import from_formula
    m = from_formula("gaussian_nll(x, t, v)", inputs="x t v")
    x, t, v = _tensors(device, [1.0, 1.0], [0.0, 0.0], [1.5, -2.0])
    _refused(lambda: m(x, t, v), "gaussian_nll: var = v has a negative entry (-2)")


# --- 2. every registry loss with a domain, against torch ------------------------------------------------------

def _domains():
    """(loss, domain, the value outside it) for every ArgumentDomain of a registry loss whose torch reference refuses
    or gives NaN outside it. focal's (γ ≥ 0, t in [0, 1], session 14) are not among them: torchvision refuses
    neither; symnet's refusals on every path are tested in tests/test_focal14.py."""
    return [(e.name, d, d.low - 0.5 if d.low != -np.inf else d.high + 0.5)
            for e in REGISTRY.values() if e.family == "loss" and e.name != "focal" for d in e.argument_domains]


def _arguments(entry, domain, bad):
    """The loss's tensor arguments at 0.5 (inside every domain), the domain's argument [0.5, bad]; its options
    as the domain needs them, by name (torch's keyword: log_input, log_target), and positionally."""
    n = entry.arity[0]
    values = [[0.5, 0.5] for _ in range(n)]
    values[domain.index] = [0.5, bad]
    options = {}
    if domain.option is not None:
        at, value = domain.option
        options[list(inspect.signature(entry.build).parameters)[at]] = value
    return values, options


def test_the_losses_with_a_domain():
    """The decision, loss by loss: these four have domains (torch refuses or gives NaN outside); hinge and
    squared_hinge take any target (their notes say why), the others any real argument."""
    assert sorted((n, d.name) for n, d, _ in _domains()) == \
        [("bce", "p"), ("bce", "t"), ("gaussian_nll", "var"), ("kl_div", "t"), ("poisson_nll", "x")]
    assert sorted(d.name for d in REGISTRY["focal"].argument_domains) == ["gamma", "t"]  # Lin et al. 2017
    for name in ("hinge", "squared_hinge"):
        assert "not refused" in REGISTRY[name].note


@pytest.mark.parametrize("name, domain, bad", _domains(), ids=[f"{n}-{d.name}" for n, d, _ in _domains()])
def test_torch_refuses_or_gives_nan_outside_each_domain(name, domain, bad):
    """torch: gaussian_nll ValueError, bce RuntimeError, kl_div (t = −0.5) NaN, poisson_nll (log_input=False,
    x = −0.5) NaN. symnet refuses all four."""
    torch_ = pytest.importorskip("torch")
    entry = REGISTRY[name]
    values, options = _arguments(entry, domain, bad)
    try:
        got = entry.torch(torch_, *(torch_.tensor(v, dtype=torch_.float64) for v in values),
                          **{k: bool(v) for k, v in options.items()})
    except (ValueError, RuntimeError):
        return
    assert torch_.isnan(got[1]) and not torch_.isnan(got[0])


@pytest.mark.parametrize("name, domain, bad", _domains(), ids=[f"{n}-{d.name}" for n, d, _ in _domains()])
def test_symnet_refuses_outside_each_domain_on_every_path(name, domain, bad):
    """A number in a formula (the parser), a compiled formula (NumPy), symnet.torch.functional.loss. Before, for
    kl_div and poisson_nll: numbers (kl_div: 0 at t = −0.5) on each path."""
    entry = REGISTRY[name]
    values, options = _arguments(entry, domain, bad)
    names = list(inspect.signature(entry.build).parameters)
    option_text = "".join(f", {int(v)}" for v in options.values())
    message = domain_message(name, domain.name, domain.low, domain.high, f"{bad:g}")
    # a number in the formula
    args = [f"{bad}" if k == domain.index else names[k] for k in range(entry.arity[0])]
    _refused(lambda: symnet.derive(f"{name}({', '.join(args)}{option_text})"), message)
    # a compiled formula
    f = symnet.compile(symnet.derive(f"{name}({', '.join(names[:entry.arity[0]])}{option_text})"), gradients=False)
    data = {n: np.array(v) for n, v in zip(names, values)}
    _refused(lambda: f(**data), message)
    # the torch path
    if torch is None:
        return
    pytest.importorskip("triton")
    from symnet.torch import functional as F
    tensors = [torch.tensor(v, dtype=torch.float64) for v in values]
    _refused(lambda: F.loss(name, tensors[0], tuple(tensors[1:]) if len(tensors) > 2 else tensors[1],
                            *options.values()), message)


@pytest.mark.parametrize("formula, data", [
    ("kl_div(x, t, 1)", {"x": [0.5], "t": [-0.5]}),  # log_target: t is a log-probability
    ("poisson_nll(x, t)", {"x": [-0.5], "t": [0.5]}),  # log_input: x is the log-rate
])
def test_an_option_that_changes_the_domain(formula, data):
    f = symnet.compile(symnet.derive(formula), gradients=False)
    assert np.isfinite(f(**{k: np.array(v) for k, v in data.items()})[0]).all()


# --- 3. masked arrays and the layer kernels ------------------------------------------------------------------

LAYER_CALLS = [  # (module, call, the argument named)
    ("dense", lambda m, a: m.linear(a, np.ones((1, 2)), np.zeros(1)), "'a'"),
    ("dense", lambda m, a: m.dense_sigmoid(np.ones((1, 2)), np.ma.masked_array(np.ones((1, 2)), mask=[[0, 1]]),
                                           np.zeros(1)), "'W'"),
    ("dense", lambda m, a: m.linear_backward(np.ones((1, 2)), np.ones((1, 2)), np.ma.masked_array(np.ones((1, 1)))), "'g'"),
    ("rnn_step", lambda m, a: m.rnn_step(a, np.zeros((1, 1)), np.ones((1, 2)), np.ones((1, 1))), "'x'"),
]


@pytest.mark.parametrize("module, call, named", LAYER_CALLS, ids=["linear-a", "dense_sigmoid-W", "linear_backward-g", "rnn_step-x"])
def test_numpy_layer_kernels_refuse_a_masked_array(module, call, named):
    """Before: linear of [[1, --]] with W = [[1, 1]], b = 0 gave 2 (the masked entry's data used; left out: 1)."""
    mod = load_kernel(module, "numpy")
    with pytest.raises(TypeError) as info:
        call(mod, np.ma.masked_array([[1.0, 2.0]], mask=[[0, 1]]))
    assert "masked array" in str(info.value) and named in str(info.value) and "\n" not in str(info.value)


def test_an_option_that_changes_the_domain_through_symnet_torch():
    """The op checks its own data (h-break13: inside the op, so vmap runs it) with its options: kl_div with
    log_target = 1 takes t < 0 (a log-probability), poisson_nll with log_input = 1 a negative x. Before the
    merge of the two, the op's check saw the tensors only and took the default options: refused."""
    pytest.importorskip("triton")
    if torch is None:
        pytest.skip("torch")
    from symnet.torch import functional as F
    x, t = torch.tensor([0.5, 0.25], dtype=torch.float64), torch.tensor([-0.5, 0.5], dtype=torch.float64)
    got = F.loss("kl_div", x, t, 1.0)
    want = torch.nn.functional.kl_div(x, t, reduction="mean", log_target=True)
    assert torch.allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError):
        F.loss("kl_div", x, t, 0.0)
    assert torch.isfinite(F.loss("poisson_nll", -x, torch.tensor([0.5, 2.0], dtype=torch.float64), 1.0))
