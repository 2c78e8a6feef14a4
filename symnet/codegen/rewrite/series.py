"""Series rules: root-series, removable-series, vanishing-quotient, log1p-series, leading powers, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: root-series,
scaled-square, removable-series, one-minus-cos-and-vanishing-series, half-angle-quotient, vanishing-quotient,
log1p-series, log-linear-root, series-leading-power, half-power-series, one-minus-cos-factor,
series-common-denominator.
"""
from __future__ import annotations

import cmath
import functools
import math

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import log1p

from ...functions import sigmoid
from ...special import ndtr, sigmoid_pair_product, softplus
from .core import _Final, _Fired, Rule
from .widening import (_atoms, _bottom_up, _KEPT, _periodic_trig_sum, _replaced, _top_down, Grouped, unwiden, widen,
                       WidenedBase, without_ite)
from .pairs import _share_sigmoid_pairs
from .losses import _FLT_MAX
from .cancellation import _vanishes_at_zero, _VANISHING_PROBE
from .quotients import _as_math, _power_parts, _SCALED_FROM


# ------------------------------------------------------------------ root-series (issue 16: silu′, mish′,
# gelu′, gelu_tanh′ cancel at their simple real root); the analysis is in roots.py, tested in
# tests/test_root_series.py

def _root_series(expr):
    """f of one variable x with a simple real root r where its written form cancels →
    Piecewise((RootSeries(d, f, P's coefficients), |d| < w), (f, True)), d = ((x − r1) − r2) − r3."""
    from ..roots import RootSeries, as_written, cancelling_roots

    if not isinstance(expr, sp.Expr) or expr.has(RootSeries, sp.Indexed):
        return expr
    if expr.is_Mul and len(expr.free_symbols) > 1:
        # a product whose factors in one input hold the root (session 21: −t·log(p)/(p + 1) ∂p = t·(log p/(p + 1)² −
        # 1/(p(p + 1))), 6.5e15 ULP in float64 at its root p = 3.5911, t = 1): those factors' series, times the rest
        groups: dict = {}
        for f in expr.args:
            # a factor whose written form is a sum counts too (geglu43: the registry's gelu_tanh(a)·b, ∂a =
            # b·ndtr_tanh_slope(a), 1.63e15 ULP in float64 about its root a = −0.75246, where torch is 2.19e16)
            if len(f.free_symbols) == 1 and (f.has(sp.Add) or as_written(f).has(sp.Add)):
                groups.setdefault(next(iter(f.free_symbols)), []).append(f)
        for group in groups.values():
            part = sp.Mul(*group)
            new = _root_series(part)
            if new != part:
                return sp.Mul(new, *[f for f in expr.args if f not in group])
        return expr
    exact = as_written(expr)
    if not exact.has(sp.Add):
        return expr
    symbols = expr.free_symbols
    if len(symbols) > 1:
        linear = _linear_argument_root_series(expr)
        if linear != expr or not isinstance(expr, sp.Piecewise):
            return linear
        # geglu43: a select of several inputs (the overflowed-product rule's far branches about GEGLU's
        # a·(1 + tanh(0.79788·(a + 0.044715a³)))/2·b, ∂a): each branch's value as above, its condition kept (the
        # value equals the branch's own where the select takes it). 1.54e16 ULP in float64 at ∂a's root a = −0.75246
        branches = [(_root_series(e), c) for e, c in expr.args]
        if all(new == e for (new, _), (e, _) in zip(branches, expr.args)):
            return expr
        return sp.Piecewise(*branches)
    if len(symbols) != 1 or not isinstance(next(iter(symbols)), sp.Symbol):
        return expr
    (x,) = symbols
    fits = cancelling_roots(exact, without_ite(_share_sigmoid_pairs(expr)))  # measured as generated
    if not fits:
        return expr
    # the written form past the window still cancels beyond the bound somewhere (√x/log1p(x)′: the terms meet
    # at 3.92 but cancel 5.7× at x = 2 and 25× at 5.18, past the series' reach): double-word there (widen)
    # (within the measured reach only: the double-word costs 10-20× the written form, a bound of its error beside it)
    reach = max(fit.reach for fit in fits)
    branches = []
    for fit in fits:
        r1, r2, r3 = fit.pieces
        d = Grouped(Grouped(Grouped(x - sp.Float(r1)) - sp.Float(r2)) - sp.Float(r3))
        coefficients = [sp.Float(c, 25) for c in fit.coefficients]
        branches.append((RootSeries(d, expr, *coefficients), sp.Abs(d) < sp.Float(fit.window)))
    # user49: f with a removable singularity at 0 besides its roots (∂x of sin(πx)/(πx), torch.sinc written out: roots
    # at ±1.43, ±2.46, …) took the root series and the widened form at x = 0, where the removable-series rule, which
    # comes later, no longer enters it: NaN for 0 at x = 0, 1.6e275 for −3.3e−300 at x = 1e−300. Its series about 0
    # first, in its own measured window (the removable-series rule's fit)
    zero = _removable_node(expr)
    if isinstance(zero, sp.Piecewise):
        branches.insert(0, zero.args[0])
    if reach == 0:
        return sp.Piecewise(*branches, (expr, True))
    widened = _widen_vanishing(expr, x, fits)
    if math.isinf(reach) or len(fits) > 1:
        return sp.Piecewise(*branches, (widened, True))
    return sp.Piecewise(*branches, (widened, sp.Abs(d) < sp.Float(reach)), (expr, True))


# the root series' window in u at most, roots.MIN_WINDOW: past it the widened fallback is within 0.5 ULP, where the series
# was up to 1.69 (float64, 122 points at 2⁻¹⁰ ≤ |u − r| < 1/16; torch ≤ 858) and 1.48 at |u − r| = 0.40 (torch 0.48)
LINEAR_ARGUMENT_WINDOW = sp.Rational(1, 1024)


def _linear_argument_root_series(expr):
    """f(u) of several inputs held only in one argument u = Σ c_i·x_i (numbers c_i: ∂y of tanh(2x + 3y) − y,
    3·sech²(2x + 3y) − 1, root u = ±0.6585) → f's root series in u, d = ((u − r1) − r2) − r3 with u − r1 widened
    (double-word in float64: u's own rounding, |u|·ε/2, is the whole error of the written form at the root), f(u) as
    before past the window; expr where f has no cancelling root or the inputs are not held so."""
    plain = unwiden(expr)
    arguments = {a for f in plain.atoms(sp.Function) for a in f.args if a.free_symbols}
    if len(arguments) != 1:
        return expr
    (u,) = arguments
    if not (u.is_Add and all(isinstance(s, sp.Symbol) for s in u.free_symbols)
            and all(t.as_coeff_Mul()[0].is_Number and t.as_coeff_Mul()[1].is_Symbol for t in u.args)):
        return expr
    t = sp.Dummy("u", real=True)
    inner = plain.xreplace({u: t})
    if inner.free_symbols != {t}:
        return expr
    series = _root_series(inner)
    if series == inner or not isinstance(series, sp.Piecewise):
        return expr
    # the window at most LINEAR_ARGUMENT_WINDOW: past it the fallback below is widened (u exact in double words), where
    # the one-input window (0.4375 for tanh(x + 2y) − y) measured the written form as it is (h-worseb41)
    series = sp.Piecewise(*[(e, c.func(c.lhs, min(c.rhs, LINEAR_ARGUMENT_WINDOW)) if isinstance(c, sp.StrictLessThan)
                             else c) for e, c in series.args])

    # the innermost step of d, Grouped(u − r1), widened: the rest of d is exact or below 2⁻⁵³ of it
    first = series.replace(lambda n: isinstance(n, Grouped) and n.args[0].has(t) and not n.args[0].has(Grouped),
                           lambda n: Grouped(widen(n.args[0].xreplace({t: u}))))
    # a widened sum of the series' fallback takes u itself in its body (its leaves name the function's parameters)
    first = first.replace(lambda n: isinstance(n, WidenedBase) and n.has(t),
                          lambda n: widen(n.expanded.xreplace({t: u}), n.first_order, n.in_float32))
    return first.xreplace({t: widen(u)})


def _widen_vanishing(expr, x, fits):
    """``expr`` with each outermost sum that goes through 0 at a root of ``fits`` (the cancelling difference,
    :func:`symnet.codegen.roots.vanishes_at`) widened; the whole of ``expr`` where no sum of its generated form
    does (the cancellation is then spread over several)."""
    from ..roots import vanishes_at

    found = []

    def visit(node):
        if vanishes_at(node, x, fits[0].root) or any(vanishes_at(node, x, f.root) for f in fits[1:]):
            found.append(node)
            return widen(node)
        if not node.args or isinstance(node, (sp.Indexed, WidenedBase)) or not isinstance(node, sp.Expr):
            return node
        args = tuple(visit(a) if isinstance(a, sp.Expr) else a for a in node.args)
        return node.func(*args) if args != node.args else node

    out = visit(expr)
    return out if found else widen(expr)


ROOT_SERIES = Rule(
    "root-series", "near a simple real root r of f (silu′ at −1.2785, mish′ at −1.1924, gelu′ at −0.7518, "
    "gelu_tanh′ at −0.7525) the terms of the written sum are ~1 while the result goes through 0, so each "
    "term's rounding is amplified without bound (silu′ 14 ULP in float64, mish′ 19 in float32); within a "
    "measured window |x − r| < w, f = d·P(d) with d = ((x − r1) − r2) − r3 (r1 = float32(r), r2 on x's float64 "
    "grid, r3 the rest: x − r1 exact by Sterbenz, (x − r1) − r2 exact, d rounded once) and P the Taylor polynomial of f/(x − r) about r "
    "(mpmath at 60 digits, truncation < 2^−60 over the window), Horner: no cancellation left. Where the written "
    "form past the window is measured beyond 3 ULP (float64) or 6 (float32) (√x/log1p(x)′, root 3.92: 23 ULP at "
    "x = 5.18, 11 at x = 2, where the series about the root does not reach: its radius is 3.92), it is computed "
    "there as the widen rule computes a sum (double-word in float64 where its error bound is not within 3u, "
    "float64 in float32) and rounded once. In a product of several inputs, its factors in one input the same, times "
    "the rest (−t·log(p)/(p + 1) ∂p = t·(log p/(p + 1)² − 1/(p(p + 1))), root p = 3.5911: 6.5e15 ULP in float64). "
    "f of several inputs held in one argument u = Σ c_i·x_i the same in u, u − r1 widened (∂y of tanh(2x + 3y) − y, "
    "3·sech²u − 1, root u = 1.1462: 1172 ULP in float64 at (0.551, 0.0150), torch 660; now ≤ 1.6 ULP over 402 "
    "points, 200 within 10⁻³ of the root, where torch is past 4 at 217), its window at most 2⁻¹⁰ and the widened "
    "form past it (the series' Horner and d's three roundings were 1.2–1.7 ULP at 2⁻¹⁰ ≤ |u − r| < 0.4375 in float64, "
    "worse than torch + 0.5 at 1 to 2 of 400 points, 1.48 where torch is 0.48; the widened form 0.5 there). "
    "Where f also has a removable singularity at 0 (∂x of sin(πx)/(πx), torch.sinc written out, roots ±1.43, "
    "±2.46, …: NaN for 0 at x = 0, 1.6e275 for −3.3e−300 at x = 1e−300, as the widened form), the removable-series "
    "rule's series about 0 comes first, in its measured window",
    apply=_root_series, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ scaled-square (issue 16: the Gaussian NLL
# (x − t)²/v overflows float64 at |x − t| > 1.3e154 where the loss is finite); tested in tests/test_loss_accuracy6.py


def _scaled_square(node):
    """c·d²/V → d·(c·(d/V)) and c·d²/V² → (d/V)·(c·(d/V)), d a sum of two or more inputs, V not a number: d² is
    never formed, so it does not overflow where the quotient is finite (d = 1e160, V = 1e10: d²/V is
    1e310 → inf, the loss's d·(d/V) = 1e310 too, but d = 1e155, V = 1e10 gives 1e300). d/V is kept as
    one factor (SymPy folds d·(d/V) back into d²/V). Roundings: d·(d/V) rounds d/V and the product (as
    d² and the quotient did); (d/V)² the same. d/V underflows only where d·(d/V) is below any normal
    number beside V's own terms (d/V < 2⁻¹⁰²² with d·(d/V) > 2⁻⁵² needs V > 1.8e308)."""
    if not node.is_Mul:
        return None
    squares = [f for f in node.args if f.is_Pow and f.exp == 2 and f.base.is_Add and len(f.base.free_symbols) >= 2]
    quotients = [f for f in node.args if f.is_Pow and f.exp in (-1, -2) and not f.base.is_number
                 and not f.base.is_Add]
    if not squares and len(quotients) == 1 and quotients[0].exp == -2:
        # a power N = x³ of one input or sum: (x³/V)/V still forms x³; the scaled-power rule's q·q·x instead
        powered = [f for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp >= 2
                   and (f.base.is_Symbol or f.base.is_Add)]
        return None if powered else _scaled_quotient(node, quotients[0])
    if len(squares) != 1 or len(quotients) != 1:
        return None
    (sq,), (q,) = squares, quotients
    d, V = sq.base, q.base
    rest = sp.Mul(*[f for f in node.args if f != sq and f != q])  # by value: SymPy's cache may hand out equal copies
    # the number on the quotient: d·(d/V)/2 overflows where d·((d/V)/2) does not (1.5e308 at d = 1.7e151,
    # V = 1e−6); (d/V)/2 is exact (c/2 distributed into d would round x/3 and t/3 apart)
    c, rest = rest.as_coeff_Mul()
    quotient = Grouped(d / V)
    scaled = d * Grouped(c * quotient) if q.exp == -1 else quotient * Grouped(c * quotient)
    # only where d² could overflow (float32 from 1.8e19): below, the written form, whose roundings are
    # as many (d², V², the quotient) and which is what the rest of the range was measured with
    # and only where d² and V² are normal: outside [2⁻⁶⁰, 2⁶⁰] (float32's d² underflows at 2⁻⁶³; in float64 V² of
    # V = 1e−300 is 0, d²/V² = 0/0, and of V = 1e160 is ∞) the scaled form, whose d/V is normal wherever the result is
    written = (sp.Abs(d) < _SCALED_FROM) & (sp.Abs(d) > sp.S(2) ** -60)
    if q.exp == -2:
        written = written & (sp.Abs(V) > sp.S(2) ** -60) & (sp.Abs(V) < _SCALED_FROM)
    return _Final(_Fired(sp.Piecewise((node, written), (rest * scaled, True)), ["scaled-square"]))


def _scaled_quotient(node, q):
    """c·N/V² → c·((N/V)/V) where V² leaves float64's normal range (|V| outside [2⁻⁶⁰, 2⁶⁰]), N free of
    V's variables: V² of V = 1e−300 is 0 and N/V² is 0/0 = NaN at N = 0 (∂/∂x of (x − t)²/(2v²) at
    x = t), or ±inf where the quotient is finite (N = 1e−50, V = 1e−160: 1e270); (N/V)/V rounds as often
    as V² and the quotient did. Inside the range, the written form."""
    V = q.base
    rest = sp.Mul(*[f for f in node.args if f is not q])
    c, num = rest.as_coeff_Mul()
    if num.free_symbols & V.free_symbols or not V.free_symbols:  # (N = 1: c/V² as (1/V)/V, ∂x of c·x/y²)
        return None
    # the constant placed per element by the printers (_constant_quotients: between the two divisions, first or
    # last, where no partial product leaves the range that the result is in)
    scaled = c * Grouped(Grouped(num / V) / V)
    written = (sp.Abs(V) > sp.S(2) ** -60) & (sp.Abs(V) < _SCALED_FROM)
    return _Final(_Fired(sp.Piecewise((node, written), (scaled, True)), ["scaled-square"]))


def _times_constant(c, N):
    """c·N with c as a 17-digit Float: a Rational c·N would be shared by the common-subexpression pass with the
    written form, which then rounds a float32 subnormal x/5 before multiplying it by y⁻² (−x/(5y²): 1.6 ULP at
    x = 2.9e−39, y = 0.5). The Float costs c's own rounding (≤ ½ ULP, 1/5 as 0.2) on top of the product's."""
    return Grouped(N * sp.Float(c, 17))


def _constant_placed(c, N, last, first):
    """The pieces after the written one of the scaled-power rule's chain c·(q·q…/V): ``last`` (the constant multiplies the
    chain's result) and ``first`` (the constant multiplies N before the first division), chosen per element by
    |N|. The constant last leaves the range where the chain N/V^b does and c·(N/V^b) does not: |c| < 1 and
    the chain overflows (∂y of −x/(5y²) = 0.4·x/y³ at x = 1.618e308, y = 0.9: x/y = inf, truth 8.877e307),
    |c| > 1 and the chain goes subnormal (8x/y² at x = 1e−200, y = 1e61: 2 subnormal ULP). The constant first
    leaves it where c·N does: |c| < 1 and c·N subnormal, |c| > 1 and c·N overflows. So first where |N| ≥
    2⁻¹²⁶/|c| (|c| < 1: c·N normal in float32 and float64) or |N| ≤ 2¹²⁷/|c| (|c| > 1: c·N finite in both), last
    elsewhere; as many roundings either way. Left over: float64 chains past both ends at once (|N| < 2⁻¹²⁶/|c|
    with N/V^b > 1.8e308, V^b < 1e−346; or |N| > 2¹²⁷/|c| with N/V^b subnormal, V^b > 1e346). The scaled-square
    rule's c·((N/V)/V) is placed by the printers instead, the constant between the divisions too
    (``_constant_quotients``, session 23: this choice by |N| alone was 432 ULP at c = 1024, N = 1e300,
    V = 1.797e308). Where the chain ends in ((…)/V)/V, the printers place the constant among its last
    two divisions the same way (``chains.quotient_chain``)."""
    if c in (1, -1) or not c.is_Rational:
        return ((last, True),)
    size = abs(c)
    near = sp.Abs(N) >= sp.S(2) ** -126 / size if size < 1 else sp.Abs(N) <= sp.S(2) ** 127 / size
    return ((first, near), (last, True))


_SILU_SLOPE_BELOW = -2  # from here down: beyond the root-series window about −1.2785 (±1.03)


def _silu_slope(node):
    """σ(u)·(1 + u·σ(−u)) (silu′, the derivative of u·σ(u)) → for u < −2, with E = e^u:
    ((1 + u) + E)·E/(1 + E)². Written, u·σ(−u) is ≈ −2.4 at u = −2.6 and 1 + u·σ(−u) ≈ −1.4 cancels its
    rounding (4.9 ULP in float64 at u = −2.31, just outside the root-series window); 1 + u is exact for
    u in [−2^52, 0) where it matters (both multiples of ulp(u), |1 + u| ≤ |u|), and ((1 + u) + E) rounds
    once; it cancels only at the root (−1.2785, where the root-series rule takes over: from −2 up, the
    written form, which the root-series window was measured with). u ≥ 0 as written (every term positive)."""
    if not (node.is_Mul and len(node.args) == 2):
        return None
    for sig, add in (node.args, node.args[::-1]):
        if not (isinstance(sig, sigmoid) and add.is_Add and len(add.args) == 2 and sp.S.One in add.args):
            continue
        u = sig.args[0]
        (term,) = [a for a in add.args if a != 1]
        if sp.expand(term - u * sigmoid(-u)) != 0:
            continue
        E = sp.exp(u)
        negative = (Grouped(1 + u) + E) * E / (1 + E) ** 2
        pieces = [(negative, u < _SILU_SLOPE_BELOW), (node, True)]
        series = _product_root_series(u, node)
        if series is not None:
            # and below −2 the form in the exact u too: 1 + fl(β·x) carries β·x's rounding, |u| times
            # amplified relative to the result's (4.15 ULP in float64 at β = 4.78, x = −3.84, u = −18.4)
            pieces[0] = (widen(negative), pieces[0][1])
            return _Final(_Fired(sp.Piecewise(series, *pieces), ["silu-slope", "product-root-series"]))
        return _Final(_Fired(sp.Piecewise(*pieces), ["silu-slope"]))
    return None


def _rounded_product(u) -> bool:
    """u = c·a·b·… a product of two or more inputs (and a number): rounded once it is formed, and exact
    as a double-word (Dekker's two-product), which the double-word emitter forms from the product itself."""
    return u.is_Mul and len(u.free_symbols) >= 2 and all(f.is_Symbol or f.is_Number for f in u.args)


@functools.lru_cache(maxsize=1)
def _silu_slope_fit():
    """The root-series fit of silu′(u) = σ(u)·(1 + u·σ(−u)) in an exact u, measured with the form the
    silu-slope rule leaves (the root −1.2785, its window and Taylor coefficients; about 2 s, once)."""
    from ..roots import as_written, cancelling_roots

    u = sp.Dummy("u", real=True)
    exact = sigmoid(u) * (1 + u * sigmoid(-u))
    E = sp.exp(u)
    written = sp.Piecewise(((Grouped(1 + u) + E) * E / (1 + E) ** 2, u < _SILU_SLOPE_BELOW), (exact, True))
    fits = cancelling_roots(as_written(exact), without_ite(_share_sigmoid_pairs(written)))
    return fits[0] if len(fits) == 1 else None


def _product_root_series(u, node):
    """The root-series branch of silu′(u) where u is a product of inputs (x·σ(β·x)′ in x): the root-series
    rule's series about u = r ≈ −1.2785 is in the exact u, but u = fl(β·x) is rounded, and near the root
    silu′'s relative condition |u·f′/f| grows without bound (7.7e15 ULP in float64 at β = −1.2784645427610740,
    x = 1; float32 0.5, whose u is exact in float64). d = (((β·x − r1) − r2) − r3) − r4 widened (r to 1e−48, r4
    beyond the root-series rule's three pieces: the exact β·x can be 1e−30 from r): a double-word in a
    float64 kernel (β·x a two-product, exact; the sums as the root-series rule's, rounded once), float64 in a
    float32 one (the float32 product exact there); then d·P(d) as the root-series rule prints it, where
    |d| < w. (RootSeries(d, f, c…), |d| < w), or None where u is no such product or no fit was found."""
    from ..roots import RootSeries

    if not _rounded_product(u):
        return None
    fit = _silu_slope_fit()
    if fit is None:
        return None
    r1, r2, r3 = fit.pieces
    # a fourth piece: the exact β·x is a double-word and can lie 1e−30 from r, where r1 + r2 + r3 (r to some
    # 1e−32) left d = u − r 1e−13 off relative to itself (142 ULP in float64 at β = 0.33377, x = −3.8304)
    with mpmath.workdps(60):
        r4 = float(fit.root - mpmath.mpf(r1) - mpmath.mpf(r2) - mpmath.mpf(r3))
    d = widen(Grouped(Grouped(Grouped(Grouped(u - sp.Float(r1)) - sp.Float(r2)) - sp.Float(r3)) - sp.Float(r4)))
    coefficients = [sp.Float(c, 25) for c in fit.coefficients]
    return RootSeries(d, node, *coefficients), sp.Abs(d) < sp.Float(fit.window)


SILU_SLOPE = Rule(
    "silu-slope", "σ(u)·(1 + u·σ(−u)) (silu′) cancels its terms' rounding below the root-series window "
    "(u < −2), where u·σ(−u) ≈ −2.4 "
    "against 1 (4.9 ULP in float64 at u = −2.31, outside the root-series window); ((1 + u) + e^u)·e^u/(1 + e^u)² "
    "has 1 + u exact and one rounded sum, which cancels only at the root (the root-series rule's)",
    local=_silu_slope)
PRODUCT_ROOT_SERIES = Rule(
    "product-root-series", "silu′(u) = σ(u)·(1 + u·σ(−u)) of a product of inputs u = β·x (x·σ(β·x)′ in x) goes "
    "through 0 at u = −1.2785 where fl(β·x) is rounded: its relative condition |u·f′/f| is unbounded there "
    "(7.7e15 ULP in float64 at β = −1.2784645427610740, x = 1); within the root-series window, d = β·x − r with "
    "β·x a two-product (double-word in float64, float64 in float32: exact) and the root in three pieces, rounded "
    "once, then d·P(d), P silu′'s Taylor polynomial about the root (the root-series rule's fit)")


def _product_pair(node):
    """A whole output c·σ(u)·σ(−u) (∂β of x·σ(β·x): x²·σ(u)·σ(−u)) with u a product of inputs (a term of a
    larger sum is left to the widen rule, which takes the sum whole; rewritten there, the sum held the pair's
    select six times over):
    σ(u)·σ(−u) has relative condition |u·tanh(u/2)| in u, so fl(β·x)'s rounding costs up to |u|/2 ULP, and
    the two σ, x² and two products round five times more (4.04 ULP in float64 at β = −4.09, x = 2.5; 4.02 at
    β = −0.674, x = 3.49, where torch is 2.5). → c·(E − 2E·e/s)/s² with E = e^−|u| of the exact u (a
    two-product, e^ to first order in its lo part; float64 in a float32 kernel, where β·x is exact), s = fl(1 + E)
    and e = E − (s − 1) its rounding (exact: Fast2Sum), the sigmoid-pair rule's product (:func:`_pair_product`).
    Double-word σ twice (about 800 operations) cost 5.5× the kernel on normal data; this, one e^ and a
    two-product."""
    if not isinstance(node, sp.Expr) or not node.is_Mul:
        return node
    sigs = [f for f in node.args if isinstance(f, sigmoid)]
    for s in sigs:
        u = s.args[0]
        if u.could_extract_minus_sign() or sigmoid(-u) not in node.args or not _rounded_product(u):
            continue
        if not all(f.is_Number or f.is_Symbol or isinstance(f, sigmoid) or (f.is_Pow and f.base.is_Symbol and
                   f.exp.is_Integer and 1 <= f.exp <= 4) for f in node.args):
            return node
        rest = sp.Mul(*[f for f in node.args if f != s and f != sigmoid(-u)])
        # σ(u)·σ(−u) = E/(1 + E)² with E = e^−|u| from the exact u (first order in its lo part: below half an
        # ulp), the rounding of s = fl(1 + E) taken back as the sigmoid-pair rule's product does (some 2u)
        E = widen(sp.exp(-sp.Abs(u)), first_order=True)
        one_plus = Grouped(1 + E)
        error = E - Grouped(one_plus - 1)
        # within |u| ≤ 3.4e38 only: beyond, the written form, whose σ(β·x) the overflowed-product rule reads to
        # return the limit where it is inf·0 (u = inf: E = 0 and x² = inf, NaN where the limit is 0)
        # and x·(x·P), one factor at a time: x² overflows float32 from |x| = 1.8e19 where x²·P does not
        # (NaN in the Triton float32 kernel at β = −0.058, x = −3.4e38: inf·0, true 0)
        pair = Grouped(E - 2 * E * error / one_plus) / one_plus ** 2
        number, factors = rest.as_coeff_Mul()
        scaled = _pair_product_call(u, factors)
        if scaled is not None:
            return sp.Piecewise((number * scaled, sp.Abs(u) <= sp.Float(_FLT_MAX, 17)), (node, True))
        for f in sp.Mul.make_args(factors):
            for _ in range(int(f.exp) if f.is_Pow else 1):
                pair = Grouped((f.base if f.is_Pow else f) * pair)
        pair = number * pair
        return sp.Piecewise((pair, sp.Abs(u) <= sp.Float(_FLT_MAX, 17)), (node, True))
    return node


PAIR_PRODUCT_NODE = True  # False: the pair's form in float (benchmarks/elem14.py times the two side by side)


def _pair_product_call(u, factors):
    """m·n·σ(a·b)·σ(−a·b) as sigmoid_pair_product(a, b, m, n) (symnet/special.py, its helpers in symnet/registry.py)
    where u = a·b and ``factors`` are one or two inputs (n = 1 for one): a·b, m·n, (1 + E)² and the numerator by
    Dekker's products, one rounding (x·(x·P) with the pair's form in float rounds five times more: 3.34 ULP in
    float64 on β·x in [−3, 1], torch 2.53; now 1.14 measured, 1.44 over [−40, 40]). None for other shapes (a
    number in u, three inputs in it or in the factors): the pair's form in float stays."""
    if not PAIR_PRODUCT_NODE or not (u.is_Mul and len(u.args) == 2 and all(a.is_Symbol for a in u.args)):
        return None
    scale = []
    for f in sp.Mul.make_args(factors):
        if f.is_Symbol:
            scale.append(f)
        elif f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp > 0:
            scale += [f.base] * int(f.exp)
        else:
            return None
    if not 1 <= len(scale) <= 2:
        return None
    a, b = u.args
    return sigmoid_pair_product(a, b, scale[0], scale[1] if len(scale) == 2 else sp.S.One)


PRODUCT_PAIR = Rule(
    "product-pair", "c·σ(u)·σ(−u) of a product of inputs u = β·x (∂β of x·σ(β·x): x²·σ(u)·σ(−u)): the "
    "rounding of fl(β·x) costs up to |u|/2 ULP (its relative condition is |u·tanh(u/2)|) and the factors round "
    "five times more (4.04 ULP in float64 at β = −4.09, x = 2.5); E/(1 + E)² with E = e^−|u| of the exact u "
    "(β·x a two-product, e^ to first order in its lo part; float64 in float32) and the rounding of 1 + E taken "
    "back (the sigmoid-pair rule's product); where u = a·b and c = m or m·n (inputs): sigmoid_pair_product, "
    "every product by Dekker's and the quotient in double-word, rounded once (3.34 ULP in float64 on β·x in "
    "[−3, 1] with the pair's form in float, torch 2.53; 1.14 now)", apply=_product_pair, fired=lambda old, new: new != old)


_MISH_SLOPE_BELOW = -0.5  # below −0.5: right of the root (−1.1924) so that the root-series window, kept short of this branch, ends inside it


def _mish_slope(node):
    """tanh(softplus(u)) + 4u·σ(u)·σ(−2·softplus(u))·σ(2·softplus(u)) (mish′ after the sech² rule) → for
    −1000 < u < −0.5, with E = e^u and N = 2 + E(2 + E) = 1 + (1 + E)²: E·P/N², P = 4(1 + u) + E((6 + 4u) +
    E(4 + E)) (tanh(log1p E) = E(2 + E)/N, sech² = 4(1 + E)²/N², σ(u) = E/(1 + E), over one denominator).
    Written, the two terms (≈ 0.1 and ≈ −0.2 at u = −2.3) cancel their roundings (7.7 ULP in float64 at
    u = −2.29, 5.2 at −4.8); in P, 4(1 + u) is exact and dominates below −2 (≤ −4 against |E(6 + 4u)| < 0.3).
    The branch starts at −0.5, right of the root (−1.1924): the root-series window stays short of a branch
    point, and one left of the root would leave the written form between the two (9.9 ULP at −1.9455)."""
    if not (node.is_Add and len(node.args) == 2):
        return None
    for th, other in (node.args, node.args[::-1]):
        if not (isinstance(th, sp.tanh) and isinstance(th.args[0], softplus)):
            continue
        u = th.args[0].args[0]
        v = th.args[0]
        if sp.expand(other - 4 * u * sigmoid(u) * sigmoid(-2 * v) * sigmoid(2 * v)) != 0:
            continue
        E = sp.exp(u)
        N = 2 + E * (2 + E)
        # 6 + 4u as 2(3 + 2u), the same rounding: a 4u of its own would be shared with the written branch's
        # 4u·σ(u)·…, which then computes 4u first (−inf at u = −1.8e308, times σ(u) = 0: NaN)
        P = 4 * Grouped(1 + u) + E * (2 * Grouped(3 + 2 * u) + E * (4 + E))
        negative = E * P / N ** 2  # one quotient: (E/N)·(P/N) shares a rounded 1/N (4.0 ULP)
        # down to −1000 (e^−1000 is 0 in every dtype; below, 4(1 + u) overflows at u = −4.5e307 and 0·∞ is NaN)
        where = sp.And(u < _MISH_SLOPE_BELOW, u > -1000)
        series, near = _mish_series(u, node)
        return _Final(_Fired(sp.Piecewise((series, near), (negative, where), (node, True)), ["mish-slope", "mish-series"]))
    return None


# the mish-series window: from −1.0078125 (past the right end of the root-series window about −1.1924,
# −1.0049, whose Piecewise is taken first where the two overlap; its measurement reads this branch as mish′
# itself, roots.as_written, not as a kink that the window must stay short of) to −1/4, about c = −13/16
# (exact; u − c exact by Sterbenz for u in [−1.625, −0.40625], rounded once above); P of degree 30: the last
# term, 1e−20, is below 2^−60 of f (a window that reached −1.0625 moved the measured root window to 0.0625
# and left 5.2 ULP between the two)
_MISH_SERIES = dict(centre=-0.8125, lo=-1.0078125, hi=-0.25, radius=1.125, degree=31)


def _mish_series(u, node):
    """(f(c) + (u − c)·P(u − c), −1.0078 < u < −1/4) for mish′ = ``node`` of argument u: c0 + (ρ + d·P(d)),
    c0 + ρ = mish′(c) as two float64s, d = u − c, P from :func:`roots.centred_coefficients`. The node's
    value is mish′'s at any precision (c0 + ρ + (f − c0 − ρ)); only the printers write the polynomial."""
    from ..roots import CentredSeries, centred_coefficients

    k = _MISH_SERIES
    c0, rho, coefficients = centred_coefficients("mish′", k["centre"], k["radius"], k["degree"])
    c0, rho = sp.Float(c0, 40), sp.Float(rho, 40)  # 40 digits: c0 + ρ exact in any sum of SymPy's
    d = Grouped(u - sp.Float(k["centre"]))
    g = CentredSeries(d, node - c0 - rho, *[sp.Float(c, 25) for c in coefficients])
    return c0 + Grouped(rho + g), sp.And(u > sp.Float(k["lo"]), u < sp.Float(k["hi"]))


MISH_SLOPE = Rule(
    "mish-slope", "tanh(softplus(u)) + u·σ(u)·sech²(softplus(u)) (mish′) cancels its terms' roundings for u < −2 "
    "(7.7 ULP in float64 at u = −2.29, outside the root-series window); from −0.5 down to −1000, over one "
    "denominator, "
    "e^u·(4(1 + u) + e^u((6 + 4u) + e^u(4 + e^u)))/N² with N = 2 + e^u(2 + e^u), 4(1 + u) exact and "
    "dominant", local=_mish_slope)
MISH_SERIES = Rule(
    "mish-series", "mish′ on [−1, −1/4] (between its root-series window and 0) has no cancellation, but a "
    "dozen roundings of one sign add up in e^u·P/N² (the mish-slope form: 4.7 ULP in float64 at u = −0.85) and in "
    "the written form (3.4 ULP at u = −0.4); f(c) + d·P(d) about c = −13/16, with f(c) = c0 + ρ two float64s, "
    "d = u − c exact and P the Taylor polynomial of (f − f(c))/(u − c) (mpmath, 120 digits; degree 30, "
    "truncation < 2^−60), Horner: 2.0 ULP (measured)")


def _gelu_tanh_slope(node):
    """S(u) + u·S′(u) (GELU-tanh′, S = ndtr_tanh, S′ = ndtr_tanh_pdf), among the terms of a sum →
    ndtr_tanh_slope(u), whose helpers compute it for u < −1/4 in double-word arithmetic where it matters."""
    if not node.is_Add:
        return None
    from ...special import ndtr_tanh, ndtr_tanh_pdf, ndtr_tanh_slope

    for s in node.args:
        if isinstance(s, ndtr_tanh):
            u = s.args[0]
            term = u * ndtr_tanh_pdf(u)
            if term in node.args:
                return _Final(_Fired(node - s - term + ndtr_tanh_slope(u), ["gelu-tanh-slope"]))
    return None


GELU_TANH_SLOPE = Rule(
    "gelu-tanh-slope", "S(x) + x·S′(x) (gelu_tanh′, S = σ(v), v = 2√(2/π)(x + 0.044715x³)) has no cancellation "
    "left of its root-series window, but a dozen roundings of one sign add up (5.4 ULP in float64 at x = −3.92, "
    "6.7 at −1.25); for x < −1/4 it is e^v·((1 + x·v′) + e^v)/(1 + e^v)² with x·v′ and 1 + x·v′ in double-word "
    "arithmetic, e^(v + v_l) = e^v(1 + v_l) and the quotient by (1 + e^v)² a small correction below e^v = 1/8: "
    "3.3 ULP at most (measured)", local=_gelu_tanh_slope)


def _gelu_tanh_written(node):
    """GELU-tanh written out: σ(±v(u)), v(u) = 2√(2/π)·(u + 0.044715·u³) (the sigmoid rule's form of
    (1 + tanh(v/2))/2) → ndtr_tanh(±u); c·σ(v)·σ(−v) with c = q·v′(u) → q·ndtr_tanh_pdf(u) (the sech² rule's
    form of its derivative). Then the registry's gelu_tanh rules and helpers apply (gelu-tanh-slope, v in
    double-word arithmetic)."""
    from ...special import _tanh_cdf_argument, ndtr_tanh, ndtr_tanh_pdf

    if isinstance(node, sigmoid):
        a = node.args[0]
        for u in a.free_symbols if len(a.free_symbols) == 1 else ():
            for sign in (1, -1):
                if sp.expand(a - sign * _tanh_cdf_argument(u)) == 0:
                    return _Fired(ndtr_tanh(sign * u), ["gelu-tanh-written"])
        return None
    terms = node.args if node.is_Add else (node,) if node.is_Mul else ()
    pairs = {f.args[0] if not f.args[0].could_extract_minus_sign() else -f.args[0]
             for t in terms for f in sp.Mul.make_args(t) if isinstance(f, ndtr_tanh)}
    for u in sorted(pairs, key=sp.default_sort_key):
        both = ndtr_tanh(u) * ndtr_tanh(-u)
        held = [t for t in terms if {ndtr_tanh(u), ndtr_tanh(-u)} <= set(sp.Mul.make_args(t))]
        if not held:
            continue
        slope = sp.diff(_tanh_cdf_argument(u), u)
        rest = sp.Add(*[t / both for t in held])  # the derivative as differentiated: c₁u³·SS′ + c₂u·SS′ apart
        q = sp.cancel(rest / slope)
        if not q.has(ndtr_tanh) and sp.expand(rest - q * slope) == 0 and sp.count_ops(q) <= sp.count_ops(rest):
            return _Fired(node - sp.Add(*held) + q * ndtr_tanh_pdf(u), ["gelu-tanh-written"])
    return None


GELU_TANH_WRITTEN = Rule(
    "gelu-tanh-written", "GELU-tanh written out, x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), is x·σ(v) with v rounded "
    "in float64 before e^v turns its relative error into |v|·ε (556 ULP at x = −20 in float64, 45 in float32 "
    "at −7.2), and its derivative x·v′·σ(v)σ(−v) is inf·0 = NaN where x³ overflows (x = −3.4e38 in float32); "
    "σ(±v(x)) is S(±x) = ndtr_tanh(±x) and v′σ(v)σ(−v) is S′(x) = ndtr_tanh_pdf(x), the registry's gelu_tanh "
    "(v in double-word arithmetic, S′ 0 where σ(v)σ(−v) underflows)", local=_gelu_tanh_written)


def _log1p_erf(node):
    """log1p(±erf(u)) → log(erfc(∓u)), or log(2Φ(√2·u)) where SymPy writes erfc(−u) back as 2 − erfc(u):
    1 ± erf(u) is formed from a rounded erf(u) near ∓1 and loses every digit there (issue 16)."""
    if not isinstance(node, log1p):
        return None
    c, e = node.args[0].as_coeff_Mul()
    if abs(c) != 1 or not isinstance(e, sp.erf):
        return None
    u = -c * e.args[0]  # 1 + c·erf(w) = erfc(−c·w)
    inner = sp.erfc(u)
    if not isinstance(inner, sp.erfc):  # SymPy wrote erfc(−w) as 2 − erfc(w): 2Φ(√2·w) as the erf-complement rule
        inner = 2 * ndtr(-sp.sqrt(2) * u)
    return _Fired(sp.log(inner), ["log1p-erf"])


LOG1P_ERF = Rule(
    "log1p-erf", "log1p(erf(u)) forms 1 + erf(u) from erf(u) rounded near −1 (u ≪ 0): every digit lost from "
    "u ≈ −6 in float64, and its derivative through softplus, σ(log1p(erf u))·erf′(u)/(1 + erf u), 4.9e4 ULP "
    "off at u = −3.93 in float64 (2.7e13 at −5.5) where the erf-complement rule made the denominator exact; "
    "log(erfc(−u)) = log(2Φ(√2·u)) has no subtraction", local=_log1p_erf)


def _quotient_by_factors(node):
    """c·N/(A·B) with A a sum linear in an input (1 + x) → c·((N/A)/B) where |A| ≥ 2⁶⁰, the written form
    elsewhere: the product A·B overflows where the quotient does not (√x/((1 + x)·log1p(x)²), in
    ∂/∂x of √x/log1p(x), is inf for x ≥ 3.6e302 in float64: 2.5e13 ULP at x = 1e308, issue 16). N/A lies
    between N and the result in magnitude wherever |B| ≥ 1, and rounds as the product did."""
    if not node.is_Mul:
        return None
    dens = [f for f in node.args if f.is_Pow and f.exp.is_negative and not f.base.is_number]
    if len(dens) < 2:
        return None
    big = [f for f in dens if f.exp == -1 and f.base.is_Add and f.base.is_polynomial()
           and any(sp.degree(f.base, s) == 1 for s in f.base.free_symbols)
           and all(sp.degree(f.base, s) <= 1 for s in f.base.free_symbols)]
    if len(big) != 1:
        return None
    (a,) = big
    c, num = sp.Mul(*[f for f in node.args if f not in dens]).as_coeff_Mul()
    if num.is_number:
        return None
    others = sp.Mul(*[f for f in dens if f is not a])
    scaled = c * Grouped(Grouped(num / a.base) * others)
    written = sp.Abs(a.base) < _SCALED_FROM
    return _Final(_Fired(sp.Piecewise((node, written), (scaled, True)), ["quotient-by-factors"]))


QUOTIENT_BY_FACTORS = Rule(
    "quotient-by-factors", "N/(A·B) with A = 1 + x forms the product A·B, which overflows where the quotient "
    "does not (∂/∂x of √x/log1p(x) has √x/((1 + x)·log1p(x)²): inf for x ≥ 3.6e302 in float64, 2.5e13 ULP "
    "at 1e308); from |A| = 2⁶⁰ on, (N/A)/B divides factor by factor", local=_quotient_by_factors)


def _power_merge(node):
    """c·x^k·Piecewise(…, (x^p·R, cond), …) with k < 0 < p (x an input) → the other factors moved into
    every branch, where SymPy writes x^p·x^k as the one power x^(p+k): mish′(u)·u′ with u = log2 x has
    e^u = x^(1/log 2) in the mish-slope branch, 0 in float64 from x = 2e−224 although e^u/x is normal."""
    if not node.is_Mul:
        return None
    pieces = [f for f in node.args if isinstance(f, sp.Piecewise)]
    if len(pieces) != 1:
        return None
    (pw,) = pieces
    rest = [f for f in node.args if f is not pw]
    powers = {f.base: f for f in rest if f.is_Pow and f.base.is_Symbol and f.exp.is_number and f.exp.is_negative}

    def merged(e):  # x^p·R·(c·x^k) → x^(p+k)·R·c, or None (SymPy keeps x^(1/log 2)·x^−1 apart)
        factors = sp.Mul.make_args(e)
        g = next((g for g in factors if (g.is_Pow and g.base in powers and g.exp.is_number and g.exp.is_positive)
                  or g in powers), None)
        if g is None:
            return None
        base, p = (g.base, g.exp) if g.is_Pow else (g, sp.S.One)
        k = powers[base]
        return sp.Mul(sp.Pow(base, p + k.exp), *[f for f in factors if f is not g], *[f for f in rest if f is not k])

    if not powers or all(merged(e) is None for e, _ in pw.args):
        return None
    outer = sp.Mul(*rest)
    branches = [(merged(e) if merged(e) is not None else outer * e, c) for e, c in pw.args]
    return _Final(_Fired(sp.Piecewise(*branches), ["power-merge"]))


POWER_MERGE = Rule(
    "power-merge", "x^k·(… x^p·R …) with k < 0 < p, the second a branch of a Piecewise (mish′(log₂ x)/(x log 2): "
    "the mish-slope branch's e^u = x^(1/log 2) is 0 in float64 at x = 2.9e−231 where the gradient is −9.6e−100) "
    "rounds x^p to 0 (or inf) first; moved into the branches, x^p·x^k is the one power x^(p+k), which does not",
    local=_power_merge)


def _scaled_squares(expr):
    """Every product of ``expr`` that :func:`_scaled_square` rewrites, rewritten."""
    if not isinstance(expr, sp.Basic):
        return expr
    return _replaced(expr, lambda n: isinstance(n, sp.Mul) and _scaled_square(n) is not None,
                     lambda n: _scaled_square(n).expr.expr)


SCALED_SQUARE = Rule(
    "scaled-square", "d²/V with d = x − t overflows at |d| > 1.3e154 in float64 (1.8e19 in float32) although "
    "d²/V is finite for V > 1 (the Gaussian NLL (x − t)²/v, and its ∂v, (x − t)²/v²: NaN/inf at x − t = 1e155, "
    "v = 1e10); from |d| = 2⁶⁰ on, d·(d/V) and (d/V)·(d/V) (the number on the quotient) round as often and do "
    "not overflow before the result does",
    apply=_scaled_squares, fired=lambda old, new: new != old)

def _bounded(f) -> bool:
    """f is at most 1 in magnitude (σ, tanh, sin, cos, erf and their positive powers): s^n·f underflows
    only where s^n does (y²·σ(z)² is left as written)."""
    base = f.base if f.is_Pow and f.exp.is_positive else f
    return bool(f.is_number) or type(base).__name__ in ("sigmoid", "tanh", "sin", "cos", "erf")


def _power_product(node):
    """c·s^n·Y → c·s·(s·(…(s·Y))), s an input, n ≥ 2, Y a product in other inputs too: s^n underflows
    (or overflows) where s^n·Y does not (the far focal loss t²·w·CE, t = 9.1e−161, z = −1e279: t² is
    subnormal, 3.2e11 ULP; its ∂t, −t²·z·w at t = 2.9e−207: t² is 0). Each partial product s^k·Y lies
    between Y (an input's function) and the result in magnitude, so none of them over- or underflows
    where neither does; n roundings either way."""
    if not node.is_Mul:
        return None
    powers = [f for f in node.args if f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp >= 2]
    if len(powers) != 1:
        return None
    (q,) = powers
    if any(f.is_Pow and f.exp.is_Integer and f.exp <= -2 and not f.base.is_number for f in node.args):
        return None  # s^n/V^k: shared-powers' (s/V)^min(n, k) (h-xfail33: y²/(x²·Φ²) as y·(y·x⁻²·Φ⁻²), x⁻²·Φ⁻² = 0)
    s, n = q.base, int(q.exp)
    coeff, factors = node.as_coeff_mul()
    rest = sp.Mul(*[f for f in factors if f != q])  # by value: as_coeff_mul may hand out equal copies
    if not (rest.free_symbols - {s}) or n > 8 or all(_bounded(f) for f in sp.Mul.make_args(rest)):
        return None
    inner = rest
    for _ in range(n):
        inner = Grouped(s * inner)
    return coeff * inner


def _power_products(expr):
    """Every product of ``expr`` that :func:`_power_product` rewrites, rewritten."""
    if not isinstance(expr, sp.Basic):
        return expr
    return _bottom_up(expr, lambda node: (_power_product(node) or node) if node.is_Mul else node,
                      (WidenedBase, sp.UnevaluatedExpr))


def _scaled_power(node):
    """c·N^a/V^b (a, b ≥ 1, a + b ≥ 3, at most 8 each; N an input or a sum of inputs, V not a number, N and V
    in different inputs, or N a sum with a ≥ 3, widened: ((x + y)/y)⁴) → c·q·q·…/V·… with q = N/V: min(a, b) factors q and |a − b| factors N (a > b) or
    divisions by V (b > a), interleaved evenly (Bresenham), a division first. N^a and V^b are never formed:
    d²/v³ at v = 1e−300 is v³ = 0 and d²/v³ = 0/0 = NaN at d = 0 (true 0), or 1e−600/0 where the true value
    is finite. The partial products q/V, q²/V, … of d²/v³ are a geometric sequence from q/V to the result,
    so none leaves the range where both ends lie in it (for b = a + 1 every partial lies between q and the
    result). Where :func:`_scaled_square` applies (d²/V, d²/V², N/V²), that rule's form instead."""
    if not node.is_Mul or _scaled_square(node) is not None:
        return None
    ups, downs = [], []
    for f in node.args:
        if f.is_number:
            continue
        base, k = _power_parts(f)
        if k < 0 and not base.is_number:
            downs.append((f, base, -k))
        elif k >= 1 and (base.is_Symbol or (base.is_Add and len(base.free_symbols) >= 2)):
            ups.append((f, base, k))
    if len(ups) != 1 or len(downs) != 1:
        return None
    (up, N, a), (down, V, b) = ups[0], downs[0]
    if a + b < 3 or a > 8 or b > 8 or not V.free_symbols:
        return None
    # N and V in one input too where N is a sum raised three times or more (widened below): ((x + y)/y)⁴ rounded x + y
    # and took it four times over, 4.28 ULP at (1.466e−179, −6.697e−180) in float64 (torch 3.28; session 38)
    if N.free_symbols & V.free_symbols and not (N.is_Add and a >= 3):
        return None
    c, rest = sp.Mul(*[f for f in node.args if f is not up and f is not down]).as_coeff_Mul()
    q = Grouped(N / V)
    k, m = min(a, b), abs(a - b)

    def chain(start):
        running, used_q, used_m = start, 1, 0
        while used_q < k or used_m < m:
            # an extra step (·N or /V) where its share of the sequence is behind, divisions first
            if used_m < m and (used_q == k or used_m * k <= (used_q - 1) * m + (m > k or b > a) * (m - 1)):
                running = Grouped(running / V) if b > a else Grouped(running * N)
                used_m += 1
            else:
                running = Grouped(running * q)
                used_q += 1
        return running

    running = chain(q)
    scaled = rest * (c * running if c == 1 or c == -1 else Grouped(c * running))
    # the constant into the first quotient where the chain would leave the range and the result not
    pieces = _constant_placed(c, N, scaled, rest * chain(Grouped(_times_constant(c, N) / V)))
    # the written form where N^a and V^b are normal in float32 (|N|, |V| within 2^±(120/max(a, b)), at most
    # 2^±60 as the scaled-square rule's): fewer roundings there (N's own rounding taken a times over by
    # q^a, N^a/V^b rounds it once more), and what the rest of the range was measured with
    k = sp.S(2) ** min(60, 120 // max(a, b))
    written = (sp.Abs(N) < k) & (sp.Abs(N) > 1 / k) & (sp.Abs(V) < k) & (sp.Abs(V) > 1 / k)
    out = sp.Piecewise((node, written), *pieces)
    if N.is_Add and a >= 3:  # N's rounding taken a times over ((x − t)⁴/v⁵: 4.2 ULP in float64): double-word
        out = widen(out)
    return _Final(_Fired(out, ["scaled-power"]))


def _scaled_powers(expr):
    """Every product of ``expr`` that :func:`_scaled_power` rewrites, rewritten (bottom up, each node once)."""
    if not isinstance(expr, sp.Basic):
        return expr
    def rewrite(node):
        found = _scaled_power(node) if node.is_Mul else None
        return node if found is None else found.expr.expr

    return _bottom_up(expr, rewrite, (WidenedBase, sp.UnevaluatedExpr))


SCALED_POWER = Rule(
    "scaled-power", "N^a/V^b forms N^a and V^b, which leave float64's range where the quotient does not: "
    "d²/v³ (∂/∂v of log v + d²/(2v²), a Gaussian NLL in the standard deviation) is 0/0 = NaN at d = 0, "
    "v = 1e−300 (v³ = 0) and inf or 0 at v = 1e−160 or 1e120; x³/y⁴, (x − t)⁴/v⁵ the same; as q = N/V "
    "multiplied min(a, b) times, with the |a − b| remaining factors N or divisions by V interleaved (a "
    "division first), each partial product lies on a geometric sequence from q/V (or q·N) to the result, "
    "and the roundings are as many as the written form's or fewer; written as is where N and V lie within "
    "2^±(120/max(a, b)), and in double-word (widened) where N is a difference and a ≥ 3 (its rounding taken "
    "a times over: (x − t)⁴/v⁵ 4.2 ULP in float64 at v = 2.5, 0.5 widened)",
    apply=_scaled_powers, fired=lambda old, new: new != old)


POWER_PRODUCT = Rule(
    "power-product", "s^n·Y (s an input, Y in other inputs) rounds s^n first, which underflows where the "
    "product does not (the far focal loss t²·w·CE at t = 9.1e−161, z = −1e279: t² is subnormal, 3.2e11 ULP "
    "in float64; its ∂t, −t²·z·w at t = 2.9e−207: t² = 0); s·(s·Y) has each partial product between Y and "
    "the result in magnitude, and as many roundings", apply=_power_products, fired=lambda old, new: new != old)


# (from the rounded-argument block of rewrite.py: the split script moved it here, to the first module that uses it)
def _exact_argument(v) -> bool:
    """v is a float the generated code holds without rounding: a number, an input, ±2^k times one, a max/min of
    such (and the two-sum pairs, which correct their own rounding)."""
    if v.is_number or v.is_Symbol or isinstance(v, sp.Indexed):
        return True
    if isinstance(v, (sp.Max, sp.Min, sp.Abs)):  # |u| of an input: log-cosh's e^(−2|u|)
        return all(_exact_argument(a) for a in v.args)
    c, rest = v.as_coeff_Mul()
    if c == 1 or c == 0 or rest == v:
        return False
    m, k = __import__("math").frexp(abs(float(c)))
    return m == 0.5 and sp.Rational(float(c)) == c and _exact_argument(rest)  # c = ±2^k exactly


# ------------------------------------------------------------------ removable-series (issue 16: tanh(x)/x′ =
# (1 − tanh²x)/x − tanh(x)/x² cancels without bound as x → 0 and is 0/0 at 0); the analysis is in roots.py
# (removable_fit), tested in tests/test_elem10.py


def _negative_power_of(node, x) -> bool:
    return any(p.base == x and p.exp.is_negative for p in node.atoms(sp.Pow))


def _removable_node(node):
    """node (one free symbol x, written with a negative power of x) → Piecewise((ZeroSeries, |x| < w), (node,
    True)) where its limit at 0 is finite and a window helps (:func:`symnet.codegen.roots.removable_fit`), else None."""
    from ..roots import SeriesBase, removable_fit

    symbols = node.free_symbols
    if len(symbols) != 1 or node.has(sp.Indexed, SeriesBase):
        return None
    (x,) = symbols
    if not isinstance(x, sp.Symbol) or not _negative_power_of(node, x):
        return None
    fit = removable_fit(node, without_ite(_share_sigmoid_pairs(node)))
    if fit is None:
        return None
    return _fitted_series(node, x, fit)


def _homogeneous_degree(math, x, y, product=False):
    """k where f(s·x, s·y) = s^k·f(x, y) at three random points and s = 3 (mpmath, 60 digits: f = y^k·G(x/y)),
    else None. ``product``: f(s·x, y/s) = s^k·f(x, y) instead (f = x^k·G(x·y))."""
    import random

    import mpmath
    try:
        f = sp.lambdify((x, y), math, "mpmath")
        rng, degrees = random.Random(20), set()
        with mpmath.workdps(60):
            for _ in range(3):
                a, b = mpmath.mpf(rng.uniform(0.2, 2)), mpmath.mpf(rng.uniform(0.2, 2))
                ratio = f(3 * a, b / 3 if product else 3 * b) / f(a, b)
                k = mpmath.log(abs(ratio), 3)
                if ratio <= 0 or abs(k - mpmath.nint(k)) > mpmath.mpf(10) ** -40:
                    return None
                degrees.add(int(mpmath.nint(k)))
    except Exception:  # noqa: BLE001 - a form mpmath cannot evaluate (a NaN, a division by 0): not this rule's
        return None
    return degrees.pop() if len(degrees) == 1 else None


def _scale_positive(math, x, y, k):
    """True where f(−x, −y) = (−1)^k·f(x, y) does not hold (mpmath, 60 digits, three points of either sign): f is
    homogeneous for a positive scale only (√(x² + y²), |x|), so f = y^k·G(x/y) holds where y > 0 alone (x^k·G(x·y)
    where x > 0). Session 48: 2·atan((√(x² + y²) − x)/y), the angle of (x, y), was −1e−10 for π − 1e−10 at x = −1, y = 1e−10
    (the series of its x > 0 side taken for |y/x| < 0.4375 on both)."""
    import random

    import mpmath
    try:
        f = sp.lambdify((x, y), math, "mpmath")
        rng = random.Random(48)
        with mpmath.workdps(60):
            for _ in range(3):
                a = mpmath.mpf(rng.uniform(0.2, 2) * rng.choice((-1, 1)))
                b = mpmath.mpf(rng.uniform(0.2, 2) * rng.choice((-1, 1)))
                want, got = (-1) ** k * f(a, b), f(-a, -b)
                if abs(got - want) > mpmath.mpf(10) ** -40 * max(abs(want), 1):
                    return True
    except Exception:  # noqa: BLE001 - a form mpmath cannot evaluate there: the positive side alone
        return True
    return False


def _near_zero(g, v):
    """``g`` with each Max and Min whose arguments differ at v = 0 replaced by the one it takes there (quotient-square's
    max(|x|, |y|) at y = 1 is 1 near x = 0): the form about 0 that a series is fitted to."""
    def pick(e):
        at = [a.subs(v, 0) for a in e.args]
        if not all(a.is_number and a.is_real for a in at):
            return e
        best = max(at) if isinstance(e, sp.Max) else min(at)
        return e.args[at.index(best)] if at.count(best) == 1 else e
    return g.replace(lambda e: isinstance(e, (sp.Max, sp.Min)), pick)


def _removable_quotient(node):
    """node in two inputs x, y with a negative power of x, holding a function (atan), and homogeneous:
    f = y^k·G(x/y) (atan(x/y)/x and its derivatives) → {y^k·(the removable series of G in v = x/y) if |v| < w;
    node otherwise}, G fitted as :func:`_removable_node` fits a function of one input; None elsewhere."""
    from ..roots import SeriesBase, ZeroSeries, removable_fit

    symbols = sorted(node.free_symbols, key=str)
    if len(symbols) != 2 or node.has(sp.Indexed, SeriesBase, WidenedBase) or not all(
            isinstance(s, sp.Symbol) for s in symbols):
        return None
    math = _as_math(node)
    if not any(isinstance(n, sp.Function) and not isinstance(n, (sp.Max, sp.Min, sp.Abs, sp.sign))
               for n in sp.preorder_traversal(math)):
        return None
    for x, y in (symbols, symbols[::-1]):
        if not _negative_power_of(math, x):
            continue
        k = _homogeneous_degree(math, x, y)
        if k is None:
            continue
        v = sp.Dummy("v", real=True)
        g = _near_zero(math.xreplace({x: v, y: sp.Integer(1)}), v)
        fit = removable_fit(g)
        if fit is None:
            continue
        series = ZeroSeries(v, g, sp.Integer(fit.power), sp.Integer(fit.stride),
                            *[sp.Float(c, 25) for c in fit.coefficients])
        q = Grouped(x / y)
        window = sp.Abs(q) < sp.Float(fit.window)
        if _scale_positive(math, x, y, k):
            window = sp.And(window, y > 0)
        return sp.Piecewise((y ** k * series.xreplace({v: q}), window), (node, True))
    return None


def _fitted_series(node, x, fit):
    """node as Piecewise((its series about 0, |x| < window), …): past the window the written form, widened within
    the fit's measured reach where it still cancels beyond the bound (log1p(x)/x′ = 1/(x(1 + x)) − log1p(x)/x²: 7× at
    x = 0.8, 4.7 ULP in float64), as the root-series rule does."""
    from ..roots import ZeroSeries

    coefficients = [sp.Float(c, 25) for c in fit.coefficients]
    series = ZeroSeries(x, node, sp.Integer(fit.power), sp.Integer(fit.stride), *coefficients)
    inside = (series, sp.Abs(x) < sp.Float(fit.window))
    if fit.reach == 0:
        return sp.Piecewise(inside, (node, True))
    if math.isinf(fit.reach) or _periodic_trig_sum(node):  # (trig47: a trig sum cancels at each of its roots)
        return sp.Piecewise(inside, (widen(node), True))
    return sp.Piecewise(inside, (widen(node), sp.Abs(x) < sp.Float(fit.reach)), (node, True))


def _one_input_group(node, rewrite, combine, visit):
    """``node`` (a product or sum of several inputs) with its first group of two or more arguments of one and the
    same input rewritten whole by ``rewrite`` (x − tan x + y: x − tan x; a factor sin(x)/x·y: sin(x)/x), combined
    with the other arguments visited; None where ``rewrite`` takes no such group."""
    groups: dict = {}
    for f in node.args:
        if len(f.free_symbols) == 1:
            groups.setdefault(next(iter(f.free_symbols)), []).append(f)
    for group in groups.values():
        if len(group) >= 2:
            found = rewrite(combine(*group))
            if found is not None:
                rest = [f for f in node.args if f not in group]
                return combine(found, *[visit(f) for f in rest], evaluate=False)
    return None


def _removable_series(expr):
    """Every largest subexpression of ``expr`` that :func:`_removable_node` rewrites, rewritten (top down: the
    whole derivative tanh(x)/x′, not its terms; in a product, its factors in one variable together: y·tanh(x)/x)."""
    if not isinstance(expr, sp.Expr):
        return expr
    # the pass below asks every node for its symbols (quadratic in a deep graph): only where some input's
    # negative power is there at all (σ nested 32 deep has none: 5 s of the rewrite's 2 s budget otherwise)
    powers = {p for p in _atoms(expr, sp.Pow) if p.base.is_Symbol and p.exp.is_negative}
    if not powers:
        return expr
    memo: dict = {}

    def visit(node):
        if node in memo:
            return memo[node]
        if not node.args or isinstance(node, (WidenedBase, sp.Indexed)) or not node.has(*powers):
            return node
        new = _removable_node(node) if isinstance(node, sp.Expr) else None  # (a Piecewise's pairs: entered)
        if new is None and isinstance(node, sp.Expr) and len(node.free_symbols) == 2:
            new = _removable_quotient(node)  # atan(x/y)/x: a function of x/y times a power of y
        if new is None and node.is_Mul and len(node.free_symbols) > 1:
            new = _one_input_group(node, _removable_node, sp.Mul, visit)
        if new is None:
            args = tuple(visit(a) for a in node.args)
            new = node.func(*args) if args != node.args else node
        memo[node] = new
        return new

    return visit(expr)


REMOVABLE_SERIES = Rule(
    "removable-series", "f(x)/x^k with a finite limit at 0 (tanh(x)/x, sin(x)/x, expm1(x)/x, log1p(x)/x, "
    "(1 − cos x)/x² and their derivatives) is 0/0 at x = 0, and a derivative such as tanh(x)/x′ = (1 − tanh²x)/x − "
    "tanh(x)/x², terms of size 1/x whose sum is −2x/3, cancels without bound as x → 0 (inf×8 in float64, "
    "9.8e46 ULP at x = −5.9e−22 in float32; torch the same); within a measured window |x| < w the Taylor "
    "polynomial about 0 (in x² where f is even or odd: P(x²) or x·P(x²); coefficients from f at 72 Chebyshev "
    "points at 120 digits, the degree whose truncation is below 2⁻⁶⁰ of |f| over the window, checked against f at "
    "50 digits), Horner, its value at 0 the limit; w (a power of 2 from 2⁻¹⁰, or a multiple of 1/32 up to 0.45 of "
    "the radius of convergence) the one whose worst error, the series inside and the written form outside, "
    "measured in float64 and float32 against mpmath, is least. Where the written form past the window is measured "
    "beyond 3 ULP (float64) or 6 (float32) (log1p(x)/x′ = 1/(x(1 + x)) − log1p(x)/x², whose terms cancel 7× at "
    "x = 0.8: 4.74 ULP in float64), it is computed there as the widen rule computes a sum (double-word in float64 "
    "where its error bound is not within 3u, float64 in float32) and rounded once, and so is a sum of sines and "
    "cosines of x over powers of x everywhere past the window, which cancels at each of its roots however far out "
    "(sin x·cos x/x′ = cos²x/x − sin²x/x − sin x·cos x/x²: 155 ULP in float64 at x = ±U(80, 100), torch 283); a node "
    "in two inputs that is "
    "y^k·G(x/y) (atan(x/y)/x and its ∂x, 1/(x·y·(1 + x²/y²)) − atan(x/y)/x²: −5.6e14 for −2.5e−29 at x = 1e−30, "
    "y = 0.3; homogeneity checked at 60 digits) the same, G's series in v = x/y",
    apply=_removable_series, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ one-minus-cos and vanishing-series (issue 16,
# session 21: a sum of one input whose terms meet at 0, x − sin x, 1 − cos x, e^x − 1 − x, log(1 + x) − x, sinh x − x,
# x − tan x, cos x − 1 + x²/2, was 7.3e15 ULP in float64 near 0: the widen rule takes sums of two inputs only); tested
# in tests/test_cancel21.py


def _one_minus_cos(node):
    """c + a·cos(u) + … with c = −a (a number) → −2a·sin²(u/2) + …, else None."""
    if not node.is_Add:
        return None
    constants = [t for t in node.args if t.is_number]
    if len(constants) != 1 or not constants[0].is_real or constants[0] == 0:
        return None
    c = constants[0]
    for term in node.args:
        a, f = term.as_coeff_Mul()
        if isinstance(f, sp.cos) and f.args[0].free_symbols and a == -c:
            half = sp.sin(f.args[0] / 2)
            return _Fired(node - term - c - 2 * a * half ** 2, ["one-minus-cos"])
    return None


ONE_MINUS_COS = Rule(
    "one-minus-cos", "1 − cos u cancels where cos u ≈ 1 (u near 0 and near every 2πk: 0 for 5e−17 at "
    "x = −1.0e−8 in float64, 8.1e15 ULP; 1.6e7 ULP in float32 at x = 16π), each term rounded to an ulp of 1; "
    "2·sin²(u/2) is the same number (an identity) with no subtraction: u/2 exact, sin(u/2) rounded relative to itself",
    local=_one_minus_cos)


# ------------------------------------------------------------------ half-angle-quotient (issue 16, session 26: ∂ of
# √(1 − cos x), which the one-minus-cos rule writes √2·|sin(x/2)|, is √2·sin x/(4·|sin(x/2)|), and x/2 of a subnormal x
# is rounded: inf at x = 5e−324 (x/2 is 0), 2.6e7 ULP at 1e−315; truth 1/√2); tested in tests/test_exp26.py

_HALF_ANGLE_TINY = sp.Float(2.0 ** -125)  # |u| below which u/2 may be rounded in float32 (subnormal from 2⁻¹²⁶; float64
# from 2⁻¹⁰²²) and cos(u/2) = 1 − u²/8 is 1 in both dtypes


def _half_angle_quotient(node):
    """sin(u)^k·|sin(u/2)|^−k·G or sin(u)^k·sin(u/2)^−k·G (k a positive integer) → (2·sign u)^k·G, resp. 2^k·G, where
    0 < |u| < 2⁻¹²⁵ (sin u/|sin(u/2)| = 2·cos(u/2)·sign(sin(u/2)), cos(u/2) = 1 there), the node elsewhere (at u = 0 the
    quotient 0/0 has no value, as written); None for any other node."""
    if not node.is_Mul:
        return None
    sines, halves = {}, {}
    for f in node.args:
        base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if not k.is_Integer:
            continue
        if isinstance(base, sp.sin) and k > 0:
            sines[base.args[0]] = (f, k)
        inner = base.args[0] if isinstance(base, sp.Abs) else base
        if isinstance(inner, sp.sin) and k < 0:
            halves[inner.args[0]] = (f, k, isinstance(base, sp.Abs))
    for u, (f, k) in sines.items():
        half = halves.get(u / 2)
        if half is None or half[1] != -k or not u.free_symbols:
            continue
        rest = sp.Mul(*[g for g in node.args if g is not f and g is not half[0]])
        near = (2 * sp.sign(u)) ** k if half[2] else sp.Integer(2) ** k
        return sp.Piecewise((near * rest, sp.And(sp.Abs(u) < _HALF_ANGLE_TINY, sp.Abs(u) > 0)), (node, True))
    return None


def _half_angle_quotients(expr):
    if not isinstance(expr, sp.Expr) or not expr.has(sp.sin):
        return expr
    return _top_down(expr, _half_angle_quotient, leaves=_KEPT)


HALF_ANGLE_QUOTIENT = Rule(
    "half-angle-quotient", "sin u/|sin(u/2)| (the one-minus-cos rule's 2·sin²(u/2) under a root, divided into its "
    "derivative: ∂√(1 − cos x) = √2·sin x/(4·|sin(x/2)|)) rounds u/2 where u is subnormal (0 at u = 5e−324: inf "
    "there, truth 1/√2; 2.6e7 ULP at 1e−315), though both sines are exact multiples of u; it is 2·cos(u/2)·sign(u) "
    "(an identity where sin(u/2) has the sign of u), 2·sign(u) below |u| = 2⁻¹²⁵, where cos(u/2) is 1 in both dtypes "
    "(float32: inf at x = 1.4e−45, 13 ULP at 1e−40 before)",
    apply=_half_angle_quotients, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ vanishing-quotient (session 25: ∂c of a softcap
# c·tanh(x/c), tanh(u) − u·sech²(u) with u = x/c, is 2u³/3 from terms of size u: the widen rule's double word held it
# to |u| ≈ 1e−10 and lost it below, 9.0e6 ULP in float64 at u = 1.4e−20, 0 for 1.9e−90 at u = 1.4e−30; the
# vanishing-series rule takes sums of one input, and ran after the widen rule had taken this one); tested in
# tests/test_misc25.py


def _scale_free(math, x, y, product=False) -> bool:
    """Every function of ``math`` (but max, min, |·|, sign) takes arguments unchanged by x, y → s·x, s·y (x/y, 2y/x;
    ``product``: by x, y → s·x, y/s, x·y): a cheap test before the numeric one of :func:`_homogeneous_degree`."""
    s = sp.Dummy("s", positive=True)
    scaled = {x: s * x, y: y / s if product else s * y}
    found = False
    for n in sp.preorder_traversal(math):
        if isinstance(n, sp.Function) and not isinstance(n, (sp.Max, sp.Min, sp.Abs, sp.sign)):
            if any(a.xreplace(scaled) != a for a in n.args):
                return False
            found = True
    return found


def _computes_the_same(node, math, symbols) -> bool:
    """Whether ``math`` (:func:`_as_math`'s form: every select's last branch) is ``node`` at four points of both signs
    (30 digits); True where ``node`` cannot be evaluated there. A select whose last branch is a domain's default is not
    the formula (session 36, h-search36: kl_div(x, y)'s {y·(log y − x) if y > 0; 0} taken as 0 made
    ndtr(x/y) − ndtr(kl_div(x, y)) the series of ndtr(x/y) − 1/2: 0.0120 for −0.488 at (0.3, 10), torch 0.61 ULP)."""
    for a, b in ((0.3, 1.7), (-0.7, 2.3), (0.9, -1.3), (-1.1, -0.6)):
        at = dict(zip(symbols, (sp.Float(a, 30), sp.Float(b, 30))))
        try:
            want, got = complex(node.xreplace(at).evalf(30)), complex(math.xreplace(at).evalf(30))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if not (cmath.isfinite(want) and cmath.isfinite(got)):  # (e^1000·x: abs of an infinite complex overflows)
            continue
        if abs(want - got) > 1e-20 * max(abs(want), 1e-300) and want == want and got == got:
            return False
    return True


def _vanishing_quotient(node):
    """node, a sum in two inputs x, y holding a function, homogeneous (y^k·G(x/y)) with G(v) a sum that is 0 at v = 0
    where its terms cancel (∂c of c·tanh(x/c): tanh(x/c) − (x/c)·sech²(x/c)) → {y^k·(G's series in v = x/y) if
    |x/y| < w; node otherwise} (G fitted as :func:`_vanishing_node` fits a sum of one input, fired where G as written
    is measured past the bound inside the window); None elsewhere."""
    from ..roots import OUTSIDE_ULP, SeriesBase, ZeroSeries, removable_fit

    symbols = sorted(node.free_symbols, key=str)
    if not node.is_Add or len(symbols) != 2 or not all(isinstance(s, sp.Symbol) for s in symbols) or node.has(
            sp.Indexed, SeriesBase):
        return None
    math = _as_math(node)
    if not math.is_Add or not _computes_the_same(node, math, symbols):
        return None
    if not _scale_free(math, *symbols):
        return _product_quotient(node, math, symbols) if _scale_free(math, *symbols, product=True) else None
    for x, y in (symbols, symbols[::-1]):
        v = sp.Dummy("v", real=True)
        try:
            g = _near_zero(math.xreplace({x: v, y: sp.Integer(1)}), v)
        except Exception:  # noqa: BLE001 - a form SymPy cannot rebuild at y = 1: not this rule's
            continue
        if not g.is_Add or g.is_polynomial(v) or not _vanishes_at_zero(g, v):
            continue
        k = _homogeneous_degree(math, x, y)
        if k is None:
            continue
        fit = removable_fit(g)
        if fit is None or all(fit.written_inside.get(n, 0.0) <= OUTSIDE_ULP[n] for n in OUTSIDE_ULP):
            continue
        series = ZeroSeries(v, g, sp.Integer(fit.power), sp.Integer(fit.stride),
                            *[sp.Float(c, 25) for c in fit.coefficients])
        q = Grouped(x / y)
        window = sp.Abs(q) < sp.Float(fit.window)
        if _scale_positive(math, x, y, k):
            window = sp.And(window, y > 0)
        return sp.Piecewise((y ** k * series.xreplace({v: q}), window), (node, True))
    return None


PRODUCT_WINDOW = 2.0 ** -10  # the product-quotient series' widest window: x·y rounded once costs |v·G′/G|·ε there


def _product_quotient(node, math, symbols):
    """node, a sum in two inputs x, y holding negative powers of y, that is x^k·G(x·y) (k ≥ 1; Snake's ∂α,
    2x·sin(αx)·cos(αx)/α − sin²(αx)/α² = x²·G(αx)) with G removable at 0 → {x^k·(G's series in v = x·y) if
    |x·y| < w; node otherwise}: as written each term is a power of v over y^k, which underflows where v is small
    (sin²(αx) subnormal) though the sum is x^k·G(0); None elsewhere."""
    from ..roots import ZeroSeries, removable_fit

    for x, y in (symbols, symbols[::-1]):
        if not _negative_power_of(math, y):
            continue
        k = _homogeneous_degree(math, x, y, product=True)
        if k is None or k < 1:
            continue
        v = sp.Dummy("v", real=True)
        try:
            g = _near_zero(math.xreplace({x: sp.Integer(1), y: v}), v)
        except Exception:  # noqa: BLE001 - a form SymPy cannot rebuild at x = 1: not this rule's
            continue
        fit = removable_fit(g, reach=False)
        if fit is None or fit.power != 0:
            continue
        series = ZeroSeries(v, g, sp.Integer(fit.power), sp.Integer(fit.stride),
                            *[sp.Float(c, 25) for c in fit.coefficients])
        q = Grouped(x * y)
        # (x^k overflows only where the result does: G(v) = G(0)·(1 + O(v)) in the window)
        inside = x ** k * series.xreplace({v: q})
        window = sp.Abs(q) < sp.Float(min(fit.window, PRODUCT_WINDOW))
        if _scale_positive(math, x, y, k):
            window = sp.And(window, x > 0)
        return sp.Piecewise((inside, window), (node, True))
    return None


def _two_input_sums(expr, rewrite):
    """``expr`` with every largest sum in two inputs that ``rewrite`` takes (not None) rewritten, top down: the walk
    of the vanishing-quotient and log1p-series rules."""
    from ..roots import SeriesBase

    memo: dict = {}

    def visit(node):
        if node in memo:
            return memo[node]
        if not node.args or isinstance(node, (WidenedBase, sp.Indexed, SeriesBase, sp.logic.boolalg.Boolean)):
            return node
        new = rewrite(node) if node.is_Add and len(node.free_symbols) == 2 else None
        if new is None:
            args = tuple(visit(a) if isinstance(a, sp.Basic) else a for a in node.args)
            new = node.func(*args) if args != node.args else node
        memo[node] = new
        return new

    return visit(expr)


def _vanishing_quotients(expr):
    """Every largest sum in two inputs of ``expr`` that :func:`_vanishing_quotient` rewrites, rewritten (top down)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Add):
        return expr
    return _two_input_sums(expr, _vanishing_quotient)


VANISHING_QUOTIENT = Rule(
    "vanishing-quotient", "a sum in two inputs that is y^k·G(x/y), G(v) a sum whose terms meet at v = 0 (∂c of a "
    "softcap c·tanh(x/c): tanh(u) − u·sech²(u) = 2u³/3 − …, u = x/c, each term rounded to an ulp of u: the widen "
    "rule's double word held it to |u| ≈ 1e−10 and lost it below, 9.0e6 ULP in float64 at u = 1.4e−20, 0 for "
    "1.9e−90 at u = 1.4e−30; torch 0 at both) is, within a measured window |x/y| < w, y^k times G's Taylor "
    "polynomial in v = x/y (the vanishing-series fit of G: P(v²) or v·P(v²), coefficients from G at 72 Chebyshev "
    "points at 120 digits, truncation below 2⁻⁶⁰, checked at 50 digits; Horner), x/y rounded once; homogeneity "
    "checked at 60 digits, every function's argument unchanged by scaling x and y together; fired where G as "
    "written is measured past 3 ULP (float64) or 6 (float32) inside the window; past it, the sum as before (the "
    "widen rule's). A sum in two inputs holding negative powers of y that is x^k·G(x·y) (k ≥ 1; Snake's ∂α, "
    "2x·sin(αx)·cos(αx)/α − sin²(αx)/α² = x²·G(αx): its terms powers of αx over α², sin²(αx) subnormal at "
    "α = −0.00256, x = −1.95e−154, 13,098 ULP in float64, torch 12,426) is x^k times G's removable series in "
    "v = x·y within |v| < min(w, 2⁻¹⁰) (x·y rounded once costs |v·G′/G|·ε, small there), the sum as before past it",
    apply=_vanishing_quotients, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ log1p-series (session 25: ∂ν of the Student-t NLL
# ½(ν + 1)·log(1 + x²/ν) is ½[log1p(a) − a/(1 + a)] − a/(2ν(1 + a)), a = x²/ν, whose first part is a²/2 − … from terms
# of size a: 92 ULP in float64 at ν = 30, x = 1, 2.1e3 at ν = 1e3, 1.4e6 at ν = 1e6; torch 988, 3.2e6, 8.2e11);
# tested in tests/test_misc25.py


def _log1p_monomial(math):
    """The one monomial M of two inputs whose log(1 + M) or log1p(M) ``math`` holds, else None."""
    found = set()
    for n in sp.preorder_traversal(math):
        if isinstance(n, log1p):
            found.add(n.args[0])
        elif isinstance(n, sp.log) and n.args[0].is_Add and len(n.args[0].args) == 2 and 1 in n.args[0].args:
            found.add(n.args[0] - 1)
    found = {m for m in found if _monomial(m) and len(m.free_symbols) == 2}
    return found.pop() if len(found) == 1 else None


def _log1p_split(math, m):
    """``math`` (holding log1p(M), M = s^p·K a monomial of two inputs s, r) in a = M: (G(a), R(a, r)) with
    math = G + R, G free of r (the part that stays as r → ∞ in partial fractions), or None."""
    a = sp.Dummy("a", positive=True)
    for s in sorted(m.free_symbols, key=str):
        p = sp.degree(sp.numer(sp.together(m)), s) - sp.degree(sp.denom(sp.together(m)), s)
        if p == 0:
            continue
        (r,) = m.free_symbols - {s}
        k = sp.simplify(m / s ** p)
        if k.has(s):
            continue
        e = sp.expand(math.replace(log1p, lambda v: sp.log(1 + v)))
        e = e.xreplace({sp.log(1 + m): sp.log(1 + a)})
        e = e.subs(s ** p, a / k)
        if e.has(s):
            continue
        logs = [t for t in sp.Add.make_args(e) if t.has(sp.log)]
        rational = sp.together(e - sp.Add(*logs))
        if rational.has(sp.log) or not all(t.as_independent(sp.log)[0].free_symbols <= {a} for t in logs):
            continue
        parts = sp.Add.make_args(sp.expand(sp.apart(rational, r)))
        g = sp.Add(*logs, *[t for t in parts if not t.has(r)])
        rest = sp.Add(*[t for t in parts if t.has(r)])
        return a, g, rest
    return None


def _log1p_series_node(node):
    """node, a sum in two inputs holding log1p(M) (M a monomial of both) → widen(node) where its part G(a) free of the
    other input vanishes at a = 0 with cancelling terms and its written form is measured past the bound inside the
    window of G's series (:func:`_vanishing_node`'s fit); None elsewhere. Past the window the sum cancels where G meets
    R (the Student-t ∂ν at ν = 5, x = 1.5: 93 ULP in float64 as written; h-studt27), inside it where G's own terms meet
    (a²/4 from terms of size a) and at ∂ν's zero a ≈ 2/ν (716.7 ULP at ν = 28.946, x = 1.4299).

    Until h-gate31 the window took G's Taylor polynomial in a = M plus R as written (widened only where |G + R| <
    |R|/2, h-gate28): a float64 form a few ULP times (|G| + |R|)/|G + R| off, never within 4 ULP of the whole window
    (measured: its Horner up to 3.9 ULP of the result, R's roundings 3.0, a = x²/ν's two roundings 3.1, of which G ∝ a²
    takes twice; together 5.5 ULP where |R| ≈ 1.2·|G + R| at ν in (1, 30), 4.9 where |R| < |G + R|/4 and 4.9 at
    ν = 1.3e5, a = 0.29, where R is nothing: no gate on |R|/|G + R| reaches the bound). The double words (rounded once,
    0.5 ULP) cost some 2× the float64 kernel (NumPy, where 70 % of the elements are inside the window), ~1.05× the
    float32 one (its float64 body within 2⁻³⁰ keeps most of them)."""
    from ..roots import OUTSIDE_ULP, SeriesBase, removable_fit

    if not node.is_Add or len(node.free_symbols) != 2 or node.has(sp.Indexed, SeriesBase):
        return None
    math = _as_math(node)
    m = _log1p_monomial(math)
    if m is None:
        return None
    try:
        split = _log1p_split(math, m)
    except Exception:  # noqa: BLE001 - a form SymPy cannot divide into partial fractions: not this rule's
        return None
    if split is None:
        return None
    a, g, rest = split
    if not g.is_Add or g.is_polynomial(a) or not _vanishes_at_zero(g, a):
        return None
    fit = removable_fit(g)
    if fit is None or all(fit.written_inside.get(n, 0.0) <= OUTSIDE_ULP[n] for n in OUTSIDE_ULP):
        return None
    return widen(node)


def _log1p_series(expr):
    """Every largest sum of :func:`_log1p_series_node` in ``expr``, rewritten (top down)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.log, log1p):
        return expr
    return _two_input_sums(expr, _log1p_series_node)


LOG1P_SERIES = Rule(
    "log1p-series", "a sum in two inputs holding log1p(a), a a monomial of both (a = x²/ν), that is G(a) + R(a, ν) "
    "with G free of ν a sum whose terms meet at a = 0 (∂ν of the Student-t NLL ½(ν + 1)·log(1 + x²/ν): "
    "½[log1p(a) − a/(1 + a)] − a/(2ν(1 + a)), G = a²/4 − … from terms of size a: 92 ULP in float64 at ν = 30, "
    "x = 1, 2.1e3 at ν = 1e3, 1.4e6 at ν = 1e6; torch 988, 3.2e6, 8.2e11), and that cancels again where G meets R "
    "(∂ν's zero at a ≈ 2/ν: 716.7 ULP at ν = 28.95, x = 1.43; at ν = 5, x = 1.5, a = 0.45, its terms are 440× the "
    "result, 93 ULP, torch 419), is computed as the widen rule computes a sum (double words, a third word where they "
    "cancel too, rounded once: 0.5 ULP); fired where G as written is measured past 3 ULP (float64) or 6 (float32) "
    "within the window of G's Taylor polynomial (the vanishing-series fit; G + R is the sum's partial fractions in ν, "
    "an identity). That polynomial in a rounded a plus R as written, the window's form until h-gate31, was a few "
    "ULP times (|G| + |R|)/|G + R| off in float64 (5.5 ULP at 3,000 random points of ν in (1, 30), 4.9 at ν = 1.3e5 "
    "where R is nothing: a's two roundings, doubled in G ∝ a²)",
    apply=_log1p_series, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ log-linear-root (issue 16, session 23: log x − x + 1
# of one input was 9.0e15 ULP in float64 at x = 1 + 2⁻⁴⁰, 1.7e7 in float32 at 1 + 2⁻²⁰ (torch the same): the widen rule
# takes sums of two inputs, the root series roots of a sum at 0; the Poisson deviance t·log(t/p) − t + p 6.1e15 at
# p = t·(1 − 1e−8): its log's argument holds both inputs, the widen rule's hazard a term in an input the log lacks);
# tested in tests/test_misc23.py


def _monomial(u) -> bool:
    """``u`` a positive number times powers of inputs (x, t/p, x/2): its log is a log of products, no sum."""
    return all((f.is_number and f.is_positive) or f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer)
               for f in sp.Mul.make_args(u)) and bool(u.free_symbols)


def _log_linear_term(term) -> str:
    """"log" for a·log(M) or a·s·log(M) (M a monomial of inputs, s an input), "linear" for a·s, "constant" for a
    number (a a number), else ""."""
    if term.is_number:
        return "constant"
    _, f = term.as_coeff_Mul()
    factors = sp.Mul.make_args(f)
    logs = [g for g in factors if isinstance(g, sp.log)]
    rest = [g for g in factors if not isinstance(g, sp.log)]
    if len(rest) > 1 or not all(g.is_Symbol for g in rest):
        return ""
    if not logs:
        return "linear" if rest else ""
    return "log" if len(logs) == 1 and _monomial(logs[0].args[0]) else ""


def _affine(u) -> bool:
    """``u`` a sum of a number and inputs times numbers (1 − p, 1 − p − q)."""
    return u.is_Add and bool(u.free_symbols) and all(a.is_number or a.as_coeff_Mul()[1].is_Symbol for a in u.args)


def _log_ratio_term(term) -> bool:
    """``term`` a·R·log(N/D): a a number, R an input, an affine form of inputs (1 − p) or absent, N/D a product of
    inputs, affine forms of them and their whole powers, one power negative at least (p/q, (1 − p)/(1 − q)): a term
    of a Kullback–Leibler divergence written out."""
    _, f = term.as_coeff_Mul()
    factors = sp.Mul.make_args(f)
    logs = [g for g in factors if isinstance(g, sp.log)]
    rest = [g for g in factors if not isinstance(g, sp.log)]
    if len(logs) != 1 or len(rest) > 1 or not all(g.is_Symbol or _affine(g) for g in rest):
        return False
    parts = sp.Mul.make_args(logs[0].args[0])
    return any(g.is_Pow and g.exp.is_negative for g in parts) and all(
        (g.is_number and g.is_positive) or g.is_Symbol or _affine(g)
        or (g.is_Pow and (g.base.is_Symbol or _affine(g.base)) and g.exp.is_Integer) for g in parts)


def _log_linear_sum(node) -> bool:
    """``node`` a sum of terms a·log(M), a·s·log(M) (M a monomial of inputs, s an input) and a·s (one of each at
    least) and a constant: log x − x + 1, a·(log x − x + 1), log x + x (its root at 0.567), the Poisson deviance
    t·log(t/p) − t + p, x·log x − x (its root at e); or a sum of two or more terms a·R·log(N/D) of
    :func:`_log_ratio_term` besides those: the Bernoulli KL p·log(p/q) + (1 − p)·log((1 − p)/(1 − q)), whose terms
    of size |p − q| meet at its double root p = q while it is (p − q)²/(2q(1 − q)) (session 39)."""
    if not node.is_Add or not node.free_symbols:
        return False
    kinds = [_log_linear_term(t) for t in node.args]
    if "" not in kinds and "log" in kinds and "linear" in kinds:
        return True
    ratios = [_log_ratio_term(t) for t in node.args]
    return sum(ratios) >= 2 and all(r or k for r, k in zip(ratios, kinds))


def _log_linear_widened(node):
    """``node`` widened; where its log's argument is a rounded product of inputs (t/p) that leaves the normal range
    (t/p underflowing to 0 at t = 1e−30, p = 1e300: the deviance −inf for 1e300, h-old29), a select: the widened sum
    inside the range, the sum with that log as a sum of logs of its factors (:func:`_log_of_factors`) beyond, where
    |log M| > 690 and the sum is far from its roots (t/p is then not within 2⁻¹⁰⁰⁰ of 1)."""
    from .logs import _far_log  # a later module: imported at the call
    wide = widen(node)
    for term in node.args:
        logs = [g for g in sp.Mul.make_args(term) if isinstance(g, sp.log)]
        if len(logs) == 1 and _rounded_factors(logs[0].args[0]):
            inside, far = _far_log(logs[0])
            # beyond, a KL's other logs of quotients near 1 each widened ((1 − p)·log((1 − p)/(1 − q)) at p = 8e−310,
            # q = 1e−6: 4.8e5 ULP as written, torch the same; session 39)
            others = {g: widen(g) for t in node.args if t != term and _log_ratio_term(t)
                      for g in sp.Mul.make_args(t.as_coeff_Mul()[1]) if isinstance(g, sp.log)}
            return sp.Piecewise((wide, inside), (node.xreplace({logs[0]: far, **others}), True))
    return wide


def _log_linear_roots(expr):
    """Every sum of :func:`_log_linear_sum` in ``expr`` widened (innermost first)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.log):
        return expr
    return _bottom_up(expr, lambda node: _log_linear_widened(node) if _log_linear_sum(node) else node)


LOG_LINEAR_ROOT = Rule(
    "log-linear-root", "a sum of a·log(M) or a·s·log(M) (M a monomial of inputs), a·s and a constant (log x − x + 1, "
    "whose double root at x = 1 a·(log x − x + 1) and the Poisson deviance t·log(t/p) − t + p at p = t have; "
    "x·log x − x at x = e) cancels at its roots, log M rounded to an ulp of itself (M too, t/p) while the sum is "
    "(x − 1)²/2: log x − x + 1 9.0e15 ULP in float64 at x = 1 + 2⁻⁴⁰, 1.7e7 in float32 at 1 + 2⁻²⁰, the deviance "
    "6.1e15 in float64 at p = t·(1 − 1e−8) (torch the same); likewise a sum of two or more a·R·log(N/D) (R an input "
    "or an affine form such as 1 − p, N/D a quotient of inputs and such forms), a Kullback–Leibler divergence written "
    "out, whose terms of size |p − q| meet at its double root p = q (the Bernoulli KL p·log(p/q) + (1 − p)·log((1 − p)/"
    "(1 − q)): 6.4e18 ULP in float64 near p = q, 5.1e6 in float32, torch 1.5e19 and 4.7e14); computed as the widen "
    "rule computes a sum (float64 in a float32 kernel, double words, a third word where they cancel too) and rounded "
    "once",
    apply=_log_linear_roots, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ series-leading-power (issue 16, session 22: the
# vanishing-series x − sin x = x³·(1/6 − x²/120 + …) underflows below x ≈ 1.2e−102 in float64 while log, √ and the
# quotient (1 − cos x)/(x − sin x) of it are normal numbers: log(x − sin x) −inf at 1e−110, √(x − sin x) 0); tested
# in tests/test_logser22.py


def _leading_zeros(s) -> int:
    """How many of a ZeroSeries' leading coefficients are 0 (x − sin x = x·P(x²), P(0) = 0: 1)."""
    m = 0
    for c in s.coefficients[:-1]:
        if c != 0:
            break
        m += 1
    return m


def _split_series(s):
    """A ZeroSeries x^k·P(x^s) whose first m coefficients are 0 → (x, n, R) with x^k·P(x^s) = x^n·R exactly in real
    arithmetic, n = k + s·m, R = ZeroSeries(x, f/x^n, 0, s, c_m, …) (R(0) = c_m ≠ 0: R neither under- nor overflows
    near 0); None where no coefficient is 0 or ``s`` is no ZeroSeries."""
    from ..roots import ZeroSeries

    grouped = isinstance(s, Grouped)
    while isinstance(s, Grouped):  # a series another rule grouped (affine-root's (1 − cos x)/2): the same value
        s = s.args[0]
    if grouped and s.is_Mul:
        return _power_times(s)
    if not isinstance(s, ZeroSeries):
        return None
    m = _leading_zeros(s)
    if m == 0:
        return None
    x, n = s.shift, s.power + s.stride * m
    rest = ZeroSeries(x, s.exact / x ** n, sp.Integer(0), sp.Integer(s.stride), *s.coefficients[m:])
    return x, n, rest


def _power_times(s):
    """x^n·Q kept one factor (the tanhshrink rule's x³·Q(x²)): x an input, n ≥ 2, Q a polynomial in x with Q(0) a
    nonzero number → (x, n, Q); else None."""
    powers = [f for f in s.args if f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp >= 2]
    if len(powers) != 1:
        return None
    x, n = powers[0].base, int(powers[0].exp)
    q = sp.Mul(*[f for f in s.args if f is not powers[0]])
    if q.free_symbols - {x} or not q.is_polynomial(x):
        return None
    at = q.xreplace({x: sp.S.Zero})
    return (x, n, q) if at.is_number and at.is_finite and at != 0 else None


def _split_power(f):
    """A factor f = B^e → ((x, n, R), e) where B is a series :func:`_split_series` splits and e a rational; else
    None."""
    base, e = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
    split = _split_series(base) if e.is_Rational else None
    return None if split is None else (split, e)


def _in_a_symbol(g, x):
    """(g, x) with x a product of inputs (a series' shift u = x·y) put as one symbol v where g holds it only as u
    (expm1(x·y) → expm1(v)): SymPy differentiates by a symbol only; (None, None) where g holds the inputs otherwise."""
    if x.is_Symbol:
        return g, x
    v = sp.Dummy("v", real=True)
    one = g.xreplace({x: v})
    return (one, v) if one.free_symbols == {v} else (None, None)


def _order_one_at_zero(g, x) -> bool:
    """g(0) = 0 and 0 < |g′(0)| < ∞ (sin(x/2), tanh x, expm1 x): g/x is near g′(0) where x is tiny."""
    g, x = _in_a_symbol(g, x)
    if g is None:
        return False
    try:
        if g.xreplace({x: sp.S.Zero}) != 0:
            return False
        slope = sp.diff(g, x).xreplace({x: sp.S.Zero})
        return bool(slope.is_number and slope.is_finite and slope != 0)
    except Exception:  # noqa: BLE001 - a form SymPy cannot evaluate at 0: not this rule's
        return False


_ORDER_ONE_BELOW = sp.Float(2.0 ** -100)  # |x| below which g(x)/x is g′(0): relative error |g″(0)/2g′(0)|·2⁻¹⁰⁰


def _order_one_quotient(g, x):
    """g(x)/x grouped, for g of order one at 0 (:func:`_order_one_at_zero`), and g′(0) where 0 < |x| < 2⁻¹⁰⁰: there g(x)/x
    is g′(0) to far past any float's precision, while g's own argument may round (sin(x/2) at a subnormal x: x/2 is 0
    at 5e−324, 2²³ ULP off at 1e−315; h-old29: ∂ of (x − sin x)^(1/3) was 0 at 5e−324 for 0.5503)."""
    one, v = _in_a_symbol(g, x)
    slope = sp.diff(one, v).xreplace({v: sp.S.Zero})
    tiny = (sp.Abs(x) < _ORDER_ONE_BELOW) & (sp.Abs(x) > 0)  # at 0 itself the written 0/0 (the product's limit there
    # is the product's business: with g′(0) it was inf where the written form is NaN, as torch's)
    return sp.Piecewise((slope, tiny), (Grouped(g / x), True))


def _series_power_product(node):
    """c·∏S_i^q_i·∏g_j^e_j (each S_i = x^n_i·R_i a ZeroSeries split by :func:`_split_series`, some q_i a negative
    integer or a fraction; the g_j in x alone, of order 1 at 0 where e_j > 0) → c·∏R_i^q_i·∏(g_j/x)^e_j with the
    rest of x^(Σn_i·q_i + Σe_j) applied last, one division (or product) by x at a time, a fractional rest as |x|^r
    (sign(x)^n_i inside R_i's power where q_i is a fraction: S^q is real only where x^n·R > 0). None where no
    factor is such a series, or the whole power left is beyond ±8."""
    if not node.is_Mul:
        return None
    series = []
    for f in node.args:
        found = _split_power(f)
        if found is not None:
            series.append((f, *found))
    if not any(e < 0 or not e.is_Integer for _, _, e in series):
        return None
    xs = {x for _, (x, _, _), _ in series}
    if len(xs) != 1:
        return None
    (x,) = xs
    used = [f for f, _, _ in series]
    others = [f for f in node.args if not any(f is u for u in used)]
    # the series in a product u of inputs (the vanishing-series rule's e^(x·y) − 1 − x·y): a factor of those inputs
    # may stay beside it (∂y's x in x·expm1(u)/(u²·R))
    inside = x.free_symbols if x.is_Mul and all(g.is_Symbol for g in x.args) else {x}
    # factors free of the series' inputs (an input y times the series: ∂x of y·(x − sin x)^(1/3) was NaN at
    # (1e−300, 2) for 1.1006, the power taken alone and sin²(x/2)/x² = 0·inf beside it; h-const30): times the rest, last
    outer = [f for f in others if not f.free_symbols & inside]
    others = [f for f in others if not any(f is o for o in outer)]
    if any(f.free_symbols - inside for f in others):
        return None
    if x.is_Mul:  # functions of u first: (g/u) before a partner's 1/(u/s)
        others.sort(key=lambda f: _power_parts(f)[0] in inside)
    fractional = any(not e.is_Integer for _, _, e in series)
    power, sign, cores = sp.S.Zero, 0, []
    for _, (_, n, rest), q in series:
        power += n * q
        if q.is_Integer:
            cores.append(rest ** q)
            sign += n * q
        else:
            cores.append((sp.sign(x) ** (n % 2) * rest) ** q)
    factors, partners = [], []
    for f in others:
        base, e = _power_parts(f)
        if base == x and e > 0:
            power += e
            sign += e
        elif e > 0 and (power <= -1 or fractional and power < 0) and _order_one_at_zero(base, x):
            # a fractional power takes g/x up to a positive rest (√(x − sin x)′ = sin²(x/2)/√(x − sin x) was 0 at
            # 5e−324 for 1.36e−162: one sin(x/2) left beside |x|^(−1/2), and x/2 rounds to 0; h-const30)
            t = min(e, int(sp.ceiling(-power)) if fractional else int(sp.floor(-power)))
            factors.append(_order_one_quotient(base, x) ** t * base ** (e - t))
            power += t
            sign += t
        elif e > 0 and power <= -1 and not fractional and base in inside and base != x:
            t = min(e, int(sp.floor(-power)))  # s·u^−1 = 1/(u/s), u/s the other inputs of u: 1/u never formed
            partners += [x / base] * t
            factors.append(base ** (e - t))
            power += t
        else:
            factors.append(f)
    out = sp.Mul(*factors) * sp.Mul(*cores)
    for rest in partners:
        out = Grouped(out / rest)
    x_step = x
    if fractional:  # x^k·|x|^p = sign(x)^k·|x|^(p + k): the rest of the power on |x|
        out = out * sp.sign(x) ** (int(sign) % 2)
        whole = int(sp.floor(power)) if power >= 0 else int(sp.ceiling(power))
        if power != whole:  # grouped: |x|^(1/2)·|x| stays √|x| times |x| (SymPy would merge |x|^(3/2): a _fracpow)
            out = Grouped(out * sp.Abs(x) ** (power - whole))
        power, x_step = whole, sp.Abs(x)
    power = int(power)
    if abs(power) > 8:
        return None
    if power > 0 and outer:
        return _outer_times_steps(out, sp.Mul(*outer), x_step, power)
    for _ in range(abs(power)):
        out = Grouped(out / x_step) if power < 0 else Grouped(out * x_step)
    return out * sp.Mul(*outer)


def _outer_times_steps(core, outer, x_step, power):
    """core·x_step^power·outer with outer multiplied by x_step one step at a time first, core last: (y·|x|)·R^q, not
    (R^q·|x|)·y. Within the series' window |x| < 1, so each partial product y·|x|^j lies between y and the result
    over core (core ≈ c_m, of order 1): none overflows, and none underflows where the result is normal (R^q·|x| was
    the subnormal 2.7e−324 rounded to 5e−324 before y = 1e300 scaled it: y·(x − sin x)^(1/3) at (5e−324, 1e300) 4.94e−24
    for 2.72e−24, session 33)."""
    chain = outer
    for _ in range(power):
        chain = Grouped(chain * x_step)
    return chain * core


def _series_log(node):
    """log(x^n·R·G) → n·log|x| + log(sign(x)^n·R·G) (G other factors in x): never the logarithm of a product that
    underflows (x^n·R a split-able series: the tanhshrink rule's x³·Q(x²)/cosh x is log(x³·Q) − log cosh x)."""
    factors = sp.Mul.make_args(node.args[0])
    found = [(f, _split_power(f)) for f in factors]
    found = [(f, split) for f, split in found if split is not None]
    if len(found) != 1:
        return None
    f, ((x, n, rest), e) = found[0]
    others = [g for g in factors if g is not f]
    if not (e.is_Integer and e > 0) or any(g.free_symbols - {x} for g in others):
        return None
    k = int(n * e)
    return k * sp.log(sp.Abs(x)) + sp.log(sp.sign(x) ** (k % 2) * rest ** e * sp.Mul(*others))


_ODD_BELOW = sp.Rational(1, 2 ** 32)  # |x| below which c·∏g_j(x)^e_j is its leading term C·x^E (g_j odd: relative error ≤ 2⁻⁶¹)
_ODD_SPREAD = 3  # Σ|e_j| at most: the written form's partial products ≥ 2⁻⁹⁶ past 2⁻³² (float32's normal range)


def _odd_leading(node):
    """node = c·∏g_j(x)^e_j·x^k (c a number; each g_j a function of one input x, odd, of order one at 0, its cubic
    coefficient at most 4 times its slope: sin(x/2), tanh x, asinh x; e_j, k whole numbers, Σ|e_j| + |k| ≤ 3)
    → (x, C, E, [e_j]) with node = C·x^E·(1 + O(x²)) near 0; else None."""
    x, C, E, powers = None, sp.S.One, 0, []
    for f in sp.Mul.make_args(node):
        if f.is_number:
            C *= f
            continue
        base, e = _power_parts(f)
        if base.is_Symbol:
            y = base
        elif isinstance(base, sp.Function) and len(base.free_symbols) == 1:
            (y,) = base.free_symbols
            if not isinstance(y, sp.Symbol) or not _order_one_at_zero(base, y):
                return None
            slope, even, cubic = (sp.diff(base, y, k).xreplace({y: sp.S.Zero}) for k in (1, 2, 3))
            if even != 0 or not cubic.is_number or abs(cubic / 6) > 4 * abs(slope):
                return None
            C *= slope ** e
            powers.append(e)
        else:
            return None
        if x not in (None, y):
            return None
        x, E = y, E + e
    if x is None or sum(abs(e) for e in powers) + abs(E - sum(powers)) > _ODD_SPREAD:
        return None
    return x, C, E, powers


def _odd_leading_log(node):
    """log(c·∏g_j^e_j) with some e_j ≥ 2 (the one-minus-cos rule's 2·sin²(x/2), whose square underflows where
    sin(x/2) does not) → E·log|x| + log(C·sign(x)^E) where |x| < 2⁻³², the log as written beyond."""
    found = _odd_leading(node.args[0])
    if found is None:
        return None
    x, C, E, powers = found
    if not any(e >= 2 for e in powers) or E < 2 or (E % 2 == 0 and C < 0):
        return None
    lead = E * sp.log(sp.Abs(x)) + (sp.log(C) if E % 2 == 0 else sp.log(C * sp.sign(x)))
    return sp.Piecewise((lead, sp.Abs(x) < _ODD_BELOW), (node, True))


def _odd_leading_product(node):
    """c·∏g_j^e_j with some e_j ≤ −1 (sin(x)/(2·sin²(x/2)), log(1 − cos x)′; 1/tanh(x/2)) → C·x^E, one division or
    product by x at a time, where 0 < |x| < 2⁻³², as written beyond (the square underflows first: inf at x = 1e−200
    for 2e200; g(x) of a subnormal x rounds x·g′(0) to the subnormal grid: 1/tanh(x/2) 28 ULP off at x = −1.6e−309)."""
    found = _odd_leading(node)
    if found is None:
        return None
    x, C, E, powers = found
    if not any(e <= -1 for e in powers) or C == 0:
        return None
    lead = C
    for _ in range(abs(E)):
        lead = Grouped(lead / x) if E < 0 else Grouped(lead * x)
    if abs(E) == 1:  # C/x, one rounding: a quotient the printers and factor-into-quotient-branches see as one
        lead = lead.args[0]
    return sp.Piecewise((lead, sp.And(sp.Abs(x) < _ODD_BELOW, sp.Ne(x, 0))), (node, True))


def _series_leading_powers(expr):
    """Every log, fractional or negative power and product of a split-able ZeroSeries in ``expr`` rewritten
    (bottom up; a function or product of a Piecewise holding one taken into its branches first)."""
    from ..roots import ZeroSeries

    if not isinstance(expr, sp.Basic) or not (any(_split_series(s) for s in _atoms(expr, ZeroSeries, Grouped)) or any(
            isinstance(p.base, sp.Function) and p.exp.is_Integer and (p.exp >= 2 or p.exp <= -1)
            for p in _atoms(expr, sp.Pow))):
        return expr

    def holds(e):  # e is a split-able series, a power of one, or a product holding either
        return any(_split_power(f) is not None for f in sp.Mul.make_args(e))

    def rewrite(node):
        if isinstance(node, sp.log) and isinstance(node.args[0], sp.Piecewise) and any(
                _series_log(sp.log(pair.expr, evaluate=False)) is not None for pair in node.args[0].args):
            return sp.Piecewise(*[(_series_log(sp.log(pair.expr, evaluate=False)) or sp.log(pair.expr), pair.cond)
                                  for pair in node.args[0].args])
        if isinstance(node, sp.log):
            return _series_log(node) or _odd_leading_log(node)
        if node.is_Pow and not (node.exp.is_Integer and node.exp > 0) and _split_power(node) is not None:
            return _series_power_product(sp.Mul(node, sp.S.One, evaluate=False))
        if node.is_Pow and node.exp.is_Integer and node.exp <= -1:
            return _odd_leading_product(node)
        if node.is_Mul:
            if any(isinstance(f, sp.Piecewise) and any(holds(p.expr) for p in f.args) for f in node.args):
                folded = sp.piecewise_fold(node)  # (a/S)·(b piecewise): one select, each branch a product
                if isinstance(folded, sp.Piecewise):
                    pairs = [(_series_power_product(p.expr) if p.expr.is_Mul else None, p) for p in folded.args]
                    if any(new is not None for new, _ in pairs):
                        return sp.Piecewise(*[(p.expr if new is None else new, p.cond) for new, p in pairs])
                return None
            return _series_power_product(node) or _odd_leading_product(node)
        return None

    # top down: a product is taken whole before its power of the series is
    return _top_down(expr, lambda node: rewrite(node) if isinstance(node, sp.Expr) else None,
                     leaves=(WidenedBase, sp.Indexed, ZeroSeries))


SERIES_LEADING_POWER = Rule(
    "series-leading-power", "a vanishing or removable series x^k·P(x^s) whose first m coefficients are 0 (x − sin x "
    "= x³·(1/6 − x²/120 + …)) underflows where x^(k + s·m) does (x − sin x below x ≈ 1.2e−102 in float64, 1e−15 in "
    "float32), while its log, root or the quotient of a derivative are normal numbers: log(x − sin x) −inf at "
    "x = 1e−110 (true −761.6), √(x − sin x) 0 (true 4.1e−166), (1 − cos x)/(x − sin x) inf (true 3e110). With "
    "x^n·R, R = c_m + x^s·(…) (R(0) = c_m ≠ 0, the same Horner polynomial less its zero coefficients, so the same "
    "roundings): log as n·log|x| + log(sign(x)^n·R); a fractional power as |x|^r·(sign(x)^n·R)^q, its whole part "
    "applied one factor |x| at a time; a negative power in a product with factors g^e of order 1 at 0 (sin(x/2)², "
    "from the one-minus-cos rule) as (g/x)^e·R^q, the rest of x^(n·q + e) one division by x at a time (each partial "
    "product between the result and R^q·(g/x)^e in magnitude: none over- or underflows where the result does not). "
    "The tanhshrink rule's x³·Q(x²)/cosh x is split the same way (log(x − tanh x) −inf at x = 9.33e−302, true "
    "−2080.54); a log or negative power of c·∏g_j^e_j, g_j odd and of order one at 0 (the one-minus-cos rule's "
    "2·sin²(x/2): log(1 − cos x) −inf at x = 1e−200, true −921.73, its derivative sin x/(2·sin²(x/2)) inf for "
    "2e200), is its leading term C·x^E below |x| = 2⁻³² (E·log|x| + log C; C/x; relative error below 2⁻⁶¹ there); "
    "so is a reciprocal 1/g(x), whose g rounds x/2 to the subnormal grid (1/expm1 as σ(−x)/tanh(x/2): "
    "hardsigmoid(x)/selu(x) 28 ULP in float64 at x = −1.6e−309, 27 in float32 at −8.5e−40; 2/x is one rounding). "
    "A series in a product u of inputs (the vanishing-series rule's e^(x·y) − 1 − x·y) takes factors of those inputs "
    "beside it: s·u⁻¹ is one division by u/s (∂y of log(e^(xy) − 1 − xy) = x·expm1(u)/(u²·R) was NaN at (5e−324, 2), "
    "1/u overflowing before x cancels it; now (expm1(u)/u)/(y·R), 1.0)",
    apply=_series_leading_powers, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ half-power-series (issue 16, session 15: erf(x)/√x′
# = 2e^(−x²)/√(πx) − erf(x)/(2x^(3/2)), terms that cancel 2× to 4× on (0, 1): 5.98 ULP in float64 at x = 0.276); the
# analysis is in roots.py (half_power_fit), tested in tests/test_elem15.py


def _half_power_series(expr):
    """Every sum of one input x in ``expr`` whose terms carry half powers of x (outside series and widened nodes)
    → Piecewise((x^q·ZeroSeries, x < w), (the sum, True)) where :func:`symnet.codegen.roots.half_power_fit` fits
    one; the window is measured against ``expr`` as a whole, the form the kernel computes outside it."""
    from ..roots import SeriesBase, ZeroSeries, half_power_fit

    if not isinstance(expr, sp.Expr) or len(expr.free_symbols) != 1:
        return expr
    (x,) = expr.free_symbols
    if not isinstance(x, sp.Symbol) or not any(p.base == x and p.exp.is_Rational and not p.exp.is_integer
                                               for p in expr.atoms(sp.Pow)):
        return expr
    written = without_ite(_share_sigmoid_pairs(expr))

    def series_inside_window(node):
        if not isinstance(node, sp.Add):
            return None
        fit = half_power_fit(node, written)
        if fit is None:
            return None
        coefficients = [sp.Float(c, 25) for c in fit.coefficients]
        series = ZeroSeries(x, fit.analytic, sp.Integer(fit.power), sp.Integer(fit.stride), *coefficients)
        return sp.Piecewise((series * x ** fit.exponent, x < sp.Float(fit.window)), (node, True))

    return _top_down(expr, series_inside_window, (WidenedBase, SeriesBase, sp.Indexed))


HALF_POWER_SERIES = Rule(
    "half-power-series", "a sum whose terms carry half powers of x, x^q·g(x) with g analytic at 0 (erf(x)/√x′ = "
    "2e^(−x²)/√(πx) − erf(x)/(2x^(3/2)) = x^(−1/2)·g, g(0) = 1/√π), cancels 2× to 4× on (0, 1), each term's own "
    "roundings (e^(−x²), erf, x^(3/2), the quotients) amplified by that: 5.98 ULP in float64 at x = 0.276 (4.17 "
    "at 0.293; torch autograd 6.4); below a measured window x < w, x^q·P(x^s) with P g's Taylor polynomial about "
    "0 (as the removable-series rule fits it: in x² where g is even, the degree whose truncation is below 2⁻⁶⁰ of "
    "|g| over the window, checked against g at 120 digits), Horner; w the widest multiple of 1/32 (below 0.45 of "
    "g's radius of convergence) whose series, run in float64 and float32, is within 2 and 4 ULP of mpmath "
    "throughout (erf(x)/√x′: w = 0.6875). Fires only where the written form is measured beyond 3 ULP (float64) "
    "or 6 (float32) there", apply=_half_power_series, fired=lambda old, new: new != old)


# (from the rounded-log-argument block of rewrite.py: the split script moved it here, to the first module that uses it)
def _rounded_factors(p) -> bool:
    """p = c·a·b⋯ with a, b, … inputs or whole powers of inputs (a quotient: a negative power) and c a number,
    rounded once it is formed (two or more factors, a power, or c not ±2^k), so that its double-word (two-products,
    a double-word quotient) holds it to about 2⁻¹⁰⁵."""
    if not isinstance(p, sp.Expr) or p.is_number or not p.free_symbols:
        return False
    if isinstance(p, sp.UnevaluatedExpr):  # the power-product rule's s·(s·Y), grouped
        p = p.args[0]
    c, rest = p.as_coeff_Mul()
    for f in sp.Mul.make_args(rest):
        base = f.base if f.is_Pow else f
        if isinstance(f, sp.UnevaluatedExpr) and _rounded_factors(f):
            continue
        if not (base.is_Symbol and (not f.is_Pow or (f.exp.is_Integer and f.exp != 0))):
            return False
    return not _exact_argument(p)


# ------------------------------------------------------------------ one-minus-cos-factor (issue 16: the derivative of
# (1 − cos x)/(x − sin x), as the cancel rule writes it, holds (1 − cos x)·cos x/(x − sin x) − (1 − cos x)/(x − sin x):
# two terms of order 1/x² that cancel to −x²/(2·(x − sin x)), NaN at x = 1e−110 for −3e220 and 0 at 2⁻¹⁰⁰ for −4.82e60;
# h-const30); tested in tests/test_const30.py

def _one_minus_cos_factor(node):
    """… + B·cos(u) − B + … (B not a number: the one-minus-cos rule takes those) → … − 2B·sin²(u/2) + …, else None.

    Exact: B·cos u − B = −B·(1 − cos u) = −2B·sin²(u/2). The written pair cancels where cos u ≈ 1 (u near 0 and 2πk)
    by 1/(1 − cos u), each term rounded to an ulp of B; sin(u/2) rounds relative to itself."""
    if not node.is_Add:
        return None
    terms = set(node.args)
    for t in node.args:
        for f in sp.Mul.make_args(t):
            if not (isinstance(f, sp.cos) and f.args[0].free_symbols):
                continue
            b = t / f
            if b.is_number or -b not in terms:
                continue
            half = sp.sin(f.args[0] / 2)
            # B·s·s, not B·s²: s² underflows where B·s² need not (y·cos x − y at (1e−200, 1e300): s = 5e−201,
            # s² = 0, −0 for −5e−101; h-hostile32); |s| ≤ 1, so B·s is never past B either
            return node - t + b - 2 * Grouped(Grouped(b * half) * half)
    return None


ONE_MINUS_COS_FACTOR = Rule(
    "one-minus-cos-factor", "B·cos u − B cancels where cos u ≈ 1 as 1 − cos u does, B a factor of both terms: the "
    "derivative of (1 − cos x)/(x − sin x) holds (1 − cos x)·cos x/(x − sin x) − (1 − cos x)/(x − sin x), each of "
    "order 1/x² against a difference of order 1 (∂ NaN at x = 1e−110 for −3e220, 0 at 2⁻¹⁰⁰ for −4.82e60; torch NaN); "
    "−2B·sin²(u/2) is the same number (an identity) with no subtraction", local=_one_minus_cos_factor)


# ------------------------------------------------------------------ series-common-denominator (issue 16, session 31:
# the derivative of a quotient of two vanishing series, (1 − cos x)/(x − sin x)′ = sin x/(x − sin x) − (1 − cos x)²/
# (x − sin x)², is two terms of 6/x² and −9/x² near 0 that the other rules each make accurate and leave to cancel to
# −3/x²: 5–19 ULP in float64 from 1e−150 to 2, 16 in float32; h-slope31); tested in tests/test_slope31.py. D a function
# 0 at 0 too (session 34, h-cancel34: x/sinh(x)′, x/tanh(x)′, x/sin(x)′); tested in tests/test_cancel34.py

_COMMON_CANCEL = sp.Rational(1, 2)  # |sum| below this share of Σ|terms| at x = 2⁻³⁰: the written sum cancels there
_COMMON_SIMPLIFY_OPS = 80  # N simplified by identities up to this many operations (the quotient's N: 12), expanded beyond


def _vanishing_base(b, x) -> bool:
    """``b``, in x alone, is 0 at x = 0: a sum whose terms cancel there (x − sin x, e^x − 1 − x:
    :func:`_vanishes_at_zero`), or a function of x that is 0 there (sinh x, sin x, tanh x: x/sinh(x)′ =
    1/sinh x − x·cosh x/sinh²x, two terms of 1/x meeting at −x/3)."""
    if b.free_symbols != {x}:
        return False
    if b.is_Add:
        return _vanishes_at_zero(b, x)
    return isinstance(b, sp.Function) and b.xreplace({x: sp.S.Zero}) == 0


def _vanishing_denominators(node, x) -> list:
    """The bases of ``node``'s negative integer powers that vanish at x = 0 (:func:`_vanishing_base`)."""
    return [q.base for q in node.atoms(sp.Pow) if q.exp.is_Integer and q.exp < 0 and _vanishing_base(q.base, x)]


def _cancels_near_zero(node, x) -> bool:
    """``node``, a sum in x, cancels near 0: |Σ t_i| < Σ|t_i|/2 at x = 2⁻³⁰ (60 digits). Raises nothing."""
    from ...verify.evaluate import mp_value

    try:
        with mpmath.workdps(60):
            at = {x: mpmath.mpf(_VANISHING_PROBE)}
            size = mpmath.fsum(abs(mp_value(t, at)) for t in node.args)
            total = abs(mp_value(node, at))
    except Exception:  # noqa: BLE001 - a term mpmath cannot evaluate there: not this rule's
        return False
    return bool(mpmath.isfinite(size) and size > 0 and total < size * _COMMON_CANCEL)


def _series_common_denominator(node):
    """A sum of one input x whose terms hold negative powers of vanishing D (x − sin x, sinh x) and cancel near 0, or a
    product holding such a sum (the sum over D again: a quotient rule's (… − …)/D) → N/∏D^k over their common
    denominator, N expanded and simplified (trigsimp: cos² + sin² = 1) where N is a sum that is 0 at x = 0 with its
    terms cancelling, the denominator a product of such D and powers of x; else None. Then
    :func:`_common_denominator_series`.

    Exact: N/∏D^k is the sum put over a common denominator (sympy.together), N simplified by identities."""
    if not (node.is_Add or node.is_Mul) or len(node.free_symbols) != 1 or node.has(
            sp.Piecewise, sp.Indexed, WidenedBase):
        return None
    (x,) = node.free_symbols
    if not isinstance(x, sp.Symbol) or not _vanishing_denominators(node, x):
        return None
    sums = [node] if node.is_Add else [a for a in node.args if a.is_Add and _vanishing_denominators(a, x)]
    if not any(_cancels_near_zero(a, x) for a in sums):  # (a quotient of two series alone: the other rules' own)
        return None
    numerator, denominator = sp.fraction(sp.together(node))
    numerator = sp.expand(numerator)
    if sp.count_ops(numerator) <= _COMMON_SIMPLIFY_OPS:  # (trigsimp's time grows fast with the sum's size)
        simpler = sp.trigsimp(numerator)
        if sp.count_ops(simpler) < sp.count_ops(numerator):
            numerator = sp.expand(simpler)
    if not numerator.is_Add or not _vanishes_at_zero(numerator, x):
        return None
    bases = [_power_parts(f)[0] for f in sp.Mul.make_args(denominator) if not f.is_number]
    if any(b != x and not _vanishing_base(b, x) for b in bases):
        return None  # a factor of the denominator that is no vanishing series (nor x): the sum as written
    if all(b == x or b.is_Add for b in bases):
        return _common_denominator_series(numerator, denominator, x, written=node)
    # D a function (sinh x): past the window the sum as written, for the other rules (sinh² overflows from x ≈ 355 in
    # float64 where N/sinh²x does not: NaN for x/sinh(x)′ at x = 709), its terms no longer meeting there
    return _common_denominator_series(numerator, denominator, x, past=node)


def _pole_order(quotient, x):
    """m with quotient ≈ c·x^(−m) near 0 (from its values at x = 2⁻³⁰ and 2⁻³¹, 120 digits), or None."""
    from ...verify.evaluate import mp_value

    try:
        with mpmath.workdps(120):
            a, b = (abs(mp_value(quotient, {x: mpmath.mpf(v)})) for v in (_VANISHING_PROBE, _VANISHING_PROBE / 2))
            if not (mpmath.isfinite(a) and mpmath.isfinite(b) and a > 0 and b > 0):
                return None
            m = mpmath.log(b / a, 2)
    except Exception:  # noqa: BLE001 - a form mpmath cannot evaluate there
        return None
    return int(mpmath.nint(m)) if abs(m - mpmath.nint(m)) < 0.01 else None


def _one_division_at_a_time(numerator, denominator):
    """N/∏D^k as ((N/D)/D)…, one division by each factor at a time: D^k overflows where the quotient does not
    ((1 − cos x)/(x·sinh x − x²)′: D² is inf from x ≈ 352 in float64, the quotient 1e−155)."""
    out = numerator
    for f in sp.Mul.make_args(denominator):
        base, e = _power_parts(f)
        if f.is_number or e < 1:
            out = out / f
            continue
        for _ in range(e):
            out = Grouped(out / base)
    return out


def _common_denominator_series(numerator, denominator, x, past=None, written=None):
    """N/∏D^k (≈ c·x^(−m) at 0, |m| ≤ 8) → (Q(x)/x)/x… (m divisions; −m products) with Q = x^m·N/∏D^k, analytic at 0, its
    Taylor polynomial (the removable-series fit: Horner, no subtraction) within the fit's window; past it computed
    as the widen rule computes a sum, or as ``past`` where given; the ``written`` sum again from
    :func:`_written_sum_edge` on, where its terms no longer cancel. The quotient as it is where Q has no fit (the
    vanishing-series rule then takes N and each D)."""
    from ..roots import ZeroSeries, removable_fit

    quotient = numerator / denominator
    m = _pole_order(quotient, x)
    if m is None or abs(m) > 8:
        return quotient if past is None else None  # (a function D: the sum as written, for the other rules)
    analytic = x ** m * quotient
    fit = removable_fit(analytic, reach=False)
    if fit is None:
        return quotient if past is None else None
    coefficients = [sp.Float(c, 25) for c in fit.coefficients]
    inner = ZeroSeries(x, analytic, sp.Integer(fit.power), sp.Integer(fit.stride), *coefficients)
    for _ in range(abs(m)):  # one division (or product) by x at a time: x^m may underflow where the quotient does not
        inner = Grouped(inner / x) if m > 0 else Grouped(inner * x)
    # past the window widened everywhere, not within the fit's reach only: N's terms meet again at each root of the
    # quotient, without end (x·sin x − 4sin²(x/2) at 8.9868, 15.45, …: 1,605 ULP at 8.987 as written, torch 2,039);
    # the widened function keeps its float64 body where its error bound allows and takes double words only there
    if past is None:
        past = widen(_one_division_at_a_time(numerator, denominator))
        edges = [None if written is None else _written_sum_edge(written, x, fit.window, side) for side in (1, -1)]
        if edges != [None, None]:  # (break47: N/∏D^k is inf/inf where e^x overflows, the written sum is not)
            inside = sp.And(*([x < edges[0]] if edges[0] is not None else []) + (
                [x > -edges[1]] if edges[1] is not None else []))
            return sp.Piecewise((inner, sp.Abs(x) < sp.Float(fit.window)), (past, inside), (written, True))
    return sp.Piecewise((inner, sp.Abs(x) < sp.Float(fit.window)), (past, True))


# session 47 (h-break47): past the window N/∏D^k overflowed where the written sum does not: 1/x − 1/(e^x − 1) (the
# Bernoulli function's reciprocal difference) is ((e^x − 1 − x)/x)/(e^x − 1) = inf/inf, NaN, from x = 709.8 in
# float32 (its float64 body) and 2,450 in float64 (the double words' scaled exponentials), where torch gives 1/x; its
# derivative NaN from x = 354.9 in float32 and at x < −1e268 in float64 (x² overflows). Far out the terms have one
# size or one sign, and the written sum (each term made accurate by the other rules) is within its terms' errors; each
# side of 0 has its edge (1/(e^x − 1) − 1/x + 1/2 cancels for x → −∞, where N/∏D^k stays finite).
_WRITTEN_SUM_SHARE = sp.Rational(3, 4)  # |Σ t| ≥ this share of Σ|t|: the written sum amplifies its terms' errors ≤ 4/3
_PERIODIC = (sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc)


def _written_sum_edge(node, x, window, side):
    """The least 2^j ≥ ``window`` (j ≤ 1023) from which on, for x of the sign ``side`` (1 or −1), ``node``'s terms (a
    sum, or the sum a product holds) do not cancel: |Σ t| ≥ 3/4·Σ|t| (60 digits) at 16 points a binade up to 2⁸ and 2
    a binade beyond, up to 2¹⁰²⁴; None where there is none (1/(e^x − 1) − 1/x + 1/2 for x < 0, −1 + 1/2 + 1/|x|), or
    where ``node`` holds a periodic function (its terms meet again at each root, without end: x·sin x − 4sin²(x/2),
    however fine the grid). Raises nothing."""
    from ...verify.evaluate import mp_value

    if node.has(*_PERIODIC):
        return None
    sums = [node] if node.is_Add else [a for a in node.args if a.is_Add]
    if len(sums) != 1:
        return None
    (terms,) = sums
    first = max(0, math.ceil(math.log2(float(window))))
    edge = None
    try:
        with mpmath.workdps(60):
            for j in range(1023, first - 1, -1):  # binade by binade, down from the top, while none cancels
                n = 16 if j < 8 else 2
                for at in (side * mpmath.ldexp(1 + mpmath.mpf(i) / n, j) for i in range(n)):
                    values = [mp_value(t, {x: at}) for t in terms.args]
                    size = mpmath.fsum(abs(t) for t in values)
                    if not (mpmath.isfinite(size) and size > 0) or abs(mpmath.fsum(values)) < size * _WRITTEN_SUM_SHARE:
                        return None if edge is None else sp.Integer(2) ** edge
                edge = j
    except Exception:  # noqa: BLE001 - a term mpmath cannot evaluate: not this edge's
        return None
    return None if edge is None else sp.Integer(2) ** edge


def _series_common_denominators(expr):
    """Every outermost sum :func:`_series_common_denominator` rewrites, rewritten."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Add):
        return expr
    return _top_down(expr, lambda node: _series_common_denominator(node) if isinstance(node, sp.Expr) else None,
                     leaves=(WidenedBase, sp.Indexed))


SERIES_COMMON_DENOMINATOR = Rule(
    "series-common-denominator", "a sum of one input whose terms hold powers 1/D^k of vanishing series D (x − sin x, "
    "e^x − 1 − x, x·sinh x − x²) or of functions 0 at 0 (sinh x, sin x, tanh x: x/sinh(x)′ = 1/sinh x − "
    "x·cosh x/sinh²x, two terms of 1/x meeting at −x/3, was 0 for −3.3e−13 at x = 1e−12 in float64 and 6.5e8 ULP at "
    "1e−5, 1.5e7 in float32; x/tanh(x)′ and x/sin(x)′ the same; torch the same) and cancel near 0 (the derivative of a quotient of two series, (1 − cos x)/(x − sin x)′ "
    "= sin x/(x − sin x) − (1 − cos x)²/(x − sin x)², 6/x² − 9/x² = −3/x²: each term made accurate by the other rules "
    "and their difference 5–19 ULP in float64 from 1e−150 to 4, 16 in float32; (sinh x − x)/(x − sin x)′ 6.9e25 ULP "
    "at 1e−6) is N/∏D^k over the common denominator (sympy.together, N expanded and simplified by identities), taken "
    "where N is 0 at 0 with its terms cancelling; with the quotient ≈ c·x^(−m) at 0, Q = x^m·N/∏D^k is analytic there: "
    "its Taylor polynomial (the removable-series fit, Horner: no subtraction) within the fit's window, then m "
    "divisions by x one at a time; past the window N/∏D^k computed as the widen rule computes a sum (N's terms meet "
    "again at each root of the quotient: 2,039 ULP at x = 8.987 as written), one division by each D at a time (D² "
    "overflows from x ≈ 352 for x·sinh x − x²). Within 1.72 ULP in float64 and 0.5 in float32 over 2,000 points of each "
    "of four such quotients",
    apply=_series_common_denominators, fired=lambda old, new: new != old, before=True)
