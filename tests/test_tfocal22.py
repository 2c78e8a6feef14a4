"""Issue 16, session 22 (task h-tfocal22): the third tier (triple words) on the registry focal loss's ∂t and ∂z in
Triton's float64 kernel, at a compile time it can pay.

Session 21 gated the tier out of focal's sums (doubleword.TRITON_TIER_MOST = 4 triple-word exponentials and logs a
sum; each took 11: σ(±z), softplus(±z), tanh(z/2), e^(γ·log q), e^(−γ·softplus(±z)); its sm_90 compile ran past 324
CPU s), so ∂t at the float nearest its zeros stayed 84 ULP. Now σ(±z), softplus(±z) and tanh(z/2) take one
E = e^−|z| and m = E − 1 (``_tw_exp_negabs``) and one log1p(E), and p_t^γ (q^γ, e^(−γ·softplus(±z)): a factor of every
term) is the double word's: 2 a sum (benchmarks/results/tfocal22-sm90-2026-12-03.txt for the compile time).

Checked under TRITON_INTERPRET=1 against mpmath at 60 digits (formulas written out here and in test_focal19) and
torch.autograd in float64 (test_focal19._errors: never worse than torch)."""
from __future__ import annotations

import importlib.util
import re
import warnings

import mpmath
import numpy as np
from conftest import compiled, triton_torch
from test_focal19 import GAMMA_INPUT, _check, _roots

from symnet.codegen import doubleword

_BRANCH = "if tl.max(tl.where(deep, 1, 0)) > 0:"


def _tier_branches(source: str) -> list[str]:
    """The statements of each third-tier branch of a generated Triton source (up to its ``result = tl.where(deep``)."""
    out = []
    for part in source.split(_BRANCH)[1:]:
        out.append(part.split("result = tl.where(deep", 1)[0])
    # since session 25 (h-tcost25) a large branch calls a function of its own, <name>_triple: its body instead
    for name in re.findall(r"def (\w+_triple)\(", source):
        out.append(source.split(f"def {name}(", 1)[1].split("@triton.jit", 1)[0])
    return out


def test_focal_sums_take_the_tier_from_one_exponential():
    """focal(z, t, 1/4, γ) in Triton: its ∂t and ∂z sums take the third tier (they did not: gated), each with one
    _tw_exp_negabs (E = e^−|z| for σ(±z), softplus(±z), tanh(z/2)) and one log1p(E): 2 exponentials and logs, where
    each took 11; p_t^γ, a factor of every term, is the double word's (no triple-word e^x or log); none of the
    single-use helpers."""
    source = compiled(GAMMA_INPUT, "triton").source
    branches = [b for b in _tier_branches(source) if "_tw_exp_negabs(" in b]
    assert len(branches) == 2, len(branches)
    for b in branches:
        calls = re.findall(r"= (_tw_\w+)\(", b)
        assert calls.count("_tw_exp_negabs") == 1 and calls.count("_tw_log1p") == 1, calls
        assert not {"_tw_exp", "_tw_log", "_tw_sigmoid", "_tw_softplus", "_tw_tanh"} & set(calls), calls
        assert doubleword._triton_tier_cost(b.splitlines()) == 2
    # NumPy's functions are as they were (their own tier, its σ and softplus helpers)
    assert "_tw_exp_negabs(" not in compiled(GAMMA_INPUT).source


def test_a_single_function_keeps_its_helper():
    """y − tanh x (one tanh of x) keeps _tw_tanh: the shared E only where a body takes two or more of σ(±v),
    softplus(±v), tanh(±v/2)."""
    source = compiled("y - tanh(x)", "triton").source
    assert "_tw_tanh(" in source and "_tw_exp_negabs(" not in source


def _probe_module(tmp_path):
    """A Triton kernel calling the shared helpers and the single-use ones on x: (E, m) of x, σ(x), softplus(x) and
    tanh(x/2) both ways, each as its three words."""
    names = ["_tw_exp_negabs", "_tw_sigmoid_e", "_tw_softplus_l", "_tw_tanh_m", "_tw_log1p", "_tw_sigmoid",
             "_tw_softplus", "_tw_tanh"]
    texts = [doubleword.primitive_text(n, "triton") for n in doubleword._closure(names, "triton")]
    kernel = '''
@triton.jit
def probe(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=1.0)
    zero = 0.0 * x
    h = 0.5 * x
    e_hi, e_lo, e_tail, m_hi, m_lo, m_tail = _tw_exp_negabs(x, zero, zero)
    l_hi, l_lo, l_tail = _tw_log1p(e_hi, e_lo, e_tail)
    rows = 0
    for k in tl.static_range(6):
        if k == 0:
            a, b, c = _tw_sigmoid_e(x, e_hi, e_lo, e_tail)
        elif k == 1:
            a, b, c = _tw_softplus_l(x, zero, zero, l_hi, l_lo, l_tail)
        elif k == 2:
            a, b, c = _tw_tanh_m(h, zero, zero, m_hi, m_lo, m_tail)
        elif k == 3:
            a, b, c = _tw_sigmoid(x, zero, zero)
        elif k == 4:
            a, b, c = _tw_softplus(x, zero, zero)
        else:
            a, b, c = _tw_tanh(h, zero, zero)
        tl.store(out_ptr + (3 * k) * n + offs, a, mask=mask)
        tl.store(out_ptr + (3 * k + 1) * n + offs, b, mask=mask)
        tl.store(out_ptr + (3 * k + 2) * n + offs, c, mask=mask)
'''
    path = tmp_path / "tfocal22_probe.py"
    path.write_text("import triton\nimport triton.language as tl\n\n\n" + "\n\n".join(texts) + "\n" + kernel,
                    encoding="utf-8")
    spec = importlib.util.spec_from_file_location("tfocal22_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_XS = [s * v for v in (2.0 ** -70, 2.0 ** -40, 2.0 ** -21, 1e-5, 0.1, 0.4496119795152373, 1.0, 2.5, 17.9, 18.5,
                       36.5, 41.0, 100.0, 600.0) for s in (1.0, -1.0)]


def test_shared_helpers_against_mpmath(tmp_path):
    """σ(x), softplus(x), tanh(x/2) from one (E, m) = (e^−|x|, E − 1), x ∈ ±{2⁻⁷⁰ … 600}: each the exact value to
    2⁻¹²⁰ of itself as hi + lo + tail (mpmath, 60 digits); σ and softplus bit-identical to _tw_sigmoid and
    _tw_softplus (the same operations after E), tanh within 2⁻¹²⁰ of _tw_tanh's."""
    torch = triton_torch()
    module = _probe_module(tmp_path)
    x = torch.tensor(_XS, dtype=torch.float64)
    out = torch.empty(18 * len(_XS), dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module.probe[(1,)](x, out, len(_XS), BLOCK=32)
    words = out.view(18, len(_XS)).numpy()
    bad = []
    with mpmath.workdps(60):
        for i, xv in enumerate(_XS):
            xm = mpmath.mpf(xv)
            truth = [1 / (1 + mpmath.exp(-xm)), mpmath.log1p(mpmath.exp(xm)), mpmath.tanh(xm / 2)] * 2
            for k in range(6):
                got = sum(mpmath.mpf(float(w)) for w in words[3 * k:3 * k + 3, i])
                rel = abs(got - truth[k]) / abs(truth[k])
                if not rel <= mpmath.mpf(2) ** -120:
                    bad.append((k, xv, mpmath.nstr(rel, 5)))
            for k in (0, 1):  # σ, softplus: the same bits as the single-use helpers'
                if not np.array_equal(words[3 * k:3 * k + 3, i], words[3 * k + 9:3 * k + 12, i]):
                    bad.append(("bits", k, xv, words[3 * k:3 * k + 3, i], words[3 * k + 9:3 * k + 12, i]))
    assert not bad, bad


def _beside(ts, gs, dtype=np.float64):
    """The float nearest each zero of ∂t, ∂z (test_focal19._roots) and its two neighbours, at targets ``ts``."""
    rows = []
    for t in ts:
        for g in gs:
            for root in _roots(t, g):
                z = dtype(float(root))
                rows += [(float(v), t, g) for v in (np.nextafter(z, -np.inf), z, np.nextafter(z, np.inf))]
    return tuple(np.array(c) for c in zip(*rows))


def test_focal_triton_at_more_zeros():
    """Focal (γ an input) float64 Triton at the zeros of ∂t and ∂z for targets beyond test_focal19's and test_tw20's,
    t ∈ {0.15, 0.35, 0.45, 0.6, 0.7, 0.85} × γ ∈ {1/2, 1, 3/2, 5/2, 3} (180 points): within 4 ULP of mpmath (60 digits)
    and never worse than torch.autograd (float64). Measured with the tier gated out (the commit before): 16 of them
    past 4 ULP, ∂t up to 33 (t = 0.7, γ = 1, z = −0.6177191953940758), ∂z up to 51 (t = 0.7, γ = 1,
    z = 1.426890831043503); with it 0 past."""
    triton_torch()
    _check(GAMMA_INPUT, *_beside((0.15, 0.35, 0.45, 0.6, 0.7, 0.85), (0.5, 1.0, 1.5, 2.5, 3.0)), np.float64, "triton")


def test_focal_triton_at_random_points():
    """64 random points z ∈ [−30, 30], t ∈ [0, 1], γ ∈ [0, 3], and the corners t ∈ {0, 1}, γ = 0: float64 Triton within
    4 ULP of mpmath and never worse than torch.autograd (the tier's branch taken or not)."""
    triton_torch()
    rng = np.random.default_rng(22)
    z = np.concatenate([rng.uniform(-30, 30, 64), [-3.0, 3.0, -3.0, 3.0, 0.0]])
    t = np.concatenate([rng.uniform(0, 1, 64), [0.0, 1.0, 1.0, 0.0, 0.5]])
    g = np.concatenate([rng.uniform(0, 3, 64), [0.0, 0.0, 2.0, 2.0, 0.0]])
    _check(GAMMA_INPUT, z, t, g, np.float64, "triton")
