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
