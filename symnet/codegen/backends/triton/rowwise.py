"""The row-wise Triton skeleton: softmax cross-entropy over (N, V) logits, one program a row.

From a :class:`~symnet.codegen.families.rowwise.RowKernel` (the CSE'd row formulas of the
derivation) the skeleton emits:

1. **pass 1**: the row maximum ``m`` and each row sum. A row of at most ``ONE_READ_MAX``
   columns (float64: half) is one tile, loaded once and kept in registers for pass 2, so
   the logits are read from memory once. A longer row is read in tiles of ``BLOCK_V`` as
   an *online* softmax (when a tile raises the maximum from m to m', the running sums
   whose summand is ``e^{z_j − m}`` are rescaled by e^{m − m'}, and a sum Σ_j h_j·(m − z_j), the
   sum-gap rule's, grows by (m' − m)·Σ_j h_j so far), any V. Float32
   accumulation (float64 for float64 logits);
2. the per-row outputs (the loss) printed from the formula, with ``z_r`` loaded from the
   row at the class index (masked: a class outside [0, V) is never read);
3. **pass 2** (fused forward + backward kernels only): each per-entry output (the
   gradient) printed from the formula, the one-hot ``δ_jr`` term added where the column is
   the row's class, times the reduction's scale, stored — optionally over the logits;
   from the registers of pass 1, or from a second read of a long row, last tile first (the
   tiles pass 1 read last are the likeliest to be in L2 still). In both passes over a long
   row the next tile's load is issued before the current tile is worked on, so one program
   keeps memory busy while it reduces (fewer programs need be in flight: more of the
   second pass hits L2);
4. the ``sum``/``mean`` of the loss, taken by the last program to finish (an atomic
   counter), in a fixed order, so the result is deterministic and needs no second launch.

Offsets are int64 (N·V may exceed 2³¹), and every (N, V) tensor is indexed by its own row
stride (a row-sliced, offset or expanded view is read in place; the launcher copies one whose
columns are not unit-stride). Rows whose class is ``ignore_index`` get loss 0
and gradient 0 and are not counted by the mean; a class outside [0, V), which ``check=False``
lets through, is never read and makes its row's loss and gradient NaN. The mean's divisor is counted on the
device by a small kernel before the row kernel, so nothing waits on the host and a
step can be captured in a CUDA graph.
"""
from __future__ import annotations

import re

import sympy as sp

from ....errors import SymnetError
from ....render import text
from ...families.rowwise import (LOSS_DOWN, OPTION_NAMES, RowKernel, V, g, j, option_product, r, rowmax, rowsum,
                                rowsum_rest, t, times_down, w, weigh, z)
from ....special import exp_twosum
from .elementwise import HOST_HELPERS, assemble
from ...doubleword import generated_last
from .printer import HELPER_NEEDS, TRITON_HELPERS, TritonPrinter

__all__ = ["emit_triton_row_module"]


class _RowPrinter(TritonPrinter):
    """Row formulas: z_j is the chunk of the row in registers, z_r the entry at the class."""

    EXACT_SUMS = False  # its sums as written (ConditionalPrinting._exact_sum_terms: the elementwise kernels')
    REFUSED = (sp.Derivative, sp.Integral, sp.Sum, sp.MatrixBase)

    def _print_Indexed(self, e):
        (index,) = e.indices
        if e.base == g and index == j:
            return "gj"
        if e.base == t and index == j:
            return "tj"
        if e.base == w and index in (j, r):
            return "wj" if index == j else "w_r"
        if e.base != z:
            raise SymnetError(f"the Triton row-wise skeleton reads the logits z and an upstream g, not {e}")
        if index == j:
            return "zj"
        if index == r:
            return "z_r"
        raise SymnetError(f"a row formula reads entries at j or r, not {e}")

    def _print_rowmax(self, e):
        return "m"

    def _print_exp(self, e):  # e^x of a row formula (the infinite-max rule's e^{z_j − m}): _exp_plus's, cheaper
        self._need("_exp_twosum")  # than _exp where a tile of them is live (x + 0 exact: the two-sum's error is 0)
        return f"_exp_twosum({self._print(e.args[0])}, 0.0)"

    def _print_Infinity(self, e):  # the infinite-max rule's m = +∞
        return 'float("inf")'

    def _print_Symbol(self, e):
        return OPTION_NAMES.get(e) or ("Vf" if e == V else super()._print_Symbol(e))

    def _print_gated(self, e):  # a term of an option that is 0 is 0, even where the rest is infinite
        option, rest = e.args
        coeff, rest = rest.as_coeff_Mul()  # 2·λ first: λ·lse is finite where 2·lse overflows
        name = self._print(option) if coeff == 1 else f"({self._print(coeff)} * {self._print(option)})"
        return f"tl.where({self._print(option)} == 0, 0.0, {option_product(name, rest, self)})"

    def _print_weigh(self, e):  # h·x, 0 where h = 0 (t·(lse − z) → 0 as t → 0, even at z = −∞)
        h, x = (self.parenthesize(a, 50) for a in e.args)
        return f"tl.where({h} == 0, 0.0, {h} * {x})"

    def _print_weigh_gap(self, e):  # h·x, 0 where h = 0 or x = 0 (t = ∞ at z = m: the scaled-gaps fallback's)
        h, x = (self.parenthesize(a, 50) for a in e.args)
        return f"tl.where(({h} == 0) | ({x} == 0), 0.0, {h} * {x})"

    def _print_Function(self, e):
        if isinstance(e, (rowsum, rowsum_rest)):
            return self.names[e]
        return super()._print_Function(e)

    # a softcap's double-word c (CAP == 2): the low parts of z_j, z_r (zj_lo, z_r_lo; 0 without it) and of the
    # maximum (``max_lo``, the name of m's) join every gap z_x − m the formulas form
    max_lo: str | None = None
    maximum = sp.Symbol("m")  # the symbol of m in the formulas printed (pass 1's shift is one of its own)

    def _gap_lo(self, e) -> str | None:
        """The printed low part of z_x − m for a gap e = ±(z_x − m), m the row maximum; else None."""
        m = self.maximum
        if self.max_lo is None or not e.is_Add or len(e.args) != 2 or not (m in e.args or -m in e.args):
            return None
        entry = next((a if isinstance(a, sp.Indexed) else -a for a in e.args
                      if isinstance(a, sp.Indexed) or isinstance(-a, sp.Indexed)), None)
        if entry is None or entry.base != z or entry.indices[0] not in (j, r):
            return None
        return f"({'zj_lo' if entry.indices[0] == j else 'z_r_lo'} - {self.max_lo})"

    def _print_exp_twosum(self, e):
        lo = self._gap_lo(sp.Add(*e.args, evaluate=False))
        if lo is None:
            return self._print_Function(e)
        self._need("_exp_twosum_lo")
        return f"_exp_twosum_lo({self._print(e.args[0])}, {self._print(e.args[1])}, {lo})"

    def _print_expm1(self, e):  # expm1(z_r − m + lo) = expm1(z_r − m) + e^{z_r − m}·lo
        lo = self._gap_lo(e.args[0])
        if lo is None:
            return self._print_Function(e)
        x = self._print(e.args[0])
        self._need("_exp")
        return f"({self._print_Function(e)} + _exp({x}) * {lo})"

    def _print_Grouped(self, e):  # m − z_x: less the low part of z_x − m
        lo = self._gap_lo(e.args[0])
        if lo is None:
            return self._print_UnevaluatedExpr(e)
        return f"(({self._print(e.args[0])}) - {lo})"


# RowKernel.double_word in Triton: the gradients that cancel (p_j·Σ_k a_k − a_j of soft or smoothed targets and
# class weights, the log-softmax VJP g_j − s_j·Σ_k g_k, the softmax VJP s_j·(g_j − Σ_k s_k g_k)) computed in
# double-word from the primitives of symnet.codegen.doubleword and rounded once, as NumPy's _row_dw_target_gradient
# and _row_dw_vjp. A program cannot branch on its data: the double-word runs on every entry of a row where the
# launcher's DW says so (float64 logits). The softmax VJP of float32 logits (widened to float64) takes the same
# sums without the maximum's term in plain float64 (EXACT False: e^{z − m} by tl.exp, its lo 0), as NumPy's
# _row_rest_softmax_vjp: at a row's dominant entry g_c − Σ_k s_k g_k would round to 0 there too.
ROW_DW_HELPERS = {
    "_row_dw_exp_shifted": '''\
@triton.jit
def _row_dw_exp_shifted(zj, shift, gap_lo, EXACT: tl.constexpr):
    """e^{z_j − m + gap_lo} as a double-word (hi, lo), about 2⁻¹⁰⁴ relative: z_j − m exactly (TwoSum), then
    _dw_exp; ``gap_lo`` a low part of z_j − m (a softcap's c_j − m: c_lo − m_lo; 0 without one); 0 where
    z_j = −∞ (past the row's end, or a logit of −∞). Not EXACT: float64's e^{z_j − m}, lo 0 (widened float32
    logits: z_j − m is exact, e^x within an ULP of float64)."""
    if EXACT:
        d_hi, d_lo = _dw_two_sum(zj, -shift)
        out = zj == float("-inf")
        e_hi, e_lo = _dw_exp(d_hi, tl.where(out, 0.0, d_lo + gap_lo))
        return tl.where(out, 0.0, e_hi), tl.where(out, 0.0, e_lo)
    else:
        e = tl.exp(zj - shift)
        return e, 0.0 * e
''',
    "_row_dw_tile_sum": '''\
@triton.jit
def _row_dw_tile_sum(hi, lo):
    """Σ_j (hi_j + lo_j) over a tile as a double-word: each hi_j cut at the grid of ulp(σ), σ = 2^(E+2) for
    2^E ≤ Σ_j |hi_j| < 2^(E+1) (E from the bits), so that every partial sum of the cut parts is a multiple of
    ulp(σ)/2 below σ: exact in any order (tl.sum's tree); the rest and the lo parts, each below ulp(σ), summed
    in float64 (NumPy's _row_dw_row_sum)."""
    bound = tl.sum(tl.abs(hi), axis=0)
    biased = (bound.to(tl.int64, bitcast=True) >> 52) & 2047
    sigma = (tl.minimum(biased + 2, 2046) << 52).to(tl.float64, bitcast=True)
    top = (hi + sigma) - sigma
    return _dw_fast_two_sum(tl.sum(top, axis=0), tl.sum((hi - top) + lo, axis=0))
''',
    "_row_dw_rescale": '''\
@triton.jit
def _row_dw_rescale(x_hi, x_lo, m, shift, gap_lo, EXACT: tl.constexpr):
    """x·e^{m − shift} of a double-word sum over the tiles so far (the online softmax's rescaling when the
    maximum grows from m to shift; ``gap_lo`` the low part of m − shift, a softcap's m_lo − m_lo′, else 0),
    m − shift exactly (TwoSum) and e^{m − shift} by _dw_exp (not EXACT: float64's); 0 where m = −∞ (nothing
    summed yet)."""
    d_hi, d_lo = _dw_two_sum(m, -shift)
    none = m == float("-inf")
    f_hi, f_lo = _row_dw_exp_shifted(tl.where(none, 0.0, d_hi), tl.where(none, 0.0, -d_lo),
                                     tl.where(none, 0.0, gap_lo), EXACT)
    y_hi, y_lo = _dw_mul(x_hi, x_lo, f_hi, f_lo)
    return tl.where(none, 0.0, y_hi), tl.where(none, 0.0, y_lo)
''',
    "_row_dw_targets": '''\
@triton.jit
def _row_dw_targets(tj, wj, eps, V, valid):
    """a_j = w_j·((1 − ε)·t_j + ε/V) as a double-word, 0 where not ``valid``: 1 − ε exactly (TwoSum), ε/V with
    its remainder ε − V·(ε/V) (exact, TwoProduct) over V, the products by TwoProduct (NumPy's
    _row_dw_target_rows takes 1 − ε and ε/V from Fractions: the same double-words)."""
    n = tl.full([], V, tl.float64)
    one_hi, one_lo = _dw_two_sum(1.0, -eps)
    share_hi = eps / n
    p, p_lo = _dw_two_prod_bounded(share_hi, n)
    share_lo = ((eps - p) - p_lo) / n
    a_hi, a_lo = _dw_two_prod_bounded(tj, one_hi)
    a_hi, v_lo = _dw_two_sum(a_hi, share_hi)
    a_lo = a_lo + tj * one_lo + v_lo + share_lo
    a_hi, u_lo = _dw_two_prod_bounded(a_hi, wj)
    return tl.where(valid, a_hi, 0.0), tl.where(valid, u_lo + a_lo * wj, 0.0)
''',
    "_row_dw_target_sums": '''\
@triton.jit
def _row_dw_target_sums(zj, shift, gap_lo, a_hi, a_lo):
    """Σ_j e^{z_j − shift} and Σ_j a_j over a tile, each a double-word (s_hi, s_lo, t_hi, t_lo); ``gap_lo``
    the low part of z_j − shift (a softcap's, else 0)."""
    e_hi, e_lo = _row_dw_exp_shifted(zj, shift, gap_lo, True)
    s_hi, s_lo = _row_dw_tile_sum(e_hi, e_lo)
    t_hi, t_lo = _row_dw_tile_sum(a_hi, a_lo)
    return s_hi, s_lo, t_hi, t_lo
''',
    "_row_dw_target_entry": '''\
@triton.jit
def _row_dw_target_entry(zj, m, gap_lo, a_hi, a_lo, s_hi, s_lo, total_hi, total_lo):
    """p_j·Σ_k a_k − a_j = (e_j·A − a_j·S)/S, e_j = e^{z_j − m + gap_lo} (gap_lo: a softcap's low part, else
    0), S = Σ_k e_k and A = Σ_k a_k double-words: the difference of the products in double-word, divided once
    (two roundings: within 1 ULP where it cancels, NumPy's _row_dw_target_rows)."""
    e_hi, e_lo = _row_dw_exp_shifted(zj, m, gap_lo, True)
    p1, q1 = _dw_two_prod_bounded(e_hi, total_hi)
    p2, q2 = _dw_two_prod_bounded(a_hi, s_hi)
    n, q = _dw_two_sum(p1, -p2)
    q = q + ((q1 + e_hi * total_lo + e_lo * total_hi) - (q2 + a_hi * s_lo + a_lo * s_hi))
    return (n + (q - n * (s_lo / s_hi))) / s_hi
''',
    "_sum_dw_when_last": '''\
@triton.jit
def _sum_dw_when_last(values_ptr, lows_ptr, n_values, count_ptr, out_ptr, div_hi, div_lo, R: tl.constexpr):
    """_sum_when_last of double-word values (values + lows: each row's loss and the rounding error of its
    product w_r·x, else 0) over a double-word divisor, rounded once. Every program counts itself done; the last
    to finish adds the values up in float64, R at a time in a fixed order (the same bits every run), each chunk
    by _row_dw_tile_sum, the chunks by _dw_add, and stores (Σ_hi + Σ_lo)/(div_hi + div_lo) by _dw_div: where
    Σ_r w_r·ℓ_r cancels (losses of both signs) the rounded products and a float64 sum would lose what the
    division keeps. Where that is not finite (a loss of ±∞ or NaN, an overflow inside), the float64 sum's; where that
    is not either, the sum again of every value times 2^-k (4·n_values·2^-k ≤ 1: nothing overflows, powers of 2, so
    the roundings are the same), divided, then times 2^k: a mean of rows near the largest float (the scaled-gaps
    fallback's) is finite wherever the exact one is, as NumPy's _row_reduction."""
    tl.debug_barrier()  # orders this program's stores before its atomic, whose release (GPU scope)
    done = tl.atomic_add(count_ptr, 1)  # makes them visible to the last program's acquire
    if done == tl.num_programs(0) - 1:
        total = tl.zeros([R], tl.float64)
        s_hi = tl.zeros([], tl.float64)
        s_lo = tl.zeros([], tl.float64)
        for first in range(0, n_values, R):
            at = first + tl.arange(0, R)
            hi = tl.load(values_ptr + at, mask=at < n_values, other=0.0, cache_modifier=".cg").to(tl.float64)
            lo = tl.load(lows_ptr + at, mask=at < n_values, other=0.0, cache_modifier=".cg").to(tl.float64)
            total += hi
            c_hi, c_lo = _row_dw_tile_sum(hi, lo)
            s_hi, s_lo = _dw_add(s_hi, s_lo, c_hi, c_lo)
        q, _ = _dw_div(s_hi, s_lo, div_hi.to(tl.float64), div_lo.to(tl.float64))
        plain = tl.sum(total, axis=0) / div_hi.to(tl.float64)
        q = tl.where(tl.abs(q) < float("inf"), q, plain)
        if tl.abs(q) >= float("inf"):  # Σ past the largest float (rows near it): again at 2^-k, 2^k ≥ 4·n_values
            down = tl.full([], 1.0, tl.float64)  # (the rows' ±∞ or NaN give it again: the same answer)
            while 4.0 * n_values * down > 1.0:
                down = down * 0.5
            s_hi = tl.zeros([], tl.float64)
            s_lo = tl.zeros([], tl.float64)
            for first in range(0, n_values, R):
                at = first + tl.arange(0, R)
                hi = tl.load(values_ptr + at, mask=at < n_values, other=0.0, cache_modifier=".cg").to(tl.float64)
                lo = tl.load(lows_ptr + at, mask=at < n_values, other=0.0, cache_modifier=".cg").to(tl.float64)
                c_hi, c_lo = _row_dw_tile_sum(hi * down, lo * down)
                s_hi, s_lo = _dw_add(s_hi, s_lo, c_hi, c_lo)
            q_down, _ = _dw_div(s_hi, s_lo, div_hi.to(tl.float64), div_lo.to(tl.float64))
            # q_down/2^-k: exact, or +∞ where the exact value passes the largest float; a row's ±∞ or NaN (the
            # double-word sum's NaN there) leaves the float64 sum's answer, as before
            q = tl.where(tl.abs(q_down) < float("inf"), q_down / down, q)
        tl.store(out_ptr, _stored(q, out_ptr))  # (a bfloat16 Σ rounded to nearest: _stored)
''',
    "_row_dw_total_lse": '''\
@triton.jit
def _row_dw_total_lse(total_hi, total_lo, s_hi, s_lo, shift, shift_lo, scale):
    """A = Σ_k a_k plus k·lse as a double-word, k = ``scale`` (the z-loss's 2λ; A itself where k = 0), so that
    p_j·(A + k·lse) − a_j, the gradient with the z-loss's k·lse·p_j in it, rounds once in _row_dw_target_entry.
    lse = shift + log S, S = s_hi + s_lo = Σ_k e^{z_k − shift} ≥ 1: log S by one step from float64's y = log s_hi,
    y + (S − e^y)/e^y (e^y by _dw_exp); ``shift_lo`` the shift's low part (a softcap's m_lo, else 0). NumPy's
    _row_dw_target_rows with lse_scale; once a row."""
    y = tl.log(s_hi)
    big_hi, big_lo = _row_dw_exp_shifted(y, 0.0, 0.0, True)
    lse_hi, lse_lo = _dw_two_sum(shift, y)
    lse_lo = lse_lo + ((s_hi - big_hi) + (s_lo - big_lo)) / big_hi + shift_lo
    more_hi, more_lo = _dw_two_prod_bounded(scale, lse_hi)
    sum_hi, sum_lo = _dw_two_sum(total_hi, more_hi)
    sum_lo = total_lo + sum_lo + (more_lo + scale * lse_lo)
    return tl.where(scale == 0, total_hi, sum_hi), tl.where(scale == 0, total_lo, sum_lo)
''',
    "_row_dw_vjp_sums": '''\
@triton.jit
def _row_dw_vjp_sums(zj, gj, shift, keep, EXACT: tl.constexpr):
    """R = Σ_j e^{z_j − shift} and D = Σ_j e^{z_j − shift}·g_j over the entries of a tile that ``keep`` (all
    but the row's chosen maximum c), each a double-word (r_hi, r_lo, d_hi, d_lo)."""
    e_hi, e_lo = _row_dw_exp_shifted(zj, shift, 0.0, EXACT)
    e_hi = tl.where(keep, e_hi, 0.0)
    e_lo = tl.where(keep, e_lo, 0.0)
    eg_hi, eg_lo = _dw_two_prod_bounded(e_hi, gj)
    r_hi, r_lo = _row_dw_tile_sum(e_hi, e_lo)
    d_hi, d_lo = _row_dw_tile_sum(eg_hi, eg_lo + e_lo * gj)
    return r_hi, r_lo, d_hi, d_lo
''',
    "_row_dw_softmax_vjp_entry": '''\
@triton.jit
def _row_dw_softmax_vjp_entry(zj, gj, shift, m, g_c, r_hi, r_lo, d_hi, d_lo, EXACT: tl.constexpr):
    """s_j·(g_j − Σ_k s_k g_k) = e_j·((g_j − g_c) + g_j·R − D)/Σ², c a maximum of the row (e_c = 1),
    R = Σ_{k≠c} e_k, D = Σ_{k≠c} e_k·g_k, Σ = 1 + R, in double-word (R and D keep their own small terms where
    e_c dominates: g_c·Σ − Σ_k e_k g_k would lose them below ulp(g_c)); NumPy's _row_dw_vjp. NaN for a row holding +∞
    or of −∞ only (m not finite, whatever the shift it took), as torch's (e_c = 1 is not e^{∞ − ∞})."""
    e_hi, e_lo = _row_dw_exp_shifted(zj, shift, 0.0, EXACT)
    s, s_lo = _dw_two_sum(1.0, r_hi)
    s_lo = s_lo + r_lo
    x, x_lo = _dw_two_sum(gj, -g_c)
    p1, q1 = _dw_two_prod_bounded(gj, r_hi)
    x, y_lo = _dw_two_sum(x, p1)
    n, q = _dw_two_sum(x, -d_hi)
    q = q + (x_lo + y_lo + q1 + gj * r_lo - d_lo)
    ratio = (n + (q - n * (s_lo / s))) / s
    return tl.where(tl.abs(m) < float("inf"), (e_hi + (e_lo - e_hi * (s_lo / s))) / s * ratio, float("nan"))
''',
}
TRITON_HELPERS.update(ROW_DW_HELPERS)
HELPER_NEEDS.update({
    "_row_dw_exp_shifted": ("_dw_two_sum", "_dw_exp"),
    "_row_dw_tile_sum": ("_dw_fast_two_sum",),
    "_row_dw_rescale": ("_dw_two_sum", "_row_dw_exp_shifted", "_dw_mul"),
    "_row_dw_targets": ("_dw_two_sum", "_dw_two_prod_bounded"),
    "_row_dw_target_sums": ("_row_dw_exp_shifted", "_row_dw_tile_sum"),
    "_row_dw_target_entry": ("_row_dw_exp_shifted", "_dw_two_prod_bounded", "_dw_two_sum"),
    "_sum_dw_when_last": ("_row_dw_tile_sum", "_dw_add", "_dw_div", "_stored"),
    "_row_dw_total_lse": ("_row_dw_exp_shifted", "_dw_two_sum", "_dw_two_prod_bounded"),
    "_row_dw_vjp_sums": ("_row_dw_exp_shifted", "_dw_two_prod_bounded", "_row_dw_tile_sum"),
    "_row_dw_softmax_vjp_entry": ("_row_dw_exp_shifted", "_dw_two_sum", "_dw_two_prod_bounded"),
})


M = sp.Symbol("m")  # the row maximum (the running one during pass 1)

# ∂c_j/∂z_j of the softcap c = s·tanh(z/s) for float64 logits (CAP == 2): kernel.chain, 4σ(2x)σ(−2x) = sech²(x),
# of the rounded x = fl(z/s) is |2x|·ε/2 off (333 ULP at z = 1e4, s = 30); as 4E/(1 + E)², E = e^{−2|x + x_lo|},
# in double-word (the primitives of symnet.codegen.doubleword), it is rounded once
TRITON_HELPERS["_row_softcap_sech2"] = '''\
@triton.jit
def _row_softcap_sech2(z, s):
    """sech²(z/s) = 4E/(1 + E)², E = e^{−2|x|}, x = z/s as x + x_lo (s·x exact by TwoProduct, z − s·x exact:
    Sterbenz); E by _dw_exp, the rest in double-word, rounded once (0 at z = ±∞, NaN at NaN)."""
    x = z / s
    p, p_lo = _dw_two_prod(x, s)
    x_lo = ((z - p) - p_lo) / s
    x_lo = tl.where(x_lo == x_lo, x_lo, 0.0)  # z = ±∞: ∞ − ∞
    neg = x < 0.0
    e_hi, e_lo = _dw_exp(tl.where(neg, 2.0 * x, -2.0 * x), tl.where(neg, 2.0 * x_lo, -2.0 * x_lo))
    d_hi, d_lo = _dw_add_fp(e_hi, e_lo, 1.0)
    q_hi, q_lo = _dw_mul(d_hi, d_lo, d_hi, d_lo)
    r_hi, r_lo = _dw_div(4.0 * e_hi, 4.0 * e_lo, q_hi, q_lo)
    return r_hi + r_lo
'''
HELPER_NEEDS["_row_softcap_sech2"] = ("_dw_two_prod", "_dw_exp", "_dw_add_fp", "_dw_mul", "_dw_div")

# the softcap c = s·tanh(z/s) of float64 logits as c + c_lo (CAP == 2): c_k − c_r keeps the roundings of a float64
# c (s·ε absolute each) and e^{c_k − c_r} makes them relative; c_lo joins the TwoSum error of every gap c_j − m
TRITON_HELPERS["_row_softcap_dw"] = '''\
@triton.jit
def _row_softcap_dw(z, s):
    """c = s·tanh(z/s) as c + c_lo: x = z/s as x + x_lo (TwoProduct, Sterbenz), _dw_tanh, times s
    (_dw_mul_fp); where that is not finite (z NaN) float64's c, lo 0."""
    x = z / s
    p, p_lo = _dw_two_prod(x, s)
    x_lo = ((z - p) - p_lo) / s
    x_lo = tl.where(x_lo == x_lo, x_lo, 0.0)  # z = ±∞: ∞ − ∞
    t_hi, t_lo = _dw_tanh(x, x_lo)
    c, c_lo = _dw_mul_fp(t_hi, t_lo, s)
    ok = (tl.abs(c) < float("inf")) & (tl.abs(c_lo) < float("inf"))
    return tl.where(ok, c, s * _tanh(x)), tl.where(ok, c_lo, 0.0)
'''
HELPER_NEEDS["_row_softcap_dw"] = ("_dw_two_prod", "_dw_tanh", "_dw_mul_fp", "_tanh")
TRITON_HELPERS["_exp_twosum_lo"] = '''\
@triton.jit
def _exp_twosum_lo(x, y, lo):
    """e^(x + y + lo), lo a low part of x + y (|lo| ≪ 1: a softcap's, _row_softcap_dw): e^s·(1 + e + lo) with
    s + e = x + y exactly (TwoSum), by _exp_plus (float32: tl.exp's 2^(fl(s·log₂e)) was up to ~60 ULP off on a GPU
    at s near −87, the terms and probabilities of logits 80 to 87 below the row's maximum)."""
    s = x + y
    return _exp_plus(s, _twosum_error(x, y, s) + lo)
'''
HELPER_NEEDS["_exp_twosum_lo"] = ("_twosum_error", "_exp_plus")


def _gap_weight(f):
    """h_j of a summand h_j·(m − z_j) (the sum-gap rule's), h free of m; else None."""
    factors = sp.Mul.make_args(f.args[0] * f.args[1] if isinstance(f, weigh) else f)  # weigh(h, m − z_j)
    gaps = [a for a in factors if (a.args[0] if isinstance(a, sp.UnevaluatedExpr) else a) == M - z[j]]
    if len(gaps) != 1:
        return None
    h = sp.Mul(*[a for a in factors if a is not gaps[0]])
    return None if h.has(M) else h


def _plan(kernel: RowKernel):
    """Split the CSE'd assignments into per-entry and per-row values, and classify the sums.

    A row sum either has the form Σ_j e^{z_j − m}·h_j with h free of m (an online sum:
    rescaled by e^{m − m'} when the running maximum grows), or is free of m (a plain sum).
    """
    def unmax(e):
        return e.replace(lambda n: isinstance(n, rowmax), lambda n: M)

    entry, row = {}, {}
    aliases = {}  # a temporary that is the row maximum itself is m
    for temp, expr in kernel.assignments:
        expr = unmax(expr).xreplace(aliases)
        if expr == M:
            aliases[temp] = M
            continue
        outside = expr.replace(lambda n: isinstance(n, (rowsum, rowsum_rest)), lambda n: sp.Dummy())  # not summed
        if any(x.indices == (j,) for x in outside.atoms(sp.Indexed)) or any(t in entry for t in outside.free_symbols):
            entry[temp] = expr
        else:
            row[temp] = expr
    results = [unmax(e).xreplace(aliases) for e in kernel.results]
    # the values at the class column (class-gap) and their temporaries: values of the row
    at_row = {temp: unmax(expr).xreplace(aliases) for temp, expr in kernel.class_assignments}
    at_class = [None if a is None else unmax(a).xreplace(aliases)
                for a in (kernel.at_class or (None,) * len(kernel.outputs))]
    sums = {}
    for e in list(row.values()) + list(entry.values()) + results + list(at_row.values()) \
            + [a for a in at_class if a is not None]:
        for node in sorted(e.atoms(rowsum, rowsum_rest), key=sp.default_sort_key):  # fixed order: the same code
            sums.setdefault(node, f"s{len(sums)}")
    kinds = {}
    for node, name in sums.items():
        f = node.args[0]
        for _ in range(3):  # entry temporaries may name each other
            f = f.xreplace(entry)
        if isinstance(node, rowsum_rest):  # Σ_j e^{z_j − m} − 1: the terms below the maximum, counted at it
            if any(kind == "rest" for kind, _ in kinds.values()):
                raise SymnetError(f"{kernel.name}: one row sum less the maximum's term (n_at_max counts its entries)")
            kinds[name] = ("rest", f)
            continue
        if not f.has(M):
            kinds[name] = ("plain", f)
            continue
        if _gap_weight(f) is not None:  # Σ_j h_j·(m − z_j): grows by (m' − m)·Σ_j h_j with the maximum
            kinds[name] = ("gap", f)
            continue
        plain = f.replace(lambda n: isinstance(n, exp_twosum), lambda n: sp.exp(n.args[0] + n.args[1]))
        h = sp.simplify(plain / sp.exp(z[j] - M))
        if h.has(M):
            raise SymnetError(f"{kernel.name}: the online skeleton sums e^(z_j − m)·h_j with h free of m, "
                              f"not {text(f)}")
        kinds[name] = ("online", f)
    return entry, row, results, sums, kinds, at_row, at_class


def _gap_weight_sums(sums: dict, kinds: dict) -> dict:
    """The name of Σ_j h_j so far (a row sum sN of its own) for each sum Σ_j h_j·(m − z_j) of a tiled row."""
    names = {}
    for name, (kind, _) in kinds.items():
        if kind == "gap":
            names[name] = f"s{len(sums) + len(names)}"
    return names


def _hoist_reciprocals(entry: dict, row: dict, results: list, per_row: list) -> tuple:
    """x/b with b the same for the whole row → x·(1/b), with 1/b computed once per row:
    a division per entry becomes a multiplication (the SFU does one reciprocal a row, not V)."""
    hoisted = {}

    def of_row(e):
        e = e.replace(lambda n: isinstance(n, (rowsum, rowsum_rest)), lambda n: sp.Dummy())  # a sum is of the row
        return not any(x.indices == (j,) for x in e.atoms(sp.Indexed)) and not (e.free_symbols & set(entry))

    def hoist(e):
        def one(node):
            if node not in hoisted:  # named after what it inverts: inv_sum_exp = 1/sum_exp
                base = node.base
                hoisted[node] = sp.Symbol(f"inv_{base.name}" if base.is_Symbol and not re.fullmatch(r"t\d+", base.name)
                                          else f"inv{len(hoisted)}")
            return hoisted[node]
        return e.replace(lambda n: isinstance(n, sp.Pow) and n.exp == -1 and of_row(n.base), one)

    entry = {t: hoist(e) for t, e in entry.items()}
    results = [res if keep else hoist(res) for res, keep in zip(results, per_row)]
    row = dict(row)
    row.update({sym: node for node, sym in hoisted.items()})
    return entry, row, results



def _dw_targets(kernel: RowKernel, pr) -> str:
    """The call giving a_j as a double-word (dw_a_hi, dw_a_lo) of the tile in registers: w_j·((1 − ε)·t_j + ε/V)
    (t the soft targets, or the one-hot of the class), or g_j itself (log-softmax's VJP)."""
    from ...families.rowwise import LABEL_SMOOTHING
    if kernel.double_word == "log_softmax":
        return "gj, 0.0 * gj"
    pr._need("_row_dw_targets")
    target = "tj" if kernel.double_word == "soft" else "tl.where(idx == cls, 1.0, 0.0)"
    eps = OPTION_NAMES[LABEL_SMOOTHING] if LABEL_SMOOTHING in kernel.options else "0.0"
    return f"_row_dw_targets({target}, {'wj' if kernel.weighted else '1.0'}, {eps}, V, idx < V)"


def _dw_start(kernel: RowKernel, indent: str, pr) -> list[str]:
    """RowKernel.double_word, a row in tiles: the double-word sums start at 0 (and the softmax VJP's c at none)."""
    if not kernel.double_word:
        return []
    names = ["dw_r_hi", "dw_r_lo", "dw_d_hi", "dw_d_lo", "dw_g_c"] if kernel.double_word == "softmax" \
        else ["dw_s_hi", "dw_s_lo", "dw_total_hi", "dw_total_lo"]
    out = [f"{indent}if {'F64' if kernel.double_word == 'softmax' else 'DW'}:  # the gradient's sums for pass 2, "
           "online as the others"]
    out += [f"{indent}    {n} = tl.zeros([], tl.float64)" for n in names]
    if kernel.double_word == "softmax":
        out.append(f"{indent}    dw_c = tl.full([], -1, tl.int32)  # the column of the row's maximum kept out of R and D")
    return out


def _dw_pass1(kernel: RowKernel, indent: str, running: bool, pr) -> list[str]:
    """RowKernel.double_word, pass 1: the row sums the gradient needs in double-word, over the tile in
    registers; with ``running``, added to the sums so far, which are rescaled by e^{m − m'} (double-word) when
    the maximum grows from m to m' (the online softmax's step, one _dw_exp a tile)."""
    kind = kernel.double_word
    if not kind:
        return []
    i = indent + "    "
    if kind == "softmax":
        pr._need("_row_dw_vjp_sums")
        out = [f"{indent}if F64:  # R = Σ_{{k≠c}} e^{{z_k − m}}, D = Σ_{{k≠c}} e^{{z_k − m}}·g_k (double-word where DW), "
               "c a maximum of the row (e_c = 1)"]
        if not running:
            return out + [f"{i}dw_c = tl.min(tl.where(zj == shift, idx, V), axis=0)",
                          f"{i}dw_g_c = tl.sum(tl.where(idx == dw_c, gj, 0.0), axis=0)",
                          f"{i}dw_r_hi, dw_r_lo, dw_d_hi, dw_d_lo = _row_dw_vjp_sums(zj, gj, shift, idx != dw_c, DW)"]
        for helper in ("_row_dw_rescale", "_dw_add", "_dw_add_fp"):
            pr._need(helper)
        return out + [
            f"{i}dw_up = m_new > m  # a new maximum: the old c (e_c = 1, g_c) joins R and D, then all is rescaled",
            f"{i}dw_c = tl.where(dw_up, tl.min(tl.where(zj == shift, idx, V), axis=0), dw_c)",
            f"{i}dw_r_hi, dw_r_lo = _dw_add_fp(dw_r_hi, dw_r_lo, tl.where(dw_up, 1.0, 0.0))",
            f"{i}dw_d_hi, dw_d_lo = _dw_add_fp(dw_d_hi, dw_d_lo, tl.where(dw_up, dw_g_c, 0.0))",
            f"{i}dw_g_c = tl.where(dw_up, tl.sum(tl.where(idx == dw_c, gj, 0.0), axis=0), dw_g_c)",
            f"{i}dw_r_hi, dw_r_lo = _row_dw_rescale(dw_r_hi, dw_r_lo, m, shift, 0.0, DW)",
            f"{i}dw_d_hi, dw_d_lo = _row_dw_rescale(dw_d_hi, dw_d_lo, m, shift, 0.0, DW)",
            f"{i}dw_tile_r_hi, dw_tile_r_lo, dw_tile_d_hi, dw_tile_d_lo = _row_dw_vjp_sums(zj, gj, shift, idx != dw_c, DW)",
            f"{i}dw_r_hi, dw_r_lo = _dw_add(dw_r_hi, dw_r_lo, dw_tile_r_hi, dw_tile_r_lo)",
            f"{i}dw_d_hi, dw_d_lo = _dw_add(dw_d_hi, dw_d_lo, dw_tile_d_hi, dw_tile_d_lo)"]
    pr._need("_row_dw_target_sums")
    # a softcap's double-word c: the low parts of c_j − m (pass 1's shift) and of m − m′ join the exponentials
    gap, rescale_gap = ("(zj_lo - shift_lo)", "(m_lo - shift_lo)") if kernel.cap is not None else ("0.0", "0.0")
    out = [f"{indent}if DW:  # S = Σ_k e^{{z_k − m}} and A = Σ_k a_k in double-word (a_j: the gradient's target term)",
           f"{i}dw_a_hi, dw_a_lo = {_dw_targets(kernel, pr)}"]
    if not running:
        return out + [f"{i}dw_s_hi, dw_s_lo, dw_total_hi, dw_total_lo = _row_dw_target_sums(zj, shift, {gap}, dw_a_hi, "
                      "dw_a_lo)"]
    pr._need("_row_dw_rescale")
    pr._need("_dw_add")
    return out + [
        f"{i}dw_tile_s_hi, dw_tile_s_lo, dw_tile_a_hi, dw_tile_a_lo = _row_dw_target_sums(zj, shift, {gap}, dw_a_hi, "
        "dw_a_lo)",
        f"{i}dw_s_hi, dw_s_lo = _row_dw_rescale(dw_s_hi, dw_s_lo, m, shift, {rescale_gap}, True)  # e^{{m − m'}}: 1 "
        "where m stays",
        f"{i}dw_s_hi, dw_s_lo = _dw_add(dw_s_hi, dw_s_lo, dw_tile_s_hi, dw_tile_s_lo)",
        f"{i}dw_total_hi, dw_total_lo = _dw_add(dw_total_hi, dw_total_lo, dw_tile_a_hi, dw_tile_a_lo)"]


def _folded_lse_gate(kernel: RowKernel, res):
    """The z-loss's gate λ·(k·lse·p_j) of the gradient ``res`` that _row_dw_total_lse folds into Σ_k a_k (NumPy's
    _probability_terms finds it), or None: a hard- or soft-target gradient in double-word only."""
    from ...families.rowwise import LABEL_SMOOTHING, gated
    from ..numpy.rowwise import _probability_terms
    if kernel.double_word not in ("soft", "hard"):
        return None
    gates = [a for a in sp.Add.make_args(res) if isinstance(a, gated) and a.args[0] != LABEL_SMOOTHING]
    folded, _ = _probability_terms(kernel, gates)
    return folded[0] if folded else None


def _dw_fold_lse(kernel: RowKernel, per_entry: list, pr) -> list[str]:
    """After pass 1: the z-loss's k·lse added to A = Σ_k a_k in double-word (_row_dw_total_lse), once a row, where
    a gradient's z-loss term k·λ·lse·p_j is folded (see _folded_lse_gate); lse from the row's shift (m, 0 for a
    row of −∞: the shift of S) and its low part (a softcap's)."""
    gates = [gate for _, res, _, _ in per_entry if (gate := _folded_lse_gate(kernel, res)) is not None]
    if not gates:
        return []
    option, x = gates[0].args
    number = float(x.as_coeff_Mul()[0])
    name = OPTION_NAMES[option]
    pr._need("_row_dw_total_lse")
    shift_lo = "m_lo" if kernel.cap is not None else "0.0"
    k = f"{number:g}"
    return [f"    if DW:  # the z-loss's {k}·λ·lse·p_j folded in: p_j·(Σ_k a_k + {k}·λ·lse) − a_j rounds once",
            "        dw_total_hi, dw_total_lo = _row_dw_total_lse(dw_total_hi, dw_total_lo, dw_s_hi, dw_s_lo,",
            f"                                                     tl.where(m == float(\"-inf\"), 0.0, m), {shift_lo},",
            f"                                                     tl.where({name} == 0, 0.0, {number!r} * {name}))"]


def _dw_entry(kernel: RowKernel, name: str, res, indent: str, pr) -> list[str]:
    """RowKernel.double_word, pass 2: the gradient ``name`` (already its float64 value) replaced by its
    double-word value where DW, the z-loss's terms added to it (its k·lse·p_j folded into Σ_k a_k already,
    _dw_fold_lse); float64's value kept where the double-word is not finite (|a_j| past 2⁹⁹⁶, an overflow inside,
    ±∞ or NaN logits) and, for class indices, at the class (the class-gap rule's value there)."""
    from ...families.rowwise import LABEL_SMOOTHING, gated
    kind = kernel.double_word
    m = pr.names[M]
    folded = _folded_lse_gate(kernel, res)  # already in Σ_k a_k (_dw_fold_lse)
    rest = [a for a in sp.Add.make_args(res) if isinstance(a, gated) and a.args[0] != LABEL_SMOOTHING
            and a != folded]
    added = "".join(f" + {pr.doprint(a)}" for a in sorted(rest, key=sp.default_sort_key))
    i = indent + "    "
    if kind == "softmax":
        pr._need("_row_dw_softmax_vjp_entry")
        out = [f"{indent}if F64:  # s_j·(g_j − Σ_k s_k g_k) cancels where g_j ≈ Σ_k s_k g_k: without the maximum's "
               "term, in double-word where DW, rounded once",
               f"{i}dw_value = _row_dw_softmax_vjp_entry(zj, gj, {m}, m, dw_g_c, dw_r_hi, dw_r_lo, dw_d_hi, dw_d_lo, "
               f"DW){added}"]
    else:
        pr._need("_row_dw_target_entry")
        why = ("g_j − s_j·Σ_k g_k cancels where s_j·Σ_k g_k ≈ g_j" if kind == "log_softmax"
               else "p_j·Σ_k a_k − a_j cancels where p_j·Σ_k a_k ≈ a_j")
        sign = "-" if kind == "log_softmax" else ""  # g_j − s_j·Σ_k g_k = −(s_j·Σ_k a_k − a_j), a = g
        gap = f"(zj_lo - {pr.max_lo})" if kernel.cap is not None and pr.max_lo else "0.0"  # a softcap's c_j − m
        out = [f"{indent}if DW:  # {why}: in double-word, rounded once",
               f"{i}dw_a_hi, dw_a_lo = {_dw_targets(kernel, pr)}",
               f"{i}dw_value = {sign}_row_dw_target_entry(zj, {m}, {gap}, dw_a_hi, dw_a_lo, dw_s_hi, dw_s_lo, "
               f"dw_total_hi, dw_total_lo){added}"]
    keep = "(tl.abs(dw_value) < float(\"inf\"))" + (" & (idx != cls)" if kind == "hard" else "")
    return out + [f"{i}{name} = tl.where({keep}, dw_value, {name})  # float64's value where it is not finite"
                  + (", and at the class" if kind == "hard" else "")]


def _inline_entries(f, entry: dict):
    """f with the entry temporaries written in (they may name each other)."""
    for _ in range(3):
        f = f.xreplace(entry)
    return f


def _carries_gap(kernel: RowKernel, res, entry: dict) -> bool:
    """The loss forms a gap m − z_x (alone or in a row sum) and may be finite where one overflows (a factor of it
    below 1: label smoothing, class weights; a row sum of them): the scaled-gaps fallback applies. (The plain loss
    lse − z_r overflows only where the exact one does.)"""
    return bool(kernel.options or kernel.weighted) and _inline_entries(res, entry).has(M)


def _scaled_gaps(kernel: RowKernel, name: str, res, names: dict, entry: dict, helpers: set, capped,
                 side_loads) -> list[str]:
    """The scaled-gaps fallback (families.rowwise.scaled_loss) in a row's program, after its outputs: where the
    loss came out ±∞ or NaN though m is finite, a pass over the row forms its gap sums from m·_down − z_j·_down
    (_down = 2^-k ≤ 1/(2V·max(1, max_k |w_k|)), found by halving: exact), the loss is formed from them times
    _down, divided by _down and stored again (+∞ where the exact loss passes the largest float). Data-dependent:
    the rows that need it only, so the usual rows run as before."""
    # the entry temporaries of each row sum written in (m − z_j as such: the sum is seen to carry m)
    whole = {node: node.func(_inline_entries(node.args[0], entry)) for node in res.atoms(rowsum)}
    names = {**names, **{whole[node]: names[node] for node in whole if node in names}}
    scaled = times_down(res.xreplace(whole), LOSS_DOWN, (M,))
    fresh = {}
    for node in sorted(scaled.atoms(rowsum), key=sp.default_sort_key):
        if node not in names:
            fresh[node] = f"down_s{len(fresh)}"
    pr = _RowPrinter({**names, **fresh}, helpers)
    lines = ["    # scaled-gaps: a loss that overflowed though the row's maximum is finite (gaps m − z_k past the largest",
             "    # float): its gap sums again from m·_down − z_j·_down, the loss times _down, divided by _down, stored again",
             f"    if (({name} != {name}) | (tl.abs({name}) == float(\"inf\"))) & (tl.abs(m) < float(\"inf\")):",
             "        bound = 2.0 * tl.full([], V, acc)  # 2V·max(1, max_k |w_k|)"]
    if kernel.weighted:
        lines += ["        for off in range(0, V, BLOCK_V):",
                  "            idx = off + cols",
                  "            wj = tl.load(w_ptr + idx, mask=idx < V, other=0.0).to(acc)",
                  "            bound = tl.maximum(bound, 2.0 * tl.full([], V, acc) * tl.max(tl.abs(wj), axis=0))"]
    lines += ["        _down = tl.full([], 1.0, acc)",
              "        while bound * _down > 1.0:  # 2^-k, exactly",
              "            _down = _down * 0.5"]
    lines += [f"        {s_} = tl.zeros([], acc)" for s_ in fresh.values()]
    if fresh:
        lines += ["        for off in range(0, V, BLOCK_V):",
                  "            idx = off + cols",
                  "            zj = _upcast(tl.load(z_row + idx, mask=idx < V, other=float(\"-inf\")), acc)"]
        lines += capped("            ", "zj", "idx < V")
        lines += side_loads("            ", pass1=False)
        for node, s_ in fresh.items():
            lines += [f"            # {s_} = Σ_j {text(node.args[0])}",
                      f"            {s_} = {s_} + tl.sum(tl.where(idx < V, {pr.doprint(node.args[0])}, 0.0), axis=0)"]
    value = pr.doprint(scaled)
    lines += [f"        {name} = tl.where(ignored, 0.0, {value}) / _down" if kernel.target
              else f"        {name} = ({value}) / _down",
              f"        tl.store({name}_ptr + row, _stored({name}, {name}_ptr))"]
    if _compensated(kernel):  # the low part stored beside the overflowed value is not this value's
        lines += ["        if REDUCE:",
                  f"            tl.store({name}_lo_ptr + row, tl.zeros([], {name}_lo_ptr.dtype.element_ty))"]
    return lines


def _compensated(kernel: RowKernel) -> bool:
    """The losses of the option launcher (class weights, options, soft targets) reduce in double-word: each row's
    loss with its rounding error (_value_lo), the weighted mean's divisor Σ w_r a double-word too
    (_weigh_rows_kernel), summed by _sum_dw_when_last and divided once."""
    return bool((kernel.target or kernel.soft) and (kernel.weighted or kernel.options or kernel.soft))


def _value_lo(kernel: RowKernel, name: str, res, pr) -> list[str]:
    """Pass the per-row value ``name`` = ±w_r·x (NLL's −w_r·z_r) with its rounding error w_r·x − fl(w_r·x) for the
    reduction: TwoProduct in float64 (_dw_two_prod), the exact float64 product of float32 operands less the
    float32 one; 0 for a value of another form (its own roundings stay)."""
    from ...families.rowwise import w as weights
    coeff, rest = res.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    if coeff not in (1, -1) or len(factors) != 2 or weights[r] not in factors:
        return [f"        tl.store({name}_lo_ptr + row, tl.zeros([], {name}_lo_ptr.dtype.element_ty))  "
                "# its rounding error is not kept"]
    x = pr.doprint(next(f for f in factors if f != weights[r]))
    pr._need("_dw_two_prod")
    sign = "-" if coeff == -1 else ""
    return [f"        # {text(res)} exactly: fl({text(rest)}) + its rounding error (the sum keeps it)",
            "        if F64:",
            f"            _, {name}_lo = _dw_two_prod(w_r, {x})",
            "        else:  # float32: the float64 product of two float32 numbers is exact",
            f"            {name}_lo = (w_r.to(tl.float64) * {x}.to(tl.float64) - (w_r * {x}).to(tl.float64)).to(acc)",
            f"        tl.store({name}_lo_ptr + row, tl.where(ignored, 0.0, {sign}{name}_lo).to({name}_lo_ptr.dtype.element_ty))"]


def emit_row_kernel(kernel: RowKernel, helpers: set) -> str:
    entry, row, results, sums, kinds, at_row, at_class = _plan(kernel)
    weight_sums = _gap_weight_sums(sums, kinds)
    entry, row, results = _hoist_reciprocals(entry, row, results, [o.per_row for o in kernel.outputs])
    names = dict(sums)
    names[M] = "m"
    printer = _RowPrinter(names, helpers)
    printer._need("_stored")  # every store of an output: bfloat16 rounded in the bits (the interpreter truncates)
    printer._need("_upcast")  # every load of z, t, g: bfloat16 widened by its bits (the interpreter's zeroes 2⁻¹²⁷)
    per_row = [(o, res) for o, res in zip(kernel.outputs, results) if o.per_row]
    per_entry = [(o, res, c, at) for o, res, c, at in zip(kernel.outputs, results, kernel.scatter, at_class)
                 if not o.per_row]
    target, upstream = kernel.target, kernel.upstream
    if (target or kernel.soft) and len(per_row) != 1:
        raise SymnetError(f"{kernel.name}: a row kernel with a target reduces one per-row output (the loss), "
                          f"not {len(per_row)}")
    k = f"_{kernel.name}_kernel"
    soft, weighted, cap = kernel.soft, kernel.weighted, kernel.cap is not None
    reduces = target or soft  # a loss per row, reduced by the launch
    compensated = _compensated(kernel)  # in double-word (_sum_dw_when_last)
    ptrs = ["z_ptr"] + (["g_ptr"] if upstream else []) + (["r_ptr"] if target else []) + \
        (["t_ptr"] if soft else []) + (["w_ptr"] if weighted else []) + (["opt_ptr"] if kernel.options else []) + \
        [f"{o.name}_ptr" for o, _ in per_row] + ([f"{o.name}_lo_ptr" for o, _ in per_row] if compensated else []) + \
        [f"{o.name}_ptr" for o, _, _, _ in per_entry] + \
        (["out_ptr", "count_ptr"] if reduces else []) + (["divisor_ptr"] if kernel.divisor == "weight" and weighted else [])
    rows = ["z"] + (["g"] if upstream else []) + (["t"] if soft else []) + [o.name for o, _, _, _ in per_entry]
    args = ptrs + ["V"] + [f"{x}_stride" for x in rows] + (["ignore_index"] if target else []) + \
        ["F64: tl.constexpr", "BLOCK_V: tl.constexpr", "ONE_READ: tl.constexpr"] + \
        (["DW: tl.constexpr"] if kernel.double_word else []) + \
        (["CAP: tl.constexpr"] if cap else []) + \
        (["MEAN: tl.constexpr", "REDUCE: tl.constexpr", "R: tl.constexpr"] if reduces else [])
    L = [
        "@triton.jit",
        f"def {k}({', '.join(args)}):",
        f'    """{kernel.formula}: one row per program."""',
        "    row = tl.program_id(0).to(tl.int64)",
        "    # each tensor's row by its own row stride (int64: rows × V may pass 2³¹); columns are unit-stride",
        *[f"    {x}_row = {x}_ptr + row * {x}_stride" for x in rows],
        "    cols = tl.arange(0, BLOCK_V)",
        "    acc: tl.constexpr = tl.float64 if F64 else tl.float32",
    ]
    if any(e.has(V) for e in list(entry.values()) + list(row.values()) + results):
        L.append("    Vf = tl.full([], V, acc)  # the row length as a number of the computation's type")
    L += [f"    {OPTION_NAMES[o]} = tl.load(opt_ptr + {n}).to(acc)" for n, o in enumerate(kernel.options)]
    if target:
        L += ["    cls = tl.load(r_ptr + row)  # r is contiguous (the launcher's copy if need be)",
              "    ignored = cls == ignore_index",
              "    valid = (cls >= 0) & (cls < V)  # a class outside [0, V) is never read"]
        if weighted:
            L.append("    w_r = tl.load(w_ptr + cls, mask=valid & ~ignored, other=0.0).to(acc)  # the class's weight")
    elif reduces:
        L.append("    ignored = False")
    p1 = _RowPrinter({sp.Symbol("shift"): "shift"}, helpers)
    shifted = {M: sp.Symbol("shift")}
    dw = kernel.double_word  # the gradient in double-word where DW (see _dw_pass1, _dw_entry)
    needs_g1 = any(f.has(g[j]) for _, f in kinds.values()) or dw in ("softmax", "log_softmax")
    needs_t1 = any(f.has(t[j]) for _, f in kinds.values()) or dw == "soft"
    needs_w1 = any(f.has(w[j]) for _, f in kinds.values()) or bool(dw and weighted)
    cap_code = printer.doprint(kernel.cap).replace("zj", "{0}") if cap else None

    def capped(indent: str, v: str, valid_mask: str, chain: bool = False) -> list[str]:
        """The softcap on loaded logits, where a softcap is given (past the row's end z stays −inf);
        with ``chain``, ∂c_j/∂z_j of the raw logits first (chain_j, for the per-entry outputs)."""
        if not cap:
            return []
        keep = []
        if chain and kernel.chain is not None and per_entry:
            printer._need("_row_softcap_sech2")
            keep = [f"{indent}    if CAP == 2:  # float64 logits: sech²(z_j/s) in double-word, rounded once",
                    f"{indent}        chain_j = _row_softcap_sech2({v}, softcap)  # ∂c_j/∂z_j = {text(kernel.chain)}",
                    f"{indent}    else:",
                    f"{indent}        chain_j = {printer.doprint(kernel.chain)}  # ∂c_j/∂z_j = {text(kernel.chain)}, "
                    "of the raw z"]
        return [f"{indent}{v}_lo = tl.zeros_like({v})  # c's low part (CAP == 2)",
                f"{indent}if CAP:  # c = {text(kernel.cap)}, which the formulas call z", *keep,
                f"{indent}    if CAP == 2:  # float64 logits: c in double-word, {v} + {v}_lo (its gaps c_j − m need it)",
                # named after {v}: one name for the row's scalar z_r and the blocks' z_j is a loop-carried
                # variable whose type changes in the loop, which Triton 3.6 refuses (3.9 and the interpreter take it)
                f"{indent}        {v}_cap, {v}_cap_lo = _row_softcap_dw({v}, softcap)",
                f"{indent}        {v}, {v}_lo = tl.where({valid_mask}, {v}_cap, {v}), tl.where({valid_mask}, {v}_cap_lo, 0.0)",
                f"{indent}    else:",
                f"{indent}        {v} = tl.where({valid_mask}, {cap_code.format(v)}, {v})"]

    def side_loads(indent: str, pass1: bool) -> list[str]:
        out = []
        if soft and (needs_t1 or not pass1):
            out.append(f"{indent}tj = _upcast(tl.load(t_row + idx, mask=idx < V, other=0.0), acc)")
        if weighted and (needs_w1 or not pass1):
            out.append(f"{indent}wj = tl.load(w_ptr + idx, mask=idx < V, other=0.0).to(acc)")
        return out

    # the online sums' rescaling e^{m − m'}, with the rounding of m − m' corrected where the
    # two-sum rule corrects the terms (its error would reach the sum's old part otherwise)
    twosum = any(q.name == "two-sum" for q in kernel.rules)
    if twosum and any(kind in ("online", "rest") for kind, _ in kinds.values()):
        helpers.add("_exp_twosum")
    rescale = "_exp_twosum(m, -shift)" if twosum else "_exp(m - shift)"  # (float32: _exp, not tl.exp)
    if not twosum and any(kind in ("online", "rest") for kind, _ in kinds.values()):
        printer._need("_exp")
    grown = "(m_new - m)"  # the growth of the running maximum
    if cap:  # a softcap's c in double-word (CAP == 2): every gap with its low part, m's own (m_lo) too
        printer._need("_row_softcap_dw")
        printer.max_lo, p1.max_lo, p1.maximum = "m_lo", "shift_lo", shifted[M]
        if twosum:
            printer._need("_exp_twosum_lo")
            rescale = "_exp_twosum_lo(m, -shift, m_lo - shift_lo)"
        grown = "((m_new - m) + (m_lo_new - m_lo))"

    def row_sums(indent: str, running: bool) -> list[str]:
        """Each row sum over the tile in registers; with ``running``, added to the sum so far
        (an online sum rescaled by e^{m − shift} first)."""
        out = []
        for name, (kind, f) in kinds.items():
            term = p1.doprint(f.xreplace(shifted))
            if kind == "rest":  # f = 1 at every maximum: Σ_j f − 1 = Σ_{z_j < m} f + (#{z_j = m} − 1)
                # (f − 1 = 0 at the maximum: NaN where it is +∞, as torch's log-softmax there)
                below = f"tl.sum({term} - tl.where(zj == shift, 1.0, 0.0), axis=0)"
                top = "tl.sum(tl.where(zj == shift, 1.0, 0.0), axis=0)"
                out.append(f"{indent}# {name} = Σ_j {text(f)} − 1: the terms below the maximum, the entries at it less one")
                if running:  # the entries at the old maximum join the terms below when it grows
                    out += [f"{indent}{name} = ({name} + tl.where(m_new > m, n_at_max, 0.0)) * {rescale} + {below}",
                            f"{indent}n_at_max = tl.where(m_new > m, 0.0, n_at_max) + {top}"]
                else:
                    out.append(f"{indent}{name} = {below} + ({top} - 1.0)")
                continue
            if kind == "gap" and running:  # h·(m − z): every term so far grows by (m' − m)·h when m does
                h, hs = p1.doprint(_gap_weight(f)), weight_sums[name]
                out += [f"{indent}# {name} = Σ_j {text(f)}; {hs} = Σ_j {text(_gap_weight(f))} so far",
                        f"{indent}{name} = {name} + tl.where((m_new > m) & (m > float(\"-inf\")), {grown} * {hs}, "
                        f"0.0) + tl.sum(tl.where(idx < V, {term}, 0.0), axis=0)",
                        f"{indent}{hs} = {hs} + tl.sum(tl.where(idx < V, {h}, 0.0), axis=0)"]
                continue
            # (an online term is e^{z − shift}·h: 0 past the row's end, where z = −inf)
            tile = f"tl.sum({term}, axis=0)" if kind == "online" else f"tl.sum(tl.where(idx < V, {term}, 0.0), axis=0)"
            carry = (f"{name} * {rescale} + " if kind == "online" else f"{name} + ") if running else ""
            out += [f"{indent}# {name} = Σ_j {text(f)}", f"{indent}{name} = {carry}{tile}"]
        return out

    # pass 1, the row in registers: one read, kept for pass 2
    L += ["    if ONE_READ:  # the row fits one tile (V ≤ BLOCK_V): read it once, keep it in registers",
          "        idx = cols",
          "        zj = _upcast(tl.load(z_row + idx, mask=idx < V, other=float(\"-inf\")), acc)"]
    L += capped("        ", "zj", "idx < V", chain=True)
    if upstream:
        L.append("        gj = _upcast(tl.load(g_row + idx, mask=idx < V, other=0.0), acc)")
    L += side_loads("        ", pass1=False)
    L += ["        m = tl.max(zj, axis=0)",
          "        # a row of −inf has m = −inf: shift by 0 there instead of −inf − (−inf)",
          "        shift = tl.where(m == float(\"-inf\"), 0.0, m)"]
    if cap:
        L += ["        m_lo = tl.max(tl.where(zj == m, zj_lo, float(\"-inf\")), axis=0)  # m's low part: the largest at a tie",
              "        m_lo = tl.where(m_lo > float(\"-inf\"), m_lo, 0.0)",
              "        shift_lo = m_lo"]
    L += row_sums("        ", running=False)
    L += _dw_pass1(kernel, "        ", False, printer)
    # pass 1 over a longer row, in tiles: the online softmax
    L += ["    else:  # pass 1 in tiles: m = max_k z_k and the row sums, online: rescaled whenever the maximum grows",
          "        m = tl.full([], float(\"-inf\"), acc)"]
    L += [f"        {name} = tl.zeros([], acc)" for name in sums.values()]
    if cap:
        L.append("        m_lo = tl.zeros([], acc)  # the low part of m (a softcap's double-word c)")
    L += [f"        {hs} = tl.zeros([], acc)  # Σ_j h_j so far, of {name} = Σ_j h_j·(m − z_j)"
          for name, hs in weight_sums.items()]
    L += ["        n_at_max = tl.zeros([], acc)  # the entries at the running maximum" for name, (kind, _) in kinds.items()
          if kind == "rest"]
    L += _dw_start(kernel, "        ", printer)
    first = [("z", "float(\"-inf\")")] + ([("g", "0.0")] if upstream and needs_g1 else [])
    L.append("        # each tile's successor is loaded before the tile's reductions: its load is in flight while they run")
    L += [f"        {v}_next = tl.load({v}_row + cols, mask=cols < V, other={other})" for v, other in first]
    L += ["        for off in range(0, V, BLOCK_V):",
          "            idx = off + cols"]
    for v, other in first:
        L += [f"            {v}j = _upcast({v}_next, acc)",
              f"            {v}_next = tl.load({v}_row + idx + BLOCK_V, mask=idx + BLOCK_V < V, other={other})"]
    L += capped("            ", "zj", "idx < V")
    L += side_loads("            ", pass1=True)
    L += ["            m_new = tl.maximum(m, tl.max(zj, axis=0))",
          "            shift = tl.where(m_new == float(\"-inf\"), 0.0, m_new)"]
    if cap:  # m's low part follows the running maximum
        L += ["            top = tl.max(zj, axis=0)",
              "            top_lo = tl.max(tl.where(zj == top, zj_lo, float(\"-inf\")), axis=0)",
              "            top_lo = tl.where(top_lo > float(\"-inf\"), top_lo, 0.0)",
              "            m_lo_new = tl.where(top > m, top_lo, tl.where(top == m, tl.maximum(m_lo, top_lo), m_lo))",
              "            shift_lo = m_lo_new"]
    L += row_sums("            ", running=True)
    L += _dw_pass1(kernel, "            ", True, printer)
    L.append("            m = m_new")
    if cap:
        L.append("            m_lo = m_lo_new")
    L += [f"        {name} = {name} + (n_at_max - 1.0)" for name, (kind, _) in kinds.items() if kind == "rest"]
    if target:
        L.append("    z_r = _upcast(tl.load(z_row + cls, mask=valid & ~ignored, other=float(\"nan\")), acc)")
        L += capped("    ", "z_r", "valid")
    for temp, expr in row.items():
        L.append(f"    # {temp} = {text(expr)}")
        L.append(f"    {temp} = {printer.doprint(expr)}")
    for o, res in per_row:
        L.append(f"    # {o.meaning} = {text(o.expr)}")
        value = printer.doprint(res)
        L.append(f"    {o.name} = tl.where(ignored, 0.0, {value})" if target else f"    {o.name} = {value}")
        L.append(f"    tl.store({o.name}_ptr + row, _stored({o.name}, {o.name}_ptr))")  # bfloat16 rounded in the bits
        if compensated:
            L.append("    if REDUCE:")
            L += _value_lo(kernel, o.name, res, printer)
    if reduces:
        divisor = {"weight": "tl.load(divisor_ptr).to(acc)  # Σ w_r over the rows counted, on the device beforehand"
                   if weighted else None,
                   "rows": "tl.num_programs(0).to(acc)  # the rows"}.get(kernel.divisor) \
            or "tl.load(count_ptr).to(acc)  # the rows counted, on the device beforehand: nothing waits on the host"
        L += ["    if MEAN:",
              f"        divisor = {divisor}",
              "        # nothing counted (every row ignored, or of weight 0): the mean is 0/0, NaN, as torch's, and so is"
              " the gradient of a row that is not ignored",
              "        divisor = tl.where(divisor == 0.0, float(\"nan\"), divisor)",
              "    else:",
              "        divisor = tl.full([], 1.0, acc)"]
        if compensated:  # the weighted mean's Σ w_r is a double-word (hi, lo): _weigh_rows_kernel
            weigh_lo = kernel.divisor == "weight" and weighted
            L += ["    divisor_lo = " + ("tl.where(MEAN, tl.load(divisor_ptr + 1).to(acc), 0.0)  # Σ w_r's low part"
                                      if weigh_lo else "tl.zeros([], acc)  # the divisor is exact")]
    if per_entry:
        def entry_body(indent: str, pr: _RowPrinter) -> list[str]:
            out = []
            for temp, expr in entry.items():
                out.append(f"{indent}# {temp} = {text(expr)}")
                out.append(f"{indent}{temp} = {pr.doprint(expr)}")
            for o, res, coeff, at in per_entry:
                out.append(f"{indent}# {o.meaning} = {text(o.expr)}")
                value = pr.doprint(res)
                one_hot_only = at is None and res == 0 and coeff != 0 and reduces \
                    and not (cap and kernel.chain is not None)
                if at is not None:  # the value at the class column, computed once per row (class-gap)
                    value = f"tl.where(idx == cls, {o.name}_at_r, {value})"
                elif one_hot_only:  # only the one-hot term scaled: 0 off the class even where row_scale is NaN (torch's)
                    value = f"tl.where(idx == cls, {printer.doprint(coeff)} * row_scale, 0.0)"
                elif coeff != 0:
                    value = (f"{value} + tl.where(idx == cls, {printer.doprint(coeff)}, 0.0)  "
                             f"# the one-hot term δ_jr·({text(coeff)})")
                out.append(f"{indent}{o.name} = {value}")
                if dw and (dw in ("soft", "hard") or o.expr.has(g)):
                    out += _dw_entry(kernel, o.name, res, indent, pr)
                if cap and kernel.chain is not None:
                    out += [f"{indent}if CAP:  # a gradient in c, times ∂c_j/∂z_j = {text(kernel.chain)}",
                            f"{indent}    {o.name} = {o.name} * chain_j"]
                scaled = f"({o.name} * row_scale)" if reduces and not one_hot_only else o.name
                if reduces and target:  # an ignored row's gradient is 0 even where its logits are NaN or ±∞
                    scaled = f"tl.where(ignored, 0.0, {scaled})"
                out.append(f"{indent}tl.store({o.name}_row + idx, _stored({scaled}, {o.name}_ptr), "
                           "mask=idx < V)")
            return out
        for temp, expr in at_row.items():  # values of the row at its class (the class-gap rule)
            L.append(f"    # {temp} = {text(expr)}")
            L.append(f"    {temp} = {printer.doprint(expr)}")
        for o, _, _, at in per_entry:
            if at is not None:
                L.append(f"    # {o.name} at the class of the row (δ_jr = 1): {text(at)}")
                L.append(f"    {o.name}_at_r = {printer.doprint(at)}")
        if target:
            L.append("    # a class outside [0, V) (possible with check=False) poisons its row: loss and gradient NaN")
            L.append("    row_scale = tl.where(ignored, 0.0, tl.where(valid, 1.0 / divisor, float(\"nan\")))")
        elif reduces:
            L.append("    row_scale = 1.0 / divisor")
        L += _dw_fold_lse(kernel, per_entry, printer)
        L.append("    # pass 2: the entries of the row")
        L += ["    if ONE_READ:  # from the registers of pass 1 (past the row's end z = −inf: not stored)",
              "        # m is the shift of pass 1 here (they differ only in a row of −inf, where every",
              "        # entry is NaN either way), so e^{z_j − m} of pass 1 is reused, not recomputed"]
        again = _RowPrinter({**names, M: "shift"}, helpers)
        again.max_lo = "shift_lo" if cap else None
        body = entry_body("        ", again)
        if any(re.search(r"\bzj\b", line) for line in body):
            L += ["        if BLOCK_V > 16384:  # 64 logits a thread: read again (from L2) instead of kept live through the",
                  "            # row's outputs, which spilled 480 B (softmax-CE) to 1,632 B (cross-entropy) a thread on sm_90",
                  "            zj = _upcast(tl.load(z_row + idx, mask=idx < V, other=float(\"-inf\")), acc)"]
            L += capped("            ", "zj", "idx < V", chain=True)
        L += body
        second_side = side_loads("            ", pass1=False)
        second = ["z"] + (["g"] if upstream else [])
        L += ["    else:  # tiles last to first: the tiles pass 1 read last are the likeliest still in L2",
              "        last = (V - 1) // BLOCK_V * BLOCK_V  # and each tile's predecessor is loaded in advance"]
        L += [f"        {v}_next = tl.load({v}_row + last + cols, mask=last + cols < V, other=0.0)"
              for v in second]
        L += ["        for back in range(0, V, BLOCK_V):",
              "            idx = last - back + cols"]
        for v in second:
            L += [f"            {v}j = _upcast({v}_next, acc)",
                  f"            {v}_next = tl.load({v}_row + idx - BLOCK_V, mask=idx >= BLOCK_V, other=0.0)"]
        L += capped("            ", "zj", "idx < V", chain=True)
        L += second_side
        L += entry_body("            ", printer)
    if reduces and _carries_gap(kernel, per_row[0][1], entry):
        L += _scaled_gaps(kernel, per_row[0][0].name, per_row[0][1], names, entry, helpers, capped, side_loads)
    if reduces:
        o = per_row[0][0]
        if compensated:
            printer._need("_sum_dw_when_last")
            if kernel.divisor == "weight" and weighted:  # _weigh_rows_kernel sums Σ w_r with these
                for helper in ("_row_dw_tile_sum", "_dw_add"):
                    printer._need(helper)
            L += ["    if REDUCE:  # the last program to finish sums the rows' values and their low parts (Σ, or Σ/divisor)",
                  f"        _sum_dw_when_last({o.name}_ptr, {o.name}_lo_ptr, tl.num_programs(0), count_ptr + 1, out_ptr, "
                  "divisor, divisor_lo, R)"]
        else:
            helpers.update({"_sum_when_last", "_stored"})
            L += ["    if REDUCE:  # the last program to finish sums the rows' values (Σ, or Σ/rows counted)",
                  f"        _sum_when_last({o.name}_ptr, tl.num_programs(0), count_ptr + 1, out_ptr, divisor, R)"]
    return "\n".join(L) + "\n"


def emit_row_launcher(kernel: RowKernel) -> str:
    if kernel.weighted or kernel.options or kernel.soft:
        return _option_row_launcher(kernel)
    if not kernel.target:
        return _plain_row_launcher(kernel)
    fused = any(not o.per_row for o in kernel.outputs)
    k = f"_{kernel.name}_kernel"
    outs = ", ".join(o.name for o in kernel.outputs)
    value = next(o.name for o in kernel.outputs if o.per_row)
    doc = [f'    """{kernel.formula}', "",
           "    Arguments:",
           "      z: logits (N, V) or (..., V): float32, float64, bfloat16 or float16, on the GPU",
           "      r: the class of each row, integers, shape (...)",
           "      reduction: 'mean' (over the rows not ignored), 'sum' or 'none'",
           "      ignore_index: rows of this class count for nothing (loss 0, gradient 0)",
           "      check: check on the host that every class lies in [0, V) (one synchronisation);",
           "        with check=False a bad class gives a NaN loss (and a NaN gradient row) and is never",
           "        read out of bounds",
           ]
    if fused:
        doc += ["      inplace: write the gradient over the logits z (saves N·V of memory); a z that had to be",
                "        copied (below) gets the gradient copied back; an expanded z (stride 0) is refused"]
    doc += ["", f"    Returns ({outs}):" if fused else f"    Returns {outs}:"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ["", *VIEWS_DOC,
            "",
            "    Launches: the kernel (one program a row); with a reduction, before it, the zeroing of",
            "    two counters and, for the mean, a small kernel counting the rows. The sum or mean is",
            "    taken by the last program to finish, so nothing waits on the host (with check=False)",
            "    and the call can be captured in a CUDA graph.",
            '    """']
    sig = "z, r, reduction=\"mean\", ignore_index=-100, *, check=True" + (", inplace=False" if fused else "")
    body = [
        "_reduction(reduction)",
        *(["logits = z  # the caller's tensor: inplace=True overwrites it"] if fused else []),
        "z, r, shape, ignore_index = _rows(z, r, check, ignore_index)",
        "N, V = z.shape",
        "reduce = reduction != \"none\"",
        "acc = torch.float64 if z.dtype == torch.float64 else torch.float32",
        f"{value} = torch.empty(N, dtype=acc if reduce else z.dtype, device=z.device)  # per row",
    ]
    if fused:
        body.append("dz = _gradient_rows(logits, z, inplace)")
    body += [
        f"out = torch.empty((), dtype=z.dtype, device=z.device) if reduce else {value}",
        "count = torch.zeros(2, dtype=torch.int32, device=z.device) if reduce else r  # rows counted; programs done",
    ]
    args = f"z, r, {value}" + (", dz" if fused else "") + ", out, count, V, z.stride(0)" + \
        (", dz.stride(0)" if fused else "")
    body += [
        "if N:",
        "    if reduction == \"mean\":",
        "        _count_rows_kernel[(triton.cdiv(N, SUM_BLOCK),)](r, count, N, ignore_index, R=SUM_BLOCK)",
        f"    {k}[(N,)]({args}, ignore_index, F64=z.dtype == torch.float64,",
        "              MEAN=reduction == \"mean\", REDUCE=reduce, R=SUM_BLOCK, **_row_tiles(V, z.dtype))",
        "elif reduce:  # no rows: the sum is 0 and the mean undefined",
        "    out.fill_(0.0 if reduction == \"sum\" else float(\"nan\"))",
        f"result = out if reduce else {value}.reshape(shape[:-1])",
    ]
    if fused:
        body += ["if inplace and dz.untyped_storage().data_ptr() != logits.untyped_storage().data_ptr():",
                 "    logits.copy_(dz.reshape(shape))  # the rows were a copy: write the gradient back",
                 "return result, (logits if inplace else dz.reshape(shape))"]
    else:
        body.append("return result")
    return "\n".join([f"def {kernel.name}({sig}):", *doc] + ["    " + b for b in body]) + "\n"


def _plain_row_launcher(kernel: RowKernel) -> str:
    """softmax / log-softmax (and their vector-Jacobian products with an upstream g)."""
    k = f"_{kernel.name}_kernel"
    outs = [o.name for o in kernel.outputs]
    doc = [f'    """{kernel.formula}', "", "    Arguments:",
           "      z: logits (N, V) or (..., V): float32, float64, bfloat16 or float16, on the GPU"]
    if kernel.upstream:
        doc.append("      g: the upstream gradient of the outputs, the shape of z")
    doc += ["", f"    Returns ({', '.join(outs)}):" if len(outs) > 1 else f"    Returns {outs[0]}:"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ["", *VIEWS_DOC, '    """']
    args = ["z"] + (["g"] if kernel.upstream else [])
    body = ["z, shape = _logit_rows(z)"]
    if kernel.upstream:
        body.append("g = _like_rows(g, z, shape)")
    wide = [o.name for o in kernel.outputs if not o.per_row]
    body += ["N, V = z.shape"] + [f"{o.name} = torch.empty({'N' if o.per_row else 'N, V'}, dtype=z.dtype, device=z.device)"
                                  + ("  # one per row" if o.per_row else "") for o in kernel.outputs]
    order = [o.name for o in kernel.outputs if o.per_row] + wide  # the kernel's pointer order
    strides = ", ".join(f"{x}.stride(0)" for x in args + wide)
    acc = "z.dtype"
    if kernel.widen:  # RowKernel.widen: a vector-Jacobian product with g cancels; float32 computed in float64
        body.append("acc = torch.float64 if z.dtype in (torch.float64, torch.float32) else torch.float32"
                    "  # g_i − Σ_j s_j g_j cancels: float32 in float64, each output rounded once")
        acc = "acc"
    if kernel.double_word:
        body.append("dw = z.dtype == torch.float64  # the gradient in double-word, rounded once (it cancels)")
    body += ["if N:",
             f"    {k}[(N,)]({', '.join(args + order)}, V, {strides}, F64={acc} == torch.float64,"
             + (" DW=dw," if kernel.double_word else ""),
             f"              **_row_tiles(V, {acc}))",
             "return " + ", ".join(o.name + (".reshape(shape[:-1])" if o.per_row else ".reshape(shape)")
                                   for o in kernel.outputs)]
    return "\n".join([f"def {kernel.name}({', '.join(args)}):", *doc] + ["    " + b for b in body]) + "\n"


def _option_row_launcher(kernel: RowKernel) -> str:
    """A loss of the row registry (cross-entropy with class weights, label smoothing, softcap and
    z-loss; with class indices r or soft targets t; NLL): the arguments of NumPy's twin, in
    torch's order, then ``check``/``inplace``."""
    from ..numpy.rowwise import signature_of
    k = f"_{kernel.name}_kernel"
    tensors, options = signature_of(kernel)
    fused = any(not o.per_row for o in kernel.outputs)
    value = next(o.name for o in kernel.outputs if o.per_row)
    target, soft, weighted = kernel.target, kernel.soft, kernel.weighted
    weigh = kernel.divisor == "weight" and weighted
    doc = [f'    """{kernel.formula}', "", "    Arguments (those of the NumPy function of the same name, in the same order):",
           "      z: logits (N, V) or (..., V): float32, float64, bfloat16 or float16, on the GPU"]
    doc += ["      r: the class of each row, integers, shape (...)"] if target else []
    doc += ["      t: the soft target of each row (probabilities), the shape of z"] if soft else []
    doc += ["      weight: a weight per class, shape (V,), or None (all 1)"] if weighted else []
    doc += ["      ignore_index: rows of this class count for nothing (loss 0, gradient 0)"] if target else []
    what = {"weight": "Σ weight[r] over the rows not ignored", "count": "the rows not ignored",
            "rows": "the rows"}[kernel.divisor if weighted or kernel.divisor != "weight" else "count"]
    doc += [f"      reduction: 'mean' (divided by {what}, as torch), 'sum' or 'none'"]
    doc += [f"      {n}" for n in ("label_smoothing: ε in [0, 1]" if kernel.options and "label_smoothing=0.0" in options else "",
                                   "softcap: s > 0, the logits become s·tanh(z/s) first; or None"
                                   if any(x.startswith("softcap") for x in options) else "",
                                   "z_loss_scale: λ ≥ 0, λ·lse² added to each row's loss"
                                   if any(x.startswith("z_loss_scale") for x in options) else "") if n]
    if target:
        doc += ["      check: check on the host that every class lies in [0, V) (one synchronisation);",
                "        with check=False a bad class gives a NaN loss and a NaN gradient row, never an",
                "        out-of-bounds read"]
    if fused and target:
        doc += ["      inplace: write the gradient over the logits z (saves N·V of memory)"]
    doc += ["", f"    Returns ({', '.join(o.name for o in kernel.outputs)}):" if fused else f"    Returns {value}:"]
    doc += [f"      {o.name}: {o.meaning} = {text(o.expr)}" for o in kernel.outputs]
    doc += ["", "    Raises:", "      TypeError: a tensor of the wrong kind or dtype",
            "      ValueError: shapes that do not match, a bad class (check=True), an option out of range",
            "", *VIEWS_DOC, '    """']
    extra = (["check=True"] if target else []) + (["inplace=False"] if fused and target else [])
    sig = ", ".join(tensors + options + (["*"] + extra if extra else []))
    names = [o.split("=")[0] for o in options]
    body = ["_reduction(reduction)"] if "reduction" in names else []
    if target:
        body += ["logits = z  # the caller's tensor: inplace=True overwrites it" if fused else "",
                 "z, r, shape, ignore_index = _rows(z, r, check, ignore_index)"]
    else:
        body += ["z, shape = _logit_rows(z)", "t = _like_rows(t, z, shape, 't')"]
    body = [b for b in body if b]
    body += ["N, V = z.shape",
             "reduce = reduction != \"none\""]
    if kernel.widen:  # RowKernel.widen (see _widen_when): float32 logits compute in float64
        why = ("  # float32 logits computed in float64, each output rounded once (p_j·Σ_k a_k − a_j cancels, gaps"
               " m − z_k overflow, a softcap's c_k − c_r keeps s·ε; bfloat16/float16 in float32, 16 bits above their own)"
               if any(not o.per_row for o in kernel.outputs) or kernel.widen != "always" else
               "  # float32 logits computed in float64, the loss rounded once (its gaps m − z_k overflow in float32)")
        body.append("wide = z.dtype in (torch.float64, torch.float32)" if kernel.widen == "always" else
                    f"wide = z.dtype == torch.float64 or (z.dtype == torch.float32 and ({kernel.widen}))")
        body.append("acc = torch.float64 if wide else torch.float32" + why)
    else:
        body.append("acc = torch.float64 if z.dtype == torch.float64 else torch.float32")
    if weighted:
        body.append("w = _class_weights(weight, z, acc)")
    opts = [OPTION_NAMES[o] for o in kernel.options]
    if opts:
        body.append(f"opt = _option_values(z, {', '.join(f'{n}={n}' for n in opts)})")
    body.append(f"{value} = torch.empty(N, dtype=acc if reduce else z.dtype, device=z.device)  # per row")
    body.append(f"{value}_lo = torch.empty(N, dtype=acc, device=z.device) if reduce else {value}  "
                "# its rounding errors, for the sum")
    if fused:
        body.append("dz = _gradient_rows(logits, z, inplace)" if target else
                    "dz = torch.empty(z.shape, dtype=z.dtype, device=z.device)")
    body += [f"out = torch.empty((), dtype=z.dtype, device=z.device) if reduce else {value}",
             f"count = torch.zeros(2, dtype=torch.int32, device=z.device) if reduce else {value}  # rows counted; programs done"]
    if weigh:
        body += ["divisor = torch.zeros(2, dtype=acc, device=z.device)  # Σ w_r over the rows counted: (hi, lo)",
                 "parts = torch.empty(2 * triton.cdiv(N, SUM_BLOCK), dtype=torch.float64, device=z.device)  "
                 "# its programs' sums"]
    ptrs = ["z"] + (["r"] if target else []) + (["t"] if soft else []) + (["w"] if weighted else []) + \
        (["opt"] if opts else []) + [value, f"{value}_lo"] + (["dz"] if fused else []) + ["out", "count"] + \
        (["divisor"] if weigh else [])
    strides = ["z.stride(0)"] + (["t.stride(0)"] if soft else []) + (["dz.stride(0)"] if fused else [])
    # CAP: 0 no softcap, 1 a softcap, 2 a softcap of float64 logits (its ∂c/∂z in double-word)
    consts = "F64=acc == torch.float64, " + ("DW=z.dtype == torch.float64, " if kernel.double_word else "") + \
        ("CAP=0 if softcap is None else 2 if z.dtype == torch.float64 else 1, " if kernel.cap is not None else "") + \
        "MEAN=reduction == \"mean\", REDUCE=reduce, R=SUM_BLOCK"
    body += ["if N:"]
    if target:
        body += ["    if reduction == \"mean\":"]
        body += ["        _weigh_rows_kernel[(triton.cdiv(N, SUM_BLOCK),)](r, w, divisor, parts, count, N, V, ignore_index, "
                 "R=SUM_BLOCK)" if weigh else
                 "        _count_rows_kernel[(triton.cdiv(N, SUM_BLOCK),)](r, count, N, ignore_index, R=SUM_BLOCK)"]
        if weigh:  # Σ w_r·l_r/Σ w_r with every weight (and λ) times 2^k: 1/Σ w_r finite for subnormal weights
            lam = ", opt" if "z_loss_scale" in opts else ""
            body += [f"        w, divisor{lam} = _mean_weights(w, divisor{lam})  # on the device: nothing waits on the host"]
    body += [f"    {k}[(N,)]({', '.join(ptrs)}, V, {', '.join(strides)},",
             f"              {'ignore_index, ' if target else ''}{consts}, **_row_tiles(V, acc))",
             "elif reduce:  # no rows: the sum is 0 and the mean undefined",
             "    out.fill_(0.0 if reduction == \"sum\" else float(\"nan\"))",
             f"result = out if reduce else {value}.reshape(shape[:-1])"]
    if fused and target:
        body += ["if inplace and dz.untyped_storage().data_ptr() != logits.untyped_storage().data_ptr():",
                 "    logits.copy_(dz.reshape(shape))  # the rows were a copy: write the gradient back",
                 "return result, (logits if inplace else dz.reshape(shape))"]
    elif fused:
        body.append("return result, dz.reshape(shape)")
    else:
        body.append("return result")
    return "\n".join([f"def {kernel.name}({sig}):", *doc] + ["    " + b for b in body]) + "\n"


OPTION_HOST = '''\
def _class_weights(weight, z, acc):
    """The class weights as a contiguous (V,) tensor of the computation's dtype: all 1 for None."""
    V = z.shape[-1]
    if weight is None:
        return torch.ones(V, dtype=acc, device=z.device)
    if not isinstance(weight, torch.Tensor) or not weight.dtype.is_floating_point or tuple(weight.shape) != (V,):
        raise ValueError(f"weight must be a float tensor of shape ({V},), one weight per class")
    if weight.device != z.device:
        raise ValueError(f"argument 'weight' is on {weight.device} but 'z' is on {z.device}")
    cast = weight.to(acc).contiguous()
    if torch.finfo(weight.dtype).max > torch.finfo(acc).max:  # a wider weight: one past acc's range became ±inf
        past = torch.isfinite(weight) & ~torch.isfinite(cast)
        if bool(past.any()):
            raise ValueError(f"weight holds {weight[past][0].item()!r}, beyond the range of {acc} (the computation's "
                             "dtype, from the logits'): the loss would be NaN")
    return cast


def _option_values(z, label_smoothing=0.0, z_loss_scale=0.0, softcap=None):
    """The options checked, as one float64 tensor on the logits' device (the kernel reads them
    in its own type: float64 options stay exact in a float64 kernel)."""
    for name, value in (("label_smoothing", label_smoothing), ("z_loss_scale", z_loss_scale),
                        ("softcap", 1.0 if softcap is None else softcap)):
        if isinstance(value, (bool, torch.Tensor)) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a Python number, not {value!r}")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"label_smoothing must lie in [0, 1], not {label_smoothing!r}")
    if not 0 <= z_loss_scale < float("inf"):
        raise ValueError(f"z_loss_scale must be finite and ≥ 0, not {z_loss_scale!r}")
    if softcap is not None and not 0 < softcap < float("inf"):
        raise ValueError(f"softcap must be finite and > 0 (or None), not {softcap!r}")
    return torch.tensor([label_smoothing, z_loss_scale, 1.0 if softcap is None else softcap],
                        dtype=torch.float64, device=z.device)


def _mean_weights(w, divisor, opt=None):
    """reduction "mean" with class weights: Σ_i w_{r_i}·l_i / Σ_i w_{r_i} is the same with every weight times 2^k,
    exactly (and λ = opt[1] with them: λ·lse² shares the divisor); 2^k brings the divisor near 1, so that neither
    1/Σ w_r (subnormal weights: +∞, as torch's) nor the products w_r·l_r round where the mean does not. k stops
    where the largest weight would overflow. On the device (tensors, no host synchronisation); 2^k as two
    factors, each finite in the weights' type."""
    top = 1024 if w.dtype == torch.float64 else 128  # the exponent of the type's overflow threshold
    d = divisor.reshape(-1)[0]  # the divisor, or the hi of a double-word one (hi, lo), scaled alike
    k = torch.minimum(-torch.frexp(d)[1], top - 2 - torch.frexp(w.abs().max())[1])
    k = torch.where((d == 0) | ~torch.isfinite(d), 0, k)
    half = torch.div(k, 2, rounding_mode="floor")
    a, b = torch.exp2(half.to(w.dtype)), torch.exp2((k - half).to(w.dtype))
    w, divisor = w * a * b, divisor * a * b
    if opt is None:
        return w, divisor
    return w, divisor, torch.stack([opt[0], opt[1] * a.double() * b.double(), opt[2]])


@triton.jit
def _weigh_rows_kernel(r_ptr, w_ptr, divisor_ptr, parts_ptr, done_ptr, N, V, ignore_index, R: tl.constexpr):
    """divisor_ptr[0:2] = Σ w[r] over the rows whose class is not ignore_index (the weighted mean's divisor, as
    torch's) as a double-word (hi, lo); a class outside [0, V) adds nothing (its row is NaN anyway). Each
    program's R rows summed in float64 by _row_dw_tile_sum into parts_ptr; the last program to finish (done_ptr
    counts them) adds the parts in a fixed order: the same bits every run, where atomic adds of the programs'
    sums would depend on their order."""
    program = tl.program_id(0)
    at = program.to(tl.int64) * R + tl.arange(0, R)
    cls = tl.load(r_ptr + at, mask=at < N, other=ignore_index)
    keep = (cls != ignore_index) & (cls >= 0) & (cls < V)
    w_r = tl.load(w_ptr + cls, mask=keep, other=0.0).to(tl.float64)
    hi, lo = _row_dw_tile_sum(w_r, 0.0 * w_r)
    tl.store(parts_ptr + 2 * program, hi)
    tl.store(parts_ptr + 2 * program + 1, lo)
    tl.debug_barrier()  # this program's stores before its count (as _sum_when_last)
    if tl.atomic_add(done_ptr, 1) == tl.num_programs(0) - 1:
        s_hi = tl.zeros([], tl.float64)
        s_lo = tl.zeros([], tl.float64)
        for first in range(0, tl.num_programs(0), R):
            part = first + tl.arange(0, R)  # (not ``at``: a loop may not change a variable's type, int64 there)
            p_hi = tl.load(parts_ptr + 2 * part, mask=part < tl.num_programs(0), other=0.0, cache_modifier=".cg")
            p_lo = tl.load(parts_ptr + 2 * part + 1, mask=part < tl.num_programs(0), other=0.0, cache_modifier=".cg")
            c_hi, c_lo = _row_dw_tile_sum(p_hi, p_lo)
            s_hi, s_lo = _dw_add(s_hi, s_lo, c_hi, c_lo)
        out_hi = s_hi.to(divisor_ptr.dtype.element_ty)
        tl.store(divisor_ptr, out_hi)
        tl.store(divisor_ptr + 1, ((s_hi - out_hi.to(tl.float64)) + s_lo).to(divisor_ptr.dtype.element_ty))
'''


VIEWS_DOC = [
    "    Views: each tensor is read and written with its own row stride, so a row-sliced, offset or",
    "    expanded (stride 0) view is used in place; one whose last axis is not unit-stride (a",
    "    transposed view), or whose leading axes do not merge into rows, is copied first. The",
    "    outputs are new contiguous tensors.",
]


ROW_TILES = '''\
ONE_READ_MAX = 32768  # the longest row a program holds in registers (float64: half), read once
TILE = 16384  # the tile of a longer row, which is read twice


def _row_tiles(V, dtype):
    """Columns a program takes at a time, and its warps.

    A row of up to ONE_READ_MAX columns is one tile, read once and kept in registers
    (64 floats a thread at most: ptxas reports no spills on sm_90 at 32,768 float32 columns,
    benchmarks/results/sm90-compile-*.txt); a longer one is read twice, in TILE columns at a
    time: 16,384 columns with 16 warps, the fastest two-pass tiling of the H100 sweep
    (benchmarks/results/gpu-sweep-h100-2026-11-27.txt, taken before the second pass ran last
    tile first and each tile's neighbour was loaded ahead: benchmarks/gpu_sweep.py re-measures)."""
    f64 = dtype == torch.float64
    if V <= (ONE_READ_MAX // 2 if f64 else ONE_READ_MAX):
        block = triton.next_power_of_2(V)
        return {"BLOCK_V": block, "ONE_READ": True, "num_warps": min(16, max(4, block * (2 if f64 else 1) // 2048))}
    return {"BLOCK_V": TILE, "ONE_READ": False, "num_warps": min(16, max(4, TILE // 1024))}
'''


COUNT_ROWS = '''\
SUM_BLOCK = 1024  # rows a program of the row count takes, and the last program adds at a time


@triton.jit
def _count_rows_kernel(r_ptr, count_ptr, N, ignore_index, R: tl.constexpr):
    """count_ptr[0] += the rows whose class is not ignore_index (the mean's divisor): R rows a program."""
    at = tl.program_id(0).to(tl.int64) * R + tl.arange(0, R)
    cls = tl.load(r_ptr + at, mask=at < N, other=ignore_index)
    tl.atomic_add(count_ptr, tl.sum((cls != ignore_index).to(tl.int32), axis=0))
'''


ROW_HOST = '''\
def _rows(z, r, check, ignore_index):
    """The logits as (N, V) rows with unit stride along V, the classes as int64, both checked,
    and ignore_index as a Python int."""
    if not isinstance(z, torch.Tensor) or not isinstance(r, torch.Tensor):
        raise TypeError("arguments 'z' and 'r' must be torch.Tensors")
    if isinstance(ignore_index, (bool, torch.Tensor)) or not hasattr(type(ignore_index), "__index__"):
        raise TypeError(f"ignore_index must be an integer, not {ignore_index!r}")
    ignore_index = ignore_index.__index__()  # a Python int (numpy's integers too)
    if not -2**63 <= ignore_index < 2**63:
        raise ValueError(f"ignore_index {ignore_index} is outside the int64 range of class indices")
    if z.dtype not in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
        raise TypeError(f"argument 'z' has dtype {z.dtype}; the kernel takes float32, float64, bfloat16 or float16 logits")
    if r.dtype.is_floating_point or r.dtype.is_complex or r.dtype == torch.bool:
        raise TypeError(f"argument 'r' must hold integer class indices, not {r.dtype}")
    if z.dim() == 0 or z.shape[-1] == 0:
        raise ValueError(f"argument 'z' needs a last axis of at least one class, got shape {tuple(z.shape)}")
    if tuple(r.shape) != tuple(z.shape[:-1]):
        raise ValueError(f"argument 'r' has shape {tuple(r.shape)}; logits of shape {tuple(z.shape)} need "
                         f"{tuple(z.shape[:-1])}")
    _device_ok("z", z)
    if r.device != z.device:
        raise ValueError(f"argument 'r' is on {r.device} but 'z' is on {z.device}")
    V = z.shape[-1]
    shape = z.shape
    z = z.reshape(-1, V)
    if z.stride(-1) != 1:
        z = z.contiguous()  # rows are read as contiguous runs
    r = r.reshape(-1).to(torch.int64).contiguous()  # the kernels read r[row] from flat memory
    if check and r.numel():
        bad = (r != ignore_index) & ((r < 0) | (r >= V))
        if bool(bad.any()):
            raise ValueError(f"class index {int(r[bad][0])} in argument 'r' is outside [0, {V}) "
                             f"(and is not ignore_index={ignore_index})")
    return z, r, shape, ignore_index


def _gradient_rows(logits, z, inplace):
    """Where the gradient goes: new (N, V) rows; with inplace, the rows z of the logits (which
    the launcher copies back when z is a copy of them)."""
    if not inplace:
        return torch.empty(z.shape, dtype=z.dtype, device=z.device)
    reach = 1  # the elements the smaller strides span: a larger stride must step past them
    for stride, size in sorted((s, n) for s, n in zip(logits.stride(), logits.shape) if n > 1):
        if stride < reach:
            raise ValueError("inplace=True writes the gradient over argument 'z', but 'z' is an expanded view "
                             "(stride 0) or another view whose entries share memory")
        reach += stride * (size - 1)
    return z
'''


PLAIN_HOST = '''\
def _logit_rows(z):
    """The logits as (N, V) rows with unit stride along V, checked."""
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"argument 'z' must be a torch.Tensor, not {type(z).__name__}")
    if z.dtype not in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
        raise TypeError(f"argument 'z' has dtype {z.dtype}; the kernel takes float32, float64, bfloat16 or float16 logits")
    if z.dim() == 0 or z.shape[-1] == 0:
        raise ValueError(f"argument 'z' needs a last axis of at least one class, got shape {tuple(z.shape)}")
    _device_ok("z", z)
    shape = z.shape
    z = z.reshape(-1, shape[-1])
    return (z if z.stride(-1) == 1 else z.contiguous()), shape


def _like_rows(g, z, shape, name="g"):
    """An upstream gradient (or soft targets): the logits' shape, dtype and device, as rows with
    unit stride along V."""
    if not isinstance(g, torch.Tensor):
        raise TypeError(f"argument {name!r} must be a torch.Tensor, not {type(g).__name__}")
    if not g.dtype.is_floating_point:  # a complex one would lose its imaginary part in the cast below
        raise TypeError(f"argument {name!r} must hold floating-point values, not {g.dtype}")
    if g.shape != shape:
        raise ValueError(f"argument {name!r} has shape {tuple(g.shape)} but the logits have shape {tuple(shape)}")
    if g.device != z.device:
        raise ValueError(f"argument {name!r} is on {g.device} but 'z' is on {z.device}")
    g = g.to(z.dtype).reshape(z.shape)
    return g if g.stride(-1) == 1 else g.contiguous()
'''


def emit_row_autograd(kernel: RowKernel, op_name: str) -> str:
    name = kernel.name.removesuffix("_grad")
    return f'''\
_ROW_OP = "{op_name}"

if not _registered(_ROW_OP):
    @torch.library.custom_op(_ROW_OP, mutates_args=())
    def _{name}_op(z: torch.Tensor, r: torch.Tensor, reduction: str, ignore_index: int) -> list[torch.Tensor]:
        loss, dz = {kernel.name}(z, r, reduction, ignore_index, check=False)
        return [loss, dz]

    @_{name}_op.register_fake
    def _(z, r, reduction, ignore_index):
        loss = z.new_empty(z.shape[:-1]) if reduction == "none" else z.new_empty(())
        return [loss, torch.empty_like(z)]

    def _setup(ctx, inputs, output):
        ctx.reduction = inputs[2]
        ctx.save_for_backward(output[1])  # ∂C/∂z, computed in the same launch

    def _backward(ctx, grads):
        if torch.is_grad_enabled():  # create_graph=True: this backward would be differentiated again
            raise RuntimeError(f"{{_ROW_OP}} has no second derivative (its gradient is a saved tensor, "
                               "constant to autograd): create_graph=True through it would give a wrong one")
        (dz,) = ctx.saved_tensors
        g = grads[0]
        g = g.unsqueeze(-1) if ctx.reduction == "none" else g
        return (g * dz).to(dz.dtype), None, None, None

    _{name}_op.register_autograd(_backward, setup_context=_setup)


def {name}_loss(z, r, reduction="mean", ignore_index=-100):
    """The loss, differentiable (a torch custom op: torch.compile keeps it whole); its
    gradient is the one the kernel wrote beside the loss. Classes are not checked here
    (no host synchronisation); a bad class gives a NaN loss, never an out-of-bounds read."""
    _reduction(reduction)
    return torch.ops.{op_name.replace("::", ".")}(z, r, reduction, ignore_index)[0]
'''


def emit_option_autograd(kernels: list) -> str:
    """The differentiable op of a registry loss module, with torch's signature:
    ``cross_entropy_op(z, target, weight=None, ignore_index=-100, reduction="mean",
    label_smoothing=0.0, softcap=None, z_loss_scale=0.0)`` (class indices or, for a floating
    ``target``, soft targets), ``nll_loss_op(z, target, weight=None, ignore_index=-100,
    reduction="mean")``. Its gradient with respect to z is the one the kernel wrote beside the
    loss; the targets and the weights get none (asking for one is an error, not a silent None)."""
    from ..numpy.rowwise import signature_of
    hard = next(k for k in kernels if k.target and any(not o.per_row for o in k.outputs))
    soft = next((k for k in kernels if k.soft and any(not o.per_row for o in k.outputs)), None)
    name = hard.name.removesuffix("_grad")
    _, options = signature_of(hard)
    names = [o.split("=")[0] for o in options]
    has = {n: n in names for n in ("weight", "label_smoothing", "softcap", "z_loss_scale")}
    schema = ["z: torch.Tensor", "target: torch.Tensor", "weight: Optional[torch.Tensor]", "ignore_index: int",
              "reduction: str"] + (["label_smoothing: float", "softcap: Optional[float]", "z_loss_scale: float"]
                                   if has["softcap"] else [])
    passed = ["z", "target", "weight", "ignore_index", "reduction"] + \
        (["label_smoothing", "softcap", "z_loss_scale"] if has["softcap"] else [])
    opt_args = ", label_smoothing, softcap, z_loss_scale" if has["softcap"] else ""
    call_hard = f"{hard.name}(z, target, weight, ignore_index, reduction{opt_args}, check=False)"
    call_soft = f"{soft.name}(z, target, weight, reduction{opt_args})" if soft else None
    dispatch = (f"""        if target.dtype.is_floating_point:  # soft targets: a probability per class
            loss, dz = {call_soft}
        else:
            loss, dz = {call_hard}""" if soft else f"        loss, dz = {call_hard}")
    defaults = 'weight=None, ignore_index=-100, reduction="mean"' + \
        (", label_smoothing=0.0, softcap=None, z_loss_scale=0.0" if has["softcap"] else "")
    nones = ", ".join(["None"] * (len(passed) - 1))
    return f'''\
_OP_{name.upper()} = "symnet::{name}"

if not _registered(_OP_{name.upper()}):
    from typing import Optional

    @torch.library.custom_op(_OP_{name.upper()}, mutates_args=())
    def _{name}_op({", ".join(schema)}) -> list[torch.Tensor]:
{dispatch}
        return [loss, dz]

    @_{name}_op.register_fake
    def _({", ".join(passed)}):
        loss = z.new_empty(z.shape[:-1]) if reduction == "none" else z.new_empty(())
        return [loss, torch.empty_like(z)]

    def _setup_{name}(ctx, inputs, output):
        ctx.reduction = inputs[4]
        ctx.save_for_backward(output[1])  # ∂C/∂z, computed in the same launch

    def _backward_{name}(ctx, grads):
        if torch.is_grad_enabled():  # create_graph=True: this backward would be differentiated again
            raise RuntimeError("symnet::{name} has no second derivative (its gradient is a saved tensor, "
                               "constant to autograd): create_graph=True through it would give a wrong one")
        (dz,) = ctx.saved_tensors
        g = grads[0]
        g = g.unsqueeze(-1) if ctx.reduction == "none" else g
        return (g * dz).to(dz.dtype), {nones}

    _{name}_op.register_autograd(_backward_{name}, setup_context=_setup_{name})


def {name}_op(z, target, {defaults}):
    """{name} as a differentiable torch op: torch.nn.functional.{"cross_entropy" if soft else name}'s arguments{
    "," + chr(10) + "    then Gemma's softcap and the z-loss scale λ (λ·lse² added to each row)" if has["softcap"] else ""}.
    z: logits (..., V); target: class indices (...){" or soft targets (..., V), probabilities" if soft else ""}.
    The gradient with respect to z is the one the kernel wrote beside the loss, times the
    upstream gradient.

    Classes are not checked here (no host synchronisation): a class outside [0, V) that is not
    ignore_index makes the loss NaN and the gradient of its row NaN, never a plausible number.

    Raises:
      ValueError: target or weight requires grad (no gradient is generated for them), or an
        argument the kernel refuses (see {hard.name})
    """
    for what, tensor in (("target", target), ("weight", weight)):
        if isinstance(tensor, torch.Tensor) and tensor.requires_grad:
            raise ValueError(f"{name}_op gives no gradient with respect to its {{what}}; pass it detached")
    _reduction(reduction)
    return torch.ops.symnet.{name}({", ".join(passed)})[0]
'''


def emit_triton_row_module(kernels: list, source: str, regenerate: str) -> str:
    used: set = set()
    parts = []
    for kernel in kernels:
        parts.append(emit_row_kernel(kernel, used))
        parts.append(emit_row_launcher(kernel))
    fused = [k for k in kernels if k.target and any(not o.per_row for o in k.outputs)]
    if fused and (fused[0].weighted or fused[0].options):
        parts.append(emit_option_autograd(kernels))
    elif fused:
        parts.append(emit_row_autograd(fused[0], f"symnet::{fused[0].name.removesuffix('_grad')}"))
    device = generated_last(TRITON_HELPERS, used, "triton")
    targets = any(k.target for k in kernels)
    plain = not targets or any(k.soft for k in kernels)
    losses = targets or any(k.soft for k in kernels)
    options = any(k.weighted or k.options for k in kernels)
    host = [HOST_HELPERS["_device_ok"], ROW_TILES] + ([HOST_HELPERS["_reduction"]] if losses else []) \
        + ([ROW_HOST] if targets else []) + ([PLAIN_HOST] if plain else []) \
        + [HOST_HELPERS["_registered"]] + ([COUNT_ROWS] if losses else []) + ([OPTION_HOST] if options else [])
    return assemble(kernels, source, regenerate,
                    ["One program per row (float32 accumulation; float64 for float64 logits; bfloat16/float16",
                     "logits upcast in registers). A row of up to ONE_READ_MAX columns is read once and kept",
                     "in registers; a longer one takes an online softmax pass, then the gradient pass."],
                    device + host + parts, preamble="\n")
