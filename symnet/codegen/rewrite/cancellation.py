"""Cancellation rules: erf-complement, tanhshrink, two-sum, infinite-shift, cosh-square, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: cancellation-rules,
exp-collect-cosh-square, cosh-square-sum, collect-pole, two-sum, infinite-shift, shifted-sum-crossing,
cosh-square-sum-first, vae43.
"""
from __future__ import annotations

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import log1p

from ...functions import sigmoid
from ...special import binade_reciprocal, erfcx, erfcx_slope, erfcx_slope_tail, exp_shift, exp_twosum, ndtr, sigmoid_twosum, softplus
from .core import _Final, _Fired, _positive, _rewrote, Rule
from .widening import (_KEPT, _top_down, _top_down_having, Grouped, widen, WidenedBase,
                       written_where_not_finite)
from .losses import _log_difference, _n_terms


# ------------------------------------------------------------------ cancellation rules (issue 16:
# softsign′, tanhshrink, hardsigmoid); one block, tested in tests/test_numerics_cancel.py

def _abs_sign(node):
    """u·sign(u) → |u| (the derivative of |u| multiplied back by u): one number, no product; and |u|/u^k → sign(u)/u^(k−1)
    (k ≥ 2, the power rule's 1/u beside |u|: SymPy writes ∂ of |x|/x⁴ as sign(x)/x⁴ − 4·|x|/x⁵), so that the two terms
    are one, −3·sign(x)/x⁴, in place of two that overflow apart (−4/x⁴ is −inf from x = 1.18e−77 where −3/x⁴ is not;
    inf − inf = NaN below). The same number but at u = ±∞ (±1 where inf/inf is NaN); at u = 0 both are 0/0. Not k = 1:
    |u|/u is 0/0 at u = 0 (NaN, as torch), sign(u) 0; in a sum, c·|u|/u·R + d·sign(u)·R (∂ of |x|/x⁴ with x⁻⁴ taken
    out, (−4·|x|/x + sign(x))/x⁴) is joined the other way, (c + d)·|u|/u·R, the same number everywhere (NaN at u = 0
    and ±∞ both; where c + d = 0 one grouped term c·R·(|u|/u − sign(u)): _abs_sign_join), which a power of u beside
    it then takes as above. |x·y| → |x|·|y|, sign(x·y) → sign(x)·sign(y) (the
    same number, also where x·y underflows or overflows: sign(x·y) was 0 at x = 1e−200, y = 1e−300), so that the rules
    above see each factor: ∂x of |x·y|/x is 0 (it was NaN for 0 where x² underflows; h-brk36)."""
    if node.is_Add:
        return _abs_sign_join(node) or _reciprocal_abs_as_sign(node)
    if isinstance(node, (sp.Abs, sp.sign)) and node.args[0].is_Mul:  # |x·y| = |x|·|y|, sign(x·y) = sign(x)·sign(y)
        return _Fired(sp.Mul(*[node.func(f) for f in node.args[0].args]), ["abs-sign"])
    if not node.is_Mul:
        return None
    for f in node.args:
        if isinstance(f, sp.sign) and f.args[0] in node.args:
            u = f.args[0]
            return _Fired(_without(node, u, f) * sp.Abs(u), ["abs-sign"])
    for f in node.args:
        if isinstance(f, sp.Abs):
            u = f.args[0]
            p = next((p for p in node.args if p.is_Pow and p.base == u and p.exp.is_Integer and p.exp < -1), None)
            if p is not None:
                return _Fired(_without(node, p, f) * sp.sign(u) * u ** (1 + p.exp), ["abs-sign"])
    return None


def _without(node, *factors):
    """The product ``node`` without the given factors of it, taken out of its arguments, not divided by: SymPy's
    quotient by a Piecewise u distributes into its branches and does not cancel u·(1/u) (session 36, h-search36:
    u·sign(u) of softsign(leaky_relu(y, 0.2))′ became u·{1/y; 5/y}·|u|, 0·inf = NaN at y = 0 for 0.2, torch exact)."""
    rest = list(node.args)
    for f in factors:
        rest.remove(f)
    return sp.Mul(*rest)


def _abs_sign_join(node):
    """The sum ``node`` with each term d·sign(u)·R written d·|u|/u·R where another term is c·|u|/u·R (R the same), so
    that SymPy adds them, (c + d)·|u|/u·R; None where no term is. Where c + d = 0 the two are one term
    c·R·(|u|/u − sign(u)), grouped: SymPy would drop the joined 0·|u|/u·R, 0 at u = 0 and ±∞ where the sum is NaN
    (0/0, inf/inf: torch NaN; h-brk37), and apart the pair's two terms would each meet the sum's others (x + 2·|x|/x
    − 2·sign(x) was 0 for x below 1e−16: h-brk36). The group is exactly 0 at every finite u ≠ 0 (|u|/u and sign(u) both
    ±1), NaN at 0, ±∞ and NaN; |u|/u − sign(u) itself is the group's own sum, left as it is."""
    quotients = {}  # R·|u|/u without its number → (u, the term), for each term holding |u|/u
    for t in node.args:
        for f in sp.Mul.make_args(t):
            if isinstance(f, sp.Abs) and sp.Pow(f.args[0], -1) in sp.Mul.make_args(t):
                quotients[t.as_coeff_Mul()[1]] = (f.args[0], t)
    joined, cancelled = [], {}  # cancelled: the |u|/u terms whose sign(u) partner cancels them → the group
    for t in node.args:
        signs = [f for f in sp.Mul.make_args(t) if isinstance(f, sp.sign)]
        quotient = next((t / f * sp.Abs(f.args[0]) / f.args[0] for f in signs
                         if quotients.get((t / f * sp.Abs(f.args[0]) / f.args[0]).as_coeff_Mul()[1], (None,))[0]
                         == f.args[0]), None)
        if quotient is None:
            joined.append(t)
            continue
        u, partner = quotients[quotient.as_coeff_Mul()[1]]
        if quotient + partner == 0:
            pair = Grouped(sp.Abs(u) / u - sp.sign(u))
            if node == pair.args[0]:
                return None
            cancelled[partner] = partner / (sp.Abs(u) / u) * pair
        else:
            joined.append(quotient)
    joined = [cancelled.pop(t, t) for t in joined]
    if cancelled:  # a |u|/u term that holds sign(v) joined another pair first: its sign(u) partner would be lost
        return None
    if all(a is b for a, b in zip(joined, node.args)) and len(joined) == len(node.args):
        return None
    return _Fired(sp.Add(*joined), ["abs-sign"])


def _reciprocal_abs_as_sign(node):
    """The sum ``node`` with each 1/|u|^n (n odd) written sign(u)/u^n where another term holds sign(u) over a power of
    u (the quotient rule's 1/|u| beside R·sign(u)/u², ∂y of relu(y)/|x − y|: 1/|x − y| + y·sign(x − y)/(x − y)²), so
    that the two are quotients over powers of one base, which the fraction-complement rule puts over one:
    x·sign(x − y)/(x − y)², where apart they cancel (float32 116,242 ULP at x = 1, y = 102878.3125; torch 14,830).
    The same number at every u but 0 (1/0 = inf where sign(0)/0 is NaN), where the partner is sign(0)·inf = NaN and
    so the sum is NaN either way; None where no term is."""
    bases = {f.args[0] for t in node.args for f in sp.Mul.make_args(t) if isinstance(f, sp.sign)
             and any(p.is_Pow and p.base == f.args[0] and p.exp.is_Integer and p.exp < 0 for p in sp.Mul.make_args(t))}
    if not bases:
        return None
    def as_sign(p):
        if p.is_Pow and isinstance(p.base, sp.Abs) and p.base.args[0] in bases and p.exp.is_Integer and p.exp < 0 \
                and p.exp % 2 == 1:
            return sp.sign(p.base.args[0]) * p.base.args[0] ** p.exp
        return p

    terms = [sp.Mul(*[as_sign(f) for f in sp.Mul.make_args(t)]) for t in node.args]
    if all(a == b for a, b in zip(terms, node.args)):
        return None
    return _Fired(sp.Add(*terms), ["abs-sign"])


_SIGN_OF_BASE = sp.Dummy("sign_S")


def _fraction_complement(node):
    """K/S^m − K·a/S^{m+1} → K·(S − a)/S^{m+1} for a term a of the sum S (m ≥ 0):
    1 − |x|/(1 + |x|) = 1/(1 + |x|), and softsign′ = 1/(1 + |x|) − |x|/(1 + |x|)² = 1/(1 + |x|)². K may hold sign(S)
    (abs-sign's sign(u)/u for 1/|u|): sign(x − y)/(x − y) + y·sign(x − y)/(x − y)² = x·sign(x − y)/(x − y)².
    Where S − a holds an input, it and S are both ±inf where that input is (x/(x − y)² at x = ±inf: inf/inf, where the
    terms apart are 0, torch's): taken as K·(1 − a/S)/S^m there (written_where_not_finite; a/S → 0 is the limit). The
    terms apart would do too, but shared by CSE with the other outputs' (−relu(y)·sign(x − y)/(x − y)² of ∂x) they
    changed those roundings (∂x 1.59 → 2.59 ULP, measured); K·(1 − a/S)/S^m is computed only where needed. Only where
    K holds sign(S), the quotient by |S| that abs-sign wrote sign(S)/S (the product-over-sum rule leaves a product
    holding sign(S) as it is: a factor that holds its inputs and is none of them nor their sum). Taken wherever S − a holds an input (h-fix40),
    it kept the product-over-sum rule from ∂x of x·y/(x + y), y·(y/(x + y)²) (NaN, 0 or inf at ±1.8e308 and 5e−324),
    and the double words from ∂x of mish(x)/(x + y), y·tanh(softplus(x))/(x + y)² (8.7e15 ULP at x = 1.1e71)."""
    if not node.is_Add:
        return None
    terms = set(node.args)
    for t in node.args:
        for f in sp.Mul.make_args(t):
            if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add):
                continue
            s, m = f.base, -int(f.exp) - 1
            for a in s.args:
                if a.is_number:
                    continue
                k = -t * s ** (m + 1) / a
                if k.xreplace({sp.sign(s): _SIGN_OF_BASE}).has(s) or k.is_zero:  # sign(S) may be K's (1/|S| beside it)
                    continue
                partner = k / s ** m
                if partner in terms:
                    rest, joined = node - t - partner, k * (s - a) / s ** (m + 1)
                    # S − a and S both ±inf where an input is (x/(x − y)² at x = inf); only where K holds sign(S),
                    # which keeps the product-over-sum rule off (x·y/(x + y)'s ∂x, y·y/(x + y)², is that rule's)
                    if (s - a).free_symbols and k.has(sp.sign(s)):
                        joined = written_where_not_finite(joined, k * (1 - a / s) / s ** m)  # a/S → 0 there
                    return _Fired(rest + joined, ["fraction-complement"])
    return None


def _abs_quotient_sum(node):
    """R·y^a·(c + k·|x|/|y|)^−n (c, k positive numbers, n ≥ 1, a ≤ −1 with a + n 0 or 1: softsign(x/y) =
    x/(y·(1 + |x|/|y|)) and its derivatives 1/(y·(1 + |x|/|y|)²), −x/(y²·(1 + |x|/|y|)²)) → R·y^(a + n)/S/…/S (n
    quotients by S = c·|y| + k·|x|, a sum of non-negative terms), times |y|/y where n is odd, where S is finite (the
    written form elsewhere); None for any other node.

    Exact: (c + k·|x|/|y|)^−n = |y|^n·S^−n and y^a·|y|^n = y^(a + n)·(|y|/y)^n, (|y|/y)^n the same ±1 as |y|/y where n
    is odd, 1 where even (|y|/y kept: 0/0 at y = 0, as the written form). |x|/|y| overflows where the result does not
    (softsign(x/y) −0 for −1 at x = −1.8e308, y = 0.3, 4.5e15 ULP (torch NaN); its ∂y NaN at x = −1e200,
    y = −2.2e−308 for 1e−200 (y²·(…)², 0·inf); session 37, h-cloglog37); the quotients taken one at a time, R·y^(a + n)
    first, do not leave the range before the result does."""
    if not node.is_Mul:
        return None
    for f in node.args:
        if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add and len(f.base.args) == 2):
            continue
        c, q = sorted(f.base.args, key=lambda a: not a.is_number)
        k, ratio = q.as_coeff_Mul()
        parts = sp.Mul.make_args(ratio)
        if not (c.is_number and c.is_positive and k.is_positive and len(parts) == 2):
            continue
        top = [g for g in parts if isinstance(g, sp.Abs)]
        bottom = [g for g in parts if g.is_Pow and g.exp == -1 and isinstance(g.base, sp.Abs)]
        if len(top) != 1 or len(bottom) != 1:
            continue
        abs_y, n = bottom[0].base, -int(f.exp)
        y = abs_y.args[0]
        powers = [g for g in node.args if g is not f and (g == y or g.is_Pow and g.base == y and g.exp.is_Integer)]
        a = sum(int(g.exp) if g.is_Pow else 1 for g in powers)
        if not (a <= -1 and a + n in (0, 1)):
            continue
        total = Grouped(c * abs_y + k * top[0])
        out = sp.Mul(*[g for g in node.args if g is not f and g not in powers]) * y ** (a + n)
        for _ in range(n):
            out = Grouped(out / total)
        out = out * Grouped(abs_y / y) if n % 2 else out
        # (S past the largest float, y = ±inf among them: the written form, whose products the printers take by
        # exponents where they leave the range (softsign(x/y) 0.5 at x = y = −max, 0 at y = ±inf, as the result);
        # S = inf made f and ∂x ±0 for ±0.5…, 119 of 200 points with |x|, |y| in [5e307, max], session 37's review)
        return _Final(_Fired(sp.Piecewise((out, total <= _DOUBLE_MAX), (node, True)), ["abs-quotient-sum"]))
    return None


# x − tanh x = (x·cosh x − sinh x)/cosh x, and x·cosh x − sinh x = Σ_{k≥1} 2k·x^{2k+1}/(2k+1)!:
# every term of one sign (no cancellation), x³·Q(x²) with Q's first _TANHSHRINK_TERMS terms;
# for |x| < _TANHSHRINK_BELOW the terms left out are below 1e−27 of the sum (tested at 50 digits;
# far below either dtype's rounding, and within the 30-digit check of `symnet derive --stable`).
# The threshold, measured (x − np.tanh(x) against mpmath, 2000 points a band): worst 37 / 13 / 5.1 /
# 2.8 / 1.3 / 0.85 ULP in float64 (36 / 15 / 7.7 / 2.6 / 1.9 / 1.0 in float32) on |x| in [0.25, 0.5],
# [0.5, 0.75], [0.75, 1], [1, 1.25], [1.25, 1.5], [1.5, 2]: written as is from 1.5 on.
_TANHSHRINK_BELOW = sp.Rational(3, 2)
_TANHSHRINK_TERMS = 14
# the tanhshrink-target rule's near piece is a double word, 2⁻¹⁰⁶ of u³/3, where tanh u − w cancels to 2⁻⁵⁶ of tanh u
# (w = fl(tanh u)): its 14 terms leave 2⁻¹⁰⁶ of u³/3 out up to |u| = 1 only (~1e−27 at 3/2: 124,535 ULP of f at
# u = 1.4578, tests/test_cost40.py); the double-word tanh u − w beyond
_TANHSHRINK_TARGET_BELOW = sp.S.One


def _tanhshrink_series(u):
    if u.is_Mul:  # (x·y)³ kept a power of the product: SymPy's x³·y³ is ∞·0 = NaN at x = 1e200, y = 0
        u = Grouped(u)
    y = u ** 2
    q = sp.S.Zero
    for k in range(_TANHSHRINK_TERMS, 0, -1):  # Horner in y
        q = q * y + sp.Rational(2 * k, sp.factorial(2 * k + 1))
    if u.is_Symbol:  # u³·Q(u²) kept one factor: the series-leading-power rule takes its log as 3·log|u| + log Q
        return Grouped(u ** 3 * q) / sp.cosh(u)
    return u ** 3 * q / sp.cosh(u)


def _tanhshrink(node):
    """u − tanh u (and tanh u − u) → the series form where |u| < _TANHSHRINK_BELOW, as written elsewhere; tanh u − w
    with w an input that u holds to the first power (u = c·x + d·w) → (u − w) − (u − tanh u), widened, there
    (:func:`_tanhshrink_target`)."""
    if not node.is_Add:
        return None
    for t in node.args:
        for sign in (1, -1):
            if isinstance(-sign * t, sp.tanh) and sign * (-sign * t).args[0] in node.args:
                u = (-sign * t).args[0]
                rest = node - t - sign * u
                series = sp.Piecewise((_tanhshrink_series(u), sp.Abs(u) < _TANHSHRINK_BELOW), (u - sp.tanh(u), True))
                return _Final(_Fired(rest + sign * series, ["tanhshrink"]))
    return _tanhshrink_target(node)


def _tanhshrink_target(node):
    """tanh u − w (either sign), w an input that u = d·w + r holds to the first power (a GRU update's ∂a, x·z(1 − z)·
    (tanh(c·x + d·h) − h): 0 for 9.6e−92 at c = 0, d = 1, h = 1e−30, 7.0e15 ULP in float64, torch the same): where
    |u| < _TANHSHRINK_TARGET_BELOW (1), (r + (d − 1)·w) − (u − tanh u), its series, widened (double words in a float64
    kernel): u − w exact there and u − tanh u to 2⁻¹⁰⁶ of u³/3, where tanh u − w rounded tanh u at 2⁻⁵³ of u; tanh u − w
    widened elsewhere (it cancels where w = tanh u: 16.2 ULP at ordinary points, torch 23.7), which the widen rule does not
    take (w stands inside the tanh)."""
    for t in node.args:
        for sign in (1, -1):
            if not isinstance(sign * t, sp.tanh):
                continue
            u = (sign * t).args[0]
            for w in node.args:
                if -sign * w in u.free_symbols and (-sign * w).is_Symbol and u != -sign * w and \
                        u.is_polynomial(-sign * w) and sp.degree(u, -sign * w) == 1:
                    target = -sign * w
                    rest = node - t - w
                    near = widen(sp.expand(u - target) - _tanhshrink_series(u))
                    new = sp.Piecewise((near, sp.Abs(u) < _TANHSHRINK_TARGET_BELOW), (widen(sp.tanh(u) - target), True))
                    return _Final(_Fired(rest + sign * new, ["tanhshrink"]))
    return None


def _affine_root_of_sum(node):
    """b + Σ ±u_i/n (two or more terms u_i, one n, b·n a whole number) → ((Σ ±u_i) + b·n)/n: hardswish(r − y) has
    1/2 + (r − y)/6, which SymPy distributes to 1/2 + r/6 − y/6, each term rounded before the sum: 0 at
    r − y = −3 + 2⁻⁵¹ gave −1.67e−16 for −2.22e−16 (2.3e7 ULP, torch 0.67; h-hyp31). Σ ±u_i rounds once (as the
    written r − y did), and + b·n is exact near the root (Sterbenz); the quotient rounds once."""
    if not (node.is_Add and len(node.args) >= 3):
        return None
    b = next((a for a in node.args if a.is_Rational), None)
    if b is None or b == 0:
        return None
    terms = [t.as_coeff_Mul() for t in node.args if t is not b]
    n = terms[0][0].q
    if n <= 1 or any(not (c.is_Rational and c.p in (1, -1) and c.q == n) or u.is_number or u.has(sp.Piecewise)
                     for c, u in terms):
        return None
    if all((c > 0) == (b > 0) and _positive(u) for c, u in terms):  # no root: nothing cancels
        return None
    shift = b * n
    if not shift.is_Integer or abs(shift) > 2**24:
        return None
    inner = Grouped(sp.Add(Grouped(sp.Add(*[c.p * u for c, u in terms])), shift))
    return _Final(_Fired(sp.Rational(1, n) * inner, ["affine-root"]))


def _affine_root(node):
    """u/n + b (n a whole number, b·n a whole number) → (u + b·n)/n: x/6 + 1/2 rounds x/6 first and
    cancels near its root x = −3; (x + 3)/6 is exact there (Sterbenz) and rounds once. The
    quotient is kept unevaluated (SymPy would distribute 1/6 back over the sum). A sum of several such terms:
    :func:`_affine_root_of_sum`."""
    from .hypot import _conjugate_quotient  # a later module: imported at the call
    from .exps import _expm1_select_sum
    if node.is_Add and node.has(sp.Piecewise) and _expm1_select_sum(node) is not None:
        # past47: c·{…; expm1(u)} + c is the expm1-select-sum rule's (c·e^u in that branch); grouped here as
        # c·({…} + 1), it did not reach the sum: elu(x)/2 + 1/2 was 0 for e^x/2 at x < −38 (8.93e15 ULP in float64)
        return None
    if node.is_Add and len(node.args) >= 3:
        return _affine_root_of_sum(node)
    if not (node.is_Add and len(node.args) == 2):
        return None
    b = next((a for a in node.args if a.is_Rational), None)
    if b is None or b == 0:
        return None
    if _conjugate_quotient(node) is not None:  # b + u/(n·√A) (squareplus′): the conjugate rule's, no subtraction
        return None
    (t,) = [a for a in node.args if a is not b]
    c, u = t.as_coeff_Mul()
    if not (c.is_Rational and c.p in (1, -1) and c.q > 1) or u.is_number:
        return None
    if (c > 0) == (b > 0) and (_positive(u) or u.is_Pow and u.exp.is_Integer and u.exp.is_even):
        # e^u/2 + 1, sinh²u/2 + 1/2: no root, nothing cancels; grouped, the max-shift and cosh-square rules never saw
        # the sum (∂ of log1p(e^(x − y)/2) NaN past x − y = 710; log(1/2 + sinh²x/2) inf from |x| = 355)
        return None
    n = c.q
    if n & (n - 1) == 0 and (isinstance(u, sp.exp) or u.is_Pow and u.base.is_number and not u.exp.is_number):
        # b^v/2^k + b: b^v/2^k is exact (below 2⁻¹⁰²² it is below b's last place), so the sum rounds once as written;
        # grouped, b^v overflows first where b^v/2^k need not (e^x/2 − 1 at x = 709.9: inf for 1.011e308; session 30)
        return None
    shift = b * n
    if not shift.is_Integer or abs(shift) > 2**64:  # x/3 + 10³⁰⁸: b·n = 3·10³⁰⁸ overflows, x/3 + b does not
        # a dyadic b·n, exact in float32, where b itself is not (x/100 + 1/200: leaky_relu(softshrink(x)) =
        # (x + 1/2)/100 for x < −1/2, which SymPy distributes; 1.3e5 ULP off at x = −0.5000000000000001 in float64,
        # h-hyp28): x + b·n is exact near its root too (Sterbenz). A b that is a binary fraction (hardswish′'s
        # x/3 + 1/2, b·n = 3/2) stays written: the root-series rule takes that one-variable sum near its root and
        # keeps torch's x/3 + 1/2 bit for bit away from it (tests/test_misc19.py, test_root_series.py)
        dyadic = lambda q: q & (q - 1) == 0  # noqa: E731
        if not (shift.is_Rational and dyadic(shift.q) and not dyadic(b.q) and abs(shift.p) < 2**24
                and shift.q <= 2**24):
            return None
    inner = Grouped(sp.Add(c.p * u, shift))  # a product 1/n·(…), not distributed
    return _Final(_Fired(sp.Rational(1, n) * inner, ["affine-root"]))


def _erf_complement(node):
    """k + k·erf(u) → k·erfc(−u) (the other terms of the sum kept), or 2k·Φ(√2·u) where SymPy would
    write erfc(−u) back as 2 − erfc(u) (ndtr, whose own form corrects the rounding of v/√2; for GELU
    u = x/√2, so Φ(x)); and 2k − k·erfc(w), which is what SymPy makes of a written k·erfc(−w), → 2k·Φ(√2·w)."""
    if not node.is_Add:
        return None
    numbers = [t for t in node.args if t.is_Number and t != 0]
    if len(numbers) != 1:
        return None
    (k,) = numbers
    for t in node.args:
        c, rest = t.as_coeff_Mul()
        if isinstance(rest, sp.erf) and abs(c) == abs(k):
            u = rest.args[0] if c == k else -rest.args[0]  # k + k·erf(u) = k·erfc(−u)
            new = k * sp.erfc(-u)
            if not isinstance(new.as_coeff_Mul()[1], sp.erfc):  # SymPy wrote erfc(−w) as 2 − erfc(w)
                new = 2 * k * ndtr(sp.sqrt(2) * u)
            others = [a for a in node.args if a is not t and a is not k]
            return _Fired(sp.Add(new, *others), ["erf-complement"])
        if isinstance(rest, sp.erfc) and k == -2 * c:  # erfc(−w) as SymPy writes it, 2 − erfc(w) (GELU as torch
            others = [a for a in node.args if a is not t and a is not k]  # writes it: x·erfc(−x/√2)/2)
            return _Fired(sp.Add(-2 * c * ndtr(sp.sqrt(2) * rest.args[0]), *others), ["erf-complement"])
    return None


# |v| below which a·4σ(v)σ(−v) + b is taken as (a + b) − a·tanh²(v/2): there tanh²(v/2) < 1/2 < sech²(v/2), so the
# term subtracted is the smaller of the two (asinh 1 = 0.8814 is where they are equal; 7/4 is 2·0.875)
_SECH_OFFSET_BELOW = sp.Rational(7, 4)


def _sech_offset(node):
    """a·sech²u + b (the sech² rule's 4a·σ(2u)σ(−2u), a and b products and sums of inputs: ∂h of tanh(c·x + d·h) − h,
    d·sech²u − 1) cancels where a·sech²u ≈ −b, which near u = 0 is a + b ≈ 0 (d ≈ 1): 1.75e12 ULP in float64 at
    c = 0, d = 1, h = 1e−6 (torch 1.1e11). sech² = 1 − tanh² makes it (a + b) − a·tanh²u, whose a + b is exact there
    (Sterbenz) and whose tanh²u is the small term; where |u| ≥ 7/8 tanh² is the larger, and the sum as it was. Each
    widened (double words in a float64 kernel, float64 in a float32 one): where a·sech²u ≈ −b away from u = 0 (d =
    cosh²u) the roundings of tanh u or σ(±2u) and of the products cancel too. Measured (tests/test_gru38.py, 200 points
    a set, float64): ≤ 0.5 ULP near h = 1e−6 (torch 8.1e15), where d = cosh²u for |u| < 0.85 (torch 4.6e18) and
    0.9 < |u| < 15 (torch 3.3e16), ≤ 0.93 at ordinary points (torch 14.5; 28.7 before); 2× the NumPy time of
    tanh(c·x + d·h) − h's kernel (f and ∂h, 1e6 points)."""
    if not node.is_Add:
        return None
    for t in node.args:
        pairs = [f for f in t.args if isinstance(f, sigmoid) and sigmoid(-f.args[0]) in t.args] if t.is_Mul else []
        if len(pairs) != 2:
            continue
        v = pairs[0].args[0]
        a = t / (4 * pairs[0] * pairs[1])
        b = node - t
        if a.has(sigmoid, sp.tanh, sp.exp, sp.Piecewise) or b.has(sigmoid, sp.tanh, sp.exp, sp.Piecewise) or \
                not b.free_symbols | a.free_symbols or not (a.is_polynomial() and b.is_polynomial()):
            return None
        near = widen(Grouped(sp.expand(a + b)) - a * sp.tanh(v / 2) ** 2)
        far = widen(node)
        return _Final(_Fired(sp.Piecewise((near, sp.Abs(v) < _SECH_OFFSET_BELOW), (far, True)), ["sech²-offset"]))
    return None


_CANCEL_LOCAL = {_erf_complement: "erf-complement", _abs_sign: "abs-sign", _fraction_complement: "fraction-complement",
                 _abs_quotient_sum: "abs-quotient-sum", _tanhshrink: "tanhshrink", _affine_root: "affine-root",
                 _sech_offset: "sech²-offset"}


LOG_DIFFERENCE = Rule(
    "log-difference", "log a − log b cancels where a ≈ b, each log rounded by half an ulp of its own size "
    "(bce's ∂t = log(1 − x) − log x: 821 ULP in float64 at x = 0.49995, every digit lost at x = 1/2 ± 2⁻⁵³); "
    "sign(d)·log1p(|d|/min(a, b)) with d = a − b simplified symbolically ((1 − x) − x = 1 − 2x, exact there "
    "by Sterbenz) rounds once before log1p, whose argument is ≥ 0: a few ULP at every ratio; as written where "
    "a or b ≤ 0, inf or NaN, a clamp max(c, log a) is on or the quotient overflows", local=_log_difference)

# ------------------------------------------------------------------ exp-collect, cosh-square (issue 16: hyperbolic
# functions written out, whose exponentials cancel or overflow); tested in tests/test_logs27.py


def _cosh_square(node):
    """c + c·sinh(u)² → c·cosh(u)² (c > 0 a number); c + c·sinh(u)² + r (other terms r) → c·sinh(u)² + (c + r), c
    summed with r first (r may cancel c: c·cosh²u rounds c + c·sinh²u to c at small u first); or None."""
    if not node.is_Add:
        return None
    constant = next((t for t in node.args if t.is_Number), None)
    if constant is None or not constant.is_positive:
        return None
    for term in node.args:
        k, f = term.as_coeff_Mul()
        if k == constant and f.is_Pow and f.exp == 2 and isinstance(f.base, sp.sinh):
            rest = [a for a in node.args if a is not term and a is not constant]
            if rest:
                return sp.Add(term, Grouped(sp.Add(constant, *rest)), evaluate=False)
            return k * sp.cosh(f.base.args[0]) ** 2
    return None


EXP_COLLECT = Rule(
    "exp-collect", "a sum of exponential functions of one argument whose e^(±u) parts cancel: sinh x + cosh x = e^x "
    "is e^x/2 − e^−x/2 + e^x/2 + e^−x/2, 0 in float64 for x < −37 (log(sinh x + cosh x + 1) 7.4e15 ULP at x = −30, "
    "−inf below) and inf − inf = NaN beyond ±710; the sum collected symbolically (t = e^u, a Laurent polynomial "
    "in t: each coefficient exact, the vanishing ones left out) is Σ k_m·e^(m·u), the same function with nothing "
    "that cancels")
COSH_SQUARE = Rule(
    "cosh-square", "1 + sinh²u overflows sinh²u from |u| = 355 in float64 (log(1 + sinh²x) inf at 709 for 1416.6; "
    "float32 inf at 63.9); it is cosh²u exactly (cosh²u − sinh²u = 1), so that log(cosh²u) is 2·log cosh u, the "
    "log-cosh rule's, and 2·sinh u·cosh u/(1 + sinh²u) is 2·tanh u; with other terms r, sinh²u + (1 + r), 1 + r summed "
    "first (cosh²x + y rounds 1 + sinh²x to 1 for |x| < 1e−8 before y cancels it: log(1 + sinh²x + y) at (1e−30, −1) "
    "−inf for −138.155)", local=_cosh_square)

# ------------------------------------------------------------------ cosh-square-sum (issue 16: log(1 + sinh²x + y), the
# cosh-square rule's log(cosh²x + y), inf from |x| = 355 in float64; session 30, tests/test_wide30.py)

_COSH_SQUARE_FAR = 20  # |u| from which c·cosh²u + r is taken as cosh²u·(c + r/cosh²u): below, as written


def _cosh_square_term(total):
    """(c, u, r, f) where ``total`` is c·f(u)² + r, f cosh or sinh, c > 0 a number and r ≠ 0 free of cosh(u) and
    sinh(u); else None."""
    if not total.is_Add:
        return None
    for term in total.args:
        c, f = term.as_coeff_Mul()
        if c.is_positive and f.is_Pow and f.exp == 2 and isinstance(f.base, (sp.cosh, sp.sinh)):
            u = f.base.args[0]
            rest = total - term
            if rest != 0 and not rest.has(sp.cosh(u), sp.sinh(u)):
                return c, u, rest, type(f.base)
    return None


def _cosh_square_sum(node):
    """log(c·cosh²u + r) and K·cosh^a(u)·sinh^b(u)/(c·cosh²u + r) with a + b = 2, where cosh²u overflows (inf, and
    inf/inf = NaN in the quotient) though the result need not: for |u| > 20, 2·log cosh u + log(c + r/cosh²u) (log
    cosh u = |u| − log 2 + log1p(e^(−2|u|))) and K·tanh^b(u)/(c + r/cosh²u), the same functions (cosh²u factored
    out), r/cosh²u at most r; as written below 20. c·sinh²u + r likewise (log|sinh u| = |u| − log 2 +
    log1p(−e^(−2|u|)), K/tanh^a(u)). None for anything else."""
    if isinstance(node, sp.log):
        found = _cosh_square_term(node.args[0])
        if found is None:
            return None
        c, u, r, f = found
        a = sp.Abs(u)
        sign = 1 if f is sp.cosh else -1
        far = 2 * a - 2 * sp.log(2) + 2 * log1p(sign * sp.exp(-2 * a)) + sp.log(c + r / f(u) ** 2)
    elif node.is_Mul:
        total = next((g.base for g in node.args if g.is_Pow and g.exp == -1 and _cosh_square_term(g.base)), None)
        if total is None:
            return None
        c, u, r, f = _cosh_square_term(total)
        powers = {sp.cosh: 0, sp.sinh: 0}
        rest = []
        for g in node.args:
            base, k = (g.base, g.exp) if g.is_Pow else (g, sp.Integer(1))
            if isinstance(base, (sp.cosh, sp.sinh)) and base.args[0] == u and k.is_Integer and k > 0:
                powers[type(base)] += int(k)
            elif g.base is not total if g.is_Pow else True:
                rest.append(g)
        if powers[sp.cosh] + powers[sp.sinh] != 2 or any(g.has(sp.cosh(u), sp.sinh(u)) for g in rest):
            return None
        ratio = sp.tanh(u) ** powers[sp.sinh] if f is sp.cosh else 1 / sp.tanh(u) ** powers[sp.cosh]
        far = sp.Mul(*rest) * ratio / (c + r / f(u) ** 2)
    else:
        return None
    return _Final(sp.Piecewise((far, sp.Abs(u) > _COSH_SQUARE_FAR), (node, True)))


COSH_SQUARE_SUM = Rule(
    "cosh-square-sum", "c·cosh²u + r (the cosh-square rule's 1 + sinh²u + r) overflows cosh²u from |u| = 355 in "
    "float64 (44.4 in float32) where the sum's log and its quotients need not: log(1 + sinh²x + y) at (709.8, −1) inf "
    "for 1418.2, its ∂x 2·cosh x·sinh x/(cosh²x + y) NaN (inf/inf) for 2; for |u| > 20 cosh²u is factored out, "
    "log = 2·log cosh u + log(c + r/cosh²u) with log cosh u = |u| − log 2 + log1p(e^(−2|u|)), and K·cosh^a·sinh^b/(…) "
    "with a + b = 2 = K·tanh^b u/(c + r/cosh²u): the same functions, nothing left to overflow; c·sinh²u + r likewise "
    "(log(sinh²x + y) at (709.8, 1) inf, its ∂x NaN)", local=_cosh_square_sum)


# ------------------------------------------------------------------ collect-pole (issue 16: ∂ of log(elu(hardswish x))
# at x = 0, x·P/6 + (x/6 + 1/2)·P with P = 1/expm1(x·(x + 3)/6) = inf there: 0·inf + inf = NaN, torch +inf; session 30,
# tests/test_wide30.py)


def _holds_pole(f) -> bool:
    """f is a select one of whose values is a reciprocal of a non-constant (1/x, 1/expm1(u)): ±inf where it is 0."""
    return isinstance(f, sp.Piecewise) and any(
        n.is_Pow and n.exp.is_negative and not n.base.is_number for n in sp.preorder_traversal(f))


def _collect_pole(node):
    """c₁·X + c₂·X → (c₁ + c₂)·X for the two terms of a sum whose common factors X hold such a select, c₁ and c₂
    polynomials whose sum has fewer terms (x/6 + (x/6 + 1/2) = x/3 + 1/2): where X is ±inf and c₁ = 0 the written
    sum is 0·inf = NaN, the collected one the limit of the sum ((x/3 + 1/2)·inf = inf at x = 0); or None. (After
    the collect rule, which takes such pairs only where the cofactors cancel or form a loss.)"""
    if not (node.is_Add and len(node.args) == 2):
        return None
    p, q = node.args
    common = [f for f in sp.Mul.make_args(p) if f in sp.Mul.make_args(q) and not f.is_number]
    if any(f.is_Pow for f in common):  # (a power's base could stand as a factor too: not taken)
        return None
    if not any(_holds_pole(f) for f in common):
        return None
    X = sp.Mul(*common)
    # the factors taken out as written (p/X would turn the select's reciprocal into a select of reciprocals)
    # (a Grouped sum, the affine-root rule's (x + 3)/6, as its sum: collected, the sum is written anew)
    cp, cq = (sp.Mul(*[f for f in sp.Mul.make_args(t) if f not in common]).replace(
        lambda e: isinstance(e, Grouped), lambda e: e.args[0]) for t in (p, q))
    if cp.has(sp.Function, sp.Piecewise) or cq.has(sp.Function, sp.Piecewise) or not (
            cp.is_polynomial() and cq.is_polynomial()):
        return None
    c = sp.expand(cp + cq)
    if _n_terms(c) >= _n_terms(sp.expand(cp)) + _n_terms(sp.expand(cq)):
        return None
    return c * X


COLLECT_POLE = Rule(
    "collect-pole", "c₁·X + c₂·X with X a select holding 1/u (the chain rule of log through elu and hardswish: "
    "x·P/6 + (x/6 + 1/2)·P, P = 1/expm1(x·(x + 3)/6)) is 0·inf + inf = NaN at x = 0, where P is inf and c₁ = x is 0 "
    "(torch: +inf); the coefficients summed symbolically, (x/3 + 1/2)·P, give the sum's limit, +inf",
    local=_collect_pole)


# ------------------------------------------------------------------ two-sum (issue 16: the rounding of a
# difference of inputs, e^(a − b) and σ(a − b)); tested in tests/test_twosum.py


def _exact_operand(e) -> bool:
    """A float the generated code holds without rounding: an input, its negation, a max/min of such."""
    if e.is_Symbol:
        return True
    if isinstance(e, (sp.Max, sp.Min)):
        return all(_exact_operand(a) for a in e.args)
    c, rest = e.as_coeff_Mul()
    return c == -1 and _exact_operand(rest)


def _two_operands(arg):
    """(x, y) for arg = x + y with x, y exact operands (a − b, a − max(a, b)), else None."""
    if not (arg.is_Add and len(arg.args) == 2 and all(_exact_operand(t) for t in arg.args)):
        return None
    return tuple(sorted(arg.args, key=lambda t: t.could_extract_minus_sign()))  # x − y, not −y + x


def _shifted_pairs(arg):
    """[(x_1, −m), …, (x_n, −m)] for arg = x_1 + … + x_n − n·m (2 ≤ n ≤ 4, the x_i and m exact operands):
    a product of max-shifted exponentials, e^(a + b − 2·max(a, b, c)) in a softmax gradient, is
    e^(a − m)·e^(b − m) (a + b and its difference with 2m would both round); else None."""
    if not arg.is_Add:
        return None
    shifts = [t for t in arg.args if t.as_coeff_Mul()[0].is_Integer and t.as_coeff_Mul()[0] <= -2]
    if len(shifts) != 1:
        return None
    n, m = shifts[0].as_coeff_Mul()
    rest = [t for t in arg.args if t is not shifts[0]]
    xs = [x for t in rest for x in ([t] if t.as_coeff_Mul()[0] != 2 else [t / 2, t / 2])]  # 2a: a, a
    if -n > 4 or len(xs) != -n or not _exact_operand(m) or not all(_exact_operand(x) for x in xs):
        return None
    return [(x, -m) for x in xs]


def _two_sum(expr):
    """Every e^(x + y) and σ(x + y) of two exact operands as exp_twosum/sigmoid_twosum, and a product
    of max-shifted exponentials as a product of exp_twosum; applied after the other rules, so that
    they still see these exponentials (a max-shift writes e^(a − max(a, b)))."""
    return _top_down(expr, _two_sum_node)


def _two_sum_node(node):
    """The two-sum rule's form of one node, or None."""
    if not isinstance(node, (sp.exp, sigmoid)):
        return None
    pair = _two_operands(node.args[0])
    gap = _two_operands((-node.args[0]).args[0]) if isinstance(node, sp.exp) and isinstance(
        -node.args[0], sp.Abs) else None  # e^−|x + y| = e^(min(x, −y) − max(x, −y)), logaddexp's
    if gap is not None:
        x, y = gap
        return exp_twosum(sp.Min(x, -y), -sp.Max(x, -y))
    if pair is not None:
        return (exp_twosum if isinstance(node, sp.exp) else sigmoid_twosum)(*pair)
    if isinstance(node, sp.exp) and _shifted_pairs(node.args[0]) is not None:
        return sp.Mul(*[exp_twosum(*p) for p in _shifted_pairs(node.args[0])], evaluate=False)
    return _two_sum_beside_bounded(node)


def _softmax_share(t) -> bool:
    """t = e^u/S with S a sum of exponentials that holds e^u: a softmax weight, in (0, 1] (not _softmax_weight, the softmax-partition rule's)."""
    factors = sp.Mul.make_args(t)
    sums = [f for f in factors if f.is_Pow and f.exp == -1 and f.base.is_Add
            and all(isinstance(a, sp.exp) for a in f.base.args)]
    rest = [f for f in factors if f not in sums]
    return len(sums) == 1 and len(rest) == 1 and rest[0] in sums[0].base.args


def _two_sum_beside_bounded(node):
    """e^(B + x_1 + … − n·m) (or e^(B + x − y)) with B a sum of terms bounded by their form (a softmax weight e^u/S,
    σ, tanh, a number) and the rest a two-sum pair or max-shifted pairs of exact operands → e^B·Π e^(x_i − m), each
    factor with its own rounding corrected; else None. Written as one exponent, x + y − 2m + p rounds at the size of
    its largest part (∂x of expm1(softmax): e^(p + x + y − 2m)/S², 16 ULP in float64 at (−20, 0.3), torch's
    p·(1 − p)·e^p 1.04; h-comp31); e^B is at most e^(a few units), so the product neither overflows nor underflows
    where the exponent as a whole does not (up to that factor)."""
    if not (isinstance(node, sp.exp) and node.args[0].is_Add):
        return None
    terms = sp.Add.make_args(node.args[0])
    bounded = [t for t in terms if not _exact_operand(t) and (_softmax_share(t) or _bounded_argument(t))]
    if not bounded or len(bounded) == len(terms):
        return None
    rest = sp.Add(*[t.func(*t.args) if t.is_Mul else t for t in terms if t not in bounded])
    pair = _two_operands(rest)
    pairs = [pair] if pair is not None else _shifted_pairs(rest)
    if pairs is None:
        return None
    return sp.Mul(sp.exp(sp.Add(*bounded)), *[exp_twosum(*p) for p in pairs], evaluate=False)


# ------------------------------------------------------------------ infinite-shift (issue 16: a max-shifted
# sum at ±inf: log(e^a + e^b + e^c) at a = inf or every a_i = −inf); tested in tests/test_stability7.py

def _max_term(x, m) -> bool:
    """x is one of the arguments of the max m (or the min of the same arguments: logaddexp's gap)."""
    return isinstance(m, sp.Max) and (x in m.args or (isinstance(x, sp.Min) and set(x.args) == set(m.args)))


def _difference_of_max(arg):
    """(x, m) for arg = x − m with x a term of the max m, else None."""
    if not (arg.is_Add and len(arg.args) == 2):
        return None
    for m in arg.args:
        if isinstance(-m, sp.Max):
            (x,) = [t for t in arg.args if t is not m]
            if _max_term(x, -m):
                return x, -m
    return None


def _gap(y, x):
    """y − x, 0 where y = x (inf − inf): a term of max(0, b − a, …) = max(a, b, …) − a."""
    return sp.Piecewise((0, sp.Eq(y, x)), (y - x, True))


def _infinite_shift(expr):
    """e^(x − m) and exp_twosum(x, −m) (m = max(…, x, …)) → exp_shift(x, m); in max(0, b − a, …) (the
    cross-entropy's max − a), b − a → 0 where b = a. Log-sum-exp's branches for the largest term
    (Eq(a_k − m, 0)) are left as they are: at m = ±inf the condition is NaN = 0, false, and the last
    branch, Σ exp_shift − 1, holds the limit (1 + 0 + … − 1 = 0 at a lone +inf; n − 1 at all −inf)."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Max) or any(
            w.body.has(sp.Max) for w in expr.atoms(WidenedBase))):
        return expr
    return _top_down(expr, _infinite_shift_node)


def _infinite_shift_node(node):
    """The infinite-shift rule's form of one node, or None; a widened sum's body too (the widen rule runs first: the
    softmax complement −x·e^(b − m)/S − e^(b − m)/S of (x + 1)·e^a/(e^a + e^b) − x − 1, widened, was NaN at b = inf
    where torch gives −1 − x; session 29)."""
    if isinstance(node, WidenedBase):
        body = node.expanded
        shifted = _infinite_shift(body) if body.has(sp.Max) else body
        return None if shifted == body else widen(shifted, node.first_order, node.in_float32)
    if isinstance(node, exp_twosum) and isinstance(-node.args[1], sp.Max) and _max_term(node.args[0], -node.args[1]):
        return exp_shift(node.args[0], -node.args[1])
    if isinstance(node, sp.exp) and _difference_of_max(node.args[0]) is not None:
        return exp_shift(*_difference_of_max(node.args[0]))
    pairs = _shifted_pairs(node.args[0]) if isinstance(node, sp.exp) else None
    if pairs is not None and all(_max_term(x, -m) for x, m in pairs):  # e^(a + c − 2·max(a, c)) in a widened body
        # (the two-sum rule's product of exp_twosum elsewhere): inf − inf at c = inf, e^(a − m)·e^(c − m) is 0·1
        return sp.Mul(*[exp_shift(x, -m) for x, m in pairs], evaluate=False)
    limit = _over_shifted_limit(node) if isinstance(node, sp.exp) else None
    if limit is not None:
        return limit
    if isinstance(node, sp.Max) and sp.S.Zero in node.args and len(node.args) >= 2:
        return _gaps_of_max(node)
    return None


def _gaps_of_max(node):
    """max(0, b − a, …) → max(0, gap(b, a), …), each gap 0 where its terms are equal; the max's own 0 − a written −a
    beside them (max(0, a, b) − a, a constant logit's, is max(−a, 0, b − a): NaN for inf at a = b = −inf; inf −
    inf there, as the cross-entropy's) left as it is: −a is no difference. None where a term is neither."""
    rest = [t for t in node.args if t != 0]
    pairs = [_two_operands(t) for t in rest]
    shifts = {p[1] for p in pairs if p is not None}
    if len(shifts) != 1 or not next(iter(shifts)).could_extract_minus_sign() or any(
            p is None and t not in shifts for p, t in zip(pairs, rest)):
        return None
    return sp.Max(0, *[t if p is None else _gap(p[0], -p[1]) for p, t in zip(pairs, rest)])


def _over_shifted_limit(node):
    """e^(Σ n_j·x_j − k·m), x_j terms of the max m, n_j > 0 integers, k ≠ Σ n_j a half-integer (a softmax sum's
    S^−k taken over by the softmax-partition rule: x·e^(a + b)/S^2.5) → its limit where m = +inf: the exponent
    Σ_{x_j ≠ m} n_j·x_j + (Σ_{x_j = m} n_j − k)·m, ±inf there and never inf − inf (k is no integer); as written
    elsewhere. Not a sum of pairs x_j − m, so the pair form misses it (before: NaN at (x, a, b, c) = (1, 5, inf, 0)
    for x·e^a/S^1.5 − x·e^(2a)/S^2.5 and its ∂a, ∂x, where torch gives 0; session 29). The select is m above
    float32's largest finite value: in a float32 kernel only +inf; in float64 beyond 3.4e38 the written exponent
    is ±inf-sized too (e^(a + b − 2.5m) rounds to 0 or inf either way)."""
    terms = sp.Add.make_args(node.args[0])
    shifts = [t for t in terms if isinstance(t.as_coeff_Mul()[1], sp.Max)]
    if len(shifts) != 1:
        return None
    k, m = shifts[0].as_coeff_Mul()
    k, rest = -k, [t.as_coeff_Mul() for t in terms if t is not shifts[0]]
    if not (k.is_Rational and not k.is_Integer and k > 0 and rest) or any(
            not (n.is_Integer and n > 0) or x not in m.args for n, x in rest):
        return None
    at_max = [sp.Eq(x, m) for _, x in rest]
    limit = sp.Add(*[n * sp.Piecewise((0, e), (x, True)) for (n, x), e in zip(rest, at_max)]) + (
        sp.Add(*[n * sp.Piecewise((1, e), (0, True)) for (n, _), e in zip(rest, at_max)]) - k) * m
    return sp.Piecewise((sp.exp(limit), m > sp.Float(3.4028234663852886e38, 17)), (node, True))


INFINITE_SHIFT = Rule(
    "infinite-shift", "a max-shifted sum subtracts m = max a_i from every a_i: where m is ±inf, the largest term's "
    "a_k − m is inf − inf = NaN (log(e^a + e^b + e^c) and its softmax gradient at a = inf, or at every a_i = −inf; "
    "the cross-entropy's max(0, b − a) at a = b = −inf); it is 0 by definition (the term e^0 = 1, as torch's "
    "logsumexp masks an infinite max), so the value is ±inf and the softmax weights their limits (1 for a lone "
    "+inf entry, 0 for the others; equal weights among entries at the same infinity, the limit along the diagonal, "
    "where torch's autograd gives NaN)", apply=_infinite_shift, fired=_rewrote)


# ------------------------------------------------------------------ shifted-sum-crossing (issue 16: the written-out
# log-sum-exp m + log1p(D) cancels where m ≈ −log Σ e^(a_i − m)); tested in tests/test_stability8.py

def _shifted_log(term, m) -> bool:
    """term is log1p(X) of a sum shifted by the max m (X holds exp_shift(·, m))."""
    return isinstance(term, log1p) and any(f.args[1] == m for f in term.atoms(exp_shift))


def _shifted_sum_crossing(expr):
    """Every sum m + log1p(D) (+ other terms: the cross-entropy's −a_r) of a log-sum-exp shifted by the
    max m, widened: computed in double-word in a float64 kernel and in float64 in a float32 one, rounded
    once; the outermost where sums nest, each distinct sum once."""
    if not isinstance(expr, sp.Basic) or not expr.has(exp_shift, sp.Max):
        return expr
    return _top_down(expr, _shifted_sum_node)


def _shifted_sum_node(node):
    """The shifted-sum-crossing rule's form of one node (widened), or None."""
    if not node.is_Add or isinstance(node, WidenedBase):
        return None
    signed = [(t.as_coeff_Mul()[0], t.as_coeff_Mul()[1]) for t in node.args]  # a log-softmax's a − m − log1p(D)
    # has them with the sign −1; k·m + k·log1p(D) (log(S²) − 2a: the log of a power's 2·log S) with any k
    maxes = [(c, t) for c, t in signed if c != 0 and isinstance(t, sp.Max)]
    if len(node.args) >= 3:  # and −log p + c, m − a as the max-minus rule leaves it (max(0, b − a, …)) beside a third
        # term: the entropy term's ∂b, (log1p(D) + max(0, b − a) − 1)·p·(1 − p), cancels at p = 1/e (257 ULP in
        # float64 at a − b = −0.5475; session 28); without a third term the two, both ≥ 0, do not cancel
        maxes += [(c, _max_of_gaps(t)) for c, t in maxes if _max_of_gaps(t) is not None]
    return widen(node) if any(c == k and _shifted_log(t, m) for k, m in maxes for c, t in signed) else None


def _max_of_gaps(t):
    """max(a, b, …) for t = max(0, b − a, …) (each gap y − a, or the infinite-shift rule's select of it), else None."""
    if sp.S.Zero not in t.args or len(t.args) < 2:
        return None
    pairs = [_two_operands(g.args[1][0] if isinstance(g, sp.Piecewise) and len(g.args) == 2 else g)
             for g in t.args if g != 0]
    if any(p is None or not p[1].could_extract_minus_sign() for p in pairs) or len({p[1] for p in pairs}) != 1:
        return None
    x = -pairs[0][1]
    return sp.Max(x, *[y for y, _ in pairs])


SHIFTED_SUM_CROSSING = Rule(
    "shifted-sum-crossing", "the max-shifted log-sum-exp m + log1p(D), m = max a_i, cancels where m ≈ −log Σ "
    "e^(a_i − m) (the result near 0: log(e^a + e^b + e^c) at a = b = c = −1 is −1 + log 3, 6.5 ULP in float64; "
    "logaddexp at a = b = −log 2); each rounding of log1p(D) and of the e^(a_i − m) is amplified by "
    "|log1p(D)|/|result|, without bound, so no float64 ordering fixes it. The sum is computed in float64 in a "
    "float32 kernel and in double-word arithmetic (hi + lo, a_i − m exact by TwoSum, e^, expm1 and log1p to "
    "about 2⁻¹⁰⁰) in a float64 one, rounded once; at m = ±inf the float64 form (the infinite-shift rule's) "
    "is kept", apply=_shifted_sum_crossing, fired=_rewrote)


# (from the rounded-argument block of rewrite.py: the split script moved it here, to the first module that uses it)
def _bounded_argument(v) -> bool:
    """v is at most a few units in magnitude by its form (every input inside σ, tanh, erf, sin or cos): its
    rounding is a few ulp of e^v at most."""
    if v.is_number:
        return True
    if isinstance(v, (sigmoid, sp.tanh, sp.erf, sp.sin, sp.cos)):
        return True
    if v.is_Add or v.is_Mul:
        return all(_bounded_argument(a) for a in v.args) and (v.is_Add or len(v.args) <= 3)
    return False
# (from the log-near-one block of rewrite.py: the split script moved it here, to the first module that uses it)
_VANISHING_PROBE = 2 ** -30  # x at which the sum must be below _VANISHING_RATIO of its terms to be tried
# (from the log-near-one block of rewrite.py: the split script moved it here, to the first module that uses it)
_VANISHING_RATIO = 2 ** -20
# (from the log-near-one block of rewrite.py: the split script moved it here, to the first module that uses it)
def _vanishes_at_zero(node, x) -> bool:
    """``node``, a sum in x, is 0 at x = 0 and its terms cancel there: at x = 2⁻³⁰ (60 digits) the sum is below
    2⁻²⁰ of Σ|terms| (x − sin x: 2⁻⁶³, log(1 + x) − x: 2⁻³²; x + sin x: 1/2). Raises nothing."""
    from ...verify.evaluate import mp_value

    try:
        at_zero = node.xreplace({x: sp.S.Zero})  # softplus(0) stays unevaluated: log 2 written out
        if at_zero != 0 and at_zero.replace(softplus, lambda u: sp.log(1 + sp.exp(u))) != 0 and not _zero_at_zero(
                at_zero):
            return False
        with mpmath.workdps(60):
            at = {x: mpmath.mpf(_VANISHING_PROBE)}
            size = mpmath.fsum(abs(mp_value(t, at)) for t in node.args)
            total = abs(mp_value(node, at))
    except Exception:  # noqa: BLE001 - a term mpmath cannot evaluate (0/0 at 0): not this rule's
        return False
    return bool(mpmath.isfinite(size) and size > 0 and total < size * _VANISHING_RATIO)
# (from the log-near-one block of rewrite.py: the split script moved it here, to the first module that uses it)
def _zero_at_zero(at_zero) -> bool:
    """``at_zero`` (a sum at x = 0 that SymPy leaves unevaluated) holds symnet's scaled-erfc functions, which SymPy does
    not evaluate at 0 (erfcx(0) = 1, erfcx_slope(0) = −2/√π), and is 0 at 100 digits: the sum of the log-erfcx-left
    rule's branches, 2x + erfcx′(x)/erfcx(x) + 2/(√π·erfcx(−x)) (session 33: ∂ of log erfcx(x) + log erfcx(−x) at
    x = 1e−30 was 2e−30 for 1.45e−30, its terms cancelling). Raises nothing."""
    from ...verify.evaluate import mp_value

    if not at_zero.has(erfcx, erfcx_slope, erfcx_slope_tail):
        return False
    try:
        with mpmath.workdps(100):
            return abs(mp_value(at_zero, {})) < mpmath.mpf(2) ** -300
    except Exception:  # noqa: BLE001 - not evaluable: not this rule's
        return False
# (from the exp-product-limit block of rewrite.py: the split script moved it here, to the first module that uses it)
_DOUBLE_MAX = sp.Float(1.7976931348623157e308, 17)


# ------------------------------------------------------------------ cosh-square-sum-first (issue 16, session 33,
# h-xfailb33: ∂x of log(2cosh²x − 1 + y) NaN at (709.8, 0) for 2: exp-collect writes 2cosh²x − 1 as e^(2x)/2 + e^(−2x)/2
# before cosh-square-sum, at the quotient above it, sees c·cosh²x + r); tested in tests/test_xfailb33.py

def _cosh_square_sum_first_node(node):
    """cosh-square-sum's form of ``node`` (a log of c·f(u)² + r or a quotient K·cosh^a·sinh^b/(c·f(u)² + r), f cosh or
    sinh) where r holds the number that exp-collect cancels against c·f(u)²'s (−c/2 for cosh, c/2 for sinh: 2cosh²u − 1
    is cosh 2u), so that the rule sees the sum as written; None for any other node (cosh-square-sum's own, a node rule,
    takes those)."""
    inner = node.args[0] if isinstance(node, sp.log) else next(
        (g.base for g in node.args if g.is_Pow and g.exp == -1), None) if node.is_Mul else None
    found = _cosh_square_term(inner) if inner is not None else None
    if found is None:
        return None
    c, u, r, f = found
    number = sum((t for t in sp.Add.make_args(r) if t.is_number), sp.S.Zero)
    if number != (-c / 2 if f is sp.cosh else c / 2) or not (r - number).free_symbols:
        return None
    out = _cosh_square_sum(node)
    return None if out is None else out.expr


def _cosh_square_sums_first(expr):
    """Every outermost node of ``expr`` :func:`_cosh_square_sum_first_node` takes, rewritten."""
    return _top_down_having(expr, (sp.cosh, sp.sinh), _cosh_square_sum_first_node, _KEPT)


COSH_SQUARE_SUM_FIRST = Rule(
    "cosh-square-sum-first", "cosh-square-sum's c·cosh²u + r where r holds the number that cancels c·cosh²u's constant "
    "part (2cosh²x − 1 + y: exp-collect writes 2cosh²x − 1 as e^(2x)/2 + e^(−2x)/2 first, and the quotient above it "
    "no longer holds c·cosh²u): ∂x of log(2cosh²x − 1 + y), 4·sinh x·cosh x/(2cosh²x − 1 + y), was NaN at (709.8, 0) "
    "for 2 (inf·0; torch NaN); cosh-square-sum applied to the log or quotient as written, before the node rules: for "
    "|u| > 20 4·tanh u/(2 + (y − 1)/cosh²u), the same function",
    apply=_cosh_square_sums_first, fired=_rewrote, before=True)


# ------------------------------------------------------------------ vae43 (issue 16, session 43, h-vae43: a sum's
# constant kept in its widened sum: the VAE's KL term −½(1 + lv − μ² − e^lv) was 9.9e15 ULP in float64 near lv = μ = 0,
# the affine-root rule's (widened(m² + e^lv − lv) − 1)/2 rounding before the 1 cancels; tested in tests/test_vae43.py)


def _constant_group_terms(node):
    """``node`` a sum of several inputs with number terms → [(x, group)]: for each input x with two terms in x alone
    or more, one of them holding e^, the sum of those terms and the number terms (1 + lv − e^lv of 1 + lv − μ² − e^lv);
    [] where there is no number term."""
    constants = [t for t in node.args if t.is_number]
    if not constants:
        return []
    groups: dict = {}
    for t in node.args:
        if len(t.free_symbols) == 1:
            groups.setdefault(next(iter(t.free_symbols)), []).append(t)
    # an e^x among them: log(2 + x) − x/2 − log 2 beside y² is the log-difference and widen rules' already (0.50 ULP)
    return [(x, sp.Add(*group, *constants)) for x, group in sorted(groups.items(), key=lambda p: p[0].name)
            if len(group) >= 2 and sp.Add(*group).has(sp.exp) and not sp.Add(*group).is_polynomial(x)]


def _vanishing_constant_group(node):
    """A sum of several inputs whose terms in one input x (e^x among them), with its number terms, are 0 at x = 0 and
    cancel there (:func:`_vanishes_at_zero`: 1 + lv − e^lv) → the whole sum widened, its constant inside; None
    elsewhere."""
    if not (isinstance(node, sp.Expr) and node.is_Add and len(node.free_symbols) > 1):
        return None
    for x, group in _constant_group_terms(node):
        if not group.has(sp.Indexed, WidenedBase, sp.Piecewise) and _vanishes_at_zero(group, x):
            return widen(node)
    return None


def _vanishing_constant_groups(expr):
    return _top_down_having(expr, sp.Add, _vanishing_constant_group, _KEPT, exprs_only=False)


VANISHING_CONSTANT_GROUP = Rule(
    "vanishing-constant-group", "a sum of several inputs whose terms in one input x (an e^x among them) and its "
    "constant meet at x = 0 (the VAE's KL term −½(1 + lv − μ² − e^lv), whose 1 + lv − e^lv cancels near lv = 0 while "
    "the whole is μ²/2 + lv²/4: 9.9e15 ULP in float64, 1.7e7 in float32, torch the same) lost its constant to the "
    "affine-root rule ((x + b·n)/n: the widened rest rounded, then the 1 subtracted); the whole sum, its constant "
    "inside, is computed as the widen rule computes a sum (double words, a third word where they cancel too) and "
    "rounded once: the same number, one rounding",
    apply=_vanishing_constant_groups, fired=_rewrote, before=True)


def _root_minus_constant_parts(node):
    """``node`` a·√S + b (a, b numbers of opposite signs, S a polynomial in the inputs with two terms or more) →
    (a, b, √S); None for any other node."""
    if not (isinstance(node, sp.Expr) and node.is_Add and len(node.args) == 2):
        return None
    b = next((t for t in node.args if t.is_number), None)
    root = next((t for t in node.args if not t.is_number), None)
    if b is None or root is None or not b.is_real or b == 0:
        return None
    a, r = root.as_coeff_Mul()
    if not (r.is_Pow and r.exp == sp.S.Half and a * b < 0):
        return None
    s = r.base
    if not (s.is_Add and s.free_symbols and s.is_polynomial(*s.free_symbols)) or s.has(sp.Indexed):
        return None
    return a, b, r


def _root_minus_constant(node):
    """a·√S + b (:func:`_root_minus_constant_parts`: ‖g‖ − 1 of WGAN-GP's penalty with ‖g‖ = √(g₁² + g₂²)) →
    (a²·S − b²)/(a·√S − b), the quotient widened (S's products exact in double words, the root and quotient to about
    2⁻¹⁰⁰, one rounding), where b²/16 < a²·S < 64b² (√S within a factor 4 below and 8 above −b/a: the written form
    cancels near −b/a, and a²·S neither over- nor underflows there); the written form elsewhere. A product of it (or
    of its whole power) with inputs, numbers and whole or half-integer powers of S and of inputs (the penalty's
    gradient 2g₁·(‖g‖ − 1)/‖g‖) is so widened whole (its roundings of g₁ times the quotient over √S were 2.6 ULP
    apart), the powers of S it divides by multiplied into the expanded denominator
    (:func:`_root_minus_constant_denominator`). None for any other node."""
    factor, rest = node, []
    if isinstance(node, sp.Expr) and node.is_Mul:
        found = [f for f in node.args if _root_minus_constant_parts(f.base if f.is_Pow and f.exp.is_Integer
                                                                      and f.exp > 0 else f)]
        if len(found) != 1:
            return None
        factor, rest = found[0], [f for f in node.args if f is not found[0]]
    power = factor.exp if factor.is_Pow and factor.exp.is_Integer and not factor.is_Add else sp.S.One
    difference = factor.base if power != 1 else factor
    parts = _root_minus_constant_parts(difference)
    if parts is None:
        return None
    a, b, r = parts
    s = r.base
    for f in rest:  # numbers, inputs and powers of inputs or of S (whole or half-integer)
        base, e = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if not (f.is_number or ((base.is_Symbol or base == s) and (2 * e).is_Integer)):
            return None
    near = sp.And(a ** 2 * s > b ** 2 / 16, a ** 2 * s < 64 * b ** 2)
    # the powers of S in the denominator multiplied into (a√S − b)^n and expanded (_root_minus_constant_denominator)
    over = [f for f in rest if f.is_Pow and f.base == s and f.exp < 0]
    denominator = _root_minus_constant_denominator(a, b, r, power, sum(-f.exp for f in over))
    conjugate = sp.expand(a ** 2 * s - b ** 2) ** power / denominator
    # in double words in a float32 kernel too: float64's g₁² + g₂² − 1 drops a float32 g₁² below 2⁻⁵³ (f 0 at g₁ = 1e−9)
    return sp.Piecewise((widen(sp.Mul(conjugate, *[f for f in rest if f not in over]), in_float32=True), near),
                        (node, True))


def _roots_minus_constants(expr):
    return _top_down_having(expr, sp.Pow, _root_minus_constant, _KEPT, exprs_only=False)


ROOT_MINUS_CONSTANT = Rule(
    "root-minus-constant", "a·√S + b with a, b of opposite signs cancels where √S ≈ −b/a (WGAN-GP's penalty "
    "(‖g‖ − 1)², ‖g‖ = √(g₁² + g₂²), near its target ‖g‖ = 1: 0 for 2.5e−32 at g = (−1.78e−8, 1), 8.9e15 ULP in "
    "float64, torch the same), √S rounded to an ulp of 1 (S = 1 + g₁² is 1); (a²S − b²)/(a√S − b) is the same number "
    "(a difference of squares; the denominator's terms have one sign, ≥ |b|), computed whole in double words as the "
    "widen rule computes (S's products exact, √ and quotient to about 2⁻¹⁰⁰) and rounded once, with the inputs, "
    "numbers and powers of S it is multiplied by (the penalty's gradient 2g₁(‖g‖ − 1)/‖g‖, its denominator "
    "(1 + ‖g‖)·‖g‖ expanded, S + √S: terms of one sign, one double-word quotient); taken where b²/16 < a²S < 64b² "
    "(beyond, the written difference amplifies √S's error by at most 8/7 or 4/3; no over- or underflow inside); a "
    "float32 kernel keeps the float64 quotient where its running error bound is within 2⁻³⁰ of it, double words on "
    "the other elements (g₁ = 1e−9, g₂ = 1, where float64's S − 1 is 0)",
    apply=_roots_minus_constants, fired=_rewrote, before=True)


def _log_difference_factor(term):
    """``term`` c·R·(log A − log B) (c a number, R an input, an affine form of inputs or absent) → (log A − log B, A,
    B); None for any other term."""
    if not (isinstance(term, sp.Expr) and term.is_Mul):
        return None
    diffs = [f for f in term.args if f.is_Add and len(f.args) == 2]
    for d in diffs:
        logs = sorted(d.args, key=lambda t: t.could_extract_minus_sign())
        if isinstance(logs[0], sp.log) and isinstance(-logs[1], sp.log):
            return d, logs[0].args[0], (-logs[1]).args[0]
    return None


def _log_difference_ratio_sum(node):
    """A sum with two terms c·R·(log A − log B) or more (p·(log p − log q) + (1 − p)·(log(1 − p) − log(1 − q))) that,
    each difference written log(A/B), is a sum :func:`_log_linear_sum` takes → Piecewise((that sum, every A, B > 0),
    (node, True)); None elsewhere."""
    from .series import _log_linear_sum  # a later module: imported at the call
    if not (isinstance(node, sp.Expr) and node.is_Add):
        return None
    found = {t: _log_difference_factor(t) for t in node.args}
    if sum(f is not None for f in found.values()) < 2:
        return None
    ratios = {t: t.xreplace({f[0]: sp.log(f[1] / f[2])}) if f else t for t, f in found.items()}
    new = sp.Add(*ratios.values())
    if not _log_linear_sum(new):
        return None
    positive = sp.And(*[v > 0 for f in found.values() if f for v in f[1:]])
    return sp.Piecewise((new, positive), (node, True))


def _log_difference_ratio_sums(expr):
    return _top_down_having(expr, sp.log, _log_difference_ratio_sum, _KEPT, exprs_only=False)


LOG_DIFFERENCE_RATIO = Rule(
    "log-difference-ratio", "a Kullback–Leibler divergence written with differences of logs, p·(log p − log q) + "
    "(1 − p)·(log(1 − p) − log(1 − q)), cancels twice near p = q: each difference is of size |p − q| and the two "
    "terms meet at the double root (1.06e12 ULP in float64, 1.42e4 in float32; torch 6.18e24, 4.87e14); log A − log B "
    "is log(A/B) wherever A, B > 0 (an identity), and so written the sum is the log-linear-root rule's (computed as "
    "the widen rule computes a sum, rounded once); as written where some A or B is not positive",
    apply=_log_difference_ratio_sums, fired=_rewrote, before=True)


# ------------------------------------------------------------------ wgan44 (issue 16, session 44, h-wgan44: the
# root-minus-constant rule's double words cheaper: its denominator one expanded sum; tested in tests/test_wgan44.py)


def _root_minus_constant_denominator(a, b, r, power, halves):
    """(a·r − b)^n·r^(2h) expanded (r = √S, n = ``power`` ≥ 1, h = ``halves`` ≥ 0 the sum of the exponents −e of the
    powers S^e < 1 the difference is multiplied by): its terms c·√S^k all have one sign (a·r and −b have one), so
    the double words that compute it do not cancel, and the widened quotient takes one double-word division where
    (a·r − b)^n·√S took two and a product (the penalty's gradient 2g₁·(S − 1)/(S + √S), where it was
    2g₁·(S − 1)/((1 + √S)·√S); f (S − 1)²/(S + 2√S + 1), where it was (S − 1)²/(1 + √S)²)."""
    return sp.expand((a * r - b) ** power * r ** (2 * halves))


# ------------------------------------------------------------------ cos44 (issue 16, session 44, h-cos44: a
# cosine-similarity loss 1 − a·b/(‖a‖·‖b‖) written out cancels where a ∥ b)

def _constant_plus_product(node):
    """``node`` c + k·R (c a nonzero real number, k·R a product, k its numeric coefficient; no indexed input) →
    (c, k, R); None for any other node. The cosine-complement rule's parse, of one root per norm and of one root of
    ‖a‖²·‖b‖² + ε alike."""
    if not (isinstance(node, sp.Expr) and node.is_Add and len(node.args) == 2) or node.has(sp.Indexed):
        return None
    c = next((t for t in node.args if t.is_number), None)
    term = next((t for t in node.args if not t.is_number), None)
    if c is None or term is None or not c.is_real or c == 0 or not term.is_Mul:
        return None
    k, rest = term.as_coeff_Mul()
    return c, k, rest


def _lagrange_gap(pairs):
    """D = Σ_{i<j} (aᵢbⱼ − aⱼbᵢ)² of the pairs [(a₁, b₁), (a₂, b₂), …]: ‖a‖²·‖b‖² − (a·b)² by Lagrange's identity."""
    return sp.Add(*[(ai * bj - aj * bi) ** 2 for n, (ai, bi) in enumerate(pairs) for aj, bj in pairs[n + 1:]])


def _cosine_complement_parts(node):
    """``node`` c + k·P·S₁^(−1/2)·S₂^(−1/2)·… (c, k nonzero numbers; P a polynomial in the inputs with two terms or
    more; each Sⱼ a sum of two or more squares of inputs, each times a positive number, and a positive number ε or
    none: ‖a‖ = √(a₁² + a₂² + ε), a weighted norm √(a₁² + 2a₂²); at least one Sⱼ) → (c·k, P, [S₁, S₂, …]); None for
    any other node."""
    split = _constant_plus_product(node)
    if split is None:
        return None
    c, k, rest = split
    roots, others = [], []
    for f in sp.Mul.make_args(rest):
        if f.is_Pow and f.exp == -sp.S.Half and f.base.is_Add and len(f.base.args) >= 2 and all(
                _cosine_square(t) or (t.is_number and t.is_positive) for t in f.base.args) and sum(
                map(_cosine_square, f.base.args)) >= 2:  # break45: w·x² (w > 0) and a constant ε > 0 too
            roots.append(f)
        else:
            others.append(f)
    if not roots or len(others) != 1:
        return None
    p = others[0]
    if not (p.is_Add and len(p.args) >= 2 and p.is_polynomial(*p.free_symbols)):
        return None
    return c * k, p, [f.base for f in roots]


def _cosine_square(t) -> bool:
    """t = w·x², x an input, w a positive number (1 for a plain square)."""
    w, square = t.as_coeff_Mul()
    return w.is_positive and square.is_Pow and square.exp == 2 and square.base.is_Symbol


_COSINE_RANGE = 900  # unscaled: the Sⱼ of n roots each within 2^±(900/n), their double words' products normal


def _cosine_scales(p, sums):
    """{input: r} that scales each Sⱼ's inputs by rⱼ = binade_reciprocal(max |x|) of them, where the Sⱼ hold disjoint
    inputs and P is of degree 1 in each Sⱼ's (P(t₁·x₁, t₂·x₂, …) = t₁·t₂·…·P: a dot product a·b with ‖a‖, ‖b‖), so
    that c + k·P/√(S₁·S₂·…) at the scaled inputs is the same number; None otherwise (an Sⱼ with a constant ε too)."""
    groups = [sorted(s.free_symbols, key=sp.default_sort_key) for s in sums]
    if any(t.is_number for s in sums for t in s.args):  # break45: S + ε is not scaled with its inputs
        return None
    if sum(map(len, groups)) != len(set().union(*map(set, groups))) or not p.free_symbols <= set().union(*map(set, groups)):
        return None
    ts = [sp.Dummy("t", positive=True) for _ in groups]
    scaled = p.xreplace({x: t * x for t, g in zip(ts, groups) for x in g})
    if sp.expand(scaled - sp.Mul(*ts) * p) != 0:
        return None
    return {x: binade_reciprocal(sp.Max(*[sp.Abs(v) for v in g])) for g in groups for x in g}


def _cosine_complement(node):
    """c + k·P/√(S₁·S₂·…) (:func:`_cosine_complement_parts`: 1 − a·b/(‖a‖·‖b‖)) → the sum widened: computed whole in
    double words (P's and the Sⱼ's products exact, the roots and the quotient to about 2⁻¹⁰⁰) and rounded once, at its
    inputs scaled by a power of two per Sⱼ (:func:`_cosine_scales`: the same number, the largest of each Sⱼ's inputs in
    [1, 2), so no square or product overflows or underflows), on every element (the widened node's float64 front
    where its error bound allows, double words where the terms cancel); where P is not of degree 1 in each Sⱼ's
    inputs, Piecewise((the sum widened unscaled, c·k·P < 0 and each Sⱼ of n within 2^±(900/n)), (node, True))
    (:data:`_COSINE_RANGE`: the double words' partial products in the range; opposite signs: the only place the two
    terms cancel; elsewhere as written, the hypot rule's scaled roots). With the scales, :func:`_cosine_lagrange` takes
    c·(1 − s·a·b/(‖a‖·‖b‖)) (s = ±1) where s·a·b > 0 by Lagrange's identity. None for any other node."""
    parts = _cosine_complement_parts(node)
    if parts is None:
        return _cosine_joint_complement(node)  # mirror47: one root of ‖a‖²·‖b‖² + ε
    ck, p, sums = parts
    core = widen(node)
    scales = _cosine_scales(p, sums)
    if scales is not None:  # everywhere: the written P and Sⱼ leave the range from 1e154 on, where this does not
        whole = core.func(*[leaf * scales.get(leaf, sp.S.One) for leaf in core.leaves])
        return _cosine_lagrange(node, p, sums, scales, whole)  # lagr44: exact 0 where a ∥ b
    edge = sp.Integer(2) ** (_COSINE_RANGE // len(sums))
    near = sp.And(ck * p < 0, *[(s > 1 / edge) & (s < edge) for s in sums])
    return sp.Piecewise((core, near), (node, True))


def _cosine_complements(expr):
    return _top_down_having(expr, sp.Pow, _cosine_complement, _KEPT, exprs_only=False)


COSINE_COMPLEMENT = Rule(
    "cosine-complement", "1 − a·b/(‖a‖·‖b‖), a cosine-similarity loss written out (‖a‖ = √(a₁² + a₂² + a₃²)), "
    "cancels where a ∥ b: the rounded dot product, norms and quotient leave cos θ some 3 roundings off, which "
    "1 − cos θ turns into a relative error of 3u/(1 − cos θ) (324 ULP in float64 at cos θ = 0.99617, torch 324); "
    "c + k·P/√(S₁·S₂) (P a polynomial, each S a sum of squares of inputs, each square times a positive number, and "
    "a positive constant ε or none: √(‖a‖² + ε) and weighted norms too) computed whole in double words as the "
    "widen rule computes (P's and S's products exact, √ and quotient to about 2⁻¹⁰⁰) and rounded once: where P is "
    "of degree 1 in each S's inputs (a·b), on every element at the inputs of each S scaled by the power of two that "
    "brings their largest into [1, 2) (the same number, and no square or product leaves the range, where the written "
    "a·b and S overflow from 1e154 on: inf at a = −b/2 = 1e300·(1, 2, 3), torch NaN); else unscaled where c·k·P < 0 "
    "(its two terms of opposite signs, the only place they cancel) and each of n sums S is within 2^±(900/n), as "
    "written elsewhere; for c·(1 − s·a·b/(‖a‖·‖b‖)) (s = ±1) where s·a·b > 0, c·D/(R·(R + s·a·b)) instead, "
    "R = ‖a‖·‖b‖, D = Σ_{i<j} (aᵢbⱼ − aⱼbᵢ)² = R² − (a·b)² (Lagrange's identity; plain squares, no ε; a term "
    "−aᵢbᵢ of the dot product read as aᵢ·(−bᵢ)), at the same scaled inputs in "
    "double words: each aᵢbⱼ − aⱼbᵢ of two exact products, so 0 where a ∥ b (the whole sum's floor of about 2⁻¹³⁰ of 1 "
    "left 1e−37 there, and 9.9e17 ULP in float64 at b = a·t rounded, 1 − cos θ ~ 1e−33; torch 0 and NaN there, "
    "3.4e38 ULP); with the ε under one root, 1 − a·b/√(‖a‖²·‖b‖² + ε), c·(D + ε)/(R·(R + s·a·b)) (R² − (a·b)² = D + ε) "
    "where s·a·b > 0 and each ‖·‖² is within 2^±450, as written elsewhere (it was as written: 8.8e15 ULP in float64 "
    "near a ∥ b at ε = 1e−12, worse than torch at 2 of 100 points; float32 1.2e7)",
    apply=_cosine_complements, fired=_rewrote, before=True)


# ------------------------------------------------------------------ lagr44 (issue 16, session 44, h-lagr44: the
# cosine-similarity loss's double-word floor ≈ 1e−39 where a ∥ b, by Lagrange's identity)

_LAGRANGE_MOST = 8  # inputs a vector, its n(n − 1)/2 determinants (compile CPU s at n = 6: 3.1 → 4.3; n = 12: 32.6 → 52.4)


def _cosine_pairs(p, sums):
    """(m, [(a₁, b₁), (a₂, b₂), …]) where P = m·(a₁·b₁ + a₂·b₂ + …) (m a number) with S₁ = Σ aᵢ², S₂ = Σ bᵢ² (each
    input of S₁ and of S₂ in one term), at most :data:`_LAGRANGE_MOST` terms; a term −m·aᵢ·bᵢ gives the pair
    (aᵢ, −bᵢ) (P = m·a·b' with b' = (±bᵢ), and Σ b'ᵢ² = S₂: a·c − b·d over ‖(a, b)‖·‖(c, d)‖); None otherwise."""
    if len(sums) != 2 or not all(t.is_Pow for s in sums for t in s.args):  # break45: plain squares (no w·x², ε)
        return None
    first, second = (set(s.free_symbols) for s in sums)
    if len(first) != len(sums[0].args) or len(second) != len(sums[1].args) or len(first) != len(second):
        return None
    if len(first) > _LAGRANGE_MOST:
        return None
    m = p.args[0].as_coeff_Mul()[0]
    pairs = []
    for term in p.args:
        coefficient, product = term.as_coeff_Mul()
        if coefficient not in (m, -m):  # break45: −m too, b's entry negated (b' = (±bᵢ), ‖b'‖ = ‖b‖)
            return None
        factors = sp.Mul.make_args(product)
        if len(factors) != 2 or not all(f.is_Symbol for f in factors):
            return None
        x, y = factors if factors[0] in first else factors[::-1]
        if x not in first or y not in second:
            return None
        pairs.append((x, y if coefficient == m else -y))
    if {x for x, _ in pairs} != first or {y.free_symbols.pop() for _, y in pairs} != second:
        return None
    return m, pairs


def _cosine_lagrange(node, p, sums, scales, whole):
    """c·(1 − s·P/√(S₁·S₂)) with P = a·b, S₁ = ‖a‖², S₂ = ‖b‖², s = ±1 (:func:`_cosine_pairs`: the node is
    c + k·m·P/√(S₁·S₂) with s = −k·m/c; 1 + a·b/(‖a‖·‖b‖) is s = −1) → Piecewise((c·D/(R·(R + s·P)) widened,
    s·P > 0), (``whole``, True)) at the scaled inputs (``scales``), where R = √S₁·√S₂ and D = Σ_{i<j} (aᵢbⱼ − aⱼbᵢ)²:
    R² − P² = S₁S₂ − (a·b)² = D (Lagrange's identity), so 1 − s·P/R = (R² − P²)/(R·(R + s·P)) = D/(R·(R + s·P)), and
    R + s·P has no cancellation where s·P > 0. In double words each aᵢbⱼ − aⱼbᵢ is the difference of two exact
    products, 0 where aᵢbⱼ = aⱼbᵢ (a ∥ b: D = 0 exactly, where ``whole`` left ≈ 1e−39) and accurate relative to
    itself elsewhere. ``whole`` for any other node."""
    c = next(t for t in node.args if t.is_number)
    k = next(t for t in node.args if not t.is_number).as_coeff_Mul()[0]
    found = _cosine_pairs(p, sums)
    if found is None or (-k * found[0] / c) not in (1, -1):
        return whole
    m, pairs = found
    q = sp.expand(-k * p / c)  # s·P: the node is c·(1 − q/R)
    root = sp.sqrt(sums[0]) * sp.sqrt(sums[1])
    gap = _lagrange_gap(pairs)
    lagrange = widen(c * gap / (root * (root + q)))
    at = {leaf: leaf * scales.get(leaf, sp.S.One) for leaf in lagrange.leaves}
    return sp.Piecewise((lagrange.func(*[at[leaf] for leaf in lagrange.leaves]), q.xreplace(at) > 0), (whole, True))


# ------------------------------------------------------------------ mirror47 (issue 16, session 47, h-mirror47: a cosine
# loss with its ε under one root, 1 − a·b/√(‖a‖²·‖b‖² + ε); tested in tests/test_mirror47.py)

def _cosine_joint_base(base):
    """(S₁, S₂, ε) for base = S₁·S₂ + ε (each Sⱼ a sum of two or more squares of inputs, each times a positive number;
    ε a positive number); None otherwise."""
    if not (base.is_Add and len(base.args) == 2):
        return None
    eps = next((t for t in base.args if t.is_number), None)
    product = next((t for t in base.args if not t.is_number), None)
    if eps is None or product is None or not eps.is_positive or not product.is_Mul:
        return None
    sums = sp.Mul.make_args(product)
    if len(sums) != 2 or not all(s.is_Add and len(s.args) >= 2 and all(map(_cosine_square, s.args)) for s in sums):
        return None
    return sums[0], sums[1], eps


def _cosine_joint_complement(node):
    """c + k·P·(S₁·S₂ + ε)^(−1/2) (P a polynomial of two terms or more, :func:`_cosine_joint_base`: the cosine loss
    1 − a·b/√(‖a‖²·‖b‖² + ε)) → Piecewise((the sum widened, c·k·P < 0 and S₁, S₂ within 2^±450), (node, True)), as
    :func:`_cosine_complement`'s unscaled branch (ε is not scaled with the inputs); where P = m·a·b with S₁ = ‖a‖²,
    S₂ = ‖b‖² (:func:`_cosine_pairs`) and the node is c·(1 − s·a·b/R), R = √(S₁·S₂ + ε), there instead
    c·(D + ε)/(R·(R + s·a·b)) widened, D = Σ_{i<j} (aᵢbⱼ − aⱼbᵢ)² (Lagrange's identity: R² − (a·b)² = S₁·S₂ + ε −
    (a·b)² = D + ε), terms of one sign. None for any other node.

    As written, 1 − cos θ with its ε is about ε/(2·S₁·S₂) where a ∥ b, and the rounded cos θ is 3 roundings off it: at
    the 300 points of tests/test_break45.py's ε-norm test (ε = 1e−12) float64 f was past 4 ULP at all 300 (4.34e16:
    −2.2e−16 for 4.5e−17; torch the same), float32 past 8 ULP at 288 (worse than torch at 1)."""
    split = _constant_plus_product(node)
    if split is None:
        return None
    c, k, rest = split
    factors = sp.Mul.make_args(rest)
    roots = [f for f in factors if f.is_Pow and f.exp == -sp.S.Half and _cosine_joint_base(f.base)]
    if len(roots) != 1 or len(factors) != 2:
        return None
    p = next(f for f in factors if f is not roots[0])
    if not (p.is_Add and len(p.args) >= 2 and p.is_polynomial(*p.free_symbols)):
        return None
    s1, s2, eps = _cosine_joint_base(roots[0].base)
    edge = sp.Integer(2) ** (_COSINE_RANGE // 2)
    inside = sp.And(*[(s > 1 / edge) & (s < edge) for s in (s1, s2)])
    near = sp.And(c * k * p < 0, inside)
    found = _cosine_pairs(p, [s1, s2])
    if found is not None and (-k * found[0] / c) in (1, -1):
        pairs = found[1]
        q = sp.expand(-k * p / c)  # s·P: the node is c·(1 − q/R)
        root = sp.sqrt(roots[0].base)
        gap = _lagrange_gap(pairs)
        return sp.Piecewise((widen(c * (gap + eps) / (root * (root + q))), near), (node, True))
    return sp.Piecewise((widen(node), near), (node, True))


# ------------------------------------------------------------------ user50 (issue 16, session 50, h-user50: the
# Hellinger distance of two 2-point distributions, 1 − √(pq) − √((1 − p)(1 − q)), near p = q; tested in
# tests/test_user50.py)


def _affinity_roots(term):
    """``term`` −√(a·b) (a, b two factors) → (a, b); None for any other term."""
    if not (term.is_Mul and len(term.args) == 2 and term.args[0] == -1):
        return None
    root = term.args[1]
    if not (root.is_Pow and root.exp == sp.S.Half and root.base.is_Mul and len(root.base.args) == 2):
        return None
    return root.base.args


def _affinity_complement(node):
    """1 − √(a·b) − √(c·d) where a + c = 1 and b + d = 1 (one minus the Bhattacharyya coefficient of the 2-point
    distributions (a, c) and (b, d): the Hellinger distance's square) → Piecewise((((a − b)/(√a + √b))² +
    ((c − d)/(√c + √d))²)/2, a, b, c, d > 0), (node, True)): the same number ((√a − √b)² + (√c − √d)² =
    a + b + c + d − 2(√(ab) + √(cd)) = 2 − 2(√(ab) + √(cd)) where every factor is positive), a sum of two squares,
    its differences a − b and c − d (= b − a) exact near a = b by Sterbenz, so no cancellation; None elsewhere."""
    if not (isinstance(node, sp.Expr) and node.is_Add and len(node.args) == 3 and sp.S.One in node.args):
        return None
    found = [_affinity_roots(t) for t in node.args if t != 1]
    if None in found:
        return None
    (a, b), (c, d) = found
    for c2, d2 in ((c, d), (d, c)):
        if sp.expand(a + c2) == 1 and sp.expand(b + d2) == 1:
            one = (sp.expand(a - b) / (sp.sqrt(a) + sp.sqrt(b))) ** 2
            two = (sp.expand(c2 - d2) / (sp.sqrt(c2) + sp.sqrt(d2))) ** 2
            positive = sp.And(a > 0, b > 0, c2 > 0, d2 > 0)
            return sp.Piecewise(((one + two) / 2, positive), (node, True))
    return None


def _affinity_complements(expr):
    return _top_down_having(expr, sp.Pow, _affinity_complement, _KEPT, exprs_only=False)


AFFINITY_COMPLEMENT = Rule(
    "affinity-complement", "1 − √(ab) − √(cd) with a + c = 1 and b + d = 1 (the squared Hellinger distance of two "
    "2-point distributions, sqrt(1 − sqrt(p·q) − sqrt((1 − p)·(1 − q))), and every gradient's denominator) cancels "
    "near a = b: 807 ULP in float64 at p = 0.01845, q = 0.01377 (torch 352), 6.4e9 near p = q ± 1e−4, and NaN at "
    "p = q = 1e−30 (the rounded sum below 0; true 0); it is ((a − b)/(√a + √b))²/2 + ((c − d)/(√c + √d))²/2 exactly "
    "where a, b, c, d > 0 ((√a − √b)² + (√c − √d)² = a + b + c + d − 2√(ab) − 2√(cd)), a sum of two squares whose "
    "differences are exact near a = b (Sterbenz; c − d = b − a); as written elsewhere",
    apply=_affinity_complements, fired=_rewrote, before=True)
