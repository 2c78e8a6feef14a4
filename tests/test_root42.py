"""h-root42: √ of a held power of a negative base in the Triton printer (session 41's _root_of_held_power), at the
point h-break42 found and over its neighbourhood, both dtypes, under the Triton interpreter, against mpmath and torch
autograd at the same points; and ∂y of the same formula at y = +inf (a strict xfail with its numbers).

Triton printed √t of a temporary t = y^e as y^(e/2) on every element: the wrong sign for y < 0 where e/2 is odd, and
a finite root where t < 0. It now prints |y|^(e/2) where t ≥ 0 and √t (NaN) elsewhere, as NumPy's _root_of_power
(h-break42, tests/test_break42.py) does.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}
FORMULA = "sqrt(y**(3*x + 1))"


def _triton(dtype, x, y):
    """[f, ∂x, ∂y] of FORMULA's Triton kernel at (x, y) in ``dtype``, as float64 arrays."""
    torch = triton_torch()
    td = torch.float64 if dtype is F64 else torch.float32
    k = compiled(FORMULA, "triton")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [o.double().numpy() for o in k(x=torch.tensor(np.asarray(x, dtype), dtype=td),
                                               y=torch.tensor(np.asarray(y, dtype), dtype=td))]


def _torch_value(dtype, x, y):
    """torch's √(y^(3x + 1)) as written, in ``dtype``, as float64."""
    torch = pytest.importorskip("torch")
    td = torch.float64 if dtype is F64 else torch.float32
    ty, tx = torch.tensor(np.asarray(y, dtype), dtype=td), torch.tensor(np.asarray(x, dtype), dtype=td)
    return (ty ** (3 * tx + 1)).sqrt().double().numpy()


def _negative_base_points(dtype, seed):
    """50 points for each of 3x + 1 ∈ {−2, 10, −14} (even: y^e ≥ 0), y < 0 over the dtype's range."""
    rng = np.random.default_rng(seed)
    top = 300 if dtype is F64 else 37
    x = np.repeat([-1.0, 3.0, -5.0], 50)
    y = -(10.0 ** rng.uniform(-top, top, x.size))
    return x.astype(dtype), y.astype(dtype)


def test_triton_root_of_a_held_power_of_a_negative_base_at_the_point():
    # before: −1e−200 for 1e−200 (the root y^(e/2) = (−1e200)^(−1)); torch 0 (y^−2 = 1e−400 underflows)
    f = _triton(F64, [-1.0], [-1e200])[0][0]
    assert ulps(f, mpmath.mpf(10) ** -200, F64) <= BOUND[F64], f
    assert _torch_value(F64, [-1.0], [-1e200])[0] == 0.0


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_triton_root_of_a_held_power_of_a_negative_base_around(dtype):
    # before (seed 4242, 150 points; e/2 ∈ {−1, 5, −7} is odd in each case, so y^(e/2) had the wrong sign): past the
    # bound at 104 of 150 in both dtypes, 36 of them −inf for +inf (x = 3, y = −5.07e295 float64; y = −2.95e36
    # float32), worst finite 1.77e16 ULP float64, 3.3e7 float32; worse than torch at 89 (torch past at 32 / 31, 0 or
    # inf where y^e leaves the range). After: ≤ 1.0 ULP float64, ≤ 0.49 float32, never negative, never worse than torch
    x, y = _negative_base_points(dtype, 4242)
    f = _triton(dtype, x, y)[0]
    truth = [mpmath.mpf(abs(float(b))) ** (int(3 * float(a) + 1) // 2) for a, b in zip(x, y)]
    mine = np.array([ulps(g, t, dtype) for g, t in zip(f, truth)])
    theirs = np.array([ulps(g, t, dtype) for g, t in zip(_torch_value(dtype, x, y), truth)])
    worst = mine.argmax()
    assert mine.max() <= BOUND[dtype], (mine.max(), x[worst], y[worst], f[worst], float(truth[worst]))
    assert (f[~np.isnan(f)] >= 0).all()
    assert (mine <= np.maximum(theirs, BOUND[dtype])).all()


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_triton_root_of_a_held_power_keeps_nan_where_the_power_is_negative(dtype):
    # y^e < 0 (e odd: x = 0, 2 with y < 0), a non-integer power of a negative base (x = 0.1), NaN: √ is NaN (torch
    # NaN), not |y|^(e/2) (which is finite there): the select on t ≥ 0 keeps it. It passed before too (y^(e/2) of a
    # negative y at an odd e is NaN): a guard of the new form
    x = np.array([0.0, 2.0, 0.1, 100.0, np.nan, 1.0])
    y = np.array([-1e20, -1e10, -3.0, -3.0, 2.0, np.nan])
    f = _triton(dtype, x, y)[0]
    assert np.isnan(f).all(), f
    assert np.isnan(_torch_value(dtype, x, y)).all()


def test_triton_root_of_a_positive_base_within_the_bound():
    # y > 0 (|y| = y, the same root as before): f ≤ 4 ULP at 200 points over the float64 range (inf past it)
    rng = np.random.default_rng(4243)
    x, y = rng.uniform(-100, 100, 200), 10.0 ** rng.uniform(-300, 300, 200)
    f = _triton(F64, x, y)[0]
    with mpmath.workdps(60):
        truth = [mpmath.mpf(b) ** ((3 * mpmath.mpf(a) + 1) / 2) for a, b in zip(x, y)]
        worst = max(ulps(g, t, F64) for g, t in zip(f, truth))
    assert worst <= BOUND[F64], worst


# measured before root49 (fixed by power-under-root): ∂y of sqrt(y**(3*x + 1)), (3x + 1)·y^(3x)/(2√(y^(3x + 1))), at y
# = +inf is NaN where the truth (3x + 1)/2·y^((3x − 1)/2) is 0 (x < 1/3) or inf (x > 1/3): 43 of 47 x (41 on [−5, 5],
# ±1/3, ±1e−300, ±inf) float64, 42 float32, NumPy and Triton alike (inf·0: y^(3x) = inf times 1/√(y^(3x + 1)) = 0);
# torch NaN at 42 of them: worse than torch only at x = 1e−300 (torch 0: its y^(3x + 1 − 1) rounds the exponent to y^0
# = 1)
def test_root_of_a_held_power_dy_at_positive_infinity():
    for backend in ("numpy", "triton"):
        if backend == "numpy":
            with np.errstate(all="ignore"):
                dy = compiled(FORMULA, "numpy")(x=np.array([1e-300, -1.0, 1.0]), y=np.full(3, np.inf))[2]
        else:
            dy = _triton(F64, [1e-300, -1.0, 1.0], [np.inf] * 3)[2]
        assert dy[0] == 0.0 and dy[1] == 0.0 and dy[2] == np.inf, (backend, dy)


# measured before root49 (fixed by power-under-root): ∂y of sqrt(y**(3*x + 1)) at a negative base, (3x +
# 1)·y^(3x)/(2√(y^(3x + 1))): at (−1, −7.798764738671677e102) float64 1.6441762145463244e−206 for
# 1.644176214546326e−206, 5.68 ULP Triton, 6.68 NumPy (torch 6.68), the same at +7.8e102: y^(3x) = y⁻³ subnormal,
# test_worsea41's class; over _negative_base_points' 150 (seed 4242) past the bound at 97 float64, 82 float32, NumPy
# and Triton alike (where y^(3x) or y^(3x + 1) leaves the range: 0, ±inf, NaN), torch past at 122 / 121; never worse
# than torch
def test_triton_root_of_a_held_power_of_a_negative_base_dy():
    x, y = [-1.0], [-7.798764738671677e102]
    got = _triton(F64, x, y)[2][0]
    with mpmath.workdps(60):
        assert ulps(got, 1 / mpmath.mpf(y[0]) ** 2, F64) <= BOUND[F64], got
