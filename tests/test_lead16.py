"""Lead's fixes of session 16 (2026-12-02), each with the fault it fixes."""
from __future__ import annotations

import subprocess
import sys

import sympy as sp

from symnet.render import text


def test_text_prints_max_and_min_as_the_lecture_writes_them():
    """Before: the text printouts showed SymPy's class names, f = f64(Max(a, b) + log1p(exp(Min(a, b) − Max(a, b))))
    in `symnet derive … --stable`; the prose, NumPy and the LaTeX (\\max) write max and min."""
    a, b, c = sp.symbols("a b c", real=True)
    assert text(sp.Max(a, b)) == "max(a, b)"
    assert text(sp.Min(a, b, c) + 1) == "1 + min(a, b, c)"
    assert text(sp.exp(a - sp.Max(a, b))) == "exp(a − max(a, b))"


def test_the_stable_printout_of_logaddexp_says_max():
    out = subprocess.run([sys.executable, "-m", "symnet", "derive", "log(exp(a)+exp(b))", "--stable"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "max(a, b) + log1p(exp(min(a, b) − max(a, b)))" in out.stdout
    assert "Max(" not in out.stdout and "Min(" not in out.stdout


def test_a_fused_step_pickles_and_deep_copies():
    """Before: pickle.dumps(FusedStep(...)) and copy.deepcopy raised PicklingError (its generated function lives in a
    module made in memory). Now the copy holds its own parameters and state and steps exactly as the original."""
    import copy
    import pickle

    torch = __import__("pytest").importorskip("torch")
    __import__("pytest").importorskip("triton")
    from symnet.torch.optim import FusedStep

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    opt = FusedStep(model, optimizer="adam", lr=1e-2)
    x, r = torch.randn(7, 3), torch.randint(0, 2, (7,))
    opt.step(x, r)
    for twin in (pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)):
        assert twin.steps_taken == 1 and repr(twin) == repr(opt)
        assert all(a is not b and torch.equal(a, b) for a, b in zip(twin.params, opt.params))
        twin.step(x, r)
        assert not torch.equal(twin.params[0], opt.params[0])  # the copy's own tensors moved, not the original's
    a = copy.deepcopy(opt)
    la, lo = a.step(x, r), opt.step(x, r)
    assert float(la) == float(lo)
    assert all(torch.equal(p, q) for p, q in zip(a.params, opt.params))
    assert all(torch.equal(p, q) for p, q in zip(a.state, opt.state))


def test_a_condition_of_one_variable_reads_as_the_set_sympy_gives():
    """onesided._region reads a comparison with a number (and And/Or/Not of such) off directly, where SymPy's
    as_set solved each as an inequality (3.6 of focal's 4.1 s derive): the same sets, and SymPy's for the rest."""
    from symnet.onesided import _region

    x = sp.Symbol("x", real=True)
    for cond in (x > 1000, x >= 3, x < -2, x <= sp.Rational(1, 3), sp.Eq(x, 1), sp.Ne(x, 1), 3 < x, sp.Gt(5, x),
                 x > sp.pi, (x > 1000) | (x < -1000), (x > 1000) & ((x > 1000) | (x < -1000)), sp.Not(x > 2),
                 (x > 1) & (x < 1), x > sp.Float("1e300"), x**2 < 4, sp.exp(x) > 2, sp.true, sp.false):
        assert _region(cond, x) == (cond.as_set() if cond not in (sp.true, sp.false)
                                    else sp.S.Reals if cond else sp.S.EmptySet), cond
