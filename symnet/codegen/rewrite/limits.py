"""Limit rules: infinite-limit, input-infinite-limit, exp-product-limit, step-value, tiny-argument, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: infinite-limit,
tiny-argument, step-value, exp-product-limit, zero-scaled-exp, input-infinite-limit.
"""
from __future__ import annotations

import functools

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...errors import TimeLimitError
from ...functions import relu, sigmoid
from ...records import BoundedRecord
from ...special import binade_reciprocal, softplus
from .core import _Final, _Fired, _rewrote, Rule
from .widening import (_atoms, _distinct_preorder, _KEPT, _ROUNDED, _top_down, Grouped, unwiden, widen, WidenedBase,
                       without_ite, WrittenWhereNotFiniteBase)
from .stabiliser import stabilise
from .pairs import _share_sigmoid_pairs
from .losses import _FLT_MAX, _LIMIT_BOUND, _LIMIT_BOUNDS
from .cancellation import _DOUBLE_MAX
from .quotients import _as_math


# ------------------------------------------------------------------ infinite-limit (issue 16: silu, mish, gelu,
# gelu_tanh, softsign and their derivatives are NaN at x = ±inf); tested in tests/test_stability8.py


def _limit_at(expr, x, sign, bound=_FLT_MAX):
    """The limit of ``expr`` at x = sign·inf as a float, where its exact value (mpmath at 50 digits) is that
    float to float64's rounding from |x| = ``bound`` (float32's largest, or a power of 2 below it) on, else
    None: the branch x > bound of a float64 kernel holds finite x too."""
    from ...verify.evaluate import mp_value

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
    from ..roots import _float_probe

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
    "when an intermediate overflows first (x·σ(2x): 2x is inf in float32 from 1.7e38 on, then inf·0)", apply=_infinite_limits, fired=_rewrote)


# ------------------------------------------------------------------ tiny-argument (issue 16, session 13): f(x) with
# f(0) = 0, f′(0) = c (erf, sin, tanh, log1p …) beside a fractional power of x, at subnormal x; tested in
# tests/test_elem13.py

_LINEAR_AT_ZERO = {sp.erf: 2 / sp.sqrt(sp.pi), sp.sin: 1, sp.tan: 1, sp.tanh: 1, sp.sinh: 1, sp.asinh: 1,
                   sp.atan: 1, expm1: 1, log1p: 1}  # f: f′(0)
TINY_ARGUMENT = 2 ** -60  # below it c·x is f(x) to 2⁻⁶¹ relative (log1p, expm1: x/2; erf, sin, tanh: x²/3)


def _taken_near_zero(expr, x):
    """``expr`` with every select replaced by the branch it takes at x = ±2⁻⁸⁰ (the same on both sides) and every
    widened node by its sum; None where a select takes different branches there or a series node is taken."""
    from ..roots import SeriesBase

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
    apply=_tiny_argument, fired=_rewrote)


# (from the one-minus-scaled-exp block of rewrite.py: the split script moved it here, to the first module that uses it)
def _scaled_exp_factors(term):
    """(factors, e^b) for term = ±a_1·…·a_k·e^b (k ≥ 1, each a_i holding an input, e^b the one exponential), else None."""
    factors = [f for f in sp.Mul.make_args(term) if f.free_symbols]
    exps = [f for f in factors if isinstance(f, sp.exp)]
    rest = [f for f in factors if not isinstance(f, sp.exp)]
    if len(exps) != 1 or not rest or any(f.has(*_ROUNDED, softplus, WidenedBase) for f in rest):
        return None
    return rest, exps[0]
# (from the rounded-log-argument block of rewrite.py: the split script moved it here, to the first module that uses it)
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


# ------------------------------------------------------------------ exp-product-limit (issue 16: ∂x of
# erf(exp(exp(x)))·elu(x) was NaN from x ≈ 6.57, true 1.0: erf′(u)·u′ = 2/√π·e^(−u²)·u·eˣ with u = e^(eˣ), e^(−u²)
# underflowed to 0 where u overflowed; h-comp27); tested in tests/test_comp27.py

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
    from ...verify.evaluate import NotEvaluable, mp_value

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
    from ...verify.evaluate import NotEvaluable, mp_value

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


# (from the overflowing-log1p block of rewrite.py: the split script moved it here, to the first module that uses it)
def _ungrouped_math(e):
    """``e`` as the formula it computes (:func:`_as_math`), with groupings nested in groupings dropped too."""
    e = _as_math(e)
    while e.has(sp.UnevaluatedExpr):
        e = e.replace(lambda n: isinstance(n, sp.UnevaluatedExpr), lambda n: n.args[0])
    return e


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
    from .pipeline import RULES  # a later module: imported at the call
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
    apply=_zero_scaled_exp, fired=_rewrote)


# ------------------------------------------------------------------ input-infinite-limit (issue 16 point 2: where a
# limit exists the generated code returns it); tested in tests/test_inf41.py

_DBL_MAX = sp.Float(1.7976931348623157e308, 17)  # x > it: x = +inf alone, in float32 (compared in float64) and float64
# finite values the other inputs take in the probe that decides whether a form needs its limit (NaN or ±inf at one)
_OTHER_SAMPLES = (1.0, -2.5, 1e-30, -1e30, 0.0, 3.7, -1e-300, 1e300, 1.7976931348623157e308,
                  -3.4028234663852886e38)


def _float_probe_inputs(written, inputs):
    """``written`` printed by the NumPy expression printer (as :func:`symnet.codegen.roots._float_probe` does for one
    input) as a function of one array per input, in the order of ``inputs``."""
    from ...registry import NUMPY_HELPERS, numpy_helper_closure
    from ..backends.numpy.printer import PRINTER_HELPERS, NumpyExpressionPrinter
    from ..doubleword import generated_last
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
        return self._signed_zero(walk, n, lead_d, sign, deg_d)

    def _signed_zero(self, walk, n, lead_d, sign, deg_d, depth=0):
        """0 with the sign P/Q takes toward the infinity (P = ``n``, of degree below ``deg_d``), sign(lc P)·sign(lc Q)·
        sign^(deg Q − deg P), where the leading coefficients' signs are known (−0 from below); +0 where that sign is the
        others' (the printers take a product with −0.0's stand-in, −1e−400, as the tiny number it is: −1e−400·y at
        y = 1.8e308 was −1.8e−92). A sign that needs a generator g of lc(P) nonzero (lc(P) = ±y²) is a select: that
        sign where g ≠ 0, and where g = 0 the sign of P with g = 0, whose lower term gives it ((1 − x·y²)/(x² + 1) at
        x = +inf, y = 0 was −0 for +0; its ∂x, (x²y² − 2x − y²)/(x² + 1)², +0 for −0 there: root49)."""
        x = self.generator[self.x]
        lead_n = n.coeff_wrt(x, n.degree(x))
        required = set(walk.nonzero)  # lc(Q)'s generators: nonzero wherever the limit is taken
        try:
            s = sign ** ((deg_d - n.degree(x)) % 2) * walk.monomial_sign(lead_n) * walk.monomial_sign(lead_d)
        except _NoRationalLimit:
            walk.nonzero = required
            return sp.S.Zero
        value = sp.S.Zero if s > 0 else _NEGATIVE_ZERO
        needed = sorted(walk.nonzero - required, key=sp.default_sort_key)
        walk.nonzero = required  # lc(P)'s generators are the select's own condition, not the limit's
        if not needed:
            return value
        opaque = {g: e for e, g in self.opaque.items()}
        where = sp.And(*[sp.Ne(opaque.get(g, g), 0) for g in needed])
        rest = n
        if len(needed) == 1 and depth < 3:  # where the one generator is 0: P's lower terms
            rest = n.subs(self.generator[needed[0]], 0)
        if len(needed) > 1 or depth >= 3 or rest.is_zero:  # (P = 0 there: f = +0/Q; several: the sign not known)
            other = sp.S.Zero
        else:
            other = self._signed_zero(walk, rest, lead_d, sign, deg_d, depth + 1)
        return value if value == other else sp.Piecewise((value, where), (other, True))

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
    pieces, probes = {}, []  # pieces: limit → the conditions it is taken under; probes: the probe, once built

    def written_probe():
        """The float64 probe of ``expr`` as written, built at its first need; None where the bare expression printer
        does not print a node of it (then no limit is taken)."""
        if not probes:
            try:
                probes.append(_float_probe_inputs(without_ite(_share_sigmoid_pairs(unwiden(expr))), inputs))
            except TimeLimitError:  # a time limit struck: not an answer to cache (this function's lru_cache)
                raise
            except Exception:  # noqa: BLE001 - a node the bare printer does not print
                probes.append(None)
        return probes[0]

    for k, x in enumerate(inputs):
        others = inputs[:k] + inputs[k + 1:]
        found = {}
        try:  # the structural pre-filter (no algebra) first
            toward = _TowardInfinity(expr, x, others)
        except _NoRationalLimit:  # no rational function of x with a quotient: no limit, no probe
            continue
        except TimeLimitError:  # a time limit struck: not "no limit" (cached for the process: session 52, slow52)
            raise
        except Exception:  # noqa: BLE001 - a node the check did not foresee: no limit taken
            continue
        for sign in (1, -1):
            try:
                limit, nonzero = toward.limit(sign)
            except _NoRationalLimit:
                continue
            except TimeLimitError:  # a time limit struck: not an answer to cache
                raise
            except Exception:  # noqa: BLE001 - SymPy's algebra on a form the walk did not foresee: no limit taken
                continue
            probe = written_probe()
            if probe is None:
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
    for x in inputs:  # z^k·B with B bounded, at x = ±inf and z = 0: the limit 0 (root49)
        for z, value in _vanishing_factor_limits(expr, x, inputs):
            probe = written_probe()
            if probe is None:
                return expr
            others = [o for o in inputs if o not in (x, z)]
            columns = {o: np.array([r[j] for r in rows]) for j, o in enumerate(others)}
            infinite = np.resize([np.inf, -np.inf], len(rows))
            columns.update({x: infinite, z: np.zeros(len(rows))})
            with np.errstate(all="ignore"):
                if np.isfinite(probe([columns[s] for s in inputs])).all():
                    continue
            pieces.setdefault(value, []).append(
                sp.And(sp.Abs(x) > _DBL_MAX, sp.Eq(z, 0), *[sp.Abs(o) <= _DBL_MAX for o in others]))
    if not pieces:
        return expr
    # one branch a limit, its conditions joined as written (SymPy's Piecewise would join equal branches in CNF)
    return sp.Piecewise(*[(limit, sp.Or(*conditions)) for limit, conditions in pieces.items()], (expr, True))


# bounded at every real argument (a select of them, sums, products and positive integer powers too)
_BOUNDED_FUNCTIONS = (sigmoid, sp.tanh, sp.sin, sp.cos, sp.erf)


def _bounded(e) -> bool:
    """``e`` (its widened nodes written out) is bounded over every real value of its inputs."""
    if e.is_Rational or e.is_Float:
        return True
    if isinstance(e, _BOUNDED_FUNCTIONS):
        return True
    if isinstance(e, sp.Piecewise):
        return all(_bounded(b) for b, _ in e.args)
    if e.is_Add or e.is_Mul:
        return all(_bounded(a) for a in e.args)
    if e.is_Pow:
        return bool(e.exp.is_Integer and e.exp > 0) and _bounded(e.base)
    return False


def _vanishing_factor_limits(expr, x, inputs) -> list:
    """(z, value) for each input z ≠ x where ``expr`` is z^k·B (k ≥ 1 an integer, B bounded: :func:`_bounded`): its
    limit at x = ±inf, z = 0 is 0 (|f| ≤ M·|z|^k toward that point from every direction: ∂w of tanh(w·x + b),
    4x·σ(2u)·σ(−2u), at w = ±inf, x = 0), and ``value``, f written out with x = 0, is f's value at every finite x
    there (z = ±0: x·z = ±0 and f(x, ±0) does not depend on x; the 0's sign as f's at x = 0)."""
    plain = unwiden(expr)
    if not plain.is_Mul:
        return []
    found = []
    for z in inputs:
        if z == x:
            continue
        powers = [a for a in plain.args if a == z or (a.is_Pow and a.base == z and a.exp.is_Integer and a.exp > 0)]
        rest = [a for a in plain.args if a not in powers]
        if len(powers) == 1 and all(_bounded(a) for a in rest):
            found.append((z, plain.xreplace({x: sp.S.Zero})))
    return found


INPUT_INFINITE_LIMIT = Rule(
    "input-infinite-limit", "f of several inputs at one input x = ±inf, the others finite, where its form is inf/inf "
    "or 0·inf: ∂y of y/(x − y), x/(x − y)², and ∂y of x·y/(x + y), x²/(x + y)², are NaN at x = ±inf (torch 0 and NaN), "
    "the limits 0 and 1; where f is a rational function of x toward that infinity (its selects, |p|, sign p and relu p "
    "resolved by p's eventual sign; the other inputs' parts polynomials, or finite functions of them, as "
    "coefficients), the limit is exact from the degrees and leading coefficients: 0 where the numerator's degree is "
    "below the denominator's, lc(P)/lc(Q) (a number, or a product of at most 3 factors of the others) where equal, "
    "lc(Q) a number times powers of the others, which must be nonzero; ±inf left alone. And where f is z^k·B, B "
    "bounded (σ, tanh, sin, cos, erf, their sums, products and selects), at x = ±inf and z = 0 (∂w of tanh(w·x + b), "
    "x·(1 − tanh²(w·x + b)), NaN at w = ±inf, x = 0, w·x = inf·0): |f| ≤ M·|z|^k, the limit 0, f's value at every "
    "finite x (f with x = 0). Where the generated form, "
    "probed in float64 with the other inputs at 10 finite values (±1.8e308 among them), is NaN or ±inf there, a "
    "select returns the limit where x is that infinity, the others finite and those factors nonzero (x > 1.8e308: "
    "only +inf in float64, and in float32 compared in float64); the form as it was everywhere else, bit for bit",
    apply=_input_infinite_limits, fired=_rewrote)
