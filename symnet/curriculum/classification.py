"""Classification outputs: cross-entropy, the softmax Jacobian, and their combination."""
from __future__ import annotations

import sympy as sp

from ..derivation import Partial, Section
from ..engine import Program, derive
from ..indexed import contract, derive_indexed
from . import claim, claim_entries, compose, forward_section, register, with_sections

R = dict(real=True)
K = sp.Symbol("K", integer=True, positive=True)
i, j, k, r = sp.symbols("i j k r", integer=True)
RANGES = {i: (0, K - 1), j: (0, K - 1), k: (0, K - 1), r: (0, K - 1)}
SIZES = {K: 3}
y, z = sp.IndexedBase("y"), sp.IndexedBase("z")
C = sp.Symbol("C")


def _softmax_entry(idx):
    return sp.exp(z[idx]) / sp.Sum(sp.exp(z[k]), (k, 0, K - 1))


@register("cross-entropy", "C = −log y_r for the correct class r: ∂C/∂y_i = −1/y_r if i = r, else 0")
def cross_entropy():
    y1, y2, y3 = sp.symbols("y_1 y_2 y_3", positive=True)
    t1, t2, t3 = sp.symbols("t_1 t_2 t_3", nonnegative=True)
    d = derive(-(t1 * sp.log(y1) + t2 * sp.log(y2) + t3 * sp.log(y3)), [y1, y2, y3], output=C,
               title="Cross-entropy: C = −log y_r")
    onehot = {t1: 0, t2: 1, t3: 0}
    at_r = claim(sp.Symbol("∇_y C"), (sp.Matrix([[0, -1 / y2, 0]]),), d.jacobian.xreplace(onehot),
                 "one-hot target t = (0, 1, 0): C = −log y₂")
    general = claim_entries(Partial(C, y[i]), (-sp.KroneckerDelta(i, r) / y[r],), sp.diff(-sp.log(y[r]), y[i]),
                            {i: RANGES[i], r: RANGES[r]}, SIZES,
                            "only the correct class's probability appears in C")
    text = ("With a one-hot target t (t_r = 1 for the correct class r) the sum −Σ t_i log y_i "
            "is −log y_r; in general, with the Kronecker delta δ_ir (1 if i = r, else 0):")
    return with_sections(d, after=[Section("One-hot target", (at_r, general), text)])


@register("softmax", "y_i = e^(z_i)/Σ_k e^(z_k): its Jacobian y_i(δ_ij − y_j) is not diagonal")
def softmax():
    z1, z2, z3 = sp.symbols("z_1 z_2 z_3", **R)
    e1, e2, e3, s = sp.symbols("e_1 e_2 e_3 s", positive=True)
    y1, y2, y3 = sp.symbols("y_1 y_2 y_3", positive=True)
    program = Program.from_assignments([
        (e1, sp.exp(z1)), (e2, sp.exp(z2)), (e3, sp.exp(z3)), (s, e1 + e2 + e3),
        (y1, e1 / s), (y2, e2 / s), (y3, e3 / s)], outputs=[y1, y2, y3])
    d = derive(program, [z1, z2, z3], title="Softmax and its Jacobian")
    ys = (y1, y2, y3)
    closed = sp.Matrix(3, 3, lambda a, b: ys[a] * (sp.KroneckerDelta(a, b) - ys[b]))
    where = {y1: sp.exp(z1) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3)),
             y2: sp.exp(z2) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3)),
             y3: sp.exp(z3) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3))}
    small = claim(sp.Symbol("J"), (closed,), d.jacobian, "every entry y_i(δ_ij − y_j)", where=where)
    local = contract(sp.diff(_softmax_entry(i), z[j]))
    general = claim_entries(Partial(y[i], z[j]), (local, y[i] * (sp.KroneckerDelta(i, j) - y[j])), local,
                            {i: RANGES[i], j: RANGES[j]}, SIZES,
                            "quotient rule, entry by entry; then e^(z_i)/Σ_k e^(z_k) = y_i",
                            where={y[a]: _softmax_entry(a) for a in range(3)})
    text = ("Unlike an elementwise sigmoid, whose Jacobian is diagonal, every output of the softmax "
            "depends on every input: the off-diagonal entries are −y_i·y_j. For K classes, in index "
            "form, y_i = e^(z_i)/Σ_k e^(z_k):")
    return with_sections(d, after=[Section("In closed form", (small, general), text)])


@register("softmax-cross-entropy", "softmax followed by cross-entropy collapses to ∂C/∂z = y − onehot(r)")
def softmax_cross_entropy():
    res = derive_indexed(
        [(y[i], _softmax_entry(i))], ranges=RANGES, seed=(y[i], -sp.KroneckerDelta(i, r) / y[r]),
        wrt=[z[j]], sizes=SIZES, cost=C)
    onehot = sp.KroneckerDelta(j, r)
    collapsed = claim_entries(Partial(C, z[j]), (y[j] - onehot,), res.gradients[z[j]],
                              {j: RANGES[j], r: RANGES[r]}, SIZES,
                              "put y_r = e^(z_r)/Σ_k e^(z_k): everything but y_j − δ_jr cancels",
                              where={y[a]: _softmax_entry(a) for a in range(3)})
    # the same with three named classes through the scalar engine, correct class r = 2
    z1, z2, z3 = sp.symbols("z_1 z_2 z_3", **R)
    small = derive(-sp.log(sp.exp(z2) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3))), [z1, z2, z3], output=C)
    Z = sp.exp(z1) + sp.exp(z2) + sp.exp(z3)
    probs = [sp.exp(z1) / Z, sp.exp(z2) / Z, sp.exp(z3) / Z]
    check = claim(sp.Symbol("∇_z C"), (sp.Matrix([probs[0], probs[1] - 1, probs[2]]).T,),
                  small.jacobian, "three classes, r = 2: (y₁, y₂ − 1, y₃)")
    sections = [forward_section(((y[i], _softmax_entry(i)),),
                                "The softmax over K classes, then the cross-entropy C = −log y_r "
                                "for the correct class r.")] + list(res.sections) + [
        Section("Result", (collapsed,),
                "The non-diagonal softmax Jacobian and the 1/y_r of cross-entropy cancel: the "
                "gradient is the predicted distribution minus the one-hot target."),
        Section("Check with three classes", (check,),
                "Three classes with inputs z₁, z₂, z₃ and correct class r = 2: the gradient ∇_z C "
                "as a row, against the derivative of C = −log(e^(z₂)/(e^(z₁) + e^(z₂) + e^(z₃)))."),
    ]
    return compose("Softmax with cross-entropy: ∂C/∂z = y − onehot", sections,
                   inputs=(z,), wrt=(z[j],), outputs=(C,), definitions=((y[i], _softmax_entry(i)),),
                   gradients={z[j]: y[j] - onehot},
                   local_partials={(y, z): res.local_partials[(y, z)][2]})
