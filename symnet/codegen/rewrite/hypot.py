"""Hypot rules: conjugate, hypot-scaling, hypot-slope, hypot-sign, scaled-asinh.

Its blocks, in the order of the module rewrite.py that session 43 split into this package: conjugate, hypot-slope,
hypot-sign, hyp42, break43, hyp43.
"""
from __future__ import annotations

import functools
import math

import mpmath
import sympy as sp

from ...records import BoundedRecord
from ...special import binade_reciprocal, hypot_gap_slope
from .core import _Final, _Fired, _positive, _positive_number, _rewrote, Rule
from .widening import (_atoms, _KEPT, _top_down, _top_down_having, Grouped, steps_by_power_of_two, ungroup, widen,
                        WidenedBase, written_where_not_finite, WrittenWhereNotFiniteOrBelowBase)
from .stabiliser import _rewritten
from .losses import _HYPOT_SUM_WRITTEN, _hypot_threshold, _sum_of_squares
from .quotients import _as_math, _homogeneous_quotient
from .limits import _DBL_MAX


# ------------------------------------------------------------------ conjugate (session 10: the pseudo-Huber loss
# δ²(√(1 + ((p − t)/δ)²) − 1) was inf in float32 at 19 points and 0 for 1e-5-sized u); tested in tests/test_phuber10.py


def _written_form(e):
    """``e`` with each Piecewise the scaling rules leave (scaled-square, hypot and the rules below: a written branch
    beside a scaled one, which holds a Grouped factor or an Abs) replaced by its written branch; None where a
    Piecewise has no single such branch (a Piecewise of the user's own)."""
    def pick(pw):
        plain = [b for b, _ in pw.args if not b.has(Grouped, sp.Abs)]
        if len(plain) != 1:
            raise ValueError(pw)
        return plain[0]

    try:
        return e.replace(lambda n: isinstance(n, sp.Piecewise), pick)
    except ValueError:
        return None


def _square_term(term):
    """(w, v) for a term w·v², w > 0 a number and v a product of powers of non-numbers ((p − t)²/δ² is
    1·((p − t)/δ)²); None otherwise."""
    w, rest = term.as_coeff_Mul()
    if not w.is_positive or rest == 1:
        return None
    v = sp.S.One
    for f in sp.Mul.make_args(rest):
        b, e = f.as_base_exp()
        if b.is_number or not (e.is_Integer and e % 2 == 0):
            return None
        v *= b ** (e / 2)
    return w, v


def _hypot_parts(a):
    """(c, w, v) for a = c + w·v² (c > 0 a number, one square term), else None."""
    c, terms = a.as_coeff_Add()
    squares = [_square_term(t) for t in sp.Add.make_args(terms)]
    if not (c.is_positive and len(squares) == 1 and squares[0] is not None):
        return None
    return (c, *squares[0])


def _hypot_quotient(node):
    """(c + w·v²)^{±1/2} with v a quotient or product ((p − t)/δ: the hypot rule wants v² written as one power, and
    the scaled-square rule has made the sum 1 + Piecewise by now) → |v|^{±1}·(w + c·(1/v)²)^{±1/2} where |v| > 1,
    1/v one factor (≤ 1 there: neither v² nor δ² is formed); the node as it is elsewhere."""
    if not (node.is_Pow and node.exp in (sp.S.Half, -sp.S.Half)):
        return None
    written = _written_form(node.base)
    parts = None if written is None else _hypot_parts(written)
    if parts is None or parts[2].is_Pow or parts[2].is_Symbol:  # v a power or symbol: the hypot rule's case
        return None
    c, w, v = parts
    inverse = Grouped(1 / v)
    # |v|^−1 as |1/v|: v itself overflows where 1/v is merely tiny (p − t = −3.4e38, δ = 9.2e−4 in float32)
    outside = sp.Abs(v) if node.exp > 0 else sp.Abs(inverse)
    scaled = outside * (w + c * inverse * inverse) ** node.exp
    return _Final(_Fired(sp.Piecewise((scaled, sp.Abs(v) > 1), (node, True)), ["hypot"]))


def _root_term(term):
    """(k, √A's node, A) for a term k·√A, k > 0 a number (√A or a Piecewise the scaling rules made of it), else None."""
    k, root = term.as_coeff_Mul()
    written = _written_form(root) if isinstance(root, sp.Piecewise) else root
    if k.is_positive and written is not None and written.is_Pow and written.exp == sp.S.Half:
        a = _written_form(written.base)
        return None if a is None else (k, root, a)
    return None


def _conjugate(node):
    """√A − B → (A − B²)/(√A + B) where A − B² simplifies to one term (√(1 + u²) − 1 = u²/(√(1 + u²) + 1),
    √(x² + c) − x = c/(√(x² + c) + x), √(x + 1) − √x = 1/(√(x + 1) + √x)): the difference of two nearly equal
    numbers becomes a sum of two non-negative ones. B a positive number or a square root: the conjugate form
    everywhere; any other B: where B > 0 (where B ≤ 0 the written form adds two non-negative numbers). For
    A = c + w·v², B = b a number with b² = c (A − B² = w·v², the pseudo-Huber case) and |v| > 1, the form
    |v|·w/(√(w + c·(1/v)²) + b·|1/v|), which forms neither v² nor its overflow (the result ≈ |v|·√w is finite)."""
    if not node.is_Add:
        return None
    roots = [(t, _root_term(t)) for t in node.args]
    roots = [(t, r) for t, r in roots if r is not None]
    if len(roots) != 1:
        return None
    ((whole, (k, term, a)),) = roots
    rest = (node - whole) / k  # k·(√A − B): 2(√(1 + u²) − 1) is 2√(1 + u²) − 2 to SymPy
    if not rest.could_extract_minus_sign() and _nonnegative_form(rest):  # √A + B, B ≥ 0: no cancellation (and the
        return None  # form this rule leaves); x + √(x² + 4) (squareplus) is √A − B with B = −x, cancelling at x < 0
    b = _written_form(-rest)
    if b is None:
        return None
    d = a - b ** 2  # SymPy's own collection of like terms: (1 + u²) − 1 = u², (x² + c) − x² = c
    if d.is_Add:
        d = sp.expand(d)
    if d == 0 or d.is_Add or d.has(sp.Piecewise):
        return None
    # final: √A and B are stabilised already (the bottom-up pass), A − B² here (u² is the scaled-square rule's);
    # visiting the result again would rewrite its written branch (√A − B where B ≤ 0) once more, without end
    difference = d  # A − B² as SymPy collects it (its inputs decide the select at an infinite one)
    d, inner = _rewritten(k * d)
    names = ["conjugate"] + [r.name for r in inner]
    conjugate = d / (term - rest)
    if b.is_positive and b.is_number:
        parts = _hypot_parts(a)
        if parts is not None and parts[0] == b ** 2:
            c, w, v = parts
            inverse = Grouped(1 / v)
            large = k * sp.Abs(v) * w / (sp.sqrt(w + c * inverse * inverse) + b * sp.Abs(inverse))
            result = sp.Piecewise((large, sp.Abs(v) > 1), (conjugate, True))
            _CONJUGATE_PARTS[result] = (k, c, w, v)  # for the hypot-scaling rule: B²·(this), v = a/B
            return _Final(_Fired(result, names))
        if b < _CONJUGATE_FAR_B:  # session 47 (h-break47): √(1 + x) − 1 = x/(√(1 + x) + 1) was inf/inf = NaN at
            # x = +inf (torch inf, float32 and float64); where A is past 2¹⁰²², √A ≥ 2⁵¹¹ and b ≤ 2⁻¹¹¹·√A: √A − b
            # rounds to √A itself (inf at A = inf; h-inf47's select at an infinite input is not needed beside it)
            return _Final(_Fired(sp.Piecewise((conjugate, a < sp.Float(2.0 ** 1022)), (whole, True)), names))
        return _Final(_Fired(_root_where_infinite(conjugate, k * term, a, b, difference), names))
    if isinstance(b, sp.Pow) and b.exp == sp.S.Half:  # (root45: 0/0 at √A = B = 0)
        return _Final(_Fired(_root_where_infinite(_conjugate_at_zero(conjugate, k * term, -rest), k * term, a, b,
                                                  difference), names))
    # session 32 (h-review32): √A + B overflows where both are near the largest number though the result is tiny:
    # squareplus (x + √(x² + 4))/2 = 2/(√(x² + 4) − x) was 0 in float64 at x ≤ −8.99e307 for ≈ −1/x (1.1e−308, a
    # subnormal). There scaled: (d/s)/(√A/s + B/s), s = 2^j ≥ 4·max(1, |b|) for B = b·v (√A ≈ |b·v| where A − B²
    # is one term), each part exact (normal numbers: √A ≥ 2^511 there), √A/s taken before √A is formed
    # (:func:`_scaled_root`), the sum ≈ 2|b·v|/s ≤ |v|/2 finite; as before where B and A as written stay below
    # 2^1022 (A overflowing: its test false). Session 34: halves (s = 2) were not enough where √A ≈ B ≈ 2|x| (2x +
    # √(4x² + 1) at x = −9.46e307: √A/2 + B/2 = 1.89e308 overflowed, 0 for 2.64e−309; 3x + √(9x² + 2) likewise)
    moderate = sp.And(b < sp.Float(2.0 ** 1022), a < sp.Float(2.0 ** 1022))
    # the whole constant factor of B (√5·x: √5, not its rational part 1; session 34's review: √5·x + √(5x² + 1) at
    # −1.7e308 was 0 for 1.3e−309 with s = 4)
    coefficient = abs(float(rest.as_independent(*rest.free_symbols, as_Add=False)[0]))
    scale = sp.Integer(2) ** min(64, 2 + max(0, math.ceil(math.log2(coefficient)) if coefficient > 1 else 0))
    halved = (d / scale) / (_scaled_root(term, scale) - rest / scale)
    result = sp.Piecewise((conjugate, sp.And(b > 0, moderate)), (halved, b > 0), (node, True))
    return _Final(_Fired(_root_where_infinite(result, k * term, a, b, difference), names))


def _root_where_infinite(conjugate, root, a, b, d):
    """{k·√A where an input of A that B does not hold, and A − B² holds in its numerator alone, is ±inf; the conjugate
    form elsewhere}: there A − B² is ±inf, A = B² + (A − B²) is +inf (or −inf, √A NaN) and B finite, so k·(√A − B) is
    k·√A = +inf (or NaN), but the conjugate's (A − B²)/(√A + B) inf/inf = NaN (√(x² + ε) − √ε and √(x² + ε²) − ε at
    x = ±inf, ε = 1: NaN for inf, torch inf; session 47). k·√A, not the written k·(√A − B): √A is the conjugate's own
    term, already computed, and the written difference is rewritten by later rules (√(x + 1) − 1 into a series and a
    widened sum computed on every element: 1.6× float64, 2.1× float32). An input B holds too (√(x² + 1) − x) keeps the
    conjugate form, whose limit it holds; one in a denominator of A − B² (√(1 + 1/x) − 1) too: the form is 0/2 there."""
    top, bottom = sp.fraction(sp.together(d))
    alone = sorted((a.free_symbols - b.free_symbols) & (top.free_symbols - bottom.free_symbols), key=sp.default_sort_key)
    if not alone:
        return conjugate
    return sp.Piecewise((root, sp.Or(*[sp.Abs(x) > _DBL_MAX for x in alone])), (conjugate, True))


_CONJUGATE_FAR_B = sp.Integer(2) ** 400  # b below this: √A ≥ 2⁵¹¹ is past 2¹¹¹·b where A ≥ 2¹⁰²²


def _scaled_root(term, scale):
    """√A/scale (a power of two) with the scale taken before √A is formed: in the hypot rule's scaled branch
    |v|·√(w + c/v²), as |v|/scale times the root (|v| > 2⁵⁹ there: exact), where √A ≈ √w·|v| itself overflows past
    1/√w of the largest number although √A/scale does not (2x + √(4x² + 1) at x = −9.46e307 was 0 for 2.64e−309 in
    float64, in Triton's float32 kernel at x = −1.79e38 0 for 1.4e−39); √A/scale as written elsewhere (√A of a
    finite A is finite)."""
    if not isinstance(term, sp.Piecewise):
        return term / scale

    def scaled(branch):
        by_binade = _scaled_root_by_binade(branch, scale)  # (user44: the hypot rule's √S/r, the scale taken first)
        if by_binade is not None:
            return by_binade
        factors = sp.Mul.make_args(branch)
        outside = [f for f in factors if isinstance(f, sp.Abs)]
        if not outside:
            return branch / scale
        return sp.Mul(*[Grouped(f / scale) if f is outside[0] else f for f in factors])

    return sp.Piecewise(*[(scaled(branch), cond) for branch, cond in term.args])


def _nonnegative_form(e) -> bool:
    """``e`` is ≥ 0 for every real input by its form: a non-negative number, a square root, a positive form."""
    return bool(e.is_nonnegative) or _positive(e) or (e.is_Pow and e.exp == sp.S.Half)


def _conjugate_quotient(node):
    """c + g/√A (c a number; 1/√A or a Piecewise the scaling rules made of it) is (c·√A + g)/√A, whose numerator is
    c·(√A − B), B = −g/c: → c·(A − B²)·r/(1/r + B), r = 1/√A, where A − B² simplifies to one term (squareplus′
    (1 + x/√(x² + 4))/2, B = −x: 2r/(1/r − x); the pseudo-Huber loss's ∂δ, δ/√(δ² + u²) − 1, B = δ: −u²·r/(1/r + δ));
    where B > 0 (everywhere for B a positive number or a root) and A as written does not overflow, the node as written
    elsewhere (where it does, r may be 0: c + g·0 is c). None where it does not apply."""
    if not node.is_Add:
        return None
    # c the whole constant term, not only its rational part: √5 + 5x/√(5x² + 1) (∂ of √5·x + √(5x² + 1)) and
    # (3√2 + 2x/√(2x²/9 + 1))/9 were c = 0 to as_coeff_Add, so never taken: 0 at x = −1e10 for 1.1e−20 (7e15 ULP)
    c = sp.Add(*[t for t in node.args if t.is_number])
    rest = sp.Add(*[t for t in node.args if not t.is_number])
    rest = _HYPOT_SUM_WRITTEN.get(rest, rest)  # the hypot rule's select of δ·W^(−1/2) (W a sum of squares): as written
    if c == 0 or rest.is_Add or not rest.free_symbols:
        return None
    found = []
    for f in sp.Mul.make_args(rest):
        written = _written_form(f) if isinstance(f, sp.Piecewise) else f
        if written is not None and written.is_Pow and written.exp == -sp.S.Half:
            found.append((f, written))
    if len(found) != 1:
        return None
    ((r, written),) = found
    a = _written_form(written.base)
    if a is None:
        return None
    b = -sp.Mul(*[f for f in sp.Mul.make_args(rest) if f is not r]) / c  # not rest/r: a Piecewise r stays
    if b.is_number and len(node.free_symbols) == 1:  # 1 − 1/√(x² + 1), 0 at x = 0: the vanishing-series rule's
        return None  # (its series holds where x² underflows: log(x − asinh x)′ at x = 1e−200, test_series24)
    if b.has(r) or b.has(sp.Piecewise):
        return None
    d = a - b ** 2
    if d.is_Add:
        d = sp.expand(d)
    if d == 0 or d.is_Add or d.has(sp.Piecewise):
        return None
    square = _square_term(d)  # A − B² = w·v²: c·w·(v·r)·(v/(1/r + B)), v² not formed (it overflows where the
    bounded, scaled_piece = True, None  # (the form only where A as written is finite: below)
    if square is not None:  # result does not: 1 − 1/√(x² + 1), the derivative of x − asinh x, at x = 1e200)
        w, v = square
        conjugate, names = c * w * Grouped(v * r) * Grouped(v / (1 / r + b)), ["conjugate"]
        scaled_piece = _conjugate_scaled(c * w, v, r, b)  # (user44: where W is subnormal or overflows)
    else:
        whole = c * d
        d, inner = _rewritten(whole)
        names = ["conjugate"] + [rule.name for rule in inner]
        conjugate = d * r / (1 / r + b)
        if whole.is_number:
            # c·(A − B²)/(√A·(√A + B)) widened (double-word in float64, float64 in float32), rounded once, where A
            # stays below 2⁹⁹⁶ (no square overflows): squareplus′ at x = −537.02 was 4.11 ULP in float64 as
            # r/(1/r + B), r and 1/r rounded apart after the hypot rule's |x|·√(1 + 4/x²) (about 7 roundings)
            root = sp.sqrt(a)
            conjugate = sp.Piecewise((widen(whole / (root * (root + b))), a < sp.Float(2.0 ** 996)),
                                     (conjugate, True))
            # where A overflows, c·(A − B²)·r/(1/r + B) is 0 (or subnormal) as the result is: r > 0 is finite or 0
            # and 1/r + B infinite; the written c + g·r was −2.2e−16 at x = −1.797e308 and NaN at −inf (limit 0)
            bounded = False
    # where A as written overflows (an infinite input, or (p − t)² past the largest number), the written form's:
    # r may be 0 there, and (v·r)·(v/(1/r + B)) 0·∞ or 0 where c + g·0 is c (float64's largest number as the
    # bound: the same test in float32, whose overflow of A is then its own)
    positive = (b.is_positive and b.is_number) or (isinstance(b, sp.Pow) and b.exp == sp.S.Half)
    finite = a <= sp.Float("1.7976931348623157e308")
    if not bounded:
        finite = sp.true
    elif square is None and isinstance(r, sp.Piecewise) and _hypot_scaled_where_overflowing(a):
        finite = _inputs_finite(a)
    where = finite if positive else sp.And(b > 0, finite)
    pieces = [(conjugate, where), (node, True)]
    if scaled_piece is not None:  # (user44: the scaled form wherever it is taken, A as written finite or not)
        pieces.insert(0, (scaled_piece[0], scaled_piece[1] if positive else sp.And(b > 0, scaled_piece[1])))
    return _Final(_Fired(sp.Piecewise(*pieces), names))


def _conjugate_forms(node):
    """The conjugate rule: √A − B (:func:`_conjugate`), then c + g/√A (:func:`_conjugate_quotient`)."""
    found = _conjugate(node)
    return found if found is not None else _conjugate_quotient(node)


CONJUGATE = Rule(
    "conjugate", "√A − B cancels where A ≈ B² (the pseudo-Huber loss δ²(√(1 + u²) − 1), u = (p − t)/δ: 0 for "
    "|u| < 2.4e−4 in float32, where 1 + u² rounds to 1, true δ²u²/2; √(x² + 1) − x for x ≫ 1; √(x + 1) − √x; "
    "squareplus (x + √(x² + 4))/2 at x < 0, B = −x: 159 ULP in float32 at x = −20; scaled, (A − B²)/s/(√A/s + B/s), "
    "s = 2^j ≥ 4·max(1, |b|) for B = b·v, |v|/s inside the hypot rule's |v|·√(w + c/v²), where B or A reaches 2¹⁰²²: "
    "√A + B overflowed, squareplus 0 at x ≤ −8.99e307 for the subnormal −1/x, and 2x + √(4x² + 1) 0 at x = −9.46e307, "
    "where √A/2 + B/2 overflowed too); "
    "(A − B²)/(√A + B) with A − B² simplified symbolically to one term (u², 1) adds two non-negative numbers "
    "instead (B a positive number or a root; any other B only where B > 0). For √(c + w·v²) − √c and |v| > 1, "
    "|v|·w/(√(w + c·(1/v)²) + √c/|v|): v² overflows float32 at |v| > 1.8e19 where the result ≈ √w·|v| does not. "
    "A derivative's c + g/√A is c·(√A − B)/√A with B = −g/c, likewise c·(A − B²)·r/(1/r + B), r = 1/√A "
    "(squareplus′ (1 + x/√(x² + 4))/2: 239 ULP in float32 at x = −20; the pseudo-Huber loss's ∂δ, "
    "δ/√(δ² + u²) − 1); where c·(A − B²) is a number, c·(A − B²)/(√A·(√A + B)) widened (double-word in float64) "
    "while A < 2⁹⁹⁶ (squareplus′ 4.11 ULP in float64 at x = −537.02 as r/(1/r + B), r and 1/r rounded apart), and "
    "r/(1/r + B) where A overflows (0 or subnormal, as the result; the written form was −2.2e−16 at x = −1.797e308); "
    "where r is the hypot rule's scaled select of A = w·x² + c (c an input or a positive number), wherever the inputs "
    "are finite (squareplus′ with an input b was 0 for 2.5e−301 at x = −1e200, b = 1e100, where x² overflows)",
    local=_conjugate_forms)


_CONJUGATE_PARTS: dict = BoundedRecord()  # the conjugate rule's results for √(c + w·v²) − √c: (k, c, w, v)


def _hypot_scaling(node):
    """B²·k(√(c + w·(a/B)²) − √c) (the conjugate rule's result, times B²) → k/√c·s·(α·q), α = √w·|a|, β = √c·|B|,
    s = min(α, β), L = max(α, β), q = 1/(√(1 + (s/L)²) + β/L): B²·(√(c + w·a²/B²) − √c) = |B|·(h − β) with
    h = hypot(α, β), = |B|·α²/(h + β) = (1/√c)·(β·α/L)·α·L/(h + β), and β·α/L = s, L/(h + β) = q. Every
    quotient is at most 1 and every sum of non-negative numbers: no overflow where the result is finite, no
    underflow where it is normal, no cancellation (a/B overflows at δ = 1e−3, p − t = −3.4e38 in float32, B² at
    δ = 1e200 in float64)."""
    if not node.is_Mul:
        return None
    found = [(f, _CONJUGATE_PARTS[f]) for f in node.args if f in _CONJUGATE_PARTS]
    if len(found) != 1:
        return None
    ((x, (k, c, w, v)),) = found
    dens = [f for f in sp.Mul.make_args(v) if f.is_Pow and f.exp == -1]
    square = next((d.base for d in dens if sp.Pow(d.base, 2) in node.args), None)
    if square is None:
        return None
    a = v * square
    rest = sp.Mul(*[f for f in node.args if f is not x and f != sp.Pow(square, 2)])
    alpha = sp.Abs(a) if w == 1 else sp.sqrt(w) * sp.Abs(a)
    beta = sp.Abs(square) if c == 1 else sp.sqrt(c) * sp.Abs(square)
    # s/L and β/L as min(α/β, β/α) and min(1, β/α): quotients, not products with 1/L, which overflows for a
    # subnormal L (0·inf = NaN at δ = p − t + … = 1.5e−39 in float32, where p = t and the loss is 0)
    small = sp.Min(alpha, beta)
    ratio = sp.Min(Grouped(alpha / beta), Grouped(beta / alpha))
    q = 1 / (sp.sqrt(1 + ratio * ratio) + sp.Min(1, Grouped(beta / alpha)))
    scaled = rest * k / sp.sqrt(c) * Grouped(small * Grouped(alpha * q))
    return _Final(_Fired(scaled, ["hypot-scaling"]))


HYPOT_SCALING = Rule(
    "hypot-scaling", "B²·(√(c + w·(a/B)²) − √c) (the pseudo-Huber loss δ²(√(1 + ((p − t)/δ)²) − 1)) forms a/B and B², "
    "which overflow or underflow where the loss does not (float32: inf at δ = −9.2e−4, p − t = −3.4e38, true "
    "3.1e35; float64: 0 at δ = −1.6e308, p − t = 0.7, true 0.245); as |B|·(h − β) = |B|·α²/(h + β) with h = "
    "hypot(α, β), α = √w·|a|, β = √c·|B|, written k/√c·s·(α·q), s = min(α, β), L = max(α, β), q = 1/(√(1 + "
    "(s/L)²) + β/L): quotients at most 1, sums of non-negative numbers", local=_hypot_scaling)


def _hypot_input(node):
    """(w·v² + c)^{±1/2} with c holding an input (√(x² + y): session 32, h-hostile32; the hypot rule takes c a number)
    → |v|^{±1}·(w + (c/v)/v)^{±1/2} where |v| > 2⁶⁰/2^⌈log₂(w)/2⌉ (:func:`_hypot_threshold` of a c ≤ 2¹²⁰), the
    written form elsewhere. c is a sum of terms free of v's inputs, none of them a square (x² + y² is not taken: two
    squares, no preferred one); c/v divided by v in turn, so that no v² is formed (c/v² with v² rounded to inf would
    drop a c near the float's top: c = 1.7e308, v = 1.4e154). Exact: w·v² + c = v²·(w + c/v²). None otherwise."""
    if not (node.is_Pow and node.exp in (sp.S.Half, -sp.S.Half) and node.base.is_Add):
        return None
    squares = []
    for t in node.base.args:
        w, rest = t.as_coeff_Mul()
        if rest.is_Pow and rest.exp == 2 and w.is_positive and rest.base.free_symbols:
            squares.append((t, w, rest.base))
        elif (weighted := _input_weighted_square(t)) is not None:
            squares.append((t, *weighted))
    if len(squares) != 1:
        return None
    ((term, w, v),) = squares
    c = node.base - term
    if not w.is_number:
        return _hypot_input_weight(node, term, w, v, c)
    square_in_c = any(g.is_Pow and g.exp.is_even for g in (a.as_coeff_Mul()[1] for a in sp.Add.make_args(c)))
    if c.is_number or c.free_symbols & v.free_symbols or square_in_c:
        return None
    inverse_sq = Grouped(Grouped(c / v) / v)
    scaled = sp.Abs(v) ** (2 * node.exp) * (w + inverse_sq) ** node.exp
    threshold = _hypot_threshold(sp.S.One, w)
    # and where v² underflows and c is not far above it: squareplus (x + √(x² + b))/2 at b = 0, x = 1e−200 was
    # 5e−201 for 1e−200, its ∂x inf for 1 (torch the same; session 37, h-cloglog37); |(c/v)/v| < 2¹⁰⁰ is false at
    # v = 0 (c/0/0 is ±inf or NaN), so v ≠ 0 there too
    tiny = (sp.Abs(v) < _HYPOT_TINY) & (sp.Abs(inverse_sq) < _HYPOT_TINY_RATIO)
    return _Final(_Fired(sp.Piecewise((scaled, (sp.Abs(v) > threshold) | tiny), (node, True)), ["hypot"]))


def _input_weighted_square(t):
    """(w, v) for a term w·v² whose weight w is a positive number times positive powers of inputs other than v's (ISRLU's
    a·x²); None for any other term."""
    squares = [g for g in sp.Mul.make_args(t) if g.is_Pow and g.exp == 2 and g.base.is_Symbol]
    if len(squares) != 1:
        return None
    v = squares[0].base
    w = t / squares[0]
    c, inputs = w.as_coeff_Mul()
    if not c.is_positive or inputs == 1 or v in w.free_symbols or not all(
            g.is_Symbol or (g.is_Pow and g.base.is_Symbol and g.exp.is_Integer and g.exp > 0)
            for g in sp.Mul.make_args(inputs)):
        return None
    return w, v


def _hypot_input_weight(node, term, w, v, c):
    """(w·v² + c)^{±1/2} with w holding an input (ISRLU x/√(1 + a·x²), session 48, h-hyp48) → |v|^{±1}·(w + (c/v)/v)^{±1/2}
    where w·v² > 2¹²⁰ (w·v² overflows or is near it: ISRLU at a = 2.5, x = −1e160 was −0 for −0.632, torch −0), the
    written form elsewhere; c a positive number, or a sum of terms free of v's and w's inputs, none of them a square.
    Exact: w·v² + c = v²·(w + c/v²). The number-weight rule's threshold on |v| needs w's size, not known when the rule
    runs: w·v² as the written form computes it decides (one test, shared with the written sum; w·v² ≤ 2¹²⁰ is the
    written form's range, where it rounds once: about 0.75 ULP). A negative w·v² is the written form's (a negative
    radicand: NaN either way, or c's own root)."""
    square_in_c = any(g.is_Pow and g.exp.is_even for g in (a.as_coeff_Mul()[1] for a in sp.Add.make_args(c)))
    if square_in_c or c.free_symbols & (v.free_symbols | w.free_symbols) or (c.is_number and not c.is_positive):
        return None
    inverse_sq = Grouped(Grouped(c / v) / v)
    scaled = sp.Abs(v) ** (2 * node.exp) * (w + inverse_sq) ** node.exp
    # taken where the written power is not finite or below the normal range (w·v² overflowed: inf, or 0 for the
    # reciprocal root), on those elements alone (_taken_below): a select on w·v² > 2¹²⁰ computed the scaled form on
    # every element, ISRLU's f 1.34× in float64
    result = WrittenWhereNotFiniteOrBelowBase(node, scaled, node)
    _HYPOT_WEIGHT_WRITTEN[result] = node  # (for _hypot_weight_product: v·{this})
    return _Final(_Fired(result, ["hypot"]))


_HYPOT_WEIGHT_WRITTEN: dict = {}  # _hypot_input_weight's result → the power as written


def _weighted_parts(power):
    """(w, v, c) of a power (w·v² + c)^e whose one square has an input weight w (:func:`_input_weighted_square`) and c
    meets :func:`_hypot_input_weight`'s conditions; None for any other node."""
    if not (power.is_Pow and power.base.is_Add):
        return None
    squares = [(t, *found) for t in power.base.args if (found := _input_weighted_square(t)) is not None]
    if len(squares) != 1:
        return None
    ((term, w, v),) = squares
    c = power.base - term
    square_in_c = any(g.is_Pow and g.exp.is_even for g in (a.as_coeff_Mul()[1] for a in sp.Add.make_args(c)))
    if square_in_c or c.free_symbols & (v.free_symbols | w.free_symbols) or (c.is_number and not c.is_positive):
        return None
    return w, v, c


def _hypot_weight_product(node):
    """rest·v·(w·v² + c)^(−1/2) with w holding an input (ISRLU x/√(1 + a·x²); session 49, h-hyp49) →
    rest·sign(v)·(w + (c/v)/v)^(−1/2) where the written power is below the normal range or the product is not finite
    (w·v² overflowed: W^(−1/2) = 0, v·W^(−1/2) 0 or inf·0), rest·v·W^(−1/2) as written elsewhere, on those elements
    alone. Exact: v·(v²·(w + c/v²))^(−1/2) = v·|v|⁻¹·(…)^(−1/2). h-hyp48's |v|⁻¹·(w + (c/v)/v)^(−1/2) of the power alone
    underflows where the product does not: ISRLU's f at a = 5.8e89, x = 4.26e277 0 for 1.31e−45 (|x|·√a overflows;
    torch 0). At v = ±inf it is the limit sign(v)/√w, where the written form is inf·0. (v³·W^(−3/2), ISRLU's ∂a, is
    not taken: the form sign(v)·(w + …)^(−3/2) is right where w·v² overflows, but shares (w + (c/v)/v) with f's, which
    CSE then computes on every element, 1.25× on ISRLU in float64; and _taken_below takes no ±inf, where ∂a's truth
    overflows: tests/test_hyp48.py's strict xfail.)"""
    for f in node.args:
        written = _HYPOT_WEIGHT_WRITTEN.get(f, f)
        if not (written.is_Pow and written.exp == -sp.S.Half):
            continue
        parts = _weighted_parts(written)
        if parts is None or parts[1] not in node.args:
            continue
        w, v, c = parts
        rest = sp.Mul(*[h for h in node.args if h is not f and h != v])
        scaled = rest * sp.sign(v) * (w + Grouped(Grouped(c / v) / v)) ** written.exp
        # (the product with the power as written: h-hyp48's fallback of the power alone would share (w + (c/v)/v) with
        # this one, and CSE computes a shared form on every element, ISRLU's f 1.25× in float64)
        computed = rest * v * written
        return _Final(_Fired(WrittenWhereNotFiniteOrBelowBase(computed, scaled, written), ["hypot"]))
    return None


# the hypot rule's scaled form for c holding an input is taken below |v| = 2⁻⁶⁰ too (v² is subnormal in float32 from
# 2⁻⁶³, in float64 from 2⁻⁵¹¹), where |(c/v)/v| < 2¹⁰⁰ (c a few binades above v² or less: above it v² is below half
# an ulp of c, and the written form is c's own root)
_HYPOT_TINY = sp.Integer(2) ** -60
_HYPOT_TINY_RATIO = sp.Integer(2) ** 100


# the hypot rule's, for a sum of squares of two or more inputs' terms (session 35, h-xfail35): the Charbonnier loss
# ((p − t)² + ε²)^(α/2) at ε = 1e−200, p = 1e−170, t = 0 was 0 for 1e−170 (the sum underflows; ∂p inf for 1, ∂α 0
# for −3.9e−168; torch the same). As libm's hypot does, the terms are scaled by r = 1/s, s the largest power of two
# ≤ the largest |v| (binade_reciprocal: exact), where that is outside [2⁻⁶⁴, 2⁶⁴]: the sum's squares leave the
# normal range near 2^±511, and W^e (|e| < 8) well before, where v·W^e does not (∂p = α·(p − t)·W^(α/2 − 1) at
# α = −0.88, |p − t| = 1.3e142: W^(−1.44) = 1e−409 for a product 2.3e−268); the written form inside, where it was
# measured (the double-word W rounded once: ≤ 1 ULP where the exponent is exact, α = 1)
_SUM_OF_SQUARES_EDGE = sp.Float(2.0 ** 64)
# where far (m outside [2⁻⁶⁴, 2⁶⁴], finite, not 0) r = binade_reciprocal(m) is ≤ 2⁻⁶⁴ or ≥ 2⁶⁵: |log₂ r| ≥ 64, so a
# chain by r is 0, ±inf or NaN after steps_by_power_of_two's few steps (chain48)
_FAR_BITS = 64


def _squares_and_term(a):
    """(squares, e) for a = Σ w·v² (:func:`_sum_of_squares`; e None) or Σ w·v² + e with e one input (RMSNorm's
    (x₁² + x₂²)/2 + ε) or one positive number (its ε written: 1 + 500000x² + 500000y², session 42), else None."""
    squares = _sum_of_squares(a)
    if squares is not None:
        return squares, None
    if not (isinstance(a, sp.Expr) and a.is_Add and len(a.args) >= 3):
        return None
    terms = [t for t in a.args if t.is_Symbol or _positive_number(t)]
    if len(terms) != 1:
        return None
    squares = _sum_of_squares(a - terms[0])
    return None if squares is None else (squares, terms[0])


def _scaled_sum_of_squares(a):
    """(S, r, far) for a sum of squares a (:func:`_sum_of_squares`), and one input e beside them: a = S/r² exactly,
    S = Σ w·(r·v)² (+ (e·r)·r) with the largest |r·v| (or √|(e·r)·r|) in [1, 2), r = binade_reciprocal(m),
    m = max |v| (max(|v|, √|e|) with e), and far the condition the scaled form is taken on (m finite, not 0, outside
    [2⁻⁶⁴, 2⁶⁴]); None for any other node."""
    found = _squares_and_term(a)
    if found is None:
        return None
    squares, e = found
    # with e, m takes √|e| too: (e·r)·r stays within [0, 4) where |e| > (max |v|)² (RMSNorm's ε = 2.4e−293 above
    # x₁² = 4.8e−294 took the written W^(−3/2) = inf, ∂e, ∂x₁, ∂x₂ ±inf; the scaled form is finite there)
    m = sp.Max(*[sp.Abs(v) for _, v in squares], *([] if e is None else [sp.sqrt(sp.Abs(e))]))
    r = binade_reciprocal(m)
    scaled = sp.Add(*[w * Grouped(r * v) ** 2 for w, v in squares])
    if e is not None:  # (e·r)·r: two exact steps where the first is a normal number (r a power of two)
        scaled = scaled + Grouped(Grouped(e * r) * r)
    # (m < ∞ as m ≤ the largest float64: SymPy takes a real symbol for finite and drops m < oo)
    far = ((m > 0) & (m < 1 / _SUM_OF_SQUARES_EDGE)) | ((m > _SUM_OF_SQUARES_EDGE) & (m <= sp.Float(1.7976931348623157e308)))
    return scaled, r, far


def _scaled_sum_power(s, r, e, v=None, w=None, square=None):
    """S^e·r^(−2e) (times v = (r·v)/r where v is given): e = n + e′ (n an integer, e′ = α/2 of an input α, or e
    itself where it is a number), r^(−2e′) as powers r^(−e′) (their exponent exact: r^(2 − α) rounds 2 − α, whose
    error log r multiplies: 190 ULP at r = 2⁵⁴³), r^(−2n) (r^(−2n − 1) with v) as products or quotients by r, each a
    power of two, after the first power: the partial products lie between the powers' and the result's (r^(2 − α)
    as r^(−α/2)·r·r^(−α/2)·r; r^(−α) alone overflowed at α = 3, r = 2⁻⁴⁹⁸ where W^(1/2) = 1e150, and r·r at r = 2⁹⁰⁰
    where r^(1 − α/2) does not)."""
    plain = ungroup(e)  # affine-root's (α − 2)/2
    n, rest = sp.expand(plain).as_coeff_Add() if not e.is_number else (sp.S.Zero, e)
    if not n.is_Integer:
        n, rest = sp.S.Zero, e
    # the power of r besides r^(−2e′): one for each base v, w, two for a scaled sum of squares (square = P·r²)
    integer = -2 * n - (v is not None) - (w is not None) - 2 * (square is not None)
    out = s ** e if v is None else Grouped(Grouped(r * v) * s ** e)
    if w is not None:  # a second base (RMSNorm's ∂x₂, x₁·x₂·W^(−3/2)): (r·w)·(r·v)·S^e·r^(−2e − 2)
        out = Grouped(Grouped(r * w) * out)
    if square is not None:  # (RMSNorm's ∂x₁, (x₂²/2 + ε)·W^(−3/2): P·W^e = (P·r²)·S^e·r^(−2e − 2))
        out = Grouped(square * out)
    if e.is_number and abs(integer - 2 * rest) <= 1:  # one power, within [1/r, r] (fewer roundings: the ∂ of
        return Grouped(out * r ** (integer - 2 * rest))  # (x² + y²)^(1/3) was 6.1 ULP as two powers and a quotient)
    if e.is_number and (2 * rest).is_Integer:  # r^(integer − 2e), a whole power of two: as |integer − 2e| exact steps
        # by r, the partial products between out and the result; r^(3/2) in two halves rounded each where r's exponent
        # is odd (a written RMSNorm's ∂ε, −g·x₁/(2·W^(3/2)), at x₁ = −4.3e22: 4.09 ULP, torch below 4; session 38)
        return steps_by_power_of_two(out, r, int(integer - 2 * rest), far_bits=_FAR_BITS)
    steps = abs(int(integer))
    if not steps:
        return Grouped(out * Grouped(r ** (-2 * rest)))
    half = Grouped(r ** -rest)
    for part in (steps - steps // 2, steps // 2):
        out = Grouped(out * half)
        out = steps_by_power_of_two(out, r, part if integer > 0 else -part, far_bits=_FAR_BITS)
    return out


def _scaled_sum_quotient(s, r, e, v=None, w=None, square=None):
    """:func:`_scaled_sum_power`'s S^e·r^(−2e)·(r·v)·(r·w)·P as one flat product with a negative power among its
    factors (r^(−2e′) as (r^e′)⁻², or S^e with e < 0), which the printers take by exponents where it is not a normal
    number: each factor split into its fraction and exponent (_constant_far), so no partial product leaves the range
    where the whole does not. hyp48: the product c·(that form) with c an input multiplies c after the steps by r,
    which overflow first where c is small ((x² + ε²)^(α/2)'s ∂x, α·(r·x)·S^(α/2 − 1)·r^(1 − α), at
    α = ε = x = −2.78e−309, r = 2¹⁰²³: inf for 0.5). hyp49: the printers printed its (1/r)⁻ᵏ as a denominator without
    brackets, α·r^(−α)/1/r for α·r^(−α)·r (finite and wrong where the true value overflows: test_xfail35's ∂ε at
    α = −1, ε = 1e−200, p − t = −5e−205 −0.4267 for −1e400); ConditionalPrinting.parenthesize brackets it now."""
    plain = ungroup(e)
    n, rest = sp.expand(plain).as_coeff_Add() if not e.is_number else (sp.S.Zero, e)
    if not n.is_Integer:
        n, rest = sp.S.Zero, e
    integer = -2 * n - (v is not None) - (w is not None) - 2 * (square is not None)
    factors = [s ** e] + [Grouped(r * b) for b in (v, w) if b is not None] + ([square] if square is not None else [])
    if e.is_number:
        factors.append(r ** (integer - 2 * rest))
    elif integer > 0:  # r^k as (1/r)^(−k), 1/r exact: the negative power, r^(−e′) kept as the scaled form has it (CSE
        factors += [Grouped(1 / r) ** -integer, Grouped(r ** -rest) ** 2]  # shares it; 1/r^(e′) rounds once more)
    else:
        factors += [r ** integer, Grouped(r ** rest) ** -2]
    return sp.Mul(*factors)


def _hypot_sum(node):
    """(Σ w·v²)^e (e not an integer) → S^e·r^(−2e) where the scaled form is taken (:func:`_scaled_sum_of_squares`,
    :func:`_scaled_sum_power`), the written form elsewhere, behind the zero-power rule's 0⁰ = 1 where e is variable (this
    rule comes first); log(Σ w·v²) → log S − 2·log r there; and a product c·v·(that power) with v one of the squares'
    bases (∂p of the Charbonnier loss, α·(p − t)·W^(α/2 − 1)) → c·(r·v)·S^e·r^(−2e − 1) there: W^(α/2 − 1) alone
    overflows or underflows where the product does not (∂ε 0 for 1.4e−219 at α = 0.27, ε = 2.5e300, p − t = 1e300)."""
    if node.is_Mul:
        return _hypot_weight_product(node) or _hypot_sum_product(node)
    if node.is_Pow and not node.exp.is_Integer:
        parts = _scaled_sum_of_squares(node.base)
        if parts is None:
            return None
        s, r, far = parts
        # with an input e beside the squares, the written sum cancels where e ≈ −Σ w·v² (RMSNorm's ε = −0.545 at
        # x₁ = 1, x₂ = 0.3: A = 1e−17, 2.9e14 ULP; torch 4.2e15): there it is the widen rule's double word
        # (a positive number beside the squares cannot cancel: as written)
        plain = _sum_of_squares(node.base) is not None or _squares_and_term(node.base)[1].is_number
        written = node if plain else widen(node.base) ** node.exp
        pieces = [(_scaled_sum_power(s, r, node.exp), far), (written, True)]
        names = ["hypot"]
        if not node.exp.is_number:
            pieces.insert(0, (1, sp.Eq(node.exp, 0)))
            names.append("zero-power")
        result = sp.Piecewise(*pieces)
    elif isinstance(node, sp.log):
        parts = _scaled_sum_of_squares(node.args[0])
        if parts is None:
            return None
        s, r, far = parts
        result, names = sp.Piecewise((sp.log(s) - 2 * sp.log(r), far), (node, True)), ["hypot"]
    else:
        return None
    _HYPOT_SUM_WRITTEN[result] = node  # (for the zero-limit rule: W^e·log W → 0 at W = 0)
    return _Final(_Fired(result, names))


def _hypot_sum_product(node):
    """c·v·{the select :func:`_hypot_sum` made of W^e} with v a base of W's squares (or two of them, or a sum P of
    some of W's squares and its term, widened or not) → {c·(r·v)·S^e·r^(−2e − 1) where far; the product as it was
    elsewhere}; None for any other product."""
    for f in node.args:
        written = _HYPOT_SUM_WRITTEN.get(f)
        if written is None or not written.is_Pow:
            continue
        squares, term = _squares_and_term(written.base)
        bases = {v for _, v in squares}
        s, r, far = _scaled_sum_of_squares(written.base)
        found = [h for h in node.args if h is not f and h in bases][:2]
        powered = _powered_bases(node, f, bases, written.exp)
        if powered is not None:  # v·w, v² (or v^k, v·w^k) beside W^(k/2): their own scaled form
            taken, count = powered
            rest = _number_kept_apart([h for h in node.args if h is not f and h not in taken])  # (root45)
            scaled = rest * _scaled_powered_product(s, r, written.exp, count)
            edge = sp.Float(2.0 ** -1000)
            # (v = 0: the scaled form's exact 0; the written one is 0·inf = NaN where W^e overflows, y = 0, x = 1e−278)
            normal = sp.And(*[sp.Or(sp.Abs(Grouped(r * v)) > edge, sp.Eq(v, 0)) for v in count])
            result = sp.Piecewise(*_infinite_base_limits(node, f, written, squares, term),
                                  (scaled, _far_from_one(squares, term, _POWERED_EDGE) & normal), (node, True))
            _HYPOT_SUM_WRITTEN[result] = node
            return _Final(_Fired(result, ["hypot"]))
        part = next(((h, p) for h in node.args if h is not f
                     for p in [_scaled_part(h, bases, term, r)] if p is not None), (None, None))
        if not found and part[1] is None:
            continue
        taken = {f, *found, part[0]}
        rest = _number_kept_apart([h for h in node.args if h not in taken])  # (root45)
        scaled = rest * _scaled_sum_power(s, r, written.exp, *(found + [None, None])[:2], square=part[1])
        if rest.free_symbols:  # (hyp48: an input's factor c multiplies after the steps by r; hyp49: tests/test_hyp49.py)
            scaled = written_where_not_finite(scaled, rest * _scaled_sum_quotient(
                s, r, written.exp, *(found + [None, None])[:2], square=part[1]))
        # where r·v is far below the normal range (v ≪ max |v|: r·ε = 0 at ε = 1e−150, r = 2⁻⁶⁶⁴) the product as
        # it was, v times the power's own scaled form
        # (two bases: the written product is no better anywhere, so only where r·v is subnormal: RMSNorm's ∂x₂ at
        # x₁ = 3e200, x₂ = 1e100 takes r·x₂ = 3e−101)
        edge = sp.Float(2.0 ** (-100 if len(found) < 2 else -1000))
        normal = sp.And(*[sp.Abs(Grouped(r * g)) > edge for g in found])
        # (hyp43: by exponents where r·v is below the edge or a float32 W^e leaves the range, _hypot_split_pieces)
        result = sp.Piecewise(*_infinite_base_limits(node, f, written, squares, term), (scaled, far & normal),
                              *_hypot_split_pieces(rest, found, part[1], s, r, written.exp, squares, term),
                              (_zero_base_taken_again(node, rest, found, part[1], squares, term, written.exp), True))
        _HYPOT_SUM_WRITTEN[result] = node  # (for the conjugate rule: δ/√(u² + δ²) − 1)
        return _Final(_Fired(result, ["hypot"]))
    return None


def _zero_base_taken_again(node, rest, found, square, squares, term, exponent):
    """The product ``node`` = c·v·W^e (c = ``rest``, v the one base ``found``, W the sum of ``squares``, no term beside
    them) taken, where it is not finite, as c·v where v = 0 and another base is not (W > 0 there: W^e a finite number,
    which overflowed, or 0·inf where c·v·W^e is c·0); ``node`` itself otherwise. hyp48: (x² + ε²)^(α/2)'s ∂x,
    α·x·(x² + ε²)^(α/2 − 1), at α = 1e4, ε = 2.5, x = 0 in float32 was 0·inf = NaN for 0 (torch NaN). Where every base
    is 0 (W = 0) the product is left as computed: W^e is inf there for e < 0 and c·v·W^e has no value. Only for an
    exponent e that is no number (α/2 − 1): with a number e (|2e| small) W^e leaves the range only past the scaled form's
    edges, where that form is taken; and CSE computes the select's test on every element (√((p − t)² + ε²) 1.14× in
    float64 with it)."""
    if len(found) != 1 or square is not None or term is not None or len(squares) < 2 or exponent.is_number:
        return node
    v = found[0]
    others = [b for _, b in squares if b != v]
    zero = sp.Eq(v, 0) & sp.Or(*[sp.Ne(b, 0) for b in others])
    return written_where_not_finite(node, sp.Piecewise((rest * v, zero), (node, True)))


def _square_part_limit(h, v):
    """(2, w) for a factor ``h`` (widened or not) that is a sum w·v² + the rest, the rest's terms numbers and positive
    integer powers of other inputs times numbers (its degree in v and its coefficient as v → ±inf); (0, h) for such a
    sum free of v; None for any other factor. hyp48: a written RMSNorm x/√((x² + y²)/2 + ε)'s ∂x holds y²/2 + ε beside
    W^(−3/2), NaN (inf·0) at y = ±inf for 0 (torch 0; test_inf48's strict xfail)."""
    body = h.expanded if isinstance(h, WidenedBase) else h
    if not (isinstance(body, sp.Expr) and body.is_Add):
        return None
    weight = None
    for t in body.args:
        w, rest = t.as_coeff_Mul()
        if rest == v ** 2 and w.is_positive:
            weight = w
            continue
        for g in sp.Mul.make_args(rest):
            b, k = (g.base, g.exp) if g.is_Pow else (g, sp.S.One)
            if not (g.is_number or (b.is_Symbol and b != v and k.is_Integer and k > 0)):
                return None
    return (0, h) if weight is None else (2, weight)


def _infinite_base_limits(node, f, written, squares, term) -> list:
    """(limit, condition) pieces of the product ``node`` = c·Π h·{``f``: the select made of W^e = ``written``} (W the sum
    of ``squares`` and ``term``) where one input v of the squares' bases is ±inf and every other input finite: there
    W^e → w^e·|v|^(2e) (W = w·v² + the finite rest), so the product tends to 0 where its degree in v, a + 2e (v^a
    among the factors h), is below 0, and to c·Π(the other factors)·w^e·sign(v)^a where it is 0; none where a = 0
    (W^e is 0 or inf there, times finite factors: the limit as computed), e is no negative number, the degree is above 0,
    or a factor other than numbers, v's integer powers and other inputs' positive powers holds v or v another base.

    The written form is v^a·W^e = inf·0 = NaN there, and the scaled one is not taken (max |v| = inf): ∂x of
    x/√(x² + y²), y²·W^(−3/2), at y = +inf was NaN (true 0; torch 0), the Charbonnier loss's ∂x, x·(x² + ε²)^(−1/2), at
    x = ±inf NaN for ±1 (session 48, h-inf48). x > 1.8e308 is x = +inf alone (float32 compared in float64 too)."""
    e = written.exp
    if not e.is_number or not e.is_negative:
        return []
    others = [h for h in node.args if h is not f]
    inputs = sorted(node.free_symbols | written.free_symbols, key=sp.default_sort_key)
    pieces: dict = {}
    for w, v in squares:
        if not v.is_Symbol or any(v in b.free_symbols for c, b in squares if b != v) or (
                term is not None and v in term.free_symbols):
            continue
        degree, coefficient = 2 * e, w ** e
        for h in others:
            base, k = (h.base, h.exp) if h.is_Pow else (h, sp.S.One)
            if h.is_number:
                coefficient *= h
            elif base == v and k.is_Integer:
                degree += k
                coefficient *= sp.sign(v) ** k
            elif base.is_Symbol and k.is_Integer and k > 0:
                coefficient *= h
            elif (part := _square_part_limit(h, v)) is not None:  # (hyp48: RMSNorm's y²/2 + ε beside W^(−3/2))
                degree += part[0]
                coefficient *= part[1]
            else:
                break
        else:
            if degree == 2 * e or degree > 0:  # (no v among the factors: W^e alone is 0 there, times finite ones)
                continue
            limit = sp.S.Zero if degree < 0 else coefficient
            # |v| − max |o| > 1.8e308 (o the other inputs): v = ±inf and every o finite, in one difference and one
            # test (inf − inf and NaN fail it); the two tests and their conjunction per input cost up to 1.2–1.4×
            # on x/√(x² + y²)'s 1e6 points
            rest = [sp.Abs(o) for o in inputs if o != v]
            condition = (sp.Abs(v) - sp.Max(*rest) > _DBL_MAX) if rest else sp.Abs(v) > _DBL_MAX
            pieces.setdefault(limit, []).append(condition)
    return [(limit, sp.Or(*conditions)) for limit, conditions in pieces.items()]


# where the powered-bases form is taken: max |v| outside [2⁻¹⁶, 2¹⁶], not [2⁻⁶⁴, 2⁶⁴]: a float32 kernel's written
# W^(−3/2) is a float32 subnormal from W = 2⁸³ (y²·W^(−3/2) at x = 5.8e10, y = −2.4e14 was 359 ULP, 0 at y = 1e19 for
# 1e−19; session 41, h-hyp41), and the scaled form is exact scaling (≤ 2.6 ULP in float64 over 10^±300, measured)
_POWERED_EDGE = sp.Float(2.0 ** 16)
_POWERED_FAR_BITS = 16  # |log₂ r| where m is outside [2⁻¹⁶, 2¹⁶] (as _FAR_BITS)


def _far_from_one(squares, term, edge):
    """max |v| (max(|v|, √|e|) with a term e) finite, not 0, outside [1/edge, edge]: :func:`_scaled_sum_of_squares`'s
    condition with another edge."""
    m = sp.Max(*[sp.Abs(v) for _, v in squares], *([] if term is None else [sp.sqrt(sp.Abs(term))]))
    return ((m > 0) & (m < 1 / edge)) | ((m > edge) & (m <= sp.Float(1.7976931348623157e308)))


def _powered_bases(node, f, bases, e):
    """({factors}, {v: k}) for the factors of ``node`` beside W^e (``f``) that are powers v^k (k an integer in [1, 4])
    of W's squares' bases, their total degree in [2, 4], e a half-integer; else None. The
    squares' case of :func:`_hypot_sum_product`: ∂x of x/√(x² + y²) is y²·W^(−3/2), whose W^(−3/2) overflows past
    W = 1e205 where y² and the quotient do not (0 at x = 1, y = 1e120 for 1e−120; session 41, h-hyp41)."""
    if not (e.is_number and (2 * e).is_Integer and not e.is_Integer):
        return None
    taken, count = set(), {}
    for h in node.args:
        if h is f:
            continue
        base, k = (h.base, h.exp) if h.is_Pow else (h, sp.S.One)
        if base in bases and k.is_Integer and 1 <= k <= 4:
            taken.add(h)
            count[base] = count.get(base, 0) + int(k)
    if not 2 <= sum(count.values()) <= 4:
        return None
    return taken, count


def _scaled_powered_product(s, r, e, count):
    """Π v^k·W^e = Π (r·v)^k·S^e·r^(−2e − d) (d = Σ k, W = S/r², r a power of two): the scaled factors (each |r·v| ≤ 2)
    with one exact product or quotient by r after each but the last while |2e + d| of them remain, the rest after
    them, S^e last. The order was measured: r after the factors made (r·y)² = 1e−338 of ∂x at x = 3.6e−107,
    y = −2.4e−276 (0 for 1.3e−232); r after (r·y)·S^e overflowed at x = 5.3e−317, y = 1.7e−322, where r = 2¹⁰²³ (its
    cap) leaves S = 2⁻⁵⁴ and S^(−3/2) = 2⁸¹ (inf for 2e305)."""
    factors = [Grouped(r * v) for v in sorted(count, key=sp.default_sort_key) for _ in range(count[v])]
    power = int(-2 * e - sum(count.values()))
    steps = abs(power)

    def by_r(out):
        return Grouped(out * r) if power > 0 else Grouped(out / r)

    out = factors[0]
    for g in factors[1:]:
        if steps:
            out, steps = by_r(out), steps - 1
        out = Grouped(out * g)
    out = steps_by_power_of_two(out, r, steps if power > 0 else -steps, far_bits=_POWERED_FAR_BITS)
    return Grouped(out * s ** e)


def _scaled_part(h, bases, term, r):
    """P·r² for a factor P (widened or not) that is a sum of squares of some of ``bases`` and, maybe, ``term`` (RMSNorm's
    ∂x₁ holds x₂²/2 + ε beside W^(−3/2)): Σ w·(r·v)² (+ (ε·r)·r), each step exact or harmlessly small; else None. Not
    widened (it held the sum in double words: where the scaled form is taken, max |v| > 2⁶⁴, only ε ≈ −x₂²/2 beyond
    2¹²⁷ would cancel)."""
    body = h.expanded if isinstance(h, WidenedBase) else h
    if not (isinstance(body, sp.Expr) and body.is_Add):
        return None
    scaled = []
    for t in body.args:
        w, rest = t.as_coeff_Mul()
        if t == term and term is not None:
            scaled.append(Grouped(Grouped(term * r) * r))
        elif w.is_positive and rest.is_Pow and rest.exp == 2 and rest.base in bases:
            scaled.append(w * Grouped(r * rest.base) ** 2)
        else:
            return None
    return sp.Add(*scaled)


# ------------------------------------------------------------------ hypot-slope (issue 16, session 12): the gradients
# of the pseudo-Huber loss B²·k(√(c + w·(X/B)²) − √c), which the hypot-scaling rule above computes safely, but whose
# written derivatives form X/B, B² and (in ∂B) a difference that cancels as X/B → 0; tested in tests/test_elem12.py

def _plain(e):
    """``e`` as SymPy evaluates it, every grouping dropped ((p − t)·((p − t)/δ)/δ is (p − t)²/δ² again)."""
    if not isinstance(e, sp.Basic) or not e.has(sp.UnevaluatedExpr):
        return e  # (rebuilding every node re-sorts every Max's arguments: 78 builds of a 6-term Max per compile)
    return e.replace(lambda n: isinstance(n, sp.UnevaluatedExpr), lambda n: n.args[0])


def _hypot_slope_forms(X, B, c, w):
    """{"X": ∂F/∂X, "B": ∂F/∂B} of F = B²(√(c + w·(X/B)²) − √c) = β·α²/(√c·(h + β)) (α = √w·|X|, β = √c·|B|,
    h = hypot(α, β)), each as (its mpmath value at a point, its scaled form):
    ∂F/∂X = √(w/c)·sign(X)·α·β/h = √(w/c)·sign(X)·s/g, s = min(α, β), g = √(1 + r²), r = min(α/β, β/α) ≤ 1;
    ∂F/∂B = sign(B)·(h − β)²/h = sign(B)·α⁴/(h·(h + β)²) = sign(B)·((α·(a/g))·q)·q, a = min(1, α/β),
    q = a/(g + min(1, β/α)) ≤ 1: every partial product at least the result in magnitude (no underflow before it),
    at most α (no overflow where it is finite), and no difference (∂B written cancels as |X/B| → 0: its terms
    2B(√(1 + u²) − 1) and X²/(B√(1 + u²)) meet at X²/B). Where c = w = 1, ∂F/∂B is the node
    hypot_gap_slope(x, y, B) (X = x + y: symnet/special.py), the same form with r, g and q in double-word."""
    alpha = sp.Abs(X) if w == 1 else sp.sqrt(w) * sp.Abs(X)
    beta = sp.Abs(B) if c == 1 else sp.sqrt(c) * sp.Abs(B)
    r = sp.Min(Grouped(alpha / beta), Grouped(beta / alpha))
    g = sp.sqrt(1 + r * r)
    a = sp.Min(1, Grouped(alpha / beta))
    q = Grouped(a / (g + sp.Min(1, Grouped(beta / alpha))))
    by_x = sp.sqrt(w / c) * sp.sign(X) * Grouped(sp.Min(alpha, beta) / g)
    by_b = sp.sign(B) * Grouped(Grouped(alpha * Grouped(a / g)) * q) * q
    if c == 1 and w == 1 and GAP_SLOPE_NODE:  # the same form, r, g and q in double-word (session 13: 8.3 → 1.6 ULP)
        by_b = hypot_gap_slope(*(X.args if X.is_Add and len(X.args) == 2 else (X, sp.S.Zero)), B)

    def exact(which, env):
        al = mpmath.sqrt(w) * abs(X_(env))
        be = mpmath.sqrt(c) * abs(B_(env))
        h = mpmath.sqrt(al ** 2 + be ** 2)
        if which == "X":
            return mpmath.sqrt(mpmath.mpf(w) / c) * mpmath.sign(X_(env)) * al * be / h
        return mpmath.sign(B_(env)) * al ** 4 / (h * (h + be) ** 2)

    from ...verify.evaluate import mp_value

    def X_(env):
        return mp_value(X, env)

    def B_(env):
        return mp_value(B, env)

    return {"X": (lambda env: exact("X", env), by_x), "B": (lambda env: exact("B", env), by_b)}


GAP_SLOPE_NODE = True  # False: ∂B in float as session 12 had it (benchmarks/elem13.py times both)
_SLOPE_PROBES = ("0.7", "-1.3", "2.9", "0.37", "-5.1", "1.9", "-0.23")


def _hypot_slope(node):
    """k·∂F/∂X or k·∂F/∂B (k a rational number) of :func:`_hypot_slope_forms`' F, recognised by value: the node's
    written form against each slope at three points of its inputs in mpmath at 50 digits (the ratio one rational
    number there, equal to 10⁻⁴⁰), → k times the scaled form; None otherwise."""
    from ...verify.evaluate import mp_value

    if not (node.is_Add or node.is_Mul) or node.has(sp.Indexed):
        return None
    written = _plain(_as_math(node))
    bases = {p.base for p in written.atoms(sp.Pow) if p.exp in (sp.S.Half, -sp.S.Half)}
    if len(bases) != 1:
        return None
    parts = _hypot_parts(next(iter(bases)))
    if parts is None:
        return None
    c, w, v = parts
    X, B = sp.fraction(sp.together(v))
    if X.is_number or B.is_number or not written.free_symbols <= X.free_symbols | B.free_symbols:
        return None
    symbols = sorted(written.free_symbols, key=str)
    for exact, scaled in _hypot_slope_forms(X, B, c, w).values():
        ratios = []
        try:
            with mpmath.workdps(50):
                for shift in range(3):
                    env = {s: mpmath.mpf(_SLOPE_PROBES[(i + 2 * shift) % len(_SLOPE_PROBES)])
                           for i, s in enumerate(symbols)}
                    want = exact(env)
                    if want == 0:
                        break
                    ratios.append(mp_value(written, env) / want)
        except (ArithmeticError, ValueError, TypeError):
            return None
        if len(ratios) != 3 or any(abs(q - ratios[0]) > mpmath.mpf(10) ** -40 * abs(ratios[0]) for q in ratios):
            continue
        k = sp.nsimplify(float(ratios[0]), rational=True)
        if k == 0 or k.q > 64 or abs(ratios[0] - mpmath.mpf(k.p) / k.q) > mpmath.mpf(10) ** -40 * abs(ratios[0]):
            continue
        return k * scaled
    return None


def _has_square_root(expr) -> bool:
    """``expr``, or the body of a widened node in it, holds a power to ±1/2."""
    return any(p.exp in (sp.S.Half, -sp.S.Half) for p in _atoms(expr, sp.Pow)) or any(
        _has_square_root(w.body) for w in _atoms(expr, WidenedBase))


@functools.lru_cache(maxsize=256)
def _hypot_slopes(expr):
    """``expr`` with every largest subexpression :func:`_hypot_slope` recognises replaced (top down)."""
    if not isinstance(expr, sp.Expr) or not _has_square_root(expr):
        return expr  # (the written slopes hold √(c + w·u²) or its reciprocal; nothing else is entered)
    return _top_down(expr, lambda node: _hypot_slope(node) if isinstance(node, sp.Expr) else None, _KEPT)


HYPOT_SLOPE = Rule(
    "hypot-slope", "the gradients of B²(√(c + w·(X/B)²) − √c) (the pseudo-Huber loss's ∂p, ∂t, ∂δ) form X/B, B² and, "
    "in ∂B, 2B(√(1 + u²) − 1) − X²/(B√(1 + u²)), whose terms meet at X²/B as u = X/B → 0 (float32: ∂δ 1.8e16 ULP at "
    "δ = 9e7, p − t = 1.76; ∂p 0 at δ = 1.2e−38, p − t = 9e7, true 1.2e−38); as √(w/c)·sign(X)·s/g and "
    "sign(B)·((α·(a/g))·q)·q (α = √w|X|, β = √c|B|, s = min(α, β), g = √(1 + min(α/β, β/α)²), a = min(1, α/β), "
    "q = a/(g + min(1, β/α))): quotients at most 1, no difference; recognised by value (mpmath, 50 digits, three "
    "points) up to a rational factor. Where c = w = 1 (the pseudo-Huber loss), ∂B is hypot_gap_slope(X, B), whose "
    "helper computes r, g and q in double-word and X = p − t by TwoSum: the float form took r rounded to the 3rd "
    "power and X to the 4th (float64 ∂δ 8.29 ULP at δ = 1.06e7, p = 1, t = 0.3; now 1.6)",
    apply=_hypot_slopes, fired=_rewrote)

# ------------------------------------------------------------------ hypot-sign (issue 16, session 33: float32 ∂x of
# √(3x² + 1), 3x·{1/(√(3 + x⁻²)·|x|) past 2⁵⁹}, was 0 at x = 2.4e38 for √3: √(3 + x⁻²)·|x| overflowed, h-hostile33);
# tested in tests/test_hostile33.py


def _branch_factors(e):
    """The factors of a select's branch ``e``, a reciprocal of a product taken as the reciprocals of its factors."""
    if e.is_Pow and e.exp == -1 and e.base.is_Mul:
        return [a ** -1 for a in e.base.args]
    return list(sp.Mul.make_args(e))


def _hypot_sign(node):
    """v·{g/|v| if |v| > T; …}·rest (the hypot rule's scaled branch, g = (w + c/v²)^−1/2, times the v of a
    derivative) → {sign(v)·g if |v| > T; v·… otherwise}·rest; None for any other node.

    Exact: v/|v| = sign(v) wherever v ≠ 0, which |v| > T > 0 says."""
    if not node.is_Mul:
        return None
    for f in node.args:
        if not isinstance(f, sp.Piecewise):
            continue
        for i, (e, cond) in enumerate(f.args):
            far = cond.args[0] if isinstance(cond, sp.Or) else cond  # (|v| > T) | tiny: the hypot rule's, v ≠ 0 in both
            if not (isinstance(far, sp.StrictGreaterThan) and isinstance(far.lhs, sp.Abs) and far.rhs.is_number
                    and far.rhs.is_positive) or isinstance(cond, sp.Or) and not _hypot_tiny_side(cond, far.lhs):
                continue
            v = far.lhs.args[0]
            factors = _branch_factors(e)
            if sp.Abs(v) ** -1 not in factors or v not in node.args:
                continue
            rest = [g for g in factors if g != sp.Abs(v) ** -1]
            branches = [(sp.sign(v) * sp.Mul(*rest), c) if j == i else (v * b, c) for j, (b, c) in enumerate(f.args)]
            others = [g for g in node.args if g is not f and g != v]
            return sp.Mul(*others) * sp.Piecewise(*branches)
    return None


def _hypot_tiny_side(cond, abs_v) -> bool:
    """``cond`` is the hypot rule's (|v| > T) | (|v| < 2⁻⁶⁰ & |q| < 2¹⁰⁰), abs_v its |v|: v ≠ 0 wherever it holds."""
    return len(cond.args) == 2 and any(isinstance(a, sp.And) and sp.StrictLessThan(abs_v, _HYPOT_TINY) in a.args
                                       for a in cond.args)


def _hypot_signs(expr):
    """Every product of ``expr`` :func:`_hypot_sign` takes, outermost first."""
    return _top_down_having(expr, sp.Abs, _hypot_sign, _KEPT)


HYPOT_SIGN = Rule(
    "hypot-sign", "v·(w·v² + c)^−1/2 (a derivative of √(w·v² + c), 3x/√(3x² + 1)) is v·1/(√(w + c/v²)·|v|) past the "
    "hypot rule's threshold, whose √(w + c/v²)·|v| overflows where the result is about √w·sign v (float32 ∂x of "
    "√(3x² + 1) 0 at x = 2.4e38 for 1.732, and √(5x² + 2) likewise; torch NaN); v/|v| is sign(v) exactly where |v| > T > 0, so "
    "sign(v)·(w + c/v²)^−1/2 there: no product that overflows", apply=_hypot_signs, fired=_rewrote)


# ------------------------------------------------------------------ hyp42 (issue 16, session 42: hypot-style scaling
# for √(x² + c) where the square overflows). The conjugate rule's c + g/√A takes c·(A − B²)·r/(1/r + B) only where A as
# written is finite; where r is the hypot rule's select of A = w·x² + c (x an input, c an input or a positive number)
# the scaled branch is taken wherever A overflows with finite inputs (|x| > 2⁶⁰ there), so r and 1/r are the result's
# own and the conjugate form holds on: squareplus′ (1 + x/√(x² + b))/2 was 0 for 2.5e−301 at x = −1e200, b = 1e100
# (x² = inf; torch 0.5)
def _hypot_scaled_where_overflowing(a) -> bool:
    """Whether ``a`` is w·x² + c with w a positive number, x an input and c another input or a positive number: the
    forms the hypot rule scales wherever a, as written, overflows while x and c are finite."""
    if not (isinstance(a, sp.Expr) and a.is_Add and len(a.args) == 2):
        return False
    for square, c in (a.args, a.args[::-1]):
        w, rest = square.as_coeff_Mul()
        if (w.is_positive and rest.is_Pow and rest.exp == 2 and rest.base.is_Symbol
                and (c.is_Symbol and c != rest.base or _positive_number(c))):
            return True
    return False


def _inputs_finite(a):
    """|s| ≤ float64's largest number for each input s of ``a`` (float32's infinities fail it too)."""
    return sp.And(*[sp.Abs(s) <= sp.Float("1.7976931348623157e308") for s in sorted(a.free_symbols, key=str)])


# hyp42, scaled-asinh (issue 16, session 42): s·asinh(x/s) (a scaled asinh, the hypot-like log(u + √(u² + 1)) of a
# quotient) where x/s leaves the normal range: 0 (underflowed x/s) for x, a subnormal quotient's few bits, or
# asinh(±inf) = ±inf for a finite product
_SCALED_ASINH_SMALL = sp.Integer(2) ** -30  # below it asinh u = u·(1 − u²/6 + …) is u to 2⁻⁶² relative


def _scaled_asinh(node):
    """c·s·asinh(x/s) (s an input, x free of s) → c·{x where |x/s| < 2⁻³⁰; sign(x)·|s|·(log 2|k| + log|x₀| − log|s|)
    (x = k·x₀, k a number: :func:`_far_asinh_log`) where x/s overflows and s ≠ 0 (asinh u = sign(u)·(log 2|u| +
    1/(4u²) − …), 1/u² below 2⁻²⁰⁴⁶ there); s·asinh(x/s) elsewhere}; None for any other node."""
    if not node.is_Mul:
        return None
    for f in node.args:
        if not isinstance(f, sp.asinh):
            continue
        numerator, denominator = sp.fraction(f.args[0])
        s = denominator
        if not (s.is_Symbol and s in node.args and numerator.free_symbols and s not in numerator.free_symbols):
            continue
        rest = node / (s * f)
        x = numerator
        quotient = Grouped(x / s)
        far = sp.Abs(quotient) > sp.Float("1.7976931348623157e308")
        large = sp.sign(x) * sp.Abs(s) * _far_asinh_log(x, s)
        scaled = sp.Piecewise((x, sp.Abs(quotient) < _SCALED_ASINH_SMALL), (large, far & sp.Ne(s, 0)),
                              (s * f, True))
        return _Final(_Fired(rest * scaled, ["scaled-asinh"]))
    return None


SCALED_ASINH = Rule(
    "scaled-asinh", "s·asinh(x/s) where x/s leaves the normal range (torch autograd the same at each point): −0 for "
    "−2.2e−308 at s = −1e200, x = −2.2e−308 (x/s underflows), 31 ULP at s = 1e300, x = 1e−10 (a subnormal quotient), "
    "inf for 1.977e−306 at s = −2.78e−309, x = 0.7 (x/s overflows); x where |x/s| < 2⁻³⁰ (asinh u = u to 2⁻⁶² "
    "relative: s·asinh(x/s) = x to 2⁻⁶²), sign(x)·|s|·(log 2 + log|x| − log|s|) where x/s overflows and s ≠ 0 "
    "(asinh u = sign(u)·log 2|u| to 1/(4u²) < 2⁻²⁰⁴⁶; the logs' sum ≥ 709 with terms ≤ 745: no cancellation), as "
    "written elsewhere; a numerator k·x₀ (k a number) as log 2|k| + log|x₀|, k·x₀ not formed (s·asinh(2x/s) inf at "
    "(s, x) = (0.3, 1.797e308) for 213.71; torch inf)", local=_scaled_asinh)


# hyp42, the hypot rule for a sum of squares' power times factors that are no base of it (issue 16, session 42):
# z·√(x² + y²) at (x, y, z) = (−5e−324, 5e−324, 3e38) was 1.48e−285 for 2.10e−285 (1.6e15 ULP; torch 0): the scaled
# √S/r is the subnormal hypotenuse 7e−324 rounded to 5e−324 before z multiplies it; (z·√S)/r rounds once
def _hypot_sum_scaled_factor(node):
    """c·z₁·…·zₖ·{the select :func:`_hypot_sum` made of W^e} (e a half-integer, each z an input free of W's) →
    {(c·z₁·…·zₖ·S^e)·r^(−2e) where far, the first product is finite and, where r^(−2e) > 1, at least 2⁻¹²⁶; the
    product as it was elsewhere}:
    S^e·r^(−2e) alone is subnormal where the product is not (r^(−2e) a power of two: :func:`_scaled_sum_power`'s
    exact steps); None for any other product."""
    if not node.is_Mul:
        return None
    selects = [f for f in node.args if f in _HYPOT_SUM_WRITTEN and _HYPOT_SUM_WRITTEN[f].is_Pow]
    if len(selects) != 1:
        return None
    (f,) = selects
    written = _HYPOT_SUM_WRITTEN[f]
    e = written.exp
    rest = [h for h in node.args if h is not f]
    inputs = written.base.free_symbols
    if not (e.is_number and (2 * e).is_Integer) or not any(h.is_Symbol for h in rest) or not all(
            h.is_Number or h.is_Symbol and h not in inputs for h in rest):
        return None
    s, r, far = _scaled_sum_of_squares(written.base)
    product = Grouped(sp.Mul(*rest) * s ** e)
    scaled = _scaled_sum_power(s, r, e).xreplace({s ** e: product})
    if not scaled.has(product):
        return None
    # where r^(−2e) < 1 (r > 1 for e > 0) a product below the range makes the result lie further below it; where
    # r^(−2e) > 1 it is taken only above float32's smallest normal number, the product's lost bits would be multiplied
    # by r^(−2e) (√(x² + y²)·z in float32 at |x| = 1e30, z = 1e−40: 2.6e6 ULP; z/√(x² + y²) at x = 1.06e−118,
    # z = 6e−323: 1e14 ULP)
    finite = sp.Abs(product) <= sp.Float("1.7976931348623157e308")
    shrinking = r > 1 if e > 0 else r < 1
    normal = finite & (shrinking | (sp.Abs(product) >= sp.Float(2.0 ** -126)))
    result = sp.Piecewise((scaled, far & normal), (node, True))
    _HYPOT_SUM_WRITTEN[result] = node
    return _Final(_Fired(result, ["hypot"]))


# ------------------------------------------------------------------ break43 (issue 16, session 43, h-break43: the
# conjugate rule for a negated root difference, B − √A; tested in tests/test_break43.py)
def _negated_root_difference(node):
    """B − k·√A (the root's coefficient negative, no positive root beside it) → −(the conjugate rule's form of
    k·√A − B), or None: :func:`_root_term` takes k > 0 only, so x − √(x² + 4) (squareplus mirrored, −squareplus(−x))
    was printed as written, every digit lost for x ≫ 1 (−1.49e−8 for −5.0e−9 at x = 2.0e8, 1.2e16 ULP in float64; torch
    the same) where √(x² + 4) − x took c/(√(x² + c) + x). Exact: the negation of an exact rewrite."""
    if not node.is_Add:
        return None
    if any(_root_term(t) is not None for t in node.args) or sum(
            _root_term(-t) is not None for t in node.args) != 1:
        return None
    found = _conjugate_forms(-node)
    if found is None:
        return None
    final = isinstance(found, _Final)
    fired = found.expr if final else found
    expr, names = (fired.expr, fired.names) if isinstance(fired, _Fired) else (fired, ["conjugate"])
    # where A − B² (the numerator) is infinite the conjugate form is inf/inf: x − √(x² + y) at y = inf was NaN for
    # −inf (torch −inf); the written form there (an infinite x keeps the conjugate form: its limit 0, torch NaN)
    (k, _, a), = [r for r in (_root_term(-t) for t in node.args) if r is not None]
    d = sp.expand(a - (sp.Add(*[t for t in node.args if _root_term(-t) is None]) / k) ** 2)
    negated = -expr if d.is_number else sp.Piecewise((-expr, sp.Abs(d) <= _DBL_MAX), (node, True))
    negated = _Fired(negated, names)
    return _Final(negated) if final else negated


# ------------------------------------------------------------------ hyp43 (issue 16, session 43, h-hyp43: the hypot
# rule's product with a base of the squares, c·v·W^e, where r·v is below the scaled form's edge 2⁻¹⁰⁰ (v ≪ max |v|) or
# W^e as written leaves float32's range): ∂x of z/√(x² + y²), −x·z·W^(−3/2), at (8.84e−237, −2.26e−159, −2.13e27) was
# inf for 1.62e267 (the written W^(−3/2) = 1e477; torch inf), and float32 inf at x = 1.35e−18, y = 9.3e−29,
# z = 1.4e−45 for 7.7e−10 (W = 1.8e−36 inside the float64 edge 2⁻⁶⁴, W^(−3/2) past float32's range; torch 0.5 ULP)
_HYPOT_SPLIT_POWER = 6  # the largest |−2e| taken: _constant_far's powers (FAR_POWER)


def _hypot_split_pieces(rest, found, square, s, r, e, squares, term) -> list:
    """[(c·v·S^e·r^(−2e), where max |v| is outside [2⁻¹⁶, 2¹⁶])] for the product c·v·W^e of :func:`_hypot_sum_product`
    (c = ``rest``, v the bases ``found``, one or two, no scaled sum P beside them), e a half-integer with |2e| ≤ 6;
    [] otherwise. W^e = S^e·r^(−2e) exactly (W = S/r², r a power of two): the factors c, v, r (to an integer power) and
    S^e are each finite wherever the inputs are and max |v| ≠ 0 (S in [1, n + 1), r within 2^±1023), so the printer's
    product by exponents (_constant_far: each factor split into its fraction and exponent, the exponents added as
    integers) holds the product wherever it is in the range, whatever v's size beside r: r·v is not formed, nor
    W^e. The edge 2¹⁶ is the powered-bases one: inside it W^e (|e| ≤ 3) stays within 2^±200, a float32 normal
    number times the product's other factors' range."""
    if square is not None or not found or not (e.is_number and (2 * e).is_Integer and not e.is_Integer) \
            or abs(2 * e) > _HYPOT_SPLIT_POWER:
        return []
    split = rest * sp.Mul(*found) * r ** int(-2 * e) * s ** e
    return [(split, _far_from_one(squares, term, _POWERED_EDGE))]


# hyp43, asinh-far-sum (issue 16, session 43): a sum holding c·asinh(x/s) (∂s of the scaled asinh s·asinh(x/s),
# asinh(x/s) − x/(s·√(1 + x²/s²))) where x/s overflows: asinh(±inf) = ±inf made the sum ±inf (inf for 1016.89 at
# s = −3.3e−244, x = −1.9e198; torch NaN); the scaled-asinh rule above takes the product s·asinh(x/s) only
def _asinh_far_sum(node):
    """A sum with a term c·asinh(x/s) (c a number, s an input, x free of s) → {the sum with asinh(x/s) written
    sign(x)·sign(s)·(log 2|k| + log|x₀| − log|s|) (x = k·x₀, k a number: :func:`_far_asinh_log`), and each other
    term that is an algebraic function of x/s alone its limit (:func:`_far_quotient_limit`), where |x/s| overflows and s ≠ 0; the sum as it was elsewhere}; None for any
    other node."""
    if not (isinstance(node, sp.Expr) and node.is_Add):
        return None
    for t in node.args:
        _, f = t.as_coeff_Mul()
        if not isinstance(f, sp.asinh):
            continue
        x, s = sp.fraction(f.args[0])
        if not (s.is_Symbol and x.free_symbols and s not in x.free_symbols):
            continue
        far = (sp.Abs(Grouped(x / s)) > sp.Float("1.7976931348623157e308")) & sp.Ne(s, 0)
        # (log|x| − log|s| + log 2 with the last two grouped: not the scaled-asinh rule's sum, whose widened call,
        # shared, was printed on every element, unmasked: s·asinh(x/s) 1.35× in NumPy float64)
        large = sp.sign(x) * sp.sign(s) * _far_asinh_log(x, s, grouped=True)
        terms = [large * (g / f) if g.has(f) else _far_quotient_limit(g, x, s) for g in node.args]
        return _Final(_Fired(sp.Piecewise((sp.Add(*terms), far), (node, True)), ["asinh-far-sum"]))
    return None


_FAR_QUOTIENT_EDGE = sp.Integer(2) ** 1024  # |x/s| past it where the far branch is taken


def _far_quotient_limit(g, x, s):
    """The term ``g`` of :func:`_asinh_far_sum`'s sum where |u| = |x/s| > 2¹⁰²⁴: its limits L₊, L₋ at u → ±∞ as
    (L₊ + L₋)/2 + sign(x)·sign(s)·(L₊ − L₋)/2, where g is an algebraic function of u alone (x an input or a number
    times one, k·x₀: sign(k)·sign(x₀) then; g built of inputs, numbers, sums, products, rational powers, |·| and sign), both limits finite numbers, and g within
    2⁻⁷⁰ of its limit at u = ±2¹⁰²⁴ and ±2²⁰⁴⁸ (mpmath, 60 digits: an algebraic function's distance to its limit
    shrinks as a power of 1/|u| past its last turning point; 2⁻⁷⁰ against the asinh term's ≥ 709 is below 2⁻⁷⁹ of
    the sum; g's written form, :func:`_as_math`, is what is tested); ``g`` as it is otherwise (−x/(s·√(1 + x²/s²)) as
    the other rules write it, x·|s/x|/(s·√(1 + (s/x)²)) with |s/x| underflowed, was 0 for ∓1 there)."""
    math = _as_math(g)  # (the formula the term computes: its children are rewritten already)
    k, x = x.as_coeff_Mul()  # (ent44: x = k·x₀, a number's multiple of an input, as in s·asinh(2x/s))
    if not x.is_Symbol or not _no_cancellation_inputs_signs(math):
        return g
    u = sp.Dummy("u", real=True, nonzero=True)
    in_u = sp.simplify(math.subs(x, u * s / k))
    if in_u.has(s) or in_u.free_symbols - {u}:
        return g
    limits = []
    for side in (sp.oo, -sp.oo):
        try:
            limit = sp.limit(in_u, u, side)
        except (NotImplementedError, ValueError, TypeError):
            return g
        if not (limit.is_number and limit.is_finite and limit.is_real):
            return g
        for k in (1, 2):
            at = (1 if side is sp.oo else -1) * _FAR_QUOTIENT_EDGE ** k
            value = sp.N(in_u.subs(u, at), 60)
            if not (value.is_number and abs(value - limit) < sp.Float(2.0 ** -70)):
                return g
        limits.append(limit)
    plus, minus = limits
    return (plus + minus) / 2 + sp.sign(k) * sp.sign(x) * sp.sign(s) * (plus - minus) / 2


def _no_cancellation_inputs_signs(e) -> bool:
    """``e`` is built of inputs, numbers, sums, products, rational powers, |·| and sign alone (no other function, no
    select): an algebraic function of its inputs."""
    return all(n.is_Symbol or n.is_number or n.is_Add or n.is_Mul or (n.is_Pow and n.exp.is_Rational)
               or isinstance(n, (sp.Abs, sp.sign)) for n in sp.preorder_traversal(e))


ASINH_FAR_SUM = Rule(
    "asinh-far-sum", "a sum holding c·asinh(x/s) (∂s of s·asinh(x/s): asinh(x/s) − x/(s·√(1 + x²/s²))) where x/s "
    "overflows: asinh(±inf) = ±inf made the sum ±inf for a finite truth (inf for 1016.89 at s = −3.3e−244, "
    "x = −1.9e198; torch NaN); there asinh(x/s) is sign(x)·sign(s)·(log 2 + log|x| − log|s|) (asinh u = sign(u)·"
    "(log 2|u| + 1/(4u²) − …), 1/(4u²) below 2⁻²⁰⁴⁸ where |u| > 2¹⁰²⁴; the logs' sum ≥ 709 with each term ≤ 745: no "
    "cancellation; a numerator k·x₀, k a number, as log 2|k| + log|x₀|, k·x₀ not formed: ∂s of s·asinh(2x/s) inf at "
    "(0.3, 1.797e308) for 711.37), the sum as written elsewhere", local=_asinh_far_sum)


# hyp43, halved-difference (issue 16, session 43): N/|x − y| and N/(x − y) where the difference of two finite inputs
# overflows: relu(y)/|x − y| at x = −1e308, y = 1e308 was 0 for 0.5 (x − y = −inf; torch 0 too)
_FLOAT64_MAX = sp.Float("1.7976931348623157e308")
_DIFFERENCE_SCALE = 16  # x/16 ± y/16: its reciprocal ≥ 16/(2·1.8e308) = 4.5e−308 is a normal number


def _halved_difference(node):
    """c·N·|x ± y|⁻¹ or c·N·(x ± y)⁻¹ (x, y inputs, N the other factors, at least one holding an input) →
    {(c·N/|x/16 ± y/16|)/16 (or /(x/16 ± y/16)) where |x ± y| overflows and x, y are finite; the product as it was
    elsewhere}: x/16 and y/16 are exact (an input past 2¹⁰²³ in size, where the sum overflows, scales exactly; the
    other may lose its last bits below 2⁻¹⁰¹⁸, 2⁻²⁰⁴⁰ of the larger), x/16 ± y/16 is the sum scaled, rounded once,
    within [1.1e307, 2.3e307], so that 1/(x/16 ± y/16) is a normal number where the printer takes the reciprocal
    apart (shared by ∂y: 1/(x/2 − y/2) was subnormal, y/(x − y) 3.0 ULP at (1.3e308, −1.1e308)); the quotient formed
    before the exact 1/16 (but below float64's normal range); None for any other node."""
    if not (isinstance(node, sp.Expr) and node.is_Mul):
        return None
    for f in node.args:
        if not (f.is_Pow and f.exp == -1):
            continue
        inner = f.base.args[0] if isinstance(f.base, sp.Abs) else f.base
        if not (inner.is_Add and len(inner.args) == 2):
            continue
        terms = [t.as_coeff_Mul() for t in inner.args]
        if not all(abs(c) == 1 and v.is_Symbol for c, v in terms) or terms[0][1] == terms[1][1]:
            continue
        rest = node / f
        if not rest.free_symbols:
            continue
        scaled_sum = sp.Add(*[c * Grouped(v / _DIFFERENCE_SCALE) for c, v in terms])
        denominator = sp.Abs(scaled_sum) if isinstance(f.base, sp.Abs) else scaled_sum
        far = (sp.Abs(Grouped(inner)) > _FLOAT64_MAX) & sp.And(*[sp.Abs(v) <= _FLOAT64_MAX for _, v in terms])
        scaled = Grouped(Grouped(rest / denominator) / _DIFFERENCE_SCALE)
        return _Final(_Fired(sp.Piecewise((scaled, far), (node, True)), ["halved-difference"]))
    return None


def _halved_differences(expr):
    """``expr`` (one output) with :func:`_halved_difference` applied to the output itself or to the values of its
    selects (an output that is such a quotient, as the earlier rules leave it), not to a term of a sum: ∂y of
    relu(y)/|x − y|, H(y)/|x − y| + relu(y)·sign(x − y)/(x − y)², is the fraction-complement rule's joined form, and
    its first term alone taken apart was 5e−309 where torch's and the joined form's is 0 (the truth 2.5e−309)."""
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(_halved_differences(v), c) for v, c in expr.args])
    out = _halved_difference(expr) if isinstance(expr, sp.Expr) else None
    return expr if out is None else out.expr.expr


HALVED_DIFFERENCE = Rule(
    "halved-difference", "N/|x − y| and N/(x − y) (x, y inputs) where x − y overflows while x and y are finite: the "
    "quotient of a finite truth was 0 (relu(y)/|x − y| at x = −1e308, y = 1e308: 0 for 0.5; torch 0 too); there "
    "(N/|x/16 − y/16|)/16: x/16, y/16 exact where one input is past 2¹⁰²³ in size (the other's lost bits below "
    "2⁻¹⁰⁷⁴ are 2⁻²⁰⁴⁰ of the sum), the scaled sum rounded once, finite, and its reciprocal a normal number, N divided "
    "by it before the exact 1/16; as written elsewhere. An output that is such a quotient (or a select's value), not "
    "a term of a sum", apply=_halved_differences, fired=_rewrote)


# hyp43, distributed-power-sum (issue 16, session 43): v·Σ cᵢ·mᵢ·D^(−kᵢ) (v an input, mᵢ monomials of inputs, D one sum,
# kᵢ ≥ 2), SymPy's collected gradient of a rational product (∂x of x·y/(x − y)⁸, y·((x − y)⁻⁸ − 8x·(x − y)⁻⁹)),
# overflows in the sum where v brings it back: inf for −4e294 at x, y ≈ 8e−25, x − y ≈ 1e−38 (torch inf too)
def _distributed_power_sum(node):
    """v·S with v an input and S a sum of two or more terms c·m·D^(−k) (c a number, m a product of inputs' integer powers
    or 1, one sum D of inputs for every term, k ≥ 2 an integer) → S·v taken as Σ v·(c·m·D^(−k)) where it is ±inf or
    NaN (:func:`written_where_not_finite`: each term a product the printers take by exponents, no partial sum past
    the range where the whole is in it), and that taken over the common power of D (cube46: :func:`_distributed_factored`)
    where this is finite; the far branch past 2^±⌊1022/k⌋ (far45: :func:`_distributed_far`); None for any other node."""
    if not (isinstance(node, sp.Expr) and node.is_Mul and len(node.args) == 2):
        return None
    for v, s in (node.args, node.args[::-1]):
        if not (v.is_Symbol and isinstance(s, sp.Expr) and s.is_Add and len(s.args) >= 2):
            continue
        bases, orders = set(), []
        for t in s.args:
            powers = [f for f in sp.Mul.make_args(t) if f.is_Pow and f.base.is_Add]
            others = [f for f in sp.Mul.make_args(t) if f not in powers]
            if len(powers) != 1 or not (powers[0].exp.is_Integer and powers[0].exp <= -2) or not all(
                    f.is_number or f.is_Symbol or f.is_Pow and f.base.is_Symbol and f.exp.is_Integer for f in others):
                break
            bases.add(powers[0].base)
            orders.append(-int(powers[0].exp))
        else:
            if len(bases) == 1 and all(a.is_Symbol or a.as_coeff_Mul()[1].is_Symbol for a in next(iter(bases)).args):
                distributed = sp.Add(*[v * t for t in s.args])
                taken = written_where_not_finite(node, distributed)
                # (cube46) over the common power of D, the numerator a polynomial rounded once: node where it is not
                # finite, and the far branch's fallback (node there before: it computed node on every element)
                factored = _distributed_factored(v, s, next(iter(bases)), max(orders))
                collected = ()
                if factored is not None:
                    # (review46) past the far edge with an input 0, the collected form as before
                    collected = _distributed_collected_far(taken, next(iter(bases)), max(orders))
                    node, taken = factored, written_where_not_finite(factored, taken)
                # (far45) where D^k leaves float64's normal range, D^(−k) is subnormal or 0 and the product is finite
                far = _distributed_far(node, distributed, next(iter(bases)), max(orders))
                return _Final(_Fired(sp.Piecewise(*far, *collected, (taken, True)), ["distributed-power-sum"]))
    return None


DISTRIBUTED_POWER_SUM = Rule(
    "distributed-power-sum", "v·Σ cᵢ·mᵢ·D^(−kᵢ) (v an input, D a sum of inputs, kᵢ ≥ 2: SymPy's collected ∂x of "
    "x·y/(x − y)⁸, y·((x − y)⁻⁸ − 8x/(x − y)⁹)) overflows in the sum where the factor v brings it back (inf for a "
    "finite −4e294 at x, y ≈ 8e−25, x − y ≈ 1e−38; torch inf too): taken as Σ v·cᵢ·mᵢ·D^(−kᵢ) where it is ±inf or NaN, "
    "each term a product taken by exponents (the same terms, each multiplied by v before they are added: one "
    "rounding more a term, none out of the range), and so wherever |D| ≥ 2^⌊1022/k⌋ (k the least kᵢ: D^k past "
    "2¹⁰²², D^(−k) below the normal range; ∂y of x·y/(x − y)⁸ at (3e38, −2e38) was −2.4576e−271 for −1.6896e−271, "
    "1/(x − y)⁸ = 0 in a finite sum; torch 4.1e15 ULP); elsewhere over the common power, v·P·D^(−k) (P = Σ cᵢ·mᵢ·"
    "D^(k−kᵢ) multiplied out, rounded once where it is two terms each an input times ±2^j, widened elsewhere), where "
    "that is finite: ∂x of x·y/(x − y)³, −y·(2x + y)/(x − y)⁴, was 13,400 ULP near its root y = −2x as collected "
    "(its terms rounded before their sum cancels; torch 2,801); the far branch is refused only where an input that is a "
    "factor of every term is 0 (its signed zero: the collected form there)", local=_distributed_power_sum)


# ------------------------------------------------------------------ user44 (issue 16, session 44, h-user44: the
# conjugate rule's c·w·(v·r)·(v/(1/r + B)) where r = 1/√W is the hypot rule's select and W is subnormal; root45 moved
# its edge on |r₂·v| from 2⁻¹⁰⁰ to 2⁻¹⁰⁰⁰: _conjugate_scaled_normal at the end of this module)
def _conjugate_scaled(k, v, r, b):
    """(k·((r₂·v)/√S)·((r₂·v)/(√S + r₂·B)), where it is taken) for the conjugate rule's k·(v·r)·(v/(1/r + B)), r the
    hypot rule's select of W^(−1/2) (W = S/r₂², :func:`_scaled_sum_of_squares`: r₂ a power of two, √S in [1, 2·√n)):
    taken where that scaling is and |r₂·v| > 2⁻¹⁰⁰⁰ or v = 0 (:func:`_conjugate_scaled_normal`); B² is a term of A
    (A − B² = w·v²), so r₂·B is of the scaled bases' size (no overflow). Exact scalings by r₂: v·r = (r₂·v)/√S and
    v/(1/r + B) = (r₂·v)/(√S + r₂·B). As written, r = r₂/√S overflowed where W is subnormal and 1/r was 0: the
    Charbonnier loss's ∂ε, ε/√(ε² + x²) − 1, was −inf for −0.2929 at ε = x = 1e−310 (float64; float32 at 1e−45;
    torch NaN), and where A overflows the rule took the written ε/√W − 1 (44.7 ULP at ε = 9.88e307, x = 2.49e307).
    None where r is not the hypot rule's select of W^(−1/2)."""
    written = _HYPOT_SUM_WRITTEN.get(r)
    if written is None or not written.is_Pow or written.exp != -sp.S.Half:
        return None
    parts = _scaled_sum_of_squares(written.base)
    if parts is None:
        return None
    s, r2, far = parts
    root = sp.sqrt(s)
    scaled_v = Grouped(r2 * v)
    scaled = k * Grouped(scaled_v / root) * Grouped(scaled_v / (root + Grouped(r2 * b)))
    return scaled, far & _conjugate_scaled_normal(scaled_v, v)  # (root45: the edge and v = 0)


def _scaled_root_by_binade(branch, scale):
    """(√S/scale)/r for the hypot rule's scaled branch √S/r (r its power of two, √S in [1, 2·√n)): the scale taken
    before r, where (√S/r)/scale formed √W first, which overflows past the largest number although √W/scale does
    not (the Charbonnier loss √(x² + ε²) − ε at x = ε = 1.7976931348623157e308 was 0 for 7.446e307; float32 at
    3.4028235e38 0 for 1.409e38; torch inf). Exact: r and the scale are powers of two and √S/scale is normal. None
    for a branch of another form."""
    inner = branch.args[0] if isinstance(branch, Grouped) else branch
    if not inner.is_Mul:
        return None
    powers = [f for f in inner.args if f.is_Pow and isinstance(f.base, binade_reciprocal) and f.exp.is_negative]
    if len(powers) != 1:
        return None
    rest = inner / powers[0]
    return Grouped(Grouped(rest / scale) * powers[0])


# ------------------------------------------------------------------ ent44 (issue 16, session 44, h-ent44: entropies of
# written softmaxes and scaled exponentials near over/underflow). scaled-asinh and asinh-far-sum for a numerator k·x₀
# with k a number: log|x| of x = 2x₀ overflowed where 2x₀ does (s·asinh(2x/s) inf at (s, x) = (0.3, 1.797e308) for
# 213.71, ∂s inf for 711.37; torch inf)
def _far_asinh_log(x, s, grouped=False):
    """log 2|x/s| = log 2|k| + log|x₀| − log|s| for x = k·x₀ (k a nonzero number, 1 where x has none): the far form of
    asinh(x/s) without forming k·x₀, which overflows where the quotient's log does not (|x₀| ≤ 1.8e308, |k·x₀| need not
    be). log 2|k| is a number (printed rounded once); where |x/s| > 1.8e308 the sum is ≥ 709 and its input terms are
    ≤ 745 in size, so it loses no more than (1490 + |log 2|k||)/709 of a rounding to cancellation. ``grouped``:
    log|s| − log 2|k| grouped (asinh-far-sum's order)."""
    k, x0 = x.as_coeff_Mul()
    constant = sp.log(2 * sp.Abs(k))
    if grouped:
        return sp.log(sp.Abs(x0)) - Grouped(sp.log(sp.Abs(s)) - constant)
    return constant + sp.log(sp.Abs(x0)) - sp.log(sp.Abs(s))


# ------------------------------------------------------------------ root45 (issue 16, session 45, h-root45: the
# conjugate form of √A − √C where both roots are 0; tested in tests/test_root45.py)
def _conjugate_at_zero(conjugate, root, b):
    """{k·√A where B = 0; the conjugate form k·(A − B²)/(√A + B) elsewhere} for k·(√A − B), B = c·√C (c > 0): at
    A = C = 0 that form is 0/0 = NaN where k·(√A − B) is 0 (sqrt(x² + ε) − √ε at ε = x = 0; torch 0).

    Exact: where B as computed is 0 the written k·(√A − B) is k·√A, the same number (√A as the rules print it). And
    it covers every 0/0: √A and B are ≥ 0 as computed, and a rounded sum of two numbers ≥ 0 is 0 only where both are
    (round to nearest takes a positive sum to a positive number), so the denominator √A + B is 0 only where B is."""
    return sp.Piecewise((root, sp.Eq(b, 0)), (conjugate, True))


def _number_kept_apart(factors):
    """The product of ``factors`` with a number among them kept a factor of its own beside a sum (unevaluated): SymPy
    multiplies 2·(R − 1) out into 2R − 2, whose 2R overflows past half the largest number where the product with the
    hypot rule's bounded x·r/√S does not (∂x of WGAN-GP's penalty (√(x² + y²) − 1)², 2x·(R − 1)/R, was ±inf for
    |y| in [9e307, 1.79e308]; torch NaN). Kept apart, the printers multiply the number last or onto the smaller
    factor (_constant_times, _constant_far): 2·fl(R − 1) is 2R − 2 as rounded where it is finite (scaling by 2 is
    exact), so only the overflow changes; a number that is no power of two rounds its product once, as 2R − 2 did."""
    numbers = [f for f in factors if f.is_Number]
    if len(numbers) != 1 or not any(f.is_Add for f in factors):
        return sp.Mul(*factors)
    return sp.Mul(*factors, evaluate=False)


_WIDENED_LOW, _WIDENED_HIGH = sp.Float(2.0 ** -600), sp.Float(2.0 ** 600)  # C's range for the widened odd powers


def _reciprocal_root_difference(node):
    """c·(A^(−k/2) − C^(−k/2)) (k odd, 1 ≤ k ≤ 9; each the written power or the hypot rule's select of it; A − C = w·v²,
    w > 0 a number: ∂ε of √(x² + ε) − √ε, (1/√(x² + ε) − 1/√ε)/2; ∂ε of 1/√ε − 1/√(ε + x²), ((ε + x²)^(−3/2) −
    ε^(−3/2))/2) → −c·w·(v·A^(−1/2))·((v·C^(−1/2))/(√A + √C))·Σ A^(−i/2)·C^(−(k−1−i)/2) where w·v² ≤ C; the node as
    it is elsewhere. None for any other node.

    Exact: 1/√A − 1/√C = (√C − √A)/(√A·√C) = (C − A)/(√A·√C·(√A + √C)) = −w·v²/(√A·√C·(√A + √C)), and with
    a = 1/√A, c = 1/√C, a^k − c^k = (a − c)·Σ aⁱ·c^(k−1−i) (k = 1: the sum is 1), a sum of terms of one sign. Where
    w·v² ≤ C (A within [C, 2C]) the difference cancels (to 0 past double words' reach: −2.5e−232 at ε = 1e154, x = 1)
    and each factor here is bounded: |v·A^(−1/2)| ≤ 1/√w, |v·C^(−1/2)| ≤ 1/√w, √A + √C in [2√C, 3√C], the sum within
    [k·A^(−(k−1)/2), k·C^(−(k−1)/2)], so the product is formed of normal numbers wherever it is normal, and v² is not
    formed (a subnormal x² kept few digits: ε = 1e−310, x = 1e−160 was 1.3e10 ULP off)."""
    if not (isinstance(node, sp.Expr) and node.is_Add and len(node.args) == 2):
        return None
    parts = []
    for t in node.args:
        c, rest = t.as_coeff_Mul()
        written = _written_form(rest) if isinstance(rest, sp.Piecewise) else rest
        if written is None or not (written.is_Pow and written.exp.is_Rational and written.exp.q == 2
                                   and -9 <= 2 * written.exp <= -1):
            return None
        base = _written_form(written.base)
        if base is None:
            return None
        parts.append((c, rest, base, written.exp))
    (c1, r1, a1, k1), (c2, r2, a2, k2) = parts
    if c1 + c2 != 0 or c1 == 0 or k1 != k2:
        return None
    square = _square_term(sp.expand(a1 - a2))
    if square is None:
        (c1, r1, a1, _), (c2, r2, a2, _) = (c2, r2, a2, k2), (c1, r1, a1, k1)
        square = _square_term(sp.expand(a1 - a2))
    if square is None:
        return None
    w, v = square
    roots, inner = _rewritten(sp.sqrt(a1) + sp.sqrt(a2))
    k = int(-2 * k1)
    if k > 1:  # (mirror47) A^(−k/2) − C^(−k/2): the reciprocal roots themselves, as the rules print them
        (r1, r2), more = zip(*(_rewritten(b ** -sp.S.Half) for b in (a1, a2)))
        inner = inner + [r for rules in more for r in rules]
    form = -c1 * w * Grouped(v * r1) * Grouped(Grouped(v * r2) / roots)
    if k > 1:
        form = form * Grouped(sp.Add(*[r1 ** i * r2 ** (k - 1 - i) for i in range(k)]))
        # its six or more roundings in float64 reached 4.14 ULP (∂ε of 1/√ε − 1/√(ε + x²) at ε = 0.0317, x = 0.00253):
        # the written powers' product in double words, rounded once, where C is within 2^±600 (A in [C, 2C]: every
        # value the double words hold, v/√A, 1/√C, 1/A, …, is then within 2^±968, and v² is not formed)
        plain = [b ** -sp.S.Half for b in (a1, a2)]
        body = (-c1 * w * Grouped(v * plain[0]) * Grouped(Grouped(v * plain[1]) / (sp.sqrt(a1) + sp.sqrt(a2)))
                * Grouped(sp.Add(*[plain[0] ** i * plain[1] ** (k - 1 - i) for i in range(k)])))
        # (h-inf48) below the widened range the form's Σ ≈ k/C^((k−1)/2) overflows where the result need not: there,
        # where the form is not finite, the low form (computed on those elements alone: a select computed it on every
        # element, 1.14–1.29× the kernel's CPU time)
        low = _reciprocal_root_difference_low(c1, w, v, a2, k)
        form = sp.Piecewise((widen(body), (a2 >= _WIDENED_LOW) & (a2 <= _WIDENED_HIGH)),
                            (written_where_not_finite(form, low), True))
    names = ["reciprocal-root-difference"] + list(dict.fromkeys(r.name for r in inner))
    # (session 48, h-inf48) 0 at C = +inf (v not NaN: w·v² ≥ 0), where A = C + w·v² is +inf too and the difference
    # is 0 − 0, its limit (|A^(−k/2) − C^(−k/2)| ≤ C^(−k/2)): the form is inf/inf there, and the written one's roots
    # the hypot rule's |v|·√(1 + (C/v)/v), inf/inf at v = ±inf: ∂ε of √(x² + ε) − √ε at ε = inf, x = ±inf was NaN
    # (torch 0)
    at_infinity = (a2 > _DBL_MAX) & (w * v ** 2 >= 0)
    return _Final(_Fired(sp.Piecewise((0, at_infinity), (form, w * v ** 2 <= a2), (node, True)), names))


def _reciprocal_root_difference_low(c1, w, v, c, k):
    """c1·(A^(−k/2) − C^(−k/2)), A = C + w·v² ≤ 2C, k = 2m + 1 > 1, where the form's Σ overflows (C below 2⁻⁶⁰⁰): as
    −c1·w·((v/C)²/C^(m−1)/√C)·Σ_{i<k} u^(−i)/(u·(u + 1)), t = v/√C, u = √(1 + w·t²) in [1, √2]: the sum bounded,
    the powers in increasing partial products (v² alone underflows where the result does not).

    Exact: √A = √C·u, so A^(−k/2) − C^(−k/2) = C^(−k/2)·(u^(−k) − 1) = −C^(−k/2)·(u² − 1)·Σ_{i<k} u^(−i)/(u·(u + 1))
    (u^(−k) − 1 = (u⁻¹ − 1)·Σ u^(−i), u⁻¹ − 1 = −(u² − 1)/(u·(u + 1))), and u² − 1 = w·t² = w·v²/C. The form it
    replaces multiplied Σ A^(−i/2)·C^(−(k−1−i)/2) ≈ k/C^m first, past the largest number where C^m is below its
    reciprocal although the result is not: ∂ε of 1/√ε − 1/√(ε + x²) at ε = 1.97e−311, x = 1e−300 was −inf for
    −4.354e176 (session 48, h-inf48); A rounded in C + w·v² at a subnormal C is not formed either."""
    m = (k - 1) // 2
    root = sp.sqrt(c)
    u = sp.sqrt(1 + w * Grouped(Grouped(v / root) ** 2))
    inverse = Grouped(1 / u)
    bounded = Grouped(sp.Add(*[inverse ** i for i in range(k)]) * inverse / (u + 1))
    # the powers as (v/C)²/C^(m−1)/√C: increasing partial products from (v/C)² ≥ 2⁻⁹⁴⁸ (v/C ≥ 2⁻¹⁰⁷⁴/C), each below
    # the result where that is finite; three operations on every element (a product by exponents took six more)
    power = Grouped(Grouped(v / c) ** 2)
    for _ in range(m - 1):
        power = Grouped(power / c)
    return -c1 * w * Grouped(Grouped(power / root) * bounded)


RECIPROCAL_ROOT_DIFFERENCE = Rule(
    "reciprocal-root-difference", "1/√A − 1/√C cancels where A ≈ C (∂ε of √(x² + ε) − √ε, (1/√(x² + ε) − 1/√ε)/2, "
    "where x² ≪ ε: 0 for −2.5e−232 at ε = 1e154, x = 1, and 2.2e−162 for −1e−342 at ε = 8.4e257, x = −5.7e22; torch "
    "0); with A − C = w·v² one term, it is −w·(v/√A)·((v/√C)/(√A + √C)) (a difference of squares over the sum of the "
    "roots) where w·v² ≤ C: factors of one sign, each bounded, v² not formed; an odd power of them, A^(−k/2) − "
    "C^(−k/2) (∂ε of 1/√ε − 1/√(ε + x²), ((ε + x²)^(−3/2) − ε^(−3/2))/2: 8.4e15 ULP in float64 at ε = 10^U(−2, 12), "
    "x = ±10^U(−3, 3), torch better at 28 of 300 points), is that difference times Σ A^(−i/2)·C^(−(k−1−i)/2), "
    "terms of one sign; where that sum ≈ k/C^((k−1)/2) overflows (−inf for −4.35e176 at ε = 1.97e−311, x = 1e−300), "
    "−w·v²·C^(−(k+1)/2)·Σ u^(−i)/(u·(u + 1)), u = √(1 + w·v²/C) = √A/√C, the powers one product taken by exponents; "
    "and 0 at C = +inf (A = +inf too), where the form is inf/inf (∂ε at ε = x = inf: NaN, "
    "torch 0)", local=_reciprocal_root_difference)


_CONJUGATE_SCALED_FLOOR = sp.Float(2.0 ** -1000)  # |r₂·v| above it: a normal number in either dtype's kernel


def _conjugate_scaled_normal(scaled_v, v):
    """Where :func:`_conjugate_scaled`'s form is taken inside the scaling's reach: |r₂·v| > 2⁻¹⁰⁰⁰, or v = 0 (the
    form's exact 0: ((r₂·0)/√S)·(…) with √S ≥ 2⁻⁵² > 0). Below 2⁻¹⁰⁰⁰ the form is (r₂·v)²/(√S·(√S + r₂·B)) to the
    factor k, under 2⁻²⁰⁰⁰·|k|: 0 wherever k is a normal number, as the truth rounds. The edge was 2⁻¹⁰⁰, below which
    the written form was taken: the Charbonnier loss's ∂ε, ε/√(x² + ε²) − 1 ≈ −x²/(2ε²), was 0 for −5e−293 at
    (ε, x) = (1e300, 1e154) (A = x² + ε² overflows as written; torch −1), and NaN for 0 at x = 0 beside a subnormal
    ε (r = 1/√(ε²) = inf times v = 0; torch inf)."""
    return (sp.Abs(scaled_v) > _CONJUGATE_SCALED_FLOOR) | sp.Eq(v, 0)


# ------------------------------------------------------------------ far45 (issue 16, session 45, h-far45: distributed-
# power-sum's distributed form, widened, also where a D^kᵢ leaves the normal range, not only where the product is not
# finite)
def _distributed_far_edge(k):
    """2^⌊1022/k⌋: within 2^±⌊1022/k⌋ (D ≠ 0) |D|^k is within 2^±1022, a normal number, and so is its reciprocal;
    past it a D^(±k) the printers form is subnormal, 0 or ±inf (then taken by exponents) or rounded again."""
    return sp.Float(2.0 ** (1022 // k))


def _distributed_far(node, distributed, base, k):
    """The (form, where) pair of distributed-power-sum's far branch: the distributed Σ v·cᵢ·mᵢ·D^(−kᵢ) widened whole in
    scaled double words (as the rational-product rule widens a product: far_bound ⌊960/n⌋, n its terms' largest total
    degree, each input scaled to [1/2, 1) by its exponent), taken as the collected ``node`` where that is not finite;
    where |D| ≥ 2^⌊1022/k⌋ or 0 < |D| < 2^−⌊1022/k⌋ (:func:`_distributed_far_edge`, k the largest kᵢ) and no input that
    is a factor of every term is 0 (cube47, :func:`_in_every_term`; there the product as before: its signed zero). A far branch of the NumPy printer's, computed on its elements
    alone (|D| < 2^−⌊1022/k⌋ as written, a select on every element, was 1.5× the float32 kernel's time); its fallback
    ``node``, which the near branch computes anyway (the distributed sum there, a temporary of every element, was 1.7×
    the float64 kernel's time). ∂y of x·y/(x − y)⁸, x·((x − y)⁻⁸ + 8y·(x − y)⁻⁹), y = −r·x, r in [0.3, 3] (the sum
    cancels by up to 2.2×): at (3e38, −2e38) (x − y)⁸ = 3.9e309 overflowed, (x − y)⁻⁸ was 0 and the sum −8.19e−310
    finite, so the product as computed was kept: −2.4576e−271 for −1.6896e−271; with (x − y)⁹ alone past the range
    (|x| in [1e35, 1e38]) 11.9 ULP, taken by exponents, and where (x − y)⁸ underflows (|x| in [1e−40, 1e−35]) 12.8
    ULP; each term by exponents, not widened, was still 9.0 ULP near 1e38."""
    from .products import _total_degree

    sign = -1 if distributed.could_extract_minus_sign() else 1
    degree = max(_total_degree(t) for t in sp.Add.make_args(distributed))  # (each term a product of powers)
    form = written_where_not_finite(sign * widen(sign * distributed, far_bound=960 // degree), node)
    edge, size = _distributed_far_edge(k), sp.Abs(Grouped(base))
    nonzero = sp.And(*[sp.Ne(v, 0) for v in _in_every_term(distributed)])  # (cube47: not every input)
    # (1/|D| > 2^⌊1022/k⌋, not |D| < 2^−⌊1022/k⌋: a comparison past a large constant, which the printer takes as far)
    return ((form, ((size >= edge) | (1 / size > edge)) & sp.Ne(size, 0) & nonzero),)


# ------------------------------------------------------------------ cube46 (issue 16, session 46, h-cube46: distributed-
# power-sum's near branch over the common power of D, its numerator a polynomial rounded once; tests/test_cube46.py)
def _distributed_factored(v, s, base, k):
    """v·P·D^(−k) for distributed-power-sum's v·S, S = Σ cᵢ·mᵢ·D^(−kᵢ) (k the largest kᵢ, P = Σ cᵢ·mᵢ·D^(k−kᵢ) multiplied
    out, a polynomial in the inputs), or None where P is a number (nothing cancels). P is printed as it is where it is
    two terms, each an input times ±2^j (one rounding: 2x + y), and widened elsewhere (double words rounded once in a
    float64 kernel, float64 in a float32 one: 3x + y, whose 3x rounds before the sum cancels).

    ∂x of x·y/(x − y)³, y·((x − y)⁻³ − 3x·(x − y)⁻⁴) as collected, is −y·(2x + y)/(x − y)⁴: the collected terms round
    before their sum cancels near its root y = −2x (13,400 ULP at (1.3755, −2.7523), torch 2,801); P = −(2x + y),
    rounded once, is within 2⁻⁵³ of itself there. Exact: P·D^(−k) = Σ cᵢ·mᵢ·D^(k−kᵢ)·D^(−k) = S."""
    numerator = _common_power_numerator(s, base, k)
    # D^(−k) grouped: power-quotient would divide by D factor by factor where |D| is past 2^±⌊120/k⌋, each D's rounding
    # unrestored (4.4 ULP for ∂x of x·y/(x − y)⁴ at (2.27e−19, −3.23e−19), torch 0.44), where D^k is normal wherever
    # this form is taken (|D| within 2^±⌊1022/k⌋: the far branch beyond)
    # (P·D^(−k) before v: v·P first underflowed, v·D^(−k) too, where the product is normal: ∂y of x·y/(x − y)³,
    # x·(x + 2y)/(x − y)⁴, was 1,602 ULP at (1.19e−153, 1.33e40), x·(x − y)⁻⁴ = 3.8e−314 subnormal; torch 7.4e15)
    return None if numerator is None else v * Grouped(numerator * Grouped(base ** -k))


def _rounded_once(p):
    """Whether the sum p is a + b with a, b each an input times ±2^j (exact products: the sum rounds once)."""
    if not (p.is_Add and len(p.args) == 2):
        return False
    for t in p.args:
        c, rest = t.as_coeff_Mul()
        if not (rest.is_Symbol and c.is_Rational and c != 0 and (abs(c).p & (abs(c).p - 1)) == 0
                and (abs(c).q & (abs(c).q - 1)) == 0):
            return False
    return True


# the least k of common-power-sum: from k = 4 on the printers raise D to it with D's rounding restored (printing.py's
# ROUNDED_BASE_POWER_MIN); below, D⁻³'s three roundings of D beside P's and the product's were 3.4 ULP for ∂x of
# x/(x − y)² near y = −x, where the homogeneous-quotient rule's widened form, taken when this rule is not, is 0.5
_COMMON_POWER_MIN = 4


def _common_power_sum(expr):
    """An output Σ cᵢ·Mᵢ·D^(−kᵢ) (D one sum of inputs, Mᵢ polynomials of the inputs other than D (cube47: constants in
    their sums too, x + 1; before, inputs and sums of inputs), two kᵢ ≥ 1 or more, the largest k ≥ 4 (_COMMON_POWER_MIN),
    or k ≥ 3 where the sum is not homogeneous (_COMMON_POWER_MIN_NOT_HOMOGENEOUS); no input factor v before it:
    distributed-power-sum's) → P·D^(−k), P = Σ cᵢ·Mᵢ·D^(k−kᵢ) multiplied out (:func:`_distributed_factored`'s
    numerator), D^(−k) grouped, taken as ``expr`` where it is not finite, and past 2^±⌊1022/k⌋ the terms widened in
    scaled double words (cube47: :func:`_common_power_far`); ``expr`` itself for any other output. A homogeneous output (every term of one degree) is taken as the
    homogeneous-quotient rule's widened form instead (:func:`~.quotients._homogeneous_quotient`), here, before
    power-quotient takes its terms apart (which left it to neither rule): ∂x of (x + y)/(x − y)³,
    (x − y)⁻³ − 3(x + y)·(x − y)⁻⁴ = −2(x + 2y)/(x − y)⁴, whose written terms round before their sum cancels near its
    root x = −2y (7.7e15 ULP; 0.50 so, 1.67 as P·(x − y)⁻⁴)."""
    if not (isinstance(expr, sp.Expr) and expr.is_Add and len(expr.args) >= 2):
        return expr
    bases, orders = set(), []
    for t in expr.args:
        powers = [f for f in sp.Mul.make_args(t) if f.is_Pow and f.base.is_Add and f.exp.is_Integer and f.exp < 0]
        if len(powers) != 1:
            return expr
        others = [f for f in sp.Mul.make_args(t) if f is not powers[0]]
        # (cube47) a factor any polynomial of the inputs, constants in its sums too: x + 1 of ∂x of (x + 1)/(x − y)³
        if not all(_polynomial_factor(f) for f in others):
            return expr
        bases.add(powers[0].base)
        orders.append(-int(powers[0].exp))
    if len(bases) != 1 or len(set(orders)) < 2 or max(orders) < _COMMON_POWER_MIN_NOT_HOMOGENEOUS:
        return expr
    base = next(iter(bases))
    if not all(_input_term(a) for a in base.args) or any(base in sp.Mul.make_args(t) for t in expr.args):
        return expr
    homogeneous = _homogeneous_quotient(expr)
    if homogeneous is not None:  # (its widened form, 0.5 ULP: taken here, before power-quotient takes the terms apart)
        return homogeneous if max(orders) >= _COMMON_POWER_MIN else expr  # (below: the homogeneous-quotient rule's)
    numerator = _common_power_numerator(expr, base, max(orders))
    if numerator is None:
        return expr
    # (cube47) D^(−k) grouped, as distributed-power-sum's: power-quotient divided by D factor by factor past 2^±⌊120/k⌋,
    # each D's rounding unrestored (∂x of (x + 2y + 1)/(x − y)³ at (−2.34e36, 2.22e37): 4.94 ULP, torch 3.94)
    near = written_where_not_finite(numerator * Grouped(base ** -max(orders)), expr)
    return _common_power_far(near, expr, base, max(orders))  # (cube47: as written past 2^±⌊1022/k⌋)


def _input_term(a):
    """An input, or a number times one."""
    return a.is_Symbol or a.as_coeff_Mul()[1].is_Symbol


def _common_power_numerator(s, base, k):
    """P = Σ tᵢ·D^k multiplied out for the sum ``s`` of terms tᵢ = cᵢ·Mᵢ·D^(−kᵢ), D = ``base``, k the largest kᵢ, as
    it is printed: ±(a + b) where it is two terms each an input times ±2^j (one rounding), widened elsewhere; None
    where P is a number or no polynomial."""
    numerator = sp.expand(sp.Add(*[t * base ** k for t in s.args]))
    symbols = sorted(numerator.free_symbols, key=sp.default_sort_key)
    if not symbols or not numerator.is_polynomial(*symbols):
        return None
    sign = -1 if numerator.could_extract_minus_sign() else 1
    numerator = sign * numerator
    return sign * (numerator if _rounded_once(numerator) else widen(numerator))


COMMON_POWER_SUM = Rule(
    "common-power-sum", "a sum Σ cᵢ·Mᵢ·(x − y)^(−kᵢ) (Mᵢ polynomials of the inputs; ∂x of (x + y)/(x − y)³, "
    "(x − y)⁻³ − 3(x + y)·(x − y)⁻⁴, and of (x + 1)/(x − y)³) rounds each term before the sum cancels near a root of the "
    "derivative (x = −2y: 7.7e15 ULP in float64, torch 5.9e15; y = −2x − 3: 2.9e16, torch 1.1e16): over the common "
    "power, P·(x − y)^(−k), P = Σ cᵢ·Mᵢ·(x − y)^(k−kᵢ) multiplied out, printed rounded once (two terms, each an input "
    "times ±2^j) or widened; as written where that is not finite; past 2^±⌊1022/k⌋ in |x − y| (where (x − y)^(−k) "
    "leaves the normal range) the terms widened in scaled double words; a homogeneous sum (each term of one degree, as "
    "the first) as the homogeneous-quotient rule's widened form, taken here before power-quotient takes its terms apart "
    "(that one 0.50 ULP, P·(x − y)⁻⁴ 1.67 near the root, 5.07 past 2^±30). An output only (distributed-power-sum takes "
    "v·Σ …), k ≥ 4 (there the printers raise x − y with its rounding restored; below, a homogeneous sum is the "
    "homogeneous-quotient rule's: ∂x of x/(x − y)²), k = 3 where not homogeneous (∂x of (x + 1)/(x − y)², "
    "8.5e15 ULP about its root before, 3.15 so)", apply=_common_power_sum,
    fired=_rewrote)


# ------------------------------------------------------------------ review46 (issue 16, session 46, h-review46: cube46's
# factored near branch underflowed past the far edge where an input is 0; tests/test_review46.py)
def _distributed_collected_far(collected, base, k):
    """The (form, where) pair that keeps distributed-power-sum's collected form (as before cube46) where |D| is past
    2^±⌊1022/k⌋ (:func:`_distributed_far_edge`) and the far branch is not taken (an input is 0: its signed zero). The
    factored v·P·D^(−k) forms D^(−k) alone, 0 or ±inf there: ∂y of x·y/(x − y)³ at y = ±0, x·(x + 2y)·(x − y)⁻⁴, was 0
    for 1/x² (8.97e15 ULP over |x| in [2^255, 5e102]; dec905ca 1.23, torch 1.8), where the collected
    x·(x − y)⁻³ + 3x·y·(x − y)⁻⁴ keeps x·(x − y)⁻³ normal. Exact: both forms are S·v; only the rounding differs."""
    edge, size = _distributed_far_edge(k), sp.Abs(Grouped(base))
    # (D = 0 included, 1/|D| = inf: the collected form there as before, ±inf or NaN as the factored one)
    return ((collected, (size >= edge) | (1 / size > edge)),)


# ------------------------------------------------------------------ cube47 (issue 16, session 47, h-cube47: common-
# power-sum with a polynomial factor (a constant in a sum: ∂x of (x + 1)/(x − y)³), from k = 3 where the sum is not
# homogeneous, and as written past 2^±⌊1022/k⌋; tests/test_cube47.py)

# the least k of common-power-sum where the sum is not homogeneous (nothing else takes it): ∂x of (x + 1)/(x − y)²,
# −(x + y + 2)/(x − y)³, was 8.45e15 ULP about its root y = −x − 2 (torch 2.8e16)
_COMMON_POWER_MIN_NOT_HOMOGENEOUS = 3


def _polynomial_factor(f) -> bool:
    """A number, or a polynomial in the inputs (an input, its positive integer power, a sum of such products and of
    numbers: x + 1, x² + 1, x + 2y + 1, or a positive integer power of one)."""
    if f.is_number:
        return f.is_real is not False
    symbols = sorted(f.free_symbols, key=sp.default_sort_key)
    return all(s.is_Symbol for s in symbols) and f.is_polynomial(*symbols) and not any(
        isinstance(n, (sp.Piecewise, WidenedBase, Grouped)) for n in sp.preorder_traversal(f))


def _common_power_far(near, expr, base, k):
    """``near`` (common-power-sum's P·D^(−k)) where |D| is within 2^±⌊1022/k⌋ (:func:`_distributed_far_edge`), the
    written ``expr`` past it (D = 0 included): there D^(±k) as the printers form it is subnormal, 0 or ±inf, and
    P·D^(−k) 0 where the result is normal (∂x of (x + 1)/(x − y)³ at x = 1e100, y = −1e100: 0 for −1.25e−301),
    where the written terms, taken apart by power-quotient one division at a time, are as before."""
    from .products import _total_degree

    edge, size = _distributed_far_edge(k), sp.Abs(Grouped(base))
    terms = sp.Add(*[sp.expand(t, deep=False, power_exp=False) for t in expr.args])  # each Mᵢ multiplied out
    sign = -1 if terms.could_extract_minus_sign() else 1
    degree = max(_total_degree(t) for t in sp.Add.make_args(terms))
    far = written_where_not_finite(sign * widen(sign * terms, far_bound=960 // degree), expr)
    return sp.Piecewise((far, ((size >= edge) | (1 / size > edge)) & sp.Ne(size, 0)), (expr, sp.Eq(size, 0)), (near, True))


def _in_every_term(distributed):
    """The inputs that are a factor (or a positive power's base) of every term of the sum ``distributed``, sorted: at
    one of them 0 the whole sum is ±0, whose sign the widened far branch does not keep; at another input 0 some term
    is not 0 (v·c·D^(−k), the term of mᵢ = 1), and the far branch's value is that of the terms left. ∂y of
    x·y/(x − y)⁴, x·((x − y)⁻⁴ + 4y·(x − y)⁻⁵), at y = ±0 is 1/x³, normal for |x| < 5.6e102: the far branch was
    refused there (every input had to be nonzero), and the collected form underflowed (x − y)⁻⁴ past 2^255 (8.96e15
    ULP over |x| in [2^255, 5e102]; torch the same)."""
    def factors(t):
        return {f.base if f.is_Pow and f.exp.is_positive else f for f in sp.Mul.make_args(t)} & t.free_symbols

    common = set.intersection(*[factors(t) for t in sp.Add.make_args(distributed)])
    return sorted(common, key=sp.default_sort_key)
