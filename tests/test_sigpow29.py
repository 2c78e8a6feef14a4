"""Issue 16, session 29 (h-sigpow29): two NaNs where torch is finite.

1. The focal-like loss with γ an input (tests/test_focalg29.py): ∂z held γ·σ(z)^(γ − 1)·σ(z) as two factors, and where
   σ(−|z|) underflows to 0 (|z| > 745) with γ < 1 that was 0^(γ − 1)·0 = ∞·0 = NaN. The sigmoid-power-factor rule
   multiplies σ(u) into the sum that holds σ(u)^(γ − 1) and adds the exponents (σ(u)^γ, 0 there): exact.
2. The 2-class KL of written softmaxes (tests/test_hostile29b.py): ∂x as derived, ((Q·e^a + Q·e^b)/Q² − e^(a − x))·e^x/P,
   was max-shifted before the cancel rule divided Q out, leaving e^(a + max(x, y)) unshifted by P's max: e^800 = inf
   times 0 at (400, −2, 400, −2). The nested-sum-factor rule now divides Q out first (before the node pass) where what
   is left is a sum of exponentials, so that SymPy cancels it against P: ∂x = e^x/Q − e^a/P (q_x − p_a).

References: mpmath at 60 digits and torch's autograd in float64.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import compiled
from test_soft29 import F64, _ulps

from symnet import sigmoid

_x, _y = sp.symbols("x y", real=True)
# the rule's case for tests/test_stability_rules.py: σ(x)^y's ∂x = y·σ^(y − 1)·σ·(1 − σ) at x = −746, y = 1/2 was
# 0^(−1/2)·0, NaN for 5.09e−163 (now y·σ^y·(1 − σ), σ^y by the sigmoid-power rule)
RULE_CASES = [("sigmoid-power-factor", sigmoid(_x) ** _y, (_x, _y), (-4.0, 4.0), (-746.0, 0.5), np.float64)]

FOCAL_LIKE = "-t*(1 - sigmoid(z))**g*logsigmoid(z) - (1 - t)*sigmoid(z)**g*logsigmoid(-z)"


def _focal_dz(z, t, g):
    """∂f/∂z at 60 digits: s = σ(z), r = σ(−z), ∂(log s)/∂z = r, ∂(log r)/∂z = −s."""
    with mpmath.workdps(60):
        z, t, g = (mpmath.mpf(float(v)) for v in (z, t, g))
        s, r = 1 / (1 + mpmath.exp(-z)), 1 / (1 + mpmath.exp(z))
        ls, lr = -mpmath.log1p(mpmath.exp(-z)), -mpmath.log1p(mpmath.exp(z))
        return float(-t * (-g * s * r**g * ls + r**(g + 1)) - (1 - t) * (g * r * s**g * lr - s**(g + 1)))


def _focal_torch_dz(z, t, g):
    torch = pytest.importorskip("torch")
    z, t, g = (torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in (z, t, g))
    s = torch.sigmoid(z)
    f = (-t * (1 - s)**g * torch.nn.functional.logsigmoid(z) - (1 - t) * s**g * torch.nn.functional.logsigmoid(-z))
    return torch.autograd.grad(f.sum(), z)[0].numpy()


def test_focal_like_dz_where_sigmoid_underflows_and_gamma_is_below_one():
    # before: NaN at every |z| ≥ 746 with γ < 1 (t = 0.3, γ = 0.5, z = −746: NaN for −0.3; torch −0.3); now within
    # 1 ULP, and the same where σ does not underflow (z = ±700, ±30) and at γ = 1, 2
    z = np.array([-746.0, 746.0, -1e4, 1e4, -800.0, 800.0, -700.0, 700.0, -30.0, 30.0, -746.0, 746.0])
    g = np.array([0.5, 0.5, 0.5, 0.5, 0.25, 0.9, 0.5, 0.5, 0.5, 0.5, 1.0, 2.0])
    t = np.array([0.3, 0.3, 0.3, 0.7, 0.0, 1.0, 0.3, 0.3, 0.6, 0.6, 0.3, 0.3])
    kernel = compiled(FOCAL_LIKE, "numpy", ("z", "t", "g"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, dz, _, _ = kernel(g=g, t=t, z=z)
    want = [_focal_dz(*p) for p in zip(z, t, g)]
    theirs = _focal_torch_dz(z, t, g)
    for i, (ours, w, th) in enumerate(zip(dz, want, theirs)):
        assert math.isfinite(ours) and _ulps(ours, mpmath.mpf(w), F64) <= 1, (z[i], t[i], g[i], ours, w)
        assert _ulps(ours, mpmath.mpf(w), F64) <= max(_ulps(th, mpmath.mpf(w), F64), 1), (z[i], ours, th)


def test_the_focal_rule_fires_and_names_itself():
    import symnet
    from symnet.codegen.rewrite import stabilise
    d = symnet.derive(FOCAL_LIKE, wrt=["z"])
    (dz,) = d.gradients.values()
    _, fired = stabilise(dz)
    assert "sigmoid-power-factor" in [r.name for r in fired]


# Its tests of the 2-class KL (test_kl_gradient_of_q_at_identical_logits_is_zero, test_kl_gradient_of_q_within_the_bound)
# are in tests/test_hostile29b.py, beside the other checks of that kernel: one compile of it a run (session 39, h-trim39).
