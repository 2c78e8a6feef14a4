"""Session 37, a new user's pass (their own SELU, CELU, hard-swish, Charbonnier, Cauchy, asymmetric Laplace, ArcFace
margin, Tversky, written-out LayerNorm, Poisson NLL with Stirling's term, a GRU gate, the generalized logistic,
beta-NLL and a log-cosh-Dice, derived, verified, compiled and trained with).

Each test failed before its change; the before is in its comment."""
import re

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


# ---------------------------------------------------------------- the command line's unknown options

# before: "symnet: error: unrecognized arguments: --activation selu (see 'symnet --help')", whose help lists no
# option of train (argparse's top-level parser reports a command's unknown arguments)
@pytest.mark.parametrize("argv, help_of, close", [
    (("train", "digits", "--activation", "selu"), "symnet train --help", None),
    (("train", "xor", "--seeed", "1"), "symnet train --help", "--seed"),
    (("codegen", "--chek"), "symnet codegen --help", "--check"),
    (("derive", "x*y", "--bogus"), "symnet derive --help", None),
])
def test_an_unknown_option_names_its_commands_help_and_a_close_option(capsys, argv, help_of, close):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "", (code, out[:200])
    assert err.count("\n") == 1 and f"(see '{help_of}')" in err and "(see 'symnet --help')" not in err, err
    assert (f"did you mean {close}?" in err) if close else ("did you mean" not in err), err


# ---------------------------------------------------------------- functions the registry writes out

# before: sech(x) was "unknown function 'sech'; for a product write sech*(…); known: exp, log, …" (60 names), acos(c)
# of an ArcFace margin "did you mean cos or cosh?", with no way to write it; now each names a formula of the registry's
# functions, and that formula is measured here against mpmath at 50 digits (value and derivative, float64, ≤ 4 ULP)
_INVERSES = {
    "acos": (mpmath.acos, lambda x: -1 / mpmath.sqrt(1 - x * x), (-1, 1)),
    "asin": (mpmath.asin, lambda x: 1 / mpmath.sqrt(1 - x * x), (-1, 1)),
    "atanh": (mpmath.atanh, lambda x: 1 / (1 - x * x), (-1, 1)),
    "acosh": (mpmath.acosh, lambda x: 1 / mpmath.sqrt(x * x - 1), (1, None)),
    "sech": (mpmath.sech, lambda x: -mpmath.sech(x) * mpmath.tanh(x), (-30, 30)),
    "csch": (mpmath.csch, lambda x: -mpmath.csch(x) * mpmath.coth(x), (-30, 30)),
    "coth": (mpmath.coth, lambda x: -mpmath.csch(x) ** 2, (-30, 30)),
    "sec": (mpmath.sec, lambda x: mpmath.sec(x) * mpmath.tan(x), (-1.5, 1.5)),
    "csc": (mpmath.csc, lambda x: -mpmath.csc(x) * mpmath.cot(x), (-3, 3)),
    "cot": (mpmath.cot, lambda x: -mpmath.csc(x) ** 2, (-3, 3)),
}


def _points(name, lo, hi):
    rng = np.random.default_rng(sum(map(ord, name)))
    if hi is None:  # acosh: near 1, ordinary, and far (sqrt((x − 1)(x + 1)) overflowed past 1.3e154)
        x = np.concatenate([1 + rng.exponential(3, 150), 1 + np.spacing(1.0) * rng.integers(1, 1000, 30),
                            10.0 ** rng.uniform(3, 307, 30)])
    else:
        x = rng.uniform(lo, hi, 200)
        if (lo, hi) == (-1, 1):  # the ends, where 1 − x² cancels and π/2 − atan would
            x = np.concatenate([x, 1 - np.spacing(1.0) * rng.integers(1, 1000, 20),
                                -1 + np.spacing(0.5) * rng.integers(1, 1000, 20)])
    return x[x != 0]


@pytest.mark.parametrize("name", sorted(_INVERSES))
def test_a_missing_trigonometric_function_names_an_accurate_formula(capsys, name):
    code, out, err = _run(capsys, "derive", f"{name}(x)", "--wrt", "x")
    assert code == 2 and err.count("\n") == 1 and "for a product" not in err, err
    formula = re.search(r"write (.+?)(?: \(|$)", err.strip()).group(1)
    value, slope, (lo, hi) = _INVERSES[name]
    k = symnet.compile(symnet.derive(formula, wrt=["x"]), progress=False)
    x = _points(name, lo, hi)
    f, df = k(x=x)
    with mpmath.workdps(50):
        worst = max(max(_ulps(a, value(mpmath.mpf(xi))), _ulps(b, slope(mpmath.mpf(xi))))
                    for xi, a, b in zip(x, f, df))
    assert worst <= 4, (name, formula, worst)
    # NumPy's names say the same
    if name in ("acos", "asin", "atanh", "acosh"):
        code, _, err_np = _run(capsys, "derive", f"arc{name[1:]}(x)")
        assert code == 2 and f"write {formula}" in err_np, err_np
