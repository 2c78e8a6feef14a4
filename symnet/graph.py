"""The computational graph of a derivation, drawn: values on nodes, local partials on edges.

Written as Graphviz DOT (always) and, where Graphviz's ``dot`` program is installed, as
SVG or PNG. Files are written atomically: a partial file never replaces a good one.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import sympy as sp

from .derivation import Derivation, Partial
from .errors import SymnetError
from .files import write_atomically
from .render import shown as text  # as every printout writes a formula (σ(z) − y)

__all__ = ["to_dot", "write_graph"]


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _name(e) -> str:
    return text(e.base if isinstance(e, sp.Indexed) else e)


def _is_number(e) -> bool:
    """A single number (a matrix-valued step, as in ``jacobian`` or ``softmax``, is not)."""
    return isinstance(e, sp.Expr) and bool(e.is_number)


def _value(e: sp.Expr) -> str:
    if e.is_number and not e.is_Integer and not e.is_Rational:
        return f"{float(e):.4g}"
    return text(e)


def to_dot(d: Derivation) -> str:
    """DOT source: one node per input and per assignment, one edge per direct use.

    Raises :class:`SymnetError` for a derivation without a computational graph (one
    made of claims only, such as ``perceptron``).
    """
    if not d.definitions:
        raise SymnetError(f"'{d.name or d.title}' has no computational graph to draw: it states and "
                          "checks claims (see 'symnet derive') rather than computing through nodes")
    values = {}
    for step in d.steps:
        if step.check == "exact" and _is_number(step.value) and step.lhs in dict(d.definitions):
            values.setdefault(step.lhs, step.value)
    point = dict(d.point)
    lines = [f"digraph {_quote(d.name or 'derivation')} {{", "  rankdir=LR;",
             '  node [fontname="Helvetica", shape=ellipse];', '  edge [fontname="Helvetica", fontsize=10];']
    targets = [t for t, _ in d.definitions]
    target_names = {_name(t) for t in targets}
    wrt_names = {_name(w) for w in d.wrt}
    leaves: dict = {}
    for _, expr in d.definitions:
        for s in sorted(_uses(expr), key=_name):
            if _name(s) not in target_names:
                leaves.setdefault(_name(s), s)
    for name, s in leaves.items():
        label = name + (f"\n= {_value(point[s])}" if s in point else "")
        style = ', style=filled, fillcolor="#dde8ff"' if name in wrt_names else ""
        lines.append(f"  {_quote(name)} [shape=box, label={_quote(label)}{style}];")
    for target, expr in d.definitions:
        label = f"{text(target)} = {text(expr)}"
        if target in values:
            label += f"\n= {_value(values[target])}"
        lines.append(f"  {_quote(_name(target))} [label={_quote(label)}];")
    known = {**point, **values}
    partials = {}
    for step in d.steps:  # the local-derivative steps label the edges
        lhs = step.lhs
        if isinstance(lhs, Partial) and not lhs.total:
            partials.setdefault((_name(lhs.num), _name(lhs.den)), step)
    for target, expr in d.definitions:
        for s in sorted(_uses(expr), key=_name):
            step = partials.get((_name(target), _name(s)))
            label = ""
            if step is not None:
                label = f"{text(step.lhs)} = {text(step.value)}"
                at = step.value.xreplace(known) if known else None
                if at is not None and _is_number(at) and not _is_number(step.value):
                    from .engine import _simplified  # nsimplify alone rounds 1e−300 to 0

                    label += f"\n= {_value(_simplified(at))}"
            lines.append(f"  {_quote(_name(s))} -> {_quote(_name(target))}"
                         + (f" [label={_quote(label)}]" if label else "") + ";")
    lines.append("}")
    return "\n".join(dict.fromkeys(lines)) + "\n"


def _uses(expr: sp.Expr) -> set:
    """Symbols and indexed families an assignment reads (not its summation indices)."""
    indexed = expr.atoms(sp.Indexed)
    index_symbols = {i for x in indexed for i in x.free_symbols if i not in {x.base.label}} - \
        {x for x in indexed}
    labels = {x.base.label for x in indexed}
    plain = {s for s in expr.free_symbols if isinstance(s, sp.Symbol)
             and s not in labels and s not in index_symbols and not s.is_integer}
    return plain | {x.base for x in indexed}


def check_output(path: str | os.PathLike) -> tuple[Path, str, str | None]:
    """``(path, format, dot)`` for a graph to be written to ``path``: its suffix's format and, for .svg and .png,
    Graphviz's ``dot`` program (None for .dot and .gv). Raises :class:`SymnetError` for an unknown suffix, a missing
    folder or a missing Graphviz, so that the command line can say so before it derives (session 46: ``symnet graph
    mse-sigmoid -o mse.svg`` derived for 13 s on a loaded machine, then said that ``dot`` was missing)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if not fmt:  # a name without a suffix (/dev/full, a folder's 'out/'): was "cannot write a graph as '.'"
        raise SymnetError(f"cannot write a graph to {str(path)!r}: its name has no suffix; use .dot, .svg or .png")
    if fmt not in ("dot", "gv", "svg", "png"):
        raise SymnetError(f"cannot write a graph as '.{fmt}': use .dot, .svg or .png")
    if not path.parent.exists():
        raise SymnetError(f"the folder {path.parent} does not exist")
    if fmt in ("dot", "gv"):
        return path, fmt, None
    dot = shutil.which("dot")
    if dot is None:
        raise SymnetError(f"Graphviz's 'dot' program was not found, so no .{fmt} can be made: "
                          "install Graphviz (e.g. apt-get install graphviz) or write a .dot file")
    return path, fmt, dot


def write_graph(d: Derivation, path: str | os.PathLike) -> Path:
    """Write the graph to ``path`` (.dot, .gv, .svg or .png), atomically.

    Raises :class:`SymnetError` for an unknown suffix, a missing folder, a missing or
    failing Graphviz (for .svg and .png), or a derivation without a graph (see :func:`to_dot`).
    """
    path, fmt, dot = check_output(path)
    source = to_dot(d)
    if dot is None:
        data = source.encode()
    else:
        run = subprocess.run([dot, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=120)
        if run.returncode != 0:
            raise SymnetError(f"Graphviz failed: {run.stderr.decode(errors='replace').strip()[:300]}")
        data = run.stdout
    write_atomically(path, lambda f: f.write(data), "the graph")
    return path
