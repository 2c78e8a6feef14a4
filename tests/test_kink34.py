"""Session 34, h-kink34: selects at their boundary.

1. A Huber loss with a learned δ written out, ∂δ = {0 if δ > |p − t|; |p − t| − δ}. The select tests the rounded
   |p − t| while the widen rule computes the branch |p − t| − δ exactly: at δ = fl(|p − t|) above the exact |p − t|
   the outer branch was taken and its exact value was negative. before: ∂δ = −8.88e−16 at p = 4.39179958690881,
   t = −4.813371251187944, δ = 9.205170838096755 (true 0, torch 0), an infinite ULP error against the true 0; after 0
   (the kink-side rule: the branch clamped to its side of the kink). Truths are mpmath's at 60 digits from the
   formula as written, its condition on the exact |p − t|."""
import mpmath
import numpy as np
import pytest

from conftest import compiled, triton_torch, ulps

MP_DPS = 60  # mpmath's digits for each test here (conftest._mpmath_digits)

HUBER_FORMS = ["where(abs(p - t) < d, (p - t)**2/2, d*(abs(p - t) - d/2))",
               "where(abs(p-t) < d, 0.5*(p-t)**2, d*abs(p-t) - 0.5*d**2)"]
REPORTED = (4.39179958690881, -4.813371251187944, 9.205170838096755)


def _kink_points(n, seed, dtype):
    """n pairs (p, t), each with δ at fl(|p − t|) and 2 ulps either side of it (5n points), the reported one first."""
    rng = np.random.default_rng(seed)
    p, t = rng.uniform(-10, 10, n).astype(dtype), rng.uniform(-10, 10, n).astype(dtype)
    u = np.abs(p - t)  # in the dtype: where the kernel's select decides (float32: its float64 block decides)
    if dtype == np.float32:
        u = np.abs(p.astype(np.float64) - t.astype(np.float64)).astype(np.float32)
    ds = [u]
    for k in (1, 2):
        ds += [np.nextafter(ds[-1] if k > 1 else u, dtype(np.inf))]
    low = u
    for k in (1, 2):
        low = np.nextafter(low, dtype(0))
        ds.append(low)
    p, t, d = np.tile(p, 5), np.tile(t, 5), np.concatenate(ds).astype(dtype)
    return tuple(np.concatenate([[x], v]).astype(dtype) for x, v in zip(REPORTED, (p, t, d)))


def _truths(p, t, d):
    """(∂f/∂δ, ∂f/∂p) in mpmath from the formula as written, its condition on the exact |p − t|."""
    out = []
    for P, T, D in zip(p, t, d):
        P, T, D = (mpmath.mpf(float(v)) for v in (P, T, D))
        u = abs(P - T)
        out.append((mpmath.mpf(0), P - T) if u < D else (u - D, D * mpmath.sign(P - T)))
    return out


def _torch_delta(p, t, d):
    """torch autograd's ∂δ in float64 of the formula as written (its select on the rounded |p − t|)."""
    torch = pytest.importorskip("torch")
    P, T, D = (torch.tensor(np.asarray(v, np.float64)) for v in (p, t, d))
    D.requires_grad_(True)
    e = torch.abs(P - T)
    f = torch.where(e < D, (P - T) ** 2 / 2, D * (e - D / 2))
    g, = torch.autograd.grad(f.sum(), D)
    return g.numpy()


@pytest.mark.parametrize("formula", HUBER_FORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huber_delta_gradient_on_both_sides_of_its_kink(formula, dtype):
    p, t, d = _kink_points(200, seed=3401, dtype=dtype)
    k = compiled(formula)
    out = dict(zip(k.outputs, k(p=p, t=t, d=d)))
    truths = _truths(p, t, d)
    bound = 4 if dtype == np.float64 else 8
    worst = max((ulps(out["df_dd"][i], dd, dtype), ulps(out["df_dp"][i], dp, dtype), i)
                for i, (dd, dp) in enumerate(truths))
    assert max(worst[:2]) <= bound, (worst, p[worst[2]], t[worst[2]], d[worst[2]])
    assert out["df_dd"][0] == 0.0 or dtype == np.float32, out["df_dd"][0]  # was −8.88e−16
    assert (out["df_dd"] >= 0).all()  # the outer branch's |p − t| − δ is never below its kink
    if dtype == np.float64:  # never worse than torch at any point
        torch_dd = _torch_delta(p, t, d)
        for i, (dd, _) in enumerate(truths):
            assert ulps(out["df_dd"][i], dd, dtype) <= max(bound, ulps(torch_dd[i], dd, dtype)), i


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huber_delta_gradient_on_both_sides_of_its_kink_in_triton(dtype):
    torch = triton_torch()
    p, t, d = _kink_points(8, seed=3402, dtype=dtype)
    bound = 4 if dtype == np.float64 else 8
    k = compiled(HUBER_FORMS[0], "triton")
    out = dict(zip(k.outputs, (o.numpy() for o in k(p=torch.tensor(p), t=torch.tensor(t), d=torch.tensor(d)))))
    for i, (dd, dp) in enumerate(_truths(p, t, d)):
        assert ulps(out["df_dd"][i], dd, dtype) <= bound, (i, p[i], t[i], d[i], out["df_dd"][i])
        assert ulps(out["df_dp"][i], dp, dtype) <= bound, (i, out["df_dp"][i])
    assert out["df_dd"][0] == 0.0 or dtype == np.float32, out["df_dd"][0]


# the kink-side rule's case: its written form is right at the reported point (the select and the branch both rounded);
# the widened branch alone was not, so test_stability_rules's "the written form fails there" harness does not apply
CASES_ELSEWHERE = {"kink-side"}


def test_kink_side_is_exact_and_fires_only_on_the_conditions_own_difference():
    """Max(|p − t| − δ, 0) where δ ≤ |p − t| is |p − t| − δ: the stable form against the written one at 50 digits, at
    points on both sides of the kink; the value's branch δ·(|p − t| − δ/2) is not the difference and is left as it was."""
    import sympy as sp
    from symnet.codegen.rewrite import stabilise, unwiden

    p, t, d = sp.symbols("p t d")
    written = sp.Piecewise((0, d > sp.Abs(p - t)), (sp.Abs(p - t) - d, True))
    stable, fired = stabilise(written)
    assert [r.name for r in fired] == ["widen", "kink-side"], fired
    assert stable.has(sp.Max)
    plain = unwiden(stable)
    rng = np.random.default_rng(3403)
    for P, T, D in zip(rng.uniform(-5, 5, 200), rng.uniform(-5, 5, 200), rng.uniform(0, 10, 200)):
        at = {p: sp.Float(P, 50), t: sp.Float(T, 50), d: sp.Float(D, 50)}
        assert abs(plain.evalf(50, subs=at) - written.evalf(50, subs=at)) == 0, (P, T, D)
    value = sp.Piecewise((sp.Abs(p - t) ** 2 / 2, d > sp.Abs(p - t)), (d * (sp.Abs(p - t) - d / 2), True))
    assert "kink-side" not in [r.name for r in stabilise(value)[1]]


# ---------------------------------------------------------------- the piecewise activations' derivative at NaN

# One convention (README, the numerics paragraph): where torch's paths disagree at NaN, its vectorised CPU loop's
# (a tensor of 1,000 elements here). Measured with torch 2.13 (CPU), ∂ at NaN, scalar loop (1 and 7 elements) /
# vectorised (1,000): relu 1 / 1, leaky_relu 0.01 / 0.01, relu6 1 / 0, hardtanh 1 / 0, hardsigmoid 0 / 0,
# clamp(x, −1, 1) 0 / 0. before: symnet's relu6′(NaN) and hardtanh′(NaN) 1 (the scalar loop's, and torch's CUDA
# kernel's: x ≤ lo or x ≥ hi ? 0 : g); after 0.
_AT_NAN = ["relu(x)", "leaky_relu(x)", "relu6(x)", "hardtanh(x)", "hardtanh(x, -2, 3)", "hardsigmoid(x)",
           # before (session 35): clamp(x, −1, 1)′ 1 at NaN (torch 0) and 0 at x = ±1 (torch 1), min(max(x, lo), hi)'s
           # H(x − lo)·H(hi − max(x, lo)); now the select {lo if x < lo; x if x ≤ hi; hi} (registry._clamp)
           "clamp(x, -1, 1)", "clamp(x, 0, 6)", "clamp(x, -2, 3)"]
_TORCH = {"relu(x)": lambda F, x: F.relu(x), "leaky_relu(x)": lambda F, x: F.leaky_relu(x, 0.01),
          "relu6(x)": lambda F, x: F.relu6(x), "hardtanh(x)": lambda F, x: F.hardtanh(x),
          "hardtanh(x, -2, 3)": lambda F, x: F.hardtanh(x, -2.0, 3.0), "hardsigmoid(x)": lambda F, x: F.hardsigmoid(x),
          "clamp(x, -1, 1)": lambda F, x: x.clamp(-1.0, 1.0), "clamp(x, 0, 6)": lambda F, x: x.clamp(0.0, 6.0),
          "clamp(x, -2, 3)": lambda F, x: x.clamp(-2.0, 3.0)}
# NaN first, then the kinks and their sides, ±0 and ±inf
_POINTS = [float("nan"), -1.0, 1.0, -2.0, 3.0, 0.0, -0.0, 6.0, -3.0, 0.5, 5.9, -2.5, 7.0, float("inf"), float("-inf")]


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("formula", _AT_NAN)
def test_piecewise_activation_at_nan_and_its_kinks_as_torch(formula, dtype, backend):
    """Value (sign of zero included) and derivative as torch's vectorised loop at NaN, the kinks, ±0 and ±inf."""
    torch = triton_torch() if backend == "triton" else pytest.importorskip("torch")
    k = compiled(formula, backend)
    x = np.asarray(_POINTS, dtype)
    with np.errstate(all="ignore"):
        out = k(x=x) if backend == "numpy" else [o.numpy() for o in k(x=torch.tensor(x))]
    f, df = (np.asarray(o, np.float64) for o in out)
    X = torch.tensor(np.tile(x, 100), requires_grad=True)  # 1,500 elements: the vectorised loop
    Y = _TORCH[formula](torch.nn.functional, X)
    G, = torch.autograd.grad(Y.sum(), X)
    want_f, want_df = (v.detach().double().numpy()[:len(x)] for v in (Y, G))
    assert np.isnan(f[0]), f[0]
    for name, got, want in (("f", f, want_f), ("df_dx", df, want_df)):
        same = (np.isnan(got) & np.isnan(want)) | ((got == want) & (np.signbit(got) == np.signbit(want)))
        # (away from 0, within torch's rounding: its float64 hardsigmoid′ is float32's 1/6 (test_nan18), its float32
        # leaky_relu(−2.5) 0.01 rounded to float32 times x, 1 ULP from symnet's correctly rounded −0.025)
        same |= np.abs(got - want) <= (4e-8 if dtype == np.float64 else 2.5e-7) * np.abs(want)
        assert same.all(), (name, [(x[i], got[i], want[i]) for i in np.flatnonzero(~same)])
