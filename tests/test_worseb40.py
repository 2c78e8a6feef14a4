"""h-worseb40 (issue 16, set B): sums and products where symnet was worse than torch, each at the point that failed
and over its neighbourhood (a few hundred points, both dtypes, other forms of the same formula), against mpmath at 60
digits, with torch autograd (float64) of the formula as written beside it:

- the third tier's rounded sum of three or more triple-word terms sums their words in three-fold precision
  (doubleword._tw_sum_step, the his first), where _tw_add's left-to-right sum lost a small term beside two that cancel
  exactly: e^x − e^y + x·y at x = y = 200 was 0.0 for 40000 in float64 (torch exact), every x = y past about 92 (273
  of 300 points in [20, 709] worse than torch; now 0, ≤ 0.5 ULP). Triton's float64 third tier is the same code.
- NumPy's product by exponents is taken again also where a temporary printed before, a product of two or more of its
  factors, is not a normal number (ConditionalPrinting._held_subproducts): ∂x of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y),
  tanh_y·where_y_nonneg·w₁·w₂·w₃·x beside prod_2 = tanh_y·where_y_nonneg, at a subnormal y and w₂ in 10^[150, 307]
  went subnormal in its first partial product and ended normal: past 4 ULP at 293 of 300 points, worse than torch at
  222 (worst 1.4e15 ULP) → 0 (worst 2.93); w₁·w₂·e^(−x²)·σ(y)·tanh(y)'s ∂x 193 → 0 of 200.
Found and not fixed (strict xfails, with their numbers): the Gumbel NLL's ∂b near its root over 200 points (worse than
torch at 105; the form with 1/b factored out by hand is within 0.49 ULP). Found here and fixed by h-worsec40: that
form's ∂w₁ (a plain product of a subnormal temporary) and Triton's float64 ∂x of the product.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps
from test_hyp32 import BOUND as LIMIT, F32, F64  # {F64: 4, F32: 8}
from test_worseb39 import _outputs  # (formula, dtype, **columns) → {output: float64 array}

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def _torch_outputs(fn, dtype, **columns):
    torch = pytest.importorskip("torch")
    tdtype = torch.float64 if dtype is F64 else torch.float32
    tensors = {n: torch.tensor(np.asarray(v, dtype), dtype=tdtype, requires_grad=True) for n, v in columns.items()}
    f = fn(torch, **tensors)
    f.sum().backward()
    out = {"f": f.detach().double().numpy()}
    out.update({f"df_d{n}": t.grad.double().numpy() for n, t in tensors.items()})
    return out


# ------------------------------------------------------------------ 1. a small term beside two that cancel exactly

_EXPONENTIALS = {  # formula → its mpmath (or torch) form and its gradient
    "exp(x) - exp(y) + x*y": (lambda m, x, y: m.exp(x) - m.exp(y) + x * y, lambda m, x, y: (m.exp(x) + y, x - m.exp(y))),
    "exp(x) - exp(y) - x*y": (lambda m, x, y: m.exp(x) - m.exp(y) - x * y, lambda m, x, y: (m.exp(x) - y, -x - m.exp(y))),
    "exp(x) - exp(y) + x": (lambda m, x, y: m.exp(x) - m.exp(y) + x, lambda m, x, y: (m.exp(x) + 1, -m.exp(y))),
}


def _exponential_points(dtype, n, seed):
    """x = y (half of them) and x a few ULPs from y, y uniform up to where e^y nearly overflows."""
    rng = np.random.default_rng(seed)
    top = 709.0 if dtype is F64 else 88.0
    y = rng.uniform(20.0 if dtype is F64 else 5.0, top, n).astype(dtype)
    steps = np.where(np.arange(n) % 2 == 0, 0, rng.integers(-3, 4, n))
    x = (y * (1 + steps * np.finfo(dtype).eps)).astype(dtype)
    x = np.minimum(x, dtype(top))
    return x, y


def test_equal_exponentials_keep_the_small_term_at_the_failing_points():
    x = np.array([200.0, 700.0, 100.0, 92.5, 709.7])
    for formula, sign in (("exp(x) - exp(y) + x*y", 1), ("exp(x) - exp(y) - x*y", -1)):
        got = _outputs(formula, F64, x=x, y=x)["f"]
        assert list(got) == list(sign * x * x), (formula, got)  # e^x − e^y is 0: the rounded ±x·y
    assert list(_outputs("exp(x) - exp(y) + x", F64, x=x, y=x)["f"]) == list(x)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("formula", list(_EXPONENTIALS))
def test_equal_exponentials_neighbourhood(formula, dtype):
    # before (float64, 300 points like these): f past 4 ULP and worse than torch at 273 (x = y) and 36 (x a few ULPs
    # off: those with x = y), worst 8.9e15; now ≤ 0.5. Float32 (computed in float64) ≤ 0.5 before and after
    value, gradient = _EXPONENTIALS[formula]
    x, y = _exponential_points(dtype, 120, 4001)
    got = _outputs(formula, dtype, x=x, y=y)
    theirs = _torch_outputs(lambda torch, x, y: value(torch, x, y), dtype, x=x, y=y)
    bad = []
    with mpmath.workdps(60):
        for j in range(len(x)):
            X, Y = mpmath.mpf(float(x[j])), mpmath.mpf(float(y[j]))
            truths = dict(zip(("f", "df_dx", "df_dy"), (value(mpmath, X, Y),) + gradient(mpmath, X, Y)))
            for o, t in truths.items():
                u, ut = ulps(got[o][j], t, dtype), ulps(theirs[o][j], t, dtype)
                if u > LIMIT[dtype] or u > max(ut, 1.0):  # (both within 1 ULP: a float rounded either way)
                    bad.append((o, float(x[j]), float(y[j]), u, ut))
    assert not bad, (len(bad), bad[:3])


def test_sum_step_cancels_equal_words_before_the_small_one():
    # _tw_sum_step/_tw_sum_round on the words of (a, −a, s) in every order the printer can give (his, los, tails):
    # exactly s, where _tw_add's (s + a) − a leaves s's bits below a's 150
    from symnet.codegen.doubleword import primitive_text

    scope = {"np": np}
    for name in ("_dw_two_sum", "_tw_sum_step", "_tw_sum_round"):
        exec(primitive_text(name, "numpy"), scope)  # noqa: S102 - the generator's own helper text
    step, rounded = scope["_tw_sum_step"], scope["_tw_sum_round"]
    rng = np.random.default_rng(4002)
    for _ in range(200):
        a = [float(v) for v in rng.uniform(1, 2, 3) * 2.0 ** np.array([300, 247, 194])]  # a triple word of e^x
        small = [float(rng.uniform(-1, 1) * 2.0 ** rng.integers(-40, 40)), 0.0, 0.0]
        terms = [small, a, [-w for w in a]]
        rng.shuffle(terms)
        words = [t[level] for level in range(3) for t in terms]
        s, t, r = words[0], 0.0, 0.0
        for w in words[1:]:
            s, t, r = step(s, t, r, w)
        assert rounded(s, t, r) == small[0]
    # and a sum without exact cancellation: within 2⁻¹⁵⁰ or so of its words, rounded once (0.5 ULP here)
    for _ in range(200):
        words = [float(v) for v in rng.standard_normal(9) * 2.0 ** rng.integers(-60, 60, 9)]
        s, t, r = words[0], 0.0, 0.0
        for w in words[1:]:
            s, t, r = step(s, t, r, w)
        with mpmath.workdps(400):
            truth = mpmath.fsum(mpmath.mpf(w) for w in words)
        assert ulps(rounded(s, t, r), truth, F64) <= 0.5


def test_triton_float64_equal_exponentials_keep_the_small_term():
    torch = triton_torch()
    k = compiled("exp(x) - exp(y) + x*y", "triton")
    x = torch.tensor([200.0, 700.0, 100.0, 92.5], dtype=torch.float64)
    got = k(x=x, y=x)[0].numpy()
    assert list(got) == list(x.numpy() * x.numpy())


# ------------------------------------------------------------------ 2. a product whose partial product went subnormal

_NAMES = ("w1", "w2", "w3", "x", "y")
_SUBNORMAL_PRODUCTS = {  # formula → its value in mpmath (its ∂x is −2x times it)
    "w1*w2*w3*exp(-x**2)*sigmoid(y)*tanh(y)": lambda m, w1, w2, w3, x, y: w1 * w2 * w3 * m.exp(-x * x) * m.tanh(y) / (1 + m.exp(-y)),
    "w1*w2*w3*exp(-x**2)*sigmoid(y)*sinh(y)": lambda m, w1, w2, w3, x, y: w1 * w2 * w3 * m.exp(-x * x) * m.sinh(y) / (1 + m.exp(-y)),
    "w1*w2*exp(-x**2)*sigmoid(y)*tanh(y)": lambda m, w1, w2, w3, x, y: w1 * w2 * m.exp(-x * x) * m.tanh(y) / (1 + m.exp(-y)),
}


def _torch_product(formula):
    def value(torch, w1, w2, w3, x, y):
        g = torch.sinh(y) if "sinh" in formula else torch.tanh(y)
        return w1 * w2 * (w3 if "w3" in formula else 1.0) * torch.exp(-x ** 2) * torch.sigmoid(y) * g
    return value


def _subnormal_points(seed, n):
    rng = np.random.default_rng(seed)
    return dict(w1=rng.uniform(1, 4, n), w2=10.0 ** rng.uniform(150, 307, n),
                w3=rng.choice([-1, 1], n) * rng.uniform(0.5, 2, n), x=rng.uniform(-1, 1, n),
                y=rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-323, -308, n))


def test_product_dx_at_the_failing_point():
    # (3, 1e300, 1, 0.1, −1e−310): 227 ULP before (torch 227)
    point = dict(w1=[3.0], w2=[1e300], w3=[1.0], x=[0.1], y=[-1e-310])
    formula = "w1*w2*w3*exp(-x**2)*sigmoid(y)*tanh(y)"
    got = _outputs(formula, F64, **point)["df_dx"][0]
    with mpmath.workdps(60):
        args = [mpmath.mpf(point[n][0]) for n in _NAMES]
        truth = -2 * args[3] * _SUBNORMAL_PRODUCTS[formula](mpmath, *args)
    assert ulps(got, truth, F64) <= 4, got


@pytest.mark.parametrize("formula", list(_SUBNORMAL_PRODUCTS))
def test_product_with_a_subnormal_factor_neighbourhood(formula):
    # before: ∂x past 4 ULP at 289–293 of 300 (three seeds), worse than torch at 221–231; the w₁·w₂ form 193 of 200
    # (worse than torch at 129); now ≤ 2.93 (torch past 4 at about half). f within 2.7 before and after
    cols = _subnormal_points(4005, 200)
    names = [n for n in _NAMES if n in formula]
    got = _outputs(formula, F64, **{n: cols[n] for n in names})
    theirs = _torch_outputs(lambda torch, **t: _torch_product(formula)(torch, *(t.get(n, 1.0) for n in _NAMES)), F64,
                            **{n: cols[n] for n in names})
    bad, counted = [], 0
    with mpmath.workdps(60):
        for j in range(200):
            args = [mpmath.mpf(float(cols[n][j])) for n in _NAMES]
            f = _SUBNORMAL_PRODUCTS[formula](mpmath, *args)
            for o, t in (("f", f), ("df_dx", -2 * args[3] * f)):
                if abs(t) < 2.2250738585072014e-308:
                    continue
                counted += 1
                u, ut = ulps(got[o][j], t, F64), ulps(theirs[o][j], t, F64)
                if u > 4:
                    bad.append((o, j, u, ut))
    assert counted >= 300 and not bad, (len(bad), bad[:3])


def _dw1_errors(cols):
    formula = "w1*w2*exp(-x**2)*sigmoid(y)*tanh(y)"
    names = ("w1", "w2", "x", "y")
    got = _outputs(formula, F64, **{n: cols[n] for n in names})["df_dw1"]
    theirs = _torch_outputs(lambda torch, **t: _torch_product(formula)(torch, *(t.get(n, 1.0) for n in _NAMES)), F64,
                            **{n: cols[n] for n in names})["df_dw1"]
    rows = []
    with mpmath.workdps(60):
        for j in range(len(got)):
            args = [mpmath.mpf(float(cols[n][j])) for n in _NAMES]
            t = _SUBNORMAL_PRODUCTS[formula](mpmath, *args) / args[0]
            if abs(t) >= 2.2250738585072014e-308:
                rows.append((ulps(got[j], t, F64), ulps(theirs[j], t, F64), j))
    return rows


# fixed by h-worsec40 (a plain product of one factor that may pass 1 and a held product, taken by exponents): ∂w₁ of
# w₁·w₂·e^(−x²)·σ(y)·tanh(y), printed prod_2 = nexpsq_x_times_w2·prod_1 with prod_1 = tanh_y·where_y_nonneg
# subnormal at a subnormal y: over 200 points (seed 4005) past 4 ULP at 96, worse than torch at 47 (worst 2.7e15 ULP
# at (1.8128, 3.2179e230, x = −0.5658, y = 1.5e−323), torch 6.7e14)
def test_two_weight_product_dw1_with_a_subnormal_factor():
    rows = _dw1_errors(_subnormal_points(4005, 200))
    assert not [r for r in rows if r[0] > 4 and r[0] > r[1]], len(rows)


# fixed by h-worsec40 (Triton's held subproducts from the temporaries printed so far, its _scaled_rest of six
# factors): Triton float64 ∂x of w₁·w₂·w₃·e^(−x²)·σ(y)·tanh(y) over 40 points of test_mend39's neighbourhood (seed 391)
# was past 4 ULP at 39, worse than torch at 28 (worst 1.8e15 ULP)
def test_triton_float64_product_dx_with_a_subnormal_factor():
    import test_mend39 as m

    torch = triton_torch()
    k = compiled(m.PRODUCT, "triton")
    cols = m._neighbourhood(391, 40)
    got = k(**{n: torch.tensor(v, dtype=torch.float64) for n, v in cols.items()})
    got = dict(zip(k.outputs, (o.double().numpy() for o in got)))["df_dx"]
    theirs = m._torch(cols)["df_dx"]
    rows = [(ulps(got[j], t, F64), ulps(theirs[j], t, F64)) for j in range(40)
            for t in [m._truths(*(cols[n][j] for n in m.NAMES))["df_dx"]] if abs(t) >= m.TINY]
    assert not [r for r in rows if r[0] > 4 and r[0] > r[1]]


# ------------------------------------------------------------------ 3. the Gumbel NLL's ∂b near its root (open)

def _gumbel_root_points(n=200):
    """n points with v = (μ − x)/b within 10⁻³ (relative) of the root of 1 − v·expm1(v) (v ≈ −1.3546), b in 10^[−2, 2]."""
    rng = np.random.default_rng(4006)
    b, mu = 10 ** rng.uniform(-2, 2, n), rng.normal(0, 3, n)
    x = mu + 1.3546 * (1 + 1e-3 * rng.uniform(-1, 1, n)) * b
    return x, mu, b


def _gumbel_db_errors(got, x, mu, b):
    out = []
    with mpmath.workdps(60):
        for j in range(len(x)):
            X, M, B = (mpmath.mpf(float(c[j])) for c in (x, mu, b))
            v = (M - X) / B
            out.append(ulps(got[j], (1 - v * mpmath.expm1(v)) / B, F64))
    return out


def test_gumbel_db_factored_by_hand_is_within_an_ulp_near_its_root():
    # the route for the strict xfail below: (1 − (x − μ)(1 − e^v)/b)/b, 1/b factored out, is 0.26 ULP at
    # test_worseb39's point and ≤ 0.49 over these 200 (its 1 − … widened), where the derived 1/b − N/b² is not
    x, mu, b = _gumbel_root_points()
    got = _outputs("(1 - (x - mu)*(1 - exp((mu - x)/b))/b)/b", F64, x=x, mu=mu, b=b)["f"]
    assert max(_gumbel_db_errors(got, x, mu, b)) <= 1


@pytest.mark.xfail(strict=True, reason="measured: ∂b of (x − μ)/b + e^(−(x − μ)/b) + log b, derived 1/b − N/b² with N = "
                   "x − μ + (μ − x)·e^v, over 200 points with v within 10⁻³ of the root of 1 − v·expm1(v) (seed 4006): "
                   "past 4 ULP at 199 (median 202, worst 3.25e4), worse than torch at 105 (torch past 4 at 197, median "
                   "123, worst 720); the same form factored by hand, (1 − (x − μ)(1 − e^v)/b)/b, ≤ 0.49 ULP (test "
                   "above): no rule takes 1/b out of 1/b − N/b² so that the widen rule gets 1 − N/b")
def test_gumbel_db_near_its_root_is_never_worse_than_torch():
    from test_worseb39 import _GUMBEL

    x, mu, b = _gumbel_root_points()
    got = _outputs(_GUMBEL, F64, x=x, mu=mu, b=b)["df_db"]
    theirs = _torch_outputs(lambda torch, x, mu, b: (x - mu) / b + torch.exp(-(x - mu) / b) + torch.log(b), F64,
                            x=x, mu=mu, b=b)["df_db"]
    mine, torch_ulps = _gumbel_db_errors(got, x, mu, b), _gumbel_db_errors(theirs, x, mu, b)
    assert not [(u, t) for u, t in zip(mine, torch_ulps) if u > 4 and u > t]
