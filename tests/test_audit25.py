"""Issue 16's acceptance test and the faults session 25's audit of the issue found (h-audit25, 2026-12-04).

``test_issue16_examples``: every example the issue's body lists, as a user writes it, on both backends and both
dtypes, value and every gradient, against mpmath at 100+ digits of the true function written independently of the
formula (lse − a for the written-out cross-entropy, log(−expm1 x) for log(1 − eˣ), …) and against the limits where
the formula is singular (a power at a zero base, BCE with logits at ±inf). A result that is a normal number is held
to the issue's bound (4 ULP float64, 8 ULP float32), a subnormal or zero one to one step of the smallest subnormal,
an infinity to the same infinity. Measured 2026-12-04 on main 63e80b0: every case passes on both backends (the
worst is 3.2 ULP, ∂x of the written-out tanh at 1e−6 in float64), so this test guards the issue's goal; it did not
fail before. The examples were fixed by sessions 5–24; the issue's own figures (inf, NaN, 7 % off) are what torch
autograd of the formula as written still gives (tests/test_verify_cli.py measures that).

The rest: the random compositions of tests/test_hypothesis_compositions.py run with 400 draws per seed (our own
draws, tests' check) found the faults below; each is a named test, a strict xfail where not fixed here.
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

import symnet
from conftest import triton_torch

BOUND = {"float32": 8.0, "float64": 4.0}
mp = mpmath.mp


def _sig(z):
    return 1 / (1 + mpmath.exp(-z))


def _lse(*zs):
    m = max(zs)
    return m + mpmath.log(mpmath.fsum(mpmath.exp(z - m) for z in zs))


# formula, variables, {dtype: points}, exact(*point) → [value, ∂ each variable] (mpmath, or an exact limit)
CASES = [
    ("-log(exp(a)/(exp(a)+exp(b)+exp(c)))", "a b c",
     {"float32": [(300.0, 310.0, 290.0), (-300.0, 200.0, 250.0)], "float64": [(300.0, 310.0, 290.0),
                                                                              (800.0, 790.0, 805.0)]},
     lambda a, b, c: [_lse(a, b, c) - a, mpmath.exp(a - _lse(a, b, c)) - 1, mpmath.exp(b - _lse(a, b, c)),
                      mpmath.exp(c - _lse(a, b, c))]),
    ("exp(a)/(exp(a)+exp(b))", "a b", {"float32": [(800.0, 1.0), (80.0, 100.0)], "float64": [(800.0, 1.0),
                                                                                            (800.0, 799.0)]},
     lambda a, b: [_sig(a - b), _sig(a - b) * _sig(b - a), -_sig(a - b) * _sig(b - a)]),
    ("log(exp(a)+exp(b))", "a b", {"float32": [(800.0, 800.0), (100.0, 100.0)], "float64": [(800.0, 800.0)]},
     lambda a, b: [_lse(a, b), _sig(a - b), _sig(b - a)]),
    ("tanh(x)", "x", {"float32": [(10.0,), (-10.0,), (18.0,)], "float64": [(18.0,), (-18.0,)]},
     lambda x: [mpmath.tanh(x), mpmath.sech(x) ** 2]),
    ("(1 - exp(-2*x))/(1 + exp(-2*x))", "x", {"float32": [(1e-6,), (-1e-6,)], "float64": [(1e-6,), (1e-12,)]},
     lambda x: [mpmath.tanh(x), mpmath.sech(x) ** 2]),
    ("log(1 - exp(x))", "x", {"float32": [(-1e-20,), (-1e-30,)], "float64": [(-1e-20,), (-1e-300,)]},
     lambda x: [mpmath.log(-mpmath.expm1(x)), mpmath.exp(x) / mpmath.expm1(x)]),
    ("log((exp(u)+exp(-u))/2)", "u", {"float32": [(100.0,), (-100.0,)], "float64": [(100.0,), (800.0,)]},
     lambda u: [abs(u) + mpmath.log1p(mpmath.exp(-2 * abs(u))) - mpmath.log(2), mpmath.tanh(u)]),
    ("x**y", "x y", {"float32": [(0.0, 1.0), (0.0, 2.0)], "float64": [(0.0, 1.0), (0.0, 2.0)]},
     lambda x, y: [mpmath.mpf(0), y * mpmath.mpf(0) ** (y - 1), mpmath.mpf(0)]),  # torch's limits at a zero base
    ("bce_logits(x, t)", "x t", {"float32": [(math.inf, 1.0), (-math.inf, 0.0)],
                                 "float64": [(math.inf, 1.0), (-math.inf, 0.0)]},
     lambda x, t: [mpmath.mpf(0), mpmath.mpf(0), -x]),  # the limits: loss 0, ∂x = σ(x) − t → 0, ∂t = −x
    ("sqrt(x**2 + 1)", "x", {"float32": [(1e30,), (-1e30,)], "float64": [(1e200,), (-1e200,)]},
     lambda x: [mpmath.sqrt(x ** 2 + 1), x / mpmath.sqrt(x ** 2 + 1)]),
    ("sigmoid(x)", "x", {"float32": [(-100.0,)], "float64": [(-700.0,)]},
     lambda x: [_sig(x), _sig(x) * _sig(-x)]),
]


def _error(got: float, true, dtype: str) -> str | None:
    """None where ``got`` is ``true`` rounded to ``dtype`` within the bound, else what is wrong."""
    typ = np.dtype(dtype).type
    t = float(true) if mpmath.isfinite(true) else (math.inf if true > 0 else -math.inf)
    with np.errstate(over="ignore"):
        td = typ(t)
    if math.isnan(got) or math.isinf(td) or math.isinf(got):
        return None if got == td else f"got {got!r}, true {mpmath.nstr(true, 12)}"
    fi = np.finfo(dtype)
    err = abs(mpmath.mpf(got) - true)
    if abs(td) >= fi.tiny:
        ulps = float(err / mpmath.mpf(float(np.spacing(np.abs(td)))))
        return None if ulps <= BOUND[dtype] else f"got {got!r}, true {mpmath.nstr(true, 17)}: {ulps:.3g} ULP"
    steps = float(err / mpmath.mpf(float(fi.smallest_subnormal)))  # a subnormal or zero result: rounded to a step
    return None if steps <= 1 else f"got {got!r}, true {mpmath.nstr(true, 17)}: {steps:.3g} subnormal steps"


def _outputs(formula, names, points, dtype, backend):
    k = symnet.compile(symnet.derive(formula, names), backend=backend)
    cols = list(zip(*points))
    if backend == "triton":
        torch = triton_torch()
        outs = k(**{n: torch.tensor(c, dtype=getattr(torch, dtype)) for n, c in zip(names, cols)})
        outs = [o.cpu().numpy() for o in outs]
    else:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outs = k(**{n: np.array(c, dtype=dtype) for n, c in zip(names, cols)})
    got = dict(zip([o.name for o in k.kernel.outputs], outs))
    return [got["f"]] + [got[f"df_d{n}"] for n in names]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_issue16_examples(backend):
    """Issue 16's examples (its body, in order), values and gradients, float32 and float64, on ``backend``:
    each within the issue's bound of the true value or limit. Passed before (see the module docstring)."""
    if backend == "triton":
        triton_torch()
    wrong = []
    for formula, names, by_dtype, exact in CASES:
        names = names.split()
        for dtype, points in by_dtype.items():
            outs = _outputs(formula, names, points, dtype, backend)
            for j, p in enumerate(points):
                with mpmath.workdps(120):
                    want = exact(*[mpmath.mpf(v) for v in p])
                    for label, out, w in zip(["f"] + [f"∂{n}" for n in names], outs, want):
                        e = _error(float(out[j]), w, dtype)
                        if e:
                            wrong.append(f"{formula} {label} {dtype} at {p}: {e}")
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------ the 50-digit reference (symnet.verify.evaluate)

def _ref(formula, x):
    from symnet.parsing import parse_expression
    from symnet.verify.evaluate import reference
    expr = parse_expression(formula)
    (sym,) = expr.free_symbols
    return reference(expr, {sym: x})[0], expr, sym


def test_reference_resolves_a_cancellation_that_ends_in_log_of_zero():
    """log(1 − eˣ) and its derivative −eˣ/(1 − eˣ) at x = −1e−300: 1 − eˣ sums to an exact 0 at 50 and 100 digits,
    and the reference took the −inf and NaN that followed as exact (before: −inf and NaN; true −690.78 and −1e300),
    so `symnet derive "log(1 - exp(x))" --stable` reported the generated −690.8 (right) as an overflow in float64."""
    value, _, _ = _ref("log(1 - exp(x))", -1e-300)
    assert float(value) == pytest.approx(-300 * math.log(10), rel=1e-15)
    slope, _, _ = _ref("-exp(x)/(1 - exp(x))", -1e-300)
    assert float(slope) == pytest.approx(-1e300, rel=1e-15)
    assert math.isinf(_ref("log(x)", 0.0)[0]) and mpmath.isnan(_ref("log(x)", -1.0)[0])  # no cancellation: as it was


def test_stable_hazard_report_of_log1mexp_finds_no_overflow_in_float64():
    """`symnet derive "log(1 - exp(x))" --stable`'s measured hazards (symnet.verify.hazard.hazards): float64 f was
    reported "overflow or NaN: -690.8 where the true value is -inf" at x = −1e−300 (before); symnet's −690.8 is right."""
    from symnet.verify.hazard import hazards
    rows = hazards(symnet.derive("log(1 - exp(x))"), dtypes=("float64",))
    assert [r["found"] for r in rows] == [{}, {}], rows


def test_reference_of_a_piecewise_at_a_nan_argument_is_nan():
    """hardshrink(log1p(x)) + hardtanh(x) at x = −3 (found by the random compositions, seed 1): log1p(−3) is not
    real, the reference took hardshrink's 'otherwise' branch (0) on the NaN and returned −1.0 (before), so the
    composition test failed symnet's NaN, which is right. A condition on a NaN is now NaN, and so is its Piecewise."""
    value, _, _ = _ref("(hardshrink(log1p(x))) + (hardtanh(x))", -3.0)
    assert mpmath.isnan(value)
    assert float(_ref("(hardshrink(log1p(x))) + (hardtanh(x))", -0.5)[0]) == pytest.approx(math.log(0.5) - 0.5)
    assert float(_ref("hardshrink(x)", 0.2)[0]) == 0.0 and mpmath.isnan(_ref("hardshrink(x)", math.nan)[0])


def test_composition_of_hardshrink_of_log1p_passes_the_composition_check():
    """The composition as Hypothesis drew it: failed before ("f at x=-3.0: got nan, true -1.0")."""
    from test_hypothesis_compositions import check
    check("(hardshrink(log1p(x))) + (hardtanh(x))", [0.5, -1e-20, -3.0, 1.520105345126705])


# ------------------------------------------------- found by the random compositions (400 draws a seed)

def test_composition_product_with_folded_piecewise_generates():
    """Seed 1 draw 4: the NumPy code of (hardswish(hardtanh(exp2(x)))) * (mish(silu(x))) raised NameError: name 'ITE'
    is not defined (before, h-audit25; each factor alone generated and ran): a widened node's body held the ITE that
    SymPy makes of a condition on a Piecewise. Fixed by h-ite26 (tests/test_ite26.py)."""
    from test_hypothesis_compositions import check
    check("(hardswish(hardtanh(exp2(x)))) * (mish(silu(x)))", [-4.654741698486584, 6.0, 1.6474352160846735])


def test_composition_difference_of_piecewise_activations_generates():
    """Seed 1 draw 10: (abs(cos(celu(x)))) - (hardsigmoid(x)) was refused, 'the NumPy backend needs a Piecewise with an
    'otherwise' branch' (before, h-audit25: the gradient's Piecewise of four conditional branches, the tidy-up of the
    chain rule had dropped the 'otherwise' as covered). Fixed by h-ite26 (tests/test_ite26.py)."""
    from test_hypothesis_compositions import check
    check("(abs(cos(celu(x)))) - (hardsigmoid(x))", [-5e-324, -37.846778025249066, -1e-300, -5.0])


def test_accuracy_per_decade_is_the_sweep_density():
    """`benchmarks/accuracy.py --per-decade 1` swept 4 magnitudes a decade, as every value > 0 did (the flag only
    switched the sweep on: measured before: 5,079 float64 points for 1 and for 4); now 1,289 for 1."""
    from symnet.verify.measure import measure_points
    four = len(measure_points(["x"], "float64", n=0, full_sweep=True))
    one = len(measure_points(["x"], "float64", n=0, full_sweep=1))
    assert four == len(measure_points(["x"], "float64", n=0, full_sweep=4)) > 5000
    assert one < four / 3


@pytest.mark.xfail(strict=True, reason=(
    "measured 2026-12-04 (h-audit25; `symnet derive 'x**y' --stable` reports it): ∂x of x**y = y·x^(y − 1) at "
    "(3497.9487, −3.0148695) is 21.0 ULP off in float32 and 20.6 in float64 (torch's pow backward the same 21.0 and "
    "20.6): y − 1 is rounded before the power, whose condition number in the exponent is |(y − 1)·ln x| ≈ 33"))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_power_gradient_in_the_base_does_not_round_the_exponent(dtype):
    k = symnet.compile(symnet.derive("x**y", ["x", "y"]))
    x, y = np.array([3497.9487], dtype=dtype), np.array([-3.0148695], dtype=dtype)
    _, gx, _ = k(x=x, y=y)
    with mpmath.workdps(60):
        X, Y = mpmath.mpf(float(x[0])), mpmath.mpf(float(y[0]))
        assert _error(float(gx[0]), Y * X ** (Y - 1), dtype) is None


@pytest.mark.xfail(strict=True, reason=(
    "measured 2026-12-04 (h-audit25, benchmarks/results/accuracy-2026-12-04.md, the one cell past the bound): "
    "squared_hinge f float64 at x = t = −0.9544816017847175 is 4.12 ULP (torch the same 4.12): 1 − t·x = 0.089 "
    "cancels the rounding of t·x, and the square doubles it (an fma would remove it)"))
def test_squared_hinge_value_at_a_cancelling_margin():
    k = symnet.compile(symnet.derive("squared_hinge(x, t)", ["x", "t"]))
    v = -0.9544816017847175
    f = k(x=np.array([v]), t=np.array([v]))[0]
    with mpmath.workdps(60):
        assert _error(float(f[0]), (1 - mpmath.mpf(v) ** 2) ** 2, "float64") is None
