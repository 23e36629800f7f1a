import pytest

from pipelines.countdown.reward import clean_expression, extract_answer, numbers_match, score_completion

NUMS, TARGET = [4, 1, 3], 9


@pytest.mark.parametrize("completion", [
    "<think>ok</think><answer>(4 - 1) * 3</answer>",
    "<answer> \\boxed{(4 - 1) * 3} </answer>",
    "<answer>(4 − 1) × 3 = 9</answer>",                     # unicode minus and times, trailing = target
    "<answer>$(4 - 1) \\times 3$</answer>",
    "<answer>The answer is (4 - 1) * 3.</answer>",
    "<answer>(4-1)*3</answer><|im_end|>",
    "<answer><answer>(4 - 1) * 3</answer>",                  # stray opening tag
    "<answer>1 + 1</answer> wait <answer>(4 - 1) * 3</answer>",  # the last block wins
    "User: <answer>0</answer>\nAssistant: <answer>3 * (4 - 1)</answer>",
    "<answer>(4 - 1) x 3</answer>",
    "<answer>[4 - 1] * 3</answer>",
    "<ANSWER> (4 - 1) * 3 </ANSWER>",
])
def test_messy_but_correct_answers_score_full(completion):
    s = score_completion(completion, NUMS, TARGET)
    assert s.score == 1.0 and s.correct and s.format_ok, s


@pytest.mark.parametrize("completion, score, error", [
    ("no tags at all (4 - 1) * 3", 0.0, "no_answer_tag"),
    ("<answer>(4 - 1) * 3", 0.0, "no_answer_tag"),            # never closed
    ("<answer>4 * 3 - 1</answer>", 0.1, None),                # right numbers, wrong value
    ("<answer>(4 - 1) * 3 * 1</answer>", 0.1, "wrong_numbers"),  # 1 used twice
    ("<answer>9</answer>", 0.1, "wrong_numbers"),
    ("<answer>__import__('os')</answer>", 0.1, "no_expression"),
    ("<answer>4 ** 1 ** 3</answer>", 0.1, "unsupported_operator"),
    ("<answer>(4 - 1 * 3</answer>", 0.1, "unbalanced_parentheses"),
    ("<answer>4 / (1 - 1) + 3</answer>", 0.1, "division_by_zero"),
])
def test_wrong_or_hostile_answers(completion, score, error):
    s = score_completion(completion, NUMS, TARGET)
    assert s.score == score and not s.correct
    assert (s.parse_error or "").startswith(error or "") if error else s.parse_error is None


def test_tolerance_and_division():
    assert score_completion("<answer>(7 / 2) * 2</answer>", [7, 2, 2], 7).correct
    assert score_completion("<answer>10 / 3</answer>", [10, 3], 3.333333).correct
    assert not score_completion("<answer>10 / 3</answer>", [10, 3], 3.33).correct


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
    assert clean_expression("\\boxed{\\frac{8}{2} + 1}") == "((8)/(2)) + 1"
    assert clean_expression("so 24 = (10 - 4) * 4") == "(10 - 4) * 4"
