"""Session 19, h-misc19: quotient-square inside sums and products, signed zeros of relu and hardswish as torch's,
relu′(NaN), bfloat16 subnormal logits in the row-wise kernels.

References are independent of symnet's code generator: mpmath of the formula as written (SymPy's own derivative,
evaluated at 50 digits), torch.autograd in float64 and torch's own functions. Bounds: 4 ULP float64, 8 ULP float32,
or torch's own error where that is larger.
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
x, y, z = sp.symbols("x y z", real=True)



# ------------------------------------------------------------------ quotient-square inside sums and products
# SymPy takes the factor x of ∂y of atan(x/y) (−x/(y²·(1 + x²/y²))) out of a sum around it: ∂y of atan(x/y) + x·y
# is x·(1 − 1/(y²·(1 + x²/y²))). quotient-square saw the inner product alone and wrote 1/(x² + y²) as ((1/m)/S)/m,
# 1/m² = inf where m = max(|x|, |y|) < 2⁻⁵¹² (float64; 2⁻⁶⁴ float32) though x/(x² + y²) is finite. Measured before
# the fix (float64 at x = y = 1e−160, float32 at 1e−25): −inf for all but the two arrangements marked "was finite",
# where SymPy had left x inside; now every arrangement within the bounds.
ARRANGEMENTS = [
    ("atan(x/y) + x*y", lambda t, a, b, c: t.atan(a / b) + a * b),
    ("3*atan(x/y) + x*y", lambda t, a, b, c: 3 * t.atan(a / b) + a * b),
    ("atan(x/y) + x*y + sin(y)", lambda t, a, b, c: t.atan(a / b) + a * b + t.sin(b)),  # was finite
    ("z*atan(x/y) + x*y*z", lambda t, a, b, c: c * t.atan(a / b) + a * b * c),
    ("(atan(x/y) + x*y)**2", lambda t, a, b, c: (t.atan(a / b) + a * b) ** 2),
    ("atan(x/y)*exp(y) + x*y", lambda t, a, b, c: t.atan(a / b) * t.exp(b) + a * b),  # was finite
    ("atan(x/y) + x**2*y", lambda t, a, b, c: t.atan(a / b) + a ** 2 * b),
    ("exp(atan(x/y) + x*y)", lambda t, a, b, c: t.exp(t.atan(a / b) + a * b)),
    # the quotient the other way round: ∂y of atan(x/y)·… above; here y·(1 − 1/(x²·(1 + y²/x²))) is ∂x, its
    # factor y the second of the two squares (was −inf at x = y = 1e−160 after the first fix, which took A only)
    ("atan(y/x) + x*y", lambda t, a, b, c: t.atan(b / a) + a * b),
]
POINTS = [(1e-160, 1e-160), (1e-200, 3e-200), (3e-25, 1e-25), (1e-25, 1e-25), (0.3, 1e-30), (2.0, 3.0),
          (-0.5, 0.25), (1e30, 1e30), (0.0, 1e-300), (-1e-170, 2e-170)]


def _torch_d(fn, a: float, b: float, c: float, index: int) -> float:
    """torch.autograd's float64 derivative of fn at (a, b, c) in its argument ``index`` (0: x, 1: y)."""
    import torch

    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b, c)]
    return float(torch.autograd.grad(fn(torch, *ts), ts[index])[0])


@pytest.mark.parametrize("text, torch_fn", ARRANGEMENTS, ids=[a[0] for a in ARRANGEMENTS])
def test_quotient_square_inside_sums_and_products(text, torch_fn):
    """∂ of each arrangement by the denominator's variable (y; x for atan(y/x)), NumPy float64 and float32, against
    mpmath (50 digits) of SymPy's derivative of the formula, within 4/8 ULP or torch float64's own error (float64
    only) where that is larger."""
    pytest.importorskip("torch")
    formula = sp.sympify(text, locals={"x": x, "y": y, "z": z})
    wrt = (x, y, z) if formula.has(z) else (x, y)
    var = x if "atan(y/x)" in text else y
    kernel = compiled(formula, "numpy", wrt)
    exact = sp.lambdify(wrt, sp.diff(formula, var), "mpmath")
    c = 0.7
    bad = []
    for dtype in (F64, F32):
        a = np.array([p[0] for p in POINTS], dtype)
        b = np.array([p[1] for p in POINTS], dtype)
        args = {"x": a, "y": b, **({"z": np.full_like(a, c)} if z in wrt else {})}
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            dy = kernel(**args)[1 + wrt.index(var)]
        for i in range(len(POINTS)):
            pa, pb = float(a[i]), float(b[i])
            if (pa if var is x else pb) == 0.0:  # the denominator 0 (or below float32's range): not differentiable
                continue
            with mpmath.workdps(50):
                want = exact(*(mpmath.mpf(v) for v in (pa, pb, float(dtype(c)))[:len(wrt)]))
            if abs(want) > np.finfo(dtype).max:
                continue  # the true derivative overflows the dtype (float32 at 1e−25: −5e24 is fine; 1e−160: not)
            bound = 4 if dtype is F64 else 8
            if dtype is F64:
                bound = max(bound, ulp_error(_torch_d(torch_fn, pa, pb, c, wrt.index(var)), want, F64))
            if ulp_error(float(dy[i]), want, dtype) > bound:
                bad.append((dtype.__name__, pa, pb, float(dy[i]), mpmath.nstr(want, 17)))
    assert not bad, bad


def test_quotient_square_inside_a_sum_triton():
    """The same rewrite in the Triton kernel (TRITON_INTERPRET=1 without a GPU), float64 and float32."""
    torch = triton_torch()
    formula = sp.atan(x / y) + x * y
    kernel = compiled(formula, "triton", (x, y))
    exact = sp.lambdify((x, y), sp.diff(formula, y), "mpmath")
    for dtype, v in ((torch.float64, 1e-160), (torch.float32, 1e-25)):
        a = torch.tensor([v, 2.0, -3e-25], dtype=dtype)
        b = torch.tensor([v, 3.0, 1e-25], dtype=dtype)
        dy = kernel(x=a, y=b)[2].cpu()
        for i in range(3):
            with mpmath.workdps(50):
                want = exact(mpmath.mpf(float(a[i])), mpmath.mpf(float(b[i])))
            np_dtype = F64 if dtype == torch.float64 else F32
            assert ulp_error(float(dy[i]), want, np_dtype) <= (4 if np_dtype is F64 else 8), (v, i, float(dy[i]))


# ------------------------------------------------------------------ the widened functions' ``within``, without a global
def test_widened_function_says_whether_it_takes_within():
    """doubleword.WITHIN was a module-level set of the generated names taking ``within``, filled by widened_function
    and read by the NumPy printer; now widened_function returns it (WidenedFunction.takes_within): the same
    function text and the same answer on every call, nothing kept between calls."""
    from symnet.codegen import doubleword
    from symnet.codegen.backends.numpy.printer import NumpyExpressionPrinter
    from symnet.codegen.rewrite import widen

    assert not hasattr(doubleword, "WITHIN")
    for body, takes in ((sp.exp(x) - y * x, True), (sp.log(1 + x * y), True), (sp.atan(x) - y, False)):  # atan: no bound (sin has one since h-sin19)
        node = widen(body)
        first = NumpyExpressionPrinter(set())._widened(node)
        again = NumpyExpressionPrinter(set())._widened(node)
        assert first == again
        assert first.takes_within == (", within=" in first.code.splitlines()[0]), first.code.splitlines()[0]
        assert first.takes_within is takes


# ------------------------------------------------------------------ bfloat16 subnormals in the row-wise kernels
# The row-wise kernels loaded z, t and g with .to(acc); Triton's interpreter (3.9) upcasts a bfloat16 subnormal
# wrong (2⁻¹²⁷ → 0, 1.0e−39 → 4.4e−39), so a sum over them was off before it began (nll_loss of −2⁻¹²⁶, −2⁻¹²⁷:
# 1.18e−38, torch 1.76e−38). Now every such load is _upcast (the bits shifted into a float32: exact), the sums in
# float32 or wider, rounded once at the store. Reference: torch in float64 of the same bfloat16 numbers, rounded by
# torch to bfloat16 (the subnormal sums here are exact in float32).
SUBNORMALS = [2.0 ** -127, 2.0 ** -128 + 2.0 ** -130, 3 * 2.0 ** -133, 2.0 ** -133, 1.5 * 2.0 ** -127, 2.0 ** -126]


def _row(name):
    triton_torch()
    from symnet.kernels import load_kernel
    return load_kernel(name, "triton")


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_bfloat16_subnormal_logits_nll_loss(reduction):
    torch = triton_torch()
    z = torch.tensor([[-v, 0.0] for v in SUBNORMALS], dtype=torch.bfloat16)
    assert z[:, 0].double().tolist() == [-v for v in SUBNORMALS]  # bfloat16 numbers
    r = torch.zeros(len(SUBNORMALS), dtype=torch.int64)
    got = _row("nll_loss").nll_loss(z, r, reduction=reduction)
    want = torch.nn.functional.nll_loss(z.double(), r, reduction=reduction).to(torch.bfloat16)
    assert got.dtype == torch.bfloat16 and got.float().tolist() == want.float().tolist(), (got, want)


def test_bfloat16_subnormal_upstream_gradient_log_softmax_grad():
    """log_softmax's backward g − softmax(z)·Σg over two equal logits: g₀ − (g₀ + g₁)/2, subnormal throughout."""
    torch = triton_torch()
    g = torch.tensor([[v, 0.0] for v in SUBNORMALS], dtype=torch.bfloat16)
    z = torch.zeros_like(g)
    Z = z.double().requires_grad_(True)
    want, = torch.autograd.grad(torch.nn.functional.log_softmax(Z, -1), Z, g.double())
    got = _row("log_softmax").log_softmax_grad(z, g)[1]  # (l, dz)
    assert got.float().tolist() == want.to(torch.bfloat16).float().tolist(), (got, want)


def test_bfloat16_subnormal_soft_targets_cross_entropy():
    """cross_entropy with soft targets t (bfloat16 subnormals) over two equal logits: (t₀ + t₁)·log 2 per row."""
    torch = triton_torch()
    t = torch.tensor([[v, v] for v in SUBNORMALS], dtype=torch.bfloat16)
    z = torch.zeros_like(t)
    got = _row("cross_entropy").cross_entropy_soft(z, t, reduction="none")
    want = torch.nn.functional.cross_entropy(z.double(), t.double(), reduction="none").to(torch.bfloat16)
    assert got.float().tolist() == want.float().tolist(), (got, want)


# ------------------------------------------------------------------ signed zeros of relu and hardswish, as torch's
# relu was np.maximum(x, 0) / tl.maximum(x, 0.0): +0 at −0.0 (torch −0.0, x < 0 ? 0 : x). hardswish was the select
# {0 if x ≤ −3; x if x ≥ 3; x(x + 3)/6}: +0 at and below −3 (torch −0.0, x·clamp(x + 3, 0, 6)/6 = x·0/6). Now relu
# is a helper computing x < 0 ? 0 : x and hardswish x·{0; 1; (x + 3)/6}. Values bit for bit torch's (sign of zero
# included) on both of its CPU paths, derivatives torch's except at NaN (README: relu′(NaN) is NaN by decision,
# hardswish′(NaN) NaN as torch's vectorised path).
_EXACT = {"relu": lambda v: max(v, 0), "hardswish": lambda v: v * min(max(v + 3, 0), 6) / 6}
SIGNED = [-0.0, 0.0, -0.5, -1e-30, -3.0, -5.0, -1e30, 2.0, 3.0, 1e30, np.inf, -2.0, 1e-300, -1e-300]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [F64, F32])
@pytest.mark.parametrize("name", ["relu", "hardswish"])
def test_signed_zeros_as_torch(name, dtype, backend):
    torch = triton_torch()
    f = compiled(f"{name}(x)", backend)
    points = np.asarray(SIGNED, dtype)
    if backend == "numpy":
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value, slope = f(x=points)
    else:
        value, slope = (o.cpu().numpy() for o in f(x=torch.tensor(points)))
    fn = getattr(torch.nn.functional, name)
    for n in (1, 1000):  # the scalar and the vectorised CPU paths
        for i, p in enumerate(points):
            X = torch.full((n,), float(p), dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
            Y = fn(X)
            G, = torch.autograd.grad(Y.sum(), X)
            want, got = float(Y[0]), float(value[i])
            if np.isnan(want):  # hardswish(−inf): torch −inf·0 = NaN, symnet the limit 0
                continue
            if want == 0:
                assert got == 0 and math.copysign(1, got) == math.copysign(1, want), (name, p, n, got, want)
            elif got != want:  # torch's x·6/6 rounds twice at 1e30 where symnet's x·1 is exact: no worse than torch
                with mpmath.workdps(50):
                    exact = _EXACT[name](mpmath.mpf(float(p)))
                assert ulp_error(got, exact, dtype) <= min(ulp_error(want, exact, dtype), 1), (name, p, n, got, want)
            assert float(slope[i]) == float(G[0]), (name, p, n, float(slope[i]), float(G[0]))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [F64, F32])
def test_heaviside_is_one_select_alone_and_in_products(dtype, backend):
    """H(u) = u ≤ 0 ? 0 : 1 alone and times anything (README: relu′(NaN) = 1, torch's relu backward). Measured
    before at NaN: H(x) NaN (NumPy's np.heaviside) or 0 (Triton), −H(x) and 3·H(x) 0 (the heaviside-gate's
    {c if x > 0; 0}), H(x)·y y; now 1, −1, 3 and y. Elsewhere torch.heaviside(x, 0)'s values, H(0) = 0, and torch's
    relu backward for relu′ and relu′·y (torch.autograd, float64)."""
    torch = triton_torch()
    points = np.array([np.nan, -0.0, 0.0, -2.0, 3.0, np.inf, -np.inf, 1e-300, -1e-300], dtype)
    y = np.full_like(points, 2.5)
    step = torch.heaviside(torch.tensor(points[1:]), torch.zeros(len(points) - 1, dtype=torch.tensor(points).dtype))
    for text, k in (("Heaviside(x)", 1.0), ("-Heaviside(x)", -1.0), ("3*Heaviside(x)", 3.0), ("Heaviside(x)*y", 2.5)):
        f = compiled(text, backend)
        args = {"x": points, "y": y} if "y" in text else {"x": points}
        if backend == "numpy":
            with np.errstate(all="ignore"):
                value = np.asarray(f(**args)[0], np.float64)
        else:
            value = f(**{n: torch.tensor(a) for n, a in args.items()})[0].cpu().double().numpy()
        assert value[0] == k, (text, value[0])  # at NaN: the gate open, as torch's relu backward
        assert (value[1:] == k * step.double().numpy()).all(), (text, value, step)
    X = torch.tensor(points.astype(np.float64), requires_grad=True)
    g, = torch.autograd.grad((torch.relu(X) * 2.5).sum(), X)
    f = compiled("relu(x)*y", backend)
    args = {"x": points, "y": y}
    if backend == "numpy":
        with np.errstate(all="ignore"):
            dx = np.asarray(f(**args)[1], np.float64)
    else:
        dx = f(**{n: torch.tensor(a) for n, a in args.items()})[1].cpu().double().numpy()
    assert dx.tolist() == g.tolist(), (dx, g)
