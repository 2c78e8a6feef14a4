"""Compile caches and module loading under attack: a cache folder planted by another user,
left writable, or swapped for a symbolic link is refused and nothing in it runs; a planted or
corrupt file where a generated module's copy goes never runs and breaks nothing; the cache
folder and the in-process cache stay bounded; names pasted into generated code and module
names handed to ``load_kernel`` are refused unless they are plain identifiers.

The tests run as root where they can (CI containers do), so a folder can really belong to
another uid; elsewhere those cases skip and the mode and symbolic-link cases still run. The
Triton cases run under Triton's interpreter (TRITON_INTERPRET=1) without a GPU, at tiny sizes.
"""
from __future__ import annotations

import importlib.util
import inspect
import linecache
import os
import stat
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import SymnetError, sigmoid
from symnet.codegen import compiler
from symnet.errors import InvalidNameError, UnsafeCacheError
from symnet.kernels import kernel_folder, load_kernel
from conftest import triton_torch

x, w = sp.symbols("x w", real=True)
OTHER_UID = 54321  # a uid no test process runs as
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a folder to another uid")


triton_ready = triton_torch


def payload(marker: Path) -> str:
    """Python that leaves ``marker`` behind if it ever runs."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('the payload ran')\n"


def forget_compiled(module_name=None):
    """Make symnet generate and run the module again, as a new process would."""
    compiler._CACHE.clear()
    if module_name:
        sys.modules.pop(module_name, None)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    compiler._CACHE.clear()
    yield
    compiler._CACHE.clear()


def softplus_cubed():
    """f = log(1 + e^(w·x)) + σ(x)³ and its gradient, as symnet derives them."""
    return symnet.derive(sp.log(1 + sp.exp(w * x)) + sigmoid(x) ** 3, [x, w])


def torch_reference(torch, xs, ws):
    """The same f and ∂f/∂x, ∂f/∂w by torch.autograd in float64: independent of symnet."""
    a = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(ws, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional.softplus(b * a) + torch.sigmoid(a) ** 3
    dx, dw = torch.autograd.grad(f.sum(), (a, b))
    return f.detach().numpy(), dx.numpy(), dw.numpy()


def assert_runs_correctly(kernel, torch):
    xs, ws = [-3.0, -0.5, 0.0, 0.25, 2.0], [0.5, -1.0, 2.0, 0.0, 1.5]
    got = kernel(torch.tensor(ws, dtype=torch.float64), torch.tensor(xs, dtype=torch.float64))
    want = torch_reference(torch, xs, ws)
    by_name = dict(zip(kernel.outputs, got))
    for name, ref in zip(("f", "df_dx", "df_dw"), want):
        np.testing.assert_allclose(by_name[name].numpy(), ref, rtol=1e-12, atol=1e-14, err_msg=name)


# ------------------------------------------------------------------ the folder must be the user's alone

@as_root
@pytest.mark.parametrize("whose", ["root", "triton"])
def test_a_cache_folder_of_another_user_is_refused_and_its_payload_never_runs(tmp_path, whose):
    triton_ready()
    cache = tmp_path / "cache"
    (cache / "triton").mkdir(parents=True, mode=0o700)
    marker = tmp_path / "marker"
    planted = cache / "triton"
    # the attacker's module under every name the cache could use, and a __pycache__ entry for it
    for name in ("kernel.py", "__init__.py"):
        (planted / name).write_text(payload(marker))
    os.chown(cache if whose == "root" else planted, OTHER_UID, OTHER_UID)
    with pytest.raises(UnsafeCacheError, match=f"belongs to uid {OTHER_UID}, not to you") as refused:
        symnet.compile(softplus_cubed(), backend="triton")
    assert "\n" not in str(refused.value) and "SYMNET_CACHE" in str(refused.value)
    with pytest.raises(UnsafeCacheError, match=f"belongs to uid {OTHER_UID}"):
        symnet.compile_step(("relu", "linear"), "ce")
    assert not marker.exists()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722, 0o702])
def test_a_cache_folder_others_can_write_is_refused(tmp_path, mode):
    from symnet.cache import save_copy

    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, mode)
    with pytest.raises(UnsafeCacheError, match=f"can be written by others \\(mode {mode:04o}\\)"):
        save_copy("triton", "k.py", "x = 1\n")
    assert not (cache / "triton").exists()
    os.chmod(cache, 0o755)  # readable by others is fine: only writing is refused
    assert save_copy("triton", "k.py", "x = 1\n") == cache / "triton" / "k.py"


def test_symbolic_links_are_refused_at_the_folder_and_its_triton_subfolder(tmp_path):
    from symnet.cache import save_copy

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache = tmp_path / "cache"
    cache.symlink_to(elsewhere)
    with pytest.raises(UnsafeCacheError, match="is a symbolic link"):
        save_copy("triton", "k.py", "x = 1\n")
    cache.unlink()
    cache.mkdir(mode=0o700)
    (cache / "triton").symlink_to(elsewhere)
    with pytest.raises(UnsafeCacheError, match="triton is a symbolic link"):
        save_copy("triton", "k.py", "x = 1\n")
    assert list(elsewhere.iterdir()) == []  # nothing written through the link


def test_a_file_where_the_folder_should_be_is_refused(tmp_path):
    from symnet.cache import save_copy

    (tmp_path / "cache").write_text("not a folder")
    with pytest.raises(UnsafeCacheError, match="is not a folder"):
        save_copy("triton", "k.py", "x = 1\n")


def test_folders_symnet_creates_are_private_and_the_default_is_the_users_cache_folder(tmp_path, monkeypatch):
    import platformdirs

    from symnet.cache import cache_root, save_copy

    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "a" / "b" / "cache"))
    old = os.umask(0o022)
    try:
        path = save_copy("triton", "k.py", "x = 1\n")
        for folder in ("a", "a/b", "a/b/cache", "a/b/cache/triton"):
            assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700, folder
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # a file: the user's umask decides
        os.umask(0o077)
        assert stat.S_IMODE(save_copy("triton", "k2.py", "x = 2\n").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    monkeypatch.delenv("SYMNET_CACHE")
    assert cache_root() == Path(platformdirs.user_cache_dir("symnet")).absolute()


# ------------------------------------------------------------------ what runs is the source just generated

def test_a_planted_module_and_bytecode_at_the_exact_path_never_run(tmp_path, monkeypatch):
    """The attacker writes the exact source symnet will generate (so it is not rewritten) and
    a __pycache__ entry matching it that carries their payload: an import would trust it."""
    torch = triton_ready()
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "first"))
    k = symnet.compile(softplus_cubed(), backend="triton")
    name = k.module.__name__.removeprefix("symnet_user_")
    forget_compiled(k.module.__name__)

    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "triton"
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(tmp_path / "cache", 0o700)
    planted = folder / f"{name}.py"
    planted.write_text(k.source, encoding="utf-8")
    marker = tmp_path / "marker"
    st = planted.stat()
    code = compile(payload(marker) + k.source, str(planted), "exec")
    pyc = Path(importlib.util.cache_from_source(str(planted)))
    pyc.parent.mkdir()
    pyc.write_bytes(importlib._bootstrap_external._code_to_timestamp_pyc(code, int(st.st_mtime), st.st_size))

    again = symnet.compile(softplus_cubed(), backend="triton")
    assert_runs_correctly(again, torch)
    assert not marker.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["__pycache__", planted.name]  # none written by us


@pytest.mark.parametrize("corruption", ["invalid utf-8", "truncated", "payload", "folder", "fifo"])
def test_a_corrupt_or_planted_copy_is_not_executed_and_breaks_no_later_run(tmp_path, monkeypatch, corruption):
    torch = triton_ready()
    k = symnet.compile(softplus_cubed(), backend="triton")
    copy = tmp_path / "cache" / "triton" / f"{k.module.__name__.removeprefix('symnet_user_')}.py"
    assert copy.read_text(encoding="utf-8") == k.source
    marker = tmp_path / "marker"
    copy.unlink()
    if corruption == "invalid utf-8":
        copy.write_bytes(b"\xff\xfe\x00 not python \xed\xa0\x80")
    elif corruption == "truncated":
        copy.write_text(k.source[: len(k.source) // 2])
    elif corruption == "payload":
        copy.write_text(payload(marker) + k.source)
    elif corruption == "folder":
        copy.mkdir()
        (copy / "__init__.py").write_text(payload(marker))
    else:
        os.mkfifo(copy)
    for _ in range(2):  # this run and the next
        forget_compiled(k.module.__name__)
        with pytest.warns(RuntimeWarning, match="could not write") if corruption == "folder" else nullcontext():
            again = symnet.compile(softplus_cubed(), backend="triton")
        assert_runs_correctly(again, torch)
        assert not marker.exists()
    if corruption != "folder":
        assert copy.read_text(encoding="utf-8") == k.source  # the copy is repaired


def test_swapping_the_copy_after_compiling_changes_nothing_that_runs(tmp_path):
    """Under the interpreter Triton reads a kernel's source lazily, at its first launch: a module
    imported from the file would then read whatever replaced it. From memory, nothing does."""
    torch = triton_ready()
    k = symnet.compile(softplus_cubed(), backend="triton")
    copy = tmp_path / "cache" / "triton" / f"{k.module.__name__.removeprefix('symnet_user_')}.py"
    marker = tmp_path / "marker"
    lines = copy.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("def _kernel_kernel("))
    lines.insert(at + 1, f"    __import__('pathlib').Path({str(marker)!r}).write_text('ran')\n")
    del lines[at + 2]  # as many lines as before: every later def stays where it was
    copy.write_text("".join(lines), encoding="utf-8")
    linecache.checkcache()
    assert_runs_correctly(k, torch)
    assert not marker.exists()


def test_the_module_runs_from_memory_yet_inspect_and_triton_find_its_source():
    triton_ready()
    import triton

    k = symnet.compile(softplus_cubed(), backend="triton")
    module = k.module
    assert sys.modules[module.__name__] is module  # torch.compile looks functions up by module
    filename = inspect.unwrap(k._function).__code__.co_filename
    assert filename.startswith("<symnet:") and not os.path.exists(filename)
    cache = Path(os.environ["SYMNET_CACHE"])
    for attribute in ("__file__", "__cached__"):  # (Triton's interpreter adds its own to the globals)
        assert cache not in Path(getattr(module, attribute, None) or "/").parents
    linecache.checkcache()  # keeps the entry: it has no modification time
    assert inspect.getsource(k._function).startswith(f"def {k.kernel.name}(")
    jitted = module._kernel_kernel
    python_function = getattr(jitted, "fn", jitted)
    # the compiled (non-interpreter) JIT object reads the source the same way, at creation
    compiled_jit = triton.runtime.jit.JITFunction(python_function)
    assert compiled_jit.src.startswith("def _kernel_kernel(") and "tl.program_id" in compiled_jit.src
    assert "__pycache__" not in {p.name for p in (cache / "triton").iterdir()}


def test_compile_step_runs_from_memory_and_reuses_a_module_of_the_same_source(tmp_path):
    triton_ready()
    step = symnet.compile_step(("relu", "linear"), "ce")
    module = sys.modules[step.__module__]
    assert inspect.unwrap(step).__code__.co_filename.startswith("<symnet:")  # behind compile_step's checks
    copies = list((tmp_path / "cache" / "triton").glob("mlp_relu_linear_ce_*.py"))
    assert [c.read_text(encoding="utf-8") for c in copies] == [step.source]
    compiler._CACHE.clear()  # forgotten by the in-process cache, still the same module
    assert sys.modules[symnet.compile_step(("relu", "linear"), "ce").__module__] is module


# ------------------------------------------------------------------ bounded

def generated(body: str) -> str:
    """``body`` as a module symnet generated: only those are evicted (tests/test_breakage13.py)."""
    return '"""Generated by symnet from a test — do not edit."""\n' + body


def test_the_cache_folder_keeps_the_most_recently_used_copies(tmp_path, monkeypatch):
    from symnet import cache

    monkeypatch.setattr(cache, "MAX_FILES", 5)
    folder = tmp_path / "cache" / "triton"
    for i in range(12):
        cache.save_copy("triton", f"k{i}.py", generated(f"x = {i}\n"))
        os.utime(folder / f"k{i}.py", (1000 + i, 1000 + i))  # a clear order, whatever the clock's resolution
        assert len(list(folder.iterdir())) <= 5
    assert sorted(p.name for p in folder.iterdir()) == [f"k{i}.py" for i in (10, 11, 7, 8, 9)]
    cache.save_copy("triton", "k7.py", generated("x = 7\n"))  # used again: now the newest
    cache.save_copy("triton", "k12.py", generated("x = 12\n"))
    assert sorted(p.name for p in folder.iterdir()) == ["k10.py", "k11.py", "k12.py", "k7.py", "k9.py"]


def test_the_cache_folder_is_bounded_in_bytes_and_loses_stale_temporary_files(tmp_path, monkeypatch):
    from symnet import cache

    monkeypatch.setattr(cache, "MAX_BYTES", 3000)
    folder = tmp_path / "cache" / "triton"
    cache.save_copy("triton", "first.py", generated("#" * 940 + "\n"))
    os.utime(folder / "first.py", (1, 1))
    stale, fresh, other = folder / ".k.py.0123.tmp", folder / ".k.py.4567.tmp", folder / "notes.txt"
    for f in (stale, fresh, other):
        f.write_text("y" * 5000)
    os.utime(stale, (time.time() - 7200,) * 2)
    for i in range(6):
        cache.save_copy("triton", f"k{i}.py", generated("#" * 940 + "\n"))
        os.utime(folder / f"k{i}.py", (2000 + i, 2000 + i))
    copies = sorted(p.name for p in folder.glob("*.py"))
    assert copies == ["k3.py", "k4.py", "k5.py"]
    assert not stale.exists() and fresh.exists() and other.exists()  # others' files are left alone


def test_the_cache_folder_stays_bounded_when_compiling(tmp_path, monkeypatch):
    triton_ready()
    from symnet import cache

    monkeypatch.setattr(cache, "MAX_FILES", 2)
    for k in range(4):
        symnet.compile(symnet.derive(sigmoid(x) * (k + 2), [x]), backend="triton")
    assert len(list((tmp_path / "cache" / "triton").iterdir())) == 2


def test_the_in_process_cache_forgets_the_least_recently_used(monkeypatch):
    monkeypatch.setattr(compiler._CACHE, "size", 2)
    a, b, c = (symnet.derive(sigmoid(x) * k, [x]) for k in (2, 3, 5))
    ka = symnet.compile(a)
    kb = symnet.compile(b)
    assert symnet.compile(a) is ka  # a is now more recent than b
    symnet.compile(c)
    assert len(compiler._CACHE) == 2
    assert symnet.compile(a) is ka and symnet.compile(b) is not kb
    np.testing.assert_allclose(symnet.compile(b)(np.array([0.0]))[0], [1.5])  # 3σ(0)


# ------------------------------------------------------------------ names pasted into code, paths

BAD_NAMES = ["x; import os", "a\nb", "../x", "x.y", "", " x", "x ", "class", "None", "match", "1abc",
             "_private", "__import__", "print", "len", "é", "x" * 65, "kernel()\nimport os\ndef f"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_that_are_not_plain_identifiers_are_refused(name, tmp_path):
    with pytest.raises(InvalidNameError, match="name") as refused:
        symnet.compile(softplus_cubed(), name=name)
    assert "\n" not in str(refused.value).replace(repr(name), "")
    assert len(compiler._CACHE) == 0


@pytest.mark.parametrize("name", [5, None.__class__, b"abc"])
def test_names_that_are_not_strings_are_refused(name):
    with pytest.raises(InvalidNameError, match="must be a str"):
        symnet.compile(softplus_cubed(), name=name)


def test_a_name_the_numpy_module_uses_itself_is_refused():
    with pytest.raises(InvalidNameError, match="'np' is used by the generated module"):
        symnet.compile(softplus_cubed(), name="np")
    assert "def numpy_loss(" in symnet.compile(softplus_cubed(), name="numpy_loss").source


@pytest.mark.parametrize("name", ["torch", "triton", "tl", "os"])
def test_names_the_triton_module_uses_itself_are_refused(name):
    triton_ready()
    with pytest.raises(InvalidNameError, match="used by the generated module"):
        symnet.compile(softplus_cubed(), backend="triton", name=name)


def test_a_plain_name_names_the_function():
    k = symnet.compile(softplus_cubed(), name="my_loss2")
    assert k.__name__ == "my_loss2" and "def my_loss2(" in k.source
    f, dx, dw = k(np.array([0.5]), np.array([1.0]))  # (w, x)
    np.testing.assert_allclose(f, [np.log1p(np.exp(0.5)) + (1 / (1 + np.exp(-1.0))) ** 3], rtol=1e-14)


@pytest.mark.parametrize("module", ["../../x/y", "../numpy/dense", "/etc/passwd", "dense.py", "numpy.dense",
                                    "", "dense\n", "Dense ", "__init__", "_private", ".", ".."])
def test_load_kernel_refuses_paths_and_names_that_are_not_plain(module):
    with pytest.raises(InvalidNameError, match="is not a plain name; known: .*dense"):
        load_kernel(module)


def test_load_kernel_never_imports_a_file_outside_the_committed_kernels(tmp_path):
    marker = tmp_path / "marker"
    (tmp_path / "evil.py").write_text(payload(marker))
    for module in (str(tmp_path / "evil"), os.path.relpath(tmp_path / "evil", kernel_folder("numpy"))):
        with pytest.raises(SymnetError, match="is not a plain name"):
            load_kernel(module)
    with pytest.raises(SymnetError, match="no generated numpy kernel 'evil'"):
        load_kernel("evil")
    assert not marker.exists()


@pytest.mark.parametrize("backend", ["cuda", "../numpy", "numpy/../triton", "", None, "NUMPY"])
def test_load_kernel_refuses_unknown_backends(backend):
    with pytest.raises(SymnetError, match="unknown backend"):
        load_kernel("dense", backend)


def test_load_kernel_refuses_what_is_not_a_str():
    with pytest.raises(InvalidNameError, match="not a plain name"):
        load_kernel(["dense"])


def test_load_kernel_loads_a_committed_kernel_once_however_it_is_asked():
    assert load_kernel("sigmoid_mse") is load_kernel("sigmoid_mse", backend="numpy") is load_kernel(
        module="sigmoid_mse", backend="numpy")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_the_in_process_cache_was_locked_can_still_compile():
    """DataLoader workers and multiprocessing fork: a lock another thread held at that moment
    would stay held forever in the child."""
    d = symnet.derive(sigmoid(x) * 7, [x])
    with compiler._CACHE._lock:
        pid = os.fork()
        if pid == 0:  # the child: compile, and report by the exit status
            ok = False
            try:
                ok = symnet.compile(d)(np.array([0.0]))[0][0] == 3.5
            finally:
                os._exit(0 if ok else 1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung on the in-process cache's lock")
