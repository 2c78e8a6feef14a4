"""The row registry (symnet/rowwise_registry.py) and the kernels generated from it, against torch.

softmax, log_softmax, logsumexp, cross-entropy (class weights, label smoothing, soft targets,
softcap, z-loss, ignore_index, every reduction) and nll_loss, on NumPy (float64, float32) and
Triton (float64, float32, bfloat16; under TRITON_INTERPRET=1 where there is no GPU, small sizes),
against torch.nn.functional in float64 with gradients from torch.autograd, and the z-loss against
a hand-written float64 reference. Liger's case families: odd widths (1, 3, 1023), extremes
(±1e4, ±3e38 in float32, −inf logits), all rows ignored, strided and transposed views, bad classes.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import sympy as sp

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from symnet.kernels import load_kernel  # noqa: E402
from symnet.rowwise_registry import ROW_REGISTRY, row_entry  # noqa: E402

F = torch.nn.functional
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the interpreter's numpy overflows

TOL = {torch.float64: 1e-11, torch.float32: 2e-5, torch.bfloat16: 3e-2}


def reference_cross_entropy(z, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                            softcap=None, z_loss_scale=0.0):
    """Written out by hand in float64 (no F.cross_entropy): torch's weighted, label-smoothed
    cross-entropy plus the z-loss λ·lse², reduced by Σ w_r over the rows that count."""
    z = z.double()
    V = z.shape[-1]
    if softcap is not None:
        z = softcap * torch.tanh(z / softcap)
    w = torch.ones(V, dtype=torch.float64) if weight is None else weight.double()
    lse = torch.logsumexp(z, -1)
    logp = z - lse[..., None]
    if target.dtype.is_floating_point:
        q = (1 - label_smoothing) * target.double() + label_smoothing / V
        rows = -(q * w * logp).sum(-1) + z_loss_scale * lse ** 2
        return rows if reduction == "none" else rows.sum() / (rows.numel() if reduction == "mean" else 1)
    keep = target != ignore_index
    cls = torch.where(keep, target, 0)
    w_r = w[cls]
    nll = -w_r * logp.gather(-1, cls[..., None])[..., 0]
    smooth = -(w * logp).sum(-1) / V
    rows = (1 - label_smoothing) * nll + label_smoothing * smooth + z_loss_scale * lse ** 2
    rows = torch.where(keep, rows, 0.0)
    if reduction == "none":
        return rows
    return rows.sum() if reduction == "sum" else rows.sum() / torch.where(keep, w_r, 0.0).sum()


def _numpy(module):
    return load_kernel(module, "numpy")


def _triton(module):
    pytest.importorskip("triton")
    return load_kernel(module, "triton")


def _want(z, target, **options):
    """torch's loss and ∂(Σ loss)/∂z in float64 (F.cross_entropy, with the softcap before it and the
    z-loss after it, as the registry's torch reference)."""
    tz = z.detach().double().requires_grad_()
    t = target.double() if target.dtype.is_floating_point else target
    w = options.get("weight")
    opts = {**options, "weight": None if w is None else w.double()}
    loss = ROW_REGISTRY["cross_entropy"].torch(torch, tz, t, **opts)
    (grad,) = torch.autograd.grad(loss.sum(), tz)
    return loss.detach(), grad


def _run(backend, dtype, z, target, soft=False, **options):
    """(loss, dz) from the generated cross_entropy_grad / cross_entropy_soft_grad of a backend."""
    name = "cross_entropy_soft_grad" if soft else "cross_entropy_grad"
    if backend == "numpy":
        fn = getattr(_numpy("cross_entropy"), name)
        w = options.get("weight")
        opts = {**options, "weight": None if w is None else w.numpy()}
        tgt = target.to(torch.float64).numpy().astype(np.dtype(str(dtype).split(".")[1])) if soft else target.numpy()
        loss, dz = fn(z.numpy(), tgt, **opts)
        return torch.as_tensor(np.asarray(loss)), torch.as_tensor(dz)
    fn = getattr(_triton("cross_entropy"), name)
    w = options.get("weight")
    opts = {**options, "weight": None if w is None else w.to(DEVICE)}
    loss, dz = fn(z.to(DEVICE), target.to(DEVICE), **opts)
    return loss.cpu(), dz.cpu()


def _close(got, want, dtype, what):
    got, want = got.double(), want.double()
    scale = max(1.0, float(want[torch.isfinite(want)].abs().max()) if torch.isfinite(want).any() else 1.0)
    same_nan = torch.isnan(got) == torch.isnan(want)
    assert bool(same_nan.all()), f"{what}: NaN where torch has {want[~same_nan]} (got {got[~same_nan]})"
    ok = torch.isfinite(want)
    inf = torch.isinf(want)
    assert bool((got[inf] == want[inf]).all()), f"{what}: infinities differ"
    err = float((got[ok] - want[ok]).abs().max()) if ok.any() else 0.0
    assert err <= TOL[dtype] * scale, f"{what}: error {err:.3g} (scale {scale:.3g})"


BACKENDS = [("numpy", torch.float64), ("numpy", torch.float32), ("triton", torch.float64),
            ("triton", torch.float32)]

# option sets: each family of Liger's tests once per backend and dtype
CASES = {
    "plain": {},
    "weights": {"weight": "w"},
    "label smoothing": {"label_smoothing": 0.1},
    "smoothing + weights": {"label_smoothing": 0.2, "weight": "w"},
    "softcap": {"softcap": 3.0},
    "z-loss": {"z_loss_scale": 1e-2},
    "everything": {"weight": "w", "label_smoothing": 0.05, "softcap": 5.0, "z_loss_scale": 1e-3},
}


def _options(case, V, gen):
    opts = dict(CASES[case])
    if opts.get("weight") == "w":
        opts["weight"] = torch.rand(V, dtype=torch.float64, generator=gen) + 0.5
    return opts


def _logits(N, V, dtype, gen, spread=4.0):
    return (torch.randn(N, V, dtype=torch.float64, generator=gen) * spread).to(dtype)


REDUCTIONS = ["mean", "sum", "none"]


def _widths(backend, dtype, case, cases, reduction, widths):
    """The row widths a case runs at: every one on NumPy; under Triton one, by a Latin square over (case, reduction)
    shifted by the dtype, so that each width still meets every case and every reduction in each dtype (the full
    product ran each float64 double-word launch of 5 rows three times a case, seconds apiece under the
    interpreter)."""
    if backend == "numpy":
        return widths
    k = list(cases).index(case) + REDUCTIONS.index(reduction) + (dtype == torch.float32)
    return (widths[k % len(widths)],)


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=[f"{b}-{str(d)[6:]}" for b, d in BACKENDS])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_torch(backend, dtype, case, reduction):
    gen = torch.Generator().manual_seed(hash((case, reduction)) % 1000)
    for V in _widths(backend, dtype, case, CASES, reduction, (1, 3, 7)):
        z = _logits(5, V, dtype, gen)
        r = torch.randint(0, V, (5,), generator=gen)
        r[2] = -100  # ignored
        opts = _options(case, V, gen)
        want = _want(z, r, reduction=reduction, **opts)
        got = _run(backend, dtype, z, r, reduction=reduction, **opts)
        _close(got[0], want[0], dtype, f"{case} V={V} loss")
        _close(got[1], want[1], dtype, f"{case} V={V} dz")


SOFT_CASES = ["plain", "weights", "smoothing + weights", "everything"]


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=[f"{b}-{str(d)[6:]}" for b, d in BACKENDS])
@pytest.mark.parametrize("case", SOFT_CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_targets_match_torch(backend, dtype, case, reduction):
    gen = torch.Generator().manual_seed(7)
    for V in _widths(backend, dtype, case, SOFT_CASES, reduction, (1, 4)):
        z = _logits(4, V, dtype, gen)
        t = torch.softmax(torch.randn(4, V, dtype=torch.float64, generator=gen), -1).to(dtype)
        opts = _options(case, V, gen)
        want = _want(z, t, reduction=reduction, **opts)
        got = _run(backend, dtype, z, t, soft=True, reduction=reduction, **opts)
        _close(got[0], want[0], dtype, f"soft {case} V={V} loss")
        _close(got[1], want[1], dtype, f"soft {case} V={V} dz")


@pytest.mark.parametrize("backend", ["numpy", "triton"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_z_loss_against_the_hand_written_reference(backend, reduction):
    gen = torch.Generator().manual_seed(3)
    z = _logits(6, 5, torch.float64, gen, spread=10.0)
    r = torch.tensor([0, 4, -100, 2, 2, 1])
    w = torch.rand(5, dtype=torch.float64, generator=gen) + 0.5
    for opts in ({"z_loss_scale": 1e-4}, {"z_loss_scale": 0.5, "label_smoothing": 0.1, "weight": w, "softcap": 8.0}):
        tz = z.clone().requires_grad_()
        want = reference_cross_entropy(tz, r, reduction=reduction, **opts)
        (grad,) = torch.autograd.grad(want.sum(), tz)
        loss, dz = _run(backend, torch.float64, z, r, reduction=reduction, **opts)
        _close(loss, want.detach(), torch.float64, f"z-loss {opts}")
        _close(dz, grad, torch.float64, f"z-loss gradient {opts}")
    # the reference is not F.cross_entropy: without the z-loss the two agree
    assert torch.allclose(reference_cross_entropy(z, r, weight=w, label_smoothing=0.1, reduction=reduction),
                          F.cross_entropy(z, r, weight=w, label_smoothing=0.1, reduction=reduction))


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_all_rows_ignored_give_what_torch_gives(backend):
    z = _logits(3, 4, torch.float64, torch.Generator().manual_seed(0))
    r = torch.full((3,), -100)
    for reduction in ("mean", "sum", "none"):
        for opts in ({}, {"weight": torch.ones(4, dtype=torch.float64) * 2, "label_smoothing": 0.1}):
            want = _want(z, r, reduction=reduction, **opts)
            got = _run(backend, torch.float64, z, r, reduction=reduction, **opts)
            _close(got[0], want[0], torch.float64, f"all ignored {reduction} loss")  # mean: NaN, as torch
            _close(got[1], want[1], torch.float64, f"all ignored {reduction} dz")


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_extremes_do_not_overflow(backend):
    """±1e4 and ±3e38 logits in float32, and −inf logits: torch's values, never a NaN torch has not."""
    rows = torch.tensor([[1e4, -1e4, 0.0, 3.0], [3e38, -3e38, 1.0, 0.0], [-3e38, -3e38, 3e38, 3e38],
                         [float("-inf"), 0.0, 2.0, float("-inf")], [88.7, -88.7, 1e-30, 0.0]], dtype=torch.float32)
    r = torch.tensor([0, 1, 2, 1, 3])
    for opts in ({}, {"weight": torch.tensor([1.0, 2.0, 0.5, 1.0], dtype=torch.float64)}, {"z_loss_scale": 1e-6}):
        for reduction in ("none", "sum"):
            want = _want(rows, r, reduction=reduction, **opts)
            loss, dz = _run(backend, torch.float32, rows, r, reduction=reduction, **opts)
            assert bool(torch.isfinite(dz).all()), f"{opts}: a gradient that is not finite: {dz}"
            # (in the ±3e38 rows torch's own lse = 3e38 + log 2 rounds to 3e38 in float64, so its
            # softmax there, e^(z − lse), is 1 and 1, not ½ and ½: its values are compared elsewhere)
            _close(dz[[0, 3, 4]], want[1][[0, 3, 4]], torch.float32, f"extreme dz {opts}")
            if not opts:
                _close(dz, want[1], torch.float32, "extreme dz")
            assert not bool(torch.isnan(loss).any()), f"{opts}: a NaN loss {loss}"
            representable = want[0].abs() <= torch.finfo(torch.float32).max  # 6e38 is not, in float32
            assert bool(torch.isfinite(loss)[representable].all())
    # label smoothing with a −inf logit: torch's loss is +inf (−log 0), not NaN
    z = torch.tensor([[float("-inf"), 0.0, 1.0]], dtype=torch.float64)
    loss, _ = _run(backend, torch.float64, z, torch.tensor([1]), reduction="none", label_smoothing=0.1)
    assert float(loss[0]) == float("inf")


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_views_are_read_by_their_own_strides(backend):
    gen = torch.Generator().manual_seed(5)
    base = torch.randn(7, 10, dtype=torch.float64, generator=gen) * 3
    views = {"transposed": base.t()[:, :5], "strided rows": base[::2, :7], "column-strided": base[:, ::3],
             "offset": base[2:, 1:8]}
    for name, z in views.items():
        V = z.shape[-1]
        r = torch.randint(0, V, z.shape[:-1], generator=gen)
        opts = {"weight": torch.rand(V, dtype=torch.float64, generator=gen) + 0.5, "label_smoothing": 0.1}
        want = _want(z.contiguous(), r, reduction="mean", **opts)
        got = _run(backend, torch.float64, z if backend == "triton" else z.clone(), r, reduction="mean", **opts)
        _close(got[0], want[0], torch.float64, f"{name} loss")
        _close(got[1], want[1], torch.float64, f"{name} dz")


def test_triton_long_rows_in_tiles_and_bfloat16(monkeypatch):
    """A row longer than ONE_READ_MAX (made small here) is read in tiles with the online softmax:
    weights, smoothing, softcap and z-loss give torch's values there too; bfloat16 logits too."""
    m = _triton("cross_entropy")
    gen = torch.Generator().manual_seed(11)
    z = _logits(3, 1023, torch.float64, gen)
    r = torch.tensor([5, 1022, -100])
    opts = {"weight": torch.rand(1023, dtype=torch.float64, generator=gen) + 0.5, "label_smoothing": 0.1,
            "softcap": 6.0, "z_loss_scale": 1e-3}
    want = _want(z, r, reduction="mean", **opts)
    _close(*(x for x in (_run("triton", torch.float64, z, r, reduction="mean", **opts)[0], want[0])),
           torch.float64, "one read")
    monkeypatch.setattr(m, "ONE_READ_MAX", 64)
    monkeypatch.setattr(m, "TILE", 256)
    loss, dz = _run("triton", torch.float64, z, r, reduction="mean", **opts)
    _close(loss, want[0], torch.float64, "tiles: loss")
    _close(dz, want[1], torch.float64, "tiles: dz")
    t = torch.softmax(torch.randn(3, 1023, dtype=torch.float64, generator=gen), -1)
    want = _want(z, t, reduction="sum", **opts)
    loss, dz = _run("triton", torch.float64, z, t, soft=True, reduction="sum", **opts)
    _close(loss, want[0], torch.float64, "tiles: soft loss")
    _close(dz, want[1], torch.float64, "tiles: soft dz")
    zb = z[:2, :7].to(torch.bfloat16)
    want = _want(zb, r[:2] % 7, reduction="none", label_smoothing=0.1)
    loss, dz = _run("triton", torch.bfloat16, zb, r[:2] % 7, reduction="none", label_smoothing=0.1)
    assert dz.dtype == torch.bfloat16
    _close(loss, want[0], torch.bfloat16, "bfloat16 loss")
    _close(dz, want[1], torch.bfloat16, "bfloat16 dz")


def test_bad_class_is_an_error_or_nan_never_a_plausible_gradient():
    z = _logits(4, 5, torch.float64, torch.Generator().manual_seed(2))
    r = torch.tensor([0, 7, 2, -3])  # 7 and −3 are outside [0, 5) and not ignore_index
    with pytest.raises(ValueError, match="outside"):
        _numpy("cross_entropy").cross_entropy_grad(z.numpy(), r.numpy())
    m = _triton("cross_entropy")
    with pytest.raises(ValueError, match="outside"):
        m.cross_entropy_grad(z, r)
    for reduction in ("mean", "none"):
        loss, dz = m.cross_entropy_grad(z, r, weight=torch.ones(5, dtype=torch.float64), reduction=reduction,
                                        check=False)
        assert bool(torch.isnan(loss).any())
        assert bool(torch.isnan(dz[1]).all()) and bool(torch.isnan(dz[3]).all())
        assert bool(torch.isfinite(dz[[0, 2]]).all())
        # the autograd ops: NaN loss and NaN gradient rows (a GradScaler-style check sees them)
        for op in (m.cross_entropy_op, _triton("softmax_cross_entropy").softmax_cross_entropy_loss):
            tz = z.clone().requires_grad_()
            out = op(tz, r, reduction=reduction)
            out.sum().backward()
            assert bool(torch.isnan(out).any()) and bool(torch.isnan(tz.grad[1]).all())
            assert not bool(torch.isfinite(tz.grad).all())


def test_the_autograd_op_has_torch_s_signature_and_gradient():
    m = _triton("cross_entropy")
    gen = torch.Generator().manual_seed(4)
    z = _logits(4, 6, torch.float64, gen).requires_grad_()
    r = torch.tensor([1, -1, 5, 0])
    w = torch.rand(6, dtype=torch.float64, generator=gen) + 0.5
    loss = m.cross_entropy_op(z, r, w, -1, "mean", 0.1, 4.0, 1e-3)  # torch's positional order, then Liger's
    (got,) = torch.autograd.grad(loss * 3, z)
    tz = z.detach().clone().requires_grad_()
    want = reference_cross_entropy(tz, r, w, -1, "mean", 0.1, 4.0, 1e-3)
    (grad,) = torch.autograd.grad(want * 3, tz)
    _close(loss.detach(), want.detach(), torch.float64, "op loss")
    _close(got, grad, torch.float64, "op gradient")
    t = torch.softmax(torch.randn(4, 6, dtype=torch.float64, generator=gen), -1)
    loss = m.cross_entropy_op(z, t, label_smoothing=0.1)  # soft targets, dispatched on the dtype
    _close(loss.detach(), F.cross_entropy(z.detach(), t, label_smoothing=0.1), torch.float64, "op soft")
    with pytest.raises(ValueError, match="no gradient"):
        m.cross_entropy_op(z, t.requires_grad_())


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_nll_loss_matches_torch(backend):
    gen = torch.Generator().manual_seed(9)
    for V in (1, 3, 1023):
        l = torch.log_softmax(_logits(4, V, torch.float64, gen), -1)
        r = torch.randint(0, V, (4,), generator=gen)
        r[1] = -100
        w = torch.rand(V, dtype=torch.float64, generator=gen) + 0.5
        for reduction in ("mean", "sum", "none"):
            for weight in (None, w):
                tl_ = l.clone().requires_grad_()
                want = F.nll_loss(tl_, r, weight=weight, reduction=reduction)
                (grad,) = torch.autograd.grad(want.sum(), tl_)
                if backend == "numpy":
                    loss, dz = _numpy("nll_loss").nll_loss_grad(l.numpy(), r.numpy(), None if weight is None
                                                                 else weight.numpy(), reduction=reduction)
                    loss, dz = torch.as_tensor(np.asarray(loss)), torch.as_tensor(dz)
                else:
                    loss, dz = _triton("nll_loss").nll_loss_grad(l, r, weight, reduction=reduction)
                _close(loss, want.detach(), torch.float64, f"nll V={V} {reduction}")
                _close(dz, grad, torch.float64, f"nll dz V={V} {reduction}")


@pytest.mark.parametrize("backend,dtype", BACKENDS, ids=[f"{b}-{str(d)[6:]}" for b, d in BACKENDS])
def test_softmax_log_softmax_logsumexp_match_torch(backend, dtype):
    gen = torch.Generator().manual_seed(1)
    for V in (1, 3, 1023):
        z = _logits(3, V, dtype, gen)
        z[0, 0] = float("-inf") if V > 1 else z[0, 0]
        g = torch.randn(3, V, dtype=torch.float64, generator=gen).to(dtype)
        for module, name, ref in (("softmax", "softmax_grad", lambda x: F.softmax(x, -1)),
                                  ("log_softmax", "log_softmax_grad", lambda x: F.log_softmax(x, -1))):
            tz = z.double().clone().requires_grad_()
            want = ref(tz)
            (grad,) = torch.autograd.grad(want, tz, g.double())
            if backend == "numpy":
                out, dz = (torch.as_tensor(a) for a in getattr(_numpy(module), name)(z.numpy(), g.numpy()))
            else:
                out, dz = getattr(_triton(module), name)(z, g)
            _close(out, want.detach(), dtype, f"{module} V={V}")
            _close(dz, grad, dtype, f"{module} dz V={V}")
        tz = z.double().clone().requires_grad_()
        want = torch.logsumexp(tz, -1)
        (grad,) = torch.autograd.grad(want.sum(), tz)
        if backend == "numpy":
            out, dz = (torch.as_tensor(np.asarray(a)) for a in _numpy("logsumexp").logsumexp_grad(z.numpy()))
        else:
            out, dz = _triton("logsumexp").logsumexp_grad(z)
        _close(out, want.detach(), dtype, f"logsumexp V={V}")
        _close(dz, grad, dtype, f"logsumexp dz V={V}")


def test_registry_derivations_print_and_are_independent_of_the_kernels():
    """Each entry's derivation prints; its gradient, evaluated at V = 3 by SymPy, is torch's."""
    from symnet.rowwise_registry import EPS, LAM, S, V, c, j, r, t, w, z
    for name, entry in ROW_REGISTRY.items():
        text = str(entry.derivation())
        assert "Backward pass" in text and "∂C/∂z_j" in text, name
    d = row_entry("cross_entropy").derivation()
    grad = d.gradients[z[j]]
    zs = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    ws = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    want = reference_cross_entropy(zs[None], torch.tensor([2]), ws, reduction="sum", label_smoothing=0.1,
                                   softcap=1.5, z_loss_scale=0.25)
    (tg,) = torch.autograd.grad(want, zs)
    caps = {c[q]: 1.5 * sp.tanh(sp.Float(float(zs.detach()[q]), 30) / 1.5) for q in range(3)}
    for col in range(3):
        value = grad.subs({V: 3, j: col, r: 2}).doit()
        value = value.xreplace(caps).xreplace({z[q]: sp.Float(float(zs.detach()[q]), 30) for q in range(3)})
        value = value.xreplace({w[q]: float(ws[q]) for q in range(3)}).subs({EPS: 0.1, LAM: 0.25, S: 1.5})
        assert abs(float(value) - float(tg[col])) < 1e-12
    assert "1 − c_j²/s²" in str(d)  # the softcap's factor, derived and printed
    assert t is not None


def test_torch_signature_is_the_same_on_both_backends():
    import inspect
    for module in ("cross_entropy", "nll_loss", "logsumexp"):
        np_mod, tr_mod = _numpy(module), _triton(module)
        for name in [n for n in dir(np_mod) if not n.startswith("_") and callable(getattr(np_mod, n))
                     and n.startswith(module.split("_")[0])]:
            a = [p for p in inspect.signature(getattr(np_mod, name)).parameters.values() if p.name != "inplace"]
            b = [p for p in inspect.signature(getattr(tr_mod, name)).parameters.values()
                 if p.name not in ("check", "inplace")]
            assert [(p.name, p.default) for p in a] == [(p.name, p.default) for p in b], name


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_symnet_compile_generates_a_row_module_from_the_registry(backend):
    import symnet
    from symnet import SymnetError
    module = symnet.compile("cross_entropy", backend)
    z = _logits(3, 4, torch.float64, torch.Generator().manual_seed(8))
    r = torch.tensor([1, 0, 3])
    if backend == "numpy":
        loss, dz = module.cross_entropy_grad(z.numpy(), r.numpy(), label_smoothing=0.2)
        loss, dz = torch.as_tensor(np.asarray(loss)), torch.as_tensor(dz)
    else:
        loss, dz = module.cross_entropy_grad(z, r, label_smoothing=0.2)
    want = _want(z, r, label_smoothing=0.2)
    _close(loss, want[0], torch.float64, "compiled loss")
    _close(dz, want[1], torch.float64, "compiled dz")
    assert symnet.compile("logsumexp", backend).logsumexp is not None
    with pytest.raises(SymnetError, match="unknown row-wise function"):
        symnet.compile("no_such_row_function", backend)


def test_symnet_derive_prints_a_row_function_s_derivation(capsys):
    from symnet.cli import main
    assert main(["derive", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "label smoothing ε" in out and "1 − c_j²/s²" in out and "✓" in out


@pytest.mark.parametrize("backend", ["numpy", "triton"])
def test_inplace_gradient_over_the_logits_with_options(backend):
    gen = torch.Generator().manual_seed(12)
    z = _logits(5, 6, torch.float64, gen)
    r = torch.tensor([0, 5, -100, 3, 1])
    opts = {"weight": torch.rand(6, dtype=torch.float64, generator=gen) + 0.5, "label_smoothing": 0.1,
            "softcap": 4.0, "z_loss_scale": 1e-3}
    want = _want(z, r, **opts)
    if backend == "numpy":
        mine = z.numpy().copy()
        loss, dz = _numpy("cross_entropy").cross_entropy_grad(mine, r.numpy(), **{**opts, "weight": opts["weight"].numpy()},
                                                              inplace=True)
        assert dz is mine
        dz = torch.as_tensor(dz)
    else:
        mine = z.clone()
        loss, dz = _triton("cross_entropy").cross_entropy_grad(mine, r, **opts, inplace=True)
        assert dz.data_ptr() == mine.data_ptr()
    _close(torch.as_tensor(np.asarray(loss)), want[0], torch.float64, "inplace loss")
    _close(dz, want[1], torch.float64, "inplace dz")


def test_the_op_passes_opcheck_and_compiles():
    m = _triton("cross_entropy")
    gen = torch.Generator().manual_seed(13)
    z = _logits(4, 6, torch.float64, gen).requires_grad_()
    r = torch.tensor([1, -100, 5, 0])
    w = torch.rand(6, dtype=torch.float64, generator=gen) + 0.5
    t = torch.softmax(torch.randn(4, 6, dtype=torch.float64, generator=gen), -1)
    # opcheck (schema, autograd registration, fake tensor, aot dispatch: the registration, the same in every dtype) in
    # float32, whose rows launch no double-word float64 helpers (a dozen launches a case: 14.7 s in CI in float64); the
    # compiled op below is float64
    z32 = z.detach().float().requires_grad_()
    for args in ((z32, r, w.float(), -100, "mean", 0.1, 4.0, 1e-3),
                 (z32, t.float(), None, -100, "none", 0.0, None, 0.0)):
        result = torch.library.opcheck(torch.ops.symnet.cross_entropy.default, args)
        assert set(result.values()) == {"SUCCESS"}, result
    f = torch.compile(lambda z, r: m.cross_entropy_op(z, r, w, label_smoothing=0.1), fullgraph=True, backend="aot_eager")
    loss = f(z, r)
    (got,) = torch.autograd.grad(loss, z)
    want = _want(z.detach(), r, weight=w, label_smoothing=0.1)
    _close(loss.detach(), want[0], torch.float64, "compiled loss")
    _close(got, want[1], torch.float64, "compiled gradient")


def test_a_second_derivative_is_a_clear_error_not_a_wrong_number():
    z = _logits(3, 4, torch.float64, torch.Generator().manual_seed(14)).requires_grad_()
    r = torch.tensor([0, 3, 1])
    for op in (_triton("cross_entropy").cross_entropy_op,
               _triton("softmax_cross_entropy").softmax_cross_entropy_loss):
        with pytest.raises(RuntimeError, match="no second derivative"):
            torch.autograd.grad(op(z, r), z, create_graph=True)
        (first,) = torch.autograd.grad(op(z, r), z)  # the first derivative still works
        assert bool(torch.isfinite(first).all())
