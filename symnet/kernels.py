"""The committed generated kernels, loaded as modules.

``symnet codegen`` writes them under ``kernels/<backend>/`` in a checkout; an installed
symnet carries the same files as ``symnet/_kernels/<backend>/``. A test keeps them equal
to what the code generator emits from the derivations, so loading them costs nothing
and runs only generated code.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from .errors import InvalidNameError, SymnetError

__all__ = ["kernel_folder", "load_kernel"]

BACKENDS = ("numpy", "triton")
_MODULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")  # a committed module's name: no path, no dot

_HERE = Path(__file__).resolve().parent


def kernel_folder(backend: str = "numpy") -> Path:
    """Where the committed kernels of a backend are: the checkout's, else the installed copy."""
    for root in (_HERE.parent / "kernels", _HERE / "_kernels"):
        if (root / backend).is_dir():
            return root / backend
    raise SymnetError(f"no generated {backend} kernels found (looked in kernels/{backend} beside the "
                      f"package and in symnet/_kernels/{backend}); run `symnet codegen --backend {backend}`")


def load_kernel(module: str, backend: str = "numpy") -> ModuleType:
    """The generated module ``kernels/<backend>/<module>.py``, loaded once.

    Only the committed kernels load: ``module`` must be a plain identifier naming one of the
    files in the backend's kernel folder, so no path (``../x``, ``/tmp/y``) reaches the loader.

    Raises:
        SymnetError: an unknown backend, or no committed kernel of that name.
        InvalidNameError: ``module`` is not a plain identifier (a path, an empty string, not a str).
    """
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise SymnetError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if not isinstance(module, str) or not _MODULE.fullmatch(module):
        raise InvalidNameError(f"kernel module {module!r} is not a plain name; "
                               f"known: {', '.join(_committed(backend))}")
    return _load(module, backend)


def _committed(backend: str = "numpy") -> tuple[str, ...]:
    """The names of the committed kernel modules of a backend (the folder's listing)."""
    folder = kernel_folder(backend)
    return tuple(sorted(p.stem for p in folder.iterdir()
                        if p.suffix == ".py" and _MODULE.fullmatch(p.stem) and p.is_file()))


@lru_cache(maxsize=None)
def _load(module: str, backend: str) -> ModuleType:
    if module not in _committed(backend):
        raise SymnetError(f"no generated {backend} kernel {module!r}; known: {', '.join(_committed(backend))}")
    path = kernel_folder(backend) / f"{module}.py"
    name = f"symnet_kernels_{backend}_{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # importable by name: torch.compile looks functions up by their module
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    register = getattr(sys.modules.get("symnet.torch._ops"), "register_generated_vmap", None)
    if backend == "triton" and register is not None:  # the module's symnet:: ops get their vmap rules as it loads
        register(load=False)
    return loaded
