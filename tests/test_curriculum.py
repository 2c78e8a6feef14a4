"""Every named derivation against independent references: the lecture's numbers,
finite differences in mpmath, and NumPy forward passes written out by hand."""
from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.functions import sigmoid
from conftest import assert_close, central_difference, mp_function, random_point

REQUIRED = ["linear-miles", "perceptron", "sigmoid", "mse-sigmoid", "gradient-descent", "comp-graph",
            "param-sharing", "jacobian", "cross-entropy", "softmax", "softmax-cross-entropy", "dense",
            "backprop", "rnn-bptt", "vanishing-gradient"]


def test_every_curriculum_item_is_named_and_described():
    names = symnet.catalog()
    for name in REQUIRED:
        assert name in names, name
        assert names[name] and len(names[name].splitlines()) == 1


def _sym(d, name):
    found = {str(s): s for s in d.inputs}
    return found[name]


def test_comp_graph_matches_the_lecture_numbers(curriculum):
    d = curriculum["comp-graph"]
    a, b = _sym(d, "a"), _sym(d, "b")
    forward = {str(s.lhs): s.value for s in d.sections[0].steps}
    assert forward == {"c": 5, "d": 3, "e": 15}
    grads = d.gradient_at({a: 3, b: 2})
    assert grads[a] == 3 and grads[b] == 8
    # both modes are shown, and they agree
    titles = [s.title for s in d.sections]
    assert any("reverse" in t for t in titles) and any("Forward mode" in t for t in titles)


def test_param_sharing_sums_both_occurrences(curriculum):
    d = curriculum["param-sharing"]
    x = _sym(d, "x")
    expected = sp.exp(x ** 2) + x * sp.exp(x ** 2) * 2 * x  # the lecture's formula
    assert sp.simplify(d.gradients[x] - expected) == 0
    f = mp_function(x * sp.exp(x ** 2), [x])
    for p in (-1.3, 0.2, 0.9):
        assert_close(d.gradients[x].subs(x, p).evalf(30), central_difference(f, [mpmath.mpf(p)], 0))


def test_jacobian_is_the_lecture_matrix(curriculum):
    d = curriculum["jacobian"]
    x1, x2, x3 = (_sym(d, n) for n in ("x1", "x2", "x3"))
    assert d.jacobian == sp.Matrix([[1, x3, x2], [0, 0, 2]])


def test_mse_sigmoid_ends_at_the_lecture_formula(curriculum):
    d = curriculum["mse-sigmoid"]
    s = {str(v): v for v in d.inputs}
    x0, x1, x2, y = s["x_0"], s["x_1"], s["x_2"], s["y_1"]
    t10, t11, t12 = s["theta_10"], s["theta_11"], s["theta_12"]
    z = t10 * x0 + t11 * x1 + t12 * x2
    a = sigmoid(z)
    lecture = -2 * (y - a) * sigmoid(z) * (1 - sigmoid(z)) * x0
    assert sp.simplify(explicit_diff(d.gradients[t10] - lecture)) == 0
    variables = [x0, x1, x2, y, t10, t11, t12]
    loss = mp_function((y - a) ** 2, variables)
    point = random_point(variables, seed=3)
    for theta in (t10, t11, t12):
        k = variables.index(theta)
        got = mp_function(d.gradients[theta], variables)(*point)
        assert_close(got, central_difference(loss, point, k), what=str(theta))
    # the printout's last section states the lecture's form
    assert "−2·(y₁ − a)·σ(z)·(1 − σ(z))·x₀" in str(d)


def explicit_diff(e):
    from symnet.functions import explicit
    return explicit(e)


def test_sigmoid_derivative(curriculum):
    d = curriculum["sigmoid"]
    x = d.wrt[0]
    f = lambda v: 1 / (1 + mpmath.exp(-v))  # noqa: E731
    for p in (-30, -2.5, 0, 0.7, 12):
        with mpmath.workdps(40):
            want = mpmath.diff(f, mpmath.mpf(p))
        assert_close(d.gradients[x].subs(x, p).evalf(40), want, rel=1e-14)
    assert "σ(x)·(1 − σ(x))" in str(d)


def test_cross_entropy_gradient(curriculum):
    d = curriculum["cross-entropy"]
    ys = sorted((v for v in d.inputs if str(v).startswith("y")), key=str)
    ts = sorted((v for v in d.inputs if str(v).startswith("t")), key=str)
    onehot = {ts[0]: 0, ts[1]: 1, ts[2]: 0}
    grads = [d.gradients[y].xreplace(onehot) for y in ys]
    assert grads == [0, -1 / ys[1], 0]


def _softmax_np(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_softmax_jacobian_against_finite_differences(curriculum):
    d = curriculum["softmax"]
    zs = list(d.wrt)
    point = [0.3, -1.1, 0.8]
    J = d.jacobian.xreplace(dict(zip(zs, point))).evalf(30)
    y = _softmax_np(np.array(point))
    for i, j in itertools.product(range(3), range(3)):
        f = lambda *v, i=i: mpmath.exp(v[i]) / sum(mpmath.exp(u) for u in v)  # noqa: E731
        want = central_difference(f, [mpmath.mpf(p) for p in point], j)
        assert_close(J[i, j], want, what=f"J[{i},{j}]")
        assert_close(J[i, j], y[i] * ((i == j) - y[j]), rel=1e-12)
    assert J[0, 1] != 0  # not diagonal


def test_softmax_cross_entropy_collapses_to_y_minus_onehot(curriculum):
    d = curriculum["softmax-cross-entropy"]
    (key, value), = d.gradients.items()
    j = key.indices[0]
    r = next(s for s in value.free_symbols if str(s) == "r")
    y = next(x.base for x in value.atoms(sp.Indexed))
    z = np.array([0.5, -0.25, 1.5, 0.1])
    p = _softmax_np(z)
    for correct in range(4):
        cost = lambda *v, c=correct: -mpmath.log(mpmath.exp(v[c]) / sum(mpmath.exp(u) for u in v))  # noqa: E731
        for jj in range(4):
            got = value.xreplace({j: jj, r: correct}).xreplace({y[jj]: p[jj]})
            want = central_difference(cost, [mpmath.mpf(v) for v in z], jj)
            assert_close(got, want, rel=1e-10)


def _indexed_gradient(d, base_name):
    return next((k, v) for k, v in d.gradients.items() if str(k.base) == base_name)


def test_dense_layer_gradients_against_numpy_finite_differences(curriculum):
    d = curriculum["dense"]
    rng = np.random.default_rng(0)
    n, m = 3, 4
    W, a, b, g = rng.normal(size=(n, m)), rng.normal(size=m), rng.normal(size=n), rng.normal(size=n)

    def cost(W, a, b):  # C = gᵀσ(Wa + b), so ∂C/∂y = g: the derivation's seed
        return g @ (1 / (1 + np.exp(-(W @ a + b))))

    z = W @ a + b
    delta = g * (1 / (1 + np.exp(-z))) * (1 - 1 / (1 + np.exp(-z)))
    kW, vW = _indexed_gradient(d, "W")
    names = {str(x.base): x.base for v in d.gradients.values() for x in v.atoms(sp.Indexed)}
    names.update({str(k.base): k.base for k in d.gradients})
    eps = 1e-6
    for jj, kk in [(0, 0), (2, 3), (1, 2)]:
        formula = vW.xreplace({kW.indices[0]: jj, kW.indices[1]: kk})
        got = float(formula.xreplace({names["a"][kk]: a[kk], names["delta"][jj]: delta[jj]}))
        Wp, Wm = W.copy(), W.copy()
        Wp[jj, kk] += eps
        Wm[jj, kk] -= eps
        assert got == pytest.approx((cost(Wp, a, b) - cost(Wm, a, b)) / (2 * eps), rel=1e-6)
    ka, va = _indexed_gradient(d, "a")  # ∂C/∂a_k = Σ_i δ_i W_ik
    for kk in range(m):
        formula = va.xreplace({ka.indices[0]: kk}).subs(sp.Symbol("n", integer=True, positive=True), n).doit()
        vals = {names["delta"][i]: delta[i] for i in range(n)}
        vals.update({names["W"][i, kk]: W[i, kk] for i in range(n)})
        ap, am = a.copy(), a.copy()
        ap[kk] += eps
        am[kk] -= eps
        assert float(formula.xreplace(vals)) == pytest.approx((cost(W, ap, b) - cost(W, am, b)) / (2 * eps), rel=1e-6)
    assert "∂C/∂W = δ·a.T" in str(d) or "δ·aᵀ" in str(d)


def _sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


def test_backprop_recurrences_against_a_numpy_network(curriculum):
    """Evaluate the engine's δ recurrences numerically on a 3-layer net; compare with
    finite differences of a forward pass written here in NumPy."""
    d = curriculum["backprop"]
    rng = np.random.default_rng(1)
    sizes = [2, 3, 2, 2]
    Ws = [None] + [rng.normal(size=(sizes[l], sizes[l - 1])) for l in range(1, 4)]
    bs = [None] + [rng.normal(size=sizes[l]) for l in range(1, 4)]
    x, g = rng.normal(size=2), rng.normal(size=2)

    def forward(Ws, bs):
        acts, zs = [x], [None]
        for l in range(1, 4):
            zs.append(Ws[l] @ acts[-1] + bs[l])
            acts.append(_sigmoid_np(zs[-1]))
        return zs, acts

    zs, acts = forward(Ws, bs)
    # evaluate the derivation's own formulas, layer by layer, from its adjoint expressions
    deltas = {}
    steps = {str(s.lhs.base.label): s for s in d.steps if isinstance(s.lhs, sp.Indexed)
             and str(s.lhs.base.label).startswith("delta")}
    for l in (3, 2, 1):
        step = steps[f"delta{l}"]
        (j,) = step.lhs.indices
        vec = []
        for jj in range(sizes[l]):
            e = step.value.xreplace({j: jj})
            e = e.subs({s: sizes[int(str(s)[-1])] for s in e.free_symbols if str(s).startswith("n_")}).doit()
            vals = {}
            for ix in e.atoms(sp.Indexed):
                name, idx = str(ix.base.label), tuple(int(i) for i in ix.indices)
                if name == "g":
                    vals[ix] = g[idx[0]]
                elif name.startswith("delta"):
                    vals[ix] = deltas[int(name[-1])][idx[0]]
                elif name.startswith("z"):
                    vals[ix] = zs[int(name[-1])][idx[0]]
                elif name.startswith("W"):
                    vals[ix] = Ws[int(name[-1])][idx]
            vec.append(float(e.xreplace(vals).evalf()))
        deltas[l] = np.array(vec)

    def cost(Ws, bs):
        return g @ forward(Ws, bs)[1][-1]

    eps = 1e-6
    for l in (1, 2, 3):
        grad = np.outer(deltas[l], acts[l - 1])  # ∂C/∂W^l = δ^l (a^(l−1))ᵀ, as the derivation states
        key = next(k for k in d.gradients if str(k.base.label) == f"W{l}")
        assert any(str(x.base.label) == f"delta{l}" for x in d.gradients[key].atoms(sp.Indexed))
        for jj, kk in itertools.product(range(sizes[l]), range(sizes[l - 1])):
            Wp = [w if w is None else w.copy() for w in Ws]
            Wm = [w if w is None else w.copy() for w in Ws]
            Wp[l][jj, kk] += eps
            Wm[l][jj, kk] -= eps
            fd = (cost(Wp, bs) - cost(Wm, bs)) / (2 * eps)
            assert grad[jj, kk] == pytest.approx(fd, rel=1e-5, abs=1e-9), (l, jj, kk)


def test_rnn_bptt_against_an_unrolled_numpy_network(curriculum):
    """Run the derivation's BPTT recurrence numerically (backwards in time, δ^(T+1) = 0)
    and compare ∂C/∂W^h with finite differences of an Elman network written in NumPy."""
    d = curriculum["rnn-bptt"]
    rng = np.random.default_rng(2)
    T, D, H, K = 4, 3, 3, 2
    Wi, Wh, Wo = rng.normal(size=(H, D)), rng.normal(size=(H, H)) * 0.8, rng.normal(size=(K, H))
    xs, h0 = rng.normal(size=(T + 1, D)), rng.normal(size=H)
    targets = [None, 0, 1, 1, 0]

    def run(Wi, Wh, Wo):
        hs, ss, ys, cost = [h0], [None], [None], 0.0
        for t in range(1, T + 1):
            ss.append(Wi @ xs[t] + Wh @ hs[-1])
            hs.append(_sigmoid_np(ss[-1]))
            ys.append(_softmax_np(Wo @ hs[-1]))
            cost -= np.log(ys[-1][targets[t]])
        return hs, ss, ys, cost

    hs, ss, ys, _ = run(Wi, Wh, Wo)
    step = next(s for s in d.steps if isinstance(s.lhs, sp.Indexed) and str(s.lhs.base.label) == "delta")
    t_sym, j_sym = step.lhs.indices
    size = {str(s): s for s in step.value.free_symbols}
    delta = np.zeros((T + 2, H))
    for t in range(T, 0, -1):
        for jj in range(H):
            e = step.value.xreplace({t_sym: t, j_sym: jj})
            # the correct class rᵗ first: Σ_c over [c = rᵗ] with rᵗ a symbol sums to Wᵒ[rᵗ, j]
            e = e.xreplace({ix: sp.Integer(targets[int(ix.indices[0])]) for ix in e.atoms(sp.Indexed)
                            if str(ix.base.label) == "r"})
            e = e.subs({size[n]: v for n, v in (("H", H), ("K", K)) if n in size}).doit()
            vals = {}
            for ix in e.atoms(sp.Indexed):
                name, idx = str(ix.base.label), tuple(int(i) for i in ix.indices)
                vals[ix] = {"s": lambda: ss[idx[0]][idx[1]], "y": lambda: ys[idx[0]][idx[1]],
                            "r": lambda: sp.Integer(targets[idx[0]]), "Wo": lambda: Wo[idx],
                            "Wh": lambda: Wh[idx], "delta": lambda: delta[idx]}[name]()
            delta[t, jj] = float(e.xreplace(vals).evalf())
    grad_Wh = sum(np.outer(delta[t], hs[t - 1]) for t in range(1, T + 1))  # Σ_t δ^t (h^(t−1))ᵀ
    key = next(k for k in d.gradients if str(k.base.label) == "Wh")
    assert d.gradients[key].has(sp.Sum)
    eps = 1e-6
    for jj, kk in itertools.product(range(H), range(H)):
        P, M = Wh.copy(), Wh.copy()
        P[jj, kk] += eps
        M[jj, kk] -= eps
        fd = (run(Wi, P, Wo)[3] - run(Wi, M, Wo)[3]) / (2 * eps)
        assert grad_Wh[jj, kk] == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_vanishing_gradient_bound(curriculum):
    d = curriculum["vanishing-gradient"]
    xs = np.linspace(-20, 20, 40001)
    s = _sigmoid_np(xs)
    assert (s * (1 - s)).max() == pytest.approx(0.25, abs=1e-9)
    assert (s * (1 - s) <= 0.25 + 1e-15).all()
    x = d.wrt[0]
    ws = sorted((v for v in d.inputs if str(v).startswith("w")), key=str)
    f = mp_function(d.definitions and _compose_chain(d), [x] + ws)
    point = [mpmath.mpf(0.3)] + [mpmath.mpf(1)] * len(ws)
    got = mp_function(d.gradients[x], [x] + ws)(*point)
    assert_close(got, central_difference(f, point, 0))
    assert abs(got) <= 0.25 ** len(ws)
    assert "ReLU" in str(d)


def _compose_chain(d):
    value = None
    defs = dict(d.definitions)
    out = d.outputs[0]
    value = defs[out]
    for _ in range(len(defs)):
        value = value.xreplace(defs)
    return value


def test_perceptron_truth_tables(curriculum):
    d = curriculum["perceptron"]
    text = str(d)
    assert "AND is learnable" in text and "OR is learnable" in text
    assert "XOR is not learnable" in text and "Two layers solve XOR" in text
    step = lambda v: 1 if v > 0 else 0  # noqa: E731
    learned = [s for s in d.steps if "perceptron rule" in s.why]
    for s, gate in zip(learned, (lambda a, b: a & b, lambda a, b: a | b)):
        w0, w1, w2 = (float(v) for v in s.value)
        for a, b in itertools.product((0, 1), repeat=2):
            assert step(w0 + w1 * a + w2 * b) == gate(a, b)
    weights = {str(s.lhs): [float(v) for v in s.value] for s in d.steps if str(s.lhs) in ("OR", "NAND", "AND")}
    for a, b in itertools.product((0, 1), repeat=2):
        h1 = step(weights["OR"][0] + weights["OR"][1] * a + weights["OR"][2] * b)
        h2 = step(weights["NAND"][0] + weights["NAND"][1] * a + weights["NAND"][2] * b)
        assert step(weights["AND"][0] + weights["AND"][1] * h1 + weights["AND"][2] * h2) == a ^ b


def test_linear_miles_numbers(curriculum):
    d = curriculum["linear-miles"]
    errors = [float(s.value) for s in d.steps if str(s.lhs).startswith("E(c")]
    assert errors == pytest.approx([12.137, 2.137, -7.863])
    cs = [float(s.value) for s in d.steps if str(s.lhs).startswith("c_")]
    assert abs(cs[-1] - 0.62137) < abs(cs[0] - 0.62137)  # the refinement approaches 0.62137


def test_gradient_descent_converges(curriculum):
    d = curriculum["gradient-descent"]
    thetas = [float(s.value) for s in d.steps if isinstance(s.lhs, sp.Symbol) and s.lhs.name[:-1] == "theta_"]
    assert len(thetas) == 5
    assert all(abs(b - 3) < abs(a - 3) for a, b in zip(thetas, thetas[1:]))
