"""Power rules: rounded-power, common-power, square-sum power, shared-powers, root-difference, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: rounded-power,
mixture-power, common-power, square-sum-power, polynomial-power, root-difference, root-reciprocal, root-of-monomial,
exp-over-power-far, sum-power-cancel, shared-powers, cancelling-polynomial.
"""
from __future__ import annotations

import itertools
import math

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...records import BoundedRecord
from ...special import softplus
from .core import _Final, _Fired, _rewrote, rewrite_nodes, Rule
from .widening import (_atoms, _bottom_up, _KEPT, _ROUNDED, _top_down, _top_down_having, Grouped, ungroup, unwiden, widen,
                       WidenedBase)
from .losses import _constant_plus_square
from .quotients import _as_math, _HOMOGENEOUS_DEGREE, _HOMOGENEOUS_OPERATIONS, _homogeneous_quotient
from .series import _rounded_factors
from .logs import _mixture_power, _POLYNOMIAL_OPERATIONS
from .limits import _DBL_MAX


# ------------------------------------------------------------------ rounded-power (issue 16, session 12): b^γ with γ an
# input and b a sum of rounded functions (the focal loss's (1 − p_t)^γ, 1 − p_t = t·σ(−z) + (1 − t)·σ(z)); tested in
# tests/test_elem12.py

def _rounded_base(p) -> bool:
    """``p`` is b^γ, γ not a number, b a sum holding a rounded function (σ, softplus, e^, log …)."""
    return p.is_Pow and not p.exp.is_number and p.base.is_Add and p.base.has(*_ROUNDED, softplus)


def _input_sum(b) -> bool:
    """``b`` is a sum of numbers, inputs and products and whole powers (|n| ≤ 4) of inputs (1 − u, x + y,
    u·t + (1 − u)·(1 − t), 1 + x/y), at most _POLYNOMIAL_OPERATIONS operations: it rounds as it is formed, and
    the double-word path holds it to about 2⁻¹⁰⁵ of its terms (two-sums, two-products)."""
    if not (isinstance(b, sp.Expr) and b.is_Add and b.free_symbols):
        return False
    operations = 0
    for n in sp.preorder_traversal(b):
        if n.is_Symbol or n.is_Rational:
            continue
        if n.is_Add or n.is_Mul:
            operations += len(n.args) - 1
        elif n.is_Pow and n.exp.is_Integer and 1 <= abs(n.exp) <= 4 and n.base.is_Symbol:
            operations += 1
        else:
            return False
    return operations <= _POLYNOMIAL_OPERATIONS


def _input_power(p) -> bool:
    """``p`` is b^γ, γ not a number (an input, γ − 1), b a rounded sum or product of inputs (:func:`_input_sum`,
    :func:`_rounded_factors`): b's rounding, half an ulp, is γ half-ulps of b^γ."""
    return (isinstance(p, sp.Pow) and not p.exp.is_number and not p.exp.has(WidenedBase)
            and (_input_sum(p.base) or (p.base.is_Mul and _rounded_factors(p.base))))


def _holds_rounded_power(f) -> bool:
    """``f`` is such a power, or the zero-power rule's select of one (1 where γ = 0, b^γ elsewhere)."""
    if isinstance(f, sp.Piecewise):
        return any(_rounded_base(p.expr) for p in f.args)
    return _rounded_base(f)


def _rounded_powers(expr):
    """Every product that holds a :func:`_holds_rounded_power` factor (and every such power outside a product)
    widened, outermost first; a widened node is kept as it is. A power of a rounded sum or product of inputs
    (:func:`_input_power`) widened alone, to first order (doubleword's _dw_pow_first: libm's pow of b's hi, times
    e^(γ·b_lo/b_hi)): the product around it needs nothing more."""
    if not isinstance(expr, sp.Expr):
        return expr
    powers = {p: widen(p, first_order=True) for p in _atoms(expr, sp.Pow) if _input_power(p)}
    if powers:
        expr = expr.xreplace(powers)
    if not any(_rounded_base(p) for p in _atoms(expr, sp.Pow)):
        return expr
    return _top_down(expr, lambda node: widen(node) if node.is_Mul and any(
        _holds_rounded_power(f) for f in node.args) or _rounded_base(node) else None, _KEPT)


ROUNDED_POWER = Rule(
    "rounded-power", "b^γ with γ an input forms b rounded, and e^(γ·log b) magnifies b's rounding γ times (the focal "
    "loss α_t·CE·(1 − p_t)^γ: 682 ULP in float64 at γ = 1035, z = −0.954; its ∂γ, which also holds log(1 − p_t), 467 "
    "at γ = 1e4); the product that holds it is computed as the widen rule computes one (float64 in a float32 kernel; "
    "in a float64 kernel double-word, b^γ as e^(γ·log b) with log b and the product in double-word) and rounded once; "
    "b a sum or product of inputs the same ((u·t + (1 − u)·(1 − t))^g: 480 ULP in float64 at g = 1000, u = 0.3, t = 0, "
    "torch the same; (x + y)^g 770 at g = −2000): b^γ alone, b in double-word and libm's pow of its hi part "
    "times e^(γ·b_lo/b_hi), first order (NumPy; Triton: the double-word e^(γ·log b))",
    apply=_rounded_powers, fired=_rewrote)


# ------------------------------------------------------------------ mixture-power (issue 16, session 18): the focal
# loss's (1 − p_t)^γ and (1 − p_t)^(γ − 1)·CE with γ an input, at t = 1 or 0 where 1 − p_t = σ(∓z) is subnormal or 0;
# tested in tests/test_focal18.py


MIXTURE_POWER = Rule(
    "mixture-power", "(t·σ(−z) + (1 − t)·σ(z))^γ with γ an input or a fraction (the focal loss's (1 − p_t)^γ) is σ(∓z)^γ at "
    "t = 1 or 0, which is subnormal from |z| ≈ 708 and 0 from 745 in float64 where σ(∓z)^γ = e^(−γ·softplus(±z)) is "
    "not (γ < 1); its ∂t and ∂z hold (1 − p_t)^(γ − 1)·CE, ∞·0 there: 6.9e3 ULP at t = 1, z = 720, γ = 1/2, "
    "a wrong finite value at 740, NaN from 750 (torch NaN). There the power is e^(−γ·softplus(±z)) and "
    "(1 − p_t)^(γ − 1)·CE is (1 − p_t)^γ·(CE/(1 − p_t)), CE/(1 − p_t) = softplus(∓z)/σ(∓z), 1 beyond |z| = 40 "
    "where both underflow: one select per power (t ∈ {0, 1}) and one per quotient; z beside the power is clamped "
    "to ±2^1020 (γ ≠ 0): (1 − p_t)^γ·z was 0·∞ = NaN at t = 1, z = +inf", local=_mixture_power)


# ------------------------------------------------------------------ common-power (session 25: the Tweedie deviance's
# ∂μ, 2(μ^−½ − y·μ^−³⁄²), cancels near its optimum μ = y: 1.9e4 ULP at μ = 1.0001, y = 1 in float64, torch 1.1e4);
# tested in tests/test_pow25.py

def _power_part(term, x):
    """(e, rest) with ``term`` = x^e·rest (e a rational number, 0 where x is absent, rest free of x), or None where x
    is in ``term`` otherwise (inside a function, a power of a sum)."""
    e, rest = sp.S.Zero, []
    for f in sp.Mul.make_args(term):
        if f == x:
            e += 1
        elif f.is_Pow and f.base == x and f.exp.is_Rational:
            e += f.exp
        elif f.has(x):  # (x an input, or a sum: the sum-power-cancel rule's)
            return None
        else:
            rest.append(f)
    return e, sp.Mul(*rest)


def _common_power_of(node, x):
    """:func:`_common_power` of the sum ``node`` for the one input ``x``, or None."""
    parts = [_power_part(t, x) for t in node.args]
    if any(p is None for p in parts):
        return None
    # the terms free of x stay outside (y − x^(−7/10), a target against one power, is the widen rule's)
    apart = sp.Add(*[r for e, r in parts if e == 0])
    parts = [(e, r) for e, r in parts if e != 0]
    powers = {e for e, _ in parts}
    low, high = min(powers), max(powers)
    # two powers at least, one of them fractional (a polynomial is left as written, and a sum of whole powers such
    # as gaussian_nll's 1/v − (p − t)²/v² is the one-denominator and scaled-square rules': taken here first, it lost
    # their forms, tests/test_rules9.py, tests/test_nll15.py), terms that may cancel: coefficients of both signs, or
    # another input in a term (y·μ^(−3/2), of either sign)
    if len(powers) < 2 or all(e.is_Integer for e in powers):
        return None
    if len({r.could_extract_minus_sign() for _, r in parts}) < 2 and not any(r.free_symbols for _, r in parts):
        return None
    inner = sp.Add(*[r * x ** (e - low) for e, r in parts])
    factored = x ** low * Grouped(inner) + apart
    if sp.expand(x ** low * inner + apart - node) != 0:  # the exactness proof: the same sum, multiplied out
        return None
    # within 2^±⌊120/m⌋ every power formed (x^low, x^(high − low) in the sum, and the written x^e) is a normal
    # float32; outside, the written sum (the power-quotient rule's stepwise divisions where |x| is large). An inner
    # sum linear in x is divided by x stepwise instead, at every |x| where its terms differ in sign (below): no
    # bound, and no x^low (a pow) beside the written sum's: the cost of the written form (0.026 CPU s per 10⁶
    # points for the Tweedie deviance in float64, as before; the select of three branches took 0.033)
    m = max(abs(low), abs(high), high - low)
    bound = sp.Integer(2) ** int(sp.floor(120 / m))
    near = (sp.Abs(x) > sp.Float(1 / bound, 17)) & (sp.Abs(x) < bound)
    far = _stepwise_power(inner, x, low, high) if apart == 0 else None
    if far is None:
        return _Final(sp.Piecewise((factored, near), (node, True)))
    return _Final(sp.Piecewise(far, (node, True)))


def _stepwise_power(inner, x, low, high):
    """(x^low·inner as (…((k·P)/x)/…)/√x, where P's two terms have opposite signs) for a select (inner = k·P, k its
    whole content, P = a·x + b primitive), or None: where inner is linear in x (high − low = 1) and low a negative
    integer or half-integer ≥ −8. Past the common-power rule's bounds x^low leaves float32's normal range, and the
    written sum cancels (the Tweedie deviance's ∂μ = 2(μ − y)/μ^(3/2) near μ = y past 2⁸⁰: 4.4e6 ULP in float64 at
    μ = 1e30, torch the same); a·x + b (μ − y) cancels exactly by Sterbenz where its terms are close, and each
    division rounds once, no partial result outside the range spanned by P and the result (|x| ≥ 1 makes them
    shrink, |x| < 1 grow). Where the terms have one sign nothing cancels (and a·x + b may overflow: the Tweedie
    deviance's 4μ + 4y at μ = 1.7e308, y = 1.6e308): the written sum there."""
    if high - low != 1 or not (2 * low).is_Integer or not -8 <= low < 0:
        return None
    k, primitive = inner.as_content_primitive()
    a, b = primitive.coeff(x, 1), primitive.coeff(x, 0)
    if not a.is_Number or a == 0 or b == 0 or sp.expand(a * x + b - primitive) != 0:
        return None
    scaled = primitive
    for _ in range(int(-sp.ceiling(low))):
        scaled = Grouped(scaled / x)
    if not low.is_Integer:
        scaled = Grouped(scaled / sp.sqrt(x))
    scaled = k * Grouped(scaled) if k != 1 else scaled
    if sp.expand(scaled.doit() - x ** low * inner) != 0:  # the exactness proof: the divisions are x^low·inner
        return None
    return scaled, sp.sign(a) * sp.sign(x) * sp.sign(b) < 0


def _common_power(node):
    """Σ c_i·x^e_i·r_i (x an input, e_i rational and nonzero, two of them differ and one is fractional,
    r_i free of x, terms that may cancel; terms free of x kept beside) → x^e_min·(Σ c_i·r_i·x^(e_i − e_min)) where
    |x| is within 2^±⌊120/m⌋ (m the largest of |e_min|, |e_max|, e_max − e_min): each term rounds x^e_i by an ulp of its own size and the sum cancels where
    the terms are opposite (2μ^−½ − 2y·μ^−³⁄² near μ = y), the inner sum of whole or smaller powers is a polynomial in
    x (2μ − 2y: exact by Sterbenz near μ = y) that the widen rule computes in double words where it is a hazard,
    and x^e_min one rounding. None for any other node."""
    if not node.is_Add or len(node.args) < 2:
        return None
    for x in sorted(node.free_symbols, key=sp.default_sort_key):
        if x.is_Symbol:
            found = _common_power_of(node, x)
            if found is not None:
                return found
    return _common_power_cofactor(node)


def _common_power_cofactor(node):
    """K·Σ c_i·x^e_i·r_i, a factor K that holds x common to every term (the distribute rule multiplied it in: ∂u of
    log(4√u − 8√v + 4v/√u + 1) = 2(1 − v/u)/(√u·T) became 2/(√u·T) − 2v/(u^(3/2)·T), T the log's argument; 1.1e18 ULP
    at u ≈ v ≈ 9e296, ∞ at 5.6e−233 where u^(3/2) underflows, 2 ULP at (1e100, 2.5e99), torch 1.5e5 / 2.5e9 / 0.21)
    → K times :func:`_common_power_of` the sum without it; None where no such K or that sum has no form."""
    shared = set(sp.Mul.make_args(node.args[0]))
    for term in node.args[1:]:
        shared &= set(sp.Mul.make_args(term))
    shared = [f for f in shared if not f.is_number and not (f.is_Symbol or f.is_Pow and f.base.is_Symbol)]
    if not shared:
        return None
    K = sp.Mul(*shared)
    inner = sp.Add(*[sp.Mul(*[f for f in sp.Mul.make_args(t) if f not in shared]) for t in node.args])
    if not inner.is_Add or sp.expand(K * inner - node) != 0:
        return None
    for x in sorted(inner.free_symbols, key=sp.default_sort_key):
        found = _common_power_of(inner, x) if x.is_Symbol else None
        if found is not None:
            return _Final(_cofactor_first(K, found.expr, inner))
    return None


def _cofactor_first(K, select, inner):
    """K·select, K taken into the innermost sum of the select's first branch where that is the stepwise form
    (((K·P)/x)/…)/√x: the partial results then lie between K·P and the result, as they lay between P and the
    result (K·((P/u)/√u) overflowed at u = 1.7e−247, v = 5.1e−48 in the log's ∂u: P/u/√u past the largest float,
    K = 2/T below 1e−75; torch −2.98e246); K times the whole select where it is not."""
    first, cond = select.args[0]
    innermost = [g for g in sp.preorder_traversal(first) if isinstance(g, Grouped) and not g.args[0].has(Grouped)]
    sums = [f for f in sp.Mul.make_args(innermost[0].args[0]) if f.is_Add] if len(innermost) == 1 else []
    if len(sums) != 1:
        return K * select
    taken = first.xreplace({sums[0]: Grouped(K * sums[0])})
    plain = ungroup
    if sp.expand(plain(taken) / K - inner) != 0:
        return K * select  # the exactness proof
    return sp.Piecewise((taken, cond), *[(K * e, c) for e, c in select.args[1:]])


COMMON_POWER = Rule(
    "common-power", "a sum Σ c_i·x^e_i·r_i of powers of one input x (r_i free of x; two exponents differ, one of them "
    "fractional; whole powers are the one-denominator rule's) rounds each power by an ulp of its own size, so where "
    "the terms cancel every digit may "
    "go (the Tweedie deviance's ∂μ = 2(μ^−½ − y·μ^−³⁄²) near μ = y: 1.9e4 ULP at μ = 1.0001, y = 1 in float64, "
    "torch 1.1e4); x^e_min·(Σ c_i·r_i·x^(e_i − e_min)) is the same sum (multiplied out: symbolically equal), its "
    "inner sum a polynomial in x that cancels exactly or in the widen rule's double words (2μ − 2y: exact by "
    "Sterbenz), x^e_min rounded once; taken where |x| is within 2^±⌊120/m⌋ (m the largest of |e_min|, |e_max|, "
    "e_max − e_min: no power formed leaves float32's normal range there), the written sum outside; where the "
    "inner sum is linear in x with terms of opposite signs and e_min a negative (half-)integer, that sum divided by "
    "x stepwise instead, a half power last by √x, at every |x| (the Tweedie ∂μ = 2((μ − y)/μ)/√μ; past 2⁸⁰ the "
    "bounded form left the written sum, 4.4e6 ULP in float64 at μ = 1e30, y = 1.0000001e30, torch the same); a "
    "factor K common to every term taken out first and into the stepwise form's innermost sum, ((K·(μ − y))/μ)/√μ "
    "(∂u of log(Tweedie + 1), 1/T multiplied into each term: 1.1e18 ULP near u = v ≈ 9e296, torch 1.5e5)",
    local=_common_power)


# ------------------------------------------------------------------ square-sum power (issue 16: x·(1 + x²)^a squares x
# in the kernel's dtype: float32 f inf at x = 1e20 for 1e32, ∂ NaN (inf/inf) from 1.8e19; float64 from 1.3e154)

_SQUARE_SUM_FROM = 2 ** 60  # |v| from which v² is not formed (v² < 1.4e36: finite in float32; v⁻² ≥ 2⁻¹²⁰ normal)


def _square_sum_parts(f):
    """(v, w, c, a) where f = (c + w·v²)^a with v a symbol, w > 0 and c ≠ 0 numbers (c < 0: (x² − 1)^0.3) and a a
    non-integer number other than ±1/2 (the hypot rule's), a Float as the fraction it is written as (0.3 → 3/10);
    else None."""
    if not (f.is_Pow and f.base.is_Add and f.exp.is_number and not f.exp.is_Integer):
        return None
    a = sp.nsimplify(f.exp, rational=True) if f.exp.is_Float else f.exp
    if not a.is_Rational or a in (sp.S.Half, -sp.S.Half):
        return None
    parts = _constant_plus_square(f.base, signed=True)
    if parts is None or not parts[2].is_Symbol:
        return None
    const, w, v = parts
    return v, w, const, a


def _as_written(e):
    """A number as the fraction it is written as (0.3 → 3/10, 4.2 → 21/5): sums of them cancel exactly."""
    return sp.nsimplify(e, rational=True) if e.is_Float else e


def _square_sum_terms(node, v):
    """(c, w, B, [(n, k, e)]) where the sum ``node`` is Σ n·v^k·B^e over its terms: n a number, k an integer, B =
    c + w·v² one base for all (c ≠ 0, w > 0 numbers; e = 0 in a term without it), every two e differing by an
    integer (numbers as the fractions they are written as); None for any other node, or where no term holds B."""
    if not node.is_Add:
        return None
    found, terms = None, []
    for t in node.args:
        n, k, e = sp.S.One, 0, None
        for f in sp.Mul.make_args(t):
            if f.is_Number:
                n *= _as_written(f)
            elif f == v:
                k += 1
            elif f.is_Pow and f.base == v and f.exp.is_Integer:
                k += int(f.exp)
            else:
                base, exp = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
                parts = _constant_plus_square(base, signed=True) if exp.is_number and e is None else None
                if parts is None or parts[2] != v or found is not None and found[2] != base:
                    return None
                found, e = (parts[0], parts[1], base), _as_written(exp)
        terms.append((n, k, sp.S.Zero if e is None else e))
    if found is None or not all(e.is_Rational and (e - terms[0][2]).is_Integer for _, _, e in terms):
        return None
    return found + (terms,)


def _collected(c, w, terms, v):
    """(e₀, Q): Σ n·v^k·(c + w·v²)^e = (c + w·v²)^e₀·Q, e₀ the least e, Q = Σ n·v^k·(c + w·v²)^(e − e₀) multiplied
    out in rationals (terms that cancel are gone: −x³·B^(−5/2) + x·B^(−3/2) = 2x·B^(−5/2) with B = 2 + x²), a
    polynomial in v and 1/v."""
    e0 = min(e for _, _, e in terms)
    return e0, sp.expand(sp.Add(*[n * v ** k * (c + w * v ** 2) ** int(e - e0) for n, k, e in terms]))


def _leading(q, v):
    """(n, q/vⁿ) for a polynomial ``q`` in v and 1/v: n its highest power of v (0 for q = 0), q/vⁿ the sum of
    q_j·v^(j − n)."""
    pairs = [t.as_coeff_exponent(v) for t in sp.Add.make_args(q)]
    n = max((int(j) for _, j in pairs), default=0)
    return n, sp.Add(*[q_j * v ** (int(j) - n) for q_j, j in pairs])


def _square_sum_collect(node):
    """Σ n·v^k·B^e → B^e₀·Q (:func:`_collected`) for a sum of one symbol v with some e not an integer, where the
    leading powers of v in its terms cancel (Q of a lower degree than the terms': −x³·(2 + x²)^(−5/2) +
    x·(2 + x²)^(−3/2), the ∂ of x³·(2 + x²)^(−3/2), is 2x·(2 + x²)^(−5/2)); None elsewhere (the written sum does not
    cancel at large v; one of integer powers alone is the rational-function rule's)."""
    if not node.is_Add or not any(f.is_Pow and f.base.is_Add and f.exp.is_number and not f.exp.is_Integer
                                  for t in node.args for f in sp.Mul.make_args(t)):
        return None  # (every sum of every kernel comes here: the cheap test first)
    if len(node.free_symbols) != 1:
        return None
    (v,) = node.free_symbols
    found = _square_sum_terms(node, v) if v.is_Symbol else None
    if found is None or all(e.is_Integer for _, _, e in found[3]):
        return None
    c, w, base, terms = found
    e0, q = _collected(c, w, terms, v)
    if q != 0 and _leading(q, v)[0] >= max(k + 2 * int(e - e0) for _, k, e in terms):
        return None
    return _Fired(base ** e0 * q, ["square-sum-power"])


def _square_sum_power(node, v, edge=_SQUARE_SUM_FROM):
    """v^k·(c + w·v²)^a·R → |v|^(k + 2a)·(w + c·v⁻²)^a·R (v^k: sign(v)·|v|^k for odd k; w^a for the last power
    where |c|/w ≤ 2⁶⁰), the form taken where |v| ≥ 2⁶⁰: v² (and v^k) overflow there where the result need not
    (x·(1 + x²)^0.3 at x = 1e20 in float32: 1e32; its ∂ 0.6·x²/(1 + x²)^0.7 inf/inf = NaN), c·v⁻² underflows
    harmlessly. A factor of R that is a sum Σ n·v^k·B^e of that base is taken in too, as B^e₀·vⁿ·(Q/vⁿ)
    (:func:`_collected`; Q/vⁿ = q_n + q_(n−1)/v + …, which does not cancel there): the terms' far forms cancel
    where their leading powers do (the ∂ of x³·(2 + x²)^(−3/2): 3/x − 3/x = 0 for 6/x³) and overflow or underflow
    where the sum does not (the ∂ of x·(1 + 3x²)^(−0.7): x²·(1 + 3x²)^(−1.7) at x = 1e100). Every such power in
    the product is taken, of one base or several (one constant each), with every power of v: one power of |v| per
    product. None where ``node`` holds no such power of the symbol ``v``. ``edge``: the least |v| the form is taken
    at (:func:`_far_edge`)."""
    # (a widened sum of such powers is taken as its sum: its far form does not cancel)
    factors = [f.expanded if isinstance(f, WidenedBase) and _square_sum_terms(f.expanded, v) else f
               for f in sp.Mul.make_args(node)]
    # every power of such a base, each base its own constant (x²'s two powers in (1 + x²)^0.3·(2 + x²)^0.4's ∂)
    powers = {f.base: parts for f in factors for parts in [_square_sum_parts(f)] if parts and parts[0] == v}
    sums = {f: found for f in factors for found in [_square_sum_terms(f, v)] if found}
    exponents = {base: parts[3] for base, parts in powers.items()}  # B → its exponent, sums' e₀ added below
    if not powers and sums:
        exponents[next(iter(sums.values()))[2]] = sp.S.Zero
    if not exponents:
        return None
    constants = {base: (parts[2], parts[1]) for base, parts in powers.items()}  # B → (c, w)
    constants.update({found[2]: found[:2] for found in sums.values()})
    k, others = 0, []
    for f in factors:
        if f.is_Pow and f.base in powers:
            continue
        if f == v:
            k += 1
        elif f.is_Pow and f.base == v and f.exp.is_Integer:
            k += int(f.exp)
        elif f in sums and sums[f][2] in exponents:
            base = sums[f][2]
            e0, q = _collected(*constants[base], sums[f][3], v)
            n, scaled = _leading(q, v)
            exponents[base] += e0
            k += n
            others.append(Grouped(scaled) if scaled.is_Add else scaled)
        else:
            others.append(f)
    if not powers and all(a.is_Integer for a in exponents.values()):
        return None  # a rational function's (the rational-function rule's)
    # one power of |v| (v·|v|^(k − 1 + 2a) overflowed the power where k − 1 + 2a < 0: ∂ of (2 + 3x²)^(−2/3) at 1e100);
    # an integer exponent as a float (SymPy writes |v|^(−3) as |v|/v⁴, and v⁴ overflows at 1e100 for 1e−300), a
    # negative one kept a factor (the printers make c·|v|^(−1.4) a quotient c/|v|^1.4, whose divisor overflows where
    # the power is subnormal: 0 for 1e−315 at 1e225)
    e = k + 2 * sum(exponents.values())
    # past the edge E, |c|·v⁻²/w ≤ 2⁻⁶⁰ where |c|/w ≤ E²·2⁻⁶⁰ (2⁶⁰ at E = 2⁶⁰): (w + c·v⁻²)^a is w^a to a·2⁻⁶⁰
    # relative (1/128 ULP in float64), a constant, and one fractional power per element instead of three
    # (x·(1 + x²)^0.3 and its ∂)
    rest = sp.Mul(*[w ** a if abs(c) / w <= sp.Rational(edge) ** 2 / _SQUARE_SUM_FROM else Grouped(w + c / v ** 2) ** a
                    for base, a in exponents.items() for c, w in [constants[base]]])
    if e.is_Integer and -_SQUARE_SUM_DIVISIONS <= e < 0:
        return _divided_by_powers(sp.Mul(*others) * (sp.sign(v) if k % 2 else 1), rest, sp.Abs(v), -int(e), exponents,
                                  constants)
    size = sp.Abs(v) ** (sp.Float(e) if e.is_Integer and e != 0 else e)
    size = Grouped(size) if e < 0 else size
    size = size if k % 2 == 0 else sp.sign(v) * size
    return sp.Mul(*others) * size * rest


# the most divisions by |v| the far form takes one at a time (each rounds: at most n/2 ULP more than |v|^−n's one)
_SQUARE_SUM_DIVISIONS = 4


def _divided_by_powers(front, rest, size, n, exponents, constants):
    """front·rest/sizeⁿ as n divisions by size (|v| ≥ 2 in the far form), each one a quotient no larger than the one
    before: nothing underflows before the result does. sizeⁿ's reciprocal as one power was subnormal where y scales it
    back (∂x of x·y/√(3x² + 1), y·|x|⁻³·3^(−3/2): |x|⁻³ = 6.7e−310 at x = −1.1435e103, y = −639.5, 11.2 ULP in
    float64; float32 19.2 at (1.449e13, 9134.3); session 34's found34). ``rest`` (≈ Π w^a there) first where it is at
    most 1, last otherwise (times a quotient below it: front·rest would overflow first where front is near the top)."""
    limit = sp.Mul(*[constants[base][1] ** a for base, a in exponents.items()])
    small = abs(float(limit)) <= 1
    out = front * rest if small else front
    for _ in range(n):
        out = Grouped(out / size)
    return out if small else out * rest


def _never_far(cond, v, edge) -> bool:
    """Whether the select condition ``cond`` is false wherever |v| ≥ ``edge``: |v − r| < h (a root-series window
    about r, as that rule writes v − r) with |r| + h ≤ edge/2."""
    if not (isinstance(cond, sp.StrictLessThan) and isinstance(cond.lhs, sp.Abs) and cond.rhs.is_number):
        return False
    d = sp.expand(cond.lhs.args[0].doit())
    r = d - v
    return r.is_number and abs(float(r)) + abs(float(cond.rhs)) <= edge / 2


def _far_edge(expr, v) -> int:
    """The least |v| where the square-sum-power select takes its far form: 2⁶⁰ (v² < 2¹²⁰, finite in float32), lower
    where a power of v or of c + w·v² in ``expr`` leaves float32's range first, 2^⌊120/|m|⌋ for v^m and (c + w·v²)^(m/2)
    (x³·(2 + x²)^(−3/2): x³ inf and (2 + x²)^(−3/2) 0 in float32 from 7e12, NaN, for 1; at least 2)."""
    t = 60
    for p in _atoms(expr, sp.Pow):
        parts = _square_sum_parts(p)
        m = 2 * parts[3] if parts and parts[0] == v else p.exp if p.base == v and p.exp.is_Integer else 0
        if m:
            t = min(t, max(1, int(120 / abs(m))))
    return 2 ** t


def _square_sums_scaled(expr, v, edge=_SQUARE_SUM_FROM):
    """``expr`` with every product, power or sum that :func:`_square_sum_power` rewrites in ``v`` rewritten (top
    down: a product takes its power of v with it; grouped nodes kept). A widened sum it rewrites is taken unwidened
    (its far form does not cancel); a widened node it does not is kept; a select's branches that |v| ≥ ``edge``
    never takes (a root-series window about its root) are left out."""
    if not isinstance(expr, sp.Basic) or expr.is_Atom or isinstance(expr, sp.UnevaluatedExpr):
        return expr
    if isinstance(expr, WidenedBase):
        body = expr.expanded
        found = _square_sum_power(body, v, edge) if body.is_Add or body.is_Mul else None
        return expr if found is None else found
    if isinstance(expr, sp.Piecewise):
        pieces = [(e, c) for e, c in expr.args if not _never_far(c, v, edge)]
        if len(pieces) < len(expr.args) and pieces:
            return _square_sums_scaled(sp.Piecewise(*pieces), v, edge)
    if expr.is_Mul or expr.is_Pow or expr.is_Add:
        found = _square_sum_power(expr, v, edge)
        if found is not None:
            return found
    args = [_square_sums_scaled(a, v, edge) for a in expr.args]
    return expr if all(n is o for n, o in zip(args, expr.args)) else expr.func(*args)


def _square_sum_powers(expr):
    """``expr`` → Piecewise((``expr`` with its square-sum powers in v scaled, |v| ≥ 2⁶⁰), (``expr``, True)), for each
    symbol v of such a power (nested, in name order): one select on the whole output, not one a product, so that
    its written branch is the formula as written and its scaled branch a far one (|v| ≥ 2⁶⁰), which the NumPy
    emitter computes only on the elements that take it (elementwise.far_branches) and the Triton emitter only in a
    block holding one: the written form costs what it did without the rule (x·(1 + x²)^0.3 and its ∂, 10⁶ points:
    both branches everywhere took 0.021 CPU s for 0.012 float64, 0.011 for 0.005 float32, session 22)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Pow):
        return expr
    symbols = sorted({parts[0] for p in _atoms(expr, sp.Pow) for parts in [_square_sum_parts(p)] if parts},
                     key=sp.default_sort_key)
    for v in symbols:
        edge = _far_edge(expr, v)
        far = _square_sums_scaled(expr, v, edge)
        if far != expr:
            expr = sp.Piecewise((far, sp.Abs(v) >= edge), (expr, True))
    return expr


SQUARE_SUM_POWER = Rule(
    "square-sum-power", "(c + w·x²)^a with a fractional (not ±1/2: hypot) forms x², which overflows for |x| > "
    "1.8e19 in float32 (1.3e154 in float64) where the power need not: x·(1 + x²)^0.3 is inf at x = 1e20 in float32 "
    "for 1.0e32, its ∂ (1 + x²)^0.3 + 0.6·x²/(1 + x²)^0.7 NaN (inf/inf) from 1.8e19; torch inf and NaN there. "
    "|x|^(2a)·(w + c·x⁻²)^a, with a power x^k beside it folded in as |x|^(k + 2a), for |x| ≥ 2⁶⁰ (from "
    "2^k, k = 120/m rounded down, where x^m or (c + w·x²)^(m/2) leaves float32 first: x³·(2 + x²)^(−3/2) NaN from 5e17 in float32; c·x⁻² "
    "underflows harmlessly; (w + c·x⁻²)^a is the constant w^a there where |c|/w ≤ 2⁶⁰; c < 0 too: (x² − 1)^0.3); "
    "the written form below, where it was measured. A sum of such powers of one base (the ∂ of x^k·(c + w·x²)^a) "
    "is B^e₀·Q there, Q multiplied out in rationals (the ∂ of x·(1 + 3x²)^(−0.7), (1 + 3x²)^(−1.7)·(1 − 6x²/5): "
    "|x|^(−1.4)·3^(−1.7)·(x⁻² − 6/5); NaN from 1e155 before, the root-series rule's widened sum), and so "
    "everywhere where the terms' leading powers cancel (the ∂ of x³·(2 + x²)^(−3/2), 3x²·(2 + x²)^(−3/2) − "
    "3x⁴·(2 + x²)^(−5/2) = 6x²·(2 + x²)^(−5/2): 27 ULP at x = 30, 0 at 1e10 for 6e−30 before). A far power "
    "|x|^(−n), n ≤ 4 an integer, is n divisions by |x| of the other factors, none smaller than the result (y·|x|⁻³ formed "
    "|x|⁻³ subnormal where y scales it back: ∂x of x·y/√(3x² + 1) 11.2 ULP at (−1.1435e103, −639.5) before)",
    apply=_square_sum_powers, fired=_rewrote, local=_square_sum_collect)


# ------------------------------------------------------------------ polynomial-power (session 26: (x² + x⁴)^0.3 and its
# derivative 3x(2x² + 1)/(5(x⁴ + x²)^(7/10)) leave the range where a term of a sum does and the result does not:
# ∂ 0 at x = 1e100 in float64 (true 1.2e20), inf at 1e−200 (true 6e79); float32 ∂ 0 at x = 1e10, inf at 1e−30;
# torch the same); tested in tests/test_pow26.py

def _polynomial_factor(f, x):
    """(P as a Poly in x, k) for a factor ``f`` = P^k of a product (P a polynomial in x with numeric coefficients of
    one sign, or x itself; k a rational number), or None."""
    base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
    if not k.is_Rational or base.free_symbols != {x} or not (base == x or base.is_Add):
        return None
    try:
        poly = sp.Poly(base, x)
    except sp.PolynomialError:
        return None
    coefficients = poly.coeffs()
    # one sign (x² + x⁴, 1 + 2x²): the rule moves the range, not a cancellation (x² − x⁴ near |x| = 1 as written)
    if not poly.domain.is_Numerical or len({c > 0 for c in coefficients}) > 1:
        return None
    return poly, k


def _power_branch(c, factors, x, low):
    """c·∏ P_j^k_j with each P_j = x^d_j·Q_j (d_j its lowest degree where ``low``, its highest otherwise) as
    c·sign(x)^s·|x|^E·∏ Q_j^k_j (E = Σ d_j·k_j, s the parity of Σ d_j·k_j over whole k_j), Q_j grouped; None where
    some x^d_j with a fractional k_j may be negative (d_j odd)."""
    E, s, rest = sp.S.Zero, 0, []
    for poly, k in factors:
        degrees = [m[0] for m in poly.monoms()]
        d = min(degrees) if low else max(degrees)
        if not k.is_Integer and d % 2:
            return None
        E += d * k
        if k.is_Integer:
            s += d * k
        q = sp.expand(poly.as_expr() / x ** d)
        if q != 1:
            rest.append(Grouped(q) ** k if k != 1 else Grouped(q))
    power = sp.Abs(x) ** E if E != 0 else sp.S.One
    return c * (sp.sign(x) if s % 2 else 1) * power * sp.Mul(*rest)


def _same_number(new, old, x, points) -> bool:
    """``new`` and ``old`` agree to 1e−40 (relative) at each of ``points`` in mpmath at 60 digits: the exactness
    check of a rewrite SymPy cannot simplify (powers of sums of powers)."""
    import mpmath

    f, g = (sp.lambdify(x, _as_math(e), "mpmath") for e in (new, old))
    with mpmath.workdps(60):
        for v in points:
            try:
                a, b = f(mpmath.mpf(v)), g(mpmath.mpf(v))
            except (ZeroDivisionError, ValueError, TypeError):
                return False
            gap = abs(a - b)
            if not (mpmath.isfinite(gap) and gap <= mpmath.mpf("1e-40") * abs(b)):  # NaN: not shown equal
                return False
    return True


def _polynomial_power_node(node):
    """c·∏ P_j^k_j (one input x; each P_j a polynomial in x with coefficients of one sign or x itself, k_j rational,
    one P_j a sum of two or more degrees under a fractional power) → Piecewise((the form with each P_j's lowest power of x taken out, |x| < 1),
    (the form with its highest taken out, True)), or None. x^d·Q^k·…: one power |x|^E for all the powers of x
    (x·|x|^(−1.4) is |x|^(−0.4), not inf·0 or 0·inf), and each Q_j has a constant term of the largest size on its
    side of 1, so no sum leaves the range where the result is in it."""
    if not (node.is_Mul or node.is_Pow) or len(node.free_symbols) != 1:
        return None
    (x,) = node.free_symbols
    if not x.is_Symbol:
        return None
    c, rest = node.as_coeff_Mul()
    factors = [_polynomial_factor(f, x) for f in sp.Mul.make_args(rest)]
    if any(f is None for f in factors):
        return None
    if not any(not k.is_Integer and len({m[0] for m in p.monoms()}) > 1 for p, k in factors):
        return None
    small, large = (_power_branch(c, factors, x, low) for low in (True, False))
    if small is None or large is None:
        return None
    if not (_same_number(small, node, x, (0.3, -0.77, 1e-3, -0.61))
            and _same_number(large, node, x, (1.5, -7.25, 1e3, -33.0))):
        return None
    return sp.Piecewise((small, sp.Abs(x) < 1), (large, True))


def _polynomial_powers(expr):
    """Every outermost :func:`_polynomial_power_node` in ``expr`` (top down); widened and series nodes and conditions
    left as they are."""
    from ..roots import SeriesBase

    return _top_down_having(expr, sp.Pow, _polynomial_power_node, _KEPT + (SeriesBase, sp.Piecewise),
                            exprs_only=False)


POLYNOMIAL_POWER = Rule(
    "polynomial-power", "a product of powers of polynomials in one input x, one a sum of two degrees under a "
    "fractional power ((x² + x⁴)^0.3, its derivative 3x(2x² + 1)/(5(x⁴ + x²)^(7/10))), forms x⁴ (inf from |x| = "
    "1.2e77 in float64, 1.8e19 in float32) and x^−1.4 (inf below 1e−220, 1.8e−28) where the result is normal: ∂ 0 "
    "at x = 1e100 in float64 (true 1.2e20), inf at 1e−200 (true 6e79); float32 0 at 1e10, inf at 1e−30, torch the "
    "same; below |x| = 1 each polynomial's lowest power of x is taken out, from 1 on its highest, all of them merged "
    "into one |x|^E (x² + x⁴ = x²·(1 + x²): |x|^0.6·(1 + x²)^0.3 and |x|^1.2·(1 + x^−2)^0.3), the polynomials left "
    "with a constant term the largest of their terms; checked in mpmath at 60 digits on both sides of 0 and 1",
    apply=_polynomial_powers, fired=_rewrote)


# ------------------------------------------------------------------ root-difference (issue 16, session 29: a sum of
# half-integer powers of two inputs that vanishes where √u = c·√v, the hand-written Tweedie deviance at p = 3/2);
# tested in tests/test_soft29.py

_LARGEST = sp.Float("1.7976931348623157e308")


def _half_power_monomial(term, inputs) -> bool:
    """term = c·∏ x^e (c a number, x among ``inputs``, every e a multiple of 1/2)."""
    c, rest = term.as_independent(*inputs, as_Add=False)  # c may be irrational: √2·√u − √v (h-hostile29b)
    for base, e in rest.as_powers_dict().items():
        if base not in inputs or not e.is_Rational or not (2 * e).is_Integer:
            return False
    return c.is_number


def _root_form(terms, u, v):
    """The factored form of Σ terms (half-integer powers of u and v) as :func:`_root_difference` writes it, and its
    degree in (√u, √v) where it is homogeneous (None elsewhere); None where the sum has no vanishing root factor or
    another factor that may cancel."""
    node = sp.Add(*terms)
    if all(e.is_Integer for t in terms for e in t.as_independent(u, v, as_Add=False)[1].as_powers_dict().values()):
        return None  # whole powers: the one-denominator and rational-function rules'
    s, t = sp.symbols("_s _t", positive=True)
    squared = sp.expand(node.xreplace({u: s ** 2, v: t ** 2}))
    numerator, denominator = sp.fraction(sp.together(squared))
    coefficient, factors = sp.factor_list(numerator, s, t)
    roots, kept = [], []
    for q, k in factors:
        poly = sp.Poly(q, s, t)
        a, b = poly.coeff_monomial(t), poly.coeff_monomial(s)
        if poly.total_degree() == 1 and len(poly.terms()) == 2 and a != 0 and b != 0 and a * b < 0:
            sign = 1 if a > 0 else -1
            alpha, beta = sign * a, -sign * b  # q = sign·(α·t − β·s), α, β > 0
            if not ((alpha ** 2).is_Rational and (beta ** 2).is_Rational):
                return None  # α²·v − β²·u with an irrational α² (π·√u − √v) would round the constant
            coefficient *= sign ** k
            roots.append([alpha, beta, k])
            continue
        signs = {c > 0 for c in poly.coeffs()}
        even = all(m % 2 == 0 for ms in poly.monoms() for m in ms)  # a polynomial in u and v (5u − v of ∂u √u(u − v)²)
        if not all(c.is_Rational for c in poly.coeffs()) or len(signs) != 1 and not even:
            return None  # a factor that may cancel where it is not a polynomial in the inputs (s² − 3st + t²)
        if signs == {False} and not even:
            q, coefficient = -q, coefficient * (-1) ** k  # a negative factor: its sign taken out
        kept.append([sp.Poly(q, s, t), k])  # positive for s, t > 0 (u + √(uv) + v of u^1.5 − v^1.5), or in u and v
    if not roots or any(e > 1 for e in sp.Poly(denominator, s, t).monoms()[0]) or not denominator.is_Mul \
            and not denominator.is_Symbol and denominator != 1:
        return None  # a power of an input below (∂μ = 2(μ − y)(√μ + √y)/μ^(3/2)·…: μ^(3/2) overflows past 10²⁰⁵,
        # where the common-power rule's ((μ − y)/μ)/√μ divides step by step)
    back = {s: sp.sqrt(u), t: sp.sqrt(v)}
    paired = []  # (α·t − β·s)·(α·t + β·s) = α²·v − β²·u, exact near the root: √u(u − v)² = s(s − t)²(s + t)²
    for root in roots:
        alpha, beta, k = root
        for q in kept:
            if q[1] and q[0] == sp.Poly(alpha * t + beta * s, s, t) or q[1] and q[0] == sp.Poly(
                    (alpha * t + beta * s) / alpha, s, t):
                scale = q[0].coeff_monomial(t) / alpha  # q = scale·(α·t + β·s)
                m = min(k, q[1])
                coefficient *= scale ** m
                paired.append((alpha ** 2 * v - beta ** 2 * u, m))
                root[2], q[1] = k - m, q[1] - m
                break
    form = coefficient * sp.Mul(*[Grouped(d) ** m for d, m in paired]) \
        * sp.Mul(*[Grouped((alpha ** 2 * v - beta ** 2 * u) / (alpha * sp.sqrt(v) + beta * sp.sqrt(u))) ** k
                   for alpha, beta, k in roots if k])
    form = form * sp.Mul(*[q.as_expr() ** k for q, k in kept if k]).xreplace(back) / denominator.xreplace(back)
    plain = ungroup(form)
    if sp.cancel(sp.expand(plain.xreplace({u: s ** 2, v: t ** 2})) - squared) != 0:
        return None  # not exact: keep the written form
    homogeneous = all(q.is_homogeneous for q, k in kept if k)  # roots and denominator: homogeneous
    degree = (2 * sum(m for _, m in paired) + sum(k for _, _, k in roots) + sum(q.total_degree() * k for q, k in kept)
              - sp.Poly(denominator, s, t).total_degree()) if homogeneous else None
    top = None  # a cofactor's product with the difference before the division by its roots' sum (√u·(u − v)) may
    # overflow where the result does not: s and t kept below 2^(1000/(n + 1)), n the numerator's degree (u − √(uv)
    # at (1e300, 1): −inf for 1e300 otherwise); the form without cofactors is the session-29 one (powers of quotients)
    if any(k for _, k in kept) or paired:
        top = sp.Integer(2) ** (2000 // (sp.Poly(numerator, s, t).total_degree() + 1))
    return form, degree, top


_ROOT_TINY = sp.Integer(2) ** -400  # both inputs below it: the form at 2⁶⁰⁰·u, 2⁶⁰⁰·v, times 2^(−300·degree)
_ROOT_SCALE = 600


def _root_difference(node, fallback=None):
    """Σ c_i·u^(e_i)·v^(f_i), e_i, f_i multiples of 1/2 (one of them not whole), u and v two inputs → the same sum
    with u = s², v = t² (s = √u, t = √v) factored over the rationals, each factor α·t − β·s (α, β > 0) that vanishes
    where t/s = β/α written (α²·v − β²·u)/(α·√v + β·√u): the difference of the inputs (exact by Sterbenz near the
    root) over a sum of positive roots, grouped as one factor before its power (its square does not overflow where
    the result does not), times a factor α·t + β·s written α²·v − β²·u, and the other factors sums of positive
    terms; the product widened (double-word in float64, float64 in float32), rounded once. Other summands (a
    constant, another input's terms) are added to it as they are, where the sum with them has no such factor.
    Where both inputs are below 2⁻⁴⁰⁰ (the double words' low parts underflow there: 182 ULP at u = 1e−310) and the
    form is homogeneous of degree D in (√u, √v), the form at (2⁶⁰⁰·u, 2⁶⁰⁰·v) times 2^(−300·D), exact scalings.
    Where an input is ±inf, NaN, 0 or negative the written sum (inf/inf, 0/0 there), or ``fallback``; with a
    cofactor, past the bound where its product with the difference may overflow, too. None for any other node."""
    if node.is_Mul:
        return _root_difference_product(node)
    if not node.is_Add or len(node.args) < 2:
        return None
    found = _root_difference_sum(node)
    if found is not None:
        return found
    monomials = [t for t in node.args if t.is_number or all(x.is_Symbol for x in t.free_symbols)
                 and _half_power_monomial(t, t.free_symbols)]
    inputs = set().union(*[t.free_symbols for t in monomials
                           if not all(e.is_Integer for e in
                                      t.as_independent(*t.free_symbols, as_Add=False)[1].as_powers_dict().values())])
    if len(inputs) != 2:
        return None
    u, v = sorted(inputs, key=sp.default_sort_key)
    terms = [t for t in monomials if t.free_symbols <= inputs]
    found = _root_form(terms, u, v) if len(terms) >= 2 else None
    if found is None and any(not t.free_symbols for t in terms):
        terms = [t for t in terms if t.free_symbols]  # the sum without its constants (√u − √v + 3, log(… + 1))
        found = _root_form(terms, u, v) if len(terms) >= 2 else None
    if found is None:
        return None
    form, degree, top = found
    rest = sp.Add(*[t for t in node.args if t not in terms])
    written = sp.Add(*terms)
    # the identity holds for s, t > 0 (the symbols are positive): at u = v = 0 the form is 0/0 where the written sum
    # may be 0 (√u − √v: NaN for torch's 0, h-hostile29b), and at u, v < 0 the written NaN stays
    finite = sp.And(*[sp.Abs(x) <= _LARGEST for x in (u, v)], u > 0, v > 0)
    if top is not None:
        finite = sp.And(finite, u <= top, v <= top)
    branches = [(widen(form), finite)]
    if degree is not None and abs(degree) <= 3:  # 2^(−300·D) a normal number
        big = sp.Integer(2) ** _ROOT_SCALE
        scaled = form.xreplace({u: Grouped(big * u), v: Grouped(big * v)}) * sp.Integer(2) ** (-_ROOT_SCALE // 2 * degree)
        branches.insert(0, (widen(scaled), sp.And(u < _ROOT_TINY, v < _ROOT_TINY, u > 0, v > 0)))
    far = _root_far_scale(top, degree)
    if far is not None:  # past the cofactor's bound: the form at 2^−S·u, 2^−S·v (below the bound), times 2^(S·D/2)
        small = sp.Integer(2) ** -far
        scaled = form.xreplace({u: Grouped(small * u), v: Grouped(small * v)}) * sp.Integer(2) ** (far // 2 * degree)
        floor = sp.Integer(2) ** (far - 400)  # scaled inputs ≥ 2⁻⁴⁰⁰ (the tiny branch's bound): none flushed to 0
        branches.append((widen(scaled), sp.And(*[sp.Abs(x) <= _LARGEST for x in (u, v)], u >= floor, v >= floor)))
    out = sp.Piecewise(*branches, (written if fallback is None else fallback, True))
    _ROOT_WRITTEN[out] = written
    return _Final(_Fired(out + rest, ["root-difference"]))


_ROOT_WRITTEN: dict = BoundedRecord()  # the rule's selects → the sums they stand for


def _root_far_scale(top, degree):
    """S (even) for the rule's branch past the cofactor's bound ``top`` = 2^T (session 32, h-hostile32: u^1.5 − v^1.5 + 3
    at u = v = 1e300 fell to the written inf − inf = NaN for 3, torch NaN): 2^−S·u ≤ 2^(1024 − S) ≤ top, and the
    homogeneous form of degree D times 2^(S·D/2), an exact scaling, a normal power of two (|S·D/2| ≤ 1000: a
    product past the range is then the true overflow, ±inf, or an exact 0 where u = v), taken where both inputs
    are at least 2^(S − 400) (the other as written: u·√v − v·√u at (4.2e152, 9.3e−299) scaled v to 0). None where
    there is no bound, the form is not homogeneous, or no such S."""
    if top is None or degree is None or degree == 0:
        return None
    s = 1024 - int(math.log2(int(top)))
    s += s % 2
    return s if 0 < s and abs(s // 2 * degree) <= 1000 else None


def _root_difference_product(node):
    """The rule's select of a sum times half-integer powers of its inputs ((2√u − √v)/(2√u), ∂u of √u(√u − √v)) →
    the rule's form of the product written out as one sum (1 − √v/(2√u) = (4u − v)/((√v + 2√u)·2√u)), rounded once:
    0.51 ULP where the select and the division after it were 1.5 ULP (torch 0.51); None where that sum has no form."""
    selects = [a for a in node.args if a in _ROOT_WRITTEN]
    if len(selects) != 1:
        return _root_term_product(node)
    written = _ROOT_WRITTEN[selects[0]]
    inputs = written.free_symbols
    others = sp.Mul(*[a for a in node.args if a is not selects[0]])
    if not others.free_symbols <= inputs or not _half_power_monomial(others, inputs):
        return None
    product = sp.expand(written * others)
    if not product.is_Add or not product.free_symbols <= inputs:
        return None
    return _root_difference(product, fallback=node)  # elsewhere the product of the select as it was


def _stepwise_monomial(term):
    """c·∏ x^e (e multiples of 1/2) as c·((((a₁/b₁)·a₂)/b₂)…), the factors x (or √x for a half) of the numerator and
    the denominator taken in turn, so that no partial product leaves the range where the result and its factors lie
    (√v/(2u^(3/2)) at (1e300, 4e300): u^(3/2) overflows, ((√v/u)/√u)/2 does not); None for any other term."""
    c, rest = term.as_coeff_Mul()
    top, below = ([c], []) if abs(c) < 1 else ([], [])  # a factor below 1 first (it may keep a partial finite)
    for base, e in rest.as_powers_dict().items():
        if not base.is_Symbol or not e.is_Rational or not (2 * e).is_Integer:
            return None
        whole = int(abs(e))
        factors = [base] * whole + ([sp.sqrt(base)] if not e.is_Integer else [])
        (top if e > 0 else below).extend(factors)
    out = top.pop(0) if top else sp.Integer(1)
    while top or below:
        if below:
            out = Grouped(out / below.pop(0))
        if top:
            out = Grouped(out * top.pop(0))
    return out if abs(c) < 1 else c * out


_ROOT_TERM: dict = BoundedRecord()  # the widened single terms :func:`_root_difference_sum` writes → the terms


def _root_term_product(node):
    """A widened term of :func:`_root_difference_sum` times half-integer powers of its inputs (the 1/(2√u) the
    engine's ∂u of (√u − √v)/√u holds outside the sum) → the product in double words, rounded once (0.53 ULP at
    (1e300, 4e300) with the factor outside: two roundings; torch 0.47); None elsewhere."""
    terms = [a for a in node.args if a in _ROOT_TERM]
    if len(terms) != 1:
        return None
    total = _ROOT_TERM[terms[0]]
    others = sp.Mul(*[a for a in node.args if a is not terms[0]])
    if not others.free_symbols <= total.free_symbols or not _half_power_monomial(others, total.free_symbols):
        return None
    out = widen(_stepwise_monomial(total * others))
    _ROOT_TERM[out] = total * others
    return _Final(_Fired(out, ["root-difference"]))


def _written_select(a):
    """The sum a select stands for: this rule's (its record), or a select whose branches are one sum of half powers
    of two inputs written several ways (the common-power rule's 4√u − 8√v + 8v/√u and (4u + 8v)/√u − 8√v, from the
    ∂u of (4√u − 8√v + 4v/√u)/√u); None for anything else."""
    if a in _ROOT_WRITTEN:
        return _ROOT_WRITTEN[a]
    if not isinstance(a, sp.Piecewise) or not a.args[-1].expr.is_Add or len(a.args[-1].expr.free_symbols) != 2:
        return None
    written = a.args[-1].expr
    inputs = written.free_symbols
    if not all(t.is_number or t.free_symbols <= inputs and _half_power_monomial(t, inputs) for t in written.args):
        return None
    plain = ungroup
    if any(sp.expand(plain(e) - written) != 0 for e, _ in a.args[:-1]):
        return None
    return written


def _stepwise_written(term):
    """c·P, P a select whose branches are one expression (the power-quotient rule's 1/(2u^(3/2)) and ((1/u)/√u)/2),
    → c times its first branch; ``term`` itself otherwise."""
    c, P = term.as_coeff_Mul()
    if not isinstance(P, sp.Piecewise):
        return term
    first = P.args[0].expr
    plain = ungroup
    if any(sp.expand(plain(e) - first) != 0 for e, _ in P.args[1:]):
        return term
    return c * first


def _root_difference_sum(node):
    """A sum of half-integer powers of u and v beside one of the rule's selects times such a power (∂u of
    (√u − √v)/√u as the engine derives it, 1/(2u) − (√u − √v)/(2u^(3/2)): the select is final, so the sum around it
    subtracts 1/(2u) from a rounded 1/(2u) + …, 6.4e8 ULP at (1, 1e−20), and u^(3/2) overflows at u = 1e300: 5e−301
    for 1e−300, 3e15 ULP, torch 0) → the sum with the select's written sum multiplied in (1/(2u) − (√u − √v)/(2u^(3/2))
    = √v/(2u^(3/2)): the terms that cancel symbolically are gone), a single term as it is, a sum in the rule's form
    (the written sum where that form does not apply); None for any other node."""
    holding = [t for t in node.args if any(_written_select(a) is not None for a in sp.Mul.make_args(t))]
    if len(holding) != 1:
        return None
    term = holding[0]
    selects = [a for a in sp.Mul.make_args(term) if _written_select(a) is not None]
    if len(selects) != 1:
        return None
    written = _written_select(selects[0])
    inputs = written.free_symbols
    others = sp.Mul(*[a for a in sp.Mul.make_args(term) if a is not selects[0]])
    rest = [_stepwise_written(t) for t in node.args if t is not term]
    if not all(t.free_symbols <= inputs and (t.is_number or _half_power_monomial(t, inputs)) for t in [others] + rest):
        return None
    if not any(t.free_symbols for t in rest):
        return None  # a constant beside the select (log(Tweedie + 1)'s + 1): the sum as the rule wrote it
    total = sp.expand(written * others + sp.Add(*rest))
    if sp.expand(total - node.xreplace({selects[0]: written})) != 0:
        return None  # the exactness proof
    if not total.is_Add:
        out = widen(_stepwise_monomial(total))  # every term but one cancelled: that term in double words, rounded once
        _ROOT_TERM[out] = total
        return _Final(_Fired(out, ["root-difference"]))
    return _root_difference(total, fallback=node) or _root_difference_over(total, node)


def _root_difference_over(total, node):
    """A sum of half powers of u and v that the rule's form takes once a monomial m = ∏ x^(min e_x) is factored out
    (∂u of (√u − √v)/u: −½u^(−3/2) + √v·u^(−2) = ((√v − √u/2)/u)/u·…: the form has no power of an input below; as
    written u² overflowed or underflowed, ∞ at (5.45e−204, 2.18e−203) for 1.18e305, torch 1.5 ULP) → the form of
    the sum over m divided by m's factors in turn (:func:`_stepwise_monomial`'s order), in double words (scaled where
    tiny), rounded once, where u, v are positive and finite; the sum as ``node`` wrote it elsewhere. None where there
    is no such form."""
    terms = list(total.args)
    inputs = sorted(total.free_symbols, key=sp.default_sort_key)
    if len(inputs) != 2:
        return None
    u, v = inputs
    low = {x: sp.sympify(min(t.as_powers_dict().get(x, 0) for t in terms)) for x in inputs}
    m = u ** low[u] * v ** low[v]
    if m == 1:
        return None
    content, reduced = sp.expand(total / m).as_content_primitive()  # (−√u/2 + √v = (2√v − √u)/2: no number below)
    found = _root_form(list(reduced.args), u, v) if reduced.is_Add else None
    if found is None or found[2] is not None or sp.expand(content * reduced * m - total) != 0:
        return None  # (a cofactor's product with the difference: its overflow bound is the rule's, not taken here)
    form = content * found[0]
    ups, downs = [], []  # m's factors x (√x for a half): multiplied in (m's positive powers) or divided out
    for x in inputs:
        e = low[x]
        factors = [x] * int(abs(e)) + ([sp.sqrt(x)] if not e.is_Integer else [])
        (ups if e > 0 else downs).extend(factors)
    out = Grouped(form)
    while ups or downs:  # in turn, as _stepwise_monomial: no partial leaves the range of the form and the result
        if downs:
            out = Grouped(out / downs.pop(0))
        if ups:
            out = Grouped(out * ups.pop(0))
    plain = ungroup(out)
    s, t = sp.symbols("_s _t", positive=True)
    if sp.cancel(sp.expand((plain - total).xreplace({u: s ** 2, v: t ** 2}))) != 0:
        return None  # the exactness proof (in s = √u, t = √v, as the form's own)
    inside = sp.And(*[sp.Abs(x) <= _LARGEST for x in inputs], *[x > 0 for x in inputs])
    return _Final(_Fired(sp.Piecewise((widen(out), inside), (node, True)), ["root-difference"]))


ROOT_DIFFERENCE = Rule(
    "root-difference", "a sum of half-integer powers of two inputs that vanishes where √u = c·√v cancels every digit "
    "there (a hand-written Tweedie deviance at p = 3/2, 4√μ − 8√y + 4y/√μ = 4(√y − √μ)²/√μ: 1.78e−15 for "
    "1.23e−32 at μ = 1 − 2⁻⁵³, y = 1 in float64, 6.5e32 ULP, torch 3.2e32; its ∂y 4/√μ − 4/√y 1.35e16 ULP); "
    "with u = s², v = t² the sum is a rational function of s and t, factored over the rationals (SymPy's "
    "factor_list: an identity, checked by cancelling the difference), and each factor α·t − β·s that vanishes "
    "there is (α²·v − β²·u)/(α·√v + β·√u): the difference of the inputs, exact near the root by Sterbenz, over "
    "a sum of positive terms; the product computed in double words in float64 (float64 in float32), rounded "
    "once; the written sum where an input is infinite, NaN, 0 or negative. The other factors: sums of positive "
    "terms (u + √(uv) + v of u^1.5 − v^1.5: 2.25e15 ULP before) or polynomials in u and v (5u − v of ∂u √u(u − v)²: "
    "4.5e15), an α·t + β·s times its root factor written α²·v − β²·u; other summands (a constant, another input: √u − "
    "√v + 3 at 1e300, 1.1e16 ULP; log(Tweedie + 1), 6.5e32) added as they are; the select times half-integer powers "
    "of u and v written out as one sum (∂u of √u(√u − √v) = 1 − √v/(2√u), rounded once: 0.49 ULP, torch 0.51); where "
    "both inputs are below 2⁻⁴⁰⁰ (the double words' low parts underflow: 182 ULP at 1e−310, torch 7.3e15) a "
    "homogeneous form of degree D (|D| ≤ 3) at 2⁶⁰⁰·u, 2⁶⁰⁰·v, times 2^(−300·D), exact scalings; with a cofactor "
    "only where √u, √v < 2^(1000/(n + 1)), n the numerator's degree (√u·(u − v) overflows past it); a sum of half "
    "powers beside the select times one (∂u of (√u − √v)/√u = 1/(2u) − (√u − √v)/(2u^(3/2)): 3.0e15 ULP at (1e300, "
    "4e300), u^(3/2) overflowing, 6.4e8 at (1, 1e−20), torch the same) written out with the select's sum, a single "
    "term left (√v/(2u^(3/2))) in double words divided stepwise, rounded once (0.47 ULP); a sum left that has the form "
    "once a power of the inputs is taken out ((2√v − √u)/(2u²), ∂u of (√u − √v)/u: inf at u = 5.45e−204), the form "
    "divided by that power's factors in turn; another rule's select of one such sum (common-power's) read as its sum",
    local=_root_difference)


# ------------------------------------------------------------------ root-reciprocal (issue 16: ∂ of x^(1/n) for a
# large n, c·x^p with −1 < p < 0 near −1, at a subnormal x; session 29); tested in tests/test_old29b.py

_ROOT_RECIPROCAL_BELOW = sp.Float(2.0 ** -100)  # x^p with p ≥ −1 stays finite in float32 and float64 above it


def _root_reciprocal(node):
    """c·x^p (c a number with 0 < |c| < 1, x an input, p a fraction with −1 < p < −0.8) → c·x^(p+1)/x where
    0 < x < 2⁻¹⁰⁰, the written product elsewhere (at 0, ∞, negative x and NaN x^p's own special values stay), or
    None. x^p overflows at a subnormal x (p = −1000000/1000001: (1e−310)^p is past 1.8e308) where c·x^p does not
    (9.99e303); x^(p+1) lies within [x, 1] there and c·x^(p+1)/x rounds twice, without over- or underflow before
    the result does."""
    if not node.is_Mul or len(node.args) != 2:
        return None
    c, power = node.args
    if not (c.is_number and c.is_real and 0 < abs(c) < 1) or not power.is_Pow or not power.base.is_Symbol:
        return None
    x, p = power.base, power.exp
    if not (p.is_Rational and not p.is_Integer and sp.Rational(-1) < p < sp.Rational(-4, 5)):
        return None
    near = Grouped(c * x ** (p + 1)) / x
    tiny = (x > 0) & (x < _ROOT_RECIPROCAL_BELOW)
    return _Final(_Fired(sp.Piecewise((near, tiny), (node, True)), ["root-reciprocal"]))


ROOT_RECIPROCAL = Rule(
    "root-reciprocal", "c·x^p with −1 < p < 0 near −1 and |c| < 1 (∂ of x^(1/n), x^(1/n − 1)/n) overflows x^p at a "
    "subnormal x where the product is finite (n = 1000001: inf at x = 1e−310 for 9.99e303; torch inf); c·x^(p+1)/x "
    "where 0 < x < 2⁻¹⁰⁰: x^(p+1) lies between x and 1, c·x^(p+1) is finite and nonzero, and the division by x "
    "over- or underflows only where the result does (two roundings more than the power's own); the written "
    "product elsewhere, so that x = 0, ∞ and a negative x keep the power's values", local=_root_reciprocal)

# ------------------------------------------------------------------ root-of-monomial (issue 16, session 38: ∂ of
# (x/y)^(−1/2) past the range where (x/y)^(−3/2) is not); tested in tests/test_range38.py


def _monomial_factor(f) -> bool:
    """``f`` is an input or an input's integer power (x, y⁻², never a number or a function)."""
    return f.is_Symbol or f.is_Pow and f.base.is_Symbol and f.exp.is_Integer


def _root_of_monomial(node):
    """c·B^p·M, B a monomial of two inputs or more (x/y, x·y), p a fraction with |p| > 1 and M inputs' integer
    powers → c·B^r·(B^k·M) with k = p − r the integer part of p (toward 0, |r| < 1) where |B| is outside
    [2^−a, 2^a] (a = ⌊120/|p|⌋: B^p overflows float32 outside), the written product within; else None. B^p leaves the
    range where the product does not (∂x of (x/y)^(−1/2), −(x/y)^(−3/2)/(2y), at (0.2824, 1.232e31) in float32: −inf
    for −1.17e16, torch −inf; in float64 at (−6.68e79, −3.81e288) inf for 1.79e24): B^r is normal wherever B is, and
    B^k·M is a product of inputs' powers (−(x/y)^(−1/2)/(2x) there), which the printers take by exponents where it
    is not normal."""
    if not node.is_Mul:
        return None
    c, rest = node.as_coeff_Mul()
    roots = [f for f in sp.Mul.make_args(rest) if f.is_Pow and f.exp.is_Rational and not f.exp.is_Integer
             and abs(f.exp) > 1 and f.base.is_Mul and len(f.base.free_symbols) >= 2
             and all(_monomial_factor(g) for g in f.base.args)]
    if len(roots) != 1:
        return None
    (power,) = roots
    monomial = [f for f in sp.Mul.make_args(rest) if f is not power]
    if not all(_monomial_factor(f) for f in monomial):
        return None
    base, p = power.base, power.exp
    k = int(p)  # toward 0: −3/2 → −1, 5/2 → 2
    moved = sp.Mul(*monomial) * base ** k
    if len(moved.free_symbols | base.free_symbols) > 3:  # B^r and the inputs: within _constant_far's four slots
        return None
    shifted = c * sp.Pow(base, p - k) * moved
    if sp.Pow(base, p - k) in (moved, 1 / moved):  # (SymPy merged the two: nothing moved)
        return None
    a = sp.Integer(2) ** int(120 / abs(p))
    inside = (sp.Abs(base) < a) & (sp.Abs(base) > sp.Float(1 / a, 17))
    return _Final(_Fired(sp.Piecewise((node, inside), (shifted, True)), ["root-of-monomial"]))


ROOT_OF_MONOMIAL = Rule(
    "root-of-monomial", "c·B^p·M, a fractional power |p| > 1 of a monomial B of inputs (x/y) times inputs' powers M "
    "(∂x of (x/y)^(−1/2), −(x/y)^(−3/2)/(2y)), forms B^p, which leaves the range where the product does not "
    "(float32 −inf at (0.2824, 1.232e31) for −1.17e16, torch −inf); outside |B| ∈ [2^−a, 2^a] (a = ⌊120/|p|⌋) it is "
    "c·B^r·(B^k·M) with k the integer part of p and |r| < 1 (−(x/y)^(−1/2)/(2x)): B^r is normal wherever B is, and "
    "B^k·M a product of inputs' powers the printers take by exponents", local=_root_of_monomial)

# ------------------------------------------------------------------ exp-over-power-far (issue 16, session 30: ∂ of
# 1/(2 − e^x), e^x/(2 − e^x)², was 0 for 1.9e−174 at x = 400 and NaN at 709.8, h-hostile30); tested in
# tests/test_under30.py

_EXP_OVER_POWER_FAR = 40  # above it (c + d·e^v)^−n is e^(−n·v)·(c·e^−v + d)^−n (the root of c + d·e^v below 39)


def _exp_affine_power(f):
    """(c, d, v, n) where ``f`` is (c + d·e^v)^−n, c and d nonzero numbers, n a whole number 1 … 8, or the
    zero-power or two-minus-exp-root rule's select holding it as its last branch (the others: near the root of c +
    d·e^v, never beyond v = 39 here); None otherwise."""
    if isinstance(f, sp.Piecewise) and f.args[-1].cond == sp.true:
        f = f.args[-1].expr
    if not (isinstance(f, sp.Pow) and f.exp.is_Integer and -8 <= f.exp <= -1 and f.base.is_Add):
        return None
    c = sp.Add(*[a for a in f.base.args if a.is_number])
    terms = [a for a in f.base.args if not a.is_number]
    if c == 0 or len(terms) != 1:
        return None
    d, e = terms[0].as_coeff_Mul()
    if not isinstance(e, sp.exp) or not d.is_number:
        return None
    if (-c / d).is_positive and sp.log(-c / d) > _EXP_OVER_POWER_FAR - 1:  # (its root past the threshold: as written)
        return None
    return c, d, e.args[0], -f.exp


def _exp_over_power_far(node):
    """A product of e^w factors and one (c + d·e^v)^−n factor (:func:`_exp_affine_power`), or that power alone, as a
    select: where v > 40
    e^(Σw − n·v)·(c·e^−v + d)^−n times the other factors; the product as written elsewhere. None for any other node.

    Exact: c + d·e^v = e^v·(c·e^−v + d), so (c + d·e^v)^−n = e^(−n·v)·(c·e^−v + d)^−n for every v (n whole)."""
    factors = node.args if node.is_Mul else (node,)  # (a power alone: 1/(2 − e^x) at 709.8 was −0 for −5.5e−309)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    powers = [(f, _exp_affine_power(f)) for f in factors]
    powers = [(f, found) for f, found in powers if found is not None]
    if (node.is_Mul and not exps) or len(powers) != 1:
        return None
    power, (c, d, v, n) = powers[0]
    rest = [f for f in factors if f not in exps and f is not power]
    exponent = sp.expand(sp.Add(*[f.args[0] for f in exps]) - n * v)
    # the exponent in double words (widen's first order): n·v rounded carries |n·v|·2⁻⁵³ into the result (1/(3 +
    # 2e^x)³ at x = 88.6 was 185 ULP in float64, torch 0.66; h-hostile31)
    # (an exponent ±x or a number is exact: e^(−x), silu′'s, stays as it is)
    exact = exponent.is_number or exponent.is_Symbol or (-exponent).is_Symbol
    far = sp.Mul(*rest) * (sp.exp(exponent) if exact else widen(sp.exp(exponent), first_order=True)) \
        * (c * sp.exp(-v) + d) ** -n
    return sp.Piecewise((far, v > _EXP_OVER_POWER_FAR), (node, True))


def _exp_over_powers_far(expr):
    """Every product of ``expr`` :func:`_exp_over_power_far` takes, outermost first."""
    return _top_down_having(expr, sp.exp, _exp_over_power_far, _KEPT)


EXP_OVER_POWER_FAR = Rule(
    "exp-over-power-far", "e^w·(c + d·e^v)^−n (the derivative of 1/(2 − e^x), e^x/(2 − e^x)²) forms (c + d·e^v)^n, "
    "which overflows from v ≈ 709.8/n where the product need not: 0 for 1.915e−174 at x = 400, NaN at 709.8 (torch 0 "
    "and NaN); c + d·e^v = e^v·(c·e^−v + d) exactly, so where v > 40 e^(w − n·v)·(c·e^−v + d)^−n, the exponents in one "
    "exponential; as written elsewhere (and where c + d·e^v has its root beyond v = 39)",
    apply=_exp_over_powers_far, fired=_rewrote)


# ------------------------------------------------------------------ sum-power-cancel (issue 16, session 34, found34:
# ∂x of x·y/√(3x² + 1) is y·(1/√s − 3x²/s^(3/2)), s = 1 + 3x², whose terms cancel as |x| grows: −4.5e−36 for
# −5.8e−61 at (−1e20, −3), torch the same); tested in tests/test_found34.py

def _sum_power_cancel_node(node):
    """Σ r_i·B^e_i + A of one sum B (rational exponents with whole differences; r_i and A free of B) whose inner sum
    Σ r_i·B^(e_i − e_min) multiplies out to a single term m (1 + 3x² − 3x² = 1), or to a sum that has lost a monomial
    of its parts (the written RMSNorm's ∂x₁, g·(1/√S − x₁²/(3·S^(3/2))): S − x₁²/3 = ε + x₂²/3 + x₃²/3) → B^e_min·m + A:
    the same function, the cancellation done symbolically. Whole exponents only where B is a negative power and the
    sum holds two inputs or more (one input's rational function is the rational-function rule's): the Dice loss's
    ∂p, ((1 + 2pt)/B − 2t)/B with B = p + t + 1, a product of B⁻¹ and a sum, is taken multiplied out, whose inner sum
    1 + 2pt − 2t·B is 1 − 2t − 2t². None for any other node (applied to every outermost node, top down)."""
    if not isinstance(node, sp.Expr):
        return None
    if node.is_Mul:
        return _sum_power_cancel_product(node)
    if not node.is_Add:
        return None
    several = len(node.free_symbols) > 1
    bases = {f.base for f in node.atoms(sp.Pow) if f.base.is_Add and f.base.free_symbols and f.exp.is_Rational
             and (not f.exp.is_Integer or several and f.exp < 0)}
    for base in sorted(bases, key=sp.default_sort_key):
        parts = [_power_part(t, base) for t in node.args]
        if any(p is None for p in parts):
            continue
        apart = sp.Add(*[r for e, r in parts if e == 0])
        parts = [(e, r) for e, r in parts if e != 0]
        found = _sum_power_form(node, base, parts, apart)
        if found is None and apart != 0 and several and parts and all(e.is_Integer and e < 0 for e, _ in parts):
            # the terms free of B taken in as B⁰ where that cancels to a polynomial (the Dice loss's value 1 − N/B,
            # N = 2pt + 1: (p + t − 2pt)/B, 56 ULP in float64 at p = 0.9447, t = 0.966 as written, torch the same)
            found = _sum_power_form(node, base, parts + [(sp.S.Zero, apart)], sp.S.Zero, polynomial=True)
        if found is not None:
            return found
    return None


def _sum_power_form(node, base, parts, apart, polynomial=False):
    """B^e_min·(Σ r_i·B^(e_i − e_min)) + A for the powers ``parts`` [(e_i, r_i)] of ``base`` in ``node`` and the rest
    ``apart`` (A), where the inner sum multiplies out to one term or loses a monomial (to a polynomial in the inputs,
    where ``polynomial``), proved equal to ``node``; None otherwise."""
    low = min((e for e, _ in parts), default=None)
    if len({e for e, _ in parts}) < 2 or any(not (e - low).is_Integer for e, _ in parts):
        return None
    if all(e.is_Integer for e, _ in parts) and low >= 0:
        return None
    pieces = [sp.expand(r * base ** (e - low)) for e, r in parts]
    inner = sp.expand(sp.Add(*pieces))
    if inner.is_Add and not _lost_a_monomial(pieces, inner):
        return None  # terms that do not cancel out: the common-power rule's, or as written
    if (inner.is_Add or all(e.is_Integer for e, _ in parts)) and not _rational_in_inputs(base, *[r for _, r in parts]):
        return None  # (a written softmax's e^a/S − e^(2a)/S² is the max-shift and compensated-sum rules')
    if all(e.is_Integer for e, _ in parts) and len({t.as_coeff_Mul()[0] > 0 for t in sp.Add.make_args(inner)}) == 1:
        # whole powers whose inner sum's terms are all of one sign: nothing cancels in it, and the quotient is the
        # harmonic rules' (∂y of x·y·z/(x + y + z) taken here as x·z·(x + z)/(x + y + z)² was 857 ULP at (1e−300, 3e10,
        # 3e10) and NaN at (1e−30, 1.797e308, 1.797e308): tests/test_harm25.py, CI of session 36)
        return None
    if polynomial and not inner.is_polynomial(*inner.free_symbols):
        return None  # (the BCE gradient (1 − t)/(1 − p) − t/p is the reciprocal-difference rule's)
    summed = inner.is_Add  # (a sum still where the differences make it one term: the standardisation's k·(b − c)²)
    inner = _in_differences(inner, base)
    out = base ** low * (inner if not inner.is_Add else sp.factor_terms(inner)) + apart
    b = sp.Dummy("B", positive=True)  # the exactness proof: the same sum times B^−e_min, B a symbol, then B
    if sp.expand(sp.expand((out - node).xreplace({base: b}) * b ** -low).xreplace({b: base})) != 0:  # written out
        return None
    # an inner sum left (ε + x₂²/3 + x₃²/3; 2pt − p − t, which still cancels at t = 1/2) is computed as the widen rule
    # computes a sum, rounded once: its terms rounded apart and added were 4.05 ULP in float64 (the Dice loss with a
    # smoothing input, ∂t = (s − 2p² − 2ps)/B² at p = 2.25e10)
    if summed and apart == 0 and low.is_Integer and _rational_in_inputs(inner, base):
        # the inner sum over B^−e_min, one widened quotient rounded once (gru38: the log-cosh-Dice's ∂p,
        # tanh(N/B)·(2t − 1 + 2t²)/B², was 4.95 ULP in float64 at p = −0.00092017, t = 0.3 with the sum, B and the
        # quotient each rounded, B's rounding thrice)
        return widen(sp.factor_terms(inner) * base ** low)
    out = out if not summed else out.xreplace(
        {a: widen(a) for a in sp.Mul.make_args(sp.factor_terms(inner)) if a.is_Add})
    if summed and apart == 0 and low.q == 2 and _rational_in_inputs(inner, base):
        return _half_power_quotient(sp.factor_terms(inner), base, low, out)
    return out


# cancel49: the inner sum over a half power B^(−k/2) (a cosine loss's ∂b, N·B^(−3/2) with B = ‖a‖²‖b‖² + ε: 4.46 ULP
# in float64 at 1 of 100 ordinary points, torch 1.46 there; the written RMSNorm's ∂x₁ 4.29 ULP, tests/test_user47.py)
# rounded B (0.9 ulp), B^(−3/2) of it (1.35 ulp more), fl(B^(−3/2)) and the product apart; one widened quotient here,
# B, √B and the quotient in double words, rounded once (0.5 ULP)

_HALF_POWER_RANGE = 960  # the double words' range: every value they form within 2^±960 (widening._within_far_bound)


def _half_power_quotient(inner, base, low, written, scale=sp.S.One):
    """scale·inner·base^low (low = −k/2) widened, rounded once, where every input is 0 or within 2^±⌊960/D⌋ (D the
    largest degree of inner, of base^⌈|low|⌉ and of scale: every value the double words form stays within 2^±960),
    ``written`` (the rounded sum times the float64 power, which the node rules give their far selects) past that, as
    the far branch of a select (NumPy's far block: computed only on the elements that take it, none on ordinary
    data). None where a degree is not that of a polynomial (the caller keeps ``written``)."""
    symbols = sorted(inner.free_symbols | base.free_symbols | scale.free_symbols, key=sp.default_sort_key)
    try:
        degree = max(sp.Poly(e, *symbols).total_degree() for e in (inner, base ** int(math.ceil(abs(low))), scale))
    except sp.PolynomialError:
        return written
    bound = _HALF_POWER_RANGE // max(degree, 1)
    high, tiny = sp.Float(2.0 ** bound), sp.Float(2.0 ** -bound)
    far = sp.Or(*[sp.Abs(v) > high for v in symbols], *[sp.And(sp.Abs(v) < tiny, sp.Ne(v, 0)) for v in symbols])
    scaled = _scaled_difference_quotient(inner, base, low, scale)
    if scaled is not None:
        # (rerms51) where one input is ±inf the scaled form is NaN (r = 0): the product as written there, whose limit
        # the hypot rule takes (RMSNorm-3's ∂a at b = +inf was NaN for 0 with rms50's scaled inputs; torch 0)
        scaled = sp.Piecewise(*_zero_where_a_base_infinite(scale * inner * base ** low),
                              (written, _one_input_infinite(symbols)), (scaled, True))
    result = sp.Piecewise((scaled or written, far), (widen(scale * inner * base ** low), True))
    _HALF_POWER_WRITTEN[result] = written  # (rerms51: the product as written, for _inputs_into_far_branch's limits)
    return result


# (rerms51) :func:`_half_power_quotient`'s select → ``written``, the rounded sum times the float64 power: its far branch
# is the scaled quotient where one is found (rms50: now also for a sum of the base's own inputs, x·(x² + 1)/B^(3/2)),
# but the branch at an infinite input needs the product as written, whose limit the hypot rule takes whole
_HALF_POWER_WRITTEN: dict = {}


def _as_differences(v, symbols):
    """A linear form v = Σ c_x·x whose coefficients sum to 0 (a deviation x − μ) as Σ c_x·(x − x₀) (x₀ its first
    input), each difference kept apart (exact where the inputs are within a factor two); v itself otherwise."""
    if not v.is_Add or not v.is_polynomial(*symbols):
        return v
    poly = sp.Poly(v, *symbols)
    if not poly.is_linear or poly.as_expr().as_coeff_Add()[0] != 0 or sum(poly.coeffs()) != 0:
        return v
    inputs = sorted(v.free_symbols, key=sp.default_sort_key)
    first = inputs[0]
    return sp.Add(*[v.coeff(x) * Grouped(x - first) for x in inputs[1:]], evaluate=False)


def _scaled_differences(e, symbols, r, plain=frozenset()):
    """(k, e·r^k) for a product, power or sum of one degree k of the inputs' differences (a difference L, a sum whose
    coefficients add to 0, taken as r·L: a homogeneous polynomial P of them as P(r·L, …)) and of the inputs in
    ``plain`` (those whose squares the base sums, |r·x| < 2: rms50, a written RMSNorm's ε + (b² + c² + d²)/4);
    None for anything else."""
    if e.is_number:
        return 0, e
    if e in plain:
        return 1, Grouped(r * e)
    if e.is_Add and e.is_polynomial(*symbols):
        poly = sp.Poly(e, *symbols)
        if poly.is_linear and poly.as_expr().as_coeff_Add()[0] == 0 and sum(poly.coeffs()) == 0:
            return 1, Grouped(r * e)
        parts = [_scaled_differences(t, symbols, r, plain) for t in e.args]
        if any(p is None for p in parts) or len({k for k, _ in parts}) != 1:
            return None
        return parts[0][0], sp.Add(*[t for _, t in parts])
    if e.is_Pow and e.exp.is_Integer and e.exp > 0:
        found = _scaled_differences(e.base, symbols, r, plain)
        return None if found is None else (found[0] * int(e.exp), found[1] ** e.exp)
    if e.is_Mul:
        parts = [_scaled_differences(t, symbols, r, plain) for t in e.args]
        if any(p is None for p in parts):
            return None
        return sum(k for k, _ in parts), sp.Mul(*[t for _, t in parts])
    return None


def _scaled_difference_quotient(inner, base, low, scale):
    """(norm50) scale·inner·base^low for a base B = Σ w·v² + e (hypot's sum of squares) and an inner sum of the
    inputs' differences (:func:`_in_differences`: every factor that holds an input a sum that a common shift of the
    inputs leaves alone) as (N·r^D)·S^low·r^(−2·low − D): S = B·r² hypot's scaled sum (r = binade_reciprocal of the
    largest |v|, with √|e|), N·r^D the inner sum with each difference L taken as r·L and each term of degree k < D
    times r^(D − k), widened (a written LayerNorm's far ∂a, (3 + 50000·(b − c)²)·B^(−3/2) at a = 1e200, b = −1e200:
    (b − c)² overflows and B^(−3/2) underflows, NaN for 2.4e−201; torch NaN too); None where the base or the inner
    sum is no such one."""
    from .hypot import _scaled_sum_of_squares, _squares_and_term
    from .widening import steps_by_power_of_two

    number, inner = inner.as_coeff_Mul()  # (factor_terms' 1/450000 taken out)
    scale = scale * number
    symbols = sorted(base.free_symbols, key=sp.default_sort_key)
    # the squares' bases, deviations x − μ, in differences too: (2a − b − c)/3 as written rounds to 1e184 at
    # a = b = c = 1e200, which then sets the scale
    base = base.xreplace({v: _as_differences(v, symbols) for v in (p.base for p in base.atoms(sp.Pow) if p.exp == 2)})
    parts = _scaled_sum_of_squares(base)
    if parts is None or not scale.is_number or not (-2 * low).is_Integer:
        return None
    s, r, _ = parts
    plain = frozenset(v for _, v in _squares_and_term(base)[0] if v.is_Symbol)
    terms = []
    for term in sp.Add.make_args(inner):
        found = _scaled_differences(term, symbols, r, plain)
        if found is None:
            return None
        terms.append(found)
    top = max(d for d, _ in terms)
    body = sp.Add(*[t if d == top else steps_by_power_of_two(t, r, top - d, far_bits=None) for d, t in terms])
    return steps_by_power_of_two(widen(scale * body * s ** low), r, int(-2 * low) - top, far_bits=None)



# norm50: a written LayerNorm's ∂ (x − μ)/√(Σ(x_i − μ)²/n + ε): its inner sum N is a polynomial of the inputs that
# a common shift of them leaves alone (3 + 50000·b² + 50000·c² − 100000·b·c of the three-input LayerNorm's ∂a),
# multiplied out it overflows where the inputs are large and cancels where they are nearly equal (NaN for 210.8 at
# a = b = c = ±1e200, torch 0.37 ULP); written in the inputs' differences, each degree's part factored
# (3 + 50000·(b − c)², −3 + 100000·(c − b)·(a − c)), it does neither where they are equal

_DIFFERENCE_INPUTS = 6  # the most inputs of a base searched for the shift it is invariant under


def _shift_invariant(expr, inputs) -> bool:
    """Whether ``expr`` is unchanged by adding one t to every one of ``inputs``."""
    t = sp.Dummy("t")
    return sp.expand(expr.xreplace({x: x + t for x in inputs}) - expr) == 0


def _linear_factors(e, symbols) -> bool:
    """Whether ``e`` is a number times powers of linear forms of ``symbols``."""
    return all(f.is_number or sp.Poly(f.as_base_exp()[0], *symbols).is_linear for f in sp.Mul.make_args(e))


def _pairwise_squares(q, inputs):
    """Σ_{i<j} w_ij·(x_i − x_j)² equal to the quadratic form ``q`` of ``inputs`` that a common shift leaves alone,
    w_ij = −(its coefficient of x_i·x_j)/2."""
    return sp.Add(*[-q.coeff(x, 1).coeff(y, 1) / 2 * (x - y) ** 2 for x, y in itertools.combinations(inputs, 2)])


def _in_differences(inner, base):
    """``inner`` (a polynomial) as a polynomial of the differences x − x₀ of the inputs whose common shift leaves both
    ``base`` and ``inner`` alone (the most of them, two or more; x₀ the first), each degree's part factored, a factor
    of one degree multiplied out (c − b, not (c − a) − (b − a)); ``inner`` itself where there is no such shift, or
    where inner is no polynomial of two or more inputs (proved equal by expansion)."""
    if not inner.is_Add or not _rational_in_inputs(inner) or len(inner.free_symbols) < 2:
        return inner
    symbols = sorted(base.free_symbols, key=sp.default_sort_key)
    if len(symbols) > _DIFFERENCE_INPUTS or not inner.free_symbols <= base.free_symbols:
        return inner
    for size in range(len(symbols), 1, -1):
        for shifted in itertools.combinations(symbols, size):
            if _shift_invariant(base, shifted) and _shift_invariant(inner, shifted):
                break
        else:
            continue
        break
    else:
        return inner
    first, rest = shifted[0], shifted[1:]
    ds = {x: sp.Dummy(f"d_{x}") for x in rest}
    moved = sp.expand(inner.xreplace({x: first + d for x, d in ds.items()}))
    if moved.has(first):
        return inner
    back = {d: x - first for x, d in ds.items()}
    try:
        poly = sp.Poly(moved, *ds.values())
    except sp.PolynomialError:
        return inner
    parts = {}
    for monomial, coefficient in poly.terms():
        degree = sum(monomial)
        parts[degree] = parts.get(degree, 0) + coefficient * sp.Mul(*[d ** k for d, k in zip(ds.values(), monomial)])
    out = []
    for degree in sorted(parts):
        factored = sp.factor(parts[degree])
        if degree == 2 and not _linear_factors(factored, list(ds.values())):
            # a quadratic form that a shift leaves alone (its matrix's rows add to 0) is −Σ M_ij·(x_i − x_j)²: a
            # four-input LayerNorm's ∂a, 3 + (50000/3)·((b − c)² + (b − d)² + (c − d)²) where a dominates (in
            # differences from a its terms of a² cancel: 0 for 1.7e−283 at a = 7.8e230)
            out.append(_pairwise_squares(sp.expand(parts[degree].xreplace(back)), shifted))
            continue
        out.append(factored.xreplace(back))  # ((c − a) − (b − a): SymPy's flattening makes it c − b)
    result = sp.Add(*out)
    if sp.expand(result - inner) != 0:
        return inner
    return result


def _rational_in_inputs(*exprs):
    """Whether every one of ``exprs`` is built of inputs, numbers, sums, products and whole powers only."""
    return all(n.is_Symbol or n.is_Number or n.is_Add or n.is_Mul or (n.is_Pow and n.exp.is_Integer)
               for e in exprs for n in sp.preorder_traversal(e))


def _lost_a_monomial(pieces, inner):
    """Whether a monomial of the multiplied-out ``pieces`` is absent from their sum ``inner``: terms that cancelled
    exactly (x₁²/3 − x₁²/3), not merely like terms of one sign added up."""
    kept = {m for m in (t.as_coeff_Mul()[1] for t in sp.Add.make_args(inner))}
    return any(t.as_coeff_Mul()[1] not in kept for p in pieces for t in sp.Add.make_args(p))


def _sum_power_cancel_product(node):
    """K·B^e·(Σ …) with B^e (e < 0) a power of a sum that the inner sum's terms hold too (the quotient rule's
    ((1 + 2pt)/B − 2t)/B) → K times :func:`_sum_power_cancel_node` of B^e multiplied into the sum; None where the
    product is not such a one or the sum it gives does not cancel."""
    sums = [f for f in node.args if f.is_Add]
    if len(sums) != 1:
        return None
    powers = [f for f in node.args if f.is_Pow and f.base.is_Add and f.exp.is_Rational and f.exp < 0
              and sums[0].has(f.base)]
    if not powers:
        return _inputs_into_far_branch(node, sums[0])
    rest = [f for f in node.args if f is not sums[0] and f not in powers]
    scale = sp.Mul(*powers)
    found = _sum_power_cancel_node(sp.Add(*[scale * t for t in sums[0].args]))
    if found is None:
        return None
    K = sp.Mul(*rest)
    if isinstance(found, sp.Piecewise) and isinstance(found.args[-1].expr, WidenedBase) and K.is_number and K != 1:
        # (cancel49) a number beside the half-power quotient taken into it, rounded once with it, so that the
        # select is the output's own (its far branch computed only where taken): the written RMSNorm's ∂x₁,
        # 1000·√3·N·B^(−3/2), rounded fl(√3), fl(1000·fl(√3)) and their product too (0.54 ulp)
        (written, far), (widened, _) = found.args
        return sp.Piecewise((K * written, far), (widen(K * widened.body), True))
    return K * found


def _half_power_select(found) -> bool:
    """Whether ``found`` is :func:`_half_power_quotient`'s select: the written form where far, the widened one else."""
    return isinstance(found, sp.Piecewise) and len(found.args) == 2 and isinstance(found.args[-1].expr, WidenedBase)


def _inputs_into_far_branch(node, inner):
    """K·{``inner``'s half-power quotient} for a product K·``inner`` (K holding inputs) whose sum ``inner`` this rule
    takes to :func:`_half_power_quotient`'s select, with a branch before it where an input is ±inf: there the one
    product K·N·B^(−k/2), whose limit the hypot rule's infinite-base limits take whole (far50: ∂y of x·y/√(x² + 2y² + 1),
    x·(x² + 1)/B^(3/2), at x = +inf, y = 2 was x·{the factor's limit 0} = NaN for 1; ∂x at (3, +inf) NaN for 1/√2).
    Elsewhere K times the select, as before (K inside the far branch at finite points took the hypot rule's product form,
    7.1 ULP at x = −9.75e102, y = −3.625 for 1.1 before). None where ``inner`` is not taken so (the rule descends)."""
    K = sp.Mul(*[f for f in node.args if f is not inner])
    if K.is_number or not K.free_symbols:
        return None
    found = _sum_power_cancel_node(inner)
    if not _half_power_select(found):
        return None
    (far_written, far), (widened, _) = found.args
    written = _HALF_POWER_WRITTEN.get(found, far_written)
    # one input ±inf and the others finite, as the hypot rule's limits test it (|v| − max |o| > 1.8e308: CSE shares the
    # tests with its far branch's, a max and a test over every element of their own cost 1.10×/1.14× the kernel)
    infinite = _one_input_infinite(sorted(node.free_symbols, key=sp.default_sort_key))
    # (its sum as written, not widened: the far branch's N·B^(−k/2) shared by CSE with the ordinary branch's computed it
    # on every element, unmasked: 1.23× the float32 kernel; only the limits are taken in this branch)
    # (rms50) K taken into each of the select's branches, one select of three: K·{select} as one product left the
    # far branch's test out of the printers' far block, its float32 form computed on every element (the affine
    # LayerNorm-3's ∂a, g·{…}: 1.37–1.51× the float32 kernel of ad376022 on ordinary points)
    # (rms52) where a base of B is ±inf and the degree of K·N in B's bases is below −2e: 0 (K·N·B^e = inf·0 as written,
    # which the hypot rule's limits take only where K·N is a number times its squares' sums: g·RMSNorm-3's ∂a at
    # (2, +inf, 3, 1.5) was NaN for 0, torch 0); computed in the infinite branch only (the far block)
    zero = _zero_where_a_base_infinite(K * unwiden(written))
    if zero:
        return sp.Piecewise((sp.Piecewise(*zero, (K * unwiden(written), True)), infinite), (K * far_written, far),
                            (K * widened, True))
    return sp.Piecewise((K * unwiden(written), infinite), (K * far_written, far), (K * widened, True))


_INFINITE_PAST = sp.Float(1.7976931348623157e308, 17)  # |v| > it: v = ±inf alone (limits' _DBL_MAX)


def _zero_where_a_base_infinite(quotient) -> list:
    """[(0, condition)] for a quotient P·B^e (``quotient``: P a polynomial, B = Σ w·v² (+ a term free of the v), every v
    an input, w > 0; e a negative half-integer) whose degree D in the v is below −2e: where max |v| = inf and every
    other input finite, |P| ≤ C·max|v|^D and B^e ≤ (w_min·max v²)^e, so P·B^e → 0 along every approach (one base or
    several ±inf); the form as written is inf·0 = NaN there (rms52: g·RMSNorm-3's ∂a, g·(3 + 10⁵b² + 10⁵c²)·B^(−3/2)
    /300000, at b = +inf, or b = c = +inf, NaN for 0; torch 0). [] for anything else."""
    from .hypot import _squares_and_term

    powers = {(p.base, p.exp) for p in quotient.atoms(sp.Pow)
              if p.base.is_Add and p.exp.is_Rational and p.exp < 0 and p.exp.q == 2}
    if len(powers) != 1:
        return []
    base, low = powers.pop()
    product = quotient * base ** -low
    found = _squares_and_term(base)
    if found is None:
        return []
    squares, term = found
    bases = [v for _, v in squares]
    if not all(v.is_Symbol and w.is_positive for w, v in squares) or (
            term is not None and term.free_symbols & set(bases)):
        return []
    others = sorted((product.free_symbols | base.free_symbols) - set(bases), key=sp.default_sort_key)
    try:
        poly = sp.Poly(product, *bases, *others)
    except sp.PolynomialError:
        return []
    if poly.is_zero or max(sum(m[:len(bases)]) for m in poly.monoms()) + 2 * low >= 0:
        return []
    infinite = sp.Max(*[sp.Abs(v) for v in bases]) > _INFINITE_PAST
    return [(sp.S.Zero, sp.And(infinite, *[sp.Abs(o) <= _INFINITE_PAST for o in others]))]


def _one_input_infinite(inputs):
    """One of ``inputs`` ±inf and the others finite, as the hypot rule's limits test it (|v| − max |o| > 1.8e308)."""
    return sp.Or(*[sp.Abs(v) - sp.Max(*[sp.Abs(o) for o in inputs if o != v]) > _INFINITE_PAST
                   if len(inputs) > 1 else sp.Abs(v) > _INFINITE_PAST for v in inputs])


SUM_POWER_CANCEL = Rule(
    "sum-power-cancel", "r₁·B^e + r₂·B^(e − 1) + … of one sum B, whose terms cancel where the sum's parts do (the "
    "quotient rule's ∂x of x·y/√(3x² + 1), y·(1/√B − 3x²/B^(3/2)) with B = 1 + 3x²: −4.5e−36 for −5.8e−61 at "
    "(−1e20, −3) in float64, torch the same), is B^e_min·(Σ r_i·B^(e_i − e_min)), whose inner sum multiplies out to "
    "one term (B − 3x² = 1): y/B^(3/2), no cancellation left; or to a sum that has lost a monomial of its parts (a "
    "written RMSNorm's ∂x₁, g·(1/√S − x₁²/(3·S^(3/2))), S = ε + (x₁² + x₂² + x₃²)/3: S − x₁²/3 = ε + x₂²/3 + x₃²/3; "
    "5e204 ULP in float64 at x₁ = −3.6e102, ε = 0, torch the same); whole powers of a sum of two inputs or more too "
    "(the Dice loss 1 − (2pt + 1)/(p + t + 1): ∂p = ((1 + 2pt)/B − 2t)/B = (1 − 2t − 2t²)/B², 1.7e153 ULP at "
    "p = −2.3e153, t = 1, and 1.8e9 at p = 1e10, torch the same), and there the terms free of B taken in as B⁰ where "
    "that cancels to a polynomial (its value 1 − (1 + 2pt)/B = (p + t − 2pt)/B: 56 ULP at p = 0.9447, t = 0.966, "
    "torch the same); an inner sum left is computed as the widen rule computes a sum, rounded once, and over whole "
    "powers of B, with nothing beside it, the quotient too (the log-cosh-Dice's ∂p, tanh(N/B)·(2t − 1 + 2t²)/B², "
    "rounded the sum, B and the quotient apart, B's rounding thrice: 4.95 ULP at p = −0.00092017, t = 0.3, torch "
    "0.05; ≤ 2.07 on 200 points there now), and over a half power B^(−k/2), with a number beside it, the quotient "
    "too, B, √B and the quotient in double words (a cosine loss's ∂b, N·B^(−3/2) with B = ‖a‖²‖b‖² + ε: 4.46 ULP "
    "in float64 at U(−3, 3)⁴, torch 1.46; the written RMSNorm's ∂x₁, 1000·√3·N·S^(−3/2): 4.29; now 0.5), where "
    "every input is 0 or within 2^±⌊960/D⌋ (D the largest degree of N and of B^⌈k/2⌉), as written past that; an inner sum "
    "that a common shift of the inputs leaves alone in their differences, and past that scaled by hypot's r (a written "
    "LayerNorm's ∂a, 3 + 50000·(b − c)² over B^(3/2): NaN for 210.8 at a = b = c = 1e200, torch 0.37 ULP); taken only "
    "where it does, before the node rules (hypot's selects) rewrite the powers", fired=_rewrote, before=True,
    apply=lambda e: _top_down(e, _sum_power_cancel_node, leaves=_KEPT) if isinstance(e, sp.Expr) and e.has(sp.Pow) else e)


# ------------------------------------------------------------------ shared-powers (issue 16, session 33, h-xfail33:
# exp(−(x·y)³) at (7.44e148, −6.57e−150) was NaN for 1.1239; the printers' equal-powers came too late, after CSE had
# made x³ and y³ temporaries shared with the derivatives); tested in tests/test_xfail33.py

class PowerBound(sp.Function):
    """PowerBound(b, m): shared-powers' bound on a base b of a product of powers, 2^⌊120/m⌋ where b is float32 and
    2^⌊1000/m⌋ where it is float64 (the printers ask b's dtype: a float32 kernel's block computed in float64 takes
    float64's), so that b^n and the partial products of the written powers stay normal numbers in b's own dtype.
    A number (the float32 bound, the smaller) where b is one; as a number, the float32 bound. Session 34: the
    float32 bound in float64 wrote (x·y)ⁿ where xⁿ·yⁿ as written rounds less (z·x⁵·y⁵ 4.26 ULP, written 1.7)."""
    nargs = 2

    @staticmethod
    def bits(m, float64=False) -> int:
        return (1000 if float64 else 120) // int(m)

    @classmethod
    def eval(cls, b, m):
        if b.is_number:
            return sp.Integer(2) ** cls.bits(m)
        return None

    def _eval_evalf(self, prec):
        return (sp.Integer(2) ** self.bits(self.args[1]))._eval_evalf(prec)

    # a power of 2 whatever b is: SymPy's assumptions did not know, and where b held a select of powers it took the
    # bound for a non-real number, refusing |b| ≤ PowerBound(b, m) (TypeError "Invalid comparison of non-real", a
    # traceback out of symnet.compile of an ISRU x/√(1 + (a·x)²); session 38's new user)
    def _eval_is_extended_real(self):
        return True

    def _eval_is_extended_positive(self):
        return True

    def _eval_is_finite(self):
        return True


def _shared_powers_node(node):
    from ..chains import shared_powers

    if not node.is_Mul:
        return node
    factors = shared_powers(node.args)
    if factors is None:
        return node
    # the written form where each base's power is normal in its dtype (|b| within 2^±(120/n) in float32, as
    # scaled-power's, 2^±(1000/n) in float64): it
    # rounds x·y once and not n times over ((x·y)³ carries x·y's rounding three times: ∂y of e^(−(x·y)³) 5.6 ULP
    # at moderate x, y in float64, written 3.4)
    taken = [a.as_base_exp() for a in node.args if a not in factors]  # the factors shared_powers took
    if all(e < 0 for _, e in taken):  # c/(x^a·y^b): the printers' quotient by exponents, far constants and all
        return node  # (test_cxy26: ∂y of 1e300/(x²·y) as 1e300·(1/(x·y))² was −0 at (3e10, 1e300) for −1.1e−321)
    n = max(int(sp.ceiling(abs(e))) for _, e in taken)
    # k bases: within 2^±(120/(n·(k − 1))) every partial product of the written powers is within 2^±120 too (three
    # bases at 2^±(120/n) made cube_z·x² 2^195 in float32: ∂x of (x·y·z)³ inf at (3e11, 1e−11, 2e11), session 33's
    # review); two bases as before
    # 2^(120/m) in float32, 2^(1000/m) in float64 (PowerBound: chosen where the code runs, by b's dtype)
    m = n * max(1, len(taken) - 1)
    normal = sp.And(*[sp.And(sp.Abs(b) <= PowerBound(b, m), sp.Abs(b) >= 1 / PowerBound(b, m)) for b, _ in taken])
    return sp.Piecewise((node, normal), (sp.Mul(*factors), True))


def _shared_powers(expr):
    """Every product of ``expr`` with two powers or more of integer exponent |n| ≥ 2 as
    :func:`~symnet.codegen.chains.shared_powers` puts it, innermost first; widened nodes and series kept whole."""
    from ..roots import SeriesBase

    if not isinstance(expr, sp.Basic) or not expr.has(sp.Pow):
        return expr
    return _bottom_up(expr, _shared_powers_node, leaves=_KEPT + (SeriesBase,))


SHARED_POWERS = Rule(
    "shared-powers", "x^a·y^b (integer |a|, |b| ≥ 2) as (x·y)^m·x^(a − m)·y^(b − m), m the least exponent (x²/y² "
    "as (x/y)², and SymPy's x^(3/2)/y of √x·(x/y) as (x/y)·√x), where a base lies beyond 2^±(120/n) in float32 "
    "and 2^±(1000/n) in float64 (PowerBound: the bound of the base's dtype, chosen where the code runs; float32's in "
    "float64 took (x·y)⁵, 4.26 ULP, where x⁵·y⁵ is 1.7), applied to a kernel's outputs together before "
    "common-subexpression elimination: SymPy writes "
    "(x·y)³ as x³·y³ and its derivatives as −3·x²·y³·e^(…); x³ overflows where y³ underflows, so e^(−(x·y)³) at "
    "(7.44e148, −6.57e−150) was inf·0 = NaN for 1.1239 and ∂x 0 (the printers' equal-powers came after CSE had "
    "made x³ and y³ temporaries); the product's power leaves the range only where the whole does",
    apply=lambda e: sp.Tuple(*[_shared_powers(a) for a in e.args]), fired=_rewrote)


# ------------------------------------------------------------------ cancelling-polynomial (session 41): Tukey's biweight
# c²/6·(1 − (1 − (r/c)²)³) where |r| < c, whose 1 − (1 − u)³ cancels at small r/c (its value r²/2 − …), and whose ∂c,
# c/3·(1 − (1 − u)³) − r²·(1 − u)²/c, cancels its leading terms r²/c; tested in tests/test_loss41.py


def _cancels(expr) -> bool:
    """Whether a sum in ``expr`` has monomials that cancel when it is expanded (1 − (1 − u)³: its 1 and −1)."""
    for a in sp.preorder_traversal(expr):
        if a.is_Add and sum(len(sp.Add.make_args(sp.expand(t))) for t in a.args) > len(sp.Add.make_args(sp.expand(a))):
            return True
    return False


def _cancelling_polynomial(expr):
    """An output (or a branch of an output that is a select) that is a quotient N/D of homogeneous polynomials in
    2 … 4 inputs whose written sums cancel, D a monomial → :func:`_homogeneous_quotient`'s form (factored, widened, at
    the inputs scaled by a power of two), and before it, where an input is ±inf, the leading term in it
    (:func:`_leading_terms`): leading branches of the output's select, which the NumPy printer computes on those
    elements alone; as it is otherwise."""
    def one(e):
        """(the scaled form, {x: the leading term in x}) for a quotient the rule takes, else None."""
        if not isinstance(e, sp.Expr) or e.is_number or not 2 <= len(e.free_symbols) <= 4:
            return None
        for n in sp.preorder_traversal(e):  # homogeneous-quotient's own test, first: nothing is expanded otherwise
            if not (n.is_Add or n.is_Mul or n.is_Symbol or n.is_Rational
                    or (n.is_Pow and n.exp.is_Integer and abs(n.exp) <= _HOMOGENEOUS_DEGREE)):
                return None
        if sp.count_ops(e) > _HOMOGENEOUS_OPERATIONS or not _cancels(e):
            return None
        n, d = sp.fraction(sp.cancel(sp.together(e)))
        if d.is_number or len(sp.Add.make_args(sp.expand(d))) != 1:
            return None
        scaled = _homogeneous_quotient(e, monomial=True)
        return None if scaled is None else (scaled, _leading_terms(n, d))

    pieces = expr.args if isinstance(expr, sp.Piecewise) else [(expr, sp.true)]
    taken = [one(e) for e, _ in pieces]
    if all(t is None for t in taken):
        return expr
    near = [(e if t is None else t[0], c) for t, (e, c) in zip(taken, pieces)]
    inputs = sorted(set().union(*[t[1] for t in taken if t is not None]), key=sp.default_sort_key)
    far = []
    for x in inputs:  # where x is ±inf: each taken branch's leading term in x (its scaled form where x is not in it)
        at = [(e if t is None else t[1].get(x, t[0]), c) for t, (e, c) in zip(taken, pieces)]
        far.append((at[0][0] if len(at) == 1 else sp.Piecewise(*at), sp.Abs(x) > _DBL_MAX))  # (limits': stripped
        # by without_infinite_limits, as the input-infinite-limit rule's selects)
    return sp.Piecewise(*far, (near[0][0] if len(near) == 1 else sp.Piecewise(*near), True))


def _leading_terms(n, d):
    """{x: the limit of n/d toward x = ±inf} for each input x: d a monomial, n's leading term
    in x, a·x^k, over d = b·x^m is (a/b)·x^(k − m), ±inf, 0 or a/b there (a, b free of x; NaN where a is 0 or another
    input is infinite too, as the written form's inf − inf). The scaled form is NaN at an infinite input (its 1/s is
    binade_reciprocal(inf) = 2, the scaled terms ±inf and their sums inf − inf: Tukey's y²/6·(1 − (1 − (x/y)²)³) at
    x = ±inf, torch inf; session 47). Not the written form: its parts are the derivatives' too, computed on every
    element then (the Tukey loss's select 1.5 to 2 times slower)."""
    terms = {}
    for x in sorted(n.free_symbols | d.free_symbols, key=sp.default_sort_key):
        top = sp.Poly(n, x)
        k, m = top.degree(), sp.degree(d, x)
        terms[x] = top.LC() / sp.cancel(d / x ** m) * x ** (k - m)
    return terms


CANCELLING_POLYNOMIAL = Rule(
    "cancelling-polynomial", "a quotient of homogeneous polynomials whose written sums cancel, over a monomial "
    "(Tukey's biweight c²/6·(1 − (1 − (r/c)²)³) where |r| < c: its 1 − (1 − u)³, u = (r/c)², cancels at small u, f "
    "4.999995000069349e−07 for 4.9999950000016669e−7 at c = 1, r = 1e−3, 6.39e4 ULP in float64, torch 2.39e5; its ∂c, "
    "c/3·(1 − (1 − u)³) − r²·(1 − u)²/c, cancels its leading terms r²/c: 6.7e10 ULP, torch 2.5e11), in a select's "
    "branch or alone: over one denominator and factored (r²·(3c⁴ − 3c²r² + r⁴)/(6c⁴), r⁴·(3c² − 2r²)/(3c⁵): the "
    "terms that cancel cancel symbolically), widened and at the inputs scaled by a power of two as the "
    "homogeneous-quotient rule writes it (exact: R(x) = s^d·R(x/s))", apply=_cancelling_polynomial,
    fired=_rewrote, before=True)


# ------------------------------------------------------------------ power-under-root (root49: ∂ of √(y^e) for a
# variable exponent e, y^(e − 1)·e/(2√(y^e)) and y^e·log(y)·e′/(2√(y^e)), past the range); tested in tests/test_root49.py


def _power_under_root(node):
    """A product holding t^(−1/2), t = y^e (y an input, e a variable exponent), and t·log y or y^(e − 1) beside it →
    the product with the pair as √t (t/√t, the same where t > 0; f's own root, not a pow more: log y is NaN where
    y < 0, and the product's limit at y = 0 is 0 where e > 0, inf·0 as √t·log y) or as ±|y|^(e/2 − 1) (y^(e − 1)/√t =
    y^(e/2 − 1) for
    y ≥ 0, −|y|^(e/2 − 1) for y < 0 where t ≥ 0: e an even integer there, y^(e − 1) negative), √t elsewhere (t < 0 or
    NaN: √t is NaN there, as the quotient); else None. The written pair forms y^(e − 1) or t apart, which leave the
    range or go subnormal where the product does not: ∂y of √(y^(3x + 1)) at y = +inf inf·0 = NaN for 0 or inf, at
    (60.97, 0.0181) 2.6e10 ULP (y^(3x) = 2.3e−319), NaN for +inf where the root overflows."""
    if not node.is_Mul:
        return None
    factors = list(node.args)
    roots = [f for f in factors if f.is_Pow and f.exp == sp.Rational(-1, 2) and f.base.is_Pow
             and f.base.base.is_Symbol and f.base.exp.free_symbols]
    if len(roots) != 1:
        return None
    (root,) = roots
    t = root.base
    y, e = t.base, t.exp
    for f in factors:
        if f is root:
            continue
        base, a = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if base != y and f != t:
            continue
        rest = sp.Mul(*[g for g in factors if g is not root and g is not f])
        if f == t and sp.log(y) in sp.Mul.make_args(rest):  # (f's own root, shared; its limit 0 at y = 0 where e > 0)
            return sp.Piecewise((0, sp.Eq(y, 0) & (e > 0)), (rest * sp.sqrt(t), True))
        if sp.expand(a - (e - 1)) == 0:
            slope = sp.Abs(y) ** sp.expand(e / 2 - 1)
            # (the rest inside each branch: a product the overflowing-product rules see whole, e/2·|y|^(e/2 − 1)
            # finite where |y|^(e/2 − 1) alone is not: √(y^x)'s ∂y at (−1e−300, 1e−310) was −inf for −5e9; review49)
            return sp.Piecewise((rest * slope, y >= 0), (-rest * slope, t >= 0), (rest * sp.sqrt(t), True))
    return None


def _powers_under_roots(expr):
    """:func:`_power_under_root` on every product of ``expr``, before the node-by-node pass (whose zero-power rule
    writes y^e and t^(−1/2) as selects first)."""
    return rewrite_nodes(_power_under_root, expr, sp.Pow)


POWER_UNDER_ROOT = Rule(
    "power-under-root", "t^(−1/2) of a power t = y^e with a variable exponent beside y^(e − 1) or t·log y in a product "
    "(∂y and ∂x of √(y^(3x + 1)): y^(3x)·(3x + 1)/(2√t), 3t·log y/(2√t)) forms y^(e − 1) and t apart, which leave the "
    "range or go subnormal where the product does not: NaN at y = +inf for 0 or inf (inf·0), 2.6e10 ULP at (60.97, "
    "0.0181) (y^(3x) = 2.3e−319 subnormal), NaN for +inf where the root overflows; t·log y/√t is √t·log y, f's root (0 "
    "at y = 0 where e > 0, its limit), and y^(e − 1)/√t is |y|^(e/2 − 1) for y ≥ 0, −|y|^(e/2 − 1) for y < 0 where "
    "t ≥ 0 (e an even integer), √t (NaN, as the quotient) where t < 0 or NaN",
    apply=_powers_under_roots, fired=_rewrote, before=True)


# ------------------------------------------------------------------ weib49 (issue 16, session 49, h-weib49: the
# quotient-power-near-one rule, the Weibull NLL's ∂λ = (k/λ)·(1 − (x/λ)^k) near x = λ)
_NEAR_ONE = (sp.Rational(1, 2), sp.Integer(2))  # a/b in it: a − b is exact (Sterbenz), log1p((a − b)/b) its log


def _input_quotient(q):
    """(a, b) for q = a/b, a and b two different inputs; else None."""
    if not q.is_Mul or len(q.args) != 2:
        return None
    num = [f for f in q.args if f.is_Symbol]
    den = [f.base for f in q.args if f.is_Pow and f.exp == -1 and f.base.is_Symbol]
    if len(num) != 1 or len(den) != 1 or num[0] == den[0]:
        return None
    return num[0], den[0]


def _quotient_power_near_one_node(node):
    """(a/b)^−m·(α·(a/b)^y + β) as SymPy derives it, a and b inputs, y not a number, m in {0, 1, −1} (the Weibull
    NLL's ∂λ, −(x·(k·(x/λ)^(k − 1) − λ·(k − 1)/x) − λ)/λ² = (k/λ)·(1 − (x/λ)^k), and ∂x, (k·(x/λ)^(k − 1) −
    λ·(k − 1)/x)/λ = (k·((x/λ)^k − 1) + 1)/x) → {(a/b)^−m·(α·expm1(y·L) + (α + β)) if 1/2 < a/b < 2 and |y·L| < 1;
    as written}, L = log1p((a − b)/b), a − b exact there (Sterbenz): near a = b the terms α·(a/b)^y and β no longer
    cancel, and a/b is not rounded first. Where α + β = 0 the other branch is α·((a/b)^y − 1), which the expm1 rule
    takes (expm1(y·log(a/b)) for |y·log(a/b)| < 1). Exact: (a/b)^y = e^(y·ln(a/b)) for a/b > 0. Found by writing
    a = b·w: the node times w^m is α·w^y + β, α and β free of w (its terms' powers of w, w·w^(k − 1), merged), α + β
    simplified. Near the node's own root, α·expm1(y·L) = −(α + β), this form cancels too, holding a/b's rounding once
    where the written form holds it |y| times."""
    if not (node.is_Mul or node.is_Add) or sp.count_ops(node) > 40:
        return None
    for p in node.atoms(sp.Pow):
        ab = _input_quotient(p.base)
        if ab is None or p.exp.is_number or not p.exp.free_symbols:
            continue
        a, b = ab
        w = sp.Dummy("w", positive=True)
        written = sp.expand(sp.powsimp(node.xreplace({a: b * w}), force=True))
        if written.has(a):
            continue
        for m in (0, 1, -1):
            subbed = sp.expand(written * w ** m)
            for wp in subbed.atoms(sp.Pow):
                if wp.base != w or wp.exp.is_number:
                    continue
                y = wp.exp
                parts = sp.collect(subbed, wp, evaluate=False)
                if set(parts) != {wp, sp.S.One}:
                    continue
                alpha, beta = parts[wp], parts[sp.S.One]
                if alpha.has(w) or beta.has(w):
                    continue
                # weib51: β as one quotient, (1 − k)/λ where SymPy expands it 1/λ − k/λ; the two terms cancel at k
                # near 1, and the double words below lose their roundings' 2⁻¹⁰⁶ of 1/λ against (k − 1)/λ and again
                # at the root (Weibull with log x apart, ∂x at k = 1 + 3.2e−11: 2.12e4 ULP; 1 − k is exact)
                beta = sp.factor_terms(sp.together(beta))
                rest = sp.simplify(alpha + beta)
                if sp.count_ops(rest) > sp.count_ops(beta) + 2:
                    continue
                q = a / b
                z = y * log1p((a - b) / b)
                near = (q > _NEAR_ONE[0]) & (q < _NEAR_ONE[1]) & (sp.Abs(z) < 1)
                alpha, rest = alpha.xreplace({w: q}), rest.xreplace({w: q})
                if rest == 0:  # (elsewhere α·(b^y − 1), which the expm1 rule takes: expm1(y·log(a/b)) for |…| < 1)
                    return alpha * sp.Piecewise((expm1(z), near), (q ** y - 1, True))
                near_sum = alpha * expm1(z) + rest
                # weib50: at the node's own root α·q^y = −β either form cancels (α·expm1(y·L) against α + β near
                # a = b, α·q^y against β elsewhere; ∂x of the Weibull NLL at k·(x/λ)^k = k − 1: 7.64 ULP, torch
                # 0.36), so q^−m·(α·q^y + β) in double words (q and its power to 2⁻¹⁰⁴ or so) where the term that
                # cancels is past twice the sum; elsewhere its rounding is at most doubled. One select: a widened
                # node in two branches is a temporary of the whole block, computed at every element.
                cancels = (near & (sp.Abs(alpha * expm1(z)) > 2 * sp.Abs(near_sum))) \
                    | (~near & (sp.Abs(beta) > 2 * sp.Abs(alpha * q ** y + beta)))
                # (in a float32 kernel the float64 body is enough up to a 2²⁰-fold cancellation, where it is off by
                # 2⁻³³ at most; past it, 14 float32 ULP within 10⁻¹⁰ of the root: double words there)
                body = q ** -m * (alpha * q ** y + beta)
                hard = (near & (sp.Abs(alpha * expm1(z)) > 2 ** 20 * sp.Abs(near_sum))) \
                    | (~near & (sp.Abs(beta) > 2 ** 20 * sp.Abs(alpha * q ** y + beta)))
                return sp.Piecewise((widen(body, in_float32=True), hard), (widen(body), cancels),
                                    (q ** -m * near_sum, near), (node, True))
    return None


def _quotient_powers_near_one(expr):
    """Every node :func:`_quotient_power_near_one_node` rewrites, rewritten (outermost first)."""
    return _top_down_having(expr, sp.Pow, _quotient_power_near_one_node, (sp.Piecewise,))


QUOTIENT_POWER_NEAR_ONE = Rule(
    "quotient-power-near-one", "c·((a/b)^y − 1) of two inputs a, b (the Weibull NLL's ∂λ = (k/λ)·(1 − (x/λ)^k), as "
    "derived −(x·(k·(x/λ)^(k − 1) − λ·(k − 1)/x) − λ)/λ²) cancels where a/b is near 1, and even expm1(y·log(a/b)) "
    "holds a/b rounded: 36,840 ULP in float64 at k = 3.5, λ = 0.8, x = 0.800008 (torch 487), 3.2e6 at k = 2, "
    "λ = 1.5, x = λ(1 + 1e−9); it is c·expm1(y·L) exactly, L = log1p((a − b)/b), for 1/2 < a/b < 2 (a − b exact) "
    "where also |y·L| < 1; as written elsewhere (with the expm1 rule); so is α·(a/b)^y + β (∂x, (k·(x/λ)^k − k + 1)/x, "
    "3.86 ULP at 6 of 300 points near x = λ, torch 13; 264 at realistic ones near its root, torch 285) as "
    "α·expm1(y·L) + (α + β); near its own root α·(a/b)^y = −β either form cancels (∂x 7.64 ULP at k = 1.99436, "
    "λ = 0.77983, x = 0.57510, torch 0.36; 6.4e11 within 10⁻¹² of the root), so where the cancelling term is past "
    "twice the sum it is (a/b)^−m·(α·(a/b)^y + β) in double words, rounded once",
    apply=_quotient_powers_near_one, fired=_rewrote, before=True)


# ------------------------------------------------------------------ charb51 (issue 16, session 51, h-charb51: the
# power-of-sum-difference rule, the generalised Charbonnier loss (c² + d²)^(q/2) − c^q and its ∂c, where d² ≪ c²)

def _grouped_over_square(r, c):
    """:func:`_over_square`'s r/c², as a list of terms, with each (v/c)² as a square of the quotient kept whole,
    Grouped(v/c)² (charb52: a product s·g·(v/c)² would be merged into s·g·v²·c⁻², and the common subexpressions then
    took the near branch's log1p((v/c)²) of v²·c⁻² too: ∂c 4.6 ULP where it was 2.3)."""
    return _over_square_terms(r, c, lambda q: Grouped(q))


def _over_square(r, c):
    """r/c² with each square w·v² of ``r`` as w·(v/c)² (so neither v² nor c² is formed) and any other term as
    (term/c)/c."""
    return sp.Add(*_over_square_terms(r, c, lambda q: q))


def _over_square_terms(r, c, quotient):
    """The terms of r/c²: each square w·v² as w·quotient(v/c)², any other term as (term/c)/c."""
    out = []
    for term in sp.Add.make_args(r):
        w, v = sp.S.One, None
        for f in sp.Mul.make_args(term):
            if v is None and isinstance(f, sp.Pow) and f.exp == 2 and not f.base.is_number:
                v = f.base
            else:
                w *= f
        out.append(w * quotient(v / c) ** 2 if v is not None else term / c / c)
    return out


def _logged_power_difference(a, b, pw, X, g, c, R):
    """a = A·X^g·log X, b = −2A·c^(2g)·log c (the ∂q of (c² + R)^(q/2) − c^q) → {S·(2·expm1(z)·log c + e^z·L) if
    c > 0 and |z| < 1; a + b}, S = A·c^(2g) as written in b, L = log1p(R/c²), z = g·L. Exact: log X = 2·log c + L and
    X^g = c^(2g)·e^z for c > 0. None where a, b are not so."""
    if not a.has(sp.log(X)) or not b.has(sp.log(c)):
        return None
    A = a / (pw * sp.log(X))
    if A.has(sp.log(X)) or A.has(X):
        return None
    S = -b / (2 * sp.log(c))
    if S.has(sp.log(c)) or (S != A * c ** (2 * g) and sp.expand(sp.powsimp(A * c ** (2 * g) - S, force=True)) != 0):
        return None
    ratio = _over_square(R, c)
    L = log1p(ratio)
    z = g * L
    # charb52: where R/c² is below 2⁻⁹⁶⁰ (subnormal, or 0: c = 5.05e161, d = 2.5), S·ρ·(2g·log c + 1), each term of ρ
    # a product taken by exponents (the (d/c)² it holds not formed first)
    tiny = S * widen(2 * g * sp.log(c) + 1)
    # (the two terms cancel near ∂q's own root g·log c = −1/2: in double words, widen's)
    grouped = _grouped_over_square(R, c)
    return sp.Piecewise((sp.Add(*[tiny * r for r in grouped]), _tiny_ratio(c, g, grouped)),
                        (S * widen(2 * expm1(z) * sp.log(c) + sp.exp(z) * L), sp.And(c > 0, sp.Abs(z) < 1)),
                        (widen(a + b, in_float32=True), True))


# charb52: the ratio R/c² below which s·expm1(g·log1p(R/c²)) is taken as s·g·R/c² (and ∂q's sum to first order): there
# log1p(ρ) = ρ and expm1(g·ρ) = g·ρ to 2⁻⁹⁶⁰ (with |g| < 2⁴⁰⁰), far below any rounding, and ρ = (d/c)² as computed is
# subnormal or 0 below 2⁻¹⁰²² (c = 5.05e161, d = 2.5: f 0 for 1.19e−275); the product s·g·(d/c)² taken by exponents
_TINY_RATIO = sp.Rational(1, 2 ** 960)


def _tiny_ratio(c, g, ratio):
    """c > 0, |g| < 2⁴⁰⁰ and |R/c²| below :data:`_TINY_RATIO`, ``ratio`` its terms (:func:`_grouped_over_square`; as
    computed, 0 where one underflowed)."""
    return sp.And(c > 0, sp.Abs(g) < 2 ** 400, sp.Abs(sp.Add(*ratio)) < _TINY_RATIO)


def _power_of_sum_difference_node(node):
    """a·X^g − a·c^(2g)·(the rest of a), X = c² + R a sum → {s·expm1(g·log1p(R/c²)) if c > 0 and |g·log1p(R/c²)| < 1;
    as written}, s = the written a·c^(2g) (the second term's negation). Exact: for c > 0, X^g = c^(2g)·(1 + R/c²)^g =
    c^(2g)·e^(g·log1p(R/c²)). None where ``node`` is no such sum."""
    if not node.is_Add or len(node.args) < 2 or sp.count_ops(node) > 80:
        return None
    terms = node.args
    for i, a in enumerate(terms):
        for pw in sp.Mul.make_args(a):
            if not (isinstance(pw, sp.Pow) and pw.base.is_Add and not pw.exp.is_number):
                continue
            X, g = pw.base, pw.exp
            for s in X.args:
                if not (isinstance(s, sp.Pow) and s.exp == 2 and s.base.free_symbols and not s.base.is_number):
                    continue
                c = s.base
                R = X - s
                if not R.free_symbols or c.is_Add:
                    continue
                for j, b in enumerate(terms):
                    if j == i:
                        continue
                    logged = _logged_power_difference(a, b, pw, X, g, c, R)
                    if logged is not None:
                        rest = sp.Add(*[t for k, t in enumerate(terms) if k not in (i, j)])
                        return logged + rest
                    scale = -b
                    if a * c ** (2 * g) / pw != scale and sp.expand(sp.powsimp(a * c ** (2 * g) / pw, force=True)
                                                                     - scale) != 0:
                        continue
                    ratio = _over_square(R, c)
                    z = g * log1p(ratio)
                    rest = sp.Add(*[t for k, t in enumerate(terms) if k not in (i, j)])
                    near = sp.And(c > 0, sp.Abs(z) < 1)
                    grouped = _grouped_over_square(R, c)
                    tiny = sp.Add(*[scale * g * r for r in grouped])
                    return sp.Piecewise((tiny, _tiny_ratio(c, g, grouped)), (scale * expm1(z), near),
                                        (widen(a + b, in_float32=True), True)) + rest
    return None


def _power_of_sum_differences(expr):
    """Every sum :func:`_power_of_sum_difference_node` rewrites outside a select, rewritten (outermost first)."""
    return _top_down_having(expr, sp.Pow, _power_of_sum_difference_node, (sp.Piecewise,))


POWER_OF_SUM_DIFFERENCE = Rule(
    "power-of-sum-difference", "a power of a sum minus the power of its larger term, (c² + d²)^(q/2) − c^q (the "
    "generalised Charbonnier loss; its ∂c q·(c·(c² + d²)^(q/2 − 1) − c^(q − 1))), cancels where d² ≪ c²: −5.8e−26 "
    "(wrong sign) for 1.5e−35 in float64 at c = 1e20, d = 1, q = 0.3 (torch 0), 6,340 ULP in float32 at c = 2.5, "
    "d = 9.7e−7, q = 1; for c > 0 it is c^q·expm1((q/2)·log1p((d/c)²)) exactly, taken where |(q/2)·log1p(…)| < 1; as "
    "written elsewhere; ∂q, X^(q/2)·log(X)/2 − c^q·log c, is c^q·(2·expm1(z)·log c + e^z·L)/2 there (L = log1p((d/c)²), "
    "z = (q/2)·L; in double words: it cancels near q·log c = −1); where (d/c)² < 2⁻⁹⁶⁰ (subnormal at c = 5.05e161, "
    "d = 2.5: f 0 for 1.19e−275) c^q·(q/2)·(d/c)², taken by exponents (expm1 and log1p to first order, to 2⁻⁹⁶⁰); the "
    "written branch widened in float32 too, so computed where the select takes it alone",
    apply=_power_of_sum_differences, fired=_rewrote, before=True)


# ------------------------------------------------------------------ affine-norm-sum (issue 16, session 52, h-ln52:
# the affine LayerNorm's γ·n + β where γ·n ≈ −β; tested in tests/test_ln52.py)

_AFFINE_NORM_RANGE = sp.Float(2.0 ** 480)  # every input below it: the double words' squares and products stay finite


def _linear_in_inputs(e) -> bool:
    """``e`` a polynomial of degree 1 in its inputs (a − (a + b + c)/3), or an input."""
    if not e.free_symbols or e.has(sp.Function, sp.Piecewise, sp.Indexed):
        return False
    p = sp.Poly(e, *sorted(e.free_symbols, key=sp.default_sort_key))
    return p.total_degree() == 1


def _affine_norm_parts(node):
    """``node`` β + T: an input β (times a number) that T does not hold, and T a product of numbers, inputs, a linear
    form of inputs and one reciprocal square root of a quadratic sum of three inputs or more plus a positive number (a
    variance plus ε) → (β term, T); None elsewhere."""
    if not (isinstance(node, sp.Expr) and node.is_Add and len(node.args) == 2):
        return None
    for i, shift in enumerate(node.args):
        rest = node.args[1 - i]
        c, x = shift.as_coeff_Mul()
        if not (x.is_Symbol and c.is_Rational and c != 0) or x in rest.free_symbols or not rest.is_Mul:
            continue
        roots = [f for f in rest.args if f.is_Pow and f.exp == -sp.S.Half]
        # (a root of two inputs, LayerNorm-2's: the widen rule takes the whole sum already, 0.50 ULP, on every element)
        if len(roots) != 1 or not roots[0].base.is_Add or len(roots[0].base.free_symbols) < 3:
            continue
        base = roots[0].base
        if base.has(sp.Function, sp.Piecewise, sp.Indexed) or sp.count_ops(base) > 200:
            continue
        if sp.Poly(base, *sorted(base.free_symbols, key=sp.default_sort_key)).total_degree() != 2:
            continue
        if not any(t.is_number and t > 0 for t in base.args):  # (+ ε: the root never 0, nor tiny)
            continue
        others = [f for f in rest.args if f is not roots[0]]
        linear = [f for f in others if not (f.is_number or f.is_Symbol)]
        if len(linear) != 1 or not _linear_in_inputs(linear[0]) or len(rest.free_symbols) < 2:
            continue
        return shift, rest
    return None


def _affine_norm_sum(node):
    """β + γ·n (n a normalised input, (a − μ)/√(σ² + ε)) → {as written if an input is past 2⁴⁸⁰; f64(β + γ·n) where
    γ·n ≈ −β (|β + γ·n| < |γ·n|, < 2|γ·n|/3 above |β|); as written}: the same sum, in double words where it cancels
    (exact: a select of one sum)."""
    parts = _affine_norm_parts(node)
    if parts is None:
        return None
    shift, rest = parts
    inputs = sorted(node.free_symbols, key=sp.default_sort_key)
    far = sp.Max(*[sp.Abs(x) for x in inputs]) > _AFFINE_NORM_RANGE
    # where γ·n = γ·L/√S is of the other sign than β and |β|/2 < |γ·n| < 3|β| (n's rounding magnified past 1, past 3/2
    # above |β|), written without the root (β·γ·L < 0, β²·S < 4·(γ·L)² < 36β²·S) so that the select computes no
    # second n: there in double words (the widened sum gathered there alone); past 2⁴⁸⁰ (the hypot rule's scaled
    # root, computed there alone) and elsewhere as written
    root = next(f for f in rest.args if f.is_Pow and f.exp == -sp.S.Half)
    top = rest / root
    near = sp.And(shift * top < 0, shift ** 2 * root.base < 4 * top ** 2, top ** 2 < 9 * shift ** 2 * root.base)
    return sp.Piecewise((node, far), (widen(node), near), (node, True))


def _affine_norm_sums(expr):
    """Every sum :func:`_affine_norm_sum` rewrites outside a select or a widened node (outermost first)."""
    return _top_down_having(expr, sp.Pow, _affine_norm_sum, (sp.Piecewise, WidenedBase))


AFFINE_NORM_SUM = Rule(
    "affine-norm-sum", "an input plus a product holding a normalised input, β + γ·(a − μ)/√(σ² + ε) (the affine "
    "LayerNorm), cancels where γ·n ≈ −β: n's own roundings (the difference, the variance, the root, the quotient: "
    "about 2 ULP of n) times |γ·n/(β + γ·n)|, 40.6 ULP in float64 at LayerNorm-3's (1.2235, 1.1634, −1.4122, 2.9195, "
    "−2.0924) (torch 23.4); where γ·n is of β's other sign, |β|/2 < |γ·n| < 3|β| (tested without the root) and every "
    "input is below 2⁴⁸⁰, the whole sum is computed as the widen rule computes a sum (double words, the root and the "
    "quotient too) and rounded once (0.50 ULP there); as written elsewhere",
    apply=_affine_norm_sums, fired=_rewrote, before=True)
