"""Session 52 (slow52): bounded compile time, continued — "resource use is bounded for every input".

Measured on this 2-core box (load 2–10; CPU s of a fresh process, no disk cache, NumPy backend; base 24d86a8f):

- min(focal(relu(x), sinh(y)), y): derive past 60 CPU s (cut by the limit) → 2.5 CPU s. The engine's expander
  (engine._expander.full) wrote each node in terms of the inputs with xreplace; the gradient of x is a select of 27
  branches whose conditions are Ands of up to 10 comparisons, ~100 of them u22 − y < 0 or u22 − y > 0 with u22 the
  focal loss's 3-branch select. Substituting u22, SymPy's ExprCondPair folds each condition whole (piecewise_fold):
  an And holding k such comparisons becomes a select of up to 3^k combinations, each an And that SymPy orders,
  simplifies and solves (as_set, periodicity), then rewritten as an ITE. Fixed in engine._substituted /
  _folded_condition: the same bottom-up rebuild as xreplace, except that a condition that comes to hold a select has
  each of its comparisons folded alone (piecewise_fold, rewrite(ITE), memoised per expander) before ExprCondPair sees
  it: exact (the same equalities, comparison by comparison), linear in the condition's size. Formulas whose
  conditions never come to hold a select are rebuilt exactly as before (symnet docs --check and symnet codegen
  --check, NumPy and Triton, unchanged; 12 formulas with selects in selects derived at base and here: the same
  printout and gradients byte for byte where the new path is not taken, and the same values where it is). The new
  gradients agree with mpmath's numerical derivative of the formula (50 digits) at 50 random points (worst relative
  difference 5e−50); the test below checks 6.
- limits._input_infinite_limits (lru_cache) answered a time limit striking inside it (its broad excepts around the
  structural walk, the limit's algebra and the float probe) as "no limit", and cached it for the process: the rule
  input-infinite-limit then never fired again for that expression in that process (the same fault roots.py had,
  session 51). Fixed as there: TimeLimitError passes through, uncached.

- cos(tanh(celu(mish(x)))) + sin(x): compile 12.9 → 7.6 CPU s (derive 1.8). 5.5 of the 12.9 were the kink scans of
  roots._kink_distance (6 roots × 17 kink functions, each stepped up to 1,200 times at 30 digits); now 0.1: a kink
  function whose sign cannot change in the scanned span (roots._interval: a sound float interval bound, each bound
  widened by 1e−12 of its size, through x, numbers, sums, products and increasing functions defined on every real —
  exp, expm1, tanh, atan, erf, sinh, σ, softplus; None, i.e. scanned as before, for anything else) is skipped, which
  the scan would have found without a switch: the same kink distances at all 6 roots, the generated kernels byte
  for byte (symnet codegen --check). The rest is the 6 fits (~1 s a root): not changed. slow51's non-strict xfail
  (compile in 8 CPU s) is kept; a test below bounds derive + compile at 25.

Not fixed here: log1p(exp(hardtanh(y, −2, 2) − expm1(y))) compile past 25 CPU s (tests/test_slow51.py's strict
xfail, kept; not profiled this session); min(focal(relu(x), sinh(y)), y), now derived in 2.5 CPU s, compiles past
60 CPU s (cut by the limit; found here, not profiled: strict xfail below, compile in 5 CPU s).
"""
from __future__ import annotations

import random
import time

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.errors import TimeLimitError

MP_DPS = 50


def test_min_focal_derives_in_bound():
    """2.5 CPU s measured (base: past 60); the bound 15 (a loaded 2-core machine)."""
    from symnet.engine import forward_expressions
    from symnet.functions import explicit

    start = time.process_time()
    d = symnet.derive("min(focal(relu(x), sinh(y)), y)", time_limit=15)
    assert time.process_time() - start < 15
    (f,) = forward_expressions(d).values()
    inputs = sorted(f.free_symbols, key=lambda s: s.name)
    forward = sp.lambdify(inputs, explicit(f), "mpmath")
    rng = random.Random(52)
    for _ in range(3):
        point = [mpmath.mpf(rng.uniform(-3, 3)) for _ in inputs]
        for j, s in enumerate(inputs):
            grad = sp.lambdify(inputs, explicit(d.gradients[s.name]), "mpmath")

            def along(t, j=j, point=point):
                return forward(*point[:j], t, *point[j + 1:])

            ref = mpmath.diff(along, point[j])
            assert abs(grad(*point) - ref) <= mpmath.mpf(10) ** -30 * max(1, abs(ref)), (s, point)


def test_nested_select_condition_folded_exactly():
    """The comparison-by-comparison fold equals SymPy's fold of the whole condition at every point of a grid."""
    from symnet.engine import _folded_condition

    x, y = sp.symbols("x y", real=True)
    s = sp.Piecewise((x - 1, x > 2), (x / 2, x < -2), (x ** 2, True))
    cond = sp.And(s - y < 0, sp.Or(x > 1, s - y > 0), y < 3)
    mine = _folded_condition(cond, {})
    assert not mine.has(sp.Piecewise)
    for xv in range(-5, 6):
        for yv in range(-5, 6):
            at = {x: sp.Rational(xv, 2), y: sp.Rational(yv, 2)}
            assert bool(mine.xreplace(at)) == bool(cond.xreplace(at)), at


def test_input_infinite_limits_time_limit_not_cached(monkeypatch):
    """A time limit striking inside _input_infinite_limits is raised, not answered "no limit" and cached."""
    from symnet.codegen.rewrite import limits

    x, y = sp.symbols("x y", real=True)
    e = sp.diff(x ** 2 * y / (x ** 2 - sp.Rational(5252, 1000) * y ** 2 + x * y), y)  # a constant no other test uses
    original = limits._TowardInfinity.limit

    def struck(self, sign):
        raise TimeLimitError("limit")

    monkeypatch.setattr(limits._TowardInfinity, "limit", struck)
    with pytest.raises(TimeLimitError):
        limits._input_infinite_limits(e)
    monkeypatch.setattr(limits._TowardInfinity, "limit", original)
    assert isinstance(limits._input_infinite_limits(e), sp.Piecewise)  # the limit, not a cached "none"


def test_input_infinite_limits_probe_time_limit_not_cached(monkeypatch):
    from symnet.codegen.rewrite import limits

    x, y = sp.symbols("x y", real=True)
    e = sp.diff(x ** 2 * y / (x ** 2 - sp.Rational(5253, 1000) * y ** 2 + x * y), y)
    original = limits._float_probe_inputs

    def struck(*args, **kwargs):
        raise TimeLimitError("limit")

    monkeypatch.setattr(limits, "_float_probe_inputs", struck)
    with pytest.raises(TimeLimitError):
        limits._input_infinite_limits(e)
    monkeypatch.setattr(limits, "_float_probe_inputs", original)
    assert isinstance(limits._input_infinite_limits(e), sp.Piecewise)


def test_kink_interval_bounds_hold():
    """_interval's bounds hold (mpmath, 30 digits, 200 points of each window) for overflow-guard kink functions of
    the kind cos(tanh(celu(mish(x)))) + sin(x)'s gradient has, and the kinks it keeps are the scan's."""
    from sympy.codegen.cfunctions import expm1

    from symnet.codegen.roots import _interval, _keeps_sign, _mp
    from symnet.functions import sigmoid
    from symnet.special import softplus

    x = sp.Symbol("x", real=True)
    m = x * sp.tanh(softplus(x))
    kinks = [m, m + sp.Float(708.4), sigmoid(2 * m) - sp.Float(1.7976931348623157e308), softplus(-x) - sp.Float(708.4),
             softplus(2 * expm1(m)) - sp.Float(708.4), sp.exp(m) - 3, sigmoid(-2 * softplus(x)) - sp.Rational(1, 3),
             sp.sinh(x) * sp.atan(x) - 1, sp.erf(x) + sp.tanh(x)]
    for lo, hi in ((-9.7, -6.0), (-1.5, 2.0), (3.0, 6.7)):
        for u in kinks:
            bound = _interval(u, x, lo, hi)
            assert bound is not None, u
            g = _mp(u, x)
            with mpmath.workdps(30):
                values = [g(mpmath.mpf(lo) + (hi - lo) * mpmath.mpf(i) / 199) for i in range(200)]
            assert all(bound[0] <= v <= bound[1] for v in values), (u, lo, hi, bound)
            if _keeps_sign(u, x, lo, hi):
                assert all(v > 0 for v in values) or all(v < 0 for v in values), (u, lo, hi)
    assert not _keeps_sign(m, x, -1.5, 2.0)  # mish's root 0 is in it
    assert _interval(x ** 2 - 1, x, 0.0, 1.0) is None  # not a form it bounds: scanned as before


def test_celu_mish_compiles_in_bound(monkeypatch):
    """derive 1.8 + compile 7.6 CPU s measured (base: compile 12.9 to 14.9, 5.5 of it the kink scans, now 0.1); the
    bound 25."""
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")
    d = symnet.derive("cos(tanh(celu(mish(x)))) + sin(x)", time_limit=25)
    assert symnet.compile(d, time_limit=25, progress=False).outputs


@pytest.mark.xfail(raises=TimeLimitError, strict=True,
                   reason="found here, not fixed: with the derive at 2.5 CPU s, its compile runs past 60 CPU s (cut by "
                          "the limit; not profiled)")
def test_min_focal_compiles_in_bound(monkeypatch):
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")
    d = symnet.derive("min(focal(relu(x), sinh(y)), y)", time_limit=15)
    symnet.compile(d, time_limit=5, progress=False)
