"""What a new user met in session 15 (h-fresh15), following only the README.

a. Typical typos in a formula were answered "invalid syntax" with a column: a Python keyword as
   a name (``lambda*x``), a bracket never closed (``exp(x``), a product written without ``*``
   (``beta x``, ``2x``, ``(x+1) (x-1)``: the last one "unsupported call: BinOp is not allowed"),
   a formula ending in an operator, a Python conditional. Each now says what is wrong and what
   to write instead, in one line.
b. ``torch.save(model)`` of a model holding a ``symnet.torch.from_formula`` module (a loss of
   one's own as a submodule) failed: "Can't pickle local object 'formula_op.<locals>.<lambda>'".
   The module now pickles as its formula, inputs and argument checks, and compiles its op again
   on load (its checks too: a negative variance is still refused).
c. ``pickle.dumps(symnet.compile(d))`` failed with "import of module 'symnet_generated_kernel'
   failed"; it now pickles by value (h-break15's fix, kept when both were merged).
d. symnet.torch drop-ins: ``mse_loss`` of (N, 1) against (N,) broadcast to (N, N) without a word (torch
   warns; its BCE refuses); ``cross_entropy`` with class indices as floats answered only "soft targets
   must have the input's shape"; ``Linear(3, 2)`` on 5 features answered "argument 'W' has shape (2, 3),
   expected (·, 5)", naming the weight the user did not pass.
e. ``loss("poisson_nll", z, counts)`` with integer counts of z's shape (torch's poisson_nll_loss takes
   them) was told "not class indices: one-hot them, or use cross_entropy"; it is now told to pass
   ``target.to(input.dtype)`` (class indices of another shape keep the cross_entropy hint).
f. ``symnet derive sigmoid-mse`` suggested 'sigmoid'; the same words in another order now find
   'mse-sigmoid' (``softmax_cross_entropy`` finds 'softmax-cross-entropy').
"""
from __future__ import annotations

import copy
import io
import pickle
import subprocess
import sys

import pytest

import symnet
from symnet.errors import ParseError
from symnet.parsing import parse_expression


@pytest.mark.parametrize("text, message", [
    ("lambda*x", r"'lambda' is a Python keyword, not a variable name: call it lam or λ"),
    ("in + x", r"'in' is a Python keyword, not a variable name: call it in_"),
    ("x if y else z", r"write where\(c, a, b\)"),
    ("exp(x", r"'\(' was never closed"),
    ("exp(x))", r"unmatched '\)'"),
    ("x*sigmoid(beta x)", r"two operands side by side at column 11: write \* between them"),
    ("2x", r"two operands side by side .*: write \* between them"),
    ("(x + 1) (x - 1)", r"reads as a call.*write \* between them"),
    ("2(x)", r"reads as a call.*write \* between them"),
    ("relu(x)**", r"ends with an operator"),
    ("w(x + 1)", r"unknown function 'w'; for a product write w\*\(…\)"),
])
def test_a_typical_typo_is_named(text, message):
    with pytest.raises(ParseError, match=message) as caught:
        parse_expression(text)
    assert "\n" not in str(caught.value)


def test_a_typo_close_to_a_function_still_gets_its_suggestion():
    with pytest.raises(ParseError, match="did you mean sigmoid"):
        parse_expression("sigmod(x)")


def test_the_command_line_gives_one_line_for_a_keyword_name():
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "lambda*x"], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "symnet: error: cannot parse 'lambda*x': 'lambda' is a Python keyword, not a variable name: call it lam or λ"]


@pytest.mark.parametrize("name, suggested", [
    ("sigmoid-mse", "mse-sigmoid"), ("softmax_cross_entropy", "softmax-cross-entropy"),
    ("bptt-rnn", "rnn-bptt"), ("backprp", "backprop")])
def test_a_derivation_name_in_another_order_is_found(name, suggested):
    from symnet.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match=f"did you mean '{suggested}'"):
        symnet.get(name)


def test_a_compiled_function_pickles_by_value():
    # h-fresh15 made pickling refuse in one line; h-break15 made it work (by value): the merge keeps the latter
    k = symnet.compile(symnet.derive("x*sigmoid(beta*x)"))
    again = pickle.loads(pickle.dumps(k))
    assert again.inputs == k.inputs
    assert again(2.0, 0.5) == k(2.0, 0.5)


@pytest.fixture
def interpreted(monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def test_a_model_holding_a_formula_saves_and_loads(interpreted):
    import torch

    import symnet.torch as st
    from symnet.errors import DomainError

    nll = st.from_formula("gaussian_nll(p, t, v)", inputs="p t v")  # a loss with a declared domain: v ≥ 0
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    model.loss = nll
    p = torch.tensor([0.3, -1.5, 2.0], dtype=torch.float64)
    t = torch.tensor([1.0, 0.25, -0.5], dtype=torch.float64)
    v = torch.tensor([0.5, 2.0, 1e-3], dtype=torch.float64)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    # against torch's own Gaussian NLL (full=False, eps=1e-6), entry by entry
    want = torch.nn.functional.gaussian_nll_loss(p, t, v, reduction="none")
    torch.testing.assert_close(loaded.loss(p, t, v), want, rtol=1e-13, atol=0)
    for other in (pickle.loads(pickle.dumps(nll)), copy.deepcopy(nll)):
        torch.testing.assert_close(other(p, t, v), want, rtol=1e-13, atol=0)
        assert other.inputs == nll.inputs
    with pytest.raises(DomainError, match="negative"):  # the argument check came back with it
        loaded.loss(p, t, -v)


def test_a_drop_in_loss_warns_or_refuses_where_torch_does(interpreted):
    import warnings

    import torch

    import symnet.torch as st

    p, t = torch.rand(4, 1, dtype=torch.float64), torch.rand(4, dtype=torch.float64)
    for ours, theirs in ((st.functional.mse_loss, torch.nn.functional.mse_loss),
                         (st.functional.l1_loss, torch.nn.functional.l1_loss)):
        with pytest.warns(UserWarning, match="different to the input size"):
            got = ours(p, t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.testing.assert_close(got, theirs(p, t), rtol=1e-13, atol=0)  # the same (N, N) answer
    for ours, theirs in ((st.functional.binary_cross_entropy, torch.nn.functional.binary_cross_entropy),
                         (st.functional.binary_cross_entropy_with_logits,
                          torch.nn.functional.binary_cross_entropy_with_logits)):
        with pytest.raises(ValueError):
            theirs(p, t)
        with pytest.raises(ValueError, match="must be the same as input size"):
            ours(p, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal shapes: not a word
        st.functional.mse_loss(t, t)


def test_float_class_indices_are_named(interpreted):
    import torch

    import symnet.torch as st

    z, y = torch.randn(4, 5), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"class indices must be an integer tensor \(target.long\(\)\), "
                                         r"not torch.float32"):
        st.functional.cross_entropy(z, y.float())
    with pytest.raises(ValueError, match=r"class indices must be an integer"):  # (N, C, d) against (N, d)
        st.functional.cross_entropy(torch.randn(2, 5, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError) as caught:  # a soft target of another shape: no hint about indices
        st.functional.cross_entropy(z, torch.rand(4, 4))
    assert "class indices" not in str(caught.value)


def test_a_linear_layer_names_the_input_features(interpreted):
    import torch

    import symnet.torch as st

    with pytest.raises(ValueError, match=r"linear: input has 5 features \(shape \(4, 5\)\) but weight \(2, 3\) "
                                         r"takes 3"):
        st.nn.Linear(3, 2)(torch.randn(4, 5))
    with pytest.raises(ValueError, match=r"dense: input has 5 features"):
        st.functional.dense(torch.randn(4, 5), torch.randn(2, 3))


def test_integer_counts_of_the_inputs_shape_are_told_to_convert(interpreted):
    import torch

    import symnet.torch as st

    z, counts = torch.randn(4), torch.tensor([0, 2, 1, 5])
    with pytest.raises(TypeError, match=r"poisson_nll: argument 'target' has dtype torch.int64.*counts or 0/1 "
                                        r"labels of the input's shape: pass target.to\(input.dtype\)"):
        st.functional.loss("poisson_nll", z, counts)
    with pytest.raises(TypeError, match="one-hot them, or use cross_entropy"):  # (N, C) logits, (N,) indices
        st.functional.loss("focal", torch.randn(4, 3), torch.tensor([0, 2, 1, 1]))
    torch.testing.assert_close(st.functional.loss("poisson_nll", z.double(), counts.double()),
                               torch.nn.functional.poisson_nll_loss(z.double(), counts), rtol=1e-12, atol=0)
