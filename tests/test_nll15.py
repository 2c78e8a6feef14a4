"""A user's own heteroscedastic-regression loss written out (Nix & Weigend 1994; Kendall & Gal 2017), as a
README-only user wrote it for ``symnet verify``: the hazards found, each at its failing point and over a normal
range, the generated NumPy and Triton (interpreter, a few points) code against mpmath at 50 digits of the
formula as differentiated (symnet.verify.evaluate.reference), beside torch's autograd.

* log-variance form 0.5·(s + (p − t)²·e^(−s)): ∂s = (1 − (p − t)²·e^(−s))/2 cancels where (p − t)² ≈ e^s
  (1.5e17 ULP in float64 at p = −1.3487212707001281, s = 1, t = 0.3, torch the same), and is NaN at
  p = t, s = −max (0·inf; the limit is 1/2): the one-minus-scaled-exp rule.
* variance form 0.5·(log v + (p − t)²/v): ∂v = (1/v − (p − t)²/v²)/2 is inf − inf = NaN at v = 5e−324 (true
  −6.6e646, i.e. −inf; torch the same): the one-denominator rule, ((1 − d·(d/v))/v)/2 in double-word.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from conftest import torch_autograd_values
from test_loss_accuracy6 import _errors, _kernel, _run, _truth

p, s, t, v = sp.symbols("p s t v", real=True)
F32, F64 = np.float32, np.float64
BOUND = {F64: 4.0, F32: 8.0}

# the rule case of tests/test_stability_rules.py (rule, written formula, variables, domain, bad point, dtype)
RULE_CASES = [
    ("one-minus-scaled-exp", 1 - (p - t) ** 2 * sp.exp(-s), (p, s, t), (-3.0, 3.0), (-1.3487212707001281, 1.0, 0.3),
     F64),
    ("one-denominator", 1 / v - (p - t) ** 2 / v ** 2, (p, t, v), (0.05, 4.0), (0.3, -1.5, 5e-324), F64),
]

LOGVAR = sp.Rational(1, 2) * (s + (p - t) ** 2 * sp.exp(-s))
LOGVAR_VARS = (p, s, t)
# (p, s, t): the cancellation symnet verify found (float64), and p = t at s = −max (0·inf as written)
LOGVAR_BAD = [(-1.3487212707001281, 1.0, 0.3), (1.0, -1.7976931348623157e308, 1.0), (0.0, -1e300, 0.0)]


def _logvar_grid(dtype, n=120, seed=15):
    """A normal range (p, t in [−3, 3], s in [−6, 6]) and points where (p − t)² ≈ e^s, ∂s near its root."""
    rng = np.random.default_rng(seed)
    rows = [tuple(r) for r in np.column_stack([rng.uniform(-3, 3, n), rng.uniform(-6, 6, n), rng.uniform(-3, 3, n)])]
    for sv in np.linspace(-6, 6, n // 4):
        for rel in (1 - 1e-6, 1 + 1e-3, 1.1):
            rows.append((0.3 + math.exp(sv / 2) * rel, sv, 0.3))
    return _columns(rows, dtype)


def _columns(rows, dtype):
    """The columns of ``rows`` (tuples of floats), each value rounded to ``dtype`` (as Python floats)."""
    with np.errstate(over="ignore"):
        return [[float(q) for q in np.asarray(c, dtype=np.float64).astype(dtype)] for c in zip(*rows)]


def _assert_within_bound(formula, variables, columns, dtype, backend):
    """Every output of ``formula``'s ``backend`` kernel within BOUND ULP of mpmath at ``columns`` (the worst named)."""
    kernel = _kernel(formula, variables, backend)
    results = _run(kernel, backend, variables, columns, dtype)
    for q, out in enumerate(kernel.kernel.outputs):
        errs = _errors(results[q], _truth(out, variables, columns), dtype)
        k = int(errs.argmax())
        assert errs[k] <= BOUND[dtype], (out.name, errs[k], [c[k] for c in columns])


def _worst_of(formula, variables, columns, dtype, backend, output):
    kernel = _kernel(formula, variables, backend)
    names = [o.name for o in kernel.kernel.outputs]
    results = _run(kernel, backend, variables, columns, dtype)
    q = names.index(output)
    return _errors(results[q], _truth(kernel.kernel.outputs[q], variables, columns), dtype), results[q]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_logvar_ds_at_the_failing_points(backend):
    columns = [list(c) for c in zip(*LOGVAR_BAD)]
    errs, got = _worst_of(LOGVAR, LOGVAR_VARS, columns, F64, backend, "df_ds")
    assert np.all(np.isfinite(got)), got
    assert got[1] == got[2] == 0.5  # the limit of (1 − 0·e^(−s))/2
    assert errs.max() <= BOUND[F64], (errs, got)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_logvar_over_a_normal_range_numpy(dtype):
    _assert_within_bound(LOGVAR, LOGVAR_VARS, _logvar_grid(dtype), dtype, "numpy")


def test_logvar_over_a_normal_range_triton():
    _assert_within_bound(LOGVAR, LOGVAR_VARS, [c[::12] for c in _logvar_grid(F64)], F64, "triton")


def test_logvar_torch_cancels_where_symnet_does_not():
    """The reference point of the comparison: torch's autograd loses every digit of ∂s there."""
    columns = [list(c) for c in zip(LOGVAR_BAD[0])]
    ref = torch_autograd_values(lambda torch, a, b, c: 0.5 * (b + (a - c) ** 2 * torch.exp(-b)), LOGVAR_VARS, columns,
                                F64)
    torch_errs = _errors(ref["df_ds"], _truth(_kernel(LOGVAR, LOGVAR_VARS, "numpy").kernel.outputs[2], LOGVAR_VARS,
                                              columns), F64)
    assert torch_errs[0] > 1e10


VARIANCE = sp.Rational(1, 2) * (sp.log(v) + (p - t) ** 2 / v)
VARIANCE_VARS = (p, t, v)
# (p, t, v): subnormal v (∂v −inf, +inf: 1/(2v) = 1.0e323 beyond float64), and the scaled-square rule's point
VARIANCE_BAD = [(0.3, -1.5, 5e-324), (0.0, 0.0, 5e-324), (1e-200, 0.0, 5e-324), (1e155, 0.0, 1e10)]


def _variance_grid(dtype, n=160, seed=16):
    """A normal range (p, t in [−3, 3], v in [1e−3, 1e3] log-uniform) and points where v ≈ (p − t)²."""
    rng = np.random.default_rng(seed)
    rows = [tuple(r) for r in np.column_stack([rng.uniform(-3, 3, n), rng.uniform(-3, 3, n),
                                                10.0 ** rng.uniform(-3, 3, n)])]
    for dv in np.linspace(0.05, 3, n // 4):
        for rel in (1 - 1e-3, 1.01, 2.0):
            rows.append((dv, 0.0, dv * dv * rel))
    return _columns(rows, dtype)


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_variance_dv_at_subnormal_v(backend):
    columns = [list(c) for c in zip(*VARIANCE_BAD)]
    errs, got = _worst_of(VARIANCE, VARIANCE_VARS, columns, F64, backend, "df_dv")
    assert got[0] == -np.inf and got[1] == np.inf and got[2] == np.inf, got  # the true values beyond float64
    assert errs[3] <= BOUND[F64], (errs, got)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_variance_over_a_normal_range_numpy(dtype):
    _assert_within_bound(VARIANCE, VARIANCE_VARS, _variance_grid(dtype), dtype, "numpy")


def test_variance_over_a_normal_range_triton():
    _assert_within_bound(VARIANCE, VARIANCE_VARS, [c[::16] for c in _variance_grid(F64)], F64, "triton")

