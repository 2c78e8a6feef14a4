"""Checking whole-formula steps on the computational graph, node by node.

A written-out network of a few layers expands into a formula of tens of thousands of
operations; comparing two such expansions symbolically (or even evaluating them as trees)
costs time that grows with the expanded size. Here the comparison is made on the graph
instead: at a few random points the value of every node is computed once, in mpmath at
:data:`DIGITS` significant digits, from its own (small) defining expression; a derivative
of the output is computed from the same node values by the chain rule in forward mode,
with each node's local derivative taken by SymPy's ``diff`` of that node's elementary form
(independent of the engine's rule table and of its reverse sweep). A step's value,
written in node names, is evaluated from the node values and compared with that
reference to ``DIGITS − 5`` digits. Cost per check: one pass over the graph per point.

A disagreement means the step is false (:class:`DerivationError`); where no point can be
evaluated (a function mpmath does not know, a formula undefined at every point tried) the
checker reports that it cannot decide, and the caller falls back to the expanded check.
"""
from __future__ import annotations

import random

import mpmath
import sympy as sp

from .bounds import MAX_DIGITS
from .records import BoundedRecord
from .errors import DerivationError
from .functions import explicit

__all__ = ["DIGITS", "GraphCheck", "evaluate"]

DIGITS = 30
_MAX_MAG = int(MAX_DIGITS * 3.33) + 1  # binary magnitude of 10^MAX_DIGITS: values beyond it are not checked


class Unevaluable(Exception):
    """An expression that has no finite real value at a point (or one mpmath cannot compute)."""


class NotReal(Unevaluable):
    """An expression whose value at a point is not real (a log or root of a negative number there)."""


def _heaviside(x, *_):
    if x == 0:  # on the kink itself: no point is judged there
        raise Unevaluable("Heaviside at 0")
    return mpmath.mpf(1) if x > 0 else mpmath.mpf(0)


_KNOWN = {
    sp.exp: mpmath.exp, sp.log: mpmath.log, sp.sin: mpmath.sin, sp.cos: mpmath.cos,
    sp.tan: mpmath.tan, sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh, sp.cosh: mpmath.cosh,
    sp.atan: mpmath.atan, sp.asin: mpmath.asin, sp.acos: mpmath.acos, sp.Abs: abs,
    sp.sign: mpmath.sign, sp.Heaviside: _heaviside, sp.erf: mpmath.erf,
    sp.Max: lambda *a: max(a), sp.Min: lambda *a: min(a), sp.DiracDelta: lambda *_: mpmath.mpf(0),
}
_LAMBDIFIED: dict = BoundedRecord()  # keyed by function class: widened classes too


def _function(e: sp.Expr):
    f = _KNOWN.get(e.func)
    if f is not None:
        return f
    key = (e.func, len(e.args))
    if key not in _LAMBDIFIED:
        from .registry import entry_of

        entry = entry_of(e.func)
        if entry is not None and entry.mpmath is not None:  # the registry's high-precision reference
            _LAMBDIFIED[key] = entry.mpmath
            return entry.mpmath
        # else symnet's own functions (σ, relu, softplus …): their elementary form in mpmath
        dummies = [sp.Dummy() for _ in e.args]
        try:
            body = explicit(e.func(*dummies))
            _LAMBDIFIED[key] = sp.lambdify(dummies, body, modules=[{"Heaviside": _heaviside}, "mpmath"])
        except Exception:  # noqa: BLE001 - a function mpmath cannot evaluate: undecidable here
            _LAMBDIFIED[key] = None
    f = _LAMBDIFIED[key]
    if f is None:
        raise Unevaluable(f"no mpmath form of {e.func}")
    return f


def _real(v):
    if isinstance(v, mpmath.mpc):
        if abs(v.imag) > mpmath.mpf(10) ** (-DIGITS) * max(1, abs(v.real)):
            raise NotReal("not real")
        v = v.real
    if not mpmath.isfinite(v):
        raise Unevaluable("not finite")
    if v and mpmath.mag(v) > _MAX_MAG:  # mpmath's e^v costs time and memory in proportion to v's size
        raise Unevaluable(f"beyond 10^±{MAX_DIGITS}")  # e^e^…^x, 12 deep, took hours (ln 2 to e^e^… bits)
    return v


def evaluate(e: sp.Basic, values: dict, memo: dict | None = None):
    """The value of ``e`` with ``values`` (symbol → mpf) at the current mpmath precision;
    shared sub-expressions are evaluated once. Raises :class:`Unevaluable`."""
    memo = {} if memo is None else memo
    stack = [e]
    while stack:  # iterative: deep formulas must not exhaust Python's recursion limit
        x = stack[-1]
        if x in values or x in memo:
            stack.pop()
            continue
        if x.is_Number or x.is_NumberSymbol or x in (sp.true, sp.false):
            memo[x] = _constant(x)
            stack.pop()
            continue
        if x.is_Symbol or isinstance(x, sp.Indexed):
            raise Unevaluable(f"no value for {x}")
        if isinstance(x, sp.Piecewise):
            memo[x] = _piecewise(x, values, memo)
            stack.pop()
            continue
        pending = [a for a in x.args if a not in values and a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[x] = _combine(x, [values[a] if a in values else memo[a] for a in x.args])
    return values[e] if e in values else memo[e]


def _constant(x):
    if x is sp.true or x is sp.false:
        return bool(x)
    if x.is_Integer:
        return mpmath.mpf(int(x))
    if x.is_Rational:
        return mpmath.mpf(int(x.p)) / int(x.q)
    v = sp.N(x, DIGITS + 10)
    if not v.is_Float:
        raise Unevaluable(f"{x} is not a finite real number")
    return mpmath.mpf(v._mpf_)


def _piecewise(x, values, memo):
    for value, condition in x.args:
        if evaluate(condition, values, memo):
            return evaluate(value, values, memo)
    raise Unevaluable("no branch of a Piecewise applies")


_RELATIONS = {
    sp.StrictGreaterThan: lambda a, b: a > b, sp.GreaterThan: lambda a, b: a >= b,
    sp.StrictLessThan: lambda a, b: a < b, sp.LessThan: lambda a, b: a <= b,
    sp.Eq: lambda a, b: a == b, sp.Ne: lambda a, b: a != b,
}


def _combine(x, args):
    try:
        if x.is_Add:
            return _real(mpmath.fsum(args))
        if x.is_Mul:
            return _real(mpmath.fprod(args))
        if x.is_Pow:
            base, exp = args
            if base == 0 and exp < 0:
                raise Unevaluable("division by zero")
            return _real(mpmath.power(base, exp))
        if x.func in _RELATIONS:
            return _RELATIONS[x.func](*args)
        if isinstance(x, sp.And):
            return all(args)
        if isinstance(x, sp.Or):
            return any(args)
        if isinstance(x, sp.Not):
            return not args[0]
        if isinstance(x, sp.ITE):  # a Piecewise condition's if-then-else (focal's large-argument branch)
            return args[1] if args[0] else args[2]
        if isinstance(x, (sp.Function, sp.Max, sp.Min)):  # Max and Min are no Functions in SymPy
            try:
                return _real(mpmath.mpmathify(_function(x)(*args)))
            except Unevaluable:
                raise
            except Exception as exc:  # noqa: BLE001 - a function mpmath cannot evaluate here
                raise Unevaluable(f"{x.func}: {exc}") from None
    except (ZeroDivisionError, ValueError, TypeError, OverflowError) as exc:
        raise Unevaluable(str(exc)) from None
    raise Unevaluable(f"cannot evaluate {type(x).__name__}")


class GraphCheck:
    """Node values and forward-mode derivatives of a program at a few random points.

    ``program`` is a :class:`symnet.engine.Program`; ``sample`` draws a point (a dict
    symbol → SymPy number) from a :class:`random.Random`. ``ready`` is False where no point
    could be evaluated; the caller then checks another way."""

    def __init__(self, program, sample, points: int = 3, seed: int = 20261130):
        self.program = program
        self.definitions = program.definitions
        self.order = [t for t, _ in program.assignments]
        self.position = {t: k for k, t in enumerate(self.order)}
        self.users: dict = {}
        for t, e in program.assignments:
            for a in e.free_symbols:
                self.users.setdefault(a, []).append(t)
        self.points: list[dict] = []
        self._local_forms: dict = {}
        rng = random.Random(seed)
        # points of distinct sign patterns of the inputs first: a step false only where x < 0 and y < 0 (log x + log y
        # for log(x·y)) went unseen at 3 points of x·y > 0 all with x > 0 (session 34, h-domain34)
        signs, again = set(), []

        def with_nodes(values):  # the point with every node's value; Unevaluable where one is not real
            for t in self.order:
                values[t] = evaluate(self.definitions[t], values)
            return values

        with mpmath.workdps(DIGITS):
            for _ in range(points * 5):
                if len(self.points) >= points:
                    break
                try:
                    drawn = sample(program.inputs, rng)
                    values = {s: mpmath.mpf(v._mpf_) if v.is_Float else _constant(v) for s, v in drawn.items()}
                    pattern = tuple(values[s] > 0 for s in program.inputs)
                    if pattern in signs:
                        again.append(values)
                        continue
                    self.points.append(with_nodes(values))
                except Unevaluable:
                    continue
                signs.add(pattern)
            for values in again:  # too few patterns: points of a pattern seen before
                if len(self.points) >= points:
                    break
                try:
                    self.points.append(with_nodes(values))
                except Unevaluable:
                    continue
        self._local_values = [{} for _ in self.points]
        self._tangents = [{} for _ in self.points]
        self.ready = bool(self.points)

    def _local(self, v, u):
        """∂v/∂u by SymPy's diff of v's elementary form (node-local, independent of the rules)."""
        if (v, u) not in self._local_forms:
            self._local_forms[(v, u)] = sp.diff(explicit(self.definitions[v]), u)
        return self._local_forms[(v, u)]

    def tangent(self, seed, k: int) -> dict:
        """d(node)/d(seed) at point k for every node downstream of ``seed`` (held free)."""
        if seed not in self._tangents[k]:
            self._tangents[k][seed] = self._tangent_at(seed, self.points[k], self._local_values[k])
        return self._tangents[k][seed]

    def _tangent_at(self, seed, values: dict, local_values: dict) -> dict:
        """d(node)/d(seed) for every node downstream of ``seed``, at the node ``values`` (local derivatives cached
        in ``local_values``), at the current precision."""
        t = {seed: mpmath.mpf(1)}
        start = self.position.get(seed, -1)
        for v in self.order[start + 1:]:
            total = mpmath.mpf(0)
            for u in self.definitions[v].free_symbols:
                if u in t:
                    if (v, u) not in local_values:
                        local_values[(v, u)] = evaluate(self._local(v, u), values)
                    total += local_values[(v, u)] * t[u]
            t[v] = total
        return t

    def _equal_finer(self, expr, num, den, k: int) -> bool:
        """Whether ``expr`` equals d(num)/d(den) at point k with every node recomputed from the inputs at 4× the
        digits (h-hyp51): a node that cancels, log1p(−σ(e^(x − z))) with σ = 1 − 2.4e−11, keeps 19 of the 30
        digits, so a step written in other nodes (σ itself) and the chain of local derivatives could differ by
        2e−21, past the tolerance, where both are right (celu(tan(y)³) − celu(bce(σ(e^(x − z)), σ(z))) was refused,
        "step ∂f/∂u4 is false: … it is −0.855610809354, the derivative there is −0.855610809354")."""
        with mpmath.workdps(4 * DIGITS):
            try:
                values = {s: self.points[k][s] for s in self.program.inputs}
                for t in self.order:
                    values[t] = evaluate(self.definitions[t], values)
                want = self._tangent_at(den, values, {}).get(num, mpmath.mpf(0))
                got = evaluate(expr, values)
            except Unevaluable:
                return False
            return abs(got - want) <= mpmath.mpf(10) ** (5 - DIGITS) * max(1, abs(got), abs(want))

    def derivative_equals(self, expr: sp.Expr, num, den, what: str) -> bool:
        """Whether ``expr`` (in node names and inputs) equals d(num)/d(den), with node ``den``
        held free, at every point; False only where no point could be evaluated.

        Raises :class:`DerivationError` where they differ."""
        decided = 0
        with mpmath.workdps(DIGITS):
            tolerance = mpmath.mpf(10) ** (5 - DIGITS)
            for k, values in enumerate(self.points):
                try:
                    want = self.tangent(den, k).get(num, mpmath.mpf(0))
                except Unevaluable:
                    continue
                try:
                    got = evaluate(expr, values)
                except NotReal:  # every node of the formula is real at this point: so must the step be
                    raise DerivationError(f"{what} is false: at a random point, where the formula is real, it is not "
                                          f"real (the derivative there is {mpmath.nstr(want, 12)})") from None
                except Unevaluable:
                    continue
                if abs(got - want) > tolerance * max(1, abs(got), abs(want)) and \
                        not self._equal_finer(expr, num, den, k):
                    raise DerivationError(f"{what} is false: at a random point it is {mpmath.nstr(got, 12)}, "
                                          f"the derivative there is {mpmath.nstr(want, 12)}")
                decided += 1
        return decided > 0
