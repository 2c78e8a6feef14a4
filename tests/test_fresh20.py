"""Session 20, a new user with only the README (h-fresh20): each test failed before its fix.

1. ``symnet verify "-t*log(p)/(p+1)"`` printed ``inf×2`` in the ∂p cells: two overflows at p = 5e−324
   (1/(p(p + 1)) past float64's range where the true ∂p is −1) hid the 6.5e15 ULP at p = 3.5911, t = 1,
   where ∂p crosses 0 and cancels; only the "Worst points" list below the table showed it.
2. ``symnet verify softsighn`` (a typo, no parentheses) measured f = softsighn, a variable, and said "pass"
   (exit 0); ``symnet derive softsighn`` said only "add --wrt". Both now say "did you mean softsign(x)?";
   a plain variable (``symnet verify x``, tests/test_fresh_eyes_4.py) is still measured.
3. ``help(symnet.torch.functional.mish)`` (and elu, relu, mse_loss, … 25 of the 35 public names) printed no
   docstring: now each says what it computes, its shapes and dtypes, its options and what it raises.
"""

import pytest

from symnet.cli import main
from symnet.verify.measure import Cell, Report


def _report(**cell):
    r = Report(formula="-t*log(p)/(p+1)", bounds={"float64": 4.0})
    r.cells.append(Cell(output="df_dp", dtype="float64", implementation="symnet numpy", points=218, **cell))
    return r


def test_table_shows_the_worst_ulp_beside_a_nan_inf_count():
    r = _report(worst_ulp=6.5e15, worst_at="p=3.591121476668622, t=1", mismatches=2,
                mismatch_at="inf: got -inf, true -1.0 at p=5e-324, t=5e-324")
    row = r.table().splitlines()[2]
    assert "inf×2, 6.5e+15" in row and row.endswith("FAIL")


def test_table_keeps_the_bare_count_where_the_rest_is_within_the_bound():
    r = _report(worst_ulp=1.5, worst_at="p=1, t=1", mismatches=3, mismatch_at="NaN: got nan, true 1 at p=0, t=1")
    row = r.table().splitlines()[2]
    assert "NaN×3" in row and "1.50" not in row
    assert Cell(output="f", dtype="float64", implementation="symnet numpy", worst_ulp=9.0, mismatches=1,
                mismatch_at="inf: …").text() == "inf×1"  # without a bound, as before


def test_verify_of_a_misspelt_bare_function_name_refuses_and_suggests(capsys):
    assert main(["verify", "softsighn", "--points", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert "'softsighn' is one variable, not a formula (did you mean softsign(x)?)" in captured.err
    assert "add --wrt softsighn" in captured.err


@pytest.mark.parametrize("typo, suggestion", [("softsighn", "softsign(x)"), ("gelu_tnh", "gelu_tanh(x)")])
def test_derive_of_a_misspelt_bare_function_name_suggests_it(capsys, typo, suggestion):
    assert main(["derive", typo]) == 2
    err = capsys.readouterr().err
    assert f"did you mean {suggestion}?" in err and len(err.splitlines()) == 1


def test_every_public_torch_functional_has_a_docstring_with_dtypes_and_errors():
    F = pytest.importorskip("symnet.torch.functional")
    missing = [n for n in F.__all__ if not (getattr(F, n).__doc__ or "").strip()]
    assert missing == []
    for name in ("mish", "elu", "relu", "gelu", "hardtanh", "mse_loss", "binary_cross_entropy"):
        doc = getattr(F, name).__doc__
        assert f"torch.nn.functional.{name}" in doc and "float32" in doc and "Raises" in doc
    assert "inplace=True" in F.mish.__doc__ and "inplace" not in F.softsign.__doc__
    assert "``alpha=1.0``" in F.elu.__doc__ and "``min_val=-1.0``, ``max_val=1.0``" in F.hardtanh.__doc__


def test_readme_shows_the_table_cell_as_verify_prints_it():
    from pathlib import Path

    readme = " ".join(Path(__file__).resolve().parents[1].joinpath("README.md").read_text().split())
    cell = Cell(output="df_dp", dtype="float64", implementation="symnet numpy", worst_ulp=6.2e15, mismatches=2,
                mismatch_at="inf: got -inf, true -1.0 at p=5e-324, t=5e-324")
    assert f'symnet verify "-t*log(p)/(p+1)"`: ∂p `{cell.text(4.0)}`' in readme
