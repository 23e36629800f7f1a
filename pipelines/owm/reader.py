"""Streaming reader of OpenWebMath-shaped files: Parquet shards (Hub or local) and local JSONL.

The OpenWebMath schema is ``text``, ``url``, ``date`` and ``metadata`` (a JSON string). Parquet is
read with ``ParquetFile.iter_batches`` so at most one record batch of ``batch_rows`` rows is in
memory whatever the shard's size; JSONL is read a line at a time. Every row comes out either kept
(a document) or rejected with a reason code from :mod:`pipelines.owm.reasons` and a detail naming
the file, the row and the error class. A UTF-8 byte-order mark is stripped (a file's first line,
and the start of any text value: Windows tools put one there).

A file is a local path or an fsspec URI: ``hf://datasets/<id>@<revision>/<path>`` (a Hub shard,
read with range requests through ``HfFileSystem``; :mod:`pipelines.owm.hub`), ``s3://``, ... The
rows' ``shard`` is the file name either way.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.hashing import content_id
from pipelines.core.io import InputFileError
from pipelines.core.storage import is_uri
from pipelines.owm import reasons

FIELDS = ("text", "url", "date", "metadata")
BOM = "\ufeff"
RAW_CHARS = 2000  # the raw excerpt kept on a rejected row


@dataclass
class ReadBatch:
    """One batch of one file: documents kept and rows rejected, in file order."""

    kept: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.kept) + len(self.rejected)


def _strip_bom(value: str) -> str:
    return value[1:] if value.startswith(BOM) else value


def _reject(shard: str, row: int, reason: str, detail: str, raw: str | None = None) -> dict[str, Any]:
    return {"shard": shard, "row": row, "reason": reason, "detail": detail, "raw": (raw or "")[:RAW_CHARS]}


def to_document(record: dict[str, Any], shard: str, row: int, fields: dict[str, str]) -> dict[str, Any]:
    """A kept document, or a rejected row (``reason`` set) for one input record."""
    where = f"{shard} row {row}"
    text = record.get(fields["text"])
    if text is None:
        return _reject(shard, row, reasons.MISSING_TEXT,
                       f"{where}: no {fields['text']!r} value (map your column with --field text=COL)",
                       json.dumps(record, default=str))
    if not isinstance(text, str):
        return _reject(shard, row, reasons.WRONG_TYPE,
                       f"{where}: {fields['text']!r} is {type(text).__name__}, expected a string", repr(text))
    text = _strip_bom(text)
    if not text.strip():
        return _reject(shard, row, reasons.MISSING_TEXT, f"{where}: {fields['text']!r} is empty")
    doc: dict[str, Any] = {"doc_id": content_id(text, prefix="owm-"), "shard": shard, "row": row, "text": text}
    for name in ("url", "date"):
        value = record.get(fields[name])
        if value is not None and not isinstance(value, str):
            value = value.isoformat() if hasattr(value, "isoformat") else value
        if value is not None and not isinstance(value, str):
            return _reject(shard, row, reasons.WRONG_TYPE,
                           f"{where}: {fields[name]!r} is {type(value).__name__}, expected a string", repr(value))
        doc[name] = value
    meta = record.get(fields["metadata"])
    if meta is None or (isinstance(meta, str) and not meta.strip()):
        meta_obj: Any = {}
    elif isinstance(meta, str):
        try:
            meta_obj = json.loads(_strip_bom(meta))
        except (json.JSONDecodeError, RecursionError) as exc:
            return _reject(shard, row, reasons.BAD_METADATA,
                           f"{where}: {fields['metadata']!r} is not JSON ({type(exc).__name__}); give a JSON object "
                           f"string or map another column with --field metadata=COL", meta)
    else:
        meta_obj = meta
    if not isinstance(meta_obj, dict):
        return _reject(shard, row, reasons.BAD_METADATA,
                       f"{where}: {fields['metadata']!r} must be a JSON object, got {type(meta_obj).__name__}", repr(meta))
    doc["metadata"] = json.dumps(meta_obj, sort_keys=True, ensure_ascii=False, default=str)
    return doc


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson", ".json", ".jsonl.gz", ".json.gz", ".ndjson.gz")):
        return "jsonl"
    raise InputFileError(f"{path}: unsupported file type; give .parquet or .jsonl (one JSON object a line)")


def iter_batches(path: str | Path, fields: dict[str, str] | None = None, batch_rows: int = 256) -> Iterator[ReadBatch]:
    """Batches of at most ``batch_rows`` rows of one file (a local path or a URI). A file that cannot
    be opened raises :class:`InputFileError` naming it; a bad row never does."""
    fields = {**{f: f for f in FIELDS}, **(fields or {})}
    if is_uri(path):
        yield from _uri_batches(str(path), fields, batch_rows)
        return
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if file_kind(path) == "parquet":
        yield from _parquet_batches(path, fields, batch_rows)
    else:
        yield from _jsonl_batches(path, fields, batch_rows)


def _uri_batches(uri: str, fields: dict[str, str], batch_rows: int) -> Iterator[ReadBatch]:
    """A shard by URI, opened as a seekable file: Parquet reads its footer then one row group's
    column chunks at a time (range requests), so the shard is never held whole."""
    from pipelines.core.storage import filesystem
    from pipelines.owm.hub import shard_name, storage_options

    name = shard_name(uri)
    kind = file_kind(Path(name))
    try:
        fs, inner = filesystem(uri, storage_options(uri))
        fh = fs.open(inner, "rb")
    except FileNotFoundError as exc:
        raise InputFileError(f"{uri}: no such file ({exc}); check the revision and path in sources.lock.json "
                             f"(`foundry sources lock` lists them)") from exc
    except Exception as exc:  # noqa: BLE001 - fsspec backends raise their own types: name the URI and the cause
        raise InputFileError(f"{uri}: cannot open ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}); "
                             f"check HF_ENDPOINT / network access, or download the shard and pass its path") from exc
    with fh:
        if kind == "parquet":
            yield from _parquet_batches(uri, fields, batch_rows, source=fh, name=name)
        else:
            yield from _jsonl_batches(uri, fields, batch_rows, source=fh, name=name)


def _parquet_batches(path, fields: dict[str, str], batch_rows: int, source=None, name: str | None = None) -> Iterator[ReadBatch]:
    name = name or Path(path).name
    try:
        pf = pq.ParquetFile(path if source is None else source)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from exc
    present = set(pf.schema_arrow.names)
    if fields["text"] not in present:
        raise InputFileError(f"{path}: no column {fields['text']!r} (columns: {', '.join(sorted(present))}); "
                             f"map yours with --field text=COL")
    columns = sorted({c for c in fields.values() if c in present})
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            out = ReadBatch()
            for record in batch.to_pylist():
                _route(out, to_document(record, name, row, fields))
                row += 1
            yield out
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: unreadable after row {row} ({type(exc).__name__}: {exc}); "
                             f"re-download the shard") from exc


def _jsonl_batches(path, fields: dict[str, str], batch_rows: int, source=None, name: str | None = None) -> Iterator[ReadBatch]:
    name = name or Path(path).name
    gz = name.lower().endswith(".gz")
    if source is not None:
        opener = (lambda _p, mode: gzip.open(source, mode)) if gz else (lambda _p, mode: _borrowed(source))
    else:
        opener = gzip.open if gz else open
    out = ReadBatch()
    row = 0
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue  # blank lines are not rows
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                where = f"{name} line {lineno}"
                try:
                    value = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    item = _reject(name, row, reasons.MALFORMED, f"{where}: not UTF-8 ({type(exc).__name__} at byte {exc.start})",
                                   raw.decode("utf-8", errors="replace"))
                except json.JSONDecodeError as exc:
                    item = _reject(name, row, reasons.MALFORMED, f"{where}: invalid JSON ({type(exc).__name__}: {exc.msg} at column {exc.colno})",
                                   raw.decode("utf-8", errors="replace"))
                except RecursionError as exc:
                    item = _reject(name, row, reasons.MALFORMED, f"{where}: JSON nested too deeply ({type(exc).__name__})")
                else:
                    if isinstance(value, dict):
                        item = to_document(value, name, row, fields)
                    else:
                        item = _reject(name, row, reasons.MALFORMED, f"{where}: expected a JSON object, got {type(value).__name__}",
                                       raw.decode("utf-8", errors="replace"))
                _route(out, item)
                row += 1
                if out.rows >= batch_rows:
                    yield out
                    out = ReadBatch()
    except (OSError, EOFError) as exc:
        raise InputFileError(f"{path}: cannot read after row {row} ({type(exc).__name__}: {exc})") from exc
    if out.rows:
        yield out


class _borrowed:
    """A file object the caller closes: ``with`` does not close it."""

    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self.fh

    def __exit__(self, *exc):
        return False


def _route(out: ReadBatch, item: dict[str, Any]) -> None:
    (out.rejected if "reason" in item else out.kept).append(item)


def read_all(paths, fields: dict[str, str] | None = None, batch_rows: int = 256) -> ReadBatch:
    """Every file at once (small inputs, tests): one :class:`ReadBatch`."""
    total = ReadBatch()
    for path in paths:
        for batch in iter_batches(path, fields, batch_rows):
            total.kept.extend(batch.kept)
            total.rejected.extend(batch.rejected)
    return total
