"""The widen rule: double-word evaluation of the sums that cancel (WidenedBase, widen, the graph walks).

Its blocks, in the order of the module rewrite.py that session 43 split into this package: widen.
"""
from __future__ import annotations

import contextvars

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import _PRINT_METHODS, sigmoid
from ...records import BoundedRecord
from ...special import ndtr, ndtr_tanh, ndtr_tanh_pdf, softplus
from .core import Rule


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
        from ...render import shared_srepr  # sp.srepr, each subexpression once (a φ series holds D_i 15 times)
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
# float64, as torch's; now 0.49 in float32, and double-word in float64 up to |x| = 2²¹ (1e5 before session 47),
# doubleword._dw_sin)
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
    x/y = −1.2785. Nor is an input only inside a root or another non-integer power (c in √(1 − c²), which is ≥ 0
    whatever c's sign: trig48, ∂m of the ArcFace logit s·(c·cos m − √(1 − c²)·sin m), −s·(c·sin m + √(1 − c²)·cos m),
    cancels at c = −cos 1, m = 1, 8.9e15 ULP in float64 unwidened, torch 1.1e16)."""
    hidden = [f for f in term.atoms(sp.Function)]
    hidden += [q for q in term.atoms(sp.Pow) if q.base.free_symbols and q.exp.is_number and not q.exp.is_Integer]
    return term.xreplace({f: sp.Dummy() for f in hidden}).free_symbols & term.free_symbols


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
        plain = ungroup(value)
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
    holders = [a for a in node.args if _trig_holder(a.as_coeff_Mul()[1])]
    if node.has(*[f for f in _ROUNDED if f not in (sp.sin, sp.cos)]):
        return False
    if len(holders) >= 2 and len(holders) == len(node.args):
        return True
    return _trig_sum_beside_a_constant(node, holders)


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


def _top_down(expr, new_form, leaves=(), exprs_only=False):
    """``expr.xreplace(found)`` for found = {n: new_form(n)} over the subexpressions n of ``expr`` where that is not
    None: each outermost such node replaced, a replacement not entered, a parent rebuilt where an argument was
    replaced (as xreplace does), each distinct node asked once (a preorder_traversal walks the tree: a sum
    of N terms that each hold max(a_1, …, a_N) is N² nodes, and the same sum in each of N + 1 outputs). Nodes of
    a ``leaves`` class are kept as they are, neither asked nor entered; with ``exprs_only``, nodes that are not an
    ``sp.Expr`` (a Piecewise's pairs and conditions) are entered but not asked. Inside a :class:`Stabiliser`, for
    a ``new_form`` of the node alone (:func:`_walk_memo`), the answers are shared by the kernel's outputs."""
    memo = _walk_memo(new_form, ("top-down", leaves) if not exprs_only else ("top-down, expressions", leaves))

    def visit(node):
        done = memo.get(node)
        if done is not None:
            return done
        if isinstance(node, leaves):
            return node, False
        new = new_form(node) if not exprs_only or isinstance(node, sp.Expr) else None
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


def _top_down_having(expr, atoms, node_form, leaves=(), exprs_only=True):
    """The rewrite rules' common walk: ``expr`` as it is unless it is an expression that holds one of the classes
    ``atoms`` (a class or a tuple of them), else :func:`_top_down` of ``node_form`` (each outermost node it
    rewrites, rewritten; ``leaves`` neither asked nor entered), asked of the expression nodes only unless
    ``exprs_only`` is False (then of a Piecewise's pairs too)."""
    if not isinstance(expr, sp.Expr) or not expr.has(*(atoms if isinstance(atoms, tuple) else (atoms,))):
        return expr
    return _top_down(expr, node_form, leaves, exprs_only=exprs_only)


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
    return _far_rational_widened(node, _signed_widen(node))  # nbsub45: past 2^±⌊960/D⌋, the scaled tier


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


# (from the cancellation-rules block of rewrite.py: the split script moved it here, to the first module that uses it)
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

    def _eval_evalf(self, prec):
        # its sum's number (h-hyp51): a bracket of a constant, which a walk that takes a select's written branch
        # leaves (Grouped(Piecewise(…, (2, True))) → Grouped(2)), is then comparable; Max(0, Grouped(2)/2) raised
        # "The argument '2/2' is not comparable" (squared_hinge(kl_div(x, z), huber(x, y)) did not compile)
        return self.args[0]._eval_evalf(prec) if self.args[0].is_number else None


def ungroup(expr):
    """``expr`` with every :class:`Grouped` replaced by its sum (the same value; groupings inside groupings too)."""
    if not isinstance(expr, sp.Basic) or not expr.has(Grouped):
        return expr
    return expr.replace(lambda e: isinstance(e, Grouped), lambda e: e.args[0])


# chain48 (session 48, found by h-break48): a product by a power of two one exact step at a time was a chain as long as
# the power (sqrt(x**2 + y**2)**149, (x + y)**301/(x*y)**150: nested past Python's recursion limit, LimitError)
# steps after which a chain by r with |log2 r| >= bits is 0, +-inf or NaN: from any finite nonzero |v| in [2^-1074,
# 2^1024) ceil(2098/bits) products reach 2^1024 (inf), as many quotients reach at most 2^-1074, one more rounds to 0
_ABSORBING_BITS = 2098


def _absorbing_steps(bits: int) -> int:
    return -(-_ABSORBING_BITS // bits) + 1


def steps_by_power_of_two(out, r, n: int, far_bits: int | None):
    """out·r^n (n an integer, r a power of two) as |n| products (n > 0) or quotients (n < 0) by r, one exact step at a
    time (the partial products lie between out and the result, so none leaves the range where the result does not),
    for a result taken only where |log₂ r| ≥ ``far_bits``: after :func:`_absorbing_steps` steps the value is 0, ±inf or
    NaN (each step moves |v| by at least 2^far_bits the same way; float32 lies inside float64's range), which the
    further steps keep, so they are left out: bits identical to the whole chain, whose depth was |n|. far_bits None:
    every step (r may be 1)."""
    steps = abs(int(n)) if far_bits is None else min(abs(int(n)), _absorbing_steps(far_bits))
    for _ in range(steps):
        out = Grouped(out * r) if n > 0 else Grouped(out / r)
    return out


# chains longer than this are built by steps_of_any_power_of_two's chunks; the shorter ones as they were (the longest
# such chain that compiled before, (x + y)**161/(x*y)**80's, has 80 steps: (x + y)**181/(x*y)**90 did not)
_LONG_CHAIN = 128
_CHUNK = 16  # r^16 for |log2 r| < 64: within 2^±1008, a normal power of two


def steps_of_any_power_of_two(out, r, n: int):
    """out·r^n (n an integer, r = 2^k any power of two in the dtype's normal range, k in [−1022, 1023]) where the
    result is taken for every r: one exact step at a time for |n| ≤ _LONG_CHAIN (as before); longer, a select: where
    |k| ≥ 64 the capped chain of :func:`steps_by_power_of_two`; elsewhere by R = r^16 (four exact squarings, |log₂ R| ≤
    1008) ⌊|n|/16⌋ times, at most :func:`_absorbing_steps`(16) of them (R = 1 where k = 0, the value unchanged; else
    |log₂ R| ≥ 16), then by r for the rest. Each step is exact where it stays in the normal range and the partial
    products are monotone; where the result is subnormal it rounds no more often than the single steps."""
    n = int(n)
    if abs(n) <= _LONG_CHAIN:
        return steps_by_power_of_two(out, r, n, far_bits=None)
    far = sp.Or(r >= sp.Float(2.0 ** 64), r <= sp.Float(2.0 ** -64))
    chunk = r
    for _ in range(4):
        chunk = Grouped(chunk * chunk)
    near = steps_by_power_of_two(out, chunk, (abs(n) // _CHUNK) * (1 if n > 0 else -1), far_bits=_CHUNK)
    near = steps_by_power_of_two(near, r, (abs(n) % _CHUNK) * (1 if n > 0 else -1), far_bits=None)
    return sp.Piecewise((steps_by_power_of_two(out, r, n, far_bits=64), far), (near, True))


# (from the stabilise block of rewrite.py: the split script moved it here, to the first module that uses it)
def without_ite(e):
    """Conditions with every ITE(a, b, c) written as (a ∧ b) ∨ (¬a ∧ c). SymPy turns a relation
    on a Piecewise (``Eq(y**z guarded, 0)``: the zero-power guard of x**y**z) into an ITE, which
    no backend prints ("the NumPy backend cannot generate ITE")."""
    if not isinstance(e, sp.Basic) or not e.has(sp.ITE):
        return e
    return e.replace(lambda n: isinstance(n, sp.ITE),
                     lambda n: sp.Or(sp.And(n.args[0], n.args[1]), sp.And(sp.Not(n.args[0]), n.args[2])))
# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
def _power_of_two_number(c) -> bool:
    return c.is_Rational and c.p & (c.p - 1) == 0 and c.q & (c.q - 1) == 0
# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
def _common_monomial(terms):
    """Π s^(least exponent of s among ``terms``) over the inputs s that are factors of every term (integer powers
    outside the functions' arguments); 1 where there is none."""
    powers = [t.as_powers_dict() for t in terms]
    common = set.intersection(*[{b for b, p in d.items() if b.is_Symbol and p.is_Integer} for d in powers])
    return sp.Mul(*[s ** min(d[s] for d in powers) for s in sorted(common, key=sp.default_sort_key)])
# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
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
# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
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
# (from the long-product block of rewrite.py: the split script moved it here, to the first module that uses it)
def written_where_not_finite(computed: sp.Expr, written: sp.Expr) -> sp.Expr:
    """``computed`` taken as ``written`` where it is not finite (:class:`WrittenWhereNotFiniteBase`)."""
    return WrittenWhereNotFiniteBase(computed, written)


class TakenWhereInfiniteBase(sp.Function):
    """TakenWhereInfiniteBase(value, otherwise, v₁, …, vₙ): ``value`` where one of the inputs vᵢ is ±inf
    (|vᵢ| > 1.8e308, compared in float64), ``otherwise`` elsewhere: a select held as one node, with no select in its
    arguments, which the printers print as a select (left50). h-far50 wrote widened-product-overflow's infinite terms
    as Piecewise selects inside a WrittenWhereNotFiniteBase; SymPy's piecewise_fold distributed them into every sign
    test of the product around it (the cosine loss's conditions 30 deep; its Triton kernel took a bare NaN as the
    written form and failed in the interpreter). Its value for lambdify and evalf is the select's."""

    def as_select(self) -> sp.Piecewise:
        value, otherwise, *inputs = self.args
        return sp.Piecewise((value, sp.Max(*[sp.Abs(v) for v in inputs]) > _INFINITE_INPUT), (otherwise, True))

    def _eval_evalf(self, prec):
        return self.as_select()._eval_evalf(prec)

    def _eval_derivative(self, s):
        return self.as_select().diff(s)

    def _symnet_text(self, printer):
        return printer._print(self.as_select())

    def _latex(self, printer, exp=None):
        body = printer._print(self.as_select())
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)

    @staticmethod
    def _imp_(value, otherwise, *inputs):  # lambdify's hook (mpmath numbers or NumPy arrays)
        import numpy as np
        infinite = False
        for v in inputs:
            infinite = infinite | (abs(v) > 1.7976931348623157e308)
        if isinstance(infinite, (bool, np.bool_)):
            return value if infinite else otherwise
        return np.where(infinite, value, otherwise)


_INFINITE_INPUT = sp.Float(1.7976931348623157e308, 17)  # |v| > it: v = ±inf alone (float32 inputs in float64 too)


def taken_where_infinite(value: sp.Expr, otherwise: sp.Expr, inputs) -> sp.Expr:
    """``value`` where an input of ``inputs`` is ±inf, ``otherwise`` elsewhere (:class:`TakenWhereInfiniteBase`)."""
    return TakenWhereInfiniteBase(value, otherwise, *inputs)


# ------------------------------------------------------------------ user45 (issue 16, session 45, h-user45: a sum of
# one input whose terms are sines or cosines times powers of the input is widened: x·cos x′); tested in tests/test_user45.py

def _trig_holder(term) -> bool:
    """sin u or cos u, alone or times positive integer powers of the input: cos x − x·sin x, the derivative of
    x·cos x (the GCU activation), cancels at its root x = 9.5293 (3.4e13 ULP in float64, 59,147 in float32; torch
    3.4e13 and 2.0e5; session 45), where the root series (near 0 only) does not reach; not sin(x)/x."""
    if term.func in (sp.sin, sp.cos) or _trig_product_holder(term):
        return True
    if not term.is_Mul:
        return False
    trig = [f for f in term.args if f.func in (sp.sin, sp.cos)]
    return len(trig) == 1 and all(f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp > 0)
                                  or _input_polynomial(f) for f in term.args if f is not trig[0])


# ------------------------------------------------------------------ nbsub45 (issue 16, session 45, h-nbsub45: the
# Student-t NLL's ∂s where s² underflows, the widen rule's rational sums past their double words' range); tested in
# tests/test_nbsub45.py

_ONE_FRACTION_OPERATIONS = 40  # the largest sum taken to one fraction (SymPy's factor; the Student-t's ∂s has 16)


def _far_rational_widened(node, widened):
    """``widened`` (widen(``node``)) where every input of ``node`` is 0 or within 2^±B, B = ⌊960/D⌋, and past that
    ``node`` as one factored fraction (:func:`_one_fraction`) in the scaled double words (widen's far_bound B: each
    leaf scaled to [1/2, 1) by its exponent, the exponents carried apart), taken as written where not finite;
    ``widened`` alone where ``node``'s math (:func:`_written_math`) is not a rational function of its inputs of
    degree D ≥ 3 (:func:`~.quotients._cauchy_rational_degree`) of at most 40 operations.

    Why: a double word's products leave the range where the sum does not, and its sum of terms of opposite signs
    is held to 2⁻¹⁰⁶ of the terms, not of the sum. The Student-t NLL's ∂s, 1/s − (ν + 1)·(x − m)²/(ν·s³·(1 +
    (x − m)²/(ν·s²))), forms s³ = 0 at s = 1e−150: −inf where it is 0 (m = 0, ν = 1, x = s; torch 0). Within 2^±B
    every value the double words form is within 2^±960 (D bounds |log₂| of each in units of the largest input's),
    where they hold, as before. Past it the one fraction (the same function where ``node`` is defined) is a product
    and quotient of factors, each a sum held to 2⁻¹⁰⁶ of its terms in double words (a sum of two inputs exact), in
    the scaled tier, where no value over- or underflows: where no factor cancels (the Student-t's ν·s² + (x − m)² for
    ν > 0, s ± (x − m) away from 0) the result is within about 2⁻¹⁰⁰ of itself before its one rounding, and 0
    exactly where a factor is; where a factor cancels, its error is 2⁻¹⁰⁶ of its terms (no worse than the sum's)."""
    if not node.is_Add:
        return widened
    from .quotients import _cauchy_rational_degree

    math = _written_math(node)
    degree = _cauchy_rational_degree(math)
    if degree <= 0:  # past47: a sum of logs of rational functions, times rational functions
        return _far_log_widened(node, widened, _log_rational_degree(math)) if sp.count_ops(math) <= \
            _ONE_FRACTION_OPERATIONS else widened
    if degree < 3 or sp.count_ops(math) > _ONE_FRACTION_OPERATIONS:
        return widened
    bound = 960 // degree
    far = widen(_one_fraction(math), far_bound=bound)
    return sp.Piecewise((widened, _within_far_bound(node, bound)), (written_where_not_finite(far, node), True))


def _within_far_bound(node, bound):
    """Where every input of ``node`` is 0 or within 2^±``bound``."""
    high, low = sp.Float(2.0 ** bound), sp.Float(2.0 ** -bound)
    inputs = sorted(node.free_symbols, key=sp.default_sort_key)
    return sp.And(*[(sp.Abs(v) < high) & ((sp.Abs(v) > low) | sp.Eq(v, 0)) for v in inputs])


# ------------------------------------------------------------------ past47 (issue 16, session 47, h-past47: the
# Student-t NLL's f where (x − m)²/(ν·s²) leaves the range, the widen rule's sums of logs past 2^±⌊960/D⌋); tested in
# tests/test_past47.py

def _log_rational_degree(node) -> int:
    """A bound D of |log₂| of every value the double words of ``node`` form, in units of the largest |log₂| of an input,
    where ``node`` is a sum of products of rational functions of the inputs and logs (log, log1p) of them, with at
    least one such log: a log's value is at most 745·D' for its argument's D' (:func:`~.quotients._cauchy_rational_degree`),
    a product the sum of its rational factors' degrees or a log's D', whichever is larger; 0 where ``node`` is not
    one."""
    from .quotients import _cauchy_rational_degree

    def degree(e):  # (degree, holds a log); degree −1: not such a node
        if isinstance(e, (sp.log, log1p)):
            inner = _cauchy_rational_degree(e.args[0])
            return (inner, True) if inner > 0 else (-1, False)
        if e.is_Add or e.is_Mul:
            parts = [degree(a) for a in e.args]
            if any(d < 0 for d, _ in parts):
                return -1, False
            rational = [d for d, has in parts if not has]
            logs = [d for d, has in parts if has]
            if e.is_Mul and len(logs) > 1:
                return -1, False
            if e.is_Add:
                return max(d for d, _ in parts), bool(logs)
            return max([sum(rational)] + logs), bool(logs)
        return _cauchy_rational_degree(e), False

    d, has_log = degree(node)
    return d if has_log and d > 0 else 0


def _far_log_widened(node, widened, degree):
    """``widened`` (widen(``node``)) where every input of ``node`` is 0 or within 2^±B, B = ⌊960/D⌋
    (:func:`_log_rational_degree`; D ≥ 3), and past that ``node`` widened with far_bound B (the scaled double words,
    each leaf scaled to [1/2, 1) by its exponent), taken as written where not finite.

    Why: the widened sum's scaled tier scaled a leaf only below 2⁻⁹⁰⁰, so in the Student-t NLL's f,
    (ν + 1)/2·log1p((x − m)²/(ν·s²)) + log s, s² went subnormal or 0 (s = 6.2e−161, x = −1.8e−150, m = 0, ν = 5:
    1.9e10 ULP, torch the same) and (x − m)² overflowed (m = 0.46, s = 1.2e−186, x = 2.2e−141: inf for 2771.2): inf or
    NaN at 217 of 300 points of 10^U(−200, −140). In the far tier no double word over- or underflows and log1p of a
    value past the range is log(1 + X) of its scaled double word (doubleword._Scaled): each term is held to about
    2⁻¹⁰⁰ of itself before the sum's one rounding. Within 2^±B the sum is computed as before, bit for bit."""
    if degree < 3:
        return widened
    bound = 960 // degree
    far = written_where_not_finite(widen(_written_math(node), far_bound=bound), node)
    return sp.Piecewise((widened, _within_far_bound(node, bound)), (far, True))


def _written_math(node):
    """``node`` with each select as its last value where that is taken otherwise (a rule's select of forms of one
    function: its form as written), each widened node as its body and each kept bracket (:class:`Grouped`) as its
    sum."""
    math = unwiden(node)
    math = math.replace(lambda n: isinstance(n, sp.Piecewise) and n.args[-1].cond == sp.true,
                        lambda n: n.args[-1].expr)
    return ungroup(math)


def _one_fraction(math):
    """A rational function ``math`` as one quotient of factored polynomials (SymPy's factor of its cancel), each sum
    of inputs that is only ever the base of a square or higher power kept whole: the Student-t NLL's ∂s, 1/s −
    (ν + 1)·d²/(ν·s³·(1 + d²/(ν·s²))) with d = x − m, as ν·(s − d)·(s + d)/(s·(ν·s² + d²)) (the sum of its two terms,
    each to 2⁻¹⁰⁶ in double words, was 5.0e117 for 0 at s = x = 1e−150, m = 0, ν = 1; torch 0), d² not expanded into
    m² − 2mx + x²; the negative-binomial NLL's ∂μ, (k·(μ + r) + r·(μ + r))/(μ + r)² − k/μ, as r·(μ − k)/(μ·(μ + r))."""
    powers = [p for p in math.atoms(sp.Pow) if p.base.is_Add]
    bases = {p.base for p in powers if abs(p.exp) >= 2 and p.base.free_symbols
             and all(t.is_Symbol or t.is_Number or (t.is_Mul and t.as_coeff_Mul()[1].is_Symbol) for t in p.base.args)}
    bases -= {p.base for p in powers if abs(p.exp) < 2}  # (μ + r) of k·(μ + r)/(μ + r)² − k/μ cancels: not kept
    bases -= {a for m in sp.preorder_traversal(math) if m.is_Mul for a in m.args}
    kept = {b: sp.Dummy(f"sum{i}") for i, b in enumerate(sorted(bases, key=sp.default_sort_key))}
    kept.update({-b: -d for b, d in list(kept.items())})
    back = {d: b for b, d in kept.items() if d.is_Dummy}
    return sp.factor(sp.cancel(math.xreplace(kept))).xreplace(back)


# ------------------------------------------------------------------ pq45 (issue 16, session 45, h-pq45: power-quotient
# below the normal range)
class WrittenWhereNotFiniteOrBelowBase(WrittenWhereNotFiniteBase):
    """WrittenWhereNotFiniteOrBelowBase(computed, written, n): ``computed`` (a quotient N/x^k of a sum N rounded once)
    taken as ``written`` (Σ tᵢ/x^k, widened) where it is ±inf or NaN, as :class:`WrittenWhereNotFiniteBase`, and also
    where ``n`` (N as computed) is below the normal range, 0 included: N rounded once is off there by up to half the
    least subnormal, all of a subnormal's digits, which the division by x^k ≪ 1 magnifies (the power-quotient rule's).
    The printers compute ``written`` on those elements alone (NumPy's ``_taken_below``); its value, text and
    derivative are the computed one's."""

    nargs = 3

    @staticmethod
    def _imp_(computed, written, n):  # lambdify's hook (mpmath numbers or NumPy arrays): the computed value
        return computed


def written_where_not_finite_or_below(computed: sp.Expr, written: sp.Expr, n: sp.Expr) -> sp.Expr:
    """``computed`` taken as ``written`` where it is not finite or ``n`` is below the normal range
    (:class:`WrittenWhereNotFiniteOrBelowBase`)."""
    return WrittenWhereNotFiniteOrBelowBase(computed, written, n)


# ------------------------------------------------------------------ break46 (issue 16, session 46, h-break46: a
# trig sum's terms may hold a product of sines and cosines: x·sin x·cos x′); tested in tests/test_break46.py

def _trig_product_holder(term) -> bool:
    """A product of sines and cosines of one argument, two or more of them or one to a whole power ≥ 2, alone or times
    positive integer powers of the input: x·sin x·cos x′ = sin x·cos x + x·cos² x − x·sin² x and (sin x·cos x)′ =
    cos² x − sin² x, whose terms each rounded to an ulp of their own size cancel (11.5 ULP at x = 90.33 in float64,
    torch 1.48; 544 ULP in float32 at x = 88.737, torch 29.9; session 46); not sin(x)/x (a negative power), not
    sines of two arguments."""
    if not (term.is_Mul or term.is_Pow):
        return False
    trig, count = set(), 0
    for f in (term.args if term.is_Mul else (term,)):
        base, exp = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        if not (exp.is_Integer and exp > 0):
            return False
        if base.func in (sp.sin, sp.cos):
            trig.add(base.args[0])
            count += int(exp)
        elif not base.is_Symbol:
            return False
    return count >= 2 and len(trig) == 1


# ------------------------------------------------------------------ trig47 (issue 16, session 47, h-trig47: a trig sum
# beside a constant; tested in tests/test_trig47.py)

def _trig_sum_beside_a_constant(node, holders) -> bool:
    """A sum of one input x whose terms are ``holders`` (sines and cosines of x times its powers, :func:`_trig_holder`)
    and one nonzero constant c, not 0 at x = 0: sin x + x·sin x − 3 cancels at its root 9.1239 (3.3e14 ULP in float64,
    torch 4.0e14; 1.3e6 in float32, torch 8.0e5; session 46), sin x − 1/2 at π/6 + 2kπ, each term rounded to an ulp
    of its own size. Not a sum that vanishes at 0 (cos x − 1, x·sin x + cos x − 1): the one-minus-cos and vanishing-
    series rules' (a double word keeps 2⁻¹⁰⁶ of 1, not of x²/2)."""
    numbers = [a for a in node.args if a.is_number]
    if len(numbers) != 1 or numbers[0] == 0 or not holders or len(holders) + 1 != len(node.args):
        return False
    (x,) = node.free_symbols
    return node.subs(x, 0) != 0


def _periodic_trig_sum(node) -> bool:
    """``node`` in one input x, expanded a sum of two or more terms, each a constant times sines and cosines of x
    times a whole power of x of either sign (:func:`_trig_holder`'s terms over a power of x): sin x·cos x/x′ =
    cos²x/x − sin²x/x − sin x·cos x/x², whose terms cancel at each of its roots, as far out as x goes (155 ULP in
    float64 at x = ±U(80, 100), torch 1.5; session 46), where the removable-series rule measured its reach to 8.8."""
    if len(node.free_symbols) != 1 or not node.has(sp.sin, sp.cos) or node.has(
            *[f for f in _ROUNDED if f not in (sp.sin, sp.cos)], WidenedBase, sp.Piecewise):
        return False
    (x,) = node.free_symbols
    terms = sp.Add.make_args(sp.expand(node))
    if len(terms) < 2:
        return False
    for term in terms:
        c, m = term.as_coeff_Mul()
        rest = [f for f in sp.Mul.make_args(m) if not (f == x or (f.is_Pow and f.base == x and f.exp.is_Integer))]
        if not (c.is_number and rest and _trig_holder(sp.Mul(*rest))):
            return False
    return True


def _input_polynomial(factor) -> bool:
    """``factor`` a sum of rational constants times whole powers of one input (1 + x, x² − 3), as SymPy collects the
    derivative of x·sin x + sin x: (1 + x)·cos x + sin x cancels at each of its roots (106 ULP in float64 at x =
    14.2034, torch 74; session 47): a trig holder's factor, exact as a double word where its terms are."""
    if not (factor.is_Add and len(factor.free_symbols) == 1):
        return False
    (x,) = factor.free_symbols
    return all(t.is_Rational or t.as_coeff_Mul()[0].is_Rational and (
        t.as_coeff_Mul()[1] == x or (t.as_coeff_Mul()[1].is_Pow and t.as_coeff_Mul()[1].base == x
                                      and t.as_coeff_Mul()[1].exp.is_Integer and t.as_coeff_Mul()[1].exp > 0))
               for t in factor.args)
