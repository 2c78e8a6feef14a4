"""Printing a :class:`Derivation` as text, plain ASCII, LaTeX, Markdown or JSON.

Printers dispatch on the expression's class (``_print_Partial``, ``_print_Indexed``, …)
as SymPy's own printers do; the formats differ only in these small overrides and in how
a step is laid out. symnet's function nodes (σ, softplus, Φ, …) print themselves in text
and LaTeX from their class's table (:class:`symnet.functions.SymnetFunction`).
"""
from __future__ import annotations

import json
import keyword
import re
import sys
from decimal import Decimal, localcontext
from functools import cmp_to_key, lru_cache

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.repr import ReprPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter
from mpmath.libmp import prec_to_dps, to_str as mpf_to_str

from .derivation import Derivation, Step, StepIndexedBase, default_title

__all__ = ["render", "render_text", "render_latex", "render_markdown", "render_json",
           "text", "shown", "latex", "FORMATS"]

_SUPERSCRIPT = str.maketrans("0123456789-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class _ReaderOrder:
    """The order a careful reader writes sums and products in, for every format (text, LaTeX,
    Markdown, the graph's labels); :func:`text`, which generated code's comments use, opts out.

    The printers keep the derivation's own order (``order="none"``): SymPy's canonical order,
    or the order a step was written in. Only a sum that would open with a minus sign (SymPy
    puts numbers first: −1 + β₁ᵗ, and −y + σ(z)) opens instead with its first term that is
    neither negative nor a constant: β₁ᵗ − 1, σ(z) − y, y_j − δ_jr; the other terms keep
    their order. A positive constant added to variables alone goes last (b + 1); before
    anything else it stays first (1 − σ(z), 1 + e^(−x)), as the lecture writes them. A
    product puts its sums last: σ(z)·(1 − σ(z)) (see :func:`_reader_factors`).
    """

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        if (order or self.order) != "none" or not self._settings["reader_order"]:
            return terms
        return _reader_order(terms)

    def _print_Mul(self, expr, *args, **kwargs):
        factors = _reader_factors(expr) if self._settings["reader_order"] and self.order == "none" else None
        if factors is None:
            return super()._print_Mul(expr, *args, **kwargs)
        coeff, rest = factors
        # built unevaluated, so the printers (order="none") keep it; the sign is printed here,
        # as negating an unevaluated product would evaluate it back into SymPy's order
        body = super()._print_Mul(sp.Mul._from_args((*([abs(coeff)] if abs(coeff) != 1 else []), *rest)),
                                  *args, **kwargs)
        return ("- " if isinstance(self, LatexPrinter) else "-") + body if coeff.is_negative else body


def _is_quotient(f) -> bool:
    """A product with a factor in its denominator (y/x), printed with a '/' that binds as tightly as '·'."""
    return isinstance(f, sp.Mul) and f.is_commutative and any(
        isinstance(a, sp.Pow) and a.exp.is_number and a.exp.is_negative for a in f.args)


def _negated(term):
    """−term, keeping an unevaluated product of numbers as it was written (−1·0.2·1/2 → 0.2·1/2, not 0.1)."""
    if isinstance(term, sp.Mul) and term.args and term.args[0].is_Number and term.args[0].is_negative \
            and sum(a.is_Number for a in term.args) > 1:
        lead = -term.args[0]
        rest = term.args[1:]
        if lead == 1:
            return rest[0] if len(rest) == 1 else sp.Mul._from_args(rest)
        return sp.Mul._from_args((lead, *rest))
    return -term


def _kept_product(expr) -> bool:
    """A product kept unevaluated with a number after its first factor: a value put in at a point (−1·1 for −t at
    t = 1, −2·(1 − σ(−0.3))·1·…), which SymPy's printers write factor by factor (its own test for such a product)."""
    return isinstance(expr, sp.Mul) and len(expr.args) > 1 and (
        expr.args[0] is sp.S.One or any(isinstance(a, sp.Number) for a in expr.args[1:]))


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _is_sum(f) -> bool:
    return isinstance(f, sp.Add) or (isinstance(f, sp.Pow) and isinstance(f.base, sp.Add)
                                     and f.exp.is_positive)


def _reader_factors(expr):
    """A product in SymPy's order with its sums moved after the other factors, as a reader
    writes σ(z)·(1 − σ(z)) and y_i·(δ_ij − y_j) (SymPy: (1 − σ(z))·σ(z)); ``(coefficient,
    factors)``, or None where nothing moves, where the order matters (non-commutative
    factors) or where the product was written in an order of its own (unevaluated, as the
    lecture's −2(y − a)σ(z)(1 − σ(z))x₀ is)."""
    # checked and rebuilt without SymPy's evaluation or its cache: a printout must not change
    # which equal objects later constructions share (a stored derivation's pickle depends on it)
    if not expr.is_commutative:
        return None
    coeff, rest = (expr.args[0], expr.args[1:]) if expr.args[0].is_Number else (sp.S.One, expr.args)
    if list(rest) != sorted(rest, key=cmp_to_key(sp.Basic.compare)):
        return None
    moved = [f for f in rest if not _is_sum(f)] + [f for f in rest if _is_sum(f)]
    if moved == list(rest) or len(rest) < 2:
        return None
    return coeff, moved


def _reader_order(terms: list) -> list:
    if len(terms) > 1 and terms[0].is_number and terms[0].is_positive \
            and all(isinstance(t, (sp.Symbol, sp.Indexed)) for t in terms[1:]):
        return [*terms[1:], terms[0]]  # b + 1, as the lecture's e = (a + b)(b + 1) (SymPy: 1 + b)
    if not terms or not terms[0].could_extract_minus_sign():
        return terms
    lead = next((k for k, t in enumerate(terms) if not t.is_Number and not t.could_extract_minus_sign()), None)
    return terms if lead is None else [terms[lead], *terms[:lead], *terms[lead + 1:]]


class TextPrinter(_ReaderOrder, StrPrinter):
    """One-line unicode: σ(z)·(1 − σ(z)), x², ∂e/∂c, δ_ij, Σ_k W_ik·a_k."""

    printmethod = "_symnet_text"  # not Indexed's own _sympystr: dispatch on class here
    _default_settings = {**StrPrinter._default_settings, "reader_order": True}

    def _print_Symbol(self, e):
        # theta_10 → θ₁₀, alpha → α, and theta_10' → θ₁₀' (pretty_symbol gave θ_10' beside θ₁₀)
        base, primes = re.fullmatch(r"(.*?)('*)", e.name, re.S).groups()
        return pretty_symbol(base) + primes if base else e.name

    _print_Dummy = _print_Symbol  # an index of one layer: shown as its plain letter

    def _print_Integer(self, e):
        return big_integer(e) or super()._print_Integer(e)

    def _print_int(self, e):
        return big_integer(e) or super()._print_int(e)

    def _print_Rational(self, e):
        if e.is_Integer:
            return self._print_Integer(e)
        if shown := _long_fraction(e):  # 1.0507009873554805, not ≈2.1014·10¹⁵/(2·10¹⁵)
            return shown
        if big_integer(e.p) or big_integer(e.q):  # 1/2⁶⁰, not 1/1152921504606846976 (nor its 60-digit decimal)
            return "%s/%s" % (self._print_Integer(sp.Integer(e.p)), _one_term(self._print_Integer(sp.Integer(e.q))))
        return _decimal(e) or super()._print_Rational(e)

    def _print_Mul(self, expr, *args, **kwargs):
        # a coefficient of long integers (a written float64 constant) is one number before the rest: SELU written
        # out printed ≈8.7905·10³⁰·exp(x)/(5·10³⁰) for 1.0507009873554805·1.6732632423543772·exp(x)
        coefficient, rest = expr.as_coeff_Mul()
        shown = None if _kept_product(expr) else _long_fraction(abs(coefficient))
        if shown:
            return ("-" if coefficient < 0 else "") + shown + "*" + self.parenthesize(rest, PRECEDENCE["Mul"])
        # −t at t = 1 is −1·1, kept as written: SymPy's printer wrote it −1·1, so u₁ = x − y at (3, 1) read
        # 3 − 1·1 (and −c at c = 0 read − 1·0) where the LaTeX reads 3 - 1; the −1 is the sign
        if _kept_product(expr) and expr.args[0] is sp.S.NegativeOne:
            prec = precedence(expr)  # SymPy's own join of such a product, without its −1
            return "-" + "*".join(self.parenthesize(a, prec, strict=False) for a in expr.args[1:])
        # a lone denominator printed as k·10ⁿ or ≈m·10ⁿ takes parentheses: x/(2·10³²³), not x/2·10³²³, which
        # reads as (x/2)·10³²³ (SymPy's printer parenthesises by precedence, and an Integer is an atom)
        outer = getattr(self, "_quotient_factors", frozenset())
        self._quotient_factors = frozenset(id(a) for f in expr.args for a in (f, f.base if f.is_Pow else f))
        try:
            out = super()._print_Mul(expr, *args, **kwargs)
        finally:
            self._quotient_factors = outer
        for q in {int(f.q) for f in expr.args if isinstance(f, sp.Rational)} | \
                {int(f.base) for f in expr.args if f.is_Pow and f.base.is_Integer and f.exp == -1}:
            shown = big_integer(q)
            if shown and shown != _one_term(shown) and out.endswith("/" + shown):
                return out[:-len(shown)] + _one_term(shown)
        return out

    def _print_Float(self, e):
        return _signed_zero(e) or super()._print_Float(_readable_float(e))

    def parenthesize(self, item, level, strict=False):
        if _abbreviated(item) and level >= PRECEDENCE["Pow"]:  # (2⁶⁰)^x and x^(2⁶⁰), not 2⁶⁰^x and x²⁶⁰
            return "(%s)" % self._print(item)
        # a quotient standing as one factor of a product kept unevaluated (a value put in for a node at --at:
        # u₁·u₆/u₇ with u₆, u₇ quotients) is bracketed: SymPy's printer wrote 14/15·y/x/z/x for 14/15·(y/x)/(z/x)
        if id(item) in getattr(self, "_quotient_factors", ()) and _is_quotient(item):
            body = self._print(item)
            return body if body.startswith("(") and body.endswith(")") and _balanced(body[1:-1]) \
                else "(%s)" % body
        # a power SymPy prints as a quotient (b^−1 as 1/b, b^(−1/2) as 1/sqrt(b)) standing as a denominator takes
        # brackets: `--at x=2` of x/sqrt(u) with u = 1e−12 printed 2/1/sqrt(1000000000000), which reads as 2·10⁻⁶
        # for 2·10⁶ (the printer flips a denominator's power back, and (10⁻¹²)^(1/2) came back as 10¹²^(−1/2))
        if isinstance(item, sp.Pow) and item.exp in (-1, sp.Rational(-1, 2)) and level >= PRECEDENCE["Mul"]:
            return "(%s)" % self._print(item)
        # the same for such a power kept in brackets (rewrite.Grouped): a generated kernel's comment read
        # prod_2 = α·value_5²/1/fn_1 for α·value_5²·fn_1 (the hypot rule's flat quotient, session 49; the code
        # printers' ConditionalPrinting.parenthesize has the same case)
        if isinstance(item, sp.UnevaluatedExpr) and item.args[0].is_Pow and item.args[0].exp.is_number \
                and item.args[0].exp.is_negative and level >= PRECEDENCE["Mul"]:
            return "(%s)" % self._print(item)
        # a fraction printed as a decimal is one number: 0.1·1, not (0.1)·1 as for 1/10
        if isinstance(item, sp.Rational) and item.is_positive and not item.is_Integer and _decimal(item) \
                and not _abbreviated(item):
            return self._print(item)
        return super().parenthesize(item, level, strict)

    def _print_UnevaluatedExpr(self, e):
        # a sum kept as one term (rewrite.Grouped) whose text starts with a minus, which the enclosing sum would
        # read as the term's sign (1/3 + (x − 1) was printed 1/3 − (1 + x)): opened with a positive term instead.
        # Each one's text is kept: the reordered sum prints its terms again, and a Horner form nests such sums (the
        # rational-function rule's, degree 30: 2ᵏ prints, minutes; now each once)
        memo = self.__dict__.setdefault("_unevaluated_texts", {})
        if e not in memo:
            memo[e] = self._print_unevaluated(e)
        return memo[e]

    def _print_unevaluated(self, e):
        body = self._print(e.args[0])
        if body[:1] not in ("-", "−") or not isinstance(e.args[0], sp.Add):
            return body
        terms = list(e.args[0].args)
        lead = next((k for k, t in enumerate(terms) if not t.could_extract_minus_sign()), None)
        if lead is None:
            return "(%s)" % body
        return self._print(sp.Add._from_args([terms[lead], *terms[:lead], *terms[lead + 1:]]))

    def _print_Heaviside(self, e):
        return "H(%s)" % self._print(e.args[0])

    def _print_Exp1(self, e):  # Euler's number as a formula writes it (a lowercase e is a variable): 3·exp(1), where
        return "exp(1)"  # SymPy's printer wrote 3·E, a variable's name to a reader (session 32's teacher; LaTeX: 3 e)

    def _print_Pi(self, e):  # π, as the other Greek letters (σ, θ); --format ascii writes pi (session 30's teacher)
        return "π"

    def _print_Max(self, e):  # max(a, b), as the lecture and NumPy write it (StrPrinter: Max(a, b))
        return "max(%s)" % ", ".join(self._print(a) for a in e.args)

    def _print_Min(self, e):
        return "min(%s)" % ", ".join(self._print(a) for a in e.args)

    def _print_Abs(self, e):
        return "|%s|" % self._print(e.args[0])

    def _print_exp(self, e):
        return "exp(%s)" % self._print(e.args[0])

    def _print_Piecewise(self, e):  # {x if x > 0; expm1(x) otherwise}
        parts = [f"{self._print(v)} if {self._print(c)}" if c != sp.true else f"{self._print(v)} otherwise"
                 for v, c in e.args]
        return "{" + "; ".join(parts) + "}"

    def _print_Relational(self, e):
        op = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}.get(e.rel_op, e.rel_op)
        return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    def _print_And(self, e):  # (a or b) and c: "a or b and c" read as a or (b and c), not what it was
        return " and ".join(f"({self._print(a)})" if isinstance(a, sp.Or) else self._print(a) for a in e.args)

    def _print_Or(self, e):
        return " or ".join(self._print(a) for a in e.args)

    def _print_Partial(self, e):
        d = "d" if e.total else "∂"
        return "%s%s/%s%s" % (d, self._print(e.num), d, self._print(e.den))

    def _print_Name(self, e):
        return e.text

    def _print_Indexed(self, e):
        idx = [_index(self, i) for i in e.indices]
        base = self._print(e.base.label)
        if isinstance(e.base, StepIndexedBase):  # the time step up: hᵗ_i, h⁽ᵗ⁻¹⁾_k
            base += _superscript(idx.pop(0))
            if not idx:
                return base
        if all(len(i.rstrip("'")) == 1 for i in idx):
            return "%s_%s" % (base, "".join(idx))
        return "%s[%s]" % (base, ",".join(idx))

    def _print_IndexedBase(self, e):
        return self._print(e.label)

    def _print_KroneckerDelta(self, e):
        a, b = (_index(self, x) for x in e.args[:2])
        return "δ_%s%s" % (a, b) if len(a) == len(b) == 1 else "δ(%s, %s)" % (a, b)

    def _print_Iverson(self, e):
        return "[%s = %s]" % tuple(_index(self, x) for x in e.args[:2])

    def _print_Transpose(self, e):  # aᵀ, as the prose writes it (StrPrinter: a.T)
        arg = e.arg
        return ("%sᵀ" if isinstance(arg, sp.MatrixSymbol) else "(%s)ᵀ") % self._print(arg)

    def _print_Sum(self, e):
        idx = ",".join(self._print(lim[0]) for lim in e.limits)
        body = self._print(e.function)
        if e.function.is_Add or e.function.is_Mul:
            body = "(%s)" % body
        return "Σ_%s %s" % (idx, body)

    def _print_MatrixBase(self, e):
        return "[" + ", ".join("[" + ", ".join(self._print(x) for x in e.row(r)) + "]"
                               for r in range(e.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def doprint(self, expr):
        s = super().doprint(expr)
        s = re.sub(r"\*\*\((-?\d+)\)", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
        # not the 0 of **0.3 (u₂⁰.3 read as u₂⁰ times .3; session 21): a decimal exponent stays ^0.3
        s = re.sub(r"\*\*(\d+)(?![\d.])", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
        return s.replace("**", "^").replace("*", "·").replace("-", "−")


_SUPERSCRIPT_TEXT = str.maketrans("0123456789+-−()tijklmn'", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾ᵗⁱʲᵏˡᵐⁿ'")


def _superscript(index: str) -> str:
    """An index as a unicode superscript, t → ᵗ, t − 1 → ⁽ᵗ⁻¹⁾; ^(…) where a character has
    none (T, whose ᵀ is the transpose)."""
    packed = index.replace(" ", "")
    if any(c not in _SUPERSCRIPT_TEXT for c in map(ord, packed)):
        return "^(%s)" % index if len(packed) > 1 else "^" + index
    up = packed.translate(_SUPERSCRIPT_TEXT)
    return up if len(packed.rstrip("'")) == 1 else "⁽%s⁾" % up


def _index(printer, i) -> str:
    """An index as a reader writes it: t − 1 and t + 1, where the derivation's own order (the
    printers' ``order="none"``) gives −1 + t."""
    return printer._print_Add(i, order="lex") if isinstance(i, sp.Add) else printer._print(i)


_FULL_DIGITS = 15  # an integer of up to 15 digits prints in full; a longer one is read as a power or in scientific form


def big_integer(n: int, style: str = "text") -> str | None:
    """An integer of more than 15 digits as a reader writes it, or None for a shorter one (printed in full):
    2⁶⁰ for 1152921504606846976 (a power of two), 10³⁰⁰ (a power of ten), 3·10²⁰ (a multiple of a power of
    ten by at most 6 digits), else ≈1.23457·10²⁰ (6 significant digits; the ≈ says it is rounded). ``style``
    "text" writes the exponent as superscripts (the ASCII format's :func:`_ascii` turns 2⁶⁰ into 2^60 and ≈
    into ~=), "latex" as ``2^{60}``, ``3 \\cdot 10^{20}``, ``\\approx 1.23457 \\cdot 10^{20}``. Every printer's
    ``_print_Integer`` and ``_print_Rational`` (numerator and denominator) use it; generated code's literals do
    not (they stay exact).
    """
    n = int(n)
    if len(str(abs(n))) <= _FULL_DIGITS:
        return None
    sign, m = ("-" if n < 0 else ""), abs(n)

    def power(base: int, k: int) -> str:
        return "%d^{%d}" % (base, k) if style == "latex" else "%d%s" % (base, str(k).translate(_SUPERSCRIPT))

    dot = r" \cdot " if style == "latex" else "·"
    if m & (m - 1) == 0:
        return sign + power(2, m.bit_length() - 1)
    digits = str(m)
    body = digits.rstrip("0")
    zeros = len(digits) - len(body)
    if body == "1":
        return sign + power(10, zeros)
    if len(body) <= 6:
        return sign + body + dot + power(10, zeros)
    mantissa = format(Decimal(m), ".5e")  # '1.23457e+20', rounded from the exact integer (a float overflows)
    lead, exp = mantissa.split("e")
    lead = lead.rstrip("0").rstrip(".")
    about = r"\approx " if style == "latex" else "≈"
    return about + sign + ("" if lead == "1" else lead + dot) + power(10, int(exp))


def _readable_float(e: sp.Float) -> sp.Float:
    """``e`` at the precision of its significant digits, at least 15: SymPy prints a Float in fixed point up to
    its precision, and a Float made from a string has as many digits of precision as the string has places
    (``sp.Float("1e300")``: 301), so it printed 10³⁰⁰ as 301 digits (big_integer's case, for a Float); now
    1.0e+300, as ``sp.Float(1e300)``. A Float of 15 digits or fewer, zero, ±inf and NaN are ``e`` itself."""
    dps = prec_to_dps(e._prec)
    if dps <= _FULL_DIGITS or not e.is_finite or e.is_zero:
        return e
    mantissa = mpf_to_str(e._mpf_, dps, strip_zeros=True, min_fixed=1, max_fixed=0).split("e")[0]  # always e-form
    significant = len(mantissa.lstrip("+-").replace(".", "").rstrip("0"))
    return e if significant >= dps else sp.Float(e, max(significant, _FULL_DIGITS))


def _one_term(shown: str) -> str:
    """A number's printout as one term after a '/': k·10ⁿ and ≈m·10ⁿ parenthesised, 2⁶⁰ and 10³⁰⁰ as they are."""
    return "(%s)" % shown if "·" in shown or "≈" in shown else shown


def _abbreviated(e) -> bool:
    """Whether ``e`` is a number that :func:`big_integer` writes as a power or in scientific form (2⁶⁰, 1/10³⁰⁰):
    as a power's base or exponent it takes parentheses."""
    return isinstance(e, sp.Rational) and bool(big_integer(e.p) or big_integer(e.q))


def _decimal(q: sp.Rational) -> str | None:
    """62137/1000 → '62.137', 3/5 → '0.6': exact decimals only; 1/2 and 1/4 stay fractions."""
    den = int(q.q)
    digits = next((k for k in range(1, 13) if 10 ** k % den == 0), None)
    if den <= 4 or digits is None:
        return None
    numerator = int(q.p) * (10 ** digits // den)
    den = 10 ** digits
    sign = "-" if numerator < 0 else ""
    whole, frac = divmod(abs(numerator), den)
    return "%s%d.%0*d" % (sign, whole, digits, frac)


def _long_fraction(q, style: str = "text") -> str | None:
    """A fraction whose numerator and denominator :func:`big_integer` both abbreviate, one of them rounded (``≈``),
    as one number: its exact decimal where that has at most 17 significant digits (a float64 constant as written,
    1.0507009873554805 = 2101401974710961/(2·10¹⁵)), else ≈ its value to 6 significant digits (the product of two
    such constants, ≈1.7581, was ≈8.7905·10³⁰/(5·10³⁰)). None for any other number: 1/2⁶⁰, 3/(2·10³²³),
    1/(≈1.23457·10¹⁸) and 62137/1000 print as before."""
    if not isinstance(q, sp.Rational) or q.is_Integer:
        return None
    num, den = int(q.p), int(q.q)
    shown = [big_integer(abs(n)) for n in (num, den)]
    if not all(shown) or not any(n.startswith("≈") for n in shown):  # x/(≈1.23457·10¹⁸) stays
        return None
    twos, fives, rest = 0, 0, den
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    sign = "-" if num < 0 else ""
    places = max(twos, fives)
    if rest == 1 and places <= 24:
        whole, frac = divmod(abs(num) * (10 ** places // den), 10 ** places)
        text = "%d.%0*d" % (whole, places, frac)
        if len(text.replace(".", "").lstrip("0")) <= 17:
            return sign + text
    with localcontext() as context:
        context.prec = 30
        mantissa, _, exponent = format(Decimal(abs(num)) / Decimal(den), ".6g").partition("e")
    if "." in mantissa:  # Decimal's g keeps trailing zeros: 1.75810
        mantissa = mantissa.rstrip("0").rstrip(".")
    about = r"\approx " if style == "latex" else "≈"
    if not exponent:
        return about + sign + mantissa
    dot, power = (r" \cdot ", "10^{%d}" % int(exponent)) if style == "latex" else \
        ("·", "10" + str(int(exponent)).translate(_SUPERSCRIPT))
    return about + sign + ("" if mantissa == "1" else mantissa + dot) + power


def _signed_zero(e: sp.Float) -> str | None:
    """"−0" or "0" for a nonzero Float below float64's range (the infinite-limit rule's −0.0: SymPy has no signed
    zero, so the generated code's −0.0 is the number −1e−400), else None."""
    return ("−0" if e < 0 else "0") if e != 0 and float(e) == 0 else None


class TexPrinter(_ReaderOrder, LatexPrinter):
    _default_settings = {**LatexPrinter._default_settings, "reader_order": True}

    def _print_Float(self, e):
        zero = _signed_zero(e)
        return ("-0" if zero == "−0" else zero) if zero else super()._print_Float(_readable_float(e))

    def _print_Mul(self, expr, *args, **kwargs):
        # a product kept as written (a value put in at a point) keeps every factor, and SymPy's printer juxtaposes
        # them but for digit against digit: e·1 read `e 1`, −2·2 `\left(-2\right) 2`, and the lecture's
        # −2·(1 − σ(−0.3))·1·(1 − σ(−0.3)) `\left(-2\right) \left(1 - …\right) 1 \left(…\right)` (session 32's
        # teacher): \cdot between the factors, as the text writes ·, and a leading negative number unbracketed
        coefficient, rest = expr.as_coeff_Mul()
        shown = None if _kept_product(expr) else _long_fraction(abs(coefficient), "latex")
        if shown:  # as the text's: \approx 1.7581 \cdot e^{x}, not \frac{\approx 8.7905 \cdot 10^{30} e^{x}}{5 \cdot 10^{30}}
            return ("- " if coefficient < 0 else "") + shown + r" \cdot " + self.parenthesize(rest, PRECEDENCE["Mul"])
        if not _kept_product(expr) or (self._settings["reader_order"] and self.order == "none"
                                       and _reader_factors(expr) is not None):
            return super()._print_Mul(expr, *args, **kwargs)
        factors = list(expr.args)
        sign = ""
        if factors[0] is sp.S.NegativeOne:
            sign, factors = "- ", factors[1:]
        parts = []
        for i, f in enumerate(factors):
            tex = self._print(f)
            if not (i == 0 and f.is_Number) and self._needs_mul_brackets(f, first=i == 0, last=i == len(factors) - 1):
                tex = r"\left(%s\right)" % tex
            parts.append(tex)
        return sign + r" \cdot ".join(parts)

    def _print_Add(self, expr, order=None):
        # LatexPrinter negates a term after its minus sign with -term, which evaluates an unevaluated product of
        # numbers (a value put in at a point): θ₁₁·x₁ = −0.2·1/2 was printed − 0.1 where the text shows − 0.2·1/2
        terms = self._as_ordered_terms(expr, order=order)
        tex = ""
        for i, term in enumerate(terms):
            negated = bool(i) and term.could_extract_minus_sign()
            if negated:
                tex += " - "
                term = _negated(term)
            elif i:
                tex += " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term) or negated and term_tex.startswith("-"):
                # −u₈ at u₈ = tanh(0.2)·(−1) is −1·(−1)·tanh(0.2), whose negation still has a sign: it printed
                # `\frac{1}{2} - \tanh(0.3) - - \tanh(0.2)` (the text: 1/2 − tanh(0.3) − (−1)·tanh(0.2))
                term_tex = r"\left(%s\right)" % term_tex
            tex += term_tex
        return tex

    def _print_Symbol(self, e, style="plain"):
        plain = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)('*)", e.name)
        if plain and plain.group(2):  # theta_10' → \theta_{10}'
            return super()._print_Symbol(sp.Symbol(plain.group(1)), style=style) + plain.group(2)
        if plain:
            return super()._print_Symbol(e, style=style)
        return _math_text(e.name)  # σ'(0), ∇_z C, ∂C/∂W: each character as LaTeX math

    def _print_Dummy(self, e):
        return self._print_Symbol(sp.Symbol(e.name))

    def _print_Integer(self, e):
        return big_integer(e, "latex") or super()._print_Rational(e)

    def _print_int(self, e):
        return big_integer(e, "latex") or super()._print_int(e)

    def _print_Rational(self, e):
        if e.is_Integer:
            return self._print_Integer(e)
        if shown := _long_fraction(e, "latex"):
            return shown
        if big_integer(e.p) or big_integer(e.q):  # \frac{1}{2^{60}}
            body = r"\frac{%s}{%s}" % (self._print_Integer(sp.Integer(abs(e.p))), self._print_Integer(sp.Integer(e.q)))
            return ("- " if e.p < 0 else "") + body
        return _decimal(e) or super()._print_Rational(e)

    def parenthesize(self, item, level, is_neg=False, strict=False):
        if _abbreviated(item) and level >= PRECEDENCE["Pow"]:  # \left(2^{60}\right)^{x}, not 2^{60}^{x} (an error)
            return r"\left(%s\right)" % self._print(item)
        return super().parenthesize(item, level, is_neg, strict)

    def _print_Pow(self, e, *args, **kwargs):
        if not (_abbreviated(e.exp) and self._settings["root_notation"]):
            return super()._print_Pow(e, *args, **kwargs)
        self._settings["root_notation"] = False  # x^{\frac{1}{2^{60}}}: SymPy's \sqrt[q] writes q's digits
        try:
            return super()._print_Pow(e, *args, **kwargs)
        finally:
            self._settings["root_notation"] = True

    def _print_Partial(self, e):
        return e._latex(self)

    def _print_Indexed(self, e):
        idx = [_index(self, i) for i in e.indices]
        if isinstance(e.base, StepIndexedBase):  # the time step up: h^{t}_{i}, h^{(t - 1)}_{k}
            step = idx.pop(0)
            up = step if len(step.rstrip("'")) == 1 else "(%s)" % step
            return "{%s}^{%s}" % (self._print(e.base), up) + ("_{%s}" % ",".join(idx) if idx else "")
        return "{%s}_{%s}" % (self._print(e.base), ",".join(idx))

    def _print_Sum(self, e):  # SymPy's, with the limits in a reader's order: n − 1, not −1 + n
        body = self._print(e.function)
        return self._sum_head(e) + (r"\left(%s\right)" % body if isinstance(e.function, sp.Add) else body)

    def _sum_head(self, e) -> str:
        """``\\sum_{i=0}^{n - 1} ``: the Σ and its limits, without the body."""
        if len(e.limits) == 1:
            return r"\sum_{%s=%s}^{%s} " % tuple(_index(self, x) for x in e.limits[0])
        return r"\sum_{\substack{%s}} " % r"\\".join(
            r"%s \leq %s \leq %s" % tuple(_index(self, x) for x in (lo, i, hi)) for i, lo, hi in e.limits)

    def _print_KroneckerDelta(self, e, exp=None):
        a, b = (_index(self, x) for x in e.args)
        simple = all(isinstance(x, sp.Symbol) for x in e.args)
        body = r"\delta_{%s %s}" % (a, b) if simple else r"\delta_{%s,\, %s}" % (a, b)
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _print_Iverson(self, e, exp=None):
        body = r"[%s = %s]" % tuple(_index(self, x) for x in e.args[:2])
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _print_Heaviside(self, e, exp=None):
        body = r"H\left(%s\right)" % self._print(e.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


def text(expr) -> str:
    """One-line unicode text in the derivation's own order (SymPy's canonical order for sums:
    −y + σ(z)). Generated code's comments and docstrings are written with it, and they must
    not change when a printout's layout does; printouts use :func:`shown`."""
    return TextPrinter({"order": "none", "reader_order": False}).doprint(expr)


class _SharedText(TextPrinter):
    """:func:`symnet.render.text`, each subexpression printed once: the comments of a body's temporaries print
    nested parts of it again and again (softmax-divergence's 2-class KL: 814 comments, 1.5M characters, 12 of its
    19 s to compile). The same text: a product's own is context-free (``_print_Mul`` sets the factors its
    parenthesize looks at), anything else's is kept with the nearest enclosing product's factors (whose quotients
    take brackets there)."""

    def __init__(self):
        super().__init__({"order": "none", "reader_order": False})
        self._texts: dict = {}

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        outer = getattr(self, "_quotient_factors", frozenset())
        key = (expr, frozenset() if isinstance(expr, sp.Mul) else outer)
        out = self._texts.get(key)
        if out is None:
            out = self._texts[key] = super()._print(expr)
        return out


class _SharedRepr(ReprPrinter):
    """SymPy's srepr, each subexpression printed once (the same text: a ReprPrinter keeps no context). A widened
    body's name is a digest of its srepr, and a body that holds one subexpression many times (softmax-divergence's
    φ series, D_i fifteen times in Horner form) printed it each time: 15 of 51 s of the 2-class KL's profiled
    compile, half of it SymPy ordering the same sums' terms again.

    ``by_object``: each object printed once, keyed by the object rather than by SymPy's equality, so that the text
    is exact where equal nodes differ in structure (symnet.pickling's fingerprints); the objects are held until the
    printer is dropped, so that no id is reused meanwhile."""

    def __init__(self, by_object: bool = False):
        super().__init__()
        self._texts: dict = {}
        self._key = id if by_object else (lambda expr: expr)

    def _print(self, expr, **kwargs):
        if kwargs or not isinstance(expr, sp.Basic) or expr.is_Atom:
            return super()._print(expr, **kwargs)
        key = self._key(expr)
        held = self._texts.get(key)
        if held is None:
            held = self._texts[key] = (expr, super()._print(expr))
        return held[1]


def shared_srepr(expr) -> str:
    """``sp.srepr(expr)``, each subexpression printed once (:class:`_SharedRepr`)."""
    return _SharedRepr().doprint(expr)


def object_srepr():
    """``sp.srepr`` as a function that keeps what it printed, each object printed once (:class:`_SharedRepr`,
    ``by_object``): the same text, exactly."""
    return _SharedRepr(by_object=True).doprint


def shared_text():
    """:func:`text` as a function that keeps what it printed, each subexpression printed once (:class:`_SharedText`):
    the generated code's comments of one body (symnet.codegen.doubleword)."""
    return _SharedText().doprint


def shown(expr) -> str:
    """One-line unicode text as a reader writes it (σ(z) − y, β₁^t − 1): every printout's
    text (the text format, the notes and widths of the LaTeX and Markdown ones)."""
    return TextPrinter({"order": "none"}).doprint(expr)


def latex(expr) -> str:
    """LaTeX math as a reader writes it (the same order of terms as :func:`shown`)."""
    return TexPrinter({"order": "none"}).doprint(expr)


def _shown_forms(step: Step) -> tuple:
    """The forms worth printing: one that prints exactly as the one before it (X = X) says
    nothing, so it is left out; the last form always stays."""
    kept, before = [], shown(step.lhs)
    for k, f in enumerate(_in_step_order(step.chain)):
        printed = shown(f)
        if printed != before or (k == len(step.chain) - 1 and not kept):
            kept.append(f)
        before = printed
    return tuple(kept)


def _in_step_order(chain) -> list:
    """The forms, each sum of numbers put in for a sum's variables (d = b + 1 = 2 + 1, z = σ(z) − y
    = σ(0.5) − 1) in the order its sum prints, not SymPy's (1 + 2, −1 + σ(0.5))."""
    out = list(chain)
    for k in range(1, len(out)):
        before, f = out[k - 1], out[k]
        if isinstance(before, sp.Add) and isinstance(f, sp.Add) and len(before.args) == len(f.args) \
                and f.is_number and not before.is_number:
            order = TextPrinter({"order": "none"})._as_ordered_terms(before)
            if all(t in before.args for t in order):
                out[k] = sp.Add._from_args(tuple(f.args[before.args.index(t)] for t in order))
    return out


def _step_text(step: Step) -> str:
    rel = " %s " % step.relation
    line = shown(step.lhs) + rel + rel.join(shown(f) for f in _shown_forms(step))
    if step.approx is not None:
        line += " ≈ " + shown(step.approx)
    notes = [n for n in (step.why, _check_label(step)) if n]
    return line + ("    [" + "; ".join(notes) + "]" if notes else "")


def _check_label(step: Step) -> str:
    return {"symbolic": "✓ symbolic", "numeric": "✓ numeric", "exact": "✓"}.get(step.check, "")


def render_text(d: Derivation) -> str:
    lines = [d.title, "=" * len(d.title)]
    if d.summary:
        lines += [d.summary]
    for sec in d.sections:
        lines += ["", sec.title, "-" * len(sec.title)]
        if sec.text:
            lines += [sec.text]
        if sec.table:
            lines += _table_text(sec.table)
        lines += ["  " + _step_text(s) for s in sec.steps]
    return "\n".join(lines) + "\n"


def _table_text(rows) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        if k == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


_RELATIONS_TEX = {"=": "=", "≤": r"\le", "≥": r"\ge", "<": "<", ">": ">"}
_CHECK_TEX = {"symbolic": r"\checkmark\ \text{symbolic}", "numeric": r"\checkmark\ \text{numeric}",
              "exact": r"\checkmark"}
_LONG = 70  # characters of one-line text beyond which a step is broken over lines
# Characters of a note (the rule and its check, "(…; ✓ symbolic)") per line. A display line
# must fit a page's text width (345 pt in article at 10 pt); a note is roman text at about 4.8 pt
# a character after a \qquad, so 70 characters ran 20–50 pt past the margin.
_NOTE = 56
_LONG_LHS = 16  # characters of a left side beyond which a broken step starts on its own line


def _step_latex(step: Step) -> str:
    """One step as display math (no delimiters), valid in LaTeX's amsmath and in MathJax.

    A long step puts each form on its own line (``aligned``), and a long sum its terms.
    The rule that produced it and its check (✓) follow it in a ``\\qquad`` note.
    """
    rel = _RELATIONS_TEX[step.relation]
    lhs = latex(step.lhs)
    note_lines = _note_lines(step)
    width = len(_step_text(step)) - len(_step_notes(step))
    if width <= _LONG:
        line = lhs + "".join(" %s %s" % (rel, latex(f)) for f in _shown_forms(step))
        if step.approx is not None:
            line += r" \approx " + latex(step.approx)
        if width + len(_step_notes(step)) <= _LONG + 10:
            return r"%s \qquad %s" % (line, note_lines[0]) if note_lines else line
        # the note below, wrapped
        return r"\begin{aligned}&%s" % line + "".join(r" \\ &\qquad " + n for n in note_lines) + r"\end{aligned}"
    lines = []
    alone = len(shown(step.lhs)) > _LONG_LHS  # a long left side on a line of its own, the forms below it
    if alone:
        lines.append("&" + lhs)
    for k, f in enumerate(_shown_forms(step)):
        for j, piece in enumerate(_broken(f)):
            if alone:
                lead = r" &\quad %s %s" % (rel, piece) if j == 0 else r" &\qquad " + piece
            else:
                lead = (lhs if k == 0 else "") + " &%s %s" % (rel, piece) if j == 0 else r" &\quad " + piece
            lines.append(lead)
    if step.approx is not None:
        lines.append(r" &\approx " + latex(step.approx))
    lines.extend(r" &\qquad " + n for n in note_lines)
    return r"\begin{aligned}" + " \\\\\n".join(lines) + r"\end{aligned}"


def _note_lines(step: Step) -> list[str]:
    """The rule and the check as ``(…; ✓ symbolic)``, wrapped at about ``_LONG`` characters
    when it has to go below the step (text inside math does not wrap by itself)."""
    import textwrap

    why = step.why
    if not why and step.check not in _CHECK_TEX:
        return []
    check = _CHECK_TEX.get(step.check, "")
    label = len("(" + "; " * bool(why and check) + _check_label(step) + ")")
    if len(why) + label <= _NOTE:
        return ["(" + _tex_note(why) + (r"\text{; }" if why and check else "") + check + ")"]
    # wrapped with a stand-in word as wide as the check, so that the last line has room for it
    rows = textwrap.wrap(why + " " + "\x01" * max(label - 2, 1), _NOTE - 1)
    rows[-1] = rows[-1].rstrip("\x01").rstrip()
    rows = [r for r in rows if r] or [""]
    out = [_tex_note(r) for r in rows]
    out[0] = "(" + out[0]
    out[-1] += (r"\text{; }" if check else "") + check + ")"
    return out


def _rewrite_class(name: str) -> tuple:
    """symnet.codegen.rewrite's class ``name`` where that module is loaded (an expression holding one was built by it),
    else no class: importing it here would load the engine into a process that only prints stored derivations
    (tests/test_startup.py)."""
    module = sys.modules.get("symnet.codegen.rewrite")
    return (getattr(module, name),) if module is not None else ()


def _broken(expr, limit: int = _LONG) -> list[str]:
    """A long sum (or product) as pieces of at most about ``limit`` characters each (as
    printed in text)."""
    if isinstance(expr, sp.UnevaluatedExpr) and len(shown(expr)) > limit:  # a grouped product or sum (rewrite.Grouped)
        return _broken(expr.args[0], limit)
    if isinstance(expr, _rewrite_class("WrittenWhereNotFiniteBase")):  # printed as its computed form (long-product's)
        return _broken(expr.args[0], limit)
    if isinstance(expr, sp.Mul) and len(shown(expr)) > limit:
        quotient = _broken_quotient(expr, limit)
        return quotient if quotient is not None else _broken_product(expr, limit)
    if isinstance(expr, sp.Piecewise) and len(shown(expr)) > _LONG:
        return [_broken_cases(expr)]
    if isinstance(expr, sp.Sum) and len(shown(expr)) > _LONG and isinstance(expr.function, (sp.Add, sp.Mul)):
        # Σ (a long body): the body over several lines between \Bigl( and \Bigr), which, unlike
        # \left( \right), may open on one line and close on another
        body = _broken(expr.function) if len(shown(expr.function)) > _LONG else [latex(expr.function)]
        if len(body) > 1:
            body[0] = TexPrinter({"order": "none"})._sum_head(expr) + r"\Bigl(" + body[0]
            body[-1] += r"\Bigr)"
            return body
        return [latex(expr)]
    if not (isinstance(expr, sp.Add) and len(shown(expr)) > limit):
        return [latex(expr)]
    printer = TexPrinter({"order": "none"})
    pieces, current, width = [], "", 0
    for term in printer._as_ordered_terms(expr, order="none"):
        negative = term.could_extract_minus_sign()
        body = printer._print(-term if negative else term)
        if isinstance(term if not negative else -term, sp.Add):
            body = r"\left(%s\right)" % body
        sign = "-" if negative else ("+" if current or pieces else "")
        w = len(shown(term))
        if w > limit and isinstance(-term if negative else term, sp.Mul) and not term.has(sp.Piecewise):
            # a term longer than a line: its factors over lines of their own (focal's ∂z ran 196 pt off the page)
            factors = _broken(-term if negative else term, limit)
            if len(factors) > 1:
                if current:
                    pieces.append(current)
                pieces.extend([("%s %s" % (sign, factors[0])).strip()] + factors[1:])
                current, width = "", 0
                continue
        if current and width + w > limit:
            pieces.append(current)
            current, width = "", 0
        current += ("%s %s" % (sign, body)).strip() if not current else " %s %s" % (sign, body)
        width += w
    if current:
        pieces.append(current)
    return pieces


def _broken_cases(expr: sp.Piecewise) -> str:
    """A long select as a careful author sets it: one row per case (``cases``), a long value over
    rows of its own (``aligned`` inside, its terms as :func:`_broken` splits them), so that no row
    is wider than about ``_LONG`` characters (the focal loss's ∂t was one row of 1,300 characters)."""
    rows = []
    cases = _flat_cases(expr)
    # the conditions' column stands beside every row: a row's value has that much less room (focal's ∂z ran
    # 54 pt off the page with its values broken at the full width)
    room = _LONG - min(max(len(shown(cond)) + 4 for _, cond in cases), _LONG // 2)
    broken = [(_broken(value, max(room, 30)), _broken_condition(cond, _LONG // 2)) for value, cond in cases]
    if max(_tex_chars(p) for pieces, _ in broken for p in pieces) + max(_tex_chars(t) for _, terms in broken
                                                                        for t in terms) > _LONG + 10:
        # a value with a factor wider than the room beside the conditions (a select nested in it): each condition
        # on a line of its own and its value below it, at the full width (vanishing-gradient's stable form ran
        # 209 pt past the margin in cases)
        return _stacked_cases(cases)
    for (value, cond), (pieces, terms) in zip(cases, broken):
        shown_value = pieces[0] if len(pieces) == 1 else \
            r"\begin{aligned}&" + " \\\\\n&\\quad ".join(pieces) + r"\end{aligned}"
        when = r"\text{otherwise}" if cond == sp.true else r"\text{for}\: " + (terms[0] if len(terms) == 1 else
                                                                              r"\begin{aligned}[t]&" + " \\\\\n&".join(terms) + r"\end{aligned}")
        rows.append("%s & %s" % (shown_value, when))
    return r"\begin{cases} " + " \\\\\n".join(rows) + r" \end{cases}"


def _stacked_cases(cases: list[tuple]) -> str:
    """A select as lines: "for <condition>:" (one clause a line, as in cases) with its value below it, indented."""
    lines = []
    for value, cond in cases:
        terms = _broken_condition(cond, _LONG - 10)
        if cond == sp.true:
            lines.append(r"&\text{otherwise:}")
        else:
            lines += [(r"&\text{for}\: " if k == 0 else r"&\qquad ") + t for k, t in enumerate(terms)]
            lines[-1] += r"\text{:}"
        lines += [r"&\quad " + p for p in _broken(value, _LONG - 10)]
    return r"\left\{\begin{aligned}" + " \\\\\n".join(lines) + r"\end{aligned}\right."


def _tex_chars(tex: str) -> int:
    """About how many characters wide a line of LaTeX is set (a command one, braces and spacing none)."""
    tex = re.sub(r"\\(left|right|bigl|bigr|Bigl|Bigr|begin\{\w+\}|end\{\w+\}|operatorname|mathrm|text|quad|qquad)\b|[{}&\s]",
                 "", tex)
    return len(re.sub(r"\\[A-Za-z]+|\\.", "x", tex))


def _flat_cases(expr: sp.Piecewise) -> list[tuple]:
    """A select's cases with a select that is a case's value written as cases of its own, each under both
    conditions (the same value in order: a nested select's cases, tried after the outer ones before it), so that
    a long select is one column of cases, not cases inside cases, each with a conditions' column of its own
    (vanishing-gradient's stable form: 395 pt wider than the page with its products broken)."""
    cases = []
    for value, cond in expr.args:
        if isinstance(value, sp.Piecewise):
            cases += [(v, c if cond == sp.true else cond if c == sp.true else sp.And(cond, c, evaluate=False))
                      for v, c in _flat_cases(value)]
        else:
            cases.append((value, cond))
    return cases


def _broken_quotient(expr: sp.Mul, limit: int = _LONG) -> list[str] | None:
    """A long quotient N/D with a short denominator as 1/D before N's lines (ndtr_tanh_pdf's derivative, a sum over
    100000·√π, was one fraction 67 pt wider than the page); None where it is no such quotient or N is one line."""
    negative = expr.could_extract_minus_sign()
    numerator, denominator = sp.fraction(-expr if negative else expr)
    if denominator == 1 or len(shown(denominator)) > _LONG // 2 or len(shown(numerator)) <= limit:
        return None
    lines = _broken(numerator, limit)
    if len(lines) == 1:
        return None
    if isinstance(numerator, sp.Add):
        lines[0], lines[-1] = r"\Bigl(" + lines[0], lines[-1] + r"\Bigr)"
    lead = ("-" if negative else "") + r"\frac{1}{%s}" % latex(denominator)
    return [lead + " " + lines[0]] + lines[1:]


def _broken_condition(cond, limit: int) -> list[str]:
    """A select's condition as lines of at most about ``limit`` characters: a conjunction (disjunction) one
    operand a line, each after the first led by ∧ (∨), an operand that is itself long broken the same way
    (clamp's derivative had a condition of 40 clauses on one line, 993 pt wider than the page)."""
    printer = TexPrinter({"order": "none"})
    if not isinstance(cond, (sp.And, sp.Or)) or len(shown(cond)) <= limit:
        return [printer._print(cond)]
    sign = r"\wedge " if isinstance(cond, sp.And) else r"\vee "
    lines: list[str] = []
    for k, arg in enumerate(cond.args):
        inner = _broken_condition(arg, limit)
        if isinstance(arg, (sp.And, sp.Or)):
            inner[0] = r"\bigl(" + inner[0]
            inner[-1] += r"\bigr)"
        lines += [(sign if k and j == 0 else r"\quad " if j else "") + line for j, line in enumerate(inner)]
    return lines


def _broken_product(expr: sp.Mul, limit: int = _LONG) -> list[str]:
    """A long product without a denominator, its factors over several lines (· between)."""
    from sympy.printing.precedence import PRECEDENCE

    WidenedBase = _rewrite_class("WidenedBase")

    negative = expr.could_extract_minus_sign()
    body = -expr if negative else expr
    factors = body.as_ordered_factors()
    if not isinstance(body, sp.Mul) or any(f.is_Pow and f.exp.is_negative for f in factors) \
            or any(not f.is_commutative for f in factors):
        return [latex(expr)]
    printer = TexPrinter({"order": "none"})
    pieces, current, width = [], "-" if negative else "", 0
    for f in factors:
        printed = printer.parenthesize(f, PRECEDENCE["Mul"], strict=False)
        w = len(shown(f))
        grouped = isinstance(f, sp.UnevaluatedExpr) and isinstance(f.args[0], (sp.Add, sp.Mul))
        # a widened product or sum, f64(…) (the long-product rule's eight σ factors of vanishing-gradient's stable
        # form, 382 pt wider than the page, session 35): its body broken the same way inside f64\Bigl( … \Bigr)
        widened = isinstance(f, WidenedBase) and isinstance(f.expanded, (sp.Add, sp.Mul))
        grouped = grouped or widened
        inner = _broken(f.expanded if widened else f, limit) if (isinstance(f, sp.Add) or grouped) and w > limit else []
        if len(inner) > 1:  # a sum longer than a line (a 2-layer net's ∂x ran 215 pt off the page): its terms over
            # lines between \Bigl( and \Bigr), which, unlike \left( \right), may open and close on different lines;
            # a grouped product too, whose brackets keep the order the code multiplies in (vanishing-gradient's stable
            # form nests six, one line 1,716 pt wider than the page; each opens a line of its own, or the factors
            # before each bracket gather on the first line)
            if grouped and current.strip("-") and current != r"\cdot ":
                pieces.append(current)
                current, width = r"\cdot ", 0
            inner[0] = current + (" " if current.strip("-") and not current.endswith(" ") else "") + \
                (r"\operatorname{f64}" if widened else "") + r"\Bigl(" + inner[0]
            inner[-1] += r"\Bigr)"
            pieces.extend(inner)
            current, width = r"\cdot ", 0
            continue
        if current.strip("-") and current != r"\cdot " and width + w > limit - 15:  # TeX sets a product wider than text
            pieces.append(current)
            current, width = r"\cdot ", 0
        current += (" " if current.strip("-") and not current.endswith(" ") else "") + printed
        width += w
    if current != r"\cdot ":
        pieces.append(current)
    return pieces


def _step_notes(step: Step) -> str:
    t = _step_text(step)
    return t[t.index("    [") :] if "    [" in t else ""


# ------------------------------------------------------------ prose inside LaTeX and MathJax
# Titles, rule names and prose are unicode text with a little ASCII math (σ'(z^L) ∘ ∇_y C,
# y_r = e^(z_r)/Σ_k e^(z_k), Wᵀδ). pdflatex has no glyphs for σ, ∂, −, ᵀ in text mode, and
# MathJax prints \_ inside \text{} literally; so such text is split into plain-text runs
# (only characters both accept) and math runs (σ → \sigma, ^(t−1) → ^{(t-1)}).

def _greek() -> dict[str, str]:
    from sympy.printing.pretty.pretty_symbology import greek_unicode

    out = {}
    for name, char in greek_unicode.items():
        if isinstance(char, str) and len(char) == 1:
            tex = sp.latex(sp.Symbol(name))
            out[char] = tex + (" " if tex.startswith("\\") else "")
    return out


_MATH_CHARS = {
    **_greek(),
    "∂": r"\partial ", "∇": r"\nabla ", "−": "-", "·": r"\cdot ", "×": r"\times ",
    "→": r"\to ", "←": r"\leftarrow ", "∘": r"\circ ", "≤": r"\le ", "≥": r"\ge ",
    "≠": r"\ne ", "≈": r"\approx ", "∞": r"\infty ", "±": r"\pm ", "√": r"\surd ",
    "½": r"\tfrac{1}{2}", "¼": r"\tfrac{1}{4}", "ᵀ": r"^{\mathsf{T}}", "ℝ": r"\mathbb{R}",
    "∈": r"\in ", "…": r"\dots ", "⋯": r"\cdots ", "✓": r"\checkmark ",
    "{": r"\{", "}": r"\}", "%": r"\%", "$": r"\$", "&": r"\&", "#": r"\#",
    "\\": r"\backslash ", "~": r"\sim ", "<": "<", ">": ">", "|": "|", "*": r"\ast ",
}
_SUP = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾ⁱⁿʰᵒᵗʲᵏˡᵐᴸˣ", "0123456789-+()inhotjklmLx"))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₋₊₍₎", "0123456789-+()"))
_TEXT_SAFE = re.compile(r"[A-Za-z0-9 .,;:!?()\[\]/=+\-'\"@`“”‘’—–]")
_SCRIPT = re.compile(r"([\^_])(\([^()]*\)|\{[^{}]*\}|[−+\-]?[A-Za-z0-9']+)")
# a total derivative in prose, df/du or de/dx₁ (the backward pass's introduction): math, as
# ∂v/∂u beside it is, not the upright word "df/du" it was in a pasted LaTeX paragraph
_TOTAL_NAME = r"([A-Za-z][0-9]*[₀-₉]*(?:_[A-Za-z0-9]{1,2})?)"  # one letter: not "did/does"
_TOTAL = re.compile(r"(?<![A-Za-z0-9])d%s/d%s(?![A-Za-z0-9_^])" % (_TOTAL_NAME, _TOTAL_NAME))


# a number in scientific notation, 1e−30 or 3.4e38: one math token (1\mathrm{e}{-}30), not the text "1e" beside a
# math minus (which the merge below took into math as "$\pm 1e-$30")
_SCIENTIFIC = re.compile(r"(\d+(?:\.\d+)?)e([−+\-]?)(\d+)(?![A-Za-z0-9_])")
_FUNCTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![A-Za-z0-9_])")  # a name with an _


def _registry_names() -> frozenset:
    """The parser's function names that hold an underscore (log_cosh, smooth_l1, bce_logits …)."""
    from .registry import NAMES

    return frozenset(n for n in NAMES if "_" in n)


def _code_name(name: str) -> bool:
    """Whether ``name`` (letters and digits joined by ``_``) is a name of code, every part a word
    (sigmoid_pair_product, pair_product), rather than a letter with a subscript (y_r, W_jk, x_10, E_total)."""
    first, *rest = name.split("_")
    return len(first) >= 2 and all(len(part) >= 3 and part.isalpha() for part in rest)


def _segments(s: str) -> list[tuple[bool, str]]:
    """``s`` as (is_math, piece) runs; math pieces are LaTeX math, text pieces plain."""
    out: list[tuple[bool, str]] = []

    def add(is_math, piece):
        if out and out[-1][0] == is_math:
            out[-1] = (is_math, out[-1][1] + piece)
        else:
            out.append((is_math, piece))

    def base():  # the base of a script, y in y_r or W in W^(l+1), goes into math with it
        if out and not out[-1][0]:
            word = re.search(r"(?<![A-Za-z])[A-Za-z0-9]{1,3}$", out[-1][1])
            if word:
                rest = out[-1][1][: word.start()]
                out[-1:] = [(False, rest)] if rest else []
                add(True, word.group())

    k = 0
    while k < len(s):
        c = s[k]
        total = _TOTAL.match(s, k) if c == "d" and (k == 0 or not s[k - 1].isalnum()) else None
        if total:
            add(True, "d%s/d%s" % tuple(_math_text(name, words=False) for name in total.groups()))
            k = total.end()
            continue
        name = _FUNCTION_NAME.match(s, k) if k == 0 or not (s[k - 1].isalnum() or s[k - 1] == "_") else None
        if name and (name.group() in _registry_names() or _code_name(name.group())):
            # log_cosh is a name, not log with subscript cosh; so is a helper's sigmoid_pair_product in a rule's
            # reason (two subscripts, which pdflatex refused: "Double subscript", vanishing-gradient --stable)
            add(True, r"\operatorname{%s}" % name.group().replace("_", r"\_"))
            k = name.end()
            continue
        starts_a_number = c.isdigit() and (k == 0 or not (s[k - 1].isalnum() or s[k - 1] in "._"))
        number = _SCIENTIFIC.match(s, k) if starts_a_number else None
        if number:
            mantissa, sign, exponent = number.groups()
            sign = {"−": "{-}", "-": "{-}", "+": "{+}", "": ""}[sign]
            add(True, r"%s\mathrm{e}%s%s" % (mantissa, sign, exponent))
            k = number.end()
            continue
        m = _SCRIPT.match(s, k)
        if m and (k > 0 and not s[k - 1].isspace()):
            base()
            arg = m.group(2)
            if arg[0] in "({" and arg[-1] in ")}":
                arg = arg[1:-1] if arg[0] == "{" else arg
            add(True, "%s{%s}" % (m.group(1), _math_text(arg, words=False)))
            k = m.end()
            continue
        close = s.find("⁾", k) if c == "⁽" else -1
        if 0 < close - k <= 8 and all(x.isalnum() or x in _SUP for x in s[k + 1:close]):
            base()  # a⁽0⁾ (how layer names print): the whole group is the superscript
            add(True, "^{(%s)}" % "".join(_SUP.get(x, x) for x in s[k + 1:close]))
            k = close + 1
            continue
        if c in _SUP or c in _SUB:
            base()
            table, mark = (_SUP, "^") if c in _SUP else (_SUB, "_")
            j = k
            while j < len(s) and s[j] in table:
                j += 1
            add(True, "%s{%s}" % (mark, "".join(table[x] for x in s[k:j])))
            k = j
            continue
        if c == "'" and out and out[-1][0]:  # σ'(z): a prime, not an apostrophe
            add(True, "'")
        elif c in _MATH_CHARS:
            add(True, _MATH_CHARS[c])
        elif _TEXT_SAFE.fullmatch(c):
            add(False, c)
        elif c in "^_":  # a lone ^ or _ (at a word's start, or at the end)
            add(True, r"\hat{}" if c == "^" else r"\_")
        else:
            add(True, r"\text{?}" if c.isprintable() else "")
        k += 1
    # a short run between two math runs is math too: the L in ∂L/∂θ, not an upright L
    merged: list[tuple[bool, str]] = []
    for n, (is_math, piece) in enumerate(out):
        between = 0 < n < len(out) - 1 and out[n - 1][0] and out[n + 1][0]
        if not is_math and between and len(piece) <= 3 and re.fullmatch(r"[A-Za-z0-9/()',+=]+", piece):
            is_math = True
        if not is_math and merged and merged[-1][0] and merged[-1][1].endswith(r"\partial "):
            # the u of ∂v/∂u at the end of a math run is the variable, not an upright word
            word = re.match(r"[A-Za-z][A-Za-z0-9]{0,2}(?![A-Za-z0-9])", piece)
            if word:
                merged[-1] = (True, merged[-1][1] + word.group())
                piece = piece[word.end():]
                if not piece:
                    continue
        if merged and merged[-1][0] == is_math:
            merged[-1] = (is_math, merged[-1][1] + piece)
        else:
            merged.append((is_math, piece))
    return merged


def _math_text(s: str, words: bool = True) -> str:
    """Text as LaTeX math: letters in math italic, words of two or more letters upright."""
    out = []
    for is_math, piece in _segments(s):
        if is_math:
            out.append(piece)
        elif words:
            out.append(re.sub(r"[A-Za-z]{2,}|\s+", lambda m: r"\ " if m.group().isspace()
                              else r"\text{%s}" % m.group(), piece))
        else:
            out.append(piece)
    return "".join(out)


def _tex_note(s: str, style: str = r"\text") -> str:
    """Prose for inside math mode: plain runs in ``\\text{}`` (or ``\\textbf{}``, …),
    math runs as they are."""
    return "".join("{%s}" % p if is_math else r"%s{%s}" % (style, p) for is_math, p in _segments(s))


def _tex_text(s: str) -> str:
    """Prose for LaTeX text mode (titles, paragraphs): math runs in ``$…$``."""
    return "".join("$%s$" % p if is_math else p for is_math, p in _segments(s))


def _tex_paragraph(s: str) -> str:
    """A paragraph for LaTeX text mode, as :func:`_tex_text`, where a name of code may break after each ``_``
    (TeX cannot hyphenate it: squared_hinge's forward-pass paragraph ran 9.8 pt past the margin)."""
    return re.sub(r"\\operatorname\{([^{}]*\\_[^{}]*)\}",
                  lambda m: r"\mathrm{%s}" % r"\_}\allowbreak\mathrm{".join(m.group(1).split(r"\_")), _tex_text(s))


def render_latex(d: Derivation) -> str:
    """The derivation as a LaTeX fragment for a document with ``amsmath`` and ``amssymb``.

    It compiles with pdflatex's default UTF-8 input: every non-ASCII character is
    written as a LaTeX command. Each section's steps are one ``gather*`` that may break
    across pages between steps.
    """
    parts = [r"% symnet derivation; needs \usepackage{amsmath,amssymb}",
             r"\textbf{%s}" % _title_latex(d)]
    if d.summary:
        parts.append(r"\par %s" % _tex_paragraph(d.summary))
    for sec in d.sections:
        parts.append(r"\par\medskip\textit{%s}" % _tex_text(sec.title))
        if sec.text:
            parts.append(r"\par %s" % _tex_paragraph(sec.text))
        if sec.table:
            parts.append(_table_latex(sec.table))
        if sec.steps:
            # A gather* never breaks across pages unless allowed: backprop's 13 backward
            # steps ran 800 pt past the page's foot. \allowdisplaybreaks inside the group
            # lets this display break between steps without changing the user's document.
            parts.append(r"{\allowdisplaybreaks\begin{gather*}" + "\n"
                         + " \\\\\n".join(_step_latex(s) for s in sec.steps)
                         + "\n" + r"\end{gather*}}")
    return "\n".join(parts) + "\n"


def _title_latex(d: Derivation, math: bool = False) -> str:
    """The title for LaTeX text mode (or, with ``math``, for inside math mode); a title that is
    the formula (``default_title``) has the formula typeset as the steps typeset it:
    Derivative of $x^{2} \\sin{\\left(x \\right)}$."""
    definitions = dict(d.definitions)

    def full(e):
        return e.xreplace({s: full(definitions[s]) for s in e.free_symbols if s in definitions})

    formulas = [full(o) for o in d.outputs]
    what = d.title.split(" of ", 1)[0]
    written = [shown(f) for f in formulas]
    as_formula = "%s of %s" % (what, written[0] if len(written) == 1 else "[" + ", ".join(written) + "]")
    # the formula typeset only where the title writes it out: one too long for a title is named by its
    # output ("Derivative of f"; the focal loss's title was its three-case formula, 694 characters of LaTeX)
    if not formulas or d.title != default_title(formulas, d.outputs) or d.title != as_formula:
        return _tex_note(d.title, r"\textbf") if math else _tex_text(d.title)
    body = latex(formulas[0]) if len(formulas) == 1 else \
        r"\left[%s\right]" % ", ".join(latex(f) for f in formulas)
    return r"\textbf{%s of } %s" % (what, body) if math else "%s of $%s$" % (what, body)


def _table_latex(rows) -> str:
    body = [" & ".join(_tex_text(c) for c in r) + r" \\" for r in rows]
    body.insert(1, r"\hline")
    return (r"\par\begin{tabular}{%s}" % ("l" * len(rows[0])) + "\n" + "\n".join(body)
            + "\n" + r"\end{tabular}")


def render_latex_math(d: Derivation) -> str:
    """The whole derivation as one display-math block, for Jupyter (MathJax/KaTeX)."""
    rows = [_title_latex(d, math=True)]
    for sec in d.sections:
        if sec.steps:
            rows.append(_tex_note(sec.title, r"\textit"))
            rows.extend(r"\quad " + _step_latex(s) for s in sec.steps)
    return "$$\n\\begin{array}{l}\n" + " \\\\\n".join(rows) + "\n\\end{array}\n$$"


# CommonMark's active characters in prose (a _ only where it can open or close emphasis: not inside a word, so
# y_r stays as written; ] only before the ( of an inline link)
_MD_SPECIAL = re.compile(r"([\\`*|<$]|(?<!\w)_|_(?!\w)|\](?=\())")


def _md(s: str) -> str:
    """Prose for Markdown, shown as written: a formula's * is not emphasis ("# Derivative of x*exp(x**2)*y" set
    exp(x in italics and lost two stars), a table cell's | not a column, a user's title or name not markup (a title
    "<script>…</script>" was raw HTML in the page, "$x$" math, "_a_" emphasis, "[a](javascript:…)" a link)."""
    return _MD_SPECIAL.sub(r"\\\1", s)


def _md_heading(s: str) -> str:
    """A title for a Markdown heading: :func:`_md`, its line breaks spaces (a newline in a user's title began a
    paragraph, or a heading of the user's, below the heading)."""
    return _md(" ".join(s.splitlines()))


def render_markdown(d: Derivation, heading: str = "#") -> str:
    out = [f"{heading} {_md_heading(d.title)}", ""]
    if d.summary:
        out += [_md(d.summary), ""]
    for sec in d.sections:
        out += [f"{heading}# {_md_heading(sec.title)}", ""]
        if sec.text:
            out += [_md(sec.text), ""]
        if sec.table:
            out += ["| " + " | ".join(map(_md, sec.table[0])) + " |",
                    "|" + "---|" * len(sec.table[0])]
            out += ["| " + " | ".join(map(_md, r)) + " |" for r in sec.table[1:]]
            out += [""]
        for s in sec.steps:
            out += ["$$", _step_latex(s), "$$", ""]
    return "\n".join(out).rstrip() + "\n"


class _ParsablePrinter(StrPrinter):
    """Strings that ``sympy.sympify`` reads back as they are: ``IndexedBase(W)[j, k]``,
    ``MatrixSymbol(W, n, m)``, ``Symbol("t'")`` for names that are not plain identifiers."""

    printmethod = "_symnet_json"  # not Indexed's own _sympystr: dispatch on class here

    def _print_Symbol(self, e):
        return e.name if _plain_name(e.name) else "Symbol(%r)" % e.name

    _print_Dummy = _print_Symbol

    def _print_Partial(self, e):
        return "Derivative(%s, %s)" % (self._print(e.num), self._print(e.den))

    def _print_Indexed(self, e):
        return "%s[%s]" % (self._print(e.base), ", ".join(self._print(i) for i in e.indices))

    def _print_Iverson(self, e):  # an Iverson bracket is a Kronecker delta
        return "KroneckerDelta(%s)" % ", ".join(self._print(a) for a in e.args)

    def _print_IndexedBase(self, e):
        return "IndexedBase(%s)" % self._print(e.label)

    def _print_MatrixSymbol(self, e):
        return "MatrixSymbol(%s, %s, %s)" % (self._print_Symbol(sp.Symbol(e.name)),
                                             self._print(e.rows), self._print(e.cols))


def _plain_name(name: str) -> bool:
    """Whether sympify reads ``name`` back as the symbol of that name (E, I, S, beta do not), also with
    ``locals=symnet.parsing.FUNCTIONS``, as the JSON promises: sigmoid's output σ is a function's name there.
    The answer depends on the registry's names, so it is cached by the registry's generation as well: a
    variable ``foo`` printed before a function ``foo`` was registered was printed bare after it (read back
    as the function)."""
    from .registry import generation

    return _plain_name_now(name, generation())


@lru_cache(maxsize=4096)  # keyed by users' names: bounded
def _plain_name_now(name: str, generation: int) -> bool:
    from .registry import NAMES

    if not name.isidentifier() or keyword.iskeyword(name) or name in NAMES:
        return False
    try:
        return sp.sympify(name) == sp.Symbol(name)
    except Exception:  # noqa: BLE001 - any failure means: spell it out
        return False


def _parsable(expr) -> str:
    return _ParsablePrinter().doprint(expr)


def _all_exprs(d: Derivation):
    for t, e in d.definitions:
        yield sp.sympify(t)
        yield e
    for k, v in d.gradients.items():
        yield sp.sympify(k)
        yield v
    for s in d.steps:
        yield from (f for f in s.chain if isinstance(f, sp.Basic))


def render_json(d: Derivation) -> str:
    def step(s: Step) -> dict:
        out = {"lhs": _parsable(s.lhs), "value": _parsable(s.value),
                "forms": [_parsable(f) for f in s.chain], "relation": s.relation,
                "text": _step_text(s), "latex": _step_latex(s), "why": s.why, "check": s.check}
        if s.approx is not None:  # a value at a point, as a decimal
            out["approx"] = _parsable(s.approx)
        matrices = {m.name: [_parsable(m.rows), _parsable(m.cols)] for m in sorted(s.value.atoms(sp.MatrixSymbol), key=str)}
        if matrices:  # names that are matrices in this step's value, with their shapes
            out["matrices"] = matrices
        return out

    indexed = sorted({_parsable(x.base.label) for e in _all_exprs(d) for x in e.atoms(sp.Indexed)})
    functions = sorted({type(f).__name__ for e in _all_exprs(d) for f in e.atoms(sp.Function)
                        if type(f).__module__.startswith("symnet")
                        and not isinstance(f, sp.KroneckerDelta)})  # an Iverson bracket is written KroneckerDelta
    doc = {
        "name": d.name, "title": d.title, "summary": d.summary,
        # each string parses back with sympy.sympify(s, locals=symnet.parsing.FUNCTIONS);
        # "indexed" lists the IndexedBase names and "functions" symnet's own functions used
        "indexed": indexed, "functions": functions,
        "inputs": [_parsable(s) for s in d.inputs],
        "wrt": [_parsable(s) for s in d.wrt],
        "outputs": [_parsable(s) for s in d.outputs],
        "definitions": [{"target": _parsable(t), "expression": _parsable(e)} for t, e in d.definitions],
        "gradients": {_parsable(k): _parsable(v) for k, v in d.gradients.items()},
        "jacobian": None if d.jacobian is None else
        [[_parsable(x) for x in d.jacobian.row(r)] for r in range(d.jacobian.rows)],
        "sections": [{"title": sec.title, "text": sec.text, "table": [list(r) for r in sec.table],
                      "steps": [step(s) for s in sec.steps]} for sec in d.sections],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# Plain ASCII (a text-only LMS, an email, a terminal without UTF-8): the text format's printout, each non-ASCII
# character written out. Its expressions are SymPy's StrPrinter (TextPrinter) output, so the same map turns
# both the prose and the math into ASCII, and a name reads the same in both (θ₁₀ → theta_10, u₁ → u1).
_ASCII_CHARS = {
    "·": "*", "−": "-", "∂": "D", "✓": "ok", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~=", "≪": "<<", "≫": ">>",
    "∞": "inf", "×": "x", "→": "->", "←": "<-", "↦": "|->", "⇒": "=>", "…": "...", "⋯": "...", "—": "--",
    "–": "-", "‑": "-", "Σ": "Sum", "∑": "Sum", "∏": "Prod", "√": "sqrt", "∇": "grad", "∘": "o", "±": "+/-",
    "∈": "in", "∉": "not in", "ℝ": "R", "½": "1/2", "¼": "1/4", "¾": "3/4", "⅓": "1/3", "“": '"', "”": '"',
    "‘": "'", "’": "'", "′": "'", "″": "''", "«": '"', "»": '"', "°": " deg", "∧": "and", "∨": "or",
    "¬": "not ", "≡": "==", "∝": "prop. to", "⊙": "(.)", "⊗": "(x)", "⟨": "<", "⟩": ">", "\u00a0": " ",
    "\u2009": " ", "\u202f": " ", "ᵀ": "^T", "é": "e", "è": "e", "ö": "o", "ü": "u",
}
_ASCII_SUP = {**_SUP, "⁼": "=", "ʲ": "j", "ᵏ": "k", "ᵃ": "a", "ᵇ": "b", "ᶜ": "c", "ᵈ": "d", "ᵉ": "e", "ᵍ": "g",
              "ᵖ": "p", "ʳ": "r", "ˢ": "s", "ᵘ": "u", "ᵛ": "v", "ʷ": "w", "ʸ": "y", "ᶻ": "z", "ᴺ": "N", "ᵂ": "W",
              "ᴬ": "A", "ᴮ": "B", "ᴰ": "D", "ᴱ": "E", "ᴳ": "G", "ᴴ": "H", "ᴵ": "I", "ᴶ": "J", "ᴷ": "K", "ᴹ": "M",
              "ᴼ": "O", "ᴾ": "P", "ᴿ": "R", "ᵁ": "U"}
_ASCII_SUB = {**_SUB, "ᵢ": "i", "ⱼ": "j", "ₖ": "k", "ₗ": "l", "ₘ": "m", "ₙ": "n", "ₜ": "t", "ₐ": "a", "ₑ": "e",
              "ₒ": "o", "ₓ": "x", "ₚ": "p", "ₛ": "s", "ᵣ": "r"}


@lru_cache(maxsize=1)
def _ascii_greek() -> dict[str, str]:
    from sympy.printing.pretty.pretty_symbology import greek_unicode

    return {char: name for name, char in greek_unicode.items() if isinstance(char, str) and len(char) == 1}


def _ascii(s: str) -> str:
    """``s`` in ASCII: σ(z)·(1 − σ(z)) → sigma(z)*(1 - sigma(z)), x² → x^2, e⁻ˣ → e^(-x), θ₁₀ → theta_10,
    ∂L/∂a → DL/Da (D: the partial derivative, d the total one), ✓ → ok. A character with no entry is written
    as its decomposition's ASCII part, else as <U+XXXX> (never dropped)."""
    import unicodedata

    if s.isascii():
        return s
    greek = _ascii_greek()
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in _ASCII_SUP:  # a run of superscripts is one exponent: ^2, ^60, ^(t-1), ^(-x)
            j = i
            while j < len(s) and (s[j] in _ASCII_SUP or (s[j] == "'" and s[j + 1:j + 2] in _ASCII_SUP)):
                j += 1  # a prime inside the exponent (δ⁽ᵗ'⁺¹⁾) is part of it
            run = "".join(_ASCII_SUP.get(ch, ch) for ch in s[i:j])
            out.append("^" + (run if len(run) == 1 or run.isdigit() or (run[0] == "(" and run[-1] == ")" and "(" not in run[1:-1])
                              else f"({run})"))
            if j < len(s) and (s[j].isalnum() or s[j] in "(√∂"):
                out.append(" ")  # Wⁱxᵗ: W^i x^t, not W^ix^t
            i = j
            continue
        if c in _ASCII_SUB:  # θ₁₀ → theta_10 (SymPy's name), u₁ → u1
            j = i
            while j < len(s) and s[j] in _ASCII_SUB:
                j += 1
            run = "".join(_ASCII_SUB[ch] for ch in s[i:j])
            after_word = len(out) > 0 and len(out[-1]) > 1 and out[-1].isalpha()  # a Greek letter's name
            out.append(("_" if after_word or not run.isdigit() else "") + run)
            i = j
            continue
        if c == "√" and i + 1 < len(s) and s[i + 1] != "(":  # √π → sqrt(pi), √2 → sqrt(2): not "sqrtpi"
            j = i + 1
            while j < len(s) and (s[j].isalnum() or s[j] in ".") and (j == i + 1 or s[j].isascii()):
                j += 1
            if j > i + 1:
                out.append(f"sqrt({_ascii(s[i + 1:j])})")
                i = j
                continue
        if c.isascii():
            out.append(c)
        elif c in _ASCII_CHARS:
            out.append(_ASCII_CHARS[c])
        elif c in greek:
            out.append(greek[c])
        else:
            plain = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
            out.append(plain or f"<U+{ord(c):04X}>")
        i += 1
    return "".join(out)


_ASCII_LEGEND = ("(Plain ASCII: D is the partial derivative sign, d the total one; ^ a power, * a product; "
                 "sigma the logistic function, delta_ij Kronecker's delta.)")


def render_ascii(d: Derivation) -> str:
    """The text format in plain ASCII, for a text-only LMS, an email or a terminal without UTF-8
    (``symnet derive NAME --format ascii``): the same lines, each character outside ASCII written out
    (:func:`_ascii`), with a one-line legend under the title. Every character of the result is ASCII."""
    title = _ascii(d.title)
    lines = [title, "=" * len(title), _ASCII_LEGEND]
    if d.summary:
        lines += [_ascii(d.summary)]
    for sec in d.sections:
        head = _ascii(sec.title)
        lines += ["", head, "-" * len(head)]
        if sec.text:
            lines += [_ascii(sec.text)]
        if sec.table:
            lines += _table_text([tuple(_ascii(cell) for cell in row) for row in sec.table])
        lines += ["  " + _ascii(_step_text(st)) for st in sec.steps]
    return "\n".join(lines) + "\n"


FORMATS = {"text": render_text, "ascii": render_ascii, "latex": render_latex, "markdown": render_markdown,
           "json": render_json}


def render(d: Derivation, fmt: str = "text") -> str:
    """The printout of ``d`` in ``fmt``, as ``symnet derive NAME --format FMT`` prints it: "text" (unicode,
    what ``print(d)`` shows), "ascii" (the same in plain ASCII), "latex" (a fragment for a document loading
    amsmath and amssymb), "markdown" ($$ math) or "json" (SymPy-parsable strings).

    Raises:
        SymnetError: an unknown ``fmt``, naming the formats.
    """
    try:
        return FORMATS[fmt](d)
    except KeyError:
        from .errors import SymnetError
        raise SymnetError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
