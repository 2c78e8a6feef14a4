"""The kernel description: what a derivation computes, as one CSE'd list of assignments.

From a :class:`~symnet.derivation.Derivation` it collects the named inputs (with their
roles), the outputs (the forward value and each gradient) and one common-subexpression-
eliminated assignment list that computes all outputs together, so the forward value and
its gradient share work (σ(z) is computed once and reused in σ(z)(1 − σ(z))). Every
backend emits source from this one description.

Names. A kernel keeps the user's names for its public face: the generated function is
called as ``k(x=..., b1=...)`` and its outputs are named ``f``, ``df_dx``. Each name must be
an identifier (a letter, then letters, digits or underscores; not a keyword; not starting
with ``_``): anything else is refused with a :class:`~symnet.errors.ParseError` naming it.
Inside generated code the backends do not use those names directly: :func:`local_names`
gives each one a local identifier that cannot collide with any name the generator uses
(modules such as ``np`` and ``tl``, builtins such as ``range``, the kernel's temporaries,
masks, pointers, constexprs, helpers, the kernel's own name), keeping the user's name
wherever it is free (``x`` stays ``x``; ``range`` becomes ``range_``, ``λ`` becomes
``lamda``). Generator-owned names beginning with ``_`` are out of every user's reach.

Temporaries. :func:`temporary_names` names each CSE temporary by its math (``1 − y`` →
``one_minus_y``, ``e^−|z|`` → ``exp_neg_abs_z``, ``σ(z)`` → ``sig_z``), from a table of words
per SymPy class and registry function, avoiding the inputs' and outputs' names (a user's
variable called ``sig_z`` keeps its name and the temporary becomes ``sig_z_2``); a
description longer than 20 characters becomes a numbered name by its kind (``prod_1``).
"""
from __future__ import annotations

import builtins
import functools
import keyword
import re
import unicodedata
from dataclasses import dataclass

import sympy as sp

from ..derivation import ArgumentCheck, Derivation
from ..engine import forward_expressions
from ..onesided import close_collapsed
from ..errors import ParseError, SymnetError
from ..parsing import as_symbol
from ..progress import say
from ..render import text
from .chains import quotient_chain
from .doubleword import nan_through
from .names import FALLBACK_WORDS, _math_name
from .rewrite import (SHARED_POWERS, SIGMOID_PAIR, RoundingError, Rule, Stabiliser, WidenedBase, unordered_symbols,
                      without_ite)

__all__ = ["Kernel", "KernelInput", "KernelOutput", "describe", "local_names", "stability_section",
           "temporary_names", "output_comment"]

ROLES = ("data", "parameter", "target", "upstream")


@dataclass(frozen=True)
class KernelInput:
    symbol: sp.Symbol
    name: str  # the user's name, a Python identifier: the keyword the kernel is called with
    role: str


@dataclass(frozen=True)
class KernelOutput:
    name: str
    expr: sp.Expr  # in terms of the inputs (before CSE), for comments and verification
    meaning: str  # readable math: "f", "∂f/∂x"
    wrt: sp.Symbol | None = None  # the input a gradient is taken with respect to


@dataclass(frozen=True)
class Kernel:
    name: str
    formula: str
    inputs: tuple[KernelInput, ...]
    outputs: tuple[KernelOutput, ...]
    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]  # temporaries, in order
    results: tuple[sp.Expr, ...]  # one per output, in terms of inputs and temporaries
    rules: tuple[Rule, ...]  # the stability rules that fired
    domains: tuple[ArgumentCheck, ...] = ()  # data the function refuses outside a domain (Derivation.domains)


_NAME = re.compile(r"[^\W\d_]\w*")  # a letter, then letters, digits, underscores
MAX_NAME = 100

# Names generated code may rely on whatever the kernel: keywords, builtins, and the modules
# the emitted modules import (each backend adds the names of its own skeleton).
COMMON_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"np", "numpy", "tl", "triton", "torch", "math", "os"}


def public_name(name: str, what: str = "variable") -> str:
    """``name`` if it can be a keyword argument and an output's name; else ParseError naming it."""
    problem = None
    if not name:
        problem = "is empty"
    elif len(name) > MAX_NAME:
        name, problem = name[:20] + "…", f"is longer than {MAX_NAME} characters"
    elif name.startswith("_"):
        problem = "starts with '_', which is reserved for names in generated code"
    elif keyword.iskeyword(name):
        problem = "is a Python keyword"
    elif not (_NAME.fullmatch(name) and name.isidentifier()) or unicodedata.normalize("NFKC", name) != name:
        problem = "is not an identifier (a letter, then letters, digits or underscores)"
    if problem:
        raise ParseError(f"the {what} name {name!r} {problem}: rename it to generate a kernel")
    return name


def _ascii(name: str) -> str:
    """An ASCII spelling: accents dropped (é → e), Greek letters by name (λ → lamda, Θ → Theta)."""
    out = []
    for ch in unicodedata.normalize("NFKD", name):
        if ch.isascii():
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif unicodedata.name(ch, "").startswith("GREEK"):
            word = unicodedata.name(ch).split()[-1].lower()
            out.append(word.capitalize() if ch.isupper() else word)
        else:
            out.append(f"u{ord(ch):04x}")
    ident = "".join(out)
    return ident if re.fullmatch(r"[A-Za-z]\w*", ident) else "v_" + re.sub(r"\W", "_", ident)


def local_names(names, reserved, forms=("{}",)) -> dict:
    """A local identifier for each user name, in generated code that uses the names ``reserved``
    (a set, or a predicate) and derives further names from each local one by ``forms`` (e.g.
    ``"{}_ptr"`` for its pointer): the user's name where every derived name is free, else
    ``name_``, ``name__``, …, so that no two names, derived or reserved, are ever the same."""
    taken = reserved if callable(reserved) else reserved.__contains__
    used: set = set()
    out = {}
    for name in names:
        ident = _ascii(name)
        while any(taken(f.format(ident)) or f.format(ident) in used for f in forms) or keyword.iskeyword(ident):
            ident += "_"
        used.update(f.format(ident) for f in forms)
        out[name] = ident
    return out


def _default_name(title: str) -> str:
    """The kernel's name when none is given, from the derivation's (a display name such as
    'mse-sigmoid'): an ASCII identifier that hides no builtin or module the code uses."""
    ident = re.sub(r"\W", "_", title.encode("ascii", "ignore").decode()).strip("_")[:MAX_NAME] or "kernel"
    if ident[0].isdigit():
        ident = f"kernel_{ident}"
    if keyword.iskeyword(ident) or ident in COMMON_NAMES:
        ident = f"{ident}_kernel"
    return ident


def _output_name(name: str, taken: set) -> str:
    base, k, ident = name, 1, name
    while ident in taken:
        k += 1
        ident = f"{base}_{k}"
    taken.add(ident)
    return ident


def describe(d: Derivation, *, name: str | None = None, roles: dict | None = None,
             value: bool = True, gradients: bool = True) -> Kernel:
    """The kernel computing ``d``'s forward value and/or its gradients elementwise."""
    if any(not isinstance(w, sp.Symbol) for w in d.wrt) or any(isinstance(t, sp.Indexed) for t, _ in d.definitions):
        raise SymnetError(f"'{d.name or d.title}' is an index-form derivation: it is generated as a "
                          "layer kernel, not as an elementwise function")
    roles = dict(roles or {})
    roles = {as_symbol(k, "role's variable", known=d.inputs) if isinstance(k, str) else k: v
             for k, v in roles.items()}
    unknown = [k for k in roles if k not in d.inputs]
    if unknown:
        raise SymnetError(f"roles name {unknown[0]}, which is not an input of the derivation")
    # arguments in the order data, parameters, targets, upstream gradients; by name within
    ordered = sorted(d.inputs, key=lambda s: (ROLES.index(roles.get(s, "data")), str(s)))
    inputs = tuple(KernelInput(s, public_name(str(s)), roles.get(s, "data")) for s in ordered)
    taken = {i.name for i in inputs}
    if len(taken) < len(inputs):
        twice = next(i.name for k, i in enumerate(inputs) if i.name in {j.name for j in inputs[:k]})
        raise ParseError(f"two different inputs are both named {twice!r} (e.g. one real and one not): "
                         "rename one to generate a kernel")
    for inp in inputs:
        if inp.role not in ROLES:
            raise SymnetError(f"unknown role {inp.role!r} for {inp.symbol}; roles are {', '.join(ROLES)}")
    outs: list[KernelOutput] = []
    forward = forward_expressions(d)
    if value:
        for out, expr in forward.items():
            outs.append(KernelOutput(_output_name(public_name(str(out), "output"), taken), expr, text(out)))
    if gradients:
        for row, out in enumerate(d.outputs):
            for col, w in enumerate(d.wrt):
                ident = _output_name(public_name(f"d{out}_d{public_name(str(w))}", "output"), taken)
                outs.append(KernelOutput(ident, d.jacobian[row, col], f"∂{text(out)}/∂{text(w)}", w))
    if not outs:
        raise SymnetError("a kernel needs at least one output")
    stable, fired = [], []
    stabilise = Stabiliser()  # the outputs share their subexpressions (a value and N gradients of Σ e^{a_i})
    for k, o in enumerate(outs):
        say(f"stabilising {o.meaning} ({k + 1} of {len(outs)})")  # on compile's progress line, where one is shown
        # a select SymPy collapsed to no 'otherwise' inside a branch whose condition it ends in (onesided's
        # close_collapsed, exact): ∂ of log(elu(hardswish(x))) was refused before (h-hyp28)
        e, rules = stabilise(close_collapsed(o.expr))
        stable.append(e)
        fired += [r for r in rules if r not in fired]
    shared = SIGMOID_PAIR.apply(sp.Tuple(*stable))
    if SIGMOID_PAIR.fired(sp.Tuple(*stable), shared):
        stable, fired = list(shared), fired + [SIGMOID_PAIR]
    powers = SHARED_POWERS.apply(sp.Tuple(*stable))  # x³·y³ as (x·y)³ before CSE shares x³ and y³ (h-xfail33)
    if SHARED_POWERS.fired(sp.Tuple(*stable), powers):
        stable, fired = list(powers), fired + [SHARED_POWERS]
    # CSE temporaries t0, t1, … (the backends name them by their math: temporary_names): never
    # the name of an input (a real t0 and a plain t0 differ only in assumptions)
    temps = sp.numbered_symbols("t", start=0, exclude=[sp.Symbol(i.name) for i in inputs])
    stable = [nan_through(without_ite(e)) for e in stable]
    # a recovered rounding error is a temporary of its own, whose comment says why it is there
    # (temporary_comment): listed once more, so that CSE takes it out however often it is used
    errors = sorted({n for e in stable for n in e.atoms(RoundingError)}, key=sp.default_sort_key)
    stable = _one_series_each(stable)
    say("common subexpressions")
    assignments, results = _cse(stable + errors, temps)
    results = results[:len(stable)]
    assignments, results = _constant_exponents(assignments, results)
    assignments = [(t, without_ite(e)) for t, e in assignments]
    assignments, results = _inline_reciprocals(assignments, results)
    assignments, results = _shared_again(assignments, results, temps)
    formula = "; ".join(f"{text(out)} = {text(e)}" for out, e in forward.items())
    name = public_name(name, "kernel") if name else _default_name(d.name)
    return Kernel(name, formula,
                  inputs, tuple(outs), tuple(assignments), tuple(results), tuple(fired), d.domains)


def _one_series_each(exprs: list) -> list:
    """Series nodes (roots.SeriesBase) of one shift and coefficients made one node, so that CSE computes their Horner
    sum once: the printers read only those, and their exact function (for evalf and mpmath) is the same function,
    however the rules rewrote it in one place and not in another (the log1p-series rule's gate tests the series' sum in
    a select's condition, which the rules do not walk, beside the same sum in its value; h-gate28)."""
    from .roots import SeriesBase

    first: dict = {}
    swap: dict = {}
    for e in exprs:
        for n in sorted(e.atoms(SeriesBase), key=sp.default_sort_key):
            key = (type(n), n.args[0], n.args[2:])
            if first.setdefault(key, n) is not n:
                swap[n] = first[key]
    return [e.xreplace(swap) for e in exprs] if swap else exprs


class _SymbolMax(sp.Max):
    """sp.Max of real symbols of unknown sign (:func:`~.rewrite.unordered_symbols`), for the length of
    one ``sp.cse`` call. cse builds every node it walks anew, and ``sp.Max(a0, …, a59)`` built anew
    compares all 1770 pairs again, a factor_terms each (3.5 s of a written 60-term log-sum-exp's
    compile), although no two such symbols are ever ordered: this node is built without the
    comparisons. Named Max, it sorts and hashes as sp.Max does, so cse's result is the same."""

    def __new__(cls, *args, **options):  # SymPy rebuilds a node with evaluate=False (xreplace, subs): the same node
        return super().__new__(cls, *args, evaluate=False) if unordered_symbols(args) else sp.Max(*args, **options)


_SymbolMax.__name__ = _SymbolMax.__qualname__ = "Max"


def _cse(exprs: list, temps) -> tuple[list, list]:
    """``sp.cse(exprs, symbols=temps, order="none")``, the same temporaries and results, without
    comparing the arguments of a Max of many symbols pair by pair again (:class:`_SymbolMax`)."""
    fast = {m: _SymbolMax(*m.args) for e in exprs for m in e.atoms(sp.Max) if unordered_symbols(m.args)}
    if not fast:
        return sp.cse(exprs, symbols=temps, order="none")
    assignments, results = sp.cse([e.xreplace(fast) for e in exprs], symbols=temps, order="none")

    def back(e):
        return e.xreplace({m: sp.Max(*m.args, evaluate=False) for m in e.atoms(_SymbolMax)
                           if type(m) is _SymbolMax})
    return [(t, back(e)) for t, e in assignments], [back(e) for e in results]


def _unconditional_calls(e, found: list):
    """The applied functions (log1p(…), expm1(…)) of ``e`` outside any select's branches and conditions, in order, each
    as often as it occurs."""
    if isinstance(e, sp.Piecewise) or not isinstance(e, sp.Basic):
        return
    if isinstance(e, sp.Function) and not isinstance(e, (sp.Piecewise, sp.Abs)):
        found.append(e)
    for a in e.args:
        _unconditional_calls(a, found)


def _shared_again(assignments, results, temps):
    """CSE's temporaries that are the same expression once CSE's own temporaries are in them made one, and a function
    of one that then occurs twice outside any select (expm1(k·fn) of both) a temporary of its own, computed once:
    CSE compares the expressions as they were, and log1p((x − λ)/λ) and log1p(−(λ − x)/λ) (the rules' forms of one
    value, the quotient-power-near-one rule's in ∂x and ∂λ of the Weibull NLL) became two temporaries log1p(−t0/λ)
    once λ − x was t0, each computed on every element, and expm1 of each twice more (h-weib52). Only where two
    temporaries were made one: other kernels are as CSE gives them."""
    swap: dict = {}
    seen: dict = {}
    kept = []
    for t, e in assignments:
        e = e.xreplace(swap) if swap else e
        if isinstance(e, sp.Expr) and not e.is_Atom and e in seen:
            swap[t] = seen[e]
            continue
        seen.setdefault(e, t)
        kept.append((t, e))
    if not swap:
        return assignments, results
    results = [r.xreplace(swap) for r in results]
    merged = set(swap.values())
    while True:
        calls: list = []
        for e in [e for _, e in kept] + results:
            _unconditional_calls(e, calls)
        twice = [c for c in dict.fromkeys(calls) if calls.count(c) > 1 and c.free_symbols & merged]
        if not twice:
            return kept, results
        node = min(twice, key=sp.count_ops)  # (the innermost first: expm1(k·fn) before a function of it)
        name = next(temps)
        first = next((i for i, (_, e) in enumerate(kept) if e.has(node)), len(kept))
        kept = kept[:first] + [(name, node)] + [(t, e.xreplace({node: name})) for t, e in kept[first:]]
        results = [r.xreplace({node: name}) for r in results]
        merged.add(name)


def _constant_exponents(assignments, results):
    """An exponent that CSE made a temporary of constants (x^√2 and √2·x^(√2 − 1): ``sqrt_two = 1.4142…``, x**sqrt_two,
    x**(1/(1 + sqrt_two))) given back its constant value, so that the printers see b^c with c a number and write its
    rounding to float64 back in (NumPy's _fracpow: x^√2 at 1e200 was 299.9 ULP in float64, c's rounding times c·log x;
    session 34). The temporaries stay for their other uses."""
    numbers: dict = {}
    for t, e in assignments:  # (in order: pow_1 = 1/(1 + sqrt_two) is a number once sqrt_two is)
        if isinstance(e, sp.Expr) and e.free_symbols <= set(numbers):
            value = e.xreplace(numbers)
            if value.is_number:
                numbers[t] = value
    if not numbers:
        return assignments, results

    def exponent(node):
        return isinstance(node, sp.Pow) and node.exp.free_symbols and node.exp.free_symbols <= set(numbers)

    def put_back(e):
        if not isinstance(e, sp.Basic) or not e.has(*numbers):
            return e
        return e.replace(exponent, lambda node: sp.Pow(node.base, node.exp.xreplace(numbers)))
    return [(t, put_back(e)) for t, e in assignments], [put_back(r) for r in results]


def _inline_reciprocals(assignments, results):
    """CSE's temporaries that are the reciprocal of an input (``inv_y = 1/y``) put back where they
    are used, so that ``x/y`` is one division: ``x·(1/y)`` is inf where y is subnormal (1/y
    overflows in float32 below 2.9e−39) although x/y is finite, and rounds twice. Likewise the
    scaled-square rule's chain (x/y)/y (``chains.quotient_chain``), so that the printers see a constant
    times it whole: f = 1024·x/y² shared it with ∂y and printed ((x/y)/y)·1024, 276 ULP in float32 at
    x = 1.5, y = 3e20 (session 23). The same walk, in the order of the assignments, puts back a product or
    quotient of inputs where a constant multiplies it (:func:`_constant_times_monomial`)."""
    inline, monomials, kept = {}, {}, []
    for t, e in assignments:
        e = _constant_times_monomial(e.xreplace(inline) if inline else e, monomials)
        if isinstance(e, sp.Pow) and e.exp == -1 and isinstance(e.base, WidenedBase) \
                and _linear_sum(e.base.expanded):
            # the widened sum Σ c_i·s_i (the product-over-sum rule's 2x + y, x + y + z) kept, its reciprocal put
            # back: a/V is one division, a·(1/V) overflows where V is subnormal (x·y/(2x + y) at x = y = 5e−324)
            total = sp.Symbol(f"{t.name}_sum")
            kept.append((total, e.base))
            inline[t] = 1 / total
        elif (isinstance(e, sp.Pow) and e.exp == -1 and (e.base.is_Symbol or _two_term_sum(e.base))) \
                or _constant_times_inputs(e) or quotient_chain(e) is not None:
            inline[t] = e
        else:
            kept.append((t, e))
            if _input_monomial(e):
                monomials[t] = e.xreplace(monomials)  # in the inputs: x·y/z where t = x_times_y/z
    results = [_constant_times_monomial(r.xreplace(inline) if inline else r, monomials) for r in results]
    used = set().union(*(e.free_symbols for _, e in kept), *(r.free_symbols for r in results))
    return [(t, e) for t, e in kept if t not in monomials or t in used], results


def _constant_times_monomial(e, monomials: dict):
    """``e`` with CSE's temporaries for a product or quotient of inputs (``monomials``: ``x_times_y = x·y``,
    ``x_over_y = x/y``, :func:`_input_monomial`) put back in a product with a constant c, |c| ≠ 0, 1 (a factor of
    it, or inside the scaled-square rule's chain c·((x·y/z)/z)), so that the printers get the factors and place
    the constant per element (``_constant_times``, ``_constant_quotients``); the temporary stays for its other
    uses and goes where it has none. Times the temporary, the constant comes last: −1e−20·x·y/z as
    _constant_times(x_times_y, …) was −inf at x = −1.797e308, y = −3, z = 0.25 for −2.16e289 (torch exact); ∂x
    of 10²⁰·x²/y, 2·10²⁰·(x/y), 246 ULP at x = 1e−300, y = 3e10 (x/y subnormal) and ∂x of x²/(10²⁰·y) inf at
    x = 1e300, y = 1e−10 (x/y overflows), torch exact at both (session 23: then a walk for products, put back
    everywhere, and one for quotients; one since session 24). A monomial held in parentheses alone (a rule's
    group) is put back too, where it is no more than its temporary."""
    if not monomials or monomials.keys().isdisjoint(e.free_symbols):  # (has(*monomials): a walk per temporary)
        return e

    def scaled(node):
        return node.is_Mul and any(a.is_Number and a.is_extended_real and abs(a) not in (0, 1) for a in node.args) \
            and any(a in monomials for a in _factors(node))

    def grouped(node):
        return isinstance(node, sp.UnevaluatedExpr) and node.args[0] in monomials

    def put_back(node):
        """The product's own factors put back, through its parentheses and integer powers, and nowhere else: a
        function or select among them keeps the temporary (σ(x·y)·3·x·y wrote x·y four times inside its σ's
        select and left x_times_y for the rest; session 36)."""
        if node in monomials:
            return monomials[node]
        if node.is_Mul or isinstance(node, sp.UnevaluatedExpr) or (node.is_Pow and node.exp.is_Integer):
            args = [put_back(a) for a in node.args]
            return node if args == list(node.args) else node.func(*args)  # (rebuilt as xreplace rebuilds)
        return node

    return e.replace(scaled, put_back).replace(grouped, put_back)


def _factors(product):
    """The factors of ``product``, through the parentheses that hold a chain of quotients (``UnevaluatedExpr``)."""
    for a in product.args:
        while isinstance(a, sp.UnevaluatedExpr):
            a = a.args[0]
        if a.is_Mul:
            yield from _factors(a)
        else:
            yield a


def _input_monomial(e) -> bool:
    """Whether ``e`` is a product of symbols (inputs or temporaries) and reciprocals of symbols with one in its
    numerator at least: x·y, x/y, x·y/z."""
    return e.is_Mul and len(e.args) > 1 and all(a.is_Symbol or (a.is_Pow and a.exp == -1 and a.base.is_Symbol)
                                                for a in e.args) and any(a.is_Symbol for a in e.args)


def _two_term_sum(e) -> bool:
    """Whether ``e`` is c·a + d·b, a and b symbols (inputs or temporaries), c and d rational (x/2 + y/2 of the
    product-over-sum rule): its reciprocal's temporary is put back too, so that x/(x + y) is one division
    (x·(1/(x + y)) rounds twice, and 1/(x + y) overflows where x + y is subnormal and x/(x + y) is not)."""
    while isinstance(e, sp.UnevaluatedExpr):  # the rewrite rules' Grouped sum
        e = e.args[0]
    return e.is_Add and len(e.args) == 2 and all(t.as_coeff_Mul()[0].is_Rational and t.as_coeff_Mul()[1].is_Symbol
                                                 for t in e.args)


def _linear_sum(e) -> bool:
    """Whether ``e`` is Σ c_i·s_i, two terms or more, c_i rational and s_i symbols."""
    return e.is_Add and all(t.as_coeff_Mul()[0].is_Rational and t.as_coeff_Mul()[1].is_Symbol for t in e.args)


def _constant_times_inputs(e) -> bool:
    """Whether ``e`` is a constant c, |c| ≠ 0, 1, times inputs (2·y, 2·y/√π, 4·x·y, y/2, z/3), or a constant
    times inputs and reciprocals of inputs (1/(2y)): CSE's temporary for it is put back where it is used, so
    that the printers multiply (or divide by) the constant last or first per element (``_print_Mul``,
    ``_constant_times``): x·t, t = 1/(2y), is 0 at y = 1e308 where x/y/2 is 0.4 at x = 8e307. Kept as a
    temporary, c·y overflows where the product with its other factors does not: 2·x·y as t·x, t = 2y, was
    inf at y = 1e308, x = 1e−300 (2e8), and ∂x of y·log(erfc(x)) in float32, −(2y/√π)·e^(−x²)/erfc(x), inf
    at y = −3.4e38, x = −1 (true 7.66e37; torch right) and NaN at x = −30 (true 0). A constant below 1
    underflows the same way (session 22): x·y/2 as t·x, t = y/2, was 0 at x = 1e20, y = 5e−324 (true
    2.47e−304) and NaN at x = inf (true inf; torch both right); ∂x of x·y·z/3 as (z/3)·y rounded z/3 to a
    subnormal (473,695 ULP at z = 8.5e−314). A constant beyond 2^±100 times integer powers of inputs too (10³⁰⁰/x²),
    whose factors and powers ``_constant_far`` takes apart: kept, f = 10³⁰⁰/(x²·y) was t/y, t = 10³⁰⁰/x², inf at
    x = 5e−324, y = 1e300 for 4.1e46 (session 26)."""
    if not isinstance(e, sp.Mul):
        return False
    numbers = [a for a in e.args if a.is_number and not a.free_symbols]
    others = [a for a in e.args if not (a.is_number and not a.free_symbols)]
    reciprocal = [a for a in others if a.is_Pow and a.exp == -1 and a.base.is_Symbol]
    powers = [a for a in others if a.is_Pow and a.exp.is_Integer and a.base.is_Symbol and a not in reciprocal]
    if not numbers or not others or not all(a.is_Symbol or a in reciprocal or a in powers for a in others):
        return False
    c = sp.Mul(*numbers)
    if not c.is_extended_real:
        return False
    if powers:
        return not 2.0 ** -100 <= abs(float(c)) < 2.0 ** 100  # (float: 0 or inf beyond float64, outside too)
    return abs(float(c)) not in (0.0, 1.0) or bool(reciprocal)


# A rule's reason quotes the σ case it was written for; a formula without σ gets the
# general reason (softmax --stable quoted σ, which softmax does not contain).
_GENERAL_WHY = {
    "cancel": "a factor divided out and multiplied back is 0·∞ = NaN where it underflows or "
              "overflows; the fraction is cancelled symbolically first",
}


def _rule_why(rule, expr: sp.Expr) -> str:
    from ..functions import sigmoid

    if rule.name in _GENERAL_WHY and not expr.has(sigmoid):
        return _GENERAL_WHY[rule.name]
    return rule.why


def _overflows_at(stable: sp.Expr, original: sp.Expr, inputs) -> float | None:
    """An input value (every input set to it) where ``stable`` is not finite in float64
    although the exact value is; None where there is none among ±1000, ±100."""
    import mpmath
    import numpy as np

    from ..functions import explicit

    if not inputs:
        return None
    try:
        from ..functions import SymnetFunction
        from ..registry import entry_of
        from .rewrite import softplus  # evaluated as the generator does: without overflow

        # symnet's own nodes (erfcx, σ, ndtr, …) as the generated helpers compute them, by the registry's mpmath
        # reference rounded to float64, not as SymPy's printers write them out (erfcx as e^(x²)·erfc(x): NaN at 1000,
        # where --stable then said "still overflows" of the scaled-erfc form that symnet verify measures within
        # 1.9 ULP to 1.3e308; session 18 new user)
        named = {softplus.__name__: lambda v: np.logaddexp(0, v)}
        for cls in {type(n) for n in stable.atoms(SymnetFunction)} - {softplus}:
            entry = entry_of(cls)
            if entry is None or entry.mpmath is None:
                continue
            fn = sp.Function("_ovf_" + cls.__name__)
            stable = stable.replace(cls, fn)
            named[fn.__name__] = (lambda ref: lambda *v: np.float64(float(ref(*map(mpmath.mpf, map(float, v))))))(
                entry.mpmath)
        fast = sp.lambdify(inputs, stable, [named, "numpy"])
        exact = sp.lambdify(inputs, explicit(original), "mpmath")
    except Exception:  # noqa: BLE001 - a form lambdify cannot print: no claim either way
        return None
    for v in (1000.0, -1000.0, 100.0, -100.0):
        try:
            with np.errstate(all="ignore"):
                got = complex(fast(*[np.float64(v)] * len(inputs)))
            with mpmath.workdps(30):
                want = complex(exact(*[mpmath.mpf(v)] * len(inputs)))
        except Exception:  # noqa: BLE001 - outside the domain: try the next point
            continue
        # a complex exact value is outside the domain, not an overflow: x·log x at −1000 is −1000·(6.9 + πi),
        # and --stable said "still overflows (… at every input = -1000)" of it (session 30's new user)
        if not np.isfinite(got) and mpmath.isfinite(want.real) and want.imag == 0 and abs(want) < 1e300:
            return v
    return None


_STABLE_SIMPLIFY_OPS = 24


def stability_section(kernel: Kernel):
    """The rewrites the code generator made, as checked steps: original = stable form."""
    from ..derivation import Section, Step
    from ..stepcheck import check_equal
    from .rewrite import softplus

    def plain(e):
        return e.replace(softplus, lambda v: sp.log(1 + sp.exp(v)))

    steps, overflows = [], []
    told: dict[str, tuple[str, str]] = {}  # rule name → (its reason, the output whose step gave it)
    stabilise = Stabiliser()  # one per kernel, as describe makes it
    for out in kernel.outputs:
        stable, rules = stabilise(out.expr)
        if not rules:
            continue
        # simplify on small differences only: a stable form of GELU-tanh written out (44 operations)
        # kept SymPy's simplify busy for minutes; larger ones are checked at random points
        how = check_equal(plain(out.expr), plain(stable).rewrite(sp.log), f"stable form of {out.meaning}",
                          simplify_ops=_STABLE_SIMPLIFY_OPS)
        # a reason already given for an earlier output is referred to, not repeated: -log(ndtr(y*z)) --stable
        # printed the log-gaussian-tail rule's 900 characters for f and again for ∂f/∂z (session 21's teacher)
        parts = []
        for r in rules:
            reason = _rule_why(r, out.expr)
            earlier = told.setdefault(r.name, (reason, out.meaning))
            parts.append(f"{r.name} rule: " + (f"as for {earlier[1]}" if earlier != (reason, out.meaning) and
                                               earlier[0] == reason else reason))
        why = "; ".join(parts)
        at = _overflows_at(stable, plain(out.expr), [i.symbol for i in kernel.inputs])
        if at is not None:
            why += f"; this form still overflows (not finite in float64 at every input = {at:g})"
            overflows.append(out.meaning)
        steps.append(Step(sp.Symbol(out.meaning), (out.expr, stable), why, how))
    text_ = ("The code generator evaluates these forms instead: each equals the formula above, "
             "and does not overflow or cancel where the written-out form does.") if steps else \
        "No stability rule applies: the formulas are generated as derived."
    if overflows:  # say so rather than claim what the form does not do (softmax, issue 17)
        # the softmax aside only where the formula divides by a sum of exponentials: a new user's log-variance
        # Gaussian NLL, 0.5·(s + (p − t)²·e^(−s)), was pointed to the row-wise softmax kernels (session 16)
        softmax_like = any(isinstance(n, sp.Pow) and n.exp.is_negative and isinstance(n.base, sp.Add)
                           and n.base.has(sp.exp) for out in kernel.outputs for n in sp.preorder_traversal(out.expr))
        text_ = ("The code generator evaluates these forms instead: each equals the formula above "
                 "and removes the cancellation the rule names, but " + ", ".join(overflows) +
                 (" still overflows" if len(overflows) == 1 else " still overflow") + " for large inputs" +
                 (" (the generated row-wise softmax kernels first shift every z by its maximum: the max-shift rule)."
                  if softmax_like else " (its step names an input where it does)."))
    if any(isinstance(n, WidenedBase) for st in steps for n in sp.preorder_traversal(st.value)):
        text_ += (" f64(…) is a sum the kernel computes in float64 and rounds once to its dtype (in a float64 "
                  "kernel in double-word arithmetic, hi + lo, about 106 bits): the widen rule.")
    return Section("Numerically stable forms for code generation", tuple(steps), text_)


# ------------------------------------------------------------------ temporaries named by their math

MAX_TEMPORARY = 20  # characters: a longer description falls back to a numbered name (prod_1, sum_1)

# the words of the names (function, number, relation words) and _math_name: symnet.codegen.names


def _fact(e: sp.Basic, facts: dict, full: dict, relations: dict, known: dict):
    """What a temporary is where its own structure hides it, as (kind, u, name of u): e^−u
    ("exp_neg"), 1 + e^−u = 1/σ(u) ("inv_sig"), σ(u)·σ(−u) = σ′(u) as E·(…)/(1 + E)² ("dsig"), and σ(u)
    ("sig") as the sigmoid-pair rule builds it: 1/(1 + e^−u) = σ(u),
    e^−u·σ(u) = σ(−u), {σ(|x|) if x ≥ 0; σ(−|x|) otherwise} = σ(x) (the other way round σ(−x)).
    ``u`` is compared written out in the inputs (``full``), so a user's variable called
    ``sig_abs_z`` is never taken for σ(|z|). None where it is none of these."""
    def name_of(a):
        return _math_name(a, known)

    arg = None
    if type(e).__name__ == "nexp":
        arg = e.args[0]
    elif isinstance(e, sp.exp) and e.args[0].could_extract_minus_sign():
        arg = -e.args[0]
    if arg is not None:
        n = name_of(arg)
        return None if n is None else ("exp_neg", arg.xreplace(full), n)
    if isinstance(e, RoundingError) and e.parts():  # E − (s − 1): what rounding s = 1 + E lost
        s = e.parts()[1]
        n = name_of(s)
        return None if n is None else ("err", s.xreplace(full), n)
    if type(e).__name__ == "Grouped":  # the parentheses the rounding needs: the same value
        e = e.args[0]
    if isinstance(e, sp.Add) and len(e.args) == 2 and sp.S.One in e.args:  # 1 + e^−u = 1/σ(u)
        f = facts.get(next(a for a in e.args if a != 1))
        return ("inv_sig", f[1], f[2]) if f and f[0] == "exp_neg" else None
    if isinstance(e, sp.Mul):  # (…)/(1 + e^−u)²: the sigmoid-pair rule's σ(u)·σ(−u) = σ′(u)
        squared = [facts.get(a.base) for a in e.args if isinstance(a, sp.Pow) and a.exp == -2]
        if len(squared) == 1 and squared[0] and squared[0][0] == "inv_sig":
            return ("dsig", squared[0][1], squared[0][2])
    if isinstance(e, sp.Pow) and e.exp == -1 and isinstance(e.base, sp.Add) and len(e.base.args) == 2 \
            and sp.S.One in e.base.args:
        other = next(a for a in e.base.args if a != 1)
        f = facts.get(other)
        return ("sig", f[1], f[2]) if f and f[0] == "exp_neg" else None
    if isinstance(e, sp.Mul) and len(e.args) == 2 and all(a in facts for a in e.args):
        kinds = {facts[a][0]: facts[a] for a in e.args}
        if set(kinds) == {"exp_neg", "sig"} and kinds["exp_neg"][1] == kinds["sig"][1]:
            _, u, n = kinds["sig"]
            return ("sig", -u, f"neg_{n}")
        return None
    if isinstance(e, sp.Piecewise) and len(e.args) == 2 and e.args[1].cond == sp.true:
        (a, cond), (b, _) = e.args
        relation = relations.get(cond, cond)
        fa, fb = facts.get(a), facts.get(b)
        if not (isinstance(relation, sp.core.relational.Relational) and relation.rel_op == ">="
                and relation.rhs == 0 and fa and fb and fa[0] == fb[0] == "sig"):
            return None
        x, n = relation.lhs.xreplace(full), name_of(relation.lhs)
        if n is None:
            return None
        if (fa[1], fb[1]) == (sp.Abs(x), -sp.Abs(x)):
            return ("sig", x, n)
        if (fa[1], fb[1]) == (-sp.Abs(x), sp.Abs(x)):
            return ("sig", -x, f"neg_{n}")
    return None


class CodeName(sp.Symbol):
    """A temporary named by its math (row_max, sig_z …): printed as the code writes it, the
    underscore no subscript (``sqrt_x``, not sqrtₓ), so comments use the code's names."""

    def _symnet_text(self, printer):
        return self.name

    def _latex(self, printer):
        return r"\mathtt{%s}" % self.name.replace("_", r"\_")


def temporary_comment(ident: str, expr: sp.Expr, named: dict) -> str:
    """The comment above a temporary's statement, in the code's names (``named``: temporary →
    :class:`CodeName`): ``sig_abs_z = 1/(1 + exp_neg_abs_z)``, and why it is there where its math
    does not say (a recovered rounding error, :class:`~.rewrite.RoundingError`)."""
    if isinstance(expr, RoundingError) and expr.parts():
        return RoundingError.why(ident, *(text(p.xreplace(named)) for p in expr.parts()))
    return f"{ident} = {text(expr.xreplace(named))}"


def output_comment(ident: str, output: KernelOutput) -> str:
    """The comment above an output's statement, in the code's name: ``dL_dz = ∂L/∂z = …``
    (``L = …`` where the math's name is the code's)."""
    math = f"{output.meaning} = {_output_text(output.expr)}"
    return math if ident == output.meaning else f"{ident} = {math}"


@functools.lru_cache(maxsize=64)
def _output_text(expr: sp.Expr) -> str:
    """:func:`~symnet.render.text` of an output's whole expression, once: the NumPy and the Triton module each print
    it above the output's statement and again above its far branches (l1(focal(celu(y, 2), y), log(x·y)): 8 texts of
    3 outputs, 1.2 CPU s each)."""
    return text(expr)


def temporary_names(kernel: Kernel, reserved) -> dict:
    """An identifier for each CSE temporary of ``kernel``, named by its math: 1 − y → one_minus_y,
    e^−|z| → exp_neg_abs_z, 1/(1 + e^−|z|) → sig_abs_z, σ(z) → sig_z. A description longer than
    MAX_TEMPORARY characters, or of a part with no word (a constant such as 0.3), becomes a
    numbered name by the expression's class (sum_1, prod_1). Names never equal a name in
    ``reserved`` (a set or a predicate: the skeleton's names and the inputs' and outputs'
    identifiers with their derived forms), a keyword, or each other (a clash gets _2, _3, …).

    Descriptions read the inputs by their public names, so the names of a kernel do not
    depend on the backend; only the clash suffixes do."""
    taken = reserved if callable(reserved) else reserved.__contains__
    known: dict = {i.symbol: i.name for i in kernel.inputs}  # each part by the name the code gives it
    facts: dict = {}  # temporary → (kind, u, name of u): e^−u, σ(u) (see _fact)
    full: dict = {}  # temporary → its expression in the inputs
    relations: dict = {}  # a temporary that is a condition → its relation
    used: set = set()
    counts: dict = {}
    out = {}
    for temp, expr in kernel.assignments:
        fact = _fact(expr, facts, full, relations, known)
        name = f"{fact[0]}_{fact[2]}" if fact else _math_name(expr, known)
        if name is None or len(name) > MAX_TEMPORARY or not name.isidentifier():
            word = next((w for cls, w in FALLBACK_WORDS if isinstance(expr, cls)), "value")
            counts[word] = counts.get(word, 0) + 1
            name = f"{word}_{counts[word]}"
        base, k = name, 1
        while taken(name) or name in used or keyword.iskeyword(name):
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        known[temp] = out[temp] = name
        full[temp] = expr.xreplace(full)
        if fact:
            facts[temp] = fact
        if isinstance(expr, sp.core.relational.Relational):
            relations[temp] = expr
            known.setdefault(expr, name)  # a Piecewise's condition names the relation it shares
    return out
