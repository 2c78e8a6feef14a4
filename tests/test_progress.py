"""Progress for the Python API (issue 17, point 7): ``symnet.derive`` and ``symnet.compile`` show
the command line's progress line (``symnet.progress``) when asked, after a delay, and nothing
when told not to or when no one watches (not a terminal, not a notebook)."""
from __future__ import annotations

import time

import pytest

import symnet
import symnet.progress
from symnet import SymnetError


@pytest.fixture
def slow(monkeypatch):
    """A derive and a compile that each take 0.4 s more, a progress delay of 0.05 s, redrawn every 0.02 s."""
    import symnet.codegen
    import symnet.engine

    real_derive, real_compile = symnet.engine.derive, symnet.codegen.compile

    def slow_derive(*args, **kwargs):
        time.sleep(0.4)
        return real_derive(*args, **kwargs)

    def slow_compile(*args, **kwargs):
        time.sleep(0.4)
        return real_compile(*args, **kwargs)

    monkeypatch.setattr(symnet.engine, "derive", slow_derive)
    monkeypatch.setattr(symnet.codegen, "compile", slow_compile)
    monkeypatch.setattr(symnet.progress, "PROGRESS_AFTER_S", 0.05)
    monkeypatch.setattr(symnet.progress, "REDRAW_S", 0.02)


def test_progress_true_writes_a_progress_line_to_stderr(slow, capsys):
    d = symnet.derive(symnet.parse("x*exp(x)"), progress=True)
    err = capsys.readouterr().err
    assert "symnet: deriving … 0 s" in err
    f = symnet.compile(d, progress=True)
    assert "symnet: generating numpy code … 0 s" in capsys.readouterr().err
    assert f(2.0)[1] == pytest.approx(3 * 2.718281828459045**2)  # d/dx x·e^x = (1 + x)·e^x


@pytest.mark.parametrize("setting", [False, None])  # None: stderr is captured, not a terminal
def test_progress_false_or_unwatched_writes_nothing(slow, capsys, setting):
    d = symnet.derive(symnet.parse("x*exp(x)"), progress=setting)
    symnet.compile(d, progress=setting)
    assert capsys.readouterr().err == ""


def test_a_quick_call_shows_nothing_even_with_progress_true(capsys):
    d = symnet.derive(symnet.parse("x + 1"), progress=True)  # well under the 1 s delay
    assert d.gradients and capsys.readouterr().err == ""


def test_a_bad_progress_setting_is_one_clear_error():
    with pytest.raises(SymnetError, match="progress must be None"):
        symnet.derive(symnet.parse("x"), progress="yes")
    with pytest.raises(SymnetError, match="progress must be None"):
        symnet.compile(symnet.derive(symnet.parse("x")), progress=1)


def test_a_jupyter_kernel_counts_as_watched(monkeypatch):
    import sys
    import types

    class Shell:
        config = {"IPKernelApp": {}}

    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: Shell()))
    assert symnet.progress._in_jupyter()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert not symnet.progress._in_jupyter()
