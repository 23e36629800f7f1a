import pytest

from pipelines.countdown.reward import (
    MAX_COMPLETION_CHARS,
    clean_expression,
    extract_answer,
    numbers_match,
    score_completion,
)

NUMS, TARGET = [4, 1, 3], 9


@pytest.mark.parametrize("completion", [
    "<think>ok</think><answer>(4 - 1) * 3</answer>",
    "<answer>(4-1)*3</answer><|im_end|>",                      # special tokens outside the block are fine
    "<answer> \n (4 - 1)\t* 3 \n</answer>",                     # ASCII whitespace anywhere between tokens
    "<answer>(4 - 1) * 3 = 9</answer>",                         # a stated result equal to the value
    "<answer><answer>(4 - 1) * 3</answer>",                     # stray opening tag: the nearest one counts
    "<answer>1 + 1</answer> wait <answer>(4 - 1) * 3</answer>",  # the last block wins
    "User: <answer>0</answer>\nAssistant: <answer>3 * (4 - 1)</answer>",
    "<ANSWER>(4 - 1) * 3</ANSWER>",                            # tags in any case
    "<answer>((((4 - 1)))) * 3</answer>",
])
def test_well_formed_correct_answers_score_full(completion):
    s = score_completion(completion, NUMS, TARGET)
    assert s.score == 1.0 and s.correct and s.format_ok and s.parse_error is None, s


# Reward hacks and sloppy answers: each scores 0 (grammar) or at most the format score (right
# grammar, wrong numbers/value), never 1.0. (answer, numbers, target, score, reason code)
HACKS = [
    ("3+4^2", [3, 4], 7, 0.0, "unsupported_operator"),          # issue 15: the parser kept "3+4"
    ("(3+4)^5", [3, 4], 7, 0.0, "unsupported_operator"),
    ("3+4!", [3, 4], 7, 0.0, "unsupported_operator"),
    ("3+4**1", [3, 4], 7, 0.0, "unsupported_operator"),
    ("3+4%", [3, 4], 7, 0.0, "unsupported_operator"),
    ("3 × 4 - 5", [3, 4, 5], 7, 0.0, "unsupported_operator"),     # unicode operators are not guessed
    ("(4 − 1) * 3", NUMS, TARGET, 0.0, "unsupported_operator"),
    ("12 ÷ 4 + 4", [12, 4, 4], 7, 0.0, "unsupported_operator"),
    ("3 x 4 - 5", [3, 4, 5], 7, 0.0, "unsupported_operator"),
    ("√9 + 4", [9, 4], 7, 0.0, "unsupported_operator"),
    ("３+４", [3, 4], 7, 0.0, "unsupported_character"),           # full-width digits
    ("٣+٤", [3, 4], 7, 0.0, "unsupported_character"),             # Arabic-Indic digits
    ("3+4\ud800", [3, 4], 7, 0.0, "unsupported_character"),       # a lone surrogate
    ("3+4\u00a0", [3, 4], 7, 0.0, "unsupported_character"),       # only ASCII whitespace
    ("The answer is 3 + 4", [3, 4], 7, 0.0, "unsupported_character"),  # words around it
    ("3 + 4.", [3, 4], 7, 0.0, "unsupported_character"),
    ("3.0 + 4", [3, 4], 7, 0.0, "unsupported_character"),         # integers only
    ("\\boxed{3 + 4}", [3, 4], 7, 0.0, "unsupported_character"),
    ("$3 + 4$", [3, 4], 7, 0.0, "unsupported_character"),
    ("abs(3 - 10)", [3, 10], 7, 0.0, "unsupported_character"),    # a function
    ("max(3, 4) + 3", [3, 4, 3], 7, 0.0, "unsupported_character"),
    ("__import__('os')", NUMS, TARGET, 0.0, "unsupported_character"),
    ("3 + 4 4", [3, 4, 4], 7, 0.0, "syntax"),                     # a second expression
    ("3 + 4; 3 + 4", [3, 4], 7, 0.0, "unsupported_character"),
    ("-3 + 10", [3, 10], 7, 0.0, "syntax"),                       # no unary sign
    ("03 + 4", [3, 4], 7, 0.0, "syntax"),                         # a literal written as the number is
    ("3 + 4 = 7 = 7", [3, 4], 7, 0.0, "syntax"),
    ("= 7", [3, 4], 7, 0.0, "empty"),
    ("3 + 4 = 8", [3, 4], 8, 0.0, "wrong_result"),                # the stated result must be the value
    ("(3 + 4", [3, 4], 7, 0.0, "unbalanced_parentheses"),
    ("3 + 4)", [3, 4], 7, 0.0, "unbalanced_parentheses"),
    ("(" * 40 + "3 + 4" + ")" * 40, [3, 4], 7, 0.0, "too_deep"),
    ("3 +" + " " * 300 + "4", [3, 4], 7, 0.0, "too_long"),
    ("", [3, 4], 7, 0.0, "empty"),
    ("3 / (4 - 4) + 7", [3, 4, 4, 7], 7, 0.0, "division_by_zero"),
    ("*".join(["999999999999"] * 5), [999999999999] * 5, 7, 0.0, "value_too_large"),  # huge intermediate
    ("1234567890123 - 1234567890116", [1234567890123, 1234567890116], 7, 0.0, "number_too_large"),
    ("3 + 4<answer>", [3, 4], 7, 0.0, "empty"),  # the nearest opening tag counts
    ("3 + 4</answer", [3, 4], 7, 0.0, "unsupported_character"),
    ("34 - 27", [3, 4, 2, 7], 7, 0.1, "wrong_numbers"),           # concatenated numbers
    ("3 + 4 + 3 - 3", [3, 4], 7, 0.1, "wrong_numbers"),           # reuse of a number
    ("7", [3, 4], 7, 0.1, "wrong_numbers"),                       # the target itself
    ("3 + 4", [3, 4, 5], 7, 0.1, "wrong_numbers"),                # a number left out (rule all)
]


@pytest.mark.parametrize("answer, numbers, target, score, code", HACKS)
def test_hacks_never_score_full(answer, numbers, target, score, code):
    s = score_completion(f"<answer>{answer}</answer>", numbers, target)
    assert s.score == score and not s.correct, s
    assert s.code == code, s.parse_error


def test_hack_list_is_long_enough():
    assert len(HACKS) >= 25


@pytest.mark.parametrize("completion, code", [
    ("no tags at all (4 - 1) * 3", "no_answer_tag"),
    ("<answer>(4 - 1) * 3", "no_answer_tag"),                       # never closed
    ("(4 - 1) * 3</answer>", "no_answer_tag"),                       # never opened
    ("<answer>1<answer>(4 - 1) * 3</answer></answer>", "unsupported_character"),  # nested blocks
    ("<answer>(4 - 1) * 3</answer> <answer>4 * 3 - 1</answer>", None),  # the last block counts (wrong value)
    ("<answer>(4 - 1) * 3</answer>\nAssistant: no answer", "no_answer_tag"),  # only the assistant's last turn
    ("x" * (MAX_COMPLETION_CHARS + 1), "oversized"),
])
def test_answer_blocks(completion, code):
    s = score_completion(completion, NUMS, TARGET)
    assert not s.correct and s.code == code, s


def test_wrong_value_gets_the_format_score():
    s = score_completion("<answer>4 * 3 - 1</answer>", NUMS, TARGET)
    assert s.score == 0.1 and s.format_ok and s.parse_error is None and s.value == 11.0


def test_tolerance_and_division():
    assert score_completion("<answer>(7 / 2) * 2</answer>", [7, 2, 2], 7).correct
    assert score_completion("<answer>10 / 3</answer>", [10, 3], 3.333333).correct
    assert not score_completion("<answer>10 / 3</answer>", [10, 3], 3.33).correct


def test_bad_target_is_a_reason_not_a_crash():
    for target in (None, "abc", float("nan"), float("inf"), "9" * 400, True):
        s = score_completion("<answer>3 + 4</answer>", [3, 4], target)
        assert s.score == 0.0 and s.code == "bad_target", (target, s)
    assert score_completion("<answer>3 + 4</answer>", [3, 4], 10**400).score == 0.1  # exact: not equal


def test_numbers_rules():
    assert numbers_match([4, 1, 3], [1, 3, 4], "all")
    assert not numbers_match([4, 3], [1, 3, 4], "all")
    assert numbers_match([4, 3], [1, 3, 4], "subset")
    assert not numbers_match([4, 4], [1, 3, 4], "subset")
    assert score_completion("<answer>4 + 3 + 2</answer>", [4, 3, 2, 50], 9, rule="subset").score == 1.0
    assert score_completion("<answer>4 + 3 + 2</answer>", [4, 3, 2, 50], 9, rule="all").score == 0.1
    with pytest.raises(ValueError):
        numbers_match([1], [1], "some")


def test_extract_and_clean():
    assert extract_answer("<answer> a </answer> <answer> b </answer>") == " b "
    assert extract_answer(None) is None
    assert extract_answer("<answer>x") is None
    assert clean_expression(" \n 3 + 4\t") == "3 + 4"


def test_repeated_tags_are_linear():
    # issue 15: 40,000 "<answer>" took 157 s (a lazy (.*?) rescanned the tail for each tag); now one pass
    for completion in ("<answer>" * 40_000, "</answer>" * 40_000, "<answer>" * 40_000 + "</answer>",
                       "Assistant:" * 40_000):
        s = score_completion(completion, [3, 4], 7)
        assert s.score == 0.0 and s.code in ("no_answer_tag", "empty"), s
