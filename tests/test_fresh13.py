"""A new user's pass (thirteenth session) through README.md with only the README, then their own
GLU-like activation of two inputs and a loss with the options of torch's losses through
symnet.torch. Each test is a place where an error did not say what was wrong, checked the way a
user meets it; each failed before its fix."""
from __future__ import annotations

import pytest

from symnet.errors import SymnetError


@pytest.fixture(scope="module")
def st():
    from conftest import torch_and_triton

    torch_and_triton()
    import symnet.torch as st
    return st


@pytest.mark.parametrize("call, message", [
    # torch's loss keywords a user carries over: were "loss() takes the options of huber by position,
    # not by name (ignore_index=…)", as if huber had such an option to give by position
    (lambda F, a: F.loss("huber", a, a, ignore_index=-100),
     r"^loss\(\) has no argument 'ignore_index': reduction= is its only keyword, and the options of huber go by "
     r"position: huber\(x, t, delta=1\); to leave entries out or weight them, take reduction='none' and mask"),
    (lambda F, a: F.loss("mse", a, a, weight=a), r"^loss\(\) has no argument 'weight': .* mse has none;"),
    (lambda F, a: F.activation("relu", a, inplace=True),
     r"^activation\(\) has no argument 'inplace': it takes no keywords, and the options of relu go by position"),
    # an option of the function given by name keeps its message (tests/test_fresh10.py)
    (lambda F, a: F.loss("huber", a, a, delta=2.0),
     r"^loss\(\) takes the options of huber by position, not by name \(delta=…\): huber\(x, t, delta=1\)$"),
])
def test_a_keyword_the_function_does_not_have_is_named_as_such(st, call, message):
    import torch

    a = torch.rand(4, dtype=torch.float64)
    with pytest.raises(SymnetError, match=message):
        call(st.functional, a)


def test_a_loss_given_class_indices_names_the_target_and_its_dtype(st):
    """A user's focal loss on logits (N, C) with class indices (N,), as for cross_entropy. Fault:
    torch's broadcast error, "The size of tensor a (3) must match the size of tensor b (5) at
    non-singleton dimension 1", naming neither the argument nor that indices are not taken."""
    import torch

    z = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    r = torch.tensor([0, 2, 1, 1, 0])
    with pytest.raises(TypeError, match=r"^focal: argument 'target' has dtype torch\.int64; it takes "
                                        r"floating-point tensors .*not class indices: one-hot them, or use cross_entropy"):
        st.functional.loss("focal", z, r)


def test_a_formula_given_an_integer_tensor_of_another_shape_names_it(st):
    """from_formula's module: an integer tensor that does not broadcast met torch's broadcast
    error first; now the argument and its dtype are named, whatever the shapes."""
    import torch

    glu = st.from_formula("a*sigmoid(b)", inputs=["a", "b"])
    a = torch.randn(4, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"^formula: argument 'b' has dtype torch\.int64; it takes floating-point"):
        glu(a, torch.ones(5, dtype=torch.long))
    assert "broadcast shape" in type(glu).forward.__doc__  # help(glu) showed torch.nn.Module's forward text


def test_verify_says_why_points_of_a_formula_defined_everywhere_were_left_out():
    """`symnet verify "softsign(x)"` said "2 outside the domain" of a function defined on every
    real: the points are x = ±∞, where mpmath's softsign is ∞/∞ = NaN. The report now says "without
    a true value" and what that means; the reference is checked here to be NaN at ±∞ and 1 at
    1e308 (so no finite point is left out)."""
    import math

    import mpmath

    from symnet import parse
    from symnet.verify.evaluate import reference
    from symnet.verify.measure import Report

    expr = parse("softsign(x)")
    (x,) = expr.free_symbols
    assert all(mpmath.isnan(reference(expr, {x: v})[0]) for v in (math.inf, -math.inf))
    assert reference(expr, {x: 1e308})[0] == 1
    text = str(Report("softsign(x)", {"float64": 4.0}, skipped={"float64": 2}))
    assert "float64: 0 measured, 2 without a true value, 0 unresolved" in text and "2 outside the domain" not in text
    assert "without a true value: mpmath gives NaN there (outside the domain, or ∞/∞" in text


def test_fused_step_names_the_activations_to_pass_for_a_model_with_mish(st):
    """FusedStep(model) of Linear–Mish–Linear, as a user writes it. Fault: "... pass
    activations=(...), a registry name a layer" (garbled, and what to pass left to guess). Now
    the tuple is named where each module is a registry activation without options (nn.GELU by
    its approximate=), and passing it builds the step; a module with options gets no guess."""
    import ast
    import re

    import torch

    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Mish(), torch.nn.Linear(8, 2))
    with pytest.raises(FusedStepError, match=r"one registry name per nn\.Linear, here activations=\('mish', 'linear'\)$"):
        FusedStep(model, loss="mse", lr=0.1)
    gelu = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(approximate="tanh"), torch.nn.Linear(8, 2),
                               torch.nn.Sigmoid())
    with pytest.raises(FusedStepError, match=r"here activations=\('gelu_tanh', 'sigmoid'\)$"):
        FusedStep(gelu, loss="mse", lr=0.1)
    elu = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ELU(alpha=2.0), torch.nn.Linear(8, 2))
    with pytest.raises(FusedStepError, match=r"one registry name per nn\.Linear$"):
        FusedStep(elu, loss="mse", lr=0.1)
    try:
        FusedStep(model, loss="mse", lr=0.1)
    except FusedStepError as e:
        suggested = ast.literal_eval(re.search(r"here activations=(\(.*\))$", str(e)).group(1))
    opt = FusedStep(model, activations=suggested, loss="mse", lr=0.1)
    assert opt.activations == ("mish", "linear")


def test_derive_of_a_registry_function_s_bare_name_says_how_to_apply_it(capsys):
    """`symnet derive mish`, as `symnet derive sigmoid` works (a lecture item). Fault: "unknown
    derivation 'mish'; see 'symnet derive --list' (to differentiate the formula mish, add --wrt)",
    which, followed, differentiates a variable called mish. Now it says to write mish(x); every
    registry function's suggestion is a formula the parser takes."""
    import symnet
    from symnet.cli import _applied, main
    from symnet.parsing import FUNCTIONS

    assert main(["derive", "mish"]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith('(mish is a function of the registry: write it applied, symnet derive "mish(x)")')
    assert "add --wrt" not in err
    assert main(["derive", "huber"]) == 2 and 'symnet derive "huber(x, t)"' in capsys.readouterr().err
    for name in FUNCTIONS:
        symnet.parse(_applied(name))  # raises where the suggestion would not parse
