"""Exponential rules: rounded-argument, exp-dominant, shifted-argument, exp-product-cancel, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: rounded-argument,
exp-dominant, shifted-argument, one-minus-scaled-exp, exp-product-cancel, exp-into-underflowing-sum.
"""
from __future__ import annotations

import math

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...special import exp_shift, ndtr, nexpsq, nexpsq2, softplus
from .core import _Final, _Fired, _rewrote, Rule
from .widening import _bottom_up, _KEPT, _top_down, _top_down_having, Grouped, ungroup, unwiden, widen, WidenedBase
from .cancellation import _bounded_argument, _exact_operand
from .series import _exact_argument
from .limits import _exponent_of, _scaled_exp_factors
from .softpluses import _polynomial_of_exponentials, _ROUNDED_ARGUMENT_FROM


# ------------------------------------------------------------------ rounded-argument (issue 16: e^v and σ(v) of a
# v that the generated code rounds: GELU-tanh with its decimal constant, σ(0.0714x³ + 1.5958x): 543 ULP in float64
# at x = −20; e^(e^x − u)'s ∂x: 212 ULP at x = 0.3, u = 709); tested in tests/test_rules9.py


_GAUSSIAN_ARGUMENT_FROM = sp.Rational(1, 2)  # |v| (e^(−v²), e^(−v²/2)) from which v is in double-word


def _scaled_rounded_exp(node):
    """c·{e^v if |v| ≤ 2; f64(e^v) otherwise} (this rule's e^v, a number 0 < |c| < 1 beside it) as
    {c·e^v if |v| ≤ 2; f64(c·e^v) otherwise}: the widened e^v overflows where c·e^v need not (−e^(x²)/3 at x² = 710.5
    was −inf for −1.228e308, e^(e^x)/2 at e^x = 709.9 inf for 1.011e308; session 30); the double word takes
    e^(v + log|c|). None for anything else."""
    if not node.is_Mul:
        return None
    c, rest = node.as_coeff_Mul()
    if not (c.is_Number and 0 < abs(c) < 1 and isinstance(rest, sp.Piecewise) and len(rest.args) == 2):
        return None
    (near, cond), (far, other) = rest.args
    if not (other == True and isinstance(near, sp.exp) and isinstance(far, WidenedBase)  # noqa: E712
            and getattr(far, "first_order", False) and far.body == near):
        return None
    return sp.Piecewise((c * near, cond), (widen(c * near, first_order=True), True))


def _rounded_arguments(expr):
    """Every e^v and σ(v) of ``expr`` whose argument v is rounded before the function (a sum, a product by a
    number that is not a power of 2, a power, another function) and not bounded, as a widened node (v in
    double-word arithmetic in a float64 kernel, then e^(v_hi + v_lo); in float64 in a float32 one), outside
    the widened sums (already so) and the registry's own helpers."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.exp, expm1, sigmoid, nexpsq, nexpsq2, sp.erfc, ndtr):
        return expr
    # an expm1(u) summed beside a term of u's inputs is the exp-dominant rule's (log(e^(x·y) − x·y − 1) at (40, 40):
    # u + log1p(…·e^−u), its ∂x y·expm1(u)/(expm1(u) − u)); taken here first (h-worseb39's expm1), f was log(inf) = inf
    # for 1600 and ∂x inf/inf = NaN for 40 (found by the lead's CI of the merge): every occurrence of it left as written
    exp_dominants = {m for add in expr.atoms(sp.Add) for m in (n for t in add.args for n in sp.Mul.make_args(t)
                                                         if isinstance(n, expm1))
               if any(not t.has(expm1) and t.free_symbols & m.args[0].free_symbols for t in add.args)}

    def rewrite(new):
        if isinstance(new, expm1) and new in exp_dominants:
            return new
        scaled = _scaled_rounded_exp(new)
        if scaled is not None:
            return scaled
        if isinstance(new, (sp.erfc, ndtr)) and new.free_symbols and not new.has(sp.Indexed):
            # erfc(v) turns a relative error ε of v into about 2v²·ε of its value for v ≫ 1 (erfc(p − t): 422 ULP in
            # float64 at p − t = 26.4): from v = 1 (there 2v²·ε is about 2 ULP), erfc(v_hi) − 2/√π·e^(−v_hi²)·v_lo;
            # Φ(v) = erfc(−v/√2)/2 likewise into |v|·φ(v)/Φ(v)·ε ≈ v²·ε for v ≪ −1 (Φ(x·y) 641 ULP in float64 at
            # x·y = −35.1; log Φ(x·y) = log1p(−Φ(−x·y)), the log-gaussian-tail rule's for x·y > 0, 686 ULP at x·y = 37):
            # Φ(v_hi) + φ(v_hi)·v_lo on every element, no select: Φ's erfc (math.erfc entry by entry in NumPy) is most
            # of its cost, the two-product and e^(−v_hi²/2) little, and a select computes both of its pieces (a third Φ)
            v = unwiden(new.args[0])
            if not _exact_argument(v) and not _bounded_argument(v) and _polynomial_of_exponentials(v):
                if isinstance(new, ndtr):
                    return widen(ndtr(v), first_order=True)
                return sp.Piecewise((new, v <= 1), (widen(sp.erfc(v), first_order=True), True))
            return new
        if isinstance(new, (sp.exp, expm1, sigmoid, nexpsq, nexpsq2)) and new.free_symbols and not new.has(sp.Indexed):
            v = unwiden(new.args[0])  # a widened sum rounded once to float64 is still rounded
            # e^(−v²) (erf′, Φ′) of a softplus too: erf(softplus x)′ = 2/√π·e^(−softplus(x)²)·σ(x) is 2v²·ε_v off
            # (114 ULP at x = 20 in float64) and its v ≤ 27 (beyond, e^(−v²) is 0): _dw_softplus on that band only
            gaussian = isinstance(new, (nexpsq, nexpsq2)) and _polynomial_of_exponentials(v.replace(
                softplus, lambda a: sp.exp(a)))
            # a widened sum's double word is computed already (tanhshrink's, log(e^ts(x) + e^y)'s e^(ts(x) − m), whose
            # f64 exponent near −88.6 was ∂x 32.6 ULP in float64 at (0.7, 88.7), torch 1.44; h-comp31): e^ of it too
            widened = isinstance(new, sp.exp) and isinstance(new.args[0], WidenedBase) and not getattr(
                new.args[0], "first_order", False)
            if not _exact_argument(v) and not _bounded_argument(v) and (
                    gaussian or widened or _polynomial_of_exponentials(v)):
                # only where v's rounding matters: its effect on e^v is |v| times its relative error, on σ(v)
                # |v|·σ(−v) (below 0.28 for v ≥ 0); within |v| ≤ 2 the written form (σ(w·x + b) in float64
                # NumPy: double-word on every element was 55× the written form's time, 2.5 s for 1e6)
                # (e^(−v²): 2v²·ε_v, below a quarter ULP within |v| ≤ 1/2)
                # (expm1(v): v·e^v/(e^v − 1), above 1 only for v > 0 and near v for v > 2; below −2 under 0.32)
                near = (v >= -_ROUNDED_ARGUMENT_FROM) if isinstance(new, sigmoid) else (
                    v <= _ROUNDED_ARGUMENT_FROM) if isinstance(new, expm1) else (
                    sp.Abs(v) <= (_GAUSSIAN_ARGUMENT_FROM if isinstance(new, (nexpsq, nexpsq2)) else _ROUNDED_ARGUMENT_FROM))
                w = _inputs_summed_first(v) if isinstance(new, sp.exp) else v
                if isinstance(new, sp.exp) and w.is_Add:
                    near = _summed_size(w) <= _ROUNDED_ARGUMENT_FROM
                elif w != v:
                    near = near.subs(v, w)
                new = sp.Piecewise((type(new)(w), near), (widen(type(new)(v), first_order=True), True))
        return new

    return _bottom_up(expr, rewrite, (WidenedBase, sp.Indexed))


def _summed_size(w):
    """Σ|t| over the terms of the sum ``w`` (its inputs' group one term): the size at which w's sum rounds. e^w's written
    form is kept where this is within 2, not |w|: a sum that cancels to |w| ≤ 2 keeps the rounding of its large terms,
    an absolute error of e^w's relative (e^(x² − y²) at x = 1000.7, y = 1000.7000001: 85,290 ULP in float64; ∂x of
    exp(softplus(2y)/2 − softmax) at (0.7, 88.7), e^(x + y + softplus(2y)/2 − 2·max(x, y) − …), 77 ULP, torch 0.45;
    h-search34)."""
    return sp.Add(*[sp.Abs(t) for t in w.args])


def _inputs_summed_first(v):
    """v = a_1 + … + a_k + R (k ≥ 2 exact operands: inputs, their negations) as (a_1 + … + a_k) + R, the inputs summed
    first, for the written branch of e^v (|v| ≤ 2): SymPy flattens 1/(xy) − (x − y) into y − x + 1/(xy), and the printed
    y + 1/(xy) rounds at |y| before x cancels it (exp(1/(xy) − (x − y)) at x = y = 102878.3: 32,296 ULP in float64,
    torch 0.30; h-comp31); the inputs' sum is exact where they cancel (Sterbenz) and rounds once at its own size
    elsewhere. v itself where it has fewer than two such terms or nothing else."""
    if not v.is_Add:
        return v
    exact = [t for t in v.args if _exact_operand(t)]
    if len(exact) < 2 or len(exact) == len(v.args):
        return v
    return sp.Add(Grouped(sp.Add(*exact)), *[t for t in v.args if t not in exact])


ROUNDED_ARGUMENT = Rule(
    "rounded-argument", "e^v and σ(v) turn an absolute error of v into a relative one: v = e^x − u rounded at "
    "|v| ≈ 708 is 500 ULP of e^v (∂x of e^(e^x − u): 212 ULP in float64 at x = 0.3, u = 709), and GELU-tanh "
    "written with its decimal constant, x·σ(0.0714x³ + 1.596x), 543 ULP at x = −20; v in double-word arithmetic "
    "(v_hi + v_lo, about 106 bits) and e^v_hi·(1 + v_lo), σ(v_hi)·(1 + σ(−v_hi)·v_lo) (first order in v_lo, "
    "below half an ulp of v_hi) in a float64 kernel, in float64 in a float32 one, "
    "where v is rounded (a sum, a product by a number not a power of 2, a power, e^) and not bounded by its "
    "form (a v holding softplus, log, σ or tanh is left as written: their double-word is some 400 operations), "
    "and only where |v| > 2 (e^v) or v < −2 (σ(v)): within, v's rounding costs e^v at most "
    "twice its relative error (σ(v): |v|·σ(−v), below 0.28 for v ≥ 0), and the written form is kept; for e^v of a "
    "sum, where the sum of its terms' sizes Σ|t| is within 2 (a sum that cancels to |v| ≤ 2 keeps its large terms' "
    "rounding: e^(x² − y²) at x = 1000.7, y = 1000.7000001 was 85,290 ULP in float64); "
    "e^(−v²) and e^(−v²/2) (erf′, Φ′: the exp-square rule's) of a rounded v the same from |v| = 1/2, v holding softplus "
    "too (erf(softplus x)′ = 2/√π·e^(−softplus(x)²)·σ(x), 114 ULP at x = 20 in float64, torch 97: v_hi² = p + e by a "
    "two-product, e^(−p)·(1 − e − 2·v_hi·v_lo); e^(−v²) is 0 beyond v ≈ 27, so the double-word softplus runs on a "
    "narrow band); erfc(v) of a rounded v from v = 1 (it turns v's relative error into 2v² times it: erfc(p − t) 422 "
    "ULP in float64 at p − t = 26.4), erfc(v_hi) − 2/√π·e^(−v_hi²)·v_lo; Φ(v) of a rounded v likewise (|v|·φ(v)/Φ(v) ≈ v² "
    "times v's relative error for v ≪ −1: Φ(x·y) 641 ULP in float64 at x·y = −35.1, and log Φ(x·y) = log1p(−Φ(−x·y)) "
    "of the log-gaussian-tail rule 686 ULP at x·y = 37, torch.special.log_ndtr 1444), Φ(v_hi) + φ(v_hi)·v_lo on every "
    "element (Φ's erfc is most of its cost: a select would compute Φ twice); expm1(v) of a rounded v (the expm1 rule's "
    "e^v − 1) from v = 2, where it is e^v's error (a Gumbel NLL's ∂μ, expm1((μ − x)/b)/b: 181 ULP in float64 at "
    "x = −709, b = 2.5, μ = 0, torch 203), (e^v_hi − 1) + e^v_hi·v_lo (below v = −2 it is −1 to within e^v)",
    apply=_rounded_arguments, fired=_rewrote)


# ------------------------------------------------------------------ exp-dominant (issue 16, session 22: log(e^x − 1 − x)
# is inf from x = 710 in float64 (89 in float32) where it is x to 1e−300, its derivative (e^x − 1)/(e^x − 1 − x)
# inf/inf = NaN where it is 1); tested in tests/test_logser22.py

_EXP_DOMINANT_FROM = 64  # u from which the scaled forms are taken: e^−u·P(u) ≤ 2⁻⁸⁰ there for |P(u)| ≤ u³, e^u finite in
# float32 below it (88.7): the written form, exact where it does not overflow, kept below
_EXP_DOMINANT_PAST = 1024  # u from which e^−u = 0 in float64 (from 745): P(u)·e^−u left out, as P(u) may overflow
# there (x² at x = 1e200: inf·0 = NaN)
_EXP_DOMINANT_RANGE = 80  # |log| of a float32 partial product the written form may reach below the switch: float32
# is normal from e^−87.3 to e^88.7, which leaves e^7 ≈ 1,100 for the other factors (session 25)
_EXP_DOMINANT_LOWEST = 32  # a product's switch is never below this (the NumPy emitter's far blocks start at 32)


def _product_switch(factors):
    """The u from which a product ∏A_i^k_i of sums A_i = c_i·e^u + P_i takes its scaled form: 64, or below it where
    the written form's partial products leave float32 before u = 64 (session 25: float32 ∂ of (e^x + x²)^(−3/4),
    −(3/4)(e^x + 2x)·(e^x + x²)^(−7/4), −0 from x ≈ 50.7 where the 7/4 power overflows, truth −8.66e−18 at 52;
    −sinh x/(2(cosh x + 1)^(3/2)) −0 from 59): a partial product of the factors of one sign of k_i is about
    e^(Σ|k_i|·(u + log c_i)), kept within e^80 (:data:`_EXP_DOMINANT_RANGE`), at 45 for Σ|k_i| = 7/4 and 53 for 3/2,
    64 for |k| = 1 (the quotients), never below 32 (:data:`_EXP_DOMINANT_LOWEST`). ``factors``: (c_i, k_i)."""
    switch = _EXP_DOMINANT_FROM
    for side in (1, -1):
        ks = [(c, abs(k)) for c, k in factors if k * side > 0]
        total = sum(k for _, k in ks)
        if total:
            room = _EXP_DOMINANT_RANGE - sum(float(k) * max(0.0, math.log(abs(float(c)))) for c, k in ks)
            switch = min(switch, math.floor(room / float(total)))
    return sp.Integer(max(_EXP_DOMINANT_LOWEST, switch))


def _exp_dominant_from(c, wide):
    """The u from which the scaled forms are taken: 64 (:data:`_EXP_DOMINANT_FROM`); for a widened sum (the widen
    rule's compensated e^x/2 + y, which cancels against y ≈ −e^x/2 wherever c·e^u is a float64) the last whole u
    where c·e^u is finite in float64, floor(709.78 − log c): a float32 block holding a widened sum computes in
    float64 (both backends), and the far form's c + y·e^−u cancels there as well, in a double word whose e^−u has
    lost its lo part to underflow from u ≈ 670 on."""
    if not wide:
        return sp.Integer(_EXP_DOMINANT_FROM)
    return sp.Integer(math.floor(math.log(1.7976931348623157e308) - max(0.0, math.log(abs(float(c))))))


_EXP_DOMINANT_BOUND = 2 ** 64  # the largest coefficient of P (and degree 64 in u): past u = 1024, |P| ≤ 2⁶⁴·u⁶⁴ + 2⁶⁴
# is below 2⁻⁶⁰·e^u (64·log u + 44 < u − 42 there), and a term c·y of another input y (|y| ≤ 1.8e308 = e^709.8)
# below e^(754 − u)
_EXP_FUNCTIONS = (sp.exp, expm1, sp.sinh, sp.cosh)


def _beside_exp(term, u) -> bool:
    """Whether ``term`` of P is negligible beside e^u past u = 1024, wherever it is a float: a polynomial in u of
    degree ≤ 64 (x, u = x; x·y, u = x·y; −3x) or a number times an input free of u's inputs (y in e^x/2 + y), its
    coefficients at most 2⁶⁴ in magnitude; not y² (inf in float64 where it is 1e616 > e^1024), nor an
    exponential."""
    if term.has(*_EXP_FUNCTIONS):
        return False
    c, rest = term.as_coeff_Mul()
    if abs(c) > _EXP_DOMINANT_BOUND:
        return False
    if not term.free_symbols & u.free_symbols:
        return rest == 1 or rest.is_Symbol
    t = sp.Dummy("t")
    k, s = u.as_coeff_Mul()
    in_t = term.xreplace({s: t / k}) if s.is_Symbol else term.subs(u, t)
    if in_t.free_symbols != {t} or not in_t.is_polynomial(t):
        return False
    poly = sp.Poly(sp.expand(in_t), t)
    return poly.degree() <= 64 and all(abs(q) <= _EXP_DOMINANT_BOUND for q in poly.coeffs())


def _same_value(a, b) -> bool:
    """Whether ``a`` and ``b`` are one expression written two ways (x·(e^x/x − 3) and e^x − 3x)."""
    try:
        return sp.expand(sp.numer(sp.together(a - b))) == 0
    except (TypeError, ValueError, RecursionError, sp.PolynomialError):
        return False


def _outside_scaled(cond, u) -> bool:
    """Whether ``cond`` (of the one input s in u = k·s, k ≠ 0) holds nowhere in 32 < u ≤ 1024, where a scaled form
    may be taken (|x| < log 2, x > 3.4e38: the branches the exp-minus rule takes there; u = −x on the left side)."""
    k, s = u.as_coeff_Mul()
    if not (s.is_Symbol and k.is_nonzero and cond.free_symbols == {s}):
        return False
    try:
        low, high = sp.Integer(_EXP_DOMINANT_LOWEST) / k, sp.Integer(_EXP_DOMINANT_PAST) / k
        window = sp.Interval.Lopen(low, high) if k.is_positive else sp.Interval.Ropen(high, low)
        return cond.as_set().intersect(window) is sp.S.EmptySet
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        return False


def _last_branch(e):
    """``e``'s value as written where ``e`` is a select another rule made of it (its last branch, recursively: the
    exp-minus rule's x·(e^x/x − 3) for x > 64 beside e^x − 3x), with the selects looked through; ``e`` otherwise."""
    selects = []
    while isinstance(e, sp.Piecewise) and e.args[-1].cond == sp.true:
        selects.append(e)
        e = e.args[-1].expr
    return e, selects


def _selects_agree(selects, last, u) -> bool:
    """Whether each select of ``selects`` is ``last`` wherever 64 < u ≤ 1024: each other branch is ``last`` written
    another way, or is taken nowhere there (a select of the user's own, whose branches differ, is not looked
    through)."""
    return all(_same_value(b, last) or _outside_scaled(c, u)
               for pw in selects for b, c in pw.args[:-1])


def _ungrouped(e):
    """``e`` less any :class:`Grouped` around it (the same value)."""
    while isinstance(e, Grouped):
        e = e.args[0]
    return e


def _exp_dominant(a, even=True, side=1, signed=False):
    """(u, c, P) where ``a`` = c·e^u + P with c > 0 a number, u an expression of inputs (x, 2x, x·y, −x) and P a
    sum of terms :func:`_beside_exp` takes (c·expm1(u) counts as c·e^u − c, c·sinh(u) as (c/2)·e^u − (c/2)·e^−u,
    c·cosh(u) as (c/2)·e^|u| + (c/2)·e^−|u|: cosh is even, so its u is |u| and the sum is dominant on both sides,
    log(cosh x − 1) at x = −1000 as at 1000); ``a`` may be a positive number times such a sum ((e^x + 3)/3, as the
    affine-root rule writes e^x/3 + 1) or a select another rule made of one (:func:`_last_branch`). None for any
    other node. ``even`` False: cosh's u as u (beside sinh u in a product: (cosh x − 1)/(sinh x − x)).

    Session 26: several exponential functions of one argument ±w (e^x + cosh x = (3/2)·e^x + (1/2)·e^−x) are
    summed into one c·e^u (:func:`_exp_coefficients`), u = w; ``side`` −1: u = −w, the sum's far side on the left
    (1 + sinh x = −(1/2)·e^−x + 1 + (1/2)·e^x for x ≪ 0); ``signed``: c < 0 taken too (a factor of a product with
    a whole power: its sign is a number)."""
    written, selects = _last_branch(a)
    scale, summed = sp.S.One, _ungrouped(written)
    if summed.is_Mul:
        r, inner = summed.as_coeff_Mul()
        inner = _ungrouped(inner)  # the affine-root rule's (e^x + 3)/3, its sum grouped
        if r.is_positive and inner.is_Add:
            scale, summed = r, inner
        elif r.is_positive and any(f.is_Add and f.has(*_EXP_FUNCTIONS) for f in sp.Mul.make_args(inner)):
            spread = sp.expand_mul(inner)  # the exp-minus rule's x·(e^x/x − 3) for x > 64, under a root
            if spread.is_Add:
                scale, summed = r, spread
    terms = [scale * term for term in sp.Add.make_args(summed)]
    exps = [term for term in terms
            if isinstance(term.as_coeff_Mul()[1], _EXP_FUNCTIONS) and term.as_coeff_Mul()[1].args[0].free_symbols]
    if side == 1 and len(exps) <= 1:
        found = _one_exp_dominant(terms, even, signed)
    else:
        found = _exp_coefficients(terms, exps, side, signed)
    if found is None:
        return None
    far, rest, argument = found[0], found[3], found[4]
    if not all(_beside_exp(term, argument) for term in rest) or not _selects_agree(selects, written, far):
        return None
    return far, found[1], sp.Add(*rest, *found[2])


def _one_exp_dominant(terms, even, signed):
    """(u, c, companions, rest, w) of a sum with one exponential function c·E(w) (c > 0, or ≠ 0 where ``signed``):
    :func:`_exp_dominant`'s u (|w| for an even cosh), c, the terms of P that E(w) brings and the others; None
    without one."""
    dominant, rest, companions, far = None, [], [], None
    for term in terms:
        c, f = term.as_coeff_Mul()
        if isinstance(f, _EXP_FUNCTIONS) and dominant is None and (c > 0 or signed and c != 0) \
                and f.args[0].free_symbols:
            u = f.args[0]
            far = sp.Abs(u) if even and isinstance(f, sp.cosh) else u
            if isinstance(f, (sp.sinh, sp.cosh)):
                c = c / 2
                companions.append((1 if isinstance(f, sp.cosh) else -1) * c * sp.exp(-far))
            dominant = (u, c)
            if isinstance(f, expm1):
                companions.append(-c)
        else:
            rest.append(term)
    if dominant is None:
        return None
    return far, dominant[1], companions, rest, dominant[0]


def _exp_coefficients(terms, exps, side, signed):
    """(u, c, companions, rest, w) of a sum of exponential functions of one argument ±w and other terms: each written
    in e^w, e^−w and 1 (c·e^(±w), c·expm1(±w) = c·e^(±w) − c, c·sinh(±w) = ±(c/2)·(e^w − e^−w), c·cosh(±w) =
    (c/2)·(e^w + e^−w)) and their coefficients summed: u = w (``side`` 1) or −w (−1), c the coefficient of e^u
    (> 0, or ≠ 0 where ``signed``), the companions those of e^−u and 1. None where two arguments differ otherwise,
    or where c is 0 (e^x − cosh x − sinh x)."""
    if not exps:
        return None
    w = exps[0].as_coeff_Mul()[1].args[0]
    w = -w if w.could_extract_minus_sign() else w  # x for e^x − expm1(−x) as for e^x + e^−x: side 1 is x ≫ 0
    up, down, constant = sp.S.Zero, sp.S.Zero, sp.S.Zero
    for term in exps:
        c, f = term.as_coeff_Mul()
        v = f.args[0]
        if v == w:
            s = 1
        elif sp.expand(v + w) == 0:
            s = -1
        else:
            return None
        if isinstance(f, (sp.exp, expm1)):
            up, down = (up + c, down) if s == 1 else (up, down + c)
            if isinstance(f, expm1):
                constant -= c
        elif isinstance(f, sp.sinh):
            up, down = up + s * c / 2, down - s * c / 2
        else:
            up, down = up + c / 2, down + c / 2
    u, c, other = (w, up, down) if side == 1 else (-w, down, up)
    if not (c > 0 or signed and c != 0):
        return None
    rest = [term for term in terms if term not in exps]
    return u, c, [other * sp.exp(-u), constant], rest, w


def _dominant_sum(a, even=True, side=1, signed=False):
    """(u, c, P, wide): :func:`_exp_dominant` of ``a``, or of the body of a widened node ``a`` (wide: the widen
    rule's compensated e^x/2 + y, which cancels against y ≈ −e^x/2 where e^x/2 is finite; its right side only);
    None otherwise."""
    written, selects = _last_branch(a)
    if isinstance(written, WidenedBase):
        found = _exp_dominant(written.expanded, even) if side == 1 else None
        if found is None or not _selects_agree(selects, written, found[0]):
            return None
        return (*found, True)
    found = _exp_dominant(a, even, side, signed)
    return None if found is None else (*found, False)


def _has_exp(e) -> bool:
    """Whether ``e`` holds an exponential, inside a widened node's body too."""
    return e.has(*_EXP_FUNCTIONS) or any(w.expanded.has(*_EXP_FUNCTIONS) for w in e.atoms(WidenedBase))


def _exp_scaled(u, c, p, wide=False):
    """e^−u·(c·e^u + P) = c + P·e^−u, with c·expm1(u)·e^−u's −c·e^−u inside P; widened where the sum was (a
    compensated c + y·e^−u: y·e^−u ≈ −c where the sum cancels)."""
    if p == 0:
        return c
    if wide:  # (P·e^(−u/2))·e^(−u/2): e^−u near 709 has lost its lo part to underflow (863 ULP at x = 709.2,
        # y = −0.999·e^x/2, where the sum cancels), e^(−u/2) keeps it and so does P·e^(−u/2) (≤ 1.8e308·e^−32)
        return widen(c + Grouped(p * sp.exp(-u / 2)) * sp.exp(-u / 2))
    return c + Grouped(p * sp.exp(-u))


def _dominant_factor(f, even=True, side=1):
    """(u, c, P, wide, k) for a factor f = A^k (k a number; or a select another rule made of it, 1/(e^x − 3x) as
    the exp-minus rule writes it) with A as :func:`_dominant_sum` takes it (c of either sign where k is whole);
    None for any other factor."""
    written, selects = _last_branch(f)
    base, k = (written.base, written.exp) if written.is_Pow and written.exp.is_Rational else (written, sp.S.One)
    found = _dominant_sum(base, even, side, signed=k.is_Integer) if _has_exp(base) else None
    if found is None or not _selects_agree(selects, written, found[0]):
        return None
    return (*found, k)


def _exp_power(u, q):
    """e^(q·u) for a fraction |q| < 1, the exponent exact: (e^(u/2^j))^(q·2^j) with 2^j the power of 2 from 1/|q|
    to 2/|q| (u/2^j exact; e^(u/2^j) finite in float32 wherever e^(q·u) is a float32 number, to u = 88.7·2^j).
    e^(−x/3) as exp(−x/3) rounds x/3 first: 59 ULP at x = 709, e^(−x/3) being that relative error times x/3;
    (e^(x/4))^(−4/3) raises e^(x/4)'s rounding to 4/3 (the printer's exact rational powers)."""
    j = max(1, math.ceil(math.log2(1 / abs(q))))
    root, r = sp.exp(u / 2 ** j), q * 2 ** j
    return root ** r if abs(r) == 1 else Grouped(root) ** r


def _exp_dominant_node(node):
    """log(c·e^u + P) → u + log c + log1p(P·e^−u/c); A^q (q a fraction, |q| < 1: √(e^x − 1 − x)) →
    e^(qu)·(c + P·e^−u)^q; a product ∏A_i^k_i·G (A_i exp-dominant in one u, G free of exponentials, Σk_i = 0 or a
    fraction of magnitude below 1; sinh v as sign(v)·sinh|v| where another factor's cosh v is at |v|) →
    e^(u·Σk_i)·∏(e^−u·A_i)^k_i·G; each for u > 64, the node below, u + log c, e^(qu)·c^q and e^(u·Σk_i)·∏c_i^k_i·G
    past u = 1024. A widened sum (the widen rule's e^x/2 + y) keeps c + P·e^−u widened, log(c + P·e^−u) for the
    log. None for any other node."""
    if isinstance(node, (sp.log, log1p)):
        return _both_sides(lambda side: _dominant_log(node, side))
    if node.is_Pow and node.exp.is_Rational and not node.exp.is_Integer and abs(node.exp) < 1:
        return _both_sides(lambda side: _dominant_power(node, side))
    if node.is_Pow and node.exp == -1:
        return _widened_reciprocal(node)
    if not node.is_Mul:
        return None
    return _both_sides(lambda side: side == 1 and _dominant_product(node, True) or _dominant_product(node, False, side))


def _both_sides(select):
    """One select of ``select(1)``'s far branches (u > 1024, u > 64, the right side) and ``select(−1)``'s (the left
    side, −u in u's place: e^x + cosh x is (1/2)·e^−x-dominant for x ≪ 0), the node last; either alone where the
    other is None; None where both are. The left side is not asked for where the right side's u is |w| (an even
    cosh: both sides already)."""
    right = select(1) or None
    if right is not None and right.args[-2].cond.has(sp.Abs):
        return right
    left = select(-1) or None
    if right is None or left is None:
        return right or left
    return sp.Piecewise(*right.args[:-1], *left.args)


def _plain_log1p(a) -> bool:
    """Whether log1p(``a``) is left to the rules that made it: ``a`` c·e^u alone (softplus's log1p(e^x)) or free of
    the exponential functions (log1p(x²))."""
    written = _ungrouped(_last_branch(a)[0])
    return not _has_exp(written) or isinstance(written.as_coeff_Mul()[1], sp.exp)


def _dominant_log(node, side):
    """:func:`_exp_dominant_node` of log(A) or of log1p(A) (the log1p rule's log(1 + A): log(cosh x + 1), log(1 +
    e^x − x)) on one ``side``."""
    if isinstance(node, log1p):
        # the log1p rule's log1p(A), A a select another rule made (the exp-minus rule's e^x − x), looked through
        written, selects = _last_branch(node.args[0])
        if _plain_log1p(written):
            return None
        found = _dominant_sum(written + 1, side=side)
        if found is None or not _selects_agree(selects, written, found[0]):
            return None
    else:
        found = _dominant_sum(node.args[0], side=side)
    if found is None or found[2] == 0:
        return None
    u, c, p, wide = found
    if wide:
        far = u + sp.log(_exp_scaled(u, c, p, wide))
    else:
        far = u + sp.log(c) + log1p(Grouped(Grouped(p * sp.exp(-u)) / c))
    near = node
    if p == 1 and not wide and _ungrouped(node.args[0]).has(sp.exp) and not _ungrouped(node.args[0]).has(
            expm1, sp.sinh, sp.cosh) and not isinstance(node, log1p):
        near = log1p(c * sp.exp(u))  # log(e^x/3 + 1), which the affine-root rule wrote log((e^x + 3)/3): 0 at
        # x = −70 (truth 1.3e−31), 11 ULP at −3
    return sp.Piecewise((u + sp.log(c), u > _EXP_DOMINANT_PAST), (far, u > _exp_dominant_from(c, wide)),
                        (near, True))


def _widened_reciprocal(node):
    """1/A for A the widen rule's compensated c·e^u + y (∂y of log(e^x/2 + y)) → e^(−u/2)·(e^(−u/2)/(c + y·e^−u)),
    the sum scaled as :func:`_exp_scaled` widens it, from the last u where c·e^u is a float64 on (below it the
    written compensated sum), 0 past u = 1024 (e^−u is 0 in float64 there, the sum's sign that of c > 0). e^−u
    whole is subnormal from u = 708.4 and the quotient's truth need not be (9.89e−306 at x = 709.9, y =
    −1.0097e308, where the sum cancels to 1.0e305); e^(−u/2) is normal to u = 1416. None for any other node (a
    sum that is not widened does not cancel there: its reciprocal's truth is below e^−u)."""
    if not isinstance(_last_branch(node.base)[0], WidenedBase):
        return None
    found = _dominant_sum(node.base)
    if found is None or found[2] == 0:
        return None
    u, c, p, _ = found
    half = sp.exp(-u / 2)
    return sp.Piecewise((sp.S.Zero, u > _EXP_DOMINANT_PAST),
                        (half * Grouped(half / _exp_scaled(u, c, p, True)), u > _exp_dominant_from(c, True)),
                        (node, True))


def _dominant_power(node, side):
    """:func:`_exp_dominant_node` of A^q (q a fraction, |q| < 1) on one ``side``."""
    found = _dominant_sum(node.base, side=side) if _has_exp(node.base) else None
    if found is None or found[2] == 0:
        return None
    u, c, p, wide = found
    q = node.exp
    return sp.Piecewise((_exp_power(u, q) * c ** q, u > _EXP_DOMINANT_PAST),
                        (_exp_power(u, q) * _exp_scaled(u, c, p, wide) ** q, u > _exp_dominant_from(c, wide)),
                        (node, True))


def _dominant_product(node, even, side=1):
    """:func:`_exp_dominant_node` of a product; ``even`` False: cosh's u as u (:func:`_exp_dominant`); ``side`` −1:
    its left side (∂ log(cosh x + x) = (1 + sinh x)/(x + cosh x), NaN below x = −710.5 before session 26, truth
    −1: (−1/2 + (1/2 + e^x)·e^x)/(1/2 + (x + e^x/2)·e^x) with u = −x)."""
    scaled, total, us, rest, limit, starts, powers = [], 0, set(), [], sp.S.One, [], []
    for f in node.args:
        base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if even and isinstance(base, sp.sinh):  # odd: sign(v)·sinh|v|, dominant on both sides beside cosh v
            v = base.args[0]
            rest.append(sp.sign(v) ** k)
            f = sp.sinh(sp.Abs(v)) ** k
        found = _dominant_factor(f, even, side) if _has_exp(f) else None
        if found is not None:
            u, c, p, wide, k = found
            us.add(u)
            starts.append((_exp_dominant_from(c, True), wide))
            total += k
            scaled.append(_exp_scaled(u, c, p, wide) ** k)
            limit *= c ** k
            powers.append((c, k))
        elif _has_exp(f):
            return None
        else:
            rest.append(f)
    if len(scaled) < 2 or len(us) != 1 or total != 0 and (total.is_Integer or abs(total) >= 1):
        return None
    (u,) = us
    grown = _exp_power(u, total) if total != 0 else 1  # e^(u/2) for (e^x − 1)/(2√(e^x − 1 − x)), finite to 1419
    # with a widened factor, the written product up to where its first factor overflows float64
    # (a float32 block with a widened sum computes in float64); otherwise from where the written form's partial
    # products would leave float32's range
    start = min(at for at, _ in starts) if any(wide for _, wide in starts) else _product_switch(powers)
    return sp.Piecewise((grown * sp.Mul(*rest) * limit, u > _EXP_DOMINANT_PAST),
                        (grown * sp.Mul(*rest, *scaled), u > start), (node, True))


def _exp_dominant_forms(expr):
    """Every log, fractional power and product of ``expr`` that :func:`_exp_dominant_node` rewrites, rewritten
    (top down)."""
    if not isinstance(expr, sp.Expr) or not _has_exp(expr):
        return expr

    def new_form(node):
        if isinstance(node, sp.Expr) and (isinstance(node, (sp.log, log1p)) or node.is_Mul or node.is_Pow) \
                and node.free_symbols:
            return _exp_dominant_node(node)
        return None

    return _far_first(_otherwise_kept(_top_down(expr, new_form, leaves=_KEPT)))


def _far_first(expr):
    """Each select whose last branch is this rule's select, with its far branches (u > 64, u > 1024; −u > 64, −u >
    1024 on the left side) first where no
    other branch's condition meets them (the vanishing-series rule's |x| < 1.16 beside x > 64): an output whose
    branches but the last are all far is computed on ordinary data by its last branch alone, the far ones only on the
    elements past them (NumPy's far blocks, backends/numpy/elementwise.py ``far_branches``)."""
    def ours(q):
        return isinstance(q, sp.Piecewise) and len(q.args) in (3, 5) and q.args[-1].cond == sp.true and all(
            far_side(c) for _, c in q.args[:-1])

    def far_side(c) -> bool:  # u > 64 (u > 1024), or −x > 64 as SymPy writes it, x < −64
        if isinstance(c, sp.StrictLessThan):
            return c.rhs.is_Integer and c.rhs <= -_EXP_DOMINANT_LOWEST
        return isinstance(c, sp.StrictGreaterThan) and c.rhs.is_Integer and c.rhs >= _EXP_DOMINANT_LOWEST

    def window(cond):  # |a·x + b| < r (the root-series rule's window about a root): its interval, which as_set
        # leaves a ConditionSet for the Floats of b; None for any other condition
        if not (isinstance(cond, sp.StrictLessThan) and isinstance(cond.lhs, sp.Abs) and cond.rhs.is_number):
            return None
        (x,) = cond.free_symbols
        line = sp.expand(ungroup(cond.lhs.args[0]))
        a, b = line.coeff(x, 1), line.coeff(x, 0)
        if not (a.is_number and b.is_number and a != 0 and sp.expand(a * x + b - line) == 0):
            return None
        ends = sorted(((-cond.rhs - b) / a, (cond.rhs - b) / a))
        return sp.Interval.open(*(sp.Rational(float(v)) for v in ends))

    def apart(cond, far) -> bool:
        if cond.free_symbols != far.free_symbols or len(far.free_symbols) != 1:
            return False
        try:
            near = window(cond)
            if near is not None:
                return near.intersect(far.as_set()) is sp.S.EmptySet
            return (cond & far).as_set() is sp.S.EmptySet
        except (TypeError, ValueError, NotImplementedError, RecursionError):
            return False

    def hoisted(node):
        if not (isinstance(node, sp.Piecewise) and len(node.args) > 1 and ours(node.args[-1].expr)):
            return None
        inner = node.args[-1].expr
        if not all(apart(c, far) for _, c in node.args[:-1] for _, far in inner.args[1:-1:2]):
            return None
        return sp.Piecewise(*inner.args[:-1], *node.args[:-1], (inner.args[-1].expr, True))

    if not isinstance(expr, sp.Basic) or not any(ours(p.args[-1].expr) for p in expr.atoms(sp.Piecewise)):
        return expr
    return _top_down(expr, hoisted, leaves=_KEPT)


def _otherwise_kept(expr):
    """``expr`` with each select's last branch taken otherwise: SymPy drops a select's ``(node, True)`` where the
    select it sits in implies its other conditions (this rule's x > 64 inside the exp-minus rule's x > 64 branch),
    which the printers refuse; the branch left last covers what the dropped one did."""
    def fix(node):
        if isinstance(node, sp.Piecewise) and node.args[-1].cond != sp.true:
            return sp.Piecewise(*node.args[:-1], (node.args[-1].expr, True))
        return None

    broken = [p for p in expr.atoms(sp.Piecewise) if p.args[-1].cond != sp.true] if isinstance(expr, sp.Basic) else []
    return _top_down(expr, fix, leaves=_KEPT) if broken else expr


EXP_DOMINANT = Rule(
    "exp-dominant", "a sum c·e^u + P (u any expression of the inputs, c·sinh u and c·cosh u as (c/2)·e^u ∓ (c/2)·e^−u; "
    "P a polynomial in u or a constant times another input, negligible beside e^u past u = 1024 wherever it is a "
    "float: e^x − 1 − x, expm1(x) − x, sinh x − x, e^(xy) − 1 − xy, the exp-minus rule's select of e^x − 3x looked "
    "through) overflows with e^u (u > 709.8 in "
    "float64, 88.7 in float32) while its log is u to the last bit and a quotient of two such sums is a ratio near "
    "c/c′: log(e^x − 1 − x) inf at x = 710 (true 710), (e^x − 1)/(e^x − 1 − x) NaN (true 1). From u > 64 on, where "
    "e^−u·P(u) is below 2⁻⁸⁰ of c for a cubic P, log(c·e^u + P) is u + log c + log1p(P·e^−u/c) (an identity; the "
    "small term rounded relative to itself) and ∏A_i^k_i with Σk_i = 0 is ∏(c_i + P_i·e^−u)^k_i (the same quotient, "
    "multiplied through by e^−u); from u > 1024, where e^−u is 0 in float64 and P(u) may overflow (x² at 1e200: "
    "inf·0), u + log c and ∏c_i^k_i (their values in both dtypes there); below 64 the written form, which does not "
    "overflow there. Session 24: a positive number times the sum (the affine-root rule's (e^x + 3)/3: log(e^x/3 + 1) "
    "inf at 710, true 708.9; below 64 log1p(e^x/3), 0 at −70 before for 1.3e−31), cosh u dominant on both sides "
    "(u is |u|, sinh u as sign(u)·sinh|u| beside it: log(cosh x − 1) inf at x = −711), a power A^q with |q| < 1 a "
    "fraction → e^(qu)·(c + P·e^−u)^q and products with Σk_i such a fraction → e^(u·Σk_i)·∏(c_i + P_i·e^−u)^k_i, "
    "e^(qu) as (e^(u/2^j))^(q·2^j) so that its exponent is exact (√(e^x − 1 − x) inf at 710, true 1.5e154, finite "
    "to 1419; e^(−x/3) rounds x/3: 59 ULP at 709), and the widen rule's compensated sum e^x/2 + y (kept widened as "
    "c + (y·e^(−u/2))·e^(−u/2), whose parts keep their lo words where e^−u's underflow, from the last u where c·e^u "
    "is a float64 on: a float32 block with a widened sum computes in float64). Session 25: a product's scaled form is "
    "taken from u = floor(80/Σ|k_i|) on where that is below 64 (never below 32; Σ over the k_i of one sign, log c_i "
    "counted with u), where the written form's partial products e^(Σ|k_i|·u) would leave float32 (e^±88): float32 "
    "∂ of (e^x + x²)^(−3/4), −(3/4)(e^x + 2x)(e^x + x²)^(−7/4), −0 from x = 50.7 before (truth −8.66e−18 at 52), "
    "now scaled from 45. Session 26: several exponential functions of one argument ±w in one sum, their "
    "coefficients of e^w summed (e^x + cosh x = (3/2)·e^x + (1/2)·e^−x: log(e^x + cosh x) inf past x = 709.78 before, "
    "true 710.19), and the left side, u = −w, where the coefficient of e^−w dominates (∂ log(cosh x + x) = "
    "(1 + sinh x)/(x + cosh x) NaN below −710.5 before, true −1: a factor with a whole power may have c < 0); "
    "log1p(A) of any such A (the log1p rule's log(1 + e^x − x), inf at 710 before, true 710); and 1/A of the widened "
    "c·e^u + y as e^(−u/2)·(e^(−u/2)/(c + y·e^−u)), e^−u whole being subnormal from u = 708.4 (∂y of "
    "log(e^x/2 + y) 0 at x = 709.9, y = −1.0097e308 before, true 9.89e−306)",
    apply=_exp_dominant_forms, fired=_rewrote)


# ------------------------------------------------------------------ shifted-argument (issue 16, session 15: poisson_nll
# with log_input = 0, x − t·log(x + 10⁻⁸): 7e15 ULP near x ≈ t·log(x + 10⁻⁸), torch the same); tested in
# tests/test_elem15.py


def _shifted_term(a):
    """The input's term of a sum x + c or k·x + c (k a number: the derivative's 1 − 10⁸·t/(1 + 10⁸·x), which
    together() makes of 1 − t/(x + 10⁻⁸)), or None."""
    if not (a.is_Add and len(a.args) == 2 and any(v.is_number and v != 0 for v in a.args)):
        return None
    (term,) = [v for v in a.args if not v.is_number] or [None]
    if term is not None and (term.is_Symbol or (term.is_Mul and len(term.args) == 2 and term.args[0].is_number
                                                and term.args[1].is_Symbol)):
        return term
    return None


def _shifted_sums(expr) -> set:
    """The sums x + c and k·x + c (x an input, k and c numbers, c other than 0) in ``expr`` under a log or in a
    denominator."""
    found = set()
    for f in expr.atoms(sp.log, sp.Pow):
        a = f.args[0] if isinstance(f, sp.log) else f.base
        if isinstance(f, sp.Pow) and not f.exp.is_negative:
            continue
        if _shifted_term(a) is not None:
            found.add(a)
    return found


def _shifted_argument(expr):
    """``expr`` (an output holding log(x + c) or N/(x + c), and otherwise only arithmetic of the inputs) widened
    whole: x + c exact in double-word, c to 106 bits; else ``expr``."""
    if not isinstance(expr, sp.Expr) or expr.has(WidenedBase, sp.Piecewise, sp.Indexed) or not expr.free_symbols:
        return expr
    sums = _shifted_sums(expr)
    if not sums:
        return expr
    others = [f for f in expr.atoms(sp.Function) if not (isinstance(f, sp.log) and f.args[0] in sums)]
    if others:
        return expr
    # 1 − t/(x + c) as ((x − t) + c)/(x + c): the difference is exact in double-word where t ≈ x (at t = x = 3e38
    # the quotient is 1 − 3.3e−47, beyond even 106 bits); log(x + c) as log1p((x − 1) + c), x − 1 exact in float64
    # for a float32 x and in double-word for a float64 one, so that a float32 kernel's float64 body keeps log's
    # relative accuracy where x + c ≈ 1 (x + c rounded in float64 is 10⁻⁸ of log(1 + 10⁻⁸) off)
    body = sp.together(expr)
    numerator, denominator = body.as_numer_denom()
    scaled = _shifted_term(denominator) if denominator != 1 else None
    if scaled is not None and scaled.is_Mul:  # (1 + 10⁸·x − 10⁸·t)/(1 + 10⁸·x) as ((x − t) + 10⁻⁸)/(x + 10⁻⁸): 10⁸·t
        k = scaled.args[0]                     # overflows where t/(x + 10⁻⁸) does not (t = −1.8e308)
        numerator, denominator = sp.expand(numerator / k), sp.expand(denominator / k)
        body = numerator / denominator
    c = sum((v for v in sp.Add.make_args(numerator) if v.is_number), sp.S.Zero)
    if denominator != 1 and c != 0 and len(sp.Add.make_args(numerator - c)) >= 2:
        # ((x − t) + c): x − t first (exact for float32 inputs in float64, and where t ≈ x), then c
        body = sp.Add(Grouped(numerator - c), c, evaluate=False) / denominator
    body = body.xreplace({sp.log(a): log1p(sp.Add(Grouped(_shifted_term(a) - 1), a - _shifted_term(a), evaluate=False))
                          for a in sums})
    if denominator == 1:
        return widen(body)
    # at x = ±inf the quotient is inf/inf (k·x where it overflows): the written form there (1 − t/(x + c) = 1); so
    # at any other input of the common denominator ±inf (0.001·(min(x, y) − 1/x)·(2/(y − 100) + 3) over
    # 1000·x·(y − 100) at x = +inf: NaN for 0.0020859, torch right; h-hyp52)
    x = _shifted_term(denominator) or next(_shifted_term(a) for a in sums)
    far = sp.Float(1.7976931348623157e308)
    others = sorted(denominator.free_symbols - x.free_symbols, key=str)
    return sp.Piecewise((expr, sp.Or(sp.Abs(x) > far, *[sp.Abs(v) > far for v in others])), (widen(body), True))


SHIFTED_ARGUMENT = Rule(
    "shifted-argument", "log(x + c) and N/(x + c) of an input x and a number c (or k·x + c, as together() leaves "
    "the derivative 1 − 10⁸·t/(1 + 10⁸·x): taken as ((x − t) + 10⁻⁸)/(x + 10⁻⁸), 2.4e7 → 0.5 ULP at x = t = 1; "
    "poisson_nll with log_input = 0: "
    "x − t·log(x + 10⁻⁸), torch's eps) round x + c first, which log turns into an error of 1/|log(x + c)| "
    "relative (∂t = −log(x + 10⁻⁸) at x = 1 − 10⁻⁸: 8.2e15 ULP in float64, torch the same), and the output "
    "cancels where t·log(x + c) ≈ x (7.3e15 ULP at t = 1e8 + 1.1, x = 1) or t ≈ x + c (∂x = 1 − t/(x + c): "
    "6.9e15 ULP at t = x = 3e38); the output is computed widened and rounded once (double-word in a float64 "
    "kernel: x + c exact, c to 106 bits, log, quotient and sum to 2⁻¹⁰⁰ or so; float64 in a float32 one), "
    "where it holds no other function", apply=_shifted_argument, fired=_rewrote)


# ------------------------------------------------------------------ one-minus-scaled-exp (issue 16: the log-variance
# Gaussian NLL's ∂s = (1 − (p − t)²·e^(−s))/2, Kendall & Gal 2017); tested in tests/test_nll15.py


def _one_minus_scaled_exp(node):
    """c − a·e^b (c a nonzero number, a a product of inputs' powers or differences, the signs opposite) →
    the sum in double-word arithmetic, in a float32 kernel too (in float64, a float32 p − t rounds where
    |t| < 2⁻⁵³·|p|, and e^(−s) where |s| < 2⁻⁵³: (1 − (p − t)²·e^(−s))/2 at p = −1, t = 1e−30, s = 0 was 0, true
    −1e−30), and c where a factor of a is 0 (a·e^b is 0 there in the limit; as written 0·inf = NaN at e^b = inf)."""
    if not (node.is_Add and len(node.args) == 2 and len(node.free_symbols) >= 2):
        return None
    numbers = [a for a in node.args if a.is_Number]
    if len(numbers) != 1 or numbers[0] == 0:
        return None
    (term,) = [a for a in node.args if a is not numbers[0]]
    found = _scaled_exp_factors(term)
    if found is None or numbers[0].is_positive == (not term.could_extract_minus_sign()):
        return None
    zero = sp.Or(*[sp.Eq(f.base if f.is_Pow and f.exp.is_positive else f, 0) for f in found[0]])
    return _Final(sp.Piecewise((numbers[0], zero), (widen(node, in_float32=True), True)))


ONE_MINUS_SCALED_EXP = Rule(
    "one-minus-scaled-exp", "1 − a·e^b cancels where a·e^b ≈ 1, every digit of the rounded a, e^b and their "
    "product lost (the log-variance Gaussian NLL's ∂s = (1 − (p − t)²·e^(−s))/2: 1.5e17 ULP off in float64 at "
    "p = −1.3487, s = 1, t = 0.3, torch the same); the sum in double-word arithmetic (d = p − t exact by TwoSum, "
    "e^b and the products to about 2⁻¹⁰⁰) rounds once, in a float32 kernel too (in float64 a float32 p − t "
    "rounds where |t| < 2⁻⁵³·|p|: 0 at p = −1, t = 1e−30, s = 0, true −1e−30); where a factor of a is 0 the product is 0 (as written "
    "0·inf = NaN at s = −max); tried before every other node-by-node rule (affine-root would take ½ − a·e^b/2 first)",
    local=_one_minus_scaled_exp)


# ------------------------------------------------------------------ exp-product-cancel (issue 16, session 29, h-exp29:
# e^x·e^(−y)·e^(y − x) ≡ 1 was inf at (709.8, 0.87) and NaN (0·inf) at (−30, 3e38) in float64, torch the same;
# exp-product-limit takes products of one variable only); tested in tests/test_exp29.py

def _exp_product_cancel(node):
    """R·e^(a_1)·…·e^(a_k) (k ≥ 2) whose exponents' sum, as SymPy adds it, holds fewer variables than the exponents
    together → R·e^(a_1 + … + a_k): e^x·e^(−y)·e^(y − x) → 1, e^(x + y)·e^(−y) → e^x.

    Exact: e^a·e^b = e^(a + b) for real a, b. The variables that cancel are gone from the sum symbolically, so the
    one exponential is of a sum with fewer roundings than the factors' arguments had, rounded once where the written
    product rounded k times and overflowed or underflowed in a factor where the product is a number. A sum that
    keeps every variable (e^(a − m)·e^(m − b) of the max shift, e^x·e^y) is left as written: there e^(a + b) would
    round a + b first, up to |a + b|·2⁻⁵³ relative. None for any other node."""
    if not node.is_Mul:
        return None
    factors, exponents, rest = [], [], []
    for f in node.args:
        a = _exponent_of(f)
        if a is not None and a.free_symbols:
            factors.append(f)
            exponents.append(a)
        else:
            rest.append(f)
    if len(exponents) < 2:
        return _exp_into_shifted_sum(node)
    total = sp.Add(*exponents)
    if not total.free_symbols < set().union(*(a.free_symbols for a in exponents)):
        return _exp_into_shifted_sum(node)
    return _Fired(sp.Mul(*rest) * sp.exp(total), ["exp-product-cancel"])


def _exp_into_shifted_sum(node):
    """R·e^u·Σ_j c_j·e^(w_j) (c_j numbers, two terms or more; e^(w_j) or exp_shift) where u + w_j cancels a term of
    each w_j (a max shift m, or an input) → R·Σ_j c_j·e^(u + w_j): the softmax-complement rule's q_y + q_z,
    max-shifted by max(y, z), times the factor e^(a + max(y, z) − …) that undoes the shift (∂x of the KL divergence
    of two written 3-class softmaxes, q_x·(p_b + p_c) − p_a·(q_y + q_z)), is then e^(a + y − …) + e^(a + z − …), the
    same form as its opposite terms e^(b + x − …): at identical logits they cancel exactly (−2.31e−33 for 0 before,
    torch 0). The sum's exponents keep their max shifts (each term ≤ 1 as before). Only where a term t of each w_j has
    −t in u: where u + w_j only combines (the softmax's e^(a/T − M)·e^(b/T − M) → e^(a/T + b/T − 2M)), a/T = M = inf
    gave inf − inf = NaN for the infinite-shift rule's 0 (∂a of a written temperature softmax at a = 1.8e308,
    T = 0.3; session 35). None elsewhere."""
    exps = [f for f in node.args if isinstance(f, sp.exp)]
    if len(exps) != 1:
        return None
    u = exps[0].args[0]
    u_terms = set(sp.Add.make_args(u))

    def exponent(term):  # (c, w) for c·e^w or c·exp_shift(t, m) (w = t − m); None otherwise
        c, e = term.as_coeff_Mul()
        if isinstance(e, exp_shift):
            return c, e.args[0] - e.args[1]
        return (c, e.args[0]) if isinstance(e, sp.exp) else None

    for f in node.args:
        if not (f.is_Add and len(f.args) >= 2):
            continue
        terms = [exponent(t) for t in f.args]
        if any(t is None for t in terms) or not all(
                any(-t in u_terms for t in sp.Add.make_args(w)) for _, w in terms):
            continue
        rest = sp.Mul(*[g for g in node.args if g is not f and g is not exps[0]])
        return _Fired(sp.Add(*[rest * c * sp.exp(u + w) for c, w in terms]), ["exp-product-cancel"])
    return None


EXP_PRODUCT_CANCEL = Rule(
    "exp-product-cancel", "a product of exponentials whose exponents' variables cancel in their sum is one "
    "exponential of that sum: e^x·e^(−y)·e^(y − x) ≡ 1 was inf at (709.8, 0.87) and NaN (0·inf) at (−30, 3e38) "
    "(torch the same), each factor overflowing or underflowing alone; e^a·e^b = e^(a + b), the sum free of the "
    "variables that cancel, rounded once; e^u times a sum of exponentials whose exponents each lose a term in "
    "u + w_j (a max shift undone) is multiplied in, a term each: ∂x of the KL divergence of two written 3-class "
    "softmaxes, q_x·(p_b + p_c) − p_a·(q_y + q_z), is then e^(b + x − M) + e^(c + x − M) − e^(a + y − M) − "
    "e^(a + z − M), pairwise the same numbers at identical logits (summed as two groups in double words: 0 exactly, "
    "was −2.31e−33)", local=_exp_product_cancel)


# ------------------------------------------------------------------ exp-into-underflowing-sum (issue 16, session 33,
# h-xfailb33: ∂ of eˣ·e^(−eˣ) is (e^(−eˣ) − eˣ·e^(−eˣ))·eˣ, whose sum is a subnormal −5e−311 at x = 6.58 that eˣ ≈ 720
# scales back to a normal −3.7e−308 with 533 ULP of the sum's absolute rounding; ∂ of eˣ/(2 − eˣ)² is
# ((2 − eˣ)^−2 + 2eˣ/(2 − eˣ)³)·eˣ, whose sum underflows to 0 from x ≈ 354 where the product is −e^(−x)); tested in
# tests/test_xfailb33.py

_DOUBLE_TINY = sp.Float(2.2250738585072014e-308, 17)  # float64's smallest normal number


def _exp_into_underflowing_sum_node(node):
    """R·e^(a_1)·…·e^(a_k)·S (k ≥ 1, S a sum of two or more terms each holding an exponential of the product's inputs)
    → {Σ_i R·e^(a_1)·…·e^(a_k)·t_i where every |t_i| < 2.2251e−308; the product as written elsewhere}; None for any
    other node (a term holding a function other than exp, a log of a softmax, among them).

    Exact: a product distributes over a sum. Where S's terms, computed as written, are subnormals or 0 (their
    exponentials below float64's range), S's digits are lost before e^(a_1)·… scales it back; each term t_i with the
    exponentials beside it is a product the exponential rules (exp-product-limit, exp-product-cancel,
    exp-over-power-far) write as one exponential, rounded once. Where a term is normal, inf or NaN the product is as
    written, every other rule's form unchanged."""
    if not node.is_Mul:
        return None
    sums = [f for f in node.args if f.is_Add]
    exps = [f for f in node.args if isinstance(f, sp.exp) and f.args[0].free_symbols]
    if len(sums) != 1 or not exps:
        return None
    (total,) = sums
    # one input, as exp-product-limit, which merges the terms' exponentials, takes it (several: a softmax's gradient
    # e^a·(1/S − e^a/S²) or the written KL's (e^c + e^d)·e^a·e^(−c)/(e^a + e^b) are the max-shift and
    # nested-sum-factor rules')
    if len(total.args) < 2 or len(node.free_symbols) != 1 or total.free_symbols != node.free_symbols:
        return None
    # terms of exponentials, their products, quotients and powers of sums of them only (a log of a softmax in the
    # written KL, log(eᵃ/S) − log(eᶜ/T), is no such term: its sum is 0 where the divergence is)
    if not all(any(isinstance(e, sp.exp) and e.args[0].free_symbols for e in sp.preorder_traversal(t))
               and all(isinstance(f, sp.exp) for f in t.atoms(sp.Function)) for t in total.args):
        return None
    if total.has(sp.Piecewise, WidenedBase):
        return None
    rest = sp.Mul(*[f for f in node.args if f is not total])
    below = sp.And(*[sp.Abs(t) < _DOUBLE_TINY for t in total.args])  # every term subnormal or 0: not a cancellation
    return sp.Piecewise((sp.Add(*[rest * t for t in total.args], evaluate=False), below), (node, True))


def _exp_into_underflowing_sums(expr):
    """Every outermost product of ``expr`` :func:`_exp_into_underflowing_sum_node` takes, rewritten."""
    return _top_down_having(expr, sp.exp, _exp_into_underflowing_sum_node, _KEPT)


EXP_INTO_UNDERFLOWING_SUM = Rule(
    "exp-into-underflowing-sum", "a sum of terms holding exponentials, times an exponential, loses its digits where the "
    "sum is a subnormal or 0 and the product is not: ∂ of eˣ·e^(−eˣ) is (e^(−eˣ) − eˣ·e^(−eˣ))·eˣ, −5e−311 times 720 "
    "at x = 6.58, 533 ULP in float64 (torch 1.6e5); ∂ of eˣ/(2 − eˣ)², ((2 − eˣ)^−2 + 2eˣ/(2 − eˣ)³)·eˣ, 0 from "
    "x ≈ 354 for −e^(−x) (torch 0); where the sum's terms as written are each below float64's smallest normal the "
    "exponential is "
    "multiplied into each term (exact: a product distributes over a sum), which the exponential rules then write as "
    "one exponential each, rounded once; the product as written elsewhere (and where a term is normal: their sum's "
    "cancellation is not this rule's)",
    apply=_exp_into_underflowing_sums, fired=_rewrote, before=True)


# ------------------------------------------------------------------ zip44 (issue 16, session 44, h-zip44: ∂a of the
# zero-inflated Poisson NLL's zero term, −σ(a)·σ(−a) + σ(a)·σ(−a)·e^(−λ) over its sum: 1.07e4 ULP in the float32
# Triton kernel at a = 0.3, λ = 1e−30, where the float64 sum cancels to 0); tested in tests/test_zip44.py

def _common_factor_expm1(node):
    """F·e^w − F (two terms sharing every factor but e^w: the derivative of F·e^w − F's own product rule) → F·expm1(w);
    None otherwise. Exact in reals (F·e^w − F = F·(e^w − 1)); expm1(w) keeps e^w − 1's digits where e^w rounds to 1,
    where the written difference of two rounded products cancels to 0 or to the rounding of F·e^w."""
    if not node.is_Add or len(node.args) != 2 or not node.has(sp.exp):
        return None
    gathered = sp.factor_terms(node)
    if not gathered.is_Mul:
        return None
    sums = [f for f in gathered.args if f.is_Add]
    if len(sums) != 1 or len(sums[0].args) != 2:
        return None
    (total,) = sums
    rest = sp.Mul(*[f for f in gathered.args if f is not total])
    if rest.is_number:
        return None
    for one in (sp.S.One, sp.S.NegativeOne):
        if one in total.args:
            (other,) = [t for t in total.args if t != one]
            if isinstance(-one * other, sp.exp):
                return _Final(_Fired(widen(-one * rest * expm1((-one * other).args[0])), ["common-factor-expm1"]))
    return None


COMMON_FACTOR_EXPM1 = Rule(
    "common-factor-expm1", "F·e^w − F (∂a of the zero-inflated Poisson NLL's zero term −log(σ(a) + σ(−a)·e^(−λ)), "
    "σ(a)·σ(−a)·(e^(−λ) − 1) as its two products) cancels where e^w rounds to 1: 1.07e4 ULP in float32 at a = 0.3, "
    "λ = 1e−30 (the Triton kernel; torch 1.9e30 at worst there); F·expm1(w), the common factor taken out (exact), "
    "keeps every digit", local=_common_factor_expm1)


# ------------------------------------------------------------------ user45 (issue 16, session 45, h-user45: elu(x) + 1,
# the positive feature map of linear attention, was 0 for e^x below x = −37 in float64); tested in tests/test_user45.py

def _expm1_plus_factor(total):
    """``total`` with each pair of terms c·expm1(u) and c (c a number or a product) as c·e^u, and whether one was."""
    terms = list(sp.Add.make_args(total))
    for term in terms:
        for f in sp.Mul.make_args(term):
            if isinstance(f, expm1):
                c = sp.Mul(*[g for g in sp.Mul.make_args(term) if g is not f])
                if c != 0 and c in terms and c is not term:
                    rest = list(terms)
                    rest.remove(term)
                    rest.remove(c)
                    return sp.Add(c * sp.exp(f.args[0]), *rest), True
    return total, False


def _expm1_select_sum(node):
    """k·{a_1 if c_1; …; a_n otherwise} + T where a branch's k·a_i + T holds c·expm1(u) + c (elu(x) + 1: T = 1 beside
    elu's expm1(x) branch) → {k·a_1 + T if c_1; …} with that pair as c·e^u; None for any other node. Exact in reals (a
    sum distributes over the branches of a select, each taken where it was; c + c·(e^u − 1) = c·e^u); the written sum
    1 + expm1(x) rounds to 0 for x < −37 in float64 (−17 in float32) where e^x is normal, every digit lost before."""
    if not (node.is_Add and node.has(expm1, sp.Piecewise)):
        return None
    selects = [t for t in node.args if sum(isinstance(f, sp.Piecewise) for f in sp.Mul.make_args(t)) == 1]
    if len(selects) != 1 or any(t.has(sp.Piecewise) for t in node.args if t is not selects[0]):
        return None
    (select,) = [f for f in sp.Mul.make_args(selects[0]) if isinstance(f, sp.Piecewise)]
    k = sp.Mul(*[f for f in sp.Mul.make_args(selects[0]) if f is not select])
    rest = [t for t in node.args if t is not selects[0]]
    if k.has(sp.Piecewise) or any(a.has(sp.Piecewise) for a, _ in select.args):
        return None
    pieces, fired = [], False
    for a, cond in select.args:
        total, folded = _expm1_plus_factor(sp.Add(k * a, *rest))
        fired |= folded
        pieces.append((total, cond))
    return sp.Piecewise(*pieces) if fired else None


EXPM1_SELECT_SUM = Rule(
    "expm1-select-sum", "c·expm1(u) in a select's branch beside c outside it (elu(x) + 1, the positive feature map of "
    "linear attention: 1 + expm1(x)) rounds to 0 where e^u is below half an ulp of c: 0 for e^x from x = −37 in float64 "
    "(7.5e15 ULP at x = −100; torch the same), 1.4e7 ULP in float32 at x = −30; the sum taken into each branch (exact) "
    "and c + c·expm1(u) there as c·e^u, rounded once", local=_expm1_select_sum)


# ------------------------------------------------------------------ mirror47 (issue 16, session 47, h-mirror47: a
# difference of mirrored exponentials, e^(s + u) − e^(s − u); tested in tests/test_mirror47.py)

def _exp_factor(term):
    """(c, K, p) for a term c·K·e^p (c a number, K the other factors, one exponential among them); None otherwise."""
    c, rest = term.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    if len(exps) != 1:
        return None
    return c, sp.Mul(*[f for f in factors if f is not exps[0]]), exps[0].args[0]


def _mirrored_pair(p, q):
    """u = (p − q)/2 where e^p − e^q is a mirrored pair e^(s + u) − e^(s − u) whose u holds fewer inputs than p and q
    (the shift −m of a max-shifted sum cancels: e^(a − m) − e^(−a − m), m = max(a, b, −a)); None otherwise (e^a − e^b:
    its difference a − b is the exponents' own; e^u − e^(−u) as written is left to the rules that see its quotient
    whole: max-shift takes (e^a − e^(−a))/S apart into the shifted pair, and this rule the pair)."""
    u = sp.expand((p - q) / 2)
    if u.free_symbols and u.free_symbols < (p.free_symbols | q.free_symbols):
        return u
    return None


def _mirrored_exp_difference(node):
    """A sum holding c·K·e^p − c·K·e^q with e^p, e^q a mirrored pair (:func:`_mirrored_pair`) → the pair as
    c·K·sign(u)·max(e^p, e^q)·(−expm1(−2|u|)), u = (p − q)/2; None where it holds none.

    Exact: e^p − e^q = sign(p − q)·e^max(p, q)·(1 − e^(−|p − q|)) and e^max(p, q) = max(e^p, e^q) (exp increasing; so
    is its rounding, and the shifted exponentials' own limits at m = ±inf are kept: 1 for the max's term). The written
    difference of two rounded exponentials keeps an ulp of e^p, not of 2u·e^p: ∂a of log(e^a + e^b + e^(−a)),
    (e^(a − m) − e^(−a − m))/S, at a = ±10^U(−300, −9) was 2.94e16 ULP off in float64 (double words keep 2⁻¹⁰⁶ of 1);
    −expm1(−2|u|) is 2|u| to every digit there."""
    if not (isinstance(node, sp.Expr) and node.is_Add and node.has(sp.exp)):
        return None
    terms = list(node.args)
    parts = [_exp_factor(t) for t in terms]
    for i, j in ((i, j) for i in range(len(terms)) for j in range(len(terms)) if i != j):
        if parts[i] is None or parts[j] is None:
            continue
        (c1, k1, p), (c2, k2, q) = parts[i], parts[j]
        if not (c1.is_positive and c1 + c2 == 0 and k1 == k2):
            continue
        u = _mirrored_pair(p, q)
        if u is None:
            continue
        pair = c1 * k1 * sp.sign(u) * sp.Max(sp.exp(p), sp.exp(q)) * Grouped(-expm1(-2 * sp.Abs(u)))
        rest = [t for n, t in enumerate(terms) if n not in (i, j)]
        return _Fired(sp.Add(pair, *rest), ["mirrored-exp-difference"])
    return None


MIRRORED_EXP_DIFFERENCE = Rule(
    "mirrored-exp-difference", "e^(s + u) − e^(s − u) with u of fewer inputs than s (the max-shifted e^(a − m) − "
    "e^(−a − m), m = max(a, b, −a), of ∂a of log(e^a + e^b + e^(−a))) cancels near u = 0, each rounded exponential an ulp of its own size where the difference "
    "is 2u of it: 2.94e16 ULP in float64 at a = ±10^U(−300, −9) (double words keep 2⁻¹⁰⁶ of 1, not of 2a; torch 0 "
    "there, worse at one point); sign(u)·max(e^(s + u), e^(s − u))·(−expm1(−2|u|)) is the same difference with "
    "nothing that cancels (the larger exponential times 1 − e^(−2|u|))", local=_mirrored_exp_difference)


# ------------------------------------------------------------------ mix48 (issue 16, session 48, h-mix48: a difference
# of two exponentials times sigmoids whose exponents differ by a polynomial that factors, the Gaussian mixture's
# e^(P − m)·σ(a) − e^(Q − m)·σ(−a); tested in tests/test_mix48.py)

def _folded_exp_term(term):
    """(c, K, T, p) for a term c·K·T, T = e^v·σ(u₁)·…·σ(u_k) (one exponential, any sigmoids to the first power; c a
    number, K the other factors) and p = v − softplus(−u₁) − … − softplus(−u_k), the logarithm of T (σ(u) =
    e^(−softplus(−u))); None otherwise."""
    c, rest = term.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    sigmoids = [f for f in factors if isinstance(f, sigmoid)]
    if len(exps) != 1:
        return None
    taken = set(exps) | set(sigmoids)
    if len(taken) != len(exps) + len(sigmoids):
        return None
    p = exps[0].args[0] - sp.Add(*[softplus(-s.args[0]) for s in sigmoids])
    return c, sp.Mul(*[f for f in factors if f not in taken]), sp.Mul(*exps, *sigmoids), p


def _factored_difference(p, q):
    """p − q factored where it is a polynomial in fewer inputs than p and q hold (their shift and their sigmoids'
    softplus cancel: the Gaussian mixture's (x − m₁)²/2 − (x − m₂)²/2 = (m₁ − m₂)(m₁ + m₂ − 2x)/2) and factoring
    takes it apart into a product of sums; None otherwise (a difference of squares written out cancels where the
    factored one does not)."""
    d = p - q
    symbols = d.free_symbols
    if not symbols or not symbols < (p.free_symbols | q.free_symbols) or not d.is_polynomial(*symbols):
        return None
    factored = sp.factor(d)
    if not factored.is_Mul or sum(f.is_Add for f in sp.Mul.make_args(factored)) < 2:
        return None
    return factored


_FACTORED_GAP_BELOW = sp.Rational(1, 2**20)  # |d| below which T₁ − T₂ is taken factored


def _factored_exp_difference(node):
    """A sum holding c·K·T₁ − c·K·T₂, T_i = e^(v_i)·σ(…)… whose logarithms differ by a polynomial that factors
    (:func:`_factored_difference`) and whose exponents hold one shift max(…) (the max-shift rule's: T_i ≤ 1 and its
    sum S ≥ 1; unshifted, the pair's quotient by e^P + e^Q would be 0/0 where both underflow) → c·K·sign(d)·max(T₁,
    T₂)·(−expm1(−|d|)), d = log T₁ − log T₂ factored; None where it holds none. Exact: T₁ − T₂ = sign(d)·max(T₁,
    T₂)·(1 − e^(−|d|)), T₁/T₂ = e^d."""
    if not (isinstance(node, sp.Expr) and node.is_Add and node.has(sp.exp) and node.has(sigmoid)):
        return None
    terms = list(node.args)
    parts = [_folded_exp_term(t) for t in terms]
    for i, j in ((i, j) for i in range(len(terms)) for j in range(len(terms)) if i != j):
        if parts[i] is None or parts[j] is None:
            continue
        (c1, k1, t1, p), (c2, k2, t2, q) = parts[i], parts[j]
        if not (c1.is_positive and c1 + c2 == 0 and k1 == k2 and p.atoms(sp.Max) & q.atoms(sp.Max)):
            continue
        d = _factored_difference(p, q)
        if d is None:
            continue
        pair = c1 * k1 * sp.sign(d) * sp.Max(t1, t2) * Grouped(-expm1(-sp.Abs(d)))
        # only where the components nearly coincide (session 48, h-gmm48): elsewhere the written pair, which the widen
        # rule sums in double words, is the more accurate (the factored form rounds six factors: 4.2 ULP in float64 at
        # d = 0.03, 6.3 at a = 23.66), and where d is not finite the only one that is right
        if _finite_weight(k1, p.atoms(sp.Max) & q.atoms(sp.Max)):  # (far50) 0 where d = 0: T₁ = T₂ there
            pair = _zero_where_no_gap(pair, d)
        pair = sp.Piecewise((pair, sp.Abs(d) < _FACTORED_GAP_BELOW), (terms[i] + terms[j], True))
        rest = [t for n, t in enumerate(terms) if n not in (i, j)]
        return _Final(_Fired(sp.Add(pair, *rest), ["factored-exp-difference"]))
    return None


def _finite_weight(k, shifts) -> bool:
    """Whether ``k`` is finite at every finite input, exactly: a number, or a number over a sum of exponentials whose
    exponents hold one of the pair's shifts ``shifts`` (the max-shift rule's S = Σ e^(v_i − m) ≥ 1: its largest term is
    e^0)."""
    c, rest = k.as_coeff_Mul()
    if rest == 1:
        return True
    return bool(rest.is_Pow and rest.exp == -1 and rest.base.is_Add and all(
        isinstance(t, sp.exp) for t in rest.base.args) and rest.base.atoms(sp.Max) & shifts)


def _zero_where_no_gap(pair, d):
    """The factored pair c·sign(d)·max(T₁, T₂)·(−expm1(−|d|)) taken as 0 where d = 0: T₁ = T₂ there (d = log T₁ − log T₂,
    0 for every finite input where its factors' product is; a product that underflows to 0 leaves |T₁ − T₂| ≤ |d|/4, below
    half the least subnormal), so the difference, and the pair over its sum S ≥ 1, is exactly 0; the pair's T_i and S are
    inf − inf = NaN where the exponents' squares overflow (far50: the 2-component Gaussian mixture NLL's ∂a at
    a = −1e200, m₁ = m₂ = 0, x = 1e200 was sign(0)·NaN = NaN for 0; torch NaN). Inside the near-gap branch: computed on
    the far block's elements alone."""
    return sp.Piecewise((0, sp.Eq(d, 0)), (pair, True))


FACTORED_EXP_DIFFERENCE = Rule(
    "factored-exp-difference", "e^v₁·σ(u₁) − e^v₂·σ(u₂) whose logarithms differ by a polynomial of fewer inputs that "
    "factors (∂a of a two-component Gaussian mixture NLL, (e^(P − m)·σ(a) − e^(Q − m)·σ(−a))/S, P − Q + softplus(a) − "
    "softplus(−a) = (x − m₁)²/2 − (x − m₂)²/2) cancels where the components coincide: 3.0e5 ULP in float32 at a = "
    "4.60659, m₁ = −1e−45, m₂ = −1e−30, x = −1.6388294 (the squares' difference 3e−30 is below double words' 2⁻¹⁰⁶ of "
    "them; torch 6.3e29); sign(d)·max(T₁, T₂)·(−expm1(−|d|)) with d = (m₁ − m₂)(m₁ + m₂ − 2x)/2 factored is the same "
    "difference with nothing that cancels", local=_factored_exp_difference)
