"""Faults found by h-break15 (session 15), each with the test that failed before its fix.

a. ``symnet.compile(symnet.derive("bce(sigmoid(x), t)"))`` generated NumPy code that raised UnboundLocalError
   on its first call: the check of bce's p = σ(x) ∈ [0, 1] was printed after the loop's body, by a printer that
   knew the block's temporaries, and so gave σ(x) the block's e^−|x| (``_sigmoid(x, e=exp_neg_abs_x)``) before
   the loop had defined it. The checks are printed first now, over the whole arrays.
"""
from __future__ import annotations

import numpy as np
import pytest

import symnet
from symnet.errors import DomainError


# ---------------------------------------------------------------- a. a domain check printed with the block's names

def _torch_bce_of_sigmoid(x, t):
    """Reference: torch's own binary_cross_entropy of torch.sigmoid, float64 autograd."""
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.binary_cross_entropy(torch.sigmoid(xt), tt, reduction="none")
    gt, gx = torch.autograd.grad(y.sum(), [tt, xt])
    return y.detach().numpy(), gt.numpy(), gx.numpy()


def test_a_bce_of_a_sigmoid_compiles_to_code_that_runs():
    """Before: UnboundLocalError: cannot access local variable 'exp_neg_abs_x' (the domain check of p = σ(x))."""
    f = symnet.compile(symnet.derive("bce(sigmoid(x), t)"))
    x, t = np.array([0.3, -2.0, 5.0, -0.0]), np.array([0.2, 0.5, 1.0, 0.0])
    f_value, df_dt, df_dx = f(x=x, t=t)
    ref = _torch_bce_of_sigmoid(x, t)
    for got, want in zip((f_value, df_dt, df_dx), ref):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)  # torch's log(σ(5)) is 18 ULP off
    assert "_refuse_outside(_sigmoid(x)," in f.source  # over the whole array, its own exponential
    with pytest.raises(DomainError, match=r"^bce: t has an entry outside \[0, 1\] \(1.5\); t must be in \[0, 1\]$"):
        f(x=x, t=np.array([0.2, 1.5, 1.0, 0.0]))
