"""The committed generated kernels, loaded as modules.

``symnet codegen`` writes them under ``kernels/<backend>/`` in a checkout; an installed
symnet carries the same files as ``symnet/_kernels/<backend>/``. A test keeps them equal
to what the code generator emits from the derivations, so loading them costs nothing
and runs only generated code.
"""
from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from .errors import SymnetError

__all__ = ["kernel_folder", "load_kernel"]

_HERE = Path(__file__).resolve().parent


def kernel_folder(backend: str = "numpy") -> Path:
    """Where the committed kernels of a backend are: the checkout's, else the installed copy."""
    for root in (_HERE.parent / "kernels", _HERE / "_kernels"):
        if (root / backend).is_dir():
            return root / backend
    raise SymnetError(f"no generated {backend} kernels found (looked in kernels/{backend} beside the "
                      f"package and in symnet/_kernels/{backend}); run `symnet codegen --backend {backend}`")


@lru_cache(maxsize=None)
def load_kernel(module: str, backend: str = "numpy") -> ModuleType:
    """The generated module ``kernels/<backend>/<module>.py``, loaded once."""
    path = kernel_folder(backend) / f"{module}.py"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.py") if not p.name.startswith("_"))
        raise SymnetError(f"no generated {backend} kernel {module!r}; known: {', '.join(known)}")
    name = f"symnet_kernels_{backend}_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # importable by name: torch.compile looks functions up by their module
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded
