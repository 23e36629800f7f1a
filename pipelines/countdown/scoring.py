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
from pipelines.countdown.reward import score_completion

OUTPUT_SCHEMA = {
    "row": pl.Utf8, "completion": pl.Utf8, "numbers": pl.List(pl.Int64), "target": pl.Float64,
    "score": pl.Float64, "format_ok": pl.Boolean, "correct": pl.Boolean, "expression": pl.Utf8,
    "value": pl.Float64, "parse_error": pl.Utf8,
}
_INT = re.compile(r"-?\d+")


def parse_numbers(value) -> list[int] | None:
    """A list of ints from a list, a JSON/Python list string, or ``"1, 2, 3"``; None if unreadable."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        try:
            out = [int(v) for v in value]
        except (TypeError, ValueError):
            return None
        if any(float(v) != int(v) for v in value if isinstance(v, (int, float))):
            return None
        return out
    if hasattr(value, "tolist"):
        return parse_numbers(value.tolist())
    if isinstance(value, str):
        found = _INT.findall(value)
        return [int(v) for v in found] if found else None
    return None


def parse_target(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def score_record(rec: RawRecord, fields: dict[str, str], rule: str) -> dict:
    base = {"row": rec.source_id, "completion": None, "numbers": None, "target": None, "score": 0.0,
            "format_ok": False, "correct": False, "expression": None, "value": None, "parse_error": None}
    if rec.record is None:
        return {**base, "parse_error": f"malformed_row: {rec.error}"}
    completion = rec.record.get(fields["completion"])
    numbers = parse_numbers(rec.record.get(fields["numbers"]))
    target = parse_target(rec.record.get(fields["target"]))
    problems = []
    if not isinstance(completion, str):
        problems.append(f"field {fields['completion']!r} is missing or not text")
    if numbers is None:
        problems.append(f"field {fields['numbers']!r} is missing or not a list of integers")
    if target is None:
        problems.append(f"field {fields['target']!r} is missing or not a number")
    base.update(completion=completion if isinstance(completion, str) else None, numbers=numbers, target=target)
    if problems:
        return {**base, "parse_error": "malformed_row: " + "; ".join(problems)}
    s = score_completion(completion, numbers, target, rule=rule)
    return {**base, "score": s.score, "format_ok": s.format_ok, "correct": s.correct, "expression": s.expression,
            "value": s.value, "parse_error": s.parse_error}


def score_file(path: str | Path, fields: dict[str, str], rule: str = "all") -> pl.DataFrame:
    records = read_records(path)
    rows = [score_record(r, fields, rule) for r in records]
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
