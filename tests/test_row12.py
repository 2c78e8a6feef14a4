"""Row losses at the float range's ends and the loss arguments' domains (session 12, helper h-row12).

1. A mean over rows whose losses are each near the largest float: Σ_r ℓ_r overflows where the mean does not.
   NumPy took it at a scale 2^-k (_row_reduction); Triton's last program summed in float64 and stored +∞ (the
   soft-target cross-entropy at ±1e308: mean 9.1e307, torch +∞; the plain softmax cross-entropy of two rows of
   loss 1.5e308: mean 1.5e308). The reference is mpmath at 50 digits (test_rowwise_limits11's exact_losses).
2. The z-loss λ·lse² in the scaled-gaps fallback (a row whose gap sums overflowed): Triton's value kernel formed
   lse² alone, +∞ past lse = 1.3e154 where λ·lse² (and the loss) is a normal number; it is (λ·lse)·(2^-k·lse)
   now, as NumPy's. Where λ·lse² itself passes the largest float the loss is +∞, and that is right.
3. Argument domains (the registry's ArgumentDomain): gaussian_nll's var < 0 and bce's p, t outside [0, 1] gave
   numbers (max(var, eps) = eps); torch refuses them. symnet refuses them in one line naming the argument, on the
   torch path (symnet.torch.functional.loss) and for a number in a formula (the parser).
4. A numpy.ma masked array given to a NumPy kernel (committed row kernels, compiled formulas) had its mask
   dropped silently by np.asarray: refused in one line (_unmasked), the argument named.
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

import symnet
from symnet.errors import DomainError
from symnet.kernels import load_kernel
from test_rowwise_limits11 import _expected, _run, check, exact_losses  # noqa: E402


def _device():
    return "cuda" if torch.cuda.is_available() else "cpu"


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2, "weighted": True}], ids=["plain", "weight-eps"])
def test_triton_soft_target_mean_at_the_largest_float(kw):
    """3 rows of ±1e308 (float64), soft targets: each loss ≈ 1e308, their sum past the largest float, the mean
    9.1e307 (1.5e308 weighted with ε = 0.2). Before: +∞ (value and the fused kernel's loss); torch: +∞."""
    pytest.importorskip("triton")
    z, target, weight, eps, exact = _expected(True, kw, "mean", "float64")
    assert np.isfinite(float(exact[0]))
    for which, got in zip(("value", "grad"), _run("triton", "cross_entropy_soft", z, target, weight, "mean", eps)):
        check(got, exact, "float64", f"triton cross_entropy_soft {which}")


def test_triton_plain_mean_of_rows_near_the_largest_float():
    """softmax_cross_entropy (no options: _sum_when_last) of two rows [1e308, −5e307, ·] at class 1: each loss
    1.5e308, the mean 1.5e308. Before: +∞ (torch: +∞); NumPy: 1.5e308."""
    pytest.importorskip("triton")
    z = np.array([[1e308, -5e307, 0.0], [1e308, -5e307, 1.0]])
    r = np.array([1, 1])
    exact = [sum(exact_losses(z, classes=r), mpmath.mpf(0)) / 2]
    mod = load_kernel("softmax_cross_entropy", "triton")
    got = mod.softmax_cross_entropy(torch.from_numpy(z).to(_device()), torch.from_numpy(r).to(_device()), "mean")
    check(got.cpu().numpy(), exact, "float64", "triton softmax_cross_entropy mean")
    with np.errstate(all="ignore"):
        got = load_kernel("softmax_cross_entropy", "numpy").softmax_cross_entropy(z, r, "mean")
    check(got, exact, "float64", "numpy softmax_cross_entropy mean")
    # a sum whose exact value passes the largest float stays +∞
    got = mod.softmax_cross_entropy(torch.from_numpy(z).to(_device()), torch.from_numpy(r).to(_device()), "sum")
    assert got.item() == float("inf")


def exact_z_loss(z, classes, eps, lam) -> list:
    """mpmath at 50 digits: (1 − ε)(lse − z_r) + (ε/V)Σ_k(lse − z_k) + λ·lse² per row."""
    out = []
    with mpmath.workdps(50):
        for row, c in zip(z, classes):
            zs = [mpmath.mpf(float(x)) for x in row]
            m = max(zs)
            lse = m + mpmath.log(mpmath.fsum(mpmath.exp(x - m) for x in zs))
            eps_, lam_ = mpmath.mpf(float(eps)), mpmath.mpf(float(lam))
            out.append((1 - eps_) * (lse - zs[c]) + eps_ / len(zs) * mpmath.fsum(lse - x for x in zs) + lam_ * lse ** 2)
    return out


Z_LOSS = [  # (logits, dtype, λ, exact loss): ε = 0.1, class 0; the gap sum Σ_k(m − z_k) overflows in each
    ([1e155, -1e308, -1e308], "float64", 1e-4, "7.7e306: λ·lse² = 1e306; before, Triton +∞ (NumPy 7.7e306)"),
    ([1e308, -1e308, 0.0], "float64", 1e-310, "1.1e307: λ·lse² = 1e306 (λ subnormal); before, Triton +∞"),
    ([1e160, -1e308, -1e308], "float64", 1e-4, "+∞: λ·lse² = 1e316 passes the largest float, the loss too"),
    ([1e20, -3e38, -3e38], "float32", 1e-4, "2.1e37: float32 lse² = 1e40 overflows, computed in float64"),
]


@pytest.mark.parametrize("row, dtype, lam, what", Z_LOSS, ids=[c[3].split(":")[0] for c in Z_LOSS])
@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_z_loss_in_the_scaled_fallback(row, dtype, lam, what, backend):
    if backend == "triton":
        pytest.importorskip("triton")
    z = np.array([row], dtype)
    classes = np.array([0])
    exact = exact_z_loss(z, classes, 0.1, lam)
    mod = load_kernel("cross_entropy", backend)
    if backend == "triton":
        z, classes = torch.from_numpy(z).to(_device()), torch.from_numpy(classes).to(_device())
    with np.errstate(all="ignore"):
        got = [mod.cross_entropy(z, classes, None, -100, "none", label_smoothing=0.1, z_loss_scale=lam),
               mod.cross_entropy_grad(z, classes, None, -100, "none", label_smoothing=0.1, z_loss_scale=lam)[0]]
    for which, value in zip(("value", "grad"), got):
        value = value.cpu().numpy() if hasattr(value, "cpu") else value
        check(value, exact, dtype, f"{backend} cross_entropy {which} with λ = {lam} ({what})")


# --- 3. argument domains ----------------------------------------------------------------------------------------

DOMAIN_FORMULAS = [("gaussian_nll(x, t, -1)", "gaussian_nll: var has a negative entry (-1); var must be ≥ 0"),
                   ("gaussian_nll(x, t, -1/10**9)", "gaussian_nll: var has a negative entry"),
                   ("bce(3/2, t)", "bce: p has an entry outside [0, 1] (1.5)"),
                   ("bce(p, -1)", "bce: t has an entry outside [0, 1] (-1)")]


@pytest.mark.parametrize("formula, message", DOMAIN_FORMULAS)
def test_a_number_outside_an_arguments_domain_is_refused(formula, message):
    """Before: gaussian_nll(x, t, -1) derived (log(Max(1e-6, −1)) = log 1e-6: a number for any x, t)."""
    with pytest.raises(DomainError) as info:
        symnet.derive(formula)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("formula", ["gaussian_nll(x, t, 0)", "gaussian_nll(x, t, v)", "bce(p, 0)", "bce(p, 1)", "bce(p, 1/2)"])
def test_the_domains_edges_and_variables_still_derive(formula):
    symnet.derive(formula)


def _tensors(*values):
    return [torch.tensor(v, dtype=torch.float64, device=_device()) for v in values]


TORCH_DOMAINS = [  # (loss, input, targets, message, torch's own call)
    ("gaussian_nll", [0.0, 1.0, 2.0], ([0.5, 1.0, 1.5], [1.0, -0.5, 2.0]), "gaussian_nll: var has a negative entry (-0.5)",
     lambda F, x, t, v: F.gaussian_nll_loss(x, t, v)),
    ("bce", [0.5, 1.5], ([0.5, 0.5],), "bce: p has an entry outside [0, 1] (1.5)",
     lambda F, p, t: F.binary_cross_entropy(p, t)),
    ("bce", [0.5, 0.5], ([0.5, -0.5],), "bce: t has an entry outside [0, 1] (-0.5)",
     lambda F, p, t: F.binary_cross_entropy(p, t)),
]


@pytest.mark.parametrize("name, x, targets, message, reference", TORCH_DOMAINS, ids=[c[3].split(" (")[0] for c in TORCH_DOMAINS])
def test_torch_path_refuses_data_outside_a_domain_as_torch_does(name, x, targets, message, reference):
    """torch raises (ValueError "var has negative entry/entries"; RuntimeError "all elements of input should be
    between 0 and 1"); symnet's loss computed a number (gaussian_nll: var clamped to eps)."""
    pytest.importorskip("triton")
    from symnet.torch import functional as F
    x, *ts = _tensors(x, *targets)
    with pytest.raises((ValueError, RuntimeError)):
        reference(torch.nn.functional, x, *ts)
    with pytest.raises(DomainError) as info:
        F.loss(name, x, tuple(ts) if len(ts) > 1 else ts[0])
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_torch_path_lets_nan_and_the_edges_through():
    """NaN is not outside (it propagates; torch's checks let it through too), var = 0 is the edge (clamped to eps)."""
    pytest.importorskip("triton")
    from symnet.torch import functional as F
    x, t, v = _tensors([0.0, 1.0, 2.0], [0.5, 1.0, 1.5], [1.0, float("nan"), 0.0])
    got = F.loss("gaussian_nll", x, (t, v), reduction="none")
    want = torch.nn.functional.gaussian_nll_loss(x, t, v, reduction="none")
    assert torch.isnan(got[1]) and torch.isnan(want[1])
    torch.testing.assert_close(got[[0, 2]], want[[0, 2]])


def test_numpy_compiled_gaussian_nll_refuses_a_negative_variance():
    """(an xfail in session 12: the domain now travels with the formula, tests/test_row13.py)"""
    f = symnet.compile(symnet.derive("gaussian_nll(x, t, v)"), progress=False)
    with pytest.raises(DomainError):
        f(t=np.zeros(2), v=np.array([1.0, -0.5]), x=np.ones(2))


# --- 4. masked arrays ---------------------------------------------------------------------------------------------

def _masked(a, where):
    return np.ma.masked_array(np.asarray(a, np.float64), mask=where)


MASKED_CALLS = [  # (what, call, the argument named)
    ("logits", lambda m: m.cross_entropy(_masked([[1.0, 2.0, 3.0]], [[0, 0, 1]]), np.array([0])), "'z'"),
    ("classes", lambda m: m.cross_entropy(np.ones((2, 3)), np.ma.masked_array([0, 1], mask=[0, 1])), "'r'"),
    ("soft targets", lambda m: m.cross_entropy_soft(np.ones((1, 3)), _masked([[0.5, 0.5, 0.0]], [[0, 0, 1]])), "'t'"),
    ("weight", lambda m: m.cross_entropy(np.ones((1, 3)), np.array([0]), _masked([1.0, 1.0, 1.0], [0, 1, 0])), "'weight'"),
]


@pytest.mark.parametrize("what, call, named", MASKED_CALLS, ids=[c[0] for c in MASKED_CALLS])
def test_numpy_row_kernels_refuse_a_masked_array(what, call, named):
    """Before: the masked entry's data were used (cross_entropy of [[1, 2, --]] at class 0 was 2.41, the loss of
    [1, 2, 3]; with the masked entry left out it is 1.31)."""
    mod = load_kernel("cross_entropy", "numpy")
    with pytest.raises(TypeError) as info:
        call(mod)
    assert "masked array" in str(info.value) and named in str(info.value) and "\n" not in str(info.value)


def test_numpy_compiled_formula_refuses_a_masked_array():
    f = symnet.compile(symnet.derive("x*y"), progress=False)
    with pytest.raises(TypeError, match="argument 'x' is a numpy.ma masked array"):
        f(x=_masked([1.0, 2.0], [0, 1]), y=np.ones(2))
    f(x=np.ma.getdata(_masked([1.0, 2.0], [0, 1])), y=np.ones(2))  # its data, as an array: as before
