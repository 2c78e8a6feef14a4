"""Session 42 (h-temp42): temperatures. The softmax-entropy rule, for ∂T of a smooth max with temperature
T·log(e^(a/T) + e^(b/T)): ∂T = log S − (a·e^(a/T) + b·e^(b/T))/(T·S) is the entropy of softmax(a/T, b/T), which the
written form computes as the difference of two numbers near max(a, b)/T (test_user40's strict xfail: 0 for 2.794e−42);
and the softmax-pair rule, for its ∂a = e^(a/T)/(e^(a/T) + e^(b/T)) = σ(a/T − b/T), whose written form rounds a/T
and b/T before e^ (test_user40's strict xfail: 195 ULP).

References: mpmath at 60 and 120 digits of SymPy's own derivative of the formula as written (test_user40's ``_worst``),
torch autograd in float64 of the formula as written; the identity is proved with SymPy."""
import os
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import ulps
from symnet.functions import sigmoid
from symnet.codegen.rewrite import SOFTMAX_ENTROPY, SOFTMAX_PAIR, stabilise
from test_user40 import _truths, _worst
from test_user41 import _torch_grads

BOUND = {np.float64: 4.0, np.float32: 8.0}
SMOOTH_MAX = "T*log(exp(a/T) + exp(b/T))"
NAMES = ("T", "a", "b")
F32 = np.float32
_T, _a, _b = sp.symbols("T a b", real=True)
# tests/test_stability_rules.py's case (exact at 50 digits, a symbolic identity, fixes the failing value): the float32
# point of test_user40's xfail, ∂T 0 for 9.19e−38 before (torch NaN)
RULE_CASES = [
    ("softmax-entropy", _T * sp.log(sp.exp(_a / _T) + sp.exp(_b / _T)), (_T, _a, _b), (0.25, 4.0),
     (0.0768, 2.19, 9.08), F32),
    # ∂a 195 ULP in float64 before (torch 195)
    ("softmax-pair", _T * sp.log(sp.exp(_a / _T) + sp.exp(_b / _T)), (_T, _a, _b), (0.25, 4.0),
     (0.012875812209259945, 3.865769364862498, 5.726993513429603), np.float64),
]


# ---------------------------------------------------------------- the rule: exact, and where it fires

def test_the_identity_is_exact():
    """log(e^x + e^y) − (x·e^x + y·e^y)/(e^x + e^y) = softplus(−|x − y|) + |x − y|·σ(−|x − y|), proved for x = y + d,
    d ≥ 0 (the other order is the same with x, y swapped: both sides are symmetric), and the rule's form against
    mpmath at 50 digits at points of both orders."""
    y, d = sp.Symbol("y", real=True), sp.Symbol("d", nonnegative=True)
    x = y + d
    S = sp.exp(x) + sp.exp(y)
    # log S = x + log(1 + e^−d): the quotient of the logs' arguments is 1
    assert sp.simplify(S / (sp.exp(x) * (1 + sp.exp(-d)))) == 1
    # (x·e^x + y·e^y)/S = x − d·σ(−d) = x − d/(1 + e^d)
    assert sp.simplify((x * sp.exp(x) + y * sp.exp(y)) / S - (x - d / (1 + sp.exp(d)))) == 0
    X, Y = sp.symbols("x y", real=True)
    written = sp.log(sp.exp(X) + sp.exp(Y)) - (X * sp.exp(X) + Y * sp.exp(Y)) / (sp.exp(X) + sp.exp(Y))
    stable = SOFTMAX_ENTROPY.apply(written)
    assert stable != written
    mp_written = sp.lambdify((X, Y), written, "mpmath")
    mp_stable = sp.lambdify((X, Y), stable.rewrite(sp.exp), "mpmath")
    for xv, yv in ((3.5, -1.25), (-1.25, 3.5), (100.0, 0.0), (0.0, 100.0), (2.0, 2.0), (-7.0, -700.0)):
        with mpmath.workdps(400):  # the written form cancels to e^−693·694 at (−7, −700): 300 digits of it lost
            want = mp_written(mpmath.mpf(xv), mpmath.mpf(yv))
        with mpmath.workdps(400):  # softplus written as log(1 + e^v) for mpmath: log of 1 + e^−100 loses 44 digits
            got = mp_stable(mpmath.mpf(xv), mpmath.mpf(yv))
        assert abs(got - want) <= mpmath.mpf(10) ** -45 * abs(want), (xv, yv, got, want)


def test_the_pair_identity_is_exact():
    """e^x/(e^x + e^y) = σ(x − y) (divide by e^x); the rule's select keeps the quotient beyond |x − y| = 800."""
    x, y = sp.symbols("x y", real=True)
    assert sp.simplify(sp.exp(x) / (sp.exp(x) + sp.exp(y)) - 1 / (1 + sp.exp(y - x))) == 0
    x, y = _a / _T, _b / _T  # rounded exponents (the rule leaves e^a/(e^a + e^b) of inputs alone)
    new = SOFTMAX_PAIR.apply(3 * sp.exp(x) / (sp.exp(x) + sp.exp(y)))
    assert new == 3 * sp.Piecewise((sigmoid(x - y), sp.Abs(x - y) <= 800), (sp.exp(x) / (sp.exp(x) + sp.exp(y)), True))


def test_the_rules_fire_on_the_smooth_max_gradients():
    d = symnet.derive(SMOOTH_MAX)
    fired = {name: {r.name for r in stabilise(g)[1]} for name, g in zip(d.inputs, d.jacobian)}
    assert "softmax-entropy" in fired[d.inputs[0]] and not any("softmax-entropy" in fired[v] for v in d.inputs[1:])
    assert all("softmax-pair" in fired[v] for v in d.inputs[1:])


@pytest.mark.parametrize("written", [
    "log(exp(x) + exp(y)) - (x*exp(x) + 2*y*exp(y))/(exp(x) + exp(y))",  # not the entropy: a weight 2
    "log(exp(x) + exp(y)) - (x*exp(x) + y*exp(y))/(exp(x) + exp(y) + 1)",  # another sum
    "log(exp(x) + exp(y)) - x",
])
def test_the_rule_leaves_other_sums_alone(written):
    assert SOFTMAX_ENTROPY.apply(symnet.parse(written)) == symnet.parse(written)


@pytest.mark.parametrize("written", [
    "exp(a)/(exp(a) + exp(b))",  # a − b of inputs: one rounding (the two-sum rule's)
    "exp(2*a)/(exp(2*a) + exp(b))",  # 2a exact
    "log(exp(a/T)/(exp(a/T) + exp(b/T)))",  # a log's argument: the log-quotient rule's a/T − log S
    "exp(a/T)/(exp(a/T) + exp(b/T) + exp(c/T))",  # three terms
])
def test_the_pair_rule_leaves_other_quotients_alone(written):
    assert SOFTMAX_PAIR.apply(symnet.parse(written)) == symnet.parse(written)


# ---------------------------------------------------------------- the smooth max: NumPy, both dtypes

def _points(seed=4242, n=300):
    """test_user40's failing points (float64 T = 0.1337, a = 8.99, b = −4.42; float32 T = 0.0768, a = 2.19, b = 9.08),
    a hundred points near each, and T = ±10^[−2, 0] (negative temperatures too), a, b in [−10, 10]."""
    rng = np.random.default_rng(seed)
    k = n // 3
    T = np.concatenate([[0.1337, 0.0768], 0.1337 * (1 + rng.uniform(-0.3, 0.3, k)), 0.0768 * (1 + rng.uniform(-0.3, 0.3, k)),
                        rng.choice([-1, 1], n - 2 - 2 * k) * 10 ** rng.uniform(-2, 0, n - 2 - 2 * k)])
    a = np.concatenate([[8.99, 2.19], 8.99 + rng.uniform(-1, 1, k), 2.19 + rng.uniform(-1, 1, k),
                        rng.uniform(-10, 10, n - 2 - 2 * k)])
    b = np.concatenate([[-4.42, 9.08], -4.42 + rng.uniform(-1, 1, k), 9.08 + rng.uniform(-1, 1, k),
                        rng.uniform(-10, 10, n - 2 - 2 * k)])
    return T, a, b


# before (numpy, these 300 points): ∂T 8.7e15 ULP in float64 (0 for 2.794e−42 at the failing point, torch 0), float32
# 2.3e7 (0 for 9.19e−38 at its failing point, torch NaN); after: ≤ 0.50 ULP float64 (≤ 2.49 with the entropy not
# widened: its two terms rounded apart), ≤ 0.50 float32
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_smooth_max_dT_within_the_bound(dtype):
    worst = _worst(SMOOTH_MAX, NAMES, _points(), dtype)
    assert worst[1][0] <= BOUND[dtype], worst
    assert worst[0][0] <= BOUND[dtype], worst  # f: unchanged, within before and after


# before (numpy, these 300 points): ∂a 8.3e15 ULP in float64 at T = 0.010594, a = 7.0197, b = 7.9677 (σ(−89.5) as
# e^ of the rounded a/T − max), ∂b 162; past 4 ULP at 125 / 128 points (torch 8.3e15 / inf, past 4 at 125 / 129);
# after: σ(a/T − b/T) with a/T − b/T in double words, ∂a ≤ 1.50, ∂b ≤ 1.75
def test_smooth_max_dA_dB_within_the_bound():
    worst = _worst(SMOOTH_MAX, NAMES, _points(), np.float64)
    assert worst[2][0] <= 4 and worst[3][0] <= 4, worst


def test_smooth_max_limits_are_kept():
    """Where a/T − b/T is inf − inf (T = ±0, T = 1e−310) the quotient as written takes the max-shift rules' limits, as
    before the rule: ∂a 0 at T = +0 and 1 at T = −0 for a < b, 1 at T = 1e−310 for a > b; a = ±inf at T = 1."""
    T = np.array([0.0, -0.0, 1e-310, 1.0, 1.0, np.inf, 2.5])
    a = np.array([1.0, 1.0, 2.0, np.inf, -np.inf, 1.0, 3.0])
    b = np.array([2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, dT, da, db = symnet.compile(symnet.derive(SMOOTH_MAX), progress=False)(T=T, a=a, b=b)
    assert da.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.5] and db.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.5]
    # ∂T at a = ±inf: the entropy of a certain choice, 0 (NaN before the rule); log 2 at T = inf and a = b
    assert dT[3:].tolist() == [0.0, 0.0, np.log(2), np.log(2)], dT


def _truth(columns, output=1):
    truth = _truths(SMOOTH_MAX, NAMES)[output]
    with mpmath.workdps(120):
        return [truth(*map(mpmath.mpf, map(float, p))) for p in zip(*columns)]


@pytest.mark.parametrize("output", [1, 2])
def test_smooth_max_against_torch_at_the_same_points(output):
    """∂T, ∂a within 4 ULP where torch is, never worse than torch; torch's ∂T is 0 (every digit lost) at the failing
    point."""
    columns = _points()
    got = symnet.compile(symnet.derive(SMOOTH_MAX), progress=False)(**dict(zip(NAMES, columns)))[output]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _torch_grads(SMOOTH_MAX, list(NAMES), columns)[output]
    truth = _truth(columns, output)
    normal = np.array([abs(t) >= np.finfo(np.float64).tiny for t in truth])
    ours = np.array([ulps(g, t, np.float64) for g, t in zip(got, truth)])
    torch_ulps = np.array([ulps(g, t, np.float64) for g, t in zip(theirs, truth)])
    assert (ours[normal] <= np.maximum(torch_ulps[normal], 4)).all(), ours.max()
    if output == 1:
        assert torch_ulps[0] > 1e15 and ours[0] <= 4, (torch_ulps[0], ours[0])


# ---------------------------------------------------------------- Triton (the interpreter, small sizes)

# before (symnet.torch, Triton interpreter, these 31 points): float64 ∂T 0 at the failing point (true 2.794e−42), 8.9e15
# ULP at worst; float32 0 for 7.27e−35 (1.3e7 ULP); after: ≤ 0.46 ULP float64, ≤ 0.47 float32. ∂a float64 71.4 ULP
# before, ∂b 81.2; after 0.83, 0.54 (float32 ≤ 0.49 before and after)
def test_smooth_max_gradients_triton():
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    fn = st.from_formula(SMOOTH_MAX, inputs=list(NAMES))
    for dtype, npdt in ((torch.float64, np.float64), (torch.float32, np.float32)):
        columns = [c[::10].astype(npdt) for c in _points()]  # 31 points, the two failing ones first
        # (the truths at the points rounded to the dtype)
        ts = [torch.tensor(c, dtype=dtype).requires_grad_() for c in columns]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fn(*ts).sum().backward()
        for output, grad in ((1, ts[0].grad), (2, ts[1].grad)):
            truth = _truth(columns, output)
            u = [ulps(g, t, npdt) for g, t in zip(grad.numpy(), truth) if abs(t) >= np.finfo(npdt).tiny]
            assert max(u) <= BOUND[npdt], (npdt, output, max(u))
