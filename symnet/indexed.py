"""The index-form engine: layers, Kronecker deltas and recurrences, without Jacobians.

A layer is written entry by entry (``z[i] = Σ_k W[i,k]·a[k] + b[i]``) with SymPy's
``Indexed`` objects. The engine differentiates entries with respect to entries, which
gives Kronecker deltas (``∂z_i/∂W_jk = δ_ij·a_k``), and then *contracts* every sum over
a delta (``Σ_i δ_i·δ_ij·a_k = δ_j·a_k``). So ``∂C/∂W = δ aᵀ`` is reached for any layer
size without ever building the (n × n·m) Jacobian.

A family used one step later in time (``h[t-1, k]``) is handled the same way: the delta
``δ(t', t + 1)`` contracts a sum over time, which is how the BPTT recurrence appears.
Adjoints at indices outside their family's range (``δ^{T+1}``) are zero.

Every step is checked by instantiation: the sizes are set to small numbers, every sum
is written out, and both sides are compared entry by entry, with local derivatives
compared against SymPy's ``diff`` of the written-out entries.
"""
from __future__ import annotations

import itertools
from typing import Mapping, Sequence

import sympy as sp

from .derivation import Partial, Section, Step
from .render import shown as _shown
from .errors import DerivationError
from .stepcheck import check_equal

__all__ = ["contract", "IndexedDerivative", "derive_indexed", "Iverson"]


class Iverson(sp.KroneckerDelta):
    """The Kronecker delta written as an Iverson bracket: ``[i = j]`` is 1 if i = j, else 0.

    For the derivations whose error signal is already called δ, as the lecture calls it
    (δ^l = ∂C/∂z^l): there a Kronecker δ_ij beside the error's δ_j reads as the error
    (Σ_i a_k·δ_i·δ_ij). Graham, Knuth and Patashnik, *Concrete Mathematics* (2nd ed.,
    §2.1), write the delta so for the same reason. It is a ``KroneckerDelta`` in every
    other respect: it evaluates, differentiates and contracts as one; ``lambdify`` and the code
    printers print it as the conditional it is, ``(1 if i == j else 0)``.
    """

    def _bracket_code(self, printer):
        i, j = (printer._print(a) for a in self.args[:2])
        return f"(1 if {i} == {j} else 0)"

    _mpmathcode = _pythoncode = _lambdacode = _bracket_code


def _fresh(name: str, taken: set) -> sp.Symbol:
    candidate = name
    while candidate in taken:
        candidate += "'"
    taken.add(candidate)
    return sp.Symbol(candidate, integer=True)


def _terms(expr: sp.Expr, taken: set) -> list:
    """``expr`` as a list of (factor, limits): a sum of products with the sums outside."""
    if expr.is_Add:
        return [t for a in expr.args for t in _terms(a, taken)]
    if isinstance(expr, sp.Sum):
        out = []
        renames = {}
        limits = []
        for var, lo, hi in expr.limits:
            new = _fresh(var.name, taken)
            renames[var] = new
            limits.append((new, lo, hi))
        body = expr.function.xreplace(renames)
        for f, lims in _terms(body, taken):
            out.append((f, tuple(limits) + lims))
        return out
    if expr.is_Mul:
        result = [(sp.S.One, ())]
        for a in expr.args:
            parts = _terms(a, taken) if (a.has(sp.Sum) or a.has(sp.KroneckerDelta)) and \
                (a.is_Add or isinstance(a, sp.Sum) or a.is_Mul) else [(a, ())]
            result = [(f1 * f2, l1 + l2) for f1, l1 in result for f2, l2 in parts]
        return result
    return [(expr, ())]


def _eliminate(factor: sp.Expr, limits: list) -> tuple:
    """Use each Kronecker delta to do the sum over one of its indices."""
    changed = True
    while changed and limits:
        changed = False
        for lim in list(limits):
            var = lim[0]
            for delta in sorted(factor.atoms(sp.KroneckerDelta), key=sp.default_sort_key):
                if var not in delta.free_symbols or delta not in sp.Mul.make_args(factor):
                    continue
                solution = sp.solve(delta.args[0] - delta.args[1], var)
                # a delta with a data index (the correct class rᵗ of [c = rᵗ]) is left in
                # its sum: Σ_c Wᵒ_cj·(yᵗ_c − [c = rᵗ]) reads as y − onehot(r), the lecture's
                # form, where doing the sum gives a weight indexed by data, Wᵒ_(rᵗ)j
                if len(solution) != 1 or solution[0].has(sp.Indexed):
                    continue
                rest = sp.Mul(*[f for f in sp.Mul.make_args(factor) if f != delta])
                factor = rest.subs(var, solution[0])  # subs: bound indices stay bound
                limits.remove(lim)
                changed = True
                break
            if changed:
                break
    return factor, limits


def _canonical(factor: sp.Expr, limits: list) -> tuple:
    """Give the remaining summation indices their plain names back (i'' becomes i) where
    free, so that terms summed over the same index group into one sum."""
    free = {s.name for s in factor.free_symbols} - {lim[0].name for lim in limits}
    renames, out = {}, []
    for var, lo, hi in limits:
        name = var.name.rstrip("'")
        while name in free:
            name += "'"
        free.add(name)
        new = sp.Symbol(name, integer=True)
        renames[var] = new
        out.append((new, lo, hi))
    return factor.xreplace(renames), out


def contract(expr: sp.Expr) -> sp.Expr:
    """Sums over Kronecker deltas done; what remains grouped as Σ over the same indices."""
    taken = {s.name for s in expr.atoms(sp.Symbol)}  # bound indices too: no capture
    grouped: dict = {}
    for factor, limits in _terms(expr, taken):
        factor, limits = _eliminate(factor, list(limits))
        if factor == 0:
            continue
        factor, limits = _canonical(factor, limits)
        used = [lim for lim in limits if factor.has(lim[0])]
        scale = sp.Mul(*[(lim[2] - lim[1] + 1) for lim in limits if lim not in used])
        grouped.setdefault(tuple(used), []).append(factor * scale)
    out = sp.S.Zero
    for limits, factors in grouped.items():
        body = sp.factor_terms(sp.Add(*factors))
        if not limits:
            out += body
            continue
        bound = {lim[0] for lim in limits}
        outside = [f for f in sp.Mul.make_args(body) if not (f.free_symbols & bound)]
        inside = [f for f in sp.Mul.make_args(body) if f.free_symbols & bound]
        out += sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *limits)
    return out


# ---------------------------------------------------------------- instantiation checks

def _instantiate(expr: sp.Expr, sizes: Mapping, index_values: Mapping, ranges: Mapping,
                 adjoints: Mapping | None = None) -> sp.Expr:
    """``expr`` with sizes and indices set to numbers and every sum written out."""
    e = expr.xreplace(dict(sizes)).subs(index_values)  # subs leaves bound indices alone
    e = e.replace(lambda x: isinstance(x, sp.Sum), lambda x: x.doit())
    e = e.doit() if e.has(sp.Sum) else e
    if adjoints:
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base in adjoints,
                      lambda x: adjoints[x.base](x.indices))
    return e


def _index_points(indices: Sequence, ranges: Mapping, sizes: Mapping, limit: int = 12):
    spans = []
    for i in indices:
        lo, hi = ranges[i]
        spans.append(range(int(sp.sympify(lo).xreplace(sizes)), int(sp.sympify(hi).xreplace(sizes)) + 1))
    points = list(itertools.product(*spans))
    if len(points) > limit:  # first, last and an even spread between
        step = max(1, len(points) // limit)
        points = sorted(set(points[::step] + [points[-1]]))
    return [dict(zip(indices, p)) for p in points]


class IndexedDerivative:
    """The result of :func:`derive_indexed`: sections of steps and the gradients."""

    def __init__(self, sections, gradients, adjoints, locals_):
        self.sections = tuple(sections)
        self.gradients = gradients
        self.adjoints = adjoints
        self.local_partials = locals_
        self.gradient_of = {w.base: w for w in gradients}
        self.gradients_keys = {w.base: tuple(w.indices) for w in gradients}


def derive_indexed(assignments: Sequence, *, ranges: Mapping, seed: tuple, wrt: Sequence,
                   sizes: Mapping, names: Mapping | None = None, cost: sp.Symbol | None = None,
                   probes: Mapping | None = None, iverson: bool = False) -> IndexedDerivative:
    """Reverse-mode derivation of an index-form program.

    ``assignments``: ``(lhs, rhs)`` pairs in order, ``lhs`` an ``Indexed`` such as ``z[i]``.
    ``ranges``: each index symbol → ``(lo, hi)`` (inclusive).
    ``seed``: ``(y[i], g[i])``, the given upstream gradient ∂C/∂y_i = g_i of the last family.
    ``wrt``: families wanted, written with the indices to show them at (``W[j, k]``).
    ``sizes``: small numbers for the size symbols, used to check each step.
    ``names``: family base → ``IndexedBase`` naming its adjoint (``z → δ``).
    ``probes``: family base → index symbols to write its adjoint at (default: from ``wrt``
    or its own left-hand side).
    ``iverson``: write the Kronecker deltas as Iverson brackets [i = j] (:class:`Iverson`),
    for a derivation that names an adjoint δ; the printout's prose says so.
    """
    C = cost if cost is not None else sp.Symbol("C")
    names = dict(names or {})
    probes = dict(probes or {})
    families = [lhs.base for lhs, _ in assignments]
    lhs_of = {lhs.base: lhs for lhs, _ in assignments}
    rhs_of = {lhs.base: rhs for lhs, rhs in assignments}
    for w in wrt:
        probes.setdefault(w.base, tuple(w.indices))
    for lhs, _ in assignments:
        for i in lhs.indices:
            if i not in ranges:
                raise DerivationError(f"index {i} of {lhs} has no range")
    seed_lhs, seed_value = seed
    if seed_lhs.base not in lhs_of:
        raise DerivationError(f"the seed {seed_lhs} is not a family of the program")

    def uses(rhs: sp.Expr, base) -> bool:
        return any(x.base == base for x in rhs.atoms(sp.Indexed))

    # adjoint of each family as a function of concrete or symbolic indices
    adjoint_expr: dict = {}          # base -> (indices, expr) : the contracted value
    adjoint_ref: dict = {}           # base -> callable(indices) giving what later steps use

    def set_adjoint(base, indices, value):
        adjoint_expr[base] = (tuple(indices), value)
        if base in names:
            adjoint_ref[base] = lambda idx, b=base: names[b][tuple(idx)]
        else:
            # rename bound indices first, so that substituting cannot capture them
            adjoint_ref[base] = lambda idx, ix=tuple(indices), v=value: _rename_bound(
                v, {x.name for x in idx if isinstance(x, sp.Symbol)}).xreplace(dict(zip(ix, idx)))

    # named adjoints vanish outside their family's range (δ^(T+1) = 0)
    bounds = {names[b]: [ranges[i] for i in lhs_of[b].indices] for b in names if b in lhs_of}
    # a named adjoint (δ) can be used before its value is derived: that is a recurrence
    for base in names:
        adjoint_ref[base] = lambda idx, b=base: names[b][tuple(idx)]
    seed_idx = tuple(seed_lhs.indices)
    set_adjoint(seed_lhs.base, seed_idx, seed_value)
    steps_local, steps_back = [], []
    local_partials = {}
    shown_seed = names[seed_lhs.base][seed_idx] if seed_lhs.base in names else seed_value
    steps_back.append(Step(Partial(C, seed_lhs), _uniq((shown_seed, seed_value)), "given: the upstream gradient", "definition"))

    order = [b for b in reversed(families) if b != seed_lhs.base]
    order += [w.base for w in wrt if w.base not in lhs_of]
    checked_values: dict = {}
    for X in order:
        p = probes.get(X) or tuple(lhs_of[X].indices)
        for i in p:
            if i not in ranges:
                raise DerivationError(f"index {i} used for {X} has no range")
        X_at = X[p]
        consumers = [Y for Y in families if uses(rhs_of[Y], X)]
        unknown = [Y for Y in consumers if Y not in adjoint_ref]
        if unknown:
            raise DerivationError(
                f"the adjoint of {X} needs that of {unknown[0]}, which depends on it in turn "
                f"(a recurrence): name {unknown[0]}'s adjoint with names={{...}}")
        if not consumers:
            continue
        shown, valued = sp.S.Zero, sp.S.Zero
        for Y in consumers:
            q = tuple(lhs_of[Y].indices)
            clash = set(q) & set(p)
            if clash:  # rename the consumer's indices away from the probe's
                taken = {s.name for s in p} | {s.name for s in q}
                new = {i: _fresh(i.name, taken) for i in clash}
                for i, n in new.items():
                    ranges = {**ranges, n: ranges[i]}
                q = tuple(new.get(i, i) for i in q)
            rhs = _rename_bound(rhs_of[Y].xreplace(dict(zip(lhs_of[Y].indices, q))),
                                {s.name for s in p + q})
            local = contract(sp.diff(rhs, X_at))
            if iverson:
                local = local.replace(lambda e: type(e) is sp.KroneckerDelta, lambda e: Iverson(*e.args))
            _check_local(Y[q], X_at, rhs, local, ranges, sizes)
            local_partials[(Y, X)] = (q, p, local)
            why = "differentiate entry by entry" + (  # the note only where a δ is shown (∂z_i/∂a_k = W_ik has none)
                ("; the brackets are Kronecker deltas" if iverson else "; δ is the Kronecker delta")
                if local.has(sp.KroneckerDelta) else "")
            steps_local.append(Step(Partial(Y[q], X_at), (local,), why, "symbolic"))
            limits = [(i, *ranges[i]) for i in q]
            shown += sp.Sum(Partial(C, Y[q]) * Partial(Y[q], X_at), *limits)
            valued += sp.Sum(adjoint_ref[Y](q) * local, *limits)
        value = contract(valued)
        how = _check_indexed(valued, value, p, ranges, sizes, bounds)
        set_adjoint(X, p, value)
        lhs = Partial(C, X_at)
        forms = (shown, valued, value)
        if X in names:
            forms = forms  # the name is introduced on the left: δ_j = ∂C/∂z_j = …
            lhs = names[X][p]
            forms = (Partial(C, X_at),) + forms
        why = "chain rule, summed over every entry that uses %s" % _shown(X) + (
            ("; sums over the brackets contracted" if iverson else "; sums over δ contracted")
            if valued.has(sp.KroneckerDelta) else "")
        steps_back.append(Step(lhs, _uniq(forms), why, how))
        checked_values[X] = (p, value)

    gradients = {}
    for w in wrt:
        if w.base not in adjoint_expr:
            raise DerivationError(f"{w.base} does not influence the output")
        idx, value = adjoint_expr[w.base]
        gradients[w] = value.xreplace(dict(zip(idx, w.indices)))
    sections = [
        Section("Local derivatives, entry by entry", tuple(steps_local),
                "Differentiating one entry with respect to another gives Kronecker deltas "
                + ("written as Iverson brackets, [i = j] = 1 if i = j, else 0 (the lecture's δ_ij: "
                   "δ here is the error signal)" if iverson else "(δ_ij = 1 if i = j, else 0)")
                + "; no Jacobian matrix is ever formed."),
        Section("Backward pass", tuple(steps_back),
                "Each adjoint sums, over every entry that uses it, upstream adjoint × local "
                "derivative; each sum over a Kronecker delta collapses to one term. "
                "Adjoints at indices outside their range are zero."),
    ]
    return IndexedDerivative(sections, gradients, adjoint_expr, local_partials)


def _rename_bound(expr: sp.Expr, avoid: set) -> sp.Expr:
    """Rename summation indices that clash with the names in ``avoid``."""
    def rename(sum_):
        taken = set(avoid) | {getattr(s, "name", "") for s in sum_.free_symbols}
        mapping = {}
        for lim in sum_.limits:
            if lim[0].name in avoid:
                mapping[lim[0]] = _fresh(lim[0].name, taken)
        return sum_.xreplace(mapping) if mapping else sum_
    return expr.replace(lambda x: isinstance(x, sp.Sum), rename)


def _uniq(forms) -> tuple:
    out = []
    for f in forms:
        if not out or out[-1] != f:
            out.append(f)
    return tuple(out)


def _check_local(Yq, Xp, rhs, local, ranges, sizes) -> None:
    """∂Y_q/∂X_p from the delta form must match SymPy's diff of the written-out entry."""
    indices = sorted(set(Yq.indices) | set(Xp.indices), key=str)
    for point in _index_points([i for i in indices if isinstance(i, sp.Symbol)], ranges, sizes):
        written = _instantiate(rhs, sizes, point, ranges)
        target = Xp.xreplace(point)
        reference = sp.diff(written, target)
        claimed = _instantiate(local, sizes, point, ranges)
        check_equal(claimed, reference, f"local derivative ∂{Yq}/∂{Xp} at {point}")


def _outside_is_zero(e: sp.Expr, bounds: Mapping, sizes: Mapping) -> sp.Expr:
    def outside(x):
        spans = bounds[x.base]
        return any(idx.is_Integer and not (int(sp.sympify(lo).xreplace(sizes)) <= int(idx)
                                           <= int(sp.sympify(hi).xreplace(sizes)))
                   for idx, (lo, hi) in zip(x.indices, spans))
    return e.replace(lambda x: isinstance(x, sp.Indexed) and x.base in bounds and outside(x),
                     lambda x: sp.S.Zero)


def _check_indexed(before, after, free, ranges, sizes, bounds=None) -> str:
    """Both forms entry by entry with small sizes (the contraction was done right)."""
    how = "exact"
    free = list(free) + sorted({s for s in (before.free_symbols | after.free_symbols)
                                if s in ranges and s not in free}, key=str)
    for point in _index_points(free, ranges, sizes):
        a = _instantiate(before, sizes, point, ranges)
        b = _instantiate(after, sizes, point, ranges)
        if bounds:
            a, b = _outside_is_zero(a, bounds, sizes), _outside_is_zero(b, bounds, sizes)
        res = check_equal(a, b, f"contraction at {point}")
        if res == "numeric":
            how = "numeric"
        elif res == "symbolic" and how == "exact":
            how = "symbolic"
    return "symbolic" if how == "exact" else how


# ---------------------------------------------------------------- unrolling, for checks

def _range_of(index, ranges, sizes) -> range:
    lo, hi = ranges[index]
    return range(int(sp.sympify(lo).xreplace(sizes)), int(sp.sympify(hi).xreplace(sizes)) + 1)


def unroll(assignments: Sequence, ranges: Mapping, sizes: Mapping) -> dict:
    """Every entry of every family, written out in terms of the inputs (small sizes).

    Entries may refer to entries of a later family at an earlier time (h^(t−1) in s^t), so
    each entry is first written in terms of other entries, then resolved recursively."""
    raw: dict = {}
    for lhs, rhs in assignments:
        for combo in itertools.product(*[_range_of(i, ranges, sizes) for i in lhs.indices]):
            raw[lhs.base[combo]] = _instantiate(rhs, sizes, dict(zip(lhs.indices, combo)), ranges)
    forward: dict = {}

    def resolve(key):
        if key not in forward:
            entry = raw[key]
            forward[key] = entry.xreplace({x: resolve(x) for x in entry.atoms(sp.Indexed) if x in raw})
        return forward[key]

    for key in raw:
        resolve(key)
    return forward


def unrolled_gradient(result: IndexedDerivative, wrt_entry: sp.Indexed, forward: Mapping,
                      ranges: Mapping, sizes: Mapping, names: Mapping, seed_values: Mapping) -> sp.Expr:
    """The engine's gradient formula for one concrete entry, with every adjoint written
    out recursively (adjoints outside their family's range are zero)."""
    by_name = {names[b].label if hasattr(names[b], "label") else names[b]: b for b in names}
    memo: dict = {}

    def adjoint(name_base, idx) -> sp.Expr:
        family = by_name[name_base.label]
        key = (family, tuple(idx))
        if key in memo:
            return memo[key]
        indices, value = result.adjoints[family]
        in_range = all(int(v) in _range_of(i, ranges, sizes) for i, v in zip(indices, idx))
        out = expand(_instantiate(value, sizes, dict(zip(indices, idx)), ranges)) if in_range else sp.S.Zero
        memo[key] = out
        return out

    def expand(e: sp.Expr) -> sp.Expr:
        e = e.replace(lambda x: isinstance(x, sp.Indexed) and x.base in set(names.values()),
                      lambda x: adjoint(x.base, x.indices))
        e = e.xreplace({x: seed_values[x] for x in e.atoms(sp.Indexed) if x in seed_values})
        return e.xreplace({x: forward[x] for x in e.atoms(sp.Indexed) if x in forward})

    base_idx = dict(zip(result.gradients_keys[wrt_entry.base], wrt_entry.indices))
    formula = result.gradients[result.gradient_of[wrt_entry.base]]
    return expand(_instantiate(formula, sizes, base_idx, ranges))
