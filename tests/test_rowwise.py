"""Row-wise kernels (softmax, log-softmax, softmax cross-entropy): the generated NumPy
against mpmath written out by hand here, at random and extreme logits; the row rules;
bad input."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import load_kernel
from symnet.codegen.families.rowwise import ROW_RULES, V, j, r, row_kernel, rowmax, stabilise_row, z

CE, SM, LS = load_kernel("softmax_cross_entropy"), load_kernel("softmax"), load_kernel("log_softmax")


def mp_row(row):
    """softmax and log-sum-exp of one row in mpmath at 60 digits (independent reference)."""
    with mpmath.workdps(60):
        zs = [mpmath.mpf(float(v)) for v in row]
        total = mpmath.fsum(mpmath.exp(v) for v in zs)
        return [mpmath.exp(v) / total for v in zs], mpmath.log(total)


LOGITS = [
    [1000.0, -1000.0, 0.0, 20.0, -20.0],
    [88.7, 88.7, -88.7, 0.0, 1e-30],
    [-1000.0, -999.0, -1000.0, -1001.0, -1000.0],
    [3.0e38, 0.0, -3.0e38, 1.0, 2.0],
    [0.5, -0.25, 1.5, 2.0, -3.0],
]


@pytest.mark.parametrize("dtype,tol", [(np.float64, 4e-15), (np.float32, 2e-6)])
def test_cross_entropy_matches_mpmath_at_extremes(dtype, tol):
    zs = np.array(LOGITS, dtype=dtype)
    rs = np.array([1, 2, 0, 0, 4])
    loss, dz = CE.softmax_cross_entropy_grad(zs, rs, reduction="none")
    assert loss.dtype == dtype and dz.dtype == dtype and np.isfinite(loss).all() and np.isfinite(dz).all()
    for row, cls in enumerate(rs):
        probs, lse = mp_row(zs[row])
        want = float(lse - mpmath.mpf(float(zs[row, cls])))
        assert abs(loss[row] - want) <= tol * max(1.0, abs(want), float(np.abs(zs[row]).max()))
        for col in range(zs.shape[1]):
            want_g = float(probs[col]) - (col == cls)
            assert abs(dz[row, col] - want_g) <= tol


@pytest.mark.parametrize("dtype,tol", [(np.float64, 4e-15), (np.float32, 2e-6)])
def test_softmax_and_log_softmax_match_mpmath(dtype, tol):
    zs = np.array(LOGITS[:3] + LOGITS[4:], dtype=dtype)
    p = SM.softmax(zs)
    logp = LS.log_softmax(zs)
    for row in range(zs.shape[0]):
        probs, lse = mp_row(zs[row])
        for col in range(zs.shape[1]):
            # relative accuracy down to the smallest normal number (e^{−2000} underflows to 0)
            assert abs(p[row, col] - float(probs[col])) <= tol * float(probs[col]) + 2 * np.finfo(dtype).tiny
            want = float(mpmath.mpf(float(zs[row, col])) - lse)
            assert abs(logp[row, col] - want) <= tol * max(1.0, np.abs(zs[row]).max())


def test_reductions_and_shapes():
    rng = np.random.default_rng(1)
    zs = rng.normal(size=(2, 3, 7))
    rs = rng.integers(0, 7, (2, 3))
    none, dz_none = CE.softmax_cross_entropy_grad(zs, rs, reduction="none")
    mean, dz_mean = CE.softmax_cross_entropy_grad(zs, rs)
    total, dz_sum = CE.softmax_cross_entropy_grad(zs, rs, reduction="sum")
    assert none.shape == (2, 3) and dz_none.shape == zs.shape
    np.testing.assert_allclose(mean, none.mean(), rtol=1e-14)
    np.testing.assert_allclose(total, none.sum(), rtol=1e-14)
    np.testing.assert_allclose(dz_mean, dz_none / 6, rtol=1e-14)
    np.testing.assert_allclose(dz_sum, dz_none, rtol=1e-14)
    assert CE.softmax_cross_entropy(zs, rs) == pytest.approx(mean, rel=1e-14)
    one = CE.softmax_cross_entropy_grad(np.zeros((1, 1)), np.array([0]))  # a single class: C = 0, ∂C/∂z = 0
    assert one[0] == 0 and one[1][0, 0] == 0


def test_large_inputs_split_over_threads_give_the_same_answer():
    """Above _SHARE elements per core the rows are split over threads: each share must
    write its own rows (checked against a float64 reference written here, and with one
    core), and an error in a share must reach the caller."""
    rng = np.random.default_rng(7)
    rows, classes = 1500, 1400  # 2.1M entries: two or more shares on any machine with ≥ 2 cores
    zs = (rng.normal(size=(rows, classes)) * 4).astype(np.float32)
    rs = rng.integers(0, classes, rows)
    z64 = zs.astype(np.float64)
    p = np.exp(z64 - z64.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    want_loss = -np.log(p[np.arange(rows), rs]).mean()
    p[np.arange(rows), rs] -= 1
    loss, dz = CE.softmax_cross_entropy_grad(zs, rs)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    np.testing.assert_allclose(dz, p / rows, rtol=1e-4, atol=1e-10)
    cores = CE._CORES
    try:
        CE._CORES = 1
        one_loss, one_dz = CE.softmax_cross_entropy_grad(zs, rs)
    finally:
        CE._CORES = cores
    np.testing.assert_array_equal(dz, one_dz)  # the same blocks, the same arithmetic
    assert one_loss == loss
    if cores >= 2:
        seen = []
        def failing(lo, hi):
            seen.append((lo, hi))
            if lo > 0:
                raise RuntimeError("share failed")
        with pytest.raises(RuntimeError, match="share failed"):
            CE._in_parallel(failing, rows, classes)
        assert sorted(seen)[0][0] == 0 and sorted(seen)[-1][1] == rows


def test_gradients_against_finite_differences():
    """∂/∂z of the loss (and of g·softmax, g·log-softmax) by central differences of the
    generated forward functions in float64."""
    rng = np.random.default_rng(2)
    zs, rs, gs = rng.normal(size=(3, 6)), rng.integers(0, 6, 3), rng.normal(size=(3, 6))
    checks = [(lambda a: CE.softmax_cross_entropy(a, rs, reduction="sum"), CE.softmax_cross_entropy_grad(zs, rs, reduction="sum")[1]),
              (lambda a: float((SM.softmax(a) * gs).sum()), SM.softmax_grad(zs, gs)[1]),
              (lambda a: float((LS.log_softmax(a) * gs).sum()), LS.log_softmax_grad(zs, gs)[1])]
    h = 1e-6
    for f, grad in checks:
        for idx in np.ndindex(zs.shape):
            up, down = zs.copy(), zs.copy()
            up[idx] += h
            down[idx] -= h
            assert abs((f(up) - f(down)) / (2 * h) - grad[idx]) < 1e-8


def test_against_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    zs, rs = rng.normal(0, 4, (9, 31)), rng.integers(0, 31, 9)
    tz = torch.tensor(zs, requires_grad=True)
    torch.nn.functional.cross_entropy(tz, torch.tensor(rs)).backward()
    loss, dz = CE.softmax_cross_entropy_grad(zs, rs)
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-12, atol=1e-16)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=9), st.data())
def test_hypothesis_rows(row, data):
    zs = np.array([row], dtype=np.float32)
    cls = data.draw(st.integers(0, len(row) - 1))
    loss, dz = CE.softmax_cross_entropy_grad(zs, np.array([cls]))
    probs, lse = mp_row(zs[0])
    assert np.isfinite(loss) and np.isfinite(dz).all()
    assert abs(float(loss) - float(lse - mpmath.mpf(float(zs[0, cls])))) <= 2e-6 * max(1, np.abs(zs).max())
    np.testing.assert_allclose(dz[0], [float(p) - (c == cls) for c, p in enumerate(probs)], atol=2e-6)
    assert abs(dz.sum()) < 1e-5  # each row of p − onehot sums to 0


def test_bad_input_is_refused_clearly():
    zs = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"class index 5 in argument 'r' is outside \[0, 5\)"):
        CE.softmax_cross_entropy(zs, np.array([0, 1, 2, 5]))
    with pytest.raises(ValueError, match="class index -1"):
        CE.softmax_cross_entropy(zs, np.array([0, -1, 2, 3]))
    with pytest.raises(TypeError, match="integer class indices"):
        CE.softmax_cross_entropy(zs, np.zeros(4))
    with pytest.raises(ValueError, match="argument 'r' has shape"):
        CE.softmax_cross_entropy(zs, np.zeros(3, int))
    with pytest.raises(ValueError, match="reduction must be"):
        CE.softmax_cross_entropy(zs, np.zeros(4, int), reduction="avg")
    with pytest.raises(TypeError, match="float32 or float64 logits"):
        SM.softmax(zs.astype(np.float16))
    with pytest.raises(ValueError, match="at least one class"):
        SM.softmax(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="argument 'g' has shape"):
        SM.softmax_grad(zs, np.zeros((4, 4)))
    with pytest.raises(TypeError, match="argument 'g' is missing"):
        LS.log_softmax_grad(zs, None)
    assert np.isnan(SM.softmax(np.array([[np.nan, 0.0]]))).all()  # NaN in, NaN out


# ------------------------------------------------------------------ the row rules

def test_row_rules_are_identities_and_fix_overflow():
    lse = sp.log(sp.Sum(sp.exp(z[sp.Symbol("k", integer=True)]), (sp.Symbol("k", integer=True), 0, V - 1)))
    stable, fired = stabilise_row(z[j] - lse)
    assert [f.name for f in fired] == ["log-sum-exp", "two-sum", "log1p-sum"] and stable.has(rowmax)  # issue 16
    row = [1000.0, 999.0, -5.0]
    with np.errstate(all="ignore"):
        naive = np.float32(row[0]) - np.log(np.exp(np.array(row, np.float32)).sum())
    assert not np.isfinite(naive)  # the written-out form overflows
    assert np.isfinite(LS.log_softmax(np.array([row], np.float32))).all()


def test_max_shift_refuses_a_formula_that_is_not_shift_invariant():
    """e^{z_j} alone changes when z moves: the rule must not fire."""
    rule = next(q for q in ROW_RULES if q.name == "max-shift")
    assert rule.apply(sp.exp(z[j])) == sp.exp(z[j])
    kernel = row_kernel("expz", "e^{z_j}", [("e", sp.exp(z[j]), "e_j", False)])
    assert not any(q.name == "max-shift" for q in kernel.rules)


def test_kernels_only_take_one_hot_terms():
    from symnet import SymnetError
    with pytest.raises(SymnetError, match="one-hot term"):
        row_kernel("bad", "", [("x", sp.KroneckerDelta(j, r) * sp.KroneckerDelta(j, 0) * z[j], "x", False)])
    # δ_jr·z_j is δ_jr·z_r: a value of the row at its class, generated
    (coeff,) = row_kernel("ok", "", [("x", sp.KroneckerDelta(j, r) * z[j], "x", False)]).scatter
    assert coeff == z[r]
