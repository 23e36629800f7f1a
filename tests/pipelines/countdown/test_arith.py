import time
from fractions import Fraction

import pytest

from pipelines.countdown.arith import parse_expression


@pytest.mark.parametrize("text, value, numbers", [
    ("1 + 2 * 3", 7, (1, 2, 3)),
    ("(1 + 2) * 3", 9, (1, 2, 3)),
    ("10 - 4 - 3", 3, (10, 4, 3)),          # left associative
    ("8 / 4 / 2", 1, (8, 4, 2)),
    ("7 / 2", Fraction(7, 2), (7, 2)),      # exact, not float
    ("3 - 5", -2, (3, 5)),
    (" 1 +\t2 = 3 ", 3, (1, 2)),         # a stated result is not a used number
    ("((((6))))", 6, (6,)),
])
def test_valid_expressions(text, value, numbers):
    parsed = parse_expression(text)
    assert parsed.ok and parsed.value == value and parsed.numbers == numbers


@pytest.mark.parametrize("text, code", [
    ("__import__('os').system('echo hacked')", "unsupported_character"),
    ("2**99999999999", "unsupported_operator"),
    ("9^9^9^9", "unsupported_operator"),
    ("1 / 0", "division_by_zero"),
    ("5 / (3 - 3)", "division_by_zero"),
    ("(1 + 2", "unbalanced_parentheses"),
    ("1 + 2)", "unbalanced_parentheses"),
    (")(", "unbalanced_parentheses"),
    ("", "empty"),
    ("   ", "empty"),
    ("1 +", "syntax"),
    ("1 2", "syntax"),
    ("9" * 40, "number_too_large"),
    ("(" * 500 + "1" + ")" * 500, "too_long"),
    ("(" * 40 + "1" + ")" * 40, "too_deep"),
    ("(" * 40 + "1", "too_deep"),             # depth is checked before balance
    ("-" * 60 + "1", "syntax"),               # no unary signs
    ("-(3 - 5)", "syntax"),
    ("1 + 2 = 4", "wrong_result"),
    ("1 = 1 + 0", "syntax"),
    ("lambda: 1", "unsupported_character"),
    ("1e308", "unsupported_character"),
    ("1.5", "unsupported_character"),
])
def test_hostile_inputs_are_errors_not_crashes(text, code):
    parsed = parse_expression(text)
    assert parsed.value is None and parsed.error.startswith(code + ":"), parsed.error


def test_magnitude_is_bounded_and_fast():
    start = time.perf_counter()
    parsed = parse_expression("*".join(["999999999999"] * 15))  # 10^180 > bound, under the length limit
    assert parsed.error.startswith("value_too_large")
    assert time.perf_counter() - start < 10  # linear in the literals: milliseconds; the bound only catches a blow-up


def test_parser_never_calls_eval(monkeypatch):
    import builtins

    def boom(*a, **k):
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", boom)
    assert parse_expression("(2 + 3) * 4").value == 20
