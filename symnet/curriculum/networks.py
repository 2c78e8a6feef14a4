"""Layers and networks: dense-layer gradients, the backprop recurrences, vanishing gradients."""
from __future__ import annotations

import sympy as sp

from ..derivation import Name, Partial, Section, Step
from ..engine import Program, derive
from ..functions import relu, sigmoid
from ..indexed import derive_indexed, unroll, unrolled_gradient
from ..render import shown as _shown
from ..stepcheck import check_equal
from . import claim, compose, forward_section, register

R = dict(real=True)
C = sp.Symbol("C")


def _sigma_prime(u):
    return sigmoid(u) * (1 - sigmoid(u))


@register("dense", "a dense sigmoid layer entry by entry: ∂z_i/∂W_jk = [i = j]·a_k, so ∂C/∂W = δ aᵀ, ∂C/∂a = Wᵀδ")
def dense():
    n, m = sp.symbols("n m", integer=True, positive=True)
    i, j, k = sp.symbols("i j k", integer=True)
    W, a, b = sp.IndexedBase("W"), sp.IndexedBase("a"), sp.IndexedBase("b")
    z, y, g = sp.IndexedBase("z"), sp.IndexedBase("y"), sp.IndexedBase("g")
    delta = sp.IndexedBase(Name("delta", r"\delta", "δ"))
    ranges = {i: (0, n - 1), j: (0, n - 1), k: (0, m - 1)}
    sizes = {n: 2, m: 3}
    program = [(z[i], sp.Sum(W[i, k] * a[k], (k, 0, m - 1)) + b[i]), (y[i], sigmoid(z[i]))]
    res = derive_indexed(program, ranges=ranges, seed=(y[i], g[i]), wrt=[W[j, k], b[j], a[k]],
                         sizes=sizes, names={z: delta}, probes={z: (j,)}, cost=C, iverson=True)
    # the matrix form, checked on a written-out layer: C = gᵀσ(W a + b) has ∂C/∂y = g
    Wm = sp.Matrix(2, 3, lambda r_, c_: sp.Symbol(f"W_{r_}{c_}", real=True))
    am, bm, gm = (sp.Matrix(sp.symbols(f"{s}_0:{d}", real=True)) for s, d in (("a", 3), ("b", 2), ("g", 2)))
    zm = Wm * am + bm
    cost = sum(gm[r_] * sigmoid(zm[r_]) for r_ in range(2))
    dm = sp.Matrix([gm[r_] * _sigma_prime(zm[r_]) for r_ in range(2)])
    Dsym, Asym, Wsym = sp.MatrixSymbol("δ", n, 1), sp.MatrixSymbol("a", m, 1), sp.MatrixSymbol("W", n, m)
    grad_W = sp.Matrix(2, 3, lambda r_, c_: sp.diff(cost, Wm[r_, c_]))
    grad_b = sp.Matrix([sp.diff(cost, bm[r_]) for r_ in range(2)])
    grad_a = sp.Matrix([sp.diff(cost, am[c_]) for c_ in range(3)])
    concrete = {Dsym: sp.ImmutableMatrix(dm), Asym: sp.ImmutableMatrix(am), Wsym: sp.ImmutableMatrix(Wm)}
    matrix = (
        _matrix_claim(sp.Symbol("∂C/∂W"), Dsym * Asym.T, dm * am.T, grad_W, "outer product: entry (j, k) is δ_j a_k", concrete),
        _matrix_claim(sp.Symbol("∂C/∂b"), Dsym, dm, grad_b, "the bias gradient is the error signal", concrete),
        _matrix_claim(sp.Symbol("∂C/∂a"), Wsym.T * Dsym, Wm.T * dm, grad_a, "what flows to the layer below", concrete),
    )
    sections = [forward_section(program, "The layer entry by entry, feeding a cost C; g_i = ∂C/∂y_i "
                                "is the gradient arriving from above, and δ_j = ∂C/∂z_j is the error "
                                "signal (the lecture's δˡ).")] + list(res.sections) + [Section(
        "Matrix form", matrix,
        "Read off the index results: with δ = σ'(z) ∘ g, ∂C/∂W = δ aᵀ, ∂C/∂b = δ, ∂C/∂a = Wᵀδ. "
        "Checked against SymPy's diff of a written-out 2 × 3 layer with C = gᵀσ(W a + b).")]
    return compose("A dense sigmoid layer: y = σ(W a + b)", sections, inputs=(W, a, b), wrt=(W[j, k], b[j], a[k]),
                   outputs=(y,), definitions=tuple(program), gradients=res.gradients,
                   local_partials={key: v[2] for key, v in res.local_partials.items()})


def _matrix_claim(lhs, shown, concrete, reference, why, instance) -> Step:
    """``lhs = shown`` in matrix notation, checked on a written-out instance: ``given``
    holds that instance (the matrices, and ``lhs`` as SymPy's diff of the cost)."""
    how = "exact"
    for got, want in zip(concrete, reference):
        how = check_equal(got, want, f"matrix form of {lhs}") if how == "exact" else how
    given = tuple(instance.items()) + ((lhs, sp.ImmutableMatrix(reference)),)
    return Step(lhs, (shown,), why, "symbolic" if how == "exact" else how, given=given)


@register("backprop", "the δᴸ, δˡ recurrences of an L-layer sigmoid network, and why they equal the Jacobian chain")
def backprop():
    L = 3
    sizes_sym = sp.symbols(f"n_0:{L + 1}", integer=True, positive=True)
    a = [sp.IndexedBase(Name(f"a{l}", f"a^{{({l})}}", f"a⁽{l}⁾")) for l in range(L + 1)]
    z = [None] + [sp.IndexedBase(Name(f"z{l}", f"z^{{({l})}}", f"z⁽{l}⁾")) for l in range(1, L + 1)]
    W = [None] + [sp.IndexedBase(Name(f"W{l}", f"W^{{({l})}}", f"W⁽{l}⁾")) for l in range(1, L + 1)]
    b = [None] + [sp.IndexedBase(Name(f"b{l}", f"b^{{({l})}}", f"b⁽{l}⁾")) for l in range(1, L + 1)]
    delta = [None] + [sp.IndexedBase(Name(f"delta{l}", fr"\delta^{{({l})}}", f"δ⁽{l}⁾")) for l in range(1, L + 1)]
    g = sp.IndexedBase(Name("g", r"\nabla_{y} C", "∇C"))
    # each layer's entries get their own index objects (layers differ in size)
    rows = [sp.Dummy("i", integer=True) for _ in range(L + 1)]
    probe = [sp.Dummy("j", integer=True) for _ in range(L + 1)]
    cols = [sp.Dummy("k", integer=True) for _ in range(L + 1)]
    ranges = {}
    for l in range(L + 1):
        for idx in (rows[l], probe[l]):
            ranges[idx] = (0, sizes_sym[l] - 1)
        ranges[cols[l]] = (0, sizes_sym[l] - 1)
    program = []
    for l in range(1, L + 1):
        i, k = rows[l], cols[l - 1]
        program.append((z[l][i], sp.Sum(W[l][i, k] * a[l - 1][k], (k, 0, sizes_sym[l - 1] - 1)) + b[l][i]))
        program.append((a[l][i], sigmoid(z[l][i])))
    wrt = []
    for l in range(1, L + 1):
        wrt += [W[l][probe[l], cols[l - 1]], b[l][probe[l]]]
    probes = {z[l]: (probe[l],) for l in range(1, L + 1)}
    probes.update({a[l]: (probe[l],) for l in range(1, L)})
    small = {s: 2 for s in sizes_sym}
    res = derive_indexed(program, ranges=ranges, seed=(a[L][rows[L]], g[rows[L]]), wrt=wrt, sizes=small,
                         names={z[l]: delta[l] for l in range(1, L + 1)}, probes=probes, cost=C,
                         iverson=True)

    # the recurrences, read off and checked against the engine's results
    j = probe
    recurrences = [claim(delta[L][j[L]], (_sigma_prime(z[L][j[L]]) * g[j[L]],),
                         res.adjoints[z[L]][1].xreplace({res.adjoints[z[L]][0][0]: j[L]}),
                         "δᴸ = σ'(zᴸ) ∘ ∇_y C")]
    for l in range(L - 1, 0, -1):
        i = rows[l + 1]
        expected = _sigma_prime(z[l][j[l]]) * sp.Sum(W[l + 1][i, j[l]] * delta[l + 1][i], (i, 0, sizes_sym[l + 1] - 1))
        got = res.adjoints[z[l]][1].xreplace({res.adjoints[z[l]][0][0]: j[l]})
        recurrences.append(_entrywise(delta[l][j[l]], expected, got, {j[l]: ranges[j[l]]}, small, ranges,
                                      f"δ⁽{l}⁾ = σ'(z⁽{l}⁾) ∘ (W⁽{l + 1}⁾)ᵀ δ⁽{l + 1}⁾"))
    for l in range(1, L + 1):
        key = W[l][probe[l], cols[l - 1]]
        recurrences.append(claim(Partial(C, key), (delta[l][probe[l]] * a[l - 1][cols[l - 1]],), res.gradients[key],
                                 f"∂C/∂W⁽{l}⁾ = δ⁽{l}⁾ (a⁽{l - 1}⁾)ᵀ"))

    # every gradient, written out for a 2-2-2-2 network, against SymPy's diff of the whole cost
    forward = unroll(program, ranges, small)
    cost = sum(g[q] * forward[a[L][q]] for q in range(2))
    end_to_end = []
    for l in range(1, L + 1):
        entry = W[l][1, 0]
        formula = unrolled_gradient(res, W[l][probe[l], cols[l - 1]].func(W[l], 1, 0), forward, ranges, small,
                                    {z[q]: delta[q] for q in range(1, L + 1)}, {})
        how = check_equal(formula, sp.diff(cost, entry), f"∂C/∂{entry}")
        at_entry = res.gradients[W[l][probe[l], cols[l - 1]]].xreplace({probe[l]: 1, cols[l - 1]: 0})
        end_to_end.append(Step(Partial(C, entry), (at_entry,),
                               "with every δ written out, equals SymPy's diff of the whole cost", how))
    sections = [forward_section(program, "Layer by layer from the input a⁽0⁾, feeding a cost C; "
                                "∇C_i = ∂C/∂a⁽3⁾_i is the gradient arriving from above.")] + list(res.sections) + [
        Section("The recurrences", tuple(recurrences),
                "For any depth L: δᴸ = σ'(zᴸ) ∘ ∇_y C; δˡ = σ'(zˡ) ∘ (W⁽ˡ⁺¹⁾)ᵀ δ⁽ˡ⁺¹⁾; "
                "∂C/∂Wˡ = δˡ (a⁽ˡ⁻¹⁾)ᵀ; ∂C/∂bˡ = δˡ (here L = 3 and ∇_y C = ∇C)."),
        Section("Checked on a written-out network", tuple(end_to_end),
                "A 2-2-2-2 network with C = Σ_i ∇C_i·a⁽3⁾_i (so ∂C/∂a⁽3⁾ = ∇C): each recurrence "
                "result, with every δ written out, equals the derivative of the whole cost."),
        _jacobian_chain_section(),
    ]
    return compose(f"Backpropagation through a {L}-layer sigmoid network", sections,
                   inputs=tuple(a[:1]) + tuple(W[1:]) + tuple(b[1:]), wrt=tuple(wrt), outputs=(C,),
                   definitions=tuple(program), gradients=res.gradients,
                   local_partials={key: v[2] for key, v in res.local_partials.items()})


def _entrywise(lhs, expected, got, free, sizes, ranges, why) -> Step:
    from ..indexed import _check_indexed
    how = _check_indexed(expected, got, list(free), ranges, sizes)
    return Step(lhs, (expected,), why, how)


def _jacobian_chain_section() -> Section:
    """The lecture's two-layer net: the Jacobian chain equals the backprop result."""
    x = sp.Matrix(sp.symbols("x_0:2", real=True))
    W1 = sp.Matrix(2, 2, lambda r, c: sp.Symbol(f"W1_{r}{c}", real=True))
    W2 = sp.Matrix(2, 2, lambda r, c: sp.Symbol(f"W2_{r}{c}", real=True))
    b1, b2 = sp.Matrix(sp.symbols("b1_0:2", real=True)), sp.Matrix(sp.symbols("b2_0:2", real=True))
    g = sp.Matrix(sp.symbols("g_0:2", real=True))
    z1 = W1 * x + b1
    a1 = z1.applyfunc(sigmoid)
    z2 = W2 * a1 + b2
    d1s = sp.diag(*[_sigma_prime(v) for v in z1])
    d2s = sp.diag(*[_sigma_prime(v) for v in z2])
    # ∂z¹/∂vec(W¹): 2 × 4, entry (i, 2j + k) = δ_ij x_k — the Jacobian backprop never builds
    dz1_dW1 = sp.Matrix(2, 4, lambda i, col: x[col % 2] if col // 2 == i else 0)
    chain = g.T * d2s * W2 * d1s * dz1_dW1  # 1×2 · 2×2 · 2×2 · 2×2 · 2×4
    delta2 = d2s * g
    delta1 = d1s * W2.T * delta2
    backprop_ = (delta1 * x.T).reshape(1, 4)
    how = "exact"
    for u, v in zip(chain, backprop_):
        res = check_equal(u, v, "Jacobian chain against backprop")
        how = res if res != "exact" else how
    shown = sp.Symbol("∂C/∂y · ∂y/∂z² · W² · ∂a¹/∂z¹ · ∂z¹/∂W¹")
    result = sp.Symbol("δ¹ xᵀ (backprop)")
    lhs = sp.Symbol("∂C/∂W¹ (Jacobian chain)")
    given = ((lhs, sp.ImmutableMatrix(chain)), (shown, sp.ImmutableMatrix(chain)),
             (result, sp.ImmutableMatrix(backprop_)))
    steps = (Step(lhs, (shown, result), "entry by entry on a 2-2-2 network: identical",
                  "symbolic" if how == "exact" else how, given=given),)
    return Section("Backprop equals the Jacobian chain", steps,
                   "The lecture asks whether backpropagation and the computational-graph (Jacobian "
                   "chain) approach agree. They do: multiplying the chain of Jacobians of shapes "
                   "(1×2)(2×2)(2×2)(2×2)(2×4) gives exactly δ¹xᵀ. Backprop gets there with vector "
                   "products only, never forming the (n × n·m) Jacobian ∂z¹/∂W¹.")


@register("vanishing-gradient", "σ' ≤ 1/4, so a product of many sigmoid layers shrinks like 4⁻ᴸ; ReLU's derivative is 1 where active")
def vanishing_gradient():
    zz = sp.Symbol("z", real=True)
    bound = (
        claim(sp.Symbol("σ'(z)"), (sigmoid(zz) * (1 - sigmoid(zz)), sp.Rational(1, 4) - (sigmoid(zz) - sp.Rational(1, 2)) ** 2),
              sp.diff(sigmoid(zz).rewrite(sp.exp), zz), "complete the square in σ(z)"),
        Step(sp.Rational(1, 4) - (sigmoid(zz) - sp.Rational(1, 2)) ** 2, (sp.Rational(1, 4),),
             "a square is ≥ 0; equality only at σ(z) = 1/2, i.e. z = 0", "symbolic", "≤"),
    )
    depth = 4
    x = sp.Symbol("x", real=True)
    ws = sp.symbols(f"w_1:{depth + 1}", real=True)
    acts = sp.symbols(f"a_1:{depth + 1}", real=True)
    zs = sp.symbols(f"z_1:{depth + 1}", real=True)
    assignments = _unit_chain(x, ws, zs, acts, sigmoid)
    d = derive(Program.from_assignments(assignments), [x], title="Vanishing gradients")
    product = sp.Mul(*[w * _sigma_prime(zl) for w, zl in zip(ws, zs)])
    chain = claim(Partial(acts[-1], x, total=True), (product,), d.gradients[x],
                  "one factor w_l σ'(z_l) per layer", where=dict(assignments[::-1]))
    shrink = Step(sp.Symbol(f"|d{_shown(acts[-1])}/dx|"), (sp.Mul(*[sp.Abs(w) for w in ws]) / 4 ** depth,),
                  "each σ' ≤ 1/4", "symbolic", "≤")
    table = [("layers L", "bound 4⁻ᴸ with |w| ≤ 1")]
    for layers in (1, 2, 5, 10, 20):
        table.append((str(layers), f"{float(sp.Rational(1, 4 ** layers)):.3g}"))
    # the same chain with ReLU units (own names: v_l = w_l r_(l−1), r_l = relu(v_l))
    vs = sp.symbols(f"v_1:{depth + 1}", real=True)
    rs = sp.symbols(f"r_1:{depth + 1}", real=True)
    relu_assign = _unit_chain(x, ws, vs, rs, relu)
    dr = derive(Program.from_assignments(relu_assign), [x])
    steps_ = sp.Mul(*[sp.Heaviside(vl) for vl in vs])
    active = {sp.Heaviside(vl): sp.S.One for vl in vs}
    relu_chain = dr.sections[0].steps + (
        claim(Partial(rs[-1], x, total=True), (sp.Mul(*ws) * steps_,), dr.gradients[x],
              "relu'(v) = H(v), the unit step", where=dict(relu_assign[::-1])),
        claim(Partial(rs[-1], x, total=True), (sp.Mul(*ws),), dr.gradients[x].xreplace(active),
              "where every unit is active (v_l > 0), each H(v_l) = 1",
              where={**active, **dict(relu_assign[::-1])}),
    )
    sections = [
        Section("σ' is at most 1/4", bound),
        Section(f"A chain of {depth} sigmoid layers", d.sections[0].steps + (chain, shrink),
                "a_l = σ(w_l a_(l−1)), one unit per layer: backprop multiplies one σ' per layer.",
                table=tuple(table)),
        Section("ReLU", relu_chain,
                "relu'(z) = 1 for z > 0: the activation no longer shrinks the product (the weights "
                "alone set its size). This, unsupervised pre-training, GPUs and dropout are what "
                "made deep networks trainable."),
    ]
    return compose("Vanishing gradients", sections, inputs=d.inputs, wrt=d.wrt, outputs=d.outputs,
                   definitions=d.definitions, gradients=d.gradients, jacobian=d.jacobian,
                   local_partials=d.local_partials)


def _unit_chain(x, weights, pre, post, activation) -> list:
    """One unit per layer: pre_l = w_l · post_(l−1), post_l = activation(pre_l)."""
    assignments, prev = [], x
    for w, p, q in zip(weights, pre, post):
        assignments += [(p, w * prev), (q, activation(p))]
        prev = q
    return assignments
