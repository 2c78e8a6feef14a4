"""Session 44, h-lagr44 (issue 16): the cosine-similarity loss 1 − a·b/(‖a‖‖b‖) where a ∥ b, by Lagrange's identity
(cosine-complement's c·D/(R·(R + P)), D = Σ_{i<j} (aᵢbⱼ − aⱼbᵢ)², where a·b > 0).

References: mpmath (60 digits, 100 where the truth is below 1e−30) of the formula as written; torch autograd's forward
at the same points. Befores measured on fb14a9f2 (the branch's base) with the same points."""
import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_cos44 import COSINE, _cosine_torch

COSINE_2 = "1 - (a1*b1 + a2*b2)/sqrt((a1**2 + a2**2)*(b1**2 + b2**2))"
BOUND = {np.float64: 4.0, np.float32: 8.0}
FORMULA = {2: COSINE_2, 3: COSINE}


def _parallel_points(n, seed, size, scale, dtype, exact):
    """a (n × size) of N(0, 1) times scale·e^U(−5, 5); b = a·2^k (k in −20…20: exactly parallel) with ``exact``, else
    b = a·t rounded (t = e^U(−3, 3): parallel to within a rounding, 1 − cos θ ~ 1e−33 in float64, ~1e−15 in float32)."""
    rng = np.random.default_rng(seed)
    a = (rng.normal(0, 1, (n, size)) * scale * np.exp(rng.uniform(-5, 5, (n, 1)))).astype(dtype)
    t = 2.0 ** rng.integers(-20, 21, (n, 1)) if exact else np.exp(rng.uniform(-3, 3, (n, 1)))
    b = (a.astype(np.float64) * t).astype(dtype)
    if exact:  # where a·2^k left the normal range (subnormal or 0): b = a
        b = np.where(np.all(b.astype(np.float64) / t == a, axis=1, keepdims=True), b, a)
    return a, b


def _measure(got, a, b, dtype):
    """(worst ULPs, worst of torch, points past the bound, points past it and worse than torch) against mpmath at 100
    digits (the truths reach 1e−40 of 1)."""
    truths = []
    with mpmath.workdps(100):
        for x, y in zip(a, b):
            x, y = [mpmath.mpf(float(v)) for v in x], [mpmath.mpf(float(v)) for v in y]
            p = sum(u * v for u, v in zip(x, y))
            truths.append(1 - p / mpmath.sqrt(sum(u * u for u in x) * sum(v * v for v in y)))
    theirs = _cosine_torch(a, b)
    mine = np.array([ulps(g, t, dtype) for g, t in zip(got, truths)])
    torch_ = np.array([ulps(g, t, dtype) for g, t in zip(theirs, truths)])
    past = mine > BOUND[dtype]
    return mine.max(), torch_.max(), int(past.sum()), int((past & (mine > torch_)).sum())


def _numpy(size, a, b):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return compiled(FORMULA[size])(*a.T, *b.T)[0]


SCALES = [1.0, 1e150, 1e-150, 1e300, 1e-300]


# measured before (fb14a9f2), 300 points a case: exactly parallel, every scale, 2- and 3-vectors, both dtypes: nonzero
# at all 300 (up to 2.9e−37 in float64, 1.4e−37 in float32; −6.6e−40 at a = b = (3, 4)) where the truth is 0; torch 0
# at scale 1, NaN or inf at all 300 elsewhere (float32 scales clamped to 1e±30). After: 0 at all.
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_cosine_loss_exactly_parallel_is_zero(scale, size, dtype):
    if dtype == np.float32:
        scale = min(max(scale, 1e-30), 1e30)
    a, b = _parallel_points(300, 4441 + size, size, scale, dtype, exact=True)
    got = _numpy(size, a, b)
    assert np.all(got == 0), (np.abs(got).max(), int((got != 0).sum()))


# measured before (fb14a9f2), 300 points a case, float64: b = a·t rounded (truth ~1e−33): worst 5.5e15 to 9.9e17 ULP,
# past the bound at all 300 in every case, worse than torch at 3 (2-vectors, scale 1; torch's worst 3.4e38 ULP there,
# inf at scales 1e±150, 1e±300); float32 ≤ 0.4999 ULP before and after (the block in float64). After: ≤ 0.49999 ULP
# at every point, both dtypes.
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_cosine_loss_parallel_within_a_rounding(scale, size, dtype):
    if dtype == np.float32:
        scale = min(max(scale, 1e-30), 1e30)
    a, b = _parallel_points(300, 4451 + size, size, scale, dtype, exact=False)
    worst, theirs, past, worse = _measure(_numpy(size, a, b), a, b, dtype)
    assert past == 0 and worse == 0, (worst, theirs, past, worse)


def test_cosine_loss_at_the_reviewed_points():
    """a = b = (3, 4): 0 (before −6.6e−40, torch 0); b = (3, 4 + 2⁻⁵⁰): 5.6797985e−33 to 0.13 ULP (before 2.91e7 ULP,
    torch 0: 8.3e15)."""
    a = np.array([[3.0, 4.0], [3.0, 4.0]])
    b = np.array([[3.0, 4.0], [3.0, 4.000000000000001]])
    got = _numpy(2, a, b)
    assert got[0] == 0
    worst, theirs, past, worse = _measure(got[1:], a[1:], b[1:], np.float64)
    assert worst <= 0.5 and theirs > 1e15, (worst, theirs)


# Triton (interpreted), 16 points a case: before as NumPy's (nonzero where exactly parallel, 1e7 ULP within a rounding)
@pytest.mark.parametrize("exact", [True, False], ids=["exact", "rounded"])
@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_cosine_loss_parallel_triton(exact, size, dtype):
    torch = triton_torch()
    a, b = _parallel_points(16, 4461 + size, size, 1.0, dtype, exact)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = compiled(FORMULA[size], "triton")(*[torch.tensor(c) for c in (*a.T, *b.T)])[0].cpu().numpy()
    if exact:
        assert np.all(got == 0), got
    else:
        worst, theirs, past, worse = _measure(got, a, b, dtype)
        assert past == 0 and worse == 0, (worst, theirs, past, worse)


# The same where the formula is c·(1 − s·a·b/(‖a‖‖b‖)) otherwise written: 1 + a·b/(‖a‖‖b‖) at b = −a·2^k (s = −1) and
# 3 − 3·(a·b)/(‖a‖‖b‖) (P = 3·a·b as SymPy holds it) at b = a·2^k, 3-vectors, 300 points. Before (fb14a9f2 and this
# branch's first commit): nonzero at all 300 (≈1e−37) where the truth is 0; torch 0 at all 300. After: 0 at all.
OTHERWISE = {"1 + a.b": ("1 + (a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))", -1),
             "3 - 3 a.b": ("3 - 3*(a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))", 1)}


@pytest.mark.parametrize("name", sorted(OTHERWISE))
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_cosine_otherwise_written_exactly_parallel_is_zero(name, dtype):
    formula, sign = OTHERWISE[name]
    a, b = _parallel_points(300, 4471, 3, 1.0, dtype, exact=True)
    b = b * dtype(sign)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = compiled(formula)(*a.T, *b.T)[0]
    theirs = _cosine_torch(a, b)  # torch's 1 − cos
    assert np.all(got == 0), (np.abs(got).max(), int((got != 0).sum()), np.abs(theirs).max())


def test_lagrange_form_is_exact_at_100_digits():
    """The rule's f is Piecewise((Lagrange form widened, a·b > 0 at the scaled inputs), (the whole sum, True)); the
    Lagrange body at its scaled arguments equals the written f to 1e−45 of it (both at 100 digits: the written f
    loses 20 of them near a ∥ b) at 12 random points with a·b > 0 and 12 near a ∥ b (1 − cos θ ~ 1e−20), of sizes
    2^±600."""
    import math

    import sympy as sp

    from symnet.codegen.rewrite import Stabiliser, WidenedBase
    from test_cos44 import _a, _b
    from test_stability_rules import _mp

    formula = 1 - sum(x * y for x, y in zip(_a, _b)) / sp.sqrt(sum(x ** 2 for x in _a) * sum(y ** 2 for y in _b))
    out, fired = Stabiliser()(formula)
    assert "cosine-complement" in {r.name for r in fired} and isinstance(out, sp.Piecewise)
    lagrange = out.args[0].expr
    assert isinstance(lagrange, WidenedBase) and len(lagrange.args) == 6
    rng = np.random.default_rng(4481)
    for n in range(24):
        a = rng.normal(0, 2, 3)
        b = a + rng.normal(0, 1e-10, 3) if n % 2 else rng.normal(0, 2, 3)
        b = b if a @ b > 0 else -b
        a, b = a * 2.0 ** rng.uniform(-600, 600), b * 2.0 ** rng.uniform(-600, 600)
        ra, rb = (2.0 ** (1 - math.frexp(float(np.abs(v).max()))[1]) for v in (a, b))
        want = _mp(formula, (*_a, *_b), [*a, *b], 100)
        got = _mp(lagrange.body, lagrange.leaves, [*(a * ra), *(b * rb)], 100)
        assert abs(got - want) <= mpmath.mpf("1e-45") * abs(want), (got, want)
