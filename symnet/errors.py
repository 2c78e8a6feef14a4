"""The exceptions symnet raises; each message names the problem in one line."""


class SymnetError(Exception):
    """Base class of symnet's own errors (the CLI prints these without a traceback)."""


class DerivationError(SymnetError):
    """A derivation could not be built, or a recorded step failed its check."""


class ParseError(SymnetError):
    """A formula given as text could not be parsed safely."""


class UnknownNameError(SymnetError, KeyError):
    """A named derivation that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class NotDifferentiableError(SymnetError):
    """A gradient asked for at a point where the function has no derivative."""


class UnsafeCacheError(SymnetError):
    """symnet's cache folder is not the user's alone: another owner, writable by group or
    others, a symbolic link, or not a folder."""


class InvalidNameError(SymnetError, ValueError):
    """A name symnet would put into generated code or a file path is not a plain identifier
    it accepts (a kernel's name, a committed kernel module's name)."""


class LimitError(SymnetError):
    """An input, or a value at a point, exceeds symnet's size limits (digits, nesting, magnitude)."""


class TimeLimitError(LimitError):
    """A time limit ran out (the command line's ``--time-limit``, ``symnet verify``'s budget): the clock's, not
    the input's fault, so a parser that turns an input's :class:`LimitError` into a :class:`ParseError` lets it
    pass as it is (before session 28 a verify budget run out while parsing came out as ParseError)."""


class FusedStepError(SymnetError, ValueError):
    """The fused training step cannot take these parameters or settings (see
    :class:`symnet.torch.optim.FusedStep`)."""


class DomainError(SymnetError, ValueError):
    """An argument of a registry function holds an entry outside the values it takes (a negative variance of
    gaussian_nll, a probability outside [0, 1] of bce): :func:`symnet.registry.check_argument_domains`."""


def domain_message(function: str, argument: str, low: float, high: float, value, shown: str = "") -> str:
    """The one line of a DomainError: "gaussian_nll: var has a negative entry (-0.5); var must be ≥ 0".
    ``shown``: what the formula passed as the argument ("v", "v − 1"), named after it where it is not the
    argument's own name. Used by the registry's checks and, as a template, by the generated functions."""
    what = "a negative entry" if (low, high) == (0, float("inf")) else f"an entry outside [{low:g}, {high:g}]"
    named = f"{argument} = {shown}" if shown and shown != argument else argument
    return f"{function}: {named} has {what} ({value}); {argument} must be {domain_bound(low, high)}"


def domain_bound(low: float, high: float) -> str:
    """"≥ 0", "≤ 1", "in [0, 1]": what an argument of domain [low, high] must be."""
    inf = float("inf")
    return f"≥ {low:g}" if high == inf else f"≤ {high:g}" if low == -inf else f"in [{low:g}, {high:g}]"


class ShapeError(SymnetError, ValueError, RuntimeError):
    """Tensors whose shapes do not broadcast together (or do not fit a layer), named as the caller passed them.
    A ValueError, and a RuntimeError as torch's own broadcasting error is, so code written for torch catches it."""
