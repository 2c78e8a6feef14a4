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
