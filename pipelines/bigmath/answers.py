"""Finding the final answer in the many ways sources write it."""

from __future__ import annotations

import math
import re

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
# "\boxed 5", "$\boxed -3$": a box without braces holds one token
_BARE_BOX = re.compile(r"\\boxed\s+(-?[^\s${}\\]+)")
# MetaMathQA / MathInstruct style closing line: "The answer is: 18", "The answer is $\frac{1}{2}$."
# the value is the rest of the last line; "(.+?)\s*$" rescanned to the end of the line from every
# phrase ("the answer is x" repeated, then another line: quadratic), so the phrase is found alone
_ANSWER_IS = re.compile(r"(?i)(?:^|\n|[.!]\s+)the\s+(?:final\s+)?answer\s+is\s*:?\s*")
_HASH = re.compile(r"####\s*(.+?)\s*$", re.S)
_CALC = re.compile(r"<<[^<>]*>>")  # GSM8K calculator annotations
# "A) 12 B) 16", "a ) 12 , b ) 16", "(A) 12 (B) 16", "A. 12 B. 16"
_OPTION_SPLIT = re.compile(r"(?:^|(?<=[\s,;]))(?:\(([A-Ea-e])\)|([A-Ea-e])\s?\)|([A-E])[.:])\s*")
_OPTION_PREFIX = re.compile(r"^\s*\(?([A-Ea-e])\s*[\).:]\s*")


def last_boxed(text: str | None) -> str | None:
    """The content of the last ``\\boxed{...}`` (braces balanced; ``\\boxed 5`` too), or None."""
    if not text:
        return None
    found, found_at = None, -1
    for m in _BARE_BOX.finditer(text):
        found, found_at = m.group(1).rstrip(".,;"), m.start()
    closing = None
    for m in _BOX.finditer(text):
        if m.start() < found_at:
            continue
        if closing is None:
            closing = _closing_braces(text)
        end = closing.get(m.end() - 1)
        if end is not None:
            found = text[m.end() : end].strip()
    return found


def _closing_braces(text: str) -> dict[int, int]:
    """Position of each ``{`` -> position of its matching ``}`` (unclosed ones absent), in one pass.

    Scanning forward from every ``\\boxed{`` separately was quadratic on ``\\boxed{`` repeated.
    """
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for i, c in enumerate(text):
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            pairs[stack.pop()] = i
    return pairs


def stated_answer(text: str | None) -> str | None:
    """The value of a closing "The answer is: X" line (MetaMathQA, MathInstruct), or None."""
    if not text:
        return None
    text = text.strip()
    last_line = text.rfind("\n") + 1
    for m in _ANSWER_IS.finditer(text):  # the earliest phrase that ends on the last line, before its end
        if last_line <= m.end() < len(text):
            value = text[m.end() :].strip().rstrip(".").strip()
            break
    else:
        return None
    if value.startswith("$") and value.endswith("$") and value.count("$") == 2:
        value = value.strip("$").strip()
    return value or None


_WHOLE_BOX = re.compile(r"^\$*\s*\\(?:boxed|fbox)\s*\{")


def clean_answer(answer: str | None) -> str | None:
    """An answer column that is itself ``$\\boxed{X}$`` is ``X`` (some exports keep the box)."""
    if answer is None:
        return None
    a = answer.strip()
    if _WHOLE_BOX.match(a):
        inner = last_boxed(a)
        rest = a[: a.find("\\")].strip("$ ") + a[a.rfind("}") + 1 :].strip("$ .")
        if inner is not None and not rest and a.count("\\boxed") + a.count("\\fbox") == 1:
            return inner
    return a


def split_gsm8k(text: str | None) -> tuple[str | None, str | None]:
    """(solution, answer) of a GSM8K answer field ``"...\\n#### 18"``."""
    if not text:
        return None, None
    idx = text.rfind("####")
    if idx < 0:
        return text, None
    answer = text[idx + 4 :].strip().replace(",", "") or None
    solution = _CALC.sub("", text[:idx]).strip() or None
    return solution, answer


def format_number(value) -> str:
    """43.0 -> '43', 0.5 -> '0.5'; non-finite numbers are returned as written."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def parse_options(options) -> list[str]:
    """Option texts from a list (``["A)12", ...]``) or one string (``"A) 12 B) 16"``), letters kept."""
    if options is None:
        return []
    if isinstance(options, (list, tuple)):
        return [str(o).strip() for o in options if o is not None and str(o).strip()]
    if isinstance(options, dict):  # {"A": "12", ...}
        return [f"{k}) {v}".strip() for k, v in options.items()]
    text = str(options).strip()
    if not text:
        return []
    marks = _sequential(list(_OPTION_SPLIT.finditer(text)))
    if len(marks) < 2:
        return [text]
    out = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        letter = next(g for g in m.groups() if g)
        out.append(f"{letter.upper()}) {text[m.end():end].strip().rstrip(',;').strip()}")
    return out


def option_marks(text: str) -> list[tuple[int, str]]:
    """(position, upper-case letter) of every option marker ("A)", "(B)", "c )", "D.") in ``text``, in order."""
    return [(m.start(), next(g for g in m.groups() if g).upper()) for m in _OPTION_SPLIT.finditer(text)]


def option_value(options: list[str], letter: str | None) -> str | None:
    """The text of option ``letter`` (without its ``A)`` prefix), or None."""
    if not letter:
        return None
    letter = str(letter).strip().strip("()").upper()[:1]
    for i, opt in enumerate(options):
        m = _OPTION_PREFIX.match(opt)
        if m and m.group(1).upper() == letter:
            return opt[m.end() :].strip() or None
    if len(letter) == 1 and "A" <= letter <= "E":  # unlabelled options: by position
        i = ord(letter) - ord("A")
        if i < len(options) and not _OPTION_PREFIX.match(options[i]):
            return options[i].strip() or None
    return None


def _sequential(marks: list[re.Match]) -> list[re.Match]:
    """Keep only markers that run A, B, C, ... in order (a stray "C." inside an option is text)."""
    out, want = [], 0
    for m in marks:
        letter = next(g for g in m.groups() if g).upper()
        if ord(letter) - ord("A") == want:
            out.append(m)
            want += 1
    return out
