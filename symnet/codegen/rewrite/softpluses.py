"""Softplus rules: softplus-factor, -scale, -slope, -over-exp, -rational, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: softplus-factor,
softplus-scale, softplus-slope, rounded-softplus-argument, log-softplus-left, softplus-over-exp,
softplus-over-exp-minus-one, softplus-rational.
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...records import BoundedRecord
from ...special import softplus
from .core import _Final, _Fired, _is_exp, _MAX_LEAVES, _MAX_POWER, _rewrote, _split, Rule
from .widening import _bottom_up, _top_down, Grouped, unwiden, widen, WidenedBase
from .stabiliser import _rewritten
from .pairs import nexp
from .losses import _FLT_MAX
from .cancellation import _bounded_argument
from .series import _exact_argument


# ------------------------------------------------------------------ softplus-factor (issue 16, session 19: the focal
# loss's far branches, softplus(±z)·α_t·p^(γ + 1), whose derivatives the engine expands into one product per term);
# tested in tests/test_focal19inf.py

def _zero_limit_body(term):
    """``term`` without the zero-limit rule's select around it (0 where a factor is 0 and another infinite: the
    bottom-up pass has rewritten each term of a sum before the sum), else ``term``."""
    if isinstance(term, sp.Piecewise) and len(term.args) == 2 and term.args[0].expr == 0 \
            and term.args[1].cond == sp.true:
        return term.args[1].expr
    return term


def _split_softplus(e):
    """(softplus(u), c) with e = softplus(u)·c, softplus(u) a factor of e, of one factor of it, or of every term of a
    sum (the zero-limit selects and this rule's own taken as their products), c free of softplus; else None."""
    e = _zero_limit_body(e)
    if isinstance(e, sp.Piecewise) and len(e.args) == 2 and isinstance(e.args[0].expr, Grouped) \
            and e.args[0].expr.has(softplus):  # this rule's own b^e·softplus(u) (_power_times_softplus)
        e = e.args[0].expr
    if isinstance(e, Grouped):  # this rule's own b^e·softplus(u) (_lowest_power_out)
        e = e.args[0]
    if isinstance(e, softplus):
        return e, sp.S.One
    if e.is_Add:
        parts = [_split_softplus(a) for a in e.args]
        if any(p is None for p in parts) or len({p[0] for p in parts}) != 1:
            return None
        return parts[0][0], sp.Add(*[p[1] for p in parts])
    if e.is_Mul:
        holding = [f for f in e.args if f.has(softplus)]
        found = _split_softplus(holding[0]) if len(holding) == 1 else None
        if found is None:
            return None
        return found[0], sp.Mul(*[f for f in e.args if f is not holding[0]]) * found[1]
    return None


def _without_power_selects(e):
    """``e`` with the zero-power rule's selects {1 if y = 0; b^y} written as b^y (for algebra on the powers)."""
    def at_zero_exponent(n):  # the condition y = 0, written y − 1 = 0 as γ = 1 too
        if not (isinstance(n, sp.Piecewise) and len(n.args) == 2 and n.args[0].expr == 1 and n.args[1].cond == sp.true
                and n.args[1].expr.is_Pow and isinstance(n.args[0].cond, sp.Eq)):
            return False
        c, y = n.args[0].cond, n.args[1].expr.exp
        return sp.expand(c.lhs - c.rhs - y) == 0 or sp.expand(c.lhs - c.rhs + y) == 0

    return e.replace(at_zero_exponent, lambda n: n.args[1].expr)


def _lowest_power_out(total):
    """(b^e, Q) with ``total`` = b^e·Q, Q a polynomial in b, where every term of the expanded ``total`` holds a power
    of one base b (an input's expression) whose exponents differ by whole numbers, e the least of them (not 0): the
    focal loss's far ∂t sum γ·t^(γ − 1)·(3t/4 − t²/2) + 3t^γ/4 − t·t^γ is t^γ·(3(1 + γ)/4 − t(1 + γ/2)), and its f's
    3t/4 − t²/2 is t·(3/4 − t/2). As written the sum rounds 3t/4 in the subnormal range (t = 5e−324: 33 % off) and
    forms t^(γ − 1), which overflows there (γ = 0: 0·∞ = NaN), before the product with softplus(−z) ≈ |z| makes the
    result normal. None where there is no such base."""
    plain = sp.expand(_without_power_selects(total))
    terms = sp.Add.make_args(plain)
    if len(terms) < 2:  # one term: its power of an input's expression with an input's exponent (softplus(x)·t^g)
        powers = [f for f in sp.Mul.make_args(plain) if f.is_Pow and f.base.free_symbols and f.exp.free_symbols]
        return (powers[0], sp.powsimp(plain / powers[0])) if len(powers) == 1 else None
    exponents = [t.as_powers_dict() for t in terms]
    for base in exponents[0]:
        if base.is_number or not base.free_symbols or not all(base in e for e in exponents):
            continue
        powers = [e[base] for e in exponents]
        offsets = [sp.simplify(p - powers[0]) for p in powers]
        if not all(o.is_Integer for o in offsets):
            continue
        least = powers[offsets.index(min(offsets))]
        if least == 0:
            continue
        rest = sp.expand(sp.Add(*[sp.powsimp(t * base ** -least, combine="exp") for t in terms]))
        if rest.is_polynomial(base) and not rest.has(sp.Pow(base, -1)):
            return base ** least, rest
    return None


_SOFTPLUS_NORMAL = -708  # softplus(u) ≈ e^u is normal in float64 above it
_POWER_BELOW = -80  # e·log b from which b^e is formed before softplus(u)·b^e: e^−80 = 1.8e−35, normal in float32


def _widened(e):
    """widen(e), a number as it is (widened, a constant became an opaque node the printers cannot order)."""
    return e if e.is_number else widen(e)


def _power_times_softplus(base, exponent, power, shared, inside=sp.S.One, lone=False):
    """softplus(u)·b^e as the product of the two (``power``: b^e as the node rules wrote it) where e·log b > −80, else
    e^(e·log b + log softplus(u)) in double words (nexp: SymPy would take the log's argument out of the exp): b^e
    underflows where the product does not (the far focal ∂t at t = 1e−300, γ = 2, z = −1e300: t^γ = 1e−600 is 0 for
    2.25e−300) and is 0 where softplus(u) is inf (z = −inf: 0·∞ = NaN, the limit +inf). ``lone``: the product is
    b^e·softplus(u) times an input or a log alone (softplus(x)·t^g and its derivatives, h-old30), whose branches
    below u = −40 and past e·log b = 80 are its own (the focal loss's far sums keep the two branches they had)."""
    log_power = exponent * sp.log(base)

    def times_inside(log_rest):  # inside·e^(e·log b + log_rest), an input inside as its log (e^(…) may overflow alone)
        if not inside.is_Symbol:
            return widen(inside * nexp(-log_power - log_rest))
        # (∂t = g·t^(g − 1)·softplus(x) at g = 0.001, t = 5e−324, x = −30: t^(g − 1)·softplus(x) is e^713.7, inf,
        # where the product is 9.0e306)
        s = inside
        return widen(sp.Piecewise((0, sp.Eq(s, 0)), (-nexp(-log_power - log_rest - sp.log(-s)), s < 0),
                                  (nexp(-log_power - log_rest - sp.log(s)), True)))

    far = times_inside(sp.log(shared))
    whole, rest = exponent.as_coeff_Add()
    if whole.is_Integer and whole != 0 and not rest.is_number:
        # b^(γ + 1) as b·b^γ: γ + 1 rounded first is |log b| times its rounding (36 ULP of f at t = 1e−16, γ = 0.001)
        power = _rewritten(base ** rest)[0] * base ** whole
    # softplus(u) subnormal (u < −708) is rounded to a few bits (u = −745: 4.9e−324 for 2.8e−324): far too, and
    # there log softplus(u) is u (log-softplus-left's identity below u = −40; the rounded subnormal's log was 0.56
    # off: ∂t at g = 1/2, t = 1e−160, x = −745 2.47e−244 for 1.41e−244)
    u = shared.args[0]
    left = times_inside(u)
    # b^e overflows where the product does not (t^(g − 1) at t = 5e−324, g = 0.001: ∂t inf for 9.0e306; t^g at
    # g = −2, t = 1e−160, x = −30: f inf for 9.36e306)
    if not lone:
        return sp.Piecewise((Grouped(shared * power) * inside, sp.And(log_power > _POWER_BELOW, u > _SOFTPLUS_NORMAL)),
                            (far, True))
    near = sp.And(log_power > _POWER_BELOW, log_power < -_POWER_BELOW, u > _SOFTPLUS_NORMAL)
    if whole.is_Integer and whole != 0 and not rest.is_number:  # b^γ·softplus(u) is formed first (the product f
        # shares), then times b^k: it underflows where the result does not (g = 1, t = 1e−300, x = −41: ∂t 3e9 ULP)
        near = sp.And(near, rest * sp.log(base) > _POWER_BELOW, rest * sp.log(base) < -_POWER_BELOW)
    return sp.Piecewise((Grouped(shared * power) * inside, near),
                        (left, u < _LOG_SOFTPLUS_LEFT), (far, True))


def _softplus_factor(node):
    """c₁·softplus(u) + c₂·softplus(u) + … (softplus(u) in every term, no cᵢ holding an input of u) →
    softplus(u)·(c₁ + c₂ + …): the sum of products is ∞ − ∞ = NaN at u = +inf where the cᵢ have opposite signs,
    overflows where a product does and the sum does not, and rounds each product before they cancel. The focal
    loss's far ∂t (z < −1000) is softplus(−z)·(3(1 + γ)·t^γ/4 − (2 + γ)·t^(1 + γ)/2): NaN at z = −inf, 18 ULP in
    float64 at t = 1, γ = 1/2, z = −7499 as two products. 0 where the sum is 0 and u beyond 2¹⁰²⁰ (∂t's at t = 1,
    γ = 1: softplus(u) times 0 at every finite u, so its limit there). A product holding a log (∂γ,
    p^γ·log p·(…)·softplus) likewise: 0 where its other factors are 0 (log 1) and u beyond 2¹⁰²⁰."""
    if not ((node.is_Add and len(node.args) >= 2) or node.is_Mul) or not node.has(softplus):
        return None
    found = _split_softplus(node)
    if found is None:
        return None
    shared, total = found
    total = unwiden(total)
    inputs = shared.args[0].free_symbols
    if not inputs or total.free_symbols & inputs or total.has(softplus):
        return None
    big = sp.Float(2.0 ** 1020)
    at_zero = sp.And(sp.Eq(total, 0), shared.args[0] > big)
    if node.is_Mul and not total.has(sp.log, log1p):
        # b^e·(softplus(u)·Q) with e an input's expression (the far focal f, t^γ·softplus(−z)·t·(3/4 − t/2)): b^e
        # first underflows where the product does not (t = 1e−200, γ = 2, z = −1e300: 0 for 7.5e−301) and is 0·∞ =
        # NaN at u = inf; as the sums below, softplus(u)·b^e then Q. Else (a number's power) as it is
        lowest = _lowest_power_out(total)
        if lowest is None or lowest[0].as_base_exp()[1].is_number:
            return None
    elif node.is_Mul:
        # 0 where a factor is 0 (log 1), not where the float64 product is: t^γ·log t·t·(3/4 − t/2) underflows to 0 at
        # t = 1e−300, γ = 1/2, where ∂γ at z = −inf is −inf (the select gave 0)
        factors = [f for f in sp.Mul.make_args(_without_power_selects(total)) if not f.is_number]
        # (b^e is 0 where b is: where its float64 value is, it has underflowed (t = 1e−200, γ = 2: ∂γ at z = −inf is
        # −inf, the select gave 0))
        factors = [f.base if f.is_Pow and not f.exp.is_number else f for f in factors]
        at_zero = sp.And(sp.Or(*[sp.Eq(f, 0) for f in factors]), shared.args[0] > big)
        # b^e·log(…)·(softplus(u)·Q), e an input's expression (the far ∂γ): softplus(u)·b^e first, as f (t = 1e−200,
        # γ = 2, z = −1e300: −0 for −3.45e−298)
        logs = sp.Mul(*[f for f in sp.Mul.make_args(total) if f.has(sp.log, log1p)])
        lowest = _lowest_power_out(sp.cancel(total / logs))
        if lowest is not None and not lowest[0].as_base_exp()[1].is_number:
            power, rest = lowest
            base, exponent = power.as_base_exp()
            power, _ = _rewritten(power)
            if rest == 1 and isinstance(logs, sp.log):
                # b^e·log(v)·softplus(u) (∂g of softplus(x)·t^g): the log inside the far branches' double word, so
                # that a subnormal product is rounded once (log t times the subnormal f: 0 for −9.9e−322 at
                # g = 0.001, t = 5e−324, x = −745, 202 subnormal ULP)
                node = _power_times_softplus(base, exponent, power, shared, logs, lone=True)
            else:
                node = _power_times_softplus(base, exponent, power, shared) * _widened(rest) * logs
        return _Final(_Fired(sp.Piecewise((0, at_zero), (node, True)), ["softplus-factor", "zero-limit"]))
    # the sum widened (double-word in a float64 kernel): its terms cancel where ∂t crosses 0 (t = 1, γ near 1: 7 ULP
    # at z = −4217, γ = 0.05 as a float64 sum); the select at 0 only beyond 2¹⁰²⁰: the sum rounded to float64 is 0
    # at γ = 1 + 2⁻⁵², t = 1, where the widened one is 2⁻⁵⁴
    product = shared * widen(total)
    lowest = _lowest_power_out(total)
    if lowest is not None:  # b^e·softplus(u) first (tiny times huge), then the widened polynomial
        power, rest = lowest
        base, exponent = power.as_base_exp()
        power, fired = _rewritten(power)
        # 0 where the widened Q is 0 (Q rounded to float64 is 0 at t = 0.9, γ = 1/2, where it is −2.8e−17 and ∂t at
        # z = −1.8e308 is −4.7e291)
        if rest.is_Symbol or rest == 1:  # g·t^(g − 1)·softplus(x): g inside the far branches' double word
            product = _power_times_softplus(base, exponent, power, shared, rest, lone=True)
        else:
            product = _power_times_softplus(base, exponent, power, shared) * _widened(rest)
        at_zero = sp.And(sp.Eq(_widened(rest), 0), shared.args[0] > big)
    return _Final(_Fired(sp.Piecewise((0, at_zero), (product, True)), ["softplus-factor", "zero-limit"]))


SOFTPLUS_FACTOR = Rule(
    "softplus-factor", "c₁·softplus(u) + c₂·softplus(u), each cᵢ free of u's inputs (the focal loss's far "
    "gradients, softplus(∓z) times powers of t), is ∞ − ∞ = NaN at u = +inf where the cᵢ have opposite signs "
    "(∂t at t = 1, z = −inf), overflows where one product does (∂t = ∞ at z = −1.797e308, t = 1 − 2⁻⁵³ for "
    "−4.49e307) and rounds each product before they cancel (18 ULP in float64 at z = −7499, t = 1, γ = 1/2); "
    "softplus(u)·(c₁ + c₂) multiplies once (the sum widened), 0 where c₁ + c₂ is 0 and u is beyond 2^1020; a product "
    "of softplus(u) and a log (∂γ, (1 − t)^γ·log(1 − t)·softplus(z)·…) is 0 there too where the log is 0 (t = 0, "
    "z = +inf: ∞·0 = NaN before). Where every term of the sum holds a power of one base b with exponents a whole "
    "number apart, the least b^e comes out first, softplus(u)·b^e·Q with Q a polynomial in b: the far ∂t's "
    "γ·t^(γ − 1)·(3t/4 − t²/2) + … rounded 3t/4 in the subnormal range and overflowed t^(γ − 1) (1.9e15 ULP at "
    "t = 5e−324, z = −145646, γ = 1/2; NaN at γ = 0) before softplus(−z) ≈ |z| made the result normal. "
    "softplus(u)·b^e itself is e^(e·log b + log softplus(u)) in double words where e·log b < −80 (b^e underflows "
    "where the product does not: ∂t 0 for 2.25e−300 at t = 1e−300, γ = 2, z = −1e300; 0·∞ = NaN at z = −inf), and a "
    "product b^e·softplus(u)·Q (the far f, and ∂γ with its log) is taken the same way. The near product also needs "
    "e·log b < 80 (t^(g − 1) overflowed at t = 5e−324, g = 0.001: ∂t inf for 9.0e306), and b^γ·softplus(u) within "
    "e^±80 where b^(γ + k) is b^γ·b^k; below u = −40 the far exponent takes u for log softplus(u) (log-softplus-left's "
    "identity: the rounded subnormal's log was 0.56 off, ∂t 2.47e−244 for 1.41e−244); a lone input factor g "
    "(∂t = g·t^(g − 1)·softplus(x)) goes into the exponent as log|g|, and a lone log (∂g's log t) into the double "
    "word, whose scaled tier rounds a subnormal result once (202–339 subnormal ULP before)",
    local=_softplus_factor)

# ------------------------------------------------------------------ softplus-scale (issue 16: softplus with β, β = 2
# at x = 1.797e308 was inf, true x: the scaled argument β·x overflows before the quotient by β brings it back)

def _softplus_scale(node):
    """softplus(c·u)/c → max(u, 0) + softplus(−c·|u|)/c (c a positive number; min(u, 0) + … for a negative one),
    u·H(c·u) + softplus(−|c·u|)/c where c holds inputs (log1p(e^(b·x))/b with b an input): softplus(z) =
    max(z, 0) + softplus(−|z|) exactly, and max(c·u, 0)/c is u's part on the side where c·u > 0, which needs no
    product that can overflow. H(0) = 1/2 there, so c·u underflowing to 0 still gives u/2 + log 2/c, the first
    two terms of the series. c is the factors of softplus' argument whose reciprocals the product holds, each to the
    power −1 exactly: ∂β's softplus(β·x)/β² is the softplus-slope rule's (its term of k·(u·σ(u) − softplus(u)))."""
    if not node.is_Mul:
        return None
    powers = node.as_powers_dict()
    for sp_factor in node.args:
        if not (isinstance(sp_factor, softplus) and sp_factor.args[0].is_Mul):
            continue
        k, inner = node.as_coeff_Mul()
        ca, inner_arg = sp_factor.args[0].as_coeff_Mul()
        c = [f for f in sp.Mul.make_args(inner_arg)
             if not f.is_number and f.free_symbols and powers.get(f, 0) == -1 and not isinstance(f, sp.Pow)]
        number = ca if ca != 1 and ca != -1 and k * ca == 1 else sp.Integer(1)
        if not c and number == 1:
            continue
        scale = number * sp.Mul(*c)
        u = sp_factor.args[0] / scale
        rest = node / sp_factor * scale
        if number != 1 and not c:
            side = sp.Max(u, 0) if number > 0 else sp.Min(u, 0)
        else:
            side = u * sp.Heaviside(scale * u)
        return rest * (side + softplus(-sp.Abs(scale * u)) / scale)
    return None


SOFTPLUS_SCALE = Rule(
    "softplus-scale", "softplus(c·u)/c (softplus with β, softplus(β·x)/β, or log1p(e^(b·x))/b as written) overflows "
    "c·u before the quotient brings it back: softplus(x, 2) was inf at x = 1.797e308 (true x; torch's F.softplus(x, 2) "
    "inf), log1p(e^(b·x))/b NaN at b = −1.8e308, x = −2.6 (true −2.6); max(u, 0) + softplus(−c·|u|)/c (c a "
    "positive number), u·H(c·u) + softplus(−|c·u|)/c (c holding inputs) is the same number, softplus(z) = max(z, 0) "
    "+ softplus(−|z|), with no product that overflows",
    # a whole-expression rule, after the node-by-node pass: ∂β's x·σ(βx)/β − softplus(βx)/β² is the softplus-slope
    # rule's, which a node-by-node softplus-scale below it would have taken apart first
    apply=lambda expr: _top_down(expr, _softplus_scale), fired=_rewrote)


# (from the rounded-argument block of rewrite.py: the split script moved it here, to the first module that uses it)
_ROUNDED_ARGUMENT_FROM = 2  # |v| (e^v), −v (σ(v)) from which v is in double-word
# (from the rounded-argument block of rewrite.py: the split script moved it here, to the first module that uses it)
def _polynomial_of_exponentials(v) -> bool:
    """v is built of inputs, numbers, sums, products, whole powers and e^: its double-word is a few
    two-products (and _dw_exp). A v holding softplus, log, σ or tanh is left as written: mish′'s σ(±2·softplus x)
    (from the sech² rule) would take _dw_softplus's 400 operations on every x > 1/2, for a term that is a small
    part of mish′ there."""
    from sympy.functions.elementary.piecewise import ExprCondPair

    allowed = (sp.exp, expm1, sp.Indexed, sp.Piecewise, ExprCondPair, sp.Abs, sp.Max, sp.Min,
               sp.core.relational.Relational, sp.logic.boolalg.Boolean, sp.UnevaluatedExpr)  # selects: their conditions
    return all(n.is_Symbol or n.is_number or n.is_Add or n.is_Mul or (n.is_Pow and n.exp.is_Integer)
               or isinstance(n, allowed) for n in sp.preorder_traversal(v))


# ------------------------------------------------------------------ softplus-slope (issue 16: ∂β of torch's
# Softplus(beta), softplus(β·x)/β: (x·σ(βx) − softplus(βx)/β)/β); tested in tests/test_pois10.py


def _sigmoid_and_softplus_terms(node):
    """The terms of the sum ``node`` as (coefficient, u) pairs by kind: σ(u) and softplus(u) each a factor
    of its term exactly once (the coefficient free of it)."""
    found = {sigmoid: [], softplus: []}
    for k, term in enumerate(node.args):
        for f in (a for a in sp.Mul.make_args(term) if isinstance(a, (sigmoid, softplus))):
            rest = term / f
            if not rest.has(f):
                found[type(f)].append((k, rest, f.args[0]))
    return found


def _softplus_slope(node):
    """k·u·σ(u) − k·softplus(u), two terms of a sum, as −k·(|u|·σ(−|u|) + softplus(−|u|)); None where no
    such pair is there. The identity: softplus(u) = u + softplus(−u) and σ(u) = 1 − σ(−u) give
    u·σ(u) − softplus(u) = −u·σ(−u) − softplus(−u) for u ≥ 0; below 0 it is the written form with −u = |u|.
    Both terms are ≥ 0 (the binary entropy of σ(u) in nats), so nothing cancels."""
    if not (node.is_Add and node.has(sigmoid) and node.has(softplus)):
        return None
    found = _sigmoid_and_softplus_terms(node)
    for i, k_sig, u in found[sigmoid]:
        for j, k_sp, w in found[softplus]:
            if i == j or w != u or sp.cancel(k_sig + u * k_sp) != 0:
                continue
            a = sp.Abs(u)
            # softplus(u) − u·σ(u), both terms ≥ 0; |u|·σ(−|u|) is 0·∞ at |u| = ∞, where its limit is 0 (and
            # it underflows to 0 from |u| ≈ 750 on: beyond float32's largest, 0 in every dtype)
            entropy = sp.Piecewise((0, a > sp.Float(_FLT_MAX, 17)), (a * sigmoid(-a), True)) + softplus(-a)
            rest = [t for k, t in enumerate(node.args) if k not in (i, j)]
            return sp.Add(k_sp * entropy, *rest)
    return None


SOFTPLUS_SLOPE = Rule(
    "softplus-slope", "k·(u·σ(u) − softplus(u)) (∂β of softplus(β·x)/β, torch's Softplus(beta): "
    "(x·σ(βx) − softplus(βx)/β)/β) cancels for u ≫ 0, where both terms are u to the first digits: 0 in "
    "float32 at u = 48.4 (true −4.5e−23 at β = −32.27, x = −1.5), and float64's double-word still cancels past "
    "u ≈ 75; it is −k·(|u|·σ(−|u|) + softplus(−|u|)) exactly (softplus(u) = u + softplus(−u), "
    "σ(u) = 1 − σ(−u)), a sum of two terms ≥ 0 (the binary entropy of σ(u)): no cancellation, no widening; "
    "|u|·σ(−|u|) is 0 beyond |u| = 3.4e38 (its limit at ∞, where the product is 0·∞ = NaN)",
    local=_softplus_slope)


# ------------------------------------------------------------------ rounded-softplus-argument (issue 16: softplus(v)
# of a v the code rounds, softplus(β·x)/β in float64: 30 ULP at β = −226.5, x = 0.3); tested in tests/test_pois10.py


def _rounded_softplus_arguments(expr):
    """Every softplus(v) of ``expr`` whose v is rounded and not bounded (as the rounded-argument rule decides for
    e^v and σ(v)), widened where v < −2: v in double-word in a float64 kernel, then softplus(v_hi) + σ(v_hi)·v_lo
    (doubleword's _dw_softplus_first); in float64 in a float32 one."""
    if not isinstance(expr, sp.Basic) or not expr.has(softplus):
        return expr

    def rewrite(new):
        if isinstance(new, softplus) and new.free_symbols and not new.has(sp.Indexed):
            v = unwiden(new.args[0])
            if not _exact_argument(v) and not _bounded_argument(v) and _polynomial_of_exponentials(v):
                # for v ≥ −2 softplus(v)'s condition number |v|·σ(v)/softplus(v) is at most 1.9 (at v = −2;
                # below 1 for v ≥ 0): v's rounding is then 1.9ε of it at most, and the written form is kept
                new = sp.Piecewise((new, v >= -_ROUNDED_ARGUMENT_FROM), (widen(new, first_order=True), True))
        return new

    return _bottom_up(expr, rewrite, (WidenedBase, sp.Indexed))


ROUNDED_SOFTPLUS_ARGUMENT = Rule(
    "rounded-softplus-argument", "softplus(v) ≈ e^v for v ≪ 0 turns v's rounding into a relative error of "
    "|v|·ε, as e^v does (the rounded-argument rule's): softplus(β·x)/β (torch's Softplus(beta)) 30 ULP in "
    "float64 at β = −226.5, x = 0.3, 390 ULP at β = −2074.96, x = 0.3 (β·x = −622.5 rounded before softplus); v in double-word arithmetic "
    "and softplus(v_hi) + σ(v_hi)·v_lo (first order in v_lo) in a float64 kernel, in float64 in a float32 one, "
    "where v is rounded and not bounded by its form (as the rounded-argument rule decides) and only where "
    "v < −2: from −2 up softplus's condition number |v|·σ(v)/softplus(v) is at most 1.9 and the written form is kept",
    apply=_rounded_softplus_arguments, fired=_rewrote)


# ------------------------------------------------------------------ log-softplus-left (issue 16: log(softplus(x)) was
# −inf from x ≈ −745 in float64 (−104 float32) and its ∂ σ/softplus 0/0 = NaN; h-quot29); tested in tests/test_quot29.py

_LOG_SOFTPLUS_LEFT = -40  # below it log(softplus(u)) rounds to u and σ(u)/softplus(u) to 1, in float32 and float64


def _log_softplus_left(node):
    """log(softplus(u)) → u where u < −40, and k·σ(u)/softplus(u) (its derivative) → k there; each select keeps the
    written form where u ≥ −40. None for any other node.

    Exact: softplus(u) = log1p(e^u) = e^u·(1 − e^u/2 + …), so log(softplus(u)) = u + log(1 − e^u/2 + …), which is u
    to within e^u/2 < 2.2e−18 < |u|·2⁻⁶⁰ for u < −40: u is that number rounded (to float64 and float32 alike); and
    σ(u)/softplus(u) = (1 − e^u + …)/(1 − e^u/2 + …) = 1 − e^u/2 + …, within 2.2e−18 < 2⁻⁵⁴ of 1: 1 rounded."""
    if isinstance(node, sp.log) and isinstance(node.args[0], softplus):
        u = node.args[0].args[0]
        return _Final(sp.Piecewise((u, u < _LOG_SOFTPLUS_LEFT), (node, True)))
    if not node.is_Mul:
        return None
    for f in node.args:
        if not (f.is_Pow and f.exp == -1 and isinstance(f.base, softplus)):
            continue
        u = f.base.args[0]
        if sigmoid(u) not in node.args:
            continue
        rest = sp.Mul(*[a for a in node.args if a is not f and a != sigmoid(u)])
        return _Final(sp.Piecewise((rest, u < _LOG_SOFTPLUS_LEFT), (node, True)))
    return None


LOG_SOFTPLUS_LEFT = Rule(
    "log-softplus-left", "softplus(u) = log1p(e^u) ≈ e^u underflows to 0 for u ≪ 0 (float64 from u ≈ −745, float32 "
    "−104) where its log does not: log(softplus(x)) was −inf at x = −800 (true −800) and its derivative "
    "σ(x)/softplus(x) 0/0 = NaN (true 1; torch the same); log(softplus(u)) = u + log(1 − e^u/2 + …) is u, and "
    "σ(u)/softplus(u) = 1 − e^u/2 + … is 1, each rounded, where u < −40; as written elsewhere", local=_log_softplus_left)


# ------------------------------------------------------------------ softplus-over-exp (issue 16: softplus(x)·e^−x, whose
# ∂ (σ(x) − softplus(x))·e^−x cancelled for x ≪ 0, 8.4e8 ULP at −20 in float64, and NaN from −745; h-quot29); tested in
# tests/test_quot29.py

_SOFTPLUS_OVER_EXP_FAR = -30  # below it the series: e^u < 9.4e−14
_SOFTPLUS_OVER_EXP_NEAR = 2  # below it σ(u) − softplus(u) cancels (by 2/e^u for u ≪ 0): widened


def _softplus_over_exp(node):
    """softplus(u)·e^−u → 1 where u < −40, and (σ(u) − softplus(u))·e^−u (its derivative) → −t/2 + 2t²/3 (t = e^u)
    where u < −30, widened where u < 2 (double words in a float32 kernel too), as written elsewhere; None for any
    other node.

    Exact: with t = e^u, softplus(u)·e^−u = log1p(t)/t = 1 − t/2 + …, 1 rounded where t/2 < 2.2e−18; and
    (σ(u) − softplus(u))·e^−u = 1/(1 + t) − log1p(t)/t = Σ_{k≥1} (−1)^k·k/(k + 1)·t^k, whose third term is 1.5t²
    of the first, below 1.4e−26 where u < −30. Between −30 and 2 the difference cancels by at most 2/t = 2.1e13
    (2⁴⁵) in double words (about 2⁻¹⁰⁰ each): 2⁻⁵⁵ relative, rounded once."""
    if node.is_Add:
        return _softplus_over_exp_sum(node)
    if not node.is_Mul:
        return None
    if len(node.args) != 2:
        found = _softplus_exp_term(node)  # c·e^−u·softplus(u), c holding other factors (times an input)
        if found is None:
            return None
        c, u = found
        inner = _softplus_over_exp(sp.exp(-u) * softplus(u))
        return _Final(c * inner.expr)
    e = next((a for a in node.args if _is_exp(a)), None)
    if e is None:
        return None
    (other,) = [a for a in node.args if a is not e]
    u = -e.args[0]
    if other == softplus(u):
        return _Final(sp.Piecewise((sp.S.One, u < -40), (node, True)))
    if other.is_Add and set(other.args) == {sigmoid(u), -softplus(u)}:
        t = sp.exp(u)
        series = -t / 2 + sp.Rational(2, 3) * t ** 2
        return _Final(sp.Piecewise((series, u < _SOFTPLUS_OVER_EXP_FAR),
                                   (widen(node, in_float32=True), u < _SOFTPLUS_OVER_EXP_NEAR), (node, True)))
    return None


def _softplus_exp_term(term):
    """(c, u) where ``term`` is c·e^−u·softplus(u) (c the product of its other factors, 1 for none); None otherwise."""
    factors = term.args if term.is_Mul else (term,)
    for s in factors:
        if isinstance(s, sp.Piecewise) and len(s.args) == 2 and s.args[0].expr == 1 and s.args[1].cond == sp.true:
            # this rule's own value form, {1 if u < −40; e^−u·softplus(u)}: the bottom-up pass met the product first
            found = _softplus_exp_term(s.args[1].expr)
            if found is not None and found[0] == 1 and s.args[0].cond == (found[1] < -40):
                rest = list(factors)
                rest.remove(s)
                return sp.Mul(*rest), found[1]
        if isinstance(s, softplus) and term.is_Mul:
            u = s.args[0]
            rest = list(term.args)
            rest.remove(s)
            e = next((a for a in rest if _is_exp(a) and a.args[0] == -u), None)
            if e is not None:
                rest.remove(e)
                return sp.Mul(*rest), u
    return None


def _softplus_over_exp_sum(node):
    """c·σ(−u) − c·e^−u·softplus(u) among the terms of a sum (the derivative of log(1 + e^u)·e^−u as SymPy writes it,
    σ(u)·e^−u = σ(−u): the sigmoid rule's 1/(1 + e^u)) → c·((σ(u) − softplus(u))·e^−u as :func:`_softplus_over_exp`
    writes it); None where no such pair is there. Exact: σ(u)·e^−u = 1/(e^u + 1) = σ(−u)."""
    terms = list(node.args)
    for i, t in enumerate(terms):
        found = _softplus_exp_term(-t)
        if found is None:
            continue
        c, u = found
        pair = c * sigmoid(-u)
        if pair in terms:
            rest = [a for j, a in enumerate(terms) if j != i]
            rest.remove(pair)
            inner = _softplus_over_exp((sigmoid(u) - softplus(u)) * sp.exp(-u))
            return _Final(sp.Add(c * inner.expr, *rest))
    return None


SOFTPLUS_OVER_EXP = Rule(
    "softplus-over-exp", "softplus(u)·e^−u = log1p(t)/t (t = e^u) is 0·inf = NaN from u ≈ −745 (true 1), and its "
    "derivative (σ(u) − softplus(u))·e^−u cancels for u ≪ 0 (σ and softplus are both t to first order: 8.4e8 ULP "
    "at x = −20 in float64, 0 for −1.36e−39 at −88.8, NaN from −745; torch the same): f is 1 below u = −40; the "
    "derivative is the series −t/2 + 2t²/3 below u = −30 and computed in double words (a cancellation of at most "
    "2⁴⁵ there) below u = 2; as written elsewhere", local=_softplus_over_exp)


# ------------------------------------------------------------------ softplus-over-exp-minus-one (issue 16: softplus(x)·e^−x
# − 1, the rule's value 1 rounded before the constant is subtracted: 0 for −2.12e−18 at x = −40, 7.6e12 ULP at −30;
# h-xfail31); tested in tests/test_xfail31.py


def _softplus_over_exp_minus_one(node):
    """… + c·softplus(u)·e^−u − c + … (c any factor, a number or not; the product as written or as softplus-over-exp
    made it) → … + c·g(u) + …, g(u) = log1p(t)/t − 1 (t = e^u): the series −t/2 + t²/3 below u = −30, the
    difference in double words (a float32 kernel too) below u = 2, as written above; None for any other node.

    Exact: log1p(t)/t − 1 = Σ_{k≥1} (−1)^k·t^k/(k + 1); past its second term the series is t²/2 of t/2's size, below
    4.4e−27 (2⁻⁸⁷) relative where t < 9.4e−14 (as softplus-over-exp's derivative series). Between −30 and 2 the difference cancels by at most 2/t = 2.1e13 (2⁴⁵), the double
    words' product about 2⁻¹⁰⁰ of 1: 2⁻⁵⁵ relative, rounded once. From u = 2 on g ≤ −0.71 and log1p(t)/t ≤ 0.29:
    nothing cancels."""
    if not node.is_Add:
        return None
    terms = list(node.args)
    for i, term in enumerate(terms):
        found = _softplus_exp_term(term)
        if found is None:
            continue
        c, u = found
        rest = terms[:i] + terms[i + 1:]
        if -c not in rest:
            continue
        rest.remove(-c)
        t = sp.exp(u)
        written = sp.exp(-u) * softplus(u) - 1
        g = sp.Piecewise((-t / 2 + t ** 2 / 3, u < _SOFTPLUS_OVER_EXP_FAR),
                         (widen(written, in_float32=True), u < _SOFTPLUS_OVER_EXP_NEAR), (written, True))
        return _Final(sp.Add(c * g, *rest))
    return None


SOFTPLUS_OVER_EXP_MINUS_ONE = Rule(
    "softplus-over-exp-minus-one", "softplus(u)·e^−u − 1 = log1p(t)/t − 1 (t = e^u) cancels for u ≪ 0, where the "
    "ratio is 1 − t/2: softplus-over-exp's value 1 (below u = −40) or its product, each rounded before the 1 is "
    "subtracted (0 for −2.12e−18 at x = −40, 7.6e12 ULP at −30 in float64; torch −1.0 there); c·softplus(u)·e^−u − c "
    "is c·g(u), g the series −t/2 + t²/3 of the small part below u = −30, the difference in double words (a "
    "cancellation of at most 2⁴⁵) below u = 2, as written above", local=_softplus_over_exp_minus_one)


# ------------------------------------------------------------------ softplus-rational (issue 16, session 30, h-quot30:
# ∂ of σ(x)/mish(x) = (σ(−x) − 1/x − sech²(softplus x)·σ(x)/tanh(softplus x))·σ(x)/(x·tanh(softplus x)): σ(−x) and
# sech²(softplus x)·σ(x)/tanh(softplus x) both tend to 1 as x → −∞ and cancel (to e^x/2), 8–316 ULP in float64 from
# x = −20 to −745, and σ(x)/tanh(softplus x) is 0/0 = NaN from x = −745 (value and ∂; torch the same);
# tested in tests/test_quot30.py

_SOFTPLUS_RATIONAL_DEGREE = 8  # the largest degree in t of the numerator or denominator taken
_SOFTPLUS_RATIONAL_OF: dict = BoundedRecord()  # a form this rule wrote → the leaves' expression it came from (exact: the same number)


def _softplus_leaf(f):
    """(q, p, through) for a leaf e^(q·a), σ(q·a) or tanh(q·a) of a whole q, |q| ≤ 4, with a = p (through False) or
    a = softplus(p) (through True); None for anything else."""
    if not isinstance(f, (sp.exp, sigmoid, sp.tanh)) or not f.args[0].free_symbols:
        return None
    q, p = _split(f.args[0])
    if not q.is_Integer or not 1 <= abs(q) <= 4:
        return None
    if isinstance(p, softplus):
        return (q, p.args[0], True) if p.args[0].free_symbols else None
    return q, p, False


def _softplus_collect(node, leaves) -> bool:
    """``node`` a rational function of e^(q·p), σ, tanh of q·p and q·softplus(p) (the leaves, added to ``leaves``)."""
    if node.is_Rational:
        return True
    if _softplus_leaf(node) is not None:
        leaves.add(node)
        return True
    if node in _SOFTPLUS_RATIONAL_OF:  # a term this rule wrote already (bottom-up, a product before its sum)
        return _softplus_collect(_SOFTPLUS_RATIONAL_OF[node], leaves)
    if node.is_Add or node.is_Mul:
        return all(_softplus_collect(a, leaves) for a in node.args)
    if node.is_Pow and node.exp.is_Integer and abs(node.exp) <= _MAX_POWER:
        return _softplus_collect(node.base, leaves)
    return False


def _factored_in(r, t, value):
    """The rational function r of t, factored over the rationals, each factor with t = ``value`` (Grouped: kept);
    where the numerator's degree is not below the denominator's, the quotient polynomial plus the proper rest:
    σ(x)/tanh(softplus x) = (t² + 2t + 2)/((t + 1)(t + 2)) = 1 − t/((t + 1)(t + 2)), the rest ≤ 0.172 for t > 0, so
    its roundings count a sixth (3.0 ULP in float64 near x = 0 as one quotient of products, 1.3 so)."""
    num, den = sp.fraction(sp.cancel(r))
    if sp.degree(num, t) >= sp.degree(den, t) > 0:
        q, rest = sp.div(sp.Poly(num, t), sp.Poly(den, t))
        small = sp.lambdify(t, rest.as_expr() / den)
        # only a constant quotient that the rest cannot cancel: |rest| ≤ |q|/2 on t in [0, 1] (σ(2x)/tanh(softplus x)
        # = 1 + (t − 2)/((t² + 1)(t + 2)) is 0 at t → 0 where the true value is t: kept as one quotient there)
        try:
            within = q.is_ground and not rest.is_zero and all(abs(small(k / 64)) <= abs(q.as_expr()) / 2
                                                               for k in range(65))
        except (ZeroDivisionError, OverflowError):  # a pole at t = 0 (a power of t in the denominator): as it is
            within = False
        if within:
            return Grouped(q.as_expr().xreplace({t: value})) + _factored_in(rest.as_expr() / den, t, value)
    near = _near_zero_split(num, den, t, value)
    if near is not None:
        return near
    out = sp.S.One
    for part, sign in ((num, 1), (den, -1)):
        c, factors = sp.Poly(part, t).factor_list()
        out *= c ** sign
        for g, m in factors:
            out *= Grouped(g.as_expr().xreplace({t: value})) ** (sign * m)
    return out


def _near_zero_split(num, den, t, value):
    """num/den (polynomials in t, t = ``value`` in (0, 1]) as t^−k·(c + t·S(t)/D(t)): a pole t^−k at 0 as the one power
    e^(∓k·p) (1/e^−x was two roundings, the exponential's and the quotient's), and the rest as its value c at t = 0
    plus a part that vanishes there, where that part never cancels c by more than half on t in [0, 1] (so its
    roundings count at most once): mish(x)/(σ(x)σ(−x)) = x·eˣ·(1 + v(2 + 3v + 2v²)/(2v² + 2v + 1)), v = e^−x,
    for x > 0 was x·(1 + v)²(1 + 2v)/(v(2v² + 2v + 1)), eight roundings (3.8 ULP in float64 at x = 7.03, its ∂
    4.8 at 19.14). None where neither applies."""
    k = min(m for (m,) in sp.Poly(den, t).monoms())
    if sp.Poly(num, t).eval(0) == 0:  # a zero at t = 0 (σ(x)·…): its factor t as it is
        return None
    rest_den = sp.cancel(den / t ** k)
    c = sp.Poly(num, t).eval(0) / sp.Poly(rest_den, t).eval(0)
    rest = sp.cancel(num / rest_den - c)
    split = False
    if not rest.is_zero and sp.degree(sp.fraction(rest)[1], t) > 0:
        ratio = sp.lambdify(t, rest / c)
        try:
            split = all(ratio(j / 64) >= -0.5 for j in range(65))
        except (ZeroDivisionError, OverflowError):
            split = False
    if not split and k == 0:
        return None
    pole = value ** -k  # e^(∓k·p): rounded once
    if not split:
        return pole * _factored_in(num / rest_den, t, value)
    return pole * (c + _factored_in(rest, t, value))


def _softplus_rational_of(inner):
    """``inner`` (a sum or product of leaves of one argument p, some through softplus(p), some not) as a rational
    function of t = e^p, written factored in t = e^p for p ≤ 0 and in v = e^−p for p > 0; None where it is no such
    function, or of too high a degree."""
    leaves: set = set()
    if not _softplus_collect(inner, leaves) or len(leaves) > _MAX_LEAVES:
        return None
    found = {_softplus_leaf(f) for f in leaves}
    if len({p for _, p, _ in found}) != 1 or {through for _, _, through in found} != {True, False}:
        return None
    (p,) = {p for _, p, _ in found}
    t = sp.Dummy("t", positive=True)
    mapping = {}
    for f in leaves:
        q, _, through = _softplus_leaf(f)
        b = (1 + t if through else t) ** q  # e^(q·softplus p) = (1 + e^p)^q
        mapping[f] = {sp.exp: b, sigmoid: b / (1 + b), sp.tanh: (b ** 2 - 1) / (b ** 2 + 1)}[type(f)]
    r = sp.cancel(inner.xreplace(_SOFTPLUS_RATIONAL_OF).xreplace(mapping))
    if not r.has(t):
        return r
    num, den = sp.fraction(r)
    if max(sp.degree(num, t), sp.degree(den, t)) > _SOFTPLUS_RATIONAL_DEGREE:
        return None
    v = sp.Dummy("v", positive=True)
    left = _factored_in(r, t, sp.exp(p))
    n = max(sp.degree(num, t), sp.degree(den, t))  # r(1/v) = v^(n − deg num)·num*(v)/(v^(n − deg den)·den*(v))
    reversed_ = [sp.Poly(f, t).transform(sp.Poly(1, t), sp.Poly(t, t)).as_expr().xreplace({t: v})
                 * v ** (n - sp.degree(f, t)) for f in (num, den)]
    right = _factored_in(reversed_[0] / reversed_[1], v, sp.exp(-p))
    out = sp.Piecewise((left, p <= 0), (right, True))
    _SOFTPLUS_RATIONAL_OF[out] = inner.xreplace(_SOFTPLUS_RATIONAL_OF)
    return out


def _softplus_rational(node):
    """A quotient (a product with a negative power) or a sum of e^(q·p), σ(q·p), tanh(q·p) and the same functions of
    q·softplus(p), leaves of both kinds among them (σ(x)/tanh(softplus x), mish's σ(x)/(x·tanh(softplus x)), and
    σ(−x) − sech²(softplus x)·σ(x)/tanh(softplus x) in its ∂), with any other factors or terms kept apart → the
    rational function of t = e^p that they are, e^(softplus p) being 1 + t: σ(x)/tanh(softplus x) = (t² + 2t + 2)/
    ((t + 1)(t + 2)), the sum t(t² − 2)/((t + 1)(t + 2)(t² + 2t + 2)); factored over the rationals, in t for p ≤ 0
    and in v = e^−p = 1/t for p > 0, so that no power overflows."""
    if not (node.is_Add or node.is_Mul):
        return None
    parts = node.args
    if not node.has(softplus) and not any(f in _SOFTPLUS_RATIONAL_OF for a in parts for f in sp.Mul.make_args(a)):
        return None
    if node.is_Add:
        return _softplus_rational_sum(parts)
    inner = [a for a in parts if _softplus_collect(a, set())]
    if node.is_Mul and not any(a.is_Pow and a.exp.is_negative and not a.base.is_number for a in inner):
        return None  # a product with no quotient: mish′'s x·σ(x)·σ(2s)σ(−2s) is left to the mish rules
    if len([a for a in inner if not a.is_Rational]) < 2 and not (  # or a form of its own beside a constant:
            node.is_Add and len(inner) >= 2 and any(a in _SOFTPLUS_RATIONAL_OF for a in inner)):  # σ(x)/tanh(softplus x) − 1
        return None
    whole = node.func(*inner)
    new = _softplus_rational_of(whole)
    if new is None:
        return None
    rest = [a for a in parts if a not in inner]
    return _Final(_Fired(node.func(new, *rest), ["softplus-rational"]))


def _softplus_rational_sum(terms):
    """The sum of ``terms`` with the terms that share their other factors (1/x in ∂ of σ(x)/mish(x) + σ(−x), which SymPy
    multiplies out: R₁/x + R₂/x with R₁ → 1 and R₂ → −1 as x → −∞) taken together, where their rational parts (each
    one of the leaves' own or a form this rule wrote) are one rational function of e^p; None where none are."""
    groups: dict = {}
    for a in terms:
        factors = sp.Mul.make_args(a)
        inner = [f for f in factors if _softplus_collect(f, set())]
        groups.setdefault(sp.Mul(*[f for f in factors if f not in inner]), []).append(sp.Mul(*inner))
    out, changed = [], False
    for cofactor, members in groups.items():
        if len(members) >= 2 and (len([m for m in members if not m.is_Rational]) >= 2
                                  or any(m in _SOFTPLUS_RATIONAL_OF for m in members)):  # σ(x)/tanh(softplus x) − 1
            new = _softplus_rational_of(sp.Add(*members))
            if new is not None:
                out.append(cofactor * new)
                changed = True
                continue
        out += [cofactor * m for m in members]
    return _Final(_Fired(sp.Add(*out), ["softplus-rational"])) if changed else None


SOFTPLUS_RATIONAL = Rule(
    "softplus-rational", "σ, tanh and e^ of p and of softplus(p) together are one rational function of t = e^p "
    "(e^(softplus p) = 1 + t) that the written form computes by cancellation or 0/0: ∂ of σ(x)/mish(x) holds "
    "σ(−x) − sech²(softplus x)·σ(x)/tanh(softplus x), which cancels as x → −∞ (8–316 ULP in float64 from x = −20 to "
    "−745), and σ(x)/tanh(softplus x), 0/0 = NaN from −745 (torch the same); = t(t² − 2)/((t + 1)(t + 2)"
    "(t² + 2t + 2)) and 1 − t/((t + 1)(t + 2)), factored over the rationals, an improper fraction as its quotient "
    "polynomial plus the proper rest (exact: SymPy's cancel, div and factor), in t for p ≤ 0 and in 1/t for p > 0 "
    "(≤ 2 ULP in float64 from −1e4 to 1e4; torch 308 at −709, NaN from −745); a pole t^−k at t = 0 as the one power "
    "e^(∓k·p) and the rest as its value at t = 0 plus a part that vanishes there, where that part never cancels it by "
    "more than half (mish(x)/(σ(x)σ(−x)) = x·eˣ·(1 + v(2 + 3v + 2v²)/(2v² + 2v + 1)), v = e^−x, for x > 0: as x·(1 + v)²"
    "(1 + 2v)/(v(2v² + 2v + 1)), 1/v rounding eˣ twice, f 3.8 ULP in float64 at x = 7.03 and f′ 4.8 at 19.14; 2.6 "
    "now)", local=_softplus_rational)


# ------------------------------------------------------------------ softplus-mixture (issue 16, session 48, h-cell48:
# BCE written through σ with a target outside [0, 1]); tested in tests/test_cell48.py

def _softplus_mixture(node):
    """P·softplus(−u) + Q·softplus(u) with P + Q = c, a number (BCE through σ, t·softplus(−z) + (1 − t)·softplus(z) once
    the log-sigmoid and sigmoid-complement rules have run; the zero-limit rule's selects around the terms taken as
    their products) → where P·Q < 0 (t outside [0, 1]): c·softplus(−u) + Q·u for u > 0, c·softplus(u) − P·u below,
    exactly (softplus(u) = u + softplus(−u)); the mixture as written elsewhere. Where P·Q < 0 the written terms have
    opposite signs and cancel to c·softplus(u) − P·u: at t = 1.3132616875182228, z = 1, 5.55e−17 for 2.516e−17 (9.8e15
    ULP in float64; torch 8.2e15), and at t = −3e38, z = 0 in float32 0 for log 2. Each new form is one softplus of
    −|u| (at most log 2·|c|) beside one product of inputs, which the widen rule computes in double words where they
    cancel (only where f itself is near 0); a select on P·Q, so that targets in [0, 1] keep the written mixture."""
    if not (node.is_Add and len(node.args) == 2):
        return None
    coefficients: dict = {}
    for term in node.args:
        found = _split_softplus(term)
        if found is None or found[1].has(softplus) or found[0].args[0] in coefficients:
            return None
        coefficients[found[0].args[0]] = found[1]
    args = list(coefficients)
    if sp.expand(args[0] + args[1]) != 0:
        return None
    u = args[1] if args[0].could_extract_minus_sign() else args[0]
    P, Q = coefficients[-u], coefficients[u]
    c = sp.expand(P + Q)
    if not (c.is_number and c.is_nonzero and c.is_finite):
        return None
    crossed = sp.Piecewise((c * softplus(-u) + Q * u, u > 0), (c * softplus(u) - P * u, True))
    return sp.Piecewise((crossed, P * Q < 0), (node, True))


def _softplus_mixture_output(expr):
    """``expr`` by :func:`_softplus_mixture` where it is such a mixture whole (an output: BCE through σ, bce_logits),
    else ``expr``: inside a product (the focal loss's CE) the widen rule takes the product of sums whole, which a
    select between the sums would hide."""
    new = _softplus_mixture(expr)
    return expr if new is None else new


SOFTPLUS_MIXTURE = Rule(
    "softplus-mixture", "P·softplus(−u) + Q·softplus(u) with P + Q = c (BCE through σ: t·softplus(−z) + "
    "(1 − t)·softplus(z)) has terms of opposite signs where P·Q < 0 (a target outside [0, 1]), which cancel to "
    "c·softplus(u) − P·u (t = 1.3132616875182228, z = 1: 5.55e−17 for 2.516e−17, 9.8e15 ULP in float64; torch 8.2e15); "
    "there it is c·softplus(−u) + Q·u for u > 0 and c·softplus(u) − P·u below (softplus(u) = u + softplus(−u), "
    "exact): one softplus of −|u| beside a product of inputs, widened where they cancel; the mixture elsewhere (an "
    "output that is such a sum whole)", apply=_softplus_mixture_output, fired=_rewrote)
