"""Backpropagation through time for the lecture's Elman network."""
from __future__ import annotations

import sympy as sp

from ..derivation import Name, Partial, Section, Step, StepIndexedBase
from ..functions import sigmoid
from ..indexed import Iverson, derive_indexed, unroll, unrolled_gradient
from ..stepcheck import check_equal
from . import claim_entries, compose, forward_section, register

C = sp.Symbol("C")


@register("rnn-bptt", "hᵗ = σ(Wⁱxᵗ + Wʰh⁽ᵗ⁻¹⁾), yᵗ = softmax(Wᵒhᵗ): the BPTT recurrence, checked on an unrolled T = 3")
def rnn_bptt():
    T, D, H, K = sp.symbols("T D H K", integer=True, positive=True)
    t, i, j, k, d, c, m = sp.symbols("t i j k d c m", integer=True)
    ranges = {t: (1, T), i: (0, H - 1), j: (0, H - 1), k: (0, H - 1), d: (0, D - 1),
              c: (0, K - 1), m: (0, K - 1)}
    Wi = sp.IndexedBase(Name("Wi", "W^{i}", "Wⁱ"))
    Wh = sp.IndexedBase(Name("Wh", "W^{h}", "Wʰ"))
    Wo = sp.IndexedBase(Name("Wo", "W^{o}", "Wᵒ"))
    # the time step is the first index, printed up as the lecture writes h^t, h^(t−1)
    x, h, s, o, y = (StepIndexedBase(n) for n in ("x", "h", "s", "o", "y"))
    r = StepIndexedBase("r")  # rᵗ, the correct class at step t
    delta = StepIndexedBase(Name("delta", r"\delta", "δ"))
    onehot = Iverson(c, r[t])  # [c = rᵗ]: the one-hot target, as softmax-cross-entropy's δ_jr
    program = [
        (s[t, i], sp.Sum(Wi[i, d] * x[t, d], (d, 0, D - 1)) + sp.Sum(Wh[i, k] * h[t - 1, k], (k, 0, H - 1))),
        (h[t, i], sigmoid(s[t, i])),
        (o[t, c], sp.Sum(Wo[c, k] * h[t, k], (k, 0, H - 1))),
    ]
    small = {T: 3, D: 2, H: 2, K: 2}
    # y^t = softmax(o^t) with cost C^t = −log y^t_(r_t): ∂C/∂o^t = y^t − onehot (softmax-cross-entropy)
    res = derive_indexed(program, ranges=ranges, seed=(o[t, c], y[t, c] - onehot),
                         wrt=[Wh[j, k], Wi[j, d], Wo[c, k]], sizes=small, names={s: delta},
                         probes={s: (t, j), h: (t, j)}, cost=C, iverson=True)
    grad_h = res.adjoints[h]
    recurrence = (
        claim_entries(Partial(C, h[t, j]), (grad_h[1].xreplace(dict(zip(grad_h[0], (t, j)))),),
                      sp.Sum(Wo[c, j] * (y[t, c] - onehot), (c, 0, K - 1))
                      + sp.Sum(Wh[i, j] * delta[t + 1, i], (i, 0, H - 1)),
                      {t: ranges[t], j: ranges[j]}, small,
                      "from this step's output, plus from the next step through ∂h⁽ᵗ⁺¹⁾/∂hᵗ"),
        # δᵗ named as the lecture names it, σ'(sᵗ) ∘ ∂C/∂hᵗ, with ∂C/∂hᵗ the step above (which holds δ⁽ᵗ⁺¹⁾: the
        # recurrence), not written out; checked against the derived ∂C/∂sᵗ with ∂C/∂hᵗ at each entry the derived one
        claim_entries(delta[t, j], (sp.Mul(sigmoid(s[t, j]), 1 - sigmoid(s[t, j]), Partial(C, h[t, j]), evaluate=False),),
                      res.adjoints[s][1].xreplace(dict(zip(res.adjoints[s][0], (t, j)))),
                      {t: ranges[t], j: ranges[j]}, small,
                      "δᵗ = σ'(sᵗ) ∘ ∂C/∂hᵗ, ∂C/∂hᵗ as above, with δ zero after the last step T",
                      where={Partial(C, h[t, j]): grad_h[1].xreplace(dict(zip(grad_h[0], (t, j))))}),
    )

    # check on an explicitly unrolled T = 3 network with the real softmax + cross-entropy cost
    forward = unroll(program, ranges, small)
    correct = {1: 0, 2: 1, 3: 1}  # the correct class at each time step
    probs, cost = {}, sp.S.Zero
    for step in (1, 2, 3):
        logits = [forward[o[step, q]] for q in range(2)]
        norm = sum(sp.exp(v) for v in logits)
        for q in range(2):
            probs[y[step, q]] = sp.exp(logits[q]) / norm
        probs[r[step]] = sp.Integer(correct[step])
        cost += -sp.log(probs[y[step, correct[step]]])
    unrolled = []
    for base, entry in ((Wh, Wh[0, 1]), (Wi, Wi[1, 0]), (Wo, Wo[1, 1])):
        formula = unrolled_gradient(res, entry, forward, ranges, small, {s: delta}, probs)
        how = check_equal(formula, sp.diff(cost, entry), f"BPTT gradient for {entry}")
        key = next(w for w in res.gradients if w.base == base)
        at_entry = res.gradients[key].xreplace(dict(zip(key.indices, entry.indices)))
        unrolled.append(Step(Partial(C, entry), (at_entry,),
                             "the recurrence, written out for T = 3, equals SymPy's diff of the "
                             "unrolled C = C¹ + C² + C³", how))
    forward_text = ("At each step t: xᵗ is the input, hᵗ the hidden state (h⁰ given), "
                    "sᵗ = Wⁱxᵗ + Wʰh⁽ᵗ⁻¹⁾ and oᵗ = Wᵒhᵗ, yᵗ = softmax(oᵗ) the output and rᵗ the "
                    "correct class. The cost C = Σ_t Cᵗ, with Cᵗ = −log yᵗ_r at r = rᵗ, gives "
                    "∂C/∂oᵗ_c = yᵗ_c − [c = rᵗ] (softmax-cross-entropy): the output minus the "
                    "one-hot target, [c = rᵗ] being 1 if c = rᵗ, else 0. δᵗ = ∂C/∂sᵗ is the error signal. "
                    "The families x, h, s, o, y, r and δ take the step t as their first index, written up.")
    sections = [forward_section(program, forward_text)] + list(res.sections) + [
        Section("The BPTT recurrence", recurrence,
                "The same weights act at every step, so each weight's gradient sums over time, and "
                "the error signal at step t collects what flows back from step t + 1. Adjoints "
                "past the last step T are zero."),
        Section("Checked on an unrolled T = 3 network", tuple(unrolled),
                "D = H = K = 2, correct classes (r¹, r², r³) = (0, 1, 1), h⁰ an input: the recurrence, with "
                "every δ written out, against the derivative of the whole unrolled cost."),
    ]
    return compose("Backpropagation through time (Elman network)", sections,
                   inputs=(x, Wi, Wh, Wo), wrt=tuple(res.gradients), outputs=(C,),
                   definitions=tuple(program), gradients=res.gradients,
                   local_partials={key: v[2] for key, v in res.local_partials.items()})
