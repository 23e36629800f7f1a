"""``foundry bigmath``: run the Big-Math funnel on your own files, without the UI."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

import click
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.bigmath import distributed
from pipelines.bigmath.funnel import EvalSetSpec, FunnelConfig, VerifyConfig, build_contamination_index, run_funnel
from pipelines.bigmath.normalize import normalize_source
from pipelines.bigmath.schema import REJECTED_SCHEMA, SCHEMA
from pipelines.bigmath.sources import SCHEMA_FIELDS, SourceSpec, iter_source_batches
from pipelines.core.fields import parse_field_mapping
from pipelines.core.io import InputFileError, atomic_write_text
from pipelines.core.outputs import kill_point
from pipelines.core.steps import Funnel, RowAccountingError, measure_step
from pipelines.core import storage

# Both paths write kept.parquet and rejected.parquet through :class:`RowGroupWriter` with row groups
# of this many rows, whatever the batch size: the same rows give the same bytes, streamed or not.
ROW_GROUP_ROWS = 4096
DEFAULT_BATCH_ROWS = 4096


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
@click.option("--eval-set", "eval_sets", multiple=True,
              help="Evaluation set file(s) to decontaminate against (JSONL/Parquet; a path or a URI). Repeatable.")
@click.option("--eval-field", default="problem=problem", show_default=True,
              help="problem=COL: the column holding the problem text in the evaluation files.")
@click.option("--workers", default=2, show_default=True, help="Processes for answer verification.")
@click.option("--out", "out_dir", required=True, help="Output directory: a path, or a URI (s3://bucket/prefix).")
@click.option("--stream", is_flag=True,
              help="Read the files in record batches and write the outputs as they come: memory holds one batch "
                   "plus the dedup state of the kept rows, not the input. Same outputs as without it.")
@click.option("--batch-rows", type=click.IntRange(min=1), default=None,
              help=f"Rows per batch with --stream (default {DEFAULT_BATCH_ROWS}).")
def filter_command(files, fields, source, answer_from, eval_sets, eval_field, workers, out_dir, stream, batch_rows) -> None:
    """Run the Big-Math funnel on FILES; write kept.parquet, rejected.parquet and funnel.json to --out.

    Every input row ends in kept.parquet or in rejected.parquet with a `reason` code:
    multiple_choice, yes_no, true_false, multi_part, proof, hyperlink, figure, non_english,
    duplicate, near_duplicate, contaminated, missing_answer, unparseable_answer, answer_mismatch,
    malformed, verify_timeout. funnel.json also holds per-step `timings` (seconds, peak memory):
    the only part of the output that differs between two runs on the same input (or between a run
    with and one without --stream: their steps differ there, the rest of the output is the same bytes).
    """
    if batch_rows is not None and not stream:
        raise click.UsageError("--batch-rows sets the batch size of --stream; add --stream or drop --batch-rows")
    mapping = parse_field_mapping(fields, SCHEMA_FIELDS, required=("problem",))
    eval_col = parse_field_mapping((eval_field,), ("problem",), required=("problem",))["problem"]
    # FILES: local paths or fsspec URIs (s3://...), read by pipelines/bigmath/sources.py
    files = tuple(f if storage.is_uri(f) else Path(f) for f in files)
    spec = SourceSpec(source or _stem(files[0]), files=tuple(f if storage.is_uri(f) else str(f.resolve()) for f in files),
                      fields=mapping,
                      answer_from=answer_from, license="user-provided")
    eval_sets = tuple(f if storage.is_uri(f) else Path(f) for f in eval_sets)
    for f in eval_sets:  # before any work: a missing local evaluation file is a usage error naming it
        if not storage.is_uri(f) and not f.is_file():
            raise click.BadParameter(f"{f}: no such file", param_hint="--eval-set")
    evals = (EvalSetSpec("user_eval", files=tuple(f if storage.is_uri(f) else str(f.resolve()) for f in eval_sets),
                         field=eval_col),) if eval_sets else ()
    config = FunnelConfig(sources=(spec,), eval_sets=evals, verify=VerifyConfig(workers=workers))
    local_inputs = [f for f in (*files, *eval_sets) if not storage.is_uri(f)]
    # a local --out: checked before the work, the set swapped in whole; a URI --out: one PUT per file
    with storage.output_location(out_dir, inputs=local_inputs) as stage:
        try:
            report = (stream_filter(config, stage, batch_rows or DEFAULT_BATCH_ROWS) if stream
                      else whole_filter(config, stage))
        except InputFileError as exc:
            raise click.ClickException(str(exc)) from exc
        atomic_write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", stage / "funnel.json")
    click.echo(f"{report['rows_in']} rows in: {report['kept']} kept, {report['rejected']} rejected")
    for reason, count in report["rejected_by_reason"].items():
        click.echo(f"  {reason:<20} {count:>8}")
    click.echo(f"wrote {out_dir}/kept.parquet, rejected.parquet, funnel.json")


def whole_filter(config: FunnelConfig, stage: Path) -> dict:
    """The funnel on whole frames: kept.parquet and rejected.parquet under ``stage``; returns funnel.json."""
    result = run_funnel(config)
    write_parquet_rows(stage / "kept.parquet", SCHEMA, [result.kept])
    write_parquet_rows(stage / "rejected.parquet", REJECTED_SCHEMA, [result.rejected])
    return {
        "rows_in": result.rows_in,
        "kept": result.kept.height,
        "rejected": result.rejected.height,
        "rejected_by_reason": result.funnel.rejected_by_reason(),
        "steps": result.funnel.to_frame().to_dicts(),
        "source_revisions": result.source_revisions,
        "eval_sets": result.eval_set_sizes,
        "timings": result.funnel.timings_dicts(),  # machine facts: the rest of the output is byte-identical
    }


def stream_filter(config: FunnelConfig, stage: Path, batch_rows: int,
                  on_batch: Callable[[int], None] | None = None) -> dict:
    """The funnel over record batches (:class:`pipelines.bigmath.distributed.StreamingFunnel`):
    each batch of at most ``batch_rows`` raw records is normalized, filtered and its kept rows
    appended to kept.parquet at once; its rejected rows are spilled to one temporary Arrow file per
    step and copied, step after step, into rejected.parquet at the end. So both tables hold the
    rows and order of :func:`whole_filter`: kept in input order; rejected by step in funnel order
    (read-time ``malformed`` rows first), input order within a step. Held in memory: one batch, a
    row group being written, and the dedup state of the kept rows. ``on_batch``: called with the
    size of every batch given to the funnel (the tests' bound on what is held)."""
    timing = Funnel()
    with measure_step(timing, "build_contamination_index"):
        index = build_contamination_index(config)
    base = Path(config.base_dir) if config.base_dir else None
    rows_in = kept_rows = 0
    malformed: dict[str, int] = {}
    by_step: dict[str, dict[str, int]] = {}
    revisions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="foundry-stream-") as tmp, \
            _StepSpill(Path(tmp), REJECTED_SCHEMA) as spill, \
            RowGroupWriter(stage / "kept.parquet", SCHEMA) as kept_out:
        with distributed.StreamingFunnel(config, index) as funnel, measure_step(timing, "stream"):
            steps = [s.name for s in funnel.steps] + list(distributed.CROSS_SHARD_STEPS)
            for spec in config.sources:
                for batch in iter_source_batches(spec, batch_rows, base):
                    revisions[spec.name] = batch.revision
                    rows_in += len(batch.records)
                    ok, bad = normalize_source(batch, config.normalize)
                    _count(malformed, bad)
                    spill.add("normalize", bad)
                    if not ok.height:
                        continue
                    if on_batch is not None:
                        on_batch(ok.height)
                    kept, rejected = funnel.add(ok)
                    kept_out.write(kept)
                    kept_rows += kept.height
                    for (step,), part in rejected.partition_by("step", as_dict=True, maintain_order=True).items():
                        _count(by_step.setdefault(step, {}), part)
                        spill.add(step, part)
        with measure_step(timing, "write_rejected"):
            write_parquet_rows(stage / "rejected.parquet", REJECTED_SCHEMA, spill.read(["normalize", *steps]))
    # the funnel table of the whole-frame path, from the counts: every step, in order, with its rows in
    table = Funnel()
    table.record_counts("normalize", rows_in, rows_in - sum(malformed.values()), malformed)
    remaining = rows_in - sum(malformed.values())
    for step in steps:
        counts = by_step.get(step, {})
        table.record_counts(step, remaining, remaining - sum(counts.values()), counts)
        remaining -= sum(counts.values())
    if remaining != kept_rows:  # every row kept or rejected exactly once, as Funnel.record checks per step
        raise RowAccountingError(f"streaming funnel: {remaining} rows left after the steps but {kept_rows} written "
                                 "to kept.parquet; a step lost or doubled rows")
    return {
        "rows_in": rows_in,
        "kept": kept_rows,
        "rejected": rows_in - kept_rows,
        "rejected_by_reason": table.rejected_by_reason(),
        "steps": table.to_frame().to_dicts(),
        "source_revisions": revisions,
        "eval_sets": dict(index.sizes),
        "timings": timing.timings_dicts(),  # machine facts, and steps named for the streaming path
    }


def _count(counts: dict[str, int], rejected: pl.DataFrame) -> None:
    for reason in rejected.get_column("reason").to_list():
        counts[reason] = counts.get(reason, 0) + 1


def _arrow_schema(schema: dict) -> pa.Schema:
    return pl.DataFrame(schema=schema).to_arrow().schema


class RowGroupWriter:
    """A Parquet file written in row groups of exactly ``row_group_rows`` rows (the last one
    shorter), whatever the sizes of the frames given to :meth:`write`: the same rows give the same
    bytes however they were batched. Compression and statistics fixed as in
    :func:`pipelines.core.io.atomic_write_parquet`; written to a temporary name, renamed on a
    clean close (a reader never sees half a file)."""

    def __init__(self, path: Path, schema: dict, row_group_rows: int = ROW_GROUP_ROWS):
        self.path, self.schema, self.rows = Path(path), schema, row_group_rows
        self.arrow = _arrow_schema(schema)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.close(fd)
        self.writer = pq.ParquetWriter(self.tmp, self.arrow, compression="zstd", compression_level=3,
                                       write_statistics=True)
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        frame = frame.select([pl.col(c).cast(t) for c, t in self.schema.items()])
        self.pending.append(frame.to_arrow().cast(self.arrow))
        self.pending_rows += frame.height
        if self.pending_rows >= self.rows:
            table = pa.concat_tables(self.pending)
            full = (table.num_rows // self.rows) * self.rows
            self.writer.write_table(table.slice(0, full), row_group_size=self.rows)
            rest = table.slice(full)
            self.pending, self.pending_rows = ([rest] if rest.num_rows else []), rest.num_rows

    def close(self) -> None:
        if self.pending_rows:
            self.writer.write_table(pa.concat_tables(self.pending), row_group_size=self.rows)
        self.pending, self.pending_rows = [], 0
        self.writer.close()
        os.replace(self.tmp, self.path)
        kill_point("after_first_rename")

    def __enter__(self) -> "RowGroupWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
            return
        self.writer.close()
        Path(self.tmp).unlink(missing_ok=True)


def write_parquet_rows(path: Path, schema: dict, frames: Iterable[pl.DataFrame]) -> None:
    with RowGroupWriter(path, schema) as out:
        for frame in frames:
            out.write(frame)


class _StepSpill:
    """Rejected rows per step, appended batch by batch to one Arrow IPC file per step (on disk),
    read back step by step in the order asked: the whole-frame path's order without its frame."""

    def __init__(self, directory: Path, schema: dict):
        self.dir, self.schema, self.arrow = directory, schema, _arrow_schema(schema)
        self.writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}

    def _file(self, step: str) -> Path:
        return self.dir / f"{len(step)}-{step}.arrows"  # step names are identifiers; the length keeps names apart

    def add(self, step: str, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        if step not in self.writers:
            self.writers[step] = pa.ipc.new_stream(str(self._file(step)), self.arrow)
        table = frame.select([pl.col(c).cast(t) for c, t in self.schema.items()]).to_arrow().cast(self.arrow)
        self.writers[step].write_table(table)

    def read(self, steps: Iterable[str]) -> Iterable[pl.DataFrame]:
        for w in self.writers.values():
            w.close()
        for step in steps:
            if step not in self.writers:
                continue
            with pa.ipc.open_stream(str(self._file(step))) as reader:
                for batch in reader:
                    yield pl.from_arrow(pa.Table.from_batches([batch], self.arrow))
        unknown = set(self.writers) - set(steps)
        if unknown:  # a step the order does not name would drop rows silently
            raise AssertionError(f"rejected rows of steps {sorted(unknown)} have no place in rejected.parquet")

    def __enter__(self) -> "_StepSpill":
        return self

    def __exit__(self, *exc) -> None:
        for w in self.writers.values():
            try:
                w.close()
            except Exception:  # noqa: BLE001 - already closed by read()
                pass


def _stem(file) -> str:
    name = storage.name_of(file)
    return Path(name).stem


try:  # the reformulation command lives beside the LLM layer (issue 3)
    from pipelines.bigmath.reformulate_cli import reformulate as _reformulate

    group.add_command(_reformulate)
except ModuleNotFoundError as _exc:  # pragma: no cover - only while that module does not exist
    if _exc.name != "pipelines.bigmath.reformulate_cli":
        raise
