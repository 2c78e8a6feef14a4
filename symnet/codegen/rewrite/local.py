"""The first node-by-node rules (max-shift, expm1, log rules, hypot, zero limits, ...).

Its blocks, in the order of the module rewrite.py that session 43 split into this package: the-local-rules.
"""
from __future__ import annotations

import functools

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from ...functions import sigmoid
from ...special import softplus
from .core import _exp_terms, _Final, _Fired, _is_exp, _positive, _shifted


# ------------------------------------------------------------------ the local rules

@functools.lru_cache(maxsize=4096)
def _max_of(args: tuple):
    """sp.Max(*args), once per argument tuple: SymPy compares every pair of arguments (n² sign
    checks, each a factor_terms: 2 s at 20 terms, 5 s at 60) and every output's gradient of
    log Σ e^(a_i) holds the same sum. Distinct real symbols that carry no sign (the logits a_i of
    a written log-sum-exp) are never ordered by those checks, so all of them stay: the same node is
    built without them (``sp.Max(..., evaluate=False)``: the arguments in SymPy's order)."""
    return sp.Max(*args, evaluate=False) if unordered_symbols(args) else sp.Max(*args)


def unordered_symbols(args) -> bool:
    """``args`` are real symbols of unknown sign with distinct names: SymPy cannot order any two of
    them, so ``sp.Max(*args)`` keeps them all and is ``sp.Max(*args, evaluate=False)``."""
    return len({str(a) for a in args}) == len(args) and all(
        a.is_Symbol and a.is_extended_real is True and a.is_extended_nonnegative is None
        and a.is_extended_nonpositive is None for a in args)


def _softmax_shift(node):
    """c·e^N·∏ S_i^{k_i}, S_i = Σ c_ij e^{a_ij} → c·e^{N + Σ k_i·m_i}·∏ (Σ c_ij e^{a_ij − m_i})^{k_i},
    m_i = max_j a_ij; exponential factors are merged into one (e^a·e^b → e^{a+b})."""
    if not node.is_Mul:
        return None
    exps = [f for f in node.args if _is_exp(f)]
    sums = [f for f in node.args if not _shifted(f) and (
        (f.is_Pow and f.exp.is_Rational and _exp_terms(f.base)) or _exp_terms(f))]
    sums = [f for f in sums if sum(1 for _, a in _exp_terms(f.base if f.is_Pow else f) if a != 0) >= 1
            and len(_exp_terms(f.base if f.is_Pow else f)) >= 2]
    shifted = any(_shifted(f) and (f.is_Pow or f.is_Add) for f in node.args)
    if not (exps and (sums or shifted)) or (not sums and len(exps) < 2):
        return None
    shift, new_sums = sp.S.Zero, []
    for f in sums:
        base, k = (f.base, f.exp) if f.is_Pow else (f, sp.S.One)
        terms = _exp_terms(base)
        m = _max_of(tuple(a for _, a in terms))
        if not isinstance(m, sp.Max):
            return None
        new_sums.append(sp.Add(*[c * sp.exp(a - m) for c, a in terms]) ** k)
        shift += k * m
    rest = [f for f in node.args if f not in exps and f not in sums]
    return sp.Mul(*rest) * sp.exp(sp.Add(*[f.args[0] for f in exps]) + shift) * sp.Mul(*new_sums)


def _exp_sum_power(f) -> bool:
    return f.is_Pow and f.exp.is_Integer and f.exp < 0 and bool(_exp_terms(f.base)) and not _shifted(f)


def _shifted_sum_power(f) -> bool:
    """S⁻ᵏ of a sum S of exponentials already max-shifted (Σ e^(a_i − m)): a term of a sum that the local
    rules, bottom-up, shifted before its product with e^a was seen."""
    return f.is_Pow and f.exp.is_Integer and f.exp < 0 and bool(_exp_terms(f.base)) and _shifted(f)


def _weighted_exp_numerator(f, others) -> bool:
    """f = Σ c_i·e^(a_i) (two or more terms) over S = Σ_j e^(a_j) that holds every e^(a_i): a weighted softmax
    (Σ c_i e^(a_i))/S, each term c_i·e^(a_i)/S then max-shifted to c_i times a weight in (0, 1]. As one quotient its
    numerator overflows where the quotient does not (∂y of log(e^(relu(x)·y) + e^y), (e^y + r·e^(ry))/(e^y + e^(ry)):
    inf at (709, 1) for 708.99…, torch 1 ULP; h-comp31)."""
    powers = [g for g in others if _exp_sum_power(g) and g.exp == -1]
    if len(powers) != 1 or not f.is_Add or len(f.args) < 2:
        return False
    exponents = {a for _, a in _exp_terms(powers[0].base)}
    return all(any(_is_exp(g) and g.args[0] in exponents for g in sp.Mul.make_args(t)) for t in f.args)


def _distribute(node):
    """A product multiplied out one level over a sum, where that lets factors cancel or be
    shifted term by term: σ(x)σ(−x)·((1 − y)/σ(−x) − y/σ(x)) (a BCE gradient as derived: 0·∞
    where σ saturates) → (1 − y)σ(x) − yσ(−x); e^a·(1/S − e^a/S²), S a sum of exponentials
    (a softmax gradient) → e^a/S − e^{2a}/S², each term then max-shifted."""
    if not node.is_Mul:
        return None
    others = lambda f: [g for g in node.args if g is not f]  # noqa: E731
    for f in node.args:
        if not f.is_Add:
            continue
        factors = [g for term in f.args for g in sp.Mul.make_args(term)]
        divides = {g.base for g in factors if g.is_Pow and g.exp.is_negative}
        cancels = any((g.base if g.is_Pow else g) in divides for g in others(f))
        # one more divisor is no factor multiplied back where the sum is of one input and a function multiplies it:
        # −e^(x−y)·(1 + 1/y)/y multiplied out, −e^(x−y)/y − e^(x−y)/y², cancels at y = −1 and is not widened (it
        # holds e^), where the root-series rule takes 1 + 1/y as written (6.1e15 ULP at y = −1 + 2⁻⁵³; h-hyp52). A
        # rational function multiplied out is widened whole (the Gaussian NLL's ∂v, (1 − d²/v)/(2v)): left as it was
        if cancels and len(f.free_symbols) == 1 and any(g.atoms(sp.Function) for g in others(f)):
            cancels = any((g.base if g.is_Pow else g) in divides for g in others(f)
                          if not (g.is_Pow and g.exp.is_negative))
        shifts = any(_exp_sum_power(g) for g in factors) and any(_is_exp(g) or _exp_terms(g) for g in others(f))
        # e^a·(e^(c − 2m₂)/S₂² − e^(b − 2m₁)/S₁²), its terms shifted first (∂a of e^b/(e^a + e^b) − e^c/(e^a + e^c)):
        # e^a left outside is 0·∞ = NaN at a = b = −1e4; inside, each term's exponent a + b − 2m₁ ≤ 0
        shifts = shifts or (len(f.args) >= 2 and all(any(_shifted_sum_power(g) for g in sp.Mul.make_args(term))
                                                     for term in f.args) and any(_is_exp(g) for g in others(f)))
        shifts = shifts or _weighted_exp_numerator(f, others(f))
        # x·(… + B/y^k + …), x and y inputs, k ≥ 2 (∂y of g(x/y): −x·g′(x/y)/y²): y^k leaves the range where x/y^k
        # does not (x ≈ y); multiplied out, x·B/y^k is one product the printer forms by exponents (input-over-power)
        # (a sum of the one input y alone is removable-series' to take: y·tanh(x)/x's ∂x, y·(sech²x/x − tanh x/x²),
        # multiplied out was NaN at x = 0 for 0)
        over_power = any(g.is_Symbol for g in others(f)) and len(f.free_symbols) > 1 and any(
            g.is_Pow and g.base.is_Symbol and g.exp.is_Integer and g.exp <= -2 for g in factors)
        if cancels or shifts or over_power:
            rest = sp.Mul(*others(f))
            name = "cancel" if cancels else "max-shift" if shifts else "input-over-power"
            return _Fired(sp.Add(*[rest * term for term in f.args]), [name])
    return None


def _over_an_input(term):
    """term = r·N·y^−k (y an input, k ≥ 1, N a sum) multiplied out one level, Σ r·n·y^−k over N's terms n (y^−k
    cancelling against the n that hold y); None where term is not such a product."""
    factors = sp.Mul.make_args(term)
    if not any(f.is_Pow and f.base.is_Symbol and f.exp.is_Integer and f.exp < 0 for f in factors):
        return None
    for n in factors:
        if n.is_Add:
            rest = sp.Mul(*[g for g in factors if g is not n])
            return sp.Add(*[rest * t for t in n.args])
    return None


def _divided_out_sum(node):
    """A sum of quotients r·N/y^k (y an input, N a sum) whose terms cancel one another once multiplied out: the
    quotient rule's (x + P)/y − (x·y + y·P)/y² (∂y of (x·y + hardswish(y))/y, P = hardswish′; 2(x + P)/y −
    2(x·y² + y²·P)/y³ of its form over y²) is two terms of 3.5e140 at y = −1.4e−141 whose true sum is 0 (7.8e92 ULP
    for ∂y = 1/6; the removable-series rule takes one-variable quotients only). Multiplied out one level, the like
    terms cancel symbolically. None where the sum would not be shorter than it was."""
    if not node.is_Add or len(node.args) < 2:
        return None
    terms, changed = [], False
    for t in node.args:
        spread = _over_an_input(t)
        changed = changed or spread is not None
        terms.append(t if spread is None else spread)
    if not changed:
        return None
    new = sp.Add(*terms)
    if len(sp.Add.make_args(new)) >= len(node.args):
        return None
    return _Fired(new, ["cancel"])


def _numbers_cancel(node):
    """A sum holding a number beside k·(a sum holding a number), k a number, whose numbers cancel once k is multiplied
    in: the derivative of the balanced L1 loss α/b·(b|x| + 1)·log(b|x| + 1) − α|x| (b = e³ − 1) as derived is
    (−α + b·(α/b + α·log(b|x| + 1)/b))·sign(x), whose −α + α was computed as (1 + L) − 1, L = log1p(b|x|): 2.65e4
    ULP in float64 at x = 1e−6 (torch 2.8e4), 6.5e3 in float32 (session 40). Multiplied out one level, the numbers
    cancel symbolically (α·L·sign(x)). None where no number is left out of the sum that way."""
    if not node.is_Add or not any(a.is_number for a in node.args):
        return None
    terms, changed = [], False
    for t in node.args:
        k, rest = t.as_independent(*t.free_symbols, as_Add=False) if t.free_symbols else (t, sp.S.One)
        if k != 1 and k.is_number and rest.is_Add and any(a.is_number for a in rest.args):
            terms.extend(k * a for a in rest.args)
            changed = True
        else:
            terms.append(t)
    if not changed:
        return None
    new = sp.Add(*terms)
    if any(a.is_number for a in sp.Add.make_args(new)) or len(sp.Add.make_args(new)) > len(node.args) + 4:
        return None
    return _Fired(new, ["cancel"])


def _common_sum_factor(node):
    """(c_1·S + … + c_n·S)·S⁻ᵏ, every term of a sum holding the sum of exponentials S that the product divides
    by → (c_1 + … + c_n)·S¹⁻ᵏ: the factor divided out again (a soft-target cross-entropy's gradient as derived,
    e^a·(Σ t_j·S/S² − t_a·e^−a) with S = Σ e^{a_j}: S² overflows, and e^(a − 2m) of the max-shifted form
    underflows, from a margin of ~370 in float64, where T·e^a/S does neither; session 27)."""
    if not node.is_Mul:
        return None
    divisors = {f.base for f in node.args if f.is_Pow and f.exp.is_Integer and f.exp < 0 and _exp_terms(f.base)}
    for f in node.args:
        if not f.is_Add or len(f.args) < 2:
            continue
        for s in divisors:
            if all(s in sp.Mul.make_args(term) for term in f.args):
                inner = sp.Add(*[term / s for term in f.args])
                return _Fired(sp.Mul(*[g for g in node.args if g is not f]) * s * inner, ["cancel"])
    return None


def _weighted_complement(node):
    """w − w·p → w·(S − e^x)/S for a softmax p = e^x/S (e^x a term of S) and any factor w (a target t_a): the
    soft-target cross-entropy's ∂a = (Σ_j t_j)·p_a − t_a, a product of a sum multiplied out first (t_a·p_a − t_a
    + Σ_{j≠a} t_j·p_a); at a one-hot target on the largest logit p_a − 1 cancels every digit (3.7e17 ULP, the
    wrong sign, at a margin of 100 in float64; session 27), −Σ_{i≠a} e^(a_i − m)/S does not."""
    if not node.is_Add or not any(p.exp == -1 and p.base.is_Add and _exp_terms(p.base)
                                  for p in node.atoms(sp.Pow)):  # no 1/S of exponentials: no softmax to pair
        return None
    terms = list(sp.Add.make_args(sp.expand_mul(node))) if any(
        t.is_Mul and any(f.is_Add for f in t.args) for t in node.args) else list(node.args)
    for w in terms:
        if w.is_number:  # 1 − p: _softmax_complement's own
            continue
        for tau in terms:
            q = sp.Mul(tau, -1 / w)  # w·p² over w: e^(2b − 2m)·e^(m − b), two factors until collected
            p = _softmax_term(sp.powsimp(q, combine="exp", deep=False) if w.has(sp.exp) else q)
            if tau is w or p is None:
                continue
            e, total = p
            rest = sp.Add(*[t for t in terms if t is not w and t is not tau])
            return _Fired(rest + w * sp.Add(*[x for x in total.args if x != e]) / total, ["softmax-complement"])
    return None


def _unshifted(s):
    """(Σ c_j·e^(a_j), m) for a sum of exponentials s = Σ c_j·e^(a_j − m) max-shifted by m (c_j > 0 numbers), (s, 0)
    for one not shifted, else None: S'⁻ᵏ = e^(k·m)·S⁻ᵏ, so a term over the shifted sum and one over the written sum
    are compared over one S."""
    terms = _exp_terms(s)
    if not terms or len(terms) < 2:
        return None
    if not _shifted(s):
        return s, sp.S.Zero
    maxes = {m for _, a in terms for m in sp.Add.make_args(-a) if isinstance(m, sp.Max)}
    if len(maxes) != 1:
        return None
    (m,) = maxes
    if any(sp.expand(a + m).has(m) for _, a in terms):
        return None
    return sp.Add(*[c * sp.exp(sp.expand(a + m)) for c, a in terms]), m


def _monomials(term):
    """(S, k, [(c, y), …]) for a term Σ c·e^y·S⁻ᵏ over one power of a sum of exponentials S (S written, the
    exponent y taking back a max-shift of S; a numerator sum whose terms hold exponentials multiplied out, the
    written entropy's (Σ_j (L_j + 1)·e^(a_j))/S²), else None."""
    factors = sp.Mul.make_args(term)
    powers = [f for f in factors if f.is_Pow and f.exp.is_Rational and f.exp < 0 and f.base.is_Add]
    if len(powers) != 1:
        return None
    (d,) = powers
    written = _unshifted(d.base)
    if written is None:
        return None
    total, m = written
    k = -d.exp
    y, c, numerator = k * m, [], None
    for f in factors:
        if f is d:
            continue
        if _is_exp(f):
            y += f.args[0]
        elif f.is_Add and any(_is_exp(g) for t in f.args for g in sp.Mul.make_args(t)):
            if numerator is not None:
                return None
            numerator = f
        else:
            c.append(f)
    c = sp.Mul(*c)
    if numerator is None:
        return total, k, [(c, y)]
    out = []
    for t in numerator.args:
        exps = [g for g in sp.Mul.make_args(t) if _is_exp(g)]
        out.append((c * sp.Mul(*[g for g in sp.Mul.make_args(t) if not _is_exp(g)]),
                    y + sp.Add(*[g.args[0] for g in exps])))
    return total, k, out


def _vanishes(total) -> bool:
    """total = 0 exactly, where terms may write a max-shifted difference as the max-minus rule leaves it: max(0, b − a,
    …) for max(a, b, …) − a (the entropy term's log p + 1 = a − m − log1p(D) + 1 beside −(log p + 1) = log1p(D) +
    max(0, b − a) − 1); each substitution an identity, so the test is exact (and may only miss a zero)."""
    total = sp.expand(total)
    if total == 0:
        return True
    shifted = {}
    for m in total.atoms(sp.Max):  # (a max of gaps, max(0, b − a), is no max the gaps are taken from)
        if sp.S.Zero not in m.args:
            shifted.update({sp.Max(*[y - x for y in m.args]): m - x for x in m.args})
    return bool(shifted) and sp.expand(total.xreplace(shifted)) == 0


def _shifted_sum_pow(f) -> bool:
    return f.is_Pow and f.exp.is_Rational and f.base.is_Add and _shifted(f.base) and (
        _unshifted(f.base) or (None, 0))[1] != 0


def _written_sum_pow(f):
    """S'^p → S^p·e^(−p·m) for S' = Σ e^(a_j − m), the sum S shifted by its max m."""
    total, m = _unshifted(f.base)
    return total ** f.exp * sp.exp(-f.exp * m)


def _power_terms(total, n):
    """[(c, y), …] with total^n = Σ c·e^y, total = Σ c_j·e^(a_j) (n ≥ 0; the terms of one y not yet summed)."""
    out = [(sp.S.One, sp.S.Zero)]
    for _ in range(n):
        out = [(c * cj, y + aj) for c, y in out for cj, aj in _exp_terms(total)]
    return out


def _softmax_partition(node):
    """Σ_i X_i·S⁻ᵏ + Σ_i Y_i·S⁻⁽ᵏ⁺¹⁾ for a sum of exponentials S = Σ_j e^(a_j) → Σ_y c_y·e^y·S⁻⁽ᵏ⁺¹⁾: the terms over
    S⁻ᵏ taken over S⁻⁽ᵏ⁺¹⁾ as X·Σ_j e^(a_j) (the softmax weights summing to 1), every term multiplied out into
    monomials c·e^y and those of one exponential summed symbolically; applied only where a monomial's coefficients
    sum to 0, the cancellation the written form makes in floating point. The entropy term p·log p's ∂a,
    L·p + p − (L + 1)·p² (L = log p), is (L + 1)·e^(a + b)/S² (its p − p² cancelled every digit where p rounds to
    1: 4.6e6 ULP at a − b = 20 in float64, 0 for 5.45e−18 at 40); the written 3-class entropy's ∂a,
    e^a·(−(L_a + 1)/S + Σ_j (L_j + 1)·e^(a_j)/S²), is Σ_{j≠a} (a_j − a)·e^(a + a_j)/S² (session 28). Terms over the
    max-shifted S are compared with those over S written (:func:`_unshifted`); the zero test is exact
    (:func:`_vanishes`)."""
    powers = {f.exp for t in node.args for f in sp.Mul.make_args(t)
              if f.is_Pow and f.exp.is_Rational and f.exp < 0 and f.base.is_Add}
    if len(powers) < 2:  # no two powers of a sum: nothing to take over one (a cheap test, asked of every sum)
        return None
    args = node.args
    if not all(k.is_Integer for k in powers):  # half-integer powers: no other rule takes their terms, so the
        # derivative's nested sums are multiplied out first (∂a of x·e^a/S^0.5 − x·e^(2a)/S^1.5 holds
        # (−e^a + 3e^(2a)/S)/(2S^1.5) beside 1/√S and e^a/S^1.5; session 29)
        # and the sums the max-shift rule shifted below them written again (S'^p = S^p·e^(−p·m), exactly)
        args = sp.Add.make_args(sp.expand_mul(node.replace(_shifted_sum_pow, _written_sum_pow)))
    by_sum: dict = {}
    for t in args:
        found = _monomials(t)
        if found is not None:
            by_sum.setdefault(found[0], []).append((t, found[1], found[2]))
    for total, entries in by_sum.items():
        top = max(k for _, k, _ in entries)  # k and k + 1 (a half-integer k too: x·e^a/S^1.5 − x·e^(2a)/S^2.5 is
        # x·e^(a + b)/S^2.5, where the written difference lost every digit, 3.3e12 ULP at a − b = 80.46; session 29)
        spread = 1 if top.is_Integer else 2  # half-integer powers: k + 2 too, the derivative's three levels (∂a of
        # x·e^a/S^0.5 − x·e^(2a)/S^1.5 is x·(e^(a + 2b) − e^(2a + b)/2)/S^2.5: 1.8e19 ULP at a − b = 80.46 before)
        if len({k for _, k, _ in entries}) < 2 or any(not (top - k).is_Integer or top - k > spread
                                                      for _, k, _ in entries):
            continue
        groups: dict = {}
        for _, k, monomials in entries:
            for c, y in monomials:
                for cj, aj in _power_terms(total, int(top - k)):
                    groups.setdefault(sp.expand(y + aj), []).append(c * cj)
        if top.is_Integer and all(c.is_number for cs in groups.values() for c in cs):  # 1/S − e^a/S² and kin:
            continue  # the cancel and complement rules' (a written cross-entropy's ∂a, S·e^−a·(1/S − e^a/S²),
            # cancels S first); over half-integer powers no other rule takes them (e^a/√S − e^(2a)/S^1.5)
        if not any(len(cs) >= 2 and _vanishes(sp.Add(*cs)) for cs in groups.values()):
            continue
        taken = {t for t, _, _ in entries}
        kept = [sp.Add(*cs) for cs in groups.values()]
        return _Fired(sp.Add(*[t for t in args if t not in taken], *[
            c * sp.exp(y) * total ** -top for c, y in zip(kept, groups) if not _vanishes(c)]), ["softmax-complement"])
    return None


def _softmax_complement(node):
    """1 − e^{x}/S with e^{x} a term of S → (S − e^{x})/S (1 − softmax without cancellation);
    p − p² → p·(1 − p) first; w − w·p for any factor w (:func:`_weighted_complement`); terms over S⁻ᵏ and
    S⁻⁽ᵏ⁺¹⁾ that cancel, c·p − c·p² for any coefficient c among them (:func:`_softmax_partition`)."""
    if not node.is_Add:
        return None
    for term in node.args:
        for sign in (1, -1):  # p − p² = p·(1 − p), −p + p² = −p·(1 − p)
            q = sign * term
            if -sign * q ** 2 in node.args and _softmax_term(q):
                return _Fired(node - term + sign * q ** 2 + sign * q * (1 - q), ["softmax-complement"])
    for one in (sp.S.One, sp.S.NegativeOne):
        if one not in node.args:
            continue
        for term in node.args:
            p = _softmax_term(-one * term)
            if p is not None:
                e, total = p
                rest = node - one - term
                return _Fired(rest + one * sp.Add(*[x for x in total.args if x != e]) / total,
                              ["softmax-complement"])
    return _weighted_complement(node) or _softmax_partition(node)


def _max_minus(node):
    """max(a, b, …) − a → max(0, b − a, …): m − a after a max-shift is never a difference of
    two large numbers (the cross-entropy m + log Σ e^{z − m} − a at logits of a few hundred)."""
    if not node.is_Add:
        return None
    for m in node.args:
        if isinstance(m, sp.Max):
            for x in m.args:
                if -x in node.args:
                    return _Fired(node - m + x + sp.Max(*[y - x for y in m.args]), ["log-quotient"])
    return None


def _softmax_term(term):
    """(e^x, S) if term is e^x/S with e^x one of the terms of the sum S, else None."""
    if not term.is_Mul or len(term.args) != 2:
        return None
    e = next((f for f in term.args if _is_exp(f)), None)
    d = next((f for f in term.args if f.is_Pow and f.exp == -1 and f.base.is_Add), None)
    if e is None or d is None or e not in d.base.args or len(d.base.args) < 2:
        return None
    return e, d.base


def _never_positive(u) -> bool:
    """u ≤ 0 wherever it is a number: −|a − b| (the logaddexp rule's gap, log-cosh's −2|u|), min − max, a − max(…, a, …)
    (a max shift): e^u ≤ 1 there, so log1p(e^u) neither overflows nor cancels."""
    if u.is_nonpositive:
        return True
    if u.is_Add and len(u.args) == 2:
        first, second = u.args
        for a, b in ((first, second), (second, first)):
            if isinstance(-b, sp.Max) and (a in (-b).args or isinstance(a, sp.Min) and set(a.args) == set((-b).args)):
                return True
    return False


def _log_rules(node):
    if isinstance(node, log1p):  # the user's log1p(c·e^u), softplus as users write it: as log(1 + c·e^u) below
        c, rest = node.args[0].as_coeff_Mul()
        # never where u ≤ 0 (the logaddexp rule's own log1p(e^−|a − b|), log-cosh's log1p(e^−2|u|)): exact as it is,
        # and the two-sum, infinite-shift and shifted-sum-crossing rules look for that form in it
        if _is_exp(rest) and c.is_positive and not _never_positive(rest.args[0]):
            u = rest.args[0]
            return _Fired(softplus(u + sp.log(c) if c != 1 else u), ["softplus"])
        if c == -1 and _is_exp(rest) and _is_exp(-rest.args[0]):
            # log1p(−e^(−e^w)), the cloglog link as a user who knows log1p writes it: log1p's argument rounded to −1
            # first (−29.99983 for −30.0000000000000468 at w = −30; −inf below −37): as log(1 − e^(−e^w))
            return _log_rules(sp.log(1 - rest))
        return None
    if not isinstance(node, sp.log):
        return None
    (a,) = node.args
    if isinstance(a, sigmoid):  # log σ(x) = −softplus(−x)
        return _Fired(-softplus(-a.args[0]), ["log-sigmoid"])
    if isinstance(a, sp.cosh):
        u = a.args[0]
        return _Fired(_log_cosh(u), ["log-cosh"])
    terms = _exp_terms(a)
    if terms and _shifted(a):
        return _log_shifted_sum(a)
    if terms and not _shifted(a):
        nexp = [t for t in terms if t[1] != 0]
        consts = [c for c, x in terms if x == 0]
        if len(terms) == 2 and consts == [1]:  # log(1 + c·e^x) = softplus(x + log c)
            (c, x), = nexp
            return _Fired(softplus(x + sp.log(c) if c != 1 else x), ["softplus"])
        if len(terms) == 2 and not consts and terms[0][0] == terms[1][0]:  # c·(e^x + e^y)
            (c, x), (_, y) = terms
            scale = sp.log(c) if c != 1 else sp.S.Zero
            if x == -y:  # log(c·(e^u + e^−u)) = log 2c + log cosh u
                return _Fired(sp.log(2 * c) + _log_cosh(x), ["log-cosh"])
            return _Fired(scale + sp.Max(x, y) + log1p(sp.exp(-sp.Abs(x - y))), ["logaddexp"])
        if len(nexp) >= 2 or (nexp and consts):
            m = _max_of(tuple(x for _, x in terms))
            if isinstance(m, sp.Max):
                return _Fired(m + sp.log(sp.Add(*[c * sp.exp(x - m) for c, x in terms])), ["log-sum-exp"])
    if (a.is_Mul and any(isinstance(f, (sp.exp, sigmoid)) or f.is_Pow for f in a.args)
            or a.is_Pow and a.exp.is_number) and _positive(a):  # log(cosh²u) = 2·log cosh u
        out = sp.S.Zero
        for f in sp.Mul.make_args(a):
            base, k = (f.base, f.exp) if f.is_Pow else (f, 1)
            out += k * (base.args[0] if _is_exp(base) else sp.log(base))
        return _Fired(out, ["log-quotient"])
    if isinstance(-a, expm1) or (a.is_Add and len(a.args) == 2 and sp.S.One in a.args
                                 and any(_is_exp(-x) for x in a.args)):
        x = (-a).args[0] if isinstance(-a, expm1) else next((-t).args[0] for t in a.args if _is_exp(-t))
        far = ()
        if _is_exp(-x):
            # x = −e^w (the complementary log-log link's log(1 − e^(−e^w))): −expm1(−e^w) underflows with e^w, −inf
            # for the true w at w < −745 in float64 (and 740 ULP off at w = −740, e^w subnormal); below w = −20,
            # log(−expm1(−u)/u) = −u/2 + u²/24 − … with u = e^w, so w − e^w/2 (the u² term < 2⁻⁶² of w)
            w = (-x).args[0]
            far = ((w - sp.exp(w) / 2, w < -20),)
        return _Final(_Fired(sp.Piecewise(*far, (sp.log(-expm1(x)), x > -sp.log(2)), (log1p(-sp.exp(x)), True)),
                             ["log1mexp"]))
    if a.is_Add and sp.S.One in a.args:  # log(1 + u); never log(u + 1e-8)
        return _Fired(log1p(a - 1), ["log1p"])
    if a.is_Add and len(a.args) == 2 and sp.Integer(2) in a.args and any(_is_exp(-t) for t in a.args):
        # log(2 − e^u) = log1p(1 − e^u) = log1p(−expm1(u)) (the expm1 rule's): 0 for −1e−30 at u = 1e−30 as written
        return _Fired(log1p(a - 1), ["log1p"])
    return None


def _log_shifted_sum(s):
    """log Σ_i c_i·e^{x_i}, x_i = a_i − m, m = max a_i, c_i > 0 numbers (a max-shifted sum, one exponent is 0) →
    log1p(D), D = the sum less 1 taken from the largest term: (c_k − 1) + c_k·expm1(x_k) + Σ_{i≠k} c_i·e^{x_i} where
    x_k = 0 (so c_i·e^{x_i} ≪ 1 are not lost in 1 + c_i·e^{x_i}: the cross-entropy at a large margin; past47: with
    weights, log(2e^a + e^b + 1) at a, b < −38 was log of a sum rounded to 1, 0 for about 2e^a, 8.96e15 ULP in
    float64; torch the same). Exact as a function: c_k·e^{x_k} − 1 = (c_k − 1) + c_k·expm1(x_k)."""
    terms = _exp_terms(s)
    if not terms or len(terms) > 6 or any(not (c.is_number and c.is_positive) for c, _ in terms):
        return None
    maxes = s.atoms(sp.Max)
    if len(maxes) != 1 or not all(x.has(*maxes) for _, x in terms):
        return None
    (m,) = maxes
    pieces = [((ck - 1) + (0 if _leaf_gap(xk, m) else ck * expm1(xk))
               + sp.Add(*[c * sp.exp(x) for c, x in terms if x is not xk]), sp.Eq(xk, 0)) for ck, xk in terms]
    return _Final(_Fired(log1p(sp.Piecewise(*pieces, (s - 1, True))), ["log-sum-exp"]))


# cost48: the piece of the largest term k holds c_k·expm1(x_k) under x_k = 0, which is 0 where x_k = a_k − m is the
# difference of an input or a number and the max of them: float64's a_k − m is 0 exactly where a_k = m, so the
# condition holds only where x_k is 0 exactly (a double word's x_k too, TwoSum of a_k and −m). Left out there: a
# double-word expm1 (some 390 operations) on every element for a 0, three of them in log(e^a + e^b + 1)'s float64
# kernel. Where a_k is computed (a/T), its rounding is in x_k's double word and expm1(x_k) keeps it.
def _leaf_gap(x, m) -> bool:
    """x = a − m with a an input or a number (x + m is one)."""
    a = x + m
    return a.is_Symbol or a.is_number


def _log_cosh(u):
    """log cosh u = log1p(2·sinh²(u/2)) for |u| < 1 (|u| + log1p(e^{−2|u|}) − log 2 cancels to
    ~1e−16 absolute near 0, where log cosh u ≈ u²/2), |u| + log1p(e^{−2|u|}) − log 2 beyond."""
    a = sp.Abs(u)
    return sp.Piecewise((log1p(2 * sp.sinh(u / 2) ** 2), a < 1), (a + log1p(sp.exp(-2 * a)) - sp.log(2), True))
