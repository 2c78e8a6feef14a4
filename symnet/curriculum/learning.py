"""Learning from error: the km → miles model, the perceptron and XOR, gradient descent."""
from __future__ import annotations

import itertools

import sympy as sp

from ..derivation import Partial, Section, Step
from ..engine import derive
from ..stepcheck import check_equal
from . import claim, compose, numbers, register, signed, with_sections

R = dict(real=True)


@register("linear-miles", "learning c in miles = c·km from the error: guesses 0.5/0.6/0.7, ΔA = L·E/x")
def linear_miles():
    c, x, t, A, dA, L = sp.symbols("c x t A ΔA L", **R)
    km, truth = sp.Integer(100), sp.Rational("62.137")
    guesses = []
    rows = [("c", "model c·100 km", "error E = 62.137 − c·100")]
    for guess in (sp.Rational(1, 2), sp.Rational(6, 10), sp.Rational(7, 10)):
        y = guess * km
        with sp.evaluate(False):
            shown = sp.Add(truth, -y)
        guesses.append(numbers(sp.Symbol(f"E(c = {guess})"), shown, truth - y, "error = truth − model"))
        rows.append((str(float(guess)), str(float(y)), signed(float(truth - y))))
    E = sp.Symbol("E", **R)
    refine = (
        claim(E, ((A + dA) * x - A * x, dA * x), t - A * x, "target t = (A + ΔA)·x, model y = A·x",
              where={t: (A + dA) * x}),
        claim(dA, (E / x,), sp.solve(sp.Eq(E, dA * x), dA)[0], "solve E = ΔA·x for ΔA"),
        claim(sp.Symbol("ΔA_moderated"), (L * E / x,), L * sp.solve(sp.Eq(E, dA * x), dA)[0],
              "learning rate L: move only part of the way"),
    )
    # the same update is gradient descent on half the squared error
    d = derive((t - c * x) ** 2 / 2, [c], output="J", title="")
    gradient = (claim(Partial(sp.Symbol("J"), c), (-(t - c * x) * x,), d.gradients[c],
                      "J = ½(t − c·x)², so −∂J/∂c = E·x"),)
    # a few refinements of c from c = 0.5 on the single example, learning rate 1/2 on ΔA = E/x
    lr, value = sp.Rational(1, 2), sp.Rational(1, 2)
    run = []
    for step in range(1, 6):
        error = truth - value * km
        new = value + lr * error / km
        with sp.evaluate(False):
            shown = sp.Add(value, sp.Mul(lr, error / km))
        run.append(numbers(sp.Symbol(f"c_{step}"), shown, new, f"E = {float(error):.4f}"))
        value = new
    check_equal(sp.Abs(value - truth / km) < sp.Rational(1, 100), sp.true, "the run approaches 0.62137")
    sections = [
        Section("The model and its error", tuple(guesses),
                "Kilometres to miles with y = c·x and c unknown; 100 km is truly 62.137 miles.",
                table=tuple(rows)),
        Section("Refining a linear model", refine,
                "Adjust the parameter in proportion to the error: E = t − y."),
        Section("Why a learning rate", tuple(run),
                "Plain updates chase the last example only; moving a fraction L of the way limits "
                "the influence of any single (possibly noisy) example. From c = 0.5 with L = 1/2:"),
        Section("The same step as gradient descent", d.sections[0].steps + gradient + d.sections[-1].steps,
                "Half the squared error J of one example, as a computational graph:"),
    ]
    return compose("Learning from error: kilometres to miles", sections, inputs=(c, x, t), wrt=(c,),
                   outputs=(sp.Symbol("J"),), definitions=d.definitions, gradients=d.gradients,
                   jacobian=d.jacobian, local_partials=d.local_partials)


def _step(v):
    return 1 if v > 0 else 0


def _perceptron_learn(targets, epochs=25):
    """The perceptron rule from zero weights; returns the weights and whether 4/4 was reached."""
    w = [sp.Integer(0)] * 3
    for _ in range(epochs):
        errors = 0
        for (x1, x2), target in targets.items():
            out = _step(w[0] + w[1] * x1 + w[2] * x2)
            if out != target:
                errors += 1
                delta = target - out
                w = [w[0] + delta, w[1] + delta * x1, w[2] + delta * x2]
        if errors == 0:
            return w, True
    return w, False


@register("perceptron", "the hard-threshold perceptron learns AND and OR but not XOR; two layers solve XOR")
def perceptron():
    w0, w1, w2 = sp.symbols("w_0 w_1 w_2", **R)
    inputs = list(itertools.product((0, 1), repeat=2))
    gates = {"AND": {p: int(p[0] and p[1]) for p in inputs},
             "OR": {p: int(p[0] or p[1]) for p in inputs},
             "XOR": {p: p[0] ^ p[1] for p in inputs}}
    sections = []
    for name in ("AND", "OR"):
        weights, ok = _perceptron_learn(gates[name])
        if not ok:
            raise AssertionError(f"the perceptron rule failed to learn {name}")
        rows = [("x₁", "x₂", "w₀ + w₁·x₁ + w₂·x₂", "y", "target")]
        steps = []
        for (x1, x2) in inputs:
            s = weights[0] + weights[1] * x1 + weights[2] * x2
            rows.append((str(x1), str(x2), signed(s), str(_step(s)), str(gates[name][(x1, x2)])))
            assert _step(s) == gates[name][(x1, x2)]
        steps.append(Step(sp.Tuple(w0, w1, w2), (sp.Tuple(*weights),), "learned by the perceptron rule "
                          "w ← w + (target − y)·(1, x₁, x₂) from zero weights", "exact"))
        sections.append(Section(f"{name} is learnable", tuple(steps),
                                "y = 1 if w₀ + w₁·x₁ + w₂·x₂ > 0 else 0 (bias input 1).", table=tuple(rows)))
    # XOR: the four conditions cannot hold together
    s01, s10, s11 = w0 + w2, w0 + w1, w0 + w1 + w2
    with sp.evaluate(False):
        pair_sum = sp.Add(sp.Add(w0, w2), sp.Add(w0, w1))
        regroup = sp.Add(w0, sp.Add(w0, w1, w2))
    proof = (
        Step(w0, (sp.S.Zero,), "(0, 0) → 0", "definition", "≤"),
        Step(s11, (sp.S.Zero,), "(1, 1) → 0", "definition", "≤"),
        Step(s01, (sp.S.Zero,), "(0, 1) → 1", "definition", ">"),
        Step(s10, (sp.S.Zero,), "(1, 0) → 1", "definition", ">"),
        claim(pair_sum, (regroup,), pair_sum,
              "the left side is > 0 by the last two lines, the right side ≤ 0 by the first two: "
              "no weights satisfy all four"),
    )
    _, learned = _perceptron_learn(gates["XOR"], epochs=100)
    assert not learned
    sections.append(Section("XOR is not learnable by one perceptron", proof,
        "XOR is not linearly separable: no line puts (0,1), (1,0) on one side and (0,0), (1,1) on "
        "the other. The four rows of the truth table ask for these four inequalities. (The "
        "perceptron rule, run for 100 epochs on XOR, never reaches 4/4.)",
        table=(("x₁", "x₂", "XOR"),) + tuple((str(a), str(b), str(a ^ b)) for a, b in inputs)))
    # two layers: XOR = AND(OR, NAND)
    OR, NAND, AND = (-sp.Rational(1, 2), 1, 1), (sp.Rational(3, 2), -1, -1), (-sp.Rational(3, 2), 1, 1)
    rows = [("x₁", "x₂", "OR", "NAND", "AND(OR, NAND)", "XOR")]
    for x1, x2 in inputs:
        h1 = _step(OR[0] + OR[1] * x1 + OR[2] * x2)
        h2 = _step(NAND[0] + NAND[1] * x1 + NAND[2] * x2)
        out = _step(AND[0] + AND[1] * h1 + AND[2] * h2)
        assert out == x1 ^ x2
        rows.append((str(x1), str(x2), str(h1), str(h2), str(out), str(x1 ^ x2)))
    layer = (Step(sp.Symbol("OR"), (sp.Tuple(*OR),), "weights (w₀, w₁, w₂)", "exact"),
             Step(sp.Symbol("NAND"), (sp.Tuple(*NAND),), "weights (w₀, w₁, w₂)", "exact"),
             Step(sp.Symbol("AND"), (sp.Tuple(*AND),), "weights on (1, OR, NAND)", "exact"))
    sections.append(Section("Two layers solve XOR", layer,
                            "XOR = AND(OR(x₁, x₂), NAND(x₁, x₂)): a multi-layer perceptron. A "
                            "“2-layer network” is a 1-hidden-layer network.", table=tuple(rows)))
    return compose("The perceptron and the XOR problem", sections, inputs=(w0, w1, w2))


@register("gradient-descent", "θ := θ − α ∂J/∂θ: a worked descent, its contraction factor, and the mini-batch loop")
def gradient_descent():
    theta, alpha = sp.symbols("theta alpha", **R)
    J = sp.Symbol("J")
    d = derive((theta - 3) ** 2, [theta], output=J, title="Gradient descent")
    update = theta - alpha * d.gradients[theta]
    steps = (
        claim(sp.Symbol("theta_new"), (theta - alpha * Partial(J, theta) ,), update,
              "move against the gradient", where={Partial(J, theta): d.gradients[theta]}),
        claim(sp.Symbol("theta_new") - 3, ((1 - 2 * alpha) * (theta - 3),), update - 3,
              "the distance to the minimum θ = 3 shrinks by |1 − 2α| each step",
              where={sp.Symbol("theta_new"): update}),
    )
    run, value, lr = [], sp.Integer(0), sp.Rational(1, 10)
    for k in range(1, 6):
        slope = 2 * (value - 3)
        new = value - lr * slope
        with sp.evaluate(False):
            shown = sp.Add(value, sp.Mul(lr, -slope))
        run.append(numbers(sp.Symbol(f"theta_{k}"), shown, new, f"α = 1/10, ∂J/∂θ = {signed(slope)}"))
        value = new
    # a mini-batch gradient is the mean of the per-example gradients
    w = sp.Symbol("w", **R)
    xs, ys = sp.symbols("x_1:4", **R), sp.symbols("y_1:4", **R)
    batch = sum((y - w * x) ** 2 for x, y in zip(xs, ys)) / 3
    per_example = [derive((y - w * x) ** 2, [w]).gradients[w] for x, y in zip(xs, ys)]
    J_batch = sp.Symbol("J_batch")
    mean = claim(Partial(J_batch, w), (sp.Add(*per_example) / 3,), sp.diff(batch, w),
                 "the derivative of a mean is the mean of the derivatives")
    sections = [
        Section("The update rule", steps, "For every parameter: θ := θ − α ∂J/∂θ."),
        Section("Five steps on J(θ) = (θ − 3)² from θ = 0", tuple(run)),
        Section("Mini-batch gradient descent", (Step(J_batch, (batch,), "definition"), mean),
                "The training loop in four steps: (1) draw a random mini-batch; (2) compute the "
                "gradient of the mini-batch loss; (3) move the weights a little against the "
                "gradient; (4) repeat. A mini-batch of three examples (x₁, y₁), (x₂, y₂), "
                "(x₃, y₃) and one weight w, with its mean squared error J_batch:"),
    ]
    return with_sections(d, after=sections, title="Gradient descent")
