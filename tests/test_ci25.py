"""The test suite's time (helper ci25, session 25): what its speed-ups rest on.

- ``gmpy2`` in the test extras: mpmath (the tests' 50-600 digit references, symnet's root-series fits and the
  hazard checks of ``derive --stable``) then does its integer arithmetic in GMP instead of pure Python
  (``isqrt_fast_python`` under ``log_agm``: ``symnet derive --stable -- "log(1 + exp(a)) - a"`` 7.75 → 3.16 s of
  CPU, same printout). It must give the same numbers: checked here against mpmath's Python backend in a fresh
  process (MPMATH_NOGMPY=1), bit for bit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import mpmath
import pytest

ROOT = Path(__file__).resolve().parents[1]

# values whose last bits depend on the integer arithmetic below mpmath's elementary functions (AGM logarithm,
# Newton square roots, exp by Taylor series with argument reduction) at the precisions the tests use
_VALUES = """
import json, mpmath
out = {}
for dps in (50, 60, 600):
    with mpmath.workdps(dps):
        for s in ("1e-300", "0.4", "2.5", "88.7", "745.1332191019411"):
            v = mpmath.mpf(s)
            out[f"{dps} {s}"] = [repr(f(v)) for f in (mpmath.log, mpmath.exp, mpmath.sqrt, mpmath.log1p,
                                                     mpmath.expm1, mpmath.erfc, mpmath.tanh)]
print(json.dumps(out))
"""


def test_the_test_extras_bring_gmpy2():
    """Before: the test extras had no gmpy2 (measured 2026-12-04), so mpmath ran on Python integers: mpmath's
    BACKEND 'python' in .ci/run's venv."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "gmpy2" for d in extras["test"])


def test_mpmath_uses_gmpy2_where_installed_with_the_same_numbers():
    pytest.importorskip("gmpy2")
    if os.environ.get("MPMATH_NOGMPY"):
        pytest.skip("MPMATH_NOGMPY is set: mpmath keeps its Python backend")
    assert mpmath.libmp.BACKEND == "gmpy"
    env = dict(os.environ, MPMATH_NOGMPY="1")
    run = subprocess.run([sys.executable, "-c", "import mpmath; print(mpmath.libmp.BACKEND)\n" + _VALUES],
                         capture_output=True, text=True, env=env, check=True, timeout=120)
    backend, python_values = run.stdout.splitlines()[0], json.loads(run.stdout.splitlines()[-1])
    assert backend == "python"
    here: dict = {}
    exec(_VALUES.replace("print(json.dumps(out))", ""), here)  # the same code, in this (gmpy) process
    assert here["out"] == python_values

