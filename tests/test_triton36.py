"""Session 36 (h-triton36): the Triton backend's open faults (issue 16), under TRITON_INTERPRET=1 where there is no GPU.

A meta tensor (no data) given to a Triton function: the launcher of ``symnet.compile(..., backend="triton")`` reached
torch's "NotImplementedError: Cannot copy out of meta tensor; no data!" inside the interpreter (found in session 35),
where the same formula's torch op (symnet.torch) returns meta outputs through its fake kernel. Now the elementwise
launcher returns meta outputs of the shapes and dtypes it returns for data, and every other Triton launcher (the
committed row-wise, dense and training kernels) refuses a meta tensor in one line."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

import symnet
from conftest import triton_torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def torch():
    return triton_torch()


@pytest.fixture(scope="module")
def sigmoid_product(torch):
    return symnet.compile(symnet.derive("x*sigmoid(y)"), backend="triton", progress=False)


def _layout(outputs):
    return [(tuple(o.shape), o.dtype) for o in outputs]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_triton_function_takes_meta_tensors(torch, sigmoid_product, dtype, reduction):
    dtype = getattr(torch, dtype)
    real = sigmoid_product(torch.ones(2, 3, dtype=dtype), torch.ones(2, 3, dtype=dtype), reduction=reduction)
    meta = sigmoid_product(torch.ones(2, 3, dtype=dtype, device="meta"), torch.ones(2, 3, dtype=dtype, device="meta"),
                           reduction=reduction)
    assert all(o.is_meta for o in meta) and _layout(meta) == _layout(real), (_layout(meta), _layout(real))


def test_meta_beside_data_is_one_line(torch, sigmoid_product):
    with pytest.raises(ValueError, match="is on cpu but 'x' is on meta"):
        sigmoid_product(torch.ones(3, device="meta"), torch.ones(3))


def test_meta_through_the_function_and_the_op_alike(torch):
    formula = symnet.torch.from_formula("x*sigmoid(y)", inputs=["x", "y"])
    x = torch.ones(4, 5, dtype=torch.float64, device="meta", requires_grad=True)
    y = torch.ones(4, 5, dtype=torch.float64, device="meta")
    out = formula(x, y)
    assert out.is_meta and tuple(out.shape) == (4, 5) and out.dtype == torch.float64
    out.sum().backward()
    assert x.grad.is_meta and tuple(x.grad.shape) == (4, 5)


def test_a_formula_with_a_domain_check_takes_meta(torch):
    # gaussian_nll's variance is checked on the host (reading the data back): a meta tensor has none to refuse
    k = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"), backend="triton", progress=False)
    meta = [torch.ones(3, device="meta") for _ in range(3)]
    assert all(o.is_meta and tuple(o.shape) == (3,) for o in k(*meta))


def test_committed_row_kernel_refuses_meta_in_one_line(torch):
    sys.path.insert(0, str(ROOT / "kernels" / "triton"))
    try:
        import softmax
    finally:
        sys.path.remove(str(ROOT / "kernels" / "triton"))
    with pytest.raises(ValueError, match="argument 'z' is on the meta device, which holds no data"):
        softmax.softmax(torch.ones(3, 4, device="meta"))


# ---------------------------------------------------------------- float32 long products in float64 (test_worse34's)

# The Triton float32 kernel rounded each multiplication of ∂x of exp(−(x·y)³), −3·x²·y³·e^(…), in float32: 3.26 ULP at
# (0.01126909535, 25.955675) where torch float32 autograd is 0.26 and NumPy's float32 block (float64) 0.5; over
# test_xfail33's 400 points f / ∂x / ∂y worst 2.41 / 3.26 / 2.84 (seed 8), 3.13 / 3.52 / 4.40 (seed 9), worse than
# torch by more than 0.5 ULP at 47 / 92 / 98 and 35 / 90 / 83 of them (torch's worst 9.77 / 8.91 / 11.08). Now a float32
# product of five factors or more (and an exponential of one) is computed in float64 from the inputs and rounded once
# (TritonPrinter._wide_product, _wide_leaf: the float64 e^u the product holds): 0.26 at the point; 0.50 / 0.50 / 0.50
# over both seeds (worse than torch by more than 0.5 at none); the forms and the neighbourhood below measured ≤ 0.50.
CUBE_FORMS = ["exp(-((x) * (y))**3)", "exp(-x**3*y**3)", "exp(-(x*y)*(x*y)*(x*y))"]


@pytest.fixture(scope="module")
def cube_kernels(torch):
    return {form: symnet.compile(symnet.derive(form), backend="triton", progress=False) for form in CUBE_FORMS}


def _cube_truths(xs, ys):
    import mpmath

    out = []
    with mpmath.workdps(60):
        for x, y in zip(xs, ys):
            X, Y = mpmath.mpf(float(x)), mpmath.mpf(float(y))
            e = mpmath.exp(-(X * Y) ** 3)
            out.append((e, -3 * (X * Y) ** 2 * Y * e, -3 * (X * Y) ** 2 * X * e))
    return out


def _cube_worst(torch, k, xs, ys):
    """Each output's worst ULP (float32) over the points whose truth is a normal float32, and torch float32 autograd's
    at the same point."""
    import numpy as np

    from conftest import ulps

    outs = [o.double().numpy() for o in k(torch.tensor(xs), torch.tensor(ys))]
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    f = torch.exp(-(tx * ty) ** 3)
    theirs = [f.detach().double().numpy()] + [g.double().numpy() for g in torch.autograd.grad(f.sum(), (tx, ty))]
    info = np.finfo(np.float32)
    worst = []
    for i, truth in enumerate(_cube_truths(xs, ys)):
        for j, t in enumerate(truth):
            if float(info.tiny) <= abs(t) <= float(info.max):
                worst.append((ulps(outs[j][i], t, np.float32), ulps(theirs[j][i], t, np.float32), j, xs[i], ys[i]))
    return worst


@pytest.mark.parametrize("form", CUBE_FORMS)
def test_float32_cube_exponential_at_the_worst_point_and_around_it(torch, cube_kernels, form):
    import numpy as np

    rng = np.random.default_rng(3601)
    x0, y0 = 0.011269095353782177, 25.95567512512207
    xs = np.asarray(np.concatenate([[x0], x0 * (1 + rng.uniform(-0.05, 0.05, 200))]), np.float32)
    ys = np.asarray(np.concatenate([[y0], y0 * (1 + rng.uniform(-0.05, 0.05, 200))]), np.float32)
    worst = _cube_worst(torch, cube_kernels[form], xs, ys)
    assert worst[1][0] <= 0.5 and worst[1][1] < 0.3, worst[:3]  # ∂x at the point: 0.26 (torch 0.26; 3.26 before)
    bad = [w for w in worst if w[0] > 0.5 + 1e-6]
    assert not bad, bad[:5]


@pytest.mark.parametrize("seed", [8, 9])
def test_float32_cube_exponential_over_session_33s_points(torch, cube_kernels, seed):
    from test_xfail33 import _cube_points
    import numpy as np

    xs, ys = _cube_points(400, np.float32, seed)
    worst = _cube_worst(torch, cube_kernels[CUBE_FORMS[0]], xs, ys)
    bad = [w for w in worst if w[0] > 0.5 + 1e-6]
    assert not bad, bad[:5]


# ---------------------------------------------------------------- Triton float64 erfc(x) − y, Φ(x) − y (test_round22's)

# erfc(x) − y at y = fl(erfc x) and its neighbours cancels some 2⁵² (the widen rule's third tier, triple words, takes
# it), and Triton's third tier took erfc and Φ of an input in float64: past 4 ULP at all of test_round22's 30 erfc and
# 27 Φ points, erfc up to 1.15e18 (x = 1.7), worse than torch's float64 at 6 (torch 2.6e13–7.8e15 there). Now 1 − erf
# in triple words (doubleword._tw_erfc_series, _tw_ndtr_series over _tw_erf's series, about 2⁻¹²⁰/erfc relative):
# 0 ULP at erfc's x = −3 … 3.3 and Φ's −3 … 5 (0.50 at worst over the 369 + 360 points around them); still past 4 at
# erfc's 5.93 (1.2e8–1.9e9 ULP, torch 4.9e14–7.8e15) and Φ's −8 (9.0e5–3.6e6, torch 5.2e29–2.1e30), where erfc ≤ 2⁻⁴⁹
# leaves 1 − erf few digits, and beyond _tw_erf's series (erfc at 9.1, 20.5, 26, Φ at −20: the float64 value as before,
# torch's own; Φ at −37 2.3e7, torch 1.2e24). Session 37 (h-erfc37): erfc from |x| = 2.5 is a continued fraction in
# triple words (_tw_erfc_fraction): ≤ 0.5 at all of them (the far-out test below; tests/test_erfc37.py).
ERFC_XS = (0.2, 0.6, 1.7, 3.3, 5.93, 9.1, 20.5, 26.0, -0.4, -3.0)  # test_round22's
NDTR_XS = (-0.4, -1.3, -3.0, -8.0, -20.0, -37.0, 0.3, 1.2, 5.0)


def _functions():
    import mpmath
    import torch

    return {"erfc": (mpmath.erfc, lambda X: -2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-X * X), torch.erfc),
            "ndtr": (mpmath.ncdf, lambda X: mpmath.npdf(X), torch.special.ndtr)}


@pytest.fixture(scope="module")
def minus_kernels(torch):
    return {name: symnet.compile(symnet.derive(f"{name}(x) - y"), backend="triton", progress=False)
            for name in ("erfc", "ndtr")}


def _minus_errors(torch, k, name, xs, ys):
    """(x, y, ours, torch's) ULPs (float64) of f = g(x) − y, g erfc or Φ, against mpmath; ∂x and ∂y within 4 ULP."""
    import math

    import mpmath
    import numpy as np

    from conftest import ulps

    g, slope, theirs_g = _functions()[name]
    f, dx, dy = [o.numpy() for o in k(torch.tensor(xs), torch.tensor(ys))]
    theirs = (theirs_g(torch.tensor(xs)) - torch.tensor(ys)).numpy()
    out, grads = [], 0.0
    with mpmath.workdps(60):
        for i, (x, y) in enumerate(zip(xs, ys)):
            X, Y = mpmath.mpf(float(x)), mpmath.mpf(float(y))
            truth = g(X) - Y
            out.append((float(x), float(y), ulps(f[i], truth, np.float64), ulps(theirs[i], truth, np.float64)))
            if abs(slope(X)) >= mpmath.mpf(float(np.finfo(np.float64).tiny)):
                grads = max(grads, ulps(dx[i], slope(X), np.float64))
            grads = max(grads, ulps(dy[i], -1, np.float64))
    assert math.isfinite(grads) and grads <= 4, grads
    return out


def _at_rounded(name, xs):
    """Each x with y = fl(g x) and its two float64 neighbours."""
    import mpmath
    import numpy as np

    g = _functions()[name][0]
    pts = []
    with mpmath.workdps(50):
        for x in xs:
            y = float(g(mpmath.mpf(float(x))))
            pts += [(float(x), v) for v in (y, float(np.nextafter(y, 0.0)), float(np.nextafter(y, 2.0)))]
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


@pytest.mark.parametrize("name, xs, near", [("erfc", ERFC_XS, lambda x: x <= 3.3), ("ndtr", NDTR_XS, lambda x: x >= -3)])
def test_float64_function_minus_its_rounding_at_session_22s_points(torch, minus_kernels, name, xs, near):
    errors = _minus_errors(torch, minus_kernels[name], name, *_at_rounded(name, xs))
    assert all(e <= 4 for x, _, e, _ in errors if near(x)), [r for r in errors if r[2] > 4 and near(r[0])]
    assert all(e <= max(t, 4) for _, _, e, t in errors), [r for r in errors if r[2] > max(r[3], 4)]


@pytest.mark.parametrize("name, inside, outside", [("erfc", (-3.0, 3.0), (3.0, 5.5)), ("ndtr", (-4.2, 8.0), (-8.0, -4.2))])
def test_float64_function_minus_its_rounding_around_them(torch, minus_kernels, name, inside, outside):
    """x uniform where erfc's argument is below 3 (erfc ≥ 2⁻¹⁷: 1 − erf in triple words holds 2⁻¹⁰³), y = fl(g x) and its
    neighbours (120 × 3 points): within 4 ULP; beyond (30 × 3 points) too since session 37 (never worse than torch
    before). Measured: ≤ 0.50 inside; outside erfc 49 of 90 past 4 (up to 8.5e5, torch ≥ 3.2e14), Φ 34 of 90 (up to
    1.4e7, torch ≥ 3.1e19); session 37 (the continued fraction, _tw_erfc_fraction): ≤ 0.5 outside too."""
    import numpy as np

    rng = np.random.default_rng(3602)
    errors = _minus_errors(torch, minus_kernels[name], name, *_at_rounded(name, rng.uniform(*inside, 120)))
    assert all(e <= 4 for _, _, e, _ in errors), [r for r in errors if r[2] > 4][:5]
    errors = _minus_errors(torch, minus_kernels[name], name, *_at_rounded(name, rng.uniform(*outside, 30)))
    assert all(e <= 4 for _, _, e, _ in errors), [r for r in errors if r[2] > 4][:5]


# session 37 (h-erfc37): was a strict xfail (erfc at 5.93 1.2e8–1.9e9 ULP, torch 4.9e14–7.8e15; Φ at −8 9.0e5–3.6e6,
# torch 5.2e29–2.1e30; erfc at 9.1, 20.5, 26 and Φ at −20 7e11–6.4e16, the float64 value past _tw_erf's series; Φ at −37
# 2.3e7, torch 1.2e24); erfc from x = 2.5 is now a continued fraction in triple words (_tw_erfc_fraction): all ≤ 0.5
@pytest.mark.parametrize("name, xs", [("erfc", [x for x in ERFC_XS if x > 3.3]), ("ndtr", [x for x in NDTR_XS if x < -3])])
def test_float64_function_minus_its_rounding_far_out(torch, minus_kernels, name, xs):
    errors = _minus_errors(torch, minus_kernels[name], name, *_at_rounded(name, xs))
    assert all(e <= 4 for _, _, e, _ in errors), errors


def test_float64_gelu_minus_its_rounding(torch):
    """gelu(x) − y = x·Φ(x) − y at y = fl(gelu x) and its neighbours: its third tier takes Φ by _tw_ndtr_series too.
    Measured before at 8 such x (−7.5 … 2.5): up to 1.26e16 ULP (x = −3), worse than torch at x = 2.5 (9.73e15, torch
    8.29e15); after ≤ 0.50 from −5 to 2.5, 2.0e6 at −7.5 (torch 5.4e28). Here 40 x in [−5, 3], 120 points: within 4 ULP."""
    import mpmath
    import numpy as np

    from conftest import ulps

    k = symnet.compile(symnet.derive("gelu(x) - y"), backend="triton", progress=False)
    xs, ys = [], []
    with mpmath.workdps(50):
        for x in np.random.default_rng(3603).uniform(-5.0, 3.0, 40):
            y = float(mpmath.mpf(float(x)) * mpmath.ncdf(mpmath.mpf(float(x))))
            for v in (y, float(np.nextafter(y, -1.0)), float(np.nextafter(y, 1.0))):
                xs.append(float(x))
                ys.append(v)
    f = k(torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64))[0].numpy()
    with mpmath.workdps(60):
        errors = [(x, y, ulps(f[i], mpmath.mpf(x) * mpmath.ncdf(mpmath.mpf(x)) - mpmath.mpf(y), np.float64))
                  for i, (x, y) in enumerate(zip(xs, ys))]
    assert all(e <= 4 for _, _, e in errors), [r for r in errors if r[2] > 4][:5]
