"""Session 40 (cost40, issue 16): session 38's accurate forms made cheaper, the same accuracy.

* NumPy: a conjunction whose one side calls a widened function and whose other side does not (a range guard, `far`)
  prints the widened side with the guard as its ``needed``: the widened function computes its double words (or its
  float64 bound) only where the guard holds. tanh(c·x + d·h) − h tests (far ∧ |W₁| < 3/2) ∨ (¬far ∧ |W₂| < 3/2) (the
  tanhshrink rule's test under the range guard of c·x + d·h), and ∂h the sech²-offset rule's 7/4 likewise: both
  widened sums ran on every element, where each is needed on its own side only. NumPy 1e6 CPU ms (benchmarks/cost40.py,
  main → branch side by side): float64 1356 → 1218, float32 389 → 356.

* The tanhshrink-target rule's near piece (its series of u − tanh u, widened) below |u| = 1, not 3/2: its 14 terms
  left ~1e−27 of u³/3 out at |u| → 3/2, and where h = fl(tanh u) f cancels to 1e−17 of tanh u (124,535 ULP at
  u = 1.4578, torch 7.5e15; 200 points around it: 64 past 4 ULP, worst 453,125 → none, worst 0.50). The cost the same
  (NumPy 1e6, float64 0.95× main's, float32 0.95×: the double-word tanh u − h in [1, 3/2] for the series there).

The tests: f and ∂h of tanh(c·x + d·h) − h against mpmath at 60 digits, at points where the guard holds (|c·x| past
2¹⁰⁰⁰: far), where it does not (ordinary, and h = tanh(c·x) rounded, where f cancels), and both interleaved in one
block (the widened functions' gathered ``needed``); the printed condition passes each guard to its own widened sum.
Bounds: 4 ULP float64, 8 float32, where the truth is normal. Each set of points has its own seed; the formula is
compiled once (conftest.compiled).
"""
from __future__ import annotations

import re
import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, ulps

F64, F32 = np.float64, np.float32
TANH_GAP = "tanh(c*x + d*h) - h"
BOUND = {F64: 4.0, F32: 8.0}


def _run(formula, pts):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        kernel = compiled(formula)
        return dict(zip(kernel.outputs, kernel(**pts)))


def _points(kind, dtype, n=240):
    """``n`` points of (c, d, h, x): 'ordinary' (c, d in [−2, 2], x in [−4, 4], h in [−1.5, 1.5]); 'far' (|c·x| from
    1e295 to 1e310: the range guard holds on most); 'cancel' (d = 0, h = tanh(c·x) rounded or one ulp off: f is a few
    ulps of tanh); 'mixed' (the three interleaved, one block)."""
    rng = np.random.default_rng({"ordinary": 4001, "far": 4002, "cancel": 4003, "mixed": 4004}[kind])
    sign = lambda: rng.choice([-1.0, 1.0], n)  # noqa: E731
    ordinary = {"c": rng.uniform(-2, 2, n), "d": rng.uniform(-2, 2, n), "h": rng.uniform(-1.5, 1.5, n),
                "x": rng.uniform(-4, 4, n)}
    far = {"c": sign() * 10.0 ** rng.uniform(145, 155, n), "d": rng.uniform(-2, 2, n),
           "h": rng.uniform(-1.5, 1.5, n), "x": sign() * 10.0 ** rng.uniform(150, 155, n)}
    if dtype is F32:  # float32's own far: |c·x| past 2¹²⁷·… is out of float32's range; the guard's float64 test
        far = {"c": sign() * 10.0 ** rng.uniform(15, 19, n), "d": rng.uniform(-2, 2, n),
               "h": rng.uniform(-1.5, 1.5, n), "x": sign() * 10.0 ** rng.uniform(15, 19, n)}
    c, x = rng.uniform(-1, 1, n).astype(dtype), rng.uniform(-2, 2, n).astype(dtype)
    t = np.tanh(c.astype(F64) * x.astype(F64)).astype(dtype)
    h = np.where(rng.random(n) < 0.5, t, np.nextafter(t, dtype(np.inf) * rng.choice([-1, 1], n).astype(dtype)))
    cancel = {"c": c, "d": np.zeros(n), "h": h, "x": x}
    sets = {"ordinary": ordinary, "far": far, "cancel": cancel}
    if kind == "mixed":
        pick = np.arange(n) % 3
        pts = {v: np.select([pick == 0, pick == 1], [ordinary[v], far[v]], cancel[v]) for v in "cdhx"}
    else:
        pts = sets[kind]
    with np.errstate(over="ignore", under="ignore"):
        return {v: np.asarray(a).astype(dtype) for v, a in pts.items()}


def _truths(c, d, h, x):
    """f = tanh(u) − h and ∂h = d·sech²(u) − 1, u = c·x + d·h, at 60 digits."""
    with mpmath.workdps(60):
        c, d, h, x = (mpmath.mpf(float(v)) for v in (c, d, h, x))
        u = c * x + d * h
        return mpmath.tanh(u) - h, d * mpmath.sech(u) ** 2 - 1


def worst(kind, dtype):
    """{output: (worst ULP where the truth is normal, count past the bound)} over a set of points."""
    pts = _points(kind, dtype)
    out = _run(TANH_GAP, pts)
    tiny = float(np.finfo(dtype).tiny)
    result = {}
    for j, name in enumerate(("f", "df_dh")):
        errors = []
        for i in range(len(pts["x"])):
            truth = _truths(*(pts[v][i] for v in "cdhx"))[j]
            if abs(truth) >= tiny:
                errors.append(ulps(out[name][i], truth, dtype))
        errors = np.array(errors)
        result[name] = (float(errors.max()), int(np.count_nonzero(errors > BOUND[dtype])), errors.size)
    return result


# found here (main alike): where h = fl(tanh u) f cancels to ~1e−17 of tanh u. The tanhshrink-target rule's near
# piece, (u − h) − S(u) with S(u) = u − tanh u its 14-term series, left ~1e−27 of u³/3 out at |u| → 3/2: 124,535 ULP
# at u = 1.4578 (torch 7.5e15), 16 of 240 'cancel' points past 4 ULP, 11 'mixed' (11,722). The series now below
# |u| = 1 only (rewrite._TANHSHRINK_TARGET_BELOW): 1 point past in each, the double word's own 2⁻¹⁰⁶ of its terms
# where f is 2⁻⁵⁷ of them (the triple words' tier would take it)
_DOUBLE_WORD_SHORT = pytest.mark.xfail(strict=True, reason=(
    "measured: f of tanh(c·x + d·h) − h in float64 at (c, d, h, x) = (0.5599909626421331, 0, 0.464180247111984, "
    "0.8975617920883066), u = 0.5026, is 3.0218558606277446e−18 for 3.0218558606277427e−18 (4.90 ULP; torch 7.8e15): "
    "the near piece's double word, 2⁻¹⁰⁶ of its terms, where f is 2⁻⁵⁷ of tanh u; 'mixed' 7.80 ULP at (−0.895050518699557, "
    "0, −0.5990150213922232, 0.7727045073763734); 1 of 240 points past in each (main: 16 and 11, worst 124,535)"))


@pytest.mark.parametrize("kind, dtype", [
    pytest.param(kind, dtype, id=f"{kind}-{np.dtype(dtype).name}",
                 marks=_DOUBLE_WORD_SHORT if dtype is F64 and kind in ("cancel", "mixed") else ())
    for dtype in (F64, F32) for kind in ("ordinary", "far", "cancel", "mixed")])
def test_tanh_gap_within_the_bound(kind, dtype):
    """Measured on this branch and on main, the same numbers (worst ULP of f, ∂h; 240 points a set, truths normal):
    float64 ordinary 0.50, 0.65; far 0.50, 0; float32 ordinary 0.50, 0.50; far 0.50, 0; cancel 0.62, 0; mixed 0.50,
    0.49. Outputs bit-identical to main's at 3,000 points of each set in both dtypes (the change picks where the
    double words run, not what they compute)."""
    got = worst(kind, dtype)
    assert all(past == 0 for _, past, _ in got.values()), got
    assert all(size >= 80 for _, _, size in got.values()), got  # the set holds normal truths to check


def test_each_guard_is_its_widened_sums_needed():
    """The printed test of f and of ∂h passes each side's plain guard to the widened function on that side (the
    far side's runs on its few elements only, gathered), and the pieces still take the named condition."""
    source = compiled(TANH_GAP).source
    for line in source.splitlines():
        if line.lstrip().startswith(("f[...] = _select(", "df_dh[...] = _select(")):
            # a guard may be a conjunction: the far side's (value_1) & (value_2) since widened-product-overflow's
            # far body also needs its scaled product past 2⁹³⁶ (h-worse46); that body may be taken again where it is
            # ±inf or NaN, _taken_again(W, lambda: <its terms that hold an infinite input>) (left50/releft51: a·b + c·d
            # with c = inf was inf − inf): the guard is still W's needed, and the lambda calls no widened function
            calls = re.findall(r"\(((?:\(value_\d+\) & )+)\(\(np\.abs\((?:_taken_again\()?_dw_widened_\w+\(c, d, h, "
                               r"x, True, ((?:\(value_\d+\)(?: & )?)+),", line)
            assert len(calls) == 2 and all(guard[:-3] == needed for guard, needed in calls), line[:400]
            assert "_cond_" in line
            for written in re.findall(r"lambda: (.*?), infinite=True\)", line):
                assert "_dw_widened_" not in written, written[:400]


# the tanhshrink-target series' point: the series no longer taken there (|u| ≥ 1: the double-word tanh u − h, whose
# triple-word tier takes the deepest cancellations)
SERIES_POINT = {"c": -0.7936062900150105, "d": 0.0, "h": 0.8972316861820626, "x": -1.836977641139002}


def _near_series_point(n=200):
    """The point and n − 1 others with |u| = |c·x| in [1, 3/2], d = 0 or d·h small, h = fl(tanh u) or one ulp off."""
    rng = np.random.default_rng(4005)
    c = rng.uniform(0.6, 1.0, n) * rng.choice([-1.0, 1.0], n)
    x = rng.uniform(1.0, 1.5, n) / np.abs(c) * rng.choice([-1.0, 1.0], n)
    d = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(-1e-3, 1e-3, n))
    t = np.tanh(c * x + d * np.tanh(c * x))
    h = np.where(rng.random(n) < 0.5, t, np.nextafter(t, rng.choice([-np.inf, np.inf], n)))
    pts = {"c": c, "d": d, "h": h, "x": x}
    for v in "cdhx":
        pts[v][0] = SERIES_POINT[v]
    return pts


def test_tanh_gap_where_the_series_was_short():
    """f at the point was −1.1527586141233044e−17 for −1.15275861412…e−17 (124,535 ULP; torch 7.5e15), 0.47 now;
    around it (200 points, |u| in [1, 3/2], f cancelling to ~1e−17 of tanh u) main: worst 453,125 ULP, 64 past 4;
    now worst 0.50, none past."""
    pts = _near_series_point()
    out = _run(TANH_GAP, pts)["f"]
    errors = [ulps(out[i], _truths(*(pts[v][i] for v in "cdhx"))[0], F64) for i in range(out.size)]
    assert errors[0] <= 1.0, errors[0]
    assert max(errors) <= BOUND[F64], (max(errors), int(np.argmax(errors)))
