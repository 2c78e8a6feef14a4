"""The slow first steps a user meets (session 11): the first call of a symnet.torch op derives,
stabilises and generates its kernel (seconds) with a progress line, and a later process reads the
stabilised kernel description from the disk cache instead of building it again
(``symnet.codegen.stored``); deriving a product of n variables is no longer n³ (SymPy's Leibniz rule,
which the derivation's checks called on the whole product for each variable)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp

import symnet
import symnet.progress
from symnet.codegen import stored
from symnet.codegen import compiler

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- progress

class _Terminal:
    """A stream that says it is a terminal and keeps what is written."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


@pytest.mark.parametrize("setting, shown", [("0", False), ("1", True), ("", True)])
def test_symnet_progress_decides_for_an_automatic_progress_line(monkeypatch, setting, shown):
    """SYMNET_PROGRESS=0 silences the line even on a terminal; 1 or unset shows it there."""
    import time

    monkeypatch.setenv("SYMNET_PROGRESS", setting)
    stream = _Terminal()
    with symnet.progress.progress("working", None, stream, after=0.0, every=0.01):
        time.sleep(0.05)
    assert ("symnet: working" in stream.text) is shown, stream.text


def test_symnet_progress_1_shows_the_line_where_no_terminal_watches(monkeypatch, capsys):
    import time

    monkeypatch.setenv("SYMNET_PROGRESS", "1")
    with symnet.progress.progress("working", after=0.0, every=0.01):
        time.sleep(0.05)
    assert "symnet: working" in capsys.readouterr().err


def _torch_ops():
    from conftest import torch_and_triton

    torch_and_triton()
    from symnet.torch import _ops

    return _ops


@pytest.mark.parametrize("setting, shown", [("1", True), ("0", False), (None, False)])
def test_the_first_use_of_a_torch_op_shows_its_build_on_stderr(monkeypatch, capsys, setting, shown):
    """The first use of an op's parameters derives and generates its kernel: a progress line on
    stderr (forced here by SYMNET_PROGRESS=1 and no delay), none with SYMNET_PROGRESS=0, none where
    stderr is not a terminal (captured)."""
    _ops = _torch_ops()
    if setting is None:
        monkeypatch.delenv("SYMNET_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("SYMNET_PROGRESS", setting)
    monkeypatch.setattr(symnet.progress, "PROGRESS_AFTER_S", 0.0)
    slope = {"1": 0.371, "0": 0.372, None: 0.373}[setting]  # parameters not built before in this process
    capsys.readouterr()
    _ops._POINTWISE["leaky_relu"].kernel((slope,))
    err = capsys.readouterr().err
    assert ("symnet: deriving and generating the leaky_relu kernel" in err) is shown, err


# ---------------------------------------------------------------- the kernel cache

_COUNTED = textwrap.dedent("""
    import hashlib, sys
    import symnet
    import symnet.codegen.ir as ir
    calls = [0]
    class Counted(ir.Stabiliser):  # each output the kernel stabilises (one Stabiliser per kernel)
        def __call__(self, *args, **kwargs):
            calls[0] += 1
            return super().__call__(*args, **kwargs)
    ir.Stabiliser = Counted
    d = symnet.derive(sys.argv[1], progress=False)
    k = symnet.compile(d, "numpy", progress=False)
    print(calls[0], hashlib.sha256(k.source.encode()).hexdigest(), ",".join(r.name for r in k.kernel.rules))
""")


def _compile_in_a_new_process(formula: str, cache: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SYMNET_NO_DISK_CACHE"}
    env.update(SYMNET_CACHE=str(cache), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _COUNTED, formula], env=env, capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    calls, digest, rules = out.stdout.split()
    return int(calls), digest, rules


def test_a_second_process_reads_the_stabilised_kernel_instead_of_building_it(tmp_path):
    """Counted, not timed: the first process stabilises the outputs (value and gradient), the second
    none; both generate the same source with the same rules (softplus fires)."""
    first = _compile_in_a_new_process("log(1 + exp(x))", tmp_path)
    second = _compile_in_a_new_process("log(1 + exp(x))", tmp_path)
    assert first[0] >= 2 and second[0] == 0, (first, second)
    assert first[1:] == second[1:] and "softplus" in first[2]
    files = list((tmp_path / "kernels").iterdir())
    assert len(files) == 1 and files[0].suffix == ".kernel"
    assert (tmp_path / "kernels").stat().st_mode & 0o077 == 0  # the private folder of symnet.cache


_OP_COUNTED = textwrap.dedent("""
    import sys
    import symnet.engine, symnet.codegen.ir as ir
    calls = [0, 0]
    real_derive = symnet.engine.derive
    def derive(*args, **kwargs):
        calls[0] += 1
        return real_derive(*args, **kwargs)
    class Counted(ir.Stabiliser):
        def __call__(self, *args, **kwargs):
            calls[1] += 1
            return super().__call__(*args, **kwargs)
    symnet.engine.derive, ir.Stabiliser = derive, Counted
    import torch
    from symnet.torch import _ops
    k = _ops._POINTWISE["leaky_relu"].kernel((0.3125,))
    y = k(x=torch.tensor([-2.0, 3.0]))
    print(calls[0], calls[1], y[0].tolist())
""")


def test_a_second_process_neither_derives_nor_stabilises_a_torch_op(tmp_path):
    """The first use of a symnet.torch op's parameters in a process derives its registry formula and
    stabilises it; a second process reads both from the disk cache (counted: no derive, no stabilise)
    and computes the same values."""
    _torch_ops()  # skips where torch or triton is missing; TRITON_INTERPRET=1 without a GPU
    env = {k: v for k, v in os.environ.items() if k != "SYMNET_NO_DISK_CACHE"}
    env.update(SYMNET_CACHE=str(tmp_path), PYTHONPATH=str(ROOT))
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _OP_COUNTED], env=env, capture_output=True, text=True,
                             timeout=600, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        runs.append(out.stdout.strip().split(maxsplit=2))
    (derives, stabilises, values), again = runs
    assert int(derives) >= 1 and int(stabilises) >= 2, runs
    assert again == ["0", "0", values], runs
    assert values == "[-0.625, 3.0]"  # leaky_relu(x, 0.3125) = x for x > 0, 0.3125·x below


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    monkeypatch.delenv("SYMNET_NO_DISK_CACHE", raising=False)
    return tmp_path / "kernels"


def _count_stabilise(monkeypatch):
    from symnet.codegen import ir

    calls = [0]
    class Counted(ir.Stabiliser):  # each output a kernel stabilises (one Stabiliser per kernel)
        def __call__(self, *args, **kwargs):
            calls[0] += 1
            return super().__call__(*args, **kwargs)

    monkeypatch.setattr(ir, "Stabiliser", Counted)
    return calls


def _fresh_compile(formula: str):
    """symnet.compile of ``formula`` as a new process would run it: nothing in the in-memory cache."""
    d = symnet.derive(formula, progress=False)
    compiler._CACHE.clear()
    return symnet.compile(d, progress=False)


def _plant(path: Path, body: bytes, header: bytes | None = None) -> None:
    if header is None:  # as symnet seals it: a correct digest, so the loader itself must refuse the body
        from symnet.cache import sealed

        path.write_bytes(sealed(stored._HEADER, path.name, body))
        return
    path.write_bytes(header + b"\n" + body)


@pytest.mark.parametrize("damage", ["garbled", "truncated", "empty", "foreign pickle", "other class"])
def test_a_damaged_or_foreign_cache_file_is_ignored_and_rebuilt(cache, monkeypatch, damage):
    """A file whose digest does not match (garbled, truncated, empty), or whose digest matches but
    whose pickle names anything but the kernel's rebuilders (os.system; a Derivation where a Kernel
    belongs), is ignored: the kernel is built again, the same, and written over the file; nothing
    in the file is run."""
    import pickle

    calls = _count_stabilise(monkeypatch)
    formula = "log(1 + exp(3*x))"
    good = _fresh_compile(formula)
    (path,) = cache.iterdir()
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    marker = Path(str(cache) + "-ran")
    if damage == "garbled":
        path.write_bytes(header + b"\n" + body[:40] + bytes([body[40] ^ 0xFF]) + body[41:])
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "foreign pickle":  # a correct digest over a pickle that would run a command

        class Run:
            def __reduce__(self):
                return os.system, (f"touch {marker}",)

        _plant(path, pickle.dumps(Run()))
    else:
        from symnet import pickling as _store

        _plant(path, _store.dumps(symnet.derive("x*y", progress=False)))
    calls[0] = 0
    again = _fresh_compile(formula)
    assert calls[0] >= 2, "the damaged file was used"
    assert again.source == good.source and not marker.exists()
    from symnet import pickling as _store

    kept = stored._load(path.name)  # written over with the kernel again
    assert kept is not None and _store.same(kept, good.kernel)


def test_the_cache_file_is_written_atomically(cache, monkeypatch):
    """A write that fails at the rename (a crash, a full disk) leaves no file under the kernel's name
    and no temporary file: the next process builds the kernel again; the call itself succeeds."""
    import symnet.cache

    real_replace = os.replace

    def refused(src, dst, *args, **kwargs):
        if str(dst).endswith(stored._SUFFIX):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(symnet.cache.os, "replace", refused)
    with pytest.warns(RuntimeWarning, match="could not write"):
        k = _fresh_compile("log(1 + exp(5*x))")
    assert k(x=1.0)[0] == pytest.approx(float(sp.log(1 + sp.exp(5))))
    assert list(cache.iterdir()) == []


def test_symnet_no_disk_cache_turns_the_kernel_cache_off(cache, monkeypatch):
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")
    _fresh_compile("log(1 + exp(7*x))")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_widened_node_comes_back_from_the_cache_as_the_same_node(cache, monkeypatch):
    """Widened nodes (float64 subexpressions) have a class of their own made at run time: stored by
    their body and rebuilt through rewrite.widen, the kernel comes back exactly (log-cosh widens)."""
    calls = _count_stabilise(monkeypatch)
    first = _fresh_compile("log(cosh(x - t))")
    assert "widen" in [r.name for r in first.kernel.rules]
    calls[0] = 0
    second = _fresh_compile("log(cosh(x - t))")
    assert calls[0] == 0 and second.source == first.source


# ---------------------------------------------------------------- a product of n variables

def _derivatives_made(n: int, monkeypatch) -> int:
    """How many SymPy Derivative objects deriving x1·…·xn makes (SymPy's diff makes one per factor
    it differentiates)."""
    made = [0]
    real = sp.Derivative.__new__

    def counted(cls, *args, **kwargs):
        made[0] += 1
        return real(cls, *args, **kwargs)

    xs = sp.symbols(f"p{n}_1:{n + 1}", real=True)  # fresh names: SymPy's caches do not carry over
    with monkeypatch.context() as m:
        m.setattr(sp.Derivative, "__new__", counted)
        d = symnet.derive(sp.Mul(*xs), progress=False)
    assert d.gradients[xs[0]] == sp.Mul(*xs[1:])
    return made[0]


def test_deriving_a_product_of_n_variables_differentiates_linearly_many_factors(monkeypatch):
    """Counted, not timed: the derivation's checks called SymPy's diff on the whole product once per
    variable (three times), and SymPy's Leibniz rule differentiates each of the n factors for each of
    n terms: n² Derivatives a check, n³ in all (n = 200: 385 s). Taking the factors free of the
    variable out first (engine.sympy_diff), doubling n about doubles the count (it was 8×)."""
    small, large = _derivatives_made(20, monkeypatch), _derivatives_made(40, monkeypatch)
    assert large <= 3 * small, (small, large)


@pytest.mark.parametrize("expr", ["3*x*y*sin(x)*exp(y)", "x**2*y*z/(1 + x)", "2*w*x", "x*y", "sin(x)", "y*z"])
def test_sympy_diff_is_sympys_diff(expr):
    from symnet.engine import sympy_diff

    e = sp.sympify(expr)
    for v in sorted(e.free_symbols, key=str) + [sp.Symbol("q")]:
        assert sp.simplify(sympy_diff(e, v) - sp.diff(e, v)) == 0
