"""The generated Triton kernels: against the formula in mpmath, against torch.autograd and
torch's own functions, at odd shapes, extreme values and in bfloat16; bad input; the
torch custom ops inside torch.compile. Without a GPU the kernels run under Triton's
interpreter (TRITON_INTERPRET=1, set here before triton is imported): small sizes."""
from __future__ import annotations

import os
from pathlib import Path

import mpmath
import numpy as np
import pytest
from conftest import torch_and_triton
import sympy as sp

torch, triton = torch_and_triton()

import symnet  # noqa: E402
from symnet import SymnetError, sigmoid  # noqa: E402
from symnet.codegen.blocks import stale_sources  # noqa: E402
from symnet.kernels import load_kernel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the interpreter's numpy overflows

SMSE = load_kernel("sigmoid_mse", "triton")
CE = load_kernel("softmax_cross_entropy", "triton")


def t(x, dtype=torch.float32):
    return torch.as_tensor(np.asarray(x), dtype=dtype, device=DEVICE)


def test_committed_triton_kernels_are_fresh():
    assert not stale_sources(ROOT / "kernels", "triton"), "run 'symnet codegen --backend triton'"


def test_kernels_import_only_torch_and_triton():
    for path in (ROOT / "kernels" / "triton").glob("*.py"):
        imports = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        assert set(imports) <= {"import os", "import torch", "import triton", "import triton.language as tl",
                                "from triton.tools.tensor_descriptor import TensorDescriptor"}, path


@pytest.mark.parametrize("n", [1, 1023, 1025])
def test_sigmoid_mse_matches_mpmath_at_odd_sizes_and_extremes(n):
    rng = np.random.default_rng(n)
    z = rng.uniform(-30, 30, n)
    z[: min(n, 6)] = [-1000.0, 1000.0, -88.7, 88.7, 0.0, 1e-30][: min(n, 6)]
    y = rng.uniform(0, 1, n)
    L, dL_dz = SMSE.sigmoid_mse(t(z), t(y))
    for q in range(n):
        with mpmath.workdps(40):
            s = 1 / (1 + mpmath.exp(-mpmath.mpf(float(np.float32(z[q])))))
            yy = mpmath.mpf(float(np.float32(y[q])))
            want_L, want_d = (yy - s) ** 2, -2 * (yy - s) * s * (1 - s)
        scale = float(abs(yy) + s)  # the size of the terms of y − σ(z)
        assert abs(float(L[q]) - float(want_L)) <= 16 * 2 ** -23 * max(float(want_L), scale ** 2)
        assert abs(float(dL_dz[q]) - float(want_d)) <= 16 * 2 ** -23 * max(abs(float(want_d)), scale * float(s * (1 - s))) + 2 ** -135  # subnormal results keep fewer bits
    assert torch.isfinite(L).all() and torch.isfinite(dL_dz).all()


# Triton's interpreter runs the programs one after another in NumPy: 1823×781 in float64 is 696 programs and
# took 150 s of CPU there (a GPU: milliseconds). 1823×41 keeps both sides odd, a partial last block and 37
# programs adding up their partial sums (sums over several blocks of partials: the test after this one).
SHAPE_1823 = (1823, 781) if DEVICE == "cuda" else (1823, 41)


def test_shape_1823_by_781_and_the_reduction():
    rng = np.random.default_rng(0)
    z, y = rng.normal(0, 4, SHAPE_1823), rng.uniform(0, 1, SHAPE_1823)
    L, d = SMSE.sigmoid_mse(t(z, torch.float64), t(y, torch.float64))
    s = 1 / (1 + np.exp(-z))
    assert L.shape == SHAPE_1823
    # an ulp of difference between numpy's exp and the device's moves L = (y − s)² by at most
    # 2|y − s|·2⁻⁵² absolutely: relatively large where y ≈ s (seen on an H100, rel 2e-11 at L = 3e-11)
    np.testing.assert_allclose(L.cpu().numpy(), (y - s) ** 2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d.cpu().numpy(), -2 * (y - s) * s / (1 + np.exp(z)), rtol=1e-11, atol=1e-15)
    total, d2 = SMSE.sigmoid_mse(t(z, torch.float64), t(y, torch.float64), reduction="mean")
    assert total.shape == () and float(total) == pytest.approx(((y - s) ** 2).mean(), rel=1e-12)
    assert torch.equal(d, d2)


def test_the_reduction_is_finished_by_the_last_program(monkeypatch):
    """Blocks of 16 (4096 in use; float64 half that): 21 programs (float64: 42) write partial
    sums, the last to finish adds them up a block at a time (2 blocks, float64 6, the last one
    partial), in a fixed order; against the float64 sum of numpy's formula. (1000 elements, 63 and
    125 programs, took 41 s of CPU under Triton's interpreter, which runs the programs one by one.)"""
    monkeypatch.setattr(SMSE, "BLOCK", 16)
    rng = np.random.default_rng(7)
    z, y = rng.normal(0, 3, 333), rng.uniform(0, 1, 333)
    want = (y - 1 / (1 + np.exp(-z))) ** 2
    for dtype, rtol in ((torch.float64, 1e-13), (torch.float32, 1e-5)):
        zz, yy = t(z, dtype), t(y, dtype)
        total, _ = SMSE.sigmoid_mse(zz, yy, reduction="sum")
        mean, _ = SMSE.sigmoid_mse(zz, yy, reduction="mean")
        assert total.shape == mean.shape == () and total.dtype == mean.dtype == dtype
        assert float(total) == pytest.approx(want.sum(), rel=rtol)
        assert float(mean) == pytest.approx(want.mean(), rel=rtol)
        assert float(SMSE.sigmoid_mse(zz, yy, reduction="sum")[0]) == float(total)  # the same bits again
    empty = t(np.zeros(0))
    assert float(SMSE.sigmoid_mse(empty, empty, reduction="sum")[0]) == 0.0
    assert np.isnan(float(SMSE.sigmoid_mse(empty, empty, reduction="mean")[0]))


def test_bfloat16_and_float16_inputs_are_upcast():
    rng = np.random.default_rng(1)
    z, y = rng.normal(0, 3, 3000), rng.uniform(0, 1, 3000)
    for dtype, tol, tiny in ((torch.bfloat16, 2 ** -7, 1e-38), (torch.float16, 2 ** -10, 2 ** -24)):
        zt, yt = t(z, dtype), t(y, dtype)
        L, d = SMSE.sigmoid_mse(zt, yt)
        assert L.dtype == dtype and d.dtype == dtype
        zz = zt.double().requires_grad_(True)
        ref = (yt.double() - torch.sigmoid(zz)) ** 2
        (g,) = torch.autograd.grad(ref.sum(), zz)
        # the exact values at the rounded inputs, rounded once more to the output type
        # (float16's subnormals, below 6.1e-5, are spaced 2⁻²⁴ apart)
        assert ((L.double() - ref.detach()).abs() <= 2 * tol * ref.detach().abs() + tiny).all()
        assert ((d.double() - g).abs() <= 2 * tol * g.abs() + tiny).all()


def test_custom_op_gradient_is_torch_autograds():
    x = torch.randn(40, dtype=torch.float64, device=DEVICE, requires_grad=True)
    y = torch.rand(40, dtype=torch.float64, device=DEVICE)
    # gradcheck launches the kernel three times an element (the op is elementwise: 13 check what 40 did; 40 took
    # 12 s of CPU under Triton's interpreter); the 40 are checked against torch below
    assert torch.autograd.gradcheck(lambda a: SMSE.sigmoid_mse_value(a, y[:13]), (x[:13].detach().requires_grad_(True),))
    g = torch.randn(40, dtype=torch.float64, device=DEVICE)
    (ours,) = torch.autograd.grad((SMSE.sigmoid_mse_value(x, y) * g).sum(), x)
    (ref,) = torch.autograd.grad((((y - torch.sigmoid(x)) ** 2) * g).sum(), x)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-15)


def test_custom_op_runs_inside_torch_compile_without_graph_breaks():
    x = torch.randn(64, device=DEVICE, requires_grad=True)
    y = torch.rand(64, device=DEVICE)

    def loss(a):
        return SMSE.sigmoid_mse_value(a, y).mean() + CE.softmax_cross_entropy_loss(a.view(8, 8), torch.arange(8, device=DEVICE))

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    (g1,) = torch.autograd.grad(compiled(x), x)
    (g2,) = torch.autograd.grad(loss(x), x)
    torch.testing.assert_close(g1, g2)


SM, LSM = load_kernel("softmax", "triton"), load_kernel("log_softmax", "triton")


@pytest.fixture(params=["one read", "two passes"])
def row_path(request, monkeypatch):
    """Each row test runs on both paths of the row skeleton: a row held in registers (read
    once), and a row read twice in tiles (here every row of more than 64 columns, in tiles of
    256: rows of 1023 columns and more take several tiles and the online rescaling)."""
    if request.param == "two passes":
        for module in (CE, SM, LSM):
            monkeypatch.setattr(module, "ONE_READ_MAX", 64)
            monkeypatch.setattr(module, "TILE", 256)
    return request.param


def test_row_tiles_choose_one_read_up_to_the_limit():
    assert CE._row_tiles(32000, torch.float32) == {"BLOCK_V": 32768, "ONE_READ": True, "num_warps": 16}
    assert CE._row_tiles(32000, torch.bfloat16)["ONE_READ"]
    assert CE._row_tiles(10, torch.float32) == {"BLOCK_V": 16, "ONE_READ": True, "num_warps": 4}
    assert not CE._row_tiles(32000, torch.float64)["ONE_READ"]  # float64 holds half as many
    assert CE._row_tiles(128256, torch.bfloat16) == {"BLOCK_V": 16384, "ONE_READ": False, "num_warps": 16}


@pytest.mark.parametrize("N, V", [(1, 1), (3, 7), (5, 1023), (4, 512), (2, 9000), (67, 129)])
def test_cross_entropy_matches_torch(N, V, row_path):
    g = torch.Generator().manual_seed(N * V)
    z = (torch.randn(N, V, generator=g, dtype=torch.float64) * 3).to(DEVICE)
    r = torch.randint(0, V, (N,), generator=g).to(DEVICE)
    for reduction in ("mean", "sum", "none"):
        loss, dz = CE.softmax_cross_entropy_grad(z, r, reduction)
        zz = z.clone().requires_grad_(True)
        ref = torch.nn.functional.cross_entropy(zz, r, reduction=reduction)
        (g_ref,) = torch.autograd.grad(ref.sum(), zz)
        torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(dz, g_ref, rtol=1e-12, atol=1e-14)
        assert float(CE.softmax_cross_entropy(z, r, reduction).sum()) == pytest.approx(float(ref.detach().sum()), rel=1e-12)


def test_cross_entropy_extremes_ignore_index_and_in_place(row_path):
    z = t([[1000.0, -1000.0, 0.0], [-1e30, 3e38, 0.0], [88.7, 88.7, -88.7], [5.0, 5.0, 5.0]])
    r = t([0, 1, 2, -100], torch.int64)
    loss, dz = CE.softmax_cross_entropy_grad(z, r, "none")
    want = torch.tensor([0.0, 0.0, 177.4 + float(np.log(2.0)), 0.0])
    torch.testing.assert_close(loss.cpu(), want, rtol=1e-6, atol=1e-6)
    assert torch.isfinite(dz).all() and float(dz[3].abs().max()) == 0.0  # the ignored row
    mean, dz_mean = CE.softmax_cross_entropy_grad(z, r)  # mean over the 3 rows not ignored
    assert float(mean) == pytest.approx(float(loss.sum()) / 3, rel=1e-6)
    torch.testing.assert_close(dz_mean, dz / 3)
    logits = t(np.random.default_rng(2).normal(size=(4, 50)))
    keep = logits.clone()
    _, separate = CE.softmax_cross_entropy_grad(keep, r.clamp(min=0))
    _, written = CE.softmax_cross_entropy_grad(logits, r.clamp(min=0), inplace=True)
    assert written.data_ptr() == logits.data_ptr()
    torch.testing.assert_close(written, separate)


def test_cross_entropy_in_bfloat16(row_path):
    g = torch.Generator().manual_seed(3)
    z = (torch.randn(16, 300, generator=g) * 4).bfloat16().to(DEVICE)
    r = torch.randint(0, 300, (16,), generator=g).to(DEVICE)
    loss, dz = CE.softmax_cross_entropy_grad(z, r)
    assert loss.dtype == dz.dtype == torch.bfloat16
    zz = z.double().requires_grad_(True)
    ref = torch.nn.functional.cross_entropy(zz, r)
    (g_ref,) = torch.autograd.grad(ref, zz)
    assert abs(float(loss) - float(ref.detach())) <= 2 ** -7 * float(ref.detach())
    assert ((dz.double() - g_ref).abs() <= 2 ** -7 * g_ref.abs() + 2 ** -7 / 16 / 300).all()


def test_bad_input_is_refused_clearly():
    z, y = t(np.zeros(4)), t(np.zeros(4))
    cases = [
        (lambda: SMSE.sigmoid_mse(z, t(np.zeros(5))), ValueError, "'y' has shape (5,) but 'z' has shape (4,)"),
        (lambda: SMSE.sigmoid_mse(z, y.double()), TypeError, "'y' is torch.float64 but 'z' is torch.float32"),
        (lambda: SMSE.sigmoid_mse(z.int(), y), TypeError, "'z' has dtype torch.int32"),
        (lambda: SMSE.sigmoid_mse(np.zeros(4), y), TypeError, "'z' must be a torch.Tensor"),
        (lambda: SMSE.sigmoid_mse(z, y, reduction="max"), ValueError, "reduction must be"),
        (lambda: CE.softmax_cross_entropy(t(np.zeros((2, 3))), t([0, 3], torch.int64)), ValueError,
         "class index 3 in argument 'r' is outside [0, 3)"),
        (lambda: CE.softmax_cross_entropy(t(np.zeros((2, 3))), t([0, -1], torch.int64)), ValueError,
         "class index -1"),
        (lambda: CE.softmax_cross_entropy(t(np.zeros((2, 3))), t([0, 1, 2], torch.int64)), ValueError,
         "'r' has shape (3,)"),
        (lambda: CE.softmax_cross_entropy(t(np.zeros((2, 3))), t([0.0, 1.0])), TypeError, "integer class indices"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            call()
    if DEVICE == "cpu":  # a CPU tensor without the interpreter: named, not a crash
        os.environ["TRITON_INTERPRET"] = "0"
        try:
            with pytest.raises(ValueError, match="'z' is on cpu; the Triton kernels run on a CUDA device"):
                SMSE.sigmoid_mse(z, y)
        finally:
            os.environ["TRITON_INTERPRET"] = "1"


def test_the_mean_and_sum_are_taken_on_the_device_by_the_last_program(row_path, monkeypatch):
    """60 rows, counted and summed 16 at a time (SUM_BLOCK, 1024 in use): four programs of the
    row counter, and 60 row programs of which the last to finish adds the losses up in a
    fixed order; ignored rows are not counted by the mean."""
    monkeypatch.setattr(CE, "SUM_BLOCK", 16)
    gen = torch.Generator().manual_seed(11)
    z = (torch.randn(60, 70, generator=gen, dtype=torch.float64) * 3).to(DEVICE)
    r = torch.randint(0, 70, (60,), generator=gen)
    r[::7] = -100
    r = r.to(DEVICE)
    zz = z.clone().requires_grad_(True)
    for reduction in ("mean", "sum"):
        ref = torch.nn.functional.cross_entropy(zz, r, reduction=reduction)
        (g_ref,) = torch.autograd.grad(ref, zz)
        loss, dz = CE.softmax_cross_entropy_grad(z, r, reduction)
        assert loss.shape == () and loss.dtype == torch.float64
        torch.testing.assert_close(loss, ref.detach(), rtol=1e-13, atol=0)
        torch.testing.assert_close(dz, g_ref, rtol=1e-12, atol=1e-16)
        torch.testing.assert_close(CE.softmax_cross_entropy(z, r, reduction), ref.detach(), rtol=1e-13, atol=0)
    half = CE.softmax_cross_entropy(z.bfloat16(), r)  # the loss in the logits' dtype, summed in float32
    assert half.dtype == torch.bfloat16
    ref = torch.nn.functional.cross_entropy(z.bfloat16().double(), r)
    assert abs(float(half) - float(ref)) <= 2 ** -8 * float(ref)


@pytest.mark.parametrize("V", [32768, 32769, 2 ** 18 + 3])
def test_long_rows_up_to_256k_classes(V):
    """The largest row held in registers (32,768), the shortest read twice, and a row of more
    than 256k classes (17 tiles of 16,384), in float32 and bfloat16, against float64 torch."""
    gen = torch.Generator().manual_seed(V)
    z64 = torch.randn(2, V, generator=gen, dtype=torch.float64) * 4
    r = torch.tensor([V - 1, 5])
    for dtype, tol in ((torch.float32, 1e-5), (torch.bfloat16, 2 ** -7)):
        z = z64.to(dtype)
        zz = z.double().requires_grad_(True)
        ref = torch.nn.functional.cross_entropy(zz, r)
        (g_ref,) = torch.autograd.grad(ref, zz)
        ref = float(ref.detach())
        loss, dz = CE.softmax_cross_entropy_grad(z.to(DEVICE), r.to(DEVICE))
        assert abs(float(loss) - ref) <= tol * ref
        assert ((dz.double().cpu() - g_ref).abs() <= tol * g_ref.abs() + tol / V).all()


@pytest.mark.skipif(DEVICE != "cuda", reason="CUDA graphs need a GPU")
def test_the_reductions_are_captured_in_a_cuda_graph():
    """Nothing waits on the host (check=False): the cross-entropy mean and the σ+MSE mean are
    captured in a CUDA graph (the counters' zeroing included) and replay to the same bits."""
    gen = torch.Generator(device="cuda").manual_seed(0)
    z = torch.randn(300, 5000, device="cuda", generator=gen)
    r = torch.randint(0, 5000, (300,), device="cuda", generator=gen)
    r[::5] = -100
    zs, ys = torch.randn(100000, device="cuda", generator=gen), torch.rand(100000, device="cuda", generator=gen)

    def step():
        return [*CE.softmax_cross_entropy_grad(z, r, check=False), *SMSE.sigmoid_mse(zs, ys, reduction="mean")]
    want = step()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the capture
        step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        got = step()
    for _ in range(3):
        for x in got:
            x.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        for a, b in zip(got, want):
            assert torch.equal(a, b)


def test_no_rows_give_a_zero_sum_and_an_undefined_mean():
    z, r = torch.zeros(0, 5, device=DEVICE), torch.zeros(0, dtype=torch.int64, device=DEVICE)
    assert float(CE.softmax_cross_entropy(z, r, "sum")) == 0.0
    assert np.isnan(float(CE.softmax_cross_entropy_grad(z, r)[0]))
    assert CE.softmax_cross_entropy(z, r, "none").shape == (0,)


def test_a_bad_class_unchecked_is_nan_never_an_out_of_bounds_read():
    z = t(np.random.default_rng(4).normal(size=(3, 5)))
    loss = CE.softmax_cross_entropy(z, t([0, 7, 2], torch.int64), "none", check=False)
    assert torch.isnan(loss[1]) and torch.isfinite(loss[[0, 2]]).all()


def test_non_contiguous_input_is_handled():
    base = t(np.random.default_rng(5).normal(size=(40, 2)))
    z, y = base[:, 0], base[:, 1].sigmoid()
    assert not z.is_contiguous()
    L, d = SMSE.sigmoid_mse(z, y)
    torch.testing.assert_close(L, (y - torch.sigmoid(z)) ** 2)
    logits = t(np.random.default_rng(6).normal(size=(10, 6))).t()  # (6, 10) with stride (1, 6)
    loss, dz = CE.softmax_cross_entropy_grad(logits, t(np.arange(6) % 10, torch.int64))
    torch.testing.assert_close(loss, torch.nn.functional.cross_entropy(logits, t(np.arange(6) % 10, torch.int64)))


def test_compile_for_triton_runs_a_users_formula():
    x, w = sp.symbols("x w", real=True)
    k = symnet.compile(symnet.derive(sp.log(1 + sp.exp(w * x)) + sigmoid(x) ** 3, [x, w]), backend="triton")
    assert "@triton.jit" in k.source and "tl.exp" in k.source
    xs = torch.linspace(-30, 30, 101, dtype=torch.float64, device=DEVICE)
    ws = torch.linspace(-2, 2, 101, dtype=torch.float64, device=DEVICE)
    assert k.inputs == ("w", "x")  # by name within a role
    f, df_dx, df_dw = k(x=xs, w=ws)
    xx, ww = xs.clone().requires_grad_(True), ws.clone().requires_grad_(True)
    ref = torch.log1p(torch.exp(ww * xx)) + torch.sigmoid(xx) ** 3  # (F.softplus returns x past 20)
    gx, gw = torch.autograd.grad(ref.sum(), (xx, ww))
    torch.testing.assert_close(f, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(df_dx, gx, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(df_dw, gw, rtol=1e-10, atol=1e-12)
    assert symnet.compile(symnet.derive(sp.log(1 + sp.exp(w * x)) + sigmoid(x) ** 3, [x, w]), backend="triton") is k


def test_the_printer_is_strict():
    x = sp.Symbol("x", real=True)
    with pytest.raises(SymnetError, match="cannot generate"):
        symnet.compile(symnet.derive(sp.besselj(0, x), [x]), backend="triton")


DENSE = load_kernel("dense", "triton")
RNN = load_kernel("rnn_step", "triton")


@pytest.mark.parametrize("B, m, n", [(1, 1, 1), (37, 19, 23), (70, 45, 33),
                                     (300, 8, 70)])  # 10 × 3 tiles of 32: a full group of 8 tile rows, then 2
def test_dense_layers_match_torch_autograd(B, m, n):
    g = torch.Generator().manual_seed(B + m + n)
    a, W, b, up = (torch.randn(*s, generator=g, dtype=torch.float64).to(DEVICE) for s in ((B, m), (n, m), (n,), (B, n)))
    aa, WW, bb = (x.clone().requires_grad_(True) for x in (a, W, b))
    for forward, backward, ref in (
            (DENSE.dense_sigmoid, lambda y: DENSE.dense_sigmoid_backward(a, W, y, up), torch.sigmoid(aa @ WW.T + bb)),
            (DENSE.linear, lambda y: DENSE.linear_backward(a, W, up), aa @ WW.T + bb)):
        y = forward(a, W, b)
        torch.testing.assert_close(y, ref.detach(), rtol=1e-12, atol=1e-12)
        dW, db, da = backward(y)
        rW, rb, ra = torch.autograd.grad(ref, (WW, bb, aa), up)
        for got, want in ((dW, rW), (db, rb), (da, ra)):
            torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11)


def test_rnn_step_matches_torch_autograd():
    g = torch.Generator().manual_seed(9)
    x, hp, Wi, Wh, up = (torch.randn(*s, generator=g, dtype=torch.float64).to(DEVICE)
                         for s in ((11, 3), (11, 17), (17, 3), (17, 17), (11, 17)))
    xx, hh, A, H = (v.clone().requires_grad_(True) for v in (x, hp, Wi, Wh))
    ref = torch.sigmoid(xx @ A.T + hh @ H.T)
    h = RNN.rnn_step(x, hp, Wi, Wh)
    torch.testing.assert_close(h, ref.detach(), rtol=1e-12, atol=1e-12)
    for got, want in zip(RNN.rnn_step_backward(x, hp, Wi, Wh, h, up), torch.autograd.grad(ref, (A, H, hh), up)):
        torch.testing.assert_close(got, want, rtol=1e-11, atol=1e-11)


def test_dense_in_float32_and_bfloat16():
    g = torch.Generator().manual_seed(10)
    a, W, b = (torch.randn(*s, generator=g).to(DEVICE) for s in ((40, 30), (20, 30), (20,)))
    want = torch.sigmoid(a.double() @ W.double().T + b.double())
    torch.testing.assert_close(DENSE.dense_sigmoid(a, W, b).double(), want, rtol=1e-5, atol=1e-6)  # IEEE float32
    y16 = DENSE.dense_sigmoid(a.bfloat16(), W.bfloat16(), b.bfloat16())
    at = [v.bfloat16().double() for v in (a, W, b)]
    want16 = torch.sigmoid(at[0] @ at[1].T + at[2])
    assert y16.dtype == torch.bfloat16 and float((y16.double() - want16).abs().max()) <= 2 ** -8 + 1e-3


@pytest.fixture
def hopper(monkeypatch):
    """The dense launchers as on a Hopper GPU: TMA present, and the persistent TMA kernel taken
    (the interpreter runs it on the CPU). Returns the keys of the launches that took it, as they come."""
    if DEVICE == "cuda" and torch.cuda.get_device_capability()[0] < 9:
        pytest.skip("TMA needs a GPU of compute capability 9.0 or later")
    took = []
    for module in (DENSE, RNN):
        monkeypatch.setattr(module, "_has_tma", lambda device: True)
        monkeypatch.setattr(module, "_faster", lambda key, launches: (took.append(key), launches["tma"]()))
    return took


# one unit in the last place: the interpreter's casts to 16 bits truncate (a GPU's round to nearest)
@pytest.mark.parametrize("dtype, rtol, split", [(torch.bfloat16, 2 ** -7, True), (torch.bfloat16, 2 ** -7, False),
                                                (torch.float16, 2 ** -10, True)])
def test_the_persistent_tma_forward_kernels(hopper, dtype, rtol, split, monkeypatch):
    """300 × 40 outputs in tiles of 32 × 32: 10 × 2 tiles, the last of each partial, taken in turn
    by 4 programs; the 72 columns of k in slices of 16, the last slice half past the end (TMA reads
    0 there); each output tile stored whole, or in two halves (SPLIT). Against float64 torch on
    the same 16-bit inputs."""
    if DEVICE == "cpu":  # the interpreter's one config, with the output tile stored whole or split
        for kernel in (DENSE._dense_sigmoid_tma_kernel, DENSE._linear_tma_kernel, RNN._rnn_step_tma_kernel):
            (config,) = kernel.configs
            monkeypatch.setattr(kernel, "configs", [triton.Config({**config.kwargs, "SPLIT": split},
                                                                  pre_hook=config.pre_hook)])
    g = torch.Generator().manual_seed(12)
    a, W, b = (torch.randn(*s, generator=g).to(dtype).to(DEVICE) for s in ((300, 72), (40, 72), (40,)))
    a64, W64, b64 = (v.double() for v in (a, W, b))
    for forward, want in ((DENSE.dense_sigmoid, torch.sigmoid(a64 @ W64.T + b64)), (DENSE.linear, a64 @ W64.T + b64)):
        y = forward(a, W, b)
        assert y.dtype == dtype
        torch.testing.assert_close(y.double(), want, rtol=rtol, atol=1e-4)
    x, hp, Wi, Wh = (torch.randn(*s, generator=g).to(dtype).to(DEVICE) for s in ((11, 8), (11, 24), (24, 8), (24, 24)))
    want = torch.sigmoid(x.double() @ Wi.double().T + hp.double() @ Wh.double().T)
    torch.testing.assert_close(RNN.rnn_step(x, hp, Wi, Wh).double(), want, rtol=rtol, atol=1e-4)
    assert [key[0] for key in hopper] == ["dense_sigmoid", "linear", "rnn_step"]
    # rows TMA cannot address (70 columns of 2 bytes: 140, not a multiple of 16) take the tiled kernel
    a70, W70 = a[:, :70].contiguous(), W[:, :70].contiguous()
    torch.testing.assert_close(DENSE.linear(a70, W70, b).double(), a70.double() @ W70.double().T + b64,
                               rtol=rtol, atol=1e-4)
    assert len(hopper) == 3
    # no columns to sum over (m = 0): σ(b) from the tiled kernel, not an empty TMA descriptor
    y0 = DENSE.dense_sigmoid(a[:, :0], W[:, :0], b)
    torch.testing.assert_close(y0.double(), torch.sigmoid(b64).expand(300, 40), rtol=rtol, atol=1e-4)
    assert len(hopper) == 3


def test_the_faster_forward_is_measured_once_per_shape_and_kept(monkeypatch):
    ran = []
    launches = {"tiled": lambda: ran.append("tiled"), "tma": lambda: ran.append("tma")}
    seconds = {"tiled": 2.0, "tma": 1.0}
    monkeypatch.setattr(DENSE, "_FASTER", {})
    monkeypatch.setattr(triton.testing, "do_bench", lambda launch: (launch(), seconds[ran[-1]])[1])
    DENSE._faster(("linear", 8, 8, 8), launches)
    assert ran == ["tiled", "tma", "tma"]  # each measured, then the faster run
    DENSE._faster(("linear", 8, 8, 8), launches)
    assert ran[3:] == ["tma"]  # the choice is kept: no second measurement
    seconds.update(tiled=0.5)
    DENSE._faster(("linear", 16, 8, 8), launches)
    assert ran[4:] == ["tiled", "tma", "tiled"]  # another shape is measured anew
    assert DENSE._FASTER[("linear", 16, 8, 8)] == {"tiled": 0.5, "tma": 1.0}


def test_a_forward_kernel_that_cannot_run_is_left_out(monkeypatch):
    ran = []

    def broken():
        raise RuntimeError("no TMA here")
    monkeypatch.setattr(DENSE, "_FASTER", {})
    monkeypatch.setattr(DENSE, "_FAILED", {})
    monkeypatch.setattr(triton.testing, "do_bench", lambda launch: (launch(), 1.0)[1])
    DENSE._faster(("linear", 8, 8, 8), {"tiled": lambda: ran.append("tiled"), "tma": broken})
    assert ran == ["tiled", "tiled"]
    assert "no TMA here" in str(DENSE._FAILED[("linear", 8, 8, 8), "tma"])
    with pytest.raises(RuntimeError, match="no TMA here"):  # the tiled kernel, named first, must run
        DENSE._faster(("linear", 16, 8, 8), {"tiled": broken, "tma": lambda: ran.append("tma")})


def test_dense_bad_input():
    a, W, b = t(np.zeros((4, 3))), t(np.zeros((2, 3))), t(np.zeros(2))
    for call, error, message in (
            (lambda: DENSE.dense_sigmoid(a, t(np.zeros((2, 4))), b), ValueError, "'W' has shape (2, 4), expected (·, 3)"),
            (lambda: DENSE.dense_sigmoid(a, W, t(np.zeros(3))), ValueError, "'b' has shape (3,), expected (2,)"),
            (lambda: DENSE.dense_sigmoid(a, W.double(), b), TypeError, "'W' is torch.float64"),
            (lambda: DENSE.dense_sigmoid_backward(a, W, t(np.zeros((4, 2))), t(np.zeros((3, 2)))), ValueError,
             "'g' has shape (3, 2), expected (4, 2)")):
        with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
            call()


def test_the_gpu_benchmark_script_checks_correctness_at_small_sizes():
    """benchmarks/gpu.py stays runnable: its correctness stage at small sizes (no timing), under the
    interpreter where there is no GPU."""
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if DEVICE == "cpu":
        env["TRITON_INTERPRET"] = "1"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--small", "--check-only"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "sigmoid_mse: correct" in run.stdout and "dense_bf16_8192x4096x4096: correct" in run.stdout


def test_the_gpu_sweep_script_runs_at_small_sizes():
    """benchmarks/gpu_sweep.py stays runnable: every variant at tiny sizes, checked against the
    default (a WRONG mark is a failure), under the interpreter where there is no GPU."""
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if DEVICE == "cpu":
        env["TRITON_INTERPRET"] = "1"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_sweep.py"), "--small"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "one read" in run.stdout and "two passes" in run.stdout and "WRONG" not in run.stdout


def test_the_gpu_ablation_script_runs_at_small_sizes():
    """benchmarks/gpu_ablation.py stays runnable: its substitutions still match the generated sigmoid+MSE kernel (a
    variant whose text did not change is an error), every variant at a tiny size, under the interpreter where there
    is no GPU; the accurate ones agree with the float64 formula."""
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if DEVICE == "cpu":
        env["TRITON_INTERPRET"] = "1"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_ablation.py"), "--small"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line for line in run.stdout.splitlines() if "worst relative error" in line]
    assert len(rows) == 4, run.stdout
    for line in rows[:3]:
        assert float(line.split("worst relative error")[1].split()[0]) < 1e-5, line


def test_layer_custom_ops_differentiate_with_the_generated_backward():
    g = torch.Generator().manual_seed(11)
    a, W, b = (torch.randn(*s, generator=g, dtype=torch.float64).to(DEVICE).requires_grad_(True)
               for s in ((6, 5), (4, 5), (4,)))
    assert torch.autograd.gradcheck(DENSE.dense_sigmoid_layer, (a, W, b))
    assert torch.autograd.gradcheck(DENSE.linear_layer, (a, W, b))
    x, hp, Wi, Wh = (torch.randn(*s, generator=g, dtype=torch.float64).to(DEVICE).requires_grad_(True)
                     for s in ((3, 2), (3, 4), (4, 2), (4, 4)))
    out = RNN.rnn_step_layer(x, hp, Wi, Wh)
    with pytest.raises(RuntimeError, match="no gradient for argument 'x'"):  # none generated: an error, not None
        torch.autograd.grad(out.sum(), (x, hp), allow_unused=True)
    assert torch.autograd.gradcheck(lambda h, A, B: RNN.rnn_step_layer(x.detach(), h, A, B), (hp, Wi, Wh))


def test_the_autotuner_tries_only_tiles_that_fit_the_problem(monkeypatch):
    """The GPU configs (10) are cut to the tiles a layer can use: all for the benchmark's
    bfloat16 8192×4096 layer, the 32×32 one for a 37×19 layer, none over 64×64 for float64 and
    none over 128×128 for float32; the
    persistent TMA kernel's (6) likewise, down to its smallest tile."""
    prune = DENSE._fitting("M", "N")["early_config_prune"]
    tiles = lambda kept: sorted((c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"]) for c in kept)  # noqa: E731
    f32, f64, bf16 = torch.empty(1), torch.empty(1, dtype=torch.float64), torch.empty(1, dtype=torch.bfloat16)
    assert len(prune(DENSE._GPU_CONFIGS, {"a_ptr": bf16, "M": 8192, "N": 4096})) == 10
    assert tiles(prune(DENSE._GPU_CONFIGS, {"a_ptr": f32, "M": 8192, "N": 4096})) == [
        (32, 32), (64, 64), (64, 128), (128, 64), (128, 128), (128, 128)]  # float32: none over 128 × 128
    assert tiles(prune(DENSE._GPU_CONFIGS, {"a_ptr": f32, "M": 37, "N": 19})) == [(32, 32)]
    assert tiles(prune(DENSE._GPU_CONFIGS, {"a_ptr": f32, "M": 100, "N": 70})) == [(32, 32), (64, 64), (64, 128), (128, 64), (128, 128), (128, 128)]
    assert tiles(prune(DENSE._GPU_CONFIGS, {"a_ptr": f64, "M": 8192, "N": 4096})) == [(32, 32), (64, 64)]
    assert tiles(prune(DENSE._GPU_CONFIGS, {"a_ptr": f32, "M": 1, "N": 1})) == [(32, 32)]
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)  # the TMA kernels' GPU configs (6), cut the same way
    tma = DENSE._tma_configs(None)
    assert len(prune(tma, {"M": 8192, "N": 4096})) == 6
    assert tiles(prune(tma, {"M": 300, "N": 40})) == [(64, 128)]


@pytest.mark.parametrize("N, V", [(1, 1), (4, 7), (3, 5000), (2, 9000)])
def test_softmax_and_log_softmax_with_their_vector_jacobian_products(N, V, row_path, monkeypatch):
    if row_path == "two passes":  # tiles of 1024: rows of 5000 and 9000 still take several (5 and 9, the last one
        # partial) and the online rescaling; in tiles of 256 (20 and 36 a pass) they took 14-16 s apiece in CI, the
        # interpreter's time growing with the tiles, not their width
        for module in (SM, LSM):
            monkeypatch.setattr(module, "TILE", 1024)
    gen = torch.Generator().manual_seed(N + V)
    z = (torch.randn(N, V, generator=gen, dtype=torch.float64) * 4).to(DEVICE)
    z[0, 0] = 1000.0 if V > 1 else z[0, 0]  # a row where e^z overflows without the max shift
    up = torch.randn(N, V, generator=gen, dtype=torch.float64).to(DEVICE)
    zz = z.clone().requires_grad_(True)
    for module, name, ref_fn in ((SM, "softmax", torch.softmax), (LSM, "log_softmax", torch.log_softmax)):
        ref = ref_fn(zz, dim=-1)
        (g_ref,) = torch.autograd.grad(ref, zz, up)
        value = getattr(module, name)(z)
        value2, dz = getattr(module, f"{name}_grad")(z, up)
        torch.testing.assert_close(value, ref.detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(value2, value)
        torch.testing.assert_close(dz, g_ref, rtol=1e-10, atol=1e-12)
    f32 = SM.softmax(z.float())
    assert torch.isfinite(f32).all() and float((f32.sum(-1) - 1).abs().max()) < 1e-5


def test_verify_triton_passes_on_the_committed_kernels():
    from symnet.verify.kernels import format_table
    from symnet.verify.kernels_triton import verify_triton
    results = verify_triton(ROOT / "kernels", n=12)
    assert results and all(r.passed for r in results), format_table(results)
    assert {"float64", "float32", "bfloat16"} <= {r.dtype for r in results}
    assert {"mpmath", "torch.autograd"} <= {r.check for r in results}
