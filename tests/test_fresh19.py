"""Session 19's new user, who read only the README: what they met, each pinned where it was fixed.

- ``symnet derive "x*y, sin(x)+y"`` (two outputs as text) answered with a fixed example,
  ``symnet.derive(['x*y', 'sin(x)'])``, whatever was written: it dropped the user's ``+y``. Now it
  quotes the user's own outputs.
- ``activation("mish", x, inplace=True)`` (the README: "the activations take torch's inplace=True")
  was refused with "it takes no keywords" and no word of where inplace=True is taken; now it names
  ``symnet.torch.functional.mish(x, inplace=True)``, or says the activation has no in-place form.
- ``FusedStep(model, loss="ce")`` raised Python's "missing 1 required keyword-only argument: 'lr'",
  where ``torch.optim.SGD`` and ``Adam`` default to lr = 1e-3; now so does FusedStep.
"""
import ast
import inspect
from pathlib import Path

import pytest

import symnet

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


# --- two outputs as text: the hint quotes the user's own outputs -------------------------------------------

@pytest.mark.parametrize("text, listed", [
    ("x*y, sin(x)+y", "symnet.derive(['x*y', 'sin(x)+y'])"),
    ("a**2, b, a*b", "symnet.derive(['a**2', 'b', 'a*b'])"),
    ("x^2, y", "symnet.derive(['x**2', 'y'])"),  # ^ is read as **, and quoted as it is read
])
def test_a_tuple_formula_quotes_the_users_outputs(text, listed):
    with pytest.raises(symnet.ParseError) as info:
        symnet.parse(text)
    message = str(info.value)
    assert f"tuple of {text.count(',') + 1}" in message
    assert listed in message, message  # was ['x*y', 'sin(x)'] for every formula
    d = symnet.derive(ast.literal_eval(listed[len("symnet.derive("):-1]))  # what it says works
    assert d.jacobian.shape[0] == text.count(",") + 1


def test_a_tuple_formula_on_the_command_line(capsys):
    from symnet.cli import main

    assert main(["derive", "x*y, sin(x)+y"]) == 2
    err = capsys.readouterr().err
    assert "symnet.derive(['x*y', 'sin(x)+y'])" in err and len(err.strip().splitlines()) == 1


# --- gelu(x, 'tanh'): torch's approximate='tanh' is gelu_tanh here ----------------------------------------------

@pytest.mark.parametrize("text, start", [
    ("gelu(x, 'tanh')", "gelu() takes exactly one argument: gelu(x); "),
    ("gelu(x, approximate='tanh')", "gelu() takes its arguments by position, not by name (approximate=…): gelu(x); "),
    ("silu(x, beta=2)", "silu() takes its arguments by position, not by name (beta=…): silu(x); "
                        "Swish with a parameter β (Ramachandran et al. 2017) is x*sigmoid(beta*x)"),
])
def test_an_extra_gelu_or_silu_argument_names_the_formula_that_means_it(text, start):
    with pytest.raises(symnet.ParseError) as info:
        symnet.parse(text)
    assert str(info.value).startswith(start), str(info.value)
    if text.startswith("gelu"):
        assert str(info.value).endswith("torch's approximate='tanh' is its own function here: gelu_tanh(x)")
        torch_ = pytest.importorskip("torch")  # what it points to is torch's tanh GELU (independent reference)
        import numpy as np
        k = symnet.compile(symnet.derive("gelu_tanh(x)"), progress=False)
        x = np.linspace(-4, 4, 9)
        ref = torch_.nn.functional.gelu(torch_.from_numpy(x), approximate="tanh").numpy()
        assert np.allclose(k(x=x)[0], ref, rtol=1e-10, atol=0)  # torch cancels in its tail


# --- activation(name, x, inplace=True): where inplace is taken ---------------------------------------------

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name, says", [
    ("mish", "inplace=True is taken by the function with torch's name: "
             "symnet.torch.functional.mish(x, inplace=True)"),
    ("relu", "symnet.torch.functional.relu(x, inplace=True)"),
    ("gelu", "gelu has no in-place form (nor has torch's)"),
    ("softplus", "softplus has no in-place form (nor has torch's)"),
])
def test_activation_inplace_names_the_function_that_takes_it(name, says):
    import symnet.torch as st

    x = torch.linspace(-2, 2, 5, dtype=torch.float64)
    with pytest.raises(symnet.SymnetError) as info:  # refused before any kernel is compiled
        st.functional.activation(name, x, inplace=True)
    message = str(info.value)
    assert "activation() has no argument 'inplace'" in message and says in message, message
    try:  # independent: does torch's own function take inplace=True?
        getattr(torch.nn.functional, name)(x.clone(), inplace=True)
        torch_has = True
    except TypeError:
        torch_has = False
    assert ("no in-place form" in message) == (not torch_has)  # independent: torch's own signature


def test_activation_other_keywords_keep_their_message():
    import symnet.torch as st

    with pytest.raises(symnet.SymnetError) as info:
        st.functional.activation("mish", torch.zeros(3, dtype=torch.float64), alpha=1.0)
    assert "in-place" not in str(info.value) and "it takes no keywords" in str(info.value)


def test_readme_says_which_activations_take_inplace():
    assert "The activations with torch's names take torch's `inplace=True` as torch does" in README
    assert "nor `activation(name, x)`, which takes no keywords and says so" in README


# --- FusedStep's learning rate defaults to torch.optim's -----------------------------------------------------

def test_fused_step_lr_defaults_to_torch_optims():
    from symnet.torch.optim import FusedStep

    default = inspect.signature(FusedStep.__init__).parameters["lr"].default
    assert default == inspect.signature(torch.optim.SGD).parameters["lr"].default == 1e-3
    assert default == inspect.signature(torch.optim.Adam).parameters["lr"].default
    assert "`lr` (default 1e-3, as\ntorch's)" in README


def test_fused_step_without_lr_follows_torch_optim_adam_with_its_default():
    from conftest import torch_and_triton
    torch_and_triton()  # TRITON_INTERPRET=1 where there is no GPU
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    params = [p.detach().clone().requires_grad_() for p in net.parameters()]
    x, t = torch.randn(8, 4), torch.randint(0, 3, (8,))
    fused = FusedStep(params, activations=("relu", "linear"), loss="ce", optimizer="adam")  # no lr
    ref = torch.optim.Adam(net.parameters())  # torch's default lr
    for step in range(3):
        ref.zero_grad()
        expected = torch.nn.functional.cross_entropy(net(x), t)
        expected.backward()
        ref.step()
        assert abs(fused.step(x, t).item() - expected.item()) < 2e-6, f"step {step}"
    for a, b in zip(params, net.parameters()):
        assert torch.allclose(a.detach(), b.detach(), rtol=1e-5, atol=1e-6)


# --- symnet.verify of several outputs or of a SymPy expression: what to pass ---------------------------------

@pytest.mark.parametrize("given, what", [
    (["x*y", "sin(x) + y"], "for several outputs pass their Derivation: symnet.verify(symnet.derive(...))"),
    (("x*y", "x"), "for several outputs pass their Derivation"),
    ("sympy", "for a SymPy expression pass their Derivation: symnet.verify(symnet.derive(...))"),
])
def test_verify_of_a_list_or_expression_says_to_derive_it_first(given, what):
    import sympy as sp

    if given == "sympy":
        given = sp.Symbol("x", real=True) * sp.exp(sp.Symbol("x", real=True))
    with pytest.raises(symnet.SymnetError) as info:
        symnet.verify(given, n=1)
    assert "symnet.verify takes a formula (str) or a Derivation, not " in str(info.value)
    assert what in str(info.value), str(info.value)
    assert len(str(info.value).splitlines()) == 1


def test_verify_of_something_else_keeps_its_short_message():
    with pytest.raises(symnet.SymnetError, match=r"a Derivation, not int$"):
        symnet.verify(3, n=1)


def test_readme_gives_first_use_times_measured_on_a_quieter_machine():
    # session 19 measured 1.2 s / 0.6 s where the README's only figures (load 9-11) said 4.6 s / 0.5 s
    assert "On a quieter machine (load 3.4, 2026-12-03, session 19" in README
    assert "`symnet.compile` of `x*sigmoid(beta*x)` 1.2 s (deriving 0.5 s of it), then 0.6 s" in README


# --- symnet verify FORMULA --backend triton: the NumPy column is always there, and the help says so ------------

def test_verify_help_says_numpy_is_measured_whatever_backend_is_listed(capsys):
    from symnet.cli import main

    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "the NumPy code is measured whatever is listed (triton adds its column)" in out
    assert "its figures are then shown, not held to the bound" in out
    assert "the NumPy code is measured whatever is named" in " ".join(symnet.verify.__doc__.split())


# --- FusedStep.step(x, target): a bad target is named target, not the launcher's t ----------------------------

def test_fused_step_names_target_in_its_errors():
    from conftest import torch_and_triton
    torch_and_triton()
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    x = torch.randn(8, 4)
    before = [p.detach().clone() for p in net.parameters()]
    opt = FusedStep(net, loss="ce")
    with pytest.raises(IndexError, match=r"^a class in target lies outside \[0, 3\)$"):  # said "in t"
        opt.step(x, torch.tensor([0, 1, 2, 3, 0, 1, 2, 0]))
    with pytest.raises(IndexError, match=r"^a class in target lies outside \[0, 3\)$"):
        opt.step(x, torch.tensor([0, 1, 2, -1, 0, 1, 2, 0]))
    mse = FusedStep(net, activations=("relu", "linear"), loss="mse")
    with pytest.raises(ValueError, match=r"^target has 2 outputs per example but the network has 3$"):
        mse.step(x, torch.zeros(8, 2))
    assert all(torch.equal(a, b.detach()) for a, b in zip(before, net.parameters()))  # nothing applied
    assert opt.step(x, torch.tensor([0, 1, 2, 2, 0, 1, 2, 0])).isfinite()  # a good target still steps


# --- k.value of a Triton function with no differentiable op: one line, not "'NoneType' object is not callable" --

def test_triton_value_of_a_two_output_formula_says_what_to_use():
    from conftest import torch_and_triton
    torch_and_triton()

    k = symnet.compile(symnet.derive(["x*y", "sin(x) + y"]), backend="triton", progress=False)
    x, y = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    with pytest.raises(symnet.SymnetError) as info:  # was TypeError: 'NoneType' object is not callable
        k.value(x=x, y=y)
    message = str(info.value)
    assert "k.value, the differentiable op, is made for a formula of one output" in message
    assert "this one has 2 (f1, f2)" in message and "symnet.torch.from_formula" in message
    f1, f2, d1x, d1y, d2x, d2y = k(x=x, y=y)  # the function itself works: against torch's own
    assert torch.allclose(f2, torch.sin(x) + y, rtol=1e-14) and torch.allclose(d2x, torch.cos(x), rtol=1e-14)


def test_triton_value_of_a_one_output_formula_is_still_the_differentiable_op():
    from conftest import torch_and_triton
    torch_and_triton()

    k = symnet.compile(symnet.derive("x*erf(x)"), backend="triton", progress=False)
    x = torch.linspace(-2, 2, 7, dtype=torch.float64, requires_grad=True)
    k.value(x=x).sum().backward()
    ref = x.detach().clone().requires_grad_()
    (ref * torch.erf(ref)).sum().backward()
    assert torch.allclose(x.grad, ref.grad, rtol=1e-13)


def test_compile_docstring_says_value_is_for_one_output():
    assert "for a formula of one output compiled with its value; of several outputs it raises SymnetError" in \
        " ".join(symnet.compile.__doc__.split())
