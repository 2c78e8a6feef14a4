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
