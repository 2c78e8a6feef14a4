"""Issue 16, session 23 (task h-tfocal23): the registry focal loss's third tier in Triton's repair kernel.

Session 22 put the triple words on focal's ∂t and ∂z sums (0 ULP at their zeros, tests/test_tfocal22.py) inside the
float64 kernel, whose sm_90 compile went 67 → 263 CPU s: not merged. Now a tier of more than
doubleword.TRITON_TIER_INLINE triple-word exponentials and logs is in the kernel's REPAIR=True specialisation (the
repair kernel): the main kernel compiles without it and flags a block where an element needs it (tier_ptr, an atomic
or of doubleword.REPAIR_BITS); the launcher reads whether any block is flagged (float64 only) and launches the repair
kernel on those blocks alone, which Triton compiles at that first launch. Measured compile times:
benchmarks/results/tfocal23-sm90-2026-12-03.txt.

Checked under TRITON_INTERPRET=1 against mpmath at 60 digits (test_focal19's formulas, written out there) and
torch.autograd in float64 (test_focal19._errors: never worse than torch); which blocks were repaired is read from the
launcher's ``_flagged_blocks`` and its ``_REPAIRS`` count."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from conftest import compiled, triton_torch
from test_breakage5_formula import _ulps
from test_focal18 import _true
from test_focal19 import BOUND, GAMMA_INPUT, _check, _roots

from symnet.codegen import doubleword

torch = triton_torch()


def _module():
    return compiled(GAMMA_INPUT, "triton").module


def _run(z, t, g, dtype=torch.float64, reduction="none"):
    """The focal kernel's outputs (f, ∂γ, ∂t, ∂z) at the points, and the blocks its launcher repaired, as (bits, block
    ids) per repair launch (None: none flagged), and how many repair launches that call made."""
    module = _module()
    seen = []
    flagged_blocks = module._flagged_blocks

    def spy(tier, every):
        groups = flagged_blocks(tier, every)
        seen.append([(bits, ids.tolist()) for bits, ids in groups] or None)
        return groups
    module._flagged_blocks = spy
    before = sum(module._REPAIRS.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = [a if isinstance(a, torch.Tensor) else torch.tensor(np.asarray(a, np.float64), dtype=dtype)
                    for a in (z, t, g)]
            out = compiled(GAMMA_INPUT, "triton")(z=args[0], t=args[1], gamma=args[2], reduction=reduction)
    finally:
        module._flagged_blocks = flagged_blocks
    return ([o.numpy() for o in out], seen[0] if seen else "not read", sum(module._REPAIRS.values()) - before)


def _zeros(ts, gs):
    """The float64 nearest each zero of ∂t and ∂z (test_focal19._roots) and its two neighbours: (z, t, γ)."""
    rows = []
    for t in ts:
        for g in gs:
            for root in _roots(t, g):
                z = float(root)
                rows += [(v, t, g) for v in (np.nextafter(z, -np.inf), z, np.nextafter(z, np.inf))]
    return tuple(np.array(c) for c in zip(*rows))


def _ordinary(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-12, 12, n), rng.uniform(0, 1, n), rng.uniform(0, 3, n)


def _block():
    """The elements a float64 program of the focal kernel takes (its launcher's ``block``)."""
    return _module().BLOCK // 8


def test_the_tier_is_in_the_repair_kernel_only():
    """Focal's ∂t and ∂z sums (2 triple-word exponentials and logs each, past TRITON_TIER_INLINE) call functions that
    take TIER and tier_ptr, whose triple words are under ``if TIER & 1:`` (the repair kernel's specialisation of that
    tier, session 24) and whose main-kernel branch flags the block; y − tanh x (1) keeps its triple words inline (its
    repair kernel, since session 24, has its scaled tier alone)."""
    source = compiled(GAMMA_INPUT, "triton").source
    deep = doubleword.REPAIR_BITS["deep"]
    tiered = [part for part in source.split("@triton.jit")[1:] if f"if TIER & {deep}:" in part]
    assert len(tiered) >= 2, len(tiered)
    for part in tiered:
        before, after = part.split(f"if TIER & {deep}:", 1)
        tier, main = after.split("elif not TIER:  # the main kernel", 1)
        # (the triple words in a function of their own since session 25, h-tcost25: <name>_triple, called there)
        called = re.search(r"triple = (\w+_triple)\(", tier)
        assert called and "_tw_" in source.split(f"def {called[1]}(", 1)[1].split("@triton.jit", 1)[0], part[:300]
        assert "_tw_" not in before and "_tw_" not in main, part[:300]
        assert f"tl.atomic_or(tier_ptr, tl.max(tl.where(deep & lanes, {deep}, 0)))" in main
    assert "REPAIR=bits" in source and "_flagged_blocks(tier, 3)" in source
    plain = compiled("y - tanh(x)", "triton").source
    assert "_tw_tanh(" in plain and f"TIER & {deep}" not in plain and "_flagged_blocks(tier, 2)" in plain


@pytest.mark.parametrize("n", [1, 1023])
def test_ordinary_points_flag_no_block(n):
    """Sizes 1 and 1023 (two blocks, the last partial) of ordinary points, float64 and float32: no block flagged, the
    repair kernel never launched (so never compiled), and every output within 4 (8) ULP of mpmath and not worse than
    torch.autograd."""
    z, t, g = _ordinary(n, 23 + n)
    for dtype, np_dtype in ((torch.float64, np.float64), (torch.float32, np.float32)):
        _, flagged, launches = _run(z, t, g, dtype)
        assert launches == 0 and flagged == (None if dtype == torch.float64 else "not read"), (dtype, flagged)
    keep = slice(None) if n < 100 else slice(0, n, 7)  # (mpmath at every seventh point of the 1023)
    _check(GAMMA_INPUT, z[keep], t[keep], g[keep], np.float64, "triton")


def test_one_flagged_block_among_many():
    """Five blocks of ordinary points (the last partial) with the float nearest three zeros of ∂t and ∂z and their
    neighbours in the third: only that block is repaired, once; there the outputs are within 4 ULP of mpmath and not
    worse than torch; every other output (f and ∂γ everywhere, ∂t and ∂z outside the deep elements) bit for bit what
    the main kernel alone stores."""
    block = _block()
    n = 4 * block + 37
    z, t, g = _ordinary(n, 5)
    zz, zt, zg = _zeros((0.3,), (2.0,))
    at = 2 * block + 100 + np.arange(len(zz))
    z[at], t[at], g[at] = zz, zt, zg
    out, flagged, launches = _run(z, t, g)
    assert flagged == [(1, [2])] and launches == 1, (flagged, launches)
    module = _module()
    flagged_blocks, module._flagged_blocks = module._flagged_blocks, lambda tier, every: []  # the main kernel alone
    try:
        alone = [o.numpy() for o in compiled(GAMMA_INPUT, "triton")(z=torch.tensor(z), t=torch.tensor(t),
                                                                      gamma=torch.tensor(g))]
    finally:
        module._flagged_blocks = flagged_blocks
    changed = [np.flatnonzero(a.view(np.int64) != b.view(np.int64)) for a, b in zip(out, alone)]
    assert changed[0].size == 0 and changed[1].size == 0, changed
    assert all(set(c) <= set(at) for c in changed[2:]), changed
    assert any(c.size for c in changed[2:])  # (the repair changed some: the main kernel's are 84 ULP off there)
    want = np.array([_true(*p) for p in zip(zz, zt, zg)]).T
    for o, w in zip(out, want):
        err = _ulps(o[at], w, np.float64)
        assert np.all(err[np.abs(w) >= np.finfo(np.float64).tiny] <= BOUND[np.float64]), (err, o[at], w)
    _check(GAMMA_INPUT, zz, zt, zg, np.float64, "triton")  # (and not worse than torch: the launcher as the user calls it)


def test_zeros_against_mpmath():
    """At the float nearest the zeros of ∂t and ∂z (and neighbours) for t ∈ {0.3, 0.659}, γ ∈ {1/2, 3/2}: the repair
    kernel launched, and every output within 4 ULP of mpmath (60 digits) and not worse than torch.autograd float64."""
    z, t, g = _zeros((0.3, 0.659), (0.5, 1.5))
    _, flagged, launches = _run(z, t, g)
    assert flagged == [(1, [0])] and launches == 1, (flagged, launches)
    _check(GAMMA_INPUT, z, t, g, np.float64, "triton")


def test_random_points_against_torch():
    """48 random points z ∈ [−30, 30], t ∈ [0, 1], γ ∈ [0, 3] with 12 points at zeros of ∂t/∂z among them: within 4 ULP
    of mpmath and never worse than torch.autograd (float64), through the launcher with its repair."""
    rng = np.random.default_rng(2023)
    zz, zt, zg = _zeros((0.45,), (1.0,))
    z = np.concatenate([rng.uniform(-30, 30, 48), zz[:12]])
    t = np.concatenate([rng.uniform(0, 1, 48), zt[:12]])
    g = np.concatenate([rng.uniform(0, 3, 48), zg[:12]])
    _check(GAMMA_INPUT, z, t, g, np.float64, "triton")


def test_strided_view_and_reduction():
    """z a strided view (every other element of a longer tensor) with zeros in it: the same outputs as contiguous
    inputs, the flagged block repaired; reduction 'sum' with a flagged block is the sum of the values (the repair
    kernel does not recompute f, which no tier changes: its partial sums stand)."""
    zz, zt, zg = _zeros((0.659,), (0.5,))
    z, t, g = _ordinary(300, 9)
    z[:len(zz)], t[:len(zz)], g[:len(zz)] = zz, zt, zg
    wide = torch.zeros(2 * len(z), dtype=torch.float64)
    wide[::2] = torch.tensor(z)
    view = wide[::2]
    assert not view.is_contiguous()
    strided, flagged, launches = _run(view, t, g)
    assert flagged == [(1, [0])] and launches == 1
    contiguous, _, _ = _run(z, t, g)
    for a, b in zip(strided, contiguous):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
    summed, flagged, launches = _run(z, t, g, reduction="sum")
    assert flagged == [(1, [0])] and launches == 1
    assert abs(float(summed[0]) - float(np.sum(contiguous[0]))) <= 1e-14 * float(np.sum(np.abs(contiguous[0])))


def test_a_repaired_value_and_its_sum():
    """y − σ(x) − softplus(x) (its value one sum of 2 triple-word exponentials and logs: in the repair kernel) over
    three blocks and 5, zero (x = −800, y = 0) but at one element of the second, x = −0.31, y = fl(σ(x) + softplus(x)):
    that block alone repaired; its value within 4 ULP of mpmath (60 digits; measured 0.31, the main kernel's double
    word 669, torch's float64 no better than 4), and 'sum' and 'mean' its value and value/n exactly: the repair kernel
    adds the partial sums up again (a stale partial sum would be 669 ULP off)."""
    import mpmath

    formula = "y - sigmoid(x) - softplus(x)"
    kernel = compiled(formula, "triton")
    module = kernel.module
    n, at = 3 * _block() + 5, _block() + 88
    x, y = np.full(n, -800.0), np.zeros(n)
    with mpmath.workdps(60):
        v = mpmath.mpf(-0.31)
        exact = 1 / (1 + mpmath.exp(-v)) + mpmath.log1p(mpmath.exp(v))
        x[at], y[at] = -0.31, float(exact)
        want = mpmath.mpf(y[at]) - exact
    seen, flagged_blocks = [], module._flagged_blocks
    module._flagged_blocks = lambda tier, every: seen.append(flagged_blocks(tier, every)) or seen[-1]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = kernel(x=torch.tensor(x), y=torch.tensor(y))[0].numpy()
            total = float(kernel(x=torch.tensor(x), y=torch.tensor(y), reduction="sum")[0])
            mean = float(kernel(x=torch.tensor(x), y=torch.tensor(y), reduction="mean")[0])
    finally:
        module._flagged_blocks = flagged_blocks
    # (session 24: the zeros, −2e^−800 rounded, are below 2⁻⁹⁶⁸: every block flagged for the scaled tier too, the
    # second with both; two repair launches a call, each adding the partial sums up again)
    assert [[(bits, ids.tolist()) for bits, ids in s] for s in seen] == [[(2, [0, 2, 3]), (3, [1])]] * 3, seen
    assert np.count_nonzero(value) == 1
    err = float(abs(mpmath.mpf(float(value[at])) - want) / mpmath.mpf(float(np.spacing(abs(float(want))))))
    xt = torch.tensor(x[at:at + 1])
    theirs = float((torch.tensor(y[at:at + 1]) - torch.sigmoid(xt) - torch.nn.functional.softplus(xt))[0])
    torch_err = float(abs(mpmath.mpf(theirs) - want) / mpmath.mpf(float(np.spacing(abs(float(want))))))
    assert err <= BOUND[np.float64] and err <= max(torch_err, BOUND[np.float64]), (err, torch_err)
    assert total == float(value[at]) and mean == float(value[at]) / n, (total, mean, float(value[at]))


@pytest.mark.parametrize("formula", ["TIER - sigmoid(tier_ptr) - softplus(tier_ptr)",
                                     "tier - sigmoid(REPAIR) - softplus(REPAIR)"])
def test_names_of_the_repair_mechanism(formula):
    """Inputs named as the repair mechanism's parameters (the widened function's TIER and tier_ptr, the kernel's
    REPAIR and the launcher's tier) get identifiers of their own: the kernel compiles and repairs as with x and y (the
    function had two parameters named TIER: a SyntaxError). At y = fl(σ(x) + softplus(x)), x = −0.31: within 4 ULP of
    the value the formula with x and y gives, the same bits."""
    import mpmath
    import sympy as sp

    names = sorted(str(s) for s in sp.sympify(formula.replace("sigmoid", "exp").replace("softplus", "exp")).free_symbols)
    target = [n for n in names if n in ("TIER", "tier")][0]
    x = [n for n in names if n != target][0]
    with mpmath.workdps(60):
        v = mpmath.mpf(-0.31)
        y = float(1 / (1 + mpmath.exp(-v)) + mpmath.log1p(mpmath.exp(v)))
    kernel = compiled(formula, "triton")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = kernel(**{x: torch.tensor([-0.31]), target: torch.tensor([y])})[0]
        want = compiled("y - sigmoid(x) - softplus(x)", "triton")(x=torch.tensor([-0.31]), y=torch.tensor([y]))[0]
    assert "REPAIR=bits" in kernel.source
    assert float(got[0]) == float(want[0]) != 0.0, (float(got[0]), float(want[0]))


def test_every_block_repaired_while_a_cuda_graph_is_captured(monkeypatch):
    """While a CUDA graph is captured no flag can be read back to the host: ``_flagged_blocks`` returns every block
    (the lead, session 23: ``bool(tier.any())`` would raise inside torch.compile's reduce-overhead), and the repair
    kernel on every block gives what the flagged repair gives: the same bits in the flagged block, within 4 ULP of
    the main kernel's elsewhere (ordinary points, where it is within an ulp or two of the truth)."""
    module = _module()

    class CapturedTier:  # a CUDA tensor's surface, as the helper reads it
        is_cuda, device = True, "cpu"

        def numel(self):
            return 5
    monkeypatch.setattr(torch.cuda, "is_current_stream_capturing", lambda: True)
    [(bits, ids)] = module._flagged_blocks(CapturedTier(), 3)
    assert bits == 3 and ids.tolist() == [0, 1, 2, 3, 4]
    monkeypatch.undo()

    block = _block()
    n = 2 * block + 37
    z, t, g = _ordinary(n, 7)
    zz, zt, zg = _zeros((0.3,), (2.0,))
    at = block + 100 + np.arange(len(zz))
    z[at], t[at], g[at] = zz, zt, zg
    flagged, _, launches = _run(z, t, g)
    assert launches == 1
    flagged_blocks = module._flagged_blocks
    module._flagged_blocks = lambda tier, every: [(every, torch.arange(tier.numel(), dtype=torch.int32))]
    try:
        every = [o.numpy() for o in compiled(GAMMA_INPUT, "triton")(z=torch.tensor(z), t=torch.tensor(t),
                                                                      gamma=torch.tensor(g))]
    finally:
        module._flagged_blocks = flagged_blocks
    for a, b in zip(flagged, every):
        assert np.array_equal(a[at].view(np.int64), b[at].view(np.int64))
        assert np.max(_ulps(b, a, np.float64)) <= 4
