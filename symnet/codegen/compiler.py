"""``symnet.compile``: a derivation in, a generated, callable function out (cached).

Generated modules run from the source just generated, in memory, never from a file; the
in-process cache keeps the :data:`MAX_COMPILED` most recently used functions.
"""
from __future__ import annotations

import builtins
import contextlib
import dis
import functools
import inspect
import keyword
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable
from types import ModuleType
from typing import Callable, ContextManager

from ..derivation import Derivation
from ..errors import InvalidNameError, LimitError, SymnetError
from ..progress import say
from .ir import Kernel
from .stored import described
from .modules import _exec_module
from .backends.numpy.elementwise import emit_module
from .backends.triton.interpreted import interpreted_launch

__all__ = ["compile", "compile_step", "CompiledKernel"]

BACKENDS = ("numpy", "triton")
MAX_COMPILED = 128
TRITON_MAX_INPUTS = 64  # a torch custom op's schema holds at most 64 arguments: the inputs of the value op
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class _LeastRecentlyUsed:
    """A dict bounded to ``size`` entries that forgets the least recently used one first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):  # a child forked while another thread held the lock
            os.register_at_fork(after_in_child=self._new_lock)

    def _new_lock(self) -> None:
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _LeastRecentlyUsed(MAX_COMPILED)


def _with_user_names(function: Callable, names: tuple, check: Callable | None = None) -> Callable:
    """``function`` called by the user's names: the generated code may give an input a local
    name of its own (``b1_`` for ``b1``, see kernel.local_names), so its leading parameters
    are renamed to ``names`` and arguments are bound to them in order; ``check(name, value)``,
    where given, sees each input first."""
    signature = inspect.signature(function)
    params = list(signature.parameters.values())
    public = inspect.Signature([p.replace(name=n) for p, n in zip(params, names)] + params[len(names):])

    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            bound = public.bind(*args, **kwargs)
        except TypeError as exc:  # name every unexpected argument too, and what the inputs are
            # those the message does not name already (Python names the first only; "got an unexpected
            # keyword argument 'z'; unexpected 'z'" said it twice)
            unexpected = [k for k in kwargs if k not in public.parameters and repr(k) not in str(exc)]
            also = f"; unexpected {', '.join(map(repr, unexpected))}" if unexpected else ""
            raise TypeError(f"{exc}{also} (the inputs are {', '.join(names)})") from None
        if check is not None:
            for name in names:
                if name in bound.arguments:
                    check(name, bound.arguments[name])
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
        if any(map(_transformed, args)) or any(map(_transformed, kwargs.values())):
            raise SymnetError(f"symnet kernel {self.kernel.name}: a plain generated function, not a torch op, so "
                              "torch.func transforms (vmap, grad, jvp) cannot pass through it; use "
                              "symnet.torch.from_formula(expr, inputs=[...]) for a differentiable, vmappable op")
        if not self._triton:
            return self._function(*args, **kwargs)
        # under TRITON_INTERPRET=1: quiet, triton.language patched once per launch, a progress line after a second
        with interpreted_launch(f"the kernel {self.kernel.name}"):
            return self._function(*args, **kwargs)

    def __repr__(self):
        return f"<symnet kernel {self.kernel.name}({', '.join(self.inputs)}) -> ({', '.join(self.outputs)})>"

    _triton = False  # a Triton module's function (launched in interpreted_launch)

    # how symnet.compile made it (set there): a pickle holds that, by value, and the other process compiles again
    _made_by: tuple | None = None

    def __reduce__(self):
        """Pickled by value: the derivation as :mod:`symnet.pickling` writes it (SymPy objects rebuilt exactly, by a
        loader that builds nothing else) and compile's options; unpickling compiles it again (from the disk cache
        where kept), so a kernel can go to another process (multiprocessing, joblib). Before, pickle raised
        "Can't pickle <function kernel>: import of module 'symnet_generated_kernel' failed"."""
        from .. import pickling

        if self._made_by is None:
            raise SymnetError(f"symnet kernel {self.kernel.name} cannot be pickled: it was not made by symnet.compile "
                              "from a derivation; pickle the derivation and compile it in the other process")
        derivation, backend, value, gradients, name = self._made_by
        try:
            stored = pickling.dumps(derivation)
        except pickling.UnfaithfulError as exc:
            raise SymnetError(f"symnet kernel {self.kernel.name} cannot be pickled: {exc}") from None
        return _compiled_again, (stored, backend, value, gradients, name)


def _compiled_again(stored: bytes, backend: str, value: bool, gradients: bool, name):
    """What a pickled :class:`CompiledKernel` unpickles to: its derivation read back by :func:`symnet.pickling.loads`
    (which refuses anything but a derivation) and compiled again, with the same options."""
    from .. import pickling

    return compile(pickling.loads(stored), backend, value=value, gradients=gradients, name=name)


def _transformed(value) -> bool:
    """Whether ``value`` is a tensor wrapped by a torch.func transform (vmap's BatchedTensor, grad's
    wrapper): the generated launchers read data pointers, which such a tensor does not have
    ("NotImplementedError: Cannot access storage of BatchedTensorImpl" from deep inside torch)."""
    torch = sys.modules.get("torch")
    return (torch is not None and isinstance(value, torch.Tensor)
            and torch._C._functorch.is_functorch_wrapped_tensor(value))


@contextlib.contextmanager
def _nested_too_deeply(derivation: Derivation):
    """A RecursionError while describing or printing a kernel as one line naming the formula (session 48, h-break48):
    some stability rules scale by a power of two one exact step at a time, a chain as long as the power, so
    symnet.compile("√(x² + y²)¹⁰¹") and ((x + y)¹⁸¹/(x·y)⁹⁰) raised a bare RecursionError from deep in SymPy (the
    command line's generic "needs more memory or recursion" line; symnet.torch.from_formula the traceback)."""
    try:
        yield
    except RecursionError:
        title = derivation.title or derivation.name or "the formula"
        title = title if len(title) <= 60 else title[:60] + "…"
        raise LimitError(f"cannot generate code for {title!r}: its stabilised form is nested more deeply than "
                         "Python's recursion limit (a large power is scaled one exact step at a time); "
                         "write it with a smaller power") from None


def compile(derivation: Derivation, backend: str = "numpy", *, value: bool = True,  # noqa: A001
            gradients: bool = True, name: str | None = None, limit: ContextManager | None = None) -> CompiledKernel:
    """Generate and load a function computing the derivation's value and gradients.

    The source is emitted by the code generator from the derivation (see ``.source``) and run
    from memory; repeated calls with the same derivation return the cached function (the
    :data:`MAX_COMPILED` most recently used are kept). ``name`` names the function; by default
    the derivation's name. With ``backend="triton"`` a copy of the module is written to
    symnet's cache folder for reading (see :mod:`symnet.cache`). The name of a row-wise
    function of :mod:`symnet.rowwise_registry` (``"cross_entropy"``, ``"logsumexp"`` …) instead
    of a derivation gives its generated module (:func:`symnet.rowwise_registry.compile_row`).

    ``limit``: a context manager entered around describing the kernel and printing (and running, for NumPy) its
    module: :func:`symnet.compile`'s time budget. Not around running a Triton module, which registers torch ops as
    it runs: cut half-way, the ops it had registered could not be registered again by the next attempt.

    Raises:
        SymnetError: an unknown backend, not a Derivation (nor a row-wise function's name), or a derivation that cannot be generated.
        InvalidNameError: ``name`` is not an ASCII identifier of at most 64 characters starting with
            a letter, or is a Python keyword or builtin, or a name the generated module uses itself.
        UnsafeCacheError: the cache folder (or its kernels/ or triton/ subfolder) is not the user's alone
            (another owner, writable by group or others, a symbolic link), for either backend.
        LimitError: the stabilised form is nested too deeply to describe or print (a large power).
    """
    if backend not in BACKENDS:
        raise SymnetError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if isinstance(derivation, str):  # a row-wise function of the row registry, by name: its module
        from ..rowwise_registry import compile_row
        return compile_row(derivation, backend)
    if not isinstance(derivation, Derivation):
        raise SymnetError(f"symnet.compile takes a Derivation (from symnet.derive), not {type(derivation).__name__}")
    if name is not None:
        _check_name(name)
    if backend == "triton" and len(derivation.inputs) > TRITON_MAX_INPUTS:
        # checked before generating: 400 inputs took 54 s to reach torch's "RuntimeError: The function schema has 400
        # arguments but this PyTorch build only supports 64" as the module registered its op (session 26, h-break26)
        raise SymnetError(f"backend='triton' takes at most {TRITON_MAX_INPUTS} inputs (its function is a torch custom op, "
                          f"whose schema holds at most 64 arguments); this formula has {len(derivation.inputs)}: "
                          "use backend='numpy', or fewer inputs")
    key = (backend, derivation.name, derivation.title, derivation.definitions, derivation.wrt, derivation.outputs,
           derivation.domains, value, gradients, name)
    compiled = _CACHE.get(key)
    if compiled is not None:
        return compiled
    if backend == "triton":
        _import_triton()  # (outside the limit: an import cut half-way is not undone)
    with contextlib.nullcontext() if limit is None else limit, _nested_too_deeply(derivation):
        kernel = described(derivation, name=name, value=value, gradients=gradients)  # from the disk cache if kept
        what = f"a derivation ('{derivation.name or derivation.title}')"
        say(f"printing the {'Triton' if backend == 'triton' else 'NumPy'} module")
        if backend == "triton":
            source, digest = _triton_source(kernel, what)
        else:
            source = emit_module([kernel], what, "symnet.compile(derivation, backend='numpy')")
            _check_bound_once(source, kernel.name)
            module = _exec_module(f"symnet_generated_{kernel.name}", source, f"<symnet:{kernel.name}>")
            compiled = CompiledKernel(getattr(module, kernel.name), source, kernel)
    if backend == "triton":
        compiled = _loaded_triton(kernel, source, digest)
    compiled._made_by = (derivation, backend, value, gradients, name)
    _CACHE.put(key, compiled)
    return compiled


def _check_name(name) -> None:
    """Refuse a kernel name that is not a plain identifier the generated module can define."""
    if not isinstance(name, str):
        raise InvalidNameError(f"name must be a str, not {type(name).__name__}")
    if not _NAME.fullmatch(name):
        raise InvalidNameError(f"the kernel name {name!r} is not a plain identifier: use ASCII letters, digits and '_', "
                               "starting with a letter, at most 64 characters")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name):
        raise InvalidNameError(f"the kernel name {name!r} is a Python keyword or builtin; choose another")


def _check_bound_once(source: str, name: str) -> None:
    """Refuse a kernel name that the generated module also binds for itself (``np``, ``torch``...): the names its
    top-level code stores (imports, definitions, assignments, at the top or inside an if/try/with/loop there), read
    from the bytecode of the module's own level. (ast.parse of the module took 13.7 CPU s of focal(focal(z, t), t)'s
    6 MB NumPy module, where compiling it takes 1.8: the same names in each of the 30 committed modules.)"""
    code = builtins.compile(source, "<symnet:check>", "exec", dont_inherit=True)
    bound = [i.argval for i in dis.get_instructions(code) if i.opname == "STORE_NAME"]
    if bound.count(name) != 1:
        raise InvalidNameError(f"the kernel name {name!r} is used by the generated module itself; choose another")


_DIGEST_PLACEHOLDER = "symnet_digest_placeholder"


def _import_triton() -> None:
    """Import torch, triton and the Triton printer, or refuse in one line. :func:`compile` calls it before entering its
    time limit: a limit that struck inside ``import torch`` left torch half-loaded in ``sys.modules``, and the next
    compile's import of it ended the process (a segmentation fault in torch/__init__.py; session 36, h-review36)."""
    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError:
        raise SymnetError("backend='triton' needs torch and triton: pip install torch triton") from None
    from .backends.triton import elementwise  # noqa: F401


def _triton_source(kernel: Kernel, what: str) -> tuple[str, str]:
    """The Triton module's source and its digest, which names its torch custom op (:func:`_loaded_triton`)."""
    import hashlib

    from .backends.triton.elementwise import emit_triton_module

    _import_triton()
    # emitted once (printing is most of a compile whose kernel description came from the disk cache):
    # with a placeholder where the op's name takes the digest of the module, then the digest put in.
    # Twice only where the placeholder could be the user's (a name or the formula holding it).
    regenerate = "symnet.compile(derivation, backend='triton')"
    users = " ".join([kernel.name, kernel.formula, *(i.name for i in kernel.inputs), *(o.name for o in kernel.outputs)])
    if _DIGEST_PLACEHOLDER not in users:
        template = emit_triton_module([kernel], what, regenerate, op_namespace="symnet_user",
                                      op_suffix=f"_{_DIGEST_PLACEHOLDER}")
        digest = hashlib.sha256(template.encode()).hexdigest()[:12]
        source = template.replace(_DIGEST_PLACEHOLDER, digest)
    else:
        draft = emit_triton_module([kernel], what, regenerate)
        digest = hashlib.sha256(draft.encode()).hexdigest()[:12]
        source = emit_triton_module([kernel], what, regenerate, op_namespace="symnet_user", op_suffix=f"_{digest}")
    _check_bound_once(source, kernel.name)
    return source, digest


def _loaded_triton(kernel: Kernel, source: str, digest: str) -> CompiledKernel:
    """The Triton module of :func:`_triton_source`, run from memory."""
    module = _load_module(f"{kernel.name}_{digest}", source)
    compiled = CompiledKernel(getattr(module, kernel.name), source, kernel)
    compiled._triton = True
    value = getattr(module, f"{kernel.name}_value", None)  # differentiable, a torch custom op
    compiled.value = value and _with_user_names(_launched(value, f"the kernel {kernel.name}"), compiled.inputs,
                                                _tensor_argument)
    if value is None:  # several outputs, or value=False: k.value was None, "'NoneType' object is not callable"
        compiled.value = _no_value_op(compiled)
    compiled.module = module
    return compiled


def _launched(function: Callable, label: str) -> Callable:
    """``function`` (a Triton module's ``value`` op) called in :func:`interpreted_launch`."""
    @functools.wraps(function)
    def launched(*args, **kwargs):
        with interpreted_launch(label):
            return function(*args, **kwargs)

    return launched


def _tensor_argument(name: str, x) -> None:
    """An argument of ``k.value`` that is not a tensor, refused in the line ``k(...)`` gives (the generated
    launcher's ``_tensors``). The op's schema refused it first, in five lines of torch's dispatcher
    ("Expected a value of type 'Tensor' for argument 'b' but instead found type 'float'. Position: 0 ...
    Cast error details: ..."; session 32's new user, ``k.value(x=x, b=4.0)``)."""
    import torch

    if isinstance(x, torch.Tensor) or x is None:  # None: the launcher's own line names it
        return
    hint = ""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        hint = (f"; for the number {x!r} pass torch.full_like(t, {float(x)!r}), t another argument "
                "(tensors of one shape and dtype), or use symnet.torch.from_formula, which takes numbers")
    raise TypeError(f"argument {name!r} must be a torch.Tensor, not {type(x).__name__}{hint}")


def _no_value_op(compiled: "CompiledKernel") -> Callable:
    """``k.value`` of a Triton function that has no differentiable op (made for one value output and its
    gradients): a function raising one line that says why and what to use (session 19's new user met
    "'NoneType' object is not callable" on a formula of two outputs)."""
    values = [o.name for o in compiled.kernel.outputs if not o.meaning.startswith("∂")]
    why = (f"this one has {len(values)} ({', '.join(values)})" if values else "this one was compiled with value=False")

    def value(*args, **kwargs):
        raise SymnetError(f"symnet kernel {compiled.kernel.name}: k.value, the differentiable op, is made for a "
                          f"formula of one output compiled with its value; {why}: call k(...) for the values and "
                          "gradients, or take one symnet.torch.from_formula(expr, inputs=[...]) per output")
    return value


def _check_interpreter_mode() -> None:
    """Raise one clear line where ``TRITON_INTERPRET=1`` was set after triton was imported.

    Triton reads the variable once, at import: the functions of ``triton.language`` written in
    Triton (``tl.zeros``, ``tl.sum``'s combiners, ...) were then made for compiled mode, and a
    kernel run by the interpreter fails deep inside it with "Cannot call @triton.jit'd outside
    of the scope of a kernel".
    """
    if os.environ.get("TRITON_INTERPRET") != "1" or "triton" not in sys.modules:
        return
    from triton.runtime.jit import JITFunction
    import triton.language as tl

    if isinstance(getattr(tl, "zeros", None), JITFunction):
        raise SymnetError("TRITON_INTERPRET=1 was set after triton was imported; triton reads it once, at "
                          "import: set it before the first 'import triton'")


def _load_module(name: str, source: str) -> ModuleType:
    """Run a generated Triton module from ``source`` itself, never from a file.

    A readable copy goes to the cache folder (:func:`symnet.cache.save_copy`, which refuses a
    folder that is not the user's alone), but what runs is ``source``, compiled in memory: a
    file another user planted, or a crash left corrupt, at the copy's path is never executed,
    and no ``__pycache__`` is read or written. Triton reads a kernel's source with
    ``inspect.getsource``, which asks ``linecache``: the source is registered there under a
    ``<symnet:...>`` filename, which linecache never looks up on disk. The module is kept in
    ``sys.modules`` (torch.compile looks functions up by module); a module already there from
    the same source (compiled before, then dropped from the in-process cache) is reused.
    """
    from ..cache import save_copy

    _check_interpreter_mode()
    module_name = f"symnet_user_{name}"
    save_copy("triton", f"{_file_stem(name)}.py", source)
    loaded = sys.modules.get(module_name)
    if loaded is not None and getattr(loaded, "__symnet_source__", None) == source:
        return loaded
    module = _exec_module(module_name, source, f"<symnet:{name}>", register=True)
    register = getattr(sys.modules.get("symnet.torch._ops"), "register_generated_vmap", None)
    if register is not None:  # a dense layer's new symnet:: ops get their vmap rules, as the committed ones
        register(load=False)
    return module


# A file name holds at most 255 bytes on common file systems: the step of a deep MLP is named after every
# layer ("mlp_relu_relu_…_ce", 5 bytes a layer), so its readable copy is named by a prefix and a hash.
_LONGEST_FILE_STEM = 120


def _file_stem(name: str) -> str:
    """``name``, or where it is longer than :data:`_LONGEST_FILE_STEM` its start and a hash of it."""
    if len(name) <= _LONGEST_FILE_STEM:
        return name
    import hashlib

    return f"{name[:_LONGEST_FILE_STEM - 13]}_{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def _most_layers() -> int:
    """How many dense layers the fused step can ever take: every layer keeps at least a 16 × 16 weight
    tile and 16 biases (sizes pad to powers of two, at least 16) in registers, MAX_PARAMS entries in all."""
    from .backends.triton.step import MAX_PARAMS

    return MAX_PARAMS // (16 * (16 + 1))


def compile_step(activations, loss: str = "ce", optimizer: str | None = None):
    """One generated Triton kernel for a whole SGD step of your own MLP: dense layers with the
    given activations (each "linear" or any activation of the function registry: "sigmoid",
    "tanh", "relu", "silu", "gelu", … — see :func:`symnet.registry.activation_names`), then
    ``loss``: "ce" (softmax cross-entropy on the last layer's outputs) or an elementwise loss of
    the registry of (prediction, target), summed over the outputs ("mse", "l1", "smooth_l1",
    "huber", "bce_logits", … — see :func:`symnet.codegen.families.step.loss_names`).

    ``symnet.compile_step(("relu", "relu", "linear"))(x, t, W1, b1, W2, b2, W3, b3, order, lr, batch)``
    runs ceil(len(order)/batch) steps in one launch, updating the weights in place, and returns
    each step's loss. The function's ``.source`` is the generated module; it runs from memory,
    and a copy is written to symnet's cache folder for reading (see :mod:`symnet.cache`).

    With ``optimizer`` ("sgd" with weight decay, "momentum" or "adam", each derived in
    :mod:`symnet.codegen.families.update_rules`) the kernel applies that update rule instead, its state
    kept in tensors the caller passes: ``f(x, t, W1, b1, …, order, lr, batch, state=[...],
    step0=..., <hyperparameters>)``; :class:`symnet.torch.optim.FusedStep` wraps it.

    Raises:
        SymnetError: torch or triton missing, an unknown activation, loss or optimizer, a loss
            that needs more inputs than the prediction and the target (gaussian_nll: a variance).
        UnsafeCacheError: the cache folder is not the user's alone.

    The returned function raises :class:`~symnet.errors.FusedStepError` (one line) for an lr that
    is NaN, infinite or negative, and for a parameter or state tensor sharing memory with another
    argument (:func:`check_step_arguments`), besides the generated launcher's own checks.
    """
    import hashlib

    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError:
        raise SymnetError("compile_step needs torch and triton: pip install torch triton") from None
    from .families.step import mlp_step
    from .backends.triton.step import emit_triton_train_module

    if isinstance(activations, str):  # compile_step("tanh"): not t, a, n, h (mlp_step's message)
        mlp_step(activations, loss)
    if not isinstance(activations, Iterable):  # compile_step(3): Python's "'int' object is not iterable" before
        raise SymnetError(f"compile_step takes a sequence of activation names, one per layer, such as "
                          f"('relu', 'linear'), not {type(activations).__name__}")
    activations = tuple(activations)
    if not all(isinstance(a, str) for a in activations) or not isinstance(loss, str):
        raise SymnetError("compile_step takes activation names and a loss name as strings")
    if len(activations) > _most_layers():  # 1,000 layers generated for over 5 minutes, then could never run
        raise SymnetError(f"compile_step: {len(activations)} layers do not fit the fused kernel, which keeps every "
                          f"parameter in registers (at least 16×16 + 16 padded entries a layer): it takes at most "
                          f"{_most_layers()} layers; use the per-layer kernels (symnet.torch.nn.Linear) instead")
    key = ("step", activations, loss) + ((optimizer,) if optimizer is not None else ())
    function = _CACHE.get(key)
    if function is not None:
        return function
    step = mlp_step(activations, loss)
    if optimizer is None:
        source = emit_triton_train_module([step], "the derivations of the dense layers and the loss: a whole SGD step",
                                          f"symnet.compile_step({activations!r}, {loss!r})")
    else:
        source = _step_with_rule(step, activations, loss, optimizer)
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    name = step.name if optimizer is None else f"{step.name}_{optimizer}"
    function = _guarded_step(getattr(_load_module(f"{name}_{digest}", source), name))
    function.source = source
    _CACHE.put(key, function)
    return function


def compile_elman_step(optimizer: str):
    """The fused Elman step (``kernels/triton/elman_train.py``'s ``elman_sigmoid_ce``) applying the
    update rule ``optimizer`` ("sgd" with weight decay, "momentum" or "adam") instead of plain SGD:
    ``f(x, r, Wi, Wh, Wo, order, lr, batch, delay, *, state, step0, <hyperparameters>)``; see
    :func:`compile_step` for ``state`` and ``step0``.

    Raises:
        SymnetError: torch or triton missing, an unknown optimizer.
        UnsafeCacheError: the cache folder is not the user's alone.

    The returned function raises :class:`~symnet.errors.FusedStepError` as :func:`compile_step`'s.
    """
    import dataclasses
    import hashlib

    try:
        import torch  # noqa: F401
        import triton  # noqa: F401
    except ImportError:
        raise SymnetError("compile_elman_step needs torch and triton: pip install torch triton") from None
    from .backends.triton.step import emit_triton_train_module
    from .families.step import elman_step
    from .families.update_rules import update_rule

    if not isinstance(optimizer, str):
        raise SymnetError(f"optimizer must be a name, not {type(optimizer).__name__}")
    key = ("elman", optimizer)
    function = _CACHE.get(key)
    if function is not None:
        return function
    rule = update_rule(optimizer)
    step = elman_step()
    head = step.formula.rsplit(";", 1)[0]
    step = dataclasses.replace(step, name=f"{step.name}_{rule.name}", formula=f"{head}; {rule.title}")
    source = emit_triton_train_module([step], "the derivation of the Elman network ('rnn-bptt'), softmax "
                                      f"cross-entropy and the {rule.name} update rule: whole training steps with "
                                      "backpropagation through time",
                                      f"symnet.codegen.compiler.compile_elman_step({optimizer!r})", rule)
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    function = _guarded_step(getattr(_load_module(f"{step.name}_{digest}", source), step.name))
    function.source = source
    _CACHE.put(key, function)
    return function


_READ_ONLY = {"x", "t", "r", "order", "lr", "batch", "delay"}  # a step's arguments it does not write


def _guarded_step(function):
    """The generated step ``function`` behind the checks of :func:`check_step_arguments` (lr, and
    the tensors it writes in place sharing memory with another argument)."""
    signature = inspect.signature(function)
    written = [n for n, p in signature.parameters.items()
               if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and n not in _READ_ONLY]

    @functools.wraps(function)
    def step(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return function(*args, **kwargs)  # the generated function's own error
        check_step_arguments(function.__name__, bound.arguments, written)
        return function(*args, **kwargs)

    return step


def check_step_arguments(name: str, arguments: dict, written: list[str]) -> None:
    """Refuse, in one line, what the generated step kernel would take silently: a learning rate
    that is NaN, infinite, negative or past float32 (a number, or with ``check`` a tensor of one
    per step: one synchronisation), and a tensor it updates in place (a parameter or a state
    tensor: momentum, Adam's m and v) that shares memory with another argument (the same tensor
    twice, a view of it, overlapping slices of one buffer): the kernel keeps each in registers and
    writes it back, so one of two updates of shared memory would be lost or mixed.

    Raises:
        FusedStepError: naming the argument(s).
    """
    import torch

    from ..errors import FusedStepError

    lr = arguments.get("lr")
    if isinstance(lr, torch.Tensor):
        if arguments.get("check", True) and lr.is_floating_point() and lr.numel():
            flat = lr.reshape(-1)  # a 0-d tensor too (its nonzero() has no index to name)
            bad = ~torch.isfinite(flat) | (flat < 0)
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                raise FusedStepError(f"{name}: lr{f'[{i}]' if lr.dim() else ''} is {float(flat[i])}; a learning "
                                     "rate must be a finite number ≥ 0")
    elif not isinstance(lr, bool) and hasattr(type(lr), "__float__"):
        if _complex_number(lr):  # numpy's complex scalars convert to float dropping the imaginary part
            raise FusedStepError(f"{name}: lr is {lr!r}; a learning rate must be a real number")
        try:
            value = float(lr)
        except (TypeError, ValueError, OverflowError) as exc:  # 10**400, a numpy array of several
            raise FusedStepError(f"{name}: lr {str(lr)[:60]} is not one float32 number ({exc})") from None
        if value != value or value in (float("inf"), float("-inf")) or value < 0 or value > 3.4028234663852886e38:
            raise FusedStepError(f"{name}: lr is {value}; a learning rate must be a finite number ≥ 0 "
                                 "(and fit a float32)")
    state = arguments.get("state")
    updated = [(n, arguments.get(n)) for n in written]
    if isinstance(state, (list, tuple)):
        updated += [(f"state[{i}]", s) for i, s in enumerate(state)]
    updated = [(n, t) for n, t in updated if isinstance(t, torch.Tensor)]
    others = [(n, t) for n, t in arguments.items() if n not in written and isinstance(t, torch.Tensor)]
    for i, (n, t) in enumerate(updated):
        for m, u in updated[i + 1:] + others:
            if _share_memory(t, u):
                raise FusedStepError(f"{name}: {n} and {m} share memory; the step updates {n} in place, so "
                                     "pass tensors of their own (e.g. .clone())")


def _complex_number(value) -> bool:
    """Whether ``value`` is a complex number (Python's, numpy's complex scalars and arrays)."""
    import numbers

    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return True
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return kind == "c"


def _share_memory(a, b) -> bool:
    """Whether two tensors' spans of bytes in one storage intersect (a strided view's span runs
    from its first element to its last)."""
    if not a.numel() or not b.numel() or a.device != b.device:
        return False
    # no shortcut on the storages: two storages can share memory (torch.from_numpy of two
    # overlapping slices of one array, DLPack, frombuffer), so the byte spans are compared

    def span(t):
        start = t.data_ptr()
        return start, start + (sum((n - 1) * abs(s) for n, s in zip(t.shape, t.stride())) + 1) * t.element_size()

    (a0, a1), (b0, b1) = span(a), span(b)
    return a0 < b1 and b0 < a1


def _step_with_rule(step, activations: tuple, loss: str, optimizer) -> str:
    """The Triton module of an MLP step applying the update rule ``optimizer``."""
    import dataclasses

    from .backends.triton.step import emit_triton_train_module
    from .families.update_rules import update_rule

    if not isinstance(optimizer, str):
        raise SymnetError(f"optimizer must be a name, not {type(optimizer).__name__}")
    rule = update_rule(optimizer)
    head = step.formula.rsplit(";", 1)[0]
    step = dataclasses.replace(step, name=f"{step.name}_{rule.name}", formula=f"{head}; {rule.title}")
    return emit_triton_train_module([step], f"the derivations of the dense layers, the loss and the {rule.name} "
                                    "update rule: a whole training step",
                                    f"symnet.compile_step({activations!r}, {loss!r}, optimizer={optimizer!r})", rule)
