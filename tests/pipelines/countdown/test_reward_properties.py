"""The Countdown reward on hostile completions (issue 15): no exception escapes, the score is one of
the three documented values with a stable reason, nothing but a grammatical answer scores, and
200 KB of a repeated fragment is scored in linear time."""

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelines.countdown.arith import CODES, parse_expression
from pipelines.countdown.reward import BAD_TARGET, NO_ANSWER_TAG, OVERSIZED, WRONG_NUMBERS, Score, score_completion
from tests.pipelines.hostile_text import PROPERTY, SURROGATES, SCALE_LIMIT_S, hostile_text, scaled, timed

REASONS = set(CODES) | {NO_ANSWER_TAG, OVERSIZED, WRONG_NUMBERS, BAD_TARGET}
GRAMMAR = set("0123456789+-*/() \t\r\n=")


def _check(s: Score, answer_chars: set[str] | None = None) -> None:
    assert isinstance(s, Score)
    assert s.score in (0.0, 0.1, 1.0)
    assert s.parse_error is None or s.code in REASONS, s.parse_error
    if s.score == 0.0:
        assert s.parse_error is not None and not s.correct
    if s.score > 0:  # only a grammatical expression earns anything
        assert s.expression is not None and set(s.expression) <= GRAMMAR
        assert parse_expression(s.expression).ok
    if s.correct:
        assert s.score == 1.0 and s.numbers_ok


@PROPERTY
@given(text=hostile_text)
@example(text=SURROGATES)
def test_any_completion_gets_a_documented_score(text):
    _check(score_completion(text, [3, 4], 7))
    _check(score_completion(f"<answer>{text}</answer>", [3, 4], 7))


@PROPERTY
@given(prefix=st.sampled_from(["3+4", "(3+4)", "3 + 4", "4+3"]),
       suffix=st.text(min_size=1, max_size=8).filter(lambda t: t.strip(" \t\r\n") != ""))
def test_anything_after_a_correct_expression_voids_it(prefix, suffix):
    # the old parser kept the longest arithmetic run: "3+4^2", "(3+4)^5", "3+4!" scored 1.0
    s = score_completion(f"<answer>{prefix}{suffix}</answer>", [3, 4], 7)
    _check(s)
    if s.correct:  # only a suffix that is itself grammar can keep it right: "+0"-like forms are not
        assert set(suffix) <= GRAMMAR and parse_expression(prefix + suffix).value == 7


@PROPERTY
@given(numbers=st.lists(st.integers(-10**20, 10**20), max_size=8), target=st.one_of(
    st.integers(-10**50, 10**50), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50), st.none()))
def test_any_numbers_and_target(numbers, target):
    _check(score_completion("<answer>3 + 4</answer>", numbers, target))


@PROPERTY
@given(nums=st.lists(st.integers(1, 100), min_size=2, max_size=5), ops=st.lists(st.sampled_from("+-*/"), min_size=4, max_size=4))
def test_a_well_formed_expression_scores_by_its_exact_value(nums, ops):
    expr = str(nums[0]) + "".join(f" {op} {n}" for op, n in zip(ops, nums[1:]))
    parsed = parse_expression(expr)
    if not parsed.ok:  # only division by zero can fail, and these literals are >= 1
        pytest.fail(parsed.error)
    target = parsed.value
    s = score_completion(f"<answer>{expr}</answer>", nums, target if target.denominator == 1 else float(target))
    assert s.correct and s.score == 1.0
    assert isinstance(parsed.value, Fraction)


@pytest.mark.parametrize("fragment", ["<answer>", "</answer>", "<answer>3+4", "Assistant:", "((", "<|im_start|>assistant "])
def test_scaled_completions_are_linear(fragment):
    s, seconds = timed(score_completion, scaled(fragment), [3, 4], 7)
    _check(s)
    assert s.score == 0.0
    assert seconds < SCALE_LIMIT_S, f"{seconds:.1f}s on 200 KB of {fragment!r}"
