"""verify and --stable when time runs short (h-fresh11, session 11).

`symnet derive "x*sigmoid(beta*x)" --stable` ran out of its default 60 s: mpmath's exp of a large
argument (σ(β·x) at the sweep's extremes: e^(1e200)) squares its way up at a working precision that
grows with the exponent (0.2 s at 2400 digits), and the hazard report computed each output's exact
value again for float64's points where float32's had the same ones. No timed assertions: calls are
counted, and values are compared with mpmath.exp itself (the independent reference)."""
import mpmath
import pytest
import sympy as sp

import symnet
from symnet.functions import sigmoid
from symnet.verify import evaluate


@pytest.mark.parametrize("dps", [15, 50, 300, 2400])
@pytest.mark.parametrize("a", ["1e200", "-1e200", "3.5e19", "-2.5e30", "1e399", "-7.000001e25"])
def test_exp_of_a_large_argument_is_mpmaths_value(dps, a):
    with mpmath.workdps(dps):
        x = mpmath.mpf(a)
        assert evaluate._exp(x) == mpmath.exp(x)


def test_reference_never_hands_mpmath_exp_a_huge_argument(monkeypatch):
    """The slow path (mpmath's exp beyond 2^64) is never taken by the reference; found with the
    focal loss's ∂f/∂γ at z = −1e200, which climbs to 2400 digits."""
    seen = []
    real_exp = mpmath.exp

    def counting_exp(x, *args, **kw):
        if abs(x) > 2 ** 64:
            seen.append(x)
        return real_exp(x, *args, **kw)

    monkeypatch.setattr(mpmath, "exp", counting_exp)
    z, g = sp.symbols("z gamma", real=True)
    expr = -(1 - sigmoid(z)) ** g * sp.log(1 - sigmoid(z)) * sp.log(sigmoid(z))
    value, dps = evaluate.reference(expr, {z: -1e200, g: 2.0})
    assert value == 0 and dps == evaluate.LADDER[-1]
    assert evaluate.reference(sigmoid(z), {z: -1e200})[0] > 0  # e^(−1e200): tiny, not 0
    assert not seen


def test_hazards_compute_each_exact_value_once(monkeypatch):
    """float32's and float64's points overlap; the exact value of an output at a point is computed
    once (was once per dtype)."""
    from symnet.verify.hazard import hazards

    calls = []
    real = evaluate.reference

    def counting(expr, env):
        calls.append((expr, tuple(env.values())))
        return real(expr, env)

    monkeypatch.setattr(evaluate, "reference", counting)
    x = sp.Symbol("x", real=True)
    rows = hazards(symnet.derive(sp.exp(x) * x, [x]), n=4)
    assert rows and len(calls) == len(set(calls))


def _out_of_time_at_float64(monkeypatch):
    """The budget runs out as soon as float64 is measured (a counter on the stages, not a clock)."""
    from symnet.verify import budget as budget_module

    real = budget_module.Budget.stage

    def stage(self, what):
        real(self, what)
        if "in float64" in what:
            raise budget_module.VerifyTimeoutError(self.message())

    monkeypatch.setattr(budget_module.Budget, "stage", stage)


def test_verify_out_of_time_keeps_what_was_measured(monkeypatch):
    from symnet.verify.budget import VerifyTimeoutError
    from symnet.verify.measure import verify

    _out_of_time_at_float64(monkeypatch)
    with pytest.raises(VerifyTimeoutError) as e:
        verify("x*y", n=4, torch=False, timeout=1000)
    partial = e.value.partial
    assert partial is not None and partial.cells
    assert {c.dtype for c in partial.cells} == {"float32"} and all(c.measured for c in partial.cells)
    text = str(partial)
    assert "PARTIAL" in text and "not measured: float64" in text


def test_verify_out_of_time_before_any_dtype_has_no_partial(monkeypatch):
    from symnet.verify import budget as budget_module
    from symnet.verify.measure import verify

    def stage(self, what):
        raise budget_module.VerifyTimeoutError(self.message())

    monkeypatch.setattr(budget_module.Budget, "stage", stage)
    with pytest.raises(budget_module.VerifyTimeoutError) as e:
        verify("x*y", n=4, torch=False, timeout=1000)
    assert e.value.partial is None


def test_cli_verify_out_of_time_prints_the_partial_table_and_fails(monkeypatch, capsys):
    from symnet.cli import main

    _out_of_time_at_float64(monkeypatch)
    rc = main(["verify", "x*y", "--points", "4"])
    out, err = capsys.readouterr()
    assert rc != 0
    assert "float32" in out and "PARTIAL" in out and "not measured: float64" in out
    assert "time budget" in err and "Traceback" not in err


def test_torch_column_of_a_power_with_an_input_exponent():
    """`symnet verify "-(1 - sigmoid(z))**gamma*log(sigmoid(z))"` showed "torch refused: Boolean value of Tensor
    with more than one value is ambiguous" for every output: the torch evaluator compared the exponent with 0.5,
    and γ, an input, is a tensor of many values. The torch column is now torch autograd's numbers."""
    torch = pytest.importorskip("torch")
    from symnet.verify.evaluate import torch_value
    x, y = sp.symbols("x y")
    env = {x: torch.tensor([2.0, 3.0], dtype=torch.float64), y: torch.tensor([0.5, 2.0], dtype=torch.float64)}
    got = torch_value(x ** y, env, torch)
    assert torch.equal(got, torch.pow(env[x], env[y]))
    assert torch.equal(torch_value(sp.sqrt(x), env, torch), torch.sqrt(env[x]))
