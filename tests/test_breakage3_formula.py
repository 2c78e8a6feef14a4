"""Breakage round 3, formula-facing features: ``symnet.verify``, ``symnet derive --stable``,
the stability rewrites of ``symnet.compile``, the derivation disk cache. Each test is a fault
found by trying to break them (see the docstrings), checked against an independent reference."""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

import symnet


def _compiled(formula):
    return symnet.compile(symnet.derive(symnet.parse(formula)), "numpy")


def _at(kernel, *values):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return [np.asarray(o, dtype=float) for o in kernel(*[np.array(v, dtype=np.float64) for v in values])]


@pytest.mark.parametrize("formula, limit", [
    ("x*log(x)/sin(x)", -math.inf),  # x/sin x → 1, log x → −∞
    ("x*log(x)*exp(1/x)", -math.inf),  # from the right
    ("x**2*log(x)/(x**3+x**2)", -math.inf),  # log(x)/(1 + x)
])
def test_zero_limit_rule_does_not_return_zero_where_other_factors_blow_up(formula, limit):
    """Fault: the zero-limit rule (b^e·log b → 0 at b = 0) fired on a product whatever its other
    factors, so ``x*log(x)/sin(x)`` compiled to 0 at x = 0 where the limit is −∞ (0 is a silent
    wrong answer; the written form's NaN, as torch gives, is not). Now the rule fires only where
    the other factors are finite at b = 0."""
    f, _ = _at(_compiled(formula), [0.0])
    assert not f[0] == 0.0, f"{formula} at 0 gave 0; its limit is {limit}"
    # and the compiled value just right of 0 agrees with mpmath (the written form is fine there)
    x = 1e-30
    with mpmath.workdps(50):
        true = float(mpmath.mpf(x) * mpmath.log(x) / mpmath.sin(x)) if "sin" in formula else None
    if true is not None:
        got, _ = _at(_compiled(formula), [x])
        assert got[0] == pytest.approx(true, rel=1e-12)


@pytest.mark.parametrize("formula, value", [
    ("x*log(x)", 0.0),
    ("x*log(x)*(x+3)", 0.0),
    ("x*log(x)*log(x+1)", 0.0),
    ("x**2*log(x)*exp(y)", 0.0),
])
def test_zero_limit_rule_still_fires_where_the_limit_is_zero(formula, value):
    k = _compiled(formula)
    args = [[0.0]] * len(k.inputs)
    assert _at(k, *args)[0][0] == value


def test_compile_with_a_name_works():
    """Fault: ``symnet.compile(d, name="mykernel")`` raised NameError (``builtins`` was not
    imported in the compiler after a refactor) instead of compiling or refusing the name."""
    d = symnet.derive(symnet.parse("x*x"))
    k = symnet.compile(d, "numpy", name="mykernel")
    assert _at(k, [3.0])[0][0] == 9.0
    with pytest.raises(symnet.SymnetError):
        symnet.compile(d, "numpy", name="print")


def test_nested_variable_powers_compile():
    """Fault: ``symnet.compile`` of ``x**y**z`` failed with "the NumPy backend cannot generate
    ITE": the zero-power guard of y**z, compared with 0 inside the guard of x**(y**z), became a
    SymPy ITE condition that no backend prints. Values and gradients against mpmath."""
    k = _compiled("x**y**z")
    pts = [(2.0, 3.0, 0.5), (0.7, 2.5, 1.5), (1.5, 0.5, 2.0), (3.0, 2.0, 0.0)]
    out = _at(k, *[[p[i] for p in pts] for i in range(3)])
    names = list(k.inputs)
    for r, (x, y, z) in enumerate(pts):
        with mpmath.workdps(50):
            X, Y, Z = map(mpmath.mpf, (x, y, z))
            f = lambda X, Y, Z: X ** (Y ** Z)  # noqa: E731
            true = [f(X, Y, Z)] + [mpmath.diff(lambda t: f(*[t if j == i else v for j, v in enumerate((X, Y, Z))]),
                                               (X, Y, Z)[i]) for i in range(3)]
        order = {"x": 1, "y": 2, "z": 3}
        got = [out[0][r]] + [out[1 + names.index(n)][r] for n in ("x", "y", "z")]
        for g, t in zip(got, true):
            assert g == pytest.approx(float(t), rel=1e-12, abs=1e-300)
        del order


def test_verify_of_a_tower_of_exponentials_is_bounded_in_time():
    """Fault: ``symnet verify "exp(exp(exp(exp(x))))"`` ran for more than 5 minutes (killed):
    the mpmath reference computed e^{e^{e^{88.7}}} exactly, a number of 10^38 digits. Values
    beyond 1e400 are now taken as inf (or 0) in the reference; the whole run takes seconds."""
    import time

    start = time.monotonic()
    report = symnet.verify("exp(exp(exp(exp(x))))", dtypes=("float64",), n=2)
    assert time.monotonic() - start < 60
    assert "f" in str(report)


def test_a_garbled_derivation_cache_file_is_rebuilt_not_printed(tmp_path, monkeypatch):
    """Fault: a file in the derivation cache whose content was garbled (a truncated write on a
    full disk, a stray edit) was printed by ``symnet derive NAME`` as the derivation. The
    cached text now carries its SHA-256; a file that does not match is rebuilt and rewritten."""
    import subprocess
    import sys

    monkeypatch.setenv("SYMNET_CACHE", str(tmp_path))
    monkeypatch.delenv("SYMNET_NO_DISK_CACHE", raising=False)
    run = lambda: subprocess.run([sys.executable, "-m", "symnet", "derive", "linear-miles"],  # noqa: E731
                                 capture_output=True, text=True, timeout=300)
    first = run()
    assert first.returncode == 0
    (cached,) = (tmp_path / "derivations").glob("linear-miles-*.txt")
    cached.write_text("GARBAGE\n")
    second = run()
    assert second.returncode == 0 and second.stdout == first.stdout
    assert "GARBAGE" not in cached.read_text()


def test_cross_entropy_softcap_gradient_keeps_the_sech_squared_factor():
    """Fault: ``symnet.compile("cross_entropy").cross_entropy_grad(z, r, softcap=1)`` at
    z = [[20, 0]], r = [1] (float64) gives ∂C/∂z₀ = 0; the true value is
    softmax(c)₀·sech²(20) ≈ 1.2e−17 (c = tanh z). The generated code computes the chain factor as
    1 − c²/s², which cancels to 0; 1/cosh²(z/s) (or 4σ(2z/s)σ(−2z/s)) does not. Fixed: the factor
    is 4σ(2z/s)σ(−2z/s) of the raw z (the sech² rule), evaluated before the cap."""
    m = symnet.compile("cross_entropy", "numpy")
    z = np.array([[20.0, 0.0]])
    out = m.cross_entropy_grad(z, np.array([1]), reduction="sum", softcap=1.0)
    grad = out[-1] if isinstance(out, tuple) else out
    with mpmath.workdps(50):
        c0, c1 = mpmath.tanh(20), mpmath.mpf(0)
        p0 = mpmath.exp(c0) / (mpmath.exp(c0) + mpmath.exp(c1))
        true = float(p0 / mpmath.cosh(20) ** 2)
    assert np.asarray(grad)[0, 0] == pytest.approx(true, rel=1e-12, abs=0)
