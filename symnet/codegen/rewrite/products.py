"""Product rules: product-order, overflowed-product, long-product, rational-product, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: product-order,
overflowed-product, widened-product-overflow, long-product, rational-product, scale-into-sum,
gaussian-quotient-product.
"""
from __future__ import annotations

import functools
import itertools
import math

import mpmath
import sympy as sp

from ...functions import sigmoid
from ...special import ndtr, ordered_product, softplus
from .core import _rewrote, Rule
from .widening import (_atoms, _bottom_up, _distinct_preorder, _KEPT, _ROUNDED, _top_down, _widened_over_common_powers,
                       Grouped, taken_where_infinite, widen, WidenedBase, written_where_not_finite,
                       WrittenWhereNotFiniteBase)
from .losses import _FLT_MAX
from .quotients import _as_math, _rational_long_product, _roundings, LONG_POWER_ROUNDINGS
from .sigmoids import _KEPT_OPEN


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
    "|c| everywhere)", apply=_ordered_products, fired=_rewrote)


# ------------------------------------------------------------------ overflowed-product (issue 16, h-fresh11: swish
# with a learnable β, x·σ(β·x), is NaN in ∂β and ∂x at β = x = −1.8e308, where β·x overflows and x²·σ(β·x)·σ(−β·x)
# is inf·0, (1 + β·x·σ(−β·x)) is 1 + inf·0); tested in tests/test_swish11.py


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
    from ...verify.evaluate import mp_value

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
    apply=_overflowed_products, fired=_rewrote)


# ------------------------------------------------------------------ widened-product-overflow (issue 16: x·y − z where
# x·y overflows float64 and the difference does not); tested in tests/test_logs27.py

_PRODUCT_FAR = 2.0 ** 1000  # |x·y| past it: x·y − z in double words scaled by 2⁻⁶⁴ (both factors are past 2⁻²⁴ there)
_PRODUCT_SCALE = sp.Integer(2) ** 64
# worse46: the far condition compares the scaled product x·(y/2⁶⁴) with 2⁹³⁶ = 2¹⁰⁰⁰/2⁶⁴ (see _product_overflow_node)
_SCALED_PRODUCT_FAR = _PRODUCT_FAR / 2.0 ** 64


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
    """A widened sum of products of inputs (x·y − z) → a select: where a product is past 2¹⁰⁰⁰ in magnitude and,
    within that (a select in the far branch: worse46), its scaled product x·(y/2⁶⁴) past 2⁹³⁶, the body with one
    factor of each product, each lone input and each number scaled by 2⁻⁶⁴, widened, times 2⁶⁴ in the body; the
    widened node elsewhere.

    Proof: for finite inputs the two conditions hold at the same points: where |x·y| > 2¹⁰⁰⁰ (rounded) |y| > 2⁻²⁴,
    so y/2⁶⁴ is exact and fl(x·(y/2⁶⁴)) = fl(x·y)/2⁶⁴; there the scaling is exact (a lone input or number that loses
    bits to it is below 2⁻⁹⁵⁸, under the product's last bit). Where a factor is ±inf, |x·y| = inf passes the first
    condition; the scaled product is ±inf where y/2⁶⁴ is not 0, and the body then ±inf as x·y is (or NaN as the
    written sum is: inf − inf); where y/2⁶⁴ underflows to 0 (|y| < 2⁻¹⁰¹⁰) the scaled product inf·0 is NaN, the
    second condition fails, and the widened node takes the sum as written (its float64 value where that is not
    finite): ±inf. With the first condition alone the body's inf·0 was NaN there (x·y + z at (inf, 1e−310, −1e−30),
    torch inf). The second condition is computed on the far elements only: ordinary data costs what it did."""
    if not isinstance(node, WidenedBase):
        return None
    terms = _product_sum_terms(node.expanded)
    if terms is None:
        return None
    scaled = sp.Add(*[c * sp.Mul(*f[:-1]) * Grouped(f[-1] / _PRODUCT_SCALE) if f else c / _PRODUCT_SCALE
                      for c, f in terms])
    far = sp.Or(*[sp.Abs(sp.Mul(*f)) > sp.Float(_PRODUCT_FAR) for _, f in terms if len(f) == 2])
    products = [f for _, f in terms if len(f) == 2]
    scaled_past = [sp.Abs(f[0] * Grouped(f[1] / _PRODUCT_SCALE)) > sp.Float(_SCALED_PRODUCT_FAR) for f in products]
    # and no product far as written whose scaled one is not (inf·0 = NaN: x·y + u·v at x·y = 1e400, u = inf,
    # v = 1e−320, where u·(v/2⁶⁴) is NaN and the body NaN for inf, torch inf; session 47): each far product's scaled
    # one far too, the same points for finite inputs (the proof above, product by product)
    scaled_far = sp.Or(*scaled_past)
    if len(products) > 1:  # (one product: its own scaled condition is this)
        scaled_far = sp.And(scaled_far, *[sp.Or(sp.Abs(sp.Mul(*f)) <= sp.Float(_PRODUCT_FAR), past)
                                          for f, past in zip(products, scaled_past)])
    body = written_where_not_finite(widen(_PRODUCT_SCALE * Grouped(scaled)), _infinite_terms(terms))
    inner = sp.Piecewise((body, scaled_far), (node, True))
    return sp.Piecewise((inner, far), (node, True))


def _infinite_terms(terms):
    """The sum ``terms`` [(c, factors)] where an input is ±inf: the sum of the terms that hold an infinite input alone
    (each taken where a factor of it is ±inf, 0 elsewhere), in floats (inf·0 and inf − inf NaN there, as the true value
    has none); NaN where no input is ±inf. Exact: every other term is a finite number, which adds nothing to ±inf,
    however far past float64 it is. Taken where the scaled far sum is ±inf or NaN (``written_where_not_finite``: its
    test over the block is all ordinary data pays). Each select one node (``taken_where_infinite``), printed by the
    printers: as Piecewise selects SymPy's piecewise_fold distributed them into the product's sign tests (h-far50's
    form, taken out). far50/left50: a·b + c·d at a = 1e200, b = 1.8e308, c = inf, d = −1 was the scaled sum's
    inf − inf = NaN (a·(b/2⁶⁴) overflows too) for −inf (torch NaN). The NaN where no input is ±inf is the select
    around the sum, not a term beside it (releft51): a term (0 where an input is ±inf, NaN elsewhere) was the same
    in every output's written form, and the kernel's common subexpressions took it out of the written forms' lambdas
    onto every element of the block (tanh(c·x + d·h) − h: f's and ∂h's)."""
    inputs = sorted({f for _, fs in terms for f in fs}, key=sp.default_sort_key)
    value = sp.Add(*[taken_where_infinite(c * sp.Mul(*fs), sp.S.Zero, fs) for c, fs in terms if fs])
    return taken_where_infinite(value, sp.nan, inputs)


def _product_overflows(expr):
    """Every widened sum of products of inputs of ``expr`` as :func:`_product_overflow_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(WidenedBase):
        return expr
    return _top_down(expr, _product_overflow_node)


WIDENED_PRODUCT_OVERFLOW = Rule(
    "widened-product-overflow", "the widen rule's x·y − z (its product exact in double words) overflows where x·y "
    "does, although the difference need not: f inf at (1.1, 1.797e308, 1.797e308) for 1.797e307 in float64 (torch "
    "inf); where a product is past 2¹⁰⁰⁰, 2⁶⁴·(x·(y/2⁶⁴) − z/2⁶⁴) in double words is the same number (the scaling "
    "by a power of 2 exact there), rounded once; taken where the scaled product x·(y/2⁶⁴) is past 2⁹³⁶ too (the same "
    "points for finite inputs; not at x = ±inf with |y| < 2⁻¹⁰¹⁰, where y/2⁶⁴ is 0 and the body was inf·0 = NaN for "
    "±inf: the sum as written there)", apply=_product_overflows, fired=_rewrote)


# ------------------------------------------------------------------ long-product (issue 16, session 35, h-round35: a
# product of rounded functions rounds once a factor and once a multiplication, and the roundings add up past the bound
# of 4 ULP: ∂x of σ nested 5 deep 5.08 ULP in float64 at (2.997, −1.781), of a 2-layer net's squared error 4.41, of
# (gelu(x/y))^−2 4.15 at (−7.09e199, −7.09e199)); tested in tests/test_round35.py

# the count of a product's roundings (units of u = 2⁻⁵³, first order) from which it is widened whole: a relative error
# of ρ·u is ρ/2 to ρ ULP, and measured the worst of a few hundred random points is about a third of the count (the
# 2-layer net's ∂b₁, 12 roundings: 4.07 ULP; its ∂x, 13: 5.23; ∂w₂, 4: 1.91), so from 3 × the bound of 4 ULP
LONG_PRODUCT_ROUNDINGS = 12.0


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
    from ..spans import product_stays_in_range  # a product of bounded factors and one input leaves the range in any
    if product_stays_in_range(node):  # order only where it does as written: nothing to take again (test_search33)
        return widened
    return written_where_not_finite(widened, node)


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
    apply=_long_products, fired=_rewrote)


# ------------------------------------------------------------------ rational-product (issue 16, session 41: a product of
# inputs and a power of a polynomial in them, past the bound and worse than torch); tested in tests/test_worseb41.py


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
    apply=_rational_products, fired=_rewrote)


# ------------------------------------------------------------------ scale-into-sum (h-gnll42, session 42: the
# log-variance Gaussian NLL's ∂s = (1 − (x − μ)²·e^(−s))/2 was −inf at s = −709, x − μ = −1.5 for −9.2457e307, the sum
# overflowing before its halving; torch finite, it halves first); tested in tests/test_gnll42.py

def _has_scaled_exp_term(body) -> bool:
    """``body`` a sum with a term that holds e^u, u of an input (a term that can overflow where the sum scaled by a
    number below 1 does not)."""
    return body.is_Add and any(isinstance(e, sp.exp) and e.args[0].free_symbols for e in _atoms(body, sp.exp))


def _scaled_widened_sum(c, node):
    """c·node → node with c taken into its widened sums' terms, or None: node a widened sum with a term holding e^u,
    a widened product a·e^u (c·a·e^u widened, one product), or a select whose branches are numbers, products a·e^u
    (c·a·e^u, which the printers take by exponents) or such sums (one-minus-scaled-exp's c where a factor is 0,
    zero-scaled-exp's near branch)."""
    if isinstance(node, WidenedBase):
        body = node.body
        if _is_scaled_exp_product(body):  # (ent44: a widened product a·e^u, zero-scaled-exp's near branch)
            return widen(c * body, first_order=node.first_order, in_float32=node.in_float32,
                         far_bound=node.far_bound).xreplace(dict(zip(node.leaves, node.args)))
        if not _has_scaled_exp_term(body):
            return None
        scaled = sp.Add(*[c * t for t in body.args])
        return widen(scaled, first_order=node.first_order, in_float32=node.in_float32,
                     far_bound=node.far_bound).xreplace(dict(zip(node.leaves, node.args)))
    if isinstance(node, sp.Piecewise):
        branches = []
        for value, condition in node.args:
            if value.is_Number or _is_scaled_exp_product(value):  # (ent44: c·a·e^u one product, by exponents)
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
    "(2⁻¹⁰⁶ in the double word, far below the sum's rounding); sums without an e^u are printed as before; so is c·a·e^u "
    "as the zero-scaled-exp rule selects it (∂s of (1 − (x − m)²·e^(−s))/2, (x − m)²·e^(−s)/2: inf at (m, s, x) = "
    "(2.5, −709, 1) for 9.2457e307, the product overflowing before the halving; torch finite), one product c·a·e^u "
    "(widened, or taken by exponents where it leaves the range: one rounding more, none out of it)",
    apply=_scale_into_sums, fired=_rewrote)


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
    apply=_gaussian_quotient_products, fired=_rewrote, before=True)


# ------------------------------------------------------------------ ent44 (issue 16, session 44, h-ent44: entropies of
# written softmaxes and scaled exponentials near over/underflow). scale-into-sum for zero-scaled-exp's select of a
# product a·e^u (not a sum): ∂s of (1 − (x − m)²·e^(−s))/2, c·{widened (x − m)²·e^(−s); (x − m)²·e^(−s)}, overflowed
# in the product before the halving (inf at (m, s, x) = (2.5, −709, 1) for 9.2457e307; torch finite)
def _is_scaled_exp_product(value) -> bool:
    """``value`` a product of two or more factors, one of them e^u with u of an input (no sum, no select): one product
    that the printers take by exponents where it leaves the range, with a number factor among its factors."""
    return (isinstance(value, sp.Expr) and value.is_Mul and not value.has(sp.Piecewise)
            and any(isinstance(f, sp.exp) and f.args[0].free_symbols for f in value.args))


# ------------------------------------------------------------------ zip44 (issue 16, session 44, h-zip44: ∂z of the
# Poly-1 mixture 1 − t·σ(z) − (1 − t)·σ(−z), printed (1 − 2t)·σ(z)·σ(−z): 1 − 2t overflows for |t| > 9e307 where the
# product is finite (σ(z)·σ(−z) ≤ 1/4): −inf at t = 1.7e308, z = 0 for −8.5e307, torch exact); tested in
# tests/test_zip44.py

_HALVED_FACTOR_LIMIT = 2.0 ** 1000  # k·(the bounded factors' bound) below it: k·B never overflows


def _bound_of(f):
    """A number M with |f| ≤ M for every real input, by f's form (σ, tanh, sin, cos, erf are within 1), or None."""
    if f.is_Number:
        return abs(float(f))
    if isinstance(f, (sigmoid, sp.tanh, sp.sin, sp.cos, sp.erf)):
        return 1.0
    if f.is_Pow and f.exp.is_Integer and f.exp > 0:
        base = _bound_of(f.base)
        return None if base is None else base ** int(f.exp)
    if f.is_Mul:
        bounds = [_bound_of(a) for a in f.args]
        return None if None in bounds else math.prod(bounds)
    return None


def _power_of_two_part(c) -> int:
    """The largest j with 2^j dividing the integer c (c ≠ 0)."""
    c = abs(int(c))
    return (c & -c).bit_length() - 1


def _halved_sum_factor(node):
    """A product A·B, A a sum c + Σ k_i·u_i whose input terms' integer coefficients k_i share a power of two 2^j
    (j ≥ 1) and B a product bounded by |B| ≤ M (2^j·M < 2¹⁰⁰⁰) → A/2^j (kept as one factor) times 2^j times B's
    factors, which the printers multiply with the constant last or on the smaller factor (_constant_times); None
    otherwise.

    Proof: multiplying by 2^j is exact and commutes with every rounding where nothing overflows or underflows, so
    fl(A) = 2^j·fl(A/2^j) (c/2^j is dyadic, each k_i/2^j an integer) and fl(fl(A)·fl(B)) = fl(fl(A/2^j)·2^j·fl(B)):
    the same bits where A is finite as written. Where 2^j·u_i overflows (|t| > 9e307 in 1 − 2t), A/2^j does not,
    and 2^j·B ≤ 2^j·M is finite: the product is the finite number it is."""
    if not node.is_Mul:
        return None
    sums = [a for a in node.args if a.is_Add]
    if len(sums) != 1:
        return None
    (total,) = sums
    rest = sp.Mul(*[a for a in node.args if a is not total])
    bound = _bound_of(rest)
    if bound is None or rest.is_Number or not math.isfinite(bound):
        return None
    terms = [sp.Mul(*sp.Mul.make_args(t)) for t in total.args]  # (the collect rule's unevaluated −1·2·t)
    constants = [t for t in terms if t.is_Number]
    varying = [t.as_coeff_Mul() for t in terms if not t.is_Number]
    if not varying or not all(c.is_Integer for c, _ in varying) or not all(c.is_Rational for c in constants):
        return None
    j = min(_power_of_two_part(c) for c, _ in varying)
    if j < 1 or bound * 2.0 ** j >= _HALVED_FACTOR_LIMIT:
        return None
    scale = sp.Integer(2) ** j
    if any(not (c / scale).q & ((c / scale).q - 1) == 0 for c in constants):  # (c/2^j dyadic: exact as a float)
        return None
    halved = sp.Add(*[c / scale for c in constants], *[(c / scale) * u for c, u in varying])
    return sp.Mul(Grouped(halved), scale, *sp.Mul.make_args(rest), evaluate=False)


HALVED_SUM_FACTOR = Rule(
    "halved-sum-factor", "a sum with an input term 2^j·u (j ≥ 1) times bounded factors (∂z of the Poly-1 mixture "
    "1 − t·σ(z) − (1 − t)·σ(−z), (1 − 2t)·σ(z)·σ(−z)) overflows 2t for |t| > 9e307 where the product is finite "
    "(σ(z)·σ(−z) ≤ 1/4): −inf at t = 1.7e308, z = 0 for −8.5e307 (torch exact); (1/2 − t)·(2·σ(z)·σ(−z)), the "
    "power of two moved into the bounded factor, is bit for bit the same where 1 − 2t is finite (scaling by 2^j is "
    "exact and commutes with rounding) and finite where it is not", local=_halved_sum_factor)
