"""Issue 16, session 21: the third tier (triple words) in Triton's float64 kernels, as NumPy's since session 20.

A widened sum whose every node has a triple word (symnet/codegen/doubleword.py: _triple_capable, the same selection as
NumPy's) is computed again in triple words (hi + lo + tail, about 150 bits: the generated ``_tw_*`` @triton.jit helpers)
on the elements whose double-word terms are past 2⁴⁰ times its value (DEEP_TERMS: a Triton float64 kernel computes no
float64 bound), in a block where one element is (a scalar branch on tl.max), so ordinary blocks pay a few operations.

Run under TRITON_INTERPRET=1 without a GPU, at a few dozen points, against mpmath at 60 digits from formulas written
out here and in test_tw20 / test_focal19 (independent of symnet's form), and torch where it has the formula."""
from __future__ import annotations

import importlib.util
import re
import warnings

import mpmath
import numpy as np
import pytest
from conftest import compiled, triton_torch, ulps
from test_focal19 import GAMMA_INPUT, _check, _near_roots
from test_tw20 import _beside_roots, _cancelling

from symnet.kernels import load_kernel


def _quiet(run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run()


def test_y_minus_tanh_at_rounded_tanh():
    """y − tanh x at y = fl(tanh x), x ∈ [−4, 4], float64 Triton. Measured over 300 such points (session 21,
    interpreter): double words alone 35 past 4 ULP, worst 1,330; with the third tier 0, worst 0.497 (NumPy's 0.497)."""
    triton_torch()
    worst, past = _quiet(lambda: _cancelling("y - tanh(x)", np.tanh, lambda x, y: y - mpmath.tanh(x), np.float64,
                                             n=40, backend="triton"))
    assert past == 0 and worst <= 0.5, (worst, past)


def test_y_minus_exp_at_rounded_exp():
    """y − e^x at y = fl(e^x), float64 Triton. Measured over 300 points: double words 12 past 4 ULP, worst 69; now 0,
    worst 0.4994."""
    triton_torch()
    worst, past = _quiet(lambda: _cancelling("y - exp(x)", np.exp, lambda x, y: y - mpmath.exp(x), np.float64,
                                             n=40, backend="triton"))
    assert past == 0 and worst <= 0.5, (worst, past)


def test_focal_at_the_zeros_of_its_gradients():
    """The registry focal loss with γ an input, float64 Triton, at the float nearest each zero of ∂t, ∂z and its two
    neighbours (test_focal19's 111 points, t ∈ {0, 0.3, 0.5, 0.659, 1}; test_tw20's 36 more, t ∈ {0.1, 0.9}):
    within 4 ULP and never worse than torch. Measured: double words ∂t 84 ULP (3 past 4), ∂z 8 (1 past) and ∂t 10
    (2 past); with the tier on its sums every output correctly rounded there (0 ULP), but the tier is gated out of
    them (its compile time)."""
    triton_torch()
    for z, t, g in (_near_roots(np.float64), _beside_roots(np.float64)):
        _check(GAMMA_INPUT, z, t, g, np.float64, "triton")


def _variants(name, tmp_path):
    """The committed kernel module ``name`` twice, from its text: with a probe counting the blocks that take the
    third tier, and with the tier taken out (its branch never taken: the kernel as it was before the tier)."""
    text = open(load_kernel(name, "triton").__file__, encoding="utf-8").read()
    branch = "if tl.max(tl.where(deep, 1, 0)) > 0:"
    assert branch in text and "_tw_sigmoid(" in text
    modules = []
    # each branch at its own indentation (session 48: bce_logits's softplus-mixture puts one a level deeper)
    probed = re.sub(r"^( *)" + re.escape(branch), lambda m: m.group(0) + "  # probed\n" + m.group(1) + "    BRANCHES.append(1)",
                    text, flags=re.M)
    for tag, changed in (("probe", probed), ("without", text.replace(branch, "if False:  # the tier taken out"))):
        path = tmp_path / f"{name}_{tag}.py"
        path.write_text("BRANCHES = []\n" + changed, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(f"{name}_{tag}_tw21", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


@pytest.mark.parametrize("name", ["bce_logits", "sigmoid_mse"])
def test_ordinary_points_bit_identical_and_no_block_takes_the_tier(name, tmp_path):
    """The committed float64 kernels at 4,096 ordinary points (z ∈ [−30, 30], y ∈ [0, 1]): every output bit-identical
    to the kernel with the tier taken out, and no block branches into it (counted by the kernel itself); where σ(z) − y
    cancels (z = 2⁻²⁰, y = ½ + 2⁻²², σ(z) − y ≈ −2⁻⁶⁶ from terms of ½: past 2⁴⁰) the block takes it and ∂z is within
    half an ULP of mpmath's (sigmoid_mse's 2(σ(z) − y)·σ(z)(1 − σ(z)) within 1: the product's own roundings after
    the sum's; measured 0.87)."""
    torch = triton_torch()
    probe, without = _variants(name, tmp_path)
    rng = np.random.default_rng(21)
    z = torch.tensor(rng.uniform(-30, 30, 4096), dtype=torch.float64)
    y = torch.tensor(rng.uniform(0, 1, 4096), dtype=torch.float64)
    ours, old = _quiet(lambda: getattr(probe, name)(z, y)), _quiet(lambda: getattr(without, name)(z, y))
    assert probe.BRANCHES == []
    for a, b in zip(ours, old):
        assert torch.equal(a.view(torch.int64), b.view(torch.int64))
    z[7], y[7] = 2.0 ** -20, 0.5 + 2.0 ** -22
    got = _quiet(lambda: getattr(probe, name)(z, y))[-1][7].item()
    assert len(probe.BRANCHES) >= 1
    with mpmath.workdps(60):
        s = 1 / (1 + mpmath.exp(-mpmath.mpf(2.0 ** -20)))
        r = s - (mpmath.mpf(0.5) + mpmath.mpf(2.0 ** -22))
        want = r if name == "bce_logits" else 2 * r * s * (1 - s)
    assert ulps(got, want, np.float64) <= (0.5 if name == "bce_logits" else 1.0), (got, mpmath.nstr(want, 17))


def test_the_tier_is_generated_for_float64_only():
    """The tier is in the float64 branch of the generated function (resolved when Triton compiles: a float32 kernel
    compiles without it) and calls the generated triple-word helpers, not libdevice (which the interpreter lacks)."""
    source = compiled("y - tanh(x)", "triton").source
    assert "_tw_tanh(" in source and "@triton.jit\ndef _tw_tanh(" in source
    head, tail = source.split("if x.dtype == tl.float64:", 1)
    branch, _ = tail.split("    else:", 1)
    assert "if tl.max(tl.where(deep, 1, 0)) > 0:" in branch
    assert "libdevice" not in source
    assert "_tw_" not in compiled("y + sin(x)", "triton").source


def test_the_tier_is_gated_by_its_exponentials():
    """A sum whose triple words take more than TRITON_TIER_MOST exponentials and logs keeps the double word in Triton
    (focal's ∂t and ∂z: 11 each), NumPy takes the tier there; its ∂t at t = 1 (3) keeps it in Triton."""
    from symnet.codegen import doubleword
    assert doubleword.TRITON_TIER_MOST == 4
    source = compiled(GAMMA_INPUT, "triton").source
    assert source.count("if tl.max(tl.where(deep, 1, 0)) > 0:") >= 1 and "_tw_sigmoid(" not in source
    assert "_tw_sigmoid(" in compiled(GAMMA_INPUT).source
