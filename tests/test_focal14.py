"""Issue 16, session 14: the focal loss with γ an input at t = 1, z > 745 (and t = 0, z < −745) for 0 < γ < 1, and
its argument domains (γ ≥ 0, t in [0, 1]), against mpmath.

* ∂t was NaN at t = 1, z = 930, γ = 1/2 (torch NaN too): CE·(1 − p_t)^(γ − 1) with CE = softplus(−z) and
  1 − p_t = σ(−z) both 0 in float64 and σ(−z)^(−1/2) = ∞ is ∞·0, where the true ∂t is −2.6e−200. The mixture-ratio
  rule writes it (1 − p_t)^γ·(CE/(1 − p_t)), the ratio softplus(−z)/σ(−z) at t = 1 (1 beyond z = 80); the
  mixture-power rule writes (1 − p_t)^γ at t = 1 as e^(−γ·softplus(z)) (σ(−z)^γ was 0: ∂t's −z·α·(1 − p_t)^γ
  term lost, the NaN hid it).
* Beyond |z| = 1000 the loss wrote 1 − p_t as 1 − t (z > 0): at t = 1 that is 0, and ∂t = −γ·α·0^(γ − 1)·CE was
  ∞·0 (NaN, and ∂γ 0·log 0) where the true ∂t is −α·z·σ(−z)^γ (−2.3e4 at γ = 1e−6, z = 1e5); the far branch now
  leaves out t = 1 (z > 0) and t = 0 (z < 0), where CE is tiny, not |z|.
* Domains: γ < 0 and t outside [0, 1] are refused in one line (a DomainError), in a formula's numbers, in a
  compiled formula's data and by symnet.torch's loss op; torchvision's sigmoid_focal_loss refuses neither.

The references: the written formula and its derivatives in mpmath (symnet.verify's reference, at as many digits as
it takes), and, for ∂t at t = 1 and t = 0, a one-sided difference of the registry's mpmath focal loss (the true
limit, independent of the derivation).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from symnet.registry import REGISTRY
from symnet.special import softplus
from test_elem12 import _focal_errors, _ulps
from test_focal13 import _MIXTURE, _g, _t, _z

_CE = _t * softplus(-_z) + (1 - _t) * softplus(_z)  # the focal loss's cross-entropy beside its 1 − p_t
# the rules' cases for tests/test_stability_rules.py: (rule, formula, variables, domain, bad point, dtype)
# Both cases are the focal loss itself at γ = 1/2, t = 1, z = 930 (float64; one kernel for both): ∂t NaN written.
# (Bare forms such as CE·b^(γ − 1) are not fixed everywhere: their ∂z holds (σ(z) − t)·b^(γ − 1), whose σ(z) − t
# is the sigmoid-target rule's select of ranges, not merged into the power at t = 1 (0 where the true value is
# about −e^−465), and the branch's e^(−(γ − 1)·softplus(z)) is rounded (γ − 1)·softplus(z)-fold where no product
# holding it is widened (30 ULP at γ = 0.9, z = 930); the focal loss's outputs are widened products and hold neither)
_FOCAL = REGISTRY["focal"](_z, _t, sp.Rational(1, 4), _g)
RULE_CASES = [
    ("mixture-ratio", _FOCAL, (_g, _t, _z), (0.05, 0.95), (0.5, 1.0, 930.0), np.float64),
    ("mixture-power", _FOCAL, (_g, _t, _z), (0.05, 0.95), (0.5, 1.0, 930.0), np.float64),
]

# (γ, t, z): ∂t NaN before (the first five: the general branch, 745 < |z| ≤ 1000; the rest: beyond |z| = 1000)
ENDPOINT = [(0.5, 1.0, 930.0), (0.5, 1.0, 746.0), (0.25, 1.0, 800.0), (0.5, 0.0, -930.0), (0.9, 0.0, -760.0),
            (1e-6, 1.0, 1e5), (0.5, 1.0, 1e5), (1e-6, 0.0, -1e5)]


def _mp_dt(gamma, t, z, alpha=mpmath.mpf("0.25")):
    """∂t of α_t·CE·B^γ at t = 0 or 1, written out by hand (60 digits, no cancellation: CE = log1p(e^∓z) and
    B = 1/(1 + e^±z) there): (2α − 1)·CE·B^γ + α_t·(softplus(−z) − softplus(z))·B^γ + α_t·γ·CE·B^(γ − 1)·(σ(−z) − σ(z)),
    softplus(−z) − softplus(z) = −z. Checked against a one-sided difference of the registry's loss below."""
    with mpmath.workdps(60):
        g, z = mpmath.mpf(gamma), mpmath.mpf(z)
        s = 1 if t == 1 else -1  # t = 1: CE = softplus(−z), B = σ(−z); t = 0: softplus(z), σ(z)
        ce, b = mpmath.log1p(mpmath.exp(-s * z)), 1 / (1 + mpmath.exp(s * z))
        weight = alpha if t == 1 else 1 - alpha
        tanh = 1 / (1 + mpmath.exp(z)) - 1 / (1 + mpmath.exp(-z))  # σ(−z) − σ(z)
        return (2 * alpha - 1) * ce * b ** g - weight * z * b ** g + weight * g * ce * b ** (g - 1) * tanh


@pytest.mark.parametrize("t", [0.0, 1.0])
def test_the_hand_derivative_is_the_registry_losss(t):
    """The hand ∂t against a one-sided difference of the registry's mpmath focal loss from inside [0, 1], where
    60 digits hold 1 − p_t (z = ±30)."""
    loss = REGISTRY["focal"].mpmath
    for gamma, z in [(0.5, 30.0 if t == 1 else -30.0), (1e-3, 20.0 if t == 1 else -20.0), (2.0, -3.0)]:
        with mpmath.workdps(60):
            want = mpmath.diff(lambda s: loss(mpmath.mpf(z), s, mpmath.mpf("0.25"), mpmath.mpf(gamma)),
                               mpmath.mpf(t), direction=-1 if t == 1 else 1)
        got = _mp_dt(gamma, t, z)
        assert abs(got - want) <= mpmath.mpf("1e-30") * abs(want), (gamma, z, got, want)


# (γ, t, z) at t = 0 and 1 where nothing underflows: the rules' branches against the same reference (each branch's
# forms of σ(z) − t hold on their own range of z only)
ENDPOINT_NORMAL = [(0.5, 1.0, 5.0), (2.0, 1.0, -3.0), (0.5, 0.0, 3.0), (2.0, 0.0, -5.0), (1e-3, 1.0, 40.0),
                   (0.5, 1.0, 0.5), (0.7, 0.0, -0.3), (3.0, 1.0, 1.2)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_endpoint_branches_where_nothing_underflows(dtype):
    worst = _focal_errors(ENDPOINT_NORMAL, dtype)
    assert max(worst) <= (4 if dtype == np.float64 else 8), worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_nan_at_t_one_beyond_745_for_gamma_below_one(dtype):
    """Before: ∂t NaN at every point (∂γ also beyond |z| = 1000); after ≤ 0.33 ULP (float64) of mpmath."""
    worst = _focal_errors(ENDPOINT, dtype)
    assert max(worst) <= (4 if dtype == np.float64 else 8), worst


def test_the_t_gradient_is_the_true_limit():
    """∂t at the endpoint points against the one-sided difference of the registry's mpmath loss (normal in float64:
    −2.6e−200 at γ = 1/2, z = 930; −2.3e4 at γ = 1e−6, z = 1e5)."""
    from conftest import compiled

    k = compiled("focal(z, t, 1/4, gamma)", "numpy")
    cols = {n: np.array([q[i] for q in ENDPOINT]) for i, n in enumerate(("gamma", "t", "z"))}
    got = k(**cols)[2]  # (f, ∂γ, ∂t, ∂z)
    for j, q in enumerate(ENDPOINT):
        want = _mp_dt(*q)
        assert _ulps(got[j], want, np.float64) <= 4, (q, got[j], mpmath.nstr(want, 17))
    assert abs(float(_mp_dt(0.5, 1.0, 930.0)) + 2.63e-200) < 0.01e-200  # normal, where σ(−930) is 0 in float64


def test_no_nan_at_the_endpoint_triton():
    worst = _focal_errors(ENDPOINT[:1] + ENDPOINT[5:6], np.float64, "triton")
    assert max(worst) <= 4, worst


def test_the_rules_fire_on_the_focal_gradients():
    import symnet
    from symnet.codegen.rewrite import MIXTURE_POWER, MIXTURE_RATIO, stabilise

    d = symnet.derive("focal(z, t, 1/4, gamma)")
    fired = {r for e in d.jacobian for r in stabilise(e)[1]}
    assert {MIXTURE_RATIO, MIXTURE_POWER} <= fired
    # γ a number: z·(1 − p_t)² is not this rule's (the widen rule's); the value's CE·(1 − p_t)^γ is neither rule's
    assert MIXTURE_POWER not in stabilise(_z * _MIXTURE ** 2)[1]
    assert not {MIXTURE_RATIO, MIXTURE_POWER} & set(stabilise(_CE * _MIXTURE ** _g)[1])


# ------------------------------------------------------------------ domains: γ ≥ 0, t in [0, 1]

@pytest.mark.parametrize("formula, message", [
    ("focal(z, t, 1/4, -1.8e308)", r"^focal: gamma has a negative entry \(-inf\); gamma must be ≥ 0$"),
    ("focal(z, t, 1/4, -1)", r"^focal: gamma has a negative entry \(-1\); gamma must be ≥ 0$"),
    ("focal(z, 2, 1/4, 2)", r"^focal: t has an entry outside \[0, 1\] \(2\); t must be in \[0, 1\]$"),
])
def test_a_number_outside_is_refused_in_one_line(formula, message):
    import symnet
    from symnet.errors import DomainError

    with pytest.raises(DomainError, match=message):
        symnet.parse(formula)


def test_a_compiled_formula_refuses_data_outside():
    from conftest import compiled
    from symnet.errors import DomainError

    k = compiled("focal(z, t, 1/4, gamma)", "numpy")
    ok = dict(gamma=np.array([0.0, 2.0, np.nan]), t=np.array([0.0, 1.0, 0.5]), z=np.array([1.0, -2.0, 3.0]))
    assert np.isfinite(k(**ok)[0][:2]).all()  # γ = 0, t at either end, and NaN (it propagates) pass
    with pytest.raises(DomainError, match=r"^focal: gamma = γ has a negative entry \(-inf\); gamma must be ≥ 0$"):
        k(**{**ok, "gamma": np.array([1.0, -1.8e308, 2.0])})  # (−1.8e308 is −inf in float64)
    with pytest.raises(DomainError, match=r"^focal: t has an entry outside \[0, 1\] \(1\.5\); t must be in \[0, 1\]$"):
        k(**{**ok, "t": np.array([0.5, 1.5, -0.5])})


def test_the_torch_loss_refuses_outside():
    torch = pytest.importorskip("torch")
    import symnet.torch as st
    from symnet.errors import DomainError

    z = torch.tensor([0.5, -1.0], dtype=torch.float64)
    with pytest.raises(DomainError, match=r"^focal: gamma has a negative entry \(-1\); gamma must be ≥ 0$"):
        st.functional.loss("focal", z, torch.tensor([0.0, 1.0], dtype=torch.float64), 0.25, -1)
    with pytest.raises(DomainError, match=r"^focal: t has an entry outside \[0, 1\] \(-0\.5\); t must be in \[0, 1\]$"):
        st.functional.loss("focal", z, torch.tensor([-0.5, 1.0], dtype=torch.float64))
