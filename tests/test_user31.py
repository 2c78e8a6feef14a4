"""Session 31, a new user (an engineer with their own activation and loss; a student).

Each test failed before its change; the before is in its comment."""
import pytest

from symnet.errors import ParseError
from symnet.parsing import parse_expression


# A formula's error named a character and a column of the text after normalise() (NFKC, x² → x**(2), ^ → **), not
# of the formula as typed: `x**½` said "the character '⁄' (U+2044 FRACTION SLASH) at column 5", a character the user
# never typed, one column past the ½; `x^^2` said "invalid syntax at column 4" (the '2'), `x²+*2` column 8 of 5.
@pytest.mark.parametrize("formula, message", [
    ("x**½", "the character '½' (U+00BD VULGAR FRACTION ONE HALF) at column 4"),
    ("x**½", "(write (1/2))"),
    ("x*¾", "'¾' (U+00BE VULGAR FRACTION THREE QUARTERS) at column 3"),
    ("x^^2", "invalid syntax at column 3"),
    ("x²+*2", "invalid syntax at column 4"),
    ("x·y +* 2", "invalid syntax at column 6"),
    ("θ₁₀ θ", "two operands side by side at column 5"),
    ("x²+\u200by", "U+200B (ZERO WIDTH SPACE) at column 4"),
])
def test_error_names_the_character_and_column_as_written(formula, message):
    with pytest.raises(ParseError) as err:
        parse_expression(formula)
    assert message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("formula, message", [  # ASCII formulas keep their columns (unchanged)
    ("exp(x) +* 2", "invalid syntax at column 9"),
    ("exp((x+1)", "'(' was never closed at column 4"),
    ("x*sigmoid(beta x)", "two operands side by side at column 11"),
])
def test_ascii_columns_unchanged(formula, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expression(formula)
