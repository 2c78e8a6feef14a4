"""Quotient rules: rational functions, product over sum, quotient-square/-root/-complement, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: rational-function,
product-over-sum, power-quotient, one-denominator, homogeneous-quotient, quotient-square, quotient-root,
reciprocal-margin, quotient-complement, cauchy43.
"""
from __future__ import annotations

import itertools
import math

import sympy as sp

from ...functions import relu, sigmoid
from ...special import binade_reciprocal, ndtr, softplus
from .core import _Final, _Fired, _rewrote, Rule
from .widening import (_atoms, _KEPT, _power_of_two_number, _replaced, _ROUNDED, _top_down, Grouped, ungroup, unwiden,
                       steps_of_any_power_of_two, widen, WidenedBase, written_where_not_finite, written_where_not_finite_or_below,
                       WrittenWhereNotFiniteBase)
from .stabiliser import _rewritten
from .losses import _input_reciprocal_pair


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
    plain = lambda e: ungroup(unwiden(e))  # noqa: E731
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
    apply=_rational_functions, fired=_rewrote)


# (from the scaled-square block of rewrite.py: the split script moved it here, to the first module that uses it)
_SCALED_FROM = 2 ** 60  # |x − t| from which d² is not formed (d² < 1.4e36: finite in float32)
# (from the scaled-square block of rewrite.py: the split script moved it here, to the first module that uses it)
def _power_parts(f):
    """(base, exponent) of a factor: B^k for B^k with k a whole number, (B, 1) for B itself."""
    if f.is_Pow and f.exp.is_Integer:
        return f.base, int(f.exp)
    return f, 1


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
    apply=_products_over_sums, fired=_rewrote)


# (from the overflowed-product block of rewrite.py: the split script moved it here, to the first module that uses it)
def _as_math(expr):
    """``expr`` as the formula it computes: every select's last (written) branch, widened nodes unwidened,
    groupings dropped, σ as 1/(1 + e^−v) (for SymPy's limit)."""
    expr = _replaced(expr, lambda n: isinstance(n, sp.Piecewise) and n.args[-1].cond == sp.true,
                     lambda n: n.args[-1].expr)
    expr = _replaced(expr, lambda n: isinstance(n, WidenedBase), lambda n: n.expanded)  # unwiden(expr)
    expr = _replaced(expr, lambda n: isinstance(n, sp.UnevaluatedExpr), lambda n: n.args[0])
    expr = _replaced(expr, lambda n: isinstance(n, softplus), lambda n: sp.log(1 + sp.exp(n.args[0])))
    return _replaced(expr, lambda n: isinstance(n, sigmoid), lambda n: 1 / (1 + sp.exp(-n.args[0])))


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
        # and where N is below the normal range (0 included): N rounded once is off there by up to 2⁻¹⁰⁷⁵, all of a
        # subnormal's digits, which the division by x^k ≪ 1 magnifies (∂T of log(e^(a/T) + e^(b/T) + 1) − a/T at
        # T = 1e−30, a = −5e−324, b = −1e154: N = a·(1 − pₐ) rounded to 0, ∂T −0 for −2.47e−264; worse44, pq45).
        # Exact: Σ c·tᵢ·x^−k is c·N·x^−k with N's sum distributed. The printers compute it on those elements alone
        return written_where_not_finite_or_below(out, written, num)
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
    from ..roots import SeriesBase

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
    "x = y = 1.7e308 for 2.14e−308), is taken as the widened Σ tᵢ/x^k where it is ±inf or NaN, or where N is below "
    "the normal range, 0 included (N rounded once keeps none of a subnormal's digits: ∂T of log(e^(a/T) + e^(b/T) "
    "+ 1) − a/T at (T, a, b) = (1e−30, −5e−324, −1e154) was −0 for −2.47e−264), computed on those elements alone; "
    "N a sum of the "
    "long-product rule's terms likewise as Σ tᵢ/x^k, each term's forms divided (∂y of gelu(x/y)⁻³, "
    "3(y²/Φ³ + x·y·φ/Φ⁴)/x³, NaN at x = y = 1.7e308 for 3.8e−308), and its widened form M·W (M the inputs' "
    "powers) from |x| = 2^⌊120/k⌋ on as Π (s/x)·(…(W/x)…)/x, each input factor s of M with one division (∂y of "
    "gelu(x/y)⁻³ near gelu′'s root, x/y = −0.694 at |x| = 5.4e224: y·W overflowed, 16.9 ULP, torch 1.9; 0.9 now). "
    "Applied after every other rule, to a quotient whose x no other rule's select bounds",
    apply=_power_quotients, fired=_rewrote)


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
    if monomial and len(D.terms()) == 1:
        # a monomial D (the cancelling-polynomial rule's): unscaled, past 2^±⌊960/n⌋ (n the larger degree) in the scaled
        # double words with every leaf scaled to [1/2, 1) (widen's far_bound): scaled by s = the largest input, a far
        # smaller one underflowed (Tukey's f at c = 1e10, r = 1e−150: (r/s)² subnormal, and the value before its s²,
        # 4.99806414e−301 for 5e−301; tiny49)
        return widen(sp.factor(num) / sp.factor(den), far_bound=960 // max(N.total_degree(), D.total_degree()))
    core = widen(sp.factor(num) / sp.factor(den))
    scale = binade_reciprocal(sp.Max(*[sp.Abs(x) for x in sorted(d_syms, key=sp.default_sort_key)]))
    out = core.func(*[leaf * scale for leaf in core.leaves])
    # one power of r at a time: each product exact where it stays in range, and monotone (a long chain in chunks: chain48)
    out = steps_of_any_power_of_two(out, scale, -int(d))
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
        plain = ungroup(plain)
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
    fired=_rewrote)


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
    apply=_quotient_roots, fired=_rewrote)


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
    # r^(−d): a quotient by r for each power of a positive degree (a long chain in chunks: chain48)
    out = steps_of_any_power_of_two(out, scale, -int(degree))
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
    apply=_reciprocal_margins, fired=_rewrote, before=True)


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
    apply=_quotient_complement, fired=_rewrote)


# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
# the count from which a rounded function's integer power g^k is widened whole: its roundings are one error repeated
# k times, not independent ones, and measured the worst of 400 random points is about half the count (tanh(x/y)⁴, 11:
# 5.74 ULP; tanh(x/y)⁻³ and erf(x/y)⁻³, 9: 4.66 and 4.32; σ(x/y)⁻², 10: 4.84; break38), so from 2 × the bound of 4 ULP
LONG_POWER_ROUNDINGS = 8.0
# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
def _roundings(e) -> float:
    """A bound of the relative error of ``e`` as the float64 kernel computes it, in units of u, to first order:
    doubleword._least_bound's count (a function's own error, a product's factors and multiplications), with a widened
    node one rounding and a select its worst value; a function of a widened value its own error alone."""
    from ..doubleword import _least_bound

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
# (from the rational-product block of rewrite.py: the split script moved it here, to the first module that uses it)
def _polynomial_term(term) -> bool:
    """``term`` a number times inputs and their whole powers (a²·x², 2·x, 1)."""
    coeff, rest = term.as_coeff_Mul()
    return all(f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp >= 1)
               for f in sp.Mul.make_args(rest)) if rest != 1 else coeff.is_Rational
# (from the rational-product block of rewrite.py: the split script moved it here, to the first module that uses it)
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


# ------------------------------------------------------------------ cauchy43 (issue 16, session 43, h-cauchy43: the
# Cauchy-like x/(1 + (a·x)²) itself, and its quotient sums past widen-quotients' guard); tested in tests/test_cauchy43.py

def _cauchy_monomial(term) -> bool:
    """``term`` a number times inputs' whole powers and whole powers of sums of inputs (x²/s², 2·(x − m)², −x/s³)."""
    def linear(u):
        return u.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in u.args)
    return all(f.is_number or f.is_Symbol or linear(f) or f.is_Pow and f.exp.is_Integer and (f.base.is_Symbol
                                                                                            or linear(f.base))
               for f in sp.Mul.make_args(term))


def _cauchy_reciprocal(f) -> bool:
    """``f`` a negative whole power of a sum of Cauchy monomials with a number among its terms or a sum of squares
    holding a difference's (:func:`_cauchy_squares_sum`)."""
    # (a sum with a number among its terms: x/(x² + y²) at x = 0, y = 1e−200 was NaN for 0 as written, x² + y² = 0)
    return bool(f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add
                and all(_cauchy_monomial(t) for t in f.base.args)
                and (any(t.is_number for t in f.base.args) or _cauchy_squares_sum(f.base)))


def _cauchy_complement(f) -> bool:
    """``f`` a sum of a number and products of Cauchy monomials' factors with a reciprocal (:func:`_cauchy_reciprocal`)
    whose base holds a square: 1 − 2(x − m)²/(s²·(1 + (x − m)²/s²)), the Cauchy NLL's s·∂s, which is (s² − (x − m)²)/
    (s² + (x − m)²) and crosses 0 where |x − m| = s. Taken factor by factor it rounds the quotient before the 1 cancels
    it: 6.76e15 ULP in float64 at m = 1.3 − 2⁻⁵², s = 1, x = 0.3, torch 2.25e15 (session 47, a new user's Cauchy NLL);
    over one denominator the numerator's double words keep it (tests/test_user47.py)."""
    if not (f.is_Add and any(t.is_number for t in f.args)):
        return False
    quotient = False
    for t in f.args:
        if t.is_number:
            continue
        for g in sp.Mul.make_args(t):
            if _cauchy_monomial(g):
                continue
            if not (_cauchy_reciprocal(g) and any(q.exp.is_Integer and q.exp >= 2 for q in g.base.atoms(sp.Pow))):
                return False
            quotient = True
    return quotient


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
        if _cauchy_complement(f):  # user47: 1 − 2(x − m)²/(s²·(1 + (x − m)²/s²)), a Cauchy NLL's ∂s over s
            squared = True
            continue
        if not _cauchy_reciprocal(f):
            return False
        squared = squared or any(q.exp.is_Integer and q.exp >= 2 for q in f.base.atoms(sp.Pow))
    # (a body of fewer than 3 roundings without a difference of inputs: its widened form keeps the float64 body
    # wherever its bound is within 3u, up to 1.4 ULP: 1/(1 + x²/s²), 0.50 by the scaled-power rule, went to 1.38;
    # the Lorentzian 1/(1 + (x − m)²/g²), counted 2, was 3.2 ULP in float64, worse than torch at 18 of 300)
    differences = any(q.base.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in q.base.args)
                      for q in node.atoms(sp.Pow))
    return squared and _cauchy_rational_degree(node) > 0 and (differences or _roundings(node) >= 3)


def _cauchy_zero_factor(expr):
    """Where zero inputs make a factor of the Cauchy quotient ``expr`` ±0 (the written form's signed zero is kept
    there, torch's; the double words' sums lose a −0): an input that is a factor or a factor's base (x, s⁻¹), or every
    input of a factor that is a difference of inputs (x − m at x = m = 0). Not an input only inside a sum's
    reciprocal or the complement 1 − c·Q: mix48, ∂s of the Cauchy NLL at m = 0 as written cancelled where |x| = s
    (1.3e15 ULP; every zero input taken as written before)."""
    def linear(u):
        return u.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in u.args)
    conditions = []
    for f in sp.Mul.make_args(expr):
        base = f.base if f.is_Pow and f.exp.is_Integer and f.exp > 0 else f
        if f.is_Pow and f.exp.is_Integer and f.exp < 0 and (f.base.is_Symbol or linear(f.base)):
            base = f.base  # (s⁻²: a pole, as written there)
        if base.is_Symbol:
            conditions.append(sp.Eq(base, 0))
        elif linear(base):
            conditions.append(sp.And(*[sp.Eq(v, 0) for v in sorted(base.free_symbols, key=sp.default_sort_key)]))
    return sp.Or(*conditions)


def _cauchy_quotients(expr):
    """``expr`` as :func:`_rational_products` takes a rational long product (widened whole with far_bound ⌊960/D⌋, as
    written where an input is ±0 and where the widened value is not finite), where it is a Cauchy quotient
    (:func:`_cauchy_quotient`); as it is otherwise. An output only, not a term of a sum."""
    if not (isinstance(expr, sp.Basic) and _cauchy_quotient(expr)):
        return expr
    sign = -1 if expr.could_extract_minus_sign() else 1
    zero = _cauchy_zero_factor(expr)
    body = _cauchy_over_one_denominator(sign * expr)
    bound = 960 // _cauchy_rational_degree(body)
    widened = sign * widen(body, far_bound=bound)
    # (lor44: a sum without a number among its terms underflows where a zero input leaves the others tiny, g/(g² + (x −
    # m)²) at g = 0, x − m = 1e−200 NaN as written: there the widened value, 0; :func:`_cauchy_squares_sum`)
    written = written_where_not_finite(expr, widened) if _cauchy_without_number(expr) else expr
    return sp.Piecewise((written, zero), (written_where_not_finite(widened, expr), True))


CAUCHY_QUOTIENT = Rule(
    "cauchy-quotient", "x/(1 + a²·x²) rounds a², x², their product, the sum and the quotient (SymPy writes (a·x)² as "
    "a²·x²; torch's (a·x)² rounds twice): within 2.45 ULP in float64 but worse than torch's at 62 of 2001 points (1.47 "
    "ULP at (6.5414, 0.35363), torch 0.47); the Lorentzian 1/(1 + ((x − m)/g)²)'s ∂x 5.45 ULP, the Student-t-like "
    "(1 + (x/s)²/3)⁻²'s ∂s 6.2, worse than torch at 65 and 69 of 300 points; a product of inputs' powers, of "
    "differences of inputs, and of negative powers of sums of such monomials with a number among their terms (x/(x² + "
    "y²) as written is NaN at x = 0, y = 1e−200) or of sums of squares holding a difference's (g/(g² + (x − m)²)'s "
    "∂x 2.96 ULP by widen, worse than torch at 38 of 300 points; there the widened value too where an input is ±0 and "
    "the written one is not finite), one of those sums holding a square, or such a sum's reciprocal, "
    "three roundings or more (or a difference of inputs) is computed as the rational-product rule computes its "
    "products, over one denominator (1/(1 + (x − m)²/g²) as g²/(g² + (x − m)²): fewer operations), in double-word "
    "arithmetic (hi + lo, about 106 bits; a·x exact by TwoProduct, x − m by TwoSum, the squares, sums and quotients "
    "each to 2⁻¹⁰⁴ or so) and rounded once in a float64 kernel, in float64 in a float32 "
    "one (exact: the same number, only its roundings change), in scaled double words (each input in [1/2, 1) by its "
    "exponent) where an input is past 2^±⌊960/D⌋ (D a bound of every value's degree in the inputs); as written where "
    "an input is ±0 (exact there) and where the widened value is not finite; before the node-by-node rules, which "
    "rewrite those squares; not the rational-product rule's products (after them). A factor 1 − c·Q of such a "
    "quotient Q is taken over the same denominator: a Cauchy NLL's ∂s, (1 − 2(x − m)²/(s²·(1 + (x − m)²/s²)))/s, "
    "is (s² − (x − m)²)/(s·(s² + (x − m)²)), whose numerator's double words keep the zero at |x − m| = s that the "
    "rounded quotient lost (6.76e15 ULP in float64 at m = 1.3 − 2⁻⁵², s = 1, x = 0.3, torch 2.25e15; now 0.78 at "
    "worst over 300 points), at 1.2× the CPU time of f and ∂s in float64 and 2.0× in float32 (whose body is then "
    "computed in float64; 10⁶ points); as written only where zero inputs make a factor 0 (an input factor or pole such as s⁻¹, "
    "or every input of a difference factor, x − m at x = m = 0: the written signed zeros): at m = 0 alone its ∂s "
    "was as written, 1.25e15 ULP in float64 at (0, 0.2999999999999999, 0.3), torch 2.75e15; now 0.16",
    apply=_cauchy_quotients, fired=_rewrote, before=True)  # (before the node-by-node rules:


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


# ------------------------------------------------------------------ lor44 (issue 16, session 44, h-lor44: the
# cauchy-quotient rule's body over one denominator, g²/(g² + (x − m)²) for 1/(1 + (x − m)²/g²), and its sums of squares
# holding a difference's, g/(g² + (x − m)²)); tested in tests/test_lor44.py

def _cauchy_over_one_denominator(expr):
    """``expr`` (a Cauchy quotient, :func:`_cauchy_quotient`) as one quotient of products of polynomials, its inner
    quotients cleared (SymPy's together: 1/(1 + (x − m)²/g²) as g²/(g² + (x − m)²), its ∂g 2·(x − m)²/(g³·(1 + (x −
    m)²/g²)²) as 2g·(x − m)²/(g² + (x − m)²)²; factors kept, never expanded); the same function wherever no input is
    0 (the rule's other branch). Its double words take one quotient, not one a sum (∂g: 11 double-word operations →
    8), and its degree bound is smaller (13 → 7: the scaled tier from 2^±137, not 2^±73). ``expr`` as it is where
    the one quotient's numerator or denominator has a degree above 6 in the inputs (a float32 kernel takes the
    body in float64: within 2^±(6·149) of float32 inputs' every value, a normal float64 but for cancellation)."""
    body = sp.together(expr)
    numerator, denominator = sp.fraction(body)
    if max(_cauchy_rational_degree(numerator), _cauchy_rational_degree(denominator)) > 6 \
            or min(_cauchy_rational_degree(numerator), _cauchy_rational_degree(denominator)) < 0:
        return expr
    return body


def _cauchy_squares_sum(node) -> bool:
    """``node`` a sum of positive numbers times inputs' and differences of inputs' even powers, one of its terms a
    difference's (the Lorentzian's g² + (x − m)²): never 0 unless each base is, so that its quotients are widened at
    a zero input too (x/(x² + y²) as written is NaN at x = 0, y = 1e−200 where x² + y² underflows: the cauchy-quotient
    rule's ±0 branch keeps the written value, so that a sum without a number among its terms takes none; the
    widened value is 0 there, its scaled tier taking the underflow). Not p² + t² (no difference: (p − t)²/(p² + t²)
    stays homogeneous-quotient's)."""
    def even(f):
        return f.is_Pow and f.exp.is_Integer and f.exp > 0 and f.exp % 2 == 0 and (
            f.base.is_Symbol or f.base.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in f.base.args))
    if not node.is_Add:
        return False
    for t in node.args:
        coeff, rest = t.as_coeff_Mul()
        if not (coeff.is_positive and all(even(f) for f in sp.Mul.make_args(rest))):
            return False
    return any(even(f) and f.base.is_Add for t in node.args for f in sp.Mul.make_args(t.as_coeff_Mul()[1]))


def _cauchy_without_number(node) -> bool:
    """Whether a negative power in ``node`` (a Cauchy quotient) is of a sum without a number among its terms."""
    return any(f.is_Pow and f.exp.is_Integer and f.exp < 0 and f.base.is_Add
               and not any(t.is_number for t in f.base.args) for f in sp.Mul.make_args(node))


# ------------------------------------------------------------------ worse46 (issue 16, session 46, h-worse46:
# ∂x of log(1 + x/y) − x/(x + y), 1/(y·(1 + x/y)) − 1/(x + y) + x/(x + y)², which is x/(x + y)²: fraction-complement
# paired x/(x + y)² with −1/(x + y) (−y/(x + y)²) and the log's 1/(y·(1 + x/y)) was left to cancel against it, 3.24e14
# ULP in float64 at (w, x, y, z) = (202.16, 4.2e−12, 879.34, 2.6e−8) beside log(1 + z/w) − z/(z + w), worse than torch
# at 46 of 80 points); tested in tests/test_worse46.py

def _denominator_sums(node) -> set:
    """The sums S that some term of the sum ``node`` divides by (a factor S^−n, n ≥ 1 whole)."""
    return {f.base for t in node.args for f in sp.Mul.make_args(t)
            if f.is_Pow and f.base.is_Add and f.exp.is_Integer and f.exp < 0}


def _ratio_sum_term(term, sums: set):
    """``term`` with a factor A^−n (A a sum holding a quotient by an input s) and s^−k (k ≥ j·n) read as S^−n where
    S = s^j·A multiplied out is one of ``sums``; None where no such pair is in ``term``."""
    factors = list(sp.Mul.make_args(term))
    inputs = {f.base: -f.exp for f in factors if f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp < 0}
    for i, f in enumerate(factors):
        if not (f.is_Pow and f.base.is_Add and f.exp.is_Integer and f.exp < 0):
            continue
        n = -f.exp
        for s, k in inputs.items():
            if not f.base.has(s):
                continue
            for j in range(1, k // n + 1):
                total = sp.expand(s ** j * f.base)
                if total in sums and not total.has(s ** -1):
                    rest = [g for g in factors[:i] + factors[i + 1:] if not (g.is_Pow and g.base == s)]
                    return sp.Mul(*rest, s ** (j * n - k), total ** -n)
    return None


def _ratio_sum_denominator(node):
    """A sum of quotients in which one term divides by s^j·A (A = 1 + Q/s…, a sum holding a quotient by an input s;
    1/(y·(1 + x/y)), log(1 + x/y)'s derivative) and another by S = s^j·A multiplied out (x + y) → the first term over
    S: the like terms then add symbolically (1/(x + y) − 1/(x + y) = 0). None where no term is such.

    Proof: s^j·A = S is an identity of polynomials once multiplied out (its quotients by s cancel), so the term is the
    same function wherever s ≠ 0 (at s = 0 the written term is NaN or ±inf, the new one its limit where S ≠ 0). S as
    written rounds once a product and once a sum; s^j·A rounded its quotients, its sum and the product too (and
    overflowed Q/s where S does not: y tiny). The sum's terms are then added as the other rules print them, with no
    cancellation left between two forms of one quotient."""
    if not node.is_Add:
        return None
    sums = _denominator_sums(node)
    if not sums:
        return None
    terms, changed = [], False
    for term in node.args:
        new = _ratio_sum_term(term, sums)
        changed |= new is not None
        terms.append(term if new is None else new)
    if not changed:
        return None
    out = sp.Add(*terms)
    return out if out != node else None


RATIO_SUM_DENOMINATOR = Rule(
    "ratio-sum-denominator", "a sum of quotients with one term over s·(1 + Q/s) and another over s + Q (the derivative "
    "of log(1 + x/y) − x/(x + y), 1/(y·(1 + x/y)) − 1/(x + y) + x/(x + y)², which is x/(x + y)²) cancels the two "
    "forms of one quotient numerically (fraction-complement paired x/(x + y)² with −1/(x + y), leaving "
    "1/(x + y) − y/(x + y)²: 3.24e14 ULP in float64 at x = 4.2e−12, y = 879.34, torch 4.21e13); s^j·(1 + Q/s…) is "
    "S = s^j + Q… multiplied out (an identity where s ≠ 0), so the term is read over S, where another term divides "
    "by S: the like terms add symbolically, and S rounds once", local=_ratio_sum_denominator)
