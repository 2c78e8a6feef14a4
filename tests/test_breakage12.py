"""Faults found by h-break12 (session 12), each with the test that failed before its fix.

The kernel and derivation disk caches (``symnet/codegen/stored.py``, ``symnet/cache.py``), progress
output, the formula parser's refusals and the :mod:`symnet.torch` ops under torch's transforms.
Every cache test runs in a private ``SYMNET_CACHE`` folder of its own.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.codegen import compiler, stored

x = sp.Symbol("x", real=True)


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """A fresh private cache folder, and nothing compiled in this process."""
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SYMNET_NO_DISK_CACHE", raising=False)
    compiler._CACHE.clear()
    yield tmp_path / "cache"
    compiler._CACHE.clear()


# ---------------------------------------------------------------- a stored file answers only its own key

def test_a_stored_kernel_of_another_formula_is_never_used(cache):
    """Fault: the kernel file of x² copied under the name of x³'s (a valid digest: it covered the
    body only) was used for x³, whose compiled function then returned 4 at x = 2 (silent wrong
    answer). Now the file's name is sealed into its digest: the copy is ignored and x³ built."""
    square, cube = symnet.derive(x**2, progress=False), symnet.derive(x**3, progress=False)
    symnet.compile(square, progress=False)
    folder = cache / stored.FOLDER
    (square_file,) = folder.iterdir()
    (folder / stored._filename(cube, None, True, True)).write_bytes(square_file.read_bytes())
    compiler._CACHE.clear()
    value, slope = symnet.compile(cube, progress=False)(np.array([2.0]))
    assert value[0] == 8.0 and slope[0] == 12.0  # x³ and 3x², not x² and 2x


def test_a_stored_derivation_of_another_key_is_never_used(cache):
    """Fault: the derivation kept for one key (leaky_relu at slope 0.01, say) copied under another
    key's name (slope 0.2: the same op name) was returned for it. Now it is built afresh."""
    a = symnet.derive(x**2, wrt=[x], progress=False)
    b = symnet.derive(x**3, wrt=[x], progress=False)
    assert stored.stored_derivation("op a", lambda: a) is a
    folder = cache / stored.FOLDER
    (a_file,) = folder.iterdir()
    b_name = a_file.name.replace(a_file.name.split("-")[0], hashlib.sha256(b"op b").hexdigest()[:32])
    (folder / b_name).write_bytes(a_file.read_bytes())
    got = stored.stored_derivation("op b", lambda: b)
    assert got.gradients[x] == 3 * x**2


@pytest.mark.parametrize("folder, suffixes, mine", [
    ("derivations", (".txt", ".pickle"), ["my notes.txt", "results.pickle", "run-2.txt"]),
    ("kernels", (".kernel", ".derivation"), ["experiment.derivation", "a-b.kernel"]),
])
def test_files_symnet_did_not_write_survive_a_save_in_its_folder(cache, monkeypatch, folder, suffixes, mine):
    """Fault: a save deleted every file ending in the folder's suffixes whose name lacked the current
    key: with ``SYMNET_CACHE`` set to a folder of the user's, ``derivations/my notes.txt`` was gone
    after the first ``symnet derive NAME``. Now only files named as symnet names them
    (``<what>-<version>-<20 hex>…``) are deleted (those of other keys still are), and the bounded
    eviction likewise."""
    from symnet import cache as disk

    place = cache / folder
    place.mkdir(parents=True, mode=0o700)
    cache.chmod(0o700)
    for name in mine:
        (place / name).write_text("the user's own")
    stale = place / f"old-0.0.1-{'0' * 20}{suffixes[0]}"
    stale.write_text("symnet's, of another key")
    monkeypatch.setattr(disk, "MAX_DATA_FILES", 1)  # the bounded eviction runs too (a data folder's bound)
    disk.save(f"new-{disk.cache_key()}{suffixes[0]}", b"data", folder, suffixes)
    assert all((place / name).read_text() == "the user's own" for name in mine)
    assert not stale.exists() and (place / f"new-{disk.cache_key()}{suffixes[0]}").exists()


# ---------------------------------------------------------------- progress output never fails the work

_WITHOUT_STDERR = """
import sys, time
import symnet.progress
{damage}
with symnet.progress.progress("work", after=0.05, every=0.05):
    time.sleep(0.3)
print("done")
"""


@pytest.mark.parametrize("damage", ["sys.stderr = None", "sys.stderr.close()"])
def test_a_progress_line_without_a_usable_stderr_neither_hangs_nor_fails(damage):
    """Fault: with ``SYMNET_PROGRESS=1`` and ``sys.stderr`` None (pythonw, a service started without
    one), tqdm deadlocked on its own lock when the line closed: the process hung forever after its
    work was done; with stderr closed (a daemon), 'ValueError: I/O operation on closed file.' came
    out of the finished work. Now nothing is drawn and the work's result stands."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SYMNET_PROGRESS": "1"}
    run = subprocess.run([sys.executable, "-c", _WITHOUT_STDERR.format(damage=damage)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout == "done\n", run.stderr[-2000:]


# ---------------------------------------------------------------- operators a formula does not take

@pytest.mark.parametrize("formula, operator", [("x @ y", "@"), ("x // y", "//"), ("x % 2", "%"), ("~x", "~"),
                                               ("x & y", "&"), ("not x", "not")])
def test_an_operator_a_formula_does_not_take_is_named_with_those_it_does(formula, operator):
    """Fault: ``symnet.derive("x @ y")`` (and ``symnet.compile`` of it) said 'unsupported syntax: BinOp
    is not allowed in a formula', an AST class name, neither the operator nor what a formula
    takes. Now the operator is named, with + - * / **; a matrix product is said not to be elementwise."""
    with pytest.raises(symnet.ParseError) as caught:
        symnet.derive(formula, progress=False)
    message = str(caught.value)
    assert f"'{operator}'" in message and "+ - * / **" in message and "BinOp" not in message
    assert "\n" not in message
    if operator == "@":
        assert "matrix product" in message and "elementwise" in message


# ---------------------------------------------------------------- two devices under torch.compile

@pytest.mark.parametrize("call, other", [
    ("mse_loss", lambda z, y: z.to("meta")),
    ("cross_entropy", lambda z, y: y.to("meta")),
])
def test_tensors_on_two_devices_are_refused_under_torch_compile(call, other):
    """Fault: the check that a symnet.torch op's tensors share a device was skipped while torch.compile
    traced (Dynamo cannot iterate a schema): ``torch.compile(mse_loss)(z, z.to("meta"))`` returned
    uninitialised memory (6.8e-310) as the loss, ``cross_entropy`` likewise. Now the ops' fake kernels,
    which torch.compile runs while tracing, check it: compiling refuses, with symnet's line inside."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    import os

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    g = torch.Generator().manual_seed(12)
    z, y = torch.randn(5, 7, dtype=torch.float64, generator=g), torch.randint(0, 7, (5,), generator=g)
    fn = getattr(st.functional, call)
    torch._dynamo.reset()
    with pytest.raises(Exception, match=r"is on meta but .* is on cpu; put the tensors on one device"):
        torch.compile(fn, backend="eager", fullgraph=True)(z, other(z, y))
    torch._dynamo.reset()
    same = torch.compile(fn, backend="eager", fullgraph=True)(z, y if call == "cross_entropy" else z + 1)
    want = torch.nn.functional.cross_entropy(z, y) if call == "cross_entropy" else torch.tensor(1.0, dtype=torch.float64)
    torch.testing.assert_close(same, want)
