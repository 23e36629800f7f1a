"""The Countdown reward of the TinyZero / cognitive-behaviors setup, without ``eval``.

Score 1.0 when the last ``<answer>`` block holds an expression that uses the given numbers (each
exactly once under the ``all`` rule, at most once under ``subset``) and equals the target within
``tolerance``; ``format_score`` (0.1) when an answer block is there but the expression is wrong,
unreadable or uses the wrong numbers; 0.0 when no answer block is found.

Real completions are messy, so the answer is cleaned first: special tokens and stray tags are
removed, ``\\boxed{}``/``$``/LaTeX operators are unwrapped, unicode minus/times/divide signs are
mapped to ASCII, a trailing ``= <target>`` is dropped and surrounding words are cut away.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from pipelines.countdown.arith import MAX_CHARS, parse_expression

FORMAT_SCORE = 0.1
FULL_SCORE = 1.0
TOLERANCE = 1e-5
NUMBER_RULES = ("all", "subset")

_ASSISTANT = re.compile(r"(?:Assistant:|<\|im_start\|>\s*assistant)", re.IGNORECASE)
_SPECIAL = re.compile(r"<\|[^|<>]{0,64}\|>|</?s>|<eos>|<bos>|<pad>", re.IGNORECASE)
_ANSWER = re.compile(r"<\s*answer\s*>(.*?)<\s*/\s*answer\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?\s*[A-Za-z][A-Za-z0-9_-]{0,20}\s*/?>")
_RUN = re.compile(r"[\d\s.+\-*/()]+")
_UNICODE_OPS = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-", "\ufe63": "-", "\uff0d": "-",
    "\u00d7": "*", "\u22c5": "*", "\u00b7": "*", "\u2217": "*", "\u2715": "*", "\u2716": "*", "\uff0a": "*",
    "\u00f7": "/", "\u2215": "/", "\u2044": "/", "\uff0f": "/",
    "\uff08": "(", "\uff09": ")",
}
_BRACKETS = {"[": "(", "]": ")", "{": "(", "}": ")"}
_LATEX = [(re.compile(r"\\times|\\cdot|\\ast"), "*"), (re.compile(r"\\div"), "/"),
          (re.compile(r"\\left|\\right|\\[,;!: ]|\\text\{[^}]*\}"), " "),
          (re.compile(r"\\d?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"), r"((\1)/(\2))")]
_TIMES_X = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])")


@dataclass(frozen=True)
class Score:
    score: float
    format_ok: bool
    expression: str | None
    value: float | None
    correct: bool
    numbers_ok: bool
    parse_error: str | None


def extract_answer(completion: str) -> str | None:
    """The content of the last ``<answer>…</answer>`` block of the assistant's turn, or None."""
    if not isinstance(completion, str):
        return None
    parts = _ASSISTANT.split(completion)
    text = parts[-1] if len(parts) > 1 else completion
    text = _SPECIAL.sub("", text)
    blocks = _ANSWER.findall(text)
    return blocks[-1] if blocks else None


def _unbox(text: str) -> str:
    """Replace ``\\boxed{...}`` (balanced braces) by its content; the last box wins."""
    start = text.rfind("\\boxed")
    if start < 0:
        return text
    brace = text.find("{", start)
    if brace < 0:
        return text
    depth = 0
    for i in range(brace, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[brace + 1:i]
    return text[brace + 1:]


def clean_expression(answer: str) -> str:
    """Best candidate arithmetic expression inside an answer block ('' when there is none)."""
    text = unicodedata.normalize("NFKC", answer)
    text = "".join(_UNICODE_OPS.get(ch, ch) for ch in text)  # NFKC leaves − × ÷ alone
    text = _unbox(text)
    for pattern, repl in _LATEX:
        text = pattern.sub(repl, text)
    text = "".join(_BRACKETS.get(ch, ch) for ch in text)
    text = _TAG.sub(" ", text).replace("$", " ").replace("\\(", " ").replace("\\)", " ")
    text = _TIMES_X.sub("*", text)
    segments = [s for s in text.split("=")]
    candidates: list[str] = []
    for seg in segments:
        for run in _RUN.findall(seg):
            run = run.strip().rstrip(".").strip()
            if any(ch.isdigit() for ch in run):
                candidates.append(run)
    if not candidates:
        return ""
    # the expression is the run with the most literals; a bare "= 24" result has just one
    return max(candidates, key=lambda r: (len(re.findall(r"\d+(?:\.\d+)?", r)), -candidates.index(r)))


def numbers_match(used: Sequence, available: Sequence[int], rule: str = "all") -> bool:
    """``all``: the literals are exactly the available numbers (as multisets); ``subset``: each at most once."""
    if rule not in NUMBER_RULES:
        raise ValueError(f"numbers rule {rule!r}: use one of {NUMBER_RULES}")
    have = Counter(Fraction(n) for n in available)
    want = Counter(Fraction(n) for n in used)
    if rule == "all":
        return have == want
    return all(have[k] >= v for k, v in want.items())


def score_completion(completion: str, numbers: Sequence[int], target, *, rule: str = "all",
                     tolerance: float = TOLERANCE, format_score: float = FORMAT_SCORE,
                     full_score: float = FULL_SCORE) -> Score:
    """Score one model completion (see the module docstring for the rules)."""
    answer = extract_answer(completion)
    if answer is None:
        return Score(0.0, False, None, None, False, False, "no_answer_tag: no <answer>…</answer> block")
    expression = clean_expression(answer[: MAX_CHARS * 4])
    if not expression:
        return Score(format_score, True, None, None, False, False, "no_expression: the answer block holds no arithmetic")
    parsed = parse_expression(expression)
    if not parsed.ok:
        return Score(format_score, True, expression, None, False, False, parsed.error)
    ok_numbers = numbers_match(parsed.numbers, numbers, rule)
    value = float(parsed.value)
    try:
        target_value = Fraction(str(target))
    except (ValueError, ZeroDivisionError):
        return Score(format_score, True, expression, value, False, ok_numbers, f"bad_target: {target!r}")
    correct = ok_numbers and abs(parsed.value - target_value) <= Fraction(tolerance)
    error = None if ok_numbers else "wrong_numbers: the expression does not use the given numbers as required"
    return Score(full_score if correct else format_score, True, expression, value, correct, ok_numbers, error)
