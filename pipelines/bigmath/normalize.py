"""Raw source records -> rows of the Big-Math schema; unusable records -> quarantine rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines import __version__ as CODE_VERSION
from pipelines.bigmath import reasons
from pipelines.bigmath.answers import (
    clean_answer,
    format_number,
    last_boxed,
    option_value,
    parse_options,
    split_gsm8k,
    stated_answer,
)
from pipelines.bigmath.limits import MAX_ANSWER_CHARS, MAX_LATEX_DEPTH, MAX_PROBLEM_CHARS, MAX_SOLUTION_CHARS
from pipelines.bigmath.schema import REJECTED_SCHEMA, SCHEMA
from pipelines.bigmath.sources import SourceRows
from pipelines.core.hashing import content_id

STEP = "normalize"


@dataclass(frozen=True)
class NormalizeConfig:
    # caps checked before any parser sees the row (defaults and reasons: pipelines/bigmath/limits.py)
    max_problem_chars: int = MAX_PROBLEM_CHARS
    max_latex_depth: int = MAX_LATEX_DEPTH
    max_answer_chars: int = MAX_ANSWER_CHARS
    max_solution_chars: int = MAX_SOLUTION_CHARS


class Malformed(ValueError):
    pass


def _text_field(record: dict, column: str | None, name: str, *, required: bool) -> str | None:
    if column is None:
        return None
    if column not in record:
        if required:
            raise Malformed(f"missing field {column!r} (mapped to {name})")
        return None
    value = record[column]
    if value is None:
        return None
    if isinstance(value, bool):
        raise Malformed(f"field {column!r} ({name}) is a boolean, expected text")
    if isinstance(value, (int, float)):
        if name == "problem":
            raise Malformed(f"field {column!r} (problem) is a number, expected text")
        return format_number(value)
    if not isinstance(value, str):
        raise Malformed(f"field {column!r} ({name}) is {type(value).__name__}, expected text")
    try:  # a lone surrogate is possible in a Python str (JSON "\ud800") but not in UTF-8 output
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Malformed(f"field {column!r} ({name}) holds a lone surrogate at position {exc.start}") from None
    return value


def _json(value, **kw) -> str:
    """JSON text of ``value``; escaped to ASCII only when it holds a lone surrogate (not writable as UTF-8)."""
    text = json.dumps(value, ensure_ascii=False, default=str, **kw)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, default=str, **kw)


def _depth(text: str) -> int:
    depth = best = 0
    for c in text:
        if c == "{":
            depth += 1
            if depth > best:
                best = depth
        elif c == "}":
            depth = max(0, depth - 1)
    return best


def normalize_record(record: dict, source: SourceRows, config: NormalizeConfig) -> dict:
    spec = source.spec
    f = spec.fields
    problem = _text_field(record, f["problem"], "problem", required=True)
    if problem is None or not problem.strip():
        raise Malformed(f"empty problem in field {f['problem']!r}")
    problem = problem.strip()
    if len(problem) > config.max_problem_chars:
        raise Malformed(f"problem is {len(problem)} characters (limit {config.max_problem_chars})")
    if _depth(problem) > config.max_latex_depth:
        raise Malformed(f"LaTeX braces nested deeper than {config.max_latex_depth}")

    answer_raw = _text_field(record, f.get("answer"), "answer", required=False)
    solution = _text_field(record, f.get("solution"), "solution", required=False)
    # before answer extraction: the extractors are linear, but a megabyte "answer" is never one
    if answer_raw is not None and "####" not in answer_raw and len(answer_raw) > config.max_answer_chars:
        raise Malformed(f"answer is {len(answer_raw)} characters (limit {config.max_answer_chars})")
    if answer_raw is not None and len(answer_raw) > config.max_solution_chars:
        raise Malformed(f"answer field is {len(answer_raw)} characters (limit {config.max_solution_chars})")
    if solution is not None and len(solution) > config.max_solution_chars:
        raise Malformed(f"solution is {len(solution)} characters (limit {config.max_solution_chars})")
    options = parse_options(record.get(f["options"])) if "options" in f else []
    letter = None
    origin = "column"
    mode = spec.answer_from
    if mode == "auto":
        if answer_raw and answer_raw.strip() and "####" not in answer_raw:
            mode = "column"
        elif answer_raw and "####" in answer_raw:
            mode = "gsm8k"
        else:
            mode = "boxed"
    if mode == "column":
        answer = clean_answer(answer_raw)
    elif mode == "gsm8k":
        sol, answer = split_gsm8k(answer_raw)
        solution = solution or sol
        origin = "solution"
    elif mode == "boxed":  # no box: a closing "The answer is: X" line (MetaMathQA)
        answer = last_boxed(solution)
        if answer is None:
            answer = stated_answer(solution)
        origin = "solution"
    elif mode == "option":
        letter = (answer_raw or "").strip().strip("()").upper()[:1] or None
        answer = option_value(options, letter)
    else:  # pragma: no cover - guarded by SourceSpec's Literal
        raise ValueError(f"unknown answer_from {mode!r}")
    if answer is not None:
        answer = answer.strip() or None
    if answer is not None and len(answer) > config.max_answer_chars:  # e.g. a huge \boxed{} in the solution
        raise Malformed(f"answer is {len(answer)} characters (limit {config.max_answer_chars})")
    if answer is not None and _depth(answer) > config.max_latex_depth:
        raise Malformed(f"answer LaTeX braces nested deeper than {config.max_latex_depth}")

    mapped = set(f.values())
    extra = {k: v for k, v in record.items() if k not in mapped}
    sid = record.get(f["id"]) if "id" in f else None
    return {
        "problem_id": content_id(problem),
        "problem": problem,
        "answer": answer,
        "solution": solution.strip() if solution else None,
        "options": options,
        "answer_letter": letter,
        "answer_origin": origin,
        "extra": _json(extra, sort_keys=True) if extra else None,
        "_sid": None if sid is None else str(sid),
    }


def normalize_source(source: SourceRows, config: NormalizeConfig | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Normalize every record of one source: (rows, quarantined rows with reason ``malformed``)."""
    config = config or NormalizeConfig()
    rows, bad = [], []
    base = {
        "source": source.spec.name,
        "source_revision": source.revision,
        "code_version": CODE_VERSION,
        "llm_multiple_choice": None, "llm_proof": None, "llm_multi_part": None, "llm_yes_no": None,
    }
    for rec in source.records:
        if rec.error is not None:
            bad.append({**base, "source_id": rec.source_id, "problem_id": content_id(rec.raw or "", prefix="q"),
                        "options": [], "extra": json.dumps({"raw": rec.raw}, ensure_ascii=False),
                        "reason": reasons.MALFORMED, "step": STEP, "detail": rec.error})
            continue
        try:
            row = normalize_record(rec.record, source, config)
        except Exception as exc:  # noqa: BLE001 - one bad row is quarantined, never the end of the run
            if not isinstance(exc, Malformed):
                exc = Malformed(f"{type(exc).__name__} while normalizing: {str(exc)[:200]}")
            raw = _json(rec.record)
            bad.append({**base, "source_id": rec.source_id, "problem_id": content_id(raw, prefix="q"),
                        "options": [], "extra": json.dumps({"raw": raw[:2000]}, ensure_ascii=False),
                        "reason": reasons.MALFORMED, "step": STEP,
                        "detail": f"{source.spec.name} row {rec.source_id}: {exc}"})
            continue
        except Exception as exc:  # noqa: BLE001 - any other failure on one row quarantines that row only
            raw = repr(rec.record)[:2000]
            where = Path(source.files[0]).name if len(source.files) == 1 else source.spec.name
            bad.append({**base, "source_id": rec.source_id, "problem_id": content_id(raw, prefix="q"),
                        "options": [], "extra": json.dumps({"raw": raw}, ensure_ascii=True),
                        "reason": reasons.MALFORMED, "step": STEP,
                        "detail": f"{where} row {rec.source_id}: {type(exc).__name__}: {str(exc)[:200]}"})
            continue
        sid = row.pop("_sid") or rec.source_id
        rows.append({**base, **row, "source_id": sid})
    kept = pl.DataFrame(rows, schema=SCHEMA, orient="row") if rows else pl.DataFrame(schema=SCHEMA)
    quarantined = pl.DataFrame(bad, schema=REJECTED_SCHEMA, orient="row") if bad else pl.DataFrame(schema=REJECTED_SCHEMA)
    return kept, quarantined
