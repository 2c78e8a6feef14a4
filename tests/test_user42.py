"""Session 42, a new user's pass with formulas of their own, from the README alone (PPO's clipped surrogate, a hinge
GAN loss, WGAN-GP's gradient penalty, log-cosh written with exp, a Gaussian NLL with a learned log-variance, a
two-component Laplace mixture, SELU and CELU written out, a Burgers residual u_t + u·u_x − ν·u_xx, a label-smoothed
BCE, a two-logit softmax with a learned temperature, the VAE's Gaussian KL term, a contrastive loss and the binary
entropy: derived, verified, compiled for NumPy, run through symnet.torch.from_formula against torch autograd).

Each test of a fix failed before its change (the before in its comment); the strict xfails record faults found and
not fixed, with the measured numbers, torch autograd (float64 or the dtype named) at the same points beside them."""
import fractions
import functools
import subprocess
import sys
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from conftest import ulps
from symnet.render import TexPrinter, TextPrinter, _ascii

BOUND = {np.float64: 4.0, np.float32: 8.0}


@functools.lru_cache(maxsize=None)
def _kernel(formula):
    return symnet.compile(symnet.derive(formula), progress=False)


def _call(formula, dtype, **columns):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _kernel(formula)(**{k: np.asarray(v, dtype) for k, v in columns.items()})


def _ulps_of(got, truths, dtype):
    return np.array([ulps(g, t, dtype) for g, t in zip(got, truths)])


def _torch(formula, names, columns, dtype="float64"):
    """torch autograd of the formula as written (SymPy's lambdify onto torch, not symnet's code): value, gradients."""
    torch = pytest.importorskip("torch")
    expr = symnet.parse(formula)
    syms = [sp.Symbol(n, real=True) for n in names]
    expr = expr.subs({s: sp.Symbol(s.name, real=True) for s in expr.free_symbols})
    fn = sp.lambdify(syms, expr, modules=[{"sigmoid": torch.sigmoid, "logsigmoid": torch.nn.functional.logsigmoid,
                                           "Heaviside": lambda x: (x > 0).to(x.dtype)}, torch])
    ts = [torch.tensor(np.asarray(c, np.float64), dtype=getattr(torch, dtype), requires_grad=True) for c in columns]
    y = fn(*ts)
    grads = torch.autograd.grad(y.sum(), ts, allow_unused=True)
    return y.detach().double().numpy(), [g.double().numpy() for g in grads]


# ---------------------------------------------------------------- fixed: a written float constant prints as itself

SELU = "1.0507009873554805*where(x > 0, x, 1.6732632423543772*(exp(x) - 1))"


# before: df/dx = {≈2.1014·10¹⁵/(2·10¹⁵) if x > 0; ≈8.7905·10³⁰·u₁/(5·10³⁰) otherwise} (the constants, read exactly,
# were printed as quotients of rounded 16- and 31-digit integers); LaTeX \frac{\approx 2.1014 \cdot 10^{15}}{2 \cdot
# 10^{15}}; ASCII ~=2.1014*10^15/(2*10^15)
def test_selu_written_out_prints_its_constants():
    d = symnet.derive(SELU)
    result = str(d).split("\nResult\n")[1]
    assert "{1.0507009873554805 if x > 0; ≈1.7581·exp(x) otherwise}" in result, result
    assert "10¹⁵" not in result and "10³⁰" not in result
    latex = symnet.render.render(d, "latex")
    assert r"\approx 1.7581 \cdot e^{x}" in latex and "10^{30}" not in latex
    assert "~=1.7581*exp(x)" in symnet.render.render(d, "ascii")
    # the printed numbers against the exact ones (Python's fractions, not SymPy): the first exact, the second rounded
    assert fractions.Fraction("1.0507009873554805") == fractions.Fraction(sp.Rational("1.0507009873554805"))
    exact = fractions.Fraction("1.0507009873554805") * fractions.Fraction("1.6732632423543772")
    assert abs(fractions.Fraction("1.7581") / exact - 1) < fractions.Fraction(1, 10 ** 4)


@pytest.mark.parametrize("number, text, latex", [
    (sp.Rational("1.0507009873554805"), "1.0507009873554805", "1.0507009873554805"),
    (sp.Rational("1.0507009873554805") * sp.Rational("1.6732632423543772"), "≈1.7581", r"\approx 1.7581"),
    (1 / sp.Rational("1.0507009873554805"), "≈0.951746", r"\approx 0.951746"),
    (sp.Rational("1.0507009873554805") / 10 ** 40, "≈1.0507·10⁻⁴⁰", r"\approx 1.0507 \cdot 10^{-40}"),
    # unchanged: a power of two or ten, or one long integer over a short one, prints as before
    (1 / sp.Integer(2) ** 60, "1/2⁶⁰", r"\frac{1}{2^{60}}"),
    (sp.Rational(3, 2 * 10 ** 323), "3/(2·10³²³)", r"\frac{3}{2 \cdot 10^{323}}"),
    (sp.Rational(1, 1234567890123456789), "1/(≈1.23457·10¹⁸)", r"\frac{1}{\approx 1.23457 \cdot 10^{18}}"),
    (sp.Rational(62137, 1000), "62.137", "62.137"),
])
def test_a_fraction_of_long_integers_prints_as_one_number(number, text, latex):
    x = sp.Symbol("x")
    assert TextPrinter({"order": "none"}).doprint(number) == text
    assert TexPrinter({"order": "none"}).doprint(number) == latex
    if text.startswith(("≈", "1.0")):  # as a coefficient: before, −≈2.1014·10¹⁵·x/(2·10¹⁵)
        assert _ascii(TextPrinter({"order": "none"}).doprint(-number * x)) == _ascii("−" + text + "·x")


def test_selu_written_out_gradient_against_torch():
    """The comparison beside the printout's fix (the code is unchanged): ∂x within 4 ULP of mpmath at 301 points of
    [−20, 5], torch autograd of the same formula within 4 too."""
    x = np.linspace(-20, 5, 301)
    with mpmath.workdps(50):
        a, s = mpmath.mpf("1.0507009873554805"), mpmath.mpf("1.6732632423543772")
        truth = [a if v > 0 else a * s * mpmath.exp(mpmath.mpf(v)) for v in x]
    assert _ulps_of(_call(SELU, np.float64, x=x)[1], truth, np.float64).max() <= 4
    _, (tdx,) = _torch(SELU, ["x"], [x])
    assert _ulps_of(tdx, truth, np.float64).max() <= 4


# ---------------------------------------------------------------- fixed: verify without torch says what to install

# before: each triton cell "not measurable in the interpreter (ModuleNotFoundError: No module named 'torch')", each
# torch cell "torch is not installed", in a fresh virtual environment made by the README's install line
def test_verify_without_torch_says_how_to_get_the_columns(tmp_path):
    code = ("import sys; sys.modules['torch'] = None; sys.modules['triton'] = None\n"
            "from symnet.cli import main; sys.exit(main(['verify', 'relu(1 - x)', '--backend', 'numpy,triton',"
            " '--dtype', 'float64', '--points', '10']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "SYMNET_CACHE": str(tmp_path)})
    lines = run.stdout.splitlines()
    triton = [ln for ln in lines if ln.strip().startswith("symnet triton, f, float64")]
    torch = [ln for ln in lines if ln.strip().startswith("torch autograd, f, float64")]
    assert triton and "not available: torch is not installed (pip install torch triton" in triton[0], run.stdout
    assert "ModuleNotFoundError" not in run.stdout
    assert torch and "torch is not installed (pip install torch, for this column)" in torch[0], run.stdout
    assert run.returncode == 1  # the triton column not measured: not a pass, as before


def test_verify_without_triton_says_how_to_get_the_column(tmp_path):
    """torch without triton: the cell says triton cannot be imported and how to install it (a first version of the fix
    above said "torch is not installed" for an ImportError without a module name, tests/test_breakage7_verify.py's)."""
    pytest.importorskip("torch")
    code = ("import sys; sys.modules['triton'] = None\n"
            "from symnet.cli import main; sys.exit(main(['verify', 'relu(1 - x)', '--backend', 'numpy,triton',"
            " '--dtype', 'float64', '--points', '10']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "SYMNET_CACHE": str(tmp_path)})
    triton = [ln for ln in run.stdout.splitlines() if ln.strip().startswith("symnet triton, f, float64")]
    assert triton and "not available: triton cannot be imported (" in triton[0] and "pip install" in triton[0], \
        run.stdout
    assert run.returncode == 1


def test_verify_with_torch_still_measures_the_triton_column(tmp_path):
    """The fix above imports triton to say when it is missing; the interpreter must be set before that import (a first
    version of it imported triton first: 'not available: TRITON_INTERPRET=1 was set after triton was imported')."""
    pytest.importorskip("torch")
    pytest.importorskip("triton")
    env = {k: v for k, v in __import__("os").environ.items() if k != "TRITON_INTERPRET"}
    run = subprocess.run([sys.executable, "-m", "symnet", "verify", "relu(1 - x)", "--backend", "numpy,triton",
                          "--dtype", "float64", "--points", "10"], capture_output=True, text=True, timeout=300,
                         env={**env, "SYMNET_CACHE": str(tmp_path)})
    assert run.returncode == 0 and "not available" not in run.stdout, run.stdout[-2000:]
    assert "symnet triton" in run.stdout


# ---------------------------------------------------------------- fixed: the interpreter's NumPy warnings

LOGCOSH = "log((exp(p - t) + exp(t - p))/2)"


# before: from_formula(LOGCOSH) on CPU tensors under TRITON_INTERPRET=1 printed "triton/runtime/interpreter.py:599:
# RuntimeWarning: invalid value encountered in divide" (a where’s discarded lane), 5 or more for this call; a GPU
# never warns. The values and gradients are unchanged: against mpmath and torch autograd at the same 301 points.
def test_from_formula_under_the_interpreter_does_not_warn():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available() or __import__("os").environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("the interpreter's path: a CPU machine with TRITON_INTERPRET=1")
    import symnet.torch as st

    f = st.from_formula(LOGCOSH, inputs="p t")
    d = np.linspace(-800, 800, 301)
    p = torch.tensor(d, requires_grad=True)
    t = torch.zeros(301, dtype=torch.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = f(p, t)
        (dp,) = torch.autograd.grad(y.sum(), [p])
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    with mpmath.workdps(50):
        fy = [mpmath.log(mpmath.cosh(mpmath.mpf(v))) for v in d]
        fd = [mpmath.tanh(mpmath.mpf(v)) for v in d]
    assert _ulps_of(y.detach().numpy(), fy, np.float64).max() <= 4
    assert _ulps_of(dp.numpy(), fd, np.float64).max() <= 4
    # torch autograd of the formula as written: inf and NaN past |p − t| ≈ 710, where symnet is within 4 ULP
    tf, (tdp, _) = _torch(LOGCOSH, ["p", "t"], [d, np.zeros(301)])
    assert np.isnan(tdp).sum() > 0 and np.isinf(tf).sum() > 0


# ---------------------------------------------------------------- fixed: a count error names the argument x

# before: "exp() takes exactly one argument: exp(arg)" (SymPy's own parameter name, as sin, abs, log1p, erf, sign),
# "sqrt() takes exactly one argument", "ndtr_tanh() takes exactly one argument", "erfcx() …" (no usage at all), where
# sigmoid(x, 2) said "sigmoid(x)"
@pytest.mark.parametrize("formula, says", [
    ("exp(x, 2)", "exp() takes exactly one argument: exp(x)"),
    ("sin(x, y)", "sin() takes exactly one argument: sin(x)"),
    ("abs(x, y)", "abs() takes exactly one argument: abs(x)"),
    ("sqrt(x, 2)", "sqrt() takes exactly one argument: sqrt(x)"),
    ("ndtr_tanh(x, 1)", "ndtr_tanh() takes exactly one argument: ndtr_tanh(x)"),
    ("erfcx(x, 1)", "erfcx() takes exactly one argument: erfcx(x)"),
    ("sigmoid(x, 2)", "sigmoid() takes exactly one argument: sigmoid(x)"),  # as before
    ("log_cosh(p)", "log_cosh() takes 2 arguments: log_cosh(x, t)"),  # as before
])
def test_a_count_error_names_the_argument(formula, says):
    from symnet.errors import ParseError

    with pytest.raises(ParseError) as info:
        symnet.parse(formula)
    assert str(info.value).startswith(says) and "arg)" not in str(info.value), str(info.value)


# ---------------------------------------------------------------- left open: strict xfails with their numbers

VAE_KL = "-0.5*(1 + lv - m**2 - exp(lv))"


def _vae_points():
    lv = np.repeat(np.linspace(-1e-8, 1e-8, 20), 15)
    m = np.tile(np.concatenate([-np.logspace(-9, -8, 8), np.logspace(-9, -8, 7)]), 20)
    with mpmath.workdps(50):
        truth = [(mpmath.mpf(b) ** 2 + mpmath.expm1(mpmath.mpf(a)) - mpmath.mpf(a)) / 2 for a, b in zip(lv, m)]
    return lv, m, truth


# measured: the VAE's KL term −½(1 + log σ² − μ² − σ²) with lv = log σ² cancels where lv and μ are small: at lv = 0,
# μ = −7.1e−9 it is 0 for 2.52e−17 (8.2e15 ULP in float64, float32 1.3e7 at μ = −6.7e−9); over these 300 points
# (lv ∈ [−1e−8, 1e−8], |μ| ∈ [1e−9, 1e−8]) float64 past 4 ULP at 300 of 300 (worst 9.9e15), float32 past 8 at 300
# (worst 1.7e7); torch autograd of the formula as written past the bound at 300 of 300 in each dtype too (float64 worst
# 8.1e16, float32 1.7e7; −0 at the worst point above), worse than torch at none, but not accurate. The fix is a rule 1 + x − eˣ → −(expm1(x) − x), the difference by its series
# for small |x|, which symnet does not have; ∂lv = (eˡᵛ − 1)/2 and ∂μ = μ are within 0.5 ULP.
# fixed by h-vae43's vanishing-constant-group rule (session 43; was strict xfail "measured: VAE KL f 9.9e15 ULP float64
# at 300/300 points near lv = μ = 0; torch the same"): now f ≤ 0.50 ULP in both dtypes here (tests/test_vae43.py)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vae_kl_near_zero(dtype):
    lv, m, truth = _vae_points()
    got = _call(VAE_KL, dtype, lv=lv, m=m)[0]
    assert _ulps_of(got, truth, dtype).max() <= BOUND[dtype]


def test_vae_kl_torch_is_no_better():
    lv, m, truth = _vae_points()
    tf, _ = _torch(VAE_KL, ["lv", "m"], [lv, m])
    assert (_ulps_of(tf, truth, np.float64) > 4).sum() == 300


GP = "(sqrt(gx**2 + gy**2) - 1)**2"


def _gp_points():
    gx = np.logspace(-9, -7, 300)
    gy = np.ones_like(gx)
    with mpmath.workdps(60):
        s = [mpmath.sqrt(mpmath.mpf(a) ** 2 + 1) for a in gx]
        return gx, gy, [(r - 1) ** 2 for r in s], [2 * (r - 1) / r for r in s]


# measured: WGAN-GP's penalty (‖g‖ − 1)² with ‖g‖ = sqrt(gx² + gy²) cancels where ‖g‖ ≈ 1, its target: at gx = −1.78e−8,
# gy = 1 f is 0 for 2.52e−32 (4.6e15 ULP), ∂gx −0 for −5.66e−24 (7.7e15), ∂gy 0 for 3.18e−16 (6.4e15) in float64
# (float32 1.3e7, 1.2e7 and 1.1e7 at gx = −1.68e−8); over gx from 1e−9 to 1e−7 at gy = 1 (300 points) f past 4 ULP
# at 300 (worst 8.9e15), ∂gy at 300 (worst 8.9e15); torch autograd the same (past 4 at 300 each, the same worst). sqrt(s) − 1 = (s − 1)/(sqrt(s) + 1) with
# s − 1 = gx² + (gy − 1)(gy + 1) would be exact; no rule writes it.
# fixed by h-vae43's root-minus-constant rule (session 43; was strict xfail "measured: WGAN-GP (|g| - 1)**2 8.9e15 ULP at
# 300/300 points near |g| = 1; torch the same"): now f ≤ 1.71, ∂gy ≤ 1.94 ULP here (tests/test_vae43.py)
@pytest.mark.parametrize("output", [0, 2])
def test_gradient_penalty_near_unit_norm(output):
    gx, gy, f, dgy = _gp_points()
    got = _call(GP, np.float64, gx=gx, gy=gy)[output]
    assert _ulps_of(got, f if output == 0 else dgy, np.float64).max() <= 4


def test_gradient_penalty_torch_is_no_better():
    gx, gy, f, dgy = _gp_points()
    tf, (_, tdgy) = _torch(GP, ["gx", "gy"], [gx, gy])
    assert (_ulps_of(tf, f, np.float64) > 4).sum() == 300 and (_ulps_of(tdgy, dgy, np.float64) > 4).sum() == 300


MIXTURE = "-log(sigmoid(a)*exp(-abs(x - m1)) + sigmoid(-a)*exp(-abs(x - m2)))"
MIXTURE_LSE = "-log(exp(logsigmoid(a) - abs(x - m1)) + exp(logsigmoid(-a) - abs(x - m2)))"


def _mixture_points():
    x = np.linspace(750, 1000, 251)
    with mpmath.workdps(50):
        truth = [-mpmath.log(mpmath.exp(-mpmath.mpf(v)) / 2 + mpmath.exp(-(mpmath.mpf(v) - 2)) / 2) for v in x]
    return x, truth


# measured: a two-component Laplace mixture's NLL −log(σ(a)e^−|x−m₁| + σ(−a)e^−|x−m₂|), written as the density reads,
# is inf (true 798.57 at x = 800, a = m₁ = 0, m₂ = 2) and every gradient NaN once both terms underflow, |x − m| ≳ 745:
# at all 251 points of x ∈ [750, 1000] (f inf, each of the four gradients NaN at 251); symnet verify: f inf×40 float64, inf×36 float32, each gradient NaN×35–40.
# torch autograd the same (inf, NaN). The logaddexp rule is not found through the products σ(a)·e^u; written with
# the log-weights inside the exponentials (MIXTURE_LSE, below) it is within 0.35 ULP there.
# Was a strict xfail ("measured: Laplace mixture NLL inf at 251/251 points x in [750, 1000]; torch inf"), fixed by
# h-mix49's sigmoid-weighted-exps rule (sigmoids.py; tests/test_mix49.py): f within 0.5 ULP at the 251 points.
def test_mixture_far_from_both_means():
    x, truth = _mixture_points()
    z = np.zeros_like(x)
    got = _call(MIXTURE, np.float64, a=z, m1=z, m2=z + 2, x=x)[0]
    assert _ulps_of(got, truth, np.float64).max() <= 4


def test_mixture_written_with_log_weights_is_accurate():
    """The workaround of the xfail above, measured at its points; torch autograd of that form is finite too."""
    x, truth = _mixture_points()
    z = np.zeros_like(x)
    assert _ulps_of(_call(MIXTURE_LSE, np.float64, a=z, m1=z, m2=z + 2, x=x)[0], truth, np.float64).max() <= 4
    tf, _ = _torch(MIXTURE, ["a", "m1", "m2", "x"], [z, z, z + 2, x])
    assert np.isinf(tf).all()


def test_readme_names_the_mixture_workaround():
    """Before: the README said nothing of a mixture written as the density reads (inf and NaN where both terms
    underflow); it now gives both forms, each of which the tests above measure (the first fixed in session 49)."""
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert f"`{MIXTURE}`, was inf with NaN gradients" in readme and f"`{MIXTURE_LSE}`, is within 0.35 ULP" in readme


TEMPERATURE = "exp(a/T)/(exp(a/T) + exp(b/T))"


def _temperature_points():
    T = np.linspace(0.00255, 0.0035, 300)
    with mpmath.workdps(50):
        truth = [1 / (1 + mpmath.exp((mpmath.mpf(2.5) - mpmath.mpf(0.7)) / mpmath.mpf(t))) for t in T]
    return T, np.full_like(T, 0.7), np.full_like(T, 2.5), truth


# measured: a two-logit softmax with a learned temperature, exp(a/T)/(exp(a/T) + exp(b/T)), at a small T: the max-shift
# form takes the limit 0 or 1 wherever |max(a/T, b/T)| > 700, so at T = 0.00255, a = 0.7, b = 2.5 f is 0 for 2.93e−307
# (7.4e15 ULP), and ∂a 0 for 1.26e−212 at T = 0.00142, a = 1, b = 0.3; f float64 124 ULP at T = 2.5, a = −709, b = 1;
# over T ∈ [0.00255, 0.0035] (300 points, a = 0.7, b = 2.5) f is 0 at all 300 (true 2.75e−307 … 4.45e−224); torch
# autograd of the formula as written also 0 (e^(b/T) overflows), torch.softmax right.
# after the merge of h-temp42 (softmax-pair rule: σ(a/T − b/T), the difference in double words): ≤ 0.50 ULP at the 300
def test_temperature_softmax_small_T():
    T, a, b, truth = _temperature_points()
    got = _call(TEMPERATURE, np.float64, T=T, a=a, b=b)[0]
    assert _ulps_of(got, truth, np.float64).max() <= 4


def test_temperature_softmax_torch_is_no_better():
    T, a, b, truth = _temperature_points()
    tf, _ = _torch(TEMPERATURE, ["T", "a", "b"], [T, a, b])
    assert (tf == 0).all()


GNLL = "0.5*(s + (x - mu)**2*exp(-s))"


def _gnll_points():
    s = np.linspace(-709.6, -709.0, 200)
    with mpmath.workdps(50):
        truth = [(1 - mpmath.mpf(2.25) * mpmath.exp(-mpmath.mpf(v))) / 2 for v in s]
    return s, np.full_like(s, 1.0), np.full_like(s, 2.5), truth


# was a strict xfail, measured: a Gaussian NLL with a learned log-variance s, ½(s + (x − μ)²e^−s): ∂s = (1 − (x −
# μ)²e^−s)/2 is formed before the halving, so at s = −709, x − μ = −1.5 it is −inf for −9.2457e307; at 200 points of
# s ∈ [−709.6, −709] −inf at 200; torch autograd finite and within 0.97 ULP at all 200 (it halves first) — worse than
# torch here. f itself is right (0.50 ULP: 9.2457e307 where torch's value is inf). Fixed by h-gnll42's scale-into-sum
# rule (≤ 0.50 ULP at the 200 points; tests/test_gnll42.py).
def test_gaussian_nll_logvar_ds_near_overflow():
    s, x, mu, truth = _gnll_points()
    got = _call(GNLL, np.float64, s=s, x=x, mu=mu)[2]
    assert _ulps_of(got, truth, np.float64).max() <= 4


def test_gaussian_nll_logvar_ds_torch():
    s, x, mu, truth = _gnll_points()
    _, (_, tds, _) = _torch(GNLL, ["mu", "s", "x"], [mu, s, x])
    assert _ulps_of(tds, truth, np.float64).max() <= 4


PPO = "-min(exp(lp - lq)*A, clamp(exp(lp - lq), 0.8, 1.2)*A)"


# measured: PPO's clipped surrogate derives right (∂lp within 0.5 ULP of torch at 2000 random points) but its printed
# Result is 5,038 characters with branches no point reaches ("−2·A·u₂ if u₂ ≤ 1.2 and u₃ − u₅ > 0 and u₃ − u₅ < 0"):
# min's tie rule (½ each side) and clamp's two kinks combined without pruning contradictory conditions.
@pytest.mark.xfail(strict=True, reason="measured: PPO's df/dlp printout 5,038 characters, with contradictory branches")
def test_ppo_gradient_prints_readably():
    d = symnet.derive(PPO, wrt=["lp"])
    result = str(d).split("\nResult\n")[1]
    assert "u₃ − u₅ > 0 and u₃ − u₅ < 0" not in result and len(result) < 1000, len(result)
