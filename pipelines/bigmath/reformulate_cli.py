"""``foundry bigmath reformulate``: make your own multiple-choice files open-ended."""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl

from pipelines.bigmath.answers import parse_options
from pipelines.bigmath.reformulate import MALFORMED, reformulate_rows
from pipelines.core.fields import parse_field_mapping
from pipelines.core.hashing import content_id
from pipelines.core.io import InputFileError, atomic_write_parquet, atomic_write_text, read_records
from pipelines.core.outputs import staged_output

FIELDS = ("problem", "answer", "options")
ROW_SCHEMA = {"problem_id": pl.Utf8, "problem": pl.Utf8, "options": pl.List(pl.Utf8), "answer": pl.Utf8,
              "answer_letter": pl.Utf8, "source": pl.Utf8, "source_id": pl.Utf8}
OUT_COLUMNS = ["problem", "answer", "original_problem", "method", "source", "source_id", "problem_id",
               "model", "prompt_name", "prompt_version", "prompt_hash"]


def _row(r: dict, fields: dict[str, str]) -> dict:
    answer = r.get(fields["answer"])
    answer = None if answer is None else str(answer).strip()
    options = parse_options(r.get(fields["options"])) if "options" in fields else []
    letter = answer.strip("().").upper() if answer and len(answer.strip("(). ")) == 1 and answer.strip("(). ").upper() in "ABCDE" and options else None
    problem = r[fields["problem"]].strip()
    return {"problem_id": content_id(problem), "problem": problem, "options": options,
            "answer": None if letter else answer, "answer_letter": letter}


def read_rows(files: list[Path], fields: dict[str, str]) -> tuple[pl.DataFrame, list[dict]]:
    """(rows to reformulate, unreadable rows with a reason)."""
    rows, bad = [], []
    for path in files:
        for rec in read_records(path):
            sid = f"{path.name}:{rec.source_id}"
            base = {"source": path.stem, "source_id": sid}
            r = rec.record
            if rec.error is not None or not isinstance(r.get(fields["problem"]), str) or not str(r.get(fields["problem"])).strip():
                why = rec.error or f"{path} row {rec.source_id}: field {fields['problem']!r} missing or not text"
                bad.append({**base, "problem": None, "answer": None, "reason": MALFORMED, "step": "read", "detail": why})
                continue
            try:
                rows.append({**base, **_row(r, fields)})
            except Exception as exc:  # noqa: BLE001 - one bad row is quarantined, the run goes on
                bad.append({**base, "problem": None, "answer": None, "reason": MALFORMED, "step": "read",
                            "detail": f"{path.name} row {rec.source_id}: {type(exc).__name__}: {str(exc)[:200]}"})
    frame = pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row") if rows else pl.DataFrame(schema=ROW_SCHEMA)
    return frame, bad


@click.command(name="reformulate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--field", "fields", multiple=True, required=True,
              help="problem=COL and answer=COL (the correct option's letter or its value); options=COL when the "
                   "options sit in their own column (a list, or one string such as 'a ) 12 , b ) 16').")
@click.option("--llm", "llm", type=click.Choice(["none", "openai"]), default="none", show_default=True,
              help="none: rule path only. openai: also the LLM path, against FOUNDRY_LLM_BASE_URL/FOUNDRY_LLM_MODEL.")
@click.option("--workers", default=2, show_default=True, help="Processes for math-verify.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def reformulate(files, fields, llm, workers, out_dir) -> None:
    """Rewrite multiple-choice problems in FILES as open-ended ones.

    Writes reformulated.parquet (problem, answer, original_problem, method, ...) and
    rejected.parquet (every other row, with `reason`) and report.json to --out. Every answer is
    checked with math-verify against the correct option's value.
    """
    mapping = parse_field_mapping(fields, FIELDS, required=("problem", "answer"))
    with staged_output(out_dir, inputs=files) as stage:  # --out checked before any call or read
        client = None
        status = "skipped: --llm none"
        if llm == "openai":
            from pipelines.llm import LLMClient, LLMConfig, LLMNotConfigured

            cfg = LLMConfig.from_env(backend="openai")
            try:
                client = LLMClient(cfg, cache_dir=out_dir)
            except LLMNotConfigured as exc:  # fail before reading anything
                raise click.ClickException(f"--llm openai: {exc}") from exc
            status = "used"
        try:
            try:
                frame, bad = read_rows(list(files), mapping)
            except InputFileError as exc:
                raise click.ClickException(str(exc)) from exc
            result = reformulate_rows(frame, client=client, llm_status=status, workers=workers)
        finally:
            if client is not None:
                client.close()
        kept = result.kept.select([c for c in OUT_COLUMNS if c in result.kept.columns])
        # the row contract: a rejected row keeps its input columns (options and answer_letter included)
        rejected = pl.concat([result.rejected,
                              pl.DataFrame(bad, schema={c: pl.Utf8 for c in ("source", "source_id", "problem", "answer",
                                                                              "reason", "step", "detail")})],
                             how="diagonal_relaxed") if bad else result.rejected
        atomic_write_parquet(kept, stage / "reformulated.parquet")
        atomic_write_parquet(rejected, stage / "rejected.parquet")
        summary = result.summary()
        summary["rows_in"] += len(bad)
        summary["rejected"] += len(bad)
        if bad:
            summary["rejected_by_reason"][MALFORMED] = summary["rejected_by_reason"].get(MALFORMED, 0) + len(bad)
        atomic_write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", stage / "report.json")
    click.echo(f"{summary['rows_in']} rows in: {kept.height} reformulated "
               f"({result.by_method().get('rule', 0)} rule, {result.by_method().get('llm', 0)} llm), "
               f"{rejected.height} rejected; LLM path {status}")
    for reason, count in sorted(summary["rejected_by_reason"].items()):
        click.echo(f"  {reason:<24} {count:>8}")
    if result.llm_stats:
        click.echo(f"  llm: {json.dumps(result.llm_stats, sort_keys=True)}")
    click.echo(f"wrote {out_dir}/reformulated.parquet, rejected.parquet, report.json")


if __name__ == "__main__":
    reformulate()
