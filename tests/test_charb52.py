"""Session 52's h-charb52: the generalised Charbonnier loss ((p − t)² + c²)^(q/2) − c^q (session 51's rule
power-of-sum-difference, powers.py; tests/test_charb51.py): its NumPy float32 cost, and the far end where (d/c)² is
subnormal (d = p − t).

Cost. power-of-sum-difference's select {s·expm1(g·log1p((d/c)²)) where c > 0 and |z| < 1; as written} was printed
in a float32 kernel with the written branch as the plain float64 body (its hypot-scaled powers, _binade_reciprocal
ten times a block in ∂c) on every element beside the expm1 branch: NumPy's select computes both (∂c's written
branch alone was 0.6× of the whole base kernel). The written branch is now widen(…, in_float32=True): a call of its
widened function with the select's complement as ``needed``, computed on those elements alone (gathered where they
are under half of the block; the float64 body with its bound, double words only where the bound is past 2⁻³⁰),
as the float64 kernel computed it already. Measured 2026-12-08 (benchmarks/charb52_cost.py; 10⁶ points, whole
kernel f + 4 gradients, CPU time best of 5, the kernels of 51eb894c (before the rule), 24d86a8f (session 51) and
this branch in turn in one process; ratios to 51eb894c's; the box shared, ±15 %):
    ordinary (c U(0.1, 10), p, t U(−2, 2), q U(0.2, 2)):  float64 0.41 → 0.35, float32 1.69 → 0.73
    c = 1e−3, q = 1 (the usual Charbonnier, |z| > 1 everywhere): float64 1.09 → 0.56, float32 1.31 → 0.89

Far end. At c = 5.05e161, p − t = 2.5, q = 0.3 (symnet verify's point) (d/c)² = 2.5e−323 is subnormal: f was 0 for
1.19e−275 (torch 0) and ∂q 6.0e−273 for 4.49e−273 (1.9e15 ULP; torch inf). Where R/c² < 2⁻⁹⁶⁰ (c > 0, |g| < 2⁴⁰⁰) the
rule now takes f as s·g·(d/c)² and ∂q as S·(d/c)²·(2g·log c + 1) (log1p(ρ) = ρ and expm1(g·ρ) = g·ρ there to 2⁻⁹⁶⁰,
far below any rounding, like tiny-argument's f′(0)·x), each product taken by exponents (the printer's
_taken_by_exponents: (d/c)² held, not formed first); the squares are Grouped(d/c)², since s·g·(d/c)² would merge into
s·g·d²·c⁻², which the common subexpressions then shared with the near branch's log1p (∂c 4.6 ULP at c = 15344). Now
f 0.43 ULP, ∂q 0.02 ULP (NumPy); Triton 2.43, 2.02.

300 points a dtype (seed 52: 100 ordinary, 100 with d²/c² = 10^U(−40, −1), 60 with c = 10^±U(4, 15) (float32
10^±U(4, 6)), 40 "huge": c = 10^U(150, 300), |d| = 10^U(−2, 2), q = U(0.2, 0.9) (float32 c = 10^U(20, 38),
|d| = 10^U(−3, 1))) against mpmath (200 digits, 800 for the huge ones), worst ULP / past the bound / worse than torch,
24d86a8f → this branch: float64 huge f 8.7e15 / 26 / 0 → 2.3 / 0 / 0, ∂q 8.6e15 / 26 / 0 → 3.2 / 0 / 0 (torch inf);
every other cell unchanged (float64 ordinary 2.05 worst, tiny 2.25, far 2.66; float32 0.5 everywhere; 0 past, 0 worse).
∂p, ∂t at the huge points: 12.2 ULP at one point where the true value is subnormal (−2.56e−315; the bound is for a
normal result; torch 8.8e15), as before.
"""
import re

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import compiled, measure_formula, ulps

MP_DPS = 800

CHARB = "((p - t)**2 + c**2)**(q/2) - c**q"
_c, _p, _q, _t = sp.symbols("c p q t", real=True)

# power-of-sum-difference's tiny-ratio branch (symnet verify's point): f 0 for 1.19e−275 before
RULE_CASES = [
    ("power-of-sum-difference", ((_p - _t) ** 2 + _c ** 2) ** (_q / 2) - _c ** _q, (_c, _p, _q, _t), (0.5, 3.0),
     (5.045662633020102e161, 1.0, 0.3, -1.5), np.float64),
]


def _torch(torch, c, p, q, t):
    return ((p - t) ** 2 + c ** 2) ** (q / 2) - c ** q


def _huge(dtype, n=40):
    """c far out with (d/c)² subnormal or below (float64), q small enough that c^q stays in range."""
    rng = np.random.default_rng(52)
    t, q = rng.uniform(-2, 2, n), rng.uniform(0.2, 0.9, n)
    if dtype == np.float32:
        c, d = 10 ** rng.uniform(20, 38, n), 10 ** rng.uniform(-3, 1, n)
    else:
        c, d = 10 ** rng.uniform(150, 300, n), 10 ** rng.uniform(-2, 2, n)
    d = d * rng.choice([-1, 1], n)
    return [c.astype(dtype), (t + d).astype(dtype), q.astype(dtype), t.astype(dtype)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_charbonnier_subnormal_ratio(dtype):
    """f and its gradients where (d/c)² is subnormal or 0: f, ∂q 8.7e15 ULP at 26 of 40 points before (float64)."""
    measured = measure_formula(CHARB, "c p q t", _huge(dtype), dtype, torch_fn=_torch, digits=MP_DPS,
                               normal_only=True)
    for n, (worst, past, worse, _) in enumerate(measured):
        assert past == 0 and worse == 0, (n, measured)


def test_charbonnier_far_point_triton():
    """The far point in the Triton kernel (the interpreter on a CPU): f 2.43 ULP, ∂q 2.02."""
    from conftest import torch_and_triton
    torch, _ = torch_and_triton()
    from test_charb51 import _FAR, _far_truth
    out = compiled(CHARB, "triton")(**{n: torch.tensor(v, dtype=torch.float64) for n, v in _FAR.items()})
    f, dq = _far_truth()
    assert ulps(float(out[0][0]), f, "float64") <= 4
    assert ulps(float(out[3][0]), dq, "float64") <= 4


def _line(source, output):
    """The kernel's statement that stores ``output`` (its block's value)."""
    pattern = rf"^\s*({output}\[\.\.\.\] = |np\.multiply\(q, .*out={output}\))"
    return next(line for line in source.splitlines() if re.match(pattern, line))


@pytest.mark.parametrize("output", ["f", "df_dc", "df_dq"])
def test_written_branch_computed_where_taken(output):
    """The written branch is a widened call given the select's elements (``needed``) in a float32 kernel too, not the
    plain float64 body beside the expm1 branch on every element (float32 1.69× → 0.73× of 51eb894c's kernel)."""
    line = _line(compiled(CHARB).source, output)
    assert not re.search(r"if _dtype == np\.float64 else (?!2\.0\*\*-30\))", line), line  # (but ``within``'s)
    assert re.search(r"_dw_widened_\w+\(c, p, q, t, True, [^)]*~", line), line
    assert "within=(3.3306690738724404e-16 if _dtype == np.float64 else 2.0**-30)" in line


def test_tiny_branch_is_first_order_below_its_bound():
    """s·expm1(g·log1p(ρ)) = s·g·ρ·(1 + O(ρ) + O(g·ρ)) below ρ = 2⁻⁹⁶⁰, |g| < 2⁴⁰⁰: off by less than 2⁻⁵⁰⁰ there."""
    with mpmath.workdps(MP_DPS):
        rho = mpmath.mpf(2) ** -960
        for g in (mpmath.mpf(2) ** 400, mpmath.mpf("0.15"), mpmath.mpf(-3)):
            exact = mpmath.expm1(g * mpmath.log1p(rho))
            assert abs(exact / (g * rho) - 1) < mpmath.mpf(2) ** -500
            c = mpmath.mpf(10)
            dq = 2 * mpmath.expm1(g * mpmath.log1p(rho)) * mpmath.log(c) + mpmath.exp(g * mpmath.log1p(rho)) * \
                mpmath.log1p(rho)
            assert abs(dq / (rho * (2 * g * mpmath.log(c) + 1)) - 1) < mpmath.mpf(2) ** -500
