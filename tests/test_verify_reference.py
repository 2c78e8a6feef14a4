"""verify's mpmath reference is never a wrong number (issue 16, point 4; breaker's report).

Two precisions that agree are no proof when both absorbed the same small term: the gradient of
t·σ(u) − (1 − t)·σ(−u) is t·(1 − σ(u))σ(u) + (1 − t)(1 − σ(−u))σ(−u), and 1 − σ(709) is exactly 0
at 50, 100 and 300 digits, so the reference read −8.6e−306 at t = u = −709 where the true value,
σ(u)σ(−u), is +1.2e−308. The references here are independent: σ(u)σ(−u) = e^−|u|/(1 + e^−|u|)²,
which cancels nowhere, at 400 digits, and torch float64."""
import mpmath
import pytest
import sympy as sp

from symnet.functions import sigmoid
from symnet.verify.evaluate import reference

t, u = sp.symbols("t u", real=True)
GRAD = t * (1 - sigmoid(u)) * sigmoid(u) + (1 - t) * (1 - sigmoid(-u)) * sigmoid(-u)


def _true(uv: float):
    with mpmath.workdps(400):
        e = mpmath.exp(-abs(mpmath.mpf(uv)))
        return e / (1 + e) ** 2


@pytest.mark.parametrize("tv, uv", [(-709.0, -709.0), (0.3, 537.0), (1.0, -709.0), (-1.5, 700.0),
                                    (0.7, 40.0), (2.5, -3.0)])
def test_reference_of_a_cancelling_gradient_is_the_true_value(tv, uv):
    value, digits = reference(GRAD, {t: tv, u: uv})
    assert value is not None
    assert value > 0
    assert abs(value - _true(uv)) <= mpmath.mpf("1e-25") * _true(uv), (value, digits)


def test_reference_agrees_with_torch_float64_where_torch_is_exact():
    torch = pytest.importorskip("torch")
    for uv in (-30.0, -2.0, 0.1, 5.0, 30.0):
        x = torch.tensor(uv, dtype=torch.float64)
        want = float(torch.sigmoid(x) * torch.sigmoid(-x))
        got, _ = reference(GRAD, {t: 0.25, u: uv})
        assert abs(float(got) - want) <= 4e-16 * want


def test_an_exact_zero_of_exact_terms_is_taken_at_once():
    """1 − t at t = 1 is a true 0 (inputs and dyadic constants, summed exactly): no escalation."""
    value, digits = reference((1 - t) * sigmoid(u), {t: 1.0, u: 0.5})
    assert value == 0 and digits == 100


def test_verify_float64_gradient_passes_with_a_true_reference():
    from symnet.verify import verify

    r = verify("t*sigmoid(u) - (1-t)*sigmoid(-u)", dtypes=("float64",), torch=False, n=10)
    cell = r.cell("df_du", "float64", "symnet numpy")
    assert cell.mismatches == 0 and cell.worst_ulp <= 4, str(r)
    assert r.unresolved["float64"] == 0


def test_logsumexp_gradient_error_is_that_of_the_rounded_difference():
    """`symnet verify "log(exp(a)+exp(b))" --dtype float64` FAILs (91 and 384 ULP) at a = −226.48,
    b = 0.3 (∂/∂a) and a = 709, b = 1.72 (∂/∂b): the gradient, e^a/(e^a + e^b) = σ(a − b), sits
    where σ's condition number is |a − b| ≈ 227 and 707, and a − b itself is rounded (half an ULP
    of 707 is 5.7e−14, i.e. up to ~256 relative ULPs of the result): σ(fl(a − b)) computed exactly,
    and torch.logsumexp's gradient, are that far off. The generated gradient is never further off
    than either, at every point (since the two-sum rule, which corrects the rounding of a − b, it is
    within 2 ULP: tests/test_twosum.py)."""
    torch = pytest.importorskip("torch")
    import numpy as np

    from symnet.codegen import compile as compile_
    from symnet.verify.measure import _as_derivation

    d, _ = _as_derivation("log(exp(a)+exp(b))", None)
    kernel = compile_(d, "numpy")
    rng = np.random.default_rng(1)
    A = -226.481 + rng.uniform(-1, 1, 40)
    B = 0.3 + rng.uniform(-1, 1, 40)
    _, da, _ = kernel(A, B)
    ta, tb = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    torch.logsumexp(torch.stack([ta, tb]), 0).sum().backward()
    worst_symnet = worst_rounded = 0.0
    with mpmath.workdps(60):
        for i in range(len(A)):
            ea, eb = mpmath.exp(mpmath.mpf(A[i])), mpmath.exp(mpmath.mpf(B[i]))
            true = ea / (ea + eb)
            ulp = float(np.spacing(np.float64(float(true))))
            rounded = 1 / (1 + mpmath.exp(-mpmath.mpf(float(A[i] - B[i]))))  # σ(fl(a − b)), exactly
            err = float(abs(mpmath.mpf(float(da[i])) - true)) / ulp
            worst_symnet, worst_rounded = max(worst_symnet, err), max(worst_rounded, float(abs(rounded - true)) / ulp)
            assert err <= float(abs(rounded - true)) / ulp + 1
            assert err <= abs(ta.grad[i].item() - float(true)) / ulp + 1
    assert worst_rounded > 30  # the rounding of a − b alone costs tens of ULPs here


def test_a_reference_far_outside_every_float_format_prints_as_its_order_of_magnitude():
    """GELU-tanh′ at −1.8e308 is about −10^(−1.8e923): printed with its digits, mpmath's exponent
    alone was a thousand-digit line in the verify report; now its order of magnitude."""
    import mpmath
    from symnet.verify.measure import _true_text

    with mpmath.workdps(30):
        tiny = -mpmath.power(10, -mpmath.mpf("1.8e923"))
        assert _true_text(tiny, 8) == "-10^(-1.8e+923)"
        assert _true_text(mpmath.mpf("2.5e-300"), 8) == mpmath.nstr(mpmath.mpf("2.5e-300"), 8)
        assert _true_text(mpmath.mpf(0), 8) == "0.0"


def test_a_repeated_subtree_is_evaluated_once_to_the_same_value(monkeypatch):
    """mp_value walks each distinct subtree once per point (the root-series search evaluates a derivative
    ~28,000 times, its sin x and σ(2x) repeated): sin is called once here, and the value is the one written out."""
    from symnet.verify import evaluate

    calls = []
    real = evaluate._MP[sp.sin]
    monkeypatch.setitem(evaluate._MP, sp.sin, lambda a: calls.append(a) or real(a))
    x = sp.Symbol("x", real=True)
    with mpmath.workdps(50):
        got = evaluate.mp_value(sp.sin(x) * sp.cos(x) + sp.sin(x) ** 2 * sp.exp(sp.sin(x)), {x: mpmath.mpf("0.7")})
        s, c = mpmath.sin(mpmath.mpf("0.7")), mpmath.cos(mpmath.mpf("0.7"))
        want = s * c + s ** 2 * mpmath.exp(s)
    assert len(calls) == 1
    assert abs(got - want) <= mpmath.mpf(10) ** -45 * abs(want)
