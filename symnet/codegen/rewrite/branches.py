"""Branch rules: relu-branches, sign-branches, kink-side, widen-quotients, power-into-branches, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: tie-difference,
nested-select, relu-branches, sign-branches, affine-select-sum, widen-quotients, factor-into-quotient-branches,
power-into-branches, kink-side.
"""
from __future__ import annotations

import functools
import itertools

import sympy as sp

from ...functions import relu, sigmoid
from .core import rewrite_nodes, Rule
from .widening import (_atoms, _bottom_up, _KEPT, _lone_input_factor, _signed_widen, _top_down, Grouped, ungroup,
                       unwiden, widen, WidenedBase, written_where_not_finite, WrittenWhereNotFiniteBase)
from .stabiliser import _rewritten
from .quotients import _cauchy_rational_degree, _rational_function


# ------------------------------------------------------------------ tie-difference (issue 16, session 36, h-edge36: the
# pinball loss max(q·(y − p), (q − 1)·(y − p)) selects its gradient on q·(y − p) − (q − 1)·(y − p) > 0, inf − inf = NaN
# where both products overflow to one infinity); tested in tests/test_edge36.py

def _tie_difference_condition(node):
    """u > 0 or u < 0 (max/min's tie test a − b, :func:`symnet.rules.tie_split`) with u a polynomial in the inputs of
    degree 4 at most whose expanded form has fewer operations (q·(y − p) − (q − 1)·(y − p) is y − p), as that form with
    its numeric coefficient taken out (its sign flips the test); None for any other node."""
    if not (isinstance(node, (sp.StrictGreaterThan, sp.StrictLessThan)) and node.rhs == 0 and node.lhs.is_Add):
        return None
    u = node.lhs
    symbols = sorted(u.free_symbols, key=sp.default_sort_key)
    if not symbols or not u.is_polynomial(*symbols) or sp.Poly(u, *symbols).total_degree() > 4:
        return None
    c, rest = sp.factor_terms(sp.expand(u)).as_coeff_Mul()
    if not (c.is_Number and c != 0 and rest.free_symbols) or sp.count_ops(rest) >= sp.count_ops(u):
        return None
    return type(node)(rest, 0) if c > 0 else type(node)(0, rest)


def _tie_differences(expr):
    """Every condition of a select in ``expr`` that :func:`_tie_difference_condition` takes, rewritten."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Piecewise):
        return expr
    found = {n: _tie_difference_condition(n) for n in sp.preorder_traversal(expr)
             if isinstance(n, (sp.StrictGreaterThan, sp.StrictLessThan))}
    found = {n: new for n, new in found.items() if new is not None}
    return expr.xreplace(found) if found else expr


TIE_DIFFERENCE = Rule(
    "tie-difference", "max(a, b)′ selects a′ where a − b > 0 (torch.maximum's rule): a − b computed as written is "
    "inf − inf = NaN where a and b overflow to one infinity, though it is small: the pinball loss max(q·(y − p), "
    "(q − 1)·(y − p)) selects on q·(y − p) − (q − 1)·(y − p), NaN at y = −1.12e308, p = 1.12e308, q = 1.98 (∂y 1.48 "
    "for 0.98: the tie's mean); a − b expanded where it is a polynomial with fewer operations so (y − p > 0), "
    "the same test on fewer roundings",
    apply=_tie_differences, fired=lambda old, new: new != old, before=True)


# ------------------------------------------------------------------ nested-select (issue 16, session 37, h-search37: ∂x
# of elu(x, 0.5)/log(e^x + e^x) at x = 88.7, 102 ULP, torch 26); tested in tests/test_search37.py

def _nested_select_node(node):
    """The select ``node`` with every select inside a branch that tests that branch's own condition first taken as its
    first value there (where cᵢ holds, {v if cᵢ; …} is v: elu′'s {1 if x > 0; …} inside the quotient rule's branch
    x > 0 is 1); SymPy evaluates a select whose first condition is True to its value. Not a select's later branches
    (where the earlier conditions are false): there a scaled value (leaky_relu's y/100) multiplied into the sums of
    softsign′ came out in forms the fraction-complement rule no longer joined (527 ULP at y = −10⁴, tried)."""
    if not isinstance(node, sp.Piecewise):
        return node
    pieces, changed = [], False
    for value, cond in node.args:
        if cond not in (sp.true, sp.false):
            inner = {q: q.args[0][0] for q in _atoms(value, sp.Piecewise) if q.args[0][1] == cond}
            if inner:
                value, changed = value.xreplace(inner), True
        pieces.append((value, cond))
    return sp.Piecewise(*pieces) if changed else node


def _nested_selects(expr):
    """Every select of ``expr`` as :func:`_nested_select_node` puts it, innermost first."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Piecewise):
        return expr
    return _bottom_up(expr, _nested_select_node, leaves=_KEPT)


NESTED_SELECT = Rule(
    "nested-select", "a select inside a branch of a select, testing that branch's own condition first (the quotient "
    "rule's branch x > 0 of elu(x)/L holds elu(x) = {x if x > 0; …}), is its first value there, exactly; as written "
    "it is computed apart and shared, so that the branch's terms never meet: ∂x of elu(x, 0.5)/log(e^x + e^x), "
    "1/L − x/L² with L = x + log 2, cancels at x = 88.7 (102 ULP, torch 26) where, one sum, the fraction-complement "
    "rule writes it (L − x)/L² = log 2/L²",
    apply=_nested_selects, fired=lambda old, new: new != old, before=True)


# ------------------------------------------------------------------ relu-branches (issue 16, session 38, h-reassoc38:
# ∂x of relu(x)/log(e^x + e^x), H(x)/L − relu(x)/L², 1.4e17 ULP in float32); tested in tests/test_reassoc38.py

def _relu_branches_node(node):
    """The sum ``node`` holding relu(u) and relu′(u) = H(u) of one u as the select {its value with both 0 if u ≤ 0;
    with H(u) = 1 and relu(u) = u otherwise} (H(0) = 0, torch's relu′ at the kink), each branch one sum; None for any
    other node."""
    if not isinstance(node, sp.Add):
        return None
    steps = {h.args[0] for h in _atoms(node, sp.Heaviside)}
    common = sorted(steps & {r.args[0] for r in _atoms(node, relu)}, key=sp.default_sort_key)
    if not common:
        return None
    u = common[0]
    off = {sp.Heaviside(u): 0, relu(u): 0}
    on = {sp.Heaviside(u): 1, relu(u): u}
    on.update({h: 1 for h in _atoms(node, sp.Heaviside) if h.args[0] == u})  # H(u, 0) too
    off.update({h: 0 for h in _atoms(node, sp.Heaviside) if h.args[0] == u})
    return sp.Piecewise((node.xreplace(off), u <= 0), (node.xreplace(on), True))


def _relu_branches(expr):
    """Every sum of ``expr`` :func:`_relu_branches_node` takes, innermost first."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Heaviside) and expr.has(relu)):
        return expr
    return _bottom_up(expr, lambda node: _relu_branches_node(node) or node, leaves=_KEPT)


RELU_BRANCHES = Rule(
    "relu-branches", "a sum holding relu(u) and its derivative H(u) (the quotient rule's H(x)/L − relu(x)/L² of "
    "relu(x)/L) computes them apart, so that its terms never meet: ∂x of relu(x)/log(e^x + e^x), 1/L − x/L² with "
    "L = x + log 2, cancels for x ≫ 1 (float32 −8.3e−25 for 5.4e−35 at x = 1.13e17; torch NaN); in branches of "
    "u ≤ 0 (both 0) and u > 0 (H(u) = 1, relu(u) = u), exactly, the branch is one sum, which the fraction-complement "
    "rule writes (L − x)/L² = log 2/L², as nested-select does for elu",
    apply=_relu_branches, fired=lambda old, new: new != old, before=True)

# ------------------------------------------------------------------ sign-branches (issue 16: a rational activation
# (1 + x + x²/2)/(1 + |x|), its derivative cancels for small x > 0, session 29); tested in tests/test_rat29.py

_SIGNED = (sp.Abs, sp.sign, sp.Heaviside)


def _rational_node(e) -> bool:
    """e is built of sums, products, whole powers, real symbols and numbers only (a rational function)."""
    return all(n.is_Add or n.is_Mul or n.is_Number or (n.is_Symbol and n.is_real) or (n.is_Pow and n.exp.is_Integer)
               for n in sp.preorder_traversal(e))


def _vanishes_visibly(b, u) -> bool:
    """b, a branch as written, is 0 at u = 0 through a factor that is u itself (a sum: every term so): its rounding is
    then relative, no terms of size 1 cancel there (2x, x·(x + 2), x + x²)."""
    if b.is_Mul:
        return any(_vanishes_visibly(f, u) for f in b.args)
    if b.is_Pow:
        return b.exp.is_Integer and b.exp > 0 and _vanishes_visibly(b.base, u)
    if (b / u).is_number or sp.cancel(b / u).is_number:
        return True
    if b.is_Add:
        return all(_vanishes_visibly(t, u) for t in b.args)
    return False


def _branch(node, u, s):
    """node on the side s (1: u > 0, −1: u < 0), |u| = s·u, sign(u) = s, H(u) = (1 + s)/2, over one denominator (SymPy's
    cancel: exact) and the power u^k that divides its numerator taken out as a factor; (form, k, written)."""
    written = node.replace(lambda n: isinstance(n, _SIGNED) and n.args[0] == u,
                           lambda n: s * u if isinstance(n, sp.Abs) else (sp.S(s) if isinstance(n, sp.sign)
                                                                          else sp.S(1 + s) / 2))
    num, den = sp.fraction(sp.cancel(sp.together(written)))
    k, gens = 0, tuple(sorted(u.free_symbols, key=str))
    while num != 0 and k < 8:
        q, r = sp.div(num, u, *gens)
        if r != 0:
            break
        num, k = q, k + 1
    return num, den, k, written


def _sign_branches_node(node):
    """A rational function of real inputs holding |u|, sign(u) or H(u) of one polynomial u, whose branch on a side of
    u = 0 vanishes there as u^k (k ≥ 1) while its written terms do not → Piecewise((u^k·N₊/D₊, u > 0), (u^k·N₋/D₋, u < 0),
    (node, True)): the written form at u = 0 (sign(0) = 0, torch's ∂|u| = 0 there) and at NaN; None otherwise."""
    if not isinstance(node, sp.Expr) or node.is_Atom or not node.has(*_SIGNED):
        return None
    args = {f.args[0] for f in node.atoms(*_SIGNED)}
    if len(args) != 1 or sp.count_ops(node) > 120:
        return None
    (u,) = args
    if u.is_number or not u.free_symbols or not u.is_polynomial(*u.free_symbols):
        return None
    if not all(v.is_Symbol and v.is_real for v in u.free_symbols):
        return None
    # each |u|, sign(u), H(u) a real symbol of its own (not a number: a select on |u| < 1 would evaluate away)
    if not _rational_node(node.replace(lambda n: isinstance(n, _SIGNED), lambda n: sp.Dummy(real=True))):
        return _sigmoid_sign_branches(node, u)
    forms, cancels = [], False
    for s in (1, -1):
        try:
            num, den, k, written = _branch(node, u, s)
        except sp.PolynomialError:
            return None
        cancels |= k > 0 and num != 0 and not _vanishes_visibly(written, u)
        form = num / den
        if len(form.free_symbols) == 1 and next(iter(form.free_symbols)).is_real:
            form = _rational_function(form) or form  # Horner, no overflow of x² where the branch is finite
        forms.append(u ** k * form if k else form)
    if not cancels:
        return None
    return sp.Piecewise((forms[0], u > 0), (forms[1], u < 0), (node, True))


_SIGMOID_DIFFERENCE_REACH = 1  # |u| below which a side whose σ(−u) − σ(u) is collected into −tanh(u/2) takes it


def _sigmoid_sign_branches(node, u):
    """``node`` holding σ of ±u and ±|u| beside |u| or sign(u) (∂y of x·σ(y)/(1 + e^−|y|), the stabiliser's
    x·(σ(−y)σ(y)σ(|y|) + σ(y)σ(−|y|)σ(|y|)·sign(y)), whose sum is σ(−y) − σ(y) below 0) → Piecewise((N₋, −1 < u < 0),
    (node, True)) (and N₊ for 0 < u < 1 where that side cancels too), N± the branch (|u| = ±u, sign(u) = ±1,
    H(u) = (1 ± 1)/2) put through the node-by-node rules, taken on a side where they collect a sum of σ(±u) into
    tanh(u/2) (the tanh rule: σ(−u) − σ(u) = −tanh(u/2), which cancels as written near u = 0); None otherwise."""
    sigmoids = node.atoms(sigmoid)
    if not sigmoids or any(s.args[0] not in (u, -u, sp.Abs(u), -sp.Abs(u)) for s in sigmoids):
        return None
    if not any(s.args[0] in (sp.Abs(u), -sp.Abs(u)) for s in sigmoids) and not node.has(sp.sign, sp.Heaviside):
        return None
    pieces = []
    for side in (1, -1):
        written = node.replace(lambda n: isinstance(n, _SIGNED) and n.args[0] == u,
                               lambda n: side * u if isinstance(n, sp.Abs) else (
                                   sp.S(side) if isinstance(n, sp.sign) else sp.S(1 + side) / 2))
        if written.has(*_SIGNED):
            return None
        form, fired = _rewritten(written)
        if "tanh" in [r.name for r in fired]:  # within |u| < 1 only: past it 1 − e^−|u| ≥ 0.63 loses a bit at most,
            # where tanh's rounding beside σσ's costs one ULP more (∂y above at y = −2.72: 4.48 ULP, 3.48 as written)
            pieces.append((form, (side * u > 0) & (side * u < _SIGMOID_DIFFERENCE_REACH)))
    if not pieces:
        return None
    return sp.Piecewise(*pieces, (node, True))


def _sign_branches(expr):
    """Every outermost node of ``expr`` that :func:`_sign_branches_node` splits, split."""
    if not isinstance(expr, sp.Expr) or not expr.has(*_SIGNED):
        return expr
    return _top_down(expr, _sign_branches_node, _KEPT)


SIGN_BRANCHES = Rule(
    "sign-branches", "a rational function holding |u|, sign(u) or H(u) of one polynomial u (the derivative of a "
    "rational activation (1 + x + x²/2)/(1 + |x|): (1 + x)/(1 + |x|) − (1 + x + x²/2)·sign(x)/(1 + |x|)²) cancels "
    "where a branch's value → 0 at u = 0 while its terms do not (every digit lost for 0 < x < 1e−16 in float64: "
    "0 for 1e−16, 8.1e15 ULP; torch 1.1e15); on each side of u = 0, |u| = ±u, sign(u) = ±1, H(u) = 1 or 0, put over "
    "one denominator by SymPy's cancel (exact) with the power u^k dividing its numerator taken out ((x + x²/2)/(1 + x)² "
    "= x·(x + 2)/(2(x + 1)²)), in one input by the rational-function rule's Horner forms (x² does not overflow where "
    "the branch is finite: NaN past x = 1.3e154 before), rounded a few times relative to the result; at u = 0 (and NaN) the written form, "
    "sign(0) = 0 as torch's ∂|u| there. Only where a branch cancels (its terms do not vanish with it). A node of σ(±u) "
    "and σ(±|u|) beside |u| or sign(u) the same way, each branch through the node-by-node rules, where on a side they "
    "collect σ(−u) − σ(u) into −tanh(u/2) (∂y of x·σ(y)/(1 + e^−|y|) is x·σ(y)σ(−y)·(σ(−y) − σ(y)) below 0: 0 for "
    "1.9e−18 at y = −1e−17 in float64, 5.8e4 ULP at −1e−5, 74 at −0.01; torch 4.9e15, 3.0e5, 342)",
    apply=_sign_branches, fired=lambda old, new: new != old)
# whole-expression rules: after the node-by-node ones (softsign′ is the fraction-complement rule's, no cancellation
# left), before any other whole-expression rule wraps the sum (root-series, widen)

# ------------------------------------------------------------------ affine-select-sum (issue 16, session 32: ∂x of
# hardswish(relu(x) − y) 128 ULP near relu(x) − y = −3/2 where torch is exact, h-hyp31); tested in tests/test_hyp32.py


def _without_groups(e):
    """``e`` with each :class:`Grouped` sum among its terms opened (q·Grouped(a + b) as q·a + q·b, nested ones too):
    the same value, as SymPy combines it. Only sums: a grouping inside a term's factors is another rule's order
    (one-minus-cos-factor's (B·s)·s, hypot's (c/v)/v), kept (session 32's review: dropping every grouping brought
    back y·cos x − y's s² underflow in a branch)."""
    out = []
    for t in sp.Add.make_args(e):
        c, u = t.as_coeff_Mul()
        if isinstance(u, Grouped) and u.args[0].is_Add:
            t = c * _without_groups(u.args[0])
        out.append(t)
    return sp.Add(*out)


def _affine_terms(e) -> bool:
    """``e`` (its groupings dropped) a number or a sum of rational multiples of non-constant expressions holding no
    select: an affine form of its terms (r/6 − y/6, 1/2 + (r − y)/6)."""
    for t in sp.Add.make_args(_without_groups(e)):
        c, u = t.as_coeff_Mul()
        if not c.is_Rational or u.has(sp.Piecewise) or u.is_number and u != 1:
            return False
    return True


def _affine_select_sum(node, strip=True):
    """k·{a_1 if c_1; …; a_n otherwise} + T → {k·a_1 + T if c_1; …; k·a_n + T otherwise}, where the branches a_i and
    the terms T are affine (rational multiples of expressions, no select) and, in some branch, terms of k·a_i and of T
    combine (their sum has fewer terms than the two apart); such a branch b + Σ ±u_i/n as (Σ ±u_i + b·n)/n with the
    sum widened (:func:`_affine_grouped`). None for any other node.

    hardswish′(u)·r′ with u = r − y written out: (3 + u)/6 inside the select, + r/6 − y/6 beside it; each rounded
    before the sum, which cancels near u = −3/2 (∂x of hardswish(relu(x) − y) 128 ULP at (1.2597, 2.7664), torch
    exact there; worse than torch at 64 of 1,500 random points, h-hyp31). In the branch the terms combine to
    1/2 + r/3 − y/3 = (r − y + 3/2)/3, whose sum, widened, is the exact one of the inputs rounded once (torch rounds
    u = r − y first: 1e15 ULP where the result is tiny against u). Exact: a sum distributes over the branches of a
    select, each branch taken where it was. A factor w common to every term is taken out first: w·(k·{…} + T)."""
    if not (node.is_Add and len(node.args) >= 2):
        return None
    if sum(any(isinstance(f, sp.Piecewise) for f in sp.Mul.make_args(t)) for t in node.args) != 1:
        return None  # (one term holds a select as a factor; cheap, before any product is divided)
    common = functools.reduce(lambda a, b: a & b, [set(sp.Mul.make_args(t.as_coeff_Mul()[1])) for t in node.args])
    common = {f for f in common if not f.is_number and not isinstance(f, sp.Piecewise)}
    if common and strip:  # w·k·{…} + w·T (∂ of log(1 + hardswish(r − y)): w = 1/(1 + hardswish)): the rest, times w
        w = sp.Mul(*common)
        inner = _affine_select_sum(sp.Add(*[t / w for t in node.args]), strip=False)
        return None if inner is None else w * inner
    selects = [t for t in node.args if isinstance(t.as_coeff_Mul()[1], sp.Piecewise)]
    if len(selects) != 1:
        return None
    k, select = selects[0].as_coeff_Mul()
    rest = [t for t in node.args if t is not selects[0]]
    if not k.is_Rational or not all(_affine_terms(t) for t in rest) or \
            not all(_affine_terms(a) for a, _ in select.args):
        return None
    rest = [_without_groups(t) for t in rest]
    pairs, combined = [], False
    for a, cond in select.args:
        a = _without_groups(a)
        total = sp.Add(k * a, *rest)
        apart = len(sp.Add.make_args(k * a)) + len(rest)
        merged = total != 0 and len(sp.Add.make_args(total)) < apart and not (k * a).is_number
        combined |= merged
        pairs.append((_affine_grouped(total) if merged else total, cond))
    if not combined:
        return None
    return sp.Piecewise(*pairs)


def _affine_grouped(total):
    """b + Σ ±u_i/n (two terms u_i or more, one n ≥ 1, b·n a dyadic rational: exact in float32) → (Σ ±u_i + b·n)/n,
    the sum widened (float64, double words where it cancels): 1/2 + r/3 − y/3 rounds r/3 and y/3 (or, grouped as
    the affine-root rule groups, r − y) before the sum cancels near its root; widened it is the sum of the inputs
    rounded once. n = 1 too (3·hardswish′(r − y) combines to 3/2 + r − y, which left to right rounds 3/2 + r before
    − y cancels). ``total`` itself where it is not such a sum."""
    b, rest = total.as_coeff_Add()
    terms = [t.as_coeff_Mul() for t in sp.Add.make_args(rest)]
    if not b.is_Rational or b == 0 or len(terms) < 2:
        return total
    n = terms[0][0].q if terms[0][0].is_Rational else 0
    if n < 1 or any(not (c.is_Rational and c.p in (1, -1) and c.q == n) or u.is_number for c, u in terms):
        return total
    shift = b * n
    if not (shift.q & (shift.q - 1) == 0 and shift.q <= 2**24 and abs(shift) <= 2**24):
        return total
    inner = widen(sp.Add(*[c.p * u for c, u in terms], shift))
    return sp.Rational(1, n) * inner if n > 1 else inner


AFFINE_SELECT_SUM = Rule(
    "affine-select-sum", "k·{…; a if c; …} + T, a and T affine, rounds a and each term of T apart before a sum that "
    "cancels where their terms would combine (hardswish′(r − y)·r′: (3 + r − y)/6 + r/6 − y/6, 128 ULP in float64 "
    "near r − y = −3/2 where torch is exact, 1e15 where the result is tiny); the sum taken into each branch combines "
    "them, (r − y + 3/2)/3, its sum widened: ≤ 1 ULP in float64 at 1,500 random points of five forms",
    local=_affine_select_sum)


# ------------------------------------------------------------------ widen-quotients (session 37, a new user's asymmetric
# Laplace NLL; narrowed and guarded in session 38, h-laplace38); tested in tests/test_laplace38.py and test_user37.py

def _holds_quotient(term) -> bool:
    """``term`` divides by something of the inputs outside any function's argument (1/κ, (t − p)/b, a select's piece
    2κ/(1 + κ²)): a quotient rounded once in the kernel's dtype, to an ulp of its own size. Not one whose |u| as u and
    sign(u) as 1 is a number (|x|·sign(y)/x, 5·|x|·|y|/(x·y): ±1 and ±5 exactly in floating point too, where the
    double words of a subnormal x·y were not: 6 for 5 at x = 5e−324, y = 2.48, tests/test_review37.py)."""
    plain = term.replace(sp.Abs, lambda u: u).replace(sp.sign, lambda u: sp.S.One)
    if not plain.free_symbols:
        return False
    plain = plain.xreplace({f: sp.Dummy() for f in plain.atoms(sp.Function) if not isinstance(f, sp.Piecewise)})
    return any(q.exp.is_negative and bool(q.base.free_symbols) for q in plain.atoms(sp.Pow))


def _quotient_sum(node) -> bool:
    """A sum of two or more inputs with two or more terms of opposite signs that each divide by the inputs (a term with
    an input of either sign as a factor that no other holds has both signs: _lone_input_factor)."""
    if not (node.is_Add and len(node.args) >= 2 and len(node.free_symbols) >= 2):
        return False
    quotients = [a for a in node.args if _holds_quotient(a)]
    # a select's inputs are its values' (σ(x)·e^x/y beside σ(x)²/y, a select of the first at x < −700: y is no lone
    # factor, the sum is of one sign and was widened for nothing, tests/test_search33.py)
    values = [a.xreplace({w: sp.Add(*[v for v, _ in w.args]) for w in a.atoms(sp.Piecewise)}) for a in quotients]
    # (mirror47) a select's sign is its first value's: a Piecewise never extracts a minus sign, so ∂ε of
    # 1/√ε − 1/√(ε + x²), (ε + x²)^(−3/2)/2 + {−ε^(−3/2)/2 if |ε| < 2⁸⁰; …} after power-quotient, read as one sign
    firsts = [a.xreplace({w: w.args[0].expr for w in a.atoms(sp.Piecewise)}) for a in quotients]
    signs = {s for f, v in zip(firsts, values) for s in ((True, False) if _lone_input_factor(v, values)
                                                         or _lone_sum_factor(f, firsts)
                                                         else (f.could_extract_minus_sign(),))}
    return len(quotients) >= 2 and len(signs) == 2


def _lone_sum_factor(term, terms) -> bool:
    """``term`` (a select read as its first value) a product with a sum of inputs of either sign (or an odd power of
    one) among its factors that no other of ``terms`` holds: the term's sign is the data's. (review47) ∂y of
    (x + y)/(x − y)², (x − y)⁻² + 2·(x + y)/(x − y)³, cancels where 3x + y ≈ 0 though neither term extracts a minus
    sign: 23.7 ULP in float64 at (x, y) = (−0.328, 0.886) once mirror47's reading widened its ∂x beside it (torch
    7.72), and 2.2e−309 for 3.3e−309 at (3.0e154, −8.3e−153), where (x − y)² overflowed."""
    bases = [f.base if f.is_Pow and f.exp.is_Integer and f.exp % 2 == 1 else f for f in sp.Mul.make_args(term)]
    return any(b.is_Add and all(t.as_coeff_Mul()[1].is_Symbol for t in b.args)  # 2x + 2y, not 1 − x·y² (test_review42:
               # a select at x = ±inf taken through the widened sum was NaN)
               and b.is_nonnegative is None and b.is_nonpositive is None
               and not any(other.has(b) or other.has(-b) for other in terms if other is not term) for b in bases)


# a double word's lo part is lost where its hi is below 2⁻⁹⁶⁸ (doubleword.SCALED_TINY: its 2⁻¹⁰⁶ is below 2⁻¹⁰⁷⁴), and a
# product's split is scaled past 2⁹⁹⁶: a quotient sum is widened where each value its double words hold is 0 or within
# 2^±968 (powers of two: exact)
_WORDS_LOW, _WORDS_HIGH = sp.Float(2.0 ** -968), sp.Float(2.0 ** 968)


def _word_values(node, found: dict) -> bool:
    """Put in ``found`` (as keys, in order) the values the double words of ``node`` hold: each input, sum, product,
    quotient and power below it, each product of two or more factors of a numerator or a denominator (the double words
    form b·κ² of (p − t)/(b·κ²), and any partial product of x·y·z), each value of a select (not its conditions); False
    where ``node`` holds a function other than |u|, sign(u), a select or a widened node (a sum with e^x or σ is its own
    rules'), or a product of more than four factors."""
    if not isinstance(node, sp.Expr) or node.is_number:  # (a condition: not a value)
        return True
    if isinstance(node, Grouped):
        return _word_values(node.args[0], found)
    if isinstance(node, sp.Piecewise):
        return all(_word_values(v, found) for v, _ in node.args)
    if isinstance(node, sp.Function) and not isinstance(node, (sp.Abs, sp.sign, WidenedBase)):
        return False
    if not (node.is_Symbol or isinstance(node, WidenedBase)):
        if not all(_word_values(a, found) for a in node.args):
            return False
    if node.is_Mul or node.is_Pow:
        for side in node.as_numer_denom():
            factors = [f for f in sp.Mul.make_args(side) if not f.is_number]
            if len(factors) > 4:
                return False
            for r in range(1, len(factors) + 1):
                found.update(dict.fromkeys(sp.Abs(sp.Mul(*c)) for c in itertools.combinations(factors, r)))
            for f in factors:  # (x³: x² on the way)
                if f.is_Pow and f.exp.is_Integer:
                    found.update(dict.fromkeys(sp.Abs(f.base ** j) for j in range(2, int(f.exp))))
    c, rest = node.as_coeff_Mul()
    if not (c in (1, -1) and rest is not node):  # (−u is u's value: once)
        found[sp.Abs(node)] = None
    return True


def _quotient_range(node):
    """Where the double words of the quotient sum ``node`` stay in range: every value they hold (:func:`_word_values`:
    inputs, products, quotients, inner sums) 0 or within 2^±968, as the kernel computes it; None where ``node`` holds
    another function. The double words of x·y at x = 5e−324 gave 6 for 5 in session 37's review, and ~100 of 200
    points of x/(y·z) − w/(y·z) + 1/v with y·z subnormal worse than torch (up to 5.1e13 ULP)."""
    found: dict = {}
    if not all(_word_values(a, found) for a in node.args):
        return None
    return sp.And(*[(a <= _WORDS_HIGH) & ((a >= _WORDS_LOW) | sp.Eq(a, 0)) for a in found])


def _unwrapped(e):
    """``e`` with its widened nodes and kept brackets as the sums they stand for, and each select as its first value
    (a rule's select of two forms of one function: scaled-square's x/y² or (x/y)/y)."""
    e = unwiden(e)
    e = e.replace(lambda n: isinstance(n, sp.Piecewise), lambda n: n.args[0].expr)
    return ungroup(e)


def _taken_written_forms(expr) -> set:
    """The sums of ``expr`` that an earlier rule keeps as written beside its own form of them: the last piece of a
    select whose other piece is the same function (reciprocal-difference's a·((v − u)/u)/v where v/u is in [1/2, 2],
    1/u − 1/v elsewhere, where they cannot cancel; reciprocal-margin's widened x/y − y/x, x/y² − 1/x where its double
    words stay in range). Widened there too, 1/x − 1/y was 3–7× slower for no gain (session 37's review)."""
    taken = set()
    for w in _atoms(expr, sp.Piecewise):
        *others, (last, cond) = w.args
        if cond != sp.true or not last.is_Add:
            continue
        for value, _ in others:
            if value.free_symbols and sp.cancel(sp.together(_unwrapped(value) - _unwrapped(last))) == 0:
                taken.add(last)
                break
    return taken


def _guarded_quotient_sum(node):
    """widen(node) where :func:`_quotient_range` holds, ``node`` as written elsewhere; ``node`` where it has none."""
    inside = _quotient_range(node)
    if inside is None:
        return node
    # (h-cauchy43) a sum of quotients of polynomials: past the guard in scaled double words (widen's far_bound), as
    # written where that is not finite (the written form there: ∂x of x/(1 + (a·x)²) 115 ULP at (−3.58e−260, 2.76e259))
    degree = _cauchy_rational_degree(node)
    outside = node if not degree else written_where_not_finite(widen(node, far_bound=max(1, 960 // degree)), node)
    return sp.Piecewise((_signed_widen(node), inside), (outside, True))


def _widen_quotient_sums(expr):
    """Every sum of ``expr`` that :func:`_quotient_sum` names (innermost first) and no earlier rule keeps as written
    (:func:`_taken_written_forms`), widened where its double words stay in range (:func:`_quotient_range`); the
    widened nodes and conditions kept as they are."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.Pow):
        return expr
    taken = None

    def rewrite(node):
        nonlocal taken
        if not _quotient_sum(node):
            return node
        if taken is None:
            taken = _taken_written_forms(expr)
        return node if node in taken else _guarded_quotient_sum(node)

    # (review47) a WrittenWhereNotFinite's written fallback kept as it is: it is taken only where the computed form is
    # not finite (the printers' _taken_again); mirror47's reading of a select's sign widened distributed-power-sum's
    # fallbacks x·y/(x − y)³′ = {y/(x − y)³ …} + {−3x·y/(x − y)⁴ …} for no change at the probe's 600 points, 2.5–3.8×
    # the NumPy cost of x·y/(x − y)³, x·y/(x − y)⁴ and (x + 1)/(x − y)³ (now 1.0–1.5× dfe9bdb8's)
    def computed_only(node):
        if isinstance(node, WrittenWhereNotFiniteBase):
            return node.func(walk(node.args[0]), *node.args[1:])
        return None

    def walk(e):
        if not e.has(WrittenWhereNotFiniteBase):
            return _bottom_up(e, rewrite, leaves=_KEPT)
        return _bottom_up(_top_down(e, computed_only), rewrite, leaves=_KEPT + (WrittenWhereNotFiniteBase,))

    return walk(expr)


WIDEN_QUOTIENTS = Rule(
    "widen-quotients", "a sum whose terms of opposite signs each divide by the inputs cancels their roundings, each "
    "half an ulp of its own size (an asymmetric Laplace NLL's ∂κ, (t − p)/b − 1/κ + 2κ/(1 + κ²): 28.7 ULP in float64 at "
    "b = 1, κ = 0.3, p = −1.5, t = 1.2319, torch 12.7); computed as the widen rule computes a sum, in float64 in a "
    "float32 kernel and in double words in a float64 one, rounded once; after the rules that make its terms safe from "
    "overflow (overflowing-log1p's 2/κ where κ² overflows), whose selects it computes as they are; only where each "
    "value its double words hold (inputs, products, quotients, inner sums) is 0 or within 2^±968, as written elsewhere "
    "(a double word's lo part is lost below 2⁻⁹⁶⁸: x/(y·z) − w/(y·z) + 1/v with y·z subnormal was worse than torch "
    "at ~100 of 200 points, up to 5.1e13 ULP), and not a term that is a number times signs "
    "(|x|·sign(y)/x, exact as written), and not a sum an earlier rule keeps as written beside its own form of it "
    "(reciprocal-difference's 1/x − 1/y where it cannot cancel)",
    apply=_widen_quotient_sums, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ factor-into-quotient-branches (issue 16:
# hardsigmoid(x)/leaky_relu(selu(x)), SymPy's h·{(1/λ)/x if x > 0; …}: inf at x = 2.78e−309 in float64 for 1.71e308;
# h-xfail31's node-by-node rule, taken out in session 31 (it moved x into collect-pole's select before collect-pole saw
# the sum: ∂ of log(elu(hardswish x)) NaN at ±0); now a whole-expression rule, the last one applied; h-quot32, tested in
# tests/test_quot32.py)

# bounded functions of any argument: a factor built of them, inputs and numbers has no pole and overflows only where
# the product as written overflowed too (it computed the factor itself). |·|, max and min are tame of tame arguments
# only (session 33: |1/y| has y's pole; session 32's review)
_TAME_FUNCTIONS = (sigmoid, sp.tanh, sp.erf, sp.sin, sp.cos, sp.sign)


def _constant_over_inputs(e) -> bool:
    """e is c/(y^k·z^m…): a finite number c (1 too) times negative powers of inputs, at least one."""
    factors = sp.Mul.make_args(e)
    return any(f.is_Pow for f in factors) and all(
        (f.is_Number and f.is_finite) or (f.is_Pow and f.exp.is_negative and f.exp.is_number and f.base.is_Symbol)
        for f in factors)


def _quotient_select(pw) -> bool:
    """pw is a select one of whose values, nested or not, is a constant over inputs, and none a non-finite number (a select
    holding SymPy's zoo, the pole of a division by 0 it wrote, is left as it is)."""
    values = [e for e, _ in pw.args]
    if any(e.is_number and not e.is_finite for e in values):
        return False
    nested = [e for e in values if isinstance(e, sp.Piecewise)]
    if any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in nested):
        return False
    return any(_constant_over_inputs(e) for e in values) or any(_quotient_select(e) for e in nested)


def _tame(h) -> bool:
    """h has no pole and no function that overflows: numbers, inputs, sums, products, positive powers, selects of such
    values, |·|, max and min of such values, and bounded functions (σ, tanh, erf, sin, cos, sign) of anything."""
    if h.is_Number:
        return bool(h.is_finite)
    if h.is_Symbol or isinstance(h, _TAME_FUNCTIONS):
        return True
    if isinstance(h, (sp.Abs, sp.Max, sp.Min)):
        return all(_tame(a) for a in h.args)
    if isinstance(h, Grouped):
        return _tame(h.args[0])
    if h.is_Add or h.is_Mul:
        return all(_tame(a) for a in h.args)
    if h.is_Pow:
        return h.exp.is_number and h.exp.is_positive and _tame(h.base)
    if isinstance(h, sp.Piecewise):
        return all(_tame(e) for e, _ in h.args)
    return False


def _into_quotient_branches(pw, h):
    """{c/y if A; b if B; …} times h, h in every branch: c·h/y one product over y; a nested select the same way; any
    other value b times h as it was, b rounded first (a product b kept one factor: h·b's factors are not reordered)."""
    def moved(e):
        if isinstance(e, sp.Piecewise):
            return _into_quotient_branches(e, h) if _quotient_select(e) else h * e
        if _constant_over_inputs(e):
            return h * e
        return h * (Grouped(e) if e.is_Mul and not e.is_number else e)
    return sp.Piecewise(*[(moved(e), c) for e, c in pw.args])


def _factor_into_quotient_branch(node):
    """h·{c/y if …; …} (a select with a value, nested or not, that is a constant over inputs, and h the product's other
    factors, each :func:`_tame`) → {c·h/y if …; …}, h moved into every branch; the node as it is otherwise.

    Exact: a product distributes over a select's branches (h is evaluated where each branch is). In a branch the
    quotient c·h/y is printed as one product over y (the printer's constant placement), where c/y rounded and
    overflowed first (c/y past the range, c·h/y not: a subnormal y); every other branch is its value times h, as
    before. h has no pole and overflows only where h as written did, so that no branch gains an inf·0.

    Who owns h·{c/y; …} (session 33): this rule, for a tame h, symbolically and before any printer sees the product;
    the printers' run-time fallback (``ConditionalPrinting._moved_into_select``, NumPy ``_taken_again``) only what
    this rule refuses (an h with a pole or an unbounded function: e^x/selu(y), √x/elu(y), relu(x·y)/leaky_relu(y)) or
    never sees (a select or a product held in a CSE temporary, a product inside a widened sum's body, which this rule
    does not walk). A product this rule took has no select left for the fallback to move h into; where h's size is
    known from its structure (σ, tanh, an input times bounded factors) its c·h/y and the derivative's c·(h/y)/y are
    not taken again either (they leave the range only where the exact quotient does,
    :func:`symnet.codegen.spans.product_stays_in_range`); c·h/y², whose y² underflows, is, by exponents."""
    if not node.is_Mul:
        return node
    pw = next((f for f in node.args if isinstance(f, sp.Piecewise) and _quotient_select(f)), None)
    if pw is None:
        return node
    rest = list(node.args)
    rest.remove(pw)
    h = sp.Mul(*rest)
    if not _tame(h):
        return node
    return _into_quotient_branches(pw, h)


def _factor_into_quotient_branches(expr):
    """Every product of ``expr`` :func:`_factor_into_quotient_branch` takes, innermost first. A whole-expression rule
    applied after every other (the last registered): the node-by-node rules and the other whole-expression rules
    have each seen the products as written (collect-pole needs x·P/6 + (x/6 + 1/2)·P with P the same select in both
    terms; moved into P first, x made its expm1 branch 0/0 = NaN at x = 0, session 31)."""
    from ..roots import SeriesBase

    if not isinstance(expr, sp.Expr) or not expr.has(sp.Piecewise):
        return expr
    return _bottom_up(expr, _factor_into_quotient_branch, leaves=_KEPT + (SeriesBase,))


# ------------------------------------------------------------------ power-into-branches (issue 16, session 38:
# ((x + y)/poisson_nll(x, y))⁻² at (−1.8e308, 0.3) was P²/(x + y)² = inf/inf = NaN for 0.09); tested in
# tests/test_range38.py

def _power_into_branch(node):
    """{A₁^k if …; 0 if …; …}·B^−m (a select whose every value is a k-th power A^k or 0, k ≥ 2 an integer, and a power
    B^−m of a sum, m ≥ k, with other factors h) → h·{(A₁/B)^k·B^(k − m) if …; 0 if …}, B^−m moved into each branch,
    where B or some A lies outside 2^±(120/max(k, m)); the product as written within (A^k, B^m normal: the
    roundings it was measured with, 3.19 ULP at (22.26, −4.53) where (A/B)² is 4.13); a value neither a k-th power nor
    0 times B^−m as it was. A^k and B^m overflow together where their quotient does
    not (the Poisson NLL P = e^x − x·y squared over (x + y)² at x = −1.8e308: inf/inf = NaN for 0.09); (A/B)^k rounds
    as often as A^k/B^k, and overflows only where the whole does. Exact: a product distributes over the branches."""
    if not node.is_Mul:
        return node
    pw = next((f for f in node.args if isinstance(f, sp.Piecewise)), None)
    if pw is None:
        return node
    powers = [f for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp <= -2 and f.base.is_Add
              and f.base.free_symbols]
    if len(powers) != 1:
        return node
    (den,) = powers
    b, m = den.base, int(-den.exp)
    values = [e for e, _ in pw.args]
    ks = {int(e.exp) for e in values if e.is_Pow and e.exp.is_Integer and e.exp >= 2}
    if len(ks) != 1:
        return node
    (k,) = ks
    if m < k:
        return node

    def moved(e):
        if e == 0:
            return sp.S.Zero
        if e.is_Pow and e.exp == k:
            return sp.Pow(Grouped(e.base / b), k) * b ** (k - m)
        return e * den

    # the written form where A and B lie within 2^±(120/max(k, m)) (at most 2^±60, as scaled-power's): A^k and B^m are
    # normal in float32 there, and the product rounds as it was measured
    bound = sp.Integer(2) ** min(60, 120 // max(k, m))

    def within(v):
        return (sp.Abs(v) < bound) & (sp.Abs(v) > 1 / bound)
    written = sp.And(within(b), *[within(e.base) for e in values if e.is_Pow and e.exp == k])
    rest = [f for f in node.args if f is not pw and f is not den]
    return sp.Piecewise((node, written), (sp.Mul(*rest) * sp.Piecewise(*[(moved(e), c) for e, c in pw.args]), True))


def _powers_into_branches(expr):
    """Every product of ``expr`` :func:`_power_into_branch` takes, innermost first."""
    from ..roots import SeriesBase

    if not isinstance(expr, sp.Expr) or not expr.has(sp.Piecewise):
        return expr
    return _bottom_up(expr, _power_into_branch, leaves=_KEPT + (SeriesBase,))


POWER_INTO_BRANCHES = Rule(
    "power-into-branches", "{A^k if …; …}/B^m (a select of k-th powers over a power of a sum, m ≥ k: the Poisson "
    "NLL P = e^x − x·y squared by ((x + y)/P)⁻², P²/(x + y)², with P² written by the exp-minus rules as a select) "
    "overflows A^k and B^m together where the quotient does not: inf/inf = NaN at (−1.8e308, 0.3) for 0.09 (torch "
    "1.76 ULP); {(A/B)^k·B^(k − m) if …; …}, the power moved into each branch, rounds as often and overflows only where "
    "the whole does", apply=_powers_into_branches, fired=lambda old, new: new != old)


FACTOR_INTO_QUOTIENT_BRANCHES = Rule(
    "factor-into-quotient-branches", "h·{c/y if …; …} (SymPy writes the reciprocal of a select as the select of "
    "reciprocals: 1/leaky_relu(selu(x)) is {(1/λ)/x if x > 0; …}) forms c/y before h scales it: "
    "hardsigmoid(x)/leaky_relu(selu(x)) was inf at x = 2.78e−309 in float64 (true 1.71e308) and at 1.47e−39 in "
    "float32 (true 3.24e38), (1/λ)/x past the range where h = 1/2 brings it back; {c·h/y if …; …}, h moved into each "
    "branch, is the same function with the quotient formed once, other branches their value times h as before. Only "
    "for h without a pole or an unbounded function (inputs, numbers, polynomials, selects, σ, tanh, …), and applied "
    "after every other rule, which see the product as written",
    apply=_factor_into_quotient_branches, fired=lambda old, new: new != old)


# ------------------------------------------------------------------ kink-side (session 34, h-kink34: a Huber loss
# with a learned δ, ∂δ = {0 if δ > |p − t|; |p − t| − δ}, was −8.9e−16 at p = 4.39179958690881, t = −4.813371251187944,
# δ = 9.205170838096755, where truly |p − t| < δ and ∂δ = 0, torch 0); tested in tests/test_kink34.py

_SIDE = {sp.StrictGreaterThan: 1, sp.GreaterThan: 1, sp.StrictLessThan: -1, sp.LessThan: -1}


def _kink_side_branch(value, cond, holds):
    """``value`` with each widened node in it that is ±(lhs − rhs) of the relation ``cond`` clamped to the sign that
    difference has where ``cond`` holds (``holds``) or fails: Max(w, 0) or Min(w, 0)."""
    side = _SIDE.get(type(cond))
    if side is None or not value.has(WidenedBase):
        return value
    difference = sp.expand(cond.lhs - cond.rhs)
    sign = side if holds else -side

    def clamp(node):
        if not isinstance(node, WidenedBase):
            return None
        body = sp.expand(node.expanded)
        for k in (1, -1):
            if body == k * difference:  # the branch's sign is k·sign here
                return sp.Max(node, 0, evaluate=False) if k * sign > 0 else sp.Min(node, 0, evaluate=False)
        return None

    return rewrite_nodes(clamp, value)


def _kink_side_select(node):
    """A select whose branch is its condition's own difference, widened, with that branch kept to its side."""
    if not isinstance(node, sp.Piecewise) or not node.has(WidenedBase):
        return node
    pieces, after = [], None  # after: the one relation every later branch lies beyond
    for value, cond in node.args:
        if cond is sp.true and after is not None:
            value = _kink_side_branch(value, after, holds=False)
        elif cond is not sp.true:
            value = _kink_side_branch(value, cond, holds=True)
        after = cond if after is None and type(cond) in _SIDE else False
        pieces.append((value, cond))
    return sp.Piecewise(*pieces, evaluate=False) if pieces != list(node.args) else node


def _kink_side(expr):
    """Every select of ``expr`` as :func:`_kink_side_select` puts it, innermost first."""
    if not isinstance(expr, sp.Basic) or not (expr.has(sp.Piecewise) and expr.has(WidenedBase)):
        return expr
    return expr.replace(lambda n: isinstance(n, sp.Piecewise), _kink_side_select)


KINK_SIDE = Rule(
    "kink-side", "a select tests its condition on rounded numbers while the widen rule computes a branch exactly: "
    "where that branch is the condition's own difference (a Huber loss's ∂δ = {0 if δ > |p − t|; |p − t| − δ}), the "
    "two disagree within an ulp of the kink, the rounded |p − t| ≥ δ taking the outer branch where the exact "
    "|p − t| − δ < 0 (∂δ −8.9e−16 at p = 4.39179958690881, t = −4.813371251187944, δ = 9.205170838096755, true 0 as "
    "torch's); the branch clamped to its side of the kink (max(|p − t| − δ, 0)) is its exact value wherever the "
    "condition agrees and the kink's value, 0, where it does not",
    apply=_kink_side, fired=lambda old, new: new != old)
