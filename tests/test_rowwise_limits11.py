"""Row losses at logits near the largest float (issue 16, session 11): the gaps m − z_k of the cross-entropy
(class indices with label smoothing, soft targets) reach twice the largest float, their weighted sums V times
it, and a mean over rows sums losses each near it, where the exact loss (or the mean) is a normal number. Before
the scaled-gaps fallback the NumPy kernels returned +∞ there (float64 at ±1e308: ε = 0.1 rows of 1.1e307 and
1.3e308, soft-target rows of 1.0e308, means of 9.6e307; float32 at ±3e38: the mean of 2.9e38), as torch does.

The reference is mpmath at 50 digits, written here from the definition (lse − z_k with lse = m + log Σ_k e^{z_k − m});
the error is in ULPs of the exact value rounded to the dtype where that is normal, and +∞ is the answer exactly
where the exact value rounds past the largest float. Triton (under the interpreter where there is no GPU) on the
same rows, a few rows wide.
"""
from __future__ import annotations

import os

import mpmath
import numpy as np
import pytest

try:
    import torch
except ImportError:  # the NumPy tests run without it
    torch = None
if torch is not None and not torch.cuda.is_available():  # Triton in the interpreter (read when triton is imported)
    os.environ.setdefault("TRITON_INTERPRET", "1")

from symnet.kernels import load_kernel
from symnet.verify.rows import row_sets, ulp_errors

BOUND = {"float64": 4.0, "float32": 8.0}
BIG = {"float32": 3e38, "float64": 1e308}


def _big_set(dtype: str):
    """The accuracy table's ±big rows (symnet.verify.rows.row_sets, reduced: 3 rows of 9): uniform(−1, 1)·big with
    a tie at the maximum, alternating ±big, uniform(−1, 1)·big; their classes, soft targets and weights."""
    return next(s for s in row_sets(dtype, reduced=True) if s.name == f"±{BIG[dtype]:g}")


def big_rows(dtype: str) -> np.ndarray:
    return _big_set(dtype).z


def exact_losses(z, classes=None, targets=None, weight=None, eps=0.0) -> list:
    """mpmath at 50 digits: w_r(1 − ε)(lse − z_r) + (ε/V)Σ_k w_k(lse − z_k) per row (class indices), or
    Σ_k w_k((1 − ε)t_k + ε/V)(lse − z_k) (soft targets)."""
    out = []
    with mpmath.workdps(50):
        for n, row in enumerate(z):
            zs = [mpmath.mpf(float(x)) for x in row]
            V = len(zs)
            m = max(zs)
            lse = m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in zs))
            w = [mpmath.mpf(1)] * V if weight is None else [mpmath.mpf(float(x)) for x in weight]
            eps_ = mpmath.mpf(float(eps))
            if targets is None:
                c = int(classes[n])
                loss = w[c] * (1 - eps_) * (lse - zs[c]) + eps_ / V * mpmath.fsum(w[k] * (lse - zs[k]) for k in range(V))
            else:
                t = [mpmath.mpf(float(x)) for x in targets[n]]
                loss = mpmath.fsum(w[k] * ((1 - eps_) * t[k] + eps_ / V) * (lse - zs[k]) for k in range(V))
            out.append(loss)
    return out


def check(got, exact, dtype, what):
    """got within the bound of the exact values where they are normal, +∞ where they pass the largest float."""
    exact = list(exact)
    hi = np.array([float(x) for x in exact])
    with mpmath.workdps(50):
        lo = np.array([float(x - mpmath.mpf(h)) if np.isfinite(h) else 0.0 for x, h in zip(exact, hi)])
    err, mismatch = ulp_errors(np.asarray(got, np.float64).reshape(-1), hi, lo, dtype)
    assert not mismatch.any(), f"{what}: got {np.asarray(got).reshape(-1)}, exact {hi} (as {dtype}: {hi.astype(dtype)})"
    assert err.max() <= BOUND[dtype], f"{what}: {err.max():.3g} ULP (got {got}, exact {hi})"


def _mean(values, divisor):
    with mpmath.workdps(50):
        return [mpmath.fsum(values) / divisor]


CE = [  # (option, kwargs, reduction): the cells of the accuracy table that were +∞
    ("ε=0.1", {"label_smoothing": 0.1}, "none"),
    ("weight ε=0.1", {"label_smoothing": 0.1, "weighted": True}, "none"),
    ("mean", {}, "mean"),
    ("mean weight ε=0.1", {"label_smoothing": 0.1, "weighted": True}, "mean"),
    ("sum ε=0.1", {"label_smoothing": 0.1}, "sum"),
]
SOFT = [
    ("none", {}, "none"),
    ("weight", {"weighted": True}, "none"),
    ("ε=0.2", {"label_smoothing": 0.2}, "none"),
    ("mean weight ε=0.2", {"label_smoothing": 0.2, "weighted": True}, "mean"),
    ("sum", {}, "sum"),
]
CLASSES = _big_set("float64").classes  # [5, 7, 0]: row 1's class at the maximum, its loss small beside ε's


def _run(backend, name, z, target, weight, reduction, eps):
    mod = load_kernel("cross_entropy", backend)
    if backend == "triton":
        device = "cuda" if torch.cuda.is_available() else "cpu"
        conv = lambda x: None if x is None else torch.from_numpy(np.ascontiguousarray(x)).to(device)  # noqa: E731
        z, target, weight = conv(z), conv(target), conv(weight)
    args = (z, target, weight) + (() if name == "cross_entropy_soft" else (-100,)) + (reduction,)
    out = [getattr(mod, name)(*args, label_smoothing=eps), getattr(mod, name + "_grad")(*args, label_smoothing=eps)[0]]
    return [np.asarray(o.cpu().numpy() if hasattr(o, "cpu") else o, np.float64) for o in out]


def _cases():
    for soft, table in ((False, CE), (True, SOFT)):
        for option, kw, reduction in table:
            for dtype in ("float32", "float64"):
                yield pytest.param(soft, kw, reduction, dtype, id=f"{'soft' if soft else 'ce'}-{option}-{reduction}-{dtype}")


def _expected(soft, kw, reduction, dtype):
    z = big_rows(dtype)
    eps = kw.get("label_smoothing", 0.0)
    rows = _big_set(dtype)
    weight = rows.weight if kw.get("weighted") else None
    target = rows.targets if soft else rows.classes
    exact = exact_losses(z, targets=target if soft else None, classes=None if soft else target, weight=weight, eps=eps)
    if reduction != "none":
        divisor = 1 if reduction == "sum" else 3 if soft or weight is None else sum(float(weight[c]) for c in target)
        exact = _mean(exact, divisor)
    return z, target, weight, eps, exact


@pytest.mark.parametrize("soft, kw, reduction, dtype", list(_cases()))
def test_numpy_losses_at_the_largest_float(soft, kw, reduction, dtype):
    z, target, weight, eps, exact = _expected(soft, kw, reduction, dtype)
    name = "cross_entropy_soft" if soft else "cross_entropy"
    with np.errstate(all="ignore"):
        for which, got in zip(("value", "grad"), _run("numpy", name, z, target, weight, reduction, eps)):
            check(got, exact, dtype, f"numpy {name} {which}")


def test_the_normal_rows_are_untouched():
    """Rows of ordinary logits beside the ±big ones: their losses as they are alone (the fallback touches only
    the rows that overflowed), and a mean over ordinary rows only equals the plain kernel's sum/N."""
    mod = load_kernel("cross_entropy", "numpy")
    rng = np.random.default_rng(3)
    small = rng.standard_normal((4, 9))
    z = np.concatenate([big_rows("float64"), small])
    r = np.concatenate([CLASSES, [1, 2, 3, 4]])
    with np.errstate(all="ignore"):
        both = mod.cross_entropy(z, r, reduction="none", label_smoothing=0.1)
    alone = mod.cross_entropy(small, r[3:], reduction="none", label_smoothing=0.1)
    assert np.array_equal(both[3:], alone)
    check(both[:3], exact_losses(z[:3], classes=CLASSES, eps=0.1), "float64", "big rows beside small ones")


def test_harness_counts_an_overflowing_exact_value():
    """ulp_errors: where the exact value rounds past the largest float, +∞ is right and a finite result a mismatch;
    where it is normal, +∞ is a mismatch."""
    hi = np.array([np.inf, 1e308, 3.5e38])  # the exact value's float: +∞ past the range (_double_word)
    lo = np.zeros(3)
    err, mismatch = ulp_errors(np.array([np.inf, np.inf, np.inf]), hi, lo, "float64")
    assert mismatch.tolist() == [False, True, True] and err.max() == 0
    err, mismatch = ulp_errors(np.array([np.finfo(np.float64).max, 1e308, 3.5e38]), hi, lo, "float64")
    assert mismatch.tolist() == [True, False, False]
    err, mismatch = ulp_errors(np.array([np.inf, np.inf]), np.array([3.5e38, 3.0e38]), np.zeros(2), "float32")
    assert mismatch.tolist() == [False, True]  # 3.5e38 rounds past float32's largest (3.4028235e38)


TRITON_CASES = [pytest.param(False, {"label_smoothing": 0.1}, "none", "float64", id="ce-ε=0.1-none-float64"),
                pytest.param(True, {}, "none", "float64", id="soft-none-none-float64"),
                pytest.param(True, {"label_smoothing": 0.2}, "none", "float64", id="soft-ε=0.2-none-float64"),
                pytest.param(False, {}, "mean", "float32", id="ce-mean-mean-float32"),
                pytest.param(False, {}, "mean", "float64", id="ce-mean-mean-float64")]


@pytest.mark.parametrize("soft, kw, reduction, dtype", TRITON_CASES)
def test_triton_losses_at_the_largest_float(soft, kw, reduction, dtype):
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    z, target, weight, eps, exact = _expected(soft, kw, reduction, dtype)
    name = "cross_entropy_soft" if soft else "cross_entropy"
    for which, got in zip(("value", "grad"), _run("triton", name, z, target, weight, reduction, eps)):
        check(got, exact, dtype, f"triton {name} {which}")
