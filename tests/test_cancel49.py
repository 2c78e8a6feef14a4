"""Session 49, helper cancel49: results that cross zero, or round too often, left as strict xfails by sessions 39–48.

Fixed here:
- sum-power-cancel (extended, symnet/codegen/rewrite/powers.py): an inner sum N over a half power of a sum,
  N·B^(−k/2) (its whole powers were already one widened quotient, gru38), was the widened N times B^(−k/2) in float64:
  B rounded (about 0.9 ulp), B^(−3/2) of it (1.35 ulp more), the power's own rounding and the product's. The cosine loss
  with its ε under one root, 1 − a·b/√(‖a‖²‖b‖² + ε) (test_mirror47's strict xfail), had ∂b and ∂d 4.46 and 4.52 ULP
  in float64 at one of 100 ordinary points U(−3, 3)⁴ each, torch better there (1.46 and 0.52); the written RMSNorm
  x₁/√((x₁² + x₂² + x₃²)/3 + 10⁻⁶) (test_user47's strict xfail) had ∂x₁ = 1000·√3·N·S^(−3/2) 4.29 ULP at (−8804328.8,
  −4.48, −0.497) (torch 3.4e12), the number 1000·√3 rounded twice more. Now the quotient (with a number beside it) is
  one widened node, B, √B and the quotient in double words, rounded once: ≤ 0.50 ULP at those points (below, 200
  more each). Where an input is past 2^±⌊960/D⌋ (D the largest degree of N, of B^⌈k/2⌉ and of the number; not 0),
  the written form as before, the node rules' far selects, in NumPy's far block (computed only on the elements that
  take it): the far points the base gets right stay right (below).
  Cost (NumPy, the whole kernel, f and every gradient, 10⁶ elements U(−3, 3), base and branch in turn in one process,
  best of 5, CPU time; the box noisy ±15 %): the cosine loss 1.02–1.05× float64, 1.24–1.26× float32; the written
  RMSNorm 1.30–1.32× float64 (its ∂x₁ now in double words on every element: the fault is at ordinary points, where no
  select can tell it), 0.74–0.77× float32.

References: mpmath at 100 digits (200 at the far points) of SymPy's derivatives of the formula as written; torch
autograd of the formula as written in the same dtype (conftest.measure_formula).
"""
import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, measure_formula, mp_function, triton_torch, ulps

MP_DPS = 200

COSINE = "1 - (a*c + b*d)/sqrt((a**2 + b**2)*(c**2 + d**2) + 1e-12)"
RMS = "x1/sqrt((x1**2 + x2**2 + x3**2)/3 + 1e-6)"
BOUND = {np.float64: 4.0, np.float32: 8.0}

RULE_CASES = []  # no new rule: sum-power-cancel's cases (tests/test_found34.py, test_gru38.py) cover its exactness


def _assert_within(measured):
    for n, (worst, past, worse, _) in enumerate(measured):
        assert past == 0 and worse == 0, (n, measured)


def _cosine_points(kind, n=200):
    rng = np.random.default_rng(49)
    if kind == "ordinary":
        return [rng.uniform(-3, 3, n) for _ in range(4)]
    if kind == "around the fault":  # test_mirror47's point 17, each input times 1 + U(−10⁻³, 10⁻³)
        point = (-0.5813220813172246, -0.4744716322952227, -1.8792379238771488, 0.5097974904737677)
        return [p * (1 + rng.uniform(-1e-3, 1e-3, n)) for p in point]
    return [rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-30, 30, n) for _ in range(4)]  # "wide"


@pytest.mark.parametrize("kind", ["ordinary", "around the fault", "wide"])
def test_cosine_loss_gradients_within_bound(kind):
    """Before (9d4d1074): ordinary 4.46/4.52 ULP (∂b/∂d) at test_mirror47's 100 points, past 4 and worse than torch."""
    # (the wide points' truth at 300 digits: at 100 the written gradient's terms, 10⁶⁰ apart, cancel past them)
    measured = measure_formula(COSINE, "a b c d", _cosine_points(kind), np.float64, digits=300 if kind == "wide" else 100)
    _assert_within(measured)
    if kind != "wide":  # (10^±30: some inputs past 2^±120, where the written form's far selects take it)
        assert max(m[0] for m in measured[1:]) <= 1.0, measured


def test_cosine_loss_gradients_float32():
    measured = measure_formula(COSINE, "a b c d", _cosine_points("ordinary", 100), np.float32)
    _assert_within(measured)


def _rms_points(kind, n=200):
    rng = np.random.default_rng(149)
    if kind == "around the fault":  # test_user47's point: x₁ = −8804328.8 ≫ x₂, x₃
        return [-8804328.84607843 * 10.0 ** rng.uniform(-2, 2, n), rng.uniform(-5, 5, n), rng.uniform(-1, 1, n)]
    if kind == "ordinary":
        return [rng.uniform(-3, 3, n) for _ in range(3)]
    return [rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-40, 40, n) for _ in range(3)]  # "wide"


@pytest.mark.parametrize("kind", ["around the fault", "ordinary", "wide"])
def test_written_rmsnorm_gradient_within_bound(kind):
    """Before (9d4d1074): ∂x₁ 4.29 ULP at test_user47's point, 3.74 over these wide points, 3.19 ordinary."""
    measured = measure_formula(RMS, "x1 x2 x3", _rms_points(kind), np.float64, digits=300 if kind == "wide" else 100)
    _assert_within(measured)
    assert measured[1][0] <= 1.0, measured


# far points where the base's written form (the node rules' far selects) is right; the half-power quotient in double
# words, taken everywhere, was NaN or 0 at them (B overflows or B^(−3/2) underflows); now the written form past 2^±240
FAR_RMS = [
    (3.142971206099873e+124, -1.7903645741721323e+215, 1.9334182722599707e+234),
    (-104.32282337028953, 1.5585353428095854e+176, -8.455560291766209e+66),
    (2.6494157890137324e-211, -2.4439336733420884e+118, -3.616621137482555e-107),
    (-1.2799534962553758e+119, 2.676787877122648e-297, 2.7146065504085543e+75),
    (-9.00986896098899e+127, -6.28467075282123e+58, 2.3374000157202708e-151),
]


def test_written_rmsnorm_gradient_far_from_one_stays_as_before():
    k = compiled(RMS)
    x1, x2, x3 = sp.symbols("x1 x2 x3", real=True)
    expr = sp.sympify(RMS, locals={"x1": x1, "x2": x2, "x3": x3})
    truth = mp_function(sp.diff(expr, x1), (x1, x2, x3))
    columns = [np.array(c) for c in zip(*FAR_RMS)]
    with np.errstate(all="ignore"):
        got = dict(zip(k.outputs, k(*columns)))["df_dx1"]
    for point, g in zip(FAR_RMS, got):
        want = truth(*(mpmath.mpf(v) for v in point))
        assert ulps(g, want, np.float64) <= 4, (point, g, want)


@pytest.mark.parametrize("formula, columns", [
    (COSINE, _cosine_points("ordinary", 32)), (RMS, _rms_points("around the fault", 32)),
    (RMS, [np.array(c) for c in zip(*FAR_RMS)])], ids=["cosine", "rms", "rms-far"])
def test_triton_kernel_takes_the_same_quotient(formula, columns):
    """Triton (the interpreter where there is no GPU) against the NumPy kernel, float64: within 2 ULP of it."""
    torch = triton_torch()
    with np.errstate(all="ignore"):
        mine = compiled(formula)(*columns)
    theirs = compiled(formula, "triton")(*[torch.tensor(c) for c in columns])
    for x, y in zip(mine, theirs):
        for u, v in zip(x, y.cpu().numpy()):
            assert ulps(float(v), mpmath.mpf(float(u)), np.float64) <= 2, (formula, u, v)
