"""Session 47, helper review47 (issue 16): what the merge of session 47's helpers made worse, measured with
benchmarks/review47_probe.py on dfe9bdb8 (the session's base) and on 2e0a08fe (main with the helpers merged),
compared by benchmarks/review45_compare.py ... review47 against mpmath (700 digits) and torch autograd in the same
dtype.

Fixed here:
- ∂y of (x + y)/(x − y)², (x − y)⁻² + 2·(x + y)/(x − y)³: mirror47's widen-quotients reading (a select's sign from its
  first value) widened ∂x, and the kernel's common subexpressions then took ∂y's (x − y)⁻² as 1/(x − y)², two roundings
  where there was one, amplified ~12× where 3x + y ≈ 0, and 0 where (x − y)² overflows: 7.72 → 23.7 ULP in float64 at
  (−0.328, 0.886) (torch 7.72), 2.39 → 5.61 at (0.0407, −0.1008) (torch 5.61), and 3.3e−309 → 2.2e−309 at
  (2.99e154, −8.3e−153) (torch 6.8e14 ULP). widen-quotients now reads a term with a sum of inputs of either sign as a
  factor that no other term holds (x + y here) as of either sign (branches._lone_sum_factor): ∂y is widened beside ∂x.

Checked, not a fault: −log(σ(a) − σ(b)) at a ≫ b ≫ 1 is b (past47's log-sigmoid-difference; dfe9bdb8 and torch: inf);
the compare's 700-digit truth says +inf there (σ(a) and σ(b) round to the same 700 digits), the closed form below not.

References: mpmath (100 digits; the closed form e^(−b) − e^(−a) over (1 + e^(−a))(1 + e^(−b)) for σ(a) − σ(b)) of the
formula as written and of SymPy's derivatives of it; torch autograd of the formula as written, in the same dtype.
results/review47.txt holds the probe's table.
"""
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, measure_formula, triton_torch, ulps


BOUND = {np.float64: 4.0, np.float32: 8.0}
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
F64 = np.float64

_x, _y = sp.symbols("x y", real=True)
QUOTIENT = "(x + y)/(x - y)**2"

RULE_CASES = [  # (widen-quotients: ∂y's terms hold no minus sign; the far point's (x − y)² overflowed in 1/(x − y)²)
    ("widen-quotients", (_x + _y) / (_x - _y) ** 2, (_x, _y), (-4.0, 4.0),
     (2.99264816770915e+154, -8.307042479824062e-153), F64),
]


def _measure(formula, names, columns, dtype, digits=100):
    """Per output (f, then ∂ by each of ``names``): (worst ULPs where the truth is normal, points past the bound
    there, points past it and worse than torch anywhere, torch's worst); conftest's :func:`measure_formula`."""
    return measure_formula(formula, names, columns, dtype, digits=digits, normal_only=True)


def _quotient_points(kind, dtype, n=100):
    rng = np.random.default_rng(47)
    if kind.startswith("root of ∂y"):  # 3x + y ≈ 0: (x − y)⁻² and 2(x + y)/(x − y)³ cancel
        top = 5 if kind == "root of ∂y" else 250 if dtype == np.float64 else 30
        x = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-top, top, n)
        return x, -3 * x * (1 + rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-7 if dtype == np.float32 else -15, -1, n))
    if kind == "ordinary":
        return rng.uniform(-5, 5, n), rng.uniform(-5, 5, n)
    top = 300 if dtype == np.float64 else 37  # far: x² or (x − y)² past the range, the other input anywhere
    x = rng.choice([-1, 1], n) * 10.0 ** rng.uniform(top / 2, top, n)
    return x, rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-top, top, n)


# measured, these points, float64 ∂y (worst ULPs where the truth is normal, points past 4, of them worse than torch):
# root of ∂y (|x| to 1e5): dfe9bdb8 8.37e14, 97, 27; 2e0a08fe (merged main) 1.24e15, 97, 27 (torch 1.18e15);
# root of ∂y, wide (|x| to 1e250): dfe9bdb8 inf, 74, 8; 2e0a08fe inf, 74, 13 (torch inf); ordinary and far: within
# 2.9 ULP on both (∂x 7.02 → 0.50 ordinary by mirror47). float32: within 0.51 ULP on both. Now all within 0.50 ULP
@DTYPES
@pytest.mark.parametrize("kind", ["root of ∂y", "root of ∂y, wide", "ordinary", "far"])
def test_quotient_of_sum_over_square_difference(kind, dtype):
    measured = _measure(QUOTIENT, "x y", _quotient_points(kind, dtype), dtype)
    for n, (worst, past, worse, _) in enumerate(measured):
        assert past == 0 and worse == 0, (n, measured)


# the probe's three points (2e0a08fe's ∂y beside torch's): 23.7 (torch 7.72), 5.61 (5.61), 2.26e14 (6.78e14, a
# subnormal truth); dfe9bdb8: 7.72, 2.39, 0.012
_PROBE_POINTS = [(-0.32802405114664634, 0.8861309091258739), (0.04073941258319531, -0.10078661467160477),
                 (2.99264816770915e+154, -8.307042479824062e-153)]


def _slope_truth(x, y):
    with mpmath.workdps(60):
        X, Y = mpmath.mpf(x), mpmath.mpf(y)
        return (3 * X + Y) / (X - Y) ** 3  # (x − y)⁻² + 2(x + y)/(x − y)³ over one denominator


@pytest.mark.parametrize("x, y", _PROBE_POINTS)
def test_quotient_slope_at_the_probes_points(x, y):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _, _, dy = compiled(QUOTIENT)(np.array([x]), np.array([y]))
    assert ulps(dy[0], _slope_truth(x, y), np.float64) <= 1.0, dy[0]


def test_quotient_slope_at_the_probes_points_triton():
    """The Triton kernel of the same derivation (interpreted where there is no GPU), float64: 2e0a08fe's was 7.72 ULP
    at the first point (as dfe9bdb8's NumPy and torch: the cancellation was never widened in ∂y)."""
    torch = triton_torch()
    xs, ys = zip(*_PROBE_POINTS)
    _, _, dy = compiled(QUOTIENT, "triton")(torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64))
    for got, (x, y) in zip(dy.cpu().numpy(), _PROBE_POINTS):
        assert ulps(got, _slope_truth(x, y), np.float64) <= 1.0, (x, y, got)


def test_quotient_sum_reads_a_lone_sum_factor_as_either_sign():
    """_lone_sum_factor: x + y, a factor of one term only, is of the data's sign; x − y, held by both terms, and a sum
    that is of one sign (x² + 1) are not."""
    from symnet.codegen.rewrite.branches import _lone_sum_factor
    first, second = (_x - _y) ** -2, 2 * (_x + _y) / (_x - _y) ** 3
    assert _lone_sum_factor(second, [first, second])
    assert not _lone_sum_factor(first, [first, second])
    assert not _lone_sum_factor(2 * (_x - _y) ** -3, [first, 2 * (_x - _y) ** -3])
    assert not _lone_sum_factor(2 / (_x ** 2 + 1), [first, 2 / (_x ** 2 + 1)])


# ---------------------------------------------------------------- −log(σ(a) − σ(b)) far out: b, not inf

def test_log_sigmoid_difference_far_out_is_b():
    """At a ≫ b ≫ 1, −log(σ(a) − σ(b)) = b − log(1 − e^(b − a)) + log((1 + e^(−a))(1 + e^(−b))) ≈ b: the merged tree
    gives b (0 ULP at the probe's points), dfe9bdb8 and torch inf (σ(a) − σ(b) rounds to 0)."""
    a = np.array([9.990419494785234e+188, 2.0215384515244015e+132, 3.2285985508747103e+169, 7.7937530604911e+25])
    b = np.array([2.144548109422672e+105, 2469074864418212.0, 8.972425262278489e+50, 4.147140167224084e+22])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        f = compiled("-log(sigmoid(a) - sigmoid(b))")(a, b)[0]
    for got, av, bv in zip(f, a, b):
        with mpmath.workdps(50):
            A, B = mpmath.mpf(av), mpmath.mpf(bv)
            truth = -mpmath.log((mpmath.exp(-B) - mpmath.exp(-A)) / ((1 + mpmath.exp(-A)) * (1 + mpmath.exp(-B))))
        assert ulps(got, truth, np.float64) <= 1.0, (av, bv, got)


# ---------------------------------------------------------------- widen-quotients leaves a fallback as written

@pytest.mark.parametrize("formula", ["x*y/(x - y)**3", "x*y/(x - y)**4", "(x + 1)/(x - y)**3"])
def test_widen_quotients_keeps_written_fallbacks(formula):
    """A WrittenWhereNotFinite's second argument, the written form taken only where the computed one is not finite, is
    the same with widen-quotients as without it (mirror47's reading of a select's sign widened distributed-power-sum's
    fallbacks: 2.5–3.8× the NumPy cost of these three on 2e0a08fe, outputs unchanged at the probe's 600 points; now
    1.0–1.4× dfe9bdb8's, outputs bit-identical to 2e0a08fe's there)."""
    import symnet
    from symnet.codegen.rewrite import RULES, stabilise
    from symnet.codegen.rewrite.widening import WidenedBase, WrittenWhereNotFiniteBase
    without = tuple(r for r in RULES if r.name != "widen-quotients")
    for g in symnet.derive(formula).jacobian:
        mine = stabilise(g, RULES)[0]
        theirs = {w for w in sp.preorder_traversal(stabilise(g, without)[0]) if isinstance(w, WidenedBase)}
        widened = {w for f in sp.preorder_traversal(mine) if isinstance(f, WrittenWhereNotFiniteBase)
                   for a in f.args[1:] for w in sp.preorder_traversal(a) if isinstance(w, WidenedBase)}
        assert widened <= theirs, (g, widened - theirs)
