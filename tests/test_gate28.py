"""Task h-gate28: a widened sum inside nested selects computes its double words where every enclosing select takes it
(printing.ConditionalPrinting._select_telling_pieces: its ``needed`` the conjunction of the pieces' conditions, not the
innermost one alone). squareplus′ (1 + x/√(x² + 4))/2 is, for x < 0, 2/(√A·(√A − x)) widened while A < 2⁹⁹⁶ (h-misc27):
before, its double words ran on every element, x > 0 too (needed = A < 2⁹⁹⁶ alone), 3.8× the plain kernel's time in
float64 (benchmarks/gate28.py); now on x < 0 only, the same bits.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import symnet

SQUAREPLUS = "(x + sqrt(x**2 + 4))/2"


@pytest.fixture(scope="module")
def squareplus():
    return symnet.compile(symnet.derive(SQUAREPLUS), progress=False)


def _module(text: str, calls: list, every: bool = False):
    """The generated module ``text`` executed, each call of its widened function recording how many elements its
    ``needed`` takes; ``every``: the function called with needed=True (on every element, as a select of no
    condition would)."""
    space: dict = {}
    exec(compile(text, "<generated>", "exec"), space)  # noqa: S102 - a module symnet generated
    (name,) = set(re.findall(r"def (_dw_widened_\w+)\(x, double_word", text))
    widened = space[name]

    def recorded(x, double_word, needed=True, **kw):
        calls.append(int(np.count_nonzero(np.broadcast_to(needed, np.shape(x)))))
        return widened(x, double_word, True if every else needed, **kw)
    space[name] = recorded
    return space["kernel"]


def _points(n: int, rng) -> np.ndarray:
    edges = [0.0, -0.0, 5e-324, -5e-324, -1e-310, 1e-310, -1.0, 1.0, -537.0202162188024, -1.3e154, -2e154, -1e200,
             1e200, -1.797e308, 1.797e308, -np.inf, np.inf, np.nan]
    x = rng.standard_normal(n) * 3
    x[:len(edges)] = edges
    return x


def test_squareplus_slope_double_words_on_negative_x_only(squareplus):
    """Before: the widened function's ``needed`` took every element of the block (3·16384 + 1000 float64 points, x ~
    3·N(0, 1): 50,143 of 50,152, all but the NaN and the squares past 2⁹⁹⁶); now those with x < 0 alone (A < 2⁹⁹⁶ too)."""
    calls: list = []
    kernel = _module(squareplus.source, calls)
    x = _points(3 * 16384 + 1000, np.random.default_rng(28))
    kernel(x)
    with np.errstate(invalid="ignore", over="ignore"):
        taken = np.count_nonzero((x < 0) & (x * x < 6.696928794914171e+299))
    assert sum(calls) == taken, (sum(calls), taken, x.size)
    assert taken < 0.52 * x.size


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_squareplus_same_bits_as_on_every_element(squareplus, dtype):
    """The kernel beside its source with the widened function on every element (needed=True): the same bits in f and
    f′ over three blocks and a part, edge values in front (the select drops what the function computes elsewhere)."""
    x = _points(3 * 16384 + 1000, np.random.default_rng(281)).astype(dtype)
    new = _module(squareplus.source, [])(x)
    old = _module(squareplus.source, [], every=True)(x)
    bits = np.int64 if dtype is np.float64 else np.int32
    for a, b in zip(new, old):
        differ = np.flatnonzero(a.view(bits) != b.view(bits))
        assert differ.size == 0, (differ.size, x[differ[:5]], a[differ[:5]], b[differ[:5]])


def test_nested_select_prints_the_enclosing_condition():
    """The printer's ``needed`` for a widened sum two selects deep holds both pieces' conditions."""
    source = symnet.compile(symnet.derive(SQUAREPLUS), progress=False).source
    # (session 44, h-wgan44: float32 kernels call the widened function too, with its ``within`` bound)
    (call,) = set(re.findall(r"_dw_widened_\w+\(x, True, ([^\n]*?)(?:\) if _dtype|, within=)", source))
    assert "x_neg" in call and "6.696928794914171e+299" in call, call


# ------------------------------------------------------------------ exp2′ float32: log 2·2^x with 2^x shared with the
# value (CSE's two_pow_x), the float32 product of the rounded 2^x and the float32 log 2: three roundings. Before
# (measured 2026-12-04 on main 41c709e, 3,005 points: x uniform in (−140, 128), 3·N(0, 1) and edges): 1.22 ULP (torch.exp2's
# autograd 1.04 in benchmarks/results' accuracy table); now 2^x and the product in float64, rounded once: 0.50.

def _exp2_slope_ulps(got, xs):
    import mpmath
    worst = 0.0
    with mpmath.workdps(40):
        for g, v in zip(got, xs):
            true = mpmath.power(2, mpmath.mpf(float(v))) * mpmath.log(2)
            if not np.finfo(np.float32).tiny <= true <= np.finfo(np.float32).max:
                continue
            ulp = mpmath.mpf(float(np.spacing(np.float32(float(true)))))
            worst = max(worst, float(abs(mpmath.mpf(float(g)) - true) / ulp))
    return worst


def test_exp2_slope_float32_rounded_once():
    kernel = symnet.compile(symnet.derive("exp2(x)"), progress=False)
    rng = np.random.default_rng(28)
    xs = np.concatenate([rng.uniform(-140, 128, 1500), rng.standard_normal(1500) * 3,
                         [-149.0, -126.5, 0.0, 1e-30, 127.9]]).astype(np.float32)
    value, slope = kernel(xs)
    assert _exp2_slope_ulps(slope, xs) <= 0.5 + 2.0 ** -20
    assert value.dtype == slope.dtype == np.float32
    # where 2^x overflows float32 and log 2·2^x does not (x in [128, 128.53); test_break27's strict xfail, whose float64
    # half stays inf): inf before, now the product rounded once
    far = np.array([128.25, 128.52], np.float32)
    assert _exp2_slope_ulps(kernel(far)[1], far) <= 0.5 + 2.0 ** -20


def test_exp2_float64_same_bits_as_the_shared_product():
    """float64: the derivative is the shared 2^x times log 2, as before (one rounding): bit for bit."""
    kernel = symnet.compile(symnet.derive("exp2(x)"), progress=False)
    xs = np.random.default_rng(282).uniform(-1080, 1030, 20000)
    value, slope = kernel(xs)
    with np.errstate(over="ignore"):
        want = np.exp2(xs) * 0.6931471805599453
    # (where 2^x overflows, x ≥ 1024, h-tail28's _exp_overflowed takes the product again: tests/test_tail28.py)
    kept = np.isfinite(np.exp2(xs))
    assert np.array_equal(slope[kept].view(np.int64), want[kept].view(np.int64))
    assert np.array_equal(value.view(np.int64), np.exp2(xs).view(np.int64))


# ------------------------------------------------------------------ Student-t NLL ∂ν inside the log1p-series window:
# G(a) (the series) + R, R = −a/(2ν(1 + a)), a = x²/ν, in float64 is a few ULP times (|G| + |R|)/|G + R| off (measured),
# and cancels at ∂ν's zero a ≈ 2/ν. h-gate28 widened the sum where |G + R| < |R|/2 (rewrite.LOG1P_GATE, a test on the
# select's own float64 values). Before (main 41c709e, 400 random points ν in (1, 30), x ~ 2·N(0, 1), seed 27): 30 past
# 4 ULP, the worst 53.4; 716.7 at ν = 28.946455312504156, x = 1.4298708091377665 (torch 1.6e5). After h-gate28: 3 past
# 4 ULP, the worst 4.70 (its strict xfail), 0.33 at that point. h-gate31: no gate reaches the bound (4.9 ULP where
# |R| < |G + R|/4, and at ν = 1.3e5 where R is nothing: tests/test_gate31.py), so the window is widened whole: 0.50.

STUDENT = "0.5*(nu + 1)*log(1 + x**2/nu)"
GATE = re.compile(r"\(\(np\.abs\(\w+\) <= np\.abs\(\w+\) \* 2\.0\)\)")


def _student_truth(nu, x):
    import mpmath
    with mpmath.workdps(50):
        n, v = mpmath.mpf(float(nu)), mpmath.mpf(float(x))
        a = v * v / n
        return mpmath.log1p(a) / 2 - (n + 1) * a / (2 * n * (1 + a))


def _ulps64(got, true):
    import mpmath
    return float(abs(mpmath.mpf(float(got)) - true) / mpmath.mpf(float(np.spacing(abs(float(true))))))


@pytest.fixture(scope="module")
def student():
    return symnet.compile(symnet.derive(STUDENT, wrt="nu"), progress=False)


def _random_student_points():
    rng = np.random.default_rng(27)
    return rng.uniform(1, 30, 400), rng.standard_normal(400) * 2


def test_student_t_dnu_where_it_cancels_inside_the_window(student):
    """The points of the 400 where |R| > 2.2·|G + R| inside the window (gated, with a margin for the float test):
    ≤ 0.5 ULP (before: up to 53.4)."""
    nus, xs = _random_student_points()
    a = xs * xs / nus
    g = 0.5 * (np.log1p(a) - a / (1 + a))
    r = -a / (2 * nus * (1 + a))
    gated = (a < 0.4375) & (np.abs(r) > 2.2 * np.abs(g + r))
    assert np.count_nonzero(gated) >= 40
    _, grad = student(nu=nus[gated], x=xs[gated])
    worst = max(_ulps64(v, _student_truth(n, x)) for v, n, x in zip(grad, nus[gated], xs[gated]))
    assert worst <= 0.5, worst


def test_student_t_dnu_random_points_within_the_bound(student):
    """The 400 points: ≤ 4 ULP (h-gate28's strict xfail: 4.70 at 3 of them; h-gate31: 0.50, the window widened)."""
    nus, xs = _random_student_points()
    _, grad = student(nu=nus, x=xs)
    worst = max(_ulps64(v, _student_truth(n, x)) for v, n, x in zip(grad, nus, xs))
    assert worst <= 4, worst


def test_student_t_no_series_select_left(student):
    """h-gate31: ∂ν is the widened sum on every element (the window's series and h-gate28's gate on it are gone: the
    series form was past 4 ULP wherever a gate left it; tests/test_gate31.py); before, the select's condition and the
    widened function's ``needed`` held the gate."""
    assert not GATE.findall(student.source)
    assert "series_" not in student.source.split("def kernel(")[1]
