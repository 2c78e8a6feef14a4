"""Session 35's review findings mended by the lead, each at the reviewer's point and around it.

- The hypot rule's scaled sum of squares (h-xfail35) bounded max |r·v| but not w·(r·v)²: √(x² + 1e308·y²) at
  (1e−40, 1.5e−40) was inf for 1.5e114 (∂x 0 for 6.7e−155, ∂y 0 for 1e154; right before the session). A weight
  outside [2⁻⁶⁴, 2⁶⁴] now leaves the sum as written (accurate where its squares are normal numbers, as before the
  session); within it, the scaled form's accuracy is h-xfail35's over the whole range.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import symnet
from conftest import ulps

F64 = np.float64


def _truths(w, x, y):
    with mpmath.workdps(60):
        w, x, y = (mpmath.mpf(float(v)) for v in (w, x, y))
        f = mpmath.sqrt(x ** 2 + w * y ** 2)
        return f, x / f, w * y / f


@pytest.mark.parametrize("w", ["1e308", "1e-300", "3", "2**70"])
def test_a_weighted_sum_of_squares_keeps_its_range(w):
    k = symnet.compile(symnet.derive(f"sqrt(x**2 + {w}*y**2)"))
    wv = float(eval(w, {}))  # the test's own constant, not user input
    rng = np.random.default_rng(35)
    x = np.concatenate([[1e-40], 10.0 ** rng.uniform(-150, 150, 60) * rng.choice([-1, 1], 60)])
    y = np.concatenate([[1.5e-40], x[1:] * 10.0 ** rng.uniform(-3, 3, 60)])
    out = dict(zip(k.outputs, k(x=x, y=y)))
    bad = []
    for i in range(len(x)):
        truths = _truths(wv, x[i], y[i])
        if not all(abs(t) < 1.7e308 for t in truths):
            continue  # the true value overflows: not this test's
        if not 2.0 ** -64 <= wv <= 2.0 ** 64 and not all(
                2.3e-308 < abs(float(v)) < 1.7e308 for v in (mpmath.mpf(x[i]) ** 2, wv * mpmath.mpf(y[i]) ** 2)):
            continue  # a weight outside [2⁻⁶⁴, 2⁶⁴]: as written (the squares' own range), as before session 35
        for name, t in zip(("f", "df_dx", "df_dy"), truths):
            e = ulps(out[name][i], t, F64)
            if e > 4:
                bad.append((name, x[i], y[i], out[name][i], float(t), e))
    assert not bad, bad[:5]
