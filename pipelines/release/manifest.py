"""The manifest of a release directory, and verifying a directory against it.

``manifest.json`` lists every other file of the release with its SHA-256, size and (for Parquet
shards) row count, config and split. ``content_hash`` is the SHA-256 of the sorted
``<path> <sha256>`` lines of the data shards only: it identifies the rows, not the card, so
ledger immutability compares data. ``build_time`` is not part of any hash (see ``build``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.hashing import file_sha256

MANIFEST = "manifest.json"
FORMAT = 1


def content_hash(files: list[dict]) -> str:
    lines = sorted(f"{f['path']} {f['sha256']}" for f in files if f.get("kind") == "data")
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def manifest_text(manifest: dict) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline (same dict -> same bytes)."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def file_entry(root: Path, path: Path, kind: str, **extra) -> dict:
    return {"path": path.relative_to(root).as_posix(), "sha256": file_sha256(path), "bytes": path.stat().st_size,
            "kind": kind, **extra}


def read_manifest(directory: str | Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: no manifest; is {directory} a release directory built by "
                                f"`foundry release build`?")
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class VerifyReport:
    directory: Path
    checked: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    rows_wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.missing or self.extra or self.rows_wrong or self.errors)

    def lines(self) -> list[str]:
        out = [f"{self.directory}: {self.checked} files checked"]
        out += [f"MISMATCH {p}" for p in self.mismatched] + [f"MISSING  {p}" for p in self.missing]
        out += [f"EXTRA    {p}" for p in self.extra] + [f"ROWS     {p}" for p in self.rows_wrong]
        out += [f"ERROR    {e}" for e in self.errors]
        out.append("OK" if self.ok else "FAILED")
        return out


def verify_release(directory: str | Path, check_rows: bool = True) -> VerifyReport:
    """Re-hash every file against the manifest: any mismatch, missing or extra file fails."""
    directory = Path(directory)
    report = VerifyReport(directory)
    try:
        manifest = read_manifest(directory)
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        report.errors.append(str(exc))
        return report
    listed = {f["path"]: f for f in manifest.get("files", [])}
    present = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} - {MANIFEST}
    report.missing = sorted(set(listed) - present)
    report.extra = sorted(present - set(listed))
    for rel in sorted(set(listed) & present):
        entry = listed[rel]
        report.checked += 1
        path = directory / rel
        if file_sha256(path) != entry["sha256"] or path.stat().st_size != entry["bytes"]:
            report.mismatched.append(rel)
            continue
        if check_rows and "rows" in entry:
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(path).metadata.num_rows
            if rows != entry["rows"]:
                report.rows_wrong.append(f"{rel}: {rows} rows, manifest says {entry['rows']}")
    if manifest.get("content_hash") != content_hash(manifest.get("files", [])):
        report.errors.append("content_hash does not match the listed data files")
    return report


def read_split(directory: str | Path, config: str, split: str):
    """The rows of one config/split of a release, read back from its shards (as Polars)."""
    import polars as pl

    manifest = read_manifest(directory)
    paths = [Path(directory) / f["path"] for f in manifest["files"]
             if f.get("kind") == "data" and f.get("config") == config and f.get("split") == split]
    if not paths:
        raise KeyError(f"{directory}: no shards for config {config!r}, split {split!r}")
    return pl.concat([pl.read_parquet(p) for p in sorted(paths)], how="vertical")
