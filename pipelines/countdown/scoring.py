"""Scoring a file of model completions with the Countdown reward (the ``foundry countdown score`` command).

Rows that cannot be read (bad JSON, missing or mistyped fields) are not dropped: they come back with
score 0 and ``parse_error`` saying what was wrong, so output rows = input rows.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from pipelines.core.io import RawRecord, read_records
from pipelines.countdown.limits import MAX_NUMBER_DIGITS, MAX_NUMBERS, MAX_NUMBERS_TEXT_CHARS, MAX_TARGET_DIGITS
from pipelines.countdown.reasons import MALFORMED_ROW, OVERSIZED
from pipelines.countdown.reward import score_completion

OUTPUT_SCHEMA = {
    "row": pl.Utf8, "completion": pl.Utf8, "numbers": pl.List(pl.Int64), "target": pl.Float64,
    "score": pl.Float64, "format_ok": pl.Boolean, "correct": pl.Boolean, "expression": pl.Utf8,
    "value": pl.Float64, "parse_error": pl.Utf8,
}
# Past a cap the row is scored 0 with reason ``oversized`` before any conversion runs (int() of a
# long digit string is quadratic and raises past 4,300 digits; float() overflows past 308).

_INT = re.compile(r"-?\d+")  # \d+ is a possessive-free single run: linear; ASCII digits checked below


class RowProblem(ValueError):
    """Why one row cannot be scored; ``code`` is a stable reason."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


def _int_of(v, field: str) -> int:
    if isinstance(v, bool):
        raise RowProblem(MALFORMED_ROW, f"field {field!r} holds a boolean, expected an integer")
    if isinstance(v, int):
        if abs(v) >= 10**MAX_NUMBER_DIGITS:  # compared as ints: no str() of a huge int
            raise RowProblem(OVERSIZED, f"field {field!r} holds a number over {MAX_NUMBER_DIGITS} digits")
        return v
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")) or not v.is_integer():
            raise RowProblem(MALFORMED_ROW, f"field {field!r} holds {v!r}, expected an integer")
        if abs(v) >= 10**MAX_NUMBER_DIGITS:
            raise RowProblem(OVERSIZED, f"field {field!r} holds a number over {MAX_NUMBER_DIGITS} digits")
        return int(v)
    if isinstance(v, str):
        t = v.strip()
        digits = t[1:] if t[:1] == "-" else t
        if not digits or not digits.isascii() or not digits.isdigit():
            raise RowProblem(MALFORMED_ROW, f"field {field!r} holds {ascii(v)[:40]}, expected an integer")
        if len(digits) > MAX_NUMBER_DIGITS:  # checked before int(): no 4,300-digit conversion
            raise RowProblem(OVERSIZED, f"field {field!r} holds a number of {len(digits)} digits (limit {MAX_NUMBER_DIGITS})")
        return int(t)
    raise RowProblem(MALFORMED_ROW, f"field {field!r} holds {type(v).__name__}, expected an integer")


def read_numbers(value, field: str = "numbers") -> list[int]:
    """The numbers of one row from a list, an array, a JSON/Python list string or ``"1, 2, 3"``; raises :class:`RowProblem`."""
    if value is None:
        raise RowProblem(MALFORMED_ROW, f"field {field!r} is missing")
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, str):
        if len(value) > MAX_NUMBERS_TEXT_CHARS:
            raise RowProblem(OVERSIZED, f"field {field!r} is {len(value)} characters of text (limit {MAX_NUMBERS_TEXT_CHARS})")
        value = _INT.findall(value)
        if not value:
            raise RowProblem(MALFORMED_ROW, f"field {field!r} holds no integers")
    if not isinstance(value, (list, tuple)):
        raise RowProblem(MALFORMED_ROW, f"field {field!r} is {type(value).__name__}, expected a list of integers")
    if len(value) > MAX_NUMBERS:
        raise RowProblem(OVERSIZED, f"field {field!r} has {len(value)} numbers (limit {MAX_NUMBERS})")
    if not value:
        raise RowProblem(MALFORMED_ROW, f"field {field!r} is an empty list")
    return [_int_of(v, field) for v in value]


def read_target(value, field: str = "target") -> float:
    """The target of one row as a float (exact up to :data:`MAX_TARGET_DIGITS` digits); raises :class:`RowProblem`."""
    if value is None or isinstance(value, bool):
        raise RowProblem(MALFORMED_ROW, f"field {field!r} is missing or not a number")
    if isinstance(value, int):
        if abs(value) >= 10**MAX_TARGET_DIGITS:
            raise RowProblem(OVERSIZED, f"field {field!r} has more than {MAX_TARGET_DIGITS} digits")
        return float(value)
    if isinstance(value, float):
        if value != value or abs(value) == float("inf"):
            raise RowProblem(MALFORMED_ROW, f"field {field!r} is {value!r}, not a finite number")
        if abs(value) >= 10**MAX_TARGET_DIGITS:
            raise RowProblem(OVERSIZED, f"field {field!r} has more than {MAX_TARGET_DIGITS} digits")
        return value
    if isinstance(value, str):
        t = value.strip()
        if len(t) > MAX_TARGET_DIGITS + 8:  # checked before float(): sign, point, exponent slack
            raise RowProblem(OVERSIZED, f"field {field!r} is {len(t)} characters (limit {MAX_TARGET_DIGITS} digits)")
        try:
            return read_target(float(t) if t.isascii() else float("nan"), field)
        except ValueError:
            raise RowProblem(MALFORMED_ROW, f"field {field!r} holds {ascii(value)[:40]}, not a number") from None
    raise RowProblem(MALFORMED_ROW, f"field {field!r} is {type(value).__name__}, not a number")


def parse_numbers(value) -> list[int] | None:
    """Like :func:`read_numbers`, None when unreadable or oversized."""
    try:
        return read_numbers(value)
    except RowProblem:
        return None


def parse_target(value) -> float | None:
    """Like :func:`read_target`, None when unreadable or oversized."""
    try:
        return read_target(value)
    except RowProblem:
        return None


def _text_safe(text: str) -> str:
    """Text that UTF-8 can encode: lone surrogates (possible in a Python str) become ``\\udXXX`` escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def score_record(rec: RawRecord, fields: dict[str, str], rule: str) -> dict:
    """One output row for one input row; never raises for what the row holds (it is scored 0 with a reason)."""
    base = {"row": rec.source_id, "completion": None, "numbers": None, "target": None, "score": 0.0,
            "format_ok": False, "correct": False, "expression": None, "value": None, "parse_error": None}
    if rec.record is None:
        return {**base, "parse_error": f"{MALFORMED_ROW}: {rec.error}"}
    completion = rec.record.get(fields["completion"])
    problems, oversized = [], False
    numbers = target = None
    try:
        numbers = read_numbers(rec.record.get(fields["numbers"]), fields["numbers"])
    except RowProblem as exc:
        problems.append(exc.detail)
        oversized |= exc.code == OVERSIZED
    try:
        target = read_target(rec.record.get(fields["target"]), fields["target"])
    except RowProblem as exc:
        problems.append(exc.detail)
        oversized |= exc.code == OVERSIZED
    if not isinstance(completion, str):
        problems.append(f"field {fields['completion']!r} is missing or not text")
    else:
        safe = _text_safe(completion)
        if safe is not completion:
            problems.append(f"field {fields['completion']!r} holds a lone surrogate (not encodable text)")
        completion = safe
    base.update(completion=completion if isinstance(completion, str) else None, numbers=numbers, target=target)
    if problems:
        code = OVERSIZED if oversized else MALFORMED_ROW
        return {**base, "parse_error": f"{code}: row {rec.source_id}: " + "; ".join(problems)}
    s = score_completion(completion, numbers, target, rule=rule)
    return {**base, "score": s.score, "format_ok": s.format_ok, "correct": s.correct, "expression": s.expression,
            "value": s.value, "parse_error": s.parse_error}


def _isolated(rec: RawRecord, fields: dict[str, str], rule: str, path) -> dict:
    """:func:`score_record`, with any unforeseen error on one row turned into that row's reason (the run goes on)."""
    try:
        return score_record(rec, fields, rule)
    except Exception as exc:  # noqa: BLE001 - one bad row must not abort the file
        return {"row": rec.source_id, "completion": None, "numbers": None, "target": None, "score": 0.0,
                "format_ok": False, "correct": False, "expression": None, "value": None,
                "parse_error": f"{MALFORMED_ROW}: {_name(path)} row {rec.source_id}: {type(exc).__name__}"}


def _name(path) -> str:
    from pipelines.core.storage import name_of

    return name_of(path)


def score_file(path: str | Path, fields: dict[str, str], rule: str = "all") -> pl.DataFrame:
    """Score every row of a JSONL/Parquet file: a local path or an fsspec URI (``s3://...``)."""
    from pipelines.core import storage

    records = storage.read_records(path)
    rows = [_isolated(r, fields, rule, path) for r in records]
    return pl.DataFrame(rows, schema=OUTPUT_SCHEMA, orient="row") if rows else pl.DataFrame(schema=OUTPUT_SCHEMA)


def write_scores(frame: pl.DataFrame, out: str | Path) -> Path:
    from pipelines.core.io import atomic_write_parquet, atomic_write_text

    out = Path(out)
    if out.suffix == ".parquet":
        return atomic_write_parquet(frame, out)
    lines = [json.dumps(r, ensure_ascii=False) for r in frame.to_dicts()]
    return atomic_write_text("\n".join(lines) + ("\n" if lines else ""), out)


def summarize(frame: pl.DataFrame) -> dict:
    n = frame.height
    errors = frame.filter(pl.col("parse_error").is_not_null()).with_columns(
        pl.col("parse_error").str.split(":").list.first().alias("code")).group_by("code").len().sort("code")
    return {"rows": n, "mean_score": round(float(frame["score"].mean()), 4) if n else 0.0,
            "format_rate": round(float(frame["format_ok"].mean()), 4) if n else 0.0,
            "accuracy": round(float(frame["correct"].mean()), 4) if n else 0.0,
            "errors": {c: int(k) for c, k in errors.iter_rows()}}
