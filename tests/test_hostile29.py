"""Session 29's hostile tester (h-hostile29): symnet.torch ops, compiled functions, the cache folder.

Each test failed before its fix (the number or message before is in its comment)."""
import pytest
import sympy as sp

import symnet
from symnet.parsing import parse_point


# A formula's Greek letters are read as their names (θ → theta, θ₁ → theta_1, as the printer shows them),
# but names given on their own (wrt=, inputs=, --at) were read without that step: derive("θ*x", wrt=["θ"])
# raised "'θ' does not appear in the formula (its inputs: theta, x)", and the parser's own hint for
# `lambda*x` ("call it lam or λ") was the only Greek name accepted.
@pytest.mark.parametrize("formula, wrt, name", [("θ*x", ["θ"], "theta"), ("x*θ₁", ["θ₁", "x"], "theta_1"),
                                                ("α*a", "α a", "alpha"), ("ϑ*x", ["ϑ"], "theta"),
                                                ("µ*x", ["µ"], "mu")])
def test_greek_names_in_wrt_are_the_formulas(formula, wrt, name):
    d = symnet.derive(formula, wrt=wrt)
    symbol = d.wrt[0]
    assert symbol.name == name
    # the derivative by hand: the formula's other factor
    expr = d.jacobian[0, 0]
    assert sp.simplify(expr - sp.diff(sp.sympify(formula.replace("θ₁", "theta_1").replace("θ", "theta")
                                                 .replace("ϑ", "theta").replace("α", "alpha").replace("µ", "mu"),
                                                 locals={name: symbol, "x": sp.Symbol("x", real=True),
                                                         "a": sp.Symbol("a", real=True)}), symbol)) == 0

def test_greek_names_at_a_point():
    point = parse_point("θ=2, x=3")
    assert sorted(s.name for s in point) == ["theta", "x"]


@pytest.fixture(scope="module")
def st():
    pytest.importorskip("torch")
    import os

    if not os.environ.get("TRITON_INTERPRET"):
        pytest.skip("the symnet.torch ops run on the CPU only under TRITON_INTERPRET=1")
    import symnet.torch as st

    return st


# torch.nn.functional.smooth_l1_loss takes beta=0 ("equivalent to L1 loss", torch's docs); symnet's drop-in refused it
# with "ParseError: the option beta of smooth_l1() must be a positive number, not 0". Compared with torch's own
# function, the value and the gradient (x = t included, where both give 0) in float64.
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_beta_zero_is_torchs_l1(st, reduction):
    import torch
    import torch.nn.functional as F

    x = torch.tensor([0.5, -2.0, 3.0, 1.0, -1e-300], dtype=torch.float64)
    t = torch.tensor([1.5, -2.0, -1.0, 1.0, 1e-300], dtype=torch.float64)
    got, want = [], []
    for fn, out in ((st.functional.smooth_l1_loss, got), (F.smooth_l1_loss, want)):
        a = x.clone().requires_grad_()
        b = t.clone().requires_grad_()
        value = fn(a, b, reduction=reduction, beta=0.0)
        out.extend([value.detach(), *torch.autograd.grad(value.sum(), [a, b])])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=0)
    with pytest.raises(Exception, match="beta"):  # a negative beta is still refused, as torch refuses it
        st.functional.smooth_l1_loss(x, t, beta=-1.0)


# from_formula("θ*x", inputs="θ x") was refused as derive's wrt was; once taken, f(θ=…) must name that input too
# (the module's inputs are theta and x: "unexpected argument 'θ' (the inputs are theta, x)" before)
def test_from_formula_greek_inputs_and_keywords(st):
    import torch

    f = st.from_formula("θ*exp(-x)", inputs="θ x")
    theta = torch.tensor([0.5, -2.0], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([1.0, 30.0], dtype=torch.float64, requires_grad=True)
    for value in (f(theta, x), f(θ=theta, x=x), f(theta, x=x), f(theta=theta, x=x)):
        got = torch.autograd.grad(value.sum(), [theta, x])
        want = torch.autograd.grad((theta * torch.exp(-x)).sum(), [theta, x])  # torch's autograd, float64
        torch.testing.assert_close(value, theta * torch.exp(-x), rtol=2**-52, atol=0)
        for g, w in zip(got, want):
            torch.testing.assert_close(g, w, rtol=2**-52, atol=0)
    with pytest.raises(TypeError, match="multiple values"):
        f(x, θ=theta, theta=theta)
