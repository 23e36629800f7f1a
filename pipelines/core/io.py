"""Reading user files without crashing on bad rows, and writing outputs atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.outputs import kill_point


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


MAX_LINE_BYTES = 16 * 1024 * 1024  # one JSONL row; a longer "line" is a dump or an attack, not a row
MAX_JSON_DEPTH = 64                # deeper nesting is never a real row and breaks recursive consumers
_BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lines(fh, limit: int) -> Iterator[tuple[bytes, bool]]:
    """(line, whole) per line; a line longer than ``limit`` is skipped in chunks and flagged."""
    while True:
        raw = fh.readline(limit + 1)
        if not raw:
            return
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw, True
            continue
        while raw and not raw.endswith(b"\n"):  # drain the rest of the long line without keeping it
            raw = fh.readline(limit)
        yield b"", False


def _unusable_text(value: Any) -> str | None:
    """Why a decoded JSON value cannot be a row (lone surrogate, nesting), else None. Iterative."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        if isinstance(v, str):
            m = _SURROGATE.search(v)
            if m:
                return f"lone UTF-16 surrogate \\u{ord(m.group()):04x} in a string (not valid Unicode)"
        elif isinstance(v, dict):
            stack.extend((k, depth + 1) for k in v)
            stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, depth + 1) for x in v)
    return None


def _jsonl_record(path: Path, lineno: int, raw: bytes) -> RawRecord:
    sid = str(lineno)
    where = f"{path.name} line {lineno}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(sid, None, f"{where}: not UTF-8 ({exc.reason} at byte {exc.start})",
                         raw.decode("utf-8", errors="replace")[:2000])
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return RawRecord(sid, None, f"{where}: invalid JSON ({exc.msg} at column {exc.colno})", text[:2000])
    except RecursionError:
        return RawRecord(sid, None, f"{where}: JSON nested too deeply (RecursionError)", text[:2000])
    except ValueError as exc:  # e.g. an integer literal over Python's 4,300-digit limit
        return RawRecord(sid, None, f"{where}: invalid JSON (ValueError: {str(exc)[:200]})", text[:2000])
    if not isinstance(value, dict):
        return RawRecord(sid, None, f"{where}: expected a JSON object, got {type(value).__name__}", text[:2000])
    why = _unusable_text(value)
    if why:
        return RawRecord(sid, None, f"{where}: {why}", text[:2000].encode("utf-8", "replace").decode("utf-8"))
    return RawRecord(sid, value, None)


def _read_jsonl_records(path: Path) -> list[RawRecord]:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    out: list[RawRecord] = []
    try:
        with opener(path, "rb") as fh:
            for lineno, (raw, whole) in enumerate(_lines(fh, MAX_LINE_BYTES), start=1):
                if lineno == 1 and raw.startswith(_BOM):  # editors on Windows start files with a BOM
                    raw = raw[len(_BOM):]
                if not whole:
                    out.append(RawRecord(str(lineno), None, f"{path.name} line {lineno}: line longer than "
                                                            f"{MAX_LINE_BYTES:,} bytes", None))
                    continue
                if not raw.strip():
                    continue
                try:
                    out.append(_jsonl_record(path, lineno, raw))
                except Exception as exc:  # noqa: BLE001 - one row must never end the file
                    out.append(RawRecord(str(lineno), None, f"{path.name} line {lineno}: {type(exc).__name__}: "
                                                            f"{str(exc)[:200]}", None))
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc
    return out


def _read_parquet_records(path: Path) -> list[RawRecord]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from exc
    try:
        return [RawRecord(str(i), row, None) for i, row in enumerate(table.to_pylist())]
    except Exception:  # noqa: BLE001 - some row does not convert (e.g. a timestamp past year 9999): find it
        pass
    out = []
    for i in range(table.num_rows):
        try:
            out.append(RawRecord(str(i), table.slice(i, 1).to_pylist()[0], None))
        except Exception as exc:  # noqa: BLE001
            bad = []
            for name in table.column_names:
                try:
                    table.column(name).slice(i, 1).to_pylist()
                except Exception:  # noqa: BLE001
                    bad.append(name)
            out.append(RawRecord(str(i), None, f"{path.name} row {i}: column(s) {', '.join(bad) or '?'} do not convert "
                                               f"({type(exc).__name__}: {str(exc)[:200]})", None))
    return out


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
        kill_point("after_first_rename")
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
        kill_point("after_first_rename")
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
        kill_point("after_first_rename")
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
