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
                 "symnet.codegen.backends.triton.elementwise", "symnet.verify.kernels"):
        importlib.import_module(name)
