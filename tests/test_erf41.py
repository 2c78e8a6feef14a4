"""h-erf41: erf of a double word and of a triple word (a quotient's) where erf(x/y) − z cancels.

1. Triton's double word of erf (doubleword._dw_erf_words) below |x_hi| = 1/2 summed its Maclaurin rest S in float64
   from x_hi² alone: 2⁻⁵⁴·⁹ relative (measured below) where it is meant as a double word; now x² a double word and the
   first twelve terms in double words: 2⁻¹⁰⁴·⁵.
2. erf of a triple word in the third tier of both backends (doubleword._tw_erf_words: _tw_erf of its hi, its lo and
   tail to second order): erf(x/y) − z at z = erf(x/y) rounded cancels past what any double word keeps.

Truths mpmath's (60 digits) of the formula as written; torch's (autograd, float64 or float32) at the same points.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

FORMULA = "erf(x/y) - z"
BOUND = {np.float32: 8.0, np.float64: 4.0}


def _helpers(*names):
    """The NumPy texts of the generator's helpers ``names`` and what they need, run in one namespace."""
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPER_NEEDS, NUMPY_HELPERS

    ns, order = {"np": np}, []

    def need(name):
        for m in NUMPY_HELPER_NEEDS.get(name, ()):
            need(m)
        if name not in order:
            order.append(name)
    for name in names:
        need(name)
    for name in order:
        exec(NUMPY_HELPERS[name], ns)  # noqa: S102 - the generator's own helper texts
    return ns


def _relative(words, x_words):
    """The worst |Σ words − erf(Σ x_words)|/|erf| (mpmath, 60 digits), as a power of two."""
    worst = mpmath.mpf(0)
    with mpmath.workdps(60):
        for w, xs in zip(zip(*words), zip(*x_words)):
            want = mpmath.erf(sum(mpmath.mpf(float(v)) for v in xs))
            got = sum(mpmath.mpf(float(v)) for v in w)
            worst = max(worst, abs(got - want) / abs(want))
        return float(mpmath.log(worst, 2)) if worst else -math.inf


def test_double_word_erf_of_a_double_word_below_a_half():
    """_dw_erf_words(x_hi, x_lo) within 2⁻¹⁰⁰ of erf(x_hi + x_lo) for |x_hi| < 1/2, x_lo up to 2⁻⁵³·|x_hi| (2⁻¹⁰⁴·⁵
    measured; before, 2⁻⁵⁴·⁹: its series rest in float64 of x_hi² alone)."""
    ns = _helpers("_dw_erf_words")
    rng = np.random.default_rng([41, 1])
    x_hi = np.concatenate([rng.uniform(-0.5, 0.5, 600), np.geomspace(1e-250, 0.4999, 80), [np.nextafter(0.5, 0)]])
    x_lo = x_hi * rng.uniform(-1, 1, x_hi.size) * 2.0 ** -53
    with np.errstate(all="ignore"):
        words = ns["_dw_erf_words"](x_hi, x_lo)
    assert _relative(words, (x_hi, x_lo)) <= -100


def test_triple_word_erf_of_a_triple_word():
    """_tw_erf_words(x_hi, x_lo, x_tail) within 2⁻¹¹⁵ of erf(x_hi + x_lo + x_tail) from |x| = 1e−200 to 6, both signs
    (2⁻¹²⁹ measured), and within 2⁻¹⁰⁵ from 6 to 8 (2⁻¹⁰⁹·⁶: _tw_erf's float64 erfc there)."""
    ns = _helpers("_tw_erf_words")
    rng = np.random.default_rng([41, 2])
    for x_hi, bound in ((np.concatenate([rng.uniform(-6, 6, 200), np.geomspace(1e-200, 0.5, 30)]), -115),
                        (rng.uniform(6, 8, 40) * rng.choice([-1.0, 1.0], 40), -105)):
        x_lo = x_hi * rng.uniform(-1, 1, x_hi.size) * 2.0 ** -53
        x_tail = x_lo * rng.uniform(-1, 1, x_hi.size) * 2.0 ** -53
        with np.errstate(all="ignore"):
            words = ns["_tw_erf_words"](x_hi, x_lo, x_tail)
        assert _relative(words, (x_hi, x_lo, x_tail)) <= bound, bound


def _points(dtype, seed: int = 1, n: int = 300):
    """n points, x/y uniform in ±0.45 (two thirds) and ±3, y in {0.7, 1, 3, 7}, z = erf(x/y) rounded to dtype and
    moved 0 to 3 of its ULPs: f a few ULPs of erf or less; the review's point (0.2058, 0.7, 0.3224) first."""
    rng = np.random.default_rng([41, seed])
    y = rng.choice([1.0, 3.0, 7.0, 0.7], n)
    x = np.concatenate([rng.uniform(-0.45, 0.45, 2 * n // 3), rng.uniform(-3, 3, n - 2 * n // 3)]) * y
    x, y = x.astype(dtype), y.astype(dtype)
    eps = float(np.finfo(dtype).eps) / 2
    z = np.array([math.erf(float(a) / float(b)) for a, b in zip(x, y)]).astype(dtype)
    z = (z * (1 + rng.integers(-3, 4, n) * eps)).astype(dtype)
    if dtype == np.float64:
        x, y, z = (np.concatenate([[p], v]) for p, v in zip((0.20577943767070014, 0.7, 0.32239771599986816), (x, y, z)))
    return x, y, z


def _errors(got, x, y, z, dtype):
    with mpmath.workdps(60):
        return np.array([ulps(g, mpmath.erf(mpmath.mpf(float(a)) / mpmath.mpf(float(b))) - mpmath.mpf(float(c)), dtype)
                         for g, a, b, c in zip(got, x, y, z)])


def _torch_errors(x, y, z, dtype):
    torch = pytest.importorskip("torch")
    got = (torch.erf(torch.tensor(x) / torch.tensor(y)) - torch.tensor(z)).double().numpy()
    return _errors(got, x, y, z, dtype)


def _check(mine, theirs, dtype):
    past = mine > BOUND[dtype]
    worse = mine > np.maximum(theirs, BOUND[dtype])
    assert not past.any() and not worse.any(), (float(mine.max()), int(mine.argmax()), int(past.sum()),
                                                  int(worse.sum()), float(theirs.max()))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_erf_of_a_quotient_minus_its_rounding(dtype):
    """NumPy f of erf(x/y) − z over _points: within 4 ULP (float64; 8 float32), never worse than torch. Before, float64:
    300 ULP at the review's point, past 4 at 8 of 301 (torch past 4 at 301, worst 3.0e16; never worse than it);
    float32 within 0.495 (torch past 8 at 300, worst 2.5e7). Now within 0.499 (float64) and 0.495."""
    x, y, z = _points(dtype)
    got = np.asarray(compiled(FORMULA)(x=x, y=y, z=z)[0], np.float64)
    _check(_errors(got, x, y, z, dtype), _torch_errors(x, y, z, dtype), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_triton_erf_of_a_quotient_minus_its_rounding(dtype):
    """Triton (interpreter) f of erf(x/y) − z over _points: within 4 ULP (float64; 8 float32), never worse than torch.
    Before, float64: 9.7e16 ULP at the review's point, past 4 at 301 of 301, worse than torch at 9; float32 within
    0.55. Now within 0.499 and 0.495."""
    torch = triton_torch()
    x, y, z = _points(dtype)
    k = compiled(FORMULA, "triton")
    got = k(x=torch.tensor(x), y=torch.tensor(y), z=torch.tensor(z))[0].double().numpy()
    _check(_errors(got, x, y, z, dtype), _torch_errors(x, y, z, dtype), dtype)


def _moderate(n: int = 200):
    """n points x in ±3, y = 1 (x/y = x), z = erf(x)·(1 + δ), δ in {±2⁻¹⁰, ±2⁻²⁰, ±2⁻³⁰, ±2⁻⁴⁵}: cancellations
    between 2 and 2⁴⁰, below the third tier's DEEP_TERMS, where the double word alone takes the sum."""
    rng = np.random.default_rng([41, 3])
    x = rng.uniform(-3, 3, n)
    delta = rng.choice([2.0 ** -10, 2.0 ** -20, 2.0 ** -30, 2.0 ** -45], n) * rng.choice([-1.0, 1.0], n)
    return x, np.ones(n), np.array([math.erf(a) for a in x]) * (1 + delta)


@pytest.mark.parametrize("formula", ["erf(x) - z", "erf(x/y) - z"])
def test_triton_erf_minus_a_moderately_close_target(formula):
    """Triton (interpreter) float64 erf(x) − z and erf(x/y) − z at _moderate's points: within 4 ULP, never worse than
    torch (past 4 at 200 of 200, worst 1.7e13). Before: erf(x) − z 5.2e8 ULP, past 4 at 136, worse than torch at 7
    (its double word, _dw_erf_tail, the float64 erf below 1/2 and the float64 erfc from 1/2 on, and the third tier
    only past 2⁴⁰); erf(x/y) − z 1.2e13, past 4 at 175, worse than torch at 4. Now 0.5 each (the third tier past 2:
    _ROUNDED_IN_DOUBLE). NumPy 0.5 before and after."""
    torch = triton_torch()
    x, y, z = _moderate()
    inputs = {"x": x, "z": z} if formula == "erf(x) - z" else {"x": x, "y": y, "z": z}
    got = compiled(formula, "triton")(**{k: torch.tensor(v) for k, v in inputs.items()})[0].double().numpy()
    mine = _errors(got, x, y, z, np.float64)
    _check(mine, _torch_errors(x, y, z, np.float64), np.float64)
