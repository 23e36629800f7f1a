"""``foundry bigmath``: run the Big-Math funnel on your own files, without the UI."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.bigmath.funnel import EvalSetSpec, FunnelConfig, VerifyConfig, run_funnel
from pipelines.bigmath.sources import SCHEMA_FIELDS, SourceSpec
from pipelines.core.fields import parse_field_mapping
from pipelines.core.io import InputFileError, atomic_write_parquet, atomic_write_text
from pipelines.core import storage


@click.group(name="bigmath")
def group() -> None:
    """Big-Math: filter math problems down to ones with a single verifiable answer."""


@group.command(name="filter")
@click.argument("files", nargs=-1, required=True)
@click.option("--field", "fields", multiple=True, required=True,
              help="Schema field = your column: problem=COL (required), answer=COL, solution=COL, options=COL, id=COL.")
@click.option("--source", default=None, help="Source name recorded on every row (default: the first file's stem).")
@click.option("--answer-from", type=click.Choice(["auto", "column", "gsm8k", "boxed", "option"]), default="auto",
              show_default=True, help="How to find the final answer (see pipelines/bigmath/sources.py).")
@click.option("--eval-set", "eval_sets", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Evaluation set file(s) to decontaminate against (JSONL/Parquet). Repeatable.")
@click.option("--eval-field", default="problem=problem", show_default=True,
              help="problem=COL: the column holding the problem text in the evaluation files.")
@click.option("--workers", default=2, show_default=True, help="Processes for answer verification.")
@click.option("--out", "out_dir", required=True, help="Output directory: a path, or a URI (s3://bucket/prefix).")
def filter_command(files, fields, source, answer_from, eval_sets, eval_field, workers, out_dir) -> None:
    """Run the Big-Math funnel on FILES; write kept.parquet, rejected.parquet and funnel.json to --out.

    Every input row ends in kept.parquet or in rejected.parquet with a `reason` code:
    multiple_choice, yes_no, true_false, multi_part, proof, hyperlink, figure, non_english,
    duplicate, near_duplicate, contaminated, missing_answer, unparseable_answer, answer_mismatch,
    malformed, verify_timeout. funnel.json also holds per-step `timings` (seconds, peak memory):
    the only part of the output that differs between two runs on the same input.
    """
    mapping = parse_field_mapping(fields, SCHEMA_FIELDS, required=("problem",))
    eval_col = parse_field_mapping((eval_field,), ("problem",), required=("problem",))["problem"]
    # FILES: local paths or fsspec URIs (s3://...), read by pipelines/bigmath/sources.py
    files = tuple(f if storage.is_uri(f) else Path(f) for f in files)
    spec = SourceSpec(source or _stem(files[0]), files=tuple(f if storage.is_uri(f) else str(f.resolve()) for f in files),
                      fields=mapping,
                      answer_from=answer_from, license="user-provided")
    evals = (EvalSetSpec("user_eval", files=tuple(str(f.resolve()) for f in eval_sets), field=eval_col),) if eval_sets else ()
    config = FunnelConfig(sources=(spec,), eval_sets=evals, verify=VerifyConfig(workers=workers))
    local_inputs = [*(f for f in files if not storage.is_uri(f)), *eval_sets]
    # a local --out: checked before the work, the set swapped in whole; a URI --out: one PUT per file
    with storage.output_location(out_dir, inputs=local_inputs) as stage:
        try:
            result = run_funnel(config)
        except InputFileError as exc:
            raise click.ClickException(str(exc)) from exc
        atomic_write_parquet(result.kept, stage / "kept.parquet")
        atomic_write_parquet(result.rejected, stage / "rejected.parquet")
        report = {
            "rows_in": result.rows_in,
            "kept": result.kept.height,
            "rejected": result.rejected.height,
            "rejected_by_reason": result.funnel.rejected_by_reason(),
            "steps": result.funnel.to_frame().to_dicts(),
            "source_revisions": result.source_revisions,
            "eval_sets": result.eval_set_sizes,
            "timings": result.funnel.timings_dicts(),  # machine facts: the rest of the output is byte-identical
        }
        atomic_write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", stage / "funnel.json")
    click.echo(f"{result.rows_in} rows in: {result.kept.height} kept, {result.rejected.height} rejected")
    for reason, count in report["rejected_by_reason"].items():
        click.echo(f"  {reason:<20} {count:>8}")
    click.echo(f"wrote {out_dir}/kept.parquet, rejected.parquet, funnel.json")


def _stem(file) -> str:
    name = storage.name_of(file)
    return Path(name).stem


try:  # the reformulation command lives beside the LLM layer (issue 3)
    from pipelines.bigmath.reformulate_cli import reformulate as _reformulate

    group.add_command(_reformulate)
except ModuleNotFoundError as _exc:  # pragma: no cover - only while that module does not exist
    if _exc.name != "pipelines.bigmath.reformulate_cli":
        raise
