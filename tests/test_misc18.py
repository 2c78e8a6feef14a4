"""Session 18 (issue 16): the deepest cancellations left in user formulas.

poisson_nll(x, t, 0)'s f = x − t·log(x + 10⁻⁸) crosses 0 where t = x/log(x + 10⁻⁸); the float64 t nearest that leaves
f some 2⁻⁵⁷ of its terms (x = 1, t = 100000000.5: −8.33e−18), where the double word (2⁻¹⁰⁶ of each term, its log's
reductions 2⁻¹⁰⁶ of log1p(r₂), x + 10⁻⁸ with 10⁻⁸ to 106 bits) was 6.34 ULP off, and 1.05e4 ULP at x = 1e−7 (1 + d
with d = x − 1 + 10⁻⁸ in a double word is 2⁻⁸³ of x + 10⁻⁸). Now such a sum is computed in triple words where the
float64 bound is past 2⁻¹⁰ of it (doubleword.DEEP_RELATIVE): x + 10⁻⁸ with 10⁻⁸ in three words, log1p(a) as
_tw_log(1 + a), NumPy's table-driven log keeping its reductions' remainders, log G in three words and log1p(r₂) to
r₂⁹/9 in triple mode. References: mpmath at 60 digits from the float inputs, torch's poisson_nll_loss in float64.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import triton_torch
from symnet.codegen import doubleword

with mpmath.workdps(60):
    EPS = mpmath.mpf("1e-8")  # torch's eps, exactly (a float64 1e−8 is 2⁻⁸⁰ of it off)

_t, _x = sp.symbols("t x", real=True)
# shifted-argument's k·x + c (session 18): ∂x of x − t·log(x + 10⁻⁸) as together() leaves it, 1 − 10⁸·t/(1 + 10⁸·x),
# cancels where t ≈ x + 10⁻⁸ (2.4e7 ULP at x = t = 1 as written); tests/test_stability_rules.py takes these
RULE_CASES = [
    ("shifted-argument", 1 - 100000000 * _t / (1 + 100000000 * _x), (_t, _x), (0.5, 4.0), (1.0, 1.0), np.float64),
]


def _crossings():
    """x on a spread of values (1, 1e−7, 1 ± 3e−4, uniform in (0, 10), 1 ± 10⁻³), t the float64 nearest x/log(x + ε)
    and 3 floats either side: f there is 2⁻⁴⁰ to 2⁻⁶³ of x."""
    rng = np.random.default_rng(18)
    xs = np.concatenate([[1.0, 0.5, 2.0, 1e-3, 7.25, 1 - 1e-5, 1 + 3e-4, 0.99994161, 1e-7], rng.uniform(0, 10, 20),
                         1 + rng.uniform(-1e-3, 1e-3, 10)])
    cx, ct = [], []
    with mpmath.workdps(60):
        for x in xs:
            t0 = float(mpmath.mpf(x) / mpmath.log(mpmath.mpf(x) + EPS))
            for k in range(-3, 4):
                cx.append(x)
                ct.append(t0 + k * float(np.spacing(abs(t0))))
    return np.array(cx), np.array(ct)


def _true_f(x, t):
    with mpmath.workdps(60):
        return mpmath.mpf(float(x)) - mpmath.mpf(float(t)) * mpmath.log(mpmath.mpf(float(x)) + EPS)


def _worst_ulps(x, t, got):
    worst, at = 0.0, None
    for xv, tv, g in zip(x, t, got):
        true = _true_f(xv, tv)
        tf = float(true)
        if tf == 0.0 or abs(tf) < 2.2250738585072014e-308:
            continue
        e = float(abs(mpmath.mpf(float(g)) - true) / mpmath.mpf(float(np.spacing(abs(tf)))))
        if e > worst:
            worst, at = e, (float(xv), float(tv))
    return worst, at


def _numpy_f(x, t):
    return symnet.compile(symnet.derive("poisson_nll(x, t, 0)"), "numpy")(t=t, x=x)[0]


def test_poisson_f_numpy_at_its_crossings():
    x, t = _crossings()
    worst, at = _worst_ulps(x, t, _numpy_f(x, t))
    # measured 0.4998 at 273 points (before: 1.05e4 at x = 1e−7, t = −6.24e−9; 6.34 at x = 1, t = 100000000.5)
    assert worst <= 1.0, (worst, at)
    import torch
    theirs = torch.nn.functional.poisson_nll_loss(torch.from_numpy(x), torch.from_numpy(t), log_input=False,
                                                  reduction="none").numpy()
    assert _worst_ulps(x, t, theirs)[0] > 1e10  # torch's x − t·log(x + ε): every digit lost
    # the same points among others kept in float64 (t = 0: f = x), so that the rest are gathered and the deep ones
    # gathered again from those
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.uniform(0, 10, 3000), x])
    ts = np.concatenate([np.zeros(3000), t])
    mixed = _numpy_f(xs, ts)
    assert np.array_equal(mixed[3000:], _numpy_f(x, t))


def test_poisson_f_triton_at_its_crossings():
    torch = triton_torch()
    x, t = _crossings()
    x, t = x[::3], t[::3]  # the interpreter is slow: a third of the points
    kernel = symnet.compile(symnet.derive("poisson_nll(x, t, 0)"), "triton")
    got = kernel(t=torch.from_numpy(t), x=torch.from_numpy(x))[0].numpy()
    worst, at = _worst_ulps(x, t, got)
    assert worst <= 1.0, (worst, at)  # measured 0.4998 (Triton's log: the Newton step on a triple-word e^y₀)


def test_poisson_f_deep_cancellation_only_in_triple_words():
    """NumPy computes the triple words only where the float64 bound is past 2⁻¹⁰ of f (a cancellation past 2⁴³):
    on ordinary data (x uniform in [0, 10], t integers) no element, the rest double words as before."""
    source = symnet.compile(symnet.derive("poisson_nll(x, t, 0)"), "numpy").source
    body = next(b for b in source.split("\ndef ") if b.startswith("_dw_widened_") and "t·log1p" in b.splitlines()[1])
    double, triple = body.split("if deep.any():")
    assert "_dw_log1p(" in double and "_tw_" not in double
    assert "_tw_log(" in triple and "_tw_add(1.0, 0.0, 0.0" in triple
    rng = np.random.default_rng(0)
    x, t = rng.uniform(0, 10, 20000), rng.integers(0, 20, 20000).astype(float)
    got = _numpy_f(x, t)
    with mpmath.workdps(60):
        for i in range(0, 20000, 997):  # a sample against mpmath: the double word there
            true = _true_f(x[i], t[i])
            assert abs(mpmath.mpf(float(got[i])) - true) <= 0.5000001 * float(np.spacing(abs(float(true)))), i


# ------------------------------------------------------------------ the log near 1 in triple words


def _log_namespace():
    names = doubleword._closure(["_tw_add", "_dw_log"], "numpy")
    ns = {"np": np}
    exec("\n\n".join(doubleword.primitive_text(n, "numpy") for n in names), ns)  # our own generated text
    newton = {"np": np}
    exec("\n\n".join(doubleword.primitive_text(n, "numpy") for n in doubleword._closure(["_tw_log"], "triton")),
         newton)  # Triton's shared text, np for tl
    ns["newton_log"] = newton["_tw_log"]
    return ns


@pytest.mark.parametrize("which", ["_tw_log", "newton_log"])
def test_triple_word_log_of_x_plus_a_constant_near_1(which):
    """log(1 + ((x − 1) + c)) with c in three words, x within 2⁻² of 1 (and far from it): relative to log x, NumPy's
    was 2⁻¹⁰⁶ near x = 1 (the reductions' roundings, lo2 added to d_lo, log1p(r₂) to r₂⁷, log G's double word),
    Triton's 2⁻¹⁰⁹·⁶ within ulps of 1 (a double-word c, no c³/3). Measured now: 2⁻¹¹⁴·⁸ and 2⁻¹²⁷·⁶ on 400 other
    points, but 2⁻¹¹¹·⁸ (NumPy) and 2⁻¹¹¹·¹ (Triton) at x = 1 + 2⁻⁵² with c = 10⁻¹⁷, 10⁻¹⁶, where log x is 2⁻⁵² and
    the absolute errors, some 2⁻¹⁶³, are at the words' resolution about 1 (2⁻¹⁵⁹): 2⁻⁵⁴ of f, half an ULP, at a 2⁵⁷
    cancellation there."""
    ns = _log_namespace()
    rng = np.random.default_rng(7)
    x = np.concatenate([1 + rng.uniform(-1, 1, 150) * 2.0 ** rng.integers(-52, -2, 150), rng.uniform(0.1, 10, 30)])
    worst = -math.inf
    for xv in x:
        k = int(rng.integers(1, 20))
        with mpmath.workdps(80):
            c = mpmath.mpf(10) ** -k
            words = [float(c)]
            words.append(float(c - words[0]))
            words.append(float(c - words[0] - words[1]))
            xa = np.array([xv])
            d = ns["_dw_two_sum"](xa, -1.0)
            a = ns["_tw_add"](d[0], d[1], 0.0 * xa, *(w + 0.0 * xa for w in words))
            one = ns["_tw_add"](1.0 + 0.0 * xa, 0.0 * xa, 0.0 * xa, *a)
            with np.errstate(all="ignore"):
                y = ns[which](*one)
            arg = sum((mpmath.mpf(float(w[0])) for w in one), mpmath.mpf(0))
            true = mpmath.log(arg)
            got = sum((mpmath.mpf(float(w[0])) for w in y), mpmath.mpf(0))
            if got != true and float(mpmath.log(abs((got - true) / true), 2)) > worst:
                worst, at = float(mpmath.log(abs((got - true) / true), 2)), (float(xv), k)
    assert worst < -110.5, (worst, at)


# ------------------------------------------------------------------ float32 kernels where float64 is not enough


def _f32_ulps(got, want):
    out = []
    for g, w in zip(got, want):
        spacing = float(np.spacing(np.abs(np.float32(float(w)))))
        out.append(float(abs(mpmath.mpf(float(g)) - w) / mpmath.mpf(spacing)) if w != 0 else 0.0)
    return max(out)


def test_float32_sums_at_their_zeros_in_double_words_where_float64_is_not_enough():
    """A float32 kernel's widened sum at its zero (t the float32 nearest the function and its neighbours): the float64
    body's own rounding (2⁻⁵³ of the terms) is past a float32 ULP of what is left where it cancels past 2²⁹. Now the
    float32 kernel takes the double word where the float64 bound is not within 2⁻³⁰ of the sum (the widened
    function's ``within``: WidenedFunction.takes_within).
    Measured (before → after): e^x − t·x 5.29 → 0.498 ULP; bce_logits ∂z = σ(z) − y 1.28 → 0.4997."""
    with mpmath.workdps(60):
        rng = np.random.default_rng(5)
        x = rng.uniform(-5, 5, 100).astype(np.float32)
        t = np.array([np.float32(float(mpmath.exp(mpmath.mpf(float(v))) / mpmath.mpf(float(v)))) for v in x])
        t = np.concatenate([t + k * np.spacing(t) for k in (-1, 0, 1)]).astype(np.float32)
        x = np.concatenate([x] * 3)
        got = symnet.compile(symnet.derive("poisson_nll(x, t)"), "numpy")(t=t, x=x)[0]
        assert got.dtype == np.float32
        want = [mpmath.exp(mpmath.mpf(float(a))) - mpmath.mpf(float(b)) * mpmath.mpf(float(a)) for a, b in zip(x, t)]
        assert _f32_ulps(got, want) <= 1.0
        z = rng.uniform(-8, 8, 200).astype(np.float32)
        y = np.array([np.float32(float(1 / (1 + mpmath.exp(-mpmath.mpf(float(v)))))) for v in z])
        kernel = symnet.compile(symnet.derive("bce_logits(z, y)"), "numpy")
        outs = dict(zip([o.name for o in kernel.kernel.outputs], kernel(y=y, z=z)))
        want = [1 / (1 + mpmath.exp(-mpmath.mpf(float(a)))) - mpmath.mpf(float(b)) for a, b in zip(z, y)]
        assert _f32_ulps(outs["df_dz"], want) <= 1.0


def test_float32_kernel_passes_its_threshold():
    """The float32 call of a bounded widened sum passes within = 2⁻³⁰ (the float64 kernel 3u); the committed
    bce_logits kernel too."""
    source = symnet.compile(symnet.derive("0.5*(s + (p - t)**2*exp(-s))"), "numpy").source
    assert "within=(3.3306690738724404e-16 if _dtype == np.float64 else 2.0**-30)" in source
    assert "else s/2 + (p - t)**2*np.exp(-s)/2" not in source  # the float64 body inline: float32 before
