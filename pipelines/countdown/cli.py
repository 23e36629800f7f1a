"""``foundry countdown``: generate the family to Parquet, and score model completions."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from pipelines.countdown.reward import NUMBER_RULES


@click.group("countdown")
def group() -> None:
    """Countdown problems, search traces (Stream of Search / Meta-CoT) and behavior-controlled priming sets."""


@group.command()
@click.option("--n", "n_problems", type=click.IntRange(min=1), default=None,
              help="Candidate problems to generate (default: the profile's).")
@click.option("--numbers", type=click.IntRange(2, 5), default=None,
              help="How many numbers per problem (2-5; the exhaustive solvability check grows fast beyond).")
@click.option("--seed", type=int, default=None, help="Seed (default: the profile's).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--profile", default="sample", show_default=True, help="Countdown sizes to start from (sample|full).")
@click.option("--traces", "traces_per_strategy", type=click.IntRange(min=0), default=None,
              help="Problems searched by every strategy.")
@click.option("--priming-rows", type=click.IntRange(min=0), default=None, help="Rows per priming set.")
def generate(n_problems, numbers, seed, out_dir, profile, traces_per_strategy, priming_rows) -> None:
    """Problems, traces per strategy and priming sets as Parquet under OUT."""
    from pipelines.countdown.build import build_all, write_all
    from pipelines.countdown.config import config_for_profile
    from pipelines.countdown.priming import detector_agreement

    try:
        cfg = config_for_profile(profile)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--profile") from exc
    changes = {k: v for k, v in {"n_problems": n_problems, "numbers": numbers, "seed": seed,
                                 "traces_per_strategy": traces_per_strategy, "priming_rows": priming_rows}.items()
               if v is not None}
    cfg = cfg.with_(**changes)
    start = time.perf_counter()
    from pipelines.core import storage

    # a local --out is staged and swapped in whole; a URI --out gets one PUT per file
    with storage.output_location(out_dir) as stage:  # --out checked before the work
        build = build_all(cfg)
        written = write_all(build, stage)
    click.echo(f"{build.problems.height} problems ({build.rejected.height} candidates rejected), "
               f"{build.traces.height} traces, {build.priming.height} priming rows "
               f"-> {out_dir} ({len(written)} files, {time.perf_counter() - start:.1f}s)")
    click.echo("detector agreement: " + json.dumps(detector_agreement(build.priming).get("overall")))


@group.command()
@click.argument("file")
@click.option("--field", "fields", multiple=True, metavar="NAME=COLUMN",
              help="Map completion, numbers and target to the file's columns (default: same names).")
@click.option("--numbers-rule", type=click.Choice(NUMBER_RULES), default="all", show_default=True,
              help="all: every number exactly once (TinyZero); subset: each number at most once.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False),
              help="Output .parquet or .jsonl: per row score, format_ok, correct, expression, value, parse_error.")
def score(file, fields, numbers_rule, out_file) -> None:
    """Score model completions in FILE (JSONL or Parquet; a path or a URI such as s3://bucket/x.jsonl) with the
    Countdown reward. --out may be a URI too."""
    from pipelines.core import storage
    from pipelines.core.io import InputFileError
    from pipelines.countdown.scoring import score_file, summarize, write_scores

    from pipelines.core.fields import parse_field_mapping

    names = ("completion", "numbers", "target")
    mapping = {**{n: n for n in names}, **parse_field_mapping(fields, names)}
    if not storage.is_uri(file) and not Path(file).is_file():  # a URI is checked when it is read
        raise click.BadParameter(f"{file}: no such file (give a local JSONL/Parquet file or a URI such as "
                                 "s3://bucket/completions.jsonl)", param_hint="FILE")
    local_inputs = [] if storage.is_uri(file) else [file]
    # a local --out is staged and swapped in; a URI --out is one PUT of the finished file
    with storage.output_location(out_file, kind="file", inputs=local_inputs) as staged:  # --out checked before scoring
        try:
            frame = score_file(file, mapping, numbers_rule)
        except InputFileError as exc:
            raise click.ClickException(str(exc)) from exc
        write_scores(frame, staged)
    click.echo(json.dumps(summarize(frame)))
