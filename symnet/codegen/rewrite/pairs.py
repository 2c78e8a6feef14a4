"""Shared σ(z)/σ(−z) pairs (not a stability rule: an evaluation strategy across a kernel's outputs).

Its blocks, in the order of the module rewrite.py that session 43 split into this package: sigmoid-pair.
"""
from __future__ import annotations

import sympy as sp

from ...functions import sigmoid, SymnetFunction
from .core import _introduces, Rule
from .widening import Grouped, without_ite


class nexp(SymnetFunction):  # noqa: N801
    """nexp(x) = e^−x, kept as one opaque node so that 1/nexp(x) is not folded back into
    e^x: the sigmoid-pair rule computes σ(x) and σ(−x) from this one exponential. Shown, printed by
    SymPy's code printers and evaluated as e^−x (:class:`symnet.functions.SymnetFunction`)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return -self

    @staticmethod
    def _of(x):
        return sp.exp(-x)

    @staticmethod
    def _shown(x):
        return sp.exp(-x, evaluate=False)  # e^−0 and e^−log(x) as such, not 1 and 1/x

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return self._of(x)


def _same_base_pair(a, b):
    """σ(a)·σ(b) with |a| = |b| and b ≠ ±a as written, one of them ≥ 0 by its form (σ(y)·σ(|y|): the stabiliser writes
    1/(1 + e^−|y|) as σ(|y|)): 1/(1 + E)² where the other is ≥ 0 (σ(u)²) and E/(1 + E)² below (σ(u)·σ(−u)), E = e^−|a|,
    each with s = fl(1 + E)'s rounding taken back as :func:`_pair_product` does, the second that product itself (one
    temporary with it). Exact (1/(1 + E)² = (1 − 2d/s)/s² to first order, d = E − (s − 1)); E's error and three
    roundings, where the selects {1/s; E/s}·(1/s) carried E's, s's twice and two quotients': x·σ(y)/(1 + e^−|y|) 3.95
    ULP in float64 at (8.8146e307, −27.023), torch 1.95 (session 33's 3.67 at (1.5176e308, −25.48); session 34).
    A select of the two quotients, not one quotient of a selected numerator: CSE regrouped ∂y's σ(y)·σ(−|y|)·σ(|y|)
    with the latter (8.99 ULP at y = −0.128 where it cancels, 2.99 before)."""
    E = nexp(sp.Abs(a))
    s = Grouped(1 + E)
    d = RoundingError(E - Grouped(s - 1))
    free = a if (b >= 0) == sp.true else b  # the argument of either sign
    return sp.Piecewise((Grouped(1 - 2 * d / s) / s ** 2, free >= 0), (_pair_product(a), True))


def _pair_product(u):
    """σ(u)·σ(−u) = E/(1 + E)² with E = e^−|u| ≤ 1, the rounding of s = fl(1 + E) taken back: its error
    d = E − (s − 1) is exact (Fast2Sum, 1 ≥ E), and 1/(1 + E)² = (1 − 2d/s)/s² to first order, so the
    numerator E − 2E·d/s (a correction below u·E) and s² and the quotient round: E's own error and three
    roundings, some 2u, where E·r·r (r = 1/s, its rounding and that of 1 + E twice over) and the select
    of which is which carry some 3.6u (sigmoid_mse's ∂z = −2(y − σ)σσ(−): 4.6 ULP in float64, measured)."""
    E = nexp(sp.Abs(u))
    s = Grouped(1 + E)
    d = RoundingError(E - Grouped(s - 1))
    return Grouped(E - 2 * E * d / s) / s ** 2


class RoundingError(Grouped):
    """d = E − (s − 1) with s = fl(1 + E), 0 ≤ E ≤ 1: what rounding 1 + E to s lost, exactly (Fast2Sum),
    in :func:`_pair_product`. A temporary of its own in the generated code (``err_`` and the name of s),
    whose comment says why it is there (:meth:`why`): read inline, E − (s − 1) looks like 0."""

    def parts(self):
        """(E, s) of E − (s − 1), or None where it is not of that form (any more)."""
        small = [a for a in sp.Add.make_args(self.args[0]) if not a.could_extract_minus_sign()]
        inner = [g.args[0] for g in self.atoms(sp.UnevaluatedExpr) if g is not self]
        total = [a for g in inner for a in sp.Add.make_args(g) if a != -1]
        return (small[0], total[0]) if len(small) == 1 and len(total) == 1 else None

    @staticmethod
    def why(d: str, E: str, s: str) -> str:
        """The comment on d's temporary, in the code's names of d, E and s."""
        return (f"{d} = {E} − ({s} − 1): the rounding error of {s} = 1 + {E}, exact (Fast2Sum, {E} ≤ 1); "
                f"with it σ′ = E/(1 + E)² = (E − 2E·err/s)/s² to first order (E = {E}, s = {s}, err = {d}), "
                f"where E/s² alone carries the rounding of s twice")


def _pair_products(e, pairs):
    """Every product holding σ(u) and σ(−u) (each to the first power) and another factor that is not a
    number, for u in ``pairs``, the pair as :func:`_pair_product` (σ′ alone is left to the pair's r·(E·r):
    the sigmoid kernel's σ′ 4× slower in NumPy for a rounding or two); a product of σ(u) and σ(±|u|) alone among its
    σ factors (with or without others) as :func:`_same_base_pair`."""
    def fold(node):
        mixed = same_base(node)
        if mixed is not None:
            a, b = mixed
            return sp.Mul(*[f for f in node.args if f not in (sigmoid(a), sigmoid(b))]) * _same_base_pair(a, b)
        for u in pairs:
            if sigmoid(u) in node.args and sigmoid(-u) in node.args:
                node = sp.Mul(*[f for f in node.args if f != sigmoid(u) and f != sigmoid(-u)]) * _pair_product(u)
        return node

    def has_pair(node):  # with another factor that is not a number: σ′ alone, r·(E·r), is within 3.6u already
        return node.is_Mul and (any(sigmoid(u) in node.args and sigmoid(-u) in node.args
                                    and any(not f.is_number for f in node.args if f not in (sigmoid(u), sigmoid(-u)))
                                    for u in pairs) or same_base(node) is not None)

    def same_base(node):  # (a, b): a product's two σ factors, |a| = |b|, b ≠ ±a, one ≥ 0, a pair's E; else None
        if not node.is_Mul:
            return None
        args = [f.args[0] for f in node.args if isinstance(f, sigmoid)]
        if len(args) != 2 or args[0] == -args[1] or sp.Abs(args[0]) != sp.Abs(args[1]) or not any(
                (v >= 0) == sp.true for v in args):
            return None
        return tuple(args) if any(v in pairs or -v in pairs for v in args) else None

    return e.replace(has_pair, fold)


def _share_sigmoid_pairs(e: sp.Expr) -> sp.Expr:
    """σ(x) and σ(−x) both present → with E = e^−|x| and r = 1/(1 + E): σ(x) = r for x ≥ 0,
    E·r below; σ(−x) the other way round. E ≤ 1: nothing overflows, and σ(−100) in float32
    is E·r = 3.7e−44 (a subnormal), not 0."""
    sigs = e.atoms(sigmoid)
    pairs = {}
    for s in sorted(sigs, key=sp.default_sort_key):
        u = s.args[0]
        if sigmoid(-u) in sigs and u not in pairs and -u not in pairs:
            try:
                u >= 0
            except TypeError:  # SymPy cannot compare u with 0 (a select of a series of log2(x), not real for x < 0:
                continue       # TypeError at sigmoid(tanhshrink(log2(x)), h-ite26's random compositions): no pair
            if sp.Abs(u).has(sp.atan2, sp.arg, sp.re, sp.im):  # |2^√x| is 2^re(√x), cos(atan2(0, x)/2) in it: no
                continue  # backend prints that (σ(2^√x) "cannot generate atan2", h-hyp50's random compositions): no pair
            pairs[-u if u.could_extract_minus_sign() else u] = True
    if not pairs:
        return e
    e = _pair_products(e, pairs)
    mapping = {}
    for u in pairs:
        E = nexp(sp.Abs(u))
        r = 1 / (1 + E)
        mapping[sigmoid(u)] = sp.Piecewise((r, u >= 0), (E * r, True))
        mapping[sigmoid(-u)] = sp.Piecewise((E * r, u >= 0), (r, True))
    return without_ite(e.xreplace(mapping))


# Not a stability rule: an evaluation strategy the code generator applies across all the
# outputs of one kernel (so σ(z) in the loss and σ(−z) in its gradient share work).
SIGMOID_PAIR = Rule(
    "sigmoid-pair", "σ(x) and σ(−x) from one exponential E = e^−|x| ≤ 1 and r = 1/(1 + E): "
    "σ(x) = r, σ(−x) = E·r for x ≥ 0 and the other way round below; nothing overflows",
    _share_sigmoid_pairs, _introduces(nexp))
