"""The Triton printer: SymPy expressions as Triton expressions over register tensors, used by
every Triton kernel family (elementwise, row-wise, dense layer, fused step); a family adds
only the nodes of its own skeleton (an Indexed entry as its tile, a row sum as ``tl.sum``) in a
subclass.

The printer is strict: it prints only what it has a table entry for and raises on any
other node, naming it. Integer powers become products (Triton has no tensor ``**``);
``log1p``, ``expm1``, softplus and ``tanh`` become small ``@triton.jit`` helpers written
with ``tl.exp``/``tl.log`` only (Goldberg's log1p and Kahan's expm1 tricks keep full
relative accuracy near 0), because the libdevice functions do not run under
``TRITON_INTERPRET=1`` and every kernel must be testable on a CPU. Each function's template
comes from the function registry (:mod:`symnet.registry`); Piecewise, comparisons and
Max/Min from :class:`~symnet.codegen.backends.printing.ConditionalPrinting`.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ....errors import SymnetError
from ....registry import TRITON_DEVICE_HELPERS, TRITON_HELPER_NEEDS, HelperTable, triton_template
from ....render import text
from ...doubleword import ORDER as DW_PRIMITIVES, TRITON_SCALED, keep_generated, leaf_identifiers, nan_through, \
    primitive_needs, primitive_text, widened_function
from ..printing import FLOAT32_PRODUCT_FACTORS, FLOAT32_PRODUCT_ROUNDINGS, ConditionalPrinting, _double_word  # noqa: F401 (re-exported)
from ..printing import RestScale
from ...rewrite import Grouped, WidenedBase
from ....special import binade_reciprocal

__all__ = ["TritonPrinter", "TRITON_HELPERS", "HELPER_NEEDS"]

# Device helpers, written once per module where a kernel needs them (the generated functions by name too:
# symnet.registry.HelperTable).
TRITON_HELPERS = HelperTable("triton", {
    "_sum_when_last": '''\
@triton.jit
def _sum_when_last(values_ptr, n_values, count_ptr, out_ptr, divisor, R: tl.constexpr):
    """Every program counts itself done; the last to finish adds the n_values values up, R at a
    time in a fixed order (the same bits every run), and stores Σ/divisor. A reduction in the
    launch that computed the values: no second kernel, and nothing waits on the host. Where Σ/divisor is
    not finite, the sum again of every value times 2^-k (4·n_values·2^-k ≤ 1), divided, then times 2^k (powers
    of 2: the same roundings): a mean of values near the largest float is finite wherever the exact one is. The
    quotient is taken in float64 and rounded once where stored (float32 would round n first: 2²⁴ + 1 → 2²⁴)."""
    tl.debug_barrier()  # orders this program's stores before its atomic, whose release (GPU scope)
    done = tl.atomic_add(count_ptr, 1)  # makes them visible to the last program's acquire
    if done == tl.num_programs(0) - 1:
        total = tl.zeros([R], values_ptr.dtype.element_ty)
        for first in range(0, n_values, R):
            at = first + tl.arange(0, R)
            total += tl.load(values_ptr + at, mask=at < n_values, other=0.0, cache_modifier=".cg")
        q = tl.sum(total, axis=0).to(tl.float64) / divisor  # in float64: n exact (to 2⁵³), the quotient rounded once
        if tl.abs(q) >= float("inf"):  # (values of ±∞ or NaN give it again: the same answer)
            down = tl.full([], 1.0, values_ptr.dtype.element_ty)
            while 4.0 * n_values * down > 1.0:
                down = down * 0.5
            total = tl.zeros([R], values_ptr.dtype.element_ty)
            for first in range(0, n_values, R):
                at = first + tl.arange(0, R)
                total += tl.load(values_ptr + at, mask=at < n_values, other=0.0, cache_modifier=".cg") * down
            q = (tl.sum(total, axis=0).to(tl.float64) / divisor) / down
        tl.store(out_ptr, _stored(q, out_ptr))  # (a bfloat16 Σ rounded to nearest: _stored)
''',
    "_upcast": '''\
@triton.jit
def _upcast(x, dtype: tl.constexpr):
    """x as dtype (float32 or float64); a bfloat16 x exactly by its bits, float32's top half: Triton's
    interpreter upcasts bfloat16 subnormals wrong (2⁻¹²⁷ → 0, 1.0e−39 → 4.4e−39; triton 3.9)."""
    if x.dtype == tl.bfloat16:
        return (x.to(tl.int16, bitcast=True).to(tl.int32) << 16).to(tl.float32, bitcast=True).to(dtype)
    return x.to(dtype)
''',
    "_stored": '''\
@triton.jit
def _stored(x, ptr):
    """x (float32 or float64) rounded once, to nearest even, to ptr's element type. bfloat16 is rounded in the
    bits: a float64 x to float32 rounded to odd first (truncated, its last bit set where inexact: 24 bits ≥ 8 + 2,
    so the rounding that follows is the correctly rounded one), then to nearest even at bit 16, whose top half
    is the bfloat16. Triton's interpreter turns float64 into bfloat16 wrong (1.0 → 1.8e−40, −2.0 → NaN) and
    float32 into bfloat16 by truncation, subnormals wrong (sigmoid(−89) = 2.2e−39 stored as 6.1e−39; triton
    3.9); on a GPU this is cvt.rn's answer."""
    if ptr.dtype.element_ty == tl.bfloat16:
        r = x.to(tl.float32)
        bits = r.to(tl.int32, bitcast=True)
        if x.dtype == tl.float64:
            bits = tl.where(tl.abs(r.to(tl.float64)) > tl.abs(x), bits - 1, bits)  # toward 0: truncated
            bits = tl.where(r.to(tl.float64) != x, bits | 1, bits)  # inexact: odd
        bits = tl.where(x == x, bits, 0x7FC00000)  # NaN: a quiet one (its payload could round to inf)
        bits = (bits + (0x7FFF + ((bits >> 16) & 1))) & -65536  # to nearest even at bit 16 (sign-magnitude)
        return (bits >> 16).to(tl.int16).to(tl.bfloat16, bitcast=True)
    return x.to(ptr.dtype.element_ty)
''',
    "_tile_of": '''\
@triton.jit
def _tile_of(t, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """The (row, column) of tile t, in groups of 8 tile rows (the L2 order of Triton's matmul
    tutorial): the tiles in flight share rows of the left operand and columns of the right one
    in L2, instead of streaming the whole left operand once per column of tiles. N = 0 (a layer
    of no inputs) counts as one column of tiles: its launch still writes a sum over the rows."""
    GROUP: tl.constexpr = 8
    in_group = GROUP * tl.maximum(tl.cdiv(N, BLOCK_N), 1)
    first = (t // in_group) * GROUP
    rows = tl.minimum(tl.cdiv(M, BLOCK_M) - first, GROUP)
    return first + (t % in_group) % rows, (t % in_group) // rows
''',
    "_log1p": '''\
@triton.jit
def _log1p(u):
    """log(1 + u) to full relative accuracy near 0 (Goldberg): w = 1 + u rounds, and
    log(w)·u/(w − 1) divides that rounding back out; inf at u = inf (u/(w − 1) is inf/inf there)."""
    w = 1.0 + u
    return tl.where(w == 1.0, u, tl.where(w < float("inf"), tl.log(w) * (u / (w - 1.0)), w))
''',
    "_expm1": '''\
@triton.jit
def _expm1(x):
    """e^x − 1 to full relative accuracy near 0 (Kahan): (w − 1)·x/log(w), w = e^x."""
    w = _exp(x)
    near = tl.where(w == 1.0, x, (w - 1.0) * (x / tl.log(w)))
    return tl.where(x > 20.0, w - 1.0, tl.where(x < -20.0, w - 1.0, near))
''',
    "_softplus": '''\
@triton.jit
def _softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^−|x|): never overflows."""
    return tl.maximum(x, 0.0) + _log1p(_exp(-tl.abs(x)))
''',
    "_tanh": '''\
@triton.jit
def _tanh(x):
    """tanh x = sign(x)·e/(e + 2), e = expm1(2|x|): exact near 0, ±1 for large |x|."""
    e = _expm1(2.0 * tl.abs(x))
    t = tl.where(tl.abs(x) > 20.0, 1.0, e / (e + 2.0))
    return tl.where(x < 0, -t, t)
''',
})
# b^u of a fractional or input exponent (Triton has no pow): e^(u·log b) rounds its argument y = u·log b, and
# e^y is |y|/2 ULPs off for it (440 ULP in float64 at b = 5e−324, |log b| = 744; the focal loss's t^γ). A float64
# kernel takes y in double words instead (log b by _dw_log, 2⁻¹⁰⁴ of it; an exponent γ + c as a two-sum, its
# product with log b by _dw_mul: a rounded γ − 1 alone was 248 ULP off in ∂x of x^γ at x = 5e−324) and
# e^(y_hi)·(1 + y_lo) (first order in y_lo ≤ ulp(y_hi)/2: 2⁻¹⁰⁰ off): tl.exp's own error and a rounding; a float32
# kernel computes e^(u·log b) in float64 (|y|·2⁻⁵³, below a float32 ULP for |y| < 2²⁹) and rounds once
TRITON_HELPERS["_pow"] = '''\
@triton.jit
def _pow(b, u, c, k=1.0, k_lo=0.0, WIDE: tl.constexpr = False):
    """b^(u + c) of a tensor b (float32 or float64), an exponent u (a tensor or a number) and a constant c (γ + 1:
    u + c as a two-sum, not rounded first), as C's pow, NumPy's np.power and torch.pow; b^(k·u + c) for a constant
    k (k + k_lo: a constant not a double), k·u a double word too (TwoProduct): |b|^e = e^(e·log |b|),
    in float64 e^y of the double-word y = e·log |b| (_dw_log, a double-word product), e^(y_hi)·(1 + y_lo); in
    float32 e^(e·log |b|) in float64, rounded once (WIDE: left in float64, a factor of a product computed there). A negative b (−0 and −inf too) takes the sign of an odd
    integer e (a finite b < 0: NaN for a non-integer e); b^0 = 1 and 1^e = 1 for every e (inf and NaN included); where |b| is 0,
    inf or NaN, e is not finite or the double word is not (an overflow): e^(e·log |b|) as it rounds (0^e = 0 for
    e > 0, inf for e < 0)."""
    dtype = b.dtype
    w = b.to(tl.float64)
    a = tl.abs(w)
    v = u + tl.zeros_like(w)  # a number or either width: float64
    if k == 1.0:
        e = v + c
    else:
        e = v * (k + k_lo) + c
    plain = tl.exp(e * tl.log(a))
    if dtype == tl.float64:
        l_hi, l_lo = _dw_log(a, tl.zeros_like(w))
        if k == 1.0:
            s_hi, s_lo = _dw_two_sum(v, c + tl.zeros_like(w))
        else:
            p_hi, p_lo = _dw_two_prod(v, k + tl.zeros_like(w))
            s_hi, s_lo = _dw_add_fp(p_hi, p_lo + v * k_lo, c + tl.zeros_like(w))
        y_hi, y_lo = _dw_mul(l_hi, l_lo, s_hi, s_lo)
        x = tl.exp(y_hi)
        r = x + x * y_lo
        ok = (a > 0.0) & (a < float("inf")) & (tl.abs(s_hi) < float("inf")) & (tl.abs(r) < float("inf"))
        plain = tl.where(ok, r, plain)
    if WIDE:
        return _pow_signs(w, e, plain)
    return _pow_signs(w, e, plain).to(dtype)
'''
# issue 16 (h-powk40): b^k of a rounded sum or quotient, as NumPy's _rounded_base_power
TRITON_HELPERS["_rounded_base_power"] = '''\
@triton.jit
def _rounded_base_power(s, k, a, b, d, QUOTIENT: tl.constexpr):
    """s^k (_pow) for s = fl(a + b) (QUOTIENT False, d unused) or s = fl((a + b)/d), a, b and d exact, with s's rounding
    restored, as NumPy's _rounded_base_power: float64 P + P·k·δ, δ s's relative rounding found exactly (TwoSum of a + b;
    TwoProduct of s·d), δ = 0 where |a + b| is below 2⁻⁹⁰⁰; P where that is not finite. float32: the base in float64
    from its operands, raised there and rounded once; P where that base is not finite."""
    power = _pow(s, 0.0, k)
    wide = tl.zeros_like(s).to(tl.float64)
    if s.dtype == tl.float64:
        n, e = _dw_two_sum(a + wide, b + wide)
        if QUOTIENT:
            h, low = _dw_two_prod(s, d + wide)
            delta = tl.where(tl.abs(n) > 1.0e-270, (((n - h) - low) + e) / n, 0.0)
        else:
            delta = e / s
        fix = power * (k * delta)
        return tl.where(tl.abs(fix) < float("inf"), power + fix, power)
    base = a + wide + b
    if QUOTIENT:
        base = base / (d + wide)
    return tl.where(tl.abs(base) < float("inf"), _pow(base, 0.0, k).to(s.dtype), power)
'''

TRITON_HELPERS["_rounded_log_power"] = '''\
@triton.jit
def _rounded_log_power(s, k, v):
    """s^k (_pow) for s = log v rounded (v exact), with s's rounding restored, as NumPy's _rounded_log_power: P·(1 +
    k·δ), δ = (L − s)/s from the double-word log L of v in float64; P where that is not finite."""
    power = _pow(s, 0.0, k)
    w = v.to(tl.float64)
    l_hi, l_lo = _dw_log(w, tl.zeros_like(w))
    delta = ((l_hi - s) + l_lo) / s
    out = (power * (1.0 + k * delta)).to(s.dtype)
    return tl.where(tl.abs(out) < float("inf"), out, power)
'''

# C's pow special values and signs around a magnitude |b|^e (the _pow helper's, and a widened function's float64
# body's e^(u·log b), which was NaN for every b < 0: (x + y)^g at x + y = −2, g = 2)
TRITON_HELPERS["_pow_signs"] = '''\
@triton.jit
def _pow_signs(b, e, magnitude):
    """b^e as C's pow, NumPy's np.power and torch.pow from magnitude = |b|^e as e^(e·log |b|) rounds it: a
    negative b (−0 and −inf too) takes the sign of an odd integer e (a finite b < 0: NaN for a non-integer e);
    b^0 = 1 and 1^e = 1 for every e (inf and NaN included), (−1)^±inf = 1. e: a tensor or a number."""
    e = e + tl.zeros_like(b)  # a constant exponent (the focal loss's γ = 3/4) as a tensor
    p = tl.where(tl.abs(b) == 1.0, 1.0, magnitude)  # (±1)^(±inf): 1 (e^(inf·0) is NaN)
    whole = tl.floor(e) == e  # false for NaN; ±inf are even integers (pow(−1, ±inf) = 1)
    odd = whole & (tl.floor(e * 0.5) * 2.0 != e)  # every e past 2⁵³ is even
    p = tl.where((b < 0.0) & (b > -float("inf")) & ~whole, float("nan"), p)  # (−8)^(1/3)
    negative = (b < 0.0) | ((b == 0.0) & (1.0 / b < 0.0))  # −0 and −inf too: (−0)^(−1) = −inf, (−inf)^3 = −inf
    p = tl.where(negative & odd, -p, p)
    return tl.where((e == 0.0) | (b == 1.0), 1.0, p)
'''
HELPER_NEEDS = {"_softplus": ("_log1p", "_exp"), "_expm1": ("_exp",), "_tanh": ("_expm1",), "_sum_when_last": ("_stored",),
                "_pow": ("_dw_log", "_dw_two_sum", "_dw_two_prod", "_dw_add_fp", "_dw_mul", "_pow_signs"),
                "_rounded_base_power": ("_pow", "_dw_two_sum", "_dw_two_prod"), "_rounded_log_power": ("_pow", "_dw_log")}
# the device helpers of the function registry (tan, sinh, cosh, asinh, atan, erfc, sign …)
TRITON_HELPERS.update({k: v for k, v in TRITON_DEVICE_HELPERS.items() if k not in TRITON_HELPERS})
HELPER_NEEDS.update(TRITON_HELPER_NEEDS)
# the double-word primitives of the generated functions of widened sums (symnet.codegen.doubleword)
TRITON_HELPERS.update({name: primitive_text(name, "triton") for name in DW_PRIMITIVES + list(TRITON_SCALED)})
HELPER_NEEDS.update({name: primitive_needs(name, "triton") for name in DW_PRIMITIVES + list(TRITON_SCALED)})


# session 28 (h-tail28): c·b^u, 0 < |c| < 1, b = e or 2, where b^u overflowed first (ConditionalPrinting._exp_overflow)
TRITON_DEVICE_HELPERS["_exp_overflowed"] = '''\
@triton.jit
def _exp_overflowed(r, u, a32, ca32, ca64, TWO: tl.constexpr):
    """r = c·b^u as computed (a constant 0 < |c| < 1; b = 2 where TWO, else e), taken again where it is ±inf and u is
    finite: there b^u overflowed before c scaled it back (2^x's ∂, log 2·2^x, was inf at x = 128.25 in float32 for
    2.805e38, at 1024.25 in float64 for 1.482e308; e^x/2 at x = 88.9 in float32 for 2.03e38). There b^(u − a)·(c·b^a),
    a = a32 in float32 (88 (e) or 127 (2), more for a tiny c: c·b^a32 a normal float32) and 709 or 1023 in float64,
    c·b^a the constant ca32 or ca64 rounded once: u − a is exact where the result is not 0 (|u − a| ≤ |u|, a an
    integer), so three roundings (_exp's or _exp2's, the constant's, the product's). A select: the common case pays
    one exponential more."""
    if u.dtype == tl.float64:
        if TWO:
            far = tl.exp2(u - 1023.0) * ca64
        else:
            far = tl.exp(u - 709.0) * ca64
    else:
        v = u.to(tl.float32)
        if TWO:
            far = _exp2(v - a32) * ca32
        else:
            far = _exp(v - a32) * ca32
    return tl.where((tl.abs(r) == float("inf")) & (tl.abs(u) < float("inf")), far.to(r.dtype), r)
'''
TRITON_HELPERS["_exp_overflowed"] = TRITON_DEVICE_HELPERS["_exp_overflowed"]
HELPER_NEEDS["_exp_overflowed"] = ("_exp", "_exp2")


# session 32 (h-search32): a product taken again where it is not finite (ConditionalPrinting._taken_again_pair)
TRITON_DEVICE_HELPERS["_taken_again"] = '''\
@triton.jit
def _taken_again(r, m, INFINITE: tl.constexpr = False):
    """r, a product as computed, taken again where it is ±inf or NaN as m, the same product in another order, where m
    is finite: h·{c/y if …; …} as {c·h/y if …; …} (relu(x·y)/leaky_relu(y) at y = −2.78e−309 was −inf for −150). A
    select: the common case pays the other order. INFINITE (the long-product rule's, as NumPy's infinite=True): also
    where r is NaN and m ±inf."""
    bad = (r != r) | (tl.abs(r) == float("inf"))
    take = bad & (tl.abs(m) < float("inf"))
    if INFINITE:
        take = take | ((r != r) & (tl.abs(m) == float("inf")))
    return tl.where(take, m.to(r.dtype), r)
'''
TRITON_HELPERS["_taken_again"] = TRITON_DEVICE_HELPERS["_taken_again"]

# session 45 (h-pq45): the power-quotient rule's N/x^k taken as Σ tᵢ/x^k also where N is below the normal range
# (rewrite.WrittenWhereNotFiniteOrBelowBase; NumPy's _taken_below, which computes m on those elements alone)
TRITON_DEVICE_HELPERS["_taken_below"] = '''\
@triton.jit
def _taken_below(r, n, m):
    """r, a quotient N/x^k as computed from the sum N rounded once (n), taken as m, the sum of N's terms each divided
    by x^k, where r is ±inf or NaN or n is below its dtype's normal range (0 included: n is off there by up to half
    the least subnormal, which the division magnifies), where m is finite (and where r is NaN and m ±inf). A select:
    every lane computes m."""
    tiny = 2.2250738585072014e-308
    if n.dtype == tl.float32:
        tiny = 1.1754943508222875e-38
    bad = (r != r) | (tl.abs(r) == float("inf")) | (tl.abs(n) < tiny)
    take = (bad & (tl.abs(m) < float("inf"))) | ((r != r) & (tl.abs(m) == float("inf")))
    return tl.where(take, m.to(r.dtype), r)
'''
TRITON_HELPERS["_taken_below"] = TRITON_DEVICE_HELPERS["_taken_below"]

# session 35 (h-triton35): a quotient of three factors or more taken again by exponents where it is not finite or came
# out 0 (ConditionalPrinting._exponent_product; NumPy's _taken_again(…, underflowed=True, held=…))
TRITON_DEVICE_HELPERS["_taken_far"] = '''\
@triton.jit
def _taken_far(r, held, HELD: tl.constexpr, m, k, x, px: tl.constexpr, y, py: tl.constexpr, z, pz: tl.constexpr, w,
               pw: tl.constexpr, dtype: tl.constexpr, NARROW: tl.constexpr):
    """r, a quotient of three factors or more as computed, taken again by exponents (_constant_far(m, k, x, px, …)),
    as NumPy's _taken_by_exponents: where r, or (HELD) a power or product it holds in a temporary (held: where one is
    not normal; else a placeholder, not read) is not a normal number while no factor is 0, ±inf or NaN, or is NaN
    while every factor is finite (one 0: h-kl36), and that is finite: a partial product or quotient left the range
    before the whole (∂x of 0.001/(x·y), −1/(1000·x²·y), at x = −3e38, y = −1.4e−45 in float32 was 0 for 7.93e−36:
    x² = inf). Computed in a block with such an element only:
    the common case pays one test over the block. A float32 r of NARROW powers (|px| + … + |pw| ≤ 6, k = 0) in plain float64, m last: float32 factors within
    [2⁻¹⁴⁹, 2¹²⁸] keep six partial products within float64's normal range (6·149 < 1022), each rounding 2⁻⁵³, then
    once to float32; not frexp's registers (_constant_far's: 255 a thread and 52 bytes spilled for sm_90 in the
    float32 kernel of 0.001/(x·y) at the full block; this 178, none)."""
    bad = _not_normal(r)
    if HELD:
        bad = bad | held
    if tl.max(tl.where(bad, 1, 0)) > 0:
        # NaN as computed where a factor is ±inf (in the numerator) and none is 0 or NaN: ±inf, the product's own, as
        # NumPy's (w·x·tanh(y) at (inf, −1e−30, 1e−310): x·tanh(y) = −0 before w, NaN for −inf; h-fix40)
        limit = r != r
        infinite = limit & (r == r)
        sign = tl.where(m < 0, -1.0, 1.0)
        limit, infinite, sign = _factor_limit(limit, infinite, sign, x, px)
        limit, infinite, sign = _factor_limit(limit, infinite, sign, y, py)
        limit, infinite, sign = _factor_limit(limit, infinite, sign, z, pz)
        limit, infinite, sign = _factor_limit(limit, infinite, sign, w, pw)
        r = tl.where(limit & infinite, tl.where(sign < 0, -float("inf"), float("inf")).to(r.dtype), r)
        # (where a factor is ±inf or NaN, r's ±inf or NaN is the product's own, and r's 0, ±inf or NaN where a factor
        # is 0, but for a NaN beside a 0 in the numerator: kept; an absent one is not read)
        bad = _factor_taken(bad, r, x, px)
        bad = _factor_taken(bad, r, y, py)
        bad = _factor_taken(bad, r, z, pz)
        bad = _factor_taken(bad, r, w, pw)
        if NARROW and dtype == tl.float32:
            v, n = _far_power(tl.full([], 1.0, tl.float64), 0, x, px, False)
            v, n = _far_power(v, n, y, py, False)
            v, n = _far_power(v, n, z, pz, False)
            v, n = _far_power(v, n, w, pw, False)
            again = (v * m).to(dtype)
        else:
            again = _constant_far(m, k, x, px, y, py, z, pz, w, pw, dtype)
        # as NumPy's: the product by exponents where finite, and where it is ±inf while r is NaN (inf/inf, 0·inf of
        # powers past the range) or finite (a partial product went below the range first: ∂y of ((x + y)/y)⁵ at
        # (−1.1e−73, 5.0e−200) was 0 for inf, ∂y of ((x + y)/poisson_nll(x, y))⁻² at (1.5e105, 3.0e96) NaN for −inf)
        r = tl.where(bad & ((tl.abs(again) < float("inf")) | (r != r) | ((tl.abs(r) < float("inf")) & (tl.abs(again) == float("inf")))), again, r)
    return r
'''
TRITON_HELPERS["_taken_far"] = TRITON_DEVICE_HELPERS["_taken_far"]
HELPER_NEEDS["_taken_far"] = ("_constant_far", "_far_power", "_not_normal", "_factor_taken", "_factor_limit")
TRITON_DEVICE_HELPERS["_factor_limit"] = '''\
@triton.jit
def _factor_limit(limit, infinite, sign, x, p: tl.constexpr):
    """_taken_far's ±inf for a NaN r: limit where a factor x of power p (0: absent, not read) is not 0 or NaN, nor ±inf
    in the denominator; infinite where it is ±inf; sign times x's sign where p is odd."""
    if p > 0:
        limit = tl.where((x != 0.0) & (x == x), limit, False)
        infinite = tl.where(tl.abs(x) == float("inf"), True, infinite)
    if p < 0:
        limit = tl.where((x != 0.0) & (tl.abs(x) < float("inf")), limit, False)
    if p % 2 != 0:
        sign = tl.where(x < 0, -sign, sign)
    return limit, infinite, sign
'''
TRITON_HELPERS["_factor_limit"] = TRITON_DEVICE_HELPERS["_factor_limit"]
TRITON_DEVICE_HELPERS["_factor_taken"] = '''\
@triton.jit
def _factor_taken(bad, r, x, p: tl.constexpr):
    """bad where a factor x of power p (0: absent, not read) lets _taken_far take r again: x finite and not 0, or 0 in
    the numerator (p > 0) beside a NaN r, 0 times a power that left the range (0·(1/T)·… at T = 2.78e−309 was NaN for
    0; h-kl36). tl.where throughout: x may be a 0-d constant (sqrt_two of ∂ log Φ(x)), and the interpreter's
    bitwise_and refuses a block and a 0-d Boolean."""
    if p > 0:
        bad = tl.where(tl.abs(x) < float("inf"), tl.where(x != 0.0, bad, bad & (r != r)), False)
    if p < 0:
        bad = tl.where((x != 0.0) & (tl.abs(x) < float("inf")), bad, False)
    return bad
'''
TRITON_HELPERS["_factor_taken"] = TRITON_DEVICE_HELPERS["_factor_taken"]
TRITON_DEVICE_HELPERS["_not_normal"] = '''\
@triton.jit
def _not_normal(v):
    """v is 0, subnormal, ±inf or NaN (in its own dtype, float32 or float64)."""
    if v.dtype == tl.float64:
        tiny = 2.2250738585072014e-308
    else:
        tiny = 1.1754943508222875e-38
    a = tl.abs(v)
    return ~((a >= tiny) & (a < float("inf")))
'''
TRITON_HELPERS["_not_normal"] = TRITON_DEVICE_HELPERS["_not_normal"]

# session 34 (h-worse34): shared-powers' bound on a base, by the base's dtype (rewrite.PowerBound)
TRITON_DEVICE_HELPERS["_power_bound"] = '''\
@triton.jit
def _power_bound(b, bound32: tl.constexpr, bound64: tl.constexpr):
    """bound32 where b is float32, bound64 (a float64: beyond float32's range) where it is float64."""
    if b.dtype == tl.float64:
        r = tl.full([], bound64, tl.float64)
    else:
        r = tl.full([], bound32, tl.float32)
    return r
'''
TRITON_HELPERS["_power_bound"] = TRITON_DEVICE_HELPERS["_power_bound"]

# session 33 (h-review33): x^n·y^n (n > 2) as written where both powers are normal, (x·y)^n elsewhere (PowerProduct)
TRITON_DEVICE_HELPERS["_power_product"] = '''\
@triton.jit
def _power_product(p, q, m):
    """p·q, x^n·y^n as written (p = x^n, q = y^n), where both powers are normal numbers; m = (x·y)^n elsewhere, which
    leaves the range only where the whole does (x^n·y^n at (1e200, 1e−200) was inf·0 = NaN for 1) and rounds x·y's
    error n times (x⁵·y⁵ 4.3 ULP in float64 where p·q is ≤ 3.2 as Triton's products)."""
    if p.dtype == tl.float64:
        tiny = 2.2250738585072014e-308
    else:
        tiny = 1.1754943508222875e-38
    a, b = tl.abs(p), tl.abs(q)
    normal = (a >= tiny) & (a < float("inf")) & (b >= tiny) & (b < float("inf"))
    return tl.where(normal, p * q, m.to(p.dtype))
'''
TRITON_HELPERS["_power_product"] = TRITON_DEVICE_HELPERS["_power_product"]

# session 36 (h-triton36): a float32 kernel's long product of inputs and values in float64 (TritonPrinter._wide_product)
TRITON_DEVICE_HELPERS["_float32_in_float64"] = '''\
@triton.jit
def _float32_in_float64(narrow, wide):
    """narrow, the product as printed, in a float64 kernel; in a float32 one wide, the same product computed in float64
    from the inputs and the float32 values it holds, rounded once (the compiler drops the one not returned)."""
    if narrow.dtype == tl.float64:
        r = narrow
    else:
        r = wide.to(narrow.dtype)
    return r
'''
TRITON_HELPERS["_float32_in_float64"] = TRITON_DEVICE_HELPERS["_float32_in_float64"]

# session 38 (h-triton38): a float32 kernel's r^k·W(r·x, …) (TritonPrinter._wide_scaled)
TRITON_DEVICE_HELPERS["_scaled_in_float64"] = '''\
@triton.jit
def _scaled_in_float64(narrow, wide):
    """narrow, r^k·W(r·x, …) as printed (W a widened sum at the inputs times r, a power of two: the homogeneous-quotient
    and reciprocal-margin rules' forms); in a float32 kernel where it is ±inf or NaN, wide, the same in float64 (W's
    float64 body, times r^k), rounded once, where that is not NaN: W rounded to float32 before r^k brings it back
    overflowed (1/x + 1/y at (0.5, 3.4e38): r = 2⁻¹²⁷, W = 2¹²⁸, inf for 2). A float64 kernel: narrow (wide unused)."""
    r = narrow
    if narrow.dtype != tl.float64:
        r = tl.where(~(tl.abs(narrow) < float("inf")) & (wide == wide), wide.to(narrow.dtype), narrow)
    return r
'''
TRITON_HELPERS["_scaled_in_float64"] = TRITON_DEVICE_HELPERS["_scaled_in_float64"]


# session 29 (h-exp29): log(f·b^u), log1p(f·b^u) where the product overflowed (ConditionalPrinting._log_overflow)
TRITON_DEVICE_HELPERS["_log_overflowed"] = '''\
@triton.jit
def _log_overflowed(r, u, f, k):
    """r = log(f·b^u) or log1p(f·b^u) as computed (k a float64 1 for b = e, log 2 for b = 2), taken again where it is +inf
    while u and f are finite, f > 0: there the product overflowed where its log is a number, k·u + log f in u's dtype
    (log1p(A) = log A + log1p(1/A), 1/A < 2⁻¹²⁶ of log A ≥ 88 dropped): three roundings and log's. log1p(y·e^x)
    float32 at (89.36, 128.69) was inf for 94.2162. A select: one log more."""
    v = u.to(tl.float64) if u.dtype == tl.float64 else u.to(tl.float32)
    # f as a block (a constant f is a 0-d tl.full: the interpreter's & of a block and a 0-d comparison raised
    # "ufunc 'bitwise_and' not supported", log(tanh(softplus x)), h-hostile31); + 0 is exact for f > 0
    w = f.to(v.dtype) + tl.zeros_like(v)
    far = v * k.to(v.dtype) + tl.log(w)
    # session 30 (h-under30): and below log of the smallest normal number (−inf or the log of a subnormal product of few
    # digits, a log only): log(y·e^x) at (−800, 1) was −inf for −800
    low = -87.33 if r.dtype == tl.float32 else -708.39
    ok = ((r == float("inf")) | (r < low)) & (tl.abs(v) < float("inf")) & (w > 0) & (w < float("inf"))
    return tl.where(ok, far.to(r.dtype), r)
'''
TRITON_HELPERS["_log_overflowed"] = TRITON_DEVICE_HELPERS["_log_overflowed"]

# session 29 (h-exp29): f·b^u, f a factor holding a variable, where b^u overflowed first
# (ConditionalPrinting._exp_overflow_factor)
TRITON_DEVICE_HELPERS["_exp_overflowed_by"] = '''\
@triton.jit
def _exp_overflowed_by(r, u, f, a32, ba32, ba64, TWO: tl.constexpr, EXACT: tl.constexpr):
    """r = f·b^u as computed (b = 2 where TWO, else e; f the other factors, an input c in c·2^x, 1/x in e^x/x), taken
    again where it is ±inf and u is past a (a32 = 88 or 127 in float32, 709 or 1023 in float64): b^(u − a)·(f·b^a),
    b^a the constant ba32 or ba64 rounded once, u − a exact (Sterbenz): four roundings (the constant's, f·b^a's,
    _exp's or _exp2's, the product's). c·2^x at (0.5, 1024) float64 was inf for 8.99e307, e^x/x at 709.9 inf for
    2.847e305. Where f is ±inf or the product overflows truly: ±inf again. A select: one exponential more."""
    if u.dtype == tl.float64:
        if TWO:
            far = tl.exp2(u - 1023.0) * (f.to(tl.float64) * ba64)
        else:
            far = tl.exp(u - 709.0) * (f.to(tl.float64) * ba64)
        past = u > (1023.0 if TWO else 709.0)
    else:
        v = u.to(tl.float32)
        if TWO:
            far = _exp2(v - a32) * (f.to(tl.float32) * ba32)
        else:
            far = _exp(v - a32) * (f.to(tl.float32) * ba32)
        past = v > a32
    # f a subnormal number of its own dtype holds few digits (σ(−y) at y = 745: e^x/(1 + e^y) at (745, 745) was 1.7505 for
    # 1, h-hostile30): there the product stays ±inf; an input (EXACT) is taken at any size
    normal = _normal_or_exact(f, EXACT)
    r = tl.where((tl.abs(r) == float("inf")) & (tl.abs(u) < float("inf")) & past & normal, far.to(r.dtype), r)
    if EXACT:  # session 30 (h-under30): 0·inf, f an input ±0: the product is f (y·e^x at (800, 0) was NaN)
        r = tl.where((r != r) & (f == 0) & (tl.abs(u) < float("inf")) & past, f.to(r.dtype), r)
    # session 30 (h-under30): b^u a subnormal of r's dtype or 0 where f·b^u is a normal number (y·e^x at (−800, 1e300)
    # was 0 for 3.8e−48): float64 b^(u + a)·(f·b^−a), a = 700 (e) or 1000 (2), u + a exact (Sterbenz) for u down to
    # −2a, f·b^−a normal wherever the product is; float32 in float64 (e^u normal there). Three roundings and the
    # exponential's. A select: one exponential more.
    if u.dtype == tl.float64:
        if TWO:
            near = tl.exp2(u + 1000.0) * (f.to(tl.float64) * 9.332636185032189e-302)
            under = u < -1022.0
        else:
            near = tl.exp(u + 700.0) * (f.to(tl.float64) * 9.859676543759770e-305)
            under = u < -708.0
    else:
        v = u.to(tl.float64)
        if TWO:
            near = tl.exp2(v) * f.to(tl.float64)
            under = v < -126.0
        else:
            near = tl.exp(v) * f.to(tl.float64)
            under = v < -87.0
    return tl.where(under & normal & (tl.abs(f) < float("inf")), near.to(r.dtype), r)
'''
TRITON_HELPERS["_exp_overflowed_by"] = TRITON_DEVICE_HELPERS["_exp_overflowed_by"]
HELPER_NEEDS["_exp_overflowed_by"] = ("_exp", "_exp2", "_normal_or_exact")

# session 32 (h-review32): the one test of _exp_overflowed_by's f and _exp_underflowed_over's d (written in each before)
TRITON_DEVICE_HELPERS["_normal_or_exact"] = '''\
@triton.jit
def _normal_or_exact(f, EXACT: tl.constexpr):
    """f is a normal number of its own dtype or ±inf, or EXACT (an input, never rounded: any size): where it holds, a
    recompute that scales f by a power of the base keeps its digits; a computed subnormal f holds few (NaN: False)."""
    if EXACT:
        normal = tl.abs(f) >= 0
    elif f.dtype == tl.float64:
        normal = tl.abs(f) >= 2.2250738585072014e-308
    else:
        normal = tl.abs(f.to(tl.float32)) >= 1.1754943508222875e-38
    return normal
'''
TRITON_HELPERS["_normal_or_exact"] = TRITON_DEVICE_HELPERS["_normal_or_exact"]

# session 31 (h-torch31): n·b^u/d^p where b^u underflowed and d is tiny (ConditionalPrinting._exp_divisor)
TRITON_DEVICE_HELPERS["_exp_underflowed_over"] = '''\
@triton.jit
def _exp_underflowed_over(r, u, n, d, P: tl.constexpr, TWO: tl.constexpr, EXACT: tl.constexpr):
    """r = n·b^u/d^p as _exp_overflowed_by left it, taken again where b^u underflowed (a subnormal or 0): there its f,
    n/d^p, overflows at a tiny d where the quotient need not (e^x/y at (−800, 5e−324) was 0 for 7.42e−25). In float64
    as NumPy's: n = m_n·2^k_n, d = m_d·2^k_d (frexp, exact), k = k_n − p·k_d, (m_n/m_d^p)·b^(u + k·c_hi)·b^(k·c_lo)
    (e: c_hi + c_lo = log 2, c_hi of 32 bits, so k·c_hi and the sum are exact; 2: c_hi = 1, c_lo = 0): the
    exponentials' and p + 2 roundings. A select.
    Session 38 (h-brk38): the same form where b^u overflowed and n/d^p underflowed, r left ±inf or NaN (NumPy's
    _exp_overflowed_by by frexp): e^v·w·x·y/z at (800, 1, 1, 1e−300, 1e100) float64 was inf for 2.73e−53 (torch inf).
    u + k·c_hi stays exact there too (|u| ≥ 512 past the overflow, the sum within ±1024 where the product is finite)."""
    m_n, k_n = _frexp64(n.to(tl.float64))
    m_d, k_d = _frexp64(d.to(tl.float64))
    m = m_n
    for _ in tl.static_range(P):
        m = m / m_d
    k = (k_n - P * k_d).to(tl.float64)
    v = u.to(tl.float64)
    if TWO:
        near = tl.exp2(v + k) * m
    else:
        near = tl.exp(v + k * 0.6931471803691238) * tl.exp(k * 1.9082149292705877e-10) * m
    if u.dtype == tl.float64:
        under = u < (-1022.0 if TWO else -708.0)
    else:
        under = v < (-126.0 if TWO else -87.0)
    normal = _normal_or_exact(d, EXACT)
    if u.dtype == tl.float64:
        over = u > (1023.0 if TWO else 709.0)
    else:
        over = v > (127.0 if TWO else 88.0)
    # past the overflow: where r is not finite (inf·0, inf from a subnormal n/d^p) and the recompute is finite, or
    # its ±inf where r is NaN (the product's true overflow)
    near_r = near.to(r.dtype)
    over = over & ~(tl.abs(r) < float("inf")) & ((tl.abs(near_r) < float("inf")) | (r != r))
    over = tl.where(_normal_or_exact(n, EXACT), over, False)  # (n may be a 0-d constant: no & with a block)
    return tl.where((under | over) & normal & (tl.abs(u) < float("inf")) & (tl.abs(m) < float("inf")) & (m != 0),
                    near_r, r)
'''
TRITON_HELPERS["_exp_underflowed_over"] = TRITON_DEVICE_HELPERS["_exp_underflowed_over"]
HELPER_NEEDS["_exp_underflowed_over"] = ("_frexp64", "_normal_or_exact")


# session 22 (h-quot22): a constant times a product or quotient, the constant last or first per element
# (ConditionalPrinting._moved_constant)
TRITON_DEVICE_HELPERS["_constant_times"] = '''\
@triton.jit
def _constant_times(x, y, z, c, q, lo):
    """c/q·x·y/z (c/q a positive constant, c or q 1; y, z: 1.0 where absent): ((x·y)/z)·c/q, the constant last,
    and where that is outside [lo, inf) (lo = (c/q)·2⁻¹²⁶ for c/q > 1, else 0) ((x·c/q)·y)/z, the constant
    first, where that is finite: x·y/z overflows (c/q < 1) or goes subnormal (c/q > 1) where the product does not."""
    last = ((x * y) / z) * c / q
    # the constant on the smaller of x and y: ≥ 1 where x·y overflows, so c/q·it is normal (x·y/3 at x = −1.797e308,
    # y = 3: (x/3)·y rounds to −inf, (y/3)·x is x)
    first = tl.where(tl.abs(y) < tl.abs(x), x * (y * c / q), (x * c / q) * y) / z
    size = tl.abs(last)
    outside = (size < lo) | (size == float("inf"))
    return tl.where(outside & (tl.abs(first) < float("inf")), first, last)
'''
# in the module table at import, in a fixed place: registered at its first use, a module's helper order depended
# on what the process had printed before (the committed cross_entropy.py read stale in one CI worker)
TRITON_HELPERS["_constant_times"] = TRITON_DEVICE_HELPERS["_constant_times"]

# session 23 (h-quotc23): a constant times the scaled-square rule's chain (x/z)/z, the constant between the two
# divisions, first or last per element (ConditionalPrinting._moved_constant)
TRITON_DEVICE_HELPERS["_constant_quotients"] = '''\
@triton.jit
def _constant_quotients(x, y, z, c, q):
    """c/q·x·y/z² (c/q a positive constant, c or q 1; y 1.0 where absent), with x·y as x: ((x/z)·c/q)/z, the
    constant between the two divisions, where r = x/z and m = r·c/q are normal or 0; where r is not ((x·c/q)/z)/z,
    the constant first; where r is and m is not (r/z)·c/q, the constant last: one of the three keeps every partial
    product normal wherever the result is and x is normal (∂y of 1024x/y at x = 1e300, y = 1.797e308 was 432 ULP
    constant last)."""
    x = x * y
    r = x / z
    m = r * c / q
    # the dtype's smallest normal: 2⁻¹⁰²² held in float32 is 0
    tiny = tl.full([], 2.2250738585072014e-308, r.dtype)
    tiny = tl.where(tiny == 0.0, 1.1754943508222875e-38, tiny)
    size_r, size_m = tl.abs(r), tl.abs(m)
    # (0 from a nonzero x or r is an underflow too, as NumPy's: ∂y of 10⁻⁴⁰·x/y at x = 5e−324, y = 1e−30 was −0
    # with r·10⁻⁴⁰ gone to 0, for −4.94e−304)
    # (x + 0·r: x as a block where it is a number, ∂x's 1.0; the interpreter's | refuses a block beside a bool)
    r_out = ((size_r < tiny) & ((size_r > 0.0) | ((x + 0.0 * r) != 0.0))) | (size_r == float("inf"))
    m_out = ((size_m < tiny) & ((size_m > 0.0) | (r != 0.0))) | (size_m == float("inf"))
    first = ((x * c / q) / z) / z
    last = ((r / z) * c) / q
    return tl.where(r_out, first, tl.where(m_out, last, m / z))
'''
TRITON_HELPERS["_constant_quotients"] = TRITON_DEVICE_HELPERS["_constant_quotients"]

# session 25 (h-const25): a constant beyond 2^±100 around a product or quotient, its size m·2^k applied by exponents
# (ConditionalPrinting._moved_constant); Triton has no frexp or ldexp: both from exponent bits
TRITON_DEVICE_HELPERS["_frexp64"] = '''\
@triton.jit
def _frexp64(v):
    """A float64 v as f·2ᵉ, f in [1/2, 1) (frexp from the exponent bits): a subnormal v first times 2⁵⁴ (exact);
    0, ±inf and NaN as f = v, e = 0."""
    small = tl.abs(v) < tl.full([], 2.2250738585072014e-308, tl.float64)
    up = tl.where(small, v * 18014398509481984.0, v)
    bits = up.to(tl.int64, bitcast=True)
    e = ((bits >> 52) & 2047).to(tl.int32) - tl.where(small, 1076, 1022)
    f = ((bits & -9218868437227405313) | 4602678819172646912).to(tl.float64, bitcast=True)
    plain = (v != 0.0) & (tl.abs(v) < float("inf"))
    return tl.where(plain, f, v), tl.where(plain, e, 0)
'''
TRITON_DEVICE_HELPERS["_ldexp64"] = '''\
@triton.jit
def _ldexp64(f, n):
    """f·2ⁿ for a float64 f within [2⁻¹⁷, 2¹⁶] (or 0, ±inf, NaN) and an int32 n: n clamped to ±1100 (past it the
    result is 0 or ±inf either way), then 2^h and 2^(n − h), h = n >> 1, from exponent bits (each normal): f·2^h is
    exact, the second product rounds once (to the subnormal grid where the result is subnormal)."""
    n = tl.minimum(tl.maximum(n, -1100), 1100)
    h = n >> 1
    first = ((h.to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    second = (((n - h).to(tl.int64) + 1023) << 52).to(tl.float64, bitcast=True)
    return (f * first) * second
'''
TRITON_DEVICE_HELPERS["_far_power"] = '''\
@triton.jit
def _far_power(v, n, x, p: tl.constexpr, SPLIT: tl.constexpr):
    """v·f^p and n + p·e for x = f·2ᵉ (_frexp64), p an integer within ±6 (f multiplied or divided |p| times, one
    rounding each); p = 0 (an absent factor) leaves v and n. Not SPLIT: v·x^p in float64 and n (x a float32, where
    the caller's partial products stay within float64's normal range: _taken_far)."""
    if p != 0:
        if SPLIT:
            f, e = _frexp64(x * tl.full([], 1.0, tl.float64))  # (x·1.0 in float64 widens x exactly)
            n = n + p * e
        else:
            f = x.to(tl.float64)
        if p > 0:
            for _ in tl.static_range(p):
                v = v * f
        else:
            for _ in tl.static_range(-p):
                v = v / f
    return v, n
'''
# pow47: _constant_far's partial products with their rounding errors summed and applied once, as NumPy's (Triton's
# rounded each: (y^x/log y)³'s far ∂x, 3·(y^(3x/2))²·log(y)⁻², 4.19 ULP at (30.763, 2222.47) in float64, NumPy 0.19,
# torch 0.19)
TRITON_DEVICE_HELPERS["_far_power_corrected"] = '''\
@triton.jit
def _far_power_corrected(v, n, error, x, p: tl.constexpr):
    """v·f^p, n + p·e and the relative error of v·f^p to first order, for x = f·2ᵉ (_frexp64) and p an integer within
    ±6: f multiplied or divided |p| times, each rounding error found exactly (Dekker's product of 26-bit halves, the
    remainder of a quotient; |v|, |f| within [2⁻²⁵, 2²⁴]) and added to ``error`` (the exact value is v·(1 + error)), as
    NumPy's _constant_far; p = 0 (an absent factor) leaves v, n and error. 0, ±inf and NaN make error NaN (the caller
    takes v as it is there)."""
    if p != 0:
        f, e = _frexp64(x * tl.full([], 1.0, tl.float64))  # (x·1.0 in float64 widens x exactly)
        n = n + p * e
        c = 134217729.0 * f  # f = f_hi + f_lo, 26 bits each (Veltkamp)
        f_hi = c - (c - f)
        f_lo = f - f_hi
        if p > 0:
            for _ in tl.static_range(p):
                r = v * f
                c = 134217729.0 * v
                v_hi = c - (c - v)
                v_lo = v - v_hi
                low = ((v_hi * f_hi - r) + v_hi * f_lo + v_lo * f_hi) + v_lo * f_lo  # v·f − r, exact
                error = error + low / r
                v = r
        else:
            for _ in tl.static_range(-p):
                r = v / f
                t = r * f  # ≈ v: v − t exact (Sterbenz)
                c = 134217729.0 * r
                r_hi = c - (c - r)
                r_lo = r - r_hi
                low = ((r_hi * f_hi - t) + r_hi * f_lo + r_lo * f_hi) + r_lo * f_lo  # r·f − t, exact
                error = error + ((v - t) - low) / v  # (v − r·f)/v: r's relative error
                v = r
    return v, n, error
'''
TRITON_DEVICE_HELPERS["_constant_far"] = '''\
@triton.jit
def _constant_far(m, k, x, px: tl.constexpr, y, py: tl.constexpr, z, pz: tl.constexpr, w, pw: tl.constexpr,
                  dtype: tl.constexpr):
    """m·2^k·x^px·y^py·z^pz·w^pw (m·2^k the constant's size: m a normal float64, k an int; px … integer powers
    within ±6, 0 for an absent factor, printed 1.0), as NumPy's _constant_far: every factor split into a fraction in
    [1/2, 1) and an exponent (_frexp64), m's fraction multiplied and divided by theirs (every partial product within
    [2⁻²⁵, 2²⁴]: normal), each rounding error found exactly and summed as a relative correction applied once at the
    end (_far_power_corrected: one rounding in all), the exponents times their powers added and applied once
    (_ldexp64). No order of the constant and the factors keeps its partial products in range everywhere (1e−308·x/y
    at x = 3e10, y = 1e−300 was inf for 300: x/y overflows, session 24; ∂x of 1e−308/(x·y) with x**2*y whole −inf at
    x = 5e−324, y = 1e300, session 25). 0, ±inf and NaN pass through as in IEEE arithmetic (v as it is where the
    correction is not finite). In float64 for either dtype (a float32 kernel's result rounded once)."""
    v, n = _frexp64(m)
    error = tl.zeros_like(v)
    v, n, error = _far_power_corrected(v, n, error, x, px)
    v, n, error = _far_power_corrected(v, n, error, y, py)
    v, n, error = _far_power_corrected(v, n, error, z, pz)
    v, n, error = _far_power_corrected(v, n, error, w, pw)
    corrected = v + v * error
    return _ldexp64(tl.where(tl.abs(corrected) < float("inf"), corrected, v), n + k).to(dtype)
'''
TRITON_HELPERS["_frexp64"] = TRITON_DEVICE_HELPERS["_frexp64"]
TRITON_HELPERS["_ldexp64"] = TRITON_DEVICE_HELPERS["_ldexp64"]
TRITON_HELPERS["_far_power"] = TRITON_DEVICE_HELPERS["_far_power"]
TRITON_HELPERS["_constant_far"] = TRITON_DEVICE_HELPERS["_constant_far"]
TRITON_HELPERS["_far_power_corrected"] = TRITON_DEVICE_HELPERS["_far_power_corrected"]
HELPER_NEEDS["_far_power"] = ("_frexp64",)
HELPER_NEEDS["_far_power_corrected"] = ("_frexp64",)
HELPER_NEEDS["_constant_far"] = ("_frexp64", "_far_power_corrected", "_ldexp64")

# session 39 (h-mend39): _constant_far's rest, the factors past its slots, as two factors of normal size (NumPy's
# _scaled_rest): as one product, tanh_y·where_y_nonneg of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y), it went subnormal or 0 at a
# subnormal y before it was split
TRITON_DEVICE_HELPERS["_scaled_rest"] = '''\
@triton.jit
def _scaled_rest(SCALE: tl.constexpr, x, px: tl.constexpr, y, py: tl.constexpr, z, pz: tl.constexpr, w,
                 pw: tl.constexpr, u, pu: tl.constexpr, t, pt: tl.constexpr):
    """x^px·y^py·z^pz·w^pw·u^pu·t^pt (|px| + … + |pt| ≤ 6, 0 for an absent factor) as F·S⁶, F where not SCALE, else
    S: every factor split by _frexp64, the fractions' product F′ (within 2^±6) and the exponents' sum E (|E| ≤ 6450)
    kept apart, F = F′·2^(E − 6s) and S = 2^s, s = ⌊E/7⌋ (|s| ≤ 922), as NumPy's: both normal float64 numbers however
    small or large the product (0, ±inf and NaN pass through F: _frexp64 keeps them, exponent 0). Float32 factors: F
    the product in plain float64 (normal: six float32 numbers' product is within 2^±900) and S = 1, as _taken_far's
    NARROW takes them. Six slots (four before h-worsec40: the rest of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y)'s ∂x holds five,
    one product in float64 went subnormal at a subnormal y: past 4 ULP at 39 of 40 points, worse than torch at 28)."""
    v, n = _far_power(tl.full([], 1.0, tl.float64), 0, x, px, x.dtype != tl.float32)
    v, n = _far_power(v, n, y, py, x.dtype != tl.float32)
    v, n = _far_power(v, n, z, pz, x.dtype != tl.float32)
    v, n = _far_power(v, n, w, pw, x.dtype != tl.float32)
    v, n = _far_power(v, n, u, pu, x.dtype != tl.float32)
    v, n = _far_power(v, n, t, pt, x.dtype != tl.float32)
    s = n // 7
    if SCALE:
        r = _ldexp64(tl.full([], 1.0, tl.float64), s)
    else:
        r = _ldexp64(v, n - 6 * s)
    return r
'''
TRITON_HELPERS["_scaled_rest"] = TRITON_DEVICE_HELPERS["_scaled_rest"]
HELPER_NEEDS["_scaled_rest"] = ("_frexp64", "_far_power", "_ldexp64")

# session 23 (h-quotc23): a constant times the product-order rule's product of three, the constant last or on the factor
# of middle magnitude per element (ConditionalPrinting._moved_constant)
TRITON_DEVICE_HELPERS["_constant_product"] = '''\
@triton.jit
def _constant_product(a, b, c, k, q, lo):
    """k/q·a·b·c (k/q a positive constant within 2^±100, k or q 1): _ordered_product(a, b, c)·k/q, the constant
    last, and where that is below lo = (k/q)·2⁻¹²⁶ (k/q > 1) or inf (lo = 0, k/q < 1) (m·k/q)·(s·l), the constant
    on the factor m of middle magnitude, where that is finite (x·y·z/3 at x = 0.5, y = 1.797e308, z = 3 was inf)."""
    last = _ordered_product(a, b, c) * k / q
    abs_a, abs_b, abs_c = tl.abs(a), tl.abs(b), tl.abs(c)
    a_mid = ((abs_a >= abs_b) & (abs_a <= abs_c)) | ((abs_a <= abs_b) & (abs_a >= abs_c))
    b_mid = ((abs_b >= abs_a) & (abs_b <= abs_c)) | ((abs_b <= abs_a) & (abs_b >= abs_c))
    m = tl.where(a_mid, a, tl.where(b_mid, b, c))
    rest = tl.where(a_mid, b * c, tl.where(b_mid, a * c, a * b))
    first = (m * k / q) * rest
    size = tl.abs(last)
    outside = (size < lo) | (size == float("inf"))
    return tl.where(outside & (tl.abs(first) < float("inf")), first, last)
'''
TRITON_HELPERS["_constant_product"] = TRITON_DEVICE_HELPERS["_constant_product"]
HELPER_NEEDS["_constant_product"] = ("_ordered_product",)

# session 37 (h-triton37): a sum whose terms left the range with opposite signs (ConditionalPrinting._sized_terms), as
# NumPy's _dominant_infinity (session 36, h-gelu36): ∂x of gelu(x/y)⁻² at (1e−310, −3) was NaN (inf − inf) for −inf.
# Triton has no lazy argument: each term's size is computed on every lane, as one signed value σ·(SIZE_OFFSET + size)
# (a term's size and its sign in one float64: a function of a Triton kernel returns tensors, and a term's forms nest)
SIZE_OFFSET = 2.0 ** 16  # past any size printed: ≤ FAR_SLOTS factors, powers within ±SIZE_POWER_MAX, exponents ±1100
SIZE_POWER_MAX = 8
DOMINANT_TERMS = 4  # the terms _dominant_infinity takes (a sum of more is printed as before)
TRITON_DEVICE_HELPERS["_term_size"] = f'''\
@triton.jit
def _term_size(c, x, px: tl.constexpr, y, py: tl.constexpr, z, pz: tl.constexpr, w, pw: tl.constexpr):
    """The term c·x^px·y^py·z^pz·w^pw's size by exponents, log2|c| + Σ p·(e + log2|m|) for each factor f = m·2ᵉ, as one
    value σ·({SIZE_OFFSET!r} + size), σ the term's sign (|size| is below the offset); NaN where a factor is 0, ±inf or
    NaN. The fractions' product v = Π m^p and the exponents' sum n as _constant_far takes them (_far_power: v within
    2^±33, powers within ±{SIZE_POWER_MAX}), then one log2, of |v| in float32 (within 2⁻²³ of it, where the sizes are
    compared against margins of 2 and more: this runs on every lane)."""
    v, n = _frexp64(c)
    v, n = _far_power(v, n, x, px, True)
    v, n = _far_power(v, n, y, py, True)
    v, n = _far_power(v, n, z, pz, True)
    v, n = _far_power(v, n, w, pw, True)
    s = n.to(tl.float64) + tl.log2(tl.abs(v).to(tl.float32)).to(tl.float64) + {SIZE_OFFSET!r}
    return tl.where(tl.abs(s) < float("inf"), tl.where(v < 0.0, -s, s), float("nan"))
'''
TRITON_DEVICE_HELPERS["_first_sized"] = '''\
@triton.jit
def _first_sized(a, b):
    """A term's size (_term_size) from its first form that sizes it: a, else b (the long-product rule's double-word
    factor, then its written factors)."""
    return tl.where(a == a, a, b)
'''
TRITON_DEVICE_HELPERS["_size_fold"] = f'''\
@triton.jit
def _size_fold(top, second, sign, sized, v):
    """The largest size, the next (a tie: the same), the largest's sign and whether every term is sized, with the term
    of signed size v (_term_size) taken in."""
    s = tl.abs(v) - {SIZE_OFFSET!r}
    bigger = s > top
    second = tl.where(bigger, top, tl.maximum(second, s))
    sign = tl.where(bigger, tl.where(v < 0.0, -1.0, 1.0), sign)
    return tl.where(bigger, s, top), second, sign, sized & (v == v)
'''
TRITON_DEVICE_HELPERS["_dominant_infinity"] = f'''\
@triton.jit
def _dominant_infinity(r, margin, n: tl.constexpr, a, b, c, d):
    """r, a sum of n terms (2 ≤ n ≤ 4) as computed, where it is NaN (inf − inf) the infinity of the term whose size is
    past float64's range and past every other term's by more than margin = log2(n) + 2 (the others are less than a
    quarter of it together); a, b, c, d: each term's signed size (_term_size; 0.0 past n). As NumPy's
    _dominant_infinity, whose sizes are computed only where r is NaN; here on every lane, and for a float64 r alone:
    a float32 r is returned as it is, its sizes unused (compiled away). gelu(x/y)⁻²'s float32 main kernel spilled 3.3×
    the bytes with them (sm_90), and its ∂x was of mpmath's class at the 300 tiny-x points of tests/test_triton37.py
    without them."""
    result = r
    if r.dtype == tl.float64:
        top = tl.abs(a) - {SIZE_OFFSET!r}
        sign = tl.where(a < 0.0, -1.0, 1.0)
        top, second, sign, sized = _size_fold(top, top * 0.0 - float("inf"), sign, a == a, b)
        if n > 2:
            top, second, sign, sized = _size_fold(top, second, sign, sized, c)
        if n > 3:
            top, second, sign, sized = _size_fold(top, second, sign, sized, d)
        take = (r != r) & sized & (top >= 1025.0) & (top - second > margin)  # (1025: NumPy's finfo maxexp + 1)
        result = tl.where(take, sign * float("inf"), r)
    return result
'''
for _name in ("_term_size", "_first_sized", "_size_fold", "_dominant_infinity"):
    TRITON_HELPERS[_name] = TRITON_DEVICE_HELPERS[_name]
HELPER_NEEDS["_term_size"] = ("_frexp64", "_far_power")
HELPER_NEEDS["_dominant_infinity"] = ("_size_fold",)


# session 38 (h-reassoc38): a sum that can cancel, summed compensated (ConditionalPrinting._exact_sum_terms)
_EXACT_SLOTS = "bcdfghk"  # _exact_sum's terms after a (ConditionalPrinting.EXACT_SUM_TERMS in all)
_EXACT_STEPS = "".join(f"    s, e = _exact_step(s, e, {v}, n > {i}, SCALE)\n" for i, v in enumerate(_EXACT_SLOTS, 1))
_EXACT_TERMS = ", ".join(_EXACT_SLOTS)
TRITON_DEVICE_HELPERS["_exact_step"] = '''\
@triton.jit
def _exact_step(s, e, t, ON: tl.constexpr, SCALE: tl.constexpr):
    """(s, e) with t·SCALE (in s's dtype) taken in where ON: s + t rounded, and its exact error (TwoSum) added to e."""
    if ON:
        s, d = _dw_two_sum(s, t.to(s.dtype) * SCALE)
        e = e + d
    return s, e
'''
TRITON_DEVICE_HELPERS["_exact_sum2"] = f'''\
@triton.jit
def _exact_sum2(HI: tl.constexpr, LO: tl.constexpr, n: tl.constexpr, SCALE: tl.constexpr, a, {_EXACT_TERMS}):
    """_exact_sum's Sum2 of float64 a, b, … (n terms) and HI + LO, each times SCALE (a power of 2)."""
    s = a * SCALE
    e = s * 0.0
{_EXACT_STEPS}\
    if HI != 0.0:
        s, e = _exact_step(s, e, tl.full([], HI, tl.float64), True, SCALE)
        s, e = _exact_step(s, e, tl.full([], LO, tl.float64), True, SCALE)
    return tl.where(tl.abs(e) > 0.0, s + e, s)
'''
TRITON_DEVICE_HELPERS["_exact_sum"] = f'''\
@triton.jit
def _exact_sum(HI: tl.constexpr, LO: tl.constexpr, n: tl.constexpr, a, {_EXACT_TERMS}):
    """a + b + … (n terms, 1 ≤ n ≤ {len(_EXACT_SLOTS) + 1}; 0.0 past n) + (HI + LO) as if in twice the precision, rounded once
    (Ogita–Rump–Oishi's Sum2), as NumPy's _exact_sum: s, the terms summed left to right, and e, the exact errors of its
    additions (TwoSum) summed; s + e. HI + LO a constant's double word of float64. Where s is ±inf or NaN (e NaN) s
    itself; where e is 0, s (its zero's sign kept). Float32 terms summed so in float64 and rounded once (no float32
    partial passes the range there); float64 terms where that is not finite times 2⁻⁴, summed so and times 2⁴ where
    that is finite (a partial past the range where the whole is not: relu(dp − dn + m) at 3e38 each was inf in float32,
    at 1.797e308 in float64, as NumPy's before h-user39)."""
    if a.dtype == tl.float32:
        return _exact_sum2(HI, LO, n, 1.0, a.to(tl.float64), {_EXACT_TERMS}).to(tl.float32)
    r = _exact_sum2(HI, LO, n, 1.0, a, {_EXACT_TERMS})
    if tl.max(tl.where(tl.abs(r) < float("inf"), 0, 1)) > 0:  # (rare) a block with one not finite: scaled by 2⁻⁴
        again = _exact_sum2(HI, LO, n, 0.0625, a, {_EXACT_TERMS}) * 16.0
        r = tl.where((tl.abs(r) < float("inf")) | ~(tl.abs(again) < float("inf")), r, again)
    return r
'''
# h-sum41: b^k of a rounded sum of three or more exact terms, as NumPy's _rounded_sum_power
_ROUNDED_SUM_STEPS = "".join(f"    hi, lo = _exact_step(hi, lo, {v}, n > {i}, 1.0)\n" for i, v in enumerate(_EXACT_SLOTS, 1))
TRITON_HELPERS["_rounded_sum_power"] = f'''\
@triton.jit
def _rounded_sum_power(s, p, n: tl.constexpr, a, {_EXACT_TERMS}):
    """s^p (_pow) for s a rounded sum of exact terms a + b + … (n of them, 3 ≤ n ≤ {len(_EXACT_SLOTS) + 1}; 0.0 past n),
    with s's rounding restored, as NumPy's _rounded_sum_power: P·(1 + p·δ), δ = ((hi − s) + lo)/s from the double word
    hi + lo of the terms in float64 (summed left to right, each addition's exact error summed beside); P where that is
    not finite."""
    power = _pow(s, 0.0, p)  # (p: k is a term's slot)
    hi = a.to(tl.float64)
    lo = hi * 0.0
{_ROUNDED_SUM_STEPS}\
    delta = ((hi - s) + lo) / s
    out = (power * (1.0 + p * delta)).to(s.dtype)
    return tl.where(tl.abs(out) < float("inf"), out, power)
'''
HELPER_NEEDS["_rounded_sum_power"] = ("_pow", "_exact_step")
for _name in ("_exact_step", "_exact_sum2", "_exact_sum"):
    TRITON_HELPERS[_name] = TRITON_DEVICE_HELPERS[_name]
HELPER_NEEDS["_exact_step"] = ("_dw_two_sum",)
HELPER_NEEDS["_exact_sum2"] = ("_exact_step",)
HELPER_NEEDS["_exact_sum"] = ("_exact_sum2",)


def _literal(value: float) -> str:
    """A float constant as Triton source: repr, except inf, -inf and nan, which repr writes as names the kernel
    does not have (float("inf") is a constant to Triton)."""
    if np.isnan(value):
        return 'float("nan")'
    if np.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(value)


# b^n of an integer n (or n + 1/2) beyond this as the _pow helper, not as |n| factors b·b·…·b: each product rounds,
# n − 1 roundings (x^50 6 ULP in float64, 14.6 for its ∂ in float32, against torch.pow's 0) and an expression n deep,
# which Triton's AST walk could not take (x^1000: RecursionError; session 26, h-break26). b², b³ and b⁴ stay products
# (at most 1.5 ULP; the committed kernels' powers are all among them). Open: in float64 on the H200 _pow's double word
# lost its low word (x^50 6.5 ULP, the products 4.3; x^1000 121; to x^20 both ≤ 3; under the interpreter 0.9):
# tests/test_break26.py's strict xfails
PRODUCT_POWER_MAX = 4

class TritonPrinter(ConditionalPrinting, StrPrinter):
    """SymPy expressions as Triton expressions over register tensors."""

    # the table of ConditionalPrinting (symnet/codegen/backends/printing.py)
    BACKEND, WHERE, COMPARISON = "Triton", "tl.where({0}, {1}, {2})", "{0} {op} {1}"
    WIDE_CONSTANT = "tl.full([], {0}, tl.float64)"  # a float32 value against it compared in float64
    # NaN in, NaN out, as torch.maximum (relu(nan) = nan); tl.maximum alone returns the other operand
    MAXIMUM = "tl.maximum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)"
    MINIMUM = "tl.minimum({0}, {1}, propagate_nan=tl.PropagateNan.ALL)"

    printmethod = "_symnet_triton"
    # SymPy class name → template, {0} the printed argument: the code generator's own nodes;
    # the functions a formula may use take their Triton templates from the registry
    FUNCTIONS = {"nexp": "_exp(-({0}))"}  # (float32's tl.exp: registry._exp)

    def __init__(self, names: dict, helpers: set, constant_dtype: str | None = None):
        super().__init__()
        self.names = names
        self.helpers = helpers
        # Triton makes a Python float literal float32, even beside float64 tensors: where a
        # kernel computes in float64, a constant float32 cannot hold exactly (0.01, 1/√π) is
        # printed as tl.full([], c, <constant_dtype>), the dtype the kernel computes in
        self.constant_dtype = constant_dtype
        self.plain_widened = False  # True: a widened sum prints as its body (a generated function's float64 body)
        # the printed condition where the piece being printed is selected (None: everywhere): a widened sum there
        # passes it as ``needed``, so that a float32 block takes the double word for an element it selects only
        self.selected: str | None = None
        # the kernel's repair kernel, where it has one (the elementwise skeleton): (its constexpr, the block's flag
        # pointer), passed to a widened sum whose third tier (doubleword.TRITON_TIER_INLINE) or scaled tier goes there;
        # ``repaired``: the names of those functions this printer called → their tiers' REPAIR_BITS
        self.repair: tuple[str, str, str] | None = None  # (and the block's mask: its lanes that hold elements)
        self.repaired: dict = {}
        self.repair_float32 = False  # a float32 kernel's double words in the repair kernel too (the elementwise one)
        self.definitions: dict = {}  # temporary → its expression, where the family gives them (the elementwise one)
        self.preceding: set | None = None  # those of them printed so far, where the family fills it (the elementwise one)

    _overflow_printing = False  # True while _print_Mul prints c·b^u as before (for _exp_overflowed's first argument)
    OVERFLOW_SMALLEST = 0.0  # any 0 < |c| < 1: float32's shift a32 grows for a tiny c (ConditionalPrinting._exp_shift)

    def _print_PowerBound(self, e):
        b, m = e.args
        self._need("_power_bound")
        return f"_power_bound({self._print(b)}, {2.0 ** e.bits(m)!r}, {2.0 ** e.bits(m, True)!r})"

    def _print_PowerProduct(self, e):
        n, x, y = e.args
        self._need("_power_product")
        grouped = self._print(sp.Pow(sp.UnevaluatedExpr(x * y), n))
        return f"_power_product({self._print(x ** n)}, {self._print(y ** n)}, {grouped})"

    float32_products = False  # True: the elementwise skeleton's float32 products in float64 (_wide_product)

    @contextlib.contextmanager
    def _narrow(self):
        """Inside, products print as before (the narrow form; a condition's, a long product's leaves)."""
        wide, self.float32_products = self.float32_products, False
        try:
            yield
        finally:
            self.float32_products = wide

    def _wide_product(self, e) -> str | None:
        """The float64 code of the long product ``e`` in a float32 kernel (:meth:`ConditionalPrinting._long_product`),
        its leaves widened and multiplied, the number last; None for any other product."""
        found = self._long_product(e)
        if found is None:
            return None
        c, leaves = found
        with self._narrow():
            codes = []
            for leaf, n in sorted(leaves.items(), key=lambda item: str(item[0])):
                codes += [self._wide_leaf(leaf)] * n
        product = " * ".join(codes)
        if abs(c) != 1:
            value = float(abs(c))
            product += " * " + (repr(value) if float(np.float32(value)) == value else f"tl.full([], {value!r}, tl.float64)")
        return f"-{product}" if c < 0 else product

    def _float32_quotient(self, e, plain: str) -> str:
        """As NumPy's: a float32 kernel's product ``e`` taken by exponents computed in float64 from its printed factors
        and rounded once (:meth:`ConditionalPrinting._widened_product`), ``plain`` as printed in a float64 kernel."""
        if not self.float32_products:
            return plain
        with self._narrow():
            wide = self._widened_product(
                e, lambda b: f"{self.parenthesize(b, PRECEDENCE['Atom'], strict=True)}.to(tl.float64)",
                lambda v: repr(v) if float(np.float32(v)) == v else f"tl.full([], {v!r}, tl.float64)",
                "tl.full([], 1.0, tl.float64)")
        if wide is None:
            return plain
        self._need("_float32_in_float64")
        return f"_float32_in_float64({plain}, {wide})"

    def _scaled_far_rest(self, pairs) -> list[str] | None:
        """As NumPy's: a float64 kernel's rest of ``_constant_far`` as ``_scaled_rest``'s fraction and scale (F, 1, S,
        6), where it holds ``REST_SLOTS`` factors or fewer and Σ|p| ≤ 6; a float32 kernel's (its ``_float32_in_float64``
        computes the product in float64 instead: this one is not returned) likewise."""
        if len(pairs) > self.REST_SLOTS or sum(abs(p) for _, p in pairs) > self.REST_SLOTS:
            return None
        self._need("_scaled_rest")
        slots = [f"{self._print(b)}, {p}" for b, p in pairs] + [f"{self.ABSENT}, 0"] * (self.REST_SLOTS - len(pairs))
        args = ", ".join(slots)
        return [f"_scaled_rest(False, {args})", "1", f"_scaled_rest(True, {args})", RestScale(str(self.REST_SLOTS))]

    REST_SLOTS = 6  # the factors (and the sum of their |powers|) _scaled_rest takes

    def _printed_far_rest(self, pairs) -> str:
        """As NumPy's: a float32 kernel's last factor of ``_constant_far`` that holds several in float64 (∂v of
        w·x·y·z/v at (4.0e28, 8, 7.0e31, −1.5e18, −1.9e35), y·z = inf, was −inf for −9.88e28); a float64 kernel's
        widening is no conversion."""
        if not self.float32_products:
            return super()._printed_far_rest(pairs)
        with self._narrow():
            return self._widened_far_rest(
                pairs, lambda b: f"{self.parenthesize(b, PRECEDENCE['Atom'], strict=True)}.to(tl.float64)",
                "tl.full([], 1.0, tl.float64)")

    _scaled_printing = False  # True while _print_Mul prints r^k·W(r·x, …) as before (_scaled_in_float64's narrow)

    def _scale_power(self, f) -> int:
        """k where f is r^k, r = binade_reciprocal(…) (or a temporary holding it), k a nonzero integer; else 0."""
        base, k = f.as_base_exp()
        held = self.definitions.get(base, base) if base.is_Symbol else base
        return int(k) if isinstance(held, binade_reciprocal) and k.is_Integer else 0

    def _wide_scaled(self, e) -> str | None:
        """The float64 code of r^k·W(r·x, …) in a float32 kernel (W a widened sum at the inputs times r, a power of
        two: the homogeneous-quotient and reciprocal-margin rules, a power of r at a time in Grouped products): W's
        body in float64 at its arguments (their factors in float64: r·x exact), times or over r; None for any other
        product."""
        if isinstance(e, Grouped):
            return self._wide_scaled(e.args[0])
        if isinstance(e, WidenedBase):
            def factors(a):  # r·x's factors, through the temporaries holding products (fn_1_times_x: r·x in float32)
                held = self.definitions.get(a) if a.is_Symbol else a
                return [g for f in held.args for g in factors(f)] if isinstance(held, sp.Mul) else [a]

            with self._narrow():  # (r·x in float64: exact where it is below float32's range too)
                args = [" * ".join(f"({self._print(f)}).to(tl.float64)" for f in factors(a)) for a in e.args]
            plain = self._widened_body_printer(dict(zip(e.leaves, args)))
            plain.constant_dtype, plain.float32_products = "tl.float64", False  # (float64 already)
            return f"({plain.doprint(nan_through(e.body))})"
        if not isinstance(e, sp.Mul):
            return None
        rest = [f for f in e.args if not self._scale_power(f)]
        if len(rest) != 1 or len(rest) == len(e.args):
            return None
        code = self._wide_scaled(rest[0])
        if code is None:
            return None
        with self._narrow():
            for f in e.args:
                k = self._scale_power(f)
                r = f"({self._print(f.as_base_exp()[0])}).to(tl.float64)"
                code += "".join(f" * {r}" if k > 0 else f" / {r}" for _ in range(abs(k)))
        return code

    _power_wide = False  # True while _wide_leaf prints a power b^(k·u + c) of a temporary: _pow's float64 value

    def _wide_leaf(self, leaf) -> str:
        """A factor of a long product in float64: a temporary holding e^u of a long product u, or a power b^(k·u + c) of
        a variable exponent (:meth:`ConditionalPrinting._rooted_power`'s), or a select among such values and others,
        computed again in float64 (its float32 value where another value is selected: rounded once already),
        anything else its float32 value widened (exact). (∂x of (y^x)³, 3·y^(3x)·log y, at (0.3, 1.4e−45) was 151
        ULP off with y^(3x) = 1.3e−40 rounded to a float32 subnormal first; torch 0.85; session 40)"""
        narrow = f"{self.parenthesize(leaf, PRECEDENCE['Atom'], strict=True)}.to(tl.float64)"
        held = self.definitions.get(leaf)
        if held is None and isinstance(leaf, sp.Piecewise):  # a select written in the product ({1 if x = 0; y^(3x)}
            held = leaf  # of ∂y of √(y^(3x + 1)): inf at (9.19, 91.7) in float32 for 3.2e29, the power overflowed)
        pieces = held.args if isinstance(held, sp.Piecewise) else [(held, sp.true)]
        power = held is not None and self._rooted_power(leaf, self.definitions) != leaf
        values = []
        for value, _ in pieces:
            if getattr(type(value), "body", None) is not None and hasattr(value, "expanded"):  # a widened e^u: its
                value = value.expanded  # float64 body is within float32's bound (doubleword.widened_function)
            if power and value != 1:
                value = self.definitions.get(value, value)  # (a temporary holding the power: the power again)
                self._power_wide = True
                try:
                    values.append(self._print(value))
                finally:
                    self._power_wide = False
                continue
            u = self._wide_argument(value.args[0]) if isinstance(value, sp.exp) else None
            values.append(narrow if u is None else f"_exp({u})")
        if all(v == narrow for v in values):
            return narrow
        self._need("_exp")
        return self._wide_select(values, [c for _, c in pieces])

    def _wide_select(self, values: list, conditions: list) -> str:
        """The select of the float64 ``values`` (printed) by ``conditions`` (the last one's: everywhere else), its
        conditions as printed; one value where all are the same (x³·y³ and (x·y)³ chosen by float32's bound: one
        product in float64; e^u and its widened form)."""
        if len(set(values)) == 1:
            return values[0]
        code = values[-1]
        with self._narrow():
            for value, condition in reversed(list(zip(values[:-1], conditions[:-1]))):
                code = self.WHERE.format(self._print(condition), value, code)
        return code

    def _wide_argument(self, u) -> str | None:
        """The float64 code of ``u``, an exponential's argument in a float32 kernel, where it is a long product
        (:meth:`_wide_product`) or a select of such products and numbers (its conditions as printed); else None."""
        if isinstance(u, sp.Piecewise):
            values = []
            for value, _ in u.args:
                code = self._number(float(value)) if value.is_number and not value.free_symbols else \
                    self._wide_argument(value)
                if code is None:
                    return None
                values.append(code)
            if all(v.is_number for v, _ in u.args):
                return None
            return self._wide_select(values, [c for _, c in u.args])
        return self._wide_product(u)

    def _float32_in_float64(self, e, wide: str) -> str:
        """``_float32_in_float64(narrow, wide)``: ``e`` as printed before, in a float64 kernel; ``wide`` in a float32 one."""
        with self._narrow():
            narrow = self._print(e)
        self._need("_float32_in_float64")
        return f"_float32_in_float64({narrow}, {wide})"

    def _print_exp(self, e):  # a float32 kernel's e^u of a long product u: both in float64, rounded once
        wide = self._wide_argument(e.args[0]) if self.float32_products else None
        if wide is None:
            return self._print_Function(e)
        self._need("_exp")
        return self._float32_in_float64(e, f"_exp({wide})")

    def _exact_sum_code(self, e, terms, constant, grouped) -> str:
        """``_exact_sum(hi, lo, n, t₁, …)`` of an exact sum's terms (:meth:`_exact_sum_terms`); where a group was taken
        apart, the sum ``e`` as written again where that is not finite (``_taken_again``)."""
        self._need("_exact_sum")
        hi, lo = _double_word(constant) if constant != 0 else (0.0, 0.0)
        codes = [self._print(t) for t in terms] + ["0.0"] * (self.EXACT_SUM_TERMS - len(terms))
        code = f"_exact_sum({hi!r}, {lo!r}, {len(terms)}, {', '.join(codes)})"
        common = self._common_coefficient_terms(terms, constant)
        if common is not None:  # c·Σ tᵢ where the distributed terms c·tᵢ overflowed (_common_coefficient_terms)
            inner, c = common
            self._need("_taken_again")
            again = [self._print(t) for t in inner] + ["0.0"] * (self.EXACT_SUM_TERMS - len(inner))
            code = f"_taken_again({code}, _exact_sum(0.0, 0.0, {len(inner)}, {', '.join(again)}) * {c!r}, True)"
        if not grouped:
            return code
        self._need("_taken_again")  # a group taken apart: the sum as written where this is not finite
        return f"_taken_again({code}, {super()._print_Add(e)})"

    def _print_Add(self, e):
        """A collected sum (ConditionalPrinting._quartered_sum) taken again as 4·(Σ tᵢ/4) where it is not finite, as
        NumPy's; a sum of sized terms (ConditionalPrinting._sized_terms) wrapped in ``_dominant_infinity``: a term's
        infinity where the sum is NaN and that term is past the others; any other sum as ConditionalPrinting._print_Add.
        Sized terms of more than DOMINANT_TERMS, or a form of more than FAR_SLOTS factors or a power past
        ±SIZE_POWER_MAX (_term_size's offset): as before."""
        quartered = self._quartered_sum(e)
        if quartered is not None:
            # session 48 (h-gmm48): a quartered sum that can cancel is summed compensated too (NumPy's printer)
            exact = self._exact_sum_terms(e)
            plain = None if exact is None else self._exact_sum_code(e, *exact)
            self._select_moving = True
            try:
                plain, again = plain or super()._print_Add(e), self._print(quartered)
            finally:
                self._select_moving = False
            self._need("_taken_again")
            return f"_taken_again({plain}, 4.0 * ({again}), True)"
        sized = self._sized_terms(e)
        if sized is None or len(sized) > DOMINANT_TERMS or any(
                len(pairs) > self.FAR_SLOTS or any(abs(p) > SIZE_POWER_MAX for _, p in pairs)
                for forms in sized for _, pairs in forms):
            exact = self._exact_sum_terms(e)
            if exact is None:
                return super()._print_Add(e)
            return self._exact_sum_code(e, *exact)
        self._need("_dominant_infinity")
        sizes = []
        for forms in sized:
            codes = []
            for c, pairs in forms:
                self._need("_term_size")
                slots = [f"{x}, {p}" for x, p in pairs] + [f"{self.ABSENT}, 0"] * (self.FAR_SLOTS - len(pairs))
                codes.append(f"_term_size(tl.full([], {c!r}, tl.float64), {', '.join(slots)})")
            code = codes[-1]
            for first in reversed(codes[:-1]):
                self._need("_first_sized")
                code = f"_first_sized({first}, {code})"
            sizes.append(code)
        sizes += ["0.0"] * (DOMINANT_TERMS - len(sizes))
        margin = math.log2(len(sized)) + 2
        return f"_dominant_infinity({super()._print_Add(e)}, {margin!r}, {len(sized)}, {', '.join(sizes)})"

    def _compared(self, side, prec) -> str:  # a condition's products as printed: a threshold, not a value (no float64)
        with self._narrow():
            return super()._compared(side, prec)

    def _print_Mul(self, e):
        """c·e^u and c·2^u, 0 < |c| < 1 (ConditionalPrinting._exp_overflow), as printed before wrapped in
        ``_exp_overflowed``: taken again where b^u overflowed first and the product need not; in a float32 kernel
        r^k·W(r·x, …) wrapped in ``_scaled_in_float64`` (:meth:`_wide_scaled`) and a long product in
        ``_float32_in_float64`` (:meth:`_wide_product`); any other product as ConditionalPrinting._print_Mul."""
        # (r^k·W before the long products: r·r·r·W is one, whose float64 form would take W rounded to float32)
        wide = self._wide_scaled(e) if self.float32_products and not self._scaled_printing else None
        if wide is not None:
            self._scaled_printing = True
            try:
                narrow = self._print_Mul(e)
            finally:
                self._scaled_printing = False
            self._need("_scaled_in_float64")
            return f"_scaled_in_float64({narrow}, {wide})"
        wide = self._wide_product(e) if self.float32_products else None
        if wide is not None:
            return self._float32_in_float64(e, wide)
        moved = self._taken_again_pair(e, self._print_Mul)
        if moved and moved.by_exponents is not None:  # computed in the helper, in a block that needs it
            far, held = moved.by_exponents, moved.held
            self._need("_taken_far")
            flag = " | ".join(f"_not_normal({t})" for t in held) or self.ABSENT
            # (_taken_far's NARROW; a rest's scale, _scaled_rest(True, …), is 1 for float32 factors: not counted)
            narrow = far[1] == "0" and sum(abs(int(p)) for p in far[3::2] if not isinstance(p, RestScale)) <= 6
            plain = self._float32_quotient(e, moved.plain)
            return f"_taken_far({plain}, {flag}, {bool(held)}, {', '.join(self._far_arguments(far))}, {narrow})"
        if moved:
            self._need("_taken_again")
            return f"_taken_again({moved.plain}, {moved.again})"
        found = None if self._overflow_printing else self._exp_overflow(e)
        if found is None:
            return self._exp_overflow_factor_call(e)
        c, u, b = found
        self._overflow_printing = True
        try:
            plain = super()._print_Mul(e)
        finally:
            self._overflow_printing = False
        (a32, ca32), ca64 = self._exp_shift(c, b, float32=True), self._exp_shift(c, b, float32=False)[1]
        self._need("_exp_overflowed")
        return (f"_exp_overflowed({plain}, {self._print(u)}, {a32!r}, {ca32!r}, tl.full([], {ca64!r}, tl.float64), "
                f"{b == '2'})")

    def _exp_overflow_factor_call(self, e):
        """f·e^u and f·2^u, f holding a variable (ConditionalPrinting._exp_overflow_factor), as printed before wrapped
        in ``_exp_overflowed_by``; any other product as ConditionalPrinting._print_Mul."""
        found = None if self._overflow_printing else self._exp_overflow_factor(e)
        if found is None:
            return super()._print_Mul(e)
        f, u, b = found
        self._overflow_printing = True
        try:
            plain = super()._print_Mul(e)
        finally:
            self._overflow_printing = False
        (a32, ba32), ba64 = (self._exp_shift(sp.Integer(1), b, float32=True),
                             self._exp_shift(sp.Integer(1), b, float32=False)[1])
        self._need("_exp_overflowed_by")
        exact = self._signed_input(f, getattr(self, "definitions", {}))  # an input: no rounding
        call = (f"_exp_overflowed_by({plain}, {self._print(u)}, {self._print(f)}, {a32!r}, {ba32!r}, "
                f"tl.full([], {ba64!r}, tl.float64), {b == '2'}, {exact})")
        divisor = self._exp_divisor(f, getattr(self, "definitions", {}))
        if divisor is None:
            return call
        n, d, p, exact = divisor  # f = n/d^p: 1/d^p overflows where the quotient need not (session 31, h-torch31)
        self._need("_exp_underflowed_over")
        n = f"tl.full([], {float(n)!r}, tl.float64)" if n.is_Number else self._print(n)
        return f"_exp_underflowed_over({call}, {self._print(u)}, {n}, {self._print(d)}, {p}, {b == '2'}, {exact})"

    def _number(self, value: float) -> str:
        if not np.isfinite(value):  # 1e350·x, exp(1000)·x: repr's inf named nothing in the kernel (NameError at launch)
            return _literal(value)
        if self.constant_dtype is None:
            return repr(value)
        with np.errstate(over="ignore"):  # 1e308: not a float32, no RuntimeWarning about the cast
            if float(np.float32(value)) == value:
                return repr(value)
        return f"tl.full([], {value!r}, {self.constant_dtype})"

    def _print_Symbol(self, s):
        return self.names.get(s, s.name)

    def _print_Integer(self, e):
        if abs(int(e)) <= 2 ** 24:  # exact in float32, the dtype Triton gives a Python float literal
            return f"{int(e)}.0"
        return self._number(float(e))  # 16777217, 10**308: tl.full in the kernel's dtype (inf in float32)

    def _print_Rational(self, e):
        return self._number(float(e))

    def _print_Float(self, e):
        return self._number(float(e))

    def _print_NumberSymbol(self, e):
        return self._number(float(e))

    _print_Exp1 = _print_Pi = _print_NumberSymbol

    # NaN, and SymPy's complex infinity (1/0 in a select's branch never taken), as the not-a-number it is on the reals:
    # both printed as names the kernel does not have (h-hyp28; the NumPy printer's _print_NaN)
    def _print_NaN(self, e):
        return _literal(float("nan"))

    _print_ComplexInfinity = _print_NaN

    def _print_Pow(self, e, rational=False):
        base, exp = e.args
        if self.constant_dtype is not None and e.is_number and not e.free_symbols:  # √2, 1/√π: a constant
            # (doit: a kept bracket's number, Grouped(1)**−2 of (t − p)/b − 1/κ + 2κ/(1 + κ²)'s ∂κ, has no float of
            # its own: TypeError "Cannot convert expression to float" from symnet.compile(…, backend="triton"), session 37)
            return self._number(float(e.doit()))
        b = self.parenthesize(base, PRECEDENCE["Atom"], strict=True)  # an atom, else in parentheses
        rounded = self._rounded_power_base(e)
        if rounded is not None:  # b^k of a rounded sum, quotient or log: b's rounding restored (_rounded_base)
            kind, *args = rounded
            if kind == "log":
                self._need("_rounded_log_power")
                return f"_rounded_log_power({self._print(base)}, {float(exp)!r}, {self._print(args[0])})"
            if kind == "sum" and len(args) > 2:  # x + y + z: its terms' double word (_rounded_sum_power)
                self._need("_rounded_sum_power")
                codes = [self._print(t) for t in args] + ["0.0"] * (self.EXACT_SUM_TERMS - len(args))
                return f"_rounded_sum_power({self._print(base)}, {float(exp)!r}, {len(args)}, {', '.join(codes)})"
            self._need("_rounded_base_power")
            a, b_, d = args if kind == "quotient" else (*args, None)
            return (f"_rounded_base_power({self._print(base)}, {float(exp)!r}, {self._print(a)}, {self._print(b_)}, "
                    f"{'0.0' if d is None else self._print(d)}, {d is not None})")
        if (2 * exp).is_Integer and abs(exp) > PRODUCT_POWER_MAX:  # b^n as C's pow (signs, 0, inf: _pow_signs)
            self._need("_pow")
            n = float(exp)  # as _pow's c below: exact in float32, else a float64 constant (x**(10**20) from SymPy)
            c = _literal(n) if not np.isfinite(n) or float(np.float32(n)) == n else f"tl.full([], {n!r}, tl.float64)"
            return f"_pow({self._print(base)}, 0.0, {c})"
        if exp.is_Integer:
            n = int(exp)
            product = " * ".join([b] * abs(n)) if n != 0 else "1.0"
            if n < 0:
                return f"1.0 / ({product})" if abs(n) > 1 else f"1.0 / {b}"
            return f"({product})" if n > 1 else product
        root = self._root_of_held_power(e)
        if root is not None:  # √t of a temporary t = b^e: |b|^(e/2) where t ≥ 0 (the power may leave the range where
            # its root does not; |b|: b < 0 there is a b^e of even e, and b^(e/2) had the wrong sign where e/2 is odd,
            # √(y^(3x + 1)) at x = −1, y = −1e200 −1e−200); √t itself, NaN, where t < 0 or NaN (NumPy: raised only
            # where t is not normal, _root_of_power)
            t = self._print(base)
            if exp == sp.S.Half:
                return f"tl.where({t} >= 0.0, {self._print(sp.Pow(sp.Abs(root.base), root.exp))}, tl.sqrt({t}))"
            return f"tl.where({t} >= 0.0, {self._print(sp.Pow(sp.Abs(root.base), -root.exp))}, 1.0 / tl.sqrt({t}))"
        if exp == sp.S.Half:
            return f"tl.sqrt({self._print(base)})"
        if exp == -sp.S.Half:
            return f"1.0 / tl.sqrt({self._print(base)})"
        if (2 * exp).is_Integer:  # b^(n/2) = b^⌊n/2⌋·√b, b^(−n/2) = ((1/b)/b…)/√b: e^(−1.5·log b) rounds the
            # product −1.5·log b, |log b| ulps of the result (543 ULP in float64 at b = 1e206); the quotients never
            # overflow where the power does not
            n = abs(int(exp - sp.S.Half)) if exp > 0 else abs(int(exp + sp.S.Half))
            root = f"tl.sqrt({self._print(base)})"
            if exp > 0:
                return "(" + " * ".join([b] * n + [root]) + ")"
            return "(" + "".join(["("] * n) + "1.0" + "".join(f" / {b})" for _ in range(n)) + f" / {root})"
        if base == 2:  # 2^u: exact at whole u (e^(u·log 2), the product rounded, was 502 ULP in float64 at u = 1000)
            self._need("_exp2")
            return f"_exp2({self._print(exp)})"
        if base.is_number and base.is_positive:  # b^u = e^(u·log b), log b in two float64 parts and the product
            # u·log b not rounded first (_exp_times; rounded, it was 84 ULP of 10^u in float32 at u = 38, 968 in float64
            # at 300); a float base by its exact binary value
            log_b = sp.log(sp.Rational(base) if base.is_Float else base).evalf(40)
            c_hi = float(log_b)
            c_lo = float(log_b - sp.Float(c_hi, 40))
            self._need("_exp_times")
            return (f"_exp_times({self._print(exp)}, tl.full([], {c_hi!r}, tl.float64), "
                    f"tl.full([], {c_lo!r}, tl.float64))")
        # b^u = e^(u·log b), in double words in float64 (the _pow helper): real for b > 0 only, as SymPy's
        # principal power
        if self.plain_widened:  # a widened function's float64 body: its double words compute the power, this
            # value is taken only where they are not finite (or, in a float32 kernel, is float64 already); the
            # helper's _dw_log there took the focal loss's float64 kernel from 147 to 183 s of CPU to compile (sm_90)
            self._need("_pow_signs")
            b = self._print(base)
            return f"_pow_signs({b}, {self._print(exp)}, tl.exp({self.parenthesize(exp, PRECEDENCE['Mul'])} * tl.log(tl.abs({b}))))"
        c, u = exp.as_coeff_Add()  # γ + 1: the constant added in double words, not rounded first
        self._need("_pow")
        # c as a float64 constant: _pow works in float64, and c in a float32 kernel's dtype (1/3 rounded to float32)
        # times |log b| ≤ 103 was 12 ULP of b^(1/3) at b = 3.4e38, 27.6 of ∂ at 1.4e−45 (session 21, h-cbrt21)
        if exp.is_number and not exp.is_Float and sp.Rational(float(exp)) != exp:
            # a constant not a double (2/3, 3/10; √2, 1/π, √2 − 1): its rounding error as u, a float64 constant, so
            # that _pow's two-sum u + c is the constant to 2⁻¹⁰⁶: e^(fl(2/3)·log b) was 150 ULP off at b = 1e300
            # (|log b|·2⁻⁵⁴ of b^(2/3)), x**0.3's ∂ 39 ULP at 1e−45 (session 22, h-fracpow22), x**√2 300 ULP at 1e200
            # (session 34); a float32 kernel's float64 u + c is c
            c, u = sp.Float(float(exp)), float(sp.N(exp - sp.Rational(float(exp)), 30))
        wide = repr(float(c)) if float(np.float32(float(c))) == float(c) else f"tl.full([], {float(c)!r}, tl.float64)"
        if isinstance(u, float):
            return f"_pow({self._print(base)}, tl.full([], {u!r}, tl.float64), {wide})"
        affine = self._affine_exponent(exp)
        if affine is not None:  # b^(k·u + c): k·u + c not rounded first (y^(3x) of (y^x)³, y^sum_1 with sum_1 = 1 + 3x)
            c, k, k_lo, u = affine
            wide = repr(float(c)) if float(np.float32(float(c))) == float(c) else f"tl.full([], {float(c)!r}, tl.float64)"
            scale = "" if (k, k_lo) == (1.0, 0.0) and not self._power_wide else f", {k!r}, {k_lo!r}"
            left = ", True" if self._power_wide else ""  # (a factor of a float32 kernel's float64 product: not rounded)
            return f"_pow({self._print(base)}, {self._print(u)}, {wide}{scale}{left})"
        return f"_pow({self._print(base)}, {self._print(u) if u != 0 else '0.0'}, {wide})"

    def _print_Function(self, e):
        name = type(e).__name__
        if e.is_number and not e.free_symbols:  # log(2), erf(1): a constant
            return self._number(float(e))
        template = triton_template(type(e)) or self.FUNCTIONS.get(name)
        arity = 1 if isinstance(e, sp.Heaviside) else len(e.args)  # H(u, 0): its argument u
        if template is None or "{%d}" % (arity - 1) not in template or "{%d}" % arity in template:
            raise SymnetError(f"the Triton backend cannot generate {name} (in {text(e)})")
        helper = template.split("(")[0]
        if helper.startswith("_"):
            self._need(helper)
        return template.format(*[self._print(a) for a in e.args[:arity]])

    def _known_select(self, e) -> str | None:  # ConditionalPrinting._print_Piecewise asks first
        return self._select_telling_pieces(e)  # as the NumPy printer: a widened sum's ``needed`` where selected

    def _print_WrittenWhereNotFiniteBase(self, e):
        """The long-product rule's widen(H)·R taken as written where it is not finite (rewrite.WrittenWhereNotFiniteBase),
        a select as the printers' own products."""
        if self.plain_widened:
            return f"({self._print(e.args[1])})"
        self._need("_taken_again")
        out = f"_taken_again({self._print(e.args[0])}, {self._print(e.args[1])}, True)"
        for far in self._far_forms(e.args):  # a third order where both are ±inf or NaN (session 38), on every lane
            out = f"_taken_again({out}, {far}, True)"
        return out

    def _print_TakenWhereInfiniteBase(self, e):
        """A value where an input is ±inf, another elsewhere (rewrite.TakenWhereInfiniteBase, left50): its select,
        printed here (not in the expression, where SymPy's piecewise_fold would distribute it)."""
        return self._print(e.as_select())

    def _print_WrittenWhereNotFiniteOrBelowBase(self, e):
        """The power-quotient rule's N/x^k taken as Σ tᵢ/x^k where it is not finite or N is below the normal range
        (rewrite.WrittenWhereNotFiniteOrBelowBase): ``_taken_below``, a select as the printers' own products."""
        if self.plain_widened:
            return f"({self._print(e.args[1])})"
        self._need("_taken_below")
        return f"_taken_below({self._print(e.args[0])}, {self._print(e.args[2])}, {self._print(e.args[1])})"

    def _print_WidenedBase(self, e):
        """A widened sum (the widen rule): a call of the ``@triton.jit`` function generated for its
        body (:func:`symnet.codegen.doubleword.widened_function`), which computes it in double-word
        arithmetic where the kernel's dtype is float64 (a branch resolved when Triton compiles), in
        float64 where it is float32, and rounds once to the first leaf's dtype."""
        if self.plain_widened:  # inside a generated function's float64 body: the body itself
            return f"({self._print(nan_through(e.expanded))})"
        names = leaf_identifiers(e.leaves)
        plain = self._widened_body_printer({leaf: f"{n}_f64" for leaf, n in zip(e.leaves, names)})
        plain.constant_dtype, plain.float32_products = "tl.float64", False  # (float64 already)
        function = keep_generated("triton", self._generated_once(e, plain, lambda: widened_function(
            e, "triton", plain, names, needed=self.selected is not None, repair=self.repair is not None,
            repair_float32=self.repair_float32), (self.selected is not None, self.repair is not None, self.repair_float32)))
        for helper in [*function.needs, function.name]:
            self._need(helper)
        needed = "" if self.selected is None else f", {self.selected}"  # where the select takes it
        if function.repair:  # its tier in the repair kernel: the constexpr, and the block's flag
            self.repaired[function.name] = function.repair
            needed += f", {', '.join(self.repair)}"
        return f"{function.name}({', '.join(self._print(a) for a in e.args)}{needed})"

    ABSENT = "1.0"  # an absent factor of _constant_times: a product or quotient by 1, exact

    # session 44 (h-cos44): _far_power's loop is unrolled for any constexpr power; ±4 left (x − y)⁹ of ∂x of x·y/(x − y)⁸
    # whole beside x and y (five pairs past the four slots), 0 at x − y ≈ 1e−38 before it was split: inf for 1.93e297
    # at x, y ≈ 8e−25 (NumPy, ±6: (x − y, −6), (x − y, −3), right). ±6 as NumPy's: four factors' fractions within
    # 2^±6 each keep the partial products within [2⁻²⁵, 2²⁴]
    FAR_POWER = 6

    def _moved_call(self, args: list) -> str:
        self._need("_constant_times")
        return super()._moved_call(args)

    def _quotients_call(self, args: list) -> str:
        self._need("_constant_quotients")
        return super()._quotients_call(args)

    def _far_number(self, m: float) -> str:  # a float64 (a Python float literal in a Triton kernel is a float32)
        return f"tl.full([], {m!r}, tl.float64)"

    def _far_call(self, args: list) -> str | None:
        if self.constant_dtype is None:  # (a printer without the kernel's dtype: _constant_times computes in it)
            return None
        self._need("_constant_far")
        return f"_constant_far({', '.join(self._far_arguments(args))})"

    def _far_arguments(self, args: list) -> list[str]:
        """``_constant_far``'s arguments: m, k, each factor and its power, every slot filled (constexpr powers), the
        kernel's dtype."""
        absent = [self.ABSENT, "0"] * (self.FAR_SLOTS - (len(args) - 2) // 2)
        return [*args, *absent, self.constant_dtype]

    def _product_call(self, args: list) -> str:
        self._need("_constant_product")
        self._need("_ordered_product")
        return super()._product_call(args)

    def _need(self, helper: str) -> None:
        """A device helper (and the helpers it calls) goes into the module."""
        if helper not in TRITON_HELPERS and helper in TRITON_DEVICE_HELPERS:  # a function registered after import
            TRITON_HELPERS[helper] = TRITON_DEVICE_HELPERS[helper]  # (a user's: ours are in the table at import)
        self.helpers.add(helper)
        for needed in HELPER_NEEDS.get(helper, ()):
            self._need(needed)

    _print_log = _print_Abs = _print_tanh = _print_sin = _print_cos = _print_Function

    def _print_log1p(self, e):
        return self._print_Function(e)

    _print_expm1 = _print_log1p

    _log_overflow_printing = False  # True while _print_log prints the log as before (_log_overflowed's first argument)

    def _print_log_of_product(self, e):
        """log(f·b^u) and log1p(f·b^u) (ConditionalPrinting._log_overflow), as printed before wrapped in
        ``_log_overflowed``: k·u + log f where the product overflowed; any other log as before."""
        found = None if self._log_overflow_printing else self._log_overflow(e)
        if found is None:
            return self._print_Function(e)
        f, u, b = found
        self._log_overflow_printing = True
        try:
            plain = self._print_Function(e)
        finally:
            self._log_overflow_printing = False
        self._need("_log_overflowed")
        k = 1.0 if b == "e" else float(np.log(2.0))
        factor = f"tl.full([], {float(f)!r}, tl.float64)" if f.is_number else self._print(f)  # (a tensor: .to)
        return f"_log_overflowed({plain}, {self._print(u)}, {factor}, tl.full([], {k!r}, tl.float64))"

    _print_log = _print_log1p = _print_log_of_product

    # H(u, 0) by the registry's template, _heaviside(u): u ≤ 0 ? 0 : 1 (relu′(0) = 0 and relu′(NaN) = 1, as torch)
    _print_Heaviside = _print_sign = _print_Function

    def emptyPrinter(self, e):
        raise SymnetError(f"the Triton backend cannot generate {type(e).__name__} (in {e})")

    REFUSED = (sp.Derivative, sp.Integral, sp.Sum, sp.Indexed, sp.MatrixBase)

    def doprint(self, e):
        for node in sp.preorder_traversal(e):  # strict: refuse what no table entry covers
            if isinstance(node, self.REFUSED):
                raise SymnetError(f"the Triton backend cannot generate {type(node).__name__} (in {text(e)})")
        return super().doprint(e)
