"""What the expression printers of every backend share: Piecewise, comparisons, And/Or/Not
and Max/Min, printed the same way with each backend's names in a small table.

A backend's printer (:class:`~symnet.codegen.backends.numpy.printer.NumpyExpressionPrinter`,
:class:`~symnet.codegen.backends.triton.printer.TritonPrinter`) mixes this in before SymPy's
``StrPrinter`` and sets the table: ``BACKEND`` (its name, for errors), ``WHERE`` (the
select, ``{0}`` the condition, ``{1}`` the value where it holds, ``{2}`` else), ``MAXIMUM``
and ``MINIMUM`` (binary, folded over more arguments) and ``COMPARISON`` (``{0} {op} {1}``,
parenthesised where the backend's ``&``/``|`` bind tighter than the comparison itself), and
``CONSTANT_SELECT`` (where set: a select whose every value is a constant prints its first value
in this template, ``{0}`` the constant, so that the select has the kernel's dtype; NumPy's
``np.where(c, 1.0, 0.0)`` alone is float64).
"""
from __future__ import annotations

import copy
import math
from fractions import Fraction
from typing import NamedTuple

import sympy as sp
from sympy.codegen.cfunctions import log1p
from sympy.printing.precedence import PRECEDENCE

from ...errors import SymnetError
from ...functions import relu
from ...render import text
from ..chains import equal_powers, quotient_chain
from ..spans import product_stays_in_range, span, sum_overflows_only_with_its_term

__all__ = ["ConditionalPrinting", "FLOAT32_PRODUCT_FACTORS", "FLOAT32_PRODUCT_RANGE", "FLOAT32_PRODUCT_ROUNDINGS"]

_FLOAT32_MAX = 3.4028234663852886e+38
_FLOAT32_TINY = 1.1754943508222875e-38  # float32's smallest normal, 2⁻¹²⁶


_GROUPS = ("Grouped", "UnevaluatedExpr")  # a sum kept as one term (rewrite.Grouped), taken apart by _exact_sum_terms


def _evaluated_constant(c: sp.Expr) -> sp.Number | None:
    """The constant ``c`` of a product as a SymPy number: itself where it is one, an irrational one (√2/(2000·√π))
    evaluated to 17 digits, None where it stays no number after evalf (1/Grouped(1), a grouping kept by the
    rewrites, of log x − 2(x − 1)/(x + 1): sp.Float raised "cannot create mpf from 1/1", the revert of h-hyp50;
    the product is then printed as written)."""
    if c.is_Number:
        return c
    value = c.evalf(20)
    return sp.Float(value, 17) if value.is_Number else None


def _double_word(c) -> tuple[float, float]:
    """(hi, lo): the real constant c as float64 hi = fl(c) and lo = fl(c − hi) (0 where hi is c), from 60 digits; NaN
    where c has no value as a float (a number SymPy leaves unevaluated: an integer inside an unevaluated group)."""
    try:
        hi = float(c.evalf(60))
        return hi, float((c - sp.Float(hi, 60)).evalf(60))
    except (TypeError, ValueError):
        return math.nan, math.nan

# session 36 (h-triton36): a float32 kernel computes its products in float32, one rounding a multiplication (and x³
# two), where NumPy's float32 computes a kernel with a widened sum in float64 and rounds each output once: ∂x of
# exp(−(x·y)³), −3·x²·y³·e^(…), was 3.26 ULP at (0.01126909535, 25.955675) (torch float32 0.26, NumPy 0.5). A product
# of positive integer powers of inputs, numbers and float32 values (a product held in a temporary taken as its factors)
# whose float32 multiplications number FLOAT32_PRODUCT_ROUNDINGS or more is computed in float64 from the inputs and
# rounded once (a float64 kernel prints it as before). At most FLOAT32_PRODUCT_FACTORS factors of float32's range:
# their float64 product is a normal float64 (3.4e38⁶ ≈ 1.5e231, 1.4e−45⁶ ≈ 7.6e−271), so no intermediate leaves the
# range where the float32 result does not.
# Session 37 (h-brk37): the range too, on both backends (NumPy's elementwise float32 kernels since then): a product of
# FLOAT32_PRODUCT_RANGE multiplications or more (three then; two since session 38, below) whose structure does not
# show it stays in range (spans.product_stays_in_range) is taken the same way, where its float32 partial products
# leave the range while the whole does not: ∂v of v·w·x·y·z (w·x·y·z) at (1e−30, 1e−30, 1e−10, 1e−30, 3e38) was 55.2
# ULP (x·y·z subnormal on the way; torch 0.23), ∂y inf for 8999951.6 at (3e38, 1e−30, 1e−40, 1.5, 3e38) (torch 0.45).
# A temporary holding such a product is one (CSE's prod_1 = x_times_y_times_z·w, its output df_dv = prod_1).
# Session 38 (h-brk38): from two multiplications (three factors, or two and a number ≠ ±1): a temporary holding a
# product overflowed before the factor that brings it back: float32 ∂x of √(x² + y²)·z, prod_1·x with prod_1 =
# z·(1/√(x² + y²)), at (3.109e−33, 3.4786e−5, 2.743e34) was inf for 2451663.6 (z/√… = 7.9e38; torch inf).
FLOAT32_PRODUCT_ROUNDINGS = 4
FLOAT32_PRODUCT_RANGE = 2
FLOAT32_PRODUCT_FACTORS = 6


class PowerProduct(sp.Function):
    """x^n·y^n (n > 2) as the printers print it (ConditionalPrinting._equal_powers): x^n·y^n as written where both
    powers are normal numbers, (x·y)^n elsewhere (the helper ``_power_product``). Session 33 (h-review33): (x·y)^n
    everywhere carried x·y's rounding n times: x⁵·y⁵ 4.31 ULP in float64 (NumPy; x⁴·y⁴ 3.43) at random points where
    neither power leaves the range, where x^n·y^n as written is ≤ 1.66. Printing only: no rule or CSE meets it."""
    nargs = 3


class RestScale(str):
    """The printed power n of ``_scaled_rest``'s scale S in ``_constant_far``'s arguments (F, 1, S, n)
    (:meth:`ConditionalPrinting._scaled_far_rest`), marked when it is printed: a count of the product's powers (Triton's
    NARROW) leaves it out by this mark, not by matching the text of S (S is 1 for float32 factors)."""


class TakenAgain(NamedTuple):
    """A product the printers take again where it came out of the range (:meth:`ConditionalPrinting._taken_again_pair`):
    as ``plain``ly printed, ``again`` (the other order, or _constant_far's call), the printed powers it ``held`` in
    temporaries, and ``by_exponents`` (_constant_far's printed arguments m, k, x, px, …; None for a moved select)."""

    plain: str
    again: str
    held: list
    by_exponents: list | None


class ConditionalPrinting:
    """Piecewise as nested selects, comparisons, And/Or/Not, Max/Min: one implementation."""

    BACKEND: str
    WHERE: str
    MAXIMUM: str
    MINIMUM: str
    COMPARISON: str
    CONSTANT_SELECT: str | None = None
    WIDE_CONSTANT: str  # a comparison's constant beyond float32's range, as a float64 (``{0}`` its repr)

    def _known_select(self, e) -> str | None:
        """A backend's own code for the select ``e`` where it knows better (NumPy: selects of
        known values without a branch per element); None: the table's WHERE."""
        return None

    selected: str | None = None  # where the expression being printed is selected (a condition's code), None: everywhere

    def parenthesize(self, item, level, strict=False):
        """StrPrinter's, but a kept bracket (rewrite.Grouped) of a negative power, printed as a quotient 1/x, is in
        brackets wherever a product's would be: SymPy ranks it as its power less ½ (59.5), above a product's 50, so
        a·Grouped(1/r)⁻¹ was printed a/1/r, a/r for a·r (hyp49: the hypot rule's flat quotient form, ∂ε of
        ((p − t)² + ε²)^(α/2) at α = −1, ε = 1e−200, p − t = −5e−205 −0.4267 for −1e400)."""
        if (isinstance(item, sp.UnevaluatedExpr) and item.args[0].is_Pow and item.args[0].exp.is_number
                and item.args[0].exp.is_negative and level >= PRECEDENCE["Mul"]
                and id(item) in getattr(self, "_denominator_items", ())):
            # (a denominator's only: in a numerator a·1/r is (a·1)/r, one rounding, where a·(1/r) rounds twice — the
            # gamma deviance's float32 ∂μ at μ = y was 6.9e−14 for 0 with it; session 49)
            return "(%s)" % self._print(item)
        return super().parenthesize(item, level, strict=strict)

    # |k| from which b^k of a rounded sum or quotient b is raised with b's rounding restored (_rounded_base): k·ulp/2
    # of b's rounding alone is 2 ULP at k = 4, beside the product's others (((x + y)/y)⁴⁰ was 33 ULP, torch 10; ∂y of
    # ((x + y)/y)⁵, −5x·(x + y)⁴/y⁶, 4.41 at (8453.5, 3518.5), torch 4.41; issue 16, h-powk40); below it the plain
    # power (x + y)³, 1.5 ULP of b's at most, and an exact base's (x³, x²·y) as before, at no cost. A log's from k = 3 (rarer, and beside other
    # roundings: (y^x/log y)³, (y^(3x/2))²/log(y)³, was 4.06 ULP, torch 2.06; h-mend39)
    ROUNDED_BASE_POWER_MIN = 4
    ROUNDED_LOG_POWER_MIN = 3
    # the most terms of a rounded sum of exact terms whose power is so raised (_rounded_base's ("sum", …)): a sum of
    # three or more, held as _exact_sum's, took its rounding k times ((x + y + z)⁴⁰ 32.9 ULP float64, 35.4 float32, torch
    # 32.9 and 41.3 there; h-break41's strict xfail, h-sum41): as many as _exact_sum takes (EXACT_SUM_TERMS)
    ROUNDED_SUM_TERMS_MAX = 8

    def _rounded_power_base(self, e):
        """:meth:`_rounded_base` of the power ``e``'s base where its integer exponent is at or past the bound of that
        kind of base (ROUNDED_BASE_POWER_MIN, ROUNDED_LOG_POWER_MIN); None otherwise."""
        base, exp = e.args
        if not exp.is_Integer or abs(exp) < min(self.ROUNDED_BASE_POWER_MIN, self.ROUNDED_LOG_POWER_MIN):
            return None
        rounded = self._rounded_base(base)
        if rounded is None or abs(exp) < (self.ROUNDED_LOG_POWER_MIN if rounded[0] == "log" else self.ROUNDED_BASE_POWER_MIN):
            return None
        return rounded

    def _rounded_base(self, base):
        """How a power's base held in a temporary was rounded from values the kernel has exactly: ("sum", a, b) for
        a + b (("sum", a, b, c, …) for a sum of up to ROUNDED_SUM_TERMS_MAX such terms, a widened one's too),
        ("quotient", a, b, d) for n/d with n = a + b (a temporary holding a two-term sum) or n = a, b = 0 (an input), d
        an input, ("log", v) for log v of an input v (held, or printed in place); None otherwise. The printers raise it
        as the double word it is the rounding of (NumPy's and Triton's _rounded_base_power, _rounded_sum_power,
        _rounded_log_power): b^k·(1 + k·δ), δ its relative rounding (TwoSum, or the terms' double word; TwoProduct of
        the quotient times d; the double-word log), where b^k as computed carries k times b's rounding ((y^x/log y)⁶⁴'s
        log(y)⁶⁴: 54.9 ULP, torch 129; h-mend39)."""
        definitions = getattr(self, "definitions", {})
        held = definitions.get(base)
        if held is None:  # log v printed in place (y + log(x)⁶⁴'s ∂x, 64·log(x)⁶³/x in a widened sum's block: 49.1 ULP
            # float64 at x = 10^[−300, 300], torch 49.1, worse than torch at 3 of 200; h-break41's strict xfail, h-sum41)
            v = base.args[0] if isinstance(base, sp.log) else None
            return ("log", v) if v is not None and v.is_Symbol and v not in definitions else None
        while isinstance(held, sp.UnevaluatedExpr):  # (the homogeneous-quotient rule's quotient, held whole)
            held = held.args[0]
        widened = getattr(held, "first_order", None) is False  # a WidenedBase (rewrite's: not imported, a cycle)
        if widened and held.expanded.is_Add and len(held.expanded.args) > 2:
            held = held.expanded  # a widened sum of three or more terms, rounded once: x + y + z in (x + y + z)⁻¹²'s block

        def exact(v):  # an input, or a number that is a float
            return v.is_Symbol and v not in definitions or v.is_Float or v.is_Integer

        def summands(v):  # (a, b) of a two-term sum of exact values or their negations
            v = definitions.get(v, v)
            if v.is_Add and len(v.args) == 2 and all(exact(-t if t.could_extract_minus_sign() else t) for t in v.args):
                return v.args
            return None

        if isinstance(held, sp.log) and held.args[0].is_Symbol and exact(held.args[0]):
            return "log", held.args[0]
        if held.is_Add:
            pair = summands(held)
            if pair is not None:
                return ("sum", *pair)
            terms = [t for t in held.args if exact(-t if t.could_extract_minus_sign() else t)]
            if 2 < len(terms) == len(held.args) <= self.ROUNDED_SUM_TERMS_MAX:  # x + y + z: ("sum", x, y, z)
                return ("sum", *held.args)
            return None
        numerator, denominator = held.as_numer_denom()
        if held.is_Mul and exact(denominator) and denominator.is_Symbol and not numerator.is_number:
            if exact(numerator):
                return "quotient", numerator, sp.S.Zero, denominator
            pair = summands(numerator)
            if pair is not None:
                return "quotient", *pair, denominator
        return None

    def _affine_exponent(self, exp):
        """(c, k, k_lo, u) of a power's exponent c + (k + k_lo)·u where its printed value would round first: c an integer
        or a half-integer, k + k_lo a number as a double word (:func:`_double_word`), u not a number; an exponent held in a temporary whose
        definition is such a sum taken one level deep (CSE's sum_1 = 1 + 3·x in y^sum_1, value_1 = x − 3 in
        y^(value_1/3)). None where the exponent is not of that shape or rounds nowhere (u alone, 2ⁿ·u). b^(k·u + c) with
        k·u + c rounded is |(k·u + c)·log b|·2⁻⁵³ off: SymPy writes (y^x/log y)³ as y^(3x)/log(y)³, 321 ULP in float64
        at (0.3, 5e−324), torch's (y^x)³ 2.02 (session 39); the printers raise b to the exponent as a double word
        (NumPy's _power_shifted, Triton's _pow)."""
        exp = self._exponent_of_inputs(exp, getattr(self, "definitions", {}))
        c, rest = exp.as_coeff_Add()
        k, u = rest.as_coeff_Mul()
        # (a half-integer c: the square root of y^(3x + 1), y^(3x/2 + 1/2), whose constant is exact too; session 40)
        if not (2 * c).is_Integer or not u.free_symbols or not (k.is_Rational or k.is_Float) or k == 0:
            return None
        r = sp.Rational(k)
        if c == 0 and abs(r.p) & (abs(r.p) - 1) == 0 and r.q & (r.q - 1) == 0:  # u or ±2ⁿ·u: exact
            return None
        hi, lo = _double_word(k)
        return (c, hi, lo, u) if math.isfinite(hi) and hi != 0 else None

    @staticmethod
    def _exponent_of_inputs(exp, definitions):
        """A power's exponent with a temporary it holds taken one level deep where that leaves c + k·u of one input
        (CSE's sum_1 = 1 + 3·x in y^sum_1: 1 + 3·x; value_1 = x − 3 in y^(value_1/3): x/3 − 1); ``exp`` otherwise."""
        held = {v: definitions[v] for v in exp.free_symbols if v in definitions}
        if not held:
            return exp
        taken = exp.xreplace(held).replace(lambda n: type(n).__name__ in _GROUPS, lambda n: n.args[0])
        taken = sp.expand(taken)
        return taken if len(taken.free_symbols) == 1 and taken.as_coeff_Add()[1].as_coeff_Mul()[1].is_Symbol else exp

    plain_widened: bool = False  # True: a widened sum prints as its body (a generated function's float64 body)

    def _generated_once(self, e, plain, make, flags: tuple = ()):
        """``make()``, the generated function of the widened ``e`` printed by ``plain`` (this printer's
        :meth:`_widened_body_printer`), made once for this printer and its copies in the same state (every plain
        attribute of ``plain``, as :class:`~symnet.codegen.doubleword._printing_each_node_once` keys a node): a module
        prints one widened sum in several places (each output's statement and its far branches: 42 functions made
        for 11 distinct in l1(focal(celu(y, 2), y), log(x·y))'s two modules). The function is pure (the same node and
        printer state give the same text) and the helpers its printing adds go to the set the copies share. ``flags``:
        what else ``make`` reads (Triton's ``needed`` and ``repair``)."""
        memo = self.__dict__.setdefault("_generated_memo", {})
        key = (type(e), type(plain), flags, id(getattr(plain, "helpers", None)),
               tuple((k, v) for k, v in vars(plain).items() if isinstance(v, (bool, int, float, str)) or v is None))
        function = memo.get(key)
        if function is None:
            function = memo[key] = make()
        return function

    def generated_state(self) -> str:
        """What of this printer, beside a widened body, the text of the body's generated function depends on, for its
        name (:func:`~symnet.codegen.doubleword.widened_function`): "" for the elementwise printers (sums that can
        cancel summed compensated, products taken again by exponents), ``"written:"`` for the printers that print sums
        and products as written (EXACT_SUMS or TAKEN_AGAIN False: Triton's row-wise, layer and step printers, NumPy's
        row-wise and layer ones). The first text printed under a name is every module's (GENERATED_HELPERS): a log_cosh
        body printed by Triton's step printer (its sum as written) and by the elementwise one (``_exact_sum``) had one
        name and two texts, so the module printed second got the first's text and not the helpers it calls."""
        return "" if self.TAKEN_AGAIN and self.EXACT_SUMS else "written:"

    def _widened_body_printer(self, names: dict):
        """This printer (a family's subclass too) for a widened sum's generated function, over the function's ``names``,
        a widened sum printed as its body, and with none of the kernel's printing state: its temporaries
        (``definitions``), the select the sum is in (``selected``), the product or overflow the printer is inside. The
        function is one helper of the module, named by its body's digest, and the first kernel of a process to print a
        body fixes the text every later one shares: printed inside a product the kernel printer took again
        (_select_moving), the body's own products were not taken again (1/x − 1/y, then the Gamma deviance: NameError
        _taken_by_exponents, a helper the second kernel never named; session 36)."""
        plain = copy.copy(self)
        plain.names, plain.plain_widened = names, True
        plain.definitions, plain.selected = {}, None
        plain._select_moving = plain._values_moving = plain._overflow_printing = plain._log_overflow_printing = False
        return plain

    def _select_telling_pieces(self, e) -> str | None:
        """A select holding a widened sum, each piece printed knowing where it is selected
        (``selected``: its own condition, the last one where none of the others holds; where selects
        nest, and with each enclosing piece's condition), so that a widened sum in it computes its double word there only (the
        widened function's ``needed``): bce_logits' ∂z computes σ(z) − y, 1 − y − σ(−z) and the
        middle form on every element, and at z = 40, y = 1 the first cancels to 0 in float64 where
        it is not selected. None where the select holds none (the table's WHERE)."""
        *pieces, (last, cond) = e.args
        widened = any(hasattr(f, "expanded") and hasattr(type(f), "leaves") for f in e.atoms(sp.Function))
        if not widened or self.plain_widened or cond != sp.true or all(v.is_number for v, _ in e.args):
            return None
        conditions = [self._condition_once(self._print(c)) for _, c in pieces]  # (where tested, where named again)
        outer = self.selected
        # inside an outer select's piece, where both take it (squareplus′'s widened 2/(√A·(√A − x)) under x < 0 and
        # then A < 2⁹⁹⁶: its double words ran on every element, x > 0 too, where the inner condition alone was its
        # ``needed``; h-gate28)
        within = (lambda c: c) if outer is None else (lambda c: f"({outer}) & ({c})")
        try:
            self.selected = within(" & ".join(f"~({again})" for _, again in conditions))
            out = self._print(last)
            for k, (value, _) in reversed(list(enumerate(pieces))):
                self.selected = within(conditions[k][1])
                out = self.WHERE.format(conditions[k][0], self._print(value), out)
        finally:
            self.selected = outer
        return out

    def _condition_once(self, code: str) -> tuple[str, str]:
        """(tested, again): a select's printed condition where the select tests it and where a piece's ``selected``
        names it again (_select_telling_pieces). Here the same text both times; NumPy's names a condition that calls
        a widened function once (h-cost39)."""
        return code, code

    def _print_Piecewise(self, e):
        known = self._known_select(e)
        if known is not None:
            return known
        *pieces, (last, cond) = e.args
        if cond != sp.true:
            raise SymnetError(f"the {self.BACKEND} backend needs a Piecewise with an 'otherwise' branch "
                              f"(in {text(e)})")
        typed = self.CONSTANT_SELECT if self.CONSTANT_SELECT and all(v.is_number for v, _ in e.args) else None
        out = self._print(last)
        for k, (value, c) in reversed(list(enumerate(pieces))):
            code = self._print(value)
            out = self.WHERE.format(self._print(c), typed.format(code) if typed and k == 0 else code, out)
        return out

    def _print_RootSeries(self, e):  # the root-series rule's d·P(d), Horner (symnet/codegen/roots.py)
        d = self.parenthesize(e.shift, PRECEDENCE["Mul"])
        *rest, body = [self._print(c) for c in e.coefficients]
        for c in reversed(rest):
            body = f"{c} + {d}*({body})"
        return f"{d}*({body})"

    _print_CentredSeries = _print_RootSeries  # the mish-series rule's d·P(d) (roots.CentredSeries)

    def _print_ZeroSeries(self, e):  # the removable-series rule's x^k·P(x^s), Horner (roots.ZeroSeries)
        x = self.parenthesize(e.shift, PRECEDENCE["Mul"])
        v = f"{x}*{x}" if e.stride == 2 else x
        *rest, body = [self._print(c) for c in e.coefficients]
        for c in reversed(rest):
            body = f"{c} + {v}*({body})"
        return f"{x}*({body})" if e.power else f"({body})"

    def _print_Relational(self, e):  # x > 0.0 (StrPrinter would write Eq(x, 0) for ==)
        prec = PRECEDENCE["Add"] - 1
        return self.COMPARISON.format(self._compared(e.lhs, prec), self._compared(e.rhs, prec), op=e.rel_op)

    def _compared(self, side, prec) -> str:
        """One side of a comparison; a constant float32 cannot hold (beyond ±3.4e38, within float64's range) in
        ``WIDE_CONSTANT``: in the kernel's float32 it would round to ±inf, and x > 1e300 was false at x = +inf
        (where(x > 1e300, y, x·y) gave inf·y, not y; x < −1e39 false at −inf: 0·(−inf) = NaN), where float64 and
        the math say true (tests/test_breakage16.py). Likewise one below float32's normal range (a nonzero constant
        under 2⁻¹²⁶, which float32 rounds to a subnormal of few digits or to ±0): y^(10³⁰⁰·x + 7)'s select
        x = −7/10³⁰⁰ was true at x = 0 in float32, and gave 1 for y⁷ (session 40, tests/test_worsea40.py)."""
        if side.is_number and not side.free_symbols and side.is_extended_real and side.is_finite:
            value = float(side)
            if _FLOAT32_MAX < abs(value) < math.inf or 0 < abs(value) < _FLOAT32_TINY:
                return self.WIDE_CONSTANT.format(repr(value))
        return self.parenthesize(side, prec)

    GUARDED_CONJUNCTIONS = False  # NumPy: a conjunction's widened operands computed only where its guards hold

    def _print_And(self, e):
        if self.GUARDED_CONJUNCTIONS:
            return self._guarded_conjunction(e)
        return " & ".join(f"({self._print(a)})" for a in e.args)

    def _print_Or(self, e):
        return " | ".join(f"({self._print(a)})" for a in e.args)

    def _print_Not(self, e):
        return f"~({self._print(e.args[0])})"

    def _print_ITE(self, e):
        """ITE(a, b, c) as (a ∧ b) ∨ (¬a ∧ c) (:func:`~symnet.codegen.rewrite.without_ite`): SymPy makes one of a
        condition on a Piecewise, and the pipeline writes them out, but one that got past it was printed as a call of
        ``ITE``, a NameError when the kernel ran (session 25's audit)."""
        a, b, c = e.args
        return self._print(sp.Or(sp.And(a, b), sp.And(sp.Not(a), c)))

    def _print_Add(self, e):
        """A sum in SymPy's canonical order of its terms (a constant first), those with a minus
        sign last: ``1 - x + log(t)`` as ``1 + log_t - x``, evaluated left to right, so that a
        constant meets the term it cancels against before a small one is added (KL′ at t = 1/3:
        ``1 + log(t)`` is exact by Sterbenz's lemma, ``log(t) - x`` first is not)."""
        common = self._common_coefficient(e)
        if common is not None:
            return common
        terms = sorted(e.args, key=lambda t: bool(t.could_extract_minus_sign()))
        prec = PRECEDENCE["Add"]
        out = self.parenthesize(terms[0], prec)
        for t in terms[1:]:
            if t.could_extract_minus_sign():
                out += f" - {self.parenthesize(-t, prec, strict=True)}"
            else:
                out += f" + {self.parenthesize(t, prec)}"
        return out

    def _common_coefficient(self, e) -> str | None:
        """common-coefficient: c·a ± c·b ± … (every term one real constant c of the same size |c| > 1 times a
        non-constant) as (a ± b ± …)·c, the sum first. SymPy distributes a number over a sum (selu's λ·(x + y) is
        λx + λy, h-hyp31), and c·x + c·y rounds each product before they cancel: (selu(x + y))^(3/2) at
        (−0.9999999999999999, 1) was 3.31e−24 for 1.26e−24 (1.1e16 ULP). Exact as algebra; as floats the sum rounds
        once (exactly where it cancels, by Sterbenz) and the product once: error ≤ 2 roundings of the result, where the
        distributed form's is one of each |c·a|, |c·b| ≥ |result|. With |c| > 1 the sum a ± b overflows only where
        the result does (|c·(a ± b)| > |a ± b|); |c| < 1 is left as written (x/3 + y/3: x + y can overflow where the
        distributed sum does not). None: any other sum."""
        if len(e.args) < 2:
            return None
        split = _one_coefficient(e.args)
        if split is None:
            return None
        inner, size = split
        total = sp.Add(*inner)
        if not total.is_Add:  # (the terms combined: leave SymPy's sum as it is)
            return None
        return f"{self.parenthesize(total, PRECEDENCE['Mul'], strict=True)} * {self._print(size.evalf(20))}"

    ABSENT = "None"  # an absent factor of _constant_times (_moved_constant): the NumPy helper skips it

    def _print_Mul(self, e):
        """A product with its constant last: x·e^(−x²/2)·√2 as (x·e^(−x²/2))·1.414…, so that a
        constant > 1 never overflows x first into inf·0 = NaN where the rest underflows
        (GELU′ at x = 3e38 in float32). x/2 is printed as SymPy writes it (the constant last), and
        x/(2·y) as (x/y)/2, the constant last too: 2·y overflows where x/y/2 does not (atan(x/(2y)) was
        0 at x = 8e307, y = 1e308 for atan(0.4) = 0.3805). Where the product has two factors or more and one
        in its numerator, the constant last is chosen per element against the constant first
        (:meth:`_moved_constant`)."""
        outer = getattr(self, "_denominator_items", frozenset())  # (the factors StrPrinter prints after a "/")
        self._denominator_items = frozenset(id(a.base) for a in e.args if a.is_Pow and a.exp == -1)
        try:
            return self._print_product(e)
        finally:
            self._denominator_items = outer

    def _print_product(self, e):
        """:meth:`_print_Mul`'s body."""
        grouped = self._equal_powers(e)
        if grouped is not None:
            return ConditionalPrinting._print_Mul(self, grouped) if grouped.is_Mul else self._print(grouped)
        numbers = [a for a in e.args if a.is_number and not a.free_symbols]
        others = [a for a in e.args if not (a.is_number and not a.free_symbols)]
        c = sp.Mul(*numbers)
        moved = self._moved_constant(c, others) if numbers and others else None
        if moved is not None:
            return moved
        quotient = self._constant_quotient(c, others) if numbers and others else None
        if quotient is not None:
            return quotient
        if numbers and c.is_Rational and abs(c.p) == 1 and c.q > 1 and any(
                a.is_Pow and a.exp.is_negative for a in others):  # x/(q·y) as (x/y)/q
            rest = self.parenthesize(sp.Mul(*others), PRECEDENCE["Mul"])
            return f"{'-' if c.p < 0 else ''}{rest}/{self._print(sp.Integer(c.q))}"
        if not numbers or not others or (c.is_Rational and abs(c.p) == 1):
            return super()._print_Mul(e)
        rest = self.parenthesize(sp.Mul(*others), PRECEDENCE["Mul"])
        return f"{rest} * {self._print(c.evalf(20))}" if c.is_positive else \
            f"-({rest} * {self._print((-c).evalf(20))})"

    @staticmethod
    def _equal_powers(e):
        """equal-powers (:func:`~symnet.codegen.chains.equal_powers`): x^n·y^n·… as (x·y)^n·…; None: no two such
        factors."""
        factors = equal_powers(e.args)
        if factors is None:
            return None
        return sp.Mul(*[ConditionalPrinting._power_product(f) for f in factors])

    @staticmethod
    def _power_product(f):
        """(x·y)^n from equal_powers, n > 2 and two bases, as PowerProduct(n, x, y): the power of the product only
        where x^n or y^n leaves the normal range (for n = 2 (x·y)² rounds as x²·y² does: 1.65 ULP against 1.67 at
        1,137 points, float64); ``f`` as it is otherwise."""
        if not (f.is_Pow and isinstance(f.base, sp.UnevaluatedExpr) and f.exp > 2):
            return f
        bases = sp.Mul.make_args(f.base.args[0])
        return PowerProduct(f.exp, *bases) if len(bases) == 2 else f

    # session 32 (h-search32): h·{c/y if …; …}, a product with a select one of whose values is a quotient (SymPy writes
    # 1/leaky_relu(y) as {1/y if y > 0; 100/y}, 1/selu(y) as {(1/λ)/y; …}), forms c/y before h scales it back: inf
    # where y is subnormal and the product is not (relu(x·y)/leaky_relu(y) at (−1.5, −2.78e−309): −inf for −150;
    # e^x/selu(y) there −inf for −4.56e307; √x/elu(y) at 5e−324 inf for 4.5e161). Where the product as printed is
    # ±inf or NaN, it is taken again as {c·h/y if …; …}, h moved into every value (exact: a product distributes over
    # the values of a select), where that is finite; the product as printed everywhere else. A printer change, not a
    # rule, so that no rule meets the moved form (session 31's rule for it moved x into collect-pole's and
    # exp-dominant's selects and broke their derivatives; this never changes a finite value).
    # Who owns h·{c/y; …} (session 33, h-search33): the rule factor-into-quotient-branches (rewrite/, the last rule
    # applied) moves a tame h (no pole, no unbounded function: inputs, numbers, polynomials, selects, σ, tanh, …)
    # symbolically, before any printer sees the product; this fallback takes only what the rule refuses or never
    # sees: an h with a pole or an unbounded function (e^x/selu(y), √x/elu(y), the derivative's h·{4/y²; 1/tanh²}/s²),
    # a select or product held in a temporary (formed by CSE after the rules), and a product inside a node the rule does
    # not walk (a widened sum's body). A product the rule rewrote has no select left to move into (measured: no taking
    # again of the moved kind in the rule's formulas of tests/test_quot32.py); what the fallback still takes there is a
    # quotient by exponents (c·h/y², whose y² underflows), and none is taken again whose structure shows it cannot leave
    # the range (:func:`~symnet.codegen.spans.product_stays_in_range`: sigmoid_mse's ∂z, a product of σ, tanh, clamps;
    # c·(h/y)/y, the derivative of the rule's c·h/y)
    _select_moving = False  # True while the product is printed as before and its moved form (no second wrapping)
    _values_moving = False  # True while a moved select's values are printed (their products by exponents, no moving)
    TAKEN_AGAIN = True  # False: a printer of row-wise or layer formulas (the lecture's, in their own skeletons) takes none

    def _product_leaves(self, e, power=1, depth=3):
        """(c, {leaf: power}) of the product ``e``: its number c and its other factors with their positive integer
        powers, a temporary holding a product or an integer power (CSE's sq_x = x²) taken as its factors, ``depth``
        temporaries deep; None where a factor is a negative or non-integer power (a quotient: the printers' own)."""
        c, leaves = sp.Integer(1), {}
        for f in sp.Mul.make_args(e):
            if isinstance(f, sp.UnevaluatedExpr):
                f = f.args[0]
            if f.is_number and not f.free_symbols:
                c *= f ** power
                continue
            base, n = f.as_base_exp()
            if not (n.is_Integer and n > 0):
                return None
            held = self.definitions.get(base)
            if isinstance(held, sp.UnevaluatedExpr):
                held = held.args[0]
            if not (depth and held is not None and (held.is_Mul or held.is_Pow and held.exp.is_Integer)):
                held = base if base.is_Mul or base.is_Pow else None  # (x·y)³ written
            if held is None:
                leaves[base] = leaves.get(base, 0) + power * int(n)
                continue
            inner = self._product_leaves(held, power * int(n), depth - (held is not base))
            if inner is None:
                return None
            c *= inner[0]
            for leaf, m in inner[1].items():
                leaves[leaf] = leaves.get(leaf, 0) + m
        return c, leaves

    def _long_product(self, e):
        """(c, {leaf: power}) of the product ``e`` (a product or an integer power) where a float32 kernel computes it
        in float64 from its leaves (:meth:`_product_leaves`) and rounds it once (see FLOAT32_PRODUCT_ROUNDINGS above):
        None for any other product, and for one the printers take again where it leaves the range (an exponential's
        overflow, a select holding a quotient), whose narrow form is kept."""
        if not (isinstance(e, sp.Mul) or e.is_Pow):
            return None
        found = self._product_leaves(e)
        if found is None or not found[1]:
            return None
        c, leaves = found
        if not (c.is_Rational or c.is_Float) or c == 0:
            return None
        factors = sum(leaves.values())
        exact = c.is_Rational and abs(c.p) & (abs(c.p) - 1) == 0 and c.q & (c.q - 1) == 0  # ±2^k: no rounding
        rounded = factors + (0 if exact else 1) - 1 >= FLOAT32_PRODUCT_ROUNDINGS
        ranged = factors + (abs(c) != 1) - 1 >= FLOAT32_PRODUCT_RANGE and not product_stays_in_range(e, self.definitions)
        if not (rounded or ranged) or factors > FLOAT32_PRODUCT_FACTORS:
            return None
        if not 2.0 ** -100 <= abs(float(c)) <= 2.0 ** 100:
            return None
        if isinstance(e, sp.Mul) and (self._exp_overflow(e) is not None or self._exp_overflow_factor(e) is not None
                                      or self._moved_into_select(e) is not None):
            return None
        return c, leaves

    @staticmethod
    def _float32_partial_bound(c, count: int) -> float | None:
        """2^b such that every partial product of ``count`` float32 factors (and their reciprocals) each of size
        within [2^−b, 2^b], and the number c, is a normal float32 (however the product is printed: c beside all
        the factors, or without one of them): b = ⌊min(126/count, (126 − |log₂ c|)/(count − 1))⌋, 126/(count − 1)
        where c is ±1; None where b < 8 (then the float64 form everywhere). Session 38 (h-mend38): NumPy's
        _float32_quotient computes its float64 form only where a factor is below 2^−b (or 0), where a partial product
        may go subnormal while the product is normal; one past float32's largest makes the product ±inf or NaN,
        which _taken_by_exponents takes again."""
        if count < 2:
            return None
        if abs(c) == 1:
            b = 126 // (count - 1)
        else:
            far = math.ceil(abs(math.log2(abs(float(c)))))
            b = min(126 // count, (126 - far) // (count - 1))
        return 2.0 ** b if b >= 8 else None

    def _moved_into_select(self, e):
        """The select with the other factors of the product ``e`` moved into each of its values (into a nested select's
        values too), where ``e`` is h·S, S the product's one select holding a quotient c/y (a value that is, or has as a
        factor, a negative power of an input; S written or held in a temporary); None for any other product, where h
        is ±1, and while the product is printed by :meth:`_taken_again_pair` itself."""
        if self._select_moving or self._values_moving or not self.TAKEN_AGAIN or not isinstance(e, sp.Mul):
            return None
        definitions = getattr(self, "definitions", {})
        factors = self._held_factors(e, definitions)
        # a select held in a temporary: its definition
        selects = [f for f in factors if isinstance(definitions.get(f, f), sp.Piecewise)
                   and self._quotient_valued(definitions.get(f, f), definitions)]
        if len(selects) != 1:
            return None
        (s,) = selects
        rest = list(factors)
        rest.remove(s)
        h = sp.Mul(*rest)
        if h in (sp.S.One, sp.S.NegativeOne) or product_stays_in_range(e, definitions):
            return None
        return self._into_values(definitions.get(s, s), h, definitions)

    # session 36 (h-edge36): h·(y − p), a product with a sum of inputs, overflows y − p before h brings it back: the
    # pinball loss max(q·(y − p), (q − 1)·(y − p)) at y = 1.7e308, p = −1.7e308, q = 0.25 was inf for 8.5e307 (torch
    # inf too). Where the product as printed is ±inf or NaN it is taken again as (h·(y/2 − p/2))·2, the sum halved term
    # by term (exact for normal terms: y/2 − p/2 rounds as (y − p)/2 does), where that is finite.

    def _halved_difference(self, e):
        """The product ``e`` = h·S, S a sum of inputs times rational numbers or its relu (written, or held in a
        temporary) that may leave the range where h brings the product back, as (h·(S/2))·2 (relu(S/2): relu is
        homogeneous); None for any other product: a second such factor, an h that is a number of size 1 or more (the
        product overflows with S), one whose structure shows it cannot leave the range
        (:func:`~symnet.codegen.spans.product_stays_in_range`), and while the product is printed by
        :meth:`_taken_again_pair` itself."""
        if self._select_moving or self._values_moving or not self.TAKEN_AGAIN or not isinstance(e, sp.Mul):
            return None
        definitions = getattr(self, "definitions", {})
        factors = self._held_factors(e, definitions)
        halves = [(f, h) for f, h in ((f, self._halved_input_sum(f, definitions)) for f in factors) if h is not None]
        if len(halves) != 1:
            return None
        ((f, halved),) = halves
        rest = list(factors)
        rest.remove(f)
        h = sp.Mul(*rest)
        if h.is_number and (not h.is_finite or abs(h) >= 1) or product_stays_in_range(e, definitions):
            return None
        return sp.Mul(sp.UnevaluatedExpr(sp.Mul(h, halved)), 2, evaluate=False)

    def _halved_exponent_product(self, e):
        """(c, the factors) of :meth:`_exponent_product` for a product ``e`` that :meth:`_halved_difference` takes too, its
        sum S as the factor S/2 and c doubled (2^p for S^p): by exponents the product's other factors cannot overflow or
        go subnormal with S where the whole does not, and S/2 never overflows (∂y of ((x + y)/y)², −2x(x + y)/y³, at
        (1.57e33, 5.43e32) in float32 was −inf for −4.14e−32: (x + y)·x overflowed in the halved form too; torch 1
        ULP; session 38); None where the product is not taken by exponents."""
        product = self._exponent_product(e)
        if product is None:
            return None
        c, factors = product
        definitions = getattr(self, "definitions", {})
        for i, f in enumerate(factors):
            base, p = f.as_base_exp()
            halved = self._halved_input_sum(base, definitions) if p.is_Integer else None
            if halved is not None and not isinstance(halved, relu):
                scaled = c * 2.0 ** int(p)
                if not 2.0 ** -1022 <= abs(scaled) < math.inf:
                    return None
                return scaled, [*factors[:i], sp.Pow(halved, p, evaluate=False) if p != 1 else halved, *factors[i + 1:]]
        return None

    @classmethod
    def _halved_input_sum(cls, f, definitions, depth=3):
        """S/2 for ``f`` a sum S of inputs times rational numbers (−t of a temporary t holding one too), relu(S/2) for
        relu(S), following temporaries ``depth`` deep; None for anything else."""
        d = definitions.get(f, f)
        if depth and d is not f:
            return cls._halved_input_sum(d, definitions, depth - 1)
        if isinstance(d, relu):
            inner = cls._halved_input_sum(d.args[0], definitions, depth)
            return None if inner is None else relu(inner)
        if d.is_Mul and len(d.args) == 2 and d.args[0] == -1:
            inner = cls._halved_input_sum(d.args[1], definitions, depth)
            return None if inner is None else -inner
        if isinstance(d, sp.Add) and all(t.as_coeff_Mul()[0].is_Rational and t.as_coeff_Mul()[1].is_Symbol
                                         and t.as_coeff_Mul()[1] not in definitions for t in d.args):
            return sp.Add(*[t / 2 for t in d.args])
        return None

    @staticmethod
    def _held_factors(e, definitions, depth=3) -> list:
        """The factors of the product ``e``, a factor that is a temporary holding a product replaced by that product's
        factors (x·p with p = h·{c/x; …} in a temporary: x·hardsigmoid(x)/selu(x) at x = 5e−324, where h·c/x is inf
        and x·h·c/x is 0.476), ``depth`` temporaries deep."""
        out = []
        for f in e.args:
            d = definitions.get(f)
            if isinstance(f, sp.UnevaluatedExpr) and isinstance(f.args[0], sp.Mul):  # y·(y/x) held grouped: a group
                out += ConditionalPrinting._held_factors(f.args[0], definitions, depth)  # in the expression, not a
                continue  # temporary, spends no depth (((N/y)/y)/y)/y of ((x + y)/y)³'s ∂y, 4 deep; session 37)
            if isinstance(d, sp.UnevaluatedExpr) and isinstance(d.args[0], sp.Mul):  # a temporary holding one: the
                d = d.args[0]  # product c·σ(−x)/tanh(x/2) of 1/selu(x)'s expm1 branch, grouped by the expm1 rule
            if depth and isinstance(d, sp.Mul):
                out += ConditionalPrinting._held_factors(d, definitions, depth - 1)
            else:
                out.append(f)
        return out

    @staticmethod
    def _grouped_partials(e, top=True) -> set:
        """The partial products the groups of the product ``e`` print (a quotient chain ((N·x)/y)/y …): each group that
        divides, and each group's numerator of two factors or more (N·x of (N·x)/y, 1.5·x of (1.5·x)/y: a subnormal x
        times 1.5 rounds, 0.7% at x = 6.9e−44 in float32, whose product by exponents is exact); not a group that is all of ``e``
        but a number (c·g: g's range is e's). The product by exponents takes them again where one is not a normal
        number: as printed they go subnormal where the chain's later quotients bring the value back into the range,
        and the whole is normal and wrong (session 37: ∂y of ((x + y)/y)³ at (1.44e−15, −5.7e−16) in float32,
        −3·((((x + y)²·x/y)/y)/y)/y, (x + y)²·x = 1.1e−45: −3.96e16 for −3.11e16; ∂y of √(x/y) at (1e−30, 102878.3)
        in float32, (((−x/2)/y)/y)/√(x/y), ((−x/2)/y)/y = 4.7e−41: 125.9 ULP, torch 17)."""
        out = set()
        alone = top and all(a.is_number for a in e.args if not isinstance(a, sp.UnevaluatedExpr))
        for f in e.args:
            if isinstance(f, sp.UnevaluatedExpr) and isinstance(f.args[0], sp.Mul):
                inner = f.args[0]
                numerator = [a for a in inner.args if not (a.is_Pow and a.exp.is_negative) and a not in (1, -1)]
                if len(numerator) >= 2:  # (a constant too: c·x of a subnormal x rounds to its few digits)
                    out.add(sp.Mul(*numerator))
                if not alone and any(a.is_Pow and a.exp.is_negative for a in inner.args):
                    out.add(f)
                out |= ConditionalPrinting._grouped_partials(inner, top=False)
        return out

    def _held_subproducts(self, factors, definitions) -> set:
        """The temporaries computed before (``definitions``, where the printer fills them statement by statement:
        HELD_SUBPRODUCTS) holding a product of two or more of ``factors`` (the product's, :meth:`_held_factors`): where
        one is not a normal number the product as printed may have rounded its partial product of those factors to a
        few digits and ended normal, so it is taken again by exponents there (∂x of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y),
        tanh_y·where_y_nonneg·w₁·w₂·w₃·x of prod_2 = tanh_y·where_y_nonneg, at a subnormal y and w₂ near 10³⁰⁰: worse
        than torch at 222 of 300 points; h-worseb40)."""
        preceding = getattr(self, "preceding", None)  # (Triton's: the temporaries printed before this statement)
        if not self.HELD_SUBPRODUCTS and preceding is None:
            return set()
        from collections import Counter
        pool = Counter(f for f in factors if not f.is_number)
        out = set()
        for temp, d in definitions.items():
            if preceding is not None and temp not in preceding:
                continue
            # (a grouped product too, r·x of the hypot rule's scaled branch shared with its split one: subnormal at
            # x = 1e−160 beside y = 1e154, ∂x of (√(x² + y²) − 1)² was 2.99e5 ULP off; root45)
            d = d.args[0] if isinstance(d, sp.UnevaluatedExpr) else d
            parts = Counter(a for a in d.args if not a.is_number) if isinstance(d, sp.Mul) else Counter()
            if sum(parts.values()) >= 2 and all(pool[a] >= n for a, n in parts.items()):
                out.add(temp)
        return out

    HELD_SUBPRODUCTS = False  # True: a printer whose definitions are the temporaries printed so far (NumPy's); where
    # they are every temporary at once (Triton's), the printer's ``preceding`` set, filled statement by statement by
    # its emitter, names those printed before (h-worsec40: Triton float64 ∂x of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y))

    # odd functions with slope 1 at 0: a subnormal y's value is y itself, every digit kept (h-worsec40)
    KEEPS_SUBNORMAL = (sp.tanh, sp.sinh, sp.sin, sp.tan, sp.atan, sp.asinh, sp.asin, sp.atanh)

    def _keeps_subnormal(self, f) -> bool:
        """``f`` is a value held in a temporary, tanh(y) (:attr:`KEEPS_SUBNORMAL`) of an input y: where y is subnormal it
        is y with all its digits, so a product of it by exponents is exact where the product as printed rounded a
        subnormal partial product (tanh_y·where_y_nonneg); σ(−2u) or e^(−x²), subnormal only past their underflow, have
        lost their digits already and no order mends them."""
        d = getattr(self, "definitions", {}).get(f)
        return isinstance(d, self.KEEPS_SUBNORMAL) and d.args[0].is_Symbol \
            and d.args[0] not in getattr(self, "definitions", {})

    @staticmethod
    def _held_products(e, definitions, depth=3) -> set:
        """The temporaries holding a product that :meth:`_held_factors` takes apart in the product ``e``."""
        out = set()
        for f in e.args:
            d = definitions.get(f)
            if isinstance(d, sp.Mul) and depth:
                out |= {f} | ConditionalPrinting._held_products(d, definitions, depth - 1)
        return out

    @classmethod
    def _quotient_valued(cls, s, definitions) -> bool:
        """A value of the select ``s`` (or of a select nested in it) is c/y or has 1/y as a factor, y an input (a
        symbol the kernel does not define: a temporary, 1/(1 + E) of σ, is no subnormal's reciprocal)."""
        return any(cls._quotient_valued(v, definitions) if isinstance(v, sp.Piecewise) else any(
            f.is_Pow and f.exp.is_negative and f.base.is_Symbol and cls._input_size(f.base, definitions)
            for f in sp.Mul.make_args(v)) for v, _ in s.args)

    @staticmethod
    def _input_size(s, definitions) -> bool:
        """The symbol ``s`` is an input, or a temporary holding |y| of an input y (exact: a subnormal y's digits, whose
        reciprocal overflows alike; session 38, h-brk38: squareplus's 1/(|x|·√(1 + (b/x)/x)) at b = 0)."""
        held = definitions.get(s)
        return held is None or isinstance(held, sp.Abs) and held.args[0].is_Symbol and held.args[0] not in definitions

    @classmethod
    def _into_values(cls, s, h, definitions):
        """The select ``s`` with ``h`` multiplied into each value; a value held in a temporary that is a product is
        taken as that product (h·p with p = {…}/tanh(y/2), 1/expm1(y) as the sigmoid-pair rule writes it: h·{…}/tanh
        divides once, where p alone overflowed: √x/elu(y) at (1e−200, −1e−310) was −inf for −7.12e208)."""
        def into(v):
            if isinstance(v, sp.Piecewise):
                return cls._into_values(v, h, definitions)
            d = definitions.get(v)
            return h * (d if isinstance(d, sp.Mul) else v)
        return sp.Piecewise(*[(into(v), c) for v, c in s.args])

    # session 32 (h-search32): a quotient of three factors or more, c·a·b/d (counted with their integer powers: y·y/x,
    # cosh(x)/(x·y) held as (cosh(x)/x)/y), rounds a partial product or quotient that leaves the range where the whole
    # does not: y·log(y·expm1(x))/x at x = y = −1.8e308 was inf for 709.78 (y·log(…) first), y·(y/x) at (−2.78e−309,
    # 0.7) −inf for −1.76e308, (cosh(x)/x)/y at (−2.78e−309, 102878) −inf for −3.49e303. Where the product as printed is
    # ±inf or NaN it is taken again by exponents (``_constant_far``: each factor split by frexp, the fractions
    # multiplied, the exponents added as integers, one ldexp), where that is finite: the same roundings, none out of
    # range. Quotients only: a product of powers alone is not taken (x²·y² is printed as (x·y)², equal-powers,
    # :meth:`_equal_powers`, whose one partial product x·y is the whole's root). Not a product whose constant is beyond
    # 2^±100 (printed by exponents already, :meth:`_moved_constant`'s ``_constant_far``) nor one whose structure shows
    # it cannot leave the range (session 33: :func:`~symnet.codegen.spans.product_stays_in_range`). The other order is
    # computed only where needed: in NumPy for the elements, in Triton for a block with one (``_taken_far``, session 35)
    # Session 39 (h-range39): a plain product too, no quotient in it, of three factors or more of which two can overflow
    # together where a third brings the whole back (:meth:`_plain_far_product`).

    def _plain_far_product(self, e, others, count: int) -> bool | str:
        """The factors ``others`` (no negative power among them) of the product ``e`` of ``count`` factors counted with
        their powers are taken by exponents too: three or more, two of them (counted with their powers) of a size that may
        pass 1 (an input, a value whose span is unknown or unbounded or beyond ±1; σ, tanh, e^(−x²) are not). A
        partial product of two such overflows where a third factor brings the whole back: w₁·w₂·w₃·e^(−x²) at
        w₁ = w₂ = 1e200, w₃ = 1e−150, x = 22 was inf for 3.5e39 (w₁·w₂ = inf first; torch inf); x·(z·(1/√(x² + y²)))
        of √(x² + y²)·z's ∂x at (1e−300, 1e−10, 1e300) inf for 1e10. One such factor times values within ±1 (x·4σσ of
        tanh(w·x + b)′) leaves the range only where the whole does, or where a value within ±1 is subnormal itself,
        which no other order mends. Three inputs alone are the product-order rule's (one factor here, ordered_product),
        and a product holding a group is a rule's order (power-product's s·(s·Y): the group is what it keeps in range;
        taking it again cost x²·y 1.4× in NumPy float64, the group recomputed for the test); a product whose structure keeps it in the range is left as it is (:func:`~symnet.codegen.spans.
        product_stays_in_range`, tested after this), and so are the lecture's kernels (EXACT_SUMS False: Triton's
        layer, row-wise and step printers; NumPy's take none, TAKEN_AGAIN)."""
        if not self.EXACT_SUMS or count < 3 or len({f.base if f.is_Pow else f for f in others}) < 2 or any(
                isinstance(a, sp.UnevaluatedExpr) for a in e.args):
            return False
        large = 0
        for f in others:
            base, p = f.as_base_exp() if f.is_Pow and f.exp.is_Integer else (f, 1)
            large += int(p) if self._may_pass_one(base) else 0
        # one such factor where the product takes apart a temporary holding a product and holds a value that keeps a
        # subnormal's digits (tanh(y)): the partial product of the others may go subnormal where that factor brings the
        # whole back (∂w₁ of w₁·w₂·e^(−x²)·σ(y)·tanh(y), nexpsq_x_times_w2·prod_1 with prod_1 = tanh_y·where_y_nonneg
        # subnormal at a subnormal y: past 4 ULP at 96 of 200 points, worse than torch at 47; h-worsec40). Not x·4σσ of
        # tanh(w·x + b)′: σ(−2u) subnormal has lost its digits already, and the test cost its layer a pass.
        # (not a range the structure bounds: spans bound ±inf, not subnormals; "subnormal" tells _exponent_product)
        if large == 1 and self._held_products(e, getattr(self, "definitions", {})) \
                and any(self._keeps_subnormal(f.as_base_exp()[0]) for f in others):
            return "subnormal"
        return large >= 2

    def _may_pass_one(self, e) -> bool:
        """``e``'s size may pass 1 (:func:`~symnet.codegen.spans.span` unknown, unbounded or beyond ±1): an input, x²,
        1/y; not σ, tanh, e^(−x²)."""
        s = span(e, getattr(self, "definitions", {}))
        return s is None or max(abs(s[0]), abs(s[1])) > 1

    def _exponent_product(self, e):
        """(c, the factors) of the product ``e``, a number c (a normal float64, 1 too) times three factors or more
        counted with their integer powers, one of them a negative power (factors held in temporaries that are products
        taken apart, :meth:`_held_factors`), for ``_constant_far``; None for any other product."""
        if self._select_moving or not self.TAKEN_AGAIN or not isinstance(e, sp.Mul):
            return None
        definitions = getattr(self, "definitions", {})
        factors = self._held_factors(e, definitions)
        numbers = [f for f in factors if f.is_number and not f.free_symbols]
        # a temporary holding a power counts as that power (session 36, h-search36: (x·y)⁻³, SymPy's x⁻³·y⁻³ with both
        # powers temporaries, NaN (0·inf) at (−3e38, −1.4e−45) in float32 for 1.35e19; torch 0.13 ULP)
        others = [g for f in factors if not (f.is_number and not f.free_symbols)
                  for g in self._power_of_held_monomial(self._power_of_held_power(f, definitions), definitions)]
        others = [self._rooted_power(f, definitions) for f in others]
        # (or a power of a grouped quotient, shared-powers' far form −2·a·x·(x/S)² of ∂a of x/(1 + (a·x)²): x·(x/S)²
        # overflowed at a = −3.38e−123, x = 3.15e148 where the product is 1.64e219; h-worseb39)
        quotient = any(f.is_Pow and (f.exp.is_negative or (isinstance(f.base, sp.UnevaluatedExpr) and f.exp.is_Integer
                                                            and any(q.is_Pow and q.exp.is_negative
                                                                    for q in sp.Mul.make_args(f.base.args[0]))))
                       for f in others)
        count = sum(abs(int(f.exp)) if f.is_Pow and f.exp.is_Integer else 1 for f in others)
        plain = False if quotient else self._plain_far_product(e, others, count)
        if not quotient and not plain:
            return None
        # two reciprocals, 1/(x·y), count too: printed (1/x)/y, 1/x overflows at a subnormal x where the quotient does
        # not (∂x of log(x)/y at (1.4e−45, −4018733.75) in float32 was −inf for −1.78e38, torch 0.11 ULP; session 37)
        reciprocals = count == 2 and all(f.is_Pow and f.exp == -1 for f in others)
        if (count < 3 and not reciprocals) or len(set(f.base if f.is_Pow else f for f in others)) < 2:
            return None
        # an irrational constant too (√2/(2000·√π) of ∂y of 0.001/(x·Φ(y)): the product taken by exponents with its
        # rational part only overflowed before the rest multiplied it, h-hyp50)
        c = sp.Mul(*numbers)
        if not (c.is_number and c.is_extended_real and c.is_finite and c != 0):
            return None
        written, c = c, _evaluated_constant(c)
        # an irrational one within [1/2, 2] (log 2, √2/√π) stays apart as before: it moves the product by less than a
        # binade, and taken in, the product by exponents wraps the exponential's overflow guard where it was wrapped by
        # it (∂y of e^(2^(x/y))/(…) at x ≈ y ≈ −4.86e−301: 4.63 ULP for 3.63, tests/test_xfailb35.py; rehyp51)
        if c is not None and not written.is_Number and 0.5 <= abs(float(c)) <= 2:  # (a Float 0.5 is no irrational)
            return None
        if c is None or not 2.0 ** -1022 <= abs(float(c)) < math.inf:
            return None
        if self._printed_by_exponents(e):
            return None
        if plain != "subnormal" and product_stays_in_range(e, definitions):
            return None
        return float(c), others

    @staticmethod
    def _held_power(f, definitions):
        """The temporary t of a factor t^p (p an integer) that holds an integer power b^q, |q| ≥ 2 (CSE's sq_x = x²),
        else None (a reciprocal 1/b keeps b's digits: b^−1 by exponents would hold no more)."""
        base, power = f.as_base_exp()
        held = definitions.get(base)
        return base if held is not None and held.is_Pow and held.exp.is_Integer and abs(held.exp) >= 2 \
            and power.is_Integer else None

    @classmethod
    def _power_of_held_power(cls, f, definitions):
        """A factor t^p, t a temporary holding an integer power b^q (CSE's sq_x = x²), as b^(p·q): split by exponents;
        b^q itself overflows or goes subnormal before it is split (∂x of (gelu(x/y))^−2 holds y·e^(…)/(sq_x·Φ³): 0 at
        (−1e200, −1e200) for 3.64e−200 − 2.83e−200 with sq_x = inf, 3% off at x = −3.8e−162 with sq_x subnormal);
        ``f`` as it is otherwise."""
        t = cls._held_power(f, definitions)
        if t is None:
            return f
        held = definitions[t]
        return sp.Pow(held.base, held.exp * f.as_base_exp()[1], evaluate=False)

    @staticmethod
    def _rooted_power(f, definitions):
        """A factor b^e (e not a number: y^(3x)), written or held in a temporary, alone or as a value of a select whose
        other values are 1 (CSE's {1 if x = 0; y^(3x)}), as (b^(e/2))²: split by exponents from its square root, which
        stays in the range where b^e overflows and the product does not ((y^x/log y)³, y^(3x)/log(y)³, at (15.22,
        5863448.3) was inf, torch finite; h-mend39; a fourth root's rounding, taken four times, left k = 2 and 3 past
        4 ULP where torch is not); ``f`` as it is otherwise."""
        held = definitions.get(f, f)

        def rooted(v):  # (a value of the select may be a temporary holding the power: y_pow_sum_1 of {1 if …; y_pow_sum_1})
            return ConditionalPrinting._power_root(definitions.get(v, v), definitions)
        if held.is_Pow:
            root = rooted(held)
        elif isinstance(held, sp.Piecewise) and any(rooted(v) is not None for v, _ in held.args) \
                and all(v == 1 or rooted(v) is not None for v, _ in held.args):
            root = sp.Piecewise(*[(v if v == 1 else rooted(v), c) for v, c in held.args])
        else:
            root = None
        return f if root is None else sp.Pow(root, 2, evaluate=False)

    @staticmethod
    def _power_printed_again(f, definitions):
        """A factor :meth:`_rooted_power` roots, as the power it holds, to be printed again: a temporary's definition, a
        select's values that are temporaries holding a power as their definitions ({1 if x = −1/3; y_pow_sum_1} of
        ∂x of √(y^(3x + 1)), 3·y^(3x + 1)·log(y)/(2√(y^(3x + 1))): the float32 power overflowed where the product does
        not, inf at (9.19, 91.7) for 7.2e28)."""
        if f in definitions:
            return definitions[f]
        return f.xreplace({v: definitions[v] for v, _ in f.args
                           if v in definitions and ConditionalPrinting._power_root(definitions[v], definitions) is not None})

    @staticmethod
    def _power_root(v, definitions):
        """b^(e/2) of a power b^e whose exponent e is not a number and is c + k·u of inputs with an integer c (a
        temporary holding it taken one level deep: the root's exponent, its half, is raised as a double word,
        _affine_exponent; y^(sum_1/2) as pow would round it first); None for any other value."""
        if not (v.is_Pow and not v.exp.is_number and v.base.free_symbols):
            return None
        exp = ConditionalPrinting._exponent_of_inputs(v.exp, definitions)
        if any(t in definitions for t in exp.free_symbols) or not exp.as_coeff_Add()[0].is_Integer:
            return None
        return sp.Pow(v.base, exp / 2)

    def _root_of_held_power(self, e):
        """b^(e/2) for √t or 1/√t (``e``) of a temporary t holding a power b^e (:meth:`_power_root`), for the printers to
        raise by itself: √(y^(3x + 1)) is y^(3x/2 + 1/2), finite where y^(3x + 1) overflows (at (88.7, 88.7) it was inf
        for 1.397e260, torch inf) or goes subnormal; None for any other power."""
        if e.exp not in (sp.S.Half, -sp.S.Half) or not e.base.is_Symbol:
            return None
        definitions = getattr(self, "definitions", {})
        held = definitions.get(e.base)
        return None if held is None else self._power_root(held, definitions)

    @staticmethod
    def _power_of_held_monomial(f, definitions) -> list:
        """A factor t^n (n an integer, |n| ≥ 2), t a temporary holding a quotient or product of inputs' integer powers (CSE's
        value = x/y), as those inputs' powers times n: (x/y)³·x⁶ of the shared-powers rule's x⁹/y³ is x⁹·y⁻³ by exponents,
        where x⁶ as printed went subnormal in float32 (f at (−1.99e−7, 2.53e−9) 33.4 ULP, torch 2.4) or x⁵ overflowed
        (∂y at (−6.15e7, 1.94e8) inf for 2.69e37; session 38), and such a power is a partial product held (3y²/x⁹ as
        x⁻⁷·(y/x)², (y/x)² subnormal in float32 at (3.65e−5, 2.85e−25): 109 ULP, torch 0.94); ``[f]`` otherwise."""
        base, n = f.as_base_exp()
        held = definitions.get(base)
        if isinstance(held, sp.UnevaluatedExpr):  # (x/y held grouped)
            held = held.args[0]
        if held is None or not n.is_Integer or abs(n) < 2 or not held.is_Mul:
            return [f]
        parts = [a.as_base_exp() for a in held.args]
        if not all(b.is_Symbol and b not in definitions and p.is_Integer for b, p in parts) or len(parts) < 2:
            return [f]
        return [sp.Pow(b, p * n, evaluate=False) for b, p in parts]

    def _printed_by_exponents(self, e) -> bool:
        """The product ``e`` goes to ``_constant_far`` as printed (:meth:`_moved_constant`'s choice, from the same
        expression): its constant beyond 2^±100 times a quotient chain, two factors or more, no numerator, or as a
        constant with no normal float32 value (c/(x²·y) with a far c: nothing to take again). Decided from the
        expression, not from the printed text (session 33; session 32 looked for ``_constant_far(`` in it)."""
        numbers = [a for a in e.args if a.is_number and not a.free_symbols]
        others = [f for a in e.args if not (a.is_number and not a.free_symbols) for f in sp.Mul.make_args(a)]
        c = sp.Mul(*numbers)
        if not c.is_Number:
            c = c.doit()
        if not others or not c.is_Number or self._far_split(c) is None:
            return False
        if len(others) == 1 and quotient_chain(others[0]) is not None:
            return True
        numerators = [a for a in others if not (a.is_Pow and a.exp.is_negative)]
        return len(others) > 1 or not numerators or not _FLOAT32_TINY <= abs(c) <= _FLOAT32_MAX

    # session 32 (h-search32): SymPy collects x − y − y into x − 2y, whose 2y overflows where the sum does not (x = y =
    # −1.8e308: inf for 1.8e308, torch's (x − y) − y exact; ∂x of e^((x − y)·x), (2x − y)·e^…, likewise). Where the sum
    # as printed is ±inf or NaN it is taken again as 4·(Σ tᵢ/4), every term's constant scaled by 1/4 (exact: a power of
    # 2 on a term at this magnitude), where that is finite. NumPy computes it only where needed; Triton (session 37,
    # h-triton37: x − y − y there was inf in both dtypes) on every lane, a product and a sum a term.
    # Not (session 33, h-search33) a sum the common-coefficient form prints as (a ± b)·c (|c| > 1: a ± b overflows
    # only where the sum does), nor one whose other terms are bounded (2x + σ(y): where 2x overflows the sum does too;
    # :func:`~symnet.codegen.spans.sum_overflows_only_with_its_term`): no other order of those is finite there.
    def _quartered_sum(self, e):
        """Σ tᵢ/4 for a sum ``e`` with a term c·x, x an input and |c| ≥ 2 rational, that another term may bring back
        into the range; None for any other sum."""
        if self._select_moving or not self.TAKEN_AGAIN or not isinstance(e, sp.Add) or len(e.args) < 2:
            return None
        definitions = getattr(self, "definitions", {})

        def collected(t):
            c, rest = t.as_coeff_Mul()
            return c.is_Rational and abs(c) >= 2 and rest.is_Symbol and rest not in definitions
        if not any(collected(t) for t in e.args):
            return None
        if self._common_coefficient(e) is not None or sum_overflows_only_with_its_term(e, definitions):
            return None
        return sp.Add(*[t / 4 for t in e.args])

    # session 38 (h-reassoc38): SymPy flattens a written (x/y − 1) − y into −1 − y + x/y, printed 1 + y − x/y (a
    # constant first, minus terms last), which adds y to 1 first and loses it: log_cosh(x/y − 1, y) at x = y = −1e−30
    # was 0 for 5e−61, ∂x 0 for −1 (torch exact); (clamp(x, −1, 1) + (x − y))/x at x = y = −1e200 0 for 1e−200 (SymPy's
    # x − y − 1). No order of the terms is right for every input, so a sum that can cancel is summed compensated
    # (Ogita–Rump–Oishi's Sum2: TwoSum along the terms, their exact errors added at the end), as if in twice the
    # precision and rounded once. A constant the dtype cannot hold (log 2, 1/3) is two terms, its double word hi + lo:
    # relu′'s condition log 2 + 2x ≤ 0 with log 2 rounded was false at x = −0.34657359027997264 where the true sum is
    # 2.3e−17 > 0 (∂x of relu(log(eˣ + eˣ) + y) − relu(log(eˣ + eˣ) + x): 1 for −1). A sum grouped by a rule (Grouped:
    # the affine-root rule's 1 − (x/y + y)) is taken apart into its terms: compensated, the grouping's rounding is gone.
    # Not the row-wise printers' (TAKEN_AGAIN: the lecture's kernels, their own skeletons).
    EXACT_SUM_TERMS = 8  # a sum of more terms is printed as before (Triton's helper has this many slots)
    EXACT_SUMS = True  # False: Triton's row-wise, layer and step printers (the lecture's kernels, as NumPy's TAKEN_AGAIN)
    _written_order = False  # True while a rounding error is printed: its order is its meaning

    def _print_RoundingError(self, e):
        """d = E − (s − 1), the rounding error of s = fl(1 + E) (rewrite.RoundingError): exact as written (Fast2Sum),
        and 0 in any other order, so never summed compensated (sigmoid_mse's err_inv_sig_abs_z)."""
        outer, self._written_order = self._written_order, True
        try:
            return self._print(e.args[0])
        finally:
            self._written_order = outer

    def _exact_sum_terms(self, e) -> tuple[list, sp.Expr, bool] | None:
        """(terms, c, grouped) of a sum ``e`` to be summed compensated: its non-constant terms (grouped sums and their
        negations taken apart: ``grouped`` where one was) and its constant c (0 where none; a temporary holding a number
        is that number), where they are three or more counting c's double word as two and their signs can differ; None
        for any other sum. A group taken apart adds its terms in another order, which may leave the range where the
        group's did not: the printers take the sum as written again where the compensated one is not finite."""
        if self._select_moving or self._written_order or not (self.TAKEN_AGAIN and self.EXACT_SUMS) \
                or not isinstance(e, sp.Add) or len(e.args) < 2:
            return None
        definitions = getattr(self, "definitions", {})
        terms, constant, grouped = [], sp.Integer(0), False

        def take(t, sign):
            nonlocal constant, grouped
            if type(t).__name__ in _GROUPS and t.args[0].is_Add:
                grouped = True
                for a in t.args[0].args:
                    take(a, sign)
                return
            c, rest = t.as_coeff_Mul()
            if c in (1, -1) and type(rest).__name__ in _GROUPS and rest.args[0].is_Add:
                take(rest, sign * c)
                return
            held = definitions.get(t) if t.is_Symbol else None
            if held is not None and held.is_number and not held.free_symbols:
                t = held
            if t.is_number and not t.free_symbols:
                constant += sign * t
            else:
                terms.append(t if sign == 1 else -t)
        for a in e.args:
            take(a, 1)
        if not (constant.is_extended_real and constant.is_finite) or not terms:
            return None
        hi, lo = _double_word(constant)
        if not math.isfinite(hi) or not math.isfinite(lo):
            return None
        words = 0 if constant == 0 else 1 if lo == 0 else 2
        if len(terms) + words < 3 or len(terms) + (words > 0) > self.EXACT_SUM_TERMS:
            return None
        signs = terms + ([constant] if constant != 0 else [])
        if all(t.is_nonnegative for t in signs) or all(t.is_nonpositive for t in signs):
            return None  # nothing cancels: every term of one sign
        terms.sort(key=lambda t: bool(t.could_extract_minus_sign()))  # as printed before: minus terms last
        return terms, constant, grouped

    # session 44 (h-cos44): SymPy distributes a number over a sum (the sech² rule's σ(2s) of s = b + h·u + w·x is
    # σ(2b + 2h·u + 2w·x)), and a compensated sum's terms are each computed first: 2b = −inf and 2h·u = +inf at
    # b = −1e308, h = u = 1e154, so the sum was NaN where b + h·u + w·x = 6.29e291 (an RNN cell's gradients NaN for 0;
    # torch 1.0). Where every term is one constant c, |c| > 1, times a non-constant, c·Σ tᵢ is the same number
    # (common-coefficient's algebra; the sum of the tᵢ overflows only where the whole does), taken where the sum as
    # printed is not finite: its value elsewhere unchanged, the common case one test over the block.
    def _common_coefficient_terms(self, terms, constant) -> tuple[list, float] | None:
        """(inner terms tᵢ, c) of an exact sum's ``terms`` (:meth:`_exact_sum_terms`), each c·tᵢ or −c·tᵢ for one
        real constant c with |c| > 1, as a float; None where there is a constant term or no such c."""
        split = None if constant != 0 else _one_coefficient(terms)
        if split is None or not math.isfinite(float(split[1])):
            return None
        return split[0], float(split[1])

    # session 36 (h-gelu36): a sum of products whose terms leave the range with opposite signs is inf − inf = NaN where
    # one of them is the sum's size: ∂x of gelu(x/y)⁻², y·F/x² + y²·G/x³ (F, G double words of Φ(x/y)), at x = 1e−310,
    # y = −3 was NaN for −inf (torch −inf). Where the sum is NaN, each term's size is taken by exponents, log2|c| +
    # Σ p·log2|f|, and the sum is the infinity of a term past the range and past every other term by more than their
    # count (NumPy ``_dominant_infinity``): one test over the block where the sum is finite.
    def _sized_terms(self, e) -> list | None:
        """For a sum ``e`` of two terms or more, each a number c times a product holding a negative integer power of an
        input, each term's forms, (c, [(x, px), (y, py), …]) with c a float and each factor as printed: as computed (a
        select of one number in several orders, the power-quotient rule's, by its first value; a select of different
        values one factor; the long-product rule's computed product; temporaries holding products or powers taken
        apart) and, for the long-product rule's product, as written too (its double-word factor F can overflow where
        the written factors, Φ and e^…, do not: gelu(x/y)⁻²'s ∂x at x/y = −26.8); None for any other sum."""
        if self._select_moving or not self.TAKEN_AGAIN or not isinstance(e, sp.Add) or len(e.args) < 2:
            return None
        definitions = getattr(self, "definitions", {})

        def written_out(v, depth=4):  # the temporaries a value holds, written out
            for _ in range(depth):
                w = v.xreplace(definitions)
                if w == v:
                    break
                v = w
            return v.doit()

        def same_value(values):
            first = written_out(values[0])
            return all(first == w or sp.cancel(first - w) == 0 for w in map(written_out, values[1:]))

        def computed(t, same):
            while True:
                if type(t).__name__ == "WrittenWhereNotFiniteBase":
                    t = t.args[0]
                elif isinstance(t, sp.Piecewise):  # a select of one number's orders (the power-quotient rule's): its
                    if not same([p.expr for p in t.args]):  # first; a select of different values is not sized
                        return None
                    t = t.args[0].expr
                elif isinstance(t, sp.UnevaluatedExpr):
                    t = t.args[0]
                elif t.is_Symbol and isinstance(definitions.get(t), (sp.Mul, sp.Piecewise, sp.UnevaluatedExpr)):
                    t = definitions[t]
                else:
                    return t

        def factors(t, same):
            inner = computed(t, same)
            t = t if inner is None else inner  # (a select of different values: one factor, its value as printed)
            if not isinstance(t, sp.Mul):
                return [t]
            return [g for f in self._held_factors(t, definitions) for g in factors(f, same)]

        def weighed(t, same):
            """(c, [(base, power), …]) of the term ``t``, its selects' values the same where ``same`` says so."""
            c, powers = sp.S.One, {}
            for f in factors(t, same):
                if f.is_number and not f.free_symbols:
                    c = c * f
                    continue
                f = self._power_of_held_power(f, definitions)
                base, p = f.as_base_exp()
                if not p.is_Integer:
                    base, p = f, sp.S.One
                powers[base] = powers.get(base, 0) + int(p)
            c = c if c.is_Number else c.evalf(30)  # (√2/√π)
            if not (c.is_Number and c.is_extended_real and c.is_finite and c != 0) or not powers or not any(
                    p < 0 and b.is_Symbol and b not in definitions for b, p in powers.items()):
                return None
            return float(c), [(b, p) for b, p in powers.items() if p]

        def sized(t):
            # whether a select's values are the same is decided (same_value) only where the term's size depends on
            # it: with one select asked, the term weighed both ways alike needs no answer (sp.cancel of the KL of two
            # written 2-class softmaxes' 4,100-operation difference took 10 of its 13 CPU s of printing, in each
            # backend, for a term not sized either way)
            asked, again = [], []
            form = weighed(t, lambda values: asked.append(values) or False)
            if asked and not (len(asked) == 1 and weighed(t, lambda values: again.append(values) or True) == form
                              and again == asked):
                form = weighed(t, same_value)
            return None if form is None else (form[0], [(self._print(b), p) for b, p in form[1]])

        terms = []
        for t in e.args:
            forms = [sized(t)]
            if forms[0] is None:
                return None
            held = definitions.get(t, t) if t.is_Symbol else t
            if type(held).__name__ == "WrittenWhereNotFiniteBase":
                forms.append(sized(held.args[1]))
            terms.append([f for f in forms if f is not None])
        return terms

    def _taken_again_pair(self, e, print_plain) -> TakenAgain | None:
        """The product ``e`` as printed before and the form it is taken again in (:class:`TakenAgain`), or None: its
        moved form :meth:`_moved_into_select` printed, or its product by exponents (:meth:`_exponent_product`), which
        is taken again also where it, or a power it holds in a temporary, is not a normal number (x² = inf makes the
        product 0, x² subnormal keeps few digits: y·e^(…)/(sq_x·Φ³), ∂x of (gelu(x/y))^−2, at x = y = −1e200 was 0
        for 8.2e−201; by exponents x is split, not x²)."""
        if self._select_moving or not self.TAKEN_AGAIN:
            return None
        moved, product = self._moved_into_select(e), None
        if moved is None:  # x/2 + y/2 of a halved sum: by exponents with S/2 where it is one, else halved as printed
            halved = self._halved_difference(e)
            product = self._halved_exponent_product(e) if halved is not None else None
            if product is None:
                moved = halved
                product = self._exponent_product(e) if halved is None else None
        if moved is None and product is None:
            return None
        self._select_moving = True
        try:
            if moved is not None:
                plain = print_plain(e)
                # the moved values' own products taken again by exponents where they leave the range (session 38,
                # h-brk38: squareplus's ∂x at b = 0, x = −2.96e−318, b/(|x|·√(1 + (b/x)/x)·(√… − x)) was 0/0 for 0;
                # torch −inf): no select moved again
                self._select_moving, self._values_moving = False, True
                try:
                    return TakenAgain(plain, self._print(moved), [], None)
                finally:
                    self._values_moving = False
            by_exponents = [self._far_number(product[0]), "0", *self._far_factors(product[1])]
            again = self._far_call(by_exponents)
            if again is None:
                return None
            definitions = getattr(self, "definitions", {})
            factors = self._held_factors(e, definitions)
            held = {self._held_power(f, definitions) for f in factors} - {None}
            # a power written in the product, (x + y)² of mish(x)·y/(x + y)²: 0 where it overflows (the widened ∂x of
            # mish(x)/(x + y) at (0, 1e200) was 0 for 6e−201)
            held |= {f.base ** abs(f.exp) for f in factors if f.is_Pow and f.exp.is_Integer and abs(f.exp) >= 2
                     and (f.base not in definitions or len(self._power_of_held_monomial(f, definitions)) > 1)}
            # a temporary holding a product it takes apart: subnormal, it kept few digits (x·y/(z·w) as x·p, p = y/(w·z)
            # subnormal at (w, x, y, z) = (9.1e245, 3.7e207, −1.4e−260, 1.1e−193) was −5.298868248454452e−106 for
            # −5.298868248545100e−106, 93,630 ULP; torch 1; session 35)
            held |= self._held_products(e, definitions)
            held |= self._grouped_partials(e)
            held |= self._held_subproducts(factors, definitions)
            # a temporary holding a power of a variable exponent, split from its root: subnormal, it kept few digits
            # (∂x of y^(3x + 1), 3·y^(3x + 1)·log y, at (1e−8, 1e−310) was 216 ULP off, torch 51; session 40)
            held |= {f for f in factors if f.is_Symbol and self._rooted_power(f, definitions) != f}
            # or a select of 1 and such temporaries ({1 if x = −1/3; y_pow_sum_1} of ∂x of √(y^(3x + 1)) at (63.1,
            # 0.0207), y^(3x + 1) = 1.7e−311: 3.1e12 ULP off, torch 1.5e12; a power written in the select is not held:
            # printed again it is computed twice, ∂x of (y^x)³ and of y^(3x + 1) 1.3× slower in NumPy)
            held |= {f for f in factors if isinstance(f, sp.Piecewise) and all(v == 1 or v.is_Symbol for v, _ in f.args)
                     and self._rooted_power(f, definitions) != f}
            return TakenAgain(print_plain(e), again, [self._print(t) for t in sorted(held, key=str)], by_exponents)
        finally:
            self._select_moving = False

    def _far_forms(self, forms) -> list[str]:
        """Each product of ``forms`` (the long-product rule's computed and written forms) by exponents, ``_constant_far``'s
        call, for a third order of the printers' ``_taken_again`` where the other two are ±inf or NaN (session 38,
        h-mlp38: ∂x of tanh(w₃·tanh(w₂·tanh(w₁·x + b₁) + b₂) + b₃), w₁·w₂·w₃·f64(Π sech²) and 64·w₁·(w₂·w₃·Π σσ), was
        inf·0 = NaN for 0 at |w₂|, |w₃| ≈ 1e155–1e300, inf for a finite ∂x where x ≈ 1e−307): the factors apart (those of
        a temporary holding a product too, :meth:`_held_factors`), the computed form's double word among them, within an
        ulp where the written factors round each; a form that is not a product, of fewer than three factors that hold a
        variable (no order of two leaves the range but for their own) or with no normal number for its constant is left
        out."""
        definitions = getattr(self, "definitions", {})
        out = []
        for form in forms:
            if not isinstance(form, sp.Mul):
                continue
            factors = self._held_factors(form, definitions)
            c = sp.Mul(*[f for f in factors if f.is_number and not f.free_symbols])
            others = [self._power_of_held_power(f, definitions) for f in factors if not (f.is_number and not f.free_symbols)]
            if len(others) < 3 or not (c.is_Number and c.is_extended_real and c.is_finite and c != 0) \
                    or not 2.0 ** -1022 <= abs(float(c)) < math.inf:
                continue
            call = self._far_call([self._far_number(float(c)), "0", *self._far_factors(others)])
            if call is not None:
                out.append(call)
        return out

    def _constant_quotient(self, c, others) -> str | None:
        """c·(1/y)·(1/z)…, a real constant c ≠ ±1 times reciprocals only (no numerator: ``_moved_constant`` takes
        none), as the one quotient c/(y·z…) (session 30, h-recip30). Printed with its constant last, 1/y·c, 1/y
        rounded first overflowed for a subnormal y where c/y does not: 1/selu(x), {(1/λ)/x if x > 0; …}, was inf at
        x = 5.4e−309 in float64 for 1.76249e308 (now 1.0 ULP) and at 2.85e−39 in float32 for 3.33946e38 (0.65); and
        the quotient rounds once where 1/y·c rounds twice. The denominator is the product the old
        printing formed for 1/(y·z) (no new overflow there). A rational c = 1/q (x/q: ``(1/y)/q`` before) goes as its
        float 1/q (exact for q a power of 2; else one rounding of the constant, as many as (1/y)/q's); a constant
        whose float is not a normal float32 (a subnormal 1/q, 10⁻⁴⁰) is left as before. Reciprocals held in a
        temporary (σ's r = 1/(1 + E), one shared between outputs) are symbols here, not reciprocals: left alone."""
        if not all(a.is_Pow and a.exp in (-1, -sp.S.Half) for a in others):  # (c·y⁻²: y**(−2)·c as before, where
            return None  # y² overflows and y⁻² is a subnormal)
        if not (c.is_Number and c.is_extended_real and c.is_finite) or abs(c) == 1:
            return None
        size = abs(float(c))
        if not _FLOAT32_TINY <= size <= _FLOAT32_MAX:
            return None
        den = self.parenthesize(sp.Mul(*[1 / a for a in others]), PRECEDENCE["Mul"])
        return f"{'-' if c.is_negative else ''}{self._print(abs(c).evalf(20))}/{den}"

    def _moved_constant(self, c, others) -> str | None:
        """c·x·y/z (a constant ``c`` ≠ ±1 times two factors or more, one of them in the numerator) as the helper
        ``_constant_times(x, y, z, c, q, lo)`` (c/q the constant's size, c or q 1; y or z ``ABSENT``, with c's
        sign): p = ((x·y)/z)·c/q, the constant last, where |p| is not below lo = (c/q)·2⁻¹²⁶ (a constant
        > 1, else 0) nor inf (NumPy: only lo for a constant > 1, where x·y/z overflows only if the product
        does), else a = ((x·c/q)·y)/z, the constant on the first numerator factor, where a is finite. The product without its constant leaves the range where the whole does not in one direction
        per constant: c/q < 1 (a quotient by q) where it overflows (x/(3y) at x = 1.797e308, y = 0.5 was inf for
        1.198e308), c/q > 1 where it goes subnormal and rounds to fewer digits before the constant scales it back
        (8x/y at x = 6.7e−308, y = 3e5 was 2 subnormal ULP off; sech²(x)·y·4 likewise at y = 2⁻¹⁰⁴⁰); there the
        constant first keeps every digit (x·8 is exact) or the range (x/3 does not overflow). Where the constant
        first overflows instead (x·8 at x = 1e308, y = inf: inf/inf), the constant last's value stays (0, the
        limit). 2⁻¹²⁶ (float32's smallest normal) for either dtype: in float64 both orders are then within an
        ULP. Each factor is printed once (an argument of the helper). c·((N/V)/V), the scaled-square rule's chain,
        as ``_constant_quotients(N, V, c, q)``: the constant between the two divisions, first or last, per element
        (∂y of c·x/y was 432 ULP at c = 1024, x = 1e300, y = 1.797e308 and −inf at c = 1e−20, x = 1e−300,
        y = 2.2e−308 with the constant last or first only). k·ordered_product(a, b, c), the product-order rule's, as
        ``_constant_product(a, b, c, k, q, lo)``: the constant last, or on the factor of middle magnitude where the
        product of three leaves the range and the whole does not (x·y·z/3 at (0.5, 1.797e308, 3) was inf); these
        helpers for a constant within 2^±100 (the analysis of their choice assumes it). A constant outside
        [2^−100, 2^100) goes to none of them: as m·2^k (:meth:`_far_split`) with every factor apart, each with its
        integer power (:meth:`_far_factors`), to ``_constant_far(m, k, x, px, y, py, …)``, which applies 2^k by
        exponents (frexp/ldexp), so that no partial product leaves the range (session 25: x/(10³⁰⁸·y) at x = 1e−10,
        y = 5e−324 was −202402.0 for −202402.2533 with the constant first or last; Triton took no such constant;
        session 26: ∂x of 10⁻³⁰⁸/(x·y), −10⁻³⁰⁸/(x²·y), was −inf at (5e−324, 1e300) for −4.1e38 with x**2*y one
        factor), except one numerator times a normal float32 c (x·c rounds once). None: a constant last alone
        (one factor, no numerator, c = ±1, not a real constant of normal float64 size)."""
        others = [f for a in others for f in sp.Mul.make_args(a)]  # c·(x/y) held unevaluated (the scaled-square rule)
        if not c.is_Number:  # a constant held unevaluated (−1**2 of a rational-root rule: float() refused it)
            c = c.doit()
            if not c.is_Number:
                return None
        chain = quotient_chain(others[0]) if len(others) == 1 else None
        far = self._far_split(c)
        if far is not None and chain is not None:  # c·(N/V)/V, c beyond 2^±100: by exponents (_constant_far)
            out = self._far_call([*far, *self._far_factors([*sp.Mul.make_args(chain[0]), chain[1] ** -2])])
            if out is not None:
                return f"-{out}" if c.is_negative else out
        if chain is not None and c.is_extended_real and c.is_finite and abs(c) != 1 \
                and 2.0 ** -1022 <= abs(float(c)) < math.inf:  # any normal float64 constant
            head, *tail = sp.Mul.make_args(chain[0])
            out = self._quotients_call([self._print(head), self._print(sp.Mul(*tail)) if tail else self.ABSENT,
                                        self._print(chain[1]), *self._constant_size(c)])
            return f"-{out}" if c.is_negative else out
        if len(others) == 1 and type(others[0]).__name__ == "ordered_product" and c.is_extended_real and c.is_finite \
                and abs(c) != 1 and 2.0 ** -100 < abs(float(c)) < 2.0 ** 100:  # the product-order rule's k·a·b·c
            size = abs(float(c))
            out = self._product_call([*(self._print(a) for a in others[0].args), *self._constant_size(c),
                                      repr(size * 2.0 ** -126) if size > 1 else "0.0"])
            return f"-{out}" if c.is_negative else out
        if not others or not (c.is_extended_real and c.is_finite) or abs(c) == 1:
            return None
        numerators = [a for a in others if not (a.is_Pow and a.exp.is_negative)]
        denominators = [1 / f for f in others if f.is_Pow and f.exp.is_negative]
        # c beyond 2^±100 times two factors or more, over one, or with no normal float32 value: by exponents (one
        # numerator, c a normal float32: x·c rounds once, as it is printed)
        if far is not None and (len(others) > 1 or not numerators or not _FLOAT32_TINY <= abs(c) <= _FLOAT32_MAX):
            out = self._far_call([*far, *self._far_factors(others)])
            if out is not None:
                return f"-{out}" if c.is_negative else out
        # any normal float64 constant (session 23: within 2^±100 only, 1e308·x·y at x = 1e−300, y = 1e−10 was
        # (x·y)·1e308, x·y subnormal first: 18 ULP, torch's (1e308·x)·y exact; x·y·2¹⁰⁰⁰ 0 for 3.2e−49); one factor
        # or no numerator: the constant last as printed (a constant beyond 2^±100 went to _constant_far above, but
        # for a printer without the kernel's dtype)
        size = abs(float(c))
        if not 2.0 ** -1022 <= size < math.inf or len(others) < 2 or not numerators:
            return None
        head, rest = numerators[0], numerators[1:]
        # the numerators that may pass 1 multiplied first, those within ±2 after (no partial product of them then goes
        # subnormal where the whole is normal, and one that leaves the range shows in the product, which is taken again
        # by exponents there): w·(x·E′) of ∂y of w·x·tanh(y), 4·w·x·E′/(1 + E)², x·E′ subnormal at w = 3.0e297,
        # x = 1.7e−306, y = −11.2 was 3.15e7 ULP off (torch 2.7e8); (w·x)·E′ rounds once more only (h-worsec40)
        definitions = getattr(self, "definitions", {})
        bounded = [a for a in numerators if (lambda s: s is not None and max(-s[0], s[1]) <= 2)(span(a, definitions))]
        # (held values only, inputs or temporaries: a sum among them keeps its printed place, as BCE of σ(selu)'s ∂x)
        if self.TAKEN_AGAIN and self.EXACT_SUMS and bounded and len(numerators) - len(bounded) >= 2 \
                and all(a.is_Symbol for a in numerators if a not in bounded):
            head, rest = sp.Mul(*[a for a in numerators if a not in bounded]), bounded
        args = [self._print(head), self._print(sp.Mul(*rest)) if rest else self.ABSENT,
                self._print(sp.Mul(*denominators)) if denominators else self.ABSENT,
                *self._constant_size(c), repr(size * 2.0 ** -126) if size > 1 else "0.0"]
        out = self._moved_call(args)
        return f"-{out}" if c.is_negative else out

    # session 28 (h-tail28): c·b^u for a constant 0 < |c| < 1 and b = e or 2 overflows with b^u, rounded first, where
    # the product does not: 2^x's ∂, log 2·2^x, was inf at x = 1024.25 (float64) for 1.482e308, at x = 128.25 (float32)
    # for 2.805e38 (torch too); e^x/2 at x = 88.9 in float32 for 2.03e38. Past b^u's overflow it is taken again as
    # b^(u − a)·(c·b^a) (``_exp_overflowed``), a a constant for which u − a is exact there (Sterbenz) and c·b^a a
    # constant rounded once; the common case pays a test for ±inf (NumPy) or a select (Triton)
    OVERFLOW_SHIFT = {"e": (709, 88), "2": (1023, 127)}  # a for float64, float32: b^a normal, u − a exact to u = 2a
    # the smallest |c| taken (a smaller constant: as printed before). The NumPy printer takes any 0 < |c| < 1
    # (session 28, h-hostile28): its shift is computed in float64 with c·b^a a float64 constant, and 10⁻³⁰⁰·e^x was inf
    # at x = 709.9 for 2.02e8 (2⁻²⁰⁰·e^x inf at 800 for 1.7e287)
    OVERFLOW_SMALLEST = 2.0 ** -100

    def _exp_overflow(self, e):
        """(c, u, b) where ``e`` is c·e^u (b "e") or c·2^u (b "2"), c a real constant (one factor or more) with
        OVERFLOW_SMALLEST < |c| < 1 (a constant beyond goes to _constant_far), the exponential written or a temporary holding it
        (``definitions``, where the printer has them); None otherwise."""
        if not isinstance(e, sp.Mul):
            return None
        # the constant may be several factors: −log 2·2^(−x) is Mul(−1, log 2, 2^(−x)), −e^x/√2 Mul(−1/2, √2, e^x)
        # (h-hostile28: 2^(−x)'s ∂ was −inf at x = −128.25 float32 for −2.805e38, at −1024.25 float64)
        rest = [a for a in e.args if not (a.is_number and not a.free_symbols)]
        if len(rest) != 1:
            return None
        g, c = rest[0], sp.Mul(*[a for a in e.args if a is not rest[0]])
        d = getattr(self, "definitions", {}).get(g, g)
        if isinstance(d, sp.exp) and not d.args[0].is_number:
            found = c, d.args[0], "e"
        elif isinstance(d, sp.Pow) and d.base == 2 and not d.exp.is_number:
            found = c, d.exp, "2"
        else:
            return None
        if not (c.is_number and not c.free_symbols and c.is_real and c.is_finite):
            return None
        try:  # (a constant held unevaluated, 2·10⁶⁰·UnevaluatedExpr(1) of scaled-power, has no float: not this form)
            size = abs(float(c))
        except (TypeError, ValueError):
            return None
        if not (self.OVERFLOW_SMALLEST < size < 1.0 and abs(c) > 0):
            return None
        return found

    def _one_exponential(self, product):
        """(g, u, b) for the one factor g of ``product`` (a Mul) that is e^u (b "e") or 2^u (b "2") with u not a
        number, written or a temporary holding it; None where there is no such factor or more than one."""
        definitions = getattr(self, "definitions", {})
        found = []
        for g in product.args:
            d = definitions.get(g, g)
            if isinstance(d, sp.exp) and not d.args[0].is_number:
                found.append((g, d.args[0], "e"))
            elif isinstance(d, sp.Pow) and d.base == 2 and not d.exp.is_number:
                found.append((g, d.exp, "2"))
        return found[0] if len(found) == 1 else None

    def _exp_overflow_factor(self, e):
        """(f, u, b) where ``e`` is f·e^u (b "e") or f·2^u (b "2"), f a product of the other factors holding a variable
        (an input c·2^x, e^x/x); None otherwise, and for a constant f (``_exp_overflow``'s). Session 29 (h-exp29): past
        b^u's overflow such a product was inf where it is finite: c·2^x at (0.5, 1024) for 8.99e307, e^x/x at 709.9
        for 2.847e305, and its ∂ (1 − 1/x)·e^x/x NaN (inf − inf) for 2.843e305 (torch inf / NaN alike)."""
        if not isinstance(e, sp.Mul):
            return None
        found = self._one_exponential(e)
        if found is None:
            return None
        g, u, b = found
        f = sp.Mul(*[a for a in e.args if a is not g])
        if not f.free_symbols:
            return None
        return f, u, b

    @staticmethod
    def _exp_divisor(f, definitions=()):
        """(n, d, p, exact) where f = n·d^−p, d^−p its one factor of a negative integer power (p ≤ 4) and d holding a
        variable; else None (session 31, h-torch31: e^x/y's underflow recompute, ``_exp_overflowed_by``'s divisor).
        ``exact``: n a number or ±an input and d an input, so neither was rounded and a subnormal d holds all its digits
        (the recompute takes it at any size); one decision for both backends (session 32, h-review32)."""
        powers = [g for g in sp.Mul.make_args(f) if g.is_Pow and g.exp.is_Integer and g.exp < 0]
        if len(powers) != 1 or -powers[0].exp > 4 or not powers[0].base.free_symbols:
            return None
        g = powers[0]
        n = sp.Mul(*[h for h in sp.Mul.make_args(f) if h is not g])
        exact = (n.is_Number or ConditionalPrinting._signed_input(n, definitions)) and g.base.is_Symbol \
            and g.base not in definitions
        return n, g.base, int(-g.exp), bool(exact)

    @staticmethod
    def _signed_input(e, definitions=()) -> bool:
        """``e`` is ± an input: a value never rounded (``_exp_overflowed_by``'s exact f, y in y·e^x). A symbol in
        ``definitions`` is a temporary the kernel computed, rounded (σ(−y) as 1/(1 + e^y): session 32's review)."""
        s = -e if e.could_extract_minus_sign() else e
        return s.is_Symbol and s not in definitions

    def _log_overflow(self, e):
        """(f, u, b) where ``e`` is log(A) or log1p(A), A (written or a temporary holding it) f·e^u (b "e") or f·2^u
        (b "2") with f any other factors (a constant too); None otherwise. Session 29 (h-exp29): where A overflows its
        log is a number: log1p(y·e^x) float32 at (89.36, 128.69) was inf for 94.2162."""
        if not isinstance(e, (sp.log, log1p)) or len(e.args) != 1:
            return None
        definitions = getattr(self, "definitions", {})
        a = definitions.get(e.args[0], e.args[0])
        if not isinstance(a, sp.Mul):
            return None
        found = self._one_exponential(a)
        if found is None:
            return None
        g, u, b = found
        f = sp.Mul(*[f for f in a.args if f is not g])
        if f.is_number and not (f.is_real and f.is_positive):  # log1p(−e^x): never a number past the overflow
            return None
        return f, u, b

    def _exp_shift(self, c, b: str, float32: bool) -> tuple[float, float]:
        """(a, c·b^a rounded once to float64, or to float32 where ``float32``) of ``_exp_overflowed``. float32: a grows
        by ⌊−log_b |c|⌋ for a tiny c (|c| ≤ 2⁻¹⁰⁰), so that c·b^a stays a normal float32 (10⁻³⁰⁰·e^88 is none; session 28,
        h-hostile28). u − a stays exact where the result is not 0: there |u − a| ≤ |u| (u past b^u's overflow, a an
        integer; u − a below −104 (e) or −150 (2) gives 0, which c·b^u rounds to in float32 too)."""
        a = self.OVERFLOW_SHIFT[b][1 if float32 else 0]
        if float32 and abs(c) <= sp.Rational(1, 2 ** 100):  # (a larger c: as before)
            a += int(sp.floor(-sp.log(abs(c), sp.E if b == "e" else sp.Integer(2))))
        value = float((c * (sp.E if b == "e" else sp.Integer(2)) ** a).evalf(60))
        if float32:
            import numpy as np
            value = float(np.float32(value))
        return float(a), value

    def _far_split(self, c) -> tuple[str, str] | None:
        """|c| as the printed pair (m, k) of ``_constant_far``, |c| = m·2^k, m rounded once from the exact value,
        where c is a real constant outside [2^−100, 2^100): there no order of the constant and the factors keeps its
        partial products in range at every point (below). (|c|, 0) where |c| is a normal float64 (1e300, as written),
        else 1 ≤ m ≤ 2 (10⁻³⁰⁸, 5·10⁻³²⁴, 10⁴⁰⁰). None within, and for c beyond 2^±10000 (no quotient of float64
        factors reaches back into the range)."""
        if not (c.is_Rational or c.is_Float) or c == 0:
            return None
        a = Fraction(abs(sp.Rational(c)).p, abs(sp.Rational(c)).q)  # (a Float: its exact binary value)
        k = a.numerator.bit_length() - a.denominator.bit_length()  # 2^(k − 1) < a < 2^(k + 1)
        if a < Fraction(2) ** k:
            k -= 1
        if -100 <= k < 100 or abs(k) > 10000:
            return None
        if -1022 <= k < 1024:
            return self._far_number(float(a)), "0"
        return self._far_number(float(a / Fraction(2) ** k)), str(k)

    FAR_SLOTS = 4  # the factors _constant_far takes apart (more: the rest as one product, power 1)
    FAR_POWER = 4  # the largest |power| of a factor it takes apart (xⁿ: n roundings of x's fraction)

    def _far_factors(self, factors) -> list[str]:
        """The factors of a product (``others`` of :meth:`_moved_constant`) as the printed pairs (factor, power) of
        ``_constant_far``: x**−2 as (x, −2), so that the helper splits x and squares its fraction (x**2*y printed as one
        factor overflows or underflows before it is split: ∂x of 10⁻³⁰⁸/(x·y) at x = 5e−324, y = 1e300); an integer
        power beyond ±``FAR_POWER`` in several pairs (:meth:`_far_chunks`), any other power whole, with power 1 (√x) or −1
        (1/√x); factors past
        ``FAR_SLOTS`` − 1 as one product in the last slot. Numbers (a chain's numerator 1) are left out. A rounded log's
        power from ``ROUNDED_LOG_POWER_MIN`` to ``FAR_POWER`` (:meth:`_restored_log_pair`) whole, with its rounding
        restored."""
        powers: dict = {}
        for f in factors:
            if f.is_number and not f.free_symbols:
                continue
            if f.is_Pow and f.exp.is_Integer and abs(f.exp) <= self.FAR_POWER * self.FAR_SLOTS:
                base, power = f.base, int(f.exp)
            elif f.is_Pow and f.exp.is_negative:
                base, power = 1 / f, -1
            else:
                base, power = f, 1
            powers[base] = powers.get(base, 0) + power
        pairs = [self._restored_log_pair(b, p) for b, p in self._far_chunks([(b, p) for b, p in powers.items() if p])]
        if len(pairs) > self.FAR_SLOTS:
            # the factors within ±1 last, into the rest, whose product then stays within the size of its one factor
            # that may pass 1 (session 39: ∂x of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y) with w₁·w₂·w₃·x in the rest was inf)
            pairs = sorted(pairs, key=lambda pair: not self._may_pass_one(pair[0]))
            # (or, where the backend can, the rest as two factors, its fraction and its scale, from each factor's
            # exponent: a product of factors within ±1 goes subnormal or 0 as one factor before it is split, tanh(y)·σ(y)
            # at y = −5e−324 of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y); h-mend39)
            scaled = self._scaled_far_rest(pairs[self.FAR_SLOTS - 2:])
            if scaled is not None:
                return [*(text for b, p in pairs[:self.FAR_SLOTS - 2] for text in (self._print(b), str(p))), *scaled]
            rest = self._printed_far_rest(pairs[self.FAR_SLOTS - 1:])
            return [*(text for b, p in pairs[:self.FAR_SLOTS - 1] for text in (self._print(b), str(p))), rest, "1"]
        return [text for b, p in pairs for text in (self._print(b), str(p))]

    def _restored_log_pair(self, base, power):
        """(base^|power|, ±1) where ``base`` is a temporary holding log v of an input (:meth:`_rounded_base`) and
        ROUNDED_LOG_POWER_MIN ≤ |power| ≤ FAR_POWER: printed as that power with log's rounding restored (NumPy's and
        Triton's _rounded_log_power), where (base, power) took its fraction |power| times, each with log's rounding
        (f of (y^x/log y)³ past y^(3x)'s range, _constant_far(…, y^(3x/2), 2, log_y, −3): 4.06 ULP at (25.07, 13071.4),
        torch 2.06; h-mend39's strict xfail, h-powk41). Within the range wherever log v is a number: |log v| is at least
        2⁻⁵³ (6e−8 in float32) and at most 745, so its 4th power is within 1e−64 and 3.1e11 (1.3e−29 in float32).
        (base, power) otherwise."""
        if self.ROUNDED_LOG_POWER_MIN <= abs(power) <= self.FAR_POWER:
            rounded = self._rounded_base(base)
            if rounded is not None and rounded[0] == "log":
                return base ** abs(power), 1 if power > 0 else -1
        return base, power

    def _far_chunks(self, pairs) -> list:
        """The pairs (base, power) of :meth:`_far_factors` with a power beyond ±``FAR_POWER`` as several pairs of that
        base, each within it (x⁹ as (x, 6), (x, 3)), where they all fit ``FAR_SLOTS``; else such a power whole, with
        power 1, as before. x⁹ taken whole overflows before it is split: (x³/y)³ = x⁹/y³ at x = y = −3e38 was inf for
        7.29e230 (torch 0.30 ULP; seed 37's search)."""
        def chunks(p):
            size, sign = abs(p), 1 if p > 0 else -1
            whole, part = divmod(size, self.FAR_POWER)
            return [sign * self.FAR_POWER] * whole + ([sign * part] if part else [])
        split = [(b, c) for b, p in pairs for c in chunks(p)]
        if len(split) <= self.FAR_SLOTS:
            return split
        return [(b, p) if abs(p) <= self.FAR_POWER else (b ** abs(p), 1 if p > 0 else -1) for b, p in pairs]

    def _scaled_far_rest(self, pairs) -> list[str] | None:
        """The factors (base, power) past the last two slots of ``_constant_far`` but one as the printed pairs of two
        slots, (F, 1, S, n) with F·Sⁿ their product, each a normal number (a backend with a helper for it); None where
        the backend has none (the rest as one factor, :meth:`_printed_far_rest`) or cannot take so many."""
        return None

    def _printed_far_rest(self, pairs) -> str:
        """The printed last factor of ``_constant_far`` where it holds several (:meth:`_far_rest`); a backend whose float32
        kernels compute it wider overrides this."""
        return self._print(self._far_rest(pairs))

    def _widened_far_rest(self, pairs, widen, one: str) -> str:
        """The rest of :meth:`_far_rest` with each base printed by ``widen`` (a float64 value from the printed
        factor): the product of the positive powers divided by each other base once per unit, ``one`` where none is
        positive. float64 holds every product and quotient of a few float32 numbers as a normal number, where float32's
        overflow or underflow (y·z of v·w·x·y·z/v² at y = −1.5e18, z = −1.9e35)."""
        ups = [widen(b) for b, p in pairs for _ in range(max(p, 0))]
        downs = [widen(b) for b, p in pairs for _ in range(max(-p, 0))]
        return "".join(["(" * len(downs), " * ".join(ups) or one, *(f")/{d}" for d in downs)])

    # session 38 (h-brk38): a float32 quotient of three factors or more taken by exponents (_taken_again_pair) was
    # taken again only where its result, or a temporary it holds, is not normal; a partial product made inside the one
    # printed product (y·z of y·z/v) can be subnormal while both are normal: f of w·x·y·z/v at (4.96e−17, −1.16e16,
    # −3.69e25, −1.52e−18, −1.37e−24) was 2372 ULP off (y·z = 2.1e−42), ∂v, −w·x·y·z/v², at (−2.95e−9, −6.53e−19,
    # −8.85e−11, 5.96e−16, −9.64e37) 184153 (w·x·y = 3.4e−44; torch 0.45, 0.51). A float32 kernel computes such a
    # product as printed in float64 (every factor widened, exact) and rounds it once: FLOAT32_PRODUCT_FACTORS float32
    # factors keep every partial product a normal float64, as _long_product's do.
    def _widened_product(self, e, widen, number, one: str) -> str | None:
        """The float64 code of the product ``e`` as printed, each of its factors (an UnevaluatedExpr product's taken
        apart) printed by ``widen`` (its float64 value) with its integer power (:meth:`_widened_far_rest`), the number
        last (printed by ``number``, a float): None where it has fewer than three factors counted with their powers
        (one multiplication: no partial product) or more than FLOAT32_PRODUCT_FACTORS, and where an exponential in it
        overflows first (its own recompute, :meth:`_exp_overflow_factor`: e^v·y/z at v = 89 in float32)."""
        parts = self._widened_parts(e)
        if parts is None:
            return None
        c, pairs = parts
        code = self._widened_far_rest(pairs, widen, one)
        if abs(c) != 1:
            code = f"{code} * {number(float(abs(c)))}"
        return f"-({code})" if c < 0 else code

    def _widened_parts(self, e):
        """(c, [(base, power)]) of the product ``e`` as :meth:`_widened_product` prints it, or None where it prints
        none."""
        if self._exp_overflow(e) is not None or self._exp_overflow_factor(e) is not None:
            return None

        def flat(t):
            return [g for f in sp.Mul.make_args(t)
                    for g in (flat(f.args[0]) if isinstance(f, sp.UnevaluatedExpr) and f.args[0].is_Mul else [f])]
        definitions = getattr(self, "definitions", {})
        c, powers = sp.S.One, {}
        for f in flat(e):
            if f.is_number and not f.free_symbols:  # (first: √2 is no exponential 2^v held apart; h-hyp50)
                c *= f
                continue
            held = definitions.get(f, f)
            if isinstance(held, sp.exp) or held.is_Pow and held.base == 2 or type(held).__name__ == "exp2":
                return None  # (an exponential held apart, −(e^x/y)/y: its recompute is the product's as printed)
            if f.is_Pow and f.exp.is_Integer and abs(f.exp) <= self.FAR_POWER:
                base, p = f.base, int(f.exp)
            else:
                base, p = f, 1
            powers[base] = powers.get(base, 0) + p
        pairs = [(b, p) for b, p in powers.items() if p]
        count = sum(abs(p) for _, p in pairs)
        if c.is_number and c.is_extended_real and c.is_finite and not c.is_Number:  # √2/√π: as _exponent_product
            c = _evaluated_constant(c)
        if c is None or not 3 <= count <= FLOAT32_PRODUCT_FACTORS or not (c.is_Rational or c.is_Float) or c == 0:
            return None
        if not 2.0 ** -1022 <= abs(float(c)) < math.inf:
            return None
        return c, pairs

    @staticmethod
    def _far_rest(pairs):
        """The factors (base, power) past the last slot but one of ``_constant_far`` as one: the product of those with a
        positive power divided by each other base once per unit of its power, x·y⁻² as (x/y)/y, never y² (∂y of
        e^(2^(x/y))/S at x = y = −1e−300, −x·2^(x/y)·…/y², was inf for 5.1e300: x/y**2 as one factor, y² = 0)."""
        rest = sp.Mul(*(b ** p for b, p in pairs if p > 0))
        for b, p in pairs:
            for _ in range(-p):
                rest = sp.UnevaluatedExpr(rest / b)
        return rest

    def _far_number(self, m: float) -> str:
        """The factor m (a normal float64) of ``_constant_far``'s constant m·2^k as the helper's argument."""
        return repr(m)

    def _far_call(self, args: list) -> str | None:
        """The backend's call of ``_constant_far`` with the printed arguments m, k, then each factor and its power
        (``_moved_constant``); None where the backend cannot take it (its other helpers do then)."""
        return f"_constant_far({', '.join(args)})"

    def _constant_size(self, c) -> tuple[str, str]:
        """|c| as the printed pair (c, q) of ``_constant_times`` and ``_constant_quotients``: (1, q) for |c| = 1/q, a
        quotient by q, exact where the product is (x/3, not x·0.333…); else (|c| to 20 digits, 1)."""
        a = abs(c)
        if a.is_Rational and a.p == 1:
            return self._print(sp.Integer(1)), self._print(sp.Integer(a.q))
        return self._print(a.evalf(20)), self._print(sp.Integer(1))

    def _moved_call(self, args: list) -> str:
        """The backend's call of ``_constant_times`` with the printed arguments (``_moved_constant``)."""
        return f"_constant_times({', '.join(args)})"

    def _product_call(self, args: list) -> str:
        """The backend's call of ``_constant_product`` with the printed arguments (``_moved_constant``)."""
        return f"_constant_product({', '.join(args)})"

    def _quotients_call(self, args: list) -> str:
        """The backend's call of ``_constant_quotients`` with the printed arguments (``_moved_constant``)."""
        return f"_constant_quotients({', '.join(args)})"

    @staticmethod
    def _erfc_half(e):
        """v where ``e`` is Φ(√2·v) (the erf-complement rule's (1 + erf(v))/2 where SymPy would write erfc(−v)
        back as 2 − erfc(v)), else None. Φ(√2·v) is erfc(−v)/2 exactly, and erfc(−v) needs no √2·v, whose
        rounding erfc turns into 2v²-fold its error: x·(1 + erf(x))/2 was 142 ULP off at x = −20 in float64."""
        if type(e).__name__ != "ndtr" or not isinstance(e.args[0], sp.Mul):
            return None
        root2 = [a for a in e.args[0].args if a == sp.sqrt(2)]
        if len(root2) != 1:
            return None
        return sp.Mul(*[a for a in e.args[0].args if a is not root2[0]])

    def _print_ndtr(self, e):
        v = self._erfc_half(e)
        if v is None:
            return self._print_Function(e)
        return f"(0.5 * {self._print_Function(sp.erfc(-v, evaluate=False))})"

    def _fold(self, template, e):
        out = self._print(e.args[0])
        for a in e.args[1:]:
            out = template.format(out, self._print(a))
        return out

    def _print_Max(self, e):
        return self._fold(self.MAXIMUM, e)

    def _print_Min(self, e):
        return self._fold(self.MINIMUM, e)


def _one_coefficient(terms) -> tuple[list, sp.Expr] | None:
    """(inner terms tᵢ, c) where every term is c·tᵢ or −c·tᵢ for one real constant c with |c| > 1 and tᵢ not a
    number (:meth:`ConditionalPrinting._common_coefficient`, :meth:`ConditionalPrinting._common_coefficient_terms`);
    None otherwise."""
    size, inner = None, []
    for t in terms:
        c, rest = t.as_coeff_Mul()
        if rest.is_number or not (c.is_Number and c.is_extended_real and c.is_finite) or c == 0:
            return None
        if size is None:
            size = abs(c)
        elif abs(c) != size:
            return None
        inner.append(rest if c.is_positive else -rest)
    if size is None or not size > 1:
        return None
    return inner, size
