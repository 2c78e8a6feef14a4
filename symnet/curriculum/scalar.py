"""Scalar blocks: sigmoid, sigmoid + MSE, computational graphs, parameter sharing, Jacobian."""
from __future__ import annotations

import sympy as sp

from ..derivation import Partial, Section
from ..engine import Program, derive
from ..functions import sigmoid
from . import claim, register, with_sections

R = dict(real=True)


@register("sigmoid", "σ(x) = 1/(1 + e⁻ˣ) and its derivative σ' = σ(1 − σ), from the quotient rule")
def sigmoid_block():
    x = sp.Symbol("x", **R)
    d = derive(1 / (1 + sp.exp(-x)), [x], output="σ", title="The logistic sigmoid and its derivative")
    s = sigmoid(x)
    steps = (
        claim(Partial(sp.Symbol("σ"), x), (sp.exp(-x) / (1 + sp.exp(-x)) ** 2,
              (1 / (1 + sp.exp(-x))) * (sp.exp(-x) / (1 + sp.exp(-x))), s * (1 - s)),
              d.gradients[x], "split the fraction; 1 − σ(x) = e⁻ˣ/(1 + e⁻ˣ)"),
        claim(sp.Symbol("σ(0)"), (s.subs(x, 0),), sp.Rational(1, 2), "e^0 = 1"),
        claim(sp.Symbol("σ'(0)"), (sp.Rational(1, 4),), d.gradients[x].subs(x, 0),
              "the steepest point of the sigmoid"),
    )
    return with_sections(d, after=[Section(
        "In terms of σ itself", steps,
        "The reciprocal rule {1/f}' = −f'/f² (the slide drops the minus sign, which the "
        "inner derivative −e⁻ˣ cancels) gives the familiar form σ' = σ(1 − σ).")])


@register("mse-sigmoid", "one sigmoid unit with squared error: ∂L/∂θ₁₀ = −2(y₁ − a)σ(z)(1 − σ(z))x₀")
def mse_sigmoid():
    x0, x1, x2, y = sp.symbols("x_0 x_1 x_2 y_1", **R)
    t10, t11, t12 = sp.symbols("theta_10 theta_11 theta_12", **R)
    z, a, e, L = sp.symbols("z a e L", **R)
    program = Program.from_assignments([
        (z, t10 * x0 + t11 * x1 + t12 * x2),
        (a, sigmoid(z)),
        (e, y - a),
        (L, e ** 2),
    ])
    point = {x0: 1, x1: sp.Rational(1, 2), x2: -1, y: 1,
             t10: sp.Rational(1, 10), t11: sp.Rational(-1, 5), t12: sp.Rational(3, 10)}
    d = derive(program, [t10, t11, t12], title="Sigmoid unit with squared-error loss", at=point)
    lecture = sp.Mul(-2, y - a, sigmoid(z), 1 - sigmoid(z), x0, evaluate=False)
    where = {a: sigmoid(z), z: t10 * x0 + t11 * x1 + t12 * x2}
    alpha = sp.Symbol("alpha", positive=True)
    steps = (
        claim(Partial(L, a), (sp.Mul(-2, y - a, evaluate=False),), sp.diff((y - a) ** 2, a),
              "power rule, inner −1"),
        claim(Partial(a, z), (sigmoid(z) * (1 - sigmoid(z)),), sp.diff(sigmoid(z), z), "sigmoid rule"),
        claim(Partial(z, t10), (x0,), sp.diff(where[z], t10), "linear in θ₁₀"),
        claim(Partial(L, t10), (lecture,), d.gradients[t10], "the three factors multiplied", where=where),
        claim(sp.Symbol("theta_10'"), (sp.Add(t10, sp.Mul(-1, alpha, lecture, evaluate=False), evaluate=False),), t10 - alpha * d.gradients[t10],
              "gradient-descent update θ := θ − α ∂L/∂θ", where=where),
    )
    text = ("With z = Σ_i θ_1i x_i (x₀ = 1 is the bias input), a = σ(z) and L = (y₁ − a)², "
            "the chain ∂L/∂θ₁₀ = ∂L/∂a · ∂a/∂z · ∂z/∂θ₁₀ as the lecture writes it.")
    return with_sections(d, after=[Section("The lecture's form", steps, text)])


@register("comp-graph", "e = (a + b)(b + 1) as a graph at a = 3, b = 2: values, ∂e/∂a = 3, ∂e/∂b = 8; forward vs reverse mode")
def comp_graph():
    a, b, c, d_, e = sp.symbols("a b c d e", **R)
    program = Program.from_assignments([(c, a + b), (d_, b + 1), (e, c * d_)])
    d = derive(program, [a, b], mode="both", at={a: 3, b: 2},
               title="A computational graph: e = (a + b)(b + 1)")
    text = ("∂e/∂b sums the two paths b → c → e and b → d → e: 1·d + 1·c = 3 + 5 = 8. "
            "(The slide's “∂e/∂a = 8” is a transcription slip: 8 is ∂e/∂b.)")
    return with_sections(d, after=[Section("Sum over paths", (), text)])


@register("param-sharing", "one parameter used twice: y = x·e^(x²), dy/dx = e^(x²) + x·e^(x²)·2x")
def param_sharing():
    x, u, v, y = sp.symbols("x u v y", **R)
    program = Program.from_assignments([(u, x ** 2), (v, sp.exp(u)), (y, x * v)])
    d = derive(program, [x], at={x: sp.Rational(1, 2)},
               title="Parameter sharing: y = x·e^(x²)")
    with sp.evaluate(False):
        lecture = sp.exp(x ** 2) + x * sp.exp(x ** 2) * (2 * x)
    steps = (claim(Partial(y, x, total=True), (lecture,), d.gradients[x],
                   "x reaches y directly and through u = x²: add both contributions"),)
    return with_sections(d, after=[Section("The lecture's form", steps)])


@register("jacobian", "the Jacobian of f(x) = [x₁ + x₂·x₃, 2·x₃] is [[1, x₃, x₂], [0, 0, 2]]")
def jacobian():
    x1, x2, x3 = sp.symbols("x1 x2 x3", **R)
    d = derive([x1 + x2 * x3, 2 * x3], [x1, x2, x3], title="A Jacobian: f(x) = [x₁ + x₂·x₃, 2·x₃]")
    expected = sp.Matrix([[1, x3, x2], [0, 0, 2]])
    steps = (claim(sp.Symbol("J"), (expected,), d.jacobian,
                   "one row per output, one column per input"),)
    return with_sections(d, after=[Section("Shape", steps,
                                           "∂f/∂x has (size of f) rows and (size of x) columns: 2 × 3 here.")])
