"""Cross-entropy with its options at their extremes (issue 16, fourth session), NumPy and Triton (the public
``symnet.torch.functional.cross_entropy``; under the interpreter where there is no GPU), against mpmath at 50
digits and torch's float64 autograd:

1. the z-loss λ·lse² of float32 logits at ±1e20 is 1e36 (λ = 1e-4): lse² alone overflowed (loss +∞);
2. a soft target 0 at a −∞ logit: t·(lse − z) → 0 as t → 0, the loss is finite (torch: NaN, 0·∞; symnet
   differs on purpose);
3. float32 label smoothing on a row spanning more than 3.4e38 ([3e38, −3e38, 0]): the gaps m − z_k overflowed in
   the forward kernels, where the loss is 3e37;
4. the softcap c = s·tanh(z/s) of a confident row in float32: 25–50 ULP (the roundings of c_k and c_r, s·ε each,
   turned relative by e^{c_k − c_r}); float64 too (30 ULP: c in double-word since the tenth session);
5. subnormal class weights with reduction "mean": 1/Σ w_r overflowed (gradient ±∞, torch's too).
"""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

from conftest import torch_and_triton

torch, triton = torch_and_triton()

import symnet.torch.functional as SF  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402

from test_rowwise7 import exact, ulps  # noqa: E402

F = torch.nn.functional
BOUND = {np.float64: 4.0, np.float32: 8.0}
DTYPES = [np.float64, np.float32]
IDS = ["float64", "float32"]


def _numpy():
    return load_kernel("cross_entropy", "numpy")


def _api(rows, target, grad=True, **options):
    """(loss per row, ∂(Σ loss)/∂z) of symnet.torch.functional.cross_entropy (the Triton kernels)."""
    z = torch.from_numpy(rows).requires_grad_()
    target = torch.from_numpy(target)
    weight = options.pop("weight", None)
    weight = None if weight is None else torch.from_numpy(np.asarray(weight, rows.dtype))
    reduction = options.pop("reduction", "none")
    loss = SF.cross_entropy(z, target, weight=weight, reduction=reduction, **options)
    (dz,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach().numpy(), dz.numpy()


def _both(rows, target, **options):
    """{backend: (loss, dz)}: the NumPy kernel (cross_entropy_grad / cross_entropy_soft_grad) and the torch API."""
    ce = _numpy()
    soft = target.dtype.kind == "f"
    reduction = options.get("reduction", "none")
    kw = {k: v for k, v in options.items() if k != "reduction"}
    weight = kw.pop("weight", None)
    weight = None if weight is None else np.asarray(weight, rows.dtype)
    if soft:
        ours = ce.cross_entropy_soft_grad(rows, target, weight, reduction=reduction, **kw)
    else:
        ours = ce.cross_entropy_grad(rows, target, weight, reduction=reduction, **kw)
    return {"numpy": ours, "triton": _api(rows, target, **options)}


def _mp(x):
    return mpmath.mpf(float(x))


# ------------------------------------------------------------------ 1. the z-loss

def _z_loss_exact(rows, r, lam):
    """mpmath: the loss lse − z_r + λ·lse² and its gradient p_j − δ_jr + 2λ·lse·p_j, per row."""
    loss, dz = [], []
    with mpmath.workdps(50):
        for row, c in zip(rows, r):
            zs = [_mp(x) for x in row]
            m = max(zs)
            lse = m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in zs))
            p = [mpmath.exp(x - lse) for x in zs]
            loss.append(lse - zs[c] + _mp(lam) * lse ** 2)
            dz.append([p[k] - (k == c) + 2 * _mp(lam) * lse * p[k] for k in range(len(zs))])
    return loss, dz


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_z_loss_does_not_overflow_where_the_loss_is_finite(dtype):
    """Logits ±1e20 (float32) / ±1e150 (float64), λ = 1e-4: λ·lse² = 1e36 / 1e296 is finite, lse² is not; the
    loss within the bound and the gradient 2λ·lse·p_j − δ_jr + p_j too, both backends."""
    big = 1e20 if dtype == np.float32 else 1e150
    rows = np.array([[big, -big, 0.0], [0.5 * big, 0.25 * big, 1.0], [-big, big, 3.0]], dtype)
    r = np.array([0, 1, 2])
    lam = 1e-4
    loss, dz = _z_loss_exact(rows, r, lam)
    for backend, (got_loss, got_dz) in _both(rows, r, z_loss_scale=lam).items():
        u = ulps(got_loss, loss, dtype)
        assert (u <= BOUND[dtype]).all(), f"{backend}: loss {got_loss} vs {[float(x) for x in loss]} ({u} ULP)"
        normal = np.array([abs(x) >= np.finfo(dtype).tiny for row in dz for x in row])
        u = ulps(got_dz, dz, dtype)
        assert (u[normal] <= BOUND[dtype]).all(), f"{backend}: dz {got_dz} ({u} ULP)"


def test_z_loss_gradient_as_torch_float64_autograd():
    """The same float32 rows against torch's autograd in float64 of lse − z_r + λ·lse² (an independent reference)."""
    rows = np.array([[1e20, -1e20, 0.0], [3e19, 2e19, 1.0]], np.float32)
    r = np.array([0, 1])
    z = torch.from_numpy(rows.astype(np.float64)).requires_grad_()
    lse = torch.logsumexp(z, -1)
    want = F.cross_entropy(z, torch.from_numpy(r), reduction="none") + 1e-4 * lse ** 2
    (want_dz,) = torch.autograd.grad(want.sum(), z)
    for backend, (loss, dz) in _both(rows, r, z_loss_scale=1e-4).items():
        np.testing.assert_allclose(loss, want.detach().numpy(), rtol=1e-6, err_msg=backend)
        np.testing.assert_allclose(dz, want_dz.numpy(), rtol=1e-6, atol=1e-30, err_msg=backend)


# ------------------------------------------------------------------ 2. a soft target 0 at a −∞ logit

@pytest.mark.parametrize("eps", [0.0], ids=["no-smoothing"])
def test_soft_target_zero_at_minus_infinity_is_the_limit(eps):
    """t_k = 0 at z_k = −∞: the term t_k(lse − z_k) → 0 (torch: 0·∞ = NaN); loss and gradient as mpmath's
    without that class (p_k = 0 there), float64 and float32, both backends."""
    for dtype in DTYPES:
        rows = np.array([[1.0, -np.inf, 0.0, 2.5], [-np.inf, 3.0, -np.inf, -1.0]], dtype)
        t = np.array([[0.5, 0.0, 0.25, 0.25], [0.0, 0.7, 0.0, 0.3]], dtype)
        want = {"loss": [], "dz": []}
        for row, tt in zip(rows, t):  # the classes at −∞ dropped: their terms are the limit 0
            keep = np.isfinite(row)
            part = exact(row[keep][None], eps, t=tt[keep][None])
            dz = iter(part["dz"][0])
            want["loss"] += part["loss"]
            want["dz"].append([next(dz) if k else mpmath.mpf(0) for k in keep])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = F.cross_entropy(torch.from_numpy(rows), torch.from_numpy(t), reduction="none")
        assert torch.isnan(theirs).all(), "torch's loss is NaN here (0·∞): the test's premise"
        for backend, (loss, dz) in _both(rows, t, label_smoothing=eps).items():
            u = ulps(loss, want["loss"], dtype)
            assert (u <= BOUND[dtype]).all(), f"{backend} {dtype.__name__}: loss {loss} ({u} ULP)"
            normal = np.array([abs(x) >= np.finfo(dtype).tiny for row in want["dz"] for x in row])
            u = ulps(dz, want["dz"], dtype)
            assert (u[normal] <= BOUND[dtype]).all() and (dz.reshape(-1)[~normal] == 0).all(), \
                f"{backend} {dtype.__name__}: dz {dz}"


def test_soft_target_zero_at_minus_infinity_forward_kernel():
    """The forward-only NumPy kernel (cross_entropy_soft) and the mean: finite too; with label smoothing on, the
    smoothed term ε/V·(lse − z_k) at z_k = −∞ is +∞, and so is the loss (as the math)."""
    ce = _numpy()
    rows = np.array([[1.0, -np.inf, 0.0]])
    t = np.array([[0.5, 0.0, 0.5]])
    want = float(exact(rows[:, [0, 2]], 0.0, t=t[:, [0, 2]])["loss"][0])
    assert ce.cross_entropy_soft(rows, t, reduction="none")[0] == pytest.approx(want, rel=1e-15)
    assert ce.cross_entropy_soft(rows, t) == pytest.approx(want, rel=1e-15)
    assert ce.cross_entropy_soft(rows, t, reduction="none", label_smoothing=0.1)[0] == np.inf


# ------------------------------------------------------------------ 3. float32 label smoothing, a wide row

WIDE = np.array([[3e38, -3e38, 0.0], [-3e38, 3e38, 1e38], [2e38, -2.5e38, -2.5e38]], np.float32)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_label_smoothing_float32_row_wider_than_the_type(weighted):
    """Rows spanning up to 6e38 > 3.4e38, ε = 0.1: the loss (ε/V)Σ_k w_k(lse − z_k) + … is finite; the forward
    kernels (NumPy's cross_entropy, Triton's cross_entropy_op) and the fused ones within 8 ULP of mpmath."""
    r = np.array([0, 1, 0])
    weight = np.array([0.5, 1.0, 0.25]) if weighted else None
    want = exact(WIDE, 0.1, weight, r=r)["loss"]
    ce = _numpy()
    w32 = None if weight is None else weight.astype(np.float32)
    got = {"numpy forward": ce.cross_entropy(WIDE, r, w32, reduction="none", label_smoothing=0.1),
           "numpy fused": ce.cross_entropy_grad(WIDE, r, w32, reduction="none", label_smoothing=0.1)[0],
           "api": _api(WIDE, r, weight=weight, label_smoothing=0.1)[0]}
    tri = load_kernel("cross_entropy", "triton")
    got["triton forward"] = tri.cross_entropy(torch.from_numpy(WIDE), torch.from_numpy(r),
                                              None if w32 is None else torch.from_numpy(w32), reduction="none",
                                              label_smoothing=0.1).numpy()
    for name, loss in got.items():
        u = ulps(loss, want, np.float32)
        assert (u <= 8).all(), f"{name}: {loss} vs {[float(x) for x in want]} ({u} ULP)"


def test_soft_targets_float32_row_wider_than_the_type():
    """The soft-target forward kernel on the same rows: Σ_k a_k(lse − z_k) finite, within 8 ULP."""
    t = np.array([[0.6, 0.1, 0.3], [0.2, 0.5, 0.3], [0.9, 0.05, 0.05]], np.float32)
    want = exact(WIDE, 0.1, t=t)["loss"]
    ce = _numpy()
    tri = load_kernel("cross_entropy", "triton")
    got = {"numpy": ce.cross_entropy_soft(WIDE, t, reduction="none", label_smoothing=0.1),
           "triton": tri.cross_entropy_soft(torch.from_numpy(WIDE), torch.from_numpy(t), reduction="none",
                                            label_smoothing=0.1).numpy()}
    for name, loss in got.items():
        u = ulps(loss, want, np.float32)
        assert (u <= 8).all(), f"{name}: {loss} ({u} ULP)"


# ------------------------------------------------------------------ 4. the softcap

def _softcap_rows(dtype, count=200, V=8, seed=0):
    """Confident, correct rows: the class's logit 20 … 200 above moderate ones, softcaps 15, 30, 50 — a loss
    e^{−(c_r − c_k)} small, down to 1e-20; (rows, classes, caps)."""
    rng = np.random.default_rng(seed)
    rows, r, caps = [], [], []
    for _ in range(count):
        caps.append(float(rng.choice([15.0, 30.0, 50.0])))
        row = rng.standard_normal(V) * 3
        r.append(int(rng.integers(V)))
        row[r[-1]] = rng.uniform(20, 200)
        rows.append(row)
    return np.array(rows, dtype), np.array(r), np.array(caps)


def _softcap_exact(row, c, s):
    """mpmath: the loss lse(c) − c_r and ∂/∂z_j = (p_j − δ_jr)·sech²(z_j/s), c = s·tanh(z/s)."""
    with mpmath.workdps(50):
        s = _mp(s)
        zs = [_mp(x) for x in row]
        cs = [s * mpmath.tanh(x / s) for x in zs]
        m = max(cs)
        log_sum = mpmath.log1p(mpmath.fsum(mpmath.exp(x - m) for x in cs if x < m) + sum(x == m for x in cs) - 1)
        gap = [(m - x) + log_sum for x in cs]
        dz = [((mpmath.expm1(-gap[k]) if k == c else mpmath.exp(-gap[k])) * mpmath.sech(zs[k] / s) ** 2)
              for k in range(len(zs))]
        return gap[c], dz


def _softcap_errors(dtype, backend, count=200):
    """{"loss": ULP per row, "dz": worst ULP per row} of the first ``count`` rows of _softcap_rows, one call per
    softcap."""
    rows, r, caps = _softcap_rows(dtype, count)
    out = {"loss": [], "dz": []}
    ce = _numpy()
    for s in map(float, np.unique(caps)):  # Python floats: an np.float64 would promote float32 blocks
        at = caps == s
        if backend == "numpy":
            got_loss, got_dz = ce.cross_entropy_grad(rows[at], r[at], reduction="none", softcap=s)
            fwd = ce.cross_entropy(rows[at], r[at], reduction="none", softcap=s)
        else:
            got_loss, got_dz = _api(rows[at], r[at], softcap=s)
            fwd = got_loss
        for row, c, loss_, fwd_, dz_ in zip(rows[at], r[at], got_loss, fwd, got_dz):
            loss, dz = _softcap_exact(row, c, s)
            out["loss"].append(max(ulps([loss_], [loss], dtype)[0], ulps([fwd_], [loss], dtype)[0]))
            normal = np.array([abs(x) >= np.finfo(dtype).tiny for x in dz])
            out["dz"].append(ulps(dz_, [dz], dtype)[normal].max())
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_softcap_confident_rows_float32(backend):
    """float32, softcap: the tiny loss of a confident row and its gradient within 8 ULP (were 25–50: the
    kernel computes in float64 where a softcap is on, RowKernel.widen)."""
    err = _softcap_errors(np.float32, backend)
    assert err["loss"].max() <= 8, f"loss: {err['loss'].max():.3g} ULP"
    assert err["dz"].max() <= 8, f"dz: {err['dz'].max():.3g} ULP"


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_softcap_confident_rows_float64(backend):
    """What dominated, measured on these rows (the loss log1p(Σ_{k≠r} e^{c_k − c_r}) computed with TwoSum gaps from
    three versions of c): libm's s·tanh(z/s) 29 ULP worst (median 5); c correctly rounded to float64 still 17 (3.6):
    the representation of c itself, not tanh's own error nor the subtraction lse − c_r (0 at a confident row, the
    entry-gap rule); c in double-word, its low part added to the TwoSum error of each c_k − m, 1.4 (0.36). So the
    kernels compute s·tanh(z/s) in double-word with c_lo threaded into every c_k − m (tests/test_softcap10.py):
    NumPy loss 30 → 1.4 ULP, dz 31 → 2.2; float32 is computed in float64."""
    # Triton's float64 runs the double-word path under the interpreter, 0.7 s a row (200 rows took 143 s; 48, 16 s in
    # CI): the first 24 rows there (every softcap; the NumPy kernel, the same algorithm, takes all 200, and
    # tests/test_softcap10.py runs 24 more such rows, of another seed, through Triton)
    err = _softcap_errors(np.float64, backend, 200 if backend == "numpy" else 24)
    assert err["loss"].max() <= 4, f"loss: {err['loss'].max():.3g} ULP"
    assert err["dz"].max() <= 4, f"dz: {err['dz'].max():.3g} ULP"


# ------------------------------------------------------------------ 5. subnormal class weights, mean

@pytest.mark.parametrize("dtype,scale", [(np.float64, 2.0 ** -1030), (np.float32, 2.0 ** -133), (np.float64, 2.0 ** 997)],
                         ids=["float64-subnormal", "float32-subnormal", "float64-huge"])
@pytest.mark.parametrize("eps", [0.0, 0.1], ids=["plain", "smoothed"])
def test_weighted_mean_with_extreme_weights(dtype, scale, eps):
    """Weights w·scale (scale a power of two: exact): the weighted mean Σ w_r·l_r/Σ w_r (and its gradient) does not depend on the scale; with
    subnormal weights 1/Σ w_r overflowed (gradient ±∞, torch's too) and the products w_r·l_r lost their bits,
    with huge ones w_r·l_r overflowed. Within the bound of mpmath's, both backends; λ > 0 too (the z-loss shares
    the divisor)."""
    rows = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0], [2.0, -1.0, 0.5], [4.0, 4.5, -3.0]], dtype)
    r = np.array([0, 1, 2, 1])
    base = np.array([1.0, 0.75, 0.5])
    weight = (base * scale).astype(dtype)
    w = [_mp(x) for x in weight]
    lam = 2.0 ** -7 * scale  # λ·lse²/Σ w_r of the size of the rest (scaled exactly)
    per_row, lse = exact(rows, eps, weight, r=r), []
    with mpmath.workdps(50):
        for row in rows:
            zs = [_mp(x) for x in row]
            m = max(zs)
            lse.append(m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in zs)))
        total = mpmath.fsum(w[c] for c in r)
        loss = (mpmath.fsum(per_row["loss"]) + _mp(lam) * mpmath.fsum(x ** 2 for x in lse)) / total
        dz = [[(d + 2 * _mp(lam) * x * mpmath.exp(_mp(z) - x)) / total for d, z in zip(drow, row)]
              for drow, row, x in zip(per_row["dz"], rows, lse)]
    # the same weights at scale 1: the gradient's own error there (label smoothing cancels at the class column)
    plain = _both(rows, r, weight=base.astype(dtype), reduction="mean", label_smoothing=eps, z_loss_scale=2.0 ** -7)
    for backend, (got_loss, got_dz) in _both(rows, r, weight=weight, reduction="mean", label_smoothing=eps,
                                             z_loss_scale=lam).items():
        u = ulps([float(got_loss)], [loss], dtype)
        assert u[0] <= BOUND[dtype], f"{backend}: mean {got_loss} vs {float(loss)} ({u[0]:.3g} ULP)"
        u = ulps(got_dz, dz, dtype)
        assert np.isfinite(got_dz).all(), f"{backend}: dz {got_dz}"
        np.testing.assert_allclose(got_dz, plain[backend][1], rtol=4 * np.finfo(dtype).eps, err_msg=backend)
        assert (u <= 2 * BOUND[dtype]).sum() >= len(u) - 1, f"{backend}: dz {u} ULP"


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_weighted_mean_nll_subnormal_weights(backend):
    """nll_loss's mean shares the divisor Σ w_r: its gradient −w_r/Σ w_r is finite with subnormal weights."""
    nll = load_kernel("nll_loss", backend)
    lp = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    w = np.array([1e-310, 2e-310, 3e-310])
    r = np.array([0, 2])
    if backend == "numpy":
        loss, dz = nll.nll_loss_grad(lp, r, w)
    else:
        loss, dz = (x.numpy() for x in nll.nll_loss_grad(torch.from_numpy(lp), torch.from_numpy(r), torch.from_numpy(w)))
    want = -(1 * lp[0, 0] + 3 * lp[1, 2]) / 4
    assert loss == pytest.approx(want, rel=1e-15)
    assert dz[0, 0] == pytest.approx(-0.25, rel=1e-15) and dz[1, 2] == pytest.approx(-0.75, rel=1e-15)
