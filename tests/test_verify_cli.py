"""`symnet verify FORMULA` and symnet.verify (issue 16 point 4): ULP tables against mpmath, beside
torch; exit status 1 past the bound; the issue's failing examples are measured as failing."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symnet
from symnet.verify.measure import classify
from symnet.verify.spec import BOUNDS, extremes

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return subprocess.run([sys.executable, "-m", "symnet", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_cli_passes_and_prints_the_table():
    r = run("verify", "sigmoid(x)", "--points", "10")
    assert r.returncode == 0, r.stdout + r.stderr
    for word in ("symnet numpy", "torch autograd", "torch built-in", "float32", "float64", "df_dx", "pass"):
        assert word in r.stdout


def test_cli_fails_past_the_bound_and_names_the_point():
    r = run("verify", "exp(x)", "--points", "10", "--dtype", "float64", "--max-ulp", "0")
    assert r.returncode == 1  # exp rounds: no result is 0 ULP off everywhere
    assert "FAIL" in r.stdout and "worst" in r.stdout and "past the bound" in r.stdout


def test_cli_max_ulp_and_bad_options(capsys):
    assert run("verify", "x*y", "--points", "5", "--max-ulp", "1").returncode == 0
    # the refusals through the command line's main in this process (a subprocess each paid symnet's import)
    from symnet.cli import main
    assert main(["verify", "exp(x)", "--dtype", "float16"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "float16" in err
    assert main(["verify", "exp(x)", "--backend", "cuda"]) == 2
    assert "cuda" in capsys.readouterr().err


def test_python_api_is_exported():
    report = symnet.verify("x*exp(x)", n=5, dtypes=("float64",))
    assert report.cell("f", "float64", "symnet numpy").measured
    assert "Accuracy of x*exp(x)" in str(report)


@pytest.mark.parametrize("formula,output,dtype,kind", [
    ("tanh(x)", "df_dx", "float32", "ulp"),  # 1 − tanh² is 0 from |x| ≈ 10, true ≈ 8e−9
    ("log(exp(a) + exp(b))", "f", "float64", "inf"),  # inf at a = b = 800
    ("(1 - exp(-2*x))/(1 + exp(-2*x))", "f", "float32", "any"),  # NaN at −88.7·…, inf/inf
    ("sqrt(x**2 + 1)", "f", "float64", "inf"),  # inf at 1e200, true 1e200
])
def test_issue_examples_are_measured_as_failing(formula, output, dtype, kind):
    """The issue's examples, evaluated as written (torch autograd of the formula): the measurement
    finds each failure (symnet's own column is what the stability rules are to fix)."""
    pytest.importorskip("torch")  # the column measured is torch autograd's
    report = symnet.verify(formula, n=10, dtypes=(dtype,))
    cell = report.cell(output, dtype, "torch autograd")
    assert not cell.passed(BOUNDS[dtype]), str(report)
    if kind == "inf":
        assert cell.mismatches > 0
    if kind == "ulp":
        assert cell.worst_ulp > 1e6


def test_ulp_definition():
    import mpmath
    assert classify(1.0, mpmath.mpf(1), "float64") == ("normal", 0.0)
    kind, ulps = classify(float(np.nextafter(1.0, 2.0)), mpmath.mpf(1), "float64")
    assert kind == "normal" and ulps == pytest.approx(1.0)  # the next float after 1: one ULP (2^-52) off
    assert classify(math.nan, mpmath.mpf(1), "float32")[0] == "mismatch"
    assert classify(math.inf, mpmath.mpf("1e39"), "float32") == ("ok", 0.0)  # beyond float32: inf is right
    assert classify(0.0, mpmath.mpf("1e-44"), "float32")[0] == "sub"
    assert 0.0 in extremes("float32") and math.inf in extremes("float64")
    assert float(np.finfo(np.float32).smallest_subnormal) in extremes("float32")


def test_reference_resolves_cancellation_in_mpmath():
    """1 − tanh²(88.7) needs 77 digits: the reference raises the precision instead of reading 0."""
    import sympy as sp
    from symnet.verify.evaluate import reference
    x = sp.Symbol("x", real=True)
    value, digits = reference(1 - sp.tanh(x) ** 2, {x: 88.7})
    assert digits > 50 and float(value) == pytest.approx(4 * math.exp(-2 * 88.7), rel=1e-12)


# ------------------------------------------------------------------ the measured hazard report (--stable)

def test_stable_reports_measured_hazards_and_ranges():
    r = run("derive", "x*y", "--stable")
    assert r.returncode == 0, r.stderr
    assert "Measured hazards of the generated code" in r.stdout
    assert "no hazard found in x ∈ [-inf, inf]; y ∈ [-inf, inf]" in r.stdout


def test_hazards_are_found_by_measuring():
    """A naive 1 − tanh² and tanh(x) in float32: found to underflow to 0 from |x| ≈ 10 (true 8e−9) and
    to cancel near the point where it stops being 0 — by evaluation, not by inspecting the formula."""
    import sympy as sp
    from symnet.verify.hazard import hazards
    x = sp.Symbol("x", real=True)
    d = symnet.derive(sp.tanh(x), [x])

    def naive(xs):
        t = np.tanh(xs)
        return t, 1 - t * t

    rows = {(r["output"], r["dtype"]): r for r in hazards(d, function=naive)}
    assert "underflow" in rows[("df_dx", "float32")]["found"]
    assert "cancellation" in rows[("df_dx", "float64")]["found"]
    assert not rows[("f", "float64")]["found"]  # np.tanh itself is accurate


@pytest.mark.parametrize("formula", ["log(exp(a) + exp(b))", "x*y", "sigmoid(x)"])
def test_no_hazard_claimed_where_the_table_fails(formula):
    """--stable never says "no hazard found" for an output the verify table measures past the bound."""
    from symnet.parsing import parse_expression
    from symnet.verify.hazard import hazards
    d = symnet.derive(parse_expression(formula), title=formula)
    report = symnet.verify(formula, n=20, torch=False)
    for r in hazards(d, n=20):
        cell = report.cell(r["output"], r["dtype"], "symnet numpy")
        if not r["found"]:
            assert cell.passed(BOUNDS[r["dtype"]]), (formula, r, str(report))


def test_triton_backend_is_measured_and_marked_under_the_interpreter(monkeypatch):
    pytest.importorskip("triton")
    pytest.importorskip("torch")
    import torch
    if not torch.cuda.is_available():
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    report = symnet.verify("sigmoid(x)", n=4, backends=("numpy", "triton"), torch=False)
    cells = [c for c in report.cells if c.implementation == "symnet triton"]
    assert len(cells) == 4 and all(c.measured and c.points > 10 for c in cells)
    if not torch.cuda.is_available():
        assert all(not c.held for c in cells) and "TRITON_INTERPRET=1" in str(report)
        assert cells[0].text().endswith("*")
