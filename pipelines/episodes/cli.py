"""``foundry episodes``: convert robot episodes to the standard (or LeRobot v3 / Minari) and validate them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipelines.episodes.readers import FORMATS


@click.group(name="episodes")
def group() -> None:
    """Robot episodes: many source formats in, one validated episode schema out."""


@group.command()
@click.argument("src")
@click.option("--from", "fmt", type=click.Choice(FORMATS), required=True, help="Format of SRC.")
@click.option("--out", "out", required=True, help="Output directory (a path, or a URI such as s3://bucket/prefix).")
@click.option("--to", "to", type=click.Choice(["standard", "lerobot", "minari"]), default="standard", show_default=True,
              help="standard: Parquet partitioned by source; lerobot: LeRobotDataset v3.0; minari: Minari HDF5.")
@click.option("--source", default=None, help="Source name (default: from the dataset or directory name).")
@click.option("--robot", default=None, help="Robot/embodiment (d4rl-hdf5, d5rl-pickle, lerobot, rlds).")
@click.option("--data-source", default=None, help="How the data was produced: scripted, expert, play, ...")
@click.option("--ee-action", type=click.Choice(["delta7"]), default=None,
              help="rlds: the flat 7-D action is [dxyz, drpy, gripper]; fills action_ee7.")
@click.option("--split", default=None, help="rlds: read only this split (default: every split, told apart in metadata).")
def convert(src: str, fmt: str, out: str, to: str, source: str | None, robot: str | None, data_source: str | None,
            ee_action: str | None, split: str | None) -> None:
    """Read SRC, check every episode, and write the ones that pass to OUT.

    SRC and OUT are local paths or fsspec URIs (s3://...; the endpoint from FOUNDRY_S3_ENDPOINT_URL).
    Reading and laying out episodes run on the engine FOUNDRY_ENGINE names (local by default; ray with RAY_ADDRESS).
    Malformed episodes are quarantined with a reason (written to OUT/quarantine.parquet for the
    standard output, and printed); the rest convert.
    """
    from pipelines.core import storage
    from pipelines.engine import EngineError, make_engine
    from pipelines.episodes.engine import convert_on_engine
    from pipelines.episodes.readers import RLDSLayoutError
    from pipelines.episodes.writers import write_lerobot_v3, write_minari, write_standard

    if not storage.exists(src):
        raise click.BadParameter(f"{src}: no such file, directory or object", param_hint="SRC")
    local_inputs = [] if storage.is_uri(src) else [src]

    options: dict = {"source": source}
    if robot and fmt != "minari":
        options["robot"] = robot
    if data_source and fmt != "minari":
        options["data_source"] = data_source
    if ee_action:
        if fmt != "rlds":
            raise click.UsageError("--ee-action applies to --from rlds only")
        options["ee_action"] = ee_action
    if split:
        if fmt != "rlds":
            raise click.UsageError("--split applies to --from rlds only")
        options["split"] = split
    # a local --out: checked before reading, the set swapped in whole; a URI --out: one PUT per file at the end
    with storage.output_location(out, inputs=local_inputs) as stage:
        try:
            with make_engine() as engine:
                result = convert_on_engine(fmt, src, engine, **options).standardize()
        except RLDSLayoutError as exc:  # several datasets/versions under SRC, or no TFDS spec: the user picks
            raise click.UsageError(str(exc)) from None
        except EngineError as exc:
            raise click.ClickException(str(exc)) from None
        if to == "standard":
            write_standard(stage, result.episodes, result.steps, result.quarantine, result.stats)
            written = [stage]
        elif result.episodes.height == 0:
            written = []
        elif to == "lerobot":
            written = write_lerobot_v3(stage, result.episodes, result.steps)
        else:
            written = write_minari(stage, result.episodes, result.steps)
        written = [storage.join(out, p.relative_to(stage).as_posix()) if p != stage else str(out) for p in written]
        click.echo(f"{src} ({fmt}): {result.episodes.height} episodes, {result.steps.height} steps converted; "
                   f"{result.quarantine.height} quarantined")
        for row in result.quarantine.iter_rows(named=True):
            click.echo(f"  quarantined {row['source_id']}: {row['reason']} ({row['detail']})")
        if not written:  # nothing to write: leave the previous --out alone
            raise SystemExit(1)
    for path in written:
        click.echo(f"wrote {path}")
    if result.episodes.height == 0:
        raise SystemExit(1)


@group.command()
@click.argument("directory")
def validate(directory: str) -> None:
    """Run every check of the standard on DIRECTORY and print each result; exit 1 when one fails.

    DIRECTORY is a standard dataset (the --out of convert), a LeRobotDataset or a Minari dataset: a
    local directory, or a URI prefix (s3://...; read from a temporary local copy).
    """
    from pipelines.core import storage
    from pipelines.episodes.checks import dataset_checks

    if not storage.is_dir(directory):
        raise click.BadParameter(f"{directory}: not a directory (or URI prefix)", param_hint="DIRECTORY")
    with storage.local_copy(directory) as local:
        episodes, steps, stats, quarantined = _load_any(local)
    outcomes = dataset_checks(episodes, steps, stats)
    click.echo(f"{directory}: {episodes.height} episodes, {steps.height} steps"
               + (f", {quarantined} quarantined while reading" if quarantined else ""))
    for o in outcomes:
        click.echo(o.line())
    failed = [o.name for o in outcomes if not o.passed]
    if episodes.height == 0:
        click.echo("FAIL  no episodes")
        sys.exit(1)
    if failed:
        click.echo(f"{len(failed)} check(s) failed: {', '.join(failed)}")
        sys.exit(1)
    click.echo("all checks passed")


def _load_any(directory: Path):
    from pipelines.episodes.convert import standardize
    from pipelines.episodes.readers import minari_dataset_dirs, read_lerobot, read_minari
    from pipelines.episodes.writers import read_standard

    if (directory / "episodes").is_dir():
        episodes, steps, stats = read_standard(directory)
        return episodes, steps, stats, 0
    lerobot_roots = sorted(p.parent.parent for p in directory.rglob("meta/info.json"))
    if lerobot_roots:  # one LeRobotDataset, or a directory of them (convert --to lerobot writes one per source)
        res = standardize([item for root in lerobot_roots for item in read_lerobot(root)])
    elif (directory / "data" / "metadata.json").exists() or minari_dataset_dirs(directory):
        res = standardize(read_minari(directory))
    else:
        raise click.ClickException(f"{directory}: not a standard dataset (episodes/), a LeRobotDataset (meta/info.json) "
                                   f"or a Minari dataset (data/metadata.json)")
    return res.episodes, res.steps, None, res.quarantine.height
