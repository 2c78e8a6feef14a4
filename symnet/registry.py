"""The function registry: every function a formula may use, one entry each.

An entry states everything symnet needs to know about one function, in one place:

* its **SymPy form**: a SymPy class (``sp.tanh``, symnet's ``sigmoid``), or a *rewrite*,
  a constructor that writes it in functions that have their own entries (SiLU is
  ``x·σ(x)``, GELU ``x/2·(1 + erf(x/√2))``, ELU a ``Piecewise``), the way tinygrad defines
  its composite activations from primitives, so every backend gets them for free;
* its **parser name(s)** and arity (``symnet derive "silu(x)"``);
* for a node of its own, its **derivative rule**: a name and the formula the printout
  shows, and the derivative as a function of the argument; and where it is **not
  differentiable** (its kinks, as expressions that vanish there);
* its **NumPy lowering** (a ufunc call writing into a buffer, ``{0}`` the argument,
  ``{out}`` the buffer) and its **Triton lowering** (a template, or a ``@triton.jit``
  device helper written with ``tl.exp``/``tl.log``/``tl.sqrt``/``tl.where`` only, since
  libdevice functions do not run under ``TRITON_INTERPRET=1``);
* an **mpmath reference** and the **torch function** that computes the same thing, for
  the registry-driven tests (``tests/test_registry.py``).

Adding a function is one entry here plus its row in the test table. The parser
(:mod:`symnet.parsing`), the derivative rules (:mod:`symnet.rules`), the NumPy and the
Triton printers take their tables from :data:`REGISTRY`. This module imports neither
torch nor triton: the torch references receive the ``torch`` module as an argument.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.symbol import Str

from .errors import ParseError, SymnetError
from .mpfloat import exp as mp_exp
from .functions import relu, sigmoid
from .special import (binade_reciprocal, exp_shift, exp_twosum, hypot_gap_slope, ndtr, ndtr_tanh, ndtr_tanh_pdf, ndtr_tanh_slope, nexpsq, nexpsq2, ordered_product,
                      sigmoid_pair_product, sigmoid_twosum, softplus)

__all__ = ["Rule", "Function", "REGISTRY", "NAMES", "register", "unregister", "lookup", "entry_of", "rule_of", "unary_rules",
           "numpy_template", "triton_template", "TRITON_DEVICE_HELPERS", "TRITON_HELPER_NEEDS", "NUMPY_HELPERS", "NUMPY_HELPER_NEEDS", "numpy_helper_closure",
           "GENERATED_HELPERS", "HelperTable",
           "kink_arguments", "as_piecewise", "activation_names", "ArgumentDomain", "active_domains", "check_argument_domains",
           "needed_checks", "DomainChecked", "take_domain_checks"]


@dataclass(frozen=True)
class Rule:
    """A local derivative rule, as the printout names and shows it."""

    name: str
    formula: str  # the rule in readable math, shown in the printout
    derivative: Callable[[sp.Expr], sp.Expr]  # f'(u) as a function of the argument u
    kink: bool = False  # not differentiable where the argument is 0


@dataclass(frozen=True)
class ArgumentDomain:
    """The values one argument of a function takes, [low, high] (ends included). A function that is real
    outside it but means nothing there (gaussian_nll's max(var, eps) at a negative variance is a number, kl_div's
    0 at a negative target) names it, so that its data are refused in one line (a DomainError).

    ``option``: (index, value) where the domain holds only while the option at that position has that value
    (kl_div's t ≥ 0 with log_target = 0 only; an option left out takes the default of the entry's ``build``)."""

    index: int  # the argument's position (0: the first)
    name: str  # its name in the function's signature (var, p)
    low: float = -math.inf
    high: float = math.inf
    option: tuple[int, float] | None = None


def active_domains(entry: "Function", arguments) -> tuple[ArgumentDomain, ...]:
    """The entry's argument domains that hold for these arguments (its options: numbers, SymPy numbers, or
    absent: the default of ``entry.build``). An option that is not a number (a variable) holds every domain."""
    import inspect

    out = []
    for d in entry.argument_domains:
        if d.option is not None:
            at, value = d.option
            if at < len(arguments):
                given = arguments[at]
            else:
                try:
                    given = list(inspect.signature(entry.build).parameters.values())[at].default
                except (IndexError, TypeError, ValueError):
                    given = None
            try:
                if float(given) != float(value):
                    continue
            except (TypeError, ValueError):
                pass
        out.append(d)
    return tuple(out)


@dataclass(frozen=True)
class Function:
    """One function of the registry (see the module docstring for what each field means)."""

    name: str  # the parser name, and the key of the registry
    build: Callable[..., sp.Expr]  # arguments → the SymPy expression (a class, or a rewrite)
    arity: tuple[int, int | None] = (1, 1)  # fewest and most arguments (None: any number)
    aliases: tuple[str, ...] = ()
    cls: type | None = None  # the SymPy class of a node of its own; None: a rewrite
    rule: Rule | None = None  # the derivative rule of a unary node
    kinks: Callable[[tuple], tuple] | None = None  # args → expressions that are 0 on a kink
    piecewise: Callable[..., sp.Expr] | None = None  # args → the same function as a Piecewise
    numpy: str | None = None  # NumPy template: {0}, {1} the arguments, {out} the buffer written
    numpy_helper: str | None = None  # a helper of the NumPy module the template calls
    triton: str | None = None  # Triton template: {0}, {1} the printed arguments
    mpmath: Callable | None = None  # reference at high precision, on mpf arguments
    torch: Callable | None = None  # (torch, *tensors) → the same values, where torch has it
    domain: tuple[float, float] = (-math.inf, math.inf)  # where it is real (first argument)
    argument_domains: tuple[ArgumentDomain, ...] = ()  # arguments whose data are refused outside (check_argument_domains)
    boundaries: tuple[float, ...] = ()  # where a Piecewise switches branch (first argument)
    family: str = "elementary"  # "elementary", "activation" or "loss" (symnet/losses.py)
    note: str = ""  # accuracy of a hand-written Triton helper, or a remark on the lowering

    def __call__(self, *args):
        """The entry's SymPy form at ``args``. A number outside an argument domain raises DomainError; an
        argument that is an expression SymPy cannot show inside its domain marks the result
        (:class:`DomainChecked`), so that a formula built in Python carries the checks the parser notes for
        the same text (derive takes them into ``Derivation.domains``)."""
        if self.argument_domains:
            check_argument_domains(self, [_real_number(a) for a in args])
        value = self._through_select(args)
        if value is None:
            value = self.build(*args)
        checks = needed_checks(self, args)
        return DomainChecked(value, *checks) if checks else value


    def _through_select(self, args) -> sp.Expr | None:
        """f({a₁ if c₁; …; aₙ otherwise}) as {f(a₁) if c₁; …; f(aₙ) otherwise}, for an f built as a select of its one
        argument (hardsigmoid, elu, softshrink; hardswish u·{…}), whose argument is one (a product or sum of one is folded into one
        first): the same function. Built from f's own select, each condition of f compares a select, which SymPy
        writes as an ITE and solves every condition of by as_set (hardsigmoid(softshrink(hardswish(x))): 13 s in
        SymPy's periodicity check, the derivative's conditions then 14 comparisons of expm1(x), expm1(expm1(x)) …: the
        derive of a depth-3 composition ran for minutes, session 25's audit). None: build f as it is."""
        if len(args) != 1 or not isinstance(args[0], sp.Basic) or not args[0].has(sp.Piecewise) \
                or not _builds_a_select(self.name):
            return None
        (arg,) = args
        if isinstance(arg, (sp.Add, sp.Mul)) and any(isinstance(a, sp.Piecewise) for a in arg.args):
            arg = sp.piecewise_fold(arg)
        if not isinstance(arg, sp.Piecewise) or arg.args[-1].cond != sp.true:
            return None
        return sp.Piecewise(*[(self._through_select((v,)) or self.build(v), c) for v, c in arg.args])


@lru_cache(maxsize=None)
def _builds_a_select(name: str) -> bool:
    """Whether the registry's ``name`` of a real symbol holds a Piecewise of it (hardswish: u·{…})."""
    u = sp.Dummy("u", real=True)
    try:
        return REGISTRY[name].build(u).has(sp.Piecewise)
    except Exception:  # an entry whose build needs more arguments
        return False


REGISTRY: dict[str, Function] = {}


NAMES: dict[str, Function] = {}  # every parser name and alias → its entry (the parser's table)
_BY_CLASS: dict[type, Function] = {}


def register(entry: Function, triton_helpers: dict | None = None, numpy_helpers: dict | None = None) -> Function:
    """Add ``entry`` to the registry: its name and aliases become parser names, and every
    table (rules, kinks, NumPy and Triton printers) sees it from then on.

    ``triton_helpers``/``numpy_helpers`` map the names of helpers its templates call to their
    source. Nothing changes unless every check passes.

    Raises:
        SymnetError: a name is taken, or is not one a formula can call (not an identifier, a Python keyword, a
            name of SymPy's, a name Python's NFKC reading changes, Latin letters mixed with another script's
            look-alikes); the SymPy class is another entry's; a helper name is taken by different source; the
            derivative rule disagrees with the mpmath reference's derivative (an entry added after import).
    """
    names = (entry.name, *entry.aliases)
    for name in names:
        if not isinstance(name, str):
            raise SymnetError(f"a function name must be text, not {type(name).__name__} {name!r}")
        if name in NAMES or names.count(name) > 1:
            raise SymnetError(f"the function name {name!r} is registered twice")
        _check_name(name)
    if entry.cls is not None and _BY_CLASS.get(entry.cls, entry) is not entry:
        raise SymnetError(f"the SymPy class {entry.cls.__name__} of {entry.name!r} is the function "
                          f"{_BY_CLASS[entry.cls].name!r}'s: registering it again would replace that function's "
                          f"derivative rule and lowering everywhere; give {entry.name!r} a class of its own")
    for table, given, kind in ((TRITON_DEVICE_HELPERS, triton_helpers, "Triton"), (NUMPY_HELPERS, numpy_helpers, "NumPy")):
        for helper, source in (given or {}).items():
            if table.get(helper, source) != source:
                raise SymnetError(f"the {kind} helper {helper!r} of {entry.name!r} is already defined with other "
                                  f"source (every kernel that calls it would change); give it a name of its own")
    if _BUILT_IN_DONE:
        _check_user_entry(entry)
    for name in names:
        NAMES[name] = entry
    REGISTRY[entry.name] = entry
    if entry.cls is not None:
        _BY_CLASS[entry.cls] = entry
    TRITON_DEVICE_HELPERS.update(triton_helpers or {})
    NUMPY_HELPERS.update(numpy_helpers or {})
    _changed()
    return entry


_BUILT_IN_DONE = False  # True once symnet's own entries are in (the end of this module)
_GENERATION = 0  # counts the registry's changes: a cache keyed by a name adds it (render's _plain_name)


def generation() -> int:
    """How many times :func:`register` and :func:`unregister` changed the registry: a cache of an answer that
    depends on which names are registered keys it by this as well."""
    return _GENERATION


def _changed() -> None:
    global _GENERATION
    _GENERATION += 1
    _builds_a_select.cache_clear()  # keyed by a name that may now be another function's


def _check_name(name: str) -> None:
    """Refuse a name a formula cannot call as this function (SymnetError, one line)."""
    import keyword
    import unicodedata

    if not name.isidentifier() or keyword.iskeyword(name):
        raise SymnetError(f"the function name {name!r} is not one a formula can call: use letters, digits and _, "
                          f"not beginning with a digit, and not a Python keyword")
    if unicodedata.normalize("NFKC", name) != name:
        raise SymnetError(f"the function name {name!r} is read as {unicodedata.normalize('NFKC', name)!r} in a "
                          f"formula (Python's NFKC reading of names): register it as that")
    scripts = {unicodedata.name(c, "?").split()[0] for c in name if c.isalpha()}
    if "LATIN" in scripts and len(scripts) > 1:
        raise SymnetError(f"the function name {name!r} mixes Latin letters with {', '.join(sorted(s.title() for s in scripts - {'LATIN'}))} "
                          f"ones (a look-alike of another name, as Cyrillic ѕ of s): spell it in one script")
    if _BUILT_IN_DONE:
        from .parsing import CONSTANTS, RESERVED_NAMES

        if name in RESERVED_NAMES or name in CONSTANTS or hasattr(sp, name):
            raise SymnetError(f"the function name {name!r} is SymPy's (a formula reads it as SymPy's {name}): "
                              f"give the function another name")


def _check_user_entry(entry: Function) -> None:
    """A derivative rule given by the user, against the derivative of the entry's mpmath reference, at 30 digits
    at a few points inside its domain (away from a kink at 0): SymnetError, one line, where they differ. (The step
    check of a derivation compares the rule with SymPy's derivative of the class, which the same user wrote.)"""
    if entry.rule is None or entry.mpmath is None or entry.cls is None:
        return
    u = sp.Dummy("u", real=True)
    try:
        slope = entry.rule.derivative(u)
        table = {entry.cls.__name__: entry.mpmath}
        rule_at = sp.lambdify(u, slope.replace(lambda e: isinstance(e, entry.cls), lambda e: sp.Function(
            entry.cls.__name__)(*e.args)), modules=[table, "mpmath"])
    except Exception:  # noqa: BLE001 - a rule symnet cannot evaluate is left to the derivation's check
        return
    low, high = entry.domain
    with mpmath.workdps(30):
        for point in (0.37, 0.81, 1.7, 3.1, -0.45, -1.3, -2.6):
            if not low < point < high:
                continue
            at = mpmath.mpf(point)
            try:
                given = mpmath.mpf(rule_at(at))
                want = mpmath.diff(entry.mpmath, at)
            except Exception:  # noqa: BLE001 - not a real number there: no evidence either way
                continue
            if not (mpmath.isfinite(given) and mpmath.isfinite(want)):
                continue
            if abs(given - want) > mpmath.mpf(10) ** -12 * max(1, abs(want)):
                raise SymnetError(f"the derivative rule {entry.rule.name!r} of {entry.name!r} disagrees with the "
                                  f"derivative of its mpmath reference: at u = {point} the rule gives "
                                  f"{mpmath.nstr(given, 10)}, the reference {mpmath.nstr(want, 10)}")


def check_argument_domains(entry: Function, values) -> None:
    """Refuse data outside the entry's argument domains, in one line naming the function and the argument:
    ``values`` are its arguments in order (NumPy arrays, torch tensors or numbers; its options too, where a
    domain depends on one: :func:`active_domains`). NaN passes (it is not outside: it propagates, as torch's
    checks let it). A torch tensor is read back to the host for the answer, as torch's own check of
    gaussian_nll_loss does.

    Raises:
        DomainError: an entry below ``low`` or above ``high`` (the first such entry shown).
    """
    from .errors import DomainError, domain_message

    for d in active_domains(entry, values):
        if d.index >= len(values) or values[d.index] is None:
            continue
        x = values[d.index]
        bad = (x < d.low) | (x > d.high)
        if bool(bad.any() if hasattr(bad, "any") else bad):
            first = x[bad].reshape(-1)[0] if hasattr(x, "shape") and getattr(x, "ndim", 0) else x
            raise DomainError(domain_message(entry.name, d.name, d.low, d.high, f"{float(first):g}"))


def _real_number(a) -> float | None:
    """``a`` as a float where it is a real number (Python's or SymPy's), else None."""
    if isinstance(a, (int, float)) and not isinstance(a, bool):
        return float(a)
    return float(a) if isinstance(a, sp.Expr) and a.is_number and a.is_real else None


def needed_checks(entry: Function, args) -> tuple:
    """The :class:`~symnet.derivation.ArgumentCheck` of each argument of ``entry`` with a domain that is not
    a number and that SymPy cannot show to lie inside (exp(s) ≥ 0 needs no check; v and v − 1 do)."""
    from .derivation import ArgumentCheck

    found = []
    for d in active_domains(entry, args):
        if d.index >= len(args) or not isinstance(args[d.index], sp.Expr) or args[d.index].is_number:
            continue
        arg = args[d.index]
        check = ArgumentCheck(entry.name, d.name, d.low, d.high, arg)
        if not _shown_inside(arg, d.low, d.high) and check not in found:
            found.append(check)
    return tuple(found)


def _shown_inside(arg: sp.Expr, low: float, high: float) -> bool:
    """Whether SymPy shows ``arg`` to lie in [low, high] (exp(s) ≥ 0; v and v − 1 it cannot)."""
    above = low == -math.inf or (arg - low).is_nonnegative
    below = high == math.inf or (high - arg).is_nonnegative
    return bool(above and below)


def _settled(function: str, argument: str, low: float, high: float, arg: sp.Expr) -> bool:
    """Whether a mark's check of ``arg`` is settled without data: SymPy shows ``arg`` inside, or it is a number (NaN
    passes). A number outside raises, as the entry called with it does: a substitution made the check a number
    (``REGISTRY["gaussian_nll"](x, t, v).subs(v, -1)`` gave the loss at the clamped variance, 5·10⁵·(x − t)²).

    Raises:
        DomainError: ``arg`` is a real number outside [low, high].
    """
    from .errors import DomainError, domain_message

    value = _real_number(arg)
    if value is None:
        return _shown_inside(arg, low, high)
    if value < low or value > high:
        raise DomainError(domain_message(function, argument, low, high, f"{value:g}"))
    return True


class DomainChecked(sp.Expr):
    """``value``, marked with the argument checks (:class:`~symnet.derivation.ArgumentCheck`) of the registry
    call that built it: ``REGISTRY["gaussian_nll"](x, t, v)`` is the written-out loss marked "v ≥ 0". The
    mark survives what SymPy does to the formula around it (sums, products, substitution) and is taken off,
    its checks collected, by :func:`take_domain_checks` (symnet.derive, the parser, symnet.torch's formulas).
    Otherwise it is transparent: printed and evaluated as ``value``; its derivative, and what ``doit`` makes of
    it, carry the mark too (``sympy.diff`` of the marked loss took it off: symnet.derive of ∂/∂x of
    gaussian_nll(x, t, v) compiled to code that took v = −0.5 silently, where torch's autograd refuses it). A check
    that a substitution settles goes: one SymPy shows inside is dropped, a number outside raises DomainError
    (:func:`_settled`); with none left the value is returned unmarked.

    Stored as SymPy arguments: ``(value, Tuple(Str(function), Str(argument), low, high, expr), ...)``."""

    is_commutative = True

    def __new__(cls, value, *checks):
        rows = [c if isinstance(c, sp.Tuple) else
                sp.Tuple(Str(c.function), Str(c.argument), sp.Float(c.low), sp.Float(c.high), c.expr) for c in checks]
        # (a row whose bounds are not numbers is one SymPy is rewriting for a moment: nsimplify's Dummies for Floats)
        rows = [r for r in rows if not (r[2].is_number and r[3].is_number
                                        and _settled(r[0].name, r[1].name, float(r[2]), float(r[3]), r[4]))]
        if not rows:
            return sp.sympify(value)
        return sp.Expr.__new__(cls, sp.sympify(value), *rows)

    @property
    def value(self) -> sp.Expr:
        return self.args[0]

    @property
    def checks(self) -> tuple:
        from .derivation import ArgumentCheck

        return tuple(ArgumentCheck(f.name, a.name, float(lo), float(hi), e) for f, a, lo, hi, e in self.args[1:])

    def _eval_derivative(self, s):
        derivative = self.value.diff(s)
        return derivative if derivative == 0 else DomainChecked(derivative, *self.args[1:])

    def _eval_evalf(self, prec):
        value = self.value._eval_evalf(prec)
        return value if value is None or value.is_number else DomainChecked(value, *self.args[1:])

    def _eval_nseries(self, x, n, logx, cdir=0):  # the value's series, unmarked (SymPy's series raised here)
        return self.value._eval_nseries(x, n, logx, cdir)

    def _eval_as_leading_term(self, x, logx=None, cdir=0):
        return self.value.as_leading_term(x, logx=logx, cdir=cdir)

    def doit(self, **hints):
        return DomainChecked(self.value.doit(**hints) if hints.get("deep", True) else self.value, *self.args[1:])

    def _eval_is_extended_real(self):
        return self.value.is_extended_real

    def _eval_is_finite(self):
        return self.value.is_finite

    def _eval_is_extended_nonnegative(self):
        return self.value.is_extended_nonnegative

    def _eval_is_extended_positive(self):
        return self.value.is_extended_positive

    def _eval_is_zero(self):
        return self.value.is_zero

    def _sympystr(self, printer):
        return printer._print(self.value)

    def _latex(self, printer):
        return printer._print(self.value)

    def _pretty(self, printer):
        return printer._print(self.value)

    def _as_value(self, printer, *args, **kwargs):
        return printer._print(self.value, *args, **kwargs)

    # SymPy's code printers (lambdify's NumPy, mpmath, SciPy and plain-Python ones, C): the value, as written
    _numpycode = _pythoncode = _mpmathcode = _lambdacode = _scipycode = _cupycode = _jaxcode = _ccode = _as_value


def take_domain_checks(expr):
    """``expr`` without its :class:`DomainChecked` marks, and the checks they held, each once in the order
    met. Anything but a SymPy expression is returned as it is, with no checks."""
    if not isinstance(expr, sp.Basic) or not expr.has(DomainChecked):
        return expr, ()
    found: list = []
    for mark in sp.preorder_traversal(expr):
        if isinstance(mark, DomainChecked):
            found.extend(c for c in mark.checks if c not in found)
    bare = expr.replace(lambda e: isinstance(e, DomainChecked), lambda e: e.value)
    for c in list(found):  # a check inside another's expression (nested calls) is bare too
        i = found.index(c)
        found[i] = type(c)(c.function, c.argument, c.low, c.high, take_domain_checks(c.expr)[0])
    return bare, tuple(dict.fromkeys(found))


def unregister(name: str) -> Function:
    """Remove the entry ``name`` (and its aliases) from every table: the inverse of
    :func:`register`, for a test or a session that added a function of its own. Helpers it
    brought stay (others may call them). Raises SymnetError if ``name`` is not registered."""
    entry = REGISTRY.pop(name, None)
    if entry is None:
        raise SymnetError(f"the function {name!r} is not registered")
    for alias in (entry.name, *entry.aliases):
        NAMES.pop(alias, None)
    if entry.cls is not None and _BY_CLASS.get(entry.cls) is entry:
        del _BY_CLASS[entry.cls]
    _changed()
    return entry


def entry_of(cls: type) -> Function | None:
    """The entry whose SymPy class is ``cls`` (None for a class no entry names)."""
    return _BY_CLASS.get(cls)


def lookup(name: str) -> Function:
    """The entry of a parser name or alias; raises SymnetError for an unknown one."""
    try:
        return NAMES[name]
    except KeyError:
        raise SymnetError(f"unknown function {name!r}; known: {', '.join(sorted(NAMES))}") from None


def rule_of(cls: type) -> Rule | None:
    """The derivative rule of a SymPy class (None: no entry, or no rule of its own)."""
    entry = _BY_CLASS.get(cls)
    return None if entry is None else entry.rule


def unary_rules() -> dict[type, Rule]:
    """SymPy class → its derivative rule, for the entries that are nodes of their own."""
    return {f.cls: f.rule for f in _BY_CLASS.values() if f.rule is not None}


def numpy_template(cls: type) -> tuple[str, str | None] | None:
    """(NumPy template, helper or None) of a SymPy class, or None."""
    entry = _BY_CLASS.get(cls)
    return None if entry is None or entry.numpy is None else (entry.numpy, entry.numpy_helper)


def triton_template(cls: type) -> str | None:
    """The Triton template of a SymPy class, or None."""
    entry = _BY_CLASS.get(cls)
    return None if entry is None else entry.triton


def kink_arguments(node: sp.Basic) -> tuple:
    """Expressions that vanish where ``node`` (one function application) is not differentiable."""
    if isinstance(node, sp.Piecewise):
        found = []
        for _, cond in node.args:
            for rel in _relationals(cond):
                found.append(rel.lhs - rel.rhs)
        return tuple(found)
    entry = _BY_CLASS.get(type(node))
    if entry is None or entry.kinks is None:
        return ()
    return tuple(entry.kinks(node.args))


def _relationals(cond) -> list:
    if isinstance(cond, sp.core.relational.Relational):
        return [cond]
    if isinstance(cond, (sp.And, sp.Or, sp.Not)):
        return [r for a in cond.args for r in _relationals(a)]
    return []


def as_piecewise(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every kinked function written as a Piecewise (relu, |u|, sign, H, max, min)."""
    def rewrite(node):
        entry = _BY_CLASS.get(type(node))
        if entry is not None and entry.piecewise is not None:
            return entry.piecewise(*node.args)
        return node

    kinked = tuple(c for c, f in _BY_CLASS.items() if f.piecewise is not None)
    return expr.replace(lambda n: isinstance(n, kinked), rewrite)


# ------------------------------------------------------------------ Triton device helpers
# Written with tl.exp/tl.log/tl.sqrt/tl.where only (libdevice returns None under
# TRITON_INTERPRET=1); the helpers _log1p, _expm1, _softplus and _tanh of the Triton
# backend (symnet/codegen/backends/triton/elementwise.py) are used by the entries below as well.

TRITON_DEVICE_HELPERS = {
    "_times_two_to": '''\
@triton.jit
def _times_two_to(p, j):
    """p·2^j for a float32 p and an integer-valued float32 j in [−151, 129] (_exp's and _exp2's scaling): 2^j as
    2^⌊j/2⌋·2^(j−⌊j/2⌋), each factor normal (exponents −76 to 65), built from its bits, (p·2^⌊j/2⌋)·2^(j−⌊j/2⌋):
    exact while the products stay normal, a subnormal result rounded once (by the last product)."""
    half = tl.floor(j * 0.5)
    low = ((half.to(tl.int32) + 127) << 23).to(tl.float32, bitcast=True)
    high = (((j - half).to(tl.int32) + 127) << 23).to(tl.float32, bitcast=True)
    return (p * low) * high
''',
    "_exp": '''\
@triton.jit
def _exp(x):
    """e^x, float32 to about 2 ULP (float64: tl.exp; half precision through float32). Triton lowers a float32
    tl.exp to 2^(x·log₂e) with the product rounded to float32, whose error grows with |x|: 63.4 ULP at x = 86.64 on
    an H200 (torch.exp 1.89; benchmarks/results/gpu-exp26-h200-2026-12-04.txt). Here x = j·ln 2 + r (Cody and Waite:
    j·ln2_hi exact, |r| ≤ ln 2/2), e^x = e^r·2^⌊j/2⌋·2^(j−⌊j/2⌋), the two powers of 2 built from their bits (each
    normal: a subnormal e^x rounded once, by the last product); x clamped to [−104, 89] (0 and inf beyond), NaN
    kept."""
    if x.dtype == tl.float64:
        return tl.exp(x)
    v = x.to(tl.float32)  # (bfloat16, float16: in float32, rounded once at the end)
    c = tl.minimum(tl.maximum(v, -104.0), 89.0)
    j = tl.floor(c * 1.4426950408889634 + 0.5)
    r = (c - j * 0.693359375) + j * 2.1219444005469057e-04  # ln 2 = 0.693359375 − 2.12194440e−4 (9 + 24 bits)
    return tl.where(v == v, _times_two_to(tl.exp(r), j), v).to(x.dtype)
''',
    "_exp2": '''\
@triton.jit
def _exp2(u):
    """2^u exactly where it is a power of 2 and to about 2 ULP elsewhere: u = j + r, |r| ≤ ½ exact, 2^r by tl.exp2
    times 2^⌊j/2⌋·2^(j−⌊j/2⌋) from their bits (as _exp; float64: tl.exp2). Before, the printer wrote
    2^u as e^(u·log 2), the product rounded: 502 ULP in float64 at u = 1000, 27 in float32 (h-tsweep26b)."""
    if u.dtype == tl.float64:
        return tl.exp2(u)
    v = u.to(tl.float32)
    c = tl.minimum(tl.maximum(v, -151.0), 129.0)
    j = tl.floor(c + 0.5)
    return tl.where(v == v, _times_two_to(tl.exp2(c - j), j), v).to(u.dtype)
''',
    "_exp_times": '''\
@triton.jit
def _exp_times(u, c_hi, c_lo):
    """e^(u·c) for a constant c = c_hi + c_lo (float64 scalars: c_hi the float64 nearest c, c_lo the rest): the
    printer's b^u = e^(u·log b) for a number b > 0 other than 2. Before, e^(u·log b) with the product rounded to the
    kernel's dtype: |u·log b| ulps of the result (10^u: 84 ULP in float32 at u = 38, 968 in float64 at u = 300;
    torch.pow ≤ 1). float32 (half precision too): u·c in float64 (|u·c| ≤ 104: 2⁻⁴⁶ of the result), its float64
    exponential rounded once. float64: p = fl(u·c_hi), its rounding error by an FMA plus u·c_lo (d, |d| ≤ 2⁻⁴³),
    e^p·(1 + d); where p or e^p is not finite, e^p (inf, 0, NaN as tl.exp's)."""
    if u.dtype == tl.float64:
        prod = u * c_hi
        prod_err = tl.fma(u, c_hi, -prod) + u * c_lo
        ex = tl.exp(prod)
        return tl.where((tl.abs(prod) < float("inf")) & (ex < float("inf")), ex + ex * prod_err, ex)
    return tl.exp(u.to(tl.float64) * c_hi).to(tl.float32).to(u.dtype)
''',
    "_sigmoid": '''\
@triton.jit
def _sigmoid(x):
    """σ(x) from E = e^−|x| ≤ 1 (never overflows): 1/(1 + E) for x ≥ 0, E/(1 + E) below, so
    σ(−100) in float32 is the subnormal 3.7e−44, not 0."""
    e = _exp(-tl.abs(x))
    return tl.where(x >= 0, 1.0, e) / (1.0 + e)
''',
    "_sign": '''\
@triton.jit
def _sign(x):
    """sign(x): −1, 0 or 1; NaN at NaN, as np.sign (0 there made huber's, smooth_l1's and l1's ∂p 0 at a NaN
    prediction, where torch's autograd and the NumPy kernel give NaN)."""
    return tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, tl.where(x == x, 0.0, x)))
''',
    "_tan": '''\
@triton.jit
def _tan(x):
    """tan x = sin x / cos x (tl.sin and tl.cos are not libdevice calls)."""
    return tl.sin(x) / tl.cos(x)
''',
    "_sinh": '''\
@triton.jit
def _sinh(x):
    """sinh x, a = |x|: for a < 1, x + x·z·P(z), z = x², P the Taylor series of (sinh a − a)/a³ (to its a¹⁶/19! term
    in float64, a¹⁰/13! in float32: the next is below 2⁻⁶⁰, 2⁻³⁰ of the sum), odd in x (sinh(−0) = −0, as torch);
    for a ≥ 1, ±(h − 1/(4h)), h = e^a/2 (float64: e^a as (e^(a/2)/2)·e^(a/2) beyond 709, overflowing only where sinh
    does; float32 and half precision: h from float64's e^a, rounded once, so it holds to 89.4). Before (session 31),
    (E + E/(E + 1))/2 with Kahan's E = expm1(a) below 1 and h from e^(a/2) squared above: 2.35 ULP float64 at
    3.8e−6, 4.2 float32 at 2.09 (torch 0.5), and log(cosh u) = log1p(2·sinh²(u/2)) 5.76 ULP float64 at u = 1.6e−10
    (tests/test_user31.py)."""
    if x.dtype == tl.float64:
        a = tl.abs(x)
        z = x * x
        p = tl.full([], 8.22063524662433e-18, tl.float64)  # 1/19!
        p = tl.full([], 2.8114572543455206e-15, tl.float64) + z * p  # 1/17!
        p = tl.full([], 7.647163731819816e-13, tl.float64) + z * p  # 1/15!
        p = tl.full([], 1.6059043836821613e-10, tl.float64) + z * p  # 1/13!
        p = tl.full([], 2.505210838544172e-08, tl.float64) + z * p  # 1/11!
        p = tl.full([], 2.7557319223985893e-06, tl.float64) + z * p  # 1/9!
        p = tl.full([], 0.0001984126984126984, tl.float64) + z * p  # 1/7!
        p = tl.full([], 0.008333333333333333, tl.float64) + z * p  # 1/5!
        p = tl.full([], 0.16666666666666666, tl.float64) + z * p  # 1/3!
        small = x + x * (z * p)
        half = tl.exp(0.5 * a)
        h = tl.where(a < 709.0, 0.5 * tl.exp(a), (0.5 * half) * half)
        big = h - 0.25 / h
        return tl.where(a < 1.0, small, tl.where(x < 0, -big, big))
    v = x.to(tl.float32)
    a = tl.abs(v)
    z = v * v
    p = 1.6059043836821613e-10  # 1/13!
    p = 2.505210838544172e-08 + z * p  # 1/11!
    p = 2.7557319223985893e-06 + z * p  # 1/9!
    p = 0.0001984126984126984 + z * p  # 1/7!
    p = 0.008333333333333333 + z * p  # 1/5!
    p = 0.16666666666666666 + z * p  # 1/3!
    small = v + v * (z * p)
    h = (0.5 * tl.exp(a.to(tl.float64))).to(tl.float32)
    big = h - 0.25 / h
    return tl.where(a < 1.0, small, tl.where(v < 0, -big, big)).to(x.dtype)
''',
    "_cosh": '''\
@triton.jit
def _cosh(x):
    """cosh x = h + 1/(4h), h = e^a/2, a = |x| (float64: e^a as (e^(a/2)/2)·e^(a/2) beyond 709, overflowing only
    where cosh does; float32 and half precision: h from float64's e^a, rounded once). Before (session 31), h from
    e^(a/2) squared: 3.24 ULP float32 at −2.73 (torch 0.24; accuracy-triton-interpreter-full-2026-12-04)."""
    if x.dtype == tl.float64:
        a = tl.abs(x)
        half = tl.exp(0.5 * a)
        h = tl.where(a < 709.0, 0.5 * tl.exp(a), (0.5 * half) * half)
        return h + 0.25 / h
    h = (0.5 * tl.exp(tl.abs(x).to(tl.float64))).to(tl.float32)
    return (h + 0.25 / h).to(x.dtype)
''',
    "_asinh": '''\
@triton.jit
def _asinh(x):
    """asinh x = sign(x)·log1p(a + a²/(1 + √(1 + a²))), a = |x|: full relative accuracy near 0;
    for a > 2²⁸, log(a) + log 2 (the rest, 1/(4a²), is below the last bit). Measured
    (interpreter, against mpmath): 1.2 ulp float64, 1.7 ulp float32."""
    a = tl.abs(x)
    big = a > 268435456.0
    b = tl.where(big, 1.0, a)  # keeps a² finite in the branch not taken
    small = _log1p(b + b * b / (1.0 + tl.sqrt(1.0 + b * b)))
    s = tl.where(big, tl.log(a) + 0.6931471805599453, small)
    return tl.where(x < 0, -s, s)
''',
    "_atan": '''\
@triton.jit
def _atan(x):
    """atan x by Cephes' atan.c (S. L. Moshier): reduce |x| to [0, 0.66] by atan a = π/2 −
    atan(1/a) (a > tan 3π/8) or π/4 + atan((a − 1)/(a + 1)) (a > 0.66), then
    x + x³·P(x²)/Q(x²) of degree 4/5, peak relative error 2.6e-18 on [0, 0.66]. Measured
    (interpreter, against mpmath): 0.8 ulp float64 and float32."""
    a = tl.abs(x)
    big = a > 2.414213562373095
    mid = a > 0.66
    r = tl.where(big, -1.0 / tl.where(big, a, 1.0), tl.where(mid, (a - 1.0) / (a + 1.0), a))
    z = r * r
    p = ((((-8.750608600031904122785e-1 * z - 1.615753718733365076637e1) * z - 7.500855792314704667340e1) * z
          - 1.228866684490136173410e2) * z - 6.485021904942025371773e1)
    q = (((((z + 2.485846490142306297962e1) * z + 1.650270098316988542046e2) * z + 4.328810604912902668951e2) * z
          + 4.853903996359136964868e2) * z + 1.945506571482613964425e2)
    t = r + r * z * p / q
    # the constants added to a tensor (not chosen by tl.where, which would make them float32)
    s = tl.where(big, 1.5707963267948966 + t, tl.where(mid, 0.7853981633974483 + t, t))
    return tl.where(x < 0, -s, s)
''',
    "_erfc": '''\
@triton.jit
def _erfc(x):
    """erfc x by fdlibm's s_erf.c (Sun Microsystems 1993, "Developed at SunPro"; the erfc of FreeBSD
    msun, musl, openlibm, glibc's dbl-64; < 1 ulp), in float64 (a float32 x is rounded once at the end):
    |x| < 0.84375: 1 − (x + x·R(x²)) (x < 1/4) or 1/2 − (x·R(x²) + (x − 1/2)), R = P/Q of degree 8/10;
    |x| < 1.25: (1 − c) − P1(s)/Q1(s), s = |x| − 1, c = 0.84506291151 to 24 bits (x < 0: 1 + (c + P1/Q1));
    |x| < 28: e^(−z² − 0.5625)·e^((z − |x|)(z + |x|) + R/S)/|x| with z = |x| to 1/65536 (z² and z² + 0.5625
    exact), R/S of 1/x² on [1.25, 1/0.35] and [1/0.35, 28] (x < 0: 2 − that; 2 below −6); 0 (2) beyond.
    Measured (interpreter, against mpmath, 12,000 points of x in [−6, 26.5]): 1.6 ulp float64 (the old
    helper: 37 near x = 1.25), 0.5 ulp float32."""
    a = x.to(tl.float64)
    ax = tl.abs(a)
    # |x| < 0.84375
    z = a * a
    r = 1.28379167095512558561e-01 + z * (-3.25042107247001499370e-01 + z * (-2.84817495755985104766e-02 + z * (
        -5.77027029648944159157e-03 + z * -2.37630166566501626084e-05)))
    s = 1.0 + z * (3.97917223959155352819e-01 + z * (6.50222499887672944485e-02 + z * (5.08130628187576562776e-03 + z * (
        1.32494738004321644526e-04 + z * -3.96022827877536812320e-06))))
    y = r / s
    small = tl.where(a < 0.25, 1.0 - (a + a * y), 0.5 - (a * y + (a - 0.5)))
    # 0.84375 <= |x| < 1.25
    t = ax - 1.0
    p = -2.36211856075265944077e-03 + t * (4.14856118683748331666e-01 + t * (-3.72207876035701323847e-01 + t * (
        3.18346619901161753674e-01 + t * (-1.10894694282396677476e-01 + t * (3.54783043256182359371e-02
                                                                            + t * -2.16637559486879084300e-03)))))
    q = 1.0 + t * (1.06420880400844228286e-01 + t * (5.40397917702171048937e-01 + t * (7.18286544141962662868e-02 + t * (
        1.26171219808761642112e-01 + t * (1.36370839120290507362e-02 + t * 1.19844998467991074170e-02)))))
    mid = tl.where(a >= 0, 1.54937088489532470703e-01 - p / q, 1.0 + (8.45062911510467529297e-01 + p / q))
    # 1.25 <= |x| < 28 (|x| clamped into it: the branches not taken stay finite)
    b = tl.minimum(tl.maximum(ax, 1.25), 28.0)
    w = 1.0 / (b * b)
    ra = -9.86494403484714822705e-03 + w * (-6.93858572707181764372e-01 + w * (-1.05586262253232909814e+01 + w * (
        -6.23753324503260060396e+01 + w * (-1.62396669462573470355e+02 + w * (-1.84605092906711035994e+02 + w * (
            -8.12874355063065934246e+01 + w * -9.81432934416914548592e+00))))))
    sa = 1.0 + w * (1.96512716674392571292e+01 + w * (1.37657754143519042600e+02 + w * (4.34565877475229228821e+02 + w * (
        6.45387271733267880336e+02 + w * (4.29008140027567833386e+02 + w * (1.08635005541779435134e+02 + w * (
            6.57024977031928170135e+00 + w * -6.04244152148580987438e-02)))))))
    rb = -9.86494292470009928597e-03 + w * (-7.99283237680523006574e-01 + w * (-1.77579549177547519889e+01 + w * (
        -1.60636384855821916062e+02 + w * (-6.37566443368389627722e+02 + w * (-1.02509513161107724954e+03
                                                                             + w * -4.83519191608651397019e+02)))))
    sb = 1.0 + w * (3.03380607434824582924e+01 + w * (3.25792512996573918826e+02 + w * (1.53672958608443695994e+03 + w * (
        3.19985821950859553908e+03 + w * (2.55305040643316442583e+03 + w * (4.74528541206955367215e+02
                                                                            + w * -2.24409524465858183362e+01))))))
    ratio = tl.where(b < 2.857142857142857, ra / sa, rb / sb)
    h = tl.floor(b * 65536.0) / 65536.0  # fdlibm clears the low word of |x|: z² exact either way
    tail = _exp(-(h * h) - 0.5625) * _exp((h - b) * (h + b) + ratio) / b
    big = tl.where(a >= 0, tail, 2.0 - tail)
    big = tl.where(a < -6.0, 2.0, big)
    far = tl.where(a >= 0, 0.0, 2.0)  # |x| ≥ 28 (and ±inf)
    out = tl.where(ax < 0.84375, small, tl.where(ax < 1.25, mid, tl.where(ax < 28.0, big, far)))
    return tl.where(a != a, a, out).to(x.dtype)  # NaN stays NaN
''',
    "_nexpsq": '''\
@triton.jit
def _nexpsq(x):
    """e^(−x²) without rounding x² (that is an error of x²·ε: 700 ulp at x = 26 in float64):
    x = h + l with h = |x| to 1/64, whose square is exact (|x| capped at 28, where e^(−x²) is 0
    in float64; h then has 12 bits, so h² is exact in float32 too), and
    e^(−x²) = e^(−h²)·e^(−l·(|x| + h)) (Cephes' expx2 idea)."""
    a = tl.minimum(tl.abs(x), 28.0, propagate_nan=tl.PropagateNan.ALL)
    h = tl.floor(a * 64.0) / 64.0
    return _exp(-(h * h)) * _exp(-((a - h) * (a + h)))
''',
    "_nexpsq2": '''\
@triton.jit
def _nexpsq2(x):
    """e^(−x²/2) without rounding x², as _nexpsq (|x| capped at 39, where it is 0 in float64)."""
    a = tl.minimum(tl.abs(x), 39.0, propagate_nan=tl.PropagateNan.ALL)
    h = tl.floor(a * 64.0) / 64.0
    return _exp(-0.5 * (h * h)) * _exp(-0.5 * ((a - h) * (a + h)))
''',
    "_ndtr": '''\
@triton.jit
def _ndtr(x):
    """Φ(x) = erfc(u)/2, u = −x/√2, with the rounding of u corrected: erfc turns a relative error
    ε of u into 2u²·ε (700 ulp at x = −37 in float64). x (capped at ±40, where Φ is 0 or 1) is
    h + l, h = x to 1/64 (12 bits); with c = 1/√2 = c1 + c2, c1 of 12 bits, x·c = h·c1 (exact) +
    (h·c2 + l·c) (small), summed exactly into s + e (Knuth's TwoSum), and
    Φ = (erfc(−s) + e·2/√π·e^(−s²))/2 to first order in e."""
    a = tl.minimum(tl.maximum(x, -40.0, propagate_nan=tl.PropagateNan.ALL), 40.0,
                   propagate_nan=tl.PropagateNan.ALL)
    h = tl.floor(a * 64.0) / 64.0
    p = h * 0.70703125
    q = h * tl.full([], 7.55311865475244e-05, a.dtype) + (a - h) * tl.full([], 0.7071067811865476, a.dtype)
    s = p + q
    b = s - p
    e = (p - (s - b)) + (q - b)
    corr = e * tl.full([], 1.1283791670955126, a.dtype) * _exp(-(s * s))
    return 0.5 * (_erfc(-s) + corr)
''',
    "_gelu_tanh_v": '''\
@triton.jit
def _gelu_tanh_v(a):
    """v + v_l = 2√(2/π)·a·(1 + 0.044715·a²) to twice float64's precision (Dekker's products,
    Knuth's sums), a in float64; returns a², v, v_l (GELU-tanh's S = σ(v): e^v turns a relative
    error δ of v into |v|·δ, 556 ulp at x = −20 in float64)."""
    split = tl.full([], 134217729.0, tl.float64)
    c_hi = tl.full([], 0.044715, tl.float64)
    k_hi = tl.full([], 1.5957691216057308, tl.float64)
    s = a * a
    t = split * a
    ah = t - (t - a)
    al = a - ah
    s_l = ((ah * ah - s) + ah * al + al * ah) + al * al
    m = c_hi * s
    t = split * c_hi
    ch = t - (t - c_hi)
    cl = c_hi - ch
    t = split * s
    sh = t - (t - s)
    sl = s - sh
    m_l = ((ch * sh - m) + ch * sl + cl * sh) + cl * sl
    m_l = m_l + (c_hi * s_l + tl.full([], 2.1960211427085595e-18, tl.float64) * s)
    w = 1.0 + m
    b = w - 1.0
    w_l = ((1.0 - (w - b)) + (m - b)) + m_l
    y = a * w
    t = split * w
    wh = t - (t - w)
    wl = w - wh
    y_l = ((ah * wh - y) + ah * wl + al * wh) + al * wl
    y_l = y_l + a * w_l
    v = k_hi * y
    t = split * k_hi
    kh = t - (t - k_hi)
    kl = k_hi - kh
    t = split * y
    yh = t - (t - y)
    yl = y - yh
    v_l = ((kh * yh - v) + kh * yl + kl * yh) + kl * yl
    v_l = v_l + (k_hi * y_l - tl.full([], 9.96930880911092e-17, tl.float64) * y)
    return s, v, v_l
''',
    "_ndtr_tanh": '''\
@triton.jit
def _ndtr_tanh(x):
    """S(x) = σ(v), v = 2√(2/π)·(x + 0.044715·x³) (GELU-tanh = x·S(x)), with v + v_l from
    _gelu_tanh_v and S = σ(v)·(1 + v_l·σ(−v)) to first order in v_l; in float64 (float32 rounds
    the float64 result once)."""
    a = tl.minimum(tl.maximum(x.to(tl.float64), -30.0, propagate_nan=tl.PropagateNan.ALL), 30.0,
                   propagate_nan=tl.PropagateNan.ALL)  # in float64; beyond ±30, S is 0 or 1
    s, v, v_l = _gelu_tanh_v(a)
    e = _exp(-tl.abs(v))
    sig = tl.where(v >= 0, 1.0, e) / (1.0 + e)  # σ(v), σ(−v): never overflow
    neg = tl.where(v >= 0, e, 1.0) / (1.0 + e)
    return (sig + sig * (v_l * neg)).to(x.dtype)
''',
    "_ndtr_tanh_pdf": '''\
@triton.jit
def _ndtr_tanh_pdf(x):
    """S′(x) = v′·σ(v)·σ(−v), v′ = 2√(2/π)·(1 + 0.134145·x²), with v + v_l from _gelu_tanh_v and
    σσ(v + v_l) = σσ(v)·(1 + v_l·(σ(−v) − σ(v))): 0 where σ(v)σ(−v) underflows (never x²·0)."""
    a = tl.minimum(tl.maximum(x.to(tl.float64), -30.0, propagate_nan=tl.PropagateNan.ALL), 30.0,
                   propagate_nan=tl.PropagateNan.ALL)  # in float64; beyond ±30, S is 0 or 1
    s, v, v_l = _gelu_tanh_v(a)
    e = _exp(-tl.abs(v))
    sig = tl.where(v >= 0, 1.0, e) / (1.0 + e)  # σ(v), σ(−v): never overflow
    neg = tl.where(v >= 0, e, 1.0) / (1.0 + e)
    d = tl.full([], 1.5957691216057308, tl.float64) * (1.0 + tl.full([], 0.134145, tl.float64) * s)
    pair = sig * neg
    return (d * (pair + pair * (v_l * (neg - sig)))).to(x.dtype)
''',
}
TRITON_HELPER_NEEDS = {"_asinh": ("_log1p",), "_ndtr": ("_erfc",),
                       "_ndtr_tanh": ("_gelu_tanh_v",), "_ndtr_tanh_pdf": ("_gelu_tanh_v",)}

# NumPy helpers a NumPy helper calls: emitted with it
NUMPY_HELPER_NEEDS = {"_ndtr_tanh": ("_gelu_tanh_v",), "_ndtr_tanh_pdf": ("_gelu_tanh_v",)}


def numpy_helper_closure(names) -> set:
    """``names`` and every NumPy helper they call, transitively (NUMPY_HELPER_NEEDS)."""
    seen: set = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(NUMPY_HELPER_NEEDS.get(name, ()))
    return seen


# The functions generated for widened bodies (symnet.codegen.doubleword.widened_function), per backend, by name, as
# the printers printed them (the first text printed under a name), for the modules that call them. Kept apart from the
# helper tables below, which list the fixed helpers only: registered in them, every formula a process compiled grew the
# tables (the KL of two 3-class softmaxes: 14 functions, one of which Python takes 1.15 s to compile), and whatever read
# a whole table paid for them all (tests/test_style15.py executes every NumPy helper once per node: 0.05 CPU s a node in
# a fresh process, 1.1–1.3 s after that KL's compile in the same process, 4–6 s in CI).
GENERATED_HELPERS: dict[str, dict[str, str]] = {"numpy": {}, "triton": {}}


class HelperTable(dict):
    """A backend's helper texts by name: it lists the fixed helpers, and gives a generated function's text by its
    name too (:data:`GENERATED_HELPERS`), without listing it."""

    def __init__(self, backend: str, texts: dict):
        super().__init__(texts)
        self.backend = backend

    def __missing__(self, name):
        return GENERATED_HELPERS[self.backend][name]


# NumPy helpers of the generated modules (NumPy has no erf ufunc, and SciPy is no dependency)
NUMPY_HELPERS = HelperTable("numpy", {
    "_erf": '''\
def _erf(x, out=None):
    """erf(x) into out, by math.erf entry by entry: NumPy has no erf ufunc (slow: one Python call
    an entry, but exact to the last bit or so)."""
    import math
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    out[...] = np.frompyfunc(math.erf, 1, 1)(x)
    return out
''',
    "_erfc": '''\
def _erfc(x, out=None):
    """erfc(x) into out, by math.erfc entry by entry (NumPy has no erfc ufunc)."""
    import math
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    out[...] = np.frompyfunc(math.erfc, 1, 1)(x)
    return out
''',
    "_nexpsq": '''\
def _nexpsq(x, c, out=None):
    """e^(−c·x²), c = 1 or 1/2, without rounding x² (that is an error of c·x²·ε: 700 ulp at
    e^(−x²), x = 26, in float64): x = h + l with h = |x| to 1/64, whose square is exact (|x| capped
    where e^(−c·x²) is 0 in float64: h has 12 bits, so h² is exact in float32 too), and
    e^(−c·x²) = e^(−c·h²)·e^(−c·l·(|x| + h)) (Cephes' expx2 idea)."""
    a = np.minimum(np.abs(x), 28.0 if c == 1 else 39.0)  # NaN stays NaN
    h = np.floor(a * 64.0) / 64.0
    return np.multiply(np.exp(-c * (h * h)), np.exp(-c * ((a - h) * (a + h))), out=out)
''',
    "_ndtr": '''\
def _ndtr(x, out=None):
    """Φ(x) = erfc(u)/2, u = −x/√2, in float64 (math.erfc entry by entry), with the rounding of u
    corrected: erfc turns a relative error ε of u into 2u²·ε (700 ulp at x = −37). With
    x·c = p + d exactly (Dekker's product; c = 1/√2 to twice float64's precision, x capped at ±40
    where Φ is 0 or 1), Φ = (erfc(−p) + d·2/√π·e^(−p²))/2 to first order in d."""
    import math
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    a = np.clip(np.asarray(x, np.float64), -40.0, 40.0)  # NaN stays NaN
    c, c_lo = 0.7071067811865476, -4.833646656726457e-17
    t = 134217729.0 * c
    ch = t - (t - c)
    cl = c - ch
    t = 134217729.0 * a
    ah = t - (t - a)
    al = a - ah
    p = a * c
    d = (((ah * ch - p) + ah * cl + al * ch) + al * cl) + a * c_lo
    erfc = np.frompyfunc(math.erfc, 1, 1)(-p).astype(np.float64)
    out[...] = 0.5 * (erfc + d * 1.1283791670955126 * np.exp(-(p * p)))
    return out
''',
    "_gelu_tanh_v": '''\
def _gelu_tanh_v(a):
    """v + v_l = 2√(2/π)·a·(1 + 0.044715·a²) to twice float64's precision (Dekker's products,
    Knuth's sums), a in float64; returns a², v, v_l (GELU-tanh's S = σ(v): e^v turns a relative
    error δ of v into |v|·δ, 556 ulp at x = −20 in float64)."""
    def two_prod(p, q):  # p·q = r + e exactly (Dekker)
        r = p * q
        t = 134217729.0 * p
        ph = t - (t - p)
        t = 134217729.0 * q
        qh = t - (t - q)
        return r, ((ph * qh - r) + ph * (q - qh) + (p - ph) * qh) + (p - ph) * (q - qh)

    s, s_l = two_prod(a, a)
    m, m_l = two_prod(0.044715, s)
    m_l = m_l + (0.044715 * s_l + 2.1960211427085595e-18 * s)
    w = 1.0 + m
    b = w - 1.0
    w_l = ((1.0 - (w - b)) + (m - b)) + m_l
    y, y_l = two_prod(a, w)
    y_l = y_l + a * w_l
    v, v_l = two_prod(1.5957691216057308, y)
    v_l = v_l + (1.5957691216057308 * y_l - 9.96930880911092e-17 * y)
    return s, v, v_l
''',
    "_ndtr_tanh": '''\
def _ndtr_tanh(x, out=None):
    """S(x) = σ(v), v = 2√(2/π)·(x + 0.044715·x³) (GELU-tanh = x·S(x)), with v + v_l from
    _gelu_tanh_v and S = σ(v)·(1 + v_l·σ(−v)) to first order in v_l; in float64 (float32 rounds
    the float64 result once)."""
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    a = np.clip(np.asarray(x, np.float64), -30.0, 30.0)  # NaN stays NaN; beyond ±30, S is 0 or 1
    s, v, v_l = _gelu_tanh_v(a)
    e = np.exp(-np.abs(v))  # ≤ 1: max(e, [v ≥ 0]) is 1 or e, np.where's select without its branches
    sig = np.maximum(e, v >= 0) / (1.0 + e)  # σ(v), σ(−v): never overflows
    neg = np.maximum(e, v < 0) / (1.0 + e)
    out[...] = sig + sig * (v_l * neg)
    return out
''',
    "_ndtr_tanh_pdf": '''\
def _ndtr_tanh_pdf(x, out=None):
    """S′(x) = v′·σ(v)·σ(−v), v′ = 2√(2/π)·(1 + 0.134145·x²), with v + v_l from _gelu_tanh_v and
    σσ(v + v_l) = σσ(v)·(1 + v_l·(σ(−v) − σ(v))): 0 where σ(v)σ(−v) underflows (never x²·0)."""
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    a = np.clip(np.asarray(x, np.float64), -30.0, 30.0)  # NaN stays NaN; beyond ±30, S is 0 or 1
    s, v, v_l = _gelu_tanh_v(a)
    e = np.exp(-np.abs(v))  # ≤ 1: max(e, [v ≥ 0]) is 1 or e, np.where's select without its branches
    sig = np.maximum(e, v >= 0) / (1.0 + e)  # σ(v), σ(−v): never overflows
    neg = np.maximum(e, v < 0) / (1.0 + e)
    d = 1.5957691216057308 * (1.0 + 0.134145 * s)
    pair = sig * neg
    out[...] = d * (pair + pair * (v_l * (neg - sig)))
    return out
''',
})


# ------------------------------------------------------------------ the entries

def _mp(f):
    """An mpmath reference that returns NaN outside the real domain instead of raising."""
    def ref(*args):
        try:
            value = f(*args)
        except (ValueError, ZeroDivisionError):
            return mpmath.mpf("nan")
        return value if not isinstance(value, mpmath.mpc) else mpmath.mpf("nan")
    return ref


def _pw(*pieces):
    return sp.Piecewise(*pieces)


def _unary_kink(args):
    return (args[0],)


def _pairwise(args):
    return tuple(a - b for k, a in enumerate(args) for b in args[k + 1:])


def _F(name, build, **kw):
    return register(Function(name, build, **kw))


_half = sp.Rational(1, 2)
_inf = math.inf

# session 26 (h-cells26): NumPy's float32 exp, expm1, log, tan, sinh, cosh, tanh and arctan are its SIMD
# approximations, not correctly rounded: exp 1.68 ULP at x = −0.294 (torch 0.49; elu/selu/celu ∂x inherit it),
# expm1 2.17 at 88.7 (torch 0.99), tan 1.49 (torch 0.79), tan ∂x 2.71 (torch 1.28), log 1.00 (torch 0.63)
# (benchmarks/results/accuracy-2026-12-04.md). A float32 block is computed in float64 and rounded once: within
# 0.5 ULP and the float64 function's error (2⁻²⁹ of a float32 ULP), at 2–4× the float32 call's time (sin and cos
# are not here: NumPy's float64 sin/cos are 30× its float32 ones, and within 1.2 ULP).
NUMPY_HELPERS["_rounded_once"] = '''\
def _rounded_once(op, x, out=None, scale=None):
    """The NumPy ufunc op at x, times the constant scale where given, into out; a float32 block in float64, rounded
    once to float32 (NumPy's float32 SIMD exp, expm1, log, tan, sinh, cosh, tanh, arctan are up to 1–2.2 ULP off;
    the float64 call rounded once is within 0.5 ULP and 2⁻²⁹ of one; c·f(x) so is too, where the float32 constant
    and product were two roundings more). A value past the float32 range rounds to its infinity, one below it to
    the subnormal or 0, as the float32 call's."""
    if getattr(x, "dtype", None) != np.float32:
        return op(x, out=out) if scale is None else np.multiply(op(x), scale, out=out)
    wide = op(x.astype(np.float64))
    if scale is not None:
        wide *= scale
    with np.errstate(over="ignore", under="ignore"):  # the rounding's own: inf, a subnormal, 0
        if out is None:
            return wide.astype(np.float32)
        np.copyto(out, wide, casting="same_kind")
    return out
'''


# session 28 (h-gate28): c·f(u) where CSE shares f(u) with another output (2^x and its derivative log 2·2^x): the
# shared float32 value times the float32 constant was three roundings, 1.15 ULP for exp2′ in float32 (torch 1.04)
NUMPY_HELPERS["_rounded_once_times"] = '''\
def _rounded_once_times(value, op, x, scale, out=None):
    """c·f(x) where value is f(x) as _rounded_once computed it, into out: float64, value·c (one rounding, the same
    bits as before); a float32 block, f(x) and the product in float64 again, rounded once (value·c rounded f, c and
    the product apart)."""
    if getattr(value, "dtype", None) != np.float32:
        return np.multiply(value, scale, out=out)
    return _rounded_once(op, x, out=out, scale=scale)
'''
NUMPY_HELPER_NEEDS["_rounded_once_times"] = ("_rounded_once",)


def _wide32(ufunc: str) -> dict:
    """The NumPy lowering of a ufunc computed in float64 for a float32 block (_rounded_once)."""
    return {"numpy": f"_rounded_once(np.{ufunc}, {{0}}, out={{out}})", "numpy_helper": "_rounded_once"}


# elementary functions: nodes of their own
_F("exp", sp.exp, cls=sp.exp, rule=Rule("exponential rule", "(eᵘ)′ = eᵘ", sp.exp),
   **_wide32("exp"), triton="_exp({0})", mpmath=mpmath.exp, torch=lambda t, x: t.exp(x))
_F("log", sp.log, aliases=("ln",), cls=sp.log, rule=Rule("logarithm rule", "(log u)′ = 1/u", lambda u: 1 / u),
   **_wide32("log"), triton="tl.log({0})", mpmath=_mp(mpmath.log), torch=lambda t, x: t.log(x),
   domain=(0, _inf))
_F("sqrt", sp.sqrt, mpmath=_mp(mpmath.sqrt), torch=lambda t, x: t.sqrt(x), domain=(0, _inf),
   note="a power u^(1/2): the power rule, np.sqrt, tl.sqrt")
_F("exp2", lambda x: 2 ** x, mpmath=lambda x: mpmath.power(2, x), torch=lambda t, x: t.exp2(x),
   note="a power 2^u: the exponential rule, np.power, tl.exp(u·log 2)")
_F("expm1", expm1, cls=expm1, rule=Rule("expm1 rule", "(eᵘ − 1)′ = eᵘ", sp.exp),
   **_wide32("expm1"), triton="_expm1({0})", mpmath=mpmath.expm1, torch=lambda t, x: t.expm1(x))
_F("log2", lambda x: sp.log(x) / sp.log(2), mpmath=_mp(lambda x: mpmath.log(x, 2)), torch=lambda t, x: t.log2(x),
   domain=(0, _inf), note="log(u)/log 2")
_F("log1p", log1p, cls=log1p, rule=Rule("log1p rule", "log(1 + u)′ = 1/(1 + u)", lambda u: 1 / (1 + u)),
   numpy="np.log1p({0}, out={out})", triton="_log1p({0})", mpmath=_mp(mpmath.log1p), torch=lambda t, x: t.log1p(x),
   domain=(-1, _inf))
_F("abs", sp.Abs, aliases=("Abs",), cls=sp.Abs,
   rule=Rule("absolute-value rule", "|u|′ = sign(u), undefined at u = 0", sp.sign, kink=True),
   kinks=_unary_kink, piecewise=lambda u: _pw((-u, u < 0), (u, True)),
   numpy="np.abs({0}, out={out})", triton="tl.abs({0})", mpmath=abs, torch=lambda t, x: t.abs(x))
_F("sign", sp.sign, cls=sp.sign, rule=Rule("sign rule", "sign′(u) = 0, undefined at u = 0", lambda u: sp.S.Zero,
                                            kink=True),
   kinks=_unary_kink, piecewise=lambda u: _pw((-1, u < 0), (0, sp.Eq(u, 0)), (1, True)),
   numpy="np.sign({0}, out={out})", triton="_sign({0})", mpmath=mpmath.sign, torch=lambda t, x: t.sign(x),
   boundaries=(0.0,))
_F("max", sp.Max, aliases=("Max",), arity=(2, None), cls=sp.Max, kinks=_pairwise,
   piecewise=lambda *a: sp.Max(*a).rewrite(sp.Piecewise),
   numpy="np.maximum({0}, {1}, out={out})", triton="tl.maximum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)",
   mpmath=lambda *a: max(a), torch=lambda t, x, y: t.maximum(x, y))
_F("min", sp.Min, aliases=("Min",), arity=(2, None), cls=sp.Min, kinks=_pairwise,
   piecewise=lambda *a: sp.Min(*a).rewrite(sp.Piecewise),
   numpy="np.minimum({0}, {1}, out={out})", triton="tl.minimum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)",
   mpmath=lambda *a: min(a), torch=lambda t, x, y: t.minimum(x, y))


def _clamp(x, lo, hi):
    """torch.clamp(x, lo, hi). Bounds that are numbers: the select {lo if x < lo; x if x ≤ hi; hi}, with torch's
    derivative: ∂x 1 at x = lo and x = hi (clamp_backward's lo ≤ x ≤ hi) and 0 at x = NaN (every comparison false;
    the printers keep the value NaN there, doubleword.nan_through: x ≥ lo and x > hi ? hi : x); lo > hi is hi
    everywhere (torch: max wins). min(max(x, lo), hi) before, H(x − lo)·H(hi − max(x, lo)): 0 at the kinks, 1 at NaN
    (H(NaN) = 1). Bounds that are inputs: a select of the three on torch's conditions for tensor bounds
    (clamp_backward_min_max: ∂x where lo ≤ x ≤ hi, ∂lo where x < lo < hi, ∂hi where x > hi or hi < lo), each branch
    its own input, so that its derivative is 1 or 0 (min(max(x, lo), hi) before: 1/2 at a kink, H(0)); hi also where
    hi = lo > x (torch's gradient is 0 for all three there: no branch has that derivative). Where an input is NaN,
    NaN, as torch's value (the hi branch only where x and lo are ordered: x ≥ lo or x ≤ lo, false at NaN): sign of
    their sum, whose derivative is 0, plus hi where x > hi or hi < lo holds still (torch's ∂hi 1 there)."""
    lo, hi = sp.sympify(lo), sp.sympify(hi)
    if not (lo.is_number and hi.is_number and lo.is_extended_real and hi.is_extended_real):
        if isinstance(x, sp.Piecewise) and x.args[-1].cond == sp.true:
            # clamp of a select, clamp(clamp(x, a, b), a, b): the select of the clamps of its branches (the same
            # function), whose conditions compare no select: folded as one they took 17 CPU s for three deep
            return sp.Piecewise(*[(_clamp(v, lo, hi), c) for v, c in x.args])
        ordered = sp.Or(x >= lo, x <= lo)  # false where x or lo is NaN (SymPy keeps it: not x ≥ lo ∨ x < lo, True)
        unordered = sp.sign(x + lo + hi)  # NaN where it is taken (an input NaN), its derivative 0
        return sp.Piecewise((x, (x >= lo) & (x <= hi)), (lo, (x < lo) & (lo < hi)),
                            (hi, ((x > hi) | (hi <= lo)) & ordered), (unordered, True))
    if lo > hi:
        return hi
    return sp.Piecewise((lo, x < lo), (x, x <= hi), (hi, True))


_F("clamp", _clamp, arity=(3, 3),
   mpmath=lambda x, lo, hi: min(max(x, lo), hi), torch=lambda t, x, lo, hi: t.clamp(x, lo, hi),
   note="{lo if x < lo; x if x ≤ hi; hi} (number bounds), {x if lo ≤ x ≤ hi; lo if x < lo < hi; hi if x > hi or "
        "hi ≤ lo; NaN} (input bounds): torch's derivative")
_F("where", lambda cond, a, b: sp.Piecewise((a, cond), (b, True)), arity=(3, 3),
   note="where(cond, a, b): a Piecewise; cond is a comparison (x > 0, x <= y, ...)")
# H(u) = u ≤ 0 ? 0 : 1 on both backends, so H(NaN) = 1: relu′ is H, and torch's relu backward is x ≤ 0 ? 0 : g (1 at
# NaN, on every path); a product H(u)·g was that already (the heaviside-gate rule's select, NaN-through: g at NaN),
# H alone was np.heaviside's NaN (NumPy) and tl.where(x > 0, 1, 0)'s 0 (Triton): relu′(NaN) depended on the
# backend and on whether a factor stood beside it. Decided in session 19 (README's numerics paragraph); the cost,
# documented there: the Heaviside function at NaN is 1, where torch.heaviside(x, 0) is 0 and np.heaviside NaN.
NUMPY_HELPERS["_heaviside"] = '''\
def _heaviside(x, out=None):
    """H(x) = x ≤ 0 ? 0 : 1 into out: 0 at 0 (relu′(0) = 0, as torch) and below, 1 above and at NaN (torch's relu
    backward)."""
    x = np.asarray(x)
    if out is None:
        out = np.empty(x.shape, np.result_type(x, np.float32))
    np.less_equal(x, 0, out=out)
    np.subtract(1, out, out=out)
    return out
'''
TRITON_DEVICE_HELPERS["_heaviside"] = '''\
@triton.jit
def _heaviside(x):
    """H(x) = x ≤ 0 ? 0 : 1: 0 at 0 (relu′(0) = 0, as torch) and below, 1 above and at NaN (torch's relu backward)."""
    return tl.where(x <= 0, 0.0, 1.0)
'''
_F("Heaviside", lambda x: sp.Heaviside(x, 0), aliases=("heaviside",), cls=sp.Heaviside,
   rule=Rule("step rule", "H′(u) = 0, undefined at u = 0", lambda u: sp.S.Zero, kink=True),
   kinks=_unary_kink, piecewise=lambda u, *h: _pw((0, u < 0), (h[0] if h else _half, sp.Eq(u, 0)), (1, True)),
   numpy="_heaviside({0}, out={out})", numpy_helper="_heaviside", triton="_heaviside({0})",
   mpmath=lambda x: mpmath.mpf(0) if x <= 0 else mpmath.mpf(1), torch=lambda t, x: t.heaviside(x, t.zeros_like(x)),
   boundaries=(0.0,), note="H(0) = 0, as torch.heaviside(x, 0) and relu′(0) in PyTorch; H(NaN) = 1, as relu′(NaN) there")
_F("sin", sp.sin, cls=sp.sin, rule=Rule("sine rule", "sin′(u) = cos(u)", sp.cos),
   numpy="np.sin({0}, out={out})", triton="tl.sin({0})", mpmath=mpmath.sin, torch=lambda t, x: t.sin(x))
_F("cos", sp.cos, cls=sp.cos, rule=Rule("cosine rule", "cos′(u) = −sin(u)", lambda u: -sp.sin(u)),
   numpy="np.cos({0}, out={out})", triton="tl.cos({0})", mpmath=mpmath.cos, torch=lambda t, x: t.cos(x))
_F("tan", sp.tan, cls=sp.tan, rule=Rule("tangent rule", "tan′(u) = 1 + tan²(u)", lambda u: 1 + sp.tan(u) ** 2),
   **_wide32("tan"), triton="_tan({0})", mpmath=mpmath.tan, torch=lambda t, x: t.tan(x),
   domain=(-1.5, 1.5))
_F("sinh", sp.sinh, cls=sp.sinh, rule=Rule("sinh rule", "sinh′(u) = cosh(u)", sp.cosh),
   **_wide32("sinh"), triton="_sinh({0})", mpmath=mpmath.sinh, torch=lambda t, x: t.sinh(x))
_F("cosh", sp.cosh, cls=sp.cosh, rule=Rule("cosh rule", "cosh′(u) = sinh(u)", sp.sinh),
   **_wide32("cosh"), triton="_cosh({0})", mpmath=mpmath.cosh, torch=lambda t, x: t.cosh(x))
_F("tanh", sp.tanh, cls=sp.tanh, rule=Rule("tanh rule", "tanh′(u) = 1 − tanh²(u)", lambda u: 1 - sp.tanh(u) ** 2),
   **_wide32("tanh"), triton="_tanh({0})", mpmath=mpmath.tanh, torch=lambda t, x: t.tanh(x),
   family="activation")
_F("asinh", sp.asinh, cls=sp.asinh,
   rule=Rule("asinh rule", "asinh′(u) = 1/√(1 + u²)", lambda u: 1 / sp.sqrt(1 + u ** 2)),
   numpy="np.arcsinh({0}, out={out})", triton="_asinh({0})", mpmath=mpmath.asinh, torch=lambda t, x: t.asinh(x))
_F("atan", sp.atan, cls=sp.atan, rule=Rule("atan rule", "atan′(u) = 1/(1 + u²)", lambda u: 1 / (1 + u ** 2)),
   **_wide32("arctan"), triton="_atan({0})", mpmath=mpmath.atan, torch=lambda t, x: t.atan(x))
_F("erf", sp.erf, cls=sp.erf,
   rule=Rule("erf rule", "erf′(u) = 2/√π·e^(−u²)", lambda u: 2 / sp.sqrt(sp.pi) * sp.exp(-u ** 2)),
   numpy="_erf({0}, out={out})", numpy_helper="_erf", triton="tl.erf({0})", mpmath=mpmath.erf,
   torch=lambda t, x: t.erf(x), note="NumPy: math.erf over the block (NumPy has no erf ufunc)")
_F("erfc", sp.erfc, cls=sp.erfc,
   rule=Rule("erfc rule", "erfc′(u) = −2/√π·e^(−u²)", lambda u: -2 / sp.sqrt(sp.pi) * sp.exp(-u ** 2)),
   numpy="_erfc({0}, out={out})", numpy_helper="_erfc", triton="_erfc({0})", mpmath=mpmath.erfc,
   torch=lambda t, x: t.erfc(x), note="NumPy: math.erfc over the block")

_F("ndtr", ndtr, aliases=("Phi",), cls=ndtr,
   rule=Rule("normal-CDF rule", "Φ′(u) = e^(−u²/2)/√(2π)", lambda u: sp.exp(-u ** 2 / 2) / sp.sqrt(2 * sp.pi)),
   numpy="_ndtr({0}, out={out})", numpy_helper="_ndtr", triton="_ndtr({0})", mpmath=mpmath.ncdf,
   torch=lambda t, x: t.special.ndtr(x),
   note="Φ(x) = erfc(−x/√2)/2 with the rounding of x/√2 corrected; NumPy: math.erfc over the block")
# e^(−u²), e^(−u²/2): nodes of the code generator (the exp-square rule), lowered like the entries
# but no parser names (formulas write exp(−u²))
for _cls, _c in ((nexpsq, "1.0"), (nexpsq2, "0.5")):
    _BY_CLASS[_cls] = Function(_cls.__name__, _cls, cls=_cls, numpy=f"_nexpsq({{0}}, {_c}, out={{out}})",
                               numpy_helper="_nexpsq", triton=f"_{_cls.__name__}({{0}})",
                               mpmath=(lambda c: lambda u: mp_exp(-c * u ** 2))(mpmath.mpf(_c)))

# e^(x + y), σ(x + y) with the rounding of x + y corrected (the two-sum rule of
# symnet.codegen.rewrite): nodes of the code generator, no parser names. s = fl(x + y) and its
# error e (Knuth's TwoSum: exact in any binary format, round to nearest), then to first order in e
# e^(s + e) = e^s + e^s·e and σ(s + e) = σ(s) + σ(s)σ(−s)·e; e = 0 where s is ±inf or NaN (TwoSum
# would give NaN there: inf − inf).
TRITON_DEVICE_HELPERS.update({
    "_twosum_error": '''\
@triton.jit
def _twosum_error(x, y, s):
    """The rounding error e of s = fl(x + y), x + y = s + e exactly (Knuth's TwoSum); 0 where s is
    not finite."""
    b = s - x
    e = (x - (s - b)) + (y - b)
    return tl.where(tl.abs(s) < float("inf"), e, 0.0)
''',
    "_exp_plus": '''\
@triton.jit
def _exp_plus(s, d):
    """e^(s + d) for a small d (|d| ≤ 2⁻²⁰: a rounding error or a low part of s; 0 where s is not finite) as
    e^s·(1 + d). float64: tl.exp (libdevice). float32 (half precision through it): 2^(p + q), p = fl(s·L), L = log₂e
    in float32, q = p's rounding error (an FMA: exact) + s·(log₂e − L) + d·log₂e, |q| ≤ 2⁻¹⁷ where e^s is not 0 or
    inf, as tl.exp2(p)·(1 + q·ln 2) (q²/2 below 2⁻³⁴): tl.exp2's own error (ex2.approx.f32, subnormal results kept)
    and two roundings, as _exp's e^r, where Triton's own float32 exponential of s is 2^(fl(s·log₂e)), up to ~60 ULP
    off at s near −87 on a GPU. Cheaper than _exp (no clamp, floor or bits): the row kernels' e^{z_j − m}, 64 a
    thread at 32,768 columns, spilled 480 B (softmax-CE) on sm_90 through _exp, none through this."""
    if s.dtype == tl.float64:
        t = tl.exp(s)
        return tl.where(t < float("inf"), t + t * d, t)  # t = inf: inf·d would be NaN or −inf
    v = s.to(tl.float32)
    p = v * 1.4426950408889634
    q = tl.fma(v, 1.4426950408889634, -p) + (v * 1.925963033500e-08 + d.to(tl.float32) * 1.4426950408889634)
    q = tl.where(tl.abs(p) < float("inf"), q, 0.0)  # p = ±inf (s infinite, or s·L past the range: 1 − 3e38): 0·inf
    t = tl.exp2(p)
    return tl.where(t < float("inf"), t + t * (q * 0.6931471805599453), t).to(s.dtype)
''',
    "_exp_twosum": '''\
@triton.jit
def _exp_twosum(x, y):
    """e^(x + y) = e^s·(1 + e) with s + e = x + y exactly: e^s alone is off by the rounding of x + y
    (|x + y|·ε/2 relative: 256 ulp at x + y = −707 in float64); by _exp_plus."""
    s = x + y
    return _exp_plus(s, _twosum_error(x, y, s))
''',
    "_sigmoid_twosum": '''\
@triton.jit
def _sigmoid_twosum(x, y):
    """σ(x + y) = σ(s) + σ(s)σ(−s)·e with s + e = x + y exactly; σ(±s) from E = e^−|s| ≤ 1 (never
    overflows)."""
    s = x + y
    e = _twosum_error(x, y, s)
    E = _exp(-tl.abs(s))
    sig = tl.where(s >= 0, 1.0, E) / (1.0 + E)
    neg = tl.where(s >= 0, E, 1.0) / (1.0 + E)
    return sig + sig * (neg * e)
''',
})
TRITON_HELPER_NEEDS.update({"_exp_twosum": ("_twosum_error", "_exp_plus"), "_sigmoid_twosum": ("_twosum_error",)})
NUMPY_HELPERS.update({
    "_twosum_error": '''\
def _twosum_error(x, y, s):
    """The rounding error e of s = fl(x + y), x + y = s + e exactly (Knuth's TwoSum); 0 where s is
    not finite."""
    with np.errstate(invalid="ignore"):
        b = s - x
        e = x - (s - b)
        e += y - b
    bad = ~np.isfinite(s)
    return np.where(bad, 0.0, e).astype(s.dtype, copy=False) if bad.any() else e
''',
    "_exp_twosum": '''\
def _exp_twosum(x, y, out=None):
    """e^(x + y) = e^s + e^s·e with s + e = x + y exactly (Knuth's TwoSum): e^s alone is off by the
    rounding of x + y (|x + y|·ε/2 relative: 256 ulp at x + y = −707 in float64). In place where it
    can be: about 2.5 times a plain e^(x + y)."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.add(x, y)
        e = _twosum_error(x, y, s)
        t = np.exp(s)
        e *= t
        r = np.add(t, e, out=out)
        bad = ~np.isfinite(r)  # e^s = inf (inf·e): e^s itself, as it should
        if bad.any():
            np.copyto(r, t, where=bad)
        return r
''',
    "_sigmoid_twosum": '''\
def _sigmoid_twosum(x, y, out=None):
    """σ(x + y) = σ(s) + σ(s)σ(−s)·e with s + e = x + y exactly; σ(±s) from E = e^−|s| ≤ 1 (never
    overflows)."""
    with np.errstate(over="ignore"):  # x + y → ±inf: σ is 1 or 0, as it should
        s = np.add(x, y)
    e = _twosum_error(x, y, s)
    E = np.exp(-np.abs(s))
    r = 1.0 / (1.0 + E)
    q = E * r  # 0 ≤ q ≤ r ≤ 1: max/min select r or q, np.where's bits without its branches
    sig = np.maximum(q, np.minimum(r, s >= 0))  # r for s ≥ 0, q below
    neg = np.minimum(r, np.maximum(q, s < 0))  # q for s ≥ 0, r below
    return np.add(sig, sig * (neg * e), out=out)
''',
})
NUMPY_HELPER_NEEDS.update({"_exp_twosum": ("_twosum_error",), "_sigmoid_twosum": ("_twosum_error",)})
_BY_CLASS[exp_twosum] = Function(
    "exp_twosum", exp_twosum, arity=(2, 2), cls=exp_twosum, numpy="_exp_twosum({0}, {1}, out={out})",
    numpy_helper="_exp_twosum", triton="_exp_twosum({0}, {1})", mpmath=lambda x, y: mp_exp(x + y))
_BY_CLASS[sigmoid_twosum] = Function(
    "sigmoid_twosum", sigmoid_twosum, arity=(2, 2), cls=sigmoid_twosum,
    numpy="_sigmoid_twosum({0}, {1}, out={out})", numpy_helper="_sigmoid_twosum",
    triton="_sigmoid_twosum({0}, {1})", mpmath=lambda x, y: 1 / (1 + mp_exp(-(x + y))))

# a·b·c with the factor of middle magnitude multiplied last (the product-order rule of symnet.codegen.rewrite,
# symnet/special.py): m·(s·l) never leaves the range where a·b·c does not
TRITON_DEVICE_HELPERS["_ordered_product"] = '''\
@triton.jit
def _ordered_product(a, b, c):
    """a·b·c as m·(s·l), m the factor of middle magnitude, s and l the others: s·l overflows only where
    the product does, underflows only where it is below the normal range (two roundings, as a·b·c)."""
    abs_a, abs_b, abs_c = tl.abs(a), tl.abs(b), tl.abs(c)
    a_mid = ((abs_a >= abs_b) & (abs_a <= abs_c)) | ((abs_a <= abs_b) & (abs_a >= abs_c))
    b_mid = ((abs_b >= abs_a) & (abs_b <= abs_c)) | ((abs_b <= abs_a) & (abs_b >= abs_c))
    return tl.where(a_mid, a * (b * c), tl.where(b_mid, b * (a * c), c * (a * b)))
'''
NUMPY_HELPERS["_ordered_product"] = '''\
def _ordered_product(a, b, c, out=None):
    """a·b·c as written, (a·b)·c, and as m·(s·l) (m the factor of middle magnitude) where a·b left the normal
    range (inf, or below 2^−126 / 2^−1022 and not 0 by a 0 factor): s·l overflows only where the product does,
    underflows only where it is below the normal range. The elements redone are gathered: on data where
    nothing overflows, a·b·c and one test of |a·b|."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        ab = np.multiply(a, b)
        r = np.multiply(ab, c, out=out)
        size = np.abs(ab)
        redo = ~((size >= np.finfo(r.dtype).tiny) & (size <= np.finfo(r.dtype).max))
        if not redo.any():
            return r
        redo = np.broadcast_to(redo, r.shape)
        x, y, z = (np.broadcast_to(v, r.shape)[redo] for v in (a, b, c))
        abs_x, abs_y, abs_z = np.abs(x), np.abs(y), np.abs(z)
        x_mid = ((abs_x >= abs_y) & (abs_x <= abs_z)) | ((abs_x <= abs_y) & (abs_x >= abs_z))
        y_mid = ((abs_y >= abs_x) & (abs_y <= abs_z)) | ((abs_y <= abs_x) & (abs_y >= abs_z))
        r[redo] = np.where(x_mid, x * (y * z), np.where(y_mid, y * (x * z), z * (x * y)))
        return r
'''
_BY_CLASS[ordered_product] = Function(
    "ordered_product", ordered_product, arity=(3, 3), cls=ordered_product,
    numpy="_ordered_product({0}, {1}, {2}, out={out})", numpy_helper="_ordered_product",
    triton="_ordered_product({0}, {1}, {2})", mpmath=lambda a, b, c: a * b * c)

# 1/(the largest power of two ≤ |m|) (the homogeneous-quotient rule of symnet.codegen.rewrite, symnet/special.py), from
# the exponent bits: exact, a power of two
TRITON_DEVICE_HELPERS["_binade_reciprocal"] = '''\
@triton.jit
def _binade_reciprocal(m):
    """2^−k, k = ⌊log₂|m|⌋ from |m|'s exponent bits (a subnormal first times 2⁵⁴), −k at most 127 in a float32
    kernel and 1023 in a float64 one and at least −1022 (the power normal); 2 at 0, ±inf and NaN (NumPy's
    ldexp(1, 1 − frexp(m)[1]), clamped alike)."""
    v = tl.abs(m.to(tl.float64))
    small = v < 2.2250738585072014e-308
    up = tl.where(small, v * 18014398509481984.0, v)
    k = ((up.to(tl.int64, bitcast=True) >> 52) & 2047) - tl.where(small, 1077, 1023)
    if m.dtype == tl.float32:
        minus_k = tl.minimum(tl.maximum(-k, -1022), 127)
    else:
        minus_k = tl.minimum(tl.maximum(-k, -1022), 1023)
    power = ((minus_k + 1023) << 52).to(tl.float64, bitcast=True)
    plain = (v != 0.0) & (v < float("inf"))
    return tl.where(plain, power, 2.0).to(m.dtype)
'''
NUMPY_HELPERS["_binade_reciprocal"] = '''\
def _binade_reciprocal(m, out=None):
    """ldexp(1, 1 − e) for m = f·2ᵉ (frexp; exact, in m's dtype): 1 over the largest power of two ≤ |m|, at most the
    dtype's largest power of two (where |m| is subnormal) and at least 2⁻¹⁰²²; 2 at 0, ±inf and NaN (e = 0)."""
    m = np.asarray(m)
    _, e = np.frexp(m)
    k = np.clip(1 - e, -1022, np.finfo(m.dtype).maxexp - 1)
    return np.ldexp(np.ones((), m.dtype), k, out=out)
'''
_BY_CLASS[binade_reciprocal] = Function(
    "binade_reciprocal", binade_reciprocal, arity=(1, 1), cls=binade_reciprocal,
    numpy="_binade_reciprocal({0}, out={out})", numpy_helper="_binade_reciprocal", triton="_binade_reciprocal({0})",
    mpmath=lambda m: mpmath.ldexp(1, 1 - mpmath.frexp(m)[1]) if m and mpmath.isfinite(m) else mpmath.mpf(2))

# sign(b)·(h − |b|)²/h, h = √((x + y)² + b²): the pseudo-Huber loss's ∂δ (the hypot-slope rule of
# symnet.codegen.rewrite, symnet/special.py). In float64 (float32 rounds the float64 result once): the scaled form
# ((α·(a/g))·q)·q, times 1 + c, the first-order correction of its two roundings of consequence (r's, taken to the
# 3rd power, and x + y's, to the 4th): one text for both backends, written with ``M.`` for the array module.
_HYPOT_GAP_SLOPE_DOC = '''"""sign(b)·(h − β)²/h, h = hypot(α, β), α = |x + y|, β = |b| (∂/∂b of the pseudo-Huber loss
    b²(√(1 + ((x + y)/b)²) − 1) = β(h − β)) as F = ((α·A)·q)·q with r = min(α, β)/max(α, β), g = √(1 + r²),
    a = min(1, α/β), A = a/g, q = a/(g + min(1, β/α)): quotients at most 1 and sums of non-negative numbers (no
    overflow where F is finite, no underflow before it, no cancellation). float32: in float64, rounded once.
    float64: x + y by TwoSum (α + α_lo exactly), r, g, A and q in double-word (symnet.codegen.doubleword's
    primitives; the operands scaled by 2⁶⁰⁰ below 2⁻⁹⁰⁰, where Dekker's products underflow), F from their high
    parts and F·(1 + c), c = α_lo/α + A_lo/A + 2·q_lo/q: the three products' roundings are what is left (in
    float: r rounded to the 3rd power, x + y to the 4th, g and q twice: 8.3 ULP at b = 1.06e7, x + y = 0.7)."""'''
_HYPOT_GAP_SLOPE_FLOAT = """\
alpha = M.abs(x + y)
beta = M.abs(b)
small = alpha <= beta
large = M.maximum(alpha, beta)
r = M.where(large > 0, M.minimum(alpha, beta) / large, 0.0)
g = M.sqrt(1.0 + r * r)
a = M.where(small, r, 1.0)
q = a / (g + M.where(small, 1.0, r))
value = ((alpha * (a / g)) * q) * q
"""
_HYPOT_GAP_SLOPE_BODY = """\
s = x + y
e = _twosum_error(x, y, s)
alpha = M.abs(s)
alpha_lo = M.where(s < 0, -e, e)  # |x + y| = alpha + alpha_lo exactly
beta = M.abs(b)
small = alpha <= beta
# the ratio r = min/max ≤ 1, g = √(1 + r²), A = a/g and q in double-word (hi, lo), the operands scaled by 2⁶⁰⁰
# below 2⁻⁹⁰⁰ (r does not change; Dekker's products keep their parts normal)
up = M.where(M.maximum(alpha, beta) < TINY, UP, 1.0)
beta_up = M.where(beta > 0, beta * up, 1.0)  # α = β = 0: r = 0, not 0/0
r_hi, r_lo = _dw_div(M.where(small, alpha * up, beta_up), M.where(small, alpha_lo * up, 0.0),
                     M.where(small, beta_up, alpha * up), M.where(small, 0.0, alpha_lo * up))
r_hi = M.where(r_hi == r_hi, r_hi, M.where(small, 0.0, M.minimum(alpha, beta) / alpha))  # an infinite α or β
r_lo = M.where(r_lo == r_lo, r_lo, 0.0)
r2_hi, r2_lo = _dw_mul(r_hi, r_lo, r_hi, r_lo)
g2_hi, g2_lo = _dw_add_fp(r2_hi, r2_lo, 1.0)
g_hi, g_lo = _dw_sqrt(g2_hi, g2_lo)
one = M.where(small, r_hi, 1.0)  # a = min(1, α/β)
one_lo = M.where(small, r_lo, 0.0)
A_hi, A_lo = _dw_div(one, one_lo, g_hi, g_lo)
d_hi, d_lo = _dw_add(g_hi, g_lo, M.where(small, 1.0, r_hi), M.where(small, 0.0, r_lo))  # g + min(1, β/α)
q_hi, q_lo = _dw_div(one, one_lo, d_hi, d_lo)
# F = ((α·A)·q)·q, its partial products at least F and at most α; then F·(1 + c), c the relative low parts
scaled = ((alpha * A_hi) * q_hi) * q_hi
c = alpha_lo / alpha + A_lo / A_hi + 2.0 * (q_lo / q_hi)
value = M.where(M.abs(scaled) < INF, scaled + scaled * c, scaled)  # F = inf (|x + y| = inf): inf, not inf·0
value = M.where(value == value, value, scaled)  # α = 0 (c = 0/0): F = 0
"""


def _indented(text, spaces):
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(keepends=True))


TRITON_DEVICE_HELPERS["_hypot_gap_slope"] = (
    "@triton.jit\ndef _hypot_gap_slope(x, y, b):\n    " + _HYPOT_GAP_SLOPE_DOC + "\n"
    "    dtype = b.dtype\n"
    "    b = b.to(tl.float64)\n"
    "    x = x.to(tl.float64) + tl.zeros_like(b)\n"
    "    y = y + tl.zeros_like(b)  # a tensor of either width, or a number\n"
    "    if dtype == tl.float64:\n"
    + _indented(_HYPOT_GAP_SLOPE_BODY.replace("M.", "tl.").replace("TINY", f"tl.full([], {2.0 ** -900!r}, tl.float64)")
                .replace("UP", f"tl.full([], {2.0 ** 600!r}, tl.float64)").replace("INF", 'float("inf")'), 8)
    + "    else:\n" + _indented(_HYPOT_GAP_SLOPE_FLOAT.replace("M.", "tl."), 8)
    + "    return tl.where(b > 0, value, tl.where(b < 0, -value, b)).to(dtype)  # sign(b)·value; b where 0 or NaN\n")
TRITON_HELPER_NEEDS["_hypot_gap_slope"] = ("_twosum_error", "_dw_div", "_dw_mul", "_dw_add_fp", "_dw_add", "_dw_sqrt")
NUMPY_HELPERS["_hypot_gap_slope"] = (
    "def _hypot_gap_slope(x, y, b, out=None):\n    " + _HYPOT_GAP_SLOPE_DOC + "\n"
    "    if out is None:\n"
    "        out = np.empty(np.broadcast(x, y, b).shape, np.result_type(x, y, b, np.float32))\n"
    "    x, y, b = (np.asarray(v, np.float64) for v in (x, y, b))\n"
    "    with np.errstate(over=\"ignore\", under=\"ignore\", invalid=\"ignore\", divide=\"ignore\"):\n"
    "        if out.dtype == np.float64:\n"
    + _indented(_HYPOT_GAP_SLOPE_BODY.replace("M.", "np.").replace("TINY", repr(2.0 ** -900)).replace("UP", repr(2.0 ** 600))
                .replace("INF", "np.inf"), 12)
    + "        else:\n" + _indented(_HYPOT_GAP_SLOPE_FLOAT.replace("M.", "np."), 12)
    + "        out[...] = np.sign(b) * value\n"
    "    return out\n")
NUMPY_HELPER_NEEDS["_hypot_gap_slope"] = ("_twosum_error", "_dw_div", "_dw_mul", "_dw_add_fp", "_dw_add", "_dw_sqrt")
_BY_CLASS[hypot_gap_slope] = Function(
    "hypot_gap_slope", hypot_gap_slope, arity=(3, 3), cls=hypot_gap_slope,
    numpy="_hypot_gap_slope({0}, {1}, {2}, out={out})", numpy_helper="_hypot_gap_slope",
    triton="_hypot_gap_slope({0}, {1}, {2})",
    mpmath=lambda x, y, b: (mpmath.sign(b) * abs(x + y) ** 4
                            / (mpmath.hypot(x + y, b) * (mpmath.hypot(x + y, b) + abs(b)) ** 2)))

# m·n·σ(a·b)·σ(−a·b) = m·n·E/(1 + E)², E = e^−|a·b|: ∂β of the learnable-β swish x·σ(β·x) (the product-pair rule of
# symnet.codegen.rewrite, symnet/special.py). float32: in float64 (a·b and m·n exact there), rounded once. float64:
# a·b, m·n, (1 + E)² and m·n·E by Dekker's products, the quotient in double-word, rounded once; E = e^v·(1 + v_lo)
# to first order in the low part of v = −|a·b|. One text for both backends (``M.`` the array module; the names in
# _PAIR_CONSTANTS replaced by each backend's float64 constant: Triton makes a Python float literal float32).
_SIGMOID_PAIR_DOC = '''"""m·n·σ(a·b)·σ(−a·b) = m·n·E/(1 + E)² with E = e^−|a·b| ≤ 1 (never overflows), shapes alike,
    float32 or float64. float32: in float64 (a·b and m·n exact), rounded once. float64: a·b = u + u_lo and m·n =
    p + p_lo exactly (Dekker), E = E0 + E1 with E0 = e^−|u| and E1 = E0·(∓u_lo) (first order), s = fl(1 + E0)
    and its rounding exactly (Fast2Sum), (1 + E)² = s² + 2s·(rounding + E1) (s² by Dekker), the numerator
    p·E0 by Dekker and its low parts, the quotient in double-word (symnet.codegen.doubleword's _dw_div), rounded
    once: e^'s own error and that rounding (1.14 ULP on a·b in [−3, 1], 1.44 on [−40, 40], measured; written
    as E/(1 + E)² and x·(x·…), 3.3 ULP). m and n beyond 2^±400 are scaled by 2^∓600 and E below e^−600 computed
    as e^(v + 1024·ln 2), the result scaled back: m·n·E is normal where E is subnormal (x = 1e150, β·x = 720).
    a·b beyond 2⁹⁹⁶ is NaN (the rule's select takes the written form's limit beyond |a·b| = 3.4e38)."""'''
_SIGMOID_PAIR_BODY = """\
u, u_lo = _dw_two_prod(a, b)
v = -M.abs(u)
v_lo = M.where(u < 0.0, u_lo, -u_lo)  # −|a·b| = v + v_lo exactly
# below v = −600, e^v at a shift of 1024·ln 2 (in two parts), the result scaled back by 2⁻¹⁰²⁴ at the end
far = v < -600.0
shift = M.where(far, SHIFT_HI, 0.0)
t = v + shift
t_lo = _twosum_error(v, shift, t)
E0 = M.exp(t)
E1 = E0 * ((t_lo + v_lo) + M.where(far, SHIFT_LO, 0.0))
# 1 + E = s + w_lo, s = fl(1 + E0) (1 where far: E < 2⁻⁸⁶⁵); (1 + E)² = D + D_lo to within w_lo²
E0_near = M.where(far, 0.0, E0)
s = 1.0 + E0_near
w_lo = (E0_near - (s - 1.0)) + M.where(far, 0.0, E1)
D, D_lo = _dw_two_prod_bounded(s, s)
D_lo = D_lo + 2.0 * s * w_lo
# m and n into [2⁻⁴⁰⁰, 2⁴²⁴] (the products below stay under 2⁹⁹⁶: Dekker's splits finite), h² the scale back
m_big = M.abs(m) > UP_400
m_small = M.abs(m) < DOWN_400
n_big = M.abs(n) > UP_400
n_small = M.abs(n) < DOWN_400
m_scaled = m * M.where(m_big, DOWN_600, M.where(m_small, UP_600, 1.0))
n_scaled = n * M.where(n_big, DOWN_600, M.where(n_small, UP_600, 1.0))
h = M.where(m_big, UP_300, M.where(m_small, DOWN_300, 1.0)) * M.where(n_big, UP_300, M.where(n_small, DOWN_300, 1.0))
h = h * M.where(far, DOWN_512, 1.0)
p, p_lo = _dw_two_prod_bounded(m_scaled, n_scaled)
N, N_lo = _dw_two_prod_bounded(p, E0)
N_lo = N_lo + (p_lo * E0 + p * E1)
q, q_lo = _dw_div(N, N_lo, D, D_lo)
value = ((q + q_lo) * h) * h
"""
_SIGMOID_PAIR_FLOAT = """\
E = M.exp(-M.abs(a * b))
one_plus = 1.0 + E
value = ((m * n) * E) / (one_plus * one_plus)
"""
_PAIR_CONSTANTS = {"SHIFT_HI": 709.782712893384, "SHIFT_LO": 2.3747039373786107e-14, "UP_400": 2.0 ** 400,
                   "DOWN_400": 2.0 ** -400, "UP_600": 2.0 ** 600, "DOWN_600": 2.0 ** -600, "UP_300": 2.0 ** 300,
                   "DOWN_300": 2.0 ** -300, "DOWN_512": 2.0 ** -512}


def _pair_text(body, module):
    """``body`` for the array module ``module`` ("np" or "tl"), its constants float64 in Triton too."""
    import re

    def constant(match):
        value = _PAIR_CONSTANTS[match.group(0)]
        return repr(value) if module == "np" else f"tl.full([], {value!r}, tl.float64)"
    return re.sub(r"\b(%s)\b" % "|".join(_PAIR_CONSTANTS), constant, body.replace("M.", module + "."))


TRITON_DEVICE_HELPERS["_sigmoid_pair_product"] = (
    "@triton.jit\ndef _sigmoid_pair_product(a, b, m, n):\n    " + _SIGMOID_PAIR_DOC + "\n"
    "    dtype = a.dtype\n"
    "    a, b, m, n = a.to(tl.float64), b.to(tl.float64), m.to(tl.float64), n.to(tl.float64)\n"
    "    if dtype == tl.float64:\n" + _indented(_pair_text(_SIGMOID_PAIR_BODY, "tl"), 8)
    + "    else:\n" + _indented(_pair_text(_SIGMOID_PAIR_FLOAT, "tl"), 8)
    + "    return value.to(dtype)\n")
_PAIR_NEEDS = ("_twosum_error", "_dw_two_prod", "_dw_two_prod_bounded", "_dw_div")
TRITON_HELPER_NEEDS["_sigmoid_pair_product"] = _PAIR_NEEDS
NUMPY_HELPERS["_sigmoid_pair_product"] = (
    "def _sigmoid_pair_product(a, b, m, n, dtype=None, out=None):\n    " + _SIGMOID_PAIR_DOC + "\n"
    "    if out is None:  # dtype: the kernel's, where its block is float64 in a float32 kernel\n"
    "        out = np.empty(np.broadcast(a, b, m, n).shape, dtype or np.result_type(a, b, m, n, np.float32))\n"
    "    a, b, m, n = (np.asarray(v, np.float64) for v in (a, b, m, n))\n"
    "    with np.errstate(over=\"ignore\", under=\"ignore\", invalid=\"ignore\", divide=\"ignore\"):\n"
    "        if out.dtype == np.float64:\n" + _indented(_pair_text(_SIGMOID_PAIR_BODY, "np"), 12)
    + "        else:\n" + _indented(_pair_text(_SIGMOID_PAIR_FLOAT, "np"), 12)
    + "        out[...] = value\n"
    "    return out\n")
NUMPY_HELPER_NEEDS["_sigmoid_pair_product"] = _PAIR_NEEDS
_BY_CLASS[sigmoid_pair_product] = Function(
    "sigmoid_pair_product", sigmoid_pair_product, arity=(4, 4), cls=sigmoid_pair_product,
    numpy="_sigmoid_pair_product({0}, {1}, {2}, {3}, dtype={dtype}, out={out})", numpy_helper="_sigmoid_pair_product",
    triton="_sigmoid_pair_product({0}, {1}, {2}, {3})",
    mpmath=lambda a, b, m, n: m * n * mp_exp(-abs(a * b)) / (1 + mp_exp(-abs(a * b))) ** 2)

# e^(x − m) for m a max of x and other inputs (the infinite-shift rule of symnet.codegen.rewrite):
# exp_twosum(x, −m), and 1 where x = m (the largest term of a max-shifted sum, also where m = ±inf:
# inf − inf would be NaN)
TRITON_DEVICE_HELPERS["_exp_shift"] = '''\
@triton.jit
def _exp_shift(x, m):
    """e^(x − m), 1 where x = m: the max's own term of a max-shifted sum, also where m is ±inf."""
    return tl.where(x == m, 1.0, _exp_twosum(x, -m))
'''
TRITON_HELPER_NEEDS["_exp_shift"] = ("_exp_twosum", "_twosum_error")
NUMPY_HELPERS["_exp_shift"] = '''\
def _exp_shift(x, m, out=None):
    """e^(x − m), 1 where x = m: the max's own term of a max-shifted sum, also where m is ±inf
    (inf − inf would be NaN)."""
    r = _exp_twosum(x, -m, out=out)
    same = x == m
    if same.any():
        np.copyto(r, 1.0, where=same)
    return r
'''
NUMPY_HELPER_NEEDS["_exp_shift"] = ("_exp_twosum",)
_BY_CLASS[exp_shift] = Function(
    "exp_shift", exp_shift, arity=(2, 2), cls=exp_shift, numpy="_exp_shift({0}, {1}, out={out})",
    numpy_helper="_exp_shift", triton="_exp_shift({0}, {1})",
    mpmath=lambda x, m: mpmath.mpf(1) if x == m else mp_exp(x - m))

# S(x), S′(x) of GELU-tanh = x·S(x) (symnet/special.py): nodes of their own, no parser names
_BY_CLASS[ndtr_tanh] = Function(
    "ndtr_tanh", ndtr_tanh, cls=ndtr_tanh, numpy="_ndtr_tanh({0}, out={out})", numpy_helper="_ndtr_tanh",
    triton="_ndtr_tanh({0})",
    rule=Rule("tanh-CDF rule", "S′(u) = 2√(2/π)·(1 + 0.134145·u²)·σ(v)·σ(−v), v = 2√(2/π)·(u + 0.044715·u³)",
              ndtr_tanh_pdf),
    mpmath=lambda x: 1 / (1 + mp_exp(-2 * mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x ** 3))),
    torch=lambda t, x: t.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
_BY_CLASS[ndtr_tanh_pdf] = Function(
    "ndtr_tanh_pdf", ndtr_tanh_pdf, cls=ndtr_tanh_pdf, numpy="_ndtr_tanh_pdf({0}, out={out})",
    numpy_helper="_ndtr_tanh_pdf", triton="_ndtr_tanh_pdf({0})",
    rule=Rule("tanh-CDF density rule", "S″(u) = v″·σσ(−) + v′·S′(u)·(σ(−v) − σ(v))",
              lambda u: ndtr_tanh_pdf(u).fdiff()),
    mpmath=lambda x: (2 * mpmath.sqrt(2 / mpmath.pi) * (1 + 3 * mpmath.mpf("0.044715") * x ** 2)
                      / (1 + mp_exp(-2 * mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x ** 3)))
                      / (1 + mp_exp(2 * mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x ** 3)))),
    torch=lambda t, x: (2 * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x ** 2)
                        * t.sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))
                        * t.sigmoid(-2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))))

# S(x) + x·S′(x), GELU-tanh′ (the gelu-tanh-slope rule of symnet.codegen.rewrite): for x < −1/4,
# e^v·((1 + x·v′) + e^v)/(1 + e^v)² with x·v′ + 1 in double-word arithmetic; S + x·S′ as the two
# helpers above elsewhere. In float64 (float32 rounds the float64 result once).
TRITON_DEVICE_HELPERS["_ndtr_tanh_slope"] = """\
@triton.jit
def _ndtr_tanh_slope(x):
    \"\"\"S(x) + x·S′(x) (GELU-tanh′): for x < −1/4, e^v·((1 + x·v′) + e^v)/(1 + e^v)² with x·v′ =
    2√(2/π)·x·(1 + 0.134145·x²) and 1 + x·v′ in double-word arithmetic (symnet.codegen.doubleword's
    primitives), e^(v + v_l) = e^v·(1 + v_l), and, below e^v = 1/8, the quotient by (1 + e^v)² as
    q·(1 − c) with c = e^v(2 + e^v)/(1 + e^v)² small: one rounding of consequence each (S + x·S′ as
    written: 5.4 ULP in float64 at x = −3.92). Elsewhere S + x·S′ as _ndtr_tanh, _ndtr_tanh_pdf.\"\"\"
    a = tl.minimum(tl.maximum(x.to(tl.float64), -30.0, propagate_nan=tl.PropagateNan.ALL), 30.0,
                   propagate_nan=tl.PropagateNan.ALL)  # in float64; beyond ±30, S is 0 or 1, S′ is 0
    s, v, v_l = _gelu_tanh_v(a)
    e = _exp(-tl.abs(v))
    sig = tl.where(v >= 0, 1.0, e) / (1.0 + e)
    neg = tl.where(v >= 0, e, 1.0) / (1.0 + e)
    pair = sig * neg
    k = tl.full([], 1.5957691216057308, tl.float64)
    c3 = tl.full([], 0.134145, tl.float64)
    written = (sig + sig * (v_l * neg)) + a * (k * (1.0 + c3 * s) * (pair + pair * (v_l * (neg - sig))))
    one = tl.full([], 1.0, tl.float64)
    # 1 + x·v′ = 1 + k·a·(1 + c3·a²), k = 2√(2/π) and c3 = 3·0.044715 as double-words (hi + lo)
    s_hi, s_lo = _dw_two_prod(a, a)
    m_hi, m_lo = _dw_mul(s_hi, s_lo, c3, tl.full([], 1.3526957332032908e-17, tl.float64))
    w_hi, w_lo = _dw_add_fp(m_hi, m_lo, one)
    y_hi, y_lo = _dw_mul_fp(w_hi, w_lo, a)
    xd_hi, xd_lo = _dw_mul(y_hi, y_lo, k, tl.full([], -9.96930880911092e-17, tl.float64))
    u, u_l = _dw_add_fp(xd_hi, xd_lo, one)
    q = e * ((u + e) + u_l)
    den = (1.0 + e) * (1.0 + e)
    c = e * (2.0 + e) / den
    left = tl.where(e < 0.125, q + q * (v_l - c), (q + q * v_l) / den)
    return tl.where(a < -0.25, left, written).to(x.dtype)
"""
TRITON_HELPER_NEEDS["_ndtr_tanh_slope"] = ("_gelu_tanh_v", "_dw_two_prod", "_dw_mul", "_dw_add_fp", "_dw_mul_fp")
NUMPY_HELPERS["_ndtr_tanh_slope"] = """\
def _ndtr_tanh_slope(x, out=None):
    \"\"\"S(x) + x·S′(x) (GELU-tanh′): for x < −1/4, e^v·((1 + x·v′) + e^v)/(1 + e^v)² with x·v′ =
    2√(2/π)·x·(1 + 0.134145·x²) and 1 + x·v′ in double-word arithmetic (symnet.codegen.doubleword's
    primitives), e^(v + v_l) = e^v·(1 + v_l), and, below e^v = 1/8, the quotient by (1 + e^v)² as
    q·(1 − c) with c = e^v(2 + e^v)/(1 + e^v)² small: one rounding of consequence each (S + x·S′ as
    written: 5.4 ULP in float64 at x = −3.92). Elsewhere S + x·S′ as _ndtr_tanh, _ndtr_tanh_pdf; in
    float64 (float32 rounds the float64 result once).\"\"\"
    if out is None:
        out = np.empty(np.shape(x), np.result_type(x, np.float32))
    a = np.clip(np.asarray(x, np.float64), -30.0, 30.0)  # NaN stays NaN; beyond ±30, S is 0 or 1, S′ is 0
    s, v, v_l = _gelu_tanh_v(a)
    e = np.exp(-np.abs(v))
    sig = np.where(v >= 0, 1.0, e) / (1.0 + e)
    neg = np.where(v >= 0, e, 1.0) / (1.0 + e)
    pair = sig * neg
    out[...] = (sig + sig * (v_l * neg)) + a * (1.5957691216057308 * (1.0 + 0.134145 * s) * (pair + pair * (v_l * (neg - sig))))
    left = a < -0.25  # the double-word form only where it is taken (its cost, not its value: as np.where)
    if not left.any():
        return out
    a, v_l, e = a[left], v_l[left], e[left]
    # 1 + x·v′ = 1 + k·a·(1 + c3·a²), k = 2√(2/π) and c3 = 3·0.044715 as double-words (hi + lo)
    s_hi, s_lo = _dw_two_prod(a, a)
    m_hi, m_lo = _dw_mul(s_hi, s_lo, 0.134145, 1.3526957332032908e-17)
    w_hi, w_lo = _dw_add_fp(m_hi, m_lo, 1.0)
    y_hi, y_lo = _dw_mul_fp(w_hi, w_lo, a)
    xd_hi, xd_lo = _dw_mul(y_hi, y_lo, 1.5957691216057308, -9.96930880911092e-17)
    u, u_l = _dw_add_fp(xd_hi, xd_lo, 1.0)
    q = e * ((u + e) + u_l)
    den = (1.0 + e) * (1.0 + e)
    c = e * (2.0 + e) / den
    out[left] = np.where(e < 0.125, q + q * (v_l - c), (q + q * v_l) / den)
    return out
"""
NUMPY_HELPER_NEEDS["_ndtr_tanh_slope"] = ("_gelu_tanh_v", "_dw_two_prod", "_dw_mul", "_dw_add_fp", "_dw_mul_fp")
_BY_CLASS[ndtr_tanh_slope] = Function(
    "ndtr_tanh_slope", ndtr_tanh_slope, cls=ndtr_tanh_slope, numpy="_ndtr_tanh_slope({0}, out={out})",
    numpy_helper="_ndtr_tanh_slope", triton="_ndtr_tanh_slope({0})",
    mpmath=lambda x: _BY_CLASS[ndtr_tanh].mpmath(x) + x * _BY_CLASS[ndtr_tanh_pdf].mpmath(x))

NAMES["ndtr_tanh"], NAMES["ndtr_tanh_pdf"] = _BY_CLASS[ndtr_tanh], _BY_CLASS[ndtr_tanh_pdf]  # a printed
# gradient of gelu_tanh parses back (symnet derive --format json); not rows of the registry's own tables

# activations
_F("sigmoid", sigmoid, aliases=("σ",), cls=sigmoid,
   rule=Rule("sigmoid rule", "σ′(u) = σ(u)(1 − σ(u))", lambda u: sigmoid(u) * (1 - sigmoid(u))),
   numpy="_sigmoid({0}, out={out})", numpy_helper="_sigmoid", triton="_sigmoid({0})",
   mpmath=lambda x: 1 / (1 + mp_exp(-x)), torch=lambda t, x: t.sigmoid(x), family="activation")
# relu(x) as torch computes it, x < 0 ? 0 : x (at::clamp_min, CPU scalar and vectorised): +0 below 0, x itself
# elsewhere, so relu(−0.0) = −0.0 (a −0 is a real difference for a 1/x downstream: −inf, not inf) and relu(NaN) =
# NaN. np.maximum(x, 0) and tl.maximum give +0 at −0.0 (session 18, tests/test_nan18.py), and NumPy leaves which of
# two equal zeros maximum returns to the machine's instruction: the helpers below say it.
NUMPY_HELPERS["_relu"] = '''\
def _relu(x, out=None):
    """relu(x) = x < 0 ? 0 : x into out, as torch: +0 below 0, x itself elsewhere (−0.0 stays −0.0, NaN stays
    NaN). np.maximum(x, 0) is +0 at −0.0, so where x is ±0 it is x's own zero."""
    x = np.asarray(x)
    if out is None:
        out = np.empty(x.shape, np.result_type(x, np.float32))
    np.maximum(x, 0, out=out)
    np.copyto(out, x, where=np.equal(x, 0))
    return out
'''
TRITON_DEVICE_HELPERS["_relu"] = '''\
@triton.jit
def _relu(x):
    """relu(x) = x < 0 ? 0 : x, as torch: +0 below 0, x itself elsewhere (−0.0 stays −0.0, NaN stays NaN;
    tl.maximum(x, 0.0) is +0 at −0.0)."""
    return tl.where(x < 0, 0.0, x)
'''
_F("relu", relu, cls=relu, rule=Rule("ReLU rule", "relu′(u) = H(u), undefined at u = 0", sp.Heaviside, kink=True),
   kinks=_unary_kink, piecewise=lambda u: _pw((0, u < 0), (u, True)),
   numpy="_relu({0}, out={out})", numpy_helper="_relu", triton="_relu({0})",
   mpmath=lambda x: max(x, 0), torch=lambda t, x: t.relu(x), boundaries=(0.0,), family="activation")
_F("softplus", lambda x, beta=1, threshold=None: _softplus(x, beta, threshold), arity=(1, 3), cls=softplus,
   rule=Rule("softplus rule", "softplus′(u) = σ(u)", sigmoid),
   numpy="np.logaddexp(0, {0}, out={out})", triton="_softplus({0})",
   mpmath=lambda x, beta=1, threshold=None: (x if threshold is not None and beta * x > threshold
                                             else mpmath.log1p(mp_exp(beta * x)) / beta),
   torch=lambda t, x: t.nn.functional.softplus(x, threshold=1e300), family="activation",
   note="softplus(x, beta, threshold) as in torch: x where beta·x > threshold")


def _softplus(x, beta, threshold):
    if (beta is None or beta == 1) and threshold is None:
        return softplus(x)
    beta = 1 if beta is None else _nonzero("softplus", "beta", beta, "softplus(beta*x)")  # was "is undefined
    inner = softplus(beta * x) / beta  # (it would be zoo)" (session 47)
    return inner if threshold is None else sp.Piecewise((x, beta * x > threshold), (inner, True))


_SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 32)
_SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 32)


def _elu(x, alpha=1):
    return sp.Piecewise((x, x > 0), (alpha * expm1(x), True))


# Options outside an activation's domain, refused as torch refuses them (a Piecewise of overlapping
# conditions or a division by 0 derived without a word before: hardtanh(x, 1, -1) had derivative 0).
def _ordered(name, lo, hi):
    if (sp.sympify(lo) - hi).is_positive:
        raise ParseError(f"the options of {name}(x, lo, hi) must have lo ≤ hi (torch's min_val ≤ max_val), "
                         f"not {lo} > {hi}")
    return lo


def _not_negative(name, option, value):
    if sp.sympify(value).is_negative:
        raise ParseError(f"the option {option} of {name}() must be ≥ 0, not {value}")
    return value


def _nonzero(name, option, value, divided="x"):
    if sp.sympify(value).is_zero:
        raise ParseError(f"the option {option} of {name}() must not be 0 (it divides {divided})")
    return value


def _act(name, build, mp, torch_, arity=(1, 1), boundaries=(), **kw):
    return _F(name, build, arity=arity, mpmath=mp, torch=torch_, boundaries=boundaries, family="activation", **kw)


def _mpelu(x, alpha=1):
    return x if x > 0 else alpha * mpmath.expm1(x)


_act("leaky_relu", lambda x, slope=sp.Rational(1, 100): sp.Piecewise((x, x > 0), (slope * x, True)),
     lambda x, slope=mpmath.mpf("0.01"): x if x > 0 else slope * x,
     lambda t, x: t.nn.functional.leaky_relu(x, 0.01), arity=(1, 2), boundaries=(0.0,))
# relu6 and hardtanh with torch's derivative at the kinks: 0 at x = lo and x = hi (hardtanh_backward passes the
# gradient only where lo < x < hi); at NaN 0, torch's vectorised CPU loop's (lo < x < hi, false at NaN) and the
# convention of every piecewise activation here (README; tests/test_nan18.py): the middle piece taken where x < hi,
# so that NaN falls through to hi's piece in the derivative, 0 (torch's CUDA kernel and scalar loop, x ≤ lo or x ≥ hi
# ? 0 : g, give 1; symnet did until session 34), and the printers keep the value NaN there (x ≥ hi ? hi : x). At lo = 0
# the lower piece is relu(x) (relu′(0) = H(0) = 0), which keeps torch's −0.0 at x = −0.0 where a select x ≤ 0 would
# return +0.
def _clamped(x, lo, hi):
    return sp.Piecewise((relu(x) if sp.sympify(lo).is_zero else lo, x <= lo), (x, x < hi), (hi, True))


_act("relu6", lambda x: _clamped(x, 0, 6),  # NaN falls through to x, as torch,
     lambda x: min(max(x, 0), 6), lambda t, x: t.nn.functional.relu6(x), boundaries=(0.0, 6.0))
_act("elu", _elu, _mpelu, lambda t, x: t.nn.functional.elu(x), arity=(1, 2), boundaries=(0.0,))
# selu(x) = {λx if x > 0; λα·expm1(x)}, the constant λα one number (λ·(α·expm1(x)) rounded both constants and both
# products: 1.24 ULP float32 at x = −0.7317, torch.selu 1.03; session 27)
_act("selu", lambda x: sp.Piecewise((_SELU_SCALE * x, x > 0), ((_SELU_SCALE * _SELU_ALPHA).evalf(32) * expm1(x), True)),
     lambda x: mpmath.mpf("1.0507009873554804934193349852946") * _mpelu(x, mpmath.mpf("1.6732632423543772848170429916717")),
     lambda t, x: t.nn.functional.selu(x), boundaries=(0.0,))
_act("celu", lambda x, alpha=1: sp.Piecewise((x, x > 0), (alpha * expm1(x / _nonzero("celu", "alpha", alpha)), True)),
     lambda x, alpha=1: x if x > 0 else alpha * mpmath.expm1(x / alpha),
     lambda t, x: t.nn.functional.celu(x), arity=(1, 2), boundaries=(0.0,))
_act("gelu", lambda x: x * ndtr(x),  # x·Φ(x): x/2·(1 + erf(x/√2)) cancels for x ≪ 0
     lambda x: x * mpmath.ncdf(x), lambda t, x: t.nn.functional.gelu(x))
_act("gelu_tanh", lambda x: x * ndtr_tanh(x),  # x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), as x·σ(v) (special.py)
     lambda x: x / 2 * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x ** 3))),
     lambda t, x: t.nn.functional.gelu(x, approximate="tanh"))
_act("silu", lambda x: x * sigmoid(x), lambda x: x / (1 + mp_exp(-x)), lambda t, x: t.nn.functional.silu(x),
     aliases=("swish",))
_act("mish", lambda x: x * sp.tanh(softplus(x)), lambda x: x * mpmath.tanh(mpmath.log1p(mp_exp(x))),
     lambda t, x: t.nn.functional.mish(x))
_act("softsign", lambda x: x / (1 + sp.Abs(x)), lambda x: x / (1 + abs(x)), lambda t, x: t.nn.functional.softsign(x))
_act("hardtanh", lambda x, lo=-1, hi=1: _clamped(x, _ordered("hardtanh", lo, hi), hi),
     lambda x, lo=-1, hi=1: min(max(x, lo), hi), lambda t, x: t.nn.functional.hardtanh(x),
     arity=(1, 3), boundaries=(-1.0, 1.0))
# (x/6 + 1/2 where x < 3, after x ≤ −3: the derivative's select {0; 1/6 if x < 3; 0 otherwise} is 0 at x = NaN, as torch's
# hardsigmoid_backward on every path (CPU scalar, CPU vectorised, CUDA); ≥ 3 first gave 1/6. The value stays NaN there.)
_act("hardsigmoid", lambda x: sp.Piecewise((0, x <= -3), (x / 6 + _half, x < 3), (1, True)),
     lambda x: min(max(x / 6 + mpmath.mpf(1) / 2, 0), 1), lambda t, x: t.nn.functional.hardsigmoid(x),
     boundaries=(-3.0, 3.0))
# hardswish(x) = x·clamp(x + 3, 0, 6)/6 (Howard et al. 2019, "Searching for MobileNetV3"), written x·{0; 1; (x + 3)/6}
# as torch computes it: x·0 below −3 is −0 (torch −0, a select's 0 was +0: tests/test_nan18.py), x·1 above 3 is x;
# the derivative SymPy gives is the same select, {0; 1; x/3 + 1/2}
_act("hardswish", lambda x: x * sp.Piecewise((0, x <= -3), (1, x >= 3), ((x + 3) / 6, True)),
     lambda x: x * min(max(x + 3, 0), 6) / 6, lambda t, x: t.nn.functional.hardswish(x), boundaries=(-3.0, 3.0))
_act("logsigmoid", lambda x: -softplus(-x), lambda x: -mpmath.log1p(mp_exp(-x)),
     lambda t, x: t.nn.functional.logsigmoid(x))
_act("tanhshrink", lambda x: x - sp.tanh(x), lambda x: x - mpmath.tanh(x), lambda t, x: t.nn.functional.tanhshrink(x))
_act("softshrink", lambda x, lam=_half: sp.Piecewise((x - lam, x > _not_negative("softshrink", "lam", lam)),
                                                     (x + lam, x < -lam), (0, True)),
     lambda x, lam=mpmath.mpf(1) / 2: x - lam if x > lam else (x + lam if x < -lam else mpmath.mpf(0)),
     lambda t, x: t.nn.functional.softshrink(x), arity=(1, 2), boundaries=(-0.5, 0.5))
_act("hardshrink", lambda x, lam=_half: sp.Piecewise((x, x > lam), (x, x < -lam), (0, True)),
     lambda x, lam=mpmath.mpf(1) / 2: x if (x > lam or x < -lam) else mpmath.mpf(0),
     lambda t, x: t.nn.functional.hardshrink(x), arity=(1, 2), boundaries=(-0.5, 0.5))



def activation_names() -> tuple[str, ...]:
    """The activations a dense layer and the fused training step accept (besides "linear")."""
    return tuple(f.name for f in REGISTRY.values() if f.family == "activation")


from . import losses as _losses  # noqa: E402,F401 - registers the elementwise losses (symnet/losses.py)

# erfcx(x) = e^(x²)·erfc(x) (torch.special.erfcx, scipy.special.erfcx): a parser name, and the node the scaled-erfc
# rule of symnet.codegen.rewrite writes erfc(u)·e^(u²) as; erfcx′ = 2u·erfcx(u) − 2/√π as the rule writes it, which
# the same rewrite turns into the node erfcx_slope (computed whole: written out it cancels to −1/(u²√π) for u ≫ 1).
# Helpers generated by symnet/scaled_erfc.py (coefficients from mpmath when it is imported).
from . import scaled_erfc as _scaled_erfc  # noqa: E402
from .special import erfcx, erfcx_slope, erfcx_slope_tail  # noqa: E402

TRITON_DEVICE_HELPERS.update(_scaled_erfc.triton_helpers())
TRITON_HELPER_NEEDS.update({"_erfcx": ("_erfc",), "_erfcx_slope": ("_erfc",)})
NUMPY_HELPERS.update(_scaled_erfc.numpy_helpers())
NUMPY_HELPER_NEEDS.update({"_erfcx": ("_erfc",), "_erfcx_slope": ("_erfc",)})
TRITON_DEVICE_HELPERS.update(_scaled_erfc.triton_tail_helpers())
TRITON_HELPER_NEEDS["_erfcx_slope_tail"] = ("_erfc",)
NUMPY_HELPERS.update(_scaled_erfc.numpy_tail_helpers())
NUMPY_HELPER_NEEDS["_erfcx_slope_tail"] = ("_erfc",)
_F("erfcx", erfcx, cls=erfcx,
   rule=Rule("erfcx rule", "erfcx′(u) = 2u·erfcx(u) − 2/√π", lambda u: 2 * u * erfcx(u) - 2 / sp.sqrt(sp.pi)),
   numpy="_erfcx({0}, out={out})", numpy_helper="_erfcx", triton="_erfcx({0})", mpmath=_scaled_erfc.mp_erfcx,
   torch=lambda t, x: t.special.erfcx(x),
   note="e^(x²)·erfc(x) in float64 by symnet/scaled_erfc.py (Taylor pieces, A&S 7.1.23); overflows below −26.6")
_BY_CLASS[erfcx_slope] = Function(
    "erfcx_slope", erfcx_slope, cls=erfcx_slope, numpy="_erfcx_slope({0}, out={out})", numpy_helper="_erfcx_slope",
    triton="_erfcx_slope({0})", mpmath=_scaled_erfc.mp_erfcx_slope)
# erfcx′(u) + 1/(√π·u²), the derivative of erfcx(u) − 1/(√π·u): the scaled-erfc rule's node (session 27)
_BY_CLASS[erfcx_slope_tail] = Function(
    "erfcx_slope_tail", erfcx_slope_tail, cls=erfcx_slope_tail, numpy="_erfcx_slope_tail({0}, out={out})",
    numpy_helper="_erfcx_slope_tail", triton="_erfcx_slope_tail({0})", mpmath=_scaled_erfc.mp_erfcx_slope_tail)


# float32's exponential (_exp): every device helper that calls it needs it
for _name, _code in TRITON_DEVICE_HELPERS.items():
    if _name != "_exp" and re.search(r"(?<![\w.])_exp\(", _code):
        TRITON_HELPER_NEEDS[_name] = tuple(TRITON_HELPER_NEEDS.get(_name, ())) + ("_exp",)
# and 2^j from its bits (_times_two_to), one helper for _exp and _exp2
for _name in ("_exp", "_exp2"):
    TRITON_HELPER_NEEDS[_name] = tuple(TRITON_HELPER_NEEDS.get(_name, ())) + ("_times_two_to",)

_BUILT_IN_DONE = True  # from here on, register() checks an entry as a user's (_check_user_entry)
