"""Property tests: random compositions of the supported functions, derived by the
engine, against central differences in mpmath."""
from __future__ import annotations

import mpmath
import sympy as sp
from hypothesis import given, settings, HealthCheck
from hypothesis import strategies as st

from symnet import derive, sigmoid
from conftest import assert_close, central_difference, mp_function

X, Y = sp.symbols("x y", real=True)
UNARY = [sp.exp, sp.sin, sp.cos, sp.tanh, sigmoid,
         lambda u: sp.log(1 + u ** 2), lambda u: sp.sqrt(1 + u ** 2), lambda u: u ** 2, lambda u: u ** 3]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / (2 + b ** 2)]

leaves = st.sampled_from([X, Y, sp.Integer(2), sp.Rational(1, 3)])


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children).map(lambda p: p[0](p[1])),
        st.tuples(st.sampled_from(BINARY), children, children).map(lambda p: p[0](p[1], p[2])),
    )


formulas = st.recursive(leaves, _extend, max_leaves=7).filter(lambda e: bool(e.free_symbols & {X, Y}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas, st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_engine_gradient_matches_finite_differences(f, px, py):
    wrt = sorted(f.free_symbols & {X, Y}, key=str)
    d = derive(f, wrt)  # every recorded step is checked while deriving
    variables = [X, Y]
    fn = mp_function(f, variables)
    point = [mpmath.mpf(px), mpmath.mpf(py)]
    with mpmath.workdps(40):
        for w in wrt:
            got = mp_function(d.gradients[w], variables)(*point)
            want = central_difference(fn, point, variables.index(w))
            assert_close(got, want, rel=1e-9, what=f"d/d{w} of {f}")
