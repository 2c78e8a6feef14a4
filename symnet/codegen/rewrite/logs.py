"""Logarithm rules: log-near-one, rounded-log-argument, log-gaussian-tail, overflowing-log1p, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: log-near-one,
mixture-log, rounded-log-argument, widened-log-argument, scaled-erfc, log-gaussian-tail, log-erfcx-left,
two-minus-exp-root, log-constant-factor, overflowing-log1p, log-tanh, log1p-entropy.
"""
from __future__ import annotations

import math

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...special import erfcx, erfcx_slope, erfcx_slope_tail, ndtr, softplus
from .core import _exp_rational, _Final, _Fired, _is_exp, _rewrote, rewrite_nodes, Rule
from .widening import (_KEPT, _top_down, _top_down_having, Grouped, widen, WidenedBase, without_ite,
                       written_where_not_finite)
from .stabiliser import _rewritten
from .pairs import _share_sigmoid_pairs
from .losses import _power_of
from .cancellation import _tanhshrink, _vanishes_at_zero
from .series import _fitted_series, _one_input_group, _rounded_factors
from .limits import _rounded_sum, _ungrouped_math
from .exps import _shifted_term


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
    from ...verify.evaluate import mp_value

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
    return rewrite_nodes(_log_near_one_node, expr, sp.log)


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
    apply=_log_near_one, fired=_rewrote, before=True)


def _vanishing_node(node):
    """node (a sum of one input x holding a function, 0 at x = 0 where its terms cancel) → Piecewise((ZeroSeries,
    |x| < w), (node, True)) (the removable-series fit, :func:`symnet.codegen.roots.removable_fit`) where the written
    form is measured past the bound inside the window, else None."""
    from ..roots import OUTSIDE_ULP, SeriesBase, removable_fit

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
    from ..roots import SeriesBase

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
    apply=_vanishing_series, fired=_rewrote)


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


# (from the mixture-power block of rewrite.py: the split script moved it here, to the first module that uses it)
_SOFTPLUS_OVER_SIGMOID_ONE = 40  # below u = −40, softplus(u)/σ(u) = 1 + e^u/2 + … is 1 to float64's rounding (e^−40/2 < 2⁻⁵⁴)
# (from the mixture-power block of rewrite.py: the split script moved it here, to the first module that uses it)
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
# (from the mixture-power block of rewrite.py: the split script moved it here, to the first module that uses it)
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
# (from the mixture-power block of rewrite.py: the split script moved it here, to the first module that uses it)
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


# ------------------------------------------------------------------ rounded-log-argument (issue 16, session 18: log(x·y)
# near x·y = 1 and log1p(x·y) near x·y = −1 take the product's rounding, half an ulp of 1, relative to a result near
# 0: 9.7e6 and 2.7e5 ULP in float64, torch the same); tested in tests/test_logprod18.py


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
    (there k + p overflows first: y/inf = 0 where the value is 1/x); a may be −1 times an input's power (x/(1 − x²),
    a = −x: the far branch 1/(1/x − x), as x/(x² − 1)'s 1/(x − 1/x)); None where the product is not of that form."""
    for f in node.args:
        if not (f.is_Pow and f.exp.is_Integer and f.exp < 0 and _shifted_product(f.base)):
            continue
        k, p = sorted(f.base.args, key=lambda e: not e.is_number)
        rest = sp.Mul(*[g for g in node.args if g is not f])
        n = -int(f.exp)
        r = _shifted_power_base(rest, n)  # (cube47: Rⁿ/(k + p)ⁿ as (R/(k + p))ⁿ, test_far45's y²/(1 − x·y)²)
        if r is None:
            continue
        a = p / r
        # (far45: a = −x was passed over, so x/(1 − x²) at |x| past 10¹⁵⁴ was ∓0 for ∓1/x: x² overflowed)
        core = -a if a.could_extract_minus_sign() else a
        if not (core.is_Symbol or (core.is_Pow and core.base.is_Symbol and core.exp.is_Integer)):
            continue
        far = 1 / (a + k / r)  # |k/R| = |k·a/p| ≤ 2⁻¹⁰⁰⁰·|a|: no cancellation
        near = rest / widen(f.base)
        if n > 1:  # (R/(k + p))ⁿ: Rⁿ overflows where the quotient does not (|R| past 2^(1024/n), |p| below 2¹⁰⁰⁰)
            far, near = Grouped(far) ** n, Grouped(widen(r / f.base)) ** n
        return sp.Piecewise((far, sp.Abs(p) > _PRODUCT_RANGE[1]), (near, True))
    return None


def _shifted_power_base(rest, n):
    """R where ``rest`` is Rⁿ (R itself for n = 1; for n ≥ 2 a power Rⁿ of an input R), else None. Session 47 (h-cube47):
    ∂x of y/(1 − x·y), y²/(1 − x·y)², was 0 for 1/x² where |x·y| > 2¹⁰⁰⁰ and y² overflows (9.0e15 ULP at 33 of 200
    points, |x·y| in [10³⁰¹·¹, 10⁶⁰⁰]; torch the same); there (1/(1/y − x))², the square of log1p's derivative's far
    form, whose base is ≈ −1/x, normal; below 2¹⁰⁰⁰ (y/W)², W = 1 − x·y widened, not y²·W⁻² (y² overflowed past
    |y| = 1.3e154 there too: 162 of 300 past 4 ULP over |x·y| in [10²⁹⁰, 10³¹⁰], torch 145)."""
    if n == 1:
        return rest
    if rest.is_Pow and rest.exp == n and rest.base.is_Symbol:
        return rest.base
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
    "log1p's derivative y/(1 + x·y) as 1/(x + 1/y) where x·y is past 2¹⁰⁰⁰ (y/inf = 0 where it is 1/x; so is "
    "R/(k − a·R): x/(1 − x²) as 1/(1/x − x), ∓0 for ∓1/x from |x| = 10¹⁵⁴·⁵, torch the same; and its power "
    "Rⁿ/(k + a·R)ⁿ, ∂x of y/(1 − x·y), y²/(1 − x·y)², as (1/(1/y − x))² there and (y/(1 − x·y) widened)² below: y² "
    "overflowed first, 0 for 1/x², 9.0e15 ULP; torch the same); a rounded "
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
    apply=_rounded_log_arguments, fired=_rewrote)

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
    fired=_rewrote)


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
    apply=_two_minus_exp_root, fired=_rewrote)


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
    from .pipeline import _LOCAL  # a later module: imported at the call
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


# ------------------------------------------------------------------ overflowing-log1p (issue 16, session 19: log(1 + (p − t)²/s)
# is inf in float64 at p − t = 1e200, s = 1 where it is 921.03, its ∂p 0 where 2e−200 and ∂s −0 where −1: the quotient
# overflows while its log does not; torch the same); tested in tests/test_gauss19.py


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


def _widened_overflowing_log1p(node):
    """A widened sum (:class:`WidenedBase`) holding a term log1p(X) of an overflowing product X → {widen(the sum with
    log X = log|c| + Σ n·log|a| for it) if X > 2¹⁰⁰⁰; the widened sum otherwise}; None for any other node. mix48: the
    Cauchy NLL log(π·s) + log(1 + ((x − m)/s)²), widened whole, was inf where X overflows (m = −1e200, s = 0.0184,
    x = 1.45e−6: true 926.17); the far branch computed on its elements alone (a far condition), in double words (its
    logs may cancel: log(π·s) against −2·log|s|)."""
    body = node.body
    if not body.is_Add:
        return None
    for term in body.args:
        c, f = term.as_coeff_Mul()
        if not isinstance(f, log1p):
            continue
        found = _overflowing_product(_ungrouped_math(f.args[0]))
        if found is None:
            continue
        k, powers = found
        total = sp.log(sp.Abs(k)) + sp.Add(*[n * sp.log(sp.Abs(a)) for a, n in powers])
        far = widen(body.xreplace({term: c * total}))
        return sp.Piecewise((far, sp.StrictGreaterThan(f.args[0], _PRODUCT_RANGE[1], evaluate=False)), (node, True))
    return None


def _overflowing_log1ps(expr):
    """``expr`` with each log1p of an overflowing product and each quotient by 1 + it rewritten where the product
    passes 2¹⁰⁰⁰ (:func:`_overflowing_log1p_node`), a widened sum holding such a log1p too
    (:func:`_widened_overflowing_log1p`)."""
    if not isinstance(expr, sp.Basic) or not expr.has(log1p, sp.Pow, WidenedBase):
        return expr
    widened = {}
    for node in expr.atoms(WidenedBase):
        new = _widened_overflowing_log1p(node) if node.body.has(log1p) else None
        if new is not None:
            widened[node] = new
    if widened:
        expr = expr.xreplace(widened)
    if not expr.has(log1p, sp.Pow):
        return expr
    return _top_down(expr, _overflowing_log1p_node, _KEPT)


OVERFLOWING_LOG1P = Rule(
    "overflowing-log1p", "log1p(X) of a product or quotient X of inputs and sums of inputs (log(1 + (p − t)²/s), a "
    "Cauchy-type loss) overflows with X (p − t = 1e200, s = 1: inf where it is 921.03, float64; torch the same), and "
    "its derivatives R/(1 + X) are R/inf = 0 (∂p 0 where 2e−200, ∂s −0 where −1); where X passes 2¹⁰⁰⁰ (in float32: "
    "where it is inf) log1p(X) is log X = log|c| + Σ n·log|a| (log1p(1/X) < 2⁻¹⁰⁰⁰ dropped; each |log a| ≤ 745 while "
    "log X ≥ 693: no cancellation) and R/(k + X) is 1/a with a = X/R cancelled (∂p: 2/(p − t), ∂s: −1/s; "
    "1/(a·(1 + k/X)) exactly, k/X < 2⁻¹⁰⁰⁰ dropped; a's factors may hold an input plus a number: the Student-t's "
    "∂x (ν + 1)·(x − μ)/(ν + (x − μ)²) is 1/a with a = (x − μ)/(ν + 1), 0 for 4e−200 at ν = 3, x − μ = 1e200 before); "
    "a widened sum holding such a log1p(X) likewise, widened again with log X where X > 2¹⁰⁰⁰ (the Cauchy NLL "
    "log(π·s) + log(1 + ((x − m)/s)²) was inf at m = −1e200, s = 0.0184, x = 1.45e−6 for 926.17; torch inf)",
    apply=_overflowing_log1ps, fired=_rewrote)

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


# ------------------------------------------------------------------ nll44 (issue 16, session 44, h-nll44: the
# negative-binomial NLL's ∂r and the Student-t NLL's ∂ν of four inputs, sums of logs near 0 and the rational terms
# they cancel, widened; its ∂k, the log of a quotient near 1, as log1p); tested in tests/test_nll44.py

_LOG_SUM_DEGREE_REACH = 960  # the widened-log-sum rule's inputs within 2^±⌊960/D⌋ (D its sum's degree), at most 2^±120
_LOG_SUM_PROBES = 256  # random points at which the sum's cancellation near a log's zero is measured (30 digits)


def _log_sum_degree(e) -> int | None:
    """A bound on how many inputs' factors a value of ``e`` multiplies (a sum: its largest term; xⁿ: |n| of x's);
    None where ``e`` holds a function other than log and log1p, or a power that is not an integer."""
    if e.is_Symbol:
        return 1
    if e.is_number:
        return 0
    if isinstance(e, (sp.log, log1p)):
        return _log_sum_degree(e.args[0])
    if e.is_Pow:
        d = _log_sum_degree(e.base)
        return None if d is None or not e.exp.is_Integer else abs(int(e.exp)) * d
    if e.is_Add or e.is_Mul:
        ds = [_log_sum_degree(a) for a in e.args]
        return None if None in ds else (max(ds) if e.is_Add else sum(ds))
    return None


def _near_zero_logs(node):
    """The logs of ``node`` that are 0 where their argument's terms are not: log1p(X) and log(A) with A holding a
    sum (log(1 + X), log(P/(P + Q))), as (argument, value of the argument where the log is 0)."""
    found = []
    for n in sp.preorder_traversal(node):
        if isinstance(n, log1p):
            found.append((n.args[0], 0))
        elif isinstance(n, sp.log) and n.args[0].has(sp.Add):
            found.append((n.args[0], 1))
    return found


def _log_sum_cancels(node, logs) -> bool:
    """At some of :data:`_LOG_SUM_PROBES` random points (inputs ±10^U(−2, 2), three in four positive; seed 44) where a
    log of ``logs`` is within 1/4 of 0 the sum ``node`` is below 1/16 of the sum of its terms' sizes (30 digits)."""
    import random

    symbols = sorted(node.free_symbols, key=sp.default_sort_key)
    terms = sp.lambdify(symbols, list(sp.Add.make_args(node)), "mpmath")
    arguments = sp.lambdify(symbols, [a for a, _ in logs], "mpmath")
    zeros = [z for _, z in logs]
    rng = random.Random(44)
    with mpmath.workdps(30):
        for _ in range(_LOG_SUM_PROBES):
            point = [mpmath.mpf(10.0 ** rng.uniform(-2, 2) * (1 if rng.random() < 0.75 else -1)) for _ in symbols]
            try:
                near = any(abs(a - z) < 0.25 for a, z in zip(arguments(*point), zeros))
                values = terms(*point) if near else None
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if values is None or any(isinstance(v, mpmath.mpc) for v in values):
                continue
            if abs(sum(values)) < sum(abs(v) for v in values) / 16:
                return True
    return False


def _far_log_sum(node):
    """node's form where the X of its log(1 + X) (log1p(X)), a product of inputs and sums of inputs, passes 2¹⁰⁰⁰, as
    (form, X), each term as overflowing-log1p takes it: k·log(1 + X) → k·(log|c| + Σ n·log|a|) for X = c·Π aⁿ,
    R/(1 + X) → 1/a' with a' = X/R a product of inputs (and inputs plus a number), a term free of X and of powers
    beyond the first as it is; None where node has another term or more than one such X."""
    xs = {n.args[0] for n in sp.preorder_traversal(node) if isinstance(n, log1p)}
    xs |= {n.args[0] - 1 for n in sp.preorder_traversal(node)
           if isinstance(n, sp.log) and n.args[0].is_Add and sp.S.One in n.args[0].args}
    if len(xs) != 1:
        return None
    (X,) = xs
    found = _overflowing_product(X)
    if found is None:
        return None
    c, powers = found
    total = sp.log(sp.Abs(c)) + sp.Add(*[n * sp.log(sp.Abs(a)) for a, n in powers])
    logs = {sp.log(1 + X), log1p(X)}
    terms = []
    for t in sp.Add.make_args(node):
        if t.has(*logs):
            k = sp.cancel(t / next(f for f in logs if t.has(f)))
            if k.has(*logs, X) or k.has(sp.log, log1p) or _log_sum_degree(k) not in (0, 1):
                return None
            terms.append(k * total)
            continue
        dens = [f for f in sp.Mul.make_args(t) if f.is_Pow and f.exp == -1 and sp.expand(f.base - 1 - X) == 0]
        if dens:
            a = sp.factor_terms(sp.cancel(X / (t * dens[0].base)))
            if _product_of_inputs(a, shifted=True) is None:
                return None
            terms.append(1 / a)
            continue
        if t.has(X) or _log_sum_degree(t) not in (0, 1) or t.has(sp.Add):
            return None
        terms.append(t)
    return sp.Add(*terms), X


def _widened_log_sum(node):
    """node, a sum of three or more inputs of rational terms and logs (log(1 + X), log1p(X), log(P/(P + Q))) that
    cancels where such a log is near 0 → (widen(node), B, far), B = min(120, ⌊960/D⌋) for the sum's degree D, far
    :func:`_far_log_sum`'s (form widened, X) or None; None elsewhere."""
    if not node.is_Add or len(node.free_symbols) < 3:
        return None
    degree = _log_sum_degree(node)
    logs = _near_zero_logs(node)
    if degree is None or degree == 0 or not logs or not _log_sum_cancels(node, logs):
        return None
    far = _far_log_sum(node)
    return widen(node), min(120, _LOG_SUM_DEGREE_REACH // degree), far and (widen(far[0]), far[1])


def _widened_log_sums(expr):
    """``expr`` → Piecewise((``expr`` with every largest sum that :func:`_widened_log_sum` takes widened, every input
    of those sums within 2^±B or 0, B the least of theirs), (``expr`` with those sums' far forms widened, each X past
    2¹⁰⁰⁰, where every such sum has one), (``expr``, True)); ``expr`` where none is taken. First, where one sum is
    taken and :func:`_log_complement_near` has its series form, (``expr`` with that form, |Q/P| ≤ 2⁻³⁰)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.log, log1p) or expr.has(sp.Piecewise, sp.Indexed, WidenedBase):
        return expr
    taken: dict = {}

    def form(node):
        out = _widened_log_sum(node)
        if out is None:
            return None
        taken[node] = out[1:]
        return out[0]

    new = _top_down(expr, form)
    if not taken:
        return expr
    reach = min(b for b, _ in taken.values())
    high, low = sp.Float(2.0 ** reach), sp.Float(2.0 ** -reach)
    inputs = sorted(set().union(*(n.free_symbols for n in taken)), key=sp.default_sort_key)
    inside = sp.And(*[(sp.Abs(v) < high) & ((sp.Abs(v) > low) | sp.Eq(v, 0)) for v in inputs])
    branches = [(new, inside)]
    near = _log_complement_near(taken) or _log1p_series_near(taken)  # nbfix44, series49: where Q/P (X) is below
    # 2⁻³⁰, before the widened form
    if near is not None:
        branches.insert(0, (expr.xreplace({near[0]: near[1]}), near[2]))
    if all(far is not None for _, far in taken.values()):
        far_form = expr.xreplace({n: far[0] for n, (_, far) in taken.items()})
        far_where = sp.And(*[sp.StrictGreaterThan(far[1], _PRODUCT_RANGE[1], evaluate=False)
                             for _, far in taken.values()])
        branches.append((far_form, far_where))
    return sp.Piecewise(*branches, (_far_widened_log_sums(expr, taken), True))  # stt45: the scaled tier past 2^±B
    # (sums of log1p(X) and log(1 + X) alone)


WIDENED_LOG_SUM = Rule(
    "widened-log-sum", "a sum of three or more inputs of rational terms and logs that are 0 where their arguments' "
    "terms are not (log(1 + X), log1p(X), log(P/(P + Q))) cancels near such a zero, the log rounded to an ulp of "
    "itself and its argument before it to an ulp of 1 (the negative-binomial NLL's ∂r, −1 − log(r/(μ + r)) + "
    "(k + r)/(μ + r) = log1p(μ/r) − μ/(μ + r) at k = 0, ≈ (μ/r)²/2: 384 ULP in float64 at k = 0, μ = 0.108, r = 17.7, "
    "torch 1.68e4; the Student-t NLL's ∂ν of four inputs, ½log(1 + a) − (ν + 1)·a/(2ν(1 + a)), a = (x − m)²/(νs²), "
    "whose terms of size a meet where a is small: 218 ULP at ordinary data, torch 8.8e5; the two-input one is "
    "log1p-series'); computed as the widen rule computes a sum (double words, about 106 bits: log and log1p of a "
    "double word to 2⁻¹⁰⁰ or so, rounded once), where every input is 0 or within 2^±B, B = min(120, ⌊960/D⌋) for the "
    "sum's degree D (its values then stay within 2^±960); where the X of its one log(1 + X), a product of inputs and "
    "sums of inputs, passes 2¹⁰⁰⁰, the overflowing-log1p rule's far terms (log X = log|c| + Σ n·log|a|, R/(1 + X) = "
    "1/a' with a' = X/R a product; each to 2⁻¹⁰⁰⁰ relative) summed the same way (the three-input Student-t's ∂ν "
    "log X/2 − (ν + 1)/(2ν) at x − μ = 3.5e183, ν = 0.00125: 16.9 ULP, torch NaN); where an input is past 2^±B "
    "otherwise, a sum of log(1 + X) and log1p(X) (no log(P/(P + Q))) widened in scaled double words, each leaf scaled to [1/2, 1) (the four-input ∂ν at "
    "s = 8.0e−142, a = 700: 36 ULP as the float64 sum, torch 20); before those, where the sum is "
    "a·log(P/(P + Q)) + R with a·u/(1 + u) + R (u = Q/P) one product T of inputs and their sums and |u| ≤ 2⁻³⁰, "
    "a·u²·(1/2 − 2u/3) + T (log1p(u) − u/(1 + u) = Σ_{n≥2} (−1)ⁿ(n − 1)/n·uⁿ, the rest below 2⁻⁵⁹ of it; the "
    "negative-binomial ∂r at k = 0, μ = 1e−100, r = 1e10: 1e−110 for 5e−221, 1.0e126 ULP, torch 0); as before (the "
    "rules after this one) elsewhere. Fired where the sum is below 1/16 of its terms' sizes at one of 256 random points (30 digits) "
    "beside such a zero",
    apply=_widened_log_sums, fired=_rewrote, before=True)


def _log_quotient_complement(node):
    """log(P/(P + Q)), P and Q products of a number and powers of inputs → Piecewise((−log1p(Q/P),
    −1/2 ≤ Q/P ≤ 2¹²⁶), (log(P/(P + Q)), True)), final; None elsewhere."""
    if not isinstance(node, sp.log):
        return None
    p, d = sp.fraction(node.args[0])
    if not (d.is_Add and len(d.args) == 2 and p in d.args) or p.has(sp.Add) or not p.free_symbols:
        return None
    q = d - p
    if q.has(sp.Add, sp.Function) or p.has(sp.Function) or not q.free_symbols:
        return None
    ratio = q / p
    # below 2¹²⁶ (review44): where Q/P overflows (μ = 1e−300, r = 1e10 in the negative-binomial NLL) −log1p(inf) is −inf;
    # past 2¹²⁶ (nbsub45) log|P| − log|P + Q| in double words, where P/(P + Q) < 2⁻¹²⁶ may be subnormal (r = 2.8e−319)
    return _Final(sp.Piecewise((-log1p(ratio), (ratio >= sp.Rational(-1, 2)) & (ratio <= sp.Integer(2) ** 126)),
                               (_log_quotient_far(p, q), ratio > sp.Integer(2) ** 126), (node, True)))


LOG_QUOTIENT_COMPLEMENT = Rule(
    "log-quotient-complement", "log(P/(P + Q)) near 0 (|Q| ≪ |P|) has the rounding of P + Q and of the quotient, "
    "each an ulp of 1, for a result of size Q/P (the negative-binomial NLL's ∂k = −log(μ/(μ + r)): 10.6 ULP in float64 "
    "at k = 2, μ = 13.36, r = 0.736; torch the same); it is −log1p(Q/P) (an identity where P/(P + Q) > 0: "
    "(P + Q)/P = 1 + Q/P), Q/P rounded once and log1p's condition |v/((1 + v)·log1p(v))| at most 1.443 for v ≥ −1/2 (1/(2 log 2) at −1/2): "
    "within 1.2 ULP; taken where −1/2 ≤ Q/P ≤ 2¹²⁶ (P, Q products of inputs), as written below (where P + Q is exact by "
    "Sterbenz for two inputs and P/(P + Q) ≥ 2 or negative); past 2¹²⁶, where Q/P may overflow (−log1p(inf) = −inf "
    "where the negative-binomial NLL at μ = 1e−300, r = 1e10 is 1427.6) and P/(P + Q) < 2⁻¹²⁶ may be subnormal "
    "(the negative-binomial ∂r at k = 0.0794, μ = 56792.6, r = 2.806e−319: 6.6e7 ULP in float64, torch 250), "
    "log|c| + Σ n·log|a| − log|P + Q| (P = c·Π aⁿ; P and P + Q share a sign there) in double words, rounded once", local=_log_quotient_complement)


# ------------------------------------------------------------------ zip44 (issue 16, session 44, h-zip44: the zero-
# inflated Poisson NLL's zero term −log(σ(a) + σ(−a)·e^(−λ)): 4.7e21 ULP in float32 at a = 0.3, λ = 1e−30, torch
# 1.7e7; 1.9e8 ULP in float64 at a = λ = 20, torch the same); tested in tests/test_zip44.py

_SIGMOID_MIXTURE_NEAR = sp.Rational(1, 2)  # log1p(q) taken for −1/2 < q < 1: its condition q/((1 + q)·log1p q) ≤ 1.45


def _sigmoid_mixture_parts(s):
    """s = σ(x) + σ(−x)·e^w (either order of the terms, e^w any exponential; σ(−x) written 1 − σ(x) too: the zero term
    π + (1 − π)·e^(−λ) with π = σ(a), before sigmoid-complement rewrites it) → (x, w); None otherwise."""
    if s.is_Add and len(s.args) == 3:
        return _sigmoid_mixture_complement_parts(s)
    if not s.is_Add or len(s.args) != 2:
        return None
    s = _sigmoids_written_out(s)  # worse46: 1/(1 + e^−a) + e^w/(1 + e^a) as σ(a) + σ(−a)·e^w
    for first, second in (s.args, s.args[::-1]):
        if not isinstance(first, sigmoid):
            continue
        x = first.args[0]
        factors = sp.Mul.make_args(second)
        for complement in (sigmoid(-x), 1 - first):  # break45: 1 − σ(x) = σ(−x)
            if len(factors) == 2 and complement in factors:
                (other,) = [f for f in factors if f != complement]
                if isinstance(other, sp.exp):
                    return x, other.args[0]
    return None


def _sigmoid_mixture_log_node(node):
    """log(σ(x) + σ(−x)·e^w) → {log1p(q), q = σ(−x)·expm1(w), widened, where −1/2 < q < 1; the log as written
    elsewhere}; None where ``node`` is not such a log.

    Proof: σ(x) = 1 − σ(−x), so σ(x) + σ(−x)·e^w = 1 + σ(−x)·(e^w − 1) = 1 + q exactly (an identity of reals). q is a
    product of two factors each accurate relative to itself (no subtraction: expm1 keeps e^w − 1's digits where w ≈ 0,
    σ(−x) is printed from e^−|x|), so log1p(q) is accurate where its condition q/((1 + q)·log1p q) is small: at most
    1.45 on −1/2 < q < 1. Elsewhere 1 + q ≤ 1/2 or ≥ 2, so |log(1 + q)| ≥ 0.69 and the log of the sum of two positive
    terms as written has condition ≤ 1.45 too. A NaN q (σ(−x) = 0 times expm1(w) = inf) fails the comparison: the
    log as written."""
    if not isinstance(node, sp.log):
        return None
    parts = _sigmoid_mixture_parts(node.args[0])
    if parts is None:
        return None
    x, w = parts
    q = sigmoid(-x) * expm1(w)
    near = sp.And(q > -_SIGMOID_MIXTURE_NEAR, q < 1)
    if len(node.args[0].args) == 3:  # 1 − σ(−x) + σ(−x)·e^w: elsewhere as σ(x) + σ(−x)·e^w (break46)
        node = sp.log(sigmoid(x) + sigmoid(-x) * sp.exp(w))
    return _Final(sp.Piecewise((widen(log1p(q)), near), (node, True)))


def _sigmoid_mixture_log(expr):
    """Every log of :func:`_sigmoid_mixture_log_node` in ``expr`` rewritten."""
    return rewrite_nodes(lambda n: getattr(_sigmoid_mixture_log_node(n), "expr", None), expr, sp.log, sigmoid)


SIGMOID_MIXTURE_LOG = Rule(
    "sigmoid-mixture-log", "log(σ(x) + σ(−x)·e^w) (σ(−x) written 1 − σ(x) too, and σ written out, 1/(1 + e^−x) and "
    "e^w/(1 + e^x); the zero-inflated Poisson NLL's zero "
    "term, π + (1 − π)·e^(−λ) with π = σ(a)) is log of a sum near 1 where σ(−x)·(e^w − 1) is small: 4.7e21 ULP in float32 at a = 0.3, "
    "λ = 1e−30 (2.2e−16 for 4.26e−31; torch 1.7e7), 1.9e8 ULP in float64 at a = λ = 20 (torch the same); the sum is "
    "1 + q exactly with q = σ(−x)·expm1(w) (σ(x) = 1 − σ(−x)), so log1p(q), q a product of two accurate factors, "
    "computed in double words and rounded once, where −1/2 < q < 1 (log1p's condition ≤ 1.45); the log as written "
    "elsewhere (|log| ≥ 0.69 there: condition ≤ 1.45)",
    apply=_sigmoid_mixture_log, fired=_rewrote, before=True)


# ------------------------------------------------------------------ nbfix44 (issue 16, session 44, h-nbfix44: the
# negative-binomial NLL's ∂r at k = 0 where μ/r is far below the widened-log-sum rule's reach); tested in
# tests/test_nbfix44.py

_LOG_COMPLEMENT_SERIES_BELOW = sp.Integer(2) ** -30  # |u| ≤ 2⁻³⁰: u²/2 − 2u³/3 is log1p(u) − u/(1 + u) to 1.5u² ≤ 2⁻⁵⁹


def _log_complement_near(taken):
    """The one sum of ``taken`` (widened-log-sum's) as (sum, form, where) with form = a·g(u) + T, g(u) = log1p(u) −
    u/(1 + u) as u²·(1/2 − 2u/3), where |u| ≤ 2⁻³⁰: the sum holds one log, a number a times log(P/(P + Q)) = −log1p(u)
    (u = Q/P, P and Q products of a number and powers of inputs), and T = sum + a·log(P/(P + Q)) + a·u/(1 + u) is,
    cancelled, one product of a number and powers of inputs and sums of inputs (the negative-binomial NLL's ∂r:
    k/(μ + r)); None elsewhere.

    Proof: by T's definition the sum is −a·log(P/(P + Q)) − a·u/(1 + u) + T, and −log(P/(P + Q)) = log1p(u) where
    P/(P + Q) > 0, so the sum is a·g(u) + T exactly. g(u) = Σ_{n≥2} (−1)ⁿ(n − 1)/n·uⁿ (log1p(u) = Σ (−1)ⁿ⁺¹uⁿ/n,
    u/(1 + u) = Σ (−1)ⁿ⁺¹uⁿ); for |u| ≤ 2⁻³⁰ the terms from n = 4 on sum to at most (3/4)u⁴/(1 − |u|) ≤ 1.5u²·u²/2,
    below 2⁻⁵⁹ of u²/2, and 2u/3 is below 2⁻³⁰ of 1/2: u²·(1/2 − 2u/3) with u rounded once is within about 1.5 ULP of
    g(u) (2 ULP where u² is subnormal and below). T is one product of rounded factors: a few ULP of itself; where a·g
    and T share a sign (k ≥ 0, μ, r > 0 in the negative-binomial NLL) their sum keeps the larger's error."""
    if len(taken) != 1:
        return None
    (node,) = taken
    logs = [n for n in sp.preorder_traversal(node) if isinstance(n, (sp.log, log1p))]
    if len(logs) != 1 or not isinstance(logs[0], sp.log):
        return None
    (L,) = logs
    p, d = sp.fraction(L.args[0])
    if not (d.is_Add and len(d.args) == 2 and p in d.args) or p.has(sp.Add, sp.Function) or not p.free_symbols:
        return None
    q = d - p
    if q.has(sp.Add, sp.Function) or not q.free_symbols:
        return None
    a = -sp.cancel(sp.Add(*[t / L for t in sp.Add.make_args(node) if t.has(L)]))
    if not a.is_number or a == 0:
        return None
    u = q / p
    t = sp.factor(sp.cancel(node + a * L + a * u / (1 + u)))
    if t.has(sp.log, log1p) or (t != 0 and _product_of_inputs(t, shifted=True) is None):
        return None
    v = Grouped(u)  # Q/P rounded once: as μ²/r², μ² underflows where (μ/r)² does not
    g = v ** 2 * (sp.Rational(1, 2) - sp.Rational(2, 3) * v)
    return node, a * g + t, sp.Abs(u) <= _LOG_COMPLEMENT_SERIES_BELOW


def _log1p_series_near(taken):
    """series49: the one sum of ``taken`` (widened-log-sum's) as (sum, form, where) with form = widen(a·u²/2 + T) +
    a·v³·(−2/3 + 3v/4 − 4v²/5) (v = u rounded once), where |u| ≤ 2⁻³⁰ and every input is 0 or within 2^±B'
    (B' = min(120, ⌊960/D'⌋) for the degree D' of a·u²/2 + T): the sum holds one log, a number a times log1p(u) or
    log(1 + u), and T = sum − a·log1p(u) + a·u/(1 + u) is, cancelled (its sums of inputs kept whole), free of logs
    (the Student-t NLL's ∂ν, log1p(u)/2 − (ν + 1)·u/(2ν(1 + u)), u = (x − m)²/(νs²): T = −w²/(2ν(νs² + w²)),
    w = x − m); None elsewhere.

    Why: where u is far below 2⁻⁵³ (ν = 1e24) the widened sum's terms of size u cancel to u²/4 − u/(2ν), past what
    double words hold (1.4e7 ULP at m = 0.3, ν = 1e24, s = 1.3, x = 1.1; torch 1.0e40). Proof: the sum is
    a·log1p(u) − a·u/(1 + u) + T = a·g(u) + T by T's definition, g(u) = Σ_{n≥2} (−1)ⁿ(n − 1)/n·uⁿ (log1p(u) =
    Σ (−1)ⁿ⁺¹uⁿ/n, u/(1 + u) = Σ (−1)ⁿ⁺¹uⁿ); for |u| ≤ 2⁻³⁰ the terms from n = 6 on sum to at most
    (5/6)u⁶/(1 − |u|) ≤ 1.7u⁴ of u²/2, below 2⁻¹¹⁹. a·u²/2 + T, where the terms cancel, is held in double words
    (about 2⁻¹⁰⁶ of its terms; within 2^±B' no product leaves the range) and rounded once; the rest,
    a·u³·(…), is below 2⁻²⁹ of a·u²/2, so its float64 error (a few 2⁻⁵³ of itself, v a few ULP of u) is below
    2⁻⁸⁰ of a·u²/2: the result is within a few ULP of the sum unless a·u²/2 and T cancel past 2⁻²⁵ of themselves."""
    if len(taken) != 1:
        return None
    (node,) = taken
    logs = [n for n in sp.preorder_traversal(node) if isinstance(n, (sp.log, log1p))]
    if len(logs) != 1:
        return None
    (L,) = logs
    if isinstance(L, sp.log) and not (L.args[0].is_Add and sp.S.One in L.args[0].args):
        return None
    u = L.args[0] if isinstance(L, log1p) else L.args[0] - 1
    if not u.free_symbols or u.has(sp.Function, sp.Piecewise):
        return None
    a = sp.cancel(sp.Add(*[t / L for t in sp.Add.make_args(node) if t.has(L)]))
    if not a.is_number or a == 0:
        return None
    sums = {n: sp.Dummy() for n in sp.preorder_traversal(u) if n.is_Add and _rounded_sum(n)}
    back = {d: n for n, d in sums.items()}
    t = sp.factor(sp.cancel((node - a * L + a * u / (1 + u)).xreplace(sums))).xreplace(back)
    if t.has(sp.log, log1p, sp.Function, sp.Piecewise):
        return None
    head = a * u ** 2 / 2 + t
    degree = _log_sum_degree(head)
    if not degree:
        return None
    reach = min(120, _LOG_SUM_DEGREE_REACH // degree)
    high, low = sp.Float(2.0 ** reach), sp.Float(2.0 ** -reach)
    inputs = sorted(node.free_symbols, key=sp.default_sort_key)
    v = Grouped(u)
    form = widen(head) + a * v ** 3 * (-sp.Rational(2, 3) + sp.Rational(3, 4) * v - sp.Rational(4, 5) * v ** 2)
    where = sp.And(sp.Abs(v) <= _LOG_COMPLEMENT_SERIES_BELOW,  # v as written: 0 or inf where u leaves the range
                   *[(sp.Abs(x) < high) & ((sp.Abs(x) > low) | sp.Eq(x, 0)) for x in inputs])
    return node, form, where


# ------------------------------------------------------------------ nbsub45 (issue 16, session 45, h-nbsub45: the
# negative-binomial NLL's ∂r at a subnormal r, log-quotient-complement past 2¹²⁶); tested in tests/test_nbsub45.py

def _log_quotient_far(p, q):
    """log(P/(P + Q)) where Q/P > 2¹²⁶ as log|c| + Σ n·log|a| − log|P + Q| (P = c·Π aⁿ), widened: computed in double
    words in a float64 kernel (in float64 in a float32 one) and rounded once.

    Proof: Q/P > 0 there, so P and Q, hence P and P + Q, share a sign, and P/(P + Q) = |P|/|P + Q| > 0: its log is
    log|P| − log|P + Q| exactly, log|P| = log|c| + Σ n·log|a| (each |a| > 0 where P is finite and nonzero; a factor 0
    makes both −inf). Each log is of a double word (an input, or P + Q as a two-sum or of two-products) to about
    2⁻¹⁰⁰ of itself, each at most 745 in size while the result is at least 126·log 2 = 87.3: the sum is within
    2⁻⁹⁰ or so of its size before its one rounding. As written, P/(P + Q) is rounded to a subnormal where it is below
    2⁻¹⁰²² (r = 2.806e−319, μ = 56792.6: 4.9e−324, one bit) and its log keeps that bit's error."""
    c, rest = p.as_coeff_Mul()
    powers = [f.as_base_exp() for f in sp.Mul.make_args(rest)]
    log_p = sp.log(sp.Abs(c)) + sp.Add(*[n * sp.log(sp.Abs(a)) for a, n in powers])
    return widen(log_p - sp.log(sp.Abs(p + q)))


# ------------------------------------------------------------------ stt45 (issue 16, session 45, h-stt45: the
# widened-log-sum rule past its reach, in the scaled tier); tested in tests/test_stt45.py

def _far_widened_log_sums(expr, taken):
    """``expr`` with each sum of ``taken`` (:func:`_widened_log_sums`' sums, each with its B) widened with far_bound
    B (the scaled double words, each leaf scaled to [1/2, 1) by its exponent where one is past 2^±B), taken as
    written where not finite: the widened-log-sum rule's last branch, where an input is past 2^±B.

    Why: there the sum was the float64 form, which cancels as it does within the reach (the Student-t NLL's ∂ν,
    log1p(a)/2 − (ν + 1)·a/(2ν(1 + a)), a = (x − m)²/(ν·s²) = 700 at m = −5.8e−142, ν = 0.169, s = 8.0e−142,
    x = −9.3e−141: terms 3.28 and −3.46 for −0.185, 36 ULP, torch 20), and the widened sum without the scaled
    tier forms s² = 0 where s is below 1e−162 (NaN). In the scaled tier no product over- or underflows, each value is
    a double word to about 2⁻¹⁰⁰ of itself, and log1p of a value past 2¹⁰²³ is log(1 + a) of its scaled double word
    (doubleword._Scaled), so the sum is held as within the reach: to 2⁻¹⁰⁰ or so of its terms, rounded once."""
    # (in_float32: a float32 kernel takes the double words too; without it, the widened body's float64 text, whose
    # log(1 + a) loses a below 2⁻⁵³: ∂ν float32 4.1e8 ULP, worse than torch at 7 of 300 points, 0.50 before)
    return expr.xreplace({n: written_where_not_finite(widen(n, in_float32=True, far_bound=b), n)
                          for n, (b, _) in taken.items() if all(_one_plus_log(n_log) for n_log in _near_zero_logs(n))})


def _one_plus_log(found) -> bool:
    """A log of :func:`_near_zero_logs` that is log1p(X) or log(1 + X): the far tier's (the negative-binomial's
    log(P/(P + Q)) sums keep their written form there: its f at a subnormal r was 8.6 ULP at 13 of 300 points in
    the far tier, within the bound as written)."""
    argument, zero = found
    return zero == 0 or (argument.is_Add and sp.S.One in argument.args)


# ------------------------------------------------------------------ worse46 (issue 16, session 46, h-worse46: the
# zero-inflated Poisson zero term with σ written out, −log(1/(1 + e^−a) + e^−λ/(1 + e^a)), was not read by
# sigmoid-mixture-log: float64 f 2.18e40 ULP at a = 32.686, λ = 3.93e−27, worse than torch at 5 of 300 points, float32
# at 34); tested in tests/test_worse46.py

def _as_sigmoids(e):
    """``e`` as the sigmoid rule's recogniser (core._exp_rational) reads it where that is a product of σ's and
    exponentials (1/(1 + e^−a) → σ(a), e^a/(1 + e^a) → σ(a), 1/(1 + e^a) → σ(−a)), else None (no σ, or a tanh)."""
    found = _exp_rational(e)
    if isinstance(found, _Fired):
        found = found.expr
    if found is None or not found.has(sigmoid) or found.has(sp.tanh):
        return None
    return found


def _sigmoids_written_out(s):
    """The sum ``s`` with each term, or each factor of a product term, that is a σ written out (:func:`_as_sigmoids`)
    replaced by its σ form (the same function: σ(u) = 1/(1 + e^−u) = e^u/(1 + e^u)); the other terms as they are.
    sigmoid-mixture-log runs before the node-by-node pass, where the sigmoid rule has not yet made these σ."""
    terms = []
    for term in sp.Add.make_args(s):
        new = _as_sigmoids(term)
        if new is None and term.is_Mul:
            factors = [_as_sigmoids(f) for f in term.args]
            if any(f is not None for f in factors):
                new = sp.Mul(*[f if g is None else g for f, g in zip(term.args, factors)])
        terms.append(term if new is None else new)
    return sp.Add(*terms)


# ------------------------------------------------------------------ worse46 (issue 16, session 46, h-worse46:
# log((x + y)/y) − x/(x + y), log(1 + x/y) written as a quotient, was as written: 7.57e28 ULP in float64 where x/y is
# small, at 80 of 80 points; torch the same); tested in tests/test_worse46.py

def _log_sum_over_term(node):
    """log((P + Q)/P) → log(1 + Q/P) (P, Q products of a number and powers of inputs, P a term of the sum); None
    where ``node`` is no such log. The rules for log(1 + Q/P) then take it (log1p, rounded-log-argument's double
    words, log1p-series beside −Q/(P + Q)).

    Proof: (P + Q)/P = 1 + Q/P, an identity of reals where P ≠ 0 (where P = 0 the written quotient is ±inf or NaN,
    1 + Q/0 too). As written, P + Q and the quotient each round at an ulp of 1 where |Q/P| is small: log of a number
    near 1 with every digit of Q/P below 2⁻⁵³ lost; log1p(Q/P) keeps them (its condition ≤ 1.443 for Q/P ≥ −1/2).
    Where Q/P is near −1 the sum 1 + Q/P is formed in double words by rounded-log-argument (to 2⁻¹⁰⁶ of 1), where
    as written P + Q was exact (Sterbenz, two inputs) and the quotient rounded once: both within a few ULP."""
    if not isinstance(node, sp.log):
        return None
    n, d = sp.fraction(node.args[0])
    if not (n.is_Add and len(n.args) == 2 and d in n.args) or d.has(sp.Add, sp.Function) or not d.free_symbols:
        return None
    q = n - d
    if q.has(sp.Add, sp.Function) or not q.free_symbols:
        return None
    return sp.log(1 + q / d)


LOG_SUM_OVER_TERM = Rule(
    "log-sum-over-term", "log((P + Q)/P) (log(1 + x/y) written as the quotient log((x + y)/y)) rounds P + Q and the "
    "quotient at an ulp of 1 where Q/P is small, every digit of Q/P below 2⁻⁵³ lost (log((x + y)/y) − x/(x + y) "
    "7.57e28 ULP in float64 at x = 1.03e−12, y = 324.5: −5.3e−17 for 5.0e−30; torch the same); it is log(1 + Q/P) "
    "(an identity where P ≠ 0), which the log1p, rounded-log-argument and log1p-series rules take",
    local=_log_sum_over_term)


# ------------------------------------------------------------------ break46 (issue 16, session 46, h-break46:
# sigmoid-mixture-log with σ(x) written 1 − σ(−x)); tested in tests/test_break46.py

def _sigmoid_mixture_complement_parts(s):
    """s = 1 − σ(y) + σ(y)·e^w (any order of the terms; σ(−y) written 1 − σ(y), the other side of break45's
    1 − σ(x) = σ(−x)) → (−y, w): s is σ(−y) + σ(y)·e^w, the mixture with x = −y, whose log is written with those
    two terms where the rule's log1p is not taken; None otherwise. As a three-term sum it was log1p(σ(y)·expm1(w))
    on every element: −inf where q = σ(y)·expm1(w) rounds to −1 (log(1 − σ(−a) + σ(−a)·e^(−l)) at a = −88.7,
    l = 88.7: −inf for −88.007; torch −88.7; session 46)."""
    if sp.S.One not in s.args:
        return None
    rest = [t for t in s.args if t != sp.S.One]
    for first, second in (rest, rest[::-1]):
        if not (first.is_Mul and len(first.args) == 2 and first.args[0] == -1 and isinstance(first.args[1], sigmoid)):
            continue
        y = first.args[1].args[0]
        factors = sp.Mul.make_args(second)
        if len(factors) == 2 and sigmoid(y) in factors:
            (other,) = [f for f in factors if f != sigmoid(y)]
            if isinstance(other, sp.exp):
                return -y, other.args[0]
    return None


# ------------------------------------------------------------------ break47 (issue 16, session 47, h-break47:
# inverse-hyperbolic-log, asinh and atanh written out as logs); tested in tests/test_break47.py

def _inverse_hyperbolic_log(node):
    """log(u + √(u² + 1)) → asinh(u) (u any term: √(u² + 1) − u is log(−u + …) = −asinh(u)), and log(P/Q) with P + Q = 2c,
    c a positive number, → 2·atanh(u/c) = log1p(2u/(c − u)) where |u| < c/2, u = (P − Q)/2 (log((1 + x)/(1 − x)) =
    2·atanh(x)), as written beyond; None where ``node`` is no such log.

    Proof: asinh v = log(v + √(v² + 1)) for every real v; (c + u)/(c − u) = (1 + u/c)/(1 − u/c) and atanh w =
    log((1 + w)/(1 − w))/2 for |w| < 1; for |w| > 1 both are NaN (the log of a negative number), at w = ±1 both ±inf.
    As written, v + √(v² + 1) and (1 + w)/(1 − w) round at an ulp of 1 where |v|, |w| are small (every digit of v
    below 2⁻⁵³ lost), and v + √(v² + 1) cancels for v ≪ −1; the registry's asinh and atanh are accurate there."""
    if not isinstance(node, sp.log):
        return None
    arg = node.args[0]
    if arg.is_Add and len(arg.args) == 2:
        for root, v in (arg.args, arg.args[::-1]):
            if root.is_Pow and root.exp == sp.S.Half and sp.expand(root.base - v ** 2) == 1:
                return sp.asinh(v)
    n, d = sp.fraction(arg)
    if n.is_Add and d.is_Add:
        c = sp.expand(n + d) / 2
        if c.is_number and c.is_positive:
            u = sp.expand(n - d) / 2
            if u.free_symbols and not u.is_Add:  # (one term: (1 + x)/(1 − x), (2 + x·y)/(2 − x·y))
                # 2·atanh(u/c) = log1p(2u/(c − u)), its argument in (−2/3, 2) where |u| < c/2; past it as written
                # (c − u and c + u exact for an input u there, Sterbenz, where c = 1)
                return sp.Piecewise((log1p(2 * u / (c - u)), sp.Abs(u) < c / 2), (node, True))
    return None


def _inverse_hyperbolic_logs(expr):
    """Every log :func:`_inverse_hyperbolic_log` rewrites, rewritten (outermost first)."""
    return _top_down_having(expr, sp.log, _inverse_hyperbolic_log)


INVERSE_HYPERBOLIC_LOG = Rule(
    "inverse-hyperbolic-log", "asinh and atanh written out, log(x + √(x² + 1)) and log((1 + x)/(1 − x)), round the "
    "log's argument at an ulp of 1 where x is small (every digit of x below 2⁻⁵³ lost: 6.4e9 ULP in float64 at "
    "|x| < 0.1, and 2.66e11 for the atanh form, worse than torch at 78 and 27 of 300 points), and x + √(x² + 1) "
    "cancels for x ≪ −1; they are asinh(x) and 2·atanh(x) (identities of reals; NaN, ±inf where the written log is), "
    "computed by the registry's accurate functions",
    apply=_inverse_hyperbolic_logs, fired=_rewrote, before=True)
