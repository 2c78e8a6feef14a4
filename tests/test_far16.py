"""Issue 16, session 16: the NumPy elementwise emitter computes a select's far branches only where they are taken.

NumPy computes every branch of a select on every element. An output that is a select whose every branch but the
last is taken only beyond a far constant (the focal loss's z > 1000 and z < −1000: ``FAR`` = 100) is now written in
two steps: its last branch on every element, then the whole select over the elements where a far condition holds
(``_far = np.nonzero(...)``, nothing where there are none), with the temporaries only its far branches need.
Every value is bit for bit that of the select computed everywhere (the printing with ``FAR`` = ∞), checked here on
odd shapes, views, 0-d inputs, data with and without far values, float32 and float64. Speed (measured, never
asserted): benchmarks/focal16.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from symnet.codegen.backends.numpy import elementwise

# two selects, one of them inside a sum (not an output's own select: computed everywhere as before), gradients whose
# selects are far (x > 1000, x < −300) and a widened sum in one far branch
WRITTEN = "where(x > 1000, y*log(x), exp(-x)*y) + where(x < -300, x*y, 0)"


def _compiled_both(formula):
    """The kernel as emitted now and with no condition far (FAR = ∞: every select computed on every element)."""
    import symnet

    d = symnet.derive(formula)
    now = symnet.compile(d, "numpy")
    kept = elementwise.FAR
    try:
        elementwise.FAR = math.inf
        everywhere = symnet.compile(d, "numpy", name="everywhere")  # another name: not the cached kernel
    finally:
        elementwise.FAR = kept
    # (the far-select's names, not _constant_far's: a product taken again by exponents calls it, session 32)
    assert "_far = np.nonzero(" in now.source and "_far = " not in everywhere.source and "_far]" not in everywhere.source
    return now, everywhere


def _same_bits(got, want):
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert np.array_equal(g.reshape(-1).view(np.uint8), w.reshape(-1).view(np.uint8)), (g, w)


# one input: the rebinding of the block's arrays at the far indices is one name (``x = x[_far]``, not ``x, = …``)
ONE_INPUT = "where(x > 1000, log(x), exp(-x)*x)"


@pytest.fixture(scope="module")
def written():
    return _compiled_both(WRITTEN)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_input(dtype):
    now, everywhere = _compiled_both(ONE_INPUT)
    x = np.array([-2.0, 0.0, 999.0, 1000.5, 3e4, np.inf, -np.inf, np.nan, 7.5], dtype)
    _same_bits(now(x=x), everywhere(x=x))
    _same_bits(now(x=x[4]), everywhere(x=x[4]))  # 0-d


def test_the_far_branches_are_printed_apart(written):
    now, _ = written
    body = now.source[now.source.index("_inputs(x=x, y=y)"):]
    code = "\n".join(line for line in body.splitlines() if not line.strip().startswith("#"))
    # the far branch y/x of ∂f/∂x is not computed on every element: it is only in the block under `if _far.size:`
    every_element, far = code.split("if _far.size:")
    assert "y/x" not in every_element and "df_dx[_far] = " in far
    assert "np.nonzero((x < -300) | (x > 1000))" in body or "np.nonzero(x_lt_minus_300 | x_gt_1000)" in body


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("far_share", [0.0, 0.01, 1.0])
def test_bit_for_bit_the_select_computed_everywhere(written, dtype, far_share):
    now, everywhere = written
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 3.0, (3, 5, 7))
    pick = rng.uniform(size=x.shape) < far_share
    x[pick] = rng.choice([1000.5, 2e3, -300.5, -1e5, 1e30, -np.inf, np.inf, np.nan], pick.sum())
    y = rng.normal(0.0, 2.0, x.shape)
    with np.errstate(all="ignore"):
        x, y = x.astype(dtype), y.astype(dtype)
    for args in [dict(x=x, y=y), dict(x=x.T, y=y.T), dict(x=x[:, ::2], y=y[:, ::2])]:  # odd shapes, views
        _same_bits(now(**args), everywhere(**args))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_d_inputs(written, dtype):
    """A 0-d input is repeated over the block (np.broadcast_to): taken at the far indices like any other."""
    now, everywhere = written
    y = np.linspace(-3, 3, 11).astype(dtype)
    for x in (dtype(2000.0), dtype(-400.0), dtype(1.5)):
        _same_bits(now(x=x, y=y), everywhere(x=x, y=y))
        _same_bits(now(x=np.linspace(-2e3, 2e3, 11).astype(dtype), y=y[3]),
                   everywhere(x=np.linspace(-2e3, 2e3, 11).astype(dtype), y=y[3]))
        _same_bits(now(x=x, y=y[3]), everywhere(x=x, y=y[3]))


def test_a_block_boundary(written):
    """Far values on both sides of a block's end (the emitter's loop takes BLOCK elements at a time)."""
    now, everywhere = written
    n = elementwise.BLOCK + 5
    x = np.zeros(n)
    x[[0, elementwise.BLOCK - 1, elementwise.BLOCK, n - 1]] = [1500.0, -500.0, 3000.0, -2e4]
    y = np.arange(n, dtype=np.float64)
    _same_bits(now(x=x, y=y), everywhere(x=x, y=y))


def test_what_is_far():
    import sympy as sp

    x = sp.Symbol("x", real=True)
    c = sp.Symbol("c")
    far = {c: x > 1000}
    assert elementwise._is_far(x > 1000, {}) and elementwise._is_far(x <= -100, {})
    assert elementwise._is_far(sp.Lt(1000, x, evaluate=False), {}) and elementwise._is_far(c, far)
    assert elementwise._is_far(sp.Or(x > 1000, x < -1e19), {})
    # an And holding a far condition holds only where it does (the focal loss's (z > 1000) ∧ (t < 1), session 18)
    assert elementwise._is_far(sp.And(x > 1000, x < 2000), {}) and elementwise._is_far(sp.And(x > 1000, c < 1), {})
    # near conditions, or far on the side towards 0: taken on ordinary data
    for cond in (x > 20, x < 1000, x > -1000, sp.Eq(x, 2000), sp.Or(x > 1000, x > 0), sp.And(x > 20, x < 2000)):
        assert not elementwise._is_far(cond, {}), cond


def test_the_focal_loss_with_gamma_an_input():
    """The registry's focal loss (its far branches beyond |z| = 1000): bit for bit the select computed everywhere at
    t ∈ {0, 0.3, 1}, γ ∈ {0, 0.5, 2}, z at ordinary and far values, float32 and float64."""
    now, everywhere = _compiled_both("focal(z, t, 1/4, gamma)")
    z = np.array([-1.7e308, -1e308, -1e38, -1e5, -1000.5, -800, -3.0, 0.0, 2.5, 800, 1000.5, 1e5, 1e38, 1e308, 1.7e308,
                  -np.inf, np.inf])
    g, t, z = (a.reshape(-1) for a in np.meshgrid([0.0, 0.5, 2.0], [0.0, 0.3, 1.0], z, indexing="ij"))
    for dtype in (np.float32, np.float64):
        with np.errstate(all="ignore"):
            args = dict(gamma=g.astype(dtype), t=t.astype(dtype), z=z.astype(dtype))
            _same_bits(now(**args), everywhere(**args))
