"""Shift rules: overflowed-shift, shifted-difference and shift-gaps.

Its blocks, in the order of the module rewrite.py that session 43 split into this package: overflowed-shift,
shifted-difference; shift-gaps (session 50, h-shift50; scoped in session 51, h-reshift51).
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

from ...functions import sigmoid
from ...special import exp_shift, softplus
from .core import _Fired, _rewrote, Rule
from .widening import _top_down, widen, WidenedBase
from .sigmoids import _KEPT_OPEN, _WEIGHTED_TERM_TINY
from .softmax import is_compensated_sum


# ------------------------------------------------------------------ overflowed-shift (issue 16, session 36, h-kl36: a
# written softmax with a subnormal temperature, a/T and b/T both past float64; tested in tests/test_kl36.py)

_SHIFT_FAR = sp.Float(3.4028234663852886e38, 17)  # |m| past float32's largest: every gap is 0 or past 2⁻⁵³·m ≫ 745


def _shared_factor(m):
    """(s, [r_1, …, r_n]) for a max m = max(r_1·s, …, r_n·s) whose arguments share a factor s (no number: a
    temperature's 1/T), an argument 0 taken as 0·s (a constant logit: max(0, a/T, b/T); smax45), else None."""
    if not isinstance(m, sp.Max):
        return None
    factors = [sp.Mul.make_args(x) for x in m.args if x != 0]
    common = [f for f in factors[0] if not f.is_number and all(f in fs for fs in factors[1:])] if factors else []
    if not common or len(factors) < 2:
        return None
    return sp.Mul(*common), [sp.Mul(*[f for f in sp.Mul.make_args(x) if f not in common]) if x != 0 else sp.S.Zero
                             for x in m.args]


def _at_extreme(m, xs):
    """Where every x of ``xs`` (arguments of m = max(r_i·s), counted with their multiplicity) is the largest r_i·s
    exactly: its r is the largest r_i where s > 0, the smallest where s < 0 (a comparison of the r_i, never their
    products, which overflow)."""
    s, rs = _shared_factor(m)
    mine = [rs[m.args.index(x)] for x in xs]
    top, bottom = sp.Max(*rs), sp.Min(*rs)
    return sp.Or(sp.And(s > 0, *[sp.Eq(r, top) for r in mine]), sp.And(s < 0, *[sp.Eq(r, bottom) for r in mine]))


def _shift_terms(node):
    """(m, [x, …]) for e^(x − m) written exp_shift(x, m), or e^(x_1 + … + x_k − k·m) (the softmax gradient's pair; its
    exponent widened too: a·w + b·w − 2m), m = max(r_i·s) a max of one shared factor and each x one of its arguments;
    else None."""
    if isinstance(node, exp_shift):
        x, m = node.args
        return (m, [x]) if _shared_factor(m) is not None and x in m.args else None
    if not isinstance(node, sp.exp):
        return None
    exponent = node.args[0].expanded if isinstance(node.args[0], WidenedBase) else node.args[0]
    if not exponent.is_Add:
        return None
    shifts = [t for t in exponent.args if isinstance(t.as_coeff_Mul()[1], sp.Max)]
    if len(shifts) != 1:
        return None
    k, m = shifts[0].as_coeff_Mul()
    if _shared_factor(m) is None or not (k.is_Integer and k < 0):
        return None
    xs = []
    for t in exponent.args:
        if t is not shifts[0]:
            n, x = t.as_coeff_Mul()
            if not (n.is_Integer and n > 0 and x in m.args):
                return None
            xs += [x] * int(n)
    return (m, xs) if len(xs) == -k else None


def _overflowed_shift_node(node):
    """The overflowed-shift rule's form of one node (a widened body's too; a compensated sum's terms, its arguments, as
    any node's: its class is what has the kernel's outputs computed again in double words), or None."""
    if isinstance(node, WidenedBase):
        if is_compensated_sum(node):
            return None
        body = node.expanded
        far = _overflowed_shifts(body)
        return None if far == body else widen(far, node.first_order, node.in_float32)
    found = _shift_terms(node)
    if found is None:
        return None
    m, xs = found
    return sp.Piecewise((sp.Piecewise((1, _at_extreme(m, xs)), (0, True)), sp.Abs(m) > _SHIFT_FAR), (node, True))


def _overflowed_shifts(expr):
    """Every max-shifted exponential of ``expr`` over logits with a shared factor, as :func:`_overflowed_shift_node`."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Max) or any(
            w.body.has(sp.Max) for w in expr.atoms(WidenedBase))):
        return expr
    return _top_down(expr, _overflowed_shift_node, _KEPT_OPEN)


OVERFLOWED_SHIFT = Rule(
    "overflowed-shift", "a max-shifted e^(a_i − m), m = max a_j, over logits that share a factor, a_i = r_i·s (a "
    "softmax with temperature: r_i/T), takes a_i and m as float64 numbers: at T = −2.78e−309 a/T and b/T both "
    "overflow to inf = m, and each term is taken as e^0 = 1 (softmax 0.5, true 10^(−1.5e308); torch NaN). Where |m| "
    "is past 3.4e38 every gap a_i − m is exactly 0 (r_i the extreme r_j) or past 2⁻⁵³·|m| (the r_j are floats an ulp "
    "apart at least), whose exponential is 0: the term is 1 where r_i is the largest r_j (s > 0; the smallest where "
    "s < 0), compared without forming a product, else 0; as written elsewhere. After every rule that reads the "
    "shifted terms", apply=_overflowed_shifts, fired=_rewrote)


# ------------------------------------------------------------------ shifted-difference (session 41: a soft clip
# softplus(x) − softplus(x − 1) and its ∂x = σ(x) − σ(x − 1), h-user41's strict xfails); tested in
# tests/test_sigdiff41.py

# (not _SHIFT_FAR: that name, the overflowed-shift rule's 3.4e38 above, was rebound to 700 here until session 43, and
# the overflowed-shift rule read 700: a temperature softmax's gradient was 0 wherever |max a_i/T| > 700, e.g. ∂a of
# e^(a/T)/(e^(a/T) + e^(b/T)) at (T, a, b) = (1, −800, −801) 0 for 0.1966; tests/test_break43.py)
_SHIFTED_DIFFERENCE_FAR = 700  # a shift c with |c| above it is left as written: e^c − 1 overflows in float64 from c ≈ 709.8


def _shift_pairs(node):
    """(i, j, k, F, a, b, c) for the first two terms k·F(a) and −k·F(b) of the sum ``node``, F σ or softplus,
    whose arguments differ by a number c = a − b, 0 < |c| ≤ 700 (σ: any c ≠ 0); else None."""
    terms = node.args
    for i, first in enumerate(terms):
        k, f = first.as_coeff_Mul()
        if not isinstance(f, (sigmoid, softplus)):
            continue
        for j, second in enumerate(terms):
            k2, g = second.as_coeff_Mul()
            if j == i or type(g) is not type(f) or k2 != -k:
                continue
            c = sp.expand(f.args[0] - g.args[0])
            # σ's form (1 − e^−|c|)·σ(hi)·σ(−lo) is finite for every c (e^−|c| ≤ 1): past 700 too, where σ(x) − σ(x − 701)
            # as written was 0 at x = 750 for 5.24e−22 (session 43, break43); softplus's e^c − 1 overflows past 709.8
            if c.is_Number and c != 0 and c.is_finite and (abs(c) <= _SHIFTED_DIFFERENCE_FAR or f.func is sigmoid):
                return i, j, k, type(f), f.args[0], g.args[0], c
    return None


def _shifted_difference(node):
    """k·σ(a) − k·σ(b) and k·softplus(a) − k·softplus(b), where a − b is a number c, without the subtraction:
    σ(a) − σ(b) = (e^c − 1)·σ(−a)·σ(b) (σ(a) − σ(b) = (e^−b − e^−a)·σ(a)·σ(b), and e^−a·σ(a) = σ(−a)), and
    softplus(a) − softplus(b) = log((1 + e^a)/(1 + e^b)) = log1p((e^c − 1)·σ(b)) for c > 0 (the argument in
    (0, e^c − 1): log1p of a positive number never cancels), −log1p((e^−c − 1)·σ(a)) for c < 0. Both sides are
    rounded once or twice per factor, where the written difference loses every digit once σ(a), σ(b) round to 1:
    σ(x) − σ(x − 1) is 2.2e−16 for 7.28e−17 at x = 37.67 (1.19e16 ULP in float64). Written with hi − lo = |c| > 0,
    σ's as (1 − e^−|c|)·σ(hi)·σ(−lo) and softplus's argument by :func:`_shifted_ratio`: no factor underflows where
    the result is normal."""
    if not node.is_Add:
        return None
    pair = _shift_pairs(node)
    if pair is None:
        return None
    i, j, k, func, a, b, c = pair
    rest = [t for n, t in enumerate(node.args) if n not in (i, j)]
    hi, lo, sign = (a, b, 1) if c > 0 else (b, a, -1)  # hi − lo = |c|
    if func is sigmoid:  # σ(hi) − σ(lo) = (e^−|c| − 1)·σ(−lo)·σ(hi) taken negated: no factor is below the result
        stable = -sign * (sp.exp(-abs(c)) - 1) * sigmoid(-lo) * sigmoid(hi)
    else:
        stable = sign * log1p(_shifted_ratio(hi, lo, abs(c)))
    return _Fired(sp.Add(k * stable, *rest), ["shifted-difference"])


def _shifted_ratio(hi, lo, c):
    """(e^c − 1)·σ(lo) for hi − lo = c > 0, as −expm1(−c)·e^hi·σ(−lo) where hi ≤ 0 (e^c·σ(lo) = e^hi·σ(−lo)): there
    σ(lo) underflows once lo < −745 while the product, about e^hi, is normal (softplus(x) − softplus(x − 100) was 0 at
    x = −700 for 9.86e−305, torch exact); as written where hi > 0, where lo > −c ≥ −700 and e^hi may overflow. As
    written everywhere for c ≤ 1 (the soft clip's): where the product is normal, σ(lo) ≥ e^−c·2^−1022 loses at most
    e^c/2 ≤ 1.36 ULP to the subnormal range, and the select costs 2× (float64) to 5× (float32)."""
    if c <= 1:
        return (sp.exp(c) - 1) * sigmoid(lo)
    return sp.Piecewise(((1 - sp.exp(-c)) * sp.exp(hi) * sigmoid(-lo), hi <= 0), ((sp.exp(c) - 1) * sigmoid(lo), True))


SHIFTED_DIFFERENCE = Rule(
    "shifted-difference", "σ(a) − σ(b) and softplus(a) − softplus(b) with a − b a number c (a soft clip "
    "softplus(x) − softplus(x − 1), its ∂x σ(x) − σ(x − 1)) cancel once both terms round to 1 (σ) or to a (softplus): "
    "∂x 2.2e−16 for 7.28e−17 at x = 37.67 (1.19e16 ULP in float64, torch 2.9e15), f 37 ULP at x = 34 (torch 37); "
    "σ(a) − σ(b) = (e^c − 1)·σ(−a)·σ(b) and softplus(a) − softplus(b) = log1p((e^c − 1)·σ(b)) for c > 0 "
    "(−log1p((e^−c − 1)·σ(a)) for c < 0) are products and a log1p of a positive number, with no subtraction "
    "(exact: (e^−b − e^−a)·σ(a)·σ(b) = σ(a) − σ(b), and 1 + (e^c − 1)·σ(b) = (1 + e^a)/(1 + e^b)); softplus's for "
    "0 < |c| ≤ 700, where e^c − 1 is finite, σ's for every c ≠ 0 (σ(x) − σ(x − 701) as written was 0 at x = 750 for "
    "5.24e−22); σ's difference taken with the negative shift (σ(a) − σ(b) = (1 − e^−c)·σ(a)·σ(−b) for "
    "c > 0) and, for c > 1, (e^c − 1)·σ(b) as (1 − e^−c)·e^a·σ(−b) where a ≤ 0 (e^c·σ(b) = e^a·σ(−b)), so that no "
    "factor underflows where the result is normal (σ(b) is 0 below b ≈ −745: σ(x + 100) − σ(x) and softplus(x) − "
    "softplus(x − 100) were 0 at x = −800 and −700 for ∓9.86e−305, torch exact)", local=_shifted_difference)


# ------------------------------------------------------------------ shift-gaps (issue 16, session 50, h-shift50: the
# sigmoid-weighted-exps rule's shifted Laplace and Gaussian mixtures at far points); tested in tests/test_reshift51.py

def _abs_gap(p, q, d):
    """|p| − |q| for p − q = d: d where both are ≥ 0, −d where both are ≤ 0 (d formed from the inputs, never from
    |p| and |q|, which are inf at an infinite input or rounded at a far one), as written where their signs differ
    (there |p|, |q| ≤ |d|: nothing large cancels)."""
    return sp.Piecewise((d, sp.And(p >= 0, q >= 0)), (-d, sp.And(p <= 0, q <= 0)), (sp.Abs(p) - sp.Abs(q), True))


def _degree(v) -> int:
    """The total degree of the polynomial ``v`` in its symbols (0 for a number; −1 where it is no polynomial)."""
    symbols = sorted(v.free_symbols, key=sp.default_sort_key)
    if not symbols:
        return 0
    try:
        return sp.Poly(v, *symbols).total_degree()
    except sp.PolynomialError:
        return -1


def _formed_gap(y, z):
    """(y − z with the differences of like terms taken first, whether one was): k·softplus(u) − k·softplus(−u) = k·u,
    k·|p| − k·|q| (p − q free of a symbol of p or q: |x − m| − |x − n|) by :func:`_abs_gap`, and two or more
    polynomial terms of degree 2 or more summed and factored where that gives a product (−(x − m)² + (x − n)² =
    (m − n)·(m + n − 2x), finite where (x − m)² overflows)."""
    signed = list(sp.Add.make_args(y)) + [-t for t in sp.Add.make_args(z)]
    high = [t for t in signed if not t.atoms(sp.Function) and _degree(sp.expand(t)) >= 2]
    rest = [t for t in signed if t not in high]
    terms = list(sp.Add.make_args(sp.expand(sp.Add(*rest), deep=False)))
    plain = [t for t in terms if not t.atoms(sp.Function)]
    rest = [t for t in terms if t.atoms(sp.Function)]
    out, changed = [], False
    while rest:
        t = rest.pop(0)
        k, f = t.as_coeff_Mul()
        partner = None
        if isinstance(f, softplus):
            partner = next((s for s in rest if s == -k * softplus(-f.args[0])), None)
            formed = k * f.args[0]
        elif isinstance(f, sp.Abs):
            for s in rest:
                k2, g = s.as_coeff_Mul()
                if isinstance(g, sp.Abs) and k2 == -k:
                    d = sp.expand(f.args[0] - g.args[0])
                    if d.free_symbols < f.args[0].free_symbols | g.args[0].free_symbols:
                        partner, formed = s, k * _abs_gap(f.args[0], g.args[0], d)
                        break
        if partner is None:
            out.append(t)
        else:
            rest.remove(partner)
            out.append(formed)
            changed = True
    if len(high) >= 2:  # −(x − m)² + (x − n)²: the squares' x² cancel, (m − n)·(m + n − 2x) is a product
        factored = sp.factor(sp.expand(sp.Add(*high)))
        if factored.is_Mul and len([f for f in factored.args if not f.is_number]) >= 2:
            high, changed = [factored], True
    return sp.Add(*high, *plain, *out), changed


def _shift_gaps_node(node):
    """The shift-gaps rule's form of one node (a widened body's too), or None."""
    if isinstance(node, WidenedBase):
        body = node.expanded
        formed = _shift_gaps_in(body)
        return None if formed == body else widen(formed, node.first_order, node.in_float32)
    if isinstance(node, log1p) and isinstance(node.args[0], sp.exp) and isinstance(-node.args[0].args[0], sp.Abs):
        d = (-node.args[0].args[0]).args[0]  # the logaddexp rule's log1p(e^−|x − y|)
        formed, changed = _formed_gap(d.expanded if isinstance(d, WidenedBase) else d, sp.S.Zero)
        if isinstance(d, WidenedBase) and changed:
            formed = widen(formed, d.first_order, d.in_float32)
        return log1p(sp.exp(-sp.Abs(formed))) if changed else None
    if not isinstance(node, sp.exp) or not node.args[0].is_Add:
        return None
    maxes = [t for t in node.args[0].args if isinstance(-t, sp.Max)]
    if len(maxes) != 1:
        return None
    m = -maxes[0]
    y = node.args[0] + m
    if y not in m.args:
        return None
    gaps = [_formed_gap(z, y) for z in m.args if z != y]
    if not any(c for _, c in gaps) or any(not c and g.atoms(sp.Function) for g, c in gaps):
        return None
    return sp.exp(-sp.Max(0, *[g for g, _ in gaps]))


def _shift_gaps_in(expr):
    """Every max-shifted e^(y − max(y, z, …)) of ``expr`` whose gaps z − y :func:`_formed_gap` forms, as
    e^(−max(0, z − y, …)), and the logaddexp rule's log1p(e^−|x − y|) with x − y formed so."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Max, log1p) or expr.atoms(WidenedBase)):
        return expr
    return _top_down(expr, _shift_gaps_node)


def _far_weighted_branch(node):
    """The sigmoid-weighted-exps rule's select (its shifted branch first, its condition comparing the terms with
    2⁻¹⁰⁰⁰) with :func:`_shift_gaps_in` taken in that branch alone; a widened body holding one, widened again; None
    elsewhere."""
    if isinstance(node, WidenedBase):
        body = node.expanded
        formed = _shift_gaps(body)
        return None if formed == body else widen(formed, node.first_order, node.in_float32)
    if not isinstance(node, sp.Piecewise) or len(node.args) < 2 or not node.args[0].cond.has(_WEIGHTED_TERM_TINY):
        return None
    far = _shift_gaps_in(node.args[0].expr)
    if far == node.args[0].expr:
        return None
    return sp.Piecewise((far, node.args[0].cond), *[(e, c) for e, c in node.args[1:]])


def _shift_gaps(expr):
    """:func:`_shift_gaps_in` in the shifted branches of the sigmoid-weighted-exps rule's selects only (session 51,
    h-reshift51: taken everywhere, h-shift50's form of the gaps regressed ordinary points that base's max-shift,
    infinite-shift and compensated-sum paths get right — the Laplace pair −log(e^−|x − a| + e^−|x − b|)'s ∂x 6.71e7
    ULP at (−5.0128, 0.8128, −2.1), the Gaussian mixture's ∂x 8.17 at an ordinary point; h-review50)."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Piecewise):
        return expr
    return _top_down(expr, _far_weighted_branch)


SHIFT_GAPS = Rule(
    "shift-gaps", "a max-shifted e^(y − max(y, z)) and the logaddexp rule's log1p(e^−|y − z|) subtract exponents "
    "that are each large where their difference is not (the sigmoid-weighted-exps rule's Laplace mixture "
    "−log(σ(a)·e^−|x − m₁| + σ(−a)·e^−|x − m₂|): y = −|x − m₁| − softplus(−a)): at |x| ≫ 1 each exponent is "
    "rounded (∂m₁ 2,954 ULP in float64 at |x| in [700, 3000]; torch NaN); the Gaussian mixture's squares, "
    "−(x − m)², at |x| up to 1e150 likewise. y − max(y, z, …) = −max(0, z − y, …) with each gap z − y formed from the inputs, exactly: "
    "k·softplus(u) − k·softplus(−u) = k·u, |p| − |q| = ±(p − q) where p, q have one sign (p − q free of a symbol: "
    "(x − m₂) − (x − m₁) = m₁ − m₂), and a polynomial part whose leading terms cancel factored (−(x − m)² + "
    "(x − n)² = (m − n)·(m + n − 2x)); as written where a gap keeps a function. Only in the sigmoid-weighted-exps "
    "rule's shifted branch (its far elements): elsewhere the logaddexp, max-shift, infinite-shift and compensated-sum "
    "paths are right, and these gaps were not (taken everywhere, ∂x of −log(e^−|x − a| + e^−|x − b|) 6.71e7 ULP at "
    "(−5.01, 0.81, −2.1), where base gave 0.05)",
    apply=_shift_gaps, fired=_rewrote)
