"""stt45 (issue 16, session 45, h-stt45): the Student-t NLL where s² and (x − m)² leave the range, after h-nbsub45.

Fixed here: the widened-log-sum rule's last branch (an input past 2^±B) is its sums widened in the scaled tier
(logs._far_widened_log_sums), where the float64 form cancelled (∂ν: worse than torch at one point of each band);
the scaled tier's log1p of a value past the range is log(1 + a) of its scaled double word (doubleword._Scaled), where
it was log1p of the unscaled value, inf (f at a tiny s: inf at every point). Truths: mpmath at 700 digits (log(1 + a)
at a = 5e−113 keeps 7 digits at 120)."""
from __future__ import annotations

import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from test_review44 import _worst
from test_user43 import STUDENT_T, _kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from nbsub45_probe import student_points  # noqa: E402

F64 = np.float64
NAMES = ["m", "nu", "s", "x"]


@pytest.mark.parametrize("point", [(-5.785377615932586e-142, 0.16882418526844561, 8.016374188356903e-142,
                                    -9.25085393828492e-141),
                                   (0.0, 0.20469845931677993, 5.09772007765279e+151, 1.1374818742734452e+153)])
def test_student_t_nu_at_the_worse_than_torch_points(point):
    """∂ν = log1p(a)/2 − (ν + 1)·a/(2ν(1 + a)), a = 700 at the first point (terms 3.28 and −3.46 for −0.185). Before
    (3e46d53d): 36.1 ULP (torch 20.1) and 7.7 (torch 0.25); after 0.067 and 0.25 (torch the same at the second)."""
    ours, theirs, past, worse = _worst(STUDENT_T, NAMES, [[p] for p in point], "nu", F64, digits=700)
    assert past == 0 and worse == 0, (ours, theirs)


@pytest.mark.parametrize("band", ["small", "large"])
def test_student_t_nu_no_worse_than_torch_where_the_squares_leave_the_range(band):
    """test_nbsub45's 300 points of each band (s, |x| = 10^U(∓200, ∓140)). Before (3e46d53d): worst 36.1 (small) and
    65.7 (large), worse than torch at 1 each; after 14.3 and 12.8, worse than torch at none (the 5 and 10 past the
    bound: test_nbsub45's strict xfail)."""
    cols = student_points(300, 4500, F64, band)
    ours, theirs, past, worse = _worst(STUDENT_T, NAMES, cols, "nu", F64, digits=700)
    assert worse == 0 and ours <= 16, (ours, theirs, past, worse)


def _tiny_s_points(n=300, seed=4545):
    rng = np.random.default_rng(seed)
    s = 10 ** rng.uniform(-320, -293, n)
    x = 10 ** rng.uniform(-3, 3, n) * rng.choice([-1.0, 1.0], n)
    m = rng.normal(0, 3, n) * (rng.uniform(size=n) < 0.5)
    nu = 10 ** rng.uniform(-1, 1.5, n)
    return [m, nu, s, x]


def test_student_t_f_at_a_tiny_s():
    """f = (ν + 1)/2·log(1 + (x − m)²/(ν·s²)) + log s at s = 10^U(−320, −293) (the scaled tier: a leaf below 2⁻⁹⁶⁸),
    x − m of order 1: (x − m)²/(ν·s²) passes 1.8e308. Before (3e46d53d): inf at all 300 points (torch inf); after
    0.50 ULP worst."""
    ours, theirs, past, worse = _worst(STUDENT_T, NAMES, _tiny_s_points(), None, F64, digits=700)
    assert past == 0 and worse == 0 and ours <= 1, (ours, theirs, past, worse)


def test_student_t_f_at_s_1e_minus_300():
    """f at m = 0, ν = 1, s = 1e−300, x = 1 is log(1 + 1e600) − 690.78 = 690.7755…: inf before (3e46d53d)."""
    out = _kernel(STUDENT_T)(m=np.array([0.0]), nu=np.array([1.0]), s=np.array([1e-300]), x=np.array([1.0]))[0]
    with mpmath.workdps(700):
        truth = float(mpmath.log(1 + mpmath.mpf(1e-300) ** -2) + mpmath.log(mpmath.mpf(1e-300)))
    assert abs(out[0] - truth) <= 2e-16 * truth, (out[0], truth)


@pytest.mark.parametrize("band", ["small", "large"])
def test_student_t_nu_in_float32_where_the_squares_leave_the_range(band):
    """Float32 (s, |x| = 10^U(−44, −20) or 10^U(20, 38)): 0.50 ULP at 3e46d53d; the far tier without in_float32 took
    the widened body's float64 text there (log(1 + a) losing a): 4.1e8, worse than torch at 7 (small); 0.50 again."""
    cols = student_points(300, 4501, np.float32, band)
    ours, theirs, past, worse = _worst(STUDENT_T, NAMES, cols, "nu", np.float32, digits=400)
    assert past == 0 and worse == 0, (ours, theirs, past, worse)
