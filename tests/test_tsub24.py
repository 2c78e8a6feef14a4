"""Issue 16, session 24 (task h-tsub24): Triton's scaled (subnormal-result) tier of float64 widened sums, in the
repair kernel's own specialisation.

NumPy recomputes the elements of a widened body below 2⁻⁹⁶⁸ (or with a leaf there) in scaled double words
(hi + lo)·2^−k, rounded once (doubleword.SCALED_TINY, _Scaled). Triton had none: the registry focal loss's ∂γ at
z = −745, t = 0, γ = 0 was −3.681e−321 for −1.576e−321 (426 subnormal ULP; torch 319), f and ∂z 5e−324 for 0, ∂t at
t = 5e−324, γ = 1/2 5.7e14 ULP (test_focaledge20's strict xfail). Now each widened function of an elementwise kernel
takes the same scaled words under ``if TIER & 2:`` (REPAIR_BITS["subnormal"]), the main kernel (REPAIR 0) flags the
block, and the launcher reads the flags once and launches the repair kernel once for each value of the flags present
(REPAIR = those bits: 1 the triple words, 2 the scaled words, 3 a block with both), so a specialisation compiles its
own tiers alone.

Checked under TRITON_INTERPRET=1 against mpmath (test_focal18's ``_true``) and torch.autograd in float64; which blocks
were repaired, with which bits, from the launcher's ``_flagged_blocks`` and its ``_REPAIRS`` count."""
from __future__ import annotations

import re
import warnings

import mpmath
import numpy as np
import pytest
from conftest import compiled, triton_torch
from test_breakage5_formula import _ulps
from test_focal18 import _true
from test_focal19 import BOUND, GAMMA_INPUT
from test_tfocal23 import _block, _module, _ordinary, _zeros

from symnet.codegen import doubleword

torch = triton_torch()

SUBNORMAL = ((-745.0, 0.0, 0.0), (-745.0, 5e-324, 0.5))  # (z, t, γ): results below 2⁻⁹⁶⁸, or a subnormal leaf


def _run(z, t, g, alone=False):
    """The focal kernel's outputs at the points (float64), the (bits, block ids) of each repair launch (None: none
    flagged) and how many repair launches the call made; ``alone``: the main kernel only (nothing repaired)."""
    module = _module()
    seen, flagged_blocks = [], module._flagged_blocks

    def spy(tier, every):
        groups = [] if alone else flagged_blocks(tier, every)
        seen.append([(bits, ids.tolist()) for bits, ids in groups] or None)
        return groups
    module._flagged_blocks = spy
    before = sum(module._REPAIRS.values())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = compiled(GAMMA_INPUT, "triton")(z=torch.tensor(np.asarray(z, np.float64)),
                                                  t=torch.tensor(np.asarray(t, np.float64)),
                                                  gamma=torch.tensor(np.asarray(g, np.float64)))
    finally:
        module._flagged_blocks = flagged_blocks
    return [o.numpy() for o in out], seen[0], sum(module._REPAIRS.values()) - before


def test_flagged_blocks_grouped_by_their_bits(monkeypatch):
    """The launcher's helper: the block ids of each value of the flags present, in order, one read of the counts;
    none flagged: no launch; while torch.compile traces: every block, with every tier of the kernel."""
    module = _module()
    tier = torch.tensor([0, 2, 1, 3, 0, 2, 2], dtype=torch.int32)
    got = [(bits, ids.tolist(), ids.dtype) for bits, ids in module._flagged_blocks(tier, 3)]
    assert got == [(1, [2], torch.int32), (2, [1, 5, 6], torch.int32), (3, [3], torch.int32)], got
    assert module._flagged_blocks(torch.zeros(5, dtype=torch.int32), 3) == []
    assert [(b, i.tolist()) for b, i in module._flagged_blocks(torch.tensor([0, 2], dtype=torch.int32), 2)] == [(2, [1])]
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    [(bits, ids)] = module._flagged_blocks(torch.zeros(4, dtype=torch.int32), 3)
    assert bits == 3 and ids.tolist() == [0, 1, 2, 3]


def test_each_tier_in_its_own_specialisation():
    """In the focal kernel's text every scaled double word (_dwx_) is under ``if TIER & 2:`` and no triple word (_tw_)
    is (those past TRITON_TIER_INLINE under ``if TIER & 1:``): a specialisation compiles its own tier alone (Triton
    resolves the constexpr); the
    main kernel (REPAIR=0) flags the block with an atomic or of 2 where an element (of the block's lanes) is tiny."""
    source = compiled(GAMMA_INPUT, "triton").source
    scaled = doubleword.REPAIR_BITS["subnormal"]
    functions = [part for part in source.split("@triton.jit")[1:] if "TIER: tl.constexpr" in part.split("\n", 2)[1]]
    assert len(functions) >= 4, len(functions)
    for part in functions:
        branch = None  # the tier whose branch the line is in
        for line in part.split("\n"):
            opened = re.match(r"\s*if TIER & (\d):", line)
            if opened:
                branch = int(opened[1])
            elif re.match(r"\s*elif not TIER:", line):
                branch = 0
            elif "_dwx_" in line:
                assert branch == scaled, line
            elif "_tw_" in line:  # (a tier of at most TRITON_TIER_INLINE is inline: in no branch)
                assert branch != scaled, line
        assert f"tl.atomic_or(tier_ptr, tl.max(tl.where(tiny, {scaled}, 0)))" in part
        assert "& lanes" in part
    assert ", REPAIR=0," in source and "REPAIR=bits" in source


def test_subnormal_results_in_the_scaled_specialisation_alone():
    """The xfail's points (test_focaledge20) in one block: one repair launch, REPAIR=2; every output equal to
    mpmath's value rounded (0 ULP: f and ∂z 0, ∂γ −1.576e−321, ∂t 2.0526e−159) where the main kernel alone is off
    (∂γ 426 subnormal ULP, f 5e−324, ∂t 5.7e14 ULP)."""
    z, t, g = (np.array(c) for c in zip(*SUBNORMAL))
    out, flagged, launches = _run(z, t, g)
    assert flagged == [(2, [0])] and launches == 1, (flagged, launches)
    plain, _, _ = _run(z, t, g, alone=True)
    want = np.array([_true(*p) for p in SUBNORMAL]).T
    for name, o, p, w in zip(("f", "∂γ", "∂t", "∂z"), out, plain, want):
        assert np.all(_ulps(o, w, np.float64) == 0), (name, o, w)
    assert any(np.any(_ulps(p, w, np.float64) > 0) for p, w in zip(plain, want))  # (the main kernel alone is off)


def _mixed():
    """Three blocks and 37: block 0 ordinary points with the subnormal ones, block 1 with zeros of ∂t/∂z (the triple
    words), block 2 with both, block 3 (partial) ordinary; (z, t, γ, the special elements' indices)."""
    block = _block()
    n = 3 * block + 37
    z, t, g = _ordinary(n, 24)
    zz, zt, zg = (c[:3] for c in _zeros((0.3,), (2.0,)))  # (one zero and its neighbours)
    sz, st, sg = (np.array(c) for c in zip(*SUBNORMAL))
    at = []
    for first, (pz, pt, pg) in ((10, (sz, st, sg)), (block + 50, (zz, zt, zg)), (2 * block + 7, (sz, st, sg)),
                                (2 * block + 300, (zz, zt, zg))):
        where = first + np.arange(len(pz))
        z[where], t[where], g[where] = pz, pt, pg
        at += list(where)
    return z, t, g, np.array(at)


def test_mixed_blocks_each_launched_in_its_specialisation():
    """The blocks of :func:`_mixed`: three repair launches (_REPAIRS counts them), REPAIR=1 on block 1, 2 on block 0,
    3 on block 2 (the block with both); the special elements of block 2 bit for bit what each gives alone (a launch
    of one element: REPAIR 2 or 1), every output of an ordinary element what the main kernel alone stores, and every
    special element 0 ULP from mpmath where the truth is 0 or subnormal, within the bound where it is normal."""
    z, t, g, at = _mixed()
    out, flagged, launches = _run(z, t, g)
    assert flagged == [(1, [1]), (2, [0]), (3, [2])] and launches == 3, (flagged, launches)
    plain, _, _ = _run(z, t, g, alone=True)
    ordinary = np.setdiff1d(np.arange(len(z)), at)
    for o, p in zip(out, plain):
        assert np.array_equal(o[ordinary].view(np.int64), p[ordinary].view(np.int64))
    for i in at[at >= 2 * _block()]:  # (the interpreter: a launch each)
        one, _, _ = _run(z[i:i + 1], t[i:i + 1], g[i:i + 1])
        for o, e in zip(out, one):
            assert o[i].view(np.int64) == e[0].view(np.int64), (i, z[i], t[i], g[i], o[i], e[0])
    want = np.array([_true(*p) for p in zip(z[at], t[at], g[at])]).T
    for o, w in zip(out, want):
        err = _ulps(o[at], w, np.float64)
        normal = np.abs(w) >= np.finfo(np.float64).tiny
        assert np.all(err[normal] <= BOUND[np.float64]) and np.all(err[~normal] == 0), (err, o[at], w)


def test_ordinary_points_launch_no_repair():
    """1023 ordinary points (two blocks, the last partial: its lanes past n hold the loads' padding, which no tier
    flags): no repair launch, so no repair specialisation compiled."""
    z, t, g = _ordinary(1023, 124)
    _, flagged, launches = _run(z, t, g)
    assert flagged is None and launches == 0, flagged


@pytest.mark.parametrize("name,points", [
    ("bce_logits", ((-745.0, 0.0), (-740.0, 1e-310), (-800.0, 5e-324), (3.0, 5e-324))),
    ("sigmoid_mse", ((-745.0, 0.0), (-400.0, 5e-324), (-20.0, 1e-300))),
])
def test_committed_kernels_at_subnormal_results(name, points):
    """The committed float64 Triton kernels with a widened sum at points whose value or gradient is below 2⁻⁹⁶⁸ or
    whose target is subnormal: every output 0 ULP from mpmath (50 digits: bce_logits softplus(z) − t·z, ∂z σ(z) − t;
    sigmoid_mse (σ(z) − t)², ∂z 2(σ(z) − t)σ(z)(1 − σ(z))) where the truth is subnormal or 0, within the bound
    where it is normal."""
    from symnet.kernels import load_kernel

    fn = getattr(load_kernel(name, "triton"), name)
    z, t = (np.array(c, np.float64) for c in zip(*points))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = [o.numpy() for o in fn(torch.tensor(z), torch.tensor(t))]
    with mpmath.workdps(50):
        rows = []
        for zi, ti in zip(z, t):
            zi, ti = mpmath.mpf(zi), mpmath.mpf(ti)
            s = 1 / (1 + mpmath.exp(-zi))
            if name == "bce_logits":
                rows.append([mpmath.log1p(mpmath.exp(zi)) - ti * zi, s - ti, -zi])
            else:
                rows.append([(s - ti) ** 2, 2 * (s - ti) * s * (1 - s), -2 * (s - ti)])
    want = np.array([[float(v) for v in r[:len(out)]] for r in rows]).T
    for k, (o, w) in enumerate(zip(out, want)):
        err = _ulps(o, w, np.float64)
        normal = np.abs(w) >= np.finfo(np.float64).tiny
        assert np.all(err[normal] <= BOUND[np.float64]) and np.all(err[~normal] == 0), (name, k, o, w, err)
