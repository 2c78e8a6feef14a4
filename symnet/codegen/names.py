"""Temporaries named by their math: ``sig_z``, ``one_minus_y``, ``exp_neg_abs_z``.

:func:`_math_name` describes an expression from the names of the symbols and temporaries it reads
joined by the words of its operations, or gives None where a part has no word. It serves the kernels'
temporaries (:func:`symnet.codegen.ir.temporary_names`) and the statements of the double-word
functions (:mod:`symnet.codegen.doubleword`); it imports nothing of the code generator, so that a
printer may use it.
"""
from __future__ import annotations

import sympy as sp

__all__ = ["FUNCTION_WORDS", "NUMBER_WORDS", "RELATION_WORDS", "SIGN_WORDS", "FALLBACK_WORDS"]

# the short word of a function in a temporary's name: σ(z) → sig_z; any other function by its
# class name in lower case (tanh(z) → tanh_z, softplus(z) → softplus_z)
FUNCTION_WORDS = {"sigmoid": "sig", "Abs": "abs", "Heaviside": "step", "log1p": "log1p", "expm1": "expm1",
                  "Max": "max", "Min": "min", "sign": "sign"}
NUMBER_WORDS = {0: "zero", 1: "one", 2: "two", 3: "three", sp.S.Half: "half"}
RELATION_WORDS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}
# x ⋈ 0: the sign the comparison asks for
SIGN_WORDS = {">": "pos", ">=": "nonneg", "<": "neg", "<=": "nonpos", "==": "is_zero", "!=": "nonzero"}
# the word of a numbered name, by the class of the expression too large to name
FALLBACK_WORDS = ((sp.Add, "sum"), (sp.Mul, "prod"), (sp.Pow, "pow"), (sp.Piecewise, "where"),
                  (sp.core.relational.Relational, "cond"), (sp.Function, "fn"))


def _math_name(e: sp.Basic, known: dict) -> str | None:
    """A name for ``e`` from its structure: the names of the symbols and temporaries it reads
    (``known``) joined by the words of its operations; None where there is no word for a part."""
    if e in known:
        return known[e]
    if e.is_Number:
        if e in NUMBER_WORDS:
            return NUMBER_WORDS[e]
        if -e in NUMBER_WORDS:
            return f"minus_{NUMBER_WORDS[-e]}"
        if e.is_Integer and abs(e) <= 10000:  # 5 → "5", 1000 → "1000" (never first: z_times_5)
            return str(e).replace("-", "minus_")
        return None
    if isinstance(e, sp.core.relational.Relational):
        lhs = _math_name(e.lhs, known)
        if lhs is None:
            return None
        if e.rhs == 0:
            return f"{lhs}_{SIGN_WORDS[e.rel_op]}"
        rhs = _math_name(e.rhs, known)
        return None if rhs is None else f"{lhs}_{RELATION_WORDS[e.rel_op]}_{rhs}"
    if isinstance(e, sp.Piecewise):
        return _piecewise_name(e, known)
    if isinstance(e, sp.Add):
        positive = [t for t in e.args if not t.could_extract_minus_sign()]
        negative = [-t for t in e.args if t.could_extract_minus_sign()]
        positive.sort(key=lambda t: not t.is_Number)  # 1 − y, 1 + e: the constant first
        words = [_math_name(t, known) for t in positive + negative]
        if None in words:
            return None
        if not positive:  # −a − b
            return "neg_" + "_minus_".join(words)
        out = "_plus_".join(words[:len(positive)])
        return "_minus_".join([out] + words[len(positive):])
    if isinstance(e, sp.Mul):
        coeff, rest = e.as_coeff_Mul()
        if coeff == -1:
            inner = _math_name(rest, known)
            return None if inner is None else f"neg_{inner}"
        num = [f for f in sp.Mul.make_args(e) if not (f.is_Pow and f.exp.is_Integer and f.exp < 0)]
        den = [f.base ** -f.exp for f in sp.Mul.make_args(e) if f.is_Pow and f.exp.is_Integer and f.exp < 0]
        top = [_math_name(f, known) for f in num]
        bottom = [_math_name(f, known) for f in den]
        if None in top + bottom:
            return None
        top = [w for w in top if not w[0].isdigit()] + [w for w in top if w[0].isdigit()]  # z_times_5
        out = "_times_".join(top) if top else "one"
        return out + "".join(f"_over_{b}" for b in bottom)
    if isinstance(e, sp.Pow):
        base, exp = e.args
        inner = _math_name(base, known)
        if inner is None:
            return None
        if exp == -1:
            return f"inv_{inner}"
        words = {2: "sq", 3: "cube", sp.S.Half: "sqrt", -sp.S.Half: "rsqrt", -2: "inv_sq"}
        if exp in words:
            return f"{words[exp]}_{inner}"
        power = _math_name(exp, known)
        return None if power is None else f"{inner}_pow_{power}"
    if getattr(type(e), "body", None) is not None and hasattr(e, "expanded"):
        # a widened sum (symnet.codegen.rewrite.WidenedBase, computed in float64): named by its sum
        # (y_minus_sig_z); recognised by its attributes, so that this module imports no rule
        return _math_name(e.expanded, known)
    if isinstance(e, (sp.Function, sp.Max, sp.Min)) and len(e.args) >= 1:  # (Max and Min are no sp.Function)
        name = type(e).__name__
        args = [_math_name(a, known) for a in e.args]
        if None in args:
            return None
        if name in ("exp", "nexp"):
            (arg,) = e.args
            if name == "nexp":
                return f"exp_neg_{args[0]}"
            if arg.could_extract_minus_sign():
                inner = _math_name(-arg, known)
                return None if inner is None else f"exp_neg_{inner}"
            return f"exp_{args[0]}"
        word = FUNCTION_WORDS.get(name, name.lower())
        return f"{word}_{'_'.join(args)}" if word.isidentifier() else None
    return None


def _piecewise_name(e: sp.Piecewise, known: dict) -> str | None:
    """A select: where_<its first condition>."""
    condition = _math_name(e.args[0].cond, known)
    return None if condition is None else f"where_{condition}"
