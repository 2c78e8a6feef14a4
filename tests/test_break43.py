"""Session 43, helper break43: a hostile or careless user against the newest rules (session 42's and the ones they
read), at the extremes. Compared with mpmath (60 digits and more) and torch autograd float64 at the same points.

Fixed here:
- the overflowed-shift rule (session 36) takes a max-shifted e^(a_i − m) over logits with a shared factor (a/T, b/T) as
  its limit 1 or 0 where |m| > _SHIFT_FAR = 3.4e38; the shifted-difference rule (session 41) bound a second module-level
  ``_SHIFT_FAR = 700`` below it, which the overflowed-shift rule then read: the gradient of a softmax with a temperature
  was 0 (or ±1/T·…, the limit's) wherever |max(a/T, b/T)| > 700, a/T finite, e.g. ∂a of e^(a/T)/(e^(a/T) + e^(b/T)) at
  (T, a, b) = (1, −800, −801) 0 for 0.196612 (torch NaN: e^−800 = 0, 0/0).
"""
import warnings

import mpmath
import numpy as np
import pytest


BOUND = {np.float64: 4.0, np.float32: 8.0}

from test_break42 import _kernel  # noqa: E402  (session 42's cached kernel runner)


def _ulps(got, truths, dtype):
    """ULPs of dtype where the truth is a normal number of dtype (inf where got is not finite), else 0 (not
    measured)."""
    tiny, big = float(np.finfo(dtype).tiny), float(np.finfo(dtype).max)
    out = np.zeros(len(truths))
    for i, (g, t) in enumerate(zip(np.asarray(got, np.float64), truths)):
        if tiny <= abs(t) <= big:
            out[i] = np.inf if not np.isfinite(g) else \
                float(abs(mpmath.mpf(float(g)) - t) / float(np.spacing(dtype(abs(float(t))))))
    return out


def _sig(u):
    return 1 / (1 + mpmath.exp(-u))


# ---------------------------------------------------------------- overflowed-shift's bound (fixed)

TEMPERATURE_SOFTMAX = "exp(a/T)/(exp(a/T) + exp(b/T))"
TEMPERATURE_LSE = "T*log(exp(a/T) + exp(b/T))"


def _far_logits(dtype, seed):
    """(T, a, b): the failing points and 300 around them, max(a/T, b/T) of magnitude 700 to 3000 (float64) / 90 to 300
    (float32), the gap (a − b)/T within ±30, T of either sign."""
    rng = np.random.default_rng(seed)
    n = 300
    lo, hi = (700.0, 3000.0) if dtype == np.float64 else (90.0, 300.0)
    T = rng.choice([-1.0, 1.0], n) * rng.uniform(0.25, 4.0, n)
    m = rng.choice([-1.0, 1.0], n) * rng.uniform(lo, hi, n)
    gap = rng.uniform(-30.0, 30.0, n)
    a, b = m * T, (m - gap) * T
    fixed = np.array([[1.0, -800.0, -801.0], [1.0, 800.0, 799.0], [2.0, 1500.0, 1499.0], [0.5, -360.0, -360.5],
                      [1.0, -701.0, -700.5], [-1.0, 750.0, 760.0]])
    if dtype == np.float32:
        fixed = fixed / 8
    pts = np.concatenate([fixed, np.stack([T, a, b], 1)]).astype(dtype)
    return pts[:, 0], pts[:, 1], pts[:, 2]


def _softmax_truths(T, a, b):
    """f = σ(v), v = (a − b)/T, and its ∂T, ∂a, ∂b (σ' = σ(1 − σ)), in mpmath at 60 digits."""
    outs = [[], [], [], []]
    with mpmath.workdps(60):
        for t, x, y in zip(*(np.asarray(v, np.float64).tolist() for v in (T, a, b))):
            t, x, y = mpmath.mpf(t), mpmath.mpf(x), mpmath.mpf(y)
            s = _sig((x - y) / t)
            slope = s * _sig(-(x - y) / t)
            for out, v in zip(outs, (s, -(x - y) / t ** 2 * slope, slope / t, -slope / t)):
                out.append(v)
    return outs


def _lse_truths(T, a, b):
    """f = T·log(e^(a/T) + e^(b/T)) = max + T·softplus(−|a − b|/T) (T > 0; min for T < 0), ∂T = f/T − (a·σ(v) +
    b·σ(−v))/T, ∂a = σ(v), ∂b = σ(−v), v = (a − b)/T, in mpmath at 60 digits."""
    outs = [[], [], [], []]
    with mpmath.workdps(60):
        for t, x, y in zip(*(np.asarray(v, np.float64).tolist() for v in (T, a, b))):
            t, x, y = mpmath.mpf(t), mpmath.mpf(x), mpmath.mpf(y)
            v = (x - y) / t
            lse = x / t + mpmath.log1p(mpmath.exp(-v)) if v > 0 else y / t + mpmath.log1p(mpmath.exp(v))
            f = t * lse
            for out, w in zip(outs, (f, lse - (x * _sig(v) + y * _sig(-v)) / t, _sig(v), _sig(-v))):
                out.append(w)
    return outs


def _torch_outputs(formula, T, a, b):
    torch = pytest.importorskip("torch")
    t, x, y = (torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in (T, a, b))
    if formula == TEMPERATURE_SOFTMAX:
        out = torch.exp(x / t) / (torch.exp(x / t) + torch.exp(y / t))
    else:
        out = t * torch.log(torch.exp(x / t) + torch.exp(y / t))
    grads = torch.autograd.grad(out.sum(), (t, x, y))
    return [out.detach().numpy()] + [g.numpy() for g in grads]


_TRUTHS = {TEMPERATURE_SOFTMAX: _softmax_truths, TEMPERATURE_LSE: _lse_truths}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("formula", [TEMPERATURE_SOFTMAX, TEMPERATURE_LSE])
def test_temperature_softmax_gradient_past_700(formula, dtype):
    # before: the softmax's ∂T, ∂a, ∂b 0 (or −0) wherever |max(a/T, b/T)| > 700: ∂a at (1, −800, −801) 0 for 0.196612,
    # at (0.5, −360, −360.5) 0 for 0.393224; worst ∂T 9.0e15 ULP in float64 (−0 at (−3.34, −4505.0, −4426.7); torch
    # inf there), 1.6e7 in float32 (−0 at (0.25, 187.5, 187.375)). The log-sum-exp T·log(e^(a/T) + e^(b/T)) passed
    # before too (a guard: its ∂a, ∂b are the softmax's). After: within the bound at the 306 points of each case, both
    # dtypes.
    T, a, b = _far_logits(dtype, 4300 + len(formula))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = _kernel(formula)(T=T, a=a, b=b)
    truths = _TRUTHS[formula](T, a, b)
    for name, g, t in zip(("f", "df_dT", "df_da", "df_db"), got, truths):
        u = _ulps(g, t, dtype)
        assert u.max() <= BOUND[dtype], (name, u.max(), T[u.argmax()], a[u.argmax()], b[u.argmax()],
                                         g[u.argmax()], float(t[u.argmax()]))


@pytest.mark.parametrize("formula", [TEMPERATURE_SOFTMAX, TEMPERATURE_LSE])
def test_temperature_softmax_gradient_past_700_never_worse_than_torch(formula):
    T, a, b = _far_logits(np.float64, 4400 + len(formula))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = _kernel(formula)(T=T, a=a, b=b)
        theirs = _torch_outputs(formula, T, a, b)
    truths = _TRUTHS[formula](T, a, b)
    for name, ours, torch_out, t in zip(("f", "df_dT", "df_da", "df_db"), got, theirs, truths):
        u, v = _ulps(ours, t, np.float64), _ulps(torch_out, t, np.float64)
        assert (u <= np.maximum(v, 4)).all(), (name, u.max(), v[u.argmax()])


# ---------------------------------------------------------------- shifted-difference past a shift of 700 (fixed)

# σ(x) − σ(x − c) (c > 0) and σ(x + c) − σ(x): the shifted-difference rule took σ's pair only for |c| ≤ 700 (the bound
# of softplus's e^c − 1); past it the difference was printed as written, 1 − 1 = 0 once both round to 1
FAR_SHIFTS = [("sigmoid(x) - sigmoid(x - 701)", 0.0, -701.0), ("sigmoid(x) - sigmoid(x - 1000)", 0.0, -1000.0),
              ("sigmoid(x + 750) - sigmoid(x)", 750.0, 0.0), ("3*sigmoid(x)*y - 3*sigmoid(x - 5000)*y", 0.0, -5000.0)]


def _far_shift_points(sa, sb, dtype, seed):
    """x for σ(x + sa) − σ(x + sb): 300 points where both σ round to 1 (past the larger kink −min(sa, sb), up to where
    the difference leaves the normal range), where both are near 0 (below the smaller kink) and around each kink, and
    the failing points."""
    rng = np.random.default_rng(seed)
    hi, lo = max(-sa, -sb), min(-sa, -sb)
    edge = 700.0 if dtype == np.float64 else 85.0
    x = np.concatenate([[hi + 49.0, hi + 1.0, hi + 30.0, lo - 50.0, lo],
                        hi + rng.uniform(0.0, edge, 150), lo - rng.uniform(0.0, edge, 100),
                        hi + rng.uniform(-40, 40, 25), lo + rng.uniform(-40, 40, 25)])
    return x.astype(dtype)


def _far_shift_truths(sa, sb, x):
    """f = σ(x + sa) − σ(x + sb) and ∂x = σ′(x + sa) − σ′(x + sb), as written, with digits enough for the
    cancellation of two terms within e^−|x| of 1."""
    f, d = [], []
    for v in x:
        with mpmath.workdps(60 + int((abs(v) + abs(sa) + abs(sb)) / 2.3)):
            a, b = mpmath.mpf(float(v)) + sa, mpmath.mpf(float(v)) + sb
            f.append(_sig(a) - _sig(b))
            d.append(_sig(a) * _sig(-a) - _sig(b) * _sig(-b))
    return f, d


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("formula, sa, sb", FAR_SHIFTS)
def test_sigmoid_difference_past_a_shift_of_700(formula, sa, sb, dtype):
    # before: f 0 where both σ round to 1 (the written difference, as torch): σ(x) − σ(x − 701) 0 at x = 750 for
    # 5.24e−22, 8.95e15 ULP in float64 (0 at x = 915.19 for 9.53e−94), 1.67e7 in float32 (0 at x = 760.6 for
    # 1.29e−26); σ(x) − σ(x − 1000) 9.00e15 / 1.66e7; σ(x + 750) − σ(x) 8.95e15 / 1.67e7: 6 of 8 failed (the
    # 3·σ(x)·y − 3·σ(x − 5000)·y case passed). After: within the bound at the 305 points of each case, f and ∂x, both
    # dtypes.
    x = _far_shift_points(sa, sb, dtype, 4500 + len(formula))
    kwargs = {"x": x, "y": np.ones_like(x)} if "y" in formula else {"x": x}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f, dx = _kernel(formula)(**kwargs)[:2]
    scale = 3 if formula.startswith("3*") else 1
    tf, tdx = _far_shift_truths(sa, sb, x.astype(np.float64).tolist())
    for got, truth, name in ((f, tf, "f"), (dx, tdx, "dx")):
        u = _ulps(got, [scale * t for t in truth], dtype)
        assert u.max() <= BOUND[dtype], (name, u.max(), x[u.argmax()], got[u.argmax()], float(truth[u.argmax()]))


@pytest.mark.parametrize("formula, sa, sb", FAR_SHIFTS[:3])
def test_sigmoid_difference_past_a_shift_of_700_never_worse_than_torch(formula, sa, sb):
    torch = pytest.importorskip("torch")
    x = _far_shift_points(sa, sb, np.float64, 4600 + len(formula))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f, dx = _kernel(formula)(x=x)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = torch.sigmoid(t + sa) - torch.sigmoid(t + sb)
    (g,) = torch.autograd.grad(y.sum(), t)
    tf, tdx = _far_shift_truths(sa, sb, x.tolist())
    for ours, theirs, truth in ((f, y.detach().numpy(), tf), (dx, g.numpy(), tdx)):
        u, v = _ulps(ours, truth, np.float64), _ulps(theirs, truth, np.float64)
        assert (u <= np.maximum(v, 4)).all(), (u.max(), x[u.argmax()])


# ---------------------------------------------------------------- the conjugate rule for B − √A (fixed)

# (formula, f(x, y) in mpmath, ∂x, ∂y, torch f): the conjugate rule took √(x² + c) − x only (its root's coefficient
# positive); the negated difference x − √(x² + c) was printed as written
NEGATED_ROOTS = [
    ("x - sqrt(x**2 + 4)", lambda x, y: x - mpmath.sqrt(x * x + 4), lambda x, y: 1 - x / mpmath.sqrt(x * x + 4),
     None, lambda t, x, y: x - t.sqrt(x * x + 4)),
    ("(x - sqrt(x**2 + 4))/2", lambda x, y: (x - mpmath.sqrt(x * x + 4)) / 2,
     lambda x, y: (1 - x / mpmath.sqrt(x * x + 4)) / 2, None, lambda t, x, y: (x - t.sqrt(x * x + 4)) / 2),
    ("x - sqrt(x**2 + y)", lambda x, y: x - mpmath.sqrt(x * x + y), lambda x, y: 1 - x / mpmath.sqrt(x * x + y),
     lambda x, y: -1 / (2 * mpmath.sqrt(x * x + y)), lambda t, x, y: x - t.sqrt(x * x + y)),
    ("2*x - sqrt(4*x**2 + 1)", lambda x, y: 2 * x - mpmath.sqrt(4 * x * x + 1),
     lambda x, y: 2 - 4 * x / mpmath.sqrt(4 * x * x + 1), None, lambda t, x, y: 2 * x - t.sqrt(4 * x * x + 1)),
]


def _negated_root_points(dtype, seed):
    """(x, y): x of either sign from 1e−3 to 1e15 (float64) / 1e7 (float32), log-spread, y in [0.5, 8]; and the
    failing point x = 2.0e8."""
    rng = np.random.default_rng(seed)
    top = 15 if dtype == np.float64 else 7
    x = np.concatenate([[2.0e8 if dtype == np.float64 else 2.0e4, 30.0, 1.0, 0.0, -30.0],
                        rng.choice([-1.0, 1.0], 300) * 10.0 ** rng.uniform(-3, top, 300)])
    y = np.concatenate([[4.0] * 5, rng.uniform(0.5, 8.0, 300)])
    return x.astype(dtype), y.astype(dtype)


def _negated_root_truths(entry, x, y):
    outs = []
    for fn in entry[1:4]:
        if fn is None:
            outs.append(None)
            continue
        vals = []
        with mpmath.workdps(80):  # x² + c against x² at |x| ≤ 1e15: 30 digits cancel, 50 left
            for u, v in zip(np.asarray(x, np.float64).tolist(), np.asarray(y, np.float64).tolist()):
                vals.append(fn(mpmath.mpf(u), mpmath.mpf(v)))
        outs.append(vals)
    return outs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("entry", NEGATED_ROOTS, ids=[e[0] for e in NEGATED_ROOTS])
def test_negated_root_difference(entry, dtype):
    # before: f as written, every digit lost for x ≫ 1: x − √(x² + 4) −1.49e−8 for −5.0e−9 at x = 2.0e8 (4.55e15 ×
    # 2⁻⁵³ relative; torch the same). On this set before the fix, f: x − √(x² + 4) 8.86e15 ULP float64 (0 for
    # −3.49e−15 at x = 5.72e14), 1.39e4 float32; (x − √(x² + 4))/2 9.00e15 / 1.56e4; x − √(x² + y) 8.85e15 / 2.36e7;
    # 2x − √(4x² + 1) 1.29e16 / 1.59e5: 8 of 8 failed. After: within the bound at the 305 points of each case
    # (f, ∂x, ∂y), both dtypes.
    formula = entry[0]
    x, y = _negated_root_points(dtype, 4700 + len(formula))
    kwargs = {"x": x, "y": y} if "y" in formula else {"x": x}
    got = _kernel(formula)(**kwargs)
    truths = _negated_root_truths(entry, x, y)
    for name, g, t in zip(("f", "df_dx", "df_dy"), got, truths):
        if t is None:
            continue
        u = _ulps(g, t, dtype)
        assert u.max() <= BOUND[dtype], (name, u.max(), x[u.argmax()], y[u.argmax()], g[u.argmax()],
                                         float(t[u.argmax()]))


@pytest.mark.parametrize("entry", NEGATED_ROOTS, ids=[e[0] for e in NEGATED_ROOTS])
def test_negated_root_difference_never_worse_than_torch(entry):
    torch = pytest.importorskip("torch")
    formula = entry[0]
    x, y = _negated_root_points(np.float64, 4800 + len(formula))
    kwargs = {"x": x, "y": y} if "y" in formula else {"x": x}
    got = _kernel(formula)(**kwargs)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    out = entry[4](torch, tx, ty)
    gx, gy = torch.autograd.grad(out.sum(), (tx, ty), allow_unused=True)
    theirs = [out.detach().numpy(), gx.numpy(), None if gy is None else gy.numpy()]
    for g, th, t in zip(got, theirs, _negated_root_truths(entry, x, y)):
        if t is None:
            continue
        u, v = _ulps(g, t, np.float64), _ulps(th, t, np.float64)
        assert (u <= np.maximum(v, 4)).all(), (u.max(), v[u.argmax()], x[u.argmax()])


def test_negated_root_difference_at_infinite_inputs():
    # x − √(x² + y) at y = inf is −inf (the written form, torch −inf; the conjugate form y/(√(x² + y) + x) is NaN
    # there, and √(x² + y) − x's own conjugate form gives NaN at (0.7, inf), left as it is); at x = inf, y = 1 the
    # limit 0 (−0: x − √(x² + 1) < 0; before: inf − inf = NaN, torch NaN)
    k = _kernel("x - sqrt(x**2 + y)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f = k(x=np.array([0.7, -0.7, np.inf]), y=np.array([np.inf, np.inf, 1.0]))[0]
    assert f[0] == -np.inf and f[1] == -np.inf and f[2] == 0


# ---------------------------------------------------------------- found and not fixed (strict xfails, measured); the
# first four fixed in session 44 (ent44), their numbers kept as the before

# measured: the softmax-entropy rule takes f of the entropy of softmax(a, −a), log(e^a + e^−a) − (a·e^a − a·e^−a)/
# (e^a + e^−a), but its gradient is derived from the written f: collect and tanh leave
# tanh(a)·(1 + a·tanh(a)) − tanh(a) − a·σ(2a) − a·σ(−2a) = −a·sech²(a), an exact sum of rounded terms of size |a| that
# cancel to e^−2|a|: ∂a 8.50e−17 for 3.40e−16 at a = −20 (a quarter), 1.0 for ~0 at a = ±3e38; worst 1.17e16 ULP over
# 305 points in [−40, 40] (torch 1.23e16 there), worse than torch at 67 of 305; float32 9.6e6 ULP
# fixed in session 44 (ent44, the softmax-entropy-forms rule): within 0.5 ULP here; tests/test_ent44.py
def test_symmetric_softmax_entropy_gradient():
    formula = "log(exp(a) + exp(-a)) - (a*exp(a) - a*exp(-a))/(exp(a) + exp(-a))"
    rng = np.random.default_rng(4900)
    a = np.concatenate([[-20.0, -154.73313546777212, 5.0, 30.0], rng.uniform(-40, 40, 100)])
    _, da = _kernel(formula)(a=a)
    with mpmath.workdps(60):
        truth = [-mpmath.mpf(v) / mpmath.cosh(mpmath.mpf(v)) ** 2 for v in a.tolist()]
    assert _ulps(da, truth, np.float64).max() <= 4


# measured: the scale-into-sum rule takes c·(a + b·e^u) (a widened sum), not c·a·e^u alone: ∂s of
# (1 − (x − m)²·e^(−s))/2 is (x − m)²·e^(−s)/2, its product (zero-scaled-exp's widened near branch, |s| ≤ 709)
# overflowing before the halving: inf at (m, s, x) = (2.5, −709, 1) for 9.2457e307 (torch 9.24570839e307, it halves
# first); inf at 51 of 51 points where (x − m)²·e^(−s) lies in (1.8e308, 3.6e308] with |s| ≤ 709; f is right there
# fixed in session 44 (ent44, scale-into-sum takes zero-scaled-exp's product): tests/test_ent44.py
def test_halved_scaled_exp_product_does_not_overflow():
    rng = np.random.default_rng(4901)
    s = np.concatenate([[-709.0], rng.uniform(-709.0, -705.0, 50)])
    # (x − m)² = r·1.8e308·e^s, r in (1.01, 1.99): the product overflows, its half does not
    r = rng.uniform(1.01, 1.99, 50)
    d = np.concatenate([[1.5], np.sqrt(r) * np.sqrt(1.7976931348623157e308) * np.exp(s[1:] / 2)])
    m, x = np.full_like(s, 2.5), 2.5 - d
    ds = _kernel("(1 - (x - m)**2*exp(-s))/2")(m=m, s=s, x=x)[2]
    with mpmath.workdps(60):
        truth = [(mpmath.mpf(u) - mpmath.mpf(w)) ** 2 * mpmath.exp(-mpmath.mpf(v)) / 2
                 for u, v, w in zip(x.tolist(), s.tolist(), m.tolist())]
    assert _ulps(ds, truth, np.float64).max() <= 4


# measured: the scaled-asinh rule takes s·asinh(x/s) with x the quotient's numerator; s·asinh(2x/s) has numerator
# 2x, which overflows: its far form sign(2x)·|s|·(log 2 + log|2x| − log|s|) is inf at (s, x) = (0.3, 1.797e308) for
# 213.71 and (1, 1e308) for 710.58 (torch inf at both); (5, 9e307) right (3544.34)
# fixed in session 44 (ent44, scaled-asinh splits the numerator's number out of its log): tests/test_ent44.py
def test_scaled_asinh_with_a_scaled_numerator():
    s, x = np.array([0.3, 1.0, 5.0]), np.array([1.7976931348623157e308, 1e308, 9e307])
    f = _kernel("s*asinh(2*x/s)")(s=s, x=x)[0]
    with mpmath.workdps(50):
        truth = [mpmath.mpf(a) * mpmath.asinh(2 * mpmath.mpf(b) / a) for a, b in zip(s.tolist(), x.tolist())]
    assert _ulps(f, truth, np.float64).max() <= 4


# measured: the entropy of a two-class softmax written out, −p·log p − q·log q with p = e^a/(e^a + e^b): 16 ULP in
# float64 at (a, b) = (2.5, −709) (7.1164105446363661e−307 for 7.1164105446363536e−307; ∂a, ∂b 16 ULP too), where
# e^(b − a) is subnormal; torch 7.1064226e−307 there (1.4e−3 relative, far worse); the softmax-entropy rule reads the
# log-sum-exp form only
# fixed in session 44 (ent44, the softmax-entropy-forms rule): tests/test_ent44.py
def test_written_two_class_entropy_near_underflow():
    formula = ("-(exp(a)/(exp(a)+exp(b)))*log(exp(a)/(exp(a)+exp(b))) "
               "- (exp(b)/(exp(a)+exp(b)))*log(exp(b)/(exp(a)+exp(b)))")
    a, b = np.array([2.5]), np.array([-709.0])
    f = _kernel(formula)(a=a, b=b)[0]
    with mpmath.workdps(60):
        u = mpmath.mpf(2.5) + 709
        truth = [mpmath.log1p(mpmath.exp(-u)) + u / (1 + mpmath.exp(u))]
    assert _ulps(f, truth, np.float64).max() <= 4


# measured: a smooth max T·log(e^(a/T) + e^(b/T)) at a subnormal T, a/T or b/T past float64: f NaN at
# (T, a, b) = (−2.78e−309, 0.7, 2.5) for 0.7 and (2.78e−309, 0.7, 2.5) for 2.5 (the max, min for T < 0), ∂T NaN for
# 0; torch f inf, ∂T NaN. The overflowed-shift rule takes the softmax's limits there, the log-sum-exp's sum is inf − inf
# was a strict xfail (session 43): "T·log(e^(a/T) + e^(b/T)) NaN at T = ∓2.78e−309, (a, b) = (0.7, 2.5) for 0.7 / 2.5
# (torch inf)"; fixed in session 44 by the scaled-max rule (h-temp44, tests/test_temp44.py)
def test_smooth_max_at_a_subnormal_temperature():
    T = np.array([-2.781342323134e-309, 2.781342323134e-309])
    f = _kernel(TEMPERATURE_LSE)(T=T, a=np.array([0.7, 0.7]), b=np.array([2.5, 2.5]))[0]
    assert f[0] == 0.7 and f[1] == 2.5


def test_fixes_in_the_triton_function():
    """The Triton function (interpreted, a few points) of the negated root difference and the far σ difference."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    import os
    os.environ.setdefault("TRITON_INTERPRET", "1")
    import symnet.torch as st

    cases = [("x - sqrt(x**2 + 4)", [2.0e8, 30.0, -5.0, 0.0], lambda x: x - mpmath.sqrt(x * x + 4)),
             ("sigmoid(x) - sigmoid(x - 701)", [750.0, 1200.0, -50.0, 0.0], lambda x: _sig(-(x - 701)) - _sig(-x))]
    for formula, pts, truth in cases:
        fn = st.from_formula(formula, inputs=["x"])
        x = torch.tensor(pts, dtype=torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            y = fn(x)
        with mpmath.workdps(80):
            t = [truth(mpmath.mpf(v)) for v in pts]
        # before: x − √(x² + 4) −1.49e−8 at x = 2e8 for −1.0e−8; σ(x) − σ(x − 701) 0 at 750 and 1200
        assert _ulps(y.numpy(), t, np.float64).max() <= 4, (formula, y.numpy())
