"""Session 35, h-tidy35: two NumPy helpers of the generated code, each with one test of its own.

1. ``_dw_where_finite(x_hi, value, plain)`` (doubleword): f of a double word x, or where x_hi is not finite f of the
   float64 argument; the generated call was written twice before (``call if np.isfinite(x_hi).all() else
   _dw_of_nonfinite(x_hi, call, plain)``). The float64 argument is still computed only where some x_hi is not finite.
2. ``_taken_by_exponents(r, m, k, factors, held)`` (NumPy printer): a product by exponents taken again where it, or a
   power it holds, is not a normal number while no factor is 0, ±inf or NaN. It was ``_taken_again(…, underflowed=True,
   held=…)``, whose ``underflowed`` took the whole product again by exponents wherever r was an exact 0 (x·y/z at
   x = 0), 0 again.
"""
import numpy as np

from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS


def _helpers(*names, **replaced):
    """The helpers' own text, as every generated module holds it, executed; ``replaced`` in their namespace after."""
    space = {"np": np}
    for name in names:
        exec(NUMPY_HELPERS[name], space)
    space.update(replaced)
    return space


def test_where_finite_computes_the_float64_argument_only_where_needed():
    called = []
    where_finite = _helpers("_dw_where_finite")["_dw_where_finite"]

    def plain():
        called.append(1)
        return np.array([np.tanh(-np.inf), np.tanh(0.5)])

    value = (np.array([0.25, 0.5]), np.array([1e-18, -2e-18]))
    assert where_finite(np.array([1.0, 2.0]), value, plain) is value and not called
    hi, lo = where_finite(np.array([-np.inf, 2.0]), value, plain)
    assert called == [1]
    assert hi.tolist() == [-1.0, 0.5] and lo.tolist() == [0.0, -2e-18]
    hi, lo = where_finite(np.array([np.nan, 2.0]), value, lambda: np.array([np.nan, 0.0]))
    assert np.isnan(hi[0]) and lo[0] == 0.0 and hi[1] == 0.5


def _counted_far(space):
    calls = []
    far = space["_constant_far"]

    def counted(*args):
        calls.append(1)
        return far(*args)
    space["_constant_far"] = counted
    return calls


def test_an_exact_zero_is_not_taken_again():
    """x·y/z by exponents where x is 0 (exact, either sign of zero) or z is 0 (r ±inf, exact): r as computed, and
    _constant_far not called; where no factor is 0 and r is not normal (x² overflowed, y subnormal): taken again."""
    space = _helpers("_normal", "_all_normal", "_constant_far", "_taken_by_exponents")
    calls = _counted_far(space)
    taken = space["_taken_by_exponents"]
    rng = np.random.default_rng(35)
    x, y, z = (rng.uniform(0.5, 2.0, 300) * rng.choice([-1, 1], 300) for _ in range(3))
    x[::3] = 0.0
    x[1::7] = -0.0
    z[2::11] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x * y / z
    out = taken(r, 1.0, 0, lambda: (x, 1, y, 1, z, -1))
    assert not calls
    assert np.array_equal(out, r, equal_nan=True) and np.array_equal(np.signbit(out), np.signbit(r))
    # c/(z²·y) with z² = inf (float32 x = −3e38, y = −1.4e−45: h-search34's point) beside exact zeros of a numerator
    x32 = np.array([-3.0000000054977558e38, 0.0, 2.0], np.float32)
    y32 = np.array([-1.401298464324817e-45, 1.0, 0.5], np.float32)
    with np.errstate(over="ignore"):
        sq = x32 ** 2
        r32 = -(1 / (sq * y32)) / np.float32(1000)
    out = taken(r32, -0.001, 0, lambda: (x32, -2, y32, -1), held=(sq,))
    assert calls == [1]
    want = -0.001 / (float(x32[0]) ** 2 * float(y32[0]))
    assert abs(float(out[0]) - want) <= 2 * float(np.spacing(np.float32(want))) and out[1:].tolist() == r32[1:].tolist()
