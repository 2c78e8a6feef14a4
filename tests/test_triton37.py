"""h-triton37 (issue 16, "on both backends"): two Triton gaps where NumPy was already right, each brought to the Triton
printer as generated code. Truths: mpmath (60–80 digits); torch autograd in float64 beside; under TRITON_INTERPRET=1
where there is no GPU.

- ∂x of gelu(x/y)⁻², y·F/x² + y²·G/x³, at (1e−310, −3) and (1e−310, −1e200): NaN (inf − inf) for −inf (torch −inf;
  NumPy −inf since h-gelu36). Its terms leave the range with opposite signs; NumPy's ``_dominant_infinity`` takes the
  infinity of a term past the others by its size by exponents (ConditionalPrinting._sized_terms). Now Triton's
  ``_dominant_infinity`` too (TritonPrinter._print_Add: ``_term_size`` by ``_far_power``, on every lane, float64).
- The Gamma deviance 2·(log(μ/y) + y/μ − 1) at μ ≈ y ≈ 4.13e−300: 4.7e10 ULP (torch's forward −2.22e−16). Its widened
  sum is in triple words (``_tw_quotient`` scales a tiny dividend), but Triton's repair kernel replaced them by the
  scaled double words, 2⁻¹⁰⁶ of terms that cancel 2⁹⁰ deep, wherever a leaf was below 2⁻⁹⁶⁸. Now a body in triple words
  keeps them there (doubleword.widened_function), as NumPy's triple words replace its scaled tier.
- x − y − y (SymPy's x − 2y) at x = y = −1.8e308: inf for 1.8e308 in both dtypes (torch's (x − y) − y exact; NumPy
  exact since h-search32, its quartered sum 4·(Σ tᵢ/4) where the sum is not finite). Now Triton's too
  (ConditionalPrinting._quartered_sum, TritonPrinter._print_Add: on every lane).
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

import test_gelu36 as gelu36
from conftest import compiled, triton_torch, ulps
from test_cancel36 import GAMMA_FORMS, _gamma_points
from test_search32 import _collected_points
from test_xfailb33 import _sympy_truths

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64, F32 = np.float64, np.float32


def _triton_outputs(formula, dtype, *columns):
    """The Triton kernel's outputs at the points (one array an input, in the kernel's order of inputs), as float64."""
    torch = triton_torch()
    k = compiled(formula, "triton")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        outs = k(**{n: torch.tensor(np.asarray(c, dtype)) for n, c in zip(k.inputs, columns)})
    return [o.double().numpy() for o in outs]


# ---------------------------------------------------------------- gelu(x/y)⁻²: a sum whose terms leave the range

@pytest.fixture
def on_triton(monkeypatch):
    """test_gelu36's _faults (mpmath's class and value, torch autograd's beside) over the Triton kernel."""
    monkeypatch.setattr(gelu36, "_run", lambda g, k, dtype, xs, ys: _triton_outputs(gelu36._formula(g, k), dtype, xs, ys))
    return gelu36._faults


def test_triton_gelu_reciprocal_square_dx_where_its_terms_overflow():
    """The former strict xfail of tests/test_tritonpar36.py, exactly: −inf at both points (NumPy −inf, torch −inf)."""
    got = _triton_outputs("gelu(x/y)**-2", F64, [1e-310, 1e-310], [-3.0, -1e200])
    assert (got[1] == -np.inf).all(), got[1]


# Before (Triton, float64): ∂x NaN for ±inf at 146 of these 300 points (test_gelu36's neighbourhood, seeds of its own; as
# NumPy's before h-gelu36); after: 0 faults, every output of mpmath's class and within 4 ULP where normal, torch or not.
# float32: 0 faults before and after (Triton's float32 kernel sizes no sum: _dominant_infinity is float64's alone)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_tiny_x_terms_past_the_range(dtype, on_triton):
    xs, ys = gelu36._tiny_x_points(dtype, 3703 if dtype is F64 else 3704)
    assert on_triton("gelu", 2, dtype, xs, ys, against_torch=False) == []


# gelu(x/y)⁻³'s ∂x (three terms' worth of forms): NaN for ±inf at all four points before (torch ±inf), now ±inf
def test_triton_gelu_cubed_dx_where_its_terms_overflow(on_triton):
    xs, ys = [1e-310, 1e-310, -3.0, 2.5], [-3.0, -1e200, 1.7e308, -1e200]
    assert on_triton("gelu", 3, F64, xs, ys, against_torch=False, outputs=("f", "df_dx")) == []


def test_triton_prints_the_sized_sum_with_its_terms_sizes():
    """The Triton kernel wraps the sized sum as NumPy's does, each term's size from its forms (golden: the calls).
    Since h-gelu37 ∂x of gelu(x/y)⁻² is the long-product rule's −(y/x³)·widen(…), taken as the sum of its products where
    that is not finite: that sum is the sized one, inside ∂x's line (h-mend37)."""
    triton_torch()
    source = compiled("gelu(x/y)**-2", "triton").source
    lines = [s for s in source.splitlines() if s.strip().startswith("df_dx = ")]
    assert any("_dominant_infinity(" in s and "_first_sized(_term_size(" in s for s in lines)
    assert "@triton.jit\ndef _term_size(" in source and "@triton.jit\ndef _dominant_infinity(" in source
    # (a sum of terms with no negative power of an input is no sized sum: printed as before)
    assert "_dominant_infinity" not in compiled("x*y + sin(x)", "triton").source


# ---------------------------------------------------------------- the Gamma deviance at tiny μ ≈ y (triple words)

def test_triton_gamma_deviance_where_both_inputs_are_tiny():
    """The former strict xfail of tests/test_cancel36.py (its tensors were float32 there, 0 for 4e−300): was
    8.368046231402257e−28 for 8.3681309109271105e−28 (4.7e10 ULP), now within 0.5 ULP."""
    mu, y = 4.126224107271759e-300, 4.12622410727164e-300
    got = _triton_outputs(GAMMA_FORMS[0], F64, [mu], [y])[0][0]
    with mpmath.workdps(80):
        M, Y = mpmath.mpf(mu), mpmath.mpf(y)
        assert ulps(got, 2 * (mpmath.log(M / Y) + Y / M - 1), F64) <= 0.5, got


# Before (Triton, float64): f past 4 ULP at 123, 6 and 11 of these 231 points (test_cancel36's: μ ≈ y within 10^(−15…−5)
# of each other, y in 10^(−308…−270) for 150, 10^(−323…−308) for 40, 10^(−5…5) for 40), worst 9.5e13 ULP at
# (1.2552601161996268e−272, 1.2552601161996255e−272); ∂μ, ∂y ≤ 1.21 before and after. After: f ≤ 0.5, all ≤ 1.21.
# float32 (its 191 points): ≤ 0.5 before and after
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("formula", GAMMA_FORMS)
def test_triton_gamma_deviance_neighbourhood(formula, dtype):
    points = _gamma_points(dtype, 3600 + len(formula))
    got = _triton_outputs(formula, dtype, points[:, 0], points[:, 1])
    truths = _sympy_truths(formula, ["mu", "y"], 80)
    info = np.finfo(dtype)
    worst = (0.0, None)
    for i, point in enumerate(points):
        for j, want in enumerate(truths(*(mpmath.mpf(float(p)) for p in point))):
            if float(info.tiny) <= abs(want) <= float(info.max):
                worst = max(worst, (ulps(got[j][i], want, dtype), (j, tuple(point))), key=lambda r: r[0])
    assert worst[0] <= (1.5 if dtype is F64 else 1.0), worst


# ---------------------------------------------------------------- a collected sum past the range: quartered

# Before (Triton): x − y − y inf at all 121 points (the point (−max, −max) and test_search32's 120 with −x + 2y in the
# range), both dtypes; ∂x of e^((x − y)·x), (2x − y)·e^…, −inf for −1.8e308 at the point in float64 (float32: exact, its
# sum in float64). After: f ≤ 0.5 ULP at all of them, ∂x and ∂y exact at the point (torch: exact)
@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_triton_collected_sum_past_the_range(dtype):
    big = float(np.finfo(dtype).max)
    xs, ys = _collected_points(dtype)
    xs, ys = np.r_[-big, xs].astype(dtype), np.r_[-big, ys].astype(dtype)
    f = _triton_outputs("((x) - (y)) - (y)", dtype, xs, ys)[0]
    worst = (0.0, None)
    for i in range(len(xs)):
        true = mpmath.mpf(float(xs[i])) - 2 * mpmath.mpf(float(ys[i]))
        if float(np.finfo(dtype).tiny) <= abs(true) <= big:
            worst = max(worst, (ulps(f[i], true, dtype), i), key=lambda r: r[0])
    assert worst[0] <= 0.5, (worst, xs[worst[1]], ys[worst[1]])
    g = _triton_outputs("exp(((x) - (y)) * (x))", dtype, xs[:1], ys[:1])
    assert (g[0][0], g[1][0], g[2][0]) == (1.0, -big, big)


def test_triton_prints_the_quartered_sum():
    """Golden: the sum as before, then 4·(Σ tᵢ/4) where it is not finite (NaN beside ±inf too), as NumPy's."""
    triton_torch()
    assert "f = _taken_again(x - y * 2.0, 4.0 * (x/4.0 - y/2.0), True)" in compiled("((x) - (y)) - (y)", "triton").source
