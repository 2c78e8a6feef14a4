"""The derivation engine on users' own formulas: results, modes, Jacobians, errors."""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp

import symnet
from symnet import DerivationError, NotDifferentiableError, Partial, Program, derive, sigmoid
from symnet.indexed import contract
from conftest import assert_close, central_difference, mp_function

x, y, t = sp.symbols("x y t", real=True)


def test_the_readme_example():
    d = symnet.derive((t - symnet.sigmoid(x)) ** 2, wrt=[x])
    want = -2 * (t - sigmoid(x)) * sigmoid(x) * (1 - sigmoid(x))
    assert sp.simplify(d.gradients[x] - want) == 0
    text = str(d)
    assert "Backward pass" in text and "sigmoid rule" in text


def test_multi_path_sum_is_shown():
    d = derive(x * sp.exp(x ** 2), [x])
    step = [s for s in d.steps if s.lhs == Partial(sp.Symbol("f"), x, total=True)][0]
    assert "2 paths" in step.why
    assert sp.simplify(d.gradients[x] - (1 + 2 * x ** 2) * sp.exp(x ** 2)) == 0


def test_forward_and_reverse_modes_agree():
    f = sp.sin(x * y) + sp.exp(x) * y ** 2
    rev, fwd, both = (derive(f, [x, y], mode=m) for m in ("reverse", "forward", "both"))
    for v in (x, y):
        assert sp.simplify(rev.gradients[v] - fwd.gradients[v]) == 0
        assert sp.simplify(rev.gradients[v] - both.gradients[v]) == 0
    titles = [s.title for s in both.sections]
    assert "Forward versus reverse mode" in titles


def test_vector_function_gives_its_jacobian():
    d = derive([x * y, x + y, sp.exp(x)], [x, y])
    assert d.jacobian == sp.Matrix([[y, x], [1, 1], [sp.exp(x), 0]])
    assert d.gradients == {}  # several outputs: use .jacobian


def test_named_program_keeps_the_names():
    a, b, c, e = sp.symbols("a b c e", real=True)
    d = derive(Program.from_assignments([(c, a * b), (e, sp.log(c))]), [a, b])
    assert sp.simplify(d.gradients[a] - 1 / a) == 0
    assert any(s.lhs == c for s in d.steps)


def test_values_at_a_point():
    a, b, c, dd, e = sp.symbols("a b c d e", real=True)
    d = derive(Program.from_assignments([(c, a + b), (dd, b + 1), (e, c * dd)]), at={a: 3, b: 2})
    values = {str(s.lhs): s.value for s in d.steps if s.lhs in (c, dd, e)}
    assert values == {"c": 5, "d": 3, "e": 15}


def test_gradient_at_refuses_kinks():
    d = derive(symnet.relu(x) * y, [x, y])
    assert d.gradient_at({x: 2, y: 3})[x] == 3
    with pytest.raises(NotDifferentiableError, match="x = 0"):
        d.gradient_at({x: 0, y: 3})
    with pytest.raises(NotDifferentiableError):
        derive(sp.Abs(x), [x], at={x: 0})
    with pytest.raises(NotDifferentiableError, match="undefined"):
        derive(sp.log(x), [x], at={x: 0})


@pytest.mark.parametrize("bad, message", [
    (dict(f=x ** 2, wrt=[y]), "'y' does not appear"),
    (dict(f=x ** 2, wrt=[x + 1]), "symbol"),
    (dict(f=x ** 2, wrt=[x], mode="sideways"), "mode"),
    (dict(f=[], wrt=None), "empty"),
    (dict(f=sp.Integer(3), wrt=None), "no inputs"),
    (dict(f=x ** 2, wrt=[x], at={y: 1}), "not an input"),
])
def test_bad_input_is_refused_clearly(bad, message):
    f = bad.pop("f")
    wrt = bad.pop("wrt")
    with pytest.raises(DerivationError, match=message):
        derive(f, wrt, **bad)


def test_program_validation():
    a, b, c = sp.symbols("a b c")
    with pytest.raises(DerivationError, match="before it is assigned"):
        Program.from_assignments([(b, c + 1), (c, a * 2)])
    with pytest.raises(DerivationError, match="assigned twice"):
        Program.from_assignments([(b, a), (b, a + 1)])
    with pytest.raises(DerivationError, match="itself"):
        Program.from_assignments([(b, b + a)])


def test_a_false_step_is_refused():
    from symnet.stepcheck import check_equal
    with pytest.raises(DerivationError, match="false"):
        check_equal(sp.sin(x) ** 2, 1 - sp.cos(x) ** 2 + sp.Rational(1, 10 ** 9))
    assert check_equal(sp.sin(x) ** 2, 1 - sp.cos(x) ** 2) in ("symbolic", "numeric")


def test_final_values_never_hold_display_symbols():
    d = derive(sp.tanh(x * y) * sp.log(1 + x ** 2), [x, y], mode="both")
    for step in d.steps:
        assert not step.value.atoms(Partial), step


def test_deep_chain_is_numerically_right():
    f = sigmoid(sigmoid(sigmoid(x * y) * y + x) - y) ** 3
    d = derive(f, [x, y])
    fn = mp_function(f, [x, y])
    point = [mpmath.mpf("0.3"), mpmath.mpf("-0.7")]
    for k, v in enumerate((x, y)):
        got = mp_function(d.gradients[v], [x, y])(*point)
        assert_close(got, central_difference(fn, point, k), rel=1e-12)


def test_kronecker_contraction():
    i, j, k = sp.symbols("i j k", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    a, W = sp.IndexedBase("a"), sp.IndexedBase("W")
    s = sp.Sum(sp.KroneckerDelta(i, j) * a[i] * W[k, i], (i, 0, n - 1))
    assert contract(s) == a[j] * W[k, j]
    shifted = sp.Sum(sp.KroneckerDelta(i - 1, j) * a[i], (i, 0, n - 1))
    assert contract(shifted) == a[j + 1]
    # a sum without a delta stays a sum, with factors that do not depend on it outside
    assert contract(sp.Sum(a[i] * W[k, k], (i, 0, n - 1))) == W[k, k] * sp.Sum(a[i], (i, 0, n - 1))
