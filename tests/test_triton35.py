"""Session 35 (h-triton35): the Triton printer's strict xfails of issue 16, fixed where NumPy's printer had a fallback
Triton's lacked. Under TRITON_INTERPRET=1 where there is no GPU (kept small: each formula compiled once).

- the product by exponents taken again (``_taken_far``, NumPy's ``_taken_again(…, underflowed=True)``): ∂x of
  0.001/(x·y), −1/(1000·x²·y), in float32 at (−3e38, −1.4e−45) was 0 for 7.93e−36 (x² = inf; torch 1.57 ULP).
- a function of a double word that is not finite takes f of the float64 argument (NumPy's ``_dw_of_nonfinite``): ∂t of
  (w₂·tanh(w₁·x + b₁) + b₂ − t)² in float64 at w₁ = −1.6e308 was 0 for −1.11e−16 (torch exact).
- both printers: a product taken again also where a product it holds in a temporary is not normal: x·y/(z·w) at
  (9.08e245, 3.68e207, −1.39e−260, 1.07e−193) was 93,630 ULP off (torch 1).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest


# (the neighbourhood of the quotient's fix: test_search34's test_quotient_by_exponents_where_the_product_underflowed,
# its triton rows)

def test_triton_prints_the_quotient_taken_again_by_exponents():
    """The printed ∂x: the quotient as before, taken again by exponents in the helper where it came out 0 or not finite
    or its x² is not normal (a block with such an element only); the launcher halves the block for it."""
    from test_hyp32 import _kernel

    source = _kernel("0.001/((x) * (y))", "triton").source
    # (session 38, h-brk38: the quotient as printed is computed in float64 in a float32 kernel, _float32_in_float64)
    assert "_taken_far(_float32_in_float64(-(1.0/((x * x)*y))/1000.0, " in source
    assert ("_not_normal((x * x)), True, tl.full([], -0.001, tl.float64), 0, x, "
            "-2, y, -1, 1.0, 0, 1.0, 0, x.dtype, True)") in source
    assert "block = BLOCK // 4 if f64 else BLOCK // 2" in source


# ------------------------------------------------------------------ a function of a double word that overflowed

def test_triton_two_layer_tanh_net_where_its_hidden_product_overflows():
    # before: ∂t 0 for −1.11e−16 at session 33's point (test_worse34), the double word of w₁·x + b₁ past the range (its
    # lo NaN) and the float64 fallback cancelling; now tanh of the float64 argument there, lo 0: float64, 301 points
    # (test_worse34's), ∂b₂, ∂t and ∂w₂ exact, every output within 1 ULP or torch's figure at each point
    from conftest import torch_autograd_values, triton_torch, ulps
    from test_hyp32 import _kernel
    from test_worse34 import TWO_LAYER, _two_layer_points, _two_layer_truths

    torch = triton_torch()
    k = _kernel(TWO_LAYER, "triton")
    p = _two_layer_points()
    names = ("b1", "b2", "t", "w1", "w2", "x")
    got = dict(zip(k.outputs, (o.numpy() for o in k(*[torch.tensor(p[n], dtype=torch.float64) for n in names]))))
    theirs = torch_autograd_values(lambda torch, b1, b2, t, w1, w2, x: (w2 * torch.tanh(w1 * x + b1) + b2 - t) ** 2,
                                   names, [p[n] for n in names], np.float64)
    worst = {}
    for i in range(len(p["x"])):
        for name, true in _two_layer_truths(p, i).items():
            ours = ulps(got[name][i], true, np.float64)
            assert ours <= max(1.0, ulps(theirs[name][i], true, np.float64)), (name, i, got[name][i], float(true))
            worst[name] = max(worst.get(name, 0.0), ours)
    assert worst["df_dt"] == 0.0 and worst["df_db2"] == 0.0 and worst["df_dw2"] == 0.0, worst


def test_triton_quotient_of_seven_powers_taken_again_by_exponents():
    # ∂x of 0.001/(x³·y³), −0.003/(x⁴·y³): seven powers, past _taken_far's plain float64 (NARROW) in float32 too, by
    # _constant_far; x⁴ overflows float32 (before: NaN for −0.3 at x = 1e10, −inf for −107.98 at x = −3e9). Against
    # mpmath: ≤ 0.5 ULP (float32),
    # ≤ 1 (float64) at these points
    import mpmath

    from conftest import triton_torch, ulps
    from test_hyp32 import _kernel

    torch = triton_torch()
    k = _kernel("0.001/((x)**3 * (y)**3)", "triton")
    for dtype, bound in ((torch.float32, 0.5), (torch.float64, 1.0)):
        x = torch.tensor([1e10, -3e9, 2.0], dtype=dtype)
        y = torch.tensor([1e-14, 7e-15, 0.5], dtype=dtype)
        got = k(x, y)[1]
        with mpmath.workdps(50):
            for i in range(3):
                true = -3 * mpmath.mpf("0.001") / (mpmath.mpf(float(x[i])) ** 4 * mpmath.mpf(float(y[i])) ** 3)
                u = ulps(float(got[i]), true, np.float32 if dtype == torch.float32 else np.float64)
                assert u <= bound, (dtype, i, float(got[i]), float(true))


# ------------------------------------------------------------------ a held product gone subnormal

def _wide_points(dtype, n, seed):
    """(w, x, y, z): magnitudes from the smallest normal to the largest finite of ``dtype``, both signs."""
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    exponents = rng.uniform(np.log10(info.tiny), np.log10(info.max), (4, n))
    return [(rng.choice([-1, 1], n) * 10 ** e).astype(dtype) for e in exponents]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_quotient_taken_again_where_its_held_product_went_subnormal(dtype, backend):
    # before: f = x·y/(z·w), printed x·p with p = y/(w·z) a temporary, was −5.298868248454452e−106 at (w, x, y, z) =
    # (9.08e245, 3.68e207, −1.39e−260, 1.07e−193) for −5.2988682485451e−106 (93,630 ULP; torch 1): p subnormal.
    # Over 150 points across the range, worst 93,630 ULP float64 and 102,618 float32 (NumPy; Triton inf: no taking
    # again). Now the product is taken again by exponents where a product it holds is not normal (held): worst 1.73
    # (NumPy) and 2.04 (Triton) float64 over those and 100 points around the failing one, 2.11 float32 (torch: inf,
    # its partial products overflow)
    from conftest import triton_torch, ulps
    from test_hyp32 import _kernel

    k = _kernel("x*y/(z*w)", backend)
    cols = _wide_points(dtype, 150, 351)
    if dtype is np.float64:  # the point of the before and 100 around it (each coordinate times 10^±3)
        point = (9.081368083324804e+245, 3.6824635644170584e+207, -1.3931524823311497e-260, 1.0661117049564126e-193)
        rng = np.random.default_rng(352)
        cols = [np.concatenate([c, [v], v * 10 ** rng.uniform(-3, 3, 100)]) for c, v in zip(cols, point)]
    if backend == "triton":
        torch = triton_torch()
        out = [o.double().numpy() for o in k(*[torch.tensor(c) for c in cols])]
    else:
        with np.errstate(all="ignore"):
            out = [np.asarray(o, np.float64) for o in k(*cols)]
    info, worst = np.finfo(dtype), 0.0
    with mpmath.workdps(50):
        for i in range(len(cols[0])):
            w, x, y, z = (mpmath.mpf(float(c[i])) for c in cols)  # (the kernel's inputs in order: w, x, y, z)
            f = x * y / (z * w)
            for got, true in zip(out, (f, -f / w, f / x, f / y, -f / z)):
                if info.tiny <= abs(true) <= info.max:
                    worst = max(worst, ulps(got[i], true, dtype))
    assert worst <= 2.2, worst
