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

from sympy.codegen.cfunctions import expm1, log1p
from ...functions import relu, sigmoid
from ...special import softplus
from .core import _Final, Rule
from .local import _max_of, unordered_symbols
from .widening import (_atoms, _bottom_up, _distinct_preorder, _input_product, _replaced, _SHARED_WALKS, _top_down,
                       _walk_memo, _widen_hazard, Grouped, unwiden, widen, WidenedBase, without_ite,
                       written_where_not_finite, WrittenWhereNotFiniteBase, TakenWhereInfiniteBase)
from .stabiliser import stabilise, Stabiliser
from .pairs import _same_base_pair, nexp, RoundingError, SIGMOID_PAIR
from .losses import (_cofactor, _collect_pair, _constant_plus_square, _exp_square_node, _holds_call_missing_from,
                     _hypot_threshold, _input_reciprocal_difference, _tree_size, _variable_power, COLLECT_LIMIT)
from .cancellation import (_affine_root, _erf_complement, _fraction_complement, _infinite_shift_node,
                           _root_minus_constant, _shifted_sum_node, _TANHSHRINK_BELOW, _tanhshrink_series,
                           _TANHSHRINK_TARGET_BELOW, _two_sum, _two_sum_node, COLLECT_POLE, COSH_SQUARE,
                           COSH_SQUARE_SUM, COSH_SQUARE_SUM_FIRST, EXP_COLLECT, INFINITE_SHIFT, LOG_DIFFERENCE,
                           LOG_DIFFERENCE_RATIO, ROOT_MINUS_CONSTANT, SHIFTED_SUM_CROSSING, VANISHING_CONSTANT_GROUP)
from .quotients import (_homogeneous_quotient, _monomial_difference, _no_real_zero, _power_quotients, _product_over_sum,
                        _quotient_complement, _rational_parts, _roundings, CAUCHY_QUOTIENT, HOMOGENEOUS_QUOTIENT,
                        ONE_DENOMINATOR, POWER_QUOTIENT, PRODUCT_OVER_SUM, QUOTIENT_COMPLEMENT, QUOTIENT_ROOT,
                        QUOTIENT_SQUARE, RATIONAL_FUNCTION, RECIPROCAL_MARGIN)
from .series import (_constant_placed, _odd_leading, _power_times, _scaled_square, _split_series, GELU_TANH_SLOPE,
                     GELU_TANH_WRITTEN, HALF_ANGLE_QUOTIENT, HALF_POWER_SERIES, LOG1P_ERF, LOG1P_SERIES,
                     LOG_LINEAR_ROOT, MISH_SERIES, MISH_SLOPE, ONE_MINUS_COS, ONE_MINUS_COS_FACTOR, PAIR_PRODUCT_NODE,
                     POWER_MERGE, POWER_PRODUCT, PRODUCT_PAIR, PRODUCT_ROOT_SERIES, QUOTIENT_BY_FACTORS,
                     REMOVABLE_SERIES, ROOT_SERIES, SCALED_POWER, SCALED_SQUARE, SERIES_COMMON_DENOMINATOR,
                     SERIES_LEADING_POWER, SILU_SLOPE, VANISHING_QUOTIENT)
from .limits import (_exp_product_limit, _float_probe_inputs, _input_infinite_limits, _NEGATIVE_ZERO, _NoRationalLimit,
                     _TowardInfinity, EXP_PRODUCT_LIMIT, INFINITE_LIMIT, INPUT_INFINITE_LIMIT, STEP_VALUE,
                     TINY_ARGUMENT_RULE, without_infinite_limits, ZERO_SCALED_EXP)
from .softpluses import (LOG_SOFTPLUS_LEFT, ROUNDED_SOFTPLUS_ARGUMENT, SOFTPLUS_FACTOR, SOFTPLUS_OVER_EXP,
                         SOFTPLUS_OVER_EXP_MINUS_ONE, SOFTPLUS_RATIONAL, SOFTPLUS_SCALE, SOFTPLUS_SLOPE)
from .sigmoids import (EXP_INTO_SIGMOID, EXP_SIGMOID_FAR, EXP_SIGMOID_SPREAD, ONE_PLUS_EXP_POWER, SIGMOID_POWER,
                       SIGMOID_POWER_FACTOR)
from .exps import (_exp_dominant, _exp_into_shifted_sum, _exp_product_cancel, _product_switch, EXP_DOMINANT,
                   EXP_INTO_UNDERFLOWING_SUM, EXP_PRODUCT_CANCEL, ONE_MINUS_SCALED_EXP, ROUNDED_ARGUMENT,
                   SHIFTED_ARGUMENT)
from .logs import (_log1p_entropy_series, _LOG1P_ENTROPY_TERMS, LOG1P_ENTROPY, LOG_CONSTANT_FACTOR, LOG_ERFCX_LEFT,
                   LOG_GAUSSIAN_TAIL, LOG_NEAR_ONE, LOG_TANH, MIXTURE_LOG, OVERFLOWING_LOG1P, ROUNDED_LOG_ARGUMENT,
                   SCALED_ERFC, TWO_MINUS_EXP_ROOT, VANISHING_SERIES, WIDENED_LOG_ARGUMENT)
from .hypot import (_hypot_slopes, _hypot_sum, _powered_bases, _scaled_sum_of_squares, ASINH_FAR_SUM, CONJUGATE,
                    DISTRIBUTED_POWER_SUM, GAP_SLOPE_NODE, HALVED_DIFFERENCE, HYPOT_SCALING, HYPOT_SIGN, HYPOT_SLOPE,
                    SCALED_ASINH)
from .powers import (_common_power, _far_edge, _polynomial_power_node, _square_sum_collect, _square_sum_powers,
                     _stepwise_power, CANCELLING_POLYNOMIAL, COMMON_POWER, EXP_OVER_POWER_FAR, MIXTURE_POWER,
                     POLYNOMIAL_POWER, PowerBound, ROOT_DIFFERENCE, ROOT_OF_MONOMIAL, ROOT_RECIPROCAL, ROUNDED_POWER,
                     SHARED_POWERS, SQUARE_SUM_POWER, SUM_POWER_CANCEL)
from .products import (_limit_holds, _long_product, GAUSSIAN_QUOTIENT_PRODUCT, LONG_PRODUCT, OVERFLOWED_PRODUCT,
                       PRODUCT_ORDER, RATIONAL_PRODUCT, SCALE_INTO_SUM, WIDENED_PRODUCT_OVERFLOW)
from .softmax import (COMPENSATED_SUM, GAP_SUM, is_compensated_sum, NESTED_SUM_FACTOR, SOFTMAX_DIVERGENCE,
                      SOFTMAX_ENTROPY, SOFTMAX_MEAN, SOFTMAX_PAIR, SOFTMAX_WEIGHTS)
from .shifts import OVERFLOWED_SHIFT, SHIFTED_DIFFERENCE
from .branches import (_affine_select_sum, _tame, AFFINE_SELECT_SUM, FACTOR_INTO_QUOTIENT_BRANCHES, KINK_SIDE,
                       NESTED_SELECT, POWER_INTO_BRANCHES, RELU_BRANCHES, SIGN_BRANCHES, TIE_DIFFERENCE,
                       WIDEN_QUOTIENTS)
from .pipeline import _BY_NAME, _LOCAL, _LOCAL_RULE, _register, RULES

# the names the module rewrite.py exported, in its order
__all__ = ["softplus", "Rule", "RULES", "stabilise", "LOG_DIFFERENCE", "EXP_COLLECT", "COSH_SQUARE", "COSH_SQUARE_SUM",
           "COLLECT_POLE", "INFINITE_SHIFT", "SHIFTED_SUM_CROSSING", "RATIONAL_FUNCTION", "ROOT_SERIES", "SILU_SLOPE",
           "PRODUCT_ROOT_SERIES", "PRODUCT_PAIR", "MISH_SLOPE", "MISH_SERIES", "GELU_TANH_SLOPE", "GELU_TANH_WRITTEN",
           "LOG1P_ERF", "QUOTIENT_BY_FACTORS", "POWER_MERGE", "PRODUCT_OVER_SUM", "SCALED_SQUARE", "SCALED_POWER",
           "POWER_PRODUCT", "INFINITE_LIMIT", "without_infinite_limits", "SOFTPLUS_FACTOR", "SOFTPLUS_SCALE",
           "ROUNDED_ARGUMENT", "EXP_INTO_SIGMOID", "SOFTPLUS_SLOPE", "ROUNDED_SOFTPLUS_ARGUMENT", "REMOVABLE_SERIES",
           "HALF_ANGLE_QUOTIENT", "ONE_MINUS_COS", "LOG_NEAR_ONE", "VANISHING_SERIES", "VANISHING_QUOTIENT",
           "LOG1P_SERIES", "LOG_LINEAR_ROOT", "SERIES_LEADING_POWER", "EXP_DOMINANT", "HALF_POWER_SERIES",
           "SHIFTED_ARGUMENT", "PRODUCT_ORDER", "HYPOT_SCALING", "CONJUGATE", "HYPOT_SLOPE", "HYPOT_SIGN",
           "ROUNDED_POWER", "MIXTURE_LOG", "MIXTURE_POWER", "OVERFLOWED_PRODUCT", "POWER_QUOTIENT", "COMMON_POWER",
           "TINY_ARGUMENT_RULE", "ONE_MINUS_SCALED_EXP", "ONE_DENOMINATOR", "COMPENSATED_SUM", "is_compensated_sum",
           "ROUNDED_LOG_ARGUMENT", "WIDENED_LOG_ARGUMENT", "HOMOGENEOUS_QUOTIENT", "SCALED_ERFC", "QUOTIENT_SQUARE",
           "QUOTIENT_ROOT", "LOG_GAUSSIAN_TAIL", "LOG_ERFCX_LEFT", "LOG_SOFTPLUS_LEFT", "TWO_MINUS_EXP_ROOT",
           "LOG_CONSTANT_FACTOR", "ONE_MINUS_COS_FACTOR", "SERIES_COMMON_DENOMINATOR", "SOFTPLUS_OVER_EXP",
           "SOFTPLUS_OVER_EXP_MINUS_ONE", "STEP_VALUE", "EXP_PRODUCT_LIMIT", "EXP_PRODUCT_CANCEL",
           "EXP_INTO_UNDERFLOWING_SUM", "RECIPROCAL_MARGIN", "COSH_SQUARE_SUM_FIRST", "TIE_DIFFERENCE",
           "NESTED_SELECT", "RELU_BRANCHES", "log1p", "expm1", "nexp", "SIGMOID_PAIR", "WidenedBase", "widen",
           "unwiden", "RoundingError", "OVERFLOWING_LOG1P", "ZERO_SCALED_EXP", "SQUARE_SUM_POWER",
           "QUOTIENT_COMPLEMENT", "POLYNOMIAL_POWER", "WIDENED_PRODUCT_OVERFLOW", "ROOT_DIFFERENCE",
           "NESTED_SUM_FACTOR", "SOFTMAX_MEAN", "GAP_SUM", "ROOT_RECIPROCAL", "ROOT_OF_MONOMIAL", "SIGMOID_POWER",
           "SIGN_BRANCHES", "SIGMOID_POWER_FACTOR", "SOFTMAX_DIVERGENCE", "SOFTPLUS_RATIONAL", "ONE_PLUS_EXP_POWER",
           "EXP_SIGMOID_FAR", "EXP_SIGMOID_SPREAD", "EXP_OVER_POWER_FAR", "LOG_TANH", "AFFINE_SELECT_SUM",
           "SUM_POWER_CANCEL", "OVERFLOWED_SHIFT", "WIDEN_QUOTIENTS", "POWER_INTO_BRANCHES",
           "FACTOR_INTO_QUOTIENT_BRANCHES", "KINK_SIDE", "SHARED_POWERS", "PowerBound", "LONG_PRODUCT",
           "WrittenWhereNotFiniteBase", "TakenWhereInfiniteBase", "RATIONAL_PRODUCT", "LOG1P_ENTROPY", "CANCELLING_POLYNOMIAL",
           "SHIFTED_DIFFERENCE", "INPUT_INFINITE_LIMIT", "SOFTMAX_ENTROPY", "SOFTMAX_PAIR", "SCALED_ASINH",
           "SCALE_INTO_SUM", "GAUSSIAN_QUOTIENT_PRODUCT", "SOFTMAX_WEIGHTS", "VANISHING_CONSTANT_GROUP",
           "ROOT_MINUS_CONSTANT", "LOG_DIFFERENCE_RATIO", "ASINH_FAR_SUM", "HALVED_DIFFERENCE",
           "DISTRIBUTED_POWER_SUM", "CAUCHY_QUOTIENT"]

# and the names code outside the package reads from symnet.codegen.rewrite (found by the split script in symnet/,
# tests/, benchmarks/, docs/): importable from here, as from the module rewrite.py was
_OUTSIDE = (_affine_root, _affine_select_sum, _atoms, _bottom_up, _BY_NAME, _cofactor, _collect_pair, _common_power,
            _constant_placed, _constant_plus_square, _distinct_preorder, _erf_complement, _exp_dominant,
            _exp_into_shifted_sum, _exp_product_cancel, _exp_product_limit, _exp_square_node, _far_edge, _Final,
            _float_probe_inputs, _fraction_complement, _holds_call_missing_from, _homogeneous_quotient, _hypot_slopes,
            _hypot_sum, _hypot_threshold, _infinite_shift_node, _input_infinite_limits, _input_product,
            _input_reciprocal_difference, _limit_holds, _LOCAL, _LOCAL_RULE, _log1p_entropy_series,
            _LOG1P_ENTROPY_TERMS, _long_product, _max_of, _monomial_difference, _NEGATIVE_ZERO, _no_real_zero,
            _NoRationalLimit, _odd_leading, _polynomial_power_node, _power_quotients, _power_times, _powered_bases,
            _product_over_sum, _product_switch, _quotient_complement, _rational_parts, _register, _replaced,
            _root_minus_constant, _roundings, _same_base_pair, _scaled_square, _scaled_sum_of_squares, _SHARED_WALKS,
            _shifted_sum_node, _split_series, _square_sum_collect, _square_sum_powers, _stepwise_power, _tame,
            _TANHSHRINK_BELOW, _tanhshrink_series, _TANHSHRINK_TARGET_BELOW, _top_down, _TowardInfinity, _tree_size,
            _two_sum, _two_sum_node, _variable_power, _walk_memo, _widen_hazard, COLLECT_LIMIT, GAP_SLOPE_NODE,
            Grouped, PAIR_PRODUCT_NODE, relu, sigmoid, Stabiliser, unordered_symbols, without_ite,
            written_where_not_finite)

# ------------------------------------------------------------------ trig46 (issue 16, session 46, h-trig46: the widen
# rule's trig-sum test, which tests/test_trig46.py turns off with conftest.patch_rewrite)
from .widening import _trig_sum_of_one_input  # noqa: E402
_OUTSIDE += (_trig_sum_of_one_input,)
