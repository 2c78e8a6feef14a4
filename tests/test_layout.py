"""The package layout: every subpackage is installed, and each folder's modules import."""
import importlib
import pathlib
import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    """A folder missing from ``packages`` is absent from a non-editable install (``pip install .``)."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "symnet").rglob("__init__.py")}
    assert found - listed == set()


def test_the_pipeline_folders_import():
    for name in ("symnet.codegen.ir", "symnet.codegen.rewrite", "symnet.codegen.families.rowwise",
                 "symnet.codegen.families.dense", "symnet.codegen.families.step",
                 "symnet.codegen.backends.numpy.printer", "symnet.codegen.backends.numpy.elementwise",
                 "symnet.codegen.backends.triton.printer", "symnet.codegen.backends.triton.elementwise",
                 "symnet.verify.kernels"):
        importlib.import_module(name)


# ------------------------------------------------------------------ code generation does not import the curriculum

def _imported_modules(path: pathlib.Path) -> set:
    """Every module a file imports, at module level or inside a function, relative imports
    resolved, and any module named as a string to importlib.import_module / __import__."""
    import ast
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [p for p in package if p != "__init__"]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                in ("import_module", "__import__"):
            found.add(node.args[0].value)
    return found


def test_no_module_of_code_generation_imports_the_curriculum():
    """Every module of symnet/codegen, imports inside functions included (the row-wise family
    read softmax cross-entropy from the curriculum in one)."""
    modules = sorted((ROOT / "symnet" / "codegen").rglob("*.py"))
    assert len(modules) > 15
    readers = {str(p.relative_to(ROOT)): sorted(m for m in _imported_modules(p) if "curriculum" in m)
               for p in modules}
    readers = {p: m for p, m in readers.items() if m}
    assert not readers, f"modules of symnet/codegen importing the curriculum: {readers}"


def test_the_scan_sees_a_function_level_relative_import(tmp_path):
    """The scan can fail: the import the row-wise family had, inside a function."""
    folder = ROOT / "symnet" / "codegen" / "families"
    probe = folder / "_probe_for_test_layout.py"
    try:
        probe.write_text("def f():\n    from ...curriculum import get\n    return get\n", encoding="utf-8")
        assert "symnet.curriculum" in _imported_modules(probe)
    finally:
        probe.unlink()


# generating every committed kernel loads no curriculum module: tests/test_codegen.py (its fresh process's
# generation serves the freshness and determinism checks too)


def test_the_row_family_s_softmax_cross_entropy_gradient_is_the_curriculum_s():
    """The row-wise family writes ∂C/∂z_j = p_j − δ_jr itself; the curriculum derives it (index-form
    engine) and checks it: the kernels built from either are the same."""
    from symnet.codegen.families.rowwise import row_modules
    from symnet.curriculum import get
    own, derived = row_modules(), row_modules(get("softmax-cross-entropy"))
    assert own.keys() == derived.keys()
    for name in own:
        assert own[name] == derived[name], name


# ------------------------------------------------------------------ every module imports first

_FIRST_IMPORT = r"""
import importlib, os, sys
import numpy, sympy, mpmath  # third-party libraries loaded once, before the fork
try:
    import torch
except ImportError:
    pass
# every other module outside symnet that symnet's modules import (triton, torch's submodules, sympy's
# codegen …), loaded once here too: found by a child that imports them all, so that each child below
# pays for symnet's own modules alone (84 children took 36 s of CPU, ~0.4 s each, most of it these)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    before = set(sys.modules)
    for name in sys.argv[1:]:
        try:
            importlib.import_module(name)
        except BaseException:
            pass
    os.write(w, "\n".join(sorted(m for m in set(sys.modules) - before
                                 if m.split(".")[0] != "symnet")).encode())
    os._exit(0)
os.close(w)
with os.fdopen(r, "rb") as f:
    others = f.read().decode().split()
os.waitpid(pid, 0)
for name in others:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
failed = []
for name in sys.argv[1:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a child with no symnet module loaded imports this one first
        os.close(r)
        try:
            importlib.import_module(name)
            msg = b""
        except BaseException as exc:
            msg = f"{name}: {type(exc).__name__}: {exc}".encode()
        os.write(w, msg[:2000])
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read()
    os.waitpid(pid, 0)
    if msg:
        failed.append(msg.decode())
print("\n".join(failed))
"""


def test_every_module_imports_first_in_a_fresh_process():
    """A circular import shows only when a module is the first of symnet's to be imported:
    ``symnet.stored`` (now ``symnet.codegen.stored``) imported ``symnet.codegen``, whose compiler imported ``symnet.stored``
    (a DDP worker and a fresh process loading an exported program imported it first; the
    whole suite, which imports ``symnet`` first, passed)."""
    import subprocess
    import sys
    names = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                   for p in (ROOT / "symnet").rglob("*.py")
                   if p.name != "__main__.py" and "kernels" not in p.relative_to(ROOT / "symnet").parts[:1])
    assert "symnet.codegen.stored" in names and len(names) > 40
    out = subprocess.run([sys.executable, "-c", _FIRST_IMPORT, *names], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "", out.stdout
