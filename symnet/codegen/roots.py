"""The root-series rule's analysis: a function of one variable whose written form cancels at a
simple real root r (silu′ = σ(x)·(1 + x·σ(−x)) at r ≈ −1.2785: terms of size ~1 whose sum goes
through 0, each term's rounding amplified by Σ|terms|/|result|, unbounded as x → r) is evaluated
near r as d·P(d) with d = ((x − r1) − r2) − r3 and P the Taylor polynomial of f(x)/(x − r) about r.

* r1 = float32(r), r2 = r − r1 rounded to a multiple of ulp64(r) (28 bits), r3 = r − r1 − r2 (a
  float64): x − r1 is exact by Sterbenz (x within a factor 2 of r1) in float32 and in float64; in
  float64 (x − r1) − r2 is exact too (both multiples of ulp64(r), below 2^29 of them), so d is rounded
  once, relative to itself, even at the float nearest the root. In float32 x − r1 is 0 or at least
  ulp32(r) > 2|r2|: no cancellation against r2 (rounded to float32) either.
* P's coefficients: the Taylor coefficients of f about r, from f at Chebyshev points of a disc well
  inside the radius of convergence (:func:`taylor`, 120 digits; mpmath.taylor differentiates once per
  order, 5 s for degree 65); its degree is the smallest whose truncation over the window is below
  2^−60 of |P| there (checked against f at 50 digits before the rule fires).
* The window |x − r| < w is measured: the written form (printed by the NumPy backend's printer, σ
  pairs shared as the kernel does) and the series, each run in float64 and float32 on a dense grid
  around r against mpmath; w (a multiple of 1/32, or a power of 2 where another root or a kink of f is
  nearer than 1/16: the window stays within half the distance to another root, short of a kink) is the one whose worst error, the series inside and
  the written form outside, in units of :data:`OUTSIDE_ULP`, is least; w stays under 0.45 of the
  series' radius of convergence (estimated from the coefficients) and where Horner's own terms
  cancel by at most :data:`HORNER_CONDITION`.
* The rule fires only where the cancellation is real: a sum in f goes through 0 at r while its terms
  do not (log(x + 1e−8) at 1 − 1e−8 is a root of log, not of a sum), and at the float64 nearest r the
  written form is more than :data:`CANCELLING_ULP` ULP off (sin at π, x·σ(x) at 0 are not).
* Cost: about 0.3–1.2 s per firing output on this 2-core box (cached per expression); an output of
  one variable where it does not fire, one 161-point scan for sign changes at 20 digits.

:class:`RootSeries` is the series node: its value (SymPy, mpmath, ``evalf``) is the exact function
it stands for, so every exactness check of the stable forms sees the function itself; only the code
printers lower it to d·P(d) in Horner form, and the series is proved against mpmath separately.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from ..errors import TimeLimitError

# _NOT_AN_ANSWER: the cached analyses below (cancelling_roots, removable_fit, half_power_fit) answer "no rewrite" for a
# form they cannot evaluate (a broad except). A time limit (symnet.compile's time_limit, SIGPROF) striking inside one
# was answered so too, and cached: the limit's error came again 50 ms later, but a later compile in the same process,
# without a limit, then generated the output without its series (session 51: cos(tanh(celu(mish(x)))) + sin(x)'s
# gradient). The limit's error passes through them, uncached.

__all__ = ["RootSeries", "RootFit", "cancelling_roots", "vanishes_at", "taylor", "DIGITS", "OUTSIDE_ULP", "CANCELLING_ULP"]

DIGITS = 60  # findroot and the Taylor coefficients
SPAN = 8.0  # roots are looked for in [−SPAN, SPAN] (where activations bend; beyond, terms do not meet)
GRID = 161  # sign changes on this many points
OUTSIDE_ULP = {"float64": 3.0, "float32": 6.0}  # the written form's error allowed outside the window
CANCELLING_ULP = 1e3  # at the float64 nearest the root: the written form's error that is cancellation
TRUNCATION = 2.0 ** -60  # P's truncation over the window, relative to |P|
MAX_DEGREE = 64
MAX_WINDOW = 1.5
MIN_WINDOW = 2.0 ** -10  # a window is a multiple of 1/32, or a power of 2 down to this where 1/32 does not fit
HORNER_CONDITION = 8.0  # a bound on the search; the window is then chosen by measurement


class SeriesBase(sp.Function):
    """A node (d, f, c0, …, cn) whose value is f, printed by the code generators as
    d·(c0 + d·(c1 + … + d·cn)) (Horner). Its value everywhere (``evalf``, mpmath, SymPy's
    rewrites) is f's: the series is an evaluation strategy, proved against f at 50 digits."""

    @classmethod
    def eval(cls, *args):
        return None

    @property
    def shift(self):
        return self.args[0]

    @property
    def exact(self):
        return self.args[1]

    @property
    def coefficients(self):
        return self.args[2:]

    def _eval_evalf(self, prec):
        return self.exact._eval_evalf(prec)

    def _eval_rewrite(self, rule, args, **hints):  # rewritten, it is the function it stands for
        return args[1]

    def _eval_is_real(self):
        return self.exact.is_real

    def _mpmathcode(self, printer):  # parenthesised: x^(−1/2)·series is x^(−1/2)·(a − b), not x^(−1/2)·a − b
        return "(%s)" % printer._print(self.exact)

    def _symnet_text(self, printer):
        return "series_%d(%s)" % (len(self.coefficients) - 1, printer._print(self.shift))

    def _latex(self, printer, exp=None):
        body = r"P_{%d}\left(%s\right)" % (len(self.coefficients) - 1, printer._print(self.shift))
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


class RootSeries(SeriesBase):
    """RootSeries(d, f, c0, …, cn): the value f, printed by the code generators as
    d·(c0 + d·(c1 + … + d·cn)) (Horner), d = x − r as the rule writes it. Its value everywhere
    (``evalf``, mpmath, SymPy's rewrites) is f's: the series is an evaluation strategy, proved
    against f at 50 digits when the rule makes it (see :func:`cancelling_roots`)."""


@dataclass(frozen=True)
class RootFit:
    """One cancelling root of f: r (to DIGITS), its pieces, the window and P's coefficients."""

    root: mpmath.mpf
    pieces: tuple[float, float, float]
    window: float
    coefficients: tuple  # mpf, c0 = f′(r)
    worst_outside: dict  # dtype → the written form's worst error outside the window, measured
    worst_inside: dict  # dtype → the written form's worst error inside it (what the series removes)
    reach: float = 0.0  # past the window, |x − r| below which the written form was measured beyond OUTSIDE_ULP
    # (0: nowhere, inf: to the end of the measured span, REACH_SPAN); the root-series rule widens it there


def _mp(expr, x):
    from ..verify.evaluate import mp_value

    def f(v):
        return mp_value(expr, {x: mpmath.mpf(v)})
    return f


def _pieces(r) -> tuple[float, float, float]:
    ulp = math.ldexp(1.0, math.frexp(float(r))[1] - 53)  # float64's spacing at r
    with mpmath.workdps(DIGITS):
        r1 = float(np.float32(float(r)))
        r2 = float(mpmath.nint((r - r1) / ulp)) * ulp  # on x's float64 grid: (x − r1) − r2 exact
        r3 = float(r - r1 - r2)
    return r1, r2, r3


def _float_probe(written, x):
    """``written`` (the form the kernel computes: σ pairs shared) printed by the NumPy backend's
    expression printer after CSE, as a function of a float32 or float64 array (the kernel's own
    module emitter is not used: it imports the rules, which import this module)."""
    from ..registry import NUMPY_HELPERS, numpy_helper_closure
    from .backends.numpy.printer import PRINTER_HELPERS, NumpyExpressionPrinter
    from .doubleword import generated_last

    y = sp.Symbol("x", real=True)
    e = written.xreplace({x: y})
    assignments, (result,) = sp.cse([e], symbols=sp.numbered_symbols("_t", exclude=[y]), order="none")
    helpers: set = set()
    printer = NumpyExpressionPrinter(helpers, {y: "x"}, dtype="_dtype")
    lines = [f"    {t.name} = {printer.doprint(a)}" for t, a in assignments] + [f"    return {printer.doprint(result)}"]
    helpers |= numpy_helper_closure(helpers)
    # (its generated functions read as a module's are: then released, the table bounded)
    texts = generated_last({**PRINTER_HELPERS, **NUMPY_HELPERS}, helpers, "numpy")
    source = "\n\n".join(["import numpy as np"] + texts +
                          ["def probe(x):\n    _dtype = x.dtype\n" + "\n".join(lines)])
    namespace: dict = {}
    exec(compile(source, "<symnet root-series probe>", "exec"), namespace)  # noqa: S102 - generated here
    fn = namespace["probe"]

    def run(points):
        import warnings
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = np.broadcast_to(fn(points), points.shape)
        return np.asarray(out, dtype=np.float64)
    return run


def _ulps(got: np.ndarray, want: list, dtype) -> np.ndarray:
    """|got − want| in ULPs of ``dtype``; 0 where the truth is beyond ``dtype``'s range (no form can
    hold it: silu′(x)·1e300 in float32) or undefined in both, inf where ``got`` is NaN and the
    truth a number (NaN errors made every window's worst error NaN: no window, no rule)."""
    w = np.array([float(v) for v in want])
    with np.errstate(all="ignore"):
        spacing = np.spacing(np.abs(w.astype(dtype))).astype(np.float64)
        spacing = np.maximum(spacing, float(np.finfo(dtype).smallest_subnormal))
        err = np.abs(got - w) / spacing
        beyond = np.isinf(w.astype(dtype)) & np.isfinite(w)
    err = np.where(np.isnan(err) & ~np.isnan(w), np.inf, err)
    return np.where(np.isnan(w) | beyond | (got == w), 0.0, err)


def _sign_changes(f):
    """The brackets (a, b) of the grid where f changes sign or is 0 at a, an isolated 0: a grid point where f is 0
    beside another where it is 0 lies on an interval where f is 0 (a select's constant branch: hardsigmoid′ beyond
    ±3), no simple root, and a series there has nothing to remove. (Each was searched as a root: 133 of them, every
    one walking the whole derivative for a sum that cancels, 75% of compiling hardsigmoid(softshrink(hardswish(x))).)"""
    xs = np.linspace(-SPAN, SPAN, GRID)
    with mpmath.workdps(20):
        vals = [f(v) for v in xs]
    out = []
    for i, (a, b, fa, fb) in enumerate(zip(xs, xs[1:], vals, vals[1:])):
        if not (mpmath.isfinite(fa) and mpmath.isfinite(fb)):
            continue
        if fa == 0 and (fb == 0 or (i > 0 and vals[i - 1] == 0)):
            continue
        if fa == 0 or fa * fb < 0:
            out.append((float(a), float(b)))
    return out


def vanishes_at(node, x, r) -> bool:
    """``node`` is a sum in x that goes through 0 at r while its terms do not: Σ|terms| ≫ |sum| there
    (at DIGITS digits, the sum below 10^(20 − DIGITS) of Σ|terms|). Raises nothing."""
    from ..verify.evaluate import mp_value

    if not (isinstance(node, sp.Add) and node.has(x)):
        return False
    with mpmath.workdps(DIGITS):
        try:
            terms = [abs(mp_value(t, {x: r})) for t in node.args]
            total = abs(mp_value(node, {x: r}))
        except Exception:  # noqa: BLE001 - a term mpmath cannot evaluate: not this sum
            return False
        size = mpmath.fsum(terms)
        return bool(mpmath.isfinite(size) and size > 0 and total < size * mpmath.mpf(10) ** (20 - DIGITS))


@functools.lru_cache(maxsize=64)
def _sums_of(expr, x) -> tuple:
    """The distinct sums in ``expr`` that hold x, in preorder (a subtree met again is not walked again: a
    derivative's selects share most of theirs, and preorder_traversal went through 14,650 nodes of one)."""
    seen, out, stack = set(), [], [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, sp.Add) and node.has(x):
            out.append(node)
        stack.extend(reversed(node.args))
    return tuple(out)


def _a_sum_cancels(expr, x, r) -> bool:
    """Some sum in ``expr`` goes through 0 at r while its terms do not (:func:`vanishes_at`); a sum of a select's
    branch not taken at r does not count (log-constant-factor's log c + log r, taken only where |log r| ≥ 2|log c|:
    seen as the root's sum at log(2·softplus(x))'s root, the series' widened reach crossed log(4 − 2e^x)'s pole)."""
    return any(vanishes_at(node, x, r) for node in _sums_of(_taken_at(expr, x, r), x))


def _taken_at(expr, x, r):
    """``expr`` with each select whose conditions are decided at r (mpmath) replaced by the branch taken there;
    one not decided is kept whole. Raises nothing."""
    from ..verify.evaluate import mp_value

    def taken(node):
        for e, c in node.args:
            try:
                with mpmath.workdps(DIGITS):
                    hit = bool(mp_value(c, {x: r}))
            except Exception:  # noqa: BLE001 - a condition mpmath cannot decide: the select whole
                return node
            if hit:
                return e
        return node

    if not expr.has(sp.Piecewise):
        return expr
    try:
        return expr.replace(lambda n: isinstance(n, sp.Piecewise), taken)
    except Exception:  # noqa: BLE001
        return expr


def _increasing(name: str):
    """float → float of an increasing function defined on every real, by its SymPy class name; None if not one."""
    def sigmoid(t):
        return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))

    def softplus(t):
        return max(t, 0.0) + math.log1p(math.exp(-abs(t)))

    return {"exp": math.exp, "expm1": math.expm1, "tanh": math.tanh, "atan": math.atan, "erf": math.erf,
            "sinh": math.sinh, "sigmoid": sigmoid, "softplus": softplus}.get(name)


def _interval(u, x, lo: float, hi: float):
    """(a, b) with a ≤ u(t) ≤ b for every t in [lo, hi], from monotone functions, sums and products of x and numbers
    (each bound widened by 1e−12 of its size against rounding); None where ``u`` holds anything else."""
    def widened(a, b):
        if math.isnan(a) or math.isnan(b):
            raise ValueError
        pad = 1e-12 * max((abs(v) for v in (a, b) if math.isfinite(v)), default=0.0) + 1e-300
        return a - pad, b + pad

    def walk(e):
        if e == x:
            return lo, hi
        if e.is_Number:
            v = float(e)
            return widened(v, v)
        if e.is_Add:
            a, b = 0.0, 0.0
            for t in e.args:
                ta, tb = walk(t)
                a, b = widened(a + ta, b + tb)
            return a, b
        if e.is_Mul:
            a, b = 1.0, 1.0
            for t in e.args:
                ta, tb = walk(t)
                corners = [a * ta, a * tb, b * ta, b * tb]
                a, b = widened(min(corners), max(corners))
            return a, b
        f = _increasing(type(e).__name__) if len(e.args) == 1 else None
        if f is None:
            raise ValueError
        a, b = walk(e.args[0])

        def at(t):
            try:
                return f(t)
            except OverflowError:  # exp, expm1, sinh past 709.8: +inf above, −inf below (sinh)
                return math.inf if t > 0 else -math.inf

        return widened(at(a), at(b))

    try:
        return walk(u)
    except (ValueError, TypeError, OverflowError):
        return None


def _keeps_sign(u, x, lo: float, hi: float) -> bool:
    """u(t) ≠ 0 and defined for every t in [lo, hi], by :func:`_interval` (the overflow guards' kink functions,
    σ(·) − 1.8e308 and softplus(·) − 708.4 of a smooth argument: the scan of :func:`_kink_distance` then stepped each
    1,200 times at 30 digits per root, ~1 s a root for cos(tanh(celu(mish(x)))) + sin(x); session 52, slow52)."""
    bound = _interval(u, x, lo, hi)
    return bound is not None and (bound[0] > 0 or bound[1] < 0)


def _kink_distance(expr, x, r) -> float:
    """The distance from r to the nearest point within 1.25·MAX_WINDOW of it where a function of
    ``expr`` switches branch (the argument of relu, |·|, sign, H, max/min's differences, a Piecewise's
    boundaries: :func:`symnet.rules.kinks_of`), to 1e−12; inf where none does. A kink function NaN
    (undefined) on part of the span counts as a switch there."""
    from ..rules import kinks_of

    kinks = [u for u in kinks_of(expr) if u.has(x)]
    if not kinks:
        return math.inf
    centre = float(r)
    step = 1.25 * MAX_WINDOW / 600
    nearest = math.inf
    for u in kinks:
        if _keeps_sign(u, x, centre - 600 * step, centre + 600 * step):
            continue  # no switch within the scanned span: the scan would find none
        g = _mp(u, x)
        with mpmath.workdps(30):
            inner = {1: g(centre), -1: None}
            inner[-1] = inner[1]
            for i in range(600):  # outwards from r, both ways: stops at the nearest switch found so far
                if i * step >= nearest:
                    break
                for side in (1, -1):
                    a, b = centre + side * i * step, centre + side * (i + 1) * step
                    ga, gb = inner[side], g(b)
                    inner[side] = gb
                    if not (mpmath.isfinite(ga) and mpmath.isfinite(gb)):
                        nearest = min(nearest, i * step)
                    elif ga == 0:
                        nearest = min(nearest, i * step)
                    elif ga * gb < 0:
                        lo, hi, glo = mpmath.mpf(a), mpmath.mpf(b), ga
                        while abs(hi - lo) > 1e-12:  # bisection: g need not be smooth
                            mid = (lo + hi) / 2
                            gm = g(mid)
                            if not mpmath.isfinite(gm) or gm == 0:
                                lo = hi = mid
                                break
                            if (gm < 0) == (glo < 0):
                                lo, glo = mid, gm
                            else:
                                hi = mid
                        nearest = min(nearest, float(min(abs(lo - centre), abs(hi - centre))))
    return nearest


def _radius(a) -> float:
    """The radius of convergence, from the root test on the last coefficients."""
    ks = [k for k in range(len(a) // 2, len(a)) if a[k] != 0]
    if not ks:
        return math.inf
    # the radius is f's whatever its scale; the root test on the last ~60 coefficients is not
    # (silu′(x)·1e300 read as 2.6e−9: no window, no rule): f scaled by a power of 10^10 near |f′(r)|
    first = next((abs(v) for v in a[1:] if v != 0), mpmath.mpf(1))
    scale = mpmath.mpf(10) ** (10 * int(mpmath.nint(mpmath.log10(first) / 10)))
    return float(min((abs(a[k]) / scale) ** (-mpmath.mpf(1) / k) for k in ks))


def _horner_condition(c, w) -> float:
    """max over the window of Σ|c_k|·|d|^k / |P(d)|: how much Horner's own roundings are amplified."""
    worst = 0.0
    for s in np.linspace(-1, 1, 17):
        d = mpmath.mpf(float(s) * w)
        value = abs(mpmath.polyval(list(reversed(c)), d))
        size = mpmath.polyval([abs(v) for v in reversed(c)], abs(d))
        worst = max(worst, math.inf if value == 0 else float(size / value))
    return worst


def _degree(c, w) -> int | None:
    """The smallest n with Σ_{k>n} |c_k|·w^k below TRUNCATION·|P| on the window, or None."""
    floor = min(abs(mpmath.polyval(list(reversed(c)), s * w)) for s in (-1, 0, 1))
    if floor == 0:
        return None
    # each term once (the tails summed from them in the same order: the same roundings, the same n; they were
    # computed again for each n, 18 s of a 35 s cold description of the registry's kernels, under cProfile)
    terms = [abs(c[k]) * mpmath.mpf(w) ** k for k in range(len(c))]
    for n in range(0, len(c) - 4):
        tail = sum(terms[n + 1:])
        if tail < TRUNCATION * floor and terms[-1] < TRUNCATION * floor / 100:
            return n
    return None


@functools.lru_cache(maxsize=512)
def cancelling_roots(expr: sp.Expr, written: sp.Expr | None = None) -> tuple[RootFit, ...]:
    """The simple real roots of ``expr`` (one free symbol) in [−SPAN, SPAN] where its written form
    cancels, each with its window and series; () where there is none. ``written``: the form the
    generated code computes (σ pairs shared; default ``expr``), measured in float32 and float64.
    Raises nothing."""
    try:
        return _cancelling_roots(as_written(expr), expr if written is None else written)
    except TimeLimitError:  # a time limit struck: not an answer to cache (see _NOT_AN_ANSWER)
        raise
    except Exception:  # noqa: BLE001 - a form the analysis cannot evaluate: no rewrite
        return ()


def _cancelling_roots(expr, written):
    (x,) = expr.free_symbols
    f = _mp(expr, x)
    brackets = _sign_changes(f)
    if not brackets:
        return ()
    probe = None
    fits = []
    found = []  # (the root, or None where findroot failed, its bracket)
    for a, b in brackets:
        with mpmath.workdps(DIGITS):
            r = None
            scale = max(abs(f(a)), abs(f(b)))
            # first to full precision relative to r (the default tolerance is absolute: sin(x) − 1e−30
            # stopped with f(r) = 3e−65, and no sum was seen to cancel there), else as before; the checks
            # below verify
            for tight in (dict(tol=mpmath.mpf(10) ** (-3 * DIGITS), verify=False), {}):
                try:
                    r = mpmath.findroot(f, (mpmath.mpf(a), mpmath.mpf(b)), solver="anderson", **tight)
                except (ValueError, ZeroDivisionError):
                    r = None
                # |f(r)| relative to f's size at the bracket's ends where that is above 1 (geglu43: the written GEGLU's ∂a
                # is b·(10²¹ + 10²¹·tanh u + …)/(2·10²¹), its sum of size 10²¹: findroot's f(r) = 8.0e−41 (the bound, 10⁻⁵⁰, was absolute) was
                # refused as no root, and its 1.54e16 ULP at a = −0.75246 kept)
                if r is not None and (not (a - 1e-9 <= r <= b + 1e-9)
                                      or abs(f(r)) > mpmath.mpf(10) ** (10 - DIGITS) * max(1, scale)):
                    r = None
                if r is not None:
                    break
        found.append((r, (a, b)))
    for i, (r, _) in enumerate(found):
        if r is None:
            continue
        # every other sign change of f is a root of P too (P = f/(x − r)): Horner cancels there, so
        # the window (and the grid it is measured on) stays within half the distance to it
        # (x·e^x + 0.3678: the series about −1.0209 was used at the root −0.9794, 3.6e14 ULP off)
        limit = min((abs(float(r) - float(o)) if o is not None else max(a - float(r), float(r) - b, 0.0)
                     for j, (o, (a, b)) in enumerate(found) if j != i), default=math.inf) / 2
        if limit < MIN_WINDOW:
            continue
        if not _a_sum_cancels(expr, x, r):
            continue  # the root is not a sum's (log(x + 1e−8) at 1 − 1e−8: log amplifies, no sum cancels)
        if probe is None:
            probe = _float_probe(written, x)
        near = np.array([float(r)], dtype=np.float64)
        near = np.concatenate([np.nextafter(near, -np.inf), near, np.nextafter(near, np.inf)])
        with mpmath.workdps(50):
            truth = [f(v) for v in near]
        if np.max(_ulps(probe(near), truth, np.float64)) < CANCELLING_ULP:
            continue  # no sum cancels at r: the form is accurate there as written
        # P continues f's branch analytically: it is f only up to f's nearest kink (where(|x − c| < h, …)
        # a bump between the 21 proof points was ignored: 4.5e15 ULP off on it)
        limit = min(limit, _kink_distance(expr, x, r))
        if limit < MIN_WINDOW:
            continue
        fit = _fit(f, r, probe, limit)
        if fit is not None:
            fits.append(fit)
    return tuple(fits)


@functools.lru_cache(maxsize=8)
def _chebyshev_tables(n: int, prec: int) -> tuple:
    """What :func:`taylor` needs of n Chebyshev points at ``prec`` bits, whatever f: the angles
    t_j = π(j + ½)/n, cos(k·t_j) for k, j < n, and T_0 … T_{n−1} as monomial coefficients. Computed
    as taylor computed them for each f (the same values, bit for bit): taylor spent 75% of a stabilisation
    of sqrt(u² + 1) − 1 evaluating these n² = 5,184 cosines again for each of its 40 calls."""
    with mpmath.workprec(prec):
        angles = tuple(mpmath.pi * (j + mpmath.mpf(1) / 2) / n for j in range(n))
        cosines = tuple(tuple(mpmath.cos(k * t) for t in angles) for k in range(n))
        monomials = []
        t_prev, t_cur = [mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]  # T_0, T_1 as monomials
        for k in range(n):
            t_k = t_prev if k == 0 else t_cur
            if k >= 2:
                t_k = [mpmath.mpf(0)] + [2 * c for c in t_cur]
                for i, c in enumerate(t_prev):
                    t_k[i] -= c
                t_prev, t_cur = t_cur, t_k
            monomials.append(tuple(t_k))
    return angles, cosines, tuple(monomials)


def taylor(f, r, n: int, rho) -> list:
    """The Taylor coefficients a_0 … a_{n−1} of f about r, from f at n Chebyshev points of
    [r − ρ, r + ρ] (one evaluation each, where mpmath.taylor differentiates n times): the interpolant's
    Chebyshev coefficients, turned into monomials in (x − r)/ρ. They are the Taylor coefficients up
    to (ρ/R)^n of the largest (R the radius of convergence), computed at twice DIGITS."""
    with mpmath.workdps(2 * DIGITS):
        rho = mpmath.mpf(rho)
        angles, cosines, monomials = _chebyshev_tables(n, mpmath.mp.prec)
        values = [f(r + rho * c) for c in cosines[1]]  # cos(1·t_j) = cos(t_j)
        cheb = [2 * mpmath.fsum(v * c for v, c in zip(values, cosines[k])) / n for k in range(n)]
        cheb[0] /= 2
        mono = [mpmath.mpf(0)] * n
        for k in range(n):
            for i, c in enumerate(monomials[k]):
                mono[i] += cheb[k] * c
        return [m / rho ** i for i, m in enumerate(mono)]


def _series_in(dtype, pts, pieces, coefficients) -> np.ndarray:
    """d·P(d) evaluated as the generated code does, in ``dtype``."""
    r1, r2, r3 = (dtype(p) for p in pieces)
    with np.errstate(all="ignore"):
        d = ((pts - r1) - r2) - r3
        body = np.full_like(pts, dtype(float(coefficients[-1])))
        for c in reversed(coefficients[:-1]):
            body = dtype(float(c)) + d * body
        return (d * body).astype(np.float64)


def _fit(f, r, probe, limit: float = math.inf) -> RootFit | None:
    a, rho = taylor(f, r, MAX_DEGREE + 8, 0.5), 0.5
    while not all(mpmath.isfinite(v) for v in a) and rho > MIN_WINDOW:  # f undefined within ρ of r (log x + 1
        rho /= 2  # about 1/e: log of x ≤ 0, NaN coefficients, and the rule was dropped: 5e15 ULP at fl(1/e))
        a = taylor(f, r, MAX_DEGREE + 8, rho)
    radius = _radius(a[: MAX_DEGREE + 2])
    if radius < 1.5:  # the points must lie well inside the disc of convergence
        a = taylor(f, r, MAX_DEGREE + 8, radius / 3)
    a = a[: MAX_DEGREE + 2]
    c = a[1:]  # f(x)/(x − r) = Σ a_{k+1}·(x − r)^k
    if c[0] == 0:
        return None  # not a simple root
    radius = _radius(a)
    cap = min(MAX_WINDOW, 0.45 * radius, limit)
    if cap < MIN_WINDOW:
        return None
    # a multiple of 1/32; below 1/32 (another root or a kink that near) a power of 2
    cap = math.floor(cap * 32) / 32 if cap >= 1 / 32 else 2.0 ** math.floor(math.log2(cap))
    with mpmath.workdps(DIGITS):
        while cap > 1 / 32 and (_degree(c, cap) is None or _horner_condition(c, cap) > HORNER_CONDITION):
            cap -= 1 / 32  # P's own terms must not cancel much: Σ|c_k|·w^k ≤ HORNER_CONDITION·|P|
        top = _degree(c, cap)
    if top is None:
        return None
    pieces = _pieces(r)
    # the written form and the series, measured on a dense grid about r (and beyond the cap)
    span = cap * 1.25
    grids = {}
    for dtype in (np.float64, np.float32):
        pts = (float(r) + np.linspace(-span, span, 801)).astype(dtype)
        with mpmath.workdps(50):
            truth = [f(float(v)) for v in pts]
        written = _ulps(probe(pts), truth, dtype) / OUTSIDE_ULP[np.dtype(dtype).name]
        series = _ulps(_series_in(dtype, pts, pieces, c[: top + 1]), truth, dtype) / OUTSIDE_ULP[np.dtype(dtype).name]
        grids[np.dtype(dtype).name] = (np.abs(pts.astype(np.float64) - float(r)), written, series)
    # the window: the multiple of 1/32 up to the cap whose worst error (written form outside, series
    # inside, in units of OUTSIDE_ULP) is least; the smallest such
    best = None
    for w in [k / 32 for k in range(1, int(round(cap * 32)) + 1)] or [cap]:
        worst = max(max(float(np.max(np.where(dist < w, series, written))) for dist, written, series in grids.values()),
                    1.0)
        if best is None or worst < best[0]:
            best = (worst, w)
    if best is None:
        return None
    w = best[1]
    worst_in = {n: float(err[dist < w].max()) * OUTSIDE_ULP[n] for n, (dist, err, _) in grids.items()}
    worst_out = {n: float(err[dist >= w].max()) * OUTSIDE_ULP[n] for n, (dist, err, _) in grids.items()}
    with mpmath.workdps(DIGITS):
        n = _degree(c, w)
        if n is None:
            return None
        coefficients = tuple(c[: n + 1])
        # the proof: the series equals f at 50 digits' scrutiny to TRUNCATION over the window
        for s in np.linspace(-1, 1, 21):
            dd = mpmath.mpf(float(s) * w)
            if dd == 0:
                continue
            want = f(r + dd)
            got = dd * mpmath.polyval(list(reversed(coefficients)), dd)
            if abs(got - want) > 4 * TRUNCATION * abs(want):
                return None
    reach = _reach(r, w, probe, f) if any(worst_out[n] > OUTSIDE_ULP[n] for n in worst_out) else 0.0
    return RootFit(r, pieces, w, coefficients, worst_out, worst_in, reach)


REACH_POINTS = 240  # on each side of the root, geometric in the distance from the window to REACH_SPAN·max(1, |r|)
REACH_SPAN = 8.0


def _reach(r, w, probe, f) -> float:
    """The distance from r within which the written form (``probe``) was measured beyond OUTSIDE_ULP (float64
    or float32, against mpmath at 50 digits) past the window w, with a quarter more and rounded up to 1/32; inf
    where it still is at the end of the span (√x/log1p(x)′ cancels 3× as x → 0 and 4× at x = 30: everywhere)."""
    span = REACH_SPAN * max(1.0, abs(float(r)))
    distance = np.geomspace(w, span, REACH_POINTS)
    worst = np.zeros(2 * REACH_POINTS)
    for dtype in (np.float64, np.float32):
        pts = (float(r) + np.concatenate([-distance, distance])).astype(dtype)
        with mpmath.workdps(50):
            truth = [f(float(v)) for v in pts]
        worst = np.maximum(worst, _ulps(probe(pts), truth, dtype) / OUTSIDE_ULP[np.dtype(dtype).name])
    bad = np.abs(np.concatenate([-distance, distance]))[worst > 1]
    if not bad.size:
        return 0.0
    if bad.max() >= distance[-8]:
        return math.inf
    return math.ceil(bad.max() * 1.25 * 32) / 32


# ------------------------------------------------------------------ a Taylor series about a fixed centre
# (the mish-series rule of symnet/codegen/rewrite/series.py): where a written form is a chain of a dozen
# roundings, each of one sign (no cancellation, but ~12 half-ULPs add up: mish′'s e^u·P/N² on
# [−1, −0.5], 4.7 ULP in float64), f = (c0 + ρ) + d·P(d), d = u − c exact (Sterbenz), c0 + ρ = f(c) as
# two float64s and P the Taylor polynomial of (f − f(c))/(u − c): three roundings of consequence
# (d·P(d), ρ + …, c0 + …).


class CentredSeries(SeriesBase):
    """CentredSeries(d, g, c0, …, cn): g = f − f(c) (f(c) = c0 + ρ given as two floats beside it),
    printed as d·P(d) like :class:`RootSeries`; its value everywhere is g's. Not a RootSeries: the
    root-series rule, which leaves a formula that has one alone, still sees f."""


@functools.lru_cache(maxsize=None)
def centred_coefficients(name: str, centre: float, radius: float, degree: int):
    """(c0, ρ, [P's coefficients]) of the function ``name`` (a key of :data:`CENTRED_FUNCTIONS`) about
    ``centre``: c0 = f(c) rounded to float64, ρ = f(c) − c0 rounded, P the Taylor coefficients of
    (f − f(c))/(u − c) (:func:`taylor`, Chebyshev points at ``radius``)."""
    f = CENTRED_FUNCTIONS[name]
    with mpmath.workdps(2 * DIGITS):
        c = mpmath.mpf(centre)
        co = taylor(f, c, degree + 1, radius)
        c0 = float(co[0])
        rho = float(co[0] - c0)
    return c0, rho, tuple(co[1:])


def _mish_slope_mp(u):
    s = mpmath.log1p(mpmath.exp(u))
    t = mpmath.tanh(s)
    return t + u * (1 - t ** 2) / (1 + mpmath.exp(-u))


CENTRED_FUNCTIONS = {"mish′": _mish_slope_mp}
__all__ += ["SeriesBase", "CentredSeries", "centred_coefficients", "CENTRED_FUNCTIONS"]


def as_written(expr):
    """``expr`` with the rules' other evaluation strategies of one function undone, for the root-series
    analysis (the sum that cancels, its kinks, its exact value): the mish-series branch (f's own Taylor
    series, whose bounds are no kinks the window must stay short of) dropped, ndtr_tanh_slope(u) (the
    gelu-tanh-slope rule's) the sum S(u) + u·S′(u) it stands for. The generated code, measured, is
    ``expr`` itself."""
    from ..special import ndtr_tanh, ndtr_tanh_pdf, ndtr_tanh_slope

    expr = expr.replace(lambda n: isinstance(n, sp.Piecewise) and n.has(CentredSeries),
                        lambda n: sp.Piecewise(*[p for p in n.args if not p.expr.has(CentredSeries)]))
    return expr.replace(lambda n: isinstance(n, ndtr_tanh_slope),
                        lambda n: ndtr_tanh(n.args[0]) + n.args[0] * ndtr_tanh_pdf(n.args[0]))


__all__ += ["as_written"]


# ------------------------------------------------------------------ a Taylor series about 0 at a removable singularity
# (the removable-series rule of symnet/codegen/rewrite/series.py, issue 16): f of one variable x written with a negative
# power of x whose limit at 0 is finite (tanh(x)/x, sin(x)/x, expm1(x)/x, log1p(x)/x, (1 − cos x)/x², and their
# derivatives: tanh(x)/x′ = (1 − tanh²x)/x − tanh(x)/x², terms of size 1/x whose sum is −2x/3) is 0/0 at 0 and
# cancels without bound as x → 0. Below a measured window |x| < w it is evaluated as its Taylor polynomial about 0,
# in x² where f is even or odd (f = P(x²) or x·P(x²)): the coefficients from f at Chebyshev points (:func:`taylor`,
# 120 digits), the degree the smallest whose truncation over the window is below 2⁻⁶⁰ of |f|, the window the one
# whose worst error (the series inside, the written form outside, float64 and float32, against mpmath at 50 digits)
# is least, and the series checked against f at 50 digits over the window before the rule fires.


class ZeroSeries(SeriesBase):
    """ZeroSeries(x, f, k, s, c0, …, cn): the value f, printed by the code generators as x^k·P(x^s) with
    P(v) = c0 + v·(c1 + … + v·cn) (Horner; k ∈ {0, 1}, s ∈ {1, 2}: s = 2 where f is even (k = 0) or odd (k = 1)).
    Its value everywhere (``evalf``, mpmath, SymPy's rewrites) is f's; at x = 0, where f is 0/0 as written,
    the series is its limit c0 (k = 0) or 0."""

    @property
    def power(self):
        return int(self.args[2])

    @property
    def stride(self):
        return int(self.args[3])

    @property
    def coefficients(self):
        return self.args[4:]

    def _symnet_text(self, printer):
        v = printer._print(self.shift) + ("²" if self.stride == 2 else "")
        body = "series_%d(%s)" % (len(self.coefficients) - 1, v)
        return body if self.power == 0 else "%s·%s" % (printer._print(self.shift), body)


@dataclass(frozen=True)
class ZeroFit:
    """The removable-series fit of f at 0: x^k·P(x^s), the window |x| < w and the errors measured."""

    power: int
    stride: int
    window: float
    coefficients: tuple  # mpf
    worst_inside: dict  # dtype → the series' worst error inside the window (ULP)
    worst_outside: dict  # dtype → the written form's worst error outside it (ULP)
    written_inside: dict  # dtype → the written form's worst error inside it (what the series removes)
    reach: float = 0.0  # past the window, |x| below which the written form was measured beyond OUTSIDE_ULP (0:
    # nowhere, inf: to the end of the span, REACH_SPAN; log1p(x)/x′ cancels 7× at x = 0.8); widened there


REMOVABLE_REACH = True  # False: the written form past the window as written (session 12; benchmarks/elem13.py)
REMOVABLE_POINTS = 72  # Chebyshev points (even: none at 0, where f is 0/0)


def _removable(f) -> bool:
    """f has a finite limit at 0 (not a pole, not a log): at ±2⁻⁴⁰ and ±2⁻²⁰ finite and within 2⁻¹² of each other,
    and not 2¹⁰ times larger nearer 0 (a pole with a tiny coefficient, 1/(2·10³²³·x), is within 2⁻¹² of itself
    there: its series was 0 for 5e−24 at x = 1e−300, session 25)."""
    with mpmath.workdps(2 * DIGITS):  # f's terms cancel: x^−3 at 2^−40 takes 36 digits
        for sign in (1, -1):
            near, far = f(sign * mpmath.mpf(2) ** -40), f(sign * mpmath.mpf(2) ** -20)
            if not (mpmath.isfinite(near) and mpmath.isfinite(far)):
                return False
            if abs(near - far) > mpmath.mpf(2) ** -12 * (1 + abs(far)) or abs(near) > 2 ** 10 * abs(far):
                return False
    return True


def _zero_series_in(dtype, pts, power, stride, coefficients) -> np.ndarray:
    """x^k·P(x^s) evaluated as the generated code does, in ``dtype``."""
    with np.errstate(all="ignore"):
        v = pts * pts if stride == 2 else pts
        body = np.full_like(pts, dtype(float(coefficients[-1])))
        for c in reversed(coefficients[:-1]):
            body = dtype(float(c)) + v * body
        return (pts * body if power else body).astype(np.float64)


def _zero_degree(c, stride, w) -> int | None:
    """The smallest n with the terms past c_n below TRUNCATION·|f| over |x| < w (|f| at least its smallest of
    f(0⁺), f(±w)), or None."""
    t = mpmath.mpf(w) ** stride
    floor = min(abs(mpmath.polyval(list(reversed(c)), s * t)) for s in ((0, 1) if stride == 2 else (-1, 0, 1)))
    if floor == 0:
        floor = min(abs(mpmath.polyval(list(reversed(c)), s * t)) for s in ((1,) if stride == 2 else (-1, 1)))
    if floor == 0:
        return None
    terms = [abs(c[k]) * t ** k for k in range(len(c))]  # each once, the tails summed as before (_degree)
    for n in range(0, len(c) - 4):
        tail = sum(terms[n + 1:])
        if tail < TRUNCATION * floor and terms[-1] < TRUNCATION * floor / 100:
            return n
    return None


def _zero_fitted(f, rho):
    """(k, s, P's coefficients, the radius of convergence) of f about 0 (f = x^k·P(x^s)) from f at Chebyshev
    points of [−ρ, ρ], or None where f is not finite there."""
    with mpmath.workdps(2 * DIGITS):
        a = taylor(f, mpmath.mpf(0), REMOVABLE_POINTS, rho)
    if not all(mpmath.isfinite(v) for v in a):
        return None
    a = a[: MAX_DEGREE + 2]
    size = max(abs(v) for v in a)
    if size == 0:
        return None
    odd, even = max(abs(v) for v in a[1::2]), max(abs(v) for v in a[0::2])
    if odd <= mpmath.mpf(10) ** -40 * size:  # even: the odd coefficients are the fit's noise (1e−118)
        power, stride, c = 0, 2, a[0::2]
    elif even <= mpmath.mpf(10) ** -40 * size:
        power, stride, c = 1, 2, a[1::2]
    else:
        power, stride, c = 0, 1, a
    c = [v if abs(v) > mpmath.mpf(10) ** -40 * size else mpmath.mpf(0) for v in c]  # the fit's noise: 0
    return power, stride, c, _radius(c) ** (1 / stride)  # the root test on the series in x^s


def _zero_taylor(f):
    """:func:`_zero_fitted` on [−1/2, 1/2], halved until f is finite there, and again well inside the disc of
    convergence where its radius is below 1.5 (tanh: ±iπ/2); None where f has no finite limit at 0
    (:func:`_removable`) or no interval down to MIN_WINDOW serves."""
    if not _removable(f):
        return None
    rho = 0.5
    found = _zero_fitted(f, rho)
    while found is None and rho > MIN_WINDOW:
        rho /= 2
        found = _zero_fitted(f, rho)
    if found is not None and found[3] < 1.5:
        found = _zero_fitted(f, found[3] / 3)
    return found


def _series_is_f(f, c, power, stride, points) -> bool:
    """The proof of a fit: x^k·P(x^s) (k = ``power``, s = ``stride``, P's coefficients ``c``) is f to TRUNCATION
    (4× it, relative) at each of ``points`` (floats), f at 120 digits."""
    with mpmath.workdps(2 * DIGITS):
        for point in points:
            xx = mpmath.mpf(point)
            want = f(xx)
            got = mpmath.polyval(list(reversed(c)), xx ** stride) * (xx if power else 1)
            if abs(got - want) > 4 * TRUNCATION * max(abs(want), mpmath.mpf(10) ** -300):
                return False
    return True


@functools.lru_cache(maxsize=512)
def removable_fit(expr: sp.Expr, written: sp.Expr | None = None, reach: bool = True) -> ZeroFit | None:
    """The removable-series fit of ``expr`` (one free symbol x) at x = 0, or None where its limit there is not
    finite or no window helps. ``written``: the form the generated code computes (default ``expr``). ``reach``
    False: the reach past the window is not measured (0; the series-common-denominator rule widens everything past
    it). Raises nothing."""
    try:
        return _removable_fit(as_written(expr), expr if written is None else written, reach)
    except TimeLimitError:  # a time limit struck: not an answer to cache (see _NOT_AN_ANSWER)
        raise
    except Exception:  # noqa: BLE001 - a form the analysis cannot evaluate: no rewrite
        return None


def _removable_fit(expr, written, measure_reach=True):
    (x,) = expr.free_symbols
    f = _mp(expr, x)
    found = _zero_taylor(f)
    if found is None:
        return None
    power, stride, c, radius = found
    # |u| < c in a select's condition switches at u = ±c, not where u = 0 (the exp-minus rule's |x| < log 2
    # reported a kink at 0, and only part of (e^x − (e^x − 1)/x)/x was given the series)
    bands = expr.replace(lambda n: n.is_Relational and isinstance(n.lhs, sp.Abs) and n.rhs.is_number,
                         lambda n: sp.And(n.func(n.lhs.args[0], n.rhs), n.func(-n.lhs.args[0], n.rhs)))
    cap = min(MAX_WINDOW, 0.45 * radius, _kink_distance(bands, x, mpmath.mpf(0)))
    if cap < MIN_WINDOW:
        return None
    candidates = [2.0 ** -k for k in range(10, 5, -1)] + [k / 32 for k in range(1, int(cap * 32) + 1)]
    candidates = [w for w in candidates if w <= cap]
    with mpmath.workdps(DIGITS):
        degrees = {w: _zero_degree(c, stride, w) for w in candidates}
    candidates = [w for w in candidates if degrees[w] is not None]
    if not candidates:
        return None
    probe = _float_probe(written, x)
    span = max(candidates) * 1.25
    grids = {}
    for dtype in (np.float64, np.float32):
        tiny = np.geomspace(2.0 ** -30, span, 240)
        pts = np.concatenate([tiny, -tiny, np.linspace(-span, span, 241)]).astype(dtype)
        with mpmath.workdps(2 * DIGITS):  # f's terms cancel near 0: 27 digits for x^−3 at 2^−30
            truth = [f(float(v)) if v != 0 else mpmath.mpf(float(c[0])) * (1 - power) for v in pts]
        name = np.dtype(dtype).name
        dist = np.abs(pts.astype(np.float64))
        written_err = _ulps(probe(pts), truth, dtype)
        series = {}
        for w in candidates:
            n = degrees[w]
            series[w] = _ulps(_zero_series_in(dtype, pts, power, stride, c[: n + 1]), truth, dtype)
        grids[name] = (dist, written_err, series)
    best = None
    for w in candidates:  # the window whose worst error (series inside, written outside, in OUTSIDE_ULP) is least
        worst = max(float(np.max(np.where(dist < w, series[w], err))) / OUTSIDE_ULP[n]
                    for n, (dist, err, series) in grids.items())
        if best is None or worst < best[0]:
            best = (worst, w)
    w = best[1]
    n = degrees[w]
    coefficients = tuple(c[: n + 1])
    if not _series_is_f(f, coefficients, power, stride, [float(s) * w for s in np.linspace(-1, 1, 22)]):
        return None
    inside = {n: float(np.max(np.where(dist < w, series[w], 0.0))) for n, (dist, _, series) in grids.items()}
    outside = {n: float(np.max(np.where(dist >= w, err, 0.0))) for n, (dist, err, _) in grids.items()}
    written_in = {n: float(np.max(np.where(dist < w, err, 0.0))) for n, (dist, err, _) in grids.items()}
    reach = _reach(0.0, w, probe, f) if REMOVABLE_REACH and measure_reach else 0.0
    return ZeroFit(power, stride, w, coefficients, inside, outside, written_in, reach)


__all__ += ["ZeroSeries", "ZeroFit", "removable_fit"]


# ------------------------------------------------------------------ a Taylor series times a half power of x (the
# half-power-series rule of symnet/codegen/rewrite/series.py, issue 16): a sum of one variable x whose terms carry
# half-integer powers of x (erf(x)/√x′ = 2e^(−x²)/√(πx) − erf(x)/(2x^(3/2))) is x^q·g(x), q its largest such
# exponent and g = x^(−q)·(the sum) analytic at 0 (g(0) = 1/√π: the terms meet at twice it); its terms cancel by a
# factor 2 to 4 on (0, 1), and each one's own roundings (e^(−x²), erf, x^(3/2), the quotients) are amplified by
# that: 5.98 ULP in float64 at x = 0.276, 4.17 at 0.293. Below a measured window x^q·P(x^s), P g's Taylor
# polynomial about 0 (as the removable-series rule's), rounds a few times and cancels only as g's series does.

SERIES_ULP = {"float64": 2.0, "float32": 4.0}  # the series' worst error allowed inside its window


@dataclass(frozen=True)
class HalfPowerFit:
    """g = x^(−q)·f about 0 as x^k·P(x^s) (q a half-integer), the window 0 < x < w and the errors measured."""

    exponent: sp.Rational  # q
    analytic: sp.Expr  # g
    power: int
    stride: int
    window: float
    coefficients: tuple  # mpf
    worst_inside: dict  # dtype → the series' worst error inside the window (ULP)
    written_inside: dict  # dtype → the written form's worst error there (what the series removes)


def half_power_parts(expr: sp.Expr, x: sp.Symbol):
    """(q, g) with ``expr`` = x^q·g, q the largest half-integer exponent of x among the terms of the sum ``expr``
    and g free of fractional powers of x; None where ``expr`` is no such sum."""
    if not isinstance(expr, sp.Add):
        return None
    exponents = {p.exp for p in expr.atoms(sp.Pow) if p.base == x and p.exp.is_Rational}
    halves = {e for e in exponents if not e.is_integer and (2 * e).is_integer}
    if not halves or halves != {e for e in exponents if not e.is_integer}:
        return None
    q = max(halves)
    g = sp.expand(sp.powsimp(sp.expand(expr * x ** -q)))
    if any(p.base == x and not p.exp.is_integer for p in g.atoms(sp.Pow)):
        return None
    return q, g


@functools.lru_cache(maxsize=256)
def half_power_fit(expr: sp.Expr, written: sp.Expr) -> HalfPowerFit | None:
    """The half-power-series fit of ``expr`` (one free symbol x, a sum of :func:`half_power_parts`), or None where
    g has no finite limit at 0 or the written form (``written``: what the generated code computes for the whole
    output, measured) is within :data:`OUTSIDE_ULP` there. The window is the widest multiple of 1/32 below 0.45
    of g's radius of convergence (and :data:`MAX_WINDOW`) whose series, printed as the kernel prints it and run
    in float64 and float32, is within :data:`SERIES_ULP` of mpmath over 0 < x < w. Raises nothing."""
    try:
        return _half_power_fit(expr, written)
    except TimeLimitError:  # a time limit struck: not an answer to cache (see _NOT_AN_ANSWER)
        raise
    except Exception:  # noqa: BLE001 - a form the analysis cannot evaluate: no rewrite
        return None


def _half_power_fit(expr, written):
    (x,) = expr.free_symbols
    parts = half_power_parts(expr, x)
    if parts is None:
        return None
    q, g = parts
    f = _mp(g, x)
    found = _zero_taylor(f)
    if found is None:
        return None
    power, stride, c, radius = found
    cap = min(MAX_WINDOW, 0.45 * radius)
    candidates = [k / 32 for k in range(1, int(cap * 32) + 1)]
    if not candidates:
        return None
    with mpmath.workdps(DIGITS):
        n = _zero_degree(c, stride, candidates[-1])
    if n is None:
        return None
    coefficients = [sp.Float(v, 25) for v in c[: n + 1]]
    series = _float_probe(ZeroSeries(x, g, sp.Integer(power), sp.Integer(stride), *coefficients) * x ** q, x)
    probe = _float_probe(written, x)
    exact = _mp(expr, x)
    span = candidates[-1]
    grids = {}
    for dtype in (np.float64, np.float32):
        pts = np.unique(np.concatenate([np.geomspace(2.0 ** -30, span, 200), np.linspace(span / 400, span, 400)])
                        .astype(dtype))
        with mpmath.workdps(DIGITS):
            truth = [exact(float(v)) for v in pts]
        grids[np.dtype(dtype).name] = (pts.astype(np.float64), _ulps(series(pts), truth, dtype),
                                       _ulps(probe(pts), truth, dtype))
    w = None
    for candidate in candidates:  # the widest window whose series is within SERIES_ULP throughout
        if all(float(np.max(np.where(pts < candidate, err, 0.0))) <= SERIES_ULP[name]
               for name, (pts, err, _) in grids.items()):
            w = candidate
    if w is None:
        return None
    inside = {name: float(np.max(np.where(pts < w, err, 0.0))) for name, (pts, err, _) in grids.items()}
    written_in = {name: float(np.max(np.where(pts < w, err, 0.0))) for name, (pts, _, err) in grids.items()}
    if all(written_in[name] <= OUTSIDE_ULP[name] for name in written_in):
        return None  # the written form is within the bound there: nothing to remove
    with mpmath.workdps(DIGITS):
        n = _zero_degree(c, stride, w)
    if n is None:
        return None
    if not _series_is_f(f, c[: n + 1], power, stride, [float(s) * w for s in np.linspace(1 / 21, 1, 21)]):
        return None
    return HalfPowerFit(q, g, power, stride, w, tuple(c[: n + 1]), inside, written_in)


__all__ += ["HalfPowerFit", "half_power_fit", "half_power_parts", "SERIES_ULP"]
