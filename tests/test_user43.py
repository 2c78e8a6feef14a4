"""Session 43, a new user's pass with formulas of their own, from the README alone (Huber written with where and abs,
the pinball loss written with max, GEGLU with GELU-tanh written out, Mish, tanhshrink and softsign written out, the
focal loss with α, a negative-binomial NLL, the Student-t NLL, a 3-vector cosine-similarity loss, a two-entry
LayerNorm, Adam's update, an RNN cell tanh(wx + uh + b) and a Poisson NLL in log space: derived, verified,
compiled for NumPy, run through symnet.torch.from_formula against torch autograd in float64 and float32).

The fix here: a formula pasted from PyTorch or NumPy code (`torch.tanh(x)`, `F.softplus(x)`, `np.exp(x)`,
`x.clamp(0, 1)`) is answered with the call to write. The strict xfails record faults found and not fixed, with the
measured numbers (mpmath at 150 digits of SymPy's derivative of the formula as written; torch autograd of the formula
as written at the same points)."""

import functools
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import triton_torch, ulps
from symnet.errors import ParseError

BOUND = {np.float64: 4.0, np.float32: 8.0}


# ---------------------------------------------------------------- fixed: a module's function or a method, by name

# before, each: "unsupported call: attribute access is not allowed; call a function by its name, as in exp(x)",
# naming neither the function nor what to write (a formula pasted from a model's forward()).
@pytest.mark.parametrize("formula, said", [
    ("torch.tanh(x)", "torch.tanh is a function of torch; a formula calls symnet's functions by their bare name: "
                      "write tanh(x)"),
    ("np.exp(-x**2)", "write exp(-x**2)"),
    ("math.log(x)", "write log(x)"),
    ("torch.sigmoid(x + 1)*y", "write sigmoid(x + 1)"),
    ("torch.nn.functional.gelu(a)*b", "torch.nn.functional.gelu is a function of torch.nn.functional"),
    ("x.clamp(0, 1)", "x.clamp(…) is a method call; a formula calls symnet's functions by their bare name: "
                      "write clamp(x, 0, 1)"),
    ("x.exp()", "write exp(x)"),
    # the bare call's own refusal follows: keywords, a spelled-out function, one the registry lacks
    ("F.softplus(x, beta=2)", "softplus() takes its arguments by position, not by name (beta=…)"),
    ("x.pow(2)", "unknown function 'pow'; write x**2"),
    ("torch.special.expit(z)", "write sigmoid(z)"),
    ("F.glu(a, b)", "write a*sigmoid(b)"),
    ("torch.lgamma(nu)", "the gamma function and its logarithm are not in symnet's registry"),
])
def test_a_dotted_call_names_the_call_to_write(formula, said):
    with pytest.raises(ParseError) as err:
        symnet.parse(formula)
    assert said in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


# a dotted call to a name the registry lacks is no product: "for a product write foo*(…)" is left out
def test_a_dotted_unknown_function_is_not_read_as_a_product():
    with pytest.raises(ParseError) as err:
        symnet.parse("torch.foo(x)")
    assert "unknown function 'foo'" in str(err.value) and "for a product" not in str(err.value)


# what is not a chain of names keeps the general refusal (nothing of it is evaluated)
@pytest.mark.parametrize("formula", ["x.__class__(1)", "__import__('os').system('ls')", "(x + 1).exp()"])
def test_other_attribute_calls_keep_the_general_refusal(formula):
    with pytest.raises(ParseError) as err:
        symnet.parse(formula)
    assert "attribute access is not allowed" in str(err.value) or "a bracket right after" in str(err.value)


def test_the_command_line_says_it_in_one_line(capsys):
    from symnet.cli import main

    assert main(["derive", "torch.tanh(w*x + b)"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "write tanh(w*x + b)" in err, err


# ---------------------------------------------------------------- measured, not fixed

@functools.lru_cache(maxsize=None)
def _kernel(formula):
    return symnet.compile(symnet.derive(formula), progress=False)


@functools.lru_cache(maxsize=None)
def _truth_fn(formula, names, wrt):
    expr = symnet.parse(formula)
    expr = expr.subs({s: sp.Symbol(s.name, real=True) for s in expr.free_symbols})
    syms = [sp.Symbol(n, real=True) for n in names]
    target = expr if wrt is None else sp.diff(expr, sp.Symbol(wrt, real=True))
    return sp.lambdify(syms, target, modules="mpmath")


def _torch_grad(formula, names, columns, wrt, dtype):
    torch = pytest.importorskip("torch")
    expr = symnet.parse(formula)
    syms = [sp.Symbol(n, real=True) for n in names]
    expr = expr.subs({s: sp.Symbol(s.name, real=True) for s in expr.free_symbols})
    fn = sp.lambdify(syms, expr, modules=[{"sigmoid": torch.sigmoid}, torch])
    ts = [torch.tensor(np.asarray(c, np.float64), dtype=getattr(torch, dtype), requires_grad=True) for c in columns]
    y = fn(*ts)
    if wrt is None:
        return y.detach().double().numpy()
    return torch.autograd.grad(y.sum(), ts[names.index(wrt)])[0].double().numpy()


def _measure(formula, names, columns, wrt, dtype=np.float64):
    """(symnet's worst ULPs, torch's worst, points past the bound, points where symnet is worse than torch) of
    ∂f/∂wrt (f where wrt is None) over the columns' points."""
    cols = [np.asarray(c, dtype) for c in columns]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _kernel(formula)(**dict(zip(names, cols)))
    got = out[0] if wrt is None else out[_kernel(formula).outputs.index(f"df_d{wrt}")]
    theirs = _torch_grad(formula, names, cols, wrt, np.dtype(dtype).name)
    fn = _truth_fn(formula, tuple(names), wrt)
    with mpmath.workdps(150):
        truths = [fn(*[mpmath.mpf(float(c[i])) for c in cols]) for i in range(len(cols[0]))]
    ours = np.array([ulps(g, t, dtype) for g, t in zip(got, truths)])
    torch_ = np.array([ulps(g, t, dtype) for g, t in zip(theirs, truths)])
    return ours.max(), torch_.max(), int((ours > BOUND[dtype]).sum()), int((ours > np.maximum(torch_, BOUND[dtype])).sum())


GEGLU = "a*(1 + tanh(0.7978845608028654*(a + 0.044715*a**3)))/2*b"
GEGLU_ROOT = -0.7524614220710162  # ∂f/∂a = 0 at a = −0.75246142207101622137… (mpmath, 80 digits)


def _floats_around(x, count, dtype=np.float64):
    up = down = dtype(x)
    out = [up]
    for _ in range(count):
        up, down = np.nextafter(up, dtype(np.inf)), np.nextafter(down, dtype(-np.inf))
        out += [up, down]
    return np.array(out, dtype)


# GEGLU with GELU-tanh written out (a SwiGLU's sibling, as a model's code has it): ∂f/∂a crosses 0 at a = −0.75246,
# where its two terms, σ(2u) and a·u′·σ(2u)σ(−2u), cancel; float64 keeps their sum in float64. Measured (session 43,
# numpy backend, b = 1): the 301 floats around the root, worst 1.54e16 ULP at the root (6.3488e−17 for 1.6164e−17),
# past the bound at all 301 and worse than both the bound and torch autograd (5.25e15 worst: it returns 0) at 162;
# over a ∈ root ± 1e−3
# (200 points) 1.93e5 ULP, torch 8.46e4, worse than torch at 125. Float32 (widened to float64) 0.499 ULP on both.
# `symnet verify` says FAIL: df_da float64 1.5e+16 (torch NaN×21, 6.9e+15). The registry's gelu_tanh(a)*b, which the
# root-series rule names (gelu_tanh′ at −0.7525), was not measured here.
# Fixed by h-geglu43 (the root-series rule takes each branch of a select of several inputs, and a root of a sum of
# size 10²¹): 2.21 ULP at the root ±150 floats (was 1.54e16, torch 5.25e15); tests/test_geglu43.py
def test_written_geglu_gradient_at_its_zero_float64():
    a = _floats_around(GEGLU_ROOT, 150)
    ours, theirs, past, worse = _measure(GEGLU, ["a", "b"], [a, np.ones_like(a)], "a")
    assert worse == 0 and past == 0, (ours, theirs, past, worse)


def test_written_geglu_float32_is_within_the_bound_at_its_zero():
    a = _floats_around(GEGLU_ROOT, 100, np.float32)
    ours, theirs, past, worse = _measure(GEGLU, ["a", "b"], [a, np.ones_like(a)], "a", np.float32)
    assert past == 0 and worse == 0, (ours, theirs)


NEGBIN = "-(k*log(mu/(mu + r)) + r*log(r/(mu + r)))"


def _negbin_points(n=100):
    rng = np.random.default_rng(4301)
    return [rng.poisson(3, n).astype(float), np.exp(rng.uniform(np.log(0.1), np.log(20), n)),
            np.exp(rng.uniform(np.log(0.5), np.log(20), n))]


# A negative-binomial NLL with mean μ and dispersion r, as written from its density: ∂k = −log(μ/(μ + r)) rounds
# μ/(μ + r) ≈ 1 before the log (−log1p(r/μ) would not); ∂r = −log(r/(μ + r)) − 1 + (k + r)/(μ + r) cancels where
# μ ≪ r. Measured (session 43, numpy backend, float64, 100 points k ~ Poisson(3), μ ∈ [0.1, 20], r ∈ [0.5, 20]
# log-uniform, seed 4301, and the point named): ∂k worst 10.56 ULP at k = 2, μ = 13.364, r = 0.73627, past the bound
# at 6 of 101 (torch 10.56, the same form; worse than it at none); ∂r 384 ULP at k = 0, μ = 0.10814, r = 17.728, past
# the bound at 14, worse than torch (1.68e4 worst) at 10. Float32: 0.49 and 0.50 (widened; torch 10.3 and 1.2e4).
# The cancellation (h-geglu43, not fixed): ∂r = log1p(t) + (k − μ)/(μ + r), t = μ/r, exactly; at k = 0 it is
# log1p(t) − t/(1 + t) ≈ t²/2 (1.8455e−5 at the point named, whose written terms are 0.00608, −1 and 0.99394): the
# rounding of r/(μ + r) before the log alone is ε/t² relative. It needs log1p(t) − t to working precision (a
# log1pmx, or the log in double words), which symnet's printers do not have.
# Fixed by h-nll44 (session 44): ∂k 0.83 ULP (the log-quotient-complement rule's −log1p(r/μ)), ∂r 0.49 (the
# widened-log-sum rule: the sum in double words, rounded once); tests/test_nll44.py
@pytest.mark.parametrize("wrt, point", [("k", (2.0, 13.364235975569269, 0.7362720471386566)),
                                        ("r", (0.0, 0.1081415789894162, 17.72789639693326))])
def test_negative_binomial_nll_gradients_float64(wrt, point):
    cols = [np.append(c, p) for c, p in zip(_negbin_points(), point)]
    ours, theirs, past, worse = _measure(NEGBIN, ["k", "mu", "r"], cols, wrt)
    assert past == 0, (ours, theirs, past, worse)


STUDENT_T = "(nu + 1)/2*log(1 + (x - m)**2/(nu*s**2)) + log(s)"


# The Student-t NLL without its log Γ terms (the README's advice for a fixed ν; ν learned here all the same, as a
# user does): ∂ν = log(1 + z²/ν)/2 − (ν + 1)z²/(2ν(ν + z²)), z = (x − m)/s, cancels where z²/ν is small. Measured
# (session 43, numpy backend, float64, 100 points m, x ~ N(0, 3), ν ∈ [1, 30], s ∈ [0.1, 10] log-uniform, seed 4302,
# and the point named): worst 218 ULP, past the bound at 37 of 101, worse than torch autograd (8.8e5 worst) at 8.
# At the point named NumPy gives 196 ULP, torch 316, and the Triton kernel (symnet.torch.from_formula, under
# TRITON_INTERPRET=1) 828: worse than torch (test below). Float32 0.49 (torch 9.0e5). `symnet verify` FAILs it too
# (df_dnu float64 6.8e+38 at extreme points, float32 9557).
# Fixed by h-nll44 (session 44): 0.50 ULP (the widened-log-sum rule); tests/test_nll44.py
def test_student_t_nll_gradient_in_nu_float64():
    rng = np.random.default_rng(4302)
    n = 100
    cols = [rng.normal(0, 3, n), np.exp(rng.uniform(0, np.log(30), n)), np.exp(rng.uniform(np.log(0.1), np.log(10), n)),
            rng.normal(0, 3, n)]
    point = (-5.126412759045692, 3.4798183568623333, 2.3248139648967343, -1.5378560593029214)
    cols = [np.append(c, p) for c, p in zip(cols, point)]
    ours, theirs, past, worse = _measure(STUDENT_T, ["m", "nu", "s", "x"], cols, "nu")
    assert past == 0, (ours, theirs, past, worse)


COSINE = "1 - (a1*b1 + a2*b2 + a3*b3)/sqrt((a1**2 + a2**2 + a3**2)*(b1**2 + b2**2 + b3**2))"


# A cosine-similarity loss 1 − cos(a, b) of two written 3-vectors: the value cancels where a ∥ b (cos ≈ 1), after
# the dot product and the norms are rounded. Measured (session 43, numpy backend, float64, 100 points N(0, 3), seed
# 4303, and the point named, a = (−3.5309, 1.4128, −3.0266), b = (−5.0176, 1.4693, −3.4688), cos = 0.99617): f worst
# 324 ULP, past the bound at 9 of 101, worse than torch (324 worst, the same form) at 1. Float32 0.50 (torch 388).
# The gradients were within 5.4 ULP float64 in session 43's sweep through from_formula (torch 441).
# Fixed in session 44 (h-cos44, the cosine-complement rule): f within the bound at all 101 (was a strict xfail,
# "measured: written cosine-similarity loss f 324 ULP float64 near a ∥ b (torch 324)"); tests/test_cos44.py.
def test_cosine_similarity_loss_value_float64():
    rng = np.random.default_rng(4303)
    cols = [rng.normal(0, 3, 100) for _ in range(6)]
    point = (-3.5309021342335125, 1.4127649413163446, -3.026646764647645, -5.017617136828335, 1.469250449933146,
             -3.468774262019031)
    cols = [np.append(c, p) for c, p in zip(cols, point)]
    ours, theirs, past, worse = _measure(COSINE, ["a1", "a2", "a3", "b1", "b2", "b3"], cols, None)
    assert past == 0, (ours, theirs, past, worse)


# The same point through symnet.torch.from_formula (the Triton kernel, under the interpreter without a GPU): ∂ν is
# −0.000813891251213894 for −0.00081389125121398384…, 828 ULP, where NumPy's kernel gives 196 and torch autograd of
# the formula as written 316 (session 43, h-user43); within the bound since h-cauchy43's cauchy-quotient rule (the
# lead's CI of the merged session).
def test_student_t_nll_gradient_in_nu_from_torch_float64():
    torch = triton_torch()
    st = pytest.importorskip("symnet.torch")
    point = (-5.126412759045692, 3.4798183568623333, 2.3248139648967343, -1.5378560593029214)
    ts = [torch.tensor([p], dtype=torch.float64, requires_grad=True) for p in point]
    module = st.from_formula(STUDENT_T, inputs=["m", "nu", "s", "x"])
    got = torch.autograd.grad(module(*ts).sum(), ts)[1].item()
    theirs = _torch_grad(STUDENT_T, ["m", "nu", "s", "x"], [np.array([p]) for p in point], "nu", "float64")[0]
    with mpmath.workdps(150):
        true = _truth_fn(STUDENT_T, ("m", "nu", "s", "x"), "nu")(*[mpmath.mpf(p) for p in point])
    assert ulps(got, true, np.float64) <= max(BOUND[np.float64], ulps(theirs, true, np.float64)), got


RNN_CELL = "tanh(w*x + u*h + b)"


# An RNN cell tanh(w·x + u·h + b): its gradient 1 − tanh² is printed as 4σ(2s)σ(−2s) from the doubled sum
# s₂ = 2b + 2hu + 2wx, whose terms overflow one by one where b, h·u or w·x lie past 8.99e307: at b = −1e308,
# h = u = 1e154 (h·u + b = 6.29e291 exactly) 2b = −inf and 2hu = +inf, so s₂ is NaN and every gradient NaN where the
# truth is 0 (tanh(6.29e291) = 1; f itself, computed apart, is 1.0, right); torch autograd gives 1.0 (it rounds
# h·u + b to 0); at every input −1.7976931348623157e308 (symnet verify's extreme point) NaN where torch gives 0, the
# truth. Measured session 43, numpy backend float64 (`symnet verify "tanh(w*x + u*h + b)"`: df_db … df_dx float64
# NaN×1, FAIL; float32 computes the block in float64 and is right, 0.0).
# Session 44 (h-cos44): the compensated sum is taken again as 2·(b + h·u + w·x) where it is not finite (the printers'
# _common_coefficient_terms): the extreme point is right (0, both backends; tests/test_cos44.py). At b = −1e308,
# h = u = 1e154 the sum is now finite and wrong instead: fl(h·u) = 1e308 cancels b to 0, the rounding of h·u (6.29e291)
# lost, so s₂ = 0.25 (from w·x) and ∂b = 4σ(0.25)σ(−0.25) = 0.98454 for 0 (torch 1.0): the rounded-argument rule keeps
# σ(s₂) as written where the computed s₂ ≥ −2, which a sum of products rounded at 1e308 is not a bound of.
@pytest.mark.parametrize("point", [
    pytest.param(dict(b=-1e308, h=1e154, u=1e154, w=0.5, x=0.25), marks=pytest.mark.xfail(
        strict=True, reason="measured: tanh(w*x + u*h + b) float64 ∂b 0.98454 for 0 at b = -1e308, h = u = 1e154 "
                            "(fl(h·u) cancels b: the rounding of h·u, 6.29e291, lost; torch 1.0)")),
    dict(b=-1.7976931348623157e308, h=-1.7976931348623157e308, u=-1.7976931348623157e308,
         w=-1.7976931348623157e308, x=-1.7976931348623157e308)])
def test_rnn_cell_gradient_where_the_doubled_sum_overflows_float64(point):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = _kernel(RNN_CELL)(**{n: np.array([v]) for n, v in point.items()})
    assert out[0][0] == 1.0  # f: tanh of a true sum past 19 is 1 (right before the fix too)
    assert all(g[0] == 0.0 for g in out[1:]), out  # 1 − tanh² underflows to 0 at a true sum past 355
