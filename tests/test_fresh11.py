"""What a new user met, session 11: an engineer's own activation and loss, from the README alone.

Each test names the fault it was written against (it failed before the fix)."""
import re
import subprocess
import sys

import pytest

import symnet
from symnet.parsing import ParseError, parse_expression
from symnet.render import _tex_text, render_latex


@pytest.mark.parametrize("formula, message", [
    # a Swish with a learnable β: "swish() takes exactly one argument", and nothing on what to write
    ("swish(x, beta)", "swish() takes exactly one argument: swish(x); Swish with a parameter β "
                       "(Ramachandran et al. 2017) is x*sigmoid(beta*x)"),
    ("silu(x, 2)", "silu() takes exactly one argument: silu(x); Swish with a parameter β"),
    # "log_cosh() takes 2 arguments": which two?
    ("log_cosh(p)", "log_cosh() takes 2 arguments: log_cosh(x, t)"),
    ("where(x > 0, x)", "where() takes 3 arguments: where(cond, a, b)"),
    # a keyword to a function without options was answered with a count of its arguments
    ("exp(arg=1)", "exp() takes its arguments by position, not by name (arg=…): exp(x)"),  # exp(arg) before
                                                                                             # session 42
    # unchanged: functions with options keep their usage line, min/max their count
    ("huber(x)", "huber() takes 2 to 3 arguments: huber(x, t, delta=1)"),
    ("min(x)", "min() takes at least 2 arguments"),
])
def test_a_wrong_argument_count_names_the_arguments(formula, message):
    with pytest.raises(ParseError) as info:
        parse_expression(formula)
    assert str(info.value).startswith(message), str(info.value)


def test_the_command_line_names_the_arguments_in_one_line():
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "swish(x, beta)"], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2, run
    assert run.stderr.strip().splitlines() == [
        "symnet: error: swish() takes exactly one argument: swish(x); Swish with a parameter β "
        "(Ramachandran et al. 2017) is x*sigmoid(beta*x)"], run.stderr


def test_latex_prose_writes_total_derivatives_as_math():
    """Fault: the backward pass's introduction, pasted into LaTeX, set ∂v/∂u as math and
    "df/df = 1", "df/du" as upright words beside it."""
    tex = render_latex(symnet.derive("x*sigmoid(beta*x)"))
    intro = next(line for line in tex.splitlines() if "walk the graph backwards" in line)
    assert intro.startswith(r"\par Start from $df/df$ = 1 and walk the graph backwards. $df/du$ is"), intro
    assert r"$\partial v/\partial u$" in intro


@pytest.mark.parametrize("text, tex", [
    ("df₁/df₁ = 1", "$df_{1}/df_{1}$ = 1"),
    ("(dy/dx)", "($dy/dx$)"),
    ("dx/dy_i", "$dx/dy_{i}$"),
    # words are not derivatives: one letter after each d
    ("did/does and add/drop", "did/does and add/drop"),
    ("the ddf/dx", "the ddf/dx"),
])
def test_total_derivative_pattern(text, tex):
    assert _tex_text(text) == tex


def test_the_usage_of_the_torch_functional_options_is_unchanged():
    """The parser's signature line is for its own errors: symnet.torch's "relu takes no options"
    still says so (it shares parsing._usage, which stays "" for a function without options)."""
    from symnet.parsing import FUNCTIONS, _usage

    assert _usage("relu", FUNCTIONS["relu"]) == ""
    assert re.fullmatch(r"focal\(z, t, alpha=1/4, gamma=2\)", _usage("focal", FUNCTIONS["focal"]))


def test_symnet_train_shows_its_settings():
    """Fault: ``help(symnet.train)`` showed ``train(task, backend='numpy', **settings)``: which
    settings, which tasks, what comes back was one module away. Its parameters are now those of
    symnet.training.train, by name and kind (save_every's default there is spelled None here)."""
    import inspect

    from symnet.training import train as full

    ours, theirs = inspect.signature(symnet.train).parameters, inspect.signature(full).parameters
    assert [(p.name, p.kind) for p in ours.values()] == [(p.name, p.kind) for p in theirs.values()]
    assert all(ours[n].default == theirs[n].default for n in ours if n != "save_every")
    doc = inspect.getdoc(symnet.train)
    for word in ('"digits"', '"triton-fused"', ".metrics", ".history", ".params", "Raises"):
        assert word in doc, word
    result = symnet.train("miles", epochs=2)
    assert len(result.history) == 2
