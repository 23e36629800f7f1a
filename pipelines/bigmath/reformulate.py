"""Multiple-choice problems made open-ended (Big-Math-Reformulated), with checks on every output.

Two paths, then the same rule checks:

- **rule path** for items whose stem is a complete question on its own ("What is the value of
  x?", "Find ...") and whose correct option is a parseable math value: drop the options, the
  answer becomes the correct option's value (a unit the option carried is asked for in words).
- **LLM path** (only with an LLM configured) for the rest, in the paper's steps: key-information
  extraction, reformulation, judge (PASS/FAIL with reasons), verification (the model solves the
  new problem; its answer must equal the correct option's value under math-verify).

Every output, whichever path made it, must pass: no option letters / "which of the following"
left, the answer equals the correct option's value under math-verify, no hint added (the answer
or "the answer is" appearing in the new text), every number of the original stem still present.
A row failing anything is rejected with a stable reason; nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal, Sequence

import polars as pl
from pydantic import BaseModel, Field

from pipelines.bigmath import signals
from pipelines.bigmath.answers import _OPTION_PREFIX, option_marks, option_value, parse_options
from pipelines.bigmath.limits import MAX_OPTION_CHARS, MAX_OPTION_LIST_TRIES
from pipelines.bigmath.verify import VerifyOutcome, _as_latex, verify_answers
from pipelines.core.hashing import content_id
from pipelines.core.steps import Funnel

# ------------------------------------------------------------------ stable reason codes and steps
# The codes live in the family's reasons module (pipelines/bigmath/reasons.py); re-exported here.
from pipelines.bigmath.reasons import (
    ANSWER_MISMATCH, ANSWER_NOT_A_VALUE, APPROXIMATE, DUPLICATE, HINT_ADDED, JUDGE_FAIL, MALFORMED,
    NO_CORRECT_OPTION, NUMBERS_CHANGED, OPTION_RESIDUE, STEM_INCOMPLETE, STEM_REFERS_TO_OPTIONS, UNHANDLED,
    UNPARSEABLE_ANSWER, VERIFY_FAIL, VERIFY_TIMEOUT)

# The steps, in order; each row is kept or rejected by exactly one of them (the funnel table).
STEP_PREPARE = "prepare"                  # find the stem, the options and the correct option's value
STEP_STEM = "stem_stands_alone"           # rule path: the stem is a complete question (else the LLM path)
STEP_LLM_REFORMULATE = "llm_reformulate"  # LLM path: key-information extraction, then reformulation
STEP_OUTPUT_CHECKS = "output_checks"      # no option residue, no hint, numbers kept, answer = correct option
STEP_LLM_REVIEW = "llm_review"            # LLM outputs: the judge, then an independent solve
STEP_DEDUP = "dedup"                      # same problem as a kept row or an earlier reformulated one
STEP_UNHANDLED = "unhandled"              # a row no step took or rejected (never expected)
STEPS = (STEP_PREPARE, STEP_STEM, STEP_LLM_REFORMULATE, STEP_OUTPUT_CHECKS, STEP_LLM_REVIEW, STEP_DEDUP)

RULE, LLM = "rule", "llm"
PROMPTS = ("bigmath/extract_key_info", "bigmath/reformulate", "bigmath/judge", "bigmath/verify")

OUTPUT_COLUMNS = {
    "problem_id": pl.Utf8, "problem": pl.Utf8, "answer": pl.Utf8, "original_problem": pl.Utf8,
    "original_problem_id": pl.Utf8, "original_answer": pl.Utf8, "method": pl.Utf8, "model": pl.Utf8,
    "prompt_name": pl.Utf8, "prompt_version": pl.Utf8, "prompt_hash": pl.Utf8, "llm_prompts": pl.Utf8,
}


# ------------------------------------------------------------------ the correct option's value

_NOT_A_VALUE = re.compile(
    r"(?i)\b(?:none|all)\s+of\s+(?:these|the\s+above|them)|cannot\s+be\s+(?:determined|found)|data\s+"
    r"(?:inadequate|insufficient)|not\s+(?:possible|enough|sufficient)|\bboth\b|\bneither\b|\bonly\b|\bexactly\b"
    r"|\bno\s+solution|\binfinitely\b|\band\b|\bor\b"
)
_CURRENCY = re.compile(r"^(?:rs\.?|inr|usd|\\\$|\$|₹|€|£)\s*", re.I)
_UNIT_TAIL = re.compile(r"^(?P<num>[-+]?\(?[\d.,/\s()+\-*^√π]*\d\)?)\s*(?P<unit>%|[A-Za-z][A-Za-z./\s²³]*)$")
_SQRT = re.compile(r"√\s*(\d+(?:\.\d+)?|[A-Za-z]|\([^()]*\))")
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+)(?![\d])")
_MIXED = re.compile(r"^\s*\d+\s+\d+\s*/\s*\d+\s*$")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_LETTER = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class OptionValue:
    value: str | None        # the math value (LaTeX/plain), None when the option is not a value
    unit: str | None = None  # a unit the option carried ("minutes", "km/hr"), asked for in words
    problem: str | None = None  # why it is not a value


def option_math_value(text: str | None, stem: str = "") -> OptionValue:
    """The correct option's value as math, e.g. ``"Rs. 750"`` -> 750, ``"5(√3 + 1)"`` ->
    ``5(\\sqrt{3} + 1)``, ``"36 minutes"`` -> 36 (unit minutes). Options that are words, "None of
    these", several values or ambiguous notation (``2 1/2``, ``n2`` for n²) are not values."""
    if text is None or not text.strip():
        return OptionValue(None, problem="the correct option is empty")
    if len(text) > MAX_OPTION_CHARS:  # before the patterns below (_UNIT_TAIL backtracks on long text)
        return OptionValue(None, problem=f"the correct option is {len(text)} characters (limit {MAX_OPTION_CHARS})")
    t = text.strip()
    if t.startswith("$") and t.endswith("$") and len(t) > 1:
        t = t.strip("$").strip()
    if _NOT_A_VALUE.search(t):
        return OptionValue(None, problem=f"option {text!r} is not a single value")
    t = _CURRENCY.sub("", t)
    t = (t.replace("–", "-").replace("−", "-").replace("×", "\\times ").replace("÷", "/").replace("π", "\\pi ")
         .replace("²", "^2").replace("³", "^3").replace("∞", "\\infty "))
    t = _SQRT.sub(lambda m: "\\sqrt{" + m.group(1).strip("()") + "}", t).strip()
    t = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), t)
    if _MIXED.match(t):
        return OptionValue(None, problem=f"option {text!r} is a mixed number (ambiguous to parse)")
    unit = None
    m = _UNIT_TAIL.match(t)
    if m and m.group("unit") != "%" and not _is_variable(m.group("unit"), stem):
        word = m.group("unit").strip().rstrip(".").strip()
        key = word.lower()
        if key in ("dollars", "dollar", "rupees", "rs", "cents"):
            t = m.group("num").strip()  # currency, like a leading $ or Rs.
        elif key in ("pi", "π"):
            t = f"{m.group('num').strip()}\\pi"
        elif key in UNITS:
            unit, t = UNITS[key], m.group("num").strip()
        elif re.search(rf"(?i)\bhow\s+many\s+{re.escape(word)}\b", stem):
            t = m.group("num").strip()  # "96 men" for "how many men ...": the noun is the question's own
        else:
            return OptionValue(None, problem=f"option {text!r} carries {word!r}, which is not a known unit")
    if re.search(r",", re.sub(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}", "", t)):
        return OptionValue(None, problem=f"option {text!r} holds several values")
    letters = _LETTER.findall(_LATEX_CMD.sub(" ", t))
    for run in re.findall(r"[A-Za-z]{2,}", _LATEX_CMD.sub(" ", t)):
        if len(run) > 3 or not all(_is_variable(c, stem) for c in run):  # "zy" is z times y; "gms" is a word
            return OptionValue(None, problem=f"option {text!r} contains words")
    if re.search(r"(?<![\\A-Za-z])[A-Za-z]\d", _LATEX_CMD.sub(" ", t)):
        return OptionValue(None, problem=f"option {text!r} writes a power as a letter then a digit (ambiguous)")
    missing = sorted({c for c in letters if not re.search(rf"(?<![A-Za-z\\]){c}(?![A-Za-z])", stem)})
    if missing:
        return OptionValue(None, problem=f"option {text!r} uses {', '.join(missing)}, which the problem never names")
    if not re.search(r"[\d\\]|[A-Za-z]", t):
        return OptionValue(None, problem=f"option {text!r} has no value")
    return OptionValue(t, unit)


def _is_variable(unit: str, stem: str) -> bool:
    """'5 x' is 5 times x when x is a variable of the problem, not a unit ('1m' is a unit)."""
    u = unit.strip()
    return len(u) == 1 and bool(re.search(rf"(?<![A-Za-z0-9]){re.escape(u)}(?![A-Za-z])", stem))


# units an option may carry, as the instruction names them ("Express your answer in minutes.")
_UNIT_NAMES = {
    "minutes": ("min", "mins", "minute", "minutes"), "hours": ("hr", "hrs", "hour", "hours", "h"),
    "seconds": ("s", "sec", "secs", "second", "seconds"), "days": ("day", "days"), "weeks": ("week", "weeks"),
    "months": ("month", "months"), "years": ("year", "years", "yrs", "yr"),
    "km": ("km", "kms", "kilometre", "kilometres", "kilometer", "kilometers"),
    "meters": ("m", "metre", "metres", "meter", "meters", "mtrs"), "cm": ("cm", "centimeters", "centimetres"),
    "mm": ("mm",), "miles": ("mile", "miles", "mi"), "feet": ("ft", "feet", "foot"),
    "inches": ("in", "inch", "inches"), "kg": ("kg", "kgs", "kilogram", "kilograms"), "grams": ("g", "gm", "gms", "gram", "grams"),
    "liters": ("l", "litre", "litres", "liter", "liters", "lit"), "ml": ("ml",),
    "km/hr": ("km/hr", "km/h", "kmph", "kms/hr", "km/hour", "kmphr"), "m/s": ("m/s", "m/sec", "mps"),
    "mph": ("mph", "miles/hour", "miles/hr", "miles per hour"),
    "square meters": ("sq m", "sq. m", "sq.m", "sq metres", "sq meters", "m2", "square meters", "square metres"),
    "square cm": ("sq cm", "sq. cm", "sq.cm", "cm2", "square cm"), "square feet": ("sq ft", "sq. ft", "square feet"),
    "square units": ("sq units", "sq. units", "square units"), "cubic cm": ("cu cm", "cm3", "cubic cm"),
    "degrees": ("degree", "degrees", "deg"),
}
UNITS = {alias: name for name, aliases in _UNIT_NAMES.items() for alias in aliases}


# ------------------------------------------------------------------ the stem

_OPTION_REFERENCE = re.compile(
    r"(?i)\bwhich\b|\bthe\s+following\b|\bof\s+these\b|\bnone\s+of\b|\ball\s+of\s+the\b|\b(?:answer\s+)?"
    r"(?:options?|choices?)\b|\b(?:could|can|may|might|must)\s+(?:not\s+)?be\b|\bexcept\b|\babove\b|\bbelow\b"
    r"|\bcorrect\s+(?:answer|statement)|\bstatements?\b|\btrue\b|\bfalse\b"
)
_APPROX = re.compile(r"(?i)\bclosest\b|\bapprox(?:imately|imate|\.)?|\bnearly\b|\babout\b|\broughly\b|\bestimate")
_QUESTION_START = re.compile(
    r"(?i)(?:^|,\s*)(?:find|calculate|compute|determine|evaluate|simplify|solve|what|how|in\s+how|give|express"
    r"|work\s+out)\b")
# no leading \s* (rescanned a whitespace run from each of its positions) and no \s*\.?\s* (nested)
_TRAILING_NOTE = re.compile(r"\([^()]*\)\s*(?:\.\s*)?$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$\\(])")


def split_inline_options(problem: str) -> tuple[str, list[str]]:
    """Options written inside the problem text: (stem, options). No options found: (problem, [])."""
    text = problem.strip()
    m = re.search(r"(?i)\b(?:answer\s+)?(?:choices|options)\s*:", text)
    cut = None
    if m:
        cut = m.start()
        tail = text[m.end():]
    else:
        # the earliest run of A/B markers ("A) 12 B) 16", "(A) 12 (B) 16", "a ) 12 , b ) 16"); a marker
        # with no "B" marker after it cannot start a list, so only those are confirmed by a full parse
        # (at most MAX_OPTION_LIST_TRIES per kind: parsing the rest after every "(A)" was quadratic)
        last_b = _last_b_marker(text)
        for pat in (r"\(\s*A\s*\)", r"(?:^|(?<=[\s,;:]))A\s?\)", r"(?:^|(?<=[\s,;:]))a\s?\)", r"(?m)^[^\S\n]*A[.:]\s"):
            tries = 0
            for mm in re.finditer(pat, text):
                if mm.start() >= last_b or tries >= MAX_OPTION_LIST_TRIES:
                    break
                tries += 1
                rest = text[mm.start():]
                if len(parse_options(rest)) >= 2:
                    cut = mm.start()
                    break
            if cut is not None:
                break
        tail = text[cut:] if cut is not None else ""
    if cut is None:
        return text, []
    options = parse_options(tail.strip())
    if len(options) < 2:
        return text, []
    return text[:cut].strip(), options


def _last_b_marker(text: str) -> int:
    """Start of the last "B" option marker in ``text`` (-1 when none): an option list needs one after its "A"."""
    return max((pos for pos, letter in option_marks(text) if letter == "B"), default=-1)


def stem_problem(stem: str) -> tuple[str, str] | None:
    """None when the stem is a complete question on its own; else (reason, detail)."""
    tail = _last_sentence(stem)
    if signals.is_multiple_choice(stem):
        return STEM_REFERS_TO_OPTIONS, "the stem still holds an option list"
    m = _OPTION_REFERENCE.search(tail)
    if m:
        return STEM_REFERS_TO_OPTIONS, f"the question says {m.group(0)!r}: it needs the options"
    m = _APPROX.search(stem)
    if m:
        return APPROXIMATE, f"{m.group(0)!r}: the correct option is an estimate, not the exact value"
    t = tail.rstrip()
    if _TRAILING_NOTE.search(stem) and not t.rstrip(".").endswith("?"):  # "... in grams? (1 gram = 1,000 mg)"
        t = _last_sentence(_TRAILING_NOTE.sub("", stem)).rstrip()
    if t.endswith("?") or (_QUESTION_START.search(t) and not t.endswith((":", "is", "are", "="))):
        return None
    return STEM_INCOMPLETE, f"the last sentence {t[-60:]!r} is not a question on its own"


def _last_sentence(text: str) -> str:
    parts = [p for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    return parts[-1].strip() if parts else text.strip()


# ------------------------------------------------------------------ checks on every output

_RESIDUE = re.compile(
    r"(?i)\bwhich\s+(?:one\s+)?of\b|\bthe\s+following\b|\bnone\s+of\s+(?:these|the\s+above)\b|\ball\s+of\s+the\s+above\b"
    r"|\banswer\s+(?:choices?|options?)\b|\b(?:options?|choices?)\s*:|\bcorrect\s+option\b"
)
_LETTER_MARK = re.compile(r"(?m)(?<![A-Za-z])\(\s*[A-E]\s*\)|(?:^|[\s,;:])[A-E]\s?\)\s*\S|^[^\S\n]*[A-E][.:]\s")
_HINT = re.compile(r"(?i)\bhint\b|\bthe\s+answer\s+is\b|\banswer\s*:|\bnote\s+that\s+the\s+answer\b")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")


def option_residue(problem: str) -> str | None:
    m = _RESIDUE.search(problem)
    if m:
        return f"option residue {m.group(0).strip()!r}"
    marks = {re.sub(r"[^A-E]", "", x.group(0)) for x in _LETTER_MARK.finditer(problem)}
    if len(marks) >= 2:  # one "(A)" is an event or a point; "(A) ... (B)" is an option list
        return f"option letters {', '.join(sorted(marks))} left in the problem"
    if signals.is_multiple_choice(problem):
        return "an option list is left in the problem"
    return None


def numbers_of(text: str) -> set[str]:
    text = _THOUSANDS.sub(lambda m: m.group(1).replace(",", ""), text)
    return {_canon_number(n) for n in _NUMBER.findall(text)}


def _canon_number(n: str) -> str:
    return n.rstrip("0").rstrip(".") if "." in n else n.lstrip("0") or "0"


def hint_added(original_stem: str, problem: str, answer: str) -> str | None:
    if _HINT.search(problem) and not _HINT.search(original_stem):
        return "the new problem contains a hint or states the answer"
    answer_numbers = numbers_of(answer)
    if len(answer_numbers) == 1:
        (n,) = answer_numbers
        if n in numbers_of(problem) and n not in numbers_of(original_stem):
            return f"the answer {n} appears in the new problem but not in the original"
    return None


def numbers_missing(original_stem: str, problem: str) -> str | None:
    missing = sorted(numbers_of(original_stem) - numbers_of(problem), key=lambda s: (len(s), s))
    return f"numbers of the original missing: {', '.join(missing[:10])}" if missing else None


@dataclass(frozen=True)
class AnswerPair:
    answer: str | None
    expected: str | None


def check_pair(item: AnswerPair, timeout_s: int = 5) -> VerifyOutcome:
    """In a verify worker: both parse, and the answer equals the expected value (math-verify)."""
    from math_verify import parse, verify

    if not item.answer or not item.expected:
        return VerifyOutcome(False, None, "empty answer")
    try:
        gold = parse(_as_latex(item.expected), parsing_timeout=timeout_s)
        pred = parse(_as_latex(item.answer), parsing_timeout=timeout_s)
    except Exception as exc:  # math-verify raises on some malformed LaTeX
        return VerifyOutcome(False, None, f"parse error: {type(exc).__name__}")
    if not gold or not pred:
        return VerifyOutcome(False, None, f"math-verify cannot parse {item.expected if not gold else item.answer!r}")
    try:
        same = bool(verify(gold, pred, timeout_seconds=timeout_s))
    except Exception as exc:
        return VerifyOutcome(True, False, f"compare error: {type(exc).__name__}")
    return VerifyOutcome(True, same, None if same else f"{item.answer!r} != correct option {item.expected!r}")


# ------------------------------------------------------------------ LLM stage schemas


class KeyInformation(BaseModel):
    givens: list[str] = Field(min_length=1)
    asked: str = Field(min_length=1)
    answer_form: str = ""


class Reformulation(BaseModel):
    problem: str = Field(min_length=1)
    answer: str = Field(min_length=1)


class Judgement(BaseModel):
    verdict: Literal["PASS", "FAIL"]
    reasons: list[str] = Field(default_factory=list)


class Verification(BaseModel):
    final_answer: str = Field(min_length=1)
    well_posed: bool


# ------------------------------------------------------------------ the whole reformulation


@dataclass
class ReformulationResult:
    kept: pl.DataFrame
    rejected: pl.DataFrame
    rows_in: int
    llm_status: str                      # "used" or why the LLM path was skipped
    llm_stats: dict = field(default_factory=dict)
    rule_candidates: int = 0             # items whose stem the rule path could take
    funnel: Funnel = field(default_factory=Funnel)  # per step: rows in, kept, rejected per reason

    @property
    def funnel_frame(self) -> pl.DataFrame:
        return self.funnel.to_frame()

    def by_reason(self) -> dict[str, int]:
        if not self.rejected.height:
            return {}
        rows = self.rejected.group_by("reason").len().sort("reason").iter_rows()
        return {r: int(n) for r, n in rows}

    def by_method(self) -> dict[str, int]:
        if not self.kept.height:
            return {}
        return {m: int(n) for m, n in self.kept.group_by("method").len().sort("method").iter_rows()}

    def summary(self) -> dict:
        n = self.rows_in
        return {"rows_in": n, "reformulated": self.kept.height, "rejected": self.rejected.height,
                "accepted_share": round(self.kept.height / n, 4) if n else 0.0,
                "rule_path_accepted": self.by_method().get(RULE, 0),
                "rule_path_share": round(self.by_method().get(RULE, 0) / n, 4) if n else 0.0,
                "llm_path_accepted": self.by_method().get(LLM, 0),
                "rejected_by_reason": self.by_reason(), "llm": self.llm_status, "llm_stats": self.llm_stats}


@dataclass
class _Item:
    row: dict
    stem: str
    options: list[str]
    expected: str | None = None
    unit: str | None = None
    problem: str | None = None
    answer: str | None = None
    method: str | None = None
    reason: str | None = None
    detail: str | None = None
    step: str | None = None
    provenance: dict = field(default_factory=dict)
    key_information: str | None = None

    def reject(self, reason: str, detail: str | None, step: str) -> None:
        self.reason, self.detail, self.step = reason, detail, step


def prepare_item(row: dict) -> _Item:
    """Find the stem, the options and the correct option's value of one input row."""
    problem = (row.get("problem") or "").strip()
    options = [o for o in (row.get("options") or []) if o]
    if options:
        stem = split_inline_options(problem)[0] if signals.is_multiple_choice(problem) else problem
    else:
        stem, options = split_inline_options(problem)
    item = _Item(row=row, stem=stem, options=options)
    if not stem:
        item.reject(MALFORMED, "empty problem", step=STEP_PREPARE)
        return item
    correct = _correct_option_text(options, row.get("answer_letter"), row.get("answer"))
    if correct is None:
        item.reject(NO_CORRECT_OPTION, f"answer {row.get('answer_letter') or row.get('answer')!r} matches none of "
                                       f"{len(options)} options", step=STEP_PREPARE)
        return item
    value = option_math_value(correct, stem)
    if value.value is None:
        item.reject(ANSWER_NOT_A_VALUE, value.problem, step=STEP_PREPARE)
        return item
    item.expected, item.unit = value.value, value.unit
    return item


def _correct_option_text(options: list[str], letter: str | None, answer: str | None) -> str | None:
    if letter:
        return option_value(options, letter)
    if answer is None or not str(answer).strip():
        return None
    a = str(answer).strip()
    if re.fullmatch(r"\(?[A-Ea-e]\)?\.?", a):  # the answer column holds the letter
        return option_value(options, a.strip("().").upper()) if options else None
    if not options:
        return a  # the value itself, no options to check it against
    bare = [(_OPTION_PREFIX.sub("", o, count=1).strip()) for o in options]
    for b in bare:
        if b == a or b.strip("$ ") == a.strip("$ "):
            return b
    return None  # a value that is none of the options: the item is inconsistent


def with_unit(stem: str, unit: str | None) -> str:
    if not unit:
        return stem
    if re.search(rf"(?i)\b(?:in|of)\s+{re.escape(unit.rstrip('.'))}", stem):
        return stem
    return f"{stem.rstrip()} Express your answer in {unit}."


def rule_path(items: Sequence[_Item]) -> int:
    """Take every item whose stem stands alone; mark the others with why not. Returns the count taken."""
    taken = 0
    for it in items:
        if it.reason or it.method:
            continue
        why = stem_problem(it.stem)
        if why is None:
            it.problem, it.answer, it.method = with_unit(it.stem, it.unit), it.expected, RULE
            taken += 1
        else:
            it.reject(*why, step=STEP_STEM)
    return taken


def llm_path(items: Sequence[_Item], client, prompts: dict) -> None:
    """Extraction -> reformulation for every item the rule path declined (marked with a stem reason)."""
    todo = [it for it in items if it.reason in (STEM_REFERS_TO_OPTIONS, STEM_INCOMPLETE, APPROXIMATE)]
    if not todo:
        return
    for it in todo:
        it.reason = it.detail = it.step = None
    variables = [_vars(it) for it in todo]
    keys = client.structured(prompts["bigmath/extract_key_info"], variables, KeyInformation)
    ok = []
    for it, v, res in zip(todo, variables, keys):
        if not res.ok:
            it.reject(res.reason, f"key-information extraction: {res.error}", step=STEP_LLM_REFORMULATE)
            continue
        k = res.parsed
        it.key_information = "\n".join([f"- given: {g}" for g in k.givens] + [f"- asked: {k.asked}"] +
                                       ([f"- answer form: {k.answer_form}"] if k.answer_form else []))
        ok.append((it, {**v, "key_information": it.key_information}))
    outs = client.structured(prompts["bigmath/reformulate"], [v for _, v in ok], Reformulation)
    prov = {"model": client.model, **prompts["bigmath/reformulate"].provenance(),
            "llm_prompts": json.dumps({n: f"{p.version}@{p.short_hash}" for n, p in prompts.items()}, sort_keys=True)}
    for (it, _), res in zip(ok, outs):
        if not res.ok:
            it.reject(res.reason, f"reformulation: {res.error}", step=STEP_LLM_REFORMULATE)
            continue
        it.problem, it.answer, it.method, it.provenance = res.parsed.problem.strip(), res.parsed.answer.strip(), LLM, prov


def _vars(it: _Item) -> dict:
    letter = it.row.get("answer_letter") or ""
    return {"problem": it.stem, "options": it.options, "answer": it.expected, "answer_letter": letter}


def rule_checks(items: Sequence[_Item], workers: int, timeout_s: int) -> None:
    """The checks every output must pass, whichever path made it."""
    outputs = [it for it in items if it.method and not it.reason]
    for it in outputs:
        why = (option_residue(it.problem) and (OPTION_RESIDUE, option_residue(it.problem))) \
            or (hint_added(it.stem, it.problem, it.answer) and (HINT_ADDED, hint_added(it.stem, it.problem, it.answer))) \
            or (numbers_missing(it.stem, it.problem) and (NUMBERS_CHANGED, numbers_missing(it.stem, it.problem)))
        if why:
            it.reject(*why, step=STEP_OUTPUT_CHECKS)
    outputs = [it for it in outputs if not it.reason]
    outcomes = verify_answers([AnswerPair(it.answer, it.expected) for it in outputs], workers=workers,
                              item_timeout_s=timeout_s, check=check_pair)
    for it, o in zip(outputs, outcomes):
        if o.timed_out:  # a timeout is a fact about the machine (issue 10): never "unparseable"
            it.reject(VERIFY_TIMEOUT, o.detail, step=STEP_OUTPUT_CHECKS)
        elif not o.parsed:
            it.reject(UNPARSEABLE_ANSWER, o.detail, step=STEP_OUTPUT_CHECKS)
        elif not o.agrees:
            it.reject(ANSWER_MISMATCH, o.detail, step=STEP_OUTPUT_CHECKS)


def llm_review(items: Sequence[_Item], client, prompts: dict, workers: int, timeout_s: int) -> None:
    """Judge, then verification, for LLM outputs that passed the rule checks (cheap checks first)."""
    todo = [it for it in items if it.method == LLM and not it.reason]
    if not todo:
        return
    judged = client.structured(prompts["bigmath/judge"], [
        {"original_problem": it.stem, "options": it.options, "answer": it.expected, "problem": it.problem,
         "new_answer": it.answer} for it in todo], Judgement)
    passed = []
    for it, res in zip(todo, judged):
        if not res.ok:
            it.reject(res.reason, f"judge: {res.error}", step=STEP_LLM_REVIEW)
        elif res.parsed.verdict != "PASS":
            it.reject(JUDGE_FAIL, "; ".join(res.parsed.reasons)[:500] or "FAIL without reasons", step=STEP_LLM_REVIEW)
        else:
            passed.append(it)
    checked = client.structured(prompts["bigmath/verify"], [{"problem": it.problem} for it in passed], Verification)
    solved = []
    for it, res in zip(passed, checked):
        if not res.ok:
            it.reject(res.reason, f"verification: {res.error}", step=STEP_LLM_REVIEW)
        elif not res.parsed.well_posed:
            it.reject(VERIFY_FAIL, "the verifier found the problem ill-posed", step=STEP_LLM_REVIEW)
        else:
            solved.append((it, res.parsed.final_answer))
    outcomes = verify_answers([AnswerPair(a, it.expected) for it, a in solved], workers=workers,
                              item_timeout_s=timeout_s, check=check_pair)
    for (it, a), o in zip(solved, outcomes):
        if o.timed_out:
            it.reject(VERIFY_TIMEOUT, o.detail, step=STEP_LLM_REVIEW)
        elif not (o.parsed and o.agrees):
            it.reject(VERIFY_FAIL, f"the verifier answered {a!r}, the correct option is {it.expected!r}",
                      step=STEP_LLM_REVIEW)


def reformulate_rows(frame: pl.DataFrame, *, client=None, llm_status: str = "used", prompts: dict | None = None,
                     existing_problem_ids: Sequence[str] = (), workers: int = 2, item_timeout_s: int = 5
                     ) -> ReformulationResult:
    """Reformulate multiple-choice rows (``problem``, ``options``, ``answer`` and/or ``answer_letter``).

    ``client`` is an :class:`pipelines.llm.LLMClient` or None (rule path only; ``llm_status`` says
    why). Kept rows carry the input columns with ``problem``/``answer`` replaced, plus
    :data:`OUTPUT_COLUMNS`; rejected rows carry the input columns plus ``reason``, ``step``, ``detail``.
    """
    rows = frame.to_dicts()
    items = [prepare_item(r) for r in rows]
    taken = rule_path(items)
    if client is not None:
        from pipelines.llm import load_prompt

        prompts = prompts or {name: load_prompt(name) for name in PROMPTS}
        llm_path(items, client, prompts)
    elif llm_status != "used":
        for it in items:
            if it.reason in (STEM_REFERS_TO_OPTIONS, STEM_INCOMPLETE, APPROXIMATE):
                it.detail = f"{it.detail}; LLM path skipped: {llm_status}"
    rule_checks(items, workers, item_timeout_s)
    if client is not None:
        llm_review(items, client, prompts, workers, item_timeout_s)
    _dedup(items, set(existing_problem_ids))
    return _frames(frame, items, client, llm_status, taken)


def _dedup(items: Sequence[_Item], existing: set[str]) -> None:
    seen: dict[str, str] = {}
    for it in items:
        if it.reason or not it.method:
            continue
        pid = content_id(it.problem)
        if pid in existing:
            it.reject(DUPLICATE, f"same problem as kept row {pid}", step=STEP_DEDUP)
        elif pid in seen:
            it.reject(DUPLICATE, f"same problem as reformulated row from {seen[pid]}", step=STEP_DEDUP)
        else:
            seen[pid] = str(it.row.get("problem_id") or it.row.get("source_id") or "")


def _frames(frame: pl.DataFrame, items: Sequence[_Item], client, llm_status: str, taken: int) -> ReformulationResult:
    kept_rows, rej_rows = [], []
    for it in items:
        if it.method and not it.reason:
            prov = it.provenance or {}
            kept_rows.append({**it.row, "problem_id": content_id(it.problem), "problem": it.problem,
                              "answer": it.answer, "original_problem": it.row.get("problem"),
                              "original_problem_id": it.row.get("problem_id"), "original_answer": it.expected,
                              "method": it.method, "model": prov.get("model"), "prompt_name": prov.get("prompt_name"),
                              "prompt_version": prov.get("prompt_version"), "prompt_hash": prov.get("prompt_hash"),
                              "llm_prompts": prov.get("llm_prompts")})
        else:
            rej_rows.append({**it.row, "reason": it.reason or UNHANDLED, "step": it.step or STEP_UNHANDLED,
                             "detail": it.detail})
    kept_schema = {**frame.schema, **OUTPUT_COLUMNS}
    rej_schema = {**frame.schema, "reason": pl.Utf8, "step": pl.Utf8, "detail": pl.Utf8}
    kept = pl.DataFrame(kept_rows, schema=kept_schema, orient="row") if kept_rows else pl.DataFrame(schema=kept_schema)
    rejected = pl.DataFrame(rej_rows, schema=rej_schema, orient="row") if rej_rows else pl.DataFrame(schema=rej_schema)
    stats = client.stats.as_dict() if client is not None else {}
    return ReformulationResult(kept, rejected, frame.height, llm_status if client is None else "used", stats, taken,
                               funnel=_funnel(items))


def _funnel(items: Sequence[_Item]) -> Funnel:
    """The funnel table of the steps, in order: every row enters the first and leaves at most once."""
    funnel = Funnel()
    alive = len(items)
    for step in STEPS + (STEP_UNHANDLED,):
        by_reason: dict[str, int] = {}
        for it in items:
            if not (it.method and not it.reason) and (it.step or STEP_UNHANDLED) == step:
                code = it.reason or UNHANDLED
                by_reason[code] = by_reason.get(code, 0) + 1
        if step == STEP_UNHANDLED and not by_reason:
            continue  # a row no step took is a bug: the step appears only when it happened
        rejected = sum(by_reason.values())
        funnel.record_counts(step, alive, alive - rejected, by_reason)
        alive -= rejected
    return funnel
