"""The stability rules in the order the code generator tries them: :data:`RULES`, the node-by-node
functions (:data:`_LOCAL`, :data:`_LOCAL_RULE`) and the lookup by name (:data:`_BY_NAME`).

Built statement by statement in the order of the module rewrite.py that session 43 split into
this package, each statement under the name of its block; the rules themselves are defined in
the family modules. Functions read these registries here, at the call (stabiliser.py).

A new rule: its function and helpers in the module of its family (a new module for a new family), its
:class:`~.core.Rule` registered at the end of this file (``_register(RULE)``; ``RULES`` extended as the blocks
above do, before ``WIDEN`` for a node-by-node rule), and re-exported by ``__init__.py`` where tests use it.
``tests/test_split43.py`` fails on a module-level name bound twice in one module (session 41's second
``_SHIFT_FAR`` changed another rule's threshold for every caller).
"""
from __future__ import annotations

from .core import _exp_rational, _rewrote, Rule
from .local import (_common_sum_factor, _distribute, _divided_out_sum, _log_rules, _max_minus, _softmax_complement,
                    _softmax_shift)
from .widening import WIDEN
from .losses import _exp_square, _expm1, _hypot, _LOSS_RULES, _softplus_shift, _zero_limits, _zero_power
from .cancellation import (_abs_quotient_sum, _abs_sign, _affine_root, _CANCEL_LOCAL, _erf_complement,
                           _fraction_complement, _sech_offset, _tanhshrink, _two_sum, COLLECT_POLE, COSH_SQUARE,
                           COSH_SQUARE_SUM, COSH_SQUARE_SUM_FIRST, EXP_COLLECT, INFINITE_SHIFT, LOG_DIFFERENCE,
                           LOG_DIFFERENCE_RATIO, ROOT_MINUS_CONSTANT, SHIFTED_SUM_CROSSING, VANISHING_CONSTANT_GROUP)
from .quotients import (CAUCHY_QUOTIENT, HOMOGENEOUS_QUOTIENT, ONE_DENOMINATOR, POWER_QUOTIENT, PRODUCT_OVER_SUM,
                        QUOTIENT_COMPLEMENT, QUOTIENT_ROOT, QUOTIENT_SQUARE, RATIONAL_FUNCTION, RECIPROCAL_MARGIN)
from .series import (GELU_TANH_SLOPE, GELU_TANH_WRITTEN, HALF_ANGLE_QUOTIENT, HALF_POWER_SERIES, LOG1P_ERF,
                     LOG1P_SERIES, LOG_LINEAR_ROOT, MISH_SERIES, MISH_SLOPE, ONE_MINUS_COS, ONE_MINUS_COS_FACTOR,
                     POWER_MERGE, POWER_PRODUCT, PRODUCT_PAIR, PRODUCT_ROOT_SERIES, QUOTIENT_BY_FACTORS,
                     REMOVABLE_SERIES, ROOT_SERIES, SCALED_POWER, SCALED_SQUARE, SERIES_COMMON_DENOMINATOR,
                     SERIES_LEADING_POWER, SILU_SLOPE, VANISHING_QUOTIENT)
from .limits import (EXP_PRODUCT_LIMIT, INFINITE_LIMIT, INPUT_INFINITE_LIMIT, STEP_VALUE, TINY_ARGUMENT_RULE,
                     ZERO_SCALED_EXP)
from .softpluses import (_softplus_factor, _softplus_rational, LOG_SOFTPLUS_LEFT, ROUNDED_SOFTPLUS_ARGUMENT,
                         SOFTPLUS_FACTOR, SOFTPLUS_OVER_EXP, SOFTPLUS_OVER_EXP_MINUS_ONE, SOFTPLUS_RATIONAL,
                         SOFTPLUS_SCALE, SOFTPLUS_SLOPE)
from .sigmoids import (EXP_INTO_SIGMOID, EXP_SIGMOID_FAR, EXP_SIGMOID_SPREAD, ONE_PLUS_EXP_POWER, SIGMOID_POWER,
                       SIGMOID_POWER_FACTOR, SIGMOID_WEIGHTED_EXPS)
from .exps import (_one_minus_scaled_exp, EXP_DOMINANT, EXP_INTO_UNDERFLOWING_SUM, EXP_PRODUCT_CANCEL,
                   ONE_MINUS_SCALED_EXP, ROUNDED_ARGUMENT, SHIFTED_ARGUMENT)
from .logs import (_clamped_log, _mixture_power, LOG1P_ENTROPY, LOG_CONSTANT_FACTOR, LOG_ERFCX_LEFT, LOG_GAUSSIAN_TAIL,
                   LOG_NEAR_ONE, LOG_TANH, MIXTURE_LOG, OVERFLOWING_LOG1P, ROUNDED_LOG_ARGUMENT, SCALED_ERFC,
                   TWO_MINUS_EXP_ROOT, VANISHING_SERIES, WIDENED_LOG_ARGUMENT)
from .hypot import (_conjugate_forms, _hypot_input, _hypot_quotient, _hypot_sum, _hypot_sum_scaled_factor,
                    _negated_root_difference, ASINH_FAR_SUM, CONJUGATE, DISTRIBUTED_POWER_SUM, HALVED_DIFFERENCE,
                    HYPOT_SCALING, HYPOT_SIGN, HYPOT_SLOPE, SCALED_ASINH)
from .powers import (_common_power, _root_difference, CANCELLING_POLYNOMIAL, COMMON_POWER, EXP_OVER_POWER_FAR,
                     MIXTURE_POWER, POLYNOMIAL_POWER, POWER_UNDER_ROOT, ROOT_DIFFERENCE, ROOT_OF_MONOMIAL, ROOT_RECIPROCAL,
                     ROUNDED_POWER, SQUARE_SUM_POWER, SUM_POWER_CANCEL)
from .products import (GAUSSIAN_QUOTIENT_PRODUCT, LONG_PRODUCT, OVERFLOWED_PRODUCT, PRODUCT_ORDER, RATIONAL_PRODUCT,
                       SCALE_INTO_SUM, WIDENED_PRODUCT_OVERFLOW)
from .softmax import (COMPENSATED_SUM, GAP_SUM, NESTED_SUM_FACTOR, SOFTMAX_DIVERGENCE, SOFTMAX_ENTROPY, SOFTMAX_MEAN,
                      SOFTMAX_PAIR, SOFTMAX_WEIGHTS)
from .softmax import SCALED_MAX
from .shifts import _shifted_difference, OVERFLOWED_SHIFT, SHIFT_GAPS, SHIFTED_DIFFERENCE
from .branches import (AFFINE_SELECT_SUM, FACTOR_INTO_QUOTIENT_BRANCHES, KINK_SIDE, NESTED_SELECT, POWER_INTO_BRANCHES,
                       RELU_BRANCHES, SIGN_BRANCHES, TIE_DIFFERENCE, WIDEN_QUOTIENTS)


# first-rules (losses.py)
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
         "a few ulp", apply=_exp_square, fired=_rewrote),
    Rule("zero-power", "b^y with a variable exponent is e^{y·log b} in Triton: NaN at b = 0, y = 0, where "
         "b⁰ = 1 (torch's 0⁰ = 1)", local=_zero_power),
)

# cancellation-rules (cancellation.py)
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

_register(LOG_DIFFERENCE)

# exp-collect-cosh-square (cancellation.py)
_register(EXP_COLLECT, COSH_SQUARE)

# cosh-square-sum (cancellation.py)
_register(COSH_SQUARE_SUM)

# collect-pole (cancellation.py)
_register(COLLECT_POLE)

# two-sum (cancellation.py)
RULES += (
    Rule("two-sum", "e^(a − b) turns the rounding of a − b into a relative error of up to |a − b|·ε/2 "
         "(the gradient of log(e^a + e^b), e^(b − m)/Σ e^(a_i − m): 384 ulp at a = 709, b = 1.72 in float64); "
         "with s + e = a − b exactly (Knuth's TwoSum), e^s·(1 + e) is exact to first order in e (so is "
         "the sigmoid of a − b, from the same s and e; and logaddexp's e^−|a − b| as e^(min(a, b) − max(a, b)))",
         apply=_two_sum, fired=_rewrote),
)

_BY_NAME["two-sum"] = RULES[-1]

# infinite-shift (cancellation.py)
_register(INFINITE_SHIFT)

# shifted-sum-crossing (cancellation.py)
_register(SHIFTED_SUM_CROSSING)

# rational-function (quotients.py)
_register(RATIONAL_FUNCTION)

# root-series (series.py)
_register(ROOT_SERIES)

# scaled-square (series.py)
_register(SILU_SLOPE, PRODUCT_ROOT_SERIES, PRODUCT_PAIR)

_register(MISH_SLOPE, MISH_SERIES)

_register(GELU_TANH_SLOPE)

_register(GELU_TANH_WRITTEN)

_register(LOG1P_ERF)

_register(QUOTIENT_BY_FACTORS)

_register(POWER_MERGE)

# product-over-sum (quotients.py)
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

# infinite-limit (limits.py)
_register(INFINITE_LIMIT)

# softplus-factor (softpluses.py)
_register(SOFTPLUS_FACTOR)

_LOCAL = (_softplus_factor,) + _LOCAL[:-1]  # before collect, which would take two of the terms

# softplus-scale (softpluses.py)
_register(SOFTPLUS_SCALE)

# rounded-argument (exps.py)
_register(ROUNDED_ARGUMENT)

# exp-into-sigmoid (sigmoids.py)
_register(EXP_INTO_SIGMOID)

# softplus-slope (softpluses.py)
_register(SOFTPLUS_SLOPE)

# rounded-softplus-argument (softpluses.py)
_register(ROUNDED_SOFTPLUS_ARGUMENT)

# removable-series (series.py)
_register(REMOVABLE_SERIES)

# one-minus-cos-and-vanishing-series (series.py)
_register(ONE_MINUS_COS)

# half-angle-quotient (series.py)
_register(HALF_ANGLE_QUOTIENT)

# log-near-one (logs.py)
_register(LOG_NEAR_ONE)

_register(VANISHING_SERIES)

# vanishing-quotient (series.py)
RULES = RULES[:RULES.index(WIDEN)] + (VANISHING_QUOTIENT,) + RULES[RULES.index(WIDEN):]  # before the widen rule

_BY_NAME[VANISHING_QUOTIENT.name] = VANISHING_QUOTIENT

# log1p-series (series.py)
RULES = RULES[:RULES.index(WIDEN)] + (LOG1P_SERIES,) + RULES[RULES.index(WIDEN):]  # before the widen rule

_BY_NAME[LOG1P_SERIES.name] = LOG1P_SERIES

# log-linear-root (series.py)
_register(LOG_LINEAR_ROOT)

# series-leading-power (series.py)
_register(SERIES_LEADING_POWER)

# exp-dominant (exps.py)
_register(EXP_DOMINANT)

# half-power-series (series.py)
_register(HALF_POWER_SERIES)

# shifted-argument (exps.py)
_register(SHIFTED_ARGUMENT)

# product-order (products.py)
_register(PRODUCT_ORDER)

# conjugate (hypot.py)
_register(CONJUGATE)

_register(HYPOT_SCALING)

_LOCAL += (_hypot_quotient,)  # the hypot rule's (named "hypot"), for v a quotient such as (p − t)/δ

_LOCAL_RULE[_hypot_quotient] = "hypot"

_LOCAL += (_hypot_input,)  # the hypot rule's (named "hypot"), for c holding an input: √(x² + y)

_LOCAL_RULE[_hypot_input] = "hypot"

_LOCAL = _LOCAL[:_LOCAL.index(_zero_power)] + (_hypot_sum,) + _LOCAL[_LOCAL.index(_zero_power):]

_LOCAL_RULE[_hypot_sum] = "hypot"

# hypot-slope (hypot.py)
_register(HYPOT_SLOPE)

# hypot-sign (hypot.py)
_register(HYPOT_SIGN)

RULES = RULES[:RULES.index(HYPOT_SLOPE) + 1] + (HYPOT_SIGN,) + tuple(
    r for r in RULES[RULES.index(HYPOT_SLOPE) + 1:] if r is not HYPOT_SIGN)  # after hypot-slope

# rounded-power (powers.py)
_register(ROUNDED_POWER)

# mixture-log (logs.py)
_register(MIXTURE_LOG)

# mixture-power (powers.py)
_register(MIXTURE_POWER)

_LOCAL = (_mixture_power,) + _LOCAL[:-1]  # before zero-limit: its select of γ·b^(γ − 1) would hide the product

# mixture-log's clamp of its select beside CE (∂γ's CE·log(1 − p_t)) before mixture-power, which makes the product final
_LOCAL = (_clamped_log,) + _LOCAL

# overflowed-product (products.py)
_register(OVERFLOWED_PRODUCT)

# power-quotient (quotients.py)
_register(POWER_QUOTIENT)

# common-power (powers.py)
_register(COMMON_POWER)

# tiny-argument (limits.py)
_register(TINY_ARGUMENT_RULE)

# one-minus-scaled-exp (exps.py)
_register(ONE_MINUS_SCALED_EXP)

# tried first: affine-root would take 1/2 − a·e^b/2 to (1 − a·e^b)/2 as final, the cancelling sum out of reach
_LOCAL = (_one_minus_scaled_exp,) + _LOCAL[:-1]

# one-denominator (quotients.py)
_register(ONE_DENOMINATOR)

# compensated-sum (softmax.py)
_register(COMPENSATED_SUM)

# rounded-log-argument (logs.py)
_register(ROUNDED_LOG_ARGUMENT)

# widened-log-argument (logs.py)
_register(WIDENED_LOG_ARGUMENT)

RULES = RULES[:RULES.index(ROUNDED_LOG_ARGUMENT) + 1] + (WIDENED_LOG_ARGUMENT,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_LOG_ARGUMENT) + 1:] if r is not WIDENED_LOG_ARGUMENT)

# homogeneous-quotient (quotients.py)
_register(HOMOGENEOUS_QUOTIENT)

# scaled-erfc (logs.py)
_register(SCALED_ERFC)

# quotient-square (quotients.py)
_register(QUOTIENT_SQUARE)

# quotient-root (quotients.py)
_register(QUOTIENT_ROOT)

# log-gaussian-tail (logs.py)
_register(LOG_GAUSSIAN_TAIL)

# log-erfcx-left (logs.py)
_register(LOG_ERFCX_LEFT)

# log-softplus-left (softpluses.py)
_register(LOG_SOFTPLUS_LEFT)

# two-minus-exp-root (logs.py)
_register(TWO_MINUS_EXP_ROOT)

# log-constant-factor (logs.py)
_register(LOG_CONSTANT_FACTOR)

# one-minus-cos-factor (series.py)
_register(ONE_MINUS_COS_FACTOR)

# series-common-denominator (series.py)
_register(SERIES_COMMON_DENOMINATOR)

# softplus-over-exp (softpluses.py)
_register(SOFTPLUS_OVER_EXP)

# softplus-over-exp-minus-one (softpluses.py)
_register(SOFTPLUS_OVER_EXP_MINUS_ONE)

# step-value (limits.py)
_register(STEP_VALUE)

# exp-product-limit (limits.py)
_register(EXP_PRODUCT_LIMIT)

# exp-product-cancel (exps.py)
_register(EXP_PRODUCT_CANCEL)

# exp-into-underflowing-sum (exps.py)
_register(EXP_INTO_UNDERFLOWING_SUM)

# reciprocal-margin (quotients.py)
_register(RECIPROCAL_MARGIN)

# cosh-square-sum-first (cancellation.py)
_register(COSH_SQUARE_SUM_FIRST)

# tie-difference (branches.py)
_register(TIE_DIFFERENCE)

# nested-select (branches.py)
_register(NESTED_SELECT)

# relu-branches (branches.py)
_register(RELU_BRANCHES)

# overflowing-log1p (logs.py)
_register(OVERFLOWING_LOG1P)

# zero-scaled-exp (limits.py)
_register(ZERO_SCALED_EXP)

# square-sum-power (powers.py)
_register(SQUARE_SUM_POWER)

# quotient-complement (quotients.py)
_register(QUOTIENT_COMPLEMENT)

# polynomial-power (powers.py)
_register(POLYNOMIAL_POWER)

# widened-product-overflow (products.py)
_register(WIDENED_PRODUCT_OVERFLOW)

# root-difference (powers.py)
_register(ROOT_DIFFERENCE)

_LOCAL = _LOCAL[:-1][:_LOCAL.index(_common_power)] + (_root_difference,) + _LOCAL[:-1][_LOCAL.index(_common_power):]

RULES = RULES[:RULES.index(COMMON_POWER)] + (ROOT_DIFFERENCE,) + tuple(r for r in RULES[RULES.index(COMMON_POWER):]
                                                                      if r is not ROOT_DIFFERENCE)

# nested-sum-factor (softmax.py)
_register(NESTED_SUM_FACTOR)

# softmax-mean (softmax.py)
_register(SOFTMAX_MEAN)

# gap-sum (softmax.py)
_register(GAP_SUM)

# root-reciprocal (powers.py)
_register(ROOT_RECIPROCAL)

# root-of-monomial (powers.py)
_register(ROOT_OF_MONOMIAL)

# power-under-root (powers.py; root49)
_register(POWER_UNDER_ROOT)

# sigmoid-power (sigmoids.py)
_register(SIGMOID_POWER)

# sign-branches (branches.py)
_register(SIGN_BRANCHES)

_at = next(i for i, r in enumerate(RULES) if r.apply is not None and not r.before and r is not SIGN_BRANCHES)

RULES = RULES[:_at] + (SIGN_BRANCHES,) + tuple(r for r in RULES[_at:] if r is not SIGN_BRANCHES)  # first of the

# sigmoid-power-factor (sigmoids.py)
_register(SIGMOID_POWER_FACTOR)

# sigmoid-weighted-exps (sigmoids.py, session 49): a whole-expression rule before the node-by-node pass
_register(SIGMOID_WEIGHTED_EXPS)

# softmax-divergence (softmax.py)
_register(SOFTMAX_DIVERGENCE)

# softplus-rational (softpluses.py)
_register(SOFTPLUS_RATIONAL)

_LOCAL = (_softplus_rational,) + _LOCAL[:-1]  # before exp-rational, which takes σ(x) and tanh(softplus x) apart

# one-plus-exp-power (sigmoids.py)
_register(ONE_PLUS_EXP_POWER)

RULES = RULES[:RULES.index(ROUNDED_POWER)] + (ONE_PLUS_EXP_POWER,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_POWER):] if r is not ONE_PLUS_EXP_POWER)  # before rounded-power widens it

# exp-sigmoid-far (sigmoids.py)
_register(EXP_SIGMOID_FAR)

RULES = RULES[:RULES.index(ROUNDED_POWER)] + (EXP_SIGMOID_FAR,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_POWER):] if r is not EXP_SIGMOID_FAR)

# exp-sigmoid-spread (sigmoids.py)
_register(EXP_SIGMOID_SPREAD)

RULES = RULES[:RULES.index(EXP_SIGMOID_FAR)] + (EXP_SIGMOID_SPREAD,) + tuple(
    r for r in RULES[RULES.index(EXP_SIGMOID_FAR):] if r is not EXP_SIGMOID_SPREAD)  # before exp-sigmoid-far

# exp-over-power-far (powers.py)
_register(EXP_OVER_POWER_FAR)

RULES = RULES[:RULES.index(ROUNDED_POWER)] + (EXP_OVER_POWER_FAR,) + tuple(
    r for r in RULES[RULES.index(ROUNDED_POWER):] if r is not EXP_OVER_POWER_FAR)

# log-tanh (logs.py)
_register(LOG_TANH)

# affine-select-sum (branches.py)
_register(AFFINE_SELECT_SUM)

# sum-power-cancel (powers.py)
_register(SUM_POWER_CANCEL)

# tried before reciprocal-margin, whose double-word margin of −2t + (2pt + s)/B (the Dice loss with its smoothing s an
# input: ∂p = (−2t + (2pt + s)/B)/B) keeps the p terms this rule cancels symbolically (7.3e13 ULP in float64 at
# p = 5.1e13, worse than torch's 2.6e12)
RULES = RULES[:RULES.index(RECIPROCAL_MARGIN)] + (SUM_POWER_CANCEL,) + tuple(
    r for r in RULES[RULES.index(RECIPROCAL_MARGIN):] if r is not SUM_POWER_CANCEL)

# overflowed-shift (shifts.py)
_register(OVERFLOWED_SHIFT)

# widen-quotients (branches.py)
_register(WIDEN_QUOTIENTS)

# power-into-branches (branches.py)
_register(POWER_INTO_BRANCHES)

_register(FACTOR_INTO_QUOTIENT_BRANCHES)

# kink-side (branches.py)
RULES = RULES[:RULES.index(WIDEN) + 1] + (KINK_SIDE,) + RULES[RULES.index(WIDEN) + 1:]  # on the widen rule's result

_BY_NAME[KINK_SIDE.name] = KINK_SIDE

# long-product (products.py)
RULES = RULES[:RULES.index(KINK_SIDE) + 1] + (LONG_PRODUCT,) + RULES[RULES.index(KINK_SIDE) + 1:]  # after widen's

_BY_NAME[LONG_PRODUCT.name] = LONG_PRODUCT

# rational-product (products.py)
RULES = RULES[:RULES.index(LONG_PRODUCT) + 1] + (RATIONAL_PRODUCT,) + RULES[RULES.index(LONG_PRODUCT) + 1:]

_BY_NAME[RATIONAL_PRODUCT.name] = RATIONAL_PRODUCT

# log1p-entropy (logs.py)
_register(LOG1P_ENTROPY)

# cancelling-polynomial (powers.py)
_register(CANCELLING_POLYNOMIAL)

# before reciprocal-margin, the first whole-expression rule that rewrites such a quotient (its scaled c + k·P)
RULES = tuple(r for r in RULES if r is not CANCELLING_POLYNOMIAL)

RULES = RULES[:RULES.index(RECIPROCAL_MARGIN)] + (CANCELLING_POLYNOMIAL,) + RULES[RULES.index(RECIPROCAL_MARGIN):]

# shifted-difference (shifts.py)
_register(SHIFTED_DIFFERENCE)

_LOCAL = (_shifted_difference,) + _LOCAL[:-1]  # first: collect and sigmoid-target would take the pair apart

# input-infinite-limit (limits.py)
_register(INPUT_INFINITE_LIMIT)

# softmax-entropy (softmax.py)
_register(SOFTMAX_ENTROPY, SOFTMAX_PAIR)

# first of the whole-expression rules applied before the node-by-node pass: the others may reshape the log's sum and
# the quotient (the entropy first: its sum holds the quotient's terms)
RULES = (SOFTMAX_ENTROPY, SOFTMAX_PAIR) + tuple(r for r in RULES if r not in (SOFTMAX_ENTROPY, SOFTMAX_PAIR))

# hyp42 (hypot.py)
_register(SCALED_ASINH)

_LOCAL = _LOCAL[:_LOCAL.index(_hypot_sum) + 1] + (_hypot_sum_scaled_factor,) + _LOCAL[_LOCAL.index(_hypot_sum) + 1:]

_LOCAL_RULE[_hypot_sum_scaled_factor] = "hypot"

# scale-into-sum (products.py)
_register(SCALE_INTO_SUM)

# gaussian-quotient-product (products.py)
_register(GAUSSIAN_QUOTIENT_PRODUCT)

# temp43 (softmax.py)
_register(SOFTMAX_WEIGHTS)

RULES = (SOFTMAX_WEIGHTS,) + tuple(r for r in RULES if r is not SOFTMAX_WEIGHTS)

# vae43 (cancellation.py)
_register(VANISHING_CONSTANT_GROUP)

_register(ROOT_MINUS_CONSTANT)

_register(LOG_DIFFERENCE_RATIO)

# break43 (hypot.py)
_LOCAL = _LOCAL[:_LOCAL.index(_conjugate_forms) + 1] + (_negated_root_difference,) + _LOCAL[
    _LOCAL.index(_conjugate_forms) + 1:]

_LOCAL_RULE[_negated_root_difference] = "conjugate"

# hyp43 (hypot.py)
_register(ASINH_FAR_SUM)

_register(HALVED_DIFFERENCE)

_register(DISTRIBUTED_POWER_SUM)

# cauchy43 (quotients.py)
RULES = (CAUCHY_QUOTIENT,) + RULES  # scaled-square and affine-root rewrite its sums' squares)

_BY_NAME[CAUCHY_QUOTIENT.name] = CAUCHY_QUOTIENT

# ------------------------------------------------------------------ nll44 (issue 16, session 44, h-nll44: the
# negative-binomial and Student-t NLL gradients)
from .logs import LOG_QUOTIENT_COMPLEMENT, WIDENED_LOG_SUM  # noqa: E402

_register(WIDENED_LOG_SUM, LOG_QUOTIENT_COMPLEMENT)

# before reciprocal-margin, which widens the negative-binomial ∂r's quotient (k·(μ + r) + r·(μ + r))/(μ + r)² alone
RULES = tuple(r for r in RULES if r is not WIDENED_LOG_SUM)

RULES = RULES[:RULES.index(RECIPROCAL_MARGIN)] + (WIDENED_LOG_SUM,) + RULES[RULES.index(RECIPROCAL_MARGIN):]


# ------------------------------------------------------------------ ent44 (issue 16, session 44, h-ent44: entropies of
# written softmaxes and scaled exponentials near over/underflow; scale-into-sum and scaled-asinh/asinh-far-sum are
# extended in place, products.py and hypot.py)
from .softmax import SOFTMAX_ENTROPY_FORMS  # noqa: E402

_register(SOFTMAX_ENTROPY_FORMS)

# right after softmax-entropy (before softmax-pair, which would take the written p = e^x₁/S apart)
RULES = tuple(r for r in RULES if r is not SOFTMAX_ENTROPY_FORMS)

RULES = RULES[:RULES.index(SOFTMAX_ENTROPY) + 1] + (SOFTMAX_ENTROPY_FORMS,) + RULES[RULES.index(SOFTMAX_ENTROPY) + 1:]


# ------------------------------------------------------------------ temp44 (issue 16, session 44, h-temp44: scaled-max,
# a smooth max with a subnormal temperature, test_break43's strict xfail; softmax.py)
_register(SCALED_MAX)

RULES = (SCALED_MAX,) + tuple(r for r in RULES if r is not SCALED_MAX)  # before the rules that reshape the log's sum


# ------------------------------------------------------------------ cos44 (issue 16, session 44, h-cos44: the
# cosine-complement rule, cancellation.py)
from .cancellation import COSINE_COMPLEMENT  # noqa: E402

_register(COSINE_COMPLEMENT)

# before reciprocal-margin, which takes a 2-vector's 1 − (a₁b₁ + a₂b₂)/√(S_a·S_b) apart first (its hypot roots)
RULES = RULES[:RULES.index(RECIPROCAL_MARGIN)] + (COSINE_COMPLEMENT,) + tuple(
    r for r in RULES[RULES.index(RECIPROCAL_MARGIN):] if r is not COSINE_COMPLEMENT)


# ------------------------------------------------------------------ zip44 (issue 16, session 44, h-zip44: sigmoid-
# mixture-log (logs.py), halved-sum-factor (products.py), common-factor-expm1 (exps.py))
from .exps import COMMON_FACTOR_EXPM1  # noqa: E402
from .logs import SIGMOID_MIXTURE_LOG  # noqa: E402
from .products import HALVED_SUM_FACTOR  # noqa: E402

_register(SIGMOID_MIXTURE_LOG, HALVED_SUM_FACTOR, COMMON_FACTOR_EXPM1)


# ------------------------------------------------------------------ user45 (issue 16, session 45, h-user45: the
# expm1-select-sum rule, exps.py; and the widen rule's sums of sines and cosines times powers of their input,
# widening.py's _trig_holder)
from .exps import EXPM1_SELECT_SUM  # noqa: E402

_register(EXPM1_SELECT_SUM)


# ------------------------------------------------------------------ root45 (issue 16, session 45, h-root45:
# reciprocal-root-difference, hypot.py)
from .hypot import RECIPROCAL_ROOT_DIFFERENCE  # noqa: E402

_register(RECIPROCAL_ROOT_DIFFERENCE)

# ------------------------------------------------------------------ worse46 (issue 16, session 46, h-worse46:
# ratio-sum-denominator, quotients.py; first of the node-by-node rules, before fraction-complement pairs the terms;
# and log-sum-over-term, logs.py, before the log rules read log((P + Q)/P) as written)
from .logs import _log_sum_over_term, LOG_SUM_OVER_TERM  # noqa: E402
from .quotients import _ratio_sum_denominator, RATIO_SUM_DENOMINATOR  # noqa: E402

_register(RATIO_SUM_DENOMINATOR, LOG_SUM_OVER_TERM)

_LOCAL = (_ratio_sum_denominator, _log_sum_over_term) + _LOCAL[:-2]


# ------------------------------------------------------------------ smax46 (issue 16, session 46, h-smax46:
# softmax-entropy-many, softmax.py; the compensated-sum rule takes a constant logit's e^−m and softmax-entropy tests
# its limit on (a − b)/T, both in place in softmax.py)
from .softmax import SOFTMAX_ENTROPY_MANY  # noqa: E402

_register(SOFTMAX_ENTROPY_MANY)

# right after softmax-entropy-forms (the log as written, before the log-sum-exp rules shift it)
RULES = tuple(r for r in RULES if r is not SOFTMAX_ENTROPY_MANY)

RULES = RULES[:RULES.index(SOFTMAX_ENTROPY_FORMS) + 1] + (SOFTMAX_ENTROPY_MANY,) + RULES[
    RULES.index(SOFTMAX_ENTROPY_FORMS) + 1:]


# ------------------------------------------------------------------ user46 (issue 16, session 46, h-user46: the
# constant-power-minus-one rule, losses.py)
from .losses import CONSTANT_POWER_MINUS_ONE  # noqa: E402

_register(CONSTANT_POWER_MINUS_ONE)


# ------------------------------------------------------------------ cube46 (issue 16, session 46, h-cube46: common-
# power-sum, hypot.py; distributed-power-sum's near branch over the common power there too)
from .hypot import COMMON_POWER_SUM  # noqa: E402

_register(COMMON_POWER_SUM)

# before power-quotient, which takes each term's (x − y)^(−k) apart by |x − y|
RULES = RULES[:RULES.index(POWER_QUOTIENT)] + (COMMON_POWER_SUM,) + tuple(
    r for r in RULES[RULES.index(POWER_QUOTIENT):] if r is not COMMON_POWER_SUM)


# ------------------------------------------------------------------ past47 (sigmoids.py): log-sigmoid-difference
from .sigmoids import LOG_SIGMOID_DIFFERENCE  # noqa: E402

_register(LOG_SIGMOID_DIFFERENCE)


# ------------------------------------------------------------------ mirror47 (exps.py): mirrored-exp-difference, a
# node-by-node rule, tried first (collect and the fraction rules would take the pair's two quotients apart)
from .exps import _mirrored_exp_difference, MIRRORED_EXP_DIFFERENCE  # noqa: E402

_register(MIRRORED_EXP_DIFFERENCE)

_LOCAL = (_mirrored_exp_difference,) + _LOCAL[:-1]


# ------------------------------------------------------------------ break47 (logs.py)
# inverse-hyperbolic-log (issue 16, session 47, h-break47: asinh and atanh written out as logs)
from .logs import INVERSE_HYPERBOLIC_LOG  # noqa: E402

_register(INVERSE_HYPERBOLIC_LOG)

# first of all: the log's sum and quotient as written, before the conjugate, shifted-argument and log rules take them
RULES = (INVERSE_HYPERBOLIC_LOG,) + tuple(r for r in RULES if r is not INVERSE_HYPERBOLIC_LOG)


# ------------------------------------------------------------------ cell48 (softpluses.py): softplus-mixture, a
# whole-expression rule on an output that is the mixture whole, before widen (which widens its new sums; log1p-series
# stays right before widen)
from .softpluses import SOFTPLUS_MIXTURE  # noqa: E402

_register(SOFTPLUS_MIXTURE)

RULES = RULES[:RULES.index(LOG1P_SERIES)] + (SOFTPLUS_MIXTURE,) + tuple(
    r for r in RULES[RULES.index(LOG1P_SERIES):] if r is not SOFTPLUS_MIXTURE)


# ------------------------------------------------------------------ kl48 (sigmoids.py): bernoulli-kl, a
# whole-expression rule before the node-by-node pass, right after softmax-divergence (the written logs as they are,
# before the log-sigmoid rule takes each log σ apart)
from .sigmoids import BERNOULLI_KL  # noqa: E402

_register(BERNOULLI_KL)

RULES = tuple(r for r in RULES if r is not BERNOULLI_KL)
RULES = RULES[:RULES.index(SOFTMAX_DIVERGENCE) + 1] + (BERNOULLI_KL,) + RULES[RULES.index(SOFTMAX_DIVERGENCE) + 1:]


# ------------------------------------------------------------------ mix48 (exps.py): factored-exp-difference, a
# node-by-node rule, tried right after mirrored-exp-difference (before collect and the fraction rules take the pair's
# two quotients apart)
from .exps import _factored_exp_difference, FACTORED_EXP_DIFFERENCE  # noqa: E402

_register(FACTORED_EXP_DIFFERENCE)

_LOCAL = (_LOCAL[0], _factored_exp_difference) + _LOCAL[1:-1]


# ------------------------------------------------------------------ cell48 (softmax.py): weighted-max-gaps,
# node by node, first (the log-sum-exp rule's m + log1p(…) beside the weighted logits)
from .softmax import _weighted_max_gaps, WEIGHTED_MAX_GAPS  # noqa: E402

_register(WEIGHTED_MAX_GAPS)

_LOCAL = (_weighted_max_gaps,) + _LOCAL[:-1]


# ------------------------------------------------------------------ user48 (losses.py)
# power-minus-one-slope (issue 16, session 48, h-user48: the derivative by y of (b^y − 1)/y as derived, before the
# expm1, log-sigmoid and cancel rules take its two terms apart)
from .losses import POWER_MINUS_ONE_SLOPE  # noqa: E402

_register(POWER_MINUS_ONE_SLOPE)


# ------------------------------------------------------------------ tiny49 (losses.py)
# power-minus-one-quotient (issue 16, session 49, h-tiny49: (b^y − 1)/y at a tiny or zero y, before the expm1 rule
# takes b^y − 1 apart)
from .losses import POWER_MINUS_ONE_QUOTIENT  # noqa: E402

_register(POWER_MINUS_ONE_QUOTIENT)


# ------------------------------------------------------------------ weib49 (powers.py)
# quotient-power-near-one (issue 16, session 49, h-weib49: c·((a/b)^y − 1) of two inputs near a = b, the Weibull NLL's
# ∂λ, before the expm1 and rounded-power rules take (a/b)^y − 1 apart)
from .powers import QUOTIENT_POWER_NEAR_ONE  # noqa: E402

_register(QUOTIENT_POWER_NEAR_ONE)


# ------------------------------------------------------------------ series49 (losses.py)
# power-log-pole (issue 16, session 49, h-series49: k·x^a·log(x)/(1 − x^a) beside −1/a at a tiny a·log x, before the
# expm1 rule takes 1 − x^a apart)
from .losses import POWER_LOG_POLE  # noqa: E402

_register(POWER_LOG_POLE)


# ------------------------------------------------------------------ user50 (cancellation.py)
# affinity-complement (issue 16, session 50, h-user50: 1 − √(pq) − √((1 − p)(1 − q)), the squared Hellinger distance
# of two 2-point distributions, near p = q)
from .cancellation import AFFINITY_COMPLEMENT  # noqa: E402

_register(AFFINITY_COMPLEMENT)

# shift-gaps (shifts.py, session 50): before widen, two-sum and infinite-shift, which take e^(y − m) apart (and
# before log1p-series, which test_split43 keeps just before widen)
_register(SHIFT_GAPS)

_at = RULES.index(_BY_NAME["log1p-series"])
RULES = RULES[:_at] + (SHIFT_GAPS,) + tuple(r for r in RULES[_at:] if r is not SHIFT_GAPS)


# ------------------------------------------------------------------ charb51 (powers.py)
# power-of-sum-difference (issue 16, session 51, h-charb51: (c² + d²)^(q/2) − c^q, the generalised Charbonnier loss,
# where d² ≪ c², before the hypot and widen rules take the power of the sum apart)
from .powers import POWER_OF_SUM_DIFFERENCE  # noqa: E402

_register(POWER_OF_SUM_DIFFERENCE)


# ------------------------------------------------------------------ ln52 (powers.py)
# affine-norm-sum (issue 16, session 52, h-ln52: β + γ·(a − μ)/√(σ² + ε), the affine LayerNorm, where γ·n ≈ −β; a
# whole-expression rule before the node-by-node pass, where the hypot rule scales the root)
from .powers import AFFINE_NORM_SUM  # noqa: E402

_register(AFFINE_NORM_SUM)
