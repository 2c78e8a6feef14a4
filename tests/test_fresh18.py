"""Session 18's new user, who read only the README: what they met, each pinned where it was fixed.

- A numpy.ma masked array's message told them to pass ``x.filled(x)`` (the placeholder was the
  argument's own name).
- A big-endian float array (``'>f8'``, as read from a file written on another machine) was refused as
  "must hold float32 or float64 values, not >f8": it holds float64 numbers; it is now taken, exactly.
- ``symnet.verify("…", backend="triton")`` (the command line's ``--backend``) answered Python's bare
  "unexpected keyword argument 'backend'"; now it names ``backends=`` (and ``n=`` for ``--points``).
- A compiled function called with an unknown keyword said it twice ("… argument 'z'; unexpected 'z'").
- The README did not say that gaussian_nll's ∂/∂var below eps is 0 here and not in torch.
"""
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.kernels import load_kernel

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
x, t = sp.symbols("x t", real=True)


@pytest.fixture(scope="module")
def kernel():
    return symnet.compile(symnet.derive((t - symnet.sigmoid(x)) ** 2, wrt=[x]), progress=False)


# --- masked arrays: the message's placeholder ---------------------------------------------------------

def test_a_masked_array_is_refused_with_a_message_that_reads_right(kernel):
    masked = np.ma.masked_array(np.linspace(-3, 3, 7), mask=[0, 1, 0, 0, 0, 0, 0])
    with pytest.raises(TypeError) as info:
        kernel(x=masked, t=np.full(7, 0.5))
    message = str(info.value)
    assert "x.filled(x)" not in message, message  # read "pass x.filled(x) with the value x masked entries stand for"
    assert "argument 'x' is a numpy.ma masked array" in message and "x.filled(...)" in message


def test_a_committed_row_kernel_gives_the_same_message():
    sm = load_kernel("softmax_cross_entropy", "numpy")
    z = np.ma.masked_array(np.zeros((2, 3)), mask=np.zeros((2, 3), bool))
    with pytest.raises(TypeError, match=r"pass z\.filled\(\.\.\.\) with the value that masked entries stand for"):
        sm.softmax_cross_entropy(z, np.array([0, 1]))


# --- big-endian arrays: the same numbers, taken ----------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_big_endian_array_gives_the_same_bits_as_a_native_one(kernel, dtype):
    rng = np.random.default_rng(18)
    z, y = rng.standard_normal(37).astype(dtype), rng.random(37).astype(dtype)
    want = kernel(x=z, t=y)
    swapped = np.dtype(dtype).newbyteorder(">" if np.little_endian else "<")
    got = kernel(x=z.astype(swapped), t=y.astype(swapped))  # was: "must hold float32 or float64 values, not >f8"
    for w, g in zip(want, got):
        assert g.dtype == np.dtype(dtype) and np.array_equal(w, g)


def test_big_endian_rows_and_layers_too():
    rng = np.random.default_rng(18)
    other = ">" if np.little_endian else "<"
    z, r = rng.standard_normal((5, 7)), np.array([0, 6, 3, 2, 1])
    sm = load_kernel("softmax_cross_entropy", "numpy")
    want = sm.softmax_cross_entropy_grad(z, r)
    got = sm.softmax_cross_entropy_grad(z.astype(other + "f8"), r.astype(other + "i8"))
    assert all(np.array_equal(w, g) for w, g in zip(want, got))
    swapped = z.astype(other + "f8")  # inplace=True writes into the caller's (swapped) array: the same numbers
    sm.softmax_cross_entropy_grad(swapped, r, inplace=True)
    assert np.array_equal(swapped, want[1])
    dense = load_kernel("dense", "numpy")
    W, b = rng.standard_normal((3, 7)), rng.standard_normal(3)
    assert np.array_equal(dense.linear(z, W, b), dense.linear(z.astype(other + "f8"), W.astype(other + "f8"), b))


def test_big_endian_integers_are_still_refused_as_integers(kernel):
    with pytest.raises(TypeError, match=r"must hold float32 or float64 values, not int64"):
        kernel(x=np.arange(3).astype(">i8" if np.little_endian else "<i8"), t=np.zeros(3))


# --- symnet.verify's keywords --------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, right", [("backend", "backends="), ("points", "n="), ("dtype", "dtypes="),
                                          ("time_limit", "timeout=")])
def test_verify_names_the_python_spelling_of_a_command_line_option(wrong, right):
    with pytest.raises(TypeError) as info:
        symnet.verify("softsign(x)", **{wrong: "triton"})
    message = str(info.value)
    assert f"unexpected keyword argument {wrong!r}: in Python it is {right}" in message, message
    assert "\n" not in message


def test_verify_lists_its_keywords_for_any_other_slip():
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'colour'; verify's keywords: wrt, dtypes, "
                                        r"backends, n, seed"):
        symnet.verify("x", colour=1)
    with pytest.raises(TypeError, match=r"symnet verify --kernels DIR"):
        symnet.verify("x", kernels="kernels")


# --- a compiled function's unknown keyword, said once ----------------------------------------------------

def test_an_unknown_keyword_is_named_once(kernel):
    with pytest.raises(TypeError) as info:
        kernel(x=np.zeros(2), t=np.zeros(2), z=np.zeros(2))
    message = str(info.value)
    assert message.count("'z'") == 1 and "(the inputs are t, x)" in message, message


# --- README: gaussian_nll's ∂/∂var below eps ------------------------------------------------------------

def test_readme_says_what_gaussian_nll_does_below_eps():
    text = " ".join(README.split())
    assert "below eps its ∂/∂var is 0, the derivative of that max" in text
    assert "−4.5e10 at var = 1e−7, x − t = 0.3" in text


def test_the_readme_numbers_below_eps():
    """The README's claim, measured: symnet's ∂/∂var at var = 1e−7 is 0; torch's is the derivative at eps."""
    k = symnet.compile(symnet.derive("gaussian_nll(p, t, v)"), progress=False)
    out = dict(zip(k.outputs, k(p=np.array([0.3, 0.3]), t=np.zeros(2), v=np.array([1e-7, 1e-3]))))
    assert out["df_dv"][0] == 0.0
    assert out["df_dv"][1] == pytest.approx((1 / 1e-3 - 0.09 / 1e-6) / 2, rel=1e-12)  # above eps: the derivative
    torch = pytest.importorskip("torch")
    var = torch.tensor([1e-7], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.gaussian_nll_loss(torch.tensor([0.3], dtype=torch.float64),
                                          torch.zeros(1, dtype=torch.float64), var, reduction="sum").backward()
    assert var.grad.item() == pytest.approx((1 / 1e-6 - 0.09 / 1e-12) / 2, rel=1e-9)  # −4.49995e10: at eps


# --- docstrings: what symnet.compile's function takes and returns; what gradient_at returns -----------------

def test_compile_docstring_says_what_the_function_takes_and_returns(kernel):
    doc = " ".join(symnet.compile.__doc__.split())
    assert "Returns:" in doc  # said only "see symnet.codegen.compile's docstring", which did not say it either
    for claim in ("k.inputs", "k.outputs", "f1, f2, df1_dx, df1_dy, df2_dx, df2_dy", "returns a tuple",
                  "float32 or float64 NumPy arrays of one shape", "float32 beside float64 computes in float64",
                  "TypeError", "ValueError for shapes that differ", "DomainError"):
        assert claim in doc, claim
    # and what it says holds: sorted inputs, a tuple even of one output, float32 beside float64 → float64
    x_, y_ = sp.symbols("x y", real=True)
    two = symnet.compile(symnet.derive([x_ * y_, sp.sin(x_) + y_ ** 2]), progress=False)
    assert two.outputs == ("f1", "f2", "df1_dx", "df1_dy", "df2_dx", "df2_dy") and two.inputs == ("x", "y")
    one = symnet.compile(symnet.derive("x*sigmoid(x)"), value=False, progress=False)
    assert isinstance(one(x=np.ones(2)), tuple) and len(one(x=np.ones(2))) == 1
    assert {a.dtype for a in kernel(x=np.ones(2, np.float32), t=np.ones(2))} == {np.dtype(np.float64)}
    with pytest.raises(ValueError, match="one shape"):
        kernel(x=np.ones(2), t=np.ones(3))


def test_gradient_at_docstring_says_values_are_exact():
    d = symnet.derive("(t - sigmoid(x))**2", wrt="x")
    doc = " ".join(type(d).gradient_at.__doc__.split())
    assert "a float is read as written (0.1 as 1/10)" in doc and "float(v)" in doc
    value = d.gradient_at({"x": 0.1, "t": 1})[sp.Symbol("x", real=True)]
    assert value.has(sp.Rational(1, 10)) and not value.is_Float  # exact, as the docstring says
    assert float(value) == pytest.approx(-0.2369176185, rel=1e-9)  # the CLI's --at x=0.1,t=1 printout


# --- ElmanRNN: torch.nn.RNN's keywords, its repr, a dtype mismatch named -----------------------------------

@pytest.fixture(scope="module")
def st():
    from conftest import triton_torch

    triton_torch()
    import symnet.torch as st
    return st


def test_elman_rnn_prints_its_sizes(st):
    assert repr(st.nn.ElmanRNN(16, 32, batch_first=True)) == "ElmanRNN(16, 32, batch_first=True)"  # was "ElmanRNN()"
    assert repr(st.nn.ElmanRNN(3, 4)) == "ElmanRNN(3, 4)"


@pytest.mark.parametrize("option", [{"bias": True}, {"num_layers": 2}, {"dropout": 0.1}, {"bidirectional": True},
                                    {"nonlinearity": "tanh"}, {"proj_size": 2}])
def test_elman_rnn_answers_torch_rnn_keywords_it_lacks(st, option):
    (k, v), = option.items()
    with pytest.raises(TypeError) as info:  # was: "__init__() got an unexpected keyword argument 'bias'"
        st.nn.ElmanRNN(3, 4, **option)
    message = str(info.value)
    assert message.startswith(f"ElmanRNN() got {k}={v!r}: it is one layer of h_t = σ(") and "without biases" in message


def test_elman_rnn_takes_torch_keywords_at_its_own_values(st):
    rnn = st.nn.ElmanRNN(3, 4, num_layers=1, bias=False, dropout=0.0, bidirectional=False, nonlinearity="sigmoid")
    assert [n for n, _ in rnn.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


def test_elman_rnn_names_a_dtype_mismatch(st):
    import torch

    rnn = st.nn.ElmanRNN(3, 4).double()
    with pytest.raises(TypeError) as info:  # was: "argument 'Wi' is torch.float64 but the inputs are torch.float32"
        rnn(torch.randn(5, 2, 3))
    assert str(info.value) == ("ElmanRNN: input is torch.float32 but the weights are torch.float64; convert one "
                               "(input.to(torch.float64) or the module's .to(torch.float32))")
    with pytest.raises(TypeError, match=r"^ElmanRNN: hx is torch.float32 but the weights are torch.float64"):
        rnn(torch.randn(5, 2, 3, dtype=torch.float64), torch.zeros(1, 2, 4))
    out, h = rnn(torch.randn(5, 2, 3, dtype=torch.float64), torch.zeros(1, 2, 4, dtype=torch.float64))
    assert out.shape == (5, 2, 4) and h.shape == (1, 2, 4)


def test_elman_rnn_under_autocast_still_mixes_dtypes(st):
    import torch

    torch.manual_seed(0)
    rnn = st.nn.ElmanRNN(3, 4)
    x = torch.randn(5, 2, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = rnn(x.bfloat16())  # bf16 activations beside float32 weights: the step takes autocast's dtype
    assert out.dtype == torch.bfloat16
    h, ref = torch.zeros(2, 4), []
    for t in range(5):
        h = torch.sigmoid(x.bfloat16().float()[t] @ rnn.weight_ih_l0.T.bfloat16().float()
                          + h.bfloat16().float() @ rnn.weight_hh_l0.T.bfloat16().float())
        ref.append(h)
    torch.testing.assert_close(out.float(), torch.stack(ref), rtol=0.02, atol=0.02)


# --- torch's loss names with a list target --------------------------------------------------------------

@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits"])
def test_a_torch_named_loss_refuses_a_list_target_as_torch_does(st, name):
    import torch

    z = torch.rand(4, dtype=torch.float64)
    for target in ([1.0], [0.5] * 4, (0.5,)):  # [1.0] was read as the number 1.0, [0.5] * 4 as four targets
        with pytest.raises(TypeError) as info:
            getattr(st.functional, name)(z, target)
        assert str(info.value).startswith(f"{name}: argument 'target' must be a torch.Tensor, not "
                                          f"{type(target).__name__}"), str(info.value)
        with pytest.raises((TypeError, AttributeError)):  # torch refuses a list target too ("no attribute size")
            getattr(torch.nn.functional, name)(z, target)


def test_loss_says_how_it_reads_a_list():
    import torch

    with pytest.raises(TypeError) as info:
        pytest.importorskip("symnet.torch").functional.loss("mse", torch.rand(4), [1.0] * 4)
    assert str(info.value).startswith("mse: takes 1 target tensor(s), got 4 (a list or tuple holds the target and a "
                                      "loss's further tensors, as loss('gaussian_nll', mu, (t, var));")


# --- README: the size of the double-word helpers in k.source: tests/test_fresh22.py counts them now (the README
# says ~400 lines of double- and triple-word helpers since session 22)


# --- FusedStep: a short activations tuple, a final Softmax, torch.optim's zero_grad ---------------------

def _mlp(*extra):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 3), *extra)


def test_fused_step_says_activations_is_short(st):
    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    with pytest.raises(FusedStepError) as info:  # was "1 layer(s) take 2 parameters (W1, b1, …), not 4"
        FusedStep(_mlp(), activations=("gelu",), loss="ce", lr=0.1)
    assert str(info.value) == ("activations names 1 layer(s), which take 2 parameters (W1, b1, …), but there are 4: "
                               "give one activation per nn.Linear layer (W and b), the last usually 'linear'")


@pytest.mark.parametrize("last", ["Softmax", "LogSoftmax"])
def test_fused_step_names_a_final_softmax(st, last):
    import torch

    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), getattr(torch.nn, last)(-1))
    with pytest.raises(FusedStepError, match=rf"cannot take a final nn.{last}: .*loss='ce' takes the last layer's "
                                             r"logits and applies the softmax itself"):
        FusedStep(model, loss="ce", lr=0.1)


def test_fused_step_answers_torch_optim_names(st):
    import copy
    import pickle

    from symnet.torch.optim import FusedStep

    opt = FusedStep(_mlp(), activations=("gelu", "linear"), loss="ce", lr=0.1)
    with pytest.raises(AttributeError, match=r"^FusedStep has no zero_grad: it computes the gradients inside its "
                                             r"kernel and never reads \.grad"):
        opt.zero_grad()  # was: "'FusedStep' object has no attribute 'zero_grad'"
    with pytest.raises(AttributeError, match=r"^FusedStep has no param_groups: its learning rate is opt.lr"):
        opt.param_groups
    with pytest.raises(AttributeError, match=r"^'FusedStep' object has no attribute 'colour'$"):
        opt.colour
    assert not hasattr(opt, "zero_grad")
    for again in (copy.deepcopy(opt), pickle.loads(pickle.dumps(opt))):  # __getattr__ leaves copies alone
        assert again.activations == ("gelu", "linear") and again.lr == 0.1


# --- from_formula of several outputs ---------------------------------------------------------------------

def test_from_formula_of_a_list_says_one_formula_each(st):
    from symnet.errors import DerivationError

    x_, y_ = sp.symbols("x y", real=True)
    for several in ([x_ * y_, x_ + y_], (x_ * y_,), sp.Matrix([x_ * y_, x_ + y_])):
        with pytest.raises(DerivationError) as info:  # was: AttributeError 'list' object has no attribute 'free_symbols'
            st.from_formula(several, inputs=[x_, y_])
        assert str(info.value).startswith("from_formula takes one formula (text or a SymPy expression), not a ")
        assert str(info.value).endswith("of several: make one from_formula for each output")
    with pytest.raises(DerivationError, match=r"not float$"):
        st.from_formula(1.5, inputs=[x_])
    assert st.from_formula(x_ * y_, inputs=[x_, y_]) is not None  # one SymPy formula still taken


# --- a NumPy function given what np.asarray cannot read: one line naming the argument ---------------------

def test_a_tensor_that_requires_grad_is_named(kernel, st):
    import torch

    with pytest.raises(TypeError) as info:  # was torch's RuntimeError, naming no argument
        kernel(x=torch.ones(3, requires_grad=True), t=np.zeros(3))
    assert str(info.value) == ("argument 'x' (Tensor) cannot be read as a NumPy array: Can't call numpy() on Tensor "
                               "that requires grad. Use tensor.detach().numpy() instead.")
    with pytest.raises(TypeError, match=r"^argument 'x' \(Tensor\) cannot be read as a NumPy array: .*BFloat16"):
        kernel(x=torch.ones(3, dtype=torch.bfloat16), t=np.zeros(3))  # was "Got unsupported ScalarType BFloat16"
    got = kernel(x=torch.ones(3, dtype=torch.float64), t=np.zeros(3))  # a plain CPU tensor is still read
    assert np.array_equal(got[0], kernel(x=np.ones(3), t=np.zeros(3))[0])


def test_a_ragged_list_is_named(kernel):
    with pytest.raises(TypeError) as info:  # was NumPy's ValueError "setting an array element with a sequence ..."
        kernel(x=[[1.0], [1.0, 2.0]], t=0.5)
    assert str(info.value).startswith("argument 'x' (list) cannot be read as a NumPy array: setting an array element")
    assert "\n" not in str(info.value)


def test_a_committed_row_kernel_names_an_unreadable_argument(st):
    import torch

    sm = load_kernel("softmax_cross_entropy", "numpy")
    with pytest.raises(TypeError, match=r"^argument 'z' \(Tensor\) cannot be read as a NumPy array"):
        sm.softmax_cross_entropy(torch.ones(2, 3, requires_grad=True), np.array([0, 1]))


# --- symnet train --resume with nothing to do: the checkpoint's epochs, not --epochs ----------------------

def test_resume_with_nothing_to_do_reports_the_checkpoint_s_epochs(tmp_path, capsys):
    from symnet.cli import main

    checkpoint = str(tmp_path / "xor.npz")
    assert main(["train", "xor", "--epochs", "5", "--checkpoint", checkpoint]) == 0
    first = capsys.readouterr().out
    assert "after 5 epochs" in first
    assert main(["train", "xor", "--epochs", "3", "--checkpoint", checkpoint, "--resume"]) == 0
    out, err = capsys.readouterr()
    assert "nothing to do" in err and "already at epoch 5" in err
    assert "after 5 epochs" in out and "after 3 epochs" not in out  # said "after 3 epochs" of a 5-epoch run
    assert out.split("\n", 1)[1].split("weights saved")[0] == first.split("\n", 1)[1].split("weights saved")[0]


def test_one_epoch_is_singular(tmp_path, capsys):
    from symnet.cli import main

    assert main(["train", "xor", "--epochs", "1"]) == 0
    assert "after 1 epoch (lr" in capsys.readouterr().out  # "after 1 epochs"


# --- --at with semicolons ----------------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["x=1;y=2", "x=1; y=2"])
def test_a_point_with_semicolons_says_commas(point, capsys):
    from symnet.cli import main

    assert main(["derive", "x*y", "--at", point]) == 2
    err = capsys.readouterr().err  # was "cannot parse '1;y=2': invalid syntax at column 2"
    assert err.strip() == (f"symnet: error: cannot read the point {point!r}: separate name=value pairs with commas, "
                           "not semicolons (x=1,y=0.5)")


def test_the_torch_loss_below_eps_too(st):
    import torch

    mu = torch.tensor([0.3, 0.3], dtype=torch.float64, requires_grad=True)
    var = torch.tensor([1e-7, 1e-3], dtype=torch.float64, requires_grad=True)
    st.functional.loss("gaussian_nll", mu, (torch.zeros(2, dtype=torch.float64), var), reduction="sum").backward()
    assert var.grad[0].item() == 0.0  # the README: below eps, 0 (torch: −4.5e10)
    assert var.grad[1].item() == pytest.approx((1 / 1e-3 - 0.09 / 1e-6) / 2, rel=1e-12)


def test_readme_says_what_the_numpy_functions_take():
    text = " ".join(README.split())
    assert "float32 beside float64 computes in float64 (outputs in float64)" in text
    assert "an array in the other byte order (`'>f8'`, read from a file written on a big-endian machine) is taken" \
        in text


# --- a formula of two outputs, as text ------------------------------------------------------------------

def test_a_tuple_formula_says_how_to_derive_several_outputs(capsys):
    from symnet.cli import main

    assert main(["derive", "x*y, sin(x) + y**2"]) == 2
    err = capsys.readouterr().err  # was "unsupported syntax: tuple is not allowed in a formula"
    assert "a formula has one output, and this is a tuple of 2; for a vector function pass a list from Python, " \
           "symnet.derive(['x*y', 'sin(x) + y**2']) (its Jacobian)" in err  # the user's outputs (session 19)
    d = symnet.derive(["x*y", "sin(x) + y**2"])  # what it says works
    assert d.jacobian.shape == (2, 2)
    with pytest.raises(symnet.ParseError, match="tuple is not allowed in a formula"):  # a tuple inside: as before
        symnet.parse("exp((x, y))")


# --- symnet.compile of a string that is not a row-wise function's name -------------------------------------

@pytest.mark.parametrize("text, start", [
    ("x*sigmoid(x)", "'x*sigmoid(x)' is a formula, not the name of a row-wise function: "),
    ("mse-sigmoid", "'mse-sigmoid' is a derivation of the lecture, not a row-wise function: "),
    ("softmaxx", "unknown row-wise function 'softmaxx' (did you mean 'softmax'?): "),
])
def test_compile_of_a_string_says_what_the_string_is(text, start):
    with pytest.raises(symnet.SymnetError) as info:  # each began "unknown row-wise function '…'"
        symnet.compile(text)
    assert str(info.value).startswith(start) and "symnet.compile takes a Derivation" in str(info.value)
