"""Hostile and careless input through every entry point that takes text (issue 20).

Every string the Python API accepts goes through the restricted parser, never through
SymPy's ``sympify`` (which evaluates Python); values at a point are computed under size
limits; what is not a finite real number is refused with one clear line. References are
independent of symnet: mpmath derivatives at high precision and exact arithmetic.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
import sympy as sp

import symnet
from symnet import LimitError, NotDifferentiableError, ParseError, Program, derive
from symnet.parsing import RESERVED_NAMES, as_expression, parse_expression, parse_point, parse_symbols

ROOT = Path(__file__).resolve().parents[1]
x, y = sp.symbols("x y", real=True)


def payloads(marker: Path) -> list[str]:
    """Strings that create ``marker`` if anything evaluates them as Python (or via sympify)."""
    return [
        f"__import__('pathlib').Path({str(marker)!r}).touch()",
        f"open({str(marker)!r}, 'w')",
        f"exec(\"open({str(marker)!r}, 'w')\")",
        f"Lambda(x, open({str(marker)!r}, 'w'))(1)",
    ]


def entry_points(payload: str) -> dict:
    """Every place the Python API accepts a string, each fed ``payload``."""
    d = derive(x ** 2 + y, [x, y])
    return {
        "symnet.parse": lambda: symnet.parse(payload),
        "derive(text)": lambda: derive(payload),
        "derive([text])": lambda: derive([x, payload]),
        "derive(wrt=[text])": lambda: derive(x ** 2, wrt=[payload]),
        "derive(wrt=text)": lambda: derive(x ** 2, wrt=payload),
        "derive(at={x: text})": lambda: derive(x ** 2, [x], at={x: payload}),
        "derive(at={text: 1})": lambda: derive(x ** 2, [x], at={payload: 1}),
        "derive(output=text)": lambda: derive(x ** 2, [x], output=payload),
        "gradient_at({x: text})": lambda: d.gradient_at({x: payload, y: 1}),
        "gradient_at({text: 1})": lambda: d.gradient_at({payload: 1, y: 1}),
        "from_assignments expression": lambda: Program.from_assignments([("c", payload)]),
        "from_assignments target": lambda: Program.from_assignments([(payload, x + 1)]),
        "from_assignments outputs": lambda: Program.from_assignments([("c", "x + 1")], outputs=[payload]),
        "describe(roles={text: ...})": lambda: _describe(d, payload),
    }


def _describe(d, payload):
    from symnet.codegen.ir import describe

    return describe(d, roles={payload: "data"})


def test_no_string_reaches_sympify(tmp_path):
    marker = tmp_path / "pwned"
    for payload in payloads(marker):
        for where, call in entry_points(payload).items():
            with pytest.raises(symnet.SymnetError):
                call()
            assert not marker.exists(), f"{where} ran {payload!r}"


def test_sympify_would_have_run_the_payload(tmp_path):
    """The payloads are real: sympify does run them (so the test above can fail)."""
    marker = tmp_path / "pwned"
    try:
        sp.sympify(payloads(marker)[0])
    except Exception:
        pass
    assert marker.exists()


def test_other_types_are_refused_in_one_line():
    for bad in (object(), {"x": 1}, b"x", None, 1j, True):
        with pytest.raises(symnet.SymnetError):
            as_expression(bad)
    with pytest.raises(symnet.SymnetError):
        derive(x ** 2, [x], at=[(x, 1)])


def test_text_gives_the_same_derivation_as_sympy_objects():
    a, b = sp.symbols("a b")  # plain symbols, not real: names still match the text
    by_text = derive(Program.from_assignments([("c", "a + b"), ("d", "b + 1"), ("e", "c*d")]),
                     at={"a": 3, "b": "2"})
    assert {str(k): v for k, v in by_text.gradient_at({"a": "3", "b": 2}).items()} == {"a": 3, "b": 8}
    mixed = Program.from_assignments([("c", a + b), ("e", "c*b")])
    assert mixed.inputs == (a, b)  # "c" and "b" in the text are the same variables
    d = derive(a * sp.exp(b), wrt=["a", "b"], at={"a": "1/2", "b": 0.25})
    # plain symbols are taken as real; the user's own a and b still find their entries
    assert d.gradients[a] == sp.exp(sp.Symbol("b", real=True)) and a in d.gradients
    assert d.point[a] == sp.Rational(1, 2) and d.point[b] == sp.Rational(1, 4)


# --- names ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["nan", "oo", "zoo", "I", "E", "S", "N", "Q", "O", "EulerGamma",
                                  "GoldenRatio", "true", "inf"])
def test_names_that_mean_something_else_to_sympy_are_refused(name):
    assert name in RESERVED_NAMES
    for parse in (lambda: parse_expression(f"{name}*x"), lambda: parse_symbols(name),
                  lambda: parse_point(f"{name}=1"), lambda: derive(x * y, wrt=[name])):
        with pytest.raises(ParseError, match=f"'{name}' means .* in SymPy"):
            parse()


def test_ordinary_greek_names_still_work_and_pi_is_the_constant():
    gamma, beta = sp.symbols("gamma beta", real=True)
    assert parse_expression("gamma*x + beta") == gamma * x + beta
    assert parse_expression("2*pi") == 2 * sp.pi


@pytest.mark.parametrize("text, message", [
    ("x # a comment", "'#' is not allowed"),
    ("x\udcff + 1", "invalid UTF-8 or a lone surrogate at character 2"),
    ("\ud800", "lone surrogate"),
    ("x" * 65, "not allowed as a variable name"),
    ("x*1e400", "1e400 is out of range"),
    ("x*1e-400", "1e-400 is out of range"),
    ("x*1e99999999999999999999", "out of range"),
    ("x*1." + "1" * 120, "more than 100 significant digits"),
    ("x*0**(-1)", r"0\*\*\(-1\) is undefined"),
    ("log(0)*x", "undefined"),
    ("((10**100)**1000)**1000", "too large"),
    ("(10**100)**11*x", "too large"),
    ("x*" + "*".join(["10**100"] * 11), "too large"),
    ("x**1000**1000", "too large"),
    ("exp(exp(1000))*x", "too large"),
    ("(" * 250 + "x" + ")" * 250, "too deeply nested"),
    ("sin(" * 61 + "x" + ")" * 61, "nested too deeply"),
    ("x**" * 61 + "x", "nested too deeply"),
])
def test_parser_refuses_in_one_line(text, message):
    with pytest.raises(ParseError, match=message) as info:
        parse_expression(text)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_long_flat_sums_and_products_are_not_nested():
    names = sp.symbols("x0:62", real=True)
    assert parse_expression("+".join(map(str, names))) == sp.Add(*names)
    assert parse_expression("-".join(map(str, names))) == names[0] - sp.Add(*names[1:])
    assert parse_expression("*".join(map(str, names[:40])) + "/y") == sp.Mul(*names[:40]) / y
    assert parse_expression("+".join(["x"] * 999)) == 999 * x  # 1997 characters


def test_literals_are_read_exactly():
    assert parse_expression("0.1*x") == x / 10
    assert parse_expression("1e-50*x") == x / 10 ** 50
    assert parse_expression("2.5e3") == 2500
    assert parse_expression("1_000") == 1000


# --- bounded evaluation at a point ---------------------------------------------

@pytest.mark.parametrize("formula, value, message", [
    ("2**(2**x)", 40, r"is too large to evaluate exactly \(about 10\^\(3.3e11\)"),
    ("x**x**x", 10, r"too large to evaluate exactly \(about 10\^\(1.0e10\)"),
    ("exp(exp(x))", 1000, "too large to evaluate exactly"),
    ("x**100", "10**90", r"about 10\^(9000|8910)"),
    ("2**(-x)", 5000, "too small to evaluate exactly"),
    ("sigmoid(x)", -3000, "too small"),  # used to print a wrong '= 0'
])
def test_values_at_a_point_are_bounded(formula, value, message):
    with pytest.raises(LimitError, match=message):
        derive(formula, at={"x": value})
    with pytest.raises(LimitError, match=message):
        derive(formula).gradient_at({"x": value})


def test_large_but_bounded_values_are_exact():
    """2**(2**x) at x = 11 is a 617-digit integer; its derivative against mpmath at 700 digits."""
    d = derive("2**(2**x)", at={"x": 11})
    got = d.gradient_at({"x": 11})[d.inputs[0]]
    with mpmath.workdps(700):
        want = mpmath.diff(lambda t: mpmath.power(2, mpmath.power(2, t)), 11)
        assert abs(mpmath.mpf(sp.N(got, 650)) / want - 1) < mpmath.mpf(10) ** -600
    assert d.steps[0].value == 2 ** 11 and 2 ** 2048 in [s.value for s in d.steps]


@pytest.mark.parametrize("formula, point, message", [
    ("sqrt(x)", {"x": -1}, r"f = sqrt\(x\) is not a real number at x = -1: it is I"),
    ("log(x)", {"x": -2}, "not a real number"),
    ("1/x", {"x": 0}, "undefined at x = 0"),
])
def test_values_that_are_not_finite_real_numbers_are_refused(formula, point, message):
    with pytest.raises(NotDifferentiableError, match=message):
        derive(formula, at=point)


def test_gradient_at_refuses_complex_values():
    d = derive("sqrt(x)")
    with pytest.raises(NotDifferentiableError, match="not a real number"):
        d.gradient_at({"x": -4})
    assert d.gradient_at({"x": 4})[d.inputs[0]] == sp.Rational(1, 4)


def test_points_refuse_non_finite_and_complex_numbers():
    for bad in (float("inf"), float("nan"), sp.oo, sp.I, "sqrt(-1)", 10 ** 2000):
        with pytest.raises(ParseError):
            derive("x**2", at={"x": bad})


# --- the command line -------------------------------------------------------------

def symnet_cli(*args, env=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, env=env,
                          timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (("derive", "sqrt(x)", "--wrt", "x", "--at", "x=-1"), "f = sqrt(x) is not a real number at x = -1: it is I"),
    (("derive", "x*0**(-1)", "--wrt", "x", "--at", "x=1"), "0**(-1) is undefined"),
    (("derive", "x*1e400", "--wrt", "x", "--at", "x=1"), "1e400 is out of range: a number written in a formula lies strictly within 10^±400"),
    (("derive", "exp(exp(x))", "--wrt", "x", "--at", "x=1000"), "too large to evaluate exactly"),
    (("derive", "nan*x", "--wrt", "x"), "'nan' means not-a-number in SymPy"),
    (("derive", "x # comment", "--wrt", "x"), "'#' is not allowed"),
    (("derive", "x", "--wrt", "x", "--at", "x=sqrt(-1)"), "must be a finite real number"),
    (("graph", "sqrt(x)", "--wrt", "x", "--at", "x=-1"), "not a real number"),
])
def test_cli_refuses_in_one_line(args, message):
    r = symnet_cli(*args)
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_invalid_utf8_in_argv():
    for args in ((b"derive", b"x\xff+1", b"--wrt", b"x"), (b"derive", b"x", b"--at", b"x=\xff"),
                 (b"derive", b"x*y", b"--wrt", b"x,\xed\xa0\x80")):
        r = symnet_cli(*args)
        err = r.stderr.decode()
        assert r.returncode == 2 and "not valid text" in err and "Traceback" not in err, err


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_cli_on_a_stdout_that_is_not_utf8(encoding):
    r = symnet_cli("derive", "sigmoid(x)*y", "--wrt", "x", "--at", "x=0,y=1",
                   env={"PYTHONIOENCODING": encoding})
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr
    out = r.stdout.decode(encoding)
    assert "\\u2202f/\\u2202x" in out or "\\u2202" in out  # ∂ escaped, not lost
    assert "Values at x = 0, y = 1" in out


def test_cli_title_shows_the_formula_as_parsed():
    r = symnet_cli("derive", "x *   exp(x)\n", "--wrt", "x")
    assert r.returncode == 0
    assert r.stdout.decode().splitlines()[0] == "Derivative of x·exp(x)"


def test_text_formulas_with_plain_sympy_symbols():
    """Text makes real symbols; a plain Symbol of the same name still names that variable."""
    px = sp.Symbol("x")
    d = derive("x**3", wrt=[px], at={px: 2})
    assert d.gradient_at({px: 2})[d.inputs[0]] == 12 and d.point == {d.inputs[0]: 2}
