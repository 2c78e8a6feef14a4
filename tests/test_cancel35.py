"""Session 35 (h-cancel35), issue 16: cancellations found and not fixed by session 34, each at the value that showed
it and its neighbourhood. Truths are mpmath's of the formula as written (its own roots, reciprocals and quotients,
never symnet's derivation), at the digits each sum needs; errors in ULPs of the kernel's dtype (conftest.ulps)."""
import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps

BOUND = {np.float64: 4, np.float32: 8}


# ---------------------------------------------------------------- conjugate: c + g/√A with an irrational constant c

# The conjugate rule's derivative form c + g/√A read c as the sum's rational part: ∂ of √2/3·x + √(2x²/9 + 1) is
# (3√2 + 2x/√(2x²/9 + 1))/9, whose constant 3√2 is no Rational, so the rule never applied and the sum cancelled for
# x ≪ 0: 0 at x = −1e10 for 1.06e−20 (7.0e15 ULP), 1.1e−16 for 1.99e−124 at −7.3e61; √5·x + √(5x² + 1) likewise
# (5.9e15 ULP at −1e10; the value was right, session 34's test_lead34 checks it). Now ≤ 1 ULP.
HYPOT_FORMS = {  # formula: its constant c (f = c·x + √(c²x² + 1))
    "sqrt(2)/3*x + sqrt(2*x**2/9 + 1)": mpmath.sqrt(2) / 3,
    "sqrt(5)*x + sqrt(5*x**2 + 1)": mpmath.sqrt(5),
    "sqrt(7)/2*x + sqrt(7*x**2/4 + 1)": mpmath.sqrt(7) / 2,
    "2*sqrt(3)*x + sqrt(12*x**2 + 1)": 2 * mpmath.sqrt(3),
}


def _hypot_points(dtype, seed):
    rng = np.random.default_rng(seed)
    top = 306 if dtype == np.float64 else 37
    xs = np.concatenate([[-1e10, -7.3e61, -3.0, -1e5], -10 ** rng.uniform(-3, top, 150),
                         10 ** rng.uniform(-3, top, 40), rng.uniform(-5, 5, 20)])
    return xs[np.abs(xs) < np.finfo(dtype).max].astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", list(HYPOT_FORMS))
def test_conjugate_takes_an_irrational_constant_of_the_derivative(formula, dtype):
    c = HYPOT_FORMS[formula]
    xs = _hypot_points(dtype, 3500 + len(formula))
    f, df = compiled(formula)(x=xs)
    with mpmath.workdps(700):  # c²x² + 1 at x = −1e306 needs 612 digits to keep the 1
        C = +c
        for x, g, dg in zip(xs, f, df):
            X = mpmath.mpf(float(x))
            r = mpmath.sqrt(C ** 2 * X ** 2 + 1)
            assert ulps(g, C * X + r, dtype) <= BOUND[dtype], (formula, x, g)
            assert ulps(dg, C + C ** 2 * X / r, dtype) <= BOUND[dtype], (formula, x, dg)


# ---------------------------------------------------------------- reciprocal-difference: a/u − a/v of two inputs

# A Gamma deviance 2·(log(μ/y) + y/μ − 1) has ∂y = 2·(1/μ − 1/y), which cancels near y = μ: at μ = 1.7·(1 + 10⁻⁶),
# y = 1.7 it was −1.1764694116678243e−06 for −1.1764694116844647e−6 (7.86e4 ULP; torch autograd the same); 2.9e15 ULP
# at worst over the 301 points below (torch 6.1e15). Now 2·((y − μ)/μ)/y where y/μ is in [1/2, 2]: ≤ 1.13 ULP.
GAMMA = "2*(log(mu/y) + y/mu - 1)"


def _gamma_points(dtype, seed):
    rng = np.random.default_rng(seed)
    span = 300 if dtype == np.float64 else 30
    y = np.concatenate([[1.7], 10 ** rng.uniform(-span, span, 300)])
    rel = np.concatenate([[1e-6], rng.choice([-1, 1], 300) * 10 ** rng.uniform(-16, -0.05, 300)])
    return (y * (1 + rel)).astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_gamma_deviance_gradients_near_the_optimum(dtype):
    mu, y = _gamma_points(dtype, 35)
    out = dict(zip(compiled(GAMMA).outputs, compiled(GAMMA)(mu=mu, y=y)))
    with mpmath.workdps(60):
        for i, (m, t) in enumerate(zip(mu, y)):
            M, Y = mpmath.mpf(float(m)), mpmath.mpf(float(t))
            assert ulps(out["df_dy"][i], 2 * (1 / M - 1 / Y), dtype) <= BOUND[dtype], (m, t, out["df_dy"][i])
            assert ulps(out["df_dmu"][i], 2 * (M - Y) / M ** 2, dtype) <= BOUND[dtype], (m, t, out["df_dmu"][i])


# where y/μ is outside [1/2, 2] (and at signs that differ, zeros, infinities) the written form: within 4 ULP where the
# inputs are finite and nonzero, else the written form's own value
@pytest.mark.parametrize("mu, y", [(1.0, 3.0), (3.0, 1.0), (-1.0, 1.0), (1e-300, 1e300), (1e300, 1e-300),
                                   (1.7976931348623157e308, 1.7976931348623157e308), (5e-324, 5e-324),
                                   (np.inf, 1.0), (1.0, np.inf), (0.0, 1.0), (1.0, 0.0), (-2.0, -2.0000001)])
def test_reciprocal_difference_outside_its_interval(mu, y):
    got = dict(zip(compiled(GAMMA).outputs, compiled(GAMMA)(mu=np.array([mu]), y=np.array([y]))))["df_dy"][0]
    with np.errstate(all="ignore"):
        written = 2 * (np.float64(1) / np.float64(mu) - np.float64(1) / np.float64(y))
    if np.isfinite(mu) and np.isfinite(y) and mu != 0 and y != 0:  # at μ = y = 5e−324 the written inf − inf is NaN,
        # the rule's 0 exact (torch NaN)
        with mpmath.workdps(60):
            assert ulps(got, 2 * (1 / mpmath.mpf(mu) - 1 / mpmath.mpf(y)), np.float64) <= 4, (mu, y, got)
    else:
        assert got == written or (np.isnan(got) and np.isnan(written)), (mu, y, got, written)


# other formulas with the difference of two inputs' reciprocals
@pytest.mark.parametrize("formula, truth", [
    ("1/x - 1/y", lambda X, Y: 1 / X - 1 / Y),
    ("3/x - 3/y + z", lambda X, Y: 3 / X - 3 / Y + 2),
])
def test_reciprocal_difference_of_inputs_near_equal(formula, truth):
    rng = np.random.default_rng(3501)
    y = rng.choice([-1, 1], 200) * 10 ** rng.uniform(-300, 300, 200)
    x = y * (1 + rng.choice([-1, 1], 200) * 10 ** rng.uniform(-16, -0.4, 200))
    k = compiled(formula)
    args = dict(x=x, y=y, z=np.full_like(x, 2.0)) if "z" in formula else dict(x=x, y=y)
    f = k(**args)[0]
    with mpmath.workdps(60):
        for X, Y, g in zip(x, y, f):
            assert ulps(g, truth(mpmath.mpf(X), mpmath.mpf(Y)), np.float64) <= 4, (formula, X, Y, g)


# ---------------------------------------------------------------- cancel: a sum of quotients by an input

# ∂y of (x·y + hardswish(y))/y as derived is x/y + P/y − (x·y + y·P)/y² (+ 1/6 where |y| < 3, P = y/6 + 1/2):
# two terms of 3.5e140 at y = −1.41e−141 whose sum is 0, 7.82e92 for 1/6 (test_hyp31's strict xfail; torch 1.1e301
# ULP at its worst over the points below). Multiplied out one level, the terms cancel symbolically: ∂y is 1/6 or 0.
HARDSWISH_FORMS = ["(((y) * (x)) + (hardswish(y))) / (y)", "(hardswish(y) - x*y)/y", "(x*y**2 + hardswish(y)*y)/y**2"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", HARDSWISH_FORMS)
def test_quotient_terms_by_an_input_cancel_symbolically(formula, dtype):
    rng = np.random.default_rng(3502)
    low = -300 if dtype == np.float64 else -37
    y = np.concatenate([[-1.4098011241711792e-141 if dtype == np.float64 else -1.4e-41, 2.999, -2.999, 3.5, -7.0],
                        rng.choice([-1, 1], 200) * 10 ** rng.uniform(low, 0.6, 200)]).astype(dtype)
    x = np.concatenate([np.zeros(105), rng.choice([-1, 1], 100) * 10 ** rng.uniform(-5, 3, 100)]).astype(dtype)
    k = compiled(formula)
    dy = dict(zip(k.outputs, k(x=x, y=y)))["df_dy"]
    for t, g in zip(y, dy):
        if abs(t) != 3:
            assert g == (np.float32(1) / 6 if dtype == np.float32 else 1 / 6) * (abs(t) < 3), (formula, t, g)


# found while measuring the above: the deviance's value where μ ≈ y are both below about 1e−278 (its triple words'
# remainders went subnormal: quotients of numbers near 1e−300 kept too few bits); worst over 50 points a decade,
# μ = y·(1 ± 1e−15..1e−5): 0.49 ULP from y = 1e−275 up, 30.8 at 1e−280, 3.9e6 at 1e−285, 6e21 at 1e−300; at the point
# below 1.4795521094654128e−24 for 8.3681309e−28 (8.2e18 ULP; torch autograd's forward −2.22e−16). Fixed in session 36
# (h-cancel36: doubleword._tw_quotient scales a tiny dividend by 2⁶⁰⁰); its neighbourhood in tests/test_cancel36.py
def test_gamma_deviance_value_where_both_inputs_are_tiny():
    mu, y = 4.126224107271759e-300, 4.12622410727164e-300
    f = compiled(GAMMA)(mu=np.array([mu]), y=np.array([y]))[0][0]
    with mpmath.workdps(60):
        M, Y = mpmath.mpf(mu), mpmath.mpf(y)
        assert ulps(f, 2 * (mpmath.log(M / Y) + Y / M - 1), np.float64) <= 4


# ---------------------------------------------------------------- exp-product-cancel: a shift multiplied back in

# ∂x of the KL divergence of two written 3-class softmaxes is q_x − p_a, derived as q_x·(p_b + p_c) − p_a·(q_y + q_z):
# at identical logits (1, −2, 0.5) it was −2.31e−33 for 0 (torch 0; test_hostile29b's strict xfail), nonzero at 25 of
# the 60 identical-logit points below (∂y, ∂z likewise). Now every gradient is 0 exactly there (float64), and near
# p = q (logits 1e−15..1e−3 apart) and at random logits every output stays within 0.5 ULP (as before; torch ∂x 7.9e14).
def _kl(n):
    p_logits, q_logits = "abc"[:n], "xyz"[:n]
    P = " + ".join(f"exp({a})" for a in p_logits)
    Q = " + ".join(f"exp({x})" for x in q_logits)
    return " + ".join(f"exp({a})/({P})*(log(exp({a})/({P})) - log(exp({x})/({Q})))" for a, x in zip(p_logits, q_logits))


def _kl_truth(a, x):
    """The KL divergence Σ p_i·(log p_i − log q_i) and its gradient, p_i·(log p_i − log q_i − KL) and q_i − p_i."""
    with mpmath.workdps(150):
        a, x = [mpmath.mpf(float(v)) for v in a], [mpmath.mpf(float(v)) for v in x]
        sa, sx = mpmath.fsum(mpmath.exp(v) for v in a), mpmath.fsum(mpmath.exp(v) for v in x)
        p, q = [mpmath.exp(v) / sa for v in a], [mpmath.exp(v) / sx for v in x]
        d = [mpmath.log(pi) - mpmath.log(qi) for pi, qi in zip(p, q)]
        kl = mpmath.fsum(pi * di for pi, di in zip(p, d))
        out = {"f": kl}
        out.update({f"df_d{n}": pi * (di - kl) for n, pi, di in zip("abc", p, d)})
        out.update({f"df_d{n}": qi - pi for n, pi, qi in zip("xyz", p, q)})
        return out


# Its tests (test_kl3_gradients_at_identical_logits_are_zero, test_kl3_near_equal_and_random_logits_within_the_bound)
# are in tests/test_kl36.py, beside the other checks of this kernel: one compile of it (30-38 s of CPU) a run, not one in
# each file that checked it (session 39, h-trim39).
