"""Session 15, style (h-style15): symnet's function nodes share one base class
(:class:`symnet.functions.SymnetFunction`), and three printout faults fixed.

Each test here failed before its fix (said at the test)."""
from __future__ import annotations

import mpmath
import sympy as sp

from symnet.functions import relu, sigmoid

x, y = sp.symbols("x y", real=True)


def test_code_printers_bracket_sigmoid_and_relu_under_a_power():
    # failed before: x**σ(y) printed x**1/(1 + exp(-y)), which Python reads as (x**1)/(1 + e^−y):
    # lambdify gave 1.0 at x = 2, y = 0, where 2**σ(0) = √2
    for module in ("mpmath", "math", "numpy"):
        f = sp.lambdify((x, y), x ** sigmoid(y), module)
        assert abs(float(f(2.0, 0.0)) - float(mpmath.sqrt(2))) < 1e-15, module
    assert sp.lambdify((x, y), 2 ** relu(y) * x, "math")(3.0, 1.5) == 3.0 * 2 ** 1.5
