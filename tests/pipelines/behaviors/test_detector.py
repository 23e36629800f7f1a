import pytest

from pipelines.behaviors import BEHAVIORS, detect_behaviors, split_sentences


def test_empty_and_none():
    assert detect_behaviors("").as_dict() == dict.fromkeys(BEHAVIORS, 0)
    assert detect_behaviors(None).as_dict() == dict.fromkeys(BEHAVIORS, 0)


@pytest.mark.parametrize("text, behavior", [
    ("Let me verify this by plugging it back in.", "verification"),
    ("Double-checking: 3 * 4 = 12.", "verification"),
    ("We can check that x = 2 satisfies the equation.", "verification"),
    ("This doesn't work, so let me try a different approach.", "backtracking"),
    ("That was a dead end.", "backtracking"),
    ("Let's go back to the original equation.", "backtracking"),
    ("First, we need to find the radius of the circle.", "subgoal_setting"),
    ("Let's break the problem into two cases.", "subgoal_setting"),
    ("Our intermediate goal is to isolate x.", "subgoal_setting"),
    ("Working backwards from the answer, the last step must be a multiplication.", "backward_chaining"),
    ("To get 24, we need 4 and 6.", "backward_chaining"),
    ("Starting from the goal, we ask what implies it.", "backward_chaining"),
])
def test_each_behavior_alone(text, behavior):
    counts = detect_behaviors(text).as_dict()
    assert counts[behavior] == 1
    assert sum(counts.values()) == 1, counts


def test_plain_arithmetic_has_no_behavior():
    text = "We have 3 + 4 = 7. Then 7 * 2 = 14. The answer is 14. The area is 3.5 square units."
    assert sum(detect_behaviors(text).as_dict().values()) == 0


def test_counts_sentences_once_per_behavior():
    text = "Let me verify. Let me verify, and double-check, again.\nThis doesn't work; go back."
    counts = detect_behaviors(text)
    assert counts.verification == 2 and counts.backtracking == 1


def test_split_sentences_keeps_decimals():
    assert split_sentences("x = 3.5 here. Next line\nthird") == ["x = 3.5 here.", "Next line", "third"]
