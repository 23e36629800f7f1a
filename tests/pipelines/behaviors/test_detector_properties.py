"""The behavior detector on hostile text (issue 15): counts are non-negative ints bounded by the
number of sentences, no exception escapes, and 200 KB of a repeated fragment is linear."""

import pytest
from hypothesis import example, given

from pipelines.behaviors.detector import BEHAVIORS, BehaviorCounts, detect_behaviors, split_sentences
from tests.pipelines.hostile_text import PROPERTY, SURROGATES, SCALE_LIMIT_S, hostile_text, scaled, timed


@PROPERTY
@given(text=hostile_text)
@example(text=SURROGATES)
def test_counts_are_bounded_by_sentences(text):
    counts = detect_behaviors(text)
    assert isinstance(counts, BehaviorCounts)
    n = len(split_sentences(text))
    for name in BEHAVIORS:
        value = getattr(counts, name)
        assert isinstance(value, int) and 0 <= value <= n


@pytest.mark.parametrize("fragment", ["to get 24, we need ", "Let me verify. ", "go back\n", "to get " + "x" * 39,
                                      ". ", "\n", "step 1: ", "a"])
def test_scaled_text_is_linear(fragment):
    counts, seconds = timed(detect_behaviors, scaled(fragment))
    assert isinstance(counts, BehaviorCounts)
    assert seconds < SCALE_LIMIT_S, f"{seconds:.1f}s on 200 KB of {fragment!r}"
