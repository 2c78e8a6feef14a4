"""The scaled-square rule's quotient chain (N/V)/V as the printers and the common-subexpression pass see it: a
module of its own (SymPy only), so that the printers need not import the rewrite rules (an import cycle:
backends.printing → rewrite → roots → backends.numpy.printer)."""
from __future__ import annotations

import sympy as sp

__all__ = ["quotient_chain", "equal_powers", "shared_powers"]


def quotient_chain(g):
    """(N, V) where ``g`` is :func:`_scaled_quotient`'s chain (N/V)/V, two quotients held unevaluated, else None:
    the printers place a constant that multiplies it per element (``_constant_quotients``), and CSE's temporary
    for it is put back where it is used (``symnet.codegen.ir``), so that they see it whole."""
    def quotient(e):
        if not isinstance(e, sp.UnevaluatedExpr):
            return None
        if e.args[0].is_Pow and e.args[0].exp == -1:  # 1/V
            return sp.S.One, e.args[0].base
        if not e.args[0].is_Mul:
            return None
        den = [f for f in e.args[0].args if f.is_Pow and f.exp == -1]
        if len(den) != 1:
            return None
        return sp.Mul(*[f for f in e.args[0].args if f is not den[0]]), den[0].base

    outer = quotient(g)
    inner = quotient(outer[0]) if outer is not None else None
    if inner is None or inner[1] != outer[1]:
        return None
    return inner


def equal_powers(factors) -> list | None:
    """equal-powers: the factors of a product with x^n·y^n (two factors or more with one integer exponent n ≥ 2) put
    as (x·y)^n, the product first, the product held apart (UnevaluatedExpr) so that SymPy does not distribute the power
    again; None where there are no two such factors. SymPy writes (x·y)^n as x^n·y^n, and x^n overflows (or underflows)
    where (x·y)^n does not: exp((x·y)² − y) at (−1e200, 0) was inf·0 = NaN for 1 (h-hyp31). Exact as algebra; the
    power of the product leaves the range only where the whole does (and x^n·y^n where either power does), and rounds
    (relative) n + 1 times, x·y once and the power once, where x^n·y^n rounds about three times: for n = 2 the same
    bound. Used by the printers (ConditionalPrinting._print_Mul) and the double-word lowering (its products)."""
    groups: dict = {}
    for a in factors:
        if a.is_Pow and a.exp.is_Integer and a.exp >= 2 and not a.base.is_number:
            groups.setdefault(a.exp, []).append(a)
    found = {n: f for n, f in groups.items() if len(f) > 1}
    if not found:
        return None
    taken = {a for f in found.values() for a in f}
    return [a for a in factors if a not in taken] + [
        sp.Pow(sp.UnevaluatedExpr(sp.Mul(*[a.base for a in f])), n) for n, f in found.items()]


def shared_powers(factors) -> list | None:
    """shared-powers: the factors of a product with x^a·y^b·… (two factors or more whose integer exponents all have
    |n| ≥ 2, bases not numbers) put as (x^±1·y^±1·…)^m·x^(a ∓ m)·y^(b ∓ m)·… with m the least |n|, the product held
    apart (UnevaluatedExpr) so that SymPy does not distribute the power again: x³·y³ as (x·y)³, x²·y³ as (x·y)²·y,
    x²/y² as (x/y)²; None where there are no two such factors. The generalisation of :func:`equal_powers` that the
    pre-CSE rule (symnet.codegen.ir, rule shared-powers) needs: the derivatives of a power of a product share x^k and
    y^k with unequal exponents (∂x of e^(−(x·y)³) is −3·x²·y³·e^(…)), and CSE makes them temporaries before the
    printers could see x^n·y^n. A rational power above 1 takes inputs to the power ±1 as partners, m the whole part
    of the least exponent (x^(3/2)/y as (x/y)·√x). Exact as algebra; a factor of the new form leaves the range only where the old one
    (x^(a − m) where x^a) or the whole (the power of the product, with the remaining factors) does."""
    def base(a):  # a product already held apart (equal-powers', scaled-power's) joins the new one; a rule's group not
        b = powers[a][0]
        return b.args[0] if type(b) is sp.UnevaluatedExpr else b

    def parts(a):  # (base, exponent) of a factor that may take part, else None
        if a.is_Symbol:
            return a, sp.S.One
        if not (a.is_Pow and a.exp.is_Rational) or a.base.is_number or (
                isinstance(a.base, sp.UnevaluatedExpr) and type(a.base) is not sp.UnevaluatedExpr):
            return None
        return a.base, a.exp

    powers = {a: parts(a) for a in factors if parts(a) is not None}
    # x^n, |n| ≥ 2 whole; x^(p/q) with |p/q| > 1 (SymPy's x^(3/2) of √x·x), whose partners may be inputs to the power
    # ±1 (x^(3/2)/y as (x/y)·√x: x^(3/2) underflows at x = 1e−300 where the whole is 1e−150, h-xfail33)
    found = [a for a, (b, n) in powers.items() if (n.is_Integer and abs(n) >= 2) or (not n.is_Integer and abs(n) > 1)]
    if any(not powers[a][1].is_Integer for a in found):
        found += [a for a, (b, n) in powers.items() if abs(n) == 1 and b.is_Symbol and a not in found]
    if len(found) < 2:
        return None
    m = sp.floor(min(abs(powers[a][1]) for a in found))
    inner = sp.Mul(*[base(a) if powers[a][1] > 0 else 1 / base(a) for a in found])
    rest = [powers[a][0] ** (powers[a][1] - m * sp.sign(powers[a][1])) for a in found]
    return [a for a in factors if a not in found] + rest + [sp.Pow(sp.UnevaluatedExpr(inner), m)]
