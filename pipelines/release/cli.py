"""``foundry release``: build, verify and publish versioned dataset releases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipelines.release.versions import ReleaseRefused


def default_ledger(data_root: Path, profile_name: str, dataset: str) -> Path:
    return data_root / "releases" / profile_name / dataset / "ledger"


@click.group(name="release")
def group() -> None:
    """Versioned Hub-ready releases: card, Parquet shards, manifest, Croissant."""


@group.command()
@click.argument("dataset")
@click.option("--version", "version", default=None, help="Semantic version X.Y.Z (default: the registry's).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The release directory to write (new, or a build of the same version).")
@click.option("--data-root", default=None, help="Warehouse to read assets from (default: the profile's).")
@click.option("--ledger", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Ledger of built versions (default: <data root>/releases/<profile>/<dataset>/ledger).")
@click.option("--from-pipeline", is_flag=True, help="Run the family's pipeline functions instead of reading the warehouse.")
@click.option("--repo", default=None, help="ORG/NAME the card's load snippet and Croissant url point at.")
def build(dataset: str, version: str | None, out: Path, data_root: str | None, ledger: Path | None,
          from_pipeline: bool, repo: str | None) -> None:
    """Build release VERSION of DATASET into --out (refused if the version exists with other rows)."""
    from pipelines.config import get_profile
    from pipelines.release.build import build_release
    from pipelines.release.registry import get_spec
    from pipelines.release.warehouse import read_assets

    try:
        spec = get_spec(dataset)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None
    from pipelines.core.outputs import check_output_path
    from pipelines.release.publish import check_repo_id
    from pipelines.release.versions import parse_version

    check_output_path(out)  # before any work: --out under a file or not writable is a usage error
    try:
        parse_version(version or spec.version)
        if repo is not None:
            check_repo_id(repo)
    except ReleaseRefused as exc:
        raise click.UsageError(str(exc)) from None
    profile = get_profile(data_root=data_root)
    if from_pipeline:
        if spec.produce is None:
            raise click.ClickException(f"{dataset}: the spec has no produce(); materialize the assets instead")
        frames = spec.produce(profile)
    else:
        try:
            frames = read_assets(profile.data_root, spec.assets())
        except FileNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
    try:
        result = build_release(spec, frames, version or spec.version, out,
                               ledger_dir=ledger or default_ledger(profile.data_root, profile.name, dataset),
                               profile=profile, repo_id=repo)
    except ReleaseRefused as exc:
        raise click.ClickException(str(exc)) from None
    m = result.manifest
    click.echo(f"{dataset} {m['version']} -> {result.directory}{' (reproduced)' if result.reproduced else ''}")
    for key, n in result.rows.items():
        click.echo(f"  {key:<30} {n:>10,} rows")
    click.echo(f"  content hash {m['content_hash']}")


@group.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify(directory: Path) -> None:
    """Re-hash every file of DIRECTORY against its manifest; exit 1 on any mismatch, missing or extra file."""
    from pipelines.release.manifest import verify_release

    report = verify_release(directory)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


@group.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", required=True, help="ORG/NAME of the Hub dataset repository (or of the local mirror).")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--local-dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Publish to this local directory (<dir>/<org>/<name>/v<version>/) instead of the Hub.")
@click.option("--private", is_flag=True, help="Create the Hub repository as private.")
def publish(directory: Path, repo: str, dry_run: bool, local_dir: Path | None, private: bool) -> None:
    """Publish a verified release: Hub commit + tag v<version> (token from HF_TOKEN), or a local mirror."""
    from pipelines.release.publish import check_repo_id, hub_plan, local_destination, publish_hub, publish_local

    try:
        check_repo_id(repo)
        if local_dir is not None:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            dest = local_destination(local_dir, repo, str(manifest.get("version")))
            if dry_run:
                click.echo(f"would copy {directory} -> {dest} (then verify the copy)")
                return
            click.echo(f"published {publish_local(directory, local_dir, repo)}")
            return
        plan = hub_plan(directory, repo, private=private)
        for line in plan.lines():
            click.echo(line)
        if dry_run:
            click.echo("dry run: nothing was sent")
            return
        commit = publish_hub(directory, plan)
        click.echo(f"committed {commit} and tagged {plan.tag}")
    except ReleaseRefused as exc:
        raise click.ClickException(str(exc)) from None
