"""A rule-based detector of four reasoning behaviors, as a pure function of text.

The text is split into sentences (newlines and ``.``/``!``/``?`` followed by space); each
sentence counts at most once per behavior, when it contains one of the behavior's cue phrases:

- verification: the writer checks a result (``let me verify``, ``double-check``, ``plugging back``…)
- backtracking: the writer abandons an approach (``go back``, ``dead end``, ``doesn't work``…)
- subgoal_setting: the writer sets an intermediate goal (``subgoal``, ``intermediate goal``,
  ``first, we need to find``, ``break the problem into``…)
- backward_chaining: the writer reasons from the goal to what it requires (``working backwards``,
  ``starting from the target``, ``to get X, we need``…)

It is deliberately transparent (cue lists, no model) so counts can be audited and compared with
the exact counts of generated text; the Countdown family reports its agreement in metadata.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

BEHAVIORS = ("verification", "backtracking", "subgoal_setting", "backward_chaining")

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

CUES: dict[str, re.Pattern] = {
    "verification": re.compile(
        r"\b(?:let(?:'s| me| us) (?:verify|check|double[- ]check|confirm|make sure)|double[- ]check(?:ing)?|"
        r"to verify|verifying|sanity[- ]check|(?:we|i) can (?:verify|check|confirm)|check(?:ing)? (?:that|whether|if)|"
        r"plug(?:ging)? (?:it|this|that|these|them) (?:back )?in|substitut(?:e|ing) back|confirm(?:s|ed|ing)? that)\b",
        re.IGNORECASE),
    "backtracking": re.compile(
        r"\b(?:backtrack\w*|go(?:ing)? back|dead[- ]end|does(?:n't| not) work|did(?:n't| not) work|won't work|"
        r"will not work|(?:this|that) (?:path|approach|attempt) fails|abandon\w*|start over|"
        r"try (?:a different|another|something else)|that was wrong|scratch that|wrong (?:path|approach|track))\b",
        re.IGNORECASE),
    "subgoal_setting": re.compile(
        r"\b(?:sub-?goals?|intermediate (?:goal|target|result to aim for)|aim for|"
        r"first,? (?:i|we) (?:need|want|will|'ll|should) (?:to )?(?:get|make|reach|find|show|compute|prove|build)|"
        r"break (?:this|it|the problem) (?:down|into)|split (?:this|it|the problem) into|step \d+:|"
        r"(?:our|my) first goal)\b",
        re.IGNORECASE),
    "backward_chaining": re.compile(
        r"\b(?:work(?:ing)? backwards?|backwards? from|backward chaining|reason(?:ing)? backwards?|"
        r"start(?:ing)? from the (?:target|goal|answer|end|result)|"
        r"to (?:get|reach|obtain|prove) [^,.;]{1,40}, (?:i|we) (?:would )?need)\b",
        re.IGNORECASE),
}


@dataclass(frozen=True)
class BehaviorCounts:
    verification: int = 0
    backtracking: int = 0
    subgoal_setting: int = 0
    backward_chaining: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if s and s.strip()]


def detect_behaviors(text: str) -> BehaviorCounts:
    """Count the sentences of ``text`` that show each behavior (None or '' -> all zero)."""
    counts = dict.fromkeys(BEHAVIORS, 0)
    for sentence in split_sentences(text):
        for name, pattern in CUES.items():
            if pattern.search(sentence):
                counts[name] += 1
    return BehaviorCounts(**counts)
