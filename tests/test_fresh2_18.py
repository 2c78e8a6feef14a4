"""A new user of session 18's features (erfcx, scaled-erfc, rounded-log-argument, rational-function, …):
what `symnet derive --stable` says must agree with what `symnet verify` measures."""
import sympy as sp

from symnet.codegen.ir import _overflows_at
from symnet.special import erfcx, erfcx_slope

x = sp.Symbol("x", real=True)


def test_scaled_erfc_forms_are_not_said_to_overflow():
    # `symnet derive "erfc(x)*exp(x**2)" --stable` said "f, ∂f/∂x still overflow for large inputs …
    # (not finite in float64 at every input = 1000)" while `symnet verify` measured f 1.09, ∂x 1.81 ULP
    # float64 up to x = 1.3e308 and the hazard table found none: the check wrote erfcx out as e^(x²)·erfc(x).
    assert _overflows_at(erfcx(x), sp.exp(x ** 2) * sp.erfc(x), [x]) is None
    assert _overflows_at(erfcx_slope(x), 2 * x * sp.exp(x ** 2) * sp.erfc(x) - 2 / sp.sqrt(sp.pi), [x]) is None


def test_a_form_that_overflows_is_still_named():
    # the check still names an input where a stable form is not finite although the exact value is
    assert _overflows_at(sp.exp(x) / (1 + sp.exp(x)), sp.exp(x) / (1 + sp.exp(x)), [x]) == 1000.0


def test_a_domain_error_names_the_input_as_written():
    # st.from_formula("focal(z, t, 0.25, gamma)", …)(z, t, γ < 0) said "focal: gamma = γ has a negative entry
    # (-1); gamma must be ≥ 0": the input written gamma, printed γ, read as a second thing
    from symnet.derivation import ArgumentCheck

    check = ArgumentCheck("focal", "gamma", 0.0, float("inf"), sp.Symbol("gamma"))
    assert check.message("-1") == "focal: gamma has a negative entry (-1); gamma must be ≥ 0"
    check = ArgumentCheck("gaussian_nll", "var", 0.0, float("inf"), sp.Symbol("sigma"))
    assert check.message("-1") == "gaussian_nll: var = sigma has a negative entry (-1); var must be ≥ 0"
    check = ArgumentCheck("gaussian_nll", "var", 0.0, float("inf"), sp.erf(sp.Symbol("v")))
    assert check.message("-1") == "gaussian_nll: var = erf(v) has a negative entry (-1); var must be ≥ 0"


def test_a_compiled_formula_refuses_with_the_input_s_name():
    import numpy as np
    import pytest

    import symnet
    from symnet.errors import DomainError

    k = symnet.compile(symnet.derive("bce(rho, t)"))
    with pytest.raises(DomainError, match=r"^bce: p = rho has an entry outside \[0, 1\] \(2\); p must be in \[0, 1\]$"):
        k(rho=np.array([0.5, 2.0]), t=np.array([1.0, 0.0]))


def test_readme_says_what_the_written_softmax_s_gradients_measure():
    # README gave "0.50 ULP at worst" for the written softmax; symnet verify of one entry measured its
    # float64 ∂/∂a at 1.00 ULP (a = 709, b = 1, c = 0.3: 4.95e−308): the 0.50 is the values'
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text().split())
    assert ("0.50 ULP at worst over 61 points each (their values; the gradients "
            "`symnet verify \"exp(a)/(exp(a) + exp(b) + exp(c))\"` measures are 1.00 ULP at worst") in readme
