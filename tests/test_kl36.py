"""Session 36, kl36: softmax-family faults of issue 16 at the range's ends.

A written softmax with a temperature, e^(a/T)/Σ e^(x/T), at a subnormal T: a/T and b/T both overflow to inf, the max
shift m = inf, and each shifted term e^(x/T − m) was taken as e^0 = 1. before (main at 214b854b): f = 0.5 at
T = −2.78e−309, a = −3.0, b = −3.9, c = T (true e^(−3.4e308): 0), ∂a −9e307 (true −0), ∂b, ∂c, ∂T NaN; torch autograd
NaN for every output. Now the overflowed-shift rule: where |m| is past 3.4e38 the gaps are exactly 0 or past −745, the
term 1 where its r is the extreme r_j, else 0 (a comparison of the r_j, never of the overflowed quotients); and a product
by exponents is taken again where a factor is 0 and another factor's power left the range (0·(1/T) at T = 2.78e−309 was
NaN for 0). Truths are mpmath's at 60 digits of the formula as written (the softmax p_j = 1/Σ_k e^((r_k − r_j)/T), and
its gradient from the p_j: ∂a = p_a(1 − p_a)/T, ∂b = −p_a·p_b/T, ∂T = −p_a·(a − Σ p_j·r_j)/T²); torch's autograd of
the written formula in float64 beside it."""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch, ulps
from test_cancel35 import _kl, _kl_truth  # the 3-class KL of written softmaxes, and its mpmath truth at 150 digits
from test_soft29 import F64, _mp_truth, _ulps  # test_hostile29b's references (its KL3 checks are here)

BOUND = {F64: 4.0}  # test_hostile29b's

FORMS = {2: "exp(a/T)/(exp(a/T) + exp(b/T))",
         3: "exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T))"}

_a, _b, _c, _T, _w = sp.symbols("a b c T w", real=True)
# tests/test_stability_rules.py's cases (rule, formula, variables, range of the 50-digit check, failing point, dtype): the
# temperature's form at the failing point, and logits a·w, b·w, c·w of one factor w where the check's random points are
# past the rule's threshold (|a·w| ~ 1e40: the far branch's 0 and 1 against mpmath's e^(−1e40))
RULE_CASES = [
    ("overflowed-shift", sp.exp(_a / _T) / (sp.exp(_a / _T) + sp.exp(_b / _T) + sp.exp(_c / _T)), (_T, _a, _b, _c),
     (-3.0, 3.0), (-2.781342323134e-309, -3.004845560317867, -3.9450472042977047, -2.781342323134e-309), np.float64),
    ("overflowed-shift", sp.exp(_a * _w) / (sp.exp(_a * _w) + sp.exp(_b * _w) + sp.exp(_c * _w)), (_a, _b, _c, _w),
     (-1e20, 1e20), (-3.004845560317867, -3.9450472042977047, 1.0, -1.7e308), np.float64),
]


def _softmax_truths(T, logits):
    """Every output of the n-class written softmax with temperature T (the first logit's), in mpmath."""
    with mpmath.workdps(60):
        T, r = mpmath.mpf(float(T)), [mpmath.mpf(float(v)) for v in logits]
        p = [1 / mpmath.fsum(mpmath.exp((rk - rj) / T) for rk in r) for rj in r]
        mean = mpmath.fsum(pj * rj for pj, rj in zip(p, r))
        out = {"f": p[0], "df_dT": -p[0] * (r[0] - mean) / T ** 2, "df_da": p[0] * (1 - p[0]) / T}
        out.update({f"df_d{name}": -p[0] * pj / T for name, pj in zip("bc", p[1:])})
        return out


def _torch_softmax(T, logits):
    """torch's autograd of the written formula, float64, one row a point."""
    torch = pytest.importorskip("torch")
    t = torch.tensor(T, dtype=torch.float64, requires_grad=True)
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in logits]
    e = [torch.exp(x / t) for x in xs]
    f = e[0] / sum(e)
    grads = torch.autograd.grad(f.sum(), [t] + xs)
    out = {"f": f.detach().numpy(), "df_dT": grads[0].numpy()}
    out.update({f"df_d{name}": g.numpy() for name, g in zip("abc", grads[1:])})
    return out


def _temperature_points(n, dtype, seed):
    """T of either sign, |T| log-uniform where the logits r/T (r in [−5, 5]) overflow float64 (float64: |T| from
    3e−324 to 1e−300) or pass 3.4e38 (float32: 1.4e−45 to 1e−36, computed in float64 inside); every third c = T (the
    failing point's c/T = 1); then |T| across the rule's threshold |m| = 3.4e38 (1e−40 to 1e−37, float64 only)."""
    rng = np.random.default_rng(seed)
    low, high = (-323.5, -300) if dtype == np.float64 else (-44.85, -36)
    T = rng.choice([-1.0, 1.0], n) * 10 ** rng.uniform(low, high, n)
    if dtype == np.float64:
        T = np.concatenate([T, rng.choice([-1.0, 1.0], n // 2) * 10 ** rng.uniform(-40, -37, n // 2)])
    r = rng.uniform(-5, 5, (3, len(T)))
    r[2, ::3] = T[::3]
    return T.astype(dtype), r.astype(dtype)


def _worst(n, dtype, T, r, backend="numpy"):
    """The worst ULP error of each output over the points: {output: (ulps, index)}."""
    names = "abc"[:n]
    k = compiled(FORMS[n], backend)
    if backend == "triton":
        torch = triton_torch()
        tdtype = torch.float64 if dtype == np.float64 else torch.float32
        got = k(T=torch.tensor(T, dtype=tdtype), **{v: torch.tensor(r[i], dtype=tdtype) for i, v in enumerate(names)})
        out = dict(zip(k.outputs, (o.numpy() for o in got)))
    else:
        out = dict(zip(k.outputs, k(T=T, **{v: r[i] for i, v in enumerate(names)})))
    worst = {}
    for i in range(len(T)):
        for name, want in _softmax_truths(T[i], r[:n, i]).items():
            worst[name] = max(worst.get(name, (0.0, -1)), (ulps(out[name][i], want, dtype), i))
    return worst


# the failing point (test_user34's, no longer a strict xfail there): f 0.5 for 0, ∂a −9e307 for −0, ∂b, ∂c, ∂T NaN
def test_written_softmax_at_a_subnormal_temperature_every_output():
    T, a, b = -2.781342323134e-309, -3.004845560317867, -3.9450472042977047
    worst = _worst(3, np.float64, np.array([T]), np.array([[a], [b], [T]]))
    assert all(u == 0 for u, _ in worst.values()), worst
    theirs = _torch_softmax(np.array([T]), [np.array([a]), np.array([b]), np.array([T])])
    assert all(math.isnan(v[0]) for v in theirs.values()), theirs  # torch: inf/inf


# Around it, 200 draws past the overflow (and 100 across the rule's threshold in float64): before, float64 outputs were
# 0.5, ±9e307 or NaN where two logits overflowed to the same infinity (an output past 4 ULP at 142 of the 3-class form's
# 300 draws, 138 of the 2-class form's; torch past 4 ULP, NaN, at 288 and 300); now every output exact here. float32's T
# (a subnormal down to 1.4e−45) makes r/T at most 3.5e45, computed in float64 inside: exact before and after (torch NaN
# at 183 and 200 of 200): a check the rule changes nothing there.
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("n", sorted(FORMS))
def test_written_softmax_where_the_logits_overflow(n, dtype):
    T, r = _temperature_points(200, dtype, seed=3600 + n)
    worst = _worst(n, dtype, T, r)
    assert max(u for u, _ in worst.values()) <= 4, worst


def test_written_softmax_where_the_logits_overflow_triton():
    T, r = _temperature_points(12, np.float64, seed=3610)
    T[0], r[:, 0] = -2.781342323134e-309, [-3.004845560317867, -3.9450472042977047, -2.781342323134e-309]
    worst = _worst(3, np.float64, T, r, backend="triton")
    assert max(u for u, _ in worst.values()) <= 4, worst


# ------------------------------------------------------------------ the KL divergence of two written 3-class softmaxes

# Found in session 35 (no test): at identical logits every output is 0 (torch's autograd of the written formula: 0), and
# the float64 kernel gives 0 (its outputs again in double words: sign-grouped sums, h-cancel35), but float32 gave ∂x, ∂y,
# ∂z ±1.9e−36 to 7.7e−34 at 15, 24 and 16 of test_cancel35's 61 points: the widened ∂x is 0 in double words, and 0 is
# taken again in scaled double words (the tier below 2⁻⁹⁶⁸), whose sum added the negative terms one by one. Now the
# scaled sum is sign-grouped as the double word's: 0 at every point.
def _kl_outputs(a, x, dtype):
    k = compiled(_kl(3))
    a, x = a.astype(dtype), x.astype(dtype)
    return dict(zip(k.outputs, k(a=a[:, 0], b=a[:, 1], c=a[:, 2], x=x[:, 0], y=x[:, 1], z=x[:, 2])))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_kl3_at_identical_logits_is_zero_in_both_dtypes(dtype):
    rng = np.random.default_rng(3535)  # test_cancel35's 61 points (the float32 faults were measured there), then 240
    scale = np.repeat([1.0, 5.0, 50.0, 400.0, 700.0], 12)
    a = np.concatenate([[[1.0, -2.0, 0.5]], rng.uniform(-1, 1, (60, 3)) * scale[:, None]])
    rng = np.random.default_rng(3620)
    a = np.concatenate([a, rng.uniform(-1, 1, (240, 3)) * rng.choice([1.0, 10.0, 80.0], (240, 1))])
    out = _kl_outputs(a, a, dtype)
    for name, values in out.items():
        assert (values == 0).all(), (name, a[values != 0][:3], values[values != 0][:3])


# Around it: logits 10⁻⁷ to 10⁻² apart (float32 can hold the difference) and random ones, 150 points: every output
# within 8 ULP (float32) and 4 (float64) of mpmath where the truth is normal, and never worse than torch's float64
# autograd by more than that
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_kl3_near_identical_logits_within_the_bound(dtype):
    rng = np.random.default_rng(3621)
    a = rng.uniform(-5, 5, (100, 3))
    x = a + rng.choice([-1, 1], (100, 3)) * 10 ** rng.uniform(-7, -2, (100, 3))
    a, x = np.concatenate([a, rng.uniform(-20, 20, (50, 3))]), np.concatenate([x, rng.uniform(-20, 20, (50, 3))])
    a, x = a.astype(dtype).astype(np.float64), x.astype(dtype).astype(np.float64)
    out = _kl_outputs(a, x, dtype)
    tiny = float(np.finfo(dtype).tiny)
    worst = (0.0, None)
    for i in range(len(a)):
        for name, want in _kl_truth(a[i], x[i]).items():
            if abs(want) >= tiny:
                worst = max(worst, (ulps(out[name][i], want, dtype), (name, i)))
    assert worst[0] <= (4 if dtype == np.float64 else 8), worst


# Session 35's and session 29's checks of the same kernel, moved here from tests/test_cancel35.py and
# tests/test_hostile29b.py (session 39, h-trim39) as they were written: the kernel is compiled once a run (30-38 s of
# CPU in each of the three files' xdist workers before), and each test checks the points it checked there.
def _kl3_at(point):
    """test_soft29._outputs of the 3-class KL at one float64 point (a one-element array each), this file's kernel."""
    k = compiled(_kl(3))
    out = k(**{n: np.array([v], np.float64) for n, v in point.items()})
    return {name: float(o.reshape(-1)[0]) for name, o in zip(k.outputs, out)}


# from tests/test_cancel35.py (exp-product-cancel, h-cancel35: its comment there)
def test_kl3_gradients_at_identical_logits_are_zero():
    rng = np.random.default_rng(3535)
    scale = np.repeat([1.0, 5.0, 50.0, 400.0, 700.0], 12)
    a = np.concatenate([[[1.0, -2.0, 0.5]], rng.uniform(-1, 1, (60, 3)) * scale[:, None]])
    k = compiled(_kl(3))
    out = dict(zip(k.outputs, k(a=a[:, 0], b=a[:, 1], c=a[:, 2], x=a[:, 0], y=a[:, 1], z=a[:, 2])))
    for name, values in out.items():
        assert (values == 0).all(), (name, a[values != 0][:3], values[values != 0][:3])


def test_kl3_near_equal_and_random_logits_within_the_bound():
    rng = np.random.default_rng(3536)
    a = rng.uniform(-5, 5, (60, 3))
    x = a + rng.choice([-1, 1], (60, 3)) * 10 ** rng.uniform(-15, -3, (60, 3))
    a = np.concatenate([a, rng.uniform(-20, 20, (30, 3))])
    x = np.concatenate([x, rng.uniform(-20, 20, (30, 3))])
    k = compiled(_kl(3))
    out = dict(zip(k.outputs, k(a=a[:, 0], b=a[:, 1], c=a[:, 2], x=x[:, 0], y=x[:, 1], z=x[:, 2])))
    for i in range(len(a)):
        truth = _kl_truth(a[i], x[i])
        for name, want in truth.items():
            assert ulps(out[name][i], want, np.float64) <= 4, (name, a[i], x[i], out[name][i])


# from tests/test_hostile29b.py (session 29's hostile tester; truths: test_soft29's mpmath of the formula as written)
# Three classes, identical logits: f is −1.23e−32, a negative KL (torch's autograd of the written formula: 0), ∂x
# −6.2e−33, ∂z −1.2e−32 (torch 0, −2.8e−17): the double-word sum of p_i·(log p_i − log q_i) holds log-ratios that are
# not exactly 0 where they should be (log p_i and log q_i computed from different forms).
# f was −1.23e−32 (a strict xfail until session 30, with ∂x); now 0 (the softmax-divergence rule)
def test_kl3_at_identical_logits_is_not_negative():
    got = _kl3_at({"a": 1.0, "b": -2.0, "c": 0.5, "x": 1.0, "y": -2.0, "z": 0.5})
    assert got["f"] == 0, got


# ∂x was −2.31e−33 (torch 0; −6.2e−33 before session 30): q_x·(p_b + p_c) − p_a·(q_y + q_z), the complement q_y + q_z
# shifted by max(y, z) into e^(a + max(y, z) − …), not the same form as p_b·q_x's e^(b + x − …), and the double-word sum
# added the negative terms one by one to the positive sum. Fixed in session 35 (h-cancel35): exp-product-cancel multiplies
# the shift back in (four single exponentials, pairwise equal at identical logits) and the double-word sum takes the
# positive and negative terms as two groups; 60 identical-logit points and their neighbourhood above (test_cancel35's, now in this file)
def test_kl3_gradient_at_identical_logits_is_zero():
    got = _kl3_at({"a": 1.0, "b": -2.0, "c": 0.5, "x": 1.0, "y": -2.0, "z": 0.5})
    assert got["df_dx"] == 0, got


# Three classes near p = q (z = c + 1e−9): f 1.1604773195445116e−19 for 1.1604773…e−19 at 181 ULP (torch −3.8e−17,
# 1.6e18 ULP: not worse than torch, but past the 4-ULP bound); the gradients are within 0.5 ULP. A strict xfail until
# session 30; now 0.36 ULP (the softmax-divergence rule).
def test_kl3_near_equal_distributions_within_the_bound():
    point = {"a": 1.0, "b": -2.0, "c": 0.5, "x": 1.0, "y": -2.0, "z": 0.500000001}
    got = _kl3_at(point)
    true = _mp_truth(_kl(3), point)
    assert _ulps(got["f"], true["f"], F64) <= BOUND[F64], (got["f"], true["f"])


# ------------------------------------------------------------------ focal(x, y)'s ∂y at the range's end

# test_search34's strict xfail: ∂y at (1.7976931348623157e308, 0.5) was −inf for −7.864907465022631e307 (torch 0.125
# ULP). The far branch x > 1000, −x(1 − y)²(3 − 2y)/4 − (y − 1)(3y − 4)·(y·softplus(−x) + (1 − y)·softplus(x))/2, has
# terms of one sign (no cancellation), but its float64 body forms (3y − 4)·(…) past the range first (−inf), and a
# finite double word was replaced by that float64 −inf; the scaled double words were tried only where the double word
# overflowed, and there took softplus(x) unscaled, whose product (1 − y)·1.797e308 split x's largest value into an
# infinite hi part (NaN). Now the scaled tier also where the float64 value is ±inf beside a finite double word, and
# softplus(x) past 2⁹⁰⁰ is x at its scale. Before: −inf at every x from 1.7e308 (y = 1/2). Truths: mpmath.diff of
# symnet.losses' mpmath focal loss at 60 digits; torch: torchvision's formula's autograd in float64.
def _focal_dy(x, y):
    from symnet.losses import _mp_focal
    with mpmath.workdps(60):
        return mpmath.diff(lambda t: _mp_focal(mpmath.mpf(float(x)), t), mpmath.mpf(float(y)))


def _focal_points(n, dtype, seed):
    rng = np.random.default_rng(seed)
    top = float(np.finfo(dtype).max)
    x = top * (1 - 10 ** rng.uniform(-17 if dtype == np.float64 else -8, -0.3, n))
    y = rng.uniform(0, 1, n)
    y[::5] = 0.5
    x = np.concatenate([[top, 1.7e308 if dtype == np.float64 else 3e38], x]).astype(dtype)
    return x, np.concatenate([[0.5, 0.5], y]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_focal_dy_near_the_largest_x(dtype):
    x, y = _focal_points(200, dtype, seed=3630)
    k = compiled("focal(x, y)")
    got = k(x=x, y=y)[2]
    worst = max((ulps(got[i], _focal_dy(x[i], y[i]), dtype), i) for i in range(len(x)))
    assert worst[0] <= (4 if dtype == np.float64 else 8), (worst, x[worst[1]], y[worst[1]], got[worst[1]])


# Triton: its scaled double words ran in the repair kernel for tiny values only (no overflow branch), so the float64
# −inf stayed: −inf for −7.4375e307 at (1.7e308, 0.5) (torch exact). Now flagged where the float64 value is ±inf beside a
# finite double word (h-tritonpar36; its neighbourhood in tests/test_tritonpar36.py)
def test_focal_dy_near_the_largest_x_triton():
    torch = triton_torch()
    k = compiled("focal(x, y)", "triton")
    got = k(x=torch.tensor([1.7e308], dtype=torch.float64), y=torch.tensor([0.5], dtype=torch.float64))[2]
    assert ulps(float(got[0]), _focal_dy(1.7e308, 0.5), np.float64) <= 4
