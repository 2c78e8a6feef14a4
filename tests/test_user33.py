"""Session 33, the command line's known faults (session 32's "left open") and a new user's pass (a student working
through the lecture with symnet).

Each test failed before its change; the before is in its comment."""
import re

import pytest

import symnet
from symnet.cli import main
from symnet.render import render
from test_printouts import _compile, needs_pdflatex


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- a formula that starts with "--"

# before: argparse's usage block and "symnet: error: unrecognized arguments: --x" (exit 2); session 32 mended "-ox"
# only. "--x" is −(−x); "--x*y", "--(x)" too. "-(x)" and "- x" were taken already: kept so.
@pytest.mark.parametrize("formula, title", [("--x", "Derivative of x\n"), ("--x*y", "Derivative of x·y\n"),
                                            ("--(x)", "Derivative of x\n"), ("-(x)", "Derivative of −x\n"),
                                            ("- x", "Derivative of −x\n"), ("-(-x)", "Derivative of x\n")])
def test_a_formula_starting_with_a_minus_of_any_kind_is_a_formula(capsys, formula, title):
    code, out, err = _run(capsys, "derive", formula)
    assert code == 0 and out.startswith(title), (code, out[:200], err)


def test_a_double_minus_formula_takes_its_options_and_verify_and_graph_take_it(capsys):
    code, out, err = _run(capsys, "derive", "--x*y", "--wrt", "x", "--at", "x=2,y=3")
    assert code == 0 and "df/dx = y = 3" in out, (out[-400:], err)
    code, out, err = _run(capsys, "graph", "--x*y")
    assert code == 0 and out.startswith("digraph"), err
    from symnet.cli import _formulas_as_positionals
    assert _formulas_as_positionals(["verify", "--x", "--points", "3"]) == (["verify", " --x", "--points", "3"],
                                                                             {" --x": "--x"})


# Where "--word" is one of the command's options or an abbreviation argparse takes for one, it stays the option; and
# where that leaves the command without its formula or the option without its value, the one line says how to give it
# as a formula. before: `derive --s` "name a derivation or give a formula" (no word on --s being --stable), `derive
# --wrt` argparse's 4-line usage block and "argument --wrt: expected one argument".
@pytest.mark.parametrize("argv, said", [
    (["derive", "--s"], "--s was read as the option --stable: for the formula --s, write symnet derive -- --s"),
    (["derive", "--wrt"], "argument --wrt: expected one argument (see 'symnet derive --help'); --wrt was read as the "
                          "option --wrt: for the formula --wrt, write symnet derive -- --wrt, or ' --wrt' with a space"),
    (["graph", "--o"], "--o was read as the option --output: for the formula --o, write symnet graph -- --o"),
    (["derive", "x", "--mode", "sideways"], "invalid choice: 'sideways'"),
    (["graph"], "the following arguments are required: NAME|FORMULA (see 'symnet graph --help')"),
])
def test_an_option_that_may_have_been_meant_as_a_formula_is_one_line(capsys, argv, said):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and said in err, err
    assert "usage:" not in err
    if "sideways" in said:  # an option given its value is not a formula: no hint
        assert "was read as the option" not in err


# A near miss of an option stays an option: `derive mse-sigmoid --stabel` was argparse's "unrecognized arguments:
# --stabel" before, and must not become the formula −(−stabel); the line now names the option meant.
@pytest.mark.parametrize("argv, said", [
    (["derive", "mse-sigmoid", "--stabel"], "unrecognized arguments: --stabel (see 'symnet derive --help'); --stabel is not "
                                            "an option of symnet derive (did you mean --stable?)"),
    (["derive", "x*y", "--wrtt", "x"], "did you mean --wrt?); for the formula --wrtt, write symnet derive -- --wrtt"),
])
def test_a_misspelt_option_is_named_not_taken_as_a_formula(capsys, argv, said):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and said in err and "  --" not in err, err


def test_help_and_the_separator_still_work(capsys):
    with pytest.raises(SystemExit) as done:
        main(["derive", "--help"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("usage: symnet derive")
    code, out, err = _run(capsys, "derive", "--", "--s")
    assert code == 0 and out.startswith("Derivative of s\n"), err
    code, out, err = _run(capsys, "derive", "x", "--form=ascii", "--wrt", "x")  # an abbreviation with =VALUE
    assert code == 0 and "df/dx = 1" in out, err


# ---------------------------------------------------------------- --at with an empty pair

# before: `--at 'x=1,,y=2'` skipped the empty pair and printed the derivation at (1, 2) as if written right.
@pytest.mark.parametrize("at, where", [("x=1,,y=2", "between commas"), ("x=1, ,y=2", "between commas"),
                                       (",x=1,y=2", "at the start"), ("x=1,y=2,,", "at the end")])
def test_an_empty_pair_in_the_point_is_one_line(capsys, at, where):
    code, out, err = _run(capsys, "derive", "x*y", "--wrt", "x", "--at", at)
    assert code == 2 and err.count("\n") == 1 and f"has an empty pair {where}" in err, err
    code, out, err = _run(capsys, "derive", "x*y", "--wrt", "x", "--at", "x = 1, y = max(1, 2)")
    assert code == 0, err  # a comma inside a value is no pair
    code, out, err = _run(capsys, "derive", "x*y", "--wrt", "x", "--at", "x=1,y=2,")
    assert code == 0, err  # one trailing comma, as Python allows (tests/test_breakage17.py)


# ---------------------------------------------------------------- LaTeX of the focal loss on a page

def _overfull(tex, folder, pattern=r"Overfull \\hbox \(([\d.]+)pt too wide\)"):
    """The widths (pt) pdflatex reports past the margin for ``tex`` on test_printouts' article page."""
    run = _compile(tex, folder)
    assert run.returncode == 0, run.stdout[-2000:]
    return [float(w) for w in re.findall(pattern, (folder / "doc.log").read_text(errors="replace"))]


# before: ∂z's last form had terms of 180 characters on one line of an aligned block inside `cases`: 196.4 pt past
# an article page's margin (and 24.2 pt for the chain-rule step's `otherwise` row). A term longer than a line is now
# broken at its factors (· at the start of the next line), and a row of `cases` breaks at the width left beside the
# conditions' column. After: 0.21 pt at worst (a note's line).
@needs_pdflatex
def test_the_focal_loss_latex_fits_a_page(tmp_path):
    widths = _overfull(render(symnet.derive("focal(z, t)"), "latex"), tmp_path)
    assert max(widths, default=0) < 1, widths


def test_a_long_product_term_of_a_sum_is_broken_at_its_factors():
    import sympy as sp

    from symnet.render import _broken

    a, b, c, t, z = sp.symbols("a b c t z", real=True)
    long_factor = lambda k: (t * sp.exp(-z * k) + sp.exp(z) * (1 - t))  # noqa: E731
    term = 2 * a * long_factor(1) * long_factor(2) * long_factor(3) * long_factor(4)
    pieces = _broken(b + c - term)
    assert len(pieces) >= 3 and any(p.startswith(r"\cdot") for p in pieces), pieces
    assert pieces[1].startswith("- 2"), pieces  # the term keeps its sign at its first piece


# before: a 2-layer net's ∂x₁ printed as "2 \\ · (a sum of 150 characters) \\ · (…)": the factor that is a long sum
# could not break, 214.9 pt past the margin. After: its terms over lines between \Bigl( and \Bigr). (The title, a
# long formula inside \textbf, still runs 12.4 pt past the margin: not a display, left.)
@needs_pdflatex
def test_a_two_layer_nets_latex_fits_a_page(tmp_path):
    f = "(v1*sigmoid(w11*x1 + w12*x2 + b1) + v2*sigmoid(w21*x1 + w22*x2 + b2) + c - t)**2"
    tex = render(symnet.derive(f, wrt=["x1"]), "latex")
    assert r"2 \Bigl(" in tex and r"\Bigr)" in tex
    displays = _overfull(tex, tmp_path, r"Overfull \\hbox \(([\d.]+)pt too wide\) detected at line")
    assert max(displays, default=0) < 1, displays


def test_a_long_sum_factor_of_a_product_breaks_between_bigl_and_bigr():
    import sympy as sp

    from symnet.render import _broken_product

    a, b, c, t = sp.symbols("a b c t", real=True)
    long_sum = sum(sp.Symbol(f"w{k}", real=True) * symnet.sigmoid(a * k + b) for k in range(1, 10))
    pieces = _broken_product(sp.Mul(long_sum, c - t + symnet.sigmoid(a), evaluate=False))
    assert any(r"\Bigl(" in p for p in pieces), pieces
    assert any(p.endswith(r"\Bigr)") for p in pieces) and not any(p.strip() == r"\cdot" for p in pieces), pieces


# ---------------------------------------------------------------- the student's own 2-layer net (fixed in session 34)

# `symnet verify "(w2*tanh(w1*x + b1) + b2 - t)**2"` float64: ∂t 4.5e15 ULP at w1 = −1.6e308, x = 2.5 (w1·x overflows;
# tanh is −1 there, exact): the double word of t − b₂ − w₂·tanh(b₁ + w₁·x) is NaN (TwoProduct's lo of an infinite
# product is inf, then inf − inf), and the fallback, the float64 body t − b₂ − w₂·tanh(…), cancels to 0 where the true
# value is −1.11e−16; torch autograd gets −1.1102230246251565e−16 exactly there (its order cancels by Sterbenz), so
# symnet is worse than torch at this point. ∂b₂ (the same sum, the other order) is right. Also found: f 4.56 ULP at
# x = −1.8e308 (w₁·x finite but TwoProduct's split overflows: the same fallback; torch 4.56 too), and NaN for a true 0
# of ∂b₁, ∂w₁, ∂x at every input −1.8e308 (an overflowed sum times sech² = 0; torch NaN too).
# Session 34: a function of a double word that is not finite takes the function of the float64 argument, lo 0
# (tanh(−inf) = −1, exact): ∂t exact (its neighbourhood: tests/test_worse34.py).
def test_a_two_layer_tanh_nets_target_gradient_where_the_hidden_product_overflows():
    import mpmath
    import numpy as np

    k = symnet.compile(symnet.derive("(w2*tanh(w1*x + b1) + b2 - t)**2"))
    point = dict(b1=0.0, b2=1.0, t=0.3, w1=-1.6023537046489114e308, w2=0.7, x=2.5)
    got = dict(zip(k.outputs, k(**{n: np.array([v]) for n, v in point.items()})))
    with mpmath.workdps(60):
        m = {n: mpmath.mpf(v) for n, v in point.items()}
        s = m["w2"] * mpmath.tanh(m["w1"] * m["x"] + m["b1"]) + m["b2"] - m["t"]
        true_dt, true_db2 = float(-2 * s), float(2 * s)
    assert got["df_db2"][0] == true_db2  # the same sum in the other order: right
    assert abs(got["df_dt"][0] - true_dt) <= 4 * np.spacing(abs(true_dt)), (got["df_dt"][0], true_dt)


# `symnet derive "(w2*tanh(w1*x + b1) + b2 - t)**2" --stable` said "cancellation: 4.56 ULP off (true 0.49, got 0.49)"
# (6 digits of each): the two now differ where they read the same to 6 digits.
def test_the_hazard_tables_cancellation_shows_true_and_got_apart():
    from symnet.verify.hazard import _true_and_got

    assert _true_and_got(0.49000000000000001554, 0.49000000000000027) == "true 0.49, got 0.49000000000000027"
    assert _true_and_got(0.5, 0.25) == "true 0.5, got 0.25"  # unchanged where 6 digits differ
