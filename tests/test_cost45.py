"""Session 45, h-cost45 (issue 16): the costly rules made cheaper, the values unchanged.

References: mpmath (60 digits) of the derivatives written by hand, not the printed form; torch autograd in float64 at
the same points. Costs (NumPy CPU time, 1e6 elements, best of 5): benchmarks/cost45.py, results/cost45.txt."""
import warnings

import numpy as np
import pytest
import sympy as sp

from test_hyp42 import _kernel, _normal, _ulps  # noqa: F401  (session 42's runner and measures)
from test_hyp43 import BOUND, INVERSE_HYPOTENUSE, _inverse_hypotenuse_gradients, _torch_inverse_hypotenuse


# ---------------------------------------------------------------- 2. the hypot rule's by-exponents branch, far only:
# max(|x|, |y|) < 2⁻¹⁶ is far (a never-negative value below a tiny constant), so its select's branches run on those
# elements alone (before: on every element, z/√(x² + y²) 119 ms float64 / 85 ms float32 for 1e6, after 57 / 35)

def test_a_never_negative_value_below_a_tiny_constant_is_far():
    """_is_far of the hypot rule's condition (max|v| > 2¹⁶ or 0 < max|v| < 2⁻¹⁶): False before (the small side was
    not far, so the Or was not), True after; x < 2⁻¹⁶ (x may be negative) and |x| < 1/4 (ordinary) stay near."""
    from symnet.codegen.backends.numpy.elementwise import _is_far
    x, y, m = sp.symbols("x y m", real=True)
    definitions = {m: sp.Max(sp.Abs(x), sp.Abs(y))}
    tiny, big = sp.Float(2.0 ** -16), sp.Float(65536.0)
    assert _is_far(sp.Or(sp.And(m <= sp.Float(1.8e308), m > big), sp.And(m > 0, m < tiny)), definitions)
    assert _is_far(sp.Abs(x) < sp.Float(2.0 ** -20), {})
    assert not _is_far(x < tiny, {})
    assert not _is_far(sp.Abs(x) < sp.Float(0.25), {})
    assert not _is_far(x - y < tiny, {})


def test_inverse_hypotenuse_far_block_holds_the_by_exponents_branch():
    """The generated kernel computes the by-exponents branch in its far block (np.nonzero of a condition holding
    max|v| < 2⁻¹⁶); before, there was no far block in z/√(x² + y²): every branch on every element."""
    source = _kernel(INVERSE_HYPOTENUSE).source
    far = [line for line in source.splitlines() if line.strip().startswith("# far out (")]
    assert far and "< 1.52587890625e−5" in far[0] and "> 65536.0" in far[0], far


def _mixed_points(dtype, n, seed):
    """max(|x|, |y|) in 2^[−40, 40] (float32 2^[−30, 30]): near and far (past 2^±16, and 2^±64) elements side by
    side in one array, x/y in 2^[−20, 20], z of either sign."""
    rng = np.random.default_rng(seed)
    span = 40 if dtype == np.float64 else 30
    m = 2.0 ** rng.uniform(-span, span, n)
    r = 2.0 ** rng.uniform(-20, 0, n)
    x, y = m * rng.choice([-1, 1], n), m * r * rng.choice([-1, 1], n)
    swap = rng.uniform(0, 1, n) < 0.5
    x, y = np.where(swap, y, x), np.where(swap, x, y)
    z = rng.choice([-1, 1], n) * 2.0 ** rng.uniform(-10, 10, n)
    return x.astype(dtype), y.astype(dtype), z.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inverse_hypotenuse_over_near_and_far_elements_together(dtype):
    """f, ∂x, ∂y, ∂z at 300 points whose near and far elements share one array (the far block gathers and scatters
    them): within 4 / 8 ULP of mpmath where the truth is normal, never past it where torch is within it; and each
    element bit for bit the value of that element computed alone. Measured the same before (8d42f217) and after (the
    select's values do not change): float64 f 1.38, ∂x 2.40 (torch 3.85), ∂y 2.21 (torch 4.03) ULP at most; float32
    1.87, 2.45, 2.52 (torch 0.50: float64 rounded)."""
    import mpmath
    x, y, z = _mixed_points(dtype, 300, 45)
    kernel = _kernel(INVERSE_HYPOTENUSE)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = kernel(x=x, y=y, z=z)
        alone = [kernel(x=x[i:i + 1], y=y[i:i + 1], z=z[i:i + 1]) for i in range(len(x))]
    for k in range(4):
        assert np.array_equal(got[k], np.concatenate([a[k] for a in alone]), equal_nan=True), k
    dx, dy = _inverse_hypotenuse_gradients(x, y, z)
    with mpmath.workdps(60):
        f = [mpmath.mpf(float(c)) / mpmath.sqrt(mpmath.mpf(float(a)) ** 2 + mpmath.mpf(float(b)) ** 2)
             for a, b, c in zip(x, y, z)]
        dz = [1 / mpmath.sqrt(mpmath.mpf(float(a)) ** 2 + mpmath.mpf(float(b)) ** 2) for a, b in zip(x, y)]
    theirs = _torch_inverse_hypotenuse(x, y, z)
    for name, mine_out, truths, their_out in (("f", got[0], f, None), ("dx", got[1], dx, theirs[0]),
                                               ("dy", got[2], dy, theirs[1]), ("dz", got[3], dz, None)):
        normal = _normal(truths, dtype)
        assert normal.sum() > 250, name
        mine = _ulps(mine_out, truths, dtype)
        assert mine[normal].max() <= BOUND[dtype], (name, mine[normal].max())
        if their_out is not None:
            with np.errstate(over="ignore"):
                theirs_u = _ulps(their_out.astype(dtype), truths, dtype)
            assert not ((mine > BOUND[dtype]) & (mine > theirs_u) & normal).any(), name


# ---------------------------------------------------------------- 3. a float32 kernel's algebraic quotient: each sum's
# cancellation tested (doubleword._CancellationBound), not the running bound through every node (squareplus′'s float32
# kernel 1.62× the code before h-wgan44's within=, after 1.30×; benchmarks/cost45.py)

SQUAREPLUS = "(x + sqrt(x**2 + 4))/2"


def test_squareplus_float32_branch_tests_its_sum_not_a_running_bound():
    """The widened 4/(√S·(√S − x)) of squareplus′: its float32 branch keeps the float64 body where |√S| + |x| ≤
    2^K·|√S − x| (one check; 4 + x² has terms of one sign), no ``_err`` array; before (8d42f217) it carried
    sum_1_err, sqrt_sum_1_err, rsqrt_sum_1_err, … (the running bound, 25 operations)."""
    source = _kernel(SQUAREPLUS).source
    start = source.index("def _dw_widened_")
    branch = source[source.index("# a float32 kernel's 2⁻³⁰", start):source.index("if keep.all():", start)]
    assert "_CancellationBound" in branch and "_err" not in branch, branch
    assert branch.count("<= 1048576.0*") == 1, branch


def _squareplus_truth(x):
    import mpmath
    with mpmath.workdps(60):
        out = []
        for v in x:
            v = mpmath.mpf(float(v))
            r = mpmath.sqrt(v * v + 4)  # x < 0: 2/(r·(r − x)), (1 + x/r)/2 over one denominator (no cancellation)
            out.append(2 / (r * (r - v)) if v < 0 else (1 + v / r) / 2)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_squareplus_gradient_over_its_cancellation(dtype):
    """∂x of squareplus, (1 + x/√(x² + 4))/2 (≈ 1/x² for x → −∞: the sum cancels), at 300 points x = ±10^U(−3, 19)
    (float64 ±10^U(−3, 150)), three in four negative: within 4 / 8 ULP of mpmath, never past it where torch (float64
    autograd of the written formula, rounded) is within it. Measured the same before (8d42f217) and after (the sums of
    the 300 ULPs equal too): float64 ≤ 1.10 ULP, float32 ≤ 0.50 (torch 1.2e288 / 6.2e26: its 1 + x/r cancels)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4545)
    top = 19 if dtype == np.float32 else 150
    x = (np.where(rng.uniform(0, 1, 300) < 0.75, -1, 1) * 10.0 ** rng.uniform(-3, top, 300)).astype(dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = _kernel(SQUAREPLUS)(x=x)[1]
    truths = _squareplus_truth(x)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ((tx + torch.sqrt(tx ** 2 + 4)) / 2).sum().backward()
    normal = _normal(truths, dtype)
    assert normal.sum() > 250
    mine = _ulps(got, truths, dtype)
    theirs = _ulps(tx.grad.numpy().astype(dtype), truths, dtype)
    assert mine[normal].max() <= BOUND[dtype], mine[normal].max()
    assert not ((mine > BOUND[dtype]) & (mine > theirs) & normal).any()
