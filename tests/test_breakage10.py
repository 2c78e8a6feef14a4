"""Breakage 10: a hostile user's inputs through the public API and the ``symnet`` CLI. Each test
failed before its fix (the fault is named in its docstring)."""
from __future__ import annotations

import pytest

import symnet
from symnet.cli import main


# --- path options: a folder that is not there, a file, nothing --------------------------------

@pytest.mark.parametrize("argv, problem", [
    (["verify", "--kernels", "{missing}"], "no such folder"),
    (["verify", "--kernels", "{file}"], "not a folder"),
    (["verify", "--kernels", "{empty}"], "no numpy/ folder in it"),
    (["verify", "--kernels", "{partial}"], "lacks sigmoid.py"),
    (["verify", "--kernels", ""], "names no folder"),
    (["verify", "--backend", "triton", "--kernels", "{missing}"], "no such folder"),
    (["verify", "x*y", "--kernels", "{missing}"], "applies only without a FORMULA"),
    (["codegen", "--check", "--out", "{missing}"], "no such folder"),
    (["codegen", "--check", "--out", "{file}"], "not a folder"),
    (["codegen", "--out", "{file}"], "not a folder"),
    (["codegen", "--out", "{file}/below"], "is not a folder"),
    (["docs", "--check", "--out", "{missing}"], "no such folder"),
    (["docs", "--out", "{file}"], "not a folder"),
])
def test_a_path_option_pointing_nowhere_is_one_line_naming_it(tmp_path, capsys, argv, problem):
    """Before: `symnet verify --kernels /nonexistent` (a file, a folder without numpy/, or with some
    modules missing) checked freshly generated kernels instead and exited 0, "60 passed"; `symnet
    verify FORMULA --kernels X` ignored X; `codegen --check --out /nonexistent` called every kernel
    stale; `codegen --out FILE` and `docs --out FILE` ended in a NotADirectoryError / FileExistsError
    traceback; `docs --check --out /nonexistent` built every page (minutes) before saying they were
    stale."""
    (tmp_path / "afile").write_text("")
    (tmp_path / "empty").mkdir()
    (tmp_path / "partial" / "numpy").mkdir(parents=True)
    (tmp_path / "partial" / "numpy" / "mse.py").write_text("")
    names = {"missing": tmp_path / "nowhere", "file": tmp_path / "afile", "empty": tmp_path / "empty",
             "partial": tmp_path / "partial"}
    argv = [a.format(**names) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err, err
    assert err.startswith("symnet: error: ") and "Traceback" not in err
    assert not (tmp_path / "nowhere").exists()


# --- kinks: --stable's hazard report said "no hazard" on relu(x) − relu(−x) --------------------

def _kink_rows(formula):
    from symnet.verify.hazard import _kink_text, kinks

    return [(r, *_kink_text(r)) for r in kinks(symnet.derive(formula))]


def test_the_hazard_report_names_a_kink_the_code_resolves_against_the_true_derivative(capsys):
    """Before: `symnet derive "relu(x) - relu(-x)" --stable` reported "no hazard found" for ∂f/∂x,
    whose generated code gives 0 at x = 0 (relu′(0) = 0, torch's convention) where the formula
    (= x) has the derivative 1 (one-sided derivatives, exact; finite differences agree)."""
    rows = _kink_rows("relu(x) - relu(-x)")
    assert {r["node"] for r, _, _ in rows} == {"relu(x)", "relu(−x)"}
    for r, text, where in rows:
        assert where == "x = 0" and r["code"] == 0.0 and r["differentiable"] and r["right"] == 1
        assert "not differentiable where x = 0" in text and "taken as 0, as torch" in text
        assert "the formula is differentiable there: 1 from both sides; the code's value differs" in text
    assert main(["derive", "relu(x) - relu(-x)", "--stable"]) == 0
    report = capsys.readouterr().out.split("Measured hazards")[1]
    # the output with the kink is not also said to have "no hazard" (the row below the kink's said so)
    gradient_rows = [line for line in report.splitlines() if "∂f/∂x" in line and "points" in line]
    assert len(gradient_rows) == 2 and all("no hazard found" not in line and "(its kinks: above)" in line
                                           for line in gradient_rows), report
    import numpy as np
    fn = symnet.compile(symnet.derive("relu(x) - relu(-x)"))
    h = 1e-6
    assert abs((fn(np.array([h]))[0] - fn(np.array([-h]))[0])[0] / (2 * h) - 1) < 1e-9  # the slope is 1


@pytest.mark.parametrize("formula, node, where, code, left, right", [
    ("relu(x)", "relu(x)", "x = 0", 0.0, 0, 1),
    ("abs(x - 1)", "|x − 1|", "x = 1", 0.0, -1, 1),
    ("sign(x)*x", "sign(x)", "x = 0", 0.0, -1, 1),
    ("heaviside(x)*x", "H(x)", "x = 0", 0.0, 0, 1),
    ("max(x, 0)", "max(0, x)", "x = 0", 0.0, 0, 1),
])
def test_every_kind_of_kink_is_reported_with_the_codes_convention(formula, node, where, code, left, right):
    """Before: no kink of abs, sign, H, max, min or relu was reported by --stable; the code's value on
    one (a convention, not a derivative) read as measured and exact."""
    (r, text, at), = _kink_rows(formula)
    assert (r["node"], r["where"], at, r["code"], r["left"], r["right"]) == (node, where, where, code, left, right)
    assert not r["differentiable"] and "has no derivative there" in text and "is a convention" in text


def test_a_tie_of_max_is_reported_with_the_mean_and_a_where_boundary_with_its_branch():
    rows = _kink_rows("max(x, y)")
    assert [r["gradient"] for r, _, _ in rows] == ["∂f/∂x", "∂f/∂y"]
    assert all(r["where"] == "x = y" and r["code"] == 0.5 and "weight 1/2" in t for r, t, _ in rows)
    (r, text, _), = _kink_rows("where(x >= 1, x**2, 2*x - 1)")
    assert r["where"] == "x = 1" and r["code"] == 2.0 and r["differentiable"]
    assert "branch x², whose condition x ≥ 1 holds" in text


def test_a_kink_without_a_solvable_point_is_still_named_and_a_smooth_formula_has_none():
    (r, text, at), = _kink_rows("abs(sin(x))")
    assert "gradient" not in r and at == "" and "|sin(x)| is not differentiable where sin(x) = 0" in text
    assert _kink_rows("x*exp(x) + log1p(x**2)") == []


def test_the_hazard_section_carries_the_kinks(monkeypatch):
    from symnet.verify import hazard

    monkeypatch.setattr(hazard, "hazards", lambda d: [])  # the measured rows (tens of seconds) are not tested here
    section = hazard.hazard_section(symnet.derive("relu(x) - relu(-x)"))
    kinked = [row for row in section.table[1:] if row[3].startswith("kink:")]
    assert len(kinked) == 2 and all(row[0] == "∂f/∂x" and row[4] == "x = 0" for row in kinked)


# --- messages that are not one short line ------------------------------------------------------

@pytest.mark.parametrize("formula, shown", [("x**-1e308", "-1.000e+308"), ("x**1e6", "1000000"),
                                            ("x**123456789012345678901234567890", "1.235e+29")])
def test_a_huge_exponent_is_named_in_a_short_message(formula, shown):
    """Before: `x**-1e308` was refused with "exponent -10000…0 is too large", the number written out
    in 309 digits (a 347-character line)."""
    with pytest.raises(symnet.ParseError) as caught:
        symnet.derive(formula)
    assert f"exponent {shown} is too large" in str(caught.value) and len(str(caught.value)) < 80


# --- a variable given twice in a point ----------------------------------------------------------

@pytest.mark.parametrize("argv", [["derive", "x*y", "--at", "x=1,x=2,y=1"], ["derive", "x*y", "--at", "ｘ=1,x=2,y=1"],
                                  ["graph", "x*y", "--at", "x=1,y=2,y=3"]])
def test_a_variable_given_twice_in_at_is_refused(capsys, argv):
    """Before: `symnet derive x*y --at x=1,x=2,y=1` printed the values at x = 2 (the last one won,
    silently; the full-width ｘ names the same x)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is given twice in the point" in err and err.count("\n") == 1


@pytest.mark.parametrize("point", [{"x": 1, "X": 0, "y": 2}, {"x": 1, "ｘ": 5, "y": 2}])
def test_a_variable_given_twice_to_gradient_at_is_refused(point):
    """Before: d.gradient_at({"x": 1, Symbol("x"): 5, "y": 2}) (or "x" and "ｘ") gave the gradients
    at x = 5: the last key naming x won silently."""
    import sympy as sp

    d = symnet.derive("x*y")
    if "X" in point:
        point = {"x": 1, sp.Symbol("x"): 5, "y": 2}
    with pytest.raises(symnet.ParseError, match="x is given twice in the point"):
        d.gradient_at(point)
    with pytest.raises(symnet.ParseError, match="x is given twice"):
        symnet.derive("x*y", at=point)
    assert d.gradient_at({"x": 1, "y": 2}) == {sp.Symbol("x", real=True): 2, sp.Symbol("y", real=True): 1}


# --- training: an epoch count that grows the history without end ------------------------------

def test_an_epoch_count_past_what_a_checkpoint_can_hold_is_refused(capsys):
    """Before: `symnet train xor --epochs 10000000000000000000000` ran on, its per-epoch history
    growing in memory (+230 kB/s measured), and a run past ~2·10⁶ epochs wrote a history sidecar
    larger than the 256 MB a resume reads back: a checkpoint it could not resume from."""
    from symnet.training.checkpoint import HISTORY_LIMIT
    from symnet.training.loop import MAX_EPOCHS

    assert main(["train", "xor", "--epochs", "10000000000000000000000", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"epochs (--epochs) must be at most {MAX_EPOCHS:,}" in err
    widest = ('{"epoch":%d,"loss":2.110578276390253,"train_accuracy":0.7023014105419451,'
              '"test_accuracy":0.7155555555555555}\n' % MAX_EPOCHS)  # digits', the longest record of the tasks
    assert 2 * MAX_EPOCHS * len(widest) < HISTORY_LIMIT


# --- symnet.verify's number of points: bounded in the API, not only on the command line ---------

@pytest.mark.parametrize("n", [10 ** 9, -1, 2.5, True, "60"])
def test_verify_refuses_a_number_of_points_the_command_line_refuses(n):
    """Before: symnet.verify("x", n=10**9, timeout=20) built 10⁹ points per dtype, 8 GB and 58 s
    measured, before the budget was first looked at (`symnet verify --points` stops at 100000;
    the Python API took any n)."""
    with pytest.raises(symnet.SymnetError, match="number of random points n must be a whole number from 0 to 100000"):
        symnet.verify("x", n=n)


# --- symnet.torch.functional: arguments that are not tensors, numbers given as text ------------

def _functional():
    import os
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch.functional as sf
    return sf


@pytest.mark.parametrize("call, message", [
    (lambda F, z, y: F.cross_entropy(z, y, weight=[1.0] * 4), "cross_entropy: argument 'weight' must be a torch.Tensor, not list"),
    (lambda F, z, y: F.cross_entropy(z, y.numpy()), "cross_entropy: argument 'target' must be a torch.Tensor, not ndarray"),
    (lambda F, z, y: F.cross_entropy(z.numpy(), y), "cross_entropy: argument 'input' must be a torch.Tensor, not ndarray"),
    (lambda F, z, y: F.cross_entropy(z, y, label_smoothing="0.1"), "cross_entropy: label_smoothing must be a number, not str"),
    (lambda F, z, y: F.cross_entropy(z, y, softcap="3"), "cross_entropy: softcap must be a number, not str"),
    (lambda F, z, y: F.sigmoid([1.0, 2.0]), "sigmoid: argument 'input' must be a torch.Tensor, not list"),
    (lambda F, z, y: F.elu(z, alpha="1"), "elu: a parameter must be a number, not str"),
    (lambda F, z, y: F.softmax(z, dim="x"), "softmax: dim must be an int, not str"),
    (lambda F, z, y: F.mse_loss(z, [1.0] * 4), "mse_loss: argument 'target' must be a torch.Tensor, not list"),
    (lambda F, z, y: F.loss("mse", z, [1.0] * 4), "mse: takes 1 target tensor(s), got 4"),
])
def test_a_functional_argument_that_is_not_a_tensor_is_one_line_naming_it(call, message):
    """Before: a list or NumPy array reached the op's schema (a 5-line RuntimeError "Expected a value of
    type 'Optional[Tensor]' ... Declaration: ...") or failed as AttributeError ("'list' object has no
    attribute 'dtype'"); label_smoothing="0.1" and alpha="1" were read with float() (torch refuses
    them); softmax(dim="x") was movedim's 10-line TypeError."""
    import torch

    F = _functional()
    z, y = torch.randn(3, 4), torch.tensor([0, 1, 2])
    with pytest.raises(TypeError) as caught:
        call(F, z, y)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_functional_arguments_that_are_right_still_run():
    import torch

    F = _functional()
    z, y = torch.randn(3, 4, dtype=torch.float64), torch.tensor([0, 1, 2])
    torch.testing.assert_close(F.cross_entropy(z, y, label_smoothing=0.1),
                               torch.nn.functional.cross_entropy(z, y, label_smoothing=0.1))
    torch.testing.assert_close(F.mse_loss(z, 0.5), torch.nn.functional.mse_loss(z, torch.full_like(z, 0.5)))
    torch.testing.assert_close(F.elu(z, alpha=1), torch.nn.functional.elu(z))


def test_kinks_of_subscripted_variables_are_judged_and_only_along_the_variables_that_cross_them():
    """Found while testing the kink report: x₀ (printed ∂f/∂x₀) matched no gradient, so no row was
    judged; and every gradient was judged at every kink (11 variables: minutes), where only the
    kink's own variables cross it."""
    rows = _kink_rows("abs(x0 - x1) + abs(x1 - x2)")
    assert [(r["node"], r["gradient"]) for r, _, _ in rows] == [
        ("|x₀ − x₁|", "∂f/∂x₀"), ("|x₀ − x₁|", "∂f/∂x₁"), ("|x₁ − x₂|", "∂f/∂x₁"), ("|x₁ − x₂|", "∂f/∂x₂")]
    from symnet.verify.hazard import _kink_text, kinks

    (r,) = kinks(symnet.derive("relu(x)*y", wrt="y"))
    assert _kink_text(r) == ("kink: relu(x) is not differentiable where x = 0 (no gradient asked for crosses it)",
                             "x = 0, y = 5/4")
