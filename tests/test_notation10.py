"""The printouts' notation, as the lecture (CURRICULUM.md) writes it (session 10).

1. rnn-bptt: the output is yᵗ and the target the correct class rᵗ (one-hot [c = rᵗ], as
   softmax-cross-entropy's y_j − δ_jr), never ŷ; the time step is a superscript, hᵗ and
   h⁽ᵗ⁻¹⁾ as the lecture writes h^t and h^(t−1), not h[t − 1,k].
2. δ is the error signal (δˡ = ∂C/∂zˡ) where a derivation has one: its Kronecker deltas are
   Iverson brackets [i = j], and the printout says so once; softmax keeps the lecture's δ_ij.
3. The text format's prose is unicode as its formulas are: x₁, θ₁₀, δᴸ, −6 and →, never
   x1, θ_10, δ^L, -6, ->, or a greek letter spelled out.
"""
from __future__ import annotations

import re

import pytest
import sympy as sp

from symnet.derivation import StepIndexedBase
from symnet.indexed import Iverson
from symnet.render import _parsable, latex, render_latex, render_text, shown

ERROR_SIGNAL = ("dense", "backprop", "rnn-bptt")  # derivations that name an adjoint δ


def _prose(d) -> list[str]:
    """Every piece of prose a derivation prints: title, summary, section titles and texts,
    table cells and each step's note."""
    out = [d.title, d.summary]
    for sec in d.sections:
        out += [sec.title, sec.text, *(cell for row in sec.table for cell in row)]
        out += [s.why for s in sec.steps]
    return [p for p in out if p]


def _step_lines(d) -> list[str]:
    return [line for line in render_text(d).splitlines() if line.startswith("  ")]


# ---------------------------------------------------------------- 1. rnn-bptt

def test_rnn_bptt_has_no_hat_y_and_its_target_is_the_correct_class(curriculum):
    """It printed ∂C/∂o_tc = y_tc − ŷ_tc, ŷ_t "the one-hot target": the lecture's ŷ-free
    notation has y the output and r the correct class (C = −log y_r, ∂C/∂z = y − onehot(r))."""
    d = curriculum["rnn-bptt"]
    printed = render_text(d)
    assert "ŷ" not in printed and r"\hat{y}" not in render_latex(d), printed
    assert "∂C/∂oᵗ_c = yᵗ_c − [c = rᵗ]" in printed, printed
    assert "∂C/∂Wᵒ_ck = " in printed and "Σ_t (hᵗ_k·(yᵗ_c − [c = rᵗ]))" in printed, printed


def test_rnn_bptt_writes_the_time_step_up_as_the_lecture_does(curriculum):
    d = curriculum["rnn-bptt"]
    lines = "\n".join(_step_lines(d))
    assert "sᵗ_i = Σ_k (Wʰ_ik·h⁽ᵗ⁻¹⁾_k) + Σ_d (Wⁱ_id·xᵗ_d)" in lines, lines
    assert "δ⁽ᵗ⁺¹⁾_i" in lines and "[t = t' − 1]" in lines, lines
    for bad in ("h[", "δ[", "δ(", "x_t", "h_t"):
        assert bad not in lines, bad
    assert d.summary.startswith("hᵗ = σ(Wⁱxᵗ + Wʰh⁽ᵗ⁻¹⁾), yᵗ = softmax(Wᵒhᵗ)"), d.summary


def test_a_step_indexed_family_prints_its_step_up_in_every_format():
    t, k, c = sp.symbols("t k c", integer=True)
    tp, T = sp.Symbol("t'", integer=True), sp.Symbol("T", integer=True)
    h, r = StepIndexedBase("h"), StepIndexedBase("r")
    assert shown(h[t, k]) == "hᵗ_k" and latex(h[t, k]) == "{h}^{t}_{k}"
    assert shown(h[t - 1, k]) == "h⁽ᵗ⁻¹⁾_k" and latex(h[t - 1, k]) == "{h}^{(t - 1)}_{k}"
    assert shown(h[tp + 1, k]) == "h⁽ᵗ'⁺¹⁾_k" and shown(h[1, 0]) == "h¹_0"
    assert shown(h[T + 1, k]) == "h^(T + 1)_k"  # ᵀ is the transpose: T stays on the line
    assert shown(r[t]) == "rᵗ" and latex(r[t]) == "{r}^{t}"
    assert _parsable(h[t - 1, k]) == "IndexedBase(h)[t - 1, k]"
    assert str(sp.sympify(_parsable(Iverson(c, r[t])))) == "KroneckerDelta(c, r[t])"


# ---------------------------------------------------------------- 2. δ: error or Kronecker

@pytest.mark.parametrize("name", ERROR_SIGNAL)
def test_no_bare_delta_is_a_kronecker_delta_where_delta_is_the_error(curriculum, name):
    """dense printed Σ_i (a_k·δ_i·δ_ij) = a_k·δ_j: the error δ_i beside the Kronecker δ_ij."""
    d = curriculum[name]
    deltas = [k for s in d.steps for f in (s.lhs, *s.chain) if isinstance(f, sp.Basic)
              for k in f.atoms(sp.KroneckerDelta)]
    assert deltas and all(isinstance(k, Iverson) for k in deltas), deltas
    lines = "\n".join(_step_lines(d))
    assert not re.search(r"δ_[a-z]'?[a-z]'?(?![a-z⁽ᵗ])\b|δ\(", lines.replace("δ_j", "")), lines
    assert "[i = j]" in lines, lines
    said = [p for p in _prose(d) if "Iverson" in p]
    assert len(said) == 1 and "error signal" in said[0], said


def test_dense_reads_its_kronecker_as_a_bracket(curriculum):
    printed = render_text(curriculum["dense"])
    assert "∂C/∂W_jk = Σ_i (∂C/∂z_i·∂z_i/∂W_jk) = Σ_i (a_k·δ_i·[i = j]) = a_k·δ_j" in printed, printed
    assert "∂z_i/∂W_jk = a_k·[i = j]" in printed, printed
    assert r"[i = j]" in render_latex(curriculum["dense"])


def test_softmax_keeps_the_lectures_kronecker_delta(curriculum):
    """Softmax has no error signal: ∂y_i/∂z_j = y_i(δ_ij − y_j), as the lecture writes it."""
    for name in ("softmax", "softmax-cross-entropy", "cross-entropy"):
        assert "[" + "i = j]" not in render_text(curriculum[name])
    assert "y_i·(δ_ij − y_j)" in render_text(curriculum["softmax"])


# ---------------------------------------------------------------- 3. one style of prose

_ASCII = [
    (r"->|<-|=>", "an ASCII arrow"),
    (r"(?i)\b(sigma|theta|alpha|beta|lambda|partial|nabla)\b|(?<!Kronecker )\bdelta\b", "a greek letter spelled out"),
    (r"(?<![\w.])-\d", "a hyphen for a minus sign"),
    (r"(?<![A-Za-z])[A-Za-zθσδ]_\d+(?![A-Za-z])", "an ASCII subscript digit"),
    (r"\b[fwxy]\d\b", "a subscript digit on the line"),
    (r"(?<![e\d])\^", "an ASCII superscript where unicode has one"),
]


@pytest.mark.parametrize("pattern, what", _ASCII)
def test_the_text_formats_prose_is_unicode(curriculum, pattern, what):
    found = [(name, p) for name, d in curriculum.items() for p in _prose(d) if re.search(pattern, p)]
    assert not found, (what, found)


def test_the_tables_write_a_minus_sign(curriculum):
    printed = render_text(curriculum["linear-miles"]) + render_text(curriculum["perceptron"])
    assert "−7.863" in printed and "  −2  " in printed and "-7.863" not in printed, printed
    assert "∂J/∂θ = −6" in render_text(curriculum["gradient-descent"])


def test_a_multi_output_printout_names_its_outputs_as_its_formulas_do(curriculum):
    """jacobian printed "Backward pass (reverse mode) for f1", "df1/df1 = 1", "no path from
    x1 to f2" above steps that read df₁/dx₁."""
    printed = render_text(curriculum["jacobian"])
    assert "for f₁" in printed and "Start from df₁/df₁ = 1" in printed, printed
    assert "[no path from x₁ to f₂; ✓]" in printed and "rows f₁, f₂; columns x₁, x₂, x₃" in printed
    assert "∂f/∂x has (size of f) rows" in printed
    assert "y_1" not in render_text(curriculum["softmax"])


def test_the_backward_pass_prose_does_not_borrow_a_nodes_name(curriculum):
    """param-sharing's nodes are u = x² and v = exp(u); its prose said "∂v/∂u is the local
    derivative along one edge" of any edge, which there reads as exp(u)."""
    text = next(s.text for s in curriculum["param-sharing"].sections if s.title.startswith("Backward"))
    assert "∂v/∂u" not in text and "dy/du" not in text, text
    text = next(s.text for s in curriculum["sigmoid"].sections if s.title.startswith("Backward"))
    assert "∂v/∂u" in text, text
