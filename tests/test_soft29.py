"""Session 29 (h-soft29): written-formula cells where symnet was worse than torch's autograd of the same formula
(issue 16: exact and stable for any formula, ≤ 4 ULP in float64 and ≤ 8 in float32, never worse than torch).

- a written softmax beside a logit at +inf: the max shift's b − max(a, b) is inf − inf inside a widened sum, which
  the infinite-shift rule did not enter (f NaN where torch gives the limit);
- x·e^a/S^1.5 − x·e^(2a)/S^2.5, S = e^a + e^b: the softmax-partition and max-shift rules took whole powers only
  (3.3e12 ULP at a − b = 80.46, NaN at x = 1.797e308 where torch is finite);
- a hand-written Tweedie deviance (p = 3/2), 4√μ − 8√y + 4y/√μ = 4(√y − √μ)²/√μ: the root-difference rule
  (6.5e32 ULP at μ = 1 − 2⁻⁵³, y = 1 in float64; torch 3.2e32).

References: mpmath at 60 digits or more (at an infinite logit, the written formula at a finite logit far enough out
that the rest is below every digit), and torch's autograd of the written formula in float64 where it is finite.
"""
from __future__ import annotations

import functools
import math
import os

import mpmath
import numpy as np
import pytest

import symnet

F64, F32 = np.float64, np.float32
BOUND = {F64: 4.0, F32: 8.0}


@functools.lru_cache(maxsize=None)
def _kernel(formula, backend="numpy"):
    return symnet.compile(symnet.derive(formula), backend=backend, progress=False)


def _ulps(got, true, dtype) -> float:
    got = float(got)
    if not math.isfinite(got) or not mpmath.isfinite(true):
        return 0.0 if got == true else math.inf
    if true == 0:
        return 0.0 if got == 0 else math.inf
    tiny = float(np.finfo(dtype).tiny)
    spacing = float(np.spacing(dtype(max(abs(float(true)), tiny))))
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(spacing))


def _outputs(formula, dtype, point):
    k = _kernel(formula)
    out = k(**{n: np.array([v], dtype) for n, v in point.items()})
    return {name: float(o.reshape(-1)[0]) for name, o in zip(k.outputs, out)}


def _mp_truth(formula, point, far=None, dps=60):
    """The formula and its gradient in mpmath (SymPy's derivative of the formula as written, evaluated at ``dps``
    digits); an infinite input replaced by ``far`` (the limit to every digit there)."""
    import sympy as sp

    expr = sp.sympify(formula)
    names = sorted(point)
    symbols = [sp.Symbol(n) for n in names]
    with mpmath.workdps(dps):
        at = {s: sp.Float(far if math.isinf(point[n]) else point[n], dps) for s, n in zip(symbols, names)}
        out = {"f": mpmath.mpf(str(expr.evalf(dps, subs=at)))}
        for s, n in zip(symbols, names):
            out[f"df_d{n}"] = mpmath.mpf(str(sp.diff(expr, s).evalf(dps, subs=at)))
    return out


def _torch(formula, point):
    """torch's autograd of the formula as written, float64: {output: value}."""
    torch = pytest.importorskip("torch")
    env = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in point.items()}
    import sympy as sp

    f = sp.lambdify([sp.Symbol(n) for n in env], sp.sympify(formula), "torch")(*env.values())
    grads = torch.autograd.grad(f, list(env.values()), allow_unused=True)
    return {"f": float(f.detach()), **{f"df_d{n}": (0.0 if g is None else float(g)) for n, g in zip(env, grads)}}


# ------------------------------------------------------------------ a written softmax beside a logit at +inf

INF_CASES = [
    # before (f64 and f32): f NaN (torch 6.37)
    ("(x + 1)*exp(a)/(exp(a) + exp(b)) - x - 1", {"x": -7.37, "a": 30.0, "b": math.inf}),
    # before: f NaN (torch 0.99996), ∂a NaN (torch 3.868e−5)
    ("exp(a)*(1/(exp(a) + exp(b)) - 1/(exp(a) + exp(c)))", {"a": 9.3, "b": -0.86, "c": math.inf}),
    # before: f and ∂a NaN (3 classes)
    ("(x + 1)*exp(a)/(exp(a) + exp(b) + exp(c)) - x - 1", {"x": -7.37, "a": 30.0, "b": 1.0, "c": math.inf}),
]


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", range(len(INF_CASES)))
def test_softmax_beside_an_infinite_logit_gives_the_limits(case, dtype):
    formula, point = INF_CASES[case]
    got = _outputs(formula, dtype, point)
    true = _mp_truth(formula, {n: float(dtype(v)) for n, v in point.items()}, far=1e5)
    errors = {k: _ulps(got[k], true[k], dtype) for k in true}
    assert max(errors.values()) <= BOUND[dtype], (got, errors)
    if dtype is F64:  # never worse than torch: where torch's value is finite, ours is the limit it gives too
        theirs = _torch(formula, point)
        worse = {k: (got[k], v) for k, v in theirs.items() if math.isfinite(v) and _ulps(v, true[k], F64) <
                 _ulps(got[k], true[k], F64)}
        assert not worse, worse


# ------------------------------------------------------------------ a softmax complement over S^(3/2) and S^(5/2)

HALF = "x*exp(a)/(exp(a) + exp(b))**1.5 - x*exp(2*a)/(exp(a) + exp(b))**2.5"


def _half_truth(x, a, b):
    with mpmath.workdps(80):
        x, a, b = mpmath.mpf(x), mpmath.mpf(a), mpmath.mpf(b)
        s = mpmath.exp(a) + mpmath.exp(b)
        return x * mpmath.exp(a) * mpmath.exp(b) / s ** 2.5


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("x, a, b", [
    (30.0, 80.4591540041131, 1e-30),   # before, float64: 1.1557e−51 for 1.1552e−51, 3.3e12 ULP (torch 8.3e34)
    (1.797e308, 30.0, 1e-30),          # before, float64: NaN for 5.144e288 (torch 5.158e288, 1.3e13 ULP)
    (0.3, 284.52365340256114, 1.0),    # before: 0 for 3.64e−186 (S^2.5 overflowed)
    (1.5, 0.3, -2.0),
    (2.0, -800.0, -801.0),
])
def test_softmax_complement_over_half_integer_powers(x, a, b, dtype):
    if dtype is F32 and (abs(x) > 3e38 or abs(a) > 80):
        pytest.skip("outside float32's range, or the truth below it")
    got = _outputs(HALF, dtype, {"x": x, "a": a, "b": b})["f"]
    true = _half_truth(float(dtype(x)), float(dtype(a)), float(dtype(b)))
    assert _ulps(got, true, dtype) <= BOUND[dtype], (got, float(true), _ulps(got, true, dtype))


# ------------------------------------------------------------------ the Tweedie deviance at p = 3/2 (root-difference)

def _rule_cases():
    import sympy as sp

    mu, y = sp.symbols("mu y", real=True)
    # (rule, formula, variables, domain of random points, bad point, dtype), for tests/test_stability_rules.py
    return [("root-difference", 4 * sp.sqrt(mu) - 8 * sp.sqrt(y) + 4 * y / sp.sqrt(mu), (mu, y), (0.05, 4.0),
             (1 - 2.0 ** -53, 1.0), F64),
            ("root-difference", 4 / sp.sqrt(mu) - 4 / sp.sqrt(y), (mu, y), (0.05, 4.0), (1 - 2.0 ** -24, 1.0), F32)]


RULE_CASES = _rule_cases()

TWEEDIE = "2*(y**0.5/((1-1.5)*(2-1.5)) - y*mu**(1-1.5)/(1-1.5) + mu**(2-1.5)/(2-1.5))"


def _tweedie_truth(mu, y):
    with mpmath.workdps(200):
        mu, y = mpmath.mpf(mu), mpmath.mpf(y)
        return {"f": 4 * mpmath.sqrt(mu) - 8 * mpmath.sqrt(y) + 4 * y / mpmath.sqrt(mu),
                "df_dmu": 2 * (1 - y / mu) / mpmath.sqrt(mu), "df_dy": 4 / mpmath.sqrt(mu) - 4 / mpmath.sqrt(y)}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("mu, y", [
    (1 - 2.0 ** -53, 1.0),      # before, float64: f 1.78e−15 for 1.23e−32 (6.5e32 ULP; torch 8.9e−16), ∂y 1.35e16 ULP
    (1 + 2.0 ** -52, 1.0),      # before: f 0 for 4.93e−32, ∂y 0 for −4.4e−16
    (1 - 2.0 ** -24, 1.0),      # before, float32: f 2.25e15 ULP
    (2.5, 0.3), (1e30, 1.0000001e30), (1e300, 1e-300), (3e-300, 7e-301), (1e300, 2e300),
])
def test_tweedie_deviance_at_p_three_halves(mu, y, dtype):
    if dtype is F32 and max(mu, y) > 3e38 or dtype is F32 and min(mu, y) < 1e-37:
        pytest.skip("outside float32's range")
    got = _outputs(TWEEDIE, dtype, {"mu": mu, "y": y})
    true = _tweedie_truth(float(dtype(mu)), float(dtype(y)))
    errors = {k: _ulps(got[k], true[k], dtype) for k in true}
    assert max(errors.values()) <= BOUND[dtype], (got, errors)
    if dtype is F64:
        theirs = _torch(TWEEDIE, {"mu": mu, "y": y})
        assert all(_ulps(got[k], true[k], F64) <= max(_ulps(v, true[k], F64), BOUND[F64]) for k, v in theirs.items())


def test_tweedie_deviance_at_infinity_is_the_written_form():
    # where an input is infinite the written sum is kept (the conjugate form is inf/inf there): f = inf at μ = inf,
    # ∂y = 4/√μ − 4/√y = −4/√2 (∂μ is NaN there for 0, as before this change: the common-power rule's, not this one)
    got = _outputs(TWEEDIE, F64, {"mu": math.inf, "y": 2.0})
    assert got["f"] == math.inf and abs(got["df_dy"] + 4 / math.sqrt(2)) < 1e-15, got


# ------------------------------------------------------------------ Triton (interpreted on the CPU), both dtypes

@pytest.mark.parametrize("formula, point", [
    INF_CASES[0],
    (HALF, {"x": 30.0, "a": 80.4591540041131, "b": 1e-30}),
    (TWEEDIE, {"mu": 1 - 2.0 ** -53, "y": 1.0}),
], ids=["softmax-inf", "half-power", "tweedie"])
def test_triton_matches_the_bound(formula, point):
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    k = _kernel(formula, "triton")
    for dtype, tdtype in ((F64, torch.float64), (F32, torch.float32)):
        if dtype is F32 and any(abs(v) > 80 and math.isfinite(v) for v in point.values()):
            continue
        here = {n: float(dtype(v)) for n, v in point.items()}
        res = k(**{n: torch.tensor([v], dtype=tdtype, device=device) for n, v in here.items()})
        got = {name: float(r.reshape(-1)[0].cpu()) for name, r in zip(k.outputs, res)}
        true = _mp_truth(formula, here, far=1e5, dps=120)
        errors = {name: _ulps(got[name], true[name], dtype) for name in (["f"] if formula == HALF else true)}
        assert max(errors.values()) <= BOUND[dtype], (dtype, got, errors)
