"""mend39: break39's first fault, a regression of session 39, fixed and measured. Truths mpmath's (60 digits) of the
formula as written; torch autograd (float64) beside.

- w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y) with w₂ large and y subnormal: the product taken by exponents (_constant_far) held its
  factors past the helper's slots as one product, tanh(y)·σ(y), already subnormal or 0 (at (1, 3e38, −745, 1e−30,
  −5e−324) f was 0.0 for 5.52e−283, torch exact; at (3, 1e300, 1, 0.1, −1e−310) 20.6 ULP, torch 0; 294 of 300 points
  past 4 ULP, session 38's base 147). NumPy now passes that rest as two factors, its fraction and its scale
  (_scaled_rest, F·S⁶, each normal): f within 1.8 ULP at all 300, ∂w₁ and ∂w₃ within 2 (base: 150 and 149 past 4;
  torch 296 and 292). Triton's _taken_far likewise (its _scaled_rest, F·S⁴; float32 factors: the product in
  float64, S = 1): under TRITON_INTERPRET=1 float64 f past 4 ULP at 61 of 62 points → 0 (worst 1.68).
- (y^x/log y)^k, printed y^(kx)/log(y)^k, was inf where y^(kx) overflows and the quotient does not (200 of 200 points,
  k = 2, 3, 64; torch finite): the product taken by exponents was handed y^(kx), already inf. Such a power (alone or
  a select's value beside 1) is now handed over as (y^(kx/2))²: over 200 points k = 2 within 4 ULP (worst 2.43, torch
  3.22), k = 3 past 4 at 1 (4.06, torch 2.06 there; torch past 4 at 4; within 2.88 since h-powk41), ∂x within 2.91.
  k = 64 is finite now, but log(y)⁶⁴'s rounding leaves it past 4 ULP at 176 of 200 (worst 54.9; torch 185, worst
  129), worse than torch at 68: strict xfail.
- ∂x, whose plain product tanh(y)·σ(y)·w₁·w₂·w₃·x goes subnormal in its first partial product and is normal when it
  ends: taken again by exponents since h-worseb40 where the temporary prod_2 = tanh_y·where_y_nonneg is not normal.
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

F64 = np.float64
TINY = 2.2250738585072014e-308
NAMES = ("w1", "w2", "w3", "x", "y")
PRODUCT = "w1*w2*w3*exp(-x**2)*sigmoid(y)*tanh(y)"


def _outputs(formula, **columns):
    k = compiled(formula)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = k(**{n: np.asarray(v, F64) for n, v in columns.items()})
    return dict(zip(k.outputs, (np.asarray(v, F64) for v in got)))


def _truths(w1, w2, w3, x, y) -> dict:
    with mpmath.workdps(60):
        w1, w2, w3, x, y = (mpmath.mpf(float(v)) for v in (w1, w2, w3, x, y))
        s, t = 1 / (1 + mpmath.exp(-y)), mpmath.tanh(y)
        p = w1 * w2 * w3 * mpmath.exp(-x * x)
        f = p * s * t
        return dict(f=f, df_dw1=f / w1, df_dw3=f / w3, df_dx=-2 * x * f, df_dy=p * ((1 - t * t) * s + (1 - s) * s * t))


def _torch(cols) -> dict:
    import torch

    t = {n: torch.tensor(np.asarray(cols[n], F64), requires_grad=True) for n in NAMES}
    f = t["w1"] * t["w2"] * t["w3"] * torch.exp(-t["x"] ** 2) * torch.sigmoid(t["y"]) * torch.tanh(t["y"])
    f.sum().backward()
    return dict(f=f.detach().numpy(), **{f"df_d{n}": t[n].grad.numpy() for n in NAMES})


def _neighbourhood(seed, n=300):
    rng = np.random.default_rng(seed)
    return dict(w1=rng.uniform(1, 4, n), w2=10.0 ** rng.uniform(150, 307, n),
                w3=rng.choice([-1, 1], n) * rng.uniform(0.5, 2, n), x=rng.uniform(-1, 1, n),
                y=rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-323, -308, n))


def _errors(cols, outputs):
    """{output: [(symnet's ULPs, torch's ULPs)]} at each point whose truth is a normal number."""
    got, tor = _outputs(PRODUCT, **cols), _torch(cols)
    out = {o: [] for o in outputs}
    for j in range(len(cols["y"])):
        truths = _truths(*(cols[n][j] for n in NAMES))
        for o in outputs:
            if abs(truths[o]) >= TINY:
                out[o].append((ulps(got[o][j], truths[o], F64), ulps(tor[o][j], truths[o], F64)))
    return out


POINTS = dict(w1=[1.0, 3.0], w2=[3e38, 1e300], w3=[-745.0, 1.0], x=[1e-30, 0.1], y=[-5e-324, -1e-310])


@pytest.mark.parametrize("output", ["f", "df_dw1", "df_dw3", "df_dy"])
def test_product_with_a_subnormal_tanh_factor_at_the_failing_points(output):
    got = _outputs(PRODUCT, **POINTS)[output]
    for j in range(2):
        truth = _truths(*(POINTS[n][j] for n in NAMES))[output]
        assert ulps(got[j], truth, F64) <= 4, (output, j, got[j], truth)


def test_product_with_a_subnormal_tanh_factor_value_is_not_zero():
    # at y = −5e−324 tanh(y)·σ(y) is −0 (−2.5e−324 rounds to 0): f was 0.0 for 5.52e−283
    f = _outputs(PRODUCT, **POINTS)["f"][0]
    assert f != 0 and abs(f - 5.52118359227593e-283) <= 4 * 2.0 ** -1001


@pytest.mark.parametrize("seed", [391, 3901])
def test_product_with_a_subnormal_tanh_factor_neighbourhood(seed):
    errors = _errors(_neighbourhood(seed), ("f", "df_dw1", "df_dw3", "df_dy"))
    for o, pairs in errors.items():
        assert len(pairs) >= 250, o
        bad = [(u, t) for u, t in pairs if u > 4 and u > t]
        assert not bad, (o, len(bad), max(bad))


def test_product_with_small_w2_and_subnormal_y_stays_within_4_ulp():
    # the other side of the neighbourhood: w₂ ≤ 1, where the plain product underflows with its truth (not taken again
    # unless it must be)
    rng = np.random.default_rng(39_2)
    n = 200
    cols = dict(w1=rng.uniform(1, 4, n), w2=10.0 ** rng.uniform(-2, 0, n), w3=rng.uniform(0.5, 2, n),
                x=rng.uniform(-1, 1, n), y=rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-307, -200, n))
    errors = _errors(cols, ("f", "df_dw1", "df_dw3"))
    for o, pairs in errors.items():
        assert pairs and max(u for u, _ in pairs) <= 4, o


# (a strict xfail until h-worseb40: past 4 ULP at 293 of these 300 points, worse than torch at 222; the product by
# exponents now also where prod_2 = tanh_y·where_y_nonneg, a product of its factors held before, is not normal:
# ConditionalPrinting._held_subproducts, tests/test_worseb40.py)
def test_product_with_a_subnormal_tanh_factor_dx():
    errors = _errors(_neighbourhood(391), ("df_dx",))["df_dx"]
    assert not [u for u, t in errors if u > 4 and u > t]


def _helper(name):
    from symnet.codegen.backends.numpy.printer import NUMPY_HELPERS

    scope = {"np": np}
    exec(NUMPY_HELPERS[name], scope)  # noqa: S102 - the generator's own helper text
    return scope[name]


def test_scaled_rest_is_the_product_as_two_normal_factors():
    # F·S⁶ against mpmath's product of up to six factors (Σ|p| ≤ 6) anywhere in float64's range, subnormals included:
    # both F and S normal, the product within 6 ULP of F (its fractions' product rounds once a factor)
    scaled = _helper("_scaled_rest")
    rng = np.random.default_rng(3903)
    for _ in range(200):
        count = int(rng.integers(2, 7))
        values = rng.choice([-1, 1], count) * 10.0 ** rng.uniform(-323, 308, count)
        powers = rng.choice([-1, 1], count) * (rng.random(count) < 0.8)  # 1 mostly, −1 (a reciprocal) too
        powers = [int(p) or 1 for p in powers]
        pairs = [v for a, p in zip(values, powers) for v in (a, p)]
        f, s = float(scaled(False, *pairs)), float(scaled(True, *pairs))
        assert TINY <= abs(f) < np.inf and TINY <= s < np.inf, pairs
        with mpmath.workdps(60):
            truth = mpmath.fprod(mpmath.mpf(float(a)) ** p for a, p in zip(values, powers))
            assert abs(mpmath.mpf(f) * mpmath.mpf(s) ** 6 / truth - 1) <= 6 * 2.0 ** -53, pairs


def test_scaled_rest_passes_zero_infinity_and_nan_through_its_fraction():
    scaled = _helper("_scaled_rest")
    assert scaled(False, 0.5, 1, -0.0, 1) == 0 and scaled(True, 0.5, 1, -0.0, 1) == 1
    assert scaled(False, 1e-310, 1, np.inf, 1) == np.inf
    assert np.isnan(scaled(False, 3.0, 1, np.nan, 1))
    assert scaled(False, 2.0, 1, 0.0, -1) == np.inf  # 2/0


def test_triton_float64_product_with_a_subnormal_tanh_factor():
    torch = triton_torch()
    k = compiled(PRODUCT, "triton")
    cols = _neighbourhood(3904, 20)
    cols = {n: np.concatenate([POINTS[n], cols[n]]) for n in NAMES}
    got = dict(zip(k.outputs, (o.double().numpy() for o in
                               k(**{n: torch.tensor(v, dtype=torch.float64) for n, v in cols.items()}))))
    for j in range(len(cols["y"])):
        truths = _truths(*(cols[n][j] for n in NAMES))
        for o in ("f", "df_dw1", "df_dw3"):
            if abs(truths[o]) >= TINY:
                assert ulps(got[o][j], truths[o], F64) <= 4, (o, j, got[o][j], truths[o])


def test_triton_float32_product_with_a_subnormal_tanh_factor():
    # float32 factors: _scaled_rest's F is their product in float64, S = 1 (_taken_far's NARROW as before)
    torch = triton_torch()
    k = compiled(PRODUCT, "triton")
    cols = dict(w1=[2.0, 3.0, 1.0], w2=[1e30, 3e38, 3e38], w3=[-1.5, 1.0, -7.0], x=[0.5, 0.1, 1e-3],
                y=[-1e-40, 1e-45, -1e-44])
    got = k(**{n: torch.tensor(v, dtype=torch.float32) for n, v in cols.items()})[0].double().numpy()
    for j in range(3):
        truth = _truths(*(float(np.float32(cols[n][j])) for n in NAMES))["f"]
        assert ulps(got[j], truth, np.float32) <= 8, (j, got[j], truth)


def _power_quotient_points(k, seed, n=200):
    """y = 10^[2, 8] and x where k·x·log y is past 709.78 (y^(kx) overflows) and (y^x/log y)^k is finite."""
    rng = np.random.default_rng(seed)
    y = 10.0 ** rng.uniform(2, 8, n)
    big = np.log(y)
    return rng.uniform(710, 709 + k * np.log(big), n) / (k * big), y


def _power_quotient_errors(k, x, y):
    """[(symnet's ULPs, torch's ULPs)] for f and ∂x of (y^x/log y)^k at each point whose truth is finite."""
    import torch

    got = _outputs(f"((y)**x/log(y))**{k}", x=x, y=y)
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y))
    ft = (ty ** tx / torch.log(ty)) ** k
    ft.sum().backward()
    tor = dict(f=ft.detach().numpy(), df_dx=tx.grad.numpy())
    out = []
    for j in range(len(x)):
        with mpmath.workdps(60):
            ym = mpmath.mpf(float(y[j]))
            q = ym ** mpmath.mpf(float(x[j])) / mpmath.log(ym)
            truths = dict(f=q ** k, df_dx=k * q ** k * mpmath.log(ym))
        for o, t in truths.items():
            if abs(t) <= 1.7976931348623157e308:
                out.append((o, ulps(got[o][j], t, F64), ulps(tor[o][j], t, F64)))
    return out


def test_power_of_a_quotient_at_breaks_point():
    got = _outputs("((y)**x/log(y))**3", x=[15.220622233532351], y=[5863448.325185393])
    assert np.isfinite(got["f"][0]) and abs(got["f"][0] / 2.9406759248870716e305 - 1) < 1e-15


@pytest.mark.parametrize("k", [2, 3])
def test_power_of_a_quotient_where_the_numerator_power_overflows_neighbourhood(k):
    # within 4.5 ULP: the ≤ 4 standard is missed at one point of k = 3's 200 (strict xfail below)
    errors = _power_quotient_errors(k, *_power_quotient_points(k, 3905 + k))
    assert len(errors) >= 250
    bad = [e for e in errors if e[1] > 4.5 and e[1] > e[2]]
    assert not bad, (len(bad), max(bad, key=lambda e: e[1]))


def test_power_of_a_quotient_k64_is_finite_where_its_truth_is():
    x, y = _power_quotient_points(64, 3964, 100)
    errors = _power_quotient_errors(64, x, y)
    assert errors and max(u for _, u, _ in errors) < 100


# k = 3, fixed by h-powk41 (_restored_log_pair: log(y)³ in _constant_far's pairs raised with log's rounding restored,
# _rounded_log_power(log_y, 3, y) with power −1, where (log_y, −3) took its fraction three times): it was a strict xfail,
# "(y^x/log y)³ over 200 points y = 10^[2, 8], 3·x·log y past 709.78 (seed 3908): f past 4 ULP at 1 (4.06; torch 2.06
# there; torch past 4 at 4, worst 4.63), ∂x at 0 (worst 2.91): (y^(3x/2))² doubles the root's rounding and log(y)³
# triples log's"; now f within 2.88 (2.06 at that point), ∂x as before.
# k = 64, fixed by h-powk40 (_rounded_log_power: log(y)⁶⁴ raised with log's rounding restored, P·(1 + 64·δ), δ from the
# double-word log); it was, over 200 points y = 10^[2, 8], 64·x·log y past 709.78 (seed 3969): f past 4 ULP at 176
# (worst 54.9; torch 185, worst 129), worse than torch at 68; ∂x (194 finite truths) past 4 at 171 (worst 56.2; torch
# 181, worst 133), worse than torch at 63: log(y)⁶⁴ carried log y's rounding 64 times (before h-mend39: inf at 200)


@pytest.mark.parametrize("k, seed", [(3, 3908), (64, 3969)])
def test_power_of_a_quotient_within_4_ulp_or_torch(k, seed):
    errors = _power_quotient_errors(k, *_power_quotient_points(k, seed))
    assert not [e for e in errors if e[1] > 4 and e[1] > e[2]]
