"""Session 37, a new user's pass (their own SELU, CELU, hard-swish, Charbonnier, Cauchy, asymmetric Laplace, ArcFace
margin, Tversky, written-out LayerNorm, Poisson NLL with Stirling's term, a GRU gate, the generalized logistic,
beta-NLL and a log-cosh-Dice, derived, verified, compiled and trained with).

Each test failed before its change; the before is in its comment."""
import re

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _ulps(got, true) -> float:
    """|got − true| in units of the last place of the float64 nearest ``true`` (an mpmath number)."""
    return float(abs(mpmath.mpf(float(got)) - true) / np.spacing(abs(float(true))))


# ---------------------------------------------------------------- the command line's unknown options

# before: "symnet: error: unrecognized arguments: --activation selu (see 'symnet --help')", whose help lists no
# option of train (argparse's top-level parser reports a command's unknown arguments)
@pytest.mark.parametrize("argv, help_of, close", [
    (("train", "digits", "--activation", "selu"), "symnet train --help", None),
    (("train", "xor", "--seeed", "1"), "symnet train --help", "--seed"),
    (("codegen", "--chek"), "symnet codegen --help", "--check"),
    (("derive", "x*y", "--bogus"), "symnet derive --help", None),
])
def test_an_unknown_option_names_its_commands_help_and_a_close_option(capsys, argv, help_of, close):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "", (code, out[:200])
    assert err.count("\n") == 1 and f"(see '{help_of}')" in err and "(see 'symnet --help')" not in err, err
    assert (f"did you mean {close}?" in err) if close else ("did you mean" not in err), err


# before: --list said "64-H-10 sigmoid network", an H no option sets (the new user looked for --hidden)
def test_train_list_names_the_digits_networks_sizes(capsys):
    code, out, err = _run(capsys, "train", "--list")
    assert code == 0 and "64-64-10 sigmoid network" in out and "-H-" not in out, out


# ---------------------------------------------------------------- functions the registry writes out

# before: sech(x) was "unknown function 'sech'; for a product write sech*(…); known: exp, log, …" (60 names), acos(c)
# of an ArcFace margin "did you mean cos or cosh?", with no way to write it; now each names a formula of the registry's
# functions, and that formula is measured here against mpmath at 50 digits (value and derivative, float64, ≤ 4 ULP)
_INVERSES = {
    "acos": (mpmath.acos, lambda x: -1 / mpmath.sqrt(1 - x * x), (-1, 1)),
    "asin": (mpmath.asin, lambda x: 1 / mpmath.sqrt(1 - x * x), (-1, 1)),
    "atanh": (mpmath.atanh, lambda x: 1 / (1 - x * x), (-1, 1)),
    "acosh": (mpmath.acosh, lambda x: 1 / mpmath.sqrt(x * x - 1), (1, None)),
    "sech": (mpmath.sech, lambda x: -mpmath.sech(x) * mpmath.tanh(x), (-30, 30)),
    "csch": (mpmath.csch, lambda x: -mpmath.csch(x) * mpmath.coth(x), (-30, 30)),
    "coth": (mpmath.coth, lambda x: -mpmath.csch(x) ** 2, (-30, 30)),
    "sec": (mpmath.sec, lambda x: mpmath.sec(x) * mpmath.tan(x), (-1.5, 1.5)),
    "csc": (mpmath.csc, lambda x: -mpmath.csc(x) * mpmath.cot(x), (-3, 3)),
    "cot": (mpmath.cot, lambda x: -mpmath.csc(x) ** 2, (-3, 3)),
}


def _points(name, lo, hi):
    rng = np.random.default_rng(sum(map(ord, name)))
    if hi is None:  # acosh: near 1, ordinary, and far (sqrt((x − 1)(x + 1)) overflowed past 1.3e154)
        x = np.concatenate([1 + rng.exponential(3, 150), 1 + np.spacing(1.0) * rng.integers(1, 1000, 30),
                            10.0 ** rng.uniform(3, 307, 30)])
    else:
        x = rng.uniform(lo, hi, 200)
        if (lo, hi) == (-1, 1):  # the ends, where 1 − x² cancels and π/2 − atan would
            x = np.concatenate([x, 1 - np.spacing(1.0) * rng.integers(1, 1000, 20),
                                -1 + np.spacing(0.5) * rng.integers(1, 1000, 20)])
    return x[x != 0]


@pytest.mark.parametrize("name", sorted(_INVERSES))
def test_a_missing_trigonometric_function_names_an_accurate_formula(capsys, name):
    code, out, err = _run(capsys, "derive", f"{name}(x)", "--wrt", "x")
    assert code == 2 and err.count("\n") == 1 and "for a product" not in err, err
    formula = re.search(r"write (.+?)(?: \(|$)", err.strip()).group(1)
    value, slope, (lo, hi) = _INVERSES[name]
    k = symnet.compile(symnet.derive(formula, wrt=["x"]), progress=False)
    x = _points(name, lo, hi)
    f, df = k(x=x)
    with mpmath.workdps(50):
        worst = max(max(_ulps(a, value(mpmath.mpf(xi))), _ulps(b, slope(mpmath.mpf(xi))))
                    for xi, a, b in zip(x, f, df))
    assert worst <= 4, (name, formula, worst)
    # NumPy's names say the same
    if name in ("acos", "asin", "atanh", "acosh"):
        code, _, err_np = _run(capsys, "derive", f"arc{name[1:]}(x)")
        assert code == 2 and f"write {formula}" in err_np, err_np


# ---------------------------------------------------------------- widen-quotients: sums of quotients that cancel

b, k, p, t = sp.symbols("b k p t", real=True)
# (rule, written formula, its variables in order, domain of random points, bad point, dtype): tests/test_stability_rules.py
# runs RULE_CASES (exact at 50 digits, a symbolic identity, and right at the bad point, where the written form is
# 3.6e15 ULP off). widen-quotients was taken out after session 37's review and is back, narrowed and guarded, since
# session 38 (h-laplace38; tests/test_laplace38.py)
RULE_CASES = [
    ("widen-quotients", (t - p) / b - 1 / k + 2 * k / (1 + k ** 2), (b, k, p, t), (0.05, 4.0),
     (1.0, 0.3, -1.5, 1.2828746177370034), np.float64),
]

# an asymmetric Laplace NLL with scale b and asymmetry κ, in two forms; ∂κ is (t − p)/b − 1/κ + 2κ/(1 + κ²) where
# t ≥ p and −1/κ + 2κ/(1 + κ²) − (p − t)/(b·κ²) where t < p: terms of opposite signs that cancel where ∂κ crosses 0
_LAPLACE = ("log(b) - log(k/(1 + k**2)) + where(t - p >= 0, k*(t - p)/b, (p - t)/(k*b))",
            "log(b) + log(1 + k**2) - log(k) + where(p - t > 0, (p - t)/(k*b), k*(t - p)/b)")


def _laplace_dk(bv, kv, pv, tv):
    B, K, P, T = (mpmath.mpf(float(v)) for v in (bv, kv, pv, tv))
    return ((T - P) / B if T >= P else -(P - T) / (B * K ** 2)) - 1 / K + 2 * K / (1 + K ** 2)


def _laplace_points(dtype):
    """The point where ∂κ was 28.7 ULP (torch 12.7), 300 around the zero of ∂κ on both branches (t − p = b(1 − κ²)/
    (κ(1 + κ²)) for κ < 1, p − t = b·κ(κ² − 1)/(1 + κ²) for κ > 1) and a few ulps either side, and 100 ordinary ones."""
    rng = np.random.default_rng(37)
    rows = [(1.0, 0.3, -1.5, 1.2318714468604242)]
    for _ in range(150):
        bv, pv = rng.uniform(0.1, 5), rng.uniform(-3, 3)
        kv = rng.uniform(0.05, 0.95)
        tv = dtype(pv + bv * (1 - kv * kv) / (kv * (1 + kv * kv)))
        rows.append((bv, kv, pv, float(np.nextafter(tv, np.inf, dtype=dtype)) if rng.random() < 0.5 else float(tv)))
        kv = rng.uniform(1.05, 20)
        tv = dtype(pv - bv * kv * (kv * kv - 1) / (1 + kv * kv))
        rows.append((bv, kv, pv, float(np.nextafter(tv, -np.inf, dtype=dtype)) if rng.random() < 0.5 else float(tv)))
    rows += [tuple(r) for r in np.column_stack([rng.uniform(0.1, 5, 100), rng.uniform(0.05, 20, 100),
                                                rng.uniform(-3, 3, 100), rng.uniform(-3, 3, 100)])]
    return np.array(rows, dtype=dtype).T


# before (session 37's review, widen-quotients taken out): 28.7 ULP float64 at b = 1, κ = 0.3, p = −1.5,
# t = 1.2318714468604242 (torch 12.7), 0 for 1.99e−16 (8.1e15 ULP) at its zero t = 1.2828746177370034; over these 401
# points float64 worst 3.7e19 ULP at b = 4.0615, κ = 0.0658, p = −1.1673, t = 60.0047 (−1.78e−15), float32 11.4 at
# b = 2.2537, κ = 0.1940, p = −0.1311, t = 10.6420 (1.82e−10); torch 8.1e18 and 8.6e9. Fixed again by widen-quotients,
# narrowed and guarded (session 38, h-laplace38)
@pytest.mark.parametrize("formula", _LAPLACE)
@pytest.mark.parametrize("dtype, bound", [(np.float64, 4.0), (np.float32, 8.0)])
def test_a_sum_of_quotients_that_cancels_is_within_the_bound(formula, dtype, bound):
    kernel = symnet.compile(symnet.derive(formula, wrt=["k"]), progress=False)
    bv, kv, pv, tv = _laplace_points(dtype)
    _, dk = kernel(b=bv, k=kv, p=pv, t=tv)
    with mpmath.workdps(60):
        errors = [float(abs(mpmath.mpf(float(g)) - w) / np.spacing(dtype(abs(float(w)))))
                  for g, w in zip(dk, (_laplace_dk(*row) for row in zip(bv, kv, pv, tv)))]
    worst = int(np.argmax(errors))
    assert errors[worst] <= bound, (errors[worst], bv[worst], kv[worst], pv[worst], tv[worst], dk[worst])


def test_a_widened_sum_of_quotients_keeps_the_overflow_rules_select():
    # the widen rule's hazards are found before overflowing-log1p writes 2κ/(1 + κ²) as 2/κ where κ² overflows: a sum of
    # quotients widened there lost that select, ∂κ −1e−200 for 1e−200 at b = κ = p = t = 1e200 (a first attempt)
    kernel = symnet.compile(symnet.derive(_LAPLACE[0], wrt=["k"]), progress=False)
    _, dk = kernel(b=np.array([1e200]), k=np.array([1e200]), p=np.array([1e200]), t=np.array([1e200]))
    assert dk[0] == 1e-200


# ---------------------------------------------------------------- found and not fixed (session 37), measured

def _one(formula, wrt, point, output):
    kernel = symnet.compile(symnet.derive(formula, wrt=wrt and [wrt]), progress=False)
    return dict(zip(kernel.outputs, kernel(**{n: np.array([v]) for n, v in point.items()})))[output][0]


# before (session 37): got −0, truth 9.60e−92 (7.0e15 ULP float64); torch autograd −0 (7.0e15). tanh(d·h) − h cancels
# where the argument is h itself; fixed in session 38 (h-laplace38: tanhshrink's target form; tests/test_laplace38.py)
def test_gru_gate_tanh_minus_its_own_input():
    got = _one("(1 - sigmoid(a*x + b*h))*h + sigmoid(a*x + b*h)*tanh(c*x + d*h)", "a",
               dict(a=0.7, b=2.5, c=0.0, d=1.0, h=1e-30, x=-1.5), "df_da")
    with mpmath.workdps(80):
        A, H, X = mpmath.mpf(0.7), mpmath.mpf(1e-30), mpmath.mpf(-1.5)
        z = 1 / (1 + mpmath.exp(-(A * X + 2.5 * H)))
        assert _ulps(got, X * z * (1 - z) * (mpmath.tanh(H) - H)) <= 4


@pytest.mark.xfail(strict=True, reason="measured 2026-12-06 session 37: a log-cosh-Dice loss log(cosh(1 − (2pt + 1)/(p + "
                   "t + 1))), ∂p at p = −0.0009201741081848515, t = 0.3: got 0.029545822624044506, truth "
                   "0.0295458226240445236 (4.95 ULP float64, bound 4); torch autograd 0.02954582262404451 (3.95). The "
                   "stable form tanh(N/D)·(2t − 1 + 2t²)/D² rounds five times, no cancellation (its kernel for ∂p alone "
                   "gives 3.95)")
def test_log_cosh_dice_gradient_within_the_bound():
    pv, tv = -0.0009201741081848515, 0.3
    # (derived for both inputs, as symnet verify does: the kernel for ∂p alone rounds otherwise, 3.95 ULP there)
    got = _one("log(cosh(1 - (2*p*t + 1)/(p + t + 1)))", None, dict(p=pv, t=tv), "df_dp")
    with mpmath.workdps(60):
        true = mpmath.diff(lambda P: mpmath.log(mpmath.cosh(1 - (2 * P * mpmath.mpf(tv) + 1) / (P + mpmath.mpf(tv) + 1))),
                           mpmath.mpf(pv))
        assert _ulps(got, true) <= 4
