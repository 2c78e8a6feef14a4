"""Session 36, h-bound36: ``symnet.compile``'s resource use is bounded for every input.

``symnet.compile(symnet.derive("focal(focal(z, t), t)"))`` ran for more than 200 CPU s (deriving it takes 3), 76% of
it in the collect rule (rewrite.py's _collect_pair): SymPy's factor_terms and cancel of the pairs of terms of sums of
14,687 to 117,826 nodes. The rule now tries only pairs of at most rewrite.COLLECT_LIMIT = 5,000 nodes (the largest of a
tested formula: 3,148; of a registry function: 415, so no kernel changes), and ``symnet.compile`` runs under the budget
``symnet.derive`` has (``time_limit=60`` CPU s by default, the same timer and one-line LimitError), its progress line
saying which output it is stabilising. Hang guards only: small budgets on a formula known to exceed them.
"""
from __future__ import annotations

import io
import math
import signal

import pytest
import sympy as sp

import symnet
from symnet import LimitError
from symnet.bounds import time_limit
from symnet.codegen import compiler, rewrite

NESTED = "focal(focal(z, t), t)"


@pytest.fixture(scope="module")
def nested_focal():
    with time_limit(15, f"deriving {NESTED} took over 15 CPU s", cpu=True):
        return symnet.derive(NESTED, progress=False)


@pytest.fixture
def fresh(monkeypatch):
    """No kernel from an earlier compile, in memory or on disk: each compile here describes its kernel afresh."""
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")
    monkeypatch.setattr(compiler, "_CACHE", compiler._LeastRecentlyUsed(compiler.MAX_COMPILED))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_compile_refuses_past_its_budget_in_one_line(nested_focal, fresh, backend):
    """The nested focal's kernel takes tens of CPU seconds to describe: past half a second, one line naming what was
    generated and the time_limit= that raises it (the description, where the time goes, is the same for both
    backends: this refusal comes before Triton or torch is imported)."""
    with pytest.raises(LimitError) as refused:
        symnet.compile(nested_focal, backend, progress=False, time_limit=0.5)
    assert str(refused.value) == (f"generating {backend} code for 'Derivative of {NESTED}' took longer than 0.5 CPU s "
                                  "(raise it with symnet.compile(..., time_limit=1), or time_limit=None for no limit)")
    # the timer is gone and the handler that was there is back: no SIGPROF comes later
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) in (signal.SIG_DFL, None)


@pytest.mark.parametrize("bad", [-1, float("nan"), "60", True])
def test_a_bad_compile_budget_is_refused(bad):
    d = symnet.derive("x*y", progress=False)
    with pytest.raises(LimitError, match="time_limit|time limit"):
        symnet.compile(d, progress=False, time_limit=bad)


@pytest.mark.parametrize("budget", [None, 0, 30, math.inf])
def test_no_budget_or_a_large_one_compiles(fresh, budget):
    d = symnet.derive("x*sigmoid(y)", progress=False)
    k = symnet.compile(d, progress=False, time_limit=budget)
    assert k(x=2.0, y=0.0)[0] == 1.0


def test_the_budget_is_the_same_keyword_and_default_as_derives():
    import inspect

    for function in (symnet.derive, symnet.compile):
        assert inspect.signature(function).parameters["time_limit"].default == symnet.TIME_LIMIT == 60


def test_verify_stops_in_the_generated_code(nested_focal):
    """``symnet verify FORMULA --timeout S`` (and symnet.verify(..., timeout=S)) has a wall-clock budget of its own,
    which covers generating the code: it names that stage."""
    from symnet.verify import VerifyTimeoutError

    with pytest.raises(VerifyTimeoutError, match="its generated NumPy code"):
        symnet.verify(nested_focal, timeout=1, progress=False, torch=False)


def test_compiles_progress_line_says_which_output_it_stabilises(fresh, monkeypatch):
    """On a long compile the line reads ``symnet: generating numpy code … 14 s, 9 of 60 CPU s, stabilising ∂f/∂t
    (3 of 3)``, then the common subexpressions and the printing (the stages, recorded here; drawn only after a
    second, where stderr is a terminal)."""
    said = []
    monkeypatch.setattr(symnet.progress._Line, "say", lambda self, text: said.append(text))
    d = symnet.derive("t*sigmoid(z) + z", progress=False)
    with symnet.progress.progress("generating numpy code", True, io.StringIO(), after=1e6):
        symnet.compile(d, progress=True)
    assert said == ["stabilising f (1 of 3)", "stabilising ∂f/∂t (2 of 3)", "stabilising ∂f/∂z (3 of 3)",
                    "common subexpressions", "printing the NumPy module"]


def test_say_without_a_line_does_nothing():
    symnet.progress.say("stabilising f (1 of 1)")  # no line open in this thread: nothing raised, nothing drawn


def _pair(bulk: int):
    """−2t·X + 2(1 − t)·X with X = σ(z)·B, B a sum of ``bulk`` variables: two products that cancel at t = 1/2."""
    z, t = sp.symbols("z t", real=True)
    X = symnet.sigmoid(z) * sp.Add(*sp.symbols(f"x:{bulk}", real=True))
    return sp.Add(-2 * t * X, 2 * (1 - t) * X, evaluate=False), X


def test_collect_takes_a_pair_within_its_limit():
    node, X = _pair(10)
    fired = rewrite._collect_pair(node)
    assert fired is not None and fired.names == ["collect"]
    assert sp.expand(fired.expr - node) == 0  # exact
    assert sp.expand(fired.expr.subs(sp.Symbol("t", real=True), sp.Rational(1, 2))) == 0  # exactly 0 where they cancel


def test_collect_leaves_a_pair_beyond_its_limit_as_written():
    """A pair of more than COLLECT_LIMIT nodes is not tried (SymPy's cancel of such took minutes): kept as written,
    at once (a hang guard, not a timing)."""
    node, _ = _pair(rewrite.COLLECT_LIMIT // 2)
    assert rewrite._tree_size(node, {}) > rewrite.COLLECT_LIMIT
    with time_limit(5, "the collect rule took over 5 CPU s on a pair beyond its limit", cpu=True):
        assert rewrite._collect_pair(node) is None


def test_the_collect_limit_sits_between_the_tested_formulas_and_the_nested_focal():
    assert 3_148 < rewrite.COLLECT_LIMIT < 14_687


def test_readmes_stable_display_is_what_the_command_prints(monkeypatch, capsys):
    """README's trimmed ``--stable`` display: each part it shows between its "…" lines is printed as shown, in order
    (the hazard measurement, tens of seconds, is not run here: the display elides its table)."""
    import re
    from pathlib import Path

    from symnet import cli

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    command = '$ symnet derive "log(1+exp(z))" --wrt z --stable\n'
    shown = re.split(r"^```", readme[readme.index(command) + len(command):], maxsplit=1, flags=re.M)[0]
    parts = [p.strip("\n") for p in shown.split("…\n") if p.strip()]
    from symnet.derivation import Section
    from symnet.verify import hazard

    monkeypatch.setattr(hazard, "hazard_section", lambda d: Section("Measured hazards of the generated code", (), "…"))
    assert cli.main(["derive", "log(1+exp(z))", "--wrt", "z", "--stable"]) == 0
    printed = capsys.readouterr().out
    at = 0
    for part in parts:
        found = printed.find(part + "\n", at)
        assert found >= 0, part
        at = found + len(part)
    assert parts[-1].endswith("\n\nMeasured hazards of the generated code")
