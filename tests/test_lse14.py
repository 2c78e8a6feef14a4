"""Issue 16, session 14: a log-sum-exp (and a softmax) written out with many terms compiles in time linear in the
number of terms, and says the same per output.

* stabilise ran once per output (a value and N gradients), each pass walking the whole Σ e^{a_i} again: N² node
  visits. A kernel's outputs now share one :class:`~symnet.codegen.rewrite.Stabiliser` (each distinct node is
  rewritten once, and each output still reports the rules that fired in it).
* sp.Max(a0, …, a_{N−1}) compared every pair of logits (a factor_terms each), three times a kernel (the
  log-sum-exp rule, the max-shift rule, cse): distinct real symbols without a sign are never ordered, so the node
  is built without the comparisons.

Measured: benchmarks/results/lse14-compile-time.md.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, derived, patch_rewrite, triton_torch
from symnet.codegen import rewrite
from symnet.codegen.ir import describe, stability_section


def _lse(n: int) -> str:
    return "log(" + " + ".join(f"exp(a{i})" for i in range(n)) + ")"


# the rules each output reported before the outputs shared their stabilisation (stabilise once per output),
# and the kernel's rules in order: printed by `symnet derive --stable` and in the generated module
RULES_BEFORE = {
    _lse(4): ({"f": ["log-sum-exp", "two-sum", "infinite-shift", "shifted-sum-crossing"],
               **{f"df_da{i}": ["max-shift", "two-sum", "infinite-shift", "compensated-sum"] for i in range(4)}},
              ["log-sum-exp", "two-sum", "infinite-shift", "shifted-sum-crossing", "max-shift", "compensated-sum"]),
    "exp(a0)/(exp(a0)+exp(a1)+exp(a2))": (  # (session 15: compensated-sum, a sum of three max-shifted terms)
        {"f": ["max-shift", "two-sum", "infinite-shift", "compensated-sum"],
         "df_da0": ["max-shift", "softmax-complement", "two-sum", "infinite-shift", "compensated-sum"],
         "df_da1": ["max-shift", "two-sum", "infinite-shift", "compensated-sum"],
         "df_da2": ["max-shift", "two-sum", "infinite-shift", "compensated-sum"]},
        ["max-shift", "two-sum", "infinite-shift", "compensated-sum", "softmax-complement"]),
    "log(exp(x)+exp(y)) - x": (  # (session 42, h-soft42: compensated-sum takes the gradients' two-term sum)
        {"f": ["logaddexp", "log-quotient", "two-sum", "infinite-shift"],
         "df_dx": ["max-shift", "softmax-complement", "two-sum", "infinite-shift", "compensated-sum"],
         "df_dy": ["max-shift", "two-sum", "infinite-shift", "compensated-sum"]},
        ["logaddexp", "log-quotient", "two-sum", "infinite-shift", "max-shift", "softmax-complement",
         "compensated-sum"]),
    "y*log(1+exp(x)) + log(sigmoid(x))": (  # (session 27, h-fresh27: y·σ(x) + σ(−x) widened, y of either sign)
        {"f": ["softplus", "zero-limit", "log-sigmoid", "widen"], "df_dx": ["sigmoid", "sigmoid-complement", "widen"],
         "df_dy": ["softplus"]},
        ["softplus", "zero-limit", "log-sigmoid", "widen", "sigmoid", "sigmoid-complement"]),
    "exp(a)/(exp(a)+exp(b)) * log(exp(a)/(exp(a)+exp(b)))": (  # (session 27: the log-softmax a − m − log1p(D),
        # widened by shifted-sum-crossing with either sign: f float32 2.15 → 0.43 ULP over 12 points, a − b in ±30;
        # session 28, h-ent28: ∂a's L·p + p − (L + 1)·p² taken by softmax-complement (softmax-partition) as
        # (L + 1)·p·(1 − p), its L + 1 and ∂b's log1p(D) + max(0, b − a) − 1 widened: tests/test_ent28.py)
        # session 42 (h-soft42): compensated-sum takes p's two-term sum S
        {**{out: ["max-shift", "log-quotient", "log-sum-exp", "two-sum", "infinite-shift", "shifted-sum-crossing",
                  "compensated-sum"] for out in ("f", "df_db")},
         "df_da": ["max-shift", "log-quotient", "log-sum-exp", "softmax-complement", "two-sum", "infinite-shift",
                   "shifted-sum-crossing", "compensated-sum"]},
        ["max-shift", "log-quotient", "log-sum-exp", "two-sum", "infinite-shift", "shifted-sum-crossing",
         "compensated-sum", "softmax-complement"]),
}


@pytest.mark.parametrize("formula", list(RULES_BEFORE))
def test_each_output_reports_the_rules_it_did_before(formula):
    per_output, kernel_rules = RULES_BEFORE[formula]
    kernel = describe(derived(formula))
    shared = rewrite.Stabiliser()
    for out in kernel.outputs:
        stable, fired = shared(out.expr)
        alone = rewrite.stabilise(out.expr)  # a Stabiliser of its own: nothing shared
        assert [r.name for r in fired] == per_output[out.name], out.name
        assert (stable, fired) == alone, out.name
    assert [r.name for r in kernel.rules] == kernel_rules


def test_the_stable_section_names_each_outputs_rules():
    """`symnet derive --stable` prints one step per output, its reason naming the rules fired in that output."""
    per_output, _ = RULES_BEFORE[_lse(4)]
    kernel = describe(derived(_lse(4)))
    steps = stability_section(kernel).steps
    meanings = {o.meaning: o.name for o in kernel.outputs}
    assert len(steps) == len(kernel.outputs)
    for step in steps:
        named = [part.split(" rule: ")[0] for part in step.why.split("; ") if " rule: " in part]
        assert named == per_output[meanings[str(step.lhs)]]


def _rule_tries(monkeypatch, n: int) -> int:
    """How many times stabilise tried its first node-by-node rule on a node (once a node visited) while
    describing the n-term written log-sum-exp (a value and n gradients)."""
    first = rewrite._LOCAL[0]
    count = [0]

    def counted(node):
        count[0] += 1
        return first(node)

    patch_rewrite(monkeypatch, "_LOCAL", (counted,) + rewrite._LOCAL[1:])  # pipeline.py's, which stabilise reads
    describe(derived(_lse(n)))
    return count[0]


def _pair_comparisons(monkeypatch, n: int) -> int:
    """How many pairs of arguments sp.Max compared while describing the n-term written log-sum-exp."""
    from sympy.functions.elementary.miscellaneous import MinMaxBase

    count = [0]
    connected = MinMaxBase._is_connected.__func__

    def counted(cls, x, y):
        count[0] += 1
        return connected(cls, x, y)

    monkeypatch.setattr(MinMaxBase, "_is_connected", classmethod(counted))
    describe(derived(_lse(n)))
    return count[0]


def test_stabilising_grows_linearly_with_the_terms(monkeypatch):
    """Before: each output's pass visited the whole sum again (417 tries at 10 terms, 1427 at 20: 3.4×); now each
    distinct node once (59 and 109: 1.8×, 209 at 40)."""
    at10, at20 = _rule_tries(monkeypatch, 10), _rule_tries(monkeypatch, 20)
    assert at20 < 3 * at10, (at10, at20)


def test_no_pairwise_max_comparisons_of_logits(monkeypatch):
    """Before: sp.Max(a0, …, a19) compared its 190 pairs three times over (log-sum-exp rule, max-shift rule, cse),
    several checks a pair; the logits are real symbols of unknown sign, never ordered."""
    assert _pair_comparisons(monkeypatch, 20) == 0


def test_a_max_of_ordered_arguments_is_still_evaluated():
    """The shortcut is for symbols SymPy cannot order: a positive symbol, a number or a repeated name is compared."""
    x, y = sp.symbols("x y", real=True)
    p, q = sp.Symbol("p", positive=True), sp.Symbol("q", negative=True)
    assert rewrite._max_of((p, q)) == p
    assert rewrite._max_of((x, x + 1)) == x + 1
    assert rewrite._max_of((x, sp.Symbol("x"))) == sp.Max(x, sp.Symbol("x"))
    assert type(rewrite._max_of((y, x))) is sp.Max and rewrite._max_of((y, x)).args == sp.Max(x, y).args


N = 40
# logits at ±800: e^800 overflows float64, e^−800 underflows to 0; a tie at the maximum, a near tie, a spread
_POINTS = [
    [800.0] * N,
    [-800.0] * N,
    [800.0 if i % 2 else -800.0 for i in range(N)],
    [-800.0 + i / 8 for i in range(N)],
    [800.0 - 2.0 ** -40 * i for i in range(N)],
    [(-1) ** i * 800.0 * (i + 1) / N for i in range(N)],
]


def _exact(point):
    """log Σ e^{a_i} and ∂/∂a_j = e^{a_j − lse} at 50 digits, from the point's float64 values."""
    with mpmath.workdps(50):
        a = [mpmath.mpf(v) for v in point]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in a))
        return [lse] + [mpmath.exp(v - lse) for v in a]


def _ulps(got, true, dtype):
    spacing = float(np.spacing(np.asarray(abs(float(true)), dtype)))
    return float(abs(mpmath.mpf(float(got)) - true)) / spacing


def _worst(f, outputs, points, dtype):
    """The largest error in ULPs of ``dtype`` over every output at every point (outputs in the kernel's order:
    f, then ∂f/∂a_i in the derivation's order of the a_i)."""
    names = [o.name for o in f.kernel.outputs]
    assert sorted(names) == sorted(["f"] + [f"df_da{i}" for i in range(N)])
    worst = 0.0
    for k, point in enumerate(points):
        exact = _exact([float(np.asarray(v, dtype)) for v in point])
        for name, out in zip(names, outputs):
            true = exact[0] if name == "f" else exact[1 + int(name.removeprefix("df_da"))]
            assert np.isfinite(out[k]), (name, point[:3], out[k])
            worst = max(worst, _ulps(out[k], true, dtype))
    return worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forty_terms_against_mpmath(dtype):
    f = compiled(_lse(N))
    columns = {f"a{i}": np.array([p[i] for p in _POINTS], dtype) for i in range(N)}
    outputs = f(**columns)
    assert [o.dtype for o in outputs] == [np.dtype(dtype)] * (N + 1)
    assert _worst(f, outputs, _POINTS, dtype) <= 4


def test_forty_terms_triton():
    torch = triton_torch()
    f = compiled(_lse(N), "triton")
    points = _POINTS[2:4]
    columns = {f"a{i}": torch.tensor([p[i] for p in points], dtype=torch.float64) for i in range(N)}
    outputs = [o.cpu().numpy() for o in f(**columns)]
    assert _worst(f, outputs, points, np.float64) <= 4
