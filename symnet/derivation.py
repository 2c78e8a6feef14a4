"""The central value: a :class:`Derivation` and the :class:`Step` s it records.

Everything symnet prints, draws, documents or (in later stages) generates code from is
computed from a ``Derivation``. It is frozen: the engine builds it once, checking every
step as it records it, and nothing edits it afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import sympy as sp

__all__ = ["Name", "StepIndexedBase", "Partial", "Step", "Section", "ArgumentCheck", "Derivation", "default_title"]

# LaTeX and one-line text spellings of display names (``Name`` instances), by name.
_SPELLINGS: dict[str, tuple[str, str]] = {}


class Name(sp.Symbol):
    """A symbol with its own LaTeX and text spelling, e.g. ``z2`` shown as z⁽²⁾ / z^{(2)}."""

    def __new__(cls, name: str, latex: str | None = None, text: str | None = None, **assumptions):
        obj = super().__new__(cls, name, **assumptions)
        if latex is not None or text is not None or name not in _SPELLINGS:
            _SPELLINGS[name] = (latex or sp.latex(sp.Symbol(name)), text or name)
        return obj

    def _latex(self, printer, exp=None):
        body = _SPELLINGS[self.name][0]
        return body if exp is None else "{%s}^{%s}" % (body, exp)

    @property
    def text(self) -> str:
        return _SPELLINGS[self.name][1]


class StepIndexedBase(sp.IndexedBase):
    """An indexed family whose first index is a time step, printed as a superscript as the
    lecture writes h^t and h^(t−1): ``h[t, i]`` prints hᵗ_i (text), h^{t}_{i} (LaTeX), and
    ``h[t - 1, k]`` h⁽ᵗ⁻¹⁾_k. It is an ``IndexedBase`` in every other respect."""


class Partial(sp.Symbol):
    """The display symbol ∂num/∂den used inside a chain-rule step.

    It stands for a value that an earlier step established; checks substitute that
    value before comparing. It never appears in a step's final value.
    """

    def __new__(cls, num: sp.Expr, den: sp.Expr, total: bool = False):
        name = "∂%s/∂%s" % (num, den) if not total else "d%s/d%s" % (num, den)
        # non-commutative, so that a product keeps the order it was written in:
        # de/dc·∂c/∂b reads along the path, as the chain rule is spoken
        obj = super().__new__(cls, name, commutative=False)
        obj.num, obj.den, obj.total = num, den, total
        return obj

    def __getnewargs_ex__(self):
        return ((self.num, self.den, self.total), {})

    def _latex(self, printer, exp=None):
        d = "d" if self.total else r"\partial"
        body = r"\frac{%s %s}{%s %s}" % (d, _wrap(printer._print(self.num)), d,
                                           _wrap(printer._print(self.den)))
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


_TITLE_FORMULA = 80  # characters of a formula beyond which a title names the output instead


def default_title(formulas, outputs, named: bool = False) -> str:
    """A derivation's title when none is given: the formula itself, as the steps print it
    ("Derivative of x²·sin(x)", "Jacobian of [x₁ + x₂·x₃, 2·x₃]"); the output's name where the
    user gave one (a :class:`~symnet.engine.Program`'s outputs, ``output="loss"``) or where the
    formula is too long for a title ("Derivative of f")."""
    from .render import shown

    written = [shown(e) for e in formulas]
    what = "Derivative" if len(outputs) == 1 else "Jacobian"
    if named or sum(map(len, written)) > _TITLE_FORMULA:
        return "%s of %s" % (what, ", ".join(shown(o) for o in outputs))
    return "%s of %s" % (what, written[0] if len(written) == 1 else "[" + ", ".join(written) + "]")


def _wrap(s: str) -> str:
    return s if len(s) <= 2 or s.startswith("{") else "{%s}" % s


@dataclass(frozen=True)
class Step:
    """One line of a derivation: ``lhs = chain[0] = chain[1] = … = value``.

    ``why`` says which rule produced it; ``given`` lists substitutions (y_i = e^z_i/Σ…)
    the forms are equal under; ``check`` says how it was verified:
    ``definition`` (it defines its left side), ``symbolic`` (SymPy proved the forms
    equal), ``numeric`` (agreement to 25 digits at random points, when simplification
    was inconclusive) or ``exact`` (integer arithmetic). ``approx``, for a value at a
    point, is that value as a decimal, printed after it (``σ(0.45) ≈ 0.6106392339``).
    """

    lhs: sp.Expr
    chain: tuple[sp.Expr, ...]
    why: str = ""
    check: str = "definition"
    relation: str = "="
    given: tuple = ()  # (symbol, value) pairs the forms are equal under, e.g. y_i = softmax_i
    approx: sp.Expr | None = None  # at a point: the value as a decimal (10 significant digits)

    @property
    def value(self) -> sp.Expr:
        return self.chain[-1]


@dataclass(frozen=True)
class Section:
    """A titled group of steps, with optional prose before them (``text``) and a table."""

    title: str
    steps: tuple[Step, ...] = ()
    text: str = ""
    table: tuple[tuple[str, ...], ...] = ()


class ByName(dict):
    """A dict keyed by SymPy symbols that also finds a key by its name: the engine takes
    plain symbols as real ones (``Symbol("x")`` becomes ``Symbol("x", real=True)``), so a
    user's own ``x`` still finds the gradient with respect to the real x, and so does the
    name itself (``d.gradients["x"]``, for a formula derived from text)."""

    def _named(self, key):
        name = key.name if isinstance(key, sp.Symbol) else key if isinstance(key, str) else None
        if name is None:
            return None
        return next((k for k in self if isinstance(k, sp.Symbol) and k.name == name), None)

    def __missing__(self, key):
        named = self._named(key)
        if named is None:
            raise KeyError(key)
        return dict.__getitem__(self, named)

    def __contains__(self, key):
        return dict.__contains__(self, key) or self._named(key) is not None

    def get(self, key, default=None):
        return self[key] if key in self else default


class NoGradients(ByName):
    """``gradients`` of a function of several outputs: empty, as before, but a look-up says where its
    derivatives are (``d.gradients["a"]`` of ``derive(["a*b", "a+b"])`` was a bare ``KeyError: 'a'``;
    session 21's new user). ``outputs``: how many the function has."""

    def __init__(self, outputs: int = 0):
        super().__init__()
        self.outputs = outputs

    def __missing__(self, key):
        shown = key.name if isinstance(key, sp.Symbol) else key
        raise KeyError(f"no gradient of {shown!r}: the function has {self.outputs} outputs, so it has a "
                       f"Jacobian, not gradients: d.jacobian (one row per output, one column per wrt "
                       f"variable), or d.gradient_at(point) for each variable's column there")

    def __reduce__(self):  # an empty dict with its count (symnet.pickling rebuilds only allowed classes)
        return (NoGradients, (self.outputs,))


@dataclass(frozen=True)
class ArgumentCheck:
    """An argument of a registry function the formula calls, and the values it must take: the registry's
    ArgumentDomain (symnet.registry), with the expression the formula passes. The generated functions check
    their data against it and refuse an entry outside in one line (gaussian_nll(x, t, v) at a negative v)."""

    function: str  # the registry function (gaussian_nll)
    argument: str  # the argument's name in its signature (var)
    low: float
    high: float
    expr: sp.Expr  # what the formula passes, in its inputs (v, v − 1)

    def message(self, value) -> str:
        """The DomainError's line for an entry ``value`` outside (symnet.errors.domain_message)."""
        from .errors import domain_message

        return domain_message(self.function, self.argument, self.low, self.high, value, self.shown)

    @property
    def shown(self) -> str:
        """What the formula passes, as the user wrote an input's name ("gamma", not the printout's "γ":
        "focal: gamma = γ has a negative entry" read as two things, session 18), else printed ("v − 1")."""
        from .render import text

        return self.expr.name if isinstance(self.expr, sp.Symbol) else text(self.expr)


@dataclass(frozen=True, repr=False)
class Derivation:
    """A forward computation, what it is differentiated with respect to, the results,
    and the checked steps that lead there.

    ``gradients`` maps each ``wrt`` variable to ∂(output)/∂(variable) for a scalar
    output; ``jacobian`` holds the full matrix (one row per output) for vector outputs.
    ``definitions`` is the forward program (the computational graph) as ordered
    assignments; ``graph_values`` optional numeric values of its nodes at a point.
    ``domains`` lists the arguments of registry functions whose data are refused outside a domain
    (:class:`ArgumentCheck`: gaussian_nll's variance ≥ 0), as the formula passes them; the code
    generated from the derivation checks them.
    """

    name: str
    title: str
    summary: str
    inputs: tuple[sp.Symbol, ...]
    wrt: tuple[sp.Expr, ...]
    outputs: tuple[sp.Expr, ...]
    definitions: tuple[tuple[sp.Expr, sp.Expr], ...]
    gradients: Mapping[Any, sp.Expr]
    sections: tuple[Section, ...]
    jacobian: sp.Matrix | None = None
    local_partials: Mapping[tuple[sp.Expr, sp.Expr], sp.Expr] = field(default_factory=dict)
    point: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    kinks: tuple[sp.Expr, ...] = ()
    domains: tuple[ArgumentCheck, ...] = ()

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for sec in self.sections for s in sec.steps)

    def gradient_at(self, values: Mapping[sp.Symbol, Any]) -> dict:
        """The gradients at a point, refusing points where a kink makes them undefined.

        Keys may be symbols or names, values numbers or text (parsed safely, never
        evaluated as Python). Returns ``{w: value}`` for each variable ``w`` of ``wrt``: an exact
        SymPy value (a column Matrix, one entry per output, for several outputs); a float is read as
        written (0.1 as 1/10), so ``sigmoid(1/10)`` stays symbolic: ``float(v)`` or ``v.evalf(30)``
        gives its number. Raises :class:`~symnet.errors.ParseError` for refused text,
        :class:`~symnet.errors.DerivationError` for a point that misses or adds inputs,
        :class:`~symnet.errors.NotDifferentiableError` where a gradient is undefined or not
        real, :class:`~symnet.errors.LimitError` where a value is beyond the size limits.
        """
        from .engine import evaluate_gradients

        return evaluate_gradients(self, values)

    def __str__(self) -> str:
        from .render import render_text

        return render_text(self)

    def __repr__(self) -> str:
        from .render import text

        wrt = ", ".join(text(w) for w in self.wrt[:6]) + (", …" if len(self.wrt) > 6 else "")
        name = f" {self.name!r}" if self.name else ""
        return (f"<Derivation{name}: {self.title!r}, {len(self.steps)} steps in "
                f"{len(self.sections)} sections, with respect to ({wrt}); print() it for the steps>")

    def _repr_latex_(self) -> str:
        from .render import render_latex_math

        return render_latex_math(self)

    def _repr_markdown_(self) -> str:
        from .render import render_markdown

        return render_markdown(self)
