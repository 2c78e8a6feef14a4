"""``symnet.verify``: the worst error in ULPs of every output, dtype and backend against mpmath.

For each output of a formula (its value and each gradient), each dtype and each backend: the
generated function is run at random and extreme points (:func:`symnet.verify.spec.extremes`,
both sides of every Piecewise boundary, around each point where an output or a sum of the
formula crosses 0 or only touches it, where it cancels: :func:`crossing_points`, and where a quotient of two
inputs is near 1: :func:`ratio_points`), and each result is compared with the exact value
(the output's formula in mpmath at 50 digits, raised to 100, 300, 1200, 2400 where the formula as
written cancels in mpmath too). A max/min's comparisons are made there too, at 50 digits, not in the
dtype: where its arguments only round to the same float (√x and 1 at x = 1 + 2⁻⁵²) the exact value is the
larger argument's derivative (½ there), and only at an exact tie the mean of both arguments' derivatives
(torch.maximum's rule, :func:`symnet.rules.tie_split`; the mean of the one-sided derivatives where they
exist: 1 for max(x, x + y) at y = 0). Beside it, the same figure for torch autograd of the formula as
written (each function through the registry's torch reference) and for torch's built-in
function where there is one.

ULPs. The error of a result ``got`` is ``|got − true| / ulp(true)``, with ``true`` rounded to the
dtype (through float64: a double rounding for float32, at most half a float32 ULP off) and
``ulp`` its spacing there. Where the true result is 0 or subnormal the error is in units of the
dtype's smallest subnormal (an absolute floor) and is shown apart ("sub"): the bound holds where
the true result is a normal number. A NaN or infinity where the true result is not one (or of the
other sign) is a mismatch, shown as such, and always fails. Points where the formula is not a
real number (outside its domain, or a limit mpmath cannot take, inf − inf) are skipped and
counted; so are the rare ones where no two precisions agreed ("unresolved").
"""
from __future__ import annotations

import importlib
import math
import os
import warnings
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from ..errors import DomainError, SymnetError
from ..progress import SILENT, check_setting, progress as progress_line
from .budget import Budget, VerifyTimeoutError
from .evaluate import NotEvaluable, references as references_at, torch_value
from .spec import BOUNDS, Spec, extremes, spec_for, sweep

HALF = ("float16", "bfloat16", "half", "bf16", "fp16")  # refused with why (run in float32, rounded once)

__all__ = ["Cell", "Report", "verify", "measure_points", "classify", "crossing_points", "points_of", "ratio_points"]

IMPLEMENTATIONS = ("symnet numpy", "symnet triton", "torch autograd", "torch built-in")


@dataclass
class Cell:
    """The worst error of one implementation, for one output and dtype."""

    output: str
    dtype: str
    implementation: str
    worst_ulp: float = 0.0  # where the true result is normal
    worst_at: str = ""
    worst_sub: float = 0.0  # where it is 0 or subnormal, in smallest-subnormal units
    sub_at: str = ""
    mismatches: int = 0  # NaN or inf where the true result is not that
    mismatch_at: str = ""
    points: int = 0
    note: str = ""  # why there is no figure ("not measurable in the interpreter: ...")
    held: bool = True  # held to the bound (False: Triton under TRITON_INTERPRET=1, shown with *)

    @property
    def measured(self) -> bool:
        return not self.note

    def passed(self, bound: float) -> bool:
        return self.measured and self.mismatches == 0 and self.worst_ulp <= bound

    def text(self, bound: float | None = None) -> str:
        """The table's figure: the worst ULPs, or ``NaN×k``/``inf×k`` where k results are NaN/inf and the
        true value is not; with ``bound``, a worst figure past it is shown beside the count too
        (``inf×2, 6.5e+15``), since two overflows must not hide a cancellation elsewhere."""
        if not self.measured:
            return "n/m"
        star = "" if self.held else "*"
        if self.mismatches:
            past = f", {_num(self.worst_ulp)}" if bound is not None and self.worst_ulp > bound else ""
            return f"{self.mismatch_at.split(':')[0]}×{self.mismatches}{past}{star}"
        return _num(self.worst_ulp) + star


def _num(v: float) -> str:
    return "0" if v == 0 else (f"{v:.2f}" if v < 10 else (f"{v:.0f}" if v < 1e5 else f"{v:.1e}"))


def _sub_steps(v: float) -> str:
    """An error in smallest-subnormal units: past float64's range (an error over 8.9e−16 in float64) "> 1.8e+308", not inf."""
    return "> 1.8e+308" if math.isinf(v) else _num(v)


@dataclass
class Report:
    """The measured table of one formula; ``passed`` when every symnet cell measured is within bound."""

    formula: str
    bounds: dict
    cells: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # dtype → points without a true value (NaN in mpmath)
    unresolved: dict = field(default_factory=dict)  # dtype → points no precision resolved
    notes: list = field(default_factory=list)

    def cell(self, output: str, dtype: str, implementation: str) -> Cell | None:
        return next((c for c in self.cells if (c.output, c.dtype, c.implementation) == (output, dtype, implementation)),
                    None)

    @property
    def failures(self) -> list:
        """The symnet cells past the bound, and those with no figure (n/m: nothing was measured, no
        point in the domain, or the backend could not run): "pass" is said only of a measurement."""
        return [c for c in self.cells if c.implementation.startswith("symnet") and c.held
                and not c.passed(self.bounds[c.dtype])]

    @property
    def passed(self) -> bool:
        return not self.failures

    def table(self) -> str:
        impls = [i for i in IMPLEMENTATIONS if any(c.implementation == i for c in self.cells)]
        head = ["output", "dtype", "bound"] + impls + ["result"]
        rows = [head]
        keys = []
        for c in self.cells:
            if (c.output, c.dtype) not in keys:
                keys.append((c.output, c.dtype))
        for out, dtype in keys:
            row = [out, dtype, f"≤ {_num(self.bounds[dtype])}"]
            ok = True
            for i in impls:
                c = self.cell(out, dtype, i)
                row.append("" if c is None else c.text(self.bounds[dtype]))
                if c is not None and i.startswith("symnet") and c.held and not c.passed(self.bounds[dtype]):
                    ok = False if c.measured else (None if ok is not False else False)
            row.append({True: "pass", False: "FAIL", None: "NOT MEASURED"}[ok])
            rows.append(row)
        widths = [max(len(r[k]) for r in rows) for k in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def details(self) -> str:
        lines = []
        for c in self.cells:
            if not c.measured:
                lines.append(f"  {c.implementation}, {c.output}, {c.dtype}: {c.note}")
                continue
            if c.mismatches:
                lines.append(f"  {c.implementation}, {c.output}, {c.dtype}: {c.mismatches} NaN/inf mismatch(es), "
                             f"e.g. {c.mismatch_at}")
            if c.worst_ulp > self.bounds[c.dtype] or c.implementation.startswith("symnet"):
                if c.worst_at:
                    lines.append(f"  {c.implementation}, {c.output}, {c.dtype}: worst {_num(c.worst_ulp)} ULP at "
                                 f"{c.worst_at}" + (f"; true 0/subnormal: {_sub_steps(c.worst_sub)} subnormal steps at "
                                                    f"{c.sub_at}" if c.worst_sub else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        n = {d: max((c.points for c in self.cells if c.dtype == d), default=0) for d in self.bounds}
        parts = [f"Accuracy of {self.formula}: worst error in ULPs against mpmath (50 digits, more where the "
                 "formula cancels), where the true result is a normal number",
                 "", self.table(), "",
                 "points: " + ", ".join(f"{d}: {n[d]} measured, {self.skipped.get(d, 0)} without a true value, "
                                        f"{self.unresolved.get(d, 0)} unresolved" for d in n),
                 "without a true value: mpmath gives NaN there (outside the domain, or ∞/∞, ∞ − ∞, 0·∞ at an "
                 "infinite input, as softsign(±∞) = ±∞/∞), so the point is left out; unresolved: no precision up to "
                 "2400 digits settled the true value.",
                 "NaN×k / inf×k: k points where the result is NaN / infinite and the true value is not (a figure "
                 "after it: the worst ULPs elsewhere, where past the bound); n/m: not measurable (below).", "Worst points:", self.details()]
        parts += self.notes
        past = [c for c in self.failures if c.measured]
        unmeasured = [c for c in self.failures if not c.measured]
        if past:
            parts.append(f"{len(past)} symnet figure(s) past the bound")
        if unmeasured:
            parts.append(f"{len(unmeasured)} symnet figure(s) not measured (n/m): no bound is shown to hold there")
        return "\n".join(p for p in parts if p is not None).rstrip() + "\n"


def classify(got: float, true, dtype: str) -> tuple[str, float]:
    """("normal"|"sub"|"mismatch"|"ok", ULPs) of one result against the exact value ``true`` (mpf)."""
    t = float(true) if abs(true) < mpmath.mpf("1e400") else math.copysign(math.inf, float(true))
    with np.errstate(over="ignore"):
        td = np.dtype(dtype).type(t)
    if math.isnan(got):
        return "mismatch", math.inf
    if math.isinf(td):
        return ("ok", 0.0) if got == td else ("mismatch", math.inf)
    if math.isinf(got):
        return "mismatch", math.inf
    fi = np.finfo(dtype)
    err = float(abs(mpmath.mpf(got) - true))
    if abs(td) >= fi.tiny:
        with np.errstate(over="ignore"):
            step = float(np.spacing(np.abs(td)))
        if math.isinf(step):  # the largest finite number: the step below it
            step = float(np.spacing(np.nextafter(np.abs(td), td.dtype.type(0))))
        return "normal", err / step
    return "sub", err / float(fi.smallest_subnormal)


def _boundaries(expr: sp.Expr) -> list[tuple[sp.Symbol, float]]:
    """(variable, value) where a condition of a Piecewise in ``expr`` on one variable switches."""
    found = []
    for pw in expr.atoms(sp.Piecewise):
        for _, cond in pw.args:
            for rel in cond.atoms(sp.core.relational.Relational):
                diff = rel.lhs - rel.rhs
                syms = diff.free_symbols
                if len(syms) != 1:
                    continue
                s = next(iter(syms))
                try:
                    poly = sp.Poly(diff, s)
                except sp.PolynomialError:
                    continue
                if poly.degree() == 1:
                    a, b = poly.all_coeffs()
                    found.append((s, float(-b / a)))
    return found


def measure_points(variables, dtype: str, n: int = 60, seed: int = 0, full_sweep: bool | int = False,
                   boundaries=(), others=(0.0, 1.0, 0.3, -1.5, 0.7, 2.5), ranges=()) -> np.ndarray:
    """Points (one row each, a column per variable) in ``dtype``: the extremes, both sides of each
    boundary (``(index of variable or None for all, value)``), ``n`` random values (log-uniform
    magnitudes 1e−8…1e8 of both signs, and uniform in ±5), with ``full_sweep`` the log-spaced sweep (True: 4
    magnitudes a decade; a whole number k ≥ 1: k a decade)
    of the dtype's finite range. One variable sweeps while the others take the values ``others``;
    ``ranges`` (one (lo, hi) or (None, None) per variable) keeps a variable inside its range."""
    typ = np.dtype(dtype).type
    rng = np.random.default_rng(seed)
    values = list(extremes(dtype))
    if full_sweep:
        values += sweep(dtype) if full_sweep is True else sweep(dtype, int(full_sweep))
    values += list(np.concatenate([rng.choice([-1, 1], n // 2) * 10 ** rng.uniform(-8, 8, n // 2),
                                   rng.uniform(-5, 5, n - n // 2)]))
    k = len(variables)
    per_var: list[list[float]] = [list(values) for _ in range(k)]
    for i, (lo, hi) in enumerate(ranges or ()):
        if lo is not None:
            per_var[i] = [v for v in per_var[i] if lo <= v <= hi] + _spread(lo, hi)
    for index, b in boundaries:
        bd = typ(b)
        near = [float(bd), float(np.nextafter(bd, typ(math.inf))), float(np.nextafter(bd, typ(-math.inf)))]
        for i in range(k) if index is None else [index]:
            per_var[i] += near
    rows = []
    if k == 1:
        rows = [(v,) for v in per_var[0]]
    else:
        for i in range(k):
            for j, v in enumerate(per_var[i]):
                rows.append(tuple(v if q == i else _inside(others[(j + q) % len(others)], (ranges or {}) and ranges[q])
                                  for q in range(k)))
        rows += [(v,) * k for v in values if all(any(v == w for w in pv) for pv in per_var)]
        for _ in range(n):
            rows.append(tuple(float(rng.choice(per_var[q])) for q in range(k)))
    with np.errstate(over="ignore"):
        arr = np.array(rows, dtype=np.float64).astype(dtype) if rows else np.zeros((0, k), dtype)
    return np.unique(arr, axis=0) if len(arr) else arr


def _inside(v: float, rng) -> float:
    """``v`` moved into the range ``rng`` ((lo, hi), or empty/(None, None) for any value); a range open at
    one end (a variance's [0, ∞)) takes ``v`` mirrored at its finite end (−1.5 → 1.5)."""
    if not rng or rng[0] is None:
        return v
    lo, hi = rng
    if lo <= v <= hi:
        return v
    if math.isinf(lo) or math.isinf(hi):
        return lo + (lo - v) if v < lo else hi - (v - hi)
    return lo + (hi - lo) * (abs(v) % 1.0)


def _spread(lo: float, hi: float) -> list[float]:
    """Seven points across the range [lo, hi]: evenly spaced where both ends are finite, else the finite end and
    points 1e−30 … 1e30 beyond it (a range open at one end: a variance's [0, ∞))."""
    if math.isfinite(lo) and math.isfinite(hi):
        return list(np.linspace(lo, hi, 7))
    if math.isinf(lo) and math.isinf(hi):
        return []
    end, way = (lo, 1.0) if math.isfinite(lo) else (hi, -1.0)
    return [end] + [end + way * 10.0 ** e for e in (-30, -3, 0, 1, 3, 30)]


# Significant digits that print a float of each dtype so that it reads back as itself: the worst
# point's "got" and "true" at 9 and 10 digits looked equal for a float64 1.23 ULP apart.
_ROUND_TRIP_DIGITS = {"float64": 17, "float32": 9, "float16": 5, "bfloat16": 4}


def _true_text(true, digits: int) -> str:
    """A reference value as text: ``digits`` significant digits, or, far outside every float
    format (mpmath's exponents are unbounded: GELU-tanh′ at −1.8e308 is about −10^(−1.8e923)), its order
    of magnitude alone, so one line stays one line."""
    if true and mpmath.isfinite(true) and abs(mpmath.log10(abs(true))) > 1000:
        return f"{'-' if true < 0 else ''}10^({mpmath.nstr(mpmath.log10(abs(true)), 3)})"
    return mpmath.nstr(true, digits)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def exact_text(v) -> str:
    """A point's coordinate as the shortest text that reads back as the same number of its dtype:
    6 digits printed x = 1e+05 for the point one step past 1e5 where x² − 1e10 is 2e15 ULP off (at
    1e5 itself it is exact), so the worst point could not be tried again."""
    if isinstance(v, np.floating):
        return str(v).removesuffix(".0")
    return repr(float(v)).removesuffix(".0")


def _where(names, row) -> str:
    return ", ".join(f"{n}={exact_text(v)}" for n, v in zip(names, row))


class _Acc:
    """Accumulates one cell from the results at each point."""

    def __init__(self, cell: Cell, names):
        self.cell, self.names = cell, names

    def add(self, got: float, true, row) -> None:
        kind, ulps = classify(got, true, self.cell.dtype)
        c = self.cell
        c.points += 1
        if kind == "mismatch":
            c.mismatches += 1
            if not c.mismatch_at:
                c.mismatch_at = f"{'NaN' if math.isnan(got) else 'inf'}: got {got:.6g}, true {_true_text(true, 8)} " \
                                f"at {_where(self.names, row)}"
        elif kind == "normal" and ulps > c.worst_ulp:
            digits = _ROUND_TRIP_DIGITS.get(c.dtype, 17)  # got as the float it is; true 3 digits further
            c.worst_ulp, c.worst_at = ulps, (f"{_where(self.names, row)} (got {got:.{digits}g}, "
                                             f"true {_true_text(true, digits + 3)})")
        elif kind == "sub" and ulps > c.worst_sub:
            digits = _ROUND_TRIP_DIGITS.get(c.dtype, 17)  # the figure alone overflows (inf) once got is past 8.9e−16
            c.worst_sub, c.sub_at = ulps, (f"{_where(self.names, row)} (got {got:.{digits}g}, "
                                           f"true {_true_text(true, digits + 3)})")


def _as_derivation(d_or_formula, wrt):
    from ..derivation import Derivation
    from ..engine import derive
    from .. import parse
    from ..parsing import parse_symbols

    if isinstance(d_or_formula, Derivation):
        return d_or_formula, spec_for(d_or_formula.title or d_or_formula.name or "derivation")
    if isinstance(d_or_formula, Spec):
        spec = d_or_formula
    elif isinstance(d_or_formula, str):
        spec = spec_for(d_or_formula)
    else:
        # session 19: a list of outputs (as symnet.derive takes) or a SymPy expression was only named
        what = "several outputs" if isinstance(d_or_formula, (list, tuple)) else "a SymPy expression"
        hint = (f"; for {what} pass their Derivation: symnet.verify(symnet.derive(...))"
                if isinstance(d_or_formula, (list, tuple, sp.Basic)) else "")
        raise SymnetError("symnet.verify takes a formula (str) or a Derivation, "
                          f"not {type(d_or_formula).__name__}{hint}")
    expr = parse(spec.formula)  # marked with its argument domains (gaussian_nll(x, t, v): v ≥ 0): measured there only
    variables = parse_symbols(wrt) if isinstance(wrt, str) else wrt
    return derive(expr, variables, title=spec.formula), spec


MAX_POINTS = 100_000  # random points per dtype (n): each is measured against a 50-digit reference


def verify(d_or_formula, wrt=None, *, dtypes=("float32", "float64"), backends=("numpy",), n: int = 60,
           seed: int = 0, max_ulp: dict | float | None = None, full_sweep: bool = False,
           torch: bool = True, timeout: float | None = None, progress: bool | None = None, **unknown) -> Report:
    """Measure the accuracy of a formula's generated code: a :class:`Report` whose table gives, per
    output (value and each gradient) × dtype × backend, the worst error in ULPs against mpmath,
    beside torch autograd of the formula as written and torch's built-in function where there is one.

    ``d_or_formula``: a formula (``"log(exp(a) + exp(b))"``) or a Derivation from :func:`symnet.derive`.
    ``backends``: the NumPy code is measured whatever is named; ``"triton"`` adds its column (under
    ``TRITON_INTERPRET=1`` its figures are shown, not held to the bound).
    ``max_ulp``: the bound (a number for every dtype, or a dict per dtype); default
    :data:`symnet.verify.spec.BOUNDS`. ``str(report)`` is the printed table; ``report.passed``.
    ``timeout``: a wall-clock budget in seconds for the whole measurement (deriving, generating,
    the 50-digit references, every backend); None or 0 (the default here): none. The command line
    (``symnet verify FORMULA``) passes ``--timeout``, 120 s by default.
    ``progress``: a progress line on stderr saying what is measured (:func:`symnet.progress.progress`: None shows
    it where someone watches, True always, False never), as ``symnet.derive``'s.

    Raises:
        ParseError: the formula or ``wrt`` does not parse.
        SymnetError: an unknown dtype or backend (``dtypes``, ``backends``: a name, a NumPy dtype, a sequence of
            them, or None for the default), ``n`` not a whole number in [0, :data:`MAX_POINTS`], ``seed`` not a
            whole number ≥ 0, or a derivation that cannot be generated.
        VerifyTimeoutError: (a LimitError) the budget ran out; the message names what was being
            measured, and its ``partial`` is the Report of the dtypes measured in full before
            (marked partial, naming those not measured), or None where none was.
            LimitError also for a negative or nan ``timeout``.
        TypeError: a keyword verify does not have; the command line's spelling (``backend=``, ``points=``,
            ``dtype=``, ``time_limit=``) is answered with the Python one (``backends=``, ``n=``, ``dtypes=``,
            ``timeout=``).
    """
    if unknown:
        raise TypeError(_unknown_keywords(unknown))
    dtypes = _names(dtypes, ("float32", "float64"), "dtypes")
    backends = _names(backends, ("numpy",), "backends")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:  # NumPy's own error came late
        raise SymnetError(f"seed must be a whole number ≥ 0, not {seed!r}")
    check_setting(progress)
    named = d_or_formula if isinstance(d_or_formula, str) else getattr(d_or_formula, "title", None)
    state: dict = {"report": None, "done": []}
    try:
        with Budget(timeout) as budget:
            with progress_line(f"measuring {_short(named, 40) if named else 'a derivation'}", progress) as line:
                return _measure(d_or_formula, wrt, dtypes, backends, n, seed, max_ulp, full_sweep, torch, budget,
                                state, line=line)
    except VerifyTimeoutError as e:  # outside the budget: its alarm is disarmed here
        e.partial = _partial(state, dtypes)
        raise


# The command line's options (and near misses) under their Python names: a user who read
# `symnet verify --backend triton --points 60` wrote backend="triton" and got Python's bare
# "unexpected keyword argument 'backend'" (h-fresh17's new user).
_KEYWORD_SPELLINGS = {"backend": "backends", "dtype": "dtypes", "points": "n", "n_points": "n",
                      "max_ulps": "max_ulp", "time_limit": "timeout"}
_KEYWORDS = "wrt, dtypes, backends, n, seed, max_ulp, full_sweep, torch, timeout, progress"


def _unknown_keywords(unknown: dict) -> str:
    """One line for keywords verify() lacks: the right spelling where the command line's was used."""
    name = sorted(unknown)[0]
    right = _KEYWORD_SPELLINGS.get(name, "")
    if right:
        return (f"verify() got an unexpected keyword argument {name!r}: in Python it is {right}= "
                f"(symnet.verify(formula, {right}=...)); verify's keywords: {_KEYWORDS}")
    if name == "kernels":
        return ("verify() got an unexpected keyword argument 'kernels': symnet.verify measures one formula; "
                "the committed kernels are checked by the command `symnet verify --kernels DIR`")
    return f"verify() got an unexpected keyword argument {name!r}; verify's keywords: {_KEYWORDS}"


def _names(value, default: tuple, what: str) -> tuple:
    """``dtypes=`` or ``backends=`` as a tuple of names: None is ``default``; one name a tuple of it; a NumPy dtype
    (np.float64, np.dtype("float32")) its name. Anything else but a sequence is refused in one line (None and
    np.float64 raised "TypeError: 'NoneType' object is not iterable" from inside)."""
    def name(v):
        if isinstance(v, str):
            return v
        if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, np.generic)):
            return np.dtype(v).name
        return v  # refused by the caller's check, which names the known ones

    if value is None:
        return default
    if isinstance(value, str) or isinstance(value, np.dtype) or isinstance(value, type):
        return (name(value),)
    try:
        return tuple(name(v) for v in value)
    except TypeError:
        raise SymnetError(f"{what} must be a name or a sequence of names, not {value!r}") from None


def _partial(state: dict, dtypes) -> Report | None:
    """What a measurement stopped by its budget had finished (h-fresh11: 150 s spent and nothing
    shown): the cells of every dtype measured in full, the others named as not measured."""
    report, done = state["report"], state["done"]
    if report is None or not done:
        return None
    report.cells = [c for c in report.cells if c.dtype in done]
    report.bounds = {dt: b for dt, b in report.bounds.items() if dt in done}
    missing = [dt for dt in dtypes if dt not in done]
    report.notes.append(f"PARTIAL: the time budget ran out; not measured: {', '.join(missing)} "
                        "(every output and implementation there)")
    return report


def verify_replayed(d_or_formula, replay: dict, *, torch: bool = True, timeout: float | None = None,
                    references: dict | None = None) -> Report:
    """:func:`verify` of Triton results computed elsewhere (a GPU: ``benchmarks/accuracy.py --dump-triton``):
    ``replay`` is {dtype: (points, outputs)}, the points one row each (a column per input, in the kernel's
    order) and the Triton kernel's outputs there (a column per output, in the kernel's order), or a string
    saying why there are none. The Report measures, at exactly those points and against the same mpmath
    references, the NumPy code and torch here and the replayed Triton outputs. ``references``: a dict the mpmath references are kept in (and
    taken from), {(output index, point): reference}, for another measurement at the same points."""
    state: dict = {"report": None, "done": []}
    with Budget(timeout) as budget:
        return _measure(d_or_formula, None, tuple(replay), ("numpy", "triton"), 0, 0, None, False, torch, budget,
                        state, replay, references)


def _check_replayed(replay: tuple, inputs: int, outputs: int, dt: str) -> None:
    """Refuse replayed points and outputs that are not a row a point and a column an input (output) of the kernel,
    real numbers (before, outputs with more rows than points were measured against the wrong points, a second column
    of points ignored, complex points read as their real part)."""
    for what, a, columns in (("points", replay[0], inputs), ("outputs", replay[1], outputs)):
        if isinstance(a, str) and what == "outputs":
            continue
        a = np.asarray(a)
        rows = len(np.asarray(replay[0])) if what == "outputs" else (a.shape[0] if a.ndim else -1)
        if a.dtype.kind not in "fiu" or a.shape != (rows, columns):
            raise SymnetError(f"replayed {what} in {dt}: an array of {a.dtype} and shape {a.shape}, not real numbers "
                              f"of shape ({rows if rows >= 0 else 'points'}, {columns}) (a row a point, a column "
                              f"{'an input' if what == 'points' else 'an output'} of the kernel)")


def _measure(d_or_formula, wrt, dtypes, backends, n, seed, max_ulp, full_sweep, torch, budget,
             state: dict, replay: dict | None = None, references: dict | None = None, line=SILENT) -> Report:
    from ..codegen import compile as compile_

    # one name as a string is that name (dtypes="float64" was read letter by letter: "unknown dtype 'f'");
    # a name given twice is measured once
    dtypes = tuple(dict.fromkeys([dtypes] if isinstance(dtypes, str) else dtypes))
    backends = tuple(dict.fromkeys([backends] if isinstance(backends, str) else backends))
    for dt in dtypes:
        if dt in HALF:  # (was "unknown dtype 'float16'; available: float64, float32": session 51's new user)
            raise SymnetError(f"a formula is verified in {' and '.join(BOUNDS)}, not {dt}: the NumPy functions refuse "
                              "half-precision data, and the Triton kernels compute it in float32 and round the "
                              "result once, so the float32 row bounds them (+0.5 ULP of the half type); "
                              "`symnet verify --backend triton` without a formula measures the committed kernels "
                              "in bfloat16")
        if dt not in BOUNDS:
            raise SymnetError(f"unknown dtype {dt!r}; available: {', '.join(BOUNDS)}")
    for b in backends:
        if b not in ("numpy", "triton"):
            raise SymnetError(f"unknown backend {b!r}; available: numpy, triton")
    if not dtypes:
        raise SymnetError("no dtype to measure; available: " + ", ".join(BOUNDS))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= MAX_POINTS:
        # checked here, not only by the command line: verify("x", n=10**9) built 10⁹ points per dtype
        # (8 GB measured) before its time budget was first looked at
        raise SymnetError(f"the number of random points n must be a whole number from 0 to {MAX_POINTS}, not {n!r}")
    bounds = dict(BOUNDS)
    given = max_ulp if isinstance(max_ulp, dict) else ({} if max_ulp is None else {k: max_ulp for k in bounds})
    for key, value in given.items():
        if key not in BOUNDS:
            raise SymnetError(f"max_ulp names an unknown dtype {key!r}; available: {', '.join(BOUNDS)}")
        if isinstance(value, (bool, str, bytes)):  # True was a bound of 1 ULP, "3" read with float()
            raise SymnetError(f"max_ulp must be a number of ULPs ≥ 0, not {type(value).__name__} {value!r}"[:200])
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise SymnetError(f"max_ulp must be a number of ULPs ≥ 0, not {value!r}") from None
        if not value >= 0:  # negative, or nan: every figure would fail (or pass) whatever was measured
            raise SymnetError(f"max_ulp must be a number of ULPs ≥ 0, not {value}")
        bounds[key] = value
    named = d_or_formula if isinstance(d_or_formula, str) else getattr(d_or_formula, "formula", None)
    budget.stage(f"{_short(named) if named else 'the formula'}: its derivation")
    line.say("deriving")
    d, spec = _as_derivation(d_or_formula, wrt)
    short = _short(spec.formula)  # a budget message stays one readable line (a 16-variable formula was 1,500 characters)
    budget.stage(f"{short}: its generated NumPy code")
    line.say("generating its NumPy code")
    kernel = compile_(d, "numpy")
    k = kernel.kernel
    symbols = [i.symbol for i in k.inputs]
    names = [i.name for i in k.inputs]
    report = Report(spec.formula, {dt: bounds[dt] for dt in dtypes})
    state["report"] = report
    # spec.arguments: the order torch's built-in takes them (bce_logits(z, t) → z first)
    builtin_order = _builtin_order(k, spec)
    cache: dict = {} if references is None else references
    triton = {b: None for b in backends if b == "triton"}
    written = as_written(spec.formula, k)
    for dt in dtypes:
        budget.stage(f"{short}: the points to measure in {dt}")
        pts, note = points_of(kernel, spec, dt, n, seed, full_sweep, line) if replay is None else \
            (np.asarray(replay[dt][0], dtype=dt), "")
        if replay is not None:  # another machine's arrays: a row a point, a column an input (an output), or refused
            _check_replayed(replay[dt], len(symbols), len(k.outputs), dt)
        if note:
            report.notes.append(f"{dt}: {note}")
        truths, keep = [], []
        skipped = unresolved = 0
        exprs = [o.expr for o in k.outputs]
        for r, row in enumerate(pts):
            env = {s: float(v) for s, v in zip(symbols, row)}
            point = tuple(env.values())
            todo = [q for q in range(len(exprs)) if (q, point) not in cache]
            if todo:
                # the names' text, not the symbols' (SymPy's printer, for every output at every point, was a tenth
                # of the time of a formula with 8 inputs)
                at = [f"{nm}={v:.6g}" for nm, v in zip(names[:6], point)]
                budget.stage(f"{short}: the 50-digit references in {dt} at " + ", ".join(at)
                             + (f", … ({len(point)} variables)" if len(point) > 6 else ""))
                line.say(f"{dt}: 50-digit references, point {r + 1} of {len(pts)}")
                # every output at once: the subtrees they share computed once (evaluate.references)
                for q, ref in zip(todo, references_at([exprs[q] for q in todo], env)):
                    cache[(q, point)] = ref
            vals = [cache[(q, point)][0] for q in range(len(exprs))]
            if any(v is None for v in vals):
                unresolved += 1
            elif any(mpmath.isnan(v) for v in vals):
                skipped += 1
            else:
                truths.append(vals)
                keep.append(r)
        report.skipped[dt], report.unresolved[dt] = skipped, unresolved
        # every point outside the declared domains (bce(p, t) + gaussian_nll(x, y, t − 2): t in [0, 1] and t ≥ 2)
        # read "all 0 were without a true value"
        no_point = ("no point measured: every point was outside the argument domains the formula declares (the "
                    "note below names them): they may not meet" if not skipped + unresolved else
                    f"no point measured: all {skipped + unresolved} were without a true value (NaN in mpmath: "
                    "outside the domain, or ∞/∞ and the like) or unresolved")
        pts = pts[keep]
        results: dict[str, list] = {}
        budget.stage(f"{short}: the generated NumPy code in {dt}")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = kernel(*[np.ascontiguousarray(pts[:, q]) for q in range(len(symbols))]) if len(pts) else None
        results["symnet numpy"] = [np.asarray(o, dtype=np.float64) for o in outs] if outs is not None else None
        if "triton" in backends:
            budget.stage(f"{short}: the generated Triton code in {dt}")
            if replay is None:
                results["symnet triton"] = _triton(d, pts, len(symbols), triton)
            else:  # another machine's outputs at these points: the rows kept here, one array per output
                got = replay[dt][1]
                results["symnet triton"] = got if isinstance(got, str) else \
                    [np.asarray(got[keep, q], dtype=np.float64) for q in range(got.shape[1])]
        if torch:
            budget.stage(f"{short}: torch autograd in {dt}")
            line.say(f"{dt}: torch autograd")
            results["torch autograd"] = _torch_autograd(k, pts, symbols, dt, None, written)
            if spec.torch_builtin is not None and builtin_order:
                budget.stage(f"{short}: torch's built-in in {dt}")
                results["torch built-in"] = _torch_autograd(k, pts, symbols, dt, (spec.torch_builtin, builtin_order))
        for q, o in enumerate(k.outputs):
            for impl in IMPLEMENTATIONS:
                if impl not in results:
                    continue
                cell = Cell(o.name, dt, impl)
                report.cells.append(cell)
                got = results[impl]
                if isinstance(got, str):
                    cell.note = got
                    continue
                if not len(pts):
                    cell.note = no_point
                    continue
                if got is None or got[q] is None:
                    cell.note = "no result"
                    continue
                acc = _Acc(cell, names)
                for r in range(len(pts)):
                    acc.add(float(got[q][r]), truths[r][q], pts[r])
                if not cell.points:
                    cell.note = no_point
        state["done"].append(dt)
    if "triton" in backends and os.environ.get("TRITON_INTERPRET") == "1" and any(
            c.implementation == "symnet triton" and c.measured for c in report.cells):  # it ran
        report.notes.append("* symnet triton ran under TRITON_INTERPRET=1 (the CPU interpreter, which rounds some "
                            "float32 operations through bfloat16 and has no libdevice): its figures are shown, "
                            "not held to the bound.")
        for c in report.cells:
            if c.implementation != "symnet triton" or not c.measured:
                continue
            c.held = False
            ref = report.cell(c.output, c.dtype, "symnet numpy")
            worse = c.mismatches > (ref.mismatches if ref else 0) or (ref is not None and ref.measured and
                                                                     c.worst_ulp > 16 * max(ref.worst_ulp, 1.0))
            if worse:
                report.notes.append(f"  symnet triton, {c.output}, {c.dtype}: worse than the NumPy code at the same "
                                    "points; not measurable in the interpreter (possibly its bfloat16 rounding), "
                                    "to be measured on a GPU")
    return report


def _builtin_order(k, spec):
    """The kernel's input symbols in the order torch's built-in takes them (spec.arguments:
    bce_logits(z, t) → z first), or None."""
    by_name = {i.name: i.symbol for i in k.inputs}
    order = [by_name.get(a) for a in spec.arguments] if spec.arguments else None
    return None if not order or any(s is None for s in order) else order


_FAR = (1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e4)  # magnitudes (both signs) of the one variable far from the others


def _exp_groups(exprs, symbols) -> list:
    """The groups of variables (indices) whose exponentials a sum of the formula adds (a softmax's or a
    log-sum-exp's logits: e^a0 + e^a1 + e^a2 + e^a3), each group once."""
    index = {s: q for q, s in enumerate(symbols)}
    groups = []
    for node in _distinct_nodes(exprs):
        if not isinstance(node, sp.Add):
            continue
        members = []
        for term in node.args:
            for factor in sp.Mul.make_args(term):
                if isinstance(factor, sp.exp) and len(factor.args[0].free_symbols) == 1:
                    q = index.get(next(iter(factor.args[0].free_symbols)))
                    if q is not None and q not in members:
                        members.append(q)
        if len(members) >= 2 and sorted(members) not in groups:
            groups.append(sorted(members))
    return groups


_NEAR_BASES = (0.3, 1.0, -1.5, 1e3)  # where a difference of two inputs is taken near 0 (:func:`difference_points`)
_NEAR_OFFSETS = (1e-6, 1e-10, 1e-13)  # its relative distances from 0, both signs: between _OFFSETS and one ULP


def _distinct_nodes(exprs):
    """The distinct subexpressions of ``exprs``, each once, in the order ``sp.preorder_traversal`` first meets them:
    a node met again (a formula's derivatives share most of it) is not entered again. preorder_traversal visits a
    shared subexpression once per occurrence: a formula nested 12 deep with 87 distinct nodes was 6.9 s of CPU."""
    from ..codegen.rewrite import _distinct_preorder

    return _distinct_preorder(sp.Tuple(*exprs))


def _difference_pairs(exprs, symbols) -> list:
    """(i, j, r) for each sum of the formula of two inputs alone, a·x_i + b·x_j (p − t, x + 2y), once: it vanishes
    at x_j = r·x_i, r = −a/b."""
    index = {s: q for q, s in enumerate(symbols)}
    pairs = []
    for node in _distinct_nodes(exprs):
        if not isinstance(node, sp.Add) or len(node.args) != 2:
            continue
        parts = [t.as_coeff_Mul() for t in node.args]
        if all(c.is_Number and c != 0 and v in index for c, v in parts):
            (a, u), (b, w) = parts
            pair = (index[u], index[w], float(-a / b)) if index[u] < index[w] else \
                (index[w], index[u], float(-b / a))
            if pair[0] != pair[1] and pair not in pairs:
                pairs.append(pair)
    return pairs


def difference_points(symbols, exprs, ranges=()) -> list:
    """Rows where a difference of two inputs of the formula (:func:`_difference_pairs`) nearly vanishes: x_i at
    :data:`_NEAR_BASES`, x_j = r·x_i·(1 ± δ), δ in :data:`_NEAR_OFFSETS`, the other variables 1. Session 32
    (h-review32): a loss (p − t)²/… cancels where |p − t| is 1e−10 of p; the crossing search puts points 1e−4 and
    1e−8 away and one ULP away, and the random points never come nearer than about 1e−3."""
    k = len(symbols)
    inside = [(lambda v, q=q: _inside(v, ranges[q] if ranges else None)) for q in range(k)]
    rows = []
    for i, j, r in _difference_pairs(exprs, symbols)[:6]:
        for v in _NEAR_BASES:
            for d in _NEAR_OFFSETS:
                for s in (1.0, -1.0):
                    at = {i: v, j: r * v * (1 + s * d)}
                    rows.append(tuple(inside[q](at.get(q, 1.0)) for q in range(k)))
    return rows


# where a quotient of two inputs' like forms is taken near 1 (:func:`ratio_points`): tiny, in (0, 1), near 1
# from below (1 − x small: (1 − p)/(1 − q)), negative and huge; its relative distances from 1 span float32's
# (1e−4, 1e−6: ~800 and ~8 float32 ULPs) and float64's (1e−12: ~4500 ULPs), both signs, and 1 itself (a touching
# zero). Three offsets, not four: 54 rows a pair cost `symnet verify "x/y - y/x"` 18 % more CPU, 42 rows ~8 %
_RATIO_BASES = (1e-30, 1e-3, 0.3, 0.999, -2.5, 1e30)
_RATIO_OFFSETS = (1e-4, 1e-6, 1e-12)
_RATIO_PAIRS = 2  # pairs measured (a pair gives 42 rows)


def _one_input(expr, index):
    """The index of the one input ``expr`` depends on (p, 1 − p, 2·q), else None."""
    free = expr.free_symbols
    return index.get(next(iter(free))) if len(free) == 1 else None


def _alike(a, b, u, w) -> bool:
    """Whether a(u), written with w for u, is b(w) (1 − p and 1 − q): the two are equal where u = w."""
    return sp.expand(a.subs(u, w) - b) == 0


def _ratio_pairs(exprs, symbols) -> list:
    """(i, j) for each quotient of the formula N(x_i)/D(x_j) with N and D one form (p/q, (1 − p)/(1 − q)) and each
    difference of logs c·log N(x_i) − c·log D(x_j), once: the quotient is 1 and its log 0 at x_i = x_j, where a
    sum of such terms (the written Bernoulli KL p·log(p/q) + (1 − p)·log((1 − p)/(1 − q))) has a double root that
    only touches 0: no sign change for the crossing search, and no a·x + b·y for :func:`_difference_pairs`."""
    index = {s: q for q, s in enumerate(symbols)}
    pairs = []
    for node in _distinct_nodes(exprs):
        parts = None
        if isinstance(node, sp.Mul):
            den = [f.base ** -f.exp for f in node.args if isinstance(f, sp.Pow) and f.exp.is_negative]
            num = [f for f in node.args if not (isinstance(f, sp.Pow) and f.exp.is_negative)]
            if den and num:
                parts = (sp.Mul(*num).as_coeff_Mul()[1], sp.Mul(*den).as_coeff_Mul()[1])
        elif isinstance(node, sp.Add) and len(node.args) == 2:
            (a, u), (b, w) = (t.as_coeff_Mul() for t in node.args)
            if a == -b and isinstance(u, sp.log) and isinstance(w, sp.log):
                parts = (u.args[0], w.args[0])
        if parts is None:
            continue
        i, j = (_one_input(e, index) for e in parts)
        if i is None or j is None or i == j or not _alike(parts[0], parts[1], symbols[i], symbols[j]):
            continue
        pair = (min(i, j), max(i, j))
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def ratio_points(symbols, exprs, ranges=()) -> list:
    """Rows where a quotient of the formula is near 1 (:func:`_ratio_pairs`): x_i at :data:`_RATIO_BASES`, x_j = x_i
    and x_i·(1 ± δ), δ in :data:`_RATIO_OFFSETS`, the other variables 1. Session 39 (h-verify39): the written
    Bernoulli KL was 5.1e6 ULP off in float32 near p = q (its double root) while verify passed it at 0.50 ULP."""
    k = len(symbols)
    inside = [(lambda v, q=q: _inside(v, ranges[q] if ranges else None)) for q in range(k)]
    rows = []
    for i, j in _ratio_pairs(exprs, symbols)[:_RATIO_PAIRS]:
        for v in _RATIO_BASES:
            for w in [v] + [v * (1 + s * d) for d in _RATIO_OFFSETS for s in (1.0, -1.0)]:
                at = {i: v, j: w}
                rows.append(tuple(inside[q](at.get(q, 1.0)) for q in range(k)))
    return rows


def structured_points(symbols, exprs, ranges=()) -> list:
    """Rows where one variable is far from the others, which are equal (0): the softmax of logits (0, x, 0, 0)
    puts its mass on one class, and a sum of 1 + e^−x cancels there. Where the formula sums the exponentials of
    some variables (:func:`_exp_groups`: logits), also each logit far with the other variables (targets, weights)
    one-hot — a single 1, the rest 0 — or all 1: a written cross-entropy −Σ tᵢ·log softmax(a)ᵢ with a one-hot
    target on the far logit is 1 − p there, the case that was 5.6e3 ULP at a = (0, 10, 0, 0) (session 27), and
    random points (targets of 0.3, −1.5, 2.5 …) never take it."""
    k = len(symbols)
    inside = [(lambda v, q=q: _inside(v, ranges[q] if ranges else None)) for q in range(k)]
    xs = [s * v for v in _FAR for s in (1.0, -1.0)]
    rows = []
    for i in range(k):
        rows += [tuple(inside[q](x if q == i else 0.0) for q in range(k)) for x in xs]
    for group in _exp_groups(exprs, symbols):
        weights = [q for q in range(k) if q not in group]
        patterns = [{j: 1.0} for j in weights] + ([{j: 1.0 for j in weights}] if len(weights) > 1 else [])
        for i in group:
            for pattern in patterns:
                rows += [tuple(inside[q](x if q == i else pattern.get(q, 0.0)) for q in range(k)) for x in xs]
    return rows


def points_of(kernel, spec: Spec, dtype: str, n: int = 60, seed: int = 0, full_sweep: bool = False, line=SILENT):
    """(points, note): the points ``symnet verify`` measures a compiled formula at in ``dtype`` (and ``symnet derive
    --stable`` looks for hazards at: the same ones, so that the two never disagree): the extremes,
    both sides of every Piecewise boundary (and the registry entry's own), ``n`` random points, and
    the points at and around each crossing of 0 of an output or a sum (:func:`crossing_points`; its
    ``note`` says where that search was cut short, "" where it was not), and the rows of
    :func:`structured_points` (one variable far, the others 0; a softmax's logit far with one-hot targets), of
    :func:`difference_points` (a difference of two inputs 1e−6 … 1e−13 of them from 0) and of :func:`ratio_points`
    (a quotient of two inputs of one form near 1: p/q, (1 − p)/(1 − q))."""
    k = kernel.kernel
    symbols = [i.symbol for i in k.inputs]
    order = _builtin_order(k, spec)
    bounds_at = [(None if len(symbols) == 1 else symbols.index(s), v) for s, v in
                 {bv for o in k.outputs for bv in _boundaries(o.expr)}]
    if spec.boundaries and order:
        bounds_at += [(symbols.index(order[0]), b) for b in spec.boundaries]
    ranges = [spec.ranges.get(spec.arguments[order.index(s)], (None, None)) if order else (None, None)
              for s in symbols]
    for check in k.domains:  # an input the formula passes to gaussian_nll's var: only v ≥ 0 is measured
        if check.expr in symbols:
            q = symbols.index(check.expr)
            lo, hi = ranges[q] if ranges[q][0] is not None else (-math.inf, math.inf)
            ranges[q] = (max(lo, check.low), min(hi, check.high))
    ranges = ranges if any(r[0] is not None for r in ranges) else ()
    pts = measure_points(symbols, dtype, n, seed, full_sweep, bounds_at, spec.others, ranges)
    extra, note = crossing_points(_evaluators(kernel, symbols, [o.expr for o in k.outputs]), symbols, dtype,
                                  spec.others, ranges, line=line)
    more, more_note = _float32_range_crossings(kernel, symbols, dtype, spec.others, ranges, line)
    extra += more
    note = "; ".join(n for n in (note, more_note) if n)
    extra += structured_points(symbols, [o.expr for o in k.outputs], ranges)
    extra += difference_points(symbols, [o.expr for o in k.outputs], ranges)
    extra += ratio_points(symbols, [o.expr for o in k.outputs], ranges)
    if extra:
        with np.errstate(over="ignore"):
            more = np.array(extra, dtype=np.float64).astype(dtype).reshape(-1, len(symbols))
        pts = np.unique(np.concatenate([pts.reshape(-1, len(symbols)), more]), axis=0)
    outside = _outside_domains(k.domains, symbols, pts, kernel)
    if outside.any():  # an argument that is an expression (gaussian_nll(x, t, v − 1)): its rows are left out
        names = ", ".join(dict.fromkeys(f"{c.function}'s {c.argument} = {c.shown}" for c in k.domains))
        left = (f"{int(outside.sum())} points outside the argument domains the formula declares ({names}) were "
                "not measured: the generated code refuses them (DomainError)")
        note = f"{note}; {left}" if note else left
        pts = pts[~outside]
    return pts, note


def _outside_domains(checks, symbols, pts, kernel=None) -> np.ndarray:
    """Which rows of ``pts`` (one column per symbol) the generated code refuses: an argument of a registry function
    with a domain (:class:`symnet.derivation.ArgumentCheck`) outside it, evaluated in float64 (NaN passes, as there)
    by NumPy, or torch where NumPy has no rule (erf in gaussian_nll(x, t, erf(v))). Where the compiled ``kernel``
    is given, the rows left are run through it and those it refuses are outside too (:func:`_refused_rows`): the
    generated code decides (a check neither can evaluate, or one they round otherwise at its bound). Before, a
    check NumPy could not evaluate was left out, and the kernel's DomainError stopped symnet verify."""
    outside = np.zeros(len(pts), dtype=bool)
    if not checks or not len(pts):
        return outside
    try:
        import torch
    except ImportError:  # NumPy's functions alone
        torch = None
    env = {s: np.ascontiguousarray(pts[:, q], dtype=np.float64) for q, s in enumerate(symbols)}
    cache: dict = {}
    fns = _np_functions()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for c in checks:
            try:
                v = np.asarray(_memo_value(c.expr, env, cache, torch, fns), dtype=np.float64) * np.ones(len(pts))
            except Exception:  # noqa: BLE001 - NotEvaluable, or torch's reference refused: the generated code decides
                continue
            outside |= (v < c.low) | (v > c.high)
    if kernel is not None:
        outside |= _refused_rows(kernel, pts, np.nonzero(~outside)[0])
    return outside


def _refused_rows(kernel, pts, rows) -> np.ndarray:
    """Which of ``rows`` of ``pts`` the compiled ``kernel`` refuses with a DomainError: the rows run together, and
    a refused set halved until each refused row is found alone (a few calls where few rows are refused)."""
    refused = np.zeros(len(pts), dtype=bool)
    todo = [np.asarray(rows)]
    while todo:
        part = todo.pop()
        if not len(part):
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                kernel(*[np.ascontiguousarray(pts[part, q]) for q in range(pts.shape[1])])
        except DomainError:
            if len(part) == 1:
                refused[part] = True
            else:
                todo += [part[:len(part) // 2], part[len(part) // 2:]]
    return refused


_EXTRA = "pip install torch triton, or symnet's extra: pip install '.[triton]' in its checkout"


def _triton(d, pts, nvars, state):
    """The Triton backend's results, or a string saying why there are none."""
    # a fresh install without the extra: say how to get the column, not "ModuleNotFoundError: No module named 'torch'"
    try:
        import torch
    except ImportError:
        return f"not available: torch is not installed ({_EXTRA})"
    if not torch.cuda.is_available():  # before triton's import, which reads it once
        os.environ.setdefault("TRITON_INTERPRET", "1")
    try:
        importlib.import_module("triton")  # the backend compiles with it
    except ImportError as exc:
        return f"not available: triton cannot be imported ({exc}; {_EXTRA})"
    try:
        from ..codegen import compile as compile_
        if state.get("triton") is None:
            state["triton"] = compile_(d, "triton")
        fn = state["triton"]
        device = "cuda" if torch.cuda.is_available() else "cpu"
        args = [torch.tensor(np.ascontiguousarray(pts[:, q]), device=device) for q in range(nvars)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = fn(*args)
        if outs is None or any(o is None for o in outs):
            return "not measurable in the interpreter (the kernel returned None: libdevice)"
        return [o.detach().cpu().double().numpy() for o in outs]
    except SymnetError as exc:
        return f"not available: {exc}"
    except Exception as exc:  # noqa: BLE001 - the interpreter's limits: reported, not raised
        return f"not measurable in the interpreter ({type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''})"


def as_written(text: str, k) -> dict:
    """{value output's name: the formula as ``text`` writes it} for torch's column, where the kernel has one value output
    and ``text`` parses to it: SymPy's tree unevaluated (exp(a)·exp(b), log(exp(x)) and 2·(x + y) as written, not
    SymPy's exp(a)·exp(b), x and 2x + 2y; x/y a division), the same function once evaluated; else {} (a Derivation
    not from a formula: its output as derived)."""
    from ..parsing import parse_expression

    values = [o for o in k.outputs if o.wrt is None]
    if len(values) != 1 or not isinstance(text, str):
        return {}
    try:
        with sp.evaluate(False):
            tree = parse_expression(text)
        # x + y − y: SymPy's x has no y, so the kernel takes no y and torch's column has no values for it (KeyError
        # 'y' from torch_value: h-hyp31's search): the output as derived
        same = _evaluated(tree) == values[0].expr and tree.free_symbols <= values[0].expr.free_symbols
    except Exception:  # noqa: BLE001 - not a formula (a curriculum title), or one SymPy cannot rebuild: as derived
        return {}
    return {values[0].name: tree} if same else {}


def _evaluated(e):
    """``e`` rebuilt bottom up with SymPy's evaluation on (what the parser gives for the same text)."""
    return e if not e.args else e.func(*[_evaluated(a) for a in e.args])


def _torch_autograd(k, pts, symbols, dtype, builtin, written=None):
    """torch's results for every output of the kernel: the value outputs from the formula as
    written (``written``: :func:`as_written`'s trees, else the output as derived) or the built-in, the gradients by
    autograd; a string where torch cannot."""
    try:
        import torch
    except ImportError:
        return "torch is not installed (pip install torch, for this column)"
    tdtype = getattr(torch, dtype)
    tensors = {s: torch.tensor(pts[:, q], dtype=tdtype, requires_grad=True) for q, s in enumerate(symbols)}
    values = [o for o in k.outputs if o.wrt is None]
    out: list = [None] * len(k.outputs)
    try:
        for vi, vo in enumerate(values):
            if builtin is not None:
                fn, order = builtin
                y = fn(torch, *[tensors[s] for s in order])
            else:
                y = torch_value((written or {}).get(vo.name, vo.expr), tensors, torch)
            if not torch.is_tensor(y):
                y = torch.full((len(pts),), float(y), dtype=tdtype)
            y = y.expand(len(pts)) if y.dim() == 0 else y
            out[k.outputs.index(vo)] = y.detach().double().numpy()
            grads = torch.autograd.grad(y.sum(), list(tensors.values()), allow_unused=True,
                                        retain_graph=False) if y.requires_grad else [None] * len(tensors)
            g_of = dict(zip(tensors, grads))
            # the gradient outputs of this value: describe() lists them row by row after the values
            grad_outs = [o for o in k.outputs if o.wrt is not None]
            per_row = len(grad_outs) // max(len(values), 1)
            for go in grad_outs[vi * per_row:(vi + 1) * per_row]:
                g = g_of.get(go.wrt)
                out[k.outputs.index(go)] = np.zeros(len(pts)) if g is None else g.double().numpy()
    except NotEvaluable as exc:
        return f"not available: {exc}"
    except (RuntimeError, TypeError, ValueError) as exc:
        return f"torch refused: {str(exc).splitlines()[0][:80]}"
    return out


# ---------------------------------------------------------------------- points where a sum crosses 0
# A cancellation is narrow: x² − 1e10 loses every digit within a few ULPs of x = 1e5, and a grid of
# extremes and 60 random points (log-uniform over 16 decades) lands there with probability 1e−3, so
# the table read "pass" and --stable "no hazard found" for a formula 1e10 ULP off one step from the
# grid. Cancellation happens where a sum of terms of both signs is near 0, i.e. near a sign change
# of that sum, or of an output (a root, or a pole: 1/(x² − 1e10)): each is found on a dense float64
# grid of the dtype's range, bisected to the float64 crossing, and measured there and around it.
_CROSSING_CAP = 16  # crossings measured per dtype (spread over the variables and the grid)
_OFFSETS = (1e-4, 1e-8)  # relative distances from a crossing, besides its neighbours
_CROSSING_SECONDS = 5.0  # the search's own limit per dtype (a 16-variable formula's sums are many)


def _sums(exprs) -> list:
    """The sums (Add nodes) of ``exprs`` with a free symbol: where each crosses 0, it cancels."""
    found = [n for n in _distinct_nodes(exprs) if isinstance(n, sp.Add) and n.free_symbols]
    return found[:64]


def _np_functions() -> dict:
    # sigmoid, softplus, ndtr (Heaviside, Max and Min in _memo_value) too, so that the crossings
    # found do not depend on whether torch is installed (without it gaussian_nll's sums were not
    # evaluated: other points were measured, and a strict xfail of tests/test_accuracy.py passed)
    from sympy.codegen.cfunctions import expm1, log1p

    from ..functions import sigmoid
    from ..special import ndtr, softplus
    return {sp.exp: np.exp, sp.log: np.log, sp.sin: np.sin, sp.cos: np.cos, sp.tan: np.tan, sp.tanh: np.tanh,
            sp.sinh: np.sinh, sp.cosh: np.cosh, sp.atan: np.arctan, sp.asinh: np.arcsinh, sp.Abs: np.abs,
            sp.sign: np.sign, expm1: np.expm1, log1p: np.log1p,
            sigmoid: lambda x: 0.5 + 0.5 * np.tanh(0.5 * x), softplus: lambda x: np.logaddexp(0.0, x),
            ndtr: lambda x: 0.5 * np.vectorize(math.erfc, otypes=[float])(-np.asarray(x) / math.sqrt(2.0))}


def _memo_value(expr, env, cache, torch, fns):
    """``expr`` in float64 NumPy at the columns ``env`` (symbol → array), each distinct node once
    (``cache``: node → value; the sums of a formula share their subtrees); a node NumPy has no rule
    for through :func:`torch_value` (the registry's torch reference). Only to locate sign changes."""
    if expr in cache:
        return cache[expr]
    if expr.is_Symbol:
        v = env[expr]
    elif expr.is_Number or expr.is_NumberSymbol:
        v = float(expr)
    elif isinstance(expr, sp.UnevaluatedExpr):
        v = _memo_value(expr.args[0], env, cache, torch, fns)
    elif hasattr(expr, "expanded") and isinstance(expr, sp.Function):  # WidenedBase: its sum
        v = _memo_value(expr.expanded, env, cache, torch, fns)
    elif expr.is_Add or expr.is_Mul:
        vals = [_memo_value(a, env, cache, torch, fns) for a in expr.args]
        v = vals[0]
        for w in vals[1:]:
            v = v + w if expr.is_Add else v * w
    elif expr.is_Pow:
        b, e = (_memo_value(a, env, cache, torch, fns) for a in expr.args)
        v = np.sqrt(b) if isinstance(e, float) and e == 0.5 else np.power(b, e)
    elif isinstance(expr, sp.Heaviside):  # H(x, h0): h0 at 0 (½ where not given, as torch_value)
        x = _memo_value(expr.args[0], env, cache, torch, fns)
        v = np.heaviside(x, _memo_value(expr.args[1], env, cache, torch, fns) if len(expr.args) > 1 else 0.5)
    elif isinstance(expr, (sp.Max, sp.Min)):
        vals = [_memo_value(a, env, cache, torch, fns) for a in expr.args]
        v = vals[0]
        for w in vals[1:]:
            v = (np.maximum if isinstance(expr, sp.Max) else np.minimum)(v, w)
    elif type(expr) in fns:
        v = fns[type(expr)](_memo_value(expr.args[0], env, cache, torch, fns))
    elif torch is not None:
        t = torch_value(expr, {s: torch.from_numpy(np.ascontiguousarray(a)) for s, a in env.items()}, torch)
        v = t.detach().double().numpy() if torch.is_tensor(t) else float(t)
    else:
        raise NotEvaluable(f"no NumPy rule for {type(expr).__name__}")
    cache[expr] = v
    return v


def _evaluators(kernel, symbols, exprs):
    """``values(cols, need=None)``: of one float64 column per input, the float64 values of every
    output (the generated code) and every sum of ``exprs`` that can be evaluated, one array each
    (None for those not in ``need``, a set of indices)."""
    sums = _sums(exprs)
    n_out = len(kernel.kernel.outputs)
    fns = _np_functions()
    try:
        import torch
    except ImportError:  # NumPy's functions alone
        torch = None

    def values(cols, need=None):
        m = len(cols[0])
        out: list = [None] * (n_out + len(sums))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if need is None or any(i < n_out for i in need):
                outside = _outside_domains(kernel.kernel.domains, symbols, np.stack(cols, axis=1))
                if outside.any():  # entries the generated code refuses: NaN there (a NaN argument passes)
                    cols = [np.where(outside, np.nan, c) for c in cols]
                try:
                    results = kernel(*cols)
                except DomainError:  # a check NumPy and torch could not evaluate: the generated code decides
                    refused = _refused_rows(kernel, np.stack(cols, axis=1), np.arange(m))
                    cols = [np.where(refused, np.nan, c) for c in cols]
                    results = kernel(*cols)
                out[:n_out] = [np.asarray(o, dtype=np.float64) * np.ones(m) for o in results]
            env = {s: np.ascontiguousarray(c, dtype=np.float64) for s, c in zip(symbols, cols)}
            cache: dict = {}
            for j, e in enumerate(sums):
                if need is not None and n_out + j not in need:
                    continue
                try:
                    out[n_out + j] = np.asarray(_memo_value(e, env, cache, torch, fns), dtype=np.float64) * np.ones(m)
                except Exception:  # noqa: BLE001 - a sum that cannot be evaluated: the outputs still are
                    continue
        return out

    values.width = n_out + len(sums)  # arrays a call returns: crossing_points bounds its memory by them
    return values


def _grid(dtype: str, rng) -> np.ndarray:
    """A dense float64 grid of the dtype's finite range (20 points a decade, both signs, and a fine
    linear grid of ±10), or of ``rng`` (lo, hi)."""
    fi = np.finfo(dtype)
    lo, hi = math.log10(float(fi.tiny)), math.log10(float(fi.max))
    with np.errstate(over="ignore"):
        mags = np.logspace(lo, hi, int((hi - lo) * 20) + 1)
    g = np.concatenate([-mags, [0.0], mags, np.linspace(-10, 10, 2001)])
    if rng and rng[0] is not None:
        a, b = rng
        g = g[(g >= a) & (g <= b)]
        if math.isfinite(a) and math.isfinite(b):
            g = np.concatenate([g, np.linspace(a, b, 2001)])
    return np.unique(g[np.isfinite(g) & (np.abs(g) <= float(fi.max))])


_CORE = 1e30  # the grid's magnitudes 1e−30 … 1e30 are searched at full resolution before its tails are


def _passes(g: np.ndarray) -> list:
    """The indices of the grid ``g`` in the order the search evaluates them, as (indices, what the grid's
    resolution is once they are): every 4th point first, then the points halfway between, then the rest of magnitude
    1/:data:`_CORE` to :data:`_CORE`, then the rest of the tails; so that a search cut by its time limit has searched every
    variable at one resolution (first come was first served: a 4-class cross-entropy's 8 inputs got 2–4
    searched, the others none)."""
    idx = np.arange(len(g))
    rest = idx[1::2]
    core = (np.abs(g[rest]) <= _CORE) & (np.abs(g[rest]) >= 1 / _CORE)
    return [(idx[0::4], "1/4 of its resolution"), (idx[2::4], "1/2 of its resolution"),
            (rest[core], f"full resolution for {1 / _CORE:.0e} ≤ |x| ≤ {_CORE:.0e}, 1/2 beyond"), (rest[~core], "")]


def _spread_pick(found: list, cap: int) -> list:
    """At most ``cap`` of ``found`` ([(variable, crossing)] in the search's order): an equal share for every
    variable (a share a variable does not use goes to the others), each spread over that variable's list
    (small and large crossings)."""
    if len(found) <= cap:
        return found
    by_var: dict = {}
    for item in found:
        by_var.setdefault(item[0], []).append(item)
    share = dict.fromkeys(by_var, 0)
    left = cap
    while left > 0:
        open_ = [v for v in by_var if share[v] < len(by_var[v])]
        if not open_:
            break
        for v in open_:
            if left == 0:
                break
            share[v] += 1
            left -= 1
    picked = []
    for v, items in by_var.items():
        if share[v]:
            picked += [items[int(t)] for t in np.unique(np.linspace(0, len(items) - 1, share[v]).astype(int))]
    return picked


def _names_of(symbols, which) -> str:
    return ", ".join(str(symbols[i]) for i in which)


_DIP_RATIO = 0.5  # a grid point whose |y| is below this share of both neighbours' (same sign): a candidate dip
_DIP_DEPTH = 1e-3  # a dip is a zero it only touches where refining takes |y| below this share of the neighbours'
_DIP_CAP = 4  # dips refined per variable (the deepest)
_DIP_STEPS = 14  # section steps of a dip (each cuts its bracket 8.5-fold: 1e−13 of it after 14)
_DIP_TRIAL = 3  # steps after which a dip not yet _DIP_DEPTH deep is dropped (a minimum of |y| away from 0: x² + 1)


def _dips(i, g, ys) -> list:
    """[i, f, a, lowest, b, |y| there, the neighbours' least |y|] for the deepest local minima of |y| on the grid
    ``g`` of variable ``i`` where y keeps its sign: a double root ((x − 3)², 1 − cos x at 2π) touches 0 there and the
    sign-change search never brackets it; :func:`_deepest` then minimises |y| between the dip's neighbours."""
    out = []
    for f, y in enumerate(ys):
        if y is None or len(y) < 3:
            continue
        a = np.abs(y)
        with np.errstate(invalid="ignore"):
            mid = a[1:-1]
            dip = ((np.sign(y[:-2]) == np.sign(y[1:-1])) & (np.sign(y[2:]) == np.sign(y[1:-1])) & (y[1:-1] != 0)
                   & np.isfinite(y[:-2]) & np.isfinite(y[2:]) & (mid < _DIP_RATIO * a[:-2]) & (mid < _DIP_RATIO * a[2:]))
        for j in np.nonzero(dip)[0] + 1:
            ref = min(a[j - 1], a[j + 1])
            out.append((a[j] / ref, [i, f, g[j - 1], g[j], g[j + 1], a[j], ref]))
    out.sort(key=lambda d: d[0])
    return [d for _, d in out[:_DIP_CAP]]


def _deepest(dips, values, rows_of, deadline) -> list:
    """(variable, point) where each dip's |y| is least: its bracket [a, b] cut at :data:`_SECTIONS` points a call
    and narrowed to the lowest cut's neighbours, :data:`_DIP_STEPS` times at most (all dips in one call a step);
    only those that come within :data:`_DIP_DEPTH` of 0, relatively, are kept."""
    import time

    deep = lambda d: d[5] < _DIP_DEPTH * d[6]  # noqa: E731
    for step in range(_DIP_STEPS):
        if step == _DIP_TRIAL:
            dips = [d for d in dips if deep(d)]
        open_ = [d for d in dips if np.nextafter(d[2], d[4]) != d[4]]
        if not open_ or time.process_time() > deadline:
            break
        cuts = [np.unique(np.concatenate([d[2] + (d[4] - d[2]) * np.linspace(0, 1, _SECTIONS + 2), [d[3]]]))
                for d in open_]
        with np.errstate(all="ignore"):
            got = values(rows_of([(d[0], m) for d, m in zip(open_, cuts)]), {d[1] for d in open_})
        at = 0
        for d, m in zip(open_, cuts):
            y = got[d[1]]
            y = np.full(len(m), np.nan) if y is None else np.abs(y[at:at + len(m)])
            at += len(m)
            if not np.isfinite(y).any():
                continue
            t = int(np.nanargmin(y))
            d[2], d[3], d[4], d[5] = m[max(t - 1, 0)], m[t], m[min(t + 1, len(m) - 1)], y[t]
    return [(d[0], float(d[3])) for d in dips if deep(d)]


_SECTIONS = 16  # points a bracket is cut at per evaluation: it shrinks 17-fold a call (2-fold by bisection)
_GRID_CELLS = 2 ** 27  # float64 values (1 GiB) the grid search may hold: variables × (outputs + sums) × grid points
_GRID_SHARE = 0.6  # of the search's time: past it no finer pass of the grid starts (the rest locates crossings)


def crossing_points(values, symbols, dtype: str, others=(0.0, 1.0, 0.3, -1.5, 0.7, 2.5), ranges=(),
                    seconds: float = None, line=SILENT, grid: str | None = None) -> tuple[list, str]:
    """(rows, note): rows (one value per variable) at and around each point where an output or a sum
    of the formula changes sign, or only touches 0 (:func:`_dips`, :func:`_deepest`): each variable swept on
    :func:`_grid` with the others at fixed values, the sign change located in float64 to adjacent floats, then the crossing rounded to ``dtype``, its neighbours
    either side, and the points :data:`_OFFSETS` away, relatively (at most :data:`_CROSSING_CAP` crossings, or 3
    a variable where there are more variables, an equal share each).

    Every variable is searched at once, in few calls of ``values`` (a call of generated code costs ~20 ms however
    few its points: one grid a call and 80 bisection steps a variable took 5 CPU s for 3 of a 4-class
    cross-entropy's 8 inputs): the grids of all variables together, in three passes of rising resolution
    (:func:`_passes`), then every sign change cut at :data:`_SECTIONS` points a call. The search stops after
    ``seconds`` (default :data:`_CROSSING_SECONDS`); ``note`` then says which variables it cut, and how ("" when
    complete). The seconds are the process's CPU time (:func:`time.process_time`), not the wall clock's: on a
    machine loaded by other work a wall-clock limit found fewer crossings, so what ``symnet verify`` and
    ``derive --stable`` measured depended on the load. ``line``: a progress line's handle (says what is searched).
    ``grid``: the dtype whose range the grid covers (default ``dtype``; :func:`points_of` passes float32's for a
    float64 search's second pass, :func:`_float32_range_crossings`)."""
    import time

    limit = _CROSSING_SECONDS if seconds is None else seconds
    start = time.process_time()
    deadline = start + limit
    typ = np.dtype(dtype).type
    k = len(symbols)
    fixed = [_inside(others[q % len(others)], ranges[q] if ranges else None) for q in range(k)]
    grids = [_grid(grid or dtype, ranges[i] if ranges else None) for i in range(k)]
    cells = getattr(values, "width", 1) * sum(len(g) for g in grids)
    if cells > _GRID_CELLS:
        # one float64 array per variable, output and sum over the variable's grid: 200 inputs' x_i·y_i summed held
        # 1.4 GB after 30 s of it and would have asked for 8.5 GB (session 49); the search is left out, said so
        return [], (f"the search for crossings of 0 (where a sum cancels) was left out: {k} variables' grids × "
                    f"{getattr(values, 'width', 1)} outputs and sums would hold {cells * 8 / 2 ** 30:.1f} GiB "
                    f"(its limit {_GRID_CELLS * 8 / 2 ** 30:g} GiB); they were measured at the random and extreme "
                    "points only")
    orders = [_passes(g) for g in grids]
    ys: list = [None] * k  # per variable: one array per output and sum over its grid (NaN where not evaluated)
    seen = [np.zeros(len(g), dtype=bool) for g in grids]
    cuts = []

    def rows_of(parts):
        """The columns of ``values`` for the points ``parts`` = [(variable, its values)], one block each."""
        return [np.concatenate([xs if q == i else np.full(len(xs), fixed[q]) for i, xs in parts]) for q in range(k)]

    done_passes, per_row = 0, 0.0
    for p in range(len(orders[0]) if k else 0):
        parts = [(i, grids[i][orders[i][p][0]]) for i in range(k)]
        size = sum(len(xs) for _, xs in parts)
        now = time.process_time()
        # a finer pass starts only where it would end within the grid's share of the time (its cost
        # estimated from the passes before), leaving the rest to locate the crossings found
        if now > deadline or (p and now + per_row * size > start + _GRID_SHARE * limit):
            break
        line.say(f"{dtype}: crossings of 0, grid pass {p + 1} of {len(orders[0])} ({k} variable{'s' * (k != 1)})")
        with np.errstate(all="ignore"):
            got = values(rows_of(parts)) if size else []
        at = 0
        for i, xs in parts:
            n_i = len(xs)
            if ys[i] is None and size:
                ys[i] = [None if y is None else np.full(len(grids[i]), np.nan) for y in got]
            for f, y in enumerate(got):
                if y is not None and ys[i][f] is not None:
                    ys[i][f][orders[i][p][0]] = y[at:at + n_i]
            seen[i][orders[i][p][0]] = True
            at += n_i
        done_passes = p + 1
        per_row = (time.process_time() - start) / max(1, sum(int(sn.sum()) for sn in seen))
    if done_passes == 0:
        return [], (f"the search for crossings of 0 (where a sum cancels) stopped after 0 of {k} variables "
                    f"(its time limit of {limit:g} CPU s): {_names_of(symbols, range(k))} were measured at the "
                    "random and extreme points only")
    if done_passes < len(orders[0]) and orders[0][done_passes - 1][1]:
        cuts.append(f"every variable's grid searched at {orders[0][done_passes - 1][1]}")
    found = []  # (variable, crossing)
    brackets = []  # (variable, output or sum, a, b, sign at a)
    dips = []  # (variable, output or sum, a, lowest, b): |y| dips towards 0 between a and b, no sign change
    for i in range(k):
        g = grids[i][seen[i]]
        fn, j = [], []
        for f, y in enumerate(ys[i] or ()):
            if y is None:
                continue
            y = y[seen[i]]
            sg = np.sign(y)
            zero = sg == 0  # a crossing on the grid itself (x − 3 at 3): the ends of each run of zeros
            ends = zero & ~(np.concatenate([[False], zero[:-1]]) & np.concatenate([zero[1:], [False]]))
            found += [(i, float(v)) for v in g[ends][:_CROSSING_CAP]]
            with np.errstate(invalid="ignore"):
                js = np.nonzero((sg[:-1] * sg[1:] < 0) & np.isfinite(y[:-1]) & np.isfinite(y[1:]))[0]
            fn += [(f, float(sg[jj])) for jj in js]
            j += list(js)
        if len(j) > 2 * _CROSSING_CAP:  # sin(x) changes sign at every point of the grid past 1e3: a spread
            keep = np.unique(np.linspace(0, len(j) - 1, 2 * _CROSSING_CAP).astype(int))
            fn, j = [fn[t] for t in keep], [j[t] for t in keep]
        brackets += [[i, f, g[jj], g[jj + 1], sa] for (f, sa), jj in zip(fn, j)]
        dips += _dips(i, g, [y if y is None else y[seen[i]] for y in (ys[i] or ())])
    steps = 0
    while brackets:
        open_ = [b for b in brackets if np.nextafter(b[2], b[3]) != b[3]]
        if not open_:
            break
        if time.process_time() > deadline:
            cuts.append(f"the crossings of {_names_of(symbols, sorted({b[0] for b in open_}))} located to within "
                        f"{max(abs(b[3] - b[2]) / max(abs(b[2]), abs(b[3]), 1e-300) for b in open_):.1g} of them, "
                        "not to adjacent floats")
            break
        steps += 1
        line.say(f"{dtype}: crossings of 0, {len(open_)} located, step {steps}")
        cuts_at = []
        for b in open_:
            a, z = b[2], b[3]
            m = a + (z - a) * (np.arange(1, _SECTIONS + 1) / (_SECTIONS + 1))
            m = np.unique(m[(m > a) & (m < z)]) if a < z else np.unique(m[(m < a) & (m > z)])[::-1]
            if not len(m):
                m = np.array([np.nextafter(a, z)])
            cuts_at.append(m)
        need = sorted({b[1] for b in open_})
        with np.errstate(all="ignore"):
            got = values(rows_of([(b[0], m) for b, m in zip(open_, cuts_at)]), set(need))
        at = 0
        for b, m in zip(open_, cuts_at):
            y = got[b[1]]
            y = np.full(len(m), np.nan) if y is None else y[at:at + len(m)]
            at += len(m)
            other = np.nonzero(np.sign(y) != b[4])[0]  # the first cut past the crossing (NaN and 0 count as past)
            if len(other):
                t = other[0]
                b[2], b[3] = (b[2] if t == 0 else m[t - 1]), m[t]
            else:
                b[2] = m[-1]
    found += _deepest(dips, values, rows_of, deadline)
    for i in range(k):  # per variable, as the search found them
        found += [(i, float(v)) for v in np.unique([b[2] for b in brackets if b[0] == i])]
    found = sorted(found, key=lambda item: item[0])
    found = _spread_pick(found, max(_CROSSING_CAP, 3 * k))
    rows = []
    with np.errstate(over="ignore", invalid="ignore"):
        for i, r in found:
            c = typ(r)
            pts = [c, np.nextafter(c, typ(math.inf)), np.nextafter(c, typ(-math.inf))]
            pts += [typ(r * (1 + s * e)) for e in _OFFSETS for s in (1, -1)]
            for p in pts:
                if np.isfinite(p) and (not ranges or ranges[i][0] is None or ranges[i][0] <= p <= ranges[i][1]):
                    rows.append(tuple(float(p) if q == i else fixed[q] for q in range(k)))
    note = ""
    if cuts:
        note = (f"the search for crossings of 0 (where a sum cancels) was cut by its time limit ({limit:g} CPU s, "
                f"{k} variable{'s' * (k != 1)}): " + "; ".join(cuts))
    return rows, note


# ------------------------------------------------------------------ trig46 (issue 16, session 46, h-trig46: symnet
# verify's float64 crossing search measures the crossings of float32's range too); tested in tests/test_trig46.py

_FLOAT32_RANGE_SECONDS = _CROSSING_SECONDS / 2  # the second pass's own limit (CPU s): a float64 search's whole is 7.5


def _float32_range_crossings(kernel, symbols, dtype: str, others, ranges, line) -> tuple[list, str]:
    """(rows, note) of a second crossing search for a dtype wider than float32 (float64): the grid of float32's range
    (:func:`_grid`), each crossing located in float64 as the first search's and rounded to ``dtype``, with its
    neighbours and the :data:`_OFFSETS` points; ([], "") for float32 and narrower. The first search's grid spans
    float64's range, 12,321 magnitudes, where an oscillating sum changes sign at nearly every point past 1e3: its
    crossings spread over those (16 measured) and left out the few of a moderate x. symnet verify "x*cos(x)" with the
    slope written as cos x − x·sin x passed float64 at 1.36 ULP (measured at crossings from 1e−25 to 1.4e308) while
    the slope was 3.4e13 ULP off at its root 9.5293, which the float32 search, over a grid of 1,521 magnitudes,
    found (59,147 ULP there). The pass's time is its own (:data:`_FLOAT32_RANGE_SECONDS`), so the first search finds
    what it found before; its note, where it was cut, says so beside the first's."""
    if np.finfo(dtype).max <= np.finfo(np.float32).max:
        return [], ""
    rows, note = crossing_points(_evaluators(kernel, symbols, [o.expr for o in kernel.kernel.outputs]), symbols,
                                 dtype, others, ranges, seconds=_FLOAT32_RANGE_SECONDS, line=line, grid="float32")
    return rows, note.replace("the search for crossings of 0", "the search for crossings of 0 in float32's range")
