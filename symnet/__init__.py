"""symnet: neural-network gradients derived symbolically, printed step by step."""
from .derivation import Derivation, Name, Partial, Section, Step
from .engine import Program, derive
from .errors import (DerivationError, LimitError, NotDifferentiableError, ParseError, SymnetError,
                     UnknownNameError)
from .functions import relu, sigmoid
from .verify import verify  # the function; its package's modules are symnet.verify.*

__version__ = "0.1.0"

__all__ = [
    "Derivation", "Step", "Section", "Partial", "Name", "Program",
    "derive", "get", "catalog", "parse", "compile", "compile_step", "train", "verify",
    "sigmoid", "relu",
    "SymnetError", "DerivationError", "ParseError", "UnknownNameError", "NotDifferentiableError",
    "LimitError",
]


def __getattr__(name: str):
    """``compile`` and ``compile_step`` load the code generator on first use, so that
    ``import symnet`` (and ``symnet derive``) does not pay for it."""
    if name in ("compile", "compile_step"):
        from . import codegen

        return getattr(codegen, name)
    raise AttributeError(f"module 'symnet' has no attribute {name!r}")


def get(name: str) -> Derivation:
    """The named curriculum derivation (see :func:`catalog` for the names)."""
    from .curriculum import get as _get

    return _get(name)


def catalog() -> dict:
    """Names of the curriculum derivations with their one-line descriptions."""
    from .curriculum import catalog as _catalog

    return _catalog()


def train(task: str, backend: str = "numpy", **settings):
    """Train one of the lecture's networks on the generated kernels; see :mod:`symnet.training`.

    ``symnet.train("xor", seed=1, epochs=3000)`` returns a ``TrainResult`` (metrics,
    per-epoch history, weights, the printed summary).
    """
    from .training import train as _train

    return _train(task, backend, **settings)


def parse(text: str, extra_names=()):
    """Parse a formula written as text, safely (no Python is evaluated).

    Raises :class:`ParseError` for anything but arithmetic, numbers, variable names and
    the functions of :data:`symnet.parsing.FUNCTIONS`, and for input beyond the parser's
    limits (length, nesting, number sizes). ``extra_names`` is accepted for compatibility
    and unused.
    """
    from .parsing import parse_expression

    return parse_expression(text)
