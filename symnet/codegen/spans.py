"""Spans: what an expression's structure says about the size of its value at finite inputs (session 33, h-search33).

The printers take a product or a sum again, in another order, where it came out ±inf or NaN (NumPy ``_taken_again``,
and ``_taken_by_exponents`` for a product by exponents, also where it is not a normal number;
:meth:`~symnet.codegen.backends.printing.ConditionalPrinting._taken_again_pair`). That costs a test over every block
and a long second operand in the code, and buys nothing where the product as printed cannot leave the range at finite
inputs: the lecture's sigmoid_mse kernel wrapped ∂z = −2·(y − σ(z))·σ′(z) although σ′ ≤ 1/4. This module decides that
from the expression, not from printed text or a measurement.

:func:`span` gives an interval [lo, hi] holding the value at every finite input, computed bottom-up from a small table
of bounded functions (σ, tanh, erf, sin, cos, …) and interval arithmetic; an endpoint ±inf means "unbounded that way,
but never beyond the dtype's largest finite number" (an input, y − σ(z), relu(x), e^(−|z|)·x); None means the value
may be ±inf or NaN, or its size is unknown (1/y, 2·x, x + y, e^x, log x, a function not in the table). Bounded
endpoints are held below 2¹⁰⁰, so that a bounded value is finite in float32 too. Rounding is allowed for: a sum of an
unbounded value and bounded terms below 2¹⁰⁰ rounds back to the largest finite number at worst (half an ULP there is
2¹⁰³ in float32, 2⁹⁷⁰ in float64), and :class:`~symnet.codegen.rewrite.RoundingError` (what fl(1 + E) lost, the
sigmoid-pair rule's err) is at most 2⁻²³ of its sum.

:func:`product_stays_in_range`: a product c·u·b₁·…/(d₁·…) whose factors have spans, u (at most one, to the first power
in the numerator, and at most one such in the denominator) unbounded and every other factor bounded, with the bounded
numerators' sizes multiplied and divided by the bounded denominators' smallest sizes at most 1 (to 2⁻²⁰, a few
roundings of slack), and every bounded denominator away from 0. Then every partial product of the numerator lies
within |u| (finite), the denominator is u's or at least 1, and the one division and the constant (printed last, or
first only where that is finite: ``_constant_times``) leave the range only where the exact product does, up to its last
rounding; ±inf or NaN as printed means ±inf or NaN in any order. No product with a quotient by an input that may be
subnormal, an input squared, or two unbounded factors passes: those are what the taking again is for. A quotient
chain c·(N/V)/V (the scaled-square rule's; the derivative of c·h/y) with N of known span passes too: N/V is past the
range only where |V| < 1, and the second division then keeps it there.
"""
from __future__ import annotations

import math

import sympy as sp

from ..functions import relu, sigmoid
from ..special import _ExpNegSquare, erfcx, ndtr
from .chains import quotient_chain


def _a(e, name: str) -> bool:
    """Whether ``e`` is an instance of the class of symnet.codegen.rewrite called ``name`` (RoundingError,
    WidenedBase, nexp), by name as SymPy's printers dispatch: the printers import this module, and rewrite imports
    the printers (through roots' probes), so an import of rewrite here would be a cycle."""
    return any(c.__name__ == name for c in type(e).__mro__)

__all__ = ["span", "product_stays_in_range", "sum_overflows_only_with_its_term"]

INF = math.inf
BOUND = 2.0 ** 100  # a bounded span's endpoints lie within ±BOUND (finite in float32 and float64)
SLACK = 2.0 ** -20  # the bounded factors' product may pass 1 by this much (roundings inside them)
ROUNDING = 2.0 ** -23  # a RoundingError is at most this fraction of its sum's size (float32's ULP/2 is 2⁻²⁴ of it)
DEPTH = 12  # temporaries followed through definitions (deeper: unknown)

# bounded functions of any argument (an infinite argument gives a limit inside the span; NaN stays NaN in every order
# of a product, so it never makes a taking again useful)
BOUNDED_FUNCTIONS = {
    sigmoid: (0.0, 1.0), ndtr: (0.0, 1.0), _ExpNegSquare: (0.0, 1.0), sp.tanh: (-1.0, 1.0), sp.erf: (-1.0, 1.0), sp.sin: (-1.0, 1.0),
    sp.cos: (-1.0, 1.0), sp.sign: (-1.0, 1.0), sp.erfc: (0.0, 2.0), sp.atan: (-math.pi / 2, math.pi / 2),
}


def _unbounded(s) -> bool:
    return math.isinf(s[0]) or math.isinf(s[1])


def _size(s) -> float:
    return max(abs(s[0]), abs(s[1]))


def _smallest_size(s) -> float:
    """The smallest |v| over the span (0 where it holds 0)."""
    return 0.0 if s[0] <= 0.0 <= s[1] else min(abs(s[0]), abs(s[1]))


def _bounded(lo: float, hi: float):
    return (lo, hi) if -BOUND <= lo <= hi <= BOUND else None


def _times(a: float, b: float) -> float:
    return 0.0 if a == 0.0 or b == 0.0 else a * b


def _product(a, b):
    """The span of a product of two bounded spans."""
    ends = [_times(x, y) for x in a for y in b]
    return _bounded(min(ends), max(ends))


def _sign_only(spans):
    """The span of a product holding one unbounded factor (the others at most 1 in size): its sign where known."""
    if all(s[0] >= 0 for s in spans):
        return (0.0, INF)
    return (-INF, INF)


def _rounding_error(e, definitions):
    """e is E − (s − 1) with s a temporary holding 1 + E (the sigmoid-pair rule's err, :class:`RoundingError`, as the
    kernel's temporaries hold it): what rounding s lost, Fast2Sum, exact."""
    for t in e.args:
        inner = -t
        if isinstance(inner, sp.UnevaluatedExpr):
            inner = inner.args[0]
        if not (inner.is_Add and len(inner.args) == 2 and sp.S.NegativeOne in inner.args):
            continue
        s = next(a for a in inner.args if a != sp.S.NegativeOne)
        rest = e - t
        if s in definitions and sp.expand(definitions[s] - 1 - rest) == 0:
            return rest
    return None


def _add(e, definitions, depth):
    small = _rounding_error(e, definitions) if len(e.args) == 2 else None
    if small is not None:  # at most ROUNDING of 1 + E's size
        t = span(small, definitions, depth)
        if t is None or _unbounded(t):
            return None
        size = ROUNDING * (1 + _size(t))
        return _bounded(-size, size)
    spans = [span(t, definitions, depth) for t in e.args]
    if any(s is None for s in spans):
        return None
    unbounded = [s for s in spans if _unbounded(s)]
    if len(unbounded) > 1:
        return None  # x + y: overflows at finite inputs
    if sum(_size(s) for s in spans if not _unbounded(s)) > BOUND:
        return None
    lo, hi = sum(s[0] for s in spans), sum(s[1] for s in spans)
    return (lo, hi) if unbounded else _bounded(lo, hi)


def _mul(e, definitions, depth):
    spans = [span(f, definitions, depth) for f in e.args]
    if any(s is None for s in spans):
        return None
    unbounded = [s for s in spans if _unbounded(s)]
    bounded = [s for s in spans if not _unbounded(s)]
    if len(unbounded) > 1:
        return None
    out = (1.0, 1.0)
    for s in bounded:
        out = _product(out, s)
        if out is None:
            return None
    if not unbounded:
        return out
    if _size(out) > 1.0:
        return None  # 2·x: overflows at finite inputs
    return _sign_only(spans)


def _pow(e, definitions, depth):
    base, n = e.base, e.exp
    if not (n.is_number and n.is_real):
        return None
    s = span(base, definitions, depth)
    if s is None:
        return None
    n = float(n)
    if n > 0 and n == int(n):
        if _unbounded(s):
            return s if n == 1 else None  # x²: overflows
        k = int(n)
        lo, hi = s[0] ** k, s[1] ** k
        if k % 2 == 0:
            return _bounded(_smallest_size(s) ** k, max(lo, hi))
        return _bounded(lo, hi)
    if s[0] < 0:  # a fractional power of a negative value: NaN (as in any order)
        return None
    if 0 < n <= 1:
        return (s[0] ** n, INF) if _unbounded(s) else _bounded(s[0] ** n, s[1] ** n)
    if n < 0:
        small = _smallest_size(s)
        if small <= 0 or small ** n > BOUND:  # (a quotient by a value that may be 0 or tiny: unbounded, maybe inf)
            return None
        top = 0.0 if _unbounded(s) else s[1] ** n
        return _bounded(top, small ** n)
    return None


def span(e, definitions=None, depth: int = DEPTH):
    """An interval (lo, hi) holding ``e`` at every finite input (an endpoint ±inf: unbounded that way but finite), or
    None where ``e`` may be ±inf or NaN or its size is not known from its structure. ``definitions``: the kernel's
    temporaries (a symbol there is its definition's span; any other symbol an input: (−inf, inf))."""
    definitions = definitions or {}
    if depth < 0:
        return None
    if not isinstance(e, sp.Expr):  # (a condition, a Python bool)
        return None
    if e.is_Number:
        if not e.is_finite or not e.is_real:
            return None
        v = float(e)
        return _bounded(v, v)
    if e.is_Symbol:
        if e in definitions:
            return span(definitions[e], definitions, depth - 1)
        return (-INF, INF)
    if e.is_number:  # √2, log(2), π
        try:
            v = float(e)
        except (TypeError, ValueError):
            return None
        return _bounded(v, v) if math.isfinite(v) else None
    if _a(e, "RoundingError"):  # what rounding its sum lost: at most ROUNDING of the terms' sizes
        sizes = [span(a, definitions, depth) for a in sp.Add.make_args(e.args[0])]
        if any(t is None or _unbounded(t) for t in sizes):
            return None
        size = ROUNDING * sum(_size(t) for t in sizes)
        return _bounded(-size, size)
    if _a(e, "WidenedBase"):  # computed in float64 and rounded once: its body's span
        return span(e.expanded, definitions, depth - 1)
    if isinstance(e, sp.UnevaluatedExpr):  # Grouped and the like: its argument
        return span(e.args[0], definitions, depth)
    for f, bounds in BOUNDED_FUNCTIONS.items():
        if isinstance(e, f):
            return bounds
    if isinstance(e, sp.Add):
        return _add(e, definitions, depth)
    if isinstance(e, sp.Mul):
        return _mul(e, definitions, depth)
    if isinstance(e, sp.Pow):
        if e.base == sp.E:
            return span(sp.exp(e.exp), definitions, depth)
        return _pow(e, definitions, depth)
    if isinstance(e, sp.exp) or _a(e, "nexp"):
        if _sign(e.args[0], definitions, depth) == (-1 if isinstance(e, sp.exp) else 1):  # e^(−2|y|): (0, 1] even
            return (0.0, 1.0)  # where 2|y| overflows (e^−inf is 0)
        s = span(e.args[0], definitions, depth)
        if s is None:
            return None
        lo, hi = (s[0], s[1]) if isinstance(e, sp.exp) else (-s[1], -s[0])
        if hi > math.log(BOUND):
            return None  # e^x: overflows
        return (0.0 if lo == -INF else math.exp(lo), math.exp(hi))
    if isinstance(e, sp.Abs):
        s = span(e.args[0], definitions, depth)
        return None if s is None else (_smallest_size(s), _size(s))
    if isinstance(e, relu):
        s = span(e.args[0], definitions, depth)
        return None if s is None else (max(0.0, s[0]), max(0.0, s[1]))
    if isinstance(e, (sp.Max, sp.Min)):
        spans = [span(a, definitions, depth) for a in e.args]
        if any(s is None for s in spans):
            return None
        pick = max if isinstance(e, sp.Max) else min
        return (pick(s[0] for s in spans), pick(s[1] for s in spans))
    if isinstance(e, sp.Piecewise):
        spans = [span(v, definitions, depth) for v, _ in e.args]
        if any(s is None for s in spans):
            return None
        return (min(s[0] for s in spans), max(s[1] for s in spans))
    if isinstance(e, erfcx):  # erfcx(x) ≤ 1 for x ≥ 0, e^(x²)·2 below: bounded only for a nonnegative argument
        s = span(e.args[0], definitions, depth)
        return (0.0, 1.0) if s is not None and s[0] >= 0 else None
    return None


def _sign(e, definitions, depth) -> int:
    """1 where ``e`` is ≥ 0 (or +inf or NaN) at every input, −1 where ≤ 0, 0 where neither is known: its sign from
    its structure alone, so that an overflow inside it (2·|y| at 1e308) does not lose it."""
    if depth < 0 or not isinstance(e, sp.Expr):
        return 0
    if e.is_Number:
        return 1 if e >= 0 else -1
    if e.is_Symbol:
        return _sign(definitions[e], definitions, depth - 1) if e in definitions else 0
    if isinstance(e, (sp.Abs, relu, sigmoid, sp.exp, _ExpNegSquare, ndtr, erfcx, sp.erfc)) or _a(e, "nexp"):
        return 1
    if isinstance(e, sp.UnevaluatedExpr) and not _a(e, "RoundingError"):
        return _sign(e.args[0], definitions, depth)
    if isinstance(e, sp.Pow):
        if e.exp.is_number and e.exp.is_real and (e.exp.is_even or (not e.exp.is_integer and e.exp.is_positive)):
            return 1  # x², √x (NaN below 0)
        return _sign(e.base, definitions, depth) if e.exp.is_integer else 0
    if isinstance(e, sp.Mul):
        out = 1
        for f in e.args:
            out *= _sign(f, definitions, depth)
        return out
    if isinstance(e, sp.Add):
        signs = {_sign(t, definitions, depth) for t in e.args}
        return signs.pop() if len(signs) == 1 else 0
    return 0


def _factors(e):
    """(base, integer power) of each factor of the product ``e`` that is not a number; a factor with another power is
    its own base, power 1."""
    out = []
    for f in sp.Mul.make_args(e):
        if f.is_number and not f.free_symbols:
            continue
        if f.is_Pow and f.exp.is_Integer:
            out.append((f.base, int(f.exp)))
        else:
            out.append((f, 1))
    return out


def _chain_of_two(factors):
    """(N, V) where ``factors`` are (N/V) held unevaluated and 1/V, the chain (N/V)/V as CSE leaves it in a product
    (the derivative of c·h/y: −c·(h/y)/y); None otherwise."""
    if len(factors) != 2:
        return None
    for g, d in (factors, factors[::-1]):
        if not (isinstance(g, sp.UnevaluatedExpr) and g.args[0].is_Mul and d.is_Pow and d.exp == -1):
            continue
        inner = [f for f in g.args[0].args if f.is_Pow and f.exp == -1]
        if len(inner) == 1 and inner[0].base == d.base:
            return sp.Mul(*[f for f in g.args[0].args if f is not inner[0]]), d.base
    return None


def product_stays_in_range(e, definitions=None) -> bool:
    """The product ``e`` as printed (its numeric constant apart, its factors as they are: a temporary is its value)
    is ±inf or NaN at a finite input only where it is in every order (see the module's docstring). False where the
    structure does not show it."""
    if not isinstance(e, sp.Mul):
        return False
    rest = [f for f in e.args if not (f.is_number and not f.free_symbols)]
    chain = quotient_chain(rest[0]) if len(rest) == 1 else _chain_of_two(rest)
    if chain is not None:  # c·(N/V)/V: N/V leaves the range only where |V| < 1, and then (N/V)/V does too
        return span(chain[0], definitions) is not None
    numerators, denominators = [], []
    for base, p in _factors(e):
        s = span(base, definitions)
        if s is None:
            return False
        (numerators if p > 0 else denominators).append((s, abs(p)))
    free = [(s, p) for s, p in numerators if _unbounded(s)]
    under = [(s, p) for s, p in denominators if _unbounded(s)]
    if len(free) > 1 or len(under) > 1 or any(p != 1 for _, p in free + under):
        return False
    size = 1.0
    for s, p in numerators:
        if not _unbounded(s):
            size *= _size(s) ** p
    for s, p in denominators:
        if not _unbounded(s):
            small = _smallest_size(s)
            if small <= 0:
                return False
            size /= small ** p
    if not free:  # bounded throughout: every partial product within BOUND² at most
        return size <= BOUND and all(_smallest_size(s) >= 1 / BOUND for s, _ in denominators if not _unbounded(s))
    return size <= 1 + SLACK and all(_smallest_size(s) >= 1 for s, _ in denominators if not _unbounded(s))


def sum_overflows_only_with_its_term(e, definitions=None) -> bool:
    """The sum ``e`` holds one term that may overflow (c·x, |c| ≥ 2) and every other term bounded: where that term
    overflows the sum does too (the others cannot bring it back), so no other order of the sum is finite there."""
    if not isinstance(e, sp.Add):
        return False
    spans = [span(t, definitions) for t in e.args]
    loose = [s for s in spans if s is None or _unbounded(s)]
    return len(loose) == 1 and sum(_size(s) for s in spans if s is not None and not _unbounded(s)) <= BOUND
