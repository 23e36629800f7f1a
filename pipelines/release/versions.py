"""Semantic versions, the ledger of built versions, immutability and the changelog between versions.

The ledger (``<ledger dir>/<version>.json`` + ``<version>.rows.parquet``) remembers, per version, the
content hash of its data shards, its features, the first time it was built, and one line per row
(config, split, source, id, row hash). With it:

- an existing version is immutable: rebuilding it with different rows is refused (same rows: the
  rebuild reproduces it);
- a new version must be greater than every built version, and bumped at least as much as the
  change requires (features or configs/splits changed -> major; rows added/removed/changed -> minor;
  card/metadata only -> patch);
- the changelog counts rows added, removed and changed per source against the previous version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import semver

from pipelines.core.io import atomic_write_parquet, atomic_write_text

MAX_VERSION_CHARS = 64  # also keeps int() far from Python's 4,300-digit limit
ROW_INDEX_SCHEMA = {"config": pl.Utf8, "split": pl.Utf8, "source": pl.Utf8, "id": pl.Utf8, "row_hash": pl.Utf8}


class ReleaseRefused(RuntimeError):
    """A build or publish that would break a release rule; the message says which and what to do."""


def parse_version(text: str) -> tuple[int, int, int]:
    """MAJOR.MINOR.PATCH of a release version; anything else (whitespace, a newline, a "v", a
    pre-release or build suffix) is refused. Parsed by the ``semver`` package; the parse must
    print back as the exact input, so nothing its regex tolerates around the version slips through."""
    text = text if isinstance(text, str) else ""
    try:
        version = semver.Version.parse(text) if len(text) <= MAX_VERSION_CHARS and text.isascii() else None
    except (ValueError, TypeError):
        version = None
    if version is None or str(version) != text:
        raise ReleaseRefused(f"version {text[:MAX_VERSION_CHARS + 1]!r} is not a semantic version MAJOR.MINOR.PATCH "
                             f"(e.g. 1.0.0)")
    if version.prerelease or version.build:
        raise ReleaseRefused(f"version {text!r}: pre-release and build suffixes are not used for releases; "
                             f"give MAJOR.MINOR.PATCH (e.g. {version.major}.{version.minor}.{version.patch})")
    return version.major, version.minor, version.patch


def bump_level(old: str, new: str) -> str:
    """'major', 'minor', 'patch' or 'none' (equal) or 'lower'."""
    a, b = parse_version(old), parse_version(new)
    if b == a:
        return "none"
    if b < a:
        return "lower"
    return "major" if b[0] > a[0] else "minor" if b[1] > a[1] else "patch"


_LEVELS = {"patch": 0, "minor": 1, "major": 2}


# ------------------------------------------------------------------ row identity


def row_hashes(frame: pl.DataFrame) -> list[str]:
    """A stable hash per row: SHA-256 of the row as canonical JSON (same values -> same hash)."""
    out = []
    for row in frame.iter_rows(named=True):
        text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        out.append(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
    return out


def row_index(frame: pl.DataFrame, config: str, split: str, id_column: str | tuple[str, ...],
              source_column: str | None) -> pl.DataFrame:
    n = frame.height
    if isinstance(id_column, str):
        ids = frame.get_column(id_column).cast(pl.Utf8)
    else:  # a compound key: its parts joined with a unit separator
        ids = frame.select(pl.concat_str([pl.col(c).cast(pl.Utf8).fill_null("") for c in id_column],
                                         separator="\x1f")).to_series()
    src = frame.get_column(source_column).cast(pl.Utf8) if source_column and source_column in frame.columns \
        else pl.Series([None] * n, dtype=pl.Utf8)
    return pl.DataFrame({
        "config": [config] * n, "split": [split] * n, "source": src,
        "id": ids, "row_hash": pl.Series(row_hashes(frame), dtype=pl.Utf8),
    }, schema=ROW_INDEX_SCHEMA)


# ------------------------------------------------------------------ ledger


@dataclass(frozen=True)
class LedgerEntry:
    version: str
    content_hash: str
    features: dict
    first_built: str
    path: Path

    def rows(self) -> pl.DataFrame:
        p = self.path.with_name(f"{self.version}.rows.parquet")
        return pl.read_parquet(p) if p.exists() else pl.DataFrame(schema=ROW_INDEX_SCHEMA)


class Ledger:
    """The built versions of one dataset (one directory per dataset and data root)."""

    def __init__(self, directory: str | Path, dataset: str):
        self.dir = Path(directory)
        self.dataset = dataset

    def entries(self) -> dict[str, LedgerEntry]:
        out = {}
        if not self.dir.is_dir():
            return out
        for p in sorted(self.dir.glob("*.json")):
            data = json.loads(p.read_text(encoding="utf-8"))
            if data.get("dataset") != self.dataset:
                continue
            out[data["version"]] = LedgerEntry(data["version"], data["content_hash"], data.get("features", {}),
                                               data.get("first_built", ""), p)
        return out

    def get(self, version: str) -> LedgerEntry | None:
        return self.entries().get(version)

    def previous(self, version: str) -> LedgerEntry | None:
        """The greatest built version below ``version``."""
        lower = [e for v, e in self.entries().items() if parse_version(v) < parse_version(version)]
        return max(lower, key=lambda e: parse_version(e.version)) if lower else None

    def latest(self) -> LedgerEntry | None:
        entries = list(self.entries().values())
        return max(entries, key=lambda e: parse_version(e.version)) if entries else None

    def record(self, version: str, content_hash: str, features: dict, first_built: str, rows: pl.DataFrame) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(rows, self.dir / f"{version}.rows.parquet")
        atomic_write_text(json.dumps({"dataset": self.dataset, "version": version, "content_hash": content_hash,
                                      "features": features, "first_built": first_built}, indent=2, sort_keys=True)
                          + "\n", self.dir / f"{version}.json")


# ------------------------------------------------------------------ changelog


def changelog(old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """Rows added, removed and changed per (config, split, source) between two row indexes."""
    keys = ["config", "split", "id"]
    joined = old.join(new, on=keys, how="full", suffix="_new", coalesce=True)
    joined = joined.with_columns(
        pl.coalesce("source_new", "source").alias("by_source"),
        pl.when(pl.col("row_hash").is_null()).then(pl.lit("added"))
        .when(pl.col("row_hash_new").is_null()).then(pl.lit("removed"))
        .when(pl.col("row_hash") != pl.col("row_hash_new")).then(pl.lit("changed"))
        .otherwise(pl.lit("unchanged")).alias("change"),
    )
    out = (joined.group_by("config", "split", "by_source").agg(
        *(pl.col("change").eq(c).sum().cast(pl.Int64).alias(c) for c in ("added", "removed", "changed", "unchanged")))
        .rename({"by_source": "source"}).sort("config", "split", "source", nulls_last=True))
    return out


def changelog_markdown(dataset: str, version: str, previous: str | None, table: pl.DataFrame | None,
                       notes: list[str]) -> str:
    lines = [f"# Changelog of {dataset}", "", f"## {version}", ""]
    if previous is None or table is None:
        lines.append("First release built in this ledger.")
    else:
        totals = {c: int(table.get_column(c).sum()) for c in ("added", "removed", "changed", "unchanged")}
        lines.append(f"Against {previous}: {totals['added']} rows added, {totals['removed']} removed, "
                     f"{totals['changed']} changed, {totals['unchanged']} unchanged.")
        lines += ["", "| config | split | source | added | removed | changed | unchanged |", "|---|---|---|---:|---:|---:|---:|"]
        for r in table.iter_rows(named=True):
            lines.append(f"| {r['config']} | {r['split']} | {r['source'] or '-'} | {r['added']} | {r['removed']} | "
                         f"{r['changed']} | {r['unchanged']} |")
    for note in notes:
        lines += ["", f"- {note}"]
    return "\n".join(lines) + "\n"


def required_bump(old: LedgerEntry, new_features: dict, table: pl.DataFrame) -> tuple[str, str]:
    """The smallest bump the change needs, and why."""
    if old.features != new_features:
        return "major", "the configs, splits or features changed"
    if table.height and int(table.select(pl.col("added") + pl.col("removed") + pl.col("changed")).to_series().sum()):
        return "minor", "rows were added, removed or changed"
    return "patch", "only the card or metadata changed"


def check_new_version(ledger: Ledger, version: str, content_hash: str, features: dict,
                      rows: pl.DataFrame) -> tuple[LedgerEntry | None, LedgerEntry | None, pl.DataFrame | None]:
    """Apply the version rules. Returns (existing entry of this version, previous version, changelog).

    Raises :class:`ReleaseRefused` when the version exists with other content, is not above every
    built version, or is bumped less than the change needs.
    """
    parse_version(version)
    existing = ledger.get(version)
    previous = ledger.previous(version)
    if existing is not None:
        if existing.content_hash != content_hash:
            table = changelog(existing.rows(), rows)
            summary = ", ".join(f"{c} {int(table.get_column(c).sum())}" for c in ("added", "removed", "changed"))
            raise ReleaseRefused(
                f"{ledger.dataset} {version} already exists ({existing.path}) with different content "
                f"(content hash {existing.content_hash[:12]} != {content_hash[:12]}; rows {summary}). "
                f"A released version never changes: build the new data as a new version "
                f"(e.g. bump the version in pipelines/release/registry.py or pass --version).")
        return existing, previous, changelog(previous.rows(), rows) if previous else None
    latest = ledger.latest()
    if latest is not None and parse_version(version) < parse_version(latest.version):
        raise ReleaseRefused(f"{ledger.dataset} {version} is below the latest built version {latest.version}; "
                             f"new versions must be greater (next: {next_versions(latest.version)})")
    table = changelog(previous.rows(), rows) if previous else None
    if previous is not None:
        need, why = required_bump(previous, features, table)
        got = bump_level(previous.version, version)
        if _LEVELS.get(got, -1) < _LEVELS[need]:
            raise ReleaseRefused(f"{ledger.dataset} {previous.version} -> {version} is a {got} bump, but {why}: "
                                 f"that needs a {need} bump (next: {next_versions(previous.version)})")
    return None, previous, table


def next_versions(version: str) -> str:
    a, b, c = parse_version(version)
    return f"patch {a}.{b}.{c + 1}, minor {a}.{b + 1}.0, major {a + 1}.0.0"
