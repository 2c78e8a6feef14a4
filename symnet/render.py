"""Printing a :class:`Derivation` as text, LaTeX, Markdown or JSON.

Printers dispatch on the expression's class (``_print_sigmoid``, ``_print_Partial``, …)
as SymPy's own printers do; the formats differ only in these small overrides and in how
a step is laid out.
"""
from __future__ import annotations

import json
import re

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol
from sympy.printing.str import StrPrinter

from .derivation import Derivation, Step

__all__ = ["render", "render_text", "render_latex", "render_markdown", "render_json",
           "text", "latex", "FORMATS"]

_SUPERSCRIPT = str.maketrans("0123456789-()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class TextPrinter(StrPrinter):
    """One-line unicode: σ(z)·(1 − σ(z)), x², ∂e/∂c, δ_ij, Σ_k W_ik·a_k."""

    printmethod = "_symnet_text"  # not Indexed's own _sympystr: dispatch on class here

    def _print_Symbol(self, e):
        return pretty_symbol(e.name)  # theta_10 → θ₁₀, alpha → α

    _print_Dummy = _print_Symbol  # an index of one layer: shown as its plain letter

    def _print_sigmoid(self, e):
        return "σ(%s)" % self._print(e.args[0])

    def _print_Rational(self, e):
        return _decimal(e) or super()._print_Rational(e)

    def _print_relu(self, e):
        return "relu(%s)" % self._print(e.args[0])

    def _print_Heaviside(self, e):
        return "H(%s)" % self._print(e.args[0])

    def _print_Abs(self, e):
        return "|%s|" % self._print(e.args[0])

    def _print_exp(self, e):
        return "exp(%s)" % self._print(e.args[0])

    def _print_Piecewise(self, e):  # {x if x > 0; expm1(x) otherwise}
        parts = [f"{self._print(v)} if {self._print(c)}" if c != sp.true else f"{self._print(v)} otherwise"
                 for v, c in e.args]
        return "{" + "; ".join(parts) + "}"

    def _print_Relational(self, e):
        op = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}.get(e.rel_op, e.rel_op)
        return f"{self._print(e.lhs)} {op} {self._print(e.rhs)}"

    def _print_And(self, e):
        return " and ".join(self._print(a) for a in e.args)

    def _print_Or(self, e):
        return " or ".join(self._print(a) for a in e.args)

    def _print_Partial(self, e):
        d = "d" if e.total else "∂"
        return "%s%s/%s%s" % (d, self._print(e.num), d, self._print(e.den))

    def _print_Name(self, e):
        return e.text

    def _print_Indexed(self, e):
        idx = [self._print(i) for i in e.indices]
        base = self._print(e.base.label)
        if all(len(i.rstrip("'")) == 1 for i in idx):
            return "%s_%s" % (base, "".join(idx))
        return "%s[%s]" % (base, ",".join(idx))

    def _print_IndexedBase(self, e):
        return self._print(e.label)

    def _print_KroneckerDelta(self, e):
        a, b = (self._print(x) for x in e.args)
        return "δ_%s%s" % (a, b) if len(a) == len(b) == 1 else "δ(%s, %s)" % (a, b)

    def _print_Sum(self, e):
        idx = ",".join(self._print(lim[0]) for lim in e.limits)
        body = self._print(e.function)
        if e.function.is_Add or e.function.is_Mul:
            body = "(%s)" % body
        return "Σ_%s %s" % (idx, body)

    def _print_MatrixBase(self, e):
        return "[" + ", ".join("[" + ", ".join(self._print(x) for x in e.row(r)) + "]"
                               for r in range(e.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def doprint(self, expr):
        s = super().doprint(expr)
        s = re.sub(r"\*\*\((-?\d+)\)", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
        s = re.sub(r"\*\*(\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), s)
        return s.replace("**", "^").replace("*", "·").replace("-", "−")


def _decimal(q: sp.Rational) -> str | None:
    """62137/1000 → '62.137', 3/5 → '0.6': exact decimals only; 1/2 and 1/4 stay fractions."""
    den = int(q.q)
    digits = next((k for k in range(1, 13) if 10 ** k % den == 0), None)
    if den <= 4 or digits is None:
        return None
    numerator = int(q.p) * (10 ** digits // den)
    den = 10 ** digits
    sign = "-" if numerator < 0 else ""
    whole, frac = divmod(abs(numerator), den)
    return "%s%d.%0*d" % (sign, whole, digits, frac)


class TexPrinter(LatexPrinter):
    def _print_Dummy(self, e):
        return self._print_Symbol(sp.Symbol(e.name))

    def _print_Rational(self, e):
        return _decimal(e) or super()._print_Rational(e)

    def _print_Partial(self, e):
        return e._latex(self)

    def _print_KroneckerDelta(self, e, exp=None):
        a, b = (self._print(x) for x in e.args)
        body = r"\delta_{%s %s}" % (a, b)
        return body if exp is None else r"%s^{%s}" % (body, exp)

    def _print_Heaviside(self, e, exp=None):
        body = r"H\left(%s\right)" % self._print(e.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


def text(expr) -> str:
    return TextPrinter({"order": "none"}).doprint(expr)


def latex(expr) -> str:
    return TexPrinter({"order": "none"}).doprint(expr)


def _step_text(step: Step) -> str:
    rel = " %s " % step.relation
    line = text(step.lhs) + rel + rel.join(text(f) for f in step.chain)
    notes = [n for n in (step.why, _check_label(step)) if n]
    return line + ("    [" + "; ".join(notes) + "]" if notes else "")


def _check_label(step: Step) -> str:
    return {"symbolic": "✓ symbolic", "numeric": "✓ numeric", "exact": "✓"}.get(step.check, "")


def render_text(d: Derivation) -> str:
    lines = [d.title, "=" * len(d.title)]
    if d.summary:
        lines += [d.summary]
    for sec in d.sections:
        lines += ["", sec.title, "-" * len(sec.title)]
        if sec.text:
            lines += [sec.text]
        if sec.table:
            lines += _table_text(sec.table)
        lines += ["  " + _step_text(s) for s in sec.steps]
    return "\n".join(lines) + "\n"


def _table_text(rows) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        if k == 0:
            out.append("  " + "  ".join("-" * w for w in widths))
    return out


def _step_latex(step: Step) -> str:
    rel = {"=": "=", "≤": r"\le", "≥": r"\ge", "<": "<", ">": ">"}[step.relation]
    body = latex(step.lhs) + "".join(" %s %s" % (rel, latex(f)) for f in step.chain)
    if step.why:
        body += r" \qquad \text{(%s)}" % _tex_text(step.why)
    return body


def _tex_text(s: str) -> str:
    return s.replace("\\", "").replace("{", "").replace("}", "").replace("_", r"\_").replace("%", r"\%")


def render_latex(d: Derivation) -> str:
    parts = [r"\textbf{%s}" % _tex_text(d.title)]
    for sec in d.sections:
        parts.append(r"\par\textit{%s}" % _tex_text(sec.title))
        if sec.steps:
            parts.append(r"\begin{gather*}" + "\n" + " \\\\\n".join(_step_latex(s) for s in sec.steps)
                         + "\n" + r"\end{gather*}")
    return "\n".join(parts) + "\n"


def render_latex_math(d: Derivation) -> str:
    """The whole derivation as one display-math block, for Jupyter (MathJax/KaTeX)."""
    rows = [r"\textbf{%s}" % _tex_text(d.title)]
    for sec in d.sections:
        if sec.steps:
            rows.append(r"\textit{%s}" % _tex_text(sec.title))
            rows.extend(r"\quad " + _step_latex(s) for s in sec.steps)
    return "$$\n\\begin{array}{l}\n" + " \\\\\n".join(rows) + "\n\\end{array}\n$$"


def render_markdown(d: Derivation, heading: str = "#") -> str:
    out = [f"{heading} {d.title}", ""]
    if d.summary:
        out += [d.summary, ""]
    for sec in d.sections:
        out += [f"{heading}# {sec.title}", ""]
        if sec.text:
            out += [sec.text, ""]
        if sec.table:
            out += ["| " + " | ".join(sec.table[0]) + " |",
                    "|" + "---|" * len(sec.table[0])]
            out += ["| " + " | ".join(r) + " |" for r in sec.table[1:]]
            out += [""]
        for s in sec.steps:
            out += ["$$", _step_latex(s), "$$", ""]
    return "\n".join(out).rstrip() + "\n"


class _ParsablePrinter(StrPrinter):
    def _print_Dummy(self, e):
        return e.name

    def _print_Partial(self, e):
        return "Derivative(%s, %s)" % (self._print(e.num), self._print(e.den))


def _parsable(expr) -> str:
    return _ParsablePrinter().doprint(expr)


def _all_exprs(d: Derivation):
    for t, e in d.definitions:
        yield sp.sympify(t)
        yield e
    for k, v in d.gradients.items():
        yield sp.sympify(k)
        yield v
    for s in d.steps:
        yield from (f for f in s.chain if isinstance(f, sp.Basic))


def render_json(d: Derivation) -> str:
    def step(s: Step) -> dict:
        out = {"lhs": _parsable(s.lhs), "value": _parsable(s.value),
                "forms": [_parsable(f) for f in s.chain], "relation": s.relation,
                "text": _step_text(s), "latex": _step_latex(s), "why": s.why, "check": s.check}
        matrices = {m.name: [_parsable(m.rows), _parsable(m.cols)] for m in sorted(s.value.atoms(sp.MatrixSymbol), key=str)}
        if matrices:  # names that are matrices in this step's value, with their shapes
            out["matrices"] = matrices
        return out

    indexed = sorted({_parsable(x.base.label) for e in _all_exprs(d) for x in e.atoms(sp.Indexed)})
    doc = {
        "name": d.name, "title": d.title, "summary": d.summary,
        # to parse these strings: sympy.parse_expr(s, local_dict) with each name in
        # "indexed" an IndexedBase and each in "functions" the symnet function of that name
        "indexed": indexed, "functions": ["sigmoid", "relu"],
        "inputs": [_parsable(s) for s in d.inputs],
        "wrt": [_parsable(s) for s in d.wrt],
        "outputs": [_parsable(s) for s in d.outputs],
        "definitions": [{"target": _parsable(t), "expression": _parsable(e)} for t, e in d.definitions],
        "gradients": {_parsable(k): _parsable(v) for k, v in d.gradients.items()},
        "jacobian": None if d.jacobian is None else
        [[_parsable(x) for x in d.jacobian.row(r)] for r in range(d.jacobian.rows)],
        "sections": [{"title": sec.title, "text": sec.text, "table": [list(r) for r in sec.table],
                      "steps": [step(s) for s in sec.steps]} for sec in d.sections],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


FORMATS = {"text": render_text, "latex": render_latex, "markdown": render_markdown, "json": render_json}


def render(d: Derivation, fmt: str = "text") -> str:
    try:
        return FORMATS[fmt](d)
    except KeyError:
        from .errors import SymnetError
        raise SymnetError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
