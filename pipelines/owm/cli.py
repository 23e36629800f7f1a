"""``foundry owm``: score your own corpus for the four reasoning behaviors."""

from __future__ import annotations

import json
import sys

import click

from pipelines.owm.reader import FIELDS


@click.group("owm")
def group() -> None:
    """OpenWebMath-style documents scored for verification, backtracking, subgoal setting, backward chaining."""


@group.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--field", "fields", multiple=True, metavar="NAME=COLUMN",
              help="Map text (and url, date, metadata) to your columns, e.g. --field text=content.")
@click.option("--scorer", default="baseline", show_default=True,
              help="baseline (the lexical detector) or the path of a trained classifier (.npz).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Output .parquet or .jsonl: per input row file, row, doc_id, status, reason, detail, "
                   "score_<behavior> x4, scorer_version.")
@click.option("--batch-rows", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Rows per record batch (bounds memory).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only on a terminal).")
def score(files, fields, scorer, out_file, batch_rows, progress) -> None:
    """Score FILE... (OpenWebMath Parquet shards or JSONL) with one row out per row in."""
    from tqdm import tqdm

    from pipelines.core.fields import parse_field_mapping
    from pipelines.core.io import InputFileError
    from pipelines.owm.scorefile import count_rows, score_files
    from pipelines.owm.scorers import load_scorer

    mapping = parse_field_mapping(fields, FIELDS)
    try:
        model = load_scorer(scorer)
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), param_hint="--scorer") from exc
    try:
        sizes = [count_rows(f) for f in files]
    except Exception as exc:  # noqa: BLE001 - a corrupt footer: say which file
        raise click.ClickException(f"cannot read {files}: {exc}") from exc
    total = None if any(s is None for s in sizes) else sum(sizes)
    bar = tqdm(total=total, unit="row", desc="owm score", file=sys.stderr, mininterval=0.5,
               disable=None if progress is None else not progress)
    try:
        counts = score_files(files, out_file, model, mapping, batch_rows, on_rows=bar.update)
    except InputFileError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from exc
    finally:
        bar.close()
    click.echo(json.dumps(counts))
