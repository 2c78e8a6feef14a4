"""mix41: the Poly-1 sigmoid mixture c + P·σ(u) + Q·σ(−u), P + Q = −c, at weights where P·Q < 0 (|t| > 1).

Session 40's sigmoid-target rule wrote 1 − t·σ(z) − (1 − t)·σ(−z) as (1 − t)·σ(z) + t·σ(−z), two terms of one sign for
t in [0, 1] but opposite ones outside, where they cancelled (before: float64 1.23e16 ULP at (9.59e181, −4.88e−17),
torch 5.72e15 there; tests/test_break41.py). Where P·Q < 0 it is now c·σ(−u) − Q·tanh(u/2) for u > 0 and
c·σ(u) + P·tanh(u/2) below (σ(u) − σ(−u) = tanh(u/2)). Truths mpmath's at 60 digits of the formula as written; torch
autograd of the same formula in the same dtype at the same points (test_break41's helpers)."""
import numpy as np
import pytest
import sympy as sp

from test_break41 import _POLY1, _bound, _errors

F64, F32 = np.float64, np.float32


def test_the_tanh_forms_are_exact():
    # σ(u) − σ(−u) = tanh(u/2), so with P + Q = −c: −Q·σ(u) − P·σ(−u) = c·σ(u) + P·tanh(u/2) = c·σ(−u) − Q·tanh(u/2)
    u, P, c = sp.symbols("u P c", real=True)
    Q = -c - P
    s = lambda v: 1 / (1 + sp.exp(-v))  # noqa: E731
    mixture = -Q * s(u) - P * s(-u)
    for form in (c * s(u) + P * sp.tanh(u / 2), c * s(-u) - Q * sp.tanh(u / 2)):
        assert sp.simplify((mixture - form).rewrite(sp.exp)) == 0


def _points(dtype, t_exp, n, seed):
    rng = np.random.default_rng(seed)
    ts = np.where(rng.random(n) < 0.5, 1, -1) * 10.0 ** rng.uniform(*t_exp, n)
    zs = np.where(rng.random(n) < 0.5, 1, -1) * 10.0 ** rng.uniform(-30, 1.5, n)
    return [ts if dtype is F64 else np.clip(ts, -1e38, 1e38), zs]


def _moderate(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 1, n), np.where(rng.random(n) < 0.5, 1, -1) * 10.0 ** rng.uniform(-30, 1.5, n)]


def _assert_within_and_never_worse(columns, dtype):
    bound = _bound(dtype)
    for k, (ours, theirs) in enumerate(_errors(_POLY1, ["t", "z"], columns, dtype)):
        worst = int(np.argmax(ours))
        assert ours.max() <= bound, (k, ours.max(), [c[worst] for c in columns], theirs[worst])
        assert not np.any((ours > bound) & (ours > theirs)), k


# before (f; torch autograd's at the same worst point): t = ±10^[17, 300]: float64 1.14e16 ULP at (1.20e124, −7.20e−17)
# (torch 6.60e15), float32 2.48e7 at (−1e38, 4.92e−17) (torch 8.74e6); t = ±10^[0, 17]: float64 9.01e15 at
# (1.00e16, 5.20e−26) (torch 9.01e15), float32 1.68e7 at (2.11e16, 6.70e−20) (torch 1.68e7); t = ±10^[−30, 0] held
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("t_exp, seed", [((17, 300), 4111), ((0, 17), 4112), ((-30, 0), 4113)])
def test_poly1_mixture_at_weights_past_one(dtype, t_exp, seed):
    _assert_within_and_never_worse(_points(dtype, t_exp, 300, seed), dtype)


def test_poly1_mixture_at_the_failing_point():
    # before: 1.23e16 ULP in float64 at (9.59e181, −4.88e−17), torch 5.72e15
    _assert_within_and_never_worse([np.array([9.59e181, -9.59e181, 1e17]), np.array([-4.88e-17, -4.88e-17, 3e-10])],
                                   F64)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_poly1_mixture_at_weights_in_zero_one_kept(dtype):
    # t in [0, 1] keeps session 40's mixture (P·Q ≥ 0: terms of one sign)
    _assert_within_and_never_worse(_moderate(300, 4114), dtype)
