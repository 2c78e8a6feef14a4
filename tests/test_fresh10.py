"""A fresh user's pass (tenth session) through README.md: its examples copied and run, then an
activation and a loss of their own through symnet.torch. Each test is a place where the docs
and the behaviour disagreed or an error did not say what was wrong, checked the way a user meets
it; the README's shown outputs are compared with what the command prints."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import symnet
from symnet.cli import main
from symnet.errors import DerivationError, ParseError, SymnetError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _console_block(command: str) -> str:
    """The output README's console example shows for ``$ command`` (up to the next ``$`` or fence)."""
    at = README.index(f"$ {command}\n")
    shown = README[at + len(command) + 3:]
    return re.split(r"^(?:\$ |```)", shown, maxsplit=1, flags=re.M)[0]


@pytest.mark.parametrize("argv", [["derive", "--list"], ["derive", "x*exp(x**2)", "--wrt", "x"]])
def test_readme_console_examples_print_what_they_show(argv, capsys):
    """README's two console examples with an output (the list of derivations, a formula of one's
    own), copied and run: what they print is what the README shows, line for line (no test
    compared them; the older tests looked for a few words of each)."""
    command = " ".join(f'"{a}"' if "*" in a else a for a in ["symnet", *argv])
    shown = _console_block(command)
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.rstrip("\n").splitlines() == shown.rstrip("\n").splitlines()


def test_readme_python_example_gives_what_its_comments_say():
    """README's "From Python" block: the gradient its comment shows and a point it can take."""
    import sympy as sp

    block = README[README.index('d = symnet.derive((t - symnet.sigmoid(x))**2, wrt=[x])'):]
    shown = re.search(r"^d\.gradients\[x\] +# (.+)$", block, re.M).group(1)
    x, t = sp.symbols("x t", real=True)
    d = symnet.derive((t - symnet.sigmoid(x)) ** 2, wrt=[x])
    assert str(d.gradients[x]) == shown
    assert d.jacobian.shape == (1, 1) and d.gradient_at({x: 0, t: 1}) == {x: sp.Rational(-1, 4)}
    assert set(symnet.catalog()) >= {"backprop", "comp-graph", "mse-sigmoid"}


@pytest.mark.parametrize("command", [["codegen", "--check"], ["codegen", "--check", "--backend", "triton"],
                                     ["docs", "--check"]])
def test_check_outside_the_checkout_says_where_it_looked(command, tmp_path, monkeypatch, capsys):
    """`symnet codegen --check` run from a folder other than the repository's root. Fault: after a
    minute of generating it reported every kernel stale ("stale kernels in kernels/numpy:
    sigmoid.py, mse.py, … (run 'symnet codegen')", exit 1), and running what it said would have
    written a new kernels/ folder there; `symnet docs --check` the same for the pages. Now one
    line says the folder is not there (exit 2) and how to name it."""
    monkeypatch.chdir(tmp_path)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "no such folder" in err and "repository's root" in err and "--out" in err \
        and "stale" not in err
    assert not any(tmp_path.iterdir())


# symnet.torch: the functionals and from_formula with a user's options and inputs.

@pytest.fixture(scope="module")
def st():
    from conftest import torch_and_triton

    torch_and_triton()
    import symnet.torch as st
    return st


@pytest.mark.parametrize("call, message", [
    # more options than the loss has: was "TypeError: <lambda>() takes 2 positional arguments but 3 were given"
    (lambda F, a: F.loss("mse", a, a, 2.0), r"^mse takes no options; got 1 \(2\.0\)$"),
    # was "_focal() takes from 2 to 4 positional arguments but 5 were given" (its count had the tensors)
    (lambda F, a: F.loss("focal", a, a, 0.25, 3, 7),
     r"^focal takes at most 2 option\(s\), by position: focal\(z, t, alpha=1/4, gamma=2\); got 3"),
    # an option by name: was "loss() got an unexpected keyword argument 'delta'"
    (lambda F, a: F.loss("huber", a, a, delta=2.0),
     r"^loss\(\) takes the options of huber by position, not by name \(delta=…\): huber\(x, t, delta=1\)$"),
    (lambda F, a: F.activation("leaky_relu", a, slope=0.2),
     r"^activation\(\) takes the options of leaky_relu by position, not by name \(slope=…\)"),
    (lambda F, a: F.activation("relu", a, 3.0), r"^relu takes no options; got 1 \(3\.0\)$"),
    # the variance left out: was a multi-line RuntimeError from torch's schema parser ("Expected a
    # value of type 'Tensor' for argument 'v' but instead found type 'list'. Position: 2 ...")
    (lambda F, a: F.loss("gaussian_nll", a, a),
     r"^gaussian_nll takes 3 tensors, got 2: pass the input, then the target and var as a tuple: "
     r"loss\('gaussian_nll', input, \(target, var\)\)$"),
    (lambda F, a: F.loss("mse", a, (a, a)), r"^mse takes 2 tensors, got 3"),
    # a bad reduction is refused before the kernel is derived and compiled
    (lambda F, a: F.loss("kl_div", a, a, reduction="avg"), r"^reduction must be 'mean', 'sum' or 'none', not 'avg'$"),
])
def test_functional_loss_and_activation_name_their_options(st, call, message):
    """`st.functional.loss(...)` with the wrong options, as a user writes them: one line saying
    which options the function takes, in order (the parser's usage line), not Python's message
    about an internal function."""
    import torch

    a = torch.rand(4, dtype=torch.float64)
    with pytest.raises(SymnetError, match=message):
        call(st.functional, a)


def test_functional_loss_options_by_position_match_torch(st):
    """The calls the messages above point to give torch's values (float64)."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1)
    p, t = torch.randn(7, dtype=torch.float64, generator=g), torch.randn(7, dtype=torch.float64, generator=g)
    var = torch.rand(7, dtype=torch.float64, generator=g) + 0.1
    torch.testing.assert_close(st.functional.loss("huber", p, t, 2.0), F.huber_loss(p, t, delta=2.0))
    torch.testing.assert_close(st.functional.loss("huber", p, t, 2.0, reduction="none"),
                               F.huber_loss(p, t, delta=2.0, reduction="none"))
    torch.testing.assert_close(st.functional.loss("gaussian_nll", p, (t, var), reduction="sum"),
                               F.gaussian_nll_loss(p, t, var, reduction="sum"))
    torch.testing.assert_close(st.functional.activation("leaky_relu", p, 0.2), F.leaky_relu(p, 0.2))


def test_from_formula_takes_a_string_of_names_and_checks_each(st):
    """`st.from_formula("w*sin(x)", inputs="x,w")` (the command line's `--wrt x,w`). Fault: the
    string was taken as one name, and the error read "the formula uses w, x, which is not among
    inputs=[x,w]"; a name with a space was not checked by the parser's rules at all. Now a
    string is a list of names as `sympy.symbols` reads it, each name checked."""
    import torch

    f = st.from_formula("w*sin(x) + b", inputs="x, w, b")
    assert [s.name for s in f.inputs] == ["x", "w", "b"]
    assert [s.name for s in st.from_formula("w*sin(x)", inputs="x w").inputs] == ["x", "w"]
    x = torch.linspace(-2.0, 2.0, 5, dtype=torch.float64)
    torch.testing.assert_close(f(x, 3.0, 0.5), 3.0 * torch.sin(x) + 0.5)
    with pytest.raises(ParseError, match=r"^'w w' is not allowed as a variable name"):
        st.from_formula("w*sin(x)", inputs=["x", "w w"])
    with pytest.raises(DerivationError, match=r"^the formula uses b, w, which are not among inputs=\[x\]$"):
        st.from_formula("w*sin(x)*b", inputs=["x"])


def test_from_formula_names_the_two_tensors_of_different_dtypes(st):
    """`f(x32, w64, 0.5)`. Fault: "argument 'w' is torch.float64 but 'b' is torch.float32" — b
    was the Python number 0.5, made a tensor of x's dtype before the kernel's check; the message
    blamed the one argument the user had not given a dtype. Now it names x."""
    import torch

    f = st.from_formula("w*sin(x) + b", inputs=["x", "w", "b"])
    x = torch.randn(3)
    with pytest.raises(TypeError, match=r"^argument 'w' is torch.float64 but 'x' is torch.float32; pass tensors "
                                        r"of one dtype \(Python numbers take theirs\)$"):
        f(x, x.double(), 0.5)
    with pytest.raises(TypeError, match=r"^argument 'b' is torch.float64 but 'w' is torch.float32"):
        f(0.5, x, x.double())


def test_readme_numpy_example_runs_as_written():
    """README's "Generated NumPy code" block, pasted after its "From Python" block. Fault: it
    called `k(x=z_array, t=y_array)` with arrays defined nowhere (NameError). The two blocks are
    run here as written (the lines that only show a value stay as they are) and the result is
    checked against the formula."""
    import contextlib
    import io

    import numpy as np

    def block(first_line):
        start = README.index(first_line)
        return README[start:README.index("```", start)]

    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(block("import sympy as sp, symnet"), namespace)  # noqa: S102 - the README's own example
        exec(block("import numpy as np\nk = symnet.compile(d)"), namespace)  # noqa: S102
    z, y = namespace["z_array"], namespace["y_array"]
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(namespace["L"], (y - s) ** 2, rtol=1e-14)
    np.testing.assert_allclose(namespace["dL_dx"], -2 * (y - s) * s * (1 - s), rtol=1e-13, atol=1e-300)


def test_verify_worst_point_shows_got_and_true_to_their_last_ulp():
    """`symnet verify "softsign(x)"`: "worst 1.23 ULP at x=-2.8386688908351516e-08 (got
    -2.83866881e-08, true -2.83866881e-8)". Fault: got printed with 9 digits and true with 10, so
    in float64 the two read the same and the line could not show the error it reported. Now got
    reads back as the float computed (17 digits in float64, 9 in float32) and true has 3 more:
    the ULPs between the printed numbers are the ULPs reported."""
    import mpmath
    import numpy as np

    report = symnet.verify("softsign(x)", n=20, torch=False)
    for dtype in ("float32", "float64"):
        for output in ("f", "df_dx"):
            cell = report.cell(output, dtype, "symnet numpy")
            got, true = re.search(r"\(got (\S+), true (\S+)\)", cell.worst_at).groups()
            spacing = float(np.spacing(np.abs(np.asarray(float(true), dtype))))
            got = float(np.dtype(dtype).type(got))  # the float the text reads back as
            with mpmath.workdps(50):  # every digit of true as printed
                shown = float(abs(mpmath.mpf(got) - mpmath.mpf(true))) / spacing
            assert cell.worst_ulp > 0.3 and abs(shown - cell.worst_ulp) < 0.05, (cell.worst_at, cell.worst_ulp)


def test_unknown_function_lists_the_known_ones(capsys):
    """`symnet derive "mylu(x)"` (nothing close): "the 68 known ones are listed in
    symnet.parsing.FUNCTIONS", a Python name a command-line user cannot look at. The line now
    lists them (canonical names; the aliases such as Abs and swish left out)."""
    assert main(["derive", "mylu(x)"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "symnet.parsing" not in err
    known = err.split("known: ")[1].split(", ")
    assert {"exp", "relu", "gelu", "focal", "gaussian_nll", "where"} <= set(known) and "swish" not in known
    assert set(known) <= set(symnet.parsing.FUNCTIONS)


def test_functional_takes_the_names_formulas_take(st):
    """`st.functional.activation("swish", x)`: a formula reads swish(x) (it is silu), the
    functional said "no activation 'swish'". Now it takes the formula's names too."""
    import torch

    x = torch.linspace(-4.0, 4.0, 9, dtype=torch.float64)
    torch.testing.assert_close(st.functional.activation("swish", x), torch.nn.functional.silu(x))
    torch.testing.assert_close(st.functional.activation("σ", x), torch.sigmoid(x))
