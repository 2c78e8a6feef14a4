"""``symnet.compile``: a derivation in, a generated, callable function out (cached)."""
from __future__ import annotations

import builtins
import functools
import inspect
from typing import Callable

from ..derivation import Derivation
from ..errors import SymnetError
from .kernel import Kernel, describe
from .numpy_backend import emit_module

__all__ = ["compile", "compile_step", "CompiledKernel"]

BACKENDS = ("numpy", "triton")
_CACHE: dict = {}


def _with_user_names(function: Callable, names: tuple) -> Callable:
    """``function`` called by the user's names: the generated code may give an input a local
    name of its own (``b1_`` for ``b1``, see kernel.local_names), so its leading parameters
    are renamed to ``names`` and arguments are bound to them in order."""
    signature = inspect.signature(function)
    params = list(signature.parameters.values())
    public = inspect.Signature([p.replace(name=n) for p, n in zip(params, names)] + params[len(names):])

    @functools.wraps(function)
    def call(*args, **kwargs):
        bound = public.bind(*args, **kwargs)  # TypeError naming a missing or unexpected argument
        return function(*bound.args, **bound.kwargs)

    call.__signature__ = public
    return call


class CompiledKernel:
    """A generated function with its ``source`` and ``kernel`` description, called with the
    names of the derivation's inputs (``k(x=..., b1=...)``, or positionally in ``inputs`` order)."""

    def __init__(self, function: Callable, source: str, kernel: Kernel):
        self.outputs = tuple(o.name for o in kernel.outputs)
        self.inputs = tuple(i.name for i in kernel.inputs)
        self._function = _with_user_names(function, self.inputs)
        self.source = source
        self.kernel = kernel
        self.__doc__ = function.__doc__
        self.__name__ = kernel.name
        self.__signature__ = inspect.signature(self._function)

    def __call__(self, /, *args, **kwargs):  # positional-only: an input may be named 'self'
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
    what = f"a derivation ('{derivation.name or derivation.title}')"
    if backend == "triton":
        compiled = _compile_triton(kernel, what)
    else:
        source = emit_module([kernel], what, "symnet.compile(derivation, backend='numpy')")
        namespace: dict = {"__name__": f"symnet_generated_{kernel.name}"}
        exec(builtins.compile(source, f"<symnet:{kernel.name}>", "exec"), namespace)  # noqa: S102 - our own output
        compiled = CompiledKernel(namespace[kernel.name], source, kernel)
    _CACHE[key] = compiled
    return compiled


def _compile_triton(kernel: Kernel, what: str) -> CompiledKernel:
    """Triton reads a kernel's source from its file, so the module is written to a cache
    folder (atomically, named by the hash of its source) and imported from there."""
    import hashlib

    from .triton_backend import emit_triton_module

    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError:
        raise SymnetError("backend='triton' needs torch and triton: pip install torch triton") from None
    draft = emit_triton_module([kernel], what, "symnet.compile(derivation, backend='triton')")
    digest = hashlib.sha256(draft.encode()).hexdigest()[:12]
    source = emit_triton_module([kernel], what, "symnet.compile(derivation, backend='triton')",
                                op_namespace="symnet_user", op_suffix=f"_{digest}")
    module = _load_module(f"{kernel.name}_{digest}", source)
    compiled = CompiledKernel(getattr(module, kernel.name), source, kernel)
    value = getattr(module, f"{kernel.name}_value", None)  # differentiable, a torch custom op
    compiled.value = value and _with_user_names(value, compiled.inputs)
    compiled.module = module
    return compiled


def _load_module(name: str, source: str):
    """Triton reads a kernel's source from its file: write the module to the cache folder
    ($SYMNET_CACHE, else a per-user temporary folder) atomically, then import it by name."""
    import importlib.util
    import os
    import sys
    import tempfile
    from pathlib import Path

    folder = Path(os.environ.get("SYMNET_CACHE") or Path(tempfile.gettempdir()) / f"symnet-{os.getuid()}") / "triton"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != source:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(f"symnet_user_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # importable by name, for torch.compile
    spec.loader.exec_module(module)
    return module


def compile_step(activations, loss: str = "ce"):
    """One generated Triton kernel for a whole SGD step of your own MLP: dense layers with the
    given activations (each "sigmoid", "tanh", "relu" or "linear"), then ``loss`` ("mse": squared
    error on the last layer's output; "ce": softmax cross-entropy on it).

    ``symnet.compile_step(("relu", "relu", "linear"))(x, t, W1, b1, W2, b2, W3, b3, order, lr, batch)``
    runs ceil(len(order)/batch) steps in one launch, updating the weights in place, and returns
    each step's loss. The function's ``.source`` is the generated module.
    """
    import hashlib

    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError:
        raise SymnetError("compile_step needs torch and triton: pip install torch triton") from None
    from .train_step import mlp_step
    from .triton_train import emit_triton_train_module

    key = ("step", tuple(activations), loss)
    if key in _CACHE:
        return _CACHE[key]
    step = mlp_step(activations, loss)
    source = emit_triton_train_module([step], "the derivations of the dense layers and the loss: a whole SGD step",
                                      f"symnet.compile_step({tuple(activations)!r}, {loss!r})")
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    function = getattr(_load_module(f"{step.name}_{digest}", source), step.name)
    function.source = source
    _CACHE[key] = function
    return function
