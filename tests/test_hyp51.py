"""Session 51, helper hyp51: random compositions against mpmath, a fresh search (issue 16's Hypothesis check).

benchmarks/compositions51.py draws from benchmarks/compositions34.py's and compositions36.py's grammars one level
deeper (2–4), with one, two or three inputs (x alone, x and y, or x, y and z), seed 51, and measures each draw with
symnet.verify (mpmath at 50+ digits, float64 and float32, values and every gradient, at random points and the
extremes 0, ±tiny, subnormals, ±88.7, ±1e4, the overflow thresholds, ±inf), torch autograd of the formula as written
beside it; every compile capped at 20 CPU seconds:

    nice -n 15 python benchmarks/compositions51.py --seed 51 --count 400 --jobs 2 --cpu-minutes 40 \
        --compile-limit 20 --timeout 120 --triton-every 15 --out /tmp/hyp51/s51.jsonl

Fixed here: two formulas that symnet refused or crashed on, where torch computes them (worse than torch by the search's
own ranking: no result at all).

- ``squared_hinge(kl_div(x, z), huber(x, y))`` did not compile: "ValueError: The argument '2/2' is not comparable"
  (products._overflowed_products → quotients._as_math, whose walk takes a select's written branch, turned huber's kept
  bracket Grouped(Piecewise(…, (2, True))) into Grouped(2), and Max(0, Grouped(2)/2) asks every argument to be
  comparable, which a bracket of a constant was not). Now a kept bracket of a constant evaluates as its content
  (widening.Grouped._eval_evalf). Measured after (30 random points, x, y in (−3, 3), z in (0.05, 3)): f and ∂x, ∂y,
  ∂z ≤ 3.3 ULP float64 (torch 9.8–22.6), ≤ 0.5 float32 (torch 2.7–9.0).
- ``celu(tan(y)**3) − celu(bce(sigmoid(exp(x − z)), sigmoid(z)))`` was refused by symnet.derive: "step ∂f/∂u4 is
  false: at a random point it is −0.855610809354, the derivative there is −0.855610809354": the step checker's node
  values, at 30 digits, hold log1p(−σ(e^(x − z))) with σ = 1 − 2.4e−11, i.e. 19 digits, and the step (written in σ) and
  the chain of local derivatives differed by 2e−21 relative, past the checker's 1e−25. Now a point where they differ
  is computed again from the inputs at 120 digits before the step is called false (graphcheck.GraphCheck._equal_finer);
  a false step is still refused (tests/test_domain34.py; below). Cost: none where the steps agree (the usual case).

Found and not fixed (strict xfails below; float64, NumPy backend, measured on this branch; torch autograd of the formula
as written, float64), ranked as the issue asks: NaN/inf where torch is finite first, then ULPs:
- ``(expm1(x)/x)**(-2)`` (SymPy writes x²/expm1(x)²) at x = ±1e−300, 1e−200, −1e−160: f inf for 1 (torch 1): the
  series-leading-power rule takes expm1(x)⁻² as σ(−x)²·tanh(x/2)⁻², tanh(x/2)⁻² as (4/x)/x below 2⁻³², which
  overflows before x² cancels it (the by-exponents product gets the overflowed factor); fine from |x| ≈ 1e−150;
- ``100*mse(x, z)/sigmoid(exp(z))`` ∂z at (0, 709), (0, 709.7), (1, 709): NaN for 141800 (torch 141800 exactly):
  (x − z)·e^z overflows before σ(−e^z) = 0 multiplies it (inf·0); at z = 709 exactly _exp_overflowed_by is not taken
  (u > 709 only) and its r is NaN, not ±inf;
- ``0.001*(min(x, y) - x**(-1))*(2/(y - 100) + 3)`` f at x = +inf, y = 0.7: NaN for 0.0020859 (torch 0.0020859), at
  x = −inf NaN for −inf (torch −inf): the common-denominator form (x·min(x, y) − 1)·(3y − 298)/(1000·x·(y − 100)) is
  inf/inf; its far branch covers |y| = inf only;
- ``(hardshrink(x + 1, 0.3)/x)**2`` f at x = −1.3: 0 for 0.0532544 (torch 0.0532544): x + 1 = −0.30000000000000004
  passes the shrink, symnet's condition (on x, the constant moved across) does not; at x = ±1e308, −1.8e308 f inf for
  1 (torch 1 at 1e308): h²/x², each square overflowing;
- ``exp(x - y)/y`` ∂y at (0, −1 + 2⁻⁵³): 0 for −3.02e−16, 6.1e15 ULP (torch −4.44e−16, 2.9e15 ULP): −e^(x−y)·(1/y
  + 1/y²) cancels; −e^(x−y)·(y + 1)/y² (y + 1 exact) would not;
- ``(cos(y)/expm1(y))**z`` ∂z at (1000, 0): −inf for −1000.576 (torch 0, finite and as wrong): log(cos y/expm1 y) with
  expm1(y) overflowing; log|cos y| − y − log1p(−e^−y) would not.
- ``((x**(3/2) - 3)/softplus(z - 1, 2))**(1/2)`` ∂z at x = z = 1e200: −0 for −5e−151 (torch 1.12 ULP): underflows
  where the truth is normal.
Slow compiles (past the search's 20 CPU-second cap, a finding): ``tanhshrink(x/y) - 100`` and ``huber(max(x, z) +
1/y − x·x/(y + y), erfcx(log(e^x + e^y))/log_cosh(min(x, z), y))``.
Also seen, not kept: ≤ 3.7 ULP worse than torch within the bound (gelu_tanh(mse)², silu(huber), hardswish(e^(x−y)));
bce/celu of σ(e^(x − z)) past the bound where torch is too; the Pow amplification of ((cos y)/expm1 y)^88.7 (167 ULP,
torch 54). No compile past the 20 CPU-second cap in the draws measured (the slowest 18.7 s of CPU:
log(squared_hinge(focal(x, z), z))).
"""
import warnings

import mpmath
import numpy as np
import pytest

from conftest import compiled, measure_formula, ulps

MP_DPS = 60
DTYPES = pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
BOUND = {np.float64: 4.0, np.float32: 8.0}


HINGE = "squared_hinge(kl_div(x, z), huber(x, y))"
CELU_BCE = "celu(tan(y)**3) - celu(bce(sigmoid(exp(x - z)), sigmoid(z)))"


def _hinge_torch(t, x, y, z):
    kl = t.xlogy(z, z) - z * x
    return t.relu(1 - kl * t.nn.functional.huber_loss(x, y, reduction="none")) ** 2


@DTYPES
def test_squared_hinge_of_kl_and_huber_compiles_and_is_accurate(dtype):
    # before (9054e200): symnet.compile raised ValueError "The argument '2/2' is not comparable"
    rng = np.random.default_rng(51)
    columns = [rng.uniform(-3, 3, 30), rng.uniform(-3, 3, 30), rng.uniform(0.05, 3, 30)]
    measured = measure_formula(HINGE, "x y z", columns, dtype, _hinge_torch, normal_only=True)
    for name, (worst, past, worse, torch_worst) in zip(["f", "df_dx", "df_dy", "df_dz"], measured):
        assert past == 0 and worse == 0, (name, worst, torch_worst)


def test_bce_of_sigmoids_with_a_cancelling_node_derives():
    # before (9054e200): symnet.derive raised DerivationError "step ∂f/∂u4 is false" for a right step
    k = compiled(CELU_BCE)
    x, y, z = 1.417197026480958133, 0.29127329984062111379, -1.779303244345676438  # the checker's first point
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        got = k(x=np.array([x]), y=np.array([y]), z=np.array([z]))
    with mpmath.workdps(60):
        X, Y, Z = (mpmath.mpf(v) for v in (x, y, z))
        s, q = 1 / (1 + mpmath.exp(-mpmath.exp(X - Z))), 1 / (1 + mpmath.exp(-Z))
        b = -(q * mpmath.log(s) + (1 - q) * mpmath.log(1 - s))  # both logs above −100 here
        t3 = mpmath.tan(Y) ** 3
        f = t3 - b  # celu(t3) = t3 (t3 > 0), celu(b) = b (b > 0)
        dfdy = 3 * mpmath.tan(Y) ** 2 / mpmath.cos(Y) ** 2
    assert ulps(got[0][0], f, np.float64) <= 4, got[0][0]
    assert ulps(got[2][0], dfdy, np.float64) <= 4, got[2][0]


def test_a_step_off_by_1e_20_is_still_refused(monkeypatch):
    """The finer check only accepts a step right at 120 digits: one off by 1e−20 relative (past the 30-digit check's
    1e−25, as far off as the cancelling node above) is refused as before."""
    import sympy as sp
    import symnet
    from symnet import engine
    from symnet.errors import DerivationError
    tidy = engine._tidy
    monkeypatch.setattr(engine, "_tidy", lambda e: tidy(e) * (1 + sp.Rational(1, 10 ** 20)))
    with pytest.raises(DerivationError, match="is false"):
        symnet.derive("exp(x)*sin(x) + y*cos(x)")


# ------------------------------------------------------------------ found and not fixed (module docstring)

def _symnet(formula, **columns):
    k = compiled(formula)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = k(**{i.name: np.asarray(columns[i.name], np.float64) for i in k.kernel.inputs})
    return dict(zip([o.name for o in k.kernel.outputs], out))


def _assert_within(got, truths):
    bad = [(float(g), mpmath.nstr(t, 17), ulps(g, t, np.float64)) for g, t in zip(got, truths)
           if not ulps(g, t, np.float64) <= 4]
    assert not bad, bad


@pytest.mark.xfail(strict=True, reason="x²·σ(−x)²·(4/x)/x: (4/x)/x overflows below |x| ≈ 1e−154 (inf for 1; torch 1)")
def test_expm1_quotient_squared_reciprocal_at_tiny_x():
    xs = [-1e-300, 1e-300, 1e-200, -1e-160]
    got = _symnet("((expm1(x))/(x))**(-2)", x=xs)["f"]
    with mpmath.workdps(MP_DPS):
        truths = [(mpmath.mpf(v) / mpmath.expm1(mpmath.mpf(v))) ** 2 for v in xs]
    _assert_within(got, truths)


@pytest.mark.xfail(strict=True, reason="(x − z)·e^z overflows before σ(−e^z) = 0 takes it: NaN for 141800 (torch exact)")
def test_mse_over_sigmoid_of_exp_slope_at_709():
    xs, zs = [0.0, 0.0, 1.0], [709.0, 709.7, 709.0]
    got = _symnet("(100*(mse(x, z)))/(sigmoid((exp(z))))", x=xs, z=zs)["df_dz"]
    with mpmath.workdps(MP_DPS):
        truths = []
        for x, z in zip(xs, zs):
            x, z = mpmath.mpf(x), mpmath.mpf(z)
            e = mpmath.exp(-mpmath.exp(z))
            truths.append(-200 * (x - z) * (1 + e) - 100 * (x - z) ** 2 * e * mpmath.exp(z))
    _assert_within(got, truths)


def test_min_minus_reciprocal_at_infinite_x():
    # was NaN (torch 0.0020859 and −inf): over a common denominator inf/inf at x = ±inf; fixed by h-hyp52 (the
    # shifted-argument rule's far branch, the written form, where any input of the common denominator is ±inf)
    got = _symnet("((0.001*(((min(x, y))) - (((x)**(-1)))))) * (((2/((y) - 100)) + 3))",
                  x=[np.inf, -np.inf], y=[0.7, 0.7])["f"]
    with mpmath.workdps(MP_DPS):
        y = mpmath.mpf(0.7)
        truths = [mpmath.mpf("0.001") * y * (2 / (y - 100) + 3), -mpmath.inf]
    _assert_within(got, truths)


@pytest.mark.xfail(strict=True, reason="x + 1 = −0.30000000000000004 passes the shrink, symnet's moved condition does not "
                                       "(0 for 0.0533, torch right); h²/x² overflows at ±1e308 (inf for 1)")
def test_hardshrink_of_a_shifted_input_over_it_squared():
    xs = [-1.3, 1e308, -1e308]
    got = _symnet("((hardshrink((x) - (-1), 0.3))/(x))**2", x=xs)["f"]
    with mpmath.workdps(MP_DPS):
        truths = []
        for x in xs:
            v = mpmath.mpf(x) + 1  # the float −1.3 plus 1, exactly
            h = v if abs(v) > mpmath.mpf(0.3) else 0  # the threshold 0.3 as its float, as torch and symnet hold it
            truths.append((h / mpmath.mpf(x)) ** 2)
    _assert_within(got, truths)


def test_exp_over_input_slope_near_minus_one():
    # was 0 for −3.02e−16, 6.1e15 ULP (torch 2.9e15): −e^(x−y)·(1/y + 1/y²) cancelled; fixed by h-hyp52 (local.py's
    # _distribute no longer multiplies out 1 + 1/y over a divisor 1/y: the root-series rule takes 1 + 1/y at −1)
    ys = [-0.9999999999999999, -1.0000000000000002]
    got = _symnet("(exp((x) - (y)))/(y)", x=[0.0, 0.0], y=ys)["df_dy"]
    with mpmath.workdps(MP_DPS):
        truths = [-mpmath.exp(-mpmath.mpf(y)) * (mpmath.mpf(y) + 1) / mpmath.mpf(y) ** 2 for y in ys]
    _assert_within(got, truths)


@pytest.mark.xfail(strict=True, reason="log(cos y/expm1 y) with expm1(1000) = inf: −inf for −1000.576 (torch 0)")
def test_power_of_cos_over_expm1_slope_in_its_exponent_at_a_large_base_argument():
    got = _symnet("((cos(y))/(expm1(y)))**z", y=[1000.0], z=[0.0])["df_dz"]
    with mpmath.workdps(MP_DPS):
        y = mpmath.mpf(1000)
        truths = [mpmath.log(mpmath.cos(y) / mpmath.expm1(y))]
    _assert_within(got, truths)


@pytest.mark.xfail(strict=True, reason="∂z underflows to −0 where the truth is −5e−151 (torch 1.12 ULP)")
def test_root_of_a_power_over_softplus_slope_at_large_inputs():
    got = _symnet("((((x)**(3/2)) - 3)/(softplus((z) + (-1), 2)))**(1/2)", x=[1e200], z=[1e200])["df_dz"]
    with mpmath.workdps(MP_DPS):
        x, z = mpmath.mpf(1e200), mpmath.mpf(1e200)
        s = mpmath.log(1 + mpmath.exp(2 * (z - 1))) / 2  # softplus(v, β = 2) = log(1 + e^(2v))/2
        ds = 1 / (1 + mpmath.exp(-2 * (z - 1)))
        truths = [-mpmath.sqrt(x ** mpmath.mpf(1.5) - 3) * ds / (2 * s ** mpmath.mpf(1.5))]
    _assert_within(got, truths)
