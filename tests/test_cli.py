"""The command line as a user runs it: a subprocess, its output and exit status."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def symnet(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "symnet", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_list():
    r = symnet("derive", "--list")
    assert r.returncode == 0
    for name in ("linear-miles", "comp-graph", "backprop", "rnn-bptt"):
        assert name in r.stdout


def test_named_derivation_text_and_json():
    r = symnet("derive", "comp-graph")
    assert r.returncode == 0 and "de/db" in r.stdout and "= 8" in r.stdout
    r = symnet("derive", "comp-graph", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["gradients"] == {"a": "b + 1", "b": "a + 2*b + 1"}


def test_user_formula():
    r = symnet("derive", "x*exp(x**2)", "--wrt", "x")
    assert r.returncode == 0
    assert "exp(x²)·(1 + 2·x²)" in r.stdout
    r = symnet("derive", "x*y + sigmoid(x)", "--wrt", "x,y", "--at", "x=0,y=2", "--format", "markdown")
    assert r.returncode == 0 and "$$" in r.stdout and "Values at" in r.stdout


@pytest.mark.parametrize("args, message", [
    (("derive", "no-such-thing"), "unknown derivation 'no-such-thing'"),
    (("derive", "sigmod"), "did you mean 'sigmoid'"),
    (("derive", "x +* y", "--wrt", "x"), "cannot parse"),
    (("derive", "x*y", "--wrt", "z"), "'z' does not appear"),
    (("derive", "relu(x)", "--wrt", "x", "--at", "x=0"), "not differentiable at x = 0"),
    (("derive", "x*y", "--at", "x=1"), "--at gives no value for y"),
    (("derive", "__import__('os').system('echo pwned')", "--wrt", "x"), "not allowed"),
    (("derive", "comp-graph", "--wrt", "a"), "named derivation"),
    (("derive",), "name a derivation"),
    (("graph", "comp-graph", "-o", "graph.pdf"), "cannot write a graph as '.pdf'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    r = symnet(*args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "pwned" not in r.stdout


def test_graph_as_dot(tmp_path):
    r = symnet("graph", "comp-graph")
    assert r.returncode == 0 and r.stdout.startswith("digraph")
    out = tmp_path / "g.dot"
    r = symnet("graph", "param-sharing", "-o", str(out))
    assert r.returncode == 0 and out.read_text().startswith("digraph")


def test_graph_as_svg(tmp_path):
    out = tmp_path / "g.svg"
    r = symnet("graph", "comp-graph", "-o", str(out))
    if shutil.which("dot"):
        assert r.returncode == 0 and "<svg" in out.read_text()
    else:
        assert r.returncode == 2 and "Graphviz" in r.stderr and not out.exists()


def test_derive_stable_and_verify_and_codegen_check():
    r = symnet("derive", "log(1 + exp(z))", "--wrt", "z", "--stable")
    assert r.returncode == 0 and "softplus rule" in r.stdout
    r = symnet("verify", cwd=ROOT)  # every committed NumPy kernel (tests/test_codegen.py ran it again at 60 points)
    assert r.returncode == 0 and "0 failed" in r.stdout and "worst ulps" in r.stdout, r.stdout[-3000:] + r.stderr
    table = [line.split() for line in r.stdout.splitlines()]
    assert {"mpmath", "float64", "float32"} <= {word for row in table for word in row}
    assert "finite differences" in r.stdout
    r = symnet("codegen", "--check", cwd=ROOT)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("formula, point, want", [
    ("where(x > 0, sqrt(x), x)", "x=-4", "df/dx = {1/(2·sqrt(x)) if x > 0; 1 otherwise}"),
    ("where(x > 0, log(x), x)", "x=-1", "= 1    [result; ✓]"),
])
def test_a_branch_not_taken_need_not_be_real_at_the_point(formula, point, want, tmp_path):
    r = symnet("derive", formula, "--wrt", "x", "--at", point, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert want in r.stdout and "df/dx" in r.stdout.splitlines()[-1] and r.stdout.rstrip().endswith("[result; ✓]")


def test_a_node_the_result_uses_is_still_refused_where_it_is_not_real(tmp_path):
    r = symnet("derive", "sqrt(x) + x", "--wrt", "x", "--at", "x=-1", cwd=tmp_path)
    assert r.returncode == 2 and "sqrt(x) is not a real number at x = -1" in r.stderr
