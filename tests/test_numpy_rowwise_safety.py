"""The generated NumPy row-wise kernels at the edges: odd shapes, views of every layout,
hostile targets, ignore_index, the reductions over no rows, inplace=True, and a fork.

Every value is compared with torch in float64 (independent of symnet's derivations):
``torch.softmax``, ``torch.log_softmax``, ``F.cross_entropy`` and their autograd
gradients.
"""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from conftest import load_kernel

torch = pytest.importorskip("torch")
F = torch.nn.functional

CE, SM, LS = load_kernel("softmax_cross_entropy"), load_kernel("softmax"), load_kernel("log_softmax")
MODULES = (CE, SM, LS)
TOL = {np.float64: (1e-12, 1e-14), np.float32: (2e-5, 1e-6)}  # (rtol, atol relative to the scale)


def assert_close(got, want, dtype, what, scale=1.0):
    """got ≈ want (NaN where want is NaN), saying how many entries differ, where, and the worst error."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, want {want.shape}"
    rtol, atol = TOL[dtype]
    bad = ~(np.isclose(got, want, rtol=rtol, atol=atol * scale) | (np.isnan(got) & np.isnan(want)))
    if bad.any():
        err = np.where(bad, np.abs(got - want) / np.maximum(np.abs(want), atol * scale), 0)
        worst = np.unravel_index(np.argmax(err), err.shape)
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.size} entries differ; worst at {worst}: "
                             f"got {got[worst]!r}, want {want[worst]!r} (relative error {err[worst]:.3g})")


# ------------------------------------------------------------------ torch references

def _t(a):
    return torch.tensor(np.array(a, dtype=np.float64))  # a copy: torch takes no negative strides


def ref_rows(fn, z, g):
    """fn (softmax or log_softmax over the last axis) and its vector-Jacobian product with g."""
    tz = _t(z).requires_grad_(True)
    out = fn(tz, dim=-1)
    (grad,) = torch.autograd.grad(out, tz, _t(g)) if out.numel() else (torch.zeros_like(tz),)
    return out.detach().numpy(), grad.numpy()


def ref_ce(z, r, reduction="mean", ignore_index=-100):
    """F.cross_entropy over the last axis of z and its gradient (of the sum for 'none')."""
    z64 = np.asarray(z, dtype=np.float64)
    V = z64.shape[-1]
    tz = torch.tensor(np.array(z64.reshape(-1, V))).requires_grad_(True)
    tr = torch.tensor(np.asarray(r, dtype=np.int64).reshape(-1))
    loss = F.cross_entropy(tz, tr, reduction=reduction, ignore_index=ignore_index)
    (grad,) = torch.autograd.grad(loss.sum(), tz) if tz.numel() else (torch.zeros_like(tz),)
    loss = loss.detach().numpy()
    return (loss.reshape(z64.shape[:-1]) if reduction == "none" else loss), grad.numpy().reshape(z64.shape)


# ------------------------------------------------------------------ inputs of every layout

def layouts(rows, cols, dtype, seed=0):
    """(name, array) with the given shape: contiguous and views of every kind, all of one value
    pattern drawn from a normal distribution of scale 4."""
    rng = np.random.default_rng(seed)
    values = (rng.normal(0, 4, (rows, cols))).astype(dtype)
    out = [("contiguous", values.copy())]
    base = np.zeros((2 * rows, cols), dtype)
    base[::2] = values
    out.append(("row-sliced", base[::2]))
    base = np.zeros((rows, cols + 5), dtype)
    base[:, 2:2 + cols] = values
    out.append(("column-sliced", base[:, 2:2 + cols]))
    out.append(("transposed", np.ascontiguousarray(values.T).T))
    out.append(("reversed", np.ascontiguousarray(values[::-1, ::-1])[::-1, ::-1]))
    base = np.zeros((rows + 3, cols), dtype)
    base[3:] = values
    out.append(("offset", base[3:]))
    if rows:
        out.append(("expanded", np.broadcast_to(values[:1], (rows, cols))))  # read-only, stride 0
    return out


def split_finely(monkeypatch):
    """Small blocks and shares, so that tiny inputs run in several blocks on several threads."""
    for module in MODULES:
        monkeypatch.setattr(module, "_CORES", 3)
        monkeypatch.setattr(module, "_SHARE", 8)
        monkeypatch.setattr(module, "_BLOCK", 2)


@pytest.fixture(params=["whole", "split"])
def splits(request, monkeypatch):
    if request.param == "split":
        split_finely(monkeypatch)
    return request.param


SHAPES = [(1, 1), (1, 1023), (3, 7), (0, 5), (17, 5)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_softmax_and_log_softmax_on_every_layout(shape, dtype, splits):
    for (name, zs), (_, gs) in zip(layouts(*shape, dtype), layouts(*shape, dtype, seed=1)):
        before = zs.copy()
        for fn, value, grad in [(torch.softmax, SM.softmax, SM.softmax_grad),
                                (torch.log_softmax, LS.log_softmax, LS.log_softmax_grad)]:
            want, want_dz = ref_rows(fn, zs, gs)
            what = f"{value.__name__} of a {name} {shape} {np.dtype(dtype).name} input"
            scale = max(1.0, float(np.abs(zs).max(initial=0)))
            assert value(zs).dtype == dtype
            assert_close(value(zs), want, dtype, what, scale)
            out, dz = grad(zs, gs)
            assert_close(out, want, dtype, what, scale)
            assert_close(dz, want_dz, dtype, what + " (its gradient)", scale * max(1.0, float(np.abs(gs).max(initial=0))))
        np.testing.assert_array_equal(zs, before)  # the input is left alone


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_on_every_layout(shape, dtype, reduction, splits):
    rows, cols = shape
    rng = np.random.default_rng(2)
    r_base = rng.integers(0, cols, 3 * rows)
    for name, zs in layouts(rows, cols, dtype):
        rs = r_base[::3]  # the targets a strided view too
        before = zs.copy()
        want, want_dz = ref_ce(zs, rs, reduction)
        what = f"cross-entropy ({reduction}) of a {name} {shape} {np.dtype(dtype).name} input"
        scale = max(1.0, float(np.abs(zs).max(initial=0)))
        loss = CE.softmax_cross_entropy(zs, rs, reduction)
        assert_close(loss, want, dtype, what, scale)
        loss, dz = CE.softmax_cross_entropy_grad(zs, rs, reduction)
        assert np.asarray(loss).dtype == dtype and dz.dtype == dtype
        assert_close(loss, want, dtype, what, scale)
        assert_close(dz, want_dz, dtype, what + " (its gradient)")
        np.testing.assert_array_equal(zs, before)  # inplace=False: the logits are left alone


def test_one_large_odd_shape():
    """1823×781 in float32 (several blocks, and threads where there are cores) against torch."""
    rng = np.random.default_rng(3)
    zs = rng.normal(0, 4, (1823, 781)).astype(np.float32)
    rs = rng.integers(0, 781, 1823)
    gs = rng.normal(0, 1, zs.shape).astype(np.float32)
    loss, dz = CE.softmax_cross_entropy_grad(zs, rs)
    want, want_dz = ref_ce(zs, rs)
    assert_close(loss, want, np.float32, "cross-entropy 1823×781", 4)
    assert_close(dz, want_dz, np.float32, "its gradient")
    p, dp = SM.softmax_grad(zs, gs)
    want_p, want_dp = ref_rows(torch.softmax, zs, gs)
    assert_close(p, want_p, np.float32, "softmax 1823×781")
    assert_close(dp, want_dp, np.float32, "its gradient", 4)
    lsm, dl = LS.log_softmax_grad(zs.T.copy().T, gs)  # and a transposed view
    want_l, want_dl = ref_rows(torch.log_softmax, zs, gs)
    assert_close(lsm, want_l, np.float32, "log-softmax 1823×781", 20)
    assert_close(dl, want_dl, np.float32, "its gradient", 4)


def test_batches_of_rows_in_more_than_two_axes():
    rng = np.random.default_rng(4)
    base = rng.normal(0, 3, (4, 3, 6))
    zs = base.transpose(1, 0, 2)  # (3, 4, 6), rows not a view of (12, 6)
    rs = rng.integers(0, 6, (3, 4))
    loss, dz = CE.softmax_cross_entropy_grad(zs, rs, "none")
    want, want_dz = ref_ce(zs, rs, "none")
    assert_close(loss, want, np.float64, "cross-entropy (3, 4, 6)")
    assert_close(dz, want_dz, np.float64, "its gradient")
    vector = rng.normal(size=9)  # one row, r a 0-d class
    assert_close(CE.softmax_cross_entropy(vector, np.int64(4)), ref_ce(vector[None], [4])[0], np.float64, "one row")


# ------------------------------------------------------------------ no rows, ignored rows

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reductions_over_no_rows_match_torch(dtype):
    """torch: the mean over no rows is 0/0 = NaN, the sum 0, 'none' an empty array; the
    gradient is empty. (It was 0.0 for the mean.)"""
    zs, rs = np.zeros((0, 5), dtype), np.zeros(0, np.int64)
    for reduction in ("mean", "sum", "none"):
        want, want_dz = ref_ce(zs, rs, reduction)
        loss = CE.softmax_cross_entropy(zs, rs, reduction)
        loss_g, dz = CE.softmax_cross_entropy_grad(zs, rs, reduction)
        for got in (loss, loss_g):
            assert np.asarray(got).shape == np.asarray(want).shape
            assert_close(got, want, dtype, f"cross-entropy ({reduction}) over no rows")
        assert dz.shape == (0, 5)
    assert np.isnan(CE.softmax_cross_entropy(zs, rs))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignore_index_matches_torch(dtype, reduction, splits):
    rng = np.random.default_rng(5)
    zs = rng.normal(0, 4, (23, 6)).astype(dtype)
    rs = rng.integers(0, 6, 23)
    rs[[0, 4, 5, 22]] = -100
    for ignore, targets in [(-100, rs), (3, np.where(rs == -100, 1, rs)), (7, np.where(rs == -100, 7, rs))]:
        want, want_dz = ref_ce(zs, targets, reduction, ignore)
        what = f"cross-entropy ({reduction}), ignore_index={ignore}"
        assert_close(CE.softmax_cross_entropy(zs, targets, reduction, ignore), want, dtype, what, 4)
        loss, dz = CE.softmax_cross_entropy_grad(zs, targets, reduction, ignore_index=ignore)
        assert_close(loss, want, dtype, what, 4)
        assert_close(dz, want_dz, dtype, what + " (its gradient)")
        assert (dz[targets == ignore] == 0).all()
    # every row ignored: torch's mean is NaN, its sum 0, and its gradient 0 everywhere
    everything = np.full(23, -100)
    want, want_dz = ref_ce(zs, everything, reduction)
    loss, dz = CE.softmax_cross_entropy_grad(zs, everything, reduction)
    assert_close(loss, want, dtype, f"cross-entropy ({reduction}) with every row ignored")
    assert_close(dz, want_dz, dtype, "its gradient")
    assert_close(CE.softmax_cross_entropy(zs, everything, reduction), want, dtype, "the value alone")


# ------------------------------------------------------------------ bad targets

@pytest.mark.parametrize("fn", [CE.softmax_cross_entropy, CE.softmax_cross_entropy_grad], ids=lambda f: f.__name__)
@pytest.mark.parametrize("targets, error, message", [
    (np.array([0, 1, 5]), ValueError, r"class index 5 in argument 'r' is outside \[0, 5\)"),
    (np.array([0, 1, 2**40]), ValueError, r"class index 1099511627776 .* outside \[0, 5\)"),
    (np.array([0, -1, 2]), ValueError, r"class index -1 .* is not ignore_index=-100"),
    (np.array([-101, 1, 2]), ValueError, r"class index -101"),
    (np.array([0, 1, 5], np.uint8), ValueError, r"class index 5"),
    (np.array([0.0, 1.0, 2.0]), TypeError, "integer class indices, not float64"),
    (np.array([True, False, True]), TypeError, "integer class indices, not bool"),
    (np.array(["0", "1", "2"]), TypeError, "integer class indices"),
    (np.array([0, 1]), ValueError, r"argument 'r' has shape \(2,\); logits of shape \(3, 5\) need \(3,\)"),
    (np.array([[0, 1, 2]]), ValueError, "argument 'r' has shape"),
    (np.int64(0), ValueError, "argument 'r' has shape"),
])
def test_bad_targets_get_one_clear_error(fn, targets, error, message):
    zs = np.zeros((3, 5))
    with pytest.raises(error, match=message) as caught:
        fn(zs, targets)
    assert type(caught.value) is error and "\n" not in str(caught.value)  # never an IndexError


@pytest.mark.parametrize("ignore, message", [(1.5, "ignore_index must be an integer, not 1.5"),
                                             (None, "ignore_index must be an integer"),
                                             (True, "ignore_index must be an integer")])
def test_ignore_index_must_be_an_integer(ignore, message):
    with pytest.raises(TypeError, match=message):
        CE.softmax_cross_entropy_grad(np.zeros((3, 5)), np.array([0, 1, 2]), ignore_index=ignore)


def test_ignore_index_may_be_any_integer():
    zs, rs = np.zeros((2, 5)), np.array([0, 3], np.uint8)  # unsigned targets, negative ignore_index
    assert CE.softmax_cross_entropy(zs, rs, ignore_index=-100) == pytest.approx(np.log(5))
    assert CE.softmax_cross_entropy(zs, np.array([0, 2**62]), ignore_index=2**62) == pytest.approx(np.log(5))
    assert CE.softmax_cross_entropy(zs, rs, ignore_index=np.int32(3)) == pytest.approx(np.log(5))


@pytest.mark.parametrize("fn", [SM.softmax, LS.log_softmax, lambda z: CE.softmax_cross_entropy(z, np.zeros(z.shape[:-1], int))],
                         ids=["softmax", "log_softmax", "cross_entropy"])
def test_bad_logits_get_one_clear_error(fn):
    with pytest.raises(ValueError, match="at least one class"):
        fn(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="at least one class"):
        fn(np.zeros((0, 0)))
    for dtype in (np.int64, np.float16, np.complex128, object):
        with pytest.raises(TypeError, match="float32 or float64"):
            fn(np.zeros((2, 3), dtype))


# ------------------------------------------------------------------ inplace=True

INPLACE_CASES = [  # (name, base shape, the view of the base passed as z): every writable layout
    ("contiguous", (9, 7), lambda b: b),
    ("row-sliced", (18, 7), lambda b: b[::2]),
    ("column-sliced", (9, 12), lambda b: b[:, 2:9]),
    ("transposed", (7, 9), lambda b: b.T),
    ("offset", (12, 7), lambda b: b[3:]),
    ("reversed", (9, 7), lambda b: b[::-1, ::-1]),
    ("rows of no (N, V) view", (4, 3, 7), lambda b: b.transpose(1, 0, 2)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name, shape, view", INPLACE_CASES, ids=[c[0] for c in INPLACE_CASES])
def test_inplace_overwrites_the_callers_array_whatever_its_strides(name, shape, view, dtype, reduction, splits):
    """The gradient lands in the very array passed (and only there: the rest of its base is
    untouched); the loss is the one of the logits before they were overwritten."""
    rng = np.random.default_rng(7)
    base = rng.normal(0, 4, shape).astype(dtype)
    before = base.copy()
    covered = np.zeros(shape, bool)
    view(covered)[...] = True
    zs = view(base)
    rs = rng.integers(0, 7, zs.shape[:-1])
    rs.reshape(-1)[::4] = -100
    want, want_dz = ref_ce(zs, rs, reduction)
    loss, dz = CE.softmax_cross_entropy_grad(zs, rs, reduction, inplace=True)
    what = f"inplace=True on a {name} {np.dtype(dtype).name} input ({reduction})"
    assert dz is zs, what
    assert_close(loss, want, dtype, what, 4)
    assert_close(zs, want_dz, dtype, what + ": the array passed")
    np.testing.assert_array_equal(base[~covered], before[~covered], err_msg=what + ": the rest of its base changed")


def test_inplace_is_refused_where_it_cannot_write():
    zs, rs = np.zeros((3, 5)), np.array([0, 1, 2])
    expanded = np.broadcast_to(np.zeros(5), (3, 5))  # read-only, and its rows are one row
    with pytest.raises(ValueError, match="inplace=True writes into argument 'z', but it is read-only"):
        CE.softmax_cross_entropy_grad(expanded, rs, inplace=True)
    frozen = zs.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        CE.softmax_cross_entropy_grad(frozen, rs, inplace=True)
    overlapping = np.lib.stride_tricks.as_strided(np.zeros(7), (3, 5), (8, 8), writeable=True)
    with pytest.raises(ValueError, match="its entries overlap in memory"):
        CE.softmax_cross_entropy_grad(overlapping, rs, inplace=True)
    with pytest.raises(TypeError, match="must then be a NumPy array, not list"):
        CE.softmax_cross_entropy_grad(zs.tolist(), rs, inplace=True)
    # without inplace the same inputs are only read
    for z in (expanded, frozen, overlapping, zs.tolist()):
        loss, dz = CE.softmax_cross_entropy_grad(z, rs)
        assert_close(dz, ref_ce(np.asarray(z), rs)[1], np.float64, "inplace=False")


# ------------------------------------------------------------------ fork

def _in_child(queue, zs, rs, gs):
    queue.put((CE.softmax_cross_entropy_grad(zs, rs)[1], SM.softmax_grad(zs, gs)[1], LS.log_softmax(zs)))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_kernels_run_in_a_forked_child_after_the_parent_used_the_pool(monkeypatch):
    """A DataLoader worker is a forked child: the parent's pool threads do not exist there.
    The child must make its own pool rather than wait on the parent's forever."""
    for module in MODULES:
        monkeypatch.setattr(module, "_CORES", 4)
        monkeypatch.setattr(module, "_SHARE", 64)  # 64×32 rows: four shares, three of them on the pool
    rng = np.random.default_rng(8)
    zs, rs, gs = rng.normal(0, 3, (64, 32)), rng.integers(0, 32, 64), rng.normal(size=(64, 32))
    names = set()
    original = CE._in_parallel
    def watched(work, rows, width):
        def share(lo, hi):
            names.add(threading.current_thread().name)
            work(lo, hi)
        original(share, rows, width)
    monkeypatch.setattr(CE, "_in_parallel", watched)
    want = (CE.softmax_cross_entropy_grad(zs, rs)[1], SM.softmax_grad(zs, gs)[1], LS.log_softmax(zs))
    assert any(n.startswith("symnet") for n in names), "the parent used no pool thread"
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue, zs, rs, gs))
    child.start()
    try:
        got = queue.get(timeout=20)
    except Exception:
        got = None
    child.join(5)
    if child.is_alive():
        child.kill()
        child.join()
    assert got is not None, "the forked child hung (or died) running a kernel"
    assert child.exitcode == 0
    for g, w, name in zip(got, want, ("cross-entropy gradient", "softmax gradient", "log-softmax")):
        np.testing.assert_array_equal(g, w, err_msg=name)
    assert_close(want[0], ref_ce(zs, rs)[1], np.float64, "cross-entropy gradient")
