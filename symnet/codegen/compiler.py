"""``symnet.compile``: a derivation in, a generated, callable function out (cached)."""
from __future__ import annotations

import builtins
from typing import Callable

from ..derivation import Derivation
from ..errors import SymnetError
from .kernel import Kernel, describe
from .numpy_backend import emit_module

__all__ = ["compile", "CompiledKernel"]

BACKENDS = ("numpy",)
_CACHE: dict = {}


class CompiledKernel:
    """A generated function with its ``source`` and ``kernel`` description."""

    def __init__(self, function: Callable, source: str, kernel: Kernel):
        self._function = function
        self.source = source
        self.kernel = kernel
        self.outputs = tuple(o.name for o in kernel.outputs)
        self.inputs = tuple(i.name for i in kernel.inputs)
        self.__doc__ = function.__doc__
        self.__name__ = kernel.name

    def __call__(self, *args, **kwargs):
        return self._function(*args, **kwargs)

    def __repr__(self):
        return f"<symnet kernel {self.kernel.name}({', '.join(self.inputs)}) -> ({', '.join(self.outputs)})>"


def compile(derivation: Derivation, backend: str = "numpy", *, value: bool = True,  # noqa: A001
            gradients: bool = True, name: str | None = None) -> CompiledKernel:
    """Generate and load a function computing the derivation's value and gradients.

    The source is emitted by the code generator from the derivation (see ``.source``);
    repeated calls with the same derivation return the cached function.
    """
    if backend not in BACKENDS:
        raise SymnetError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if not isinstance(derivation, Derivation):
        raise SymnetError(f"symnet.compile takes a Derivation (from symnet.derive), not {type(derivation).__name__}")
    key = (backend, derivation.definitions, derivation.wrt, derivation.outputs, value, gradients, name)
    try:
        return _CACHE[key]
    except KeyError:
        pass
    kernel = describe(derivation, name=name, value=value, gradients=gradients)
    source = emit_module([kernel], f"a derivation ('{derivation.name or derivation.title}')",
                         "symnet.compile(derivation, backend='numpy')")
    namespace: dict = {"__name__": f"symnet_generated_{kernel.name}"}
    exec(builtins.compile(source, f"<symnet:{kernel.name}>", "exec"), namespace)  # noqa: S102 - our own output
    compiled = CompiledKernel(namespace[kernel.name], source, kernel)
    _CACHE[key] = compiled
    return compiled

