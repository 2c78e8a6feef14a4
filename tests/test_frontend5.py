"""Formula front end: float64's whole range as literals, and a variable that shares the output's name.

Found by the formula breaker (session of 2026-11-30): ``1e308`` was refused as "more than 100 digits"
(while ``10**308`` worked), and a formula in a variable called ``f`` failed with "node f is defined in
terms of itself", naming the derivation's own output node.
"""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.errors import DerivationError, ParseError
from symnet.parsing import parse_expression
from symnet.render import shown

x = sp.Symbol("x")


@pytest.mark.parametrize("literal, exact", [
    ("1e308", sp.Integer(10) ** 308),
    ("1.7976931348623157e308", sp.Rational("1.7976931348623157e308")),
    ("5e-324", sp.Rational(5, 10 ** 324)),
    ("2.2250738585072014e-308", sp.Rational("2.2250738585072014e-308")),
    ("1e-399", sp.Rational(1, 10 ** 399)),
])
def test_literals_across_float64_range_are_read_exactly(literal, exact):
    coefficient, rest = parse_expression(f"x*{literal}").as_coeff_Mul()
    assert coefficient == exact and str(rest) == "x"


@pytest.mark.parametrize("literal, message", [
    ("1e400", "1e400 is out of range"),
    ("1e-400", "out of range"),
    ("-3e1000", "out of range"),
    ("1e99999999999999999999", "out of range"),
    ("1." + "2" * 101, "more than 100 significant digits"),
])
def test_literals_beyond_the_range_are_one_clear_error(literal, message):
    with pytest.raises(ParseError, match=message):
        parse_expression(f"x*{literal}")


def test_a_large_literal_compiles_and_matches_mpmath():
    k = symnet.compile(symnet.derive("x*1e308"))
    xs = np.array([1.5, -0.25, 1e-300], dtype=np.float64)
    value, grad = k(xs)
    with mpmath.workdps(50):
        for xi, v, g in zip(xs, value, grad):
            assert v == float(mpmath.mpf(float(xi)) * mpmath.mpf(10) ** 308) or \
                math.isinf(v) and abs(xi) * 1e308 > 1.79e308
            assert g == 1e308


@pytest.mark.parametrize("formula, output", [
    (sp.Symbol("f"), "F"),
    (sp.Symbol("f") * x, "F"),
    ("f*F*y*exp(out)", "out_2"),
])
def test_a_variable_called_f_is_not_the_output(formula, output):
    d = symnet.derive(formula)
    assert [o.name for o in d.outputs] == [output]
    assert str(d).splitlines()[0] == f"Derivative of {shown(parse_expression(str(formula)))}"
    expr = parse_expression(str(formula))
    point = {s.name: sp.Rational(k + 2, 3) for k, s in enumerate(sorted(expr.free_symbols, key=str))}
    got = {str(k): v for k, v in d.gradient_at(point).items()}
    for s in expr.free_symbols:
        want = sp.diff(expr, s).subs({t: point[t.name] for t in expr.free_symbols})
        assert sp.N(got[s.name] - want, 30) == 0


def test_a_vector_output_avoids_the_names_f1_f2():
    d = symnet.derive([sp.Symbol("f1") * x, x ** 2])
    assert [o.name for o in d.outputs] == ["F1", "F2"]
    assert str(d).splitlines()[0] == "Jacobian of [f₁·x, x²]"


def test_an_explicit_output_name_that_is_a_variable_is_refused():
    with pytest.raises(DerivationError, match="output name 'x' is also a variable of the formula"):
        symnet.derive(sp.Symbol("f") * x, output="x")


def test_compiled_kernel_of_a_formula_in_f_gives_the_right_numbers():
    k = symnet.compile(symnet.derive("f*exp(f) + x"))
    f = np.array([0.5, -2.0])
    xs = np.array([1.0, 3.0])
    out = k(f, xs)
    np.testing.assert_allclose(out[0], f * np.exp(f) + xs, rtol=1e-15)
    np.testing.assert_allclose(out[1], np.exp(f) * (1 + f), rtol=1e-15)
    np.testing.assert_array_equal(out[2], np.ones(2))
