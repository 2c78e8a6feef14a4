"""The loss rules (log-difference, exp-square, sigmoid-target, reciprocal-difference, collect, ...).

Its blocks, in the order of the module rewrite.py that session 43 split into this package: log-difference,
exp-square, loss-rules, first-rules.
"""
from __future__ import annotations

import functools
import itertools
import math

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...special import nexpsq, nexpsq2, softplus
from .core import _Final, _Fired, _is_exp, _positive_number, _rewrote, Rule
from .widening import _top_down, _top_down_having, _widen_hazard, Grouped


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
    log1p(q) (the log1p rule's: the children are stable already), log σ(u) as −softplus(−u) (the log-sigmoid rule's:
    σ(u) rounds to 1 for u > 37 in float64, so log σ(u) was 0 and the generalised cross-entropy (1 − σ(z)^q)/q 0 at
    z = 70, q = 0.3 for 3.3e−31; 142 ULP at z = 5, q = 0.7, log σ(5) from σ(5) rounded; session 48)."""
    t = y * _log_of_base(b)
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


# (from the infinite-limit block of rewrite.py: the split script moved it here, to the first module that uses it)
_FLT_MAX = 3.4028234663852886e38  # float32's largest: x > it is x = +inf in float32, |x| > 3.4e38 in float64
# (from the infinite-limit block of rewrite.py: the split script moved it here, to the first module that uses it)
# The bounds a limit branch may start at: float32's largest, or a power of 2 below it where the form overflows
# before it (x·σ(2x): 2x is inf in float32 from 1.7e38 on, and σ(−2x)·2x then inf·0)
_LIMIT_BOUNDS = tuple(sp.Float(_FLT_MAX / 2 ** k, 17) for k in range(11))
# (from the infinite-limit block of rewrite.py: the split script moved it here, to the first module that uses it)
_LIMIT_BOUND = _LIMIT_BOUNDS[0]
# (from the conjugate block of rewrite.py: the split script moved it here, to the first module that uses it)
_SUM_OF_SQUARES_WEIGHTS = (sp.Rational(1, 2 ** 64), sp.Integer(2 ** 64))
# (from the conjugate block of rewrite.py: the split script moved it here, to the first module that uses it)
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


# ------------------------------------------------------------------ user46 (issue 16, session 46, h-user46: the
# constant-power-minus-one rule, the Barron loss at a fixed α)
def _constant_power_minus_one(node):
    """k − k·(1 + u)^p within a sum, p a number that is neither an integer nor a half-integer (those are the
    polynomial and root rules'), k a number → −k·{expm1(p·log1p(u)) if |p·log1p(u)| < 1; (1 + u)^p − 1}: where
    p·log(1 + u) is small, (1 + u)^p rounds to 1 ± ε and the difference keeps none of u's digits (the Barron loss at
    α = 1/2, 3·(((x/c)²/1.5 + 1)^(1/4) − 1), is 0 for |x/c| < 2.9e−4 in float32 and 1.7e−8 in float64). Exact:
    e^(p·ln(1 + u)) − 1 = (1 + u)^p − 1 for 1 + u > 0; at or below 0, and at NaN, the condition is false and the
    written form is taken."""
    if not node.is_Add:
        return None
    for k in node.args:
        if not (k.is_Number and k != 0):
            continue
        for t in node.args:
            c, power = t.as_coeff_Mul()
            if c != -k or not power.is_Pow:
                continue
            base, p = power.base, power.exp
            if not (p.is_Number and not (2 * p).is_integer and base.is_Add and sp.S.One in base.args
                    and base.free_symbols):
                continue
            q = p * log1p(base - 1)
            far = _monomial_power(base - 1, p)
            if far is None:
                minus_one = sp.Piecewise((expm1(q), sp.Abs(q) < 1), (power - 1, True))
            else:  # (session 48) past u = 2⁶⁰, where u may overflow: u^p·(1 + 1/u)^p, u^p a product of powers
                minus_one = sp.Piecewise((expm1(q), sp.Abs(q) < 1),
                                         (far * (1 + 1 / (base - 1)) ** p - 1, base - 1 > _MONOMIAL_FAR),
                                         (power - 1, True))
            return _Final(_Fired(node - k - t - k * minus_one, ["constant-power-minus-one"]))
    return None


_MONOMIAL_FAR = sp.Integer(2) ** 60  # u past it: (1 + u)^p as u^p·(1 + 1/u)^p, u^p a product of |inputs|^(e·p)


def _monomial_power(u, p):
    """u^p as c^p·Π |sᵢ|^(eᵢ·p) for u = c·Π sᵢ^eᵢ, c > 0 a number and every eᵢ even (u ≥ 0: the Barron loss's
    (2/3)·x²·c⁻²), each factor a power of one input that stays finite where u overflows ((x/c)² = 5e398 at
    c = −4.414, x = −1e200, its fourth root 4.8e99); else None."""
    c, rest = u.as_coeff_Mul()
    if not (c.is_Rational and c > 0) or rest == 1:
        return None
    factors = []
    for f in sp.Mul.make_args(rest):
        b, e = f.as_base_exp()
        if not (b.is_Symbol and e.is_Integer and e % 2 == 0):
            return None
        factors.append(sp.Abs(b) ** (e * p))
    return c ** p * sp.Mul(*factors)


CONSTANT_POWER_MINUS_ONE = Rule(
    "constant-power-minus-one", "(1 + u)^p − 1 with a number exponent p (not an integer or a half-integer: the "
    "polynomial and root rules') rounds (1 + u)^p to 1 where p·u is below ε: the Barron loss at α = 1/2, "
    "3·(((x/c)²/1.5 + 1)^(1/4) − 1), is 0 for |x/c| < 2.9e−4 in float32 (1.6e7 ULP at x = −9.2e−4, c = 9.0e7; torch "
    "the same); expm1(p·log1p(u)) where |p·log1p(u)| < 1 (exact: e^(p·ln(1 + u)) − 1), as written past it; past "
    "u = 2⁶⁰, where u = c·x²·y⁻²… may overflow (its f inf for 1.29e100 at c = −4.414, x = −1e200 in float64; torch "
    "inf), u^p·(1 + 1/u)^p with u^p = c^p·|x|^(2p)·|y|^(−2p)…",
    local=_constant_power_minus_one)


# ------------------------------------------------------------------ user48 (issue 16, session 48, h-user48: the
# power-minus-one-slope rule, the generalised cross-entropy's ∂q)
_SLOPE_TERMS = 23  # Σ_{n<23} w^n/(n+2)!: the first term left out, 2²³/25!, is 5e−19 of the sum (≥ 1/2 for w ≥ 0)
_SLOPE_WINDOW = (-1, 2)  # the series' w; past it the written form cancels by at most 1.5 bits


def _log_of_base(b):
    """log b as the expm1 rule's b^y − 1 takes it (:func:`_power_minus_one`): log1p(u) for b = 1 + u, −softplus(−u) for
    b = σ(u)."""
    if isinstance(b, sigmoid):
        return -softplus(-b.args[0])
    if b.is_Add and sp.S.One in b.args:
        return log1p(b - 1)
    return sp.log(b)


def _power_minus_one_slope_node(node):
    """±(b^y·log b − (b^y − 1)/y)/y, the derivative by y of (b^y − 1)/y (a Box-Cox transform's ∂λ, the generalised
    cross-entropy (1 − σ(z)^q)/q's ∂q) → {±L²·b^y·G(w) if −1 < w < 2; as written}, L = log b, w = −y·L and
    G(w) = (e^w − 1 − w)/w² = Σ w^n/(n + 2)! (23 terms). Exact: with t = y·L, y²·∂y = t·e^t − expm1(t) =
    e^t·(e^w − 1 − w); its two terms cancel to t²/2 where t is small (the generalised cross-entropy at z = 40, q = 0.7:
    two terms of 6.1e−18 for −9.0e−36), the series has none (its terms are of one sign for w ≥ 0, halving for w < 0)."""
    from ..roots import ZeroSeries  # (at the call: roots imports the rewrite package)

    if not (node.is_Mul or node.is_Add) or not node.has(sp.log) or sp.count_ops(node) > 40:
        return None
    for p in node.atoms(sp.Pow):
        b, y = p.base, p.exp
        if not (y.is_Symbol and b.free_symbols and not b.is_number and y not in b.free_symbols):
            continue
        written = (b ** y * sp.log(b) - (b ** y - 1) / y) / y
        for sign in (1, -1):
            if sp.expand(node - sign * written) != 0:
                continue
            L = _log_of_base(b)
            w = -y * L
            v = sp.Dummy("v", real=True)
            series = ZeroSeries(v, (sp.exp(v) - 1 - v) / v ** 2, sp.Integer(0), sp.Integer(1),
                                *[sp.Float(sp.Rational(1, sp.factorial(n + 2)), 25) for n in range(_SLOPE_TERMS)])
            series = series.xreplace({v: Grouped(w)})
            near = L ** 2 * b ** y * series
            return sp.Piecewise((sign * near, (w > _SLOPE_WINDOW[0]) & (w < _SLOPE_WINDOW[1])), (node, True))
    return None


def _power_minus_one_slopes(expr):
    """Every node :func:`_power_minus_one_slope_node` rewrites, rewritten (outermost first)."""
    return _top_down_having(expr, sp.log, _power_minus_one_slope_node)


POWER_MINUS_ONE_SLOPE = Rule(
    "power-minus-one-slope", "the derivative by y of (b^y − 1)/y, (b^y·log b − (b^y − 1)/y)/y (a Box-Cox ∂λ, the "
    "generalised cross-entropy (1 − σ(z)^q)/q's ∂q), is two terms that cancel to (y·log b)²/2 where y·log b is small: "
    "284 ULP in float64 at z = 5, q = 0.7, 5.7e17 at z = 40 (torch 2.8e3 and 6.8e15); it is L²·b^y·G(w) exactly, "
    "L = log b, w = −y·L, G(w) = (e^w − 1 − w)/w² = Σ w^n/(n + 2)!, a series with no cancellation, for −1 < w < 2; "
    "as written past it",
    apply=_power_minus_one_slopes, fired=_rewrote, before=True)


# ------------------------------------------------------------------ tiny49 (issue 16, session 49, h-tiny49: the
# power-minus-one-quotient rule, a Box-Cox transform at a tiny λ)
_QUOTIENT_WINDOW = sp.Integer(2) ** -20  # |t| below it: the series' first term left out, t⁴/5!, is below 2⁻⁸⁶
_QUOTIENT_TERMS = 4  # expm1(t)/t = Σ_{n<4} t^n/(n + 1)!


def _power_minus_one_quotient_node(node):
    """±(b^y − 1)/y (a Box-Cox transform, the generalised cross-entropy (1 − σ(z)^q)/q) → {±L·E(t) if |t| < 2⁻²⁰;
    as written}, L = log b, t = y·L, E(t) = expm1(t)/t = Σ t^n/(n + 1)! (4 terms). Exact: (b^y − 1)/y = L·expm1(t)/t.
    As written, y·L rounds into the subnormals where y is tiny (λ = −5e−324, x = 0.3: t the one subnormal 4.9e−324,
    f −1 for −1.2040) and is 0/0 at y = 0; E(t) holds t only to first order, where an absolute error of t is harmless,
    and is L at y = 0, the limit."""
    from ..roots import ZeroSeries  # (at the call: roots imports the rewrite package)

    if not node.is_Mul or sp.count_ops(node) > 40:
        return None
    for p in node.atoms(sp.Pow):
        b, y = p.base, p.exp
        if not (y.is_Symbol and b.free_symbols and not b.is_number and y not in b.free_symbols):
            continue
        written = (b ** y - 1) / y
        for sign in (1, -1):
            if node != sign * written and sp.expand(node - sign * written) != 0:
                continue
            L = _log_of_base(b)
            t = y * L
            v = sp.Dummy("v", real=True)
            series = ZeroSeries(v, (sp.exp(v) - 1) / v, sp.Integer(0), sp.Integer(1), *[sp.Float(sp.Rational(1, sp.factorial(n + 1)), 25)
                                                                                  for n in range(_QUOTIENT_TERMS)])
            series = series.xreplace({v: Grouped(t)})
            return sp.Piecewise((sign * L * series, sp.Abs(t) < _QUOTIENT_WINDOW), (node, True))
    return None


def _power_minus_one_quotients(expr):
    """Every node :func:`_power_minus_one_quotient_node` rewrites outside a select, rewritten (outermost first)."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Pow):
        return expr
    # (not inside a select: the power-minus-one-slope rule's keeps its written form, whose widened sum holds ∂y there;
    # nor a term of a sum whose other terms hold the same power b^y: ∂λ of (x^λ − 1)/(3λ), x^λ·log x − (x^λ − 1)/λ,
    # cancels there, and the widening of the written sum is what holds it (review49: 8.7e7 ULP at λ = 1.35e−8))
    kept = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Add):
            for term in node.args:
                powers = {p for p in term.atoms(sp.Pow) if p.exp.is_Symbol}
                if powers and any(o is not term and any(o.has(p) for p in powers) for o in node.args):
                    kept.add(term)
    return _top_down(expr, lambda node: _power_minus_one_quotient_node(node)
                     if isinstance(node, sp.Expr) and node not in kept and -node not in kept else None,
                     leaves=(sp.Piecewise,))


POWER_MINUS_ONE_QUOTIENT = Rule(
    "power-minus-one-quotient", "(b^y − 1)/y (a Box-Cox transform, the generalised cross-entropy (1 − σ(z)^q)/q) "
    "divides a rounded y·log b by y: where y is subnormal y·log b keeps a few bits or one (λ = −5e−324, x = 0.3: −1 "
    "for −1.2040, 9.2e14 ULP; torch 8.3e15), and it is 0/0 at y = 0; it is L·expm1(t)/t exactly, L = log b, "
    "t = y·L, and expm1(t)/t = Σ t^n/(n + 1)! (4 terms) for |t| < 2⁻²⁰, where an absolute error of t is harmless and "
    "the limit L is taken at y = 0; as written past it",
    apply=_power_minus_one_quotients, fired=_rewrote, before=True)


# ------------------------------------------------------------------ series49 (issue 16, session 49, h-series49: the
# power-log-pole rule, the Kumaraswamy NLL's ∂a at a tiny a)
_POLE_WINDOW = sp.Integer(2) ** -20  # |a·log x| below it: B(w) to w⁴, the first term left out w⁶/30240 below 2⁻¹³⁴


def _power_log_pole_node(node):
    """A sum with terms k·x^a·log(x)/(1 − x^a) (k free of x^a; a an input, x free of a) → {the sum with each such term
    as −k/a − k·L·(1/2 + a·L/12 − a³L³/720), its terms in 1/a summed as one quotient, if |a·L| ≤ 2⁻²⁰; as written},
    L = log x. Exact: x^a·L/(1 − x^a) = L/(x^(−a) − 1) = L/expm1(w) = −B(w)/a, w = −a·L, B(w) = w/expm1(w) =
    1 − w/2 + w²/12 − w⁴/720 + w⁶/30240 − … (Bernoulli numbers; B₃ = B₅ = 0), so the term is −k/a + k·w/(2a) −
    k·w²/(12a) + k·w⁴/(720a) + R, w/a = −L; |R| ≤ |k/a|·w⁶/30240·(1 + w²) = |k·L|·|w|⁵/30240·(1 + w²), below
    2⁻¹¹⁴ of |k·L|/2 for |w| ≤ 2⁻²⁰. The poles −k/a and the sum's other terms in 1/a (−1/a in the Kumaraswamy NLL's ∂a,
    k = b − 1: −b/a) are summed symbolically, so the terms of size 1/a that cancel as written are gone."""
    if not node.is_Add or not node.has(sp.log) or sp.count_ops(node) > 60:
        return None
    for p in node.atoms(sp.Pow):
        x, a = p.base, p.exp
        if not (a.is_Symbol and x.free_symbols and not x.is_number and a not in x.free_symbols):
            continue
        L = sp.log(x)
        shape = p * L / (1 - p)
        series, rest = [], []
        for t in sp.Add.make_args(node):
            k = sp.cancel(t / shape)
            if t.has(p) and not k.has(p) and not k.has(L) and not k.has(a):
                series.append(k)
            else:
                rest.append(t)
        if not series or any(t.has(p) for t in rest):
            continue
        k = sp.Add(*series)
        poles = sp.factor(sp.cancel(sp.Add(*[t for t in rest if t.has(a)]) - k / a))
        if poles.has(sp.log):
            continue
        others = sp.Add(*[t for t in rest if not t.has(a)])
        near = poles + others - k * L * (sp.Rational(1, 2) + a * L / 12 - a ** 3 * L ** 3 / 720)
        return sp.Piecewise((near, sp.Abs(a * L) <= _POLE_WINDOW), (node, True))
    return None


def _power_log_poles(expr):
    """Every node :func:`_power_log_pole_node` rewrites, rewritten (outermost first)."""
    return _top_down_having(expr, sp.log, _power_log_pole_node)


POWER_LOG_POLE = Rule(
    "power-log-pole", "k·x^a·log(x)/(1 − x^a) beside −1/a (the Kumaraswamy NLL's ∂a, −1/a − log x + (b − 1)·x^a·log "
    "x/(1 − x^a)) is two terms of size 1/a that cancel where a·log x is small: 46.05 for 22.03 in float32 at "
    "a = b = x = 1e−20 (torch NaN); x^a·L/(1 − x^a) = −B(w)/a exactly, L = log x, w = −a·L, B(w) = w/expm1(w) = "
    "1 − w/2 + w²/12 − w⁴/720 + …, so for |a·L| ≤ 2⁻²⁰ the term is −k/a − k·L·(1/2 + a·L/12 − a³L³/720) to 2⁻¹¹⁴, "
    "its −k/a summed with the other terms in 1/a as one quotient (−b/a); as written past it",
    apply=_power_log_poles, fired=_rewrote, before=True)
