"""Session 38, a new user's pass (their own Wing and adaptive Wing losses, ISRU, the Elliot sigmoid, a LogSigmoid of a
difference, a Softmin over 4 inputs, an energy logsumexp over 5 terms, a Smooth-L1 with β, PReLU with a learned slope,
a Gumbel NLL, a von Mises NLL, a Hinge², a quantile-Huber and a 3-layer tanh MLP: derived, verified, compiled for
NumPy and Triton, trained with from PyTorch).

Each test of a message failed before its change; the before is in its comment. The formulas the new messages suggest
are measured here against mpmath at 50 digits and torch autograd in float64. The strict xfails at the end record
faults found and not fixed."""
import mpmath
import numpy as np
import pytest

import symnet
from symnet.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _ulps(got, true) -> float:
    """|got − true| in units of the last place of the float64 nearest ``true`` (an mpmath number)."""
    return float(abs(mpmath.mpf(float(got)) - true) / np.spacing(abs(float(true))))


# ---------------------------------------------------------------- functions a formula cannot hold, answered

# before: prelu(x, a) "did you mean relu or relu6 or elu?"; i0(k) of a von Mises NLL "for a product write i0*(…)" and
# 60 names; sort(x) of a Lovász hinge and sorted(x) "did you mean sqrt?"; cumsum(x) "for a product write cumsum*(…)";
# softmin(a) "did you mean softsign or softshrink or sin?"; logsumexp(-e1, -e2, -e3) "not part of a formula" with no
# word that the few terms written out are a formula (computed without overflow, measured below)
@pytest.mark.parametrize("formula, says", [
    ("prelu(x, a)", "write leaky_relu(x, a)"),
    ("prelu(2*x - 1, s)", "write leaky_relu(2*x - 1, s)"),
    ("-k*cos(x - mu) + log(i0(k))", "Bessel functions are not in symnet's registry"),
    ("log(besseli(0, k))", "Bessel functions are not in symnet's registry"),
    ("sort(x)", "torch.sort(e, descending=True)"),
    ("sorted(x)*y", "sort or accumulate outside it"),
    ("cumsum(x)", "sort or accumulate outside it"),
    ("softmin(a)", "softmin(z) is softmax(−z)"),
    ("logsumexp(-e1, -e2, -e3)", "write it out, log(exp(-e1) + exp(-e2) + exp(-e3))"),
])
def test_a_function_symnet_has_not_is_answered_with_what_to_write(capsys, formula, says):
    code, out, err = _run(capsys, "derive", formula)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out[:200], err)
    assert says in err and "for a product write" not in err and "did you mean" not in err, err


def test_logsumexp_of_a_row_keeps_its_answer(capsys):
    code, _, err = _run(capsys, "derive", "logsumexp(z)")
    assert code == 2 and "works on a whole row" in err and "write it out" not in err, err


# PReLU as the message writes it, leaky_relu(x, a) with the slope a variable, against torch's F.prelu in float64
# (value, ∂x, ∂a) at 300 points: both sides of 0, the kink's neighbours, far values, slopes of either sign
def test_prelu_as_suggested_matches_torch_prelu():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3801)
    x = np.concatenate([rng.normal(0, 3, 200), rng.choice([-1, 1], 40) * 10.0 ** rng.uniform(-300, 300, 40),
                        np.spacing(0.0) * rng.integers(-50, 50, 20) + 1e-300 * rng.choice([0, 1], 20),
                        rng.uniform(-1e-8, 1e-8, 40)])
    x = x[x != 0]  # the kink itself: torch's ∂x at 0 is a, the left side's; symnet's gradient is a select there too
    a = rng.uniform(-2, 2, x.size)
    k = symnet.compile(symnet.derive("leaky_relu(x, a)"))
    got = dict(zip(k.outputs, k(x=x, a=a)))
    xt = torch.tensor(x, requires_grad=True)
    at = torch.tensor(a, requires_grad=True)
    f = torch.stack([torch.nn.functional.prelu(xt[i:i + 1], at[i:i + 1]) for i in range(x.size)]).reshape(-1)
    f.sum().backward()
    assert np.array_equal(got["f"], f.detach().numpy())
    assert np.array_equal(got["df_dx"], xt.grad.numpy()) and np.array_equal(got["df_da"], at.grad.numpy())


# the energy over 5 terms and the Softmin over 4 inputs as the messages write them out, in float64, against mpmath at
# 50 digits: ordinary, spread (terms 700 apart) and far (e_i near ±709) rows; ≤ 4 ULP (measured 0.50 worst)
@pytest.fixture(scope="module")
def written_rows():
    rng = np.random.default_rng(3802)
    rows = np.concatenate([rng.normal(0, 3, (120, 5)), rng.uniform(-700, 700, (60, 5)),
                           rng.choice([-709.0, 709.0], (20, 1)) + rng.normal(0, 1, (20, 5))])
    return rows


def test_written_out_energy_logsumexp_is_within_4_ulp(written_rows):
    k = symnet.compile(symnet.derive("-log(exp(-e1) + exp(-e2) + exp(-e3) + exp(-e4) + exp(-e5))"))
    names = [f"e{i}" for i in range(1, 6)]
    got = dict(zip(k.outputs, k(**{n: written_rows[:, i].copy() for i, n in enumerate(names)})))
    worst = 0.0
    with mpmath.workdps(50):
        for r, row in enumerate(written_rows):
            terms = [mpmath.exp(-mpmath.mpf(float(v))) for v in row]
            total = mpmath.fsum(terms)
            worst = max(worst, _ulps(got["f"][r], -mpmath.log(total)))
            for i, n in enumerate(names):  # ∂/∂e_i = softmin weight of e_i
                true = terms[i] / total
                if abs(true) > 2.3e-308:
                    worst = max(worst, _ulps(got[f"df_d{n}"][r], true))
    assert worst <= 4, worst


def test_written_out_softmin_is_within_4_ulp(written_rows):
    k = symnet.compile(symnet.derive("exp(-a)/(exp(-a) + exp(-b) + exp(-c) + exp(-d))", wrt=["a"]))
    rows = written_rows[:, :4]
    got = dict(zip(k.outputs, k(**{n: rows[:, i].copy() for i, n in enumerate("abcd")})))
    worst = 0.0
    with mpmath.workdps(50):
        for r, row in enumerate(rows):
            terms = [mpmath.exp(-mpmath.mpf(float(v))) for v in row]
            total = mpmath.fsum(terms)
            p = terms[0] / total  # 1 − p as the other terms' share: 1 − p cancels past 50 digits (3e−49 here)
            for out, true in (("f", p), ("df_da", -p * mpmath.fsum(terms[1:]) / total)):
                if abs(true) > 2.3e-308:
                    worst = max(worst, _ulps(got[out][r], true))
    assert worst <= 4, worst


# before: activation("prelu", x) "no activation 'prelu'; did you mean relu or relu6 or elu?"
@pytest.mark.parametrize("name, formula", [("prelu", "leaky_relu(x, a)"), ("sech", "1/cosh(x)")])
def test_symnet_torch_names_the_formula_of_an_activation_it_writes_out(name, formula):
    torch = pytest.importorskip("torch")
    import symnet.torch as st
    with pytest.raises(symnet.errors.SymnetError, match=r"as a formula it is " + formula.replace("(", r"\(")
                       .replace(")", r"\)") + r": symnet\.torch\.from_formula") as info:
        st.functional.activation(name, torch.ones(2, dtype=torch.float64))
    assert "did you mean" not in str(info.value)


# before: a from_formula function given a NumPy array or a list said "argument 'x' must be a number, not ndarray"
@pytest.mark.parametrize("value, says", [
    (np.array([1.0, 2.0]), "must be a torch.Tensor or a number, not ndarray; pass torch.from_numpy(a)"),
    ([1.0, 2.0], "must be a torch.Tensor or a number, not list; pass torch.tensor(v)"),
])
def test_from_formula_names_the_conversion_of_an_array(value, says):
    pytest.importorskip("torch")
    import symnet.torch as st
    f = st.from_formula("x*sigmoid(b*x)", inputs=["x", "b"])
    with pytest.raises(TypeError) as info:
        f(value, 1.0)
    assert says in str(info.value), str(info.value)


# ---------------------------------------------------------------- a kink from Python names its sides

# before: Derivation.gradient_at at PReLU's kink said "the one-sided derivatives differ", where the command line's
# --at names them (from the left 1/4, from the right 1) and the inputs whose derivatives exist
def test_gradient_at_a_kink_names_both_sides_as_the_command_line_does(capsys):
    d = symnet.derive("where(x > 0, x, a*x)")
    with pytest.raises(symnet.errors.NotDifferentiableError) as info:
        d.gradient_at({"x": 0, "a": 0.25})
    message = str(info.value)
    assert "from the left 1/4, from the right 1" in message and "with respect to a can still be" in message, message
    code, _, err = _run(capsys, "derive", "where(x > 0, x, a*x)", "--at", "x=0,a=0.25")
    assert code == 2 and err.strip() == f"symnet: error: {message}", err


# ---------------------------------------------------------------- symnet train and a model of one's own

# before: "unrecognized arguments: --activation tanh (see 'symnet train --help')", and the help has no such option
@pytest.mark.parametrize("argv", [("train", "xor", "--activation", "tanh"), ("train", "digits", "--loss=huber")])
def test_train_says_where_a_model_of_ones_own_is_trained(capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, err)
    assert "(see 'symnet train --help')" in err and "symnet.torch" in err and "FusedStep" in err, err


# ---------------------------------------------------------------- found and not fixed

# A 3-layer tanh MLP's ∂x, w1·w2·w3·sech²(·)·sech²(·)·sech²(·): where w2·w3 overflows and a sech² underflows to 0 the
# generated product (the weights multiplied first, and again in its taken-again order) is inf·0 = NaN; torch autograd,
# multiplying along the chain, gives 0, the true value rounded (e^(−2·10^199)·10^468). 300 of 300 points with
# |w2|, |w3| in 10^[155, 300], the rest ordinary: symnet NaN at all 300, torch 0 at all 300.
@pytest.mark.xfail(strict=True, reason="measured 2026-12-06: tanh(w3*tanh(w2*tanh(w1*x + b1) + b2) + b3), ∂x at "
                   "w1 = 1.2286, x = 0.8394, b1 = −0.3316, w2 = 1.528e181, b2 = −0.8983, w3 = 7.812e287, b3 = −0.5895: "
                   "got NaN (w1·w2·w3 = inf times sech² = 0), truth 0, torch 0; NaN at 300 of 300 such points")
def test_mlp_gradient_is_not_nan_where_two_weights_overflow_together():
    rng = np.random.default_rng(3803)
    n = 300
    p = dict(w1=rng.uniform(0.5, 2, n), x=rng.uniform(-2, 2, n), b1=rng.uniform(-1, 1, n),
             w2=rng.choice([-1, 1], n) * 10.0 ** rng.uniform(155, 300, n), b2=rng.uniform(-1, 1, n),
             w3=10.0 ** rng.uniform(155, 300, n), b3=rng.uniform(-1, 1, n))
    p["w1"][0], p["x"][0], p["b1"][0] = 1.2286415706, 0.8393783200, -0.3316258500
    p["w2"][0], p["b2"][0], p["w3"][0], p["b3"][0] = 1.52814274e181, -0.89833901, 7.81225236e287, -0.58954842
    k = symnet.compile(symnet.derive("tanh(w3*tanh(w2*tanh(w1*x + b1) + b2) + b3)", wrt=["x"]))
    _, dx = k(**p)
    assert not np.isnan(dx).any() and np.all(dx == 0), (np.isnan(dx).sum(), dx[:3])


# A Gumbel NLL's ∂μ, (exp((μ − x)/b) − 1)/b: the quotient (μ − x)/b rounds, and exp amplifies its rounding by |(μ − x)/b|
# (283.6 at x = −709, b = 2.5): 181 ULP there, 203 worst over 300 points of x in [−764, −654]; torch autograd the same
# (203). Its f and ∂b, widened sums computed in double words, are 0.50 and 1.96 ULP at the same points (torch 204, 203).
@pytest.mark.xfail(strict=True, reason="measured 2026-12-06: ∂μ of (x - mu)/b + exp(-(x - mu)/b) + log(b) at b = 2.5, "
                   "mu = 0, x = −709: got 5.861045044056339e+122, truth 5.8610450440562063546e+122 (181 ULP); "
                   "worst 203 ULP over x in [−764, −654], torch 203 there")
def test_gumbel_nll_dmu_within_4_ulp_where_exp_of_a_quotient_is_large():
    x = -709.0 + np.arange(-150, 150) * 0.37
    b, mu = np.full_like(x, 2.5), np.zeros_like(x)
    k = symnet.compile(symnet.derive("(x - mu)/b + exp(-(x - mu)/b) + log(b)", wrt=["mu"]))
    got = dict(zip(k.outputs, k(x=x, b=b, mu=mu)))
    with mpmath.workdps(50):
        worst = max(_ulps(g, (mpmath.exp(-mpmath.mpf(float(xi)) / mpmath.mpf(2.5)) - 1) / mpmath.mpf(2.5))
                    for g, xi in zip(got["df_dmu"], x))
    assert worst <= 4, worst
