"""The measured hazard report of ``symnet derive FORMULA --stable`` (issue 16 point 3).

For the generated form of each output (the NumPy code ``symnet.compile`` runs), in float32 and
float64, at a grid of extreme points (each dtype's extremes: 0, ±1e−30, subnormals, ±1, ±20,
±88.7, ±1e4, ±3e38, the largest finite number, ±inf, both sides of every Piecewise boundary,
random points, and the points around each crossing of 0 of an output or a sum: the points
``symnet verify`` measures, :func:`symnet.verify.measure.points_of`), the result is compared with the exact value in mpmath. A hazard is FOUND, never
asserted:

* **overflow**: NaN or ±inf where the true result is a finite number of the dtype (or the wrong
  infinity);
* **underflow**: 0 or a subnormal where the true result is a normal number;
* **cancellation** (lost digits): a finite normal result off by more than the dtype's bound
  (:data:`symnet.verify.spec.BOUNDS`) in ULPs.

An output with none at any point is reported as "no hazard found in" the ranges measured, with
the number of points.

Beside them, every **kink** of the formula (:func:`kinks`): a function applied where it is not
differentiable (relu, |·|, sign, H, max, min, a where() boundary: the registry's kinks). The
derivative there is a convention of the code (relu′(0) = 0 and sign(0) = 0 as in PyTorch, the mean
at a tie of max/min), not a derivative; at a point on each kink the report gives the value the
generated code computes beside the formula's one-sided derivatives (:func:`symnet.onesided.one_sided`,
exact), which say whether the formula has a derivative there at all (relu(x) − relu(−x) = x has
one, 1, where the code's convention gives 0).
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import sympy as sp

from ..errors import DomainError
from .measure import classify, exact_text, points_of
from .spec import BOUNDS, spec_for

__all__ = ["hazards", "hazard_section", "kinks"]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def hazards(d, dtypes=("float32", "float64"), n: int = 60, seed: int = 0, function=None) -> list[dict]:
    """One dict per output × dtype: ``output``, ``meaning``, ``dtype``, ``points`` measured, ``ranges``
    (text), ``found`` (kind → (where, got, true, ULPs): the first point of an overflow or underflow,
    the worst of a cancellation). ``function``: what to measure instead of the generated code (called
    with the input arrays in the kernel's order, returning one array per output); for tests.
    The points are those ``symnet verify`` measures with the same ``n`` and ``seed`` (its default 60),
    so "no hazard found" is never said of an output its table fails."""
    from ..codegen import compile as compile_
    from ..progress import progress
    from .evaluate import references

    with progress("measuring hazards", False) as line:  # derive --stable's line where one is open, else nothing
        return _hazards(d, dtypes, n, seed, function, compile_, references, line)


def _hazards(d, dtypes, n, seed, function, compile_, references, line) -> list[dict]:
    """:func:`hazards`, saying on ``line`` what it measures, as ``symnet verify`` does: ``derive --stable``'s
    line showed only its seconds ("measuring the hazards of … 21 s, 12 of 60 CPU s") for tens of seconds."""
    line.say("generating its NumPy code")
    kernel = compile_(d, "numpy")
    k = kernel.kernel
    symbols = [i.symbol for i in k.inputs]
    names = [i.name for i in k.inputs]
    spec = spec_for(d.title or d.name or "derivation")
    rows = []
    # float32's and float64's points share most values (0, ±1, ±20, ±88.7, the boundaries): each
    # output's exact value at a point is computed once, as `symnet verify` does
    exact: dict = {}
    for dt in dtypes:
        pts, note = points_of(kernel, spec, dt, n, seed, line=line)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = (function or kernel)(*[np.ascontiguousarray(pts[:, q]) for q in range(len(symbols))])
        fi = np.finfo(dt)
        exprs = [o.expr for o in k.outputs]
        for r, row in enumerate(pts):  # every output at a point together: their shared subtrees computed once
            if r % 8 == 0:
                line.say(f"{dt}: 50-digit references, point {r + 1} of {len(pts)}")
            point = tuple(float(v) for v in row)
            todo = [q for q in range(len(exprs)) if (q, point) not in exact]
            if todo:
                for q, ref in zip(todo, references([exprs[q] for q in todo], dict(zip(symbols, point)))):
                    exact[(q, point)] = ref[0]
        for q, o in enumerate(k.outputs):
            found: dict[str, tuple] = {}
            measured = []
            for r, row in enumerate(pts):
                true = exact[(q, tuple(float(v) for v in row))]
                if true is None or mpmath.isnan(true):
                    continue
                measured.append(row)
                got = float(outs[q][r])
                kind, ulps = classify(got, true, dt)
                where = ", ".join(f"{nm}={exact_text(v)}" for nm, v in zip(names, row))
                t = float(true) if abs(true) < mpmath.mpf("1e400") else math.copysign(math.inf, float(true))
                hazard = None
                if kind == "mismatch":
                    hazard = "overflow"
                elif kind == "normal" and (got == 0 or abs(got) < fi.tiny):
                    hazard = "underflow"
                elif kind == "normal" and ulps > BOUNDS[dt]:
                    hazard = "cancellation"
                if hazard and (hazard not in found or (hazard == "cancellation" and ulps > found[hazard][3])):
                    found[hazard] = (where, got, t, ulps)
            ranges = "; ".join(f"{nm} ∈ [{_fmt(min(float(r[i]) for r in measured))}, "
                               f"{_fmt(max(float(r[i]) for r in measured))}]" for i, nm in enumerate(names)) \
                if measured else "no point in the domain"
            rows.append({"output": o.name, "meaning": o.meaning, "dtype": dt, "points": len(measured),
                         "ranges": ranges, "found": found, "note": note})
    return rows


_OTHERS = (sp.Rational(1, 2), sp.Rational(5, 4), sp.Rational(-3, 4), sp.Rational(7, 3), sp.Rational(-2, 5))
MAX_KINKS = 12  # rows of the kink table: a formula with more kinks lists the first ones and says so


def _kinked_nodes(exprs) -> list:
    """The function applications of ``exprs`` that have kinks, each once, in reading order."""
    from ..registry import kink_arguments

    from ..codegen.rewrite import _distinct_preorder

    # each distinct node once (preorder_traversal enters a shared subexpression at each occurrence)
    return [n for n in _distinct_preorder(sp.Tuple(*exprs)) if kink_arguments(n)]


def _on_kink(k: sp.Expr, inputs, shift: int = 0) -> tuple[str, dict | None]:
    """Where ``k`` (an expression that is 0 on a kink) vanishes, as text, and one real point there
    (every input: the first of ``k``'s variables solved for, the others at fixed values, the
    ``shift``-th choice of them), or None where no point is found (an equation SymPy does not solve
    into a finite set)."""
    from ..render import shown

    variables = [s for s in inputs if s in k.free_symbols]
    if not variables:
        return f"{shown(k)} = 0", None
    s, others = variables[0], {v: _OTHERS[(i + shift) % len(_OTHERS)] for i, v in enumerate(inputs)
                               if v != variables[0]}
    try:
        symbolic = sp.solve(k, s)
        roots = sp.solveset(k.xreplace(others), s, sp.S.Reals)
    except (NotImplementedError, ValueError, TypeError):
        symbolic, roots = [], sp.S.EmptySet
    where = (f"{shown(s)} = {shown(symbolic[0])}" if len(symbolic) == 1 else f"{shown(k)} = 0")
    if not isinstance(roots, sp.FiniteSet) or not roots.args:
        return where, None
    root = min(roots.args, key=lambda r: (abs(sp.N(r)), sp.default_sort_key(r)))
    return where, {**others, s: root}


def _convention(node: sp.Expr, point: dict) -> str:
    """The local derivatives the generated code takes for ``node`` on its kink at ``point``: the
    derivation's own rules (:func:`symnet.rules.differentiate`) there, with H(0) = 0 as the code
    computes it (np.heaviside(u, 0), torch's relu′(0) = 0), e.g. "relu′ is taken as 0"; for a
    where() boundary, the branch whose condition holds there."""
    from ..render import shown
    from ..rules import differentiate

    if isinstance(node, sp.Piecewise):
        for value, cond in node.args:
            if cond == sp.true:
                return f"the code takes the last branch, {shown(value)}, there"
            if bool(cond.xreplace(point)):
                return f"the code takes the branch {shown(value)}, whose condition {shown(cond)} holds there"
        return "no branch's condition holds there"
    args = [a for a in node.args if not a.is_number]
    dummies = [sp.Dummy(f"u{i}", real=True) for i in range(len(args))]
    local = node.func(*[dict(zip(args, dummies)).get(a, a) for a in node.args])
    at = {u: a.xreplace(point) for u, a in zip(dummies, args)}
    slopes = []
    for u in dummies:
        slope = differentiate(local, u)[0].replace(
            lambda n: isinstance(n, sp.Heaviside), lambda n: sp.Heaviside(n.args[0], 0))
        slopes.append(sp.simplify(slope.xreplace(at)))
    if len(args) == 1:
        return f"its derivative at {shown(args[0])} = {shown(at[dummies[0]])} is taken as {shown(slopes[0])}, as torch"
    if len(set(slopes)) == 1:
        return f"at the tie each argument's derivative is taken with weight {shown(slopes[0])}, as torch"
    return "at the tie the code takes " + ", ".join(f"∂/∂({shown(a)}) = {shown(v)}" for a, v in zip(args, slopes)) \
        + ", as torch"


def kinks(d, function=None) -> list[dict]:
    """One dict per kinked function application × point × gradient of the formula ``d``: ``node``
    (text), ``where`` (the kink, e.g. "x = 0"), ``convention`` (the code's local derivative there),
    and where a point on the kink is found, ``point`` (text), ``gradient`` (∂f/∂w), ``code`` (the
    generated NumPy code's value in float64), ``left`` and ``right`` (the formula's exact one-sided
    derivatives along w) and ``differentiable``. ``function``: what to run instead of the generated
    code (for tests). At most :data:`MAX_KINKS` kinks are looked at."""
    from ..codegen import compile as compile_
    from ..engine import forward_expressions
    from ..onesided import one_sided
    from ..registry import kink_arguments
    from ..render import shown

    whole = forward_expressions(d)
    nodes = _kinked_nodes(list(whole.values()))
    if not nodes:
        return []
    kernel = compile_(d, "numpy")
    k = kernel.kernel
    symbols = [i.symbol for i in k.inputs]
    of = {f"∂{name(out)}/∂{name(w)}": f for out, f in whole.items() for w in d.wrt for name in (str, shown)}  # ∂f/∂x₀
    rows = []
    for node in nodes:
        for kink in kink_arguments(node):
            if len(rows) >= MAX_KINKS:
                return rows
            # the other inputs' values are tried in turn until the generated code takes the point: the first
            # choice may lie outside an argument's domain (bce's t = 5/4 was refused with a DomainError, which
            # stopped `symnet derive "bce(p, t)" --stable` after the derivation, printing nothing of it)
            for shift in range(len(_OTHERS)):
                where, point = _on_kink(kink, symbols, shift)
                row = {"node": shown(node), "where": where}
                try:
                    cols = None if point is None else [np.array([float(point[s])]) for s in symbols]
                except TypeError:  # a complex root
                    cols = None
                if cols is None:
                    break
                try:
                    with warnings.catch_warnings(), np.errstate(all="ignore"):
                        warnings.simplefilter("ignore")
                        outs = (function or kernel)(*cols)
                    break
                except DomainError:
                    row["refused"], cols = True, None
            if cols is None:
                rows.append({**row, "convention": ""})
                continue
            row["convention"] = _convention(node, point)
            row["point"] = ", ".join(f"{shown(s)} = {shown(point[s])}" for s in symbols)
            before = len(rows)
            for q, o in enumerate(k.outputs):
                # a variable the kink does not depend on moves along it, never across: its derivative
                # there is the regular one, not the code's convention (and is not judged: bounded time)
                if getattr(o, "wrt", None) is None or o.meaning not in of or \
                        getattr(o.wrt, "name", None) not in {v.name for v in kink.free_symbols}:
                    continue
                code = float(np.asarray(outs[q]).ravel()[0])
                try:
                    side = one_sided(of[o.meaning], o.wrt, point)
                except (TypeError, ValueError):  # a side leaves the domain: bce's p = e^−100, p − 1e−40 < 0 under log
                    rows.append({**row, "gradient": o.meaning, "code": code, "differentiable": None})
                    continue
                rows.append({**row, "gradient": o.meaning, "code": code,
                             "left": side.left, "right": side.right, "differentiable": side.differentiable})
            if len(rows) == before:  # no gradient along the kink's variables was asked for: still named
                rows.append({**row, "convention": ""})
    return rows


def _kink_text(r: dict) -> tuple[str, str]:
    """The "hazard found" and "point" cells of a kink's row."""
    from ..render import shown

    head = f"kink: {r['node']} is not differentiable where {r['where']}"
    if "gradient" not in r and "point" in r:
        return head + " (no gradient asked for crosses it)", r["point"]
    if "gradient" not in r and r.get("refused"):
        return head + " (every point on it solved for lies outside the formula's domain: not measured)", ""
    if "gradient" not in r:
        return head + " (no point on it solved for: the code's value there is its convention)", ""
    code = f"the code gives {r['gradient']} = {r['code']:.6g} ({r['convention']})"
    if r["differentiable"] is None:
        verdict = "its one-sided derivatives there were not computed (one side leaves the formula's domain)"
    elif r["differentiable"]:
        verdict = (f"the formula is differentiable there: {shown(r['right'])} from both sides"
                   + ("" if float(r["right"]) == r["code"] else "; the code's value differs"))
    else:
        verdict = (f"the formula has no derivative there (from the left {shown(r['left'])}, from the right "
                   f"{shown(r['right'])}): the code's value is a convention")
    return f"{head}; {code}; {verdict}", r["point"]


def hazard_section(d):
    """The measured hazards as a Section (a table: output, dtype, what was found, where)."""
    from ..derivation import Section

    rows = hazards(d)
    table = [("output", "dtype", "measured", "hazard found", "first/worst point")]
    kinked = kinks(d)
    for r in kinked:
        found, where = _kink_text(r)
        table.append((r.get("gradient", "all"), "both", "1 point" if where else "", found, where))
    # an output with a kink row is not said to have "no hazard" (relu(x) − relu(−x): the kink row said the
    # code's ∂f/∂x differs at x = 0, and the row below it "no hazard found in x ∈ [-inf, inf]")
    with_kinks = {r.get("gradient", "all") for r in kinked}
    for r in rows:
        if not r["found"]:
            clear = (f"no overflow, underflow or cancellation found in {r['ranges']} (its kinks: above)"
                     if r["meaning"] in with_kinks or "all" in with_kinks else f"no hazard found in {r['ranges']}")
            table.append((r["meaning"], r["dtype"], f"{r['points']} points", clear, ""))
        for kind, (where, got, true, ulps) in r["found"].items():
            what = {"overflow": f"overflow or NaN: {got:.4g} where the true value is {true:.6g} (a term overflowed, "
                                "or 0/0, inf − inf, 0·inf)",
                    "underflow": f"underflow or cancellation to 0: {got:.4g} where the true value is {true:.6g} (a "
                                 "term underflowed, overflowed in a divisor, or cancelled)",
                    "cancellation": f"cancellation: {ulps:.3g} ULP off ({_true_and_got(true, got)})"}[kind]
            table.append((r["meaning"], r["dtype"], f"{r['points']} points", what, where))
    text = ("The generated code of each output, run in float32 and float64 at the extreme points of each dtype "
            "(0, ±1e−30, subnormals, ±1, ±20, ±88.7, ±1e4, ±3e38, the largest number, ±inf, both sides of "
            "each Piecewise boundary), random ones, and those at and around each point where an output or a sum of "
            "the formula crosses 0 (where it cancels; searched with the other variables fixed), against mpmath "
            "— the points symnet verify measures: overflow = NaN/inf where the true value "
            f"is finite; underflow = 0 or subnormal where it is normal; cancellation = more than "
            f"{BOUNDS['float32']:g} (float32) / {BOUNDS['float64']:g} (float64) ULPs off. Measured, not claimed: "
            "points outside the formula's domain are left out, ranges not listed were not measured, and a range "
            "listed is the span of the points measured, not every number in it.")
    if len(kinked) >= MAX_KINKS:
        text += f" Only the first {MAX_KINKS} kinks are listed."
    for note in dict.fromkeys(f"{r['dtype']}: {r['note']}" for r in rows if r.get("note")):
        text += " " + note[0].upper() + note[1:] + "."
    return Section("Measured hazards of the generated code", (), text, tuple(table))


def _true_and_got(true: float, got: float) -> str:
    """"true 0.49, got 0.49" read the same for a result 4.56 ULP off (session 33's 2-layer net): 6 digits where those
    differ, else each as the shortest text that reads back as it (true rounded to the nearest double: "true 0.49, got
    0.49000000000000027")."""
    if f"{true:.6g}" != f"{got:.6g}":
        return f"true {true:.6g}, got {got:.6g}"
    return f"true {true!r}, got {got!r}"
