"""Session 51 (slow51): bounded compile time — "resource use is bounded for every input".

Session 50's random search (hyp50) found slow compiles of short compositions. Measured here (CPU s of a fresh
process, no disk cache, NumPy backend, this 2-core box at a load of 4–17; derive + compile):

- cos(tanh(celu(mish(x)))) + sin(x): derive 1.8 + compile 14.9. 11.7 of the 14.9 are the root-series analysis
  (roots.cancelling_roots): the gradient (388 operations) has 6 cancelling roots in [−8, 8], each fitted (~1 s:
  Chebyshev Taylor coefficients at 120 digits, 2 × 801 grid points against mpmath) after a kink scan (~1 s: 17
  kink functions of its overflow guards, sigmoid(·) − 1.8e308 and softplus(·) − 708.4, each stepped 1,200 times at
  30 digits where no kink is near). Not fixed: strict xfail below (compile in 8 CPU s).
- sqrt(hardswish(silu(silu(x)))): derive 1.8 + compile 7.2 (2.2 of it piecewise_fold in logs._vanishing_branches;
  the rest SymPy rebuilding selects whose conditions hold selects: ExprCondPair folds each and rewrites it as an ITE,
  solving every condition with as_set/periodicity). Within the 30 s bound: a test below keeps it there.
- min(focal(relu(x), sinh(y)), y): derive alone past 60 CPU s (and past 600 s of wall time under the load): the
  engine's expander (engine._expander.full) substitutes the nodes' definitions with xreplace, and SymPy rebuilds every
  select whose condition holds a select (ExprCondPair.__new__: piecewise_fold, rewrite(ITE), as_set,
  solve_univariate_inequality, periodicity). Memoising as_set would save 3.7 of the first 60 s (243 calls, 2 distinct
  conditions): not the cause. Not fixed here (fixed in session 52: derive 2.5 CPU s, tests/test_slow52.py).
- log1p(exp(hardtanh(y, −2, 2) − expm1(y))): derive 1.5 + compile past 25 CPU s (cut by the limit, one line), spread
  over the whole-expression rules (stack samples: logs._vanishing_series/_vanishing_branches' piecewise_fold and
  select rebuilding, widening's walks, series._series_leading_powers, sigmoids._exp_sigmoids_far). Not fixed: strict
  xfail below (compile in 10 CPU s).
- l1(tanhshrink(hardtanh(y)), y): derive 1.5 + compile 11.7 (not profiled; no test: over a 60 s file budget).
- squared_hinge(x, y)/y and ((x/y)^(1/2))/(x^(3/2) + elu(y, 0.5)): derive 1.5 + compile past 25 CPU s each (cut by
  the limit with one line); not profiled (the box's load, 17 on 2 cores); no test: over a 60 s file budget.

The time limit (symnet.derive's and symnet.compile's ``time_limit``, a SIGPROF timer re-raised every 50 ms) held for
these: derive(min(focal(relu(x), sinh(y)), y), time_limit=5) raised TimeLimitError, one line, after 5.47 CPU s. But a
limit striking inside a cached analysis of roots.py (cancelling_roots, removable_fit, half_power_fit: a broad except
answers "no rewrite") was swallowed there and its "no rewrite" cached: at base 9054e200, cancelling_roots(x·e^x +
0.3678) under a 0.2 s limit returned () with no error at all, and the same call afterwards, without a limit, () (2
roots). Fixed: the limit's TimeLimitError passes through them, uncached.
"""
from __future__ import annotations

import time

import pytest
import sympy as sp

import symnet
from symnet.bounds import time_limit
from symnet.errors import TimeLimitError


@pytest.fixture
def no_disk_cache(monkeypatch):
    monkeypatch.setenv("SYMNET_NO_DISK_CACHE", "1")


def test_time_limit_is_not_cached_as_no_series():
    """A limit striking inside cancelling_roots is raised, not answered () and cached (the rule then never fired
    again in that process)."""
    from symnet.codegen.roots import cancelling_roots

    x = sp.Symbol("x", real=True)
    e = x * sp.exp(x) + sp.Rational(2917, 10000)  # roots −0.42 and −1.87 (a constant no other test uses: uncached)
    with pytest.raises(TimeLimitError):
        with time_limit(0.01, "limit", cpu=True):
            cancelling_roots(e)
    assert len(cancelling_roots(e)) == 2


def test_time_limit_one_line_derive():
    """The slow derive is cut at its limit with one clear line (never a hang). (2.5 CPU s since session 52: the
    limit 0.3.)"""
    start = time.process_time()
    with pytest.raises(TimeLimitError) as err:
        symnet.derive("min(focal(relu(x), sinh(y)), y) + y/5", time_limit=0.3)  # its own formula: never memoised
    used = time.process_time() - start
    assert "\n" not in str(err.value) and "took longer than 0.3 CPU s" in str(err.value)
    assert used < 12, used


def test_time_limit_one_line_compile(no_disk_cache):
    # a formula of this test's own: test_slow52 compiles cos(tanh(celu(mish(x)))) + sin(x) itself, and in the same
    # process its analyses are memoised (the clean CI ran both files in one worker: the compile finished under 2 s)
    d = symnet.derive("cos(tanh(celu(mish(x)))) + sin(x)/3")
    start = time.process_time()
    with pytest.raises(TimeLimitError) as err:
        symnet.compile(d, time_limit=0.5, progress=False)
    used = time.process_time() - start
    assert "\n" not in str(err.value) and "took longer than 0.5 CPU s" in str(err.value)
    assert used < 12, used


def test_hardswish_silu_compiles_in_bound(no_disk_cache):
    """sqrt(hardswish(silu(silu(x)))): 9 CPU s measured (derive + compile); the generous bound 30 (loaded box)."""
    d = symnet.derive("sqrt(hardswish(silu(silu(x))))", time_limit=30)
    k = symnet.compile(d, time_limit=30, progress=False)
    assert k.outputs


@pytest.mark.xfail(raises=TimeLimitError, strict=False,  # not strict: CPU time varies by machine
                   reason="compile 14.9 CPU s: the root-series analysis of the gradient's 6 roots (kink scans of 17 "
                          "overflow-guard kink functions, ~1 s a root; a fit ~1 s a root)")
def test_celu_mish_compiles_in_a_few_seconds(no_disk_cache):
    d = symnet.derive("cos(tanh(celu(mish(x)))) + sin(x)")
    symnet.compile(d, time_limit=8, progress=False)


@pytest.mark.xfail(raises=TimeLimitError, strict=True,
                   reason="compile past 25 CPU s (derive 1.5): see the module docstring")
def test_log1p_exp_hardtanh_compiles_in_bound(no_disk_cache):
    d = symnet.derive("log1p(exp(hardtanh(y, -2, 2) - expm1(y)))")
    symnet.compile(d, time_limit=10, progress=False)
