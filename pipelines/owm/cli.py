"""``foundry owm``: score your own corpus for the four reasoning behaviors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipelines.owm.reader import FIELDS


@click.group("owm")
def group() -> None:
    """OpenWebMath-style documents scored for verification, backtracking, subgoal setting, backward chaining."""


@group.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--profile", default="sample", show_default=True, help="Shards and sizes to start from (sample|full).")
@click.option("--shard", "shards", multiple=True,
              help="Read these Parquet/JSONL shards instead of the profile's (repeat): local paths or URIs "
                   "(hf://datasets/<id>@<revision>/<path>, s3://...).")
@click.option("--scorer", default="baseline", show_default=True, help="baseline or a trained classifier (.npz).")
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Tokens per set (default: the profile's).")
@click.option("--enriched-min", type=float, default=None, help="Score a behavior needs for the enriched set.")
@click.option("--control-max", type=float, default=None, help="Score every behavior stays under for the control set.")
@click.option("--seed", type=int, default=None, help="Shuffle/split seed (default: the profile's).")
def build(out_dir, profile, shards, scorer, budget, enriched_min, control_max, seed) -> None:
    """Behavior-enriched and control corpora under matched token budgets.

    Writes OUT/enriched.parquet, control.parquet, rejected.parquet and stats.json. The checks of
    validators/owm.py run on them in the tests (pipelines never import validators)."""
    from pipelines.core.io import InputFileError
    from pipelines.owm.config import config_for_profile
    from pipelines.owm.pipeline import build_corpora, write_build
    from pipelines.owm.scorers import load_scorer

    try:
        cfg = config_for_profile(profile)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from exc
    changes = {k: v for k, v in {"shards": tuple(shards) or None, "token_budget": budget, "seed": seed}.items() if v is not None}
    rule = {k: v for k, v in {"enriched_min": enriched_min, "control_max": control_max}.items() if v is not None}
    cfg = cfg.with_(**changes, rule=cfg.rule.with_(**rule))
    from pathlib import Path

    from pipelines.core.storage import is_uri

    missing = [s for s in shards if not is_uri(s) and not Path(s).is_file()]
    if missing:
        raise click.BadParameter(f"no such file: {', '.join(missing)}", param_hint="--shard")
    if not cfg.shards and cfg.hub_dataset:
        from pipelines.owm.hub import UnpinnedShardsError, locked_shards

        try:
            locked_shards().require()
        except UnpinnedShardsError as exc:
            raise click.UsageError(str(exc)) from exc
    if not cfg.shards:
        raise click.UsageError(f"profile {profile!r} names no shards; pass --shard FILE (e.g. the Hub's data/train-*.parquet)")
    try:
        model = load_scorer(scorer)
    except (ValueError, OSError) as exc:
        raise click.BadParameter(str(exc), param_hint="--scorer") from exc
    try:
        result = build_corpora(cfg, model)
    except InputFileError as exc:
        raise click.ClickException(str(exc)) from exc
    write_build(result, out_dir)
    s = result.stats
    click.echo(f"{s['rows_read']} rows read: {s['documents']['enriched']} enriched ({s['tokens']['enriched']} tokens), "
               f"{s['documents']['control']} control ({s['tokens']['control']} tokens), budget {s['budget']} "
               f"{s['tokenizer']} tokens, scorer {s['scorer_version']} -> {out_dir}")


@group.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--field", "fields", multiple=True, metavar="NAME=COLUMN",
              help="Map text (and url, date, metadata) to your columns, e.g. --field text=content.")
@click.option("--scorer", default="baseline", show_default=True,
              help="baseline (the lexical detector) or the path of a trained classifier (.npz).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Output .parquet or .jsonl (a path or an fsspec URI such as s3://bucket/scores.parquet): per "
                   "input row file, row, doc_id, status, reason, detail, score_<behavior> x4, scorer_version.")
@click.option("--batch-rows", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Rows per record batch (bounds memory).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only on a terminal).")
def score(files, fields, scorer, out_file, batch_rows, progress) -> None:
    """Score FILE... (OpenWebMath Parquet shards or JSONL; local paths or fsspec URIs such as s3://,
    hf://) with one row out per row in."""
    from tqdm import tqdm

    from pipelines.core import storage
    from pipelines.core.fields import parse_field_mapping
    from pipelines.core.io import InputFileError
    from pipelines.owm.scorefile import count_rows, score_files
    from pipelines.owm.scorers import load_scorer

    for f in files:  # before any work: a missing input is a usage error naming it
        if not storage.is_uri(f) and not Path(f).is_file():
            raise click.BadParameter(f"{f}: no such file", param_hint="FILES")
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
        if storage.is_uri(out_file):  # written locally, then one PUT: the object appears whole or not at all
            with storage.output_location(out_file, kind="file") as stage:
                counts = score_files(files, stage, model, mapping, batch_rows, on_rows=bar.update)
        else:
            counts = score_files(files, out_file, model, mapping, batch_rows, on_rows=bar.update)
    except InputFileError as exc:
        raise click.ClickException(str(exc)) from exc
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--out") from exc
    finally:
        bar.close()
    click.echo(json.dumps(counts))
