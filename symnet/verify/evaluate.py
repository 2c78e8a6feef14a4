"""Evaluating a SymPy expression by walking its tree: in mpmath (the reference, at any precision)
and in torch (autograd of the formula as written, every function through the registry's torch
reference). One walk for both, so the reference and torch read the same tree."""
from __future__ import annotations

import functools
import math

import mpmath
import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ..errors import SymnetError
from ..functions import relu, sigmoid
from ..mpfloat import HUGE, exp as _exp
from ..special import softplus

__all__ = ["mp_value", "reference", "references", "torch_value", "NotEvaluable"]


class NotEvaluable(SymnetError):
    """A node the evaluator has no rule for."""


def _heaviside(x, h=None):
    """H(x) with symnet's convention H(0) = 0 (the registry's, as torch.heaviside(x, 0) and relu′(0)
    in PyTorch; the generated code uses it whatever value SymPy's Heaviside carries)."""
    if mpmath.isnan(x):
        return x
    return mpmath.mpf(0) if x <= 0 else mpmath.mpf(1)


_HUGE = HUGE  # e^a past it is taken as inf or 0: symnet/mpfloat.py


def _sinh(a):
    return mpmath.sinh(a) if mpmath.isnan(a) or abs(a) <= _HUGE else (mpmath.inf if a > 0 else -mpmath.inf)


def _cosh(a):
    return mpmath.cosh(a) if mpmath.isnan(a) or abs(a) <= _HUGE else mpmath.inf


def _expm1(a):
    # NaN stays NaN (elu(sqrt(x)) at x = −1 read −1: found by Hypothesis)
    return mpmath.expm1(a) if mpmath.isnan(a) or abs(a) <= _HUGE else (mpmath.inf if a > 0 else mpmath.mpf(-1))


def _power(b, e):
    """b^e, with |e·log|b|| beyond _HUGE taken as ±inf or 0 (see _exp); NaN for b < 0 and e not an integer, b = −inf
    too (mpmath's (−inf)^(−1/2) is the complex 0 + 0j, which read as the real 0: erf(x)/√x at x = −inf was 0,
    not outside the domain, and its NaN counted as symnet's error)."""
    if b < 0 and mpmath.isfinite(e) and e != int(e):
        return mpmath.mpf("nan")
    if b != 0 and not mpmath.isinf(b) and not mpmath.isinf(e) and not mpmath.isnan(b) and not mpmath.isnan(e):
        size = e * mpmath.log(abs(b))
        if abs(size) > _HUGE:
            if size < 0:
                return mpmath.mpf(0)
            if b > 0:
                return mpmath.inf
            if e == int(e):
                return mpmath.inf if int(e) % 2 == 0 else -mpmath.inf
            return mpmath.mpf("nan")
    return mpmath.power(b, e)


_MP = {
    sp.exp: _exp, sp.log: mpmath.log, expm1: _expm1, log1p: mpmath.log1p, sp.sin: mpmath.sin,
    sp.cos: mpmath.cos, sp.tan: mpmath.tan, sp.sinh: _sinh, sp.cosh: _cosh, sp.tanh: mpmath.tanh,
    sp.asinh: mpmath.asinh, sp.atan: mpmath.atan, sp.erf: mpmath.erf, sp.erfc: mpmath.erfc, sp.Abs: abs,
    sp.sign: mpmath.sign, sp.Heaviside: _heaviside, sigmoid: lambda x: 1 / (1 + _exp(-x)),
    relu: lambda x: max(x, mpmath.mpf(0)), softplus: lambda x: mpmath.log1p(_exp(x)),
    sp.Max: lambda *a: max(a), sp.Min: lambda *a: min(a),
}


_NAN = mpmath.mpf("nan")


def _isnan(c) -> bool:
    """Whether a condition's value is NaN (a relation with a NaN operand): a Piecewise of it is NaN."""
    return isinstance(c, mpmath.mpf) and mpmath.isnan(c)


class _Track:
    """What one reference evaluation lost: the most decimal digits any sum of rounded terms (or a
    log of a rounded number near 1) cancelled. Two precisions that agree prove nothing when both
    absorbed the same small term: 1 − σ(709) is exactly 0 at 50, 100 and 300 digits (1 + e^−709
    rounds to 1), so t·σ(u)(1 − σ(u)) + … agreed on a wrong, negative value (issue 16, verify).

    The largest ratio |largest term|/|sum| is kept, and its log10 taken once, when :attr:`lost` is read (the
    same figure as the largest log10, log10 being increasing: a log10 for every inexact sum was a third of
    a reference's time). ``slot``: the :class:`_Plan` slot being computed (:func:`_run` sets it), for
    :class:`_SlotTrack`."""

    slot = None

    def __init__(self):
        self.worst = 0  # the largest |largest term|/|sum| met (mpf; inf for a sum that came out 0)

    def cancel(self, terms, total) -> None:
        ratio = self._ratio(terms, total)
        if ratio is not None and ratio > self.worst:
            self.worst = ratio

    @staticmethod
    def _ratio(terms, total):
        big = max((abs(a) for a in terms), default=0)
        if big == 0 or mpmath.isinf(big) or mpmath.isnan(big):
            return None
        return mpmath.inf if total == 0 else big / abs(total)

    @property
    def lost(self) -> float:
        return _digits(self.worst)


def _digits(ratio) -> float:
    """The decimal digits a ratio |largest term|/|sum| cancels (0 where it is at most 1; inf for a sum of 0)."""
    if not ratio:
        return 0.0
    return math.inf if mpmath.isinf(ratio) else max(0.0, float(mpmath.log10(ratio)))


class _SlotTrack(_Track):
    """A _Track per slot of a joint plan (:func:`references`: several outputs at one point share their
    subtrees): each slot's worst ratio, so that each output's loss is read from the slots it reaches alone."""

    def __init__(self):
        super().__init__()
        self.by_slot: dict = {}

    def cancel(self, terms, total) -> None:
        ratio = self._ratio(terms, total)
        if ratio is not None and ratio > self.by_slot.get(self.slot, 0):
            self.by_slot[self.slot] = ratio

    def worst_of(self, reach):
        """The worst ratio of the slots in ``reach`` (a set of slots): :func:`_digits` of it is the digits they lost."""
        return max((r for s, r in self.by_slot.items() if s in reach), default=0)


_LOG10_2 = math.log10(2)


def _lost_at_most(ratio, digits: int) -> bool:
    """Whether ``_digits(ratio) <= digits``, the log10 taken only where the ratio's binary exponent leaves it in
    doubt (a reference's sums mostly cancel a digit or two: the log10 of each was a fifth of its time)."""
    if not ratio or ratio <= 1:
        return True
    if mpmath.isinf(ratio):
        return False
    m = mpmath.mag(ratio)  # 2^(m − 1) ≤ ratio ≤ 2^m, give or take one
    if m > 16 * LADDER[-1]:  # 2^m past 10^(4·2400): beyond every rung's digits; (m + 1)·log10 2 of an m past
        return False  # 2^1024 raised OverflowError (e^x/(e^x + e^y)·(x − y) + (x + y)/(x/y) at 1e308, h-hyp31)
    if (m + 1) * _LOG10_2 < digits:
        return True
    if (m - 2) * _LOG10_2 > digits:
        return False
    return _digits(ratio) <= digits


class _Untracked(_Track):
    """A _Track nobody reads (mp_value called without one): the digits lost are not worked out (a log10 for
    every inexact sum: a quarter of the root-series search's evaluations)."""

    def cancel(self, terms, total) -> None:
        pass


_UNTRACKED = _Untracked()


def mp_value(expr: sp.Basic, env: dict, track: _Track | None = None):
    """``expr`` at the point ``env`` (symbol → mpf) in mpmath at the current precision; NaN where
    it is not a real number. ``track``: records the digits lost to cancellation of rounded terms.
    Computed by the expression's :class:`_Plan` (the same operations as :func:`_walk`, in the same order:
    the same value, bit for bit, and the same ``track``)."""
    return _plan(expr).run(env, track if track is not None else _UNTRACKED)


_UNSET = object()


class _Plan:
    """:func:`_walk` of one expression, laid out once: every distinct subtree a slot, each slot's rule chosen
    once, and the walk's order (arguments left to right, a subtree once per evaluation) as lists of slots. A
    Piecewise's conditions and values keep lists of their own, run only when the walk would reach them.
    The root-series search evaluates one derivative at ~8,000 points; the walk spent most of its time finding
    each node's rule again and hashing subtrees into its memo (describing tests/test_security_names.py's three
    representative formulas, root-series searches mostly: 6.9 s of CPU, 2.5 s with this)."""

    def __init__(self, expr: sp.Basic, *more: sp.Basic):
        self.rules = []  # slot → rule(vals, env, track) → (value, exact)
        self.slots = {}  # subtree → slot (equal subtrees share one, as in _walk's memo; an atom by type and value)
        self.branches = {}  # a Piecewise's slot → the slots of its conditions and values
        # ``more``: further outputs sharing the slots (:func:`references`), each with its own sequence
        self.mains = [self._sequence(e) for e in (expr,) + more]
        self.main = self.mains[0]
        self.root = self.main[-1]
        self.roots = [m[-1] for m in self.mains]

    def reach(self, i: int) -> frozenset:
        """Every slot output ``i``'s evaluation may compute: its sequence and, through each Piecewise, its
        branches'."""
        todo, seen = list(self.mains[i]), set()
        while todo:
            slot = todo.pop()
            if slot not in seen:
                seen.add(slot)
                todo += self.branches.get(slot, ())
        return frozenset(seen)

    def run(self, env: dict, track: _Track):
        vals = [_UNSET] * len(self.rules)
        _run(self.main, self.rules, vals, env, track)
        return vals[self.root][0]

    def _sequence(self, expr) -> list:
        """The slots of ``expr``'s subtree in the walk's order (children first), each once; a Piecewise's
        branches left out (they run from its rule)."""
        seq, seen = [], set()
        self._visit(expr, seq, seen)
        return seq

    def _visit(self, expr, seq, seen):
        # an atom's slot is its type's and value's (_walk reads an atom afresh at each occurrence, to the same
        # value; Float(1.0) and Integer(1) kept apart), so that a subtree met again reads its atoms' slots
        key = (type(expr), expr) if expr.is_Atom else expr
        slot = self.slots.get(key)
        if slot is None and expr.is_Atom:
            slot = self.slots[key] = len(self.rules)
            self.rules.append(self._atom(expr))
        if expr.is_Atom:
            if slot not in seen:
                seen.add(slot)
                seq.append(slot)
            return slot
        if slot is not None:
            if slot not in seen:
                for child in self._children(expr):
                    self._visit(child, seq, seen)
                seen.add(slot)
                seq.append(slot)
            return slot
        children = [self._visit(c, seq, seen) for c in self._children(expr)]
        slot = self.slots[expr] = len(self.rules)
        self.rules.append(None)
        self._pending_branches = ()
        self.rules[slot] = self._rule(expr, children)
        if self._pending_branches:
            self.branches[slot] = self._pending_branches
        seen.add(slot)
        seq.append(slot)
        return slot

    @staticmethod
    def _children(expr) -> tuple:
        """The subtrees _walk reads before the node itself: none for a Piecewise (read lazily)."""
        from ..codegen.rewrite import WidenedBase, WrittenWhereNotFiniteBase
        from ..codegen.roots import SeriesBase

        if isinstance(expr, WidenedBase):
            return (expr.expanded,)
        if isinstance(expr, WrittenWhereNotFiniteBase):  # taken as written only where not finite: its computed value
            return (expr.args[0],)
        if isinstance(expr, SeriesBase):  # an evaluation strategy of the function it stands for: that function
            return (expr.exact,)
        if isinstance(expr, sp.UnevaluatedExpr):
            return (expr.args[0],)
        if isinstance(expr, sp.Piecewise):
            return ()
        return expr.args

    @staticmethod
    def _atom(expr):
        if expr.is_Symbol:
            return lambda vals, env, track: (env[expr], True)
        if expr.is_Number or expr.is_NumberSymbol or expr is sp.true or expr is sp.false:
            cache = {}

            def constant(vals, env, track, key=None):
                key = (mpmath.mp.prec, mpmath.mp.dps)
                try:
                    return cache[key]
                except KeyError:
                    out = cache[key] = _node(expr, env, track, {})
                    return out
            return constant
        return lambda vals, env, track: _node(expr, env, track, {})

    def _rule(self, expr, children):
        from ..codegen.rewrite import WidenedBase, WrittenWhereNotFiniteBase
        from ..codegen.roots import SeriesBase

        if isinstance(expr, (WidenedBase, SeriesBase, WrittenWhereNotFiniteBase, sp.UnevaluatedExpr)):
            (child,) = children
            return lambda vals, env, track: vals[child]
        if isinstance(expr, sp.Piecewise):
            branches = [(self._sequence(value), self._sequence(cond)) for value, cond in expr.args]
            rules = self.rules
            self._pending_branches = [slot for value, cond in branches for slot in value + cond]

            def piecewise(vals, env, track):
                for value, cond in branches:
                    _run(cond, rules, vals, env, track)
                    c = vals[cond[-1]][0]
                    if _isnan(c):
                        return mpmath.mpf("nan"), False
                    if c is True or (c is not False and bool(c)):
                        _run(value, rules, vals, env, track)
                        return vals[value[-1]]
                return mpmath.mpf("nan"), False
            return piecewise

        if expr.is_Add:
            def add(vals, env, track):
                pairs = [vals[c] for c in children]
                return _add([a for a, _ in pairs], all(e for _, e in pairs), track)
            return add
        if expr.is_Mul:
            def mul(vals, env, track):
                pairs = [vals[c] for c in children]
                return _mul([a for a, _ in pairs], all(e for _, e in pairs))
            return mul
        if expr.is_Pow:
            base, power = children

            def pow_(vals, env, track):
                return _pow(vals[base][0], vals[power][0])
            return pow_
        f = None
        if isinstance(expr, sp.Function) and not isinstance(expr, (sp.Max, sp.Min, sp.Abs, sp.ITE)):
            f = _mp_rule(type(expr))  # looked up once (else _combine says it has none)
        if f is not None:
            is_log = isinstance(expr, sp.log)

            def function(vals, env, track):  # _combine's last rule, f found once
                pairs = [vals[c] for c in children]
                return _apply(f, is_log, [a for a, _ in pairs], all(e for _, e in pairs), track)
            return function

        def generic(vals, env, track):  # _node's rules past its atoms, the arguments read from their slots
            pairs = [vals[c] for c in children]
            return _combine(expr, pairs, env, track)
        return generic


@functools.lru_cache(maxsize=1024)
def _plan(expr: sp.Basic) -> _Plan:
    return _Plan(expr)


def _run(seq, rules, vals, env, track) -> None:
    for slot in seq:
        if vals[slot] is _UNSET:
            track.slot = slot
            vals[slot] = rules[slot](vals, env, track)


def _walk(expr: sp.Basic, env: dict, track: _Track, memo: dict):
    """(value, exact): ``exact`` when no rounding happened (inputs, dyadic constants, and sums and
    products of those, computed exactly), so that a 0 from exact terms (1 − t at t = 1) is a true 0.
    ``memo``: the subtrees of this evaluation already walked, each computed once, to the same value (``track``
    keeps the largest loss, which a second walk of the same terms would not change). A derivative repeats
    its subtrees (sin x, cos x and their product four times in that of exp(sin x·cos x + tanh²x)·sin x·cos x,
    whose root-series search evaluates it ~28,000 times: its describe took 28.0 s of CPU, 22.3 with this)."""
    if expr.is_Atom:  # a symbol or a constant: read at once (and Float(1.0), Integer(1) never share an entry)
        return _node(expr, env, track, memo)
    try:
        return memo[expr]
    except KeyError:
        pass
    out = memo[expr] = _node(expr, env, track, memo)
    return out


def _node(expr: sp.Basic, env: dict, track: _Track, memo: dict):
    """One node of :func:`_walk`, its arguments walked through ``memo``."""
    if expr.is_Symbol:
        return env[expr], True
    if expr.is_Number or expr.is_NumberSymbol:  # π and e are NumberSymbols
        if expr is sp.zoo or expr is sp.nan:
            return mpmath.mpf("nan"), False
        if expr is sp.oo:
            return mpmath.inf, True
        if expr is sp.S.NegativeInfinity:
            return -mpmath.inf, True
        if expr.is_Rational:
            q = int(expr.q)
            return mpmath.mpf(int(expr.p)) / q, q & (q - 1) == 0
        return mpmath.mpf(str(sp.Float(expr, mpmath.mp.dps + 5))), False
    if expr is sp.true:
        return True, True
    if isinstance(expr, sp.Function):
        from ..codegen.rewrite import WidenedBase, WrittenWhereNotFiniteBase

        from ..codegen.roots import SeriesBase

        if isinstance(expr, WidenedBase):  # computed in float64 by the code (the widen rule): its sum
            return _walk(expr.expanded, env, track, memo)
        if isinstance(expr, WrittenWhereNotFiniteBase):  # taken as written only where not finite: its computed value
            return _walk(expr.args[0], env, track, memo)
        if isinstance(expr, SeriesBase):  # a series proved against the function it stands for (50 digits): its value
            return _walk(expr.exact, env, track, memo)
    if expr is sp.false:
        return False, True
    if isinstance(expr, sp.UnevaluatedExpr):  # a sum kept as one factor (Grouped, the affine-root rule): its value
        return _walk(expr.args[0], env, track, memo)
    if isinstance(expr, sp.Piecewise):
        for value, cond in expr.args:
            c = _walk(cond, env, track, memo)[0]
            if _isnan(c):
                return mpmath.mpf("nan"), False
            if c is True or (c is not False and bool(c)):
                return _walk(value, env, track, memo)
        return mpmath.mpf("nan"), False
    return _combine(expr, [_walk(a, env, track, memo) for a in expr.args], env, track)


def _combine(expr: sp.Basic, pairs: list, env: dict, track: _Track):
    """A node of :func:`_walk` other than an atom or a Piecewise, from its arguments' (value, exact) pairs."""
    args = [a for a, _ in pairs]
    exact = all(e for _, e in pairs)
    if expr.is_Add:
        return _add(args, exact, track)
    if expr.is_Mul:
        return _mul(args, exact)
    if expr.is_Pow:
        return _pow(*args)
    if any(isinstance(a, mpmath.mpf) and mpmath.isnan(a) for a in args) and isinstance(
            expr, (sp.core.relational.Relational, sp.And, sp.Or, sp.Not)):
        return _NAN, True  # a condition on a NaN (hardshrink(log1p(−3))) is NaN, not false: no branch is taken
    if isinstance(expr, sp.ITE) and _isnan(args[0]):
        return _NAN, False
    if isinstance(expr, sp.core.relational.Relational):
        lhs, rhs = args
        return bool({"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs,
                     "==": lhs == rhs, "!=": lhs != rhs}[expr.rel_op]), True
    if isinstance(expr, sp.And):
        return all(args), True
    if isinstance(expr, sp.Or):
        return any(args), True
    if isinstance(expr, sp.Not):
        return not args[0], True
    if isinstance(expr, sp.ITE):  # if c then a else b, from a folded nested Piecewise
        return (args[1] if args[0] else args[2]), pairs[1 if args[0] else 2][1]
    if isinstance(expr, sp.Abs):  # abs() of an mpf rounds it to the working precision, so an exact |x − m| at
        # x = 1, m = −2.2e−308 was 1 and 1 − |x − m| an exact 0 (session 46): |a| exactly, by its sign
        return (mpmath.fneg(args[0], exact=True) if args[0] < 0 else args[0]), exact
    if isinstance(expr, (sp.Max, sp.Min)):
        return _MP[type(expr)](*args), exact
    f = _mp_rule(type(expr))
    if f is None:
        raise NotEvaluable(f"no mpmath rule for {type(expr).__name__}")
    return _apply(f, isinstance(expr, sp.log), args, exact, track)


def _add(args: list, exact: bool, track: _Track):
    """A sum of the arguments' values: exact where they all are (and finite), else fsum, its cancellation tracked."""
    if exact and not any(mpmath.isinf(a) or mpmath.isnan(a) for a in args):
        out = mpmath.mpf(0)
        for a in args:
            out = mpmath.fadd(out, a, exact=True)
        return out, True
    out = mpmath.fsum(args)
    track.cancel(args, out)
    return out, False


def _mul(args: list, exact: bool):
    """A product of the arguments' values: exact where they all are (and finite; or the product an infinity, −u at
    u = −inf, so that σ(−u) there is exact: :func:`_exact_at_zero_or_infinity`)."""
    out = mpmath.mpf(1)
    fin = exact and not any(mpmath.isinf(a) or mpmath.isnan(a) for a in args)
    for a in args:
        out = mpmath.fmul(out, a, exact=True) if fin else out * a
    return out, fin or (exact and mpmath.isinf(out))


def _pow(b, e):
    """b^e; 0 to a negative power is ±inf, which has no limit unless the power is even (NaN)."""
    if b == 0 and e < 0:
        return (mpmath.inf if e == int(e) and int(e) % 2 == 0 else mpmath.mpf("nan")), False
    v = _power(b, e)
    return (v if not isinstance(v, mpmath.mpc) else (v.real if v.imag == 0 else mpmath.mpf("nan"))), False


def _mp_rule(kind: type):
    """The mpmath function of a SymPy function class: _MP's, else a registry entry's own reference (ndtr, the code
    generator's e^(−u²)); None where there is none."""
    f = _MP.get(kind)
    if f is None:
        from ..registry import entry_of

        entry = entry_of(kind)
        f = entry.mpmath if entry is not None else None
    return f


def _apply(f, is_log: bool, args: list, exact: bool, track: _Track):
    """f of the arguments' values (NaN where mpmath refuses or the value is complex); a log of an inexact argument
    tracks its cancellation (log x near x = 1: 1/|log x| amplifies x's rounding)."""
    try:
        v = f(*args)
    except (ValueError, ZeroDivisionError):
        return mpmath.mpf("nan"), False
    if isinstance(v, mpmath.mpc):
        v = v.real if v.imag == 0 else mpmath.mpf("nan")
    if is_log and not exact and mpmath.isfinite(v):
        track.cancel([mpmath.mpf(1)], v)
    return v, exact and _exact_at_zero_or_infinity(f, args, v)


def _exact_at_zero_or_infinity(f, args: list, v) -> bool:
    """f(0, …) or f(±inf, …) (every argument an exact 0 or infinite) is exact where it is the same finite number at
    twice the precision (cos 0 = 1, σ(0) = 1/2, σ(inf) = 1; not log 2 = softplus(0)): 1 − cos x at x = 0 is then an
    exact 0, no cancellation, and its log the true −inf at once; t·σ(u)(1 − σ(u)) at t = u = inf NaN (inf·0) at once
    (the reference climbs after a sum of rounded terms came out 0: :func:`reference`)."""
    if not args or not all(isinstance(a, mpmath.mpf) and (a == 0 or mpmath.isinf(a)) for a in args) \
            or not mpmath.isfinite(v):
        return False
    with mpmath.workprec(2 * mpmath.mp.prec + 64):
        try:
            w = f(*args)
        except (ValueError, ZeroDivisionError):
            return False
    return isinstance(w, mpmath.mpf) and w == v


LADDER = (50, 100, 300, 1200, 2400)  # digits: 50, raised while two successive precisions disagree
_ZERO = mpmath.mpf("1e-340")  # below every dtype's smallest subnormal: rounds to 0 in all of them


def _agree(a, b, dps: int) -> bool:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.isnan(a) and mpmath.isnan(b)
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    if abs(a) < _ZERO and abs(b) < _ZERO:  # 0 at 50, 100 or 300 digits may be a cancellation:
        return dps >= 1200  # log(1 + e^−709) = 1.2e−308 is 0 at 300 digits; 1200 holds float64's 4.9e−324
    return abs(a - b) <= mpmath.mpf("1e-30") * abs(b)


_KEEP = 25  # digits that must survive the worst cancellation of a rung for it to count


def reference(expr: sp.Expr, env_floats: dict):
    """The exact value of ``expr`` at a point of floats: evaluated at 50 digits, then at 100, 300,
    1200 and 2400 until two successive precisions agree to 30 digits AND the later one kept at
    least 25 digits through its worst cancellation (a sum of rounded terms, or a log of a rounded
    number near 1; agreement alone is no proof: 1 − σ(709) is exactly 0 at 50, 100 and 300 digits,
    1 + e^−709 rounding to 1 at each). The formula as written may cancel, in mpmath too: 1 − tanh²(88)
    needs 77 digits; a 0 is taken as 0 only when it is 0 at 300 and at 1200 digits, so
    log(1 + e^−709) = 1.2e−308, 0 at 300 digits, is not read as 0. Returns (mpf, or None where no
    precision up to 2400 digits determined it: "unresolved"; digits used). At 2400 digits agreement
    with 1200 is accepted whatever was cancelled (what both absorbed is below 10^−1200 of its sum);
    NaN where the formula is not a real number there. A ±inf or NaN reached through a sum of rounded terms
    that came out exactly 0 (1 − cos x at x = 1e−300 below ~620 digits) is no value: it climbs, and one still
    there at 2400 digits is None (log(1 − cos x) at x = −1e−300: −inf at 50, 100 and 300 digits, −1382.24 at
    1200 and 2400)."""
    return references((expr,), env_floats)[0]


@functools.lru_cache(maxsize=256)
def _joint_plan(exprs: tuple) -> tuple:
    """(plan, reach of each output): one :class:`_Plan` for several outputs, their equal subtrees one slot."""
    plan = _Plan(*exprs)
    return plan, [plan.reach(i) for i in range(len(exprs))]


def references(exprs, env_floats: dict) -> list:
    """:func:`reference` of each of ``exprs`` at one point, [(mpf or None, digits), …], evaluated together: a
    subtree the outputs share (a formula's exponentials and sums, which its gradients repeat) is computed once at
    each precision, and an output leaves the ladder as soon as its own two precisions agree (the same rule, and the
    same values bit for bit, as one at a time: each output's cancellation is read from the slots it reaches). A
    formula's value and its 8 gradients (a written 4-class cross-entropy) share most of their nodes: 192 slots
    evaluated one output at a time, 55 together."""
    exprs = tuple(exprs)
    plan, reach = _joint_plan(exprs)
    out: list = [None] * len(exprs)
    previous: list = [None] * len(exprs)
    pending = list(range(len(exprs)))
    for dps in LADDER:
        track = _SlotTrack()
        with mpmath.workdps(dps):
            env = {s: mpmath.mpf(v) for s, v in env_floats.items()}
            vals = [_UNSET] * len(plan.rules)
            values, lost = {}, {}
            for i in pending:
                try:
                    # a slot that raised stays unset: an output that needs it raises there too, as it would alone
                    _run(plan.mains[i], plan.rules, vals, env, track)
                    values[i] = +vals[plan.roots[i]][0]
                except (ValueError, ZeroDivisionError, OverflowError, TypeError):
                    values[i] = mpmath.mpf("nan")
            for i in pending:
                ratio = track.worst_of(reach[i])
                # ("cancelled to 0", "kept 25 digits"), the log10 (where needed) at this precision, as it was
                # taken at each sum
                lost[i] = (mpmath.isinf(ratio), _lost_at_most(ratio, dps - _KEEP))
        still = []
        for i in pending:
            value = values[i]
            # at the last rung, agreement with 1200 digits is taken as it stands: what both absorb is
            # below 10^−1200 of its sum (e^−2763), past every dtype's range in all but contrived formulas.
            # ±inf or NaN is taken as it stands too, unless a sum of rounded terms came out exactly 0 on the
            # way (lost = inf): then it is that 0's, which a higher precision may resolve (log(1 − cos x) at
            # x = 1e−300: 1 − cos x is 0 below ~620 digits, −inf at 50 and 100, −1382.24 at 1200 and 2400); at
            # the last rung still so, it is undetermined (None), never an overflow of the code measured
            total, enough = lost[i]
            kept = (((mpmath.isnan(value) or mpmath.isinf(value)) and not total) or enough
                    or (dps == LADDER[-1] and mpmath.isfinite(value)))
            # a 0 with nothing cancelled on the way (0 = 1 − t at t = 1, summed exactly) is a true 0 at once
            sure_zero = value == 0 and previous[i] == 0 and enough
            if previous[i] is not None and kept and (sure_zero or _agree(value, previous[i], dps)):
                out[i] = (value, dps)
            else:
                previous[i] = value
                still.append(i)
        pending = still
        if not pending:
            break
    for i in pending:
        out[i] = (None, LADDER[-1])
    return out


def _reciprocal(e) -> bool:
    return e.is_Pow and e.exp == -1 and not e.base.is_number


def torch_value(expr: sp.Basic, env: dict, torch):
    """``expr`` in torch, tensors in ``env``: each registry function through its torch reference
    (``Function.torch``), a Piecewise as nested ``torch.where``."""
    from ..registry import entry_of

    if expr.is_Symbol:
        return env[expr]
    if expr.is_Number or expr.is_NumberSymbol:
        return float(expr)
    if expr is sp.true or expr is sp.false:
        return bool(expr)
    if isinstance(expr, sp.Piecewise):
        out = None
        for value, cond in reversed(expr.args):
            v = torch_value(value, env, torch)
            if out is None:
                out = v if torch.is_tensor(v) else torch.full_like(next(iter(env.values())), v)
                continue
            c = torch_value(cond, env, torch)
            if c is True:
                out = v if torch.is_tensor(v) else torch.full_like(out, v)
            elif c is not False:
                out = torch.where(c, v if torch.is_tensor(v) else torch.tensor(v, dtype=out.dtype), out)
        return out
    if expr.is_Mul and any(_reciprocal(a) for a in expr.args):
        # x/y, as written and as SymPy stores it, is x·y⁻¹: one division, not a reciprocal rounded and then multiplied
        out = None
        for a in [a for a in expr.args if not _reciprocal(a)] + [a for a in expr.args if _reciprocal(a)]:
            if _reciprocal(a):
                v = torch_value(a.base, env, torch)
                out = (1.0 if out is None else out) / v
            else:
                v = torch_value(a, env, torch)
                out = v if out is None else out * v
        return out
    args = [torch_value(a, env, torch) for a in expr.args]
    if expr.is_Add:
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if expr.is_Mul:
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if expr.is_Pow:
        b, e = args
        if not torch.is_tensor(e) and e == 0.5:  # an exponent that is an input is a tensor of many values
            return torch.sqrt(b) if torch.is_tensor(b) else math.sqrt(b)
        if not torch.is_tensor(b) and not torch.is_tensor(e):
            # a constant power as written, 10**400: Python's float power raises OverflowError where float64 rounds to
            # ±inf (symnet verify '10**400*x' ended in that traceback, session 49); torch's pow rounds as the formula
            # run in float64 does
            return float(torch.tensor(float(b), dtype=torch.float64) ** float(e))
        return b ** e
    if isinstance(expr, sp.core.relational.Relational):
        lhs, rhs = args
        return {"<": lambda: lhs < rhs, "<=": lambda: lhs <= rhs, ">": lambda: lhs > rhs,
                ">=": lambda: lhs >= rhs, "==": lambda: lhs == rhs, "!=": lambda: lhs != rhs}[expr.rel_op]()
    if isinstance(expr, (sp.And, sp.Or)):
        out = args[0]
        for a in args[1:]:
            out = (out & a) if isinstance(expr, sp.And) else (out | a)
        return out
    if isinstance(expr, sp.Not):
        return ~args[0]
    if isinstance(expr, sp.ITE):
        return torch.where(args[0], args[1], args[2])
    args = [a if torch.is_tensor(a) else torch.tensor(a, dtype=next(iter(env.values())).dtype) for a in args]
    if isinstance(expr, (sp.Max, sp.Min)):
        f = torch.maximum if isinstance(expr, sp.Max) else torch.minimum
        out = args[0]
        for a in args[1:]:
            out = f(out, a)
        return out
    if isinstance(expr, sp.Heaviside):
        return torch.heaviside(args[0], args[1] if len(args) > 1 else torch.full_like(args[0], 0.5))
    if isinstance(expr, softplus):
        return torch.nn.functional.softplus(args[0])  # torch's as written (threshold 20)
    entry = entry_of(type(expr))
    if entry is None or entry.torch is None:
        raise NotEvaluable(f"no torch reference for {type(expr).__name__}")
    return entry.torch(torch, *args)
