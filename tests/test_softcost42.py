"""softcost42: the two-term compensated sum's double-word block computes each statement once (the shared-statement
pass of symnet/codegen/doubleword.py, ``_shared_statements``): log(e^a + e^b) and a − log(e^a + e^b) took the
TwoSum and the full double-word e^(min(a, b) − max(a, b)) twice on every float64 element, once for the softmax
gradient (over the temporary t₀ = max(a, b)) and once for the log1p (max(a, b) spelled out).

The outputs must be bit-identical to the code without the pass (h-soft42's, current main's): each formula's kernel is
compiled twice, with the pass and without it (under another name, so the module is printed again), and both
are run at 278,528 points (random, near ties a ≈ b, far apart, extremes, ±inf, NaN), float64 and float32; every
output must have the same bits (NaN's payload aside: NaN where the other is NaN)."""
import numpy as np
import pytest

import symnet
import symnet.codegen.doubleword as doubleword

FORMULAS = ["log(exp(a) + exp(b))", "a - log(exp(a) + exp(b))", "exp(a)/(exp(a) + exp(b))"]


def _points(seed=42):
    """278,528 pairs (a, b): the regions the brief names, each a block of 2¹⁴ or more."""
    rng = np.random.default_rng(seed)
    n = 1 << 14
    a, b = [], []

    def add(x, y):
        a.append(np.asarray(x, np.float64))
        b.append(np.asarray(y, np.float64))

    add(rng.uniform(-30, 30, 4 * n), rng.uniform(-30, 30, 4 * n))  # random, ordinary
    add(rng.uniform(-800, 800, 2 * n), rng.uniform(-800, 800, 2 * n))  # random, past e^±709
    x = rng.uniform(-50, 50, 2 * n)
    add(x, x + rng.normal(0, 1e-12, 2 * n) * np.maximum(1, np.abs(x)))  # near ties a ≈ b
    add(x, x)  # exact ties
    add(x, np.nextafter(x, np.inf))  # one ULP apart
    y = rng.uniform(-5, 5, n)
    add(y, y + rng.choice([-1, 1], n) * rng.uniform(30, 800, n))  # far apart
    add(rng.uniform(700, 710, n), rng.uniform(-710, -700, n))  # far apart, near the exp range's ends
    big = np.array([0.0, -0.0, 5e-324, -5e-324, 2.2e-308, 1e-300, 1.0, -1.0, 709.78, -745.1, 1e300, -1e300,
                    1.7976931348623157e308, -1.7976931348623157e308, np.inf, -np.inf, np.nan])
    g, h = np.meshgrid(big, big)
    reps = (n // g.size) + 1
    add(np.tile(g.ravel(), reps)[:n], np.tile(h.ravel(), reps)[:n])  # extremes, ±inf, NaN, every pair
    m = rng.uniform(-20, 20, n)
    special = rng.choice([np.inf, -np.inf, np.nan], n)
    add(np.where(rng.random(n) < 0.5, special, m), np.where(rng.random(n) < 0.5, m, special))  # mixed with ±inf, NaN
    add(rng.uniform(-1e-3, 1e-3, n), rng.uniform(-1e-3, 1e-3, n))  # near zero (log-sum-exp's crossing at −log 2)
    return np.concatenate(a), np.concatenate(b)


def _kernel(formula, name=None):
    options = {} if name is None else {"name": name}  # (another name: not the in-process cache's function)
    return symnet.compile(symnet.derive(formula), progress=False, time_limit=None, **options)


def _same_bits(x, y):
    x, y = np.asarray(x), np.asarray(y)
    nan = np.isnan(x) & np.isnan(y)
    return nan | (x.view(np.uint64 if x.dtype == np.float64 else np.uint32)
                  == y.view(np.uint64 if y.dtype == np.float64 else np.uint32))


@pytest.mark.parametrize("formula", FORMULAS)
def test_outputs_bit_identical_without_the_pass(formula, monkeypatch):
    new = _kernel(formula)
    monkeypatch.setattr(doubleword, "_shared_statements", lambda lines, his: (lines, his))
    old = _kernel(formula, name="softcost42_before")
    if formula != "exp(a)/(exp(a) + exp(b))":  # the softmax's block has no statement twice: the same module
        assert old.source != new.source and new.source.count("_dw_exp(") < old.source.count("_dw_exp(")
    a, b = _points()
    assert a.size >= 200_000
    for dtype in (np.float64, np.float32):
        with np.errstate(all="ignore"):
            x, y = a.astype(dtype), b.astype(dtype)
            got, want = new(a=x, b=y), old(a=x, b=y)
        for g, w, name in zip(got, want, new.outputs):
            same = _same_bits(g, w)
            assert same.all(), (formula, dtype.__name__, name, int((~same).sum()), x[~same][:3], y[~same][:3])


def test_shared_statements_keeps_in_place_names_apart():
    """A statement is shared only where neither its names nor the earlier ones are written in place."""
    lines = ["s_hi, s_lo = _dw_two_sum(x, y)", "t_hi, t_lo = _dw_two_sum(x, y)", "t_lo += 1.0",
             "# u = e^s", "u_hi, u_lo = _dw_exp(s_hi, s_lo)", "# v = e^s", "v_hi, v_lo = _dw_exp(s_hi, s_lo)"]
    kept, his = doubleword._shared_statements(lines, ["t_hi", "v_hi"])
    assert kept == lines[:5]
    assert his == ["t_hi", "u_hi"]


@pytest.mark.parametrize("formula", ["log(exp(a) + exp(b) + exp(c))", "a - log(exp(a) + exp(b) + exp(c))"])
def test_three_terms_bit_identical_without_the_pass(formula, monkeypatch):
    """The pass runs on every float64 double-word block: the three-term log-sum-exp and log-softmax share three of
    their eleven _dw_exp calls (measured: 11 → 8 in the module), with the same bits."""
    new = _kernel(formula)
    monkeypatch.setattr(doubleword, "_shared_statements", lambda lines, his: (lines, his))
    old = _kernel(formula, name="softcost42_before3")
    assert new.source.count("_dw_exp(") < old.source.count("_dw_exp(")
    a, b = _points()
    rng = np.random.default_rng(3)
    c = np.where(rng.random(a.size) < 0.5, np.roll(b, 12345), a + rng.normal(0, 1e-9, a.size))  # c ≈ a on half
    for dtype in (np.float64, np.float32):
        with np.errstate(all="ignore"):
            x, y, z = a.astype(dtype), b.astype(dtype), c.astype(dtype)
            got, want = new(a=x, b=y, c=z), old(a=x, b=y, c=z)
        for g, w, name in zip(got, want, new.outputs):
            same = _same_bits(g, w)
            assert same.all(), (formula, dtype.__name__, name, int((~same).sum()))
