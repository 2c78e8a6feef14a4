"""h-meas31: faults session 30 measured without a test (issue 16), each at its failing point against mpmath (400 digits)
and torch's autograd in float64 of the formula as written, and over seeded random points.

- ∂u of (√u − √v)/√u as the engine derives it, 1/(2u) − (√u − √v)/(2u^(3/2)): the root-difference rule's select sat
  inside a sum it did not see, so 1/(2u) was subtracted from a rounded 1/(2u) + … and u^(3/2) overflowed. Now the
  sum is written out with the select's written sum (root-difference: √v/(2u^(3/2)), one term, in double words,
  divided stepwise).
- The same with the select's sum over a power of an input ((√u − √v)/u: (2√v − √u)/(2u²)) or another rule's select
  of one sum written several ways (common-power's, in ∂u of the Tweedie sum over √u): the form over the power,
  divided by its factors in turn, in double words.
- ∂u of log(Tweedie + 1) = 2(1 − v/u)/(√u·T): the distribute rule multiplied 1/T into both terms, which the
  common-power rule then could not factor. Now common-power takes a factor common to every term out first and puts it
  into the innermost sum of its stepwise form, ((K·(u − v))/u)/√u.
- log(1 + focal(z, t)) raised UnboundLocalError on every call of the NumPy kernel: a temporary no output reads, t·pow_1,
  was computed before the far-branch block that defines pow_1 (far_branches now moves such a temporary with it).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet

F64 = np.float64
BOUND = 4.0
TINY, HUGE = 2.2250738585072014e-308, 1.7976931348623157e308
TWEEDIE_LOG = "log(4*sqrt(u) - 8*sqrt(v) + 4*v/sqrt(u) + 1)"

_KERNELS: dict = {}


def _kernel(formula):
    if formula not in _KERNELS:
        _KERNELS[formula] = symnet.compile(symnet.derive(formula), "numpy", progress=False)
    return _KERNELS[formula]


def _gradient(formula, point, wrt):
    k = _kernel(formula)
    out = k(**{n: np.asarray(v, F64) for n, v in point.items()})
    return np.asarray(dict(zip(k.outputs, out))["df_d" + wrt], F64)


def _truth(formula, point, wrt):
    fn = sp.lambdify(sp.symbols("u v"), sp.diff(sp.sympify(formula), sp.Symbol(wrt)), "mpmath")
    with mpmath.workdps(400):
        return fn(mpmath.mpf(point["u"]), mpmath.mpf(point["v"]))


def _ulps(got, true) -> float:
    if not math.isfinite(got):
        return math.inf
    spacing = mpmath.mpf(float(np.spacing(F64(abs(float(true)))))) if abs(true) >= TINY else mpmath.mpf(5e-324)
    return float(abs(mpmath.mpf(got) - true) / spacing)


def _torch_gradient(formula, point, wrt):
    torch = pytest.importorskip("torch")
    args = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in point.items()}
    fn = sp.lambdify(sp.symbols("u v"), sp.sympify(formula), {"sqrt": torch.sqrt, "log": torch.log})
    fn(args["u"], args["v"]).backward()
    return float(args[wrt].grad)


# (formula, point, wrt): before h-meas31 → after, float64, ULP against mpmath (torch autograd in brackets)
FAILING = [
    # 5e−301 for 1e−300: 3.0e15 ULP (torch 0.47) → 0.47
    ("(sqrt(u) - sqrt(v))/sqrt(u)", {"u": 1e300, "v": 4e300}, "u"),
    # 5.0000004137e−11 for 5e−11: 6.4e8 ULP (torch the same) → 0.0
    ("(sqrt(u) - sqrt(v))/sqrt(u)", {"u": 1.0, "v": 1e-20}, "u"),
    # +inf for −6.276e229 (torch 2 ULP) → ≤ 0.5
    ("(sqrt(u) - sqrt(v))/sqrt(v)", {"u": 9.958295744698147e-232, "v": 3.9833182986688223e-231}, "v"),
    # −inf for −8.4997e292 (torch 1 ULP) → ≤ 0.5
    ("(2*sqrt(u) - sqrt(v))/sqrt(v)", {"u": 1.1765170048231902e-293, "v": 1.1765170060518394e-293}, "v"),
    # ∂u of (√u − √v)/u = (2√v − √u)/(2u²), u² overflowing: inf for 1.178e305 (torch 1.5 ULP) → ≤ 0.5
    ("(sqrt(u) - sqrt(v))/u", {"u": 5.452835349155537e-204, "v": 2.1811341391951713e-203}, "u"),
    # ∂u of the Tweedie sum over √u = 4√v(√u − √v)/u² (common-power's select inside): −inf for 2.185e272 (torch 1.1e10
    # ULP) → ≤ 1
    ("(4*sqrt(u) - 8*sqrt(v) + 4*v/sqrt(u))/sqrt(u)", {"u": 2.2261635636722997e-283, "v": 2.226163563618148e-283}, "u"),
    # log(Tweedie + 1) ∂u near u = v: 9.7e−293 for −4.68e−295, 1.1e18 ULP (torch 1.5e5) → ≤ 1
    (TWEEDIE_LOG, {"u": 8.920904630692294e+296, "v": 8.963737656771077e+296}, "u"),
    # u^(3/2) underflowing: −inf for −8.957e106 (torch 2.5e9 ULP) → ≤ 1
    (TWEEDIE_LOG, {"u": 5.602804485211067e-233, "v": 5.602804487089242e-233}, "u"),
    # (u − v)/u/√u overflowing before the factor 1/T: −inf for −2.98e246 (torch 1 ULP) → 0.2
    (TWEEDIE_LOG, {"u": 1.6758616649240115e-247, "v": 5.085723756317227e-48}, "u"),
    # session 30's point: 1.79 ULP (torch 0.21) → 0.79; see the strict xfail below
    (TWEEDIE_LOG, {"u": 1e100, "v": 2.5e99}, "u"),
]


@pytest.mark.parametrize("formula, point, wrt", FAILING, ids=range(len(FAILING)))
def test_gradient_at_the_failing_point(formula, point, wrt):
    true = _truth(formula, point, wrt)
    ours = _ulps(float(_gradient(formula, point, wrt)), true)
    theirs = _ulps(_torch_gradient(formula, point, wrt), true)
    assert ours <= min(BOUND, max(theirs, 1.0)), (ours, theirs)
    if "log" not in formula and "8*" not in formula:  # one double-word term, rounded once
        assert ours <= max(theirs, 0.5), (ours, theirs)


# Not fixed: ∂u and ∂v of log(Tweedie + 1) at (1e100, 2.5e99) are 0.79 and 0.72 ULP where torch lands 0.21 and 0.28:
# the product (K·(u − v))/u/√u with K = 2/T (∂v: 4·(root-difference select)/T) rounds T = 1 + the deviance, K and
# each step once; not worse than torch needs T inside the double words (a select of three branches there).
# Re-measured session 34 (h-xfailb34): unchanged, ∂u 1.4999999999999998e−100 (0.788 ULP), ∂v −3.9999999999999996e−100
# (0.717); within issue 16's 4 ULP, but torch's 0.21 / 0.28 needs the result rounded once: T = 1 + w (w the widened
# body's value, already rounded) and 1/T, (u − v), /u, /√u each round, where a double-word T needs w's lo word.
# Session 35 (h-round35): unchanged; the long-product rule counts 9 roundings in ∂u's product 2·((T⁻¹·(u − v))/u)/√u
# and widens from 12 (three times the bound of 4 ULP): widening from 9 would put the kernels' many shorter products
# into double words for a rounding torch happens to avoid at this point.
# Session 36 (h-meas36): at this point v = u/4, so w = 4(√u − √v)²/√u is √u itself and ∂u = 1.5/u; w and √u are each
# rounded once with the same error (+0.31 of 2⁻⁵²) and both divide, 0.62 before 1/T (−0.46), u − v (+0.29), the
# product (−0.14) and the quotients (+0.21, −0.18) add theirs: no order of the rounded steps does better here (five
# tried: 0.79 or 1.79); only √u·T in double words does. Around it symnet is the better by far (tests/test_meas36.py):
# 150 pairs within ±10⁻³, ∂u ours ≤ 1.96 ULP (mean 0.53), torch ≤ 3.93 (1.50); 150 with u in 1e80..1e120, v/u in
# 0.1..0.9, ours ≤ 2.20 (0.63), torch ≤ 549 (21.8); ∂v alike. Ours past max(torch, 0.5) at 7–16 % of them.
@pytest.mark.xfail(strict=True, reason="measured: log(Tweedie + 1) ∂u 0.79 ULP, ∂v 0.72 at (1e100, 2.5e99); torch "
                   "0.21, 0.28 (session 34: unchanged; session 36: √u and w = √u here round alike, 0.62 of it; around "
                   "the point ours ≤ 2.2 ULP where torch reaches 549, tests/test_meas36.py)")
def test_log_tweedie_not_worse_than_torch_at_session_30s_point():
    point = {"u": 1e100, "v": 2.5e99}
    for wrt in ("u", "v"):
        true = _truth(TWEEDIE_LOG, point, wrt)
        ours = _ulps(float(_gradient(TWEEDIE_LOG, point, wrt)), true)
        assert ours <= max(_ulps(_torch_gradient(TWEEDIE_LOG, point, wrt), true), 0.5), (wrt, ours)


def _points(n, seed):
    """Positive pairs: half near v = c·u (c = 1, 4, 1/4, within 1e−16..1e−1), the rest log-uniform over 1e±300."""
    rng = np.random.default_rng(seed)
    u, v = 10.0 ** rng.uniform(-300, 300, n), 10.0 ** rng.uniform(-300, 300, n)
    m = n // 2
    c = rng.choice([1.0, 1.0, 4.0, 0.25], m)
    v[:m] = u[:m] * c * (1 + rng.uniform(-1, 1, m) * 10.0 ** rng.uniform(-16, -1, m))
    return u, v


# Over 1,000 seeded points (seed 7) each, where the true value is a normal float64: (√u − √v)/√u ∂u ≤ 0.546 ULP,
# (√u − √v)/√v ∂v ≤ 0.4998, (2√u − √v)/√v ∂v ≤ 0.49999, none worse than max(torch, 0.5); before: 63, 72, 66 of
# 150 points (seed 1) past 4 ULP, many of them inf. The test takes 200 points of another seed.
@pytest.mark.parametrize("formula, wrt", [("(sqrt(u) - sqrt(v))/sqrt(u)", "u"), ("(sqrt(u) - sqrt(v))/sqrt(v)", "v"),
                                          ("(2*sqrt(u) - sqrt(v))/sqrt(v)", "v")])
def test_root_quotient_gradients_over_random_points(formula, wrt):
    u, v = _points(200, 31)
    got = _gradient(formula, {"u": u, "v": v}, wrt)
    bad = []
    for i in range(len(u)):
        true = _truth(formula, {"u": u[i], "v": v[i]}, wrt)
        if TINY <= abs(true) <= HUGE and _ulps(float(got[i]), true) > 1.0:
            bad.append((u[i], v[i], float(got[i]), _ulps(float(got[i]), true)))
    assert not bad, bad[:5]


# ------------------------------------------------------------------ the far-branch block's temporaries

def test_a_temporary_reading_a_far_only_one_goes_with_it():
    # log(1 + focal(z, t)) before: t·pow_1 (no output reads it) was printed before the far block that defines pow_1,
    # UnboundLocalError on every call of the NumPy kernel (95 s to compile it, so the test takes the block's rule alone)
    from symnet.codegen.backends.numpy.elementwise import far_branches

    z, t, p, q, c = sp.symbols("z t p q c")
    assignments = [(c, z > 1000), (p, 1 / (1 + z)), (q, t * p)]
    far = far_branches(assignments, [sp.Piecewise((2 * p, c), (t, True))])
    assert p in far.only and q in far.only, far
