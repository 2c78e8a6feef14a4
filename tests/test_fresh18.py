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
