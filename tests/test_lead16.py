"""Lead's fixes of session 16 (2026-12-02), each with the fault it fixes."""
from __future__ import annotations

import subprocess
import sys

import sympy as sp

from symnet.render import text


def test_text_prints_max_and_min_as_the_lecture_writes_them():
    """Before: the text printouts showed SymPy's class names, f = f64(Max(a, b) + log1p(exp(Min(a, b) − Max(a, b))))
    in `symnet derive … --stable`; the prose, NumPy and the LaTeX (\\max) write max and min."""
    a, b, c = sp.symbols("a b c", real=True)
    assert text(sp.Max(a, b)) == "max(a, b)"
    assert text(sp.Min(a, b, c) + 1) == "1 + min(a, b, c)"
    assert text(sp.exp(a - sp.Max(a, b))) == "exp(a − max(a, b))"


def test_the_stable_printout_of_logaddexp_says_max():
    out = subprocess.run([sys.executable, "-m", "symnet", "derive", "log(exp(a)+exp(b))", "--stable"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "max(a, b) + log1p(exp(min(a, b) − max(a, b)))" in out.stdout
    assert "Max(" not in out.stdout and "Min(" not in out.stdout
