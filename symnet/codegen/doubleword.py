"""Double-word arithmetic for the widen rule in float64 kernels.

A float32 kernel computes a widened sum (:class:`~symnet.codegen.rewrite.WidenedBase`: e^x − t·x,
log t + 1 − x, σ(z) − t, where a rounded function cancels against another input) in float64 and
rounds once (in double words where float64 is not enough: below). A float64 kernel has no wider type, so it computes the sum in *double-word*
arithmetic: each value an unevaluated sum hi + lo of two float64 (about 106 bits), rounded once at
the end. The primitives follow Dekker (1971), Knuth's TwoSum and Joldes, Muller & Popescu (2017,
"Tight and rigorous error bounds for basic building blocks of double-word arithmetic"); exp
follows the QD library (Hida, Li & Bailey): x = k·ln 2 + r with ln 2 in two parts, e^(r/256) − 1
by a short Taylor series, eight squarings back (p → 2p + p², which keeps e^r − 1 exact near 0),
then 2^k. In Triton, log and log1p take one Newton step on a float64 start y₀: y = y₀ + (x − e^y₀)·e^−y₀,
the difference in double-word, as d − (e^y₀ − 1) with d = x − 1 (exact) near x = 1, so that log stays
accurate to its last bits there; NumPy's are table-driven (Tang 1990, two stages, _NUMPY_LOG: some 150
array operations where the Newton step takes 420).

A widened sum with a log among terms of products, quotients and selects (gaussian_nll's ½(log v + (x − t)²/v))
can cancel past what a double word holds (2⁵⁸ at v = 0.0242, x − t = 0.3, where each term's lo part rounds at
2⁻¹⁰⁶ of it: 5.27 ULP): its terms are computed in *triple* words (hi + lo + tail, about 150 bits; ``_tw_mul``,
``_tw_div``, ``_tw_add``, ``_tw_log``, :func:`_triple_worthy`) and rounded once (0.50 ULP there).

The third tier (session 20): any other widened sum whose every node has a triple word (:func:`_triple_capable`: sums,
products, powers, e^x, log, σ, softplus, tanh; ``_tw_exp``, ``_tw_sigmoid``, ``_tw_softplus``, ``_tw_tanh``,
``_tw_log1p``) is computed a third time in triple words by the NumPy function, on the elements whose float64 bound is
past 2⁻¹⁰ of the value (DEEP_RELATIVE; where a float64 kernel computes no bound, whose double-word terms are past
2⁴⁰ times its value: DEEP_TERMS), where even a double word's 2⁻¹⁰⁶ of the terms is ULPs of the sum: the focal loss's
∂t at its zeros (2⁻⁵⁹·⁶ of its terms, 84 ULP in double words), y − tanh x at y = fl(tanh x) (1,330). Triton's
float64 kernels likewise since session 21 (:func:`_triton_third_tier`), on the elements picked by DEEP_TERMS (they
compute no float64 bound; past 2 where the double word holds erfc or Φ in float64: ROUNDED_DEEP_TERMS, session 37;
erfc and Φ of any triple word since session 38, ``_tw_erfc_words``: gelu(x/y)⁻²'s ∂x near gelu′'s root; erf, whose
double word is float64-rounded (an input's everywhere, _dw_erf_tail; a double word's from |x| = 1/2 on), likewise
since session 41, and erf of any triple word in both
backends, ``_tw_erf_words``: erf(x/y) − z at z = erf(x/y) rounded),
in a block where one element is (a scalar branch): the same ``_tw_*`` texts as
``@triton.jit`` helpers, _tw_expm1_reduced's eight squarings a loop (one body to compile), and the kernel at two
entries a thread in float64 (the launcher): y − tanh x's float64 kernel compiled for sm_90 in 3.2 CPU s before,
17.9 with the tier unrolled at eight entries a thread, 4.0 now (benchmarks/tw21_sm90.py). Only where the triple words
take at most TRITON_TIER_MOST exponentials and logs. The focal loss's ∂t and ∂z took 11 each (gated out: 84 ULP at
their zeros); since session 22 (task h-tfocal22) σ(±z), softplus(±z) and tanh(z/2) take one triple-word e^−|z| and
e^−|z| − 1 (``_tw_exp_negabs``) and one log1p of it, and p_t^γ, a factor of every term, is the double word's value
(:func:`_common_exp_factors`): 2 each, 0 ULP at their zeros, the kernel's sm_90 compile 263.4 CPU s (67.2 gated,
the same box and load: benchmarks/results/tfocal22-sm90-2026-12-03.txt). Since session 23 (task h-tfocal23) a tier of
more than TRITON_TIER_INLINE is in the elementwise kernel's repair kernel (its REPAIR=True specialisation, compiled
at the first launch whose main kernel flagged a block, run on the flagged blocks alone): focal's main kernel compiles
for sm_90 in 39.8 CPU s (59.3 on main, whose ∂t for z > 1000 kept its tier of 3), its repair kernel in 183.2
(benchmarks/results/tfocal23-sm90-2026-12-03.txt), still 0 ULP at the zeros.

No FMA anywhere: NumPy has none and the Triton interpreter's may not be fused; the products are
Dekker's, by Veltkamp's splitting (scaled by 2⁻²⁸ above 2⁹⁹⁶, where 2²⁷·a would overflow).

This module holds the primitives as helper texts for both backends (one text, written with
``M.`` for the array module and a few named constants, rendered as a NumPy function or a
``@triton.jit`` function) and the code generator of the per-body function (:func:`widened_function`):
for each widened body a function ``_dw_widened_<digest>(leaves…)`` whose statements are
``name_hi, name_lo = _dw_mul(a_hi, a_lo, b_hi, b_lo)`` under a comment of their math. An
operation without a double-word version (a fractional power; erf in Triton: NumPy's is _dw_erf) is computed in float64 as
(value, 0): it degrades, it does not fail. Where the double-word result is not finite (an input
±inf or NaN, an overflow inside a split or e^x) or the float64 body is not, the function returns
the float64 body's value, so nothing that was finite becomes NaN.

Double-word only where it is needed (NumPy): a double-word e^x is some 400 array operations, 30×
the float64 sum it replaces, and most elements of most data do not cancel. So the NumPy function
first computes the float64 body node by node with a running bound of its rounding error
(:class:`_Bound`: the derivation of the bound and of the mask's K is there) and keeps the float64
value wherever the bound is within 3u of it (3 ULP); only the other elements (a sum that cancels, a
value that is not finite) are gathered, computed in double-word and scattered back, and only where
the kernel's select takes the sum (``needed``: a select computes every piece on every element). A
body whose bound can never be that small (:func:`_least_bound`: focal's products of σ, softplus and
sums) gets no bound: double-word wherever needed. The Triton function keeps the double-word
everywhere in a float64 kernel: a GPU computes a masked-off lane anyway. A float32 kernel (NumPy's and, since
session 20, Triton's) keeps the float64 body where its bound is within 2⁻³⁰ of it (2⁻⁶ of a float32 ULP) and
takes the double word elsewhere; Triton's bound is the same running bound over its own lowerings' errors
(_TRITON_ULPS), and a block computes the double word only where one of its elements needs it (a dynamic branch
on the block: y − tanh x at x = 21, y = 1 in float32 was 1.1e7 ULP in Triton, where 1 − tanh 21 rounds to 0 in
float64; tests/test_tritonsum20.py).

Less double-word work where it runs (NumPy, task h-cost20; benchmarks/results/bound-cost-2026-12-03.md): σ(±v) and
softplus(±v) of one body share one e^−|v| (:func:`_shared_exp_bases`); a select of e^a pieces takes one e^x of the
selected argument (:func:`_exp_argument`); sin and cos take one series per element (``_dw_sin_shifted``); a
first-order log of a rounded sum skips its bound in a block where it would keep too few (:func:`_log_of_rounded_sum`).
The first two give the same bits as before; the sin/cos series is as exact (2⁻¹⁰⁵ measured), and the log takes double
words where it kept the float64 value (as exact or more).

A sum of products of inputs against a target (x·y − z, a linear model's w·x + b − t; session 23, task h-xyz23,
benchmarks/results/xyz23-cost-2026-12-03.md) has a cheap front in NumPy (:func:`_product_sum_front`): the float64 body
and its bound on every element and nothing else where the bound keeps them all; Ogita, Rump & Oishi's Sum2 (TwoSum,
TwoProduct) on the elements past it (gathered, or the whole block where they are an eighth of it or more); the whole
function above, named ``…_cancelling``, only past Sum2's reach (4n²·bound > |value|) or below 2⁻⁹⁶⁸. In a float32
kernel a two-term sum is the float64 body (two float32 multiply exactly in float64). h-round22's widened products took
the whole function on every block: (w·x + b − t)² 10× the plain float64 kernel; with the front 1.1–1.2× where nothing
cancels, 3× where a third of the elements are within a factor 2 of cancelling.

A whole kernel in double words (:func:`double_word_block`): a float64 kernel with a compensated sum (a written
softmax or log-softmax) computes every output again from its inputs with one emitter, so that the 24 terms
e^(a_i − m) of a 24-term softmax are computed once for its 25 outputs and each output is rounded once (the float64
terms' own roundings alone left it 2.38 ULP off; tests/test_sm18.py). Its e^x is ``_dw_exp_table``: in NumPy
table-driven (:func:`_exp_table_text`: Tang's method, 2⁻⁶⁶, a fifth of ``_dw_exp``'s operations), in Triton
``_dw_exp_short`` (two squarings, 2⁻⁶², some 145 operations where ``_dw_exp`` takes 390: the written 24-term
softmax's float64 kernel compiled for sm_90 in 195 s of CPU with ``_dw_exp``, 83 s with session 18's four squarings,
6 s before the block; benchmarks/results/sm18-sm90.txt, and what session 19 measured there). Triton's compile time
grows with about the square of a kernel's operations (its coalescing pass takes the slice of every load and store
over the whole kernel), so the block's operations are counted, not only its registers.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import keyword
import math
import re
from typing import NamedTuple

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import BooleanAtom

from ..registry import GENERATED_HELPERS
from ..render import shared_srepr, shared_text
from .chains import equal_powers
from .names import FALLBACK_WORDS, _math_name

__all__ = ["PRIMITIVES", "PRIMITIVE_NEEDS", "ORDER", "NUMPY_ONLY", "GENERATED_PREFIX", "primitive_text",
           "primitive_needs", "widened_function", "WidenedFunction", "leaf_identifiers", "generated_last", "double_word_block",
           "keep_generated", "forget_generated", "GENERATED_MAX_BYTES"]

GENERATED_PREFIX = "_dw_widened_"

# ln 2 = LN2_HI + LN2_LO (LN2_HI the float64 nearest ln 2); 1/n! as double-words for the Taylor series
_CONSTANTS = {
    "SPLITTER": 134217729.0,  # 2²⁷ + 1 (Veltkamp)
    "SPLIT_BIG": 2.0 ** 996, "SPLIT_DOWN": 2.0 ** -28, "SPLIT_UP": 2.0 ** 28,
    "LN2_HI": 0.6931471805599453, "LN2_LO": 2.3190468138462996e-17, "INV_LN2": 1.4426950408889634,
    # ln 2 in three parts for the reduction of e^x: LN2_A of 42 bits (k·LN2_A exact for |k| < 2¹¹)
    "LN2_A": 0.6931471805598903, "LN2_B": 5.497923018708371e-14, "LN2_C": 1.94704509238075e-31,
    "C3_HI": 0.16666666666666666, "C3_LO": 9.251858538542971e-18,
    "C4_HI": 0.041666666666666664, "C4_LO": 2.3129646346357427e-18,
    "C5_HI": 0.008333333333333333, "C5_LO": 1.1564823173178714e-19, "C6": 1 / 720, "C7": 1 / 5040, "C8": 1 / 40320, "C9": 1 / 362880,
    "C10": 1 / 3628800, "C11": 1 / 39916800,
    # ln 2 = LN2_A + LN2_B42 + LN2_C42 (the first two of 42 bits: k times each exact for |k| < 2¹¹; mpmath, 60 digits)
    "LN2_B42": 5.49792301870721e-14, "LN2_C42": 1.1612227229362532e-26,
    "C6_HI": 0.001388888888888889, "C6_LO": -5.300543954373577e-20,
    "C7_HI": 0.0001984126984126984, "C7_LO": 1.7209558293420705e-22,
    "REDUCE": 2.0 ** -8, "TINY": 2.0 ** -100, "SMALL_TANH": 2.0 ** -27, "LOG_TINY": 2.0 ** -900, "LOG_UP": 2.0 ** 600,
    "MIN_NORMAL": 2.0 ** -1022, "SUB_STEP": 5e-324, "LEAF_BIG": 2.0 ** 900, "LEAF_DOWN": 2.0 ** -600,
    "QUOTIENT_TINY": 2.0 ** -800, "QUOTIENT_ROOM": 2.0 ** 400,  # _tw_quotient's scaling of a tiny dividend
}

# Each primitive: its text, with ``M.`` the array module (np / tl) and the names of _CONSTANTS.
# Arithmetic only (+ − × ÷, where, abs, floor, exp, log), so one text serves both backends.
PRIMITIVES = {
    "_dw_two_sum": '''\
def _dw_two_sum(a, b):
    """s + e = a + b exactly, s = fl(a + b) (Knuth's TwoSum)."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)
''',
    "_dw_fast_two_sum": '''\
def _dw_fast_two_sum(a, b):
    """s + e = a + b exactly where |a| ≥ |b| or a = 0 (Dekker's Fast2Sum)."""
    s = a + b
    return s, b - (s - a)
''',
    "_dw_split": '''\
def _dw_split(a):
    """a = hi + lo, each of 26 bits at most (Veltkamp); scaled by 2⁻²⁸ above 2⁹⁹⁶, where the
    splitter's product would overflow, and back (exact)."""
    big = M.abs(a) > SPLIT_BIG
    s = M.where(big, a * SPLIT_DOWN, a)
    c = SPLITTER * s
    hi = c - (c - s)
    lo = s - hi
    return M.where(big, hi * SPLIT_UP, hi), M.where(big, lo * SPLIT_UP, lo)
''',
    "_dw_split_bounded": '''\
def _dw_split_bounded(a):
    """a = hi + lo, each of 26 bits at most (Veltkamp), for |a| below 2⁹⁹⁶ (the operands inside e^x
    and log: no guard)."""
    c = SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi
''',
    "_dw_two_prod": '''\
def _dw_two_prod(a, b):
    """p + e = a·b exactly, p = fl(a·b) (Dekker's TwoProduct, no FMA); exact unless a partial
    product underflows. Where |p| > 2⁹⁹⁶, a and p scaled by 2⁻²⁸ first (exact) and e back: a_hi·b_hi
    may round above the largest float64 where p is just below it."""
    p = a * b
    big = M.abs(p) > SPLIT_BIG
    a_hi, a_lo = _dw_split(M.where(big, a * SPLIT_DOWN, a))
    b_hi, b_lo = _dw_split(b)
    q = M.where(big, p * SPLIT_DOWN, p)
    e = ((a_hi * b_hi - q) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, M.where(big, e * SPLIT_UP, e)
''',
    "_dw_two_prod_bounded": '''\
def _dw_two_prod_bounded(a, b):
    """p + e = a·b exactly, as _dw_two_prod, for operands below 2⁹⁹⁶ (no guard)."""
    p = a * b
    a_hi, a_lo = _dw_split_bounded(a)
    b_hi, b_lo = _dw_split_bounded(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
''',
    "_dw_add": '''\
def _dw_add(x_hi, x_lo, y_hi, y_lo):
    """x + y of two double-words (Joldes–Muller–Popescu, AccurateDWPlusDW: error ≤ 3u²)."""
    s_hi, s_lo = _dw_two_sum(x_hi, y_hi)
    t_hi, t_lo = _dw_two_sum(x_lo, y_lo)
    v_hi, v_lo = _dw_fast_two_sum(s_hi, s_lo + t_hi)
    return _dw_fast_two_sum(v_hi, t_lo + v_lo)
''',
    "_dw_add_fp": '''\
def _dw_add_fp(x_hi, x_lo, y):
    """x + y, y a float64 (DWPlusFP: error ≤ 2u²)."""
    s_hi, s_lo = _dw_two_sum(x_hi, y)
    return _dw_fast_two_sum(s_hi, x_lo + s_lo)
''',
    "_dw_mul": '''\
def _dw_mul(x_hi, x_lo, y_hi, y_lo):
    """x·y of two double-words (Dekker's product: error ≤ 7u² or so; the lo·lo term dropped)."""
    p_hi, p_lo = _dw_two_prod(x_hi, y_hi)
    return _dw_fast_two_sum(p_hi, p_lo + (x_hi * y_lo + x_lo * y_hi))
''',
    "_dw_mul_fp": '''\
def _dw_mul_fp(x_hi, x_lo, y):
    """x·y, y a float64 (DWTimesFP: error ≤ 2u² or so)."""
    p_hi, p_lo = _dw_two_prod(x_hi, y)
    return _dw_fast_two_sum(p_hi, p_lo + x_lo * y)
''',
    "_dw_mul_bounded": '''\
def _dw_mul_bounded(x_hi, x_lo, y_hi, y_lo):
    """x·y as _dw_mul, for operands below 2⁹⁹⁶ (inside e^x: no guard in the splitting)."""
    p = x_hi * y_hi
    a_hi, a_lo = _dw_split_bounded(x_hi)
    b_hi, b_lo = _dw_split_bounded(y_hi)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return _dw_fast_two_sum(p, e + (x_hi * y_lo + x_lo * y_hi))
''',
    "_dw_twice_plus_square": '''\
def _dw_twice_plus_square(p_hi, p_lo):
    """2p + p² for |p| < 1/2 ((1 + p)² − 1, a squaring of e^r without its cancellation): p² from one
    splitting of p_hi, and |p²| ≤ |2p|/4, so the sum needs no TwoSum."""
    a_hi, a_lo = _dw_split_bounded(p_hi)
    q = p_hi * p_hi
    q_lo = (((a_hi * a_hi - q) + 2.0 * a_hi * a_lo) + a_lo * a_lo) + 2.0 * p_hi * p_lo
    s_hi, s_lo = _dw_fast_two_sum(2.0 * p_hi, q)
    return _dw_fast_two_sum(s_hi, s_lo + (2.0 * p_lo + q_lo))
''',
    "_dw_div": '''\
def _dw_div(x_hi, x_lo, y_hi, y_lo):
    """x/y of two double-words (DWDivDW2: error ≤ 15u²): q = x_hi/y_hi, then the remainder
    x − y·q in double-word divided once more."""
    q = x_hi / y_hi
    r_hi, r_lo = _dw_mul_fp(y_hi, y_lo, q)
    d = (x_hi - r_hi) + (x_lo - r_lo)
    return _dw_fast_two_sum(q, d / y_hi)
''',
    "_dw_sqrt": '''\
def _dw_sqrt(x_hi, x_lo):
    """√x of a double-word x ≥ 0 (Karp & Markstein 1997: one Newton step on s = fl(√x_hi)): s + (x − s²)/(2s),
    s² exact by TwoProduct and x_hi − s² exact by Sterbenz (error about 2u² relative); 0 at x = 0."""
    s = M.sqrt(x_hi)
    p_hi, p_lo = _dw_two_prod(s, s)
    positive = s > 0.0
    r = (((x_hi - p_hi) - p_lo) + x_lo) / (2.0 * M.where(positive, s, 1.0))
    return _dw_fast_two_sum(s, M.where(positive, r, 0.0))
''',
    "_dw_exp_reduced": '''\
def _dw_exp_reduced(x_hi, x_lo):
    """(k, e^r − 1) with x = k·ln 2 + r, |r| ≤ ln 2/2 (k an integer-valued float, x clamped to
    [−746, 710], where e^x is 0 and ∞; ln 2 in three parts, x − k·LN2_A exact): e^(r/256) − 1 by
    Taylor (terms from r⁶ on in float64, below 2⁻⁵⁷ of the sum: r⁵/120 in float64, 2⁻⁴⁵ of it, left e^x
    and log 2⁻⁹⁸ off, 17 ULP at a zero of the focal loss's ∂t), then 8 times p → 2p + p², which is
    (1 + p)² − 1 without the cancellation."""
    x = M.minimum(M.maximum(x_hi, -746.0), 710.0)
    k = M.floor(x * INV_LN2 + 0.5)
    k_ln2_hi, k_ln2_lo = _dw_two_prod_bounded(k, LN2_B)
    r_hi, r_lo = _dw_add(x - k * LN2_A, M.where(x == x_hi, x_lo, 0.0), -k_ln2_hi, -(k_ln2_lo + k * LN2_C))
    s_hi = r_hi * REDUCE
    s_lo = r_lo * REDUCE
    q = ((C9 * s_hi + C8) * s_hi + C7) * s_hi + C6
    p_hi, p_lo = _dw_add_fp(C5_HI, C5_LO, s_hi * q)
    p_hi, p_lo = _dw_mul_bounded(s_hi, s_lo, p_hi, p_lo)
    p_hi, p_lo = _dw_add(C4_HI, C4_LO, p_hi, p_lo)
    p_hi, p_lo = _dw_mul_bounded(s_hi, s_lo, p_hi, p_lo)
    p_hi, p_lo = _dw_add(C3_HI, C3_LO, p_hi, p_lo)
    p_hi, p_lo = _dw_mul_bounded(s_hi, s_lo, p_hi, p_lo)
    p_hi, p_lo = _dw_add_fp(p_hi, p_lo, 0.5)
    p_hi, p_lo = _dw_mul_bounded(s_hi, s_lo, p_hi, p_lo)
    p_hi, p_lo = _dw_add_fp(p_hi, p_lo, 1.0)
    p_hi, p_lo = _dw_mul_bounded(s_hi, s_lo, p_hi, p_lo)
''' + "".join('''\
    p_hi, p_lo = _dw_twice_plus_square(p_hi, p_lo)
''' for _ in range(8)) + '''\
    return k, p_hi, p_lo
''',
    "_dw_exp": '''\
def _dw_exp(x_hi, x_lo):
    """e^x of a double-word (relative error about 2⁻¹⁰⁴ where e^x is normal): 2^k·(1 + p)."""
    k, p_hi, p_lo = _dw_exp_reduced(x_hi, x_lo)
    e_hi, e_lo = _dw_add_fp(p_hi, p_lo, 1.0)
    return _dw_scale(e_hi, e_lo, k)
''',
    "_dw_exp_short": '''\
def _dw_exp_short(x_hi, x_lo):
    """e^x of a double-word to about 2⁻⁶² relative where it is normal (Triton's e^x in a whole kernel in double
    words, _dw_exp_table: enough for an output rounded once, 2⁻⁹ ULP; some 145 operations, _dw_exp's 390: a written
    24-term softmax inlines 24 copies, and Triton's compile time grows with the square of a kernel's operations).
    x = k·ln 2 + r, |r| ≤ ln 2/2, ln 2 in three parts (of 42, 42 and 53 bits: k times the first or the second exact
    for |k| < 2¹¹, and x less k times the first), r = r_hi + r_lo by two TwoSums; s = r/4, e^s − 1 = s + s²/2 +
    s³·(1/6 + … + s⁸/11!) + s_lo·(1 + s + s²/2) with s² by TwoProduct (exact) and the rest in float64 (below 2⁻¹³
    of 1, rounded at 2⁻⁶⁶; s¹²/12! is 2⁻⁷⁰), twice p → 2p + p² (each doubling the error), then 2^k·(1 + p).
    (Before session 19: s = r/16 with s²/2 in float64 and four squarings, 190 operations, 2⁻⁵⁹·⁹.)"""
    x = M.minimum(M.maximum(x_hi, -746.0), 710.0)
    k = M.floor(x * INV_LN2 + 0.5)
    r_hi, r_lo = _dw_two_sum(x - k * LN2_A, -(k * LN2_B42))
    r_hi, r_lo = _dw_two_sum(r_hi, r_lo + (M.where(x == x_hi, x_lo, 0.0) - k * LN2_C42))
    s = r_hi * 0.25
    s_lo = r_lo * 0.25
    q, q_lo = _dw_two_prod_bounded(s, s)
    tail = s * q * (C3_HI + s * (C4_HI + s * (C5_HI + s * (C6 + s * (C7 + s * (C8 + s * (C9 + s * (C10 + s * C11))))))))
    tail = tail + (0.5 * q_lo + s_lo * (1.0 + s * (1.0 + 0.5 * s)))
    p_hi, p_lo = _dw_fast_two_sum(s, 0.5 * q)
    p_hi, p_lo = _dw_fast_two_sum(p_hi, p_lo + tail)
    p_hi, p_lo = _dw_twice_plus_square(p_hi, p_lo)
    p_hi, p_lo = _dw_twice_plus_square(p_hi, p_lo)
    e_hi, e_lo = _dw_add_fp(p_hi, p_lo, 1.0)
    return _dw_scale(e_hi, e_lo, k)
''',
    "_dw_expm1": '''\
def _dw_expm1(x_hi, x_lo):
    """e^x − 1 of a double-word: p itself where k = 0 (|x| < ln 2/2), 2^k·(1 + p) − 1 beyond
    (no cancellation there), x itself below 2⁻¹⁰⁰ (x²/2 is below 2⁻¹⁰¹ of it)."""
    k, p_hi, p_lo = _dw_exp_reduced(x_hi, x_lo)
    e_hi, e_lo = _dw_add_fp(p_hi, p_lo, 1.0)
    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)
    m_hi, m_lo = _dw_add_fp(e_hi, e_lo, -1.0)
    tiny = M.abs(x_hi) < TINY
    near = k == 0.0
    return (M.where(tiny, x_hi, M.where(near, p_hi, m_hi)),
            M.where(tiny, x_lo, M.where(near, p_lo, m_lo)))
''',
    "_dw_log_step": '''\
def _dw_log_step(d_hi, d_lo, x_hi, x_lo, y):
    """log x = log(1 + d) from a float64 start y within a few ulps: with c = (x − e^y)/e^y
    (= e^δ − 1, δ = log x − y; the difference and the quotient in double-word), y + c − c²/2, one
    Newton step with its second-order term (c²/2 and a float64 e^−y were each up to 2⁻¹⁰⁵ of log x
    for |y| in [2, 4): 5.3 ULP at a zero of the Gaussian NLL); x − e^y as d − (e^y − 1) where
    |y| < ln 2/2, so that near x = 1 the ones cancel exactly."""
    k, p_hi, p_lo = _dw_exp_reduced(y, 0.0)
    e_hi, e_lo = _dw_add_fp(p_hi, p_lo, 1.0)
    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)
    near = k == 0.0
    r_hi, r_lo = _dw_add(M.where(near, d_hi, x_hi), M.where(near, d_lo, x_lo),
                         -M.where(near, p_hi, e_hi), -M.where(near, p_lo, e_lo))
    c_hi, c_lo = _dw_div(r_hi, r_lo, e_hi, e_lo)
    return _dw_add_fp(c_hi, c_lo - 0.5 * c_hi * c_hi, y)
''',
    "_dw_log1p": '''\
def _dw_log1p(d_hi, d_lo):
    """log(1 + d) of a double-word, d > −1; d − d²/2 below |d| = 2⁻¹⁰⁰ (the next term is below 2⁻²⁰⁰ of it),
    where the Newton step's e^y − 1 of a subnormal y loses bits (softplus(−709) = 1.2e−308 was 56 subnormal
    steps off: the focal loss's ∂γ 154 ULP at γ = 0, t = 1, z = 709)."""
    x_hi, x_lo = _dw_add_fp(d_hi, d_lo, 1.0)
    # d_hi = −1 (x·y of −3 and fl(1/3)): 1 + d is d_lo, exactly; the step starts from its log, not log1p(−1) = −inf
    # (NaN after the step where the true log1p is −37.4); −inf where d = −1 exactly, NaN where d_lo < 0
    root = d_hi == -1.0
    seed = M.where(root, M.log(M.where(root, x_hi, 1.0)), LOG1P(d_hi))
    l_hi, l_lo = _dw_log_step(d_hi, d_lo, x_hi, x_lo, seed)
    l_hi = M.where(x_hi == 0.0, -float("inf"), l_hi)
    tiny = M.abs(d_hi) < TINY
    return M.where(tiny, d_hi, l_hi), M.where(tiny, d_lo - 0.5 * d_hi * d_hi, l_lo)
''',
    "_dw_log": '''\
def _dw_log(x_hi, x_lo):
    """log x of a double-word, x > 0, from y = log x_hi; x below 2⁻⁹⁰⁰ (subnormals too) scaled by
    2⁶⁰⁰ first and 600·ln 2 taken off again."""
    small = x_hi < LOG_TINY
    s_hi = M.where(small, x_hi * LOG_UP, x_hi)
    s_lo = M.where(small, x_lo * LOG_UP, x_lo)
    d_hi, d_lo = _dw_add_fp(s_hi, s_lo, -1.0)
    y_hi, y_lo = _dw_log_step(d_hi, d_lo, s_hi, s_lo, M.log(s_hi))
    k = M.where(small, -600.0, 0.0)
    k_ln2_hi, k_ln2_lo = _dw_two_prod_bounded(k, LN2_HI)
    return _dw_add(y_hi, y_lo, k_ln2_hi, k_ln2_lo + k * LN2_LO)
''',
    "_dw_sigmoid": '''\
def _dw_sigmoid(x_hi, x_lo):
    """σ(x) from E = e^−|x| ≤ 1 (never overflows): 1/(1 + E) for x ≥ 0, E/(1 + E) below."""
    neg = x_hi < 0.0
    e_hi, e_lo = _dw_exp(M.where(neg, x_hi, -x_hi), M.where(neg, x_lo, -x_lo))
    d_hi, d_lo = _dw_add_fp(e_hi, e_lo, 1.0)
    r_hi, r_lo = _dw_div(M.where(neg, e_hi, 1.0), M.where(neg, e_lo, 0.0), d_hi, d_lo)
    return r_hi, r_lo
''',
    "_dw_softplus": '''\
def _dw_softplus(x_hi, x_lo):
    """log(1 + e^x) = max(x, 0) + log1p(e^−|x|): never overflows."""
    neg = x_hi < 0.0
    e_hi, e_lo = _dw_exp(M.where(neg, x_hi, -x_hi), M.where(neg, x_lo, -x_lo))
    l_hi, l_lo = _dw_log1p(e_hi, e_lo)
    return _dw_add(l_hi, l_lo, M.where(neg, 0.0, x_hi), M.where(neg, 0.0, x_lo))
''',
    # σ(±v) and softplus(±v) of one body from one E = e^−|v| (and one log1p(E)): the same operations as _dw_sigmoid
    # and _dw_softplus, E computed once (NumPy's widened functions, _Emitter.shared_exp: focal's ∂t and ∂z take
    # σ(z), σ(−z), softplus(z) and softplus(−z), four double-word e^x of one value where one does; task h-cost20)
    "_dw_exp_negabs": '''\
def _dw_exp_negabs(x_hi, x_lo):
    """e^−|x| of a double-word (≤ 1: never overflows), as _dw_sigmoid and _dw_softplus take it."""
    neg = x_hi < 0.0
    return _dw_exp(M.where(neg, x_hi, -x_hi), M.where(neg, x_lo, -x_lo))
''',
    "_dw_sigmoid_e": '''\
def _dw_sigmoid_e(x_hi, x_lo, e_hi, e_lo):
    """σ(x) from E = e^−|x| (_dw_exp_negabs): 1/(1 + E) for x ≥ 0, E/(1 + E) below (_dw_sigmoid's steps)."""
    neg = x_hi < 0.0
    d_hi, d_lo = _dw_add_fp(e_hi, e_lo, 1.0)
    r_hi, r_lo = _dw_div(M.where(neg, e_hi, 1.0), M.where(neg, e_lo, 0.0), d_hi, d_lo)
    return r_hi, r_lo
''',
    "_dw_softplus_l": '''\
def _dw_softplus_l(x_hi, x_lo, l_hi, l_lo):
    """softplus(x) = max(x, 0) + L from L = log1p(e^−|x|) (_dw_softplus's steps)."""
    neg = x_hi < 0.0
    return _dw_add(l_hi, l_lo, M.where(neg, 0.0, x_hi), M.where(neg, 0.0, x_lo))
''',
    "_dw_tanh": '''\
def _dw_tanh(x_hi, x_lo):
    """tanh x = m/(m + 2), m = e^(2x) − 1 (relative accuracy near 0); above x = 18 as −m/(m + 2) with
    m = e^(−2x) − 1, whose lo part holds the distance to 1 (e^(2x) − 1 above 2¹⁰⁶, from x ≈ 37, drops the
    2 of m + 2: tanh(40) − 1 was 0)."""
    far = x_hi > 18.0
    m_hi, m_lo = _dw_expm1(M.where(far, -2.0 * x_hi, 2.0 * x_hi), M.where(far, -2.0 * x_lo, 2.0 * x_lo))
    d_hi, d_lo = _dw_add_fp(m_hi, m_lo, 2.0)
    q_hi, q_lo = _dw_div(m_hi, m_lo, d_hi, d_lo)
    # below |x| = 2⁻²⁷: x − x³/3 (the next term, 2x⁵/15, is below 2⁻⁵⁵ of x³/3), the x³/3 in the lo part, where
    # m/(m + 2) holds tanh to 2⁻¹⁰⁶ of x only: y − tanh x at y = x = −1e−30 is −x³/3 = −3.3e−91 (it was 0)
    small = M.abs(x_hi) < SMALL_TANH
    s_hi, s_lo = _dw_fast_two_sum(x_hi, x_lo - x_hi * x_hi * x_hi / 3.0)
    return (M.where(small, s_hi, M.where(far, -q_hi, q_hi)),
            M.where(small, s_lo, M.where(far, -q_lo, q_lo)))
''',
}

# Triple words (hi + lo + tail, about 150 bits) for the terms of a widened sum that cancels past what a double word
# holds: gaussian_nll's f = ½(log v + (x − t)²/v) = 1.43e−17 at v = 0.0242, x − t = 0.3 from terms of 1.86, a 2⁵⁸
# cancellation, where each term's double word is up to 2⁻¹⁰⁶ off (its lo part rounds there: 4 ULP of f each; 5.27
# measured). The products and quotients keep their second roundings (TwoProduct), the sum of the terms its roundings
# (TwoSum), and the log is a triple word (_tw_log: NumPy's the table-driven one's, Triton's the Newton step on a
# triple-word e^y₀ below); rounded once at the end.
PRIMITIVES.update({
    "_tw_mul": '''\
def _tw_mul(a_hi, a_lo, a_tail, b_hi, b_lo, b_tail):
    """a·b of two triple words as a triple word (|a_lo| ≤ ulp(a_hi), |a_tail| ≤ ulp(a_lo) and likewise b): the
    three leading products exact (TwoProduct), the rest (2⁻¹⁰⁶ of a·b) in float64, about 2⁻¹⁵⁵ relative."""
    p, p_e = _dw_two_prod(a_hi, b_hi)
    q, q_e = _dw_two_prod(a_hi, b_lo)
    r, r_e = _dw_two_prod(a_lo, b_hi)
    rest = ((a_lo * b_lo + a_hi * b_tail) + a_tail * b_hi) + (q_e + r_e)
    s, s_e = _dw_two_sum(q, r)
    s, t_e = _dw_two_sum(s, p_e)
    hi, lo = _dw_fast_two_sum(p, s)
    lo, tail = _dw_two_sum(lo, (s_e + t_e) + rest)
    return hi, lo, tail
''',
    "_tw_square": '''\
def _tw_square(a_hi, a_lo, a_tail):
    """a² of a triple word as a triple word: _tw_mul with its two cross products one (2·a_hi·a_lo, exact
    doubled), two TwoProducts where _tw_mul takes three."""
    p, p_e = _dw_two_prod(a_hi, a_hi)
    q, q_e = _dw_two_prod(a_hi, a_lo)
    rest = (a_lo * a_lo + 2.0 * (a_hi * a_tail)) + 2.0 * q_e
    s, s_e = _dw_two_sum(2.0 * q, p_e)
    hi, lo = _dw_fast_two_sum(p, s)
    lo, tail = _dw_two_sum(lo, s_e + rest)
    return hi, lo, tail
''',
    "_tw_div": '''\
def _tw_div(a_hi, a_lo, a_tail, b_hi, b_lo, b_tail):
    """a/b of two triple words as a triple word: q = a_hi/b_hi, the remainder a − q·b as a double word (TwoProducts
    and TwoSums; a_hi − q·b_hi's leading part exact by Sterbenz) divided again, and its remainder once more: about
    2⁻¹⁵⁰ relative (_dw_div's one correction rounds at 2⁻¹⁰⁶ of a/b)."""
    q = a_hi / b_hi
    p, p_e = _dw_two_prod(q, b_hi)
    c, c_e = _dw_two_prod(q, b_lo)
    r, r1 = _dw_two_sum(a_hi - p, a_lo)
    r, r2 = _dw_two_sum(r, -p_e)
    r, r3 = _dw_two_sum(r, -c)
    r, r_lo = _dw_two_sum(r, ((r1 + r2) + r3) + ((a_tail - c_e) - q * b_tail))
    q1 = r / b_hi
    p1, p1_e = _dw_two_prod(q1, b_hi)
    q2 = (((r - p1) - p1_e) + (r_lo - q1 * b_lo)) / b_hi
    hi, lo = _dw_fast_two_sum(q, q1)
    lo, tail = _dw_two_sum(lo, q2)
    return hi, lo, tail
''',
    "_tw_quotient": '''\
def _tw_quotient(a_hi, a_lo, a_tail, b_hi, b_lo, b_tail):
    """a/b of two triple words (_tw_div) where a may be tiny: _tw_div's remainders a − q·b are 2⁻⁵³ and 2⁻¹⁰⁶ of a,
    below 2⁻¹⁰²² where |a| is below 2⁻⁸⁰⁰ (subnormal: their low bits lost), so there a and b are taken times 2⁶⁰⁰
    first, exact, a/b unchanged (where |b| < 2⁴⁰⁰: a larger b makes a/b underflow anyway). The quotient nodes of a
    widened body: 2·(log(μ/y) + y/μ − 1) at μ ≈ y ≈ 4.1e−300 was 8.2e18 ULP off in float64 (session 36)."""
    up = (M.abs(a_hi) < QUOTIENT_TINY) & (M.abs(b_hi) < QUOTIENT_ROOM)
    f = M.where(up, LOG_UP, 1.0)
    return _tw_div(a_hi * f, a_lo * f, a_tail * f, b_hi * f, b_lo * f, b_tail * f)
''',
    "_tw_add": '''\
def _tw_add(a_hi, a_lo, a_tail, b_hi, b_lo, b_tail):
    """a + b of two triple words as a triple word, hi the sum rounded once (to within 2⁻¹⁰⁰ of an ulp): TwoSums of
    the his and the los, their roundings' TwoSums too (the sum of two of them in float64 rounds at 2⁻¹⁰⁶ of a + b:
    2⁻¹⁰⁶ of e^x in _tw_exp_reduced's squarings), the third words last: about 2⁻¹⁵⁰ of the terms, where they
    cancel too."""
    s, e1 = _dw_two_sum(a_hi, b_hi)
    t, e2 = _dw_two_sum(a_lo, b_lo)
    t, e3 = _dw_two_sum(t, e1)
    s, e4 = _dw_two_sum(s, t)
    m, e5 = _dw_two_sum(e4, e3)
    m, tail = _dw_two_sum(m, e5 + ((e2 + a_tail) + b_tail))
    hi, lo = _dw_fast_two_sum(s, m)
    return hi, lo, tail
''',
    # a rounded sum of triple words, their words summed in three-fold precision (the third tier's sum of three or more
    # terms, _Emitter.rounded_triple_sum)
    "_tw_sum_step": '''\
def _tw_sum_step(s, t, r, c):
    """One word c more of a sum in three-fold precision (Ogita–Rump–Oishi's SumK, K = 3, its two error-free passes
    pipelined): s the float64 sum of the words so far, t the sum of s's roundings (exact: TwoSum), r the float64 sum of
    t's roundings; _tw_sum_round(s, t, r) the sum rounded once (to within about 2⁻¹⁵⁰ of the words' magnitudes)."""
    s, e = _dw_two_sum(s, c)
    t, f = _dw_two_sum(t, e)
    return s, t, r + f
''',
    "_tw_sum_round": '''\
def _tw_sum_round(s, t, r):
    """The sum that _tw_sum_step carried, s + t + r, rounded once: t's last TwoSum takes s, then t + r."""
    t, f = _dw_two_sum(t, s)
    return t + (r + f)
''',
    # Triton's log in triple words (NumPy's is the table-driven one's, _NUMPY_LOG): the Newton step of _dw_log_step
    # on a float64 start y₀ with e^y₀ in triple words, so that its only error, e^y₀'s, is 2⁻¹³⁰ or so, not 2⁻¹⁰⁴
    "_tw_exp_reduced": '''\
def _tw_exp_reduced(y):
    """(k, e^r − 1 as a triple word) with y = k·ln 2 + r, |r| ≤ ln 2/2, for a float64 y (clamped to [−746, 710]):
    r a triple word (y − k·LN2_A exact, k·LN2_B by TwoProduct, TwoSums), e^r − 1 by _tw_expm1_reduced."""
    x = M.minimum(M.maximum(y, -746.0), 710.0)
    k = M.floor(x * INV_LN2 + 0.5)
    b_hi, b_lo = _dw_two_prod_bounded(k, LN2_B)
    a, e1 = _dw_two_sum(x - k * LN2_A, -b_hi)
    b, e2 = _dw_two_sum(e1, -b_lo)
    r_hi, u = _dw_two_sum(a, b)
    r_lo, r_tail = _dw_two_sum(u, e2 - k * LN2_C)
    p_hi, p_lo, p_tail = _tw_expm1_reduced(r_hi, r_lo, r_tail)
    return k, p_hi, p_lo, p_tail
''',
    "_tw_expm1_reduced": '''\
def _tw_expm1_reduced(r_hi, r_lo, r_tail):
    """e^r − 1 of a triple word r, |r| ≤ ln 2/2, as a triple word (relative, about 2⁻¹⁴⁰): with s = r/256,
    e^s − 1 = s + s²·(½ + s·q) with q (1/6 + s/24 + …, to s⁹/11!) in double-word from 1/7! on (1/720 in float64 was
    2⁻¹⁰⁰ of ½ + s·q) and the rest in triple words, then 8 times p → 2p + p² in triple words (each doubles the
    error)."""
    s_hi = r_hi * REDUCE
    s_lo = r_lo * REDUCE
    s_tail = r_tail * REDUCE
    q = ((C11 * s_hi + C10) * s_hi + C9) * s_hi + C8
    q_hi, q_lo = _dw_add_fp(C7_HI, C7_LO, s_hi * q)
    q_hi, q_lo = _dw_mul_bounded(s_hi, s_lo, q_hi, q_lo)
    q_hi, q_lo = _dw_add(C6_HI, C6_LO, q_hi, q_lo)
    q_hi, q_lo = _dw_mul_bounded(s_hi, s_lo, q_hi, q_lo)
    q_hi, q_lo = _dw_add(C5_HI, C5_LO, q_hi, q_lo)
    q_hi, q_lo = _dw_mul_bounded(s_hi, s_lo, q_hi, q_lo)
    q_hi, q_lo = _dw_add(C4_HI, C4_LO, q_hi, q_lo)
    q_hi, q_lo = _dw_mul_bounded(s_hi, s_lo, q_hi, q_lo)
    q_hi, q_lo = _dw_add(C3_HI, C3_LO, q_hi, q_lo)
    q_hi, q_lo = _dw_mul_bounded(s_hi, s_lo, q_hi, q_lo)
    h_hi, h_lo = _dw_fast_two_sum(0.5, q_hi)
    h_lo, h_tail = _dw_two_sum(h_lo, q_lo)
    w_hi, w_lo, w_tail = _tw_square(s_hi, s_lo, s_tail)
    w_hi, w_lo, w_tail = _tw_mul(w_hi, w_lo, w_tail, h_hi, h_lo, h_tail)
    p_hi, p_lo, p_tail = _tw_add(s_hi, s_lo, s_tail, w_hi, w_lo, w_tail)
    # a loop, not unrolled: Triton compiles its body once (unrolled, the third tier multiplied the compile time of a
    # float64 kernel by 5 to 15; the same bits)
    for step in range(8):
        w_hi, w_lo, w_tail = _tw_square(p_hi, p_lo, p_tail)
        p_hi, p_lo, p_tail = _tw_add(2.0 * p_hi, 2.0 * p_lo, 2.0 * p_tail, w_hi, w_lo, w_tail)
    return p_hi, p_lo, p_tail
''',
    "_tw_log": '''\
def _tw_log(x_hi, x_lo, x_tail):
    """log x of a triple word x > 0 as a triple word (Triton): y₀ = log x_hi in float64, c = (x − e^y₀)/e^y₀ with
    e^y₀ in triple words (_tw_exp_reduced) and x − e^y₀ by TwoSums (as d − (e^y₀ − 1), d = x − 1 exact, where
    |y₀| < ln 2/2, so that near x = 1 the ones cancel exactly), log x = y₀ + c − c²/2 (c below 2⁻⁵⁰: c³/3 is below
    2⁻¹⁵⁰); x below 2⁻⁹⁰⁰ scaled by 2⁶⁰⁰ first and 600·ln 2 taken off again in double-word (|log x| > 600 there)."""
    small = x_hi < LOG_TINY
    s_hi = M.where(small, x_hi * LOG_UP, x_hi)
    s_lo = M.where(small, x_lo * LOG_UP, x_lo)
    s_tail = M.where(small, x_tail * LOG_UP, x_tail)
    y = M.log(s_hi)
    k, p_hi, p_lo, p_tail = _tw_exp_reduced(y)
    near = k == 0.0
    e_hi, e_lo, e_tail = _tw_add(p_hi, p_lo, p_tail, 1.0, 0.0, 0.0)
    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)
    e_tail, e_zero = _dw_scale(e_tail, 0.0 * e_tail, k)
    a_hi = M.where(near, s_hi - 1.0, s_hi)
    b_hi = M.where(near, p_hi, e_hi)
    b_lo = M.where(near, p_lo, e_lo)
    b_tail = M.where(near, p_tail, e_tail)
    r_hi, r_lo, r_tail = _tw_add(a_hi, s_lo, s_tail, -b_hi, -b_lo, -b_tail)
    # log(1 + c) = c − c²/2 + c³/3 to 2⁻¹⁵⁰ of c (a triple-word quotient, c_hi² by TwoProduct, c³/3 in float64): where
    # x is within a few ulps of 1, c is most of log x, and a double-word c without c³/3 was 2⁻¹⁰⁹·⁶ of it (x = 1 +
    # 2.2e−16 + 1e−16, c = 1e−16)
    c_hi, c_lo, c_tail = _tw_div(r_hi, r_lo, r_tail, e_hi, e_lo, e_tail)
    q, q_e = _dw_two_prod_bounded(c_hi, c_hi)
    h, m = _dw_fast_two_sum(y, c_hi)
    m, m2 = _dw_two_sum(m, c_lo)
    m, m3 = _dw_two_sum(m, -0.5 * q)
    tail = (m2 + m3) + ((c_tail + q * c_hi * THIRD_HI) - (0.5 * q_e + c_hi * c_lo))
    shift = M.where(small, -600.0, 0.0)
    k_hi, k_lo = _dw_two_prod_bounded(shift, LN2_HI)
    h, m = _dw_add(h, m, k_hi, k_lo + shift * LN2_LO)
    return h, m, tail
''',
})

# e^(−x²) of a float64 x in triple words (_tw_erf, NumPy's _tw_erfc, Triton's _tw_erfc_fraction): x² = y + e exactly
# (TwoProduct), e^(−y) = 2^p·(1 + m) by _tw_exp_reduced, e^(−e) = 1 − e + e²/2 (e³/6 below 2⁻¹⁵⁰); 2^p left to the
# caller, which scales last (a subnormal result rounded once)
PRIMITIVES["_tw_exp_negsquare"] = '''\
def _tw_exp_negsquare(x):
    """e^(−x²) of a float64 x as 2^p·(g_hi + g_lo + g_tail), returned as (p, g_hi, g_lo, g_tail), about 2⁻¹⁴⁰
    relative: x² = y + e exactly, e^(−y) by _tw_exp_reduced, e^(−e) = 1 − e + e²/2."""
    y_hi, y_lo = _dw_two_prod(x, x)
    p, g_hi, g_lo, g_tail = _tw_exp_reduced(-y_hi)
    g_hi, g_lo, g_tail = _tw_add(g_hi, g_lo, g_tail, 1.0, 0.0, 0.0)
    f_hi, f_lo, f_tail = _tw_add(1.0, 0.0, 0.0, -y_lo, 0.5 * y_lo * y_lo, 0.0)
    g_hi, g_lo, g_tail = _tw_mul(g_hi, g_lo, g_tail, f_hi, f_lo, f_tail)
    return p, g_hi, g_lo, g_tail
'''


# erf(x) of a float64 x in triple words (issue 16, session 19: gaussian_nll(x, t, erf(v)) at its zero crossing, where
# f = −4.9e−18 from terms of 0.17 (a 2⁵⁵ cancellation), took erf(v)'s float64 rounding, 1.6e16 ULP of f; torch 2.4e16):
# A&S 7.1.6, erf x = (2/√π)·x·e^(−x²)·Σ (2x²)ⁿ/(1·3·…·(2n + 1)), every term positive (no cancellation, unlike the
# Taylor series 7.1.5), to n = 48 (the rest below 2⁻¹¹⁵ of the sum at |x| = 2), Horner in triple words (_tw_mul,
# _tw_add); x² = p + e exactly (TwoProduct) and e^(−x²) = e^(−p)·(1 − e + e²/2) (e³/6 below 2⁻¹⁵⁰), e^(−p) from
# _tw_exp_reduced: about 2⁻¹²⁰ relative. Up to |x| = 6 (session 21: erf(x) − y at y = fl(erf x) was 4.5e15 ULP at
# x = 5.93, where erf x rounds to 1, and at every x past 2 where it rounds to ulp(1)/2 of itself: the series to
# n = 140, the rest below 2⁻¹²⁵ of the sum at |x| = 6, measured with mpmath); beyond, erf x = ±(1 − erfc|x|) with
# erfc|x| < 2.2e−17 < ulp(1)/4 taken in float64 (the registry's erfc, an ulp or so: 2⁻¹⁰⁸ of erf x).
ERF_SERIES_TO = 6.0  # |x| up to which _tw_erf takes the series
_ERF_TERMS = 140


def _triple_float(value) -> tuple:
    """An mpmath number as three float64 (hi, lo, tail), each the rounding of what the ones before leave."""
    import mpmath
    hi = float(value)
    lo = float(value - mpmath.mpf(hi))
    return hi, lo, float(value - mpmath.mpf(hi) - mpmath.mpf(lo))


@functools.cache
def _erf_constants() -> dict:
    """The series' coefficients 2ⁿ/(2n + 1)!! and 2/√π as triple words: ERF_C<n>_HI/LO/TAIL, TWO_OVER_SQRT_PI_*."""
    import mpmath
    out = {}
    with mpmath.workdps(60):
        for n in range(_ERF_TERMS + 1):
            for part, v in zip(("HI", "LO", "TAIL"), _triple_float(mpmath.mpf(2) ** n / mpmath.fac2(2 * n + 1))):
                out[f"ERF_C{n}_{part}"] = v
        for part, v in zip(("HI", "LO", "TAIL"), _triple_float(2 / mpmath.sqrt(mpmath.pi))):
            out[f"TWO_OVER_SQRT_PI_{part}"] = v
    return out


def _erf_text() -> str:
    """The text of _tw_erf (the Horner steps unrolled, the coefficients by name)."""
    n = _ERF_TERMS
    lines = [
        "def _tw_erf(x):",
        '    """erf x of a float64 x as a triple word: for |x| ≤ 6 (2/√π)·x·e^(−x²)·Σ (2x²)ⁿ/(2n + 1)!! (A&S 7.1.6,',
        '    positive terms) to n = 140, in triple words, about 2⁻¹²⁰ relative; beyond, ±(1 − erfc|x|)."""',
        f"    a = M.minimum(M.maximum(x, {-ERF_SERIES_TO!r}), {ERF_SERIES_TO!r})",
        "    y_hi, y_lo = _dw_two_prod(a, a)",
        f"    s_hi, s_lo, s_tail = ERF_C{n}_HI + 0.0 * a, ERF_C{n}_LO + 0.0 * a, ERF_C{n}_TAIL + 0.0 * a",
    ]
    for k in range(n - 1, -1, -1):
        lines.append("    s_hi, s_lo, s_tail = _tw_mul(s_hi, s_lo, s_tail, y_hi, y_lo, 0.0)")
        lines.append(f"    s_hi, s_lo, s_tail = _tw_add(s_hi, s_lo, s_tail, ERF_C{k}_HI, ERF_C{k}_LO, ERF_C{k}_TAIL)")
    lines += [
        "    k, e_hi, e_lo, e_tail = _tw_exp_negsquare(a)",
        "    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)",
        "    e_tail, e_zero = _dw_scale(e_tail, 0.0 * e_tail, k)",
        "    s_hi, s_lo, s_tail = _tw_mul(s_hi, s_lo, s_tail, e_hi, e_lo, e_tail)",
        "    s_hi, s_lo, s_tail = _tw_mul(s_hi, s_lo, s_tail, TWO_OVER_SQRT_PI_HI, TWO_OVER_SQRT_PI_LO, TWO_OVER_SQRT_PI_TAIL)",
        "    s_hi, s_lo, s_tail = _tw_mul(s_hi, s_lo, s_tail, a, 0.0, 0.0)",
        f"    far = M.abs(x) > {ERF_SERIES_TO!r}",
        "    one = M.where(x < 0, -1.0, 1.0)",
        "    return M.where(far, one, s_hi), M.where(far, -one * _erfc(M.abs(x)), s_lo), M.where(far, 0.0, s_tail)",
    ]
    return "\n".join(lines) + "\n"


_CONSTANTS.update(_erf_constants())
PRIMITIVES["_tw_erf"] = _erf_text()


# erf(x) of a float64 x as a double word (NumPy; session 21: erf among the widen rule's rounded functions, where the
# 140-step triple-word series on every redone element cost 26× the plain float64 kernel of erf(x) − y): Taylor about the
# nearest c = k/8 (k = 0 … 48), erf(c + h) = Σ aₙhⁿ with a₀ = erf c, aₙ = (2/√π)·e^(−c²)·(−1)ⁿ⁻¹·Hₙ₋₁(c)/n!
# (Hermite, mpmath at 60 digits when the text is made), |h| ≤ 1/16 and h = |x| − c exact (Sterbenz where c ≥ 1/8);
# a₁₃ … a₂₄ in float64 (each term below 2⁻⁶⁰ of the sum), a₀ … a₁₂ double words (Horner by _dw_mul_fp, _dw_add):
# about 2⁻¹⁰⁴ relative, tests/test_cancel21.py. Beyond |x| = 6: ±(1 − erfc|x|), erfc|x| < 2.2e−17 in float64.
_ERF_TABLE_STEP = 8  # c = k/8
_ERF_TABLE_TO = 6.0
_ERF_DW_TERMS = 13  # a₀ … a₁₂ in double words
_ERF_ALL_TERMS = 25  # a₀ … a₂₄


@functools.lru_cache(maxsize=None)
def _erf_table_text() -> str:
    """The table of _dw_erf: per c = k/8, aₙ's hi (_DW_ERF_HI, n < 25), lo (_DW_ERF_LO, n < 13), from mpmath."""
    import mpmath

    his, los = [], []
    with mpmath.workdps(60):
        for k in range(int(_ERF_TABLE_TO * _ERF_TABLE_STEP) + 1):
            c = mpmath.mpf(k) / _ERF_TABLE_STEP
            scale = 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-c * c)
            hermite = [mpmath.mpf(1), 2 * c]  # H₀, H₁, then Hₙ₊₁ = 2c·Hₙ − 2n·Hₙ₋₁
            for n in range(1, _ERF_ALL_TERMS):
                hermite.append(2 * c * hermite[n] - 2 * n * hermite[n - 1])
            a = [mpmath.erf(c)] + [scale * (-1) ** (n - 1) * hermite[n - 1] / mpmath.factorial(n)
                                   for n in range(1, _ERF_ALL_TERMS)]
            his.append([float(v) for v in a])
            los.append([float(v - mpmath.mpf(float(v))) for v in a[:_ERF_DW_TERMS]])

    def rows(name, table, what):
        lines = [f"{name} = np.array([  # {what}"]
        lines += ["    [" + ", ".join(repr(v) for v in row) + "]," for row in table]
        return "\n".join(lines + ["]).T.copy()"])

    return (rows("_DW_ERF_HI", his, f"aₙ(c), c = k/{_ERF_TABLE_STEP}, n = 0 … {_ERF_ALL_TERMS - 1}: hi") + "\n"
            + rows("_DW_ERF_LO", los, f"aₙ(c), n = 0 … {_ERF_DW_TERMS - 1}: lo") + "\n")


def _numpy_erf_text() -> str:
    lines = [
        "def _dw_erf(x):",
        '    """erf x of a float64 x as a double word, about 2⁻¹⁰⁴ relative: Taylor about c = k/8 from a table (see',
        '    _DW_ERF_HI), ±(1 − erfc|x|) beyond |x| = 6. NaN stays NaN."""',
        "    a = np.abs(x)",
        f"    k = np.rint(np.minimum(np.where(np.isnan(a), 0.0, a), {_ERF_TABLE_TO!r}) * {float(_ERF_TABLE_STEP)!r})",
        f"    h = np.minimum(a, {_ERF_TABLE_TO + 1 / (2 * _ERF_TABLE_STEP)!r}) - k * {1 / _ERF_TABLE_STEP!r}  # exact",
        "    j = k.astype(np.int64)",
        f"    s = _DW_ERF_HI[{_ERF_ALL_TERMS - 1}][j]",
    ]
    for n in range(_ERF_ALL_TERMS - 2, _ERF_DW_TERMS - 1, -1):
        lines.append(f"    s = _DW_ERF_HI[{n}][j] + h * s")
    lines.append("    s_hi, s_lo = s, 0.0 * s")
    for n in range(_ERF_DW_TERMS - 1, -1, -1):
        lines.append("    s_hi, s_lo = _dw_mul_fp(s_hi, s_lo, h)")
        lines.append(f"    s_hi, s_lo = _dw_add(_DW_ERF_HI[{n}][j], _DW_ERF_LO[{n}][j], s_hi, s_lo)")
    lines += [
        f"    far = a > {_ERF_TABLE_TO!r}",
        "    s_hi, s_lo = np.where(far, 1.0, s_hi), np.where(far, -_erfc(np.where(far, a, 0.0)), s_lo)",
        "    sign = np.where(x < 0, -1.0, 1.0)",
        "    return np.where(np.isnan(x), x, sign * s_hi), sign * s_lo",
    ]
    return _erf_table_text() + "\n\n" + "\n".join(lines) + "\n"

# erfc(x) of a double word as a double word (NumPy; session 22: erfc(x) − y at y = fl(erfc x) was 8.2e15 ULP in float64,
# erfc a rounded function of the widen rule without a double word). Below x = 1/2, 1 − erf x by _dw_erf (erf x < 0.53:
# the difference loses a bit at most); from 1/2, e^(−x²)·erfcx x (Cody's scaled route, without the cancellation
# 1 − erf has there): x² exact (TwoProduct), e^(−x²) by _dw_exp (2⁻¹⁰⁴), erfcx x by Taylor about the nearest c of its
# octave's 17 points (x = f·2ᵉ, ½ ≤ f < 1 (frexp): c = k·2ᵉ⁻⁵, k = 16 … 32, e = 0 … 5 up to c = 28: 98 rows;
# session 23: k/8 over [½, 28] was 221 rows, 270 KB of module text and 0.14 CPU s of mpmath at import), |h| ≤ 2ᵉ⁻⁶ exact
# (Sterbenz), so |h|/c ≤ 1/32: erfcx(c + h) = Σ bₙhⁿ with (n + 1)·bₙ₊₁ = 2c·bₙ + 2bₙ₋₁, b₁ = 2c·b₀ − 2/√π (from
# erfcx′ = 2x·erfcx − 2/√π), in mpmath at 110 digits (the recurrence loses some 55 of them at c = 28);
# b₁₃ … b₂₄ in float64, b₀ … b₁₂ double words (triple words for _tw_erfc): measured over the 98 rows, |b₁₃h¹³| ≤ 2⁻⁶⁵·³
# of b₀ (its float64 rounding 2⁻¹¹⁸) and |b₂₅h²⁵| ≤ 2⁻¹²⁵·⁹ (the truncation); e^(−x²) = 2^p·(1 + g) scaled last, a
# subnormal result rounded once. Past x = 28 erfc x is 0 in float64.
_ERFC_TABLE_OCTAVES = 6  # e = 0 … 5: x from ½ to 32 (the table stops at c = 28)
_ERFC_TABLE_TOP = 28.0
_ERFC_ROW_HI = _ERF_ALL_TERMS  # a row: bₙ's hi (n < 25), lo (n < 13), third word (n < 13)
_ERFC_ROW = _ERF_ALL_TERMS + 2 * _ERF_DW_TERMS


def _erfc_table_centres() -> list:
    """The table's centres c = k·2ᵉ⁻⁵ (k = 16 … 32 per octave e, up to 28), row by row as _erfc_table_head indexes."""
    return [(k, e) for e in range(_ERFC_TABLE_OCTAVES) for k in range(16, 33) if k * 2.0 ** (e - 5) <= _ERFC_TABLE_TOP]


@functools.lru_cache(maxsize=None)
def _erfc_table_text() -> str:
    """The table of _dw_erfc and _tw_erfc: per centre c (see _erfc_table_centres), erfcx's Taylor coefficients bₙ's
    hi (n < 25), lo and third word (n < 13), from mpmath; written as one string of float reprs (exact: float() of a
    repr is the float), a row a line, read once when the module is loaded into _DW_ERFCX_HI/LO/TAIL[n][row]."""
    import mpmath

    rows = []
    with mpmath.workdps(110):  # the recurrence loses some 55 digits at c = 28: 55 kept
        two_over_sqrt_pi = 2 / mpmath.sqrt(mpmath.pi)
        for k, e in _erfc_table_centres():
            c = mpmath.ldexp(k, e - 5)
            b = [mpmath.erfc(c) * mpmath.exp(c * c)]
            b.append(2 * c * b[0] - two_over_sqrt_pi)
            for n in range(1, _ERF_ALL_TERMS - 1):
                b.append((2 * c * b[n] + 2 * b[n - 1]) / (n + 1))
            words = [_triple_float(v) for v in b[:_ERF_DW_TERMS]]
            row = [w[0] for w in words] + [float(v) for v in b[_ERF_DW_TERMS:]]
            rows.append(" ".join(repr(v) for v in row + [w[1] for w in words] + [w[2] for w in words]))
    n_rows = len(rows)
    return "\n".join([
        f"# erfcx(c + h) = Σ bₙhⁿ about c = k·2ᵉ⁻⁵ (k = 16 … 32 per octave e = 0 … 5, up to c = 28: {n_rows} rows), a row",
        f"# a line: bₙ (n = 0 … {_ERF_ALL_TERMS - 1}) hi, then bₙ (n < {_ERF_DW_TERMS}) lo, then their third words",
        '_DW_ERFCX = np.array([float(v) for v in """',
        *rows,
        f'""".split()]).reshape({n_rows}, {_ERFC_ROW}).T.copy()',
        f"_DW_ERFCX_HI = _DW_ERFCX[:{_ERFC_ROW_HI}]",
        f"_DW_ERFCX_LO = _DW_ERFCX[{_ERFC_ROW_HI}:{_ERFC_ROW_HI + _ERF_DW_TERMS}]",
        f"_DW_ERFCX_TAIL = _DW_ERFCX[{_ERFC_ROW_HI + _ERF_DW_TERMS}:]",
    ]) + "\n"


def _numpy_erfc_text() -> str:
    top = _ERFC_TABLE_TOP
    lines = [
        "def _dw_erfc(x_hi, x_lo):",
        '    """erfc(x_hi + x_lo) as a double word, about 2⁻¹⁰⁰ relative where it is normal: 1 − erf x below 1/2',
        '    (_dw_erf), e^(−x²)·erfcx x from a table beyond (see _DW_ERFCX_HI), x_lo to second order (−(2/√π)·e^(−x²)·',
        '    (x_lo − x·x_lo²));',
        f'    0 past {top!r}. NaN stays NaN."""',
        "    near = x_hi < 0.5",
        "    e_hi, e_lo = _dw_erf(np.where(near, x_hi, 0.0))",
        "    n_hi, n_lo = _dw_add_fp(-e_hi, -e_lo, 1.0)",
    ] + _erfc_table_head(top)
    lines.append("    s_hi, s_lo = s, 0.0 * s")
    for n in range(_ERF_DW_TERMS - 1, -1, -1):
        lines.append("    s_hi, s_lo = _dw_mul_fp(s_hi, s_lo, h)")
        lines.append(f"    s_hi, s_lo = _dw_add(_DW_ERFCX_HI[{n}][j], _DW_ERFCX_LO[{n}][j], s_hi, s_lo)")
    lines += [
        "    q_hi, q_lo = _dw_two_prod(a, a)",
        "    p, g_hi, g_lo = _dw_exp_reduced(-q_hi, -q_lo)  # e^(−x²) = 2^p·(1 + g)",
        "    g_hi, g_lo = _dw_add_fp(g_hi, g_lo, 1.0)",
        "    f_hi, f_lo = _dw_mul(s_hi, s_lo, g_hi, g_lo)",
        "    r_hi, r_lo = _dw_scale(f_hi, f_lo, p)",
        "    # a subnormal erfc (x > 26.55): r_hi is f_hi rounded alone; what it left, with f_lo, added back (one rounding)",
        "    p = p.astype(np.int32)",
        "    tiny = np.abs(r_hi) < 2.2250738585072014e-308",
        "    back = np.ldexp((f_hi - np.ldexp(r_hi, -p)) + f_lo, p)",
        "    f_hi, f_lo = np.where(tiny, r_hi + back, r_hi), np.where(tiny, 0.0, r_lo)",
        f"    f_hi, f_lo = np.where(x_hi > {top!r}, 0.0, f_hi), np.where(x_hi > {top!r}, 0.0, f_lo)",
        "    f_hi, f_lo = np.where(near, n_hi, f_hi), np.where(near, n_lo, f_lo)",
        "    # erfc′ = −(2/√π)·e^(−x²): below 1/2 from the float64 x², beyond from e^(−x²)'s double word (a float64 x² is",
        "    # 2⁻⁴⁴ off at x = 24, as e^(−x²) then)",
        "    slope = -1.1283791670955126 * np.where(near, np.exp(-(x_hi * x_hi)), np.ldexp(g_hi, p))",
        "    f_hi, f_lo = _dw_add_fp(f_hi, f_lo, np.where(x_lo == 0.0, 0.0, slope * (x_lo - x_hi * x_lo * x_lo)))",
        "    return np.where(np.isnan(x_hi), x_hi, f_hi), f_lo",
    ]
    return "\n".join(lines) + "\n"


def _erfc_table_head(top: float) -> list:
    """The lines _dw_erfc and _tw_erfc share: x clamped to [1/2, top], its table row j about c = k·2ᵉ⁻⁵ (x = f·2ᵉ,
    k = rint(32f)) and the offset h = x − c (exact), and the Horner sum of the table's higher terms in float64 (s)."""
    lines = [
        f"    a = np.minimum(np.maximum(np.where(np.isnan(x_hi), 0.5, x_hi), 0.5), {top!r})",
        "    f, e = np.frexp(a)  # a = f·2ᵉ, 1/2 ≤ f < 1, e = 0 … 5",
        "    k = np.rint(f * 32.0)",
        "    h = np.ldexp(f * 32.0 - k, e - 5)  # exact: 32f − k within 1/2 of 32f ≥ 16",
        "    j = 17 * e + k.astype(np.int64) - 16",
        f"    s = _DW_ERFCX_HI[{_ERF_ALL_TERMS - 1}][j]",
    ]
    for n in range(_ERF_ALL_TERMS - 2, _ERF_DW_TERMS - 1, -1):
        lines.append(f"    s = _DW_ERFCX_HI[{n}][j] + h * s")
    return lines


def _numpy_tw_erfc_text() -> str:
    """_tw_erfc: _dw_erfc's route in triple words (the third tier's, where erfc(x) − y cancels past 2⁴³)."""
    top = _ERFC_TABLE_TOP
    lines = [
        "def _tw_erfc(x_hi, x_lo, x_tail):",
        '    """erfc(x_hi + x_lo + x_tail) as a triple word, about 2⁻¹¹⁵ relative where it is normal: 1 − erf x below 1/2 (_tw_erf),',
        "    e^(−x²)·erfcx x beyond (the table of _dw_erfc, its first 13 coefficients in triple words, e^(−x²) by",
        "    _tw_exp_reduced with x² = y + e exact and e^(−e) = 1 − e + e²/2); x_lo to second order, x_tail to first:",
        '    −(2/√π)·e^(−x²)·(x_lo + x_tail − x·x_lo²) (x_tail apart: at x = 14 x_lo + x_tail rounded is 2⁻⁹⁷ of erfc x).',
        '    NaN stays NaN."""',
        "    near = x_hi < 0.5",
        "    e_hi, e_lo, e_tail = _tw_erf(np.where(near, x_hi, 0.0))",
        "    n_hi, n_lo, n_tail = _tw_add(1.0, 0.0, 0.0, -e_hi, -e_lo, -e_tail)",
        "    n_hi, n_lo, n_tail = _tw_add(n_hi, n_lo, n_tail, -1.1283791670955126 * np.exp(-(x_hi * x_hi)) * (x_lo + x_tail), 0.0, 0.0)",
    ] + _erfc_table_head(top)
    lines.append("    s_hi, s_lo, s_tail = s, 0.0 * s, 0.0 * s")
    for n in range(_ERF_DW_TERMS - 1, -1, -1):
        lines.append("    s_hi, s_lo, s_tail = _tw_mul(s_hi, s_lo, s_tail, h, 0.0, 0.0)")
        lines.append(f"    s_hi, s_lo, s_tail = _tw_add(s_hi, s_lo, s_tail, _DW_ERFCX_HI[{n}][j], _DW_ERFCX_LO[{n}][j], "
                     f"_DW_ERFCX_TAIL[{n}][j])")
    lines += [
        "    p, g_hi, g_lo, g_tail = _tw_exp_negsquare(a)  # e^(−x²)·2⁻ᵖ",
        "    s_hi, s_lo, s_tail = _tw_mul(s_hi, s_lo, s_tail, g_hi, g_lo, g_tail)",
        f"    c_hi, c_lo = _dw_mul(g_hi, g_lo, {_CONSTANTS['TWO_OVER_SQRT_PI_HI']!r}, {_CONSTANTS['TWO_OVER_SQRT_PI_LO']!r})"
        "  # 2/√π",
        "    d = np.where(near, 0.0, x_lo)",
        "    rest = c_hi * (np.where(near, 0.0, x_tail) - a * d * d)  # x_tail, and x·d²: below 2⁻⁴⁹ of c·d",
        "    c_hi, c_lo = _dw_mul_fp(c_hi, c_lo, d)",
        "    c_hi, c_lo = _dw_add_fp(c_hi, c_lo, rest)",
        "    s_hi, s_lo, s_tail = _tw_add(s_hi, s_lo, s_tail, -c_hi, -c_lo, 0.0)",
        "    s_hi, s_lo = _dw_scale(s_hi, s_lo, p)",
        "    s_tail, zero = _dw_scale(s_tail, 0.0 * s_tail, p)",
        f"    far = x_hi > {top!r}",
        "    s_hi, s_lo, s_tail = np.where(far, 0.0, s_hi), np.where(far, 0.0, s_lo), np.where(far, 0.0, s_tail)",
        "    s_hi, s_lo, s_tail = np.where(near, n_hi, s_hi), np.where(near, n_lo, s_lo), np.where(near, n_tail, s_tail)",
        "    return np.where(np.isnan(x_hi), x_hi, s_hi), s_lo, s_tail",
    ]
    return "\n".join(lines) + "\n"


# e^v and σ(v) of a double-word v as the last step of a widened body (the rounded-argument rule's e^v and σ(v),
# whose v the code rounds): first order in v's lo part, from the float64 function of v's hi part. v_lo is at most
# half an ulp of v_hi, so e^(v_hi + v_lo) = e^v_hi·(1 + v_lo) and σ(v_hi + v_lo) = σ(v_hi)·(1 + σ(−v_hi)·v_lo)
# to within v_lo²/2 (below 2⁻¹⁰⁰ relative for |v| < 2¹⁰): the result is the float64 function's own error and a
# rounding (about 1.5 ULP), where _dw_exp and _dw_sigmoid (some 400 array operations) are correctly rounded
PRIMITIVES.update({
    "_dw_exp_first": '''\
def _dw_exp_first(x_hi, x_lo):
    """e^(x_hi + x_lo) = e^x_hi·(1 + x_lo) to first order in x_lo, as a double-word (its lo part 0)."""
    e = M.exp(x_hi)
    return e + e * x_lo, 0.0 * x_lo
''',
    "_dw_expm1_first": '''\
def _dw_expm1_first(x_hi, x_lo):
    """expm1(x_hi + x_lo) = (e^x_hi − 1) + e^x_hi·x_lo to first order in x_lo, as a double-word (its lo part 0): for
    x_hi > 2 only (the rounded-argument rule's), where e^x_hi − 1 rounds once and does not cancel."""
    e = M.exp(x_hi)
    return (e - 1.0) + e * x_lo, 0.0 * x_lo
''',
    "_dw_sigmoid_first": '''\
def _dw_sigmoid_first(x_hi, x_lo):
    """σ(x_hi + x_lo) = σ(x_hi)·(1 + σ(−x_hi)·x_lo) to first order in x_lo, from E = e^−|x_hi| ≤ 1 (never
    overflows), as a double-word (its lo part 0)."""
    e = M.exp(-M.abs(x_hi))
    r = 1.0 / (1.0 + e)
    nonneg = x_hi >= 0.0
    s = M.where(nonneg, r, e * r)
    c = M.where(nonneg, e * r, r)
    return s + s * (c * x_lo), 0.0 * x_lo
''',
})
# softplus(v) likewise (the rounded-softplus-argument rule, v < −2): softplus(v_hi + v_lo) = softplus(v_hi) + σ(v_hi)·v_lo
# to within v_lo²/8; there softplus(v) ≈ e^v and v's rounding is |v|·ε of it, as for e^v
PRIMITIVES["_dw_softplus_first"] = '''\
def _dw_softplus_first(x_hi, x_lo):
    """softplus(x_hi + x_lo) = softplus(x_hi) + σ(x_hi)·x_lo to first order in x_lo, from E = e^−|x_hi| ≤ 1
    (never overflows): max(x_hi, 0) + log1p(E), σ(x_hi) = 1/(1 + E) or E/(1 + E); as a double-word (its lo
    part 0)."""
    e = M.exp(-M.abs(x_hi))
    s = M.where(x_hi >= 0.0, 1.0, e) / (1.0 + e)
    return (M.where(x_hi > 0.0, x_hi, 0.0) + LOG1P(e)) + s * x_lo, 0.0 * x_lo
'''
# e^(−c·v²) of a double-word v (the rounded-argument rule's nexpsq(v), erf′ and Φ′ of a rounded v such as
# erf(softplus x)′ = 2/√π·e^(−softplus(x)²)·σ(x)): v_hi² = p + e exactly (a two-product), so −c·v² is the
# double-word −c·p − c·(e + 2·v_hi·v_lo) (to within c·v_lo²) and e^(−c·v²) its _dw_exp_first, e^(−c·p)·(1 − c·(e +
# 2·v_hi·v_lo)), to within (c·(e + 2·v_hi·v_lo))² (below 2⁻⁹⁰ for |v| < 40, where e^(−v²) is not 0): the float64
# exponential's own error and a rounding, where the float64 nexpsq of the rounded v is 2·c·v²·ε_v off (400 ULP at v = 20)
PRIMITIVES.update({
    "_dw_nexpsq_first": '''\
def _dw_nexpsq_first(x_hi, x_lo):
    """e^(−(x_hi + x_lo)²) to first order: e^ of the double-word −p − (e + 2·x_hi·x_lo), p + e = x_hi²
    (two-product), as a double-word (its lo part 0)."""
    p, e = _dw_two_prod(x_hi, x_hi)
    return _dw_exp_first(-p, -(e + 2.0 * x_hi * x_lo))
''',
    "_dw_nexpsq2_first": '''\
def _dw_nexpsq2_first(x_hi, x_lo):
    """e^(−(x_hi + x_lo)²/2) to first order: e^ of the double-word −p/2 − (e/2 + x_hi·x_lo), p + e = x_hi²
    (two-product), as a double-word (its lo part 0)."""
    p, e = _dw_two_prod(x_hi, x_hi)
    return _dw_exp_first(-0.5 * p, -(0.5 * e + x_hi * x_lo))
''',
})
# log(v), log1p(v) likewise (the rounded-log-argument rule's rounded sum of inputs, log(x + y)): v_lo is at most half
# an ulp of v_hi, so log(v_hi + v_lo) = log(v_hi) + v_lo/v_hi and log1p(v_hi + v_lo) = log1p(v_hi) + v_lo/(1 + v_hi)
# to within (v_lo/v_hi)²/2 (below 2⁻¹⁰⁶): the float64 function's own error and a rounding, some 5 array operations
# where _dw_log and _dw_log1p take some 100; 1 + v_hi is exact where v_hi is near −1 (Sterbenz), and where it is
# 0 (v_hi = −1) log1p is log(v_lo) (log1p(−1) = −inf would be taken)
PRIMITIVES.update({
    "_dw_log_first": '''\
def _dw_log_first(x_hi, x_lo):
    """log(x_hi + x_lo) = log(x_hi) + x_lo/x_hi to first order in x_lo, as a double-word (its lo part 0)."""
    return M.log(x_hi) + x_lo / x_hi, 0.0 * x_lo
''',
    "_dw_log1p_first": '''\
def _dw_log1p_first(x_hi, x_lo):
    """log1p(x_hi + x_lo) = log1p(x_hi) + x_lo/(1 + x_hi) to first order in x_lo, log(x_lo) where x_hi = −1, as a
    double-word (its lo part 0)."""
    d = 1.0 + x_hi
    root = d == 0.0
    return M.where(root, M.log(x_lo), LOG1P(x_hi) + x_lo / M.where(root, 1.0, d)), 0.0 * x_lo
''',
})
# b^γ of a double-word b (the rounded-power rule's power of a rounded sum or product of inputs, (1 − u)^γ,
# (u·t + (1 − u)·(1 − t))^γ): the float64 b rounded is γ half-ulps off in b^γ (480 ULP at γ = 1000, u = 0.3); b_lo is
# at most half an ulp of b_hi, so b^γ = b_hi^γ·(1 + b_lo/b_hi)^γ = b_hi^γ·e^(γ·b_lo/b_hi) to within γ·(b_lo/b_hi)²/2
# relative (below 2⁻¹⁰⁵·γ), and a double-word exponent γ_hi + γ_lo (γ − 1) adds e^(γ_lo·log b_hi): libm's pow of
# the exact b_hi (0.56 ULP worst measured, NumPy 2.4 here, glibc's documented below 1), a product and a rounding,
# some 8 array operations where the double-word e^(γ·log b) takes some 300. NumPy only: Triton has no pow of its own
# (its b^γ is e^(γ·log b), whose float64 argument rounds |γ·log b| half-ulps), so a Triton kernel takes the
# double-word e^(γ·log b)
NUMPY_POW_FIRST = '''\
def _dw_pow_first(x_hi, x_lo, y_hi, y_lo=None):
    """(x_hi + x_lo)^(y_hi + y_lo) = x_hi^y_hi·e^(y_hi·x_lo/x_hi + y_lo·log|x_hi|) to first order in x_lo/x_hi and
    y_lo, as a double-word (its lo part 0); NaN where x_hi = 0 (the caller's float64 value is taken there)."""
    p = np.power(x_hi, y_hi)
    c = y_hi * (x_lo / x_hi)
    if y_lo is not None:
        c = c + y_lo * np.log(np.abs(x_hi))
    return p + p * np.expm1(c), 0.0 * x_lo
'''
# erfc(v) likewise (the rounded-argument rule's erfc of a rounded v, erfc(p − t)): erfc(v_hi + v_lo) =
# erfc(v_hi) − 2/√π·e^(−v_hi²)·v_lo to within v_lo²·|v|·e^(−v²) (relative: 2v²·v_lo², below 2⁻⁹⁰ for v < 27, where
# erfc is 0 beyond); e^(−v_hi²) of the rounded v_hi² is 2v²·ε off, of a term itself 2v·v_lo of erfc: the registry's
# erfc (fdlibm's, math.erfc) and a rounding, where erfc of the rounded v is 2v²·ε off (422 ULP at v = 26.4)
PRIMITIVES["_dw_erfc_first"] = '''\
def _dw_erfc_first(x_hi, x_lo):
    """erfc(x_hi + x_lo) = erfc(x_hi) − 2/√π·e^(−x_hi²)·x_lo to first order in x_lo, as a double-word (the sum's
    rounding its lo part: a power of it, erfc(x/y)⁻², doubles only erfc's own)."""
    return _dw_two_sum(_erfc(x_hi), -(1.1283791670955126 * M.exp(-(x_hi * x_hi)) * x_lo))
'''
# Φ(v) likewise (the rounded-argument rule's ndtr of a rounded v, Φ(x·y) and log Φ(x·y) = log1p(−Φ(−x·y)) for x·y ≫ 0):
# Φ(v_hi + v_lo) = Φ(v_hi) + φ(v_hi)·v_lo, φ(v) = e^(−v²/2)/√(2π), to within v_lo²·|v|·φ(v)/2 (relative, where
# Φ(v) ≈ φ(v)/|v| for v ≪ 0: v²·v_lo²/2, below 2⁻⁹⁰ for |v| < 40, where Φ is 0 beyond); e^(−v_hi²/2) of the rounded
# v_hi² is v²/2·ε off, of a term itself |v|·v_lo of Φ: the registry's Φ (_ndtr: erfc with its own v/√2 corrected) and a
# rounding, where Φ of the rounded v is |v|·φ(v)/Φ(v)·ε ≈ v²·ε off (641 ULP in float64 at v = −35.1)
PRIMITIVES["_dw_ndtr_first"] = '''\
def _dw_ndtr_first(x_hi, x_lo):
    """Φ(x_hi + x_lo) = Φ(x_hi) + φ(x_hi)·x_lo to first order in x_lo, φ(x) = e^(−x²/2)/√(2π), as a double-word
    (the sum's rounding its lo part)."""
    return _dw_two_sum(_ndtr(x_hi), INV_SQRT_2PI * M.exp(-0.5 * (x_hi * x_hi)) * x_lo)
'''
_CONSTANTS["INV_SQRT_2PI"] = 0.3989422804014327  # 1/√(2π) (mpmath)
FIRST_ORDER = {"erfc": "_dw_erfc_first", "ndtr": "_dw_ndtr_first", "exp": "_dw_exp_first", "expm1": "_dw_expm1_first",
               "sigmoid": "_dw_sigmoid_first",
               "softplus": "_dw_softplus_first",
               "nexpsq": "_dw_nexpsq_first", "nexpsq2": "_dw_nexpsq2_first", "log": "_dw_log_first",
               "log1p": "_dw_log1p_first"}

# the 2^k scaling of e^x: NumPy's ldexp; in Triton 2^j built from its exponent bits, in two
# factors (k from −1077 to 1025: each factor normal)
_SCALE = {
    "numpy": '''\
def _dw_scale(hi, lo, k):
    """(hi + lo)·2^k, k an integer-valued float."""
    k = k.astype(np.int32)
    return np.ldexp(hi, k), np.ldexp(lo, k)
''',
    "triton": '''\
@triton.jit
def _dw_scale(hi, lo, k):
    """(hi + lo)·2^k, k an integer-valued float from −1077 to 1025: two factors 2^j, each built
    from its exponent bits (each normal), so the scaling is exact unless the result is subnormal."""
    half = tl.floor(k * 0.5)
    first = ((half.to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    second = (((k - half).to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    return hi * first * second, lo * first * second
''',
}



def _with_fast_path(name: str, docstring: str, fast_path: str) -> str:
    """Primitive ``name``'s text with ``docstring`` for its own and ``fast_path`` (lines that return where no
    element needs the overflow guard) before the guard, its line ``big = …`` and what follows: the guarded path
    written once, for both backends."""
    text = PRIMITIVES[name]
    start = text.index('    """')
    end = text.index('"""\n', start + len('    """')) + len('"""\n')
    before_guard, guard = text[end:].split("    big = ", 1)
    return text[:start] + docstring + before_guard + fast_path + "    big = " + guard


# NumPy's splitting checks the whole array once and takes the guard's three selects only where some
# 2²⁷·a overflows (|a| past about 2⁹⁹⁶, or an inf or NaN): the same bits, a third of the operations
# (a Triton program cannot branch on its data: the shared text)
_NUMPY_SPLIT = _with_fast_path("_dw_split", '''\
    """a = hi + lo, each of 26 bits at most (Veltkamp); where 2²⁷·a overflows (|a| above about 2⁹⁹⁶)
    scaled by 2⁻²⁸ first and back (exact), the whole array's selects taken only then."""
''', '''\
    c = SPLITTER * a
    if np.isfinite(c).all():
        hi = c - (c - a)
        return hi, a - hi
''')

# and its TwoProduct checks the whole array once too: the guard's four selects only where some |a·b| is past 2⁹⁹⁶
# (or not finite); the same bits (pseudo-Huber's ∂δ in float64, five TwoProducts an element: see benchmarks/elem15.py)
_NUMPY_TWO_PROD = _with_fast_path("_dw_two_prod", '''\
    """p + e = a·b exactly, p = fl(a·b) (Dekker's TwoProduct, no FMA); exact unless a partial
    product underflows. Where |p| > 2⁹⁹⁶, a and p scaled by 2⁻²⁸ first (exact) and e back: a_hi·b_hi
    may round above the largest float64 where p is just below it (the selects taken only then)."""
''', '''\
    if (np.abs(p) <= SPLIT_BIG).all():
        a_hi, a_lo = _dw_split(a)
        b_hi, b_lo = _dw_split(b)
        return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
''')

# NumPy's log and log1p, table-driven (Tang, "Table-driven implementation of the logarithm function in IEEE
# floating-point arithmetic", ACM TOMS 16, 1990, in two stages; CRlibm's log likewise): x = 2^k·m, m in [0.75, 1.5)
# from the exponent bits, F = j/128 nearest m (|m − F| ≤ 2⁻⁸), r₁ = (m − F)/F, then G = 1 + i/2¹⁴ nearest 1 + r₁,
# r₂ = (1 + r₁)/G − 1 (|r₂| ≤ 2⁻¹⁵), and log x = k·ln 2 + log F + log G + log1p(r₂) with log F, log G from tables
# (double-words, mpmath at 60 digits when the text is made) and log1p(r₂) a polynomial to r₂⁷, its first three terms
# in double-word. Each reduction is exact or relative to what it reduces: m − F and r₁ − (G − 1) by Sterbenz, the
# quotients by a divisor of at most 15 bits, whose remainder Veltkamp's halves give exactly; x's lo part joins
# m − F in a Fast2Sum (exact) before any product, so that its rounding is relative to log x near x = 1 as well.
# Some 150 array operations where the Newton step on a double-word e^y took 420: the primitive of poisson_nll's
# f (x − t·log(x + 10⁻⁸)), whose double-word log was most of its cost (benchmarks/elem15.py). Triton keeps the
# Newton step (_dw_log_step): a table there is a load per lane from an argument the kernel does not have.
_LOG_TABLE_F = (96, 192)  # j: F = j/128 over m's range [0.75, 1.5)
_LOG_TABLE_G = (-88, 88)  # i: G = 1 + i/2¹⁴ over 1 + r₁, |r₁| ≤ 2⁻⁸/0.75 (|i| ≤ 86)


@functools.lru_cache(maxsize=None)
def _log_table_text() -> str:
    """The two tables of the NumPy log as text: log(j/128) and log1p(i/2¹⁴), each in three words (hi, lo, lo2) from
    mpmath (the double-word log takes the first two)."""
    import mpmath

    def rows(name, values, what, parts):
        lines = [f"{name} = np.array([  # {what}: " + ("(hi, lo)" if parts == 2 else "(hi, lo, lo2)")]
        pairs = []
        with mpmath.workdps(60):
            for v in values:
                words = []
                for _ in range(parts):
                    words.append(float(v - sum(words, mpmath.mpf(0))))
                pairs.append("(" + ", ".join(repr(w) for w in words) + ")")
        lines += ["    " + ", ".join(pairs[k:k + 2]) + "," for k in range(0, len(pairs), 2)]
        return "\n".join(lines + ["]).T.copy()"])

    with mpmath.workdps(60):
        f = [mpmath.log(mpmath.mpf(j) / 128) for j in range(_LOG_TABLE_F[0], _LOG_TABLE_F[1] + 1)]
        g = [mpmath.log1p(mpmath.mpf(i) / 2 ** 14) for i in range(_LOG_TABLE_G[0], _LOG_TABLE_G[1] + 1)]
    # log F in three words (|log F| up to 0.41: its double-word is 2⁻¹⁰⁹ off, a quarter ULP of gaussian_nll's f at its
    # 2⁵⁸ cancellation); log G below 2⁻⁷ in three words too (its double-word is 2⁻¹⁰⁶ of itself off, all of log x
    # where F = 1 and log x ≈ log G: poisson_nll's log(x + 10⁻⁸) at x = 0.99994)
    return (rows("_DW_LOG_F", f, f"log(j/128), j = {_LOG_TABLE_F[0]} … {_LOG_TABLE_F[1]}", 3) + "\n"
            + rows("_DW_LOG_G", g, f"log1p(i/2¹⁴), i = {_LOG_TABLE_G[0]} … {_LOG_TABLE_G[1]}", 3) + "\n")


def _numpy_log_constants() -> dict:
    import mpmath
    with mpmath.workdps(60):
        ln2, third = mpmath.log(2), mpmath.mpf(1) / 3
        ln2_hi, third_hi = float(ln2), float(third)
        c = 134217729.0 * ln2_hi
        ln2_a = c - (c - ln2_hi)  # ln 2's float64 in Veltkamp's halves: k·LN2_SPLIT_HI, k·LN2_SPLIT_LO exact for |k| < 2¹¹
        ln2_lo = float(ln2 - ln2_hi)
        # LN2_LO in a part of 42 bits and the rest (11 bits): k·LN2_LO_A and k·LN2_LO_B exact for |k| < 2¹¹;
        # ln 2's third word LN2_LO2 (2⁻¹¹⁰): k·ln 2 to 2⁻¹⁶⁰ where LN2_HI + LN2_LO is 2⁻¹⁰⁹ off
        e = math.frexp(ln2_lo)[1]
        ln2_lo_a = math.ldexp(round(math.ldexp(ln2_lo, 42 - e)), e - 42)
        return {"LN2_SPLIT_HI": ln2_a, "LN2_SPLIT_LO": ln2_hi - ln2_a, "THIRD_HI": third_hi,
                "THIRD_LO": float(third - third_hi), "LN2_LO_A": ln2_lo_a, "LN2_LO_B": ln2_lo - ln2_lo_a,
                "LN2_LO2": float(ln2 - ln2_hi - ln2_lo)}


_NUMPY_LOG = '''\
def _dw_log_reduced(x_hi, lo1, lo2, triple=False):
    """log x of x = x_hi + lo1 + lo2 as a double-word, for x_hi in [2⁻¹⁰⁰⁰, 2¹⁰⁰⁰], |lo1| ≤ ulp(x_hi)/2 and |lo2| at
    most 2⁻⁵³ of x − 1 near x = 1 (table-driven: see _DW_LOG_F); relative error about 2⁻¹⁰⁴. With ``triple``, a
    triple word (y, mid, tail): the reductions' roundings at 2⁻¹⁰⁶ of log1p(r₂) (|r₂| ≤ 2⁻¹⁵) left, 2⁻¹¹⁴ of log x
    measured (tests/test_gauss17.py)."""
    ix = x_hi.view(np.int64)
    k = (ix - 0x3FE8000000000000) >> 52  # x_hi = 2^k·m, m in [0.75, 1.5)
    m = (ix - (k << 52)).view(np.float64)
    scale = ((1023 - k) << 52).view(np.float64)  # 2^−k, exact
    j = np.rint(m * 128.0)
    f = j * 0.0078125  # F = j/128: |m − F| ≤ 2⁻⁸
    d_hi, d_lo = _dw_fast_two_sum(m - f, lo1 * scale)  # m − F exact (Sterbenz); |m − F| ≥ ulp(m) or 0
    if triple:  # lo2 apart: d_lo + lo2 rounds at 2⁻¹⁰⁶ of d, all of log x where F = G = 1, k = 0
        d_lo2 = lo2 * scale
    else:
        d_lo = d_lo + lo2 * scale
    # r₁ = d/F: q = fl(d_hi/F), d_hi − q·F exact from q's halves (F of 8 bits)
    q = d_hi / f
    q1, q2 = _dw_split_bounded(q)
    if triple:  # r₁ = q + q_lo + q_lo2: the remainder's sum with d_lo (TwoSum) and q_lo's own remainder kept
        n, n_e = _dw_two_sum((d_hi - q1 * f) - q2 * f, d_lo)
        q_lo = n / f
        w1, w2 = _dw_split_bounded(q_lo)
        q_lo2 = ((((n - w1 * f) - w2 * f) + n_e) + d_lo2) / f
    else:
        q_lo = (((d_hi - q1 * f) - q2 * f) + d_lo) / f
    i = np.rint(q * 16384.0)
    g = i * 0.00006103515625  # G − 1 = i/2¹⁴ nearest r₁
    big_g = 1.0 + g  # 15 bits
    e = q - g  # exact (Sterbenz)
    # r₂ = (r₁ − (G − 1))/G = h + l, |r₂| ≤ 2⁻¹⁵
    h = e / big_g
    h1, h2 = _dw_split_bounded(h)
    # log1p(r₂) = r₂ − r₂²/2 + r₂³·(1/3 − r₂/4 + r₂²/5 − r₂³/6 + r₂⁴/7): r₂² = p + p_lo, r₂³ = c + c_lo and the
    # bracket u = u_hi + u_lo each in double-word (r₂³/3 is 2⁻³² of r₂: it needs 2⁻⁷² of itself)
    if triple:  # r₂ = h + l + l2 likewise (each division's rounding 2⁻¹⁰⁶ of r₂, all of log x near x = 1: poisson_nll's
        # log(x + 10⁻⁸)), l2 in the products too (up to 2⁻⁸⁰ of r₂ where x − 1 cancels), and the series on to
        # −r₂⁸/8 + r₂⁹/9 (r₂⁸/8 is 2⁻¹⁰⁸ of log1p(r₂) at |r₂| = 2⁻¹⁵)
        n, n_e = _dw_two_sum((e - h1 * big_g) - h2 * big_g, q_lo)
        l = n / big_g
        w1, w2 = _dw_split_bounded(l)
        l2 = ((((n - w1 * big_g) - w2 * big_g) + n_e) + q_lo2) / big_g
        lp = l + l2
        w = h * (1.0 / 7.0 + h * (-0.125 + h * (1.0 / 9.0)))
    else:
        l = (((e - h1 * big_g) - h2 * big_g) + q_lo) / big_g
        lp = l
        w = h * (1.0 / 7.0)
    p = h * h
    p_lo = (((h1 * h1 - p) + 2.0 * h1 * h2) + h2 * h2) + 2.0 * h * lp
    p1, p2 = _dw_split_bounded(p)
    c = p * h
    c_lo = ((((p1 * h1 - c) + p1 * h2 + p2 * h1) + p2 * h2) + p_lo * h) + p * lp
    v_hi, v_lo = _dw_fast_two_sum(-0.25 * h, p * (0.2 + h * (-1.0 / 6.0 + w)))
    u_hi, u_lo = _dw_fast_two_sum(THIRD_HI, v_hi)
    u_lo = u_lo + ((THIRD_LO + v_lo) - 0.25 * lp)
    c1, c2 = _dw_split_bounded(c)
    u1, u2 = _dw_split_bounded(u_hi)
    t = c * u_hi
    t_lo = (((((c1 * u1 - t) + c1 * u2 + c2 * u1) + c2 * u2) + c * u_lo) + c_lo * u_hi)
    s, e1 = _dw_fast_two_sum(h, -0.5 * p)
    s, e2 = _dw_fast_two_sum(s, t)
    if triple:  # e1, e2 and l (each up to 2⁻⁵³ of r₂) summed with their roundings kept: their float64 sum is
        # 2⁻¹⁰⁶ of log1p(r₂), the whole of log x near x = 1 (poisson_nll's log(x + 10⁻⁸) at x = 1: 8.3 ULP of f)
        s_lo, z1 = _dw_two_sum(e1, e2)
        s_lo, z2 = _dw_two_sum(s_lo, l)
        s_tail = ((z1 + z2) + l2) + (t_lo - 0.5 * p_lo)
    else:
        s_lo = (((e1 + e2) + l) - 0.5 * p_lo) + t_lo
    # k·ln 2 + log F + log G + log1p(r₂): |log F| ≥ |log G| unless log F = 0, |k·ln 2| ≥ |log F + log G| unless k = 0
    # (clipped: a NaN part, an overflow upstream, gives a NaN index, whose result is NaN whatever the row)
    table_f = np.take(_DW_LOG_F, (j - 96.0).astype(np.intp), axis=1, mode="clip")
    table_g = np.take(_DW_LOG_G, (i + 88.0).astype(np.intp), axis=1, mode="clip")
    y, y1 = _dw_fast_two_sum(table_f[0], table_g[0])
    y, y2 = _dw_two_sum(y, s)
    k = k.astype(np.float64)
    k_hi, k_lo = _dw_fast_two_sum(k * LN2_SPLIT_HI, k * LN2_SPLIT_LO)
    y, y3 = _dw_fast_two_sum(k_hi, y)
    if not triple:
        y_lo = (((y1 + y2) + y3) + (k_lo + k * LN2_LO)) + ((table_f[1] + table_g[1]) + s_lo)
        return _dw_fast_two_sum(y, y_lo)
    # a triple word (_tw_log): the low parts above 2⁻⁶⁰ (k_lo up to ulp(k·ln 2), y3, k·LN2_LO, log F's lo, y2, y1)
    # summed with each rounding kept (TwoSum), the roundings, the smaller parts and the third words last (their
    # float64 sum above rounds at 2⁻¹⁰⁶ of log x: with log F's double word and k·LN2_LO, 5.27 ULP of gaussian_nll's
    # f at its 2⁵⁸ cancellation)
    a, a1 = _dw_two_sum(k_lo, y3)
    a, a2 = _dw_two_sum(a, k * LN2_LO_A)
    a, a3 = _dw_two_sum(a, table_f[1])
    a, a4 = _dw_two_sum(a, y2)
    a, a5 = _dw_two_sum(a, y1)
    a, a6 = _dw_two_sum(a, s_lo)
    a, a7 = _dw_two_sum(a, table_g[1])
    tail = (((a1 + a2) + (a3 + a4)) + ((a5 + a6) + a7)) + (((table_g[2] + s_tail) + table_f[2]) + k * (LN2_LO_B + LN2_LO2))
    y, mid = _dw_fast_two_sum(y, a)
    mid, tail = _dw_two_sum(mid, tail)
    return y, mid, tail


def _dw_log_scaled(x_hi, lo1, lo2, triple=False):
    """_dw_log_reduced for any x_hi: below 2⁻¹⁰⁰⁰ (subnormals too) and above 2¹⁰⁰⁰ scaled by 2^±600 first (exact)
    and 600·ln 2 taken off or added again; log x_hi itself (−inf, NaN, inf) where x_hi ≤ 0 or is not finite,
    the whole array's selects taken only where some x_hi is outside that range. With ``triple``, a triple word
    (the scaled ones' tail as _dw_log_reduced gives it: far from any cancellation there, |log x| > 690)."""
    x_hi = np.asarray(x_hi, np.float64)
    inside = (x_hi >= 9.332636185032189e-302) & (x_hi <= 1.0715086071862673e+301)
    if inside.all():
        return _dw_log_reduced(x_hi, lo1, lo2, triple)
    up = x_hi < 9.332636185032189e-302
    power = np.where(up, 600.0, np.where(x_hi > 1.0715086071862673e+301, -600.0, 0.0))
    factor = np.ldexp(1.0, power.astype(np.int32))
    finite = (x_hi > 0.0) & (x_hi < np.inf)
    y = _dw_log_reduced(np.where(finite, x_hi * factor, 1.0), np.where(finite, lo1 * factor, 0.0),
                        np.where(finite, lo2 * factor, 0.0), triple)
    shift_hi, shift_lo = _dw_two_prod(-power, LN2_HI)
    y_hi, y_lo = _dw_add(y[0], y[1], shift_hi, shift_lo - power * LN2_LO)
    y_hi, y_lo = np.where(finite, y_hi, np.log(x_hi)), np.where(finite, y_lo, 0.0)
    return (y_hi, y_lo, np.where(finite, y[2], 0.0)) if triple else (y_hi, y_lo)


def _dw_log(x_hi, x_lo):
    """log x of a double-word x > 0 (table-driven, _dw_log_reduced): relative error about 2⁻¹⁰⁴."""
    return _dw_log_scaled(x_hi, x_lo, 0.0)


def _tw_log(x_hi, x_lo, x_tail):
    """log x of a triple word x > 0 as a triple word (table-driven, _dw_log_reduced): 2⁻¹¹⁴ of log x measured
    (its tail |x_tail| at most 2⁻⁵³ of x − 1 near x = 1); Triton's is the Newton step of PRIMITIVES["_tw_log"]."""
    return _dw_log_scaled(x_hi, x_lo, x_tail, True)
'''

_CONSTANTS.update(_numpy_log_constants())

_NUMPY_LOG1P = '''\
def _dw_log1p(d_hi, d_lo):
    """log(1 + d) of a double-word d > −1 (table-driven, _dw_log_reduced): 1 + d = x_hi + e + f exactly, e
    1 + d_hi's rounding (0 where d_hi ≤ −1/2), f d_lo's (at most 2⁻⁵³ of d), so that log1p keeps its relative
    accuracy near d = 0 (d itself below |d| = 2⁻¹⁰⁰ too)."""
    s, e = _dw_two_sum(1.0, d_hi)
    x_hi, f = _dw_fast_two_sum(s, d_lo)
    return _dw_log_scaled(x_hi, e, f)
'''

_EXP_TABLE = 64  # 2^(j/64), j = 0 … 63: e^x = 2^k·2^(j/64)·e^r with |r| ≤ ln 2/128


@functools.lru_cache(maxsize=None)
def _exp_table_text() -> str:
    """The NumPy table of 2^(j/64), each a double-word (hi, lo) from mpmath, and the constants of the reduction:
    ln 2/64 in three parts, the first of 36 bits (N·part exact for |N| < 2¹⁷: e^x is 0 or ∞ beyond)."""
    import mpmath

    with mpmath.workdps(60):
        step = mpmath.log(2) / _EXP_TABLE
        first = float(step)
        e = math.frexp(first)[1]
        first = math.ldexp(round(math.ldexp(first, 36 - e)), e - 36)
        second = float(step - first)
        third = float(step - first - second)
        inverse = float(1 / step)
        pairs = []
        for j in range(_EXP_TABLE):
            v = mpmath.power(2, mpmath.mpf(j) / _EXP_TABLE)
            hi = float(v)
            pairs.append(f"({hi!r}, {float(v - hi)!r})")
    lines = [f"_DW_EXP_TABLE = np.array([  # 2^(j/{_EXP_TABLE}), j = 0 … {_EXP_TABLE - 1}: (hi, lo)"]
    lines += ["    " + ", ".join(pairs[k:k + 2]) + "," for k in range(0, len(pairs), 2)]
    lines += ["]).T.copy()",
              f"_DW_EXP_STEP_A, _DW_EXP_STEP_B, _DW_EXP_STEP_C = {first!r}, {second!r}, {third!r}  # ln 2/{_EXP_TABLE}",
              f"_DW_EXP_INVERSE = {inverse!r}  # {_EXP_TABLE}/ln 2"]
    return "\n".join(lines) + "\n"


_NUMPY_EXP_TABLE = '''\
def _dw_exp_table(x_hi, x_lo):
    """e^x of a double-word to about 2⁻⁶⁶ relative where it is normal (not _dw_exp's 2⁻¹⁰⁴: enough for a value
    rounded once to float64, 2⁻¹³ ULP; about a fifth of _dw_exp's operations): Tang's table-driven method
    (1989) in double words. x = (64k + j)·ln 2/64 + r, |r| ≤ ln 2/128 (ln 2/64 in three parts, x − N·A exact);
    e^r − 1 = r_hi + (r_hi²/2 + … + r_hi⁷/5040 + r_lo·e^r_hi) with only r_hi + 1 in double-word (the rest below
    2⁻¹⁶ of 1, rounded at 2⁻⁶⁹; r⁸/8! is 2⁻⁷⁵); times 2^(j/64) (a table of double-words) by _dw_mul, then 2^k. x clamped to
    [−746, 710], where e^x is 0 and ∞; NaN stays NaN."""
    nan = np.isnan(x_hi)
    x = np.minimum(np.maximum(np.where(nan, 0.0, x_hi), -746.0), 710.0)
    n = np.rint(x * _DW_EXP_INVERSE)
    r_hi, r_lo = _dw_two_sum(x - n * _DW_EXP_STEP_A, -(n * _DW_EXP_STEP_B))
    r_lo = r_lo + (np.where(x == x_hi, x_lo, 0.0) - n * _DW_EXP_STEP_C)
    # e^(r_hi + r_lo) − 1 = (e^r_hi − 1) + r_lo·e^r_hi: r_lo (up to 2⁻⁴³ where x_lo is a ULP of x = −746) times
    # 1 + r_hi + r_hi²/2 (r_lo·r_hi³/6 is below 2⁻⁶⁹)
    tail = r_hi * r_hi * (0.5 + r_hi * (1 / 6 + r_hi * (1 / 24 + r_hi * (1 / 120 + r_hi * (1 / 720 + r_hi / 5040)))))
    tail = tail + r_lo * (1.0 + r_hi * (1.0 + 0.5 * r_hi))
    e_hi, e_lo = _dw_fast_two_sum(1.0, r_hi)
    e_hi, e_lo = _dw_fast_two_sum(e_hi, e_lo + tail)
    index = n.astype(np.int64)
    j = index & 63
    hi, lo = _dw_mul(_DW_EXP_TABLE[0][j], _DW_EXP_TABLE[1][j], e_hi, e_lo)
    hi, lo = _dw_scale(hi, lo, ((index - j) >> 6).astype(np.float64))
    return np.where(nan, x_hi, hi), lo
'''

_TRITON_EXP_TABLE = '''\
def _dw_exp_table(x_hi, x_lo):
    """e^x of a double-word to about 2⁻⁶⁰: _dw_exp_short (the NumPy backend's is table-driven, a table Triton
    would load from memory)."""
    return _dw_exp_short(x_hi, x_lo)
'''


# the NumPy texts' own needs where they differ from the shared text's (the table-driven log)
_NUMPY_NEEDS = {
    "_dw_log": ("_dw_two_sum", "_dw_fast_two_sum", "_dw_split_bounded", "_dw_two_prod", "_dw_add"),
    "_dw_log1p": ("_dw_two_sum", "_dw_fast_two_sum", "_dw_log"),
    "_dw_exp_table": ("_dw_two_sum", "_dw_fast_two_sum", "_dw_mul", "_dw_scale"),
}

PRIMITIVE_NEEDS = {
    "_dw_two_prod": ("_dw_split",),
    "_dw_add": ("_dw_two_sum", "_dw_fast_two_sum"),
    "_dw_add_fp": ("_dw_two_sum", "_dw_fast_two_sum"),
    "_dw_mul": ("_dw_two_prod", "_dw_fast_two_sum"),
    "_dw_mul_fp": ("_dw_two_prod", "_dw_fast_two_sum"),
    "_dw_div": ("_dw_mul_fp", "_dw_fast_two_sum"),
    "_dw_sqrt": ("_dw_two_prod", "_dw_fast_two_sum"),
    "_dw_two_prod_bounded": ("_dw_split_bounded",),
    "_dw_mul_bounded": ("_dw_split_bounded", "_dw_fast_two_sum"),
    "_dw_twice_plus_square": ("_dw_split_bounded", "_dw_fast_two_sum"),
    "_dw_exp_reduced": ("_dw_two_prod_bounded", "_dw_add", "_dw_add_fp", "_dw_mul_bounded",
                        "_dw_twice_plus_square"),
    "_dw_exp": ("_dw_exp_reduced", "_dw_add_fp", "_dw_scale"),
    "_dw_expm1": ("_dw_exp_reduced", "_dw_add_fp", "_dw_scale"),
    "_dw_log_step": ("_dw_exp_reduced", "_dw_add_fp", "_dw_scale", "_dw_add", "_dw_div"),
    "_dw_log1p": ("_dw_add_fp", "_dw_log_step"),
    "_dw_log": ("_dw_add_fp", "_dw_log_step", "_dw_two_prod_bounded", "_dw_add"),
    "_dw_sigmoid": ("_dw_exp", "_dw_add_fp", "_dw_div"),
    "_dw_softplus": ("_dw_exp", "_dw_log1p", "_dw_add"),
    "_dw_exp_negabs": ("_dw_exp",),
    "_dw_sigmoid_e": ("_dw_add_fp", "_dw_div"),
    "_dw_softplus_l": ("_dw_add",),
    "_dw_tanh": ("_dw_expm1", "_dw_add_fp", "_dw_div", "_dw_fast_two_sum"),
    "_tw_mul": ("_dw_two_prod", "_dw_two_sum", "_dw_fast_two_sum"),
    "_tw_square": ("_dw_two_prod", "_dw_two_sum", "_dw_fast_two_sum"),
    "_tw_div": ("_dw_two_prod", "_dw_two_sum", "_dw_fast_two_sum"),
    "_tw_quotient": ("_tw_div",),
    "_tw_add": ("_dw_two_sum", "_dw_fast_two_sum"),  # (its last step: the Triton third tier of erfc(x) − y had it alone)
    "_tw_sum_step": ("_dw_two_sum",),
    "_tw_sum_round": ("_dw_two_sum",),
    "_tw_exp_reduced": ("_dw_two_prod_bounded", "_dw_two_sum", "_tw_expm1_reduced"),
    "_tw_expm1_reduced": ("_dw_two_sum", "_dw_add_fp", "_dw_mul_bounded", "_dw_add", "_dw_fast_two_sum", "_tw_square",
                          "_tw_mul", "_tw_add"),
    "_tw_log": ("_tw_exp_reduced", "_tw_add", "_dw_scale", "_tw_div", "_dw_fast_two_sum", "_dw_two_sum",
                "_dw_two_prod_bounded", "_dw_add"),
    "_dw_nexpsq_first": ("_dw_two_prod", "_dw_exp_first"),
    "_dw_nexpsq2_first": ("_dw_two_prod", "_dw_exp_first"),
    "_dw_exp_table": ("_dw_exp_short",),
    "_tw_exp_negsquare": ("_dw_two_prod", "_tw_exp_reduced", "_tw_add", "_tw_mul"),
    "_tw_erf": ("_dw_two_prod", "_tw_mul", "_tw_add", "_tw_exp_negsquare", "_dw_scale", "_erfc"),
    "_dw_exp_short": ("_dw_two_sum", "_dw_two_prod_bounded", "_dw_fast_two_sum", "_dw_twice_plus_square",
                      "_dw_add_fp", "_dw_scale"),
}
ORDER = ["_dw_two_sum", "_dw_fast_two_sum", "_dw_split", "_dw_split_bounded", "_dw_two_prod",
         "_dw_two_prod_bounded", "_dw_add", "_dw_add_fp", "_dw_mul", "_dw_mul_fp", "_dw_mul_bounded",
         "_dw_twice_plus_square", "_dw_div", "_dw_sqrt", "_dw_scale", "_dw_exp_reduced", "_dw_exp", "_dw_expm1",
         "_dw_log_step", "_dw_log1p", "_dw_log", "_dw_sigmoid", "_dw_softplus", "_dw_exp_negabs", "_dw_sigmoid_e",
         "_dw_softplus_l", "_dw_tanh"]
ORDER += ["_dw_exp_first", "_dw_expm1_first", "_dw_sigmoid_first", "_dw_nexpsq_first", "_dw_nexpsq2_first"]  # the rounded-argument rule's last step (above)
ORDER += ["_dw_softplus_first"]  # the rounded-softplus-argument rule's (above)
ORDER += ["_dw_log_first", "_dw_log1p_first"]  # the rounded-log-argument rule's of a rounded sum (above)
ORDER += ["_dw_erfc_first"]  # the rounded-argument rule's erfc (above)
PRIMITIVE_NEEDS["_dw_erfc_first"] = ("_erfc", "_dw_two_sum")  # the registry's erfc (NumPy: math.erfc; Triton: fdlibm's)
ORDER += ["_dw_ndtr_first"]  # the rounded-argument rule's Φ (above)
PRIMITIVE_NEEDS["_dw_ndtr_first"] = ("_ndtr", "_dw_two_sum")  # the registry's Φ (erfc of −v/√2, its rounding corrected)
# erf of a float64 as a double word in Triton (session 26): NumPy's _dw_erf is table-driven, a table Triton would load
# from memory; Triton's double word of erf was (erf in float64, 0), whose rounding erases the 1 − |erf x| that erf(x) − y
# keeps at y = ±1: float32 erf(6) − 1 was 0 (truth −2.15e−17; 1.3e7 ULP), as the float32 kernel's double word feeds
# its float64 erf to the widened body (its third tier is the float64 kernels')
PRIMITIVES["_dw_erf_tail"] = '''\
def _dw_erf_tail(x, erf_x):
    """erf x of a float64 x as a double word, erf_x its float64 value: ±(1 − erfc|x|) where |x| ≥ 1/2 (FastTwoSum of 1
    and −erfc|x|, erfc|x| ≤ 0.48 < 1: exact; erfc within 1.6 ulp of itself, so the pair within 2⁻⁵² of erf and its lo
    word 1 − |erf x|'s own digits, which erf_x has rounded off: erf(6) − 1 is 0 in float64, −2.15e−17 here),
    (erf_x, 0) below."""
    c = _erfc(M.abs(x))
    hi, lo = _dw_fast_two_sum(1.0 + 0.0 * c, -c)
    far = M.abs(x) >= 0.5
    one = M.where(x < 0, -1.0, 1.0)
    return M.where(far, one * hi, erf_x), M.where(far, one * lo, 0.0)
'''
ORDER += ["_dw_erf_tail"]
PRIMITIVE_NEEDS["_dw_erf_tail"] = ("_dw_fast_two_sum", "_erfc")
# erf of a double word in Triton (h-triton40; NumPy's _dw_erf_dw takes its table-driven _dw_erf): the emitter took it
# in float64 of the rounded argument (_plain), whose rounding and erf's own erf(v)^−k multiplies: ∂x of erf(x/y)⁻² at
# (−6.163, −771.3), v = 0.00799, 7 ULP in float64 (NumPy 0). Below |x_hi| = 1/2 the Maclaurin series
# erf x = 2/√π·x·Σ tₙ·(x²)ⁿ, tₙ = (−1)ⁿ/(n!(2n + 1)), n = 0 … 20 (the rest below 2⁻¹¹³ of the sum at x² = 1/4), x and
# x² double words (x² = TwoProduct(x_hi, x_hi) + 2·x_hi·x_lo, to 2⁻¹⁰⁵), Horner in float64 over n = 20 … 12 (each
# term below 2⁻⁵⁷ of the sum: its rounding below 2⁻¹¹⁰) and in double words over n = 11 … 0 with tₙ to 106 bits
# (mpmath): about 2⁻¹⁰⁴ relative, as NumPy's _dw_erf_dw. Each double-word step is one _dw_mul_bounded (x² and the
# partial sum below 1) and a Fast2Sum of tₙ and the product (|tₙ₊₁·x²| ≤ |tₙ|/12: no cancellation), some 31
# operations, twelve of them. Session 41 (h-erf41): the rest S of the series after 1 was one float64 (12 terms, x_hi²
# alone), 2⁻⁵⁶ of erf where it was meant as a double word, 2⁻⁵⁵ more from x_lo's share of x² left out: erf(x/y) − z at
# (0.2058, 0.7, 0.3224), z = erf(x/y) rounded, was 9.7e16 ULP (torch 8.8e15). From 1/2 on _dw_erf_tail's
# ±(1 − erfc|x_hi|), erfc in float64 (1.6 ulp of it, up to 2⁻⁵³ of erf at 1/2), and x_lo to first order
_ERF_WORDS_TERMS = 21  # t₀ … t₂₀
_ERF_WORDS_DW = 12  # t₀ … t₁₁ in double words


@functools.cache
def _erf_words_constants() -> dict:
    """The Maclaurin coefficients tₙ = (−1)ⁿ/(n!(2n + 1)) of _dw_erf_words as ERF_T<n>_HI (and _LO for n < 12)."""
    import mpmath
    out = {}
    with mpmath.workdps(60):
        for n in range(_ERF_WORDS_TERMS):
            t = mpmath.mpf(-1) ** n / (mpmath.factorial(n) * (2 * n + 1))
            out[f"ERF_T{n}_HI"] = float(t)
            if n < _ERF_WORDS_DW:
                out[f"ERF_T{n}_LO"] = float(t - mpmath.mpf(float(t)))
    return out


def _erf_words_text() -> str:
    """The text of _dw_erf_words (the Horner steps unrolled, the coefficients by name)."""
    lines = [
        "def _dw_erf_words(x_hi, x_lo):",
        '    """erf(x_hi + x_lo) as a double word: below |x_hi| = 1/2 2/√π·x·Σ tₙ·(x²)ⁿ, tₙ = (−1)ⁿ/(n!(2n + 1)) to',
        f'    n = {_ERF_WORDS_TERMS - 1}, x² a double word, the terms from n = {_ERF_WORDS_DW} on in float64 and the others in double',
        "    words, about 2⁻¹⁰⁴ relative; from 1/2 on _dw_erf_tail's ±(1 − erfc|x_hi|), erfc in float64, plus",
        '    2/√π·e^(−x_hi²)·x_lo (0 where that is not finite)."""',
        "    z_hi, z_lo = _dw_two_prod(x_hi, x_hi)",
        "    z_hi, z_lo = _dw_fast_two_sum(z_hi, z_lo + 2.0 * x_hi * x_lo)  # x² = (x_hi + x_lo)² to 2⁻¹⁰⁵",
        f"    s = ERF_T{_ERF_WORDS_TERMS - 1}_HI + 0.0 * z_hi",
    ]
    for n in range(_ERF_WORDS_TERMS - 2, _ERF_WORDS_DW - 1, -1):
        lines.append(f"    s = ERF_T{n}_HI + z_hi * s")
    lines.append("    s_hi, s_lo = s, 0.0 * s")
    lines.append("    # s = tₙ + x²·s in double words: |tₙ₊₁·x²| ≤ |tₙ|/12, so tₙ's hi leads (Fast2Sum)")
    for n in range(_ERF_WORDS_DW - 1, -1, -1):
        lines.append("    s_hi, s_lo = _dw_mul_bounded(s_hi, s_lo, z_hi, z_lo)")
        lines.append(f"    s_hi, e = _dw_fast_two_sum(ERF_T{n}_HI, s_hi)")
        lines.append(f"    s_hi, s_lo = _dw_fast_two_sum(s_hi, e + (ERF_T{n}_LO + s_lo))")
    lines += [
        "    p_hi, p_lo = _dw_mul(x_hi, x_lo, TWO_OVER_SQRT_PI_HI, TWO_OVER_SQRT_PI_LO)",
        "    n_hi, n_lo = _dw_mul(p_hi, p_lo, s_hi, s_lo)",
        "    t_hi, t_lo = _dw_erf_tail(x_hi, 0.0 * x_hi)",
        "    d = 1.1283791670955126 * M.exp(-(x_hi * x_hi)) * x_lo",
        '    t_hi, t_lo = _dw_add_fp(t_hi, t_lo, M.where(M.abs(d) < float("inf"), d, 0.0))',
        "    near = M.abs(x_hi) < 0.5",
        "    return M.where(near, n_hi, t_hi), M.where(near, n_lo, t_lo)",
    ]
    return "\n".join(lines) + "\n"


_CONSTANTS.update(_erf_words_constants())
PRIMITIVES["_dw_erf_words"] = _erf_words_text()
ORDER += ["_dw_erf_words"]
PRIMITIVE_NEEDS["_dw_erf_words"] = ("_dw_two_prod", "_dw_fast_two_sum", "_dw_mul_bounded", "_dw_mul", "_dw_erf_tail",
                                    "_dw_add_fp")
_NUMPY_NEEDS["_dw_erf"] = ("_dw_mul_fp", "_dw_add", "_erfc")  # erf of a float64 as a double word (NumPy's alone)
# the primitives with a NumPy text alone (a Triton kernel never calls them), after ORDER's in a module
_NUMPY_NEEDS["_dw_erfc"] = ("_dw_erfcx_table", "_dw_erf", "_dw_add_fp", "_dw_mul_fp", "_dw_add", "_dw_two_prod", "_dw_exp_reduced", "_dw_mul",
                            "_dw_scale")
_NUMPY_NEEDS["_tw_erfc"] = ("_dw_erfcx_table", "_tw_erf", "_tw_add", "_tw_mul", "_tw_exp_negsquare", "_dw_mul", "_dw_mul_fp",
                            "_dw_add_fp",
                            "_dw_scale")
# a function of a double word whose argument overflowed (the emitter's _function): its float64 value there, lo 0
NUMPY_WHERE_FINITE = '''\
def _dw_where_finite(x_hi, value, plain):
    """value, f(x) as a double word, where x_hi is finite; plain(), f of the float64 argument, lo 0, where it is not
    (an overflowed product inside x: tanh, σ, e^x at ±inf are their limits, exact; NaN stays NaN). plain is a
    function: the float64 argument is computed only where some x_hi is not finite (rare: the common path one test)."""
    finite = np.isfinite(x_hi)
    if finite.all():
        return value
    return np.where(finite, value[0], plain()), np.where(finite, value[1], 0.0)
'''
# erf of a double word (NumPy; h-neg38): the emitter took erf(v) of a double-word v as the float64 erf of v_hi, lo 0, so
# v's rounding and erf's own reached the widened body: ∂x of erf(x/y)⁻², 4/√π·e^(−v²)/(y·erf(v)³), 4.4 ULP at
# (−5.32e303, 8.73e304), v = −0.061, torch 1 (erf(v)³ triples both). _dw_erf of v_hi and its first order in v_lo,
# 2/√π·e^(−v_hi²)·v_lo: to within v_lo²·|v|·2/√π (relative, |v_lo| ≤ 2⁻⁵³|v_hi|: below 2⁻¹⁰⁵)
NUMPY_ERF_DW = '''\
def _dw_erf_dw(x_hi, x_lo):
    """erf(x_hi + x_lo) as a double word: _dw_erf(x_hi) plus 2/√π·e^(−x_hi²)·x_lo (its first order in x_lo; 0 where
    x_lo is not finite: x_hi ±inf or NaN, whose _dw_erf is erf's limit or NaN)."""
    e_hi, e_lo = _dw_erf(x_hi)
    d = 1.1283791670955126 * np.exp(-(x_hi * x_hi)) * x_lo
    return _dw_add(e_hi, e_lo, np.where(np.isfinite(d), d, 0.0), 0.0 * e_lo)
'''
_NUMPY_NEEDS["_dw_erf_dw"] = ("_dw_erf", "_dw_add")
# E = e^−|v| and log1p(E) of one double word, remembered for the last v (NumPy; h-cost41): the widened functions of
# softplus(x/y)⁻² and of its gradients' 2σ(x/y)/softplus(x/y)³ each computed them in every block, the same numbers
# twice (two double-word e^x and two logs, 0.21 of its 0.24 s profiled at 2e5 elements)
NUMPY_SOFTPLUS_PARTS = '''\
_DW_SOFTPLUS_LAST = [None]  # (v_hi, v_lo, (E_hi, E_lo, L_hi, L_lo)) of the last call, each a copy of its own



def _dw_softplus_parts(v_hi, v_lo):
    """E = e^−|v| and L = log1p(E) of a double word v (_dw_exp_negabs, _dw_log1p: softplus(v) = max(v, 0) + L, σ(v)
    from E), as (E_hi, E_lo, L_hi, L_lo). The same v bit for bit as the last call's gives that call's values again, so
    two widened functions of one kernel block that take softplus of the same double word compute them once; both
    functions are pure, so the values are the ones computed again. What is kept and what is given again are copies:
    a caller writing into its arrays changes neither."""
    last = _DW_SOFTPLUS_LAST[0]
    if last is not None and _dw_same_bits(last[0], v_hi) and _dw_same_bits(last[1], v_lo):
        return tuple(np.copy(w) for w in last[2])
    e_hi, e_lo = _dw_exp_negabs(v_hi, v_lo)
    l_hi, l_lo = _dw_log1p(e_hi, e_lo)
    parts = (e_hi, e_lo, l_hi, l_lo)
    _DW_SOFTPLUS_LAST[0] = (np.copy(v_hi), np.copy(v_lo), tuple(np.copy(w) for w in parts))
    return parts
'''
_NUMPY_NEEDS["_dw_softplus_parts"] = ("_dw_exp_negabs", "_dw_log1p", "_dw_same_bits")
NUMPY_ONLY = ("_dw_where_finite", "_dw_pow_first", "_dw_erf", "_dw_erf_dw", "_dw_erfcx_table", "_dw_erfc", "_tw_erfc",
              "_dw_softplus_parts")

# ---------------------------------------------------------------- h-cost42: the double-word log of a float64 value,
# remembered for the last value (NumPy). y + log(x)⁶⁴'s kernel computed _dw_log of the block's x four times a block
# (the widened f's float64 body and its double word, twice in ∂x's 64·log(x)⁶³/x: _rounded_log_power), 0.057 of its
# 0.099 s profiled at 2e5 elements: now once.
NUMPY_SAME_BITS = '''\
def _dw_same_bits(a, b):
    """Whether a and b are float64 values of one shape with the same bits (−0.0 is not 0.0; a NaN is never the same)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != np.float64 or b.dtype != np.float64 or a.shape != b.shape or np.isnan(a).any():
        return False
    return np.array_equal(a.view(np.int64), b.view(np.int64))
'''
NUMPY_LOG_REMEMBERED = '''\
_DW_LOG_LAST = [None]  # (v, (l_hi, l_lo)) of the last call, each a copy of its own


def _dw_log_remembered(v):
    """log v of a float64 array v as a double word (l_hi, l_lo): _dw_log(v, 0.0). The same v bit for bit as the last
    call's gives that call's values again, so the widened functions and _rounded_log_power of one kernel block that
    take log of the same leaf compute it once; _dw_log is pure, so the values are the ones computed again. What is
    kept and what is given again are copies: a caller writing into its arrays changes neither."""
    last = _DW_LOG_LAST[0]
    if last is not None and _dw_same_bits(last[0], v):
        return tuple(np.copy(w) for w in last[1])
    parts = _dw_log(v, 0.0)
    _DW_LOG_LAST[0] = (np.copy(v), tuple(np.copy(w) for w in parts))
    return parts
'''
_NUMPY_NEEDS["_dw_same_bits"] = ()
_NUMPY_NEEDS["_dw_log_remembered"] = ("_dw_log", "_dw_same_bits")
NUMPY_ONLY += ("_dw_same_bits", "_dw_log_remembered")
# ---------------------------------------------------------------- (end of h-cost42's remembered log)

# ---------------------------------------------------------------- h-cost42: NumPy's hottest primitives in place
# The same operations in the same order on the same operands (so the same bits, NaN payloads too), the intermediate
# arrays written in place where the text made a new array for each: a 16384-element block's TwoSum, TwoProduct and
# squaring steps allocated 3–12 arrays of 128 KiB each. _dw_twice_plus_square alone (8 a double-word e^x): 280 → 113 µs
# CPU a block. Scalars (a rule's probe, a constant's double word) take the text as written (an in-place operation needs
# an array to write into). Triton keeps PRIMITIVES' text (its compiler allocates nothing).
NUMPY_IN_PLACE = {
    "_dw_two_sum": """\
def _dw_two_sum(a, b):
    \"\"\"s + e = a + b exactly, s = fl(a + b) (Knuth's TwoSum); e = (a − (s − v)) + (b − v), v = s − a, in place.\"\"\"
    s = a + b
    v = s - a
    if type(v) is not np.ndarray:  # (scalars)
        return s, (a - (s - v)) + (b - v)
    e = s - v
    np.subtract(a, e, out=e)
    np.subtract(b, v, out=v)
    e += v
    return s, e
""",
    "_dw_fast_two_sum": """\
def _dw_fast_two_sum(a, b):
    \"\"\"s + e = a + b exactly where |a| ≥ |b| or a = 0 (Dekker's Fast2Sum); e = b − (s − a), in place.\"\"\"
    s = a + b
    e = s - a
    if type(e) is not np.ndarray:  # (scalars)
        return s, b - e
    return s, np.subtract(b, e, out=e)
""",
    "_dw_split_bounded": """\
def _dw_split_bounded(a):
    \"\"\"a = hi + lo, each of 26 bits at most (Veltkamp), for |a| below 2⁹⁹⁶ (the operands inside e^x
    and log: no guard); hi = c − (c − a), c = (2²⁷ + 1)·a, and lo = a − hi in place.\"\"\"
    c = SPLITTER * a
    t = c - a
    if type(t) is not np.ndarray:  # (scalars)
        hi = c - t
        return hi, a - hi
    hi = np.subtract(c, t, out=t)
    return hi, np.subtract(a, hi, out=c)
""",
    "_dw_two_prod_bounded": """\
def _dw_two_prod_bounded(a, b):
    \"\"\"p + e = a·b exactly, as _dw_two_prod, for operands below 2⁹⁹⁶ (no guard); e summed in place.\"\"\"
    p = a * b
    a_hi, a_lo = _dw_split_bounded(a)
    b_hi, b_lo = _dw_split_bounded(b)
    e = a_hi * b_hi
    if type(e) is not np.ndarray:  # (scalars)
        return p, ((e - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    e -= p  # ((a_hi·b_hi − p) + a_hi·b_lo + a_lo·b_hi) + a_lo·b_lo, in place
    t = a_hi * b_lo
    e += t
    np.multiply(a_lo, b_hi, out=t)
    e += t
    np.multiply(a_lo, b_lo, out=t)
    e += t
    return p, e
""",
    "_dw_mul_bounded": """\
def _dw_mul_bounded(x_hi, x_lo, y_hi, y_lo):
    \"\"\"x·y as _dw_mul, for operands below 2⁹⁹⁶ (inside e^x: no guard in the splitting): x_hi·y_hi and its
    error from _dw_two_prod_bounded, the cross terms summed into the error in place.\"\"\"
    p, e = _dw_two_prod_bounded(x_hi, y_hi)
    if type(e) is not np.ndarray:  # (scalars)
        return _dw_fast_two_sum(p, e + (x_hi * y_lo + x_lo * y_hi))
    np.add(e, x_hi * y_lo + x_lo * y_hi, out=e)
    return _dw_fast_two_sum(p, e)
""",
    "_dw_twice_plus_square": """\
def _dw_twice_plus_square(p_hi, p_lo):
    \"\"\"2p + p² for |p| < 1/2 ((1 + p)² − 1, a squaring of e^r without its cancellation): p² from one
    splitting of p_hi, and |p²| ≤ |2p|/4, so the sum needs no TwoSum; p²'s error q_lo summed in place.\"\"\"
    a_hi, a_lo = _dw_split_bounded(p_hi)
    q = p_hi * p_hi
    two_p = 2.0 * p_hi
    q_lo = a_hi * a_hi
    if type(q_lo) is not np.ndarray:  # (scalars)
        q_lo = (((q_lo - q) + 2.0 * a_hi * a_lo) + a_lo * a_lo) + two_p * p_lo
        s_hi, s_lo = _dw_fast_two_sum(two_p, q)
        return _dw_fast_two_sum(s_hi, s_lo + (2.0 * p_lo + q_lo))
    q_lo -= q
    t = 2.0 * a_hi
    t *= a_lo
    q_lo += t
    np.multiply(a_lo, a_lo, out=t)
    q_lo += t
    np.multiply(two_p, p_lo, out=t)
    q_lo += t
    s_hi, s_lo = _dw_fast_two_sum(two_p, q)
    np.multiply(2.0, p_lo, out=t)
    t += q_lo
    s_lo += t
    return _dw_fast_two_sum(s_hi, s_lo)
""",
    "_dw_div": """\
def _dw_div(x_hi, x_lo, y_hi, y_lo):
    \"\"\"x/y of two double-words (DWDivDW2: error ≤ 15u²): q = x_hi/y_hi, then the remainder
    x − y·q in double-word divided once more, (x_hi − r_hi) + (x_lo − r_lo) in place.\"\"\"
    q = x_hi / y_hi
    r_hi, r_lo = _dw_mul_fp(y_hi, y_lo, q)
    d = x_hi - r_hi
    if type(d) is not np.ndarray or type(r_lo) is not np.ndarray or r_lo.shape != d.shape:  # (scalars)
        return _dw_fast_two_sum(q, ((x_hi - r_hi) + (x_lo - r_lo)) / y_hi)
    d += np.subtract(x_lo, r_lo, out=r_lo)
    d /= y_hi
    return _dw_fast_two_sum(q, d)
""",
}
_NUMPY_NEEDS.update({"_dw_two_sum": (), "_dw_fast_two_sum": (), "_dw_split_bounded": (),
                     "_dw_two_prod_bounded": ("_dw_split_bounded",),
                     "_dw_mul_bounded": ("_dw_two_prod_bounded", "_dw_split_bounded", "_dw_fast_two_sum"),
                     "_dw_twice_plus_square": ("_dw_split_bounded", "_dw_fast_two_sum"),
                     "_dw_div": ("_dw_mul_fp", "_dw_fast_two_sum")})
# NumPy's guarded splitting and TwoProduct (_NUMPY_SPLIT, _NUMPY_TWO_PROD) likewise on their fast path
NUMPY_IN_PLACE["_dw_split"] = _with_fast_path("_dw_split", '''\
    """a = hi + lo, each of 26 bits at most (Veltkamp); where 2²⁷·a overflows (|a| above about 2⁹⁹⁶)
    scaled by 2⁻²⁸ first and back (exact), the whole array's selects taken only then; elsewhere _dw_split_bounded's
    steps in place."""
''', '''\
    c = SPLITTER * a
    if np.isfinite(c).all():
        t = c - a
        if type(t) is not np.ndarray:  # (scalars)
            hi = c - t
            return hi, a - hi
        hi = np.subtract(c, t, out=t)
        return hi, np.subtract(a, hi, out=c)
''')
NUMPY_IN_PLACE["_dw_two_prod"] = _with_fast_path("_dw_two_prod", '''\
    """p + e = a·b exactly, p = fl(a·b) (Dekker's TwoProduct, no FMA); exact unless a partial
    product underflows. Where |p| > 2⁹⁹⁶, a and p scaled by 2⁻²⁸ first (exact) and e back: a_hi·b_hi
    may round above the largest float64 where p is just below it (the selects taken only then); elsewhere e summed
    in place."""
''', '''\
    if (np.abs(p) <= SPLIT_BIG).all():
        a_hi, a_lo = _dw_split(a)
        b_hi, b_lo = _dw_split(b)
        e = a_hi * b_hi
        if type(e) is not np.ndarray:  # (scalars)
            return p, ((e - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
        e -= p  # ((a_hi·b_hi − p) + a_hi·b_lo + a_lo·b_hi) + a_lo·b_lo, in place
        t = a_hi * b_lo
        e += t
        np.multiply(a_lo, b_hi, out=t)
        e += t
        np.multiply(a_lo, b_lo, out=t)
        e += t
        return p, e
''')
# ---------------------------------------------------------------- (end of h-cost42's primitives in place)

# Scaled double words (NumPy): (hi + lo)·2^−k, k an int32 array, for the elements of a widened body whose value is
# below 2⁻⁹⁶⁸ (0 too) or that has a leaf there (a subnormal target), where a double word's lo part (and a subnormal
# hi's low bits) is lost: e^−745 rounds to 2⁻¹⁰⁷⁴ from 0.57·2⁻¹⁰⁷⁴ before the focal loss's ¾·e^z (5e−324 where the
# truth rounds to 0) and its ∂γ's log(σ(z))·¾·e^z (−3.68e−321 for −1.576e−321, 426 subnormal ULP; torch 319). Each
# e^x below e^−600 is 2^k·e^(x + k·ln 2), a leaf below 2⁻⁹⁰⁰ itself·2⁶⁰⁰: products add the k, sums align them
# (_dwx_add), a log takes k·ln 2 off, every other function takes the value as it is (2^−k·(hi + lo)), and the result
# is rounded once from the scaled double word (_dwx_round): the correctly rounded subnormal. (_Scaled, _dwx_tier.)
SCALED_TINY = 2.0 ** -968  # below it a double word's lo part is below 2⁻¹⁰⁷⁴ (its 2⁻¹⁰⁶ of the hi)
# e^x below SCALED_TINY: x < −968·ln 2 (pow47: ∂y of (y^x)³·log y, y^(3x)/y + 3x·y^(3x − 1)·log y, took y^(3x) = 3.2e−312
# as a double word whose lo part was gone and whose quotient by y took a remainder that underflowed: 13.8 ULP at
# (2.1236, 1.27e−49), torch 2.78; and where y^(3x) rounds to 0, 9e12 ULP at (2.25, 1.27e−49), as torch)
UNDERFLOWED_ARGUMENT = -968 * 0.6931471805599453
PRIMITIVES.update({
    "_dwx_leaf": '''\
def _dwx_leaf(x):
    """A leaf as a scaled float64 (x·2^k, k): 2⁶⁰⁰ below 2⁻⁹⁰⁰ (a subnormal target), 2⁻⁶⁰⁰ above 2⁹⁰⁰ (a product or a
    multiple of it overflows where the sum does not: x − 3y + tanh x at x = −1.7e308, y = −6e307), 1 elsewhere."""
    big = (np.abs(x) > 2.0 ** 900) & (np.abs(x) < np.inf)
    k = np.where((x != 0.0) & (np.abs(x) < 2.0 ** -900), 600, np.where(big, -600, 0)).astype(np.int32)
    return np.ldexp(x, k), k
''',
    "_dwx_unit": '''\
def _dwx_unit(x):
    """A leaf as a scaled float64 (x·2^k, k) in [1/2, 1) (frexp, exact): every leaf of a product of powers, so that
    its double words neither overflow nor lose their lo parts wherever the inputs are (0, ±inf and NaN as they are)."""
    m, e = np.frexp(x)
    return m, np.negative(e).astype(np.int32)
''',
    "_dwx_exp": '''\
def _dwx_exp(x_hi, x_lo):
    """e^x as a scaled double word (hi + lo = e^x·2^k): k = ⌊−x/ln 2⌋ (within ±2000) below x = −600 and above x = 700
    (e^x past the range, or near it: sinh(−711) of x − 3y + sinh(x), which 3y brings back), e^(x + k·ln 2) in double
    words (k·ln 2 to 2⁻¹⁰⁶ of itself), so that hi is within [1/2, 1]; 0 elsewhere."""
    k = np.where((x_hi < -600.0) | (x_hi > 700.0), np.clip(np.floor(-x_hi * 1.4426950408889634), -2000.0, 2000.0),
                 0.0)
    k_hi, k_lo = _dw_two_prod_bounded(k, 0.6931471805599453)
    a_hi, a_lo = _dw_add(x_hi, x_lo, k_hi, k_lo + k * 2.3190468138462996e-17)
    e_hi, e_lo = _dw_exp(a_hi, a_lo)
    # x = −inf (an argument past the range, e^(b/T − m) at b/T = −inf): e^x is 0, exactly, where x + k·ln 2 was
    # −inf + c, a double word with a NaN lo (∂T of log(e^(a/T) + e^(b/T) + 1) − a/T at (3.7e−22, −1.4e−312, −9.1e286))
    gone = x_hi == -np.inf
    return np.where(gone, 0.0, e_hi), np.where(gone, 0.0, e_lo), np.where(gone, 0, k).astype(np.int32)
''',
    "_dwx_exp_negabs": '''\
def _dwx_exp_negabs(x_hi, x_lo):
    """e^−|x| as a scaled double word (_dwx_exp)."""
    neg = x_hi < 0.0
    return _dwx_exp(np.where(neg, x_hi, -x_hi), np.where(neg, x_lo, -x_lo))
''',
    "_dwx_expm1": '''\
def _dwx_expm1(x_hi, x_lo):
    """expm1(x) as a scaled double word: e^x scaled (_dwx_exp) above x = 700, where the 1 is below 2⁻¹⁰⁰⁹ of it (past
    the double word's 2⁻¹⁰⁶); the double word's expm1 (k 0) elsewhere. (One text for both backends: k int32.)"""
    big = x_hi > 700.0
    e_hi, e_lo, k = _dwx_exp(M.where(big, x_hi, 0.0), M.where(big, x_lo, 0.0))
    m_hi, m_lo = _dw_expm1(M.where(big, 0.0, x_hi), M.where(big, 0.0, x_lo))
    return M.where(big, e_hi, m_hi), M.where(big, e_lo, m_lo), M.where(big, k, 0)
''',
    "_dwx_sigmoid_e": '''\
def _dwx_sigmoid_e(x_hi, x_lo, e_hi, e_lo, k):
    """σ(x) from the scaled E = e^−|x| (_dwx_exp_negabs): 1/(1 + E) for x ≥ 0 (k 0), E/(1 + E) below (E's k)."""
    neg = x_hi < 0.0
    d_hi, d_lo = _dw_add_fp(np.ldexp(e_hi, -k), np.ldexp(e_lo, -k), 1.0)
    r_hi, r_lo = _dw_div(np.where(neg, e_hi, 1.0), np.where(neg, e_lo, 0.0), d_hi, d_lo)
    return r_hi, r_lo, np.where(neg, k, 0).astype(np.int32)
''',
    "_dwx_log1p_e": '''\
def _dwx_log1p_e(e_hi, e_lo, k):
    """log1p(E) of the scaled E = e^−|x|: E itself where it is scaled (E < e^−600: E²/2 is below 2⁻⁸⁶⁵ of it)."""
    l_hi, l_lo = _dw_log1p(np.ldexp(e_hi, -k), np.ldexp(e_lo, -k))
    scaled = k > 0
    return np.where(scaled, e_hi, l_hi), np.where(scaled, e_lo, l_lo), k
''',
    "_dwx_softplus_l": '''\
def _dwx_softplus_l(x_hi, x_lo, l_hi, l_lo, k):
    """softplus(x) = max(x, 0) + L from the scaled L = log1p(e^−|x|) (_dwx_log1p_e): L with its k for x < 0."""
    neg = x_hi < 0.0
    s_hi, s_lo = _dw_add(np.ldexp(l_hi, -k), np.ldexp(l_lo, -k), x_hi, x_lo)
    return np.where(neg, l_hi, s_hi), np.where(neg, l_lo, s_lo), np.where(neg, k, 0).astype(np.int32)
''',
    "_dwx_softplus_far": '''\
def _dwx_softplus_far(s_hi, s_lo, s_k, x_hi, x_lo, x_k):
    """softplus(x) = x with x's own scale where x is past 2⁹⁰⁰ (log1p(e^−x) is 0 there): unscaled, x near float64's
    largest (1.797e308) made the products that follow it NaN (focal's ∂y at (1.797e308, 0.5); h-kl36)."""
    far = np.ldexp(x_hi, -x_k) > 2.0 ** 900
    return np.where(far, x_hi, s_hi), np.where(far, x_lo, s_lo), np.where(far, x_k, s_k).astype(np.int32)
''',
    "_dwx_norm": '''\
def _dwx_norm(x_hi, x_lo, k):
    """The scaled double word (hi + lo)·2^−k renormalised (exact): unscaled (k 0) where its value is within 2^±100,
    else its hi brought to [1/2, 1) (frexp) and k by as much: a product's hi neither underflows nor overflows in the
    products after it, and a value near 1 keeps k 0 (log x − k·ln 2 would cancel: focal's ∂γ at z = 745, t = 2.2e−308,
    log(1 − t) 0 for −2.2e−308). 0, ±inf and NaN with k 0."""
    m, n = _dwx_unit(x_hi)
    near = np.abs(n + k) <= 100
    s = np.where(near, -k, n)
    return np.ldexp(x_hi, s), np.ldexp(x_lo, s), np.where(near, 0, k + n).astype(np.int32)
''',
    "_dwx_add": '''\
def _dwx_add(a_hi, a_lo, a_k, b_hi, b_lo, b_k):
    """a + b of two scaled double words: at the smaller k (the other one's where a term is 0), the larger-k term
    scaled down to it (the larger of the two there unless both are below 2⁻⁹⁰⁰)."""
    k = np.where(a_hi == 0.0, b_k, np.where(b_hi == 0.0, a_k, np.minimum(a_k, b_k))).astype(np.int32)
    a_hi, a_lo = np.ldexp(a_hi, k - a_k), np.ldexp(a_lo, k - a_k)
    b_hi, b_lo = np.ldexp(b_hi, k - b_k), np.ldexp(b_lo, k - b_k)
    s_hi, s_lo = _dw_add(a_hi, a_lo, b_hi, b_lo)
    return s_hi, s_lo, k
''',
    "_dwx_log": '''\
def _dwx_log(x_hi, x_lo, k):
    """log of the scaled double word x·2^−k: log x − k·ln 2, in double words."""
    y_hi, y_lo = _dw_log(x_hi, x_lo)
    m = -k.astype(np.float64)
    m_hi, m_lo = _dw_two_prod_bounded(m, 0.6931471805599453)
    return _dw_add(y_hi, y_lo, m_hi, m_lo + m * 2.3190468138462996e-17)
''',
    "_dwx_round": '''\
def _dwx_round(x_hi, x_lo, k):
    """(hi + lo)·2^−k rounded once: ldexp rounds hi to the subnormal grid (lo aside); one step of 2⁻¹⁰⁷⁴ more where
    the rest, hi − r·2^k + lo, is past half a step (the grid's step is 2^(k − 1074) in the scaled units)."""
    r = np.ldexp(x_hi, -k)
    rest = (x_hi - np.ldexp(r, k)) + x_lo
    half = np.ldexp(np.ones(np.shape(r)), k - 1075)  # (k ≤ 0: hi is on the grid already, |lo| within half a step)
    sub = (np.abs(r) < 2.0 ** -1022) & (k > 0)
    step = np.where(sub & (rest > half), 5e-324, np.where(sub & (rest < -half), -5e-324, -0.0))
    return r + step  # (r + −0 is r: an underflowed negative value keeps its −0, where −0 + 0 was +0)
''',
    "_dwx_tier": '''\
def _dwx_tier(value, needed, scaled, *leaves, over=None):
    """value again in scaled double words (``scaled``, on those elements alone) where the select takes it and it
    is below 2⁻⁹⁶⁸ (0 too) or a leaf is (not 0): there a double word's lo part, or a subnormal hi's low bits, are
    lost; or where every leaf is finite and ``over`` holds (the double word's hi not finite: an overflow inside, 3y
    of x − 3y + 1 at y = −6e307; by default where value is ±inf or NaN); the scaled value where it is finite."""
    value = np.asarray(value, np.float64)
    shape = np.broadcast_shapes(np.shape(value), np.shape(needed), *(np.shape(x) for x in leaves))
    tiny = np.abs(value) < SCALED_TINY
    finite = True
    for x in leaves:
        tiny = tiny | ((x != 0.0) & (np.abs(x) < SCALED_TINY))
        finite = finite & (np.abs(x) < np.inf)
    tiny = tiny | ((~(np.abs(value) < np.inf) if over is None else over) & finite)
    tiny = np.broadcast_to(tiny & needed, shape)
    if not tiny.any():
        return value
    value = np.array(np.broadcast_to(value, shape), np.float64)
    got = scaled(*(np.broadcast_to(x, shape)[tiny] for x in leaves))
    was = value[tiny]
    # (a zero the value has already keeps its sign: the limits' −0, gelu(−1e300) as torch, but for the scaled value's
    # −0, an underflowed negative value, beside a double word's +0 (hi + lo loses −0: pow47); an infinity the scaled
    # value has is taken for a NaN, inf − inf: 3x − 5y + 7 at x = y = −1.8e308 is inf, not NaN)
    take = (np.isfinite(got) & ((got != 0.0) | (was != 0.0) | np.signbit(got))) | (np.isnan(was) & ~np.isnan(got))
    value[tiny] = np.where(take, got, was)
    return value
'''.replace("SCALED_TINY", repr(SCALED_TINY)),
})
PRIMITIVE_NEEDS.update({
    "_dwx_exp": ("_dw_two_prod_bounded", "_dw_add", "_dw_exp"), "_dwx_exp_negabs": ("_dwx_exp",),
    "_dwx_expm1": ("_dwx_exp", "_dw_expm1"),
    "_dwx_sigmoid_e": ("_dw_add_fp", "_dw_div"), "_dwx_log1p_e": ("_dw_log1p",), "_dwx_softplus_l": ("_dw_add",),
    "_dwx_add": ("_dw_add",), "_dwx_log": ("_dw_log", "_dw_two_prod_bounded", "_dw_add"), "_dwx_norm": ("_dwx_unit",),
})
NUMPY_ONLY += ("_dwx_leaf", "_dwx_unit", "_dwx_norm", "_dwx_exp", "_dwx_exp_negabs", "_dwx_expm1", "_dwx_sigmoid_e",
               "_dwx_log1p_e", "_dwx_softplus_l", "_dwx_softplus_far", "_dwx_add", "_dwx_log", "_dwx_round", "_dwx_tier")
# Triton's scaled double words (session 24, h-tsub24): the same steps, k an int32 tensor, in the elementwise kernel's
# repair specialisation REPAIR_BITS["subnormal"] alone (widened_function). Triton has no ldexp: _dwx_ldexp builds 2ⁿ
# from exponent bits and rounds once. Fewer ldexps than NumPy's: where E = e^−|x| is scaled (k > 0, E < e^−600 <
# 2⁻⁸⁶⁵) 1 + E is 1 and log1p(E) is E to far below a double word's 2⁻¹⁰⁶, so σ, log1p and softplus take E unscaled
# only where k = 0 (no ldexp of E at all)
TRITON_SCALED = {
    "_dwx_ldexp": '''\
def _dwx_ldexp(x, n):
    """x·2ⁿ rounded once (n an int32 tensor, |n| ≤ 4000; Triton has no ldexp): x below 2⁻⁹⁰⁰ first times 2⁶⁰⁰
    (exact), its exponent e from its bits, m = x·2⁻ᵉ in [1, 2) (exact); m·2^(e + n) by 2^(e + n) from exponent bits
    where that is normal (exact; ∞ past the largest), else (m·2^(e + n + 1022))·2⁻¹⁰²²: the first product exact, the
    second rounded once to the subnormal grid. 0, ±∞ and NaN as they are."""
    x = tl.zeros_like(n).to(tl.float64) + x  # (a literal 0.0: a tensor of n's shape)
    small = (tl.abs(x) < LOG_TINY) & (x != 0.0)
    x_up = tl.where(small, x * LOG_UP, x)
    bits = x_up.to(tl.int64, bitcast=True)
    e = ((bits >> 52) & 2047).to(tl.int32) - tl.where(small, 1623, 1023)
    m = ((bits & -9218868437227405313) | 4607182418800017408).to(tl.float64, bitcast=True)
    t = e + n
    normal = m * ((tl.minimum(tl.maximum(t, -1022), 1023).to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    normal = tl.where(t > 1023, normal * 2.0, normal)
    sub = (m * ((tl.maximum(t + 1022, -200).to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)) * MIN_NORMAL
    r = tl.where(t >= -1022, normal, sub)
    return tl.where((x == 0.0) | ~(tl.abs(x) < float("inf")), x, r)
''',
    "_dwx_leaf": '''\
def _dwx_leaf(x):
    """A leaf as a scaled float64 (x·2^k, k): 2⁶⁰⁰ below 2⁻⁹⁰⁰ (a subnormal target), 2⁻⁶⁰⁰ above 2⁹⁰⁰ (a product past
    the range where the value is not: focal's ∂y at (1.7e308, 1/2), as NumPy's), 1 elsewhere."""
    small = (x != 0.0) & (tl.abs(x) < LOG_TINY)
    big = (tl.abs(x) > LEAF_BIG) & (tl.abs(x) < float("inf"))
    return tl.where(small, x * LOG_UP, tl.where(big, x * LEAF_DOWN, x)), tl.where(small, 600, tl.where(big, -600, 0))
''',
    "_dwx_unit": '''\
def _dwx_unit(x):
    """A leaf as a scaled float64 (x·2^k, k) in [1/2, 1), as NumPy's (frexp from the exponent bits: a subnormal x
    first times 2⁵⁴, exact); 0, ±inf and NaN as they are, k = 0."""
    small = tl.abs(x) < MIN_NORMAL
    bits = tl.where(small, x * 18014398509481984.0, x).to(tl.int64, bitcast=True)
    e = ((bits >> 52) & 2047).to(tl.int32) - tl.where(small, 1076, 1022)
    m = ((bits & -9218868437227405313) | 4602678819172646912).to(tl.float64, bitcast=True)
    plain = (x != 0.0) & (tl.abs(x) < float("inf"))
    return tl.where(plain, m, x), tl.where(plain, -e, 0)
''',
    "_dwx_norm": '''\
def _dwx_norm(x_hi, x_lo, k):
    """The scaled double word (hi + lo)·2^−k renormalised as NumPy's: unscaled (k 0) where its value is within 2^±100,
    else hi brought to [1/2, 1) (_dwx_unit) and k by as much (_dwx_ldexp: exact, both words stay normal)."""
    m, n = _dwx_unit(x_hi)
    near = tl.abs(n + k) <= 100
    s = tl.where(near, -k, n)
    return _dwx_ldexp(x_hi, s), _dwx_ldexp(x_lo, s), tl.where(near, 0, k + n)
''',
    "_dwx_exp": '''\
def _dwx_exp(x_hi, x_lo):
    """e^x as a scaled double word (hi + lo = e^x·2^k): k = ⌊−x/ln 2⌋ (within ±2000) below x = −600 and above x = 700
    (as NumPy's: sinh(−711) of x − 3y + sinh(x), which 3y brings back), e^(x + k·ln 2) in double words (k·ln 2 to
    2⁻¹⁰⁶ of itself), so that hi is within [1/2, 1]; 0 elsewhere."""
    k = tl.where((x_hi < -600.0) | (x_hi > 700.0), tl.minimum(tl.maximum(tl.floor(-x_hi * INV_LN2), -2000.0), 2000.0),
                 0.0)
    k_hi, k_lo = _dw_two_prod_bounded(k, LN2_HI)
    a_hi, a_lo = _dw_add(x_hi, x_lo, k_hi, k_lo + k * LN2_LO)
    e_hi, e_lo = _dw_exp(a_hi, a_lo)
    gone = x_hi == -float("inf")  # e^−inf is 0, exactly (as NumPy's: x + k·ln 2 was −inf + c, a NaN lo)
    return tl.where(gone, 0.0, e_hi), tl.where(gone, 0.0, e_lo), tl.where(gone, 0, k).to(tl.int32)
''',
    "_dwx_exp_negabs": '''\
def _dwx_exp_negabs(x_hi, x_lo):
    """e^−|x| as a scaled double word (_dwx_exp)."""
    neg = x_hi < 0.0
    return _dwx_exp(tl.where(neg, x_hi, -x_hi), tl.where(neg, x_lo, -x_lo))
''',
    "_dwx_sigmoid_e": '''\
def _dwx_sigmoid_e(x_hi, x_lo, e_hi, e_lo, k):
    """σ(x) from the scaled E = e^−|x| (_dwx_exp_negabs): 1/(1 + E) for x ≥ 0 (k 0), E/(1 + E) below (E's k);
    1 + E is 1 where E is scaled (k > 0: E < 2⁻⁸⁶⁵)."""
    neg = x_hi < 0.0
    scaled = k > 0
    d_hi, d_lo = _dw_add_fp(tl.where(scaled, 0.0, e_hi), tl.where(scaled, 0.0, e_lo), 1.0)
    r_hi, r_lo = _dw_div(tl.where(neg, e_hi, 1.0), tl.where(neg, e_lo, 0.0), d_hi, d_lo)
    return r_hi, r_lo, tl.where(neg, k, 0)
''',
    "_dwx_log1p_e": '''\
def _dwx_log1p_e(e_hi, e_lo, k):
    """log1p(E) of the scaled E = e^−|x|: E itself where it is scaled (E < e^−600: E²/2 is below 2⁻⁸⁶⁵ of it)."""
    scaled = k > 0
    l_hi, l_lo = _dw_log1p(tl.where(scaled, 0.0, e_hi), tl.where(scaled, 0.0, e_lo))
    return tl.where(scaled, e_hi, l_hi), tl.where(scaled, e_lo, l_lo), k
''',
    "_dwx_softplus_l": '''\
def _dwx_softplus_l(x_hi, x_lo, l_hi, l_lo, k):
    """softplus(x) = max(x, 0) + L from the scaled L = log1p(e^−|x|) (_dwx_log1p_e): L with its k for x < 0;
    x + L for x ≥ 0 (L scaled there only past x = 600, where x + L is x)."""
    neg = x_hi < 0.0
    scaled = k > 0
    s_hi, s_lo = _dw_add(tl.where(scaled, 0.0, l_hi), tl.where(scaled, 0.0, l_lo), x_hi, x_lo)
    return tl.where(neg, l_hi, s_hi), tl.where(neg, l_lo, s_lo), tl.where(neg, k, 0)
''',
    "_dwx_softplus_far": '''\
def _dwx_softplus_far(s_hi, s_lo, s_k, x_hi, x_lo, x_k):
    """softplus(x) = x with x's own scale where x is past 2⁹⁰⁰ (log1p(e^−x) is 0 there), as NumPy's (h-kl36)."""
    far = _dwx_ldexp(x_hi, -x_k) > 2.0 ** 900
    return tl.where(far, x_hi, s_hi), tl.where(far, x_lo, s_lo), tl.where(far, x_k, s_k)
''',
    "_dwx_scale_lo": '''\
def _dwx_scale_lo(x, n):
    """x·2ⁿ for a lo part (n an int32 tensor, −2044 ≤ n ≤ 0 or past: 0): two factors from exponent bits, exact unless
    subnormal, where a second rounding is below 2⁻⁵³ of the hi part beside it (_dwx_ldexp rounds a hi once)."""
    n = tl.maximum(n, -2044)
    half = n // 2
    first = ((half.to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    second = (((n - half).to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    return (x * first) * second
''',
    "_dwx_add": '''\
def _dwx_add(a_hi, a_lo, a_k, b_hi, b_lo, b_k):
    """a + b of two scaled double words: at the smaller k (the other one's where a term is 0), the larger-k term
    scaled down to it (the larger of the two there unless both are below 2⁻⁹⁰⁰): one ldexp, of that term's hi."""
    k = tl.where(a_hi == 0.0, b_k, tl.where(b_hi == 0.0, a_k, tl.minimum(a_k, b_k)))
    a_stays = a_k == k
    d = tl.where(a_stays, k - b_k, k - a_k)  # (≤ 0)
    x_hi = _dwx_ldexp(tl.where(a_stays, b_hi, a_hi), d)
    x_lo = _dwx_scale_lo(tl.where(a_stays, b_lo, a_lo), d)
    s_hi, s_lo = _dw_add(tl.where(a_stays, a_hi, b_hi), tl.where(a_stays, a_lo, b_lo), x_hi, x_lo)
    return s_hi, s_lo, k
''',
    "_dwx_log": '''\
def _dwx_log(x_hi, x_lo, k):
    """log of the scaled double word x·2^−k: log x − k·ln 2, in double words."""
    y_hi, y_lo = _dw_log(x_hi, x_lo)
    m = -k.to(tl.float64)
    m_hi, m_lo = _dw_two_prod_bounded(m, LN2_HI)
    return _dw_add(y_hi, y_lo, m_hi, m_lo + m * LN2_LO)
''',
    "_dwx_round": '''\
def _dwx_round(x_hi, x_lo, k):
    """(hi + lo)·2^−k rounded once: _dwx_ldexp rounds hi to the subnormal grid (lo aside); one step of 2⁻¹⁰⁷⁴ more
    where the rest, hi − r·2^k + lo, is past half a step (the grid's step is 2^(k − 1074) in the scaled units)."""
    r = _dwx_ldexp(x_hi, -k)
    rest = (x_hi - _dwx_ldexp(r, k)) + x_lo
    half = _dwx_ldexp(tl.zeros_like(x_hi) + 1.0, k - 1075)  # (k ≤ 0: hi is on the grid already)
    sub = (tl.abs(r) < MIN_NORMAL) & (k > 0)
    step = tl.where(sub & (rest > half), SUB_STEP, tl.where(sub & (rest < -half), -SUB_STEP, -0.0))
    return r + step  # (r + −0 is r: an underflowed negative value keeps its −0, where −0 + 0 was +0)
''',
}
TRITON_SCALED_NEEDS = {
    "_dwx_exp": ("_dw_two_prod_bounded", "_dw_add", "_dw_exp"), "_dwx_exp_negabs": ("_dwx_exp",),
    "_dwx_sigmoid_e": ("_dw_add_fp", "_dw_div"), "_dwx_log1p_e": ("_dw_log1p",), "_dwx_softplus_l": ("_dw_add",),
    "_dwx_add": ("_dw_add", "_dwx_ldexp", "_dwx_scale_lo"), "_dwx_log": ("_dw_log", "_dw_two_prod_bounded", "_dw_add"),
    "_dwx_round": ("_dwx_ldexp",), "_dwx_softplus_far": ("_dwx_ldexp",), "_dwx_norm": ("_dwx_unit", "_dwx_ldexp"),
}
# NumPy's text serves Triton too where it is written in M. (one definition: registered for both)
for _name in ("_dwx_expm1",):
    TRITON_SCALED[_name], TRITON_SCALED_NEEDS[_name] = PRIMITIVES[_name], PRIMITIVE_NEEDS[_name]
ORDER += ["_tw_mul", "_tw_square", "_tw_div", "_tw_quotient", "_tw_add", "_tw_expm1_reduced", "_tw_exp_reduced", "_tw_log"]  # triple words (above)
ORDER += ["_tw_sum_step", "_tw_sum_round"]  # a sum of triple words rounded once (above)
ORDER += ["_tw_exp_negsquare", "_tw_erf"]  # e^(−x²) and erf of a float64 in triple words (above)
# erfc x of a float64 x from x = 2.5 on in triple words (Triton; session 37, h-erfc37: 1 − erf x below, whose 2⁻¹²⁰ of
# erf leaves 2⁻⁶⁵ of erfc at x = 5.93, 1.2e8–1.9e9 ULP of erfc(x) − fl(erfc x), and past x = 6 the float64 erfc, 5.8e17
# ULP at x = 9.76 where torch's is 6.5e15): Laplace's continued fraction in its even (contracted) form,
#   erfc x = x·e^(−x²)/√π / (b₀ − a₁/(b₁ − a₂/(b₂ − …))),  bₙ = x² + 2n + 1/2,  aₙ = n(2n − 1)/2,
# every partial denominator positive (no cancellation), evaluated backwards from n = ERFC_FRACTION_STEPS (t = aₙ/(bₙ − t),
# each step one _tw_div: stable, its rounding shrinking with each step after it); aₙ and 2n + 1/2 exact, x² = q + e
# exact (TwoProduct), bₙ a triple word by two TwoSums. Its truncation, measured with mpmath at 80 digits: below
# 2⁻¹¹⁸ of erfc x from x = 2.5 at 80 steps (120 at x = 2, 444 at x = 1: the series takes x below 2.5, where 1 − erf
# keeps 2⁻¹⁰⁹ of erfc or more). e^(−x²) = 2^p·g by _tw_exp_negsquare (as _tw_erf), 2^p taken last: a subnormal
# erfc (x > 26.55) is its hi rounded once where it leaves a lo. 0 past x = 27.5 (2⁻¹⁰⁹¹ there)
ERFC_FRACTION_FROM = 2.5
ERFC_FRACTION_STEPS = 80
_CONSTANTS.update({"ERFC_FRACTION_FROM": ERFC_FRACTION_FROM, "ERFC_FRACTION_STEPS": ERFC_FRACTION_STEPS,
                   "ERFC_FRACTION_FIRST_C": 2.0 * ERFC_FRACTION_STEPS + 0.5,
                   "ERFC_FRACTION_FIRST_A": ERFC_FRACTION_STEPS * (2.0 * ERFC_FRACTION_STEPS - 1) / 2})
PRIMITIVES["_tw_erfc_fraction"] = '''\
def _tw_erfc_fraction(x):
    """erfc x of a float64 x ≥ 2.5 as a triple word, about 2⁻¹¹⁵ relative where it is normal: x·e^(−x²)/√π over
    Laplace's continued fraction in its even form, b₀ − a₁/(b₁ − a₂/(b₂ − …)) with bₙ = x² + 2n + 1/2 and
    aₙ = n(2n − 1)/2, backwards from n = 80 in triple words (x clamped to [2.5, 27.5]; 0 beyond 27.5)."""
    a = M.minimum(M.maximum(x, ERFC_FRACTION_FROM), 27.5)
    q_hi, q_lo = _dw_two_prod(a, a)
    c = ERFC_FRACTION_FIRST_C + 0.0 * a  # 2n + 1/2
    k = ERFC_FRACTION_FIRST_A + 0.0 * a  # aₙ = n(2n − 1)/2
    t_hi, t_lo, t_tail = 0.0 * a, 0.0 * a, 0.0 * a
    # a loop, not unrolled (Triton compiles its body once): t = aₙ/(bₙ − t) for n = 80, 79, …, 1
    for step in range(ERFC_FRACTION_STEPS):
        b_hi, b_e = _dw_two_sum(q_hi, c)
        b_lo, b_tail = _dw_two_sum(b_e, q_lo)
        d_hi, d_lo, d_tail = _tw_add(b_hi, b_lo, b_tail, -t_hi, -t_lo, -t_tail)
        t_hi, t_lo, t_tail = _tw_div(k, 0.0 * k, 0.0 * k, d_hi, d_lo, d_tail)
        c = c - 2.0
        k = k - c  # aₙ₋₁ = aₙ − (2(n − 1) + 1/2)
    b_hi, b_e = _dw_two_sum(q_hi, 0.5)
    b_lo, b_tail = _dw_two_sum(b_e, q_lo)
    d_hi, d_lo, d_tail = _tw_add(b_hi, b_lo, b_tail, -t_hi, -t_lo, -t_tail)
    r_hi, r_lo, r_tail = _tw_div(0.5 * a, 0.0 * a, 0.0 * a, d_hi, d_lo, d_tail)  # (x/2)/(b₀ − t₁)
    r_hi, r_lo, r_tail = _tw_mul(r_hi, r_lo, r_tail, TWO_OVER_SQRT_PI_HI, TWO_OVER_SQRT_PI_LO, TWO_OVER_SQRT_PI_TAIL)
    p, g_hi, g_lo, g_tail = _tw_exp_negsquare(a)  # e^(−x²)·2⁻ᵖ
    f_hi, f_lo, f_tail = _tw_mul(r_hi, r_lo, r_tail, g_hi, g_lo, g_tail)
    s_hi, s_lo = _dw_scale(f_hi, f_lo, p)
    s_tail, s_zero = _dw_scale(f_tail, 0.0 * f_tail, p)
    # a subnormal erfc: s_hi is f_hi rounded alone; what that left, with f_lo, added back (one rounding)
    u_hi, u_lo = _dw_scale(s_hi, 0.0 * s_hi, -p)
    back, back_zero = _dw_scale((f_hi - u_hi) + f_lo, 0.0 * f_lo, p)
    tiny = M.abs(s_hi) < 2.2250738585072014e-308
    s_hi, s_lo, s_tail = M.where(tiny, s_hi + back, s_hi), M.where(tiny, 0.0, s_lo), M.where(tiny, 0.0, s_tail)
    far = x > 27.5
    return M.where(far, 0.0, s_hi), M.where(far, 0.0, s_lo), M.where(far, 0.0, s_tail)
'''
PRIMITIVE_NEEDS["_tw_erfc_fraction"] = ("_dw_two_prod", "_dw_two_sum", "_tw_add", "_tw_div", "_tw_mul",
                                        "_tw_exp_negsquare", "_dw_scale")
ORDER += ["_tw_erfc_fraction"]
# erfc of a float64 in triple words in Triton (session 36, h-triton36; NumPy's _tw_erfc is table-driven, a table Triton
# would load from memory): below x = 2.5, 1 − erf x with _tw_erf's triple word, about 2⁻¹²⁰/erfc x relative (1 − erf x
# cancels where erf nears 1: 2⁻¹⁰⁹ at 2.5); from |x| = 2.5 the continued fraction of |x| (_tw_erfc_fraction, above),
# 2 − it for x ≤ −2.5 (erfc(x) − 2 at x = −9.92 was 1 − erf's float64 erfc|x| past 6, 1.7 ULP); NaN by the series.
# erfc(x) − y at y = fl(erfc x) (tests/test_round22.py) was the float64 erfc's rounding, up to 1.15e18 ULP
PRIMITIVES["_tw_erfc_series"] = '''\
def _tw_erfc_series(x):
    """erfc x of a float64 x as a triple word: 1 − erf x (_tw_erf) for |x| < 2.5, about 2⁻¹²⁰/erfc x relative; the
    continued fraction of |x| beyond (_tw_erfc_fraction), about 2⁻¹¹⁵ relative, 2 − it for x ≤ −2.5."""
    e_hi, e_lo, e_tail = _tw_erf(x)
    n_hi, n_lo, n_tail = _tw_add(1.0 + 0.0 * e_hi, 0.0 * e_hi, 0.0 * e_hi, -e_hi, -e_lo, -e_tail)
    f_hi, f_lo, f_tail = _tw_erfc_fraction(M.abs(x))
    m_hi, m_lo, m_tail = _tw_add(2.0 + 0.0 * f_hi, 0.0 * f_hi, 0.0 * f_hi, -f_hi, -f_lo, -f_tail)
    near = ~(M.abs(x) >= ERFC_FRACTION_FROM)
    f_hi, f_lo, f_tail = M.where(x < 0, m_hi, f_hi), M.where(x < 0, m_lo, f_lo), M.where(x < 0, m_tail, f_tail)
    return M.where(near, n_hi, f_hi), M.where(near, n_lo, f_lo), M.where(near, n_tail, f_tail)
'''
PRIMITIVE_NEEDS["_tw_erfc_series"] = ("_tw_erf", "_tw_add", "_tw_erfc_fraction")
ORDER += ["_tw_erfc_series"]
# erf's step from x_hi to a triple word x_hi + d, shared by erfc and erf of a triple word (session 41)
PRIMITIVES["_tw_erf_step"] = '''\
def _tw_erf_step(x_hi, x_lo, x_tail):
    """erf(x_hi + d) − erf(x_hi) = (2/√π)·e^(−x_hi²)·(d − x_hi·d²) to second order in d = x_lo + x_tail, as a double
    word; 0 past |x_hi| = 27.5, where e^(−x_hi²) is 0 (no inf − inf)."""
    near = M.abs(x_hi) < 27.5
    l_hi, l_lo = _dw_two_sum(x_lo, x_tail)
    l_hi, l_lo = M.where(near, l_hi, 0.0), M.where(near, l_lo, 0.0)
    b = M.where(near, x_hi, 0.0)
    s_hi, s_lo = _dw_two_prod(b, b)
    g_hi, g_lo = _dw_exp(-s_hi, -s_lo)
    g_hi, g_lo = _dw_mul(g_hi, g_lo, TWO_OVER_SQRT_PI_HI, TWO_OVER_SQRT_PI_LO)
    m_hi, m_lo = _dw_add_fp(l_hi, l_lo, -b * l_hi * l_hi)
    return _dw_mul(g_hi, g_lo, m_hi, m_lo)
'''
PRIMITIVE_NEEDS["_tw_erf_step"] = ("_dw_two_sum", "_dw_two_prod", "_dw_exp", "_dw_mul", "_dw_add_fp")
ORDER += ["_tw_erf_step"]
# erfc of a triple word x = x_hi + d (d = x_lo + x_tail, a double word: erfc of a quotient, of −v/√2 in Φ(v); session
# 38, h-triton38): erfc(x_hi + d) = erfc(x_hi) − (2/√π)·e^(−x_hi²)·(d − x_hi·d²) to within x⁴·d³ relative (below 2⁻¹⁴⁰
# where the series runs), e^(−x_hi²) by _dw_exp of the exact x_hi²; 0 correction past |x_hi| = 27.5 (e^(−x²) is 0
# there: no inf − inf in its double words). Before, Triton's third tier took erfc and Φ of a double word in float64, and
# gelu(x/y)⁻²'s ∂x and ∂y, whose two products cancel near gelu′'s root, had no third tier (36 and 38 ULP, torch 70, 96)
PRIMITIVES["_tw_erfc_words"] = '''\
def _tw_erfc_words(x_hi, x_lo, x_tail):
    """erfc(x_hi + x_lo + x_tail) as a triple word: erfc x_hi by _tw_erfc_series, less (2/√π)·e^(−x_hi²)·(d − x_hi·d²),
    d = x_lo + x_tail (second order in d): about 2⁻¹¹⁵/erfc x relative."""
    d_hi, d_lo = _tw_erf_step(x_hi, x_lo, x_tail)
    r_hi, r_lo, r_tail = _tw_erfc_series(x_hi)
    return _tw_add(r_hi, r_lo, r_tail, -d_hi, -d_lo, 0.0 * d_hi)
'''
PRIMITIVE_NEEDS["_tw_erfc_words"] = ("_tw_erf_step", "_tw_erfc_series", "_tw_add")
ORDER += ["_tw_erfc_words"]
# erf of a triple word x = x_hi + d likewise (session 41, h-erf41: erf of a quotient in the third tier, where
# erf(x/y) − z cancels past what _dw_erf_words's 2⁻¹⁰⁴ keeps: 212 ULP at (0.2058, 0.7, 0.3224) with z = erf(x/y)
# rounded, torch 8.8e15): erf(x_hi + d) = erf(x_hi) + (2/√π)·e^(−x_hi²)·(d − x_hi·d²), erf x_hi by _tw_erf (about
# 2⁻¹²⁰ up to 6, 2⁻¹⁰⁸ beyond), the correction in double words (d ≤ 2⁻⁵²·|x|: its own error below 2⁻¹⁵⁰ of erf); 0 correction past
# |x_hi| = 27.5 (e^(−x²) 0 there: no inf − inf)
PRIMITIVES["_tw_erf_words"] = '''\
def _tw_erf_words(x_hi, x_lo, x_tail):
    """erf(x_hi + x_lo + x_tail) as a triple word: erf x_hi by _tw_erf, plus (2/√π)·e^(−x_hi²)·(d − x_hi·d²),
    d = x_lo + x_tail (second order in d): about 2⁻¹²⁰ relative up to |x_hi| = 6, 2⁻¹⁰⁸ beyond (_tw_erf's float64
    erfc)."""
    d_hi, d_lo = _tw_erf_step(x_hi, x_lo, x_tail)
    r_hi, r_lo, r_tail = _tw_erf(x_hi)
    return _tw_add(r_hi, r_lo, r_tail, d_hi, d_lo, 0.0 * d_hi)
'''
PRIMITIVE_NEEDS["_tw_erf_words"] = ("_tw_erf_step", "_tw_erf", "_tw_add")
ORDER += ["_tw_erf_words"]
# Φ(x) = erfc(a)/2 likewise, a = −x/√2 = a_hi + l, l a double word (x times 1/√2's three parts, each product exact
# but the last: a double word of a left 2⁻¹⁰⁶·a, erfc′·2⁻¹⁰⁶·a = 2a²·2⁻¹⁰⁶ of erfc, 7 ULP of Φ(x) − y at x = −3):
# erfc(a_hi + l) by _tw_erfc_words
_CONSTANTS.update({"SQRT_HALF_HI": 0.7071067811865476, "SQRT_HALF_LO": -4.833646656726457e-17, "SQRT_HALF_TAIL": 2.0693376543497068e-33})  # 1/√2 (mpmath)
PRIMITIVES["_tw_ndtr_series"] = '''\
def _tw_ndtr_series(x):
    """Φ(x) of a float64 x as a triple word, erfc(−x/√2)/2 by _tw_erfc_words: about 2⁻¹²⁰/Φ(x) relative."""
    a_hi, p_lo = _dw_two_prod(x, -SQRT_HALF_HI)
    q_hi, q_lo = _dw_two_prod(x, -SQRT_HALF_LO)
    l_hi, l_lo = _dw_two_sum(p_lo, q_hi)
    r_hi, r_lo, r_tail = _tw_erfc_words(a_hi, l_hi, l_lo + (q_lo - x * SQRT_HALF_TAIL))
    return 0.5 * r_hi, 0.5 * r_lo, 0.5 * r_tail
'''
PRIMITIVE_NEEDS["_tw_ndtr_series"] = ("_dw_two_prod", "_dw_two_sum", "_tw_erfc_words")
ORDER += ["_tw_ndtr_series"]
ORDER += ["_dw_exp_short", "_dw_exp_table"]  # a whole kernel in double words (double_word_block): its e^x


# sin and cos of a double-word (Cody & Waite's reduction, π/2 in five parts, and a Taylor core; Muller, "Elementary
# Functions", 3rd ed., ch. 11.2): x = k·π/2 + r with |r| ≤ π/4, k·PIO2_A, k·PIO2_B, k·PIO2_C exact (31, 32 and 28
# significant bits: exact for |k| < 2²¹), k·PIO2_D exact by TwoProduct, x − k·PIO2_A exact (Sterbenz), the rest of
# the difference in double-word; π/2 is held to 2⁻²¹⁰ (four parts, 2⁻¹⁵², left sin(fl π) = 1.2e−16 2⁻⁹⁸ off: 4.4 ULP
# of y + sin x at y = −fl(sin(fl π))). SIN_LIMIT = 2²¹ (k ≤ 1,335,088 < 2²¹; session 47, h-trig47: it was 1e5): each
# double-word step is within 2⁻¹⁰⁵ of its partial sum, the largest r + k·(PIO2_C + …) ≤ k·2⁻⁶⁸·⁷, so r is within
# k·2⁻¹⁷³·⁷ + 2⁻¹⁰⁵·|r|; the least |r| of a double in each binade [2^e, 2^(e+1)) (Muller ch. 11.3: the continued
# fraction of 2^(e−52)/(π/2), its convergents' denominators below 2⁵³) is 2⁻⁶⁰·⁵ (x = 45.55, k = 29), 2⁻⁵²·⁷ to
# 2⁻⁵⁴·³ for e = 15 … 21: r to 2⁻⁹⁸ of itself or better up to 2²¹ (2⁻¹⁰⁵ below 1e5, as before; benchmarks/
# trig47_worst_r.py). Beyond it the reduction would need more parts or Payne & Hanek's: the functions return NaN
# there, and the widened function then takes its float64 body (NumPy's sin, whose sum cancels as before: y + sin x at
# x = −6.07e229, 8113 ULP, as torch's).
# The series in z = r²: the terms down to 2⁻⁵³ of the sum in double-word, the rest in float64 (below 2⁻¹⁰⁶).
_SIN_DW_TERMS, _SIN_TERMS = 7, 13  # sin r = r + r·Σ_{n≥1} (−1)ⁿ zⁿ/(2n + 1)!: z⁸/17! < 2⁻⁵³, z¹⁴/29! < 2⁻¹⁰⁶ (z ≤ 0.617)
_COS_DW_TERMS, _COS_TERMS = 8, 14  # cos r = 1 + Σ_{n≥1} (−1)ⁿ zⁿ/(2n)!: z⁹/18! < 2⁻⁵³, z¹⁵/30! < 2⁻¹⁰⁶


def _inverse_factorial(n: int) -> tuple:
    """1/n! as a double-word (hi, lo), exactly rounded parts."""
    from fractions import Fraction
    exact = Fraction(1, math.factorial(n))
    hi = float(exact)
    return hi, float(exact - Fraction(hi))


_CONSTANTS.update({"PIO2_A": 1.5707963267341256, "PIO2_B": 6.077100506303966e-11, "PIO2_C": 2.0222662487111665e-21,
                   "PIO2_D": 8.4784276603689e-32, "PIO2_E": 7.398504768267704e-49, "TWO_OVER_PI": 0.6366197723675814,
                   "SIN_LIMIT": 2097152.0})  # 2²¹ (above)
for _n in range(2, 2 * _COS_TERMS + 2):
    _CONSTANTS[f"INVF{_n}_HI"], _CONSTANTS[f"INVF{_n}_LO"] = _inverse_factorial(_n)
    _CONSTANTS[f"NINVF{_n}_HI"], _CONSTANTS[f"NINVF{_n}_LO"] = (-c for c in _inverse_factorial(_n))  # −1/n!


def _series_text(result: str, dw_terms: int, terms: int, odd: bool) -> str:
    """The lines of P(z) = Σ_{n=1}^{terms} (−1)ⁿ zⁿ⁻¹/(2n + odd)! by Horner: the float64 tail from z_hi, then the
    double-word terms; ``result``_hi/_lo hold it."""
    def fact(n):
        return 2 * n + (1 if odd else 0)
    lines = [f"    {result}_hi = {'N' if terms % 2 else ''}INVF{fact(terms)}_HI"]
    for n in range(terms - 1, dw_terms, -1):
        lines.append(f"    {result}_hi = {result}_hi * z_hi {'-' if n % 2 else '+'} INVF{fact(n)}_HI")
    lines.append(f"    {result}_lo = 0.0 * z_hi")
    for n in range(dw_terms, 0, -1):
        sign = "N" if n % 2 else ""
        lines.append(f"    {result}_hi, {result}_lo = _dw_mul({result}_hi, {result}_lo, z_hi, z_lo)")
        lines.append(f"    {result}_hi, {result}_lo = _dw_add({result}_hi, {result}_lo, {sign}INVF{fact(n)}_HI, "
                     f"{sign}INVF{fact(n)}_LO)")
    return "\n".join(lines) + "\n"


PRIMITIVES.update({
    "_dw_sincos_reduced": '''\
def _dw_sincos_reduced(x_hi, x_lo):
    """(j, sin r, cos r) with x = k·π/2 + r, |r| ≤ π/4, j = k mod 4, each a double-word; NaN past |x| = SIN_LIMIT."""
    inside = M.abs(x_hi) <= SIN_LIMIT
    x = M.where(inside, x_hi, 0.0)
    k = M.floor(x * TWO_OVER_PI + 0.5)
    j = k - 4.0 * M.floor(k * 0.25)
    r_hi, r_lo = _dw_two_sum(x - k * PIO2_A, M.where(inside, x_lo, 0.0))
    r_hi, r_lo = _dw_add_fp(r_hi, r_lo, -k * PIO2_B)
    r_hi, r_lo = _dw_add_fp(r_hi, r_lo, -k * PIO2_C)
    d_hi, d_lo = _dw_two_prod(k, PIO2_D)
    r_hi, r_lo = _dw_add(r_hi, r_lo, -d_hi, -(d_lo + k * PIO2_E))
    z_hi, z_lo = _dw_mul(r_hi, r_lo, r_hi, r_lo)
''' + _series_text("ps", _SIN_DW_TERMS, _SIN_TERMS, True) + _series_text("pc", _COS_DW_TERMS, _COS_TERMS, False) + '''\
    ps_hi, ps_lo = _dw_mul(ps_hi, ps_lo, z_hi, z_lo)
    ps_hi, ps_lo = _dw_mul(ps_hi, ps_lo, r_hi, r_lo)
    s_hi, s_lo = _dw_add(r_hi, r_lo, ps_hi, ps_lo)
    pc_hi, pc_lo = _dw_mul(pc_hi, pc_lo, z_hi, z_lo)
    c_hi, c_lo = _dw_add_fp(pc_hi, pc_lo, 1.0)
    j = M.where(inside, j, float("nan"))
    return j, s_hi, s_lo, c_hi, c_lo
''',
    "_dw_sin": '''\
def _dw_sin(x_hi, x_lo):
    """sin x of a double-word, |x| ≤ SIN_LIMIT (NaN beyond): ±sin r or ±cos r by the quadrant j."""
    j, s_hi, s_lo, c_hi, c_lo = _dw_sincos_reduced(x_hi, x_lo)
    odd = (j == 1.0) | (j == 3.0)
    sign = M.where(j >= 2.0, -1.0, M.where(j >= 0.0, 1.0, float("nan")))
    return sign * M.where(odd, c_hi, s_hi), sign * M.where(odd, c_lo, s_lo)
''',
    "_dw_cos": '''\
def _dw_cos(x_hi, x_lo):
    """cos x of a double-word, |x| ≤ SIN_LIMIT (NaN beyond): cos x = sin(x + π/2), ±cos r or ∓sin r by j."""
    j, s_hi, s_lo, c_hi, c_lo = _dw_sincos_reduced(x_hi, x_lo)
    odd = (j == 1.0) | (j == 3.0)
    sign = M.where((j == 1.0) | (j == 2.0), -1.0, M.where(j >= 0.0, 1.0, float("nan")))
    return sign * M.where(odd, s_hi, c_hi), sign * M.where(odd, s_lo, c_lo)
''',
})
PRIMITIVE_NEEDS.update({
    "_dw_sincos_reduced": ("_dw_two_sum", "_dw_add_fp", "_dw_add", "_dw_two_prod", "_dw_mul"),
    "_dw_sin": ("_dw_sincos_reduced",), "_dw_cos": ("_dw_sincos_reduced",),
})


def _one_series_text() -> str:
    """The lines of the one series P(z) that sin(r + j·π/2) needs, by Horner with each coefficient picked per element
    (``cosine``: j odd, the cosine's 1/(2n)!, else the sine's 1/(2n + 1)!): the float64 tail from z_hi, then the
    double-word terms; p_hi/p_lo hold it. The sine takes the cosine's term count (one term more than its own: below
    2⁻¹¹⁰ either way).

    Each double-word step p → c + p·z in one piece, some 24 operations where _dw_mul_bounded and _dw_add take 44:
    z_hi split once (zh + zl), p·z as t + e unnormalised (Dekker's product, e its error and the lo parts' cross terms),
    then c + t by Fast2Sum, exact because |t| < |c|/16 (z ≤ (π/4)² and the coefficients' ratios 1/((2n + 1)(2n + 2))
    or less: no cancellation either), e and c's lo part added to its error, and one Fast2Sum to normalise: about 3u²
    of c + p·z a step, as _dw_add's."""
    def pick(n, part):
        sign = "N" if n % 2 else ""
        return f"M.where(cosine, {sign}INVF{2 * n}_{part}, {sign}INVF{2 * n + 1}_{part})"
    lines = [f"    p_hi = {pick(_COS_TERMS, 'HI')}"]
    for n in range(_COS_TERMS - 1, _COS_DW_TERMS, -1):
        lines.append(f"    p_hi = p_hi * z_hi + {pick(n, 'HI')}")
    lines += ["    p_lo = 0.0 * z_hi", "    zc = SPLITTER * z_hi", "    zh = zc - (zc - z_hi)", "    zl = z_hi - zh"]
    for n in range(_COS_DW_TERMS, 0, -1):
        lines += ["    t = p_hi * z_hi",
                  "    pc = SPLITTER * p_hi",
                  "    ph = pc - (pc - p_hi)",
                  "    pl = p_hi - ph",
                  "    e = (((ph * zh - t) + ph * zl + pl * zh) + pl * zl) + (p_hi * z_lo + p_lo * z_hi)",
                  f"    c_hi = {pick(n, 'HI')}",
                  "    s = c_hi + t",
                  f"    e = (t - (s - c_hi)) + ({pick(n, 'LO')} + e)",
                  "    p_hi = s + e",
                  "    p_lo = e - (p_hi - s)"]
    return "\n".join(lines) + "\n"


# NumPy: sin x and cos x by one series per element, not both (_dw_sincos_reduced's two, of which _dw_sin and _dw_cos
# keep one): y + sin(x)'s float64 kernel spent most of its time there (task h-cost20). Triton keeps the two series (a
# GPU lane computes both branches of a select anyway; one series with selected coefficients is not cheaper there).
PRIMITIVES["_dw_sin_shifted"] = '''\
def _dw_sin_shifted(x_hi, x_lo, q):
    """sin(x + q·π/2) of a double-word x, q = 0 (sin x) or 1 (cos x), |x| ≤ SIN_LIMIT (NaN beyond): x = k·π/2 + r,
    |r| ≤ π/4 as _dw_sincos_reduced, j = (k + q) mod 4, and ±sin r (j even) or ±cos r (j odd) by one series in
    z = r², its coefficients picked per element: sin r = r + r·z·P(z), cos r = 1 + 1·z·P(z)."""
    inside = M.abs(x_hi) <= SIN_LIMIT
    x = M.where(inside, x_hi, 0.0)
    k = M.floor(x * TWO_OVER_PI + 0.5)
    j = (k + q) - 4.0 * M.floor((k + q) * 0.25)
    r_hi, r_lo = _dw_two_sum(x - k * PIO2_A, M.where(inside, x_lo, 0.0))
    r_hi, r_lo = _dw_add_fp(r_hi, r_lo, -k * PIO2_B)
    r_hi, r_lo = _dw_add_fp(r_hi, r_lo, -k * PIO2_C)
    d_hi, d_lo = _dw_two_prod(k, PIO2_D)
    r_hi, r_lo = _dw_add(r_hi, r_lo, -d_hi, -(d_lo + k * PIO2_E))
    z_hi, z_lo = _dw_mul_bounded(r_hi, r_lo, r_hi, r_lo)
    cosine = (j == 1.0) | (j == 3.0)  # (below 1 in magnitude: products without the splitting's guard)
''' + _one_series_text() + '''\
    p_hi, p_lo = _dw_mul_bounded(p_hi, p_lo, z_hi, z_lo)
    m_hi = M.where(cosine, 1.0, r_hi)
    m_lo = M.where(cosine, 0.0, r_lo)
    p_hi, p_lo = _dw_mul_bounded(p_hi, p_lo, m_hi, m_lo)
    v_hi, v_lo = _dw_add(m_hi, m_lo, p_hi, p_lo)
    sign = M.where(inside, M.where(j >= 2.0, -1.0, 1.0), float("nan"))
    return sign * v_hi, sign * v_lo
'''
PRIMITIVE_NEEDS["_dw_sin_shifted"] = ("_dw_two_sum", "_dw_add_fp", "_dw_add", "_dw_two_prod", "_dw_mul_bounded")
_NUMPY_SIN = '''\
def _dw_sin(x_hi, x_lo):
    """sin x of a double-word, |x| ≤ SIN_LIMIT (NaN beyond): _dw_sin_shifted with q = 0."""
    return _dw_sin_shifted(x_hi, x_lo, 0.0)
'''
_NUMPY_COS = '''\
def _dw_cos(x_hi, x_lo):
    """cos x of a double-word, |x| ≤ SIN_LIMIT (NaN beyond): sin(x + π/2), _dw_sin_shifted with q = 1."""
    return _dw_sin_shifted(x_hi, x_lo, 1.0)
'''
_NUMPY_NEEDS.update({"_dw_sin": ("_dw_sin_shifted",), "_dw_cos": ("_dw_sin_shifted",)})
ORDER += ["_dw_sincos_reduced", "_dw_sin_shifted", "_dw_sin", "_dw_cos"]  # sin and cos (above)


# sin, cos and √ of a triple word (trig48: NumPy's third tier takes sums of products of sines, cosines and roots):
# ∂m of the ArcFace logit s·(c·cos m − √(1 − c²)·sin m), −s·(c·sin m + √(1 − c²)·cos m), cancels at c = −cos m to
# 2⁻⁶² of its terms at points as plain as m = 1.214, where the double words' 2⁻¹⁰⁵ left 143 ULP (∂c, 86). The reduction
# is _dw_sin_shifted's, each part of π/2 (to 2⁻²¹⁰) taken off in triple words (k·PIO2_A, k·PIO2_B, k·PIO2_C exact,
# k·PIO2_D and k·PIO2_E by TwoProduct); the series in z = r² to n = _TW_SIN_TERMS (z¹⁹/38! below 2⁻¹⁵⁰), its terms
# from n = _TW_SIN_FLOAT + 1 on in float64 (z¹³/26! is 2⁻⁹⁷, so their roundings are 2⁻¹⁵⁰ of 1), the rest in triple
# words with the coefficients 1/n! to 159 bits. Triton's third tier keeps the double words (not capable there).
_TW_SIN_TERMS, _TW_SIN_FLOAT = 19, 12


def _triple_inverse_factorial(n: int) -> tuple:
    """1/n! as a triple word (hi, lo, tail), each the rounding of what the ones before leave."""
    from fractions import Fraction
    exact = Fraction(1, math.factorial(n))
    hi = float(exact)
    lo = float(exact - Fraction(hi))
    return hi, lo, float(exact - Fraction(hi) - Fraction(lo))


for _n in range(2, 2 * _TW_SIN_TERMS + 2):
    for _part, _v in zip(("HI", "LO", "TAIL"), _triple_inverse_factorial(_n)):
        _CONSTANTS[f"TINVF{_n}_{_part}"], _CONSTANTS[f"NTINVF{_n}_{_part}"] = _v, -_v


def _triple_series_text() -> str:
    """The lines of P(z) = Σ_{n≥1} (−1)ⁿ zⁿ⁻¹/(2n + odd)! of a triple word z by Horner, each coefficient picked per
    element (``cosine``: 1/(2n)!, else 1/(2n + 1)!): the float64 tail from z_hi, then the triple-word terms."""
    def pick(n, part):
        sign = "N" if n % 2 else ""
        return f"M.where(cosine, {sign}TINVF{2 * n}_{part}, {sign}TINVF{2 * n + 1}_{part})"
    lines = [f"    p_hi = {pick(_TW_SIN_TERMS, 'HI')}"]
    for n in range(_TW_SIN_TERMS - 1, _TW_SIN_FLOAT, -1):
        lines.append(f"    p_hi = p_hi * z_hi + {pick(n, 'HI')}")
    lines += ["    p_lo = 0.0 * z_hi", "    p_tail = 0.0 * z_hi"]
    for n in range(_TW_SIN_FLOAT, 0, -1):
        lines += ["    p_hi, p_lo, p_tail = _tw_mul(p_hi, p_lo, p_tail, z_hi, z_lo, z_tail)",
                  f"    p_hi, p_lo, p_tail = _tw_add(p_hi, p_lo, p_tail, {pick(n, 'HI')}, {pick(n, 'LO')}, "
                  f"{pick(n, 'TAIL')})"]
    return "\n".join(lines) + "\n"


PRIMITIVES["_tw_sin_shifted"] = '''\
def _tw_sin_shifted(x_hi, x_lo, x_tail, q):
    """sin(x + q·π/2) of a triple word x, q = 0 (sin x) or 1 (cos x), |x_hi| ≤ SIN_LIMIT (NaN beyond), as a triple
    word: x = k·π/2 + r as _dw_sin_shifted's reduction, r in triple words (π/2 to 2⁻²¹⁰; about 2⁻¹⁵⁰ of |r| + k·2⁻³⁴),
    then ±sin r (j even) or ±cos r (j odd), j = (k + q) mod 4, by one series in z = r² (_triple_series_text): about
    2⁻¹⁴⁵ relative."""
    inside = M.abs(x_hi) <= SIN_LIMIT
    x = M.where(inside, x_hi, 0.0)
    k = M.floor(x * TWO_OVER_PI + 0.5)
    j = (k + q) - 4.0 * M.floor((k + q) * 0.25)
    a_hi, a_lo = _dw_two_sum(x - k * PIO2_A, -(k * PIO2_B))
    d_hi, d_lo = _dw_two_prod(k, PIO2_D)
    b_hi, b_lo = _dw_two_sum(-(k * PIO2_C), -d_hi)
    r_hi, r_lo, r_tail = _tw_add(a_hi, a_lo, 0.0 * x, b_hi, b_lo, -(d_lo + k * PIO2_E))
    r_hi, r_lo, r_tail = _tw_add(r_hi, r_lo, r_tail, M.where(inside, x_lo, 0.0), M.where(inside, x_tail, 0.0), 0.0 * x)
    z_hi, z_lo, z_tail = _tw_square(r_hi, r_lo, r_tail)
    cosine = (j == 1.0) | (j == 3.0)
''' + _triple_series_text() + '''\
    p_hi, p_lo, p_tail = _tw_mul(p_hi, p_lo, p_tail, z_hi, z_lo, z_tail)
    m_hi = M.where(cosine, 1.0, r_hi)
    m_lo = M.where(cosine, 0.0, r_lo)
    m_tail = M.where(cosine, 0.0, r_tail)
    p_hi, p_lo, p_tail = _tw_mul(p_hi, p_lo, p_tail, m_hi, m_lo, m_tail)
    v_hi, v_lo, v_tail = _tw_add(m_hi, m_lo, m_tail, p_hi, p_lo, p_tail)
    sign = M.where(inside, M.where(j >= 2.0, -1.0, 1.0), float("nan"))
    return sign * v_hi, sign * v_lo, sign * v_tail
'''
PRIMITIVES["_tw_sin"] = '''\
def _tw_sin(x_hi, x_lo, x_tail):
    """sin x of a triple word, |x_hi| ≤ SIN_LIMIT (NaN beyond): _tw_sin_shifted with q = 0."""
    return _tw_sin_shifted(x_hi, x_lo, x_tail, 0.0)
'''
PRIMITIVES["_tw_cos"] = '''\
def _tw_cos(x_hi, x_lo, x_tail):
    """cos x of a triple word, |x_hi| ≤ SIN_LIMIT (NaN beyond): sin(x + π/2), _tw_sin_shifted with q = 1."""
    return _tw_sin_shifted(x_hi, x_lo, x_tail, 1.0)
'''
PRIMITIVES["_tw_sqrt"] = '''\
def _tw_sqrt(x_hi, x_lo, x_tail):
    """√x of a triple word x ≥ 0 as a triple word: s = _dw_sqrt's double word (about 2⁻¹⁰⁴), then one Newton step
    s + (x − s²)/(2s), x − s² in triple words (s² by _tw_square), the correction (2⁻¹⁰⁴ of s) in float64: about
    2⁻¹⁵⁰ relative where x is above 2⁻⁸⁰⁰ (2⁻⁸⁰ at 1e−300, where the low words are subnormal); 0 at x = 0."""
    s_hi, s_lo = _dw_sqrt(x_hi, x_lo)
    q_hi, q_lo, q_tail = _tw_square(s_hi, s_lo, 0.0 * s_hi)
    d_hi, d_lo, d_tail = _tw_add(x_hi, x_lo, x_tail, -q_hi, -q_lo, -q_tail)
    positive = s_hi > 0.0
    c = (d_hi + d_lo) / (2.0 * M.where(positive, s_hi, 1.0))
    return _tw_add(s_hi, s_lo, 0.0 * s_hi, M.where(positive, c, 0.0), 0.0 * s_hi, 0.0 * s_hi)
'''
PRIMITIVE_NEEDS.update({"_tw_sin_shifted": ("_dw_two_sum", "_dw_two_prod", "_tw_add", "_tw_square", "_tw_mul"),
                        "_tw_sin": ("_tw_sin_shifted",), "_tw_cos": ("_tw_sin_shifted",),
                        "_tw_sqrt": ("_dw_sqrt", "_tw_square", "_tw_add")})
ORDER += ["_tw_sin_shifted", "_tw_sin", "_tw_cos", "_tw_sqrt"]  # (above: NumPy's third tier)


# The third tier (issue 16, session 20): the functions of a widened sum in triple words, for the elements where even
# its double word is not enough (the focal loss's ∂t at its zeros, 2⁻⁵⁹·⁶ of its terms: 84 ULP from double words'
# 2⁻¹⁰⁶; y − tanh x at y = fl(tanh x): 186 ULP at worst). e^x of a triple word x by the reduction of _tw_exp_reduced
# with x's lower words added in (TwoSums), the core _tw_expm1_reduced; σ, softplus, tanh and log1p from it and
# _tw_log as their double words are built from _dw_exp and _dw_log1p. Each about 2⁻¹³⁰ relative or better (NumPy's
# _tw_log 2⁻¹¹⁴ measured); the NumPy function computes them only on the elements its float64 bound sends past
# DEEP_RELATIVE (rare: a cancellation of 2⁴⁰ or more).
PRIMITIVES.update({
    "_tw_exp_reduced3": '''\
def _tw_exp_reduced3(x_hi, x_lo, x_tail):
    """(k, e^r − 1 as a triple word) with x = k·ln 2 + r, |r| ≤ ln 2/2, for a triple word x (x_hi clamped to
    [−746, 710], its lower words dropped there): x_hi − k·LN2_A exact, k·LN2_B by TwoProduct, the rest by TwoSums and
    _tw_add (about 2⁻¹⁵⁰ absolute), e^r − 1 by _tw_expm1_reduced."""
    x = M.minimum(M.maximum(x_hi, -746.0), 710.0)
    inside = x == x_hi
    k = M.floor(x * INV_LN2 + 0.5)
    b_hi, b_lo = _dw_two_prod_bounded(k, LN2_B)
    a, e1 = _dw_two_sum(x - k * LN2_A, -b_hi)
    c, e2 = _dw_two_sum(M.where(inside, x_lo, 0.0), -b_lo)
    r_hi, r_lo, r_tail = _tw_add(a, e1, 0.0, c, e2 + (M.where(inside, x_tail, 0.0) - k * LN2_C), 0.0)
    p_hi, p_lo, p_tail = _tw_expm1_reduced(r_hi, r_lo, r_tail)
    return k, p_hi, p_lo, p_tail
''',
    "_tw_exp": '''\
def _tw_exp(x_hi, x_lo, x_tail):
    """e^x of a triple word as a triple word: 2^k·(1 + p), p = e^r − 1 (_tw_exp_reduced3); inf above x = 710, 0 below
    −746."""
    k, p_hi, p_lo, p_tail = _tw_exp_reduced3(x_hi, x_lo, x_tail)
    e_hi, e_lo, e_tail = _tw_add(p_hi, p_lo, p_tail, 1.0, 0.0, 0.0)
    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)
    e_tail, e_zero = _dw_scale(e_tail, 0.0 * e_tail, k)
    return e_hi, e_lo, e_tail
''',
    "_tw_expm1": '''\
def _tw_expm1(x_hi, x_lo, x_tail):
    """e^x − 1 of a triple word as a triple word: p itself where k = 0 (|x| < ln 2/2: relative accuracy near 0),
    2^k·(1 + p) − 1 beyond; x + x²/2 below |x| = 2⁻¹⁰⁰ (x³/6 is below 2⁻²⁰⁰ of it)."""
    k, p_hi, p_lo, p_tail = _tw_exp_reduced3(x_hi, x_lo, x_tail)
    e_hi, e_lo, e_tail = _tw_add(p_hi, p_lo, p_tail, 1.0, 0.0, 0.0)
    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)
    e_tail, e_zero = _dw_scale(e_tail, 0.0 * e_tail, k)
    m_hi, m_lo, m_tail = _tw_add(e_hi, e_lo, e_tail, -1.0, 0.0, 0.0)
    tiny = M.abs(x_hi) < TINY
    near = k == 0.0
    return (M.where(tiny, x_hi, M.where(near, p_hi, m_hi)), M.where(tiny, x_lo, M.where(near, p_lo, m_lo)),
            M.where(tiny, x_tail + 0.5 * x_hi * x_hi, M.where(near, p_tail, m_tail)))
''',
    "_tw_log1p": '''\
def _tw_log1p(a_hi, a_lo, a_tail):
    """log(1 + a) of a triple word a > −1 as a triple word: the log of 1 + a (_tw_add) where |a| ≥ 2⁻³⁶; below,
    a − a²/2 + a³/3 (a⁴/4 is below 2⁻¹⁴⁴ of it), where 1 + a would hold a only to 2⁻¹⁵⁰ absolute (softplus(−40)
    = 4e−18: 2⁻⁹⁰ of itself)."""
    x_hi, x_lo, x_tail = _tw_add(1.0, 0.0, 0.0, a_hi, a_lo, a_tail)
    l_hi, l_lo, l_tail = _tw_log(x_hi, x_lo, x_tail)
    q_hi, q_lo, q_tail = _tw_square(a_hi, a_lo, a_tail)
    s_hi, s_lo, s_tail = _tw_add(a_hi, a_lo, a_tail, -0.5 * q_hi, -0.5 * q_lo, -0.5 * q_tail)
    s_hi, s_lo, s_tail = _tw_add(s_hi, s_lo, s_tail, q_hi * a_hi / 3.0, 0.0, 0.0)
    small = M.abs(a_hi) < TW_SMALL_LOG1P
    return M.where(small, s_hi, l_hi), M.where(small, s_lo, l_lo), M.where(small, s_tail, l_tail)
''',
    "_tw_sigmoid": '''\
def _tw_sigmoid(x_hi, x_lo, x_tail):
    """σ(x) of a triple word from E = e^−|x| ≤ 1 (never overflows): 1/(1 + E) for x ≥ 0, E/(1 + E) below."""
    neg = x_hi < 0.0
    sign = M.where(neg, 1.0, -1.0)
    e_hi, e_lo, e_tail = _tw_exp(sign * x_hi, sign * x_lo, sign * x_tail)
    d_hi, d_lo, d_tail = _tw_add(e_hi, e_lo, e_tail, 1.0, 0.0, 0.0)
    return _tw_div(M.where(neg, e_hi, 1.0), M.where(neg, e_lo, 0.0), M.where(neg, e_tail, 0.0), d_hi, d_lo, d_tail)
''',
    "_tw_softplus": '''\
def _tw_softplus(x_hi, x_lo, x_tail):
    """log(1 + e^x) of a triple word = max(x, 0) + log1p(e^−|x|): never overflows."""
    neg = x_hi < 0.0
    sign = M.where(neg, 1.0, -1.0)
    e_hi, e_lo, e_tail = _tw_exp(sign * x_hi, sign * x_lo, sign * x_tail)
    l_hi, l_lo, l_tail = _tw_log1p(e_hi, e_lo, e_tail)
    return _tw_add(l_hi, l_lo, l_tail, M.where(neg, 0.0, x_hi), M.where(neg, 0.0, x_lo), M.where(neg, 0.0, x_tail))
''',
    "_tw_tanh_series": '''\
def _tw_tanh_series(x_hi, x_lo, x_tail):
    """tanh x of a triple word for |x| below 2⁻²⁰ (TW_SMALL_TANH): x + c·(1 − 2x²/5 + 17x⁴/105) with c = −x³/3 in
    triple words (the next term, 62x⁹/2835, is below 2⁻¹²⁵ of x³/3: y − tanh x at y = x is x³/3 − …, which
    m/(m + 2) holds only to 2⁻¹⁴⁰ of x). _tw_tanh's and _tw_tanh_m's."""
    w_hi, w_lo, w_tail = _tw_square(x_hi, x_lo, x_tail)
    c_hi, c_lo, c_tail = _tw_mul(w_hi, w_lo, w_tail, x_hi, x_lo, x_tail)
    c_hi, c_lo, c_tail = _tw_div(c_hi, c_lo, c_tail, -3.0, 0.0, 0.0)
    c_hi, c_lo, c_tail = _tw_add(c_hi, c_lo, c_tail, c_hi * (w_hi * (-0.4 + w_hi * TANH_C7)), 0.0, 0.0)
    return _tw_add(x_hi, x_lo, x_tail, c_hi, c_lo, c_tail)
''',
    "_tw_tanh": '''\
def _tw_tanh(x_hi, x_lo, x_tail):
    """tanh x of a triple word: m/(m + 2), m = e^(2x) − 1 (relative accuracy near 0); above x = 18 −m/(m + 2) with
    m = e^(−2x) − 1, as _dw_tanh. Below |x| = 2⁻²⁰ the series (_tw_tanh_series)."""
    far = x_hi > 18.0
    sign = M.where(far, -2.0, 2.0)
    m_hi, m_lo, m_tail = _tw_expm1(sign * x_hi, sign * x_lo, sign * x_tail)
    d_hi, d_lo, d_tail = _tw_add(m_hi, m_lo, m_tail, 2.0, 0.0, 0.0)
    q_hi, q_lo, q_tail = _tw_div(m_hi, m_lo, m_tail, d_hi, d_lo, d_tail)
    s_hi, s_lo, s_tail = _tw_tanh_series(x_hi, x_lo, x_tail)
    small = M.abs(x_hi) < TW_SMALL_TANH
    sign = M.where(far, -1.0, 1.0)
    return (M.where(small, s_hi, sign * q_hi), M.where(small, s_lo, sign * q_lo),
            M.where(small, s_tail, sign * q_tail))
''',
})
_CONSTANTS.update({"TW_SMALL_LOG1P": 2.0 ** -36, "TW_SMALL_TANH": 2.0 ** -20, "TANH_C7": 17 / 105})
PRIMITIVE_NEEDS.update({
    "_tw_exp_reduced3": ("_dw_two_prod_bounded", "_dw_two_sum", "_tw_add", "_tw_expm1_reduced"),
    "_tw_exp": ("_tw_exp_reduced3", "_tw_add", "_dw_scale"),
    "_tw_expm1": ("_tw_exp_reduced3", "_tw_add", "_dw_scale"),
    "_tw_log1p": ("_tw_add", "_tw_square", "_tw_log"),
    "_tw_sigmoid": ("_tw_exp", "_tw_add", "_tw_div"),
    "_tw_softplus": ("_tw_exp", "_tw_log1p", "_tw_add"),
    "_tw_tanh_series": ("_tw_square", "_tw_mul", "_tw_div", "_tw_add"),
    "_tw_tanh": ("_tw_expm1", "_tw_add", "_tw_div", "_tw_tanh_series"),
})
_NUMPY_NEEDS["_tw_log1p"] = ("_tw_add", "_tw_square", "_dw_log")  # NumPy's _tw_log is in _dw_log's text
ORDER += ["_tw_exp_reduced3", "_tw_exp", "_tw_expm1", "_tw_log1p", "_tw_sigmoid", "_tw_softplus", "_tw_tanh_series",
          "_tw_tanh"]

# σ(±v), softplus(±v) and tanh(±v/2) of one body from one reduction (Triton's third tier, task h-tfocal22): E = e^−|v|
# and m = E − 1 from one _tw_exp_reduced3 (E to 2⁻¹⁵⁰ of itself however small, m relative near 0), one log1p(E) for
# both softplus; the operations of _tw_sigmoid, _tw_softplus and _tw_tanh after it, so the same triple words to their
# last bits (tanh's m was e^(2x) − 1 below x = 18, here e^−|2x| − 1 for either sign: −m/(m + 2) = tanh|x|). Focal's
# ∂t and ∂z take σ(z), σ(−z), softplus(z), softplus(−z) and tanh(z/2): 7 triple-word exponentials and logs where 2 do.
PRIMITIVES.update({
    "_tw_exp_negabs": '''\
def _tw_exp_negabs(x_hi, x_lo, x_tail):
    """(E, m) = (e^−|x|, e^−|x| − 1) of a triple word, both triple words from one reduction: E as _tw_exp's, m as
    _tw_expm1's (p itself where k = 0, −|x| + x²/2 below |x| = 2⁻¹⁰⁰)."""
    neg = x_hi < 0.0
    sign = M.where(neg, 1.0, -1.0)
    a_hi, a_lo, a_tail = sign * x_hi, sign * x_lo, sign * x_tail
    k, p_hi, p_lo, p_tail = _tw_exp_reduced3(a_hi, a_lo, a_tail)
    e_hi, e_lo, e_tail = _tw_add(p_hi, p_lo, p_tail, 1.0, 0.0, 0.0)
    e_hi, e_lo = _dw_scale(e_hi, e_lo, k)
    e_tail, e_zero = _dw_scale(e_tail, 0.0 * e_tail, k)
    m_hi, m_lo, m_tail = _tw_add(e_hi, e_lo, e_tail, -1.0, 0.0, 0.0)
    tiny = M.abs(x_hi) < TINY
    near = k == 0.0
    return (e_hi, e_lo, e_tail, M.where(tiny, a_hi, M.where(near, p_hi, m_hi)),
            M.where(tiny, a_lo, M.where(near, p_lo, m_lo)), M.where(tiny, a_tail + 0.5 * a_hi * a_hi, M.where(near, p_tail, m_tail)))
''',
    "_tw_sigmoid_e": '''\
def _tw_sigmoid_e(x_hi, e_hi, e_lo, e_tail):
    """σ(x) from E = e^−|x| (_tw_exp_negabs): 1/(1 + E) for x ≥ 0, E/(1 + E) below (_tw_sigmoid's steps)."""
    neg = x_hi < 0.0
    d_hi, d_lo, d_tail = _tw_add(e_hi, e_lo, e_tail, 1.0, 0.0, 0.0)
    return _tw_div(M.where(neg, e_hi, 1.0), M.where(neg, e_lo, 0.0), M.where(neg, e_tail, 0.0), d_hi, d_lo, d_tail)
''',
    "_tw_softplus_l": '''\
def _tw_softplus_l(x_hi, x_lo, x_tail, l_hi, l_lo, l_tail):
    """softplus(x) = max(x, 0) + L from L = log1p(e^−|x|) (_tw_softplus's steps)."""
    neg = x_hi < 0.0
    return _tw_add(l_hi, l_lo, l_tail, M.where(neg, 0.0, x_hi), M.where(neg, 0.0, x_lo), M.where(neg, 0.0, x_tail))
''',
    "_tw_tanh_m": '''\
def _tw_tanh_m(x_hi, x_lo, x_tail, m_hi, m_lo, m_tail):
    """tanh x from m = e^−|2x| − 1 (_tw_exp_negabs of 2x): −m/(m + 2) = tanh|x|, signed; below |x| = 2⁻²⁰ _tw_tanh's
    series (_tw_tanh_series)."""
    d_hi, d_lo, d_tail = _tw_add(m_hi, m_lo, m_tail, 2.0, 0.0, 0.0)
    q_hi, q_lo, q_tail = _tw_div(m_hi, m_lo, m_tail, d_hi, d_lo, d_tail)
    s_hi, s_lo, s_tail = _tw_tanh_series(x_hi, x_lo, x_tail)
    small = M.abs(x_hi) < TW_SMALL_TANH
    sign = M.where(x_hi < 0.0, 1.0, -1.0)
    return (M.where(small, s_hi, sign * q_hi), M.where(small, s_lo, sign * q_lo),
            M.where(small, s_tail, sign * q_tail))
''',
})
PRIMITIVE_NEEDS.update({
    "_tw_exp_negabs": ("_tw_exp_reduced3", "_tw_add", "_dw_scale"), "_tw_sigmoid_e": ("_tw_add", "_tw_div"),
    "_tw_softplus_l": ("_tw_add",), "_tw_tanh_m": ("_tw_add", "_tw_div", "_tw_tanh_series"),
})
ORDER += ["_tw_exp_negabs", "_tw_sigmoid_e", "_tw_softplus_l", "_tw_tanh_m"]




def _constant(value: float, backend: str) -> str:
    """A float64 constant: Triton makes a Python float literal float32, so one that float32
    cannot hold is tl.full([], c, tl.float64)."""
    import numpy as np
    with np.errstate(over="ignore"):  # 2⁹⁹⁶: not a float32
        exact = float(np.float32(value)) == value
    if backend == "triton" and not exact:
        return f"tl.full([], {value!r}, tl.float64)"
    return repr(value)


def primitive_text(name: str, backend: str) -> str:
    """The helper text of primitive ``name`` for ``backend`` ("numpy" or "triton")."""
    import re
    if name == "_dw_scale":
        return _SCALE[backend]
    if name == "_dw_exp_table":  # NumPy: its table and constants before it
        if backend == "numpy":
            return _exp_table_text() + "\n\n" + _NUMPY_EXP_TABLE
        return "@triton.jit\n" + _TRITON_EXP_TABLE
    numpy_only = {"_dw_split": _NUMPY_SPLIT, "_dw_two_prod": _NUMPY_TWO_PROD, "_dw_log1p": _NUMPY_LOG1P,
                  "_dw_pow_first": NUMPY_POW_FIRST, "_dw_where_finite": NUMPY_WHERE_FINITE, "_dw_sin": _NUMPY_SIN,
                  "_dw_cos": _NUMPY_COS, "_dw_erf_dw": NUMPY_ERF_DW,
                  "_dw_softplus_parts": NUMPY_SOFTPLUS_PARTS, "_dw_same_bits": NUMPY_SAME_BITS,
                  "_dw_log_remembered": NUMPY_LOG_REMEMBERED, **NUMPY_IN_PLACE}
    if name == "_dw_erf":  # NumPy's alone: its table and constants before it
        return _numpy_erf_text()
    if name == "_dw_erfc":  # NumPy's alone, likewise
        return _numpy_erfc_text()
    if name == "_tw_erfc":
        return _numpy_tw_erfc_text()
    if name == "_dw_erfcx_table":  # the table of _dw_erfc and _tw_erfc (module constants)
        return _erfc_table_text()
    body = numpy_only[name] if name in numpy_only and backend == "numpy" else PRIMITIVES[name] \
        if not (backend == "triton" and name in TRITON_SCALED) else TRITON_SCALED[name]
    if name == "_dw_log" and backend == "numpy":  # table-driven (above), its tables before it
        body = _log_table_text() + "\n\n" + _NUMPY_LOG
    module = "np" if backend == "numpy" else "tl"
    body = body.replace("M.", module + ".")
    body = body.replace("LOG1P(", "np.log1p(" if backend == "numpy" else "_log1p(")
    body = re.sub(r"\b(%s)\b" % "|".join(sorted(_CONSTANTS, key=len, reverse=True)),
                  lambda m: _constant(_CONSTANTS[m.group(1)], backend), body)
    if backend == "triton":
        body = body.replace("tl.minimum(tl.maximum(x_hi, -746.0), 710.0)",
                            "tl.minimum(tl.maximum(x_hi, -746.0, propagate_nan=tl.PropagateNan.ALL), 710.0, "
                            "propagate_nan=tl.PropagateNan.ALL)")
        return "@triton.jit\n" + body
    return body


def primitive_needs(name: str, backend: str) -> tuple:
    if backend == "numpy" and name in _NUMPY_NEEDS:
        return _NUMPY_NEEDS[name]
    if backend == "triton" and name in TRITON_SCALED:
        return TRITON_SCALED_NEEDS.get(name, ())
    needs = PRIMITIVE_NEEDS.get(name, ())
    if name in ("_dw_log1p", "_dw_softplus_first", "_dw_log1p_first") and backend == "triton":
        needs = needs + ("_log1p",)
    return needs


def _closure(names, backend: str) -> list:
    """``names`` and every primitive they call, in the order of definition."""
    seen: set = set()
    stack = list(names)
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(primitive_needs(n, backend))
    return [n for n in ORDER if n in seen] + sorted(n for n in seen if n not in ORDER)


# the texts GENERATED_HELPERS keeps, per backend, beyond those of the module being printed: the least recently printed
# go first (a generated function is 5–60 kB, the widened sums of a 3-class KL's ∂ up to 3.3 MB)
GENERATED_MAX_BYTES = 64 * 2**20

# the names printed for modules not yet emitted (pinned: no trim forgets them), per backend, with the count of modules
# emitted when each was printed. A module's generated_last releases the names it reads and those printed before the
# module before it was emitted (printed and never emitted: a printing that was discarded), so that the pins stay as
# bounded as the table. (Trimmed while a module printed, its own functions went before generated_last read them: the
# module was emitted without them, a NameError when called; break40, 2256f06a.)
_PINNED: dict[str, dict[str, int]] = {"numpy": {}, "triton": {}}
_EMITTED: dict[str, int] = {"numpy": 0, "triton": 0}


def keep_generated(backend: str, function: "WidenedFunction") -> "WidenedFunction":
    """Keep ``function``'s text for the modules of ``backend`` that call it (:data:`symnet.registry.GENERATED_HELPERS`),
    pinned until the module being printed is emitted (:func:`generated_last`), and return it under the name they call
    it by: its own, or, where another text is kept under that name already (a printer state the name does not hold:
    ConditionalPrinting.generated_state), its name and a digest of its text, so that no module calls a text another
    printer printed (which called helpers its own module did not define)."""
    generated = GENERATED_HELPERS[backend]
    kept = generated.pop(function.name, None)
    if kept is not None and kept != function.code:
        generated[function.name] = kept
        renamed = f"{function.name}_{hashlib.sha1(function.code.encode()).hexdigest()[:8]}"
        function = function._replace(name=renamed, code=function.code.replace(function.name, renamed))
        generated.pop(renamed, None)
    generated[function.name] = function.code  # (last: the most recently printed)
    _PINNED[backend][function.name] = _EMITTED[backend]
    # (bounded between modules too: twice the bound here, the pinned texts kept whatever their size)
    forget_generated(backend, 2 * GENERATED_MAX_BYTES)
    return function


def generated_last(table: dict, used, backend: str) -> list:
    """The texts of ``table`` that ``used`` names, in the table's order, then the functions generated for
    ``backend`` (:data:`symnet.registry.GENERATED_HELPERS`, kept as they are printed, in whatever order a process
    printed them) that it names, by name: a module's text does not depend on what was printed before it. Then the
    module is emitted: its names are released, and the least recently printed texts beyond
    :data:`GENERATED_MAX_BYTES` are forgotten (a process compiling formula after formula keeps a bounded table)."""
    generated = GENERATED_HELPERS[backend]
    fixed = [h for h in table if h in used and not h.startswith(GENERATED_PREFIX)]
    texts = [table[h] for h in fixed] + [generated[h] for h in sorted(h for h in generated if h in used)]
    pinned, emitted = _PINNED[backend], _EMITTED[backend]
    for name in [n for n, when in pinned.items() if n in used or when < emitted]:
        del pinned[name]
    _EMITTED[backend] = emitted + 1
    forget_generated(backend, GENERATED_MAX_BYTES)
    return texts


def forget_generated(backend: str, most: int) -> None:
    """Forget the least recently printed texts of GENERATED_HELPERS[backend] until at most ``most`` bytes remain, or
    only pinned ones (those of a module not yet emitted: :func:`keep_generated`) are left to forget."""
    generated, pinned = GENERATED_HELPERS[backend], _PINNED[backend]
    size = sum(len(text) for text in generated.values())
    for name in [n for n in generated if n not in pinned]:
        if size <= most:
            break
        size -= len(generated.pop(name))


# ---------------------------------------------------------------------------------------------
# the per-body function


class _Value:
    """A double-word value in the generated code: the names (or literals) of its hi and lo; lo
    None where the value is one float64 (a leaf, a constant, a value computed in float64)."""

    scale = None  # _Scaled's: the name of its k, the value being (hi + lo)·2^−k (None: 0)

    def __init__(self, hi: str, lo: str | None = None, tail: str | None = None):
        self.hi, self.lo, self.tail = hi, lo, tail  # tail: a triple word's third part (None: 0)


def _dw_constant(c: sp.Expr, backend: str) -> _Value:
    hi = float(c)
    if not math.isfinite(hi):  # 10^400: as the float64 body has it
        return _Value('float("nan")' if math.isnan(hi) else f'{"-" if hi < 0 else ""}float("inf")')
    lo = 0.0 if c.is_Rational and sp.Rational(hi) == c else float(sp.N(c, 60) - sp.Float(hi, 60))
    return _Value(_constant(hi, backend), _constant(lo, backend) if lo != 0.0 else None)


def _scaled_exp(body):
    """(c, v) where ``body`` is c·e^v, c a number with 0 < |c| < 1 (the rounded-argument rule's scaled e^v); else
    None."""
    c, rest = body.as_coeff_Mul()
    if c.is_Number and 0 < abs(c) < 1 and isinstance(rest, sp.exp):
        return c, rest.args[0]
    return None


def _shifted_exp(body, first_order: bool) -> bool:
    """The double word of ``body`` takes some c·e^v as e^(v + log|c|) (_Emitter._product; the first-order c·e^v of
    the rounded-argument rule): finite where the float64 body's e^v overflowed."""
    if first_order:
        return _scaled_exp(body) is not None
    return any(n.is_Mul and _scaled_exp(n) is not None and not _exact_scale(n.as_coeff_Mul()[0])
               for n in sp.preorder_traversal(body))


def _literal_power_of_two(v) -> float | None:
    """The number ±2^k, 1 ≤ k ≤ 8, that the double-word value ``v`` is as a literal (its text a float, no lo part: 2.0,
    −4.0: a derivative's), or None: a product by it is exact but where it overflows (k ≥ 1: it never rounds a
    subnormal; _Emitter.mul). Not 2⁶⁴, the factor of a sum rescaled against overflow (x·y + z's 2⁶⁴·(x·(y/2⁶⁴) +
    z/2⁶⁴)), whose TwoProduct's renormalisation the common formulas' generated text keeps."""
    if v.lo is not None:
        return None
    try:
        c = float(v.hi.strip("()"))
    except ValueError:
        return None
    m, k = math.frexp(abs(c))
    return c if m == 0.5 and 2 <= k <= 9 else None  # (frexp: 2^j = 0.5·2^(j + 1); not 2⁶⁴, the rescaled sums' factor)


def _exact_scale(c) -> bool:
    """c = ±2^k exactly (c·x is exact but for underflow)."""
    m, _ = math.frexp(abs(float(c)))
    return m == 0.5 and sp.Rational(float(c)) == c


def _half_integer(exp) -> bool:
    """exp = n/2 for an odd n with 3 ≤ |n| ≤ 15 (x^(3/2), x^(−5/2): a root and a short product)."""
    return exp.is_Rational and exp.q == 2 and 3 <= abs(exp.p) <= 15


def _split_half_power(e):
    """x^(n/2) as the unevaluated product x^⌊n/2⌋·√x (x^(−⌊|n|/2⌋)·x^(−1/2) for n < 0)."""
    k, sign = abs(e.exp.p) // 2, 1 if e.exp > 0 else -1
    return sp.Mul(sp.Pow(e.base, sign * k), sp.Pow(e.base, sp.Rational(sign, 2)), evaluate=False)


def _asinh_as_log1p(u):
    """asinh(u) as the unevaluated sign(u)·log1p(|u| + u²/(1 + √(u² + 1))) (log(|u| + √(u² + 1)) with the 1 taken out:
    u²/(1 + √(u² + 1)) = √(u² + 1) − 1), whose double words lose nothing near 0 (log1p's argument is |u|·(1 + …)) nor
    for u < 0 (|u|: no −|u| + √(u² + 1)). asinh has no double word of its own: in float64 (libm, up to an ulp of
    asinh u) it left x − asinh x, whose terms cancel 39× at x = 0.4, 16 ULP off (∂ log(x − asinh x) 17 ULP there,
    torch 9; session 25). Where u² overflows (|u| > 1.3e154) the double word is NaN and the widened function takes its
    float64 body, as for any double word that is not finite."""
    a = sp.Abs(u)
    root = sp.Pow(sp.Add(sp.Pow(a, 2, evaluate=False), sp.S.One, evaluate=False), sp.S.Half, evaluate=False)
    ratio = sp.Mul(sp.Pow(a, 2, evaluate=False), sp.Pow(sp.Add(sp.S.One, root, evaluate=False), -1, evaluate=False),
                   evaluate=False)
    magnitude = log1p(sp.Add(a, ratio, evaluate=False))
    return sp.Piecewise((sp.Mul(sp.S.NegativeOne, magnitude, evaluate=False), u < 0), (magnitude, True),
                        evaluate=False)


def _hyperbolic_as_exponentials(e):
    """cosh u as the unevaluated (e^u + e^−u)/2, sinh u as (expm1(u) − expm1(−u))/2 (no cancellation near 0: the two
    terms have one sign), so that double words take them (a float64 leaf before, up to an ulp: log(cosh x − 1), whose
    argument minus 1 is cosh x − 2 at x = 1.317, 284 ULP in float64; session 25). Where e^|u| overflows the double word
    is not finite and the widened function takes its float64 body."""
    u = e.args[0]
    if isinstance(e, sp.cosh):
        terms = sp.Add(sp.exp(u), sp.exp(-u), evaluate=False)
    else:
        terms = sp.Add(expm1(u), sp.Mul(sp.S.NegativeOne, expm1(-u), evaluate=False), evaluate=False)
    return sp.Mul(sp.S.Half, terms, evaluate=False)


def _within_leaf(e) -> bool:
    """Whether ``e`` is c·x, x a leaf, |c| ≤ 1: finite wherever x is (no overflow inside it)."""
    c, rest = e.as_coeff_Mul()
    return rest.is_Symbol and abs(c) <= 1


_BOUNDED_FUNCTIONS = ("sigmoid", "tanh", "erf", "erfc", "sin", "cos")


def _unbounded_terms(e) -> int:
    """How many terms of ``e`` may be as large as a leaf: 0 for a number or a bounded function (times a number), 1 for
    c·x (_within_leaf), their sum over an Add, the most over a select's pieces; 2 for anything else (a product, e^x:
    an overflow inside)."""
    if e.is_number:
        return 0
    if isinstance(e, sp.Add):
        return sum(_unbounded_terms(a) for a in e.args)
    if isinstance(e, sp.Piecewise):
        return max(_unbounded_terms(p.expr) for p in e.args)
    if _within_leaf(e):
        return 1
    c, rest = e.as_coeff_Mul()
    return 0 if type(rest).__name__ in _BOUNDED_FUNCTIONS else 2


def _may_overflow_inside(body) -> bool:
    """Whether a body's double word (or float64 value) may leave the range where its value does not, every leaf finite
    (the scaled tier's overflow branch): not a sum of one leaf and bounded terms (σ(z) − y: bce_logits' ∂z), whose
    only overflow is its value's own."""
    return _unbounded_terms(body) > 1


class _Emitter:
    """The statements of one body in double-word arithmetic (postorder, each subexpression once)."""

    FUNCTIONS = {"exp": "_dw_exp", "expm1": "_dw_expm1", "log": "_dw_log", "log1p": "_dw_log1p",
                 "sigmoid": "_dw_sigmoid", "softplus": "_dw_softplus", "tanh": "_dw_tanh",
                 "sin": "_dw_sin", "cos": "_dw_cos"}
    # the third tier's (triple words: _Emitter.triple); log and log1p have their own cases there
    TRIPLE_FUNCTIONS = {"exp": "_tw_exp", "expm1": "_tw_expm1", "sigmoid": "_tw_sigmoid", "softplus": "_tw_softplus",
                        "tanh": "_tw_tanh"}

    def __init__(self, backend: str, plain, leaves: dict, words: dict, taken: set):
        self.backend = backend
        self.where = "np.where" if backend == "numpy" else "tl.where"
        self.plain = plain  # the float64 printer over the leaves' float64 names
        self.values: dict = {}
        self.lines: list[str] = []
        self.needs: set = set()
        self.taken = set(taken)
        self.known = {s: sp.Symbol(n) for s, n in words.items()}  # names of temporaries: t, not t64
        for s, n in leaves.items():
            self.values[s] = _Value(n)
        self.count = 0
        self.text = shared_text()  # the comments' text, each subexpression printed once
        # v → its E = e^−|v| (and log1p(E)), for the v whose σ(±v), softplus(±v) the body takes twice or more
        # (set by widened_function, NumPy only: _shared_exp_bases)
        self.shared_exp: dict = {}
        # the v whose σ(±v), softplus(±v), tanh(±v/2) the third tier's triple words take from one e^−|v| (set by
        # widened_function, Triton only: _shared_triple_bases)
        self.shared_triple: set = set()
        # a pair's term e^(x − m) (its hi's name) → (m, x, min(x, y), min(x, y) − m), and ("pair-one", m) → its E
        # (:meth:`_pair_identity`, cost43)
        self.pair_terms: dict = {}
        self.triple_exp_select = False  # {e^a₁ if c₁; …} as one e^x of the selected argument (likewise)
        # a function of a double word that is not finite takes f of the float64 argument (_function; NumPy's widened
        # bodies: double_word_block's whole kernels keep their text)
        self.nonfinite_arguments = True
        # the hi parts of the arguments of the body's e^x (b^γ's e^(γ·log b) too), in order: where one is below
        # UNDERFLOWED_ARGUMENT the double word's e^x has lost its lo part or gone subnormal or 0, and the widened
        # function takes its scaled tier there (:func:`_underflowed`)
        self.exp_arguments: list[str] = []

    def _name(self, e) -> str:
        word = _math_name(e, {k: v.name for k, v in self.known.items()})
        if word is None or len(word) > 28 or not word.isidentifier():  # too long to say: sum_1, where_2
            self.count += 1
            word = next((w for cls, w in FALLBACK_WORDS if isinstance(e, cls)), "value") + f"_{self.count}"
        name, k = word, 1
        while name in self.taken or keyword.iskeyword(name) or f"{name}_hi" in self.taken or f"{name}_tail" in self.taken:
            k += 1
            name = f"{word}_{k}"
        self.taken |= {name, f"{name}_hi", f"{name}_lo", f"{name}_tail"}
        return name

    def _comment(self, name: str, e) -> str:
        """``# name = its math``, the math cut at 150 characters (a whole loss gradient is too long)."""
        math_text = self.text(e)
        return f"# {name} = {math_text if len(math_text) <= 150 else math_text[:149] + '…'}"

    def _emit(self, e, call: str, needs: tuple, comment=None) -> _Value:
        name = self._name(e)
        self.needs.update(needs)
        self.lines.append(self._comment(name, comment if comment is not None else e))
        self.lines.append(f"{name}_hi, {name}_lo = {call}")
        self.known[e] = sp.Symbol(name)
        return _Value(f"{name}_hi", f"{name}_lo")

    def _plain(self, e) -> _Value:
        """e in float64 alone, (value, 0): an operation without a double-word version."""
        name = self._name(e)
        self.lines.append(self._comment(name, e) + " (in float64)")
        self.lines.append(f"{name} = {self.plain.doprint(e)}")
        self.known[e] = sp.Symbol(name)
        return _Value(name)

    @staticmethod
    def _lo(v: _Value) -> str:
        return v.lo if v.lo is not None else "0.0"

    def add(self, e, a: _Value, b: _Value) -> _Value:
        one_plus = self._pair_identity(a, b)
        if one_plus is not None:  # e^(x − m) + e^(y − m) = 1 + E (cost43, :meth:`_pair_identity`)
            return self._emit(e, f"_dw_add_fp({one_plus.hi}, {self._lo(one_plus)}, 1.0)", ("_dw_add_fp",))
        if a.lo is None and b.lo is None:
            return self._emit(e, f"_dw_two_sum({a.hi}, {b.hi})", ("_dw_two_sum",))
        if b.lo is None:
            return self._emit(e, f"_dw_add_fp({a.hi}, {a.lo}, {b.hi})", ("_dw_add_fp",))
        if a.lo is None:
            return self._emit(e, f"_dw_add_fp({b.hi}, {b.lo}, {a.hi})", ("_dw_add_fp",))
        return self._emit(e, f"_dw_add({a.hi}, {a.lo}, {b.hi}, {b.lo})", ("_dw_add",))

    def mul(self, e, a: _Value, b: _Value) -> _Value:
        product = self._pair_identity(a, b)
        if product is not None:  # e^(x − m)·e^(y − m) = E (cost43, :meth:`_pair_identity`)
            self.known[e] = sp.Symbol(product.hi.removesuffix("_hi"))
            return product
        scale, other = _literal_power_of_two(a), b
        if scale is None:
            scale, other = _literal_power_of_two(b), a
        if scale is not None and other.tail is None:  # (lor44) c·x by ±2^k, |c| ≥ 1: exact (an overflow is the product's own), no TwoProduct
            name = self._name(e)
            self.lines.append(self._comment(name, e))
            self.known[e] = sp.Symbol(name)
            if other.lo is None:
                self.lines.append(f"{name} = {scale!r}*{other.hi}")
                return _Value(name)
            self.lines.append(f"{name}_hi, {name}_lo = {scale!r}*{other.hi}, {scale!r}*{other.lo}")
            return _Value(f"{name}_hi", f"{name}_lo")
        if a.lo is None and b.lo is None:
            return self._emit(e, f"_dw_two_prod({a.hi}, {b.hi})", ("_dw_two_prod",))
        if b.lo is None:
            return self._emit(e, f"_dw_mul_fp({a.hi}, {a.lo}, {b.hi})", ("_dw_mul_fp",))
        if a.lo is None:
            return self._emit(e, f"_dw_mul_fp({b.hi}, {b.lo}, {a.hi})", ("_dw_mul_fp",))
        return self._emit(e, f"_dw_mul({a.hi}, {a.lo}, {b.hi}, {b.lo})", ("_dw_mul",))

    def negate(self, e, a: _Value) -> _Value:
        if a.lo is None:
            return _Value(f"(-{a.hi})")
        name = self._name(e)
        self.lines.append(self._comment(name, e))
        self.lines.append(f"{name}_hi, {name}_lo = -{a.hi}, -{a.lo}")
        self.known[e] = sp.Symbol(name)
        return _Value(f"{name}_hi", f"{name}_lo")

    def select(self, e, cond: str, a: _Value, b: _Value, comment=None) -> _Value:
        name = self._name(e)
        self.lines.append(self._comment(name, comment if comment is not None else e))
        if a.lo is None and b.lo is None:
            self.lines.append(f"{name} = {self.where}({cond}, {a.hi}, {b.hi})")
            self.known[e] = sp.Symbol(name)
            return _Value(name)
        self.lines.append(f"{name}_hi = {self.where}({cond}, {a.hi}, {b.hi})")
        self.lines.append(f"{name}_lo = {self.where}({cond}, {self._lo(a)}, {self._lo(b)})")
        self.known[e] = sp.Symbol(name)
        if a.tail is None and b.tail is None:
            return _Value(f"{name}_hi", f"{name}_lo")
        self.lines.append(f"{name}_tail = {self.where}({cond}, {a.tail or '0.0'}, {b.tail or '0.0'})")
        return _Value(f"{name}_hi", f"{name}_lo", f"{name}_tail")

    def value(self, e) -> _Value:
        if e in self.values:
            return self.values[e]
        if getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):  # a widened sum inside
            v = self.value(e.expanded)
        elif isinstance(e, sp.UnevaluatedExpr):
            v = self.value(e.args[0])
        elif e.is_number:
            v = _dw_constant(e, self.backend)
        elif isinstance(e, sp.Add):
            v = self._sum(e)
        elif isinstance(e, sp.Mul):
            v = self._product(e)
        elif isinstance(e, sp.Pow):
            v = self._power(e)
        elif isinstance(e, sp.Piecewise):
            v = self._piecewise(e)
        elif isinstance(e, (sp.Max, sp.Min)):
            v = self._extremum(e)
        elif isinstance(e, sp.Abs):
            a = self.value(e.args[0])
            v = self.select(e, f"{a.hi} < 0.0", self.negate(-e.args[0], a), a)
        elif type(e).__name__ == "nexp":  # e^−u, a node of the code generator
            v = self._function(e, "exp", -e.args[0])
        elif type(e).__name__ in ("nexpsq", "nexpsq2"):  # e^(−u²), e^(−u²/2): e^x of the double-word −u² (exact
            # for a float64 u), not the float64 nexpsq, whose 1.5 ulp the sum may amplify (erf(x)/√x′ at x = 0.716,
            # whose terms cancel 3.5×: 6.5 ULP)
            square = sp.Mul(sp.Integer(-1) if type(e).__name__ == "nexpsq" else sp.Rational(-1, 2),
                            sp.Pow(e.args[0], 2), evaluate=False)
            v = self._function(e, "exp", square)
        elif type(e).__name__ == "exp_shift":  # e^(x − m), 1 where x = m (also at m = ±inf)
            v = self._exp_shift(e)
        elif type(e).__name__ == "erf" and self.backend == "numpy" and self.value(e.args[0]).lo is None:
            # erf of a float64 as a double word (_dw_erf, table-driven; session 21: erf(x) − y at y = fl(erf x), 2.2e10
            # ULP at x = 4.81, y = 1 with erf in float64); NumPy's alone (Triton: the float64 erf, (value, 0))
            v = self._emit(e, f"_dw_erf({self.value(e.args[0]).hi})", ("_dw_erf",))
        elif type(e).__name__ == "erf" and self.backend == "numpy":  # of a double word: its lo to first order
            a = self.value(e.args[0])
            v = self._emit(e, f"_dw_erf_dw({a.hi}, {self._lo(a)})", ("_dw_erf_dw",))
        elif type(e).__name__ == "erf" and self.backend == "triton" and self.value(e.args[0]).lo is None:
            # Triton: ±(1 − erfc|x|) as a double word from |x| = 1/2 on, the float64 erf below (_dw_erf_tail)
            a = self.value(e.args[0]).hi
            v = self._emit(e, f"_dw_erf_tail({a}, {self.plain.doprint(e.func(sp.Symbol(a)))})", ("_dw_erf_tail",))
        elif type(e).__name__ == "erf" and self.backend == "triton":  # of a double word (_dw_erf_words)
            a = self.value(e.args[0])
            v = self._emit(e, f"_dw_erf_words({a.hi}, {self._lo(a)})", ("_dw_erf_words",))
        elif type(e).__name__ == "erfc" and self.backend == "numpy":
            # erfc of a double word (_dw_erfc: 1 − erf x below 1/2, e^(−x²)·erfcx x from a table beyond; session 22)
            a = self.value(e.args[0])
            v = self._emit(e, f"_dw_erfc({a.hi}, {self._lo(a)})", ("_dw_erfc",))
        elif type(e).__name__ == "ndtr" and self.backend == "numpy":  # Φ(x) = erfc(−x/√2)/2, −x/√2 a double word
            v = self.value(sp.Mul(sp.Rational(1, 2), sp.erfc(-e.args[0] / sp.sqrt(2), evaluate=False), evaluate=False))
        elif type(e).__name__ in ("erfc", "ndtr") and self.backend == "triton" and self.value(e.args[0]).lo is not None:
            # Triton (no table-driven _dw_erfc): erfc and Φ of a double word to first order in its lo part, the
            # rounded-argument rule's _dw_erfc_first and _dw_ndtr_first; before, of its hi alone, whose rounding Φ
            # amplifies v² times (session 39, h-triton39: float64 Φ(x/y)⁻² 46 ULP at x/y = −6.22, NumPy 0.50)
            a = self.value(e.args[0])
            helper = FIRST_ORDER[type(e).__name__]
            v = self._emit(e, f"{helper}({a.hi}, {self._lo(a)})", (helper,))
        elif type(e).__name__ in _SIGMOID_FORMS:  # GELU-tanh's S(u) and S′(u) as the σ(v(u)) they are (below)
            v = self.value(_sigmoid_form(e))
        elif isinstance(e, sp.asinh):
            v = self.value(_asinh_as_log1p(e.args[0]))
        elif isinstance(e, (sp.cosh, sp.sinh)):
            v = self.value(_hyperbolic_as_exponentials(e))
        elif isinstance(e, sp.Function) and type(e).__name__ in self.FUNCTIONS and len(e.args) == 1:
            v = self._function(e, type(e).__name__, e.args[0])
        else:
            v = self._plain(e)
        self.values[e] = v
        return v

    def _function(self, e, name, arg) -> _Value:
        a = self.value(arg)
        if name == "exp" and a.hi not in self.exp_arguments:
            self.exp_arguments.append(a.hi)
        base = -arg if arg.could_extract_minus_sign() else arg
        if name in ("sigmoid", "softplus") and base in self.shared_exp:
            return self._shared(e, name, a, base)
        helper = self.FUNCTIONS[name]
        call = f"{helper}({a.hi}, {self._lo(a)})"
        if name == "softplus" and self._parts_remembered():  # _dw_softplus's steps, its E and L remembered
            log = self._softplus_parts(base, self.shared_exp.setdefault(base, {}))["log1p"]
            call = f"_dw_softplus_l({a.hi}, {self._lo(a)}, {log.hi}, {log.lo})"
            helper = "_dw_softplus_l"
        if name == "log" and a.lo is None and self._parts_remembered():  # a float64 value's log, remembered (h-cost42)
            call, helper = f"_dw_log_remembered({a.hi})", "_dw_log_remembered"
        if self.backend == "numpy" and self.nonfinite_arguments and a.lo is not None and not _within_leaf(arg):
            # an argument whose double word overflowed (w₁·x past 1.8e308 in tanh(w₁·x + b₁): TwoProduct's lo of
            # an infinite product is NaN, and so is every double word above it) takes f of the float64 argument,
            # lo 0: tanh(−inf) = −1 and σ, e^x, softplus at ±inf are their limits, exact, where the whole body's
            # float64 fallback cancels (t − b₂ − w₂·tanh(w₁·x + b₁) at w₁ = −1.6e308: 0 for −1.11e−16). The float64
            # argument is computed only where some double word is not finite (rare: the common path one test)
            call = f"_dw_where_finite({a.hi}, {call}, lambda: {self.plain.doprint(e)})"
            return self._emit(e, call, (helper, "_dw_where_finite"))
        if self.backend == "triton" and self.nonfinite_arguments and a.lo is not None and not _within_leaf(arg):
            # likewise in Triton (session 35: ∂t of the same net was 0 for −1.11e−16), in a block with such an
            # argument only: there f of the float64 argument, lo 0
            v = self._emit(e, call, (helper,))
            finite = f"tl.abs({a.hi}) < float(\"inf\")"
            self.lines += [f"if tl.max(tl.where({finite}, 0, 1)) > 0:  # an argument whose double word overflowed "
                           "(rare): f of its float64 argument there, lo 0",
                           f"    {v.hi} = tl.where({finite}, {v.hi}, {self.plain.doprint(e)})",
                           f"    {v.lo} = tl.where({finite}, {v.lo}, 0.0)"]
            return v
        return self._emit(e, call, (helper,))

    def _shared(self, e, name, a: _Value, base) -> _Value:
        """σ(±v) or softplus(±v) from the body's one E = e^−|v| (and one log1p(E) for softplus): the operations of
        _dw_sigmoid and _dw_softplus, so the same bits (e^−|−v| is e^−|v|), with E computed once."""
        shared = self.shared_exp[base]
        if "exp" not in shared and (name == "softplus" or shared.get("softplus")) and self._parts_remembered():
            self._softplus_parts(base, shared)
        if "exp" not in shared:
            b = self.value(base)
            shared["exp"] = self._emit(sp.exp(-sp.Abs(base)), f"_dw_exp_negabs({b.hi}, {self._lo(b)})",
                                       ("_dw_exp_negabs",))
        exp = shared["exp"]
        if name == "sigmoid":
            return self._emit(e, f"_dw_sigmoid_e({a.hi}, {self._lo(a)}, {exp.hi}, {exp.lo})", ("_dw_sigmoid_e",))
        if "log1p" not in shared:
            shared["log1p"] = self._emit(log1p(sp.exp(-sp.Abs(base))), f"_dw_log1p({exp.hi}, {exp.lo})",
                                         ("_dw_log1p",))
        log = shared["log1p"]
        return self._emit(e, f"_dw_softplus_l({a.hi}, {self._lo(a)}, {log.hi}, {log.lo})", ("_dw_softplus_l",))

    def _parts_remembered(self) -> bool:
        """Whether softplus takes its E = e^−|v| and log1p(E) from _dw_softplus_parts, and log of a float64 value its
        double word from _dw_log_remembered (NumPy's double words, not the scaled tier's or the bound's): remembered
        for the last v, so that the widened functions of one block share them (f = softplus(x/y)⁻² and
        2σ(x/y)/softplus(x/y)³ of its gradients: NumPy 1e6 float64 1043 → 740 ms, benchmarks/results/cost41.txt)."""
        return self.backend == "numpy" and type(self) is _Emitter

    def _softplus_parts(self, base, shared: dict) -> dict:
        """``shared``'s E = e^−|v| and log1p(E) of ``base`` (v), from one _dw_softplus_parts (the operations of
        _dw_exp_negabs and _dw_log1p, so the same bits), where it has none yet."""
        if "log1p" in shared:
            return shared
        b = self.value(base)
        exp_e = sp.exp(-sp.Abs(base))
        log_e = log1p(exp_e)
        if "exp" in shared:  # (σ took E first: its log1p alone)
            shared["log1p"] = self._emit(log_e, f"_dw_log1p({shared['exp'].hi}, {shared['exp'].lo})", ("_dw_log1p",))
            return shared
        exp_name, log_name = self._name(exp_e), self._name(log_e)
        self.needs.add("_dw_softplus_parts")
        self.lines.append(self._comment(exp_name, exp_e) + f"; {log_name} = {self.text(log_e)}")
        self.lines.append(f"{exp_name}_hi, {exp_name}_lo, {log_name}_hi, {log_name}_lo = "
                          f"_dw_softplus_parts({b.hi}, {self._lo(b)})")
        self.known[exp_e], self.known[log_e] = sp.Symbol(exp_name), sp.Symbol(log_name)
        shared["exp"] = _Value(f"{exp_name}_hi", f"{exp_name}_lo")
        shared["log1p"] = _Value(f"{log_name}_hi", f"{log_name}_lo")
        return shared

    def _exp_shift(self, e) -> _Value:
        """exp_shift(x, m): e^(x − m) with x − m exact as a double-word (TwoSum), 1 where x = m. For m = max(x, y) of
        two float64 values the pair's one exponential: where x ≠ m, x − m is min(x, y) − max(x, y), as is y − m where
        y ≠ m, so e^(min(x, y) − m) is computed once for both terms (min(x, y) taken as the one of x, y that is not m:
        the same operands, the same bits; a two-term softmax in double words took two e^x, one of them e^0; h-soft42)."""
        x, m = e.args
        vx, vm = self.value(x), self.value(m)
        same = f"{vx.hi} == {vm.hi}" if vx.lo is None and vm.lo is None else self.plain.doprint(sp.Eq(x, m))
        pair = getattr(self, "definitions", {}).get(m, m)  # (m a temporary of double_word_block's kernel: max(x, y))
        if isinstance(pair, sp.Max) and len(pair.args) == 2 and x in pair.args and vx.lo is None and vm.lo is None:
            y = pair.args[1] if pair.args[0] == x else pair.args[0]
            if self.value(y).lo is None:
                below = sp.Min(*pair.args)
                if below not in self.values:
                    self.values[below] = self.select(below, same, self.value(y), vx)
                gap = below - m
                if sp.exp(gap) not in self.values:
                    self.values[sp.exp(gap)] = self._function(sp.exp(gap), "exp", gap)
                term = self.select(e, same, _Value("1.0"), self.values[sp.exp(gap)])
                if type(self) is _Emitter:  # (the scaled and bound tiers keep their own sums and products)
                    self.pair_terms[term.hi] = (m, x, below, gap)
                return term
        return self.select(e, same, _Value("1.0"), self._function(sp.exp(x - m), "exp", x - m))

    def _pair_identity(self, a: _Value, b: _Value) -> _Value | None:
        """E = e^(min(x, y) − m), 1 where min(x, y) = m, for a and b the two terms e^(x − m), e^(y − m) of one pair
        (:meth:`_exp_shift`, m = max(x, y)); None for any other operands. Exact: where x ≠ y one term is 1 and the
        other E, where x = y (m = min(x, y)) both are 1 and so is E; so their product is E (no TwoProduct: it was
        _dw_mul(1, 0, E_hi, E_lo), the same words) and their sum 1 + E (_dw_add_fp, one TwoSum: it was _dw_add's
        two; a softmax's S, a log-softmax's, logaddexp's). NaN where either term is (an input NaN: min(x, y) is then
        NaN, or m is, and so is E); at x = y = ±inf min(x, y) = m and E = 1 as the terms (inf − inf not taken;
        cost43)."""
        ta, tb = self.pair_terms.get(a.hi), self.pair_terms.get(b.hi)
        if ta is None or tb is None or ta[0] != tb[0] or ta[1] == tb[1] or a.hi == b.hi:
            return None
        m, _, below, gap = ta
        key = ("pair-one", m)
        if key not in self.pair_terms:
            vm, vb = self.value(m), self.value(below)
            self.pair_terms[key] = self.select(sp.exp(gap), f"{vb.hi} == {vm.hi}", _Value("1.0"),
                                               self.values[sp.exp(gap)], comment=sp.exp(gap))
        return self.pair_terms[key]

    def operand(self, e) -> _Value:
        """e as an operand of a sum, a product, a quotient or an integer power: :meth:`value` (the scaled tier's
        subclass keeps its scale here, where these operations carry it)."""
        return self.value(e)

    def _sum(self, e) -> _Value:
        terms = sorted(e.args, key=lambda t: (t.is_number, t.could_extract_minus_sign(), sp.default_sort_key(t)))
        pos = [t for t in terms if not (t.could_extract_minus_sign() and not t.is_number)]
        neg = [t for t in terms if t.could_extract_minus_sign() and not t.is_number]
        if len(pos) >= 2 and len(neg) >= 2 and not isinstance(self, _Bound):
            # (Σ positive) − (Σ |negative|), each group in the order above: a sum whose two groups hold the same
            # numbers is 0 exactly (a double-word sum of two terms does not depend on their order), where adding
            # the negative terms one by one to the positive sum left that sum's rounding (∂x of a 3-class KL of
            # written softmaxes at identical logits: −2.31e−33 for 0; session 35). The scaled double words too
            # (h-kl36): their tier takes a 0 again (SCALED_TINY), and its one-by-one sum gave the float32 KL's ∂x,
            # ∂y, ∂z 7.7e−34 for 0 at identical logits, where the float64 kernel's outputs again in double words
            # gave 0
            a = self._sum(sp.Add(*pos))
            b = self._sum(sp.Add(*[-t for t in neg]))
            minus_b = _Value(f"(-{b.hi})", None if b.lo is None else f"(-{b.lo})")
            minus_b.scale = b.scale
            return self.add(e, a, minus_b)
        terms = _twins_first(terms)
        acc, partial = self.operand(terms[0]), terms[0]
        for term in terms[1:]:
            partial = partial + term
            if self._computed_partial(partial) is not None:  # (wgan44: the same partial sum, the same double word)
                acc = self._computed_partial(partial)
                continue
            if term.could_extract_minus_sign() and not term.is_number:
                b = self.operand(-term)
                minus_b = _Value(f"(-{b.hi})", None if b.lo is None else f"(-{b.lo})")
                minus_b.scale = b.scale
                b = minus_b
            else:
                b = self.operand(term)
            acc = self.add(partial, acc, b)
            self._remember_partial(partial, acc)
        return acc

    def _divide(self, e, n: _Value, d: _Value) -> _Value:
        return self._emit(e, f"_dw_div({n.hi}, {self._lo(n)}, {d.hi}, {self._lo(d)})", ("_dw_div",))

    def _product(self, e) -> _Value:
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            return self.negate(e, self.operand(rest))
        if _scaled_exp(e) is not None and not _exact_scale(coeff):
            # c·e^v, 0 < |c| < 1 not a power of 2: e^(v + log|c|), so that e^v's overflow is not c·e^v's (the float64
            # body's _exp_overflowed is |v|·2⁻⁵³ off where v is rounded: −e^(x²)/3 + y at x² = 710.5, 200 ULP;
            # session 30). A power of 2 scales exactly: as before (the kernels' bits)
            magnitude = self._function(abs(coeff) * rest, "exp",
                                       sp.Add(rest.args[0], sp.log(abs(sp.Rational(coeff))), evaluate=False))
            return magnitude if coeff > 0 else self.negate(e, magnitude)
        factors = list(sp.Mul.make_args(e))
        factors = equal_powers(factors) or factors  # x²·y² as (x·y)²: x² overflows where the whole need not
        num = [f for f in factors if not (f.is_Pow and f.exp.is_Integer and f.exp < 0)]
        den = [f.base ** -f.exp for f in factors if f.is_Pow and f.exp.is_Integer and f.exp < 0]
        numerator = self._fold(num)
        if not den:
            return numerator
        numerator = numerator if numerator is not None else _Value("1.0")
        if len(den) == 1 and den[0].is_Pow and den[0].exp.is_Integer and den[0].exp >= 2 and (
                den[0].base.is_Add or isinstance(den[0].base, sp.Function)):
            # N/(x + y)^k as ((N/(x + y))/…)/(x + y): (x + y)^k overflows where the quotient need not (∂x of
            # mish(x)/(x + y) at (−1.94, 2.7e249): the double word NaN, the float64 body's cancellation 5.3 ULP); a
            # division of double words is as exact as their product (2⁻¹⁰⁴ or so). N/g(u)^k of a function the same
            # (session 36, h-gelu36): g(u)^k goes subnormal where g(u) and the quotient are normal, its lo part lost
            # and the hi's low bits (∂x of gelu(x/y)⁻², y·e^(−v²/2)/(x²·Φ(v)³), at v = x/y = −21.9: Φ³ = 4.2e−319,
            # 7.7e9 ULP off in float64; torch NaN)
            base, acc, partial = den[0].base, numerator, sp.Mul(*num)
            for _ in range(int(den[0].exp)):
                partial = partial / base
                acc = self._divide(partial, acc, self.operand(base))
            return acc
        return self._divide(e, numerator, self._fold(den))

    def _fold(self, factors):
        if not factors:
            return None
        factors = sorted(factors, key=lambda f: (not f.is_number, sp.default_sort_key(f)))
        acc, partial = self.operand(factors[0]), factors[0]
        for f in factors[1:]:
            partial = sp.Mul(partial, f)
            acc = self.mul(partial, acc, self.operand(f))
        return acc

    def _power(self, e) -> _Value:
        base, exp = e.args
        if exp.is_Integer and 1 <= exp <= 8:
            acc, partial = self.operand(base), base
            for _ in range(int(exp) - 1):
                partial = partial * base
                if partial in self.values:  # (lor44) s² of s⁴ is the body's s² too (36s⁴x/(3s² + x²)³: s² twice)
                    acc = self.values[partial]
                    continue
                acc = self.values[partial] = self.mul(partial, acc, self.operand(base))
            return acc
        if exp.is_Integer and -8 <= exp <= -1:
            return self._divide(e, _Value("1.0"), self.operand(base ** -exp))
        if exp.is_Integer and exp > 8:
            return self._binary_power(base, int(exp))
        if exp.is_Integer and exp < -8:
            return self._divide(e, _Value("1.0"), self._binary_power(base, int(-exp)))
        if exp == sp.S.Half:
            a = self.value(base)
            return self._emit(e, f"_dw_sqrt({a.hi}, {self._lo(a)})", ("_dw_sqrt",))
        if exp == -sp.S.Half:
            r = self.value(sp.sqrt(base))
            return self._emit(e, f"_dw_div(1.0, 0.0, {r.hi}, {self._lo(r)})", ("_dw_div",))
        if _half_integer(exp):  # x^(n/2) = x^⌊n/2⌋·√x (x^(−3/2) = x^(−1/2)/x)
            return self._product(_split_half_power(e))
        if not exp.is_number or exp.is_Rational and not exp.is_Integer:
            # b^γ, γ an input: e^(γ·log b), log b and the product in double-word (b^γ of a b rounded to float64 is
            # off by |γ|·u relative: 682 ULP at γ = 1035, the focal loss's (1 − p_t)^γ); b ≤ 0 gives a NaN or inf
            # here, where the function returns the float64 body's value. A constant fractional exponent the same:
            # b^(3/4) in float64 (libm's pow of the double-word b's hi) left focal(z, t, 1/4, 3/4)'s ∂t 1.7e15 ULP off
            # where its terms cancel (t = 0, z = −0.2564); log b is one value, shared by b^(3/4) and b^(−1/4)
            return self._function(e, "exp", sp.Mul(exp, sp.log(base), evaluate=False))
        return self._plain(e)

    def _binary_power(self, base, k: int) -> _Value:
        """base^k, k > 8, by squaring in double words: base², base⁴, … and the product of those of k's binary digits
        (log(y)⁴¹ = log(y)³²·log(y)⁸·log(y): 5 squarings, 2 products), each to 2⁻¹⁰⁴ or so, where it was b^k in
        float64 (_plain: pow of b computed in float64), k times b's rounding and pow's own, which the double word took as
        exact (∂y of (y^x/log y)⁴⁰, y^(40x)/(y·log(y)⁴¹) beside a term it cancels: 283 ULP at (−2.89, 0.723), torch
        33.8; issue 16, h-powk41). No partial power leaves the range before b^k does (|b|^j ≤ |b|^k for |b| ≥ 1, ≥ for
        |b| ≤ 1): where b^k overflows the double word is not finite and the widened function takes its float64 body, as
        it did; where it underflows, so did the float64 power."""
        squares, acc, partial, n = self.operand(base), None, None, 1
        square_of = base
        while True:
            if k & n:
                acc, partial = ((squares, square_of) if acc is None else
                                (self.mul(partial * square_of, acc, squares), partial * square_of))
            n <<= 1
            if n > k:
                return acc
            square_of = square_of ** 2
            squares = self.mul(square_of, squares, squares)

    def _piecewise(self, e) -> _Value:
        pieces = list(e.args)
        expr, cond = pieces[-1]
        if cond != sp.true:
            return self._plain(e)
        arguments = [_exp_argument(p.expr) for p in pieces] if self.backend == "numpy" else [None]
        if all(a is not None for a in arguments):
            # {e^a₁ if c₁; …; e^a_k otherwise} as e^{a₁ if c₁; …; a_k otherwise}: one double-word e^x of the selected
            # argument, the same bits (the select picks the same double word, _dw_exp takes it), where each piece
            # took one on every element (focal's p_t^γ: e^(−γ·softplus(−z)) at t = 0, e^(−γ·softplus(z)) at t = 1,
            # e^(γ·log p_t) elsewhere; task h-cost20). NumPy only: Triton's kernels keep their text.
            return self._function(e, "exp", sp.Piecewise(*[(a, p.cond) for a, p in zip(arguments, pieces)],
                                                         evaluate=False))
        acc = self.value(expr)
        for k in range(len(pieces) - 2, -1, -1):  # innermost select first: {a_k if c_k; … ; last otherwise}
            expr, cond = pieces[k]
            partial = e if k == 0 else sp.Piecewise(*pieces[k:])
            acc = self.select(partial, self.plain.doprint(cond), self.value(expr), acc)
        return acc

    def _extremum(self, e) -> _Value:
        """Max/Min: by the hi parts; where they tie, the larger (smaller) lo part."""
        module = "np" if self.backend == "numpy" else "tl"
        pick = f"{module}.maximum" if isinstance(e, sp.Max) else f"{module}.minimum"
        op = ">" if isinstance(e, sp.Max) else "<"
        args = list(e.args)
        acc, partial = self.value(args[0]), args[0]
        for k, a in enumerate(args[1:], 2):
            b = self.value(a)
            # the first k arguments, not evaluated: SymPy's Max compares every pair of its arguments as it builds (a
            # 40-term softmax's max in double words, 39 partial maxima: 37 of 44 CPU s of its compile); e's own
            # arguments have no pair it could decide, so this is the node SymPy would build, args in the same order
            partial = type(e)(*args[:k], evaluate=False)
            name = self._name(partial)
            self.lines.append(self._comment(name, partial))
            first = self._extremum_first(acc.hi, op, b.hi)
            self.lines.append(f"{name}_hi = {self.where}({first}, {acc.hi}, {b.hi})")
            if acc.lo is None and b.lo is None:
                self.known[partial] = sp.Symbol(f"{name}_hi")
                acc = _Value(f"{name}_hi")
                continue
            tie = f"{pick}({self._lo(acc)}, {self._lo(b)})"
            self.lines.append(f"{name}_lo = {self.where}({first}, {self._lo(acc)}, "
                              f"{self.where}({b.hi} {op} {acc.hi}, {self._lo(b)}, {tie}))")
            self.known[partial] = sp.Symbol(name)
            acc = _Value(f"{name}_hi", f"{name}_lo")
        return acc

    @staticmethod
    def _extremum_first(a: str, op: str, b: str) -> str:
        """The condition that picks a, the first argument of a Max/Min, over b: a NaN a is picked too, so a NaN in
        any argument is the result's, as np.maximum's. A bare `a > b` is False at a NaN a and picked b: a written
        softmax's max in double words at a/T past float64's range (NaN in double words, inf in float64) was then
        the max of the others, and the compensated recomputation replaced the float64 pass's right 1.0 by 0.4994."""
        core = a.strip("()").lstrip("-")
        if _is_number(core) or core.startswith(("np.float64(", "tl.full(", "float(")):  # a number: its own rule
            return f"{a} {op} {b}"
        return f"({a} {op} {b}) | ({a} != {a})"


    # ---- triple words: the terms of a sum that cancels past a double word (see _tw_mul)

    def _emit3(self, e, call: str, needs: tuple) -> _Value:
        name = self._name(e)
        self.needs.update(needs)
        self.lines.append(self._comment(name, e) + " (triple word)")
        self.lines.append(f"{name}_hi, {name}_lo, {name}_tail = {call}")
        self.known[e] = sp.Symbol(name)
        return _Value(f"{name}_hi", f"{name}_lo", f"{name}_tail")

    def _words(self, v: _Value) -> str:
        return f"{v.hi}, {self._lo(v)}, {v.tail if v.tail is not None else '0.0'}"

    def _triple_terms(self, e) -> list:
        """The terms of the sum e as triple words, in the order of :meth:`_sum` (a negative one's words negated)."""
        terms = sorted(e.args, key=lambda t: (t.is_number, t.could_extract_minus_sign(), sp.default_sort_key(t)))
        words = []
        for term in terms:
            if term.could_extract_minus_sign() and not term.is_number:
                b = self.triple(-term)
                b = _Value(f"(-{b.hi})", None if b.lo is None else f"(-{b.lo})", None if b.tail is None else f"(-{b.tail})")
            else:
                b = self.triple(term)
            words.append((term, b))
        return words

    def triple_sum(self, e) -> _Value:
        """The sum e with its terms in triple words (:func:`_triple_worthy`), as a triple word."""
        (partial, acc), *rest = self._triple_terms(e)
        for term, b in rest:
            partial = partial + term
            acc = self._emit3(partial, f"_tw_add({self._words(acc)}, {self._words(b)})", ("_tw_add",))
        return acc

    def rounded_triple_sum(self, e) -> _Value:
        """The sum e with its terms in triple words, rounded once (its hi; lo and tail 0.0). Three terms or more: every
        word of every term summed in three-fold precision (_tw_sum_step), the his first, then the los, then the tails,
        so that terms equal in every word cancel before the small ones are added: e^x − e^y + x·y at x = y = 200 was
        0 for 40000 in _tw_add's left-to-right sum, where x·y + e^x keeps x·y 2⁻²⁷⁰ of e^x below its 150 bits (torch
        40000: e^x − e^y is 0 first). Two terms: _tw_add (their sum's rounding is the result's)."""
        words = self._triple_terms(e)
        if len(words) < 3:
            return self.triple_sum(e)
        parts = [w for level in ("hi", "lo", "tail") for _, v in words
                 for w in [getattr(v, level)] if w is not None and w not in ("0.0", "(-0.0)")]
        name = self._name(e)
        self.needs.update(("_tw_sum_step", "_tw_sum_round"))
        self.lines.append(self._comment(name, e) + " (its terms' words summed in three-fold precision)")
        self.lines.append(f"{name}_hi, {name}_lo, {name}_tail = {parts[0]}, 0.0, 0.0")
        for w in parts[1:]:
            self.lines.append(f"{name}_hi, {name}_lo, {name}_tail = _tw_sum_step({name}_hi, {name}_lo, {name}_tail, {w})")
        self.lines.append(f"{name}_hi = _tw_sum_round({name}_hi, {name}_lo, {name}_tail)")
        self.known[e] = sp.Symbol(name)
        return _Value(f"{name}_hi", "0.0", "0.0")

    def triple(self, e) -> _Value:
        """e as a triple word where :func:`_triple_exact` allows it (products, quotients, log, log1p, selects,
        sums holding a number), a double word (its tail 0) elsewhere."""
        if e.is_number and e not in self.values:
            return self._triple_constant(e)
        if isinstance(e, (sp.Max, sp.Min)) and any(type(a).__name__ == "erf" for a in e.args):
            return self._triple_extremum(e)  # max(ε, erf(v)): gaussian_nll's variance clamped
        if e in self.values or isinstance(e, (sp.Max, sp.Min)) or (isinstance(e, sp.Add) and len(e.args) == 2 and all(
                a in self.values or (-a) in self.values or (a.is_number and self._triple_constant(a).lo is None)
                for a in e.args)):
            return self.value(e)  # a leaf, x − t and x − 1 (exact: TwoSum), max(ε, v)
        key = ("triple", e)
        if key in self.values:
            return self.values[key]
        if isinstance(e, sp.Add):  # x + c, (x − 1) + c: c to 159 bits, the sum to 2⁻¹⁵⁰ or so (x + c to 2⁻¹⁰⁶ in a
            # double word is 2⁻⁷⁹ of log(x + c) at x = 1, c = 10⁻⁸: poisson_nll's f cancels 2⁵⁷ there)
            v = self.triple_sum(e)
        elif type(e).__name__ == "log1p":  # log(1 + a): 1 + a as a triple word (exact where a is), then its log
            one_plus = self._emit3(sp.Add(1, e.args[0], evaluate=False), f"_tw_add(1.0, 0.0, 0.0, {self._words(self.triple(e.args[0]))})",
                                   ("_tw_add",))
            v = self._emit3(e, f"_tw_log({self._words(one_plus)})",
                            ("_dw_log",) if self.backend == "numpy" else ("_tw_log",))
        elif isinstance(e, sp.UnevaluatedExpr):
            v = self.triple(e.args[0])
        elif getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):  # a widened sum inside
            v = self.triple(e.expanded)
        elif (type(e).__name__ in ("sigmoid", "softplus", "tanh") and len(e.args) == 1
              and _negabs_base(e) in self.shared_triple):  # σ(±v), softplus(±v), tanh(±v/2) from one e^−|v|
            v = self._triple_shared(e, type(e).__name__, e.args[0])
        elif (self.triple_exp_select and isinstance(e, sp.Piecewise)
              and _triple_exp_argument(e) is not None):  # {e^a₁ if c₁; …}: one e^x of the selected argument
            v = self.triple(sp.exp(_triple_exp_argument(e), evaluate=False))
        elif type(e).__name__ in self.TRIPLE_FUNCTIONS and len(e.args) == 1:  # e^x, σ, softplus, tanh (the third tier)
            helper = self.TRIPLE_FUNCTIONS[type(e).__name__]
            v = self._emit3(e, f"{helper}({self._words(self.triple(e.args[0]))})", (helper,))
        elif type(e).__name__ == "nexp":  # e^−u
            a = self.triple(e.args[0])
            v = self._emit3(e, f"_tw_exp(-{a.hi}, -{self._lo(a)}, -{a.tail or '0.0'})", ("_tw_exp",))
        elif type(e).__name__ in ("sin", "cos") and len(e.args) == 1:  # (NumPy's: _triple_capable; trig48)
            helper = f"_tw_{type(e).__name__}"
            v = self._emit3(e, f"{helper}({self._words(self.triple(e.args[0]))})", (helper,))
        elif isinstance(e, sp.Pow) and e.exp == sp.S.Half:  # √b by a Newton step (trig48: e^(log b/2) was 2⁻¹¹⁴ off)
            v = self._emit3(e, f"_tw_sqrt({self._words(self.triple(e.base))})", ("_tw_sqrt",))
        elif isinstance(e, sp.Pow) and (not e.exp.is_number or e.exp.is_Rational and not e.exp.is_Integer):
            # b^γ = e^(γ·log b), as the double word has it (log b one value, shared by b^γ and b^(γ − 1))
            v = self.triple(sp.exp(sp.Mul(e.exp, sp.log(e.base), evaluate=False), evaluate=False))
        elif isinstance(e, sp.Mul):
            v = self._triple_product(e)
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and 1 <= e.exp <= 8:
            acc, partial = self.triple(e.base), e.base
            if e.exp == 2:
                v = self._emit3(e, f"_tw_square({self._words(acc)})", ("_tw_square",))
                self.values[key] = v
                return v
            for _ in range(int(e.exp) - 1):
                partial = partial * e.base
                acc = self._emit3(partial, f"_tw_mul({self._words(acc)}, {self._words(self.triple(e.base))})",
                                  ("_tw_mul",))
            v = acc
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and -8 <= e.exp <= -1:
            d = self.triple(e.base ** -e.exp)
            v = self._emit3(e, f"_tw_div(1.0, 0.0, 0.0, {self._words(d)})", ("_tw_div",))
        elif isinstance(e, sp.log):
            a = self.triple(e.args[0])
            v = self._emit3(e, f"_tw_log({self._words(a)})", ("_dw_log",) if self.backend == "numpy" else ("_tw_log",))
        elif type(e).__name__ == "erf" and not self._float64(e.args[0]):
            # erf(v) of a triple-word v (a quotient's; its value not computed first, whose double word triple would
            # then take): erf of its hi by _tw_erf, its lo and tail to second order (_tw_erf_words; session 41)
            v = self._emit3(e, f"_tw_erf_words({self._words(self.triple(e.args[0]))})", ("_tw_erf_words",))
        elif type(e).__name__ == "erf" and self.value(e.args[0]).lo is None:
            # erf(v) of a float64 v in triple words (_tw_erf: its series up to |v| = 6, ±(1 − erfc|v|) beyond)
            v = self._emit3(e, f"_tw_erf({self.value(e.args[0]).hi})", ("_tw_erf",))
        elif type(e).__name__ == "erfc" and self.backend == "numpy":
            # erfc(v) of a triple-word v (_tw_erfc: its lo and tail to second order; session 22)
            v = self._emit3(e, f"_tw_erfc({self._words(self.triple(e.args[0]))})", ("_tw_erfc",))
        elif type(e).__name__ in ("erfc", "ndtr") and self.backend == "triton" and self._float64(e.args[0]):
            # Triton: erfc(v), Φ(v) of a float64 v by 1 − erf in triple words (_tw_erfc_series, _tw_ndtr_series; session
            # 36)
            name = f"_tw_{type(e).__name__}_series"
            v = self._emit3(e, f"{name}({self.value(e.args[0]).hi})", (name,))
        elif type(e).__name__ == "erfc" and self.backend == "triton":
            # Triton: erfc(v) of a triple-word v (a quotient's): erfc of its hi by the series, its lo and tail to second
            # order (_tw_erfc_words; session 38)
            v = self._emit3(e, f"_tw_erfc_words({self._words(self.triple(e.args[0]))})", ("_tw_erfc_words",))
        elif type(e).__name__ == "ndtr":  # Φ(x) = erfc(−x/√2)/2 (Triton: of a triple-word x, the float64's above)
            v = self.triple(sp.Mul(sp.Rational(1, 2), sp.erfc(-e.args[0] / sp.sqrt(2), evaluate=False), evaluate=False))
        elif isinstance(e, sp.Abs):  # |u| as the select {−u if u < 0; u} (past47: the Laplace NLL's |x − m|·e^(−s) + s)
            v = self.triple(sp.Piecewise((-e.args[0], e.args[0] < 0), (e.args[0], True)))
        elif isinstance(e, sp.Piecewise) and e.args[-1][1] == sp.true:
            pieces = list(e.args)
            acc = self.triple(pieces[-1][0])
            for k in range(len(pieces) - 2, -1, -1):
                expr, cond = pieces[k]
                partial = e if k == 0 else sp.Piecewise(*pieces[k:])
                a = self.triple(expr)
                acc = self.select(partial, self.plain.doprint(cond), a, acc)
            v = acc
        else:
            v = self.value(e)
        self.values[key] = v
        return v

    def _float64(self, e) -> bool:
        """Whether e's value is a float64 (a leaf, a number, or minus one), known without computing it: computed, a
        quotient's double word would be what :meth:`triple` then returns for it (erfc(x/y) with x/y to 2⁻¹⁰⁶, 16 ULP
        of erfc(x/y) − z at a 2⁵¹ cancellation)."""
        if e.is_number:
            return True
        known = self.values.get(e, self.values.get(-e))
        return known is not None and known.lo is None

    def _triple_shared(self, e, name: str, arg) -> _Value:
        """σ(a), softplus(a) or tanh(a) in triple words from the body's one (E, m) = (e^−|v|, E − 1) of v = ±a (±2a for
        tanh) and one log1p(E) (:func:`_tw_exp_negabs`; Triton's third tier): the operations of _tw_sigmoid,
        _tw_softplus and _tw_tanh after their exponential, which is computed once (focal's ∂t: 2 exponentials and
        logs for its σ(±z), softplus(±z), tanh(z/2), where 7)."""
        base = _negabs_base(e)
        key = ("negabs", base)
        if key not in self.values:
            b = self.triple(base)
            stem = self._name(sp.exp(-sp.Abs(base)))
            self.needs.add("_tw_exp_negabs")
            self.lines.append(self._comment(stem, sp.exp(-sp.Abs(base))) + " and it minus 1 (triple words)")
            self.lines.append(f"{stem}_hi, {stem}_lo, {stem}_tail, {stem}_m_hi, {stem}_m_lo, {stem}_m_tail = "
                              f"_tw_exp_negabs({self._words(b)})")
            self.values[key] = (_Value(f"{stem}_hi", f"{stem}_lo", f"{stem}_tail"),
                                _Value(f"{stem}_m_hi", f"{stem}_m_lo", f"{stem}_m_tail"))
        exp, minus_one = self.values[key]
        a = self.triple(arg)
        if name == "sigmoid":
            return self._emit3(e, f"_tw_sigmoid_e({a.hi}, {self._words(exp)})", ("_tw_sigmoid_e",))
        if name == "tanh":
            return self._emit3(e, f"_tw_tanh_m({self._words(a)}, {self._words(minus_one)})", ("_tw_tanh_m",))
        if ("log1p", base) not in self.values:
            self.values[("log1p", base)] = self._emit3(log1p(sp.exp(-sp.Abs(base))), f"_tw_log1p({self._words(exp)})",
                                                       ("_tw_log1p",))
        log = self.values[("log1p", base)]
        return self._emit3(e, f"_tw_softplus_l({self._words(a)}, {self._words(log)})", ("_tw_softplus_l",))

    def _triple_extremum(self, e) -> _Value:
        """Max/Min of triple words, by their hi parts (where they tie, the first: the two differ by less than an ulp of
        the hi, and are both in triple words)."""
        key = ("triple", e)
        if key in self.values:
            return self.values[key]
        op = ">=" if isinstance(e, sp.Max) else "<="
        args = list(e.args)
        acc = self.triple(args[0])
        for k, a in enumerate(args[1:], 2):
            b = self.triple(a)
            acc = self.select(type(e)(*args[:k], evaluate=False), self._extremum_first(acc.hi, op, b.hi), acc, b)
        self.values[key] = acc
        return acc

    def _triple_constant(self, c) -> _Value:
        """A number as a triple word: its float64, the rest's float64 and the rest's (159 bits: 10⁻⁸ is 2⁻¹⁰⁷ of
        itself off in a double word); (hi, lo) where those are exact."""
        v = _dw_constant(c, self.backend)
        if v.lo is None or not math.isfinite(float(c)):
            return v
        rest = sp.N(c, 80) - sp.Float(float(c), 80)
        tail = float(rest - sp.Float(float(rest), 80))
        return _Value(v.hi, v.lo, _constant(tail, self.backend) if tail != 0.0 else None)

    def _triple_product(self, e) -> _Value:
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            a = self.triple(rest)
            return _Value(f"(-{a.hi})", None if a.lo is None else f"(-{a.lo})", None if a.tail is None else f"(-{a.tail})")
        if coeff != 1 and coeff.is_Rational and _power_of_two(abs(coeff)):  # ½·log v: exact in each word
            a = self.triple(rest)
            c = repr(float(coeff))
            name = self._name(e)
            self.lines.append(self._comment(name, e) + " (triple word)")
            self.lines.append(f"{name}_hi, {name}_lo, {name}_tail = {c} * {a.hi}, {c} * {self._lo(a)}, "
                              f"{c} * {a.tail if a.tail is not None else '0.0'}")
            self.known[e] = sp.Symbol(name)
            return _Value(f"{name}_hi", f"{name}_lo", f"{name}_tail")
        factors = list(sp.Mul.make_args(e))
        num = [f for f in factors if not (f.is_Pow and f.exp.is_Integer and f.exp < 0)]
        den = [f.base ** -f.exp for f in factors if f.is_Pow and f.exp.is_Integer and f.exp < 0]

        def fold(fs):
            fs = sorted(fs, key=lambda f: (not f.is_number, sp.default_sort_key(f)))
            acc, partial = self.triple(fs[0]), fs[0]
            for f in fs[1:]:
                partial = sp.Mul(partial, f)
                acc = self._emit3(partial, f"_tw_mul({self._words(acc)}, {self._words(self.triple(f))})", ("_tw_mul",))
            return acc

        n = fold(num) if num else _Value("1.0")
        if not den:
            return n
        if all(f.is_number for f in num):  # c/b: a number, not tiny, is no dividend to scale (_tw_quotient)
            return self._emit3(e, f"_tw_div({self._words(n)}, {self._words(fold(den))})", ("_tw_div",))
        return self._emit3(e, f"_tw_quotient({self._words(n)}, {self._words(fold(den))})", ("_tw_quotient",))


class _Scaled(_Emitter):
    """The body in scaled double words (hi + lo)·2^−k (NumPy, and Triton's repair kernel; see SCALED_TINY): leaves and e^x carry a k where they
    are tiny, products add it, sums align it (_dwx_add), selects pick it, log takes k·ln 2 off; any other operation
    takes its operands as they are (:meth:`value`: 2^−k·(hi + lo), rounded where tiny)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.leaf_names = {s: v.hi for s, v in self.values.items()}
        self.scaled_values: dict = {}
        self.down: dict = {}
        self.exps: dict = {}
        self.plain_used = False  # an operation computed in float64 (_plain): no scaled tier for this body
        self.unit = False  # every leaf scaled to [1/2, 1) (_dwx_unit; widen's far_bound), not only past 2^±900

    def _plain(self, e) -> _Value:
        self.plain_used = True
        return super()._plain(e)

    @staticmethod
    def _k(v: _Value) -> str:
        return getattr(v, "scale", None) or "0"

    @staticmethod
    def _with(v: _Value, k: str | None) -> _Value:
        v.scale = k
        return v

    @staticmethod
    def _base_name(v: _Value) -> str:
        return v.hi[:-3] if v.hi.endswith("_hi") else v.hi

    def scaled(self, e) -> _Value:
        """e as a scaled double word (its ``scale``: the name of its k, None where it is 0)."""
        if e in self.scaled_values:
            return self.scaled_values[e]
        if e in self.leaf_names:
            name = self.leaf_names[e]
            leaf = "_dwx_unit" if self.unit else "_dwx_leaf"
            self.needs.add(leaf)
            self.lines.append(f"# {name} scaled to [1/2, 1) by its exponent" if self.unit else
                              f"# {name} scaled by 2⁶⁰⁰ where it is below 2⁻⁹⁰⁰")
            self.lines.append(f"{name}_sc, {name}_k = {leaf}({name})")
            v = self._with(_Value(f"{name}_sc"), f"{name}_k")
        elif getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):  # a widened sum inside
            v = self.scaled(e.expanded)
        elif isinstance(e, sp.UnevaluatedExpr):
            v = self.scaled(e.args[0])
        elif isinstance(e, (sp.cosh, sp.sinh)):  # its exponentials' k kept (sinh(−711),
            v = self.scaled(_hyperbolic_as_exponentials(e))  # past the range, in x − 3y + sinh x brought back by 3y)
        else:
            v = super().value(e)
        self.scaled_values[e] = v
        return v

    def value(self, e) -> _Value:
        """e as a double word (2^−k·(hi + lo)), for the operations that take no scale."""
        v = self.scaled(e)
        if getattr(v, "scale", None) is None:
            return v
        if e not in self.down:
            name = self._name(e)
            self.lines.append(self._comment(name, e) + " (unscaled)")
            k = v.scale
            if self.backend == "numpy":
                self.lines.append(f"{name}_hi, {name}_lo = np.ldexp({v.hi}, -{k}), np.ldexp({self._lo(v)}, -{k})")
            else:  # (Triton: the hi rounded once, the lo by two exact factors: _dwx_scale_lo)
                self.needs |= {"_dwx_ldexp", "_dwx_scale_lo"}
                lo = f"_dwx_scale_lo({v.lo}, -{k})" if v.lo is not None else "0.0"
                self.lines.append(f"{name}_hi, {name}_lo = _dwx_ldexp({v.hi}, -{k}), {lo}")
            self.down[e] = _Value(f"{name}_hi", f"{name}_lo")
        return self.down[e]

    def add(self, e, a: _Value, b: _Value) -> _Value:
        if getattr(a, "scale", None) is None and getattr(b, "scale", None) is None:
            return super().add(e, a, b)
        name = self._name(e)
        self.needs.add("_dwx_add")
        self.lines.append(self._comment(name, e))
        self.lines.append(f"{name}_hi, {name}_lo, {name}_k = _dwx_add({a.hi}, {self._lo(a)}, {self._k(a)}, "
                          f"{b.hi}, {self._lo(b)}, {self._k(b)})")
        return self._with(_Value(f"{name}_hi", f"{name}_lo"), f"{name}_k")

    def _scale_line(self, v: _Value, k: str) -> _Value:
        name = self._base_name(v)
        self.lines.append(f"{name}_k = {k}")
        return self._with(_Value(v.hi, v.lo), f"{name}_k")

    def _renormalised(self, v: _Value, k: str) -> _Value:
        """A product's or a quotient's scaled double word renormalised (_dwx_norm, exact): its hi in [1/2, 1) and k by
        as much where the value is past 2^±100 (k 0 within), so that it does not underflow (or overflow) in the
        products after it where k holds the scale (scale50: ((x + y)/y)⁵ at (5e−200, 1e−310), (x + y)/y =
        1.2e−70·2⁶⁰⁰, had its fifth power's hi 0 for 2.5e−350, a value of 3.1e553: 0 for +inf; the Tukey loss's c⁴ at
        c = 6.8e90 its hi +inf). Only where this product named a new double word (not an identity's value, not a
        power of 2 times a float64)."""
        if v.lo is None or v.tail is not None or not self.lines[-1].startswith(f"{v.hi}, {v.lo} = "):
            return self._scale_line(v, k)
        name = self._base_name(v)
        self.needs.add("_dwx_norm")
        self.lines.append(f"{v.hi}, {v.lo}, {name}_k = _dwx_norm({v.hi}, {v.lo}, {k})")
        return self._with(_Value(v.hi, v.lo), f"{name}_k")

    def mul(self, e, a: _Value, b: _Value) -> _Value:
        v = super().mul(e, a, b)
        ka, kb = getattr(a, "scale", None), getattr(b, "scale", None)
        if ka is None and kb is None:
            return v
        return self._renormalised(v, " + ".join(k for k in (ka, kb) if k is not None))

    def negate(self, e, a: _Value) -> _Value:
        return self._with(super().negate(e, a), getattr(a, "scale", None))

    def select(self, e, cond: str, a: _Value, b: _Value, comment=None) -> _Value:
        v = super().select(e, cond, a, b, comment)
        if getattr(a, "scale", None) is None and getattr(b, "scale", None) is None:
            return v
        return self._scale_line(v, f"{self.where}({cond}, {self._k(a)}, {self._k(b)})")

    def operand(self, e) -> _Value:
        return self.scaled(e)

    def _divide(self, e, n: _Value, d: _Value) -> _Value:
        v = super()._divide(e, n, d)
        kn, kd = getattr(n, "scale", None), getattr(d, "scale", None)
        if kn is None and kd is None:
            return v
        return self._renormalised(v, f"{kn or '0'} - {kd or '0'}")

    def _piecewise(self, e) -> _Value:
        pieces = list(e.args)
        if self.backend == "triton" and pieces[-1][1] == sp.true and any(p.expr != 1 for p in pieces):
            # {e^a₁ if c₁; …; 1 if c_j; …} as one scaled e^x of the selected argument (1 = e⁰): focal's p_t^γ, a select
            # of three exponentials and 1, takes one _dwx_exp, not three (the double word's text is Triton's as it was)
            arguments = [sp.S.Zero if p.expr == 1 else _exp_argument(p.expr) for p in pieces]
            if all(a is not None for a in arguments):
                return self._function(e, "exp", sp.Piecewise(*[(a, p.cond) for a, p in zip(arguments, pieces)],
                                                             evaluate=False))
        if pieces[-1][1] != sp.true or all(_exp_argument(p.expr) is not None for p in pieces):
            return super()._piecewise(e)  # (one e^x of the selected argument: _function's scaled exp)
        acc = self.scaled(pieces[-1][0])
        for k in range(len(pieces) - 2, -1, -1):
            expr, cond = pieces[k]
            partial = e if k == 0 else sp.Piecewise(*pieces[k:])
            acc = self.select(partial, self.plain.doprint(cond), self.scaled(expr), acc)
        return acc

    def _negabs_exp(self, base) -> _Value:
        if base not in self.exps:
            b = self.value(base)
            name = self._name(sp.exp(-sp.Abs(base)))
            self.needs.add("_dwx_exp_negabs")
            self.lines.append(self._comment(name, sp.exp(-sp.Abs(base))) + " (scaled)")
            self.lines.append(f"{name}_hi, {name}_lo, {name}_k = _dwx_exp_negabs({b.hi}, {self._lo(b)})")
            self.exps[base] = {"exp": _Value(f"{name}_hi", f"{name}_lo")}
        return self.exps[base]["exp"]

    def _function(self, e, name, arg) -> _Value:
        if name == "log" and arg.is_Add and sp.S.One in arg.args and len(arg.args) > 1:
            # stt46: log(1 + X) as log1p(X) (below): the double word 1 + X holds X only to 2⁻⁵³ of itself where
            # |X| < 2⁻⁵³ (its lo part is X rounded once), a relative error log1p's condition passes on whole; the
            # Student-t ∂ν, log(1 + a)/2 − (ν + 1)·a/(2ν(1 + a)), cancels by 2ν: 14.3 ULP at a = 7.1e−26, ν = 29.9
            # (s = 2.8e−163, x = 4.1e−175). log1p of the unscaled X (a double word to 2⁻¹⁰⁰ or so) where finite,
            # the scaled log(1 + X) as before where X unscaled overflows (a > 2¹⁰²³: no cancellation in 1 + X there)
            rest = arg - 1
            return self._function(log1p(rest), "log1p", rest)
        if name == "log":
            a = self.scaled(arg)
            if getattr(a, "scale", None) is None:
                return super()._function(e, name, arg)
            return self._emit(e, f"_dwx_log({a.hi}, {self._lo(a)}, {a.scale})", ("_dwx_log",))
        if name == "log1p":  # stt45: log1p of a scaled a, where a unscaled overflows, as log(1 + a) at a's scale
            a = self.scaled(arg)
            if getattr(a, "scale", None) is None:
                return super()._function(e, name, arg)
            # log1p of the unscaled a (its float64 log1p where that is not finite): the value where a is finite;
            # where a passes 1.8e308 it was inf (the Student-t's log(1 + (x − m)²/(ν·s²)) at s = 1.2e−186,
            # x − m = −0.46: inf for 921.4). There log(1 + a) of the scaled double word 1 + a: a > 2¹⁰²³, so
            # 1 + a holds a to 2⁻¹⁰⁶ and its log (≥ 709) has no cancellation, to 2⁻¹⁰⁵ of it (_dwx_log's k·ln 2)
            near = super()._function(e, name, arg)
            unscaled = self.value(arg)
            one_plus = self.add(sp.Add(1, arg, evaluate=False), a, _Value("1.0"))
            far = self._emit(sp.log(sp.Add(1, arg, evaluate=False), evaluate=False),
                             f"_dwx_log({one_plus.hi}, {self._lo(one_plus)}, {one_plus.scale})", ("_dwx_log",))
            inf = "np.inf" if self.backend == "numpy" else 'float("inf")'
            return self.select(e, f"{self.where.split('.')[0]}.abs({unscaled.hi}) < {inf}", near, far)
        if name in ("exp", "expm1"):  # (expm1: e^x scaled past x = 700, where
            a = self.value(arg)                                                # sinh x = (expm1 x − expm1(−x))/2 is)
            v = self._name(e)
            helper = "_dwx_exp" if name == "exp" else "_dwx_expm1"
            self.needs.add(helper)
            self.lines.append(self._comment(v, e) + " (scaled)")
            self.lines.append(f"{v}_hi, {v}_lo, {v}_k = {helper}({a.hi}, {self._lo(a)})")
            return self._with(_Value(f"{v}_hi", f"{v}_lo"), f"{v}_k")
        if name in ("sigmoid", "softplus"):
            a = self.value(arg)
            base = -arg if arg.could_extract_minus_sign() else arg
            exp = self._negabs_exp(base)
            k = self._base_name(exp) + "_k"
            v = self._name(e)
            self.lines.append(self._comment(v, e) + " (scaled)")
            if name == "sigmoid":
                self.needs.add("_dwx_sigmoid_e")
                self.lines.append(f"{v}_hi, {v}_lo, {v}_k = _dwx_sigmoid_e({a.hi}, {self._lo(a)}, {exp.hi}, {exp.lo}, "
                                  f"{k})")
            else:
                if "log1p" not in self.exps[base]:
                    log = self._base_name(exp) + "_log1p"
                    self.needs.add("_dwx_log1p_e")
                    self.lines.append(f"{log}_hi, {log}_lo, {log}_k = _dwx_log1p_e({exp.hi}, {exp.lo}, {k})")
                    self.exps[base]["log1p"] = log
                log = self.exps[base]["log1p"]
                self.needs.add("_dwx_softplus_l")
                self.lines.append(f"{v}_hi, {v}_lo, {v}_k = _dwx_softplus_l({a.hi}, {self._lo(a)}, {log}_hi, "
                                  f"{log}_lo, {log}_k)")
                x = self.scaled(arg)
                if getattr(x, "scale", None) is not None:  # x past 2⁹⁰⁰: softplus(x) is x, kept at its scale
                    self.needs.add("_dwx_softplus_far")
                    self.lines.append(f"{v}_hi, {v}_lo, {v}_k = _dwx_softplus_far({v}_hi, {v}_lo, {v}_k, {x.hi}, "
                                      f"{self._lo(x)}, {x.scale})")
            return self._with(_Value(f"{v}_hi", f"{v}_lo"), f"{v}_k")
        return super()._function(e, name, arg)

    def rounded(self, body) -> str:
        """The body rounded once (_dwx_round where it carries a k), as the last line; the name of the result."""
        v = self.scaled(body)
        if getattr(v, "scale", None) is None:
            return v.hi
        self.needs.add("_dwx_round")
        self.lines.append(f"scaled_result = _dwx_round({v.hi}, {self._lo(v)}, {v.scale})")
        return "scaled_result"


def _power_of_two(c) -> bool:
    return c > 0 and c.is_Rational and (c.p & (c.p - 1)) == 0 and (c.q & (c.q - 1)) == 0


def _triple_exact(e, leaves, backend: str) -> bool:
    """Whether e is built of what :meth:`_Emitter.triple` computes in triple words: leaves, numbers, sums of leaves
    and numbers (in double words: x − t exact, x + ε to 2⁻¹⁰⁶), products, integer powers and quotients, log, max/min of
    leaves, selects of these."""
    if e in leaves or e.is_number:
        return True
    if isinstance(e, sp.UnevaluatedExpr):
        return _triple_exact(e.args[0], leaves, backend)
    if isinstance(e, sp.Add):  # of leaves and numbers, or of such sums grouped ((x − 1) + c)
        return all(a in leaves or a.is_number or (-a) in leaves or (
            isinstance(a, sp.UnevaluatedExpr) and isinstance(a.args[0], sp.Add) and _triple_exact(a.args[0], leaves, backend))
            for a in e.args)
    if isinstance(e, (sp.Max, sp.Min)):
        return all(a in leaves or a.is_number or (-a) in leaves or (type(a).__name__ == "erf" and a.args[0] in leaves)
                   for a in e.args)
    if isinstance(e, sp.Mul):
        return all(_triple_exact(a, leaves, backend) for a in e.args)
    if isinstance(e, sp.Pow):
        return bool(e.exp.is_Integer and 1 <= abs(e.exp) <= 8 and _triple_exact(e.base, leaves, backend))
    if isinstance(e, sp.log) or type(e).__name__ == "log1p":
        return _triple_exact(e.args[0], leaves, backend)
    if type(e).__name__ == "erf":  # of an input: _tw_erf
        return e.args[0] in leaves
    if type(e).__name__ in ("erfc", "ndtr"):  # of an input: _tw_erfc (NumPy), _tw_erfc_series, _tw_ndtr_series (Triton)
        return e.args[0] in leaves
    if isinstance(e, sp.Piecewise):
        return e.args[-1][1] == sp.true and all(_triple_exact(x, leaves, backend) for x, _ in e.args)
    return False


def _triple_capable(e, leaves, backend: str = "numpy") -> bool:
    """Whether every node of e has a triple word in :meth:`_Emitter.triple` (the third tier): :func:`_triple_exact`'s
    and e^x, e^−x, e^x − 1, σ, softplus, tanh, b^γ (e^(γ·log b); √b by _tw_sqrt), sin and cos (NumPy's, trig48), sums
    of any of these, widened sums inside."""
    if e in leaves or e.is_number:
        return True
    if isinstance(e, sp.UnevaluatedExpr):
        return _triple_capable(e.args[0], leaves, backend)
    if getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):
        return _triple_capable(e.expanded, leaves, backend)
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(_triple_capable(a, leaves, backend) for a in e.args)
    if isinstance(e, sp.Pow):
        if e.exp.is_Integer:
            return bool(1 <= abs(e.exp) <= 8 and _triple_capable(e.base, leaves, backend))
        return bool((not e.exp.is_number or e.exp.is_Rational) and _triple_capable(e.base, leaves, backend)
                    and _triple_capable(e.exp, leaves, backend))
    if isinstance(e, sp.Piecewise):
        return e.args[-1][1] == sp.true and all(_triple_capable(x, leaves, backend) for x, _ in e.args)
    if isinstance(e, sp.Abs):  # past47: {−u if u < 0; u} (_Emitter.triple), u a leaf or a sum of two leaves or a
        # leaf and a number, whose float64 value has the exact one's sign (rounding is monotonic, 0 only where exact)
        u = e.args[0]
        return u in leaves or (u.is_Add and len(u.args) == 2 and all(
            a in leaves or (-a) in leaves or a.is_number for a in u.args))
    if isinstance(e, (sp.Max, sp.Min)):  # selects of leaves and numbers (a clamp: max(−c, min(c, z))): exact
        return all(a in leaves or a.is_number or (-a) in leaves or (isinstance(a, (sp.Max, sp.Min))
                                                                    and _triple_capable(a, leaves, backend)) for a in e.args)
    kind = type(e).__name__
    if kind in _Emitter.TRIPLE_FUNCTIONS or kind in ("nexp", "log", "log1p"):
        return len(e.args) == 1 and _triple_capable(e.args[0], leaves, backend)
    if kind in ("sin", "cos") and backend == "numpy":  # _tw_sin, _tw_cos (trig48; Triton's tier keeps double words)
        return len(e.args) == 1 and _triple_capable(e.args[0], leaves, backend)
    if kind in ("erfc", "ndtr") and backend == "triton":  # of any of these too: _tw_erfc_words (session 38)
        return len(e.args) == 1 and _triple_capable(e.args[0], leaves, backend)
    if kind == "erf":  # of any of these too: _tw_erf_words (session 41)
        return len(e.args) == 1 and _triple_capable(e.args[0], leaves, backend)
    return _triple_exact(e, leaves, "numpy")  # max/min of leaves, erf of a leaf


def _triple_worthy(body, leaves, backend: str) -> bool:
    """A widened sum whose terms all have triple words (:func:`_triple_exact`) and one of which holds a log, whose
    double word's low parts round at 2⁻¹⁰⁶ of log x (gaussian_nll's ½(log v + (x − t)²/v): 5.27 ULP at its 2⁵⁸
    cancellation): computed in triple words (both backends: _tw_log), where the other widened sums
    (e^x − t·x, σ(z) − t, gaussian_nll's ∂v = 1/(2v) − (x − t)²/(2v²), the focal loss's products) keep their
    double words, half the operations."""
    if not isinstance(body, sp.Add) or not all(_triple_exact(a, leaves, backend) for a in body.args):
        return False
    return any(isinstance(n, sp.log) or type(n).__name__ == "log1p" for n in sp.preorder_traversal(body))


# ---------------------------------------------------------------------------------------------
# the float64 body with a bound of its rounding error: where it is small, no double-word


KEEP_RELATIVE = 3 * 2.0 ** -53  # kept where the bound is within 3u of the value: ≤ 3 ULP
# a triple-worthy sum (_triple_worthy) in double words where the float64 bound is within 2⁻¹⁰ of the value: the
# double word's operations round at 2⁻¹⁰⁰ or so of their results where the float64 ones round at 2⁻⁵³ (the bound
# counts at least that), so its error is within 2⁻⁴⁷ of the bound, 2⁻⁵⁷ of the value (1/16 ULP); triple words past it
DEEP_RELATIVE = 2.0 ** -10
# the third tier where the float64 kernel computes no bound: triple words where the sum's terms (their double words'
# his) are past 2⁴⁰ times the double word's value: its error, some 2⁻¹⁰⁵ of the terms, is 2⁻⁶⁵ of the value there
DEEP_TERMS = 2.0 ** 40
# Triton's double word of erfc and Φ of an input is their float64 value (fdlibm's erfc, up to 1.6 ULP; session 37,
# h-erfc37): a sum with one among its terms is then float64-exact alone, 1.6 ULP of its terms, past 4 ULP of its value
# where they cancel past 2.5 (erfc(x) − y at y = erfc(x)·(1 + 2⁻²⁰), x = 1.7: 1.0e6 ULP, torch 6.2e3; 5.5e11 at
# 2⁻³⁹): the third tier, whose triple word of them is exact (_tw_erfc_series, _tw_ndtr_series), takes the elements
# whose terms are past twice its value there
ROUNDED_DEEP_TERMS = 2.0
_ROUNDED_IN_DOUBLE = ("_tw_erfc_series(", "_tw_ndtr_series(", "_tw_erfc_words(",
                      # erf of an input and of a double word (session 41): _dw_erf_tail's float64 erf below 1/2, its
                      # float64 erfc from 1/2 on (_dw_erf_words's too): erf(x) − y at y = erf(x)·(1 + 2⁻²⁰), |x| < 1/2,
                      # was 6.1e8 ULP (torch 1.5e13)
                      "_tw_erf(", "_tw_erf_words(")


def _deep_terms(tripled_lines) -> float:
    """How far a Triton float64 kernel's sum cancels (its terms over its value) before its third tier takes it:
    DEEP_TERMS, or ROUNDED_DEEP_TERMS where the triple words take a function the double word has in float64."""
    rounded = any(call in line for line in tripled_lines for call in _ROUNDED_IN_DOUBLE)
    return ROUNDED_DEEP_TERMS if rounded else DEEP_TERMS


def _deep_words(limit: float) -> str:
    """DEEP_TERMS or ROUNDED_DEEP_TERMS as a comment writes it."""
    return "2⁴⁰" if limit == DEEP_TERMS else f"{limit:g}"
# a body whose least bound (_least_bound) is past 3u keeps nothing in a float64 kernel, but a float32 kernel keeps its
# float64 value where the bound is within 2⁻³⁰ of it: bounded for the float32 kernel where the least bound is below
# 2⁻⁴⁰ (focal's ∂t with γ an input, its float64 sum cancelling past 2⁻⁵³ at t = 1, z ≪ 0: 1.4e7 float32 ULP at
# z = −56.2 before, where the float32 kernel took the float64 body everywhere)
FLOAT32_USEFUL = 2.0 ** -40
_U = 2.0 ** -53  # the unit roundoff of float64
_SAFETY = 1 + 2.0 ** -40  # the bound's own roundings and the second-order terms it leaves out

# the float64 lowering's error in ULPs of its result (NumPy's exp and log: Tang's table-driven methods
# under AVX512F, glibc's elsewhere, each documented below 1 ULP, measured 0.67 and 0.58; expm1 and log1p
# glibc's, 1; tanh 2: glibc's table says 2, measured 1.1; erf 2: the registry's _erf is Python's math.erf (glibc's),
# documented 1 ULP, measured 0.98 over 10⁵ points of [−6, 6] against mpmath (session 19): 2 for a margin)
# sin, cos 1: NumPy's (AVX512 here), measured 0.504 and 0.506 ULP over 10⁴ points of |x| ≤ 1e5 (session 19)
_LIBM_ULPS = {"exp": 1, "nexp": 1, "expm1": 1, "log": 1, "log1p": 1, "tanh": 2, "erf": 2, "sin": 1, "cos": 1, "erfc": 4,
              "ndtr": 4}  # erfc: glibc's (math.erfc, a few ULPs); Φ: the registry's _ndtr, erfc's and a correction's
# the lowerings built of several libm calls, in units of u·|value|: σ = max(E, [x ≥ 0])/(1 + E) with
# E = e^−|x| (E's 2u, the sum's u, the quotient's u), softplus = max(x, 0) + log1p(e^−|x|) (2u + 2u + u)
_COMPOSITE_U = {"sigmoid": 4, "softplus": 5}
# np.power's error in ULPs of its result: glibc's pow is documented below 1 ULP; NumPy may take a SIMD pow (SVML,
# documented within 4 ULP) on AVX-512 machines
_POW_ULPS = 4

# the same for the Triton float64 lowerings (registry.py, triton/printer.py), which a float32 Triton kernel's bound
# describes: tl.exp, tl.log, tl.sin, tl.cos, tl.erf are libdevice's on a GPU (CUDA's table: 1, 1, 2, 2, 2 ULP) and NumPy's
# under TRITON_INTERPRET=1; the helpers built of them measured under the interpreter against mpmath (session 20, 3,000
# points each, /tmp/ts20/lowerings.py): Kahan's _expm1 2 ULP (3.0u relative), Goldberg's _log1p 2 (3.1u), _tanh 3
# (3.8u), _softplus 3.5u, _sigmoid 3.2u; each taken at about twice that for libdevice's exp and log on a GPU. A float32
# kernel keeps the float64 body where the bound is within 2⁻³⁰ of it, 2⁻⁶ of a float32 ULP: a bound low by 2× still
# leaves the kept value within 0.52 float32 ULP
_TRITON_ULPS = {"exp": 2, "nexp": 2, "expm1": 4, "log": 2, "log1p": 4, "tanh": 6, "erf": 4, "sin": 4, "cos": 4, "erfc": 4,
                "ndtr": 6}
_TRITON_COMPOSITE_U = {"sigmoid": 8, "softplus": 8}
# Triton's b^γ is e^(γ·log b) (triton/printer.py): exp's own error and |γ·log b| times the product's and log's
# roundings (3u), relative
_TRITON_POW_LOG_U = 4
_TRITON_KEEP = 2.0 ** -30  # a float32 Triton kernel keeps the float64 body within 2⁻³⁰ of it (NumPy's ``within``)
# the bound's text in NumPy → in Triton (the float64 body's own text comes from the Triton printer already)
_TRITON_BOUND_TEXT = (("np.abs(", "tl.abs("), ("np.where(", "tl.where("), ("np.sqrt(", "tl.sqrt("),
                      ("np.log(", "tl.log("), ("np.expm1(", "_expm1("), ("np.inf", 'float("inf")'))
# a float literal not inside tl.full([], …): Triton makes it float32, so one float32 cannot hold becomes tl.full
_FLOAT_LITERAL = re.compile(r"(?<![\w.])(?<!\[\], )(\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+)(?![\w.])")


def _triton_bound_line(line: str) -> str:
    """A statement of the bound (:class:`_Bound`) in Triton: NumPy's functions by the table, each float literal
    float32 cannot hold as a float64 tl.full. Raises where NumPy text is left (a new bound rule without its Triton
    text must fail here, not in Triton's compiler)."""
    if line.lstrip().startswith("#"):
        return line
    for numpy_text, triton_text in _TRITON_BOUND_TEXT:
        line = line.replace(numpy_text, triton_text)
    line = _FLOAT_LITERAL.sub(lambda m: _constant(float(m.group(1)), "triton"), line)
    if "np." in line:
        raise ValueError(f"the Triton bound has NumPy text left: {line}")
    return line


class _Unbounded(Exception):
    """A node the bound does not cover (erf, a fractional power): the body is double-word everywhere."""


class _Bound(_Emitter):
    """The float64 body node by node, each value ``v`` beside a bound of its distance from the exact
    value at the same (exact) inputs, ``E + ρ·u·|v|``: an array ``v_err`` (E, or none) and a number
    known when the code is generated (ρ, in units of u = 2⁻⁵³), so that a chain of products and
    quotients of inputs costs no operation of its own. Running error analysis (Higham, *Accuracy and
    Stability of Numerical Algorithms*, §3.3), from these rules (e_a = E_a + ρ_a·u·|a| the bound of
    an operand a; 0 for an input):

    * a rounded sum or product r = fl(a ∘ b): |fl(r) − r| ≤ u·|fl(r)| (round to nearest: half an
      ulp of the result). a + b: e_a + e_b + u·|v|, each partial of a longer sum rounded at its own
      computed value; a·b: E = |a|·E_b + |b|·E_a + E_a·E_b, ρ = ρ_a + ρ_b + 1; a/b: E = E_a/|b|,
      ρ = ρ_a + ρ_b + 1, or where b has an E_b, (e_a + |v|·e_b)/(|b| − e_b) + u·|v| (none where
      |b| ≤ e_b); −a and 2^k·a exact; a constant c: ρ = |fl(c) − c|/(u·|fl(c)|);
    * a function f(a): its lowering's own error (_LIBM_ULPS ULPs of the result, an ULP taken from
      the result's exponent bits; or _COMPOSITE_U·u·|v|), plus the effect of a's error:
      e^a·(e^(e_a) − 1) for e^a and e^a − 1, e_a/(a − e_a) for log a (ρ_a·u/(1 − ρ_a·u), a number,
      where a's bound is relative), e_a/(1 + a − e_a) for log(1 + a), σ(a)·(e^(e_a) − 1) for σ
      (σ(a + d)/σ(a) ≤ e^|d|), e_a for tanh and softplus (slopes at most 1);
    * a select takes the bound of the value it selects (its condition is the double-word path's: the
      same float64 comparison of the inputs), max/min the larger bound, |a| a's.

    First order in u apart from the products' E_a·E_b; _SAFETY covers the rest where the bound is
    small, and where it is not the element is not kept anyway.

    The mask, K: an element is kept where ``e·_SAFETY ≤ 3u·|v|``: then the float64 value is within
    3u·|v| of the exact r, within 3 ULP of it (an ULP of a normal number r is at least u·|r|), and
    within 4 ULP (the issue's bound) of a product or quotient of it that the kernel rounds once more.
    For a sum s of terms t_i, each within c_i·u·|t_i| of its own, the bound is
    Σ c_i·u·|t_i| + u·Σ_k |partial_k| ≤ (c + n − 1)·u·Σ|t_i| with c = max c_i, so the element is
    kept wherever Σ|t_i|/|s| ≤ K = 3/(c + n − 1): e^x − t·x (c = 2, a libm ulp; n = 2) is kept
    where Σ|t_i|/|s| ≤ 1, where the terms do not cancel at all, and (the ulp of the result's own
    binade, not 2u·|t|) about twice as far; a sum that cancels, σ(z) − t at σ(z) ≈ t, is not kept:
    it is double-word. 3u rather than 2u: a libm result's ulp and the sum's rounding alone are up to
    2u + u of a sum that does not cancel, which 2u would send to the double-word."""

    def __init__(self, plain, leaves: dict, taken: set, backend: str = "numpy"):
        super().__init__("numpy", plain, leaves, leaves, taken)
        self.values = {s: (n, None, 0.0) for s, n in leaves.items()}
        self.magnitudes: dict = {}
        # Triton (a float32 kernel's bound): the lowerings' own errors of the Triton printer, the text translated at
        # the end (_triton_bound_line); max/min, b^γ and the ulp written here
        self.triton = backend == "triton"
        self.ulps = _TRITON_ULPS if self.triton else _LIBM_ULPS
        self.composite = _TRITON_COMPOSITE_U if self.triton else _COMPOSITE_U

    def _extreme(self, pick: str, a: str, b: str) -> str:
        """max or min (``pick`` np.maximum or np.minimum) of a and b, NaN where either is (as np.maximum and the
        Triton printer's MAXIMUM)."""
        if not self.triton:
            return f"{pick}({a}, {b})"
        return f"tl.{pick[3:]}({a}, {b}, propagate_nan=tl.PropagateNan.ALL)"

    def _abs(self, v: str) -> str:
        """|v|, computed once a value."""
        if not v.isidentifier():  # a literal
            return repr(abs(float(v)))
        if v not in self.magnitudes:
            name, k = f"abs_{v}", 1
            while name in self.taken:
                k += 1
                name = f"abs_{v}_{k}"
            self.magnitudes[v] = name
            self.taken.add(name)
            self.lines.append(f"{name} = np.abs({v})")
        return self.magnitudes[v]

    @staticmethod
    def _plus(*parts) -> str | None:
        parts = [p for p in parts if p is not None and p != "0.0"]
        return " + ".join(parts) if parts else None

    def _relative(self, v: str, rho: float) -> str | None:
        """ρ·u·|v| printed (a number where v is one), or None for ρ = 0."""
        if rho == 0:
            return None
        if not v.isidentifier():
            return repr(rho * _U * abs(float(v)))
        return f"{rho * _U!r}*{self._abs(v)}"

    def _total(self, v: str, error: str | None, rho: float) -> str | None:
        """The whole bound E + ρ·u·|v| printed (a number where both are), or None where it is 0."""
        relative = self._relative(v, rho)
        if error is not None and relative is not None and not v.isidentifier() and not error.isidentifier():
            return repr(float(error) + float(relative))
        return self._plus(error, relative)

    def _assign(self, e, value: str, error: str | None, rho: float, comment=None):
        name = self._name(e)
        self.lines.append(self._comment(name, comment if comment is not None else e))
        self.lines.append(f"{name} = {value}")
        if error is not None and not error.isidentifier() and not _is_number(error):  # an expression: named
            self.taken.add(f"{name}_err")
            self.lines.append(f"{name}_err = {error}")
            error = f"{name}_err"
        self.known[e] = sp.Symbol(name)
        return name, error, rho

    def value(self, e):
        if e in self.values:
            return self.values[e]
        if getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):
            out = self.value(e.expanded)
        elif isinstance(e, sp.UnevaluatedExpr):
            out = self.value(e.args[0])
        elif e.is_number:
            out = self._number(e)
        elif isinstance(e, sp.Add):
            out = self._bound_sum(e)
        elif isinstance(e, sp.Mul):
            out = self._bound_product(e)
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and 1 <= abs(e.exp) <= 8:
            out = self._bound_product(e, power=e)
        elif isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half):
            out = self._bound_root(e)
        elif isinstance(e, sp.Pow) and _half_integer(e.exp):  # x^⌊n/2⌋·√x, as the double-word path has it
            out = self.value(_split_half_power(e))
        elif isinstance(e, sp.Pow) and (e.exp.is_Rational and not e.exp.is_Integer or not e.exp.is_number):
            out = self._bound_power(e)
        elif isinstance(e, sp.Piecewise):
            out = self._bound_piecewise(e)
        elif isinstance(e, (sp.Max, sp.Min)):
            out = self._bound_extremum(e)
        elif isinstance(e, sp.Abs):
            a, ea, rho = self.value(e.args[0])
            out = self._assign(e, f"np.abs({a})", ea, rho)
        elif type(e).__name__ in _LIBM_ULPS or type(e).__name__ in _COMPOSITE_U:
            out = self._bound_function(e)
        elif type(e).__name__ == "exp_shift":
            out = self._bound_exp_shift(e)
        else:
            raise _Unbounded(type(e).__name__)
        self.values[e] = out
        return out

    @staticmethod
    def _number(c):
        value = float(c)
        if not math.isfinite(value) or value == 0 and c != 0:
            raise _Unbounded("a constant past float64's range")
        if c.is_Rational and sp.Rational(value) == c:
            return repr(value), None, 0.0
        return repr(value), None, abs(float(sp.N(c, 60) - sp.Float(value, 60))) / (_U * abs(value)) * _SAFETY

    def _bound_sum(self, e):
        terms = sorted(e.args, key=lambda t: (t.is_number, t.could_extract_minus_sign(), sp.default_sort_key(t)))
        if len(terms) == 2 and all(self.value(-a if a.could_extract_minus_sign() and not a.is_number else a)[1:]
                                   == (None, 0.0) for a in terms):  # a rounding of exact values: u·|v|
            a, b = terms
            negative = b.could_extract_minus_sign() and not b.is_number
            return self._assign(e, f"{self.value(a)[0]} {'-' if negative else '+'} {self.value(-b if negative else b)[0]}",
                                None, 1.0)
        acc, err, rho = self.value(terms[0])
        err = self._total(acc, err, rho)
        partial = terms[0]
        for term in terms[1:]:
            partial = partial + term
            negative = term.could_extract_minus_sign() and not term.is_number
            b, eb, rb = self.value(-term if negative else term)
            name = self._name(partial)
            self.lines.append(self._comment(name, partial))
            self.lines.append(f"{name} = {acc} {'-' if negative else '+'} {b}")
            self.taken.add(f"{name}_err")
            self.lines.append(f"{name}_err = {self._plus(err, self._total(b, eb, rb), f'{_U!r}*{self._abs(name)}')}")
            self.known[partial] = sp.Symbol(name)
            acc, err = name, f"{name}_err"
        return acc, err, 0.0

    @staticmethod
    def _power_of_two(c) -> bool:
        return c.is_Rational and c != 0 and abs(c.p) & (abs(c.p) - 1) == 0 and c.q & (c.q - 1) == 0

    def _bound_product(self, e, power=None):
        coeff, rest = e.as_coeff_Mul()
        if power is None and coeff != 1 and (coeff == -1 or self._power_of_two(abs(coeff))) and not rest.is_number:
            v, err, rho = self.value(rest)  # −a, 2^k·a: exact
            c = float(coeff)
            scaled = f"{abs(c)!r}*{err}" if err is not None and abs(c) != 1 else err
            return self._assign(e, f"-{v}" if c == -1 else f"{c!r}*{v}", scaled, rho)
        if power is not None:
            n = int(power.exp)
            num, den = ([power.base] * n, []) if n > 0 else ([], [power.base] * -n)
        else:
            factors = list(sp.Mul.make_args(e))
            factors = equal_powers(factors) or factors  # x²·y² as (x·y)², as the double-word path has it
            num = [f for f in factors if not (f.is_Pow and f.exp.is_Integer and f.exp < 0)]
            den = [b for f in factors if f.is_Pow and f.exp.is_Integer and f.exp < 0 for b in [f.base] * int(-f.exp)]
        coeff = sp.Mul(*[f for f in num if f.is_number])
        num = [f for f in num if not f.is_number]
        acc, partial = None, sp.S.One
        for f in num:
            for _ in range(int(f.exp) if f.is_Pow and f.exp.is_Integer and f.exp > 1 else 1):
                acc, partial = self._times(partial, f.base if f.is_Pow and f.exp.is_Integer and f.exp > 1 else f, acc)
        if coeff != 1:
            if coeff == -1 or self._power_of_two(abs(coeff)):
                c = float(coeff)
                partial = coeff * partial
                if acc is None:
                    acc = (repr(c), None, 0.0)
                else:
                    v, err, rho = acc
                    scaled = f"{abs(c)!r}*{err}" if err is not None and abs(c) != 1 else err
                    acc = self._assign(partial, f"-{v}" if c == -1 else f"{c!r}*{v}", scaled, rho)
            else:
                acc, partial = self._times(partial, coeff, acc)
        if not den:
            return acc
        d, dpart = None, sp.S.One
        for f in den:
            d, dpart = self._times(dpart, f, d)
        n, en, rn = acc if acc is not None else ("1.0", None, 0.0)
        dv, ed, rd = d
        target = e if power is None else power
        if ed is None:  # relative: E_n/|d|, ρ_n + ρ_d + 1
            q = self._assign(target, f"{n}/{dv}", None, rn + rd + 1)
            if en is None:
                return q
            name = q[0]
            self.taken.add(f"{name}_err")
            self.lines.append(f"{name}_err = {en}/{self._abs(dv)}")
            return name, f"{name}_err", rn + rd + 1
        name = self._name(target)
        self.lines.append(self._comment(name, target))
        self.lines.append(f"{name} = {n}/{dv}")
        self.known[target] = sp.Symbol(name)
        total_n, total_d, abs_q = self._total(n, en, rn) or "0.0", self._total(dv, ed, rd), self._abs(name)
        self.taken.add(f"{name}_err")
        self.lines.append(f"{name}_err = ({total_n} + {abs_q}*({total_d}))/"
                          f"{self._extreme('np.maximum', f'{self._abs(dv)} - ({total_d})', '0.0')}")
        return name, f"{name}_err", 1.0

    def _times(self, partial, f, acc):
        b, eb, rb = self.value(f)
        new = partial * f if partial != 1 else f
        if acc is None:
            return (b, eb, rb), new
        a, ea, ra = acc
        first = f"{self._abs(a)}*{eb}" if eb is not None else None
        second = f"{self._abs(b)}*{ea}" if ea is not None else None
        both = f"{ea}*{eb}" if ea is not None and eb is not None else None
        return self._assign(new, f"{a}*{b}", self._plus(first, second, both), ra + rb + 1), new

    def _bound_piecewise(self, e):
        pieces = list(e.args)
        expr, cond = pieces[-1]
        if cond != sp.true:
            raise _Unbounded("a Piecewise without an otherwise")
        acc, err, rho = self.value(expr)
        for k in range(len(pieces) - 2, -1, -1):
            expr, cond = pieces[k]
            partial = e if k == 0 else sp.Piecewise(*pieces[k:])
            a, ea, ra = self.value(expr)
            c = self.plain.doprint(cond)
            both = None if ea is None and err is None else f"np.where({c}, {ea or '0.0'}, {err or '0.0'})"
            acc, err, rho = self._assign(partial, f"np.where({c}, {a}, {acc})", both, max(ra, rho))
        return acc, err, rho

    def _bound_root(self, e):
        """√a (correctly rounded: u·|v|) and 1/√a (one rounding more): a's relative bound ρ_a halves
        (√(a(1 + δ)) = √a·(1 + δ/2 + …)); an absolute one E_a carries as E_a/(√(a − E_a) + √a) ≤ E_a/√a."""
        a, ea, ra = self.value(e.base)
        root = sp.sqrt(e.base)
        if ea is None:
            r = self._assign(root, f"np.sqrt({a})", None, ra / 2 * _SAFETY + 1)
        else:
            name, _, _ = self._assign(root, f"np.sqrt({a})", None, 1.0)
            self.taken.add(f"{name}_err")
            room = self._extreme("np.maximum", f"{a} - ({self._total(a, ea, ra)})", "0.0")
            self.lines.append(f"{name}_err = ({self._total(a, ea, ra)})/(np.sqrt({room}) + {name})")
            r = (name, f"{name}_err", 1.0)
        self.values[root] = r
        if e.exp == sp.S.Half:
            return r
        s, es, rs = r
        if es is None:  # relative: ρ_s + 1
            return self._assign(e, f"1.0/{s}", None, rs + 1)
        name = self._name(e)
        self.lines.append(self._comment(name, e))
        self.lines.append(f"{name} = 1.0/{s}")
        self.known[e] = sp.Symbol(name)
        total, abs_q = self._total(s, es, rs), self._abs(name)
        self.taken.add(f"{name}_err")
        self.lines.append(f"{name}_err = {abs_q}*({total})/{self._extreme('np.maximum', f'{self._abs(s)} - ({total})', '0.0')}")
        return name, f"{name}_err", 1.0

    def _bound_power(self, e):
        """b^γ, γ not an integer (an input, γ − 1, 3/4): np.power, within _POW_ULPS ulps of its result, and the
        effect of b's and γ's errors: log v = γ·log b, so |δ log v| ≤ |γ|·|δ log b| + |δγ|·(|log b| + |δ log b|),
        |δ log b| ≤ e_b/(|b| − e_b), and |v|·(e^|δ log v| − 1) (inf where |b| ≤ e_b; NaN at b = 0: not kept)."""
        b, eb, rb = self.value(e.base)
        g, eg, rg = self.value(e.exp)
        name = self._name(e)
        self.lines.append(self._comment(name, e))
        # (Triton's b^γ is the printer's e^(γ·log b): its own error grows with |γ·log b|)
        self.lines.append(f"{name} = tl.exp({g} * tl.log({b}))" if self.triton else f"{name} = np.power({b}, {g})")
        self.known[e] = sp.Symbol(name)
        total_b, total_g = self._total(b, eb, rb), self._total(g, eg, rg)
        parts = []
        if total_b is not None:
            log_b = f"({total_b})/{self._extreme('np.maximum', f'{self._abs(b)} - ({total_b})', '0.0')}"
            parts.append(f"{self._abs(g)}*{log_b}")
        if total_g is not None:
            parts.append(f"({total_g})*(np.abs(np.log({b})) + {log_b if total_b is not None else '0.0'})")
        own = f"{_POW_ULPS}*{self._ulp(name, False)}"
        if self.triton:
            own += f" + {_TRITON_POW_LOG_U * _U!r}*{self._abs(name)}*np.abs({g}*np.log({b}))"
        error = own if not parts else f"{self._abs(name)}*np.expm1({' + '.join(parts)}) + {own}"
        self.taken.add(f"{name}_err")
        self.lines.append(f"{name}_err = {error}")
        return name, f"{name}_err", 0.0

    def _bound_extremum(self, e):
        pick = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
        args = list(e.args)
        values = [self.value(a) for a in args]
        signed = any(a.is_number and (a > 0 if isinstance(e, sp.Max) else a < 0) for a in args)
        if len(args) == 2 and signed and all(err is None for _, err, _ in values):
            # the value is the constant's sign whichever is taken: relative, ρ = max ρ_i
            return self._assign(e, self._extreme(pick, values[0][0], values[1][0]), None, max(r for _, _, r in values))
        return self._bound_extremum_fold(e, pick, args)

    def _bound_extremum_fold(self, e, pick, args):
        acc, err, rho = self.value(args[0])
        partial = args[0]
        for a in args[1:]:
            b, eb, rb = self.value(a)
            partial = type(e)(partial, a)
            first, second = self._total(acc, err, rho), self._total(b, eb, rb)
            if first is None or second is None:
                both = first or second
            elif _is_number(first) and _is_number(second):
                both = repr(max(float(first), float(second)))
            else:
                both = self._extreme("np.maximum", first, second)
            acc, err, rho = self._assign(partial, self._extreme(pick, acc, b), both, 0.0)
        return acc, err, rho

    def _ulp(self, v: str, positive: bool) -> str:
        """An ulp of |v|: its exponent bits times 2⁻⁵², 2⁻¹⁰⁷⁴ added for subnormals; inf for inf and NaN
        (a third of np.spacing's time)."""
        magnitude = v if positive else self._abs(v)
        if self.triton:
            return (f"(({magnitude}.to(tl.int64, bitcast=True) & 0x7FF0000000000000).to(tl.float64, bitcast=True)"
                    f"*{2.0 ** -52!r} + 5e-324)")
        return (f"(np.bitwise_and({magnitude}.view(np.int64), 0x7FF0000000000000).view(np.float64)"
                f"*{2.0 ** -52!r} + 5e-324)")

    def _bound_function(self, e):
        kind = type(e).__name__
        a, ea, ra = self.value(e.args[0])
        v = self.plain.doprint(type(e)(sp.Symbol(a)))
        name = self._name(e)
        self.lines.append(self._comment(name, e))
        self.lines.append(f"{name} = {v}")
        self.known[e] = sp.Symbol(name)
        own, rho = None, 0.0
        if kind in self.ulps:
            ulp = self._ulp(name, kind in ("exp", "nexp"))
            own = ulp if self.ulps[kind] == 1 else f"{self.ulps[kind]}*{ulp}"
        else:
            rho = float(self.composite[kind])  # σ and softplus: relative to their (positive) value
        carried = None
        if kind == "log" and ea is None and ra > 0:  # |log(a(1 + δ)) − log a| ≤ ρ_a·u/(1 − ρ_a·u)
            carried = repr(ra * _U / (1 - ra * _U) * _SAFETY)
        elif ea is not None or ra > 0:
            total = self._total(a, ea, ra)
            carried = {"exp": f"{name}*np.expm1({total})", "nexp": f"{name}*np.expm1({total})",
                       "expm1": f"({name} + 1)*np.expm1({total})", "sigmoid": f"{name}*np.expm1({total})",
                       "log": f"({total})/{self._extreme('np.maximum', f'{a} - ({total})', '0.0')}",
                       "log1p": f"({total})/{self._extreme('np.maximum', f'1 + {a} - ({total})', '0.0')}",
                       "tanh": total, "softplus": total, "sin": total, "cos": total,  # slopes at most 1
                       "erf": f"1.1283791670955126*({total})", "erfc": f"1.1283791670955126*({total})",
                       "ndtr": f"0.3989422804014327*({total})"}[kind]  # |erf′| = |erfc′| ≤ 2/√π, Φ′ ≤ 1/√(2π)
        error = self._plus(own, carried)
        if error is not None:
            self.taken.add(f"{name}_err")
            self.lines.append(f"{name}_err = {error}")
            error = f"{name}_err"
        return name, error, rho


    def _bound_exp_shift(self, e):
        """exp_shift(x, m) = e^(x − m), 1 where x = m: the registry's ``_exp_shift`` computes e^s·(1 + d)
        with s + d = x − m exactly (TwoSum), so its error is libm's ulp of e^s, the last sum's rounding
        (u·|v|) and d²/2 of e^s (below 2⁻⁸⁵ relative for |x − m| ≤ 745); x's and m's own errors are
        carried as for e^a: v·(e^(e_x + e_m) − 1)."""
        (a, ea, ra), (m, em, rm) = self.value(e.args[0]), self.value(e.args[1])
        name = self._name(e)
        self.lines.append(self._comment(name, e))
        self.lines.append(f"{name} = {self.plain.doprint(type(e)(sp.Symbol(a), sp.Symbol(m)))}")
        self.known[e] = sp.Symbol(name)
        total = self._plus(self._total(a, ea, ra), self._total(m, em, rm))
        own = self._ulp(name, True) if not self.triton else f"2*{self._ulp(name, True)}"  # libdevice's exp: 1 ULP
        error = self._plus(own, None if total is None else f"{name}*np.expm1({total})")
        self.taken.add(f"{name}_err")
        self.lines.append(f"{name}_err = {error}")
        return name, f"{name}_err", 1.0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _least_bound(e) -> float:
    """About the least value the bound of ``e`` takes relative to |e|, in units of u, where nothing
    cancels: 1 for a sum (its last rounding) unless every term carries more, the factors' and
    roundings' sum for a product, a function's own error. A body whose least bound is past
    KEEP_RELATIVE (focal's products of σ, softplus and sums) would keep nothing: it gets no bound."""
    if getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):
        return _least_bound(e.expanded)
    if isinstance(e, sp.UnevaluatedExpr):
        return _least_bound(e.args[0])
    if e.is_Symbol:
        return 0.0
    if e.is_number:
        return 0.0 if e.is_Rational and sp.Rational(float(e)) == e else 1.0
    if isinstance(e, sp.Add):
        return max(1.0, min(_least_bound(a) for a in e.args))
    if isinstance(e, sp.Mul):
        factors = [a for a in e.args if not (a.is_number and (a == -1 or _Bound._power_of_two(abs(a))))]
        return sum(_least_bound(a) for a in factors) + max(len(factors) - 1, 0)
    if isinstance(e, sp.Pow) and e.exp.is_Integer:
        n = abs(int(e.exp))
        return n * _least_bound(e.base) + n - 1 + (1 if e.exp < 0 else 0)
    if isinstance(e, sp.Pow) and e.exp in (sp.S.Half, -sp.S.Half):  # √a rounds once, 1/√a twice
        return _least_bound(e.base) / 2 + (1 if e.exp > 0 else 2)
    if isinstance(e, sp.Pow) and _half_integer(e.exp):
        return _least_bound(_split_half_power(e))
    if isinstance(e, sp.Pow) and (e.exp.is_Rational and not e.exp.is_Integer or not e.exp.is_number):
        # np.power's ulps (about 2u each), the base's relative error times |γ| (γ an input: taken as 1)
        scale = abs(float(e.exp)) if e.exp.is_number else 1.0
        return scale * _least_bound(e.base) + 2 * _POW_ULPS
    if isinstance(e, (sp.Piecewise, sp.Max, sp.Min)):
        pieces = [p.expr for p in e.args] if isinstance(e, sp.Piecewise) else e.args
        return min(_least_bound(p) for p in pieces)
    if isinstance(e, sp.Abs):
        return _least_bound(e.args[0])
    kind = type(e).__name__
    if kind == "exp_shift":  # libm's ulp and the last sum's rounding (_Bound._bound_exp_shift)
        return 2.0
    return _LIBM_ULPS.get(kind, _COMPOSITE_U.get(kind, math.inf))


def _exp_argument(e):
    """a where the double-word emitter computes ``e`` as e^a (_Emitter._function's "exp"): e^a, nexp(u) (a = −u), a
    power b^γ with γ an input or a fraction other than ±½ and n/2 (γ·log b); None otherwise."""
    while True:
        if getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):  # a widened node inside
            e = e.expanded
        elif isinstance(e, sp.UnevaluatedExpr):
            e = e.args[0]
        else:
            break
    if isinstance(e, sp.exp):
        return e.args[0]
    if type(e).__name__ == "nexp":
        return -e.args[0]
    if isinstance(e, sp.Pow):
        base, exp = e.args
        if exp in (sp.S.Half, -sp.S.Half) or _half_integer(exp) or exp.is_Integer:
            return None
        if not exp.is_number or exp.is_Rational:
            return sp.Mul(exp, sp.log(base), evaluate=False)
    return None


def _negabs_base(e):
    """The v of σ(±v), softplus(±v) or tanh(±v/2), whose E = e^−|v| they are computed from (v's sign normalised)."""
    base = 2 * e.args[0] if type(e).__name__ == "tanh" else e.args[0]
    return -base if base.could_extract_minus_sign() else base


def _shared_triple_bases(body) -> set:
    """The v whose σ(±v), softplus(±v), tanh(±v/2) ``body`` takes two or more of (the triple-word emitter's
    ``shared_triple``: one _tw_exp_negabs of v for them; a single one keeps its own _tw_sigmoid, _tw_softplus,
    _tw_tanh)."""
    uses: dict = {}
    for n in sp.preorder_traversal(body):
        if type(n).__name__ in ("sigmoid", "softplus", "tanh") and len(n.args) == 1:
            uses.setdefault(_negabs_base(n), set()).add(n)
    return {base for base, nodes in uses.items() if len(nodes) >= 2}


def _common_exp_factors(body) -> list:
    """The factors of the sum ``body``'s terms that are one exponential in every term (e^a, b^γ, a select of them:
    :func:`_triple_exp_argument`, the same argument in each term, however the select is written): each term's own
    expression of it. The third tier takes their double words (Triton, task h-tfocal22): a factor common to every term
    scales the sum, its rounding does not cancel."""
    keyed = []
    for term in body.args:
        factors: dict = {}
        for f in sp.Mul.make_args(term):
            a = _triple_exp_argument(f) if isinstance(f, sp.Piecewise) else _exp_argument(f)
            if a is not None:
                factors.setdefault(a, []).append(f)
        keyed.append(factors)
    common = set(keyed[0]).intersection(*keyed[1:]) if keyed else set()
    return [f for factors in keyed for a in common for f in factors[a]]


def _triple_exp_argument(e):
    """a where a select of exponentials e = {e^a₁ if c₁; …; e^a_k otherwise} (1 is e^0, a select among the pieces one
    too) can be computed as e^{a₁ if c₁; …; a_k otherwise}, its pieces' conditions after the first of each dropped (a
    later piece with the same condition is never taken: focal's p_t^γ and {1 if γ = 0; p_t^γ} inside it give one
    argument); None otherwise. Triton's third tier (task h-tfocal22): one triple-word e^x where each piece took one."""
    if not isinstance(e, sp.Piecewise) or e.args[-1][1] != sp.true:
        return None
    pieces: list = []

    def take(pw) -> bool:
        for expr, cond in pw.args:
            if any(cond == c for _, c in pieces):
                continue
            if cond == sp.true and isinstance(expr, sp.Piecewise) and expr.args[-1][1] == sp.true:
                return take(expr)
            a = sp.S.Zero if expr == 1 else _exp_argument(expr)
            if a is None:
                return False
            pieces.append((a, cond))
        return True
    if not take(e):
        return None
    return sp.Piecewise(*pieces, evaluate=False)


_LOG_SKIP = 2.0  # |log a| below which an element of log(x·y − z) is taken as one the bound would not keep


def _log_of_rounded_sum(body, first_order: bool) -> bool:
    """Whether ``body`` is the rounded-log-argument rule's first-order log a of a rounded sum a (log(x·y − z)). Its
    bound keeps an element of a float64 kernel only where |log a| > (1 + Σ|terms|/|a|)/2 at least (a's bound is
    u·(Σ|terms| + |a|), carried into log a as that over |a|; the log's ulp is above u·|log a|; against 3u·|log a|),
    and in practice where |log a| ≥ 1 + Σ|terms|/|a|, 2 or more: on log(x·y − z) with x, y ∈ [1, 2], z ∈ [−1, 1] it
    kept 11.6% of the elements, too few to gather (an eighth), so the bound (a third of the function's time) bought
    nothing. So the generated function first counts the elements with |log a| ≥ _LOG_SKIP and, where an eighth or
    fewer have it, takes double words on the whole block without the bound (task h-cost20: log(x·y − z) float64
    0.042 → 0.035 s per 10⁶ there; where the log is large, x, y ∈ [10, 20], the bound runs as before, the count
    costing a few %). The count decides cost only: a double word is as accurate as a kept element, or more."""
    return first_order and isinstance(body, sp.log) and isinstance(body.args[0], sp.Add)


# GELU-tanh's S(u) = σ(v) and S′(u) = v′·σ(v)·σ(−v), v = 2√(2/π)·(u + 0.044715·u³) (symnet.special.ndtr_tanh,
# ndtr_tanh_pdf), in a double word as those σ of the double-word v: in float64 (the registry's helpers) their ulp and
# the rounding of u = x/y stayed in the sum 2·(x·S′/S³ + y/S²)/x², ∂y of gelu_tanh(x/y)⁻², which cancels at the root
# of GELU-tanh′ (x/y = −0.75246): 32 ULP at (−2.5417, 3.5939), torch 1 (h-gelu37)
_SIGMOID_FORMS = ("ndtr_tanh", "ndtr_tanh_pdf")


def _sigmoid_form(e):
    """S(u) or S′(u) (``e``, a node of :data:`_SIGMOID_FORMS`) written with σ."""
    from ..functions import sigmoid
    from ..special import _tanh_cdf_argument

    # u held whole (SymPy writes (x/y)³ as x³/y³: x³ overflows from |x| = 5.6e102 where (x/y)³ does not; ∂y of
    # gelu_tanh(x/y)⁻² was 1 % off at (2.3e−108, −3.66e−108), x³ subnormal)
    u, t = e.args[0], sp.Dummy("t")
    u = u if u.is_Symbol else sp.UnevaluatedExpr(u)
    v = _tanh_cdf_argument(u)
    if type(e).__name__ == "ndtr_tanh":
        return sigmoid(v)
    return sp.Mul(sp.diff(_tanh_cdf_argument(t), t).xreplace({t: u}), sigmoid(v), sigmoid(-v), evaluate=False)


def _shared_exp_bases(body) -> dict:
    """The v whose σ(v), σ(−v), softplus(v), softplus(−v) ``body`` takes two or more of, each → {} (the emitter's
    ``shared_exp``: their e^−|v| computed once); S(u) and S′(u) as their σ (:func:`_sigmoid_form`)."""
    uses: dict = {}
    if any(type(n).__name__ in _SIGMOID_FORMS for n in sp.preorder_traversal(body)):
        body = body.replace(lambda n: type(n).__name__ in _SIGMOID_FORMS, _sigmoid_form)
    for n in sp.preorder_traversal(body):
        if type(n).__name__ in ("sigmoid", "softplus") and len(n.args) == 1:
            arg = n.args[0]
            uses.setdefault(-arg if arg.could_extract_minus_sign() else arg, set()).add(n)
    # ("softplus": the body takes a softplus of v, so that its E comes with log1p(E): _Emitter._softplus_parts)
    return {base: ({"softplus": True} if any(type(n).__name__ == "softplus" for n in nodes) else {})
            for base, nodes in uses.items() if len(nodes) >= 2}


def _bounded_body(body, plain_printer, leaves: dict, taken: set, in_float32: bool = False, backend: str = "numpy"):
    """The statements of the float64 body with its error bound (:class:`_Bound`): (lines, the value's
    name, its bound's name, its size's name, the least bound relative to the value), or None where a node has no
    bound. ``in_float32``: the threshold is the argument ``within``, and a body whose least bound is past a float64
    kernel's 3u but well within a float32 kernel's 2⁻³⁰ (FLOAT32_USEFUL: focal's products of σ, softplus and
    powers) is bounded too, for the float32 kernel (the caller skips the bound where ``within`` is below it).
    ``backend`` "triton": the statements in Triton over the Triton printer's float64 body, the threshold
    2⁻³⁰ (_TRITON_KEEP; a Triton kernel's float64 path keeps no bound: double-word everywhere)."""
    least = _least_bound(body) * _U
    # (a float32 kernel's bound past 3u only for a sum: a product of sums, the focal loss's α_t·(1 − p_t)^γ·CE, has
    # no cancellation of its own, and its bound would cost 2.3× the float32 kernel's time for nothing; an algebraic
    # quotient of such a sum is bounded too, _algebraic_quotient, wgan44)
    if least >= (FLOAT32_USEFUL if in_float32 and (body.is_Add or _algebraic_quotient(body)) else KEEP_RELATIVE):
        return None
    if in_float32 and backend == "numpy" and least >= KEEP_RELATIVE and _algebraic_quotient(body):
        # (cost45: a float32 kernel's alone; a test of each sum's cancellation, not the running bound)
        cheaper = _cancellation_body(body, plain_printer, leaves, taken, least)
        if cheaper is not None:
            return cheaper
    bound = _Bound(plain_printer, leaves, taken, backend)
    try:
        value, error, rho = bound.value(body)
    except _Unbounded:
        return None
    error = bound._total(value, error, rho)
    if error is None or value in leaves.values() or not value.isidentifier():
        return None
    if not error.isidentifier():
        name = bound._name(sp.Symbol("bound"))
        bound.lines.append(f"{name} = {error}")
        error = name
    size = bound._abs(value)
    if backend == "triton":
        keep = f'keep = ({error} <= {_TRITON_KEEP!r}*{size}) & ({size} < float("inf"))  # within 2⁻³⁰, finite'
        return [_triton_bound_line(line) for line in bound.lines] + [keep], value, error, size, least
    if in_float32:  # the threshold an argument: 3u in a float64 kernel, 2⁻³⁰ in a float32 one
        keep = f"keep = ({error} <= within*{size}) & ({size} < np.inf)  # within 3u (a float32 kernel: 2⁻³⁰), finite"
    else:
        keep = f"keep = ({error} <= {KEEP_RELATIVE / _SAFETY!r}*{size}) & ({size} < np.inf)  # within 3u, finite"
    return bound.lines + [keep], value, error, size, least


def _shape(e) -> tuple:
    """e's tree with its symbols left out: f(u) and f(v) alike where u and v are leaves alike (e^x and e^y, x·y and
    x·z, log(x + 1) and log(y + 1)); numbers kept (2·x and 3·y differ)."""
    if e.is_Symbol:
        return ("leaf",)
    if e.is_number:
        return ("number", e)
    return (type(e).__name__, tuple(_shape(a) for a in e.args))


def _twins_first(terms: list) -> list:
    """A widened sum's terms (positive first, as _sum orders them) with each negative term moved right after the first
    positive term of its :func:`_shape` (its twin), and those pairs first: f(u) − f(v) is summed before the other
    terms, so that where u = v the two (computed by the same operations, the same words) cancel exactly, and where
    they do not their difference is rounded relative to itself. In the order before, e^x + x·y first, x·y below the
    double word's 2⁻¹⁰⁶ of e^x was lost before e^y took e^x away: Triton float32's e^x − e^y + x·y at x = y = 88.7
    was 0 for 7867.69 (its double words in float64; float64's third tier, triple words, sums its own way)."""
    pos = [t for t in terms if t.is_number or not t.could_extract_minus_sign()]
    pairs, rest = [], list(terms)
    for n in [t for t in terms if t not in pos]:
        twin = next((p for p in pos if not p.is_number and p in rest and _shape(p) == _shape(-n)), None)
        if twin is not None:
            pairs += [twin, n]
            rest.remove(twin)
            rest.remove(n)
    return pairs + rest


_ORDERED = (sp.StrictGreaterThan, sp.StrictLessThan, sp.GreaterThan, sp.LessThan)


def _ordered(c) -> bool:
    """Whether the condition ``c`` is false wherever a value it compares is NaN, and so is its negation: ordered
    comparisons (<, ≤, >, ≥), and And/Or of them (not ==, ≠: x ≠ y holds at NaN)."""
    return isinstance(c, _ORDERED) or isinstance(c, (sp.And, sp.Or)) and all(_ordered(a) for a in c.args)


def _negated(c):
    """¬c for an :func:`_ordered` condition, itself ordered (De Morgan; a < b becomes a ≥ b)."""
    if isinstance(c, _ORDERED):
        return c.negated
    flip = sp.Or if isinstance(c, sp.And) else sp.And
    return flip(*[_negated(a) for a in c.args], evaluate=False)


def nan_through(e: sp.Expr) -> sp.Expr:
    """``e`` with each select {A if a < b; c otherwise}, c a constant, written {c if a ≥ b; A otherwise}: the
    same wherever a and b are ordered; where either is NaN every comparison is false, so the first gave the
    constant (kl_div's f and gradients 0 at a NaN target t, gaussian_nll's ∂v 0 at a NaN v, where torch gives
    NaN) and the second gives A, which holds the NaN. With more pieces, {A₁ if c₁; …; A_k if c_k; c otherwise}
    is {c if none of the c_i; A₁ if c₁; …; A_k otherwise}, each c_i an ordered comparison or an And/Or of them
    (softshrink and hardshrink gave 0 at NaN; torch NaN). Only where A holds every input the conditions compare
    (where(x > 0, y, 0) keeps torch.where's 0 at x = NaN; flipped it gave y).
    Applied to a kernel's expressions (ir.describe) and to the body of each widened function
    (:func:`widened_function`)."""
    def flippable(n):
        if not isinstance(n, sp.Piecewise) or n.args[-1].cond != sp.true:
            return False
        *pieces, (otherwise, _) = n.args
        compared = set().union(*[c.free_symbols for _, c in pieces])
        # A must hold what the conditions compare, or a NaN there gives A (where(x > 0, y, 0) at x = NaN gave y, not
        # NaN nor torch.where's 0): only then does the flipped select carry the NaN through
        return (all(_ordered(c) for _, c in pieces) and otherwise.is_number and otherwise.is_finite
                and not pieces[-1].expr.is_number and compared <= pieces[-1].expr.free_symbols)

    def flipped(n):
        *pieces, (otherwise, _) = n.args
        none = _negated(pieces[0].cond) if len(pieces) == 1 else sp.And(*[_negated(c) for _, c in pieces],
                                                                         evaluate=False)
        return sp.Piecewise((otherwise, none), *pieces[:-1], (pieces[-1].expr, True), evaluate=False)

    return e.replace(flippable, flipped)


# The names a widened function uses itself (its parameters, modules, locals): a leaf never takes one
# (leaf_identifiers) and no temporary does (widened_function's taken). One set for both: a user input
# named `within` became a second parameter `within` when session 18 added it to one list only.
FUNCTION_NAMES = frozenset({"np", "tl", "triton", "plain", "result", "double_word", "float", "keep", "within", "gathered",
                            "redo", "needed", "value", "some", "double", "deep", "skip",
                            "TIER", "tier_ptr", "lanes", "tiny", "scaled_result",
                            "triple"})  # (a Triton function's repair-kernel parameters, its scaled and triple tiers' names)


class WidenedFunction(NamedTuple):
    """What :func:`widened_function` generates for one widened node: its ``name`` (``GENERATED_PREFIX`` and a
    digest of the body), its ``code`` (the text of the function), the primitives it ``needs`` (their closure),
    and whether it ``takes_within`` (NumPy only: a ``within`` parameter, the relative bound under which the
    float64 body is kept; a float32 kernel passes 2⁻³⁰ and a float64 one 3u, the printer reads it here)."""

    name: str
    code: str
    needs: set
    takes_within: bool = False
    repair: int = 0  # Triton: the REPAIR_BITS of the tiers it defers to the repair kernel (0: none, no TIER argument)


class _printing_each_node_once:
    """Within the block, ``printer._print`` of a node (no keywords) printed before in the same printer state is that
    text again: a widened body is a tree whose subtrees repeat (focal(focal(z, t), t)'s ∂t: the same σ products
    under many terms), and StrPrinter printed and ordered each occurrence again (11 of the compile's 50 CPU s in its
    float64 body, session 38). The state is every plain attribute of the printer (flags such as ``_overflow_printing``,
    the enclosing ``selected``), so a node printed differently inside a product or a select is not reused; the text is
    the same as without (the printers are deterministic and write nothing a later node reads but ``helpers``, which a
    first printing filled already). The key leaves out the other attributes (``names``, ``definitions``, ``repair``,
    SymPy's ``_settings`` and ``_context``): each is set when the plain printer is made (_widened_body_printer) and none
    is assigned during a print, and the memo lives for one ``doprint``, so two kernels, or one printer's states before
    and after, never share it (session 39: every hit printed again over 12 NumPy and Triton compiles, 0 differences;
    tests/test_user39.py)."""

    def __init__(self, printer):
        self.printer = printer

    def __enter__(self):
        printer, memo = self.printer, {}
        original = printer._print

        def printed(expr, **kwargs):
            if kwargs or not isinstance(expr, sp.Basic) or not expr.args:
                return original(expr, **kwargs)
            key = (expr, tuple((k, v) for k, v in vars(printer).items() if isinstance(v, (bool, int, float, str))
                               or v is None))
            text = memo.get(key)
            if text is None:
                text = memo[key] = original(expr)
            return text

        printer._print = printed  # the instance's, before the class's: every nested _print goes through it
        return printer

    def __exit__(self, *exc):
        del self.printer._print
        return False


def widened_function(node, backend: str, plain_printer, leaf_names: list[str], needed: bool = False,
                     repair: bool = False, repair_float32: bool = False) -> WidenedFunction:
    """The generated function computing the widened ``node``'s body, for ``backend``, as a
    :class:`WidenedFunction` (name, text, the primitives it calls, whether it takes ``within``).
    ``plain_printer`` prints an expression in float64 over the function's own names of the leaves
    (``leaf_names`` for NumPy; ``<name>_f64`` for Triton, which keeps the leaves' own dtype for the
    float32 branch). ``needed`` (Triton): the function takes a last argument ``needed``, where the enclosing
    select takes the sum (NumPy's always has one), and a float32 block takes the double word for those elements
    only (``_needed`` after the name). ``repair`` (Triton): the caller's kernel has a repair kernel (the elementwise
    one: its ``REPAIR`` specialisation), so a third tier past TRITON_TIER_INLINE triple-word exponentials and logs
    (up to TRITON_TIER_MOST) goes there: the function takes two last arguments ``TIER`` (a constexpr: the repair
    kernel's) and ``tier_ptr`` (its block's flag), flags the block (REPAIR_BITS) where the tier is needed and computes
    it only where TIER (``_tiered`` after the name; its ``repair`` the bits). ``repair_float32`` (Triton, with
    ``repair``): the float32 kernel's double words go to the repair kernel too (REPAIR_BITS["float32"]; ``_repaired``
    after the name): the main kernel computes the float64 body and its bound, and flags a block with an element past
    it, so that it compiles without the double words' registers (sigmoid+MSE's float32 kernel: 190 registers a thread,
    0.88 ms for 64M elements on an H200; 78 and 0.38 ms without them). Pure: the same node gives the same function,
    and nothing is recorded elsewhere."""
    body = node.body
    # (a first-order e^v or σ(v) is a function of its own: the same body elsewhere is correctly rounded)
    in_float32 = getattr(node, "in_float32", False)  # double-word in a float32 kernel too (widen's in_float32)
    far_bound = getattr(node, "far_bound", 0)  # the scaled tier, its leaves in [1/2, 1), where a leaf is past 2^±B
    # (the printer's state that changes the text, ConditionalPrinting.generated_state: "" for the elementwise printers)
    state = plain_printer.generated_state() if hasattr(plain_printer, "generated_state") else ""
    digest = hashlib.sha1((state + ("first:" if getattr(node, "first_order", False) else "") + ("f32:" if in_float32 else "")
                           + (f"far{far_bound}:" if far_bound else "") + shared_srepr(body)).encode()).hexdigest()[:10]
    name = f"{GENERATED_PREFIX}{digest}" + ("_needed" if needed and backend == "triton" else "")
    # a sum of products of inputs (x·y − z, w·x + b − t; NumPy): the function of that name is a cheap front
    # (_product_sum_front), the one below, on the elements that cancel only, is named <name>_cancelling
    front = name if backend == "numpy" and not in_float32 and not getattr(node, "first_order", False) \
        and _product_sum(body) else None
    # a sum of sines and cosines of one input times its powers (cos x − x·sin x; NumPy): likewise a front
    # (_trig_sum_front, trig46), the widened function below named <name>_cancelling
    trig_terms = None if front is not None or backend != "numpy" or in_float32 or getattr(node, "first_order", False) \
        or far_bound else _trig_front_terms(body, list(node.leaves))
    front = name if trig_terms is not None else front
    # c and √(1 − c²) times sines and cosines of m (ArcFace's c·cos m − √(1 − c²)·sin m; NumPy): likewise a front
    # (_root_trig_sum_front, costb48)
    root_trig = None if front is not None or backend != "numpy" or in_float32 or getattr(node, "first_order", False) \
        or far_bound else _root_trig_front_terms(body, list(node.leaves))
    front = name if root_trig is not None else front
    name = name if front is None else f"{front}_cancelling"
    body = nan_through(body)  # (after the digest: a function of the body as the rules wrote it)
    wide = [f"{n}_f64" for n in leaf_names] if backend == "triton" else list(leaf_names)
    taken = set(leaf_names) | set(wide) | FUNCTION_NAMES | {name}
    emitter = _Emitter(backend, plain_printer, dict(zip(node.leaves, wide)), dict(zip(node.leaves, leaf_names)), taken)
    power_first = (getattr(node, "first_order", False) and backend == "numpy" and isinstance(body, sp.Pow)
                   and not body.exp.is_number)
    if power_first:
        # b^γ of the rounded-power rule: b (and γ) in double-word, libm's pow of b's hi, first order in the lo parts
        b, g = emitter.value(body.base), emitter.value(body.exp)
        args = f"{b.hi}, {emitter._lo(b)}, {g.hi}" + (f", {g.lo}" if g.lo is not None else "")
        result = emitter._emit(body, f"_dw_pow_first({args})", ("_dw_pow_first",))
    elif getattr(node, "first_order", False) and _scaled_exp(body) is not None:
        # c·e^v of the rounded-argument rule (a constant 0 < |c| < 1 written beside e^v): e^(v + log|c|) to first
        # order, log|c| a double-word constant, so that e^v's overflow is not c·e^v's (−e^(x²)/3 at x² = 710.5:
        # −inf for −1.228e308; session 30)
        c, v = _scaled_exp(body)
        # (a float c as the binary fraction it is: log of that to 60 digits, not a 15-digit Float's)
        argument = emitter.value(sp.Add(v, sp.log(abs(sp.Rational(c))), evaluate=False))
        result = emitter._emit(abs(c) * sp.exp(v), f"_dw_exp_first({argument.hi}, {emitter._lo(argument)})",
                               ("_dw_exp_first",))
        if c < 0:
            result = emitter.negate(body, result)
    elif getattr(node, "first_order", False) and type(body).__name__ in FIRST_ORDER:
        # e^v or σ(v) of the rounded-argument rule: v in double-word, the function to first order in v's lo part
        argument = emitter.value(body.args[0])
        helper = FIRST_ORDER[type(body).__name__]
        result = emitter._emit(body, f"{helper}({argument.hi}, {emitter._lo(argument)})", (helper,))
    elif _triple_worthy(body, set(node.leaves), backend):
        result = emitter.rounded_triple_sum(body)
    else:
        if backend == "numpy":  # σ(±v), softplus(±v) from one e^−|v| (Triton: unchanged)
            emitter.shared_exp = _shared_exp_bases(body)
        if backend == "numpy" and _table_safe_log_sum(node.body):  # (cost48: the comment of _table_safe_log_sum)
            emitter.FUNCTIONS = {**emitter.FUNCTIONS, "exp": "_dw_exp_table"}
        result = emitter.value(body)
    triple = result.tail is not None
    # a first-order log or log1p of a two-sum is finite exactly where the true value is (log1p(x + y) at x = −1,
    # y = 1e−300 is −690.8 where the float64 sum rounds to −1 and plain log1p is −inf): taken over the plain value
    trusted = getattr(node, "first_order", False) and type(body).__name__ in ("log", "log1p")
    # a first-order Φ (the rounded-argument rule's, on every element): its float64 value, Φ of the same rounded
    # argument (math.erfc entry by entry, most of the function's cost), is finite wherever the first order is (Φ is
    # clamped to [0, 1]; NaN in, NaN out), so NumPy computes it only where the first order is not finite
    lazy_plain = getattr(node, "first_order", False) and type(body).__name__ == "ndtr"
    # plain log1p is −inf only where its float64 argument rounded to exactly −1; the wide argument says what the
    # true one is (log1p(x·y) at x = −3, y = fl(1/3): −37.43, not −inf; at x = −0.1, y = 10 NaN, the true x·y
    # below −1): the wide value is taken there, whatever it is
    # likewise a first-order log, whose plain value is −inf where its float64 argument rounded to exactly 0
    # (log(x·y − z) at z = fl(x·y): NaN where the true x·y − z < 0, finite where it is > 0)
    root = type(body).__name__ == "log1p" or (trusted and type(body).__name__ == "log")
    if triple and backend == "numpy":
        # NumPy: the double word where the float64 body's bound is within DEEP_RELATIVE of it, the triple word
        # (some 3× its operations: _tw_log's reductions, _tw_mul's three TwoProducts) only on the others
        doubled = _Emitter(backend, plain_printer, dict(zip(node.leaves, wide)), dict(zip(node.leaves, leaf_names)),
                           taken)
        tripled, emitter = emitter, doubled
        doubled.shared_exp = _shared_exp_bases(body)
        result3, result = result, doubled.value(body)
        emitter.needs |= tripled.needs
    # the third tier: any other sum whose every node has a triple word (_triple_capable) is computed again in triple
    # words on the elements whose float64 bound is past DEEP_RELATIVE of the value (below), where even the double
    # word's 2⁻¹⁰⁶ of the terms may be ULPs of the sum (focal's ∂t at its zeros, y − tanh x at y = fl(tanh x)); where
    # the kernel computes no float64 bound (Triton's float64 kernels, NumPy's where the body has none) on those whose
    # double-word terms are past DEEP_TERMS times its value; Triton in a block where one element is (a scalar branch)
    # (trig48, NumPy) and a body that is no sum but holds widened sums (the LSTM's ∂o, σ(o)·σ(−o)·tanh(f64(c·σ(f) +
    # σ(i)·tanh(g))), a product in double words whose inner sum cancels 2⁵⁶ where the cell crosses 0: 25 ULP from the
    # double words' 2⁻¹⁰⁵, torch 7.1e16): the whole body in triple words where an inner sum's terms are past
    # DEEP_TERMS times it
    inner_sums = [] if isinstance(body, sp.Add) or backend != "numpy" else [
        n.expanded for n in sp.preorder_traversal(body)
        if getattr(type(n), "body", None) is not None and hasattr(n, "expanded") and n.expanded.is_Add]
    third = (not triple and not getattr(node, "first_order", False) and (isinstance(body, sp.Add) or inner_sums)
             and _triple_capable(body, set(node.leaves), backend))
    deferred = False
    if third:
        tripled = _Emitter(backend, plain_printer, dict(zip(node.leaves, wide)), dict(zip(node.leaves, leaf_names)),
                           emitter.taken)
        if backend == "triton":  # (compile time: σ(±z), softplus(±z), tanh(z/2) from one e^−|z|; task h-tfocal22)
            tripled.shared_triple, tripled.triple_exp_select = _shared_triple_bases(body), True
            # an exponential factor of every term (focal's p_t^γ) as the double word has it: the same numbers in each
            # term, so the sum's cancellation is untouched (Σ aᵢ·F̃ = F̃·Σ aᵢ) and F̃'s 2⁻¹⁰⁴ is relative to the result
            for factor in _common_exp_factors(body):
                if factor in emitter.values and emitter.values[factor].tail is None:
                    tripled.values[factor] = emitter.values[factor]
        result3 = tripled.rounded_triple_sum(body) if isinstance(body, sp.Add) else tripled.triple(body)
        cost = _triton_tier_cost(tripled.lines)
        third = result3.tail is not None and (backend == "numpy" or cost <= TRITON_TIER_MOST)
        # past TRITON_TIER_INLINE, in the repair kernel where the caller's has one (its main kernel compiles as without)
        deferred = third and backend == "triton" and repair and cost > TRITON_TIER_INLINE
        if deferred:
            name += "_tiered"
            taken.add(name)
        # the double word's terms (as _sum took them: computed already), whose magnitudes may pick the elements
        term_his = [emitter.value(-a if a.could_extract_minus_sign() and not a.is_number else a).hi for a in body.args]
        # an inner sum's (its terms' his, its own hi), as the double word computed them
        inner_his = [([emitter.value(-a if a.could_extract_minus_sign() and not a.is_number else a).hi
                       for a in inner.args], emitter.value(inner).hi) for inner in inner_sums]
    with _printing_each_node_once(plain_printer):
        plain = plain_printer.doprint(body)
    formula = emitter.text(body)  # its subexpressions printed for the comments already
    if in_float32 and backend == "numpy":
        doc = (f'"""{formula}, rounded once, in a float32 kernel too (float64 is not enough there): the float64\n'
               '    body where a bound of its error is within ``within`` of it, double-word arithmetic (hi + lo, about 106\n'
               '    bits) elsewhere where ``needed`` (where a select takes it), the float64 value where that is not\n'
               '    finite."""')
    elif in_float32:
        doc = (f'"""{formula}, rounded once: in double-word arithmetic (hi + lo, about 106 bits) in a float32\n'
               '    kernel too (float64 is not enough there); the float64 value where it is not finite."""')
    elif backend == "numpy":
        doc = (f'"""{formula}, rounded once. In a float64 kernel: the float64 body where a bound of its error\n'
               '    is within 3u of it, double-word arithmetic (hi + lo, about 106 bits) elsewhere where ``needed``\n'
               '    (where a select takes it), the float64 value where that is not finite. In a float32 one: the\n'
               '    float64 body."""')
    else:
        doc = (f'"""{formula}, rounded once: in double-word arithmetic (hi + lo, about 106 bits)\n'
               '    in a float64 kernel, in float64 in a float32 one; the float64 value where either is not finite."""')
    if (triple or third) and backend == "numpy" and not in_float32:  # the double word, the triple words where it cancels past 2⁴³
        doc = doc.replace("double-word arithmetic (hi + lo, about 106 bits)",
                          "double-word arithmetic (hi + lo, about 106 bits;\n    triple words, hi + lo + tail, "
                          "about 150 bits, where the bound is past 2⁻¹⁰ of it)")
    elif third and backend == "triton":  # its float64 kernels: the elements picked by the double word's terms (DEEP_TERMS)
        doc = doc.replace("double-word arithmetic (hi + lo, about 106 bits)",
                          "double-word arithmetic (hi + lo, about 106 bits;\n    triple words, hi + lo + tail, "
                          f"about 150 bits, where its terms are past {_deep_words(_deep_terms(tripled.lines))} times it)")
    elif triple:  # its terms in triple words (_triple_worthy): the docstring says so
        doc = doc.replace("double-word arithmetic (hi + lo, about 106 bits)",
                          "triple-word arithmetic (hi + lo + tail, about 150 bits)")
    within = ""  # the NumPy function's ``within`` parameter, where it has one
    if backend == "numpy":
        # (a first-order power has no bound: np.power's own _POW_ULPS would never keep the float64 value; nor a body
        # with far_bound (h-cauchy43): its rules' bodies are rounded once, where a kept float64 body is up to 1.5 ULP
        # (the Lorentzian 1/(1 + (x − m)²/g²) 1.21, torch 0.79), and past 2^±B its float64 values leave the range)
        bounded = None if power_first or far_bound else _bounded_body(
            body, plain_printer, dict(zip(node.leaves, leaf_names)),
            taken | {"keep", "redo", "result", "needed", "value", "some", "double", "within"}, True)
        # within: the float64 body is kept where its bound is within that much of it, relative (3u: 3 ULP; a
        # float32 kernel's, 2⁻³⁰: 2⁻⁶ of a float32 ULP before the rounding to float32). A float32 kernel calls the
        # function with it wherever the body has a bound (session 18: its float64 sum cancels past 2²⁶ at a zero
        # of the sum, 41 ULP of ½(s + (p − t)²e^(−s)) at p = 0, s = −0.09940636, t = 0.3), and where the widen
        # rule asks for it (in_float32: double-word everywhere else, too)
        within = f", within={KEEP_RELATIVE / _SAFETY!r}" if in_float32 or bounded is not None else ""
        if within and not in_float32:
            doc = doc.replace("In a float32 one: the\n    float64 body.",
                              "In a float32 one likewise,\n    the bound within ``within`` (2⁻³⁰) where the "
                              "float64 body is not enough.")
        lines = [f"def {name}({', '.join(leaf_names)}, double_word, needed=True{within}):", f"    {doc}",
                 '    with np.errstate(all="ignore"):  # inf and NaN are selected away below']
        lines += [f"        {n} = np.asarray({n}, np.float64)" for n in leaf_names]
        float32_only = bounded is not None and bounded[4] >= KEEP_RELATIVE
        # a first-order log of a rounded sum (_log_of_rounded_sum): a float64 kernel skips the bound in a block where
        # it would keep too few elements to pay for itself
        log_skip = bounded is not None and not float32_only and not triple and _log_of_rounded_sum(body, trusted)
        if bounded is not None and not log_skip:  # (_needed_gather)
            lines[1] = lines[1][:-3] + ("\n    Where a select takes it on fewer than half of the elements: on those "
                                        'alone, gathered (0 on the others)."""')
        if bounded is None:  # a node without an error bound: double-word wherever the select takes it
            # (the float64 body is not computed where the double word replaces it: np.erfc's math.erfc entry by entry
            # was computed three times over for erfc(p − t), on every element)
            lines += ["        if not double_word:", f"            return {plain}",
                      "        keep = np.logical_not(needed)  # not taken by the select: any value (0)"]
            value = "np.zeros(np.shape(keep))"
        else:
            steps, value, error, size, least = bounded
            lines += ["        if not double_word:", f"            return {plain}"]
            if backend == "numpy" and _table_safe_log_sum(node.body):
                # cost48: max(0, …) + log1p(D), every term ≥ 0: no cancellation, so the float64 body is within a few
                # u of the value (np.exp, the sum, np.log1p and the last sum each add an ulp or less), far inside a
                # float32 kernel's 2⁻³⁰: its bound (some 60 operations a value) is not computed there
                # (its common subexpressions once: the plain text computes max(0, a, b) 13 times and each e^(a_i − m)
                # once a piece, where the float32 kernel spent most of its time)
                named = (sp.Symbol(f"_c48_{k}") for k in itertools.count())
                shared, (reduced,) = sp.cse(body, symbols=named, order="none")
                lines += [f"        if within > {KEEP_RELATIVE!r}:  # a float32 kernel: the float64 body"]
                with _printing_each_node_once(plain_printer):
                    lines += [f"            {t.name} = {plain_printer.doprint(e)}" for t, e in shared]
                    lines += [f"            return {plain_printer.doprint(reduced)}"]
            if not log_skip:  # (a log's skip is decided on the block's values: not on a part of them)
                lines += _needed_gather(name, leaf_names)
            indent = "        "
            if float32_only:
                lines += [f"        if within < {least!r}:  # a float64 kernel's 3u: the bound is never that small "
                          "(doubleword._least_bound)"]
                lines += _float64_gather(name, leaf_names)
                lines += [f"            {value} = {plain}",
                          "            keep = np.logical_not(needed)  # double-word wherever the select takes it",
                          "        else:  # a float32 kernel's 2⁻³⁰"]
                indent = "            "
            elif log_skip:
                lines += ["        skip = False",
                          f"        if within < {2 * KEEP_RELATIVE!r}:  # a float64 kernel's 3u: the bound keeps an "
                          "element only where |log| ≥ 1 + Σ|terms|/|sum|",
                          f"            value = {plain}",
                          f"            skip = np.count_nonzero(np.abs(value) >= {_LOG_SKIP!r}) * 8 <= np.size(value)  "
                          "# (doubleword._log_of_rounded_sum)",
                          "        if skip:  # too few to keep: double words wherever the select takes the log",
                          f"            {value} = value",
                          "            keep = np.logical_not(needed)",
                          "        else:"]
                indent = "            "
            if "no sum cancels past its rounding" in steps[-1]:  # (cost46: BCE's (p − t)/(p·(1 − p)))
                lines += [indent + "# the float64 body: each sum two exact values rounded once, or of terms of one sign",
                          indent + "# (doubleword._CancellationBound); kept where finite or the select does not take it,",
                          indent + "# double-word elsewhere (a value that is not finite)"]
            elif "(doubleword._CancellationBound)" in steps[-1]:  # (cost45: a float32 kernel's algebraic quotient)
                lines += [indent + "# the float64 body, each sum beside a test of its cancellation "
                          "(doubleword._CancellationBound);",
                          indent + "# kept where every sum's terms are within 2^K of it or the select does not "
                          "take it,",
                          indent + "# double-word elsewhere (a sum that cancels, a value that is not finite)"]
            else:
                lines += [indent + "# the float64 body, each value beside a bound of its error (doubleword._Bound); "
                          "kept",
                          indent + "# where the bound is within 3u of the value or the select does not take it,",
                          indent + "# double-word elsewhere (a sum that cancels, a value that is not finite)"]
            lines += [indent + line for line in steps]
            lines += [indent + "keep |= np.logical_not(needed)"]
            if not (trusted or root):  # where the float64 value is inf or NaN the result is that value (the double
                # word is replaced by it below): kept, neither double nor triple words computed (session 21: a block of
                # x = inf in x·e^x − y went through both)
                if _shifted_exp(body, getattr(node, "first_order", False)):
                    # c·e^v of a rounded v: where its float64 body is ±inf, the double word's e^(v + log|c|) need not
                    # be (the float64 one, _exp_overflowed's e^(fl(v) − a)·c·e^a, is |v|·2⁻⁵³ off: 350 ULP at v = 710.5)
                    lines += [indent + f"keep |= np.isnan({size})  # NaN: the float64 value is the result"]
                else:
                    lines += [indent + f"keep |= ~({size} < np.inf)  # inf or NaN: the float64 value is the result"]
                if "_dominant_infinity" in plain and value.isidentifier():  # session 38 (h-neg38): a NaN sum of terms
                    # past the range, inf − inf: the float64 value as the kernel prints it outside, the dominant term's
                    # infinity (the bound's steps print the sum unsized: silu(x/y)⁻²'s float32 ∂x at x/y = −292 was
                    # NaN for −inf, where σ(x/y)² = 0 makes both terms infinite)
                    lines += [indent + f"if np.isnan({value}).any():  # NaN: the sized sum, _dominant_infinity",
                              indent + f"    {value} = np.where(np.isnan({value}), {plain}, {value})"]
                if "_exp_overflowed" in plain and value.isidentifier() and not _shifted_exp(
                        body, getattr(node, "first_order", False)):  # session 29 (h-exp29): c·b^u overflowed in
                    # b^u in the body, which computes b^u whole, where the product need not: e^x/2 + y inf at
                    # x = 709.9 for 1.011e308; there the float64 value as the kernel prints it outside (_exp_overflowed)
                    lines += [indent + f"if not ({size} < np.inf).all():  # c·b^u past b^u's overflow: _exp_overflowed",
                              indent + f"    {value} = np.where({size} < np.inf, {value}, {plain})"]
        # the elements for triple words: where the float64 kernel computes the float64 bound, those where it is past
        # DEEP_RELATIVE of the value; elsewhere (the third tier of a body without a bound a float64 kernel computes:
        # focal's ∂z) where the double word's terms of the sum are past DEEP_TERMS times its value (their magnitudes
        # from the double word's his: a few operations, where the bound on every element cost focal(z, t, 1/4, 3/4)
        # 1.34× its float64 time)
        by_bound = bounded is not None and not float32_only and (triple or third)
        by_terms = third and not by_bound
        deep = by_bound or by_terms
        if by_terms:  # the docstring's (the second line's) tier says how its elements are picked
            lines[1] = lines[1].replace("where the bound is past 2⁻¹⁰ of it", "where an inner sum's terms are past 2⁴⁰ "
                                        "times it" if inner_sums else "where its terms are past 2⁴⁰ times it")
        if third:
            emitter.needs |= tripled.needs
        if by_bound:  # where the double word is not enough: the float64 bound past DEEP_RELATIVE of the value
            lines += [f"        deep = ~keep & ~({error} <= {DEEP_RELATIVE!r}*{size})  # cancels past 2⁴³: triple words"]
        # the scaled double words (SCALED_TINY) where every operation of the body has them: not where one is computed
        # in float64 (_plain: erfc(p − t) at p − t = 26.4 is 1.4e−304, 422 ULP off without the rounded-argument
        # rule's first-order step)
        tiny = _Scaled(backend, plain_printer, dict(zip(node.leaves, wide)), dict(zip(node.leaves, leaf_names)),
                       emitter.taken)
        tiny.unit = bool(far_bound)
        tiny_result = tiny.rounded(body)
        scaled = not tiny.plain_used
        # (pow47) where an e^x of the double words is below SCALED_TINY: the scaled tier's, not the third tier's
        lost = _underflowed(emitter.exp_arguments, backend) if scaled and not triple else ""

        def tier(v, needed, over=""):  # the value v, and where the body is tiny (or overflows), the scaled double words'
            return f"_dwx_tier({v}, {needed}, {name}_scaled, {', '.join(leaf_names)}{over})" if scaled else v
        lines += ["        if keep.all():", f"            return {tier(value, 'needed')}",
                  "        some = np.count_nonzero(keep) * 8 > np.size(keep)" if bounded is None or log_skip else
                  "        some = np.count_nonzero(keep) * 8 > np.size(keep) or (gathered and keep.any())",
                  "        if some:  # an eighth or more kept: the double-word on the others only (gathered)",
                  "            redo = ~keep",
                  f"            result = np.array(np.broadcast_to({value}, redo.shape), np.float64)" if bounded is not None
                  else "            result = np.zeros(redo.shape)"]
        if scaled and bounded is not None:  # the kept elements' scaled tier too (session 24: only keep.all() took it,
            # so t·log(t/p) − t + p at p = 1e−300, t = 3e38 was 2.34e41 alone and inf beside an element that cancels)
            lines += [f"            result = {tier('result', 'keep & needed')}"]
        lines += [f"            {n} = np.broadcast_to({n}, redo.shape)[redo]" for n in leaf_names]
        if by_bound:
            lines += ["            deep = deep[redo]"]
        if float32_only:  # a float64 kernel's value is the plain body already (the whole block where not gathered):
            # not computed twice (focal's ∂t and ∂z, σ, softplus, a power and tanh on every element, task h-cost20)
            lines += [f"        plain = {value} if within < {bounded[4]!r} and not some else {plain}"]
        elif log_skip:
            lines += [f"        plain = {value} if skip and not some else {plain}"]
        elif not (lazy_plain or far_bound and not (root or trusted)):  # (a node without a bound: the float64 body is
            # computed here only, on the elements the select takes; far_bound's below, where the double word needs it)
            lines += [f"        plain = {plain}"]
        lines += ["        " + line for line in emitter.lines]
        finite = f"np.isfinite({result.hi})" + ("" if trusted else " & np.isfinite(plain)")
        if root:
            finite = f"({finite}) | (plain == -np.inf)"
        if far_bound and not (lazy_plain or root or trusted):
            # (lor44: a rational function's double word, its every value within 2^±960 inside the bound, is finite
            # wherever its float64 body is, but where that overflows inside and the double word's hi does not; the
            # body, with its products by exponents, is computed only in a block where the double word is not finite:
            # the Lorentzian's three bodies were a third of its float64 kernel's time); and where the double word is
            # 0 and the body ±0, the body's: its IEEE sign (a double word's hi + lo is +0 where hi is −0: ∂g of
            # 1/(1 + (x − m)²/g²) at g = −2, x − m = −1e−200 was +0 for −2.5e−401)
            lines += [f"        double = {result.hi}",
                      "        if not (np.isfinite(double) & (double != 0.0)).all():  # (a leaf past the bound, the "
                      "value past the range, or 0)",
                      f"            plain = {plain}",
                      f"            double = np.where(np.isfinite({result.hi}) & (({result.hi} != 0.0) | (plain != 0.0)), "
                      f"{result.hi}, plain)"]
        elif lazy_plain:
            lines += [f"        double = {result.hi}",
                      "        if not np.isfinite(double).all():  # (the float64 Φ is finite wherever its first order is)",
                      f"            plain = {plain}",
                      f"            double = np.where({finite}, {result.hi}, plain)"]
        else:
            lines += [f"        double = np.where({finite}, {result.hi}, plain)"]
        # where the value (or a leaf) is below 2⁻⁹⁶⁸: again in scaled double words, on those alone (SCALED_TINY)
        if scaled:
            # (and where the float64 value is ±inf beside a finite double word, an overflow inside the float64 body
            # alone: focal's far ∂y, (3y − 4)·(…) past the range at x = 1.7e308, y = 1/2, was −inf for −7.4e307; h-kl36)
            far = "".join(f" | {_far_leaf(n, far_bound, backend)}" for n in leaf_names) if far_bound else ""
            far += lost
            lines += [f"        double = {tier('double', 'True if some else needed', f', over=~np.isfinite({result.hi}) | np.isinf(double){far}')}"]
        if by_terms and inner_sums:  # (an inner sum's terms past 2⁴⁰ times it: the body's product of it is as deep)
            deep_inner = " | ".join(f"(({' + '.join(f'np.abs({t})' for t in his)}) > {DEEP_TERMS!r}*np.abs({hi}))"
                                    for his, hi in inner_his)
            lines += [f"        deep = {deep_inner}  # an inner sum cancels past 2⁴⁰: triple words"]
        elif by_terms:
            magnitude = " + ".join(f"np.abs({t})" for t in term_his)
            lines += [f"        deep = ({magnitude}) > {DEEP_TERMS!r}*np.abs({result.hi})  # cancels past 2⁴⁰: triple words"]
            if scaled and far_bound:  # stt45: not where a leaf is past 2^±B: the scaled tier's value is kept there (the
                # triple words' s² underflows as the double words' does: the Student-t's ∂ν, 14 ULP at s = 2.8e−163)
                far_leaves = " | ".join(_far_leaf(n, far_bound, backend) for n in leaf_names)
                lines += [f"        deep = deep & ~({far_leaves})  # (a leaf past 2^±{far_bound}: the scaled tier's)"]
        if deep and lost:  # (an e^x below SCALED_TINY: the scaled tier's value, whose e^x is 2^k·e^(x + k·ln 2))
            lines += [f"        deep = deep & ~({lost[3:]})  # (an e^x below 2⁻⁹⁶⁸: the scaled tier's)"]
        if deep:
            shape = "deep.shape"  # the gathered elements' (redo's count) or the block's
            lines += ["        if deep.any():  # the deepest cancellations (rare): again in triple words, on those alone",
                      f"            double = np.array(np.broadcast_to(double, {shape}), np.float64)"]
            lines += [f"            {n} = np.broadcast_to({n}, {shape})[deep]" for n in leaf_names]
            lines += ["            " + line for line in tripled.lines]
            # the triple word where it is finite and the double word (or the float64 value) was: else that one
            lines += [f"            double[deep] = np.where(np.isfinite({result3.hi}) & np.isfinite(double[deep]), "
                      f"{result3.hi}, double[deep])"]
        elif triple and far_bound and not (lazy_plain or root or trusted):
            # stt45: the float64 body (plain) is computed above only where the double word is not finite or 0:
            # the triple word where it is finite and the value above was, else that value (plain was read here
            # unassigned: UnboundLocalError, the negative-binomial ∂r in widened-log-sum's far tier); not where a
            # leaf is past 2^±B, whose value is the scaled tier's (the triple words' products leave the range there)
            lines += ["        " + line for line in tripled.lines]
            far_leaves = " | ".join(_far_leaf(n, far_bound, backend) for n in leaf_names)
            lines += [f"        double = np.where(np.isfinite({result3.hi}) & np.isfinite(double) & ~({far_leaves}), "
                      f"{result3.hi}, double)"]
        elif triple:
            lines += ["        " + line for line in tripled.lines]
            lines += [f"        double = np.where((np.isfinite({result3.hi}) & np.isfinite(plain))"
                      + (" | (plain == -np.inf)" if root else "") + f", {result3.hi}, plain)"]
        lines += ["        if not some:", "            return double",
                  "        result[redo] = double", "        return result"]
        if scaled:
            emitter.needs |= tiny.needs | {"_dwx_tier"}
        lines += [] if not scaled else ["", "", f"def {name}_scaled({', '.join(leaf_names)}):",
                  f'    """{name} on the elements below 2⁻⁹⁶⁸ or with a leaf there, in scaled double words (hi + lo)·2^−k\n'
                  '    (doubleword.SCALED_TINY), rounded once."""' if not far_bound else
                  f'    """{name} on the elements below 2⁻⁹⁶⁸ or with a leaf there or past 2^±{far_bound}, in scaled double\n'
                  '    words (hi + lo)·2^−k, each leaf scaled to [1/2, 1) by its exponent, rounded once."""',
                  '    with np.errstate(all="ignore"):']
        if scaled:
            lines += ["        " + line for line in tiny.lines]
            lines += [f"        return {tiny_result}"]
    else:
        first = leaf_names[0]
        # a float32 kernel as NumPy's (above): the float64 body where its bound is within 2⁻³⁰ of it, double-word
        # on the others, wherever NumPy's float32 kernel bounds the body; double-word everywhere where the widen rule
        # asks for it (in_float32) and there is no bound; else the float64 body. The bound's names after the
        # double-word ones (the kept value is read after those statements)
        bounded = _bounded_body(body, plain_printer, dict(zip(node.leaves, wide)), emitter.taken | FUNCTION_NAMES, True,
                                backend="triton")
        if bounded is not None:
            doc = doc.replace(
                "in a float64 kernel, in float64 in a float32 one;",
                "in a float64 kernel; in a float32 one\n    the float64 body where a bound of its error is within 2⁻³⁰ of "
                "it (2⁻⁶ of a float32 ULP),\n    double-word elsewhere (a block where every element is within skips "
                "it);").replace(
                "arithmetic (hi + lo, about 106 bits) in a float32\n    kernel too (float64 is not enough there);",
                "arithmetic (hi + lo, about 106 bits) in a float32\n    kernel too where a bound of the float64 body's "
                "error is not within 2⁻³⁰ of it;")
            if any("_expm1(" in line for line in bounded[0]):
                emitter.needs.add("_expm1")
        # a float32 kernel's double words in the repair kernel (REPAIR_BITS["float32"]) where the caller's takes them
        # (a name of its own: the same body in a kernel that keeps them inline is another function)
        repaired32 = bool(repair) and repair_float32 and bounded is not None
        if repaired32:
            name += "_repaired"
            taken.add(name)
        # the scaled double words (SCALED_TINY) where the caller has a repair kernel and every operation of the body has
        # them (as NumPy's): in its REPAIR_BITS["subnormal"] specialisation alone, the main kernel flagging the block
        scaled_tier, lost = None, ""
        if repair:
            tiny = _Scaled(backend, plain_printer, dict(zip(node.leaves, wide)), dict(zip(node.leaves, leaf_names)),
                           emitter.taken | (tripled.taken if third else set()) | FUNCTION_NAMES)
            tiny.unit = bool(far_bound)
            tiny_result = tiny.rounded(body)
            if not tiny.plain_used:
                if not deferred and not repaired32:
                    name += "_tiered"
                taken.add(f"{name}_scaled")
                # a body in triple words (_triple_worthy) keeps them where a leaf alone is tiny: they hold the terms'
                # cancellation (_tw_quotient scales a tiny dividend), the scaled double words 2⁻¹⁰⁶ of it (NumPy's
                # triple words likewise replace its scaled tier): the Gamma deviance 2·(log(μ/y) + y/μ − 1) at
                # μ ≈ y ≈ 4.13e−300 was 4.7e10 ULP off (h-triton37); the scaled words where the value is tiny or the
                # triple word not finite
                lost = _underflowed(emitter.exp_arguments, backend) if not triple else ""
                scaled_tier = _triton_scaled_tier(f"{name}_scaled", wide, needed,
                                                  result.hi if triple or _may_overflow_inside(body) else None,
                                                  tiny_leaves=not triple, far_bound=far_bound, lost=lost)
                emitter.needs |= tiny.needs
        tiered = deferred or scaled_tier is not None or repaired32
        parameters = leaf_names + (["needed"] if needed else []) + (["TIER: tl.constexpr", "tier_ptr", "lanes"] if tiered else [])
        if deferred:
            doc = doc.replace("times it)", "times it: in\n"
                              "    the repair kernel (TIER & 1), the main kernel flags the block in tier_ptr)")
        if scaled_tier is not None:
            where = "it is below 2⁻⁹⁶⁸ or its\n    triple word not finite" if triple else "it or a\n    leaf is below 2⁻⁹⁶⁸"
            if far_bound:  # (widen's far_bound: _far_leaf)
                where += f" or a leaf past 2^±{far_bound}"
            doc = doc.replace('finite."""', f'finite. Where {where}, in scaled double '
                              'words (hi + lo)·2^−k, rounded once: in the repair kernel\n    (TIER & 2), the main '
                              'kernel flags the block in tier_ptr."""')
        lines = ["@triton.jit", f"def {name}({', '.join(parameters)}):", f"    {doc}"]
        lines += [f"    {w} = {n}.to(tl.float64)" for n, w in zip(leaf_names, wide)]
        lines += [f"    plain = {plain}", f"    if {first}.dtype == tl.float64:  # resolved when compiled"
                  if not in_float32 or bounded is not None else "    if True:  # in a float32 kernel too"]

        def finite_of(v):  # where the value v is taken over the float64 body's
            f = f"(tl.abs({v}) < float(\"inf\"))" + ("" if trusted else " & (tl.abs(plain) < float(\"inf\"))")
            return f"({f}) | (plain == float(\"-inf\"))" if root else f
        finite = finite_of(result.hi)
        inner = emitter.lines + [f"result = tl.where({finite}, {result.hi}, plain)"]
        if scaled_tier is not None:  # (before the third tier, which takes the elements it picks after it: as NumPy)
            nested = f"{first}.dtype" if in_float32 and bounded is None else None
            if nested is not None:
                scaled_tier = [f"if {nested} == tl.float64:  # resolved when compiled"] + ["    " + x for x in scaled_tier]
            inner += scaled_tier
        if third:
            nested = f"{first}.dtype" if in_float32 and bounded is None else None  # (a branch taken in float32 too)
            inner += _triton_third_tier(tripled, result3, term_his, result.hi, needed, nested,
                                        f"{name}_triple" if deferred else None,
                                        lost)
            emitter.needs |= tripled.needs
        # the repair kernel's specialisation of the scaled words alone (TIER 2) takes them on every lane, not the double
        # words and then the scaled ones: where k is 0 (a value and leaves past 2⁻⁹⁶⁸, every lane but the tiny ones) the
        # scaled words are the double words' operations, their value the double word's; compiled once, not twice
        # (focal's REPAIR=2, task h-tcost25). Not where a third tier is inline (it picks its elements by the double
        # word's terms), nor in a body in triple words (their value is not the scaled words'), nor in a float32
        # kernel's branch
        if scaled_tier is not None and not in_float32 and not (third and not deferred) and not triple:
            lines += ["        if TIER == 2:  # the repair kernel's scaled words alone (resolved when compiled): on "
                      "every lane",
                      f"            scaled_result = {name}_scaled({', '.join(wide)})",
                      f"            result = tl.where({finite_of('scaled_result')}, scaled_result, plain)"]
            if _may_overflow_inside(body):  # past the range: the scaled value where it is finite and the float64
                # body's is not, every leaf finite, as NumPy's _dwx_tier ``over`` (the double word, not computed here,
                # is the scaled words' where k is 0)
                lines += [f"            result = tl.where(({_triton_overflowed('plain', None, wide)}) & "
                          "(scaled_result == scaled_result) & ((tl.abs(scaled_result) < float(\"inf\")) | "
                          "(plain != plain)), scaled_result, result)"]
            lines += ["        else:"]
            lines += ["            " + line for line in inner]
        else:
            lines += ["        " + line for line in inner]
        if bounded is None:
            lines += ["    else:", "        result = plain"]
        else:
            steps, value = bounded[0], bounded[1]
            lines += ["    else:  # a float32 kernel: the float64 body, each value beside a bound of its error "
                      "(doubleword._Bound),",
                      "        # kept where the bound is within 2⁻³⁰ of the value"
                      + (" or the select does not take it" if needed else "") + "; double-word elsewhere"]
            lines += ["        " + line for line in steps]
            if needed:
                lines += ["        keep = keep | ~needed"]
            if repaired32:  # the double words in the repair kernel: a block the main kernel flagged has such an element
                bit = REPAIR_BITS["float32"]
                lines += [f"        result = {value}",
                          f"        if TIER & {bit}:  # the repair kernel's specialisation: the double word (on every "
                          "lane of a flagged block)"]
                lines += ["            " + line for line in emitter.lines]
                lines += [f"            result = tl.where(keep, {value}, tl.where({finite}, {result.hi}, plain))",
                          "        elif not TIER:  # the main kernel: a block with an element past it is flagged for the "
                          "repair kernel (0: a no-op or)",
                          f"            tl.atomic_or(tier_ptr, tl.max(tl.where(keep | ~lanes, 0, {bit})))"]
            else:
                lines += [f"        result = {value}",
                          "        if tl.max(tl.where(keep, 0, 1)) > 0:  # an element past it: the double word (on every "
                          "lane of the block, as a GPU computes it)"]
                lines += ["            " + line for line in emitter.lines]
                lines += [f"            result = tl.where(keep, {value}, tl.where({finite}, {result.hi}, plain))"]
        lines += [f"    return result.to({first}.dtype)"]
        if scaled_tier is not None:  # the scaled words: a function of their own, called in the repair kernel alone
            lines += ["", ""] + _triton_scaled_function(f"{name}_scaled", tiny, tiny_result, wide)
        if deferred:  # likewise the deferred triple words
            lines += ["", ""] + _triton_triple_function(f"{name}_triple", tripled, result3)
    if root_trig is not None and bounded is not None:
        leaves = dict(zip(node.leaves, leaf_names))
        lines = _root_trig_sum_front(front, name, list(leaf_names), (leaves[root_trig[0]], leaves[root_trig[1]]),
                                     root_trig[2], plain, formula) + ["", ""] + lines
        emitter.needs |= {"_dw_two_prod", "_dw_two_sum", "_dw_add_fp", "_dw_sqrt", "_dw_mul_fp", "_dw_div", "_dw_mul",
                          "_dw_add", "_dw_sin_shifted"}
        name = front
    elif trig_terms is not None and bounded is not None:
        lines = _trig_sum_front(front, name, leaf_names[0], trig_terms, plain, formula) + ["", ""] + lines
        emitter.needs |= {"_dw_two_prod", "_dw_two_sum", "_dw_sin_shifted", "_dw_mul_fp", "_dw_add"}
        name = front
    elif front is not None and bounded is not None:
        lines = _product_sum_front(front, name, leaf_names, bounded, plain, formula,
                                   _compensated_terms(body, dict(zip(node.leaves, leaf_names)))) + ["", ""] + lines
        emitter.needs |= {"_dw_two_prod", "_dw_two_sum"}
        name = front
    return WidenedFunction(name, "\n".join(lines) + "\n", _closure(emitter.needs, backend),
                           takes_within=bool(within),
                           repair=(REPAIR_BITS["deep"] if deferred else 0)
                           | (REPAIR_BITS["subnormal"] if backend == "triton" and scaled_tier is not None else 0)
                           | (REPAIR_BITS["float32"] if backend == "triton" and repaired32 else 0))


def _needed_gather(name: str, leaf_names: list[str]) -> list[str]:
    """The first lines of a NumPy widened function with a bound, after its ``double_word`` test: where the enclosing
    select takes the sum on fewer than half of the block's elements (``needed``; the Student-t ∂ν's sum past the
    log1p-series window, |x²/ν| ≥ 0.4375: 5.6% of ν in (1, 30), x ~ N(0, 1)), the function again on those alone,
    gathered (its ``needed`` None: every one taken), and 0 on the others, which the select drops: the float64 body,
    its bound and the double words no longer run on every element (task h-studt27: they took the Student-t ∂ν kernel
    from 0.30 to 0.43 CPU s per 10⁶ float64 points). On the gathered elements the function keeps the float64 value
    where the bound is within, as it did with the others kept beside them (``some``: more than an eighth of the block
    was kept, those the select does not take; where it keeps none of them, the double words on all of them, gathered
    or not, are the same), so the kernel's outputs are the same bits as before."""
    leaves = ", ".join(f"np.shape({n})" for n in leaf_names)
    gathered = ", ".join(f"np.broadcast_to({n}, needed.shape)[needed]" for n in leaf_names)
    return ["        gathered = needed is None  # (the call below: the elements the select takes, every one of them)",
            "        if gathered:",
            f"            needed = np.ones(np.broadcast_shapes({leaves}), bool)",
            "        elif np.ndim(needed) and np.count_nonzero(needed) * 2 < np.size(needed):  # taken on under half: "
            "there alone",
            f"            needed = np.broadcast_to(needed, np.broadcast_shapes(np.shape(needed), {leaves}))",
            "            result = np.zeros(needed.shape)  # not taken by the select: any value (0)",
            "            if needed.any():",
            f"                result[needed] = {name}({gathered}, True, None, within=within)",
            "            return result"]


def _float64_gather(name, leaf_names) -> list:
    """The lines of a float64 kernel's branch of a NumPy widened function whose bound is never within 3u
    (``float32_only``): where the enclosing select takes it on some elements and not all, the function again on
    those alone, gathered, and 0 on the others, which the select drops. Before (geglu44), that branch computed the
    float64 body on every element of the block, kept it where the select does not take it (any value serves there)
    and computed it again, gathered, on the others as the double word's fallback: the written GEGLU's ∂a past its
    root-series window (72% of a ~ N(0, 2)) spent 31% of its time on the first. The gathered call computes the
    float64 body once, on the taken elements, and the same double words on them: the same bits where taken."""
    gathered = ", ".join(f"np.broadcast_to({n}, needed.shape)[needed]" for n in leaf_names)
    leaves = ", ".join(f"np.shape({n})" for n in leaf_names)
    return ["            if np.ndim(needed) and not needed.all():  # taken on some elements: there alone, gathered "
            "(doubleword._float64_gather)",
            f"                needed = np.broadcast_to(needed, np.broadcast_shapes(np.shape(needed), {leaves}))",
            "                result = np.zeros(needed.shape)  # not taken by the select: any value (0)",
            "                if needed.any():",
            f"                    result[needed] = {name}({gathered}, True, None, within=within)",
            "                return result"]


def _product_sum(body) -> bool:
    """``body`` a sum of terms that are each an input or a rational times a product of inputs and their positive
    integer powers, one at least a product (x·y − z, w·x + b − t, x²·y − 3z): its float64 value is a few roundings,
    the products' and the sums', whose bound (_Bound) is a few operations."""
    if not body.is_Add:
        return False
    products = 0
    for term in body.args:
        c, m = term.as_coeff_Mul()
        if not c.is_Rational or m.is_Number:
            return False
        factors = [f.base if f.is_Pow and f.exp.is_Integer and f.exp >= 1 else f for f in sp.Mul.make_args(m)]
        if not all(f.is_Symbol for f in factors):
            return False
        products += len(sp.Mul.make_args(m)) >= 2 or m.is_Pow
    return products >= 1


def _compensated_terms(body, names: dict):
    """The terms of a :func:`_product_sum` ``body`` as (negated, factors' names) pairs, each an input or ± a product of
    two inputs (x·y, x²; one factor's name for an input); None where a term is another (x·y·z, 3x·y)."""
    terms = []
    for term in body.args:
        c, m = term.as_coeff_Mul()
        if c not in (1, -1):
            return None
        factors = [f for a in sp.Mul.make_args(m) for f in ((a.base,) * int(a.exp) if a.is_Pow else (a,))]
        if len(factors) > 2:
            return None
        terms.append((c == -1, [names[f] for f in factors]))
    return terms


def _product_sum_front(front: str, inner: str, leaf_names: list[str], bounded, plain: str, formula: str,
                       terms) -> list[str]:
    """The NumPy function ``front`` of a widened sum of products of inputs (:func:`_product_sum`; task h-xyz23): the
    float64 body and its bound (_Bound: the products' and the sums' roundings, some three operations a node), and
    ``inner`` (the whole widened function: double words, triple words where it cancels past 2⁻¹⁰ of the terms, scaled
    double words below 2⁻⁹⁶⁸) on the elements whose bound is past ``within`` of the value only, gathered and
    scattered back: those where the sum cancels. A block where none does (most data: a linear model's w·x + b − t)
    pays the bound only. Everything the front keeps, ``inner`` keeps too (the same bound, the same test); where the
    value is inf or NaN the bound is too and the value is the result (``inner`` keeps it as well). Elements with a
    subnormal product the front keeps unless they cancel: a float64 product's rounding there is 2⁻¹⁰⁷⁵ absolute, below
    2⁻⁵³ of a normal result. h-round22's route (the whole function on every block: its bound, then its triple-word
    test and its subnormal test on every element) made (w·x + b − t)² 10× the plain float64 kernel."""
    steps, value, error, size = bounded[0][:-1], bounded[1], bounded[2], bounded[3]
    gathered = [f"np.broadcast_to({n}, redo.shape)[redo]" for n in leaf_names]
    doc = (f'"""{formula}, rounded once (a sum of products of inputs): the float64 body where a bound of its error\n'
           '    is within ``within`` of it (3u in a float64 kernel, 2⁻³⁰ in a float32 one), and on the elements where\n'
           f'    it is not (the sum cancels) {inner} alone, gathered."""')
    lines = [f"def {front}({', '.join(leaf_names)}, double_word, needed=True, within={KEEP_RELATIVE / _SAFETY!r}):",
             f"    {doc}", '    with np.errstate(all="ignore"):  # inf and NaN: the float64 value (the bound is not finite)']
    lines += [f"        {n} = np.asarray({n}, np.float64)" for n in leaf_names]
    lines += ["        if not double_word:", f"            return {plain}"]
    if terms is not None and len(terms) == 2:
        # a float32 kernel's inputs are float32: a product of two is exact in float64 (48 bits), so the float64 body
        # is one rounding of the exact sum, 2⁻²⁹ of a float32 ULP (the bound would send all of x·y − z at z = fl(x·y)
        # to Sum2: 14× the plain kernel, benchmarks/results/xyz23-cost-2026-12-03.md)
        lines += [f"        if within > {2.0 ** -40!r}:  # a float32 kernel's 2⁻³⁰: exact products, one rounding",
                  f"            return {plain}"]
    lines += ["        " + line for line in steps]
    lines += [f"        redo = {error} > within*{size}  # cancels (a NaN bound: no)",
              "        if needed is not True:  # where the select takes the sum",
              "            redo = redo & needed",
              "        if not redo.any():",
              f"            return {value}"]
    if terms is None:  # (a product of three inputs, a constant: the whole function on those elements)
        return lines + [f"        result = np.array(np.broadcast_to({value}, redo.shape), np.float64)",
                        f"        result[redo] = {inner}({', '.join(gathered)}, True, True, within)",
                        "        return result"]
    # Ogita, Rump & Oishi's Sum2 ("Accurate sum and dot product", SIAM J. Sci. Comput. 26, 2005) over the terms,
    # each product p + e exactly (TwoProduct): error ≤ u·|sum| + γₙ²·Σ|terms|, γₙ = n·u/(1 − n·u). Σ|terms| is
    # within 2·bound/u (each product's |p| is in the bound, each input term is the difference of two partial sums
    # that are), so the value is within u·|sum| + 2n²u·bound: within 1 ULP more where bound ≤ |value|/(4n²), taken
    # there; elsewhere (past 2⁵⁰ of cancellation, or below 2⁻⁹⁶⁸: the lo parts lost) the whole function. Two terms
    # are always within: their TwoSum is exact and its error term 0 where they cancel (Sterbenz: z within a factor 2
    # of x·y), so x·y − z = fl(x·y) − z + e rounds once
    n = len(terms)
    sum2 = ["# the sum compensated (Sum2): each TwoSum's rounding and each product's, summed apart"]
    errors = []  # the names of the roundings (the products' and the TwoSums')
    for k, (negated, factors) in enumerate(terms):
        term = ("-" if negated else "") + factors[0]
        if len(factors) == 2:
            sum2 += [f"_t{k}, _e{k} = _dw_two_prod({term}, {factors[1]})  # {term}·{factors[1]}, exactly"]
            term = f"_t{k}"
            errors.append(f"_e{k}")
        if k == 0:
            sum2 += [f"_s = {term}"]
            continue
        sum2 += [f"_s, _q{k} = _dw_two_sum(_s, {term})"]
        errors.append(f"_q{k}")
    sum2 += [f"_c = {' + '.join(errors)}"]
    deep = f"~(np.abs(double) >= {SCALED_TINY!r})"
    if n > 2:
        deep += f" | ~({4.04 * n * n!r}*bound <= np.abs(double))"
    # an eighth of the block or more (w·x + b − t of inputs in [−2, 2]: a third): Sum2 on the whole block, where the
    # gathers and scatter cost more than the elements they leave out (0.0176 → CPU s per 10⁶ for that node)
    lines += ["        if np.count_nonzero(redo) * 8 > np.size(redo):  # many: Sum2 on the whole block"]
    lines += [f"            bound = {error}"] if n > 2 else []
    lines += ["            " + line for line in sum2]
    lines += [f"            double = np.array(np.broadcast_to(np.where(redo, _s + _c, {value}), redo.shape), np.float64)",
              f"            deep = redo & ({deep})  # past Sum2 (or tiny): the whole function",
              "            if deep.any():",
              f"                double[deep] = {inner}("
              + ", ".join(f"np.broadcast_to({n}, deep.shape)[deep]" for n in leaf_names) + ", True, True, within)",
              "            return double"]
    lines += [f"        result = np.array(np.broadcast_to({value}, redo.shape), np.float64)"]
    lines += [f"        bound = np.broadcast_to({error}, redo.shape)[redo]"] if n > 2 else []
    lines += [f"        {name} = {g}" for name, g in zip(leaf_names, gathered)]
    lines += ["        " + line for line in sum2]
    lines += ["        double = _s + _c",
              f"        deep = {deep}  # past Sum2 (or tiny): the whole function",
              "        if deep.any():",
              f"            double[deep] = {inner}({', '.join(f'{n}[deep]' for n in leaf_names)}, True, True, within)",
              "        result[redo] = double",
              "        return result"]
    return lines


# the exponentials and logs of the triple words (each a reduction and _tw_expm1_reduced's loop: some 600 operations at
# two entries a thread) up to which a Triton float64 kernel takes the third tier, and its weights: its compile time
# grows with about the square of its operations. Measured (sm_90, benchmarks/tw21_sm90.py): the registry focal loss's
# float64 kernel (γ an input), whose ∂t and ∂z sums take 11 each (σ(±z), softplus(±z), e^(γ·log …), tanh(z/2)),
# compiled in 169 s of CPU before the tier and had not finished its Triton passes at 324 s with it (past 2×): gated
# out there (its ∂t 84 ULP at its zeros); y − tanh x (1), bce_logits and sigmoid_mse (1 or 2 a sum) and focal's ∂t at
# t = 1 (3) kept it. Session 22 (h-tfocal22): focal's sums take 2 each (one e^−|z| for σ, softplus, tanh; p_t^γ the
# double word's), 4 with p_t^γ in triple words too (its compile had not finished at 181 CPU s: killed), and 263.4
# CPU s for the kernel with 2 (67.2 gated; benchmarks/results/tfocal22-sm90-2026-12-03.txt)
TRITON_TIER_MOST = 4
# Session 23 (h-tfocal23): a tier of more than TRITON_TIER_INLINE goes to the repair kernel where the caller has one
# (Triton's elementwise kernels: the same @triton.jit at REPAIR=True, compiled at the first launch that needs it, run
# on the blocks the main kernel flagged), so the main kernel compiles as with the tier gated: focal's sums (2 each, 3
# for ∂t's z > 1000 piece) there, its main kernel 39.8 CPU s for sm_90 (59.3 before; spills 1,920 → 1,572 B), the repair
# kernel 183.2 (benchmarks/results/tfocal23-sm90-2026-12-03.txt); y − tanh x, bce_logits and sigmoid_mse (1 a sum)
# keep theirs inline
TRITON_TIER_INLINE = 1
# the bit a main kernel sets in its block's flag (tier_ptr) for each tier the repair kernel computes: 1 a sum that
# cancels past DEEP_TERMS (the third tier, triple words); 2 a value or a leaf below SCALED_TINY (the scaled double
# words, session 24: _triton_scaled_tier). The launcher launches the repair kernel once for each value of the flags
# present, its REPAIR constexpr that value: a specialisation compiles its own tiers alone (h-tsub23's scaled tier
# inline took focal's main kernel past 217 CPU s for sm_90, in one repair kernel beside the triple words past 585).
# 4 (session 26): a float32 kernel's double words, where the float64 body's bound is past 2⁻³⁰ of it: float32 reads
# nothing back (the main kernel lists its flagged blocks, a few programs of the repair kernel take them in turn)
REPAIR_BITS = {"deep": 1, "subnormal": 2, "float32": 4}
_TIER_COST = {"_tw_exp_negabs(": 1, "_tw_exp(": 1, "_tw_expm1(": 1, "_tw_sigmoid(": 1, "_tw_tanh(": 1, "_tw_log(": 1, "_tw_softplus(": 2,
              "_tw_log1p(": 1,
              # erfc and Φ (session 38): an exponential at least (_tw_exp_negsquare, beside _tw_erf's 140 steps and the
              # continued fraction's 80), so that with another (gelu(x/y)⁻²'s ∂x: Φ of a quotient and e^(−v²/2)) the
              # tier is the repair kernel's; erfc(x) − y's alone stays inline as before
              "_tw_erfc_series(": 1, "_tw_ndtr_series(": 1, "_tw_erfc_words(": 1,
              "_tw_erf_words(": 1}  # erf of a triple word (session 41): _tw_erf's 140 steps and an exponential


def _triton_tier_cost(lines) -> int:
    """The triple-word exponentials and logs the statements ``lines`` compute (_TIER_COST)."""
    return sum(line.count(call) * cost for line in lines for call, cost in _TIER_COST.items())


def _triton_third_tier(tripled: _Emitter, result3: _Value, term_his: list, double_hi: str, needed: bool,
                       nested: str | None, deferred: str | None = None, lost: str = "") -> list[str]:
    """The third tier in a Triton float64 kernel, after ``result`` (the double word's value, or the float64 body's where
    that is not finite): the elements whose double-word terms are past DEEP_TERMS (_deep_terms) times the value (and, where the
    function takes ``needed``, that the select takes) are ``deep``; a block with one of them computes the sum again in
    triple words (``tripled``'s statements) on every lane, as a GPU would, and takes it on the deep ones where it and
    ``result`` are finite. A block with none branches past it (a scalar branch on tl.max, as the float32 bound's): the
    ordinary block computes the few operations of the mask only. ``nested``: the first leaf's dtype, where the caller's
    branch is taken in a float32 kernel too (the tier in float64 kernels only: a float32 result rounds the double word's
    2⁻¹⁰⁶ of the terms away). ``deferred`` (the name of the function of the triple words, _triton_triple_function):
    the triple words only where the constexpr ``TIER`` (the repair kernel), by a call of that function; the main kernel
    sets REPAIR_BITS["deep"] in its block's flag ``tier_ptr`` instead (an atomic or: other tiers' bits beside it), and
    compiles no triple word. ``lost`` (:func:`_underflowed`): not where an e^x of the double words is below SCALED_TINY
    (the scaled tier's value there; the triple words' e^x underflows alike)."""
    inf = 'float("inf")'
    magnitude = " + ".join(f"tl.abs({t})" for t in term_his)
    limit = _deep_terms(tripled.lines)
    deep = f"({magnitude}) > {limit!r} * tl.abs({double_hi})"
    if lost:
        deep = f"({deep}) & ~({lost[3:]})"
    lines = [f"deep = {f'({deep}) & needed' if needed else deep}  # cancels past {_deep_words(limit)}: triple words"]
    tier = ["if tl.max(tl.where(deep, 1, 0)) > 0:  # the deepest cancellations (rare): a block with one, in triple "
            "words"]
    value = result3.hi
    if deferred:
        tier += [f"    triple = {deferred}({', '.join(_free_names(tripled.lines))})"]
        value = "triple"
    else:
        tier += ["    " + line for line in tripled.lines]
    tier += [f"    result = tl.where(deep & (tl.abs({value}) < {inf}) & (tl.abs(result) < {inf}), {value}, result)"]
    if deferred:  # (the repair kernel's; the main kernel compiles as with the tier gated: TRITON_TIER_INLINE)
        lines += [f"if TIER & {REPAIR_BITS['deep']}:  # the repair kernel's specialisation of this tier (resolved when "
                  "compiled): the triple words on the flagged blocks"]
        lines += ["    " + line for line in tier]
        lines += ["elif not TIER:  # the main kernel: a block with one is flagged for the repair kernel (0: a no-op or)",
                  f"    tl.atomic_or(tier_ptr, tl.max(tl.where(deep & lanes, {REPAIR_BITS['deep']}, 0)))  # (no branch: 1,572 B "
                  "spilled for sm_90, 2,376 with one)"]
    else:
        lines += tier
    if nested is not None:
        return [f"if {nested} == tl.float64:  # resolved when compiled"] + ["    " + line for line in lines]
    return lines


def _free_names(lines: list[str]) -> list[str]:
    """The variables that the statements ``lines`` read and do not assign (their inputs from the function around them:
    the leaves, a double word they share), in the order first read; not tl, the helpers (_dw_…) nor builtins."""
    import ast
    tree = ast.parse("\n".join(lines))
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    read = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    read.sort(key=lambda n: (n.lineno, n.col_offset))
    free = [n.id for n in read if n.id not in stored and n.id not in ("tl", "triton", "float")
            and not n.id.startswith("_")]
    return list(dict.fromkeys(free))


def _triton_triple_function(name: str, tripled: _Emitter, result3: _Value) -> list[str]:
    """The Triton function ``name`` of a deferred third tier (_triton_third_tier): the sum in triple words
    (``tripled``'s statements, over the variables they read: _free_names), its hi part; the repair kernel's (TIER & 1),
    as the scaled words' (_triton_scaled_function)."""
    return (["@triton.jit", f"def {name}({', '.join(_free_names(tripled.lines))}):",
             '    """The deepest cancellations in triple words (hi + lo + tail): the repair kernel\'s (TIER & 1)."""']
            + ["    " + line for line in tripled.lines] + [f"    return {result3.hi}"])


def _triton_overflowed(result: str, double_hi: str | None, leaves: list) -> str:
    """Where the scaled words are tried past the range (NumPy's _dwx_tier ``over``): every leaf finite and the double
    word's hi not finite (an overflow inside it) or the value ``result`` ±inf beside a finite one (the float64 body's
    overflow alone: focal's ∂y at (1.7e308, 1/2) −inf for −7.4375e307; h-kl36). Without a double word (the repair
    kernel's scaled words alone): where ``result`` is not finite."""
    inf = 'float("inf")'
    finite = " & ".join(f"(tl.abs({x}) < {inf})" for x in leaves)
    if double_hi is None:
        return f"~(tl.abs({result}) < {inf}) & {finite}"
    return f"(~(tl.abs({double_hi}) < {inf}) | (tl.abs({result}) == {inf})) & {finite}"


def _underflowed(arguments: list[str], backend: str) -> str:
    """Where an e^x of a body's double words is below SCALED_TINY (its argument's hi, one of ``arguments``, below
    UNDERFLOWED_ARGUMENT), as ``backend`` prints it, each test after " | "; "" for a body without one. There the double
    word's e^x has lost its lo part (subnormal, or 0) though the value need not be tiny: y^(3x)/y of ∂y of (y^x)³·log y
    (pow47). The scaled tier takes those elements (its e^x is 2^k·e^(x + k·ln 2): _dwx_exp), and the third tier does
    not (its triple words' e^x underflows alike)."""
    bound = _constant(UNDERFLOWED_ARGUMENT, backend)
    return "".join(f" | ({a} < {bound})" for a in arguments)


def _far_leaf(leaf: str, bound: int, backend: str) -> str:
    """Where the leaf is past 2^±bound and not 0 (widen's far_bound: the scaled tier there), as ``backend`` prints it."""
    m = "np" if backend == "numpy" else "tl"
    big, small = _constant(2.0 ** bound, backend), _constant(2.0 ** -bound, backend)
    return f"({m}.abs({leaf}) > {big}) | (({leaf} != 0.0) & ({m}.abs({leaf}) < {small}))"


def _triton_scaled_tier(scaled: str, leaves: list, needed: bool, double_hi: str | None,
                        tiny_leaves: bool = True, far_bound: int = 0, lost: str = "") -> list[str]:
    """The scaled tier in a Triton float64 kernel, after ``result`` (the double word's value): the elements where it is
    below SCALED_TINY (0 too) or a leaf is (not 0), and the select takes it where the function has ``needed``, are
    ``tiny``; the repair kernel's REPAIR_BITS["subnormal"] specialisation (TIER & 2, a constexpr) computes the body again
    in scaled double words (the function ``scaled``, _triton_scaled_function) in a block with one of them (a scalar
    branch) and takes it there where it is finite and not a zero for a nonzero value (NumPy's _dwx_tier); the main
    kernel (TIER 0) sets that bit in its block's flag ``tier_ptr`` instead (an atomic or, no branch), and the deep
    tier's specialisation (TIER 1) neither: a kernel compiles the scaled words in that specialisation only.
    ``double_hi`` (the double word's hi, where the body may overflow inside): the elements past the range too
    (_triton_overflowed). ``tiny_leaves`` False (a body in triple words): not where a leaf alone is tiny. ``far_bound``
    B (widen's): where a leaf is past 2^±B too (:func:`_far_leaf`). ``lost`` (:func:`_underflowed`): where an e^x of the
    double words is below SCALED_TINY too."""
    inf, bound = 'float("inf")', _constant(SCALED_TINY, "triton")
    test = [f"(tl.abs(result) < {bound})"]
    if tiny_leaves:
        test += [f"(({x} != 0.0) & (tl.abs({x}) < {bound}))" for x in leaves]
    if double_hi is not None:  # (a body that may overflow inside: _may_overflow_inside)
        test += [f"({_triton_overflowed('result', double_hi, leaves)})"]
    if far_bound:  # (widen's far_bound: a leaf past 2^±B, the scaled words' leaves in [1/2, 1))
        test += [f"({_far_leaf(x, far_bound, 'triton')})" for x in leaves]
    if lost:  # (pow47: an e^x of the double words below SCALED_TINY)
        test += [lost[3:]]
    bit = REPAIR_BITS["subnormal"]
    lines = [f"tiny = ({' | '.join(test)}) & lanes" + (" & needed" if needed else "")
             + "  # below 2⁻⁹⁶⁸ (lanes: the block's elements): scaled double words"]
    lines += [f"if TIER & {bit}:  # the repair kernel's specialisation of this tier (resolved when compiled)",
              "    if tl.max(tl.where(tiny, 1, 0)) > 0:  # a block with one, in scaled double words (hi + lo)·2^−k",
              f"        scaled_result = {scaled}({', '.join(leaves)})",
              f"        result = tl.where(tiny & (tl.abs(scaled_result) < {inf}) & ((scaled_result != 0.0) | "
              "(result != 0.0) | (scaled_result.to(tl.int64, bitcast=True) < 0)), scaled_result, result)"]
    if double_hi is not None:  # (an infinity the scaled value has is taken for a NaN, inf − inf, as NumPy's _dwx_tier:
        # x − 3y + sinh x at (711.45, 9.52e307) NaN for +inf, the truth 1.9e308)
        lines += ["        result = tl.where(tiny & (result != result) & (scaled_result == scaled_result), scaled_result, "
                  "result)"]
    lines += ["elif not TIER:  # the main kernel: a block with one is flagged for the repair kernel (0: a no-op or; an "
              "or on the lanes holding one, no reduction, compiled focal's main kernel in 79.5 CPU s, this in 54.0)",
              f"    tl.atomic_or(tier_ptr, tl.max(tl.where(tiny, {bit}, 0)))"]
    return lines


def _triton_scaled_function(name: str, tiny: _Scaled, scaled: str, leaves: list) -> list[str]:
    """The Triton function ``name`` of the scaled words (_triton_scaled_tier): the body in scaled double words over the
    float64 leaves, rounded once (``tiny``'s statements, its value ``scaled``), as NumPy's ``<name>_scaled``; called
    only in the repair kernel, on the tiny elements (TIER & 2) or on every lane (TIER 2: widened_function). Inlined as
    every Triton function: Triton 3.9 refuses a tensor argument to a ``noinline`` function ("called with non-scalar
    argument"), so a function of its own does not compile apart (task h-tcost25)."""
    return (["@triton.jit", f"def {name}({', '.join(leaves)}):",
             '    """The body in scaled double words (hi + lo)·2^−k (doubleword.SCALED_TINY), rounded once: the repair '
             "kernel's", '    (TIER & 2)."""']
            + ["    " + line for line in tiny.lines] + [f"    return {scaled}"])


def leaf_identifiers(leaves) -> list[str]:
    """The function's own names of the leaves: each symbol's name where it is a plain identifier
    that the generated code does not use itself, else arg0, arg1 …"""
    out = []
    for k, s in enumerate(leaves):
        n = s.name
        if not n.isidentifier() or keyword.iskeyword(n) or n.startswith("_") or n in FUNCTION_NAMES \
                or n.endswith(("_hi", "_lo", "_f64", "_err")) or n.startswith("abs_") or n in out:
            n = f"arg{k}"
            while n in out or n in (t.name for t in leaves):  # log1p(arg1*np): np became arg1 beside arg1
                n = "arg" + n[3:] + "_"
        out.append(n)
    return out


# ---------------------------------------------------------------------------------------------
# a whole kernel in double words (a written softmax in a float64 kernel)


def _takes_a_log(expr) -> bool:
    """Whether ``expr`` holds a log or log1p, a widened node's body included."""
    return any(isinstance(n, (sp.log, log1p)) or (hasattr(n, "expanded") and hasattr(n, "leaves")
                                                   and _takes_a_log(n.expanded)) for n in sp.preorder_traversal(expr))


def double_word_block(assignments, results, backend: str, plain_printer, leaves: dict, taken: set):
    """Every output of a kernel in double-word arithmetic, from its inputs, by one emitter (each subexpression once:
    a written 24-term softmax's e^(a_i − m), i < 24, once for its 25 outputs): (the statements, each output's hi
    (the output rounded once), the primitives they call, in the order of definition).

    ``assignments`` are the kernel's CSE temporaries (symbol, expression) in order, ``results`` its outputs over
    them, ``leaves`` each input symbol → its float64 name in the generated code, ``plain_printer`` the kernel's own
    printer (a condition, and an operation without a double-word version, are printed in float64 over the kernel's
    names: its float64 temporaries are computed before these statements), ``taken`` the names the code uses.

    Why (issue 16, tests/test_sm18.py): with S = Σ e^(a_i − m) summed in double-word and rounded once (the
    compensated-sum rule), a float64 softmax's outputs −e^(a_0 − m)·e^(a_j − m)/S² still carry the roundings of
    e^(a_0 − m) and e^(a_j − m) (about ½ ULP each, np.exp's own error beside), of S² and of the quotient: 2.92 ULP at
    worst over 60 random 24-term points, worse than torch.softmax's autograd at 17 of them. Measured at 60 digits,
    the terms dominate: the same outputs computed exactly from the float64 terms are still 2.38 ULP off (worse than
    torch at 5 points); from double-word terms, the quotients in double-word, each output is rounded once (NumPy's
    e^x by a table, :func:`_dw_exp_table`, to 2⁻⁶⁶: a fifth of _dw_exp's operations)."""
    logs = any(_takes_a_log(r) for r in [*results, *(e for _, e in assignments)])
    pair_logs = _pair_log_terms(assignments, results) if logs and backend == "numpy" else None
    # e^x to 2⁻⁶⁶ by a table in NumPy (a fifth of _dw_exp's operations), to 2⁻⁶² by two squarings in Triton (some 145
    # operations, _dw_exp's 390: 24 inlined _dw_exp took 195 s of CPU to compile for sm_90): enough for outputs rounded once
    # — but not where an output takes a log of the sum (a written log-sum-exp or log-softmax): log S at S ≈ 1 (a
    # log-sum-exp at its crossing of zero, 1e−13) needs S to 2⁻¹⁰⁰ absolute, and the table's 2⁻⁶⁶ was 3.9e7 ULP
    # there (tests/test_stability8.py); those kernels keep _dw_exp, but for a two-term one in NumPy (c ± log1p(E): the
    # table's, and _dw_exp again where the log may cancel, :func:`_near_cancellation`; cost43)
    if pair_logs is not None and any(not _pair_log(L) for logs_of_r in pair_logs for L in logs_of_r):
        # (cost48: the log-sum-exp's select reads the kernel's temporaries in its conditions, x_k = 0: printed over
        # the inputs, so that the block can go first and be gathered)
        plain_printer = _DefinedPrinter(plain_printer, dict(assignments))
    for table in ((True, False) if pair_logs is not None else (not logs,)):
        emitter = _Emitter(backend, plain_printer, dict(leaves), dict(leaves), taken)
        emitter.nonfinite_arguments = False
        if table:
            emitter.FUNCTIONS = {**emitter.FUNCTIONS, "exp": "_dw_exp_table"}
        emitter.definitions = dict(assignments)  # (_exp_shift's pair of terms: its m, a temporary, is max(x, y))
        for temp, expr in assignments:
            emitter.values[temp] = emitter.value(expr)
        his = [emitter.value(r).hi for r in results]
        lines = emitter.lines
        if backend == "numpy":  # (Triton's kernels are compiled, where the compiler shares equal expressions itself)
            lines, his = _shared_statements(lines, his)
        if pair_logs is None or not table:
            return lines, his, _closure(emitter.needs, backend)
        near = _near_cancellation(emitter, results, pair_logs, his, leaves, assignments, plain_printer, taken)
        if near is not None:  # (None: the block reads a name besides its inputs; as before, _dw_exp throughout)
            more, his, needs = near
            return lines + more, his, _closure(emitter.needs | needs, backend)


# ---- softcost42: a double-word statement computed twice is computed once ----
# The emitter's memo is keyed by the expression, so one value written two ways is computed twice: log(e^a + e^b)'s
# softmax gradient takes e^(min(a, b) − t₀) with t₀ = max(a, b) a temporary, its log1p the same e^(min(a, b) −
# max(a, b)) spelled out: the TwoSum and the full double-word _dw_exp (some 390 operations) twice on every float64
# element. A statement whose right side, after the earlier renamings, is one printed before (the same pure call of
# the same names) takes the earlier statement's names instead: the same operations on the same arrays give the same
# bits, so every output is bit-identical (tests/test_softcost42.py at 200,000 points a formula) and cheaper
# (benchmarks/softcost42.py).
_SHARED_CALLS = ("_dw_two_sum(", "_dw_fast_two_sum(", "_dw_exp(", "_dw_exp_table(", "_dw_log1p(", "_dw_add(",
                 "_dw_add_fp(", "_dw_mul(", "_dw_mul_fp(", "_dw_div(", "np.where(")  # none writes into its arguments
_STATEMENT = re.compile(r"(\w+(?:, \w+)*) = (.+)")


def _shared_statements(lines: list, his: list) -> tuple:
    """``lines`` (top-level NumPy statements) with each statement ``names = call`` whose call, over the names as
    renamed so far, was printed before dropped (its comment too) and its names renamed to the earlier ones, where
    the call is one of :data:`_SHARED_CALLS` and no statement writes into a name in place; (the lines, ``his``
    renamed). Anything else is kept as it is."""
    written = set()
    for line in lines:  # names written in place (out=, +=, item assignment, copyto): never shared
        written |= set(re.findall(r"out=(\w+)", line)) | set(re.findall(r"np\.copyto\((\w+)", line))
        written |= set(re.findall(r"^\s*(\w+)\s*(?:[-+*/]=|\[)", line))
    rename: dict = {}
    seen: dict = {}
    kept: list = []

    def renamed(text):
        return re.sub(r"[A-Za-z_]\w*", lambda m: rename.get(m.group(0), m.group(0)), text) if rename else text

    for line in lines:
        text = renamed(line)
        m = _STATEMENT.fullmatch(text)
        if m and m.group(2).startswith(_SHARED_CALLS):
            names = m.group(1).split(", ")
            earlier = seen.get(m.group(2))
            if earlier is not None and len(earlier) == len(names) and not (set(names) | set(earlier)) & written:
                rename.update(zip(names, earlier))
                if kept and kept[-1].lstrip().startswith("#"):
                    kept.pop()  # its comment
                continue
            seen.setdefault(m.group(2), names)
        kept.append(text)
    return kept, [rename.get(h, h) for h in his]
# ---- end softcost42 ----


# ------------------------------------------------------------------ cost43 (issue 16, session 43, h-cost43: a two-term
# log-sum-exp's e^x by the table where its log cannot cancel)
# log(e^a + e^b) and a − log(e^a + e^b) in a float64 kernel took the full double-word _dw_exp (2⁻¹⁰⁴, some 390
# operations) for their one e^(min − max), because a log-sum-exp at its crossing of zero needs log S to 2⁻¹⁰⁰ absolute
# (double_word_block). For two terms an output is r = c ± L, L = log1p(E), E = e^(min(x, y) − max(x, y)) ≤ 1, c a
# sum of products of inputs, maxima and minima (no function: E reaches r through L alone). The table's E is 2⁻⁶⁶
# off relative where E ≥ 2⁻¹⁰⁰⁸ (2⁻¹⁰⁷² absolute below), which moves L by at most 2⁻⁶⁶·E/(1 + E) + 2⁻¹⁰⁷² ≤
# 2⁻⁶⁶·L + 2⁻¹⁰⁷² (log1p(E) ≥ E/(1 + E)); so where |r| ≥ L/8 + 2⁻¹⁰⁰⁰ the table adds at most 2⁻⁶³ + 2⁻⁷² of r to
# r's error (the double words' own, 2⁻¹⁰⁰ or so, as before): 0.5 + 2⁻¹⁰ ULP once rounded. Elsewhere (c ≈ ∓L:
# logaddexp's max(a, b) in about (−0.8, 0); log-softmax's c = a − max(a, b) ≤ 0 never) the block is computed again
# with _dw_exp on those elements alone, gathered, as it was. The gradients (quotients, no log) take the table's E as
# a softmax's do.

def _pair_log(node) -> bool:
    """Whether ``node`` is log1p(e^(min(x, y) − max(x, y))) of one pair (the log-sum-exp rules' two-term form)."""
    if not (isinstance(node, log1p) and type(node.args[0]).__name__ == "exp_shift"):
        return False
    below, top = node.args[0].args
    return isinstance(below, sp.Min) and isinstance(top, sp.Max) and set(below.args) == set(top.args) \
        and len(top.args) == 2


# cost48 (issue 16, session 48): a log-sum-exp of more terms, log(e^a + e^b + 1) and log(2e^a + e^b + 1), took the
# full _dw_exp (some 390 operations) for each of its terms on every float64 element: 0.92 s a 10⁶ elements where the
# naive formula takes 0.04. The log-sum-exp rule's log1p(D) has D a select whose every piece (the largest term k
# taken out, x_k = 0) is a sum of terms c_i·e^(x_i), c_i > 0, and numbers ≥ 0 where every weight is at least 1
# (c_k − 1 ≥ 0; the cost48 change of local._log_shifted_sum drops c_k·expm1(x_k) where x_k is exactly 0). With the
# table's e^x off by δ = 2⁻⁶⁶ relative, D is off by at most δ·D (every term ≥ 0), and L = log1p(D) by δ·D/(1 + D) ≤
# δ·L, as for the pair's E: cost43's proof and its test |r| < ΣL/8 + 2⁻¹⁰⁰⁰ hold unchanged. Its last piece (D = S −
# 1, no condition) is taken only where no x_k is 0, where the max is not finite (inf − inf, a NaN input): the kernel
# takes its float64 body there (the outputs that are not finite), as before.
def _nonnegative_sum_log(node) -> bool:
    """Whether ``node`` is log1p of the log-sum-exp rule's select whose every conditioned piece is a sum of c·e^x and
    c·exp_shift(x, m), c > 0, and numbers ≥ 0 (the comment above); each condition x = 0."""
    if not (isinstance(node, log1p) and isinstance(node.args[0], sp.Piecewise)):
        return False
    pieces = node.args[0].args
    if len(pieces) < 2 or pieces[-1][1] is not sp.true:
        return False
    for value, condition in pieces[:-1]:
        if not (isinstance(condition, sp.Eq) and condition.rhs == 0):
            return False
        for term in sp.Add.make_args(value):
            c, f = term.as_coeff_Mul()
            if not (c.is_number and c >= 0):
                return False
            if f is not sp.S.One and not (isinstance(f, sp.exp) or type(f).__name__ == "exp_shift"):
                return False
    return True


def _table_safe_log_sum(body) -> bool:
    """Whether the widened ``body`` is max(0, …) + log1p(D), D as :func:`_nonnegative_sum_log` takes it (a log-sum-exp
    with a constant term and weights ≥ 1: log(e^a + e^b + 1), log(2e^a + e^b + 1)): its double words may take the
    table's e^x. Both terms are ≥ 0, so the result r is at least L = log1p(D), and the table's δ·L is at most 2⁻⁶⁶
    of r: 0.5 + 2⁻¹³ ULP once rounded. (log(2e^a + e^b + 1) took the full _dw_exp on every element its float64 bound
    did not keep: 41 % of N(0, 2) points, all of them at a, b ≪ 0, where f ≈ 2e^a + e^b is bounded at 5–7u.)"""
    if not body.is_Add:
        return False
    logs = [t for t in body.args if _nonnegative_sum_log(t)]
    rest = [t for t in body.args if not _nonnegative_sum_log(t)]
    return len(logs) == 1 and bool(rest) and all(
        (isinstance(t, sp.Max) and sp.S.Zero in t.args) or (t.is_number and t >= 0) for t in rest)


class _DefinedPrinter:
    """A plain printer that prints an expression with the kernel's temporaries replaced by their definitions (over
    the inputs alone; cost48's double-word block with the table's e^x)."""

    def __init__(self, printer, definitions: dict):
        self.printer, self.definitions = printer, definitions

    def doprint(self, e, *args, **kwargs):
        return self.printer.doprint(_defined(sp.sympify(e), self.definitions), *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.printer, name)


def _defined(e, definitions: dict):
    """``e`` with every temporary of ``definitions`` replaced by its expression, to the inputs."""
    for _ in range(len(definitions) + 1):
        new = e.xreplace(definitions)
        if new == e:
            return e
        e = new
    return e


def _definer(definitions: dict):
    """:func:`_defined` for one kernel, each temporary's expression over the inputs built once and kept: a function of
    ``e``. (The fixpoint of xreplace builds the whole tree again each pass, and each term again: the temporaries of
    16 logits' cross-entropy written out are SymPy Max and Piecewise nodes, whose construction compares their
    arguments; 58 of its 150 CPU s to compile, session 48, where this was taken for a kernel of 8 outputs at most.)"""
    full: dict = {}

    def resolve(temp):
        stack = [temp]
        while stack:  # (depth first without recursion: a chain of temporaries may be long)
            top = stack[-1]
            if top in full:
                stack.pop()
                continue
            inner = [s for s in definitions[top].free_symbols if s in definitions and s not in full]
            if inner:
                stack += inner
                continue
            expr = definitions[top]
            full[top] = expr.xreplace({s: full[s] for s in expr.free_symbols if s in definitions})
            stack.pop()
        return full[temp]

    def defined(e):
        return e.xreplace({s: resolve(s) for s in e.free_symbols if s in definitions})

    return defined


def _pair_log_terms(assignments, results):
    """[the pair logs L that are ± terms of each result] where every log and log1p of the kernel is such a term of a
    result (the result, or a widened result's body, a sum c ± L with c a sum of products of inputs, maxima and
    minima: no function, so the table's E reaches the output through L alone; no temporary takes a log):
    :func:`_near_cancellation`'s outputs. None for any other kernel (a log of a product, a log-sum-exp with a weight
    below 1 or a computed exponent, a/T). Since cost48 also a log1p of the log-sum-exp rule's select of sums of terms
    ≥ 0 (:func:`_nonnegative_sum_log`, its temporaries as defined): c then as defined, a select of sums allowed."""
    if any(_takes_a_log(e) for _, e in assignments):
        return None
    defined = _definer(dict(assignments))  # (each temporary written out once, for any number of outputs: cost49)
    seen: dict = {}

    def table_log(t):  # (cost48: a log1p whose select's pieces are temporaries, log(e^a + e^b + 1) − a: as defined)
        if t not in seen:
            seen[t] = bool(_pair_log(t) or _nonnegative_sum_log(defined(t)))
        return seen[t]

    out = []
    for r in results:
        body = r.expanded if hasattr(r, "expanded") and hasattr(r, "leaves") else r
        terms = sp.Add.make_args(body)
        logs = [t if table_log(t) else -t for t in terms if table_log(t) or table_log(-t)]
        rest = [t for t in terms if not (table_log(t) or table_log(-t))]
        if logs and any(not _pair_log(L) for L in logs):  # (cost48) the rest as defined too, and the cross-entropy's
            # max(0, −a, {0 if a = b; b − a}) (the gaps of a max) a select of sums
            rest = [defined(t) for t in rest]
            if not all(isinstance(n, (sp.Symbol, sp.Number, sp.Max, sp.Min, sp.Add, sp.Mul, sp.Piecewise,
                                      ExprCondPair, Relational, BooleanAtom))
                       for t in rest for n in sp.preorder_traversal(t)):
                return None
        elif logs and not all(isinstance(n, (sp.Symbol, sp.Number, sp.Max, sp.Min, sp.Add, sp.Mul))
                              for t in rest for n in sp.preorder_traversal(t)):
            return None  # c takes a function (the table's E inside it, or a log): not this tier's proof
        if any(_takes_a_log(t) for t in rest):
            return None
        out.append(logs)
    return out


def _near_cancellation(emitter, results, pair_logs, his, leaves, assignments, plain_printer, taken):
    """The statements after ``emitter``'s (the block with the table's e^x) that compute the block again with _dw_exp on
    the elements where an output r = c ± L of :func:`_pair_log_terms` is below ΣL/8 + 2⁻¹⁰⁰⁰ (its log may cancel:
    the comment above), gathered, and write those outputs there: (the statements, the outputs' names, the primitives
    they call); None where the block reads a name besides its inputs (a float64 temporary of the kernel)."""
    code = [line for line in emitter.lines if not line.lstrip().startswith("#")]
    written = {w for line in code for w in re.findall(r"\w+", line.split(" = ")[0])}
    read = {w for line in code for w in re.findall(r"[A-Za-z_]\w*", line)}
    if {w for w in read & set(taken) if not w.startswith("_")} - set(leaves.values()) - written - {"np"}:
        return None
    names = set(emitter.taken) | set(taken)

    def fresh(word):
        name, k = word, 1
        while name in names:
            k += 1
            name = f"{word}_{k}"
        names.add(name)
        return name

    near = fresh("near")
    tests = []
    for r, logs in zip(results, pair_logs):
        if logs:
            total = " + ".join(emitter.value(L).hi for L in logs)
            tests.append(f"(np.abs({emitter.value(r).hi}) < 0.125 * ({total}) + 9.332636185032189e-302)")
    if not tests:
        return [], his, set()
    gathered = {s: fresh(f"{n}_near") for s, n in leaves.items()}
    # (a select's condition, printed in float64 by the plain printer, over the gathered names too: cost48's
    # log-sum-exp pieces, x_k = 0)
    inner = plain_printer.printer if isinstance(plain_printer, _DefinedPrinter) else plain_printer
    plain = copy.copy(inner)
    plain.names = {**getattr(inner, "names", {}), **gathered}
    if isinstance(plain_printer, _DefinedPrinter):
        plain = _DefinedPrinter(plain, plain_printer.definitions)
    again = _Emitter("numpy", plain, dict(gathered), dict(gathered), names)
    again.nonfinite_arguments = False
    again.definitions = dict(assignments)
    for temp, expr in assignments:
        again.values[temp] = again.value(expr)
    again_his = [again.value(r).hi for r in results]
    again_lines, again_his = _shared_statements(again.lines, again_his)
    outs = [fresh(f"{h.removesuffix('_hi')}_out") for h in his]
    lines = ["# where an output c ± log1p(E) may cancel (|r| < ΣL/8 + 2⁻¹⁰⁰⁰; logaddexp's max(a, b) near (−0.8, 0)): the",
             "# block again there alone with the full double-word e^x (the table's 2⁻⁶⁶ is 2⁻⁶³ of r elsewhere; cost43)",
             f"{near} = " + " | ".join(tests)]
    lines += [f"{o} = {h}" for o, h in zip(outs, his)]
    lines += [f"if {near}.any():"]
    lines += [f"    {g} = np.broadcast_to({leaves[s]}, {near}.shape)[{near}]" for s, g in gathered.items()]
    lines += ["    " + line for line in again_lines]
    for o, h in zip(outs, again_his):
        lines += [f"    {o} = np.array(np.broadcast_to({o}, {near}.shape), np.float64)",
                  f"    {o}[{near}] = {h}"]
    return lines, outs, again.needs


# ------------------------------------------------------------------ wgan44 (issue 16, session 44, h-wgan44: the
# root-minus-constant rule's float32 kernel took double words on every element of its window, 13× the kernel without
# the rule; tested in tests/test_wgan44.py)
def _algebraic_quotient(body) -> bool:
    """Whether ``body`` is a product or power (not a sum) built of its leaves, numbers, sums, products and powers of
    rational exponent alone, with a sum that holds a number (the root-minus-constant rule's (a²S − b²)/(a√S − b) and
    its products with inputs and powers of S; not focal's products of σ and softplus): its float32 kernel is then
    bounded (:func:`_bounded_body`), the float64 body kept where the bound is within 2⁻³⁰ of it, double words on the
    other elements. The bound's nodes are sums, products, quotients and square roots, a few operations each, where the
    double word of such a body is some 150 on every element of the window."""
    if body.is_Add or not body.has(sp.Add):
        return False
    for node in sp.preorder_traversal(body):
        if node.is_Symbol or node.is_Rational or node.is_Add or node.is_Mul:
            continue
        if node.is_Pow and node.exp.is_Rational:
            continue
        if node.is_Float:
            continue
        return False
    return any(node.is_Add and any(t.is_number for t in node.args) for node in sp.preorder_traversal(body))


def _computed_partial(self, partial):
    """The double word of the partial sum ``partial`` where this emitter's loop over a sum's terms computed that partial
    before (gx² + gy² of √(gx² + gy²), of gx² + gy² − 1 and of gx² + gy² + √(gx² + gy²) in the root-minus-constant
    rule's gradient: three _dw_add of the same words); None elsewhere. NumPy's plain emitter alone: Triton's compiler
    shares equal expressions itself, and the bound's and the scaled words' values are their own. The same operations
    on the same words: the same bits."""
    if self.backend != "numpy" or type(self) is not _Emitter:
        return None
    return getattr(self, "_partials", {}).get(partial)


def _remember_partial(self, partial, value) -> None:
    """``value``, the double word the loop over a sum's terms computed for the partial sum ``partial``, kept for
    :func:`_computed_partial`."""
    if self.backend == "numpy" and type(self) is _Emitter:
        if not hasattr(self, "_partials"):
            self._partials = {}
        self._partials.setdefault(partial, value)


_Emitter._computed_partial = _computed_partial
_Emitter._remember_partial = _remember_partial


# ------------------------------------------------------------------ trig46 (issue 16, session 46, h-trig46: a cheap
# front for the widened sums of sines and cosines of one input times its powers, cos x − x·sin x); tested in
# tests/test_trig46.py

_TRIG_TERMS_MOST = 4  # the terms a trig front takes (cos x − x·sin x has 2; 2x·sin x + x²·cos x, x²·sin x′, 2)


def _trig_front_terms(body, leaves) -> list | None:
    """The terms of a widened ``body`` that is a sum of c·x^k·T(x), T sine or cosine of the one input x itself,
    c ± a power of two in [1, 2²⁰] (exact scaling, no lo part pushed below the normal range), k in 0, 1, 2, as (c, k, T's name) in the order of ``body.args``;
    None where it is another (sin(2x), 3x·cos x, x³·sin x, a second input, five terms or more: the widened function
    alone, as before). x·cos x′ = cos x − x·sin x: [(1, 0, "cos"), (−1, 1, "sin")]. Since session 47 (h-trig47) the
    body expanded ((1 + x)·cos x + sin x as cos x + x·cos x + sin x) and one constant term that float64 holds exactly,
    as (c, 0, None): sin x + x·sin x − 3 (the widen rule's trig sums beside a constant)."""
    if len(leaves) != 1:
        return None
    body = sp.expand(body)
    if not body.is_Add or not 2 <= len(body.args) <= _TRIG_TERMS_MOST:
        return None
    x = leaves[0]
    terms = []
    for term in body.args:
        if term.is_Number:  # a constant: exact in float64, one at most
            if not term.is_Rational or sp.Rational(float(term)) != term or any(t is None for _, _, t in terms):
                return None
            terms.append((term, 0, None))
            continue
        c, m = term.as_coeff_Mul()
        trig = [f for f in sp.Mul.make_args(m) if f.func in (sp.sin, sp.cos)]
        rest = sp.Mul(*[f for f in sp.Mul.make_args(m) if f.func not in (sp.sin, sp.cos)])
        if len(trig) != 1 or trig[0].args[0] != x or not c.is_Rational or c == 0 \
                or not (abs(c).p & (abs(c).p - 1) == 0 and abs(c).q & (abs(c).q - 1) == 0) \
                or not 1 <= abs(c) <= 2 ** 20:
            return None
        k = 0 if rest == 1 else 1 if rest == x else 2 if rest == x ** 2 else None
        if k is None:
            return None
        terms.append((c, k, trig[0].func.__name__))
    return terms


# The pieces of the cheap fronts of widened sums of sines and cosines (trig46's _trig_sum_front, costb48's
# _root_trig_sum_front; cost49 took them out of the two): the function's head, libm's sines and cosines, the sum
# compensated (Sum2) with its bound and the elements it leaves, the double-word sines and the double words' sum. What
# differs between the fronts' Sum2 pieces is in _FRONT_BOUND_TEXT.

_ULP_OF = ("(np.bitwise_and(np.abs({0}).view(np.int64), 0x7FF0000000000000).view(np.float64)*2.220446049250313e-16"
           " + 5e-324)")  # ulp(|v|) of a normal v (2⁻⁵² of its binade), the least subnormal added: printed for {0}

# family: (the bound's comment after "libm's ulps", libm's sum's factor, the comment on a term's lo part)
_FRONT_BOUND_TEXT = {
    "trig": ("", "", "its TwoProduct's lo part underflows"),
    "root_trig": (" (root_hi for √'s: its lo part adds u·ulp)", "1.000001*", "its lo part underflows"),
}


def _sign_scale(k) -> tuple[str, str]:
    """A term's constant ±2^j as printed: ("-" or "", "" or "2.0*")."""
    return "-" if k < 0 else "", "" if abs(k) == 1 else f"{float(abs(k))!r}*"


def _front_head(front: str, inner: str, leaves: list, args: str, doc: str, plain: str) -> list[str]:
    """A front's first lines: its signature over ``args``, its ``doc``, each of ``leaves`` in float64, the plain body
    ``plain`` where ``double_word`` is false and ``inner`` in a float32 kernel."""
    return ([f"def {front}({args}, double_word, needed=True, within={KEEP_RELATIVE / _SAFETY!r}):", f"    {doc}",
             '    with np.errstate(all="ignore"):  # inf and NaN: not kept (their bound is not finite)']
            + [f"        {x} = np.asarray({x}, np.float64)" for x in leaves]
            + ["        if not double_word:", f"            return {plain}",
               f"        if within > {2.0 ** -40!r}:  # a float32 kernel's 2⁻³⁰: the widened function's float64 body",
               f"            return {inner}({args}, True, needed, within=within)"])


def _front_libm(kinds: list, x: str) -> list[str]:
    """libm's sine and cosine of ``x`` (``kinds``: "cos", "sin"), as <kind>_<x>."""
    return [line for t in kinds for line in (f"        # {t}_{x} = {t}({x}), within {_LIBM_ULPS[t]} ulp",
                                              f"        {t}_{x} = np.{t}({x})")]


def _front_sum2(family: str, his: list, los: list, libm: list, sizes: list, lo_terms: list, second: float) -> list[str]:
    """The terms' sum compensated (Sum2: ``his`` by TwoSum, their roundings and ``los`` apart), its bound (``libm``'s
    ulps, half an ulp of the value, ``second``·Σ ``sizes``), redo where it is past ``within`` of the value, the value
    or one of ``lo_terms`` is below 2⁻⁹⁶⁸; the value returned where nothing is redone, else ``result`` begun."""
    note, factor, lo_note = _FRONT_BOUND_TEXT[family]
    errors = list(los) + [f"total_err_{j}" for j in range(1, len(his))]
    return (["        # the sum compensated (Sum2): the his by TwoSum, their roundings and the lo parts apart",
             f"        total = {his[0]}"]
            + [f"        total, total_err_{j} = _dw_two_sum(total, {hi})" for j, hi in enumerate(his[1:], 1)]
            + [f"        value = total + ({' + '.join(errors)})",
               "        abs_value = np.abs(value)",
               f"        # its bound: libm's ulps{note}, half an ulp of the value, the second-order terms "
               f"({second / _U / _U:.4g}u²·Σ|t_hi|)",
               f"        bound = {factor}({' + '.join(libm)}) + 0.5*{_ULP_OF.format('value')} + {second!r}*("
               + " + ".join(sizes) + ")",
               "        redo = ~(bound <= within*abs_value)  # cancels (a NaN bound: redone)",
               f"        redo |= ~(abs_value >= {SCALED_TINY!r})  # below 2⁻⁹⁶⁸ (0 too): the scaled words'"]
            + [f"        redo |= ~(np.abs({p}) >= {SCALED_TINY!r})  # {lo_note}" for p in lo_terms]
            + ["        if needed is not True:  # where the select takes the sum",
               "            redo = redo & needed",
               "        if not redo.any():",
               "            return value",
               "        result = np.array(np.broadcast_to(value, redo.shape), np.float64)"])


def _front_sines(kinds: list, x: str) -> list[str]:
    """The double-word sine and cosine of the gathered ``x``_dw (``count`` elements), as <kind>_<x>_hi, _lo: both in one
    call of _dw_sin_shifted (q = 1 and 0 side by side)."""
    if len(kinds) == 2:
        return [f"            # cos({x}) and sin({x}) as double words: sin({x} + q·π/2), q = 1 and 0, in one call",
                f"            both_hi, both_lo = _dw_sin_shifted(np.concatenate([{x}_dw, {x}_dw]), 0.0, "
                "np.repeat([1.0, 0.0], count))",
                f"            cos_{x}_hi, cos_{x}_lo = both_hi[:count], both_lo[:count]",
                f"            sin_{x}_hi, sin_{x}_lo = both_hi[count:], both_lo[count:]"]
    return [f"            # {kinds[0]}({x}) as a double word",
            f"            {kinds[0]}_{x}_hi, {kinds[0]}_{x}_lo = _dw_sin_shifted({x}_dw, 0.0, "
            f"{1.0 if kinds[0] == 'cos' else 0.0!r})"]


def _front_word_sum(words: list) -> list[str]:
    """sum_hi, sum_lo: the double words ``words`` ((hi, lo) as printed) summed (_dw_add)."""
    return [f"            sum_hi, sum_lo = {words[0][0]}, {words[0][1]}"] + [
        f"            sum_hi, sum_lo = _dw_add(sum_hi, sum_lo, {hi}, {lo})" for hi, lo in words[1:]]


def _trig_sum_front(front: str, inner: str, leaf: str, terms: list, plain: str, formula: str) -> list[str]:
    """The NumPy function ``front`` of a widened sum of sines and cosines of one input x times its powers
    (:func:`_trig_front_terms`; the widen rule's trig sums, h-user45), in a float64 kernel: libm's sine and cosine
    (each within _LIBM_ULPS ulp of its value), each term c·x^k·T exactly as a double word t_hi + t_lo (TwoProduct;
    x²·T as (x²)_hi·T by TwoProduct and (x²)_lo·T rounded into the lo part), and the sum compensated (Ogita, Rump &
    Oishi's Sum2: the his by TwoSum, the TwoSums' roundings and the lo parts summed apart, the total rounded once).
    Its bound, from these (u = 2⁻⁵³, n terms, m error parts: n − 1 TwoSums' and one lo part a term with k ≥ 1):

    * libm: Σ|c|·|x|^k·ulp(T) (the exact sum of the exact terms at the rounded T is within it of the true sum);
    * the sum's final rounding: ½ ulp of the value (round to nearest; the ulp from the value's exponent bits);
    * the error parts' sum: each TwoSum's rounding within u·|partial| ≤ u·(1 + u)ⁿ·Σ|t_hi| and each lo part within
      u·|t_hi|, so together within n·u·(1 + 2nu)·Σ|t_hi|, summed with m − 1 roundings (γ_{m−1}): (m − 1)·n·u²·Σ|t_hi|
      and a little;
    * x²·T's lo part: (x²)_lo·T (|(x²)_lo| ≤ u·x²) rounded and added to the TwoProduct's lo (≤ u·|t_hi|) with one
      rounding more: within 3u²·|t_hi| and a little, counted 4u²;

    so ½ulp(value) + Σ|c|·|x|^k·ulp(T) + ((m − 1)·n + 4)·1.01·u²·Σ|t_hi|, kept where it is within ``within`` (3u: the
    widened function's test) of the value, as the widened function keeps its float64 body. The plain body's bound
    adds a rounding of each product and each partial sum (u·|x·sin x| + u·|value|), past 3u on 85% of x·cos x′'s
    elements in [−30, 30], where this one is on 12% (benchmarks/trig46_cost.py). On those (the sum cancels) the
    double words of ``inner``, the widened function (_dw_sin_shifted, _dw_mul_fp, _dw_add), here, gathered, the sine
    and the cosine in one call; where |x| > 2²¹ (the double-word sine's range), a value or a product term is below
    2⁻⁹⁶⁸ (TwoProduct's lo part underflows there; the double word's value too: the scaled words) or not finite, and
    where a term is x²·T, ``inner`` itself, gathered. A float32 kernel: ``inner`` (its float64 body is within 2⁻³⁰
    nearly everywhere)."""
    n = len(terms)
    m = (n - 1) + sum(1 for _, k, _ in terms if k >= 1)
    second = ((m - 1) * n + 4) * 1.01 * _U * _U
    ulp = _ULP_OF
    doc = (f'"""{formula}, rounded once (a sum of sines and cosines of {leaf} times its powers): in a float64 kernel\n'
           f'    libm\'s sines and cosines, each term exactly (TwoProduct) and the sum compensated (Sum2), kept where its\n'
           f'    bound (doubleword._trig_sum_front) is within ``within`` of it; on the others (the sum cancels), gathered,\n'
           + (f'    {inner} itself.\n' if any(k == 2 for _, k, _ in terms) else
              f'    the double words of {inner}, or that function itself (past 2²¹, below 2⁻⁹⁶⁸, not finite).\n')
           + f'    In a float32 kernel {inner}."""')
    lines = _front_head(front, inner, [leaf], leaf, doc, plain)
    his, los, libm, products, sizes = [], [], [], [], []
    lines += _front_libm(sorted({t for _, _, t in terms if t is not None}), leaf)  # sin(x), cos(x): libm's
    if any(k >= 1 for _, k, _ in terms):
        lines += [f"        abs_{leaf} = np.abs({leaf})"]
    if any(k == 2 for _, k, _ in terms):
        lines += [f"        # {leaf}_squared = {leaf}², exactly as hi + lo",
                  f"        {leaf}_squared_hi, {leaf}_squared_lo = _dw_two_prod({leaf}, {leaf})"]
    for c, k, t in terms:
        if t is None:  # a constant, exact: no libm error, no lo part
            his.append(repr(float(c)))
            sizes.append(repr(abs(float(c))))
            continue
        trig = f"{t}_{leaf}"
        sign, scale = _sign_scale(c)
        own = f"{_LIBM_ULPS[t]}*" if _LIBM_ULPS[t] != 1 else ""
        power = ["", f"abs_{leaf}*", f"abs_{leaf}*abs_{leaf}*"][k]
        libm.append(f"{scale}{own}{power}{ulp.format(trig)}")
        if k == 0:
            his.append(f"{sign}{scale}{trig}")
            sizes.append(f"{scale}np.abs({trig})")
            continue
        term = f"{leaf}_times_{trig}" if k == 1 else f"{leaf}_squared_times_{trig}"
        math = f"{leaf}·{t}({leaf})" if k == 1 else f"{leaf}²·{t}({leaf})"
        if k == 1:
            lines += [f"        # {term} = {math}, exactly as hi + lo (TwoProduct)",
                      f"        {term}_hi, {term}_lo = _dw_two_prod({leaf}, {trig})"]
        else:
            lines += [f"        # {term} = {math}: (x²)_hi·{t} exactly, (x²)_lo·{t} rounded into its lo part",
                      f"        {term}_hi, {term}_lo = _dw_two_prod({leaf}_squared_hi, {trig})",
                      f"        {term}_lo = {term}_lo + {leaf}_squared_lo*{trig}"]
        his.append(f"{sign}{scale}{term}_hi")
        los.append(f"{sign}{scale}{term}_lo")
        products.append(f"{term}_hi")
        sizes.append(f"{scale}np.abs({term}_hi)")
    lines += _front_sum2("trig", his, los, libm, sizes, products, second)
    kinds = sorted({t for _, _, t in terms if t is not None})
    if any(k == 2 for _, k, _ in terms):  # (x²·T: the widened function's own double words)
        return lines + [f"        result[redo] = {inner}(np.broadcast_to({leaf}, redo.shape)[redo], True, None, "
                        "within=within)", "        return result"]
    # the double words here, where the widened function would take them (|x| ≤ 2²¹, the terms and the value finite
    # and past 2⁻⁹⁶⁸): the same double words (doubleword._dw_sin_shifted, _dw_mul_fp, _dw_add) as its own, with the
    # sine and the cosine in one call of _dw_sin_shifted (q = 0 and 1 side by side: half its operations' overhead
    # on the few elements a block sends there); elsewhere the widened function (its scaled words, its float64 value)
    lines += [f"        {leaf}_all = np.broadcast_to({leaf}, redo.shape)",
              f"        here = redo & (np.abs({leaf}_all) <= {_CONSTANTS['SIN_LIMIT']!r}) & (np.abs(value) >= "
              f"{SCALED_TINY!r})"]
    lines += [f"        here &= np.abs({p}) >= {SCALED_TINY!r}" for p in products]
    lines += ["        if here.any():",
              f"            {leaf}_dw = {leaf}_all[here]",
              f"            count = {leaf}_dw.size"]
    lines += _front_sines(kinds, leaf)
    words = []
    for c, k, t in sorted(terms, key=lambda term: term[2] is None):  # (a constant last: an array first)
        sign, scale = _sign_scale(c)
        if t is None:
            words.append((repr(float(c)), "0.0"))
            continue
        if k == 0:
            words.append((f"{sign}{scale}{t}_{leaf}_hi", f"{sign}{scale}{t}_{leaf}_lo"))
            continue
        term = f"{leaf}_times_{t}_{leaf}"
        lines += [f"            # {term} = {leaf}·{t}({leaf}) as a double word",
                  f"            {term}_dw_hi, {term}_dw_lo = _dw_mul_fp({t}_{leaf}_hi, {t}_{leaf}_lo, {leaf}_dw)"]
        words.append((f"{sign}{scale}{term}_dw_hi", f"{sign}{scale}{term}_dw_lo"))
    lines += _front_word_sum(words)
    lines += [f"            result[here] = np.where(np.abs(sum_hi) >= {SCALED_TINY!r}, sum_hi, np.nan)",
              f"            redo &= ~here | ~(np.abs(result) >= {SCALED_TINY!r})  # (below 2⁻⁹⁶⁸ after all: the "
              "scaled words')",
              "        if redo.any():",
              f"            result[redo] = {inner}({leaf}_all[redo], True, None, within=within)",
              "        return result"]
    return lines


# ------------------------------------------------------------------ cost45 (issue 16, session 45, h-cost45: a float32
# kernel's algebraic quotient (squareplus′'s 4/(√S·(√S − x))) carried the running bound's absolute errors through every
# node since h-wgan44, 1.7× the float32 kernel before it; a test of each sum's cancellation instead); tested in
# tests/test_cost45.py

_CANCEL_MOST = 22  # the largest K tried: a sum kept where Σ|t_i| ≤ 2^K·|s|


class _CancellationBound(_Bound):
    """:class:`_Bound` with every sum's bound relative: a sum s = Σ t_i whose terms are each within ρ_i·u of their
    own values is within (max ρ_i + n − 1)·u·Σ|t_i| of its exact value (each of the n − 1 partial sums rounded at
    most u·Σ|t_i|, first order), so where Σ|t_i| ≤ 2^K·|s| (``checks``: a few operations) within
    2·2^K·(max ρ_i + n − 1)·u·|s| (the 2 covering the terms' own errors in the measured Σ|t_i| and |s| and the
    second-order terms, far below it for 2^K·ρ·u ≤ 2⁻³⁰); a sum whose terms are all ≥ 0 or all ≤ 0 (even powers,
    square roots, positive numbers) needs no check (Σ|t_i| = |s|), nor a sum of two exact values (inputs, numbers
    float64 holds: p − t, 1 − p), rounded once, within u·|s| however far they cancel. Products, quotients and roots
    keep _Bound's relative rules: the whole body's bound is then a number known when the code is generated, ρ·u, and
    the kept elements are those where every check holds. A sum with a term of an absolute bound (np.power's) is bounded as
    _Bound bounds it."""

    def __init__(self, plain, leaves: dict, taken: set, most: int):
        super().__init__(plain, leaves, taken, "numpy")
        self.most = most
        self.checks: list[str] = []

    @staticmethod
    def _signed(t) -> int:
        """1 where ``t`` is never negative, −1 where never positive, 0 where either may hold."""
        coeff, rest = t.as_coeff_Mul()
        if rest.is_number:
            return 1 if coeff > 0 else -1 if coeff < 0 else 1
        sign = 1 if coeff > 0 else -1
        factors = sp.Mul.make_args(rest)
        if all(f.is_Pow and (f.exp.is_even or f.exp in (sp.S.Half, -sp.S.Half)) for f in factors):
            return sign
        return 0

    def _bound_sum(self, e):
        # a term −t is printed as "− t" after the first: a positive term (a number too: 1 − p as 1.0 − p) first
        # where the sum has one, else −t₀'s own value first (−x − y: −x, exact). (cost46: h-cost45's loop began
        # with t₀'s |value| whatever its sign, so 1 − p was p + 1.0: six float32 tests failed, 1.3e7 ULP of BCE's ∂p)
        def negative(t):
            return t.could_extract_minus_sign()

        terms = sorted(e.args, key=lambda t: (negative(t), t.is_number, sp.default_sort_key(t)))
        parts = [self.value(-t if negative(t) else t) for t in terms]
        if any(err is not None for _, err, _ in parts):
            return super()._bound_sum(e)
        acc, partial = (self.value(terms[0]) if negative(terms[0]) else parts[0])[0], terms[0]
        for term, (b, _, _) in zip(terms[1:], parts[1:]):
            partial = partial + term
            name = self._name(partial)
            self.lines.append(self._comment(name, partial))
            self.lines.append(f"{name} = {acc} {'-' if negative(term) else '+'} {b}")
            self.known[partial] = sp.Symbol(name)
            acc = name
        rho = max(r for _, _, r in parts) + len(terms) - 1
        if len(terms) == 2 and rho == 1:  # (cost46) two exact values (inputs, p − t, 1 − p) rounded once: u·|s|
            return acc, None, 1.0          # whatever they cancel, as _Bound has it; no check
        signs = {self._signed(t) for t in terms}
        if len(signs) == 1 and 0 not in signs:  # no cancellation: Σ|t_i| = |s|
            return acc, None, rho
        total = " + ".join(self._abs(v) for v, _, _ in parts)
        self.checks.append(f"({total} <= {2.0 ** self.most!r}*{self._abs(acc)})")
        return acc, None, 2 * 2.0 ** self.most * rho


def _cancellation_body(body, plain_printer, leaves: dict, taken: set, least: float):
    """_bounded_body's tuple for a float32 kernel's algebraic quotient (:func:`_algebraic_quotient`) by
    :class:`_CancellationBound`: the largest K ≤ _CANCEL_MOST whose whole relative bound ρ·u is within 2⁻³⁰ (the
    keep line also asks ρ·u ≤ ``within``, so a float64 kernel's 3u keeps nothing by it), each sum's check
    Σ|t_i| ≤ 2^K·|s| in the keep mask; None where no K is (or a node has no bound: _Bound's then)."""
    for most in range(_CANCEL_MOST, 0, -1):
        bound = _CancellationBound(plain_printer, leaves, set(taken), most)
        try:
            value, error, rho = bound.value(body)
        except _Unbounded:
            return None
        if error is not None or value in leaves.values() or not value.isidentifier():
            return None
        relative = rho * _U * _SAFETY
        if relative > FLOAT32_KEEP:
            continue
        size = bound._abs(value)
        checks = " & ".join(bound.checks + [f"({size} < np.inf)"])
        said = f"every sum's terms within 2^{most} of it" if bound.checks else "no sum cancels past its rounding"
        keep = f"keep = {checks} & ({relative!r} <= within)  # {said}: within {relative!r} (doubleword._CancellationBound)"
        taken |= bound.taken
        return bound.lines + [keep], value, None, size, least
    return None


FLOAT32_KEEP = 2.0 ** -30  # a float32 kernel's ``within``


# ------------------------------------------------------------------ costb48 (issue 16, session 48, h-costb48: a cheap
# front for the widened sums of an input and √(1 − c²) times sines and cosines of a second input, the ArcFace margin
# logit's c·cos m − √(1 − c²)·sin m and its ∂m, c·sin m + √(1 − c²)·cos m); tested in tests/test_costb48.py


def _root_trig_front_terms(body, leaves) -> tuple | None:
    """(c, m, terms) of a widened ``body`` that is a sum of two or three terms k·F·T(m), k ± a power of two in
    [1, 2²⁰], T sine or cosine of the input m itself, F the other input c, √(1 − c²) (written so, or as
    √((1 − c)(1 + c)): one radicand, expanded), c/√(1 − c²) or 1, terms as (k, "c", "root", "quotient" or "one",
    T's name) in the order of ``body.args``, one "root" or "quotient" at least; None where it is another (a third
    input, sin 2m, c²·cos m: the widened function alone, as before)."""
    if len(leaves) != 2 or not body.is_Add or not 2 <= len(body.args) <= 3:
        return None
    for c, m in (leaves, leaves[::-1]):
        terms = []
        for term in body.args:
            k, rest = term.as_coeff_Mul()
            factors = sp.Mul.make_args(rest)
            trig = [f for f in factors if f.func in (sp.sin, sp.cos)]
            other = [f for f in factors if f.func not in (sp.sin, sp.cos)]
            if len(trig) != 1 or trig[0].args[0] != m or len(other) > 2 or not k.is_Rational or k == 0 \
                    or not (abs(k).p & (abs(k).p - 1) == 0 and abs(k).q & (abs(k).q - 1) == 0) \
                    or not 1 <= abs(k) <= 2 ** 20:
                break
            roots = [f.exp for f in other if f.is_Pow and abs(f.exp) == sp.S.Half
                     and sp.expand(f.base - (1 - c ** 2)) == 0]
            if not other:
                kind = "one"
            elif other == [c]:
                kind = "c"
            elif len(other) == 1 and roots == [sp.S.Half]:
                kind = "root"
            elif len(other) == 2 and c in other and roots == [-sp.S.Half]:
                kind = "quotient"
            else:
                break
            terms.append((k, kind, trig[0].func.__name__))
        else:
            if any(kind in ("root", "quotient") for _, kind, _ in terms):
                return c, m, terms
    return None


def _root_trig_sum_front(front: str, inner: str, leaf_names: list, names: tuple, terms: list, plain: str,
                         formula: str) -> list[str]:
    """The NumPy function ``front`` of a widened sum of terms k·F·T(m), F = c or √(1 − c²) (:func:`_root_trig_front_terms`;
    ArcFace's c·cos m − √(1 − c²)·sin m), in a float64 kernel: libm's sine and cosine (each within _LIBM_ULPS ulp of
    its value), 1 − c² as a double word (TwoProduct, DWPlusFP: within 2u² of it), √ of it by _dw_sqrt (one Newton
    step: within about 3u² more), each term a double word (TwoProduct c·T; DWTimesFP √·T: 2u² more) and the sum
    compensated (Sum2, as _trig_sum_front). Its bound (u = 2⁻⁵³, n terms, their n lo parts and n − 1 TwoSums' errors):

    * libm: Σ|k|·|F|·ulp(T) (the exact sum of the exact terms at the rounded T is within it of the true sum);
    * the root terms' double words: within 8u²·|t_hi| each (2u² + 3u² + 2u², and a little); c/√(1 − c²)·T's
      (DWDivDW2's 15u² more) within 24u²·|t_hi|, counted so for every term;
    * the sum's final rounding: ½ ulp of the value; the error parts' sum ((2n − 2)·n + 4)·1.01·u²·Σ|t_hi| as there;

    kept where it is within ``within`` (3u) of the value. Where the sum does not cancel this bound is within 3u
    (libm's Σ|F|·ulp(T) ≤ 2u·Σ|t|, the rounding u·|value|), where the plain body's bound (its rounded products, the
    rounded √ and 1 − c²) never is: the widened function took its double-word sine and cosine on every element. On
    the others (the sum cancels: c = −cos m), and where a term or the value is below 2⁻⁹⁶⁸ or not finite, ``inner``
    itself (its double and triple words), gathered. A float32 kernel: ``inner``."""
    c, m = names
    n = len(terms)
    second = (((2 * n - 1) - 1) * n + 4 + 24) * 1.01 * _U * _U
    ulp = _ULP_OF
    doc = (f'"""{formula}, rounded once (a sum of {c} and √(1 − {c}²) times sines and cosines of {m}): in a float64\n'
           f'    kernel libm\'s sines and cosines, the root and each term as double words and the sum compensated (Sum2),\n'
           f'    kept where its bound (doubleword._root_trig_sum_front) is within ``within`` of it; on the others (the sum\n'
           f'    cancels), gathered, {inner} itself. In a float32 kernel {inner}."""')
    lines = _front_head(front, inner, [c, m], ", ".join(leaf_names), doc, plain)
    lines += _front_libm(sorted({t for _, _, t in terms}), m)
    if any(kind in ("root", "quotient") for _, kind, _ in terms):
        lines += [f"        # root = √(1 − {c}²) as a double word: {c}² exactly, 1 − it (DWPlusFP), one Newton step",
                  f"        sq_hi, sq_lo = _dw_two_prod({c}, {c})",
                  "        radicand_hi, radicand_lo = _dw_add_fp(-sq_hi, -sq_lo, 1.0)",
                  "        root_hi, root_lo = _dw_sqrt(radicand_hi, radicand_lo)"]
    his, los, libm, sizes = [], [], [], []
    for j, (k, kind, t) in enumerate(terms):
        trig = f"{t}_{m}"
        sign, scale = _sign_scale(k)
        own = f"{_LIBM_ULPS[t]}*" if _LIBM_ULPS[t] != 1 else ""
        term = f"term_{j}"
        if kind == "one":
            his.append(f"{sign}{scale}{trig}")
            libm.append(f"{scale}{own}{ulp.format(trig)}")
            sizes.append(f"{scale}np.abs({trig})")
            continue
        if kind == "quotient":
            lines += [f"        # {term} = {c}/√(1 − {c}²)·{t}({m}) as hi + lo (DWDivDW2, DWTimesFP)",
                      f"        {term}_q_hi, {term}_q_lo = _dw_div({c}, 0.0, root_hi, root_lo)",
                      f"        {term}_hi, {term}_lo = _dw_mul_fp({term}_q_hi, {term}_q_lo, {trig})"]
            libm.append(f"{scale}{own}np.abs({term}_q_hi)*{ulp.format(trig)}")
        elif kind == "c":
            lines += [f"        # {term} = {c}·{t}({m}), exactly as hi + lo (TwoProduct)",
                      f"        {term}_hi, {term}_lo = _dw_two_prod({c}, {trig})"]
            libm.append(f"{scale}{own}np.abs({c})*{ulp.format(trig)}")
        else:
            lines += [f"        # {term} = √(1 − {c}²)·{t}({m}) as hi + lo (DWTimesFP)",
                      f"        {term}_hi, {term}_lo = _dw_mul_fp(root_hi, root_lo, {trig})"]
            libm.append(f"{scale}{own}np.abs(root_hi)*{ulp.format(trig)}")
        his.append(f"{sign}{scale}{term}_hi")
        los.append(f"{sign}{scale}{term}_lo")
        sizes.append(f"{scale}np.abs({term}_hi)")
    lines += _front_sum2("root_trig", his, los, libm, sizes,
                         [f"term_{j}_hi" for j, (_, kind, _) in enumerate(terms) if kind != "one"], second)
    lines += [f"        {c}_all, {m}_all = np.broadcast_to({c}, redo.shape), np.broadcast_to({m}, redo.shape)",
              f"        here = redo & (np.abs({m}_all) <= {_CONSTANTS['SIN_LIMIT']!r})  # the double-word sine's range",
              "        # and the sum past 2⁻⁴¹ of its terms here (within 2⁻⁵⁰ of them): the double words' test below can hold",
              f"        here &= abs_value >= {2.0 ** -41!r}*(" + " + ".join(sizes) + ")",
              "        if here.any():",
              f"            {c}_dw, {m}_dw = {c}_all[here], {m}_all[here]",
              f"            count = {m}_dw.size"]
    lines += _front_sines(sorted({t for _, _, t in terms}), m)
    lines += [f"            sq_hi, sq_lo = _dw_two_prod({c}_dw, {c}_dw)",
              "            radicand_hi, radicand_lo = _dw_add_fp(-sq_hi, -sq_lo, 1.0)",
              "            root_hi, root_lo = _dw_sqrt(radicand_hi, radicand_lo)"]
    if any(kind == "quotient" for _, kind, _ in terms):
        lines += [f"            quotient_hi, quotient_lo = _dw_div({c}_dw, 0.0, root_hi, root_lo)  # {c}/√(1 − {c}²)"]
    words = []
    for j, (k, kind, t) in enumerate(terms):
        sign, scale = _sign_scale(k)
        word = {"one": None, "c": f"_dw_mul_fp({t}_{m}_hi, {t}_{m}_lo, {c}_dw)",
                "root": f"_dw_mul(root_hi, root_lo, {t}_{m}_hi, {t}_{m}_lo)",
                "quotient": f"_dw_mul(quotient_hi, quotient_lo, {t}_{m}_hi, {t}_{m}_lo)"}[kind]
        if word is None:
            words.append((f"{sign}{scale}{t}_{m}_hi", f"{sign}{scale}{t}_{m}_lo"))
            continue
        lines += [f"            word_{j}_hi, word_{j}_lo = {word}"]
        words.append((f"{sign}{scale}word_{j}_hi", f"{sign}{scale}word_{j}_lo"))
    lines += _front_word_sum(words)
    size = " + ".join(f"np.abs({hi})" for hi, _ in words)
    lines += ["            # kept where the sum is past 2⁻⁴⁰ of its terms (their double words' 2⁻¹⁰⁰ within 2⁻⁶⁰ of it) and",
              "            # 2⁻⁹⁶⁸ (the lo parts normal); the others (the triple words', the scaled words') to the function",
              f"            good = (np.abs(sum_hi) >= {2.0 ** -40!r}*({size})) & (np.abs(sum_hi) >= {SCALED_TINY!r})",
              "            done = np.zeros(redo.shape, bool)",
              "            done[here] = good",
              "            result[here] = np.where(good, sum_hi, result[here])",
              "            redo &= ~done",
              "        if redo.any():",
              f"            result[redo] = {inner}("
              + ", ".join(f"np.broadcast_to({a}, redo.shape)[redo]" for a in leaf_names) + ", True, None, within=within)",
              "        return result"]
    return lines
