"""Row-wise kernels: softmax, log-softmax and softmax cross-entropy over (N, V) logits.

The formulas come from index-form derivations of one row: entries ``z[j]``, sums
``Σ_k e^{z_k}``, and for cross-entropy the correct class ``r`` (``C = −log p_r``). The
rows of a batch are independent, so a formula of one row is evaluated for all rows at
once: an entry ``z[j]`` is the whole (rows, V) block, a sum over the row is a reduction
over the last axis, ``z[r]`` picks one entry per row, and ``δ_jr`` (the one-hot target) is
a scatter into the gradient.

Row-wise stability rules (named and checked like the elementwise ones):

- ``log-softmax``: log(e^a/S) → a − log S, so no quotient of exponentials is formed;
- ``log-sum-exp``: log Σ_k e^{z_k} → m + log Σ_k e^{z_k − m} with m = max_k z_k (exact);
- ``max-shift``: e^{z_j} → e^{z_j − m} in a formula unchanged by shifting every z by the
  same amount (softmax and its gradients) — checked, for each formula, by evaluating
  both forms at a small size; the rule does not fire where the check fails;
- ``two-sum``: e^{z_j − m} → e^s·(1 + err) with s + err = z_j − m exactly (Knuth's TwoSum, the
  elementwise rule of the same name): fl(z_j − m) alone makes e^{z_j − m} off by |z_j − m|·ε/2
  relative (256 ULP at z_j − m = −707 in float64, 32 ULP at −88 in float32, as torch.softmax).
  A few additions per entry, no second pass over memory. Every use of e^{z_j − m} gets it:
  the numerators of softmax and of the gradients directly, and the row sum Σ_k e^{z_k − m},
  whose terms' errors would otherwise add up to (Σ_k |z_k − m|·e^{z_k − m}/Σ)·ε/2 (log V·ε/2
  in a long row). The z_j − m of log-softmax, z_j − m − log Σ, is not an exponential: its
  rounding is at most ε/2 of the result (|z_j − m| ≤ |z_j − m − log Σ|) and is left as is;
- ``log1p-sum``: log Σ_k e^{z_k − m} → log1p(Σ_k e^{z_k − m} − 1), the sum less one maximum's
  term (e^0 = 1) summed as such: Σ_k (e^{z_k − m} − [z_k = m]) + (#{k: z_k = m} − 1). Where one
  entry dominates, Σ = 1 + tiny and fl(Σ) keeps tiny only to ε absolute: log-softmax and the
  loss at the maximum were off by up to ε/tiny relative (10¹⁵ ULP, as torch's);
- ``entry-gap``: the loss lse − z_r as (m − z_r) + log Σ: two terms ≥ 0, no cancellation;
- ``sum-gap``: a loss weighing every entry, Σ_k a_k(lse − z_k) (label smoothing, soft targets), as
  Σ_k a_k(m − z_k) + log Σ·Σ_k a_k, not lse·Σ_k a_k − Σ_k a_k z_k (which cancels at large logits);
- ``class-gap``: the gradient at the class column, c·(p_r − 1), as c·(expm1(z_r − m) − (Σ − 1))/Σ, a value
  per row written over that column (RowKernel.at_class);
- ``scaled-gaps`` (a fallback, not a rewrite: :func:`scaled_loss`): a row loss whose gaps m − z_k pass the largest
  float (logits near ±max: m − z_k up to twice it, Σ_k a_k(m − z_k) up to 2V·max a_k times it) is +∞ or NaN where the
  exact loss, or the mean over rows, is finite; the rows whose loss came out so, with finite logits, are computed
  again times 2^-k from the gaps m·2^-k − z_k·2^-k (exact: a power of 2), in float64, and the reduction over rows
  sums them so;
- ``infinite-max``: the lse of a row holding +∞ is +∞, of a row of −∞ is −∞ (a select per row where the lse is the output),
  and its gradient there is e^{z_j − m}: 0 off the +∞ entries, as torch's.

The gradient of a loss that weighs every entry, p_j·Σ_k a_k − a_j (soft targets, label smoothing), cancels where
p_j·Σ_k a_k ≈ a_j: the roundings of e^{z_j − m}, of Σ and of the product come back times a_j/|p_j·Σ_k a_k − a_j|
(measured at one such entry, float64, a cancellation of 25: Σ's rounding 0.87 ULP, e^{z_j − m}'s 0.26, the
product's up to 0.5). A float32 kernel computes it in float64 and rounds once (RowKernel.widen); a float64 one
(NumPy) in double-word, e^{z_j − m}, Σ, a_j, Σ_k a_k and the products, rounded once (RowKernel.double_word:
0.7 ULP where it was 30; NumPy: about 6× the float64 gradient's CPU time); Triton float64 is still float64
(tests/test_rowwise9.py, a strict xfail).

After the shift every exponential is at most 1 and every sum at least 1: nothing
overflows, nothing divides by zero, and the sums accumulate in the logits' float type.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass

import sympy as sp

from ...derivation import Derivation
from ...errors import SymnetError
from ...indexed import derive_indexed
from ..ir import MAX_TEMPORARY, CodeName, _math_name
from sympy.codegen.cfunctions import expm1, log1p

from ...special import exp_twosum
from ..rewrite import Grouped, Rule, stabilise

__all__ = ["RowKernel", "rowmax", "weigh", "weigh_gap", "option_product", "row_kernel", "scaled_loss", "LOSS_DOWN", "times_down", "ROW_RULES", "stabilise_row", "row_modules", "split_sums",
           "softmax_cross_entropy_gradient",
           "OPTION_NAMES", "LABEL_SMOOTHING", "Z_LOSS_SCALE", "SOFTCAP"]

V = sp.Symbol("V", integer=True, positive=True)  # entries in a row (classes)
j, k = sp.symbols("j k", integer=True)
r = sp.Symbol("r", integer=True, nonnegative=True)  # the correct class of a row
z, g, p, l_ = sp.IndexedBase("z"), sp.IndexedBase("g"), sp.IndexedBase("p"), sp.IndexedBase("l")
w = sp.IndexedBase("w")  # class weights, one per column (w_j, w_r)
t = sp.IndexedBase("t")  # soft targets: a probability per entry, the shape of z
ROW = (0, V - 1)
# the scalar options of the cross-entropy family, by the argument name of the kernels
LABEL_SMOOTHING, Z_LOSS_SCALE, SOFTCAP = sp.symbols("ε λ s", positive=True)
OPTION_NAMES = {LABEL_SMOOTHING: "label_smoothing", Z_LOSS_SCALE: "z_loss_scale", SOFTCAP: "softcap"}


class rowmax(sp.Function):  # noqa: N801
    """m = max_k z_k, the largest entry of the row (z is an IndexedBase)."""

    nargs = 1

    def _symnet_text(self, printer):
        return "max_k %s_k" % printer._print(self.args[0])

    def _latex(self, printer, exp=None):
        body = r"\max_k %s_k" % printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


class sum_rest(sp.Function):  # noqa: N801
    """Σ_k e^{z_k − m} − 1 (the argument: that Sum), m = max_k z_k: the row sum without the term of one
    maximum entry, which is e^0 = 1 — summed as such, so nothing cancels (fl(Σ) − 1 keeps only the
    bits of Σ above 1). In the kernels it is ``rowsum_rest``."""

    nargs = 1

    @classmethod
    def eval(cls, s):
        if s.is_number:
            return s - 1

    def _eval_is_real(self):
        return True

    def _symnet_text(self, printer):
        return "(%s − 1)" % printer._print(self.args[0])


class rowsum_rest(sp.Function):  # noqa: N801
    """rowsum_rest(f_j, z_j, m) = Σ_j f_j − 1 for f_j = e^{z_j − m}, m = max_k z_k, summed without
    cancelling: Σ_{z_j < m} f_j + (#{j: z_j = m} − 1) (f_j = 1 at every maximum)."""

    nargs = 3

    def _symnet_text(self, printer):
        return "(Σ_j %s − 1)" % printer.parenthesize(self.args[0], 50)


def _sum(f):
    return sp.Sum(f, (k, *ROW))


def _lse_body(node):
    """log Σ_k e^{z_k} (any base) → m + log Σ_k e^{z_k − m}."""
    s = node.args[0]
    e = s.function
    base = e.args[0].base
    m = rowmax(base)
    return m + sp.log(sp.Sum(sp.exp(e.args[0] - m), *s.limits))


def _is_lse(node):
    return isinstance(node, sp.log) and isinstance(node.args[0], sp.Sum) \
        and isinstance(node.args[0].function, sp.exp) and isinstance(node.args[0].function.args[0], sp.Indexed)


def _log_softmax(e):
    return e.replace(lambda n: isinstance(n, sp.log) and n.args[0].is_Mul, lambda n: sp.expand_log(n, force=True))


def _log_sum_exp(e):
    return e.replace(_is_lse, _lse_body)


def _shift(e):
    """e^{z[x]} → e^{z[x] − m} for every plain exponential of an entry, if that is an identity."""
    plain = [a for a in e.atoms(sp.exp) if isinstance(a.args[0], sp.Indexed)]
    if not plain:
        return e
    shifted = e.xreplace({a: sp.exp(a.args[0] - rowmax(a.args[0].base)) for a in plain})
    return shifted if _same_at_small_size(e, shifted) else e


def _same_at_small_size(a, b, size: int = 3, points: int = 3) -> bool:
    """Both forms evaluated with V = 3 at random entries (m, r, j at several values)."""
    rng = random.Random(0)
    for _ in range(points):
        values = {}
        for base in {x.base for x in (a.atoms(sp.Indexed) | b.atoms(sp.Indexed))}:
            for q in range(size):
                values[base[q]] = sp.Float(rng.uniform(-2, 2), 30)
        ms = {m: sp.Float(rng.uniform(-3, 3), 30) for m in (a.atoms(rowmax) | b.atoms(rowmax))}
        ms.update({o: sp.Float(rng.uniform(0.1, 2), 30) for o in OPTION_NAMES})  # the options: any values
        for jj in range(size):
            at = {V: size, j: jj, r: rng.randrange(size)}
            va, vb = (x.xreplace(ms).subs(at).doit().xreplace(values).evalf(30) for x in (a, b))
            if not (va.is_number and vb.is_number) or abs(complex(va) - complex(vb)) > 1e-20 * (1 + abs(complex(va))):
                return False
    return True


def _is_shifted_exp(n) -> bool:
    """e^{z_x − m}, m = max_k z_k of the same row: the form the max-shift writes."""
    if not (isinstance(n, sp.exp) and n.args[0].is_Add and len(n.args[0].args) == 2):
        return False
    entry = [a for a in n.args[0].args if isinstance(a, sp.Indexed)]
    shift = [a for a in n.args[0].args if a.could_extract_minus_sign() and isinstance(-a, rowmax)]
    return len(entry) == 1 and len(shift) == 1 and (-shift[0]).args[0] == entry[0].base


def _two_sum(e):
    """e^{z_x − m} → exp_twosum(z_x, −m): e^s·(1 + err), s + err = z_x − m exactly."""
    return e.replace(_is_shifted_exp, lambda n: exp_twosum(*sorted(n.args[0].args, key=lambda a: isinstance(a, rowmax)
                                                                   or a.could_extract_minus_sign())))


def _is_lse_minus_entry(n) -> bool:
    """m + log Σ_k e^{z_k − m} − z_x (and other terms), m = max_k z_k, with m − z_x not yet grouped."""
    if not n.is_Add:
        return False
    ms = [a for a in n.args if isinstance(a, rowmax)]
    return bool(ms) and any(isinstance(a, sp.log) for a in n.args) and any(
        a.could_extract_minus_sign() and isinstance(-a, sp.Indexed) and (-a).base == ms[0].args[0] for a in n.args)


def _entry_gap(n):
    """… + m + log Σ − z_x → … + (m − z_x) + log Σ: the gap m − z_x ≥ 0 first, as one term."""
    (m,) = [a for a in n.args if isinstance(a, rowmax)][:1]
    entry = next(a for a in n.args if a.could_extract_minus_sign() and isinstance(-a, sp.Indexed)
                 and (-a).base == m.args[0])
    rest = [a for a in n.args if a is not m and a is not entry]
    return sp.Add(Grouped(m + entry), *rest)


def _group_gap(e):
    return e.replace(_is_lse_minus_entry, _entry_gap)


def _entry_sum(term):
    """c·Σ_k f_k·z_k (c free of k, z_k a factor of the summand) → (c, Σ_k f_k, z_k), else None."""
    for factor in sp.Mul.make_args(term):
        if isinstance(factor, sp.Sum) and len(factor.limits) == 1:
            var = factor.limits[0][0]
            inner = sp.Mul.make_args(factor.function)
            entry = [x for x in inner if isinstance(x, sp.Indexed) and x.indices == (var,) and x.base not in (w, t)]
            if len(entry) == 1:
                f = sp.Mul(*[x for x in inner if x is not entry[0]])
                return term / factor, sp.Sum(f, *factor.limits), entry[0]
    return None


def _sum_gap(e):
    """… + X·Σ_k f_k − Σ_k f_k z_k (X = m + log Σ, the lse) → … + Σ_k f_k·(m − z_k) + (X − m)·Σ_k f_k, for
    each such pair of terms of a sum (a coefficient c of both kept)."""
    def pairs(node):
        terms, out = list(node.args), []
        for term in node.args:
            found = _entry_sum(term) if term in terms else None
            if found is None:
                continue
            c, total, entry = found
            m = rowmax(entry.base)
            for other in terms:
                x = other / (-c * total)
                if other is not term and (x == m or (x.is_Add and m in x.args)):
                    terms.remove(term)
                    terms.remove(other)
                    (var, lo, hi), = total.limits
                    gap = sp.Sum(total.function * Grouped(m - entry), (var, lo, hi))
                    out.append(-c * (gap + (x - m) * total))
                    break
        return sp.Add(*terms, *out) if out else node
    return e.replace(lambda n: n.is_Add and any(isinstance(a, sp.Sum) or a.has(sp.Sum) for a in n.args), pairs)


def _is_log_of_shifted_sum(n) -> bool:
    return isinstance(n, sp.log) and isinstance(n.args[0], sp.Sum) \
        and isinstance(n.args[0].function, exp_twosum) and n.args[0].function.has(rowmax)


def _log1p_sum(e):
    """log Σ_k e^{z_k − m} → log1p(Σ_k e^{z_k − m} − 1), the sum less one maximum's term summed as such
    (row_kernel then writes the same sum elsewhere, 1/Σ of a gradient, as 1 + (Σ − 1): one sum, not two)."""
    return e.replace(_is_log_of_shifted_sum, lambda n: log1p(sum_rest(n.args[0])))


def _one_sum(stable: list) -> list:
    """Σ_j e^{z_j − m} → 1 + rowsum_rest(…) in every output of a kernel that has the latter: one row sum
    where there would be two of the same terms (1 + (Σ − 1) rounds as Σ does)."""
    rests = {n.args[0]: n for e in stable for n in e.atoms(rowsum_rest)}
    return [e.xreplace({rowsum(f): 1 + rest for f, rest in rests.items()}) for e in stable] if rests else stable


def _class_probability(term):
    """c·e^{z_r}/Σ_k e^{z_k} (c free of both) → (c, e^{z_r}, the sum), else None: a term of p_r, the
    probability of the row's class, in the gradient at its column."""
    factors = sp.Mul.make_args(term)
    top = [f for f in factors if isinstance(f, sp.exp) and isinstance(f.args[0], sp.Indexed)
           and f.args[0].indices == (r,)]
    if len(top) != 1:
        return None
    base = top[0].args[0].base
    sums = [f for f in factors if isinstance(f, sp.Pow) and f.exp == -1 and isinstance(f.base, sp.Sum)
            and f.base.function == sp.exp(base[f.base.limits[0][0]])]
    if len(sums) != 1:
        return None
    c = sp.Mul(*[f for f in factors if f is not top[0] and f is not sums[0]])
    return (c, top[0], sums[0].base) if not c.has(sp.exp, sp.Sum) else None


def _class_gap(e):
    """c·p_r − c → c·(e^{z_r − m} − Σ)/Σ = c·(expm1(z_r − m) − (Σ − 1))/Σ, Σ = Σ_k e^{z_k − m}, for each
    such pair of terms of the gradient at the class column (δ_jr = 1)."""
    if not e.is_Add:
        return e
    terms = list(e.args)
    out = []
    for term in e.args:
        found = _class_probability(term) if term in terms else None
        if found is None or -found[0] not in terms:
            continue
        c, top, total = found
        terms.remove(term)
        terms.remove(-c)
        (var, lo, hi), = total.limits
        entry = top.args[0]
        m = rowmax(entry.base)
        shifted = sp.Sum(sp.exp(entry.base[var] - m), (var, lo, hi))
        out.append(c * (expm1(entry - m) - sum_rest(shifted)) / shifted)
    return sp.Add(*terms, *out) if out else e


def _is_row_lse(e) -> bool:
    """The whole expression is m + log Σ_k e^{z_k − m} (or its log1p form): the output is the lse itself."""
    return e.is_Add and len(e.args) == 2 and any(isinstance(a, rowmax) for a in e.args) \
        and any(isinstance(a, (sp.log, log1p)) for a in e.args)


def _infinite_max(e):
    """m + log Σ_k e^{z_k − m} → m where m = ±∞ (the limits: a row holding +∞ has lse +∞, a row of −∞ only
    lse −∞ (log 0), as torch's; m − m there was NaN)."""
    if not _is_row_lse(e):
        return e
    m = next(a for a in e.args if isinstance(a, rowmax))
    return sp.Piecewise((m, sp.Eq(sp.Abs(m), sp.oo)), (e, True))


def _is_infinite_max_lse(e) -> bool:
    """The infinite-max rule's form of the lse: Piecewise((m, |m| = ∞), (m + log Σ, True))."""
    return isinstance(e, sp.Piecewise) and len(e.args) == 2 and isinstance(e.args[0].expr, rowmax) \
        and e.args[0].cond == sp.Eq(sp.Abs(e.args[0].expr), sp.oo)


def _is_shifted_probability(e) -> bool:
    """e^{z_j − m}/Σ_k e^{z_k − m} (the rules' form of p_j: exp_twosum over 1 + (Σ − 1), or over Σ)."""
    factors = sp.Mul.make_args(e)
    tops = [f for f in factors if isinstance(f, exp_twosum) and f.has(rowmax) and f.args[0] == z[j]]
    bottoms = [f for f in factors if isinstance(f, sp.Pow) and f.exp == -1 and (f.base.has(rowsum_rest)
                                                                                 or isinstance(f.base, rowsum))]
    return len(factors) == 2 and len(tops) == 1 and len(bottoms) == 1


def _lse_gradient_at_infinity(stable: list, outputs) -> list:
    """In a kernel whose output is the lse (the infinite-max rule fired there), its gradient p_j = e^{z_j − m}/Σ
    → e^{z_j − m} where m = +∞: 0 off the row's +∞ entries and NaN at them, torch's exp(z_j − lse) (Σ is NaN
    there, so the quotient would be NaN everywhere). The limit at a single +∞ entry is 1; it is left NaN, as
    torch's and as the softmax of such a row. softmax's own p_j (no lse output) stays NaN, as torch's."""
    if not any(o[3] and _is_infinite_max_lse(s) for o, s in zip(outputs, stable)):
        return stable
    m = rowmax(z)
    return [sp.Piecewise((sp.exp(z[j] - m), sp.Eq(m, sp.oo)), (s, True))
            if not o[3] and _is_shifted_probability(s) else s for o, s in zip(outputs, stable)]


ROW_RULES: tuple[Rule, ...] = (
    Rule("class-gap", "at the row's class the gradient holds c·(p_r − 1) (the one-hot term against c·p_r), which "
         "cancels where p_r ≈ 1, a confident row: fl(p_r) keeps 1 − p_r only to ε absolute (10¹⁵ ULP in float64, "
         "as torch); p_r − 1 = (e^{z_r − m} − Σ)/Σ = (expm1(z_r − m) − (Σ − 1))/Σ with Σ − 1 the sum less one "
         "maximum's term: two terms ≤ 0, no cancellation. A value per row, written over the gradient's column r "
         "(no second pass over the row)", _class_gap, lambda old, new: new != old),
    Rule("log-softmax", "log(e^a/Σ e^z) forms a quotient of exponentials that overflows; "
         "a − log Σ e^z does not", _log_softmax, lambda old, new: new != old),
    Rule("log-sum-exp", "Σ_k e^{z_k} overflows for z_k > 88 in float32 (709 in float64); "
         "m + log Σ_k e^{z_k − m}, m = max_k z_k, sums terms in (0, 1]", _log_sum_exp,
         lambda old, new: new != old),
    Rule("max-shift", "softmax is unchanged when every z_k moves by the same amount: with "
         "e^{z_j − m} every exponential is ≤ 1 and the sum Σ_k e^{z_k − m} ≥ 1", _shift,
         lambda old, new: new != old),
    Rule("entry-gap", "lse − z_r = (m − z_r) + log Σ_k e^{z_k − m}: both terms ≥ 0, so they add without "
         "cancelling; (m + log Σ) − z_r loses the small loss of a confident row at large logits (the rounding "
         "of m + log Σ, ulp(m), against a loss ≪ m: 48 ULP in float64 where torch's (z_r − m) − log Σ has 0.4)",
         _group_gap, lambda old, new: new != old),
    Rule("sum-gap", "a loss that weighs every entry (label smoothing (ε/V)Σ_k w_k(lse − z_k), soft targets "
         "Σ_k a_k(lse − z_k)) written lse·Σ_k a_k − Σ_k a_k z_k cancels at large logits: both terms are ≈ m·Σ_k a_k "
         "and their rounding, ulp(m·Σ_k a_k), swamps a small loss (float64 at logits near ±600: 23 ULP, 58 with class "
         "weights, 231 with soft targets, where torch's Σ_k a_k·(lse − z_k) has about 1); Σ_k a_k(m − z_k) + log Σ_k e^{z_k − m}·Σ_k a_k adds terms ≥ 0 "
         "(a_k ≥ 0), no cancellation. One more subtraction per entry; a long row read in tiles adds (m' − m)·Σ a_k "
         "so far when its running maximum grows from m to m'", _sum_gap, lambda old, new: new != old),
    Rule("two-sum", "e^{z_j − m} turns the rounding of z_j − m into a relative error of up to |z_j − m|·ε/2 "
         "(256 ULP at z = [709, 1.72] in float64, 32 at [88, 0.3] in float32); with s + err = z_j − m exactly "
         "(Knuth's TwoSum: additions only, exact under FMA contraction too), e^s·(1 + err) is exact to first order "
         "in err, in the numerators and in the terms of Σ_k e^{z_k − m}", _two_sum, lambda old, new: new != old),
    Rule("log1p-sum", "log Σ_k e^{z_k − m} is log(1 + tiny) when one entry dominates the row: fl(Σ) keeps tiny "
         "only to ε absolute, so log-softmax and the loss at the row's maximum (and logsumexp near 0) are off "
         "by up to ε/tiny relative (10¹⁵ ULP in float64, as torch); log1p(Σ − 1) with Σ − 1 summed as the terms "
         "below the maximum plus (the entries at it − 1) keeps them to a few ULP", _log1p_sum,
         lambda old, new: new != old),
    Rule("infinite-max", "a row holding +∞ has m = +∞, and e^{z_k − m} at it is e^{∞ − ∞} = NaN, so m + log Σ_k "
         "e^{z_k − m} is NaN where the logsumexp is +∞ (torch's answer); the lse is written m where m = ±∞ (a select "
         "per row, where the lse itself is the output: +∞, and −∞ for a row of −∞, as torch's; softmax, log-softmax "
         "and the loss of such a row stay NaN, as torch's). In a kernel that outputs the lse, its gradient "
         "e^{z_j − m}/Σ is written e^{z_j − m} where m = +∞: 0 off the +∞ entries, NaN at them (torch's exp(z_j − lse); "
         "the limit at a single +∞ entry, 1, is left NaN as torch and the softmax of such a row leave it)", _infinite_max, lambda old, new: new != old),
)


def stabilise_row(expr: sp.Expr) -> tuple[sp.Expr, tuple[Rule, ...]]:
    return stabilise(expr, ROW_RULES)


class gated(sp.Function):  # noqa: N801
    """gated(a, x) = a·x, and 0 where the option a is 0 even if x is infinite: a term of an
    option that is off is not computed (torch skips it: label smoothing 0 with a −∞ logit
    leaves the loss finite, where 0·∞ would be NaN)."""

    nargs = 2

    def _symnet_text(self, printer):
        return "%s·%s" % (printer._print(self.args[0]), printer.parenthesize(self.args[1], 50))


def _gate_options(e: sp.Expr) -> sp.Expr:
    """The terms a·x with a an option and x holding a row sum or an entry → gated(a, Σ x): not
    computed at all when the option is 0 (no NaN from 0·∞, and no work for an option left off). A term
    X beside −a·X is (1 − a)·X, not gated: X + a·(Y − X) would be ∞ − ∞ = NaN where X and Y overflow
    (soft targets with label smoothing at logits ±1e308: torch's loss is +∞)."""
    terms, of_option = [], {}
    for term in sp.Add.make_args(e):
        factors = sp.Mul.make_args(term)
        option = next((f for f in factors if f in OPTION_NAMES), None)
        if option is not None and (term.has(rowsum) or any(x.indices == (j,) for x in term.atoms(sp.Indexed))):
            of_option.setdefault(option, []).append(sp.Mul(*[f for f in factors if f is not option]))
        else:
            terms.append(term)
    for o, rest in of_option.items():  # X − a·X → (1 − a)·X: X + a·(Y − X) is ∞ − ∞ where X and Y overflow
        parts = [x for y in rest  # each term as it is, or its terms where it is a·(… − X …)
                 for x in ((y,) if -y in terms else sp.Add.make_args(sp.expand_mul(y, deep=False)))]
        if not any(-x in terms for x in parts):
            continue
        rest[:] = []
        for x in parts:
            if -x in terms:
                terms.remove(-x)
                terms.append((1 - o) * -x)
            else:
                rest.append(x)
    return sp.Add(*terms, *(gated(o, sp.Add(*rest)) for o, rest in of_option.items() if rest))


def _join_option_terms(e: sp.Expr) -> sp.Expr:
    """Each term a·y of an option a beside gated(a, x) → gated(a, x + y): the value at the class column holds
    ε·p_r·Σ_k w_k/V and −ε·w_r/V, which cancel where p_r·Σ_k w_k ≈ w_r (a row of width 1: p_r = 1); added one
    after the other around the z-loss's 2λ·lse·p_r they left that term with the rounding of ε/V (120 ULP in
    float64 at width 1 with ε = 0.1, λ = 1e-4, where the exact difference is 0 and torch's 1)."""
    terms = list(sp.Add.make_args(e))
    gates = {a.args[0]: a for a in terms if isinstance(a, gated)}
    joined = {}
    for term in list(terms):
        option = next((f for f in sp.Mul.make_args(term) if f in gates), None)
        if option is not None and not isinstance(term, gated):
            terms.remove(term)
            joined.setdefault(option, []).append(term / option)
    if not joined:
        return e
    for o, more in joined.items():
        terms.remove(gates[o])
        terms.append(gated(o, sp.Add(gates[o].args[1], *more)))
    return sp.Add(*terms)


class weigh(sp.Function):  # noqa: N801
    """weigh(h, x) = h·x, and 0 where the weight h is 0 even if x is infinite: the limit of t·(lse − z) as
    t → 0 (as x·log x → 0 at 0). A term Σ_k h_k(m − z_k) of the sum-gap rule with z_k = −∞ and h_k = 0 (a soft
    target 0, a class weight 0) is then 0, not 0·∞ = NaN (torch's answer: symnet differs here on purpose; the loss
    is finite, its gradient there 0)."""

    nargs = 2

    def _symnet_text(self, printer):
        return "%s·%s" % (printer.parenthesize(self.args[0], 50), printer.parenthesize(self.args[1], 50))


class weigh_gap(weigh):  # noqa: N801
    """weigh(h, x), and 0 where the gap x is 0 even if h is infinite: t·(lse − z) at the row's maximum m is
    t·(m − z) + t·log Σ_k e^{z_k − m}, and the second term (Σ_k h_k times the log, a sum of its own) holds the limit,
    +∞ for a soft target t = +∞ (torch's too), where ∞·0 = NaN in the first made the loss NaN (cross_entropy(z,
    [[inf, 0, 0]]) at z = (1.541, −0.293, −2.179), session 34). The scaled-gaps fallback's form (:func:`_times_down`),
    which runs for the rows whose loss is NaN or infinite: the block's own sums keep weigh's one select per entry."""


def _weighed_gaps(e: sp.Expr) -> sp.Expr:
    """Σ_j h_j·(m − z_j) (the sum-gap rule's, a row sum) with h_j holding a soft target t_j → Σ_j weigh(h_j, m − z_j):
    0 where h_j = 0 (one select per entry, in the soft-target loss only)."""
    def one(node):
        factors = sp.Mul.make_args(node.args[0])
        gaps = [f for f in factors if isinstance(f, Grouped) and f.args[0].is_Add and any(
            isinstance(a, rowmax) for a in f.args[0].args)]
        if len(gaps) != 1:
            return node
        h = sp.Mul(*[f for f in factors if f is not gaps[0]])
        # a soft target's weight h; class weights alone stay as torch's (0·∞ = NaN at w_k = 0, z_k = −∞)
        return rowsum(weigh(h, gaps[0])) if h.has(t) else node
    return e.replace(lambda n: isinstance(n, rowsum), one)


def option_product(factor: str, rest: sp.Expr, printer) -> str:
    """The text of factor·rest for a term of an option (``gated``): λ·x² as (λ·x)·x, so that x² is never
    formed alone: the z-loss λ·lse² of float32 logits at ±1e20 is 1e36 (λ = 1e-4), where lse² overflows.
    (λ·x)·x overflows only where the result does, and underflows only where λ itself is not normal. The
    scaled-gaps fallback's λ·(2^-k·x²) likewise as (λ·x)·(2^-k·x): x² alone overflows past x = 1.3e154 (float64),
    where λ·x²·2^-k is finite for λ < 2^k·1.8e308/x² (Triton's value kernel at logits [1e155, −1e308, −1e308],
    ε = 0.1, λ = 1e-4 gave +∞ for an exact loss of 7.7e306)."""
    scale, square = sp.S.One, rest
    if rest.is_Mul and len(rest.args) == 2:
        scale, square = sorted(rest.args, key=lambda a: isinstance(a, sp.Pow))
        if not (scale == LOSS_DOWN and isinstance(square, sp.Pow)):
            scale, square = sp.S.One, rest
    if isinstance(square, sp.Pow) and square.exp == 2:
        x = printer.parenthesize(square.base, 50)
        return f"({factor} * {x}) * ({printer._print(scale)} * {x})" if scale != 1 else f"({factor} * {x}) * {x}"
    return f"{factor} * {printer.parenthesize(rest, 50)}"


def _gate_option_terms(e: sp.Expr) -> sp.Expr:
    return _gate_options(e) if any(e.has(o) for o in OPTION_NAMES) else e


# the scale 2^-k of the scaled-gaps fallback, a value of the call (the kernels' _down): 2^-k·2V·max(1, max_k |w_k|) ≤ 1
LOSS_DOWN = sp.Symbol("_down", positive=True)


def _carries(e: sp.Expr, more: tuple = ()) -> bool:
    """e holds the row's magnitude: the maximum m (in a gap m − z_x or in the lse) or log Σ_k e^{z_k − m}
    (``more``: other atoms that stand for m, as a backend's symbol of it)."""
    return e.has(rowmax) or e.has(log1p) or any(e.has(x) for x in more)


def _times_down(e: sp.Expr, s: sp.Expr, more: tuple = ()) -> sp.Expr:
    """e·s with s put on the factors that carry the row's magnitude: a gap m − z_x → m·s − z_x·s, m → m·s,
    log Σ_k e^{z_k − m} → s·log Σ, through sums, products, row sums and the weigh/gated of a term; the z-loss
    λ·lse² → gated(λ, s·lse²), which the backends print (λ·lse)·(s·lse). ``more``: atoms that stand for m.
    Raises SymnetError on another form."""
    if not _carries(e, more):
        return s * e
    if isinstance(e, Grouped):
        return Grouped(sp.Add(*[s * a for a in sp.Add.make_args(e.args[0])]))
    if isinstance(e, (log1p, rowmax)) or e in more:
        return s * e
    if e.is_Add:
        return sp.Add(*[_times_down(a, s, more) for a in e.args])
    if e.is_Mul:
        big = [f for f in e.args if _carries(f, more)]
        if len(big) != 1:
            raise SymnetError(f"scaled-gaps: a product of more than one row magnitude, {e}")
        return sp.Mul(*[(_times_down(f, s, more) if f is big[0] else f) for f in e.args])
    if isinstance(e, gated) and isinstance(e.args[1], sp.Pow) and e.args[1].exp == 2:
        return gated(e.args[0], s * e.args[1])
    if isinstance(e, (rowsum, weigh, gated)):  # (weigh as weigh_gap: 0 at a gap of 0 too)
        func = weigh_gap if isinstance(e, weigh) else e.func
        return func(*[(_times_down(a, s, more) if _carries(a, more) else a) for a in e.args])
    raise SymnetError(f"scaled-gaps: no scaled form of {type(e).__name__} {e}")


times_down = _times_down  # the scaled-gaps form of a loss the backend has rewritten (Triton: m a symbol of its own)


def scaled_loss(kernel: "RowKernel", output: int) -> tuple[tuple, sp.Expr]:
    """The scaled-gaps fallback of a row loss (the kernel's output number ``output``, one value per row): its
    formula times ``LOSS_DOWN`` = 2^-k, every gap m − z_x written m·2^-k − z_x·2^-k, as (assignments, result),
    temporaries named by their math. The row's temporaries are written in again from z (the backends evaluate it
    for the few rows whose loss overflowed, after the block's own outputs): nothing in it passes the largest
    float where ``LOSS_DOWN``·2V·max(1, max_k |w_k|) ≤ 1 and the logits are finite, since |m − z_k| ≤ 2·max.
    The scaling is exact but where a scaled term falls below the smallest normal (2^-1022·2^k), ≪ ulp of a loss
    whose gaps overflowed."""
    full = {}
    for temp, e in kernel.assignments:
        full[temp] = e.xreplace(full)
    loss = _times_down(kernel.results[output].xreplace(full), LOSS_DOWN)
    temps = sp.numbered_symbols("t", start=0)
    assignments, (result,) = sp.cse([loss], symbols=temps, order="none")
    assignments, (result,) = _named_by_math(list(assignments), [result])
    rename = {}  # x·2^-k of a temporary x: x_down
    for temp, e in assignments:
        rest = e / LOSS_DOWN
        if e.is_Mul and LOSS_DOWN in e.args and rest in dict(assignments):
            rename[temp] = CodeName(f"{rest}_down")
    assignments = [(rename.get(a, a), e.xreplace(rename)) for a, e in assignments]
    return tuple(assignments), result.xreplace(rename)


class rowsum(sp.Function):  # noqa: N801
    """Σ_j f_j over the whole row, with the entry index j implied: the array form of a sum."""

    nargs = 1

    def _symnet_text(self, printer):
        return "Σ_j %s" % printer.parenthesize(self.args[0], 50)


def _canonical(e: sp.Expr) -> sp.Expr:
    """Every row sum over the entry index j, so that e^{z_j − m} inside and outside a sum
    are one subexpression: in array form both are the whole row."""
    for s in e.atoms(sp.Sum):
        ((var, lo, hi),) = s.limits
        if lo != 0 or hi != V - 1:
            raise SymnetError(f"a row sum runs over the whole row, not {var} = {lo} … {hi}")
    def rest(n):  # Σ_k e^{z_k − m} − 1 → rowsum_rest(e^{z_j − m}, z_j, m)
        ((var, _, _),) = n.args[0].limits
        f = n.args[0].function.xreplace({var: j})
        entry = next(a for a in f.args if isinstance(a, sp.Indexed))
        return rowsum_rest(f, entry, rowmax(entry.base))
    e = e.replace(lambda n: isinstance(n, sum_rest), rest)
    return e.replace(lambda n: isinstance(n, sp.Sum), lambda n: rowsum(n.function.xreplace({n.limits[0][0]: j})))


@dataclass(frozen=True)
class RowOutput:
    name: str
    expr: sp.Expr  # as derived (before the rules), for comments and verification
    meaning: str
    per_row: bool  # one value per row (a loss) rather than one per entry


@dataclass(frozen=True)
class RowKernel:
    name: str
    formula: str
    target: bool  # takes the class index r of each row
    upstream: bool  # takes the upstream gradient g (same shape as z)
    outputs: tuple[RowOutput, ...]
    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]
    results: tuple[sp.Expr, ...]
    scatter: tuple[sp.Expr, ...]  # per output: the coefficient of δ_jr, subtracted at column r
    rules: tuple[Rule, ...]
    weighted: bool = False  # reads class weights w (w_j, w_r)
    soft: bool = False  # reads soft targets t (the shape of z)
    options: tuple[sp.Symbol, ...] = ()  # scalar options read by the formulas (OPTION_NAMES)
    # softcap: the entries the formulas call z are c_j = cap (of the raw logits z_j), and
    # each per-entry output (a gradient) is multiplied by chain = ∂c_j/∂z_j written in the raw z_j
    # (evaluated before the cap: the sech² form, which 1 − c_j²/s² is not once tanh rounds to 1)
    cap: sp.Expr | None = None
    chain: sp.Expr | None = None
    divisor: str = "count"  # the mean's divisor: "count" (rows not ignored), "weight" (Σ w_r), "rows"
    # per output: its value at the class column r as a value of the row (the class-gap rule), written
    # over that column in place of the one-hot term's addition, or None; and the temporaries it
    # needs beyond ``assignments`` (values of the row, printed after them)
    at_class: tuple[sp.Expr | None, ...] = ()
    class_assignments: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    # the gradient of a loss that weighs every entry (the sum-gap rule fired) is p_j·Σ_k a_k − a_j, which
    # cancels where p_j·Σ_k a_k ≈ a_j: every rounding of p_j (its exponential, the row sum Σ, the quotient)
    # and of the product comes back times a_j/|p_j·Σ_k a_k − a_j|. A kernel of float32 logits then computes
    # the block in float64 and rounds each output once (bfloat16/float16 logits stay in float32, 16 bits above
    # their own): "always" (soft targets; the vector-Jacobian products of softmax and log-softmax with an
    # upstream g, which cancel likewise: _upstream_cancels), or a condition on the options, Python text both
    # backends print ("label_smoothing != 0 or softcap is not None": class indices; the same for a loss alone,
    # whose gaps m − z_k overflow in float32, and a softcap's c_k − c_r; see _widen_when), or None
    widen: str | None = None
    # where widen is set and the gradient is p_j·Σ_k a_k − a_j with a_k = w_k((1 − ε)t_k + ε/V) (checked at
    # V = 3: _target_gradient_kind), float64 logits compute it in double-word and round once (NumPy): "soft"
    # (t the soft targets) or "hard" (t the one-hot of the classes r); likewise "softmax" and "log_softmax",
    # their vector-Jacobian products with g (_vjp_kind); else None
    double_word: str | None = None


def split_sums(e: sp.Expr) -> sp.Expr:
    """Each row sum of a sum as a sum of row sums, factors free of the summation index
    taken outside: Σ_k w_k (L − z_k) → L·Σ_k w_k − Σ_k w_k z_k (L a row value). A sum
    whose terms are all free of the index is its count times them."""
    def split(node):
        ((var, lo, hi),) = node.limits
        total = sp.S.Zero
        for term in sp.Add.make_args(sp.expand_mul(node.function)):
            inside = [f for f in sp.Mul.make_args(term) if f.has(var)]
            outside = sp.Mul(*[f for f in sp.Mul.make_args(term) if not f.has(var)])
            total += outside * (sp.Sum(sp.Mul(*inside), (var, lo, hi)) if inside else hi - lo + 1)
        return total
    return e.replace(lambda n: isinstance(n, sp.Sum) and len(n.limits) == 1, split)


_MATH_NAMES = (  # a CSE temporary named by what it is (first match)
    ("row_max", lambda e: isinstance(e, rowmax)),
    ("sum_exp", lambda e: isinstance(e, rowsum) and isinstance(e.args[0], (sp.exp, exp_twosum))),
    ("inv_sum", lambda e: isinstance(e, sp.Pow) and e.exp == -1 and isinstance(e.base, rowsum)),
    ("sum_rest", lambda e: isinstance(e, rowsum_rest)),
    ("sum_exp", lambda e: e.is_Add and len(e.args) == 2 and sp.S.One in e.args
     and any(isinstance(a, rowsum_rest) for a in e.args)),  # Σ_j e^{z_j − m} = 1 + (Σ − 1)
    ("inv_sum", lambda e: isinstance(e, sp.Pow) and e.exp == -1 and e.base.is_Add and e.base.has(rowsum_rest)),
    ("log_sum_exp", lambda e: isinstance(e, (sp.log, log1p)) and isinstance(e.args[0], (rowsum, rowsum_rest))),
    ("lse", lambda e: e.is_Add and any(isinstance(a, rowmax) for a in e.args)
     and any(isinstance(a, (sp.log, log1p)) for a in e.args)),
    ("exp_shifted", lambda e: isinstance(e, (sp.exp, exp_twosum)) and e.has(rowmax)),
    ("p_r_minus_1", lambda e: e.has(expm1) and not e.has(w)),  # the class-gap rule's (p_r − 1)
    ("wr_p_r_minus_1", lambda e: e.has(expm1) and e.has(w[r])),
    ("prob_r", lambda e: e.is_Mul and any(isinstance(a, exp_twosum) and a.has(z[r]) for a in e.args)
     and any(isinstance(a, sp.Pow) and a.exp == -1 and a.base.has(rowsum_rest) for a in e.args)),
    ("prob", lambda e: e.is_Mul and len(e.args) == 2 and any(isinstance(a, (sp.exp, exp_twosum)) for a in e.args)
     and any(isinstance(a, sp.Pow) and a.exp == -1 and (isinstance(a.base, rowsum) or a.base.has(rowsum_rest))
             for a in e.args)),
    ("m_minus_z", lambda e: _gap(e) and not e.has(LOSS_DOWN)),  # m − z_j, also grouped (its low part taken back)
    ("m_minus_z_down", lambda e: _gap(e) and e.has(LOSS_DOWN)),  # the scaled-gaps fallback's m·2^−k − z_j·2^−k
)


def _gap(e) -> bool:
    """``e`` is the gap m − z_j (or m·2^−k − z_j·2^−k), possibly grouped."""
    if isinstance(e, sp.UnevaluatedExpr):
        e = e.args[0]
    return e.is_Add and len(e.args) == 2 and any(a.has(rowmax) for a in e.args) and not e.has(rowsum)


# Names the row skeletons of both backends use (NumPy's and Triton's loops, pointers, masks,
# row sums s0, s1, …): a temporary named by its math never takes one of them.
ROW_SKELETON_NAMES = frozenset("""
    bits exc ptr down q_down log_sum_exp_down row_max_down scaled down_s0 down_s1 big_hi c_hi div_hi div_lo divisor_lo done_ptr
    loss_lo loss_lo_ptr lows_ptr lse_hi more_hi out_hi parts parts_ptr plain program sum_hi cast past
    BLOCK_V CAP F64 MEAN N ONE_READ ONE_READ_MAX R REDUCE SUM_BLOCK TILE V Vf a acc at back bad block
    bounds chain_j check cls cols count count_ptr ctx divisor divisor_ptr done dtype dz dz_ptr dz_row dz_stride
    e f64 first g g_next g_ptr g_row g_stride gj grads hi idx ignore_index ignored inplace inputs inv_sum_exp k keep
    l l_ptr l_row l_stride label_smoothing last lo logits loss loss_ptr lse_ptr m m_new n n_values name
    namespace near np off op opt opt_ptr os others out out_ptr output outside p p_ptr p_row p_stride r
    r_ptr reach reduce reduction result row row_scale rows s shape share shares shift size softcap span
    stride t t_ptr t_row t_stride target tensor tj tl torch total triton valid value values_ptr w w_ptr
    w_r weight what width wj work x z z_loss_scale z_next z_ptr z_r z_row z_stride zj
    b u y n_at_max inv0 inv1 inv2 inv3 dz_at_r wide half top scales losses
    a_hi a_lo b_hi b_lo bound c d d_lo e_lo eg eg_lo eps err exact gg h i ki mm ok one p1 p2 part poly q q1 q2
    r1 r2 r_lo ratio rest rest_lo s_lo scale sigma softmax step t_hi t_lo table_hi table_lo total_lo tt u_lo v v_lo
    x_lo y_lo zz
    c_lo m_lo m_lo_new shift_lo top_lo zj_lo z_r_lo zj_cap zj_cap_lo z_r_cap z_r_cap_lo
    j low high
    big big_lo chain gap_lo lse_lo lse_scale more more_lo n_lo p_lo q_lo qd qd_lo sech2 small sum_lo x2
    d_hi e_hi far k_ln2_hi k_ln2_lo m_hi neg p_hi q_hi r_hi s_hi second tiny v_hi x_hi y_hi
    DW EXACT dw dw_a_hi dw_a_lo dw_c dw_d_hi dw_d_lo dw_g_c dw_r_hi dw_r_lo dw_s_hi dw_s_lo dw_tile_a_hi dw_tile_a_lo
    dw_tile_d_hi dw_tile_d_lo dw_tile_r_hi dw_tile_r_lo dw_tile_s_hi dw_tile_s_lo dw_total_hi dw_total_lo dw_up
    dw_value biased big d_hi e_hi eg_hi f_hi f_lo g_c k_ln2_hi k_ln2_lo none one_hi one_lo p_hi p_lo q_lo r_hi
    s_hi second share_hi share_lo total_hi v_hi x_hi y_hi
""".split())  # (b, u, y: the TwoSum and log1p helpers' locals; inv0 …: hoisted reciprocals of row sums;
# dz_at_r: the gradient at the row's class, the class-gap rule's; wide: RowKernel.widen's launcher flag;
# half, top, scales: the locals of _mean_weights, the weighted mean's 2^k; losses (and total): _row_total's;
# a_hi … zz: the double-word helpers' locals, RowKernel.double_word; c_lo … y_hi: a softcap's double-word c, the
# locals of _row_dw_softcap, _row_softcap_dw and the doubleword primitives they call; DW, dw_… and the rest:
# Triton's double-word path and the doubleword primitives' locals)
_ROW_SUM = re.compile(r"s\d+")
# the words of a row formula's leaves in a temporary's name (z_r, w_r: the entry at the class r)
_ROW_WORDS = {z[j]: "z", w[j]: "w", t[j]: "t", g[j]: "g", z[r]: "zr", w[r]: "wr", V: "V",
              LABEL_SMOOTHING: "eps", Z_LOSS_SCALE: "lam", SOFTCAP: "cap"}


def _row_name(e: sp.Expr, known: dict) -> str | None:
    """A name from the structure of a row formula: a row sum Σ_j f_j is sum_f, the rest as an
    elementwise temporary is named (codegen/ir.py)."""
    words = dict(known)
    for s_ in e.atoms(rowsum):
        inner = _math_name(s_.args[0], {**_ROW_WORDS, **known})
        if inner is not None:
            words[s_] = f"sum_{inner}"
    name = _math_name(e, {**_ROW_WORDS, **words})
    return name if name is not None and len(name) <= MAX_TEMPORARY else None


def _named_by_math(assignments, results) -> tuple:
    """The CSE temporaries renamed by their math: row_max, lse, inv_sum … where the table has
    a name, else from the formula's structure (sum_w, inv_V, prob_times_wr), else a numbered
    name by its kind (sum_1); never a name of the row skeletons."""
    rename, taken, full, known, counts = {}, set(), {}, {}, {}
    for temp, expr in assignments:
        full[temp] = expr.xreplace(full)  # in z alone: what the tests read
        name = next((n for n, test in _MATH_NAMES if test(full[temp])), None)
        if name is None or name in taken:
            name = _row_name(expr, known)
        if name is None or name in taken or name in ROW_SKELETON_NAMES or _ROW_SUM.fullmatch(name):
            word = "sum" if expr.is_Add else "prod" if expr.is_Mul else "value"
            while name is None or name in taken or name in ROW_SKELETON_NAMES:
                counts[word] = counts.get(word, 0) + 1
                name = f"{word}_{counts[word]}"
        taken.add(name)
        rename[temp] = CodeName(name)
        known[temp] = name
    return ([(rename.get(a, a), e.xreplace(rename)) for a, e in assignments],
            [e.xreplace(rename) for e in results])


def row_kernel(name: str, formula: str, outputs: list[tuple[str, sp.Expr, str, bool]], *,
               cap: sp.Expr | None = None, chain: sp.Expr | None = None, divisor: str = "count") -> RowKernel:
    """Describe a row-wise kernel from its outputs written in z (and g, r, w, t and the options).

    ``cap``/``chain``: the softcap, c_j = cap(z_j), and ∂c_j/∂z_j written in the raw z_j (the
    outputs are then written in c, called z; the chain is evaluated before the cap); ``divisor``: the mean's (see RowKernel)."""
    stable, scatter, fired, at_class = [], [], [], []
    for _, expr, _, _ in outputs:
        expr = split_sums(expr)
        expr = sp.expand(expr) if expr.has(sp.KroneckerDelta) else expr
        delta = sp.KroneckerDelta(j, r)
        coeff = expr.coeff(delta) if expr.has(delta) else sp.S.Zero
        rest = sp.expand(expr - coeff * delta) if coeff != 0 else expr
        coeff = coeff.xreplace({j: r})  # δ_jr·f(j) = δ_jr·f(r): a value of the row
        if rest.has(sp.KroneckerDelta) or coeff.has(sp.KroneckerDelta):
            raise SymnetError(f"{name}: only a one-hot term δ_jr·(row value) can be generated, not {expr}")
        s, rules = stabilise_row(rest)
        s = _canonical(sp.factor_terms(s))
        s = _weighed_gaps(_gate_option_terms(s))
        stable.append(s)
        scatter.append(coeff)
        fired += [q for q in rules if q not in fired]
        at = None
        if coeff != 0:  # the value at the class column, δ_jr = 1: where the class-gap rule has work there
            x, rules = stabilise_row(sp.expand(rest.xreplace({j: r}) + coeff))
            if any(q.name == "class-gap" for q in rules):
                at = _join_option_terms(_gate_option_terms(_canonical(sp.factor_terms(x))))
                fired += [q for q in rules if q not in fired]
        at_class.append(at)
    stable = _lse_gradient_at_infinity(stable, outputs)
    at_exprs = [a for a in at_class if a is not None]
    both = _one_sum(stable + at_exprs)
    stable, at_exprs = both[:len(stable)], both[len(stable):]
    temps = sp.numbered_symbols("t", start=0)
    assignments, results = sp.cse(stable, symbols=temps, order="none")
    class_assignments = []
    if at_exprs:  # the row values of the outputs written as they are, then what the values at r add to them
        full = {}
        for temp, e in assignments:
            full[temp] = e.xreplace(full)
        known = {e: temp for temp, e in reversed(list(full.items()))}
        at_exprs = [a.xreplace(known) for a in at_exprs]
        more = sp.numbered_symbols("u", start=0)
        class_assignments, at_exprs = sp.cse(at_exprs, symbols=more, order="none")
    n_plain, n_results = len(assignments), len(results)
    assignments, results = _named_by_math(list(assignments) + list(class_assignments), list(results) + at_exprs)
    assignments, class_assignments = assignments[:n_plain], assignments[n_plain:]
    results, at_exprs = results[:n_results], iter(results[n_results:])
    at_class = [None if a is None else next(at_exprs) for a in at_class]
    outs = tuple(RowOutput(n, e, m, per_row) for n, e, m, per_row in outputs)
    every = [e for _, e, _, _ in outputs] + ([cap, chain] if cap is not None else [])
    options = tuple(o for o in OPTION_NAMES if any(e.has(o) for e in every))
    return RowKernel(name, formula, any(e.has(r) for _, e, _, _ in outputs), any(e.has(g) for _, e, _, _ in outputs),
                     outs, tuple(assignments), tuple(results), tuple(scatter), tuple(fired),
                     weighted=any(e.has(w) for _, e, _, _ in outputs), soft=any(e.has(t) for _, e, _, _ in outputs),
                     options=options, cap=cap, chain=chain, divisor=divisor,
                     at_class=tuple(at_class), class_assignments=tuple(class_assignments),
                     widen=_widen_when(outputs, fired, options),
                     double_word=_target_gradient_kind(outputs, _widen_when(outputs, fired, options)))


def _widen_when(outputs, fired, options) -> str | None:
    """RowKernel.widen: "always", or a condition on the options (Python, both backends) under which a kernel
    of float32 logits computes in float64, or None:

    - a vector-Jacobian product with an upstream gradient g (always: _upstream_cancels);
    - a gradient beside a loss the sum-gap rule rewrote: p_j·Σ_k a_k − a_j cancels (soft targets: always;
      class indices: where label smoothing is on, the only a_j of the gradient then);
    - a loss the sum-gap rule rewrote, alone too: Σ_k a_k(m − z_k) forms gaps m − z_k that overflow in float32
      where the row's logits span more than 3.4e38 ([3e38, −3e38, 0]) while the loss (ε/V)Σ_k(lse − z_k) is
      finite;
    - a softcap: c_k − c_r of c = s·tanh(z/s) keeps the roundings of c_k and c_r, about s·ε each, absolute,
      and e^{c_k − c_r} turns them relative: a confident row's tiny loss 25–50 ULP off in float32 (float64
      leaves them ≪ a float32 ULP)."""
    if _upstream_cancels(outputs):
        return "always"
    soft = any(e.has(t) for _, e, _, _ in outputs)
    if soft and any(q.name == "sum-gap" for q in fired):
        return "always"
    when = []
    if LABEL_SMOOTHING in options and any(q.name == "sum-gap" for q in fired):
        when.append(f"{OPTION_NAMES[LABEL_SMOOTHING]} != 0")
    if SOFTCAP in options:
        when.append(f"{OPTION_NAMES[SOFTCAP]} is not None")
    return " or ".join(when) or None



def _target_gradient_kind(outputs, widen) -> str | None:
    """RowKernel.double_word: "soft" or "hard" where the kernel widens for the sum-gap rule's gradient and that
    gradient, less its z-loss terms, is p_j·Σ_k a_k − a_j with a_k = w_k((1 − ε)t_k + ε/V) (soft targets t_k) or
    w_k((1 − ε)δ_kr + ε/V) (the class r), checked at V = 3 at random entries; else None."""
    if widen is None:
        return None
    if _upstream_cancels(outputs):
        return _vjp_kind(outputs)
    if widen == "always" and not any(e.has(t) for _, e, _, _ in outputs):
        return None
    kind = "soft" if widen == "always" else "hard"
    target = (lambda x: t[x]) if kind == "soft" else (lambda x: sp.KroneckerDelta(x, r))
    weight = (lambda x: w[x]) if any(e.has(w) for _, e, _, _ in outputs) else (lambda x: 1)

    def a(x):
        return weight(x) * ((1 - LABEL_SMOOTHING) * target(x) + LABEL_SMOOTHING / V)
    form = _softmax_entry(j) * _sum(a(k)) - a(j)
    grads = [e.xreplace({Z_LOSS_SCALE: 0}) for _, e, _, per_row in outputs if not per_row]
    return kind if len(grads) == 1 and _same_at_small_size(grads[0], form) else None

def _vjp_kind(outputs) -> str | None:
    """RowKernel.double_word of a vector-Jacobian product with g: "softmax" where the gradient is
    s_j·(g_j − Σ_k s_k g_k), "log_softmax" where it is g_j − s_j·Σ_k g_k (checked at V = 3), else None."""
    grads = [e for _, e, _, per_row in outputs if not per_row and e.has(g)]
    s_j = _softmax_entry(j)
    forms = {"softmax": s_j * (g[j] - _sum(_softmax_entry(k) * g[k])), "log_softmax": g[j] - s_j * _sum(g[k])}
    return next((kind for kind, form in forms.items() if len(grads) == 1 and _same_at_small_size(grads[0], form)), None)

def _upstream_cancels(outputs) -> bool:
    """A per-entry output read from an upstream gradient g: softmax's s_i·(g_i − Σ_j s_j g_j) and log-softmax's
    g_i − s_i·Σ_j g_j cancel where g_i ≈ Σ_j s_j g_j (s_i·Σ_j g_j ≈ g_i): the roundings of e^{z_j − m}, of Σ and of
    the sums of g come back times |g_i|/|the result| (float32: softmax 45–560 ULP, log-softmax 11–605 on rows of
    40 to 1823 entries; torch 61–718, 17–765). A float32 kernel then computes the block in float64 (RowKernel.widen)."""
    return any(not per_row and e.has(g) for _, e, _, per_row in outputs)

# ------------------------------------------------------------ the row blocks of the lectures

def _softmax_entry(idx):
    return sp.exp(z[idx]) / _sum(sp.exp(z[k]))


def _backward(assignment, out):
    """∂/∂z_j of Σ_i g_i·out_i through the index-form engine (the vector-Jacobian product)."""
    i = sp.Symbol("i", integer=True)
    res = derive_indexed([(out[i], assignment(i))], ranges={i: ROW, j: ROW, k: ROW},
                         seed=(out[i], g[i]), wrt=[z[j]], sizes={V: 3})
    return res.gradients[z[j]]


def softmax_cross_entropy_gradient() -> sp.Expr:
    """∂C/∂z_j of softmax cross-entropy C = −log p_r, p_j = e^{z_j}/Σ_k e^{z_k}: p_j − δ_jr with
    p_j written out. The result of the curriculum's 'softmax-cross-entropy' derivation, which
    derives it with the index-form engine and checks it entry by entry; written here because
    code generation does not import the curriculum (tests/test_layout.py checks that the two
    agree)."""
    return _softmax_entry(j) - sp.KroneckerDelta(j, r)


def row_modules(d_softmax_ce: Derivation | None = None) -> dict[str, list[RowKernel]]:
    """softmax, log-softmax and softmax cross-entropy: a forward function and a fused
    forward + backward one for each, by module name. ``d_softmax_ce``, a derivation of the
    curriculum's form (y_i = softmax, wrt z_j), replaces the gradient written here."""
    if d_softmax_ce is None:
        as_z = softmax_cross_entropy_gradient()
    else:
        d = d_softmax_ce
        ((y, definition),) = d.definitions  # y_i = e^{z_i}/Σ_k e^{z_k}
        (wrt,) = d.wrt
        grad = d.gradients[wrt]  # y_j − δ_jr, from the derivation
        y_base, y_idx = y.base, y.indices[0]
        as_z = grad.replace(lambda n: isinstance(n, sp.Indexed) and n.base == y_base,
                            lambda n: definition.xreplace({y_idx: n.indices[0]}))
        (size,) = {lim[2] + 1 for s in definition.atoms(sp.Sum) for lim in s.limits}  # the derivation's K
        as_z = as_z.xreplace({wrt.indices[0]: j, sp.Symbol("r", integer=True): r, size: V})
    loss = -sp.log(_softmax_entry(r))  # C = −log y_r

    def log_softmax(i):
        return z[i] - sp.log(_sum(sp.exp(z[k])))

    value = {"softmax": ("p", _softmax_entry(j), "p_j", False),
             "log_softmax": ("l", log_softmax(j), "l_j", False),
             "softmax_cross_entropy": ("loss", loss, "C = −log p_r", True)}
    grads = {"softmax": ("dz", _backward(_softmax_entry, p), "Σ_i g_i ∂p_i/∂z_j", False),
             "log_softmax": ("dz", _backward(log_softmax, l_), "Σ_i g_i ∂l_i/∂z_j", False),
             "softmax_cross_entropy": ("dz", as_z, "∂C/∂z_j", False)}
    formulas = {"softmax": ("p_j = e^{z_j}/Σ_k e^{z_k}", "; dz_j = Σ_i g_i ∂p_i/∂z_j"),
                "log_softmax": ("l_j = z_j − log Σ_k e^{z_k}", "; dz_j = Σ_i g_i ∂l_i/∂z_j"),
                "softmax_cross_entropy": ("C = −log p_r, p = softmax(z) (the mean over rows by default)",
                                          "; ∂C/∂z_j = p_j − δ_jr")}
    return {name: [row_kernel(name, formulas[name][0], [value[name]]),
                   row_kernel(name + "_grad", "".join(formulas[name]), [value[name], grads[name]])]
            for name in value}
