"""symnet: neural-network gradients derived symbolically, printed step by step.

``import symnet`` loads only this module and :mod:`symnet.errors`: every other public name
(``Derivation``, ``derive``, ``sigmoid``, ``verify``, ...) loads its module on first use
(PEP 562), so ``symnet derive NAME`` can print a stored printout without loading SymPy, NumPy
or the engine (see ``tests/test_startup.py``).
"""
from __future__ import annotations

import importlib
import sys
import types

from .errors import (DerivationError, LimitError, NotDifferentiableError, ParseError, SymnetError,
                     UnknownNameError)

__version__ = "0.1.0"

__all__ = [
    "Derivation", "Step", "Section", "Partial", "Name", "Program",
    "derive", "get", "catalog", "parse", "compile", "compile_step", "train", "verify",
    "sigmoid", "relu",
    "SymnetError", "DerivationError", "ParseError", "UnknownNameError", "NotDifferentiableError",
    "LimitError",
]

# public name -> (module, attribute): loaded on first use
_LAZY = {
    "Derivation": (".derivation", "Derivation"), "Step": (".derivation", "Step"),
    "Section": (".derivation", "Section"), "Partial": (".derivation", "Partial"),
    "Name": (".derivation", "Name"),
    "Program": (".engine", "Program"),
    "sigmoid": (".functions", "sigmoid"), "relu": (".functions", "relu"),
    "compile_step": (".codegen", "compile_step"),
}


def __getattr__(name: str):
    """The public names of :data:`_LAZY` from their modules, and symnet's subpackages
    (``symnet.codegen``), each loaded on first use."""
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module, __name__), attribute)
        globals()[name] = value  # later uses find it directly
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'symnet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Symnet(types.ModuleType):
    """``symnet.verify`` is the function :func:`symnet.verify.measure.verify`, loaded on first
    use, even after the package of the same name (``symnet.verify.spec`` ...) was imported: the
    import system's ``symnet.verify = <package>`` is ignored (the package is in ``sys.modules``)."""

    @property
    def verify(self):
        override = self.__dict__.get("_verify_override")
        if override is not None:
            return override
        from .verify.measure import verify

        return verify

    @verify.setter
    def verify(self, value):  # a test's monkeypatch replaces the function; the package import is ignored
        if not (isinstance(value, types.ModuleType) and value.__name__ == f"{__name__}.verify"):
            self.__dict__["_verify_override"] = value

    @verify.deleter
    def verify(self):
        self.__dict__.pop("_verify_override", None)


sys.modules[__name__].__class__ = _Symnet


TIME_LIMIT = 60.0  # CPU seconds symnet.derive, and symnet.compile, spend on one formula by default (the command line's 60)
DERIVE_TIME_LIMIT = TIME_LIMIT  # its name before symnet.compile took it too (session 35)


def derive(f, wrt=None, *, progress: bool | None = None, time_limit: float | None = TIME_LIMIT, **options):
    """Derive the gradient (or Jacobian) of ``f`` step by step: :func:`symnet.engine.derive`
    (``f`` an expression, a sequence of them or a :class:`Program`; ``wrt``; the keywords
    ``name``, ``title``, ``summary``, ``output``, ``mode`` and ``at``; see its docstring), with
    a progress line, within a time limit.

    ``progress``: None (default) shows ``symnet: deriving … N s`` on stderr after a second,
    where stderr is a terminal or in a Jupyter notebook (tqdm's bar there); True shows it
    anywhere; False never (see :mod:`symnet.progress`).

    ``time_limit``: CPU seconds of this process the derivation may take (default
    :data:`TIME_LIMIT`, 60, as the command line's ``--time-limit``; None or 0: no limit).
    Symbolic work on a short formula can grow without bound (``focal(focal(focal(z, t), t), t)``, 32
    characters); past the limit :class:`LimitError` names the formula and how to raise the limit. CPU
    seconds, so a loaded machine gives the same budget of work as an idle one; the limit is a ``SIGPROF``
    timer in the main thread on POSIX, and a watchdog counting the calling thread's own CPU time in any
    other thread (:func:`symnet.bounds.time_limit`).

    Raises:
        ParseError: ``f`` is text the parser refuses.
        DerivationError: a bad formula, ``wrt``, ``at`` or ``mode``, or a step that fails its check.
        NotDifferentiableError: ``at`` sits where a requested derivative does not exist or a
            value is undefined or not real.
        LimitError: a value at the point is beyond the size limits of :mod:`symnet.bounds`, the
            derivation took longer than ``time_limit`` CPU seconds, or ``time_limit`` is negative or nan.
        SymnetError: ``progress`` is not None, True or False.
    """
    from .progress import check_setting, progress as _progress

    check_setting(progress)
    from .curriculum import ORDER
    from .engine import derive as _derive

    if isinstance(f, str) and f.strip() in ORDER:
        # `symnet derive mse-sigmoid` takes a name; symnet.derive("mse-sigmoid") answered "'mse' is a function:
        # write mse(…)", and derive("dense") differentiated a variable called dense (session 17, a new user)
        raise DerivationError(f"{f.strip()!r} is a named derivation of the lecture: symnet.get({f.strip()!r}) "
                              "returns it (symnet.derive takes a formula)")
    # the formula as the user wrote it; a SymPy expression is not printed (str() of one nested 10⁴ deep or holding a
    # 10⁵-digit number raises before derive's own one-line refusal: test_break32, test_breakage)
    with _budget(time_limit, f"deriving {_shortened(f) if isinstance(f, str) else 'the formula'}", "symnet.derive"), \
            _progress("deriving", progress, cpu_limit=_shown(time_limit)):
        return _derive(f, wrt, **options)


def _shortened(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _shown(time_limit) -> float | None:
    """The budget a progress line shows (``… 12 s, 9 of 60 CPU s``): none for no limit (None, 0, beyond three years)."""
    return time_limit if time_limit and time_limit <= 1e8 else None


def _budget(time_limit, doing: str, function: str):
    """The CPU-time budget of :func:`derive` and :func:`compile` (their ``time_limit``): the command line's timer
    (:func:`symnet.bounds.time_limit`, ``cpu=True``), which raises :class:`LimitError` "``doing`` took longer than N
    CPU s (raise it with ``function``(..., time_limit=2N), …)" once the block has taken ``time_limit`` CPU seconds.

    Raises:
        LimitError: ``time_limit`` is not None nor a number of seconds ≥ 0 (a bool, a string, negative, nan).
    """
    from .bounds import time_limit as _time_limit

    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float, type(None))):
        raise LimitError(f"time_limit must be a number of CPU seconds (0 or None: no limit), not {time_limit!r}")
    message = (f"{doing} took longer than {time_limit:g} CPU s (raise it with {function}(..., "
               f"time_limit={2 * time_limit:g}), or time_limit=None for no limit)") if time_limit else ""
    return _time_limit(time_limit, message, cpu=True)


def compile(derivation, backend: str = "numpy", *, progress: bool | None = None,  # noqa: A001
            time_limit: float | None = TIME_LIMIT, **options):
    """Generate and load a function computing the derivation's value and gradients:
    :func:`symnet.codegen.compile` (``backend`` "numpy" or "triton"; the keywords ``value``,
    ``gradients`` and ``name``; see its docstring), with a progress line, within a time limit.

    ``progress``: None (default) shows ``symnet: generating BACKEND code … N s`` on stderr
    after a second (then what it is doing: stabilising which output, printing), where stderr is a
    terminal or in a Jupyter notebook (tqdm's bar there); True shows it anywhere; False never (see
    :mod:`symnet.progress`).

    ``time_limit``: CPU seconds of this process generating the code may take, as :func:`derive`'s
    (default :data:`TIME_LIMIT`, 60; None or 0: no limit): the stability rules, the common
    subexpressions and the printing of either backend (not loading a Triton module, which registers its
    torch ops, nor the first call of its function, which compiles the kernel). Past it :class:`LimitError`
    names the derivation and how to raise the limit; a ``SIGPROF`` timer in the main thread on POSIX, a
    watchdog counting the calling thread's CPU time in any other (:func:`symnet.bounds.time_limit`).

    Returns:
        A :class:`~symnet.codegen.compiler.CompiledKernel` ``k``: ``k.inputs`` (the variables sorted by
        name: the order of positional arguments), ``k.outputs`` (the value of each output, then each
        output's partials in ``wrt`` order: ``f, df_dx`` or ``f1, f2, df1_dx, df1_dy, df2_dx, df2_dy``;
        ``value=False``/``gradients=False`` leave a group out), ``k.source``. ``k(x=..., t=...)``
        returns a tuple of arrays in ``k.outputs`` order, even of one.

        numpy: float32 or float64 NumPy arrays of one shape, beside Python floats or 0-d arrays;
        each output has that shape and the inputs' common dtype (float32 beside float64 computes in
        float64). triton: torch tensors of one shape, dtype (float32, float64, bfloat16, float16) and
        device (CUDA, or the CPU under ``TRITON_INTERPRET=1``); outputs of that shape and dtype, without
        an autograd graph (``k.value(...)`` is the differentiable op, for a formula of one output
        compiled with its value; of several outputs it raises SymnetError).

        Calling ``k`` raises TypeError for a missing or unknown argument, None, integer, complex,
        float16 (numpy) data or a numpy.ma masked array; ValueError for shapes that differ (nothing
        is broadcast); DomainError for data outside a registry loss's domain in a formula given as
        text (gaussian_nll's var < 0).

    Raises:
        SymnetError: an unknown backend, not a Derivation (nor a row-wise function's name), a
            derivation that cannot be generated, or ``progress`` not None, True or False.
        LimitError: generating the code took longer than ``time_limit`` CPU seconds, or ``time_limit`` is
            negative or nan.
        InvalidNameError: ``name`` is not a name the generated module can use.
        UnsafeCacheError: the cache folder (or its kernels/ or triton/ subfolder) is not the user's alone
            (another owner, writable by group or others, a symbolic link), for either backend.
    """
    from .progress import check_setting, progress as _progress

    check_setting(progress)
    if isinstance(derivation, str):  # a row-wise function by name; a formula was read as one too
        from .rowwise_registry import ROW_REGISTRY

        if derivation not in ROW_REGISTRY:
            from .errors import SymnetError

            from .curriculum import ORDER

            text = derivation if len(derivation) <= 60 else derivation[:57] + "..."
            # compile("sigmoid") was told to call symnet.derive('sigmoid'), which refuses it (session 17)
            how = (f"symnet.get({text!r}) for the lecture's derivation" if derivation.strip() in ORDER
                   else f"symnet.derive({text!r}) for a formula")
            # compile("x*sigmoid(x)") began "unknown row-wise function 'x*sigmoid(x)'" (session 18): a formula
            import difflib

            close = difflib.get_close_matches(derivation.strip(), list(ROW_REGISTRY), n=1)
            if derivation.strip() in ORDER:
                what = f"{text!r} is a derivation of the lecture, not a row-wise function"
            elif not derivation.strip().isidentifier():
                what = f"{text!r} is a formula, not the name of a row-wise function"
            else:
                what = f"unknown row-wise function {text!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            raise SymnetError(f"{what}: symnet.compile takes a Derivation "
                              f"({how}) or the name of a row-wise function "
                              f"({', '.join(ROW_REGISTRY)})")
    from .codegen import compile as _compile

    doing = f"generating {backend} code" if isinstance(backend, str) else "generating code"
    title = getattr(derivation, "title", None) or getattr(derivation, "name", None)
    limit = _budget(time_limit, f"{doing} for {_shortened(title)!r}" if isinstance(title, str) else doing,
                    "symnet.compile")
    if isinstance(derivation, str):  # a row-wise function's module: the registry's, bounded by construction
        with _progress(doing, progress):
            return _compile(derivation, backend, **options)
    with _progress(doing, progress, cpu_limit=_shown(time_limit)):
        return _compile(derivation, backend, limit=limit, **options)


def get(name: str):
    """The named curriculum derivation (see :func:`catalog` for the names), a
    :class:`~symnet.derivation.Derivation`: built once, then kept in memory and in symnet's
    private disk cache (see :mod:`symnet.curriculum`), so a later process loads it in
    milliseconds instead of building it again (``SYMNET_NO_DISK_CACHE=1``: always build).

    Raises:
        UnknownNameError: no derivation has that name (the message suggests a close one).
        UnsafeCacheError: the cache folder or its ``derivations/`` is not the user's alone
            (``SYMNET_NO_DISK_CACHE=1`` turns the folder off).
    """
    from .curriculum import get_stored

    return get_stored(name)


def catalog() -> dict:
    """Names of the curriculum derivations with their one-line descriptions."""
    from .curriculum import catalog as _catalog

    return _catalog()


def train(task: str, backend: str = "numpy", *, epochs: int | None = None, lr: float | None = None,
          batch: int | None = None, seed: int = 0, checkpoint=None, resume: bool = False,
          plot=None, progress: bool = False, save_every: float | None = None):
    """Train one of the lecture's networks on the generated kernels (``symnet train TASK``).

    ``task``: ``"miles"``, ``"perceptron"``, ``"xor"``, ``"digits"`` or ``"rnn"``.
    ``backend``: ``"numpy"`` (the generated NumPy kernels), ``"torch"`` (plain PyTorch
    autograd on the same model, the reference), ``"triton"`` or ``"triton-fused"`` (the
    generated Triton kernels; a GPU, or ``TRITON_INTERPRET=1`` on the CPU).
    ``epochs``, ``lr``, ``batch``: ``None`` takes the task's default (README's table);
    ``seed``: the same seed gives the same run. ``checkpoint``, ``resume``, ``save_every``
    (seconds between saves, 0: every epoch, ``None``: the default, once a second), ``plot`` (a ``.png`` path) and ``progress`` (a
    bar on stderr) as the command line's options: :func:`symnet.training.train`.

    ``symnet.train("xor", seed=1, epochs=3000)`` returns a ``TrainResult``: ``.metrics``
    (dict), ``.history`` (one dict per epoch), ``.params`` (name → NumPy array),
    ``.summary`` (the printed report, line by line).

    Raises ``UnknownNameError`` for an unknown task, ``SymnetError`` for bad settings or
    backend, ``TrainingDiverged`` when the loss or the weights become NaN or infinite.
    """
    from .training import train as _train

    every = {} if save_every is None else {"save_every": save_every}
    return _train(task, backend, epochs=epochs, lr=lr, batch=batch, seed=seed, checkpoint=checkpoint,
                  resume=resume, plot=plot, progress=progress, **every)


def parse(text: str, extra_names=()):
    """Parse a formula written as text, safely (no Python is evaluated).

    Raises :class:`ParseError` for anything but arithmetic, numbers, variable names and
    the functions of :data:`symnet.parsing.FUNCTIONS`, and for input beyond the parser's
    limits (length, nesting, number sizes). ``extra_names`` is accepted for compatibility
    and unused. A formula calling a registry function with an argument domain (``gaussian_nll(x, t, v)``)
    comes back marked with its checks (:class:`symnet.registry.DomainChecked`, printed as the formula):
    ``symnet.derive(symnet.parse(text))`` checks what ``symnet.derive(text)`` checks.
    """
    from .parsing import collected_checks, parse_expression

    with collected_checks() as found:
        expr = parse_expression(text)
    if not found:
        return expr
    from .registry import DomainChecked

    return DomainChecked(expr, *found)
