"""Entropy terms written out (session 28, h-ent28): the softmax-complement rule's general form, softmax-partition
(terms over S⁻ᵏ and S⁻⁽ᵏ⁺¹⁾ taken over one power of S, exponential by exponential, where their coefficients cancel),
and the shifted-sum-crossing rule's −log p + c written with max(0, b − a).

- p·log p, p = e^a/(e^a + e^b), ∂a = p(1 − p)(log p + 1): before (main 41c709e), float64 at b = 0.25: 4.6e6 ULP at
  a = 20, 0 for 5.45e−18 at a = 40, 0 for 2.32e−35 at a = 80 (L·p + p − (L + 1)·p² multiplied out: p − p² cancelled);
  ∂a and ∂b 350 / 257 ULP near their root p = 1/e (a − b = −0.5475; torch 166 / 918 there).
- the 3-class entropy −Σ p_i log p_i written out, ∂a float64 at (a, 0.25, −0.5): 2.8e16 ULP at a = 80, 0 from 98.8,
  NaN at 800 (Σ_j (L_j + 1)·e^(a_j)/S² beside −(L_a + 1)/S).
- KL(p‖q) of two written 2-class softmaxes, ∂a at a = 398.4 (b, c, d = 0.25, 0.1, −0.3): 0 for 4.8e−171.

References: mpmath at 400 digits of the closed forms; torch autograd in float64 of the formula as written.
"""
from __future__ import annotations

import functools
import os

import mpmath
import numpy as np
import pytest

import symnet

BOUND = {np.float32: 8.0, np.float64: 4.0}
P = "exp(a)/(exp(a)+exp(b))"
ENTROPY_TERM = f"{P} * log({P})"
_S3 = "(exp(a)+exp(b)+exp(c))"
ENTROPY3 = "-(" + " + ".join(f"exp({v})/{_S3}*log(exp({v})/{_S3})" for v in "abc") + ")"
_PQ, _QQ = "(exp(a)+exp(b))", "(exp(c)+exp(d))"
KL = (f"exp(a)/{_PQ}*log((exp(a)/{_PQ})/(exp(c)/{_QQ})) + exp(b)/{_PQ}*log((exp(b)/{_PQ})/(exp(d)/{_QQ}))")
ROOT = float(mpmath.log(1 / (mpmath.e - 1)))  # a − b where p = 1/e: ∂a = ∂b = 0
MARGINS = [-800.0, -400.0, -80.0, -40.0, -20.0, -5.0, -1.0, ROOT - 0.01, ROOT - 0.0062, ROOT + 0.0062, 0.0, 0.5,
           5.0, 20.0, 40.0, 80.0, 400.0, 700.0, 800.0]


@functools.lru_cache(maxsize=None)
def _kernel(formula, backend="numpy"):
    return symnet.compile(symnet.derive(formula), backend=backend, progress=False)


def _ulps(got, true, dtype) -> float:
    """|got − true| in units of the dtype's spacing at |true|; where the true value is below the smallest normal,
    in units of the smallest subnormal (the bound is stated for normal results)."""
    got = float(got)
    if not np.isfinite(got):
        return float("inf")
    tiny = np.finfo(dtype)
    unit = np.spacing(dtype(abs(float(true)))) if abs(true) >= tiny.tiny else tiny.smallest_subnormal
    return float(abs(mpmath.mpf(got) - true) / mpmath.mpf(float(unit)))


def _entropy_term_truth(a, b):
    """f = p·log p, ∂a = p(1 − p)(log p + 1), ∂b = −∂a."""
    with mpmath.workdps(400):
        A, B = mpmath.mpf(float(a)), mpmath.mpf(float(b))
        logp = -mpmath.log1p(mpmath.exp(B - A)) if A >= B else (A - B) - mpmath.log1p(mpmath.exp(A - B))
        p = mpmath.exp(logp)
        slope = p * (1 - p) * (logp + 1)
        return {"f": p * logp, "df_da": slope, "df_db": -slope}


def _normal_errors(out, truths, dtype):
    """[(i, output, ulps)] over the points, for the outputs whose true value is normal or zero."""
    errors = []
    for i, truth in enumerate(truths):
        for name, true in truth.items():
            if true == 0 or abs(true) >= np.finfo(dtype).tiny:
                errors.append((i, name, _ulps(out[name][i], true, dtype)))
    return errors


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_entropy_term_value_and_gradients_within_bound_from_minus_800_to_800(dtype):
    """Before: ∂a float64 4.6e6 ULP at a − b = 20, 0 for 5.45e−18 at 40 (torch the same); 350 ULP near the root
    (∂b 257; ∂b was written −(L + 1)·p(1 − p) with L + 1 as max(0, b − a) + log1p(D) − 1, not widened); float32
    ∂a 1.0e7 ULP at 40. After: float64 ≤ 2.4, float32 ≤ 0.5 over 19 margins and a 61-point sweep near the root."""
    b = 0.25
    a = np.array([b + m for m in MARGINS], dtype)
    k = _kernel(ENTROPY_TERM)
    out = dict(zip(k.outputs, k(a=a, b=np.full_like(a, b))))
    truths = [_entropy_term_truth(x, b) for x in a]
    bad = [e for e in _normal_errors(out, truths, dtype) if e[2] > BOUND[dtype]]
    assert not bad, [(MARGINS[i], name, u) for i, name, u in bad]


def test_entropy_term_gradients_near_their_root_float64():
    """∂a = −∂b = p(1 − p)(log p + 1) crosses 0 at p = 1/e: log p + 1 computed as a − m − log1p(D) + 1 cancels
    every digit its roundings hold. Before: ∂a 350, ∂b 257 ULP at a − b = −0.5475 (torch's autograd 166 / 918
    in this band); after: both widened (double-word), ≤ 2.4 ULP."""
    b = 0.25
    margins = np.linspace(-0.75, -0.3, 61)
    k = _kernel(ENTROPY_TERM)
    out = dict(zip(k.outputs, k(a=b + margins, b=np.full_like(margins, b))))
    truths = [_entropy_term_truth(b + m, b) for m in margins]
    bad = [e for e in _normal_errors(out, truths, np.float64) if e[2] > BOUND[np.float64]]
    assert not bad, bad


def test_entropy_term_triton():
    """The Triton kernel (interpreted on the CPU where there is no GPU), float64 and float32 at a few margins:
    before, ∂a was the same 0 at a − b = 40 as NumPy's (the rules are the backends' shared form)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("triton")
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    k = _kernel(ENTROPY_TERM, "triton")
    b, margins = 0.25, [-800.0, -20.0, ROOT + 0.0062, 5.0, 40.0, 80.0, 800.0]
    for dtype, tdtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
        a = np.array([b + m for m in margins], dtype)
        res = k(a=torch.tensor(a, dtype=tdtype, device=device), b=torch.full((len(a),), b, dtype=tdtype, device=device))
        out = dict(zip(k.outputs, [r.cpu().numpy() for r in res]))
        bad = [e for e in _normal_errors(out, [_entropy_term_truth(x, b) for x in a], dtype) if e[2] > BOUND[dtype]]
        assert not bad, (dtype, [(margins[i], name, u) for i, name, u in bad])


def _entropy3_truth(a, b, c):
    """H = −Σ p_i log p_i and ∂H/∂a_k = −p_k·(log p_k + H)."""
    with mpmath.workdps(400):
        v = [mpmath.mpf(float(x)) for x in (a, b, c)]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(x) for x in v))
        logp = [x - lse for x in v]
        p = [mpmath.exp(x) for x in logp]
        h = -mpmath.fsum(pi * li for pi, li in zip(p, logp))
        return {"f": h} | {f"df_d{n}": -pi * (li + h) for n, pi, li in zip("abc", p, logp)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_three_class_entropy_written_out_within_bound(dtype):
    """Before: ∂a float64 at (a, 0.25, −0.5) 2.0e3 ULP at a = 49.2, 2.8e16 at 80, 0 for −2.2e−41 at 98.8, NaN at 800
    (∂b, ∂c NaN there too); float32 1.0e7 at 40. After: every output ≤ 0.5 ULP on four lines of a 3-class sweep."""
    k = _kernel(ENTROPY3)
    pts = [(t, 0.25, -0.5) for t in (-800.0, -40.0, -1.0, 0.3, 20.0, 49.2, 80.0, 400.0, 800.0)]
    pts += [(t, t, 0.0) for t in (-80.0, 12.2, 80.0)] + [(t, 0.0, -t) for t in (-400.0, -8.6, 0.02, 80.0)]
    a, b, c = (np.array(col, dtype) for col in zip(*pts))
    out = dict(zip(k.outputs, k(a=a, b=b, c=c)))
    truths = [_entropy3_truth(*p) for p in zip(a, b, c)]
    bad = [e for e in _normal_errors(out, truths, dtype) if e[2] > BOUND[dtype]]
    assert not bad, [(pts[i], name, u) for i, name, u in bad]


def _kl_truth(a, b, c, d):
    """KL(p‖q) = Σ p_i (log p_i − log q_i); ∂a = −∂b = p_a p_b·(log(p_a/q_a) − log(p_b/q_b)); ∂c = −∂d = q_a − p_a."""
    with mpmath.workdps(400):
        a, b, c, d = (mpmath.mpf(float(x)) for x in (a, b, c, d))
        lp, lq = mpmath.log(mpmath.exp(a) + mpmath.exp(b)), mpmath.log(mpmath.exp(c) + mpmath.exp(d))
        la, lb, qa, qb = a - lp, b - lp, c - lq, d - lq
        pa, pb = mpmath.exp(la), mpmath.exp(lb)
        f = pa * (la - qa) + pb * (lb - qb)
        slope = pa * pb * ((la - qa) - (lb - qb))
        return {"f": f, "df_da": slope, "df_db": -slope, "df_dc": mpmath.exp(qa) - pa, "df_dd": pa - mpmath.exp(qa)}


def test_kl_of_written_softmaxes_gradient_of_p_at_a_margin():
    """Before: ∂a of KL(p‖q) float64 at (398.4, 0.25, 0.1, −0.3) 0 for 4.84e−171 (5.3e15 ULP; torch the same), ∂b
    2e13 ULP. After: ≤ 4 ULP (softmax-partition)."""
    k = _kernel(KL)
    pts = [(t, 0.25, 0.1, -0.3) for t in (-0.37, 20.0, 80.0, 398.4, 700.0)]
    a, b, c, d = (np.array(col) for col in zip(*pts))
    out = dict(zip(k.outputs, k(a=a, b=b, c=c, d=d)))
    truths = [{n: v for n, v in _kl_truth(*p).items() if n in ("df_da", "df_db")} for p in pts]
    bad = [e for e in _normal_errors(out, truths, np.float64) if e[2] > BOUND[np.float64]]
    assert not bad, [(pts[i], name, u) for i, name, u in bad]


# session 28: a strict xfail (∂c and ∂d NaN in float64 at a = 398.4, b, c, d = 0.25, 0.1, −0.3; true −0.4013 and
# +0.4013, torch the same NaN: ((P·e^a/Q + P·e^b/Q)·e^c − P·e^a)/P², P² overflowing). Session 29 (h-kl29): the
# nested-sum-factor rule divides P out first: 0.06 ULP (tests/test_kl29.py)
def test_kl_of_written_softmaxes_gradient_of_q_at_a_margin():
    k = _kernel(KL)
    out = dict(zip(k.outputs, k(a=np.array([398.4]), b=np.array([0.25]), c=np.array([0.1]), d=np.array([-0.3]))))
    truth = _kl_truth(398.4, 0.25, 0.1, -0.3)
    assert _ulps(out["df_dc"][0], truth["df_dc"], np.float64) <= BOUND[np.float64]


# session 28: a strict xfail (337 / 302 ULP on h-ent28, main 1.4e3 / 167, torch 7.4e5 / 1.2e5: Σ p_i·(log p_i −
# log q_i) cancels to second order, each log-ratio rounded once). Session 29 (h-kl29): the softmax-mean rule takes the
# whole mean in double words: 0.19 / 0.02 ULP (tests/test_kl29.py)
def test_kl_value_near_equal_distributions_float64():
    k = _kernel(KL)
    pts = [(0.3, -0.2, 0.7514, 0.25), (-0.001417, 0.0, 0.001417, 0.0)]
    a, b, c, d = (np.array(col) for col in zip(*pts))
    out = dict(zip(k.outputs, k(a=a, b=b, c=c, d=d)))
    errors = [_ulps(out["f"][i], _kl_truth(*p)["f"], np.float64) for i, p in enumerate(pts)]
    assert max(errors) <= BOUND[np.float64], errors


# measured 2026-12-04 on h-ent28 alone: ∂a and ∂b float64 60.7 ULP at a − b = −0.5303 near their root p = 1/e (main
# NaN at a − b = −800): log p + 1 was not in the form the shifted-sum-crossing rule widens; with h-break28's
# k·m + k·log1p(D) for any k (merged, session 28) it is: within the bound
def test_entropy_term_max_shifted_by_hand_near_the_root():
    shifted = "exp(a-max(a,b))/(exp(a-max(a,b))+exp(b-max(a,b)))"
    k = _kernel(f"{shifted} * log({shifted})")
    a = np.array([0.25 - 0.5303])
    out = dict(zip(k.outputs, k(a=a, b=np.array([0.25]))))
    truth = _entropy_term_truth(a[0], 0.25)
    assert _ulps(out["df_da"][0], truth["df_da"], np.float64) <= BOUND[np.float64]


@pytest.mark.parametrize("p", ["sigmoid(z)", "1/(1+exp(-z))"])
def test_binary_entropy_written_out(p):
    """−p·log p − (1 − p)·log(1 − p) with p = σ(z) written either way: within the bound already on main (≤ 1.2 ULP
    float64, ≤ 0.5 float32 where the result is normal); kept so that the rules above leave it so."""
    k = _kernel(f"-{p}*log({p}) - (1-{p})*log(1-{p})")
    z = np.array([-700.0, -80.0, -20.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 20.0, 80.0, 700.0])
    for dtype in (np.float64, np.float32):
        zz = z.astype(dtype)
        out = dict(zip(k.outputs, k(z=zz)))
        truths = []
        for x in zz:
            with mpmath.workdps(400):
                s = 1 / (1 + mpmath.exp(-mpmath.mpf(float(x))))
                truths.append({"f": -s * mpmath.log(s) - (1 - s) * mpmath.log(1 - s),
                               "df_dz": -mpmath.mpf(float(x)) * s * (1 - s)})
        bad = [e for e in _normal_errors(out, truths, dtype) if e[2] > BOUND[dtype]]
        assert not bad, (dtype, bad)
