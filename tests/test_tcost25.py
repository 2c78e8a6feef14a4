"""Task h-tcost25 (session 25): the compile time of Triton's repair kernel (its REPAIR=2 specialisation, the scaled
double words), and two review leftovers (_tw_tanh_m's copy of _tw_tanh's series; the base _chain_constant).

REPAIR=2 compiled every widened sum's double words and then its scaled double words on the flagged blocks (focal
float64: ≈285-316 CPU s for sm_90, benchmarks/results/tsub24-sm90-2026-12-03.txt). Now that specialisation (``TIER ==
2``) takes the scaled words on every lane of a widened function that has them (where k is 0 they are the double
words' operations) and compiles no double word besides: doubleword.widened_function. The scaled and the deferred
triple words are functions of their own (``<name>_scaled``, ``<name>_triple``), as NumPy's ``<name>_scaled``.
Measured compile times: benchmarks/results/tcost25-sm90-2026-12-04.txt.

Checked under TRITON_INTERPRET=1: the REPAIR=2 specialisation on every block of ordinary and far-branch points
stores what the main kernel stores, bit for bit."""
from __future__ import annotations

import re
import warnings

import numpy as np
from conftest import compiled, triton_torch
from test_tfocal23 import _block, _module, _ordinary
from test_tsub24 import SUBNORMAL

from symnet.codegen import doubleword
from symnet.codegen.backends.printing import ConditionalPrinting
from test_focal18 import _true
from test_focal19 import GAMMA_INPUT

torch = triton_torch()


def _functions(source: str) -> dict:
    """The Triton functions of a module's text by name: name → text."""
    parts = re.split(r"\n@triton\.jit\n", source)
    return {m[1]: part for part in parts if (m := re.match(r"def (\w+)\(", part))}


def test_scaled_specialisation_compiles_no_double_word():
    """Before: focal's widened functions computed the double-word body in every specialisation, REPAIR=2 too (its
    scaled words after it, on the tiny lanes): 0 of its 12 functions with scaled words had a ``TIER == 2`` branch.
    Now 9 do (the 3 others keep an inline third tier, which picks its elements by the double word's terms), and
    that branch calls the function's ``_scaled`` function alone; the scaled words (_dwx_) are in those functions,
    the deferred triple words (_tw_) in ``_triple`` ones, called under ``if TIER & 1:``."""
    functions = _functions(compiled(GAMMA_INPUT, "triton").source)
    tiered = {n: f for n, f in functions.items() if "TIER: tl.constexpr" in f.split("\n", 1)[0]}
    alone = [n for n, f in tiered.items() if "if TIER == 2:" in f]
    assert len(alone) >= 9, sorted(tiered)
    for name in alone:
        branch = tiered[name].split("if TIER == 2:", 1)[1].split("else:", 1)[0]
        assert f"scaled_result = {name}_scaled(" in branch, branch
        assert not re.search(r"\b_(dw|tw)_\w+\(", branch.replace(f"{name}_scaled(", "")), branch
    for name, text in tiered.items():
        body = text.split('"""', 2)[2]
        assert "_dwx_" not in body, name  # (the scaled words: in <name>_scaled alone)
        if f"{name}_triple(" in body:
            assert re.search(rf"if TIER & 1:.*\n.*\n\s+triple = {name}_triple\(", body), name
    scaled = [n for n in functions if n.endswith("_scaled")]
    assert len(scaled) == len(tiered) - sum("if TIER & 2:" not in f for f in tiered.values()), scaled
    assert all("_dwx_round(" in functions[n] for n in scaled)


def _with_repair_everywhere(z, t, g, bits):
    """The focal kernel's outputs at the points, every block launched again in the repair kernel's specialisation
    ``bits`` after the main kernel (bits 0: the main kernel alone)."""
    module = _module()
    flagged_blocks = module._flagged_blocks
    blocks = -(-len(z) // _block())
    module._flagged_blocks = lambda tier, every: [(bits, torch.arange(blocks, dtype=torch.int32))] if bits else []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = compiled(GAMMA_INPUT, "triton")(**{n: torch.tensor(np.asarray(a, np.float64))
                                                     for n, a in (("z", z), ("t", t), ("gamma", g))})
    finally:
        module._flagged_blocks = flagged_blocks
    return [o.numpy() for o in out]


def _far_points():
    """Ordinary points, with the far branches' (|z| > 1000, t at 0 and 1, γ = 0) and the subnormal ones among them."""
    z, t, g = _ordinary(90, 2025)  # (one block, partial: the interpreter's time is the launch's, not the points')
    far = [(1500.0, 0.3, 2.0), (-1500.0, 0.7, 0.5), (2000.0, 1.0, 2.0), (-2000.0, 0.0, 1.0), (30.0, 0.0, 0.0),
           (-30.0, 1.0, 0.0), (0.5, 0.0, 2.5), (-0.5, 1.0, 2.5), (1e-300, 0.5, 2.0), (700.0, 1e-310, 3.0)]
    for i, (a, b, c) in enumerate(far + list(SUBNORMAL)):
        z[7 * i], t[7 * i], g[7 * i] = a, b, c
    return z, t, g


def test_scaled_specialisation_keeps_every_ordinary_lane():
    """The REPAIR=2 specialisation on a block of ordinary and far-branch points (90, a partial block) stores the
    main kernel's values bit for bit wherever no widened function of focal's is tiny, and the subnormal points'
    values where they are (test_tsub24: 0 ULP from mpmath). A guard of the change (it took the double words' value
    on those lanes before too), not a fault fixed."""
    z, t, g = _far_points()
    main = _with_repair_everywhere(z, t, g, 0)
    again = _with_repair_everywhere(z, t, g, 2)
    subnormal = np.zeros(len(z), bool)  # (a leaf below 2⁻⁹⁶⁸, t = 1e−310, or a result there: the scaled words')
    subnormal[[7 * 9, 7 * 10, 7 * 11]] = True
    # and every output whose truth (mpmath) is below 2⁻⁹⁶⁸: the launcher repairs such a block with REPAIR=2, whose
    # scaled words keep a zero's sign where the main kernel's double words lose it (h-rescale51: ∂γ at (−2000, 0, 1)
    # is −1500·e^−4000 = −9.96e−1735: the repair's −0.0, the main kernel's +0.0; before h-scale50 the scaled product's
    # hi underflowed to +0 too. A 1,536-point sweep of such points: 74 lanes +0.0 for mpmath's −0.0 in the main
    # kernel, the repair's −0.0, before h-scale50; 87 since; no other lane differs)
    truth = np.array([_true(*p) for p in zip(z, t, g)]).T
    for name, a, b, w in zip(("f", "∂γ", "∂t", "∂z"), main, again, truth):
        same = a.view(np.int64) == b.view(np.int64)
        differ = np.flatnonzero(~same & ~subnormal & ~(np.abs(w) < 2.0 ** -968))
        assert differ.size == 0, (name, [(z[i], t[i], g[i], a[i], b[i]) for i in differ[:5]])
    assert again[1][7 * 3] == 0.0 and np.signbit(again[1][7 * 3]) and np.signbit(truth[1][7 * 3])


def test_tanh_series_shared():
    """Before: _tw_tanh_m repeated _tw_tanh's small-x series (its seven lines). Now both call _tw_tanh_series, whose
    text holds the series once (−x³/3 and 17/105 nowhere else)."""
    for name in ("_tw_tanh", "_tw_tanh_m"):
        text = doubleword.primitive_text(name, "triton")
        assert "_tw_tanh_series(x_hi, x_lo, x_tail)" in text and "-3.0" not in text, text
        assert "_tw_tanh_series" in doubleword._closure([name], "triton")
    assert "-3.0" in doubleword.primitive_text("_tw_tanh_series", "numpy")


def test_chain_constant_only_where_no_normal_float64():
    """The base printer's _chain_constant (the Triton printer's) said False: ``_moved_constant`` asked it only for a
    constant outside float64's normal range, which Triton's _constant_quotients never takes (within 2^±100 before:
    a subset of the normal range, so never decisive). Since h-const25 (session 25) every constant outside 2^±100 goes
    to ``_constant_far`` (m·2^k applied by exponents), 2^±200, 10³⁰⁸ and 10⁻³¹⁰ alike, so that session 26 (h-cxy26)
    removed _chain_constant (the NumPy printer's too). A guard of the simplification."""
    assert not hasattr(ConditionalPrinting, "_chain_constant")
    for formula in ("2**200*x/y**2", "x/(2**200*y**2)", "1e308*x/y**2", "1e-310*x/y**2"):
        source = compiled(formula, "triton").source
        assert "_constant_far(" in source and "_constant_quotients(" not in source, formula
