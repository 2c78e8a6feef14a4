"""Double-word arithmetic for the widen rule in float64 kernels (symnet/codegen/doubleword.py).

A float64 kernel computes each widened sum (e^x − t·x, log t + 1 − x, σ(z) − t, v − d² …) in
double-word arithmetic, hi + lo, and rounds once. Checked here against mpmath (50 digits, more where
the formula cancels: symnet.verify.evaluate.reference), never against the expression the code came
from:

* the primitives: e^x, e^x − 1, log, log1p, σ, softplus, tanh to 2⁻⁹⁵ relative on log-spaced sweeps
  (±708, 1e−300, subnormals for log), TwoProduct exact on random, huge and tiny values, the
  double-word sum, product and quotient to 2⁻¹⁰⁰; the Triton texts of the same under the interpreter;
* the issue-16 cells past 4 ULP float64 before (kl_div ∂t 90, poisson_nll f 6.1, gaussian_nll ∂v 35 and
  f 4.94, focal ∂z 62 / ∂t 13 at their zero crossings, focal ∂x 4.37 and f 4.64) within 4 ULP on grids
  around each cancellation, NumPy on the whole grid, Triton on a sample;
* ±inf and NaN inputs: the same outputs as the float64 evaluation of the body (the kernel before).

Without the double-word functions (main before this change) the cells' grids measure 1e12 ULP and more
(the grids put the result 2⁻⁸ to 2⁻⁴⁴ of the cancelling terms), focal ∂z 1.4e5 ULP and ∂t 15 (Triton ∂z
63).
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import triton_torch
from symnet.registry import lookup
from symnet.verify.evaluate import reference

x, t, v, z = sp.symbols("x t v z", real=True)
F64 = np.float64
TINY_DW = 2.0 ** -960  # below, the lo part of a double-word is subnormal: relative accuracy ends there


def _numpy_primitives() -> dict:
    from symnet.codegen import doubleword as dw
    namespace = {"np": np}
    for name in dw.ORDER:
        exec(dw.primitive_text(name, "numpy"), namespace)  # noqa: S102 - the library's own helper texts
    return namespace


def _rel(hi, lo, true) -> float:
    """|hi + lo − true|/|true| (mpmath)."""
    return float(abs((mpmath.mpf(float(hi)) + mpmath.mpf(float(lo)) - true) / true))


def _sweep(lo_exp: float, hi_exp: float, n: int, signs=(1, -1)) -> np.ndarray:
    mags = np.logspace(lo_exp, hi_exp, n)
    return np.concatenate([s * mags for s in signs])


EXP_POINTS = np.concatenate([_sweep(-320, math.log10(709.7), 300),
                             [708.0, -708.0, 709.7, -745.0, 1e-300, -1e-300, 0.34657359, -0.34657359, 0.5, 1.0]])
LOG_POINTS = np.concatenate([np.logspace(-323.3, 308.2, 400),
                             [5e-324, 1e-310, 1e-300, 1.7976931348623157e308, 1 + 2.0 ** -52, 1 - 2.0 ** -53,
                              0.999, 1.001, 0.7, 1.41, 2.0]])
LOG1P_POINTS = np.concatenate([np.logspace(-320, 308, 300), -np.logspace(-320, -1e-9, 200)])

PRIMITIVES = [
    ("_dw_exp", mpmath.exp, EXP_POINTS),
    ("_dw_expm1", mpmath.expm1, EXP_POINTS),
    ("_dw_log", mpmath.log, LOG_POINTS),
    ("_dw_log1p", mpmath.log1p, LOG1P_POINTS),
    ("_dw_sigmoid", lambda a: 1 / (1 + mpmath.exp(-a)), EXP_POINTS),
    ("_dw_softplus", lambda a: mpmath.log1p(mpmath.exp(a)), EXP_POINTS),
    ("_dw_tanh", mpmath.tanh, _sweep(-320, 2.5, 300)),
]


def _worst_bits(hi, lo, points, mp) -> tuple[float, float]:
    worst, at = 0.0, None
    with mpmath.workdps(50):
        for p, h, l in zip(points, hi, lo):
            true = mp(mpmath.mpf(float(p)))
            if not (TINY_DW <= abs(true) <= 1.7976931348623157e308):
                continue
            e = _rel(h, l, true)
            if e > worst:
                worst, at = e, float(p)
    return (math.log2(worst) if worst else -math.inf), at


@pytest.mark.parametrize("name, mp, points", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_numpy_primitive_within_2_to_the_minus_95(name, mp, points):
    fn = _numpy_primitives()[name]
    with np.errstate(all="ignore"):
        hi, lo = fn(np.asarray(points, F64), np.zeros(len(points)))
    bits, at = _worst_bits(hi, lo, points, mp)
    assert bits <= -95, f"{name}: relative error 2^{bits:.1f} at {at}"


def test_two_product_is_exact():
    """a·b = p + e exactly wherever the partial products do not underflow (|p| ≥ 2⁻⁹⁶⁹), huge operands
    (2¹⁰⁰⁰, near the largest float64, where Veltkamp's 2²⁷·a would overflow) too."""
    two_prod = _numpy_primitives()["_dw_two_prod"]
    rng = np.random.default_rng(3)
    a = rng.standard_normal(2000) * 10.0 ** rng.integers(-150, 150, 2000)
    b = rng.standard_normal(2000) * 10.0 ** rng.integers(-150, 150, 2000)
    a = np.concatenate([a, [1.7e308, -2.0 ** 1000 * 1.37, 3e300, 6.7e299, 1 + 2.0 ** -52, 1e-300]])
    b = np.concatenate([b, [0.9, 1.5 + 2.0 ** -40, -1e-5, 7.1e-10, 1 - 2.0 ** -53, 3e290]])
    p, e = two_prod(a, b)
    checked = 0
    for ai, bi, pi, ei in zip(a, b, p, e):
        if math.isfinite(pi) and abs(pi) >= 2.0 ** -969:
            checked += 1
            assert mpmath.mpf(ai) * mpmath.mpf(bi) == mpmath.mpf(pi) + mpmath.mpf(ei), (ai, bi)
    assert checked > 1500


@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_double_word_arithmetic_within_2_to_the_minus_100(op):
    P = _numpy_primitives()
    rng = np.random.default_rng(5)
    n = 500
    xh = rng.standard_normal(n) * 10.0 ** rng.integers(-100, 100, n)
    yh = rng.standard_normal(n) * 10.0 ** rng.integers(-100, 100, n)
    if op == "add":  # near-cancelling pairs as well
        yh[: n // 4] = -xh[: n // 4] * (1 + rng.standard_normal(n // 4) * 2.0 ** -30)
    xl = xh * rng.uniform(-1, 1, n) * 2.0 ** -54
    yl = yh * rng.uniform(-1, 1, n) * 2.0 ** -54
    hi, lo = P[f"_dw_{op}"](xh, xl, yh, yl)
    fn = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}[op]
    worst = 0.0
    with mpmath.workdps(60):
        for k in range(n):
            a = mpmath.mpf(xh[k]) + mpmath.mpf(xl[k])
            b = mpmath.mpf(yh[k]) + mpmath.mpf(yl[k])
            worst = max(worst, _rel(hi[k], lo[k], fn(a, b)))
    assert worst <= 2.0 ** -100, math.log2(worst)


def test_triton_primitives_within_2_to_the_minus_95(tmp_path):
    """The same texts as @triton.jit functions (Triton's float literals are float32: every constant
    float32 cannot hold is a float64 tl.full) under the interpreter (or a GPU where there is one)."""
    torch = triton_torch()
    import importlib.util
    import sys

    from symnet.codegen import doubleword as dw
    from symnet.codegen.backends.triton.printer import TRITON_HELPERS
    names = ["_log1p"] + list(dw.ORDER)
    probe = '''
@triton.jit
def _probe(x_ptr, hi_ptr, lo_ptr, n, WHICH: tl.constexpr, B: tl.constexpr):
    i = tl.arange(0, B)
    m = i < n
    a = tl.load(x_ptr + i, mask=m, other=1.0)
    if WHICH == 0:
        h, l = _dw_exp(a, 0.0)
    elif WHICH == 1:
        h, l = _dw_log(a, 0.0)
    elif WHICH == 2:
        h, l = _dw_log1p(a, 0.0)
    else:
        h, l = _dw_sigmoid(a, 0.0)
    tl.store(hi_ptr + i, h, mask=m)
    tl.store(lo_ptr + i, l, mask=m)
'''
    source = "import triton\nimport triton.language as tl\n\n\n" + "\n\n".join(
        TRITON_HELPERS[n] for n in names) + "\n" + probe
    path = tmp_path / "dw_probe.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("dw_probe", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["dw_probe"] = module
    spec.loader.exec_module(module)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cases = [(0, mpmath.exp, EXP_POINTS[::6]), (1, mpmath.log, LOG_POINTS[::6]),
             (2, mpmath.log1p, LOG1P_POINTS[::8]), (3, lambda a: 1 / (1 + mpmath.exp(-a)), EXP_POINTS[::6])]
    for which, mp, points in cases:
        xs = torch.tensor(np.asarray(points, F64), device=device)
        hi, lo = torch.empty_like(xs), torch.empty_like(xs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module._probe[(1,)](xs, hi, lo, len(points), WHICH=which, B=triton_block(len(points)))
        bits, at = _worst_bits(hi.cpu().numpy(), lo.cpu().numpy(), points, mp)
        assert bits <= -95, f"case {which}: relative error 2^{bits:.1f} at {at}"


def triton_block(n: int) -> int:
    return 1 << max(4, (n - 1).bit_length())


# ------------------------------------------------------------------ the cells of issue 16

def _offset(rng, n):
    """1 ± 2^−u, u from 8 to 44: the result 2⁻⁸ to 2⁻⁴⁴ of the cancelling terms (a double-word
    holds about 2⁻¹⁰⁰ of them, so 2⁻⁵⁶ of the result stays within the bound)."""
    return 1 + rng.choice([-1, 1], n) * 2.0 ** -rng.uniform(8, 44, n)


def _kl_grid(rng, n):  # ∂t = log t + 1 − x at x ≈ log t + 1
    ts = 10.0 ** rng.uniform(-30, 30, n)
    return {t: ts, x: (np.log(ts) + 1) * _offset(rng, n)}


def _poisson_grid(rng, n):  # f = e^x − t·x at t ≈ e^x/x
    xs = rng.uniform(0.2, 700, n)
    return {t: np.exp(xs) / xs * _offset(rng, n), x: xs}


def _gaussian_dv_grid(rng, n):  # ∂v = 1/(2v) − d²/(2v²) at v ≈ d², d = x − t
    d, xs = 10.0 ** rng.uniform(-2, 2, n), rng.uniform(-3, 3, n)
    ts = xs - d
    return {t: ts, v: (xs - ts) ** 2 * _offset(rng, n), x: xs}


def _gaussian_f_grid(rng, n):  # f = (log v + d²/v)/2 at log v ≈ −d²/v (v < 1)
    vs, xs = 10.0 ** rng.uniform(-5, -0.01, n), rng.uniform(-3, 3, n)
    return {t: xs - np.sqrt(-vs * np.log(vs)) * _offset(rng, n), v: vs, x: xs}


def _box(z0, t0, dz, dt, n):
    Z, T = np.meshgrid(np.linspace(z0 - dz, z0 + dz, n), np.linspace(t0 - dt, t0 + dt, n))
    return Z.ravel(), T.ravel()


def _focal_grid(rng, n):
    """∂z's zero crossing near z = −4.29, t = 0.10003 (62 ULP before), ∂t's near z = −0.285, t = 0.2502
    (13 ULP), ∂z's worst of the reduced sweep at t = 0.7, z = 1.71 (4.37), f's at t = 1/3, z = 2.5
    (4.64; 4.81 at t = 0.5, z = 1.59 on a dense grid)."""
    k = max(3, int(math.sqrt(n / 4)))
    boxes = [_box(-4.29, 0.10003, 0.05, 0.0005, k), _box(-0.285, 0.2502, 0.01, 0.001, k),
             _box(1.71, 0.7, 0.5, 0.2, k), _box(2.0, 0.4, 0.6, 0.15, k)]
    return {z: np.concatenate([b[0] for b in boxes]) , t: np.concatenate([b[1] for b in boxes])}


CELLS = {  # name: (formula, variables, grid, outputs within the bound)
    "kl_div": (lookup("kl_div")(x, t), (x, t), _kl_grid, ["df_dt"]),
    "poisson_nll": (lookup("poisson_nll")(x, t), (x, t), _poisson_grid, ["f"]),
    "gaussian_nll_dv": (lookup("gaussian_nll")(x, t, v), (x, t, v), _gaussian_dv_grid, ["df_dv"]),
    "gaussian_nll_f": (lookup("gaussian_nll")(x, t, v), (x, t, v), _gaussian_f_grid, ["f"]),
    "focal": (lookup("focal")(z, t), (z, t), _focal_grid, ["f", "df_dz", "df_dt"]),
}
BOUND = 4.0  # ULPs float64 (issue 16)

_KERNELS: dict = {}


def _kernel(case, backend):
    if backend == "triton":
        triton_torch()  # skips without torch and triton (a venv made as the README says has neither)
    formula, variables, _, _ = CELLS[case]
    key = (formula, backend)
    if key not in _KERNELS:
        _KERNELS[key] = symnet.compile(symnet.derive(formula, list(variables)), backend=backend)
    return _KERNELS[key]


def _outputs(kernel, backend, columns: dict):
    args = {str(s): np.asarray(c, F64) for s, c in columns.items()}
    if backend == "numpy":
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outs = kernel(**args)
        return {o.name: np.asarray(r) for o, r in zip(kernel.kernel.outputs, outs)}
    torch = triton_torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = kernel(**{k: torch.tensor(a) for k, a in args.items()})
    return {o.name: r.detach().cpu().double().numpy() for o, r in zip(kernel.kernel.outputs, outs)}


def _ulps(got: float, true) -> float | None:
    tv = float(true)
    if not math.isfinite(tv) or abs(tv) < 2.2250738585072014e-308:
        return None  # the bound holds where the true value is a normal number
    if not math.isfinite(got):
        return math.inf
    return float(abs(mpmath.mpf(got) - true) / float(np.spacing(abs(tv))))


@pytest.mark.parametrize("backend, n", [("numpy", 120), ("triton", 12)])
@pytest.mark.parametrize("case", list(CELLS))
def test_cell_within_4_ulps_around_its_cancellation(case, backend, n):
    formula, variables, grid, names = CELLS[case]
    columns = grid(np.random.default_rng(11), n)
    if backend == "triton":
        columns = {s: c[:: max(1, len(c) // n)][:n] for s, c in columns.items()}
    kernel = _kernel(case, backend)
    got = _outputs(kernel, backend, columns)
    outputs = {o.name: o for o in kernel.kernel.outputs}
    failures = []
    for name in names:
        worst, at = 0.0, None
        for r in range(len(next(iter(columns.values())))):
            env = {s: float(c[r]) for s, c in columns.items()}
            true = reference(outputs[name].expr, env)[0]
            e = None if true is None or mpmath.isnan(true) else _ulps(float(got[name][r]), true)
            if e is not None and e > worst:
                worst, at = e, env
        if worst > BOUND:
            failures.append(f"{name}: {worst:.3g} ULP at {at}")
    assert not failures, f"{case} ({backend}): " + "; ".join(failures)


SPECIALS = [-math.inf, -1e308, -710.0, -1.0, -1e-300, 0.0, 5e-324, 1e-300, 0.5, 1.0, 710.0, 1e308, math.inf,
            math.nan]


def _before(kernel):
    """The same kernel with every widened body in float64 (the generated functions' float32 branch):
    the float64 kernel as it was before the double-word functions."""
    # a widened sum in a kernel computed in float64 prints as (f(…, True) if _dtype == np.float64 else body)
    source = kernel.source.replace("_dtype == np.float64)", "False)").replace(
        "if _dtype == np.float64 else", "if False else")
    assert source != kernel.source
    namespace: dict = {}
    exec(compile(source, "<before>", "exec"), namespace)  # noqa: S102 - a generated module, edited here
    return namespace[kernel.kernel.name]


def _inside_domains(kernel, variables, rows) -> list:
    """The rows inside the argument domains the formula declares (kl_div's t ≥ 0, gaussian_nll's var ≥ 0, focal's
    t in [0, 1]): the generated code refuses the others in one line (DomainError), tested in test_row13."""
    from symnet.verify.measure import _outside_domains

    rows = list(rows)
    symbols = [i.symbol for i in kernel.kernel.inputs]
    order = [list(map(str, variables)).index(str(s)) for s in symbols]
    outside = _outside_domains(kernel.kernel.domains, symbols, np.array([[r[q] for q in order] for r in rows]))
    kept = [r for r, out in zip(rows, outside) if not out]
    assert len(kept) >= len(rows) // 4
    return kept


@pytest.mark.parametrize("case", ["kl_div", "poisson_nll", "gaussian_nll_dv", "focal"])
def test_infinities_and_nan_give_what_they_gave_before(case):
    """At ±inf, NaN, 0, subnormals and the extremes (every combination), each output is NaN, ±inf or
    finite exactly where the float64 body gave it, and finite values agree to 1e−9 (where the float64
    body does not cancel)."""
    import itertools

    formula, variables, _, _ = CELLS[case]
    kernel = _kernel(case, "numpy")
    rows = _inside_domains(kernel, variables, itertools.product(SPECIALS, repeat=len(variables)))
    columns = {s: np.array([r[k] for r in rows]) for k, s in enumerate(variables)}
    new = _outputs(kernel, "numpy", columns)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        old = _before(kernel)(**{str(s): c for s, c in columns.items()})
    for o, before in zip(kernel.kernel.outputs, old):
        after = new[o.name]
        assert np.array_equal(np.isnan(after), np.isnan(before)), o.name
        assert np.array_equal(after[np.isinf(before)], before[np.isinf(before)]), o.name
        finite = np.isfinite(before)
        np.testing.assert_allclose(after[finite], before[finite], rtol=1e-9, atol=1e-300, err_msg=o.name)


def test_triton_specials_match_numpy():
    """The Triton kernel's float64 outputs at the special inputs: NaN and ±inf where NumPy's are."""
    kernel = _kernel("kl_div", "triton")
    import itertools
    rows = _inside_domains(kernel, (x, t), itertools.product(SPECIALS, repeat=2))
    columns = {x: np.array([r[0] for r in rows]), t: np.array([r[1] for r in rows])}
    tri = _outputs(kernel, "triton", columns)
    ref = _outputs(_kernel("kl_div", "numpy"), "numpy", columns)
    for name, a in tri.items():
        b = ref[name]
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        assert np.array_equal(a[np.isinf(b)], b[np.isinf(b)]), name
        np.testing.assert_allclose(a[np.isfinite(b)], b[np.isfinite(b)], rtol=1e-15, atol=1e-300, err_msg=name)


def test_float32_kernel_keeps_its_float64_widening():
    """A float32 kernel computes the widened body in float64, rounded once (no double-word cost): its
    result is the float64 body rounded to float32."""
    kernel = _kernel("poisson_nll", "numpy")
    rng = np.random.default_rng(2)
    xs = rng.uniform(-5, 20, 300).astype(np.float32)
    ts = rng.uniform(0, 1e6, 300).astype(np.float32)
    f32 = kernel(x=xs, t=ts)[0]
    x64, t64 = xs.astype(F64), ts.astype(F64)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, (np.exp(x64) - t64 * x64).astype(np.float32))


def test_the_generated_function_reads_like_its_math():
    """The per-body function is generated from the body: one statement per operation, named by its
    math, under a comment of it; the primitives only are library texts."""
    source = _kernel("poisson_nll", "numpy").source
    start = source.index("def _dw_widened_")
    assert "exp_x_hi, exp_x_lo = _dw_exp(x, 0.0)" in source[start:]
    assert "# exp_x = exp(x)" in source[start:]
    assert "_dw_two_prod(" in source[start:]


def test_triton_launch_keeps_products_unfused():
    """On a GPU Triton contracts a·b + c to one FMA by default, which breaks Dekker's splitting and
    products (the rounded a·b is what they subtract): the launcher turns that off for float64, and since
    session 20 for float32 too (its widened sums go double-word where float64 is not enough)."""
    source = _kernel("kl_div", "triton").source
    assert "enable_fp_fusion=False" in source and "enable_fp_fusion=not f64" not in source


_COMPILE_FOR_SM90 = """
import importlib.util, sys
import sympy as sp, triton, symnet
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from symnet.registry import lookup
x, t = sp.symbols("x t", real=True)
path = sys.argv[1]
open(path, "w", encoding="utf-8").write(symnet.compile(symnet.derive(lookup("kl_div")(x, t), [x, t]),
                                                       backend="triton").source)
spec = importlib.util.spec_from_file_location("dw_kl_div", path)
module = importlib.util.module_from_spec(spec)
sys.modules["dw_kl_div"] = module
spec.loader.exec_module(module)
fn = module._kernel_kernel
for label, dtype, f64, repair in (("fp64", "fp64", True, 0), ("fp32", "fp32", False, 0), ("fp32r", "fp32", False, 4)):
    signature = {p.name: "constexpr" if p.is_constexpr else ("*i32" if p.name in ("count_ptr", "tier_ptr", "ids_ptr")
                                                             else "*" + dtype)
                 if p.name.endswith("_ptr") else ("fp64" if p.name == "divisor" else "i32") for p in fn.params}
    # the main kernel (REPAIR 0), and float32's repair kernel (REPAIR 4: its double words)
    values = {"WRITE_VALUE": True, "REDUCE": False, "F64": f64, "BLOCK": 512, "REPAIR": repair}
    constexprs = {(fn.arg_names.index(n),): values[n] for n in values if n in fn.arg_names}
    compiled = triton.compile(ASTSource(fn=fn, signature=signature, constexprs=constexprs),
                              target=GPUTarget("cuda", 90, 32), options={"enable_fp_fusion": False})
    print(label, len(compiled.asm["ptx"].splitlines()))
"""


def test_triton_text_compiles_for_a_gpu(tmp_path):
    """The kernel with its double-word functions through Triton's whole compiler for sm_90 (no GPU
    needed; a process of its own, without the interpreter): the dtype branch resolved when compiled
    (the double-word functions in the float64 kernel only), the tuples the helpers return, the float
    literals passed as arguments; without FP fusion. Since session 20 the float32 kernel holds the double words
    too where the float64 bound is not within 2⁻³⁰ (PTX lines, BLOCK 512: float64 14,794, float32 28,936; before,
    float32 was under a third of float64); since session 26 in its repair kernel (REPAIR 4), the main kernel without
    them (float64 8,958, float32 main 1,191)."""
    import os
    import subprocess
    import sys

    triton_torch()
    pytest.importorskip("triton.backends.nvidia")
    env = {k: val for k, val in os.environ.items() if k != "TRITON_INTERPRET"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run([sys.executable, "-c", _COMPILE_FOR_SM90, str(tmp_path / "dw_kl_div.py")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    words = run.stdout.split()
    lines = dict(zip(words[::2], map(int, words[1::2])))
    assert 0 < lines["fp32"] < lines["fp64"] / 2, lines  # the float32 main kernel without the double words
    assert lines["fp32r"] > lines["fp64"] / 2, lines  # its repair kernel with them
