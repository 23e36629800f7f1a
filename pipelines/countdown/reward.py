"""The Countdown reward of the TinyZero / cognitive-behaviors setup, strict and without ``eval``.

The answer is the content of the last ``<answer>…</answer>`` block of the assistant's turn (the
text after the last ``Assistant:`` / ``<|im_start|>assistant``; tags match in any case, without
spaces inside). Its WHOLE content must be one expression of the grammar in
:mod:`pipelines.countdown.arith` (``+ - * /``, parentheses, integer literals, whitespace, an
optional ``= N`` equal to the value). Scores:

- ``full_score`` (1.0): grammatical, uses the given numbers (each exactly once under ``all``, at
  most once under ``subset``) and equals the target within ``tolerance``;
- ``format_score`` (0.1): grammatical and evaluable, but the value or the numbers are wrong
  (``parse_error`` is ``wrong_numbers`` for the latter, None for a wrong value);
- 0.0: anything else, with a stable reason in ``parse_error`` (``code: detail``): no answer block,
  a completion over :data:`MAX_COMPLETION_CHARS`, or any grammar/evaluation error of
  :mod:`pipelines.countdown.arith` (another operator, a word, ``\\boxed{}``, a second expression,
  unbalanced parentheses, division by zero…). There is no partial credit for a hack.

Every scan is linear in the completion: tags are found with ``finditer`` over fixed strings
(last match kept), never with a lazy ``(.*?)`` that rescans the tail for each opening tag.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from pipelines.countdown.arith import parse_expression
from pipelines.countdown.limits import MAX_CHARS, MAX_COMPLETION_CHARS
from pipelines.countdown.reasons import BAD_TARGET, NO_ANSWER_TAG, OVERSIZED, WRONG_NUMBERS

FORMAT_SCORE = 0.1
FULL_SCORE = 1.0
TOLERANCE = 1e-5
NUMBER_RULES = ("all", "subset")


# fixed strings (a bounded run of ASCII whitespace at most): each finditer is one linear pass
_ASSISTANT = re.compile(r"Assistant:|<\|im_start\|>[ \t\r\n]{0,8}assistant", re.IGNORECASE)
_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_CLOSE = re.compile(r"</answer>", re.IGNORECASE)


@dataclass(frozen=True)
class Score:
    score: float
    format_ok: bool
    expression: str | None
    value: float | None
    correct: bool
    numbers_ok: bool
    parse_error: str | None

    @property
    def code(self) -> str | None:
        return None if self.parse_error is None else self.parse_error.split(":", 1)[0]


def _last(pattern: re.Pattern, text: str, pos: int = 0, endpos: int | None = None) -> re.Match | None:
    found = None
    for found in pattern.finditer(text, pos, len(text) if endpos is None else endpos):
        pass
    return found


def extract_answer(completion: str) -> str | None:
    """The content of the last ``<answer>…</answer>`` block of the assistant's turn, or None.

    The block ends at the last ``</answer>`` and starts at the nearest ``<answer>`` before it, so a
    stray earlier ``<answer>`` is ignored and a nested block leaves a tag inside (which fails the grammar).
    """
    if not isinstance(completion, str):
        return None
    turn = _last(_ASSISTANT, completion)
    start = turn.end() if turn else 0
    close = _last(_CLOSE, completion, start)
    if close is None:
        return None
    opening = _last(_OPEN, completion, start, close.start())
    if opening is None:
        return None
    return completion[opening.end():close.start()]


def clean_expression(answer: str) -> str:
    """The answer with surrounding whitespace removed (nothing else is cleaned: the grammar is strict)."""
    return answer.strip(" \t\r\n") if isinstance(answer, str) else ""


def numbers_match(used: Sequence, available: Sequence[int], rule: str = "all") -> bool:
    """``all``: the literals are exactly the available numbers (as multisets); ``subset``: each at most once."""
    if rule not in NUMBER_RULES:
        raise ValueError(f"numbers rule {rule!r}: use one of {NUMBER_RULES}")
    have = Counter(Fraction(n) for n in available)
    want = Counter(Fraction(n) for n in used)
    if rule == "all":
        return have == want
    return all(have[k] >= v for k, v in want.items())


def _target(target) -> Fraction | None:
    if isinstance(target, bool):
        return None
    try:
        if isinstance(target, (int, Fraction)):
            return Fraction(target)
        if isinstance(target, float):
            return Fraction(target) if target == target and abs(target) != float("inf") else None
        text = str(target).strip()
        if len(text) > 32:  # Fraction() of a long string is not linear; no real target is this long
            return None
        return Fraction(text)
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        return None


def score_completion(completion: str, numbers: Sequence[int], target, *, rule: str = "all",
                     tolerance: float = TOLERANCE, format_score: float = FORMAT_SCORE,
                     full_score: float = FULL_SCORE) -> Score:
    """Score one model completion (see the module docstring for the rules)."""
    if isinstance(completion, str) and len(completion) > MAX_COMPLETION_CHARS:
        return Score(0.0, False, None, None, False, False,
                     f"{OVERSIZED}: completion is {len(completion)} characters (limit {MAX_COMPLETION_CHARS})")
    answer = extract_answer(completion)
    if answer is None:
        return Score(0.0, False, None, None, False, False, f"{NO_ANSWER_TAG}: no <answer>…</answer> block")
    expression = clean_expression(answer)
    parsed = parse_expression(expression)
    if not parsed.ok:
        return Score(0.0, False, None, None, False, False, parsed.error)
    ok_numbers = numbers_match(parsed.numbers, numbers, rule)
    value = float(parsed.value)
    target_value = _target(target)
    if target_value is None:
        return Score(0.0, True, expression, value, False, ok_numbers, f"{BAD_TARGET}: {ascii(target)[:40]}")
    correct = ok_numbers and abs(parsed.value - target_value) <= Fraction(tolerance)
    error = None if ok_numbers else f"{WRONG_NUMBERS}: the expression does not use the given numbers as required"
    return Score(full_score if correct else format_score, True, expression, value, correct, ok_numbers, error)


__all__ = ["FORMAT_SCORE", "FULL_SCORE", "MAX_CHARS", "MAX_COMPLETION_CHARS", "NUMBER_RULES", "Score",
           "clean_expression", "extract_answer", "numbers_match", "score_completion"]
