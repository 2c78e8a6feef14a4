"""Session 33's review of the merged diff (a fresh reader), its findings mended: homogeneous-quotient expanded a sum
that vanishes away from 0 and scaled by an input its denominator lacks; widened-log-argument gave NaN for log 0;
homogeneous-quotient's algebra ran before its size limits; shared-powers' bound for three bases. Each value checked
against mpmath; the "before" numbers are from main at f2200e5 (the merge)."""
import time

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulps


def _run(formula, **inputs):
    k = compiled(formula)
    with np.errstate(all="ignore"):
        return dict(zip(["f"] + [f"d{n}" for n in k.inputs], k(**{n: np.array(inputs[n]) for n in k.inputs}))), k


def test_a_denominator_that_vanishes_away_from_zero_is_not_expanded():
    """(p − t)²/((p − t)² + e²) at (0.1, 0.1 + 1e−10, 1e−12): cancel() wrote the denominator e² + p² + t² − 2pt,
    0 in float64 there: f inf (a value ≤ 1), ∂p −inf, before; the written form now (the rule refuses)."""
    p, t, e = 0.1, 0.1 + 1e-10, 1e-12
    out, _ = _run("(p - t)**2/((p - t)**2 + e**2)", p=[p], t=[t], e=[e])
    P, T, E = (mpmath.mpf(v) for v in (p, t, e))
    with mpmath.workdps(60):
        d = (P - T) ** 2 + E ** 2
        assert ulps(out["f"][0], (P - T) ** 2 / d, np.float64) <= 4
        assert ulps(out["dp"][0], 2 * (P - T) / d - 2 * (P - T) ** 3 / d ** 2, np.float64) <= 4


def test_a_numerator_input_the_denominator_lacks_does_not_set_the_scale():
    """x·z/(x² + y²) at (3, 2, 1e200): scaled by max|x, y, z| = 1e200, x² + y² underflowed: f inf, ∂x NaN before."""
    out, _ = _run("x*z/(x**2 + y**2)", x=[3.0], y=[2.0], z=[1e200])
    with mpmath.workdps(60):
        X, Y, Z = mpmath.mpf(3), mpmath.mpf(2), mpmath.mpf(1e200)
        assert ulps(out["f"][0], X * Z / (X ** 2 + Y ** 2), np.float64) <= 4
        assert ulps(out["dx"][0], Z * (Y ** 2 - X ** 2) / (X ** 2 + Y ** 2) ** 2, np.float64) <= 4
        assert ulps(out["dy"][0], -2 * X * Y * Z / (X ** 2 + Y ** 2) ** 2, np.float64) <= 4


def test_the_rule_still_takes_its_own_case():
    """(p − t)²/(p² + t²) ∂p at (0.3, 1e−300) (h-hostile33's fault, 3.3e299 ULP before it) stays exact."""
    out, _ = _run("(p - t)**2/(p**2 + t**2)", p=[0.3], t=[1e-300])
    with mpmath.workdps(700):
        P, T = mpmath.mpf(0.3), mpmath.mpf(1e-300)
        assert ulps(out["dp"][0], 2 * T * (P ** 2 - T ** 2) / (P ** 2 + T ** 2) ** 2, np.float64) <= 1


def test_no_real_zero_decides_the_forms():
    from symnet.codegen.rewrite import _no_real_zero

    p, t, e = sp.symbols("p t e", real=True)
    assert _no_real_zero(sp.Poly(p ** 2 + t ** 2, p, t))
    assert _no_real_zero(sp.Poly(p ** 2 + p * t + t ** 2, p, t))
    assert not _no_real_zero(sp.Poly(p ** 2 - 3 * p * t + t ** 2, p, t))
    assert not _no_real_zero(sp.Poly(sp.expand((p - t) ** 2 + e ** 2), p, t, e))


def test_log_of_a_widened_sum_at_zero_is_minus_infinity():
    """log((p − t)² + e²) at p = t, e = 0: the double-word log gave NaN (log 0 + 0/0), log W −inf before session 33.
    At e = 1e−200 (W = 1e−400, 0 in float64) −inf until session 35, log(1e−400) = −921.034 since (the hypot rule's
    scaled sum of squares, h-xfail35)."""
    out, _ = _run("log((p - t)**2 + e**2)", p=[1.0, 1.0], t=[1.0, 1.0], e=[0.0, 1e-200])
    assert out["f"][0] == -np.inf and abs(out["f"][1] - -921.0340371976183) <= 2.3e-13


def test_homogeneous_quotients_size_is_bounded_before_the_algebra():
    """Σ_{k ≤ 11} x²/(x + k·y + c_k·z)²: together() took 11.7 s for f (46 CPU-s for ∂y) before the rule refused it."""
    from symnet.codegen.rewrite import _homogeneous_quotient

    x, y, z = sp.symbols("x y z", real=True)
    f = sum(x ** 2 / (x + k * y + sp.Rational(k, 7) * z) ** 2 for k in range(1, 12))
    start = time.process_time()
    assert _homogeneous_quotient(f) is None and _homogeneous_quotient(sp.diff(f, y)) is None
    assert time.process_time() - start < 30  # (a guard against a hang only: it takes milliseconds)


def test_three_bases_keep_every_partial_product_in_float32_range():
    """∂x of (x·y·z)³ at (3e11, 1e−11, 2e11) in float32: each base within 2^±40 kept the written form, whose partial
    product cube_z·x² is 2^195: inf for 2.16e24 (torch 2.16e24) before."""
    out, _ = _run("(x*y*z)**3", x=np.float32([3e11]), y=np.float32([1e-11]), z=np.float32([2e11]))
    X, Y, Z = (mpmath.mpf(float(np.float32(v))) for v in (3e11, 1e-11, 2e11))
    assert ulps(out["dx"][0], 3 * X ** 2 * Y ** 3 * Z ** 3, np.float32) <= 8
    assert ulps(out["dz"][0], 3 * X ** 3 * Y ** 3 * Z ** 2, np.float32) <= 8


@pytest.mark.parametrize("seed", [0, 1])
def test_three_bases_over_many_points(seed):
    """(x·y·z)³ f and ∂x at 300 random float32 points whose bases span 2^±60 and whose results are normal: ≤ 8 ULP."""
    rng = np.random.default_rng(seed)
    x, y, z = (np.float32(np.sign(rng.uniform(-1, 1, 300)) * 2.0 ** rng.uniform(-60, 60, 300)) for _ in range(3))
    out, _ = _run("(x*y*z)**3", x=x, y=y, z=z)
    checked = 0
    for i in range(300):
        X, Y, Z = (mpmath.mpf(float(v[i])) for v in (x, y, z))
        for key, true in (("f", (X * Y * Z) ** 3), ("dx", 3 * X ** 2 * Y ** 3 * Z ** 3)):
            if 1.2e-38 < abs(true) < 3.4e38:
                checked += 1
                assert ulps(out[key][i], true, np.float32) <= 8, (key, x[i], y[i], z[i])
    assert checked >= 100
