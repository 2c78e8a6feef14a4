"""Fresh eyes, round 5: a new user's tries of symnet verify FORMULA on hand-written activations,
symnet.compile, symnet.torch and the fused step. Each test is one fault found and fixed, through
the public API or the command line, against an independent reference (torch float64, mpmath)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symnet

ROOT = Path(__file__).resolve().parents[1]


def _symnet(*args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "symnet", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_hand_written_mish_gradient_is_finite_for_large_x():
    # mish written out, x*tanh(log(1+exp(x))): its generated gradient kept e^x·σ(−x) (the factor
    # e^x/(1 + e^x) beside sech²(softplus x), whose σ's have another argument, so the sigmoid rule
    # gave up on the product): inf·0 = NaN from x ≈ 710 (float64) / 89 (float32), true 1.
    # Now each argument's factors are recognised apart: e^x·σ(−x) = σ(x).
    torch = pytest.importorskip("torch")
    k = symnet.compile(symnet.derive("x*tanh(log(1+exp(x)))", wrt=["x"]), backend="numpy")
    xs = np.array([-50.0, -3.0, -1.0, 0.5, 20.0, 89.0, 100.0, 710.0, 930.4, 4698.0, 3e38])
    for dtype in (np.float64, np.float32):
        x = xs.astype(dtype)
        _, g = k(x=x)
        t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.mish(t).sum().backward()
        assert np.all(np.isfinite(g)), (dtype, g)
        np.testing.assert_allclose(g.astype(np.float64), t.grad.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-30)


@pytest.mark.parametrize("formula", ["x*(1+erf(x/sqrt(2)))/2", "0.5*x*(1+erf(x/sqrt(2)))", "1 - erf(-x)",
                                     "1 - erf(x)"])
def test_gelu_written_with_erf_does_not_cancel(formula):
    # GELU written out with erf: 1 + erf(x/√2) was computed as written, which cancels for x ≪ 0
    # (symnet verify: 26,081 ULP in float32 at x = −4.48, 6e15 ULP in float64; every digit lost from
    # x ≈ −6 in float32). Now the erf-complement rule writes 1 + erf(u) as 2Φ(√2·u) (erfc(−u)).
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(50):
        gelu_like = "sqrt" in formula
        d = symnet.derive(formula, wrt=["x"])
        k = symnet.compile(d, backend="numpy")
        xs = [-20.0, -9.0, -4.48, -1.0, -0.75, 0.3, 3.0]

        def true(v):
            v = mpmath.mpf(v)
            if gelu_like:
                phi = mpmath.ncdf(v)
                return v * phi, phi + v * mpmath.npdf(v)
            s = 1 if "-x" in formula else -1  # 1 - erf(-x) = erfc(-x), 1 - erf(x) = erfc(x)
            return mpmath.erfc(-s * v), s * 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-v * v)

        # 1 − erf(−x) = 2Φ(√2·x): √2·x rounds, a relative error 2x²·ε in Φ (SymPy would write erfc(x) back
        # as 2 − erfc(−x), so that form is not used); GELU's Φ(x) and 1 − erf(x) = erfc(x) take x exactly
        loose = formula == "1 - erf(-x)"
        for dtype, rtol in ((np.float64, 1e-13 if loose else 2e-15), (np.float32, 3e-5 if loose else 1e-6)):
            f, g = k(x=np.array(xs, dtype=dtype))
            for i, v in enumerate(xs):
                tf, tg = (float(t) for t in true(float(dtype(v))))
                for got, want in ((f[i], tf), (g[i], tg)):
                    if abs(want) < np.finfo(dtype).tiny:
                        continue
                    assert abs(float(got) - want) <= rtol * abs(want), (formula, dtype, v, got, want)


def test_cli_takes_a_formula_that_starts_with_a_minus(capsys):
    # `symnet verify "-log(exp(a)/(exp(a)+exp(b)))"` (cross-entropy written out) and
    # `symnet derive "-x*y"` stopped at argparse: "unrecognized arguments: -log(...)". Now a formula
    # after derive/graph/verify is a positional whatever its first character (-h, -o, --… stay options).
    # The first through a real process (argv as the shell passes it); the others through cli.main's argv in this
    # process (the same parsing: each process took ~1.2 s of CPU to import, the test's time)
    from symnet.cli import main

    r = _symnet("derive", "-x*y", "--wrt", "x")
    assert r.returncode == 0, r.stderr
    assert "df/dx = −y" in r.stdout and "Derivative of −x·y" in r.stdout
    capsys.readouterr()
    code = main(["verify", "-log(exp(a)/(exp(a)+exp(b)))", "--points", "4", "--dtype", "float64"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Accuracy of -log(exp(a)/(exp(a)+exp(b)))" in out
    code = main(["derive", "-x"])
    out, err = capsys.readouterr()
    assert code == 0 and "df/dx = −1" in out, err
    with pytest.raises(SystemExit) as done:  # argparse's -h prints the usage and exits 0
        main(["derive", "sigmoid", "-h"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("usage: symnet derive")


@pytest.mark.parametrize("formula, grad", [("16777217*x", 16777217.0), ("1e308*x", 1e308),
                                           ("x*(3 + 10**20)", 1e20 + 3)])
def test_triton_float64_keeps_integer_constants(formula, grad):
    # `symnet verify "1e308*x" --backend triton`: ∂f/∂x came back inf at every float64 point, and
    # 16777217·x gave 16777216: an integer constant was printed as a Python float literal
    # ("16777217.0"), which Triton makes float32 even in a float64 kernel. Compiling 1e308·x also
    # printed NumPy's "RuntimeWarning: overflow encountered in cast". Now an integer beyond 2^24 is a
    # constant of the kernel's dtype, and no warning.
    import warnings

    from conftest import triton_torch

    torch = triton_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        k = symnet.compile(symnet.derive(formula, wrt=["x"]), backend="triton")
    x = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the interpreter's own overflow warnings (f = 1e308·2)
        f, g = k(x)
    assert g.dtype == torch.float64
    assert torch.equal(g, torch.full_like(x, grad)), g
    assert torch.equal(f[:2], x[:2] * grad)


def test_compile_step_refuses_one_string_of_activations():
    # symnet.compile_step("tanh", "ce") answered "unknown activation 't'" (the string taken letter by
    # letter); now it says that activations are one name per layer
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    from symnet.errors import SymnetError

    with pytest.raises(SymnetError, match=r"one name per layer, such as \('tanh', 'linear'\)"):
        symnet.compile_step("tanh", "ce")


def test_fused_step_names_a_weight_shared_by_two_layers():
    # a model whose two Linear layers share one weight (tied weights) was refused with
    # "2 layer(s) take 4 parameters (W1, b1, …), not 3": Module.parameters() lists a shared
    # parameter once. Now it is refused as shared memory, as the README says.
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    from symnet.errors import FusedStepError
    from symnet.torch.optim import FusedStep

    m = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(), torch.nn.Linear(4, 4))
    m[2].weight = m[0].weight
    with pytest.raises(FusedStepError, match=r"parameters 0 and 2 share memory"):
        FusedStep(m, loss="mse", optimizer="adam", lr=0.1)


@pytest.mark.parametrize("value", [1e-300, 5e-324, 2.0 ** -60, 1.7976931348623157e308, 0.30000000000000004])
def test_gradient_at_a_python_float_keeps_its_value(value):
    # d.gradient_at({"x": 1e-300}) of x**2 answered {x: 0} (the string "1e-300" gave 2e-300): a float
    # went through sympy.nsimplify, which rounds a tiny number to 0 (and 2^-60, float64's largest
    # number, 0.1 + 0.2 to nearby decimals). Now a float is read as nsimplify's fraction only where that
    # is the same float, else as the decimal Python prints (what the string would give).
    import sympy as sp

    d = symnet.derive("x**2", wrt=["x"])
    (g,) = d.gradient_at({"x": value}).values()
    assert float(g) == 2 * value or (value > 1e308 and g == 2 * sp.Rational(repr(value)))
    assert g != 0
    assert d.gradient_at({"x": 0.1})[d.wrt[0]] == sp.Rational(1, 5)  # 0.1 still means 1/10


def test_a_tiny_derivative_on_a_kink_and_on_a_graph_edge_is_not_printed_as_zero():
    # `symnet derive "elu(x)*1e-300" --wrt x --at x=0` ended "[…] = 0 [one-sided derivatives agree; ✓]"
    # and `symnet graph "x*1e-300*y" --at x=1,y=2` labelled both edges "= 0": both went through
    # sympy.nsimplify, which rounds 1e−300 to 0. Now its form is kept only where it is the same number.
    r = _symnet("derive", "elu(x)*1e-300", "--wrt", "x", "--at", "x=0")
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert "one-sided derivatives agree" in last and "≈ 1.000000000e−300" in last and not last.split("[")[0].rstrip().endswith("= 0")
    r = _symnet("graph", "x*1e-300*y", "--at", "x=1,y=2")
    assert r.returncode == 0, r.stderr
    edges = [line for line in r.stdout.splitlines() if "->" in line]
    assert len(edges) == 2 and not any('\\n= 0"' in e for e in edges), edges


def test_gelu_tanh_written_out_gradient_does_not_cancel():
    # GELU's tanh form written out, x*(1+tanh(√(2/π)(x + 0.044715x³)))/2: the value became x·σ(2u), but
    # its gradient kept 1/2 + tanh(u)/2 beside the other term (the sigmoid rule gave up on a sum with a
    # term not in e^u), 0 for x ≪ 0: 2.9e12 ULP in float64 at x = −20 (symnet verify). Now the sum's
    # terms in e^u are recognised apart: σ(2u). Reference: mpmath written out.
    mpmath = pytest.importorskip("mpmath")
    formula = "x*(1+tanh(sqrt(2/pi)*(x+0.044715*x**3)))/2"
    k = symnet.compile(symnet.derive(formula, wrt=["x"]), backend="numpy")
    xs = np.array([-20.0, -8.0, -4.0, -1.0, 0.5, 3.0])
    _, g = k(x=xs)
    with mpmath.workdps(800):  # 1 + tanh(u) at u = −603 (x = −20) is 1e−524: written out, at 800 digits
        c, a = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")
        for v, got in zip(xs, g):
            v = mpmath.mpf(float(v))
            u = c * (v + a * v ** 3)
            want = (1 + mpmath.tanh(u)) / 2 + v * (1 - mpmath.tanh(u) ** 2) * c * (1 + 3 * a * v ** 2) / 2
            assert abs(got - want) <= 1e-12 * abs(want), (float(v), got, float(want))
