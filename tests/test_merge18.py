"""Faults found by the clean-clone CI after session 18's merges, each a test that failed at aa594cf."""
from __future__ import annotations

import mpmath
import numpy as np

import symnet


def test_an_input_named_like_a_widened_functions_parameter():
    """h-misc18 gave the generated widened functions a parameter ``within`` (a float32 kernel's bound) and listed it
    among the names a temporary must not take, not among those a leaf must not take (leaf_identifiers): an input
    named ``within`` became a second parameter ``within`` (SyntaxError: duplicate argument). One set now."""
    kernel = symnet.compile(symnet.derive("0.5*(s + (p - within)**2*exp(-s))"), "numpy")
    p, s, w = np.array([0.0, 1.5], np.float32), np.array([-0.09940636, 0.3], np.float32), np.array([0.3, -2.0], np.float32)
    got = kernel(p=p, s=s, within=w)[0]
    for g, pv, sv, wv in zip(got, p, s, w):
        with mpmath.workdps(50):
            pv, sv, wv = (mpmath.mpf(float(v)) for v in (pv, sv, wv))
            true = (sv + (pv - wv) ** 2 * mpmath.exp(-sv)) / 2
        assert abs(float(g) - float(true)) <= 8 * np.spacing(np.float32(abs(float(true)))), (g, true)


def test_written_log_sum_exp_at_its_zero_keeps_an_exact_exp():
    """h-sm18's double-word block took e^x from a table (2⁻⁶⁶) for every output: log(e^a + e^b + e^c) at its
    crossing of zero (1.1e−13) was 3.9e7 ULP in float64 (NumPy), 5.1e9 in Triton. A block with a log keeps _dw_exp."""
    kernel = symnet.compile(symnet.derive("log(exp(a) + exp(b) + exp(c))"), "numpy")
    a, b, c = (np.array([v]) for v in (-0.7293292935613501, -1.02932929356135, -1.8293292935613503))
    got = float(kernel(a=a, b=b, c=c)[0][0])
    with mpmath.workdps(50):
        true = mpmath.log(sum(mpmath.exp(mpmath.mpf(float(v[0]))) for v in (a, b, c)))
    assert abs(got - float(true)) <= 4 * np.spacing(abs(float(true))), (got, true)
