"""Running generated source as a module, in memory: the one place that does it (a leaf module,
so the compiler and the generators that run their own output, such as the update rules, need
not import each other)."""
from __future__ import annotations

import builtins
import linecache
import sys
from types import ModuleType

__all__ = ["_exec_module"]


def _exec_module(module_name: str, source: str, filename: str, *, register: bool = False) -> ModuleType:
    """A new module made by running ``source``, our generator's output (never a file's text).

    ``filename`` (of the form ``<...>``) names it in tracebacks. With ``register`` the module is
    kept in ``sys.modules`` and its source in ``linecache`` under ``filename`` with no modification
    time, so ``inspect.getsource`` (which Triton's ``@triton.jit`` calls, its interpreter even at
    the first launch) finds it and ``linecache.checkcache`` keeps it. Without, nothing outlives
    the module (the NumPy backend: the in-process cache's bound is the whole bound)."""
    module = ModuleType(module_name)
    module.__symnet_source__ = source
    code = builtins.compile(source, filename, "exec", dont_inherit=True)  # not this file's __future__ flags
    if register:
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        sys.modules[module_name] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - the code generator's own output
    except BaseException:
        if register and sys.modules.get(module_name) is module:
            del sys.modules[module_name]
        raise
    return module
