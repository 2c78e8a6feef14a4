"""symnet: neural-network gradients derived symbolically, printed step by step."""
from .derivation import Derivation, Name, Partial, Section, Step
from .engine import Program, derive
from .errors import (DerivationError, LimitError, NotDifferentiableError, ParseError, SymnetError,
                     UnknownNameError)
from .functions import relu, sigmoid
from .codegen import compile, compile_step
from .verify import verify  # noqa: E402 - the function; the package is symnet.verify's modules

__version__ = "0.1.0"

__all__ = [
    "Derivation", "Step", "Section", "Partial", "Name", "Program",
    "derive", "get", "catalog", "parse", "compile", "compile_step", "train", "verify",
    "sigmoid", "relu",
    "SymnetError", "DerivationError", "ParseError", "UnknownNameError", "NotDifferentiableError",
    "LimitError",
]


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
