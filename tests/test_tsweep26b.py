"""The registry's full accuracy sweep with its Triton column (h-tsweep26b, session 26): the Triton kernels of every
entry ran under TRITON_INTERPRET=1 at the full sweep's points (``benchmarks/accuracy.py --dump-triton``), measured
against mpmath with ``--from-dump`` (benchmarks/results/accuracy-triton-interpreter-full-2026-12-04.md).

What the sweep found past the bound in the Triton column, checked here at one point each through
``symnet.compile(..., "triton")`` (the interpreter on a CPU; on a GPU the same kernel rounds the same product):
2^x is printed as ``tl.exp(x * 0.6931471805599453)``, and the product x·log 2 is rounded before the exponential, an
error of |x·log 2|/2 ULP of the result (the NumPy code calls np.exp2: ≤ 1.43 ULP in the sweep); squared_hinge's value
in float64 at a cancelling margin, 4.12 ULP as in the NumPy code and torch. Also tested:
``benchmarks/accuracy_triton_points.py``, which finds the cells where Triton and NumPy differ and the point."""
from __future__ import annotations

import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from conftest import compiled, torch_and_triton

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy_triton_points  # noqa: E402

BOUND = {"float32": 8.0, "float64": 4.0}


def _ulps(got: float, true, dtype: str) -> float:
    """|got − true| in ULPs of the true value (a normal number in ``dtype``)."""
    step = float(np.spacing(np.abs(np.dtype(dtype).type(float(true)))))
    return float(abs(mpmath.mpf(float(got)) - true)) / step


def _triton_exp2(x: np.ndarray):
    torch, _ = torch_and_triton()
    f, df_dx = compiled("exp2(x)", "triton").module.kernel(torch.from_numpy(x))
    return f.numpy().astype(np.float64), df_dx.numpy().astype(np.float64)


@pytest.mark.parametrize("dtype, x", [("float64", 1000.0), ("float32", 120.0)])
def test_triton_exp2_is_accurate_at_a_large_exponent(dtype, x):
    """2^x and its derivative 2^x·log 2 at one large x, in the Triton kernel, against mpmath (2^x exact there).
    Before (measured 2026-12-04, triton 3.9, TRITON_INTERPRET=1; a strict xfail here until the lead's _exp2 the same
    day): exp2(x) was tl.exp(x·0.693…), x·log 2 rounded first: f 308 ULP, ∂f/∂x 428 ULP in float64 at x = 1000 (the
    sweep's worst: f 502 ULP at x = 944.63, ∂ 579 at −944.63); f 30, ∂ 42 ULP in float32 at x = 120."""
    f, df_dx = _triton_exp2(np.array([x], dtype=dtype))
    with mpmath.workdps(50):
        true_f = mpmath.mpf(2) ** int(x)
        true_df = true_f * mpmath.log(2)
        errors = {"f": _ulps(f[0], true_f, dtype), "df_dx": _ulps(df_dx[0], true_df, dtype)}
    assert max(errors.values()) <= BOUND[dtype], errors


def test_points_script_finds_where_triton_and_numpy_differ():
    """accuracy_triton_points.compare, given one entry's Triton outputs at two points and their mpmath references,
    names the point where Triton and NumPy differ (exp2 in float64: x = 1000, 308 ULP apart) and both errors there,
    and counts no difference at x = 10 (2^10 exact in both). Before: no such script (the --from-dump table gives a
    cell's worst error alone, not where the two backends disagree)."""
    from symnet.verify.evaluate import reference
    from symnet.verify.spec import registry_specs

    spec = next(s for s in registry_specs() if s.name == "exp2")
    x = np.array([[10.0], [1000.0]])
    f, df_dx = _triton_exp2(x[:, 0])
    # the Triton outputs of before the lead's _exp2 (e^(x·log 2), the product rounded: 308 and 428 ULP at x = 1000),
    # made here from today's, which are NumPy's to the ULP
    f[1] *= 1 + 308 * 2.0 ** -52
    df_dx[1] *= 1 + 428 * 2.0 ** -52
    d = compiled("exp2(x)")
    refs = {(q, (float(v),)): reference(o.expr, {o.expr.free_symbols.pop(): float(v)})
            for q, o in enumerate(d.kernel.outputs) for v in x[:, 0]}
    found = accuracy_triton_points.compare(spec, {"float64": (x, np.stack([f, df_dx], axis=1))}, refs)
    by_output = {w["output"]: w for w in found}
    assert set(by_output) == {"f", "df_dx"}
    for w in by_output.values():
        assert w["dtype"] == "float64" and w["points"] == 2 and w["over"] == 1, w
        assert w["at"] == "x=1000" and w["diff"] > 300, w
        assert w["numpy_ulp"][1] <= 1 and w["triton_ulp"][1] > 300, w


def test_triton_squared_hinge_value_at_a_cancelling_margin():
    """The one cell of the sweep past the bound in both symnet columns, in the Triton kernel at its point. Before
    (measured 2026-12-04, triton 3.9, TRITON_INTERPRET=1; a strict xfail until h-cells26's widened margin 1 − t·x
    merged the same day): 4.12 ULP at x = t = −0.9544816017847175, as NumPy and torch (1 − t·x = 0.089 cancels the
    rounding of t·x, and the square doubles it)."""
    torch, _ = torch_and_triton()
    v = -0.9544816017847175
    x = torch.tensor([v], dtype=torch.float64)
    f = compiled("squared_hinge(x, t)", "triton", ["x", "t"]).module.kernel(x, x)[0]
    with mpmath.workdps(60):
        assert _ulps(float(f[0]), (1 - mpmath.mpf(v) ** 2) ** 2, "float64") <= BOUND["float64"]
