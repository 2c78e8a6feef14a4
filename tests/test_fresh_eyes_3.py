"""Faults found by reading only the README as a new user (third round), each with its test."""
import os
import subprocess
import sys

import pytest
import sympy as sp

import symnet


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "oo", "I"])
def test_a_non_finite_value_at_a_point_is_named_as_a_value_not_a_variable(value):
    """Was: `symnet derive "x**2" --at x=inf` said "'inf' means infinity in SymPy; choose another
    name for a variable" (the value was read as a variable's name)."""
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "x**2", "--at", f"x={value}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"symnet: error: the value of x must be a finite real number, "
                                               f"got '{value}'"]
    x = sp.Symbol("x", real=True)
    with pytest.raises(symnet.errors.SymnetError, match="the value of x must be a finite real number"):
        symnet.derive(x**2).gradient_at({"x": value})


@pytest.fixture
def st():
    """symnet.torch, its kernels run by Triton's interpreter on the CPU (skips without torch/triton)."""
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch
    return symnet.torch


@pytest.mark.parametrize("target, ignore_index", [([0, 1, 7, 2], -100), ([0, 1, -100, 2], 2),
                                                  ([0, 1, -1, 2], -100)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_refuses_a_class_out_of_range_as_torch_does(st, target, ignore_index, reduction):
    import torch
    """Was: symnet.torch's cross_entropy returned a NaN loss silently (torch raises IndexError)."""
    z, y = torch.randn(4, 3, dtype=torch.float64), torch.tensor(target)
    with pytest.raises(IndexError):
        torch.nn.functional.cross_entropy(z, y, ignore_index=ignore_index, reduction=reduction)
    with pytest.raises(IndexError, match="in target is outside \\[0, 3\\)"):
        st.functional.cross_entropy(z, y, ignore_index=ignore_index, reduction=reduction)
    with pytest.raises(IndexError):
        st.nn.CrossEntropyLoss(ignore_index=ignore_index, reduction=reduction)(z, y)


def test_cross_entropy_with_good_classes_still_matches_torch(st):
    import torch
    z = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0, -100, 3], [2, 1, 0]])
    got = st.functional.cross_entropy(z, y)
    (g,) = torch.autograd.grad(got, z)
    want = torch.nn.functional.cross_entropy(z, y)
    (gw,) = torch.autograd.grad(want, z)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(g, gw)


def test_verify_reads_a_tiny_true_value_as_itself_not_as_zero():
    """Was: `symnet verify "log(1+exp(x))"` took log(1 + e^−709) = 1.2e−308 (and e^−700 ≈ 9.9e−305, a
    normal float64) as 0 — 0 at 100 and at 300 digits — so it reported symnet's correct value as
    2.5e15 subnormal steps off, and would have missed an underflow to 0 there."""
    run = subprocess.run([sys.executable, "-m", "symnet", "verify", "log(1+exp(x))", "--dtype", "float64"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ours = [line for line in run.stdout.splitlines() if line.strip().startswith("symnet numpy, f, float64")]
    assert ours and "subnormal steps" not in ours[0], ours
    # the formula as written (torch autograd) does underflow to 0 there, and is now the one blamed
    naive = [line for line in run.stdout.splitlines() if line.strip().startswith("torch autograd, f, float64")
             and "torch is not installed" not in line]
    if naive:
        assert any("subnormal steps at x=-709" in line for line in naive), naive


def test_compile_with_a_name_works_and_refuses_bad_names():
    """Was: symnet.compile(d, name="mykern") raised NameError: name 'builtins' is not defined."""
    import numpy as np
    x = sp.Symbol("x", real=True)
    d = symnet.derive(sp.sin(x) * x)
    k = symnet.compile(d, name="mykern")
    v, g = k(x=np.array([0.5, -2.0]))
    np.testing.assert_allclose(v, np.sin([0.5, -2.0]) * [0.5, -2.0], rtol=1e-15)
    np.testing.assert_allclose(g, np.cos([0.5, -2.0]) * [0.5, -2.0] + np.sin([0.5, -2.0]), rtol=1e-15)
    for bad in ("print", "class", "np", "1x", "x" * 65):
        with pytest.raises(symnet.errors.InvalidNameError):
            symnet.compile(d, name=bad)


def test_latex_puts_the_variable_of_a_partial_into_math():
    """Was: the LaTeX prose read `$\\partial v/\\partial $u` — the u of ∂v/∂u left upright, outside
    math (and `-\\partial J/\\partial }\\text{c` in linear-miles)."""
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "tanh(x)*y", "--format", "latex"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert r"$\partial v/\partial u$ is the local derivative" in run.stdout
    assert r"\partial $u" not in run.stdout


@pytest.mark.parametrize("bad", ["nope", "softmax", "mse", 5])
def test_linear_refuses_an_unknown_activation_when_it_is_made(st, bad):
    """Was: st.nn.Linear(4, 3, activation="nope") was accepted, and failed only at the first forward
    (after the linear kernel had run)."""
    import torch
    with pytest.raises(symnet.errors.SymnetError, match="no activation"):
        st.nn.Linear(4, 3, activation=bad)
    with pytest.raises(symnet.errors.SymnetError, match="no activation"):
        st.functional.dense(torch.randn(2, 4), torch.randn(3, 4), None, activation=bad)
    for good in (None, "linear", "identity", "sigmoid", "gelu"):
        layer = st.nn.Linear(4, 3, activation=good).double()
        x = torch.randn(2, 4, dtype=torch.float64)
        y = x @ layer.weight.T + layer.bias
        want = {None: y, "linear": y, "identity": y, "sigmoid": torch.sigmoid(y),
                "gelu": torch.nn.functional.gelu(y)}[good]
        torch.testing.assert_close(layer(x), want)


def test_wrt_naming_a_variable_twice_is_refused():
    """Was: `symnet derive "x*y" --wrt x,x` printed df/dx twice and derive(wrt=[x, x]) gave a
    Jacobian with a repeated column (from_formula already refused repeated inputs)."""
    x, y = sp.symbols("x y", real=True)
    with pytest.raises(symnet.errors.SymnetError, match="wrt names x more than once"):
        symnet.derive(x * y, wrt=[x, "x"])
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "x*y", "--wrt", "x,x"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "symnet: error: wrt names x more than once; name each variable once"]
    assert symnet.derive(x * y, wrt=[y, x]).jacobian == sp.Matrix([[x, y]])


def test_an_empty_value_at_a_point_is_named():
    """Was: `--at "x="` said "the formula is empty"."""
    run = subprocess.run([sys.executable, "-m", "symnet", "derive", "x*y", "--at", "x=,y=2"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == ["symnet: error: no value given for x in the point (write x=1)"]
