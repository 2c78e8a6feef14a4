"""Sigmoid rules: exp-into-sigmoid, sigmoid-power, one-plus-exp-power, exp-sigmoid-far/-spread, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: exp-into-sigmoid,
sigmoid-power, sigmoid-power-factor, one-plus-exp-power, exp-sigmoid-far, exp-sigmoid-spread.
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...special import softplus
from .core import _rewrote, Rule
from .widening import _atoms, _bottom_up, _KEPT, _ROUNDED, _top_down, unwiden, widen, WidenedBase
from .limits import _EXP_PRODUCT_LIMIT_OF, _TANH_LINEAR_BELOW


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

# ------------------------------------------------------------------ sigmoid-power (issue 16, session 29: a focal-like
# loss of one's own, σ(z)^γ·logsigmoid(−z) with γ an input); tested in tests/test_focalg29.py


def _widened_sigmoid_power(node):
    """A widened sum holding σ(u)^γ (γ not a number, u not known ≥ 0; the derivative's sum of σ(z)^q·σ(−z),
    q·σ(z)^q·σ(−z)² − σ(z)^(q + 1)·σ(−z), widened whole before this rule) → below u = −700 the sum with each σ(u)^γ as
    e^(γ·u)·σ(−u)^γ (exactly: σ(u) = e^u·σ(−u)), widened; as it is elsewhere. None where it holds none (session 50,
    h-shift50: ∂z 0 for −1.93e−24 at q = 0.01, z = −5000; its σ(z) is 0 in the double words)."""
    body = node.expanded
    powers = {p for p in body.atoms(sp.Pow) if isinstance(p.base, sigmoid) and not p.exp.is_number
              and not p.base.args[0].is_nonnegative and not p.base.args[0].is_number
              and not p.base.args[0].has(*_ROUNDED, softplus) and not p.exp.has(*_ROUNDED, softplus)}
    if len({p.base for p in powers}) != 1:
        return None
    if any(w.expanded.has(sigmoid) for w in body.atoms(WidenedBase)):  # a σ(u) in a widened sum inside it would stay
        return None  # 0 below u = −745 (∂z of σ(z)^q·(1 − σ(z))·z at (0.0486, −955.8): 6.5e−21 for −2.96e−19; review51)
    u = next(iter(powers)).base.args[0]
    far = body.xreplace({p: sp.exp(p.exp * u) * sigmoid(-u) ** p.exp for p in powers})
    return sp.Piecewise((widen(far, node.first_order, node.in_float32), u < _EXP_SIGMOID_FAR), (node, True))


def _sigmoid_power_node(node):
    """σ(u)^γ, γ not a number, u free of rounded functions → widened to first order (NumPy: libm's pow of σ(u)'s hi
    times e^(γ·σ_lo/σ_hi); Triton: the double-word e^(γ·log σ(u))), else None; a widened sum holding one by
    :func:`_widened_sigmoid_power`."""
    if isinstance(node, WidenedBase):
        return _widened_sigmoid_power(node)
    if not (isinstance(node, sp.Pow) and isinstance(node.base, sigmoid) and not node.exp.is_number
            and node.free_symbols and not node.has(WidenedBase)):
        return None
    if node.base.args[0].has(*_ROUNDED, softplus) or node.exp.has(*_ROUNDED, softplus):
        return None
    u, g = node.base.args[0], node.exp
    if u.is_number or u.is_nonnegative:
        return widen(node, first_order=True)
    # mix49: σ(u) underflows below u ≈ −745 (a subnormal of few digits from −708) and σ(u)^γ with it, where
    # σ(u)^γ = e^(γ·u)·σ(−u)^γ exactly (σ(u) = e^u·σ(−u)) does not: the GCE's ∂z −σ(z)^q·σ(−z) at z = −800, q = 1/2
    far = widen(sp.exp(g * u), first_order=True) * widen(sigmoid(-u) ** g, first_order=True)
    return sp.Piecewise((far, u < _EXP_SIGMOID_FAR), (widen(node, first_order=True), True))


def _sigmoid_powers(expr):
    """Every σ(u)^γ of ``expr`` outside a widened node as :func:`_sigmoid_power_node` writes it, and a widened sum
    holding one as :func:`_widened_sigmoid_power` does."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sigmoid) or expr.atoms(WidenedBase)):
        return expr
    return _top_down(expr, _sigmoid_power_node, _KEPT_OPEN)


SIGMOID_POWER = Rule(
    "sigmoid-power", "σ(u)^γ with γ an input formed from σ(u) rounded (e^−|u|, 1 + e^−|u|, a quotient and, for u < 0, a "
    "product: some 2 ulps) carries γ times that rounding into the power (a focal-like loss of one's own, "
    "−(1 − t)·σ(z)^γ·logsigmoid(−z), float64, t = 0, γ = 3: f 4.57 ULP at z = −1.366, ∂γ 5.52 at z = −0.089; torch "
    "1.57 and 0.525); as the rounded-power rule's power of a sum: σ(u) in double-word and libm's pow of its hi part "
    "times e^(γ·σ_lo/σ_hi), first order, relative error below γ·2⁻¹⁰⁵ besides pow's own (NumPy; Triton: the "
    "double-word e^(γ·log σ(u))); below u = −700, where σ(u) is a subnormal of few digits or 0 (the GCE's ∂z "
    "−σ(z)^q·σ(−z): 5,125 ULP in float64 at q = 0.3, z = −720, −0 for −1.93e−22 at q = 0.01, z = −5000), as "
    "e^(γ·u)·σ(−u)^γ, exactly (σ(u) = e^u·σ(−u)), γ·u in double words; a widened sum holding σ(u)^γ (∂z of "
    "σ(z)^q·σ(−z), widened whole before this rule: 0 for 1.93e−24 at q = 0.01, z = −5000) with that form below "
    "u = −700, widened again",
    apply=_sigmoid_powers, fired=_rewrote)


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
    apply=_sigmoid_power_factors, fired=_rewrote, before=True)


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
    "rounded-power rule's)", apply=_one_plus_exp_powers, fired=_rewrote)

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
    far = unwiden(far)
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
    "for 3 at (745, 745), torch NaN)", apply=_exp_sigmoids_far, fired=_rewrote)

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
                spread = unwiden(spread)
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
                spread = widen(unwiden(spread),
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
    "its terms where a < −40, tanh(k·e^a) = k·e^a there to 2⁻⁹⁷ (|k| ≤ 1024): e^z·(1 − t) − 2t·σ(−e^z)", apply=_exp_sigmoids_spread, fired=_rewrote)


# ------------------------------------------------------------------ past47 (issue 16, session 47, h-past47: the
# discretised logistic NLL −log(σ(a) − σ(b)) at its bin's centre); tested in tests/test_past47.py

def _log_sigmoid_difference(node):
    """log(c·σ(a) − c·σ(b)) (c > 0 a number) → log c − softplus(−a) − softplus(b) + log(−expm1(b − a)), b − a with its
    common factors taken out (SymPy's factor_terms: (x − m − 1/2)·e^(−s) − (x − m + 1/2)·e^(−s) is −e^(−s)); None for any
    other node.

    Exact in reals wherever the log is defined (a > b): σ(a) − σ(b) = (e^a − e^b)/((1 + e^a)(1 + e^b))
    = σ(a)·σ(−b)·(1 − e^(b − a)), and log σ(v) = −softplus(−v); where a ≤ b both are NaN or −inf. As written the
    difference rounds to 1 where σ(a) and σ(−b) are both within an ulp of 1 (PixelCNN++'s discretised logistic at its
    bin's centre, a = −b = 41.3: −log of 1 is −0 for 2.29e−18, 5.9e15 ULP in float64; torch the same); here each
    term is the small value it is, and log(−expm1(b − a)) is the log1mexp rule's (PixelCNN++'s own code takes the
    difference of σ's apart likewise, by softplus)."""
    if not isinstance(node, sp.log):
        return None
    (arg,) = node.args
    if not (arg.is_Add and len(arg.args) == 2):
        return None
    signed = []
    for t in arg.args:
        c, rest = t.as_coeff_Mul()
        if not isinstance(rest, sigmoid):
            return None
        signed.append((c, rest.args[0]))
    (c1, u1), (c2, u2) = signed
    if not (c1.is_number and c1 == -c2 and c1 != 0):
        return None
    (c, a), (_, b) = ((c1, u1), (c2, u2)) if c1 > 0 else ((c2, u2), (c1, u1))
    scale = sp.log(c) if c != 1 else sp.S.Zero
    return scale - softplus(-a) - softplus(b) + sp.log(-expm1(sp.factor_terms(b - a)))


LOG_SIGMOID_DIFFERENCE = Rule(
    "log-sigmoid-difference", "log(σ(a) − σ(b)) (a discretised logistic's bin probability, PixelCNN++'s) rounds "
    "the difference to 1 where σ(a) and σ(−b) are both within an ulp of 1 (at the bin's centre, a = −b = 41.3: −log of "
    "1 is −0 for 2.29e−18, 5.9e15 ULP in float64; torch the same); σ(a) − σ(b) = σ(a)·σ(−b)·(1 − e^(b − a)) exactly, so "
    "its log is −softplus(−a) − softplus(b) + log(−expm1(b − a)), each term the small value it is, b − a with its "
    "common factors taken out", local=_log_sigmoid_difference)


# ------------------------------------------------------------------ kl48 (issue 16, session 48, h-kl48: the binary
# (Bernoulli) KL of two sigmoids near p = q, test_user47's strict xfails); tested in tests/test_kl48.py

_BERNOULLI_SERIES_BELOW = sp.Rational(1, 8)  # |δ| below which the KL is its cumulant series t·δ²·Σ c_n(r)·δ^(n−2)
_BERNOULLI_SERIES_TERMS = 16  # κ_2 … κ_16: the next term is below 2⁻⁵⁸ of the first at |δ| = 1/8 (radius ≥ π)
_BERNOULLI_LOGITS_BELOW = 700  # |x| and |δ| below which the rule's form is taken: σ(±x) and expm1(δ) are normal
_BERNOULLI_TERMS_AT_MOST = 16  # a term multiplied out into more is not a KL's (nor its gradient's): left as it is
_BERNOULLI_PIECES_WITHIN = sp.Integer(2) ** 500  # δ's factors within 2^±500 for the series: their squares are normal


def _bernoulli_cumulants():
    """The polynomials P_n(r), n = 2 … 16, with κ_n = t·P_n(r)/… the cumulants of a Bernoulli(s) variable: κ_n/n! =
    t·P_n(r), t = s·(1 − s), r = 1 − 2s (κ_2 = t, κ_(n+1) = t·dκ_n/ds)."""
    s, r = sp.symbols("s r")
    out, kappa = [], s * (1 - s)
    for n in range(2, _BERNOULLI_SERIES_TERMS + 1):
        ratio = sp.cancel(kappa / (s * (1 - s)))
        out.append(sp.Poly(sp.expand(ratio.subs(s, (1 - r) / 2) / sp.factorial(n)), r))
        kappa = sp.expand(s * (1 - s) * sp.diff(kappa, s))
    return out


_BERNOULLI_P = _bernoulli_cumulants()


def _bernoulli_horner(r, d, first=2, scaled=False):
    """Σ_{n≥first} P_n(r)·δ^(n−first) (times n where ``scaled``), Horner in δ and in r."""
    out = sp.S.Zero
    for n, poly in reversed(list(enumerate(_BERNOULLI_P, start=2))[first - 2:]):
        coeff = sp.S.Zero
        for c in poly.all_coeffs():
            coeff = coeff * r + c
        out = (n * coeff if scaled else coeff) + d * out
    return out


def _bernoulli_series(t, r, d):
    """log(1 + s·expm1(δ)) − s·δ = Σ_{n≥2} κ_n·δⁿ/n! = t·δ²·Σ_n P_n(r)·δ^(n−2), Horner in δ and in r."""
    return t * d ** 2 * _bernoulli_horner(r, d)


def _bernoulli_kl(x, y):
    """KL(σ(x)‖σ(y)) = softplus(y) − softplus(x) − σ(x)·δ = log1p(s·expm1(δ)) − s·δ, s = σ(x), δ = y − x with its
    common factors taken out (b/T − a/T is (b − a)/T): its series where |δ| < 1/8, else in double words with the
    mirror (x, δ) → (−x, −δ) taken where x > 0, so that s ≤ 1/2; None where δ is 0 symbolically."""
    d = sp.factor_terms(y - x)
    if d == 0:
        return None
    s, sb = sigmoid(x), sigmoid(-x)
    near = widen(_bernoulli_series(s * sb, sb - s, d))  # widened: the local rules would multiply its Horner form out
    far = widen(sp.Piecewise((log1p(s * expm1(d)) - s * d, x <= 0), (log1p(sb * expm1(-d)) + sb * d, True)))
    inside = (sp.Abs(x) < _BERNOULLI_LOGITS_BELOW) & (sp.Abs(d) < _BERNOULLI_LOGITS_BELOW)
    # SymPy multiplies δ² out into its factors' squares ((b − a)²/T²): the series only where those stay in the range
    # (T = 1e−160, b − a = 5e−165: (b − a)² was 0; the double words there are accurate to 2⁻¹⁰⁰/|δ| of the KL)
    ranged = [(sp.Abs(g) > _BERNOULLI_PIECES_WITHIN ** -1) & (sp.Abs(g) < _BERNOULLI_PIECES_WITHIN)
              for g in sp.Mul.make_args(d) if not g.is_number]
    return near, far, sp.And(sp.Abs(d) < _BERNOULLI_SERIES_BELOW, *ranged), inside, d


def _sigmoid_weight(f):
    """x for a factor σ(x) or 1 − σ(x) (= σ(−x)), else None."""
    if isinstance(f, sigmoid):
        return f.args[0]
    if f.is_Add and len(f.args) == 2 and sp.S.One in f.args:
        rest = f.args[1] if f.args[0] == 1 else f.args[0]
        if rest.is_Mul and len(rest.args) == 2 and rest.args[0] == -1 and isinstance(rest.args[1], sigmoid):
            return -rest.args[1].args[0]
    return None


def _log_sigmoids(e):
    """{x: c} and a number k with e = Σ c·log σ(x) + k (log σ, log(1 − σ), softplus, logs of products and quotients
    of them, numbers times them), else None."""
    if e.is_Number:
        return {}, e
    if isinstance(e, softplus) and len(e.args) == 1:
        return {-e.args[0]: -1}, sp.S.Zero
    if isinstance(e, sp.log):
        out: dict = {}
        for f in sp.Mul.make_args(e.args[0]):
            base, power = f.as_base_exp()
            x = _sigmoid_weight(base)
            if x is None or not power.is_Integer:
                return None
            out[x] = out.get(x, 0) + power
        return out, sp.S.Zero
    if e.is_Mul:
        c, rest = e.as_coeff_Mul()
        inner = _log_sigmoids(rest) if c != 1 else None
        return None if inner is None else ({x: c * k for x, k in inner[0].items()}, c * inner[1])
    if e.is_Add:
        out, const = {}, sp.S.Zero
        for t in e.args:
            inner = _log_sigmoids(t)
            if inner is None:
                return None
            for x, k in inner[0].items():
                out[x] = out.get(x, 0) + k
            const += inner[1]
        return out, const
    return None


def _weighted_terms(term):
    """[(other, weights, logs, k)] with term = Σ other·Π σ(w)·(Σ c·log σ(x) + k): one entry, or those of the term
    multiplied out where a factor is a sum (16 entries at most); None where a factor is neither a
    sigmoid weight, a sum of log-sigmoids nor free of sigmoids."""
    weights, other, logs = [], [], None
    for f in sp.Mul.make_args(term):
        w = _sigmoid_weight(f)
        if w is not None:
            weights.append(w)
            continue
        if not f.has(sigmoid, softplus, sp.log):
            other.append(f)
            continue
        found = _log_sigmoids(f) if logs is None else None
        if found is None:
            if f.is_Add and logs is None:
                rest = sp.Mul(*[g for g in sp.Mul.make_args(term) if g is not f])
                out = []
                for t in f.args:
                    inner = _weighted_terms(rest * t)
                    if inner is None or len(out) + len(inner) > _BERNOULLI_TERMS_AT_MOST:
                        return None
                    out += inner
                return out
            return None
        logs = found
    logs = logs or ({}, sp.S.One)
    return [(sp.Mul(*other), tuple(sorted(weights, key=sp.default_sort_key)), logs[0], logs[1])]


def _bernoulli_node(node):
    """A written KL(σ(x)‖σ(y)) = σ(x)·(log σ(x) − log σ(y)) + σ(−x)·(log σ(−x) − log σ(−y)) (times a factor free of
    sigmoids; in its spellings: log of quotients, 1 − σ, log-sigmoid as −softplus(−x)) → its series near y = x and its
    double words elsewhere; a sum Σ t·(c·log σ(z) − c·log σ(−z) …) of one weight product t in canceling pairs (its
    ∂x: t·(log σ(x) − log σ(y) − log σ(−x) + log σ(−y)) = t·(x − y)) → t·Σ c·z, the differences formed first; None
    for any other node."""
    if not node.is_Add or not node.has(sigmoid):
        return None
    parts, rest = [], []
    for t in node.args:
        found = _weighted_terms(t) if t.has(sigmoid) else None
        if found is None:
            rest.append(t)
        else:
            parts += found
    if len(parts) < 2:
        return None
    return _bernoulli_divergence(parts, rest) or _paired_log_sigmoids(parts, rest, node)


def _bernoulli_divergence(parts, rest):
    """The KL's form for ``parts`` that are exactly k·KL(σ(x)‖σ(y)) (k free of sigmoids), plus ``rest``; else None."""
    entries: dict = {}
    for o, weights, logs, const in parts:
        if len(weights) != 1 or const != 0:
            return None
        for z, c in logs.items():
            key = (weights[0], z)
            entries[key] = entries.get(key, 0) + c * o
    entries = {key: c for key, c in entries.items() if c != 0}
    if len(entries) != 4:
        return None
    selves = [(w, c) for (w, z), c in entries.items() if w == z]
    if len(selves) != 2 or selves[0][0] != -selves[1][0]:
        return None
    k = selves[0][1]
    if sp.simplify(selves[1][1] - k) != 0:
        return None
    x = selves[0][0]
    targets = [(w, z, c) for (w, z), c in entries.items() if w != z]
    if len(targets) != 2 or any(sp.simplify(c + k) != 0 for _, _, c in targets):
        return None
    ys = {w: z for w, z, _ in targets}
    if set(ys) != {x, -x} or sp.expand(ys[x] + ys[-x]) != 0:
        return None
    formed = _bernoulli_kl(x, ys[x])
    if formed is None:
        return None
    near, far, small, inside, _ = formed
    written = sp.Add(*[c * sigmoid(w) * sp.log(sigmoid(z)) for (w, z), c in entries.items()])
    kl = sp.Piecewise((k * near, small & inside), (k * far, inside), (written, True))
    return sp.Add(kl, *rest)


def _paired_log_sigmoids(parts, rest, node):
    """Σ of ``parts`` whose log-sigmoids, summed per weight product, come in pairs c·log σ(z) − c·log σ(−z) (= c·z),
    at least two pairs in one product: each such product times Σ c·z with its common factors taken out (∂T's shape:
    :func:`_temperature_gradient`'s series near p = q, ``node`` as written elsewhere); else None."""
    groups: dict = {}
    for o, weights, logs, const in parts:
        key = tuple(sorted({w: weights.count(w) for w in weights}.items(), key=sp.default_sort_key))
        entry = groups.setdefault(key, [weights, {}, sp.S.Zero])
        for z, c in logs.items():
            entry[1][z] = entry[1].get(z, 0) + c * o
        entry[2] += const * o
    out, paired, found = list(rest), False, []
    for weights, logs, const in groups.values():
        logs = {z: c for z, c in logs.items() if sp.expand(c) != 0}
        linear, seen = sp.S.Zero, set()
        for z, c in logs.items():
            if z in seen:
                continue
            if -z not in logs or sp.expand(c + logs[-z]) != 0:
                return None
            seen |= {z, -z}
            linear += c * z
        if len(seen) >= 4:
            paired = True
        found.append((weights, logs, sp.expand(const)))
        out.append(sp.Mul(*[sigmoid(w) for w in weights]) * (sp.factor_terms(sp.expand(linear)) + const))
    if not paired:
        return None
    shaped = _temperature_gradient(found)
    if shaped is not None:  # elsewhere as written (its pairs summed, k·x·(x − y) = a·(a − b)/T, underflowed at T = 1e−160)
        return sp.Piecewise((sp.Add(shaped[0], *rest), shaped[1]), (node, True))
    return sp.Add(*out)


def _temperature_gradient(found):
    """(series, where) for the groups ``found`` (their log-sigmoid pairs summed) where they are m·(x·t·(x − y) +
    y·(σ(y) − σ(x))), t = σ(x)·σ(−x) (∂T of KL(σ(a/T)‖σ(b/T)) times −T: m = T), which cancels to second order in
    δ = y − x as the KL does: with D = σ(y) − σ(x) = t·δ·Σ n·P_n·δ^(n−2), it is x·(D − t·δ) + δ·D
    = t·δ²·(x·Σ_{n≥3} n·P_n·δ^(n−3) + Σ_{n≥2} n·P_n·δ^(n−2)), widened, where |δ| < 1/8 (the KL's conditions); None
    for any other shape."""
    logged = [g for g in found if g[1]]
    plain = [g for g in found if not g[1]]
    if len(found) != 3 or len(logged) != 1 or len(logged[0][0]) != 2 or logged[0][2] != 0:
        return None
    (w1, w2), logs, _ = logged[0]
    if w1 != -w2 or len(logs) != 4:
        return None
    for x in (w1, w2):
        k = logs.get(x)
        if k is None:
            continue
        others = [z for z in logs if z not in (x, -x)]
        y = next((z for z in others if sp.expand(logs[z] + k) == 0 and sp.expand(logs[-z] - k) == 0), None)
        if y is not None:
            break
    else:
        return None
    consts = {tuple(sorted(w, key=sp.default_sort_key)): c for w, _, c in plain}
    c1 = consts.get(tuple(sorted((-x, y), key=sp.default_sort_key)))
    c2 = consts.get(tuple(sorted((x, -y), key=sp.default_sort_key)))
    if c1 is None or c2 is None or sp.expand(c1 + c2) != 0:
        return None
    m = sp.cancel(k / x)
    if sp.expand(sp.cancel(c1 - m * y)) != 0 or m.has(sigmoid):
        return None
    formed = _bernoulli_kl(x, y)
    if formed is None:
        return None
    _, _, small, inside, d = formed
    s, sb = sigmoid(x), sigmoid(-x)
    r = sb - s
    near = widen(m * s * sb * d ** 2 * (x * _bernoulli_horner(r, d, 3, True) + _bernoulli_horner(r, d, 2, True)))
    return near, small & inside


def _bernoulli_kls(expr):
    """Every written binary KL of two sigmoids in ``expr``, and the shapes of its gradients, as :func:`_bernoulli_node`
    writes them."""
    if not isinstance(expr, sp.Basic) or not expr.has(sigmoid):
        return expr
    return _top_down(expr, _bernoulli_node, _KEPT)


BERNOULLI_KL = Rule(
    "bernoulli-kl", "the KL divergence of two Bernoullis written through sigmoids, σ(x)·(log σ(x) − log σ(y)) + "
    "σ(−x)·(log σ(−x) − log σ(−y)) (a binary distillation loss with temperature, x = a/T, y = b/T), is of second order "
    "in δ = y − x while each log-ratio is of first order: as written near its teacher it cancels (1.37e11 ULP in "
    "float64 at 99 of 100 points near b = a; at T = 1.1e45 −8.55e−50 for 4.70e−92, the wrong sign). It is the Bregman "
    "divergence of softplus, softplus(y) − softplus(x) − σ(x)·δ = log1p(s·expm1(δ)) − s·δ, s = σ(x), δ formed as one "
    "difference ((b − a)/T); where |δ| < 1/8 its cumulant series Σ_{n≥2} κ_n·δⁿ/n! = t·δ²·(1/2 + r·δ/6 + …), "
    "t = σ(x)·σ(−x), r = σ(−x) − σ(x) (nothing cancels: every κ_n holds the factor t); elsewhere in double words, "
    "mirrored to s ≤ 1/2 ((x, δ) → (−x, −δ), the KL of the complements); as written where |x| or |δ| is 700 or more. "
    "Its gradients' shapes: t·(log σ(x) − log σ(y) − log σ(−x) + log σ(−y)) (∂x) is t·(x − y), the difference formed "
    "first ((a − b)/T: as a/T − b/T each quotient's rounding stayed, 505 ULP at (T, a, b) = (0.999, 0.999, 1)); "
    "m·(x·t·(x − y) + y·(σ(y) − σ(x))) (∂T times −T) cancels to second order as the KL does (1.6e12 ULP at T = 1.14e45, "
    "a = 1, b = 0.3; torch 8.6e15): t·δ²·(x·Σ_{n≥3} n·P_n·δ^(n−3) + Σ_{n≥2} n·P_n·δ^(n−2)) where |δ| < 1/8",
    apply=_bernoulli_kls, fired=_rewrote, before=True)


# ------------------------------------------------------------------ sigmoid-weighted-exps (issue 16, session 49, h-mix49:
# a Laplace mixture NLL written as the density reads); tested in tests/test_mix49.py

def _weighted_exp(term):
    """(σ(u), x, the other factors) where ``term`` is a product c·σ(u)·e^x·… with exactly one σ factor to the first
    power and one exponential; None otherwise."""
    factors = sp.Mul.make_args(term)
    sigmoids = [f for f in factors if isinstance(f, sigmoid)]
    exps = [f for f in factors if isinstance(f, sp.exp)]
    if len(sigmoids) != 1 or len(exps) != 1:
        return None
    rest = [f for f in factors if f is not sigmoids[0] and f is not exps[0]]
    if any(f.has(sp.exp, sigmoid) for f in rest):
        return None
    return sigmoids[0], exps[0].args[0], sp.Mul(*rest)


def _weighted_sums(expr):
    """The sums of ``expr`` inside a log or a reciprocal power whose terms are each c·σ(u)·e^x (c a positive number),
    two or more, with two exponents at least that differ: ({(σ(u), x)} of their terms, {the sums})."""
    found, sums = set(), set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.log):
            s = node.args[0]
        elif node.is_Pow and node.exp.is_number and node.exp.is_negative:
            s = node.base
        else:
            continue
        if not s.is_Add or len(s.args) < 2:
            continue
        terms = [_weighted_exp(t) for t in s.args]
        if any(t is None or not (t[2].is_number and t[2].is_positive) for t in terms):
            continue
        if len({t[1] for t in terms}) < 2:
            continue
        found |= {(t[0], t[1]) for t in terms}
        sums.add(s)
    return found, sums


def _sigmoid_weighted_exps(expr):
    """Every product holding σ(u) and e^x of a pair that :func:`_weighted_sums` found as e^(x − softplus(−u)) times its
    other factors (σ(u)'s power less one): σ(u)·e^x = e^(x − softplus(−u)) exactly (log σ(u) = −softplus(−u)), so that
    the logaddexp, log-sum-exp and max-shift rules see the sum of exponentials, as with the log-weights written inside."""
    if not isinstance(expr, sp.Basic) or not expr.has(sigmoid) or not expr.has(sp.exp):
        return expr
    pairs, sums = _weighted_sums(expr)
    if not pairs:
        return expr

    def node_rule(node):
        if not node.is_Mul:
            return None
        factors = list(node.args)
        for s, x in pairs:
            powers = [i for i, f in enumerate(factors)
                      if f == s or f.is_Pow and f.base == s and f.exp.is_Integer and f.exp > 1]
            exps = [i for i, f in enumerate(factors) if isinstance(f, sp.exp) and f.args[0] == x]
            if len(powers) == 1 and len(exps) == 1:
                i, j = powers[0], exps[0]
                f = factors[i]
                factors[i] = sp.S.One if f == s else s ** (f.exp - 1)
                factors[j] = sp.exp(x - softplus(-s.args[0]))
                return sp.Mul(*factors)
        return None

    far = expr.replace(lambda n: n.is_Mul and node_rule(n) is not None, node_rule)
    if far == expr:
        return expr
    # as written where each such sum is a normal number (its products then as accurate as the rounded-argument rule
    # makes e^x; the shifted exponents, which hold softplus, are rounded: 1,089 ULP in ∂m₁ at x = 518.5): shifted where
    # every term of a sum is below 2⁻¹⁰⁰⁰ or one e^x overflows; both compare with a constant far out (the terms are
    # never negative), so the code computes the shifted branch on those elements alone
    # (and as written where an exponent is ±inf: both exponents −inf make the shifted exponents' gap inf − inf, NaN
    # where the written form's limit is right — f inf at (a, m₁, m₂, x) = (inf, inf, 0, 0), h-review50. h-review49's
    # guard took 2¹²⁷ for both dtypes, which left the Gaussian mixture NaN at |x| in [1.3e19, 1e150] in float64 where
    # the shift-gaps rule forms the gaps exactly (session 51): |x|·2⁻⁹⁰⁰ < 2¹⁰⁰ is |x| < 2¹⁰⁰⁰ in float64 and, 2⁻⁹⁰⁰
    # being 0 in float32, "x is finite" there (inf·0 is NaN))
    conds, finite = [], []
    for total in sorted(sums, key=sp.default_sort_key):
        terms = [_weighted_exp(t) for t in total.args]
        conds.append(sp.And(*[sg * sp.exp(x) < _WEIGHTED_TERM_TINY for sg, x, _ in terms]))
        conds += [x > _WEIGHTED_SUM_FAR for _, x, _ in terms]
        finite += [sp.Abs(x) * _WEIGHTED_EXPONENT_SCALE < _WEIGHTED_EXPONENT_SCALED for _, x, _ in terms]
    return sp.Piecewise((far, sp.And(sp.Or(*conds), *finite)), (expr, True))


_WEIGHTED_TERM_TINY = sp.Float(2.0 ** -1000)  # a sum of σ-weighted exponentials each below it is taken shifted; where
# one is above it, as written (its quotients as accurate as its terms: 22 binades above the subnormals)
_WEIGHTED_SUM_FAR = 700  # e^x past it overflows
_WEIGHTED_EXPONENT_SCALE = sp.Float(2.0 ** -900, 17)  # 0 in float32 (the product then NaN at ±inf only)
_WEIGHTED_EXPONENT_SCALED = sp.Float(2.0 ** 100, 17)  # an exponent past 2¹⁰⁰⁰ (±inf included) as written


SIGMOID_WEIGHTED_EXPS = Rule(
    "sigmoid-weighted-exps", "a sum of exponentials weighted by sigmoids, Σ σ(uᵢ)·e^(xᵢ) (a two-component Laplace "
    "mixture NLL written as the density reads, −log(σ(a)·e^−|x − m₁| + σ(−a)·e^−|x − m₂|)), underflows where every "
    "e^(xᵢ) does: f inf at each of 251 points x in [750, 1000] (true 798.57 at x = 800, a = m₁ = 0, m₂ = 2), each "
    "gradient NaN (torch the same); the log-sum-exp and max-shift rules do not see the products σ(u)·e^x. Each is "
    "e^(x − softplus(−u)) exactly (log σ(u) = −softplus(−u)), in the sum and in the products of the gradients that hold "
    "both factors, so that those rules shift the sum by its largest exponent",
    apply=_sigmoid_weighted_exps, fired=_rewrote, before=True)
