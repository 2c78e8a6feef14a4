"""Session 27, h-misc27: measured accuracy faults of issue 16 (exact and stable for any formula; ≤ 4 ULP float64,
≤ 8 ULP float32; never worse than torch at a tested point), each against mpmath at 60+ digits and torch autograd.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, triton_torch, ulp_error

F32, F64 = np.float32, np.float64
_BOUND = {F64: 4, F32: 8}
x = sp.Symbol("x", real=True)


def _run(expr, variables, columns, dtype, backend="numpy"):
    """The generated kernel's outputs (value, then gradients) at ``columns`` (one array per variable), as float64."""
    kernel = compiled(expr, backend, tuple(variables))
    named = {str(v): np.asarray(c, dtype) for v, c in zip(variables, columns)}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if backend == "numpy":
            results = kernel(**named)
        else:
            torch = triton_torch()
            results = [r.cpu().numpy() for r in kernel(**{n: torch.tensor(c) for n, c in named.items()})]
    return [np.asarray(r, np.float64) for r in results]


# ------------------------------------------------------------------ 1. erfcx′ less its leading term: ∂x of
# erfcx(x) − 1/(√π·x) is erfcx′(x) + 1/(√π·x²), which cancels to 3/(2√π·x⁴) for x ≫ 1 and crosses 0 at x ≈ −0.4517.
# Before (measured 2026-12-04, NumPy float64, the root-series rule about −0.4517 and the sum as written elsewhere):
# 18 ULP at x = 8, 25 at 20, 5.3e3 at 100, 1.5e7 at 1e4, 4.5e15 at 1e8 (torch autograd 4.1e3, 2.1e5, 2.4e7, 7.1e15,
# 3e31). The scaled-erfc rule now writes it erfcx_slope_tail(x), computed whole (symnet/scaled_erfc.py).

def _tail_truth(v):
    from symnet.scaled_erfc import mp_erfcx_slope_tail
    with mpmath.workdps(60):
        return mp_erfcx_slope_tail(v)


_TAIL_XS = [-26.0, -5.0, -1.0, -0.8, -0.62, -0.4517233, -0.45172329894217195, -0.3, -0.2, -0.0085, -1e-3, 1e-8,
            0.3, 1.0, 1.25, 2.0, 5.0, 8.0, 8.7499, 8.75, 9.0, 20.0, 100.0, 1e4, 1e8, 1e50, 1e76]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_erfcx_less_its_leading_term_derivative(dtype, backend):
    """∂x of erfcx(x) − 1/(√π·x) within the bound from −26 to 1e76, through its zero at −0.4517 (was 1.5e7 ULP at
    1e4 in float64)."""
    from symnet.special import erfcx
    xs = [v for v in (_TAIL_XS if backend == "numpy" else _TAIL_XS[1::2]) if dtype is F64 or abs(v) < 3e38]
    xs = np.array(xs, dtype)
    slope = _run(erfcx(x) - 1 / (sp.sqrt(sp.pi) * x), (x,), [xs], dtype, backend)[1]
    errors = [ulp_error(s, _tail_truth(float(v)), dtype) for s, v in zip(slope, xs)]
    assert max(errors) <= _BOUND[dtype], sorted(zip(errors, xs.tolist()))[-3:]


def test_erfcx_slope_tail_helper_over_its_range():
    """The NumPy helper at 4,000 random points of its pieces and far range: ≤ 2.5 ULP (measured 2.25, at −0.2177)."""
    from symnet import registry
    ns = {"np": np}
    for name in registry.numpy_helper_closure(["_erfcx_slope_tail"]):
        exec(registry.NUMPY_HELPERS[name], ns)  # generated text of symnet's own registry
    rng = np.random.default_rng(27)
    xs = np.concatenate([rng.uniform(-1.3, 9.0, 2000), rng.uniform(-0.25, 0.0, 400), rng.uniform(-26.0, -1.0, 200),
                         10 ** rng.uniform(0.95, 76.0, 400)])
    got = ns["_erfcx_slope_tail"](xs)
    worst = max(ulp_error(g, _tail_truth(float(v)), F64) for g, v in zip(got, xs))
    assert worst <= 2.5, worst
    edges = ns["_erfcx_slope_tail"](np.array([0.0, np.inf, -np.inf, np.nan, 1e200]))
    assert edges[0] == np.inf and edges[1] == 0 and edges[2] == -np.inf and np.isnan(edges[3]) and edges[4] == 0


def test_scaled_erfc_rule_writes_the_tail_node():
    """c·erfcx′(u) + c/(√π·u²) → c·erfcx_slope_tail(u) (an affine argument and a factor kept)."""
    from symnet.codegen.rewrite import stabilise
    from symnet.special import erfcx, erfcx_slope_tail
    got = stabilise(sp.diff(3 * erfcx(x + 1) - 3 / (sp.sqrt(sp.pi) * (x + 1)), x))[0]
    assert got == 3 * erfcx_slope_tail(x + 1)


def test_erfcx_less_its_leading_term_derivative_never_worse_than_torch():
    torch = pytest.importorskip("torch")
    from symnet.special import erfcx
    xs = np.array([8.0, 20.0, 100.0, 1e4, -0.45, 0.5], F64)
    ours = _run(erfcx(x) - 1 / (sp.sqrt(sp.pi) * x), (x,), [xs], F64)[1]
    for s, v in zip(ours, xs):
        t = torch.tensor(v, dtype=torch.float64, requires_grad=True)
        (theirs,) = torch.autograd.grad(torch.special.erfcx(t) - 1 / (math.sqrt(math.pi) * t), t)
        mine, its = ulp_error(s, _tail_truth(v), F64), ulp_error(float(theirs), _tail_truth(v), F64)
        assert mine <= max(_BOUND[F64], its), (v, mine, its)
