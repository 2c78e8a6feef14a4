"""Session 48, h-dps48: every test module at its own mpmath precision, none changing another's.

mpmath's precision is one global (mpmath.mp), and 17 test modules set it at import (``mpmath.mp.dps = 50``, 60 or
300). pytest imports every test module before it runs a test, so the last import set it for the whole run: in a full
run (and in each pytest-xdist worker, which collects every module) test_zip44's 50 held for all, test_user47's
300-digit references among them, and a module run alone had its own or mpmath's 15. Eight tests set it inside a
function and left it there (test_fresh9's 150 and 90, test_printouts_more's 80 and 50, test_user29's 50 and 80,
test_fresh_eyes_5's 50, test_lead35's 60), so the tests after them in the same process ran at those digits.
h-user48's GCE reference at z = 70 was noise that way until it took ``mpmath.workdps``.

Now a module names its digits as ``MP_DPS = n`` and conftest's module-scoped autouse fixture runs its tests (and its
module-scoped fixtures) inside ``mpmath.workdps(n)``; every other module's at MP_DPS_DEFAULT = 15, mpmath's own (what a
user of symnet.verify has). Modules are imported at conftest.IMPORT_DPS = 60 digits (constants made at import: SELU's
λ from its 32 digits, log 2), and a module whose import changes the precision is a collection error naming it; a test
that leaves the precision changed errs at its teardown. The function-level assignments are ``with mpmath.workdps(n):``
blocks. test_hyp28 and test_recip30 took their truths at the ambient precision (15 alone, 50 in a full run): they name
50 now.

Results that changed (each module run alone before and after, and at the 50 digits a full run gave it):

* test_user47's TKL case at T = 1.1416282307833951e45, a = 1, b = 0.3 (true 4.70e−92, the four log terms cancel
  past 50 digits): at 50 digits, as in a full run (unless a leaked 150 or 90 came first in that process), its
  reference is noise and the test FAILS (3.2e15 ULP, torch 4.93e15); at its 300 digits it passes. Before, it passed
  where test_user47.py ran alone, and failed beside test_zip44 (`pytest tests/test_user47.py tests/test_zip44.py`).
* test_recip30, 1/selu(x) at x = 5.4e−309 in float64: 1.0 ULP against the 15-digit truth of a lone run, 0 at 50
  digits (the docstring's 1.0 was the truth's rounding); (3/7)/x on its 600 random points: 0 at 15 digits (a 53-bit
  truth is the quotient itself), 1.0 at 50; the old 1/x·(3/7) 1.0 and 2.0. The test passes at both.
* test_hyp28 (15 and 50 digits), test_fresh24b, test_kink34, test_user34 (their 60, and 50): the same results.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mpmath

TESTS = Path(__file__).resolve().parent
MP_DPS = 33  # this module's own digits, read by conftest._mpmath_digits


def _assignments_to_mp_precision(path: Path):
    """(line, source) of each assignment to ``mp.dps``/``mp.prec`` (``mpmath.mp.dps = …``, ``mp.prec += …``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for target in targets:
            if not (isinstance(target, ast.Attribute) and target.attr in ("dps", "prec")):
                continue
            owner = target.value  # mp, or mpmath.mp
            if (isinstance(owner, ast.Name) and owner.id == "mp") or (
                    isinstance(owner, ast.Attribute) and owner.attr == "mp"):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_test_file_assigns_mpmaths_precision():
    """A module's digits are ``MP_DPS = n``; a test's, ``with mpmath.workdps(n):``. An assignment at import sets them
    for every module of the run; one inside a test, for every test after it."""
    offenders = [f"{path.relative_to(TESTS.parent)}:{line}: {source}"
                 for path in sorted(TESTS.rglob("*.py")) if path.name != "conftest.py"  # it gives them back
                 for line, source in _assignments_to_mp_precision(path)]
    assert not offenders, "\n".join(offenders)


def test_the_scan_finds_each_way_of_writing_it(tmp_path):
    source = tmp_path / "test_x.py"
    source.write_text(textwrap.dedent("""\
        import mpmath
        from mpmath import mp
        mpmath.mp.dps = 50
        def test():
            mp.prec = 200
            mpmath.mp.dps += 10
            with mpmath.workdps(60):
                pass
            digits = mpmath.mp.dps
        """), encoding="utf-8")
    assert [line for line, _ in _assignments_to_mp_precision(source)] == [3, 5, 6]


def test_this_modules_tests_run_at_its_digits():
    assert mpmath.mp.dps == MP_DPS


def test_conftest_gives_each_module_its_digits_and_refuses_a_change(tmp_path):
    """In a pytest run with this conftest: a module without MP_DPS at mpmath's 15 digits, before and after one with
    MP_DPS = 70 (imported at conftest.IMPORT_DPS = 60); a test leaving its digits changed errs at teardown and the
    next test has its module's again; a module that sets mp.dps at import is a collection error naming it."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_a.py").write_text(textwrap.dedent("""\
        import mpmath

        def test_default():
            assert mpmath.mp.dps == 15
        """), encoding="utf-8")
    (tmp_path / "test_b.py").write_text(textwrap.dedent("""\
        import mpmath
        import pytest

        MP_DPS = 70
        AT_IMPORT = mpmath.mp.dps

        @pytest.fixture(scope="module")
        def computed_once():
            return mpmath.mp.dps

        def test_its_digits(computed_once):
            assert mpmath.mp.dps == computed_once == 70 and AT_IMPORT == 60

        def test_leaves_them_changed():
            mpmath.mp.dps = 30

        def test_after_it():
            assert mpmath.mp.dps == 70
        """), encoding="utf-8")
    (tmp_path / "test_c.py").write_text("import mpmath\n\n\ndef test_default_again():\n    assert mpmath.mp.dps == 15\n",
                                        encoding="utf-8")
    (tmp_path / "test_d.py").write_text("import mpmath\n\nmpmath.mp.dps = 50\n\n\ndef test_never_run():\n    pass\n",
                                        encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", "-rA",
                          "--continue-on-collection-errors", "-o", "addopts=", str(tmp_path)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    for line in ("PASSED test_a.py::test_default", "PASSED test_b.py::test_its_digits",
                 "PASSED test_b.py::test_leaves_them_changed", "PASSED test_b.py::test_after_it",
                 "PASSED test_c.py::test_default_again"):
        assert line in out, out
    assert "ERROR test_b.py::test_leaves_them_changed" in out, out
    assert "the test left mpmath.mp.dps = 30 (its module's is 70)" in out, out
    assert "ERROR test_d.py" in out and "collecting it set mpmath.mp.dps = 50" in out, out
    assert "test_never_run" not in out, out
