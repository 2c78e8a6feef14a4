"""The NumPy emitter for row-wise kernels (softmax, log-softmax, softmax cross-entropy).

A row formula is printed once, with an entry ``z_j`` as the whole block of rows, a row
sum as ``np.sum(…, axis=1, keepdims=True)``, ``z_r`` as the entry of each row's class
and the one-hot ``δ_jr`` term as a scatter into the gradient. The rows are processed a
block at a time so the temporaries stay in cache.
"""
from __future__ import annotations

import sympy as sp

from ....errors import SymnetError
from ....registry import NUMPY_HELPER_NEEDS
from ....render import text
from .printer import NumpyExpressionPrinter
from ...families.rowwise import OPTION_NAMES, V, RowKernel, j, option_product, r, scaled_loss, w

__all__ = ["emit_row_function", "ROW_HELPERS", "HELPER_IMPORTS"]

# Imports a helper needs beyond numpy (all from the standard library).
HELPER_IMPORTS = {"_in_parallel": ["import os", "from concurrent.futures import ThreadPoolExecutor"],
                  "_row_dw_target_gradient": ["from decimal import Decimal, localcontext", "from fractions import Fraction"],
                  "_row_total": ["import math"], "_loss_down": ["import math"]}

# The double-word primitives the row helpers call (symnet.codegen.doubleword: one text for both backends),
# pulled into a module with them by numpy_helper_closure
ROW_HELPER_NEEDS = {"_row_dw_target_gradient": ("_dw_two_sum", "_dw_split_bounded", "_dw_two_prod_bounded")}
NUMPY_HELPER_NEEDS.update(ROW_HELPER_NEEDS)

ROW_HELPERS = {
    "_in_parallel": '''\
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_SHARE = 1 << 19  # elements: less than this per core is not worth a thread


def _new_pool():
    """This process's own thread pool (its threads start on first use).

    A forked child (a DataLoader worker, multiprocessing with fork) inherits the parent's
    pool but none of its threads: work queued there would never run. So the child makes
    a new one as it starts.
    """
    global _POOL
    _POOL = ThreadPoolExecutor(_CORES, thread_name_prefix="symnet")


_new_pool()
if hasattr(os, "register_at_fork"):  # where there is no fork, there is nothing to redo
    os.register_at_fork(after_in_child=_new_pool)


def _in_parallel(work, rows, width):
    """Run work(lo, hi) over the rows [0, rows), one contiguous share per core.

    NumPy releases the GIL inside its loops, so the shares run at the same time.
    """
    shares = min(_CORES, rows, rows * width // _SHARE)
    if shares < 2:
        work(0, rows)
        return
    bounds = [rows * k // shares for k in range(shares + 1)]
    others = [_POOL.submit(work, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    work(bounds[0], bounds[1])  # the calling thread takes the first share
    for share in others:
        share.result()  # re-raises an error from a share
''',
    "_logits": '''\
def _logits(z):
    """The logits as a C-contiguous (rows, V) float array, and their original shape (a masked array refused)."""
    z = np.asarray(_unmasked(z, "z"))
    if z.dtype not in (np.float32, np.float64):
        raise TypeError(f"argument 'z' must hold float32 or float64 logits, not {z.dtype}")
    if z.ndim == 0 or z.shape[-1] == 0:
        raise ValueError(f"argument 'z' needs a last axis of at least one class, got shape {z.shape}")
    return np.ascontiguousarray(z).reshape(-1, z.shape[-1]), z.shape
''',
    "_classes": '''\
def _classes(r, shape, ignore_index):
    """The class of each row as (rows, 1) indices in [0, V), checked: never an out-of-range
    read. Rows of class ignore_index read class 0 instead; the mask of them is returned too
    (None when there are none). A masked array is refused (ignore_index is the way to leave rows out)."""
    r = np.asarray(_unmasked(r, "r"))
    if r.dtype.kind not in "iu":
        raise TypeError(f"argument 'r' must hold integer class indices, not {r.dtype}")
    if r.shape != shape[:-1]:
        raise ValueError(f"argument 'r' has shape {r.shape}; logits of shape {shape} need {shape[:-1]}")
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, (int, np.integer)):
        raise TypeError(f"ignore_index must be an integer, not {ignore_index!r}")
    r = r.reshape(-1, 1)
    ignored = r[:, 0] == int(ignore_index)
    outside = ~ignored & ((r[:, 0] < 0) | (r[:, 0] >= shape[-1]))
    if outside.any():
        raise ValueError(f"class index {r[outside][0, 0]} in argument 'r' is outside [0, {shape[-1]}) "
                         f"(and is not ignore_index={ignore_index})")
    if not ignored.any():
        return r.astype(np.intp, copy=False), None
    return np.where(ignored[:, None], 0, r).astype(np.intp, copy=False), ignored
''',
    "_own_rows": '''\
def _own_rows(a, name):
    """inplace=True: the caller's array ``a`` as (rows, V) rows of its own memory (a view,
    whatever its strides), or None where only a copy has that shape. Refused: anything that
    is not a writable NumPy array, and arrays whose entries overlap (a stride of 0)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"inplace=True writes into argument {name!r}, which must then be a NumPy array, "
                        f"not {type(a).__name__}")
    if not a.flags.writeable:
        raise ValueError(f"inplace=True writes into argument {name!r}, but it is read-only "
                         f"(a broadcast view?); pass a writable array or inplace=False")
    span = a.itemsize  # entries apart by at least the span of the axes of smaller stride: no overlap
    for stride, n in sorted((abs(s), n) for s, n in zip(a.strides, a.shape) if n > 1):
        if stride < span:
            raise ValueError(f"inplace=True writes into argument {name!r}, but its entries overlap in "
                             f"memory (strides {a.strides}); pass an array of its own or inplace=False")
        span = stride * (n - 1) + span
    rows = a.reshape(-1, a.shape[-1])
    return rows if a.size and np.may_share_memory(rows, a) else None
''',
    "_like": '''\
def _like(g, name, shape, dtype):
    """An upstream gradient: the logits' shape, cast to their dtype."""
    if g is None:
        raise TypeError(f"argument {name!r} is missing (got None)")
    g = np.asarray(_unmasked(g, name))
    if g.dtype not in (np.float32, np.float64):
        raise TypeError(f"argument {name!r} must hold float32 or float64 values, not {g.dtype}")
    if g.shape != shape:
        raise ValueError(f"argument {name!r} has shape {g.shape} but the logits have shape {shape}")
    return np.ascontiguousarray(g, dtype=dtype).reshape(-1, shape[-1])
''',
    "_weights": '''\
def _weights(weight, V, dtype):
    """The class weights as a (1, V) array of the logits' dtype: all 1 for None."""
    if weight is None:
        return np.ones((1, V), dtype)
    weight = np.asarray(_unmasked(weight, "weight"))
    if weight.dtype.kind not in "fiu" or weight.shape != (V,):
        raise ValueError(f"weight must be a vector of {V} floats (one per class), not {weight.dtype} {weight.shape}")
    if not np.isfinite(weight).all():
        raise ValueError("weight holds a value that is not finite")
    with np.errstate(over="ignore"):
        cast = weight.astype(dtype, copy=False)
    if not np.isfinite(cast).all():  # a wider weight past the logits' dtype's range: the loss would be NaN
        past = weight[~np.isfinite(cast)][0]
        raise ValueError(f"weight holds {past!r}, beyond the range of {np.dtype(dtype).name} (the logits' dtype)")
    return cast.reshape(1, V)
''',
    "_options": '''\
def _options(label_smoothing=0.0, softcap=None, z_loss_scale=0.0):
    """The options checked: label_smoothing in [0, 1], softcap None or > 0, z_loss_scale ≥ 0."""
    for name, value in (("label_smoothing", label_smoothing), ("z_loss_scale", z_loss_scale),
                        ("softcap", 1.0 if softcap is None else softcap)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name} must be a number, not {value!r}")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"label_smoothing must lie in [0, 1], not {label_smoothing!r}")
    if not 0 <= z_loss_scale < float("inf"):
        raise ValueError(f"z_loss_scale must be finite and ≥ 0, not {z_loss_scale!r}")
    if softcap is not None and not 0 < softcap < float("inf"):
        raise ValueError(f"softcap must be finite and > 0 (or None), not {softcap!r}")
''',
    "_row_dw_softcap": '''\
def _row_dw_softcap(z, s, chain=False):
    """The softcap c = s·tanh(z/s) of float64 logits z, (rows, V), in double-word: c_k − c_r keeps the roundings
    of a float64 c (about s·ε absolute each) and e^{c_k − c_r} makes them relative (the loss of a confident row
    30 ULP, the gradients 12–400). x = z/s as x + x_lo (s·x exact by TwoProduct, z − s·x exact: Sterbenz);
    E = e^{−2|x + x_lo|} in double-word (_row_dw_exp_shifted, 2^-71 relative); tanh|x| = (1 − E)/(1 + E) in
    double-word (its error 2^-71 absolute: ≪ 2^-60 of it from |x| = 2^-12; below, x − x³/3 + 2x⁵/15), times s.
    _dw_tanh (symnet.codegen.doubleword: 8 squarings in its e^x) gives the same c: the gradient kernel took 20×
    its time without a softcap with it, 8× with this (float64 c: 2×, torch 2.2×; benchmarks/softcap.py).

    Returns (c, gap_lo, m_lo, sech²): c the float64 c (the formulas' z); m_lo the low part of m = max_k c_k of each
    row (the c_lo of the row's maximum, the largest of them at a tie), (rows, 1); gap_lo the low part of each c_j − m
    (c_lo − m_lo), so that c_j − m = fl(c_j − m) + TwoSum error + gap_lo; with ``chain``, ∂c_j/∂z_j = sech²(x) = 4E/(1 + E)² of the same
    E, rounded once (else None): 4σ(2x)σ(−2x) of the rounded x was |2x|·ε/2 off (333 ULP at z = 1e4, s = 30).
    A NaN logit keeps float64's c (NaN), lo 0."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        x = z / s
        p, p_lo = _dw_two_prod_bounded(x, s)
        x_lo = ((z - p) - p_lo) / s
        x_lo = np.where(np.isfinite(x_lo), x_lo, 0.0)  # z = ±∞ (and |z| past 2^996: tanh is ±1 there)
        g = np.where(x < 0, 2.0, -2.0) * x_lo  # −2|x + x_lo| = −2|x| + g
        e, e_lo = _row_dw_exp_shifted(-2.0 * np.abs(x), 0.0, g)
        e = np.where(e < 2.0 ** -1000, e + e * g, e)  # below 2^-1000 float64's e^s: its lo to first order here
        n, n_lo = _dw_two_sum(1.0, -e)  # 1 − E
        n_lo = n_lo - e_lo
        d, d_lo = _dw_two_sum(1.0, e)  # 1 + E
        d_lo = d_lo + e_lo
        q = n / d
        qd, qd_lo = _dw_two_prod_bounded(q, d)
        q_lo = (((n - qd) - qd_lo) + (n_lo - q * d_lo)) / d  # n − q·d exact (Sterbenz)
        t, t_lo = np.where(x < 0, -q, q), np.where(x < 0, -q_lo, q_lo)  # tanh is odd
        small = np.abs(x) < 2.0 ** -12
        if small.any():  # tanh x = x − x³/3 + 2x⁵/15 (x⁷ below 2^-72 of it)
            x2 = x * x
            t = np.where(small, x, t)
            t_lo = np.where(small, x_lo - x * x2 * (1 / 3 - x2 * (2 / 15)), t_lo)
        c, c_lo = _dw_two_prod_bounded(t, s)
        c, c_lo = _dw_two_sum(c, c_lo + t_lo * s)
        bad = ~(np.isfinite(c) & np.isfinite(c_lo))
        if bad.any():
            c = np.where(bad, s * np.tanh(x), c)
            c_lo = np.where(bad, 0.0, c_lo)
        m = np.max(c, axis=1, keepdims=True)
        top = np.max(np.where(c == m, c_lo, -np.inf), axis=1, keepdims=True)
        m_lo = np.where(np.isfinite(top), top, 0.0)
        gap_lo = c_lo - m_lo
        if not chain:
            return c, gap_lo, m_lo, None
        q, q_lo = _dw_two_prod_bounded(d, d)  # (1 + E)²
        q_lo = q_lo + 2.0 * d * d_lo
        ratio = e / q
        sech2 = 4.0 * (ratio + ratio * np.where(e > 0, e_lo / e - q_lo / q, 0.0))
    return c, gap_lo, m_lo, sech2


def _exp_twosum_lo(x, y, lo):
    """e^(x + y + lo), lo a low part of x + y (|lo| ≪ 1, _row_dw_softcap's gap_lo) or None: e^s·(1 + e + lo),
    s + e = x + y exactly (TwoSum); _exp_twosum where lo is None."""
    if lo is None:
        return _exp_twosum(x, y)
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.add(x, y)
        e = _twosum_error(x, y, s) + lo
        t = np.exp(s)
        r = t + t * e
        bad = ~np.isfinite(r)
        return np.where(bad, t, r) if bad.any() else r


def _expm1_lo(x, lo):
    """e^(x + lo) − 1 = expm1(x) + e^x·lo to first order, lo a low part of x (or None: expm1(x))."""
    return np.expm1(x) if lo is None else np.expm1(x) + np.exp(x) * lo


def _minus_lo(x, lo):
    """x − lo, lo the low part of the gap −x (m − c_j = fl(m − c_j) − gap_lo), or x where lo is None."""
    return x if lo is None else x - lo


def _lo_at(lo, r):
    """lo at the class of each row, (rows, 1), or None."""
    return None if lo is None else np.take_along_axis(lo, r, axis=1)
''',
    "_row_dw_target_gradient": '''\
_ROW_DW_EXP2 = []  # (hi, lo) of 2^(i/256), made on first use (30 ms of decimal arithmetic: not at import)


def _row_dw_exp2_table():
    """2^(i/256), i = 0 … 255, as hi + lo: hi of 26 bits (25 after the point), so that its product with a
    26-bit factor is exact; lo the rest, to 40 digits (decimal). Made once (two threads may both make it: the
    same values)."""
    if not _ROW_DW_EXP2:
        with localcontext() as ctx:
            ctx.prec = 40
            exact = [Decimal(2) ** (Decimal(i) / 256) for i in range(256)]
            hi = [float((x * 2 ** 25).to_integral_value()) / 2 ** 25 for x in exact]
            lo = [float(x - Decimal(h)) for x, h in zip(exact, hi)]
        _ROW_DW_EXP2[:] = [(np.array(hi), np.array(lo))]
    return _ROW_DW_EXP2[0]


def _row_dw_exp_shifted(z, m, gap_lo=None):
    """e^{z − m + gap_lo} as hi + lo, about 2^-71 relative (``gap_lo``: a low part of z − m, the softcap's, or None):
    z − m = s + err exactly (TwoSum); s + err = k·ln 2/256 + r
    with ln 2/256 in two parts, the first of 34 bits (k·part exact for |k| < 2^19); e^r − 1 = r + r²/2 + … + r⁶/720
    (|r| ≤ 0.0014); times 2^(i/256) (the table, i = k mod 256: its hi times r's 26-bit parts exact) and 2^j,
    j = ⌊k/256⌋ ≤ 0. Below 2^-1000 (and at z = −∞, NaN) float64's own e^s, lo 0."""
    s = z - m
    err = (z - (s - (s - z))) + (-m - (s - z))
    if gap_lo is not None:
        err = err + gap_lo
    k = np.rint(s * 369.3299304675746)  # 256/ln 2
    r, r_lo = _dw_two_sum(s - k * 0.002707606173999011, err - k * 6.327543041662719e-14)
    poly = r * r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720)))))
    r1, r2 = _dw_split_bounded(r)
    ok = k >= -256000.0  # j ≥ −1000 (and not NaN)
    ki = np.where(ok, k, 0.0).astype(np.int64)
    table_hi, table_lo = _row_dw_exp2_table()
    t_hi, t_lo = table_hi[ki & 255], table_lo[ki & 255]
    top = t_hi * r1  # exact
    hi = t_hi + top
    lo = (t_hi - hi) + top + (t_hi * r2 + t_hi * (r_lo + poly + r * r_lo) + t_lo * (1 + r + poly))
    hi, lo = _dw_two_sum(hi, lo)
    scale = ((ki >> 8) + 1023 << 52).view(np.float64)  # 2^j
    hi *= scale
    lo *= scale
    if not ok.all():
        hi = np.where(ok, hi, np.exp(s))
        lo = np.where(ok, lo, 0.0)
    return hi, lo


def _row_dw_row_sum(hi, lo, bound):
    """Σ_j (hi_j + lo_j) over each row as hi + lo: each hi_j cut at the grid of ulp(σ), σ a power of two at least
    twice ``bound`` (≥ Σ_j |hi_j|), whose sum is then exact; the rest and the lo summed in float64."""
    sigma = 2.0 ** np.ceil(np.log2(np.maximum(bound, 1e-300))) * 2
    top = (hi + sigma) - sigma
    total = np.sum(top, axis=1, keepdims=True)
    rest = np.sum((hi - top) + lo, axis=1, keepdims=True)
    s = total + rest
    return s, rest - (s - total)


def _row_dw_target_gradient(z, m, t, w, eps, r=None, lo=None, lse_scale=None, m_lo=None):
    """p_j·Σ_k a_k − a_j, p_j = e^{z_j − m}/Σ_k e^{z_k − m}, a_j = w_j·((1 − ε)·t_j + ε/V) (t the one-hot of the
    classes r where r is given; w None: all 1; ``lo``: the low parts of z_j − m, _row_dw_softcap's, or None;
    ``lse_scale``: k of a term k·lse·p_j beside it, the z-loss's 2λ, folded in as p_j·(Σ_k a_k + k·lse) − a_j with
    lse = m + m_lo + log Σ_k e^{z_k − m} in double-word (m_lo: the low part of m, a softcap's), or None), in
    double-word and rounded once: it cancels where
    p_j·Σ_k a_k ≈ a_j, and every rounding of e^{z_j − m}, Σ, a_j, Σ_k a_k and the products would come back times
    a_j/|the result| (within 1 ULP: the difference in double-word, then two roundings). A few rows at a time (about 4096 entries: the temporaries stay small enough for the
    allocator to reuse them, 2× faster than a block of 64 rows)."""
    out = np.empty_like(z)
    step = max(1, 4096 // z.shape[1])
    one = Fraction(1) - Fraction(float(eps))  # 1 − ε and ε/V as double-words
    share = Fraction(float(eps)) / z.shape[1]
    c = (float(one), float(one - Fraction(float(one))), float(share), float(share - Fraction(float(share))))
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(0, len(z), step):
            rows = slice(i, i + step)
            if r is None:
                tt = t[rows]
            else:
                tt = np.zeros_like(z[rows])
                np.put_along_axis(tt, r[rows], 1.0, axis=1)
            out[rows] = _row_dw_target_rows(z[rows], m[rows], tt, w, eps, c, None if lo is None else lo[rows],
                                            lse_scale, None if m_lo is None else m_lo[rows])
    return out


def _row_rest_softmax_vjp(z, m, g):
    """s_j·(g_j − Σ_k s_k g_k) of float64 blocks (float32 logits widened) as s_j·((g_j − g_c) + g_j·R − D)/Σ, c a
    maximum of the row, R = Σ_{k≠c} e^{z_k − m}, D = Σ_{k≠c} e^{z_k − m}·g_k: where s_c ≈ 1, g_c − Σ_k s_k g_k
    rounds to 0 in float64 (2^23 ULP of float32, as torch's); R and D keep their own small terms."""
    with np.errstate(invalid="ignore"):
        e = np.exp(z - m)
        c = np.argmax(z, axis=1)[:, None]
        np.put_along_axis(e, c, 0.0, axis=1)
        rest = np.sum(e, axis=1, keepdims=True)
        d = np.sum(e * g, axis=1, keepdims=True)
        np.put_along_axis(e, c, 1.0, axis=1)
        s = 1.0 + rest
        out = e / s * (((g - np.take_along_axis(g, c, axis=1)) + (g * rest - d)) / s)
    out[~np.isfinite(m[:, 0])] = np.nan  # a row holding +∞ or of −∞ only: NaN, as torch's (e_c = 1 is not e^{∞ − ∞})
    return out


def _row_dw_vjp(z, m, g, softmax):
    """Σ_i g_i ∂y_i/∂z_j of y = softmax (s_j·(g_j − Σ_k s_k g_k)) or, softmax False, log-softmax
    (g_j − s_j·Σ_k g_k), s_j = e^{z_j − m}/Σ_k e^{z_k − m}, in double-word where they cancel (g_j·Σ − Σ_k e_k g_k,
    g_j·Σ − e_j·Σ_k g_k) and within 2.5 ULP: both cancel where g_j ≈ Σ_k s_k g_k (s_j·Σ_k g_k ≈ g_j). A few rows
    at a time, as _row_dw_target_gradient."""
    out = np.empty_like(z)
    step = max(1, 4096 // z.shape[1])
    with np.errstate(invalid="ignore", over="ignore"):
        for i in range(0, len(z), step):
            rows = slice(i, i + step)
            zz, mm, gg = z[rows], m[rows], g[rows]
            if not softmax:  # g_j − s_j·Σ_k g_k = −(s_j·Σ_k a_k − a_j) with a = g
                out[rows] = -_row_dw_target_rows(zz, mm, gg, None, 0, None)
                continue
            # g_j·Σ − Σ_k e_k g_k = (g_j − g_c) + g_j·R − D with c a maximum of the row (e_c = 1), R = Σ_{k≠c} e_k,
            # D = Σ_{k≠c} e_k g_k: R and D keep their own small terms where e_c dominates (g_c·Σ − Σ_k e_k g_k would
            # lose them below ulp(g_c): 2^23 ULP float32, 4.5e15 float64 at the row's maximum, as torch's)
            e, e_lo = _row_dw_exp_shifted(zz, mm)
            c = np.argmax(zz, axis=1)[:, None]
            np.put_along_axis(e, c, 0.0, axis=1)  # e_lo is 0 there (e^0)
            rest, rest_lo = _row_dw_row_sum(e, e_lo, z.shape[1])
            s, s_lo = _dw_two_sum(1.0, rest)
            s_lo += rest_lo
            eg, eg_lo = _dw_two_prod_bounded(e, gg)
            d, d_lo = _row_dw_row_sum(eg, eg_lo + e_lo * gg, np.sum(np.abs(eg), axis=1, keepdims=True))
            x, x_lo = _dw_two_sum(gg, -np.take_along_axis(gg, c, axis=1))
            p1, q1 = _dw_two_prod_bounded(gg, rest)
            x, y_lo = _dw_two_sum(x, p1)
            n, q = _dw_two_sum(x, -d)
            q += x_lo + y_lo + q1 + gg * rest_lo - d_lo
            ratio = (n + (q - n * (s_lo / s))) / s  # (g_j·Σ − Σ_k e_k g_k)/Σ
            np.put_along_axis(e, c, 1.0, axis=1)
            part = (e + (e_lo - e * (s_lo / s))) / s * ratio
            part[~np.isfinite(mm[:, 0])] = np.nan  # a row holding +∞ or of −∞ only: NaN, as torch's
            out[rows] = part
    return out

def _row_dw_target_rows(z, m, t, w, eps, c, lo=None, lse_scale=None, m_lo=None):
    """_row_dw_target_gradient of a few rows; c = (1 − ε, its rounding error, ε/V, its rounding error)."""
    if eps == 0:
        a, a_lo = (t, np.zeros_like(t)) if w is None else _dw_two_prod_bounded(t, w)
    else:
        a, a_lo = _dw_two_prod_bounded(t, c[0])
        a, v_lo = _dw_two_sum(a, c[2])
        a_lo = a_lo + t * c[1] + v_lo + c[3]
        if w is not None:
            a, u_lo = _dw_two_prod_bounded(a, w)
            a_lo = u_lo + a_lo * w
    e, e_lo = _row_dw_exp_shifted(z, m, lo)
    s, s_lo = _row_dw_row_sum(e, e_lo, z.shape[1])
    total, total_lo = _row_dw_row_sum(a, a_lo, np.sum(np.abs(a), axis=1, keepdims=True))
    if lse_scale:  # Σ_k a_k + k·lse: lse = m + log(s + s_lo) in double-word, log by one step from float64's
        y = np.log(s)
        big, big_lo = _row_dw_exp_shifted(y, 0.0)  # e^y (s ≥ 1: y ≥ 0)
        lse, lse_lo = _dw_two_sum(m, y)
        lse_lo = lse_lo + ((s - big) + (s_lo - big_lo)) / big + (0.0 if m_lo is None else m_lo)
        more, more_lo = _dw_two_prod_bounded(lse_scale, lse)
        total, sum_lo = _dw_two_sum(total, more)
        total_lo = total_lo + sum_lo + (more_lo + lse_scale * lse_lo)
    p1, q1 = _dw_two_prod_bounded(e, total)
    p2, q2 = _dw_two_prod_bounded(a, s)
    n, q = _dw_two_sum(p1, -p2)
    q += (q1 + e * total_lo + e_lo * total) - (q2 + a * s_lo + a_lo * s)
    return (n + (q - n * (s_lo / s))) / s  # (n + q)/(s + s_lo) to first order in s_lo/s (< 2^-52): two roundings
''',
    "_mean_weights": '''\
def _mean_weights(w, count, *scales):
    """reduction "mean" with class weights: Σ_i w_{r_i}·l_i / Σ_i w_{r_i} is the same with every weight times 2^k,
    exactly (and the z-loss scale λ with them: λ·lse² shares the divisor); 2^k brings the divisor Σ w_r near 1,
    so that neither 1/Σ w_r (subnormal weights: +∞, as torch's) nor the products w_r·l_r (underflowing to
    subnormals, or overflowing) round where the mean does not. k stops where the largest weight would overflow.
    Returns (w, count, *scales), scaled."""
    if not count or not np.isfinite(count):
        return (w, count, *scales)
    k = -int(np.frexp(count)[1])
    k = min(k, np.finfo(w.dtype).maxexp - 2 - int(np.frexp(np.max(np.abs(w)))[1]))
    if k == 0:
        return (w, count, *scales)
    with np.errstate(over="ignore"):
        return (np.ldexp(w, k).astype(w.dtype, copy=False), float(np.ldexp(count, k)),
                *(float(np.ldexp(float(x), k)) for x in scales))
''',
    "_row_total": '''\
def _row_total(losses):
    """Σ of the row losses in float64: correctly rounded (math.fsum, Shewchuk's exact partials) for float64
    losses, whose sum cancels where losses of both signs meet (the NLL of raw scores: 13 ULP pairwise, torch
    8.4); float32 losses summed in float64 (exact enough), and NumPy's sum where fsum cannot (±inf, NaN, an
    intermediate overflow)."""
    total = losses.sum(dtype=np.float64)
    if losses.dtype != np.float64 or not np.isfinite(total):
        return total
    try:
        return np.float64(math.fsum(losses.ravel().tolist()))
    except (OverflowError, ValueError):
        return total
''',
    "_loss_down": '''\
def _loss_down(V, w=None):
    """The scaled-gaps fallback's 2^-k ≤ 1/(2V·max(1, max_k |w_k|)) (w None: every weight 1): a row loss
    Σ_k a_k(m − z_k) computed from the gaps m·2^-k − z_k·2^-k (each below twice the largest float, the weights a_k
    summing to at most V·max_k |w_k|) never passes the largest float."""
    top = 2.0 * V * (1.0 if w is None else max(1.0, float(np.max(np.abs(w)))))
    return math.ldexp(1.0, -math.frexp(top)[1])
''',
    "_row_reduction": '''\
def _row_reduction(losses, divisor, scaled, down):
    """Σ_r ℓ_r/divisor in float64 (a sum: divisor 1; a mean of no rows, divisor 0: NaN, as torch's) of the row
    losses (rows,): ℓ_r, or ℓ_r·down in the rows of ``scaled`` (down = 2^-k, the scaled-gaps fallback's: their ℓ_r
    overflowed). Where there are such rows, or Σ ℓ_r overflows with every ℓ_r finite, every ℓ_r·down is summed, the
    quotient taken, then divided by down: powers of 2, so the roundings are those of Σ ℓ_r/divisor, and a mean is
    finite wherever the exact one is (a sum too)."""
    if not divisor:
        return np.nan
    if not scaled.any():
        total = _row_total(losses)
        if np.isfinite(total) or not np.isfinite(losses).all():
            return total / divisor
    small = np.where(scaled, losses, np.asarray(losses, np.float64) * down)
    with np.errstate(over="ignore"):
        return (_row_total(small) / divisor) / down
''',
    "_reduction": '''\
def _reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")
    return reduction
''',
}


# _row_dw_softcap's double-word e^x, products and sums: the row helpers of _row_dw_target_gradient
NUMPY_HELPER_NEEDS["_row_reduction"] = ("_row_total",)
NUMPY_HELPER_NEEDS.update({name: ("_unmasked",) for name in ("_logits", "_classes", "_like", "_weights")})
NUMPY_HELPER_NEEDS["_row_dw_softcap"] = ("_exp_twosum", "_row_dw_target_gradient")  # (_row_dw_exp_shifted, …)


class _RowPrinter(NumpyExpressionPrinter):
    """A row formula as a NumPy expression over a block of rows; the functions of the
    registry (tanh of the softcap …) print as the registry's NumPy printer prints them."""

    printmethod = "_symnet_numpy"  # dispatch on class here, not Indexed's own _sympystr
    TAKEN_AGAIN = False  # (no product or sum taken again: the row skeletons reserve their names, test_one_printer)

    def __init__(self, names: dict, helpers: set | None = None):
        super().__init__(helpers if helpers is not None else set())
        self.names = names  # IndexedBase → the block's variable name
        # the block variable holding the low part of each c_j − m (a softcap's double-word c, _row_dw_softcap;
        # None at run time where there is none): every gap z_x − m the formulas form reads it
        self.gap_lo: str | None = None
        self.maxima: set = set()  # the temporaries holding m = max_k z_k (the kernel's CSE of rowmax)

    def _gap_entry(self, e):
        """The entry z_x of a gap z_x − m (or m − z_x), m = max_k z_k, where the kernel has gap_lo; else None."""
        from ...families.rowwise import rowmax
        if self.gap_lo is None or not e.is_Add or len(e.args) != 2:
            return None
        entry = [a for a in e.args if isinstance(a, sp.Indexed) or isinstance(-a, sp.Indexed)]
        shift = [a for a in e.args if isinstance(a, rowmax) or isinstance(-a, rowmax) or a in self.maxima
                 or -a in self.maxima]
        if len(entry) != 1 or len(shift) != 1:
            return None
        x = entry[0] if isinstance(entry[0], sp.Indexed) else -entry[0]
        return x if x.indices[0] in (j, r) else None

    def _lo(self, x) -> str:
        return self.gap_lo if x.indices[0] == j else f"_lo_at({self.gap_lo}, r)"

    def _print_exp_twosum(self, e):  # e^{z_x − m}: + the low part of the gap
        x = self._gap_entry(sp.Add(*e.args, evaluate=False))
        if x is None:
            return self._print_Function(e)
        return f"_exp_twosum_lo({self._print(e.args[0])}, {self._print(e.args[1])}, {self._lo(x)})"

    def _print_expm1(self, e):  # expm1(z_r − m): + e^{z_r − m}·the low part of the gap
        x = self._gap_entry(e.args[0])
        if x is None:
            return self._print_Function(e)
        return f"_expm1_lo({self._print(e.args[0])}, {self._lo(x)})"

    def _print_Grouped(self, e):  # m − z_x: − the low part of the gap z_x − m
        x = self._gap_entry(e.args[0])
        if x is None:
            return self._print_UnevaluatedExpr(e)
        return f"_minus_lo({self._print(e.args[0])}, {self._lo(x)})"

    def _print_Indexed(self, e):
        (index,) = e.indices
        name = self.names[e.base]
        if e.base == w:  # the class weights: one vector, (V,)
            return "_w" if index == j else "_w[0, r]" if index == r else self._bad(e)
        if index == j:
            return name
        if index == r:
            return f"np.take_along_axis({name}, r, axis=1)"
        return self._bad(e)

    def _bad(self, e):
        raise SymnetError(f"a row formula reads entries at j or r, not {e}")

    def _print_Symbol(self, e):
        return OPTION_NAMES.get(e) or ("_V" if e == V else e.name)

    def _print_gated(self, e):
        option, rest = e.args
        coeff, rest = rest.as_coeff_Mul()  # 2·λ first: λ·lse is finite where 2·lse overflows
        name = self._print(option) if coeff == 1 else f"({self._print(coeff)} * {self._print(option)})"
        return f"(0.0 if {self._print(option)} == 0 else {option_product(name, rest, self)})"

    def _print_weigh(self, e):  # h·x, 0 where h = 0 (t·(lse − z) → 0 as t → 0, even at z = −∞)
        h, x = (self.parenthesize(a, 50) for a in e.args)
        return f"{h} * np.where({h} == 0, 0.0, {x})"  # no 0·∞ formed: no NaN, no warning

    def _print_weigh_gap(self, e):  # h·x, 0 where h = 0 or x = 0 (t = ∞ at z = m: the scaled-gaps fallback's)
        h, x = (self.parenthesize(a, 50) for a in e.args)
        return f"np.where({x} == 0, 0.0, {h}) * np.where({h} == 0, 0.0, {x})"  # no 0·∞ formed

    def _print_rowmax(self, e):
        return f"np.max({self.names[e.args[0]]}, axis=1, keepdims=True)"

    def _print_rowsum(self, e):
        return f"np.sum({self._print(e.args[0])}, axis=1, keepdims=True)"

    def _print_rowsum_rest(self, e):
        """Σ_j f_j − 1 (f_j = e^{z_j − m}): the terms below the maximum (f − 1 = 0 at it, exactly; NaN where
        m = +∞, as torch's log-softmax there), plus the entries at it less one."""
        f, x, m = (self._print(a) for a in e.args)
        return (f"(np.sum({self.parenthesize(e.args[0], 50)} - ({x} == {m}), axis=1, keepdims=True) "
                f"+ (np.sum({x} == {m}, axis=1, keepdims=True, dtype={x}.dtype) - 1))")

    def _print_exp(self, e):
        return f"np.exp({self._print(e.args[0])})"

    def _print_log(self, e):
        return f"np.log({self._print(e.args[0])})"

    def _print_Float(self, e):
        return repr(float(e))

    def _print_Infinity(self, e):  # the infinite-max rule's m = +∞
        return "np.inf"


def signature_of(kernel: RowKernel) -> tuple[list, list]:
    """The arguments of a row kernel, in the order both backends take them: (tensors, options
    with their defaults). Kernels with class weights or options take torch's order and names
    (``F.cross_entropy``): z, r (or t), weight, ignore_index, reduction, label_smoothing,
    softcap, z_loss_scale; the others (z, r, g), reduction, ignore_index."""
    reduce = any(o.per_row for o in kernel.outputs) and (kernel.target or kernel.soft)
    tensors = ["z"] + (["r"] if kernel.target else []) + (["t"] if kernel.soft else []) \
        + (["g"] if kernel.upstream else [])
    if kernel.weighted or kernel.options:
        from ...families.rowwise import LABEL_SMOOTHING, SOFTCAP, Z_LOSS_SCALE
        options = (["weight=None"] if kernel.weighted else []) + (["ignore_index=-100"] if kernel.target else []) \
            + (['reduction="mean"'] if reduce else []) \
            + [f"{OPTION_NAMES[o]}={d}" for o, d in ((LABEL_SMOOTHING, "0.0"), (SOFTCAP, "None"),
                                                     (Z_LOSS_SCALE, "0.0")) if o in kernel.options]
    else:
        options = (['reduction="mean"'] if reduce else []) + (["ignore_index=-100"] if kernel.target else [])
    return tensors, options


def _double_word_gradient(kernel: RowKernel, name: str, base, gates: list, printer, loop: list, helpers: set) -> list:
    """RowKernel.double_word: the gradient p_j·Σ_k a_k − a_j (``base`` and the label-smoothing term among
    ``gates``) of float64 logits by _row_dw_target_gradient, rounded once; float32 logits (widened to float64
    blocks) and a hard-label kernel without label smoothing keep the float64 form. Appends to ``loop``; returns
    the gates left to add (the z-loss's)."""
    from ...families.rowwise import LABEL_SMOOTHING, rowmax, z
    smoothing = [a for a in gates if a.args[0] == LABEL_SMOOTHING]
    rest = [a for a in gates if a not in smoothing]
    helpers.add("_row_dw_target_gradient")
    hard = kernel.double_word == "hard"
    m = next((str(temp) for temp, e in kernel.assignments if isinstance(e, rowmax)), None) or printer.doprint(rowmax(z))
    eps = "label_smoothing" if LABEL_SMOOTHING in kernel.options else "0.0"
    call = (f"_row_dw_target_gradient(z, {m}, {'None' if hard else 't'}, {'(None if weight is None else _w)' if kernel.weighted else 'None'}, "
            f"{eps}{', r' if hard else ''}{', lo=_gap_lo' if printer.gap_lo else ''})")
    why = "p_j·Σ_k a_k − a_j cancels where p_j·Σ_k a_k ≈ a_j"
    if kernel.double_word in ("softmax", "log_softmax"):  # a vector-Jacobian product with g
        call = f"_row_dw_vjp(z, {m}, g, {kernel.double_word == 'softmax'})"
        why = "g_j − Σ_k s_k g_k cancels where g_j ≈ Σ_k s_k g_k" if kernel.double_word == "softmax" else \
            "g_j − s_j·Σ_k g_k cancels where s_j·Σ_k g_k ≈ g_j"
    folded, scale = _probability_terms(kernel, rest) if kernel.double_word in ("soft", "hard") else ([], None)
    if folded:  # k·lse·p_j (the z-loss's 2λ·lse·p_j): p_j·(Σ_k a_k + k·lse) − a_j, k·lse added to Σ_k a_k in double-word
        call = call[:-1] + f", lse_scale={scale}{', m_lo=_max_lo' if printer.gap_lo else ''})"
        why += " (the z-loss's 2λ·lse·p_j with it: p_j·(Σ_k a_k + 2λ·lse) − a_j)"
    loop.append(f"if not _wide{' and label_smoothing != 0' if hard else ''}:  # float64 logits: {why}; in double-word")
    loop.append(f"    {name}[...] = {call}")
    loop.append(f"    _bad = ~np.isfinite({name})")
    loop.append("    if _bad.any():  # an overflow inside the double-word (|a_j| past 2^996), or ±∞, NaN: float64's value")
    loop.append(f"        {name}[...] = np.where(_bad, {printer.doprint(base + sp.Add(*smoothing, *folded))}, {name})")
    loop.append("else:")
    if kernel.double_word == "softmax":  # float32 widened: the same at a row's dominant entry, in float64
        loop.append(f"    {name}[...] = _row_rest_softmax_vjp(z, {m}, g)  # s_j·((g_j − g_c) + g_j·R − D)/Σ, c = argmax")
    else:
        loop.append(f"    {name}[...] = {printer.doprint(base)}")
    for term in smoothing:
        option, part = term.args
        loop.append(f"    if {printer.doprint(option)} != 0:")
        loop.append(f"        {name} += {printer.doprint(option)} * {printer.parenthesize(part, 50)}")
    for term in folded:  # the float64 (widened) branch adds them as the other gates are added
        option, part = term.args
        number, part = part.as_coeff_Mul()
        factor = printer.doprint(option) if number == 1 else f"({printer.doprint(number)} * {printer.doprint(option)})"
        loop.append(f"    if {printer.doprint(option)} != 0:")
        loop.append(f"        {name} += {option_product(factor, part, printer)}")
    return [a for a in rest if a not in folded]


def _probability_terms(kernel: RowKernel, gates: list) -> tuple[list, str | None]:
    """The gate a·(k·lse·p_j) among ``gates`` (the z-loss's: a = λ, k = 2), k a number, lse the temporary of
    m + log Σ_k e^{z_k − m} and p_j the temporary e^{z_j − m}·(1/Σ): ([that gate], the printed k·a, 0 where a is),
    else ([], None)."""
    from ....special import exp_twosum
    defs = dict(kernel.assignments)

    def is_probability(x):
        parts = sp.Mul.make_args(defs.get(x, sp.S.Zero))
        return len(parts) == 2 and any(isinstance(defs.get(q), exp_twosum) for q in parts) and any(
            isinstance(defs.get(q, q), sp.Pow) and defs.get(q, q).exp == -1 for q in parts)
    for gate in gates:
        option, x = gate.args
        number, rest = x.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        probs = [f for f in factors if is_probability(f)]
        others = [f for f in factors if f not in probs]
        if len(probs) == 1 and len(others) == 1 and str(others[0]) == "lse":  # _MATH_NAMES' name of m + log Σ
            name = OPTION_NAMES[option]
            return [gate], f"(0.0 if {name} == 0 else {float(number)!r} * {name})"
    return [], None


def _scaled_gaps(kernel: RowKernel, n: int, args: list, helpers: set) -> list:
    """The block's lines of the scaled-gaps fallback (families.rowwise.scaled_loss) for the per-row output n: after
    the block's outputs, its rows whose loss is ±∞ or NaN though their maximum is finite get ℓ_r·_down, computed in
    float64 from those rows alone (z, r, t and the row temporaries are taken over: nothing after reads them)."""
    from ...families.rowwise import g, gated, rowmax, t, z
    o = kernel.outputs[n]
    assignments, result = scaled_loss(kernel, n)
    m = next(temp for temp, e in kernel.assignments if isinstance(e, rowmax))
    printer = _RowPrinter({z: "z", g: "g", t: "t", w: "_w"}, helpers)
    lines = ["# scaled-gaps: the rows whose loss overflowed though their logits are finite (gaps m − z_k past the largest",
             "# float): ℓ_r·_down again, in float64, from the gaps m·_down − z_k·_down (_scaled: these rows)",
             f"_over = ~np.isfinite({o.name}[:, 0]) & np.isfinite({m}[:, 0])",
             "if _over.any():",
             f"    {', '.join(args)} = " + ", ".join(f"{v}[_over]" if v == "r" else f"np.asarray({v}[_over], np.float64)"
                                                   for v in args)]
    for temp, e in assignments:
        lines += [f"    # {temp} = {text(e)}", f"    {temp} = {printer.doprint(e)}"]
    gates = sorted((a for a in sp.Add.make_args(result) if isinstance(a, gated)), key=sp.default_sort_key)
    base = sp.Add(*[a for a in sp.Add.make_args(result) if not isinstance(a, gated)])
    lines.append(f"    # {o.name}·_down: {o.meaning} as above, every gap m − z_x as m·_down − z_x·_down, m as m·_down")
    lines.append(f"    _down_{o.name} = {printer.doprint(base)}")
    for term in gates:
        option, rest = term.args
        name = printer.doprint(option)
        number, rest = rest.as_coeff_Mul()  # λ·lse²·_down: (λ·lse)·(_down·lse) (option_product)
        value = option_product(name if number == 1 else f"({printer.doprint(number)} * {name})", rest, printer)
        lines += [f"    if {name} != 0:", f"        _down_{o.name} += {value}"]
    lines += [f"    {o.name}[_over] = _down_{o.name}", "    _scaled[_i:_e] = _over"]
    return lines


def emit_row_function(kernel: RowKernel, helpers: set) -> str:
    """One function over (..., V) logits: its arguments follow the kernel's signature."""
    from ...families.rowwise import LABEL_SMOOTHING, SOFTCAP, Z_LOSS_SCALE, g, rowmax, t, z
    helpers.update({"_logits"})
    args, options = signature_of(kernel)
    reduce = any(o.per_row for o in kernel.outputs) and (kernel.target or kernel.soft)
    wide = [o.name for o in kernel.outputs if not o.per_row]
    # A loss with its gradient may write the gradient over the logits, as the Triton kernel may.
    inplace = wide[0] if reduce and kernel.target and len(wide) == 1 else None
    signature = args + options + (["*", "inplace=False"] if inplace else [])
    doc = [f'    """{kernel.formula}', "",
           "    Arguments:", "      z: logits, float32 or float64, shape (..., V)"]
    if kernel.target:
        doc.append("      r: the correct class of each row, integers in [0, V) or ignore_index, shape (...)")
    if kernel.soft:
        doc.append("      t: the soft target of each row, probabilities, shape (..., V)")
    if kernel.upstream:
        doc.append("      g: the upstream gradient of the outputs, shape (..., V)")
    if kernel.weighted:
        doc.append("      weight: a weight per class, shape (V,), or None (all 1)")
    if reduce:
        what = {"count": "the rows that count", "weight": "Σ weight[r] over the rows that count",
                "rows": "the rows"}[kernel.divisor]
        doc += [f"      reduction: 'mean' (divided by {what}, NaN if that is 0, as in torch; the gradient",
                "        is divided by it too), 'sum' or 'none'"]
    if kernel.target:
        doc.append("      ignore_index: rows of this class count for nothing (loss 0, gradient 0)")
    doc += [f"      {OPTION_NAMES[o]}: {why}" for o, why in (
        (LABEL_SMOOTHING, "label smoothing ε in [0, 1]"),
        (SOFTCAP, "s > 0: the logits become s·tanh(z/s) first (Gemma's softcap), or None"),
        (Z_LOSS_SCALE, "λ ≥ 0: λ·lse² is added to each row's loss (z-loss)")) if o in kernel.options]
    if inplace:
        doc += ["      inplace: write the gradient into z, whatever its strides, and return z itself (z must",
                "        then be a writable NumPy array whose entries do not overlap; saves N·V of memory where",
                "        z is C-contiguous)"]
    doc += ["", f"    Returns {', '.join(o.name for o in kernel.outputs)}:" if len(kernel.outputs) == 1
            else f"    Returns ({', '.join(o.name for o in kernel.outputs)}):"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    raises = [("TypeError", "z holds no float32 or float64 values", True),
              ("TypeError", "r holds no integers, or ignore_index is no integer", kernel.target),
              ("TypeError", "t holds no float32 or float64 values", kernel.soft),
              ("TypeError", "g is missing or holds no float32 or float64 values", kernel.upstream),
              ("TypeError", "inplace=True and z is no NumPy array", inplace),
              ("ValueError", "z has no last axis, or it is empty", True),
              ("ValueError", "r has not the shape z.shape[:-1], or a class outside [0, V) that is not ignore_index",
               kernel.target),
              ("ValueError", "t has not the shape of z", kernel.soft),
              ("ValueError", "g has not the shape of z", kernel.upstream),
              ("ValueError", "weight is not a vector of V finite floats", kernel.weighted),
              ("ValueError", "an option is out of its range (above)", kernel.options),
              ("ValueError", "reduction is none of 'mean', 'sum', 'none'", reduce),
              ("ValueError", "inplace=True and z is read-only or its entries overlap in memory", inplace)]
    doc += ["", "    Raises:"] + [f"      {error}: {why}" for error, why, applies in raises if applies]
    doc.append('    """')
    body = (["_caller = z"] if inplace else []) + ["z, _shape = _logits(z)", "_rows, _V = z.shape"]
    if kernel.widen:  # RowKernel.widen (see _widen_when): float32 logits: the blocks in float64
        when = "" if kernel.widen == "always" else f" and ({kernel.widen})"
        body.append(f"_wide = z.dtype == np.float32{when}  # the blocks in float64, each output rounded once")
    if kernel.target:
        helpers.add("_classes")
        body.append("r, _ignored = _classes(r, _shape, ignore_index)  # _ignored: the rows of class ignore_index")
    if kernel.soft:
        helpers.add("_like")
        body.append("t = _like(t, 't', _shape, z.dtype)")
    if kernel.upstream:
        helpers.add("_like")
        body.append("g = _like(g, 'g', _shape, z.dtype)")
    if kernel.weighted:
        helpers.add("_weights")
        body.append("_w = _weights(weight, _V, np.float64 if _wide else z.dtype)" if kernel.widen
                    else "_w = _weights(weight, _V, z.dtype)")
    if kernel.options:
        helpers.add("_options")
        body.append(f"_options({', '.join(f'{n}={n}' for n in (OPTION_NAMES[o] for o in kernel.options))})")
    if reduce:
        helpers.add("_reduction")
        body.append("_reduction(reduction)")
    if kernel.target and reduce:
        if kernel.divisor == "weight" and kernel.weighted:
            body.append("_count = float(np.sum(_w[0, r[:, 0]], dtype=np.float64, where=True if _ignored is None "
                        "else ~_ignored))  # Σ weight[r] over the rows that count")
            helpers.add("_mean_weights")
            scales = "".join(f", {OPTION_NAMES[o]}" for o in kernel.options if OPTION_NAMES[o] == "z_loss_scale")
            body.append("if reduction == \"mean\" and weight is not None:  # Σ w_r·l_r/Σ w_r, every weight times 2^k")
            body.append(f"    _w, _count{scales} = _mean_weights(_w, _count{scales})")
        else:
            body.append("_count = _rows if _ignored is None else _rows - int(_ignored.sum())  # the rows that count")
    if inplace:
        helpers.add("_own_rows")
        body.append("_into = _own_rows(_caller, 'z') if inplace else None  # the caller's logits as (rows, V), a view")
    for o in kernel.outputs:
        new = f"np.empty((_rows, {'1' if o.per_row else '_V'}), z.dtype)"
        if kernel.widen and reduce and o.per_row:  # the float64 row losses summed as they are (as Triton's)
            new = "np.empty((_rows, 1), np.float64 if _wide and reduction != \"none\" else z.dtype)"
        body.append(f"{o.name} = {new} if _into is None else _into" if o.name == inplace else f"{o.name} = {new}")
    if reduce and wide:
        count = "_count" if kernel.target else "_rows"
        body.append(f"_scale = (1.0 / {count} if {count} else np.nan) if reduction == \"mean\" else 1.0"
                    "  # ∂(mean)/∂(row loss); nothing counted: NaN, as torch's")
    # scaled-gaps (scaled_loss): the per-row loss of a reduction whose formula forms gaps m − z_k
    down = next((n for n, o in enumerate(kernel.outputs) if o.per_row and reduce), None) \
        if any(isinstance(e, rowmax) for _, e in kernel.assignments) else None
    if down is not None:
        helpers.add("_loss_down")
        body.append("_scaled = np.zeros(_rows, bool)  # the rows whose loss overflowed: ℓ_r·_down in the loss (scaled-gaps)")
        body.append(f"_down = _loss_down(_V{', _w' if kernel.weighted else ''})  # 2^-k ≤ 1/(2V·max(1, max_k |w_k|))")
    views = args + [o.name for o in kernel.outputs]
    body.append("_step = max(1, 16 * _BLOCK // _V)  # rows per block: a few row-sized temporaries in cache")
    loop = [f"{', '.join(views)} = {', '.join(f'_{v}[_i:_e]' for v in views)}"]
    floats = [v for v in args if v != "r"]  # the float inputs (r: the classes)
    if kernel.widen:
        loop.append("if _wide:  # float32 logits: the block in float64, written into the outputs at its end")
        loop.append(f"    {', '.join(floats)} = {', '.join(f'np.asarray({v}, np.float64)' for v in floats)}")
        loop.append(f"    {', '.join(o.name for o in kernel.outputs)} = "
                    f"{', '.join(f'_wide_{o.name}[:_e - _i]' for o in kernel.outputs)}")
    if inplace:
        # z's rows may be _into's: the block is computed beside them, then written over them
        loop.append("if _into is not None" + (" and not _wide:" if kernel.widen else ":")
                    + "  # inplace: z's rows are all read before they are overwritten")
        loop.append(f"    {inplace} = _beside[:_e - _i]")
    printer = _RowPrinter({z: "z", g: "g", t: "t", w: "_w"}, helpers)
    if kernel.cap is not None:  # the softcap: the formulas read c = cap(z), called z
        chain = kernel.chain is not None and any(not o.per_row for o in kernel.outputs)
        loop.append("_gap_lo = _max_lo = None  # the low parts of the gaps c_j − m and of m, where c is a double-word")
        loop.append(f"if softcap is not None:  # c_j = {text(kernel.cap)}, which the formulas call z_j")
        cap = [f"    _chain = {printer.doprint(kernel.chain)}  # ∂c_j/∂z_j = {text(kernel.chain)}, of the raw z"] \
            if chain else []
        cap.append(f"    z = {printer.doprint(kernel.cap)}")
        if kernel.widen:  # float32 logits are computed in float64: c's roundings there are ≪ a float32 ULP
            loop.append("    if _wide:")
            loop += ["    " + x for x in cap]
            loop.append("    else:  # float64: c_k − c_r keeps c's roundings (s·ε), e^{c_k − c_r} makes them relative")
            loop.append(f"        z, _gap_lo, _max_lo, {'_chain' if chain else '_'} = _row_dw_softcap(z, softcap"
                        f"{', chain=True' if chain else ''})  # c in double-word{', ∂c_j/∂z_j of it' if chain else ''}")
            helpers.add("_row_dw_softcap")
            printer.gap_lo = "_gap_lo"
            printer.maxima = {temp for temp, e in kernel.assignments if isinstance(e, rowmax)}
        else:
            loop += cap
    # A full-width temporary that is the numerator of a full-width output is built in that
    # output's memory: one block-sized buffer fewer, and the quotient is taken in place.
    home = {}
    for o, result in zip(kernel.outputs, kernel.results):
        num, den = result.as_numer_denom()
        if not o.per_row and den != 1 and num.is_Symbol and den.is_Atom:
            home[num] = o.name
    for temp, expr in kernel.assignments:
        loop.append(f"# {temp} = {text(expr)}")
        loop += printer.assign_in_place(str(temp), expr, home.get(temp))  # e^{z − m}: in one array
    for temp, expr in kernel.class_assignments:  # values of the row, at its class (the class-gap rule)
        loop.append(f"# {temp} = {text(expr)}")
        loop.append(f"{temp} = {printer.doprint(expr)}")
    at_class = kernel.at_class or (None,) * len(kernel.outputs)
    for o, result, coeff, at in zip(kernel.outputs, kernel.results, kernel.scatter, at_class):
        loop.append(f"# {o.meaning} = {text(o.expr)}")
        scaled = reduce and not o.per_row  # the gradient of the mean: every term times _scale
        rare = None  # a select on a value of the row (m = +∞): the usual branch first, the rare rows patched
        if not o.per_row and isinstance(result, sp.Piecewise) and len(result.args) == 2 \
                and result.args[1].cond == sp.true and not result.args[0].cond.has(j):
            rare, result = result.args[0], result.args[1].expr
        num, den = result.as_numer_denom()
        if den != 1 and num.is_Atom and den.is_Atom:  # a quotient straight into the output
            # one division per row, then a product per entry (a product is cheaper than a quotient)
            inverse = f"_scale / {printer.doprint(den)}" if scaled else f"1 / {printer.doprint(den)}"
            loop.append(printer.product_into(o.name, printer.doprint(num), inverse))
        else:
            from ...families.rowwise import gated
            gates = sorted((a for a in sp.Add.make_args(result) if isinstance(a, gated)), key=sp.default_sort_key)
            base = sp.Add(*[a for a in sp.Add.make_args(result) if not isinstance(a, gated)])
            if kernel.double_word and not o.per_row and (kernel.double_word in ("soft", "hard") or o.expr.has(g)):
                # float64: p_j·Σ_k a_k − a_j (or a vector-Jacobian product with g) in double-word
                gates = _double_word_gradient(kernel, o.name, base, gates, printer, loop, helpers)
            else:
                loop.append(f"{o.name}[...] = {printer.doprint(base)}")
            for term in gates:  # the term of an option: computed only where the option is not 0
                option, rest = term.args
                number, rest = rest.as_coeff_Mul()  # 2·λ first: λ·lse is finite where 2·lse overflows
                name = printer.doprint(option)
                factor = name if number == 1 else f"({printer.doprint(number)} * {name})"
                loop.append(f"if {name} != 0:")
                loop.append(f"    {o.name} += {option_product(factor, rest, printer)}")
            if scaled and (base != 0 or gates):  # (a zero stays 0 where _scale is NaN, as torch's)
                loop.append(f"{o.name} *= _scale")
        if rare is not None:  # np.where over every entry would cost as much as the usual branch: rows only
            loop.append(f"_rare = {printer.doprint(rare.cond)}  # rows where {text(rare.cond).replace('oo', '+∞')}")
            loop.append("if _rare.any():")
            loop.append(f"    {o.name}[...] = np.where(_rare, {printer.doprint(rare.expr)}"
                        f"{' * _scale' if scaled else ''}, {o.name})")
        if at is not None:  # the value at the class column, written over it (class-gap: no cancellation)
            loop.append(f"# at the class of each row (δ_jr = 1): {text(at)}")
            loop.append(f"np.put_along_axis({o.name}, r, {printer.parenthesize(at, 50)}"
                        f"{' * _scale' if scaled else ''}, axis=1)")
        elif coeff != 0:
            sign, size = ("-=", -coeff) if coeff.could_extract_minus_sign() else ("+=", coeff)
            size_code = printer.parenthesize(size, 50) + (" * _scale" if scaled else "")
            if size.is_number:
                loop.append(f"{o.name}[np.arange(len({o.name})), r[:, 0]] {sign} {size_code}"
                            f"  # the one-hot term δ_jr·({text(coeff)}), at the class of each row")
            else:  # a value per row, (rows, 1)
                loop.append(f"# the one-hot term δ_jr·({text(coeff)}), at the class of each row")
                loop.append(f"np.put_along_axis({o.name}, r, np.take_along_axis({o.name}, r, axis=1) "
                            f"{sign[0]} {size_code}, axis=1)")
        if kernel.chain is not None and not o.per_row:  # a gradient in c, times ∂c/∂z with a softcap
            loop.append("if softcap is not None:")
            loop.append(f"    {o.name} *= _chain  # ∂c_j/∂z_j")
    if down is not None:
        loop += _scaled_gaps(kernel, down, args, helpers)
    if kernel.target:
        loop.append("if _ignored is not None:  # rows of class ignore_index count for nothing")
        loop.append("    _skip = _ignored[_i:_e]")
        loop += [f"    {o.name}[_skip] = 0" for o in kernel.outputs]
    if kernel.widen:
        loop.append("if _wide:  # each output rounded once, the block's float64 values written")
        loop += [f"    _{o.name}[_i:_e] = {o.name}" for o in kernel.outputs]
    if inplace:
        loop.append("elif _into is not None:" if kernel.widen else "if _into is not None:")
        loop.append(f"    _{inplace}[_i:_e] = {inplace}")
    lines = [f"def {kernel.name}({', '.join(signature)}):", *doc]
    lines += ["    " + b for b in body]
    lines += ["    " + f"{', '.join(f'_{v}' for v in views)} = {', '.join(views)}", ""]
    # Each share of rows runs a block at a time; NumPy's error state is per thread, so it is set here.
    lines.append("    def _share(_lo, _hi):  # rows [lo, hi), a block at a time")
    if inplace:
        lines.append("        _beside = None if _into is None else np.empty((min(_step, _hi - _lo), _V), _z.dtype)")
    if kernel.widen:
        for o in kernel.outputs:
            lines.append(f"        _wide_{o.name} = np.empty((min(_step, _hi - _lo), {'1' if o.per_row else '_V'}), "
                         f"np.float64) if _wide else None")
    inner = ["for _i in range(_lo, _hi, _step):",
             "    _e = min(_i + _step, _hi)"] + ["    " + b for b in loop]
    if any(q.name in ("max-shift", "log-sum-exp") for q in kernel.rules):
        # z − m can overflow to −∞ only where the exact value is below −3.4e38: e^{−∞} = 0 is right
        lines.append('        with np.errstate(over="ignore"):  # z_j − m → −∞ only where e^{z_j − m} is 0 anyway')
        lines += ["            " + b for b in inner]
    else:
        lines += ["        " + b for b in inner]
    lines += ["", "    _in_parallel(_share, _rows, _V)"]
    helpers.add("_in_parallel")
    returns = []
    for o in kernel.outputs:
        if o.per_row:
            lines.append(f"    {o.name} = _{o.name}.reshape(_shape[:-1])")
            if reduce and down is not None:
                count = "_count" if kernel.target else "_rows"
                helpers.update({"_row_total", "_row_reduction"})
                lines.append("    if reduction != \"none\":  # in float64 (ℓ_r·_down in the rows of _scaled), returned in the logits' type")
                lines.append(f"        {o.name} = _row_reduction(_{o.name}[:, 0], {count} if reduction == \"mean\" else 1.0, "
                             "_scaled, _down)")
                lines.append(f"        {o.name} = np.asarray({o.name}, dtype=_z.dtype)[()]")
                lines.append("    elif _scaled.any():  # ℓ_r·_down → ℓ_r: +∞ where it passes the largest float, as the exact value")
                lines.append("        with np.errstate(over=\"ignore\"):")
                lines.append(f"            _{o.name}[_scaled] /= _down")
            elif reduce:
                count = "_count" if kernel.target else "_rows"
                helpers.add("_row_total")
                lines.append("    if reduction != \"none\":  # accumulated in float64, returned in the logits' type")
                lines.append(f"        {o.name} = _row_total({o.name})")
                lines.append("        if reduction == \"mean\":  # no rows that count: 0/0, NaN, as in torch")
                lines.append(f"            {o.name} = {o.name} / {count} if {count} else np.nan")
                lines.append(f"        {o.name} = np.asarray({o.name}, dtype=_z.dtype)[()]")
        else:
            lines.append(f"    {o.name} = _{o.name}.reshape(_shape)")
            if o.name == inplace:
                lines.append("    if inplace:  # the caller's array is the gradient")
                lines.append("        if _into is None:  # its rows are no view of it: written back whole")
                lines.append(f"            _caller[...] = {o.name}")
                lines.append(f"        {o.name} = _caller")
        returns.append(o.name)
    lines.append(f"    return {', '.join(returns)}")  # one output: the array itself
    return "\n".join(lines) + "\n"
