"""Session 40, a new user's pass with formulas of their own (InfoNCE over 3 written logits with a temperature, Poly-1,
Welsch and Geman-McClure losses with a learned scale, TanhExp, Smish, ACON-C, Serf, a smooth max with temperature,
the balanced L1 loss, Tukey's biweight, Logish, a log-cosh of a log-ratio, a Huber with a learned δ, a margin ranking
loss and a focal Tversky term: derived, verified, compiled for NumPy with odd shapes and views, run through
symnet.torch.from_formula).

Each test of a fix failed before its change (the before in its comment); the strict xfails record faults found and
not fixed, with the measured numbers."""
import pytest

from test_user37 import _run  # main(argv) → (status, out, err)


# ---------------------------------------------------------------- a name alone, with --wrt or --at

# before: `symnet verify prelu --wrt x` (and `symnet derive prelu --wrt x`) said "'x' does not appear in the formula
# (its inputs: prelu)": the hint that `symnet derive prelu` and `symnet verify prelu` give (prelu takes (x, a); write
# leaky_relu(x, a)) was skipped as soon as --wrt (or --at) was given; so were the close-function hint of a misspelt
# name (sigmod) and the formula of a name symnet writes out (sech).
@pytest.mark.parametrize("command", ["derive", "verify"])
@pytest.mark.parametrize("name, option, says", [
    ("prelu", ["--wrt", "x"], "write leaky_relu(x, a)"),
    ("prelu", ["--wrt", "a,x"], "write leaky_relu(x, a)"),
    ("softmin", ["--wrt", "z"], "softmin(z) is softmax(−z)"),
    ("sech", ["--wrt", "x"], "write 1/cosh(x)"),
    ("sigmod", ["--wrt", "x"], "did you mean sigmoid(x)"),
    ("lgamma", ["--wrt", "x"], "the gamma function and its logarithm are not in symnet's registry"),
])
def test_a_name_alone_with_wrt_gets_the_hint_the_name_gets(capsys, command, name, option, says):
    code, out, err = _run(capsys, command, name, *option)
    assert code == 2 and out == "" and err.count("\n") == 1, (code, out[:200], err)
    assert says in err and "does not appear in the formula" not in err, err
    assert f"'{name}' is one variable, not a formula, and {option[0]} names" in err, err
    if name == "prelu":
        assert f'as in symnet {command} "leaky_relu(x, a)"' in err, err


def test_a_name_alone_with_at_gets_the_hint(capsys):
    code, out, err = _run(capsys, "derive", "prelu", "--at", "x=1")
    assert code == 2 and "write leaky_relu(x, a)" in err and "--at names x" in err, err


@pytest.mark.parametrize("argv, says", [
    (["derive", "mish", "--wrt", "x"], "'mish' is a function: write mish(…)"),  # a registry function: as before
    (["derive", "foo", "--wrt", "x"], "'x' does not appear in the formula (its inputs: foo)"),  # nothing to hint
    (["verify", "q", "--wrt", "y"], "'y' does not appear in the formula (its inputs: q)"),
])
def test_other_lone_names_keep_their_lines(capsys, argv, says):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and says in err and err.count("\n") == 1, err


def test_wrt_naming_the_name_itself_still_measures_it(capsys):
    # `--wrt prelu` is the README's way to measure a lone variable anyway ("to measure it anyway, add --wrt …")
    code, out, err = _run(capsys, "derive", "prelu", "--wrt", "prelu")
    assert code == 0 and "df/dprelu = 1" in out, (code, out[-300:], err)
