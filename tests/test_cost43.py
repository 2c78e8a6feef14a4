"""cost43 (session 43, issue 16's cost item): the two-term compensated sum's float64 double-word block made cheaper,
its accuracy kept.

1. A pair's terms e^(x − m), e^(y − m), m = max(x, y), are 1 and E = e^(min(x, y) − m) (both 1 where x = y): their
   product is E (no TwoProduct: the softmax's ∂ took _dw_mul(1, 0, E_hi, E_lo)) and their sum 1 + E by one TwoSum
   (_dw_add_fp; _dw_add took two) — doubleword._Emitter._pair_identity.
2. A two-term log-sum-exp c ± log1p(E) (log(e^a + e^b), a − log(e^a + e^b)) takes E from the table (_dw_exp_table,
   2⁻⁶⁶; it took the full _dw_exp, 2⁻¹⁰⁴, on every element) and computes the block again with _dw_exp only where the
   output may cancel, |r| < L/8 + 2⁻¹⁰⁰⁰ (logaddexp's max(a, b) near (−0.8, 0)) — doubleword._near_cancellation.

References: mpmath at 60 digits, torch autograd float64 of the written form, and the code without both changes (both
patched out: main c9775006's module, printed again under another name).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import symnet
import symnet.codegen.doubleword as doubleword
from conftest import compiled, triton_torch, ulps
from test_softcost42 import _points, _same_bits
from test_worseb40 import _torch_outputs

F64, F32 = np.float64, np.float32
SOFTMAX, LOG_SOFTMAX, LOGADDEXP = "exp(a)/(exp(a) + exp(b))", "a - log(exp(a) + exp(b))", "log(exp(a) + exp(b))"
FORMULAS = [SOFTMAX, LOG_SOFTMAX, LOGADDEXP]


def _kernel(formula, name=None):
    options = {} if name is None else {"name": name}  # (another name: not the in-process cache's function)
    return symnet.compile(symnet.derive(formula), progress=False, time_limit=None, **options)


def _before(formula, monkeypatch, name):
    """The kernel as main c9775006 printed it: neither change (the pair's identities, the two-term log's table)."""
    with monkeypatch.context() as patch:
        patch.setattr(doubleword._Emitter, "_pair_identity", lambda self, a, b: None)
        patch.setattr(doubleword, "_pair_log_terms", lambda assignments, results: None)
        return _kernel(formula, name=name)


def _truth(form, a, b):
    m = max(a, b)
    s = mpmath.exp(a - m) + mpmath.exp(b - m)
    if form == SOFTMAX:
        p, q = mpmath.exp(a - m) / s, mpmath.exp(b - m) / s  # (p·q, not p·(1 − p): 1 − p cancels at 60 digits)
        return {"f": p, "df_da": p * q, "df_db": -p * q}
    log_s = mpmath.log1p(mpmath.exp(min(a, b) - m))  # (log s: 1 + 1e−56 keeps 4 of 60 digits of 1e−56)
    if form == LOG_SOFTMAX:
        return {"f": a - m - log_s, "df_da": mpmath.exp(b - m) / s, "df_db": -mpmath.exp(b - m) / s}
    return {"f": m + log_s, "df_da": mpmath.exp(a - m) / s, "df_db": mpmath.exp(b - m) / s}


_TORCH = {SOFTMAX: lambda t, a, b: t.exp(a) / (t.exp(a) + t.exp(b)),
          LOG_SOFTMAX: lambda t, a, b: a - t.log(t.exp(a) + t.exp(b)),
          LOGADDEXP: lambda t, a, b: t.log(t.exp(a) + t.exp(b))}


def _rows(form, kernel, a, b, dtype=F64):
    """[(output, symnet's ULPs, torch's, a, b)] where the truth is a normal number."""
    a, b = np.asarray(a, dtype), np.asarray(b, dtype)
    with np.errstate(all="ignore"):
        mine = dict(zip(kernel.outputs, (np.asarray(o, F64) for o in kernel(a=a, b=b))))
    theirs = _torch_outputs(_TORCH[form], dtype, a=a, b=b)
    info, rows = np.finfo(dtype), []
    with mpmath.workdps(60):
        for j in range(a.size):
            for output, true in _truth(form, mpmath.mpf(float(a[j])), mpmath.mpf(float(b[j]))).items():
                if info.tiny <= abs(true) <= info.max:
                    rows.append((output, ulps(mine[output][j], true, dtype), ulps(theirs[output][j], true, dtype),
                                 float(a[j]), float(b[j])))
    return rows


def test_the_pair_takes_no_product_and_one_two_sum():
    """Softmax's block: _dw_mul once (S², was twice: t₁·t₂ = E too), _dw_add_fp for S (was _dw_add); the
    log-sum-exp's one e^x from the table, _dw_exp called only inside the near-cancellation branch."""
    softmax = _kernel(SOFTMAX).source
    block = softmax[softmax.index("if _dtype == np.float64:"):]
    assert block.count("_dw_mul(") == 1 and block.count("_dw_add(") == 0 and block.count("_dw_add_fp(") == 1
    for form in (LOG_SOFTMAX, LOGADDEXP):
        source = _kernel(form).source
        block = source[source.index("if _dtype == np.float64:"):]
        assert block.count("_dw_exp_table(") == 1 and block.count("_dw_exp(") == 1, form
        assert block.index("_dw_exp(") > block.index(".any():"), form


@pytest.mark.parametrize("formula", FORMULAS)
def test_same_as_before_but_for_the_last_bit(formula, monkeypatch):
    """At test_softcost42's 278,528 points (random, ties, one ULP apart, far apart, every pair of 17 extremes, ±inf,
    NaN): float32 bit-identical (its block is float64, untouched); float64 the same bits wherever either is not a
    finite nonzero number, and within one ULP elsewhere (E to 2⁻⁶⁶ where it was 2⁻¹⁰⁴, S by one TwoSum: a value next
    to a rounding boundary may round the other way); where the bits differ, the new value within 0.51 ULP of the
    truth (first 150). Measured: no output differs, all three formulas, float64 and float32."""
    new, old = _kernel(formula), _before(formula, monkeypatch, name="cost43_before")
    assert new.source != old.source
    a, b = _points()
    for dtype in (F64, F32):
        with np.errstate(all="ignore"):
            x, y = a.astype(dtype), b.astype(dtype)
            got, want = new(a=x, b=y), old(a=x, b=y)
        for g, w, name in zip(got, want, new.outputs):
            same = _same_bits(g, w)
            if dtype == F32:
                assert same.all(), (formula, name, int((~same).sum()))
                continue
            ordinary = np.isfinite(w) & (w != 0) & np.isfinite(g) & (g != 0)
            assert same[~ordinary].all(), (formula, name, x[~same & ~ordinary][:3], y[~same & ~ordinary][:3])
            apart = np.abs(g.view(np.int64) - w.view(np.int64))
            assert apart[ordinary].max(initial=0) <= 1, (formula, name, apart.max())
            differ = np.flatnonzero(~same)[:150]
            with mpmath.workdps(60):
                for j in differ:
                    true = _truth(formula, mpmath.mpf(float(x[j])), mpmath.mpf(float(y[j])))[name]
                    if np.finfo(F64).tiny <= abs(true):
                        assert ulps(g[j], true, F64) <= 0.51, (formula, name, x[j], y[j])


def _crossing(n, seed):
    """log(e^a + e^b) near its zero: e^a + e^b = 1 (b = log(1 − e^a)), b moved by up to 1e−6 relative, a in
    (−0.75, −0.01)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-0.75, -0.01, n)
    return a, np.log1p(-np.exp(a)) * (1 + rng.uniform(-1e-6, 1e-6, n))


def _edge(n, seed):
    """max(a, b) = a with f = a + L at ±L/8 (times 0.9 … 1.1): on both sides of the near-cancellation test."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(-3, 0, n)
    L = np.log1p(np.exp(d))
    a = -L + rng.choice([-1, 1], n) * L / 8 * rng.uniform(0.9, 1.1, n)
    return a, a + d


# the table's e^x alone (near-cancellation's branch patched out) at these points: f 617 ULP at the crossing (the
# 2⁻⁶⁶ of L ≈ 0.5 against f ≈ 1e−7; torch 9.8e8), 0.50 at the edge (|f| ≥ L/8 · 0.9 there by construction; torch
# 181); gradients 0.50 at both (torch 1.98) — the branch is what keeps the crossing rounded once
@pytest.mark.parametrize("where", [_crossing, _edge], ids=["crossing", "edge"])
def test_logaddexp_rounded_once_where_its_log_may_cancel(where):
    a, b = where(300, seed=43)
    rows = _rows(LOGADDEXP, _kernel(LOGADDEXP), a, b)
    assert len(rows) >= 800
    worst = max(rows, key=lambda r: r[1])
    assert worst[1] <= 0.51, worst
    assert not [r for r in rows if r[1] > max(r[2], 1.0)]


@pytest.mark.parametrize("formula", FORMULAS)
def test_within_half_an_ulp_over_the_range(formula):
    """test_soft42's spread (a up to ±1e5, b − a within ±700 and ±40) and the log-sum-exp's small-|a| range where
    near-cancellation's branch is taken on some elements (a, b in ±2): every output rounded once (log-softmax's f,
    the log-sum-exp rules' own widened sum, within 1), never worse than max(torch, 1)."""
    rng = np.random.default_rng(4343)
    a = np.concatenate([rng.uniform(-1e5, 1e5, 100), rng.uniform(-1e3, 1e3, 100), rng.uniform(-2, 2, 100)])
    b = a + np.concatenate([rng.uniform(-700, 700, 100), rng.uniform(-40, 40, 100), rng.uniform(-2, 2, 100)])
    rows = _rows(formula, _kernel(formula), a, b)
    for output in ("f", "df_da", "df_db"):
        worst = max(r[1] for r in rows if r[0] == output)
        assert worst <= (1.0 if (formula, output) == (LOG_SOFTMAX, "f") else 0.51), (formula, output, worst)
    assert not [r for r in rows if r[1] > max(r[2], 1.0)]


@pytest.mark.parametrize("formula", [LOG_SOFTMAX, LOGADDEXP])
def test_triton_float64_pair_sum_rounded_once(formula):
    """The pair's identities are the emitter's, so Triton's double-word block takes them too (its log-sum-exp keeps
    _dw_exp: near-cancellation's gathered branch is NumPy's): under the interpreter at 30 points (crossing and
    spread), every output within 0.51 ULP (log-softmax's f, its own widened sum, within 1)."""
    torch = triton_torch()
    a1, b1 = _crossing(15, seed=7)
    rng = np.random.default_rng(7)
    a2 = rng.uniform(-800, 800, 15)
    a, b = np.concatenate([a1, a2]), np.concatenate([b1, a2 + rng.uniform(-40, 40, 15)])
    kernel = compiled(formula, "triton")
    theirs = dict(zip(("f", "df_da", "df_db"), (o.cpu().numpy() for o in kernel(a=torch.tensor(a), b=torch.tensor(b)))))
    with mpmath.workdps(60):
        for j in range(a.size):
            for output, true in _truth(formula, mpmath.mpf(a[j]), mpmath.mpf(b[j])).items():
                if np.finfo(F64).tiny <= abs(true):
                    bound = 1.0 if (formula, output) == (LOG_SOFTMAX, "f") else 0.51
                    assert ulps(theirs[output][j], true, F64) <= bound, (formula, output, a[j], b[j])
