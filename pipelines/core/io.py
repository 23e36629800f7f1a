"""Reading user files without crashing on bad rows, and writing outputs atomically."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


class InputFileError(ValueError):
    """A whole file cannot be read (missing, not JSONL/Parquet, corrupt Parquet)."""


@dataclass(frozen=True)
class RawRecord:
    """One input row before normalization: its record, or why it could not be read."""

    source_id: str  # "<line number>" for JSONL, "<row index>" for Parquet
    record: dict[str, Any] | None
    error: str | None
    raw: str | None = None


def read_records(path: str | Path) -> list[RawRecord]:
    """Read a JSONL or Parquet file into raw records.

    JSONL lines that are not valid UTF-8 or JSON, or whose value is not an object, become records
    with ``error`` set (the caller quarantines them); blank lines are not rows. A file that
    cannot be opened or parsed as a whole raises :class:`InputFileError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith(".parquet"):
        return _read_parquet_records(path)
    if suffix.endswith((".jsonl", ".json", ".ndjson", ".jsonl.gz")) or suffix.endswith(".json.gz"):
        return _read_jsonl_records(path)
    raise InputFileError(f"{path}: unsupported file type; give .jsonl, .json (one object a line) or .parquet")


def _read_jsonl_records(path: Path) -> list[RawRecord]:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    out: list[RawRecord] = []
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                sid = str(lineno)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    out.append(RawRecord(sid, None, f"line {lineno}: not UTF-8 ({exc.reason} at byte {exc.start})",
                                         raw.decode("utf-8", errors="replace")[:2000]))
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    out.append(RawRecord(sid, None, f"line {lineno}: invalid JSON ({exc.msg} at column {exc.colno})", text[:2000]))
                    continue
                except RecursionError:
                    out.append(RawRecord(sid, None, f"line {lineno}: JSON nested too deeply", text[:2000]))
                    continue
                if not isinstance(value, dict):
                    out.append(RawRecord(sid, None, f"line {lineno}: expected a JSON object, got {type(value).__name__}", text[:2000]))
                    continue
                out.append(RawRecord(sid, value, None))
    except (OSError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    return out


def _read_parquet_records(path: Path) -> list[RawRecord]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from exc
    return [RawRecord(str(i), row, None) for i, row in enumerate(table.to_pylist())]


def atomic_write_parquet(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` via a temp file + rename, so readers never see half a file.

    Statistics and compression are fixed so the same frame always gives the same bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        frame.write_parquet(tmp, compression="zstd", compression_level=3, statistics=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(text: str, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_partitioned_parquet(frame: pl.DataFrame, directory: str | Path, by: str) -> list[Path]:
    """Hive-style ``directory/<by>=<value>/part-0.parquet``, one file per value, sorted, atomic.

    Stale partitions from an earlier run are removed so the directory mirrors ``frame``.
    """
    import shutil

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    values = sorted(v for v in frame.get_column(by).unique().to_list() if v is not None) if frame.height else []
    for value in values:
        part = frame.filter(pl.col(by) == value).drop(by)
        written.append(atomic_write_parquet(part, directory / f"{by}={value}" / "part-0.parquet"))
    keep = {p.parent.name for p in written}
    for child in directory.iterdir():
        if child.is_dir() and child.name.startswith(f"{by}=") and child.name not in keep:
            shutil.rmtree(child)
    return written
