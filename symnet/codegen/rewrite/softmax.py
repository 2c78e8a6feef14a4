"""Softmax and divergence rules: compensated-sum, softmax-mean, gap-sum, softmax-entropy, ...

Its blocks, in the order of the module rewrite.py that session 43 split into this package: compensated-sum,
nested-sum-factor, softmax-mean, gap-sum, softmax-divergence, softmax-entropy, temp43.
"""
from __future__ import annotations

import math

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...special import exp_shift, softplus
from .core import _exp_terms, _Final, _Fired, _rewrote, rewrite_nodes, Rule
from .widening import _bottom_up, _KEPT, _top_down, Grouped, widen, WidenedBase
from .losses import _FLT_MAX
from .series import _exact_argument
from .limits import _DBL_MAX


# ------------------------------------------------------------------ compensated-sum (issue 16: a written softmax's
# gradient −p·s_j = −e^(a − m)·e^(a_j − m)/S² squares the rounding of S = Σ e^(a_i − m)); tested in tests/test_lse15.py.
# Two terms too since session 42 (h-soft42, tests/test_soft42.py): exp(a)/(exp(a) + exp(b)) rounded e^−|a − b|, S = 1 +
# e^−|a − b|, S² and the quotient each (∂b 2.38 ULP at (−650.73, −644.80) in float64, torch's autograd 0.38; worse than
# max(torch, 1) at 79 of 306 points), a − log(exp(a) + exp(b))'s ∂b = −e^(b − m)/S likewise (1.13, torch 0.13): the
# whole float64 block in double words, rounded once, 0.50 ULP at all 306 (and float32, a float64 block, 0.50)

def _compensated_sum_node(node):
    """A max-shifted sum of two or more terms, Σ exp_shift(a_i, m) with one m → that sum widened over its terms
    (each term computed in the kernel's dtype, the sum of them in float64 or double-word, rounded once); a log's or
    log1p's argument is left (the log-sum-exp rules' forms), None elsewhere."""
    if isinstance(node, (sp.log, log1p)):
        return node  # not entered
    node = _constant_logit_shift(node)  # smax46: e^−m beside two or more e^(aᵢ − m) is e^(0 − m)
    if not (node.is_Add and len(node.args) >= 2 and all(isinstance(t, exp_shift) for t in node.args)
            and len({t.args[1] for t in node.args}) == 1):
        return None
    terms = sorted(node.args, key=sp.default_sort_key)
    body = _compensated_body(len(terms))
    leaves = sorted(body.args, key=lambda e: int(e.name[2:]))  # e_0, e_1, …: the k-th term's leaf
    cls = type(widen(body))
    by_leaf = dict(zip(leaves, terms))
    return cls(*(by_leaf[leaf] for leaf in cls.leaves))


def _compensated_body(n: int) -> sp.Expr:
    """The body of an n-term compensated sum: e_0 + … + e_(n−1), each leaf positive (one class per n)."""
    return sp.Add(*[sp.Symbol(f"e_{k}", positive=True) for k in range(n)])


def is_compensated_sum(node) -> bool:
    """Whether ``node`` is a sum the compensated-sum rule widened (its class's body is
    :func:`_compensated_body`): the Triton backend then computes a float32 kernel in float64 throughout, as the
    NumPy backend computes any float32 block with a widened sum (S², the quotient and the product in float32 gave
    the written 24-term softmax's gradient 2.39 ULP at a_i = −800 + i/8; 0.49 in float64)."""
    return isinstance(node, WidenedBase) and len(node.leaves) >= 2 and node.body == _compensated_body(len(node.leaves))


def _compensated_sums(expr):
    """``expr`` with each max-shifted sum of two or more terms outside a log summed once, rounded once
    (:func:`_compensated_sum_node`); the sum shared by a softmax's value and gradients is one node of the kernel."""
    if not isinstance(expr, sp.Basic) or not expr.has(exp_shift):
        return expr
    return _top_down(expr, _compensated_sum_node)


COMPENSATED_SUM = Rule(
    "compensated-sum", "a max-shifted sum S = Σ e^(a_i − m) of many terms is rounded at every addition (0.95 ULP off "
    "for 24 terms at a_i = −800 + i/8 in float64), and a softmax gradient −e^(a − m)·e^(a_j − m)/S² doubles that "
    "(4.49 ULP; torch.softmax's autograd 1.71); the terms summed in float64 (double-word in a float64 kernel) and "
    "rounded once give S to about half an ULP (the gradient 1.12 ULP), and the kernel's float64 block is computed again "
    "in double words, each output rounded once (0.50 ULP); two terms too: exp(a)/(exp(a) + exp(b))'s ∂b, "
    "−e^−|a − b|/(1 + e^−|a − b|)² with e^−|a − b|, the sum, its square and the quotient each rounded, was 2.38 ULP in "
    "float64 where torch's autograd is 0.38 (0.50 now); a log's sum is left to the log-sum-exp rules; a constant "
    "logit's e^−m beside two or more e^(aᵢ − m) of one m is exp_shift(0, m), its value (∂a of T·log(e^(a/T) + "
    "e^(b/T) + 1) was 565 ULP in float64 at T = 0.0010005, a = 1.688, b = 1.863, the exponents a/T − m rounded and "
    "the sum term by term; torch NaN; correctly rounded at all 200 of tests/test_smax45.py's points now)",
    apply=_compensated_sums, fired=_rewrote)


# ------------------------------------------------------------------ nested-sum-factor (issue 16: the KL divergence
# of two written softmaxes, session 29); tested in tests/test_kl29.py


def _holds_factor(term, s) -> bool:
    """term is s·X: s a factor of term itself, or of every term of a sum among its factors (nested)."""
    factors = sp.Mul.make_args(term)
    return s in factors or any(f.is_Add and all(_holds_factor(t, s) for t in f.args) for f in factors)


def _factor_out(term, s):
    """term/s for a term that :func:`_holds_factor` s, the division taken into the sum that holds it (exact:
    s·Σ X_i = Σ s·X_i), so that no s/s is left to floating point."""
    factors = sp.Mul.make_args(term)
    if s in factors:
        return term / s
    f = next(f for f in factors if f.is_Add and all(_holds_factor(t, s) for t in f.args))
    return sp.Mul(*[g for g in factors if g is not f]) * sp.Add(*[_factor_out(t, s) for t in f.args])


def _nested_sum_factor_node(node):
    """(Σ_i T_i)·S⁻ᵏ·R where every T_i holds the sum of exponentials S, some only inside a sum of its own → Σ_i
    (T_i/S)·S¹⁻ᵏ·R, multiplied out so that each term's exponentials meet the sums they are shifted by (the KL's
    ∂c becomes q_a·p_b − p_a·q_b, each weight max-shifted), or None. The cancel rule's own case (S a factor of every
    term) is left to it."""
    if not node.is_Mul:
        return None
    divisors = [f.base for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and _exp_terms(f.base)]
    for f in node.args:
        if not f.is_Add or len(f.args) < 2:
            continue
        for s in divisors:
            if all(s in sp.Mul.make_args(t) for t in f.args):
                # the cancel rule's case where what is left is itself a sum of exponentials ((Q·e^a + Q·e^b)/Q² in the
                # KL's ∂x): divided out here, before the node pass max-shifts Q into each term and leaves e^(a + max Q)
                # unshifted by P's max (e^800 = inf times 0 at a = x = 400), and not multiplied out, so that SymPy
                # cancels the sum P = e^a + e^b against a P the product divides by (∂x = e^x/Q − e^a/P, exactly 0 at
                # identical logits)
                inner = sp.Add(*[t / s for t in f.args])
                if _exp_terms(inner):
                    return sp.Mul(*[g for g in node.args if g is not f]) * s * inner
                continue
            if all(_holds_factor(t, s) for t in f.args):
                rest = sp.Mul(*[g for g in node.args if g is not f]) * s
                return sp.Add(*[rest * _factor_out(t, s) for t in f.args])
    return None


def _nested_sum_factors(expr):
    """Every node of ``expr`` as :func:`_nested_sum_factor_node` writes it, bottom up."""
    return _bottom_up(expr, lambda node: _nested_sum_factor_node(node) or node)


NESTED_SUM_FACTOR = Rule(
    "nested-sum-factor", "(Σ T_i)/S^k with S a sum of exponentials held by every T_i, some only inside a sum of "
    "their own (the KL divergence of two written softmaxes p = e^a/P, q = e^c/Q: its ∂c as derived is "
    "((P·e^a/Q + P·e^b/Q)·e^c − P·e^a)/P², NaN in float64 at a = 398.4 where P² overflows, torch NaN too) → "
    "Σ_i (T_i/S)/S^(k−1), the factor divided out symbolically (exact) before the node-by-node rules max-shift the "
    "sums and no longer see it, and multiplied out, so that each term's exponentials meet the sums they are shifted "
    "by (the KL's ∂c = q_a·p_b − p_a·q_b: 0.06 ULP there)", apply=_nested_sum_factors, fired=_rewrote, before=True)

# ------------------------------------------------------------------ softmax-mean (issue 16: the KL divergence of two
# written softmaxes near p = q, session 29); tested in tests/test_kl29.py


def _softmax_weight(term):
    """(x, m, S, rest) for a term e^(x − m)·rest/S, S = Σ_j e^(a_j − m) a max-shifted sum of exponentials (exp_shift
    nodes; or the compensated-sum rule's widened node of them, whose arguments are its terms: two terms since session
    42) holding e^(x − m), else None. S is returned as the sum of its terms."""
    factors = sp.Mul.make_args(term)
    weights = [f for f in factors if isinstance(f, exp_shift)]
    sums = [f for f in factors if f.is_Pow and f.exp == -1 and (is_compensated_sum(f.base) or f.base.is_Add)
            and all(isinstance(t, exp_shift) for t in f.base.args)]
    if len(weights) != 1 or len(sums) != 1 or weights[0] not in sums[0].base.args:
        return None
    (w,), (s,) = weights, sums
    return w, sp.Add(*s.base.args), sp.Mul(*[f for f in factors if f is not w and f != s])


def _softmax_mean_node(node):
    """Σ_i p_i·D_i over every weight p_i = e^(a_i − m)/S of one softmax, each D_i a widened sum → one widened sum of
    the whole (the weights, the sum S and each D_i in double words, rounded once), or None."""
    if not node.is_Add or len(node.args) < 2:
        return None
    found = [_softmax_weight(t) for t in node.args]
    if any(f is None for f in found) or len({s for _, s, _ in found}) != 1:
        return None
    s = found[0][1]
    if {w for w, _, _ in found} != set(s.args) or len(found) != len(s.args):
        return None
    if not all(isinstance(d, WidenedBase) and d.body.is_Add for _, _, d in found):
        return None
    to_exp = lambda e: e.replace(exp_shift, lambda x, m: sp.exp(x - m))  # noqa: E731
    total = to_exp(s)
    return widen(sp.Add(*[to_exp(w) * d.body / total for w, _, d in found]))


def _softmax_means(expr):
    """Every softmax mean of widened differences in ``expr`` as :func:`_softmax_mean_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(WidenedBase):
        return expr
    return _top_down(expr, _softmax_mean_node)


SOFTMAX_MEAN = Rule(
    "softmax-mean", "Σ_i p_i·D_i, the mean of differences D_i under the weights p_i = e^(a_i − m)/Σ_j e^(a_j − m) of "
    "one softmax (the KL divergence of two written softmaxes, Σ_i p_i·(log p_i − log q_i), each log-ratio a widened "
    "sum), cancels where the D_i straddle 0: the KL is of second order in p − q, and each D_i rounded once to float64 "
    "left 1.4e3 ULP in float64 at KL = 2.3e−7 (torch 7.4e5); the whole mean in double words (weights, sum and "
    "differences) is rounded once", apply=_softmax_means, fired=_rewrote)

# ------------------------------------------------------------------ gap-sum (issue 16: the KL divergence of two
# written softmaxes, its ∂a near p = q, session 29); tested in tests/test_kl29.py


def _gap_term(t) -> bool:
    """t is ±x (an input) or ±max(0, …) of inputs (the max-minus rule's gap max(0, d − c), its select for c = d)."""
    _, t = t.as_coeff_Mul()
    if t.is_Symbol:
        return True
    return isinstance(t, sp.Max) and not t.atoms(sp.Function) - {f for f in t.atoms(sp.Function)
                                                                   if isinstance(f, (sp.Max, sp.Piecewise))}


def _gap_sum_node(node):
    """A sum of three or more inputs and gaps max(0, y − x), at least one gap, terms of both signs → widened, or None."""
    if not node.is_Add or len(node.free_symbols) < 3 or not all(_gap_term(t) for t in node.args):
        return None
    if not any(isinstance(t.as_coeff_Mul()[1], sp.Max) for t in node.args):
        return None
    if len({t.could_extract_minus_sign() for t in node.args}) < 2:
        return None
    return widen(node)


def _gap_sums(expr):
    """Every sum of inputs and gaps of ``expr`` as :func:`_gap_sum_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Max):
        return expr
    return _top_down(expr, _gap_sum_node, _KEPT)


GAP_SUM = Rule(
    "gap-sum", "a − b + max(0, d − c) − max(0, c − d), the difference of two log-ratios of softmaxes ((a − b) − (c − d) "
    "after the max-minus rule: the KL's ∂a = p_a·p_b·((a − b) − (c − d))), rounds a + max(0, d − c) first and cancels "
    "where p ≈ q (2²⁰ ULP in float64 at (3, 3, −2, −2 + 10⁻⁶)); in double words the sum of four float64 is exact to "
    "2⁻¹⁰⁰ and rounded once", apply=_gap_sums, fired=_rewrote)


# ------------------------------------------------------------------ softmax-divergence (issue 16, session 30: the KL
# divergence of two written softmaxes at and near p = q); tested in tests/test_kl30.py

_DIVERGENCE_SERIES_BELOW = sp.Rational(1, 16)  # |D| below which q·φ(D) is summed as a series (φ(D) ≈ D²/2)
_DIVERGENCE_SERIES_TERMS = 14  # φ's terms D^n·(n − 1)/n!, n = 2 … 15: the next is below 2⁻⁸⁰ of D²/2 at |D| = 1/16
_DIVERGENCE_FINITE = sp.Float(1e300)  # Σ_j q_j·expm1(u_j) above it: the difference of the log-sum-exps instead
# |logit| below which the rule applies: the selects on |D| < 1/16 are taken on u_i − log1p(…) in float64 (SymPy
# prints that sum in its own order), off by up to some ulps of the largest logit, 2⁻³¹ below 2²⁰;
# either branch is accurate that near 1/16. Above it (a − c at 1e20: the series taken at D = log 2, 9 ULP) as written
_DIVERGENCE_LOGITS_BELOW = sp.Integer(2) ** 20


def _written_softmax(e):
    """(u, S) for a softmax weight e^u/S written out (S a sum of exponentials, e^u among them), else None."""
    factors = sp.Mul.make_args(e)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    sums = [f.base for f in factors if f.is_Pow and f.exp == -1 and f.base.is_Add]
    if len(factors) != 2 or len(exps) != 1 or len(sums) != 1 or exps[0] not in sums[0].args:
        return None
    if not all(isinstance(t, sp.exp) for t in sums[0].args):
        return None
    return exps[0].args[0], sums[0]


def _divergence_term(term):
    """(a, P, c, Q) for a term e^a/P·(log(e^a/P) − log(e^c/Q)) of a written KL divergence, else None."""
    factors = sp.Mul.make_args(term)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    inverse = [f for f in factors if f.is_Pow and f.exp == -1]
    ratio = [f for f in factors if f.is_Add]
    if len(factors) != 3 or len(exps) != 1 or len(inverse) != 1 or len(ratio) != 1 or len(ratio[0].args) != 2:
        return None
    weight = _written_softmax(exps[0] * inverse[0])
    logs = sorted(ratio[0].args, key=lambda t: t.could_extract_minus_sign())
    if weight is None or not isinstance(logs[0], sp.log) or not isinstance(-logs[1], sp.log):
        return None
    p, q = _written_softmax(logs[0].args[0]), _written_softmax((-logs[1]).args[0])
    if p is None or q is None or p != weight:
        return None
    return p[0], p[1], q[0], q[1]


def _phi_series(d):
    """φ(D) = D·e^D − e^D + 1 = Σ_{n≥2} D^n·(n − 1)/n! in Horner form: D²·(1/2 + D·(1/3 + D·(1/8 + …)))."""
    out = sp.S.Zero
    for n in range(_DIVERGENCE_SERIES_TERMS + 1, 1, -1):
        out = sp.Rational(n - 1, math.factorial(n)) + d * out
    return d ** 2 * out


def _softmax_divergence_node(node):
    """Σ_i p_i·(log p_i − log q_i) of two written softmaxes p = softmax(a), q = softmax(c) over the same n classes
    → widened Σ_i q_i·φ(D_i), D_i = log p_i − log q_i = u_i − L, u_i = a_i − c_i − m, m = Σ_j q_j·(a_j − c_j),
    L = log Σ_j q_j·e^(u_j) (log1p(Σ_j q_j·expm1(u_j)) where that sum is above −1/2 and finite, the difference of the
    two log-sum-exps elsewhere); φ(D) = D·e^D − e^D + 1 ≥ 0 as
    a series where |D| < 1/16, q·φ(D) = p·(D − 1) + q elsewhere; the written form where a logit is 2²⁰ or more
    in size (or not finite).
    None where the node is no such sum."""
    if not node.is_Add or len(node.args) < 2:
        return None
    found = [_divergence_term(t) for t in node.args]
    if any(f is None for f in found) or len({(P, Q) for _, P, _, Q in found}) != 1:
        # c·KL (SymPy multiplies a number into the sum's terms: 2·KL at (400, −2, 400, −2) was −5.28e−191 for 0, at
        # (0, 1, 0.3, 1.3 − 2⁻⁵²) 1.0e−34 for 5.45e−33, 7.8e15 ULP; h-hostile31): c times the form of KL, exact
        c, primitive = node.as_content_primitive()
        for sign in (1, -1) if c != 1 else ():
            inner = _softmax_divergence_node(sign * primitive) if (sign * primitive).is_Add else None
            if inner is not None:
                return sign * c * inner
        return None
    _, P, _, Q = found[0]
    pairs = [(a, c) for a, _, c, _ in found]
    if {a for a, _ in pairs} != {e.args[0] for e in P.args} or {c for _, c in pairs} != {e.args[0] for e in Q.args}:
        return None
    if len(pairs) != len(P.args) or len(pairs) != len(Q.args) or not all(a.is_Symbol and c.is_Symbol for a, c in pairs):
        return None
    m_p, m_q = sp.Max(*[a for a, _ in pairs]), sp.Max(*[c for _, c in pairs])
    p_sum = sp.Add(*[sp.exp(a - m_p) for a, _ in pairs])
    q_sum = sp.Add(*[sp.exp(c - m_q) for _, c in pairs])
    # the shift: the q-weighted mean m = Σ_j q_j·(a_j − c_j) (Σ_j q_j·u_j = 0), so that Σ_j q_j·e^(u_j) ≥ 1 (Jensen)
    # and its log1p's argument ≥ 0; 0 at identical logits. No select in it (a select on the mode of q here, inside
    # the selects below, had SymPy fold it into their conditions: 2,142 operations a condition, 3.7 s of the 2-class
    # rule, 0.8 s now); where expm1 overflows the divergence is large and the log-sum-exps' difference enough
    q = [sp.exp(c - m_q) / q_sum for _, c in pairs]
    m = sp.Add(*[w * (a - c) for w, (a, c) in zip(q, pairs)])
    u = [a - c - m for a, c in pairs]
    near = sp.Add(*[w * expm1(v) for w, v in zip(q, u)])
    log_ratio = sp.Piecewise((log1p(near), (near > sp.Rational(-1, 2)) & (near < _DIVERGENCE_FINITE)),
                             (m_p - m - m_q + sp.log(p_sum) - sp.log(q_sum), True))
    terms = []
    for (a, _), w, v in zip(pairs, q, u):
        d = v - log_ratio
        p_i = sp.exp(a - m_p) / p_sum
        # the series where |D| < 1/16, D taken as u_i − log1p(Σ_j q_j·expm1(u_j)) (no select in the condition; either
        # branch is accurate near 1/16, and where that log overflows the divergence is large, so φ's cancellation in
        # p·(D − 1) + q is a rounding of a term far below it)
        near_d = v - log1p(near)
        terms.append(sp.Piecewise((w * _phi_series(d), sp.Abs(near_d) < _DIVERGENCE_SERIES_BELOW), (p_i * (d - 1) + w, True)))
    finite = sp.And(*[sp.Abs(s) < _DIVERGENCE_LOGITS_BELOW for a, c in pairs for s in (a, c)])
    return sp.Piecewise((widen(sp.Add(*terms)), finite), (node, True))


def _softmax_divergences(expr):
    """Every written KL divergence of two softmaxes in ``expr`` as :func:`_softmax_divergence_node` writes it."""
    if not isinstance(expr, sp.Basic) or not expr.has(sp.log):
        return expr
    return _top_down(expr, _softmax_divergence_node, _KEPT)


SOFTMAX_DIVERGENCE = Rule(
    "softmax-divergence", "the KL divergence Σ_i p_i·(log p_i − log q_i) of two written softmaxes p = softmax(a), "
    "q = softmax(c) is of second order in p − q while each log-ratio D_i is of first order: as a mean of D_i (the "
    "softmax-mean rule) the log-sum-exps' double-word error (~2⁻¹⁰⁰ of log Σ e^(a_j)) stays in it (2-class at (0, 1, "
    "0.3, 1.3 − 2⁻⁵²): 5.07e−35 for 2.73e−33; at identical logits (400, −2, 400, −2): −2.64e−191 for 0, a negative "
    "divergence). With Σ q_i = Σ p_i = 1 it is Σ_i q_i·φ(D_i), φ(D) = D·e^D − e^D + 1 ≥ 0 (every term ≥ 0: nothing "
    "cancels), D_i = u_i − log Σ_j q_j·e^(u_j), u_i = a_i − c_i − m with m = Σ_j q_j·(a_j − c_j) (any shift cancels "
    "in D_i; this one makes Σ_j q_j·e^(u_j) ≥ 1, Jensen), the log as log1p(Σ_j q_j·expm1(u_j)) where that sum is "
    "finite (0 at identical logits, so D_i = 0 and the divergence 0 exactly; where it overflows the divergence is "
    "large and the difference of the two log-sum-exps is enough), φ as its series Σ_{n≥2} D^n·(n − 1)/n! where "
    "|D| < 1/16, q·φ(D) = p·(D − 1) + q elsewhere (the series' select on u_i − log1p(…), no select inside it); "
    "in double words, rounded once; as written where a logit is 2²⁰ or more in size (or not finite)",
    apply=_softmax_divergences, fired=_rewrote, before=True)


# ------------------------------------------------------------------ softmax-entropy (session 42, h-temp42: ∂T of a smooth
# max with temperature T·log(e^(a/T) + e^(b/T)), test_user40's strict xfail); tested in tests/test_temp42.py


def _two_exp_log(factor):
    """(x₁, x₂) for log(e^x₁ + e^x₂), else None."""
    if not (isinstance(factor, sp.log) and factor.args[0].is_Add and len(factor.args[0].args) == 2):
        return None
    terms = factor.args[0].args
    if not all(isinstance(t, sp.exp) for t in terms):
        return None
    return terms[0].args[0], terms[1].args[0]


def _binary_entropy(v):
    """The entropy of the softmax of (v, 0) in nats, softplus(−|v|) + |v|·σ(−|v|): two terms ≥ 0, widened (in double
    words, rounded once); 0 beyond |v| = 3.4e38, its limit (as the softplus-slope rule writes it: the product is 0·∞),
    that test on v over one denominator (:func:`_entropy_far`)."""
    u = sp.Abs(v)
    return sp.Piecewise((0, _entropy_far(v)), (widen(u * sigmoid(-u) + softplus(-u)), True))


def _softmax_entropy_node(node):
    """k·log(e^x₁ + e^x₂) beside −k·(x₁e^x₁ + x₂e^x₂)/(e^x₁ + e^x₂) (one term of the sum, or the rest of it) →
    k·(softplus(−|x₁ − x₂|) + |x₁ − x₂|·σ(−|x₁ − x₂|)) (:func:`_binary_entropy`); None where the sum has no such pair."""
    if not (node.is_Add and node.has(sp.log)):
        return None
    for t in node.args:
        factors = sp.Mul.make_args(t)
        for F in factors:
            xs = _two_exp_log(F)
            if xs is None or not F.free_symbols:
                continue
            k = t / F
            if k.has(F):
                continue
            S = F.args[0]
            weighted = k * (xs[0] * sp.exp(xs[0]) + xs[1] * sp.exp(xs[1]))
            rest = [s for s in node.args if s is not t]
            gone = next(([s] for s in rest if sp.expand(s * S + weighted) == 0), None)
            if gone is None and rest and sp.expand(sp.Add(*rest) * S + weighted) == 0:
                gone = rest
            if gone is None:
                continue
            kept = [s for s in rest if s not in gone]
            return sp.Add(k * _binary_entropy(sp.expand(xs[0] - xs[1])), *kept)
    return None


def _softmax_entropies(expr):
    """Every sum of ``expr`` that :func:`_softmax_entropy_node` takes, rewritten (top down: the log as written, before
    the log-sum-exp rules shift it)."""
    return rewrite_nodes(_softmax_entropy_node, expr, sp.log)


SOFTMAX_ENTROPY = Rule(
    "softmax-entropy", "log(e^x₁ + e^x₂) − (x₁e^x₁ + x₂e^x₂)/(e^x₁ + e^x₂) (∂T of a smooth max with temperature "
    "T·log(e^(a/T) + e^(b/T)), x_i = s_i/T) is the entropy of the softmax of (x₁, x₂); as written it cancels once "
    "|x₁ − x₂| ≫ 1, where both terms are max x_i to the first digits and the value is e^−u·(1 + u), u = |x₁ − x₂|: 0 for "
    "2.794e−42 at T = 0.1337, a = 8.99, b = −4.42 in float64 (torch 0), 0 for 9.19e−38 in float32 (torch NaN); it is "
    "softplus(−u) + u·σ(−u) exactly (log(e^x₁ + e^x₂) = x₁ + softplus(x₂ − x₁), and (x₁e^x₁ + x₂e^x₂)/(e^x₁ + e^x₂) = "
    "x₁ − (x₁ − x₂)·σ(x₂ − x₁); the same with x₁, x₂ swapped), two terms ≥ 0: no cancellation; widened (in double "
    "words: u = |a/T − b/T| to 106 bits, rounded once); 0 past u = 3.4e38, tested on (a − b)/T (a/T − b/T is "
    "inf − inf where both overflow: NaN at T = ∓2.78e−309, a = 0.7, b = 2.5; true 0, torch NaN)",
    apply=_softmax_entropies, fired=_rewrote, before=True)

_SOFTMAX_PAIR_FAR = 800  # |x₁ − x₂| beyond which σ(x₁ − x₂) is 0 or 1 in float64 (e^−745 is its smallest subnormal)


def _softmax_pair_node(node):
    """k·e^x₁·(e^x₁ + e^x₂)⁻¹ with x₁ or x₂ rounded (not an input, a number or ±2^k times one: a/T) and x₁ − x₂
    free of functions (a rational form of the inputs, which the double words compute) →
    k·{σ(x₁ − x₂) if |x₁ − x₂| ≤ 800; e^x₁/(e^x₁ + e^x₂) otherwise}; None for any other node (e^a/(e^a + e^b) of
    inputs: a − b is one rounding, which the two-sum rule corrects)."""
    if not node.is_Mul:
        return None
    factors = sp.Mul.make_args(node)
    for F in factors:
        if not (F.is_Pow and F.exp == -1 and F.base.is_Add and len(F.base.args) == 2
                and all(isinstance(t, sp.exp) for t in F.base.args)
                and not all(_exact_argument(t.args[0]) for t in F.base.args)):
            continue
        for g in factors:
            if g in F.base.args:
                other = next(t for t in F.base.args if t != g)
                rest = [h for h in factors if h is not F and h is not g]
                v = sp.expand(g.args[0] - other.args[0])
                if v.atoms(sp.Function):  # a function's rounding (tanhshrink(x) − y) the double words do not take:
                    return None  # σ of it was 40.9 ULP where the written quotient is 4.56 (tests/test_comp31.py)
                # where x₁ − x₂ is NaN (a/T − b/T at T = ±0: inf − inf) the written quotient keeps the max-shift rules' limits
                return sp.Mul(sp.Piecewise((sigmoid(v), sp.Abs(v) <= _SOFTMAX_PAIR_FAR), (g * F, True)), *rest)
    return None


def _softmax_pairs(expr):
    """Every product of ``expr`` that :func:`_softmax_pair_node` takes, rewritten (top down: the quotient as written,
    before the max-shift rule shifts it), except a log's argument: log(e^x₁/S) is the log-quotient rule's x₁ − log S,
    where log σ(x₁ − x₂) is −inf once σ underflows."""
    logged = {n.args[0] for n in expr.atoms(sp.log)} if isinstance(expr, sp.Expr) else set()
    return rewrite_nodes(lambda n: None if n in logged else _softmax_pair_node(n), expr, sp.exp)


SOFTMAX_PAIR = Rule(
    "softmax-pair", "e^x₁/(e^x₁ + e^x₂) (a softmax of two: ∂a of a smooth max with temperature T·log(e^(a/T) + "
    "e^(b/T)), x_i = s_i/T) rounds x₁ = a/T and x₂ = b/T before e^, an absolute error ε·|a/T| of the exponent that e^ "
    "turns into a relative one: ∂a 195 ULP in float64 at T = 0.012876, a = 3.866, b = 5.727 (torch 195); it is "
    "σ(x₁ − x₂) exactly (divide by e^x₁), whose argument the rounded-argument and widen-quotients rules compute in "
    "double words (a/T − b/T rounded once); where |x₁ − x₂| > 800 (σ is 0 or 1 in float64) or x₁ − x₂ is NaN "
    "(inf − inf at T = ±0) the quotient as written, whose limits the max-shift rules choose; e^a/(e^a + e^b) of inputs "
    "(a − b one rounding, the two-sum rule's) and a log's argument (the log-quotient rule's x₁ − log S) as written",
    apply=_softmax_pairs, fired=_rewrote, before=True)


# ------------------------------------------------------------------ temp43 (issue 16, session 43, h-temp43: softmax-weights,
# ∂T of a temperature-scaled softmax cross-entropy over 3+ written logits, test_user41's strict xfail); tested in
# tests/test_temp43.py


# review43 (issue 16, session 43, h-review43): the most terms the softmax-weights rule takes; 8 logits: its form's 56
# exponentials, compile 8.1 → 12.9 CPU s, ∂T ≤ 1.1 ULP float64 (25 points, T ±[1e−300, 1e3])
_TW_TERMS = 8


def _tw_sums(expr):
    """The sums e^u₁ + … + e^uₙ (3 ≤ n ≤ _TW_TERMS, the uᵢ distinct, some rounded: a/T) of ``expr`` whose exponents share a factor
    g, uᵢ = rᵢ·g with every rᵢ free of g's inputs and of functions, as [(S, [(rᵢ, g)…])]."""
    found = []
    for S in expr.atoms(sp.Add):
        # review43: at most _TW_TERMS terms: the weights hold n(n − 1) exponentials, each taken again by the
        # rounded-argument rule (16 logits: compile past the 60 CPU s limit, 36.8 s before the rule)
        if not 3 <= len(S.args) <= _TW_TERMS or not all(isinstance(t, sp.exp) for t in S.args):
            continue
        us = [t.args[0] for t in S.args]
        if len(set(us)) < len(us) or all(_exact_argument(u) for u in us):
            continue
        for g in sp.Mul.make_args(us[0]):
            if not g.free_symbols:
                continue
            rs = [sp.cancel(u / g) for u in us]
            if all(not (r.free_symbols & g.free_symbols) and r.free_symbols and not r.atoms(sp.Function)
                   for r in rs):
                found.append((S, [(r, g) for r in rs]))
                break
    return found


def _tw_coefficients(expr, S, us):
    """(c₀, [cᵢ…]) where ``expr`` is exactly c₀ + Σ cᵢ·pᵢ, pᵢ = e^uᵢ/S (the softmax weights, Σ pᵢ = 1), once every
    e^(±m·uᵢ) is written pᵢ·S (its power) and S stays only as a common factor that cancels; else None."""
    Z = sp.Dummy("S")
    P = [sp.Dummy("p%d" % i) for i in range(len(us))]
    body = expr.xreplace({S: Z})
    swaps = {}
    for e in body.atoms(sp.exp):
        w = e.args[0]
        for u, p in zip(us, P):
            q = sp.cancel(w / u)
            if q.is_Integer:
                swaps[e] = (p * Z) ** q
                break
        else:
            if w.free_symbols & S.free_symbols:
                return None
    body = body.xreplace(swaps)
    if body.has(sp.exp) and any(e.free_symbols & S.free_symbols for e in body.atoms(sp.exp)):
        return None
    try:
        body = sp.cancel(sp.together(body))
    except (sp.PolynomialError, TypeError):
        return None
    if body.has(Z):
        return None
    num, den = sp.fraction(body)
    if den.has(*P):
        return None
    try:
        poly = sp.Poly(sp.expand(num), *P)
    except sp.PolynomialError:
        return None
    if poly.total_degree() > 1:
        return None
    return poly.coeff_monomial(1) / den, [poly.coeff_monomial(p) / den for p in P]


def _tw_weight(i, rs, g):
    """pᵢ = 1/(1 + Σ_{j≠i} e^((rⱼ − rᵢ)·g)): the differences rⱼ − rᵢ formed before the product with g (at T = 1e−30
    each a/T is 1e30, and its rounding alone is 1e14), each e^ of them ≥ 0 and the sum ≥ 1 (no overflow to NaN: 1/inf
    is 0, its limit)."""
    return 1 / (1 + sp.Add(*[sp.exp(sp.Mul(sp.Add(r, -rs[i]), g)) for j, r in enumerate(rs) if j != i]))


def _tw_rewrite(expr):
    """``expr`` = c₀ + Σ cᵢ·pᵢ (:func:`_tw_coefficients`) as Σ kᵢ·pᵢ + (the rest of c₀), :func:`_tw_weight`'s pᵢ, where
    the cᵢ are Nᵢ·g^q alike (Nᵢ free of g's inputs), kᵢ = cᵢ + the terms of c₀ of that order, and the nonzero kᵢ differ
    (a weighted mean of the rᵢ: ∂T of the cross-entropy, (a − Σ pᵢsᵢ)/T²); else ``expr``."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp):
        return expr
    for S, pairs in _tw_sums(expr):
        found = _tw_coefficients(expr, S, [t.args[0] for t in S.args])
        if found is None:
            continue
        (c0, cs), g = found, pairs[0][1]
        orders = {_tw_order(c, g) for c in cs if c != 0}
        if len(orders) != 1 or None in orders:
            continue
        q = orders.pop()
        # the terms of c₀ of the cᵢ's order spread over Σ pᵢ = 1 (kᵢ = c₀ + cᵢ: the cross-entropy's a/T² − sᵢ/T²), the
        # others kept beside (∂T of the cross-entropy + T: its 1; (a − sᵢ + T²)/T² would underflow T² with the rest)
        spread = [t for t in sp.Add.make_args(sp.expand(c0)) if _tw_order(t, g) == q]
        kept = sp.expand(c0) - sp.Add(*spread)
        ks = [sp.factor(sp.Add(*spread) + c) for c in cs]
        if len({k for k in ks if k != 0}) < 2:
            continue
        rs = [r for r, _ in pairs]
        terms = [(i, k, _tw_weight(i, rs, g)) for i, k in enumerate(ks) if k != 0]
        if q < 2:
            return sp.Add(*[_tw_term(k, i, rs, g, p) for i, k, p in terms]) + kept
        # kᵢ = gᵠ·Nᵢ (the cross-entropy's ∂T: g = 1/T, q = 2): (Σ (g·Nᵢ)·pᵢ)·gᵠ⁻¹, each term finite where g² is not
        # (T² underflows from T = 1.5e−162: (a − b)/(T²·D) was 0·inf = NaN) and 0 where pᵢ is (1/inf)
        return Grouped(sp.Add(*[_tw_term(sp.factor(sp.cancel(k / g ** (q - 1))), i, rs, g, p)
                                for i, k, p in terms])) * g ** (q - 1) + kept
    return expr


def _tw_order(k, g):
    """q where k = N·g^q with N free of g's inputs (0 ≤ q ≤ 3; g = 1/T: (a − b)/T² is of order 2), else None."""
    for q in (3, 2, 1, 0):
        if not sp.cancel(k / g ** q).free_symbols & g.free_symbols:
            return q
    return None


SOFTMAX_WEIGHTS = Rule(
    "softmax-weights", "Σ kᵢ·e^uᵢ/S over S = e^u₁ + … + e^uₙ (3 ≤ n ≤ 8: its n(n − 1) exponentials) with uᵢ = rᵢ·g "
    "sharing a factor (a softmax with "
    "temperature, rᵢ/T or rᵢ·β), the kᵢ not all equal: ∂T of −log(e^(a/T)/S) = (a − Σ pᵢsᵢ)/T² as derived forms "
    "each e^(sᵢ/T) from a rounded sᵢ/T, whose absolute error |sᵢ/T|·ε the exponential turns into a relative one: at "
    "a = −1.5, b = 0.3, c = 1, past 4 ULP in float64 from T ≈ 1.6e−17 down (−2.5275e60 for −2.5e60 at T = 1e−30, −0.0 "
    "for −2.5e80 at T = 1e−40; torch NaN below T = 1.4e−3); it is Σ kᵢ·pᵢ exactly (every e^(±uᵢ) written pᵢ·S, S "
    "cancels, the constant term's part of the kᵢ's order spread over Σ pᵢ = 1, the rest kept beside), pᵢ = 1/(1 + "
    "Σ_{j≠i} e^((rⱼ − rᵢ)·g)) with the differences formed before g (no exponent overflows to NaN; 1/inf = 0 is a "
    "weight's limit; a term whose factor is a multiple of one of its weight's exponents, the cross-entropy's "
    "((a − sᵢ)/T)·pᵢ, is 0 where any of them is +inf: pᵢ ≤ e^−1.79e308 there, and as written it was inf·0 = NaN at "
    "T = −1e−310 or a logit −inf; torch NaN), kᵢ = (a − sᵢ)/T² for the cross-entropy's ∂T, computed (Σ ((a − sᵢ)/T)·pᵢ)/T (T² underflows "
    "from T = 1.5e−162); only where the kᵢ are Nᵢ·g^q alike: ≤ 1.81 ULP in float64 over T in ±[1e−300, 1e3] (torch "
    "NaN or inf at most such T), 0.50 in float32",
    apply=_tw_rewrite, fired=_rewrote, before=True)


# ------------------------------------------------------------------ ent44 (issue 16, session 44, h-ent44: entropies of
# written softmaxes and scaled exponentials near over/underflow). softmax-entropy-forms: the entropy of a softmax of two
# written out (−p·log p − q·log q, p = e^a/(e^a + e^b)) and the derivatives of either entropy form (collect and tanh
# took −a·sech²(a), ∂a of the entropy of softmax(a, −a), as a sum of rounded terms of size |a|: 8.50e−17 for 3.40e−16
# at a = −20, torch 1.23e16 ULP over [−40, 40]), read in p and q
_EF_POWERS = range(-3, 4)  # the integer powers α, β of e^(α·x₁ + β·x₂) read as P^α·Q^β


def _ef_pair(expr):
    """(x₁, x₂, S) for the one sum S = e^x₁ + e^x₂ of two exponentials (x₁, x₂ free of functions) in ``expr``, whose
    only functions are exponentials and logs; else None."""
    functions = expr.atoms(sp.Function)
    if not functions or any(not isinstance(f, (sp.exp, sp.log)) for f in functions):
        return None
    sums = {n for n in sp.preorder_traversal(expr) if isinstance(n, sp.Expr) and n.is_Add and len(n.args) == 2
            and all(isinstance(t, sp.exp) for t in n.args)}
    if len(sums) != 1:
        return None
    S = sums.pop()
    x1, x2 = (t.args[0] for t in S.args)
    if x1.atoms(sp.Function) or x2.atoms(sp.Function) or not (x1.free_symbols | x2.free_symbols):
        return None
    return x1, x2, S


def _ef_in_pq(expr, x1, x2, P, Q, L):
    """``expr`` with e^(α·x₁ + β·x₂) as P^α·Q^β (|α|, |β| ≤ 3 integers) and log(P^α·Q^β·(P + Q)^γ) as
    α·x₁ + β·x₂ + γ·L: a rational function of P, Q, L and the inputs equal to ``expr`` at P = e^x₁, Q = e^x₂,
    L = log(e^x₁ + e^x₂); None where an exponential or a log is of no such form."""
    exps = {}
    for e in expr.atoms(sp.exp):
        u = sp.expand(e.args[0])
        found = next(((a, b) for a in _EF_POWERS for b in _EF_POWERS if sp.expand(u - a * x1 - b * x2) == 0), None)
        if found is None:
            return None
        exps[e] = P ** found[0] * Q ** found[1]
    logs = {}
    for g in expr.atoms(sp.log):
        powers = sp.factor(sp.cancel(g.args[0].xreplace(exps))).as_powers_dict()
        total = 0
        for base, power in powers.items():
            if not power.is_Integer:
                return None
            if base == P:
                total += power * x1
            elif base == Q:
                total += power * x2
            elif sp.expand(base - P - Q) == 0:
                total += power * L
            elif base != 1:
                return None
        logs[g] = total
    return expr.xreplace(logs).xreplace(exps)  # (the logs first: their arguments hold the exponentials)


def _ef_widened_slope(R, v):
    """R·σ(v)·σ(−v) widened (in double words, rounded once); 0 beyond |v| = 3.4e38, its limit (R rational in the
    inputs, σ(−|v|) = 0 there: v·σ(−|v|) is 0·∞ as written). v over one denominator ((a − b)/T, not a/T − b/T):
    where a/T and b/T both overflow, their difference is inf − inf = NaN and the limit's test failed (a written
    two-class softmax's ∂T at T = −5.6e−319 was NaN for 0; tests/test_kl36.py)."""
    u = sp.Abs(sp.factor(v))
    return sp.Piecewise((0, u > sp.Float(_FLT_MAX, 17)), (widen(R * sigmoid(u) * sigmoid(-u)), True))


def _softmax_entropy_forms(expr):
    """``expr`` with only exponentials and logs of one softmax pair S = e^x₁ + e^x₂ (:func:`_ef_pair`), read as a
    rational function G of P = e^x₁, Q = e^x₂, L = log S (:func:`_ef_in_pq`) →
    k·H(x₁ − x₂) + r where G = k·(L − (x₁P + x₂Q)/(P + Q)) + r, k ≠ 0 and r free of P, Q, L (H the binary entropy,
    :func:`_binary_entropy`); R·σ(v)·σ(−v) + r, v = x₁ − x₂, where G = R·P·Q/(P + Q)² + r, r = G at Q = 0, R and r
    free of P, Q, L, R a multiple of v (:func:`_ef_entropy_slope`, :func:`_ef_widened_slope`); ``expr`` otherwise. Both are identities of rational functions in
    P, Q, L (checked by cancellation), so they hold at P = e^x₁, Q = e^x₂ exactly."""
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp):
        return expr
    pair = _ef_pair(expr)
    if pair is None:
        return expr
    x1, x2, S = pair
    P, Q, L = sp.Dummy("P", positive=True), sp.Dummy("Q", positive=True), sp.Dummy("L", real=True)
    G = _ef_in_pq(expr, x1, x2, P, Q, L)
    if G is None:
        return expr
    G = sp.cancel(sp.together(G))
    pql = {P, Q, L}
    if G.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return expr
    v = sp.expand(x1 - x2)
    k = sp.cancel(sp.diff(G, L))
    if k != 0:
        if k.free_symbols & pql:
            return expr
        r = sp.cancel(G - k * (L - (x1 * P + x2 * Q) / (P + Q)))
        if r.free_symbols & pql or r.has(sp.nan, sp.zoo):
            return expr
        return k * _binary_entropy(v) + r
    r = sp.cancel(G.subs(Q, 0))
    if r.free_symbols & pql or r.has(sp.nan, sp.zoo, sp.oo, -sp.oo):  # (1/Q at Q = 0: no such decomposition)
        return expr
    R = sp.cancel((G - r) * (P + Q) ** 2 / (P * Q))
    if R == 0 or R.free_symbols & pql or not _ef_entropy_slope(R, v):
        return expr
    return _ef_widened_slope(sp.factor(R), v) + r


def _ef_entropy_slope(R, v) -> bool:
    """R's numerator a multiple of v's (an entropy's slope H′(v)·∂v = −v·σ(v)·σ(−v)·∂v: R = −v·∂v); a softmax's
    slope σ(v)·σ(−v)·∂v alone is left to the rules that take it as before."""
    top = sp.fraction(sp.cancel(v))[0]
    quotient = sp.cancel(sp.fraction(sp.cancel(R))[0] / top)
    return not (sp.fraction(quotient)[1].free_symbols & top.free_symbols)


SOFTMAX_ENTROPY_FORMS = Rule(
    "softmax-entropy-forms", "the entropy of a softmax of two written out, −p·log p − q·log q with p = e^x₁/(e^x₁ + "
    "e^x₂), q = e^x₂/(e^x₁ + e^x₂) (16 ULP in float64 at (a, b) = (2.5, −709), e^(b − a) subnormal, 140.7 at 300 "
    "points around it; torch 1.4e−3 relative), and the derivatives of either written entropy (∂a of the entropy of softmax(a, −a), −a·sech²(a) taken "
    "as a sum of rounded terms of size |a|: 8.50e−17 for 3.40e−16 at a = −20, 1.17e16 ULP in float64 over [−40, 40], "
    "torch 1.23e16): an expression of e^x₁, e^x₂ and logs of their products and of S = e^x₁ + e^x₂ alone is a rational "
    "function of P = e^x₁, Q = e^x₂, L = log S (log p = x₁ − L); where it is k·(L − (x₁P + x₂Q)/S) + r it is k·H(x₁ "
    "− x₂) + r (H(v) = softplus(−|v|) + |v|·σ(−|v|), the softmax-entropy rule's), where it is R·P·Q/S² + r with R a "
    "multiple of v = x₁ − x₂ (an entropy's slope −v·σ(v)·σ(−v)·∂v) it is R·σ(v)·σ(−v) + r (P·Q/S² = σ(v)·σ(−v)), "
    "with k, R, r free of P, Q, L (identities of rational functions, checked by cancellation: exact); the products "
    "widened (in double words, v to 106 bits, rounded once; 0 past |v| = 3.4e38, their limit)",
    apply=_softmax_entropy_forms, fired=_rewrote, before=True)


# ------------------------------------------------------------------ temp44 (issue 16, session 44, h-temp44: softmax-weights'
# terms at an overflowed exponent, tests/test_review43.py's strict xfails); tested in tests/test_temp44.py


def _tw_term(kg, i, rs, g, p):
    """kg·pᵢ, pᵢ = 1/(1 + Σ_{j≠i} e^xⱼ) with xⱼ = (rⱼ − rᵢ)·g (:func:`_tw_weight`); where kg = c·xⱼ for one j (c a
    nonzero number: the cross-entropy's (a − sᵢ)/T = x_a), 0 where any xⱼ is +inf (past float64: (a − c)/T at
    T = −1e−310, or a logit −inf), else kg·pᵢ. Exact there: every e^x ≥ 0, so pᵢ ≤ e^−xⱼ for each j, below e^−1.79e308
    where xⱼ is +inf, while |c·xₖ| ≤ |c|·|rₖ − rᵢ|·|g| is at most e^1500 for any finite rᵢ, g a float expression
    computes (kg itself may be ±inf: T = 1e−310 makes it −1e310 where another xⱼ is +1e310; as written inf·0 = NaN);
    infinite inputs take the limit of that. Any other kg·pᵢ as written (a kᵢ that is not a multiple of the weight's
    exponents, +inf where pᵢ = 0, has no such bound)."""
    xs = [sp.Mul(sp.Add(r, -rs[i]), g) for j, r in enumerate(rs) if j != i]
    if any(sp.cancel(kg / x).is_Number and kg != 0 for x in xs):
        return sp.Piecewise((0, sp.Or(*[x > _DBL_MAX for x in xs])), (kg * p, True))
    return kg * p


def _scaled_max_node(node):
    """F·log(c₁e^(r₁/F) + … + cₙe^(rₙ/F)) (n ≥ 2, the rᵢ free of F's inputs and distinct, the cᵢ positive numbers; a
    constant c beside two or more exponentials is c·e^(0/F), rᵢ = 0) →
    {{max rᵢ if F > 0; min rᵢ if F < 0; as written otherwise} if |max(rᵢ/F)| > 2⁵⁵·B; as written otherwise},
    B = n where every cᵢ is 1 (:func:`_sm_bound`); None for any other node."""
    if not node.is_Mul:
        return None
    factors = sp.Mul.make_args(node)
    for L in factors:
        # smax46: a term c·e^u (c > 0 a number), and a constant c, as e^(log c)·e^u (test_break45's near misses)
        terms = _sm_weighted_terms(L.args[0]) if isinstance(L, sp.log) and L.args[0].is_Add else None
        if terms is None or len(terms) < 2:
            continue
        F = sp.Mul(*[f for f in factors if f is not L])
        if not F.free_symbols:
            continue
        exps = [u for _, u in terms if u is not None]  # smax45: a constant 1 is e^(0/F), r = 0, beside 2 or more
        if len(exps) < 2 or len(terms) - len(exps) > 1:  # (F·log(e^(r/F) + 1), a softplus with temperature: the
            continue  # softplus rules')
        rs = [sp.cancel(u * F) for u in exps] + [sp.S.Zero] * (len(terms) - len(exps))
        if len(set(rs)) < len(rs) or any(r.free_symbols & F.free_symbols or not r.free_symbols for r in rs if r != 0):
            continue
        m = sp.Max(*exps, *([0] if len(exps) < len(rs) else []))
        extreme = sp.Piecewise((sp.Max(*rs), F > 0), (sp.Min(*rs), F < 0), (node, True))
        # |F·log Σ e^(rᵢ/F − m)| ≤ |F|·log n < |F·m|·2⁻⁵⁵ = |r_k|·2⁻⁵⁵ there: below a quarter ulp of r_k
        # (with coefficients cᵢ the sum is within [c_k, Σ cᵢ]: |log| ≤ C, :func:`_sm_bound`)
        return sp.Piecewise((extreme, sp.Abs(m) > sp.Integer(2 ** 55 * _sm_bound(len(rs), [c for c, _ in terms]))),
                            (node, True))
    return None


def _scaled_maxes(expr):
    """Every product of ``expr`` that :func:`_scaled_max_node` takes, rewritten (top down: the log-sum-exp as written,
    before the log-sum-exp rule shifts it)."""
    return rewrite_nodes(_scaled_max_node, expr, sp.log)


SCALED_MAX = Rule(
    "scaled-max", "F·log(e^(r₁/F) + … + e^(rₙ/F)) (a smooth max with temperature T·log(e^(a/T) + e^(b/T))) forms each "
    "rᵢ/F, which overflows where F is small: the log-sum-exp rule's F·(m + log Σ e^(rᵢ/F − m)), m = max rᵢ/F, is NaN "
    "at T = ∓2.78e−309, a = 0.7, b = 2.5 (true 0.7 and 2.5; torch inf); where |m| > 2⁵⁵·n it is r_k, the largest "
    "rᵢ where F > 0 and the smallest where F < 0, correctly rounded: F·m = r_k (x ↦ x/F is monotone, the quotients' "
    "rounding keeps their order), and 0 ≤ log Σ e^(rᵢ/F − m) ≤ log n < n, so |F·log Σ …| < |r_k|·2⁻⁵⁵, below a "
    "quarter ulp of r_k (as written, T·fl(b/T) was 1 ULP off at T = 2.9e−103); as written elsewhere (where F is 0 or "
    "NaN too); terms cᵢ·e^(rᵢ/F) with cᵢ > 0 numbers, and a constant cᵢ (rᵢ = 0), too (T·log(e^(a/T) + 2e^(b/T)) "
    "and T·log((e^(a/T) + e^(b/T))/2) were −inf for a at T = −1e−315, a < 0 < b; torch −inf): the sum is then within "
    "[c_k, Σ cᵢ], so its log within C = max(|log min cᵢ|, |log Σ cᵢ|) of 0, and the select is at |m| > 2⁵⁵·(n + ⌈C⌉)",
    apply=_scaled_maxes, fired=_rewrote, before=True)


# ------------------------------------------------------------------ smax46 (issue 16, session 46, h-smax46: the
# compensated-sum rule takes a constant logit's e^−m (the weights of T·log(e^(a/T) + e^(b/T) + 1)), softmax-entropy's
# limit test on (a − b)/T, the softmax-entropy-many rule (∂T of a smooth max with 3–8 logits or a constant logit), and
# scaled-max's coefficients c·e^(r/F); the first two and the last called from their rules above); tested in
# tests/test_smax46.py


def _shifted_constant(term, m) -> bool:
    """``term`` is e^−m, as the max-shift rule writes a constant 1 of a sum shifted by m, or the rounded-argument
    rule's {e^−m if |…| ≤ 2; f64(e^−m) otherwise} of it (the same value, its exponent in double words)."""
    if isinstance(term, sp.Piecewise) and len(term.args) == 2 and term.args[1].cond == True:  # noqa: E712
        (near, _), (far, _) = term.args
        if not (isinstance(far, WidenedBase) and getattr(far, "first_order", False) and far.body == near):
            return False
        term = near
    return isinstance(term, sp.exp) and sp.expand(term.args[0] + m) == 0


def _constant_logit_shift(node):
    """``node`` with its term e^−m (:func:`_shifted_constant`) written exp_shift(0, m) = e^(0 − m) (exactly its
    value; ±inf at m = ∓inf as e^−m) where the sum's other terms are two or more exp_shift(aᵢ, m) of that one m (a
    log-sum-exp with a constant logit, 1 + e^(a/T) + e^(b/T) max-shifted); ``node`` otherwise (1 + e^x, a softplus's,
    is the softplus rules')."""
    if not (node.is_Add and len(node.args) >= 3):
        return node
    shifts = [t for t in node.args if isinstance(t, exp_shift)]
    if len(shifts) < 2 or len(shifts) != len(node.args) - 1 or len({t.args[1] for t in shifts}) != 1:
        return node
    m = shifts[0].args[1]
    rest = next(t for t in node.args if not isinstance(t, exp_shift))
    if not _shifted_constant(rest, m):
        return node
    return sp.Add(*shifts, exp_shift(sp.S.Zero, m))


def _entropy_far(v):
    """|v| > 3.4e38 with v over one denominator, (a − b)/T for a/T − b/T (sp.factor): where a/T and b/T both
    overflow (|T| < 3.9e−309 at a = 0.7), a/T − b/T is inf − inf = NaN, the test false and the entropy NaN (∂T of
    T·log(e^(a/T) + e^(b/T)) at T = ∓2.78e−309, (a, b) = (0.7, 2.5); true 0), where |(a − b)/T| is 6.5e308. Exact
    as a test: the rounded |v| is past 3.4e38 only where |v| is past 3.4e38·(1 − ε), and the entropy e^−|v|·(1 + |v|)
    is 0 in float64 on either side of it."""
    return sp.Abs(sp.factor(v)) > sp.Float(_FLT_MAX, 17)


def _oe_logits(S):
    """([xᵢ…], g, [rᵢ…]) for a sum S of 3 to _TW_TERMS terms (the form holds n(n − 1) exponentials), exponentials
    e^xᵢ and at most one 1 (a constant logit, x = 0; two exponentials alone are the softmax-entropy rule's), every
    xᵢ = rᵢ·g with one factor g (1/T) and each rᵢ free of g's inputs and held exactly (an input, ±2^k times one: the
    ties are compared on the rᵢ themselves), the rᵢ distinct (rᵢ = 0 for the 1); else None."""
    terms = S.args
    exps = [t for t in terms if isinstance(t, sp.exp)]
    constant = len(exps) == len(terms) - 1 and sp.S.One in terms
    if not 3 <= len(terms) <= _TW_TERMS or len(exps) < 2 or not (constant or len(exps) == len(terms)):
        return None
    xs = [t.args[0] for t in exps]
    for g in sp.Mul.make_args(xs[0]):
        if not g.free_symbols:
            continue
        rs = [sp.cancel(x / g) for x in xs]
        if all(r.free_symbols and not (r.free_symbols & g.free_symbols) and _exact_argument(r) for r in rs):
            if len(set(rs)) < len(rs):
                return None
            return (xs + [sp.S.Zero], g, rs + [sp.S.Zero]) if constant else (xs, g, rs)
    return None


def _many_entropy_node(node):
    """k·log S beside −k·(Σ xᵢ·e^xᵢ)/S (k a number, S = e^x₁ + … + e^xₙ with or without a 1, xᵢ = rᵢ·g:
    :func:`_oe_logits`; the entropy of the softmax of the xᵢ (and 0), ∂T of a smooth max with temperature) →
    {k·log #{i: rᵢ = r_top} if |max xᵢ| > 3.4e38; k·Hᵢ where rᵢ is the first r_top otherwise}, r_top = max rᵢ where
    g > 0, min rᵢ where g < 0 (the 0 among the rᵢ), Hᵢ :func:`_oe_entropy` widened; None for any other sum."""
    if not (node.is_Add and node.has(sp.log)):
        return None
    for t in node.args:
        k, L = t.as_coeff_Mul()
        if not (k.is_Number and k != 0 and isinstance(L, sp.log) and L.args[0].is_Add):
            continue
        S = L.args[0]
        found = _oe_logits(S)
        if found is None:
            continue
        xs, g, rs = found
        weighted = k * sp.Add(*[x * sp.exp(x) for x in xs if x != 0])
        rest = [s for s in node.args if s is not t]
        gone = next(([s] for s in rest if sp.expand(s * S + weighted) == 0), None)
        if gone is None and rest and sp.expand(sp.Add(*rest) * S + weighted) == 0:
            gone = rest
        if gone is None:
            continue
        kept = [s for s in rest if s not in gone]
        top, bottom = sp.Max(*rs), sp.Min(*rs)
        tops = [((g > 0) & sp.Eq(r, top)) | ((g < 0) & sp.Eq(r, bottom)) for r in rs]
        ties = sp.Add(*[sp.Piecewise((1, c), (0, True)) for c in tops])
        far = sp.Abs(sp.Max(*xs)) > sp.Float(_FLT_MAX, 17)
        # the entropy from the top logit's side (:func:`_oe_entropy`), each i's form where rᵢ is the top
        near = sp.Piecewise(*[(widen(_oe_entropy(i, rs, g)), c) for i, c in enumerate(tops[:-1])],
                            (widen(_oe_entropy(len(rs) - 1, rs, g)), True))
        return sp.Add(sp.Piecewise((k * sp.log(ties), far), (k * near, True)), *kept)
    return None


def _oe_entropy(i, rs, g):
    """The entropy of the softmax of xⱼ = rⱼ·g where xᵢ is the largest, log1p(E) + (Σ_{j≠i} {e^(log δⱼ − δⱼ) if
    δⱼ ≤ 800; 0 otherwise})/(1 + E) with δⱼ = (rᵢ − rⱼ)·g ≥ 0 (the difference formed before g) and
    E = Σ_{j≠i} e^−δⱼ ≤ n − 1: every term ≥ 0, no exponential overflows."""
    ds = [sp.Mul(sp.Add(rs[i], -r), g) for j, r in enumerate(rs) if j != i]
    E = sp.Add(*[sp.exp(-d) for d in ds])
    # δ·e^−δ as e^(log δ − δ) (exp_shift: SymPy keeps it whole): e^−δ is subnormal from δ = 708.4 where δ·e^−δ is
    # still normal (81 ULP at T = −0.0035167, a = 3.458, b = −2.509 with a constant logit, δ = 713.6); 0 at δ = 0,
    # and 0 past δ = 800 (below 2⁻¹⁰⁷⁵ there; exp_shift(inf, inf) is 1: (0 − a)/T = +inf at T = −2.8e−309 gave 2)
    return log1p(E) + sp.Add(*[sp.Piecewise((exp_shift(sp.log(d), d), d <= _SOFTMAX_PAIR_FAR), (0, True))
                               for d in ds]) / (1 + E)


def _many_entropies(expr):
    """Every sum of ``expr`` that :func:`_many_entropy_node` takes, rewritten (top down: the log as written,
    before the log-sum-exp rules shift it)."""
    return rewrite_nodes(_many_entropy_node, expr, sp.log)


SOFTMAX_ENTROPY_MANY = Rule(
    "softmax-entropy-many", "log S − (Σ xᵢe^xᵢ)/S with S = e^x₁ + … + e^xₙ (n ≥ 3) or 1 + e^x₁ + … + e^xₙ (n ≥ 2), "
    "xᵢ = rᵢ·g (∂T of a smooth max with temperature, T·log(e^(a/T) + e^(b/T) + 1), g = 1/T: the entropy H of the "
    "softmax of the xᵢ and the constant's 0) cancels where H is small, both terms near max xᵢ (past 4 ULP in float64 "
    "at 82 of 300 points with T in ±10^[−3, 1], worst 9e15; three logits 100, worse than torch at 12), is NaN where "
    "an xᵢ overflows (inf − inf: T = 2.78e−309, (a, b) = (0.7, 2.5); true 0, torch NaN) and 0 for log 2 at a tie "
    "past the range (three logits, T = 1e−300, a = b = 3, c = −1). From the top xᵢ's side it is H = log1p(E) + "
    "(Σ_{j≠i} δⱼe^−δⱼ)/(1 + E), δⱼ = xᵢ − xⱼ ≥ 0, E = Σ_{j≠i} e^−δⱼ (exact: pⱼ = e^−δⱼ/(1 + E), −log pⱼ = δⱼ + "
    "log1p(E), and Σ pⱼ = 1), every term ≥ 0 and no exponential past 1; δⱼ = (rᵢ − rⱼ)·g, the difference formed "
    "first, in double words, rounded once (the n-logit softmax-entropy; two logits alone stay that rule's); i the "
    "first index with rᵢ the largest (g > 0) or smallest (g < 0) rᵢ, the last where neither holds (g NaN or 0: all "
    "δⱼ 0 or NaN alike). Where |max xᵢ| > 3.4e38 it is log k, k the number of i with rᵢ = r_top, correctly "
    "rounded: |r_top·g| > 3.4e38·(1 − ε), and any other rᵢ is at least half an ulp of r_top from it (r_top is "
    "normal there: |g| ≤ 2¹⁰⁷⁴), so its δ ≥ 2⁻⁵⁴·3.4e38 > 1.8e22 and it adds at most e^−δ·(δ + log n), below 2⁻¹⁰⁷⁴ "
    "(there δ itself may overflow, δ·e^−δ = inf·0)",
    apply=_many_entropies, fired=_rewrote, before=True)


def _sm_weighted_terms(S):
    """[(cᵢ, uᵢ)…] for a sum S of terms cᵢ·e^uᵢ (cᵢ > 0 a number, 1 for a bare exponential) and positive numbers cᵢ
    (uᵢ None); None where a term is anything else."""
    terms = []
    for t in S.args:
        if t.is_Number:
            if not t.is_positive:
                return None
            terms.append((t, None))
            continue
        c, rest = t.as_coeff_Mul()
        if not (isinstance(rest, sp.exp) and c.is_Number and c.is_positive):
            return None
        terms.append((c, rest.args[0]))
    return terms


def _sm_bound(n, cs):
    """n where every cᵢ is 1 (log Σ e^(rᵢ/F − m) ∈ [0, log n]); else n + ⌈C⌉, C = max(|log min cᵢ|, |log Σ cᵢ|): with
    the top term c_k·e^0, Σ cᵢe^(rᵢ/F − m) lies in [c_k, Σ cᵢ], its log within C of 0, so |F·log …| ≤ |F|·C <
    |F·m|·2⁻⁵⁵ where |m| > 2⁵⁵·(n + ⌈C⌉)."""
    if all(c == 1 for c in cs):
        return n
    C = max(abs(math.log(float(min(cs)))), abs(math.log(float(sum(cs)))))
    return n + math.ceil(C)


# ------------------------------------------------------------------ weighted-max-gaps (issue 16, session 48, h-cell48:
# the label-smoothed cross-entropy written out, test_user46's strict xfail); tested in tests/test_cell48.py

_GAPS_FINITE = sp.Float(2.0 ** 1022, 17)  # xᵢ of both signs past it: the sum as written (a gap m − xᵢ may overflow)


def _weighted_max_gaps(node):
    """k·max(x₁, …, xₙ) + Σ cᵢ·xᵢ + R with Σ cᵢ = −k, every cᵢ of the sign of −k, two or more of them (a label-smoothed
    cross-entropy after the log-sum-exp rule: m + log1p(…) − (14/15)·a − b/30 − c/30) → R + Σ (−cᵢ)·(m − xᵢ), each gap
    m − xᵢ ≥ 0 (exact: Σ (−cᵢ)·m = k·m), so that no term cancels another; where m − min xᵢ passes 2¹⁰⁰⁰ (a gap may
    overflow) the sum as written. Written out, the weighted terms are each as large as m and cancel it: at
    a = b = c = −1.8e308 the widened sum's double words hold (14/15)·a to 2⁻¹⁰⁶ of it, 2.77e275 for log 3."""
    if not node.is_Add:
        return None
    maxima = [(k, f) for k, f in (t.as_coeff_Mul() for t in node.args) if isinstance(f, sp.Max)]
    if len(maxima) != 1:
        return None
    k, m = maxima[0]
    shapes = {}  # an argument's rest (its number taken out) → (the argument, its number)
    for x in m.args:
        c, r = x.as_coeff_Mul()
        if not x.is_number:  # (a number's rest is 1, which every number term of the sum has)
            shapes[r] = (x, c)
    gaps, rest = [], []
    for t in node.args:
        c, r = t.as_coeff_Mul()
        if r in shapes and r != m and c.is_Rational:
            x, cx = shapes.pop(r)
            gaps.append((c / cx, x))
        elif t != k * m:
            rest.append(t)
    if len(gaps) < 2 or sum(c for c, _ in gaps) != -k or any((c * k).is_nonnegative for c, _ in gaps):
        return None
    if not rest:  # k·m + Σ cᵢxᵢ alone (a + b − 2·max(a, b), the exponent of t₁·t₂ in a softmax's gradient): the
        return None  # log-sum-exp rule's block forms it as a product of its exponentials (test_cost43), not a sum
    new = sp.Add(*rest, *[-c * Grouped(m - x) for c, x in gaps])
    # one widened sum, as the widen rule makes the written one (its pieces widened apart were 1.8–2.0× the CPU time)
    # (a condition on the inputs alone: one on max(xᵢ), a temporary of the float64 body, put a float64 kernel's double-
    # word block after that body, 2.97× the CPU time of the written sum's)
    # no gap overflows where the xᵢ are of one sign (m − xᵢ ≤ max |xᵢ|) or all within ±2¹⁰²² (m − xᵢ ≤ 2¹⁰²³)
    xs = [x for _, x in gaps]
    within = sp.Or(sp.And(*[x <= 0 for x in xs]), sp.And(*[x >= 0 for x in xs]),
                   sp.And(*[sp.Abs(x) <= _GAPS_FINITE for x in xs]))
    return _Final(_Fired(sp.Piecewise((widen(new), within), (node, True)), ["weighted-max-gaps"]))


WEIGHTED_MAX_GAPS = Rule(
    "weighted-max-gaps", "k·max(xᵢ) + Σ cᵢ·xᵢ with Σ cᵢ = −k, each cᵢ of the sign of −k (a label-smoothed cross-entropy "
    "written out: m + log1p(…) − (14/15)·a − b/30 − c/30 once the log-sum-exp rule has shifted it) holds terms as large "
    "as the logits that cancel to the loss: 2.77e275 for log 3 at a = b = c = −1.8e308 in float64 (the widened sum's "
    "double words hold (14/15)·a to 2⁻¹⁰⁶ of it), 65537 for 1.0986 in float32 at −3e38; torch inf; it is Σ (−cᵢ)·(m − xᵢ), "
    "each term ≥ 0 (exact), as written where m − min xᵢ passes 2¹⁰⁰⁰", local=_weighted_max_gaps)
