"""Faults found by trying to break symnet as an attacker and as a careless user.

Each test is one kind of fault; hostile inputs that could hang or exhaust memory run in a
subprocess under hard limits (``RLIMIT_AS``, a wall-clock timeout), never in this process.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import symnet
from symnet.errors import ParseError, SymnetError

ROOT = Path(__file__).resolve().parents[1]
GIB = 1 << 30
SECONDS = 20  # startup included, on a loaded 2-core machine


def _limits():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2 * GIB, 2 * GIB))


def run_limited(*args, code: str | None = None):
    """``python -m symnet *args`` (or ``python -c code``) under 2 GiB and SECONDS."""
    pytest.importorskip("resource")
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "symnet", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                              preexec_fn=_limits, timeout=SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{args or code!r} did not finish within {SECONDS} s")


def assert_one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symnet: error:"), r.stderr
    for w in words:
        assert w in lines[0], lines[0]


# --- a float literal's exponent: SymPy builds the integer 10**(10**20) --------------------

@pytest.mark.parametrize("args", [
    ["derive", "x", "--at", "x=1e99999999999999999999"],
    ["derive", "x*1.5e-99999999999999"],
    ["derive", "x", "--wrt", "x", "--at", "x=2.5E+0000099999999999999999"],
])
def test_huge_float_exponent_is_refused_quickly(args):
    assert_one_line_error(run_limited(*args), "out of range")


def test_zero_with_huge_exponent_is_zero():
    # the digits are all zeros: the value is 0 however large the exponent, read without
    # building 10**exponent (this too hung)
    r = run_limited(code="import symnet; print(symnet.parse('x + 0e99999999999999999999'), "
                         "symnet.parse('x*0.000E-99999999999999'))")
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["x", "0"]


def test_float_literals_still_exact():
    x = sp.Symbol("x", real=True)
    assert symnet.parse("1_0.5e1_0*x") == 105000000000 * x
    assert symnet.parse("x*1e-100") == x / sp.Integer(10) ** 100
    assert symnet.parse("x*2.5e3") == 2500 * x
    with pytest.raises(ParseError, match="out of range"):
        symnet.parse("x*1e-2101")


# --- numbers built by the caller in SymPy objects are bounded like parsed ones -----------

def test_huge_sympy_numbers_are_refused_with_one_clear_error():
    x = sp.Symbol("x")
    huge = sp.Integer(10) ** 5000  # Python refuses to print it (4300-digit limit)
    with pytest.raises(ParseError, match="too large"):
        symnet.derive("x**2", at={"x": huge})
    with pytest.raises(ParseError, match="too large"):
        symnet.derive(sp.exp(x) * huge)
    with pytest.raises(ParseError, match="too large"):
        symnet.derive(x * sp.Rational(1, 10 ** 5000))
    with pytest.raises(ParseError, match="too large"):
        symnet.Program.from_assignments([("c", x * huge)])
    # within the limit it still works
    d = symnet.derive(x / sp.Integer(10) ** 999, at={x: 1})
    assert d.gradients[sp.Symbol("x", real=True)] == sp.Integer(10) ** -999


# --- time limits that setitimer cannot take: nan, inf, 1e308 ------------------------------

@pytest.mark.parametrize("value", ["nan", "-1"])
def test_time_limit_nan_or_negative_is_one_clear_error(value):
    assert_one_line_error(run_limited("derive", "x**2", "--time-limit", value), "--time-limit")


@pytest.mark.parametrize("value", ["inf", "1e308"])
def test_time_limit_beyond_any_timer_means_no_limit(value):
    r = run_limited("derive", "x**2", "--time-limit", value)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "2·x" in r.stdout


def test_time_limit_function_refuses_nan():
    from symnet.bounds import time_limit

    with pytest.raises(SymnetError, match="time limit"):
        with time_limit(float("nan")):
            pass
    with time_limit(float("inf")):  # no limit, no OverflowError
        assert sp.Integer(2) ** 10 == 1024


# --- wrong types in the Python API: one clear SymnetError, not a TypeError/ValueError -----

@pytest.mark.parametrize("wrt", [5, 2.5, None.__class__])
def test_wrt_of_wrong_type_is_a_clear_error(wrt):
    with pytest.raises(SymnetError, match="wrt"):
        symnet.derive("x**2", wrt=wrt)


@pytest.mark.parametrize("assignments", ["c=x", [("c",)], [("c", "x", "y")], ["cx"], 5, [5]])
def test_malformed_assignments_are_a_clear_error(assignments):
    with pytest.raises(SymnetError, match="assignment"):
        symnet.Program.from_assignments(assignments)


def test_well_formed_assignments_still_work():
    p = symnet.Program.from_assignments([("c", "x*2"), ["d", "c + 1"]])
    x = sp.Symbol("x", real=True)
    assert symnet.derive(p).gradients[x] == 2


# --- names in NFKC form everywhere: Python reads the formula's ｃ as c ---------------------

def test_compatibility_characters_name_the_same_variable_everywhere():
    # the target 'ｃ' (fullwidth) and the c in 'c + 1' were two variables: df/dx was 0
    p = symnet.Program.from_assignments([("ｃ", "x*2"), ("f", "c + 1")])
    d = symnet.derive(p)
    x = sp.Symbol("x", real=True)
    assert d.inputs == (x,) and d.gradients[x] == 2
    d = symnet.derive("ｘ**3", wrt=["ｘ"], at={"ｘ": 2})
    assert d.gradients[x] == 3 * x ** 2 and d.point == {x: 2}
    r = run_limited("derive", "x**2", "--wrt", "ｘ", "--at", "ｘ=3")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "= 6" in r.stdout
