"""The two-sum rule in the row-wise kernels (issue 16): softmax, log-softmax, logsumexp and
cross-entropy (its loss and gradient p − onehot), NumPy and Triton (under the interpreter where
there is no GPU), against mpmath at 50 digits and never worse than torch at any tested point.

The failing rows: one huge and one moderate logit, z = [m, m − d] with d from 1 to 745 (float64)
or 104 (float32) and m large, so that z_j − m rounds; e^(z_j − m) alone is then off by
|z_j − m|·ε/2 relative (256 ULP float64, 32 ULP float32), as torch.softmax is. Plus random rows.

Run as a script (``python tests/test_rowwise_twosum.py``) to print the worst errors per output.
"""
from __future__ import annotations

import os
import sys

import mpmath
import numpy as np
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from symnet.kernels import load_kernel  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
BOUND = {np.float64: 4.0, np.float32: 8.0}  # ULP, where the true result is normal
DPS = 50


# ------------------------------------------------------------------ rows

def hard_rows(dtype, count: int, seed: int = 0) -> np.ndarray:
    """(count, 2) rows [m, a]: a moderate logit a in (0.01, 2) and a huge one m = a + d, d from 1 to
    745 (float64) / 104 (float32), so that a − m rounds (z = [709, 1.72]), in random order."""
    rng = np.random.default_rng(seed)
    top = 745.0 if dtype == np.float64 else 104.0
    d = np.linspace(1.0, top, count) + rng.uniform(-0.5, 0.5, count)
    a = rng.uniform(0.01, 2, count).astype(dtype)
    rows = np.stack([(a + d).astype(dtype), a], axis=1)
    flip = rng.random(count) < 0.5
    rows[flip] = rows[flip][:, ::-1]
    return rows


def random_rows(dtype, count: int, V: int = 7, seed: int = 1) -> np.ndarray:
    """Random rows: spread 1 to 60, offsets up to ±600 (float64) / ±60 (float32)."""
    rng = np.random.default_rng(seed)
    spread = rng.uniform(1, 60, (count, 1))
    offset = rng.uniform(-1, 1, (count, 1)) * (600 if dtype == np.float64 else 60)
    return (rng.standard_normal((count, V)) * spread + offset).astype(dtype)


# ------------------------------------------------------------------ references

def exact(rows: np.ndarray, r: np.ndarray) -> dict:
    """mpmath at 50 digits: p, l, lse, the loss lse − z_r and its gradient p − onehot. log Σ_k e^{z_k − m}
    as log1p of the terms below the maximum (plus the entries at it less one), and p_j − 1 by expm1:
    at 50 digits, 1 + e^{−700} is 1, and m + log Σ − z_m keeps log Σ only to 10⁻⁴⁸ absolute."""
    out = {"p": [], "l": [], "lse": [], "loss": [], "dz": []}
    with mpmath.workdps(DPS):
        for row, cls in zip(rows, r):
            zs = [mpmath.mpf(float(x)) for x in row]
            m = max(zs)
            if not mpmath.isfinite(m):  # ±inf rows: not measured (tests of the extremes compare with torch)
                raise ValueError("exact() takes finite rows")
            rest = mpmath.fsum(mpmath.exp(x - m) for x in zs if x < m) + (sum(x == m for x in zs) - 1)
            log_sum = mpmath.log1p(rest)
            l = [(x - m) - log_sum for x in zs]
            out["p"].append([mpmath.exp(v) for v in l])
            out["l"].append(l)
            out["lse"].append(m + log_sum)
            out["loss"].append((m - zs[cls]) + log_sum)
            out["dz"].append([mpmath.expm1(v) if k == cls else mpmath.exp(v) for k, v in enumerate(l)])
    return out


def ulps(got, want, dtype) -> np.ndarray:
    """|got − want| / (|want|·ε), with the smallest normal as the floor of |want| (subnormals)."""
    info = np.finfo(dtype)
    got = np.asarray(got, dtype=np.float64).reshape(-1)
    flat = []
    for w in want:
        flat.extend(w if isinstance(w, list) else [w])
    out = np.empty(len(flat))
    for n, (g, w) in enumerate(zip(got, flat)):
        if not np.isfinite(g):
            out[n] = np.inf
            continue
        scale = max(abs(w) * mpmath.mpf(float(info.eps)), mpmath.mpf(float(info.tiny)))
        out[n] = float(abs(mpmath.mpf(float(g)) - w) / scale)
    return out


def scale(want, dtype) -> np.ndarray:
    """The unit of ulps(): max(|want|·ε, smallest normal)."""
    info = np.finfo(dtype)
    flat = []
    for w in want:
        flat.extend(w if isinstance(w, list) else [w])
    return np.array([max(abs(float(w)) * float(info.eps), float(info.tiny)) for w in flat])


def normal(want, dtype) -> np.ndarray:
    tiny = float(np.finfo(dtype).tiny)
    flat = []
    for w in want:
        flat.extend(w if isinstance(w, list) else [w])
    return np.array([abs(w) >= tiny for w in flat])


# ------------------------------------------------------------------ the kernels and torch

def symnet_outputs(backend: str, rows: np.ndarray, r: np.ndarray) -> dict:
    if backend == "numpy":
        sm, ls, le, ce = (load_kernel(m, "numpy") for m in ("softmax", "log_softmax", "logsumexp", "cross_entropy"))
        loss, dz = ce.cross_entropy_grad(rows, r, reduction="none")
        return {"p": sm.softmax(rows), "l": ls.log_softmax(rows), "lse": le.logsumexp(rows), "loss": loss, "dz": dz}
    sm, ls, le, ce = (load_kernel(m, "triton") for m in ("softmax", "log_softmax", "logsumexp", "cross_entropy"))
    z = torch.from_numpy(rows).to(DEVICE)
    loss, dz = ce.cross_entropy_grad(z, torch.from_numpy(r).to(DEVICE), reduction="none")
    return {k: v.cpu().numpy() for k, v in
            {"p": sm.softmax(z), "l": ls.log_softmax(z), "lse": le.logsumexp(z), "loss": loss, "dz": dz}.items()}


def torch_outputs(rows: np.ndarray, r: np.ndarray) -> dict:
    z = torch.from_numpy(rows).requires_grad_()
    loss = torch.nn.functional.cross_entropy(z, torch.from_numpy(r), reduction="none")
    (dz,) = torch.autograd.grad(loss.sum(), z)
    return {"p": torch.softmax(z, -1), "l": torch.log_softmax(z, -1), "lse": torch.logsumexp(z, -1),
            "loss": loss, "dz": dz}


def errors(backend: str, rows: np.ndarray, r: np.ndarray) -> dict:
    """{output: (ULP of symnet, ULP of torch, whether the true value is normal, the ULP's size)}, entry
    by entry."""
    dtype = rows.dtype.type
    want = exact(rows, r)
    ours, theirs = symnet_outputs(backend, rows, r), torch_outputs(rows, r)
    return {k: (ulps(ours[k], want[k], dtype), ulps(theirs[k].detach().numpy(), want[k], dtype),
                normal(want[k], dtype), scale(want[k], dtype)) for k in want}


def at_max(rows: np.ndarray, r: np.ndarray) -> dict:
    """Per output, the entries where the written form cancels (torch's, and symnet's before the log1p-sum
    rule): l_j, the loss and dz_r at the row's maximum (z_j − m − log Σ with log Σ = log(1 + tiny), p_r − 1)."""
    top = rows == rows.max(axis=1, keepdims=True)
    hit = top[np.arange(len(rows)), r]
    onehot = np.zeros_like(top)
    onehot[np.arange(len(rows)), r] = hit
    return {"p": np.zeros(top.size, bool), "l": top.reshape(-1), "lse": np.zeros(len(rows), bool),
            "loss": hit, "dz": onehot.reshape(-1)}


def _classes(rows, seed=2):
    return np.random.default_rng(seed).integers(0, rows.shape[1], len(rows))


CASES = [(b, d) for b in ("numpy", "triton") for d in (np.float64, np.float32)]


def _needs(backend):
    if backend == "triton":
        pytest.importorskip("triton")


@pytest.mark.parametrize("backend,dtype", CASES, ids=[f"{b}-{d.__name__}" for b, d in CASES])
@pytest.mark.parametrize("kind", ["hard", "random"])
def test_within_bound_and_never_worse_than_torch(backend, dtype, kind):
    """≤ 4 ULP (float64) / 8 ULP (float32) wherever the true result is normal — log-softmax, the loss and
    p_r − 1 at the row's maximum too, where torch cancels; never worse than torch elsewhere."""
    _needs(backend)
    rows = hard_rows(dtype, 48) if kind == "hard" else random_rows(dtype, 24)
    r = _classes(rows)
    cancel = {k: np.zeros_like(v) for k, v in at_max(rows, r).items()}  # none left (p_r − 1: the class-gap rule)
    bad = []
    eps = float(np.finfo(dtype).eps)
    for name, (ours, theirs, is_normal, unit) in errors(backend, rows, r).items():
        over = is_normal & ~cancel[name] & (ours > BOUND[dtype])
        # where both cancel (p_r − 1 at the maximum) both are off by the rounding of p_r ≈ 1 (ε/2,
        # absolute): "as torch" there is an absolute error ≤ max(2·torch's, 2ε)
        worse = np.where(cancel[name], ours * unit > np.maximum(2 * theirs * unit, 2 * eps),
                         (ours > theirs) & (ours > BOUND[dtype]))
        if over.any() or worse.any():
            bad.append(f"{name}: worst {ours[is_normal].max():.3g} ULP (torch {theirs[is_normal].max():.3g}), "
                       f"{int(over.sum())} over {BOUND[dtype]}, {int(worse.sum())} worse than torch")
    assert not bad, "; ".join(bad)


@pytest.mark.parametrize("backend,dtype", CASES, ids=[f"{b}-{d.__name__}" for b, d in CASES])
def test_gradient_at_the_maximum_within_bound(backend, dtype):
    """p_r − 1 at the row's maximum (the class-gap rule: (expm1(z_r − m) − (Σ − 1))/Σ), where torch cancels."""
    _needs(backend)
    rows = random_rows(dtype, 24)
    r = _classes(rows)
    ours, _, is_normal, _ = errors(backend, rows, r)["dz"]
    assert (ours[is_normal & at_max(rows, r)["dz"]] <= BOUND[dtype]).all()


def long_rows(dtype, V: int = 200, seed: int = 3) -> np.ndarray:
    """Rows read in tiles (with ONE_READ_MAX made small): moderate logits, and a maximum that first
    appears in a later tile (the running maximum grows), once or tied across two tiles."""
    rng = np.random.default_rng(seed)
    big = 700.0 if dtype == np.float64 else 85.0
    rows = rng.uniform(-3, 2, (4, V))
    rows[0, 150] = big  # one dominant entry, late: log Σ = log(1 + tiny)
    rows[1, 20], rows[1, 170] = big, big  # tied, in two tiles
    rows[2, 100] = 30.0  # a moderate maximum
    return rows.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_triton_tiled_rows_online_sums(monkeypatch, dtype):
    """The online path (rows longer than ONE_READ_MAX): the rescaled sums, and the sum less the maximum's
    term with its count of entries at the running maximum, as accurate as the one-read path."""
    _needs("triton")
    for module in ("softmax", "log_softmax", "logsumexp", "cross_entropy"):
        mod = load_kernel(module, "triton")
        monkeypatch.setattr(mod, "ONE_READ_MAX", 32)
        monkeypatch.setattr(mod, "TILE", 64)
    rows = long_rows(dtype)
    r = np.array([150, 20, 100, 7])
    bad = []
    for name, (ours, theirs, is_normal, _) in errors("triton", rows, r).items():
        measured = is_normal  # p_r − 1 at the maximum too (the class-gap rule)
        if (measured & (ours > BOUND[dtype])).any():
            bad.append(f"{name}: worst {ours[measured].max():.3g} ULP (torch {theirs[measured].max():.3g})")
    assert not bad, "; ".join(bad)


# ------------------------------------------------------------------ extremes: torch's answers

def _extreme_rows(dtype):
    inf = np.inf
    return [np.array(x, dtype) for x in (
        [[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [-inf, 0.5, 2.0], [inf, 1.0, -2.0], [-inf, -inf, 3.0]],
        [[0.7], [-3.0], [600.0 if dtype == np.float64 else 80.0]],
    )]


@pytest.mark.parametrize("backend,dtype", CASES, ids=[f"{b}-{d.__name__}" for b, d in CASES])
def test_extremes_give_torch_s_answers(backend, dtype):
    _needs(backend)
    for rows in _extreme_rows(dtype):
        r = np.zeros(len(rows), np.int64)
        if rows.shape[1] == 3:
            r[:] = 2
        ours, theirs = symnet_outputs(backend, rows, r), torch_outputs(rows, r)
        for k in ours:
            want = theirs[k].detach().numpy()
            np.testing.assert_allclose(np.asarray(ours[k], np.float64), want.astype(np.float64), rtol=1e-6,
                                       atol=0, equal_nan=True, err_msg=f"{backend} {k} at {rows.tolist()}")


def test_logsumexp_of_a_row_with_plus_infinity_is_infinity():
    lse = load_kernel("logsumexp", "numpy").logsumexp(np.array([[np.inf, 1.0, -2.0]]))
    assert lse[0] == np.inf


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_ignore_index_rows_still_count_for_nothing(backend):
    _needs(backend)
    rows = hard_rows(np.float64, 4)
    r = np.array([0, -100, 1, -100])
    if backend == "numpy":
        loss, dz = load_kernel("cross_entropy", "numpy").cross_entropy_grad(rows, r, reduction="none")
    else:
        loss, dz = (x.cpu().numpy() for x in load_kernel("cross_entropy", "triton").cross_entropy_grad(
            torch.from_numpy(rows).to(DEVICE), torch.from_numpy(r).to(DEVICE), reduction="none"))
    want = torch_outputs(rows, np.where(r < 0, 0, r))
    assert (loss[[1, 3]] == 0).all() and (dz[[1, 3]] == 0).all()
    np.testing.assert_allclose(loss[[0, 2]], want["loss"].detach().numpy()[[0, 2]], rtol=1e-12)


def main():
    """Worst ULP (normal true results) of symnet / torch per output; 'at max' where the written
    form cancels (log-softmax and the loss at the row's maximum, p_r − 1 there), apart from the rest."""
    backends = sys.argv[1:] or ["numpy", "triton"]
    for backend in backends:
        for dtype in (np.float64, np.float32):
            for kind, rows in (("hard", hard_rows(dtype, 48)), ("random", random_rows(dtype, 24))):
                r = _classes(rows)
                res, cancel = errors(backend, rows, r), at_max(rows, r)
                cells = []
                for name, (ours, theirs, is_normal, _) in res.items():
                    for where, mask in (("", is_normal & ~cancel[name]), (" at max", is_normal & cancel[name])):
                        if mask.any():
                            cells.append(f"{name}{where} {ours[mask].max():.3g}/{theirs[mask].max():.3g}")
                print(f"{backend:6s} {dtype.__name__:7s} {kind:6s}: " + ", ".join(cells), flush=True)


if __name__ == "__main__":
    main()
