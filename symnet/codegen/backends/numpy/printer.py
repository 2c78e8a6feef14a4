"""The NumPy printer: SymPy expressions as NumPy expressions over whole arrays, used by every
NumPy kernel family (elementwise, row-wise, dense layer, update rules).

Each function's lowering comes from the function registry (:mod:`symnet.registry`): its
NumPy template without the ``out=`` buffer (``np.tanh({0}, out={out})`` → ``np.tanh(z)``);
the code generator's own nodes (``nexp``) from the table ``FUNCTIONS``; Piecewise,
comparisons and Max/Min from :class:`~symnet.codegen.backends.printing.ConditionalPrinting`.
Unknown nodes raise, naming their type.

Statements in place: where a family keeps memory small (the row-wise blocks), the printer
chooses the in-place forms (:meth:`NumpyExpressionPrinter.assign_in_place`,
:meth:`NumpyExpressionPrinter.product_into`): a ufunc's ``out=`` is written here and nowhere
else.

Selects without a branch per element: ``np.where`` takes one per element, and a condition on the
sign of random data (``z ≥ 0``) mispredicts half of them: one select of 10M float64 values took
37 ms in sigmoid_mse, its exponential 9 (three selects: about 110 of the kernel's 150 ms).
Where the values are known, the printer selects arithmetically, bit for bit what ``np.where``
gives (``definitions``, the kernel's temporaries → their expressions, tells it what a
temporary holds):

* the sigmoid-pair rule's σ(x) = {r if c; E·r otherwise} with r = 1/(1 + E), E = e^−|x|: every
  printed value has 0 ≤ E·r ≤ r ≤ 1 (E ≤ 1, rounding is monotone), so the select is
  ``np.maximum(E·r, np.minimum(r, c))`` (c as 0 or 1: min gives r or 0, max then r or E·r), and
  σ(−x) = {E·r if c; r} is ``np.minimum(r, np.maximum(E·r, ~c))``; NaN (both NaN) stays NaN;
* a product of two selects on one condition with their values swapped,
  {a if c; b}·{b if c; a}, is a·b whatever c (IEEE multiplication commutes): σ(z)·σ(−z) = r·E·r;
* σ(x) where the kernel has E = e^−|x| as a temporary of its own dtype calls
  ``_sigmoid(x, e=E)``: the exponential the helper would compute again, bit for bit.
* any other select, in the elementwise family: ``_select(c, a, b)``, the bits of a where c
  holds and of b elsewhere by integer masks (4 array operations, a third of np.where's time on a
  random condition, twice it on one that rarely changes);
* softplus(±x) where the kernel has L = softplus(−|x|) (the elementwise emitter adds it where
  both signs occur) is max(±x, 0) + L: what np.logaddexp(0, ±x) computes, one call for two.

Dtypes: a float32 array stays float32. A constant (``√2``, ``log 2``, ``e³``) is printed as a
Python float, which NumPy does not let widen an array (NEP 50), never as ``np.sqrt(2)``, a
float64 scalar that would; a select whose every value is a constant takes its dtype from
``dtype`` (the name of the kernel's dtype variable) where the family gives one.
"""
from __future__ import annotations


import hashlib
import math
import re

import sympy as sp
from sympy.printing.str import StrPrinter
from sympy.codegen.cfunctions import log1p

from ....errors import SymnetError
from ....functions import sigmoid
from ....registry import NUMPY_HELPER_NEEDS, NUMPY_HELPERS, numpy_template
from ....special import softplus
from ...doubleword import NUMPY_ONLY, ORDER as DW_PRIMITIVES, WidenedFunction, keep_generated, leaf_identifiers, \
    nan_through, primitive_needs, primitive_text, widened_function
from ..printing import ConditionalPrinting, _double_word

__all__ = ["NumpyExpressionPrinter", "PRINTER_HELPERS"]

# Helpers the printed expressions call besides the registry's (NUMPY_HELPERS), emitted into a
# module where used; each takes the buffer ``out`` a statement in place writes (assign_into).
PRINTER_HELPERS = {
    "_sigmoid": '''\
def _sigmoid(x, out=None, e=None):
    """σ(x) from E = e^−|x| ≤ 1, which never overflows: 1/(1 + E) for x ≥ 0 and E/(1 + E)
    below, so σ(−100) in float32 is the subnormal 3.7e−44, not 0. The numerator max(E, [x ≥ 0])
    is that select without a branch per element; ``e``: E where the caller has it already."""
    if e is None:
        e = np.exp(-np.abs(x))
    return np.divide(np.maximum(e, x >= 0), 1 + e, out=out)
''',
    "_select": '''\
def _select(c, a, b):
    """np.where(c, a, b), bit for bit, without a branch per element: b ^ ((a ^ b) & −c) over
    integers of the values' width (np.where branches per element, and a condition on random
    data mispredicts half of them: 3× this; it is 2× faster only where c rarely changes)."""
    dtype = np.result_type(a, b)
    bits = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}[dtype.itemsize]
    a, b = np.asarray(a, dtype).view(bits), np.asarray(b, dtype).view(bits)
    out = np.bitwise_and(np.bitwise_xor(a, b), np.subtract(0, c, dtype=bits))  # −c: every bit set where c holds
    np.bitwise_xor(out, b, out=out)
    return out.view(dtype)
''',
    "_float32_product": '''\
def _float32_product(*factors):
    """The product of float32 arrays and numbers (in any order) in float64, rounded once to float32: six factors at most, so
    every partial product is a normal float64 where float32's would leave the range (ConditionalPrinting._long_product)."""
    p = np.multiply(factors[0], factors[1], dtype=np.float64)
    for f in factors[2:]:
        if isinstance(p, np.ndarray) and p.shape == np.broadcast(p, f).shape:
            np.multiply(p, f, out=p)
        else:  # p a number (constants first: sqrt(2)*pi**(-1/2)*x) or smaller than the product
            p = np.multiply(p, f, dtype=np.float64)
    return p.astype(np.float32)
''',
    "_float32_in_range": '''\
def _float32_in_range(plain, wide, bound, *factors):
    """plain, a float32 product as printed, where no partial product of it left float32's normal range; wide() elsewhere,
    the product in float64 from its factors rounded once, computed only where an element needs it (session 38, h-mend38:
    computed everywhere it made x*y/z, x/(y*z) and √(x² + y²)·z 1.3–1.8× slower in NumPy float32). With a bound (a
    product _taken_by_exponents takes again where it is not normal): where each factor's size is at least 1/bound (then
    no partial product goes subnormal: ConditionalPrinting._float32_partial_bound; one past float32's largest makes the
    product ±inf or NaN, taken again; a factor 0 takes wide()). Without (bound None: a·b, two values held): where a, b
    and a·b are normal numbers. A float64 array (a float32 kernel's block in float64) as it is."""
    plain = np.asarray(plain)
    if plain.dtype != np.float32 or plain.size == 0:
        return plain
    if bound is None:
        info = np.finfo(np.float32)
        sizes = [np.abs(f) for f in (plain, *factors)]
        if all(s.min() >= info.tiny and s.max() <= info.max for s in sizes):  # (NaN fails both: taken below)
            return plain
        far = np.zeros(plain.shape, bool)
        for s in sizes:
            far = far | ~((s >= info.tiny) & (s <= info.max))
    else:
        sizes = [np.abs(f) for f in factors]
        if all(s.min() >= 1 / bound for s in sizes):
            return plain
        far = np.zeros(plain.shape, bool)
        for s in sizes:
            far = far | (s < 1 / bound)
    return np.where(far, np.asarray(wide(), np.float32), plain)
''',
}

# the double-word primitives of the generated functions of widened sums (symnet.codegen.doubleword)
NUMPY_HELPERS.update({name: primitive_text(name, "numpy") for name in DW_PRIMITIVES + list(NUMPY_ONLY)})
NUMPY_HELPER_NEEDS.update({name: primitive_needs(name, "numpy") for name in DW_PRIMITIVES + list(NUMPY_ONLY)})

# session 21 (h-cbrt21): b**(1/3) in a float32 kernel raised b to the float32 rounding of 1/3 in float32, an
# exponent error times |log b| ≤ 103: 12 ULP at b = 3.4e38 (torch 0.48), ∂ 29 ULP at b = 1e−45 (torch 1.00)
# (a registry helper: NUMPY_HELPERS, so every kernel and generated function may call it)
NUMPY_HELPERS["_fracpow"] = '''\
def _fracpow(b, e, p=0, q=1, delta=None):
    """b**e for a constant fractional exponent ``e`` (a float64 constant; e = p/q where ``p`` is given, c = e + delta
    for an irrational constant c where ``delta`` is: c − e to float64, as the generator computed it), ``b`` a
    float32 or float64 array; the result has b's dtype. float32: the float64 power of the exact float64 base,
    rounded once (within 0.5 ULP and a float64 error). float64: b**e raises b to e = p/q − δ (δ = p/q − e, the
    rounding of p/q, |δ| ≤ 2⁻⁵³|e|), |δ·log b| off (x**0.3 67 ULP at 1e300, x**(−0.7) 259 at 5e−324, x**(1000/3)
    87 at 1.9: torch's too; x**√2 299.9 at 1e200); here cbrt(|b|)**p for e = p/3 (|p| ≤ 2), and otherwise P + P·t
    with P = b**e and t = δ·log|b| (b^(p/q) = P·e^t to first order; |t| ≤ 2⁻⁵³|e·log b| < 2⁻⁴³ where P is finite, t²/2 below
    2⁻⁸⁷): C99 pow's error and one rounding, measured ≤ 1.06 ULP (4,000 random b, 10 p/q). P·t where it is not
    finite (b = 0, ±inf; P overflowed) is 0, so that pow's 0 and inf stay; NaN where −inf < b < 0, and 0, ±inf,
    NaN bases as pow's (C99 pow and cbrt)."""
    b = np.asarray(b)
    if b.dtype != np.float64:
        return (b.astype(np.float64) ** e).astype(b.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if q == 3 and abs(p) <= 2:
            return np.where((b < 0) & (b > -np.inf), np.nan, np.cbrt(np.abs(b)) ** p)  # (−inf)^e as pow: inf or 0
        if delta is None:
            n, d = float(e).as_integer_ratio()
            delta = (p * d - n * q) / (q * d) if p else 0.0  # p/q − e in integers, rounded once
        if delta == 0.0 or not abs(delta) <= 2.0 ** -50 * abs(e):  # e = p/q exactly (5/2, 3/8), or e is not p/q
            return b ** e
        power = np.power(b, e)
        t = np.abs(b, out=np.empty_like(b))  # one buffer (a 0-d array too): P·t, then the result
        np.log(t, out=t)
        np.multiply(t, delta, out=t)
        np.multiply(t, power, out=t)
        np.copyto(t, 0.0, where=~np.isfinite(t))
        return np.add(power, t, out=t)
'''


# session 26 (h-cells26): x^(y − 1), the base's gradient of x^y (y·x^(y − 1)), raised x to y − 1 rounded: an exponent
# error of ulp(y)/2 times |log x|, 21 ULP in float32 and 20.6 in float64 at (3497.9487, −3.0148695), torch's pow
# backward the same (tests/test_cells26.py)
NUMPY_HELPERS["_power_shifted"] = '''\
def _power_shifted(b, y, c, k=None, k_lo=0.0, wide=False):
    """b**(y + c) for a constant c, an integer or a half-integer (exact), the rounding of y + c restored; with a constant k (k + k_lo, k_lo the
    rounding of a constant not a double), b**(k·y + c), the rounding of k·y restored too. float32 b and y in float64
    (y + c exact there, k·y's rounding 2⁻⁵³ of an exponent below 2⁸), rounded once; float64 as P + P·e·log|b| with
    P = b**s, s = fl(k·y + c) and e = k·y + c − s exactly (TwoProduct and TwoSum; k_lo·y added): b^(s + e) =
    P·e^(e·log b), and |e·log b| ≤ 2⁻⁵²·|s·log b| < 2⁻⁴² where P is finite, so its square is below 2⁻⁸⁴. Where e = 0,
    or P·e·log|b| is not finite (b = 0, ±inf, P overflowed; NaN), P as pow gives it. ``wide``: a float32 power left in
    float64, a factor of a product computed there (_float32_product: 3x·y^(3x − 1) at y = 1.5e−36, where the float32
    power overflows and the product does not)."""
    b, y = np.asarray(b), np.asarray(y)
    dtype = np.result_type(b, y)
    if dtype != np.float64:
        exponent = y.astype(np.float64) if k is None else y.astype(np.float64) * (k + k_lo)
        power = b.astype(np.float64) ** (exponent + c)  # (pow's own warnings, as the kernel's b**s)
        if wide:
            return power
        with np.errstate(over="ignore", under="ignore"):  # the rounding's own: inf, a subnormal, 0
            return power.astype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # (k·y past the range: P is 0 or inf, e NaN)
        ky, ky_lo = (y, 0.0) if k is None else _dw_two_prod(y, k)
    s = ky + c
    power = b ** s
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # (inf − inf, log 0: not the result)
        t = s - ky
        e = (ky - (s - t)) + (c - t)  # TwoSum: k·y + c = s + e exactly
        if k is not None:
            e = e + (ky_lo + k_lo * y)
        fix = power * (e * np.log(np.abs(b)))
    return np.where((e != 0) & np.isfinite(fix), power + fix, power)
'''
NUMPY_HELPER_NEEDS["_power_shifted"] = ("_dw_two_prod",)

# issue 16 (h-powk40): b^k of a rounded sum or quotient b (x + y, (x + y)/y) carried k times b's rounding: ((x + y)/y)⁴⁰
# 33.1 ULP in float64 for ∂x at (1.4317, 2.9593), torch 10.1 (tests/test_break40.py, tests/test_powk40.py)
NUMPY_HELPERS["_restored_power"] = '''\
def _restored_power(s, k, delta):
    """s**k of a rounded base s whose exact value is s·(1 + δ) (δ float64, below 2⁻²³): P·(1 + k·δ), P = s**k, in float64
    and rounded once to s's dtype (P·(1 + δ)^k to within k²·δ²); P where that is not finite (δ NaN: s = 0, s taken
    again from other operands, a base past the range)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        power = s ** k
        out = delta * k
        out += 1.0
        out *= power
        out = out.astype(s.dtype, copy=False)
    if np.isfinite(out).all():  # (the common case: one pass, no mask)
        return out
    return np.where(np.isfinite(out), out, power)
'''
NUMPY_HELPERS["_rounded_base_power"] = '''\
def _rounded_base_power(s, k, a, b, d=None):
    """s**k for s = fl(a + b) (d None) or s = fl((a + b)/d), a, b and d exact, with s's rounding restored
    (_restored_power): δ = (a + b)/s − 1 (d None) or (a + b)/(s·d) − 1 found exactly in float64 (TwoSum of a + b;
    TwoProduct of s·d, whose difference from a + b is exact by Sterbenz); δ = 0 where it is not (s·d near float64's
    subnormal range: |a + b| below 2⁻⁹⁰⁰). float32: δ in float64 from the operands (their sum exact there but where their
    exponents lie 29 apart; P a float32 power: 0.5 + 0.5 ULP)."""
    s = np.asarray(s)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        if s.dtype != np.float64:
            n = np.asarray(a, np.float64) + np.asarray(b, np.float64)
            if d is not None:
                n /= np.asarray(d, np.float64)
            delta = n / s - 1.0  # (s·(1 + δ) = n: s/n's rounding 2⁻⁵³, δ's own below 2⁻²⁴)
        elif d is None:
            v = s - a
            delta = (a - (s - v)) + (b - v)  # s + delta = a + b exactly (TwoSum)
            delta /= s
        else:
            n, e = _dw_two_sum(a, b)
            h, low = _dw_two_prod(s, d)
            delta = np.where(np.abs(n) > 2.0 ** -900, (((n - h) - low) + e) / n, 0.0)
    return _restored_power(s, k, delta)
'''
NUMPY_HELPER_NEEDS["_rounded_base_power"] = ("_dw_two_sum", "_dw_two_prod", "_restored_power")
# h-sum41: b^k of a rounded sum of three or more exact terms (x + y + z, _exact_sum's) took b's rounding k times:
# (x + y + z)⁴⁰ 32.9 ULP float64, 35.4 float32 (torch 32.9 and 41.3 there; tests/test_break41.py, tests/test_sum41.py)
NUMPY_HELPERS["_rounded_sum_power"] = '''\
def _rounded_sum_power(s, k, terms, restore=True):
    """s**k for s a rounded sum of exact terms (three or more), with s's rounding restored (_restored_power): the terms
    in float64 summed left to right, each addition's exact error (TwoSum) summed beside, a double word hi + lo of
    their sum (to 2⁻¹⁰⁶ of its partials); δ = ((hi − s) + lo)/s, hi − s exact where s is within a factor 2 of hi
    (Sterbenz). float32 s the same way (its δ below 2⁻²⁴). ``restore`` False (a float32 kernel's float64 block): s**k."""
    if not restore:
        return s**k
    s = np.asarray(s)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        hi, lo = np.asarray(terms[0], np.float64), 0.0
        for t in terms[1:]:
            hi, e = _dw_two_sum(hi, np.asarray(t, np.float64))
            lo = lo + e
        delta = ((hi - s) + lo) / s
    return _restored_power(s, k, delta)
'''
NUMPY_HELPER_NEEDS["_rounded_sum_power"] = ("_dw_two_sum", "_restored_power")
NUMPY_HELPERS["_rounded_log_power"] = '''\
_ROUNDED_LOG_POWER_LAST = [None]  # (s, k, v, P) of the last float64 call, each array a copy of its own


def _rounded_log_power(s, k, v, restore=True):
    """s**k for s = log v rounded (v exact), with s's rounding restored (_restored_power): δ = (L − s)/s, L the
    double-word log of v (_dw_log_remembered; a float32 s: log v in float64); v = 1 (s = 0), v ≤ 0, ±inf, NaN: P.
    ``restore`` False (a float32 kernel's float64 block, where s's rounding is 2⁻²⁹ of a float32 ULP): s**k. The same
    float64 s, k and v bit for bit as the last call's give that call's value again (a copy; the helper is pure): ∂x of
    y + log(x)⁶⁴ takes 64·log(x)⁶³ twice a block."""
    if not restore:
        return s**k
    s = np.asarray(s)
    v = np.asarray(v, np.float64)
    last = _ROUNDED_LOG_POWER_LAST[0]
    if last is not None and last[1] == k and _dw_same_bits(last[0], s) and _dw_same_bits(last[2], v):
        return np.copy(last[3])
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        l_hi, l_lo = _dw_log_remembered(v)
        delta = ((l_hi - s) + l_lo) / s
    power = _restored_power(s, k, delta)
    if s.dtype == np.float64 and s.ndim:
        _ROUNDED_LOG_POWER_LAST[0] = (np.copy(s), k, np.copy(v), np.copy(power))
    return power
'''
NUMPY_HELPER_NEEDS["_rounded_log_power"] = ("_dw_log_remembered", "_dw_same_bits", "_restored_power")

# session 27 (h-cells27): silu's x·σ(x) was σ(x) = {1/(1 + E); E·1/(1 + E)} (E = e^−|x|) times x, five roundings:
# 1.79 ULP float64 in the sweep, 2.67 at x = −16.07 (torch.silu 1.55 and 1.97), 1.57 float32
NUMPY_HELPERS["_x_sigmoid"] = '''\
def _x_sigmoid(x, dtype=None):
    """x·σ(x) = x·max(E, [x ≥ 0])/(1 + E), E = e^−|x| ≤ 1. float64: the numerator x·E (or x) as a double word p + p_lo
    (TwoProduct) and 1 + E as s + t (Fast2Sum, 1 ≥ E), (p + p_lo)/(s + t) = q + (p_lo − q·t)/s to first order with
    q = p/s: NumPy's exp and one rounding (1.61 ULP at 30,000 random points, the written form 2.67, torch 1.97). The
    correction where it is finite and nonzero only (±inf, NaN: the split's NaN; −0.0 stays −0.0). float32: the
    formula in float64, rounded once (0.5 ULP); ``dtype`` float32 (a float32 kernel's block in float64, x float64):
    that formula, in float64 (the kernel rounds it once). −inf: NaN (x·0), a far branch's (the kernel selects −0)."""
    x = np.asarray(x)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if x.dtype != np.float64 or (dtype is not None and dtype != np.float64):
            w = x.astype(np.float64)
            e = np.exp(-np.abs(w))
            return (w * np.maximum(e, w >= 0) / (1 + e)).astype(x.dtype)
        e = np.exp(-np.abs(x))
        s = 1 + e
        t = (1 - s) + e
        p, p_lo = _dw_two_prod(x, np.maximum(e, x >= 0))
        q = p / s
        fix = (p_lo - q * t) / s
        return np.where((np.abs(fix) < np.inf) & (fix != 0), q + fix, q)
'''
NUMPY_HELPER_NEEDS["_x_sigmoid"] = ("_dw_two_prod",)


# session 22 (h-quot22): a constant times a product or quotient, the constant last or first per element
# (ConditionalPrinting._moved_constant); a registry helper, so that every family and generated function may call it
NUMPY_HELPERS["_constant_times"] = '''\
def _constant_times(x, y, z, c, q, lo):
    """c/q·x·y/z (c/q a positive constant, c or q 1; y, z: None where absent; arrays of one dtype or broadcasting
    shapes): ((x·y)/z)·c/q, the constant last, and where that is below lo = (c/q)·2⁻¹²⁶ (c/q > 1) or inf (lo = 0,
    c/q < 1) ((x·c/q)·y)/z, the constant first, where that is finite: x·y/z overflows (c/q < 1) or goes subnormal
    (c/q > 1) where the product does not. The second form is computed for a block holding such a value only,
    the constant on the smaller of x and y (x·y/3 at x = −1.797e308, y = 3: (x/3)·y rounds to −inf, (y/3)·x is x).
    c/q is within 2^±100, a normal float32 (the printers apply one beyond as m·2^k by exponents). x may be a Python
    float (a rule's probe)."""
    p = x if y is None else x * y
    p = p if z is None else p / z
    last = p * c if q == 1 else p / q
    size = np.abs(last)
    outside = size < lo if lo else size == np.inf  # (c/q > 1: where x·y/z overflows, so does the product)
    if not outside.any():
        return last
    if y is None:
        first = x * c if q == 1 else x / q
    else:  # the constant on the smaller factor: ≥ 1 where x·y overflows, so c/q·it is normal (y/3·x at y = 3 exact)
        small = np.abs(y) < np.abs(x)
        a, b = np.where(small, y, x), np.where(small, x, y)
        first = (a * c if q == 1 else a / q) * b
    first = first if z is None else first / z
    return np.where(outside & (np.abs(first) < np.inf), first, last)
'''


# session 23 (h-quotc23): a constant times the scaled-square rule's chain (x/z)/z, the constant between the two
# divisions, first or last per element (ConditionalPrinting._moved_constant)
NUMPY_HELPERS["_constant_quotients"] = '''\
def _constant_quotients(x, y, z, c, q):
    """c/q·x·y/z² (c/q a positive normal float64 constant, c or q 1; y None where absent; arrays of one dtype or
    broadcasting shapes), with x·y as x: ((x/z)·c/q)/z, the constant between the two divisions, where r = x/z and m
    = r·c/q are normal or 0; where r is not (subnormal or inf) ((x·c/q)/z)/z, the constant first; where r is and m
    is not, (r/z)·c/q, the constant last. Each order leaves the range only where its own partial products do: the
    constant last made (x/z)/z subnormal before 1024 scaled it back (∂y of 1024x/y at x = 1e300, y = 1.797e308: 432
    ULP), the constant first overflows x·c, and r·c/q goes subnormal or inf where the result does not (c < 1 with
    |z| < 1: last; c > 1 with |z| > 1: last); one of the three keeps every partial product normal wherever the
    result is and x is normal. The other two orders are computed for the elements that take them only: gathered
    where they are few (1 in 8 or fewer), else over the block (gathering most of a block costs more than the two
    orders). The printers call it for a constant within 2^±100 (one beyond they apply as m·2^k by exponents), a normal
    number of either dtype."""
    x = x if y is None else x * y
    r = x / z
    m = r * c if q == 1 else r / q
    out = np.asarray(m / z)
    tiny = np.finfo(out.dtype).tiny
    size_r, size_m = np.abs(r), np.abs(m)
    # (0 from a nonzero x or r is an underflow too: c/q beyond 2^±100 brings x/z below 2⁻¹⁰⁷⁵ back into range)
    r_out = ((size_r < tiny) & ((size_r > 0) | (x != 0))) | (size_r == np.inf)
    redo = r_out | ((size_m < tiny) & ((size_m > 0) | (r != 0))) | (size_m == np.inf)
    count = np.count_nonzero(redo)
    if not count:
        return out
    gather = count * 8 <= out.size
    if gather:
        redo = np.broadcast_to(redo, out.shape)
        x, z, r, r_out = (np.broadcast_to(v, out.shape)[redo] for v in (x, z, r, r_out))
    first = ((x * c if q == 1 else x / q) / z) / z
    last = (r / z) * c if q == 1 else (r / z) / q
    # (c/q beyond 2^±100: x·c/q may overflow where r is subnormal; the constant between the divisions is kept there)
    kept = r_out & ~(np.abs(first) < np.inf)
    r_out = r_out & ~kept
    if not gather:
        return np.where(r_out, first, np.where(redo & ~kept, last, out))
    out[redo] = np.where(r_out, first, np.where(kept, out[redo], last))
    return out
'''


# session 28 (h-tail28): c·b^u, 0 < |c| < 1, b = e or 2, where b^u overflowed first (ConditionalPrinting._exp_overflow)
NUMPY_HELPERS["_exp_overflowed"] = '''\
def _exp_overflowed(r, u, a, ca, op):
    """r = c·b^u as computed (a constant 0 < |c| < 1; op np.exp or np.exp2, b = e or 2), taken again where it is ±inf
    and u is finite: there b^u overflowed before c scaled it back (2^x's ∂, log 2·2^x, was inf at x = 1024.25 for
    1.482e308; e^x/2 inf at x = 709.9). There b^(u − a)·ca, ca = c·b^a (a float64 constant rounded once; a = 709 for
    e, 1023 for 2): u − a is exact (Sterbenz, u ≤ 2a; float32's u in float64), three roundings (op's, ca's, the
    product's) in float64, then into r (float32: one more). u is a function giving it (evaluated only there); r is
    changed in place (an out= array) and returned. The common case: one test for ±inf over the block."""
    far = np.isinf(r)
    if far.any():
        v = np.broadcast_to(np.asarray(u(), dtype=np.float64), r.shape)[far]
        with np.errstate(over="ignore", invalid="ignore"):
            r[far] = np.where(np.isfinite(v), op(v - a) * ca, r[far])
    return r
'''


# session 29 (h-exp29): f·b^u, f a factor holding a variable, where b^u overflowed first
# (ConditionalPrinting._exp_overflow_factor)
NUMPY_HELPERS["_exp_overflowed_by"] = '''\
def _exp_overflowed_by(r, u, f, a, ba, op, exact=False, divisor=None):
    """r = f·b^u as computed (op np.exp or np.exp2, b = e or 2; f the other factors, an input c in c·2^x, 1/x in
    e^x/x), taken again where it is ±inf and u is past b^u's overflow threshold in r's dtype (88 or 127 float32, a = 709
    or 1023 float64): there b^(u − a)·(f·ba), ba = b^a a float64 constant rounded once, all in float64 (u − a exact,
    Sterbenz), then into r: four roundings (ba's, f·ba's, op's, the product's), ≤ 2.5 ULP. c·2^x at (0.5, 1024) was
    inf for 8.99e307, e^x/x at 709.9 inf for 2.847e305. Where f is ±inf or the product overflows truly: ±inf again.
    u and f are functions giving them (evaluated only there); r is changed in place and returned. ``divisor``: (n, d, p)
    where f = n/d^p (functions giving n and d, p a positive integer), for the underflow below."""
    far = np.isinf(r)
    if far.any():
        v = np.broadcast_to(np.asarray(u(), dtype=np.float64), r.shape)[far]
        w = np.asarray(f())
        # f computed as a subnormal number of its own dtype holds few digits (σ(−y) at y = 745 is 5e−324, 1 digit: e^x/(1
        # + e^y) at (745, 745) was 1.7505 for 1, h-hostile30): there the product stays ±inf, an overflow, not a number;
        # an input (exact) is taken at any size
        normal = exact or np.abs(w) >= np.finfo(w.dtype if w.dtype.kind == "f" else np.float64).tiny
        normal = np.broadcast_to(normal, r.shape)[far]
        w = np.broadcast_to(w.astype(np.float64), r.shape)[far]
        low = (88.0 if op is np.exp else 127.0) if r.dtype == np.float32 else a
        with np.errstate(over="ignore", invalid="ignore"):
            r[far] = np.where(np.isfinite(v) & (v > low) & normal, op(v - a) * (w * ba), r[far])
        if divisor is not None:  # f = n/d^p itself 0 or subnormal (n/d^p underflowed) where b^u overflowed: e^v·w·x·y/z
            # at (800, 1, 1, 1e−300, 1e100) was 0 for 2.73e−53 (torch inf); taken as b^(u − a)·(m_a·m_n/m_d^p)·2^(k_a + k_n −
            # p·k_d), ba = m_a·2^k_a (frexp, exact; ba·m_n overflows)
            n = np.asarray(divisor[0]())
            under = np.broadcast_to((np.abs(np.asarray(f())) < np.finfo(r.dtype).tiny)
                                    & (np.abs(n) >= np.finfo(n.dtype if n.dtype.kind == "f" else np.float64).tiny), r.shape)[far]
            if under.any():
                m_n, k_n = np.frexp(np.broadcast_to(n.astype(np.float64), r.shape)[far])
                m_d, k_d = np.frexp(np.broadcast_to(np.asarray(divisor[1](), np.float64), r.shape)[far])
                with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
                    m_a, k_a = np.frexp(ba)
                    again = np.ldexp(op(v - a) * (m_a * (m_n / m_d ** divisor[2])), k_a + k_n - divisor[2] * k_d)
                # (again ±inf where b^(u − a) overflows: the product's own past u − a = 4000, which 2^(k_a + k_n − p·k_d)
                # cannot bring back for p ≤ 3; e^v·w·x·y/z at v = 2.6e20 in float32 was 0 for inf)
                r[far] = np.where(np.isfinite(v) & (v > low) & under & np.isfinite(m_n) & (m_d != 0) & np.isfinite(m_d)
                                  & (np.isfinite(again) | (v - a > 4000)), again, r[far])
    # session 30 (h-under30): 0·inf where f is an input ±0 and b^u overflowed: the product is f (y·e^x at (800, 0) was
    # NaN, torch NaN)
    lost = np.isnan(r) if exact else None
    if exact and lost.any():
        v = np.broadcast_to(np.asarray(u(), dtype=np.float64), r.shape)[lost]
        w = np.broadcast_to(np.asarray(f(), dtype=np.float64), r.shape)[lost]
        low = (88.0 if op is np.exp else 127.0) if r.dtype == np.float32 else a
        with np.errstate(over="ignore", invalid="ignore"):
            r[lost] = np.where(np.isfinite(v) & (v > low) & (w == 0), w, r[lost])
    # session 30 (h-under30): b^u underflowed first (a subnormal of r's dtype or 0) where f·b^u is a normal number: y·e^x
    # at (−800, 1e300) was 0 for 3.8e−48 (log(y·e^x) −inf for −109.21). Taken again in float64 as m·b^(t)·b^(k·c_lo),
    # f = m·2^k (frexp, exact), t = u + k·c_hi (e: c_hi + c_lo = log 2 in Cody and Waite's split, c_hi of 32 bits, so
    # k·c_hi and the sum are exact for 708 ≤ |u| < 2048; 2: c_hi = 1, c_lo = 0): three roundings and op's, ≤ 2.5 ULP
    # (a normal product of a subnormal b^u holds its digits only: float32 1e30·e^−100 was 3.7835e−14 for 3.7201e−14; so
    # u is looked at everywhere: one pass more over the block)
    under = (-87.0 if op is np.exp else -126.0) if r.dtype == np.float32 else (-708.0 if op is np.exp else -1022.0)
    v = np.broadcast_to(np.asarray(u(), dtype=np.float64), r.shape)
    low = v < under
    if low.any():
        v = v[low]
        w = np.asarray(f() if divisor is None else divisor[0]())
        normal = exact or np.abs(w) >= np.finfo(w.dtype if w.dtype.kind == "f" else np.float64).tiny
        normal = np.broadcast_to(normal, r.shape)[low]
        m, k = np.frexp(np.broadcast_to(w.astype(np.float64), r.shape)[low])
        if divisor is not None:  # session 31 (h-torch31): f = n/d^p, whose 1/d^p overflows where d is tiny (e^x/y at
            # (−800, 5e−324) was 0 for 7.42e−25): n/d^p = (m_n/m_d^p)·2^(k_n − p·k_d), m_d^p in [2^−p, 1), exact in k
            d = np.asarray(divisor[1]())
            normal = normal & np.broadcast_to(exact or np.abs(d) >= np.finfo(
                d.dtype if d.dtype.kind == "f" else np.float64).tiny, r.shape)[low]
            m_d, k_d = np.frexp(np.broadcast_to(d.astype(np.float64), r.shape)[low])
            with np.errstate(divide="ignore", invalid="ignore"):
                m, k = m / m_d ** divisor[2], k - divisor[2] * k_d
        hi, lo = (0.6931471803691238, 1.9082149292705877e-10) if op is np.exp else (1.0, 0.0)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            r[low] = np.where(np.isfinite(v) & normal & (m != 0) & np.isfinite(m),
                              m * op(v + k * hi) * op(k * lo), r[low])
    return r
'''


# session 32 (h-search32): a product taken again where it is not finite (ConditionalPrinting._taken_again_pair)
NUMPY_HELPERS["_taken_again"] = '''\
def _taken_again(r, again, infinite=False, far=None):
    """r, a product or sum as computed, taken again where it is ±inf or NaN as again(), the same value in another order,
    where that is finite: h·{c/y if …; …} as {c·h/y if …; …} (c/y overflowed before h scaled it back:
    relu(x·y)/leaky_relu(y) at y = −2.78e−309 was −inf for −150), x − 2y as 4·(x/4 − y/2). ``infinite`` (a sum taken
    again as 4·(Σ tᵢ/4)): also where r is NaN, inf − inf, and again() is ±inf: a term's own infinity, past the range
    by more than the quartered terms bring back (x − 3y + sinh(x) at x = y = −1.8e308: 3y and sinh(x) −inf, NaN for
    −inf; h-xfailb35). again is a function (evaluated only where r needs it); the common case pays one test over the
    block. ``far`` (the long-product rule's): a function giving the product's forms by exponents (_constant_far's),
    taken alike where r is still ±inf or NaN after again(): their partial products never leave the range, where a
    weight product that overflows times a sech² or σ′ that underflowed to 0 was inf·0 = NaN in either order (∂x of a
    3-layer tanh MLP, w₁·w₂·w₃·Π sech², at |w₂|, |w₃| ≈ 1e155–1e300: NaN for 0, torch 0; session 38)."""
    r = np.asarray(r)
    if np.isfinite(r).all():
        return r
    for form in (again,) if far is None else (again, far):
        bad = ~np.isfinite(r)
        if not bad.any():
            break
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            values = (form(),) if form is again else form()
        for m in values:
            m = np.broadcast_to(np.asarray(m, r.dtype), r.shape)
            take = bad & np.isfinite(m)
            r = np.where((take | (np.isnan(r) & np.isinf(m))) if infinite else take, m, r)
            bad = ~np.isfinite(r)
    return r
'''


# session 45 (h-pq45): the power-quotient rule's N/x^k taken as Σ tᵢ/x^k also where N is below the normal range
# (rewrite.WrittenWhereNotFiniteOrBelowBase), the written sum computed on those elements alone
NUMPY_HELPERS["_taken_below"] = '''\
def _taken_below(r, n, again):
    """r, a quotient N/x^k as computed from the sum N rounded once (n), taken as again(where), the sum of N's terms
    each divided by x^k, where r is ±inf or NaN or n is below the normal range (0 included: n is off there by up to
    half the least subnormal, which the division magnifies; ∂T of log(e^(a/T) + e^(b/T) + 1) − a/T at T = 1e−30,
    a = −5e−324 was −0 for −2.47e−264), where again's value is finite (and where r is NaN and it is ±inf, as
    _taken_again's infinite). again is called only where some element needs it, with those elements as its
    argument, the ``needed`` of its widened call: the common case pays two tests over the block."""
    r = np.asarray(r)
    n = np.asarray(n)
    bad = ~np.isfinite(r) | (np.abs(n) < np.finfo(n.dtype if n.dtype.kind == "f" else np.float64).tiny)
    if not bad.any():
        return r
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        m = np.broadcast_to(np.asarray(again(bad), r.dtype), r.shape)
    take = (bad & np.isfinite(m)) | (np.isnan(r) & np.isinf(m))
    return np.where(take, m, r)
'''


# session 36 (h-gelu36): a sum whose terms left the range with opposite signs (ConditionalPrinting._sized_terms)
NUMPY_HELPERS["_dominant_infinity"] = '''\
def _dominant_infinity(r, terms):
    """r, a sum as computed, where it is NaN (inf − inf) the infinity of the term whose size by exponents, log2|c| +
    Σ p·(e + log2|m|) for each factor f = m·2^e, is past the dtype's range and past every other term's by more than
    their count (the others are less than a quarter of it together). terms() is each term's forms, (c, x, px, y, py,
    …) each: a term's size from its first form whose factors are finite and not 0 there (the long-product rule's
    double-word factor, then its written factors). Evaluated only where r is NaN: ∂x of gelu(x/y)⁻², y·F/x² + y²·G/x³,
    at x = 1e−310, y = −3 was +inf + −inf, NaN for −inf (torch −inf). Where no form sizes a term, or no term stands
    out, r as it is."""
    r = np.asarray(r)
    bad = np.isnan(r)
    if not bad.any():
        return r
    sizes, signs = [], []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for forms in terms():
            size, sign = np.full(r.shape, np.nan), np.zeros(r.shape)
            for c, *pairs in forms:
                s, g = np.log2(abs(c)), np.sign(c)
                for f, p in zip(pairs[::2], pairs[1::2]):
                    m, e = np.frexp(np.asarray(f, np.float64))
                    s = s + p * (e + np.log2(np.abs(m)))
                    g = g * np.sign(m) ** (p % 2)
                first = np.isnan(size) & np.isfinite(s)
                size, sign = np.where(first, s, size), np.where(first, g, sign)
            sizes.append(size)
            signs.append(sign)
    sizes = np.stack(sizes)
    top = np.argmax(np.where(np.isnan(sizes), -np.inf, sizes), axis=0)
    largest = np.take_along_axis(sizes, top[None], 0)[0]
    others = np.max(np.where(np.arange(len(sizes)).reshape((-1,) + (1,) * r.ndim) == top[None], -np.inf, sizes), axis=0)
    over = np.finfo(r.dtype if r.dtype.kind == "f" else np.float64).maxexp
    take = bad & np.isfinite(sizes).all(axis=0) & (largest >= over + 1) & (largest - others > np.log2(len(sizes)) + 2)
    sign = np.take_along_axis(np.stack(signs), top[None], 0)[0]
    return np.where(take, sign * np.inf, r).astype(r.dtype)
'''


# session 38 (h-reassoc38): a sum that can cancel, summed compensated (ConditionalPrinting._exact_sum_terms)
NUMPY_HELPERS["_exact_sum"] = '''\
def _exact_sum(terms, hi=0.0, lo=0.0):
    """Σ terms + (hi + lo) as if in twice the precision, rounded once (Ogita–Rump–Oishi's Sum2): s, the terms summed
    left to right as written before, and e, the exact errors of its additions (TwoSum) summed; s + e. The constant
    hi + lo is a double word of float64 (log 2, 1/3). Where s is ±inf or NaN (e NaN) s itself; where e is 0, s (its
    zero's sign kept). 1 + y − x/y at x = y = −1e−30: s = 0, e = −1e−30. Where that is not finite, the terms times 2⁻⁴
    summed so and times 2⁴ where that is finite: a partial sum past the range where the whole is not (float64
    dp + m − dn at 1.797e308 each was inf for 1.797e308, torch's (dp − dn) + m exact; h-user39).

    Float32 terms (h-cost39): summed in float64, where each addition's rounding is 2⁻⁵³ of its partial sum; kept where
    every partial is within 2¹⁹ of the sum (then the roundings of ≤ 9 partials are within 2⁻³⁰·|s|, 2⁻⁶ of a float32
    ULP), Sum2 in float64 on the other elements only (gathered), and rounded once to float32: 0.51 ULP where float32's
    own Sum2 was 0.5 ULP plus 2⁻⁴⁴ of the terms, at a third of its cost (x − y + 1: 5× the plain sum's → 1.7×). No
    float32 partial passes the range in float64 (3e38 + 3e38 − 3e38 was inf in float32 Sum2; h-user39)."""
    if {getattr(t, "dtype", None) for t in terms} == {np.dtype(np.float32)}:
        constants = [c for c in (hi, lo) if c != 0]
        if len(terms) == 2 and hi != 0:
            # two terms and a constant C = |hi| + |lo| (x − y + 1): each partial is within |s| + C of the sum (a few
            # 2⁻⁵³ more from the roundings), so |s| ≥ C/(2¹⁹ − 1)·(1 + 2⁻⁵⁰) keeps only where every partial is
            # within 2¹⁹ of it, in one comparison of s (h-cost41: 4.1 → 3.0 ms a 10⁶ block by block)
            s = np.add(terms[0], terms[1], dtype=np.float64)
            s += hi
            if lo != 0:
                s += lo
            kept = np.abs(s) >= (abs(hi) + abs(lo)) / (2.0 ** 19 - 1) * (1 + 2.0 ** -50)
        else:
            values = [np.asarray(t, np.float64) for t in terms] + constants
            s, widest = values[0] + values[1], None
            for t in values[2:]:
                partial = np.abs(s)
                widest = partial if widest is None else np.maximum(widest, partial, out=partial)
                s = s + t
            kept = True if widest is None else widest <= 2.0 ** 19 * np.abs(s)
        if not np.all(kept):  # a sum that cancels past 2¹⁹ of its partials (or is NaN): Sum2 there
            redo = ~np.broadcast_to(kept, np.shape(s))
            s = np.array(s)
            values = [np.asarray(t, np.float64) for t in terms] + constants
            s[redo] = _exact_sum([np.broadcast_to(v, s.shape)[redo] if np.ndim(v) else v for v in values])
        return np.asarray(s).astype(np.float32)[()]
    values = list(terms) + [c for c in (hi, lo) if c != 0]
    r = None
    for scale in (1.0, 0.0625):  # (2⁻⁴: at most 8 terms and a double word, each below the largest number)
        s, e = (values[0] if scale == 1.0 else values[0] * scale), None
        for t in values[1:]:
            if scale != 1.0:
                t = t * scale
            a, s = s, s + t
            v = s - a
            d = np.subtract(s, v)  # −(TwoSum's exact error of a + t), +0 where it is exact: s − e keeps s's zero sign
            d -= a
            d += v - t
            if e is not None:
                d += e
            e = d
        total = s - e
        if not np.isfinite(e).all():  # s ±inf or NaN: s
            total = np.where(np.isnan(e), s, total)
        if r is None:
            r = total
            if np.isfinite(r).all():
                return r
        else:
            again = total * 16
            return np.where(np.isfinite(r) | ~np.isfinite(again), r, again)
'''


# a value that is a normal number of its dtype (not 0, subnormal, ±inf or NaN)
NUMPY_HELPERS["_normal"] = '''\
def _normal(v):
    """Where v is a normal number of its floating dtype (float64's range for any other): not 0, subnormal, ±inf, NaN."""
    v = np.asarray(v)
    info = np.finfo(v.dtype if v.dtype.kind == "f" else np.float64)
    size = np.abs(v)
    return (size >= info.tiny) & (size <= info.max)
'''


# session 41 (h-worsea41): √t of a temporary t holding a power b^e (ConditionalPrinting._root_of_held_power)
NUMPY_HELPERS["_root_of_power"] = '''\
def _root_of_power(power, root):
    """√power of a power b^e as computed; root(), |b|^(e/2) raised by itself, where the power is not a normal number
    and not below 0 (0, subnormal, +inf: it left the range where its root need not; √(y^(3x + 1)) at (88.7, 88.7) was
    inf for 1.397e260, torch inf), computed only where an element needs it (not a pow beside the square root on every
    element); a negative or NaN power keeps its square root, NaN (b^(e/2) there gave y = −1e200 for √(y²) at x = 1/3,
    y = −1e200, and −1e−200 at y = −1e−200)."""
    power = np.asarray(power)
    square_root = np.sqrt(power)
    if _all_normal(power):
        return square_root
    return np.where(_normal(power) | ~(power >= 0), square_root, root())
'''
NUMPY_HELPER_NEEDS["_root_of_power"] = ("_normal", "_all_normal")


# session 39 (h-range39): _taken_by_exponents' test where nothing is taken again, cheaper than _normal's masks (it wraps
# plain products of three factors or more since then: w·x·tanh(y), x·y·σ(z))
NUMPY_HELPERS["_all_normal"] = '''\
def _all_normal(*values):
    """Whether every element of every value is a normal number of its floating dtype (float64's range for any other):
    the smallest and largest size of each (a NaN makes both comparisons false)."""
    for v in values:
        size = np.abs(np.asarray(v))
        if size.size == 0:
            continue
        info = np.finfo(size.dtype if size.dtype.kind == "f" else np.float64)
        if not (size.min() >= info.tiny and size.max() <= info.max):
            return False
    return True
'''


# sessions 32–35: a product by exponents taken again where it is not a normal number where it should be
# (ConditionalPrinting._taken_again_pair; h-search32, h-search34, h-xfailb34, and one test since h-tidy35)
NUMPY_HELPERS["_taken_by_exponents"] = '''\
def _taken_by_exponents(r, m, k, factors, held=()):
    """r, a product m·2^k·x^px·y^py… as computed, taken again by exponents, _constant_far(m, k, *factors()), where it is
    not a normal number where it should be: where r, or a power it holds in a temporary (``held``: x² of
    y·e^(…)/(x²·Φ³)), is not a normal number while no factor is 0, ±inf or NaN (a power or a partial product left the
    range; a factor may be subnormal), or r is NaN while every factor is finite, a 0 one in the numerator (0·(1/T)·… at a
    subnormal T, 1/T = inf, was NaN for 0; h-kl36):
    y·log(…)/x at x = y = −1.8e308 was inf for 709.78 (h-search32); ∂x of 0.001/(x·y), −1/(1000·x²·y), at x = −3e38,
    y = −1.4e−45 in float32 −0 for 7.93e−36, x² = inf (torch 1.56 ULP; h-search34); y·e^(…)/(x²·Φ³) at
    x = y = −1e200 0 for 8.2e−201 (x² = inf), 3% off at x = −3.8e−162 (x² subnormal; h-xfailb34). Where a factor is
    ±inf or NaN, r's ±inf or NaN is the product's own (x·y at x = inf), but for a NaN where the ±inf ones are in the
    numerator and none is 0 or NaN: ±inf, the sign the factors' (x·tanh(y) underflowed to 0 before w = inf), and r's 0,
    ±inf or NaN where one is 0 (x·y/z at x = 0 or z = 0) but for that NaN: kept, nothing taken again. factors is a
    function, (x, px, y, py, …) as _constant_far takes them, evaluated only where some r or power is not normal."""
    r = np.asarray(r)
    if _all_normal(r, *held):  # (the common case: one pass and two reductions each, no masks)
        return r
    bad = ~_normal(r)
    for power in held:
        bad = bad | ~_normal(power)
    pairs = factors()
    # NaN as computed where a factor is ±inf (in the numerator) and none is 0 or NaN: ±inf, the product's own, whose
    # other factors' partial product underflowed to 0 first (w·x·tanh(y) at (inf, −1e−30, 1e−310): x·tanh(y) = −0, then
    # inf·0 was NaN for −inf, torch −inf; h-fix40)
    limit, infinite, sign = np.isnan(r), False, np.sign(m)
    for factor, power in zip(pairs[::2], pairs[1::2]):
        limit = limit & (factor != 0) & ~np.isnan(factor) & (np.isfinite(factor) | (power > 0))
        infinite = infinite | np.isinf(factor)
        sign = sign * np.sign(factor) ** (power % 2)
    if np.any(limit & infinite):
        r = np.where(limit & infinite, np.copysign(np.asarray(np.inf, r.dtype), sign), r)
    for factor, power in zip(pairs[::2], pairs[1::2]):
        bad = bad & np.isfinite(factor) & ((factor != 0) | (np.isnan(r) & (power > 0)))
    if not bad.any():
        return r
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        again = np.broadcast_to(np.asarray(_constant_far(m, k, *pairs), r.dtype), r.shape)
    # NaN as computed (inf/inf, 0·inf of powers past the range) with every factor finite and nonzero: the product by
    # exponents even where it is ±inf or 0 (∂y of (x·y)⁻³ at (−3e38, −1.4e−45) in float32 was NaN for 2.9e64, torch inf);
    # 0 or subnormal as computed where the product by exponents is past the range: its ±inf (a partial product went
    # below the range first: ∂x of silu(x/y)⁻², −2·W·y/x³ at (−2.1e−311, 9.2e−313), W·y = −0 before 1/x³, was −0 for −inf)
    return np.where(bad & (np.isfinite(again) | np.isnan(r) | (np.isfinite(r) & np.isinf(again))), again, r)
'''
NUMPY_HELPER_NEEDS["_taken_by_exponents"] = ("_normal", "_all_normal", "_constant_far")


# session 39 (h-mend39): _constant_far's rest, the factors past its slots, as two factors of normal size: as one product
# (w₂·w₃·e^(−x²)·[tanh(y)·σ(y)]) it went subnormal or 0 before it was split (w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y) at
# (1, 3e38, −745, 1e−30, −5e−324) was 0 for 5.52e−283; torch exact)
NUMPY_HELPERS["_scaled_rest"] = '''\
def _scaled_rest(scale, *pairs):
    """x^px·y^py·… (pairs x, px, …; Σ|p| ≤ 6) as F·S⁶, F where not ``scale``, else S: every factor split by frexp into
    a fraction in [1/2, 1) and an exponent, the fractions' product F′ (within 2^±6) and the exponents' sum E (|E| ≤
    6450) kept apart, F = F′·2^(E − 6s) and S = 2^s, s = ⌊E/7⌋ (|s| ≤ 922, E − 6s within [s, s + 6]): both normal
    float64 numbers however small or large the product (0, ±inf and NaN pass through F as in IEEE arithmetic: frexp
    keeps them, exponent 0)."""
    fraction, exponent = np.float64(1.0), 0
    for a, p in zip(pairs[::2], pairs[1::2]):
        f, e = np.frexp(np.asarray(a, np.float64))
        for _ in range(abs(p)):
            fraction = fraction * f if p > 0 else fraction / f
        exponent = exponent + p * e
    s = np.floor_divide(exponent, 7)
    return np.ldexp(1.0, s) if scale else np.ldexp(fraction, exponent - 6 * s)
'''


# session 33 (h-review33): x^n·y^n (n > 2) as written where both powers are normal, (x·y)^n elsewhere (PowerProduct)
NUMPY_HELPERS["_power_product"] = '''\
def _power_product(p, q, grouped):
    """p·q, x^n·y^n as written (each power rounded once, then the product: ≤ 1.7 ULP), where p = x^n and q = y^n are
    both normal numbers; elsewhere grouped(), (x·y)^n (a function: evaluated only where needed), which leaves the range
    only where the whole does (x^n·y^n at (1e200, 1e−200) was inf·0 = NaN for 1) and rounds x·y's error n times."""
    p, q = np.asarray(p), np.asarray(q)
    r = np.asarray(p * q)
    tiny = np.finfo(r.dtype if r.dtype.kind == "f" else np.float64).tiny
    far = ~((np.abs(p) >= tiny) & (np.abs(p) < np.inf) & (np.abs(q) >= tiny) & (np.abs(q) < np.inf))
    if far.any():
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            m = np.broadcast_to(np.asarray(grouped(), r.dtype), r.shape)
        r = np.where(far, m, r)
    return r
'''


# session 34 (h-worse34): shared-powers' bound on a base, by the base's dtype (rewrite.PowerBound)
NUMPY_HELPERS["_power_bound"] = '''\
def _power_bound(b, bound32, bound64):
    """bound32 where b is float32, bound64 where it is float64 (a float32 kernel's block in float64 included), as an
    array of b's shape: a temporary the far branches index like every other (a Python float there raised TypeError:
    y/(3x² + 1)^(3/2) at x = 1e13; found by session 34's review)."""
    b = np.asarray(b)
    return np.broadcast_to(np.asarray(bound32 if b.dtype == np.float32 else bound64, b.dtype), b.shape)
'''


# session 29 (h-exp29): log(f·b^u), log1p(f·b^u) where the product overflowed (ConditionalPrinting._log_overflow)
NUMPY_HELPERS["_log_overflowed"] = '''\
def _log_overflowed(r, u, f, k):
    """r = log(f·b^u) or log1p(f·b^u) as computed (k = 1 for b = e, log 2 for b = 2), taken again where it is +inf
    while u and f are finite, f > 0: there the product overflowed (b^u first, or the product itself) where its log
    is a number, k·u + log f, in float64 (log1p(A) = log A + log1p(1/A), 1/A < 2⁻¹²⁶ of log A ≥ 88 dropped), then
    into r. log1p(y·e^x) float32 at (89.36, 128.69) was inf for 94.2162. u and f are functions giving them
    (evaluated only there); r is changed in place and returned."""
    # session 30 (h-under30): and where it is below log of the smallest normal number (−inf or the log of a subnormal
    # product of few digits, a log only): log(y·e^x) at (−800, 1) was −inf for −800
    far = np.isposinf(r) | (r < (-87.33 if r.dtype == np.float32 else -708.39))
    if far.any():
        v = np.broadcast_to(np.asarray(u(), dtype=np.float64), r.shape)[far]
        w = np.broadcast_to(np.asarray(f(), dtype=np.float64), r.shape)[far]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            r[far] = np.where(np.isfinite(v) & np.isfinite(w) & (w > 0), v * k + np.log(w), r[far])
    return r
'''


# session 25 (h-const25): a constant beyond 2^±100 around a product or quotient, its size m·2^k applied by exponents
# (ConditionalPrinting._moved_constant)
NUMPY_HELPERS["_constant_far"] = '''\
def _constant_far(m, k, x, px, y=None, py=0, z=None, pz=0, w=None, pw=0):
    """m·2^k·x^px·y^py·z^pz·w^pw (m·2^k the constant's size: m a normal float64, k an int; px … integer powers within
    ±6 (FAR_POWER), 0 for an absent factor; arrays of one dtype or broadcasting shapes): every factor split by frexp
    into a fraction in [1/2, 1) and an exponent; m's fraction multiplied by each factor's fraction |p| times (divided for a
    negative power), every partial product within [2⁻²⁵, 2²⁴], its rounding error found exactly (Dekker's product,
    the remainder of a quotient) and summed as a relative correction applied once at the end (one rounding in all
    where there were one a factor: ∂x of (gelu(x/y))^−2, y·e^(…)·x⁻²·Φ⁻³, 5.15 ULP at (−7.09e199, −7.09e199)
    uncorrected, torch 2.15), the exponents times their powers added as integers and applied once by ldexp (exact, or
    one rounding to the subnormal grid, 0 or ±inf past the range). No order of the constant and the factors keeps its
    partial products in range everywhere: x/(10³⁰⁸·y) at x = 1e−10, y = 5e−324 overflows x/y and makes x/10³⁰⁸
    subnormal (f −202402.0 for −202402.2533, session 24), and x²·y taken whole overflows or underflows before it is
    split (∂x of 10⁻³⁰⁸/(x·y) −inf at x = 5e−324, y = 1e300 for −4.1e38, session 25). 0, ±inf and NaN pass through as
    in IEEE arithmetic (frexp keeps them as the fraction, exponent 0). A float32 block is computed in float64 and
    rounded once."""
    factors = [(a, p) for a, p in ((x, px), (y, py), (z, pz), (w, pw)) if p]
    dtype = np.result_type(*(a for a, _ in factors))
    def split(a):  # a = hi + lo, 26 bits each (Veltkamp; |a| < 2²⁵ here)
        c = 134217729.0 * a
        hi = c - (c - a)
        return hi, a - hi

    v, n = np.frexp(m)
    error = 0.0  # the relative error of v so far, to first order: the exact value is v·(1 + error)
    for a, p in factors:
        f, e = np.frexp(np.asarray(a, np.float64))
        f_hi, f_lo = split(f)
        for _ in range(abs(p)):
            r = v * f if p > 0 else v / f
            q, s = (v, f) if p > 0 else (r, f)  # the product q·s: v·f, or r·f ≈ v
            q_hi, q_lo = split(q)
            s_hi, s_lo = (f_hi, f_lo) if p > 0 else split(s)
            low = ((q_hi * s_hi - q * s) + q_hi * s_lo + q_lo * s_hi) + q_lo * s_lo  # q·s − fl(q·s), exact
            error = error + (low / r if p > 0 else ((v - q * s) - low) / v)
            v = r
        n = n + p * e
    corrected = v + v * error
    out = np.ldexp(np.where(np.isfinite(corrected), corrected, v), n + k)  # 0, ±inf, NaN: v as it is (IEEE)
    return out if dtype == np.float64 else out.astype(dtype)
'''


# session 23 (h-quotc23): a constant times the product-order rule's product of three, the constant last or on the factor
# of middle magnitude per element (ConditionalPrinting._moved_constant)
NUMPY_HELPERS["_constant_product"] = '''\
def _constant_product(a, b, c, k, q, lo):
    """k/q·a·b·c (k/q a positive constant within 2^±100, k or q 1; arrays of one dtype or broadcasting shapes):
    _ordered_product(a, b, c)·k/q, the constant last, and where that is below lo = (k/q)·2⁻¹²⁶ (k/q > 1) or inf
    (lo = 0, k/q < 1) (m·k/q)·(s·l), the constant on the factor m of middle magnitude, where that is finite: the
    product of three overflows (k/q < 1) or goes subnormal (k/q > 1) where the whole does not (x·y·z/3 at
    x = 0.5, y = 1.797e308, z = 3 was inf for 8.99e307), and m·k/q is then normal. The second form is computed
    for the elements outside only: gathered where they are few (1 in 8 or fewer), else over the block."""
    p = _ordered_product(a, b, c)
    last = np.asarray(p * k if q == 1 else p / q)
    size = np.abs(last)
    outside = size < lo if lo else size == np.inf
    count = np.count_nonzero(outside)
    if not count:
        return last
    gather = count * 8 <= last.size
    if gather:
        outside = np.broadcast_to(outside, last.shape)
        a, b, c = (np.broadcast_to(v, last.shape)[outside] for v in (a, b, c))
    abs_a, abs_b, abs_c = np.abs(a), np.abs(b), np.abs(c)
    a_mid = ((abs_a >= abs_b) & (abs_a <= abs_c)) | ((abs_a <= abs_b) & (abs_a >= abs_c))
    b_mid = ((abs_b >= abs_a) & (abs_b <= abs_c)) | ((abs_b <= abs_a) & (abs_b >= abs_c))
    m = np.where(a_mid, a, np.where(b_mid, b, c))
    rest = np.where(a_mid, b * c, np.where(b_mid, a * c, a * b))
    first = (m * k if q == 1 else m / q) * rest
    if not gather:
        return np.where(outside & (np.abs(first) < np.inf), first, last)
    last[outside] = np.where(np.abs(first) < np.inf, first, last[outside])
    return last
'''
NUMPY_HELPER_NEEDS["_constant_product"] = ("_ordered_product",)


_HELD_POWER = re.compile(r"[A-Za-z_]\w*\*\*(?:[3-9]|[1-9]\d+)")  # a name to a whole power ≥ 3 (_held_power_once)
_COMPARISONS = re.compile(r"[<>]=?|==")  # a printed condition's comparisons (NumpyExpressionPrinter._condition_once)


def _exceeds_one(c) -> bool:
    """|c| > 1 for a number ``c``, decided in floating point where SymPy cannot decide it exactly (a constant such as
    −expm1(−300), the shifted-difference rule's e^−c − 1 for a shift c past about 250, is 1 − 5e−131 and SymPy's
    comparison of it with 1 was an undecided relational: a TypeError in symnet.compile)."""
    exceeds = abs(c) > 1
    return bool(exceeds) if isinstance(exceeds, (bool, sp.logic.boolalg.BooleanAtom)) else float(abs(c)) > 1


class NumpyExpressionPrinter(ConditionalPrinting, StrPrinter):
    """SymPy expressions as NumPy expressions; ``helpers`` collects the helpers they call,
    ``names`` maps symbols to the identifiers the code uses (default: the symbol's name)."""

    # the table of ConditionalPrinting (symnet/codegen/backends/printing.py); & and | bind tighter than >
    BACKEND, WHERE, COMPARISON = "NumPy", "np.where({0}, {1}, {2})", "({0} {op} {1})"
    WIDE_CONSTANT = "np.float64({0})"  # a float32 array against it compared in float64
    MAXIMUM, MINIMUM = "np.maximum({0}, {1})", "np.minimum({0}, {1})"
    # SymPy class name → template, {0} the printed argument: the code generator's own nodes;
    # the functions a formula may use take their NumPy templates from the registry
    FUNCTIONS = {"nexp": "np.exp(-({0}))"}
    HELD_SUBPRODUCTS = True  # (its definitions: the temporaries printed so far, elementwise.py)

    def __init__(self, helpers: set, names: dict | None = None, dtype: str | None = None):
        super().__init__()
        self.helpers = helpers
        self.names = names or {}
        self.dtype = dtype
        # np.where of constants only is float64 (or int64): its first value takes the kernel's dtype
        self.CONSTANT_SELECT = f"{dtype}.type({{0}})" if dtype else None
        self.wide = False  # True: every input is a float64 block, a widened sum prints as its body
        self.plain_widened = False  # True: a widened sum prints as its body (a generated function's float64 body)
        # temporary symbol → its expression, where the family gives them (the kernel's CSE
        # assignments, each a value of the kernel's dtype): what the arithmetic selects rely on
        self.definitions: dict = {}
        self.branchless = False  # True (select_without_branches): every other select is _select
        # the printed condition where the piece being printed is selected (None: everywhere): a widened
        # sum in it needs its double-word there only (a select computes every piece on every element)
        self.selected: str | None = None

    def select_without_branches(self) -> None:
        """Print each select the arithmetic forms do not cover as ``_select(c, a, b)`` (np.where's
        bits without its branch per element) rather than np.where: the elementwise family, whose
        conditions are on data (signs, thresholds, targets equal to 0 or 1)."""
        if self.ARITHMETIC_SELECTS:
            self.branchless = True
            self.WHERE = "_select({0}, {1}, {2})"

    # False: every select is np.where and σ computes its own exponential (the printing the
    # arithmetic selects must match bit for bit: tests/test_numpy_speed7.py prints both)
    ARITHMETIC_SELECTS = True

    # _constant_far's loop takes any integer power (its partial products within 2^±24 for four factors of |p| ≤ 6);
    # ±4 left x⁵ whole, inf before it was split: ∂x of (x·y)⁻⁴, −4·y⁻⁴·x⁻⁵, NaN at (1.1e−25, −7.3e23) in float32 for
    # −1.5e28 (session 36, h-search36). Triton's _far_power unrolls p and keeps ±4
    FAR_POWER = 6

    # the functions of one argument a statement may apply in place: np.exp(t, out=t)
    IN_PLACE = {sp.exp: "exp", sp.log: "log"}

    def assign_in_place(self, name: str, expr, buffer: str | None = None) -> list[str]:
        """Statements setting ``name`` to ``expr`` with one array: a function of IN_PLACE of a
        compound argument is applied in place to the argument (into ``buffer``, an array of its
        shape, where given and the argument is a sum of two terms); anything else is one
        assignment."""
        ufunc = self.IN_PLACE.get(type(expr))
        arg = expr.args[0] if ufunc else None
        if arg is None or arg.is_Atom:
            return [f"{name} = {self.doprint(expr)}"]
        if buffer is not None and isinstance(arg, sp.Add) and len(arg.args) == 2 and self._exact_sum_terms(arg) is None:
            a, b = sorted(arg.args, key=lambda t: t.could_extract_minus_sign())  # z_j, then −m
            if b.could_extract_minus_sign():
                first = f"{name} = np.subtract({self.doprint(a)}, {self.doprint(-b)}, out={buffer})"
            else:
                first = f"{name} = np.add({self.doprint(a)}, {self.doprint(b)}, out={buffer})"
        else:
            first = f"{name} = {self.doprint(arg)}"
        return [first, f"np.{ufunc}({name}, out={name})"]

    def assign_into(self, out: str, expr) -> str:
        """The statement writing ``expr`` into the existing array ``out``: its last operation
        (a sum, product, quotient, square or registry function) writes there itself through the
        ufunc's ``out=``, which saves a temporary and a copy a statement; anything else is
        ``out[...] = expr``."""
        if isinstance(expr, sp.Mul) and self._float32_product_call(expr) is not None:  # a long product
            return f"{out}[...] = {self._float32_product_call(expr)}"
        code = self._into(out, expr) if not expr.is_number else None
        return code or f"{out}[...] = {self.doprint(expr)}"

    def _into(self, out: str, e) -> str | None:
        if (isinstance(e, sp.Add) and self._common_coefficient(e) is not None) or (
                isinstance(e, sp.Mul) and self._equal_powers(e) is not None):  # (a ± b)·c, (x·y)ⁿ as doprint has
            return f"{out}[...] = {self.doprint(e)}"  # them: np.add(x*λ, y*λ) cancelled, x²·y² was inf·0 (review)
        if isinstance(e, sp.Add) and self._quartered_sum(e) is not None:  # the sum, then 4·(Σ tᵢ/4) where not finite
            return f"{out}[...] = {self._print_Add(e)}"
        if isinstance(e, sp.Add) and self._sized_terms(e) is not None:  # the sum, then a term's infinity where NaN
            return f"{out}[...] = {self._print_Add(e)}"
        if isinstance(e, sp.Add) and self._exact_sum_terms(e) is not None:  # summed compensated (_exact_sum)
            return f"{out}[...] = {self._print_Add(e)}"
        if isinstance(e, sp.Add):
            *rest, last = sorted(e.args, key=lambda t: t.could_extract_minus_sign())  # a − b, not −b + a
            head = sp.Add(*rest)
            if last.could_extract_minus_sign():
                return f"np.subtract({self.doprint(head)}, {self.doprint(-last)}, out={out})"
            return f"np.add({self.doprint(head)}, {self.doprint(last)}, out={out})"
        if isinstance(e, sp.Mul):
            if self._moved_into_select(e) is not None or self._halved_difference(e) is not None or \
                    self._exponent_product(e) is not None:  # the product, then its moved or halved form or by
                return f"{out}[...] = {self._print_Mul(e)}"  # exponents where not finite
            overflow = self._exp_overflow_call(e, out)
            if overflow:
                return overflow
            swapped = self._swapped_product(e)
            if swapped:
                return f"np.multiply({swapped[0]}, {swapped[1]}, out={out})"
            call = (self._log2_call(e, out) or self._scaled_call(e, out) or self._exp2_scaled_call(e, out)
                    or self._silu_call(e, out))
            if call:
                return call
            numbers = [f for f in e.args if f.is_number and not f.free_symbols]
            if numbers and self._moved_constant(sp.Mul(*numbers), [f for f in e.args if f not in numbers]):
                return f"{out}[...] = {self.doprint(e)}"  # the constant last or first (_moved_constant)
            factors = e.as_ordered_factors()
            # a quotient is one division, wherever SymPy orders its denominator: (p − t)/(p(1 − p))
            # printed as 1/(p(1 − p))·(p − t) rounded twice and overflowed the reciprocal of a
            # subnormal p (inf where the BCE gradient is 1 at p = 5e−324, t = 0)
            den = [f for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
            if den and len(den) < len(factors):
                num = sp.Mul(*[f for f in factors if f not in den])
                c, rest = num.as_coeff_Mul()
                if c != 1 and c.is_Rational and not rest.is_number:  # c·x/y as (x/y)·c, (x/y)/q: as _print_Mul,
                    # the constant last (x/3 first loses x's digits where x is subnormal and x/(3y) is not)
                    inner = self.doprint(sp.Mul(rest, *den))
                    if abs(c.p) == 1:
                        return f"np.divide({inner}, {c.p * c.q}, out={out})"
                    return f"np.multiply({inner}, {self.doprint(c)}, out={out})"
                return f"np.divide({self.doprint(num)}, {self.doprint(sp.Mul(*[f.base for f in den]))}, out={out})"
            *rest, last = factors
            c, others = sp.Mul(*[f for f in factors if f.is_number]), [f for f in factors if not f.is_number]
            if _exceeds_one(c) and len(others) > 1:  # c·x·y as (x·y)·c, the constant last as in _print_Mul: (2x)·y is
                # inf at x = 1e308, y = 1e−300; 4·y·σ′(x) as (y·σ′(x))·4, not (4y/s²)·(E − …): inf at y = −3.4e38
                # in float32 where the product is −8.5e37
                rest, last = others, c
            head = sp.Mul(*rest)
            if isinstance(last, sp.Pow) and last.exp == -1:
                return f"np.divide({self.doprint(head)}, {self.doprint(last.base)}, out={out})"
            return f"np.multiply({self.doprint(head)}, {self.doprint(last)}, out={out})"
        if isinstance(e, sp.Pow) and e.exp == 2:
            return f"np.square({self.doprint(e.base)}, out={out})"
        if isinstance(e, sigmoid) and self._shared_exponential(e.args[0]):
            return self._print_sigmoid(e, out)
        if isinstance(e, softplus) and self._shared_log1p_exp(e.args[0]):
            u = self._print(e.args[0])
            return f"np.add(np.maximum({u}, 0), {self._shared_log1p_exp(e.args[0])}, out={out})"
        if isinstance(e, (sp.log, log1p)):
            overflow = self._log_overflow_call(e, out)
            if overflow:
                return overflow
        if isinstance(e, sp.Function) and self._erfc_half(e) is None:  # (Φ(√2·v): erfc(−v)/2, _print_ndtr)
            lowering = numpy_template(type(e))
            if lowering is not None and "out={out}" in lowering[0] and "{%d}" % (len(e.args) - 1) in lowering[0]:
                template, helper = lowering
                if helper:
                    self.helpers.add(helper)
                return template.format(*[self.doprint(a) for a in e.args], out=out, dtype="None")
        return None

    def product_into(self, out: str, a: str, b: str) -> str:
        """The statement writing the product of the printed ``a`` and ``b`` into the array ``out``."""
        return f"np.multiply({a}, {b}, out={out})"

    def _print(self, expr, **kwargs):
        # a constant expression (√2, log 2, 2π): one Python float, which keeps float32 float32
        if isinstance(expr, sp.Expr) and not expr.is_Atom and expr.is_number:
            try:
                value = float(expr)
            except TypeError:  # complex: left to the printer, which raises
                pass
            else:
                return self._float(value)
        return super()._print(expr, **kwargs)

    @staticmethod
    def _float(value: float) -> str:
        if math.isnan(value):
            return "np.nan"
        if math.isinf(value):
            return "np.inf" if value > 0 else "-np.inf"
        return repr(value)

    def _print_Symbol(self, e):
        return self.names.get(e, e.name)

    _print_Dummy = _print_Symbol

    def _print_Function(self, e):
        if isinstance(e, (sp.log, log1p)):
            overflow = self._log_overflow_call(e)
            if overflow:
                return overflow
        lowering = numpy_template(type(e))
        if lowering is None:
            template = self.FUNCTIONS.get(type(e).__name__)
            if template is None:
                raise SymnetError(f"the NumPy backend cannot generate {type(e).__name__} (in {e})")
            return template.format(self._print(e.args[0]))
        template, helper = lowering
        if helper:
            self.helpers.add(helper)
        # {dtype}: the kernel's dtype where the block is float64 in a float32 kernel (wide), which a helper
        # without an out= buffer cannot tell from its float64 arguments; None elsewhere (the arguments' own)
        dtype = self.dtype if self.wide and self.dtype else "None"
        return template.replace(", out={out}", "").format(*[self._print(a) for a in e.args], dtype=dtype)

    _print_Abs = _print_Heaviside = _print_sign = _print_Function

    # ------------------------------------------------ selects without a branch per element

    def _defined(self, x):
        """What ``x`` holds: a temporary's expression, or ``x`` itself."""
        return self.definitions.get(x, x) if self.ARITHMETIC_SELECTS else x

    def _shared_exponential(self, u) -> str | None:
        """The printed temporary holding e^−|u| in the kernel's dtype, if the kernel has one."""
        if not self.ARITHMETIC_SELECTS:
            return None
        want = (sp.exp(-sp.Abs(u)), sp.Abs(u))
        for temp, expr in self.definitions.items():
            if (type(expr).__name__ == "nexp" and expr.args[0] == want[1]) or expr == want[0]:
                return self._print(temp)
        # the same |u| written in the inputs: e^−|x_times_y| serves σ(x·y) of a widened sum's float32 body
        full = self._written_out(want[1])
        for temp, expr in self.definitions.items():
            if type(expr).__name__ == "nexp" and expr.args[0].has(*self.definitions) \
                    and self._written_out(expr.args[0]) == full:
                return self._print(temp)
        return None

    def _written_out(self, e):
        """``e`` in the inputs: each temporary replaced by what it holds, to the bottom."""
        for _ in range(len(self.definitions) + 1):
            if not e.has(*self.definitions):
                return e
            e = e.xreplace(self.definitions)
        return e

    def _print_sigmoid(self, e, out=None):
        """σ(u): the registry's ``_sigmoid(u)``, given the kernel's e^−|u| where it has one."""
        shared = self._shared_exponential(e.args[0])
        if shared is None:
            return self._print_Function(e) if out is None else None
        self.helpers.add("_sigmoid")
        return f"_sigmoid({self._print(e.args[0])}{'' if out is None else f', out={out}'}, e={shared})"

    def _shared_log1p_exp(self, u) -> str | None:
        """The printed temporary holding softplus(−|u|) = log(1 + e^−|u|), if the kernel has one
        (the emitter adds it where softplus(u) and softplus(−u) are both printed)."""
        if not self.ARITHMETIC_SELECTS:
            return None
        want = softplus(-sp.Abs(u))
        for temp, expr in self.definitions.items():
            if expr == want:
                return self._print(temp)
        return None

    def _print_softplus(self, e):
        """softplus(u) = max(u, 0) + log(1 + e^−|u|) where the kernel has the second term: the bits
        of np.logaddexp(0, u), which computes it so (libm's exp and log1p)."""
        shared = self._shared_log1p_exp(e.args[0]) if len(e.args) == 1 else None
        if shared is None:
            return self._print_Function(e)
        return f"(np.maximum({self._print(e.args[0])}, 0) + {shared})"

    def _sigmoid_pair(self, r, q) -> bool:
        """Whether ``r`` is 1/(1 + E) and ``q`` is E·r (or E/(1 + E)) with E = e^−|u|: printed,
        0 ≤ q ≤ r ≤ 1 in every dtype, NaN together."""
        rr, rq = self._defined(r), self._defined(q)
        if not (isinstance(rr, sp.Pow) and rr.exp == -1 and isinstance(rr.base, sp.Add)):
            return False
        terms = rr.base.args
        if len(terms) != 2 or sp.S.One not in terms:
            return False
        E = terms[1] if terms[0] == 1 else terms[0]
        rE = self._defined(E)
        if not (type(rE).__name__ == "nexp" and isinstance(rE.args[0], sp.Abs)):
            return False
        return isinstance(rq, sp.Mul) and set(rq.args) in ({E, r}, {E, rr})

    def _known_select(self, e) -> str | None:  # ConditionalPrinting._print_Piecewise asks first
        if self.ARITHMETIC_SELECTS and len(e.args) == 2 and e.args[1].cond == sp.true:
            (a, c), (b, _) = e.args
            cond = self._print(c)
            if self._sigmoid_pair(a, b):  # {r if c; E·r}: max(E·r, min(r, c))
                return f"np.maximum({self._print(b)}, np.minimum({self._print(a)}, {cond}))"
            if self._sigmoid_pair(b, a):  # {E·r if c; r}: min(r, max(E·r, ¬c))
                neg = f"~{cond}" if c.is_Symbol or c.is_Relational else f"~({cond})"
                return f"np.minimum({self._print(b)}, np.maximum({self._print(a)}, {neg}))"
        if self.branchless:  # the table's WHERE, _select (select_without_branches)
            self.helpers.add("_select")
        return self._select_telling_pieces(e)

    def _swapped_product(self, e) -> tuple[str, str] | None:
        """For a product of exactly two selects on one condition with their values swapped,
        {a if c; b}·{b if c; a}: a and b printed (their product is the same bits whatever c)."""
        if not self.ARITHMETIC_SELECTS or len(e.args) != 2:
            return None
        s, t = (self._defined(f) for f in e.args)
        if not (isinstance(s, sp.Piecewise) and isinstance(t, sp.Piecewise) and len(s.args) == len(t.args) == 2):
            return None
        (a, c), (b, other) = s.args
        if other != sp.true or t.args[0] != (b, c) or t.args[1] != (a, sp.true):
            return None
        return self._print(a), self._print(b)

    def _moved_call(self, args: list) -> str:
        self.helpers.add("_constant_times")
        return super()._moved_call(args)

    def _quotients_call(self, args: list) -> str:
        self.helpers.add("_constant_quotients")
        return super()._quotients_call(args)

    def _far_call(self, args: list) -> str:
        self.helpers.add("_constant_far")
        return super()._far_call(args)

    def _product_call(self, args: list) -> str:
        self.helpers.add("_constant_product")
        return super()._product_call(args)

    def _print_Add(self, e):
        quartered = self._quartered_sum(e)
        if quartered is None:
            sized = self._sized_terms(e)
            if sized is None:
                exact = self._exact_sum_terms(e)
                if exact is None:
                    return super()._print_Add(e)
                return self._exact_sum_call(e, *exact)
            self.helpers.add("_dominant_infinity")
            terms = "".join("(" + ", ".join("(" + ", ".join([repr(c), *[f"{x}, {p}" for x, p in pairs]]) + ")"
                                            for c, pairs in forms) + ", ), " for forms in sized)
            return f"_dominant_infinity({super()._print_Add(e)}, lambda: ({terms}))"
        # session 48 (h-gmm48): a quartered sum that can cancel is summed compensated too (the Gaussian mixture's
        # m₁ + m₂ − 2x, a factor of the factored-exp-difference rule's d: 4.2 ULP of ∂a in float64 at a = 23.66)
        exact = self._exact_sum_terms(e)
        plain = None if exact is None else self._exact_sum_call(e, *exact)
        self._select_moving = True
        try:
            plain, again = plain or super()._print_Add(e), self._print(quartered)
        finally:
            self._select_moving = False
        self.helpers.add("_taken_again")
        return f"_taken_again({plain}, lambda: 4*({again}), infinite=True)"

    def _exact_sum_call(self, e, terms, constant, grouped) -> str:
        """``_exact_sum((t₁, t₂, …), hi, lo)``: the terms as printed, the constant as its double word; where a group
        was taken apart, the sum ``e`` as written again where that is not finite (``_taken_again``)."""
        self.helpers.add("_exact_sum")
        codes = "".join(f"{self._print(t)}, " for t in terms)
        words = "" if constant == 0 else ", " + ", ".join(map(repr, _double_word(constant)))
        exact = f"_exact_sum(({codes}){words})"
        common = self._common_coefficient_terms(terms, constant)
        if common is not None:  # c·Σ tᵢ where the distributed terms c·tᵢ overflowed (_common_coefficient_terms)
            inner, c = common
            self.helpers.add("_taken_again")
            again = "".join(f"{self._print(t)}, " for t in inner)
            exact = f"_taken_again({exact}, lambda: _exact_sum(({again})) * {c!r}, infinite=True)"
        if not grouped:
            return exact
        self.helpers.add("_taken_again")
        return f"_taken_again({exact}, lambda: {super()._print_Add(e)})"

    def _print_PowerBound(self, e):
        b, m = e.args
        self.helpers.add("_power_bound")
        return f"_power_bound({self._print(b)}, {2.0 ** e.bits(m)!r}, {2.0 ** e.bits(m, True)!r})"

    def _print_PowerProduct(self, e):
        n, x, y = e.args
        self.helpers.add("_power_product")
        grouped = self._print(sp.Pow(sp.UnevaluatedExpr(x * y), n))
        return f"_power_product({self._print(x ** n)}, {self._print(y ** n)}, lambda: {grouped})"

    float32_products = False  # True: a float32 kernel's long products in float64 (the elementwise skeleton)

    def _float32_product_call(self, e) -> str | None:
        """A float32 kernel's long product ``e`` (:meth:`ConditionalPrinting._long_product`) computed in float64 from
        its leaves and rounded once, ``_float32_product(x, y, z, w, c)``; a
        float64 kernel's as printed before: the select of the two by the kernel's dtype (only the one taken is
        computed). None for any other expression."""
        if not self.float32_products or self._float32_printing:
            return None
        found = self._long_product(e) if isinstance(e, sp.Mul) else None
        if found is None:
            return None
        c, leaves = found
        self._float32_printing = True
        definitions = getattr(self, "definitions", {})
        # a temporary holding a power of a variable exponent, rounded to a float32 subnormal (or ±inf) where the product
        # is normal: where it is not normal, the product again from the power printed again, left in float64 (∂x of
        # (y^x)³, 3·y^(3x)·log y, at (0.3, 1.4e−45) was 151 ULP off, y^(3x) = 1.3e−40; torch 0.85; session 40)
        powers = [leaf for leaf in leaves if self._rooted_power(leaf, definitions) != leaf
                  and (leaf in definitions or isinstance(leaf, sp.Piecewise))]
        try:
            narrow = self._print(e)
            codes, again = ([self._print(self._power_printed_again(leaf, definitions) if leaf in taken else leaf)
                             for leaf, n in sorted(leaves.items(), key=lambda item: str(item[0])) for _ in range(n)]
                            for taken in ((), powers))
        finally:
            self._float32_printing = False
        if abs(c) != 1:
            codes.append(repr(float(abs(c))))
            again.append(repr(float(abs(c))))
        self.helpers.add("_float32_product")
        sign = "-" if c < 0 else ""
        wide = f"{sign}_float32_product({', '.join(codes)})"
        if powers:
            self.helpers.add("_float32_in_range")
            wide = (f"_float32_in_range({wide}, lambda: {sign}_float32_product({', '.join(again)}), None, "
                    f"{', '.join(self._print(p) for p in powers)})")
        held = [a for a in e.args if a != -1]
        multiplications = sum(leaves.values()) + (abs(c) != 1) - 1
        if multiplications == 2 and len(held) == 2 and all(a.is_Symbol for a in held):
            # two multiplications (taken for the range alone since session 38: three or more are rounded once, as
            # before), a·b of two values held (prod_1·x, prod_1 = z·(1/√(x² + y²))): its partial products a and b
            # themselves, so the float64 form only where a, b or a·b is not normal
            self.helpers.add("_float32_in_range")
            names = ", ".join(self._print(a) for a in held)
            wide = f"_float32_in_range({narrow}, lambda: {wide}, None, {names})"
        return f"({wide} if {self.dtype} == np.float32 else {narrow})"

    _float32_printing = False  # True while _float32_product_call prints the product as before

    def _float32_quotient(self, e, plain: str) -> str:
        """A float32 kernel's product ``e`` taken by exponents (``plain`` as printed) computed in float64 from its printed
        factors and rounded once (:meth:`ConditionalPrinting._widened_product`: a partial product of y·z/v subnormal
        where the result is normal); ``plain`` where it has no partial product, and in a float64 kernel."""
        if not self.float32_products or self._float32_printing:
            return plain
        self._float32_printing = True
        try:
            wide = self._widened_product(e, lambda b: f"np.asarray({self._print(b)}, np.float64)", repr,
                                         "np.float64(1.0)")
            parts = self._widened_parts(e) if wide is not None else None
            bases = [self._print(b) for b, _ in parts[1]] if parts is not None else []
        finally:
            self._float32_printing = False
        if wide is None:
            return plain
        wide = f"np.asarray({wide}).astype(np.float32)"
        bound = self._float32_partial_bound(parts[0], sum(abs(p) for _, p in parts[1]))
        if bound is not None:  # the float64 form only where a factor is small enough for a subnormal partial product
            self.helpers.add("_float32_in_range")
            wide = f"_float32_in_range({plain}, lambda: {wide}, {bound!r}, {', '.join(dict.fromkeys(bases))})"
        return f"({wide} if {self.dtype} == np.float32 else {plain})"

    def _printed_far_rest(self, pairs) -> str:
        """A float32 kernel's last factor of ``_constant_far`` that holds several (x·y/z of v·w·x·y/z's ∂ with five
        inputs) computed in float64, which holds every product and quotient of a few float32 numbers as a normal number
        (a float32 one overflows or underflows: ∂v of w·x·y·z/v at (4.0e28, 8, 7.0e31, −1.5e18, −1.9e35), y·z = inf,
        was −inf for −9.88e28); _constant_far then rounds once to the kernel's dtype where _taken_by_exponents takes it
        (elsewhere its float64 value is rounded where it is stored). A float64 kernel's as before."""
        if not self.float32_products or self._float32_printing:
            return super()._printed_far_rest(pairs)
        wide = self._widened_far_rest(pairs, lambda b: f"np.asarray({self._print(b)}, np.float64)", "np.float64(1.0)")
        return f"({wide} if {self.dtype} == np.float32 else {super()._printed_far_rest(pairs)})"

    def _scaled_far_rest(self, pairs) -> list[str] | None:
        """A float64 kernel's rest of ``_constant_far`` as ``_scaled_rest``'s fraction and scale (F, 1, S, 6), where
        Σ|p| ≤ 6; a float32 kernel's as before, in float64 (:meth:`_printed_far_rest`: the product of a few float32
        numbers is a normal float64), with S = 1."""
        if sum(abs(p) for _, p in pairs) > 6:
            return None
        self.helpers.add("_scaled_rest")
        args = ", ".join(f"{self._print(b)}, {p}" for b, p in pairs)
        fraction, scale = f"_scaled_rest(False, {args})", f"_scaled_rest(True, {args})"
        if self.float32_products and not self._float32_printing:
            wide = self._widened_far_rest(pairs, lambda b: f"np.asarray({self._print(b)}, np.float64)",
                                          "np.float64(1.0)")
            fraction = f"({wide} if {self.dtype} == np.float32 else {fraction})"
            scale = f"(1.0 if {self.dtype} == np.float32 else {scale})"
        return [fraction, "1", scale, "6"]

    def _print_Mul(self, e):
        wide = self._float32_product_call(e)
        if wide is not None:
            return wide
        moved = self._taken_again_pair(e, self._print_Mul)
        if moved and moved.by_exponents is not None:
            m, k, *pairs = moved.by_exponents
            self.helpers.add("_taken_by_exponents")
            held = f", held=({''.join(t + ', ' for t in moved.held)})" if moved.held else ""
            plain, rest = self._widened_once(self._float32_quotient(e, moved.plain), f"lambda: ({', '.join(pairs)}){held}")
            plain, rest = self._held_power_once(plain, rest, moved.held)
            return f"_taken_by_exponents({plain}, {m}, {k}, {rest})"
        if moved:
            self.helpers.add("_taken_again")
            return f"_taken_again({moved.plain}, lambda: {moved.again})"
        overflow = self._exp_overflow_call(e)
        if overflow:
            return overflow
        swapped = self._swapped_product(e)
        if swapped:
            return f"{swapped[0]}*{swapped[1]}"
        return (self._log2_call(e) or self._scaled_call(e) or self._exp2_scaled_call(e) or self._silu_call(e)
                or super()._print_Mul(e))

    _overflow_printing = False  # True while _exp_overflow_call prints the product as before (no second wrapping)
    OVERFLOW_SMALLEST = 0.0  # any 0 < |c| < 1: the shift in float64, c·b^a a float64 constant (10⁻³⁰⁰·e^709 = 8.2e7)

    def _exp_overflow_call(self, e, out: str | None = None) -> str | None:
        """c·e^u or c·2^u, 0 < |c| < 1 (ConditionalPrinting._exp_overflow), as printed before wrapped in
        ``_exp_overflowed(r, lambda: u, a, c·b^a, np.exp)``: taken again where b^u overflowed and the product need
        not (into ``out``: the statement's result is that array). None for any other product."""
        found = None if self._overflow_printing else self._exp_overflow(e)
        if found is None:
            return None if self._overflow_printing else self._exp_overflow_factor_call(e, out)
        c, u, b = found
        self._overflow_printing = True
        try:
            plain = self._into(out, e) if out is not None else self._print_Mul(e)
        finally:
            self._overflow_printing = False
        a, ca = self._exp_shift(c, b, float32=False)
        self.helpers.add("_exp_overflowed")
        tail = f", lambda: {self._print(u)}, {a!r}, {ca!r}, {'np.exp' if b == 'e' else 'np.exp2'})"
        statement = f"{out}[...] = " if out is not None else None
        if statement and plain.startswith(statement):
            return f"{statement}_exp_overflowed({plain[len(statement):]}{tail}"
        if out is not None and not plain.startswith(("np.multiply(", "np.divide(", "_rounded_once(", "_rounded_once_times(")):
            return None  # (a statement this wrapping does not know, whose value may not be out: as before)
        return f"_exp_overflowed({plain}{tail}"

    def _exp_overflow_factor_call(self, e, out: str | None = None) -> str | None:
        """f·e^u or f·2^u, f holding a variable (ConditionalPrinting._exp_overflow_factor), as printed before wrapped
        in ``_exp_overflowed_by(r, lambda: u, lambda: f, a, b^a, np.exp)``, as ``_exp_overflow_call``."""
        found = self._exp_overflow_factor(e)
        if found is None:
            return None
        f, u, b = found
        self._overflow_printing = True
        try:
            plain = self._into(out, e) if out is not None else self._print_Mul(e)
        finally:
            self._overflow_printing = False
        a, ba = self._exp_shift(sp.Integer(1), b, float32=False)
        self.helpers.add("_exp_overflowed_by")
        exact = ", exact=True" if self._signed_input(f, getattr(self, "definitions", {})) else ""  # an input: no rounding
        divisor = self._exp_divisor(f, getattr(self, "definitions", {}))
        if divisor is not None:  # f = n/d^p: n and d apart, 1/d^p overflows where the quotient need not
            n, d, p, exact = divisor
            exact = ", exact=True" if exact else ""
            exact += f", divisor=(lambda: {self._print(n)}, lambda: {self._print(d)}, {p})"
        tail = (f", lambda: {self._print(u)}, lambda: {self._print(f)}, {a!r}, {ba!r}, "
                f"{'np.exp' if b == 'e' else 'np.exp2'}{exact})")
        statement = f"{out}[...] = " if out is not None else None
        if statement and plain.startswith(statement):
            return f"{statement}_exp_overflowed_by({plain[len(statement):]}{tail}"
        if out is not None and not plain.startswith(("np.multiply(", "np.divide(", "_rounded_once(", "_rounded_once_times(")):
            return None
        return f"_exp_overflowed_by({plain}{tail}"

    _log_overflow_printing = False  # True while _log_overflow_call prints the log as before

    def _log_overflow_call(self, e, out: str | None = None) -> str | None:
        """log(f·b^u) or log1p(f·b^u) (ConditionalPrinting._log_overflow), as printed before wrapped in
        ``_log_overflowed(r, lambda: u, lambda: f, k)``: taken again as k·u + log f where the product overflowed."""
        found = None if self._log_overflow_printing else self._log_overflow(e)
        if found is None:
            return None
        f, u, b = found
        self._log_overflow_printing = True
        try:
            plain = self._into(out, e) if out is not None else self._print_Function(e)
        finally:
            self._log_overflow_printing = False
        if plain is None or out is not None and "out=" not in plain:
            return None  # (a statement this wrapping does not know: as before)
        self.helpers.add("_log_overflowed")
        k = 1.0 if b == "e" else math.log(2)
        return f"_log_overflowed({plain}, lambda: {self._print(u)}, lambda: {self._print(f)}, {k!r})"

    def _sigmoid_argument(self, s):
        """u where ``s`` is σ(u), or a temporary holding it: σ(u) itself or the sigmoid-pair select
        {r if u ≥ 0; E·r} with r = 1/(1 + E), E = e^−|u|; None otherwise. (The kernel's definitions whether or not
        the arithmetic selects are on: both printings give the same bits, tests/test_numpy_speed7.py.)"""
        defined = self.definitions.get
        d = defined(s, s)
        if isinstance(d, sigmoid):
            return d.args[0]
        if not (isinstance(d, sp.Piecewise) and len(d.args) == 2 and d.args[1][1] == sp.true):
            return None
        (r, cond), (q, _) = d.args
        rr, rq, cond = defined(r, r), defined(q, q), defined(cond, cond)
        if not (isinstance(rr, sp.Pow) and rr.exp == -1 and isinstance(rr.base, sp.Add) and len(rr.base.args) == 2
                and sp.S.One in rr.base.args):
            return None
        E = rr.base.args[1] if rr.base.args[0] == 1 else rr.base.args[0]
        rE = defined(E, E)
        if not (type(rE).__name__ == "nexp" and isinstance(rE.args[0], sp.Abs)):
            return None
        u = rE.args[0].args[0]
        pair = isinstance(rq, sp.Mul) and set(rq.args) in ({E, r}, {E, rr})
        return u if pair and isinstance(cond, sp.GreaterThan) and cond.lhs == u and cond.rhs == 0 else None

    def _silu_call(self, e, out: str | None = None) -> str | None:
        """u·σ(u) (silu) as ``_x_sigmoid(u)`` (one rounding and NumPy's exp in float64, rounded once in float32);
        None for any other product (session 27)."""
        if len(e.args) != 2:
            return None
        for u, s in (e.args, e.args[::-1]):
            if not u.is_number and self._sigmoid_argument(s) == u:
                self.helpers.add("_x_sigmoid")
                wide = f", {self.dtype}" if self.wide and self.dtype else ""  # a float32 kernel's float64 block
                call = f"_x_sigmoid({self._print(u)}{wide})"
                return call if out is None else f"np.copyto({out}, {call})"
        return None

    def _scaled_call(self, e, out: str | None = None) -> str | None:
        """c·f(u) (a constant c, f a registry function whose NumPy lowering is ``_rounded_once(np.f, u)``) as
        ``_rounded_once(np.f, u, scale=c)``: float32, the product in float64 too, rounded once (selu's λα·expm1(x),
        elu′'s α·eˣ); float64, f(u)·c as before. None for any other product (session 27)."""
        if len(e.args) != 2:
            return None
        c, g = sorted(e.args, key=lambda a: not a.is_number)
        if not (c.is_number and c.is_real and not c.free_symbols and isinstance(g, sp.Function) and len(g.args) == 1):
            return None
        lowering = numpy_template(type(g))
        if lowering is None or not lowering[0].startswith("_rounded_once("):
            return None
        self.helpers.add("_rounded_once")
        call = lowering[0].replace("out={out})", "scale={scale}, out={out})")
        call = call.format(self._print(g.args[0]), scale=self._float(float(c)), out=out)
        return call if out is not None else call.replace(", out=None", "")

    def _exp2_scaled_call(self, e, out: str | None = None) -> str | None:
        """c·2^u (c a constant, or a temporary holding it; 2^u written or a temporary holding it, u an input or a
        temporary) as ``_rounded_once(np.exp2, u, scale=c)``, or ``_rounded_once_times(t, np.exp2, u, c)`` where a
        temporary t holds 2^u (the value f = 2^x shares it with f′ = log 2·2^x): float32, 2^u and the product in
        float64, rounded once (1.15 ULP as t·c; torch 1.04); float64, t·c as before. None for any other product
        (session 28)."""
        if len(e.args) != 2:
            return None
        for c, g in (e.args, e.args[::-1]):
            constant = self.definitions.get(c, c)
            power = self.definitions.get(g, g)
            if not (constant.is_number and constant.is_real and not constant.free_symbols):
                continue
            if not (isinstance(power, sp.Pow) and power.base == 2 and not power.exp.is_number
                    and power.exp.is_Symbol):
                continue
            scale, u = self._float(float(constant)), self._print(power.exp)
            if g is power:
                self.helpers.add("_rounded_once")
                return f"_rounded_once(np.exp2, {u}, scale={scale}" + (f", out={out})" if out else ")")
            self.helpers.add("_rounded_once_times")
            return f"_rounded_once_times({self._print(g)}, np.exp2, {u}, {scale}" + (f", out={out})" if out else ")")
        return None

    # session 27 (h-cells27): log₂ u is written log(u)/log 2 (the registry's log2, so that the log rules see log u),
    # two roundings: 1.34 ULP float32, 1.29 float64 (torch.log2 0.50). The product log(u)·(1/log 2), and only it, is
    # printed as one call of the library's log₂ (float32: in float64, rounded once, as the registry's log)
    LOG2 = "_rounded_once(np.log2, {0}, out={out})"

    def _log2_call(self, e, out: str | None = None) -> str | None:
        """log(u)·(1/log 2) (the factor 1/log 2 a constant or a temporary holding it) as ``_rounded_once(np.log2, u)``;
        None for any other product."""
        if len(e.args) != 2:
            return None
        for c, g in (e.args, e.args[::-1]):
            if isinstance(g, sp.log) and len(g.args) == 1 and self.definitions.get(c, c) == 1 / sp.log(2):
                self.helpers.add("_rounded_once")
                call = self.LOG2.format(self._print(g.args[0]), out=out)
                return call if out is not None else call.replace(", out=None", "")
        return None

    def _print_WrittenWhereNotFiniteBase(self, e):
        """The long-product rule's widen(H)·R taken as written where it is not finite (rewrite.WrittenWhereNotFiniteBase):
        the written product computed only where some element needs it."""
        if self.plain_widened:
            return f"({self._print(e.args[1])})"
        self.helpers.add("_taken_again")
        # infinite: also where it is NaN and the written product ±inf (the base's value: f = (y/(x·Φ(x/y)))² at
        # (−3, 1e−300) is +inf, where y²·f64(Φ⁻²) is 0·inf)
        far = self._far_forms(e.args)  # a third order where both are ±inf or NaN (weights that overflow times a σ′)
        far = f", far=lambda: ({''.join(f + ', ' for f in far)})" if far else ""
        return f"_taken_again({self._print(e.args[0])}, lambda: {self._print(e.args[1])}, infinite=True{far})"

    def _print_TakenWhereInfiniteBase(self, e):
        """A value where an input is ±inf, another elsewhere (rewrite.TakenWhereInfiniteBase, left50): its select,
        printed here (not in the expression, where SymPy's piecewise_fold would distribute it)."""
        return self._print(e.as_select())

    def _print_WrittenWhereNotFiniteOrBelowBase(self, e):
        """The power-quotient rule's N/x^k taken as Σ tᵢ/x^k where it is not finite or N is below the normal range
        (rewrite.WrittenWhereNotFiniteOrBelowBase): ``_taken_below``, the written sum's widened call ``needed``
        where those elements are (session 44's form computed it on every element: 1.67× the kernel's CPU time)."""
        if self.plain_widened:
            return f"({self._print(e.args[1])})"
        self.helpers.add("_taken_below")
        computed, n = self._print(e.args[0]), self._print(e.args[2])
        outer = self.selected
        try:
            self.selected = "_below" if outer is None else f"({outer}) & _below"
            written = self._print(e.args[1])
        finally:
            self.selected = outer
        return f"_taken_below({computed}, {n}, lambda _below: {written})"

    GUARDED_CONJUNCTIONS = True

    def _guarded_conjunction(self, e):
        """a ∧ b where b calls a widened function and a does not: b printed with a as its ``selected``, so that the
        widened function computes its double word (or its float64 bound) only where a holds — anywhere else the
        conjunction is false whatever b is. A range guard's two forms, (far ∧ |W₁| < c) ∨ (¬far ∧ |W₂| < c) (the
        tanhshrink rule's test of tanh(c·x + d·h) − h), computed both widened sums on every element, where each
        is needed on its own side only (h-cost40)."""
        printed = [self._print(a) for a in e.args]
        guards = [p for p in printed if "_dw_widened_" not in p]
        if self.plain_widened or not guards or len(guards) == len(printed):
            return " & ".join(f"({p})" for p in printed)
        outer = self.selected
        guard = " & ".join(f"({g})" for g in guards)
        try:
            self.selected = guard if outer is None else f"({outer}) & {guard}"
            printed = [p if p in guards else self._print(a) for a, p in zip(e.args, printed)]
        finally:
            self.selected = outer
        return " & ".join(f"({p})" for p in printed)

    def _condition_once(self, code: str) -> tuple[str, str]:
        """A select's condition that calls a widened function, named where the select tests it, ``(_cond_<digest> :=
        …)``, and that name where each piece's ``needed`` takes it again: Python evaluates the select's condition before
        its pieces, so the widened function runs once per block, where it ran once for the test and once more in each
        piece's ``needed`` (tanh(c·x + d·h) − h: the tanhshrink rule's test |tanh u − w| < 3/2 of a widened sum, three
        times per block; h-cost39); likewise a condition of more than three comparisons (the range guard that the
        Laplace NLL's ∂κ takes its widened sum under: 24 comparisons, four times per block). The digest of the text
        names it: the same condition nested again is the same value."""
        if "_dw_widened_" not in code and len(_COMPARISONS.findall(code)) <= 3:
            return code, code
        name = "_cond_" + hashlib.sha1(code.encode()).hexdigest()[:10]
        return f"({name} := {code})", name

    # ---------------------------------------------------------------- h-cost50: a held power named once
    def _held_power_once(self, plain: str, rest: str, held) -> tuple[str, str]:
        """``_taken_by_exponents``'s value ``plain`` and its ``held`` powers, each held power of a name to a whole
        exponent of 3 or more (``c**4``: NumPy's pow, not the square's fast path) that ``plain`` computes named where
        ``plain`` first computes it, ``(_held_<digest> := c**4)``, and that name in ``plain``'s later occurrences
        and in ``held``: Python evaluates ``plain`` left to right and before ``held``, so the power is computed once a
        block where it was computed in each (Tukey's biweight f in a float32 kernel, r²·(r⁴ + 3c⁴ − 3c²r²)/(6c⁴) held
        c⁴ and ∂c c⁵, r⁴: three pows more a block; 1e6 float32 1.38× → 0.98× of 9d4d1074's; h-cost50). Only where
        ``plain`` holds no lambda, conditional expression, ``and``, ``or`` or comprehension (where each occurrence is
        computed whenever ``plain`` is, in the order written); ``rest`` (the factors' lambda, then ``held``) keeps the
        power as written in the lambda. Run after :meth:`_widened_once` (whose test refuses a ``:=`` in ``plain``)."""
        if not held or any(word in plain for word in ("lambda", " if ", " and ", " or ", " for ")):
            return plain, rest
        factors, marker, held_text = rest.rpartition(", held=(")
        for text in held:
            text = str(text)
            if not _HELD_POWER.fullmatch(text):
                continue
            occurrence = re.compile(r"(?<![\w.])" + re.escape(text) + r"(?![\w.(]|\*\*)")
            if not occurrence.search(plain):
                continue
            name = "_held_" + hashlib.sha1(text.encode()).hexdigest()[:10]
            first = occurrence.search(plain)
            plain = (plain[:first.start()] + f"({name} := {text})"
                     + occurrence.sub(name, plain[first.end():]))
            held_text = occurrence.sub(name, held_text)
        return plain, factors + marker + held_text

    # ---------------------------------------------------------------- h-cost42: a widened call named once
    def _widened_once(self, plain: str, rest: str) -> tuple[str, str]:
        """``_taken_by_exponents``'s value ``plain`` and the rest of its arguments ``rest`` (the factors' lambda and
        ``held``), each widened call that both print named where ``plain`` computes it, ``(_widened_<digest> := …)``,
        and that name in ``rest``: Python evaluates ``plain`` first, so the function runs once a block where it ran
        in the value, in ``held`` and in the factors (Tukey's biweight f, r²·(r⁴ + 3c⁴ − 3c²r²)/(6c⁴) widened: twice
        a block, three times where a value is not normal; 1e6 float64 1056 → 617 ms; h-cost42). Only where ``plain``
        holds the call once, outside any lambda, conditional expression, ``and``, ``or`` or ``:=`` (where it is
        computed whenever ``plain`` is: the name never stands for another block's value); the digest of the call's
        text names it, so the same call named twice is the same value."""
        for text in sorted(getattr(self, "_widened_texts", ()), key=lambda t: (-len(t), t)):
            if plain.count(text) != 1 or text not in rest:
                continue
            outside = plain.replace(text, " ")
            if any(word in outside for word in ("lambda", " if ", " and ", " or ", ":=")):
                continue
            name = "_widened_" + hashlib.sha1(text.encode()).hexdigest()[:10]
            plain, rest = plain.replace(text, f"({name} := {text})"), rest.replace(text, name)
        return plain, rest

    def _print_WidenedBase(self, e):
        """A widened sum's call (:meth:`_widened_call`), remembered for :meth:`_widened_once`."""
        text = self._widened_call(e)
        if not self.plain_widened:
            self._widened_texts = getattr(self, "_widened_texts", set()) | {text}
        return text
    # ---------------------------------------------------------------- (end of h-cost42's widened call named once)

    def _widened_call(self, e):
        """A widened sum (the widen rule): a call of the function generated for its body
        (:func:`symnet.codegen.doubleword.widened_function`), which computes it in double-word
        arithmetic where the kernel's dtype is float64 (where the float64 sum's error bound is not
        within 3u, and where the enclosing select takes it: ``selected``, passed as ``needed``), in
        float64 where it is float32, and rounds once to the leaves' own dtype (np.asarray copies
        nothing where the kernel is float64; a Python float beside a float32 array stays float32,
        NEP 50)."""
        if self.plain_widened:  # inside a generated function's float64 body: the body itself
            return f"({self._print(nan_through(e.expanded))})"
        function = self._widened(e)
        name = function.name
        args = ", ".join(self._print(a) for a in e.args)
        # where a select takes the sum (selected), the function needs its double-word there only
        needed = "" if self.selected is None else f", {self.selected}"
        if getattr(e, "in_float32", False) or function.takes_within:  # double-word in a float32 kernel too where
            # the float64 body's bound is not within 2⁻³⁰ of it (2⁻⁶ of a float32 ULP), wherever the body has a
            # bound (the function takes ``within``), and everywhere else where widen's in_float32 asks
            dtype = self.dtype if self.wide else f"np.result_type({args})"
            call = f"{name}({args}, True{needed}, within=(3.3306690738724404e-16 if {dtype} == np.float64 else 2.0**-30))"
            return call if self.wide else f"np.asarray({call}, {dtype})"
        if self.wide:  # the whole block is float64 already (emit_function): in a float32 kernel the
            # body as it is (it may share the kernel's float64 temporaries, e^−|z|), in a float64 one
            # the generated double-word function
            return f"({name}({args}, True{needed}) if {self.dtype} == np.float64 else {self._print(nan_through(e.expanded))})"
        dtype = f"np.result_type({args})"
        return f"np.asarray({name}({args}, {dtype} == np.float64{needed}), {dtype})"

    def _widened_function(self, e) -> str:
        """The name of the generated function of ``e``'s body, registered as a helper of the module."""
        return self._widened(e).name

    def _widened(self, e) -> WidenedFunction:
        """The generated function of ``e``'s body (:func:`symnet.codegen.doubleword.widened_function`: its name,
        text, helpers and whether it takes ``within``), registered as a helper of the module."""
        names = leaf_identifiers(e.leaves)
        plain = self._widened_body_printer(dict(zip(e.leaves, names)))
        # its selects are np.where (the arithmetic ones read the kernel's temporaries, which are not the function's)
        plain.CONSTANT_SELECT, plain.ARITHMETIC_SELECTS, plain.branchless = None, False, False
        plain.WHERE = type(self).WHERE
        # the function's arguments are float64 and its result is rounded by the caller: a helper in its body takes
        # no kernel dtype (a float32 kernel's wide block printed _x_sigmoid(x, _dtype) there, a name the function
        # does not have: NameError in (selu(silu(x)))**(1/2), h-hyp31)
        plain.wide = False
        function = keep_generated("numpy", self._generated_once(e, plain, lambda: widened_function(e, "numpy", plain, names)))
        self.helpers.update([function.name, *function.needs])
        return function

    def _print_nexp(self, e):  # e^−x: np.exp(-x), or np.exp(x) for e^−(−x)
        (arg,) = e.args
        if arg.could_extract_minus_sign():
            return f"np.exp({self._print(-arg)})"
        return self.FUNCTIONS["nexp"].format(self._print(arg))

    def _print_Float(self, e):
        return self._float(float(e))

    # an integer or fraction too large for a float (3·10³⁰⁸) printed exactly made the kernel raise
    # "OverflowError: int too large to convert to float" when NumPy met it: printed as its float
    # value instead (±inf past 1.8e308, as the arithmetic would give); smaller ones stay exact
    _EXACT_BELOW = 2**1000

    def _print_Integer(self, e):
        return str(e.p) if abs(e.p) < self._EXACT_BELOW else self._float(float(e))

    def _print_Rational(self, e):
        if abs(e.p) < self._EXACT_BELOW and e.q < self._EXACT_BELOW:
            return super()._print_Rational(e)
        return self._float(float(e))

    def _print_Pow(self, e, rational=False):
        root = self._root_of_held_power(e)
        if root is not None:  # √t of a temporary t = b^e: |b|^(e/2) where t is not normal (it may leave the range where
            self.helpers.add("_root_of_power")  # its root does not; |b|: t ≥ 0 there, and b < 0 is a b^e of even e)
            root = sp.Pow(sp.Abs(root.base), root.exp)
            code = f"_root_of_power({self._print(e.base)}, lambda: {self._print(root)})"
            return code if e.exp == sp.S.Half else f"1 / {code}"
        if e.exp == sp.S.Half:
            return f"np.sqrt({self._print(e.base)})"
        if e.exp == -sp.S.Half:
            return f"1 / np.sqrt({self._print(e.base)})"
        affine = None if e.base.is_number else self._affine_exponent(e.exp)
        if affine is not None:  # b^(k·y + c): the rounding of the exponent restored (_affine_exponent)
            self.helpers.add("_power_shifted")
            c, k, k_lo, u = affine
            c = c if c.is_Integer else repr(float(c))  # (a half-integer: 0.5, exact)
            wide = ", wide=True" if self._float32_printing else ""  # a factor of _float32_product: left in float64
            if k == 1 and k_lo == 0:
                return f"_power_shifted({self._print(e.base)}, {self._print(u)}, {c}{wide})"
            return (f"_power_shifted({self._print(e.base)}, {self._print(u)}, {c}, {self._float(k)}"
                    + (f", {self._float(k_lo)}" if k_lo else "") + f"{wide})")
        shift, rest = e.exp.as_coeff_Add()
        if shift.is_Integer and shift != 0 and rest.free_symbols:  # a number's power b^(y + c): y + c's rounding restored
            self.helpers.add("_power_shifted")
            return f"_power_shifted({self._print(e.base)}, {self._print(rest)}, {shift})"
        if e.base == 2 and not e.exp.is_number:  # 2^u: the library's exp2 (float32: in float64, rounded once),
            # where np.power(2, u) in float32 was 0.90 ULP, ∂ 1.16 (torch.exp2 0.57, 1.04; session 27)
            self.helpers.add("_rounded_once")
            return f"_rounded_once(np.exp2, {self._print(e.exp)})"
        if (e.exp.is_Rational or e.exp.is_Float) and not e.exp.is_Integer and not rational:
            # a fractional constant exponent: _fracpow (in float64 for a float32 kernel; split exactly in float64)
            self.helpers.add("_fracpow")
            exact = f", {e.exp.p}, {e.exp.q}" if e.exp.is_Rational else ""
            return f"_fracpow({self._print(e.base)}, {self._float(float(e.exp))}{exact})"
        if e.exp.is_number and e.exp.is_real and not e.exp.is_Integer and not rational:
            # an irrational constant c (√2, 1/π, √2 − 1): _fracpow with c − fl(c), c's rounding written back
            self.helpers.add("_fracpow")
            rounded = float(e.exp)
            delta = float(sp.N(e.exp - sp.Float(rounded, 60), 30))
            return f"_fracpow({self._print(e.base)}, {self._float(rounded)}, delta={self._float(delta)})"
        rounded = self._rounded_power_base(e)
        if rounded is not None:  # b^k of a rounded sum, quotient or log: b's rounding restored (_rounded_base)
            kind, *args = rounded
            # a float32 kernel's float64 block (wide) needs no restoring: h-sum41's n-term sums and logs printed in
            # place skip it there (y + log(x)⁶⁴ float32 12.6× the plain power's time with it)
            restore = f", restore={self.dtype} == np.float64" if self.wide else ""
            if kind == "sum" and len(args) > 2:  # x + y + z: its Sum2 double word (_rounded_sum_power)
                self.helpers.add("_rounded_sum_power")
                terms = "".join(f"{self._print(a)}, " for a in args)
                return f"_rounded_sum_power({self._print(e.base)}, {int(e.exp)}, ({terms}){restore})"
            if kind == "log" and e.base not in getattr(self, "definitions", {}):  # log v printed in place
                self.helpers.add("_rounded_log_power")
                return f"_rounded_log_power({self._print(e.base)}, {int(e.exp)}, {self._print(args[0])}{restore})"
            helper = "_rounded_log_power" if kind == "log" else "_rounded_base_power"
            self.helpers.add(helper)
            return f"{helper}({self._print(e.base)}, {int(e.exp)}, {', '.join(self._print(a) for a in args)})"
        return super()._print_Pow(e, rational)

    def _print_NumberSymbol(self, e):
        return self._float(float(e))

    _print_Pi = _print_Exp1 = _print_NumberSymbol

    # NaN, and SymPy's complex infinity (1/0 in a select's branch the code never takes: ∂ of log(elu(hardswish(x)))
    # held {zoo if x ≤ −3; …} where x ≥ 3) as the not-a-number it is on the reals; both printed as names the module
    # did not have (NameError: name 'zoo' is not defined, h-hyp28)
    def _print_NaN(self, e):
        return "np.nan"

    _print_ComplexInfinity = _print_NaN
