"""Session 21's new user (h-fresh21): an engineer and a teacher with only the README.

Each test failed before its fix. What the user met:
- ``symnet derive "[a*b, a+b]"`` said only "list is not allowed in a formula", where the same
  outputs written as a tuple were answered with the Python call that derives them;
- ``symnet derive "log_ndtr(x)"`` (torch's name for log Φ) was answered "did you mean ndtr?",
  and ``logaddexp``, ``xlogy``, ``pow``, ``square``, ``rsqrt``, ``logit``, ``expit`` with a
  list of look-alikes, none of which is what the user meant; each now names the formula
  that spells it (whose stable form symnet's rules give where there is one);
- ``d.gradients["a"]`` of a vector function raised a bare ``KeyError: 'a'``: its
  derivatives are in ``d.jacobian``, which the error now names;
- the README said where the cache folder lives, but not how to clear it.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy as sp

import symnet
from symnet.errors import ParseError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_a_list_of_outputs_is_answered_like_a_tuple():
    with pytest.raises(ParseError) as tuple_error:
        symnet.parse("a*b, a+b")
    with pytest.raises(ParseError) as list_error:
        symnet.parse("[a*b, a+b]")
    assert "symnet.derive(['a*b', 'a+b'])" in str(list_error.value)
    assert str(list_error.value) == str(tuple_error.value).replace("a tuple", "a list")


def test_a_nested_list_is_still_refused_plainly():
    with pytest.raises(ParseError, match="list is not allowed"):
        symnet.parse("exp([x])")


@pytest.mark.parametrize("written, spelled", [
    ("log_ndtr(y*z)", "log(ndtr(y*z))"),
    ("logaddexp(a, b)", "log(exp(a) + exp(b))"),
    ("xlogy(x, y)", "x*log(y)"),
    ("pow(x, 3)", "x**3"),
    ("square(x - t)", "(x - t)**2"),
    ("rsqrt(v)", "1/sqrt(v)"),
    ("logit(p)", "log(p) - log1p(-p)"),
    ("expit(x)", "sigmoid(x)"),
])
def test_a_torch_name_outside_the_registry_names_its_formula(written, spelled):
    with pytest.raises(ParseError) as refused:
        symnet.parse(written)
    message = str(refused.value)
    assert f"write {spelled}" in message, message
    assert "did you mean" not in message  # the look-alikes (ndtr, log2, …) were not what the user meant
    symnet.parse(spelled)  # the suggestion itself is a formula symnet takes


def test_the_hint_keeps_a_wrong_count_generic():
    with pytest.raises(ParseError) as refused:
        symnet.parse("logaddexp(a, b, c)")
    assert "log(exp(a) + exp(b))" in str(refused.value)


def test_a_vector_functions_gradients_name_the_jacobian():
    d = symnet.derive(["a*b", "a+b", "sin(a)"])
    assert not d.gradients and len(d.gradients) == 0 and d.gradients.get("a") is None
    for key in ("a", sp.Symbol("a")):
        with pytest.raises(KeyError, match=r"3 outputs.*d\.jacobian"):
            d.gradients[key]
    assert d.jacobian.shape == (3, 2)


def test_a_vector_derivation_still_round_trips_the_restricted_pickle():
    from symnet.pickling import dumps, loads

    d = symnet.derive(["a*b", "a+b"])
    back = loads(dumps(d))  # how symnet.get stores a Derivation, and a compiled function pickles
    assert back.jacobian == d.jacobian
    with pytest.raises(KeyError, match="jacobian"):
        back.gradients["a"]


def test_a_scalar_derivations_missing_variable_is_a_plain_key_error():
    d = symnet.derive("x*y", wrt=["x"])
    assert d.gradients["x"] == sp.Symbol("y", real=True)
    with pytest.raises(KeyError) as missing:
        d.gradients["y"]
    assert "jacobian" not in str(missing.value)


def test_the_readme_says_how_to_clear_the_cache_folder():
    assert "To clear the cache, delete the folder" in README
    assert "rm -rf ~/.cache/symnet" in README


def test_the_stable_printout_gives_a_rules_reason_once():
    """`symnet derive "-log(ndtr(y*z))" --wrt z --stable` printed the log-gaussian-tail rule's reason (843
    characters) for f and again for ∂f/∂z; a teacher pasting it into notes met the same paragraph twice.
    The later step now names the rule and refers to the first: "log-gaussian-tail rule: as for f"."""
    from symnet.codegen.ir import describe, stability_section

    section = stability_section(describe(symnet.derive("-log(ndtr(y*z))", wrt=["z"])))
    f, dz = section.steps
    reason = f.why  # f's one rule, whose reason holds "; " itself
    assert reason.startswith("log-gaussian-tail rule: ") and len(reason) > 800
    assert dz.why.startswith("log-gaussian-tail rule: as for f; exp-square rule: ")
    assert sum(step.why.count(reason[len("log-gaussian-tail rule: "):]) for step in section.steps) == 1


def test_a_cube_root_of_a_negative_number_names_the_real_root():
    """`symnet derive "x**(1/3)" --at x=-8` said only "not a real number: it is 1 + sqrt(3)*I": SymPy's
    principal root. The user who wrote an activation with x**(1/3) meant the real cube root, −2."""
    from symnet.errors import NotDifferentiableError

    with pytest.raises(NotDifferentiableError, match=r"1 \+ sqrt\(3\)\*I \(.*sign\(b\)\*abs\(b\)\*\*\(1/3\)"):
        symnet.derive("x**(1/3)", at={"x": -8})
    d = symnet.derive("sign(x)*abs(x)**(1/3)", at={"x": -8})  # the real root the hint names
    assert d.gradient_at({"x": -8})[sp.Symbol("x", real=True)] == sp.Rational(1, 12)
    with pytest.raises(NotDifferentiableError) as square_root:
        symnet.derive("sqrt(x)", at={"x": -8})
    assert "sign(b)" not in str(square_root.value)  # an even root has no real value to point to


def test_a_pos_weight_tensor_is_answered_with_the_formula_that_takes_one():
    """torch's usual call, F.binary_cross_entropy_with_logits(z, t, pos_weight=per_class), was refused with
    "pos_weight must be a Python number" and nothing more; the message now names the from_formula call,
    which this test runs against torch in float64 (value and ∂z)."""
    from conftest import torch_and_triton

    torch, _ = torch_and_triton()
    import symnet.torch as st
    from symnet.errors import SymnetError

    z = torch.linspace(-3, 3, 12, dtype=torch.float64).reshape(4, 3).requires_grad_()
    t = torch.linspace(0, 1, 12, dtype=torch.float64).reshape(4, 3)
    per_class = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    with pytest.raises(SymnetError) as refused:
        st.functional.binary_cross_entropy_with_logits(z, t, pos_weight=per_class)
    call = 'symnet.torch.from_formula("bce_logits(z, t, w)", inputs="z t w")(input, target, pos_weight).mean()'
    assert call in str(refused.value)
    mine = st.from_formula("bce_logits(z, t, w)", inputs="z t w")(z, t, per_class).mean()
    (mine_dz,) = torch.autograd.grad(mine, z)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(z, t, pos_weight=per_class)
    (ref_dz,) = torch.autograd.grad(ref, z)
    torch.testing.assert_close(mine, ref, rtol=1e-14, atol=0)
    torch.testing.assert_close(mine_dz, ref_dz, rtol=1e-13, atol=1e-16)


def test_a_decimal_exponent_is_not_half_superscripted():
    """`symnet derive "x*(1+x**2)**0.3"` printed u₃ = u₂⁰.3 and ∂u₃/∂u₂ = 3/(10·u₂⁰.7): the 0 raised, the
    .3 on the line, which reads as u₂⁰ times .3. An exponent the superscripts cannot write whole is ^0.3."""
    printed = str(symnet.derive("x*(1+x**2)**0.3", wrt=["x"]))
    assert "⁰." not in printed and "u₂^0.3" in printed and "u₂^0.7" in printed
    assert "u₁ = x²" in printed  # a whole number still goes up
    assert "^(3/2)" in str(symnet.derive("x**2.5"))


def test_a_number_in_scientific_notation_is_one_math_token_in_latex():
    """The --stable paragraph's "±1e−30" was pasted as "$\\pm 1e-$30" (the text 1e taken into the math run beside the
    minus, 30 left outside): a number in scientific notation is now one math token."""
    from symnet.render import _tex_text

    got = _tex_text("at the extremes (0, ±1e−30, ±3.4e38, x1e−3 and 2e+5)")
    assert r"$\pm 1\mathrm{e}{-}30$" in got and r"$\pm 3.4\mathrm{e}38$" in got, got
    assert r"2\mathrm{e}{+}5" in got and "x1e" in got, got  # x1e−3 is not a number: left as it was
    assert "1e-$" not in got and "$30" not in got, got
