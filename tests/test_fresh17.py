"""Session 17, a new user from the README alone: the formula parser, symnet.derive/compile from
Python, and the torch drop-ins.

* `symnet derive "EXP(x)"` listed all 68 functions and said "for a product write EXP*(…)" (difflib
  compares case); `__import__('os')` was told "for a product write __import__*(…)", no variable name.
* `symnet.derive("mse-sigmoid")` (the command line's `symnet derive mse-sigmoid`) answered "'mse' is a
  function: write mse(…)"; `symnet.derive("dense")` differentiated a variable called dense;
  `symnet.compile("sigmoid")` said to call `symnet.derive('sigmoid')`, which refuses it.
* `symnet.derive(f, wrt="x, y")` was refused, where `--wrt x,y` and `from_formula(inputs="x, y")` read
  the same text as two names.
* `st.nn.ElmanRNN(16, 32)` on 15 features said "argument 'Wi' has shape (32, 16), expected (·, 15)";
  an `hx` of shape (B, H) said "argument 'hp' has shape (1, 32), expected (2, ·)".
* `st.functional.activation("mihs", x)`, `loss("focall", …)`, `st.nn.Linear(…, activation="sigmod")`
  listed every name without the close one; `activation=torch.nn.ReLU()` was "no activation ReLU()".
* The README's "torch's names where torch has one" led to `st.functional.kl_div` (and
  `poisson_nll_loss`, `gaussian_nll_loss`, `st.nn.KLDivLoss`): a bare AttributeError.
"""
from __future__ import annotations

import pytest
import sympy as sp

import symnet
from symnet.cli import main


@pytest.mark.parametrize("formula, said", [
    ("EXP(x)", "did you mean exp?"),
    ("Tanh(x)", "did you mean tanh?"),
    ("ABS(x)", "did you mean abs?"),        # one name, not "abs or Abs"
    ("heaviside(x)", None),                 # an alias the parser takes: no error at all
])
def test_a_function_in_other_capitals_is_suggested(capsys, formula, said):
    code = main(["derive", formula, "--wrt", "x"])
    err = capsys.readouterr().err.strip()
    if said is None:
        assert code == 0, err
        return
    assert code == 2 and len(err.splitlines()) == 1
    assert err.endswith(said), err
    assert "for a product" not in err and "known:" not in err


def test_no_product_suggested_for_a_name_that_is_no_variable(capsys):
    assert main(["derive", "__import__('os')"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown function '__import__'" in err and "for a product" not in err, err
    assert main(["derive", "w(x + 1)"]) == 2  # a real variable name keeps the product hint (test_fresh15)
    assert "for a product write w*(…)" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["mse-sigmoid", "dense", "sigmoid", " backprop "])
def test_derive_of_a_lecture_name_points_to_get(name):
    with pytest.raises(symnet.DerivationError) as info:
        symnet.derive(name)
    message = str(info.value)
    assert f"symnet.get({name.strip()!r})" in message and "named derivation" in message, message


def test_a_formula_using_a_lecture_name_as_a_variable_is_still_a_formula():
    d = symnet.derive("dense*x")
    assert d.gradients["dense"] == sp.Symbol("x", real=True)


def test_compile_of_a_lecture_name_points_to_get_not_to_derive():
    with pytest.raises(symnet.SymnetError, match=r"symnet\.get\('sigmoid'\)") as info:
        symnet.compile("sigmoid")
    assert "symnet.derive('sigmoid')" not in str(info.value)
    with pytest.raises(symnet.SymnetError, match=r"symnet\.derive\('x\*sin\(x\)'\) for a formula"):
        symnet.compile("x*sin(x)")


@pytest.mark.parametrize("wrt", ["x, y", "x,y", "x y", ["x", "y"]])
def test_wrt_as_text_reads_names_as_the_command_line_does(wrt):
    d = symnet.derive("x*y*z + sin(x)", wrt=wrt)
    x, y, z = sp.symbols("x y z", real=True)
    assert d.gradients == {x: y * z + sp.cos(x), y: x * z}  # sympy.diff, independently
    assert list(d.gradients) == [x, y]


def test_wrt_as_text_still_names_what_is_wrong():
    with pytest.raises(symnet.DerivationError, match="'w' does not appear in the formula"):
        symnet.derive("x*y", wrt="x, w")
    with pytest.raises(symnet.ParseError):
        symnet.derive("x*y", wrt="x, 2")


@pytest.fixture(scope="module")
def st():
    from conftest import triton_torch

    triton_torch()
    import symnet.torch as st
    return st


def test_elman_rnn_names_a_wrong_input_size_as_torch_does(st):
    import torch

    rnn = st.nn.ElmanRNN(16, 32, batch_first=True)
    with pytest.raises(ValueError, match=r"input_size: expected 16, got 15") as info:
        rnn(torch.randn(2, 5, 15))
    assert "Wi" not in str(info.value)
    with pytest.raises(RuntimeError, match="Expected 16, got 15"):  # torch's own module, the same complaint
        torch.nn.RNN(16, 32, batch_first=True)(torch.randn(2, 5, 15))


@pytest.mark.parametrize("batched, hx_shape, expected", [
    (True, (2, 32), r"\(1, 2, 32\).*got \(2, 32\)"),
    (True, (1, 3, 32), r"\(1, 2, 32\).*got \(1, 3, 32\)"),
    (False, (32,), r"\(1, 32\).*got \(32,\)"),
])
def test_elman_rnn_names_a_wrong_hidden_state(st, batched, hx_shape, expected):
    import torch

    rnn = st.nn.ElmanRNN(16, 32, batch_first=True)
    x = torch.randn(2, 5, 16) if batched else torch.randn(5, 16)
    with pytest.raises(ValueError, match=expected) as info:
        rnn(x, torch.zeros(hx_shape))
    assert "'hp'" not in str(info.value)
    with pytest.raises(RuntimeError):  # torch refuses the same hx
        torch.nn.RNN(16, 32, batch_first=True)(x, torch.zeros(hx_shape))


def test_elman_rnn_with_the_right_hidden_state_matches_a_torch_loop(st):
    import torch

    torch.manual_seed(0)
    rnn = st.nn.ElmanRNN(4, 3, batch_first=True).double()
    x, h0 = torch.randn(2, 5, 4, dtype=torch.float64), torch.randn(1, 2, 3, dtype=torch.float64)
    out, hn = rnn(x, h0)
    h, ref = h0[0], []
    for t in range(5):  # h_t = σ(x_t W_ihᵀ + h_{t−1} W_hhᵀ), written out with torch
        h = torch.sigmoid(x[:, t] @ rnn.weight_ih_l0.T + h @ rnn.weight_hh_l0.T)
        ref.append(h)
    torch.testing.assert_close(out, torch.stack(ref, 1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(hn, h.unsqueeze(0), rtol=1e-12, atol=1e-12)


def test_rnn_step_names_a_wrong_feature_count(st):
    import torch

    with pytest.raises(ValueError, match=r"input has 15 features .* weight_ih \(32, 16\) takes 16"):
        st.functional.rnn_step(torch.randn(2, 15), torch.zeros(2, 32), torch.randn(32, 16), torch.randn(32, 32))
    with pytest.raises(ValueError, match=r"hx has 31 features .* weight_hh \(32, 32\) takes 32"):
        st.functional.rnn_step(torch.randn(2, 16), torch.zeros(2, 31), torch.randn(32, 16), torch.randn(32, 32))


@pytest.mark.parametrize("call, close", [
    (lambda st, x: st.functional.activation("mihs", x), "did you mean mish?"),
    (lambda st, x: st.functional.activation("Mish", x), "did you mean mish?"),
    (lambda st, x: st.functional.loss("focall", x, x), "did you mean focal?"),
    (lambda st, x: st.nn.Linear(4, 2, activation="sigmod"), "did you mean sigmoid"),
])
def test_an_unknown_activation_or_loss_suggests_the_close_name(st, call, close):
    import torch

    with pytest.raises(symnet.SymnetError, match="known: ") as info:
        call(st, torch.rand(3))
    assert close in str(info.value) and len(str(info.value).splitlines()) == 1


def test_a_module_instead_of_an_activation_name_is_told_to_pass_the_name(st):
    import torch

    with pytest.raises(symnet.SymnetError, match=r"pass its name as a string, one of linear, .*relu"):
        st.nn.Linear(4, 2, activation=torch.nn.ReLU())


@pytest.mark.parametrize("module, name, use", [
    ("functional", "kl_div", "loss('kl_div'"),
    ("functional", "poisson_nll_loss", "loss('poisson_nll'"),
    ("functional", "gaussian_nll_loss", "loss('gaussian_nll', input, (target, var)"),
    ("nn", "KLDivLoss", "functional.loss('kl_div'"),
    ("nn", "PoissonNLLLoss", "functional.loss('poisson_nll'"),
    ("nn", "GaussianNLLLoss", "functional.loss('gaussian_nll'"),
])
def test_torch_names_without_a_drop_in_say_what_to_call(st, module, name, use):
    with pytest.raises(AttributeError, match=f"has no {name}: use ") as info:
        getattr(getattr(st, module), name)
    assert use in str(info.value)
    assert not hasattr(getattr(st, module), "no_such_name")


def test_what_the_pointers_say_matches_torch(st):
    """The three calls the AttributeErrors name give torch's numbers (float64, under the interpreter)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    x = torch.randn(4, 3, dtype=torch.float64)
    t = torch.rand(4, 3, dtype=torch.float64)
    v = torch.rand(4, 3, dtype=torch.float64) + 0.1
    lp = torch.log_softmax(x, -1)
    loss = st.functional.loss
    pairs = [
        (loss("kl_div", lp, t), F.kl_div(lp, t, reduction="mean")),
        (loss("kl_div", lp, t, reduction="sum") / 4, F.kl_div(lp, t, reduction="batchmean")),
        (loss("poisson_nll", x, t), F.poisson_nll_loss(x, t)),
        (loss("gaussian_nll", x, (t, v)), F.gaussian_nll_loss(x, t, v)),
    ]
    for ours, theirs in pairs:
        torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=0)


def test_readme_names_the_losses_that_go_by_loss():
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    assert "`gaussian_nll_loss` are `loss(\"kl_div\", …)`" in readme.replace("\n", " ")


def test_too_deep_a_formula_names_the_limit(capsys):
    assert main(["derive", "exp(" * 70 + "x" + ")" * 70]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("nested too deeply (at most 60 levels of nesting)"), err
    symnet.parse("exp(" * 50 + "x" + ")" * 50)  # within the README's 60 levels


@pytest.mark.parametrize("name, why", [("perceptron", "a kernel needs at least one output"),
                                       ("dense", "index-form derivation")])
def test_stable_of_a_lecture_item_without_elementwise_code_says_what_stable_is(capsys, name, why):
    assert main(["derive", name, "--stable"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and why in err, err
    assert "--stable shows the stable forms" in err and f"'symnet derive {name}' prints the derivation" in err


@pytest.mark.parametrize("activations, loss, said", [
    (("relu", "tanhh", "linear"), "ce", "unknown activation 'tanhh'; did you mean tanh"),
    (("Sigmoid", "linear"), "ce", "unknown activation 'Sigmoid'; did you mean sigmoid?"),
    (("relu", "linear"), "mse_loss", "unknown loss 'mse_loss'; did you mean mse?"),
    (("relu", "linear"), "cross_entropy", "unknown loss 'cross_entropy'; did you mean ce?"),
    (("relu", "linear"), "binary_cross_entropy_with_logits", "did you mean bce_logits?"),
])
def test_compile_step_suggests_the_name_of_a_misspelt_or_torch_named_layer_or_loss(activations, loss, said):
    with pytest.raises(symnet.SymnetError, match="choose one of: ") as info:
        symnet.compile_step(activations, loss)
    assert said in str(info.value), str(info.value)


def test_readme_figures_of_the_learnable_swish_are_what_symnet_verify_measures():
    """The README's `symnet verify "x*sigmoid(beta*x)"` sentence said 1.66 ULP worst for ∂f/∂x float64;
    the command (default seed and points) measures 1.77, at x = −2.8e−8, away from the root, on an AVX-512 box
    and 1.66 at β = −0.058, x = 0.7 on an AVX2 one: the README gives both."""
    import re
    from pathlib import Path

    readme = " ".join(Path(__file__).resolve().parents[1].joinpath("README.md").read_text().split())
    said = re.search(r'symnet verify "x\*sigmoid\(beta\*x\)"` passes: .*? \(float64: ([0-9.]+) ULP worst on AVX-512, '
                     r'.*? and ([0-9.]+) ULP worst on AVX2, .*?∂f/∂β is ([0-9.]+) ULP', readme)
    assert said, "the README's sentence on x*sigmoid(beta*x) moved"
    report = symnet.verify("x*sigmoid(beta*x)", dtypes="float64", torch=False)
    assert report.passed
    # NumPy's float64 exp is the CPU's SIMD one: 1.77 on an AVX-512 box (sessions 17–26), 1.66 on an AVX2 one
    # (session 27, where this test failed on a README of one figure)
    for output, figures in (("df_dx", said.group(1, 2)), ("df_dbeta", said.group(3, 3))):
        cell = report.cell(output, "float64", "symnet numpy")
        assert f"{cell.worst_ulp:.2f}" in figures, (output, cell.worst_ulp, cell.worst_at)


def test_a_saved_model_with_a_formula_loads_as_the_readme_says(st, tmp_path):
    """`torch.save(model)` then a plain `torch.load(f)` fails in torch ≥ 2.6 (weights_only=True by default);
    the README now says to load with weights_only=False, and that gives the same function back."""
    import re
    from pathlib import Path

    import torch

    readme = " ".join(Path(__file__).resolve().parents[1].joinpath("README.md").read_text().split())
    assert re.search(r"torch\.save\(model\)` of a model holding one works: .*?`torch\.load\(f, weights_only=False\)`",
                     readme)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4).double(), st.from_formula("x*tanh(x)", inputs="x"))
    torch.save(model, tmp_path / "m.pt")
    loaded = torch.load(tmp_path / "m.pt", weights_only=False)
    x = torch.randn(2, 3, dtype=torch.float64)
    h = model[0](x)
    torch.testing.assert_close(loaded(x), h * torch.tanh(h), rtol=1e-14, atol=1e-15)  # torch's own formula


@pytest.mark.parametrize("task, backend", [("miles", "triton-fused"), ("perceptron", "triton")])
def test_train_names_the_tasks_backends_before_asking_for_a_gpu(capsys, monkeypatch, task, backend):
    """Without a GPU, `symnet train miles --backend triton-fused` said to set TRITON_INTERPRET=1; with it set,
    the same command then said miles runs on numpy and torch only."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert main(["train", task, "--backend", backend]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"symnet: error: the {task} task runs on numpy, torch, not on {backend!r}", err
