"""symnet.mpfloat.exp, the e^a of every mpmath reference (evaluator and registry entries): the same value as
mpmath's own exp (to its last bit) at any precision, inf/0 past ±1e400, and no power by repeated squaring for a
large integer-valued argument above 600 bits (GELU-tanh's accuracy row spent 7.0 s of 7.2 there; 0.22 s after)."""
from __future__ import annotations

import random

import mpmath
import pytest

from symnet.mpfloat import HUGE, exp


@pytest.mark.parametrize("dps", [15, 50, 300, 1000])
def test_exp_agrees_with_mpmath_to_the_last_bit(dps):
    rng = random.Random(18)
    with mpmath.workdps(dps):
        args = [mpmath.mpf(v) for v in (0, 1, -1, 0.5, 1023, 1025, -1025, 3000, 1e5, -1e5, 7e15, -7e15, 2.0 ** 40 + 1,
                                        709.78, -745.1, 1e200, -1e200)]
        args += [mpmath.mpf(rng.choice([-1, 1]) * rng.uniform(1e3, 1e17)) for _ in range(10)]
        args += [mpmath.mpf(rng.choice([-1, 1]) * rng.randint(1000, 2 ** 60)) for _ in range(10)]
        for a in args:
            got, want = exp(a), mpmath.exp(a)
            assert abs(got - want) <= abs(want) * mpmath.ldexp(1, 2 - mpmath.mp.prec), (dps, a)


def test_exp_past_huge_and_at_nan():
    assert exp(HUGE * 2) == mpmath.inf and exp(-HUGE * 2) == 0
    assert exp(mpmath.inf) == mpmath.inf and exp(-mpmath.inf) == 0
    assert mpmath.isnan(exp(mpmath.nan))


def test_registry_gelu_tanh_reference_takes_the_bounded_exp(monkeypatch):
    """The GELU-tanh CDF's mpmath entry at x = −1e150 and 300 digits (the row's float64 sweep reaches both) goes
    through symnet.mpfloat.exp, not mpmath.exp's power by repeated squaring of an argument of 1,500 bits (1.7 ms a
    call, 64 calls in the accuracy row): counted by a stand-in for mpmath's slow path."""
    from symnet import registry
    from symnet.special import ndtr_tanh

    calls = []
    real = mpmath.libmp.libmpf.mpf_pow_int
    monkeypatch.setattr(mpmath.libmp.libelefun, "mpf_pow_int", lambda *a: calls.append(a[1]) or real(*a))
    entry = registry.function_for(ndtr_tanh) if hasattr(registry, "function_for") else registry._BY_CLASS[ndtr_tanh]
    with mpmath.workdps(300):
        value = entry.mpmath(mpmath.mpf(-1e150))
    assert value == 0
    assert not [n for n in calls if abs(n) > 2 ** 20], calls
