"""float64 softcap c = s·tanh(z/s) (issue 16, tenth session), NumPy and Triton (the public
``symnet.torch.functional.cross_entropy``; under the interpreter where there is no GPU), against mpmath at 50 digits.

A float64 c is off by its rounding, about s·ε absolute, and c_k − c_r keeps it: e^{c_k − c_r} makes it relative
(the loss of a confident row 30 ULP, its gradient 31). ∂c/∂z = sech²(z/s) of the rounded z/s was |2z/s|·ε/2 off
(337 ULP at z = ±1e4, s = 30). The kernels compute c in double-word (c + c_lo, c_lo in every gap c_j − m) and
sech² from z/s as a double-word. At a row of width 1 with label smoothing and the z-loss, the value at the class
column added ε·p_r·Σw/V, then 2λ·lse·p_r, then −ε·w_r/V: the first and last cancel exactly, and the z-loss's term
was left with the rounding of ε/V (120 ULP; torch 1).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

from conftest import torch_and_triton

torch, triton = torch_and_triton()

import symnet.torch.functional as SF  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402

from test_rowwise7 import ulps  # noqa: E402

BOUND = 4.0  # ULPs, float64 (issue 16)


def _exact(rows, classes, s, eps=0.0, lam=0.0):
    """(losses, gradients) in mpmath at 50 digits: C = (1 − ε)(lse − c_r) + (ε/V)Σ_k(lse − c_k) + λ·lse², c = s·tanh(z/s);
    ∂C/∂z_j = ((1 − ε)(p_j − δ_jr) + ε(p_j − 1/V) + 2λ·lse·p_j)·sech²(z_j/s)."""
    losses, grads = [], []
    with mpmath.workdps(50):
        cap = mpmath.mpf(float(s))
        e, lam = mpmath.mpf(float(eps)), mpmath.mpf(float(lam))
        for row, r in zip(rows, classes):
            zs = [mpmath.mpf(float(x)) for x in row]
            cs = [cap * mpmath.tanh(x / cap) for x in zs]
            m = max(cs)
            lse = m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in cs))
            V = len(zs)
            p = [mpmath.exp(x - lse) for x in cs]
            losses.append((1 - e) * (lse - cs[r]) + e / V * mpmath.fsum(lse - x for x in cs) + lam * lse ** 2)
            hot = [mpmath.expm1(x - lse) if k == r else p[k] for k, x in enumerate(cs)]  # p_j − δ_jr
            grads.append([((1 - e) * hot[k] + e * (p[k] - mpmath.mpf(1) / V) + 2 * lam * lse * p[k])
                          * mpmath.sech(zs[k] / cap) ** 2 for k in range(V)])
    return losses, grads


def _run(backend, rows, classes, **options):
    """([loss per row, …], ∂(Σ loss)/∂z): cross_entropy's and cross_entropy_grad's (NumPy), the torch API's (Triton)."""
    if backend == "numpy":
        ce = load_kernel("cross_entropy", "numpy")
        value = ce.cross_entropy(rows, classes, reduction="none", **options)
        loss, dz = ce.cross_entropy_grad(rows, classes, reduction="none", **options)
        return [value, loss], dz
    z = torch.from_numpy(rows).requires_grad_()
    loss = SF.cross_entropy(z, torch.from_numpy(classes), reduction="none", **options)
    (dz,) = torch.autograd.grad(loss.sum(), z)
    return [loss.detach().numpy()], dz.numpy()


def _worst(backend, rows, classes, s, eps=0.0, lam=0.0):
    losses, grads = _exact(rows, classes, s, eps, lam)
    values, dz = _run(backend, rows, classes, softcap=s, label_smoothing=eps, z_loss_scale=lam)
    return max(ulps(v, losses, np.float64).max() for v in values), ulps(dz, grads, np.float64).max()


def _rows(kind, backend):
    """Row sets: random N(0, 10) logits (the rounding of c at |c| near s); logits up to ±1e4 (sech² of a large z/s);
    width 1 (the class column's ε terms); odd widths, smaller under the Triton interpreter."""
    rng = np.random.default_rng(10)
    n, V = (24, 37) if backend == "numpy" else (5, 11)
    if kind == "random":
        rows = rng.standard_normal((n, V)) * 10
    elif kind == "large":
        rows = rng.uniform(-1.2e4, 1.2e4, (n, V))
        rows[0, :4] = [1e4, -1e4, 333.0, -2e3]
    elif kind == "confident":  # the class's logit 20 … 200 above the others: a loss down to 1e-20
        rows = rng.standard_normal((n, V)) * 3
        classes = rng.integers(0, V, n)
        rows[np.arange(n), classes] = rng.uniform(20, 200, n)
        return rows, classes
    else:  # width 1
        rows = rng.standard_normal((n, 1)) * 3
        rows[0, 0] = 0.3
    return rows, rng.integers(0, rows.shape[1], len(rows))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("kind,eps,lam", [("random", 0.0, 0.0), ("random", 0.1, 1e-4), ("large", 0.0, 0.0),
                                          ("large", 0.1, 1e-4), ("width 1", 0.1, 1e-4)],
                         ids=["random", "random ε λ", "large", "large ε λ", "width 1 ε λ"])
def test_softcap_float64_within_bound(backend, kind, eps, lam):
    """Loss and gradient within 4 ULP of mpmath (NumPy before: random 12, with ε and λ 15; ±1e4 337 and 401;
    width 1 with ε and λ 120; Triton before: random 32, ±1e4 337)."""
    rows, classes = _rows(kind, backend)
    loss, dz = _worst(backend, rows, classes, 30.0, eps, lam)
    assert loss <= BOUND, f"{backend} {kind}: loss {loss:.3g} ULP"
    assert dz <= BOUND, f"{backend} {kind}: dz {dz:.3g} ULP"


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_softcap_float64_confident_rows(backend):
    """A confident row's tiny loss e^{−(c_r − c_k)} (down to 1e-20) and its gradient, softcaps 15, 30, 50: NumPy
    before 30 ULP (loss) and 31 (dz), after 1.4 and 2.2."""
    rng = np.random.default_rng(0)
    n = 40 if backend == "numpy" else 8
    for s in (15.0, 30.0, 50.0):
        rows = rng.standard_normal((n, 8)) * 3
        classes = rng.integers(0, 8, n)
        rows[np.arange(n), classes] = rng.uniform(20, 200, n)
        loss, dz = _worst(backend, rows, classes, s)
        assert loss <= BOUND, f"{backend} s={s}: loss {loss:.3g} ULP"
        assert dz <= BOUND, f"{backend} s={s}: dz {dz:.3g} ULP"


def test_softcap_double_word_keeps_special_values():
    """NumPy: ±∞ logits are capped to ±s (gradient 0 there), ±1e308 and a subnormal too; a NaN logit makes its row
    NaN."""
    ce = load_kernel("cross_entropy", "numpy")
    rows = np.array([[np.inf, 1.0, -np.inf, 2.0], [np.nan, 1.0, 0.0, 2.0], [1e308, -1e308, 5e-324, 0.0]])
    loss, dz = ce.cross_entropy_grad(rows, np.array([1, 2, 3]), reduction="none", softcap=30.0)
    want, grads = _exact(rows[[0, 2]], [1, 3], 30.0)
    assert ulps(loss[[0, 2]], want, np.float64).max() <= BOUND
    assert ulps(dz[[0, 2]], grads, np.float64).max() <= BOUND
    assert np.isnan(loss[1]) and np.isnan(dz[1]).all()
    assert dz[0, 0] == 0 and dz[0, 2] == 0


@pytest.mark.parametrize("kind,eps,lam", [("random", 0.1, 1e-4), ("large", 0.0, 0.0), ("confident", 0.0, 0.0)])
def test_softcap_float64_triton_tiles(monkeypatch, kind, eps, lam):
    """Triton's tiled rows (ONE_READ_MAX and TILE made small: rows of 11 in tiles of 4): the running maximum's low
    part follows it from tile to tile (a class logit of 20 … 200 in any tile), the sums rescaled by e^{m − m'} take
    m_lo − m'_lo, the gaps Σ_k w_k(m − c_k) grow by (m' − m) + (m'_lo − m_lo)."""
    mod = load_kernel("cross_entropy", "triton")
    monkeypatch.setattr(mod, "ONE_READ_MAX", 8)
    monkeypatch.setattr(mod, "TILE", 4)
    rows, classes = _rows(kind, "triton")
    loss, dz = _worst("triton", rows, classes, 30.0, eps, lam)
    assert loss <= BOUND, f"{kind}: loss {loss:.3g} ULP"
    assert dz <= BOUND, f"{kind}: dz {dz:.3g} ULP"
