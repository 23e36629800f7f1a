"""The TinyZero-compatible Countdown reward, the project's reward, and where they disagree."""

import pytest

from pipelines.training.rewards import (BigMathReward, CountdownReward, RewardLog, UnsafeExpression,
                                        countdown_score, safe_eval, tinyzero_score)

NUMS, TARGET = [3, 4, 2], 19


@pytest.mark.parametrize("text,expected", [
    ("<answer>3+4*4</answer>", 0.1),                       # numbers [3,4,4] are not [2,3,4]
    ("<answer>(3+4)*2</answer>", 0.1),                     # uses the numbers, equals 14
    ("<answer>3 + 4**2</answer>", 1.0),                    # `**` passes the whitelist and is power, as in eval
    ("thinking\n<answer>3+4**2</answer>", 1.0),            # answer on the last line
    ("no tags at all", 0.0),
    ("<answer>3+4^2</answer>", 0.1),                       # `^` is outside the whitelist: format only
    ("<answer>3+4**2</answer>\nmore text after", 0.0),     # the last line holds no answer
    ("<answer>2/0+3+4</answer>", 0.1),                     # division by zero: format only
    ("Assistant: ignored <answer>x</answer>\n<answer>3 + 4 ** 2</answer>", 1.0),
])
def test_tinyzero_score(text, expected):
    assert tinyzero_score(text, NUMS, TARGET) == pytest.approx(expected)


def test_safe_eval_matches_python_and_refuses_what_eval_would_run():
    for expr in ("1+2*3", "(7-3)/2", "-4+10", "2**5", "7//2", " 3 * ( 2 + 1 ) "):
        assert safe_eval(expr) == eval(expr)  # noqa: S307 - reference value for the test only
    with pytest.raises(UnsafeExpression):
        safe_eval("__import__('os')")
    with pytest.raises(UnsafeExpression):
        safe_eval("9**9**9")                               # eval would hang computing this
    with pytest.raises(SyntaxError):
        safe_eval("3 +* 4")
    with pytest.raises(ZeroDivisionError):
        safe_eval("1/0")


# (completion, project reward, TinyZero-compatible reward) for numbers [3, 4, 2] and target 11
DISAGREEMENTS = [
    # `^` is outside both grammars: TinyZero still gives the format score, the project gives nothing
    ("<answer>3+4^2</answer>", 0.0, 0.1),
    # format only (words in the block): TinyZero 0.1, the project 0.0 (no partial credit for a hack)
    ("<answer>I give up</answer>", 0.0, 0.1),
    # the result stated: the project accepts `= value`; TinyZero counts 11 as an extra number
    ("<answer>3 + 4 * 2 = 11</answer>", 1.0, 0.1),
    # a unicode times sign: neither evaluates it; TinyZero's format score, the project's 0
    ("<answer>3 + 4 \u00d7 2</answer>", 0.0, 0.1),
    # multiple answers, the last one not on the last line: the project reads the last block anywhere,
    # TinyZero reads only the last line
    ("<answer>1+1</answer> first try\n<answer>3 + 4*2</answer>\nHope this helps", 1.0, 0.0),
    # multiple answers on the last line: both take the last one
    ("<answer>3 * 4 - 2</answer> or <answer>3 + 4*2</answer>", 1.0, 1.0),
]


@pytest.mark.parametrize("text,project,tinyzero", DISAGREEMENTS)
def test_project_and_tinyzero_modes(text, project, tinyzero):
    assert countdown_score(text, [3, 4, 2], 11, "project")[0] == pytest.approx(project)
    assert countdown_score(text, [3, 4, 2], 11, "tinyzero")[0] == pytest.approx(tinyzero)


def test_power_is_correct_for_tinyzero_only():
    # `**` passes TinyZero's character whitelist and eval reads a power: 3 + 16 = 19 scores 1.0
    assert countdown_score("<answer>3 + 4**2</answer>", [3, 4, 2], 19, "tinyzero") == (1.0, True)
    assert countdown_score("<answer>3 + 4**2</answer>", [3, 4, 2], 19, "project") == (0.0, False)


def test_countdown_reward_is_a_trl_reward_function_and_logs_what_it_saw():
    log = RewardLog()
    fn = CountdownReward("project", log)
    out = fn(prompts=["p", "p"], completions=["</think>\n<answer>3 + 4*2</answer>", "let me verify. nothing"],
             target=[11, 11], numbers=[[3, 4, 2], [3, 4, 2]])
    assert out == [1.0, 0.0]
    assert fn.__name__ == "countdown_project"
    assert log.rows[0]["accuracy"] == 0.5 and log.rows[0]["verification"] == 1 and log.rows[0]["step"] == 1
    with pytest.raises(ValueError, match="reward mode"):
        CountdownReward("eval")


def test_bigmath_reward_uses_the_project_verifier():
    log = RewardLog()
    fn = BigMathReward(workers=1, log=log)
    out = fn(prompts=["q"] * 3, completions=["so the answer is \\boxed{\\frac{1}{2}}", "\\boxed{0.5}", "\\boxed{3}"],
             answer=["1/2", "\\frac12", "4"])
    assert out == [1.0, 1.0, 0.0]
    assert log.rows[0]["accuracy"] == pytest.approx(2 / 3)
