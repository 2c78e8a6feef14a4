"""Session 22's new user (h-fresh22): an engineer and a teacher with only the README.

Each test failed before its fix. What the user met:
- a compiled NumPy function given a Python int (``b=1``) said "must hold float32 or float64
  values, not int64" without saying what to write (the README says "write 1.0");
- a generated Triton launcher given a CPU tensor said "under TRITON_INTERPRET=1", not that the
  variable must be set before triton is imported (set later, it does nothing);
- a relative ``SYMNET_CACHE`` was resolved against the working directory of each call, so an
  ``os.chdir`` moved the cache folder mid-run (and a child process started after it used another);
- ``SYMNET_CACHE=/tmp`` (a folder others can write) was a warning when deriving or compiling for
  NumPy but a refusal when compiling for Triton: all now refuse, in one line (refusing is the
  safe side: symnet writes and reads back files there).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import symnet
import symnet.cache as cache
from symnet.errors import UnsafeCacheError

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
README_FLAT = " ".join(README.split())


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SYMNET_CACHE", str(folder))
    return folder


def test_a_python_int_input_says_write_1_0(private_cache):
    k = symnet.compile(symnet.derive("x*b"), progress=False)
    with pytest.raises(TypeError, match=r"argument 'b' must hold float32 or float64 values, not int64 "
                                        r"\(the Python int 1\): write 1\.0$"):
        k(x=np.linspace(-1.0, 1.0, 5), b=1)
    with pytest.raises(TypeError, match=r"not int64$"):  # integer arrays: the plain message
        k(x=np.arange(5), b=1.0)
    assert k(x=np.linspace(-1.0, 1.0, 5), b=1.0)[0].tolist() == np.linspace(-1.0, 1.0, 5).tolist()


def test_the_triton_launchers_cpu_error_says_to_set_the_variable_before_importing_triton(monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    from symnet.kernels import load_kernel

    sigmoid = load_kernel("sigmoid", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match=r"is on cpu; the Triton kernels run on a CUDA device \(or on the CPU: "
                                         r"set TRITON_INTERPRET=1 before triton is imported\)"):
        next(f for n, f in vars(sigmoid).items() if n.startswith("sigmoid") and callable(f))(
            torch.zeros(4, dtype=torch.float64))


def test_a_relative_cache_folder_is_resolved_once(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    name = f"fresh22-relative-{os.getpid()}-{tmp_path.name}"
    monkeypatch.chdir(first)
    monkeypatch.setenv("SYMNET_CACHE", name)
    assert cache.cache_root() == first / name
    assert os.environ["SYMNET_CACHE"] == str(first / name)  # a child process inherits the same folder
    monkeypatch.chdir(second)
    assert cache.cache_root() == first / name
    monkeypatch.setenv("SYMNET_CACHE", name)  # the same relative value set again: the same folder
    assert cache.cache_root() == first / name


def test_a_folder_others_can_write_is_refused_by_numpy_and_triton_alike(tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp
    monkeypatch.setenv("SYMNET_CACHE", str(shared))
    message = r"can be written by others \(mode 1777\)"
    with pytest.raises(UnsafeCacheError, match=message):
        symnet.compile(symnet.derive("x*softplus(x) + 0.0625"), progress=False)
    pytest.importorskip("triton")
    with pytest.raises(UnsafeCacheError, match=message):
        symnet.compile(symnet.derive("x*softplus(x) + 0.0625"), backend="triton", progress=False)
    from symnet import curriculum
    from symnet.cli import main

    curriculum.get.cache_clear()
    assert main(["derive", "sigmoid"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "can be written by others (mode 1777)" in captured.err
    assert list(shared.iterdir()) == []  # nothing written there


def test_the_readme_says_an_unsafe_cache_folder_is_refused_everywhere():
    assert "refused by deriving and by compiling for either backend alike" in README_FLAT
    assert "a relative `SYMNET_CACHE` is made absolute once" in README_FLAT


def test_the_readme_counts_the_helper_lines_of_its_example_as_they_are(private_cache):
    """The README said ~190 lines of double-word helpers; since the triple words and the tiers there are ~400."""
    import re

    import sympy as sp

    x, t = sp.symbols("x t", real=True)
    source = symnet.compile(symnet.derive((t - symnet.sigmoid(x))**2, wrt=[x]), progress=False).source
    lines = source.splitlines()
    helpers = [i for i, line in enumerate(lines) if re.match(r"def _(dw|tw|dwx)_", line)]
    span = next(i for i, line in enumerate(lines) if line.startswith("def kernel(")) - helpers[0]
    claimed = int(re.search(r"~(\d+) lines of double- and triple-word helpers", README).group(1))
    assert 0.75 * span <= claimed <= 1.25 * span, (claimed, span)


def test_the_docstrings_name_the_refusal_for_both_backends_and_symnet_get():
    assert "for either backend" in " ".join(symnet.compile.__doc__.split())
    assert "UnsafeCacheError" in symnet.get.__doc__


def test_the_readme_shows_how_a_text_formula_is_compiled():
    """symnet.compile takes a Derivation, not text: the README's domain-check sentence read as if it took text."""
    assert 'given as text (`symnet.compile(symnet.derive("…"))`' in README_FLAT
    with pytest.raises(symnet.SymnetError, match=r"symnet.derive\('x\*b'\) for a formula"):
        symnet.compile("x*b")


def test_a_number_given_to_a_triton_function_names_what_to_pass(private_cache, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # read at the call; the refusal comes before any launch
    k = symnet.compile(symnet.derive("x*b"), backend="triton", progress=False)
    x = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"argument 'b' must be a torch.Tensor, not float; for the number 0.5 pass "
                                        r"torch.full_like\(t, 0.5\), t another argument .*from_formula"):
        k(x=x, b=0.5)
    with pytest.raises(TypeError, match=r"not int; for the number 2 pass torch.full_like\(t, 2.0\)"):
        k(x=x, b=2)
    with pytest.raises(TypeError, match=r"must be a torch.Tensor, not list$"):
        k(x=x, b=[0.5])
