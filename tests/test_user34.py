"""Session 34, a new user's pass: an engineer's own activations, losses and small models through `symnet derive`,
`symnet verify`, `symnet.compile` (NumPy and Triton) and `symnet.torch`.

Each test failed before its change; the before is in its comment. Truths are mpmath's at 60 digits of the formula
as written (its own quotients and exponentials, never symnet's derivation), errors in ULPs of float64."""
import math

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

mpmath.mp.dps = 60


# ---------------------------------------------------------------- a softmax with a temperature, a/T past float64

# The compensated (double-word) recomputation of a written softmax took the max of its shifted logits with
# where(a > b, a, b), which drops a NaN first argument: at a/T past float64's range (a NaN in double words, inf in
# float64) the max was that of the other logits, and the recomputation replaced the float64 pass's right 1.0.
# before: f = exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T)) at T = 0.3, a = 1.8e308, b = 0.7, c = 2.5 was 0.4994 (true
# 1.0, 2.3e15 ULP) and ∂f/∂a 0.8333 (true 0: e^(−6e308)/T), both backends; torch gives NaN. After: 1.0 and 0.
SOFTMAX_T = "exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T))"
SOFTMAX_T2 = "exp(a/T)/(exp(a/T) + exp(b/T))"


def _softmax_t_truths(T, a, others):
    """f and ∂f/∂a in mpmath, from the formula as written: 1/(1 + Σ e^((o − a)/T)), and f·(1 − f)/T."""
    T, a = mpmath.mpf(T), mpmath.mpf(a)
    rest = mpmath.fsum(mpmath.exp((mpmath.mpf(o) - a) / T) for o in others)
    f = 1 / (1 + rest)
    return f, f * (1 - f) / T


def _overflowing_points(n, seed):
    """a/T past float64's largest number: a in [1e306, 1.8e308], T in (0.001, 0.5]; b, c ordinary."""
    rng = np.random.default_rng(seed)
    a = np.exp(rng.uniform(math.log(1e306), math.log(1.7976931348623157e308), n))
    T = np.exp(rng.uniform(math.log(1e-3), math.log(0.5), n))
    keep = a > 1.7976931348623157e308 * T
    b, c = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
    return T[keep], a[keep], b[keep], c[keep]


@pytest.mark.parametrize("formula", [SOFTMAX_T, SOFTMAX_T2])
def test_written_softmax_with_temperature_where_a_over_T_overflows(formula):
    T, a, b, c = _overflowing_points(300, seed=34)
    T, a, b, c = (np.concatenate([[0.3], v]) for v in (T, a, b, c))
    a[0], b[0], c[0] = 1.7976931348623157e308, 0.7, 2.5
    k = compiled(formula)
    args = dict(T=T, a=a, b=b) if formula == SOFTMAX_T2 else dict(T=T, a=a, b=b, c=c)
    out = dict(zip(k.outputs, k(**args)))
    worst = []
    for i in range(len(T)):
        others = [b[i]] if formula == SOFTMAX_T2 else [b[i], c[i]]
        f, dfa = _softmax_t_truths(T[i], a[i], others)
        worst.append((ulps(out["f"][i], f, np.float64), ulps(out["df_da"][i], dfa, np.float64), i))
    assert len(T) > 200
    assert max(w[0] for w in worst) <= 4, max(worst)
    if formula == SOFTMAX_T:  # the two-logit form (right before: no max in its double words) has ∂a NaN there, as
        assert max(w[1] for w in worst) <= 4, max(worst, key=lambda w: w[1])  # torch: left open


def test_written_softmax_with_temperature_keeps_its_accuracy_in_range():
    """The neighbourhood the change could move: ordinary logits and temperatures, every output's value and ∂a."""
    rng = np.random.default_rng(341)
    n = 200
    T = np.exp(rng.uniform(math.log(0.05), math.log(5), n))
    a, b, c = (rng.uniform(-4, 4, n) for _ in range(3))
    k = compiled(SOFTMAX_T)
    out = dict(zip(k.outputs, k(T=T, a=a, b=b, c=c)))
    worst = max(max(ulps(out["f"][i], f, np.float64), ulps(out["df_da"][i], dfa, np.float64))
                for i, (f, dfa) in enumerate(_softmax_t_truths(T[i], a[i], [b[i], c[i]]) for i in range(n)))
    assert worst <= 4, worst


def test_written_softmax_with_temperature_where_a_over_T_overflows_in_triton():
    torch = triton_torch()
    T, a, b, c = _overflowing_points(40, seed=342)
    T, a, b, c = (np.concatenate([[0.3], v]) for v in (T, a, b, c))
    a[0], b[0], c[0] = 1.7976931348623157e308, 0.7, 2.5
    k = compiled(SOFTMAX_T, "triton")
    out = dict(zip(k.outputs, (o.numpy() for o in k(**{n: torch.tensor(v) for n, v in
                                                       dict(T=T, a=a, b=b, c=c).items()}))))
    for i in range(len(T)):
        f, dfa = _softmax_t_truths(T[i], a[i], [b[i], c[i]])
        assert ulps(out["f"][i], f, np.float64) <= 4, (i, out["f"][i])
        assert ulps(out["df_da"][i], dfa, np.float64) <= 4, (i, out["df_da"][i])


# ---------------------------------------------------------------- a Huber loss with a learned δ

# ∂f/∂δ of δ·(|p − t| − δ/2) is |p − t| − δ, which cancels at the kink: |p − t| carries the rounding of p − t, and
# the widen rule took no absolute value as a hazard. before: 6.7e7 ULP in float64 at p = 1, t = 0.3,
# δ = 0.699999993000001 (`symnet verify`, torch autograd the same), 1.1e15 ULP worst over the 300 points below (both
# written forms); float32 8.00 ULP (`symnet verify`). After: 0 over the points, 1.25 in `symnet verify` float64.
HUBER_FORMS = ["where(abs(p-t) < d, 0.5*(p-t)**2, d*(abs(p-t) - 0.5*d))",
               "where(abs(p-t) < d, 0.5*(p-t)**2, d*abs(p-t) - 0.5*d**2)"]


def _huber_points(n, seed, dtype):
    """δ a few ulps below |p − t| (the outer branch, where ∂δ = |p − t| − δ cancels), and the reported point."""
    rng = np.random.default_rng(seed)
    p, t = rng.uniform(-3, 3, n).astype(dtype), rng.uniform(-3, 3, n).astype(dtype)
    u = np.abs(p - t)
    d = (u * (1 - rng.integers(1, 60, n) * np.finfo(dtype).eps / 2)).astype(dtype)
    p, t, d = (np.concatenate([[x], v]).astype(dtype) for x, v in zip((1.0, 0.3, 0.699999993000001), (p, t, d)))
    return p, t, d


def _huber_delta_truths(p, t, d):
    """∂f/∂δ in mpmath from the formula as written: |p − t| − δ where |p − t| ≥ δ, else 0."""
    out = []
    for P, T, D in zip(p, t, d):
        u = abs(mpmath.mpf(float(P)) - mpmath.mpf(float(T)))
        out.append(u - mpmath.mpf(float(D)) if u >= float(D) else mpmath.mpf(0))
    return out


@pytest.mark.parametrize("formula", HUBER_FORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huber_with_a_learned_delta_at_its_kink(formula, dtype):
    p, t, d = _huber_points(300, seed=343, dtype=dtype)
    k = compiled(formula)
    got = dict(zip(k.outputs, k(p=p, t=t, d=d)))["df_dd"]
    worst = max((ulps(g, want, dtype), i) for i, (g, want) in enumerate(zip(got, _huber_delta_truths(p, t, d))))
    assert worst[0] <= (4 if dtype == np.float64 else 8), (worst, p[worst[1]], t[worst[1]], d[worst[1]])


def test_huber_with_a_learned_delta_at_its_kink_in_triton():
    torch = triton_torch()
    p, t, d = _huber_points(40, seed=344, dtype=np.float64)
    k = compiled(HUBER_FORMS[0], "triton")
    got = dict(zip(k.outputs, k(p=torch.tensor(p), t=torch.tensor(t), d=torch.tensor(d))))["df_dd"].numpy()
    worst = max(ulps(g, want, np.float64) for g, want in zip(got, _huber_delta_truths(p, t, d)))
    assert worst <= 4, worst
