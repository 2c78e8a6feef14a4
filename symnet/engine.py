"""The scalar derivation engine: a computational graph, differentiated by the chain rule.

A formula becomes a straight-line program (the computational graph): one assignment
per operation, shared sub-expressions becoming shared nodes. The engine then records,
and checks as it records them:

* the forward pass (the assignments, and their values at a point if one is given);
* every local derivative ∂v/∂u of a node with respect to one of its arguments, by the
  rule table in :mod:`symnet.rules`, checked against SymPy's ``diff``;
* the reverse sweep: ∂out/∂u = Σ over the nodes v that use u of ∂out/∂v · ∂v/∂u (the
  sum over paths), checked against the derivative of the output with node u cut free;
* optionally the forward-mode sweeps, one per input, for comparison;
* the results, checked against ``diff`` of the whole formula in elementary functions.
"""
from __future__ import annotations

import numbers
import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import sympy as sp

from .bounds import check_exact, value_at
from .derivation import ByName, Derivation, NoGradients, Partial, Section, Step, default_title
from .errors import DerivationError, NotDifferentiableError, ParseError
from .functions import explicit
from .graphcheck import GraphCheck
from .parsing import (MAX_PROGRAM_NODES, as_expression, as_point, as_symbol, check_size, collected_checks, noted_checks,
                      parse_symbols)
from .render import shown as _shown
from .onesided import on_kink, one_sided, tidy_piecewise
from .rules import differentiate, kinks_of
from .stepcheck import check_equal, sample_point

__all__ = ["Program", "derive", "evaluate_gradients", "forward_expressions"]


def _is_leaf(e: sp.Expr) -> bool:
    if e.is_Atom:
        return True
    # a constant multiple of a symbol (−x, 2x) is not worth a node of its own
    return e.is_Mul and len(e.args) == 2 and e.args[0].is_Number and e.args[1].is_Atom


@dataclass(frozen=True)
class Program:
    """A computational graph as ordered assignments ``node := expression``."""

    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]
    outputs: tuple[sp.Symbol, ...]

    def __post_init__(self):
        defined: set = set()
        for target, expr in self.assignments:
            if not isinstance(target, sp.Symbol):
                raise DerivationError(f"an assignment target must be a symbol, not {target!r}")
            if target in defined:
                raise DerivationError(f"node {target} is assigned twice")
            if target in expr.free_symbols:
                raise DerivationError(f"node {target} is defined in terms of itself")
            defined.add(target)
        for out in self.outputs:
            if out not in defined:
                raise DerivationError(f"output {out} is not assigned in the program")
        by_name = {t.name: t for t in defined}
        for target, expr in self.assignments:  # Symbol("c") as a node, Symbol("c", real=True) read later: two
            for s in expr.free_symbols:        # variables named c, and the node's derivative silently 0
                if s not in defined and by_name.get(getattr(s, "name", None), s) != s:
                    raise DerivationError(f"node {target} reads a variable named {s} that is not the node {s} "
                                          f"(another SymPy symbol of that name: {sp.srepr(s)} against "
                                          f"{sp.srepr(by_name[s.name])}); use one symbol for each name")
        later = {t: k for k, (t, _) in enumerate(self.assignments)}
        for k, (target, expr) in enumerate(self.assignments):
            for s in expr.free_symbols:
                if later.get(s, -1) > k:
                    raise DerivationError(f"node {target} uses {s} before it is assigned")

    @property
    def nodes(self) -> tuple[sp.Symbol, ...]:
        return tuple(t for t, _ in self.assignments)

    @property
    def definitions(self) -> dict:
        return dict(self.assignments)

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        nodes = set(self.nodes)
        found: set = set()
        for _, expr in self.assignments:
            found |= {s for s in expr.free_symbols if s not in nodes}
        return tuple(sorted(found, key=sp.default_sort_key))

    @classmethod
    def from_assignments(cls, assignments: Iterable, outputs: Sequence | None = None) -> "Program":
        """A program from ``(target, expression)`` pairs; the last target is the output unless
        ``outputs`` names others. Targets may be symbols or names, expressions SymPy objects,
        numbers or text (parsed safely, see :mod:`symnet.parsing`); raises
        :class:`~symnet.errors.ParseError` for text the parser refuses and
        :class:`~symnet.errors.DerivationError` for a malformed program."""
        if isinstance(assignments, (str, bytes)) or not isinstance(assignments, Iterable):
            raise DerivationError("assignments must be a sequence of (target, expression) pairs, "
                                  f"not {type(assignments).__name__}")
        given = tuple(assignments)
        for pair in given:
            if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
                raise DerivationError(f"each assignment must be a (target, expression) pair, not {_brief(pair)}")
        pairs = tuple((as_symbol(t, "assignment target"), as_expression(e, "assigned expression"))
                      for t, e in given)
        if any(isinstance(part, str) for pair in given for part in pair):
            pairs = _one_symbol_per_name(pairs)
        targets = [t for t, _ in pairs]
        outputs = [as_symbol(o, "output", known=targets) for o in outputs] if outputs else None
        if not pairs:
            raise DerivationError("a program needs at least one assignment")
        depth_of, nodes = {}, 0  # depth: the program as one expression, as its derivation's result substitutes it
        for target, expr in pairs:
            depth_of[target], own = check_size(expr, "program", depth_of)
            nodes += own
            if nodes > MAX_PROGRAM_NODES:
                raise ParseError(f"the program is too large (more than {MAX_PROGRAM_NODES} distinct subexpressions "
                                 f"in its assignments together)")
        return cls(pairs, tuple(outputs) if outputs else (pairs[-1][0],))

    @classmethod
    def from_expressions(cls, exprs: Sequence[sp.Expr], outputs: Sequence[sp.Symbol],
                         prefix: str = "u") -> "Program":
        """Decompose formulas into one node per operation, sharing repeated sub-formulas."""
        taken = {str(s) for e in exprs for s in e.free_symbols} | {str(o) for o in outputs}
        counter = iter(range(1, 10**6))
        assignments: list = []
        node_of: dict = {}

        def fresh() -> sp.Symbol:
            while True:
                name = f"{prefix}{next(counter)}"
                if name not in taken:
                    return sp.Symbol(name, real=True)

        def node(e: sp.Expr, target: sp.Symbol | None = None) -> sp.Expr:
            if target is None and (_is_leaf(e) or e in node_of):
                return e if _is_leaf(e) else node_of[e]
            if e.is_Add:
                rebuilt = sp.Add(*[c * node(r) for c, r in (a.as_coeff_Mul() for a in e.args)])
            elif e.is_Mul:
                coeff, rest = e.as_coeff_Mul()
                rebuilt = coeff * sp.Mul(*[node(f) for f in sp.Mul.make_args(rest)])
            elif isinstance(e, sp.Piecewise):  # branches are nodes; conditions read nodes
                rebuilt = sp.Piecewise(*[(node(v), condition(c)) for v, c in e.args])
            elif e.args:
                rebuilt = e.func(*[node(a) for a in e.args])
            else:
                rebuilt = e
            if target is not None and e in node_of:
                rebuilt = node_of[e]
            sym = target if target is not None else fresh()
            assignments.append((sym, rebuilt))
            node_of.setdefault(e, sym)
            return sym

        def condition(c):
            if isinstance(c, sp.core.relational.Relational):
                return c.func(*[node(a) for a in c.args])
            if isinstance(c, (sp.And, sp.Or, sp.Not)):
                return c.func(*[condition(a) for a in c.args])
            return c

        for e, out in zip(exprs, outputs):
            node(e, out)
        return cls(tuple(assignments), tuple(outputs))


def _one_symbol_per_name(pairs: tuple) -> tuple:
    """Text makes real symbols; a name written as text and as a plain ``Symbol`` in the same
    program must still be one variable, so each name maps to the first symbol seen with it."""
    canonical: dict = {}
    for target, expr in pairs:
        canonical.setdefault(target.name, target)
    for _, expr in pairs:
        for s in sorted(expr.free_symbols, key=sp.default_sort_key):
            if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy):
                canonical.setdefault(s.name, s)

    def same(e: sp.Expr) -> sp.Expr:
        return e.xreplace({s: canonical[s.name] for s in e.free_symbols
                           if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy)})

    return tuple((canonical[t.name], same(e)) for t, e in pairs)


def _folded_condition(cond, folded: dict):
    """``cond`` with each relation that holds a select folded into an ITE of relations, one relation at a time
    (memoised in ``folded``): what ExprCondPair does to the whole condition (piecewise_fold, then rewrite(ITE)), but
    linear in its size. Folding And(r1, r2) whole makes a select of every combination of r1's and r2's branches
    (3^k for k relations of a 3-branch select) and SymPy orders, solves and simplifies each: past 60 CPU s for
    min(focal(relu(x), sinh(y)), y), whose gradient's conditions hold its select's comparison 100 times over
    (session 52, slow52). Exact: piecewise_fold and the ITE are equalities, relation by relation."""
    atoms = {}
    for r in cond.atoms(sp.core.relational.Relational):
        if r.has(sp.Piecewise):
            if r not in folded:
                f = sp.piecewise_fold(r)
                folded[r] = f.rewrite(sp.logic.boolalg.ITE) if isinstance(f, sp.Piecewise) else f
            atoms[r] = folded[r]
    return cond.xreplace(atoms) if atoms else cond


def _substituted(e, mapping: dict, memo: dict, folded: dict):
    """``e.xreplace(mapping)``, rebuilt bottom-up the same way, except that a select's conditions that come to hold
    selects are folded relation by relation (:func:`_folded_condition`) before SymPy's ExprCondPair sees them."""
    if e in memo:
        return memo[e]
    if e in mapping:
        out = mapping[e]
    elif not e.args:
        out = e
    else:
        args = tuple(_substituted(a, mapping, memo, folded) for a in e.args)
        if args == e.args:
            out = e
        elif isinstance(e, sp.functions.elementary.piecewise.ExprCondPair) and args[1].has(sp.Piecewise):
            out = e.func(args[0], _folded_condition(args[1], folded))
        else:
            out = e.func(*args)
    memo[e] = out
    return out


def _expander(program: Program):
    """Functions that write a node in terms of the inputs, optionally holding one node free."""
    definitions = program.definitions
    cache: dict = {}
    folded: dict = {}  # a relation holding a select → its folded ITE (shared by every substitution)

    def full(e: sp.Expr) -> sp.Expr:
        mapping = {s: in_inputs(s) for s in e.free_symbols if s in definitions}
        return _substituted(e, mapping, {}, folded) if mapping else e

    def in_inputs(sym: sp.Symbol) -> sp.Expr:
        if sym not in cache:
            cache[sym] = full(definitions[sym])
        return cache[sym]

    def holding(e: sp.Expr, free: sp.Symbol) -> sp.Expr:
        """``e`` in terms of the inputs and of node ``free``, which is left as a symbol."""
        memo: dict = {}

        def sub(s):
            if s == free or s not in definitions:
                return s
            if s not in memo:
                memo[s] = _substituted(definitions[s], {t: sub(t) for t in definitions[s].free_symbols}, {}, folded)
            return memo[s]

        return _substituted(e, {s: sub(s) for s in e.free_symbols}, {}, folded)

    return full, holding


def _chain(*forms: sp.Expr) -> tuple:
    """Equal forms of a step, without consecutive repeats."""
    out: list = []
    for f in forms:
        if not out or out[-1] != f:
            out.append(f)
    return tuple(out)


def _tidy(e: sp.Expr) -> sp.Expr:
    """A light, predictable tidy-up: combine like terms, pull out common factors."""
    if e.has(sp.Piecewise):  # expanding would split each branch into a sum of Piecewise
        return tidy_piecewise(e)
    return sp.factor_terms(sp.expand(e, deep=False, mul=True, multinomial=False, power_exp=False,
                                     power_base=False, log=False)) if e.is_Add else e


# the Result's last step for a rational function of one input: what the rational-function rule's generated code evaluates
COLLECT_WHY = ("collect the numerator: one denominator, the numerator expanded (its leading terms cancel exactly here, "
               "not in floating point: the form the generated code evaluates, rule rational-function)")


def _collected(expanded: sp.Expr, w: sp.Symbol) -> sp.Expr | None:
    """``expanded`` over one denominator with its numerator expanded, N/(c·∏Q_i^e_i), where it is a rational function
    of the one input ``w`` (the rational-function rule's own reading of it, symnet/codegen/rewrite/quotients.py
    ``_rational_parts``: (x² + 1)/(x² + 3x + 5)'s derivative shown as (3x² + 8x − 3)/(x² + 3x + 5)², where the
    substituted form is P′Q − PQ′ over Q² as written); None where it is not one, or is already in that form."""
    from .codegen.rewrite import _rational_parts  # (imported here: the code generator imports this module)

    parts = _rational_parts(expanded)
    if parts is None or parts[0] != w:
        return None
    x, numerator, factors, c = parts
    collected = numerator.as_expr() / (c * sp.Mul(*(q.as_expr() ** e for q, e in factors)))
    return None if collected == expanded else collected


TANH_WHY = "sinh(u)/cosh(u) = tanh(u)"


def _tanh_form(expanded: sp.Expr) -> sp.Expr | None:
    """``expanded`` with each quotient sinh(u)^k/cosh(u)^k written tanh(u)^k, as a reader writes it (log cosh's
    derivative printed sinh(p − t)/cosh(p − t)); None where it has none. A printed form only: the gradient the
    code generator reads is ``expanded``."""
    if not (expanded.has(sp.sinh) and expanded.has(sp.cosh)):
        return None

    def tanhs(m: sp.Mul) -> sp.Expr:
        powers = m.as_powers_dict()
        quotients = {b: k for b, k in powers.items()
                     if isinstance(b, sp.sinh) and powers.get(sp.cosh(b.args[0])) == -k and k.is_positive}
        if not quotients:
            return m
        rest = [b ** k for b, k in powers.items() if b not in quotients
                and not (isinstance(b, sp.cosh) and sp.sinh(b.args[0]) in quotients)]
        return sp.Mul(*rest, *(sp.tanh(b.args[0]) ** k for b, k in quotients.items()))

    written = expanded.replace(lambda e: isinstance(e, sp.Mul), tanhs)
    return None if written == expanded else written


def _describe_paths(n: int) -> str:
    return "chain rule" if n == 1 else f"multivariable chain rule: sum over the {n} paths"


def sympy_diff(expr: sp.Expr, w: sp.Symbol) -> sp.Expr:
    """SymPy's ``diff(expr, w)`` (the independent reference every step is checked against), with
    the factors of a product that do not contain ``w`` taken out first: ∂(c·g)/∂w = c·∂g/∂w.

    SymPy differentiates a product of m factors by the general Leibniz rule
    (``Mul._eval_derivative_n_times``: m terms of m derivatives each, m² derivative objects),
    so checking the n partials of x1·x2·…·xn cost n³ (n = 50: 9 s, n = 200: 385 s); with the
    constant factors out SymPy differentiates only what depends on ``w``."""
    if isinstance(expr, sp.Mul):
        independent, dependent = expr.as_independent(w, as_Add=False)
        if independent != 1:
            return independent * sp.diff(dependent, w)
    return sp.diff(expr, w)


def derive(f, wrt: Sequence | None = None, *, name: str = "", title: str = "",
           summary: str = "", output: str | sp.Symbol = "f", mode: str = "reverse",
           at: Mapping | None = None) -> Derivation:
    """Derive the gradient (or Jacobian) of ``f`` step by step.

    ``f`` is a SymPy expression (scalar output), a sequence of expressions (a vector
    function; the result is its Jacobian) or a :class:`Program` of named assignments.
    ``wrt`` lists the input symbols to differentiate with respect to (default: all).
    ``mode`` is ``"reverse"`` (backpropagation), ``"forward"`` or ``"both"``.
    ``at`` optionally maps inputs to numbers, to show every value at that point.

    Symbols not declared real are taken as real (an input ``x`` becomes ``Symbol("x",
    real=True)``); ``wrt`` and ``at`` may name inputs by their names. A Piecewise (``where``)
    is differentiated branch by branch. Text anywhere (``f``, the names in ``wrt`` and ``at``,
    the values in ``at``) is parsed by :mod:`symnet.parsing`, never evaluated as Python.

    Raises :class:`ParseError` for text it refuses; :class:`DerivationError` for a bad
    formula, ``wrt`` or ``at``, or a step that fails its check; :class:`NotDifferentiableError`
    when ``at`` sits on a kink (relu, |·|, max, a ``where`` boundary …) where the one-sided
    derivatives with respect to a requested variable differ, or where a value is undefined or
    not real; :class:`LimitError` where a value at the point is beyond the size limits of
    :mod:`symnet.bounds`.
    """
    if mode not in ("reverse", "forward", "both"):
        raise DerivationError(f"mode must be 'reverse', 'forward' or 'both', not {mode!r}")
    with collected_checks() as argument_checks:  # gaussian_nll(x, t, v) as text: v ≥ 0, for the generated code
        program, real = _real_program(_as_program(f, output))
    argument_checks = [replace(c, expr=c.expr.xreplace(real)) for c in argument_checks]  # a SymPy formula's x
    inputs = program.inputs  # wrt and at may name an input by its name (as_symbol)
    if wrt is None:
        wrt = inputs
    if isinstance(wrt, str):  # "x, y" or "x y", as --wrt and from_formula's inputs= take (session 17)
        wrt = [s.name for s in parse_symbols(wrt)]
    if isinstance(wrt, sp.Basic):
        wrt = [wrt]
    if not isinstance(wrt, Iterable):
        raise DerivationError(f"wrt must be a variable or a sequence of them, not {_brief(wrt)}")
    wrt = tuple(as_symbol(w, known=inputs) if isinstance(w, (str, sp.Symbol))
                else as_expression(w, "wrt entry") for w in wrt)
    for w in wrt:
        if not isinstance(w, sp.Symbol):
            raise DerivationError(f"can only differentiate with respect to a symbol, not {w}")
        if w not in inputs:
            names = ", ".join(map(str, inputs)) or "none"
            raise DerivationError(f"'{w}' does not appear in the formula (its inputs: {names})")
    repeated = sorted({str(w) for w in wrt if wrt.count(w) > 1})
    if repeated:
        raise DerivationError(f"wrt names {', '.join(repeated)} more than once; name each variable once")
    if not wrt and inputs:  # wrt=[] (or --wrt naming none): the formula has inputs, none was asked for
        raise DerivationError("nothing to differentiate with respect to: wrt names no variable; name one or more "
                              f"of the formula's inputs ({', '.join(map(str, inputs))}), or leave wrt out for all")
    if not wrt:
        raise DerivationError("nothing to differentiate with respect to: the formula has no inputs"
                              + _constant_note(program))
    for _, expr in program.assignments:  # I·x, (−1)^x: the parser refuses them; a SymPy formula too
        if expr.has(sp.I) or any(p.base.is_negative and p.exp.is_integer is not True for p in expr.atoms(sp.Pow)):
            raise DerivationError(f"{_brief(expr)} is not real; a formula is real-valued")
        infinite = expr.atoms(sp.core.numbers.Infinity, sp.core.numbers.NegativeInfinity, sp.zoo.func, sp.nan.func)
        if infinite:  # the parser refuses oo, zoo and nan by name; a SymPy formula's oo·x reached the printers, whose
            # NumPy and Triton code named an undefined oo (NameError when called; session 26, h-break26)
            named = sorted(map(str, infinite))[0]
            raise DerivationError(f"the formula holds {named}, which is not a finite number; a formula's numbers are "
                                  "finite (for a limit, write the finite formula it is the limit of)")
    point = as_point(at, known=inputs) if at is not None else {}
    for k in point:
        if k not in inputs:
            raise DerivationError(f"the point names '{k}', which is not an input of the formula")

    rewritten = _written_out(f) if isinstance(f, str) else []  # the user's functions the parser wrote out
    full, holding = _expander(program)
    depends = _dependencies(program, wrt)
    checks = _Checks(program)
    sections: list[Section] = []

    # 1. forward pass
    forward = []
    at_kink: set = set()  # nodes whose value sits on a kink of their function
    off_domain: dict = {}  # nodes whose value is not real at the point → why
    values: dict = dict(point)
    label = _label(point)
    for target, expr in program.assignments:
        if point and expr.free_symbols <= set(values):
            if on_kink(kinks_of(expr), values, _zero_at(values, label)):  # judged per variable, below
                at_kink.add(target)
            shown = _users(full(target))  # the user's sub-formula, not a hidden node's name
            what = f"{target} = {shown}" if target in program.outputs else shown
            try:
                values[target] = _value(expr, values, what, label)
            except NotDifferentiableError as exc:
                # where(x > 0, sqrt(x), x) at x = −4: the branch not taken need not be real. Its
                # value is kept as it is (complex, say); an output or result that uses it fails
                # below with this node's reason.
                cause = next((off_domain[u] for u in expr.free_symbols if u in off_domain), exc)
                if target in program.outputs or not _finite(raw := _raw_value(expr, values, label)):
                    raise cause from None
                off_domain[target], values[target] = exc, raw
                forward.append(Step(target, (expr,), "definition; not a real number at this point, "
                                    "and the result does not use it", "definition"))
                continue
            forward.append(Step(target, _chain(expr, _unevaluated(expr, values), values[target]),
                                "definition" + _convention(expr, values), "exact", approx=_approx(values[target])))
        else:
            forward.append(Step(target, (expr,), "definition", "definition"))
    sections.append(Section("Forward pass", tuple(forward),
                            "The formula as a computational graph: one node per operation." + _written_out_note(rewritten)))

    # 2. local derivatives, by the rule table, each checked against SymPy's diff
    local: dict = {}
    local_steps = []
    own: dict = {}  # a node that is its own derivative (e₁ = exp(z₁)) → its name, for the printout only
    for target, expr in program.assignments:
        if target not in depends:
            continue
        for u in sorted(expr.free_symbols & (depends | set(wrt)), key=sp.default_sort_key):
            value, rules = differentiate(expr, u)
            check = check_equal(value, sympy_diff(expr, u), f"local derivative ∂{target}/∂{u}")
            local[(target, u)] = value
            if value == expr and not expr.is_Atom:
                own[expr] = target
            local_steps.append(Step(Partial(target, u), _chain(value, target) if value == expr and not expr.is_Atom
                                    else _chain(value), "; ".join(rules), check))
    sections.append(Section("Local derivatives", tuple(local_steps),
                            "Each node's derivative with respect to each of its arguments."))

    # 3. reverse sweep, once per output
    jac = sp.zeros(len(program.outputs), len(wrt))
    in_graph: dict = {}
    if mode in ("reverse", "both"):
        for row, out in enumerate(program.outputs):
            steps, adjoint = _reverse_sweep(out, program, wrt, depends, local, full, holding, checks)
            title_ = "Backward pass (reverse mode)" + (f" for {_shown(out)}" if len(program.outputs) > 1 else "")
            v, u = _placeholders(program)
            text = ("Start from d{0}/d{0} = 1 and walk the graph backwards. d{0}/d{u} is the "
                    "derivative of {0} with respect to a node {u} along every path; ∂{v}/∂{u} is the "
                    "local derivative along one edge, from {u} to a node {v} that uses it. A node "
                    "used by several others sums their contributions.".format(_shown(out), u=u, v=v))
            sections.append(Section(title_, _named_nodes(steps, own), text))
            for col, w in enumerate(wrt):
                in_graph[(out, w)] = adjoint.get(w, sp.S.Zero)
    if mode in ("forward", "both"):
        for col, w in enumerate(wrt):
            steps, tangent = _forward_sweep(w, program, local, full, checks)
            sections.append(Section(f"Forward mode: seed d{_shown(w)}/d{_shown(w)} = 1", _named_nodes(steps, own),
                                    "Carry the derivative with respect to one input forward "
                                    "through the graph, alongside the values."))
            for row, out in enumerate(program.outputs):
                in_graph.setdefault((out, w), tangent.get(out, sp.S.Zero))
        if mode == "both":
            n_in, n_out = len(wrt), len(program.outputs)
            sections.append(Section("Forward versus reverse mode", (), (
                f"Forward mode needed {n_in} sweep{'s' if n_in > 1 else ''} (one per input) for "
                + (f"these {n_in * n_out} derivatives" if n_in * n_out > 1 else "this one derivative")
                + f"; reverse mode needed {n_out} (one per output). "
                "For a scalar loss of many parameters, reverse mode — backpropagation — is the "
                "cheap one.")))

    # 4. results in terms of the inputs, checked against diff of the whole formula
    results = []
    # the formula being derived: a step need hold only where it is real (stepcheck's numeric check judges only there)
    formula = [full(o) for o in program.outputs]
    for row, out in enumerate(program.outputs):
        for col, w in enumerate(wrt):
            value = in_graph[(out, w)]
            # written out, a large result is left as the substitution gives it (tidying it
            # costs time that grows with its written-out size)
            expanded = full(value) if checks.large(out) else _tidy(full(value))

            def written_out(expanded=expanded, w=w, opaque=False):
                form = (lambda e: e) if opaque else explicit
                return form(expanded), sympy_diff(form(full(out)), w)

            check = checks.derivative(expanded, out, w, f"result ∂{out}/∂{w}", written_out)
            if check is None:
                check = check_equal(*written_out(), f"result ∂{out}/∂{w}", domain=formula)
            jac[row, col] = expanded
            # d, as in the backward pass: the derivative along every path (one notation per result)
            lhs = Partial(out, w, total=True)
            results.append(Step(lhs, _chain(value.xreplace(own), expanded), "substitute the forward pass", check))
            collected = _collected(expanded, w)
            if collected is not None:
                results.append(Step(lhs, (collected,), COLLECT_WHY,
                                    check_equal(collected, expanded, f"collected result ∂{out}/∂{w}", domain=formula)))
            as_tanh = _tanh_form(expanded)
            if as_tanh is not None:
                results.append(Step(lhs, (as_tanh,), TANH_WHY,
                                    check_equal(as_tanh, expanded, f"result ∂{out}/∂{w} with tanh", domain=formula)))
    if len(program.outputs) > 1:
        results.append(Step(sp.Symbol("J"), (jac,), f"rows {', '.join(map(_shown, program.outputs))}; "
                            f"columns {', '.join(map(_shown, wrt))}", "exact"))
    sections.append(Section("Result", tuple(results)))

    if point:
        sides = _judge_kinks(point, at_kink, program, wrt, full, label)
        try:
            sections.append(_at_point(point, values, program, wrt, in_graph, local, full, at_kink, sides,
                                      off_domain, own))
        except NotDifferentiableError:
            if off_domain:  # the result used a node that is not real here: say which
                raise next(iter(off_domain.values())) from None
            raise

    gradients = (ByName({w: jac[0, k] for k, w in enumerate(wrt)}) if len(program.outputs) == 1
                 else NoGradients(len(program.outputs)))
    kinks = tuple(dict.fromkeys(k for _, e in program.assignments for k in kinks_of(full(e))))
    return Derivation(
        name=name, summary=summary, title=title or _text_title(f, rewritten, program.outputs) or default_title(
            [full(o) for o in program.outputs], program.outputs, isinstance(f, Program) or output != "f"),
        inputs=inputs, wrt=wrt, outputs=program.outputs,
        definitions=program.assignments, gradients=gradients, sections=tuple(sections),
        jacobian=jac, local_partials=dict(local), point=ByName(point), kinks=kinks,
        domains=tuple(c for c in argument_checks if c.expr.free_symbols <= set(inputs)),
    )


_CALLED = re.compile(r"([A-Za-z][A-Za-z0-9_]*)\s*\(")


def _written_out(text: str) -> list[str]:
    """The activations and losses a formula's text calls that the parser writes out into other
    functions (``log_cosh``, ``focal``, ``huber``: registry entries with no SymPy node of their own),
    each once, in the order written. Their names are absent from the derivation's steps."""
    from .registry import NAMES

    called = []
    for name in _CALLED.findall(text):
        entry = NAMES.get(name)
        if entry is not None and entry.cls is None and entry.family in ("activation", "loss") \
                and name not in called:
            called.append(name)
    return called


def _written_out_note(names: list[str]) -> str:
    """The Forward pass's sentence saying which of the user's functions were written out."""
    if not names:
        return ""
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    one = len(names) == 1
    return (f" {listed} {'is' if one else 'are'} written out as symnet's function registry defines "
            f"{'it' if one else 'them'} (symnet/losses.py, symnet/registry.py): the form the generated "
            "code evaluates, chosen to stay accurate in floating point; the steps differentiate that form.")


def _text_title(f, rewritten: list[str], outputs) -> str:
    """A formula given as text that calls a written-out function is titled as the user wrote it
    ("Derivative of log_cosh(p, t)"): the written-out form is long ("Derivative of f" would name
    only the output) and no longer names the function asked for. "" otherwise (the default title)."""
    if not rewritten or len(outputs) != 1:
        return ""
    text = " ".join(f.split())
    return f"Derivative of {text}" if len(text) <= 80 else ""


# SymPy objects a formula cannot hold: symnet decomposes, differentiates and prints elementwise arithmetic and
# functions, and these carry a bound variable; they reached SymPy's ValueError ("Sum requires values for lower and
# upper bounds"), an AttributeError (Subs), or generated code that raised NameError: 'Integral' (session 33), and
# NameError: 'Derivative' for an unevaluated sp.Derivative (session 42)
_UNSUPPORTED = (sp.concrete.expr_with_limits.ExprWithLimits, sp.Limit, sp.Subs, sp.Order, sp.Derivative)


def _refuse_unsupported(exprs) -> None:
    # each distinct subexpression once: preorder_traversal walks a shared one again at every use (sin(e) + cos(e)
    # nested 22 deep: 42 s, where the size limits let 120 levels through)
    stack, seen = [e for e in exprs if isinstance(e, sp.Basic)], set()
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node.args)
            if isinstance(node, _UNSUPPORTED):
                raise DerivationError(f"a formula cannot hold {type(node).__name__} ({_brief(node)}): symnet "
                                      "differentiates elementwise formulas; write it out (a sum of terms) or "
                                      "evaluate it first (.doit())")


def _as_program(f, output) -> Program:
    if isinstance(f, Program):  # marks of registry calls taken off (as_expression), their checks noted
        _refuse_unsupported(e for _, e in f.assignments)
        return Program(tuple((t, noted_checks(e)) for t, e in f.assignments), f.outputs)
    if isinstance(f, sp.MatrixBase):
        f = list(f)
    default = output == "f"
    output = as_symbol(output, "output", label=True).name  # a name checked like any other
    if isinstance(f, (list, tuple)):
        exprs = [as_expression(e) for e in f]
        if not exprs:
            raise DerivationError("an empty list of formulas has no derivative")
    elif not isinstance(f, (str, numbers.Real, sp.Expr)):
        raise DerivationError(f"not a differentiable formula: {type(f).__name__}")
    else:
        exprs = [as_expression(f)]
    _refuse_unsupported(exprs)
    taken = {s.name for e in exprs for s in e.free_symbols}
    names = lambda base: [base] if len(exprs) == 1 else [f"{base}{k + 1}" for k in range(len(exprs))]  # noqa: E731
    if taken & set(names(output)):
        if not default:
            clash = sorted(taken & set(names(output)))[0]
            raise DerivationError(f"the output name '{clash}' is also a variable of the formula; "
                                  "choose another output name")
        # a formula in a variable called f: its output is called F (or y, out, out_2, …)
        fresh = ("F", "y", "out", *(f"out_{k}" for k in range(2, len(taken) + 3)))
        output = next(n for n in fresh if not taken & set(names(n)))
    return Program.from_expressions(exprs, [sp.Symbol(n) for n in names(output)])


def _real_program(program: Program) -> tuple[Program, dict]:
    """The program with every symbol not known to be real replaced by a real one of the same
    name: users rarely declare symbols real, and SymPy differentiates |x| of a complex x
    into re/im parts. Returns the program and the replacement (plain → real)."""
    real = {s: sp.Symbol(s.name, real=True) for s in program.inputs  # the nodes keep their names
            if type(s) is sp.Symbol and s.is_real is None}
    halves = any(h.args[1:] != (sp.S.Zero,) for _, e in program.assignments for h in e.atoms(sp.Heaviside))
    if not real and not halves:
        return program, {}
    return Program(tuple((t, _heaviside_at_0(e.xreplace(real))) for t, e in program.assignments),
                   program.outputs), real


def _heaviside_at_0(e: sp.Expr) -> sp.Expr:
    """SymPy's Heaviside(u) (its second argument 1/2 by default) is 1/2 at u = 0; symnet's H(0) is 0 everywhere (the
    parser, the generated kernels, torch.heaviside(x, 0)): a user's Heaviside(u) becomes
    Heaviside(u, 0), so that a value printed at 0 is the one the compiled code gives."""
    return e.replace(lambda h: isinstance(h, sp.Heaviside) and h.args[1:] == (sp.S.Half,),
                     lambda h: sp.Heaviside(h.args[0], 0))


def _dependencies(program: Program, wrt: Sequence) -> set:
    """The nodes whose value depends on at least one of ``wrt``."""
    dep: set = set()
    for target, expr in program.assignments:
        if expr.free_symbols & (dep | set(wrt)):
            dep.add(target)
    return dep


# A whole-formula check (a step of a sweep, a result) is made on the expanded formula while
# that is at most this many operations (a symbolic proof where SymPy finds one); beyond, on
# the graph, node by node (symnet.graphcheck), at a cost that grows with the graph's size.
EXPANDED_LIMIT = 10


def _expanded_sizes(program: Program) -> dict:
    """Each node's size (operations) once written out in the inputs, without writing it out."""
    size: dict = {}
    for target, expr in program.assignments:
        total, stack = 0, [expr]
        while stack:
            x = stack.pop()
            if x in size:
                total += size[x]
            elif x.args:
                total += 1
                stack.extend(x.args)
        size[target] = total
    return size


class _Checks:
    """Where a whole-formula step is checked: expanded (small graphs) or on the graph."""

    def __init__(self, program: Program):
        self.program = program
        self.size = _expanded_sizes(program)
        self._graph = None

    def large(self, node) -> bool:
        return self.size.get(node, 0) > EXPANDED_LIMIT

    def graph(self):
        if self._graph is None:
            self._graph = GraphCheck(self.program, sample_point)
        return self._graph if self._graph.ready else None

    def derivative(self, value, num, den, what: str, reference=None) -> str | None:
        """How ``value`` (in node names) was checked equal to d num/d den (node den held
        free): on the graph at random points ('numeric'), then, for a small formula, by a
        cheap symbolic proof (``reference()`` gives both sides written out; 'symbolic' where
        their expanded difference is 0). None where the graph check cannot decide (no point
        could be evaluated): the caller checks the written-out forms instead.

        Raises :class:`DerivationError` where the graph check finds them different."""
        small = reference is not None and not self.large(num)
        if small:
            a, b = reference()
            if a == b:  # identical forms: nothing to prove
                return "exact"
        graph = self.graph()
        if graph is None or not graph.derivative_equals(value, num, den, what):
            return None
        if small:
            try:
                a, b = reference(opaque=True)
                if sp.expand(a - b) == 0:
                    return "symbolic"
            except Exception:  # noqa: BLE001 - no proof: the numeric check stands
                pass
        return "numeric"


def _placeholders(program) -> tuple[str, str]:
    """Two letters for "a node v using a node u" in the backward pass's prose that are not
    names in the graph: param-sharing's own nodes are u and v (∂v/∂u read as exp(u))."""
    names = {getattr(x, "name", "") for t, e in program.assignments for x in (t, *e.free_symbols)}
    return next(((v, u) for v, u in (("v", "u"), ("q", "p"), ("n", "m"), ("β", "α")) if not {v, u} & names),
                ("v", "u"))


def _reverse_sweep(out, program, wrt, depends, local, full, holding, checks):
    definitions = program.definitions
    upstream = {out}
    for target, expr in reversed(program.assignments):
        if target in upstream:
            upstream |= expr.free_symbols
    adjoint: dict = {out: sp.S.One}
    steps = [Step(Partial(out, out, total=True), (sp.S.One,), "seed", "exact")]
    order = [t for t, _ in reversed(program.assignments) if t != out and t in depends and t in upstream]
    order += list(wrt)
    for u in order:
        users = [v for v in adjoint if v in definitions and (v, u) in local]
        if not users:
            adjoint[u] = sp.S.Zero
            if u in wrt:
                steps.append(Step(Partial(out, u, total=True), (sp.S.Zero,), f"no path from {_shown(u)} to {_shown(out)}", "exact"))
            continue
        shown = sp.Add(*[(Partial(out, v, total=True) if v != out else 1) * Partial(v, u) for v in users])
        product = sp.Add(*[adjoint[v] * local[(v, u)] for v in users])
        value = _tidy(product)
        _check_display(shown, product, adjoint, local, out, f"step d{out}/d{u}")
        def written_out(value=value, u=u, opaque=False):
            form = (lambda e: e) if opaque else explicit
            cut = holding(out, u)
            reference = sympy_diff(form(cut), u).xreplace({u: full(u)} if u in definitions else {})
            return form(full(value)), reference

        check = checks.derivative(value, out, u, f"step ∂{out}/∂{u}", written_out)
        if check is None:
            check = check_equal(*written_out(), f"step ∂{out}/∂{u}", domain=[full(o) for o in program.outputs])
        adjoint[u] = value
        steps.append(Step(Partial(out, u, total=True), _chain(shown, product, value),
                          _describe_paths(len(users)), check))
    return steps, adjoint


def _named_nodes(steps, own: Mapping) -> tuple:
    """A sweep's steps with each node that is its own derivative written by its name (e₁, not exp(z₁)), so that
    one printout writes one exponential one way (softmax's dy₁/dz₁ read exp(z₁)·(1 − e₁/s)/s). Printed only: the
    sweep's values, and so the gradients the code generator reads, keep exp(z₁) (naming the node in the local
    derivative changed the gradients' form: ∂ of eˣ·e^(−eˣ) went from ≤ 4 to 321 ULP at 6.5807, session 34)."""
    if not own:
        return tuple(steps)
    return tuple(replace(s, chain=_chain(*(f.xreplace(own) for f in s.chain))) for s in steps)


def _check_display(shown, product, totals, local, anchor, what, forward=False):
    """The displayed form (with ∂ symbols) must equal the computed one once the
    established values of those symbols are put in."""
    values = {}
    for p in shown.atoms(Partial):
        if p.total:
            values[p] = totals[p.den] if not forward else totals[p.num]
        else:
            values[p] = local[(p.num, p.den)]
    check_equal(shown.xreplace(values), product, what)


def _forward_sweep(w, program, local, full, checks):
    tangent: dict = {w: sp.S.One}
    steps = []
    for target, expr in program.assignments:
        args = [u for u in sorted(expr.free_symbols, key=sp.default_sort_key) if u in tangent and (target, u) in local]
        if not args:
            continue
        shown = sp.Add(*[Partial(target, u) * (Partial(u, w, total=True) if u != w else 1) for u in args])
        product = sp.Add(*[local[(target, u)] * tangent[u] for u in args])
        value = _tidy(product)
        _check_display(shown, product, tangent, local, w, f"tangent d{target}/d{w}", forward=True)
        def written_out(value=value, target=target, opaque=False):
            form = (lambda e: e) if opaque else explicit
            return form(full(value)), sympy_diff(form(full(target)), w)

        check = checks.derivative(value, target, w, f"tangent d{target}/d{w}", written_out)
        if check is None:
            check = check_equal(*written_out(), f"tangent d{target}/d{w}",
                                domain=[full(o) for o in program.outputs])
        tangent[target] = value
        steps.append(Step(Partial(target, w, total=True), _chain(shown, product, value),
                          _describe_paths(len(args)), check))
    return steps, tangent


def _users(expr: sp.Expr, limit: int = 120) -> str:
    """A node written as the user's sub-formula (``relu(w*x)``, not ``u2``), for messages."""
    shown = str(expr)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def _unevaluated(expr: sp.Expr, values: Mapping) -> sp.Expr:
    """``expr`` with the known values put in, but the arithmetic left undone (3 + 5)."""
    with sp.evaluate(False):
        return expr.subs({s: values[s] for s in expr.free_symbols if s in values})


def _judge_kinks(point, at_kink, program, wrt, full, label) -> dict:
    """On a kink, each requested derivative exists where the one-sided derivatives agree:
    refuse the variables for which they do not; the others' values, from either side."""
    if not at_kink or set(program.inputs) - set(point):
        return {}
    sides = {}
    for out in program.outputs:
        for w in wrt:
            side = one_sided(full(out), w, point)
            if not side.differentiable:
                raise _kink_error(label, out, w, side, [full(o) for o in program.outputs], program.inputs, point)
            sides[(out, w)] = side.right
    return sides


def _kink_error(label, out, w, side, wholes, inputs, point) -> NotDifferentiableError:
    """The error for ∂out/∂w on a kink at ``point``: both one-sided derivatives as numbers, and the inputs
    whose derivatives exist there (``wholes``: every output in terms of the inputs). One text for the command
    line's --at and for ``Derivation.gradient_at``, which said only "the one-sided derivatives differ" (session 38)."""
    # each side as a message shows a number (selu's 1.0507…·1.6733… from the left was a rational of 31 digits
    # over 10³¹)
    why = (f"from the left {_brief_number(side.left)}, from the right {_brief_number(side.right)}"
           if side.decided and _finite(side.left) and _finite(side.right) and side.left != side.right
           else "it is not continuous there, or a side has no derivative")
    # the inputs whose derivatives exist here (relu(x) has none to offer, nor max(x, y) at x = y)
    others = [str(v) for v in inputs if v != w and all(one_sided(e, v, point).differentiable for e in wholes)]
    rest = f"; the derivatives with respect to {', '.join(others)} can still be asked for (wrt)" if others else ""
    return NotDifferentiableError(f"not differentiable at {label} with respect to {w} (∂{out}/∂{w}): the point "
                                  f"sits on a kink ({why}){rest}")


def _at_point(point, values, program, wrt, in_graph, local, full, at_kink=frozenset(), sides=None,
              off_domain=(), own=None) -> Section:
    label = _label(point)
    steps = []
    for (target, u), expr in local.items():
        if target in at_kink:  # no local derivative on the kink itself
            continue
        if target in off_domain or u in off_domain:  # an edge the result does not use here
            continue
        if expr.free_symbols <= set(values):
            v = _value(expr, values, f"the derivative of {_users(full(target))} with respect to "
                                     f"{_users(full(u))}", label)
            steps.append(Step(Partial(target, u), _chain(expr, _unevaluated(expr, values), v), "local derivative", "exact",
                              approx=_approx(v)))
    for (out, w), expr in in_graph.items():
        if expr.free_symbols <= set(values):
            if sides and (out, w) in sides:  # on a kink: both one-sided derivatives, which agree
                v = _simplified(sides[(out, w)])  # not nsimplify alone: it rounds 1e−300 to 0
                lhs = Partial(out, w, total=True)
                steps.append(Step(lhs, _chain(expr.xreplace(own or {}), v), "one-sided derivatives agree", "exact",
                                  approx=_approx(v)))
                continue
            v = _value(expr, values, f"∂{out}/∂{w}", label)
            reference = value_at(sympy_diff(explicit(full(out)), w), point, f"at {label}: ")
            if not _finite(reference):  # SymPy's form is 0/0 there (x**y*y/x at x = 0): its limit along w
                reference = _limit_along(full(out), w, point, label, out)
            check = _check_number(v, reference, f"value of ∂{out}/∂{w}")
            lhs = Partial(out, w, total=True)
            steps.append(Step(lhs, _chain(expr.xreplace(own or {}), _unevaluated(expr, values), v), "result", check,
                              approx=_approx(v)))
    return Section(f"Values at {_shown_label(point)}", tuple(steps))


def _limit_along(expr: sp.Expr, w: sp.Symbol, point: Mapping, label: str, out) -> sp.Expr:
    """The derivative of ``expr`` along ``w`` at ``point`` as the limit from both sides, the reference where
    SymPy's form of the derivative is 0/0 at the point though the graph's is a number (``x**y`` at x = 0, y = 2:
    y·x^y/x, where the graph has y·x^(y − 1) = 0); refused where the sides differ or have no limit."""
    side = one_sided(expr, w, point)
    if not side.differentiable:
        raise NotDifferentiableError(f"the derivative of {_users(expr)} with respect to {w} (∂{out}/∂{w}) is "
                                     f"undefined at {label}: its one-sided limits differ or do not exist")
    return side.right


HEAVISIDE_AT_0 = ("H(0) = 0 (symnet's convention, as torch.heaviside(x, 0) and the generated kernels; "
                  "SymPy's own Heaviside(0) is 1/2)")


def _convention(expr: sp.Expr, values: Mapping) -> str:
    """A note on the step where a value depends on a convention: H at exactly 0."""
    for h in expr.atoms(sp.Heaviside):
        try:
            at_zero = value_at(h.args[0], values, "") == 0
        except Exception:  # noqa: BLE001 - not a number here: no note
            at_zero = False
        if at_zero:
            return "; " + HEAVISIDE_AT_0
    return ""


DECIMAL_DIGITS = 10  # significant digits of the decimal shown after each value at a point


def _approx(v: sp.Expr):
    """The exact value ``v`` as a decimal of DECIMAL_DIGITS significant digits, for display
    after it (``σ(9/20) ≈ 0.6106392339``); None where the value is already a plain
    integer or decimal, or where evaluation does not give a number of that precision.
    ``v`` passed the size limits of :mod:`symnet.bounds`; evalf works to the precision
    asked, raising its working precision where terms cancel (2 − 3.7e−44 is not 2)."""
    if not isinstance(v, sp.Expr) or isinstance(v, (sp.Integer, sp.Float)) or not v.is_number:
        return None
    if isinstance(v, sp.Rational) and 10 ** DECIMAL_DIGITS % int(v.q) == 0 and abs(v) < 10 ** DECIMAL_DIGITS:
        return None  # an exact decimal (3/5 = 0.6): it is its own decimal
    try:
        d = v.evalf(DECIMAL_DIGITS)
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        return None
    return d if isinstance(d, sp.Float) else None


def _finite(v: sp.Expr) -> bool:
    return not (v.has(sp.nan, sp.zoo, sp.oo, -sp.oo) or v.is_finite is False)


def _real(v: sp.Expr) -> bool:
    if v.is_extended_real is not None:
        return bool(v.is_extended_real)
    re, im = v.evalf(30).as_real_imag()  # bounded: v passed the size limits
    return not (im.is_number and abs(im) > sp.Float("1e-25") * max(1, abs(re)))


def _simplified(v: sp.Expr) -> sp.Expr:
    """A number in its simplest form, safely.

    ``simplify`` combines logarithms: 2²⁰⁴⁸·log(2) became log(2^(2²⁰⁴⁸)), an integer of 2²⁰⁴⁸
    bits; so logarithms are held opaque while it runs. ``nsimplify`` may round a tiny
    value to 0 (σ'(−500) is not 0): its form is kept only where it equals the number.
    """
    logs = {g: sp.Dummy(real=True) for g in v.atoms(sp.log)}
    simple = sp.simplify(v.xreplace(logs)).xreplace({d: g for g, d in logs.items()})
    guess = sp.nsimplify(simple)
    return guess if guess == simple or _same_number(guess, simple) else simple


def _same_number(a: sp.Expr, b: sp.Expr) -> bool:
    a, b = a.evalf(40), b.evalf(40)  # bounded: both passed the size limits
    if not (a.is_number and b.is_number):
        return False
    return bool(abs(a - b) <= sp.Float("1e-30", 40) * abs(b)) if b != 0 else a == 0


def _label(point: Mapping) -> str:
    label = ", ".join(f"{k} = {_brief_number(v)}" for k, v in point.items())
    return label if len(label) <= 200 else label[:200] + "…"


def _brief_number(v) -> str:
    """A value of the point as a message shows it: exact where short (3, 1/10), else to 17 digits (--at x=1e300 is
    the integer 10³⁰⁰, whose 301 digits were cut to "x = 10000000000…", a magnitude the reader could not see)."""
    shown = str(v)
    if len(shown) <= 24 or not getattr(v, "is_number", False):
        return shown
    import mpmath

    with mpmath.workdps(20):
        return mpmath.nstr(mpmath.mpf(sp.Float(v, 20)), 17)


def _shown_label(point: Mapping) -> str:
    """The point as the steps under it print names and numbers (θ₁₀ = 0.1, not theta_10 = 1/10);
    messages keep :func:`_label`, the names as the user typed them."""
    from .render import text

    label = ", ".join(f"{text(k)} = {text(sp.sympify(v))}" for k, v in point.items())
    return label if len(label) <= 200 else label[:200] + "…"


def _zero_at(values: Mapping, label: str):
    """Whether an expression is 0 at the point, evaluated within the size limits."""
    return lambda e: _simplified(value_at(e, values, f"at {label}: ")) == 0


def _check_number(v: sp.Expr, reference: sp.Expr, what: str) -> str:
    """Two exact numbers: equal forms, else equal once expanded, else agreement to 50 digits
    (a value at a point is a number: simplifying the difference of two forms of it can take
    minutes, as with e^100/(1 + e^100)²), else the full check decides and says why they differ."""
    if v == reference:
        return "exact"
    if not (v.free_symbols or reference.free_symbols):
        if sp.expand(explicit(v) - explicit(reference)) == 0:  # cheap, and a proof
            return "symbolic"
        a, b = sp.N(v, 60), sp.N(reference, 60)
        if a.is_number and b.is_number and abs(a - b) <= sp.Float("1e-50", 60) * max(1, abs(a), abs(b)):
            return "numeric"
    return check_equal(v, reference, what)


def _raw_value(expr: sp.Expr, values: Mapping, label: str, what: str | None = None) -> sp.Expr:
    """``expr`` at the point, exactly and within the size limits, real or not."""
    where = f"{expr if what is None else what} at {label}: "
    return check_exact(_simplified(value_at(expr, values, where)), where)


def _value(expr: sp.Expr, values: Mapping, what: str, label: str) -> sp.Expr:
    """``expr`` at the point, exactly; refused where it is too large (:mod:`symnet.bounds`),
    undefined or not a real number."""
    v = _raw_value(expr, values, label, what)
    if not _finite(v):
        raise NotDifferentiableError(f"{what} is undefined at {label}")
    if not _real(v):
        raise NotDifferentiableError(f"{what} is not a real number at {label}: it is {v}" + _odd_root_hint(expr))
    return v


def _odd_root_hint(expr: sp.Expr) -> str:
    """Where ``expr`` takes a power p/q with q odd (x**(1/3)): SymPy's is the principal root, complex for a
    negative base, where a user who wrote a cube root meant the real one (session 21's new user)."""
    if not any(p.exp.is_Rational and not p.exp.is_integer and p.exp.q % 2 for p in expr.atoms(sp.Pow)):
        return ""
    return (" (a power such as b**(1/3) or b**(2/3) is the principal root, complex for b < 0; the real "
            "roots are sign(b)*abs(b)**(1/3) and abs(b)**(2/3))")


def evaluate_gradients(derivation: Derivation, values: Mapping) -> dict:
    """Each gradient at a point (inputs given as symbols or by name); on a kink a gradient
    exists where the one-sided derivatives agree, variable by variable.

    Names and values given as text are parsed safely (:func:`symnet.parsing.as_point`).
    Raises :class:`ParseError` for refused text, :class:`DerivationError` for a point that
    misses or adds inputs, :class:`NotDifferentiableError` where a requested derivative does
    not exist or is not real, :class:`LimitError` where a value is beyond the size limits.
    """
    point = as_point(values, known=derivation.inputs)
    for k in point:
        if k not in derivation.inputs:
            raise DerivationError(f"the point names '{k}', which is not an input of the formula")
    missing = [s for s in derivation.inputs if s not in point]
    if missing:
        raise DerivationError("the point gives no value for " + ", ".join(map(str, missing)))
    label = _label(point)
    kinked = on_kink(derivation.kinks, point, _zero_at(point, label))
    out = {}
    for k, w in enumerate(derivation.wrt):
        entries = derivation.jacobian[:, k]
        if kinked:  # on a kink: the derivative exists where the one-sided derivatives agree
            vals = []
            wholes = forward_expressions(derivation)
            for o, whole in wholes.items():
                side = one_sided(whole, w, point)
                if not side.differentiable:
                    raise _kink_error(label, o, w, side, list(wholes.values()), derivation.inputs, point)
                vals.append(side.right)
            out[w] = vals[0] if len(vals) == 1 else sp.Matrix(vals)
            continue
        vals = [check_exact(_simplified(value_at(e, point, f"at {label}: "))) for e in entries]
        for v in vals:
            if v.has(sp.nan, sp.zoo) or v in (sp.oo, -sp.oo) or not v.is_finite:
                raise NotDifferentiableError(f"the derivative with respect to {w} is undefined at {label}")
            if not _real(v):
                raise NotDifferentiableError(f"the derivative with respect to {w} is not a real "
                                             f"number at {label}: it is {v}")
        out[w] = vals[0] if len(vals) == 1 else sp.Matrix(vals)
    return out


def forward_expressions(d: Derivation) -> dict:
    """Each output of the derivation written in terms of its inputs."""
    defs = {t: e for t, e in d.definitions if isinstance(t, sp.Symbol)}
    memo: dict = {}

    def full(s):
        if s not in defs:
            return s
        if s not in memo:
            memo[s] = defs[s].xreplace({u: full(u) for u in defs[s].free_symbols})
        return memo[s]

    return {out: full(out) for out in d.outputs}


def _constant_note(program) -> str:
    """"; it reduces to the constant 0": why a formula the user wrote with a variable has no inputs (SymPy evaluates
    x − x, clamp(x, 1, 0) = min(max(x, 1), 0) and relu(x) − max(x, 0) to constants as they are read), or ""."""
    values = {}
    for target, expr in program.assignments:
        values[target] = expr.xreplace(values)
    constants = [values[o] for o in program.outputs if o in values and not values[o].free_symbols]
    if not constants or len(constants) != len(program.outputs):
        return ""
    return f"; it reduces to the constant{'s' if len(constants) > 1 else ''} {', '.join(_shown(c)[:40] for c in constants)}"  # exp(1), not E


def _brief(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"
