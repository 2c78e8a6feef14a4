"""Numerical-stability rewrites as named rules, applied node by node by :func:`stabilise`.

The rewriter walks the expression graph once, bottom-up, with one memo table: every
distinct node (SymPy shares equal subexpressions, so this is the CSE'd graph) is visited
once, and each rule looks at one node and its direct children only. No rule factors or
cancels a whole expanded expression: the one rational rewrite (``exp-rational``) works on a
node that is a small rational function of exponentials of *one* argument, with the
argument itself kept opaque. The cost is therefore linear in the size of the graph
(σ nested 16 deep, or a sum of 32 sigmoids, stabilise in milliseconds).

Each rule states what it fixes (its ``why`` is printed by ``symnet derive --stable``) and is
tested in ``tests/test_stability_rules.py``: exact (equal to the written form at 50 digits
at many points, or symbolically), and right at the value where the written form fails, on
the NumPy and the Triton backends. The functions the rules introduce (``sigmoid``,
``softplus``, ``log1p``, ``expm1``, ``tanh``, ``Max``, ``Abs``, ``Piecewise``) are printed
by every backend in an overflow-free way.
"""
from __future__ import annotations

import contextvars
import cmath
import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..functions import _PRINT_METHODS, SymnetFunction, relu, sigmoid
from ..records import BoundedRecord
from ..special import (binade_reciprocal, erfcx, erfcx_slope, erfcx_slope_tail, exp_shift, exp_twosum, hypot_gap_slope, ndtr, ndtr_tanh, ndtr_tanh_pdf, nexpsq, nexpsq2,
                       ordered_product, sigmoid_pair_product, sigmoid_twosum, softplus)

__all__ = ["softplus", "Rule", "RULES", "stabilise"]


@dataclass(frozen=True)
class Rule:
    """A named rewrite. ``local(node)`` (node-by-node rules) returns the node's new form, or
    None where it does not apply; ``apply``/``fired`` (whole-expression rules, such as the
    row-wise ones of :mod:`symnet.codegen.families.rowwise`) rewrite a whole expression."""

    name: str
    why: str
    apply: Callable[[sp.Expr], sp.Expr] | None = None
    fired: Callable[[sp.Expr, sp.Expr], bool] | None = None
    local: Callable[[sp.Expr], object] | None = field(default=None, compare=False)
    # a whole-expression rule applied before the node-by-node pass (log-near-one: the log of a sum as written, before
    # another rule rewrites the sum into a form whose value near 1 is rounded several times)
    before: bool = False


class _Final:
    """A rule's result that no rule may rewrite again (its own safe form contains the pattern)."""

    __slots__ = ("expr",)

    def __init__(self, expr):
        self.expr = expr


class _Fired:
    """A result that names the rules it stands for (the exp-rational recogniser names its target)."""

    __slots__ = ("expr", "names")

    def __init__(self, expr, names):
        self.expr, self.names = expr, names


def _introduces(function):
    return lambda old, new: new.count(function) > old.count(function)


# ------------------------------------------------------------------ helpers

def _is_exp(e) -> bool:
    return isinstance(e, sp.exp)


def _positive_number(e) -> bool:
    return e.is_Number and e.is_positive


def _exp_terms(s: sp.Expr):
    """A sum of c·e^a (c > 0 a number) and positive numbers as [(c, a)], or None."""
    if not s.is_Add:
        return None
    terms = []
    for t in s.args:
        c, rest = t.as_coeff_Mul()
        if _positive_number(t):
            terms.append((t, sp.S.Zero))
        elif _is_exp(rest) and c.is_positive:
            terms.append((c, rest.args[0]))
        else:
            return None
    return terms


def _positive(e) -> bool:
    """Positive for every real input, by its form (not by SymPy's assumptions)."""
    if _positive_number(e) or isinstance(e, (sp.exp, sigmoid, sp.cosh)):
        return True
    if e.is_Pow:
        return _positive(e.base) and e.exp.is_real
    if e.is_Mul:
        return all(_positive(a) for a in e.args)
    if e.is_Add:
        return all(_positive(a) for a in e.args)
    return False


def _shifted(e) -> bool:
    return e.has(sp.Max)


# ------------------------------------------------------------------ exp-rational recogniser
# A node that is a rational function of e^a, σ(a), tanh(a), sinh(a), cosh(a), expm1(a) for
# arguments a = k·c (k small integers, c one common expression) is a rational function R(t)
# of t = e^c. R is cancelled (a small univariate fraction: cheap) and factored; where its
# factors are only t, t + 1 and t − 1 it is K·σ(c)^i·σ(−c)^j·tanh(c/2)^q (t/(1 + t) = σ(c),
# 1/(1 + t) = σ(−c), (t − 1)/(t + 1) = tanh(c/2)), which has no subtraction and no overflow:
# 2σ(2x) − 1 = tanh(x), 1 − tanh²(x) = 4σ(2x)σ(−2x), e^x/(1 + e^x) = σ(x), σ'' = −σσ(−)tanh.

_LEAVES = (sp.exp, sigmoid, sp.tanh, sp.sinh, sp.cosh, expm1)
_MAX_LEAVES, _MAX_POWER = 8, 8


def _collect(node, leaves) -> bool:
    if node.is_Rational:
        return True
    if isinstance(node, _LEAVES):
        leaves.add(node)
        return len(leaves) <= _MAX_LEAVES
    if node.is_Add or node.is_Mul:
        return all(_collect(a, leaves) for a in node.args)
    if node.is_Pow and node.exp.is_Integer and abs(node.exp) <= _MAX_POWER:
        return _collect(node.base, leaves)
    return False


def _split(arg):
    """arg = q·P with q rational and P a primitive expression, sign-normalised."""
    q, p = arg.as_content_primitive()
    if p.is_Mul:
        c, rest = p.as_coeff_Mul()
        q, p = q * c, rest
    if p.could_extract_minus_sign():
        q, p = -q, -p
    return q, p


def _leaf_argument(f):
    """The one primitive argument p (leaf arguments q·p) of the leaves of f, or None (none, several)."""
    leaves: set = set()
    _collect(f, leaves)
    ps = {_split(2 * leaf.args[0] if isinstance(leaf, sp.tanh) else leaf.args[0])[1] for leaf in leaves}
    return ps.pop() if len(ps) == 1 else None


def _exp_rational(node):
    if not (node.is_Add or node.is_Mul or node.is_Pow):
        return None
    if node.is_Mul:  # y·e^{xy}·σ(−xy): the factors in e^c recognised apart from the others (y)
        inner = [f for f in node.args if _collect(f, set())]
        groups: dict = {}  # e^x·σ(−x)·σ(2s)σ(−2s) (a hand-written mish′): each argument's factors apart
        for f in inner:
            if not f.is_Rational:
                groups.setdefault(_leaf_argument(f), []).append(f)
        if len(groups) > 1 and None not in groups:
            names: list = []
            out, changed = [f for f in node.args if f not in inner or f.is_Rational], False
            for group in groups.values():
                found = _exp_rational(sp.Mul(*group)) if len(group) >= 2 else None
                if isinstance(found, _Fired):
                    names += [n for n in found.names if n not in names]
                    found = found.expr
                changed |= found is not None
                out.append(group[0] if found is None else found)
                out += group[1:] if found is None else []
            if changed:
                return _Fired(sp.Mul(*out), names or ["sigmoid"])
            return None
        if 2 <= len(inner) < len(node.args):
            found = _exp_rational(sp.Mul(*inner))
            if found is None:
                return None
            outer = sp.Mul(*[f for f in node.args if f not in inner])
            if isinstance(found, _Fired):
                return _Fired(outer * found.expr, found.names)
            return outer * found
    if node.is_Add:  # 1/2 + tanh(u)/2 + x·(…) (GELU-tanh′ written out): the terms in e^c apart from the others
        inner = [a for a in node.args if _collect(a, set())]
        keys = {_leaf_argument(a) for a in inner if not a.is_Rational}
        if 2 <= len(inner) < len(node.args) and len(keys) == 1 and None not in keys:
            found = _exp_rational(sp.Add(*inner))
            if found is None:
                return None
            rest = [a for a in node.args if a not in inner]
            if isinstance(found, _Fired):
                return _Fired(sp.Add(found.expr, *rest), found.names)
            return sp.Add(found, *rest)
    leaves: set = set()
    if not _collect(node, leaves) or not leaves:
        return None
    parts = []
    for leaf in leaves:
        a = leaf.args[0]
        if a.is_number:
            return None
        q, p = _split(2 * a if isinstance(leaf, sp.tanh) else a)
        parts.append((leaf, q, p))
    ps = {p for _, _, p in parts}
    if len(ps) != 1:
        return None
    (p,) = ps
    g = sp.S.Zero
    for _, q, _ in parts:
        g = sp.gcd(g, q)
    if g == 0:
        return None
    t = sp.Dummy("t", positive=True)
    mapping = {}
    for leaf, q, _ in parts:
        k = q / g
        if not k.is_Integer or abs(k) > _MAX_POWER:
            return None
        tk = t ** int(k)
        mapping[leaf] = {sp.exp: tk, sigmoid: tk / (1 + tk), sp.tanh: (tk - 1) / (tk + 1),
                         sp.sinh: (tk - 1 / tk) / 2, sp.cosh: (tk + 1 / tk) / 2, expm1: tk - 1}[type(leaf)]
    r = sp.cancel(node.xreplace(mapping))
    c = g * p
    if not r.has(t):
        return r  # a constant: σ(x) + σ(−x) = 1
    collected = _exp_collected(node, mapping, r, t, c) if node.is_Add else None
    if collected is not None:
        return _Fired(collected, ["exp-collect"])
    num, den = (sp.Poly(f, t) for f in sp.fraction(r))
    step = 0
    for poly in (num, den):
        for (e,) in poly.monoms():
            step = sp.igcd(step, e)
    if step > 1:  # a function of t^step: t^step → t, c → step·c
        num, den = (sp.Poly(sum(k * t ** (m // step) for (m,), k in poly.terms()), t) for poly in (num, den))
        c = step * c
    powers = {t: 0, t + 1: 0, t - 1: 0}
    scale = sp.S.One
    for poly, sign in ((num, 1), (den, -1)):
        k, factors = poly.factor_list()
        scale *= k ** sign
        for f, mult in factors:
            f = f.as_expr()
            if f not in powers:
                return None
            powers[f] += sign * mult
    i, q = powers[t], powers[t - 1]
    j = -(powers[t + 1] + q) - i
    if i < 0 or j < 0:
        return None
    new = scale * sigmoid(c) ** i * sigmoid(-c) ** j * sp.tanh(c / 2) ** q
    if new == node:
        return None
    cosh_like = node.has(sp.tanh, sp.cosh) or any(  # e^x + e^−x: a cosh written out
        a.is_Add and sum(1 for x in a.args if _is_exp(x.as_coeff_Mul()[1])) >= 2 for a in sp.preorder_traversal(node))
    target = "tanh" if q else ("sech²" if i and j and cosh_like else "sigmoid")
    return _Fired(new, _rational_names(node, target))


def _laurent_terms(e, t):
    """{m: k} for ``e`` = Σ k·t^m (m whole), or None where ``e`` is no Laurent polynomial in t."""
    out: dict = {}
    for term in sp.Add.make_args(sp.expand(e)):
        k, m = term.as_coeff_exponent(t)
        if k.has(t) or not m.is_Integer:
            return None
        out[m] = out.get(m, 0) + k
    return out


def _exp_collected(node, mapping, r, t, c):
    """The exp-collect rule: Σ k_m·e^(m·c) for a sum ``node`` of exponential functions of one argument c (e^, sinh,
    cosh, expm1 as t = e^c: ``mapping``, their sum ``r``) in which the coefficient of some e^(m·c) cancels to 0
    (sinh x + cosh x + 1 = e^x + 1: the e^−x halves cancel, sinh x + cosh x is 0 for x < −37 in float64 where
    e^x is not); None where nothing cancels, or a term is no Laurent polynomial in t (σ, tanh)."""
    total = _laurent_terms(r, t)
    if total is None:
        return None
    written: set = set()
    for term in node.args:
        terms = _laurent_terms(term.xreplace(mapping), t)
        if terms is None:
            return None
        written |= set(terms)
    kept = {m: k for m, k in total.items() if k != 0}
    if not written - set(kept):
        return None
    return sp.Add(*[k * sp.exp(m * c) if m else k for m, k in kept.items()])


def _rational_names(node, target):
    """The rules a recognised form stands for, as the user would name them."""
    names = []
    divides = any(p.is_Pow and p.exp.is_negative and p.base.has(sigmoid, sp.tanh)
                  for p in sp.preorder_traversal(node))
    if target == "sech²":
        names.append("sech²")
    elif target == "tanh":
        names.append("tanh")
    elif node.has(sp.exp) or node.has(sp.cosh):
        names.append("sigmoid")
    if any(a.is_Add and any(x.is_Number for x in a.args) and a.has(sigmoid) for a in sp.preorder_traversal(node)):
        names.append("sigmoid-complement")
    if divides:
        names.append("cancel")
    return names or [target if target != "sech²" else "sigmoid"]


# ------------------------------------------------------------------ the local rules

@functools.lru_cache(maxsize=4096)
def _max_of(args: tuple):
    """sp.Max(*args), once per argument tuple: SymPy compares every pair of arguments (n² sign
    checks, each a factor_terms: 2 s at 20 terms, 5 s at 60) and every output's gradient of
    log Σ e^(a_i) holds the same sum. Distinct real symbols that carry no sign (the logits a_i of
    a written log-sum-exp) are never ordered by those checks, so all of them stay: the same node is
    built without them (``sp.Max(..., evaluate=False)``: the arguments in SymPy's order)."""
    return sp.Max(*args, evaluate=False) if unordered_symbols(args) else sp.Max(*args)


def unordered_symbols(args) -> bool:
    """``args`` are real symbols of unknown sign with distinct names: SymPy cannot order any two of
    them, so ``sp.Max(*args)`` keeps them all and is ``sp.Max(*args, evaluate=False)``."""
    return len({str(a) for a in args}) == len(args) and all(
        a.is_Symbol and a.is_extended_real is True and a.is_extended_nonnegative is None
        and a.is_extended_nonpositive is None for a in args)


def _softmax_shift(node):
    """c·e^N·∏ S_i^{k_i}, S_i = Σ c_ij e^{a_ij} → c·e^{N + Σ k_i·m_i}·∏ (Σ c_ij e^{a_ij − m_i})^{k_i},
    m_i = max_j a_ij; exponential factors are merged into one (e^a·e^b → e^{a+b})."""
    if not node.is_Mul:
        return None
    exps = [f for f in node.args if _is_exp(f)]
    sums = [f for f in node.args if not _shifted(f) and (
        (f.is_Pow and f.exp.is_Rational and _exp_terms(f.base)) or _exp_terms(f))]
    sums = [f for f in sums if sum(1 for _, a in _exp_terms(f.base if f.is_Pow else f) if a != 0) >= 1
            and len(_exp_terms(f.base if f.is_Pow else f)) >= 2]
    shifted = any(_shifted(f) and (f.is_Pow or f.is_Add) for f in node.args)
    if not (exps and (sums or shifted)) or (not sums and len(exps) < 2):
        return None
    shift, new_sums = sp.S.Zero, []
    for f in sums:
        base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        terms = _exp_terms(base)
        m = _max_of(tuple(a for _, a in terms))
        if not isinstance(m, sp.Max):
            return None
        new_sums.append(sp.Add(*[c * sp.exp(a - m) for c, a in terms]) ** k)
        shift += k * m
    rest = [f for f in node.args if f not in exps and f not in sums]
    return sp.Mul(*rest) * sp.exp(sp.Add(*[f.args[0] for f in exps]) + shift) * sp.Mul(*new_sums)


def _exp_sum_power(f) -> bool:
    return f.is_Pow and f.exp.is_Integer and f.exp < 0 and bool(_exp_terms(f.base)) and not _shifted(f)


def _shifted_sum_power(f) -> bool:
    """S⁻ᵏ of a sum S of exponentials already max-shifted (Σ e^(a_i − m)): a term of a sum that the local
    rules, bottom-up, shifted before its product with e^a was seen."""
    return f.is_Pow and f.exp.is_Integer and f.exp < 0 and bool(_exp_terms(f.base)) and _shifted(f)


def _weighted_exp_numerator(f, others) -> bool:
    """f = Σ c_i·e^(a_i) (two or more terms) over S = Σ_j e^(a_j) that holds every e^(a_i): a weighted softmax
    (Σ c_i e^(a_i))/S, each term c_i·e^(a_i)/S then max-shifted to c_i times a weight in (0, 1]. As one quotient its
    numerator overflows where the quotient does not (∂y of log(e^(relu(x)·y) + e^y), (e^y + r·e^(ry))/(e^y + e^(ry)):
    inf at (709, 1) for 708.99…, torch 1 ULP; h-comp31)."""
    powers = [g for g in others if _exp_sum_power(g) and g.exp == -1]
    if len(powers) != 1 or not f.is_Add or len(f.args) < 2:
        return False
    exponents = {a for _, a in _exp_terms(powers[0].base)}
    return all(any(_is_exp(g) and g.args[0] in exponents for g in sp.Mul.make_args(t)) for t in f.args)


def _distribute(node):
    """A product multiplied out one level over a sum, where that lets factors cancel or be
    shifted term by term: σ(x)σ(−x)·((1 − y)/σ(−x) − y/σ(x)) (a BCE gradient as derived: 0·∞
    where σ saturates) → (1 − y)σ(x) − yσ(−x); e^a·(1/S − e^a/S²), S a sum of exponentials
    (a softmax gradient) → e^a/S − e^{2a}/S², each term then max-shifted."""
    if not node.is_Mul:
        return None
    others = lambda f: [g for g in node.args if g is not f]  # noqa: E731
    for f in node.args:
        if not f.is_Add:
            continue
        factors = [g for term in f.args for g in sp.Mul.make_args(term)]
        divides = {g.base for g in factors if g.is_Pow and g.exp.is_negative}
        cancels = any((g.base if g.is_Pow else g) in divides for g in others(f))
        shifts = any(_exp_sum_power(g) for g in factors) and any(_is_exp(g) or _exp_terms(g) for g in others(f))
        # e^a·(e^(c − 2m₂)/S₂² − e^(b − 2m₁)/S₁²), its terms shifted first (∂a of e^b/(e^a + e^b) − e^c/(e^a + e^c)):
        # e^a left outside is 0·∞ = NaN at a = b = −1e4; inside, each term's exponent a + b − 2m₁ ≤ 0
        shifts = shifts or (len(f.args) >= 2 and all(any(_shifted_sum_power(g) for g in sp.Mul.make_args(term))
                                                     for term in f.args) and any(_is_exp(g) for g in others(f)))
        shifts = shifts or _weighted_exp_numerator(f, others(f))
        # x·(… + B/y^k + …), x and y inputs, k ≥ 2 (∂y of g(x/y): −x·g′(x/y)/y²): y^k leaves the range where x/y^k
        # does not (x ≈ y); multiplied out, x·B/y^k is one product the printer forms by exponents (input-over-power)
        # (a sum of the one input y alone is removable-series' to take: y·tanh(x)/x's ∂x, y·(sech²x/x − tanh x/x²),
        # multiplied out was NaN at x = 0 for 0)
        over_power = any(g.is_Symbol for g in others(f)) and len(f.free_symbols) > 1 and any(
            g.is_Pow and g.base.is_Symbol and g.exp.is_Integer and g.exp <= -2 for g in factors)
        if cancels or shifts or over_power:
            rest = sp.Mul(*others(f))
            name = "cancel" if cancels else "max-shift" if shifts else "input-over-power"
            return _Fired(sp.Add(*[rest * term for term in f.args]), [name])
    return None


def _over_an_input(term):
    """term = r·N·y^−k (y an input, k ≥ 1, N a sum) multiplied out one level, Σ r·n·y^−k over N's terms n (y^−k
    cancelling against the n that hold y); None where term is not such a product."""
    factors = sp.Mul.make_args(term)
    if not any(f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp < 0 for f in factors):
        return None
    for n in factors:
        if n.is_Add:
            rest = sp.Mul(*[g for g in factors if g is not n])
            return sp.Add(*[rest * t for t in n.args])
    return None


def _divided_out_sum(node):
    """A sum of quotients r·N/y^k (y an input, N a sum) whose terms cancel one another once multiplied out: the
    quotient rule's (x + P)/y − (x·y + y·P)/y² (∂y of (x·y + hardswish(y))/y, P = hardswish′; 2(x + P)/y −
    2(x·y² + y²·P)/y³ of its form over y²) is two terms of 3.5e140 at y = −1.4e−141 whose true sum is 0 (7.8e92 ULP
    for ∂y = 1/6; the removable-series rule takes one-variable quotients only). Multiplied out one level, the like
    terms cancel symbolically. None where the sum would not be shorter than it was."""
    if not node.is_Add or len(node.args) < 2:
        return None
    terms, changed = [], False
    for t in node.args:
        spread = _over_an_input(t)
        changed = changed or spread is not None
        terms.append(t if spread is None else spread)
    if not changed:
        return None
    new = sp.Add(*terms)
    if len(sp.Add.make_args(new)) >= len(node.args):
        return None
    return _Fired(new, ["cancel"])


def _numbers_cancel(node):
    """A sum holding a number beside k·(a sum holding a number), k a number, whose numbers cancel once k is multiplied
    in: the derivative of the balanced L1 loss α/b·(b|x| + 1)·log(b|x| + 1) − α|x| (b = e³ − 1) as derived is
    (−α + b·(α/b + α·log(b|x| + 1)/b))·sign(x), whose −α + α was computed as (1 + L) − 1, L = log1p(b|x|): 2.65e4
    ULP in float64 at x = 1e−6 (torch 2.8e4), 6.5e3 in float32 (session 40). Multiplied out one level, the numbers
    cancel symbolically (α·L·sign(x)). None where no number is left out of the sum that way."""
    if not node.is_Add or not any(a.is_number for a in node.args):
        return None
    terms, changed = [], False
    for t in node.args:
        k, rest = t.as_independent(*t.free_symbols, as_Add=False) if t.free_symbols else (t, sp.S.One)
        if k != 1 and k.is_number and rest.is_Add and any(a.is_number for a in rest.args):
            terms.extend(k * a for a in rest.args)
            changed = True
        else:
            terms.append(t)
    if not changed:
        return None
    new = sp.Add(*terms)
    if any(a.is_number for a in sp.Add.make_args(new)) or len(sp.Add.make_args(new)) > len(node.args) + 4:
        return None
    return _Fired(new, ["cancel"])


def _common_sum_factor(node):
    """(c_1·S + … + c_n·S)·S⁻ᵏ, every term of a sum holding the sum of exponentials S that the product divides
    by → (c_1 + … + c_n)·S¹⁻ᵏ: the factor divided out again (a soft-target cross-entropy's gradient as derived,
    e^a·(Σ t_j·S/S² − t_a·e^−a) with S = Σ e^{a_j}: S² overflows, and e^(a − 2m) of the max-shifted form
    underflows, from a margin of ~370 in float64, where T·e^a/S does neither; session 27)."""
    if not node.is_Mul:
        return None
    divisors = {f.base for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and _exp_terms(f.base)}
    for f in node.args:
        if not f.is_Add or len(f.args) < 2:
            continue
        for s in divisors:
            if all(s in sp.Mul.make_args(term) for term in f.args):
                inner = sp.Add(*[term / s for term in f.args])
                return _Fired(sp.Mul(*[g for g in node.args if g is not f]) * s * inner, ["cancel"])
    return None


def _weighted_complement(node):
    """w − w·p → w·(S − e^x)/S for a softmax p = e^x/S (e^x a term of S) and any factor w (a target t_a): the
    soft-target cross-entropy's ∂a = (Σ_j t_j)·p_a − t_a, a product of a sum multiplied out first (t_a·p_a − t_a
    + Σ_{j≠a} t_j·p_a); at a one-hot target on the largest logit p_a − 1 cancels every digit (3.7e17 ULP, the
    wrong sign, at a margin of 100 in float64; session 27), −Σ_{i≠a} e^(a_i − m)/S does not."""
    if not node.is_Add or not any(p.exp == -1 and p.base.is_Add and _exp_terms(p.base)
                                  for p in node.atoms(sp.Pow)):  # no 1/S of exponentials: no softmax to pair
        return None
    terms = list(sp.Add.make_args(sp.expand_mul(node))) if any(
        t.is_Mul and any(f.is_Add for f in t.args) for t in node.args) else list(node.args)
    for w in terms:
        if w.is_number:  # 1 − p: _softmax_complement's own
            continue
        for tau in terms:
            q = sp.Mul(tau, -1 / w)  # w·p² over w: e^(2b − 2m)·e^(m − b), two factors until collected
            p = _softmax_term(sp.powsimp(q, combine="exp", deep=False) if w.has(sp.exp) else q)
            if tau is w or p is None:
                continue
            e, total = p
            rest = sp.Add(*[t for t in terms if t is not w and t is not tau])
            return _Fired(rest + w * sp.Add(*[x for x in total.args if x != e]) / total, ["softmax-complement"])
    return None


def _unshifted(s):
    """(Σ c_j·e^(a_j), m) for a sum of exponentials s = Σ c_j·e^(a_j − m) max-shifted by m (c_j > 0 numbers), (s, 0)
    for one not shifted, else None: S'⁻ᵏ = e^(k·m)·S⁻ᵏ, so a term over the shifted sum and one over the written sum
    are compared over one S."""
    terms = _exp_terms(s)
    if not terms or len(terms) < 2:
        return None
    if not _shifted(s):
        return s, sp.S.Zero
    maxes = {m for _, a in terms for m in sp.Add.make_args(-a) if isinstance(m, sp.Max)}
    if len(maxes) != 1:
        return None
    (m,) = maxes
    if any(sp.expand(a + m).has(m) for _, a in terms):
        return None
    return sp.Add(*[c * sp.exp(sp.expand(a + m)) for c, a in terms]), m


def _monomials(term):
    """(S, k, [(c, y), …]) for a term Σ c·e^y·S⁻ᵏ over one power of a sum of exponentials S (S written, the
    exponent y taking back a max-shift of S; a numerator sum whose terms hold exponentials multiplied out, the
    written entropy's (Σ_j (L_j + 1)·e^(a_j))/S²), else None."""
    factors = sp.Mul.make_args(term)
    powers = [f for f in factors if f.is_Pow and f.exp.is_Rational and f.exp < 0 and f.base.is_Add]
    if len(powers) != 1:
        return None
    (d,) = powers
    written = _unshifted(d.base)
    if written is None:
        return None
    total, m = written
    k = -d.exp
    y, c, numerator = k * m, [], None
    for f in factors:
        if f is d:
            continue
        if _is_exp(f):
            y += f.args[0]
        elif f.is_Add and any(_is_exp(g) for t in f.args for g in sp.Mul.make_args(t)):
            if numerator is not None:
                return None
            numerator = f
        else:
            c.append(f)
    c = sp.Mul(*c)
    if numerator is None:
        return total, k, [(c, y)]
    out = []
    for t in numerator.args:
        exps = [g for g in sp.Mul.make_args(t) if _is_exp(g)]
        out.append((c * sp.Mul(*[g for g in sp.Mul.make_args(t) if not _is_exp(g)]),
                    y + sp.Add(*[g.args[0] for g in exps])))
    return total, k, out


def _vanishes(total) -> bool:
    """total = 0 exactly, where terms may write a max-shifted difference as the max-minus rule leaves it: max(0, b − a,
    …) for max(a, b, …) − a (the entropy term's log p + 1 = a − m − log1p(D) + 1 beside −(log p + 1) = log1p(D) +
    max(0, b − a) − 1); each substitution an identity, so the test is exact (and may only miss a zero)."""
    total = sp.expand(total)
    if total == 0:
        return True
    shifted = {}
    for m in total.atoms(sp.Max):  # (a max of gaps, max(0, b − a), is no max the gaps are taken from)
        if sp.S.Zero not in m.args:
            shifted.update({sp.Max(*[y - x for y in m.args]): m - x for x in m.args})
    return bool(shifted) and sp.expand(total.xreplace(shifted)) == 0


def _shifted_sum_pow(f) -> bool:
    return f.is_Pow and f.exp.is_Rational and f.base.is_Add and _shifted(f.base) and (
        _unshifted(f.base) or (None, 0))[1] != 0


def _written_sum_pow(f):
    """S'^p → S^p·e^(−p·m) for S' = Σ e^(a_j − m), the sum S shifted by its max m."""
    total, m = _unshifted(f.base)
    return total ** f.exp * sp.exp(-f.exp * m)


def _power_terms(total, n):
    """[(c, y), …] with total^n = Σ c·e^y, total = Σ c_j·e^(a_j) (n ≥ 0; the terms of one y not yet summed)."""
    out = [(sp.S.One, sp.S.Zero)]
    for _ in range(n):
        out = [(c * cj, y + aj) for c, y in out for cj, aj in _exp_terms(total)]
    return out


def _softmax_partition(node):
    """Σ_i X_i·S⁻ᵏ + Σ_i Y_i·S⁻⁽ᵏ⁺¹⁾ for a sum of exponentials S = Σ_j e^(a_j) → Σ_y c_y·e^y·S⁻⁽ᵏ⁺¹⁾: the terms over
    S⁻ᵏ taken over S⁻⁽ᵏ⁺¹⁾ as X·Σ_j e^(a_j) (the softmax weights summing to 1), every term multiplied out into
    monomials c·e^y and those of one exponential summed symbolically; applied only where a monomial's coefficients
    sum to 0, the cancellation the written form makes in floating point. The entropy term p·log p's ∂a,
    L·p + p − (L + 1)·p² (L = log p), is (L + 1)·e^(a + b)/S² (its p − p² cancelled every digit where p rounds to
    1: 4.6e6 ULP at a − b = 20 in float64, 0 for 5.45e−18 at 40); the written 3-class entropy's ∂a,
    e^a·(−(L_a + 1)/S + Σ_j (L_j + 1)·e^(a_j)/S²), is Σ_{j≠a} (a_j − a)·e^(a + a_j)/S² (session 28). Terms over the
    max-shifted S are compared with those over S written (:func:`_unshifted`); the zero test is exact
    (:func:`_vanishes`)."""
    powers = {f.exp for t in node.args for f in sp.Mul.make_args(t)
              if f.is_Pow and f.exp.is_Rational and f.exp < 0 and f.base.is_Add}
    if len(powers) < 2:  # no two powers of a sum: nothing to take over one (a cheap test, asked of every sum)
        return None
    args = node.args
    if not all(k.is_Integer for k in powers):  # half-integer powers: no other rule takes their terms, so the
        # derivative's nested sums are multiplied out first (∂a of x·e^a/S^0.5 − x·e^(2a)/S^1.5 holds
        # (−e^a + 3e^(2a)/S)/(2S^1.5) beside 1/√S and e^a/S^1.5; session 29)
        # and the sums the max-shift rule shifted below them written again (S'^p = S^p·e^(−p·m), exactly)
        args = sp.Add.make_args(sp.expand_mul(node.replace(_shifted_sum_pow, _written_sum_pow)))
    by_sum: dict = {}
    for t in args:
        found = _monomials(t)
        if found is not None:
            by_sum.setdefault(found[0], []).append((t, found[1], found[2]))
    for total, entries in by_sum.items():
        top = max(k for _, k, _ in entries)  # k and k + 1 (a half-integer k too: x·e^a/S^1.5 − x·e^(2a)/S^2.5 is
        # x·e^(a + b)/S^2.5, where the written difference lost every digit, 3.3e12 ULP at a − b = 80.46; session 29)
        spread = 1 if top.is_Integer else 2  # half-integer powers: k + 2 too, the derivative's three levels (∂a of
        # x·e^a/S^0.5 − x·e^(2a)/S^1.5 is x·(e^(a + 2b) − e^(2a + b)/2)/S^2.5: 1.8e19 ULP at a − b = 80.46 before)
        if len({k for _, k, _ in entries}) < 2 or any(not (top - k).is_Integer or top - k > spread
                                                      for _, k, _ in entries):
            continue
        groups: dict = {}
        for _, k, monomials in entries:
            for c, y in monomials:
                for cj, aj in _power_terms(total, int(top - k)):
                    groups.setdefault(sp.expand(y + aj), []).append(c * cj)
        if top.is_Integer and all(c.is_number for cs in groups.values() for c in cs):  # 1/S − e^a/S² and kin:
            continue  # the cancel and complement rules' (a written cross-entropy's ∂a, S·e^−a·(1/S − e^a/S²),
            # cancels S first); over half-integer powers no other rule takes them (e^a/√S − e^(2a)/S^1.5)
        if not any(len(cs) >= 2 and _vanishes(sp.Add(*cs)) for cs in groups.values()):
            continue
        taken = {t for t, _, _ in entries}
        kept = [sp.Add(*cs) for cs in groups.values()]
        return _Fired(sp.Add(*[t for t in args if t not in taken], *[
            c * sp.exp(y) * total ** -top for c, y in zip(kept, groups) if not _vanishes(c)]), ["softmax-complement"])
    return None


def _softmax_complement(node):
    """1 − e^{x}/S with e^{x} a term of S → (S − e^{x})/S (1 − softmax without cancellation);
    p − p² → p·(1 − p) first; w − w·p for any factor w (:func:`_weighted_complement`); terms over S⁻ᵏ and
    S⁻⁽ᵏ⁺¹⁾ that cancel, c·p − c·p² for any coefficient c among them (:func:`_softmax_partition`)."""
    if not node.is_Add:
        return None
    for term in node.args:
        for sign in (1, -1):  # p − p² = p·(1 − p), −p + p² = −p·(1 − p)
            q = sign * term
            if -sign * q ** 2 in node.args and _softmax_term(q):
                return _Fired(node - term + sign * q ** 2 + sign * q * (1 - q), ["softmax-complement"])
    for one in (sp.S.One, sp.S.NegativeOne):
        if one not in node.args:
            continue
        for term in node.args:
            p = _softmax_term(-one * term)
            if p is not None:
                e, total = p
                rest = node - one - term
                return _Fired(rest + one * sp.Add(*[x for x in total.args if x != e]) / total,
                              ["softmax-complement"])
    return _weighted_complement(node) or _softmax_partition(node)


def _max_minus(node):
    """max(a, b, …) − a → max(0, b − a, …): m − a after a max-shift is never a difference of
    two large numbers (the cross-entropy m + log Σ e^{z − m} − a at logits of a few hundred)."""
    if not node.is_Add:
        return None
    for m in node.args:
        if isinstance(m, sp.Max):
            for x in m.args:
                if -x in node.args:
                    return _Fired(node - m + x + sp.Max(*[y - x for y in m.args]), ["log-quotient"])
    return None


def _softmax_term(term):
    """(e^x, S) if term is e^x/S with e^x one of the terms of the sum S, else None."""
    if not term.is_Mul or len(term.args) != 2:
        return None
    e = next((f for f in term.args if _is_exp(f)), None)
    d = next((f for f in term.args if f.is_Pow and f.exp == -1 and f.base.is_Add), None)
    if e is None or d is None or e not in d.base.args or len(d.base.args) < 2:
        return None
    return e, d.base


def _never_positive(u) -> bool:
    """u ≤ 0 wherever it is a number: −|a − b| (the logaddexp rule's gap, log-cosh's −2|u|), min − max, a − max(…, a, …)
    (a max shift): e^u ≤ 1 there, so log1p(e^u) neither overflows nor cancels."""
    if u.is_nonpositive:
        return True
    if u.is_Add and len(u.args) == 2:
        first, second = u.args
        for a, b in ((first, second), (second, first)):
            if isinstance(-b, sp.Max) and (a in (-b).args or isinstance(a, sp.Min) and set(a.args) == set((-b).args)):
                return True
    return False


def _log_rules(node):
    if isinstance(node, log1p):  # the user's log1p(c·e^u), softplus as users write it: as log(1 + c·e^u) below
        c, rest = node.args[0].as_coeff_Mul()
        # never where u ≤ 0 (the logaddexp rule's own log1p(e^−|a − b|), log-cosh's log1p(e^−2|u|)): exact as it is,
        # and the two-sum, infinite-shift and shifted-sum-crossing rules look for that form in it
        if _is_exp(rest) and c.is_positive and not _never_positive(rest.args[0]):
            u = rest.args[0]
            return _Fired(softplus(u + sp.log(c) if c != 1 else u), ["softplus"])
        if c == -1 and _is_exp(rest) and _is_exp(-rest.args[0]):
            # log1p(−e^(−e^w)), the cloglog link as a user who knows log1p writes it: log1p's argument rounded to −1
            # first (−29.99983 for −30.0000000000000468 at w = −30; −inf below −37): as log(1 − e^(−e^w))
            return _log_rules(sp.log(1 - rest))
        return None
    if not isinstance(node, sp.log):
        return None
    (a,) = node.args
    if isinstance(a, sigmoid):  # log σ(x) = −softplus(−x)
        return _Fired(-softplus(-a.args[0]), ["log-sigmoid"])
    if isinstance(a, sp.cosh):
        u = a.args[0]
        return _Fired(_log_cosh(u), ["log-cosh"])
    terms = _exp_terms(a)
    if terms and _shifted(a):
        return _log_shifted_sum(a)
    if terms and not _shifted(a):
        nexp = [t for t in terms if t[1] != 0]
        consts = [c for c, x in terms if x == 0]
        if len(terms) == 2 and consts == [1]:  # log(1 + c·e^x) = softplus(x + log c)
            (c, x), = nexp
            return _Fired(softplus(x + sp.log(c) if c != 1 else x), ["softplus"])
        if len(terms) == 2 and not consts and terms[0][0] == terms[1][0]:  # c·(e^x + e^y)
            (c, x), (_, y) = terms
            scale = sp.log(c) if c != 1 else sp.S.Zero
            if x == -y:  # log(c·(e^u + e^−u)) = log 2c + log cosh u
                return _Fired(sp.log(2 * c) + _log_cosh(x), ["log-cosh"])
            return _Fired(scale + sp.Max(x, y) + log1p(sp.exp(-sp.Abs(x - y))), ["logaddexp"])
        if len(nexp) >= 2 or (nexp and consts):
            m = _max_of(tuple(x for _, x in terms))
            if isinstance(m, sp.Max):
                return _Fired(m + sp.log(sp.Add(*[c * sp.exp(x - m) for c, x in terms])), ["log-sum-exp"])
    if (a.is_Mul and any(isinstance(f, (sp.exp, sigmoid)) or f.is_Pow for f in a.args)
            or a.is_Pow and a.exp.is_number) and _positive(a):  # log(cosh²u) = 2·log cosh u
        out = sp.S.Zero
        for f in sp.Mul.make_args(a):
            base, k = (f.base, f.exp) if f.is_Pow else (f, 1)
            out += k * (base.args[0] if _is_exp(base) else sp.log(base))
        return _Fired(out, ["log-quotient"])
    if isinstance(-a, expm1) or (a.is_Add and len(a.args) == 2 and sp.S.One in a.args
                                 and any(_is_exp(-x) for x in a.args)):
        x = (-a).args[0] if isinstance(-a, expm1) else next((-t).args[0] for t in a.args if _is_exp(-t))
        far = ()
        if _is_exp(-x):
            # x = −e^w (the complementary log-log link's log(1 − e^(−e^w))): −expm1(−e^w) underflows with e^w, −inf
            # for the true w at w < −745 in float64 (and 740 ULP off at w = −740, e^w subnormal); below w = −20,
            # log(−expm1(−u)/u) = −u/2 + u²/24 − … with u = e^w, so w − e^w/2 (the u² term < 2⁻⁶² of w)
            w = (-x).args[0]
            far = ((w - sp.exp(w) / 2, w < -20),)
        return _Final(_Fired(sp.Piecewise(*far, (sp.log(-expm1(x)), x > -sp.log(2)), (log1p(-sp.exp(x)), True)),
                             ["log1mexp"]))
    if a.is_Add and sp.S.One in a.args:  # log(1 + u); never log(u + 1e-8)
        return _Fired(log1p(a - 1), ["log1p"])
    if a.is_Add and len(a.args) == 2 and sp.Integer(2) in a.args and any(_is_exp(-t) for t in a.args):
        # log(2 − e^u) = log1p(1 − e^u) = log1p(−expm1(u)) (the expm1 rule's): 0 for −1e−30 at u = 1e−30 as written
        return _Fired(log1p(a - 1), ["log1p"])
    return None


def _log_shifted_sum(s):
    """log Σ_i e^{x_i}, x_i = a_i − m, m = max a_i (a max-shifted sum, one term is 1) →
    log1p(D), D = the sum less 1 taken from the largest term: expm1(x_k) + Σ_{i≠k} e^{x_i} where
    x_k = 0 (so e^{x_i} ≪ 1 are not lost in 1 + e^{x_i}: the cross-entropy at a large margin)."""
    terms = _exp_terms(s)
    if not terms or len(terms) > 6 or any(c != 1 for c, _ in terms):
        return None
    maxes = s.atoms(sp.Max)
    if len(maxes) != 1 or not all(x.has(*maxes) for _, x in terms):
        return None
    xs = [x for _, x in terms]
    pieces = [(expm1(xk) + sp.Add(*[sp.exp(x) for x in xs if x is not xk]), sp.Eq(xk, 0)) for xk in xs]
    return _Final(_Fired(log1p(sp.Piecewise(*pieces, (s - 1, True))), ["log-sum-exp"]))


def _log_cosh(u):
    """log cosh u = log1p(2·sinh²(u/2)) for |u| < 1 (|u| + log1p(e^{−2|u|}) − log 2 cancels to
    ~1e−16 absolute near 0, where log cosh u ≈ u²/2), |u| + log1p(e^{−2|u|}) − log 2 beyond."""
    a = sp.Abs(u)
    return sp.Piecewise((log1p(2 * sp.sinh(u / 2) ** 2), a < 1), (a + log1p(sp.exp(-2 * a)) - sp.log(2), True))


# ------------------------------------------------------------------ log-difference (issue 16: bce's ∂t,
# log(1 − x) − log x near x = 1/2); tested in tests/test_cells8.py

def _log_term(term):
    """(k, a, clamp, log) for a term k·log a, k·log1p(u) (a = 1 + u) or k·Max(c, log a) (a clamped log,
    c a number: bce's −100), k a number; else None."""
    k, rest = term.as_coeff_Mul()
    clamp = None
    if isinstance(rest, sp.Max) and len(rest.args) == 2 and any(a.is_number for a in rest.args):
        clamp = next(a for a in rest.args if a.is_number)
        rest = next(a for a in rest.args if a is not clamp)
    if isinstance(rest, sp.log):
        return k, rest.args[0], clamp, rest
    if isinstance(rest, log1p):
        return k, 1 + rest.args[0], clamp, rest
    return None


def _exact_term(e) -> bool:
    """An input times a power of two, or a number that float32 holds (k/2^j, |k| < 2²⁴): exact, no
    rounding (1/3 − x rounds 1/3 first, and cancels that rounding near x = 1/3)."""
    c, rest = e.as_coeff_Mul()
    if not (c.is_Rational and c != 0 and (c.q & (c.q - 1)) == 0):
        return False
    if rest == 1:
        return abs(c.p) < 2 ** 24
    return rest.is_Symbol and (abs(c.p) & (abs(c.p) - 1)) == 0


def _rounds_once(d) -> bool:
    """d computed with about one rounding of its own value: a product of inputs, numbers, integer powers
    of them and of sums of two exact terms (1 − 2x, x − t: one subtraction, exact by Sterbenz near its
    root, and rounded once elsewhere)."""
    for f in sp.Mul.make_args(d):
        base = f.base if f.is_Pow and f.exp.is_Integer and abs(f.exp) <= 4 else f
        if base.is_number or base.is_Symbol:
            continue
        if base.is_Add and len(base.args) == 2 and all(_exact_term(a) for a in base.args):
            continue
        return False
    return True


# the quotient's bound, float32's largest number (finite in every dtype): past it (an infinite quotient,
# or a/b > 3.4e38 in float64, where |log a − log b| > 88 and at most 8 ulps are lost) as written
_RATIO_FINITE = sp.Float(3.4028234663852886e38, 17)


def _log_difference(node):
    """k·log a − k·log b (either log may be log1p(u), a = 1 + u, or clamped, Max(c, log a)) →
    k·sign(d)·log1p(|d|/min(a, b)), d = a − b simplified symbolically ((1 − x) − x = 1 − 2x), where
    min(a, b) > 0, the quotient is finite and no clamp is on; as written elsewhere. Both logs round,
    each by up to half an ulp of its own size, and their difference cancels where a ≈ b (bce's ∂t =
    log(1 − x) − log x: 821 ULP in float64 at x = 0.49995), or loses |log a|/|log(a/b)| ulps wherever a
    and b are far from 1. d is one subtraction of exact terms (exact near its root by Sterbenz, rounded
    once elsewhere), |d|/min(a, b) ≥ 0 rounds once and log1p(r) of r ≥ 0 does not amplify it: a few
    ULP for every ratio. The written form is kept where it is the answer: a or b ≤ 0 (NaN, ±inf),
    infinite or NaN, a/b or b/a past 3.4e38 (little cancellation there), a clamp on. A
    difference of logs of different inputs is left to the widen rule (in double-word)."""
    if not node.is_Add:
        return None
    logs = [(term, _log_term(term)) for term in node.args]
    logs = [(term, found) for term, found in logs if found is not None]
    for p, (k, a, clamp_a, log_a) in logs:
        for q, (m, b, clamp_b, log_b) in logs:
            if m != -k or not (k > 0) or (a.is_number and b.is_number):
                continue
            written = p / k + q / k  # log a − log b, clamps and all
            if _widen_hazard(written):
                continue
            d = sp.factor(sp.expand(a - b))
            if d == 0 or not _rounds_once(d):
                continue
            low = sp.Min(a, b)
            ratio = sp.Abs(d) / low
            cond = sp.And(low > 0, ratio < _RATIO_FINITE)
            for clamp, log_ in ((clamp_a, log_a), (clamp_b, log_b)):
                if clamp is not None:
                    cond = sp.And(cond, log_ > clamp)
            exact = sp.sign(d) * log1p(ratio)
            rest = node - p - q
            return _Final(_Fired(rest + k * sp.Piecewise((exact, cond), (written, True)), ["log-difference"]))
    return None


def _expm1(node):
    """e^x − 1 → expm1(x), 1 − e^x → −expm1(x) (within any sum); b^y − 1 with a variable exponent the same where
    |y·log b| < 1 (:func:`_power_minus_one`)."""
    if not node.is_Add:
        return None
    for one in (sp.S.One, sp.S.NegativeOne):
        if one in node.args:
            for t in node.args:
                if _is_exp(-one * t):  # ±1 ∓ e^x
                    x = (-one * t).args[0]
                    return _Fired(node - one - t - one * expm1(x), ["expm1"])
                power = _variable_power(-one * t)
                if power is not None:
                    return _Final(_Fired(node - one - t - one * _power_minus_one(*power), ["expm1"]))
    return None


def _variable_power(t):
    """(b, y) for b^y with a variable exponent, bare or in the zero-power rule's {1 if y = 0; b^y}, else None."""
    guard = None
    if isinstance(t, sp.Piecewise) and len(t.args) == 2 and t.args[0].expr == 1 and t.args[1].cond == sp.true:
        guard, t = t.args[0].cond, t.args[1].expr
    if not (t.is_Pow and not t.exp.is_number and not t.base.is_number and t.base.free_symbols):
        return None
    # (SymPy writes the guard Eq(α/2, 0) as Eq(α, 0); a select of the user's own is not the zero-power guard)
    if guard is not None and not (isinstance(guard, sp.Eq) and sp.cancel((guard.lhs - guard.rhs) / t.exp).is_number):
        return None
    return t.base, t.exp


def _power_minus_one(b, y):
    """b^y − 1 → {0 if y = 0; expm1(y·log b) if |y·log b| < 1; b^y − 1}: b^y rounds to 1 ± ε where y·log b is
    small (the Barron loss's ((x/c)²/|α − 2| + 1)^(α/2) − 1 is 0 at α = −1e−300 where −1.3e−300); past 1 the
    rounding of y·log b (|y·log b|·ε) is more than pow's own, and b^y − 1 loses nothing there. log(1 + q) as
    log1p(q) (the log1p rule's: the children are stable already)."""
    log_b = log1p(b - 1) if b.is_Add and sp.S.One in b.args else sp.log(b)
    t = y * log_b
    return sp.Piecewise((0, sp.Eq(y, 0)), (expm1(t), sp.Abs(t) < 1), (b ** y - 1, True))


def _softplus_shift(node):
    """x − softplus(x) = −softplus(−x), softplus(x) − x = softplus(−x): no cancellation."""
    if not node.is_Add:
        return None
    for t in node.args:
        if isinstance(-t, softplus) and (-t).args[0] in node.args:
            x = (-t).args[0]
            return _Fired(node - x - t - softplus(-x), ["log-sigmoid"])
        if isinstance(t, softplus) and -t.args[0] in node.args:
            x = t.args[0]
            return _Fired(node + x - t + softplus(-x), ["log-sigmoid"])
    return None


def _constant_plus_square(a, signed=False):
    """(c, w, v) for a sum ``a`` = c + w·v²: c > 0 the sum of its positive number terms, one other term w·v² (w > 0
    a constant: a number or π², v² one power of any base v); None for any other node (a negative number, a second square, no c). The
    hypot rule's and the square-sum-power rule's parse; ``signed`` (square-sum-power's): c < 0 too (x² − 1)."""
    if not a.is_Add:
        return None
    squares, const = [], sp.S.Zero
    for t in a.args:
        # w the whole constant factor: π²·x² is (π², x²) (as_coeff_Mul's (1, π²·x²) left π·x + √(π²x² + 1) unscaled,
        # 0 for 1.6e−201 at x = −1e200; session 34's review)
        w, rest = t.as_independent(*t.free_symbols, as_Add=False) if t.free_symbols else t.as_coeff_Mul()
        if _positive_number(t) or signed and t.is_Number and t.is_negative:
            const += t
        elif rest.is_Pow and rest.exp == 2 and w.is_positive:
            squares.append((w, rest.base))
        else:
            return None
    if len(squares) != 1 or const == 0:
        return None
    ((w, v),) = squares
    return const, w, v


def _hypot(node):
    """(w·v² + c)^{±1/2}, c > 0 → |v|^{±1}·(w + c/v²)^{±1/2} where |v| > T (c/v² underflows
    harmlessly where v² would overflow), the written form elsewhere: T = :func:`_hypot_threshold`."""
    if not (node.is_Pow and node.exp in (sp.S.Half, -sp.S.Half)):
        return None
    parts = _constant_plus_square(node.base)
    if parts is None:
        return None
    const, w, v = parts
    scaled = sp.Abs(v) ** (2 * node.exp) * (w + const / v ** 2) ** node.exp
    return _Final(_Fired(sp.Piecewise((scaled, sp.Abs(v) > _hypot_threshold(const, w)), (node, True)), ["hypot"]))


def _hypot_threshold(const, w):
    """Where the hypot rule's scaled form starts: 2⁶⁰/2^⌈log₂(w)/2⌉ (w·v² ≤ 2¹²⁰ below it, finite in float32 and
    float64, and w·v² + c one rounding each, as written: about 0.75 ULP, where |v|·√(w + c/v²) rounds four times,
    1.45 ULP in float64 at x = −3.0149 for √(x² + 10⁻¹²), torch 0.55); above it c/v² ≤ c·2⁻¹²⁰, below half an ulp of
    w unless c is past 2⁶⁰·w, so the scaled form is |v|·√w rounded. 1 (the threshold before session 30) where
    c > 2¹²⁰ (w·v² + c could overflow float32 below 2⁶⁰); tests/test_hypot30.py."""
    if const > sp.Integer(2) ** 120:
        return sp.S.One
    half = max(0, math.ceil(math.log2(float(w)) / 2)) if w > 1 else 0
    return sp.Integer(2) ** (60 - half) if half < 60 else sp.S.One


def _power_of(f):
    """(b, e) if f is b^e (or the zero-power guarded b^e), (f, 1) for a plain symbol."""
    if f.is_Pow and not f.exp.is_negative:
        return f.base, f.exp
    if isinstance(f, sp.Piecewise) and len(f.args) == 2 and f.args[1][0].is_Pow:
        return f.args[1][0].base, f.args[1][0].exp
    if f.is_Symbol:
        return f, sp.S.One
    return None


def _finite_where_zero(g, b) -> bool:
    """Whether the factor ``g`` is surely finite where ``b`` = 0, so that the limit 0 of the
    rest of a product there is the product's limit: a polynomial in b's variables (numbers and
    factors free of them included), or, for b a variable, a factor finite at b = 0
    (log(x + 1) at x = 0). Not 1/sin(x), exp(1/x), 1/(x² + x³): x·log(x)/sin(x) → −∞, not 0."""
    syms = b.free_symbols
    try:
        if g.is_polynomial(*syms):
            return True
        if b.is_Symbol:
            v = g.xreplace({b: sp.S.Zero})
            return v.is_finite is True and not v.has(sp.zoo, sp.nan, sp.oo, -sp.oo)
    except (TypeError, ValueError, RecursionError):
        pass
    return False


_HYPOT_SUM_WRITTEN: dict = {}  # the hypot rule's select on a sum of squares (_hypot_sum) → the node it stands for


def _zero_limits(node):
    """b^e·log b → 0 at b = 0 (x·log x included); a·softplus(u) → 0 where a = 0 (BCE at ±∞)."""
    if not node.is_Mul:
        return None
    factors = [_HYPOT_SUM_WRITTEN.get(f, f) for f in node.args]  # the hypot rule's scaled Σ w·v² as written
    logs = [f for f in factors if isinstance(f, sp.log)]
    for lg in logs:
        b = lg.args[0]
        for f in factors:
            pe = _power_of(f) if f is not lg else None
            if pe and pe[0] == b and not b.is_number and all(
                    _finite_where_zero(g, b) for g in factors if g is not f and g is not lg):
                e = pe[1]
                # b = 0 as each square's base = 0 where b is a sum of squares (b itself underflows to 0 before)
                squares = _sum_of_squares(b) if any(f in _HYPOT_SUM_WRITTEN for f in node.args) else None
                zero = sp.Eq(b, 0) if squares is None else sp.And(*[sp.Eq(v, 0) for _, v in squares])
                cond = zero if (e.is_number and e.is_positive) else sp.And(zero, e > 0)
                return _Final(_Fired(sp.Piecewise((0, cond), (node, True)), ["zero-limit"]))
    for f in factors:  # y·x^{y−1} (the derivative of x^y): 0 where y = 0, as torch
        pe = _power_of(f) if not f.is_Symbol else None
        if pe and not pe[1].is_number and (pe[1] + 1) in factors and all(
                _finite_where_zero(g, pe[1] + 1) for g in factors if g is not f and g != pe[1] + 1):
            return _Final(_Fired(sp.Piecewise((0, sp.Eq(pe[1] + 1, 0)), (node, True)), ["zero-limit"]))
    sps = [f for f in node.args if isinstance(f, softplus)]
    if sps:
        others = [f for f in node.args if f not in sps and not f.is_Number]
        weight = sp.Mul(*others)
        if others and all(f.is_Symbol or f.is_Add for f in others) and \
                not (weight.free_symbols & sps[0].args[0].free_symbols):
            return _Final(_Fired(sp.Piecewise((0, sp.Eq(weight, 0)), (node, True)), ["zero-limit"]))
    return None


def _zero_power(node):
    """b^e with a variable exponent → 1 where e = 0 (0⁰ = 1, as torch; Triton's e^{e·log b} is NaN there)."""
    if node.is_Pow and not node.exp.is_number and not node.base.is_number:
        return _Final(_Fired(sp.Piecewise((1, sp.Eq(node.exp, 0)), (node, True)), ["zero-power"]))
    return None


# ------------------------------------------------------------------ exp-square (erf′, Φ′, GELU′)

def _square_root_of(e):
    """v with e = v² (a square, or a product of even powers), else None."""
    if e.is_Pow and e.exp.is_Integer and e.exp % 2 == 0 and e.exp > 0:
        return e.base ** (e.exp // 2)
    if e.is_Mul and all(f.is_Pow and f.exp.is_Integer and f.exp % 2 == 0 and f.exp > 0 for f in e.args):
        return sp.Mul(*[f.base ** (f.exp // 2) for f in e.args])
    return None


def _exp_square_node(node):
    """e^(−c·v²), c = 2^k → nexpsq(2^(k/2)·v) (k even) or nexpsq2(2^((k+1)/2)·v) (k odd): the
    scalings are powers of 2, so exact; the code generator evaluates both without rounding v²."""
    if not isinstance(node, sp.exp):
        return None
    coeff, rest = node.args[0].as_coeff_Mul()
    if not (coeff.is_Rational and coeff.is_negative):
        return None
    v = _square_root_of(rest)
    c = -coeff
    k = sp.log(c, 2)
    if v is None or not k.is_Integer:
        return None
    k = int(k)
    if k % 2 == 0:
        return nexpsq(sp.Integer(2) ** (k // 2) * v)
    return nexpsq2(sp.Integer(2) ** ((k + 1) // 2) * v)


def _exp_square(expr):
    """Every e^(−c·v²) of ``expr`` (c a power of 2) as nexpsq/nexpsq2; applied after the other
    rules, so that they still see e^(−v²) inside a sigmoid or a log-sum-exp as an exponential."""
    return _top_down(expr, lambda node: _exp_square_node(node) if isinstance(node, sp.exp) else None)

# ------------------------------------------------------------------ loss rules (issue 16: the losses)
# Forms the registry's losses take once differentiated (BCE with logits, BCE, Poisson NLL,
# Gaussian NLL); each is exact for every real input and removes a cancellation or a 0·∞.

def _softplus_difference(node):
    """k·softplus(u) − k·softplus(−u) → k·u (log((1 + e^u)/(1 + e^−u)) = u exactly): ∂/∂t of BCE
    with logits, which is log 2 − log 2 = 0 at u = 1e−300 where the true value is −1e−300."""
    if not node.is_Add:
        return None
    for term in node.args:
        k, f = term.as_coeff_Mul()
        if isinstance(f, softplus):
            u = f.args[0]
            other = -k * softplus(-u)
            if other in node.args and not u.could_extract_minus_sign():
                return _Final(_Fired(node - term - other + k * u, ["softplus-difference"]))
    return None


def _grouped(first, second, where):
    """first + second with second summed on its own first, in a branch taken ``where``: second is
    wrapped in a select on that same condition (SymPy flattens a sum into one list of terms, and
    the generated code adds them positives first, which would round first + 1 before − t)."""
    return first + sp.Piecewise((second, where), (0, True))


def _sigmoid_target(node):
    """A·σ(u) − B·σ(−u) with A + B = 1 (the BCE-with-logits gradient (1 − t)σ(z) − tσ(−z)) is
    σ(u) − B, computed from the term of smallest magnitude so that only a true σ(u) ≈ B cancels:
    σ(u) − B for u < −log 3, A − σ(−u) for u > log 3 (A = 1 − B is exact where σ(u) ≈ B ≥ 3/4),
    tanh(u/2)/2 + (1/2 − B) between (1/2 − B exact where σ(u) ≈ B in [1/4, 3/4]). Exact at
    B = 0, 1/2, 1 for every u; the written form is 0 at B = 1/2, u = −1e−30 (true −2.5e−31)."""
    if not (node.is_Add and len(node.args) == 2):
        return None
    for pos, neg in (node.args, node.args[::-1]):
        sp_ = [f for f in sp.Mul.make_args(pos) if isinstance(f, sigmoid)]
        if len(sp_) != 1:
            continue
        u = sp_[0].args[0]
        a = pos / sp_[0]
        b = -neg / sigmoid(-u)
        if b.has(sigmoid) or a.has(sigmoid) or sp.expand(a + b - 1) != 0:
            continue
        third = sp.log(3)
        low = _grouped(sigmoid(u), -b, u < -third) if b.is_Add else sigmoid(u) - b  # σ(u) + (t − 1), not (σ(u) + t) − 1
        new = sp.Piecewise((low, u < -third), (_grouped(-sigmoid(-u), a, u > third), u > third),
                           (_grouped(sp.tanh(u / 2) / 2, sp.S.Half - b, sp.Abs(u) <= third), True))
        return _Final(_Fired(new, ["sigmoid-target"]))
    return None


def _sigmoid_mixture_complement(node):
    """c + P·σ(u) + Q·σ(−u) with P + Q = −c, c a number (Poly-1's 1 − p_t, 1 − t·σ(z) − (1 − t)·σ(−z)) is
    −Q·σ(u) − P·σ(−u), exactly (c = −(P + Q)·(σ(u) + σ(−u))): the written sum rounds t·σ(z) to an ulp of 1 and cancels
    where p_t ≈ 1 (t = 1, z = 27: 1.9395596e−12 for 1.9396396e−12, 2e11 ULP in float64; torch the same); the mixture
    (1 − t)·σ(z) + t·σ(−z) has two terms of one sign where P·Q ≥ 0 (t in [0, 1]) and cancels only where the function is
    0. Where P·Q < 0 (|t| ≫ 1) it cancels term against term (t = 9.59e181, z = −4.88e−17: 1.23e16 ULP, torch 5.72e15), so
    there σ(u) − σ(−u) = tanh(u/2) gives c·σ(−u) − Q·tanh(u/2) for u > 0, else c·σ(u) + P·tanh(u/2), (1 − t = −Q and t =
    −P): the pair whose terms sum smallest in magnitude (their sums differ by |c|·(tanh(u/2) ± |tanh(u/2)|)), of one sign
    or cancelling only where the function is near 0 (σ(z) ≈ t·tanh(z/2))."""
    if not (node.is_Add and len(node.args) == 3):
        return None
    numbers = [a for a in node.args if a.is_number]
    if len(numbers) != 1 or numbers[0] == 0:
        return None
    c = numbers[0]
    terms = [a for a in node.args if not a.is_number]
    for pos, neg in (terms, terms[::-1]):
        sigmoids = [f for f in sp.Mul.make_args(pos) if isinstance(f, sigmoid)]
        if len(sigmoids) != 1:
            continue
        u = sigmoids[0].args[0]
        P = pos / sigmoids[0]
        Q = neg / sigmoid(-u)
        if P.has(sigmoid) or Q.has(sigmoid) or sp.expand(P + Q + c) != 0:
            continue
        T = sp.tanh(u / 2)  # σ(u) − σ(−u)
        # (nested, the tanh forms under P·Q < 0: a widened form is computed in double words only where it is taken)
        tanh_forms = sp.Piecewise((c * sigmoid(-u) - Q * T, u > 0), (c * sigmoid(u) + P * T, True))
        new = sp.Piecewise((tanh_forms, P * Q < 0), (-Q * sigmoid(u) - P * sigmoid(-u), True))
        return _Final(_Fired(new, ["sigmoid-target"]))
    return None


def _sigmoid_target_rule(node):
    """The sigmoid-target rule: :func:`_sigmoid_target`, else :func:`_sigmoid_mixture_complement` (kept apart: the
    collect rule asks :func:`_sigmoid_target` alone whether a factor is its two-term form)."""
    return _sigmoid_target(node) or _sigmoid_mixture_complement(node)


def _heaviside_gate(node):
    """H(u)·g → 0 where u ≤ 0, else g (H(0) = 0, as relu′(0) in torch): the derivative of a
    clamp, max(log p, −100)′ = H(log p + 100)/p, is 0·∞ = NaN at p = 0 where it is 0. Written
    as torch's relu backward, u ≤ 0 ? 0 : g, so g at u = NaN as H(NaN) = 1 alone (the registry's
    _heaviside): {g if u > 0; 0} gave 0 there where g is a number (−H(x) at NaN 0, H(x) 1)."""
    if not node.is_Mul:
        return None
    gates = [f for f in node.args if isinstance(f, sp.Heaviside)]
    if not gates:
        return None
    rest = sp.Mul(*[f for f in node.args if f not in gates])
    closed = sp.Or(*[g.args[0] <= 0 for g in gates])
    return _Final(_Fired(sp.Piecewise((0, closed), (rest, True)), ["heaviside-gate"]))


def _exp_minus(node):
    """e^u − B → expm1(u) + (1 − B) for |u| < log 2, the written form elsewhere: the Poisson-NLL
    gradient e^x − t is 0 at t = 1, x = −1e−30 (true −1e−30). For |u| < log 2, |expm1(u)| < e^u and
    1 − B is exact where the two cancel (B in [1/2, 2], Sterbenz): exact at B = 1 for every u, never
    worse than the written form; where e^u ≈ B ≠ 1 the cancellation is true (e^u is rounded first)."""
    if not (node.is_Add and len(node.args) == 2):
        return None
    for e, rest in (node.args, node.args[::-1]):
        if _is_exp(e) and not rest.is_number and rest.could_extract_minus_sign() and not rest.has(sp.exp):
            u = e.args[0]
            b = -rest
            near = sp.Abs(u) < sp.log(2)
            pieces = [(_grouped(expm1(u), 1 - b, near), near)]
            names = ["exp-minus"]
            if u in sp.Mul.make_args(b):  # e^u − c·u (the Poisson NLL): both terms overflow, inf − inf
                # exp-minus-limit: its limits at u = ±inf in pieces of their own, before the others (the piece
                # u > 64 itself unchanged: the double word of e^u/u − c near u = 709.78, tests/test_breakage8.py)
                zero, far = _exp_minus_limits(b / u, u, e)
                pieces = [zero] + pieces + [far]
                # e^64 ≈ 6e27: no cancellation left to lose; below −64, c·u overflows where (e^u − c·u)²/(u + c)² does
                # not: ((x + y)/poisson_nll(x, y))⁻² at (−1.29e306, 239.7) was inf for 57474 (torch inf; h-worsea39).
                # There only where c·u is past 2¹²⁷ (inf included): elsewhere e^u/u is subnormal from u = −701.8 on
                # (poisson_nll(x, 0) at −708.17 was 302 ULP, torch 0.04) and u·(−0 − (−0)) is −0 where e^u − c·u is
                # +0 (1/poisson_nll(x, −0) at x ≤ −746 −inf for +inf; both found by h-review39)
                far_below = sp.And(u < -64, sp.Abs(b) > sp.Float(2.0 ** 127))
                pieces.append((u * (e / u - b / u), sp.Or(u > 64, far_below)))
                names.append("exp-minus-limit")
            new = sp.Piecewise(*pieces, (node, True))
            return _Final(_Fired(new, names))
    return None


def _exp_minus_limits(c, u, e):
    """e^u − c·u where it has no value as written, the limits: (the piece at u = −inf, c = 0; the piece beyond
    u = 3.4e38). As written c·u is 0·(−inf) at u = −inf, c = 0, and u·(e^u/u − c) (the piece u > 64) is inf/inf
    at u = +inf, both NaN (e^z − t·z, the Poisson NLL with log input, at z = ±inf; torch the same), where the
    limits are 0 (e^u → 0; t·log λ at λ = 0, t = 0 is the 0·log 0 = 0 of torch's xlogy) and +inf (e^u dominates
    every finite c·u). Beyond 3.4e38 (float32's +inf; float64's e^u is inf from 710 on): u·(e^u/3.4e38 − c), +inf
    for finite c, NaN for c = +inf (inf − inf, as written); below −3.4e38 where c = 0: 0 (e^u is below 2⁻¹⁰⁷⁴
    there in float64 too), written e^u (+0 there, as computed): as SymPy's 0 a quotient by it was zoo, printed NaN
    (1/poisson_nll(x, y) at (−1e300, 0) NaN for +inf, torch inf; h-fix40). At u = −inf, c ≠ 0 the written form is
    c·inf already. The conditions at ±_LIMIT_BOUND, which :func:`without_infinite_limits` takes out."""
    return ((e, sp.And(u < -_LIMIT_BOUND, sp.Eq(c, 0))),
            (u * (e / _LIMIT_BOUND - c), u > _LIMIT_BOUND))


def _n_terms(e) -> int:
    return len(e.args) if e.is_Add else 1


# the collect rule tries a pair of terms only while the two have at most this many nodes together (their trees'):
# SymPy's factor_terms and cancel of larger ones take minutes. The largest pair of a tested formula is 3,148 nodes
# (l1(focal(celu(y, 2), y), log(x·y)), collected: 19 of its compile's 23 CPU s), a registry function's 415 (focal with
# γ an input); focal(focal(z, t), t)'s sums are of 14,687 to 117,826 nodes, whose pairs did not finish in 200 CPU s
COLLECT_LIMIT = 5_000


def _collect_pair(node):
    """Two terms of a sum with a common factor whose rest cancels symbolically, c₁·X + c₂·X → (c₁ + c₂)·X
    (−2t·X + 2(1 − t)·X = (2 − 4t)·X: 0 at t = 1/2, where the two products cancel to rounding noise),
    or whose rest is a loss form above ((1 − t)·X·σ(z) − t·X·σ(−z) → X·(σ(z) − t)): the focal-loss
    gradient, which product rule and expansion leave as such pairs. A pair of more than :data:`COLLECT_LIMIT`
    nodes is left as written (its two products may then cancel to rounding noise where they are opposite)."""
    if not (node.is_Add and 2 <= len(node.args) <= 12 and node.has(sigmoid, softplus)):
        return None
    args = node.args
    sizes: dict = {}
    pairs = [(args[i], args[j]) for i in range(len(args)) for j in range(i + 1, len(args))
             if _tree_size(args[i], sizes) + _tree_size(args[j], sizes) <= COLLECT_LIMIT]
    combined = {}
    for p, q in pairs:  # first the pairs c₁·X + c₂·X whose coefficients combine, then the loss forms
        r = _factor_terms(p + q)
        combined[p, q] = r
        if not r.is_Mul:
            continue
        # a Grouped sum is part of X: the affine-root rule's α_t = (2 − t)/3 (focal α = 1/3, 3/5) in the cofactor was no
        # polynomial, so γ·(1 − t)·α_t·X − γ·t·α_t·X stayed two products of 8.7e−5 cancelling at t = 1/2 beside the
        # ∂z of 1.249e−301 at z = 1e−300, γ = 0.001: 0 even in triple words (tests/test_focal29.py)
        X = sp.Mul(*[f for f in r.args if f.has(sp.Function) or isinstance(f, Grouped)])
        if X == 1:  # no common factor (before the two cancels, which it would have skipped: SymPy's cancel is
            continue  # most of this rule's time)
        cp = _cofactor(p, X)
        if cp.has(sp.Function):
            continue
        cq = _cofactor(q, X)
        if cq.has(sp.Function) or not (cp.is_polynomial() and cq.is_polynomial()):
            continue
        c = sp.expand(cp + cq)
        if _n_terms(c) < _n_terms(sp.expand(cp)) + _n_terms(sp.expand(cq)):
            return _Fired(node - p - q + _scaled_in(sp.factor(c), X) * X, ["collect"])
    for p, q in pairs:
        r = combined[p, q]
        for f in sp.Mul.make_args(r) if r.is_Mul else ():
            if f.is_Add and (_sigmoid_target(f) is not None or _softplus_difference(f) is not None
                             or _sigmoid_difference(f)):
                return _Fired(node - p - q + r, ["collect"])
    return None


def _tree_size(expr, memo: dict) -> int:
    """The nodes of ``expr``'s tree (a subexpression met twice counts twice, as SymPy's walks meet it), each distinct
    node's count computed once (``memo``)."""
    if not isinstance(expr, sp.Basic) or not expr.args:
        return 1
    if expr not in memo:
        memo[expr] = 1 + sum(_tree_size(a, memo) for a in expr.args)
    return memo[expr]


def _scaled_in(c, X):
    """The collected coefficient ``c``, its rational factor multiplied into its sum of the largest coefficient where X
    holds a select (the mixture-power rule's: γ·(2t − 3)(2t − 1)/4 → γ·(t/2 − 3/4)·(2t − 1)): the float64 product
    γ·(2t − 3)·…·Q with the 1/4 last overflowed to inf, then inf·0 = NaN where (1 − p_t)^γ = 0 (the focal ∂z at
    γ = 1.6e308, t = 1, z = 0.3: NaN for −0), where the uncollected terms' γ·α_t·… did not (α_t ≤ 3/4). Elsewhere
    ``c`` as it is (the kernels and printouts of the formulas collected before)."""
    k, rest = c.as_coeff_Mul()
    sums = [f for f in sp.Mul.make_args(rest) if f.is_Add]
    if k == 1 or not k.is_Rational or not sums or not any(isinstance(f, sp.Piecewise) for f in sp.Mul.make_args(X)):
        return c
    big = max(sums, key=lambda f: max(abs(a.as_coeff_Mul()[0]) for a in f.args))
    return sp.Mul(*[sp.expand(k * f) if f is big else f for f in sp.Mul.make_args(rest)], evaluate=False)


# A sum's pairs are tried again each time the rewrite visits it or a sum that keeps them (the rule that fired on one
# of its other terms, the outer sum of a nested derivative): l1(focal(celu(y, 2), y), log(x·y)) cancelled 244 cofactors,
# 183 of them distinct, and factored 252 pairs, 191 distinct (70 % of its description's CPU s). Both are pure functions
# of the expressions: kept, the least recently used of them going first.
@functools.lru_cache(maxsize=1024)
def _factor_terms(e):
    return sp.factor_terms(e)


@functools.lru_cache(maxsize=1024)
def _cofactor(p, X):
    """p/X, cancelled: X's factors taken out of p's one by one where p holds each of them as written, else SymPy's
    cancel. A select does not cancel against itself under division (Piecewise(…)⁻¹ is evaluated into a select of
    reciprocals, which cancel then expands branch by branch): the focal ∂z with γ an input, γ·α_t·(1 − t)·Q·P·σσ −
    γ·t·α_t·Q·P·σσ with Q, P the mixture-power rule's selects, was left uncollected, two products of 0.17 cancelling
    to rounding noise at t = 1/2 (7.69409e−32 for 7.69465e−32 at z = 1e−30, γ = 0.7: 5.1e11 ULP in float64), where
    (1 − 2t)·… is exactly 0."""
    rest = list(sp.Mul.make_args(p))
    for f in sp.Mul.make_args(X):
        if f not in rest:
            if _holds_call_missing_from(X, p):
                return p / X  # it keeps that call whatever cancel does: the caller skips a cofactor holding one
            return sp.cancel(p / X)
        rest.remove(f)
    return sp.cancel(sp.Mul(*rest))


def _holds_call_missing_from(X, p) -> bool:
    """Whether ``X`` depends on a call of one of symnet's own functions (σ(z), softplus(−z), a widened body) that
    ``p`` does not hold, in a way no cancel takes out: a call held by one factor of ``X`` alone, that factor a
    polynomial in the call (to an integer power) whose expansion still holds it. Then p/X depends on it however
    cancelled (cancel treats the call as an unknown, and no identity of these functions is applied by SymPy's
    automatic evaluation), so the cofactor has a function and the collect rule cannot use it. Its cancel was most of
    a compile's rewriting: the focal loss with α and γ inputs, 0.9 of the 2.4 CPU s of its NumPy compile, each such
    cancel ending with a function in it. A call held by two factors may cancel between them (session 35, h-mend35:
    X = (y·σ(z) + y)/(σ(z) + 1), p = x·y was skipped, where cancel gives x), and a factor that is a quotient in the
    call may be a constant ((σ² − 1)/(σ − 1) − σ)."""
    factors = sp.Mul.make_args(X)
    for f in factors:
        base = f.base if f.is_Pow and f.exp.is_Integer else f
        for c in base.atoms(sp.Function):
            if not type(c).__module__.startswith("symnet.") or p.has(c):
                continue
            if sum(1 for g in factors if g.has(c)) == 1 and base.is_polynomial(c) and c in sp.expand(base).atoms(
                    sp.Function):
                return True
    return False


def _sigmoid_difference(f) -> bool:
    """f is σ(u) − σ(−u) (or σ(−u) − σ(u)), which the sigmoid rule writes tanh(u/2) (∓): the focal loss's
    ∂t as derived, 2w·q·CE·σ(−z) − 2w·q·CE·σ(z), two products of about 0.2 whose sum is 0.07 at
    z = −0.4 (4.3 ULP in float64 at a zero of ∂t, in double-word), is −2w·q·CE·tanh(z/2)."""
    if not (f.is_Add and len(f.args) == 2):
        return False
    a, b = f.args
    return any(isinstance(p, sigmoid) and isinstance(-q, sigmoid) and (-q).args[0] == -p.args[0]
               for p, q in ((a, b), (b, a)))


def _reciprocal_difference(node):
    """a/(1 − p) − b/p with a + b = 1 (∂/∂p of BCE, −t/p + (1 − t)/(1 − p)) → (p − b)/(p(1 − p)): the two
    quotients nearly cancel where p ≈ b (106 ULP in float64 at p = 0.3, t = 0.3 + 2⁻⁴⁸), p − b does not
    round (Sterbenz) there. Each term may be gated (H(log p + 100)/p after the heaviside-gate rule: a
    select that is 0 where the clamp is on); the combined form is used where both gates are open, each
    term alone where only its gate is (p = 0, p = 1, p < e^−100): never 1/p apart, which overflows
    where p is subnormal."""
    if not (node.is_Add and len(node.args) == 2):
        return _input_reciprocal_difference(node)

    def gated(term):
        if isinstance(term, sp.Piecewise) and len(term.args) == 2 and term.args[1].cond == sp.true:
            if term.args[1].expr == 0:
                return term.args[0].expr, term.args[0].cond
            if term.args[0].expr == 0:  # the heaviside-gate's u ≤ 0 ? 0 : g: open where u > 0
                return term.args[1].expr, sp.Not(term.args[0].cond)
        return term, sp.true

    (g1, c1), (g2, c2) = gated(node.args[0]), gated(node.args[1])
    for (ga, ca), (gb, cb) in (((g1, c1), (g2, c2)), ((g2, c2), (g1, c1))):
        for f in sp.Mul.make_args(gb):
            if not (isinstance(f, sp.Pow) and f.exp == -1 and f.base.is_Symbol):
                continue
            p = f.base
            b = -gb * p
            a = sp.cancel(ga * (1 - p))
            if b.has(p) or a.has(p) or not b.free_symbols or sp.expand(a + b - 1) != 0:
                continue
            both = sp.And(ca, cb)
            new = sp.Piecewise(((p - b) / (p * (1 - p)), both), (ga, ca), (gb, cb), (0, True))
            return _Final(_Fired(new, ["reciprocal-difference"]))
    return _input_reciprocal_difference(node)


def _input_reciprocal_difference(node):
    """a/u − a/v (u, v two inputs, a free of both; two terms of a sum) → a·((v − u)/u)/v where v/u is in [1/2, 2],
    the written difference elsewhere: the two quotients nearly cancel where u ≈ v (a Gamma deviance's ∂y,
    2·(1/μ − 1/y), 7.86e4 ULP in float64 at μ = 1.7·(1 + 10⁻⁶), y = 1.7; torch the same), v − u is exact there
    (Sterbenz), |(v − u)/u| ≤ 1 (no overflow) and the quotients round once each. Outside the interval the written
    form loses at most a bit or two (and keeps its own infinities, zeros and NaNs: v − u overflows where the signs
    differ)."""
    if not (node.is_Add and len(node.args) >= 2):
        return None
    for first, second in itertools.permutations(node.args, 2):
        found = _input_reciprocal_pair(first, second)
        if found is not None:
            a, u, v = found
            near = sp.And(v / u >= sp.Rational(1, 2), v / u <= 2)
            pair = sp.Piecewise((a * Grouped((v - u) / u) / v, near), (first + second, True))
            rest = [t for t in node.args if t is not first and t is not second]
            return _Final(_Fired(sp.Add(pair, *rest), ["reciprocal-difference"]))
    return None


def _input_reciprocal_pair(first, second):
    """(a, u, v) where ``first`` is a/u and ``second`` −a/v (u ≠ v inputs, a free of both); else None. The one test of
    this form: reciprocal-margin's difference of two products (:func:`_monomial_difference`) leaves it to
    :func:`_input_reciprocal_difference`, which takes it at every range and in a sum of more terms."""
    us = [f.base for f in sp.Mul.make_args(first) if f.is_Pow and f.exp == -1 and f.base.is_Symbol]
    vs = [f.base for f in sp.Mul.make_args(second) if f.is_Pow and f.exp == -1 and f.base.is_Symbol]
    for u, v in itertools.product(us, vs):
        a = first * u
        if v != u and not a.has(u, v) and sp.expand(a + second * v) == 0:
            return a, u, v
    return None


class WidenedBase(sp.Function):
    """A subexpression computed in float64 and rounded once to the kernel's dtype: ``widen(body)``.

    Each body has a class of its own (``body`` and ``leaves`` are class attributes; the node's
    arguments are the leaves, the input symbols of the body), as SymPy's ``implemented_function``
    does: common-subexpression elimination sees only ``widened_…(t, x)`` and cannot take ``e^x``
    out of the body into a float32 temporary. The printers print a call of a function generated for
    the body (:func:`symnet.codegen.doubleword.widened_function`): the body in float64 in a float32
    kernel, in double-word arithmetic (hi + lo) in a float64 kernel, rounded once to the kernel's dtype."""

    body: sp.Expr = sp.S.Zero
    leaves: tuple = ()

    @property
    def expanded(self) -> sp.Expr:
        """The body at this node's arguments (the leaves, unless something was substituted). The body itself
        where nothing was: SymPy's ``xreplace`` rebuilds every node above a symbol mapped even to itself (a
        24-term log-sum-exp's Max(a0, …, a23), each build comparing every pair of its arguments, was rebuilt
        at every printing and unwidening: 1,179 builds, 866 s to compile)."""
        moved = {leaf: arg for leaf, arg in zip(self.leaves, self.args) if leaf != arg}
        return without_ite(self.body.xreplace(moved)) if moved else self.body  # (a Piecewise put in a condition: ITE)

    def _eval_evalf(self, prec):
        return self.expanded._eval_evalf(prec)

    def _eval_rewrite(self, rule, args, **hints):
        if rule is sp.ITE:  # a number, not a condition: a relation on this node (σ(u)'s u ≥ 0 in sigmoid-pair) rewritten
            return None     # to ITE reached a numeric Piecewise in the body (TypeError at mish(relu6(x)), hypothesis)
        return self.expanded.rewrite(rule, **hints)

    def _eval_is_real(self):
        return self.expanded.is_real

    def _symnet_text(self, printer):
        return "f64(%s)" % printer._print(self.expanded)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{f64}\left(%s\right)" % printer._print(self.expanded)
        return body if exp is None else r"%s^{%s}" % (body, exp)


_WIDENED: dict = BoundedRecord()


def widen(body: sp.Expr, first_order: bool = False, in_float32: bool = False, far_bound: int = 0) -> sp.Expr:
    """``body`` marked to be computed in float64 (see :class:`WidenedBase`); one class per body,
    named by a digest of it, so that generated code does not depend on the order of calls.
    ``first_order`` (the rounded-argument rule's e^v and σ(v)): v in double-word, the function of it
    to first order in v's lo part (:data:`symnet.codegen.doubleword.FIRST_ORDER`), not correctly rounded.
    ``in_float32`` (one-minus-scaled-exp): in double-word in a float32 kernel too, where float64 is not enough (a
    float32 p − t rounds in float64 where t < 2⁻⁵³·p, e^(−s) where s < 2⁻⁵³).
    ``far_bound`` B > 0 (rational-product): where an input is past 2^±B (not 0), the scaled double words (NumPy's and
    Triton's scaled tier) with every leaf scaled to [1/2, 1) by its exponent (:class:`~symnet.codegen.doubleword._Scaled`)."""
    import hashlib

    import numpy as np
    from sympy.utilities.lambdify import lambdify

    body = without_ite(body)  # (the body is printed as it is: widened nodes are not walked by the kernel's without_ite)
    if body.has(sp.zoo):  # 1/0 in a branch never taken (poisson_nll of hardshrink's 0): NaN, as the printers write it;
        body = body.xreplace({sp.zoo: sp.nan})  # the double-word code took float(zoo): TypeError (h-quot29)
    cls = _WIDENED.get((body, first_order, in_float32, far_bound))
    if cls is None:
        leaves = tuple(sorted(body.free_symbols, key=sp.default_sort_key))
        from ..render import shared_srepr  # sp.srepr, each subexpression once (a φ series holds D_i 15 times)
        digest = hashlib.sha1((("first:" if first_order else "") + ("f32:" if in_float32 else "")
                               + (f"far{far_bound}:" if far_bound else "") + shared_srepr(body)).encode()).hexdigest()[:10]
        made: dict = {}  # the two functions, made on first use (0.2 s each: code generation never calls them)

        def imp(*args):  # lambdify's hook (implemented_function): mpmath numbers or NumPy arrays
            import mpmath
            if not made:
                plain = body.replace(softplus, lambda v: log1p(sp.exp(v))).replace(sigmoid,
                                                                                  lambda v: 1 / (1 + sp.exp(-v)))
                made["exact"] = lambdify(leaves, plain, "mpmath")
                # softplus as the generated code computes it (log1p(e^v) is ∞ at v = 1000: the --stable printout
                # said the widened softplus(z) − t·z "still overflows" where the kernel gives −999000)
                made["fast"] = lambdify(leaves, body.replace(sigmoid, lambda v: 1 / (1 + sp.exp(-v))),
                                        [{softplus.__name__: lambda v: np.logaddexp(0, v)}, "numpy"])
            return (made["exact"] if any(isinstance(a, mpmath.mpf) for a in args) else made["fast"])(*args)

        cls = type(f"widened_{digest}", (WidenedBase,), {"body": body, "leaves": leaves, "nargs": len(leaves),
                                                    "_imp_": staticmethod(imp), "first_order": first_order,
                                                    "in_float32": in_float32, "far_bound": far_bound})
        _WIDENED[(body, first_order, in_float32, far_bound)] = cls
    return cls(*cls.leaves)


def unwiden(expr):
    """``expr`` with every widened node replaced by its sum (what it computes, exactly)."""
    if not isinstance(expr, sp.Basic) or not expr.has(WidenedBase):
        return expr
    return expr.replace(lambda e: isinstance(e, WidenedBase), lambda e: e.expanded)


# the functions whose rounding a float32 kernel cannot take back once it cancels against a target
# (sin and cos since session 19: y + sin x at y = −fl(sin x) was 1.3e5 ULP in float32 at x = 43113.645, 8,113 in
# float64, as torch's; now 0.49 in float32, and double-word in float64 up to |x| = 1e5, doubleword._dw_sin)
# (erf since session 21: erf(x) − y at y = fl(erf x) was 8.2e15 ULP in float64 at x = 5.93, where erf rounds to 1; the
# double word takes doubleword._dw_erf, table-driven, the triple word _tw_erf; erfc and ndtr since session 22, against a
# target only: _widen_hazard)
_ROUNDED = (sp.exp, expm1, sp.log, log1p, sigmoid, sp.tanh, sp.sin, sp.cos, sp.erf)
# and GELU-tanh's S(u) = σ(v(u)) and S′(u) (the double words take them as their σ: doubleword._sigmoid_form), to
# _widen_hazard: ∂y of gelu_tanh(x/y)⁻², 2·(x·S′/S³ + y/S²)/x², cancels at GELU-tanh′'s root x/y = −0.75246 (past 4 ULP
# at 125 of 200 points around it, 32 ULP at (−2.5417, 3.5939), torch 1; h-gelu37)
_ROUNDED_SIGMOID_FORMS = (ndtr_tanh, ndtr_tanh_pdf)


def _widen_hazard(node, products: bool = True, margins: bool = True) -> bool:
    """A sum where a rounded function of some inputs meets a term in another input (e^x − t·x,
    log t + 1 − x, σ(z) − t: a prediction against a target), or a square of a difference beside a
    term in another input ((x − t)²/v² − 1/v: x − t squared overflows float32 at 1.8e19), or an
    input's power in a product with another input beside such a term (the far focal gradient
    −z·t²·w + 2t·w·ce: t² underflows float32 at t = 1.5e−33 although t²·z does not), or terms of
    opposite signs that each hold a rounded function, or a term holding a widened difference beside
    another holding a rounded function (a product rule crossing zero); or a product of two or more
    sums that each hold a rounded function (many roundings, no cancellation: the focal loss); or, with
    ``margins``, a product of inputs beside a constant (the hinge's 1 − t·x)."""
    if node.is_Mul and len(node.free_symbols) >= 2:
        # a product of two or more sums that each hold a rounded function of the inputs (the focal loss
        # (1 − p_t)²·CE, 1 − p_t = t·σ(−z) + (1 − t)·σ(z), CE = t·softplus(−z) + (1 − t)·softplus(z)):
        # no cancellation, but some 12 roundings (4.64 ULP in float64 at t = 1/3, z = 2.5)
        # (numerators only: a softmax gradient's (e^a + e^b)·e^c/(Σ e)² is one sum over another)
        sums = [f.base if f.is_Pow and f.exp.is_positive else f for f in node.args]
        sums = [f for f in sums if f.is_Add and len(f.free_symbols) >= 2 and f.has(*_ROUNDED, softplus)]
        return len(sums) >= 2
    if node.is_Add and len(node.free_symbols) == 1 and (_trig_sum_of_one_input(node) or _log1mexp_plus_argument(node)):
        return True
    if not (node.is_Add and len(node.args) >= 2 and len(node.free_symbols) >= 2):
        return False
    # (and cosh, sinh: a double word takes them as exponentials, doubleword._hyperbolic_as_exponentials; y + cosh(2x) was rounded
    # before its log near 1 took it, 1.26e10 ULP at (−1.01e−5, −1.02e−10); x − 3y + sinh x NaN for −inf past the range)
    rounded = [f for f in node.atoms(*_ROUNDED, *_ROUNDED_SIGMOID_FORMS, softplus, sp.cosh, sp.sinh) if f.free_symbols]
    # a power with an input exponent (x^g − y at y = fl(x^g): 4.4e15 ULP in float64, session 21; the double word
    # takes e^(g·log x), doubleword._Emitter._power) and a product of inputs (x·y − z at z = fl(x·y): 5.8e15 ULP;
    # the double word's product of two float64 is exact, Dekker's TwoProduct, and a float32 one is exact in float64;
    # in NumPy a sum of products of inputs has a cheap front, doubleword._product_sum_front: the whole function on every
    # block made (w·x + b − t)² 10× slower, session 22; _signed_widen gives its ∂t, 2·(t − b − w·x), the same node)
    # (lists of their own: e^x − t·x's t·x is no target of e^x, nor e^x of it; each product alone: x·y − z·w cancels)
    powers_of_inputs = [q for q in node.atoms(sp.Pow) if q.free_symbols and not q.exp.is_number]
    input_products = [[m] for m in (a.as_coeff_Mul()[1] for a in node.args) if products and _input_product(m)]
    # and an input times a constant that is no power of two (x − 3y + 1 at x = 0, y = fl(1/3): 0 for 5.6e−17, 4.5e15
    # ULP in float64, torch the same; session 34): c·y rounds as x·y does, and is exact as a double word
    input_products += [[a] for a in node.args if products and _scaled_input(a)]
    # erfc and Φ against a target (erfc(x) − y at y = fl(erfc x): 8.2e15 ULP in float64, session 21; NumPy's double
    # word is doubleword._dw_erfc, e^(−x²)·erfcx x from a table; Triton's float64 body alone, a float32 kernel's fix)
    complements = [f for f in node.atoms(sp.erfc, ndtr) if f.free_symbols]
    # and a constant fractional power, not a root's half-integer one (session 22: x^(1/3) − y at y = fl(∛x) was 0,
    # 8.4e15 ULP from −2.59e−17 in float64 at x = 2; torch 0)
    rounded += [q for q in node.atoms(sp.Pow) if _fractional_constant_power(q)]
    # and the absolute value of a difference, which carries the difference's rounding: a Huber loss with a learned
    # δ, δ·(|p − t| − δ/2), has ∂δ = |p − t| − δ, which cancels at the kink (session 34: 6.7e7 ULP in float64 at
    # p = 1, t = 0.3, δ = 0.699999993000001; torch the same); the double word takes |u| exactly (a select on its hi)
    rounded += [q for q in node.atoms(sp.Abs) if q.args[0].is_Add and len(q.args[0].free_symbols) >= 2]
    # (a list of their own: a term holding a rounded function beside one holding such a select is still e^x's
    # hazard, the Poisson NLL's expm1(x) + {0 if |x| ≥ log 2; 1 − t·x})
    selects = [f for f in node.atoms(sp.Piecewise) if _rounding_polynomial_select(f)]
    powers = [q for q in node.atoms(sp.Pow) if q.exp.is_Integer and q.exp >= 2 and q.free_symbols]
    products = [m for m in node.atoms(sp.Mul) if m.free_symbols]
    squares = [q for q in powers if (q.base.is_Add and len(q.base.free_symbols) >= 2) or (
        q.base.is_Symbol and any(q in m.args and m.free_symbols - q.free_symbols for m in products))]
    # the scaled-square rule's quotient d/V: the difference d inside it is the hazard ((d/V)·((d/V)/2)
    # beside 1/(2V), as (x − t)²/V² was)
    squares += [a for g in node.atoms(sp.UnevaluatedExpr) if g.args[0].is_Mul
                and any(f.is_Pow and f.exp.is_negative for f in g.args[0].args)
                for a in g.args[0].args if a.is_Add and len(a.free_symbols) >= 2]
    # and a power of a difference inside a widened node of its own (the scaled-power rule's (x − t)⁴/v⁵ beside 1/v)
    squares += [q for w in node.atoms(WidenedBase) for q in w.body.atoms(sp.Pow) if q.exp.is_Integer
                and q.exp >= 2 and q.base.is_Add and len(q.base.free_symbols) >= 2]
    for hazards in (rounded, selects, squares, powers_of_inputs, complements, *input_products):
        for h in hazards:  # the other term holds none of them: −(1 − t)·log1p(−p) beside −t·log p is no target
            if any(not a.has(*hazards) and a.free_symbols - h.free_symbols for a in node.args):
                return True
    # a product of inputs beside a constant: the hinge's margin 1 − t·x cancels the rounding of t·x (squared_hinge
    # 4.12 ULP in float64 at x = t = −0.9545, 1 − t·x = 0.089, torch the same; session 26): exact as a double word
    # (not in a select's piece, ``margins`` False: the Poisson NLL's near branch {…; 1 − t·x} is a widened sum whole)
    if margins and input_products and any(a.is_number and a != 0 for a in node.args):
        return True
    # and a rounded function times inputs that change its sign beside a constant: 1 − 3·x·σ(−v)/y (∂x of x·σ(x/y)⁻³,
    # (1 − 3v·σ(−v))/σ(v)³) cancels the roundings of v, σ(−v) and their product near v = 1.48 (5.05 ULP in float64,
    # torch 8.95; h-worseb39)
    if margins and any(a.is_number and a != 0 for a in node.args) and any(_signed_rounded_term(a) for a in node.args):
        return True
    # terms of opposite signs that each hold a rounded function (the focal gradient's product rule:
    # 500 ULP in float32 at t = 1/2, z = −0.294 where they cancel); sums of one sign do not cancel
    # (a power with an input exponent is e^(g·log b), rounded as e^x is, and so is a constant fractional power: a Tweedie
    # deviance near y = μ, 2·μ^(2 − q)/(2 − q) − 2·y·μ^(1 − q)/(1 − q) + 2·y^(2 − q)/((1 − q)·(2 − q)), has every term a
    # power and no target beside them: 5.1e11 ULP in float64 at y ≈ μ, q in (1.1, 1.9), its ∂y, 2·(y^(1 − q) −
    # μ^(1 − q))/(1 − q), 2.0e5 and ∂μ 3.3e4 (torch 5.1e11, 8.2e5, 6.5e4); with q = 1.3 written in, 2.6e11 and 2.6e5;
    # session 34)
    rounded_powers = powers_of_inputs + [q for q in node.atoms(sp.Pow) if _fractional_constant_power(q)]
    holders = [a for a in node.args if a.has(*_ROUNDED, *_ROUNDED_SIGMOID_FORMS, softplus)
               or any(a.has(q) for q in rounded_powers)]
    # a term holding tanh(u) has both signs (the collect rule's −X·tanh(z/2) in the focal ∂t beside −X·z/4 and
    # −CE·X/2: at t = 1, γ = 1, z = −56 they cancel to 1e−23 from terms of 14, 7e15 ULP in float64 unwidened)
    # and so has a term with an input y as a factor where no other term holds y (y·e^(−z) + e^z, a deviance's: 3.1e16
    # ULP in float64 at y = −fl(e²), z = 1 unwidened, where its ∂z e^z − y·e^(−z), written with a minus, was widened;
    # session 27); a mixture t·A + (1 − t)·B (bce, the focal loss's 1 − p_t) is of one sign for t in [0, 1]
    signs = {s for a in holders for s in ((True, False) if any(
        u.free_symbols for u in a.atoms(sp.tanh)) or _lone_input_factor(a, holders) else (
        a.could_extract_minus_sign(),))}
    if len(holders) >= 2 and len(signs) == 2:
        return True
    # a term holding a widened difference (σ(z) − t: its sign changes with the data) beside another
    # term that holds a rounded function: a product rule that crosses zero where they cancel (the
    # focal gradient ∂z = (σ(z) − t)·A + (2t − 1)(2t − 3)·B, 62 ULP in float64 at z = −4.29, t = 0.10003)
    # (a widened node that is no sum, the mixture-power rule's e^(−γ·softplus(∓z)), is no difference: the collected
    # focal ∂z with γ an input, (3 − 2t)·(σ(z) − t)·P/4 + γ·(2t − 3)(2t − 1)·Q·P·σ(z)σ(−z)/4, both terms holding P,
    # was left as two widened products summed in float64: 5 ULP at t = 0.3, γ = 1, z = −1.3335)
    differences = [a for a in holders if any(w.body.is_Add for w in a.atoms(WidenedBase))]
    return len(holders) >= 2 and bool(differences) and len(differences) < len(holders)


def _lone_input_factor(term, terms) -> bool:
    """``term`` a product with an input of either sign (or an odd power of one) among its factors that no other of
    ``terms`` holds: the term's sign is the data's, and the others' do not follow it."""
    bases = [f.base if f.is_Pow and f.exp.is_Integer and f.exp % 2 == 1 else f for f in sp.Mul.make_args(term)]
    return any(b.is_Symbol and b.is_nonnegative is None and b.is_nonpositive is None
               and not any(b in _input_factors(other) for other in terms if other is not term) for b in bases)


def _input_factors(term) -> set:
    """The inputs of ``term`` outside its functions' arguments (t in (1 − t)·σ(z), a mixture's, whose terms follow t
    together): its sign may follow theirs. An input only inside a function's argument (y in σ(x/y)) is none:
    silu(x/y)⁻²'s ∂y, 2·(y/σ² + x·σ(−x/y)/σ²)/x², has terms of the data's signs that cancel at silu′'s root
    x/y = −1.2785."""
    return term.xreplace({f: sp.Dummy() for f in term.atoms(sp.Function)}).free_symbols & term.free_symbols


def _input_product(m) -> bool:
    """``m`` a product of two or more inputs or integer powers of them (x·y, x²·y): rounded once in the kernel's
    dtype, exact as a double word (float64) or in float64 (float32), so a target beside it can cancel its rounding."""
    if not m.is_Mul:
        return False
    factors = [f.base if f.is_Pow and f.exp.is_Integer and f.exp >= 1 else f for f in m.args]
    return len(factors) >= 2 and all(f.is_Symbol for f in factors)


def _signed_rounded_term(term) -> bool:
    """``term`` c·M·g: a rounded function g of two or more inputs (e^, σ, tanh …, or a select of its forms) times a
    monomial M of inputs (whole powers, either sign) in which some input has an odd power, so that the term takes
    either sign and can meet a constant beside it."""
    factors = sp.Mul.make_args(term.as_coeff_Mul()[1])
    inputs = [f for f in factors if f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer)]
    functions = [f for f in factors if f not in inputs]
    return (bool(inputs) and any(f.is_Symbol or f.exp % 2 == 1 for f in inputs) and bool(functions)
            and all(len(f.free_symbols) >= 2 and (isinstance(f, (*_ROUNDED, *_ROUNDED_SIGMOID_FORMS)) or (
                isinstance(f, sp.Piecewise) and f.has(*_ROUNDED))) for f in functions))


def _scaled_input(term) -> bool:
    """``term`` an input times a constant that is no power of two (3y, −y/3, π·y, √2·y): rounded in the kernel's
    dtype (π·x − y at y = fl(π·x): 5.0e15 ULP in float64, torch the same)."""
    c, m = term.as_independent(*term.free_symbols, as_Add=False) if term.free_symbols else (term, sp.S.One)
    if not (m.is_Symbol and c.is_number and c.is_nonzero):
        return False
    return not (c.is_Rational and abs(c).p & (abs(c).p - 1) == 0 and abs(c).q & (abs(c).q - 1) == 0)


def _fractional_constant_power(node) -> bool:
    """b^(p/q) of some inputs, q > 2 (x^(1/3), (1 + x²)^(3/10)): a rounded function of b as e^x is (its rounding is
    C99 pow's, an ulp of its own size); not √b and b^(n/2), correctly rounded square roots."""
    return node.is_Pow and node.exp.is_Rational and node.exp.q > 2 and bool(node.free_symbols)


def _rounding_polynomial_select(node) -> bool:
    """A select of one input whose values are polynomials of it, one at least rounded (hardswish's x·(x + 3)/6,
    hardsigmoid, leaky ReLU's a·x): an activation as the registry writes it, whose rounding a target cancels
    against as it does σ(z)'s (hardswish(x) − y in float32 at y = fl(hardswish x) and near it: up to 5e9 ULP,
    torch 4e10; 1,544 of 10,734 points worse than torch). A piece that is a number, an input or a power of two
    times one is exact (ReLU, hardtanh: nothing to widen), as is a select holding any other function (a
    stability rule's branches)."""
    if len(node.free_symbols) != 1:  # an activation of one input (a rule's select, {0; 1 − t·x}, is not one)
        return False
    rounds = False
    for value, _ in node.args:
        plain = value.replace(lambda e: isinstance(e, Grouped), lambda e: e.args[0])
        if plain.is_number or plain.is_Symbol:
            continue
        if not plain.is_polynomial(*plain.free_symbols):
            return False
        c, rest = plain.as_coeff_Mul()
        if not (rest.is_Symbol and c.is_Rational and c.p in (1, -1) and (c.q & (c.q - 1)) == 0):
            rounds = True
    return rounds


def _log1mexp_plus_argument(node) -> bool:
    """A sum of one input with a term c·log(1 − e^(−v)) (as log1mexp writes it: log1p(−e^(−v)) or log(−expm1(−v)))
    and a term c·v: their sum is log(e^v − 1) = log expm1(v), 0 at v = log 2, where each term rounded apart cancels
    (the cloglog NLL's ∂t, −log(1 − e^(−e^z)) − e^z, 0 for 1.06e−16 at z = −0.3665: 35,356 ULP at z = −0.3665 in
    float64, torch 2,588; session 36, h-cloglog36)."""
    logs = [f for f in node.atoms(log1p, sp.log) if f.free_symbols]
    for f in logs:
        arg = f.args[0]
        if isinstance(f, log1p) and (-arg).func is sp.exp:
            v = -(-arg).args[0]
        elif isinstance(f, sp.log) and (-arg).func is expm1:
            v = -(-arg).args[0]
        else:
            continue
        for t in node.args:
            c, rest = t.as_coeff_Mul()
            if rest == f and any(a == c * v or sp.expand(a - c * v) == 0 for a in node.args if a is not t):
                return True
    return False


def _trig_sum_of_one_input(node) -> bool:
    """A sum of one input in which two or more terms each hold a sine or cosine of it (sin x + cos x, cos x − sin x):
    each rounded to an ulp of its own size, they cancel at every zero of the sum, of which the root series
    (:mod:`symnet.codegen.roots`) takes those near 0 only (sin x + cos x in float32 at x = 181.43 was 62,000 ULP;
    torch 20,000). A sum of terms each a constant times a sine or cosine: not x − sin x (a sum that vanishes at 0,
    whose own rules are the vanishing-series ones), not cos x − sin(x)/x (sin(x)/x′'s numerator, the removable-series
    rule's: widened whole it was NaN at x = 0), not the σ or e^x sums of one input that do not cancel."""
    holders = [a for a in node.args if a.as_coeff_Mul()[1].func in (sp.sin, sp.cos)]
    return len(holders) >= 2 and len(holders) == len(node.args) and not node.has(*[f for f in _ROUNDED
                                                                                 if f not in (sp.sin, sp.cos)])


def _bottom_up(expr, rewrite, leaves=None):
    """``expr`` with ``rewrite(node)`` (the node, rewritten or not) applied to every node bottom up: the
    arguments first, each distinct node once (a shared subexpression is rewritten once, and a rewritten
    node is not entered again). Nodes without arguments and those of a ``leaves`` class (default: the
    widened nodes) are kept as they are."""
    leaves = (WidenedBase,) if leaves is None else leaves
    memo = _walk_memo(rewrite, leaves)

    def visit(node):
        if node in memo:
            return memo[node]
        if not node.args or isinstance(node, leaves):
            return node
        args = tuple(visit(a) for a in node.args)
        memo[node] = new = rewrite(node.func(*args) if args != node.args else node)
        return new

    return visit(expr)


def _top_down(expr, new_form, leaves=()):
    """``expr.xreplace(found)`` for found = {n: new_form(n)} over the subexpressions n of ``expr`` where that is not
    None: each outermost such node replaced, a replacement not entered, a parent rebuilt where an argument was
    replaced (as xreplace does), each distinct node asked once (a preorder_traversal walks the tree: a sum
    of N terms that each hold max(a_1, …, a_N) is N² nodes, and the same sum in each of N + 1 outputs). Nodes of
    a ``leaves`` class are kept as they are, neither asked nor entered. Inside a :class:`Stabiliser`, for a
    ``new_form`` of the node alone (:func:`_walk_memo`), the answers are shared by the kernel's outputs."""
    memo = _walk_memo(new_form, ("top-down", leaves))

    def visit(node):
        done = memo.get(node)
        if done is not None:
            return done
        if isinstance(node, leaves):
            return node, False
        new = new_form(node)
        if new is not None:
            out = (new, True)
        else:
            changed, args = False, []
            for a in node.args:
                if isinstance(a, sp.Basic):
                    a, replaced = visit(a)
                    changed |= replaced
                args.append(a)
            out = (node.func(*args), True) if changed else (node, False)
        memo[node] = out
        return out

    return visit(expr)[0]


# the leaves of the walks that leave a widened node, an array element and a select's conditions as they are (a
# select's pairs are entered)
_KEPT = (WidenedBase, sp.Indexed, sp.logic.boolalg.Boolean)

# the memo tables of the bottom-up walks (_bottom_up) of the Stabiliser now applying its whole-expression rules:
# (the rewrite's code, leaves) → node → rewritten; None outside a Stabiliser (each walk then has a table of its own)
_SHARED_WALKS: contextvars.ContextVar = contextvars.ContextVar("symnet_shared_walks", default=None)


def _distinct_preorder(expr):
    """The distinct subexpressions of ``expr`` in the order ``sp.preorder_traversal`` first meets them (a node met
    again is not entered again: everything below it has been met); ``expr`` a SymPy expression."""
    seen = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        yield node
        args = node._argset if hasattr(node, "_argset") else node.args  # a Max's set, as preorder_traversal takes it
        stack.extend(reversed([a for a in args if isinstance(a, sp.Basic)]))


def _atoms(expr, *types) -> set:
    """``expr.atoms(*types)`` (its subexpressions of those types), each distinct node looked at once."""
    return {n for n in _distinct_preorder(expr) if isinstance(n, types)}


def _replaced(expr, query, value):
    """``expr.replace(query, value)`` for a callable ``query`` and ``value`` (SymPy's walk: arguments first, then
    the node; a rebuilt node that is one of the replaced arguments is not asked again), each distinct node walked
    once (``replace`` walks the tree: N² nodes in each output of a written N-term log-sum-exp). Inside a
    :class:`Stabiliser`, for ``query`` and ``value`` of the node alone, shared by the kernel's outputs."""
    shared = _SHARED_WALKS.get()
    memo = shared.setdefault((query.__code__, value.__code__), {}) if shared is not None and _pure(query) \
        and _pure(value) else {}

    def walk(rv):
        args = getattr(rv, "args", None)
        if args is None:
            return rv
        done = memo.get(rv)
        if done is not None:
            return done
        node = rv
        if args:
            newargs = tuple(walk(a) for a in args)
            if args != newargs:
                rv = rv.func(*newargs)
                if any(rv == e and e != newargs[i] for i, e in enumerate(args)):
                    memo[node] = rv
                    return rv
        result = query(rv)
        if result or result == {}:
            v = value(rv)
            if v is not None and v != rv:
                rv = v
        memo[node] = rv
        return rv

    return walk(expr)


def _pure(function) -> bool:
    """``function`` depends on its argument alone (and the module): a module function or a closure over nothing."""
    return getattr(function, "__code__", None) is not None and getattr(function, "__closure__", ()) is None \
        and not getattr(function, "__defaults__", None) and not getattr(function, "__kwdefaults__", None)


def _walk_memo(rewrite, leaves) -> dict:
    """The memo table of a :func:`_bottom_up` walk: an empty one, or, inside a :class:`Stabiliser` and for a
    ``rewrite`` that is a function of the node alone (a module function or a closure over nothing: its result
    depends on its argument and the module, never on the expression the walk started from), the table of every
    earlier walk with the same code and ``leaves`` over this kernel's outputs (a sum shared by the N + 1 outputs
    of a written log-sum-exp is examined once, not N + 1 times)."""
    shared = _SHARED_WALKS.get()
    if shared is None or not _pure(rewrite):
        return {}
    return shared.setdefault((rewrite.__code__, leaves), {})


def _widen_all(expr):
    """Every hazardous sum of ``expr`` (innermost first) in float64 (:func:`_widen_hazard`)."""
    expr = sp.sympify(expr)
    # a sum of products of inputs inside a log, log1p or a reciprocal is the rounded-log-argument rule's (log(x·y − z):
    # the log of its double word; widened here first, the log took its float64 rounding: 9,477 ULP, tests/test_cost20)
    taken = {a for f in _atoms(expr, sp.log, log1p, sp.Pow) for a in (f.args if not f.is_Pow else (
        (f.base,) if f.exp.is_negative else ())) if a.is_Add and any(_input_product(t.as_coeff_Mul()[1]) for t in a.args)}
    # a margin c − x·y inside a select summed with other terms is left to that sum (_widen_hazard's margins)
    pieces = {a for s in _atoms(expr, sp.Add) for f in s.args if isinstance(f, sp.Piecewise)
              for a in sp.preorder_traversal(f) if a.is_Add}
    if not taken and not pieces:  # a closure over nothing: the kernel's outputs share one memo (_walk_memo; the
        # written 40-term log-sum-exp asked 3,485 nodes where 20 terms asked 945 without it, tests/test_lse15.py)
        return _bottom_up(expr, lambda node: _widened_sum(node) if _widen_hazard(node) else node)
    return _bottom_up(expr, lambda node: _widened_sum(node) if _widen_hazard(
        node, node not in taken, node not in pieces) else node)


def _widened_sum(node):
    """A hazardous node widened (:func:`_signed_widen`); a sum whose terms share an input's power of two or more
    (x⁻³ in ∂x of gelu_tanh(x/y)⁻², −2y²/(x³·S²) − 2y·S′/(x²·S³)) as those powers times the widened rest
    (:func:`_widened_over_common_powers`): a double word forms x³, which leaves the range where the sum does not
    (from |x| = 5.6e102: 15 ULP at (−1.26e290, 1.87e290), the float64 sum taken there; torch 3)."""
    if node.is_Add and any(abs(p) >= 2 for p in _common_monomial(node.args).as_powers_dict().values()):
        # taken as the whole sum widened where not finite (its function's own tiers: silu(x/y)⁻²'s ∂x at (60119,
        # −149.4), x/y = −402, is +inf there, NaN as the written sum)
        return _widened_over_common_powers(node, _signed_widen(node))
    return _signed_widen(node)


def _signed_widen(node):
    """widen(node); a sum of products of inputs with a leading minus as −widen(−node) (exact: rounding is symmetric),
    so that (w·x + b − t)² and its ∂t, 2·(t − b − w·x), share one widened node (task h-xyz23: two were computed)."""
    if node.is_Add and all(_input_product(m) or m.is_Symbol for m in (a.as_coeff_Mul()[1] for a in node.args)) \
            and node.could_extract_minus_sign():
        return -widen(-node)
    return widen(node)


WIDEN = Rule(
    "widen", "a sum in which a rounded e^x, log t or σ(z) cancels against a target (e^x − t·x: 21 ULP, "
    "log t + 1 − x: 78 ULP, σ(z) − t: 10 ULP in float32) or in which (x − t)² overflows float32 "
    "(|x − t| > 1.8e19), or a product of sums that each hold one ((1 − p_t)²·CE of the focal loss: "
    "4.6 ULP in float64 from its 12 roundings), is computed in float64 and rounded once (float64 rounding "
    "is 2⁻²⁹ of a float32 ULP; (x − t)² of any float32 is finite there); in a float64 kernel in "
    "double-word arithmetic (hi + lo, about 106 bits: e^x, log, σ, products and quotients to 2⁻¹⁰⁰ or so) "
    "and rounded once; so are sin u + cos u and its kin, whose terms, each rounded to an ulp of its own size, "
    "cancel at every zero (62,000 ULP in float32 at x = 181.43), and an activation's rounded polynomial piece "
    "against a target (hardswish(x) − y: 5e9 ULP in float32 at y = fl(hardswish x) and its neighbours), "
    "and a margin c − x·y, which cancels the rounding of x·y (the squared hinge's (1 − t·x)²: 4.1 ULP in float64 "
    "at x = t = −0.9545), or of a rounded function times inputs, c − k·x·σ(u)/y (∂x of x·σ(x/y)⁻³, (1 − 3v·σ(−v))/σ(v)³: "
    "5.05 ULP in float64 near v = 1.48, torch 8.95; x/σ(x/y)⁴'s ∂x 2,815 at (−55.1, −29.6), torch 3,997); a sum whose terms share an input's power of two or more is those powers times the widened "
    "rest, taken as written where that is not finite (a double word forms x³, which leaves the range where the sum "
    "does not: ∂x of gelu_tanh(x/y)⁻², −2y²/(x³·S²) − 2y·S′/(x²·S³), 15 ULP at (−1.26e290, 1.87e290), torch 3)",
    apply=_widen_all, fired=lambda old, new: old != new)


_LOSS_RULES = (
    Rule("softplus-difference", "softplus(u) − softplus(−u) is u exactly; written out it is "
         "log 2 − log 2 = 0 at u = 1e−300 (∂/∂t of BCE with logits)", local=_softplus_difference),
    Rule("sigmoid-target", "(1 − t)σ(u) − tσ(−u) = σ(u) − t cancels term against term (0 at t = 1/2, "
         "u = −1e−30, true −2.5e−31); σ(u) − t, (1 − t) − σ(−u) or tanh(u/2)/2 + (1/2 − t), whichever "
         "term is smallest, cancels only where σ(u) ≈ t truly; c + P·σ(u) + Q·σ(−u) with P + Q = −c (Poly-1's "
         "1 − p_t = 1 − tσ(z) − (1 − t)σ(−z): 2e11 ULP in float64 at t = 1, z = 27, torch the same) is the mixture "
         "−Q·σ(u) − P·σ(−u), (1 − t)σ(z) + tσ(−z), of terms of one sign for t in [0, 1] (P·Q ≥ 0); where P·Q < 0 "
         "it cancels (|t| ≫ 1: 1.23e16 ULP in float64 at t = 9.59e181, z = −4.88e−17, torch 5.72e15), and "
         "σ(u) − σ(−u) = tanh(u/2) gives c·σ(−u) − Q·tanh(u/2) for u > 0, c·σ(u) + P·tanh(u/2) below "
         "(σ(z) − t·tanh(z/2)), which cancel only where the function is near 0", local=_sigmoid_target_rule),
    Rule("heaviside-gate", "H(u)·g is 0·∞ = NaN where g is infinite and the gate is closed (the "
         "derivative of a clamp, H(log p + 100)/p at p = 0); a select returns 0 there", local=_heaviside_gate),
    Rule("exp-minus", "e^u − t cancels near u = 0, t = 1 (0 at u = −1e−30, true −1e−30); "
         "expm1(u) + (1 − t) for |u| < log 2 does not", local=_exp_minus),
    Rule("exp-minus-limit", "e^u − c·u (the Poisson NLL with log input, e^z − t·z) is inf − inf = NaN at "
         "u = +inf and 0·inf = NaN at u = −inf, c = 0 (torch the same), where the limits are +inf (e^u dominates "
         "every finite c·u) and 0 (e^u → 0, and t·log λ = 0 at t = 0, as 0·log 0 in torch's xlogy): a piece "
         "u·(e^u/3.4e38 − c) beyond u = 3.4e38 (float32's +inf; +inf in float64 too, where e^u is inf from 710 "
         "on) and a select returning e^u (0 as computed, and a quotient by it +inf: 1/poisson_nll(x, 0) at x = −1e300 was "
         "NaN for +inf, as SymPy's 0 it was 1/0 = zoo) below −3.4e38 where c = 0, each in a piece of its own (the piece u > 64, "
         "u·(e^u/u − c), keeps its double word at u = 709.78, and below −64 where |c·u| is past 2¹²⁷ leaves u out "
         "of c·u, which overflows where a quotient by u's sum does not: ((x + y)/poisson_nll(x, y))⁻² at (−1.29e306, 239.7) was inf for "
         "57474, torch inf); at u = −inf, c ≠ 0 the written form is c·inf already"),
    Rule("collect", "t·X + (1 − t)·X·…, two products of one factor X summed, cancel to rounding noise where "
         "they are opposite (−2t·X + 2(1 − t)·X at t = 1/2); the factor is taken out and its coefficients "
         "summed symbolically ((2 − 4t)·X, exactly 0 there); X·σ(−u) − X·σ(u) is −X·tanh(u/2) (the focal ∂t: "
         "4.3 ULP in float64 at its zero crossings, 2.5 with tanh)", local=_collect_pair),
    Rule("reciprocal-difference", "a/(1 − p) − b/p with a + b = 1 (the BCE gradient (1 − t)/(1 − p) − t/p) "
         "cancels where p ≈ t (106 ULP in float64); (p − t)/(p(1 − p)) does not, and each term is kept alone "
         "where the other's clamp is on (p = 0, p = 1); a/u − a/v of two inputs (a Gamma deviance's ∂y, "
         "2·(1/μ − 1/y): 7.86e4 ULP in float64 at y = 1.7, μ = y·(1 + 10⁻⁶), torch the same) is a·((v − u)/u)/v "
         "where v/u is in [1/2, 2] (v − u exact there), as written elsewhere", local=_reciprocal_difference),
)


RULES: tuple[Rule, ...] = (
    Rule("sigmoid", "1/(1 + e^−x) overflows e^−x for x ≪ 0 (NaN in float32 at x = −1000); σ is printed "
         "from e^−|x|, which never overflows (σ(−100) in float32 is the subnormal 3.7e−44, not 0)",
         local=_exp_rational),
    Rule("sigmoid-complement", "1 − σ(x) rounds to 0 once σ(x) rounds to 1 (x > 17 in float32, 37 in "
         "float64), losing every digit of e^−x; σ(−x) keeps them"),
    Rule("cancel", "a factor divided out again, σ(1 − σ)·(1/(1 − σ) − 1/σ), is 0·∞ = NaN where σ "
         "saturates to 0 or 1; the product is multiplied out one level (or, for exponentials of one "
         "argument, the small fraction is cancelled) so that the factor cancels symbolically; so is a sum of "
         "quotients by an input whose terms cancel once multiplied out ((x + P)/y − (x·y + y·P)/y², ∂y of "
         "(x·y + hardswish(y))/y: two terms of 3.5e140 for 1/6 at y = −1.4e−141, 7.8e92 ULP in float64), and a "
         "number beside k·(a sum holding a number) whose numbers cancel once k is multiplied in (∂x of the balanced "
         "L1 loss α/b·(b|x| + 1)·log(b|x| + 1) − α|x|, −α + b·(α/b + α·L/b) with L = log1p(b|x|), computed as "
         "(1 + L) − 1: 2.65e4 ULP in float64 at x = 1e−6, torch 2.8e4)"),
    Rule("input-over-power", "an input x times a sum with a term B/y^k (k ≥ 2, y another input: ∂y of g(x/y) "
         "as derived, x·(… − g′(x/y)·B/y²)) forms y^k, which leaves the range where x/y^k does not (x ≈ y: "
         "∂y −inf for −9.4e299 at x = y = −1e−300, −0 for −1.1e−200 at −1e200); the product is multiplied "
         "out one level, so that x·B/y^k is one product, formed by exponents where it is not finite"),
    Rule("tanh", "2σ(2x) − 1 and (1 − e^−2x)/(1 + e^−2x) cancel near 0 (7 % off at x = 1e−6 in float32), "
         "(e^x − e^−x)/(e^x + e^−x) overflows; tanh(x) is evaluated directly"),
    Rule("sech²", "1 − tanh²(x) is 0 in float32 from |x| ≈ 9 (true ≈ 4e−8); 4σ(2x)σ(−2x) is the same "
         "number with no subtraction"),
    Rule("max-shift", "e^a/Σ e^{a_i} (softmax written out) overflows for a > 88 in float32; with "
         "m = max a_i the shifted form e^{a − m}/Σ e^{a_i − m} has every term ≤ 1 and the sum ≥ 1",
         local=_softmax_shift),
    Rule("softmax-complement", "1 − p for a softmax p = e^x/Σ e^{a_i} near 1 cancels (all digits lost "
         "once p rounds to 1); the sum of the other terms over Σ e^{a_i} is the same number without a "
         "subtraction", local=_softmax_complement),
    Rule("softplus", "log(1 + e^x) overflows for x ≫ 0; softplus(x) = max(x, 0) + log1p(e^−|x|) does not"),
    Rule("log-sigmoid", "log σ(x) underflows to log 0 for x ≪ 0, x − softplus(x) cancels for x ≫ 0; "
         "−softplus(−x) does neither"),
    Rule("logaddexp", "log(e^a + e^b) overflows for a, b > 88 in float32; "
         "max(a, b) + log1p(e^−|a − b|) does not"),
    Rule("log-sum-exp", "log Σ e^{a_i} overflows when any a_i is large; m + log1p(Σ_{i≠k} e^{a_i − m}), "
         "m = max a_i = a_k, sums terms in (0, 1] and keeps the small ones (a cross-entropy at a "
         "large margin)"),
    Rule("log-cosh", "log((e^u + e^−u)/2) and log cosh u overflow for |u| > 89 in float32; "
         "|u| + log1p(e^−2|u|) − log 2 does not, and log1p(2·sinh²(u/2)) keeps the digits of u²/2 "
         "for |u| < 1, where that sum cancels"),
    Rule("log-quotient", "log(e^a/S) forms a quotient of exponentials that overflows; a − log S "
         "takes the logarithm of each factor instead"),
    Rule("log1mexp", "log(1 − e^x) is −inf for x near 0 (1 − e^x rounds to 0), log(−expm1(x)) loses "
         "digits for x ≪ 0; Mächler (2012): log(−expm1(x)) for x > −log 2, log1p(−e^x) below; where x = −e^w (the "
         "complementary log-log link, log(1 − e^(−e^w))), −expm1(x) underflows with e^w (−inf for the true w at "
         "w < −745 in float64, 740 ULP at w = −740), so below w = −20 it is w − e^w/2 (the series' next term, u²/24 "
         "with u = e^w, below 2⁻⁶² of w); log1p(−e^(−e^w)) is taken as log(1 − e^(−e^w)) (as written it rounds "
         "1 − e^(−e^w) to 0 from w = −37: 1.6e−4 off at w = −30)"),
    Rule("log1p", "log(1 + x) loses every digit of x when |x| < machine epsilon"),
    Rule("expm1", "e^x − 1 cancels catastrophically near x = 0; so does b^y − 1 with a variable exponent (the "
         "Barron loss's ((x/c)²/|α − 2| + 1)^(α/2) − 1: 0 at α = −1e−300 where −1.3e−300, f −0 for 2.60; torch −0), "
         "expm1(y·log b) where |y·log b| < 1 (its rounding |y·log b|·ε is less than pow's there), b^y − 1 past it",
         local=_expm1),
    Rule("hypot", "√(x² + c) overflows x² for |x| > 1.8e19 in float32 (1.3e154 in float64); "
         "|x|·√(1 + c/x²) for |x| > 2⁶⁰ does not (c/x² underflows harmlessly instead); below 2⁶⁰ the written form, "
         "rounded once each (the scaled form was 1.45 ULP in float64 at x = −3.0149 for √(x² + 10⁻¹²), torch 0.55); "
         "c holding an input (√(x² + b)): |x|·√(1 + (b/x)/x) below |x| = 2⁻⁶⁰ too, where x² underflows, while "
         "|(b/x)/x| < 2¹⁰⁰ (squareplus (x + √(x² + b))/2 at b = 0, x = 1e−200: 5e−201 for 1e−200, ∂x inf for 1; "
         "torch the same); a sum of squares Σ w·v² (and one input e beside them: RMSNorm written out, "
         "x₁/√((x₁² + x₂²)/2 + ε): f −0 for −5.3e−4 at ε = 8.3e−6, x₁ = −1.6e270, x₂ = 4.4e273, ∂x₂ NaN for 1.2e−277, "
         "∂x₁ NaN; torch 0, 0, NaN) under a power is S^e·r^(−2e), S = Σ w·(r·v)² (+ (e·r)·r), r = 1/2^⌊log₂ m⌋, "
         "m = max |v| (max(|v|, √|e|) with e: at ε = 2.4e−293 above x₁² = 4.8e−294 the written W^(−3/2) overflowed, "
         "∂ε, ∂x₁, ∂x₂ ±inf; torch finite), where m is outside [2⁻⁶⁴, 2⁶⁴], and its product with one or two "
         "of the bases v or with a sum of some of the squares and e (∂x₁'s (x₂²/2 + ε)·W^(−3/2)) scaled alike; "
         "e a positive number too (a written ε, 1 + 500000x² + 500000y²: ∂x of x/√((x² + y²)/2 + 10⁻⁶) inf or NaN "
         "for |y| past 1e100, torch within 1.4 ULP); times inputs z that are no base, (z·S^e)·r^(−2e) where that "
         "product is finite (and ≥ 2⁻¹²⁶ where r^(−2e) > 1): the scaled √S/r alone is subnormal where z·√S/r is not "
         "(z·√(x² + y²) at (−5e−324, 5e−324, 3e38) 1.6e15 ULP, torch 0)",
         local=_hypot),
    Rule("zero-limit", "x·log x, x^y·log x and t·softplus(z) are 0·∞ = NaN at x = 0 or z = ±∞ where the "
         "limit is 0 (as torch.xlogy and torch.pow's gradient return; x*torch.log(x) is NaN there); the limit "
         "is returned there", local=_zero_limits),
    Rule("exp-square", "e^(−x²) (erf′, erfc′) and e^(−x²/2) (the normal density: GELU′) round x² "
         "first, an error of x²·ε that exp turns into x² ulp (26 ulp at erf′(14) in float64, 500 at "
         "x = 25.7); with x = h + l, h = x to 1/64 (exact square), e^(−h²)·e^(−l·(x + h)) is exact to "
         "a few ulp", apply=_exp_square, fired=lambda old, new: new != old),
    Rule("zero-power", "b^y with a variable exponent is e^{y·log b} in Triton: NaN at b = 0, y = 0, where "
         "b⁰ = 1 (torch's 0⁰ = 1)", local=_zero_power),
)
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


class Grouped(sp.UnevaluatedExpr):
    """A sum kept as one factor (SymPy distributes 1/6·(x + 3) into x/6 + 1/2 otherwise); printed
    and lowered as its sum. Its assumptions (real, finite, sign) are its sum's, so that
    Heaviside or Abs of an expression containing it still evaluate. Commutative too: a sum of symbols
    with no assumptions (CSE's temporaries) is commutative but not known real, and UnevaluatedExpr
    leaves that unknown (None), so a product holding it was built non-commutative, hence not complex,
    hence not real: Heaviside(softplus(…)) of it raised 'defined only for Real Values'."""

    def _delegate(fact):
        return lambda self: getattr(self.args[0], fact)

    # in the class body: SymPy collects the _eval_is_* handlers when the class is created

    for _fact in ("real", "extended_real", "finite", "zero", "positive", "negative", "nonnegative",
                  "nonpositive", "extended_positive", "extended_negative", "extended_nonnegative",
                  "extended_nonpositive", "nonzero", "extended_nonzero", "integer", "rational", "complex",
                  "commutative"):
        locals()[f"_eval_is_{_fact}"] = _delegate(f"is_{_fact}")
    del _fact, _delegate

    def _bracketed(self, printer, *args, **kwargs):
        # SymPy's code printers (lambdify, the mpmath references of the tests) print an UnevaluatedExpr as
        # its bare sum; one whose text opens with a minus the enclosing sum takes for its sign: ((x − t) + c)
        # printed as -(t + x) + c, 2 off at t = 0.9, x = 0.77. In brackets it is one term. symnet's own printers
        # (text, LaTeX, NumPy and Triton kernels) dispatch on the class and are not affected.
        return "(%s)" % printer._print(self.args[0])

    for _method in _PRINT_METHODS:
        locals()[_method] = _bracketed
    del _method


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
RULES += (
    Rule("erf-complement", "1 + erf(u) cancels for u ≪ 0 (erf(u) → −1: GELU written with erf, "
         "x·(1 + erf(x/√2))/2, 26,000 ULP off at x = −4.5 in float32, every digit lost from x ≈ −6), and so "
         "does erfc(−u) as written, which SymPy turns into 2 − erfc(u) (x·erfc(−x/√2)/2, GELU as torch "
         "computes it: 0 at x = −8.3, true −4.35e−16); erfc(−u) = 2Φ(√2·u) is the same number with no subtraction", local=_erf_complement),
    Rule("abs-sign", "u·sign(u) is |u| (the derivative of |u| multiplied back): one exact number in place of "
         "a product, so that the fraction-complement rule can see it; |u|/u^k is sign(u)/u^(k−1) (k ≥ 2), so that a "
         "sum of it and sign(u)/u^(k−1) is one term (∂x of (x⁻²)^(3/2), (−4·|x|/x + sign(x))/x⁴: −inf at x = 1.18e−77 "
         "for −1.5e308, NaN below, where −3·sign(x)/x⁴ overflows only with the truth); |u|/u itself is kept (0/0 at "
         "u = 0, NaN as torch, where sign(u) is 0): a sum c·|u|/u + d·sign(u) is (c + d)·|u|/u, and where c + d = 0 the "
         "one term c·(|u|/u − sign(u)) (SymPy would drop 0·|u|/u: 0 at u = 0 where the sum is 0/0, torch NaN); |x·y| is "
         "|x|·|y| and "
         "sign(x·y) sign(x)·sign(y) (exact; ∂x of |x·y|/x, (y·sign(x·y) − |x·y|/x)/x, was NaN at x = 1e−200, y = 0, "
         "where x² underflows, and sign(x·y) 0 where x·y underflows: now its terms are one, 0)", local=_abs_sign),
    Rule("fraction-complement", "K/S − K·a/S² with a a term of S cancels once a ≫ the rest of S "
         "(softsign′ = 1/(1 + |x|) − |x|/(1 + |x|)²: 1e7 ULP off at x = 1e7 in float32); K·(S − a)/S² "
         "has no subtraction; where S − a holds an input and K holds sign(S) (a quotient by |S|), taken as "
         "K·(1 − a/S)/S where that is ±inf or NaN (S − a and S both ±inf at an infinite input: ∂y of "
         "relu(y)/|x − y|, x·sign(x − y)/(x − y)², was inf/inf = NaN at x = ±inf for 0, torch 0; a/S is 0 there)",
         local=_fraction_complement),
    Rule("abs-quotient-sum", "y^a·(c + |x|/|y|)^−n (softsign(x/y) = x/(y·(1 + |x|/|y|)) and its derivatives) overflows "
         "|x|/|y| where the result does not: softsign(x/y) −0 for −1 at x = −1.8e308, y = 0.3 (torch NaN), its ∂y "
         "−x/(y²·(1 + |x|/|y|)²) NaN at x = −1e200, y = −2.2e−308 for 1e−200 (0·inf); over S = c·|y| + |x|, a sum of "
         "non-negative terms, it is y^(a + n)/S/…/S (times |y|/y where n is odd): x/S·|y|/y, y/S/S, −x/S/S; as written "
         "where S is past the largest float (|x|, |y| near it: ±0 for ±0.5 over S = inf)",
         local=_abs_quotient_sum),
    Rule("tanhshrink", "x − tanh x cancels for small |x| (true ≈ x³/3; every digit lost below x ≈ 1e−8); "
         "below |x| = 1.5 it is x³·Q(x²)/cosh x with (x·cosh x − sinh x)/x³ = Q(x²) = Σ 2k·x^{2k−2}/(2k+1)! "
         "(one sign, to 1e−27); from 1.5 on x − tanh x as written (≤ 1.3 ULP there, measured); tanh u − w, w an input "
         "that u = d·w + r holds to the first power (a GRU update's ∂a, x·z(1 − z)·(tanh(c·x + d·h) − h): 0 for 9.6e−92 "
         "at c = 0, d = 1, h = 1e−30, 7.0e15 ULP in float64, torch the same), is (r + (d − 1)·w) − (u − tanh u) with that "
         "series below |u| = 1 and tanh u − w from there, each widened (double words in a float64 kernel: ≤ 3.9 ULP "
         "at 360 values near and far, where torch is past 4 at 164; the series to 1.5 left ~1e−27 of u³/3 out, 124,535 "
         "ULP of f where w = fl(tanh u) at u = 1.4578, torch 7.5e15)", local=_tanhshrink),
    Rule("affine-root", "x/n + b rounds x/n before the sum and cancels near its root −b·n (hardsigmoid "
         "x/6 + 1/2 near x = −3: 2.8e6 ULP off in float32); in (x + b·n)/n the sum is exact there "
         "(Sterbenz) and the quotient rounds once",
         local=_affine_root),
    Rule("sech²-offset", "a·sech²u + b with a + b ≈ 0 cancels near u = 0 (∂h of tanh(c·x + d·h) − h, d·sech²u − 1: "
         "1.75e12 ULP in float64 at c = 0, d = 1, h = 1e−6, torch 1.1e11); sech² = 1 − tanh² makes it (a + b) − a·tanh²u, "
         "a + b exact there and tanh²u the small term, where |u| < 7/8 (tanh² < 1/2 < sech²), as written from there; each "
         "widened (double words in a float64 kernel, where d = cosh²u the roundings of tanh u, σ(±2u) and the products "
         "cancel too): ≤ 0.5 ULP near u = 0 and where d = cosh²u (torch 8.1e15 and 4.6e18), 0.93 at ordinary points",
         local=_sech_offset),
)

_BY_NAME = {r.name: r for r in RULES}
_LOCAL = (_exp_rational, _common_sum_factor, _softmax_shift, _distribute, _divided_out_sum, _softmax_complement, _max_minus, _log_rules, _expm1, _softplus_shift, _hypot, _zero_limits, _zero_power)
_LOCAL_RULE = {_softmax_shift: "max-shift", _expm1: "expm1", _hypot: "hypot", _zero_limits: "zero-limit",
               _zero_power: "zero-power"}
_LOCAL += tuple(_CANCEL_LOCAL)  # the cancellation block above
_LOCAL_RULE.update(_CANCEL_LOCAL)
_MAX_REWRITES = 64  # rewrites of one node (a guard; no rule set here comes close)
RULES += _LOSS_RULES  # the loss rules: one block above, tried after the rules above
RULES += (WIDEN,)  # a whole-expression rule: after every node-by-node rule, on their result
_BY_NAME.update({r.name: r for r in _LOSS_RULES})
_LOCAL += tuple(r.local for r in _LOSS_RULES if r.local is not None)  # exp-minus-limit: named by exp-minus


def _register(*rules: Rule) -> None:
    """Append ``rules`` to :data:`RULES` in order, name them in the lookup by name, and put each
    node-by-node rule's function into the one bottom-up pass (:func:`stabilise`)."""
    global RULES, _LOCAL
    RULES += rules
    for rule in rules:
        _BY_NAME[rule.name] = rule
        if rule.local is not None:
            _LOCAL += (rule.local,)
            _LOCAL_RULE[rule.local] = rule.name

LOG_DIFFERENCE = Rule(
    "log-difference", "log a − log b cancels where a ≈ b, each log rounded by half an ulp of its own size "
    "(bce's ∂t = log(1 − x) − log x: 821 ULP in float64 at x = 0.49995, every digit lost at x = 1/2 ± 2⁻⁵³); "
    "sign(d)·log1p(|d|/min(a, b)) with d = a − b simplified symbolically ((1 − x) − x = 1 − 2x, exact there "
    "by Sterbenz) rounds once before log1p, whose argument is ≥ 0: a few ULP at every ratio; as written where "
    "a or b ≤ 0, inf or NaN, a clamp max(c, log a) is on or the quotient overflows", local=_log_difference)
_register(LOG_DIFFERENCE)
__all__ += ["LOG_DIFFERENCE"]

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
_register(EXP_COLLECT, COSH_SQUARE)
__all__ += ["EXP_COLLECT", "COSH_SQUARE"]

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
_register(COSH_SQUARE_SUM)
__all__ += ["COSH_SQUARE_SUM"]


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
_register(COLLECT_POLE)
__all__ += ["COLLECT_POLE"]


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


RULES += (
    Rule("two-sum", "e^(a − b) turns the rounding of a − b into a relative error of up to |a − b|·ε/2 "
         "(the gradient of log(e^a + e^b), e^(b − m)/Σ e^(a_i − m): 384 ulp at a = 709, b = 1.72 in float64); "
         "with s + e = a − b exactly (Knuth's TwoSum), e^s·(1 + e) is exact to first order in e (so is "
         "the sigmoid of a − b, from the same s and e; and logaddexp's e^−|a − b| as e^(min(a, b) − max(a, b)))",
         apply=_two_sum, fired=lambda old, new: new != old),
)
_BY_NAME["two-sum"] = RULES[-1]


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
        rest = [t for t in node.args if t != 0]
        pairs = [_two_operands(t) for t in rest]
        if all(p is not None and p[1].could_extract_minus_sign() for p in pairs) and len({p[1] for p in pairs}) == 1:
            return sp.Max(0, *[_gap(y, -mx) for y, mx in pairs])
    return None


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
    "where torch's autograd gives NaN)", apply=_infinite_shift, fired=lambda old, new: new != old)
_register(INFINITE_SHIFT)
__all__ += ["INFINITE_SHIFT"]


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
    "is kept", apply=_shifted_sum_crossing, fired=lambda old, new: new != old)
_register(SHIFTED_SUM_CROSSING)
__all__ += ["SHIFTED_SUM_CROSSING"]


# ------------------------------------------------------------------ rational-function (issue 16: a user's rational
# activation (x² + 1)/(x² + 3x + 5): its derivative's numerator P′Q − PQ′ cancels (float32 5.3e7 ULP at x = 2.4e16)
# and x² overflows (float64 NaN, inf/inf, at |x| > 1.3e154)); tested in tests/test_rational18.py

_RATIONAL_HEADROOM = 120  # log2 of the largest |x|^k·|c| the near form may build: float32's 2¹²⁸, 2⁸ spare


def _rational_parts(node):
    """(x, N, [(Q_i, e_i)], c) with node = c·N/∏Q_i^e_i, N and each Q_i a Poly in x with rational or float
    coefficients (N expanded: P′Q − PQ′'s leading terms cancelled exactly), for a node that is a rational
    function of one real input x, built of sums, products and whole powers only, whose denominator is not a
    number; None otherwise."""
    if not isinstance(node, sp.Expr) or node.is_number or isinstance(node, (sp.Symbol, Grouped)):
        return None
    symbols = node.free_symbols
    if len(symbols) != 1:
        return None
    (x,) = symbols
    if not isinstance(x, sp.Symbol) or not x.is_real:
        return None
    for n in sp.preorder_traversal(node):
        if not (n.is_Add or n.is_Mul or n == x or n.is_Number
                or (n.is_Pow and n.exp.is_Integer)):
            return None
    num, den = sp.fraction(sp.cancel(sp.together(node)))
    if not den.has(x):
        return None
    c, factors = sp.factor_list(den, x)
    N = sp.Poly(num, x)
    Qs = [(sp.Poly(q, x), e) for q, e in factors]
    return x, N, Qs, c


def _horner(coefficients, v):
    """c_0 + v·(c_1 + v·(… + v·c_k)), each sum kept as one factor (SymPy would distribute a number)."""
    h = sp.S(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        h = Grouped(c + v * h) if c != 0 else v * h
    return h


def _rational_function(node):
    """c·N(x)/∏Q_i(x)^e_i (:func:`_rational_parts`) → Piecewise((near, |x| < T), (far, True)): near, N and each
    Q_i by Horner in x; far, (x^d)·Ñ(t)/∏Q̃_i(t)^e_i with t = 1/x, Ñ(t) = t^n·N(1/x) and Q̃_i likewise (Horner in
    t, the reversed coefficients: each → its leading coefficient as |x| → ∞) and d = n − Σe_i·m_i applied as d
    products by x (d divisions where d < 0) after the quotient, so nothing overflows or underflows before
    the result does. Near and far, N and the Q_i factored over the rationals and a factor with a real root widened
    (far: its Horner in 1/x, 1/x a double-word quotient). T = 2^⌊min (120/e − log2|c_i|)/i⌋ over the terms c_i·x^i
    (i ≥ 1) of N (e = 1) and of each Q_j^e: each term stays below 2¹²⁰ (float32's range is 2¹²⁸). Fires only where
    k ≥ 2, k the largest degree of N or a Q_i^e_i (x² can overflow); checked exact (SymPy's cancel of the
    difference) before it fires."""
    parts = _rational_parts(node)
    if parts is None:
        return None
    x, N, Qs, c = parts
    if all(len(q.terms()) == 1 for q, _ in Qs):
        return None  # c·N/x^m: no sum to cancel in Q, and its powers are the scaled-power and power rules'
    n = N.degree()
    k = max([n] + [q.degree() * e for q, e in Qs])
    if k < 2 or n < 0:
        return None
    # T from each term c_i·x^i of N and of each Q_j^e_j: |c_i|^e·|x|^(i·e) < 2¹²⁰ below T (a constant term, however
    # large, takes no power of x: (x² − 10²⁰)/(x + 1) keeps its root 10¹⁰ inside, where one bound from the largest
    # coefficient, 2^⌊(120 − 67)/2⌋ = 2²⁶, put it in the far form: 1.5e15 ULP in float64)
    logs = [(_RATIONAL_HEADROOM / e - math.log2(abs(float(v)))) / i
            for p, e in [(N, 1)] + Qs for i, v in enumerate(reversed(p.all_coeffs())) if i and v != 0]
    T = sp.S(2) ** max(1, math.floor(min(logs)))
    # a factor with a real root r cancels near r as Horner computes it (a pole: x·x − 2 at x = fl(√2), 2.3e15 ULP in
    # float64; a zero: 2x³ − x + 1 at x = −1.00000001, 2.4e7 ULP): N and Q factored over the rationals (SymPy's
    # factor_list), each factor with a real root computed as the widen rule computes a sum (double-word in float64,
    # float64 in float32), x itself as it is (exact)
    def factored(factors):
        return sp.Mul(*[(widen(h) if q.count_roots() and q.as_expr() != x else h) ** e
                        for (q, e), h in ((qe, _horner(list(reversed(qe[0].all_coeffs())), x)) for qe in factors)])

    cN, Nfactors = sp.factor_list(N.as_expr(), x)
    near_num = cN * factored([(sp.Poly(q, x), e) for q, e in Nfactors])
    near_den = factored(Qs)
    t = 1 / Grouped(x)  # x kept as one factor: no negative power of the input (removable-series' sign of a pole)

    # far, t^m·q(1/x) by Horner in t (the coefficients from the leading one down); a factor with a real root
    # (beyond T: x − 10³⁰ over x² + 1, 3.7e16 ULP at x = 10³⁰ as 1 − 10³⁰·t, t = 1/x rounded) widened, 1/x in it
    # a double-word quotient
    def reversed_factored(factors):
        return sp.Mul(*[(widen(_horner(q.all_coeffs(), 1 / x)) if q.count_roots() and q.as_expr() != x
                         else _horner(q.all_coeffs(), t)) ** e for q, e in factors])

    far_num = cN * reversed_factored([(sp.Poly(q, x), e) for q, e in Nfactors])
    far_den = reversed_factored(Qs)
    d = n - sum(q.degree() * e for q, e in Qs)
    near = Grouped(c ** -1 * near_num / near_den) if c != 1 else near_num / near_den
    far = Grouped(far_num / far_den)
    if c != 1:
        far = Grouped(c ** -1 * far)
    for _ in range(abs(d)):
        far = Grouped(far * x) if d > 0 else Grouped(far * t)  # far/x (t = 1/x is not formed twice)
    out = sp.Piecewise((near, sp.Abs(x) < T), (far, True))
    plain = lambda e: unwiden(e).replace(lambda m: isinstance(m, Grouped), lambda m: m.args[0])  # noqa: E731
    if sp.cancel(plain(near) - node) != 0 or sp.cancel(plain(far) - node) != 0:
        return None  # not exact: keep the written form
    return out


def _rational_functions(expr):
    """``expr`` rewritten by :func:`_rational_function` where the whole of it (an output, after the node-by-node
    rules) is a rational function of one input; as it is otherwise. Not its parts: a rational part of another
    formula (1/(x(1 + x)) in log1p(x)/x²′) is the removable-series and power-quotient rules' to rewrite, whose
    forms are measured on it as written."""
    if not isinstance(expr, sp.Expr):
        return expr
    new = _rational_function(expr)
    return expr if new is None else new


RATIONAL_FUNCTION = Rule(
    "rational-function", "a quotient P/Q of polynomials in one input x, as written, cancels and overflows: the "
    "derivative's numerator P′Q − PQ′ loses its leading terms to cancellation ((x² + 1)/(x² + 3x + 5)′ in "
    "float32: 5.3e7 ULP at x = 2.4e16) and x² overflows where P/Q is finite (float64 inf/inf = NaN from "
    "|x| = 1.3e154). Put over one denominator with the numerator expanded (SymPy's cancel: the leading terms "
    "cancel exactly, 3x² + 8x − 3 over (x² + 3x + 5)²), each polynomial by Horner, factored over the rationals, a factor "
    "with a real root (a zero or a pole: 2x³ − x + 1 at x = −1.00000001, 2.4e7 ULP in float64; x² − 2 at fl(√2), "
    "2.3e15) computed as the widen rule computes a sum (double-word in float64, float64 in float32); past |x| = T (each "
    "term c_i·x^i of P and of Q_j^e below 2¹²⁰, a constant term however large not counted) in t = 1/x, (P/x^k)/(Q/x^k) "
    "by Horner in t → the ratio of leading coefficients, times x (or over x) once per degree of difference after the "
    "quotient: no intermediate overflows in float32 or float64 before the result does; a factor with a real root "
    "widened there too, 1/x in it a double-word quotient ((x − 10³⁰)/(x² + 1) at 10³⁰ was 1 − 10³⁰·t: 3.7e16 ULP)",
    apply=_rational_functions, fired=lambda old, new: new != old)
_register(RATIONAL_FUNCTION)
__all__ += ["RATIONAL_FUNCTION"]


# ------------------------------------------------------------------ root-series (issue 16: silu′, mish′,
# gelu′, gelu_tanh′ cancel at their simple real root); the analysis is in roots.py, tested in
# tests/test_root_series.py

def _root_series(expr):
    """f of one variable x with a simple real root r where its written form cancels →
    Piecewise((RootSeries(d, f, P's coefficients), |d| < w), (f, True)), d = ((x − r1) − r2) − r3."""
    from .roots import RootSeries, as_written, cancelling_roots

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
    plain = expr.replace(lambda n: isinstance(n, WidenedBase), lambda n: n.expanded)
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
    from .roots import vanishes_at

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
    "worse than torch + 0.5 at 1 to 2 of 400 points, 1.48 where torch is 0.48; the widened form 0.5 there)",
    apply=_root_series, fired=lambda old, new: new != old)
_register(ROOT_SERIES)
__all__ += ["ROOT_SERIES"]


# ------------------------------------------------------------------ scaled-square (issue 16: the Gaussian NLL
# (x − t)²/v overflows float64 at |x − t| > 1.3e154 where the loss is finite); tested in tests/test_loss_accuracy6.py


_SCALED_FROM = 2 ** 60  # |x − t| from which d² is not formed (d² < 1.4e36: finite in float32)


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
    from .roots import as_written, cancelling_roots

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
    from .roots import RootSeries

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
_register(SILU_SLOPE, PRODUCT_ROOT_SERIES, PRODUCT_PAIR)
__all__ += ["SILU_SLOPE", "PRODUCT_ROOT_SERIES", "PRODUCT_PAIR"]


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
    from .roots import CentredSeries, centred_coefficients

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
_register(MISH_SLOPE, MISH_SERIES)
__all__ += ["MISH_SLOPE", "MISH_SERIES"]


def _gelu_tanh_slope(node):
    """S(u) + u·S′(u) (GELU-tanh′, S = ndtr_tanh, S′ = ndtr_tanh_pdf), among the terms of a sum →
    ndtr_tanh_slope(u), whose helpers compute it for u < −1/4 in double-word arithmetic where it matters."""
    if not node.is_Add:
        return None
    from ..special import ndtr_tanh, ndtr_tanh_pdf, ndtr_tanh_slope

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
_register(GELU_TANH_SLOPE)
__all__ += ["GELU_TANH_SLOPE"]


def _gelu_tanh_written(node):
    """GELU-tanh written out: σ(±v(u)), v(u) = 2√(2/π)·(u + 0.044715·u³) (the sigmoid rule's form of
    (1 + tanh(v/2))/2) → ndtr_tanh(±u); c·σ(v)·σ(−v) with c = q·v′(u) → q·ndtr_tanh_pdf(u) (the sech² rule's
    form of its derivative). Then the registry's gelu_tanh rules and helpers apply (gelu-tanh-slope, v in
    double-word arithmetic)."""
    from ..special import _tanh_cdf_argument, ndtr_tanh, ndtr_tanh_pdf

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
_register(GELU_TANH_WRITTEN)
__all__ += ["GELU_TANH_WRITTEN"]


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
_register(LOG1P_ERF)
__all__ += ["LOG1P_ERF"]


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
_register(QUOTIENT_BY_FACTORS)
__all__ += ["QUOTIENT_BY_FACTORS"]


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
_register(POWER_MERGE)
__all__ += ["POWER_MERGE"]


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


def _power_parts(f):
    """(base, exponent) of a factor: B^k for B^k with k a whole number, (B, 1) for B itself."""
    if f.is_Pow and f.exp.is_Integer:
        return f.base, int(f.exp)
    return f, 1


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
# ------------------------------------------------------------------ product over sum (issue 16: x·y/(x + y), the
# harmonic-mean and parallel-resistor form, and its ∂x = y²/(x + y)²); tested in tests/test_harm23.py


_SUM_COEFFICIENT = 2 ** 30  # a sum's coefficients within 2^±30: c_i·s_i over- or underflows only near the range ends


def _linear_sum(V):
    """{s_i: c_i} for V = Σ c_i·s_i, at least two terms, s_i distinct inputs, c_i rational within 2^±30; else None."""
    if not V.is_Add or len(V.args) < 2:
        return None
    parts = {}
    for term in V.args:
        c, s = term.as_coeff_Mul()
        if not s.is_Symbol or not c.is_Rational or s in parts \
                or not 1 / _SUM_COEFFICIENT <= abs(c) <= _SUM_COEFFICIENT:
            return None
        parts[s] = c
    return parts


def _sum_unit(f, inputs) -> bool:
    """Whether the factor base ``f`` is an input of the sum or a linear sum of its inputs only (y + z, x + y + z)."""
    if f.is_Symbol:
        return f in inputs
    return _linear_sum(f) is not None and f.free_symbols <= inputs


def _reciprocal_sum(args):
    """c·N/(c₁/a + c₂/b)^k → c·N·(a·b)^k/(c₁·b + c₂·a)^k (a, b inputs): the harmonic form 1/(1/x + 1/y) and its
    derivatives 1/(x²·(1/y + 1/x)²), as a product over a linear sum (1/x overflows at x = 5e−324); else None."""
    sums = [f for f in args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add
            and len(f.base.args) == 2]
    for down in sums:
        parts = [t.as_coeff_Mul() for t in down.base.args]
        if not all(p.is_Pow and p.exp == -1 and p.base.is_Symbol and c.is_Rational for c, p in parts):
            continue
        (c1, a), (c2, b) = [(c, p.base) for c, p in parts]
        if a == b:
            continue
        k = -down.exp
        rest = sp.Mul(*[f for f in args if f is not down])
        return rest * (a * b) ** k * (c1 * b + c2 * a) ** -k
    return None


def _reciprocal_sum_scaled(args):
    """c·∏ s_j^(−e_j)/W^k, W = Σ c_i/s_i over three inputs or more (parallel resistors 1/(1/x + 1/y + 1/z)),
    Σ e_j = k or (k = 1, no s_j): per smallest input s_m (a select over which that is), with D = Σ c_i·(s_m/s_i),
    c·∏ ((s_m/s_j)/D) or c·s_m/D. Each s_m/s_i is at most 1 in magnitude, and D lies in [c_m, Σ c_i] where the
    terms have one sign, so nothing leaves the range where the result does not (1/x is inf at x = 5e−324; the
    written ∂x, 1/(x²·W²), is 1/(inf·0) = NaN at x = y = z = 1e200, truth 1/9); else None."""
    sums = [f for f in args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add
            and len(f.base.args) >= 3]
    for down in sums:
        parts = [t.as_coeff_Mul() for t in down.base.args]
        if not all(p.is_Pow and p.exp == -1 and p.base.is_Symbol and c.is_Rational and c != 0 for c, p in parts):
            continue
        coefficients = {p.base: c for c, p in parts}
        if len(coefficients) < len(parts):
            continue
        k, powers, others = int(-down.exp), [], []
        for f in args:
            if f is down:
                continue
            base, e = _power_parts(f)
            if base in coefficients and e < 0:
                powers += [base] * -e
            elif f.free_symbols & set(coefficients):
                return None
            else:
                others.append(f)
        if k > 8 or not (len(powers) == k or (k == 1 and not powers)):
            return None
        c, rest = sp.Mul(*others).as_coeff_Mul()
        inputs = list(coefficients)
        pieces = []
        for j, m in enumerate(inputs):
            # in double-word: where the terms have both signs D cancels (5–7 ULP in float64 otherwise)
            D = widen(sp.Add(*[coefficients[i] * (1 if i == m else m / i) for i in inputs]))
            if powers:
                running = None
                for s_j in powers:
                    q = Grouped((1 if s_j == m else Grouped(m / s_j)) / D)
                    running = q if running is None else Grouped(running * q)
            else:
                running = Grouped(m / D)
            cond = sp.And(*[sp.Abs(m) <= sp.Abs(i) for i in inputs[j + 1:]]) if j < len(inputs) - 1 else sp.true
            pieces.append((rest * (running if c == 1 else c * running), cond))
        return sp.Piecewise(*pieces)
    return None


def _product_sum(E):
    """{s_i: c_i} for E = Σ c_i·∏_{j≠i} s_j over three inputs or more (xy + xz + yz: E = x·y·z·Σ c_i/s_i), else None."""
    if not E.is_Add or len(E.args) < 3:
        return None
    inputs = set().union(*(t.free_symbols for t in E.args))
    if len(inputs) != len(E.args) or not all(s.is_Symbol for s in inputs):
        return None
    parts = {}
    for term in E.args:
        c, m = term.as_coeff_Mul()
        factors = sp.Mul.make_args(m)
        if not c.is_Rational or not all(f.is_Symbol for f in factors) or len(set(factors)) != len(inputs) - 1:
            return None
        (left,) = inputs - set(factors)
        parts[left] = c
    return parts if len(parts) == len(inputs) else None


def _over_product_sum(node):
    """``node`` with E^−k, E = x·y·z·W a product sum (:func:`_product_sum`), written (x·y·z)^−k·W^−k, W = Σ c_i/s_i
    (the three resistors x·y·z/(xy + xz + yz) as 1/W); a sum whose terms all hold E^−k as one fraction first (their
    ∂x, y·z·(−x·z/E² + (x·z + y·z)/E²), is y²z²/E²); else None."""
    if node.is_Add:
        downs = {f for f in sp.Mul.make_args(node.args[0]) if f.is_Pow and f.exp.is_Integer and f.exp < 0
                 and _product_sum(f.base)}
        if len(downs) == 1 and all(next(iter(downs)) in sp.Mul.make_args(t) for t in node.args):
            together = sp.together(node)
            return together if together.is_Mul else None
        return None
    for f in sp.Mul.make_args(node):
        if f.is_Pow and f.exp.is_Integer and f.exp < 0 and _product_sum(f.base):
            parts = _product_sum(f.base)
            W = sp.Add(*[c / s for s, c in parts.items()])
            rest = sp.Mul(*[g for g in sp.Mul.make_args(node) if g is not f])
            return rest * sp.Mul(*parts) ** f.exp * W ** f.exp
    return None


def _product_over_sum(node):
    """c·U/V^k → c·p₁·(u₁/V)·p₂·(u₂/V)·…: V = Σ c_i·s_i a sum of two inputs or more (c_i rational within 2^±30),
    U a product of d units, k ≤ d ≤ k + 3 (d ≥ 2, k ≤ 8), each an input of V or a sum of V's inputs (y + z over
    x + y + z), at most three distinct. Branch by branch of a Piecewise over the units' order by magnitude, the k
    largest units are over V and the rest (p₁ ≥ p₂ ≥ …) multiplied in, the largest first. The inputs are scaled by
    2^−m, 2^m ≥ Σ|c_i|, in the quotients where an |s_i| > 2⁶⁰ (V may overflow; the quotients do not change). The
    reciprocal sum c₁/a + c₂/b is first written (c₁·b + c₂·a)/(a·b) (:func:`_reciprocal_sum`); one of three inputs
    or more is scaled by its smallest input instead (:func:`_reciprocal_sum_scaled`).

    U and V^k leave the range where U/V^k does not (float64 x·y/(2x + y) at x = y = −1e−300: x·y = −0, truth
    −3.3e−301; ∂y of x²y²/(x + y)², 2x³y/(x + y)³, at (1e−30, 1e−300): x³y = 0, truth 2e−300; x·y·z/(x + y + z) at
    x = y = z = −1.797e308: x + y + z = −inf). Where V's terms have one sign, each u/V is at most 1/|c_u| in
    magnitude (a partial sum's too), and the quotient of the largest unit at least 1/Σ|c_i|, so the running
    product stays between the plain units and the result, and u/V is subnormal only where the result is; where
    they cancel, the quotients and the result grow together. Each branch equals c·U/V^k as rational functions
    (tests/test_harm25.py checks it symbolically); its roundings are as many as U/V^k's or fewer."""
    if node.is_Add:
        together = _over_product_sum(node)
        return _Final(_Fired(together, [])) if together is not None else None
    if not (node.is_Mul or node.is_Pow):
        return None
    args = sp.Mul.make_args(node)
    sums = [f for f in args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and _linear_sum(f.base)]
    if len(sums) != 1:
        # alone, 1/W only: the walk meets W^−2 before 1/(x²·W²) (∂x of 1/W), whose x² it would leave outside
        alone = not sums and (node.is_Mul or node.exp == -1)
        written = _over_product_sum(node) if alone else None
        scaled = _reciprocal_sum_scaled(sp.Mul.make_args(written) if written is not None else args) if alone else None
        if scaled is not None:
            return _Final(_Fired(scaled, ["product-over-sum"]))
        swapped = _reciprocal_sum(args) if alone else None
        return _product_over_sum(swapped) if swapped is not None and swapped.is_Mul else None
    (down,) = sums
    V, k = down.base, int(-down.exp)
    coefficients = _linear_sum(V)
    inputs = set(coefficients)
    c, rest = sp.Mul(*[f for f in args if f is not down]).as_coeff_Mul()
    units, others = [], []
    for f in sp.Mul.make_args(rest):
        base, e = _power_parts(f)
        if e >= 1 and _sum_unit(base, inputs):
            units += [base] * e
        elif f.free_symbols & inputs:
            return None
        else:
            others.append(f)
    if len(units) < max(2, k) or len(units) > k + 3 or k > 8 or len(set(units)) > 3:
        return None
    others = sp.Mul(*others)
    m = max(1, int(sp.ceiling(sp.log(sum(abs(v) for v in coefficients.values()), 2))))
    scale = {s: Grouped(s / sp.Integer(2) ** m) for s in inputs}
    scaled_V = V.xreplace(scale)
    big = sp.Or(*[sp.Abs(s) > _SCALED_FROM for s in sorted(inputs, key=sp.default_sort_key)])

    def quotient(u):  # one select per unit, shared by the branches (not a copy of each branch per scale)
        return sp.Piecewise((Grouped(u / V), ~big), (Grouped(u.xreplace(scale) / scaled_V), True))

    def form(plain, quotients):
        """The largest plain unit, then quotients and plain units in turn (their running product stays between
        the plain units' sizes and the result's), the quotients of the largest units; the quotients alone where
        there is no plain unit."""
        running = plain[0] if plain else quotient(quotients[0])
        rest = [(u, True) for u in (quotients if plain else quotients[1:])]
        later = [(u, False) for u in plain[1:]]
        steps = [step for pair in itertools.zip_longest(rest, later) for step in pair if step is not None]
        for u, over in steps:
            running = Grouped(running * (quotient(u) if over else u))
        return others * (running if c == 1 else c * running)

    # one branch for each order of the distinct units by magnitude (the last where none before holds); orders with
    # one form (the same plain units in the same order, the same quotients) share a branch
    orders = list(itertools.permutations(dict.fromkeys(units))) if len(units) > k else [tuple(units)]
    forms: dict = {}
    for n, ranked in enumerate(orders):
        descending = sorted(units, key=ranked.index)
        cond = sp.And(*[sp.Abs(u) >= sp.Abs(v) for u, v in zip(ranked, ranked[1:])]) if n < len(orders) - 1 \
            else sp.true
        key = (tuple(descending[k:]), tuple(sorted(descending[:k], key=sp.default_sort_key)))
        forms[key] = forms.get(key, sp.false) | cond
    pieces = [(form(plain, quotients), cond) for (plain, quotients), cond in forms.items()]
    pieces[-1] = (pieces[-1][0], sp.true)
    out = sp.Piecewise(*pieces)
    return _Final(_Fired(out, ["product-over-sum"]))


def _products_over_sums(expr):
    """Every product of ``expr`` that :func:`_product_over_sum` rewrites, rewritten."""
    if not isinstance(expr, sp.Basic):
        return expr
    return _replaced(expr, lambda n: isinstance(n, (sp.Mul, sp.Pow, sp.Add)) and _product_over_sum(n) is not None,
                     lambda n: _product_over_sum(n).expr.expr)


PRODUCT_OVER_SUM = Rule(
    "product-over-sum", "a·b/(a ± b) forms a·b, which leaves the range where the quotient does not (float32 "
    "x·y/(x + y) at x = y = −1e−30: x·y = −0, truth −5e−31; at x = y = −3.4e38: inf/−inf = NaN), and its ∂a, "
    "b²/(a + b)², forms (a + b)² (0 at x = y = −1e−30: inf, truth 0.25); likewise a product of powers of the "
    "inputs over a power of their sum with rational coefficients, of three inputs or more, or of reciprocals "
    "(float64 x·y/(2x + y) at x = y = −1e−300: −0, truth −3.3e−301; ∂y of x²y²/(x + y)², 2x³y/(x + y)³, 0 at "
    "(1e−30, 1e−300), truth 2e−300; ∂x of 1/(1/x + 1/y) 0 at x = y = 1e200, truth 0.25); as the smaller terms "
    "times quotients of the larger by the sum (b·(a/V) with |b| ≤ |a|, (b/V)², x·(x/V)·(y/V)), each at most 1 "
    "in magnitude where the sum's terms have one sign, as many roundings or fewer, the inputs scaled by a power "
    "of 2 where the sum could overflow",
    apply=_products_over_sums, fired=lambda old, new: new != old)
# whole-expression rules, before the widen rule (which then computes the rewritten form in float64 in a
# float32 kernel). Run node by node, scaled-square would rewrite d²/V inside (1 − d²/V)/(2V), the Gaussian
# NLL's ∂v as differentiated, before the rules above distribute it into d²/(2V²) and 1/(2V), where (d/V)²
# applies; power-product would hide t² from the collect rule
_at = RULES.index(WIDEN)
RULES = RULES[:_at] + (PRODUCT_OVER_SUM, SCALED_SQUARE, SCALED_POWER, POWER_PRODUCT) + RULES[_at:]
_BY_NAME[SCALED_SQUARE.name] = SCALED_SQUARE
_BY_NAME[PRODUCT_OVER_SUM.name] = PRODUCT_OVER_SUM
_BY_NAME[POWER_PRODUCT.name] = POWER_PRODUCT
_BY_NAME[SCALED_POWER.name] = SCALED_POWER
__all__ += ["PRODUCT_OVER_SUM", "SCALED_SQUARE", "SCALED_POWER", "POWER_PRODUCT"]


# ------------------------------------------------------------------ infinite-limit (issue 16: silu, mish, gelu,
# gelu_tanh, softsign and their derivatives are NaN at x = ±inf); tested in tests/test_stability8.py

_FLT_MAX = 3.4028234663852886e38  # float32's largest: x > it is x = +inf in float32, |x| > 3.4e38 in float64
# The bounds a limit branch may start at: float32's largest, or a power of 2 below it where the form overflows
# before it (x·σ(2x): 2x is inf in float32 from 1.7e38 on, and σ(−2x)·2x then inf·0)
_LIMIT_BOUNDS = tuple(sp.Float(_FLT_MAX / 2 ** k, 17) for k in range(11))
_LIMIT_BOUND = _LIMIT_BOUNDS[0]


def _limit_at(expr, x, sign, bound=_FLT_MAX):
    """The limit of ``expr`` at x = sign·inf as a float, where its exact value (mpmath at 50 digits) is that
    float to float64's rounding from |x| = ``bound`` (float32's largest, or a power of 2 below it) on, else
    None: the branch x > bound of a float64 kernel holds finite x too."""
    from ..verify.evaluate import mp_value

    try:
        with mpmath.workdps(50):
            values = [mp_value(expr, {x: sign * mpmath.mpf(v)}) for v in (bound, "1e60", "1e150")]
    except (ArithmeticError, ValueError, TypeError):  # mpmath's erfc from 1e200 on: no limit taken
        return None
    if any(mpmath.isnan(v) or mpmath.isinf(v) for v in values):
        return None
    limit = values[-1]
    if abs(limit) < mpmath.mpf(2) ** -1080:
        return 0.0 if all(abs(v) < mpmath.mpf(2) ** -1080 for v in values) else None
    if abs(limit) > mpmath.mpf("1e300") or any(abs(v - limit) > mpmath.mpf(2) ** -60 * abs(limit) for v in values):
        return None
    return float(limit)


# −0.0 as the printers print it (repr(float(−1e−400))): a limit of 0 reached from below (_infinite_limits)
_NEGATIVE_ZERO = sp.Float("-1e-400", 17)


@functools.lru_cache(maxsize=256)  # the code generator, --stable and verify stabilise one output several times
def _infinite_limits(expr):
    """f(x) of one variable whose generated form is NaN at x = +inf or −inf (0·inf, inf/inf: x·σ(x) at −inf,
    x/(1 + |x|) at +inf) and has a finite limit there → Piecewise((L+, x > 3.4e38), (f, True)), the same at
    −inf, or at both Piecewise(((L+ + L−)/2 + (L+ − L−)/2·sign(x), |x| > 3.4e38), (f, True)): one select."""
    from .roots import _float_probe

    if not isinstance(expr, sp.Expr) or expr.has(sp.Indexed) or len(expr.free_symbols) != 1:
        return expr
    (x,) = expr.free_symbols
    if not isinstance(x, sp.Symbol):
        return expr
    import numpy as np

    # a widened node (the root-series rule's reach past its window, √x/log1p(x)′ or x·σ(2x)′) is its body
    # computed more precisely; what is NaN at ±inf is the branch selected there, probed and limited as written
    # (skipping every form holding one left x·σ(2x)′ NaN at x = −1.7e308 in float64 once the root-series rule
    # widened its reach, where the silu-slope form's (1 + 2x) + e^(2x) is −inf times e^(2x) = 0)
    written = unwiden(expr)
    probe = _float_probe(without_ite(_share_sigmoid_pairs(written)), x)
    nan = np.zeros(2, bool)
    for dtype in (np.float32, np.float64):
        nan |= np.isnan(probe(np.array([np.inf, -np.inf], dtype)))
    if not nan.any():
        return expr
    # NaN toward the infinity alone: finite, in float32 and float64, at float32's largest or at a power of 2
    # below it where an intermediate (2x in x·σ(2x)) overflows first; log x at x = −1e30 is NaN: no limit
    bounds = [None, None]
    for b in _LIMIT_BOUNDS:
        at = np.array([float(b), -float(b)])
        finite = np.isfinite(probe(at.astype(np.float32))) & np.isfinite(probe(at))
        for side in (0, 1):
            if nan[side] and bounds[side] is None and finite[side]:
                bounds[side] = b
    firing = [b for b in bounds if b is not None]
    if not firing:
        return expr
    bound = min(firing)
    limits = [_limit_at(written, x, sign, float(bound)) if b is not None else None for b, sign in zip(bounds, (1, -1))]
    # a zero limit keeps the sign the form has at the bound in float64 (gelu, silu, mish: x·(something > 0) at
    # x = −3.4e38 is −0, as torch and the true value's sign say; hardswish's x·0 too): SymPy has no −0, so a
    # negative zero is a number below float64's smallest subnormal, which the printers print as −0.0
    edge = probe(np.array([float(bound), -float(bound)]))
    up, down = [None if v is None else sp.Float(v) if v else _NEGATIVE_ZERO if np.signbit(e) else sp.S.Zero
                for v, e in zip(limits, edge)]
    if up is not None and down is not None and _NEGATIVE_ZERO in (up, down):
        return sp.Piecewise((up, x > bound), (down, x < -bound), (expr, True))
    if up is not None and down is not None:  # one select: (L+ + L−)/2 + (L+ − L−)/2·sign(x), exact at ±1
        return sp.Piecewise(((up + down) / 2 + (up - down) / 2 * sp.sign(x), sp.Abs(x) > bound), (expr, True))
    if up is not None:
        return sp.Piecewise((up, x > bound), (expr, True))
    if down is not None:
        return sp.Piecewise((down, x < -bound), (expr, True))
    return expr


def without_infinite_limits(expr):
    """``expr`` with the infinite-limit rule's branches (x > 3.4e38, x < −3.4e38) taken out: what it computes
    at every finite float32, and at float64's up to ±3.4e38."""
    bounds = _LIMIT_BOUNDS + (_DBL_MAX,)  # and the input-infinite-limit rule's x = ±inf (beyond ±1.8e308)

    def limit_branch(c) -> bool:  # x beyond a bound, or that and more (exp-minus-limit's u < −3.4e38 ∧ c = 0)
        if isinstance(c, (sp.And, sp.Or)):  # (SymPy joins the input-infinite-limit rule's equal limits with Or)
            return any(limit_branch(a) for a in c.args)
        return isinstance(c, (sp.StrictGreaterThan, sp.StrictLessThan)) and (c.rhs in bounds and c.rel_op == ">"
                                                                            or -c.rhs in bounds and c.rel_op == "<")

    def strip(pw):
        pieces = [(e, c) for e, c in pw.args if not limit_branch(c)]
        return pieces[0][0] if len(pieces) == 1 and pieces[0][1] == sp.true else sp.Piecewise(*pieces)

    return expr.replace(lambda n: isinstance(n, sp.Piecewise) and any(limit_branch(c) for _, c in n.args), strip)


INFINITE_LIMIT = Rule(
    "infinite-limit", "f(x) at x = ±inf where its form is 0·inf or inf/inf: silu x·σ(x), mish x·tanh(softplus x), "
    "gelu x·Φ(x) at −inf and their derivatives at ±inf (x·σ(x)σ(−x) at +inf), softsign x/(1 + |x|) at ±inf are "
    "NaN, the limits 0, 1 or ±1 (torch's silu, gelu and mish give NaN too); where the generated form, measured "
    "in float32 and float64, is NaN at ±inf and the exact value (mpmath at 50 digits) is one float L to "
    "float64's rounding from |x| = 3.4e38 on, a select returns L for x beyond ±3.4e38 (float32's largest: "
    "only ±inf in float32), or beyond the power of 2 below it where the form is still finite in both dtypes "
    "when an intermediate overflows first (x·σ(2x): 2x is inf in float32 from 1.7e38 on, then inf·0)", apply=_infinite_limits, fired=lambda old, new: new != old)
_register(INFINITE_LIMIT)
__all__ += ["INFINITE_LIMIT", "without_infinite_limits"]


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
_register(SOFTPLUS_FACTOR)
_LOCAL = (_softplus_factor,) + _LOCAL[:-1]  # before collect, which would take two of the terms
__all__ += ["SOFTPLUS_FACTOR"]

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
    apply=lambda expr: _top_down(expr, _softplus_scale), fired=lambda old, new: new != old)
_register(SOFTPLUS_SCALE)
__all__ += ["SOFTPLUS_SCALE"]


# ------------------------------------------------------------------ rounded-argument (issue 16: e^v and σ(v) of a
# v that the generated code rounds: GELU-tanh with its decimal constant, σ(0.0714x³ + 1.5958x): 543 ULP in float64
# at x = −20; e^(e^x − u)'s ∂x: 212 ULP at x = 0.3, u = 709); tested in tests/test_rules9.py


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


_ROUNDED_ARGUMENT_FROM = 2  # |v| (e^v), −v (σ(v)) from which v is in double-word
_GAUSSIAN_ARGUMENT_FROM = sp.Rational(1, 2)  # |v| (e^(−v²), e^(−v²/2)) from which v is in double-word


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
    apply=_rounded_arguments, fired=lambda old, new: new != old)
_register(ROUNDED_ARGUMENT)
__all__ += ["ROUNDED_ARGUMENT"]


# ------------------------------------------------------------------ exp-into-sigmoid (issue 16: e^u·(Σ k·e^a·σ(−w)) as
# SymPy factors ∂ of log(e^(2x) + 1) − log(e^x + 1): NaN (inf·0) from x = 709.8; session 30, tests/test_wide30.py)


def _exp_into_sigmoid(node):
    """e^u·(Σ k_i·e^(a_i)·σ(−w_i)) with u + a_i = w_i for every term → Σ k_i·σ(w_i) (e^w·σ(−w) = e^w/(1 + e^w) = σ(w)
    exactly): the factored form overflows e^u where σ(−w) underflows, inf·0 = NaN; or None."""
    if not node.is_Mul:
        return None
    exps = [f for f in node.args if isinstance(f, sp.exp)]
    sums = [f for f in node.args if f.is_Add]
    if len(exps) != 1 or len(sums) != 1 or not sums[0].has(sigmoid):
        return None
    (outer,), (total,) = exps, sums
    terms = []
    for t in total.args:
        factors = sp.Mul.make_args(_EXP_PRODUCT_LIMIT_OF.get(t, t))  # a term exp-product-limit wrote as its product
        sigmoids = [f for f in factors if isinstance(f, sigmoid)]
        inner = [f for f in factors if isinstance(f, sp.exp)]
        if len(sigmoids) != 1:
            return None
        (s,) = sigmoids
        exponent = outer.args[0] + sp.Add(*[f.args[0] for f in inner])
        if sp.expand(exponent + s.args[0]) != 0:
            return None
        rest = [f for f in factors if f is not s and not isinstance(f, sp.exp)]
        if any(f.has(sp.exp) for f in rest):
            return None
        terms.append(sp.Mul(*rest) * sigmoid(-s.args[0]))
    others = [f for f in node.args if f is not outer and f is not total]
    return sp.Mul(*others) * sp.Add(*terms)


EXP_INTO_SIGMOID = Rule(
    "exp-into-sigmoid", "e^u·(Σ k·e^a·σ(−w)) with u + a = w in every term (SymPy's factored form of 2e^(2x)/(e^(2x) + 1) "
    "− e^x/(e^x + 1), ∂ of log(e^(2x) + 1) − log(e^x + 1)) overflows e^u where σ(−w) underflows: NaN (inf·0) from "
    "x = 709.8 in float64, truth 1; each term is k·σ(w) exactly (e^w·σ(−w) = e^w/(1 + e^w)), nothing left to overflow",
    local=_exp_into_sigmoid)
_register(EXP_INTO_SIGMOID)
__all__ += ["EXP_INTO_SIGMOID"]


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
_register(SOFTPLUS_SLOPE)
__all__ += ["SOFTPLUS_SLOPE"]


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
    apply=_rounded_softplus_arguments, fired=lambda old, new: new != old)
_register(ROUNDED_SOFTPLUS_ARGUMENT)
__all__ += ["ROUNDED_SOFTPLUS_ARGUMENT"]
# ------------------------------------------------------------------ removable-series (issue 16: tanh(x)/x′ =
# (1 − tanh²x)/x − tanh(x)/x² cancels without bound as x → 0 and is 0/0 at 0); the analysis is in roots.py
# (removable_fit), tested in tests/test_elem10.py


def _negative_power_of(node, x) -> bool:
    return any(p.base == x and p.exp.is_negative for p in node.atoms(sp.Pow))


def _removable_node(node):
    """node (one free symbol x, written with a negative power of x) → Piecewise((ZeroSeries, |x| < w), (node,
    True)) where its limit at 0 is finite and a window helps (:func:`symnet.codegen.roots.removable_fit`), else None."""
    from .roots import SeriesBase, removable_fit

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
    from .roots import SeriesBase, ZeroSeries, removable_fit

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
        return sp.Piecewise((y ** k * series.xreplace({v: q}), sp.Abs(q) < sp.Float(fit.window)), (node, True))
    return None


def _fitted_series(node, x, fit):
    """node as Piecewise((its series about 0, |x| < window), …): past the window the written form, widened within
    the fit's measured reach where it still cancels beyond the bound (log1p(x)/x′ = 1/(x(1 + x)) − log1p(x)/x²: 7× at
    x = 0.8, 4.7 ULP in float64), as the root-series rule does."""
    from .roots import ZeroSeries

    coefficients = [sp.Float(c, 25) for c in fit.coefficients]
    series = ZeroSeries(x, node, sp.Integer(fit.power), sp.Integer(fit.stride), *coefficients)
    inside = (series, sp.Abs(x) < sp.Float(fit.window))
    if fit.reach == 0:
        return sp.Piecewise(inside, (node, True))
    if math.isinf(fit.reach):
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
    "where its error bound is not within 3u, float64 in float32) and rounded once; a node in two inputs that is "
    "y^k·G(x/y) (atan(x/y)/x and its ∂x, 1/(x·y·(1 + x²/y²)) − atan(x/y)/x²: −5.6e14 for −2.5e−29 at x = 1e−30, "
    "y = 0.3; homogeneity checked at 60 digits) the same, G's series in v = x/y",
    apply=_removable_series, fired=lambda old, new: new != old)
_register(REMOVABLE_SERIES)
__all__ += ["REMOVABLE_SERIES"]
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
_register(ONE_MINUS_COS)
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
_register(HALF_ANGLE_QUOTIENT)
__all__ += ["HALF_ANGLE_QUOTIENT"]
__all__ += ["ONE_MINUS_COS"]
# ------------------------------------------------------------------ log-near-one (session 25: log(1 − cos x) 9 ULP in
# float64 at x = 1.49, torch 0: the one-minus-cos rule's 2·sin²(x/2), rounded three times, beside a log near 0; log(x −
# asinh x) 601 ULP at x = 2.73 (torch the same), where x − asinh x = 1); tested in tests/test_logcos25.py

_NEAR_ONE_LOG = sp.Rational(69, 100)  # |log A| below it: A − 1 in (−0.498, 0.994), log1p's condition below 1.44
_NEAR_ONE_FUNCTIONS = (sp.sin, sp.cos, sp.tan, sp.sinh, sp.cosh, sp.tanh, sp.asinh, sp.atan)
# where A − 1 is probed for a sign change (A crosses 1): ±2^k, k = −4 … 12, and 64 points of [0, 8]
_NEAR_ONE_PROBES = sorted({s * 2.0 ** k for k in range(-4, 13) for s in (1, -1)} | {i / 8 for i in range(1, 65)}
                          | {-i / 8 for i in range(1, 65)})


def _crosses_one(d, x) -> bool:
    """d = A − 1 (one input x) changes sign at the probes (30 digits; a probe mpmath cannot evaluate is skipped)."""
    from ..verify.evaluate import mp_value

    signs = set()
    with mpmath.workdps(30):
        for p in _NEAR_ONE_PROBES:
            try:
                v = mp_value(d, {x: mpmath.mpf(p)})
            except Exception:  # noqa: BLE001 - outside the domain (asinh is everywhere; a log of the sum is not)
                continue
            if isinstance(v, mpmath.mpf) and mpmath.isfinite(v) and v != 0:
                signs.add(v > 0)
    return len(signs) == 2


def _log_near_one_node(node):
    """log(A), A a sum of one input holding a trigonometric or hyperbolic function that crosses 1 → {log1p(A − 1) where
    −1/2 < A − 1 < 1; log A elsewhere}, A − 1 simplified as a sum (1 − cos x − 1 = −cos x) and, where it keeps two
    terms or more, widened (rounded once), where |log A| < 0.69; None where the rule does not apply."""
    if not isinstance(node, sp.log) or not node.args[0].is_Add:
        return None
    a = node.args[0]
    symbols = a.free_symbols
    if len(symbols) != 1 or not a.has(*_NEAR_ONE_FUNCTIONS) or a.has(sp.Piecewise, WidenedBase, sp.Indexed):
        return None
    (x,) = symbols
    d = a - 1
    if not isinstance(x, sp.Symbol) or not _crosses_one(d, x):
        return None
    # the condition on log A itself, as the other rules make it (the select's other branch: no operation of its own)
    return sp.Piecewise((log1p(widen(d) if d.is_Add else d), sp.Abs(node) < _NEAR_ONE_LOG), (node, True))


def _log_near_one(expr):
    """Every log of :func:`_log_near_one_node` in ``expr`` rewritten (top down: the log's own argument as written)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.log):
        return expr
    return expr.replace(lambda n: _log_near_one_node(n) is not None, _log_near_one_node)


LOG_NEAR_ONE = Rule(
    "log-near-one", "log A at A ≈ 1 amplifies A's error by 1/|log A| (log A is 0 at A = 1): a sum A of one input "
    "holding a trigonometric or hyperbolic function, rounded at each term and made by another rule into a form with "
    "more roundings (the one-minus-cos rule's 2·sin²(x/2): log(1 − cos x) 9 ULP in float64 at x = 1.49, torch 0), or "
    "with a term rounded to an ulp of itself (log(x − asinh x) 601 ULP at x = 2.73, where x − asinh x = 1; torch "
    "the same); log1p(A − 1) is the same number (an identity) with A − 1 simplified as a sum (1 − cos x − 1 = −cos x, "
    "each cos x rounded relative to itself) and computed as the widen rule computes a sum where it keeps two terms, "
    "rounded once: log1p's condition is at most 1.44 there. Taken where |log A| < 0.69 (log A as the other "
    "rules make it, the select's other branch), log A elsewhere (its condition 1/|log A| ≤ 1.45); tried where A − 1 changes sign at "
    "±2^k (k = −4 … 12) and on [−8, 8] in steps of 1/8, before the node-by-node rules rewrite A",
    apply=_log_near_one, fired=lambda old, new: new != old, before=True)
_register(LOG_NEAR_ONE)
__all__ += ["LOG_NEAR_ONE"]

_VANISHING_PROBE = 2 ** -30  # x at which the sum must be below _VANISHING_RATIO of its terms to be tried
_VANISHING_RATIO = 2 ** -20


def _vanishes_at_zero(node, x) -> bool:
    """``node``, a sum in x, is 0 at x = 0 and its terms cancel there: at x = 2⁻³⁰ (60 digits) the sum is below
    2⁻²⁰ of Σ|terms| (x − sin x: 2⁻⁶³, log(1 + x) − x: 2⁻³²; x + sin x: 1/2). Raises nothing."""
    from ..verify.evaluate import mp_value

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


def _zero_at_zero(at_zero) -> bool:
    """``at_zero`` (a sum at x = 0 that SymPy leaves unevaluated) holds symnet's scaled-erfc functions, which SymPy does
    not evaluate at 0 (erfcx(0) = 1, erfcx_slope(0) = −2/√π), and is 0 at 100 digits: the sum of the log-erfcx-left
    rule's branches, 2x + erfcx′(x)/erfcx(x) + 2/(√π·erfcx(−x)) (session 33: ∂ of log erfcx(x) + log erfcx(−x) at
    x = 1e−30 was 2e−30 for 1.45e−30, its terms cancelling). Raises nothing."""
    from ..verify.evaluate import mp_value

    if not at_zero.has(erfcx, erfcx_slope, erfcx_slope_tail):
        return False
    try:
        with mpmath.workdps(100):
            return abs(mp_value(at_zero, {})) < mpmath.mpf(2) ** -300
    except Exception:  # noqa: BLE001 - not evaluable: not this rule's
        return False


def _vanishing_node(node):
    """node (a sum of one input x holding a function, 0 at x = 0 where its terms cancel) → Piecewise((ZeroSeries,
    |x| < w), (node, True)) (the removable-series fit, :func:`symnet.codegen.roots.removable_fit`) where the written
    form is measured past the bound inside the window, else None."""
    from .roots import OUTSIDE_ULP, SeriesBase, removable_fit

    symbols = node.free_symbols
    if not node.is_Add or len(symbols) != 1 or node.has(sp.Indexed, SeriesBase, WidenedBase, sp.Piecewise):
        return None
    (x,) = symbols
    if not isinstance(x, sp.Symbol) or node.is_polynomial(x) or not _vanishes_at_zero(node, x):
        return None
    if _tanhshrink(node) is not None:  # u − tanh u: the tanhshrink rule's series (to |u| < 3/2, no widened window)
        return None
    fit = removable_fit(node, without_ite(_share_sigmoid_pairs(node)))
    if fit is None or all(fit.written_inside.get(n, 0.0) <= OUTSIDE_ULP[n] for n in OUTSIDE_ULP):
        return None
    return _fitted_series(node, x, fit)


def _vanishing_branches(node):
    """A sum of one input holding another rule's select (the hypot rule's √(x² + 1) in 1 − 1/√(x² + 1), the
    numerator of log(x − asinh x)′) → the select folded out of the sum, each branch :func:`_vanishing_node` takes
    rewritten; None where it takes none."""
    folded = sp.piecewise_fold(node)
    if not isinstance(folded, sp.Piecewise):
        return None
    new = [_vanishing_node(pair.expr) if pair.expr.is_Add and not _never_taken(pair.cond) else None
           for pair in folded.args]
    if all(n is None for n in new):
        return None
    return sp.Piecewise(*[(pair.expr if n is None else n, pair.cond) for n, pair in zip(new, folded.args)])


def _never_taken(cond) -> bool:
    """``cond`` a conjunction of relations of one input whose set is empty: piecewise_fold's (x > 0) ∧ (x < 0) of two
    selects on x and −x (the log-erfcx-left rule's on both sides), whose branch needs no series fit (each fit is
    seconds). Raises nothing."""
    if not isinstance(cond, sp.And) or len(cond.free_symbols) != 1:
        return False
    low, high = (-math.inf, False), (math.inf, False)  # (bound, strict)
    for r in cond.args:  # only x ≷ c with c a number (SymPy's as_set: 12 s a condition, a minute a formula)
        if not (isinstance(r, (sp.StrictGreaterThan, sp.StrictLessThan, sp.GreaterThan, sp.LessThan))
                and r.lhs.is_Symbol and r.rhs.is_number and r.rhs.is_real):
            return False
        bound = (float(r.rhs), isinstance(r, (sp.StrictGreaterThan, sp.StrictLessThan)))
        if isinstance(r, (sp.StrictGreaterThan, sp.GreaterThan)):
            low = max(low, bound)
        else:
            high = min(high, (bound[0], not bound[1]))
    return low[0] > high[0] or (low[0] == high[0] and (low[1] or not high[1]))


def _vanishing_of_a_product(node):
    """A sum of several inputs that holds them only as one product u of inputs (e^(x·y) − 1 − x·y) → the sum of one
    input v rewritten by :func:`_vanishing_node`, u put back for v (the series in u = x·y, u rounded once: its
    relative error 2⁻⁵³ moves the series' value by one rounding of its leading power); None elsewhere (h-old29:
    log(e^(x·y) − 1 − x·y) was −inf at (5e−324, 2), true −1488.19)."""
    products = {a for f in node.atoms(sp.Function) for a in f.args
                if a.is_Mul and len(a.free_symbols) >= 2 and all(g.is_Symbol for g in a.args)}
    for u in sorted(products, key=sp.default_sort_key):
        v = sp.Symbol("_v", real=True)
        one = node.subs(u, v)
        if one.free_symbols == {v}:
            found = _vanishing_node(one)
            if found is not None:
                return found.xreplace({v: u})
    return None


def _vanishing_series(expr):
    """Every largest sum of one input in ``expr`` that :func:`_vanishing_node` rewrites, rewritten (top down); in a
    sum of several inputs, its terms in one input together (x − sin x + y)."""
    from .roots import SeriesBase

    if not isinstance(expr, sp.Expr) or not expr.has(sp.Add):
        return expr
    memo: dict = {}
    lifted: list = []

    def visit(node):
        if node in memo:
            return memo[node]
        if not node.args or isinstance(node, (WidenedBase, sp.Indexed, SeriesBase, sp.logic.boolalg.Boolean)):
            return node
        new = _vanishing_node(node) if node.is_Add else None  # (a Piecewise's pairs: entered)
        if new is None and node.is_Add and len(node.free_symbols) == 1 and node.has(sp.Piecewise):
            new = _vanishing_branches(node)
        if new is None and node.is_Add and len(node.free_symbols) > 1:
            new = _one_input_group(node, _vanishing_node, sp.Add, visit)
        if new is None and node.is_Add and len(node.free_symbols) > 1:
            found = _vanishing_of_a_product(node) if len(lifted) < _LIFTED_AT_MOST else None
            if found is not None:  # its select lifted to the whole expression (below); the node kept as written here
                lifted.append((node, found))
                new = node
        if new is None:
            args = tuple(visit(a) if isinstance(a, sp.Basic) else a for a in node.args)
            new = node.func(*args) if args != node.args else node
        memo[node] = new
        return new

    result = visit(expr)
    for node, found in lifted:
        result = _lift_select(result, node, found)
    return result


_LIFTED_AT_MOST = 2  # each lifted select copies the whole expression into its branches: 2^k copies for k of them


def _lift_select(expr, node, found):
    """``expr`` with the select ``found`` = Piecewise((S_1, c_1), …, (node, True)) of its subexpression ``node`` taken
    to the top: Piecewise((expr with S_1 for node, c_1), …, (expr, True)), so that past the series' window the whole
    expression stays as written for the rules after this one (exp-dominant divides e^u out of (e^u − 1)/(e^u − 1 − u)
    only where it sees the quotient whole: h-old29's series in u = x·y inside the denominator left inf/inf = NaN at
    (30, 30))."""
    pairs = [(e, c) for e, c in found.args]
    if not pairs or pairs[-1] != (node, sp.true):
        return expr.xreplace({node: found})
    return sp.Piecewise(*[(expr.xreplace({node: e}), c) for e, c in pairs[:-1]], (expr, True))


VANISHING_SERIES = Rule(
    "vanishing-series", "a sum of one input whose terms meet at 0 (x − sin x, e^x − 1 − x, log(1 + x) − x, "
    "sinh x − x, x − tan x, cos x − 1 + x²/2: each term rounded to an ulp of x or of 1 while the sum is x³/6, "
    "x²/2, …: 7.3e15 ULP in float64 at x = −1.0e−8, 1.6e7 in float32; torch the same) is, within a measured window "
    "|x| < w, its Taylor polynomial about 0 (the removable-series fit: P(x²) or x·P(x²) where the sum is even or "
    "odd, coefficients from the sum at 72 Chebyshev points at 120 digits, truncation below 2⁻⁶⁰, checked at 50 "
    "digits; Horner, whose leading coefficients are 0: no subtraction near 0); tried where the sum is 0 at x = 0 "
    "and below 2⁻²⁰ of its terms at x = 2⁻³⁰, fired where the written form is measured past 3 ULP (float64) or "
    "6 (float32) inside the window; past it, within the measured reach, computed as the widen rule computes a sum. "
    "A sum holding another rule's select (the hypot rule's √(x² + 1) in 1 − 1/√(x² + 1), log(x − asinh x)′'s "
    "numerator: 0 for 3e8 at x = 1e−8) has the select folded out and each branch taken. A sum that holds several "
    "inputs only as one product u of them (e^(x·y) − 1 − x·y: 1.9e6 ULP at (1e−8, 1)) is the series in u, its select "
    "lifted to the whole expression, so that past the window the rules after this one see the written expression "
    "whole (exp-dominant's (e^u − 1)/(e^u − 1 − u) at u = 900)",
    apply=_vanishing_series, fired=lambda old, new: new != old)
_register(VANISHING_SERIES)
__all__ += ["VANISHING_SERIES"]
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
    from .roots import OUTSIDE_ULP, SeriesBase, ZeroSeries, removable_fit

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
        return sp.Piecewise((y ** k * series.xreplace({v: q}), sp.Abs(q) < sp.Float(fit.window)), (node, True))
    return None


PRODUCT_WINDOW = 2.0 ** -10  # the product-quotient series' widest window: x·y rounded once costs |v·G′/G|·ε there


def _product_quotient(node, math, symbols):
    """node, a sum in two inputs x, y holding negative powers of y, that is x^k·G(x·y) (k ≥ 1; Snake's ∂α,
    2x·sin(αx)·cos(αx)/α − sin²(αx)/α² = x²·G(αx)) with G removable at 0 → {x^k·(G's series in v = x·y) if
    |x·y| < w; node otherwise}: as written each term is a power of v over y^k, which underflows where v is small
    (sin²(αx) subnormal) though the sum is x^k·G(0); None elsewhere."""
    from .roots import ZeroSeries, removable_fit

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
        return sp.Piecewise((inside, sp.Abs(q) < sp.Float(min(fit.window, PRODUCT_WINDOW))), (node, True))
    return None


def _two_input_sums(expr, rewrite):
    """``expr`` with every largest sum in two inputs that ``rewrite`` takes (not None) rewritten, top down: the walk
    of the vanishing-quotient and log1p-series rules."""
    from .roots import SeriesBase

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
RULES = RULES[:RULES.index(WIDEN)] + (VANISHING_QUOTIENT,) + RULES[RULES.index(WIDEN):]  # before the widen rule
_BY_NAME[VANISHING_QUOTIENT.name] = VANISHING_QUOTIENT
__all__ += ["VANISHING_QUOTIENT"]
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
    from .roots import OUTSIDE_ULP, SeriesBase, removable_fit

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
RULES = RULES[:RULES.index(WIDEN)] + (LOG1P_SERIES,) + RULES[RULES.index(WIDEN):]  # before the widen rule
_BY_NAME[LOG1P_SERIES.name] = LOG1P_SERIES
__all__ += ["LOG1P_SERIES"]
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
_register(LOG_LINEAR_ROOT)
__all__ += ["LOG_LINEAR_ROOT"]
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
    from .roots import ZeroSeries

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
    from .roots import ZeroSeries

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
_register(SERIES_LEADING_POWER)
__all__ += ["SERIES_LEADING_POWER"]
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
        line = sp.expand(cond.lhs.args[0].replace(lambda n: isinstance(n, Grouped), lambda n: n.args[0]))
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
    apply=_exp_dominant_forms, fired=lambda old, new: new != old)
_register(EXP_DOMINANT)
__all__ += ["EXP_DOMINANT"]
# ------------------------------------------------------------------ half-power-series (issue 16, session 15: erf(x)/√x′
# = 2e^(−x²)/√(πx) − erf(x)/(2x^(3/2)), terms that cancel 2× to 4× on (0, 1): 5.98 ULP in float64 at x = 0.276); the
# analysis is in roots.py (half_power_fit), tested in tests/test_elem15.py


def _half_power_series(expr):
    """Every sum of one input x in ``expr`` whose terms carry half powers of x (outside series and widened nodes)
    → Piecewise((x^q·ZeroSeries, x < w), (the sum, True)) where :func:`symnet.codegen.roots.half_power_fit` fits
    one; the window is measured against ``expr`` as a whole, the form the kernel computes outside it."""
    from .roots import SeriesBase, ZeroSeries, half_power_fit

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
_register(HALF_POWER_SERIES)
__all__ += ["HALF_POWER_SERIES"]
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
    # at x = ±inf the quotient is inf/inf (k·x where it overflows): the written form there (1 − t/(x + c) = 1)
    x = _shifted_term(denominator) or next(_shifted_term(a) for a in sums)
    return sp.Piecewise((expr, sp.Abs(x) > sp.Float(1.7976931348623157e308)), (widen(body), True))


SHIFTED_ARGUMENT = Rule(
    "shifted-argument", "log(x + c) and N/(x + c) of an input x and a number c (or k·x + c, as together() leaves "
    "the derivative 1 − 10⁸·t/(1 + 10⁸·x): taken as ((x − t) + 10⁻⁸)/(x + 10⁻⁸), 2.4e7 → 0.5 ULP at x = t = 1; "
    "poisson_nll with log_input = 0: "
    "x − t·log(x + 10⁻⁸), torch's eps) round x + c first, which log turns into an error of 1/|log(x + c)| "
    "relative (∂t = −log(x + 10⁻⁸) at x = 1 − 10⁻⁸: 8.2e15 ULP in float64, torch the same), and the output "
    "cancels where t·log(x + c) ≈ x (7.3e15 ULP at t = 1e8 + 1.1, x = 1) or t ≈ x + c (∂x = 1 − t/(x + c): "
    "6.9e15 ULP at t = x = 3e38); the output is computed widened and rounded once (double-word in a float64 "
    "kernel: x + c exact, c to 106 bits, log, quotient and sum to 2⁻¹⁰⁰ or so; float64 in a float32 one), "
    "where it holds no other function", apply=_shifted_argument, fired=lambda old, new: new != old)
_register(SHIFTED_ARGUMENT)
__all__ += ["SHIFTED_ARGUMENT"]


# ------------------------------------------------------------------ product-order (issue 16: a·b·c overflows or
# underflows in the middle: (a·b)·c is inf at a = −9.2e−4, b = −3.4e38, c = 2.96 in float32 where the product is
# 9.3e35; 0 at b = 1.4e−3, c = 1e−45, a = −3.4e38 where it is −6.7e−10); tested in tests/test_elem10.py


def _ordered_product(node):
    """k·a·b·c (a, b, c three inputs, k a number) → k·ordered_product(a, b, c) (symnet/special.py): the factor
    of middle magnitude multiplied last where a·b leaves the normal range."""
    if not node.is_Mul:
        return None
    k, rest = node.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    if len(factors) != 3 or not all(_input_or_input_sum(f) for f in factors) or len(set(factors)) != 3:
        return None
    return k * ordered_product(*factors)


def _input_or_input_sum(f) -> bool:
    """An input, or a sum of inputs and numbers (x + y, x − 1): session 36 (h-search36), x·y·(x + y) of
    squared_hinge(x + y, x·y) rounded x·(x + y) first, inf·0 = NaN at (−1e200, 0) for the product 0 (torch's
    (x + y)·(x·y) 0)."""
    return f.is_Symbol or (f.is_Add and all(t.is_Symbol or (t.is_number and t.is_finite) for t in f.args))


def _ordered_products(expr):
    """Every product of three inputs in ``expr`` ordered by :func:`_ordered_product`."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Mul):
        return expr
    return _bottom_up(expr, lambda node: (_ordered_product(node) or node) if node.is_Mul else node,
                      (WidenedBase, sp.UnevaluatedExpr, sp.Indexed))


PRODUCT_ORDER = Rule(
    "product-order", "a·b·c of three inputs (or sums of inputs: x·y·(x + y)) rounds a·b first, which overflows or "
    "underflows where the product does not (float32: a = −9.2e−4, b = −3.4e38, c = 2.96 gives inf for 9.3e35; "
    "a = −3.4e38, b = 1.4e−3, c = 1e−45 gives 0 for −6.7e−10; float64 the same at 1e308; torch too where its order "
    "meets it; x·(x + y)·y at (−1e200, 0) inf·0 = NaN for 0); the "
    "factor of middle magnitude multiplied last, m·(s·l): s·l overflows only where |m| ≥ |s| ≥ 1 and "
    "underflows only where |m| ≤ |l| ≤ 1, so only where the product itself does; two roundings as written "
    "(NumPy: (a·b)·c redone so only where a·b left the normal range, gathered; Triton: the select on |a|, |b|, "
    "|c| everywhere)", apply=_ordered_products, fired=lambda old, new: new != old)
_register(PRODUCT_ORDER)
__all__ += ["PRODUCT_ORDER"]


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
        return _Final(_Fired(conjugate, names))
    if isinstance(b, sp.Pow) and b.exp == sp.S.Half:
        return _Final(_Fired(conjugate, names))
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
    return _Final(_Fired(sp.Piecewise((conjugate, sp.And(b > 0, moderate)), (halved, b > 0), (node, True)), names))


def _scaled_root(term, scale):
    """√A/scale (a power of two) with the scale taken before √A is formed: in the hypot rule's scaled branch
    |v|·√(w + c/v²), as |v|/scale times the root (|v| > 2⁵⁹ there: exact), where √A ≈ √w·|v| itself overflows past
    1/√w of the largest number although √A/scale does not (2x + √(4x² + 1) at x = −9.46e307 was 0 for 2.64e−309 in
    float64, in Triton's float32 kernel at x = −1.79e38 0 for 1.4e−39); √A/scale as written elsewhere (√A of a
    finite A is finite)."""
    if not isinstance(term, sp.Piecewise):
        return term / scale

    def scaled(branch):
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
    bounded = True  # (the form only where A as written is finite: below)
    if square is not None:  # result does not: 1 − 1/√(x² + 1), the derivative of x − asinh x, at x = 1e200)
        w, v = square
        conjugate, names = c * w * Grouped(v * r) * Grouped(v / (1 / r + b)), ["conjugate"]
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
    return _Final(_Fired(sp.Piecewise((conjugate, where), (node, True)), names))


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
_register(CONJUGATE)


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
_register(HYPOT_SCALING)
__all__ += ["HYPOT_SCALING"]
_LOCAL += (_hypot_quotient,)  # the hypot rule's (named "hypot"), for v a quotient such as (p − t)/δ
_LOCAL_RULE[_hypot_quotient] = "hypot"


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
    if len(squares) != 1:
        return None
    ((term, w, v),) = squares
    c = node.base - term
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


# the hypot rule's scaled form for c holding an input is taken below |v| = 2⁻⁶⁰ too (v² is subnormal in float32 from
# 2⁻⁶³, in float64 from 2⁻⁵¹¹), where |(c/v)/v| < 2¹⁰⁰ (c a few binades above v² or less: above it v² is below half
# an ulp of c, and the written form is c's own root)
_HYPOT_TINY = sp.Integer(2) ** -60
_HYPOT_TINY_RATIO = sp.Integer(2) ** 100


_LOCAL += (_hypot_input,)  # the hypot rule's (named "hypot"), for c holding an input: √(x² + y)
_LOCAL_RULE[_hypot_input] = "hypot"


# the hypot rule's, for a sum of squares of two or more inputs' terms (session 35, h-xfail35): the Charbonnier loss
# ((p − t)² + ε²)^(α/2) at ε = 1e−200, p = 1e−170, t = 0 was 0 for 1e−170 (the sum underflows; ∂p inf for 1, ∂α 0
# for −3.9e−168; torch the same). As libm's hypot does, the terms are scaled by r = 1/s, s the largest power of two
# ≤ the largest |v| (binade_reciprocal: exact), where that is outside [2⁻⁶⁴, 2⁶⁴]: the sum's squares leave the
# normal range near 2^±511, and W^e (|e| < 8) well before, where v·W^e does not (∂p = α·(p − t)·W^(α/2 − 1) at
# α = −0.88, |p − t| = 1.3e142: W^(−1.44) = 1e−409 for a product 2.3e−268); the written form inside, where it was
# measured (the double-word W rounded once: ≤ 1 ULP where the exponent is exact, α = 1)
_SUM_OF_SQUARES_EDGE = sp.Float(2.0 ** 64)


_SUM_OF_SQUARES_WEIGHTS = (sp.Rational(1, 2 ** 64), sp.Integer(2 ** 64))


def _sum_of_squares(a):
    """[(w, v)] for a = Σ w·v², two terms or more, each w a number in [2⁻⁶⁴, 2⁶⁴] and v not a number; None otherwise
    (the scaled sum bounds max |r·v|, not w·(r·v)²: √(x² + 1e308·y²) at (1e−40, 1.5e−40) was inf for 1.5e114; the
    session's review)."""
    if not a.is_Add or len(a.args) < 2:
        return None
    squares = []
    for t in a.args:
        w, rest = t.as_coeff_Mul()
        if not (w.is_positive and _SUM_OF_SQUARES_WEIGHTS[0] <= w <= _SUM_OF_SQUARES_WEIGHTS[1] and rest.is_Pow
                and rest.exp == 2 and not rest.base.is_number):
            return None
        squares.append((w, rest.base))
    return squares


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
    plain = e.replace(lambda g: isinstance(g, Grouped), lambda g: g.args[0])  # affine-root's (α − 2)/2
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
        power = int(integer - 2 * rest)
        for _ in range(abs(power)):
            out = Grouped(out * r) if power > 0 else Grouped(out / r)
        return out
    steps = abs(int(integer))
    if not steps:
        return Grouped(out * Grouped(r ** (-2 * rest)))
    half = Grouped(r ** -rest)
    for part in (steps - steps // 2, steps // 2):
        out = Grouped(out * half)
        for _ in range(part):
            out = Grouped(out * r) if integer > 0 else Grouped(out / r)
    return out


def _hypot_sum(node):
    """(Σ w·v²)^e (e not an integer) → S^e·r^(−2e) where the scaled form is taken (:func:`_scaled_sum_of_squares`,
    :func:`_scaled_sum_power`), the written form elsewhere, behind the zero-power rule's 0⁰ = 1 where e is variable (this
    rule comes first); log(Σ w·v²) → log S − 2·log r there; and a product c·v·(that power) with v one of the squares'
    bases (∂p of the Charbonnier loss, α·(p − t)·W^(α/2 − 1)) → c·(r·v)·S^e·r^(−2e − 1) there: W^(α/2 − 1) alone
    overflows or underflows where the product does not (∂ε 0 for 1.4e−219 at α = 0.27, ε = 2.5e300, p − t = 1e300)."""
    if node.is_Mul:
        return _hypot_sum_product(node)
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
            rest = sp.Mul(*[h for h in node.args if h is not f and h not in taken])
            scaled = rest * _scaled_powered_product(s, r, written.exp, count)
            edge = sp.Float(2.0 ** -1000)
            # (v = 0: the scaled form's exact 0; the written one is 0·inf = NaN where W^e overflows, y = 0, x = 1e−278)
            normal = sp.And(*[sp.Or(sp.Abs(Grouped(r * v)) > edge, sp.Eq(v, 0)) for v in count])
            result = sp.Piecewise((scaled, _far_from_one(squares, term, _POWERED_EDGE) & normal), (node, True))
            _HYPOT_SUM_WRITTEN[result] = node
            return _Final(_Fired(result, ["hypot"]))
        part = next(((h, p) for h in node.args if h is not f
                     for p in [_scaled_part(h, bases, term, r)] if p is not None), (None, None))
        if not found and part[1] is None:
            continue
        taken = {f, *found, part[0]}
        rest = sp.Mul(*[h for h in node.args if h not in taken])
        scaled = rest * _scaled_sum_power(s, r, written.exp, *(found + [None, None])[:2], square=part[1])
        # where r·v is far below the normal range (v ≪ max |v|: r·ε = 0 at ε = 1e−150, r = 2⁻⁶⁶⁴) the product as
        # it was, v times the power's own scaled form
        # (two bases: the written product is no better anywhere, so only where r·v is subnormal: RMSNorm's ∂x₂ at
        # x₁ = 3e200, x₂ = 1e100 takes r·x₂ = 3e−101)
        edge = sp.Float(2.0 ** (-100 if len(found) < 2 else -1000))
        normal = sp.And(*[sp.Abs(Grouped(r * g)) > edge for g in found])
        # (hyp43: by exponents where r·v is below the edge or a float32 W^e leaves the range, _hypot_split_pieces)
        result = sp.Piecewise((scaled, far & normal),
                              *_hypot_split_pieces(rest, found, part[1], s, r, written.exp, squares, term),
                              (node, True))
        _HYPOT_SUM_WRITTEN[result] = node  # (for the conjugate rule: δ/√(u² + δ²) − 1)
        return _Final(_Fired(result, ["hypot"]))
    return None


# where the powered-bases form is taken: max |v| outside [2⁻¹⁶, 2¹⁶], not [2⁻⁶⁴, 2⁶⁴]: a float32 kernel's written
# W^(−3/2) is a float32 subnormal from W = 2⁸³ (y²·W^(−3/2) at x = 5.8e10, y = −2.4e14 was 359 ULP, 0 at y = 1e19 for
# 1e−19; session 41, h-hyp41), and the scaled form is exact scaling (≤ 2.6 ULP in float64 over 10^±300, measured)
_POWERED_EDGE = sp.Float(2.0 ** 16)


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
    for _ in range(steps):
        out = by_r(out)
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


_LOCAL = _LOCAL[:_LOCAL.index(_zero_power)] + (_hypot_sum,) + _LOCAL[_LOCAL.index(_zero_power):]
_LOCAL_RULE[_hypot_sum] = "hypot"
__all__ += ["CONJUGATE"]


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

    from ..verify.evaluate import mp_value

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
    from ..verify.evaluate import mp_value

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
    apply=_hypot_slopes, fired=lambda old, new: new != old)
_register(HYPOT_SLOPE)
__all__ += ["HYPOT_SLOPE"]

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
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Abs):
        return expr
    return _top_down(expr, lambda node: _hypot_sign(node) if isinstance(node, sp.Expr) else None, _KEPT)


HYPOT_SIGN = Rule(
    "hypot-sign", "v·(w·v² + c)^−1/2 (a derivative of √(w·v² + c), 3x/√(3x² + 1)) is v·1/(√(w + c/v²)·|v|) past the "
    "hypot rule's threshold, whose √(w + c/v²)·|v| overflows where the result is about √w·sign v (float32 ∂x of "
    "√(3x² + 1) 0 at x = 2.4e38 for 1.732, and √(5x² + 2) likewise; torch NaN); v/|v| is sign(v) exactly where |v| > T > 0, so "
    "sign(v)·(w + c/v²)^−1/2 there: no product that overflows", apply=_hypot_signs, fired=lambda old, new: new != old)
_register(HYPOT_SIGN)
RULES = RULES[:RULES.index(HYPOT_SLOPE) + 1] + (HYPOT_SIGN,) + tuple(
    r for r in RULES[RULES.index(HYPOT_SLOPE) + 1:] if r is not HYPOT_SIGN)  # after hypot-slope
__all__ += ["HYPOT_SIGN"]


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
    apply=_rounded_powers, fired=lambda old, new: new != old)
_register(ROUNDED_POWER)
__all__ += ["ROUNDED_POWER"]


# ------------------------------------------------------------------ mixture-log (issue 16, session 13): log of the focal
# loss's 1 − p_t = t·σ(−z) + (1 − t)·σ(z) where t is 0 or 1; tested in tests/test_focal13.py

def _sigmoid_mixture(b):
    """``b`` as (c₁, u₁, c₂, u₂) where b = c₁·σ(u₁) + c₂·σ(u₂) with u₂ = −u₁ and c₁ + c₂ = 1 (σ-free
    coefficients), else None."""
    if not (b.is_Add and len(b.args) == 2):
        return None
    parts = []
    for term in b.args:
        sigmoids = [f for f in sp.Mul.make_args(term) if isinstance(f, sigmoid)]
        if len(sigmoids) != 1:
            return None
        c = term / sigmoids[0]
        if c.has(sigmoid):
            return None
        parts.append((c, sigmoids[0].args[0]))
    (c1, u1), (c2, u2) = parts
    if sp.expand(u1 + u2) != 0 or sp.expand(c1 + c2 - 1) != 0:
        return None
    return c1, u1, c2, u2


def _at_zero(c):
    """(the condition c = 0, the substitution it implies): c linear in its one symbol is solved for it (1 − t = 0
    is t = 1, put into the branch); otherwise (c = 0, nothing)."""
    free = sorted(c.free_symbols, key=str)
    if len(free) == 1 and sp.degree(c, free[0]) == 1:
        value = sp.solve(c, free[0])[0]
        return sp.Eq(free[0], value), {free[0]: value}
    return sp.Eq(c, 0), {}


# beyond this argument softplus(−u) = e^(−u)·(1 − …) is 0 in every dtype (float64 from u ≈ 745, float32 from 104): a
# float32 number (2¹⁰²⁰, the mixture-power rule's clamp, is inf in float32, where min(z, inf) clamps nothing)
_SOFTPLUS_PAIR_CLAMP = 2.0 ** 64


def _clamped_log(node):
    """A product of this rule's select of log b (−softplus(−u) where b = σ(u)) and a factor that is softplus(u) there
    (the focal loss's CE beside log(1 − p_t) in ∂γ, CE = t·softplus(−z) + (1 − t)·softplus(z)): at t = 1 the product
    is −softplus(−z)·softplus(z), 0·∞ = NaN at z = +inf (t = 0, z = −inf likewise) where its limit is −0
    (−|z|·e^(−|z|) → 0). −softplus(−u) there takes −u clamped to 2⁶⁴: the clamp changes it only where −u > 2⁶⁴, and
    there the other factor softplus(u) is exactly 0 in every dtype, so the product is the same 0, no longer 0·∞.
    (−u → −∞, where softplus(−u) is 0 and softplus(u) = ∞, is not clamped: the focal loss's far branches take it.)
    None for any other product, and for one already clamped."""
    for f in node.args:
        if not (isinstance(f, sp.Piecewise) and len(f.args) == 3 and f.args[-1].cond == sp.true
                and isinstance(f.args[-1].expr, sp.log)):
            continue
        found = _sigmoid_mixture(f.args[-1].expr.args[0])
        if found is None:
            continue
        c1, u1, c2, u2 = found
        rest = [a for a in node.args if a is not f]
        pieces, changed = [], False
        for (expr, cond), (vanishing, u) in zip(f.args[:-1], ((c2, u1), (c1, u2))):
            at, point = _at_zero(vanishing)
            # the branch b = σ(u): log σ(u) = −softplus(−u), beside a factor that is softplus(u) there
            if cond == at and point and expr == -softplus(-u) and any(
                    a.xreplace(point) == softplus(u) for a in rest if not a.is_number):
                expr, changed = -softplus(sp.Min(-u, sp.Float(_SOFTPLUS_PAIR_CLAMP))), True
            pieces.append((expr, cond))
        if not changed:
            continue
        # final, the mixture-power rule applied here: visited again, the select's log b would be this rule's select
        clamped = sp.Mul(*rest, sp.Piecewise(*pieces, f.args[-1]))
        powered = _mixture_power(clamped)
        if powered is None:
            return _Final(_Fired(clamped, ["mixture-log"]))
        return _Final(_Fired(powered.expr.expr, ["mixture-log", *powered.expr.names]))
    return None


def _mixture_log(node):
    """log b, or a quotient N/b^k (k a positive integer), of b = c₁·σ(u) + c₂·σ(−u), c₁ + c₂ = 1: where c₂ = 0 the
    same with b = σ(u) (log σ(u) = −softplus(−u); σ(u)'s factor in N cancels symbolically), where c₁ = 0 with
    b = σ(−u), as written elsewhere: at t ∈ {0, 1} the sum is one σ, which underflows (σ(−930) = 0 in float64)
    where its log and the quotient do not. Only these nodes, not every product holding b^(γ − 1): NumPy computes
    every branch of a select, and the focal gradients with 1 − p_t = σ(∓z) in branches of their own cost
    1.3–2× on normal data (measured); ∂γ's branches reuse CE's softplus(±z)."""
    if isinstance(node, sp.log):
        b = node.args[0]
    elif node.is_Mul:
        found = {f.base for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp < 0}
        b = next((f for f in found if _sigmoid_mixture(f) is not None), None)
    else:
        return None
    found = _sigmoid_mixture(b) if b is not None else None
    if found is None:
        return None
    c1, u1, c2, u2 = found
    pieces, names = [], ["mixture-log"]
    for vanishing, u in ((c2, u1), (c1, u2)):
        cond, point = _at_zero(vanishing)
        branch, fired = _rewritten(node.xreplace({b: sigmoid(u)}).subs(point))
        pieces.append((branch, cond))
        names += [r.name for r in fired if r.name not in names]
    return _Final(_Fired(sp.Piecewise(*pieces, (node, True)), names))


MIXTURE_LOG = Rule(
    "mixture-log", "log(t·σ(−z) + (1 − t)·σ(z)) (the focal loss's log(1 − p_t), in its ∂γ) and a quotient by it are "
    "log σ(∓z) and a quotient by σ(∓z) at t = 1 or 0, "
    "and σ(∓z) underflows to 0 from |z| = 745 in float64 where its log is finite: ∂γ = CE·(1 − p_t)^γ·log(1 − p_t) "
    "was 0·(−∞) = NaN at t = 1, z = 930 (true −0); there it is −softplus(±z), the log-sigmoid form, which never "
    "rounds 1 − p_t. Beside CE, which is softplus(∓z) there, ±z is clamped to 2^64 (CE·log(1 − p_t) was "
    "softplus(−z)·softplus(z) = 0·∞ = NaN at t = 1, z = +inf; beyond 2^64 CE is exactly 0)", local=_mixture_log)
_register(MIXTURE_LOG)
__all__ += ["MIXTURE_LOG"]


# ------------------------------------------------------------------ mixture-power (issue 16, session 18): the focal
# loss's (1 − p_t)^γ and (1 − p_t)^(γ − 1)·CE with γ an input, at t = 1 or 0 where 1 − p_t = σ(∓z) is subnormal or 0;
# tested in tests/test_focal18.py

_SOFTPLUS_OVER_SIGMOID_ONE = 40  # below u = −40, softplus(u)/σ(u) = 1 + e^u/2 + … is 1 to float64's rounding (e^−40/2 < 2⁻⁵⁴)


def _mixture_power_of(f):
    """(b, e, (c₁, u₁, c₂, u₂)) where ``f`` is b^e (or the zero-power rule's select of it), e not a number and b a
    1 − p_t mixture c₁·σ(u₁) + c₂·σ(u₂) (:func:`_sigmoid_mixture`), else None."""
    pe = _power_of(f) if not f.is_Symbol else None
    if f.is_Pow and f.exp.is_number and not f.exp.is_integer:  # a fractional γ (focal(z, t, 1/4, 0.75)): b^(−1/4) too
        pe = f.base, f.exp
    if pe is None or pe[1].is_integer:
        return None
    found = _sigmoid_mixture(pe[0])
    return (pe[0], pe[1], found) if found is not None else None


def _clamped_input(node):
    """A product of this rule's select of b^e (e^(−e·softplus(−u)) where b = σ(u)) and the input of u, z (the focal
    ∂t's (1 − p_t)^γ·(softplus(−z) − softplus(z)), which the collect and softplus-difference rules make
    −(1 − p_t)^γ·z after this rule wrote the power): at t = 1, z = +inf (t = 0, z = −inf) the power is e^(−γ·∞) = 0
    and 0·∞ was NaN, the limit ∓0 (γ > 0); z is clamped to ±2¹⁰²⁰ (γ = 0: the power is 1 and the product z itself,
    ±inf). Below 2¹⁰²⁰ in magnitude the clamp is z; above, the power is e^(−γ·|z|) = 0 for γ ≥ 1e−304 (the product
    0 either way), and the product's other factors ((3 − 2t)/4) cannot overflow it to ∞·0 (3·(−1e308) did, at t = 0).
    None for any other product."""
    for f in node.args:
        if not (isinstance(f, sp.Piecewise) and f.args[-1].cond == sp.true):
            continue
        found = _mixture_power_of(f.args[-1].expr)
        if found is None:
            continue
        if len(f.args) == 4 and f.args[0].expr == 1 and isinstance(f.args[0].cond, sp.Eq):
            if f.args[0].cond != sp.Eq(found[1], 0):
                continue
        elif not (len(f.args) == 3 and found[1].is_number):  # a fractional γ: no select at γ = 0
            continue
        inputs = found[2][1].free_symbols
        factors = [a for a in node.args if a.is_Symbol and a in inputs]
        if factors:
            big = sp.Float(2.0 ** 1020)
            z = factors[0]
            clamp = sp.Max(sp.Min(z, big), -big)
            if len(f.args) == 4:
                clamp = sp.Piecewise((z, f.args[0].cond), (clamp, True))
            return _Final(_Fired(sp.Mul(*[clamp if a == z else a for a in node.args]), ["mixture-power"]))
    return None


def _mixture_power(node):
    """A product holding b^e, b = c₁·σ(u) + c₂·σ(−u) with c₁ + c₂ = 1 (the focal loss's 1 − p_t) and e not a number
    (γ, γ − 1): b^e is a select of e^(−e·softplus(−u)) where c₂ = 0 (b = σ(u): log σ(u) = −softplus(−u)), the same
    with −u where c₁ = 0, b^e elsewhere. Where e has a negative constant term (γ − 1) and the product also holds
    CE = c₁·softplus(u) + c₂·softplus(−u) (the focal loss's cross-entropy, as the product rule leaves it beside
    b^(γ − 1)), b^e·CE is b^(e + 1)·(CE/b), CE/b a select of 1 where c₂ = 0 and u < −40 (or c₁ = 0 and u > 40):
    there CE/b = softplus(v)/σ(v) with v < −40 is 1 + e^v/2 + …, 1 to float64's rounding, where CE and b underflow
    (0/0 from |u| ≈ 745); CE/b elsewhere (σ(v) ≥ σ(−40) normal). At t = 1, z ≥ 745, b = σ(−z) and CE are 0 and
    b^(γ − 1)·CE was ∞·0 (γ < 1), from z ≈ 708 both subnormal (∂t 6.9e3 ULP at z = 720). One select per power and
    one per quotient, shared by every product (not a select of each product: NumPy computes every branch)."""
    if not node.is_Mul:
        return None
    clamped = _clamped_input(node)
    if clamped is not None:
        return clamped
    powers = [(f, found) for f in node.args if (found := _mixture_power_of(f)) is not None]
    if len(powers) != 1:
        return None
    f, (b, e, (c1, u1, c2, u2)) = powers[0]
    ends = [(*_at_zero(c2), u1), (*_at_zero(c1), u2)]  # (b = σ(u)'s condition, its substitution, u)

    def power(exponent):
        # widened: e^(−e·softplus(−u)) turns the rounding of its argument into |e·softplus(−u)| times its size (6 ULP
        # in float64 at γ = 0.058, z = 930: an argument of −54)
        return sp.Piecewise((1, sp.Eq(exponent, 0)), *[(widen(sp.exp(-exponent * softplus(-u))), cond)
                                                        for cond, _, u in ends], (b ** exponent, True))

    rest = [a for a in node.args if a is not f]
    ce = None
    if e.as_coeff_Add()[0].is_negative and all(point for _, point, _ in ends):
        ce = next((a for a in rest if not a.is_number and all(
            a.xreplace(point) == softplus(u) for _, point, u in ends)), None)
    if ce is None:
        return _Final(_Fired(sp.Mul(*rest, power(e)), ["mixture-power"]))
    rest.remove(ce)
    one = sp.Or(*[cond & (u < -_SOFTPLUS_OVER_SIGMOID_ONE) for cond, _, u in ends])
    # b grouped: mixture-log's quotient rule would put selects at t = 1 and t = 0 into CE/b
    quotient = sp.Piecewise((1, one), (ce / Grouped(b), True))
    return _Final(_Fired(sp.Mul(*rest, power(e + 1), quotient), ["mixture-power"]))


MIXTURE_POWER = Rule(
    "mixture-power", "(t·σ(−z) + (1 − t)·σ(z))^γ with γ an input or a fraction (the focal loss's (1 − p_t)^γ) is σ(∓z)^γ at "
    "t = 1 or 0, which is subnormal from |z| ≈ 708 and 0 from 745 in float64 where σ(∓z)^γ = e^(−γ·softplus(±z)) is "
    "not (γ < 1); its ∂t and ∂z hold (1 − p_t)^(γ − 1)·CE, ∞·0 there: 6.9e3 ULP at t = 1, z = 720, γ = 1/2, "
    "a wrong finite value at 740, NaN from 750 (torch NaN). There the power is e^(−γ·softplus(±z)) and "
    "(1 − p_t)^(γ − 1)·CE is (1 − p_t)^γ·(CE/(1 − p_t)), CE/(1 − p_t) = softplus(∓z)/σ(∓z), 1 beyond |z| = 40 "
    "where both underflow: one select per power (t ∈ {0, 1}) and one per quotient; z beside the power is clamped "
    "to ±2^1020 (γ ≠ 0): (1 − p_t)^γ·z was 0·∞ = NaN at t = 1, z = +inf", local=_mixture_power)
_register(MIXTURE_POWER)
_LOCAL = (_mixture_power,) + _LOCAL[:-1]  # before zero-limit: its select of γ·b^(γ − 1) would hide the product
# mixture-log's clamp of its select beside CE (∂γ's CE·log(1 − p_t)) before mixture-power, which makes the product final
_LOCAL = (_clamped_log,) + _LOCAL
__all__ += ["MIXTURE_POWER"]


# ------------------------------------------------------------------ overflowed-product (issue 16, h-fresh11: swish
# with a learnable β, x·σ(β·x), is NaN in ∂β and ∂x at β = x = −1.8e308, where β·x overflows and x²·σ(β·x)·σ(−β·x)
# is inf·0, (1 + β·x·σ(−β·x)) is 1 + inf·0); tested in tests/test_swish11.py

def _as_math(expr):
    """``expr`` as the formula it computes: every select's last (written) branch, widened nodes unwidened,
    groupings dropped, σ as 1/(1 + e^−v) (for SymPy's limit)."""
    expr = _replaced(expr, lambda n: isinstance(n, sp.Piecewise) and n.args[-1].cond == sp.true,
                     lambda n: n.args[-1].expr)
    expr = _replaced(expr, lambda n: isinstance(n, WidenedBase), lambda n: n.expanded)  # unwiden(expr)
    expr = _replaced(expr, lambda n: isinstance(n, sp.UnevaluatedExpr), lambda n: n.args[0])
    expr = _replaced(expr, lambda n: isinstance(n, softplus), lambda n: sp.log(1 + sp.exp(n.args[0])))
    return _replaced(expr, lambda n: isinstance(n, sigmoid), lambda n: 1 / (1 + sp.exp(-n.args[0])))


def _overflowing_products(expr):
    """The products of two or more inputs (β·x) that appear, up to a number, as the argument of an e^, σ or
    softplus (mish with β, x·tanh(softplus(β·x))), each as (u, 3.4e38): the |u| from which the select is taken;
    and the one input x of such an argument that is a polynomial in x of degree d ≥ 2 (GELU-tanh written out,
    σ(c·(x + 0.044715·x³)): x³ overflows first), as (x, 3.4e38^(1/d)), where x^d leaves float32."""
    found = []
    for n in _distinct_preorder(expr):
        if isinstance(n, (sp.exp, sigmoid, softplus)):
            arg = n.args[0]
            _, core = arg.as_coeff_Mul()
            if core.is_Mul and len(core.args) >= 2 and all(a.is_Symbol for a in core.args):
                if core not in [u for u, _ in found]:
                    found.append((core, _FLT_MAX))
            elif len(arg.free_symbols) == 1:
                (x,) = arg.free_symbols
                degree = sp.degree(arg, x) if arg.is_polynomial(x) else 0
                if degree >= 2 and x not in [u for u, _ in found]:
                    found.append((x, float(sp.Float(_FLT_MAX, 30) ** sp.Rational(1, degree))))
    return found


# SymPy's limit (Gruntz's algorithm) grows steeply with the expression: σ(σ(σ(σ(x·y)·y)·y)·y)'s ∂x as the product
# u = x·y → ±∞ has 167 operations and took 15 CPU s, one level more minutes, where the formulas this rule was
# written for have at most 55 (GELU-tanh written out; swish's 29). Past this many the rule leaves f as it is.
_MOST_LIMIT_OPS = 80
# _finite_at_overflow evaluates 2^n sign patterns of n inputs; past this many it keeps the select without looking
_MOST_SIGN_PATTERN_INPUTS = 16


def _limit_holds(expr, u, limit, sign, start=_FLT_MAX) -> bool:
    """``expr`` (in the symbol ``u`` and the other inputs) equals ``limit`` to float64's rounding at
    u = sign·``start`` (3.4e38) and beyond, for the other inputs from 1e−300 to 1.8e308 in magnitude (mpmath, 50
    digits): the limit is the value wherever |u| is past float32's largest, not only at u = ±inf."""
    from ..verify.evaluate import mp_value

    others = sorted(expr.free_symbols - {u}, key=str)
    magnitudes = ("1e-300", "-1", "1", "-1e300", "1.7976931348623157e308", "-1.7976931348623157e308")
    try:
        with mpmath.workdps(50):
            for at in (start, _FLT_MAX, "1e60", "1e300", "1e616"):
                for m in magnitudes:
                    env = {s: mpmath.mpf(m) for s in others}
                    env[u] = sign * mpmath.mpf(at)
                    v = mp_value(expr, env)
                    want = mp_value(limit, env) if limit.free_symbols else mpmath.mpf(float(limit))
                    if mpmath.isnan(v) or mpmath.isinf(v) or mpmath.isnan(want):
                        return False
                    if abs(v - want) > mpmath.mpf(2) ** -60 * abs(want) + mpmath.mpf(2) ** -1080:
                        return False
    except (ArithmeticError, ValueError, TypeError):
        return False
    return True


def _finite_at_overflow(math, u, sign) -> bool:
    """The formula ``math`` as written, in float64, is not NaN where its product ``u`` of inputs overflows to
    sign·inf (each input ±1.8e308): no select is needed there (f = x·σ(β·x) itself is x or 0).

    Every pattern of the inputs' signs is evaluated at once, as arrays (one pattern at a time, a formula of
    x·σ(b·x) and 12 more inputs took 13 CPU s, each input doubling it: 20 more, an hour); past
    :data:`_MOST_SIGN_PATTERN_INPUTS` inputs the answer is False without looking, which keeps the select
    (exact wherever it is taken: _limit_holds checked it)."""
    import numpy as np

    inputs = sorted(math.free_symbols, key=str)
    if len(inputs) > _MOST_SIGN_PATTERN_INPUTS:
        return False
    try:
        fn = sp.lambdify(inputs, math, modules="numpy")
        u_sign = sp.lambdify(inputs, u, modules="numpy")
    except Exception:  # noqa: BLE001 - a function lambdify cannot print: take the select
        return False
    big = 1.7976931348623157e308
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(inputs))), dtype=np.float64).T
    with np.errstate(all="ignore"):
        try:
            overflowing = np.broadcast_to(u_sign(*signs), signs.shape[1:]) == sign
            value = np.broadcast_to(fn(*[big * s for s in signs]), signs.shape[1:])
            return not np.isnan(value[overflowing]).any()
        except Exception:  # noqa: BLE001
            return False


@functools.lru_cache(maxsize=256)
def _overflowed_products(expr):
    """f with e^(c·β·x) or σ(c·β·x), where the product u = β·x overflows (|u| > 3.4e38: inf in float32, and in
    float64 wherever it is inf) and f is then 0·inf or inf − inf → Piecewise((L+, u > 3.4e38), (L−, u < −3.4e38),
    (f, True)), L± = lim f as u → ±inf with the other inputs held (SymPy), each checked against f in mpmath
    from |u| = 3.4e38 on (e^−|u| there is below 2^−(4.9e38), past any power of a float64 input)."""
    if not isinstance(expr, sp.Expr) or expr.has(sp.Indexed):
        return expr
    products = _overflowing_products(_as_math(expr))
    if not products:
        return expr
    math = _as_math(expr)
    u, start = products[0]
    U = sp.Dummy("u", real=True)
    in_u = math.subs(u, U)
    if sp.count_ops(in_u) > _MOST_LIMIT_OPS:
        return expr
    branches = []
    bound = sp.Float(start, 17)
    for sign, condition in ((1, u > bound), (-1, u < -bound)):
        try:
            limit = sp.limit(in_u, U, sign * sp.oo)
        except (NotImplementedError, ValueError, TypeError):
            continue
        if limit.has(sp.oo, -sp.oo, sp.zoo, sp.nan, sp.Limit, U) or not limit.is_real:
            continue
        if not _limit_holds(in_u, U, limit, sign, start) or _finite_at_overflow(math, u, sign):
            continue
        branches.append((sp.Float(limit) if limit.is_number and limit != 0 else limit, condition))
    if not branches:
        return expr
    return sp.Piecewise(*branches, (expr, True))


OVERFLOWED_PRODUCT = Rule(
    "overflowed-product", "e^v and σ(v) of a product of inputs v = β·x (swish with a learnable β, x·σ(β·x)): "
    "at β = x = −1.8e308, v is inf and ∂β = x²·σ(v)·σ(−v) is inf·0, ∂x = σ(v)·(1 + v·σ(−v)) 1 + inf·0: NaN "
    "where the true values are 0 and 1; beyond |v| = 3.4e38 (float32's largest: only ±inf in float32) a select "
    "returns the limit as v → ±inf with the other inputs held (SymPy; e^−|v| is then below any power of a "
    "float64 input), checked in mpmath at 50 digits against the formula from |v| = 3.4e38 on; the same for v a "
    "polynomial of degree d ≥ 2 in one input x (GELU-tanh written out with the float 0.7978845608028654: ∂x NaN from "
    "|x| = 5.6e102 in float64, where x³ overflows, for 1 and 0) past |x| = 3.4e38^(1/d), where x^d leaves float32",
    apply=_overflowed_products, fired=lambda old, new: new != old)
_register(OVERFLOWED_PRODUCT)
__all__ += ["OVERFLOWED_PRODUCT"]


# ------------------------------------------------------------------ power-quotient: N/x^k past x^k's range
# A whole-expression rule, applied after every node-by-node rule (so the removable-series, scaled-square,
# scaled-power and softplus-slope forms are in place first: it never rewrites a node before them), and only
# to quotients whose variable no enclosing select has already bounded (the written branch of those rules).

def _bounded_above(cond) -> frozenset:
    """The inputs whose magnitude ``cond`` bounds from above (|x| < K, or one such among an And's terms)."""
    if isinstance(cond, sp.And):
        return frozenset().union(*[_bounded_above(c) for c in cond.args])
    if isinstance(cond, (sp.StrictLessThan, sp.LessThan)) and isinstance(cond.lhs, sp.Abs) and cond.rhs.is_number:
        return frozenset(cond.lhs.args[0].free_symbols)
    return frozenset()


def _linear_in(d, x) -> bool:
    """``d`` is x or a·x + b (a, b numbers)."""
    if d == x:
        return True
    return d.is_Add and d.free_symbols == {x} and d.is_polynomial(x) and sp.degree(d, x) == 1


def _power_quotient(node, guarded, term=True):
    """c·N·∏ D_i^−k_i (each D_i the one input x or linear in it, each k_i an integer or a half-integer, Σ k_i = n ≥ 2
    or a half-integer n ≥ 3/2, N free of selects; N = 1 only as a ``term`` of a sum, where the rest may be normal:
    1/x² alone past 2⁵¹² is below every normal number anyway) → Piecewise((node, |x| < 2^⌊120/n⌋),
    (c·(…((N/D_1)/D_1)…/D_m), True)), a half power last as a division by √D_i, or None. The written form keeps every
    roundings it was measured with; past the bound the product ∏ D_i^k_i (≥ 2^120: inf in float32 from there
    on, in float64 from |x| = 1.34e154 at n = 2) is never formed. Each division rounds once, as the product and
    the quotient did for n = 2; the partial quotients lie between N and the result in magnitude (|D_i| ≥ 1)."""
    if node.is_Pow and node.base.is_Mul and node.exp.is_Integer and node.exp < 0:
        factors = [sp.Pow(f, node.exp) for f in node.base.args]  # 1/(x·(1 + x)): integer exponent, exact
    elif node.is_Mul:
        factors = list(node.args)
    else:
        return None
    dens = [f for f in factors if f.is_Pow and (2 * f.exp).is_Integer and f.exp < 0 and not f.base.is_number]
    symbols = {s for f in dens for s in f.base.free_symbols}
    bases = {f.base for f in dens}
    if len(symbols) > 1 and len(bases) == 1 and _linear_sum(next(iter(bases))) is not None \
            and not symbols & guarded:
        # one divisor D linear in several inputs (x + y): bounded as |D| (∂x of mish(x)/(x + y) has
        # mish(x)/(x + y)², 0 at (0, 1e200) for 6e−201 as (x + y)² overflows; h-hyp31)
        (x,) = bases
    elif len(symbols) != 1:
        return None
    else:
        (x,) = symbols
        if not x.is_Symbol or x in guarded or not all(_linear_in(f.base, x) for f in dens):
            return None
    n = sum(-f.exp for f in dens)  # a half-integer too: x^(3/2) overflows float64 from 3.2e205 (erf(x)/√x′)
    if not (n.is_Integer and 2 <= n <= 8 or not n.is_Integer and sp.Rational(3, 2) <= n <= 8):
        return None
    c, num = sp.Mul(*[f for f in factors if f not in dens]).as_coeff_Mul()
    # N the long-product rule's sum M·c·widen(Σ tᵢ/M), taken as its terms Σ tᵢ where not finite: its terms are those
    # (h-gelu37's near-root form kept as computed; h-mend37)
    terms = num.args[1] if type(num).__name__ == "WrittenWhereNotFiniteBase" and num.args[1].is_Add else num
    held = [t.as_coeff_Mul() for t in terms.args] if terms.is_Add else []
    if any(type(w).__name__ == "WrittenWhereNotFiniteBase" for _, w in held):
        # N a sum of the long-product rule's terms (selects inside: no stepwise divisions) leaves the range where
        # N/x^k does not: ∂y of gelu(x/y)⁻³, 3(y²/Φ³ + x·y·φ/Φ⁴)/x³, at x = y = 1.7e308 was 0·inf = NaN for 3.8e−308
        # (torch 3.8e−308; h-gelub37); taken as Σ c·tᵢ/x^k where it is ±inf or NaN, each form of a term divided
        den = c * sp.Mul(*dens)
        computed = node
        if terms is not num and n.is_Integer and all(f.base == x for f in dens):
            computed = _long_product_sum_divided(node, c, num.args[0], x, int(n))
        return written_where_not_finite(computed, sp.Add(*[
            written_where_not_finite(sp.Mul(den * a, w.args[0], evaluate=False), den * a * w.args[1])
            if type(w).__name__ == "WrittenWhereNotFiniteBase" else den * a * w for a, w in held]))
    if num.has(sp.Piecewise) or num == 1 and not term:
        return None
    scaled = num
    for f in sorted(dens, key=sp.default_sort_key):
        for _ in range(int(sp.floor(-f.exp))):
            scaled = Grouped(scaled / f.base)
        if not f.exp.is_Integer:  # D^(−k − 1/2): the half power last, by √D
            scaled = Grouped(scaled / sp.sqrt(f.base))
    scaled = c * scaled
    # the exactness check: the divisions are the written quotient, symbolically
    if sp.cancel(scaled.doit() - node) != 0:
        return None
    # one-sided (|x| large only) where N depends on x: a select at small |x| would put a kink at 0 into the
    # removable-series fit, and there x^−k is the result's own overflow unless N is as small. N another input
    # (t/x^(3/2)) may be as small: x^(3/2) underflows below 1e−205 in float64, and t·x^(−3/2) is 0·inf = NaN at
    # t = 0 (true 0), t/x^(5/2) inf at t = 1e−300, x = 1e−130 (true 1.5e25); there the divisions too
    bound = sp.Integer(2) ** int(sp.floor(120 / n))
    # N of x and another input (x − y) is 0 or tiny wherever the other is near x, whatever |x|: (x − y)/x² at
    # x = y = −1e−300 (∂x of (x − y)/x) was 0/0 = NaN for −1e300 (h-hyp31); there the divisions too
    if num != 1 and (x not in num.free_symbols or num.free_symbols - {x}):
        out = sp.Piecewise((node, (sp.Abs(x) < bound) & (sp.Abs(x) > sp.Float(1 / bound, 17))), (scaled, True))
    else:
        out = sp.Piecewise((node, sp.Abs(x) < bound), (scaled, True))
    if isinstance(num, WidenedBase) and isinstance(num.expanded, sp.Add):
        # N a widened sum Σ tᵢ (a double word rounded once) leaves the range where N/x^k does not: ∂y of gelu(x/y)⁻²,
        # (2y/Φ² + 2x·φ/Φ³)/x², at x = y = 1.7e308 was inf for 2.14e−308 (torch 2.14e−308; h-gelu36); taken as
        # Σ c·tᵢ/x^k where it is ±inf or NaN (each term a product the printers take by exponents)
        written = widen(sp.Add(*[c * t * sp.Mul(*dens) for t in num.expanded.args]))
        return written_where_not_finite(out, written)
    return out


def _long_product_sum_divided(node, c, computed, x, n):
    """c·computed/x^n, ``computed`` the long-product rule's M·c′·W (M the inputs' powers, W a widened sum), from
    |x| = 2^⌊120/n⌋ on as c·c′·Π (s/x)·(…(W/x)…)/x, each input factor s of M with one division by x, the rest of the n
    divisions on W: M·W overflowed where the quotient does not (∂y of gelu(x/y)⁻³ near gelu′'s root, x/y = −0.694 at
    |x| = 5.4e224, was then the sum of its products divided, which cancel: 16.9 ULP, torch 1.9; h-mend37); ``node``
    where that is not exact."""
    c2, rest = computed.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    mono = [f for f in factors if f.is_Symbol or f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp > 0]
    w = sp.Mul(*[f for f in factors if f not in mono])
    left, parts = n, []
    for f in mono:
        base, p = f.as_base_exp()
        for _ in range(int(p)):
            if left and base != x:
                parts.append(Grouped(base / x))
                left -= 1
            else:
                parts.append(base)
    for _ in range(left):
        w = Grouped(w / x)
    scaled = c * c2 * sp.Mul(*parts) * w
    if sp.cancel(scaled.doit() - c * computed / x ** n) != 0:
        return node
    return sp.Piecewise((node, sp.Abs(x) < sp.Integer(2) ** (120 // n)), (scaled, True))


def _power_quotients(expr):
    """``expr`` with every :func:`_power_quotient` applied bottom up, inside selects by branch: a branch taken
    only where |x| is bounded (another rule's written form, |x| < 2⁶⁰) is left as it is."""
    from .roots import SeriesBase

    if not isinstance(expr, sp.Basic):
        return expr
    memo: dict = {}

    def visit(node, guarded, term):
        key = (node, guarded, term)
        if key in memo:
            return memo[key]
        if isinstance(node, sp.Piecewise):
            pieces = [type(p)(visit(p.expr, guarded | _bounded_above(p.cond), False), p.cond) for p in node.args]
            new = node.func(*pieces) if tuple(pieces) != node.args else node
        elif not node.args or isinstance(node, (WidenedBase, SeriesBase, sp.Indexed)):
            return node
        else:
            args = tuple(visit(a, guarded, node.is_Add) if isinstance(a, sp.Expr) else a for a in node.args)
            new = node.func(*args) if args != node.args else node
            new = _power_quotient(new, guarded, term) or new
        memo[key] = new
        return new

    return visit(expr, frozenset(), False)


POWER_QUOTIENT = Rule(
    "power-quotient", "N/x^k (k ≥ 2, or a half-integer k ≥ 3/2; or N/(x^i·(1 + x)^j), x an input) forms x^k, which "
    "overflows where the quotient does not (∂/∂x of log1p(x)/x = 1/(x(1 + x)) − log1p(x)/x²: 0 from x = 1.34e154 in "
    "float64, true −1.75e−306 at 1.42e154, 5.5e15 ULP; t/x^(3/2)′ in x: 0 from x = 3.2e205, true −1.5e−215 at t = 1e300, "
    "x = 1e206); from |x| = 2^⌊120/k⌋ on, (…(N/x)/…)/x divides factor by factor, a half power last by √x; N a "
    "widened sum Σ tᵢ, which leaves the range where N/x^k does not (∂y of gelu(x/y)⁻², (2y/Φ² + 2x·φ/Φ³)/x², inf at "
    "x = y = 1.7e308 for 2.14e−308), is taken as the widened Σ tᵢ/x^k where it is ±inf or NaN; N a sum of the "
    "long-product rule's terms likewise as Σ tᵢ/x^k, each term's forms divided (∂y of gelu(x/y)⁻³, "
    "3(y²/Φ³ + x·y·φ/Φ⁴)/x³, NaN at x = y = 1.7e308 for 3.8e−308), and its widened form M·W (M the inputs' "
    "powers) from |x| = 2^⌊120/k⌋ on as Π (s/x)·(…(W/x)…)/x, each input factor s of M with one division (∂y of "
    "gelu(x/y)⁻³ near gelu′'s root, x/y = −0.694 at |x| = 5.4e224: y·W overflowed, 16.9 ULP, torch 1.9; 0.9 now). "
    "Applied after every other rule, to a quotient whose x no other rule's select bounds",
    apply=_power_quotients, fired=lambda old, new: new != old)
_register(POWER_QUOTIENT)
__all__ += ["POWER_QUOTIENT"]


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
    plain = lambda e: e.replace(lambda m: isinstance(m, Grouped), lambda m: m.args[0])  # noqa: E731
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
_register(COMMON_POWER)
__all__ += ["COMMON_POWER"]


# ------------------------------------------------------------------ tiny-argument (issue 16, session 13): f(x) with
# f(0) = 0, f′(0) = c (erf, sin, tanh, log1p …) beside a fractional power of x, at subnormal x; tested in
# tests/test_elem13.py

_LINEAR_AT_ZERO = {sp.erf: 2 / sp.sqrt(sp.pi), sp.sin: 1, sp.tan: 1, sp.tanh: 1, sp.sinh: 1, sp.asinh: 1,
                   sp.atan: 1, expm1: 1, log1p: 1}  # f: f′(0)
TINY_ARGUMENT = 2 ** -60  # below it c·x is f(x) to 2⁻⁶¹ relative (log1p, expm1: x/2; erf, sin, tanh: x²/3)


def _taken_near_zero(expr, x):
    """``expr`` with every select replaced by the branch it takes at x = ±2⁻⁸⁰ (the same on both sides) and every
    widened node by its sum; None where a select takes different branches there or a series node is taken."""
    from .roots import SeriesBase

    def choose(pw):
        taken = []
        for probe in (sp.Float(2.0 ** -80), sp.Float(-2.0 ** -80)):
            for piece in pw.args:
                cond = piece.cond.subs(x, probe).doit()  # (a root-series select's d is Grouped)
                if cond not in (sp.true, sp.false):
                    raise ValueError("a condition that is not decided at the probe")
                if cond == sp.true:
                    taken.append(piece.expr)
                    break
        if len(taken) != 2 or taken[0] != taken[1]:
            raise ValueError("a select that takes different branches on the two sides of 0")
        return taken[0]

    try:
        out = unwiden(expr).replace(lambda n: isinstance(n, sp.Piecewise), choose)
    except (ValueError, TypeError):
        return None
    return None if out.has(SeriesBase) else out


def _tiny_argument(expr):
    """``expr`` (one input x, holding f(x) of :data:`_LINEAR_AT_ZERO` and a power of x with a fractional exponent)
    → Piecewise((its form near 0 with f(x) = c·x, the powers of x merged, |x| < 2⁻⁶⁰), (expr, True)); else
    ``expr``."""
    if not isinstance(expr, sp.Expr) or len(expr.free_symbols) != 1:
        return expr
    (x,) = expr.free_symbols
    if not isinstance(x, sp.Symbol):
        return expr
    linear = {f for f in expr.atoms(*_LINEAR_AT_ZERO) if f.args == (x,)}
    fractional = [p for p in expr.atoms(sp.Pow) if p.base == x and p.exp.is_Rational and not p.exp.is_integer]
    if not linear or not fractional:
        return expr
    near = _taken_near_zero(expr, x)
    if near is None:
        return expr
    near = near.xreplace({f: _LINEAR_AT_ZERO[f.func] * x for f in linear})
    if near.has(*linear):
        return expr
    near = sp.factor_terms(near)  # x^(−3/2)/2 − x^(−3/2)/(1 + x): x^(−3/2)·(1/2 − 1/(1 + x)), not inf − inf
    return sp.Piecewise((near, sp.Abs(x) < TINY_ARGUMENT), (expr, True))


TINY_ARGUMENT_RULE = Rule(
    "tiny-argument", "f(x) with f(0) = 0 (erf, sin, tanh, log1p …) beside a fractional power of x (erf(x)/√x) is "
    "subnormal where x is, with a few significant bits, and the power magnifies them (erf(x)/√x: 5.8e14 ULP in "
    "float64 at x = 5e−324, torch the same; √x/log1p(x): inf at 5e−324, true 4.5e161); below |x| = 2⁻⁶⁰, f(x) = "
    "f′(0)·x to 2⁻⁶¹ relative, the powers of x merged symbolically (2x/√π·x^(−1/2) = 2√x/√π) and the terms' "
    "common power factored out (x^(−3/2)·(1/2 − 1/(1 + x)), not inf − inf); applied last, to the branch every "
    "other rule's select takes near 0",
    apply=_tiny_argument, fired=lambda old, new: new != old)
_register(TINY_ARGUMENT_RULE)
__all__ += ["TINY_ARGUMENT_RULE"]


# ------------------------------------------------------------------ one-minus-scaled-exp (issue 16: the log-variance
# Gaussian NLL's ∂s = (1 − (p − t)²·e^(−s))/2, Kendall & Gal 2017); tested in tests/test_nll15.py

def _scaled_exp_factors(term):
    """(factors, e^b) for term = ±a_1·…·a_k·e^b (k ≥ 1, each a_i holding an input, e^b the one exponential), else None."""
    factors = [f for f in sp.Mul.make_args(term) if f.free_symbols]
    exps = [f for f in factors if isinstance(f, sp.exp)]
    rest = [f for f in factors if not isinstance(f, sp.exp)]
    if len(exps) != 1 or not rest or any(f.has(*_ROUNDED, softplus, WidenedBase) for f in rest):
        return None
    return rest, exps[0]


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
_register(ONE_MINUS_SCALED_EXP)
# tried first: affine-root would take 1/2 − a·e^b/2 to (1 − a·e^b)/2 as final, the cancelling sum out of reach
_LOCAL = (_one_minus_scaled_exp,) + _LOCAL[:-1]
__all__ += ["ONE_MINUS_SCALED_EXP"]


# ------------------------------------------------------------------ one-denominator (issue 16: the variance-form
# Gaussian NLL's ∂v = (1/v − (p − t)²/v²)/2 at subnormal v); tested in tests/test_nll15.py

def _over_power(term, v, n, within_functions=False):
    """term/v^(−n) where term = X·v^(−n) with X free of v (or, within_functions, holding v only inside the arguments
    of functions: the Gumbel NLL's ∂b, 1/b − (x − μ + (μ − x)·e^((μ − x)/b))/b²), else None."""
    x = term * v ** n
    if within_functions:
        x = x.replace(lambda node: isinstance(node, sp.Function) and node.has(v), lambda node: sp.Dummy())
    return None if x.has(v) else term * v ** n


def _one_denominator(node):
    """a/v − b/v² (a free of v, b too but inside a function's argument; b = c·d² for a square) → ((a − c·d·(d/v))/v) in float64 (double-word in a float64
    kernel), rounded once, and a/v² − b/v³ (its derivative) → ((a − c·d·(d/v))/v)/v: 1/v and d²/v² are both inf at subnormal v (inf − inf = NaN where the true value is
    −inf or finite); d·(d/v) does not overflow before the result does (the scaled-square rule's form)."""
    if not (node.is_Add and len(node.args) == 2):
        return None
    for first, second, n in ((*node.args, 1), (*node.args[::-1], 1), (*node.args, 2), (*node.args[::-1], 2)):
        for v in first.free_symbols:
            a, b = _over_power(first, v, n), _over_power(-second, v, n + 1, within_functions=True)
            if a is None or b is None or not b.free_symbols or a.is_zero or (a.could_extract_minus_sign()
                                                                          != b.could_extract_minus_sign()):
                continue
            k = a if a.is_Number else sp.S.One  # a number outside (exact): SymPy would distribute it over d
            c, rest = (b / k).as_coeff_Mul()
            c = sp.S.One if float(c) == 1.0 else c  # 0.5/0.5 is the Float 1.0, which SymPy would distribute over d
            if rest.is_Pow and rest.exp == 2:
                d = rest.base
                scaled = c * d * sp.UnevaluatedExpr(d / v)
            else:
                scaled = b / k * sp.UnevaluatedExpr(1 / v)
            one = sp.S.One if (a / k).is_Number and float(a / k) == 1.0 else a / k
            return _Final(k * widen((one - scaled) / v if n == 1 else sp.UnevaluatedExpr((one - scaled) / v) / v))
    return None


ONE_DENOMINATOR = Rule(
    "one-denominator", "a/v − b/v² is inf − inf = NaN where v is subnormal (the Gaussian NLL's ∂v = (1/v − (x − t)²/v²)/2: "
    "NaN at v = 5e−324 where it is −6.6e646, i.e. −inf; torch the same), and cancels where b ≈ a·v; (a − b/v)/v, "
    "b/v as d·(d/v) for b = d² (no overflow before the result), in float64 (double-word in a float64 kernel), "
    "rounded once; b may hold v inside a function's argument (the Gumbel NLL's ∂b, 1/b − N/b² with N = x − μ + "
    "(μ − x)·e^((μ − x)/b), near its root: 3.25e4 ULP in float64, torch 720, now ≤ 0.5 ULP over 300 points)",
    local=_one_denominator)
_register(ONE_DENOMINATOR)
__all__ += ["ONE_DENOMINATOR"]


# ------------------------------------------------------------------ compensated-sum (issue 16: a written softmax's
# gradient −p·s_j = −e^(a − m)·e^(a_j − m)/S² squares the rounding of S = Σ e^(a_i − m)); tested in tests/test_lse15.py.
# Two terms too since session 42 (h-soft42, tests/test_soft42.py): exp(a)/(exp(a) + exp(b)) rounded e^−|a − b|, S = 1 +
# e^−|a − b|, S² and the quotient each (∂b 2.38 ULP at (−650.73, −644.80) in float64, torch's autograd 0.38; worse than
# max(torch, 1) at 79 of 306 points), a − log(exp(a) + exp(b))'s ∂b = −e^(b − m)/S likewise (1.13, torch 0.13): the
# whole float64 block in double words, rounded once, 0.50 ULP at all 306 (and float32, a float64 block, 0.50)

def _compensated_sum_node(node):
    """A max-shifted sum of two or more terms, Σ exp_shift(a_i, m) with one m → that sum widened over its terms
    (each term computed in the kernel's dtype, the sum of them in float64 or double-word, rounded once); a log's or
    log1p's argument is left (the log-sum-exp rules' forms), None elsewhere."""
    if isinstance(node, (sp.log, log1p)):
        return node  # not entered
    if not (node.is_Add and len(node.args) >= 2 and all(isinstance(t, exp_shift) for t in node.args)
            and len({t.args[1] for t in node.args}) == 1):
        return None
    terms = sorted(node.args, key=sp.default_sort_key)
    body = _compensated_body(len(terms))
    leaves = sorted(body.args, key=lambda e: int(e.name[2:]))  # e_0, e_1, …: the k-th term's leaf
    cls = type(widen(body))
    by_leaf = dict(zip(leaves, terms))
    return cls(*(by_leaf[leaf] for leaf in cls.leaves))


def _compensated_body(n: int) -> sp.Expr:
    """The body of an n-term compensated sum: e_0 + … + e_(n−1), each leaf positive (one class per n)."""
    return sp.Add(*[sp.Symbol(f"e_{k}", positive=True) for k in range(n)])


def is_compensated_sum(node) -> bool:
    """Whether ``node`` is a sum the compensated-sum rule widened (its class's body is
    :func:`_compensated_body`): the Triton backend then computes a float32 kernel in float64 throughout, as the
    NumPy backend computes any float32 block with a widened sum (S², the quotient and the product in float32 gave
    the written 24-term softmax's gradient 2.39 ULP at a_i = −800 + i/8; 0.49 in float64)."""
    return isinstance(node, WidenedBase) and len(node.leaves) >= 2 and node.body == _compensated_body(len(node.leaves))


def _compensated_sums(expr):
    """``expr`` with each max-shifted sum of two or more terms outside a log summed once, rounded once
    (:func:`_compensated_sum_node`); the sum shared by a softmax's value and gradients is one node of the kernel."""
    if not isinstance(expr, sp.Basic) or not expr.has(exp_shift):
        return expr
    return _top_down(expr, _compensated_sum_node)


COMPENSATED_SUM = Rule(
    "compensated-sum", "a max-shifted sum S = Σ e^(a_i − m) of many terms is rounded at every addition (0.95 ULP off "
    "for 24 terms at a_i = −800 + i/8 in float64), and a softmax gradient −e^(a − m)·e^(a_j − m)/S² doubles that "
    "(4.49 ULP; torch.softmax's autograd 1.71); the terms summed in float64 (double-word in a float64 kernel) and "
    "rounded once give S to about half an ULP (the gradient 1.12 ULP), and the kernel's float64 block is computed again "
    "in double words, each output rounded once (0.50 ULP); two terms too: exp(a)/(exp(a) + exp(b))'s ∂b, "
    "−e^−|a − b|/(1 + e^−|a − b|)² with e^−|a − b|, the sum, its square and the quotient each rounded, was 2.38 ULP in "
    "float64 where torch's autograd is 0.38 (0.50 now); a log's sum is left to the log-sum-exp rules", apply=_compensated_sums, fired=lambda old, new: new != old)
_register(COMPENSATED_SUM)
__all__ += ["COMPENSATED_SUM", "is_compensated_sum"]


# ------------------------------------------------------------------ rounded-log-argument (issue 16, session 18: log(x·y)
# near x·y = 1 and log1p(x·y) near x·y = −1 take the product's rounding, half an ulp of 1, relative to a result near
# 0: 9.7e6 and 2.7e5 ULP in float64, torch the same); tested in tests/test_logprod18.py


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


def _shifted_product(s) -> bool:
    """s = k + p, a number k ≠ 0 and a rounded product p (:func:`_rounded_product`): 1 + x·y, log1p's derivative's
    denominator."""
    if not (isinstance(s, sp.Expr) and s.is_Add and len(s.args) == 2):
        return False
    k, p = sorted(s.args, key=lambda a: not a.is_number)
    if not (k.is_number and k != 0 and _rounded_factors(p)):
        return False
    # 1 + x² (atan′'s denominator) cannot cancel: its terms share a sign, and the sum rounds once
    return not ((k > 0 and p.is_nonnegative) or (k < 0 and p.is_nonpositive))


def _factor_powers(p):
    """(c, [(a, n), …]) with p = c·Π aⁿ (the power-product rule's grouped s·(s·Y) unwrapped)."""
    if isinstance(p, sp.UnevaluatedExpr):
        return _factor_powers(p.args[0])
    c, rest = p.as_coeff_Mul()
    powers = []
    for f in sp.Mul.make_args(rest):
        if isinstance(f, sp.UnevaluatedExpr):
            k, inner = _factor_powers(f)
            c, powers = c * k, powers + inner
        else:
            base, n = f.as_base_exp()
            powers.append((base, n))
    return c, powers


_PRODUCT_RANGE = (sp.Float(2.0 ** -1000), sp.Float(2.0 ** 1000))  # |p| inside: p is a normal float64


def _log_of_factors(p):
    """log p as log|c| + Σ n·log|a| where the factors' signs make p > 0 (a select: NaN elsewhere, as log p), for
    a p that the dtype cannot hold (0, subnormal or ±inf after rounding): no cancellation there, since
    |log p| > 690 while each |log a| < 745."""
    c, powers = _factor_powers(p)
    total = sp.log(sp.Abs(c)) + sp.Add(*[n * sp.log(sp.Abs(a)) for a, n in powers])
    signs = sp.Mul(sp.sign(c), *[sp.sign(a) for a, n in powers if n % 2])
    return sp.Piecewise((total, signs > 0), (sp.log(p), True))


def _rounded_sum(s) -> bool:
    """s = x + y (x − y, k + x + y, …): a sum of two or more inputs (each ±1 times an input) and maybe a number,
    rounded once or twice as it is formed, and exact as a double-word (Knuth's two-sum)."""
    if not (isinstance(s, sp.Expr) and s.is_Add):
        return False
    numbers = [a for a in s.args if a.is_Number]
    inputs = [a for a in s.args if not a.is_Number]
    return (len(numbers) <= 1 and len(inputs) >= 2 and len(s.free_symbols) >= 2
            and all(a.is_Symbol or (a.is_Mul and a.args[0] == -1 and len(a.args) == 2 and a.args[1].is_Symbol)
                    for a in inputs))


_POLYNOMIAL_OPERATIONS = 24  # the most roundings a sum of products may take to be widened (each a two-product/sum)


def _polynomial_sum(s) -> bool:
    """s = x·y − z (x·y + z·w, x² + y², x·(1 − y) + y·(1 − x), …): a sum of two or more terms in two or more inputs,
    built of sums, products and whole powers (2 to 4) of inputs and numbers, some term a product or power (a sum of
    bare inputs is :func:`_rounded_sum`'s): each product rounded once it is formed (half an ulp of 1 where the sum
    is near 1, or where it cancels), and held to about 2⁻¹⁰⁵ of its terms as a double-word (two-products,
    two-sums)."""
    if not (isinstance(s, sp.Expr) and s.is_Add) or len(s.free_symbols) < 2 or _rounded_sum(s):
        return False
    operations = 0
    for n in sp.preorder_traversal(s):
        if n.is_Symbol or n.is_Number:
            continue
        if n.is_Add or n.is_Mul:
            operations += len(n.args) - 1
        elif n.is_Pow and n.exp.is_Integer and 2 <= n.exp <= 4 and n.base.is_Symbol:
            operations += 1
        else:
            return False
    return operations <= _POLYNOMIAL_OPERATIONS and sum(not a.is_Number for a in s.args) >= 2


def _halved_log(s):
    """log s as log(s/2ᵏ) + k·log 2 with 2ᵏ ≥ the number of terms, for a sum s of inputs that overflows (x = y =
    1.8e308: x + y = inf where log(x + y) = 710.5): each term scaled exactly (no term is subnormal where the sum
    is past 2¹⁰⁰⁰), the scaled sum at most the largest term."""
    k = max(1, (len(s.args) - 1).bit_length())
    return sp.log(sp.Add(*[a / 2 ** k for a in s.args])) + k * sp.log(2)


def _rounded_sum_log(node):
    """log(s), log1p(s) of a rounded sum s of inputs (:func:`_rounded_sum`) → the node widened to first order in
    either dtype (s a two-sum s_hi + s_lo: exact; float64 alone rounds 1 − 1e−30 in a float32 kernel; then
    log s_hi + s_lo/s_hi, doubleword's _dw_log_first, a few operations where _dw_log takes some 100), and
    log(s/2) + log 2 where s passes 2¹⁰⁰⁰ (it overflows first; log1p(s) ≈ log s there); s⁻ⁿ of a sum rounded twice or more (1 + x + y,
    log1p′'s denominator; x + y + z, log′'s) → widened; None elsewhere."""
    hi = _PRODUCT_RANGE[1]
    if isinstance(node, (sp.log, log1p)) and (_rounded_sum(node.args[0]) or _polynomial_sum(node.args[0])):
        s = node.args[0]
        bound = sp.Abs(s) <= hi if isinstance(node, sp.log) else s <= hi
        return sp.Piecewise((widen(node, first_order=True, in_float32=True), bound), (_halved_log(s), True))
    if (node.is_Pow and node.exp.is_Integer and node.exp < 0
            and ((_rounded_sum(node.base) and len(node.base.args) >= 3) or _polynomial_sum(node.base))):
        return widen(node.base, in_float32=True) ** node.exp
    return None


def _far_log(node):
    """(the range where the widened log of a rounded product or sum holds, the form beyond it) for ``node`` = log(v)
    or log1p(v) of a rounded product (:func:`_rounded_factors`) or sum (:func:`_rounded_sum`,
    :func:`_polynomial_sum`) of inputs, as this rule writes them alone; None for any other node."""
    if not isinstance(node, (sp.log, log1p)):
        return None
    v, (lo, hi) = node.args[0], _PRODUCT_RANGE
    if _rounded_factors(v):
        inside = (sp.Abs(v) >= lo) & (sp.Abs(v) <= hi) if isinstance(node, sp.log) else v <= hi
        return inside, _log_of_factors(v)
    if _rounded_sum(v) or _polynomial_sum(v):
        return (sp.Abs(v) <= hi if isinstance(node, sp.log) else v <= hi), _halved_log(v)
    return None


def _double_word_term(e) -> bool:
    """``e`` is a number, an input or a product of inputs and a number: the double-word path holds it to 2⁻¹⁰⁶."""
    return e.is_number or e.is_Symbol or _rounded_factors(e) or (e.is_Mul and e.as_coeff_Mul()[1].is_Symbol)


def _shifted_log_sum(node):
    """k + c·log(v) (and other exact terms: k − z + log(x·y)) with v a rounded product or sum of inputs (the
    ∂t of t·log(t/p), 1 + log(t/p)): the log alone is rounded once, but the sum cancels where log v ≈ −k, and the
    log's own rounding (half an ulp of 1) is then all of the result: the whole sum widened where v is in range,
    the sum with log v as :func:`_far_log` writes it beyond; None elsewhere."""
    logs = [a for a in node.args if _far_log(a.as_coeff_Mul()[1]) is not None]
    if len(logs) != 1 or not all(_double_word_term(a) for a in node.args if a is not logs[0]):
        return None
    c, log_node = logs[0].as_coeff_Mul()
    inside, far = _far_log(log_node)
    return sp.Piecewise((widen(node), inside), (node.xreplace({log_node: far}), True))


def _square_quotient_of(s):
    """(the written q = c·d²/V, the scaled-square rule's condition for it, a value of q's sign) where ``s`` is that
    rule's select {c·d²/V if 2⁻⁶⁰ < |d| < 2⁶⁰; d·(c·(d/V)) otherwise} (d a sum of two inputs, V an input), else
    None."""
    if not (isinstance(s, sp.Piecewise) and len(s.args) == 2 and s.args[1].cond == sp.true):
        return None
    q, cond = s.args[0]
    q = q.args[0] if isinstance(q, sp.UnevaluatedExpr) else q
    c, rest = q.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    squares = [f for f in factors if f.is_Pow and f.exp == 2 and _rounded_sum(f.base) and len(f.base.args) == 2]
    over = [f for f in factors if f.is_Pow and f.exp == -1 and f.base.is_Symbol]
    if len(factors) != 2 or len(squares) != 1 or len(over) != 1:
        return None
    if sp.cancel(_ungrouped_math(s.args[1].expr) - q) != 0:
        return None
    return q, cond, sp.sign(c) * over[0].base  # the sign of q (d² ≥ 0): c·V's


def _shifted_square_quotient(node):
    """log1p(S) and (1 + S)⁻ⁿ of S = d²/V as the scaled-square rule writes it (:func:`_square_quotient_of`; the
    Cauchy loss log(1 + (p − t)²/c) and its gradients): 1 + d²/V cancels where V < 0 and d² ≈ −V, and d², its
    quotient and the sum each round first (∂c 4.5e6 ULP in float64 at d = 1, V = −1 − 1e−9; ∂p 56 at d = −4.89,
    V = −24.1): the node widened (d a two-sum, d² and the quotient double-word) where the select takes d²/V and
    q has the sign that cancels (V < 0 for 1 + d²/V), as it was elsewhere; None for any other node."""
    if isinstance(node, log1p):
        found = _square_quotient_of(node.args[0])
        if found is not None:
            q, cond, sign = found  # log1p(q) loses digits where q < 0 only (1 + q cancels)
            return sp.Piecewise((widen(log1p(q)), cond & (sign < 0)), (node, True))
    if node.is_Pow and node.exp.is_Integer and node.exp < 0 and node.base.is_Add and len(node.base.args) == 2:
        k, s = sorted(node.base.args, key=lambda a: not a.is_number)
        found = _square_quotient_of(s) if k.is_number and k != 0 else None
        if found is not None:
            q, cond, sign = found  # k + q cancels where q/k < 0 only
            # (overflowing-log1p, after this rule, finds the quotient in the select's last branch)
            return sp.Piecewise((widen(k + q) ** node.exp, cond & (sp.sign(k) * sign < 0)), (node, True))
    return None


def _rounded_log_argument_node(node):
    """log(p), log1p(p), log(k + p) of a rounded product p → the node widened (p in double-word, the log of it,
    rounded once), and log p as a sum of logs of the factors where p leaves float64's normal range (log1p: above
    it); (k + p)⁻ⁿ → (k + p widened)⁻ⁿ; the same for a rounded sum of inputs (:func:`_rounded_sum_log`); a sum
    k + log p → widened (:func:`_shifted_log_sum`); None elsewhere."""
    if node.is_Add:
        return _shifted_log_sum(node)
    shifted = _shifted_square_quotient(node)
    if shifted is not None:
        return shifted
    summed = _rounded_sum_log(node)
    if summed is not None:
        return summed
    lo, hi = _PRODUCT_RANGE
    if isinstance(node, log1p) and _rounded_factors(node.args[0]):
        p = node.args[0]
        return sp.Piecewise((_log_of_factors(p), p > hi), (widen(node), True))
    if isinstance(node, sp.log) and _rounded_factors(node.args[0]):
        p = node.args[0]
        return sp.Piecewise((widen(node), (sp.Abs(p) >= lo) & (sp.Abs(p) <= hi)), (_log_of_factors(p), True))
    if isinstance(node, sp.log) and _shifted_product(node.args[0]):
        return widen(node)
    if node.is_Mul:
        return _shifted_product_quotient(node)
    if node.is_Pow and node.exp.is_Integer and node.exp < 0 and _shifted_product(node.base):
        return widen(node.base) ** node.exp
    return None


def _shifted_product_quotient(node):
    """R/(k + p) with p = a·R (log1p(x·y)′ = y/(1 + x·y)) → R/(k + p widened), and 1/(a + k/R) where |p| > 2¹⁰⁰⁰
    (there k + p overflows first: y/inf = 0 where the value is 1/x); None where the product is not of that form."""
    for f in node.args:
        if not (f.is_Pow and f.exp == -1 and _shifted_product(f.base)):
            continue
        k, p = sorted(f.base.args, key=lambda e: not e.is_number)
        rest = sp.Mul(*[g for g in node.args if g is not f])
        a = p / rest
        if not (a.is_Symbol or (a.is_Pow and a.base.is_Symbol and a.exp.is_Integer)):
            continue
        far = 1 / (a + k / rest)  # |k/R| = |k·a/p| ≤ 2⁻¹⁰⁰⁰·|a|: no cancellation
        return sp.Piecewise((far, sp.Abs(p) > _PRODUCT_RANGE[1]), (rest / widen(f.base), True))
    return None


def _rounded_log_arguments(expr):
    """``expr`` with each log or log1p of a rounded product of inputs, and each reciprocal of 1 + such a product,
    widened (:func:`_rounded_log_argument_node`)."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.log, log1p, sp.Pow):
        return expr
    return _top_down(expr, _rounded_log_argument_node, _KEPT)


ROUNDED_LOG_ARGUMENT = Rule(
    "rounded-log-argument", "log(v) and log1p(v) turn an absolute error of v into a relative error of "
    "1/|log v| (log1p: 1/|log1p v|), and v = x·y (c·x·y, x/y, x²·y) is rounded once formed: half an ulp of 1 "
    "divided by a result near 0 (log(x·y) 9.7e6 ULP in float64 at x = 1.4428819183193045, y = 0.6930573954107464, "
    "log1p(x·y) 2.7e5 near x·y = −1 and its derivative y/(1 + x·y) alike; torch the same); v as a double-word "
    "(Dekker's two-product: exact for two factors) into the double-word log or log1p (and 1 + x·y a double-word "
    "sum), rounded once, in a float64 kernel (NumPy: only where a bound of the float64 form's error is past 3 ULP, "
    "i.e. near the root); in float64 in a float32 one (a product of two float32 is exact there); where p itself "
    "leaves the dtype's normal range (x = y = 1e200: inf; 7.3e6·5e−324 subnormal, 1.5e5 ULP) log p as "
    "log|x| + log|y| (NaN where the signs make p < 0; log1p the same above 2¹⁰⁰⁰), no cancellation there; "
    "log1p's derivative y/(1 + x·y) as 1/(x + 1/y) where x·y is past 2¹⁰⁰⁰ (y/inf = 0 where it is 1/x); a rounded "
    "sum of inputs the same (log(x + y) 5.3e14 ULP in float64 near x + y = 1, log1p(x + y) 2.6e5 near −1 and its "
    "derivative 1/(1 + x + y) 3.6e6): x + y a two-sum s + e, log s + e/s (log1p s + e/(1 + s)) to first order in either dtype (and "
    "1/(1 + x + y), 1/(x + y + z), sums rounded twice, a double-word sum), and log(x/2 + y/2) + log 2 (n terms: "
    "each over 2ᵏ ≥ n) where the sum passes 2¹⁰⁰⁰ (x = y = 1.7e308: inf where log(x + y) = 710.4); a sum whose terms "
    "are products of inputs the same, each product a two-product (log(x·y − z) 4.5e15 ULP in float64 at x = 3, "
    "y = fl(1/3), z = 0; log(x·(1 − y) + y·(1 − x)) 6.0e15 at x = 1e−300, y = 1; log(x² + y²) 7.2e15 at (0.6, 0.8)); "
    "and a sum k + c·log v of such a log and numbers or inputs widened whole: it cancels where log v ≈ −k/c, and "
    "the log's own ulp is then all of it (1 + log(t/p), the ∂t of t·log(t/p): 4.5e15 ULP at p = e, t = 1; torch "
    "the same); and log1p(d²/V) and 1/(1 + d²/V) of a square of a difference over an input (log(1 + (p − t)²/c), "
    "whose sum cancels where c < 0 and (p − t)² ≈ −c: ∂c 4.5e6 ULP at p − t = 1, c = −1 − 1e−9) widened where "
    "the scaled-square rule's select takes d²/V and d²/V < 0",
    apply=_rounded_log_arguments, fired=lambda old, new: new != old)
_register(ROUNDED_LOG_ARGUMENT)
__all__ += ["ROUNDED_LOG_ARGUMENT"]

# ------------------------------------------------------------------ widened-log-argument (issue 16, session 33: ∂α of
# the generalised Charbonnier loss ((p − t)² + ε²)^(α/2), W^(α/2)·log(W)/2 with W the widened sum, was 0 at p − t = 1,
# ε = 1e−30 for 5e−61: W rounded to 1 before the log, h-hostile33); tested in tests/test_hostile33.py


def _widened_log(node):
    """log(W) of a widened sum W (the widen rule's: its body a sum, computed in double-word and rounded once) → the log
    of the body widened whole (log s_hi + s_lo/s_hi of the double-word sum) where |W| ≤ 2¹⁰⁰⁰, log(W) beyond (no
    cancellation there); None for any other node."""
    if not (isinstance(node, sp.log) and isinstance(node.args[0], WidenedBase)):
        return None
    w = node.args[0]
    body = w.body
    if not body.is_Add or body.has(sp.log, log1p, sigmoid, softplus):
        return None
    # (W = 0 or below 2⁻¹⁰⁰⁰ keeps log W: log s_hi + s_lo/s_hi is NaN at 0, where log W is −inf, session 33's review)
    return sp.Piecewise((widen(sp.log(body), first_order=True, in_float32=True),
                         sp.And(sp.Abs(w) >= _PRODUCT_RANGE[0], sp.Abs(w) <= _PRODUCT_RANGE[1])), (node, True))


def _widened_logs(expr):
    """Every log of a widened sum in ``expr`` as :func:`_widened_log` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.log) or not expr.has(WidenedBase):
        return expr
    return _top_down(expr, lambda node: _widened_log(node) if isinstance(node, sp.Expr) else None, _KEPT)


WIDENED_LOG_ARGUMENT = Rule(
    "widened-log-argument", "log W of a sum W the widen rule computes in double-word is rounded to one float first: "
    "near W = 1 half an ulp of 1 is all of log W (∂α of ((p − t)² + ε²)^(α/2), W^(α/2)·log(W)/2, 0 at p − t = 1, "
    "ε = 1e−30 for 5e−61; torch 0 too); the log of the double-word sum to first order, log s_hi + s_lo/s_hi (exact "
    "to 2⁻¹⁰⁰ or so: log(s_hi + s_lo) = log s_hi + log1p(s_lo/s_hi), |s_lo/s_hi| ≤ 2⁻⁵³), rounded once, where |W| ≤ "
    "2¹⁰⁰⁰ (in a float32 kernel too: float64 rounds 1 + 1e−20); log W beyond", apply=_widened_logs,
    fired=lambda old, new: new != old)
_register(WIDENED_LOG_ARGUMENT)
RULES = RULES[:RULES.index(ROUNDED_LOG_ARGUMENT) + 1] + (WIDENED_LOG_ARGUMENT,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_LOG_ARGUMENT) + 1:] if r is not WIDENED_LOG_ARGUMENT)
__all__ += ["WIDENED_LOG_ARGUMENT"]

# ------------------------------------------------------------------ homogeneous-quotient (issue 16, session 33: ∂p of
# (p − t)²/(p² + t²) was 2(p − t)/(p² + t²) − 2p(p − t)²/(p² + t²)², whose terms cancel as t → 0: 8.9e−16 for
# 2.2e−299 at (0.3, 1e−300); and f, ∂p, ∂t NaN (inf/inf, 0/0) from |p| ≈ 1e154 and below 1e−154, h-hostile33); tested
# in tests/test_hostile33.py

_HOMOGENEOUS_DEGREE, _HOMOGENEOUS_TERMS, _HOMOGENEOUS_OPERATIONS = 8, 24, 200  # the largest outputs taken


def _no_real_zero(f) -> bool:
    """Whether the homogeneous polynomial ``f`` (a Poly) is 0 only at 0 over the reals, as far as cheaply decided: a
    sum of even monomials with positive coefficients (p² + t²), or in two inputs f(s, 1) without a real root and of
    f's full degree (p² + p·t + t²: Sturm's count); False otherwise (e² + p² + t² − 2pt vanishes on p = t, e = 0)."""
    if all(c > 0 for c in f.coeffs()) and all(k % 2 == 0 for m in f.monoms() for k in m):
        return True
    if len(f.free_symbols) != 2:
        return False
    x, y = sorted(f.free_symbols, key=sp.default_sort_key)
    g = sp.Poly(f.as_expr().subs(y, 1), x)
    return g.degree() == f.total_degree() and g.count_roots() == 0


def _homogeneous_quotient(expr, monomial=False):
    """An output that is a quotient N/D of homogeneous polynomials in 2 … 4 inputs (of degrees n and m, D of two
    terms or more and degree 2 or more) → s^(n − m)·R(x/s, …), s the largest power of two ≤ max |x_i|, R = N/D put
    over one denominator and factored over the rationals (SymPy's factor: the terms that cancel in the written form
    cancel symbolically), widened (double-word in float64, float64 in float32), the powers of s applied one at a time
    after it (as products by r = 1/s, binade_reciprocal); None for any other output.

    Exact: N(r·x)/D(r·x) = r^(n − m)·N(x)/D(x) for homogeneous N and D and any r > 0; r a power of two, so r·x is
    exact (unless it is subnormal: then below 2⁻¹⁰²² of the largest input), and the largest |r·x| lies in [1, 2)
    (at least 2⁻⁵¹ in float64, 2⁻²² in float32, where the inputs are subnormal and r is clamped to the dtype's
    largest power of two): no square or product of the scaled inputs overflows, none of the largest underflows."""
    if not isinstance(expr, sp.Expr) or expr.is_number:
        return None
    syms = sorted(expr.free_symbols, key=sp.default_sort_key)
    if not 2 <= len(syms) <= 4 or not all(isinstance(x, sp.Symbol) and x.is_real for x in syms):
        return None
    for n in sp.preorder_traversal(expr):
        if not (n.is_Add or n.is_Mul or n.is_Symbol or n.is_Rational or (n.is_Pow and n.exp.is_Integer)):
            return None
    if sp.count_ops(expr) > _HOMOGENEOUS_OPERATIONS:  # (SymPy's cancel and factor stay fast below it)
        return None
    # the common denominator's degree bounded before SymPy forms it: together() of Σ x²/(x + k·y + c_k·z)², 11 terms
    # of 93 operations, took 46 CPU-s for a ∂ the rule then refused (session 33's review)
    divisors = {a.base: -a.exp for a in expr.atoms(sp.Pow) if a.exp.is_Integer and a.exp < 0 and not a.base.is_Symbol}
    def degree(b):  # a divisor's degree, a nested quotient's (1 + x²/ν) its numerator's and denominator's together
        n, d = sp.fraction(sp.together(b))
        return sp.Poly(n, *syms).total_degree() + sp.Poly(d, *syms).total_degree()

    if len(divisors) > 3 or sum(degree(b) * k for b, k in divisors.items()) > _HOMOGENEOUS_DEGREE:
        return None
    num, den = sp.fraction(sp.cancel(sp.together(expr)))
    N, D = sp.Poly(num, *syms), sp.Poly(den, *syms)
    if (D.total_degree() < 2 or len(D.terms()) < 2) and not (monomial and len(D.terms()) == 1):
        # x/y, x/(x + y): the printers' quotients by exponents suffice (a monomial D: the cancelling-polynomial rule's)
        return None
    if not (N.is_homogeneous and D.is_homogeneous) or len(N.terms()) > _HOMOGENEOUS_TERMS \
            or len(D.terms()) > _HOMOGENEOUS_TERMS or max(N.total_degree(), D.total_degree()) > _HOMOGENEOUS_DEGREE:
        return None
    # the scale is D's largest input, so an input of N alone would leave D's squares to underflow (x·z/(x² + y²) at
    # (3, 2, 1e200): inf, where the written form is right); and a factor of D that vanishes away from 0 would be
    # expanded by cancel (((p − t)² + e²) as e² + p² + t² − 2pt, 0 in float64 at p ≈ t: inf for 0.9999): refused
    # (session 33's review)
    d_syms = D.free_symbols | (N.free_symbols if monomial and len(D.terms()) == 1 else set())  # a monomial: every input
    if not N.free_symbols <= d_syms or not all(_no_real_zero(f) for f, _ in D.factor_list()[1] if f.total_degree() >= 2):
        return None
    d = N.total_degree() - D.total_degree()
    core = widen(sp.factor(num) / sp.factor(den))
    scale = binade_reciprocal(sp.Max(*[sp.Abs(x) for x in sorted(d_syms, key=sp.default_sort_key)]))
    out = core.func(*[leaf * scale for leaf in core.leaves])
    for _ in range(abs(d)):  # one power of r at a time: each product exact where it stays in range, and monotone
        out = Grouped(out * scale) if d < 0 else Grouped(out / scale)
    return out


def _homogeneous_quotients(expr):
    """``expr`` (an output after the other rules) as :func:`_homogeneous_quotient` writes it where it is still a
    quotient of polynomials (the other rules at most widened its sums, rounded-log-argument's (p² + t²), or kept an
    order, power-product's), as it is otherwise: a form another rule made (product-over-sum's, quotient-square's
    selects) is kept."""
    if not isinstance(expr, sp.Expr):
        return expr
    plain = unwiden(expr) if expr.has(WidenedBase) else expr
    if plain.has(Grouped):  # (a kept order: power-product's p·(p/W²))
        plain = plain.replace(lambda g: isinstance(g, Grouped), lambda g: g.args[0])
    if plain.has(binade_reciprocal):  # a scale r another rule applied, exact for any r > 0 (reciprocal-margin's
        # r^(−d)·D(r·x) of a difference of one degree): at r = 1 its select's branches are one, which SymPy merges
        plain = plain.replace(lambda n: isinstance(n, binade_reciprocal), lambda n: sp.S.One)
    new = _homogeneous_quotient(plain)
    return expr if new is None else new


HOMOGENEOUS_QUOTIENT = Rule(
    "homogeneous-quotient", "a quotient of homogeneous polynomials in several inputs ((p − t)²/(p² + t²) and its "
    "gradients) cancels as written where a derivative's terms meet (∂p 8.9e−16 for 2.2e−299 at (0.3, 1e−300)) and "
    "overflows or underflows its squares where it does not (NaN from |p| ≈ 1e154 and below 1e−154, torch the same); "
    "over one denominator and factored (2t(p − t)(p + t)/(p² + t²)²: the cancelling terms cancel symbolically), "
    "widened (double-word in float64), at the inputs over s, the largest power of two ≤ max |x_i| (exact: times "
    "r = 1/s, binade_reciprocal), times s^d after it one factor at a time (d the degree): R(x) = s^d·R(x/s) exactly", apply=_homogeneous_quotients,
    fired=lambda old, new: new != old)
_register(HOMOGENEOUS_QUOTIENT)
__all__ += ["HOMOGENEOUS_QUOTIENT"]


# ------------------------------------------------------------------ scaled-erfc (issue 16, session 18: erfc(x)·e^(x²)
# is 0·inf = NaN from x ≈ 27 in float64 where it is 0.0209 … 5.6e−5; torch the same); tested in tests/test_logprod18.py


def _scaled_erfc_product(node):
    """k·erfc(u)·e^v (v − u² simpler than v: e^(u²), e^(u² − y), e^(2x + x²) with u = x + 1) → k·erfcx(u)·e^(v − u²);
    None where no such pair is a factor of the product."""
    erfcs = [f for f in node.args if isinstance(f, sp.erfc)]
    exps = [f for f in node.args if isinstance(f, sp.exp)]
    for f in erfcs:
        u = f.args[0]
        for e in exps:
            v = sp.expand(e.args[0])
            w = sp.expand(v - u ** 2)
            if w == 0 or sp.count_ops(w) < sp.count_ops(v):
                rest = [a for a in node.args if a is not f and a is not e]
                return sp.Mul(*rest) * erfcx(u) * sp.exp(w)
    return None


def _scaled_erfc_slope(node):
    """C·erfcx(u) + R, a sum with C = k·u (k free of u's inputs) and R holding −k/√π (erfcx′ = 2u·erfcx(u) − 2/√π,
    the derivative the product rule writes, maybe spread over terms: (x + 1)·erfcx(x + 1) as x·erfcx + erfcx)
    → (k/2)·erfcx_slope(u) + (R + k/√π); with C free of u's inputs and R holding −C/(√π·u) → C·erfcx_slope(u)/(2u)
    + (R + C/(√π·u)); None where no such part is there."""
    for f in sorted(node.atoms(erfcx), key=sp.default_sort_key):
        u = f.args[0]
        holding = [t for t in node.args if f in sp.Mul.make_args(t)]
        rest = [t for t in node.args if f not in sp.Mul.make_args(t)]
        c = sp.cancel(sp.Add(*[t / f for t in holding]))
        k = sp.cancel(c / u)
        if not (k.has(erfcx) or k.free_symbols & u.free_symbols):
            left = sp.expand(sp.Add(*rest) + k / sp.sqrt(sp.pi))
            if len(sp.Add.make_args(left)) < len(rest) or (left == 0 and rest):
                return k / 2 * erfcx_slope(u) + left
        if c.has(erfcx) or c.free_symbols & u.free_symbols:
            continue
        # c·erfcx(u) − c/(√π·u) (erfcx less its first asymptotic term: it cancels to −c/(2√π·u³) for u ≫ 1, 2u² of
        # the digits lost: 1.3e3 ULP in float64 at u = 100) = c·erfcx′(u)/(2u), erfcx′ computed whole
        left = sp.expand(sp.Add(*rest) + c / (sp.sqrt(sp.pi) * u))
        if len(sp.Add.make_args(left)) < len(rest) or (left == 0 and rest):
            return c * erfcx_slope(u) / (2 * u) + left
    return None


def _distributed_scaled_erfc(node):
    """c·e^v·(Σ t_i) with some t_i holding erfc(u) (SymPy's form of the derivative of erfc(u)·e^v) → c·Σ (t_i·e^v),
    each term by :func:`_scaled_erfc_product`, the sum by :func:`_scaled_erfc_slope`; None where nothing changes."""
    sums = [a for a in node.args if a.is_Add and a.has(sp.erfc)]
    exps = [a for a in node.args if isinstance(a, sp.exp)]
    for total in sums:
        for e in exps:
            terms = [(t * e).replace(sp.exp, lambda a: sp.exp(sp.expand(a))) for t in total.args]
            terms = [(_scaled_erfc_product(t) if t.is_Mul else None) or t for t in terms]
            if not any(t.has(erfcx) for t in terms):
                continue
            summed = sp.Add(*terms)
            summed = (_scaled_erfc_slope(summed) if summed.is_Add else None) or summed
            rest = [a for a in node.args if a is not total and a is not e]
            return sp.Mul(*rest) * summed
    return None


def _scaled_erfc_slope_tail(node):
    """c·erfcx′(u) + R, a sum with c free of u's inputs and R holding c/(√π·u²) (the derivative of c·erfcx(u) −
    c/(√π·u), the value's erfcx′(u)/(2u)) → c·erfcx_slope_tail(u) + (R − c/(√π·u²)): erfcx′ less its leading
    asymptotic term, which cancels to 3c/(2√π·u⁴) for u ≫ 1 (18 ULP in float64 at u = 8, 1.5e7 at 1e4), computed
    whole; None where no such part is there."""
    for f in sorted(node.atoms(erfcx_slope), key=sp.default_sort_key):
        u = f.args[0]
        holding = [t for t in node.args if f in sp.Mul.make_args(t)]
        rest = [t for t in node.args if f not in sp.Mul.make_args(t)]
        c = sp.cancel(sp.Add(*[t / f for t in holding]))
        if c.has(erfcx, erfcx_slope) or c.free_symbols & u.free_symbols:
            continue
        left = sp.expand(sp.Add(*rest) - c / (sp.sqrt(sp.pi) * u ** 2))
        if len(sp.Add.make_args(left)) < len(rest) or (left == 0 and rest):
            return c * erfcx_slope_tail(u) + left
    return None


def _scaled_erfc(node):
    """erfc(u)·e^(u² + w) → erfcx(u)·e^w, k·u·erfcx(u) − k/√π → (k/2)·erfcx′(u) and c·erfcx′(u) + c/(√π·u²) →
    c·erfcx_slope_tail(u) (node by node: the product first, then the sum that holds it; a product of e^v and a sum
    holding erfc(u) distributed first)."""
    if node.is_Mul and node.has(sp.erfc) and node.has(sp.exp):
        return _scaled_erfc_product(node) or _distributed_scaled_erfc(node)
    if node.is_Add and node.has(erfcx):
        return _scaled_erfc_slope(node)
    if node.is_Add and node.has(erfcx_slope):
        return _scaled_erfc_slope_tail(node)
    return None


SCALED_ERFC = Rule(
    "scaled-erfc", "erfc(u)·e^(u²) (the scaled erfc, torch.special.erfcx) is 0·inf = NaN from u ≈ 27 in float64 "
    "(erfc underflows, e^(u²) overflows; true 0.0209 at 27, 5.6e−5 at 1e4), inf from u ≈ 9.4 in float32; written "
    "erfcx(u) (and e^(v − u²) for e^v: e^(x² − y)·erfc(x) = erfcx(x)·e^(−y)), computed by symnet/scaled_erfc.py's "
    "helpers (Taylor pieces from the ODE y′ = 2x·y − 2/√π, the asymptotic series A&S 7.1.23, e^(x²)·erfc(x) below 0; "
    "≤ 2.4 ULP in float64 against mpmath over [−26.6, 1e300]); its derivative 2u·erfcx(u) − 2/√π, which cancels to "
    "−1/(u²√π) (2u² of the digits lost), as erfcx′(u) computed whole, and erfcx(u) − 1/(√π·u), which cancels to "
    "−1/(2√π·u³) (1.3e3 ULP in float64 at u = 100, 4.5e15 at 1e8; torch the same), as erfcx′(u)/(2u), and its "
    "derivative erfcx′(u) + 1/(√π·u²), which cancels to 3/(2√π·u⁴) (18 ULP at u = 8, 1.5e7 at 1e4; torch 4.1e3, "
    "7.1e15) and crosses 0 at u ≈ −0.4517, as erfcx_slope_tail(u) computed whole (u²·erfcx′(u) + 1/√π, entire, by "
    "Taylor pieces, one about its root; the asymptotic series from its second term beyond 8.75); "
    "below u ≈ −26.6 erfcx overflows genuinely",
    local=_scaled_erfc)
_register(SCALED_ERFC)
__all__ += ["SCALED_ERFC"]


# ------------------------------------------------------------------ quotient-square (issue 16, session 18: the
# derivative of atan(x/y), ∂y = −x/(y²·(1 + x²/y²)), is inf/inf = NaN in float32 at x = 0.3, y = 1e−30 where it is
# −x/(x² + y²) = −3.33; torch the same); tested in tests/test_logprod18.py


def _square_of(e):
    """A where e = A² (a whole square; r²·X² with r a positive rational, A = r·X: atan(2x/y)′'s 4x²), else None."""
    c, rest = e.as_coeff_Mul()
    if c.is_Rational and c > 0 and rest.is_Pow and rest.exp == 2:
        r = sp.sqrt(c)
        return r * rest.base if r.is_Rational else None
    return None


def _quotient_square_parts(s):
    """(A, B, c) where s = c·(1 + A²/B²): 1 + A²/B² (atan(A/B)′'s denominator, as SymPy writes it), or r² + A²/B²
    with r a positive rational (4 + x²/y², atan(x/(2y))′'s after the affine-root and power-quotient rules, grouped:
    B = 2y, c = 4), else None."""
    if isinstance(s, sp.UnevaluatedExpr):
        s = s.args[0]
    if not (s.is_Add and len(s.args) == 2):
        return None
    c = next((t for t in s.args if t.is_Rational and t > 0), None)
    if c is None or not sp.sqrt(c).is_Rational:
        return None
    q = s.args[0] if s.args[1] == c else s.args[1]
    if isinstance(q, sp.Piecewise):  # the power-quotient rule's {x²/y² inside a range; (x²/y)/y outside}: one quotient
        forms = [e.replace(lambda n: isinstance(n, sp.UnevaluatedExpr), lambda n: n.args[0]) for e, _ in q.args]
        if any(sp.cancel(e - forms[0]) != 0 for e in forms[1:]):
            return None
        q = forms[0]
    numerator, denominator = q.as_numer_denom()
    a, b = _square_of(numerator), _square_of(denominator)
    return None if a is None or b is None else (a, sp.sqrt(c) * b, c)


def _over_sum_of_squares(a, b, numerator):
    """numerator/(A² + B²) for numerator A or B (or 1: ``None``), safe from overflow: the plain quotient where
    m = max(|X|, |Y|) is in [2⁻⁶⁰, 2⁶⁰] (A = r·X, B = s·Y, r and s numbers: atan(2x/y)′'s A = 2x; the range narrowed
    by them), else ((N/m)/S)/m with S = (A/m)² + (B/m)² and A/m = r·(X/m) (2x overflows at x = 1e308 where 2·(x/m)
    does not), (((1/m)/S)/m for 1), and 0 where X or Y is infinite (the written form's limit there)."""
    (r, x), (s, y) = a.as_coeff_Mul(), b.as_coeff_Mul()
    m = sp.Max(sp.Abs(x), sp.Abs(y))
    a_m, b_m = r * sp.UnevaluatedExpr(x / m), s * sp.UnevaluatedExpr(y / m)
    sum_m = sp.UnevaluatedExpr(a_m ** 2 + b_m ** 2)
    top = {a: a_m, b: b_m}[numerator] if numerator is not None else sp.UnevaluatedExpr(1 / m)
    plain = (sp.S.One if numerator is None else numerator) / (a ** 2 + b ** 2)
    scaled = sp.UnevaluatedExpr(top / sum_m) / m
    big, small = max(abs(r), abs(s), 1), min(abs(r), abs(s), 1)
    inside = (m >= sp.Float(2.0 ** -60 / float(small))) & (m <= sp.Float(2.0 ** 60 / float(big)))
    return sp.Piecewise((0, m > sp.Float(1.7976931348623157e308)), (plain, inside), (scaled, True))


def _reciprocal_parts(e):
    """(A, B) where e is 1/(A² + B²) as :func:`_over_sum_of_squares` builds it (numerator 1: the form this rule
    leaves where it could not see the factor A of −A/(B²·(1 + A²/B²)), because SymPy had taken it out of a sum
    around it), else None. Recognised by building it again from the A and B of its plain branch."""
    if not (isinstance(e, sp.Piecewise) and len(e.args) == 3):
        return None
    plain = e.args[1].expr
    if not (plain.is_Pow and plain.exp == -1 and plain.base.is_Add and len(plain.base.args) == 2):
        return None
    squares = [_square_of(t) for t in plain.base.args]
    if None in squares:
        return None
    for a, b in (squares, squares[::-1]):
        if _over_sum_of_squares(a, b, None) == e:
            return a, b
    return None


def _is_power_of(g, a):
    """g is a or a positive integer power of it."""
    return g == a or (g.is_Pow and g.base == a and g.exp.is_Integer and g.exp > 0)


def _times_numerator(e, a):
    """a·e with a taken into the 1/(A² + B²) (A = a) that e holds somewhere in its sums and products, as
    A/(A² + B²) (overflow-free where 1/(A² + B²) alone is not: 1/m² past float64 at m < 2⁻⁵¹² where A/m² is
    finite), a multiplying the other terms of each sum on the way; None where e holds no such 1/(A² + B²).
    1/(A² + B²) is symmetric: a may be either of the two (∂x of atan(y/x) + x·y is y·(1 − 1/(x²·(1 + y²/x²))))."""
    parts = _reciprocal_parts(e)
    if parts is not None and a in parts:
        return _over_sum_of_squares(a, parts[1] if parts[0] == a else parts[0], a)
    if e.is_Add:
        terms = [_times_numerator(t, a) for t in e.args]
        if all(t is None for t in terms):
            return None
        return sp.Add(*[a * t if new is None else new for t, new in zip(e.args, terms)])
    if e.is_Mul:
        for g in e.args:
            new = _times_numerator(g, a)
            if new is not None:
                return sp.Mul(*[h for h in e.args if h is not g]) * new
    return None


def _numerator_outside(node):
    """c·A^j·E (j ≥ 1) with E a sum or product that holds 1/(A² + B²) (:func:`_reciprocal_parts`) → c·A^(j−1)·E′
    with A multiplied into E (:func:`_times_numerator`): SymPy writes ∂y of atan(x/y) + x·y as
    x·(1 − 1/(y²·(1 + x²/y²))), so the rule below, which sees the inner product alone, wrote 1/(x² + y²), and the
    factor x that keeps it finite (x/(x² + y²)) stood outside the sum. None where there is no such E."""
    if not node.is_Mul:
        return None
    for pw in node.atoms(sp.Piecewise):
        parts = _reciprocal_parts(pw)
        if parts is None:
            continue
        outside = [(g, a) for a in parts for g in node.args if _is_power_of(g, a)]
        for g, a in outside:
            for e in node.args:
                if e is g or not (e.is_Add or e.is_Mul) or not e.has(pw):
                    continue
                new = _times_numerator(e, a)
                if new is None:
                    continue
                rest = sp.Mul(*[h for h in node.args if h is not g and h is not e])
                return _Final(rest * (g / a) * new)
    return None


def _multiple_of_sum(rest, a):
    """rest/A where the sum A divides rest as a polynomial (2p − 2t by p − t: SymPy distributes the 2 of 2(p − t), so
    the factor A of the Cauchy loss's ∂p, 2(p − t)/(c²·(1 + (p − t)²/c²)), was not seen, and 2(p − t) times the
    scaled 1/(c² + (p − t)²) underflowed the latter first: 0 for 1e−200 at c = −1e200, p = 1e200; session 34's
    user34), else None. Small select-free products and sums only (SymPy's cancel)."""
    if not a.is_Add or rest.has(sp.Piecewise) or sp.count_ops(rest) > 40:
        return None
    q = sp.cancel(rest / a)
    return None if sp.fraction(q)[1].has(*a.free_symbols) else q


def _quotient_square(node):
    """c·B^k·(1 + A²/B²)⁻¹ with k = −1 or −2 (∂ of atan(A/B): 1/(B·(1 + A²/B²)), −A/(B²·(1 + A²/B²))) →
    c·B^(k+2)/(A² + B²), the sum of squares scaled by m = max(|A|, |B|) outside [2⁻⁶⁰, 2⁶⁰] (where A² or B² would
    leave float32's range), as two divisions: ((B/m)/S)/m, ((A/m)/S)/m (A a factor of c) or ((1/m)/S)/m with
    S = (A/m)² + (B/m)² (:func:`_over_sum_of_squares`); and the factor A of a product around a sum or product
    that holds the last form taken into it (:func:`_numerator_outside`); None elsewhere."""
    if not node.is_Mul:
        return None
    for f in node.args:
        if not (f.is_Pow and f.exp == -1):
            continue
        parts = _quotient_square_parts(f.base)
        if parts is None:
            continue
        a, b, c = parts
        others = [g for g in node.args if g is not f] + ([1 / c] if c != 1 else [])
        r, b_symbolic = b.as_coeff_Mul()  # B = r·Y (atan(x/(2y))′: 1/(1 + x²/(4y²)) beside y⁻², B = 2y)
        powers = [g for g in others if (g.is_Pow and g.base == b_symbolic and g.exp in (-1, -2))]
        if len(powers) != 1:
            continue
        k = int(powers[0].exp)
        rest = sp.Mul(*[g for g in others if g is not powers[0]]) * r ** -k  # Y^k = r^−k·B^k
        if rest.has(b) and b.free_symbols & rest.free_symbols and not b.is_Symbol:
            continue
        # B/(A² + B²) = ((B/m)/S)/m, S = (A/m)² + (B/m)² in [1, 2]: no overflow; 1/(A² + B²) beside a factor A (∂B
        # of atan(A/B): −A/(B²·(1 + A²/B²))) as A/(A² + B²) = ((A/m)/S)/m, else ((1/m)/S)/m (1/m² alone would
        # overflow where m is small and A/m² does not: −inf for −5e29 at x = y = 1e−30 in float32)
        if k == -1:
            numerator = b
        elif any(_is_power_of(g, a) for g in sp.Mul.make_args(rest)) or (
                not a.is_Symbol and not sp.fraction(rest / a)[1].has(*a.free_symbols)):
            # A or a power of it (∂y of x·atan(x/y): −x²/(y²·(1 + x²/y²))), or A = 2x within −2x (∂y of atan(2x/y))
            rest, numerator = rest / a, a
        elif _multiple_of_sum(rest, a) is not None:
            rest, numerator = _multiple_of_sum(rest, a), a
        else:
            numerator = None
        return _Final(rest * _over_sum_of_squares(a, b, numerator))
    return _numerator_outside(node)


QUOTIENT_SQUARE = Rule(
    "quotient-square", "1/(1 + A²/B²) beside 1/B or 1/B² (the derivatives of atan(A/B): 1/(B·(1 + A²/B²)) and "
    "−A/(B²·(1 + A²/B²))) squares the quotient A/B, which overflows where B is small (float32: ∂y of atan(x/y) is "
    "inf/inf = NaN at x = 0.3, y = 1e−30, true −x/(x² + y²) = −3.33; torch the same); the B² cleared: B/(A² + B²) "
    "and 1/(A² + B²), the sum of squares scaled by m = max(|A|, |B|) where m is outside [2⁻⁶⁰, 2⁶⁰] (A² or B² past "
    "float32's range): ((B/m)/S)/m, ((A/m)/S)/m with S = (A/m)² + (B/m)² in [1, 2] (A beside it: ∂B), and 0 where A "
    "or B is infinite (the written form's limit there); a number in the quotient too (atan(2x/y): A = 2x, "
    "1 + 4x²/y²; atan(x/(2y)): B = 2y, 4 + x²/y² once the affine-root rule has cleared the quarter), m then the "
    "larger of |x| and |y| and A/m = 2·(x/m) (2x overflows at x = 1e308: ∂y of atan(2x/y) was −0 for −5e−309)",
    local=_quotient_square)
_register(QUOTIENT_SQUARE)
__all__ += ["QUOTIENT_SQUARE"]


# ------------------------------------------------------------------ quotient-root (issue 16, session 20: sin(atan(x/y)),
# which SymPy writes x/(y·√(1 + x²/y²)), is inf·0 or NaN where x/y overflows (x = 1e308, y = 1e−10: true 1), and its
# ∂x, 1/(y·√S) − x²/(y³·S^(3/2)), cancels two terms of size 1/x to y²/x³: 5.8e19 ULP in float64 at x = 1e10, y = 1,
# 5.4e9 at x = 1e5 (torch 3.1e9, 7.2e3)); tested in tests/test_misc20.py


def _root_quotient(e):
    """(X, Y) where ``e`` holds (c + k·X²/Y²)^(n/2), n odd, c and k positive numbers (√(1 + x²/y²): sin(atan(x/y)),
    cos(atan(x/y)) and their derivatives as SymPy writes them), else None."""
    for p in _atoms(e, sp.Pow):
        if not (p.exp.is_Rational and p.exp.q == 2 and p.base.is_Add and len(p.base.args) == 2):
            continue
        c, q = sorted(p.base.args, key=lambda a: not a.is_number)
        if not (c.is_number and c > 0):
            continue
        k, rest = q.as_coeff_Mul()
        numerator, denominator = rest.as_numer_denom()
        if (k > 0 and numerator.is_Pow and numerator.exp == 2 and numerator.base.is_Symbol
                and denominator.is_Pow and denominator.exp == 2 and denominator.base.is_Symbol):
            return numerator.base, denominator.base
    return None


def _no_cancellation(e, t) -> bool:
    """Every sum in ``e`` is c + k·t² with c, k > 0 (it cannot cancel), and ``e`` is built of sums, products,
    rational powers, |·| and sign alone."""
    for n in sp.preorder_traversal(e):
        if n.is_Add:
            c, q = sorted(n.args, key=lambda a: not a.is_number) if len(n.args) == 2 else (None, None)
            if c is None or not (c.is_number and c > 0):
                return False
            k, rest = q.as_coeff_Mul()
            if not (k > 0 and rest == t ** 2):
                return False
        elif not (n.is_Symbol or n.is_number or n.is_Mul or (n.is_Pow and n.exp.is_Rational)
                  or isinstance(n, (sp.Abs, sp.sign))):
            return False
    return True


def _quotient_roots(expr):
    """``expr`` (one output) in two inputs X, Y holding (c + k·X²/Y²)^(n/2) → {its form in v = X/Y if |X| ≤ |Y|; in
    w = Y/X otherwise}, each simplified (x = v·y, x = y/w: identities for y, w ≠ 0), where both forms have no sum
    that can cancel (:func:`_no_cancellation`); v and w one division each, grouped (v² is not X²/Y²), and each form
    stabilised by the node-by-node rules. ``expr`` as it is elsewhere."""
    if not isinstance(expr, sp.Expr) or len(expr.free_symbols) != 2 or not expr.has(sp.Pow):
        return expr
    math = _as_math(expr)
    found = _root_quotient(math)
    if found is None or math.free_symbols != set(found) or not _no_cancellation_inputs(math):
        return expr
    X, Y = found
    v, w = sp.Dummy("v", real=True, nonzero=True), sp.Dummy("w", real=True, nonzero=True)
    # near: X = v·Y, in v and Y; far: Y = w·X, in w and X (1/Y beside w^k would be w^k·(1/Y): w^k underflows first,
    # where w^k/Y is (w·|w|/y at x = 1, y = 1e−300: 1e−600/1e−300); w/Y is 1/X)
    near = sp.simplify(math.subs(X, v * Y))
    far = sp.simplify(math.subs(Y, w * X))
    near, far = (sp.powsimp(f.subs(sp.Abs(t), t * sp.sign(t))) for f, t in ((near, v), (far, w)))
    if not (_no_cancellation(near, v) and _no_cancellation(far, w)) or near.has(X) or far.has(Y):
        return expr
    # sign(v) as sign(X)·sign(Y): w = Y/X underflows to 0 where its sign is still ±1 (x = 1e200, y = 1e−200)
    signs = sp.sign(X) * sp.sign(Y)
    forms = [form.xreplace({sp.sign(t): signs}).xreplace({t: Grouped(a / b)})
             for form, t, a, b in ((near, v, X, Y), (far, w, Y, X))]
    forms = [_rewritten(form)[0] for form in forms]
    return sp.Piecewise((forms[0], sp.Abs(X) <= sp.Abs(Y)), (forms[1], True))


def _no_cancellation_inputs(e) -> bool:
    """``e`` is built of inputs, numbers, sums, products and rational powers alone (no function, no select)."""
    return all(n.is_Symbol or n.is_number or n.is_Add or n.is_Mul or (n.is_Pow and n.exp.is_Rational)
               for n in sp.preorder_traversal(e))


QUOTIENT_ROOT = Rule(
    "quotient-root", "√(1 + x²/y²) and its powers (sin(atan(x/y)) = x/(y·√(1 + x²/y²)), cos(atan(x/y)), their "
    "derivatives) square the quotient, which overflows (sin(atan(x/y)) NaN or inf at x = 1e308, y = 1e−10, true 1), "
    "and a derivative such as 1/(y·√S) − x²/(y³·S^(3/2)) cancels terms of size 1/x to y²/x³ (5.8e19 ULP in float64 at "
    "x = 1e10, y = 1; torch 3.1e9): the output written in v = x/y where |x| ≤ |y| and in w = y/x elsewhere, each "
    "simplified (x = v·y, x = y/w) to a form whose only sums are c + k·v² (no cancellation: v/(1 + v²)^(1/2), "
    "sign(w)/(1 + w²)^(1/2), w²·|w|/(y·(1 + w²)^(3/2))), |v|, |w| ≤ 1",
    apply=_quotient_roots, fired=lambda old, new: new != old)
_register(QUOTIENT_ROOT)
__all__ += ["QUOTIENT_ROOT"]


# ------------------------------------------------------------------ log-gaussian-tail (issue 16, session 19:
# log(ndtr(x)) is log 0 = −inf from x ≈ −38.5 in float64 where it is −804.6 at x = −40 (torch.special.log_ndtr
# computes it), log(erfc(u)) likewise from u ≈ 27.2, and their derivatives 0/0 = NaN); tested in tests/test_lndtr19.py


def _whole_square(u):
    """u², squared whole where u is a product of two or more terms holding inputs (x·y): SymPy writes (x·y)² as
    x²·y², whose x² underflows and y² overflows where x·y does neither (log Φ(x·y) was 0·∞ = NaN in float64 at
    x = 1e−170, y = −1e171, true log Φ(−10) = −53.23; log erfc(x·y) at x = 1e−300, y = 1e300), so the product is
    kept grouped and squared once formed."""
    factors = [f for f in sp.Mul.make_args(u) if f.free_symbols]
    return Grouped(u) ** 2 if len(factors) >= 2 else u ** 2


def _gaussian_tail_of(e):
    """("erfc", u) where ``e`` is erfc(u), or its complement written out: 2 − erfc(−u) (SymPy's own erfc(u) for a
    negative-looking u, erfc(−x) = 2 − erfc(x)), 1 − erf(u), 1 + erf(−u), 2·Φ(−√2·u); ("ndtr", u) where it is Φ(u)
    or 1 − Φ(−u); None elsewhere. The complements cancel where the function is small: log(1 − ndtr(x)) was −inf from
    x ≈ 8.3 (true −37.5 there) and 15,395 ULP at x = 4.95 in float64, log(erfc(−x)) −inf from x ≈ −5.9 (h-break20)."""
    if isinstance(e, sp.erfc):
        return "erfc", e.args[0]
    if isinstance(e, ndtr):
        return "ndtr", e.args[0]
    c, g = e.as_coeff_Mul()
    if c == 2 and isinstance(g, ndtr):  # 1 + erf(x) as the erf-complement rule writes it, 2·Φ(√2·x) = erfc(−x)
        return "erfc", -g.args[0] / sp.sqrt(2)
    if not (e.is_Add and len(e.args) == 2):
        return None
    c, rest = e.as_coeff_Add()
    for sign in (1, -1):
        g = sign * rest
        if isinstance(g, sp.erfc) and c == 2 and sign == -1:
            return "erfc", -g.args[0]
        if isinstance(g, sp.erf) and c == 1:
            return "erfc", -sign * g.args[0]
        if isinstance(g, ndtr) and c == 1 and sign == -1:
            return "ndtr", -g.args[0]
    return None


def _log_gaussian_tail_log(node):
    """log(erfc(u)) → log(erfcx(u)) − u² where u > 1/2, log1p(−erf(u)) elsewhere (no log of a number near 1 near
    u = 0); log(ndtr(x)) → log(erfcx(−x/√2)/2) − x²/2 where x < 0 (Φ(x) = erfc(−x/√2)/2), log1p(−Φ(−x))
    elsewhere (Φ(x) near 1: −7.6e−24 at x = 10, not 0); the same for their complements written out (log(1 − Φ(x)),
    log(erfc(−x)), log(1 + erf(x)), and log1p(−Φ(x)), log1p(±erf(u)) as the log1p rule leaves them:
    :func:`_gaussian_tail_of`). None for any other node."""
    if isinstance(node, sp.log):
        tail_of = _gaussian_tail_of(node.args[0])
    elif isinstance(node, log1p):  # log(1 − Φ(x)) as the log1p rule leaves it, log1p(−Φ(x)); log1p(erf(u))
        tail_of = _gaussian_tail_of(1 + node.args[0])
    else:
        return None
    if tail_of is None:
        return None
    kind, u = tail_of
    if kind == "erfc":
        tail = sp.log(erfcx(u)) - _whole_square(u)
        return sp.Piecewise((tail, u > sp.S.Half), (log1p(-sp.erf(u)), True))
    if kind == "ndtr":
        x = u
        tail = sp.log(erfcx(-x / sp.sqrt(2)) / 2) - _whole_square(x) / 2
        return sp.Piecewise((tail, x < 0), (log1p(-ndtr(-x)), True))
    return None


def _log_gaussian_tail_slope(node):
    """k·e^(−u²)/erfc(u) → k/erfcx(u) where u > 0 (∂ log erfc(u) = −2/(√π·erfcx(u))), k·e^(−x²/2)/ndtr(x) →
    2k/erfcx(−x/√2) where x < 0 (∂ log Φ(x) = √(2/π)/erfcx(−x/√2)); the product as written elsewhere (there
    erfc(u), Φ(x) ≥ 1/2 and the exp-square rule computes e^(−u²) whole). None where no such pair is a factor."""
    if not node.is_Mul:
        return None
    for f in node.args:
        tail_of = _gaussian_tail_of(f.base) if f.is_Pow and f.exp == -1 else None
        if tail_of is None:
            continue
        kind, u = tail_of
        square = u ** 2 if kind == "erfc" else u ** 2 / 2
        density = [a for a in node.args if isinstance(a, sp.exp) and sp.expand(a.args[0] + square) == 0]
        if not density:
            continue
        rest = sp.Mul(*[a for a in node.args if a is not f and a is not density[0]])
        # beyond w = 2³⁰, 1/erfcx(w) = √π·w·(1 + 1/(2w²) + …) is √π·w to 2⁻⁶¹: erfcx(w) ≈ 1/(w√π) is subnormal in
        # float32 from w ≈ 1e37 (∂x of log Φ inf at x = −3.4e38 where it is 3.4e38)
        if kind == "erfc":
            return sp.Piecewise((rest * sp.sqrt(sp.pi) * u, u > 2 ** 30), (rest / erfcx(u), u > 0), (node, True))
        w = -u / sp.sqrt(2)
        return sp.Piecewise((2 * rest * sp.sqrt(sp.pi) * w, w > 2 ** 30), (2 * rest / erfcx(w), u < 0), (node, True))
    return None


def _distributed_log_gaussian_tail(node):
    """c·e^v·(Σ t_i) with some t_i holding 1/erfc(u) or 1/Φ(u) (SymPy's form of the derivative of a sum of such
    logs: the probit loss t·log Φ(z) + (1 − t)·log Φ(−z) has ∂z = c·e^(−z²/2)·(t/Φ(z) − (1 − t)/Φ(−z))) →
    c·Σ (t_i·e^v), each term by :func:`_log_gaussian_tail_slope`; None where no term changes."""
    if not node.is_Mul:
        return None
    sums = [a for a in node.args if a.is_Add and a.has(sp.erfc, ndtr)]
    exps = [a for a in node.args if isinstance(a, sp.exp)]
    for total in sums:
        for e in exps:
            terms = [sp.Mul(*sp.Mul.make_args(t), e) for t in total.args]
            slopes = [_log_gaussian_tail_slope(t) for t in terms]
            if all(s is None for s in slopes):
                continue
            rest = [a for a in node.args if a is not total and a is not e]
            return sp.Mul(*rest) * sp.Add(*[s if s is not None else t for s, t in zip(slopes, terms)])
    return None


def _log_gaussian_tail(node):
    """The log-gaussian-tail rule, node by node: the log (:func:`_log_gaussian_tail_log`) and its derivative
    (:func:`_log_gaussian_tail_slope`, or distributed over a sum: :func:`_distributed_log_gaussian_tail`); final
    (each select keeps the written form on its other side)."""
    result = _log_gaussian_tail_log(node)
    if result is None:
        result = _log_gaussian_tail_slope(node) or _distributed_log_gaussian_tail(node)
    return None if result is None else _Final(_Fired(result, ["log-gaussian-tail"]))


LOG_GAUSSIAN_TAIL = Rule(
    "log-gaussian-tail", "log(ndtr(x)) is log 0 = −inf from x ≈ −38.5 in float64 (−14.2 in float32; true −804.6 at "
    "x = −40, torch.special.log_ndtr) and log(erfc(u)) from u ≈ 27.2 (10.1 in float32), their derivatives "
    "e^(−x²/2)/Φ(x) and e^(−u²)/erfc(u) 0/0 = NaN there; log(erfc(u)) = log(erfcx(u)) − u² where u > 1/2 "
    "(log1p(−erf(u)) elsewhere, no log of a number near 1), log Φ(x) = log(erfcx(−x/√2)/2) − x²/2 where x < 0 "
    "(log1p(−Φ(−x)) elsewhere: Φ(x) near 1 rounds to 1, −7.6e−24 at x = 10), and the derivatives −2/(√π·erfcx(u)), "
    "√(2/π)/erfcx(−x/√2) there (erfcx from the scaled-erfc rule's helpers; 1/erfcx(w) as √π·w beyond w = 2³⁰, where "
    "erfcx(w) is subnormal in float32); the complements written out too: log(1 − ndtr(x)) is log Φ(−x) (was −inf from "
    "x ≈ 8.3, true −37.5), log(erfc(−x)), log(1 + erf(x)) are log erfc(−x) (−inf from x ≈ −5.9)", local=_log_gaussian_tail)
_register(LOG_GAUSSIAN_TAIL)
__all__ += ["LOG_GAUSSIAN_TAIL"]


# ------------------------------------------------------------------ log-erfcx-left (issue 16: log2(erfcx(x)) − H(x) in
# float32 was inf at x = −24.47, true 864.98, and its ∂x NaN; h-comp27); tested in tests/test_comp27.py

# log erfcx(u) = u² + log1p(−erf(u)) is taken below u = 3/8 as well (issue 16: log(erfcx(x)) at x = 1e−30 was 0 for
# −1.128e−30, erfcx(x) = 1 − 2x/√π + … rounding to 1; h-old29): for 0 ≤ u < 3/8 the sum's terms have opposite signs
# but |u²| ≤ |log1p(−erf u)|/2.5, so it loses under 2 bits; measured on the generated helpers over 300 random points
# a 0.05-wide bin: the sum ≤ 2.76 ULP float64 below 0.45 where log(erfcx u) is 2027 near 0, 19 at 0.05, 5.4 at 0.2,
# ≤ 3.19 from 0.25; past 0.45 the written log is the better (≤ 3.04 against 3.44 at 0.5, 4.18 at 0.95)
_LOG_ERFCX_SERIES_BELOW = sp.Rational(3, 8)


def _log_erfcx_left(node):
    """log(erfcx(u)) → u² + log1p(−erf(u)) where u < 3/8, and k·erfcx′(u)/erfcx(u) → k·(2u − 2/(√π·erfcx(u))) there;
    each select keeps the written form where u ≥ 0. None for any other node.

    Exact: erfcx(u) = e^(u²)·erfc(u) = e^(u²)·(1 − erf(u)), so log erfcx(u) = u² + log1p(−erf(u)); erfcx′(u) =
    2u·erfcx(u) − 2/√π, so erfcx′/erfcx = 2u − 2/(√π·erfcx(u)). For u < 0 both terms of either sum have one sign
    (u² > 0 and −erf(u) ∈ (0, 1); 2u < 0 and −2/(√π·erfcx) < 0): no cancellation, and nothing overflows where
    erfcx(u) ≈ 2e^(u²) does (float32 from u ≈ −9.4, float64 from −26.6; 1/erfcx is then 0, as it rounds). For u > 0
    the slope's form would cancel (2/(√π·erfcx(u)) ≈ 2u(1 + 1/(2u²))): the written form is kept there. The log's sum
    is taken up to u = 3/8 (see _LOG_ERFCX_SERIES_BELOW), where the written log of erfcx(u) ≈ 1 − 2u/√π loses the
    digits of u."""
    if isinstance(node, sp.log) and isinstance(node.args[0], erfcx):
        u = node.args[0].args[0]
        left = _whole_square(u) + log1p(-sp.erf(u))
        return _Final(sp.Piecewise((left, u < _LOG_ERFCX_SERIES_BELOW), (node, True)))
    if isinstance(node, sp.log) and node.args[0].is_Mul and len(node.args[0].args) == 2:
        # log(c·erfcx(u)), c ≥ 1 a number (log(2·erfcx(x)) was inf at x = −30 for 901.39, h-hostile30): log c + u² +
        # log1p(−erf(u)) where u < 0, three terms ≥ 0 (no cancellation), as written elsewhere
        c, g = node.args[0].as_coeff_Mul()
        if c.is_Number and c >= 1 and isinstance(g, erfcx):
            u = g.args[0]
            left = sp.log(c) + _whole_square(u) + log1p(-sp.erf(u))
            return _Final(sp.Piecewise((left, u < 0), (node, True)))
    if not node.is_Mul:
        return None
    for f in node.args:
        if not (f.is_Pow and f.exp == -1 and isinstance(f.base, erfcx)):
            continue
        u = f.base.args[0]
        slope = erfcx_slope(u)
        if slope not in node.args:
            continue
        rest = sp.Mul(*[a for a in node.args if a is not f and a != slope])
        left = 2 * u - 2 / (sp.sqrt(sp.pi) * erfcx(u))
        return _Final(sp.Piecewise((rest * left, u < 0), (node, True)))
    return None


LOG_ERFCX_LEFT = Rule(
    "log-erfcx-left", "erfcx(u) overflows for u < 0 (float32 from u ≈ −9.4, float64 from −26.6: erfcx(u) ≈ 2e^(u²)) "
    "where its log does not: log2(erfcx(x)) was inf in float32 at x = −24.47 (true 864.98; torch.special.erfcx the "
    "same) and its derivative erfcx′/erfcx inf/inf = NaN (true −70.61); log erfcx(u) = u² + log1p(−erf(u)) and "
    "erfcx′(u)/erfcx(u) = 2u − 2/(√π·erfcx(u)) where u < 0 (both sums of terms of one sign there), as written "
    "elsewhere; the log's sum up to u = 3/8 too, where erfcx(u) ≈ 1 − 2u/√π rounds to 1 (log(erfcx(x)) was 0 at "
    "x = 1e−30, true −1.128e−30)", local=_log_erfcx_left)
_register(LOG_ERFCX_LEFT)
__all__ += ["LOG_ERFCX_LEFT"]


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
_register(LOG_SOFTPLUS_LEFT)
__all__ += ["LOG_SOFTPLUS_LEFT"]


# ------------------------------------------------------------------ two-minus-exp-root (issue 16: log(2 − e^x) near its
# root x = log 2, 2.7e13 ULP at fl(log 2) − 1 ulp in float64; h-quot29); tested in tests/test_quot29.py

_TWO_MINUS_EXP_WINDOW = (sp.Rational(1, 2), 1)  # u in it: 2 − e^u ∈ (−0.72, 0.36), near 0 at u = log 2 ≈ 0.693


def _near_log_two(u):
    lo, hi = _TWO_MINUS_EXP_WINDOW
    return sp.And(u > lo, u < hi)


def _root_shift(u):
    """u − log 2, widened: exact where u ≈ log 2 (Sterbenz) in double words, log 2 to 106 bits; float64 in a float32
    kernel, log 2 there 2.3e−17 off where |u − log 2| ≥ 1e−8 for a float32 u ≠ log 2."""
    return widen(u - sp.log(2))


def _two_minus_exp_node(node):
    """2 − e^u → −2·expm1(u − log 2) and log1p(−expm1(u)) (the log1p rule's log(2 − e^u)) → log 2 + log(−expm1(u −
    log 2)) where 1/2 < u < 1, as written elsewhere; None for any other node."""
    if node.is_Add and len(node.args) == 2 and sp.Integer(2) in node.args:
        (t,) = [a for a in node.args if a != 2]
        if _is_exp(-t):
            u = (-t).args[0]
            return sp.Piecewise((-2 * expm1(_root_shift(u)), _near_log_two(u)), (node, True))
    if node.is_Add and len(node.args) == 2:
        # c·(2 − e^u) with its content c ≠ 1 out (4 − 2e^x, the derivative of log(4 − 2e^x): −inf at fl(log 2) for
        # −4.31e16, h-const30): c times the form above, exact (a rational c times an exact identity)
        c, p = node.as_content_primitive()
        if c != 1 and c.is_positive:
            for s in (1, -1):
                inner = _two_minus_exp_node(s * p) if (s * p).is_Add and sp.Integer(2) in (s * p).args else None
                if isinstance(inner, sp.Piecewise) and len(inner.args) == 2:  # not where SymPy decided the window is empty
                    (near, window), _ = inner.args
                    return sp.Piecewise((s * c * near, window), (node, True))
    if node.is_Add and len(node.args) == 2:
        other = _c_minus_exp_node(node)
        if other is not None:
            return other
    if isinstance(node, log1p) and isinstance(-node.args[0], expm1):
        u = (-node.args[0]).args[0]
        return sp.Piecewise((sp.log(2) + sp.log(-expm1(_root_shift(u))), _near_log_two(u)), (node, True))
    if isinstance(node, log1p):
        return _c_minus_exp_node(1 + node.args[0], log=True)
    return None


def _c_minus_exp_node(node, log=False):
    """c − k·e^u (c, k positive numbers, c/k ≠ 1, 2: those are the expm1 rule's and the form above) → −c·expm1(u −
    log(c/k)) where u is within the same window about its root log(c/k) as 2 − e^u's about log 2, as written elsewhere;
    None for any other node (h-hostile31: log(3 − e^x) at x = fl(log 3) − 1 ulp was 1.68e13 ULP in float64, its
    derivative 8.6e14; torch the same).

    Exact: c − k·e^u = c·(1 − e^(u − log(c/k))) = −c·expm1(u − log(c/k)); u − log(c/k) in double words (log(c/k) to
    106 bits, a float c or k taken as the binary number it is), exact near the root by Sterbenz. With ``log``: ``node``
    is 1 + y of a log1p(y) (log(0.25 − e^x) is log(1/4) + log1p(−4e^x) by the log-constant-factor rule: 3.3e13 ULP at
    x = fl(log(1/4))), and log1p(−k·e^u) → log(−expm1(u + log k)) there."""
    if not node.is_Add or len(node.args) != 2:
        return None
    numbers = [a for a in node.args if a.is_number]
    if len(numbers) != 1 or not numbers[0].is_positive or not isinstance(numbers[0], (sp.Rational, sp.Float)):
        return None
    (t,) = [a for a in node.args if a is not numbers[0]]
    k, e = (-t).as_coeff_Mul()
    if not (_is_exp(e) and k.is_positive and isinstance(k, (sp.Rational, sp.Float))):
        return None
    c = sp.Rational(numbers[0]) if isinstance(numbers[0], sp.Float) else numbers[0]
    k = sp.Rational(k) if isinstance(k, sp.Float) else k
    ratio = c / k
    if ratio == 1 or (ratio == 2 and not log) or (log and c != 1):
        return None
    u = e.args[0]
    lo, hi = _TWO_MINUS_EXP_WINDOW
    root = sp.log(ratio)
    window = sp.And(u > sp.Float(sp.N(root - sp.log(2) + lo, 20)), u < sp.Float(sp.N(root - sp.log(2) + hi, 20)))
    if log:
        return sp.Piecewise((sp.log(-expm1(widen(u - root))), window), (log1p(node - 1), True))
    return sp.Piecewise((-c * expm1(widen(u - root)), window), (node, True))


def _two_minus_exp_root(expr):
    """Every 2 − e^u and log1p(−expm1(u)) of ``expr`` (outside widened nodes) as :func:`_two_minus_exp_node` writes
    it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.exp, expm1):
        return expr
    return _top_down(expr, _two_minus_exp_node, _KEPT)


TWO_MINUS_EXP_ROOT = Rule(
    "two-minus-exp-root", "2 − e^u cancels near its root u = log 2 (log(2 − e^x), as log1p(−expm1(x)), 2.7e13 ULP "
    "off at x = fl(log 2) − 1 ulp in float64, −inf at fl(log 2) for −37.61, and its derivative −e^x/(2 − e^x) "
    "1.6e15 ULP; torch the same): 2 − e^u = −2·expm1(u − log 2) exactly, with u − log 2 exact there in double words "
    "(float64 in a float32 kernel) and expm1 rounding once; log(2 − e^u) = log 2 + log(−expm1(u − log 2)) (no "
    "cancellation for u > 1/2, where the sum is below −log 2·1.5); as written outside 1/2 < u < 1",
    apply=_two_minus_exp_root, fired=lambda old, new: new != old)
_register(TWO_MINUS_EXP_ROOT)
__all__ += ["TWO_MINUS_EXP_ROOT"]


# ------------------------------------------------------------------ log-constant-factor (issue 16: a constant factor
# hid a log rule: log(2·log(1 + e^x)) was −inf at x = −800 for −799.31 and log(4 − 2e^x) −inf at fl(log 2) for −36.92,
# where log(softplus(x)) and log(2 − e^x) were right; h-const30); tested in tests/test_const30.py

def _log_constant_factor(node):
    """log(c·r) (c > 0 a number ≠ 1 taken out of a product or, as its content, of a sum; r holds the sign) →
    log c + log r where |log r| ≥ 2|log c|, as written elsewhere; only where another node-by-node rule rewrites
    log r and none rewrites log(c·r) itself. None for any other node.

    Exact: c·r > 0 with c > 0 means r > 0, and log(c·r) = log c + log r (a c < 0 goes into r: log(c·r) =
    log(−c) + log(−r)). The sum cancels where log r ≈ −log c (log(2·r) near r = 1/2 would lose the digits the
    written log keeps): taken only where |log r| ≥ 2|log c|, i.e. r ≤ 1/k or r ≥ k with k = max(c, 1/c)², where
    |log c + log r| ≥ |log r|/2 (at most a bit lost to the rounded constant); the written log(c·r) elsewhere, kept
    from this rule as log of a grouped product (the same rounding)."""
    if not isinstance(node, sp.log):
        return None
    arg = node.args[0]
    if arg.is_Mul:
        c, r = arg.as_coeff_Mul()
    elif arg.is_Add and _shifted_term(arg) is None:  # log(x + c) is shifted-argument's (poisson_nll's eps)
        c, r = arg.as_content_primitive()
    else:
        return None
    if not c.is_Number or c in (1, -1) or c == 0 or r.is_number or not c.is_finite:
        return None
    if c < 0:
        c, r = -c, -r
    mine = _LOCAL.index(_log_constant_factor)
    if any(rule(node) is not None for rule in _LOCAL[mine + 1:]):  # tried last: another rule's log(c·r) is its own
        return None
    inner = sp.log(r)
    if not any((found := rule(inner)) is not None and getattr(found, "expr", found) != inner
               for rule in _LOCAL if rule is not _log_constant_factor):
        return None
    k = max(c, 1 / c) ** 2
    return sp.Piecewise((sp.log(c) + inner, sp.Or(r <= 1 / k, r >= k)), (sp.log(Grouped(arg)), True))


LOG_CONSTANT_FACTOR = Rule(
    "log-constant-factor", "a constant factor hides the log rules from the log's argument: log(2·log(1 + e^x)) was "
    "−inf at x = −800 (true −799.31; torch −inf) where log-softplus-left gives log(softplus(x)), and log(4 − 2e^x) "
    "−inf at x = fl(log 2) (true −36.92) where two-minus-exp-root gives log(2 − e^x); log(c·r) = log c + log r "
    "(c > 0 out of a product or a sum's content, r > 0 where c·r is) with the rules on log r, taken where "
    "|log r| ≥ 2|log c| (r ≤ 1/k or r ≥ k, k = max(c, 1/c)²: the sum loses at most a bit), as written elsewhere; "
    "only where a rule rewrites log r and none rewrites log(c·r)", local=_log_constant_factor)
_register(LOG_CONSTANT_FACTOR)
__all__ += ["LOG_CONSTANT_FACTOR"]


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
_register(ONE_MINUS_COS_FACTOR)
__all__ += ["ONE_MINUS_COS_FACTOR"]


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
    from ..verify.evaluate import mp_value

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
        return _common_denominator_series(numerator, denominator, x)
    # D a function (sinh x): past the window the sum as written, for the other rules (sinh² overflows from x ≈ 355 in
    # float64 where N/sinh²x does not: NaN for x/sinh(x)′ at x = 709), its terms no longer meeting there
    return _common_denominator_series(numerator, denominator, x, past=node)


def _pole_order(quotient, x):
    """m with quotient ≈ c·x^(−m) near 0 (from its values at x = 2⁻³⁰ and 2⁻³¹, 120 digits), or None."""
    from ..verify.evaluate import mp_value

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


def _common_denominator_series(numerator, denominator, x, past=None):
    """N/∏D^k (≈ c·x^(−m) at 0, |m| ≤ 8) → (Q(x)/x)/x… (m divisions; −m products) with Q = x^m·N/∏D^k, analytic at 0, its
    Taylor polynomial (the removable-series fit: Horner, no subtraction) within the fit's window; past it computed
    as the widen rule computes a sum, or as ``past`` where given. The quotient as it is where Q has no fit (the
    vanishing-series rule then takes N and each D)."""
    from .roots import ZeroSeries, removable_fit

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
    return sp.Piecewise((inner, sp.Abs(x) < sp.Float(fit.window)), (past, True))


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
_register(SERIES_COMMON_DENOMINATOR)
__all__ += ["SERIES_COMMON_DENOMINATOR"]


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
_register(SOFTPLUS_OVER_EXP)
__all__ += ["SOFTPLUS_OVER_EXP"]


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
_register(SOFTPLUS_OVER_EXP_MINUS_ONE)
__all__ += ["SOFTPLUS_OVER_EXP_MINUS_ONE"]


# ------------------------------------------------------------------ step-value (issue 16: (log1p(H(x)))·erfcx(x) was NaN in
# float32 at x = −24.94, erfcx inf times log1p(H(x)) = 0; h-quot29); tested in tests/test_quot29.py

def _step_value(node):
    """F(H(u)) → F(1)·H(u) for a function F of one argument with F(0) = 0 and F(1) a finite number (log1p(H(u)) →
    log 2·H(u)), so that the heaviside-gate rule sees the gate in a product; None for any other node.

    Exact: symnet's H(u) is 0 or 1 (0 at u = 0, 1 at NaN), and F(H) = F(1)·H at both."""
    if not (isinstance(node, sp.Function) and len(node.args) == 1 and isinstance(node.args[0], sp.Heaviside)):
        return None
    if isinstance(node, (sp.Heaviside, WidenedBase)):
        return None
    try:
        at_zero, at_one = node.func(sp.S.Zero), node.func(sp.S.One)
    except (TypeError, ValueError):
        return None
    if at_zero != 0 or not at_one.is_number or not at_one.is_finite or at_one == 0:
        return None
    return _Final(at_one * node.args[0])  # kept whole: the heaviside-gate rule takes H(u) from the product it stands in


STEP_VALUE = Rule(
    "step-value", "a function F of the step H(u) with F(0) = 0 (log1p(H(x))) is a number times the gate, but the "
    "heaviside-gate rule sees no gate in F(H(u))·g: (log1p(H(x)))·erfcx(x) was 0·inf = NaN in float32 at x = −24.94 "
    "(erfcx overflows, true 0), its derivative too; F(H(u)) = F(1)·H(u) exactly (H is 0 or 1), and the gate's "
    "select gives 0 where u ≤ 0", local=_step_value)
_register(STEP_VALUE)
__all__ += ["STEP_VALUE"]


# ------------------------------------------------------------------ exp-product-limit (issue 16: ∂x of
# erf(exp(exp(x)))·elu(x) was NaN from x ≈ 6.57, true 1.0: erf′(u)·u′ = 2/√π·e^(−u²)·u·eˣ with u = e^(eˣ), e^(−u²)
# underflowed to 0 where u overflowed; h-comp27); tested in tests/test_comp27.py

_DOUBLE_MAX = sp.Float(1.7976931348623157e308, 17)
# where exp overflows (float64's largest is e^709.78) and underflows to 0 (below half its smallest subnormal, e^−745.13)
_EXP_OVER, _EXP_UNDER = 709.79, -745.14
_EXP_SUBNORMAL = -708.40  # e^a below float64's smallest normal 2.2e−308 (e^−708.3964): a subnormal of fewer digits
# |x| where a product of exponentials of one variable is looked at for one overflowing and one underflowing
_EXP_SCAN = tuple(s * 2.0 ** (k / 2) for k in range(-8, 41) for s in (1, -1))


def _exponent_of(f):
    """a where ``f`` is e^a, or a select each of whose values is e^a as written (the rounded-argument rule's
    (e^a where a ≤ 2, widened e^a elsewhere)); −softplus(−b) where ``f`` is σ(b) or such a select of it: σ(b) =
    e^(−softplus(−b)) exactly, and it underflows to 0 as b → −∞ as e^b does (σ′(eˣ)·eˣ = eˣ·σ(eˣ)·σ(−eˣ) in ∂ of
    mish(x)·σ(eˣ): eˣ overflows where σ(−eˣ) is 0, session 30); None elsewhere."""
    if isinstance(f, sp.Piecewise):
        values = {unwiden(p.expr) for p in f.args}
        f = next(iter(values)) if len(values) == 1 else f
    if isinstance(f, sp.exp):
        return f.args[0]
    if isinstance(f, sigmoid):
        return -softplus(-f.args[0])
    return None


def _overflow_meets_underflow(exponents, x) -> bool:
    """Some |x| ≤ 2^20 of :data:`_EXP_SCAN` where one of ``exponents`` is past e^x's overflow and another past its
    underflow to 0 (mpmath, 30 digits): the product of their exponentials is inf·0 there."""
    from ..verify.evaluate import NotEvaluable, mp_value

    with mpmath.workdps(30):
        for v in _EXP_SCAN:
            try:
                values = [mp_value(a, {x: mpmath.mpf(v)}) for a in exponents]
            except (NotEvaluable, ArithmeticError, ValueError, TypeError):
                return False
            if any(mpmath.isnan(a) for a in values):
                continue
            if max(values) > _EXP_OVER and min(values) < _EXP_UNDER:
                return True
    return False


def _exp_product_limit(node):
    """R·e^(a_1)·…·e^(a_k) (k ≥ 2, one variable) where some e^(a_i) overflows while another underflows to 0 (found
    on :data:`_EXP_SCAN`) → R·e^(a_1 + … + a_k) where one of them is inf or 0, the product as written elsewhere.

    Exact: e^a·e^b = e^(a + b) for real a, b. Where every factor is finite and nonzero the written product keeps its
    accuracy (each exponential computed alone, widened by the rounded-argument rule); where one is inf or 0 the
    written product is inf·0 = NaN, or 0 or inf where the true product is neither (e^−750·e^740 = 4.5e−5), while the
    one exponential is the product rounded once from its exponent's sum: 0 where that sum is below −745.13, as the
    true product rounds. Where the sum itself is inf − inf (eˣ overflowing at x > 709.78 in e^(x + eˣ − e^(2eˣ))),
    R·0 = 0 on a side where the sum is measured below the underflow wherever an exponent is past the largest float
    (:func:`_vanishing_past_overflow`). None for any other node."""
    if not node.is_Mul or len(node.free_symbols) != 1:
        return None
    (x,) = node.free_symbols
    if not isinstance(x, sp.Symbol):
        return None
    factors, exponents, rest = [], [], []
    for f in node.args:
        a = _exponent_of(f)
        if a is not None and a.has(x):
            factors.append(f)
            exponents.append(a)
        else:
            rest.append(f)
    if len(exponents) < 2 or all(isinstance(a, softplus) or (a.is_Mul and any(isinstance(g, softplus) for g in a.args))
                                 for a in exponents):  # σ's alone never overflow: no scan
        return None
    if not _overflow_meets_underflow(exponents, x):
        return None
    merged = sp.Mul(*rest) * sp.exp(sp.Add(*exponents))
    if sp.Mul(*rest) not in (sp.S.One, sp.S.NegativeOne):
        # R·e^s as one widened product (its scaled double words where it is below 2⁻⁹⁶⁸, rounded once): e^s subnormal
        # rounded first keeps its few digits and R multiplies their error up (session 35: ∂x of x·eˣ·e^(−eˣ),
        # (1 + x − x·eˣ)·e^(x − eˣ) with R ≈ −4,700, 2,196 ULP at x = 6.5835 in float64; torch 1.6e6)
        merged = widen(merged)
    # a factor 0 as its exponent is past the underflow (Eq(e^a, 0) and Eq(σ(b), 0) are False to SymPy: a test of the
    # factor itself was dropped, so e^708·σ(−e^708) stayed inf·0 = NaN in ∂ of mish(x)·σ(eˣ), session 30)
    # a factor subnormal counts too (session 32, h-hostile32): e^a below e^−708.40 keeps only part of its digits, and
    # the written product multiplies them up (x·eˣ·e^(−eˣ) at 6.57: e^(−eˣ) = 1.5e−310, the product 28 ULP off, torch
    # 175), where the one exponential (its exponent widened by the rounded-argument rule) rounds once
    cond = sp.Or(*[f > _DOUBLE_MAX for f in factors], *[a < _EXP_SUBNORMAL for a in exponents])
    pairs = [(sp.S.Zero, side) for side in _vanishing_past_overflow(exponents, x)]
    pairs += _tanh_of_vanishing_exp(rest, exponents)
    select = sp.Piecewise(*pairs, (merged, cond), (node, True))
    _EXP_PRODUCT_LIMIT_OF[select] = node  # bounded (symnet/records.py): a form forgotten only costs a later match
    return _Final(_Fired(select, ["exp-product-limit"]))


# below e^a = e^−40 a factor tanh(k·e^a)^−n of the cofactor is (k·e^a)^−n (tanh c = c·(1 − c²/3 + …), c²/3 below
# 2⁻⁹⁷ there for |k| ≤ 2¹⁰: c ≤ 2¹⁰·e^−40 = 2^−47.7): where e^a underflows the written quotient e^(a + b)/tanh(k·e^a) is 0/0 (∂z of the cloglog
# link log(1 − e^(−e^z)), e^(z − softplus(e^z))/tanh(e^z/2), NaN from z = −746 for 1.0, torch NaN too; session 36,
# h-cloglog36), while e^(a + b − n·a)/kⁿ has a finite exponent: 2·e^(−softplus(e^z)) = 1 there
_TANH_LINEAR_BELOW = -40


def _tanh_of_vanishing_exp(rest, exponents) -> list:
    """(R′·k⁻ⁿ·e^(s − n·a), a < −40) where ``rest`` holds tanh(k·e^a)^−n (n a positive integer, k a number, e^a
    one of the product's exponentials' own argument or any exponential of the variable) and R′ is the rest without
    it; s is the exponents' sum. Empty where there is no such factor."""
    pairs = []
    for i, f in enumerate(rest):
        if not (f.is_Pow and isinstance(f.base, sp.tanh) and f.exp.is_Integer and f.exp < 0):
            continue
        k, e = f.base.args[0].as_coeff_Mul()
        if not (isinstance(e, sp.exp) and k.is_Number and 0 < abs(k) <= 1024):
            continue
        n, a = -f.exp, e.args[0]
        others = sp.Mul(*(rest[:i] + rest[i + 1:]))
        body = others * k ** -n * sp.exp(sp.Add(*exponents) - n * a)
        pairs.append((widen(body) if others not in (sp.S.One, sp.S.NegativeOne) else body, a < _TANH_LINEAR_BELOW))
    return pairs


# the selects exp-product-limit wrote → the product each came from (the same number on every branch), so that a rule
# at a node above can still read the product: exp-into-sigmoid's e^u·(2·e^x·σ(−2x) − σ(−x)), whose inner product this
# rule writes first (bottom-up), σ counting as an exponential since session 30 (h-quot30)
_EXP_PRODUCT_LIMIT_OF: dict = BoundedRecord()


def _vanishing_past_overflow(exponents, x) -> list:
    """The conditions (x > 0 and some exponent past the largest float, or the same for x < 0) on a side of 0 where, at
    every point of :data:`_EXP_SCAN` on that side at which some exponent is past the largest float64 (eˣ in
    x + eˣ − e^(2eˣ) from x = 709.78), the exponents' sum is below e^x's underflow (mpmath, 30 digits): there the sum
    computed in floats is inf − inf = NaN while the product of the exponentials is 0, as it rounds (h-old29: ∂x of
    erf(exp(exp(x)))·elu(x) NaN at x = 710 for 1.0). Empty where no side has such points."""
    from ..verify.evaluate import NotEvaluable, mp_value

    sides = []
    for sign in (1, -1):
        seen = False
        with mpmath.workdps(30):
            for v in _EXP_SCAN:
                if v * sign <= 0:
                    continue
                try:
                    values = [mp_value(a, {x: mpmath.mpf(v)}) for a in exponents]
                except (NotEvaluable, ArithmeticError, ValueError, TypeError):
                    seen = False
                    break
                if any(mpmath.isnan(a) for a in values) or max(abs(a) for a in values) <= _DOUBLE_MAX:
                    continue
                if not mpmath.fsum(values) < _EXP_UNDER:
                    seen = False
                    break
                seen = True
        if seen:
            past = sp.Or(*[sp.Abs(a) > _DOUBLE_MAX for a in exponents])
            sides.append(sp.And(x > 0 if sign > 0 else x < 0, past))
    return sides


EXP_PRODUCT_LIMIT = Rule(
    "exp-product-limit", "a product of exponentials one of which overflows where another underflows to 0 is "
    "inf·0 = NaN where the true product is a number: ∂x of erf(exp(exp(x)))·elu(x), 2/√π·x·eˣ·e^(eˣ)·e^(−e^(2eˣ)) + "
    "erf(e^(eˣ)), was NaN from x ≈ 6.57 (true 1.0; torch the same); where a factor is inf or 0 the product is one "
    "exponential of the exponents' sum, e^(x + eˣ − e^(2eˣ)) (e^a·e^b = e^(a + b): 0 there, as the true product "
    "rounds), as written elsewhere; σ(b) = e^(−softplus(−b)) counts as one (∂ of mish(x)·σ(eˣ), eˣ·x·… times "
    "σ(−eˣ) = 0: NaN from x = 703.2 for 1.0); its cofactor R, R·e^(a + b), in the one widened product (rounded "
    "once from scaled double words: a subnormal e^(a + b) rounded first has few digits, and R multiplied their error "
    "up: ∂x of x·eˣ·e^(−eˣ), (1 + x − x·eˣ)·e^(x − eˣ), 2,196 ULP at x = 6.5835, torch 1.6e6)", local=_exp_product_limit)
_register(EXP_PRODUCT_LIMIT)
__all__ += ["EXP_PRODUCT_LIMIT"]


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
_register(EXP_PRODUCT_CANCEL)
__all__ += ["EXP_PRODUCT_CANCEL"]


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
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp):
        return expr
    return _top_down(expr, lambda node: _exp_into_underflowing_sum_node(node) if isinstance(node, sp.Expr) else None,
                     leaves=_KEPT)


EXP_INTO_UNDERFLOWING_SUM = Rule(
    "exp-into-underflowing-sum", "a sum of terms holding exponentials, times an exponential, loses its digits where the "
    "sum is a subnormal or 0 and the product is not: ∂ of eˣ·e^(−eˣ) is (e^(−eˣ) − eˣ·e^(−eˣ))·eˣ, −5e−311 times 720 "
    "at x = 6.58, 533 ULP in float64 (torch 1.6e5); ∂ of eˣ/(2 − eˣ)², ((2 − eˣ)^−2 + 2eˣ/(2 − eˣ)³)·eˣ, 0 from "
    "x ≈ 354 for −e^(−x) (torch 0); where the sum's terms as written are each below float64's smallest normal the "
    "exponential is "
    "multiplied into each term (exact: a product distributes over a sum), which the exponential rules then write as "
    "one exponential each, rounded once; the product as written elsewhere (and where a term is normal: their sum's "
    "cancellation is not this rule's)",
    apply=_exp_into_underflowing_sums, fired=lambda old, new: new != old, before=True)
_register(EXP_INTO_UNDERFLOWING_SUM)
__all__ += ["EXP_INTO_UNDERFLOWING_SUM"]


# ------------------------------------------------------------------ reciprocal-margin (issue 16, session 33, h-xfailb33:
# ∂y of exp(1/(xy) − (x − y)) holds 1 − 1/(x·y²), 109,784 ULP in float64 where x·y² ≈ 1; ∂ of y + 1/y, 1 − 1/y², 10,759
# ULP at y = 0.99998); tested in tests/test_xfailb33.py

def _monomial_factors(term):
    """The factors of ``term`` = k·P (k a nonzero number, P a product of integer powers of inputs) as (k, factors);
    None where ``term`` is not such a product."""
    k, P = term.as_coeff_Mul()
    factors = sp.Mul.make_args(P)
    # a sum as a base with a positive power only: a quotient by a sum, x·y·z/(x + y + z) and its derivatives, is the
    # product-over-sum rule's
    if k == 0 or not all(_monomial_base(f) or (f.is_Pow and f.exp.is_Integer and (
            f.base.is_Symbol or (f.exp.is_positive and _monomial_base(f.base)))) for f in factors):
        return None
    return k, factors


def _monomial_base(b) -> bool:
    """Whether ``b`` is an input or a sum of inputs times numbers (a − p: the double word holds it exactly; a sum
    with a number, 1 − y, is a mixture's, which the log and power rules take)."""
    return b.is_Symbol or (b.is_Add and all(not t.is_number and t.as_coeff_Mul()[1].is_Symbol for t in b.args))


def _monomial_difference(node):
    """k₁·P₁ + k₂·P₂ (P₁ ≠ P₂ products of integer powers of inputs or of sums of inputs times numbers, of total degree
    2 or more or holding a reciprocal, whose terms can be of opposite signs) → widened where every base b lies in
    [2^−L, 2^L], L = ⌊900/D⌋ for the larger total degree D (a double word of each product then neither overflows nor
    loses its low part to underflow), the sum as written elsewhere (where the other rules keep its range: s₁/s₂² as
    (s₁/s₂)/s₂); two terms of one total degree at their inputs over a power of two instead of that fixed range
    (:func:`_scaled_monomial_difference`); None for any other two-term sum, and for a/u − a/v of two inputs u, v (the
    reciprocal-difference rule's: :func:`_input_reciprocal_pair`)."""
    parts = [_monomial_factors(t) for t in node.args]
    if None in parts or any(t.is_number for t in node.args):
        return None
    if any(_input_reciprocal_pair(*pair) for pair in itertools.permutations(node.args)):
        return None  # a/u − a/v: reciprocal-difference's (every range, sums of more terms; two roundings, no double word)
    (k1, f1), (k2, f2) = parts
    if sp.Mul(*f1) == sp.Mul(*f2):
        return None

    def powers(fs):
        return [(f.base, int(f.exp)) if f.is_Pow else (f, 1) for f in fs]

    p1, p2 = powers(f1), powers(f2)
    # the terms' signs differ by k₁k₂ times Π sign(b)^(e₁ + e₂): where every combined exponent is even their signs are
    # k₁'s and k₂'s alone, and terms of one sign do not cancel (1/y + y/x², x² + y²)
    combined: dict = {}
    for b, e in p1 + p2:
        combined[b] = combined.get(b, 0) + e
    if all(e % 2 == 0 for e in combined.values()) and (k1 > 0) == (k2 > 0):
        return None
    # x − y, x − x·y…: one degree each and no quotient is a plain sum, which rounds once (or the widen rule's margin)
    degree1, degree2 = (sum(abs(e) for _, e in p) for p in (p1, p2))
    if max(degree1, degree2) < 2 and not any(e < 0 for _, e in p1 + p2):
        return None
    # over one denominator D (the reciprocals' least common multiple), so that the terms meet as products: s₁/s₂² −
    # 1/s₁ = (s₁² − s₂²)/(s₁·s₂²), exactly 0 at s₁ = s₂ in double words, where two quotients rounded apart are not
    e1, e2 = dict(p1), dict(p2)
    bases = sorted(set(e1) | set(e2), key=sp.default_sort_key)
    lowest = {b: min(0, e1.get(b, 0), e2.get(b, 0)) for b in bases}
    den = sp.Mul(*[b ** -lowest[b] for b in bases])
    num1, num2 = (k * sp.Mul(*[b ** (e.get(b, 0) - lowest[b]) for b in bases]) for k, e in ((k1, e1), (k2, e2)))
    degree = max(sum(e.get(b, 0) - lowest[b] for b in bases) for e in (e1, e2))
    degree = max(degree, -sum(lowest.values()))
    bound = 900 // max(degree, 1)
    low, high = sp.Float(2.0 ** -bound), sp.Float(2.0 ** bound)  # powers of two: exact
    body = num1 + num2 if den == 1 else sp.Mul(num1 + num2, sp.Pow(den, -1))
    if sum(e1.values()) == sum(e2.values()):  # terms of one degree: at the bases over a power of two of their inputs
        return _scaled_monomial_difference(node, body, bases, low, high, sum(e1.values()))
    # each base within 2^±⌊900/D_b⌋, D_b the largest total degree of the numerators and the denominator it is in
    # (each of those products then within 2^±900, as with one D for all; session 38, h-brk38: ∂y of mse(x/y, y), (x −
    # y²)/y, kept x within 2^±450 for y²'s sake and cancelled as written at x = 3.28e−185, y = −5.73e−93: 8.8e5 ULP)
    parts = [sp.Mul(*[b ** (e.get(b, 0) - lowest[b]) for b in bases]) for e in (e1, e2)] + [den]
    degrees = [(p, sum(int(q) for q in p.as_powers_dict().values())) for p in parts]

    def bound_of(b):
        return 900 // max([d for p, d in degrees if p.has(b)] + [1])
    inside = sp.And(*[sp.And(sp.Abs(b) > sp.Float(2.0 ** -bound_of(b)), sp.Abs(b) < sp.Float(2.0 ** bound_of(b)))
                      for b in bases])
    return sp.Piecewise((widen(body), inside), (node, True))


def _scaled_monomial_difference(node, body, bases, low, high, degree):
    """:func:`_monomial_difference`'s widened ``body`` for two terms of one total ``degree`` (d) → body(r·x)·r^(−d), r =
    binade_reciprocal(max |x_i|) of the bases' inputs x_i, where every scaled base |r·b| lies in (low, high) (the
    bases' spread: r·b within 2^±⌊900/D⌋), the sum as written elsewhere (``node``; and where the inputs are 0 or not
    finite, r = 2).

    Exact: the bases are inputs or their sums times numbers, so body(r·x) = r^d·body(x); r is a power of two, so r·x is
    exact (unless subnormal: then below 2⁻¹⁰²² of the largest input) and the largest |r·x| is in [1, 2); the powers of
    r after the widened core one at a time (each product exact where it stays in range, and monotone: no partial
    product overflows or underflows where the result does not). A fixed range [2^−L, 2^L] for the bases (L = ⌊900/D⌋)
    left x/y² − 1/x as written from |x| ≈ 2^300 (2.7e135: 7.9e12 ULP in float64) and 3x³ − 3y³ from 2^300 (NaN from
    1.1e103, inf − inf, where the difference is 0 or −inf)."""
    inputs = sorted(set().union(*(b.free_symbols for b in bases)), key=sp.default_sort_key)
    scale = binade_reciprocal(sp.Max(*[sp.Abs(x) for x in inputs]))
    core = widen(body)
    out = core.func(*[leaf * scale for leaf in core.leaves])
    for _ in range(abs(degree)):  # r^(−d): a quotient by r for each power of a positive degree
        out = Grouped(out / scale) if degree > 0 else Grouped(out * scale)
    inside = sp.And(*[sp.And(sp.Abs(b) * scale > low, sp.Abs(b) * scale < high) for b in bases])
    return sp.Piecewise((out, inside), (node, True))


def _square_pair(node):
    """R + k·u² − k·v² (u, v inputs or sums of inputs times numbers, or the relu of one: the contrastive loss's
    d² − relu(m − d)², k a number, R the rest of the sum, possibly nothing) as (R, k, u, v); None where ``node`` holds
    no such pair (the first pair in SymPy's order of the terms)."""
    if not node.is_Add:
        return None
    squares = []
    for i, t in enumerate(node.args):
        k, P = t.as_coeff_Mul()
        if P.is_Pow and P.exp == 2 and (_monomial_base(P.base) or _relu_of_monomial_base(P.base)):
            squares.append((i, k, P.base))
    for (i, k, u), (j, k2, v) in itertools.combinations(squares, 2):
        if k2 == -k:
            rest = sp.Add(*[t for n, t in enumerate(node.args) if n not in (i, j)])
            return rest, k, u, v
    return None


def _relu_of_monomial_base(b) -> bool:
    """Whether ``b`` is relu(s) or max(s, 0), s an input or a sum of inputs times numbers (:func:`_monomial_base`)."""
    if isinstance(b, relu):
        return _monomial_base(b.args[0])
    return isinstance(b, sp.Max) and len(b.args) == 2 and sp.S.Zero in b.args and all(
        a == 0 or _monomial_base(a) for a in b.args)


def _square_difference(node):
    """R + k·u² − k·v² (:func:`_square_pair`) → R + k·(u − v)·(u + v), widened: u − v and u + v are sums of inputs
    (a − p − (a − n) is n − p), exact or to 2⁻¹⁰⁶ in double words, where u² − v² rounded each square at 2⁻¹⁰⁶ of it
    and cancels without a bound where u and v are sums (the triplet loss relu((a − p)² − (a − n)² + m) at a = −1e100:
    3.4e−6 off; at −1e200 the squares overflow, inf − inf = NaN for 0), or where one is a relu rounded in float64 (the
    contrastive loss's ∂y, d² − relu(m − d)², near d = m/2: 4.2e6 ULP); None where ``node`` holds no such pair."""
    pair = _square_pair(node)
    if pair is None:
        return None
    rest, k, u, v = pair
    # (relu(s) as max(s, 0): a select of double words, s to 2⁻¹⁰⁶; the relu was s rounded in float64)
    u, v = (b.replace(relu, lambda a: sp.Max(a, 0)) for b in (u, v))
    return widen(rest + sp.Mul(k, u - v, u + v, evaluate=False))


# the functions whose argument's value is taken as it is, without a pairing with another node that needs its form as
# written: the sign and size of a piecewise-linear function's argument (a relu's, its gate's) is all that matters
_PIECEWISE_LINEAR = (sp.Heaviside, sp.Max, sp.Min, sp.Abs, sp.sign)


def _reciprocal_margin_node(node):
    """c + k·P (c, k nonzero numbers, P a product of integer powers of inputs whose negative powers sum to −2 or less,
    k·P of either sign or of c's opposite) → the same sum computed as the widen rule computes one (double-word in a float64
    kernel, float64 in a float32 one), rounded once; so is k₁·P₁ + k₂·P₂, two such products that can cancel
    (:func:`_monomial_difference`: the KL divergence of two Gaussians' ∂σ₁, σ₁/σ₂² − 1/σ₁, and x³ − y³), and, first,
    any sum holding a difference of squares as its factored form (:func:`_square_difference`: x² − y² as (x − y)·(x + y),
    not as two products); None for any other node."""
    if not node.is_Add:
        return None
    factored = _square_difference(node)
    if factored is not None:
        return factored
    if len(node.args) != 2:
        return None
    if not any(a.is_number for a in node.args):
        return _monomial_difference(node)
    c, term = sorted(node.args, key=lambda a: not a.is_number)
    if not (c.is_number and c.is_real and c != 0) or term.is_number:
        return None
    k, P = term.as_coeff_Mul()
    factors = sp.Mul.make_args(P)
    if not all(f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer) for f in factors):
        return None
    # a denominator of degree 2 or more (1 − t/p, a quotient of degree 1, is the quotient-complement rule's (p − t)/p,
    # 1 − 1/x the root-series rule's)
    if sum(-f.exp for f in factors if f.is_Pow and f.exp.is_negative) < 2:
        return None
    # and of the sign that cancels c: 1 + x²/y² (hypot's, quotient-square's atan(x/y)′) does not
    if all(f.is_Pow and f.exp.is_even for f in factors) and (k > 0) == (c > 0):
        return None
    return _guarded_margin(node, c, k, factors)


def _guarded_margin(node, c, k, factors):
    """c + k·P widened where each base b of a power bⁿ of P (|n| ≥ 2) lies within 2^±⌊900/|n|⌋, where its double
    words stay in range (an input to the first power is not bounded: a quotient past the range is past it as the result
    is, and one below it is below an ulp of c); outside it c + k·N/b/…/b,
    the numerator N of P divided by each base of P's negative powers in turn (each partial quotient between N and
    N/Πbⁿ where one base: none leaves the range where the result does not). The widened P of 1 + x/y² rounds y² to 0
    where it underflows: ∂y of mse(x/y, y), −2·(x/y − y)·(1 + x/y²), was NaN at x = 0, y = −1.4e−162 for −2.8e−162
    (0/0; session 37, h-cloglog37)."""
    powers = [(f.base, 900 // abs(int(f.exp))) for f in factors if f.is_Pow and abs(f.exp) >= 2]
    # (2^±⌊900/|n|⌋: powers of two, exact)
    inside = sp.And(*[sp.And(sp.Abs(b) > sp.Float(2.0 ** -e), sp.Abs(b) < sp.Float(2.0 ** e)) for b, e in powers])
    quotient = k * sp.Mul(*[f for f in factors if not (f.is_Pow and f.exp.is_negative)])
    for f in factors:
        if f.is_Pow and f.exp.is_negative:
            for _ in range(-int(f.exp)):
                quotient = Grouped(quotient / f.base)
    return sp.Piecewise((widen(node), inside), (c + quotient, True))


def _reciprocal_margins(expr):
    """Every outermost sum of ``expr`` :func:`_reciprocal_margin_node` takes, widened. A difference of two products
    that is a function's argument or a power's base (e^(x² − y), whose scaled-erfc pairing with erfc(x) needs it as
    written) is left to the rules of that function; the argument of a relu, a gate H(u) or another piecewise-linear
    function (:data:`_PIECEWISE_LINEAR`) is not, for a difference of squares (:func:`_square_difference`)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Add):
        return expr
    nodes = list(sp.preorder_traversal(expr))
    gates = _PIECEWISE_LINEAR + (relu,)
    held = {a for n in nodes if isinstance(n, sp.Function) and not isinstance(n, gates) for a in n.args}
    held |= {n.base for n in nodes if isinstance(n, sp.Pow)}
    gated = {a for n in nodes if isinstance(n, gates) for a in n.args} - held

    def node_form(node):
        if not isinstance(node, sp.Expr):
            return None
        if node in held | gated and not any(a.is_number for a in node.args):
            # a relu's or its gate's argument: a difference of squares' factored form only
            return _square_difference(node) if node in gated else None
        return _reciprocal_margin_node(node)

    return _top_down(expr, node_form, leaves=_KEPT)


RECIPROCAL_MARGIN = Rule(
    "reciprocal-margin", "c − k/P with P a product of powers of inputs cancels the rounding of 1/P where k/P ≈ c: ∂y "
    "of exp(1/(xy) − (x − y)) holds 1 − 1/(x·y²), 109,784 ULP in float64 where x·y² ≈ 1 (its own test's point 8.27, "
    "torch 81.7); ∂ of y + 1/y, 1 − 1/y², 10,759 ULP at y = 0.99998 (the hinge's margin 1 − t·x with a reciprocal); "
    "the sum in double-word arithmetic (float64 in a float32 kernel), its division exact to 2⁻¹⁰⁶, rounded once; so is "
    "k₁·P₁ + k₂·P₂, two such products (of inputs or of their sums) that can be of opposite signs, over one denominator "
    "(σ₁/σ₂² − 1/σ₁ as (σ₁² − σ₂²)/(σ₁·σ₂²): exactly 0 at σ₁ = σ₂), where each base lies within 2^±⌊900/D⌋, D the "
    "largest degree of the products it is in (the KL divergence of two Gaussians' ∂σ₁: 1.5e7 ULP in float64 near "
    "σ₁ = σ₂, torch the same; a/u − a/v of two inputs, 1/x − 1/y, is the reciprocal-difference rule's); two products "
    "of one total "
    "degree d at their inputs times r, the power of two that brings the largest into [1, 2) (binade_reciprocal), the "
    "result times r^(−d) after, exact (x/y² − 1/x at x ≈ y ≈ 2.7e135 was 2.7e9 ULP as written, 3x³ − 3y³ at 1.45e135 "
    "NaN for 0 or ±inf); and, before those, a sum holding a difference of squares of inputs or their sums or their "
    "relus, R + k·u² − k·v² (a relu's argument too), as R + k·(u − v)·(u + v), a relu as max(s, 0), u − v and u + v "
    "exact or to 2⁻¹⁰⁶ in double words (not over the two products: x² − y² where x ≈ ±y was 1.4e7 ULP in float64 "
    "as written, x within 10⁻⁶ of ±y); the contrastive loss's ∂y, d² − "
    "relu(m − d)², was 4.2e6 ULP off at d = 0.49999998221238817, m = 1 (torch the same); the triplet loss "
    "relu((a − p)² − (a − n)² + m) was NaN at a = −1e200 (inf − inf; true 0, torch NaN) and 1.7e10 ULP off at "
    "a = −1e100, m = 3.0000000001e100 (each square rounded at 2⁻¹⁰⁶ of 1e200; torch 3e100 for 1e90), where "
    "(n − p)·(2a − p − n) is exact to 2⁻¹⁰⁶ of itself; c + k·P only where each base of a power bⁿ of P (|n| ≥ 2) "
    "is within 2^±⌊900/|n|⌋, and c + k·N/b/…/b elsewhere, each base of P's denominator divided out in turn (∂y of "
    "mse(x/y, y), −2·(x/y − y)·(1 + x/y²), was NaN at x = 0, y = −1.4e−162 for −2.8e−162: the widened y² was 0)",
    apply=_reciprocal_margins, fired=lambda old, new: new != old, before=True)
_register(RECIPROCAL_MARGIN)
__all__ += ["RECIPROCAL_MARGIN"]


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
    if not isinstance(expr, sp.Expr) or not expr.has(sp.cosh, sp.sinh):
        return expr
    return _top_down(expr, lambda node: _cosh_square_sum_first_node(node) if isinstance(node, sp.Expr) else None,
                     leaves=_KEPT)


COSH_SQUARE_SUM_FIRST = Rule(
    "cosh-square-sum-first", "cosh-square-sum's c·cosh²u + r where r holds the number that cancels c·cosh²u's constant "
    "part (2cosh²x − 1 + y: exp-collect writes 2cosh²x − 1 as e^(2x)/2 + e^(−2x)/2 first, and the quotient above it "
    "no longer holds c·cosh²u): ∂x of log(2cosh²x − 1 + y), 4·sinh x·cosh x/(2cosh²x − 1 + y), was NaN at (709.8, 0) "
    "for 2 (inf·0; torch NaN); cosh-square-sum applied to the log or quotient as written, before the node rules: for "
    "|u| > 20 4·tanh u/(2 + (y − 1)/cosh²u), the same function",
    apply=_cosh_square_sums_first, fired=lambda old, new: new != old, before=True)
_register(COSH_SQUARE_SUM_FIRST)
__all__ += ["COSH_SQUARE_SUM_FIRST"]


# ------------------------------------------------------------------ tie-difference (issue 16, session 36, h-edge36: the
# pinball loss max(q·(y − p), (q − 1)·(y − p)) selects its gradient on q·(y − p) − (q − 1)·(y − p) > 0, inf − inf = NaN
# where both products overflow to one infinity); tested in tests/test_edge36.py

def _tie_difference_condition(node):
    """u > 0 or u < 0 (max/min's tie test a − b, :func:`symnet.rules.tie_split`) with u a polynomial in the inputs of
    degree 4 at most whose expanded form has fewer operations (q·(y − p) − (q − 1)·(y − p) is y − p), as that form with
    its numeric coefficient taken out (its sign flips the test); None for any other node."""
    if not (isinstance(node, (sp.StrictGreaterThan, sp.StrictLessThan)) and node.rhs == 0 and node.lhs.is_Add):
        return None
    u = node.lhs
    symbols = sorted(u.free_symbols, key=sp.default_sort_key)
    if not symbols or not u.is_polynomial(*symbols) or sp.Poly(u, *symbols).total_degree() > 4:
        return None
    c, rest = sp.factor_terms(sp.expand(u)).as_coeff_Mul()
    if not (c.is_Number and c != 0 and rest.free_symbols) or sp.count_ops(rest) >= sp.count_ops(u):
        return None
    return type(node)(rest, 0) if c > 0 else type(node)(0, rest)


def _tie_differences(expr):
    """Every condition of a select in ``expr`` that :func:`_tie_difference_condition` takes, rewritten."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Piecewise):
        return expr
    found = {n: _tie_difference_condition(n) for n in sp.preorder_traversal(expr)
             if isinstance(n, (sp.StrictGreaterThan, sp.StrictLessThan))}
    found = {n: new for n, new in found.items() if new is not None}
    return expr.xreplace(found) if found else expr


TIE_DIFFERENCE = Rule(
    "tie-difference", "max(a, b)′ selects a′ where a − b > 0 (torch.maximum's rule): a − b computed as written is "
    "inf − inf = NaN where a and b overflow to one infinity, though it is small: the pinball loss max(q·(y − p), "
    "(q − 1)·(y − p)) selects on q·(y − p) − (q − 1)·(y − p), NaN at y = −1.12e308, p = 1.12e308, q = 1.98 (∂y 1.48 "
    "for 0.98: the tie's mean); a − b expanded where it is a polynomial with fewer operations so (y − p > 0), "
    "the same test on fewer roundings",
    apply=_tie_differences, fired=lambda old, new: new != old, before=True)
_register(TIE_DIFFERENCE)
__all__ += ["TIE_DIFFERENCE"]


# ------------------------------------------------------------------ nested-select (issue 16, session 37, h-search37: ∂x
# of elu(x, 0.5)/log(e^x + e^x) at x = 88.7, 102 ULP, torch 26); tested in tests/test_search37.py

def _nested_select_node(node):
    """The select ``node`` with every select inside a branch that tests that branch's own condition first taken as its
    first value there (where cᵢ holds, {v if cᵢ; …} is v: elu′'s {1 if x > 0; …} inside the quotient rule's branch
    x > 0 is 1); SymPy evaluates a select whose first condition is True to its value. Not a select's later branches
    (where the earlier conditions are false): there a scaled value (leaky_relu's y/100) multiplied into the sums of
    softsign′ came out in forms the fraction-complement rule no longer joined (527 ULP at y = −10⁴, tried)."""
    if not isinstance(node, sp.Piecewise):
        return node
    pieces, changed = [], False
    for value, cond in node.args:
        if cond not in (sp.true, sp.false):
            inner = {q: q.args[0][0] for q in _atoms(value, sp.Piecewise) if q.args[0][1] == cond}
            if inner:
                value, changed = value.xreplace(inner), True
        pieces.append((value, cond))
    return sp.Piecewise(*pieces) if changed else node


def _nested_selects(expr):
    """Every select of ``expr`` as :func:`_nested_select_node` puts it, innermost first."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Piecewise):
        return expr
    return _bottom_up(expr, _nested_select_node, leaves=_KEPT)


NESTED_SELECT = Rule(
    "nested-select", "a select inside a branch of a select, testing that branch's own condition first (the quotient "
    "rule's branch x > 0 of elu(x)/L holds elu(x) = {x if x > 0; …}), is its first value there, exactly; as written "
    "it is computed apart and shared, so that the branch's terms never meet: ∂x of elu(x, 0.5)/log(e^x + e^x), "
    "1/L − x/L² with L = x + log 2, cancels at x = 88.7 (102 ULP, torch 26) where, one sum, the fraction-complement "
    "rule writes it (L − x)/L² = log 2/L²",
    apply=_nested_selects, fired=lambda old, new: new != old, before=True)
_register(NESTED_SELECT)
__all__ += ["NESTED_SELECT"]


# ------------------------------------------------------------------ relu-branches (issue 16, session 38, h-reassoc38:
# ∂x of relu(x)/log(e^x + e^x), H(x)/L − relu(x)/L², 1.4e17 ULP in float32); tested in tests/test_reassoc38.py

def _relu_branches_node(node):
    """The sum ``node`` holding relu(u) and relu′(u) = H(u) of one u as the select {its value with both 0 if u ≤ 0;
    with H(u) = 1 and relu(u) = u otherwise} (H(0) = 0, torch's relu′ at the kink), each branch one sum; None for any
    other node."""
    if not isinstance(node, sp.Add):
        return None
    steps = {h.args[0] for h in _atoms(node, sp.Heaviside)}
    common = sorted(steps & {r.args[0] for r in _atoms(node, relu)}, key=sp.default_sort_key)
    if not common:
        return None
    u = common[0]
    off = {sp.Heaviside(u): 0, relu(u): 0}
    on = {sp.Heaviside(u): 1, relu(u): u}
    on.update({h: 1 for h in _atoms(node, sp.Heaviside) if h.args[0] == u})  # H(u, 0) too
    off.update({h: 0 for h in _atoms(node, sp.Heaviside) if h.args[0] == u})
    return sp.Piecewise((node.xreplace(off), u <= 0), (node.xreplace(on), True))


def _relu_branches(expr):
    """Every sum of ``expr`` :func:`_relu_branches_node` takes, innermost first."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Heaviside) and expr.has(relu)):
        return expr
    return _bottom_up(expr, lambda node: _relu_branches_node(node) or node, leaves=_KEPT)


RELU_BRANCHES = Rule(
    "relu-branches", "a sum holding relu(u) and its derivative H(u) (the quotient rule's H(x)/L − relu(x)/L² of "
    "relu(x)/L) computes them apart, so that its terms never meet: ∂x of relu(x)/log(e^x + e^x), 1/L − x/L² with "
    "L = x + log 2, cancels for x ≫ 1 (float32 −8.3e−25 for 5.4e−35 at x = 1.13e17; torch NaN); in branches of "
    "u ≤ 0 (both 0) and u > 0 (H(u) = 1, relu(u) = u), exactly, the branch is one sum, which the fraction-complement "
    "rule writes (L − x)/L² = log 2/L², as nested-select does for elu",
    apply=_relu_branches, fired=lambda old, new: new != old, before=True)
_register(RELU_BRANCHES)
__all__ += ["RELU_BRANCHES"]


def stabilise(expr: sp.Expr, rules=None) -> tuple[sp.Expr, tuple[Rule, ...]]:
    """``expr`` with every rule applied, and the rules that changed something (in the order
    they first fired), e.g. ``stabilise(log(1 + exp(x))) == (softplus(x), (<softplus rule>,))``.

    When ``rules`` holds any of :data:`RULES` (the default, None: :data:`RULES` as it is at the call,
    so a rule registered after this function is defined is not left out), the whole node-by-node set is
    applied in one bottom-up pass over the expression graph, each distinct node once (the
    rules are not independent: a log-sum-exp needs the max-shift of its quotient first).
    Whole-expression rules (``apply``/``fired``, e.g. the row-wise rules) are then applied in
    order to the whole expression. Raises nothing: a node no rule matches is kept as written.
    For the many outputs of one kernel, :class:`Stabiliser` gives the same answers sharing the work."""
    return Stabiliser(rules)(expr)


class Stabiliser:
    """:func:`stabilise` for the outputs of one kernel: ``Stabiliser()(expr)`` is ``stabilise(expr)``
    for every ``expr``, and each distinct subexpression met by any of them is rewritten once.

    A written log-sum-exp of N terms has a value and N gradients, each holding the whole Σ e^{a_i}:
    stabilised one by one that is N passes over N terms (60 terms: 50 s of a 66 s compile, issue 16).
    The memo maps a node to its stable form and to the rules that fired at or below it, in the order
    they fired, so each output still reports exactly the rules a pass of its own would (the printout
    and ``--stable`` name them per output). It lives as long as the object: make one per kernel
    (holding every node met, it is as large as the kernel's expressions), never a global one."""

    def __init__(self, rules=None):
        # None: RULES at the call (a default of RULES would be the tuple bound when the class was made: a rule
        # registered below it was silently never tried)
        rules = RULES if rules is None else rules
        self.rules = rules
        self._local = any(r.name in _BY_NAME and _BY_NAME[r.name] is r for r in rules)
        self._before = [r for r in rules if r.apply is not None and r.before]
        self._whole = [r for r in rules if r.apply is not None and not r.before]
        self._memo: dict = {}  # node → its stable form
        self._below: dict = {}  # node → names of the rules that fired at or below it, first firing first
        self._walks: dict = {}  # the whole-expression rules' bottom-up walks: (code, leaves) → node → rewritten

    def __call__(self, expr: sp.Expr) -> tuple[sp.Expr, tuple[Rule, ...]]:
        expr, first = sp.sympify(expr), []
        for rule in self._before:
            new = rule.apply(expr)
            if rule.fired(expr, new):
                first.append(rule)
                expr = new
        if self._local:
            expr, names = _rewrite(expr, self._memo, self._below)
            fired = first + [r for r in dict.fromkeys(_BY_NAME[n] for n in names) if r not in first]  # once each
        else:
            fired = first
        token = _SHARED_WALKS.set(self._walks)
        try:
            for rule in self._whole:
                new = rule.apply(expr)
                if rule.fired(expr, new):
                    fired.append(rule)
                    expr = new
        finally:
            _SHARED_WALKS.reset(token)
        return expr, tuple(fired)


def without_ite(e):
    """Conditions with every ITE(a, b, c) written as (a ∧ b) ∨ (¬a ∧ c). SymPy turns a relation
    on a Piecewise (``Eq(y**z guarded, 0)``: the zero-power guard of x**y**z) into an ITE, which
    no backend prints ("the NumPy backend cannot generate ITE")."""
    if not isinstance(e, sp.Basic) or not e.has(sp.ITE):
        return e
    return e.replace(lambda n: isinstance(n, sp.ITE),
                     lambda n: sp.Or(sp.And(n.args[0], n.args[1]), sp.And(sp.Not(n.args[0]), n.args[2])))


def _rewrite(expr, memo: dict, below: dict):
    """``expr`` with the node-by-node rules applied bottom-up, and the names of the rules that fired
    in it (each once, in the order they first fired). ``memo`` (node → stable form) and ``below``
    (node → the names fired at or below it) are :class:`Stabiliser`'s, kept between calls: a node
    met again, in this expression or an earlier one, is not rewritten again, and its names count."""
    def visit(node, depth=0):
        done = memo.get(node)
        if done is not None:
            return done, below[node]
        if not node.args or isinstance(node, (sp.Indexed, sp.IndexedBase)):
            memo[node], below[node] = node, ()
            return node, ()
        spread = _numbers_cancel(node)  # before its terms are rewritten: affine-root groups k·(a + c) into one term
        if spread is not None and spread.expr != node:
            out, fired = visit(spread.expr, depth + 1)
            names = tuple(dict.fromkeys(("cancel", *fired)))
            memo[node], below[node] = out, names
            return out, names
        names: list = []
        args = []
        # a form taken as written where it is not finite: the written form as it is (its terms are rewritten already;
        # rewritten again, the fraction-complement rule's written form would be joined again, and again)
        written = isinstance(node, WrittenWhereNotFiniteBase)
        for a in node.args[:1] if written else node.args:
            arg, fired = visit(a, depth)
            args.append(arg)
            _note(names, fired)
        args = tuple(args) + node.args[1:] if written else tuple(args)
        new = node.func(*args) if args != node.args else node
        out = new
        for rule in _LOCAL:
            result = rule(new)
            if result is None:
                continue
            final = isinstance(result, _Final)
            if final:
                result = result.expr
            if isinstance(result, _Fired):
                fired, result = result.names, result.expr
            else:
                fired = [_LOCAL_RULE.get(rule, "cancel")]
            if result == new:
                continue
            result = without_ite(result)
            _note(names, fired)
            if final or depth > _MAX_REWRITES:
                out = result
                memo[result], below[result] = result, ()
            else:
                out, fired = visit(result, depth + 1)
                _note(names, fired)
            break
        names = tuple(names)
        memo[node], below[node] = out, names
        if out != node:  # the stable form is final: met again, it is kept as it is
            memo[out], below[out] = out, ()
        return out, names

    return visit(expr)


def _rewritten(expr):
    """``expr`` with the node-by-node rules applied (a pass of its own), and the rules that fired in it: for a
    rule that stabilises a part it builds (conjugate's A − B², mixture-log's branches)."""
    out, names = _rewrite(expr, {}, {})
    return out, list(dict.fromkeys(_BY_NAME[n] for n in names))


def _note(names: list, fired) -> None:
    """Append to ``names`` those of ``fired`` it does not hold yet, in order."""
    for n in fired:
        if n not in names:
            names.append(n)


class nexp(SymnetFunction):  # noqa: N801
    """nexp(x) = e^−x, kept as one opaque node so that 1/nexp(x) is not folded back into
    e^x: the sigmoid-pair rule computes σ(x) and σ(−x) from this one exponential. Shown, printed by
    SymPy's code printers and evaluated as e^−x (:class:`symnet.functions.SymnetFunction`)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return -self

    @staticmethod
    def _of(x):
        return sp.exp(-x)

    @staticmethod
    def _shown(x):
        return sp.exp(-x, evaluate=False)  # e^−0 and e^−log(x) as such, not 1 and 1/x

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return self._of(x)


def _same_base_pair(a, b):
    """σ(a)·σ(b) with |a| = |b| and b ≠ ±a as written, one of them ≥ 0 by its form (σ(y)·σ(|y|): the stabiliser writes
    1/(1 + e^−|y|) as σ(|y|)): 1/(1 + E)² where the other is ≥ 0 (σ(u)²) and E/(1 + E)² below (σ(u)·σ(−u)), E = e^−|a|,
    each with s = fl(1 + E)'s rounding taken back as :func:`_pair_product` does, the second that product itself (one
    temporary with it). Exact (1/(1 + E)² = (1 − 2d/s)/s² to first order, d = E − (s − 1)); E's error and three
    roundings, where the selects {1/s; E/s}·(1/s) carried E's, s's twice and two quotients': x·σ(y)/(1 + e^−|y|) 3.95
    ULP in float64 at (8.8146e307, −27.023), torch 1.95 (session 33's 3.67 at (1.5176e308, −25.48); session 34).
    A select of the two quotients, not one quotient of a selected numerator: CSE regrouped ∂y's σ(y)·σ(−|y|)·σ(|y|)
    with the latter (8.99 ULP at y = −0.128 where it cancels, 2.99 before)."""
    E = nexp(sp.Abs(a))
    s = Grouped(1 + E)
    d = RoundingError(E - Grouped(s - 1))
    free = a if (b >= 0) == sp.true else b  # the argument of either sign
    return sp.Piecewise((Grouped(1 - 2 * d / s) / s ** 2, free >= 0), (_pair_product(a), True))


def _pair_product(u):
    """σ(u)·σ(−u) = E/(1 + E)² with E = e^−|u| ≤ 1, the rounding of s = fl(1 + E) taken back: its error
    d = E − (s − 1) is exact (Fast2Sum, 1 ≥ E), and 1/(1 + E)² = (1 − 2d/s)/s² to first order, so the
    numerator E − 2E·d/s (a correction below u·E) and s² and the quotient round: E's own error and three
    roundings, some 2u, where E·r·r (r = 1/s, its rounding and that of 1 + E twice over) and the select
    of which is which carry some 3.6u (sigmoid_mse's ∂z = −2(y − σ)σσ(−): 4.6 ULP in float64, measured)."""
    E = nexp(sp.Abs(u))
    s = Grouped(1 + E)
    d = RoundingError(E - Grouped(s - 1))
    return Grouped(E - 2 * E * d / s) / s ** 2


class RoundingError(Grouped):
    """d = E − (s − 1) with s = fl(1 + E), 0 ≤ E ≤ 1: what rounding 1 + E to s lost, exactly (Fast2Sum),
    in :func:`_pair_product`. A temporary of its own in the generated code (``err_`` and the name of s),
    whose comment says why it is there (:meth:`why`): read inline, E − (s − 1) looks like 0."""

    def parts(self):
        """(E, s) of E − (s − 1), or None where it is not of that form (any more)."""
        small = [a for a in sp.Add.make_args(self.args[0]) if not a.could_extract_minus_sign()]
        inner = [g.args[0] for g in self.atoms(sp.UnevaluatedExpr) if g is not self]
        total = [a for g in inner for a in sp.Add.make_args(g) if a != -1]
        return (small[0], total[0]) if len(small) == 1 and len(total) == 1 else None

    @staticmethod
    def why(d: str, E: str, s: str) -> str:
        """The comment on d's temporary, in the code's names of d, E and s."""
        return (f"{d} = {E} − ({s} − 1): the rounding error of {s} = 1 + {E}, exact (Fast2Sum, {E} ≤ 1); "
                f"with it σ′ = E/(1 + E)² = (E − 2E·err/s)/s² to first order (E = {E}, s = {s}, err = {d}), "
                f"where E/s² alone carries the rounding of s twice")


def _pair_products(e, pairs):
    """Every product holding σ(u) and σ(−u) (each to the first power) and another factor that is not a
    number, for u in ``pairs``, the pair as :func:`_pair_product` (σ′ alone is left to the pair's r·(E·r):
    the sigmoid kernel's σ′ 4× slower in NumPy for a rounding or two); a product of σ(u) and σ(±|u|) alone among its
    σ factors (with or without others) as :func:`_same_base_pair`."""
    def fold(node):
        mixed = same_base(node)
        if mixed is not None:
            a, b = mixed
            return sp.Mul(*[f for f in node.args if f not in (sigmoid(a), sigmoid(b))]) * _same_base_pair(a, b)
        for u in pairs:
            if sigmoid(u) in node.args and sigmoid(-u) in node.args:
                node = sp.Mul(*[f for f in node.args if f != sigmoid(u) and f != sigmoid(-u)]) * _pair_product(u)
        return node

    def has_pair(node):  # with another factor that is not a number: σ′ alone, r·(E·r), is within 3.6u already
        return node.is_Mul and (any(sigmoid(u) in node.args and sigmoid(-u) in node.args
                                    and any(not f.is_number for f in node.args if f not in (sigmoid(u), sigmoid(-u)))
                                    for u in pairs) or same_base(node) is not None)

    def same_base(node):  # (a, b): a product's two σ factors, |a| = |b|, b ≠ ±a, one ≥ 0, a pair's E; else None
        if not node.is_Mul:
            return None
        args = [f.args[0] for f in node.args if isinstance(f, sigmoid)]
        if len(args) != 2 or args[0] == -args[1] or sp.Abs(args[0]) != sp.Abs(args[1]) or not any(
                (v >= 0) == sp.true for v in args):
            return None
        return tuple(args) if any(v in pairs or -v in pairs for v in args) else None

    return e.replace(has_pair, fold)


def _share_sigmoid_pairs(e: sp.Expr) -> sp.Expr:
    """σ(x) and σ(−x) both present → with E = e^−|x| and r = 1/(1 + E): σ(x) = r for x ≥ 0,
    E·r below; σ(−x) the other way round. E ≤ 1: nothing overflows, and σ(−100) in float32
    is E·r = 3.7e−44 (a subnormal), not 0."""
    sigs = e.atoms(sigmoid)
    pairs = {}
    for s in sorted(sigs, key=sp.default_sort_key):
        u = s.args[0]
        if sigmoid(-u) in sigs and u not in pairs and -u not in pairs:
            try:
                u >= 0
            except TypeError:  # SymPy cannot compare u with 0 (a select of a series of log2(x), not real for x < 0:
                continue       # TypeError at sigmoid(tanhshrink(log2(x)), h-ite26's random compositions): no pair
            pairs[-u if u.could_extract_minus_sign() else u] = True
    if not pairs:
        return e
    e = _pair_products(e, pairs)
    mapping = {}
    for u in pairs:
        E = nexp(sp.Abs(u))
        r = 1 / (1 + E)
        mapping[sigmoid(u)] = sp.Piecewise((r, u >= 0), (E * r, True))
        mapping[sigmoid(-u)] = sp.Piecewise((E * r, u >= 0), (r, True))
    return without_ite(e.xreplace(mapping))


# Not a stability rule: an evaluation strategy the code generator applies across all the
# outputs of one kernel (so σ(z) in the loss and σ(−z) in its gradient share work).
SIGMOID_PAIR = Rule(
    "sigmoid-pair", "σ(x) and σ(−x) from one exponential E = e^−|x| ≤ 1 and r = 1/(1 + E): "
    "σ(x) = r, σ(−x) = E·r for x ≥ 0 and the other way round below; nothing overflows",
    _share_sigmoid_pairs, _introduces(nexp))

__all__ += ["log1p", "expm1", "nexp", "SIGMOID_PAIR", "WidenedBase", "widen", "unwiden", "RoundingError"]




# ------------------------------------------------------------------ overflowing-log1p (issue 16, session 19: log(1 + (p − t)²/s)
# is inf in float64 at p − t = 1e200, s = 1 where it is 921.03, its ∂p 0 where 2e−200 and ∂s −0 where −1: the quotient
# overflows while its log does not; torch the same); tested in tests/test_gauss19.py

def _ungrouped_math(e):
    """``e`` as the formula it computes (:func:`_as_math`), with groupings nested in groupings dropped too."""
    e = _as_math(e)
    while e.has(sp.UnevaluatedExpr):
        e = e.replace(lambda n: isinstance(n, sp.UnevaluatedExpr), lambda n: n.args[0])
    return e


def _product_of_inputs(q, shifted=False):
    """(c, [(a, n), …]) with q = c·Π aⁿ (c a number, each a an input or a sum of inputs, n a nonzero integer), else
    None. ``shifted``: an input plus a number (ν + 1) is a factor too (rounded once: a relative error of ε)."""
    if not isinstance(q, sp.Expr) or q.is_number or not q.free_symbols:
        return None
    c, rest = q.as_coeff_Mul()
    powers = [f.as_base_exp() for f in sp.Mul.make_args(rest)]
    for base, n in powers:
        if not (n.is_Integer and n != 0 and (base.is_Symbol or _rounded_sum(base)
                                              or (shifted and _shifted_input(base)))):
            return None
    return c, powers


def _shifted_input(s) -> bool:
    """s = x + k (ν + 1, the Student-t's numerator): one input and a nonzero number."""
    return (isinstance(s, sp.Expr) and s.is_Add and len(s.args) == 2
            and any(a.is_Number for a in s.args) and any(a.is_Symbol for a in s.args))


def _overflowing_product(q):
    """:func:`_product_of_inputs` of a product that can overflow while its log does not (two or more factors, or one
    power |n| ≥ 2), else None."""
    found = _product_of_inputs(q)
    if found is None or (len(found[1]) < 2 and abs(found[1][0][1]) < 2):
        return None
    return found


def _far_of_shifted(x):
    """(k, c, powers) for x = k + X whose X (as the formula computes it: a scaled-square select's branches are one
    quotient) is an overflowing product (:func:`_overflowing_product`), else None."""
    if not (isinstance(x, sp.Expr) and x.is_Add and len(x.args) == 2):
        return None
    k, X = sorted(x.args, key=lambda e: not e.is_number)
    if not (k.is_number and k != 0):
        return None
    found = _overflowing_product(_ungrouped_math(X))
    return None if found is None else (k, X, found)


def _overflowing_log1p_node(node):
    """log1p(X) → log X where X > 2¹⁰⁰⁰; R/(k + X) → 1/a there (a = X/R by SymPy's cancel, a product again; the
    exact 1/(a·(1 + k/X)) is 1/a to 2⁻¹⁰⁰⁰ relative); None elsewhere. X is the node as the other rules wrote it (the scaled-square d·(d/s)), its math an
    overflowing product (:func:`_overflowing_product`)."""
    far = _PRODUCT_RANGE[1]
    if isinstance(node, log1p):
        X = node.args[0]
        found = _overflowing_product(_ungrouped_math(X))
        if found is None:
            return None
        c, powers = found
        # log X = log|c| + Σ n·log|a| where X > 2¹⁰⁰⁰ (X > 0: the signs agree); log1p(X) − log X = log1p(1/X) < 2⁻¹⁰⁰⁰,
        # below the rounding of log X ≥ 693; each |log a| ≤ 745 (float32's: 104, log X ≥ 88.7 where X is inf): no
        # cancellation worth an ULP
        total = sp.log(sp.Abs(c)) + sp.Add(*[n * sp.log(sp.Abs(a)) for a, n in powers])
        return sp.Piecewise((total, sp.StrictGreaterThan(X, far, evaluate=False)), (node, True))
    if not node.is_Mul:
        return None
    for f in node.args:
        # (a select whose last branch is the quotient: rounded-log-argument's {1/(k + X) widened; 1/(k + X)})
        g = f.args[-1].expr if isinstance(f, sp.Piecewise) and f.args[-1].cond == sp.true else f
        if not (g.is_Pow and g.exp == -1):
            continue
        found = _far_of_shifted(g.base)
        if found is None:
            continue
        k, X, _ = found
        rest = sp.Mul(*[g for g in node.args if g is not f])
        a = sp.factor_terms(sp.cancel(_ungrouped_math(X) / _ungrouped_math(rest)))  # (p − t)/2, not p/2 − t/2
        if _product_of_inputs(a, shifted=True) is None:  # (x − μ)/(ν + 1): the Student-t's ∂x
            continue
        # R/(k + X) = 1/(a·(1 + k/X)), a = X/R (p − t over 2, −s: X/R with the overflowing factors cancelled, finite
        # where R/(k + X) is): where X > 2¹⁰⁰⁰, |k/X| < |k|·2⁻¹⁰⁰⁰ is far below float64's rounding of 1, so 1/a
        return sp.Piecewise((1 / a, sp.StrictGreaterThan(X, far, evaluate=False)), (node, True))
    return None


def _overflowing_log1ps(expr):
    """``expr`` with each log1p of an overflowing product and each quotient by 1 + it rewritten where the product
    passes 2¹⁰⁰⁰ (:func:`_overflowing_log1p_node`)."""
    if not isinstance(expr, sp.Basic) or not expr.has(log1p, sp.Pow):
        return expr
    return _top_down(expr, _overflowing_log1p_node, _KEPT)


OVERFLOWING_LOG1P = Rule(
    "overflowing-log1p", "log1p(X) of a product or quotient X of inputs and sums of inputs (log(1 + (p − t)²/s), a "
    "Cauchy-type loss) overflows with X (p − t = 1e200, s = 1: inf where it is 921.03, float64; torch the same), and "
    "its derivatives R/(1 + X) are R/inf = 0 (∂p 0 where 2e−200, ∂s −0 where −1); where X passes 2¹⁰⁰⁰ (in float32: "
    "where it is inf) log1p(X) is log X = log|c| + Σ n·log|a| (log1p(1/X) < 2⁻¹⁰⁰⁰ dropped; each |log a| ≤ 745 while "
    "log X ≥ 693: no cancellation) and R/(k + X) is 1/a with a = X/R cancelled (∂p: 2/(p − t), ∂s: −1/s; "
    "1/(a·(1 + k/X)) exactly, k/X < 2⁻¹⁰⁰⁰ dropped; a's factors may hold an input plus a number: the Student-t's "
    "∂x (ν + 1)·(x − μ)/(ν + (x − μ)²) is 1/a with a = (x − μ)/(ν + 1), 0 for 4e−200 at ν = 3, x − μ = 1e200 before)",
    apply=_overflowing_log1ps, fired=lambda old, new: new != old)
_register(OVERFLOWING_LOG1P)
__all__ += ["OVERFLOWING_LOG1P"]


# ------------------------------------------------------------------ zero-scaled-exp (issue 16, session 19: the
# log-variance Gaussian NLL ½(s + (p − t)²·e^(−s)) at p = t, s = −1e4 is 0·inf = NaN in f, ∂p, ∂t where they are
# −5000, 0, 0; and in a Triton float32 kernel ∂p = (p − t)·e^(−s) at p = 3e38, t = −3e38, s = 180 is inf·0 where it
# is 4.03e−40; torch the same); tested in tests/test_gauss19.py

def _zero_scaled_exps(math):
    """(the products a·e^b of ``math`` (a of inputs' sums and powers, one sum at least, b of other inputs, able to
    overflow), their factors' bases that can be 0 (p − t), in order)."""
    products, bases = [], []
    for n in _distinct_preorder(math):
        if not (isinstance(n, sp.Expr) and n.is_Mul):
            continue
        found = _scaled_exp_factors(n)
        if found is None:
            continue
        rest, e = found
        if e.args[0].is_nonpositive or any(f.free_symbols & e.free_symbols for f in rest):
            continue
        own = [f.base if f.is_Pow and f.exp.is_positive else f for f in rest]
        # a residual p − t, 0 exactly where the prediction is the target; a lone input y in y·e^x is left as
        # written (tests/test_stability_rules.py: harmless formulas)
        if not all(b.is_Symbol or _rounded_sum(b) for b in own) or not any(_rounded_sum(b) for b in own):
            continue
        products.append(n)
        bases += [b for b in own if b not in bases]
    return products, bases


def _guarded(expr, base) -> bool:
    """``expr`` holds a select on base = 0 already (the one-minus-scaled-exp rule's)."""
    return any(isinstance(n, sp.Piecewise) and any(sp.Eq(base, 0) in c.atoms(sp.Eq) or c == sp.Eq(base, 0)
                                                  for _, c in n.args) for n in _atoms(expr, sp.Piecewise))


_SCALED_EXP_WITHIN = 86  # |b| up to which e^b is a normal float32 (e^−87.3 is float32's smallest normal)


def _widened_scaled_exp(node):
    """c·a·e^b (a product of :func:`_zero_scaled_exps`) → c·widen(a·e^b) where a factor of a is past float32's
    largest or |b| > 86 (e^b leaves float32's normal range), a·e^b as written elsewhere: float64 in a float32
    kernel, where a overflows and e^b underflows float32 although the product is a float32 (6e38·e^(−180) =
    4.03e−40). A select, so that a float64 NumPy kernel takes the double word only there (everywhere, ∂p of the
    log-variance NLL took 283 ms of CPU for 10⁶ elements where it took 207). None elsewhere."""
    if not (isinstance(node, sp.Expr) and node.is_Mul) or node.has(sp.Piecewise):
        return None
    c, core = node.as_coeff_Mul()
    products, bases = _zero_scaled_exps(core)
    if products != [core]:
        return None
    b = _scaled_exp_factors(core)[1].args[0]
    far = sp.Or(*[sp.Abs(a) > _LIMIT_BOUND for a in bases], sp.Abs(b) > _SCALED_EXP_WITHIN)
    return c * sp.Piecewise((widen(core), far), (core, True))


def _zero_scaled_exp(expr):
    """``expr`` holding a·e^b (:func:`_zero_scaled_exps`) → Piecewise((expr at a's base = 0, base = 0), …,
    (expr with e^b halved, b > 709 and no base 0: :func:`_halved_exponent`), (expr with each bare a·e^b widened
    where float32 needs it, True)): where a factor of a is 0 the product is 0 (as written 0·inf = NaN where e^b
    overflows: e^(1e4)), the rest of ``expr`` there stabilised by the other rules."""
    if not isinstance(expr, sp.Expr) or expr.has(sp.Indexed):
        return expr
    math = _ungrouped_math(expr)  # a widened sum's body too
    if not math.has(sp.exp):
        return expr
    products, bases = _zero_scaled_exps(math)
    if not products:
        return expr
    others = tuple(r for r in RULES if r is not ZERO_SCALED_EXP)
    pieces = []
    for base in bases:
        if _guarded(expr, base):
            continue
        at_zero = math.subs(base, 0)
        if at_zero.has(sp.nan, sp.zoo) or at_zero == math:
            continue
        pieces.append((stabilise(at_zero, others)[0], sp.Eq(base, 0)))
    widened = _top_down(expr, _widened_scaled_exp, _KEPT)
    near = sp.Piecewise(*pieces, (widened, True)) if pieces else widened
    far = _halved_exponent(math, products, bases)
    if far is None:
        return near
    # outermost (its condition excludes the zero bases), the rest its last branch: a far branch (b > 709), which the
    # NumPy emitter computes on the elements that take it alone (elementwise.far_branches)
    return sp.Piecewise(far, (near, True))


_EXP_OVERFLOWS = sp.Float(709.0)  # e^b past float64's largest from b = 709.78 on
_SQUARE_OVERFLOWS = sp.Integer(2) ** 500  # a base whose square nears float64's largest (2¹⁰²⁴)


def _halved_exponent(math, products, bases):
    """(``math`` with each a·e^b as c·(a′·e^(b/2))·e^(b/2) or c·(a′·e^(b/2))², widened, where b > 709 and no base is
    0), or None where a product has more than two factors in a: past b = 709.78, e^b overflows float64 where a·e^b
    need not ((p − t)·e^(−s) at p − t = 1e−200, s = −800: 2.7e147, and (p − t)² underflows to 0, so f was 0·inf =
    NaN where it is −400); below b = −709 e^b is subnormal or 0 where a may overflow (f NaN at μ = −1e200,
    s = 1e200, y = 0 where it is 5e199), and past |a′| = 2⁵⁰⁰ a′² overflows where a′²·e^b need not; b/2 is exact, and each factor a′·e^(b/2) is finite wherever the product is and
    |b| < 1419."""
    replaced = {}
    for T in products:
        rest, e = _scaled_exp_factors(T)
        c = sp.Mul(*[f for f in sp.Mul.make_args(T) if not f.free_symbols])
        half = sp.exp(e.args[0] / 2)
        powers = [f.as_base_exp() for f in rest]
        if sum(int(n) for _, n in powers) == 1:
            replaced[T] = c * Grouped(powers[0][0] * half) * half
        elif len(powers) == 1 and powers[0][1] == 2:
            replaced[T] = c * Grouped(powers[0][0] * half) ** 2
        elif len(powers) == 2 and all(n == 1 for _, n in powers):
            replaced[T] = c * Grouped(powers[0][0] * half) * Grouped(powers[1][0] * half)
        else:
            return None
    exponents = {_scaled_exp_factors(T)[1].args[0] for T in products}
    body = math.xreplace(replaced)
    # |b|: below b = −709 e^b is subnormal or 0 where a overflows ((p − t)² at p − t = 1e200, s = 1e200: inf·0 = NaN
    # where the product is 0), and each a′·e^(b/2) is finite there too
    # where the square of a base overflows (|a| > 2⁵⁰⁰: (p − t)² inf at p − t = 3.7e203, s = 701.7, true 2.2e102)
    far = [sp.Abs(b) > _EXP_OVERFLOWS for b in exponents] + [sp.Abs(a) > _SQUARE_OVERFLOWS for a in bases]
    condition = sp.And(sp.Or(*far), *[sp.Ne(a, 0) for a in bases])
    return widen(body), condition  # (float32 kernels: the float64 body, enough there)


ZERO_SCALED_EXP = Rule(
    "zero-scaled-exp", "a·e^b with a of sums of inputs (p − t, (p − t)²) and b of others (the log-variance Gaussian "
    "NLL ½(s + (p − t)²·e^(−s)), Kendall & Gal 2017) is 0·inf = NaN where a = 0 and e^b overflows (p = t, s = −1e4: "
    "f, ∂p, ∂t NaN where they are −5000, 0, 0; torch the same); a select on each base of a being 0 returns the "
    "formula there (a·e^b = 0 exactly), and a·e^b alone (∂p = (p − t)·e^(−s)) is computed in float64 in a float32 "
    "kernel (widen: at p = 3e38, t = −3e38, s = 180, p − t overflows float32 and e^(−180) underflows it, inf·0 where "
    "the product is 4.03e−40, a float32 subnormal); in a float64 kernel its double word rounds once; past b = 709 "
    "(e^b inf in float64 where a·e^b need not be: 2.7e147 at p − t = 1e−200, s = −800, and f NaN where −400, (p − t)² "
    "underflowing), and below b = −709 (e^b subnormal or 0 where a overflows: f NaN at μ = −1e200, s = 1e200, true "
    "5e199), or where a base is past 2^500 (its square overflows: inf at p − t = 3.7e203, s = 701.7, true 2.2e102) "
    "a·e^b as (a′·e^(b/2))·e^(b/2) or (a′·e^(b/2))², widened",
    apply=_zero_scaled_exp, fired=lambda old, new: new != old)
_register(ZERO_SCALED_EXP)
__all__ += ["ZERO_SCALED_EXP"]


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
    apply=_square_sum_powers, fired=lambda old, new: new != old, local=_square_sum_collect)
_register(SQUARE_SUM_POWER)
__all__ += ["SQUARE_SUM_POWER"]


# ------------------------------------------------------------------ quotient-complement (session 24's new user: the
# gradient of the written Poisson deviance 2·(t·log(t/p) − (t − p)), 2 − 2t/p, 9.1e6 ULP in float64 at p = t·(1 + 1e−8),
# torch 7.6e7); tested in tests/test_fresh24.py

def _input_quotient(term) -> bool:
    """``term`` = k·a·…/(b·…): a number times two or more distinct inputs, each to the power ±1, one at least in the
    denominator (t/p, x·y/z): rounded once in the kernel's dtype, to about 2⁻¹⁰⁰ as a double word."""
    factors = [f for f in sp.Mul.make_args(term) if not f.is_number]
    bases = [f.base if f.is_Pow else f for f in factors]
    return (len(factors) >= 2 and len(set(bases)) == len(bases) and all(b.is_Symbol for b in bases)
            and all(not f.is_Pow or f.exp in (1, -1) for f in factors) and any(f.is_Pow for f in factors))


def _quotient_complement(expr):
    """An output c + k·t/p (c a nonzero number) → the sum in double-word arithmetic (in float64 for a float32
    kernel), as written where a denominator is 0 or an input is infinite (±inf there, or c; the double word's error
    term is NaN); else ``expr``. The output alone, or such a sum as a factor of an output that is otherwise a
    monomial of inputs (the Gamma deviance's ∂y = 2·(1 − μ/y)/μ; c·(1 − r/x) there as :func:`_sterbenz_complement`),
    not such a sum inside a function: log(1 + x/y) is
    the log1p rule's (a widened 1 + x/y under the log was 6,080 ULP in ∂g of (1 + x/y)^g at g = 10⁴, x = 10⁻³, y = 7)."""
    if not isinstance(expr, sp.Expr) or len(expr.free_symbols) < 2:
        return expr
    coeff, inner = expr.as_coeff_Mul()
    total = sp.expand(expr) if coeff.is_Number and inner.is_Add else expr  # the derivative's 2·(1 − t/p): 2 − 2t/p
    complement = _complement_sum(total)
    if complement is not None:
        return sp.Piecewise((expr, complement[0]), (complement[1], True))
    if not expr.is_Mul:
        return expr
    # c·M·(1 − t/p), M a monomial of inputs: the sum alone in double words, the product as written
    sums = [f for f in expr.args if f.is_Add]
    others = [f for f in expr.args if not f.is_Add]
    if len(sums) != 1 or not all(f.is_Number or f.is_Symbol or f.is_Pow and f.base.is_Symbol and f.exp.is_Rational
                                 for f in others):
        return expr
    exact = _sterbenz_complement(sums[0])
    if exact is not None:
        return sp.Mul(*others) * exact
    complement = _complement_sum(sums[0])
    if complement is None:
        return expr
    return sp.Piecewise((expr, complement[0]), (sp.Mul(*others) * complement[1], True))


def _sterbenz_complement(total):
    """c − c·r/x (c a number, r and x two inputs) → Piecewise((c·(x − r)/x, sign(x)·sign(r) > 0), (total, True)), or None:
    x − r is exact by Sterbenz where r/x is within [1/2, 2], where 1 − r/x cancels, and rounds once elsewhere, the
    quotient once more: no double words (the Gamma deviance's ∂y = 2·(1 − μ/y)/μ: 0.27 CPU s per 10⁶ float64
    points as written, 0.32 with the widened sum). Where the signs differ nothing cancels and x − r may overflow: as
    written there."""
    numbers = [a for a in total.args if a.is_Number]
    if len(total.args) != 2 or len(numbers) != 1 or numbers[0] == 0:
        return None
    c = numbers[0]
    (term,) = [a for a in total.args if a is not c]
    r, x = sp.fraction(-term / c)
    if not (r.is_Symbol and x.is_Symbol and r != x):
        return None
    exact = c * Grouped(Grouped(x - r) / x)
    if sp.simplify(exact.doit() - total) != 0:  # the exactness proof: c·(x − r)/x is c − c·r/x
        return None
    return sp.Piecewise((exact, sp.sign(x) * sp.sign(r) > 0), (total, True))


def _complement_sum(total):
    """(edge, the widened sum) for a sum c + k·t/p (c a nonzero number, k·t/p a quotient of inputs), else None."""
    if not (total.is_Add and len(total.args) == 2) or len(total.free_symbols) < 2:
        return None
    numbers = [a for a in total.args if a.is_Number]
    if len(numbers) != 1 or numbers[0] == 0:
        return None
    (term,) = [a for a in total.args if a is not numbers[0]]
    if not _input_quotient(term):
        return None
    denominators = [f.base for f in sp.Mul.make_args(term) if f.is_Pow]
    edge = sp.Or(*[sp.Eq(d, 0) for d in denominators],
                 *[sp.Abs(s) > sp.Float(1.7976931348623157e308) for s in sorted(total.free_symbols, key=str)])
    return edge, widen(total)


QUOTIENT_COMPLEMENT = Rule(
    "quotient-complement", "c + k·t/p (a number beside a quotient of inputs: 1 − t/p, the gradient of the Poisson "
    "deviance 2·(t·log(t/p) − (t − p)), 2 − 2t/p) rounds t/p to an ulp of c/k and cancels where t/p ≈ −c/k: "
    "9.1e6 ULP in float64 at p = t·(1 + 10⁻⁸), 1.3e11 at t·(1 + 10⁻¹²) (torch autograd the same); the sum in "
    "double-word arithmetic (t/p to about 2⁻¹⁰⁰; in float64 for a float32 kernel) rounds once; as written where a "
    "denominator is 0 or an input infinite; an output of that form, or such a sum times a monomial of inputs (the "
    "Gamma deviance's ∂y = 2·(1 − μ/y)/μ: 8.4e6 ULP in float64 at y = 1 + 2⁻³⁰, μ = 1, torch the same), only (a sum "
    "under a log is the log1p rule's); as a factor, c·(1 − r/x) of two inputs is c·(x − r)/x where x and r have one sign "
    "(x − r exact by Sterbenz where it cancels, no double words: the cost of the written form)",
    apply=_quotient_complement, fired=lambda old, new: new != old)
_register(QUOTIENT_COMPLEMENT)
__all__ += ["QUOTIENT_COMPLEMENT"]


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
    from .roots import SeriesBase

    if not isinstance(expr, sp.Expr) or not expr.has(sp.Pow):
        return expr
    return _top_down(expr, _polynomial_power_node, leaves=_KEPT + (SeriesBase, sp.Piecewise))


POLYNOMIAL_POWER = Rule(
    "polynomial-power", "a product of powers of polynomials in one input x, one a sum of two degrees under a "
    "fractional power ((x² + x⁴)^0.3, its derivative 3x(2x² + 1)/(5(x⁴ + x²)^(7/10))), forms x⁴ (inf from |x| = "
    "1.2e77 in float64, 1.8e19 in float32) and x^−1.4 (inf below 1e−220, 1.8e−28) where the result is normal: ∂ 0 "
    "at x = 1e100 in float64 (true 1.2e20), inf at 1e−200 (true 6e79); float32 0 at 1e10, inf at 1e−30, torch the "
    "same; below |x| = 1 each polynomial's lowest power of x is taken out, from 1 on its highest, all of them merged "
    "into one |x|^E (x² + x⁴ = x²·(1 + x²): |x|^0.6·(1 + x²)^0.3 and |x|^1.2·(1 + x^−2)^0.3), the polynomials left "
    "with a constant term the largest of their terms; checked in mpmath at 60 digits on both sides of 0 and 1",
    apply=_polynomial_powers, fired=lambda old, new: new != old)
_register(POLYNOMIAL_POWER)
__all__ += ["POLYNOMIAL_POWER"]


# ------------------------------------------------------------------ widened-product-overflow (issue 16: x·y − z where
# x·y overflows float64 and the difference does not); tested in tests/test_logs27.py

_PRODUCT_FAR = 2.0 ** 1000  # |x·y| past it: x·y − z in double words scaled by 2⁻⁶⁴ (both factors are past 2⁻²⁴ there)
_PRODUCT_SCALE = sp.Integer(2) ** 64


def _product_sum_terms(body):
    """[(c, factors)] for a sum of terms c·a·b and c·z (c a number, a, b, z inputs) with at least one product of two
    inputs, else None."""
    if not body.is_Add:
        return None
    terms = []
    for term in body.args:
        c, rest = term.as_coeff_Mul()
        factors = sp.Mul.make_args(rest) if rest != 1 else ()
        if len(factors) > 2 or not all(f.is_Symbol for f in factors):
            return None
        terms.append((c, factors))
    return terms if any(len(f) == 2 for _, f in terms) else None


def _product_overflow_node(node):
    """A widened sum of products of inputs (x·y − z) → a select: where a product is past 2¹⁰⁰⁰ in magnitude, the
    body with one factor of each product, each lone input and each number scaled by 2⁻⁶⁴ (exact: there both
    factors of a product past 2¹⁰⁰⁰ are past 2⁻²⁴, and a lone input or number that loses bits to the scaling is
    below 2⁻⁹⁵⁸, under the product's last bit), widened, times 2⁶⁴ in the body; the widened node elsewhere."""
    if not isinstance(node, WidenedBase):
        return None
    terms = _product_sum_terms(node.expanded)
    if terms is None:
        return None
    scaled = sp.Add(*[c * sp.Mul(*f[:-1]) * Grouped(f[-1] / _PRODUCT_SCALE) if f else c / _PRODUCT_SCALE
                      for c, f in terms])
    far = sp.Or(*[sp.Abs(sp.Mul(*f)) > sp.Float(_PRODUCT_FAR) for _, f in terms if len(f) == 2])
    return sp.Piecewise((widen(_PRODUCT_SCALE * Grouped(scaled)), far), (node, True))


def _product_overflows(expr):
    """Every widened sum of products of inputs of ``expr`` as :func:`_product_overflow_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(WidenedBase):
        return expr
    return _top_down(expr, _product_overflow_node)


WIDENED_PRODUCT_OVERFLOW = Rule(
    "widened-product-overflow", "the widen rule's x·y − z (its product exact in double words) overflows where x·y "
    "does, although the difference need not: f inf at (1.1, 1.797e308, 1.797e308) for 1.797e307 in float64 (torch "
    "inf); where a product is past 2¹⁰⁰⁰, 2⁶⁴·(x·(y/2⁶⁴) − z/2⁶⁴) in double words is the same number (the scaling "
    "by a power of 2 exact there), rounded once", apply=_product_overflows, fired=lambda old, new: new != old)
_register(WIDENED_PRODUCT_OVERFLOW)
__all__ += ["WIDENED_PRODUCT_OVERFLOW"]


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
    plain = form.replace(lambda m: isinstance(m, Grouped), lambda m: m.args[0])
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
    plain = lambda e: e.replace(lambda g: isinstance(g, Grouped), lambda g: g.args[0])  # noqa: E731
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
    plain = lambda e: e.replace(lambda g: isinstance(g, Grouped), lambda g: g.args[0])  # noqa: E731
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
    plain = out.replace(lambda g: isinstance(g, Grouped), lambda g: g.args[0])
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
_register(ROOT_DIFFERENCE)
_LOCAL = _LOCAL[:-1][:_LOCAL.index(_common_power)] + (_root_difference,) + _LOCAL[:-1][_LOCAL.index(_common_power):]
RULES = RULES[:RULES.index(COMMON_POWER)] + (ROOT_DIFFERENCE,) + tuple(r for r in RULES[RULES.index(COMMON_POWER):]
                                                                      if r is not ROOT_DIFFERENCE)
__all__ += ["ROOT_DIFFERENCE"]
# ------------------------------------------------------------------ nested-sum-factor (issue 16: the KL divergence
# of two written softmaxes, session 29); tested in tests/test_kl29.py


def _holds_factor(term, s) -> bool:
    """term is s·X: s a factor of term itself, or of every term of a sum among its factors (nested)."""
    factors = sp.Mul.make_args(term)
    return s in factors or any(f.is_Add and all(_holds_factor(t, s) for t in f.args) for f in factors)


def _factor_out(term, s):
    """term/s for a term that :func:`_holds_factor` s, the division taken into the sum that holds it (exact:
    s·Σ X_i = Σ s·X_i), so that no s/s is left to floating point."""
    factors = sp.Mul.make_args(term)
    if s in factors:
        return term / s
    f = next(f for f in factors if f.is_Add and all(_holds_factor(t, s) for t in f.args))
    return sp.Mul(*[g for g in factors if g is not f]) * sp.Add(*[_factor_out(t, s) for t in f.args])


def _nested_sum_factor_node(node):
    """(Σ_i T_i)·S⁻ᵏ·R where every T_i holds the sum of exponentials S, some only inside a sum of its own → Σ_i
    (T_i/S)·S¹⁻ᵏ·R, multiplied out so that each term's exponentials meet the sums they are shifted by (the KL's
    ∂c becomes q_a·p_b − p_a·q_b, each weight max-shifted), or None. The cancel rule's own case (S a factor of every
    term) is left to it."""
    if not node.is_Mul:
        return None
    divisors = [f.base for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and _exp_terms(f.base)]
    for f in node.args:
        if not f.is_Add or len(f.args) < 2:
            continue
        for s in divisors:
            if all(s in sp.Mul.make_args(t) for t in f.args):
                # the cancel rule's case where what is left is itself a sum of exponentials ((Q·e^a + Q·e^b)/Q² in the
                # KL's ∂x): divided out here, before the node pass max-shifts Q into each term and leaves e^(a + max Q)
                # unshifted by P's max (e^800 = inf times 0 at a = x = 400), and not multiplied out, so that SymPy
                # cancels the sum P = e^a + e^b against a P the product divides by (∂x = e^x/Q − e^a/P, exactly 0 at
                # identical logits)
                inner = sp.Add(*[t / s for t in f.args])
                if _exp_terms(inner):
                    return sp.Mul(*[g for g in node.args if g is not f]) * s * inner
                continue
            if all(_holds_factor(t, s) for t in f.args):
                rest = sp.Mul(*[g for g in node.args if g is not f]) * s
                return sp.Add(*[rest * _factor_out(t, s) for t in f.args])
    return None


def _nested_sum_factors(expr):
    """Every node of ``expr`` as :func:`_nested_sum_factor_node` writes it, bottom up."""
    return _bottom_up(expr, lambda node: _nested_sum_factor_node(node) or node)


NESTED_SUM_FACTOR = Rule(
    "nested-sum-factor", "(Σ T_i)/S^k with S a sum of exponentials held by every T_i, some only inside a sum of "
    "their own (the KL divergence of two written softmaxes p = e^a/P, q = e^c/Q: its ∂c as derived is "
    "((P·e^a/Q + P·e^b/Q)·e^c − P·e^a)/P², NaN in float64 at a = 398.4 where P² overflows, torch NaN too) → "
    "Σ_i (T_i/S)/S^(k−1), the factor divided out symbolically (exact) before the node-by-node rules max-shift the "
    "sums and no longer see it, and multiplied out, so that each term's exponentials meet the sums they are shifted "
    "by (the KL's ∂c = q_a·p_b − p_a·q_b: 0.06 ULP there)", apply=_nested_sum_factors, fired=lambda old, new: new != old, before=True)
_register(NESTED_SUM_FACTOR)
__all__ += ["NESTED_SUM_FACTOR"]

# ------------------------------------------------------------------ softmax-mean (issue 16: the KL divergence of two
# written softmaxes near p = q, session 29); tested in tests/test_kl29.py


def _softmax_weight(term):
    """(x, m, S, rest) for a term e^(x − m)·rest/S, S = Σ_j e^(a_j − m) a max-shifted sum of exponentials (exp_shift
    nodes; or the compensated-sum rule's widened node of them, whose arguments are its terms: two terms since session
    42) holding e^(x − m), else None. S is returned as the sum of its terms."""
    factors = sp.Mul.make_args(term)
    weights = [f for f in factors if isinstance(f, exp_shift)]
    sums = [f for f in factors if f.is_Pow and f.exp == -1 and (is_compensated_sum(f.base) or f.base.is_Add)
            and all(isinstance(t, exp_shift) for t in f.base.args)]
    if len(weights) != 1 or len(sums) != 1 or weights[0] not in sums[0].base.args:
        return None
    (w,), (s,) = weights, sums
    return w, sp.Add(*s.base.args), sp.Mul(*[f for f in factors if f is not w and f != s])


def _softmax_mean_node(node):
    """Σ_i p_i·D_i over every weight p_i = e^(a_i − m)/S of one softmax, each D_i a widened sum → one widened sum of
    the whole (the weights, the sum S and each D_i in double words, rounded once), or None."""
    if not node.is_Add or len(node.args) < 2:
        return None
    found = [_softmax_weight(t) for t in node.args]
    if any(f is None for f in found) or len({s for _, s, _ in found}) != 1:
        return None
    s = found[0][1]
    if {w for w, _, _ in found} != set(s.args) or len(found) != len(s.args):
        return None
    if not all(isinstance(d, WidenedBase) and d.body.is_Add for _, _, d in found):
        return None
    to_exp = lambda e: e.replace(exp_shift, lambda x, m: sp.exp(x - m))  # noqa: E731
    total = to_exp(s)
    return widen(sp.Add(*[to_exp(w) * d.body / total for w, _, d in found]))


def _softmax_means(expr):
    """Every softmax mean of widened differences in ``expr`` as :func:`_softmax_mean_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(WidenedBase):
        return expr
    return _top_down(expr, _softmax_mean_node)


SOFTMAX_MEAN = Rule(
    "softmax-mean", "Σ_i p_i·D_i, the mean of differences D_i under the weights p_i = e^(a_i − m)/Σ_j e^(a_j − m) of "
    "one softmax (the KL divergence of two written softmaxes, Σ_i p_i·(log p_i − log q_i), each log-ratio a widened "
    "sum), cancels where the D_i straddle 0: the KL is of second order in p − q, and each D_i rounded once to float64 "
    "left 1.4e3 ULP in float64 at KL = 2.3e−7 (torch 7.4e5); the whole mean in double words (weights, sum and "
    "differences) is rounded once", apply=_softmax_means, fired=lambda old, new: new != old)
_register(SOFTMAX_MEAN)
__all__ += ["SOFTMAX_MEAN"]

# ------------------------------------------------------------------ gap-sum (issue 16: the KL divergence of two
# written softmaxes, its ∂a near p = q, session 29); tested in tests/test_kl29.py


def _gap_term(t) -> bool:
    """t is ±x (an input) or ±max(0, …) of inputs (the max-minus rule's gap max(0, d − c), its select for c = d)."""
    _, t = t.as_coeff_Mul()
    if t.is_Symbol:
        return True
    return isinstance(t, sp.Max) and not t.atoms(sp.Function) - {f for f in t.atoms(sp.Function)
                                                                   if isinstance(f, (sp.Max, sp.Piecewise))}


def _gap_sum_node(node):
    """A sum of three or more inputs and gaps max(0, y − x), at least one gap, terms of both signs → widened, or None."""
    if not node.is_Add or len(node.free_symbols) < 3 or not all(_gap_term(t) for t in node.args):
        return None
    if not any(isinstance(t.as_coeff_Mul()[1], sp.Max) for t in node.args):
        return None
    if len({t.could_extract_minus_sign() for t in node.args}) < 2:
        return None
    return widen(node)


def _gap_sums(expr):
    """Every sum of inputs and gaps of ``expr`` as :func:`_gap_sum_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Max):
        return expr
    return _top_down(expr, _gap_sum_node, _KEPT)


GAP_SUM = Rule(
    "gap-sum", "a − b + max(0, d − c) − max(0, c − d), the difference of two log-ratios of softmaxes ((a − b) − (c − d) "
    "after the max-minus rule: the KL's ∂a = p_a·p_b·((a − b) − (c − d))), rounds a + max(0, d − c) first and cancels "
    "where p ≈ q (2²⁰ ULP in float64 at (3, 3, −2, −2 + 10⁻⁶)); in double words the sum of four float64 is exact to "
    "2⁻¹⁰⁰ and rounded once", apply=_gap_sums, fired=lambda old, new: new != old)
_register(GAP_SUM)
__all__ += ["GAP_SUM"]
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
_register(ROOT_RECIPROCAL)
__all__ += ["ROOT_RECIPROCAL"]

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
_register(ROOT_OF_MONOMIAL)
__all__ += ["ROOT_OF_MONOMIAL"]

# ------------------------------------------------------------------ sigmoid-power (issue 16, session 29: a focal-like
# loss of one's own, σ(z)^γ·logsigmoid(−z) with γ an input); tested in tests/test_focalg29.py


def _sigmoid_power_node(node):
    """σ(u)^γ, γ not a number, u free of rounded functions → widened to first order (NumPy: libm's pow of σ(u)'s hi
    times e^(γ·σ_lo/σ_hi); Triton: the double-word e^(γ·log σ(u))), else None."""
    if not (isinstance(node, sp.Pow) and isinstance(node.base, sigmoid) and not node.exp.is_number
            and node.free_symbols and not node.has(WidenedBase)):
        return None
    if node.base.args[0].has(*_ROUNDED, softplus) or node.exp.has(*_ROUNDED, softplus):
        return None
    return widen(node, first_order=True)


def _sigmoid_powers(expr):
    """Every σ(u)^γ of ``expr`` outside a widened node as :func:`_sigmoid_power_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sigmoid):
        return expr
    return _top_down(expr, _sigmoid_power_node, _KEPT)


SIGMOID_POWER = Rule(
    "sigmoid-power", "σ(u)^γ with γ an input formed from σ(u) rounded (e^−|u|, 1 + e^−|u|, a quotient and, for u < 0, a "
    "product: some 2 ulps) carries γ times that rounding into the power (a focal-like loss of one's own, "
    "−(1 − t)·σ(z)^γ·logsigmoid(−z), float64, t = 0, γ = 3: f 4.57 ULP at z = −1.366, ∂γ 5.52 at z = −0.089; torch "
    "1.57 and 0.525); as the rounded-power rule's power of a sum: σ(u) in double-word and libm's pow of its hi part "
    "times e^(γ·σ_lo/σ_hi), first order, relative error below γ·2⁻¹⁰⁵ besides pow's own (NumPy; Triton: the "
    "double-word e^(γ·log σ(u)))",
    apply=_sigmoid_powers, fired=lambda old, new: new != old)
_register(SIGMOID_POWER)
__all__ += ["SIGMOID_POWER"]

# ------------------------------------------------------------------ sign-branches (issue 16: a rational activation
# (1 + x + x²/2)/(1 + |x|), its derivative cancels for small x > 0, session 29); tested in tests/test_rat29.py

_SIGNED = (sp.Abs, sp.sign, sp.Heaviside)


def _rational_node(e) -> bool:
    """e is built of sums, products, whole powers, real symbols and numbers only (a rational function)."""
    return all(n.is_Add or n.is_Mul or n.is_Number or (n.is_Symbol and n.is_real) or (n.is_Pow and n.exp.is_Integer)
               for n in sp.preorder_traversal(e))


def _vanishes_visibly(b, u) -> bool:
    """b, a branch as written, is 0 at u = 0 through a factor that is u itself (a sum: every term so): its rounding is
    then relative, no terms of size 1 cancel there (2x, x·(x + 2), x + x²)."""
    if b.is_Mul:
        return any(_vanishes_visibly(f, u) for f in b.args)
    if b.is_Pow:
        return b.exp.is_Integer and b.exp > 0 and _vanishes_visibly(b.base, u)
    if (b / u).is_number or sp.cancel(b / u).is_number:
        return True
    if b.is_Add:
        return all(_vanishes_visibly(t, u) for t in b.args)
    return False


def _branch(node, u, s):
    """node on the side s (1: u > 0, −1: u < 0), |u| = s·u, sign(u) = s, H(u) = (1 + s)/2, over one denominator (SymPy's
    cancel: exact) and the power u^k that divides its numerator taken out as a factor; (form, k, written)."""
    written = node.replace(lambda n: isinstance(n, _SIGNED) and n.args[0] == u,
                           lambda n: s * u if isinstance(n, sp.Abs) else (sp.S(s) if isinstance(n, sp.sign)
                                                                          else sp.S(1 + s) / 2))
    num, den = sp.fraction(sp.cancel(sp.together(written)))
    k, gens = 0, tuple(sorted(u.free_symbols, key=str))
    while num != 0 and k < 8:
        q, r = sp.div(num, u, *gens)
        if r != 0:
            break
        num, k = q, k + 1
    return num, den, k, written


def _sign_branches_node(node):
    """A rational function of real inputs holding |u|, sign(u) or H(u) of one polynomial u, whose branch on a side of
    u = 0 vanishes there as u^k (k ≥ 1) while its written terms do not → Piecewise((u^k·N₊/D₊, u > 0), (u^k·N₋/D₋, u < 0),
    (node, True)): the written form at u = 0 (sign(0) = 0, torch's ∂|u| = 0 there) and at NaN; None otherwise."""
    if not isinstance(node, sp.Expr) or node.is_Atom or not node.has(*_SIGNED):
        return None
    args = {f.args[0] for f in node.atoms(*_SIGNED)}
    if len(args) != 1 or sp.count_ops(node) > 120:
        return None
    (u,) = args
    if u.is_number or not u.free_symbols or not u.is_polynomial(*u.free_symbols):
        return None
    if not all(v.is_Symbol and v.is_real for v in u.free_symbols):
        return None
    # each |u|, sign(u), H(u) a real symbol of its own (not a number: a select on |u| < 1 would evaluate away)
    if not _rational_node(node.replace(lambda n: isinstance(n, _SIGNED), lambda n: sp.Dummy(real=True))):
        return _sigmoid_sign_branches(node, u)
    forms, cancels = [], False
    for s in (1, -1):
        try:
            num, den, k, written = _branch(node, u, s)
        except sp.PolynomialError:
            return None
        cancels |= k > 0 and num != 0 and not _vanishes_visibly(written, u)
        form = num / den
        if len(form.free_symbols) == 1 and next(iter(form.free_symbols)).is_real:
            form = _rational_function(form) or form  # Horner, no overflow of x² where the branch is finite
        forms.append(u ** k * form if k else form)
    if not cancels:
        return None
    return sp.Piecewise((forms[0], u > 0), (forms[1], u < 0), (node, True))


_SIGMOID_DIFFERENCE_REACH = 1  # |u| below which a side whose σ(−u) − σ(u) is collected into −tanh(u/2) takes it


def _sigmoid_sign_branches(node, u):
    """``node`` holding σ of ±u and ±|u| beside |u| or sign(u) (∂y of x·σ(y)/(1 + e^−|y|), the stabiliser's
    x·(σ(−y)σ(y)σ(|y|) + σ(y)σ(−|y|)σ(|y|)·sign(y)), whose sum is σ(−y) − σ(y) below 0) → Piecewise((N₋, −1 < u < 0),
    (node, True)) (and N₊ for 0 < u < 1 where that side cancels too), N± the branch (|u| = ±u, sign(u) = ±1,
    H(u) = (1 ± 1)/2) put through the node-by-node rules, taken on a side where they collect a sum of σ(±u) into
    tanh(u/2) (the tanh rule: σ(−u) − σ(u) = −tanh(u/2), which cancels as written near u = 0); None otherwise."""
    sigmoids = node.atoms(sigmoid)
    if not sigmoids or any(s.args[0] not in (u, -u, sp.Abs(u), -sp.Abs(u)) for s in sigmoids):
        return None
    if not any(s.args[0] in (sp.Abs(u), -sp.Abs(u)) for s in sigmoids) and not node.has(sp.sign, sp.Heaviside):
        return None
    pieces = []
    for side in (1, -1):
        written = node.replace(lambda n: isinstance(n, _SIGNED) and n.args[0] == u,
                               lambda n: side * u if isinstance(n, sp.Abs) else (
                                   sp.S(side) if isinstance(n, sp.sign) else sp.S(1 + side) / 2))
        if written.has(*_SIGNED):
            return None
        form, fired = _rewritten(written)
        if "tanh" in [r.name for r in fired]:  # within |u| < 1 only: past it 1 − e^−|u| ≥ 0.63 loses a bit at most,
            # where tanh's rounding beside σσ's costs one ULP more (∂y above at y = −2.72: 4.48 ULP, 3.48 as written)
            pieces.append((form, (side * u > 0) & (side * u < _SIGMOID_DIFFERENCE_REACH)))
    if not pieces:
        return None
    return sp.Piecewise(*pieces, (node, True))


def _sign_branches(expr):
    """Every outermost node of ``expr`` that :func:`_sign_branches_node` splits, split."""
    if not isinstance(expr, sp.Expr) or not expr.has(*_SIGNED):
        return expr
    return _top_down(expr, _sign_branches_node, _KEPT)


SIGN_BRANCHES = Rule(
    "sign-branches", "a rational function holding |u|, sign(u) or H(u) of one polynomial u (the derivative of a "
    "rational activation (1 + x + x²/2)/(1 + |x|): (1 + x)/(1 + |x|) − (1 + x + x²/2)·sign(x)/(1 + |x|)²) cancels "
    "where a branch's value → 0 at u = 0 while its terms do not (every digit lost for 0 < x < 1e−16 in float64: "
    "0 for 1e−16, 8.1e15 ULP; torch 1.1e15); on each side of u = 0, |u| = ±u, sign(u) = ±1, H(u) = 1 or 0, put over "
    "one denominator by SymPy's cancel (exact) with the power u^k dividing its numerator taken out ((x + x²/2)/(1 + x)² "
    "= x·(x + 2)/(2(x + 1)²)), in one input by the rational-function rule's Horner forms (x² does not overflow where "
    "the branch is finite: NaN past x = 1.3e154 before), rounded a few times relative to the result; at u = 0 (and NaN) the written form, "
    "sign(0) = 0 as torch's ∂|u| there. Only where a branch cancels (its terms do not vanish with it). A node of σ(±u) "
    "and σ(±|u|) beside |u| or sign(u) the same way, each branch through the node-by-node rules, where on a side they "
    "collect σ(−u) − σ(u) into −tanh(u/2) (∂y of x·σ(y)/(1 + e^−|y|) is x·σ(y)σ(−y)·(σ(−y) − σ(y)) below 0: 0 for "
    "1.9e−18 at y = −1e−17 in float64, 5.8e4 ULP at −1e−5, 74 at −0.01; torch 4.9e15, 3.0e5, 342)",
    apply=_sign_branches, fired=lambda old, new: new != old)
_register(SIGN_BRANCHES)
_at = next(i for i, r in enumerate(RULES) if r.apply is not None and not r.before and r is not SIGN_BRANCHES)
RULES = RULES[:_at] + (SIGN_BRANCHES,) + tuple(r for r in RULES[_at:] if r is not SIGN_BRANCHES)  # first of the
# whole-expression rules: after the node-by-node ones (softsign′ is the fraction-complement rule's, no cancellation
# left), before any other whole-expression rule wraps the sum (root-series, widen)
__all__ += ["SIGN_BRANCHES"]
# ------------------------------------------------------------------ sigmoid-power-factor (issue 16, session 29: the
# focal-like loss's ∂z with γ < 1 where σ underflows); tested in tests/test_sigpow29.py


def _sigmoid_base(b) -> bool:
    """σ(u) or 1 − σ(u): the bases of the power rule's derivative that underflow to 0 where |u| is large."""
    if isinstance(b, sigmoid):
        return True
    return b.is_Add and len(b.args) == 2 and 1 in b.args and any(
        isinstance(-a, sigmoid) for a in b.args if a != 1)


def _sigmoid_power_factor_node(node):
    """B^k·(… + T·B^(γ + c) + …)·R with B = σ(u) or 1 − σ(u), k a number and γ not one → (… + T·B^(γ + c + k) + …)·R
    (B^k multiplied into the sum, its exponent added to the power's), B^k·B^(γ + c)·R → B^(γ + c + k)·R, or None."""
    if not node.is_Mul:
        return None
    factors = [f for f in node.args if _sigmoid_base(f.base if f.is_Pow and f.exp.is_number else f)]
    bases = {f.base if f.is_Pow else f for f in factors}
    direct = {p.base for p in node.args if p.is_Pow and p.base in bases and not p.exp.is_number}
    if direct:  # B^k·B^(γ + c) in the product itself (∂ of σ(u)^γ alone): the exponents added
        mine = [f for f in factors if (f.base if f.is_Pow else f) in direct]
        return _times_powers(sp.Mul(*[f for f in node.args if f not in mine]), mine)
    for s in node.args:
        if not s.is_Add or not any(p.is_Pow and p.base in bases and not p.exp.is_number
                                   for t in s.args for p in sp.Mul.make_args(t)):
            continue
        rest = sp.Mul(*[f for f in node.args if f is not s and f not in factors])
        return rest * sp.Add(*[_times_powers(t, factors) for t in s.args])
    return None


def _times_powers(term, factors):
    """``term``·Π ``factors`` with each factor B^k added to the exponent of a power B^e of ``term`` (SymPy keeps
    B·B^(γ − 1) apart for a B not known to be positive; σ(u) and 1 − σ(u) are), else multiplied."""
    args = list(sp.Mul.make_args(term))
    for f in factors:
        b, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        for i, a in enumerate(args):
            if a.is_Pow and a.base == b and not a.exp.is_number:
                args[i] = sp.Pow(b, a.exp + k)
                break
        else:
            args.append(f)
    return sp.Mul(*args)


def _sigmoid_power_factors(expr):
    """Every node of ``expr`` as :func:`_sigmoid_power_factor_node` writes it, bottom up."""
    if not isinstance(expr, sp.Basic) or not expr.has(sigmoid):
        return expr
    return _bottom_up(expr, lambda node: _sigmoid_power_factor_node(node) or node)


SIGMOID_POWER_FACTOR = Rule(
    "sigmoid-power-factor", "the power rule's derivative of σ(u)^γ, γ·σ(u)^(γ − 1)·σ′(u) with σ′ = σ(u)·σ(−u), holds "
    "σ(u)^(γ − 1) and σ(u) as two factors (the second outside a sum): where σ(u) underflows to 0 (u < −745 in float64) "
    "and γ < 1 the first is 0^(γ − 1) = ∞ and their product NaN (a focal-like loss of one's own with γ an input, "
    "t = 0.3, γ = 0.5, z = −746: ∂z NaN for −0.3; torch −0.3) → σ(u) multiplied into the sum, where SymPy writes "
    "σ(u)^(γ − 1)·σ(u) as σ(u)^γ (0 there): symbolic, exact; the same for 1 − σ(u)",
    apply=_sigmoid_power_factors, fired=lambda old, new: new != old, before=True)
_register(SIGMOID_POWER_FACTOR)
__all__ += ["SIGMOID_POWER_FACTOR"]
# ------------------------------------------------------------------ softmax-divergence (issue 16, session 30: the KL
# divergence of two written softmaxes at and near p = q); tested in tests/test_kl30.py

_DIVERGENCE_SERIES_BELOW = sp.Rational(1, 16)  # |D| below which q·φ(D) is summed as a series (φ(D) ≈ D²/2)
_DIVERGENCE_SERIES_TERMS = 14  # φ's terms D^n·(n − 1)/n!, n = 2 … 15: the next is below 2⁻⁸⁰ of D²/2 at |D| = 1/16
_DIVERGENCE_FINITE = sp.Float(1e300)  # Σ_j q_j·expm1(u_j) above it: the difference of the log-sum-exps instead
# |logit| below which the rule applies: the selects on |D| < 1/16 are taken on u_i − log1p(…) in float64 (SymPy
# prints that sum in its own order), off by up to some ulps of the largest logit, 2⁻³¹ below 2²⁰;
# either branch is accurate that near 1/16. Above it (a − c at 1e20: the series taken at D = log 2, 9 ULP) as written
_DIVERGENCE_LOGITS_BELOW = sp.Integer(2) ** 20


def _written_softmax(e):
    """(u, S) for a softmax weight e^u/S written out (S a sum of exponentials, e^u among them), else None."""
    factors = sp.Mul.make_args(e)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    sums = [f.base for f in factors if f.is_Pow and f.exp == -1 and f.base.is_Add]
    if len(factors) != 2 or len(exps) != 1 or len(sums) != 1 or exps[0] not in sums[0].args:
        return None
    if not all(isinstance(t, sp.exp) for t in sums[0].args):
        return None
    return exps[0].args[0], sums[0]


def _divergence_term(term):
    """(a, P, c, Q) for a term e^a/P·(log(e^a/P) − log(e^c/Q)) of a written KL divergence, else None."""
    factors = sp.Mul.make_args(term)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    inverse = [f for f in factors if f.is_Pow and f.exp == -1]
    ratio = [f for f in factors if f.is_Add]
    if len(factors) != 3 or len(exps) != 1 or len(inverse) != 1 or len(ratio) != 1 or len(ratio[0].args) != 2:
        return None
    weight = _written_softmax(exps[0] * inverse[0])
    logs = sorted(ratio[0].args, key=lambda t: t.could_extract_minus_sign())
    if weight is None or not isinstance(logs[0], sp.log) or not isinstance(-logs[1], sp.log):
        return None
    p, q = _written_softmax(logs[0].args[0]), _written_softmax((-logs[1]).args[0])
    if p is None or q is None or p != weight:
        return None
    return p[0], p[1], q[0], q[1]


def _phi_series(d):
    """φ(D) = D·e^D − e^D + 1 = Σ_{n≥2} D^n·(n − 1)/n! in Horner form: D²·(1/2 + D·(1/3 + D·(1/8 + …)))."""
    out = sp.S.Zero
    for n in range(_DIVERGENCE_SERIES_TERMS + 1, 1, -1):
        out = sp.Rational(n - 1, math.factorial(n)) + d * out
    return d ** 2 * out


def _softmax_divergence_node(node):
    """Σ_i p_i·(log p_i − log q_i) of two written softmaxes p = softmax(a), q = softmax(c) over the same n classes
    → widened Σ_i q_i·φ(D_i), D_i = log p_i − log q_i = u_i − L, u_i = a_i − c_i − m, m = Σ_j q_j·(a_j − c_j),
    L = log Σ_j q_j·e^(u_j) (log1p(Σ_j q_j·expm1(u_j)) where that sum is above −1/2 and finite, the difference of the
    two log-sum-exps elsewhere); φ(D) = D·e^D − e^D + 1 ≥ 0 as
    a series where |D| < 1/16, q·φ(D) = p·(D − 1) + q elsewhere; the written form where a logit is 2²⁰ or more
    in size (or not finite).
    None where the node is no such sum."""
    if not node.is_Add or len(node.args) < 2:
        return None
    found = [_divergence_term(t) for t in node.args]
    if any(f is None for f in found) or len({(P, Q) for _, P, _, Q in found}) != 1:
        # c·KL (SymPy multiplies a number into the sum's terms: 2·KL at (400, −2, 400, −2) was −5.28e−191 for 0, at
        # (0, 1, 0.3, 1.3 − 2⁻⁵²) 1.0e−34 for 5.45e−33, 7.8e15 ULP; h-hostile31): c times the form of KL, exact
        c, primitive = node.as_content_primitive()
        for sign in (1, -1) if c != 1 else ():
            inner = _softmax_divergence_node(sign * primitive) if (sign * primitive).is_Add else None
            if inner is not None:
                return sign * c * inner
        return None
    _, P, _, Q = found[0]
    pairs = [(a, c) for a, _, c, _ in found]
    if {a for a, _ in pairs} != {e.args[0] for e in P.args} or {c for _, c in pairs} != {e.args[0] for e in Q.args}:
        return None
    if len(pairs) != len(P.args) or len(pairs) != len(Q.args) or not all(a.is_Symbol and c.is_Symbol for a, c in pairs):
        return None
    m_p, m_q = sp.Max(*[a for a, _ in pairs]), sp.Max(*[c for _, c in pairs])
    p_sum = sp.Add(*[sp.exp(a - m_p) for a, _ in pairs])
    q_sum = sp.Add(*[sp.exp(c - m_q) for _, c in pairs])
    # the shift: the q-weighted mean m = Σ_j q_j·(a_j − c_j) (Σ_j q_j·u_j = 0), so that Σ_j q_j·e^(u_j) ≥ 1 (Jensen)
    # and its log1p's argument ≥ 0; 0 at identical logits. No select in it (a select on the mode of q here, inside
    # the selects below, had SymPy fold it into their conditions: 2,142 operations a condition, 3.7 s of the 2-class
    # rule, 0.8 s now); where expm1 overflows the divergence is large and the log-sum-exps' difference enough
    q = [sp.exp(c - m_q) / q_sum for _, c in pairs]
    m = sp.Add(*[w * (a - c) for w, (a, c) in zip(q, pairs)])
    u = [a - c - m for a, c in pairs]
    near = sp.Add(*[w * expm1(v) for w, v in zip(q, u)])
    log_ratio = sp.Piecewise((log1p(near), (near > sp.Rational(-1, 2)) & (near < _DIVERGENCE_FINITE)),
                             (m_p - m - m_q + sp.log(p_sum) - sp.log(q_sum), True))
    terms = []
    for (a, _), w, v in zip(pairs, q, u):
        d = v - log_ratio
        p_i = sp.exp(a - m_p) / p_sum
        # the series where |D| < 1/16, D taken as u_i − log1p(Σ_j q_j·expm1(u_j)) (no select in the condition; either
        # branch is accurate near 1/16, and where that log overflows the divergence is large, so φ's cancellation in
        # p·(D − 1) + q is a rounding of a term far below it)
        near_d = v - log1p(near)
        terms.append(sp.Piecewise((w * _phi_series(d), sp.Abs(near_d) < _DIVERGENCE_SERIES_BELOW), (p_i * (d - 1) + w, True)))
    finite = sp.And(*[sp.Abs(s) < _DIVERGENCE_LOGITS_BELOW for a, c in pairs for s in (a, c)])
    return sp.Piecewise((widen(sp.Add(*terms)), finite), (node, True))


def _softmax_divergences(expr):
    """Every written KL divergence of two softmaxes in ``expr`` as :func:`_softmax_divergence_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.log):
        return expr
    return _top_down(expr, _softmax_divergence_node, _KEPT)


SOFTMAX_DIVERGENCE = Rule(
    "softmax-divergence", "the KL divergence Σ_i p_i·(log p_i − log q_i) of two written softmaxes p = softmax(a), "
    "q = softmax(c) is of second order in p − q while each log-ratio D_i is of first order: as a mean of D_i (the "
    "softmax-mean rule) the log-sum-exps' double-word error (~2⁻¹⁰⁰ of log Σ e^(a_j)) stays in it (2-class at (0, 1, "
    "0.3, 1.3 − 2⁻⁵²): 5.07e−35 for 2.73e−33; at identical logits (400, −2, 400, −2): −2.64e−191 for 0, a negative "
    "divergence). With Σ q_i = Σ p_i = 1 it is Σ_i q_i·φ(D_i), φ(D) = D·e^D − e^D + 1 ≥ 0 (every term ≥ 0: nothing "
    "cancels), D_i = u_i − log Σ_j q_j·e^(u_j), u_i = a_i − c_i − m with m = Σ_j q_j·(a_j − c_j) (any shift cancels "
    "in D_i; this one makes Σ_j q_j·e^(u_j) ≥ 1, Jensen), the log as log1p(Σ_j q_j·expm1(u_j)) where that sum is "
    "finite (0 at identical logits, so D_i = 0 and the divergence 0 exactly; where it overflows the divergence is "
    "large and the difference of the two log-sum-exps is enough), φ as its series Σ_{n≥2} D^n·(n − 1)/n! where "
    "|D| < 1/16, q·φ(D) = p·(D − 1) + q elsewhere (the series' select on u_i − log1p(…), no select inside it); "
    "in double words, rounded once; as written where a logit is 2²⁰ or more in size (or not finite)",
    apply=_softmax_divergences, fired=lambda old, new: new != old, before=True)
_register(SOFTMAX_DIVERGENCE)
__all__ += ["SOFTMAX_DIVERGENCE"]


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
_register(SOFTPLUS_RATIONAL)
_LOCAL = (_softplus_rational,) + _LOCAL[:-1]  # before exp-rational, which takes σ(x) and tanh(softplus x) apart
__all__ += ["SOFTPLUS_RATIONAL"]
# ------------------------------------------------------------------ one-plus-exp-power (issue 16, session 30: σ(z)^g
# written out as (1/(1 + e^−z))^g, h-hostile30); tested in tests/test_under30.py

_ONE_PLUS_EXP_FAR = 700  # above it (1 + e^v)^p is e^(p·v): e^v overflows in float64 from 709.8 (a float32 kernel's widened
# power is computed in float64 too)


def _one_plus_exp_power(f):
    """(p, v) where ``f`` is (1 + e^v)^p with p not a number, else None."""
    if not (isinstance(f, sp.Pow) and not f.exp.is_number and f.base.is_Add and len(f.base.args) == 2
            and sp.S.One in f.base.args):
        return None
    e = next(a for a in f.base.args if a is not sp.S.One)
    return (f.exp, e.args[0]) if isinstance(e, sp.exp) else None


def _guarded_one_plus_exp_power(f):
    """:func:`_one_plus_exp_power` of ``f``, or of the zero-power rule's select of it (1 where p = 0, the power
    elsewhere: e^(0·v) is that 1 too)."""
    if isinstance(f, sp.Piecewise) and len(f.args) == 2 and f.args[1].cond == sp.true and f.args[0].expr == 1:
        f = f.args[1].expr
    return _one_plus_exp_power(f)


def _one_plus_exp_far(node):
    """(1 + e^v)^p, or a product holding it (and e^(k·v) factors, k a number), as a select: where v > 700
    e^((p + Σk)·v) times the other factors, the exponential widened to first order (its argument in double words:
    p·v rounded would carry |p·v|·2⁻⁵³ into the result); the product as written elsewhere. None for any other node.

    Exact to 2⁻⁶⁰ there: (1 + e^v)^p = e^(p·v)·(1 + e^−v)^p, and (1 + e^−v)^p = 1 + p·e^−v + … is 1 within |p|·e^−700
    < 2⁻⁶⁰ for |p| < 10²⁸⁵ (beyond, e^(p·v) is 0 or ∞ in float64 alike)."""
    factors = node.args if node.is_Mul else (node,)
    found = [(f, _guarded_one_plus_exp_power(f)) for f in factors]
    powers = [(f, pv) for f, pv in found if pv is not None]
    if len(powers) != 1:
        return None
    power, (p, v) = powers[0]
    exponent, rest = p * v, []
    for f in factors:
        if f is power:
            continue
        k = sp.simplify(f.args[0] / v) if isinstance(f, sp.exp) else None
        if k is not None and k.is_number:
            exponent += k * v
        else:
            rest.append(f)
    far = sp.Mul(*rest) * widen(sp.exp(sp.expand(exponent)), first_order=True)
    return sp.Piecewise((far, v > _ONE_PLUS_EXP_FAR), (node, True))


def _one_plus_exp_powers(expr):
    """Every (1 + e^v)^p of ``expr`` (the outermost product holding it first) as :func:`_one_plus_exp_far` writes it."""
    if not isinstance(expr, sp.Expr) or not any(_one_plus_exp_power(p) for p in _atoms(expr, sp.Pow)):
        return expr

    def new_form(node):
        if not isinstance(node, sp.Expr) or not (node.is_Mul or node.is_Pow or isinstance(node, sp.Piecewise)):
            return None
        return _one_plus_exp_far(node)
    return _top_down(expr, new_form, _KEPT)


ONE_PLUS_EXP_POWER = Rule(
    "one-plus-exp-power", "(1 + e^v)^p with p an input (σ(z)^g written out as (1/(1 + e^−z))^g) overflows 1 + e^v "
    "from v ≈ 709.8 where the power need not: (1/(1 + e^−z))^0.5 at z = −800 was 0 for 1.915e−174, its ∂z NaN "
    "(0·inf; torch the same); where v > 700 e^(p·v)·(1 + e^−v)^p is e^(p·v) within |p|·e^−700, times the product's "
    "e^(k·v) factors as one exponential e^((p + Σk)·v), its argument in double words; as written elsewhere (then the "
    "rounded-power rule's)", apply=_one_plus_exp_powers, fired=lambda old, new: new != old)
_register(ONE_PLUS_EXP_POWER)
RULES = RULES[:RULES.index(ROUNDED_POWER)] + (ONE_PLUS_EXP_POWER,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_POWER):] if r is not ONE_PLUS_EXP_POWER)  # before rounded-power widens it
__all__ += ["ONE_PLUS_EXP_POWER"]

# ------------------------------------------------------------------ exp-sigmoid-far (issue 16, session 30: e^x/(1 + e^y)
# at (745, 745) is e^x·σ(−y) with σ(−745) a subnormal of one digit, h-hostile30); tested in tests/test_under30.py

_EXP_SIGMOID_FAR = -700  # below it σ(u) is e^u·σ(−u) taken in one exponential with the product's e^w (σ(u) is a
# subnormal below u ≈ −708.4 in float64, of few digits; a float32 kernel's σ is computed in float64 where widened)


def _exp_sigmoid_far(node):
    """A product of e^w factors and one σ(u) factor as a select: where u < −700 e^(Σw + u)·σ(−u) times the other
    factors (Σw + u in double words, widen's first order); the product as written elsewhere. None for any other node.

    Exact: σ(u) = e^u/(1 + e^u) = e^u·σ(−u) for every u; e^(Σw)·e^u = e^(Σw + u)."""
    if not node.is_Mul:
        return None
    exps = [f for f in node.args if isinstance(f, sp.exp)]
    sigmoids = [f for f in node.args if isinstance(f, sigmoid)]
    if not exps or not sigmoids or len(sigmoids) > 3 or any(s.has(WidenedBase) for s in sigmoids):
        return None
    w = sp.Add(*[f.args[0] for f in exps])
    branches = []
    for s in sigmoids:  # (σ(y)·σ(−y), a derivative's: one select each, the first that holds taken)
        u = s.args[0]
        rest = [f for f in node.args if f not in exps and f is not s]
        far = sp.Mul(*rest) * widen(sp.exp(w + u), first_order=True) * sigmoid(-u)
        branches.append((far, u < _EXP_SIGMOID_FAR))
    return sp.Piecewise(*branches, (node, True))


def _has_exp_sigmoid(expr) -> bool:
    """``expr`` holds σ and e^ (a widened sum's body counts: :func:`_exp_sigmoid_widened`)."""
    return isinstance(expr, sp.Expr) and any(e.has(sigmoid) and e.has(sp.exp)
                                             for e in (expr, *(w.body for w in expr.atoms(WidenedBase))))


def _exp_sigmoid_widened(node, rewrite):
    """A widened sum whose body ``rewrite`` (exp-sigmoid-far's or exp-sigmoid-spread's walk) changes, widened again
    with that body; None for any other node. The widen rule runs first and takes a sum that cancels whole (3e^x·σ(−y)
    − σ(−y)³ where 3e^x·σ(−y) ≈ σ(−y)³), where e^x overflows first: f was inf for 3 at (745, 745) (torch NaN). Inside
    the body e^(w + u) is computed in double words already: the far forms' own widened exponential is its body there."""
    if not isinstance(node, WidenedBase) or not (node.body.has(sigmoid) and node.body.has(sp.exp)):
        return None
    body = node.expanded
    far = rewrite(body)
    if far == body:
        return None
    far = far.replace(lambda n: isinstance(n, WidenedBase), lambda n: n.expanded)
    return widen(far, node.first_order, node.in_float32)


_KEPT_OPEN = (sp.Indexed, sp.logic.boolalg.Boolean)  # _KEPT less the widened node (entered by the rules below)


def _exp_sigmoids_far(expr):
    """Every product of ``expr`` :func:`_exp_sigmoid_far` takes, outermost first (a widened body's too)."""
    if not _has_exp_sigmoid(expr):
        return expr

    def new_form(node):
        if isinstance(node, WidenedBase):
            return _exp_sigmoid_widened(node, _exp_sigmoids_far)
        return _exp_sigmoid_far(node) if isinstance(node, sp.Expr) else None
    return _top_down(expr, new_form, _KEPT_OPEN)


EXP_SIGMOID_FAR = Rule(
    "exp-sigmoid-far", "e^w·σ(u) (e^x/(1 + e^y) as the sigmoid rule writes it, e^x·σ(−y)) where σ(u) is a subnormal of "
    "few digits or 0 (u < −708 in float64) and e^w large: at (745, 745) inf for 1 (σ(−745) = 4.9e−324, one digit; "
    "torch NaN); σ(u) = e^u·σ(−u) exactly, so where u < −700 e^(w + u)·σ(−u), the exponents' sum in double words; as "
    "written elsewhere; inside a sum the widen rule took whole too, its body widened again (3e^x·σ(−y) − σ(−y)³ was inf "
    "for 3 at (745, 745), torch NaN)", apply=_exp_sigmoids_far, fired=lambda old, new: new != old)
_register(EXP_SIGMOID_FAR)
RULES = RULES[:RULES.index(ROUNDED_POWER)] + (EXP_SIGMOID_FAR,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_POWER):] if r is not EXP_SIGMOID_FAR)
__all__ += ["EXP_SIGMOID_FAR"]

# ------------------------------------------------------------------ exp-sigmoid-spread (issue 16, session 33: ∂y of
# e^x·σ(−y) + σ(−y)², −(e^x + 2σ(−y))·σ(−y)·σ(y), was −inf at (745, 745) for −1; ∂y of log(1 + e^y)·e^x·σ(−y), a
# select of sums of σ products times e^x, −inf at (740, 741) for −272: exp-sigmoid-far takes e^w·σ(u) only as factors
# of one product, and a derivative's sum sits between them, h-hostile33); tested in tests/test_hostile33.py


def _sigmoid_power(f):
    """(u, k) where ``f`` is σ(u)^k, k a whole number 2 … 8; None otherwise."""
    if f.is_Pow and isinstance(f.base, sigmoid) and f.exp.is_Integer and 2 <= f.exp <= 8 \
            and not f.base.has(WidenedBase):
        return f.base.args[0], int(f.exp)
    return None


def _exp_sigmoid_power_far(node):
    """A product of e^w factors and σ(u)^k factors (k ≥ 2, which exp-sigmoid-far does not take: e^y·σ(−y)², a
    derivative of e^x/(1 + e^y) as written) as a select: where u < −700 e^(Σw + k·u)·σ(−u)^k times the other factors
    (Σw + k·u in double words, widen's first order); the product as written elsewhere. None for any other node.

    Exact: σ(u) = e^u·σ(−u), so σ(u)^k = e^(k·u)·σ(−u)^k; e^(Σw)·e^(k·u) = e^(Σw + k·u)."""
    if not node.is_Mul or _exp_sigmoid_far(node) is not None:
        return None
    exps = [f for f in node.args if isinstance(f, sp.exp)]
    powers = [(f, _sigmoid_power(f)) for f in node.args if _sigmoid_power(f) is not None]
    if not exps or not powers or len(powers) > 3:
        return None
    w = sp.Add(*[f.args[0] for f in exps])
    branches = []
    for f, (u, k) in powers:
        rest = [g for g in node.args if g not in exps and g is not f]
        far = sp.Mul(*rest) * widen(sp.exp(w + k * u), first_order=True) * sigmoid(-u) ** k
        branches.append((far, u < _EXP_SIGMOID_FAR))
    return sp.Piecewise(*branches, (node, True))


def _far_sigmoids(term):
    """The σ arguments of ``term`` (a product) that exp-sigmoid-far or :func:`_exp_sigmoid_power_far` takes; []."""
    if _exp_sigmoid_far(term) is not None:
        return [s.args[0] for s in term.args if isinstance(s, sigmoid)]
    if _exp_sigmoid_power_far(term) is not None:
        return [_sigmoid_power(f)[0] for f in term.args if _sigmoid_power(f) is not None]
    return []


def _exp_sigmoid_terms(node):
    """``node`` (a product holding a sum, or a select of such products, among its factors) with its other factors
    multiplied into the sum's terms (a select's branches), where that makes a term a product exp-sigmoid-far or
    :func:`_exp_sigmoid_power_far` takes (the latter's taken here); (the new form, the σ arguments of those terms) or
    None."""
    if isinstance(node, sp.Piecewise):
        branches, found = [], []
        for pair in node.args:
            got = _exp_sigmoid_terms(pair.expr)
            branches.append((pair.expr if got is None else got[0], pair.cond))
            found += [] if got is None else got[1]
        return (sp.Piecewise(*branches), found) if found else None
    if not node.is_Mul or _exp_sigmoid_far(node) is not None:
        return None
    for f in node.args:
        others = [g for g in node.args if g is not f]
        if f.is_Add:
            terms = [sp.Mul(t, *others) for t in f.args]
            found = [u for t in terms for u in _far_sigmoids(t)]
            if found:
                return sp.Add(*[_exp_sigmoid_power_far(t) or t for t in terms]), found
        elif isinstance(f, sp.Piecewise):
            got = _exp_sigmoid_terms(sp.Piecewise(*[(sp.Mul(p.expr, *others), p.cond) for p in f.args]))
            if got is not None:
                return got
        elif isinstance(f, WidenedBase) and f.expanded.is_Add:  # the widen rule's sum: its terms times the other
            terms = [sp.Mul(t, *others) for t in f.expanded.args]  # factors, widened again (∂y of 3e^x·σ(−y) −
            found = [u for t in terms for u in _far_sigmoids(t)]  # σ(−y)³, −3σ(y)·σ(−y)·f64(e^x − σ(−y)²): −inf for
            if found:  # −3 at (745, 745)); exp-sigmoid-far takes the products inside it (_exp_sigmoid_widened)
                spread = sp.Add(*[_exp_sigmoid_power_far(t) or t for t in terms])
                spread = spread.replace(lambda n: isinstance(n, WidenedBase), lambda n: n.expanded)
                return widen(spread, f.first_order, f.in_float32), found
    return None


def _exp_tanh_terms(node):
    """(S's terms each times the other factors, tanh(k·e^a)^−n written (k·e^a)^−n in them, a < −40) for a product
    e^a·S (S a sum or a widened sum) with a term of S holding tanh(k·e^a)^−n (n > 0 an integer, 0 < |k| ≤ 1024); None
    for any other node. Below a = −40 tanh(k·e^a) is k·e^a to 2⁻⁹⁷ relative (:data:`_TANH_LINEAR_BELOW`), and the
    terms' own e^a·(k·e^a)^−n has a finite exponent where e^a underflows: the cloglog NLL's ∂z, e^z·f64(1 − t −
    t·σ(−e^z)/tanh(e^z/2)), was −inf at z = −740 and NaN at −746 for −1 at t = 1 (the sum overflowed where e^z
    did not; session 37, h-cloglog37), e^z·(1 − t) − 2t·σ(−e^z) there."""
    if not node.is_Mul:
        return None
    exps = {f for f in node.args if isinstance(f, sp.exp)}
    for f in node.args:
        widened = isinstance(f, WidenedBase) and f.expanded.is_Add
        if not (f.is_Add or widened):
            continue
        terms = f.expanded.args if widened else f.args
        linear = {}
        for g in (g for t in terms for g in sp.Mul.make_args(t)):
            if g.is_Pow and isinstance(g.base, sp.tanh) and g.exp.is_Integer and g.exp < 0:
                k, e = g.base.args[0].as_coeff_Mul()
                if e in exps and k.is_Number and 0 < abs(k) <= 1024:
                    linear.setdefault(e, {})[g.base] = k * e
        for e, tanhs in linear.items():
            others = [h for h in node.args if h is not f]
            spread = sp.Add(*[sp.Mul(t, *others).xreplace(tanhs) for t in terms])
            if widened:
                spread = widen(spread.replace(lambda n: isinstance(n, WidenedBase), lambda n: n.expanded),
                               f.first_order, f.in_float32)
            return spread, e.args[0] < _TANH_LINEAR_BELOW
    return None


def _exp_sigmoid_spread(node):
    """A product of e^w and σ(u) factors with a sum between them ((e^x + 2σ(−y))·σ(−y)·σ(y); {Σ σ products}·e^x) as a
    select: where some such u < −700, the sum's terms each times the other factors (then exp-sigmoid-far's products,
    exact there); the product as written elsewhere. A product of e^w and σ(u)^k factors (k ≥ 2): as
    :func:`_exp_sigmoid_power_far` writes it. A product e^a·S whose sum holds tanh(k·e^a)^−n: where a < −40, as
    :func:`_exp_tanh_terms` writes it. None for any other node.

    Exact: (a + b)·c = a·c + b·c, and a select's branches times c are c times the select; rounding: the terms' sum is
    rounded where the sum was, on the same terms times c (the products themselves exact to a rounding each)."""
    if not isinstance(node, sp.Expr) or not (node.is_Mul or isinstance(node, sp.Piecewise)):
        return None
    got, near_zero = _exp_sigmoid_terms(node), _exp_tanh_terms(node)
    if got is None:
        far = _exp_sigmoid_power_far(node)
        return far if near_zero is None else sp.Piecewise(near_zero, (node if far is None else far, True))
    spread, found = got
    pairs = [(spread, sp.Or(*[u < _EXP_SIGMOID_FAR for u in dict.fromkeys(found)]))]
    return sp.Piecewise(*pairs, *([near_zero] if near_zero else []), (node, True))


def _exp_sigmoids_spread(expr):
    """Every product of ``expr`` :func:`_exp_sigmoid_spread` takes, outermost first (a widened body's too:
    :func:`_exp_sigmoid_widened`)."""
    if not _has_exp_sigmoid(expr):
        return expr

    def new_form(node):
        if isinstance(node, WidenedBase):
            return _exp_sigmoid_widened(node, _exp_sigmoids_spread)
        return _exp_sigmoid_spread(node)
    return _top_down(expr, new_form, _KEPT_OPEN)


EXP_SIGMOID_SPREAD = Rule(
    "exp-sigmoid-spread", "e^w and σ(u) factors with a sum between them, as a derivative writes them ((e^x + 2σ(−y))·"
    "σ(−y)·σ(y), ∂y of e^x·σ(−y) + σ(−y)²), overflow e^w first: −inf at (745, 745) for −1 (torch NaN); where u < −700 "
    "the sum's terms each times the other factors, exactly the product, so that exp-sigmoid-far takes e^w·σ(u) in one "
    "exponential; e^w·σ(u)^k (k ≥ 2: e^y·σ(−y)², the derivative of e^x/(1 + e^y) + (1 + e^y)⁻² as written, NaN there) "
    "as e^(w + k·u)·σ(−u)^k, exactly (σ(u) = e^u·σ(−u)), the exponents' sum in double words; as written elsewhere; "
    "a widened sum between them (−3σ(y)·σ(−y)·f64(e^x − σ(−y)²), ∂y of 3e^x·σ(−y) − σ(−y)³: −inf for −3 at (745, 745)) "
    "takes the other factors into its terms, widened again; e^a times a sum holding tanh(k·e^a)^−n (the cloglog NLL's ∂z "
    "e^z·f64(1 − t − t·σ(−e^z)/tanh(e^z/2)): −inf at z = −740, NaN at −746 for −1 at t = 1; torch NaN) takes e^a into "
    "its terms where a < −40, tanh(k·e^a) = k·e^a there to 2⁻⁹⁷ (|k| ≤ 1024): e^z·(1 − t) − 2t·σ(−e^z)", apply=_exp_sigmoids_spread, fired=lambda old, new: new != old)
_register(EXP_SIGMOID_SPREAD)
RULES = RULES[:RULES.index(EXP_SIGMOID_FAR)] + (EXP_SIGMOID_SPREAD,) + tuple(
    r for r in RULES[RULES.index(EXP_SIGMOID_FAR):] if r is not EXP_SIGMOID_SPREAD)  # before exp-sigmoid-far
__all__ += ["EXP_SIGMOID_SPREAD"]

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
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp):
        return expr
    return _top_down(expr, lambda node: _exp_over_power_far(node) if isinstance(node, sp.Expr) else None, _KEPT)


EXP_OVER_POWER_FAR = Rule(
    "exp-over-power-far", "e^w·(c + d·e^v)^−n (the derivative of 1/(2 − e^x), e^x/(2 − e^x)²) forms (c + d·e^v)^n, "
    "which overflows from v ≈ 709.8/n where the product need not: 0 for 1.915e−174 at x = 400, NaN at 709.8 (torch 0 "
    "and NaN); c + d·e^v = e^v·(c·e^−v + d) exactly, so where v > 40 e^(w − n·v)·(c·e^−v + d)^−n, the exponents in one "
    "exponential; as written elsewhere (and where c + d·e^v has its root beyond v = 39)",
    apply=_exp_over_powers_far, fired=lambda old, new: new != old)
_register(EXP_OVER_POWER_FAR)
RULES = RULES[:RULES.index(ROUNDED_POWER)] + (EXP_OVER_POWER_FAR,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_POWER):] if r is not EXP_OVER_POWER_FAR)
__all__ += ["EXP_OVER_POWER_FAR"]

# ------------------------------------------------------------------ log-tanh (issue 16, session 31: log(tanh(softplus x))
# 85.7 ULP at x = 3 (torch 42.3), 4.95e9 at 12, 0 for −8.5e−18 at 20, −inf for −800 at −800, h-hostile31); tested in
# tests/test_hostile31.py

_LOG_TANH_NEAR = sp.Rational(1, 2)  # above it tanh u > 0.46: its log as log1p(−2σ(−2u)) (below, tanh u as written)


def _log_tanh(node):
    """log(tanh(u)) → log1p(−2σ(−2u)) where u > 1/2, as written elsewhere; log(tanh(softplus p)) → the rational
    function of t = e^p it is, as logs: p + log1p(t/2) − log1p(t + t²/2) for p ≤ 0 and log1p(−2v²/(1 + 2v + 2v²)),
    v = e^−p, for p > 0. None for any other node.

    Exact: tanh u = 1 − 2/(e^(2u) + 1) = 1 − 2σ(−2u); tanh(softplus p) = ((1 + t)² − 1)/((1 + t)² + 1) =
    t(t + 2)/(t² + 2t + 2) = (1 + 2v)/(1 + 2v + 2v²), so its log is p + log(1 + t/2) − log(1 + t + t²/2) (log 2
    cancelled exactly) and log(1 − 2v²/(1 + 2v + 2v²))."""
    if not (isinstance(node, sp.log) and isinstance(node.args[0], sp.tanh)):
        return None
    u = node.args[0].args[0]
    if isinstance(u, softplus):
        p = u.args[0]
        t, v = sp.exp(p), sp.exp(-p)
        return _Final(sp.Piecewise((p + log1p(t / 2) - log1p(t + t ** 2 / 2), p <= 0),
                                   (log1p(-2 * v ** 2 / (1 + 2 * v + 2 * v ** 2)), True)))
    return _Final(sp.Piecewise((log1p(-2 * sigmoid(-2 * u)), u > _LOG_TANH_NEAR), (node, True)))


LOG_TANH = Rule(
    "log-tanh", "tanh u rounds to 1 − 2e^(−2u) + … so its log, of order −2e^(−2u), keeps only the digits of that "
    "rounding: log(tanh(softplus x)) (mish's factor) 85.7 ULP at x = 3 in float64 (torch 42.3), 4.95e9 at x = 12, 0 for "
    "−8.5e−18 at 20, and −inf for −800 at x = −800 where tanh(softplus x) underflows; log tanh u = log1p(−2σ(−2u)) "
    "where u > 1/2 (σ(−2u) exact to its rounding), and for u = softplus(p) the logs of the rational function of t = e^p "
    "it is (p + log1p(t/2) − log1p(t + t²/2) for p ≤ 0, log1p(−2v²/(1 + 2v + 2v²)), v = e^−p, above)",
    local=_log_tanh)
_register(LOG_TANH)
__all__ += ["LOG_TANH"]

# ------------------------------------------------------------------ affine-select-sum (issue 16, session 32: ∂x of
# hardswish(relu(x) − y) 128 ULP near relu(x) − y = −3/2 where torch is exact, h-hyp31); tested in tests/test_hyp32.py


def _without_groups(e):
    """``e`` with each :class:`Grouped` sum among its terms opened (q·Grouped(a + b) as q·a + q·b, nested ones too):
    the same value, as SymPy combines it. Only sums: a grouping inside a term's factors is another rule's order
    (one-minus-cos-factor's (B·s)·s, hypot's (c/v)/v), kept (session 32's review: dropping every grouping brought
    back y·cos x − y's s² underflow in a branch)."""
    out = []
    for t in sp.Add.make_args(e):
        c, u = t.as_coeff_Mul()
        if isinstance(u, Grouped) and u.args[0].is_Add:
            t = c * _without_groups(u.args[0])
        out.append(t)
    return sp.Add(*out)


def _affine_terms(e) -> bool:
    """``e`` (its groupings dropped) a number or a sum of rational multiples of non-constant expressions holding no
    select: an affine form of its terms (r/6 − y/6, 1/2 + (r − y)/6)."""
    for t in sp.Add.make_args(_without_groups(e)):
        c, u = t.as_coeff_Mul()
        if not c.is_Rational or u.has(sp.Piecewise) or u.is_number and u != 1:
            return False
    return True


def _affine_select_sum(node, strip=True):
    """k·{a_1 if c_1; …; a_n otherwise} + T → {k·a_1 + T if c_1; …; k·a_n + T otherwise}, where the branches a_i and
    the terms T are affine (rational multiples of expressions, no select) and, in some branch, terms of k·a_i and of T
    combine (their sum has fewer terms than the two apart); such a branch b + Σ ±u_i/n as (Σ ±u_i + b·n)/n with the
    sum widened (:func:`_affine_grouped`). None for any other node.

    hardswish′(u)·r′ with u = r − y written out: (3 + u)/6 inside the select, + r/6 − y/6 beside it; each rounded
    before the sum, which cancels near u = −3/2 (∂x of hardswish(relu(x) − y) 128 ULP at (1.2597, 2.7664), torch
    exact there; worse than torch at 64 of 1,500 random points, h-hyp31). In the branch the terms combine to
    1/2 + r/3 − y/3 = (r − y + 3/2)/3, whose sum, widened, is the exact one of the inputs rounded once (torch rounds
    u = r − y first: 1e15 ULP where the result is tiny against u). Exact: a sum distributes over the branches of a
    select, each branch taken where it was. A factor w common to every term is taken out first: w·(k·{…} + T)."""
    if not (node.is_Add and len(node.args) >= 2):
        return None
    if sum(any(isinstance(f, sp.Piecewise) for f in sp.Mul.make_args(t)) for t in node.args) != 1:
        return None  # (one term holds a select as a factor; cheap, before any product is divided)
    common = functools.reduce(lambda a, b: a & b, [set(sp.Mul.make_args(t.as_coeff_Mul()[1])) for t in node.args])
    common = {f for f in common if not f.is_number and not isinstance(f, sp.Piecewise)}
    if common and strip:  # w·k·{…} + w·T (∂ of log(1 + hardswish(r − y)): w = 1/(1 + hardswish)): the rest, times w
        w = sp.Mul(*common)
        inner = _affine_select_sum(sp.Add(*[t / w for t in node.args]), strip=False)
        return None if inner is None else w * inner
    selects = [t for t in node.args if isinstance(t.as_coeff_Mul()[1], sp.Piecewise)]
    if len(selects) != 1:
        return None
    k, select = selects[0].as_coeff_Mul()
    rest = [t for t in node.args if t is not selects[0]]
    if not k.is_Rational or not all(_affine_terms(t) for t in rest) or \
            not all(_affine_terms(a) for a, _ in select.args):
        return None
    rest = [_without_groups(t) for t in rest]
    pairs, combined = [], False
    for a, cond in select.args:
        a = _without_groups(a)
        total = sp.Add(k * a, *rest)
        apart = len(sp.Add.make_args(k * a)) + len(rest)
        merged = total != 0 and len(sp.Add.make_args(total)) < apart and not (k * a).is_number
        combined |= merged
        pairs.append((_affine_grouped(total) if merged else total, cond))
    if not combined:
        return None
    return sp.Piecewise(*pairs)


def _affine_grouped(total):
    """b + Σ ±u_i/n (two terms u_i or more, one n ≥ 1, b·n a dyadic rational: exact in float32) → (Σ ±u_i + b·n)/n,
    the sum widened (float64, double words where it cancels): 1/2 + r/3 − y/3 rounds r/3 and y/3 (or, grouped as
    the affine-root rule groups, r − y) before the sum cancels near its root; widened it is the sum of the inputs
    rounded once. n = 1 too (3·hardswish′(r − y) combines to 3/2 + r − y, which left to right rounds 3/2 + r before
    − y cancels). ``total`` itself where it is not such a sum."""
    b, rest = total.as_coeff_Add()
    terms = [t.as_coeff_Mul() for t in sp.Add.make_args(rest)]
    if not b.is_Rational or b == 0 or len(terms) < 2:
        return total
    n = terms[0][0].q if terms[0][0].is_Rational else 0
    if n < 1 or any(not (c.is_Rational and c.p in (1, -1) and c.q == n) or u.is_number for c, u in terms):
        return total
    shift = b * n
    if not (shift.q & (shift.q - 1) == 0 and shift.q <= 2**24 and abs(shift) <= 2**24):
        return total
    inner = widen(sp.Add(*[c.p * u for c, u in terms], shift))
    return sp.Rational(1, n) * inner if n > 1 else inner


AFFINE_SELECT_SUM = Rule(
    "affine-select-sum", "k·{…; a if c; …} + T, a and T affine, rounds a and each term of T apart before a sum that "
    "cancels where their terms would combine (hardswish′(r − y)·r′: (3 + r − y)/6 + r/6 − y/6, 128 ULP in float64 "
    "near r − y = −3/2 where torch is exact, 1e15 where the result is tiny); the sum taken into each branch combines "
    "them, (r − y + 3/2)/3, its sum widened: ≤ 1 ULP in float64 at 1,500 random points of five forms",
    local=_affine_select_sum)
_register(AFFINE_SELECT_SUM)
__all__ += ["AFFINE_SELECT_SUM"]


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
    out = base ** low * (inner if not inner.is_Add else sp.factor_terms(inner)) + apart
    b = sp.Dummy("B", positive=True)  # the exactness proof: the same sum times B^−e_min, B a symbol, then B
    if sp.expand(sp.expand((out - node).xreplace({base: b}) * b ** -low).xreplace({b: base})) != 0:  # written out
        return None
    # an inner sum left (ε + x₂²/3 + x₃²/3; 2pt − p − t, which still cancels at t = 1/2) is computed as the widen rule
    # computes a sum, rounded once: its terms rounded apart and added were 4.05 ULP in float64 (the Dice loss with a
    # smoothing input, ∂t = (s − 2p² − 2ps)/B² at p = 2.25e10)
    if inner.is_Add and apart == 0 and low.is_Integer and _rational_in_inputs(inner, base):
        # the inner sum over B^−e_min, one widened quotient rounded once (gru38: the log-cosh-Dice's ∂p,
        # tanh(N/B)·(2t − 1 + 2t²)/B², was 4.95 ULP in float64 at p = −0.00092017, t = 0.3 with the sum, B and the
        # quotient each rounded, B's rounding thrice)
        return widen(sp.factor_terms(inner) * base ** low)
    return out if not inner.is_Add else out.xreplace(
        {a: widen(a) for a in sp.Mul.make_args(sp.factor_terms(inner)) if a.is_Add})


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
        return None
    rest = [f for f in node.args if f is not sums[0] and f not in powers]
    scale = sp.Mul(*powers)
    found = _sum_power_cancel_node(sp.Add(*[scale * t for t in sums[0].args]))
    return None if found is None else sp.Mul(*rest) * found


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
    "0.05; ≤ 2.07 on 200 points there now); taken only where "
    "it does, before the node rules (hypot's selects) rewrite the powers", fired=lambda old, new: new != old, before=True,
    apply=lambda e: _top_down(e, _sum_power_cancel_node, leaves=_KEPT) if isinstance(e, sp.Expr) and e.has(sp.Pow) else e)
_register(SUM_POWER_CANCEL)
# tried before reciprocal-margin, whose double-word margin of −2t + (2pt + s)/B (the Dice loss with its smoothing s an
# input: ∂p = (−2t + (2pt + s)/B)/B) keeps the p terms this rule cancels symbolically (7.3e13 ULP in float64 at
# p = 5.1e13, worse than torch's 2.6e12)
RULES = RULES[:RULES.index(RECIPROCAL_MARGIN)] + (SUM_POWER_CANCEL,) + tuple(
    r for r in RULES[RULES.index(RECIPROCAL_MARGIN):] if r is not SUM_POWER_CANCEL)
__all__ += ["SUM_POWER_CANCEL"]


# ------------------------------------------------------------------ overflowed-shift (issue 16, session 36, h-kl36: a
# written softmax with a subnormal temperature, a/T and b/T both past float64; tested in tests/test_kl36.py)

_SHIFT_FAR = sp.Float(3.4028234663852886e38, 17)  # |m| past float32's largest: every gap is 0 or past 2⁻⁵³·m ≫ 745


def _shared_factor(m):
    """(s, [r_1, …, r_n]) for a max m = max(r_1·s, …, r_n·s) whose arguments share a factor s (no number: a
    temperature's 1/T), else None."""
    if not isinstance(m, sp.Max):
        return None
    factors = [sp.Mul.make_args(x) for x in m.args]
    common = [f for f in factors[0] if not f.is_number and all(f in fs for fs in factors[1:])]
    if not common:
        return None
    return sp.Mul(*common), [sp.Mul(*[f for f in fs if f not in common]) for fs in factors]


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
    "shifted terms", apply=_overflowed_shifts, fired=lambda old, new: new != old)
_register(OVERFLOWED_SHIFT)
__all__ += ["OVERFLOWED_SHIFT"]
# ------------------------------------------------------------------ widen-quotients (session 37, a new user's asymmetric
# Laplace NLL; narrowed and guarded in session 38, h-laplace38); tested in tests/test_laplace38.py and test_user37.py

def _holds_quotient(term) -> bool:
    """``term`` divides by something of the inputs outside any function's argument (1/κ, (t − p)/b, a select's piece
    2κ/(1 + κ²)): a quotient rounded once in the kernel's dtype, to an ulp of its own size. Not one whose |u| as u and
    sign(u) as 1 is a number (|x|·sign(y)/x, 5·|x|·|y|/(x·y): ±1 and ±5 exactly in floating point too, where the
    double words of a subnormal x·y were not: 6 for 5 at x = 5e−324, y = 2.48, tests/test_review37.py)."""
    plain = term.replace(sp.Abs, lambda u: u).replace(sp.sign, lambda u: sp.S.One)
    if not plain.free_symbols:
        return False
    plain = plain.xreplace({f: sp.Dummy() for f in plain.atoms(sp.Function) if not isinstance(f, sp.Piecewise)})
    return any(q.exp.is_negative and bool(q.base.free_symbols) for q in plain.atoms(sp.Pow))


def _quotient_sum(node) -> bool:
    """A sum of two or more inputs with two or more terms of opposite signs that each divide by the inputs (a term with
    an input of either sign as a factor that no other holds has both signs: _lone_input_factor)."""
    if not (node.is_Add and len(node.args) >= 2 and len(node.free_symbols) >= 2):
        return False
    quotients = [a for a in node.args if _holds_quotient(a)]
    # a select's inputs are its values' (σ(x)·e^x/y beside σ(x)²/y, a select of the first at x < −700: y is no lone
    # factor, the sum is of one sign and was widened for nothing, tests/test_search33.py)
    values = [a.xreplace({w: sp.Add(*[v for v, _ in w.args]) for w in a.atoms(sp.Piecewise)}) for a in quotients]
    signs = {s for a, v in zip(quotients, values) for s in ((True, False) if _lone_input_factor(v, values)
                                                           else (a.could_extract_minus_sign(),))}
    return len(quotients) >= 2 and len(signs) == 2


# a double word's lo part is lost where its hi is below 2⁻⁹⁶⁸ (doubleword.SCALED_TINY: its 2⁻¹⁰⁶ is below 2⁻¹⁰⁷⁴), and a
# product's split is scaled past 2⁹⁹⁶: a quotient sum is widened where each value its double words hold is 0 or within
# 2^±968 (powers of two: exact)
_WORDS_LOW, _WORDS_HIGH = sp.Float(2.0 ** -968), sp.Float(2.0 ** 968)


def _word_values(node, found: dict) -> bool:
    """Put in ``found`` (as keys, in order) the values the double words of ``node`` hold: each input, sum, product,
    quotient and power below it, each product of two or more factors of a numerator or a denominator (the double words
    form b·κ² of (p − t)/(b·κ²), and any partial product of x·y·z), each value of a select (not its conditions); False
    where ``node`` holds a function other than |u|, sign(u), a select or a widened node (a sum with e^x or σ is its own
    rules'), or a product of more than four factors."""
    if not isinstance(node, sp.Expr) or node.is_number:  # (a condition: not a value)
        return True
    if isinstance(node, Grouped):
        return _word_values(node.args[0], found)
    if isinstance(node, sp.Piecewise):
        return all(_word_values(v, found) for v, _ in node.args)
    if isinstance(node, sp.Function) and not isinstance(node, (sp.Abs, sp.sign, WidenedBase)):
        return False
    if not (node.is_Symbol or isinstance(node, WidenedBase)):
        if not all(_word_values(a, found) for a in node.args):
            return False
    if node.is_Mul or node.is_Pow:
        for side in node.as_numer_denom():
            factors = [f for f in sp.Mul.make_args(side) if not f.is_number]
            if len(factors) > 4:
                return False
            for r in range(1, len(factors) + 1):
                found.update(dict.fromkeys(sp.Abs(sp.Mul(*c)) for c in itertools.combinations(factors, r)))
            for f in factors:  # (x³: x² on the way)
                if f.is_Pow and f.exp.is_Integer:
                    found.update(dict.fromkeys(sp.Abs(f.base ** j) for j in range(2, int(f.exp))))
    c, rest = node.as_coeff_Mul()
    if not (c in (1, -1) and rest is not node):  # (−u is u's value: once)
        found[sp.Abs(node)] = None
    return True


def _quotient_range(node):
    """Where the double words of the quotient sum ``node`` stay in range: every value they hold (:func:`_word_values`:
    inputs, products, quotients, inner sums) 0 or within 2^±968, as the kernel computes it; None where ``node`` holds
    another function. The double words of x·y at x = 5e−324 gave 6 for 5 in session 37's review, and ~100 of 200
    points of x/(y·z) − w/(y·z) + 1/v with y·z subnormal worse than torch (up to 5.1e13 ULP)."""
    found: dict = {}
    if not all(_word_values(a, found) for a in node.args):
        return None
    return sp.And(*[(a <= _WORDS_HIGH) & ((a >= _WORDS_LOW) | sp.Eq(a, 0)) for a in found])


def _unwrapped(e):
    """``e`` with its widened nodes and kept brackets as the sums they stand for, and each select as its first value
    (a rule's select of two forms of one function: scaled-square's x/y² or (x/y)/y)."""
    e = e.replace(lambda n: isinstance(n, WidenedBase), lambda n: n.expanded)
    e = e.replace(lambda n: isinstance(n, sp.Piecewise), lambda n: n.args[0].expr)
    return e.replace(lambda n: isinstance(n, Grouped), lambda n: n.args[0])


def _taken_written_forms(expr) -> set:
    """The sums of ``expr`` that an earlier rule keeps as written beside its own form of them: the last piece of a
    select whose other piece is the same function (reciprocal-difference's a·((v − u)/u)/v where v/u is in [1/2, 2],
    1/u − 1/v elsewhere, where they cannot cancel; reciprocal-margin's widened x/y − y/x, x/y² − 1/x where its double
    words stay in range). Widened there too, 1/x − 1/y was 3–7× slower for no gain (session 37's review)."""
    taken = set()
    for w in _atoms(expr, sp.Piecewise):
        *others, (last, cond) = w.args
        if cond != sp.true or not last.is_Add:
            continue
        for value, _ in others:
            if value.free_symbols and sp.cancel(sp.together(_unwrapped(value) - _unwrapped(last))) == 0:
                taken.add(last)
                break
    return taken


def _guarded_quotient_sum(node):
    """widen(node) where :func:`_quotient_range` holds, ``node`` as written elsewhere; ``node`` where it has none."""
    inside = _quotient_range(node)
    if inside is None:
        return node
    # (h-cauchy43) a sum of quotients of polynomials: past the guard in scaled double words (widen's far_bound), as
    # written where that is not finite (the written form there: ∂x of x/(1 + (a·x)²) 115 ULP at (−3.58e−260, 2.76e259))
    degree = _cauchy_rational_degree(node)
    outside = node if not degree else written_where_not_finite(widen(node, far_bound=max(1, 960 // degree)), node)
    return sp.Piecewise((_signed_widen(node), inside), (outside, True))


def _widen_quotient_sums(expr):
    """Every sum of ``expr`` that :func:`_quotient_sum` names (innermost first) and no earlier rule keeps as written
    (:func:`_taken_written_forms`), widened where its double words stay in range (:func:`_quotient_range`); the
    widened nodes and conditions kept as they are."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Pow):
        return expr
    taken = None

    def rewrite(node):
        nonlocal taken
        if not _quotient_sum(node):
            return node
        if taken is None:
            taken = _taken_written_forms(expr)
        return node if node in taken else _guarded_quotient_sum(node)

    return _bottom_up(expr, rewrite, leaves=_KEPT)


WIDEN_QUOTIENTS = Rule(
    "widen-quotients", "a sum whose terms of opposite signs each divide by the inputs cancels their roundings, each "
    "half an ulp of its own size (an asymmetric Laplace NLL's ∂κ, (t − p)/b − 1/κ + 2κ/(1 + κ²): 28.7 ULP in float64 at "
    "b = 1, κ = 0.3, p = −1.5, t = 1.2319, torch 12.7); computed as the widen rule computes a sum, in float64 in a "
    "float32 kernel and in double words in a float64 one, rounded once; after the rules that make its terms safe from "
    "overflow (overflowing-log1p's 2/κ where κ² overflows), whose selects it computes as they are; only where each "
    "value its double words hold (inputs, products, quotients, inner sums) is 0 or within 2^±968, as written elsewhere "
    "(a double word's lo part is lost below 2⁻⁹⁶⁸: x/(y·z) − w/(y·z) + 1/v with y·z subnormal was worse than torch "
    "at ~100 of 200 points, up to 5.1e13 ULP), and not a term that is a number times signs "
    "(|x|·sign(y)/x, exact as written), and not a sum an earlier rule keeps as written beside its own form of it "
    "(reciprocal-difference's 1/x − 1/y where it cannot cancel)",
    apply=_widen_quotient_sums, fired=lambda old, new: new != old)
_register(WIDEN_QUOTIENTS)
__all__ += ["WIDEN_QUOTIENTS"]


# ------------------------------------------------------------------ factor-into-quotient-branches (issue 16:
# hardsigmoid(x)/leaky_relu(selu(x)), SymPy's h·{(1/λ)/x if x > 0; …}: inf at x = 2.78e−309 in float64 for 1.71e308;
# h-xfail31's node-by-node rule, taken out in session 31 (it moved x into collect-pole's select before collect-pole saw
# the sum: ∂ of log(elu(hardswish x)) NaN at ±0); now a whole-expression rule, the last one applied; h-quot32, tested in
# tests/test_quot32.py)

# bounded functions of any argument: a factor built of them, inputs and numbers has no pole and overflows only where
# the product as written overflowed too (it computed the factor itself). |·|, max and min are tame of tame arguments
# only (session 33: |1/y| has y's pole; session 32's review)
_TAME_FUNCTIONS = (sigmoid, sp.tanh, sp.erf, sp.sin, sp.cos, sp.sign)


def _constant_over_inputs(e) -> bool:
    """e is c/(y^k·z^m…): a finite number c (1 too) times negative powers of inputs, at least one."""
    factors = sp.Mul.make_args(e)
    return any(f.is_Pow for f in factors) and all(
        (f.is_Number and f.is_finite) or (f.is_Pow and f.exp.is_negative and f.exp.is_number and f.base.is_Symbol)
        for f in factors)


def _quotient_select(pw) -> bool:
    """pw is a select one of whose values, nested or not, is a constant over inputs, and none a non-finite number (a select
    holding SymPy's zoo, the pole of a division by 0 it wrote, is left as it is)."""
    values = [e for e, _ in pw.args]
    if any(e.is_number and not e.is_finite for e in values):
        return False
    nested = [e for e in values if isinstance(e, sp.Piecewise)]
    if any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in nested):
        return False
    return any(_constant_over_inputs(e) for e in values) or any(_quotient_select(e) for e in nested)


def _tame(h) -> bool:
    """h has no pole and no function that overflows: numbers, inputs, sums, products, positive powers, selects of such
    values, |·|, max and min of such values, and bounded functions (σ, tanh, erf, sin, cos, sign) of anything."""
    if h.is_Number:
        return bool(h.is_finite)
    if h.is_Symbol or isinstance(h, _TAME_FUNCTIONS):
        return True
    if isinstance(h, (sp.Abs, sp.Max, sp.Min)):
        return all(_tame(a) for a in h.args)
    if isinstance(h, Grouped):
        return _tame(h.args[0])
    if h.is_Add or h.is_Mul:
        return all(_tame(a) for a in h.args)
    if h.is_Pow:
        return h.exp.is_number and h.exp.is_positive and _tame(h.base)
    if isinstance(h, sp.Piecewise):
        return all(_tame(e) for e, _ in h.args)
    return False


def _into_quotient_branches(pw, h):
    """{c/y if A; b if B; …} times h, h in every branch: c·h/y one product over y; a nested select the same way; any
    other value b times h as it was, b rounded first (a product b kept one factor: h·b's factors are not reordered)."""
    def moved(e):
        if isinstance(e, sp.Piecewise):
            return _into_quotient_branches(e, h) if _quotient_select(e) else h * e
        if _constant_over_inputs(e):
            return h * e
        return h * (Grouped(e) if e.is_Mul and not e.is_number else e)
    return sp.Piecewise(*[(moved(e), c) for e, c in pw.args])


def _factor_into_quotient_branch(node):
    """h·{c/y if …; …} (a select with a value, nested or not, that is a constant over inputs, and h the product's other
    factors, each :func:`_tame`) → {c·h/y if …; …}, h moved into every branch; the node as it is otherwise.

    Exact: a product distributes over a select's branches (h is evaluated where each branch is). In a branch the
    quotient c·h/y is printed as one product over y (the printer's constant placement), where c/y rounded and
    overflowed first (c/y past the range, c·h/y not: a subnormal y); every other branch is its value times h, as
    before. h has no pole and overflows only where h as written did, so that no branch gains an inf·0.

    Who owns h·{c/y; …} (session 33): this rule, for a tame h, symbolically and before any printer sees the product;
    the printers' run-time fallback (``ConditionalPrinting._moved_into_select``, NumPy ``_taken_again``) only what
    this rule refuses (an h with a pole or an unbounded function: e^x/selu(y), √x/elu(y), relu(x·y)/leaky_relu(y)) or
    never sees (a select or a product held in a CSE temporary, a product inside a widened sum's body, which this rule
    does not walk). A product this rule took has no select left for the fallback to move h into; where h's size is
    known from its structure (σ, tanh, an input times bounded factors) its c·h/y and the derivative's c·(h/y)/y are
    not taken again either (they leave the range only where the exact quotient does,
    :func:`symnet.codegen.spans.product_stays_in_range`); c·h/y², whose y² underflows, is, by exponents."""
    if not node.is_Mul:
        return node
    pw = next((f for f in node.args if isinstance(f, sp.Piecewise) and _quotient_select(f)), None)
    if pw is None:
        return node
    rest = list(node.args)
    rest.remove(pw)
    h = sp.Mul(*rest)
    if not _tame(h):
        return node
    return _into_quotient_branches(pw, h)


def _factor_into_quotient_branches(expr):
    """Every product of ``expr`` :func:`_factor_into_quotient_branch` takes, innermost first. A whole-expression rule
    applied after every other (the last registered): the node-by-node rules and the other whole-expression rules
    have each seen the products as written (collect-pole needs x·P/6 + (x/6 + 1/2)·P with P the same select in both
    terms; moved into P first, x made its expm1 branch 0/0 = NaN at x = 0, session 31)."""
    from .roots import SeriesBase

    if not isinstance(expr, sp.Expr) or not expr.has(sp.Piecewise):
        return expr
    return _bottom_up(expr, _factor_into_quotient_branch, leaves=_KEPT + (SeriesBase,))


# ------------------------------------------------------------------ power-into-branches (issue 16, session 38:
# ((x + y)/poisson_nll(x, y))⁻² at (−1.8e308, 0.3) was P²/(x + y)² = inf/inf = NaN for 0.09); tested in
# tests/test_range38.py

def _power_into_branch(node):
    """{A₁^k if …; 0 if …; …}·B^−m (a select whose every value is a k-th power A^k or 0, k ≥ 2 an integer, and a power
    B^−m of a sum, m ≥ k, with other factors h) → h·{(A₁/B)^k·B^(k − m) if …; 0 if …}, B^−m moved into each branch,
    where B or some A lies outside 2^±(120/max(k, m)); the product as written within (A^k, B^m normal: the
    roundings it was measured with, 3.19 ULP at (22.26, −4.53) where (A/B)² is 4.13); a value neither a k-th power nor
    0 times B^−m as it was. A^k and B^m overflow together where their quotient does
    not (the Poisson NLL P = e^x − x·y squared over (x + y)² at x = −1.8e308: inf/inf = NaN for 0.09); (A/B)^k rounds
    as often as A^k/B^k, and overflows only where the whole does. Exact: a product distributes over the branches."""
    if not node.is_Mul:
        return node
    pw = next((f for f in node.args if isinstance(f, sp.Piecewise)), None)
    if pw is None:
        return node
    powers = [f for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp <= -2 and f.base.is_Add
              and f.base.free_symbols]
    if len(powers) != 1:
        return node
    (den,) = powers
    b, m = den.base, int(-den.exp)
    values = [e for e, _ in pw.args]
    ks = {int(e.exp) for e in values if e.is_Pow and e.exp.is_Integer and e.exp >= 2}
    if len(ks) != 1:
        return node
    (k,) = ks
    if m < k:
        return node

    def moved(e):
        if e == 0:
            return sp.S.Zero
        if e.is_Pow and e.exp == k:
            return sp.Pow(Grouped(e.base / b), k) * b ** (k - m)
        return e * den

    # the written form where A and B lie within 2^±(120/max(k, m)) (at most 2^±60, as scaled-power's): A^k and B^m are
    # normal in float32 there, and the product rounds as it was measured
    bound = sp.Integer(2) ** min(60, 120 // max(k, m))

    def within(v):
        return (sp.Abs(v) < bound) & (sp.Abs(v) > 1 / bound)
    written = sp.And(within(b), *[within(e.base) for e in values if e.is_Pow and e.exp == k])
    rest = [f for f in node.args if f is not pw and f is not den]
    return sp.Piecewise((node, written), (sp.Mul(*rest) * sp.Piecewise(*[(moved(e), c) for e, c in pw.args]), True))


def _powers_into_branches(expr):
    """Every product of ``expr`` :func:`_power_into_branch` takes, innermost first."""
    from .roots import SeriesBase

    if not isinstance(expr, sp.Expr) or not expr.has(sp.Piecewise):
        return expr
    return _bottom_up(expr, _power_into_branch, leaves=_KEPT + (SeriesBase,))


POWER_INTO_BRANCHES = Rule(
    "power-into-branches", "{A^k if …; …}/B^m (a select of k-th powers over a power of a sum, m ≥ k: the Poisson "
    "NLL P = e^x − x·y squared by ((x + y)/P)⁻², P²/(x + y)², with P² written by the exp-minus rules as a select) "
    "overflows A^k and B^m together where the quotient does not: inf/inf = NaN at (−1.8e308, 0.3) for 0.09 (torch "
    "1.76 ULP); {(A/B)^k·B^(k − m) if …; …}, the power moved into each branch, rounds as often and overflows only where "
    "the whole does", apply=_powers_into_branches, fired=lambda old, new: new != old)
_register(POWER_INTO_BRANCHES)
__all__ += ["POWER_INTO_BRANCHES"]


FACTOR_INTO_QUOTIENT_BRANCHES = Rule(
    "factor-into-quotient-branches", "h·{c/y if …; …} (SymPy writes the reciprocal of a select as the select of "
    "reciprocals: 1/leaky_relu(selu(x)) is {(1/λ)/x if x > 0; …}) forms c/y before h scales it: "
    "hardsigmoid(x)/leaky_relu(selu(x)) was inf at x = 2.78e−309 in float64 (true 1.71e308) and at 1.47e−39 in "
    "float32 (true 3.24e38), (1/λ)/x past the range where h = 1/2 brings it back; {c·h/y if …; …}, h moved into each "
    "branch, is the same function with the quotient formed once, other branches their value times h as before. Only "
    "for h without a pole or an unbounded function (inputs, numbers, polynomials, selects, σ, tanh, …), and applied "
    "after every other rule, which see the product as written",
    apply=_factor_into_quotient_branches, fired=lambda old, new: new != old)
_register(FACTOR_INTO_QUOTIENT_BRANCHES)
__all__ += ["FACTOR_INTO_QUOTIENT_BRANCHES"]


# ------------------------------------------------------------------ kink-side (session 34, h-kink34: a Huber loss
# with a learned δ, ∂δ = {0 if δ > |p − t|; |p − t| − δ}, was −8.9e−16 at p = 4.39179958690881, t = −4.813371251187944,
# δ = 9.205170838096755, where truly |p − t| < δ and ∂δ = 0, torch 0); tested in tests/test_kink34.py

_SIDE = {sp.StrictGreaterThan: 1, sp.GreaterThan: 1, sp.StrictLessThan: -1, sp.LessThan: -1}


def _kink_side_branch(value, cond, holds):
    """``value`` with each widened node in it that is ±(lhs − rhs) of the relation ``cond`` clamped to the sign that
    difference has where ``cond`` holds (``holds``) or fails: Max(w, 0) or Min(w, 0)."""
    side = _SIDE.get(type(cond))
    if side is None or not value.has(WidenedBase):
        return value
    difference = sp.expand(cond.lhs - cond.rhs)
    sign = side if holds else -side

    def clamp(node):
        if not isinstance(node, WidenedBase):
            return None
        body = sp.expand(node.expanded)
        for k in (1, -1):
            if body == k * difference:  # the branch's sign is k·sign here
                return sp.Max(node, 0, evaluate=False) if k * sign > 0 else sp.Min(node, 0, evaluate=False)
        return None

    return value.replace(lambda n: clamp(n) is not None, clamp)


def _kink_side_select(node):
    """A select whose branch is its condition's own difference, widened, with that branch kept to its side."""
    if not isinstance(node, sp.Piecewise) or not node.has(WidenedBase):
        return node
    pieces, after = [], None  # after: the one relation every later branch lies beyond
    for value, cond in node.args:
        if cond is sp.true and after is not None:
            value = _kink_side_branch(value, after, holds=False)
        elif cond is not sp.true:
            value = _kink_side_branch(value, cond, holds=True)
        after = cond if after is None and type(cond) in _SIDE else False
        pieces.append((value, cond))
    return sp.Piecewise(*pieces, evaluate=False) if pieces != list(node.args) else node


def _kink_side(expr):
    """Every select of ``expr`` as :func:`_kink_side_select` puts it, innermost first."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Piecewise) and expr.has(WidenedBase)):
        return expr
    return expr.replace(lambda n: isinstance(n, sp.Piecewise), _kink_side_select)


KINK_SIDE = Rule(
    "kink-side", "a select tests its condition on rounded numbers while the widen rule computes a branch exactly: "
    "where that branch is the condition's own difference (a Huber loss's ∂δ = {0 if δ > |p − t|; |p − t| − δ}), the "
    "two disagree within an ulp of the kink, the rounded |p − t| ≥ δ taking the outer branch where the exact "
    "|p − t| − δ < 0 (∂δ −8.9e−16 at p = 4.39179958690881, t = −4.813371251187944, δ = 9.205170838096755, true 0 as "
    "torch's); the branch clamped to its side of the kink (max(|p − t| − δ, 0)) is its exact value wherever the "
    "condition agrees and the kink's value, 0, where it does not",
    apply=_kink_side, fired=lambda old, new: new != old)
RULES = RULES[:RULES.index(WIDEN) + 1] + (KINK_SIDE,) + RULES[RULES.index(WIDEN) + 1:]  # on the widen rule's result
_BY_NAME[KINK_SIDE.name] = KINK_SIDE
__all__ += ["KINK_SIDE"]


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
    from .chains import shared_powers

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
    from .roots import SeriesBase

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
    apply=lambda e: sp.Tuple(*[_shared_powers(a) for a in e.args]), fired=lambda old, new: new != old)
__all__ += ["SHARED_POWERS", "PowerBound"]


# ------------------------------------------------------------------ long-product (issue 16, session 35, h-round35: a
# product of rounded functions rounds once a factor and once a multiplication, and the roundings add up past the bound
# of 4 ULP: ∂x of σ nested 5 deep 5.08 ULP in float64 at (2.997, −1.781), of a 2-layer net's squared error 4.41, of
# (gelu(x/y))^−2 4.15 at (−7.09e199, −7.09e199)); tested in tests/test_round35.py

# the count of a product's roundings (units of u = 2⁻⁵³, first order) from which it is widened whole: a relative error
# of ρ·u is ρ/2 to ρ ULP, and measured the worst of a few hundred random points is about a third of the count (the
# 2-layer net's ∂b₁, 12 roundings: 4.07 ULP; its ∂x, 13: 5.23; ∂w₂, 4: 1.91), so from 3 × the bound of 4 ULP
LONG_PRODUCT_ROUNDINGS = 12.0

# the count from which a rounded function's integer power g^k is widened whole: its roundings are one error repeated
# k times, not independent ones, and measured the worst of 400 random points is about half the count (tanh(x/y)⁴, 11:
# 5.74 ULP; tanh(x/y)⁻³ and erf(x/y)⁻³, 9: 4.66 and 4.32; σ(x/y)⁻², 10: 4.84; break38), so from 2 × the bound of 4 ULP
LONG_POWER_ROUNDINGS = 8.0


def _power_of_two_number(c) -> bool:
    return c.is_Rational and c.p & (c.p - 1) == 0 and c.q & (c.q - 1) == 0


def _roundings(e) -> float:
    """A bound of the relative error of ``e`` as the float64 kernel computes it, in units of u, to first order:
    doubleword._least_bound's count (a function's own error, a product's factors and multiplications), with a widened
    node one rounding and a select its worst value; a function of a widened value its own error alone."""
    from .doubleword import _least_bound

    if isinstance(e, WidenedBase):
        return 1.0
    if isinstance(e, sp.Piecewise):
        return max(_roundings(p.expr) for p in e.args)
    if e.is_Mul:
        factors = [a for a in e.args if not (a.is_number and (a == -1 or _power_of_two_number(abs(a))))]
        return sum(_roundings(a) for a in factors) + max(len(factors) - 1, 0)
    if e.is_Pow and e.exp.is_Integer:
        n = abs(int(e.exp))
        return n * _roundings(e.base) + n - 1 + (1 if e.exp < 0 else 0)
    if isinstance(e, (sp.tanh, sp.erf)) and e.args[0].has(softplus):
        # tanh's and erf's relative condition, |u·g′(u)/g(u)|, is at most 1: the argument's roundings pass through
        # whole at most, and softplus's 5 (np.logaddexp's own 1.8u, tanh(softplus(v)) 2.89u measured) are most of
        # mish's: f of mish(x/y)⁻², y²/(x²·tanh(softplus(x/y))²), counted 11 without them (4.16 ULP, torch 0.16)
        return _least_bound(e.func(sp.Dummy())) + _roundings(e.args[0])
    if e.has(WidenedBase):
        e = e.xreplace({w: sp.Dummy() for w in _atoms(e, WidenedBase)})
    return _least_bound(e)


# the functions a long product's rounded part may hold as factors (each to an integer power): those the double words
# compute directly (doubleword._Emitter.value), of an argument without log; softplus among them since h-softplus38
# (its double word is some 400 array operations, as the rounded-argument rule's comment says, but np.logaddexp's own
# 1.34u tripled by a cube was 4.05 ULP: ∂x of softplus(x/y)⁻² at (−7.39e305, −4.41e307), torch 0.95; NumPy float64
# softplus(x/y)⁻² costs about 10× main's for it); a select among the factors (a rule's branches: the focal loss's
# {1 if γ = 0; σ^γ}) or a variable power leaves the product as the rules made it
_LONG_PRODUCT_FACTORS = (sp.exp, sigmoid, softplus, sp.tanh, sp.erf, sp.erfc, ndtr)


def _long_product_factor(f) -> bool:
    """``f`` a number, an input or its integer power, or a function of :data:`_LONG_PRODUCT_FACTORS` or a widened
    node (to an integer power)."""
    base = f.base if f.is_Pow and f.exp.is_Integer else f
    if f.is_number or base.is_Symbol or isinstance(base, WidenedBase):
        return True
    if not (isinstance(base, _LONG_PRODUCT_FACTORS) or type(base).__name__ == "nexp"):
        return False
    # a softplus inside the argument only of tanh or erf (mish's tanh(softplus(u)), whose count _roundings takes): σ of
    # one (swish′'s σ(±2·softplus(β·x))) is left alone, two more double-word softplus for a count it does not take
    inner = sp.Tuple(*base.args)
    return not inner.has(sp.log) and (isinstance(base, (sp.tanh, sp.erf)) or not inner.has(softplus))


def _long_product(node, power: bool = False) -> bool:
    """``node`` a product of two inputs or more of :func:`_long_product_factor` factors, one a rounded function, whose
    roundings (:func:`_roundings`) reach LONG_PRODUCT_ROUNDINGS; with ``power``, a rounded function's integer power
    g^k (|k| ≥ 2) likewise, a product of |k| equal factors, from LONG_POWER_ROUNDINGS (σ(x/y)⁻³, 15 roundings, was 5 ULP
    at (−4.54e303, 4.19e303), torch 2; h-neg38; tanh(x/y)⁴, 11, 5.74 ULP at 400 points, torch 5.42; break38)."""
    if not (len(node.free_symbols) >= 2 and node.has(*_ROUNDED, softplus, ndtr, sp.erfc, WidenedBase)):
        return False
    if power:
        if not (node.is_Pow and node.exp.is_Integer and abs(node.exp) >= 2 and not node.base.is_Symbol
                and _long_product_factor(node)):
            return False
    elif not (node.is_Mul and all(_long_product_factor(f) for f in node.args)):
        return False
    # (a power of softplus from the products' count: its double words cost some 400 operations, unmeasured below it)
    low = LONG_POWER_ROUNDINGS if power and not node.has(softplus) else LONG_PRODUCT_ROUNDINGS
    return low <= _roundings(node) < math.inf


def _long_products(expr):
    """Every long product of ``expr`` widened (innermost first), outside the widened sums: a product inside one is
    computed in its double words already (widened apart, it left the sum no rounded function to be widened for: ∂y of
    σ nested 5 deep, a sum of such products that cancels, was 47 ULP)."""
    if not isinstance(expr, sp.Basic) or not expr.has(*_ROUNDED, softplus, ndtr, sp.erfc, WidenedBase):
        return expr
    products = _bottom_up(_bottom_up(expr, _long_product_sum), _widened_if_long)
    # (the powers outside the products' written forms too: those are sized as they are written, term by term, where the
    # widened form is not finite; a power widened there left ∂x of gelu(x/y)⁻² NaN for inf at x/y = −29.7)
    return _bottom_up(products, _widened_if_long_power, (WidenedBase, WrittenWhereNotFiniteBase))


def _widened_if_long_power(node):
    """A long power g^k (:func:`_long_product` with ``power``) outside the long products (widened first: a power
    widened inside one left it one rounding and no product to widen: ∂x of σ(x/y)⁻³, 3σ(−x/y)/(y·σ³), 0.93 → 2.99 ULP)
    as widen(g^k), taken as written where that is ±inf or NaN."""
    if not _long_product(node, power=True):
        return node
    return written_where_not_finite(widen(node), node)


def _odd_inputs(term) -> frozenset:
    """The inputs of ``term`` to an odd integer power among its factors (outside its functions' arguments): with the
    sign of its number and of its functions, they give the term's sign (y·F/x² follows y, y²·G/x³ follows x)."""
    return frozenset(b for b, p in term.as_powers_dict().items() if b.is_Symbol and p.is_Integer and p % 2 == 1)


def _common_monomial(terms):
    """Π s^(least exponent of s among ``terms``) over the inputs s that are factors of every term (integer powers
    outside the functions' arguments); 1 where there is none."""
    powers = [t.as_powers_dict() for t in terms]
    common = set.intersection(*[{b for b, p in d.items() if b.is_Symbol and p.is_Integer} for d in powers])
    return sp.Mul(*[s ** min(d[s] for d in powers) for s in sorted(common, key=sp.default_sort_key)])


def _long_product_sum(node):
    """A sum of long products (:func:`_long_product`) whose signs follow different inputs or numbers (∂x of
    gelu(x/y)⁻², −√2·y·e^(−v²/2)/(√π·x²·Φ³) − 2y²/(x³·Φ²), which cancels where gelu′(x/y) = Φ + v·φ = 0) as
    M·widen(Σ tᵢ/M), M the inputs' powers common to every term (y/x³ there: the widened sum, 2y/Φ² +
    √2·x·e^(−v²/2)/(√π·Φ³), is ∂y's own); widened term by term, each product was rounded once and the sum of the
    two rounded again (27 ULP at (−1.81e306, 2.32e306), torch 3.1); taken as that sum where it is not finite. The node as
    it is otherwise."""
    if not (node.is_Add and len(node.args) >= 2) or not all(_long_product(t) for t in node.args):
        return node
    if len({(_odd_inputs(t), t.could_extract_minus_sign()) for t in node.args}) < 2:
        return node  # the terms of one sign: nothing cancels
    # taken as the sum of the terms (each widened apart: the long-product rule's, below) where it is ±inf or NaN: past
    # the range (Φ(x/y)³ subnormal at x/y < −26) the terms' sizes decide which infinity it is
    return _widened_over_common_powers(node, node)


def _widened_over_common_powers(node, written):
    """The sum ``node`` as M·c·widen(S), M the inputs' powers common to its terms (:func:`_common_monomial`), c a
    power of two (with its sign) common to them, S the rest, with a leading term not negated (so that ∂x of
    gelu(x/y)⁻², −(y/x³)·f64(2y/Φ² + √2·x·e^(−v²/2)/(√π·Φ³)), shares ∂y's widened sum); taken as ``written`` where
    that is ±inf or NaN."""
    M = _common_monomial(node.args)
    c, rest = sp.Add(*[t / M for t in node.args]).as_content_primitive()
    if not _power_of_two_number(c):
        c, rest = sp.S.One, c * rest
    if rest.could_extract_minus_sign():
        c, rest = -c, -rest
    return written_where_not_finite(M * c * widen(rest), written)


def _widened_if_long(node):
    """A long product as widen(H)·R: H its factors that hold a rounded function and its numbers, R the inputs and
    their powers, a few exact or once-rounded factors (the 2-layer net's ∂b₁, ∂w₁, ∂x share H, 8·σ(2v)·σ(−2v)·(…),
    one double-word computation, where three widened whole took 3.6× the kernel's time); the node as it is where H
    is one function (its own rounding is all a double word would take away)."""
    if not _long_product(node):
        return node
    rounded = (*_ROUNDED, softplus, ndtr, sp.erfc, WidenedBase)
    held = [a for a in node.args if a.is_number or a.has(*rounded)]
    body = sp.Mul(*held)
    if not (body.is_Mul or body.is_Pow):
        return node
    # H's sign outside it (exact): ∂x and ∂y of g(x/y)ᵏ, −k·g′·gᵏ⁻¹/y and k·x·g′·gᵏ⁻¹/y², then share one widened H
    # and its double words (softplus(x/y)⁻²: three double-word softplus per element where two do; h-cost39)
    sign = -1 if body.could_extract_minus_sign() else 1
    widened = sign * widen(sign * body) * sp.Mul(*[a for a in node.args if not (a.is_number or a.has(*rounded))])
    from .spans import product_stays_in_range  # a product of bounded factors and one input leaves the range in any
    if product_stays_in_range(node):  # order only where it does as written: nothing to take again (test_search33)
        return widened
    return written_where_not_finite(widened, node)


class WrittenWhereNotFiniteBase(sp.Function):
    """WrittenWhereNotFiniteBase(computed, written): a product computed as ``computed`` and taken as ``written`` where
    that is ±inf or NaN and ``written`` is finite: the long-product rule's widen(H)·R, whose H (numbers and rounded
    functions) overflows, or is inf·0, before the inputs R scale it back, and the product as it was (session 35
    review, h-mend35: the 2-layer net's ∂b₁ at b₂ = 1.7e308, w₂ = 1e−310 inf for 0.034; ∂x of gelu(x/y)^−2 at
    (−3, 1e−300) NaN for +inf). Both arguments go on through the later rules (shared-powers writes the written
    y²·x⁻²·Φ⁻² as (y/(x·Φ))²). The printers take it again as they do their own products (NumPy's and Triton's
    ``_taken_again``); its value, text and derivative are the computed one's."""

    nargs = 2

    def _eval_evalf(self, prec):
        return self.args[0]._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_derivative(self, s):
        return self.args[0].diff(s)

    def _symnet_text(self, printer):
        return printer._print(self.args[0])

    def _latex(self, printer, exp=None):
        body = printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)

    @staticmethod
    def _imp_(computed, written):  # lambdify's hook (mpmath numbers or NumPy arrays): the computed value
        return computed


def written_where_not_finite(computed: sp.Expr, written: sp.Expr) -> sp.Expr:
    """``computed`` taken as ``written`` where it is not finite (:class:`WrittenWhereNotFiniteBase`)."""
    return WrittenWhereNotFiniteBase(computed, written)


LONG_PRODUCT = Rule(
    "long-product", "a product of rounded functions rounds once for each factor and once for each multiplication, "
    "and the roundings add up: ∂x of σ nested 5 deep, y⁵·Π σ(vᵢ)σ(−vᵢ), was 5.08 ULP in float64 at (2.997, −1.781) "
    "(torch 0.92), a 2-layer net's squared error's ∂x, 8·w₁·w₂·σ(2v)·σ(−2v)·(w₂·tanh v + b₂ − y), 4.41 (torch 204); "
    "where a product's count of roundings (first order, in units of 2⁻⁵³) reaches 12, three times the bound of 4 ULP, "
    "it is computed in double-word arithmetic (hi + lo, about 106 bits) and rounded once in a float64 kernel, in "
    "float64 in a float32 one, as the widen rule's sums are; taken as written where that is ±inf or NaN (its "
    "double-word part overflowed, or was inf·0, before the inputs scaled it back: the net's ∂b₁ at b₂ = 1.7e308, "
    "w₂ = 1e−310 was inf for 0.034); a sum of such products whose signs follow different inputs, which cancels, "
    "as one widened sum times the inputs' powers common to its terms (∂x of gelu(x/y)⁻², −√2·y·e^(−v²/2)/(√π·x²·Φ³) "
    "− 2y²/(x³·Φ²) = −(y/x³)·(2y/Φ² + √2·x·e^(−v²/2)/(√π·Φ³)), is 0 at gelu′'s root x/y = −0.75179: each product "
    "rounded once and their sum again was 3,020 ULP at (−0.057713, 0.076785), torch 2,153; 0.58 now), taken as the sum of "
    "the products where not finite; a rounded function's integer power g^k (|k| ≥ 2) of two inputs or more, outside "
    "those products, likewise widened whole where its count reaches 12 (σ(x/y)⁻³, 15 roundings, was 5 ULP at "
    "(−4.54e303, 4.19e303), torch 2), taken as written where not finite; softplus among the factors, and a softplus "
    "inside tanh's or erf's argument counted (their relative condition is at most 1: mish(x/y)⁻², y²/(x²·tanh("
    "softplus(x/y))²), counted 11 without it, was 4.16 ULP at (−8.75, 7.24), torch 0.16; ∂x of softplus(x/y)⁻², "
    "np.logaddexp's own rounding tripled, 4.05 ULP at (−7.39e305, −4.41e307), torch 0.95)",
    apply=_long_products, fired=lambda old, new: new != old)
RULES = RULES[:RULES.index(KINK_SIDE) + 1] + (LONG_PRODUCT,) + RULES[RULES.index(KINK_SIDE) + 1:]  # after widen's
_BY_NAME[LONG_PRODUCT.name] = LONG_PRODUCT
__all__ += ["LONG_PRODUCT", "WrittenWhereNotFiniteBase"]


# ------------------------------------------------------------------ rational-product (issue 16, session 41: a product of
# inputs and a power of a polynomial in them, past the bound and worse than torch); tested in tests/test_worseb41.py

def _polynomial_term(term) -> bool:
    """``term`` a number times inputs and their whole powers (a²·x², 2·x, 1)."""
    coeff, rest = term.as_coeff_Mul()
    return all(f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp >= 1)
               for f in sp.Mul.make_args(rest)) if rest != 1 else coeff.is_Rational


def _rational_long_product(node) -> bool:
    """``node`` a product of two inputs or more of numbers, inputs' whole powers and at least one power P^k (|k| ≥ 2)
    of a sum P of monomials in them (:func:`_polynomial_term`), free of rounded functions (the long-product rule's), whose
    roundings (:func:`_roundings`) reach LONG_POWER_ROUNDINGS."""
    if not (node.is_Mul and len(node.free_symbols) >= 2) or node.has(*_ROUNDED, softplus, ndtr, sp.erfc, WidenedBase,
                                                                     WrittenWhereNotFiniteBase, sp.Piecewise):
        return False
    powers = 0
    for f in node.args:
        base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if f.is_number or base.is_Symbol and k.is_Integer:
            continue
        if not (base.is_Add and k.is_Integer and abs(k) >= 2 and all(_polynomial_term(t) for t in base.args)):
            return False
        powers += 1
    return powers > 0 and LONG_POWER_ROUNDINGS <= _roundings(node) < math.inf


def _total_degree(node) -> int:
    """The largest total degree in the inputs of a power or product a double word of the rational product ``node``
    forms: Σ |k|·deg P over its factors P^k (an input's degree 1, a number's 0)."""
    degree = 0
    for f in sp.Mul.make_args(node):
        base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if not f.is_number:
            degree += abs(int(k)) * sp.Poly(base, *sorted(base.free_symbols, key=sp.default_sort_key)).total_degree()
    return degree


def _rational_products(expr):
    """``expr`` widened whole, its sign outside, where it is a rational long product (:func:`_rational_long_product`)
    and no input is ±0, taken as written where that is ±inf or NaN; as it is otherwise. As written where an input is
    ±0: exact there, torch's signed zero (the double words' sums lose a −0: ∂a at (−0, 0.5) was −0, torch +0). Widened with far_bound B = ⌊960/D⌋ (D its
    :func:`_total_degree`): where each input is 0 or within 2^±B every power and product its double words form is
    within 2^±960, where a double word's lo part is kept; where one is past it (x³ underflowed in ∂a of x/(1 + (a·x)²)
    at (−5.1e142, 3.7e−135): 0 for a normal number) the scaled double words take it, every input scaled to [1/2, 1)
    by its exponent (session 42; the shared-powers rule's far forms before: 4.13 ULP at (−6.4e42, −1.8e−43), torch
    0.13). An output only, not a term of a sum: a sum's own double words take its terms exactly (the widen-quotients
    rule's; ∂x of x/(1 + (a·x)²), a term widened apart inside it, went from within 1 ULP to 416)."""
    if not (isinstance(expr, sp.Basic) and _rational_long_product(expr)):
        return expr
    sign = -1 if expr.could_extract_minus_sign() else 1
    zero = sp.Or(*[sp.Eq(v, 0) for v in sorted(expr.free_symbols, key=sp.default_sort_key)])
    return sp.Piecewise((expr, zero),
                        (written_where_not_finite(sign * widen(sign * expr, far_bound=960 // _total_degree(expr)), expr),
                         True))


RATIONAL_PRODUCT = Rule(
    "rational-product", "a product of inputs and a power of a sum of monomials in them rounds once for each factor, "
    "each multiplication and each term of the sum, and the power multiplies the sum's roundings (∂a of the Cauchy-like "
    "x/(1 + (a·x)²), −2·a·x³/(1 + a²·x²)², was 4.78 ULP in float64 at a = x = −32.27, torch 2.78, and worse than "
    "torch's and past 1 ULP at 486 of 2001 points); where the count (first order, in units of 2⁻⁵³) reaches 8 it is "
    "computed in double-word arithmetic (hi + lo, about 106 bits) and rounded once in a float64 kernel, in float64 in "
    "a float32 one, as the long-product rule's products are; where an input is past 2^±⌊960/D⌋ (D the product's "
    "total degree, 12 for that ∂a: within it every power its double words form stays within 2^±960, where a double "
    "word's lo part is kept; beyond, x³ underflowed: 0 for a normal number) in scaled double words, (hi + lo)·2^−k, "
    "each input scaled to [1/2, 1) by its exponent (exact), products adding the k and sums aligning them, rounded "
    "once (the shared-powers rule's far forms there were worse than torch at 109 of 400 points, 4.13 ULP at "
    "(−6.4e42, −1.8e−43), torch 0.13); taken as written where that is ±inf or NaN, and where an input is ±0 (exact "
    "there: the written signed zero, torch's; the double words' sums lose a −0); an output only, not a term of a "
    "sum (a sum's double words take its terms exactly)",
    apply=_rational_products, fired=lambda old, new: new != old)
RULES = RULES[:RULES.index(LONG_PRODUCT) + 1] + (RATIONAL_PRODUCT,) + RULES[RULES.index(LONG_PRODUCT) + 1:]
_BY_NAME[RATIONAL_PRODUCT.name] = RATIONAL_PRODUCT
__all__ += ["RATIONAL_PRODUCT"]


# ------------------------------------------------------------------ log1p-entropy (session 41): (1 + u)·log1p(u) − u,
# the balanced L1 loss α/b·(b|x| + 1)·log(b|x| + 1) − α|x|, which cancels near u = 0 (its value u²/2 − u³/6 + …);
# tested in tests/test_loss41.py

# terms of the series: (n − 1)/n! of the last one (n = 20) is 1.5e−17 < 2⁻⁵⁵, and |L| < 1 there
_LOG1P_ENTROPY_TERMS = 20


def _log1p_entropy_series(L):
    """h(L) = 1 + e^L·(L − 1) = Σ_{n≥2} (n − 1)·Lⁿ/n! (the exponential series multiplied out), as L²·Q(L) in Horner
    form up to n = _LOG1P_ENTROPY_TERMS."""
    q = sp.S.Zero
    for n in range(_LOG1P_ENTROPY_TERMS, 1, -1):
        q = q * L + sp.Rational(n - 1, sp.factorial(n))
    return L ** 2 * q


def _log1p_entropy_form(u):
    """(1 + u)·log1p(u) − u, computed from L = log1p(u) (so 1 + u = e^L, and the value is h(L) = 1 + e^L·(L − 1)):
    the series of h where |L| < 1, 1 + (1 + u)·(L − 1) (two positive terms) where L ≥ 1, as written below −1."""
    L = log1p(u)
    return sp.Piecewise((_log1p_entropy_series(L), sp.Abs(L) < 1), (1 + (1 + u) * (L - 1), L >= 1),
                        ((1 + u) * L - u, True))


def _expm1_expanded(e):
    """``e`` expanded, expm1(a) as e^a − 1 (log1p-entropy's exact comparisons; not the hypot-slope rule's _plain)."""
    return sp.expand(e.replace(expm1, lambda a: sp.exp(a) - 1))


def _log1p_entropy(node):
    """k·(1 + u)·log1p(u) beside −k·u in a sum (either as one term of it, or as the rest of the sum) →
    k·((1 + u)·log1p(u) − u) in :func:`_log1p_entropy_form`; log(1 + u) is log1p(u) here."""
    if not node.is_Add:
        return None
    for t in node.args:
        factors = sp.Mul.make_args(t)
        for F in factors:
            if isinstance(F, log1p):
                u = F.args[0]
            elif isinstance(F, sp.log) and F.args[0].is_Add and sp.S.One in F.args[0].args:
                u = F.args[0] - 1
            else:
                continue
            if not u.free_symbols:
                continue
            for g in factors:
                if g is F or not g.is_Add or _expm1_expanded(g - 1 - u) != 0:
                    continue
                k = sp.Mul(*[f for f in factors if f is not F and f is not g])
                rest = [s for s in node.args if s is not t]
                ku = _expm1_expanded(k * u)
                gone = next(([s] for s in rest if _expm1_expanded(s + k * u) == 0), None)
                if gone is None and _expm1_expanded(sp.Add(*rest)) == -ku:
                    gone = rest
                if gone is None:
                    continue
                kept = sp.Add(*[s for s in rest if s not in gone])
                return _Final(_Fired(kept + k * _log1p_entropy_form(u), ["log1p-entropy"]))
    return None


LOG1P_ENTROPY = Rule(
    "log1p-entropy", "(1 + u)·log1p(u) − u cancels near u = 0, where it is u²/2 − u³/6 + … (the balanced L1 loss "
    "α/b·(b|x| + 1)·log(b|x| + 1) − α|x|: 4.771353876226037e−12 for 4.7713538762766116e−12 at x = 1e−6, 6.26e4 ULP "
    "in float64, torch 3.12e9; 8.06e3 in float32); with L = log1p(u), 1 + u = e^L exactly, so the value is "
    "h(L) = 1 + e^L·(L − 1) = Σ_{n≥2} (n − 1)·Lⁿ/n! (e^L·(L − 1) = Σ_n Lⁿ/(n − 1)! − Σ_n Lⁿ/n!): that series, 20 "
    "terms, where |L| < 1 (one sign where L > 0; the last term < 2⁻⁵⁵), 1 + (1 + u)·(L − 1), two positive terms, where "
    "L ≥ 1, as written below L = −1; a constant factor k of k·(1 + u)·log1p(u) beside −k·u is kept outside",
    local=_log1p_entropy)
_register(LOG1P_ENTROPY)
__all__ += ["LOG1P_ENTROPY"]


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
    the inputs scaled by a power of two); as it is otherwise."""
    def one(e):
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
        return _homogeneous_quotient(e, monomial=True)

    if isinstance(expr, sp.Piecewise):
        branches = [(one(e), c) for e, c in expr.args]
        if all(b is None for b, _ in branches):
            return expr
        return sp.Piecewise(*[(e if b is None else b, c) for (b, c), (e, _) in zip(branches, expr.args)])
    new = one(expr)
    return expr if new is None else new


CANCELLING_POLYNOMIAL = Rule(
    "cancelling-polynomial", "a quotient of homogeneous polynomials whose written sums cancel, over a monomial "
    "(Tukey's biweight c²/6·(1 − (1 − (r/c)²)³) where |r| < c: its 1 − (1 − u)³, u = (r/c)², cancels at small u, f "
    "4.999995000069349e−07 for 4.9999950000016669e−7 at c = 1, r = 1e−3, 6.39e4 ULP in float64, torch 2.39e5; its ∂c, "
    "c/3·(1 − (1 − u)³) − r²·(1 − u)²/c, cancels its leading terms r²/c: 6.7e10 ULP, torch 2.5e11), in a select's "
    "branch or alone: over one denominator and factored (r²·(3c⁴ − 3c²r² + r⁴)/(6c⁴), r⁴·(3c² − 2r²)/(3c⁵): the "
    "terms that cancel cancel symbolically), widened and at the inputs scaled by a power of two as the "
    "homogeneous-quotient rule writes it (exact: R(x) = s^d·R(x/s))", apply=_cancelling_polynomial,
    fired=lambda old, new: new != old, before=True)
_register(CANCELLING_POLYNOMIAL)
# before reciprocal-margin, the first whole-expression rule that rewrites such a quotient (its scaled c + k·P)
RULES = tuple(r for r in RULES if r is not CANCELLING_POLYNOMIAL)
RULES = RULES[:RULES.index(RECIPROCAL_MARGIN)] + (CANCELLING_POLYNOMIAL,) + RULES[RULES.index(RECIPROCAL_MARGIN):]
__all__ += ["CANCELLING_POLYNOMIAL"]


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
_register(SHIFTED_DIFFERENCE)
_LOCAL = (_shifted_difference,) + _LOCAL[:-1]  # first: collect and sigmoid-target would take the pair apart
__all__ += ["SHIFTED_DIFFERENCE"]


# ------------------------------------------------------------------ input-infinite-limit (issue 16 point 2: where a
# limit exists the generated code returns it); tested in tests/test_inf41.py

_DBL_MAX = sp.Float(1.7976931348623157e308, 17)  # x > it: x = +inf alone, in float32 (compared in float64) and float64
# finite values the other inputs take in the probe that decides whether a form needs its limit (NaN or ±inf at one)
_OTHER_SAMPLES = (1.0, -2.5, 1e-30, -1e30, 0.0, 3.7, -1e-300, 1e300, 1.7976931348623157e308,
                  -3.4028234663852886e38)


def _float_probe_inputs(written, inputs):
    """``written`` printed by the NumPy expression printer (as :func:`symnet.codegen.roots._float_probe` does for one
    input) as a function of one array per input, in the order of ``inputs``."""
    from ..registry import NUMPY_HELPERS, numpy_helper_closure
    from .backends.numpy.printer import PRINTER_HELPERS, NumpyExpressionPrinter
    from .doubleword import generated_last
    import numpy as np

    names = {s: f"v{i}" for i, s in enumerate(inputs)}  # printed under these names (not substituted: SymPy would
    # rebuild every select above them, each condition evaluated again)
    assignments, (result,) = sp.cse([written], symbols=sp.numbered_symbols("_t", exclude=list(inputs)), order="none")
    helpers: set = set()
    printer = NumpyExpressionPrinter(helpers, names, dtype="_dtype")
    lines = [f"    {t.name} = {printer.doprint(a)}" for t, a in assignments] + [f"    return {printer.doprint(result)}"]
    helpers |= numpy_helper_closure(helpers)
    texts = generated_last({**PRINTER_HELPERS, **NUMPY_HELPERS}, helpers, "numpy")
    arguments = ", ".join(names.values())
    source = "\n\n".join(["import numpy as np"] + texts +
                         [f"def probe({arguments}):\n    _dtype = v0.dtype\n" + "\n".join(lines)])
    namespace: dict = {}
    exec(compile(source, "<symnet input-infinite-limit probe>", "exec"), namespace)  # noqa: S102 - generated here
    fn = namespace["probe"]

    def run(columns):
        import warnings
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = np.broadcast_to(fn(*columns), columns[0].shape)
        return np.asarray(out, dtype=np.float64)
    return run


# functions of the other inputs a limit may hold as coefficients (finite at every finite argument), and those of x
# the walk resolves by the sign their argument takes toward x = ±inf
_FINITE_FUNCTIONS = (sp.Abs, sp.sign, relu, sp.Heaviside, sp.Max, sp.Min, sigmoid, sp.tanh, sp.sin, sp.cos, sp.erf)
_SIGN_FUNCTIONS = (sp.Abs, sp.sign, relu, sp.Heaviside)


class _NoRationalLimit(Exception):
    """The expression is not a rational function of x toward ±inf that the walk below can prove a limit of."""


class _UndecidedCondition(Exception):
    """A select's condition free of x that the walk needs (raised with it): the limit is taken on either side of it."""

    def __init__(self, condition):
        super().__init__(condition)
        self.condition = condition


class _TowardInfinity:
    """The limit of an expression at its input ``x`` = ±inf, exact, where the expression is a rational function of x
    there: equal to P/Q (polynomials in x with coefficients polynomial in the other inputs) for every x beyond
    some bound toward that infinity, the other inputs finite.

    The structure is checked first, without algebra (:meth:`_check`: the structural pre-filter): every node holding
    x a sum, a product, an integer power, x itself, |p|, sign p, relu p, Heaviside p, Max, Min, a select (its
    conditions relations), or a binade reciprocal; every part free of x a polynomial in the inputs, the reciprocal of
    one, or finite at every finite input (:data:`_FINITE_FUNCTIONS` of polynomials, real numbers), which is a
    generator of its own (a Dummy). Then P and Q are formed in the polynomial ring over x, the other inputs and those
    generators (:meth:`_form`, unreduced: a common factor changes neither degrees nor the leading coefficients'
    ratio). A sign-dependent node of p = P/Q takes p's eventual sign, sign(lc P)·sign(lc Q)·sign^(deg P + deg Q),
    where each leading coefficient (in x) is a number times powers of generators of known sign (a β, or an even
    power); a reciprocal's base must be eventually nonzero: its numerator's leading coefficient a number times
    powers of generators, which must then be nonzero (:attr:`nonzero`; likewise the reciprocal of a part free of x:
    a monomial). A condition free of x splits the walk: the limit on each side (:class:`_UndecidedCondition`).

    A binade reciprocal (the power of 2 that scales a homogeneous form, x and y by 2⁻ᵏ in b·W(x·b, y·b)) is a
    positive generator β of its own that no sign may depend on, and P/Q must not depend on it (P(β)·Q(1) = P(1)·Q(β)):
    then the form is the same function at every β > 0, the one the code takes among them."""

    def __init__(self, expr, x, others):
        self.expr, self.x = expr, x
        self.opaque: dict = {}  # an x-free part that is not a polynomial → its Dummy
        self.scales: dict = {}  # a binade reciprocal → its positive Dummy β
        self.quotient = False  # a reciprocal of something holding x seen (inf/inf needs one)
        self.sums: dict = {}  # a widened node → its sum (built once)
        self._check(expr, set())
        if not self.quotient:  # a polynomial in x: its limit ±inf, or it is free of x
            raise _NoRationalLimit
        self.ring = sp.polys.rings.PolyRing([x, *others, *self.opaque.values(), *self.scales.values()], sp.QQ)
        self.generator = dict(zip(self.ring.symbols, self.ring.gens))
        self.betas = [self.generator[b] for b in self.scales.values()]

    # -------------------------------------------------------------- the structure (no algebra)
    def _check(self, e, seen):
        if e in seen:
            return
        seen.add(e)
        if not e.has(self.x):
            return self._check_coefficient(e)
        if e == self.x:
            return
        if isinstance(e, binade_reciprocal):
            self.scales.setdefault(e, sp.Dummy("beta", positive=True))
        elif isinstance(e, WidenedBase):  # its sum, computed more precisely
            self._check(self.sum_of(e), seen)
        elif e.is_Pow:
            if not e.exp.is_Integer:
                raise _NoRationalLimit
            self.quotient |= bool(e.exp < 0)
            self._check(e.base, seen)
        elif isinstance(e, sp.Piecewise):
            for branch, condition in e.args:
                self._check(branch, seen)
                self._check_condition(condition, seen)
        elif isinstance(e, WrittenWhereNotFiniteBase):  # its two arguments are the same function
            self._check(e.args[0], seen)
        elif e.is_Add or e.is_Mul or isinstance(e, (sp.UnevaluatedExpr, sp.Max, sp.Min) + _SIGN_FUNCTIONS):
            for a in e.args:
                self._check(a, seen)
        else:
            raise _NoRationalLimit

    def sum_of(self, e):
        if e not in self.sums:
            self.sums[e] = e.expanded
        return self.sums[e]

    def _check_condition(self, c, seen):
        if not c.has(self.x):
            return
        if isinstance(c, (sp.And, sp.Or, sp.Not)):
            for a in c.args:
                self._check_condition(a, seen)
        elif isinstance(c, (sp.Eq, sp.Ne, sp.StrictGreaterThan, sp.GreaterThan, sp.StrictLessThan, sp.LessThan)):
            self._check(c.lhs, seen)
            self._check(c.rhs, seen)
        else:
            raise _NoRationalLimit

    def _check_coefficient(self, e):
        if e.is_Symbol or e.is_Rational or e.is_Float:
            return
        if isinstance(e, sp.UnevaluatedExpr):
            return self._check_coefficient(e.args[0])
        if isinstance(e, binade_reciprocal):
            self.scales.setdefault(e, sp.Dummy("beta", positive=True))
            return
        if isinstance(e, WidenedBase):
            return self._check_coefficient(self.sum_of(e))
        if e.is_Add or e.is_Mul or e.is_Pow and e.exp.is_Integer:
            for a in e.args:
                self._check_coefficient(a)
            return
        if not self._finite(e):
            raise _NoRationalLimit
        self.opaque.setdefault(e, sp.Dummy("g", real=True))

    def _finite(self, e) -> bool:
        """``e`` free of x is finite at every finite input."""
        if e.is_Symbol or e.is_Rational or e.is_Float:
            return True
        if isinstance(e, sp.UnevaluatedExpr):
            return self._finite(e.args[0])
        if e.is_number:
            return bool(e.is_real and e.is_finite)
        if e.is_Add or e.is_Mul or isinstance(e, _FINITE_FUNCTIONS):
            return all(self._finite(a) for a in e.args)
        if e.is_Pow:
            return bool(e.exp.is_Integer and e.exp >= 0) and self._finite(e.base)
        if isinstance(e, sp.Piecewise):
            return all(self._finite(b) for b, _ in e.args)
        return False

    # -------------------------------------------------------------- P/Q toward one infinity
    def limit(self, sign):
        """The limit at x = sign·inf and the generators it needs nonzero: 0 where deg P < deg Q (−0 where the
        values come from below, its sign known), lc(P)/lc(Q) where equal (a number, or a number times at most 3
        factors), a select over the conditions free of x where the walk split on them. Raises where the limit is
        ±inf or not proved."""
        nonzero: set = set()
        return self._limit_under(sign, {}, nonzero), nonzero

    def _limit_under(self, sign, assumed, nonzero):
        walk = _Toward(self, sign, assumed)
        try:
            n, d = walk.form(self.expr)
        except _UndecidedCondition as split:
            c = split.condition
            if c in assumed or len(assumed) >= 4:
                raise _NoRationalLimit from None
            held = self._limit_under(sign, {**assumed, c: True}, nonzero)
            other = self._limit_under(sign, {**assumed, c: False}, nonzero)
            return held if held == other else sp.Piecewise((held, c), (other, True))
        nonzero |= walk.nonzero
        if self.betas:  # the same function at every β: P(β)·Q(1) = P(1)·Q(β)
            n1, d1 = n, d
            for b in self.betas:
                n1, d1 = n1.subs(b, 1), d1.subs(b, 1)
            if n * d1 != n1 * d:
                raise _NoRationalLimit
            n, d = n1, d1
        x = self.generator[self.x]
        deg_n, deg_d = n.degree(x), d.degree(x)
        lead_d = d.coeff_wrt(x, deg_d)
        walk.need_monomial(lead_d)
        nonzero |= walk.nonzero
        if deg_n > deg_d:
            raise _NoRationalLimit  # ±inf: left as computed
        if deg_n == deg_d:
            return self._cheap(sp.cancel(n.coeff_wrt(x, deg_n).as_expr() / lead_d.as_expr()))
        if n.is_zero:
            return sp.S.Zero
        return self._signed_zero(walk, n.coeff_wrt(x, deg_n), lead_d, sign ** ((deg_d - deg_n) % 2))

    def _signed_zero(self, walk, lead_n, lead_d, s):
        """0 with the sign P/Q takes toward the infinity, sign(lc P)·sign(lc Q)·``s``, where the leading coefficients'
        signs are known (−0 from below); +0 where that sign is the others' (the printers take a product with −0.0's
        stand-in, −1e−400, as the tiny number it is: −1e−400·y at y = 1.8e308 was −1.8e−92). A −0 whose sign needs
        generators of lc(P) nonzero (lc(P) = −y²) is a select: −0 where they are, +0 where one is 0 (there lc(P)
        vanishes and a lower term of P gives the sign: (1 − x·y²)/(x² + 1) at x = +inf, y = 0 was −0 for +0)."""
        required = set(walk.nonzero)  # lc(Q)'s generators: nonzero wherever the limit is taken
        try:
            s *= walk.monomial_sign(lead_n) * walk.monomial_sign(lead_d)
        except _NoRationalLimit:
            return sp.S.Zero
        if s > 0:
            return sp.S.Zero
        needed = sorted(walk.nonzero - required, key=sp.default_sort_key)
        walk.nonzero = required  # lc(P)'s generators are the select's own condition, not the limit's
        if not needed:
            return _NEGATIVE_ZERO
        opaque = {g: e for e, g in self.opaque.items()}
        return sp.Piecewise((_NEGATIVE_ZERO, sp.And(*[sp.Ne(opaque.get(g, g), 0) for g in needed])), (sp.S.Zero, True))

    def _cheap(self, limit):
        """``limit`` where it is a number or a number times at most 3 factors (inputs, generators or their
        reciprocals): what the select computes, in at most 3 roundings; with every generator its part again."""
        coefficient, rest = limit.as_coeff_Mul()
        factors = sp.Mul.make_args(rest) if rest != 1 else ()
        if not coefficient.is_Rational or sum(abs(int(f.exp)) if f.is_Pow else 1 for f in factors) > 3 or not all(
                (f.base if f.is_Pow else f).is_Symbol for f in factors):
            raise _NoRationalLimit
        return limit.xreplace({g: e for e, g in self.opaque.items()})


class _Toward:
    """One walk of :class:`_TowardInfinity` toward sign·inf, with the conditions free of x ``assumed`` (True or
    False): every node's P/Q as two polynomials of the ring, and the generators they need nonzero."""

    def __init__(self, limit: _TowardInfinity, sign, assumed):
        self.of, self.sign, self.assumed = limit, sign, assumed
        self.x = limit.generator[limit.x]
        self.nonzero: set = set()
        self.memo: dict = {}

    def form(self, e):
        done = self.memo.get(e)
        if done is None:
            done = self.memo[e] = self._form(e)
        return done

    def _form(self, e):
        ring, of = self.of.ring, self.of
        if e.is_Symbol:
            if e not in of.generator:  # no input of the kernel (a widened body's own name)
                raise _NoRationalLimit
            return of.generator[e], ring.one
        if e.is_Rational or e.is_Float:
            return ring.ground_new(sp.QQ.from_sympy(sp.Rational(e))), ring.one  # a Float: its binary value, exactly
        if isinstance(e, sp.UnevaluatedExpr) or isinstance(e, WrittenWhereNotFiniteBase):
            return self.form(e.args[0])
        if isinstance(e, WidenedBase):
            return self.form(self.of.sum_of(e))
        if isinstance(e, binade_reciprocal):
            return of.generator[of.scales[e]], ring.one
        if e in of.opaque:
            return of.generator[of.opaque[e]], ring.one
        if e.is_Add:
            n, d = ring.zero, ring.one
            for a in e.args:
                an, ad = self.form(a)
                n, d = (n + an, d) if ad == d else (n * ad + an * d, d * ad)
            return n, d
        if e.is_Mul:
            n, d = ring.one, ring.one
            for a in e.args:
                an, ad = self.form(a)
                n, d = n * an, d * ad
            return n, d
        if e.is_Pow:
            n, d = self.form(e.base)
            k = int(e.exp)
            if k < 0:
                self.need_monomial(n.coeff_wrt(self.x, n.degree(self.x)) if not n.is_zero else n)
                n, d, k = d, n, -k
            return n ** k, d ** k
        if isinstance(e, _SIGN_FUNCTIONS):
            n, d = self.form(e.args[0])
            s = self.eventual_sign(n, d)
            if isinstance(e, sp.Abs):
                return (n, d) if s >= 0 else (-n, d)
            if isinstance(e, sp.sign):
                return ring(s), ring.one
            if s == 0 and isinstance(e, sp.Heaviside):  # Heaviside(0) as SymPy holds it: not taken
                raise _NoRationalLimit
            if isinstance(e, relu):
                return (n, d) if s > 0 else (ring.zero, ring.one)
            return (ring.one if s > 0 else ring.zero), ring.one
        if isinstance(e, (sp.Max, sp.Min)):
            best = None
            for a in e.args:
                n, d = self.form(a)
                if best is None or (self.eventual_sign(n * best[1] - best[0] * d, d * best[1]) > 0) == isinstance(
                        e, sp.Max):
                    best = (n, d)
            return best
        if isinstance(e, sp.Piecewise):
            for branch, condition in e.args:
                if self.truth(condition):
                    return self.form(branch)
            raise _NoRationalLimit  # no branch for some values of the others
        raise _NoRationalLimit

    def need_monomial(self, c):
        """``c`` (free of x) a nonzero number times powers of generators, which must then be nonzero (a β is)."""
        if c.is_zero or len(c.terms()) != 1:
            raise _NoRationalLimit
        ((exponents, _),) = c.terms()
        for g, k in zip(self.of.ring.gens, exponents):
            if k and g not in self.of.betas:
                self.nonzero.add(g.as_expr())

    def monomial_sign(self, c) -> int:
        """The sign of ``c``, a nonzero number times powers of generators each of a known sign (a β, or an even
        power of a generator that must then be nonzero)."""
        self.need_monomial(c)
        ((exponents, coefficient),) = c.terms()
        if any(k % 2 and g not in self.of.betas for g, k in zip(self.of.ring.gens, exponents)):
            raise _NoRationalLimit
        return 1 if coefficient > 0 else -1

    def eventual_sign(self, n, d) -> int:
        """The sign of n/d for every x beyond some bound toward the infinity (0: n is 0); no β in it."""
        if n.is_zero:
            return 0
        if any(n.degree(b) > 0 or d.degree(b) > 0 for b in self.of.betas):  # β moves with x: no sign from it
            raise _NoRationalLimit
        deg_n, deg_d = n.degree(self.x), d.degree(self.x)
        s = self.monomial_sign(n.coeff_wrt(self.x, deg_n)) * self.monomial_sign(d.coeff_wrt(self.x, deg_d))
        return s * self.sign ** ((deg_n + deg_d) % 2)

    def truth(self, c) -> bool:
        """A select's condition for every x beyond some bound (one free of x as assumed, else it is the split)."""
        if c is sp.true or c is sp.false:
            return bool(c)
        if not c.has(self.of.x):
            if c not in self.assumed:
                raise _UndecidedCondition(c)
            return self.assumed[c]
        if isinstance(c, sp.Not):
            return not self.truth(c.args[0])
        if isinstance(c, (sp.And, sp.Or)):  # the parts holding x first: they may decide it alone
            parts = sorted(c.args, key=lambda a: not a.has(self.of.x))
            return all(self.truth(a) for a in parts) if isinstance(c, sp.And) else any(self.truth(a) for a in parts)
        ln, ld = self.form(c.lhs)
        rn, rd = self.form(c.rhs)
        s = self.eventual_sign(ln * rd - rn * ld, ld * rd)
        return {"==": s == 0, "!=": s != 0, ">": s > 0, ">=": s >= 0, "<": s < 0, "<=": s <= 0}[c.rel_op]


@functools.lru_cache(maxsize=256)
def _input_infinite_limits(expr):
    """f of two to six inputs, a rational function of an input x toward x = +inf or −inf (:class:`_TowardInfinity`)
    with a finite limit L there, where its generated form (probed in float64 with the other inputs at 10 finite
    values) is NaN or ±inf at that infinity (∂y of y/(x − y), x/(x − y)², inf/inf; ∂y of x·y/(x + y), x²/(x + y)²)
    → a select that returns L where x is that infinity, the others finite and the generators L's proof needs
    nonzero, f as it was everywhere else (no finite input reaches the new branch: x > 1.8e308 is x = +inf alone, in
    float64 and, compared in float64, float32). No probe for an expression with no quotient in x, or whose form is
    not such a rational function."""
    import numpy as np

    if not isinstance(expr, sp.Expr) or expr.has(sp.Indexed) or expr.has(sp.MatrixSymbol):
        return expr
    inputs = sorted(expr.free_symbols, key=lambda s: s.name)
    if len(inputs) < 2 or len(inputs) > 6 or not all(isinstance(s, sp.Symbol) for s in inputs):
        return expr
    n = len(inputs)
    rows = [tuple(_OTHER_SAMPLES[(i + 3 * j) % len(_OTHER_SAMPLES)] for j in range(n - 1))
            for i in range(len(_OTHER_SAMPLES))]
    written, probe, pieces = None, None, {}  # pieces: limit → the conditions it is taken under
    for k, x in enumerate(inputs):
        others = inputs[:k] + inputs[k + 1:]
        found = {}
        try:  # the structural pre-filter (no algebra) first
            toward = _TowardInfinity(expr, x, others)
        except _NoRationalLimit:  # no rational function of x with a quotient: no limit, no probe
            continue
        except Exception:  # noqa: BLE001 - a node the check did not foresee: no limit taken
            continue
        for sign in (1, -1):
            try:
                limit, nonzero = toward.limit(sign)
            except _NoRationalLimit:
                continue
            except Exception:  # noqa: BLE001 - SymPy's algebra on a form the walk did not foresee: no limit taken
                continue
            if probe is None:
                written = unwiden(expr)
                try:
                    probe = _float_probe_inputs(without_ite(_share_sigmoid_pairs(written)), inputs)
                except Exception:  # a node the bare expression printer does not print: no limit taken
                    return expr
            columns = [np.array([r[j] for r in rows]) for j in range(n - 1)]
            columns.insert(k, np.full(len(rows), sign * np.inf))
            # in float64 alone: the bare printer computes a float32 form in float32 throughout, where the kernel
            # widens some of it (σ(z)'s squared error's ∂z at z = ±inf, y = 3.4e38: inf·0 in the probe, 0 in the kernel)
            with np.errstate(all="ignore"):
                if np.isfinite(probe(columns)).all():
                    continue
            opaque = {g: e for e, g in toward.opaque.items()}
            found[sign] = (limit, [sp.Ne(opaque.get(g, g), 0) for g in sorted(nonzero, key=sp.default_sort_key)])
        finite = [sp.Abs(o) <= _DBL_MAX for o in others]
        if len(found) == 2 and found[1] == found[-1]:  # one select at both infinities
            limit, nonzero = found[1]
            pieces.setdefault(limit, []).append(sp.And(sp.Abs(x) > _DBL_MAX, *finite, *nonzero))
            continue
        for sign, (limit, nonzero) in found.items():
            at = x > _DBL_MAX if sign > 0 else x < -_DBL_MAX
            pieces.setdefault(limit, []).append(sp.And(at, *finite, *nonzero))
    if not pieces:
        return expr
    # one branch a limit, its conditions joined as written (SymPy's Piecewise would join equal branches in CNF)
    return sp.Piecewise(*[(limit, sp.Or(*conditions)) for limit, conditions in pieces.items()], (expr, True))


INPUT_INFINITE_LIMIT = Rule(
    "input-infinite-limit", "f of several inputs at one input x = ±inf, the others finite, where its form is inf/inf "
    "or 0·inf: ∂y of y/(x − y), x/(x − y)², and ∂y of x·y/(x + y), x²/(x + y)², are NaN at x = ±inf (torch 0 and NaN), "
    "the limits 0 and 1; where f is a rational function of x toward that infinity (its selects, |p|, sign p and relu p "
    "resolved by p's eventual sign; the other inputs' parts polynomials, or finite functions of them, as "
    "coefficients), the limit is exact from the degrees and leading coefficients: 0 where the numerator's degree is "
    "below the denominator's, lc(P)/lc(Q) (a number, or a product of at most 3 factors of the others) where equal, "
    "lc(Q) a number times powers of the others, which must be nonzero; ±inf left alone. Where the generated form, "
    "probed in float64 with the other inputs at 10 finite values (±1.8e308 among them), is NaN or ±inf there, a "
    "select returns the limit where x is that infinity, the others finite and those factors nonzero (x > 1.8e308: "
    "only +inf in float64, and in float32 compared in float64); the form as it was everywhere else, bit for bit",
    apply=_input_infinite_limits, fired=lambda old, new: new != old)
_register(INPUT_INFINITE_LIMIT)
__all__ += ["INPUT_INFINITE_LIMIT"]


# ------------------------------------------------------------------ softmax-entropy (session 42, h-temp42: ∂T of a smooth
# max with temperature T·log(e^(a/T) + e^(b/T)), test_user40's strict xfail); tested in tests/test_temp42.py


def _two_exp_log(factor):
    """(x₁, x₂) for log(e^x₁ + e^x₂), else None."""
    if not (isinstance(factor, sp.log) and factor.args[0].is_Add and len(factor.args[0].args) == 2):
        return None
    terms = factor.args[0].args
    if not all(isinstance(t, sp.exp) for t in terms):
        return None
    return terms[0].args[0], terms[1].args[0]


def _binary_entropy(v):
    """The entropy of the softmax of (v, 0) in nats, softplus(−|v|) + |v|·σ(−|v|): two terms ≥ 0, widened (in double
    words, rounded once); 0 beyond |v| = 3.4e38, its limit (as the softplus-slope rule writes it: the product is 0·∞)."""
    u = sp.Abs(v)
    return sp.Piecewise((0, u > sp.Float(_FLT_MAX, 17)), (widen(u * sigmoid(-u) + softplus(-u)), True))


def _softmax_entropy_node(node):
    """k·log(e^x₁ + e^x₂) beside −k·(x₁e^x₁ + x₂e^x₂)/(e^x₁ + e^x₂) (one term of the sum, or the rest of it) →
    k·(softplus(−|x₁ − x₂|) + |x₁ − x₂|·σ(−|x₁ − x₂|)) (:func:`_binary_entropy`); None where the sum has no such pair."""
    if not (node.is_Add and node.has(sp.log)):
        return None
    for t in node.args:
        factors = sp.Mul.make_args(t)
        for F in factors:
            xs = _two_exp_log(F)
            if xs is None or not F.free_symbols:
                continue
            k = t / F
            if k.has(F):
                continue
            S = F.args[0]
            weighted = k * (xs[0] * sp.exp(xs[0]) + xs[1] * sp.exp(xs[1]))
            rest = [s for s in node.args if s is not t]
            gone = next(([s] for s in rest if sp.expand(s * S + weighted) == 0), None)
            if gone is None and rest and sp.expand(sp.Add(*rest) * S + weighted) == 0:
                gone = rest
            if gone is None:
                continue
            kept = [s for s in rest if s not in gone]
            return sp.Add(k * _binary_entropy(sp.expand(xs[0] - xs[1])), *kept)
    return None


def _softmax_entropies(expr):
    """Every sum of ``expr`` that :func:`_softmax_entropy_node` takes, rewritten (top down: the log as written, before
    the log-sum-exp rules shift it)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.log):
        return expr
    return expr.replace(lambda n: _softmax_entropy_node(n) is not None, _softmax_entropy_node)


SOFTMAX_ENTROPY = Rule(
    "softmax-entropy", "log(e^x₁ + e^x₂) − (x₁e^x₁ + x₂e^x₂)/(e^x₁ + e^x₂) (∂T of a smooth max with temperature "
    "T·log(e^(a/T) + e^(b/T)), x_i = s_i/T) is the entropy of the softmax of (x₁, x₂); as written it cancels once "
    "|x₁ − x₂| ≫ 1, where both terms are max x_i to the first digits and the value is e^−u·(1 + u), u = |x₁ − x₂|: 0 for "
    "2.794e−42 at T = 0.1337, a = 8.99, b = −4.42 in float64 (torch 0), 0 for 9.19e−38 in float32 (torch NaN); it is "
    "softplus(−u) + u·σ(−u) exactly (log(e^x₁ + e^x₂) = x₁ + softplus(x₂ − x₁), and (x₁e^x₁ + x₂e^x₂)/(e^x₁ + e^x₂) = "
    "x₁ − (x₁ − x₂)·σ(x₂ − x₁); the same with x₁, x₂ swapped), two terms ≥ 0: no cancellation; widened (in double "
    "words: u = |a/T − b/T| to 106 bits, rounded once)",
    apply=_softmax_entropies, fired=lambda old, new: new != old, before=True)

_SOFTMAX_PAIR_FAR = 800  # |x₁ − x₂| beyond which σ(x₁ − x₂) is 0 or 1 in float64 (e^−745 is its smallest subnormal)


def _softmax_pair_node(node):
    """k·e^x₁·(e^x₁ + e^x₂)⁻¹ with x₁ or x₂ rounded (not an input, a number or ±2^k times one: a/T) and x₁ − x₂
    free of functions (a rational form of the inputs, which the double words compute) →
    k·{σ(x₁ − x₂) if |x₁ − x₂| ≤ 800; e^x₁/(e^x₁ + e^x₂) otherwise}; None for any other node (e^a/(e^a + e^b) of
    inputs: a − b is one rounding, which the two-sum rule corrects)."""
    if not node.is_Mul:
        return None
    factors = sp.Mul.make_args(node)
    for F in factors:
        if not (F.is_Pow and F.exp == -1 and F.base.is_Add and len(F.base.args) == 2
                and all(isinstance(t, sp.exp) for t in F.base.args)
                and not all(_exact_argument(t.args[0]) for t in F.base.args)):
            continue
        for g in factors:
            if g in F.base.args:
                other = next(t for t in F.base.args if t != g)
                rest = [h for h in factors if h is not F and h is not g]
                v = sp.expand(g.args[0] - other.args[0])
                if v.atoms(sp.Function):  # a function's rounding (tanhshrink(x) − y) the double words do not take:
                    return None  # σ of it was 40.9 ULP where the written quotient is 4.56 (tests/test_comp31.py)
                # where x₁ − x₂ is NaN (a/T − b/T at T = ±0: inf − inf) the written quotient keeps the max-shift rules' limits
                return sp.Mul(sp.Piecewise((sigmoid(v), sp.Abs(v) <= _SOFTMAX_PAIR_FAR), (g * F, True)), *rest)
    return None


def _softmax_pairs(expr):
    """Every product of ``expr`` that :func:`_softmax_pair_node` takes, rewritten (top down: the quotient as written,
    before the max-shift rule shifts it), except a log's argument: log(e^x₁/S) is the log-quotient rule's x₁ − log S,
    where log σ(x₁ − x₂) is −inf once σ underflows."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp):
        return expr
    logged = {n.args[0] for n in expr.atoms(sp.log)}
    return expr.replace(lambda n: n not in logged and _softmax_pair_node(n) is not None, _softmax_pair_node)


SOFTMAX_PAIR = Rule(
    "softmax-pair", "e^x₁/(e^x₁ + e^x₂) (a softmax of two: ∂a of a smooth max with temperature T·log(e^(a/T) + "
    "e^(b/T)), x_i = s_i/T) rounds x₁ = a/T and x₂ = b/T before e^, an absolute error ε·|a/T| of the exponent that e^ "
    "turns into a relative one: ∂a 195 ULP in float64 at T = 0.012876, a = 3.866, b = 5.727 (torch 195); it is "
    "σ(x₁ − x₂) exactly (divide by e^x₁), whose argument the rounded-argument and widen-quotients rules compute in "
    "double words (a/T − b/T rounded once); where |x₁ − x₂| > 800 (σ is 0 or 1 in float64) or x₁ − x₂ is NaN "
    "(inf − inf at T = ±0) the quotient as written, whose limits the max-shift rules choose; e^a/(e^a + e^b) of inputs "
    "(a − b one rounding, the two-sum rule's) and a log's argument (the log-quotient rule's x₁ − log S) as written",
    apply=_softmax_pairs, fired=lambda old, new: new != old, before=True)
_register(SOFTMAX_ENTROPY, SOFTMAX_PAIR)
# first of the whole-expression rules applied before the node-by-node pass: the others may reshape the log's sum and
# the quotient (the entropy first: its sum holds the quotient's terms)
RULES = (SOFTMAX_ENTROPY, SOFTMAX_PAIR) + tuple(r for r in RULES if r not in (SOFTMAX_ENTROPY, SOFTMAX_PAIR))
__all__ += ["SOFTMAX_ENTROPY", "SOFTMAX_PAIR"]


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
    """c·s·asinh(x/s) (s an input, x free of s) → c·{x where |x/s| < 2⁻³⁰; sign(x)·|s|·(log 2 + log|x| − log|s|)
    where x/s overflows and s ≠ 0 (asinh u = sign(u)·(log 2|u| + 1/(4u²) − …), 1/u² below 2⁻²⁰⁴⁶ there);
    s·asinh(x/s) elsewhere}; None for any other node."""
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
        large = sp.sign(x) * sp.Abs(s) * (sp.log(2) + sp.log(sp.Abs(x)) - sp.log(sp.Abs(s)))
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
    "written elsewhere", local=_scaled_asinh)
_register(SCALED_ASINH)
__all__ += ["SCALED_ASINH"]


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


_LOCAL = _LOCAL[:_LOCAL.index(_hypot_sum) + 1] + (_hypot_sum_scaled_factor,) + _LOCAL[_LOCAL.index(_hypot_sum) + 1:]
_LOCAL_RULE[_hypot_sum_scaled_factor] = "hypot"


# ------------------------------------------------------------------ scale-into-sum (h-gnll42, session 42: the
# log-variance Gaussian NLL's ∂s = (1 − (x − μ)²·e^(−s))/2 was −inf at s = −709, x − μ = −1.5 for −9.2457e307, the sum
# overflowing before its halving; torch finite, it halves first); tested in tests/test_gnll42.py

def _has_scaled_exp_term(body) -> bool:
    """``body`` a sum with a term that holds e^u, u of an input (a term that can overflow where the sum scaled by a
    number below 1 does not)."""
    return body.is_Add and any(isinstance(e, sp.exp) and e.args[0].free_symbols for e in _atoms(body, sp.exp))


def _scaled_widened_sum(c, node):
    """c·node → node with c taken into its widened sums' terms, or None: node a widened sum with a term holding e^u,
    or a select whose branches are numbers or such sums (one-minus-scaled-exp's c where a factor is 0)."""
    if isinstance(node, WidenedBase):
        body = node.body
        if not _has_scaled_exp_term(body):
            return None
        scaled = sp.Add(*[c * t for t in body.args])
        return widen(scaled, first_order=node.first_order, in_float32=node.in_float32,
                     far_bound=node.far_bound).xreplace(dict(zip(node.leaves, node.args)))
    if isinstance(node, sp.Piecewise):
        branches = []
        for value, condition in node.args:
            if value.is_Number:
                branches.append((c * value, condition))
                continue
            value = _scaled_widened_sum(c, value)
            if value is None:
                return None
            branches.append((value, condition))
        return sp.Piecewise(*branches)
    return None


def _halved_square(body):
    """``body`` with each term c·G² (G grouped, a widened far branch's (a′·e^(b/2))², 0 < |c| < 1) as
    sign(c)·(|c|·G)·G, or None where it holds none."""
    if not body.is_Add:
        return None
    terms, changed = [], False
    for t in body.args:
        c, rest = t.as_coeff_Mul()
        if (rest.is_Pow and rest.exp == 2 and isinstance(rest.base, Grouped) and c.is_Number
                and 0 < abs(c) < 1 and rest.base.has(sp.exp)):
            inner = rest.base.args[0]
            terms.append(sp.Mul(sp.sign(c), Grouped(abs(c) * inner), rest.base, evaluate=False))
            changed = True
        else:
            terms.append(t)
    return sp.Add(*terms, evaluate=False) if changed else None


def _scale_into_sums(expr):
    """``expr`` with c·S (c a number, 0 < |c| < 1, S a widened sum with a term holding e^u) as S's terms each times c,
    and a widened body's c·G² as (c·G)·G (:func:`_halved_square`); ``expr`` where there is none."""
    if not isinstance(expr, sp.Expr) or not expr.has(WidenedBase):
        return expr

    def new_form(node):
        if isinstance(node, WidenedBase):
            body = _halved_square(node.body)
            if body is None:
                return None
            return widen(body, first_order=node.first_order, in_float32=node.in_float32,
                         far_bound=node.far_bound).xreplace(dict(zip(node.leaves, node.args)))
        if not (isinstance(node, sp.Expr) and node.is_Mul):
            return None
        c, rest = node.as_coeff_Mul()
        if not (c.is_Number and 0 < abs(c) < 1) or rest.is_Mul:
            return None
        return _scaled_widened_sum(c, rest)
    return _top_down(expr, new_form, _KEPT_OPEN)


SCALE_INTO_SUM = Rule(
    "scale-into-sum", "c·(a + b·e^u) with |c| < 1 overflows in the sum where the product does not (the "
    "log-variance Gaussian NLL's ∂s = (1 − (x − μ)²·e^(−s))/2: −inf at s = −709, x − μ = −1.5 for −9.2457e307, "
    "torch finite; its far branch's ((x − μ)·e^(−s/2))²/2 likewise from s = −709.6); c is taken into the terms of "
    "the widened sum, c·a + (c·b)·e^u, and c·G² is written (c·G)·G: multiplying by c = 2^−k is exact where the "
    "terms stay normal (the sum's double word and its one rounding are as before), another c one rounding more "
    "(2⁻¹⁰⁶ in the double word, far below the sum's rounding); sums without an e^u are printed as before",
    apply=_scale_into_sums, fired=lambda old, new: new != old)
_register(SCALE_INTO_SUM)
__all__ += ["SCALE_INTO_SUM"]


# ------------------------------------------------------------------ gaussian-quotient-product (issue 16, session 42,
# h-erfq42: ∂y of erf(x/y) − z, −2/√π·e^(−(x/y)²)·x/y², 2.28 ULP in float64 at (0.16343, 0.41864), torch 0.72);
# tested in tests/test_erfq42.py

def _gaussian_quotient_product(node) -> bool:
    """``node`` a product c·e^(−k·x²·y⁻²)·x^a·y^b: c a number, k > 0 a number, x and y two inputs, and the inputs'
    powers outside e^ holding both x and y (∂y of erf(x/y), −2/√π·e^(−x²/y²)·x·y⁻²; not ∂x's 2/√π·e^(−x²/y²)·y⁻¹)."""
    if not (isinstance(node, sp.Expr) and node.is_Mul):
        return False
    exps = [f for f in node.args if isinstance(f, sp.exp)]
    if len(exps) != 1:
        return False
    k, square = exps[0].args[0].as_coeff_Mul()
    powers = square.as_powers_dict()
    if not (k.is_Number and k < 0 and len(powers) == 2 and all(b.is_Symbol for b in powers)
            and sorted(powers.values()) == [-2, 2]):
        return False
    outside = [f for f in node.args if f is not exps[0] and not f.is_number]
    held = set()
    for f in outside:
        base = f.base if f.is_Pow and f.exp.is_Integer else f
        if not base.is_Symbol:
            return False
        held.add(base)
    return held == set(powers)


def _gaussian_quotient_products(expr):
    """Every :func:`_gaussian_quotient_product` of ``expr`` that is not a term of a sum as widen(product), with the
    scaled tier (widen's ``far_bound``) where an input is past 2^±:data:`_GAUSSIAN_QUOTIENT_FAR`: the double words' x²,
    y⁻² and x·y⁻² leave the normal range there where the product does not (without it a subnormal x² at
    x = −1.0e−160, y = 1.8e−161 was 1.4e15 ULP in float64, torch 37)."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.exp):
        return expr

    def new_form(node):
        if _gaussian_quotient_product(node):
            return widen(node, far_bound=_GAUSSIAN_QUOTIENT_FAR)
        if isinstance(node, sp.Expr) and node.is_Add and any(_gaussian_quotient_product(t) for t in node.args):
            # a term of a sum is the widen rule's, with the sum (∂y of ndtr(x/y) − ndtr(kl_div(x, y)) cancels: its
            # term widened apart, the sum was 31.6 ULP at (−0.50154, 2.0447)); a sum without such a term is entered as
            # any node (rebuilding every sum re-evaluated its parents: log((e^a + e^b)²) − 2a's ∂a in float32 4545 ULP)
            terms = [t if _gaussian_quotient_product(t) else _gaussian_quotient_products(t) for t in node.args]
            return node if all(t is u for t, u in zip(terms, node.args)) else node.func(*terms)
        return None
    return _top_down(expr, new_form, _KEPT)


_GAUSSIAN_QUOTIENT_FAR = 200


GAUSSIAN_QUOTIENT_PRODUCT = Rule(
    "gaussian-quotient-product", "c·e^(−(x/y)²)·x/y² (∂y of erf(x/y)) rounds its exponent, e^, and each of its "
    "multiplications: 2.28 ULP in float64 at (0.16343, 0.41864), worse than torch (0.72) at 16 of 300 points; computed "
    "whole in double-word arithmetic (hi + lo, about 106 bits: x²·y⁻², e^ of it and the products each to 2⁻¹⁰⁰ or so) "
    "and rounded once in a float64 kernel, in float64 in a float32 one, as the widen rule's sums are (exact: the "
    "product is the same number, only its roundings change); where x or y is past 2^±200, in the scaled double words "
    "(each input scaled to [1/2, 1) by its power of two, exact, and the result scaled back once), whose x² and y⁻² "
    "cannot leave the range (a subnormal x² was 1.4e15 ULP at (−1.0e−160, 1.8e−161), torch 37); 0.50 ULP in float64 "
    "over y in 2^±1000, x/y in ±9; not a term of a sum (the widen rule's, with the sum, where it cancels)",
    apply=_gaussian_quotient_products, fired=lambda old, new: new != old, before=True)
_register(GAUSSIAN_QUOTIENT_PRODUCT)
__all__ += ["GAUSSIAN_QUOTIENT_PRODUCT"]


# ------------------------------------------------------------------ temp43 (issue 16, session 43, h-temp43: softmax-weights,
# ∂T of a temperature-scaled softmax cross-entropy over 3+ written logits, test_user41's strict xfail); tested in
# tests/test_temp43.py


# review43 (issue 16, session 43, h-review43): the most terms the softmax-weights rule takes; 8 logits: its form's 56
# exponentials, compile 8.1 → 12.9 CPU s, ∂T ≤ 1.1 ULP float64 (25 points, T ±[1e−300, 1e3])
_TW_TERMS = 8


def _tw_sums(expr):
    """The sums e^u₁ + … + e^uₙ (3 ≤ n ≤ _TW_TERMS, the uᵢ distinct, some rounded: a/T) of ``expr`` whose exponents share a factor
    g, uᵢ = rᵢ·g with every rᵢ free of g's inputs and of functions, as [(S, [(rᵢ, g)…])]."""
    found = []
    for S in expr.atoms(sp.Add):
        # review43: at most _TW_TERMS terms: the weights hold n(n − 1) exponentials, each taken again by the
        # rounded-argument rule (16 logits: compile past the 60 CPU s limit, 36.8 s before the rule)
        if not 3 <= len(S.args) <= _TW_TERMS or not all(isinstance(t, sp.exp) for t in S.args):
            continue
        us = [t.args[0] for t in S.args]
        if len(set(us)) < len(us) or all(_exact_argument(u) for u in us):
            continue
        for g in sp.Mul.make_args(us[0]):
            if not g.free_symbols:
                continue
            rs = [sp.cancel(u / g) for u in us]
            if all(not (r.free_symbols & g.free_symbols) and r.free_symbols and not r.atoms(sp.Function)
                   for r in rs):
                found.append((S, [(r, g) for r in rs]))
                break
    return found


def _tw_coefficients(expr, S, us):
    """(c₀, [cᵢ…]) where ``expr`` is exactly c₀ + Σ cᵢ·pᵢ, pᵢ = e^uᵢ/S (the softmax weights, Σ pᵢ = 1), once every
    e^(±m·uᵢ) is written pᵢ·S (its power) and S stays only as a common factor that cancels; else None."""
    Z = sp.Dummy("S")
    P = [sp.Dummy("p%d" % i) for i in range(len(us))]
    body = expr.xreplace({S: Z})
    swaps = {}
    for e in body.atoms(sp.exp):
        w = e.args[0]
        for u, p in zip(us, P):
            q = sp.cancel(w / u)
            if q.is_Integer:
                swaps[e] = (p * Z) ** q
                break
        else:
            if w.free_symbols & S.free_symbols:
                return None
    body = body.xreplace(swaps)
    if body.has(sp.exp) and any(e.free_symbols & S.free_symbols for e in body.atoms(sp.exp)):
        return None
    try:
        body = sp.cancel(sp.together(body))
    except (sp.PolynomialError, TypeError):
        return None
    if body.has(Z):
        return None
    num, den = sp.fraction(body)
    if den.has(*P):
        return None
    try:
        poly = sp.Poly(sp.expand(num), *P)
    except sp.PolynomialError:
        return None
    if poly.total_degree() > 1:
        return None
    return poly.coeff_monomial(1) / den, [poly.coeff_monomial(p) / den for p in P]


def _tw_weight(i, rs, g):
    """pᵢ = 1/(1 + Σ_{j≠i} e^((rⱼ − rᵢ)·g)): the differences rⱼ − rᵢ formed before the product with g (at T = 1e−30
    each a/T is 1e30, and its rounding alone is 1e14), each e^ of them ≥ 0 and the sum ≥ 1 (no overflow to NaN: 1/inf
    is 0, its limit)."""
    return 1 / (1 + sp.Add(*[sp.exp(sp.Mul(sp.Add(r, -rs[i]), g)) for j, r in enumerate(rs) if j != i]))


def _tw_rewrite(expr):
    """``expr`` = c₀ + Σ cᵢ·pᵢ (:func:`_tw_coefficients`) as Σ kᵢ·pᵢ + (the rest of c₀), :func:`_tw_weight`'s pᵢ, where
    the cᵢ are Nᵢ·g^q alike (Nᵢ free of g's inputs), kᵢ = cᵢ + the terms of c₀ of that order, and the nonzero kᵢ differ
    (a weighted mean of the rᵢ: ∂T of the cross-entropy, (a − Σ pᵢsᵢ)/T²); else ``expr``."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp):
        return expr
    for S, pairs in _tw_sums(expr):
        found = _tw_coefficients(expr, S, [t.args[0] for t in S.args])
        if found is None:
            continue
        (c0, cs), g = found, pairs[0][1]
        orders = {_tw_order(c, g) for c in cs if c != 0}
        if len(orders) != 1 or None in orders:
            continue
        q = orders.pop()
        # the terms of c₀ of the cᵢ's order spread over Σ pᵢ = 1 (kᵢ = c₀ + cᵢ: the cross-entropy's a/T² − sᵢ/T²), the
        # others kept beside (∂T of the cross-entropy + T: its 1; (a − sᵢ + T²)/T² would underflow T² with the rest)
        spread = [t for t in sp.Add.make_args(sp.expand(c0)) if _tw_order(t, g) == q]
        kept = sp.expand(c0) - sp.Add(*spread)
        ks = [sp.factor(sp.Add(*spread) + c) for c in cs]
        if len({k for k in ks if k != 0}) < 2:
            continue
        rs = [r for r, _ in pairs]
        terms = [(k, _tw_weight(i, rs, g)) for i, k in enumerate(ks) if k != 0]
        if q < 2:
            return sp.Add(*[k * p for k, p in terms]) + kept
        # kᵢ = gᵠ·Nᵢ (the cross-entropy's ∂T: g = 1/T, q = 2): (Σ (g·Nᵢ)·pᵢ)·gᵠ⁻¹, each term finite where g² is not
        # (T² underflows from T = 1.5e−162: (a − b)/(T²·D) was 0·inf = NaN) and 0 where pᵢ is (1/inf)
        return Grouped(sp.Add(*[sp.factor(sp.cancel(k / g ** (q - 1))) * p for k, p in terms])) * g ** (q - 1) + kept
    return expr


def _tw_order(k, g):
    """q where k = N·g^q with N free of g's inputs (0 ≤ q ≤ 3; g = 1/T: (a − b)/T² is of order 2), else None."""
    for q in (3, 2, 1, 0):
        if not sp.cancel(k / g ** q).free_symbols & g.free_symbols:
            return q
    return None


SOFTMAX_WEIGHTS = Rule(
    "softmax-weights", "Σ kᵢ·e^uᵢ/S over S = e^u₁ + … + e^uₙ (3 ≤ n ≤ 8: its n(n − 1) exponentials) with uᵢ = rᵢ·g "
    "sharing a factor (a softmax with "
    "temperature, rᵢ/T or rᵢ·β), the kᵢ not all equal: ∂T of −log(e^(a/T)/S) = (a − Σ pᵢsᵢ)/T² as derived forms "
    "each e^(sᵢ/T) from a rounded sᵢ/T, whose absolute error |sᵢ/T|·ε the exponential turns into a relative one: at "
    "a = −1.5, b = 0.3, c = 1, past 4 ULP in float64 from T ≈ 1.6e−17 down (−2.5275e60 for −2.5e60 at T = 1e−30, −0.0 "
    "for −2.5e80 at T = 1e−40; torch NaN below T = 1.4e−3); it is Σ kᵢ·pᵢ exactly (every e^(±uᵢ) written pᵢ·S, S "
    "cancels, the constant term's part of the kᵢ's order spread over Σ pᵢ = 1, the rest kept beside), pᵢ = 1/(1 + "
    "Σ_{j≠i} e^((rⱼ − rᵢ)·g)) with the differences formed before g (no exponent overflows to NaN; 1/inf = 0 is a "
    "weight's limit), kᵢ = (a − sᵢ)/T² for the cross-entropy's ∂T, computed (Σ ((a − sᵢ)/T)·pᵢ)/T (T² underflows "
    "from T = 1.5e−162); only where the kᵢ are Nᵢ·g^q alike: ≤ 1.81 ULP in float64 over T in ±[1e−300, 1e3] (torch "
    "NaN or inf at most such T), 0.50 in float32",
    apply=_tw_rewrite, fired=lambda old, new: new != old, before=True)
_register(SOFTMAX_WEIGHTS)
RULES = (SOFTMAX_WEIGHTS,) + tuple(r for r in RULES if r is not SOFTMAX_WEIGHTS)
__all__ += ["SOFTMAX_WEIGHTS"]


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
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Add):
        return expr
    return _top_down(expr, _vanishing_constant_group, _KEPT)


VANISHING_CONSTANT_GROUP = Rule(
    "vanishing-constant-group", "a sum of several inputs whose terms in one input x (an e^x among them) and its "
    "constant meet at x = 0 (the VAE's KL term −½(1 + lv − μ² − e^lv), whose 1 + lv − e^lv cancels near lv = 0 while "
    "the whole is μ²/2 + lv²/4: 9.9e15 ULP in float64, 1.7e7 in float32, torch the same) lost its constant to the "
    "affine-root rule ((x + b·n)/n: the widened rest rounded, then the 1 subtracted); the whole sum, its constant "
    "inside, is computed as the widen rule computes a sum (double words, a third word where they cancel too) and "
    "rounded once: the same number, one rounding",
    apply=_vanishing_constant_groups, fired=lambda old, new: new != old, before=True)
_register(VANISHING_CONSTANT_GROUP)
__all__ += ["VANISHING_CONSTANT_GROUP"]


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
    apart). None for any other node."""
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
    conjugate = (sp.expand(a ** 2 * s - b ** 2) / (a * r - b)) ** power
    # in double words in a float32 kernel too: float64's g₁² + g₂² − 1 drops a float32 g₁² below 2⁻⁵³ (f 0 at g₁ = 1e−9)
    return sp.Piecewise((widen(sp.Mul(conjugate, *rest), in_float32=True), near), (node, True))


def _roots_minus_constants(expr):
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Pow):
        return expr
    return _top_down(expr, _root_minus_constant, _KEPT)


ROOT_MINUS_CONSTANT = Rule(
    "root-minus-constant", "a·√S + b with a, b of opposite signs cancels where √S ≈ −b/a (WGAN-GP's penalty "
    "(‖g‖ − 1)², ‖g‖ = √(g₁² + g₂²), near its target ‖g‖ = 1: 0 for 2.5e−32 at g = (−1.78e−8, 1), 8.9e15 ULP in "
    "float64, torch the same), √S rounded to an ulp of 1 (S = 1 + g₁² is 1); (a²S − b²)/(a√S − b) is the same number "
    "(a difference of squares; the denominator's terms have one sign, ≥ |b|), computed whole in double words as the "
    "widen rule computes (S's products exact, √ and quotient to about 2⁻¹⁰⁰) and rounded once, with the inputs, "
    "numbers and powers of S it is multiplied by (the penalty's gradient 2g₁(‖g‖ − 1)/‖g‖); taken where "
    "b²/16 < a²S < 64b² (beyond, the written difference amplifies √S's error by at most 8/7 or 4/3; no over- or "
    "underflow inside)",
    apply=_roots_minus_constants, fired=lambda old, new: new != old, before=True)
_register(ROOT_MINUS_CONSTANT)
__all__ += ["ROOT_MINUS_CONSTANT"]


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
    if not isinstance(expr, sp.Expr) or not expr.has(sp.log):
        return expr
    return _top_down(expr, _log_difference_ratio_sum, _KEPT)


LOG_DIFFERENCE_RATIO = Rule(
    "log-difference-ratio", "a Kullback–Leibler divergence written with differences of logs, p·(log p − log q) + "
    "(1 − p)·(log(1 − p) − log(1 − q)), cancels twice near p = q: each difference is of size |p − q| and the two "
    "terms meet at the double root (1.06e12 ULP in float64, 1.42e4 in float32; torch 6.18e24, 4.87e14); log A − log B "
    "is log(A/B) wherever A, B > 0 (an identity), and so written the sum is the log-linear-root rule's (computed as "
    "the widen rule computes a sum, rounded once); as written where some A or B is not positive",
    apply=_log_difference_ratio_sums, fired=lambda old, new: new != old, before=True)
_register(LOG_DIFFERENCE_RATIO)
__all__ += ["LOG_DIFFERENCE_RATIO"]


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


_LOCAL = _LOCAL[:_LOCAL.index(_conjugate_forms) + 1] + (_negated_root_difference,) + _LOCAL[
    _LOCAL.index(_conjugate_forms) + 1:]
_LOCAL_RULE[_negated_root_difference] = "conjugate"


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
    sign(x)·sign(s)·(log 2 + log|x| − log|s|), and each other term that is an algebraic function of x/s alone its limit
    (:func:`_far_quotient_limit`), where |x/s| overflows and s ≠ 0; the sum as it was elsewhere}; None for any
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
        large = sp.sign(x) * sp.sign(s) * (sp.log(sp.Abs(x)) - Grouped(sp.log(sp.Abs(s)) - sp.log(2)))
        terms = [large * (g / f) if g.has(f) else _far_quotient_limit(g, x, s) for g in node.args]
        return _Final(_Fired(sp.Piecewise((sp.Add(*terms), far), (node, True)), ["asinh-far-sum"]))
    return None


_FAR_QUOTIENT_EDGE = sp.Integer(2) ** 1024  # |x/s| past it where the far branch is taken


def _far_quotient_limit(g, x, s):
    """The term ``g`` of :func:`_asinh_far_sum`'s sum where |u| = |x/s| > 2¹⁰²⁴: its limits L₊, L₋ at u → ±∞ as
    (L₊ + L₋)/2 + sign(x)·sign(s)·(L₊ − L₋)/2, where g is an algebraic function of u alone (x an input; g built of
    inputs, numbers, sums, products, rational powers, |·| and sign), both limits finite numbers, and g within
    2⁻⁷⁰ of its limit at u = ±2¹⁰²⁴ and ±2²⁰⁴⁸ (mpmath, 60 digits: an algebraic function's distance to its limit
    shrinks as a power of 1/|u| past its last turning point; 2⁻⁷⁰ against the asinh term's ≥ 709 is below 2⁻⁷⁹ of
    the sum; g's written form, :func:`_as_math`, is what is tested); ``g`` as it is otherwise (−x/(s·√(1 + x²/s²)) as
    the other rules write it, x·|s/x|/(s·√(1 + (s/x)²)) with |s/x| underflowed, was 0 for ∓1 there)."""
    math = _as_math(g)  # (the formula the term computes: its children are rewritten already)
    if not x.is_Symbol or not _no_cancellation_inputs_signs(math):
        return g
    u = sp.Dummy("u", real=True, nonzero=True)
    in_u = sp.simplify(math.subs(x, u * s))
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
    return (plus + minus) / 2 + sp.sign(x) * sp.sign(s) * (plus - minus) / 2


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
    "cancellation), the sum as written elsewhere", local=_asinh_far_sum)
_register(ASINH_FAR_SUM)
__all__ += ["ASINH_FAR_SUM"]


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
    "a term of a sum", apply=_halved_differences, fired=lambda old, new: new != old)
_register(HALVED_DIFFERENCE)
__all__ += ["HALVED_DIFFERENCE"]


# hyp43, distributed-power-sum (issue 16, session 43): v·Σ cᵢ·mᵢ·D^(−kᵢ) (v an input, mᵢ monomials of inputs, D one sum,
# kᵢ ≥ 2), SymPy's collected gradient of a rational product (∂x of x·y/(x − y)⁸, y·((x − y)⁻⁸ − 8x·(x − y)⁻⁹)),
# overflows in the sum where v brings it back: inf for −4e294 at x, y ≈ 8e−25, x − y ≈ 1e−38 (torch inf too)
def _distributed_power_sum(node):
    """v·S with v an input and S a sum of two or more terms c·m·D^(−k) (c a number, m a product of inputs' integer powers
    or 1, one sum D of inputs for every term, k ≥ 2 an integer) → S·v taken as Σ v·(c·m·D^(−k)) where it is ±inf or
    NaN (:func:`written_where_not_finite`: each term a product the printers take by exponents, no partial sum past
    the range where the whole is in it); None for any other node."""
    if not (isinstance(node, sp.Expr) and node.is_Mul and len(node.args) == 2):
        return None
    for v, s in (node.args, node.args[::-1]):
        if not (v.is_Symbol and isinstance(s, sp.Expr) and s.is_Add and len(s.args) >= 2):
            continue
        bases = set()
        for t in s.args:
            powers = [f for f in sp.Mul.make_args(t) if f.is_Pow and f.base.is_Add]
            others = [f for f in sp.Mul.make_args(t) if f not in powers]
            if len(powers) != 1 or not (powers[0].exp.is_Integer and powers[0].exp <= -2) or not all(
                    f.is_number or f.is_Symbol or f.is_Pow and f.base.is_Symbol and f.exp.is_Integer for f in others):
                break
            bases.add(powers[0].base)
        else:
            if len(bases) == 1 and all(a.is_Symbol or a.as_coeff_Mul()[1].is_Symbol for a in next(iter(bases)).args):
                return _Final(_Fired(written_where_not_finite(node, sp.Add(*[v * t for t in s.args])),
                                     ["distributed-power-sum"]))
    return None


DISTRIBUTED_POWER_SUM = Rule(
    "distributed-power-sum", "v·Σ cᵢ·mᵢ·D^(−kᵢ) (v an input, D a sum of inputs, kᵢ ≥ 2: SymPy's collected ∂x of "
    "x·y/(x − y)⁸, y·((x − y)⁻⁸ − 8x/(x − y)⁹)) overflows in the sum where the factor v brings it back (inf for a "
    "finite −4e294 at x, y ≈ 8e−25, x − y ≈ 1e−38; torch inf too): taken as Σ v·cᵢ·mᵢ·D^(−kᵢ) where it is ±inf or NaN, "
    "each term a product taken by exponents (the same terms, each multiplied by v before they are added: one "
    "rounding more a term, none out of the range)", local=_distributed_power_sum)
_register(DISTRIBUTED_POWER_SUM)
__all__ += ["DISTRIBUTED_POWER_SUM"]


# ------------------------------------------------------------------ cauchy43 (issue 16, session 43, h-cauchy43: the
# Cauchy-like x/(1 + (a·x)²) itself, and its quotient sums past widen-quotients' guard); tested in tests/test_cauchy43.py

def _cauchy_monomial(term) -> bool:
    """``term`` a number times inputs' whole powers and whole powers of sums of inputs (x²/s², 2·(x − m)², −x/s³)."""
    def linear(u):
        return u.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in u.args)
    return all(f.is_number or f.is_Symbol or linear(f) or f.is_Pow and f.exp.is_Integer and (f.base.is_Symbol
                                                                                            or linear(f.base))
               for f in sp.Mul.make_args(term))


def _cauchy_quotient(node) -> bool:
    """``node`` a product of two inputs or more of Cauchy monomials' factors (:func:`_cauchy_monomial`) and negative
    powers of sums of Cauchy monomials with a number among their terms, one of those sums holding a square, or such a
    sum's reciprocal (x/(1 + a²·x²), the Lorentzian 1/(1 + (x − m)²/g²) and its 2·(x − m)²/(g³·(1 + (x − m)²/g²)²), the
    Student-t-like ∂s 4x²/(3s³·(1 + x²/(3s²))³)), free of functions and selects; three roundings or more, or a
    difference of inputs among them; not a rational long product (the rational-product rule's)."""
    if not ((node.is_Mul or node.is_Pow) and len(node.free_symbols) >= 2) or node.has(sp.Function, sp.Piecewise) \
            or _rational_long_product(node):  # (the rational-product rule's, after the node-by-node rules)
        return False
    if node.is_Pow and node.exp != -1:  # (a sum's power −2 or less alone is power-quotient's and homogeneous-quotient's,
        return False  # which take its limits: (1 + x²/(3s²))⁻² at s = 0, x = 1e−200 NaN for their 0)
    squared = False
    for f in sp.Mul.make_args(node):
        if _cauchy_monomial(f):
            continue
        # (a sum with a number among its terms: x/(x² + y²) at x = 0, y = 1e−200 was NaN for 0 as written, x² + y² = 0)
        if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add and any(t.is_number for t in f.base.args)
                and all(_cauchy_monomial(t) for t in f.base.args)):
            return False
        squared = squared or any(q.exp.is_Integer and q.exp >= 2 for q in f.base.atoms(sp.Pow))
    # (a body of fewer than 3 roundings without a difference of inputs: its widened form keeps the float64 body
    # wherever its bound is within 3u, up to 1.4 ULP: 1/(1 + x²/s²), 0.50 by the scaled-power rule, went to 1.38;
    # the Lorentzian 1/(1 + (x − m)²/g²), counted 2, was 3.2 ULP in float64, worse than torch at 18 of 300)
    differences = any(q.base.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in q.base.args)
                      for q in node.atoms(sp.Pow))
    return squared and _cauchy_rational_degree(node) > 0 and (differences or _roundings(node) >= 3)


def _cauchy_quotients(expr):
    """``expr`` as :func:`_rational_products` takes a rational long product (widened whole with far_bound ⌊960/D⌋, as
    written where an input is ±0 and where the widened value is not finite), where it is a Cauchy quotient
    (:func:`_cauchy_quotient`); as it is otherwise. An output only, not a term of a sum."""
    if not (isinstance(expr, sp.Basic) and _cauchy_quotient(expr)):
        return expr
    sign = -1 if expr.could_extract_minus_sign() else 1
    zero = sp.Or(*[sp.Eq(v, 0) for v in sorted(expr.free_symbols, key=sp.default_sort_key)])
    bound = 960 // _cauchy_rational_degree(expr)
    return sp.Piecewise((expr, zero),
                        (written_where_not_finite(sign * widen(sign * expr, far_bound=bound), expr), True))


CAUCHY_QUOTIENT = Rule(
    "cauchy-quotient", "x/(1 + a²·x²) rounds a², x², their product, the sum and the quotient (SymPy writes (a·x)² as "
    "a²·x²; torch's (a·x)² rounds twice): within 2.45 ULP in float64 but worse than torch's at 62 of 2001 points (1.47 "
    "ULP at (6.5414, 0.35363), torch 0.47); the Lorentzian 1/(1 + ((x − m)/g)²)'s ∂x 5.45 ULP, the Student-t-like "
    "(1 + (x/s)²/3)⁻²'s ∂s 6.2, worse than torch at 65 and 69 of 300 points; a product of inputs' powers, of "
    "differences of inputs, and of negative powers of sums of such monomials with a number among their terms (x/(x² + "
    "y²) as written is NaN at x = 0, y = 1e−200), one of those sums holding a square, or such a sum's reciprocal, "
    "three roundings or more (or a difference of inputs) is computed as the rational-product rule computes its "
    "products: in double-word arithmetic (hi + lo, about 106 bits; a·x exact by TwoProduct, x − m by TwoSum, the "
    "squares, sums and quotients each to 2⁻¹⁰⁴ or so) and rounded once in a float64 kernel, in float64 in a float32 "
    "one (exact: the same number, only its roundings change), in scaled double words (each input in [1/2, 1) by its "
    "exponent) where an input is past 2^±⌊960/D⌋ (D a bound of every value's degree in the inputs); as written where "
    "an input is ±0 (exact there) and where the widened value is not finite; before the node-by-node rules, which "
    "rewrite those squares; not the rational-product rule's products (after them)",
    apply=_cauchy_quotients, fired=lambda old, new: new != old, before=True)  # (before the node-by-node rules:
RULES = (CAUCHY_QUOTIENT,) + RULES  # scaled-square and affine-root rewrite its sums' squares)
_BY_NAME[CAUCHY_QUOTIENT.name] = CAUCHY_QUOTIENT
__all__ += ["CAUCHY_QUOTIENT"]


def _cauchy_rational_degree(node) -> int:
    """A bound D of |log₂| of every value the double words of ``node`` form, in units of the largest |log₂| of an input,
    where ``node`` is a rational function of the inputs (sums, products, whole powers, numbers within 2^±30): an
    input 1, a number 0, a product the sum of its factors', a whole power |k| times its base's, a sum its terms' largest
    (its value within them, or cancelled: the scaled tier takes a value below 2⁻⁹⁶⁸); 0 where ``node`` is not one (or is
    free of inputs). Within 2^±⌊960/D⌋ each value is within 2^±960, where a double word's lo part is kept."""
    if node.is_Symbol:
        return 1
    if node.is_number:
        return 0 if node.is_Rational or node.is_Float and 2.0 ** -30 <= abs(float(node)) <= 2.0 ** 30 else -1
    if node.is_Pow:
        base = _cauchy_rational_degree(node.base)
        return abs(int(node.exp)) * base if node.exp.is_Integer and base >= 0 else -1
    if node.is_Add or node.is_Mul:
        parts = [_cauchy_rational_degree(a) for a in node.args]
        if min(parts) < 0:
            return -1
        return max(parts) if node.is_Add else sum(parts)
    return -1
