"""Session 35, kl35: exp-product-cancel's multiplied-in shift (h-cancel35) and a written softmax with a/T past
float64's range.

e^u·Σ_j c_j·e^(w_j) → Σ_j c_j·e^(u + w_j) fired for ∂a of exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T)), where
u = a/T − M and w_j = b/T − M (M = max(a/T, b/T, c/T)) only combine (u + w_j = a/T + b/T − 2M, nothing cancels):
at a/T = inf that is inf − 2·inf = NaN, where the infinite-shift rule had taken e^(a/T − M) as e^0 and the sum's
terms as 0. before (h-cancel35's commit): ∂a NaN at T = 0.3, a = 1.8e308, b = 0.7, c = 2.5 (true 0: e^(−6e308)/T),
both backends (test_user34); torch NaN. The rule now fires only where a term of each w_j is cancelled by its
negative in u (the KL's e^(a + max(y, z) − M)·e^(y − max(y, z))), and the KL's exact zeros stay (test_cancel35).
Truths are mpmath's at 60 digits of the formula as written."""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, ulps
from symnet.codegen.rewrite import _exp_into_shifted_sum
from symnet.special import exp_shift

BIG = 1.7976931348623157e308
FORMS = {3: "exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T))",
         4: "exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T) + exp(d/T))"}


def _truths(T, a, others):
    """f = 1/(1 + Σ e^((o − a)/T)) and ∂f/∂a = f·(1 − f)/T in mpmath."""
    with mpmath.workdps(60):
        T, a = mpmath.mpf(float(T)), mpmath.mpf(float(a))
        f = 1 / (1 + mpmath.fsum(mpmath.exp((mpmath.mpf(float(o)) - a) / T) for o in others))
        return f, f * (1 - f) / T


def _straddling_points(n, seed):
    """a/T on both sides of float64's largest number (a/T = BIG·(1 ± 10^(−k)), k in [0, 12]), T in (0.001, 0.5],
    the other logits ordinary; the point that failed first."""
    rng = np.random.default_rng(seed)
    T = np.exp(rng.uniform(math.log(1e-3), math.log(0.5), n))
    ratio = 1 + rng.choice([-1, 1], n) * 10 ** -rng.uniform(0, 12, n)
    a = np.minimum(BIG * T * ratio, BIG)
    rest = rng.uniform(-3, 3, (3, n))
    return (np.concatenate([[0.3], T]), np.concatenate([[BIG], a]),
            np.concatenate([[[0.7], [2.5], [-1.0]], rest], axis=1))


@pytest.mark.parametrize("n", sorted(FORMS))
def test_softmax_with_temperature_across_the_overflow_of_a_over_T(n):
    T, a, others = _straddling_points(150, seed=3500 + n)
    names = "bcd"[:n - 1]
    k = compiled(FORMS[n])
    out = dict(zip(k.outputs, k(T=T, a=a, **{v: others[i] for i, v in enumerate(names)})))
    assert out["df_da"][0] == 0 and out["f"][0] == 1, (out["df_da"][0], out["f"][0])
    worst = []
    for i in range(len(T)):
        f, dfa = _truths(T[i], a[i], others[:n - 1, i])
        worst.append((ulps(out["f"][i], f, np.float64), ulps(out["df_da"][i], dfa, np.float64), i))
    assert max(w[0] for w in worst) <= 4, max(worst)
    assert max(w[1] for w in worst) <= 4, max(worst, key=lambda w: w[1])


def test_shift_is_multiplied_in_only_where_a_term_cancels():
    a, b, c, y, z, M = sp.symbols("a b c y z M", real=True)
    m = sp.Max(y, z)
    # the KL's q_y + q_z shifted by max(y, z), times e^(a + max(y, z) − M): −max(y, z) cancels, the rule fires
    kl = sp.Mul(sp.exp(a + m - M), exp_shift(y, m) + exp_shift(z, m), evaluate=False)
    fired = _exp_into_shifted_sum(kl)
    assert fired is not None and sp.simplify(fired.expr - sp.exp(a + y - M) - sp.exp(a + z - M)) == 0
    # the softmax's e^(a − M)·(e^(b − M) + e^(c − M)): a − 2M + b cancels nothing (NaN at a = M = inf), left alone
    M3 = sp.Max(a, b, c)
    assert _exp_into_shifted_sum(sp.Mul(sp.exp(a - M3), exp_shift(b, M3) + exp_shift(c, M3), evaluate=False)) is None
