"""The source lock: one committed file that pins every Hugging Face dataset the recipe reads.

``sources.lock.json`` (repository root) maps each Hub dataset id to the commit it is read at.
``foundry sources lock`` asks the Hub (``huggingface_hub.HfApi.dataset_info(id).sha``) for each
dataset's current commit and rewrites the file; profiles read the file and pass the revision to
``datasets.load_dataset(..., revision=...)``. An entry with ``"revision": null`` is unresolved:
its sources refuse to load, naming the command. The file is written byte-stably (sorted keys, no
timestamps): locking twice against an unchanged Hub gives the same bytes, so a diff is a real change.

A dataset read file by file (OpenWebMath: one Dagster partition per Parquet shard) is a
:class:`ListedDataset`: its entry also records the files matching its pattern at the locked
revision (``HfApi.list_repo_files``), so its partitions are known offline and do not move when the
Hub gains files. ``files`` is empty while the revision is unresolved.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import click

from pipelines.bigmath.sources import SourceSpec
from pipelines.core.io import InputFileError, atomic_write_text

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK_PATH = REPO_ROOT / "sources.lock.json"
LOCK_VERSION = 1
UNRESOLVED = "unresolved: run `foundry sources lock` with network access and commit this file"


def read_lock(path: Path = LOCK_PATH) -> dict[str, str | None]:
    """Dataset id -> locked revision (None where unresolved); {} when the file does not exist."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: v.get("revision") for k, v in data["datasets"].items()}
    except (json.JSONDecodeError, KeyError, AttributeError, TypeError) as exc:
        raise InputFileError(f"{path}: not a source lock file ({exc}); regenerate it with `foundry sources lock`") from exc


@dataclass(frozen=True)
class ListedDataset:
    """A Hub dataset read file by file: the lock pins its revision and the files matching ``pattern``."""

    hf_id: str
    pattern: str                  # fnmatch over repository paths, e.g. "data/*.parquet"
    used_by: tuple[str, ...]


def listed_datasets() -> tuple[ListedDataset, ...]:
    """The datasets whose file lists the lock records (today: OpenWebMath's shards)."""
    from pipelines.owm.hub import LISTED  # the family declares it; imported late (no import cycle)

    return LISTED


def read_lock_files(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Dataset id -> the files the lock lists for it (listed datasets only; empty when unresolved)."""
    path = LOCK_PATH if path is None else path
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: tuple(v["files"]) for k, v in data["datasets"].items() if "files" in v}
    except (json.JSONDecodeError, KeyError, AttributeError, TypeError) as exc:
        raise InputFileError(f"{path}: not a source lock file ({exc}); regenerate it with `foundry sources lock`") from exc


def lock_document(specs: Iterable[SourceSpec], revisions: Mapping[str, str | None],
                  files: Mapping[str, Sequence[str]] | None = None,
                  listed: Sequence[ListedDataset] | None = None) -> str:
    """The lock file's text: one entry per Hub dataset, with the sources that read it; a listed
    dataset's entry also has its file ``pattern`` and the ``files`` at the revision."""
    listed = listed_datasets() if listed is None else listed
    files = files or {}
    used: dict[str, list[str]] = {}
    for s in specs:
        if s.kind == "hf":
            used.setdefault(s.hf_id, []).append(s.name)
    entries = {}
    for hf_id in sorted(used):
        rev = revisions.get(hf_id)
        entry = {"revision": rev, "used_by": sorted(set(used[hf_id]))}
        if rev is None:
            entry["status"] = UNRESOLVED
        entries[hf_id] = entry
    for d in listed:
        rev = revisions.get(d.hf_id)
        entry = {"revision": rev, "used_by": sorted(set(d.used_by)), "pattern": d.pattern,
                 "files": sorted(files.get(d.hf_id, ())) if rev else []}
        if rev is None:
            entry["status"] = UNRESOLVED
        entries[d.hf_id] = entry
    doc = {"version": LOCK_VERSION,
           "about": "Hub commits the Big-Math recipe reads (pipelines/bigmath/recipe.py) and the files of the datasets "
                    "read file by file (pipelines/owm/hub.py); written by `foundry sources lock`",
           "datasets": entries}
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def resolve_revisions(hf_ids: Iterable[str], api) -> tuple[dict[str, str | None], dict[str, str]]:
    """Ask the Hub for each dataset's current commit: (revisions, errors by id)."""
    revisions: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    for hf_id in sorted(set(hf_ids)):
        try:
            sha = api.dataset_info(hf_id).sha
        except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many types; report each by id
            revisions[hf_id], errors[hf_id] = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            continue
        if not sha:
            revisions[hf_id], errors[hf_id] = None, "the Hub returned no commit sha"
        else:
            revisions[hf_id] = sha
    return revisions, errors


def resolve_files(listed: Iterable[ListedDataset], revisions: Mapping[str, str | None], api
                  ) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """The files of each listed dataset at its resolved revision that match its pattern, sorted:
    (files by id, errors by id). A dataset without a revision lists nothing."""
    files: dict[str, tuple[str, ...]] = {}
    errors: dict[str, str] = {}
    for d in listed:
        rev = revisions.get(d.hf_id)
        if not rev:
            continue
        try:
            names = api.list_repo_files(d.hf_id, repo_type="dataset", revision=rev)
        except Exception as exc:  # noqa: BLE001 - as resolve_revisions: report each by id
            errors[d.hf_id] = f"listing files: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            continue
        matched = tuple(sorted(n for n in names if fnmatchcase(n, d.pattern)))
        if not matched:
            errors[d.hf_id] = f"no file at {rev} matches {d.pattern!r}"
        files[d.hf_id] = matched
    return files, errors


def make_api(endpoint: str | None = None):
    from huggingface_hub import HfApi

    # read HF_ENDPOINT now, not at huggingface_hub's import: a mirror set later still counts
    return HfApi(endpoint=endpoint or os.environ.get("HF_ENDPOINT") or None)


# ------------------------------------------------------------------ CLI: ``foundry sources``


@click.group(name="sources")
def sources() -> None:
    """Pinned data sources: lock each Hugging Face dataset to a commit, show the lock."""


@sources.command(name="lock")
@click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=LOCK_PATH, show_default=True)
@click.option("--endpoint", default=None, help="Hub endpoint (default: $HF_ENDPOINT or huggingface.co).")
def lock_command(lock_file: Path, endpoint: str | None) -> None:
    """Resolve every Hub source and evaluation set of the recipe to its current commit; write the lock."""
    from pipelines.bigmath.recipe import hub_specs

    specs, listed = hub_specs(), listed_datasets()
    api = make_api(endpoint)
    revisions, errors = resolve_revisions([s.hf_id for s in specs] + [d.hf_id for d in listed], api)
    files, file_errors = resolve_files(listed, revisions, api)
    errors.update(file_errors)
    for hf_id in file_errors:  # a dataset whose files cannot be listed stays unresolved: no half-pinned partitions
        revisions[hf_id] = None
    old = read_lock(lock_file) if lock_file.exists() else {}
    atomic_write_text(lock_document(specs, revisions, files, listed), lock_file)
    for hf_id, rev in sorted(revisions.items()):
        change = "" if old.get(hf_id) == rev else f" (was {old.get(hf_id) or 'unresolved'})"
        listing = f" ({len(files[hf_id])} files)" if hf_id in files and rev else ""
        click.echo(f"  {hf_id:<42} {rev or 'UNRESOLVED'}{listing}{change}")
    click.echo(f"wrote {lock_file}: {sum(r is not None for r in revisions.values())}/{len(revisions)} datasets locked")
    if errors:
        for hf_id, why in sorted(errors.items()):
            click.echo(f"  cannot resolve {hf_id}: {why}", err=True)
        raise click.ClickException(f"{len(errors)} dataset(s) unresolved; their sources refuse to run until "
                                   "`foundry sources lock` resolves them (check the id and network access)")


@sources.command(name="show")
@click.option("--lock-file", type=click.Path(dir_okay=False, path_type=Path), default=LOCK_PATH, show_default=True)
def show_command(lock_file: Path) -> None:
    """Print each Hub source of the recipe with its locked revision (or UNRESOLVED)."""
    from pipelines.bigmath.recipe import hub_specs

    lock = read_lock(lock_file)
    for s in hub_specs():
        click.echo(f"  {s.name:<16} {s.hf_id:<42} {lock.get(s.hf_id) or 'UNRESOLVED'}")
    files = read_lock_files(lock_file)
    for d in listed_datasets():
        click.echo(f"  {','.join(d.used_by):<16} {d.hf_id:<42} {lock.get(d.hf_id) or 'UNRESOLVED'} "
                   f"({len(files.get(d.hf_id, ()))} files {d.pattern})")
