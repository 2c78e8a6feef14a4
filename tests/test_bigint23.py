"""h-bigint23: an integer of more than 15 digits in a printout (text, ASCII, LaTeX) or in generated code's
comments and docstrings reads as 2⁶⁰, 10³⁰⁰, 3·10²⁰ or ≈1.23457·10²⁰ (:func:`symnet.render.big_integer`),
not as its digits; the code the generators emit keeps the exact literal.

Before: ``symnet derive "x*(1+x**2)**0.3" --stable`` printed ``|x| ≥ 1152921504606846976`` (the README says 2⁶⁰),
``symnet derive x --at x=10**500`` printed 501 digits twice, and ``1e300*x*y`` (the exact integer 10³⁰⁰) printed
301 digits in its derivation and in the generated kernel's docstring and ``#`` comments.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.render import _ascii, big_integer, latex, render, shown, text

ROOT = Path(__file__).resolve().parents[1]
x, y = sp.symbols("x y")


def symnet_cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _long_digits(s: str) -> list[str]:
    """Runs of more than 15 digits that are not part of a decimal (a float's 0.6931471805599453 is fine)."""
    return re.findall(r"(?<![\d.])\d{16,}(?![\d.])", s)


@pytest.mark.parametrize("n, text_form, tex_form", [
    (2 ** 60, "2⁶⁰", "2^{60}"),
    (-2 ** 60, "-2⁶⁰", "-2^{60}"),
    (10 ** 300, "10³⁰⁰", "10^{300}"),
    (3 * 10 ** 20, "3·10²⁰", r"3 \cdot 10^{20}"),
    (123456 * 10 ** 30, "123456·10³⁰", r"123456 \cdot 10^{30}"),
    (1234567890123456, "≈1.23457·10¹⁵", r"\approx 1.23457 \cdot 10^{15}"),
    (2 ** 61 - 1, "≈2.30584·10¹⁸", r"\approx 2.30584 \cdot 10^{18}"),
    (10 ** 500 + 1, "≈10⁵⁰⁰", r"\approx 10^{500}"),  # no float holds it: rounded from the exact integer
])
def test_big_integer_forms(n, text_form, tex_form):
    assert big_integer(n) == text_form and big_integer(n, "latex") == tex_form
    assert shown(sp.Integer(n)) == text_form.replace("-", "−") and latex(sp.Integer(n)) == tex_form  # − as every sign


def test_fifteen_digits_print_in_full():
    for n in (123456789012345, 10 ** 14, 2 ** 49, 999999999999999):
        assert big_integer(n) is None
        assert shown(sp.Integer(n)) == text(sp.Integer(n)) == str(n) == latex(sp.Integer(n))
        assert _ascii(shown(sp.Integer(n) * x)) == f"{n}*x"


def test_rationals_print_numerator_and_denominator_so():
    assert shown(x / 2 ** 60) == "x/2⁶⁰" and latex(x / 2 ** 60) == r"\frac{x}{2^{60}}"
    assert shown(sp.Rational(1, 10 ** 300)) == "1/10³⁰⁰" and latex(sp.Rational(1, 10 ** 300)) == r"\frac{1}{10^{300}}"
    assert shown(sp.Rational(-3, 2 ** 70)) == "−3/2⁷⁰" and latex(sp.Rational(-3, 2 ** 70)) == r"- \frac{3}{2^{70}}"
    assert shown(sp.Rational(3, 7)) == "3/7" and shown(sp.Rational(62137, 1000)) == "62.137"  # small: as before
    assert _ascii(shown(x ** 10 / 2 ** 60)) == "x^10/2^60"


POWERS = [sp.Pow(2 ** 60, x), x ** (2 ** 60), x ** sp.Rational(1, 2 ** 60), sp.Pow(sp.Rational(1, 10 ** 20), x),
          sp.Pow(-2 ** 60, x, evaluate=False), sp.sqrt(x + 3 ** 40)]


def test_a_power_of_an_abbreviated_number_takes_parentheses():
    """2⁶⁰ as a base or an exponent: without parentheses x**(2**60) read x²⁶⁰ and (2**60)**x 2⁶⁰^x (LaTeX
    2^{60}^{x}, a double superscript, and \\sqrt[1152921504606846976]{x} for x**(1/2**60))."""
    got = [(shown(e), _ascii(shown(e)), latex(e)) for e in POWERS]
    assert got == [("(2⁶⁰)^x", "(2^60)^x", r"\left(2^{60}\right)^{x}"),
                   ("x^(2⁶⁰)", "x^(2^60)", "x^{2^{60}}"),
                   ("x^(1/2⁶⁰)", "x^(1/2^60)", r"x^{\frac{1}{2^{60}}}"),
                   ("(1/10²⁰)^x", "(1/10^20)^x", r"\left(\frac{1}{10^{20}}\right)^{x}"),
                   ("(−2⁶⁰)^x", "(-2^60)^x", r"\left(-2^{60}\right)^{x}"),
                   ("sqrt(x + ≈1.21577·10¹⁹)", "sqrt(x + ~=1.21577*10^19)", r"\sqrt{x + \approx 1.21577 \cdot 10^{19}}")]
    assert shown(x ** 10) == "x¹⁰" and latex(sp.sqrt(x)) == r"\sqrt{x}"  # small ones as before


def test_stable_printout_says_two_to_the_sixty():
    """The README's 2⁶⁰: was |x| ≥ 1152921504606846976 in the text, ASCII and LaTeX printouts."""
    for fmt, power in (("text", "2⁶⁰"), ("ascii", "2^60"), ("latex", "2^{60}")):
        r = symnet_cli("derive", "x*(1+x**2)**0.3", "--stable", "--format", fmt)
        assert r.returncode == 0, r.stderr
        assert "1152921504606846976" not in r.stdout and not _long_digits(r.stdout), fmt
        assert power in r.stdout, fmt
        if fmt == "ascii":
            assert r.stdout.isascii() and "|x| >= 2^60" in r.stdout


def test_a_huge_point_prints_as_a_power():
    """`--at x=10**500` printed its 501 digits in the forward pass and the section title."""
    r = symnet_cli("derive", "x", "--at", "x=10**500")
    assert r.returncode == 0, r.stderr
    assert not _long_digits(r.stdout)
    assert "Values at x = 10⁵⁰⁰" in r.stdout and "f = x = 10⁵⁰⁰" in r.stdout
    r = symnet_cli("derive", "x", "--at", "x=10**500", "--format", "ascii")
    assert r.returncode == 0 and r.stdout.isascii() and "Values at x = 10^500" in r.stdout


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_generated_comments_abbreviate_but_the_code_stays_exact(backend):
    """1e300 is parsed as the exact integer 10³⁰⁰: its 301 digits were in the docstring and each ``#`` comment."""
    if backend == "triton":
        pytest.importorskip("triton")
    d = symnet.derive("1e300*x*y")
    assert "10³⁰⁰·x·y" in render(d, "text") and not _long_digits(render(d, "text"))
    assert not _long_digits(render(d, "latex")) and "10^{300}" in render(d, "latex")
    source = symnet.compile(d, backend).source
    code, prose = [], []
    in_doc = False
    for line in source.splitlines():
        stripped = line.strip()
        quotes = stripped.count('"""')
        if in_doc or stripped.startswith('"""') or stripped.startswith("#"):
            prose.append(line)
            in_doc = in_doc != (quotes % 2 == 1)
        else:
            code.append(line.split("  # ")[0])
            prose.append(line[len(code[-1]):])
    prose_text = "\n".join(prose)
    assert "10³⁰⁰·x·y" in prose_text and not _long_digits(prose_text)
    if backend == "numpy":  # the literal in the code is the exact integer, or (session 24: 10³⁰⁰ is no normal float32,
        # so h-quot24's _constant_times takes it as a float64 argument) a float literal that rounds to the same double
        literals = re.findall(r"(?<![\w.])\d+(?:\.\d*)?(?:e[+-]?\d+)?", "\n".join(code))
        assert any(float(n) == 1e300 for n in literals), literals


def test_the_compiled_function_is_unchanged_numerically():
    """Against mpmath at 50 digits: 10³⁰⁰·x·y and its gradients at a point where each is finite."""
    fn = symnet.compile(symnet.derive("1e300*x*y"), "numpy")
    xs, ys = np.array([1e-200, -3e-150]), np.array([3.0, 7e-100])
    got = fn(xs, ys)
    with mpmath.workdps(50):
        for a, b, f, dx, dy in zip(xs, ys, *got):
            big = mpmath.mpf(10) ** 300
            for value, truth in ((f, big * a * b), (dx, big * b), (dy, big * a)):
                assert value == pytest.approx(float(truth), rel=4 * 2.0 ** -52)


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="pdflatex not installed")
def test_the_latex_compiles(tmp_path):
    from test_printouts import _compile_all

    pieces = {f: render(symnet.derive(f), "latex") for f in ("1e300*x*y", "x/(1e20 + 3*x)", "1e-300*x")}
    stable = symnet_cli("derive", "x*(1+x**2)**0.3", "--stable", "--format", "latex")
    assert stable.returncode == 0 and r"\geq 2^{60}" in stable.stdout
    pieces["stable"] = stable.stdout
    pieces.update({f"power {k}": r"\[ %s \]" % latex(e) for k, e in enumerate(POWERS)})
    for name, tex in pieces.items():
        assert tex.isascii() or not {c for c in tex if not c.isascii()} - set("“”‘’—–"), name
    _compile_all(pieces, tmp_path)
