"""A float32 kernel's double words in the repair kernel (session 26, issue 19's sigmoid+MSE bandwidth).

On an H200 (benchmarks/results/gpu-ablation-h200-2026-12-04.txt) the float32 sigmoid+MSE kernel took 0.88 ms for 64M
elements, 0.22× copy bandwidth: its widened y − σ(z) held the double-word branch (taken in a block where the float64
body's bound is past 2⁻³⁰ of it, almost never) inline, 190 registers a thread; without that branch 78 registers and
0.38 ms. Now the main kernel computes the float64 body and its bound, flags a block with an element past it and puts
it on a list on the device; a repair kernel of a few programs takes the listed blocks in turn (the list's length read
on the device: nothing read back, so torch.compile and CUDA graphs take the launcher as it is), recomputes them with
the double words, and where any were listed adds the partial sums up again. Checked here under Triton's interpreter
(two repair programs, so each takes several listed blocks): values and gradients against mpmath at y = fl32(σ(z)) in
chosen blocks of several, the sum and the mean against the elements' own values, nothing listed where nothing is past
the bound, and the generated text."""
from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
from conftest import torch_and_triton

torch, _ = torch_and_triton()

from symnet.kernels import load_kernel  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # (a GPU run: every repair program compiled, 4 an SM)


def _sigmoid_mse():
    return load_kernel("sigmoid_mse", "triton")


def _ulps(got, want):
    """|got − want| in float32 steps at want (want from mpmath, as float64)."""
    want32 = np.float32(want)
    step = np.abs(np.spacing(want32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / step


def _data(blocks: int, block: int, special: list[int], seed=0):
    """z, y of blocks·block − 5 elements: y uniform except, in the blocks ``special``, 16 elements whose y is
    fl32(σ(z)) (y − σ(z) cancels past 2²⁴: the float64 body's bound is past 2⁻³⁰ of it at most of them)."""
    rng = np.random.default_rng(seed)
    n = blocks * block - 5
    z = rng.uniform(-8, 8, n).astype(np.float32)
    y = rng.uniform(0, 1, n).astype(np.float32)
    at = [b * block + j * 97 for b in special for j in range(16)]
    with mpmath.workdps(60):
        for i in at:
            y[i] = np.float32(float(1 / (1 + mpmath.exp(-mpmath.mpf(float(z[i]))))))
    return z, y, at


def _true(z, y, i):
    with mpmath.workdps(60):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(float(z[i]))))
        d = mpmath.mpf(float(y[i])) - s
        return float(d * d), float(-2 * d * s * (1 - s))


def _probe(tmp_path, name="sigmoid_mse"):
    """The committed kernel with its float32 repair branch (REPAIR == 4: since session 28, h-tail28, the whole block
    in float64) marked: every lane of a block it recomputes takes z = −10⁴, y = 2¹⁰ (so L = (2¹⁰ − σ(−10⁴))² = 2²⁰
    exactly), so the blocks the repair kernel took show in the outputs. (Before: the float32 double-word branch,
    TIER & 4, marked; the repair kernel no longer takes it.)"""
    import importlib.util

    text = open(load_kernel(name, "triton").__file__, encoding="utf-8").read()
    marker = "    elif REPAIR == 4:  # float32's repair kernel: the whole block in float64"
    assert text.count(marker) == 1
    head, tail = text.split(marker)
    line_end = tail.index("\n")
    probe = tmp_path / f"{name}_probe26.py"
    probe.write_text(head + marker + tail[:line_end] + "\n        z = z * 0.0 - 10000.0\n        y = y * 0.0 + 1024.0"
                     + tail[line_end:], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(probe.stem, probe)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_repair_kernel_takes_the_listed_blocks_in_turn_and_adds_the_sum_up_again(tmp_path):
    """6 blocks, y = fl32(σ(z)) in blocks 0, 2, 3 and 5: those 4 are listed and the repair kernel's two programs
    (the interpreter's) take them in turn; with the double-word branch marked (_probe), exactly those blocks change,
    and the sum and the mean are those of the stored values (the partial sums added up again after the repair)."""
    S = _probe(tmp_path)
    block = S.BLOCK // 2
    z, y, _ = _data(6, block, special=[0, 2, 3, 5])
    zt, yt = torch.from_numpy(z).to(DEVICE), torch.from_numpy(y).to(DEVICE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        L, _ = S.sigmoid_mse(zt, yt)
        total, _ = S.sigmoid_mse(zt, yt, reduction="sum")
        mean, _ = S.sigmoid_mse(zt, yt, reduction="mean")
    L = L.cpu().numpy()
    marked = [bool(np.all(L[b * block:(b + 1) * block] == 2.0 ** 20)) for b in range(6)]
    assert marked == [True, False, True, True, False, True]
    assert not np.any(L[block:2 * block] == 2.0 ** 20) and not np.any(L[4 * block:5 * block] == 2.0 ** 20)
    exact = float(np.sum(L.astype(np.float64)))
    assert abs(float(total) - exact) <= 1e-6 * exact, (float(total), exact)
    assert abs(float(mean) - exact / z.size) <= 1e-6 * exact / z.size


def test_the_repaired_values_against_mpmath():
    """The committed kernel at those points: L ≤ 2 ULP, ∂L/∂z ≤ 3 ULP (measured 1.51 and 2.60: the float32
    products after the widened y − σ(z); the bound is 8), bit-identical to the kernel with the branch inline (session
    25's, compared when this was written) and the same whatever the reduction."""
    S = _sigmoid_mse()
    block = S.BLOCK // 2
    z, y, at = _data(6, block, special=[0, 2, 3, 5])
    zt, yt = torch.from_numpy(z).to(DEVICE), torch.from_numpy(y).to(DEVICE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        L, dL = S.sigmoid_mse(zt, yt)
        _, dL_sum = S.sigmoid_mse(zt, yt, reduction="sum")
    L, dL = L.cpu().numpy(), dL.cpu().numpy()
    assert np.array_equal(dL_sum.cpu().numpy(), dL)
    worst_L = worst_dL = 0.0
    for i in at:
        want_L, want_dL = _true(z, y, i)
        if abs(want_dL) > 1e-37:
            worst_dL = max(worst_dL, float(_ulps(dL[i:i + 1], want_dL)[0]))
        if want_L > 1e-37:
            worst_L = max(worst_L, float(_ulps(L[i:i + 1], want_L)[0]))
    assert worst_L <= 2.0 and worst_dL <= 3.0, (worst_L, worst_dL)


def test_nothing_is_listed_where_every_element_is_within_the_bound():
    """Uniform targets: no block is listed, so the repair kernel's programs return at once; the list's length stays 0
    (read here through the launcher's own buffers by running the main kernel's launch as the launcher does)."""
    S = _sigmoid_mse()
    block = S.BLOCK // 2
    z, y, _ = _data(3, block, special=[])
    zt, yt = torch.from_numpy(z).to(DEVICE), torch.from_numpy(y).to(DEVICE)
    blocks = -(-z.size // block)
    tier = torch.zeros(2 * blocks + 1, dtype=torch.int32, device=DEVICE)
    L, dL = torch.empty_like(zt), torch.empty_like(zt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S._sigmoid_mse_kernel[(blocks,)](zt, yt, L, dL, tier, tier[blocks:], zt, zt, z.size, 1, WRITE_VALUE=True,
                                         REDUCE=False, F64=False, REPAIR=0, BLOCK=block, num_warps=S.WARPS,
                                         enable_fp_fusion=False)
    assert int(tier[2 * blocks]) == 0 and not bool(tier[:blocks].any())
    # and with y = fl32(σ(z)) in the second block alone: it is flagged (bit 4) and listed, once
    z, y, _ = _data(3, block, special=[1])
    zt, yt = torch.from_numpy(z).to(DEVICE), torch.from_numpy(y).to(DEVICE)
    tier.zero_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        S._sigmoid_mse_kernel[(blocks,)](zt, yt, L, dL, tier, tier[blocks:], zt, zt, z.size, 1, WRITE_VALUE=True,
                                         REDUCE=False, F64=False, REPAIR=0, BLOCK=block, num_warps=S.WARPS,
                                         enable_fp_fusion=False)
    assert tier[:blocks].tolist() == [0, 4, 0] and int(tier[2 * blocks]) == 1 and int(tier[blocks]) == 1


def test_the_generated_text():
    """The float32 branch flags the block (bit 4, no block-wide branch in the main kernel), the kernel's block is a
    function of its own, the launcher launches the repair kernel on a few programs and reads nothing back for float32
    (float64's tiers still read the flags' counts: _flagged_blocks)."""
    text = open(_sigmoid_mse().__file__, encoding="utf-8").read()
    assert "def _sigmoid_mse_block(pid, " in text
    assert "if TIER & 4:" in text and "tl.atomic_or(tier_ptr, tl.max(tl.where(keep | ~lanes, 0, 4)))" in text
    assert "if tl.max(tl.where(keep, 0, 1)) > 0:" not in text
    assert "_sigmoid_mse_kernel[(_repair_programs(z, blocks),)]" in text
    assert "_flagged_blocks(tier, 2) if f64 else ()" in text


@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_bce_logits_float32_repaired_blocks_against_mpmath(reduction):
    """The other committed kernel with the float32 double words (bce_logits ∂z = σ(z) − y, selected by ``needed``):
    y = fl32(σ(z)) in blocks 1 and 2 of 3, ∂z ≤ 0.52 ULP there (before the repair kernel, the inline branch: the
    same; through the float64 body alone 2.01, tests/test_tritonsum20.py)."""
    B = load_kernel("bce_logits", "triton")
    block = B.BLOCK // 2
    z, y, at = _data(3, block, special=[1, 2], seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, dz = B.bce_logits(torch.from_numpy(z).to(DEVICE), torch.from_numpy(y).to(DEVICE), reduction=reduction)
    dz = dz.cpu().numpy()
    with mpmath.workdps(60):
        want = [float(1 / (1 + mpmath.exp(-mpmath.mpf(float(z[i])))) - mpmath.mpf(float(y[i]))) for i in at]
    err = max(float(_ulps(dz[i:i + 1], w)[0]) for i, w in zip(at, want) if abs(w) > 1e-37)
    assert err <= 0.52, err
