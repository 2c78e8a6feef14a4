"""The row-wise accuracy faults of issue 16 left by the two-sum and log1p-sum rules, NumPy and Triton (under
the interpreter where there is no GPU), against mpmath at 50 digits and torch:

- the sum-gap rule: label smoothing (ε/V)Σ_k w_k(lse − z_k) and soft targets Σ_k a_k(lse − z_k), once written
  lse·Σ_k a_k − Σ_k a_k z_k, cancelled at large logits (36 ULP in float64 where torch had 0.9);
- the class-gap rule: the gradient p_r − 1 at the row's maximum (see also tests/test_rowwise_twosum.py);
- the infinite-max rule: logsumexp of a row holding +∞ is +∞, as torch's; softmax, log-softmax and
  cross-entropy of such a row are NaN, as torch's.

Run as a script (``python tests/test_rowwise7.py [numpy|triton]``) to print the worst errors, symnet / torch.
"""
from __future__ import annotations

import os
import sys
import warnings

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():  # the Triton kernels run in the interpreter (read when triton is imported)
    os.environ.setdefault("TRITON_INTERPRET", "1")

from symnet.kernels import load_kernel  # noqa: E402

F = torch.nn.functional
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BOUND = {np.float64: 4.0, np.float32: 8.0}  # ULP, where the true result is normal
DPS = 50
CASES = [(b, d) for b in ("numpy", "triton") for d in (np.float64, np.float32)]
IDS = [f"{b}-{d.__name__}" for b, d in CASES]


# ------------------------------------------------------------------ rows

def large_rows(dtype, count: int = 16, V: int = 6, seed: int = 0) -> np.ndarray:
    """Logits at large offsets (±180 to ±600) with spreads from 0.5 to 30, and rows [m, m − d] padded with
    moderate entries, d up to 600 (float64) / 80 (float32): lse·Σ_k a_k and Σ_k a_k z_k are then both
    ≈ m·Σ_k a_k, far above their difference."""
    rng = np.random.default_rng(seed)
    top = 600.0 if dtype == np.float64 else 80.0
    spread = rng.uniform(0.5, 30, (count, 1))
    offset = rng.choice([-1.0, 1.0], (count, 1)) * rng.uniform(0.3, 1.0, (count, 1)) * 600.0
    rows = rng.standard_normal((count, V)) * spread + offset
    apart = rng.uniform(-1, 1, (count, V)) * 2
    apart[:, 0] = np.linspace(1, top, count)
    return np.concatenate([rows, apart]).astype(dtype)


def _classes(rows, seed=2):
    return np.random.default_rng(seed).integers(0, rows.shape[1], len(rows))


def _weights(V, seed=3):
    return np.random.default_rng(seed).uniform(0.2, 3.0, V)


def _soft_targets(rows, seed=4):
    t = np.random.default_rng(seed).dirichlet(np.ones(rows.shape[1]), len(rows))
    return t.astype(rows.dtype)


# ------------------------------------------------------------------ references

def _mp(x):
    return mpmath.mpf(float(x))


def exact(rows, eps: float, weight=None, r=None, t=None) -> dict:
    """mpmath at 50 digits: the loss of each row and ∂C/∂z, for class indices r or soft targets t:
    C = w_r(1 − ε)(lse − z_r) + (ε/V)Σ_k w_k(lse − z_k), or Σ_k w_k((1 − ε)t_k + ε/V)(lse − z_k);
    lse = m + log1p(Σ_{z_k < m} e^{z_k − m} + (#{z_k = m} − 1)); p_r − 1 by expm1 (1 + e^{−700} is 1 at 50 digits)."""
    loss, dz = [], []
    V = rows.shape[1]
    w = [mpmath.mpf(1)] * V if weight is None else [_mp(x) for x in np.asarray(weight, rows.dtype)]
    e = _mp(np.asarray(eps, rows.dtype))
    with mpmath.workdps(DPS):
        for n, row in enumerate(rows):
            zs = [_mp(x) for x in row]
            m = max(zs)
            rest = mpmath.fsum(mpmath.exp(x - m) for x in zs if x < m) + (sum(x == m for x in zs) - 1)
            log_sum = mpmath.log1p(rest)
            gap = [(m - x) + log_sum for x in zs]  # lse − z_k
            p = [mpmath.exp(-g) for g in gap]
            if t is not None:
                a = [w[k] * ((1 - e) * _mp(t[n, k]) + e / V) for k in range(V)]
                loss.append(mpmath.fsum(ak * g for ak, g in zip(a, gap)))
                total = mpmath.fsum(a)
                dz.append([p[k] * total - a[k] for k in range(V)])
                continue
            c = r[n]
            smooth = e / V * mpmath.fsum(wk * g for wk, g in zip(w, gap))
            loss.append(w[c] * (1 - e) * gap[c] + smooth)
            sw = mpmath.fsum(w)
            row_dz = []
            for k in range(V):
                hot = w[c] * (1 - e) * (mpmath.expm1(-gap[k]) if k == c else p[k])
                row_dz.append(hot + e / V * (sw * p[k] - w[k]))
            dz.append(row_dz)
    return {"loss": loss, "dz": dz}


def ulps(got, want, dtype) -> np.ndarray:
    """|got − want| / max(|want|·ε, smallest normal), entry by entry (inf where got is not finite)."""
    info = np.finfo(dtype)
    flat = [x for w in want for x in (w if isinstance(w, list) else [w])]
    got = np.asarray(got, np.float64).reshape(-1)
    out = np.empty(len(flat))
    for n, (g, w) in enumerate(zip(got, flat)):
        scale = max(abs(w) * _mp(info.eps), _mp(info.tiny))
        out[n] = float(abs(_mp(g) - w) / scale) if np.isfinite(g) else np.inf
    return out


def symnet_ce(backend, rows, target, weight=None, eps=0.0, ignore_index=-100):
    """(loss per row, dz) of the generated cross_entropy_grad (class indices) or cross_entropy_soft_grad."""
    soft = target.dtype.kind == "f"
    if backend == "numpy":
        ce = load_kernel("cross_entropy", "numpy")
        w = None if weight is None else np.asarray(weight, rows.dtype)
        if soft:
            return ce.cross_entropy_soft_grad(rows, target, w, reduction="none", label_smoothing=eps)
        return ce.cross_entropy_grad(rows, target, w, ignore_index, reduction="none", label_smoothing=eps)
    ce = load_kernel("cross_entropy", "triton")
    z, tt = torch.from_numpy(rows).to(DEVICE), torch.from_numpy(target).to(DEVICE)
    w = None if weight is None else torch.from_numpy(np.asarray(weight, rows.dtype)).to(DEVICE)
    if soft:
        loss, dz = ce.cross_entropy_soft_grad(z, tt, w, reduction="none", label_smoothing=eps)
    else:
        loss, dz = ce.cross_entropy_grad(z, tt, w, ignore_index, reduction="none", label_smoothing=eps)
    return loss.cpu().numpy(), dz.cpu().numpy()


def torch_ce(rows, target, weight=None, eps=0.0, ignore_index=-100):
    z = torch.from_numpy(rows).requires_grad_()
    w = None if weight is None else torch.from_numpy(np.asarray(weight, rows.dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = F.cross_entropy(z, torch.from_numpy(target), weight=w, ignore_index=ignore_index, reduction="none",
                               label_smoothing=eps)
        (dz,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach().numpy(), dz.numpy()


def measure(backend, rows, eps, weight=None, soft=False) -> dict:
    """{output: (ULP of symnet, ULP of torch, whether the true value is normal)}."""
    dtype = rows.dtype.type
    target = _soft_targets(rows) if soft else _classes(rows)
    want = exact(rows, eps, weight, t=target if soft else None, r=None if soft else target)
    ours, theirs = symnet_ce(backend, rows, target, weight, eps), torch_ce(rows, target, weight, eps)
    tiny = float(np.finfo(dtype).tiny)
    out = {}
    for n, name in enumerate(("loss", "dz")):
        flat = [x for w in want[name] for x in (w if isinstance(w, list) else [w])]
        out[name] = (ulps(ours[n], want[name], dtype), ulps(theirs[n], want[name], dtype),
                     np.array([abs(x) >= tiny for x in flat]))
    return out


# ------------------------------------------------------------------ the sum-gap rule

@pytest.mark.parametrize("backend,dtype", CASES, ids=IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_label_smoothing_loss_within_bound(backend, dtype, weighted):
    """The smoothed loss ≤ 4 ULP (float64) / 8 (float32) at large logits, with and without class weights
    (torch: ~1 ULP; the form lse·Σ_k w_k − Σ_k w_k z_k: 36 ULP float64)."""
    _needs(backend)
    rows = large_rows(dtype)
    weight = _weights(rows.shape[1]) if weighted else None
    ours, theirs, normal = measure(backend, rows, 0.1, weight)["loss"]
    assert (ours[normal] <= BOUND[dtype]).all(), \
        f"loss: worst {ours[normal].max():.3g} ULP (torch {theirs[normal].max():.3g}) at row {int(ours.argmax())}"


@pytest.mark.parametrize("backend,dtype", CASES, ids=IDS)
def test_soft_target_loss_within_bound(backend, dtype):
    """Soft targets Σ_k a_k(lse − z_k), with and without label smoothing: ≤ 4 / 8 ULP at large logits."""
    _needs(backend)
    rows = large_rows(dtype, count=8)
    for eps in (0.0, 0.2):
        ours, theirs, normal = measure(backend, rows, eps, _weights(rows.shape[1]), soft=True)["loss"]
        assert (ours[normal] <= BOUND[dtype]).all(), \
            f"ε={eps}: worst {ours[normal].max():.3g} ULP (torch {theirs[normal].max():.3g})"


@pytest.mark.parametrize("backend,dtype", CASES, ids=IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_label_smoothing_gradient_never_worse_than_torch(backend, dtype, weighted):
    """∂C/∂z with label smoothing, entry by entry: within twice the bound (8 ULP float64, 16 float32) or twice
    torch's error. At the class column the gradient (1 − ε)w_r(p_r − 1) + (ε/V)(Σ_k w_k·p_r − w_r) adds terms
    of both signs, which cancel near its zero (in torch too): a few ULP more there are its conditioning."""
    _needs(backend)
    rows = large_rows(dtype)
    ours, theirs, normal = measure(backend, rows, 0.1, _weights(rows.shape[1]) if weighted else None)["dz"]
    bad = normal & (ours > 2 * BOUND[dtype]) & (ours > 2 * theirs)
    assert not bad.any(), f"dz: {int(bad.sum())} entries over the bound and worse than torch " \
        f"(worst {ours[normal].max():.3g} ULP, torch {theirs[normal].max():.3g})"


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_masked_logits_and_ignored_rows_give_torch_s_answers(backend):
    """−∞ logits (masked classes) with label smoothing: the loss is +∞ where a weighted class is masked
    (torch's); ignored rows count for nothing; class weights; float64 and float32."""
    _needs(backend)
    inf = np.inf
    for dtype in (np.float64, np.float32):
        rows = np.array([[-inf, 0.5, 2.0, 1.0], [3.0, -inf, -inf, 1.0], [600.0, 599.0, -inf, 598.5],
                         [1.0, 2.0, 3.0, 4.0], [-inf, -inf, 5.0, 4.0], [-inf, 0.5, 2.0, 1.0]], dtype)
        r = np.array([2, 0, 1, -100, 3, 0])  # the last: the class itself masked (loss +∞, p_r − 1 = −1)
        for weight in (None, np.array([1.0, 2.0, 0.5, 1.5])):
            for eps in (0.0, 0.1):
                ours = symnet_ce(backend, rows, r, weight, eps)
                want = torch_ce(rows, r, weight, eps)
                for name, a, b in zip(("loss", "dz"), ours, want):
                    np.testing.assert_allclose(np.asarray(a, np.float64), b.astype(np.float64), rtol=1e-5, atol=0,
                                               equal_nan=True, err_msg=f"{backend} {dtype.__name__} {name} "
                                               f"weight={weight is not None} ε={eps}")


def test_sum_gap_rule_fires_on_the_smoothing_and_soft_terms_only():
    from symnet.rowwise_registry import row_kernels
    kernels = {k.name: k for k in row_kernels("cross_entropy")}
    for name in ("cross_entropy", "cross_entropy_soft", "cross_entropy_grad", "cross_entropy_soft_grad"):
        assert "sum-gap" in [q.name for q in kernels[name].rules], name
    softmax = {k.name: k for k in row_kernels("softmax")}
    assert "sum-gap" not in [q.name for q in softmax["softmax_grad"].rules]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_triton_tiled_rows_gap_sum(monkeypatch, dtype):
    """A row read in tiles (ONE_READ_MAX made small): Σ_k w_k(m − z_k) with a running maximum that grows
    (by (m' − m)·Σ_k w_k so far), from a first tile of −∞ too, as accurate as the one-read path."""
    _needs("triton")
    mod = load_kernel("cross_entropy", "triton")
    monkeypatch.setattr(mod, "ONE_READ_MAX", 32)
    monkeypatch.setattr(mod, "TILE", 64)
    rng = np.random.default_rng(5)
    rows = (600 + rng.uniform(-0.5, 0.5, (3, 200))).astype(dtype)  # before the rule: 10 / 13 ULP
    rows[0, 150] = 601  # the maximum in a late tile
    rows[1, :70] = -np.inf  # a first tile of −∞, then the maximum
    rows[1, 100] = 605
    rows[2, 10] = 602
    weight = _weights(200)
    r = np.array([150, 100, 7])
    ours = symnet_ce("triton", rows, r, weight, 0.1)
    want = exact(np.where(np.isinf(rows), -1e300 if dtype == np.float64 else -3e38, rows), 0.1, weight, r=r)
    loss_ulp = ulps(ours[0], want["loss"], dtype)
    assert np.isinf(ours[0][1])  # a masked class of weight > 0: +∞, as torch's
    assert (loss_ulp[[0, 2]] <= BOUND[dtype]).all(), f"tiled loss: {loss_ulp} ULP"
    np.testing.assert_allclose(ours[0], torch_ce(rows, r, weight, 0.1)[0], rtol=1e-5)
    finite = rows[[0, 2]]  # soft targets: Σ_k a_k(m − z_k) over the tiles too
    t = _soft_targets(finite)
    soft, _ = symnet_ce("triton", finite, t, weight, 0.1)
    soft_ulp = ulps(soft, exact(finite, 0.1, weight, t=t)["loss"], dtype)
    assert (soft_ulp <= BOUND[dtype]).all(), f"tiled soft-target loss: {soft_ulp} ULP"


# ------------------------------------------------------------------ the rules as identities

def _at_v3(e, values, m):
    """e at V = 3, entries ``values``, the row maximum m, to 40 digits (independent of the rules' own check)."""
    from symnet.codegen.families import rowwise as rw
    e = e.xreplace({rw.rowmax(rw.z): m}).subs({rw.V: 3, rw.r: 1}).doit()
    return e.xreplace(values).evalf(40)


def test_new_row_rules_are_identities():
    """class-gap, sum-gap and infinite-max rewrite to the same value (40 digits, V = 3, random entries), and
    infinite-max gives +∞ where the maximum is +∞."""
    import sympy as sp
    from symnet.codegen.families import rowwise as rw
    k = sp.Symbol("k", integer=True)
    rules = {q.name: q for q in rw.ROW_RULES}
    total = sp.Sum(sp.exp(rw.z[k]), (k, 0, rw.V - 1))
    m = rw.rowmax(rw.z)
    shifted = sp.Sum(sp.exp(rw.z[k] - m), (k, 0, rw.V - 1))
    lse = m + sp.log(shifted)
    eps = rw.LABEL_SMOOTHING
    cases = {"class-gap": rw.w[rw.r] * sp.exp(rw.z[rw.r]) / total - rw.w[rw.r],
             "sum-gap": eps / rw.V * (lse * sp.Sum(rw.w[k], (k, 0, rw.V - 1))
                                       - sp.Sum(rw.w[k] * rw.z[k], (k, 0, rw.V - 1))) + lse ** 2,
             "infinite-max": lse}
    rng = np.random.default_rng(6)
    for name, before in cases.items():
        after = rules[name].apply(before)
        assert after != before, name
        for _ in range(3):
            zs = rng.uniform(-5, 5, 3)
            values = {rw.z[q]: sp.Float(zs[q], 40) for q in range(3)}
            values.update({rw.w[q]: sp.Float(rng.uniform(0.1, 2), 40) for q in range(3)})
            values[eps] = sp.Float(0.1, 40)
            mx = sp.Float(zs.max(), 40)
            a, b = _at_v3(before, values, mx), _at_v3(after, values, mx)
            assert abs(a - b) <= 1e-35 * (1 + abs(a)), (name, a, b)
    assert rules["infinite-max"].apply(lse).xreplace({m: sp.oo}) == sp.oo


# ------------------------------------------------------------------ +∞ in a row

@pytest.mark.parametrize("backend,dtype", CASES, ids=IDS)
def test_rows_with_plus_infinity_give_torch_s_answers(backend, dtype):
    """logsumexp +∞ (the infinite-max rule); softmax, log-softmax, cross-entropy (with label smoothing too)
    NaN, as torch's: a row holding +∞ has no limit of p there (∞/∞)."""
    _needs(backend)
    inf = np.inf
    rows = np.array([[inf, 1.0, -2.0], [1.0, inf, inf], [-inf, inf, 0.0], [0.5, 1.5, -1.0]], dtype)
    r = np.array([0, 1, 2, 1])
    mods = {m: load_kernel(m, backend) for m in ("softmax", "log_softmax", "logsumexp")}
    z = rows if backend == "numpy" else torch.from_numpy(rows).to(DEVICE)
    ours = {"lse": mods["logsumexp"].logsumexp(z), "p": mods["softmax"].softmax(z),
            "l": mods["log_softmax"].log_softmax(z)}
    ours = {k: np.asarray(v if backend == "numpy" else v.cpu().numpy(), np.float64) for k, v in ours.items()}
    zt = torch.from_numpy(rows)
    want = {"lse": torch.logsumexp(zt, -1), "p": torch.softmax(zt, -1), "l": torch.log_softmax(zt, -1)}
    for k in ours:
        np.testing.assert_allclose(ours[k], want[k].double().numpy(), rtol=1e-6, equal_nan=True, err_msg=k)
    assert (ours["lse"][:3] == inf).all()
    for eps in (0.0, 0.1):
        loss, _ = symnet_ce(backend, rows, r, None, eps)
        np.testing.assert_allclose(np.asarray(loss, np.float64), torch_ce(rows, r, None, eps)[0].astype(np.float64),
                                   rtol=1e-6, equal_nan=True, err_msg=f"loss ε={eps}")


def _needs(backend):
    if backend == "triton":
        pytest.importorskip("triton")


def main():
    backends = [b for b in sys.argv[1:] if b in ("numpy", "triton")] or ["numpy", "triton"]
    for backend in backends:
        for dtype in (np.float64, np.float32):
            rows = large_rows(dtype)
            cells = []
            for what, kw in (("ε=0.1", {}), ("ε=0.1 w", {"weight": _weights(6)}),
                             ("soft ε=0.2 w", {"weight": _weights(6), "soft": True})):
                res = measure(backend, rows, 0.2 if "soft" in what else 0.1, **kw)
                for name, (ours, theirs, normal) in res.items():
                    cells.append(f"{what} {name} {ours[normal].max():.3g}/{theirs[normal].max():.3g}")
            print(f"{backend:6s} {dtype.__name__:7s}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
