"""Storage by URI: the same code writes a local disk or an object store.

A location is a local path (the default) or an fsspec URI (``s3://bucket/prefix``, ``gs://``,
``memory://``...). Local paths keep the atomic temp-file + rename of :mod:`pipelines.core.io`;
object stores get one PUT per file (an object appears whole or not at all). Parquet is written
with the same fixed settings everywhere, so the bytes are the same on every store.

Credentials and endpoints are never in code: fsspec and botocore read the usual variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``); an S3-compatible
server (MinIO, Ceph, moto) is named by ``FOUNDRY_S3_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import polars as pl
import pyarrow.parquet as pq

from pipelines.core.io import atomic_write_parquet

PARQUET = dict(compression="zstd", compression_level=3, statistics=True)  # the one setting, for byte-identical files


def is_uri(location: str | Path) -> bool:
    """True for ``scheme://...`` other than ``file://``."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def local_path(location: str | Path) -> Path:
    text = str(location)
    return Path(text[len("file://"):] if text.startswith("file://") else text)


def storage_options_from_env(location: str | Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """fsspec options for ``location`` from the environment (only the S3 endpoint; keys stay with botocore)."""
    env = os.environ if env is None else env
    if str(location).startswith(("s3://", "s3a://")):
        endpoint = env.get("FOUNDRY_S3_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")
        if endpoint:
            return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


def filesystem(location: str | Path, storage_options: Mapping[str, Any] | None = None):
    """``(fsspec filesystem, path inside it)`` for a URI or local path."""
    import fsspec

    options = dict(storage_options_from_env(location)) if storage_options is None else dict(storage_options)
    return fsspec.core.url_to_fs(str(location), **options)


def join(base: str | Path, *parts: str) -> str:
    """``base/part/...`` for a URI or a local path (no normalization of the scheme)."""
    if is_uri(base):
        return "/".join([str(base).rstrip("/"), *[p.strip("/") for p in parts]])
    return str(Path(local_path(base), *parts))


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf, **PARQUET)
    return buf.getvalue()


def write_parquet(frame: pl.DataFrame, location: str | Path, storage_options: Mapping[str, Any] | None = None) -> str:
    """Write ``frame`` to ``location``: atomically on a local disk, as one object on a store."""
    if not is_uri(location):
        return str(atomic_write_parquet(frame, local_path(location)))
    fs, path = filesystem(location, storage_options)
    fs.pipe(path, parquet_bytes(frame))
    return str(location)


def read_parquet(location: str | Path, storage_options: Mapping[str, Any] | None = None,
                 hive: bool = False) -> pl.DataFrame:
    """One Parquet file, or (``hive=True``) a ``<col>=<value>/part-*.parquet`` directory."""
    if hive:
        files = list_files(location, "*=*/part-*.parquet", storage_options)
        if not files:
            return pl.DataFrame()
        if not is_uri(location):
            return pl.read_parquet(files, hive_partitioning=True)
        fs, _ = filesystem(location, storage_options)
        frames = []
        for f in files:  # read each object, add its partition column back from the key
            col, value = f.rstrip("/").split("/")[-2].split("=", 1)
            with fs.open(_strip(f), "rb") as fh:
                frames.append(pl.read_parquet(fh).with_columns(pl.lit(value).alias(col)))
        return pl.concat(frames, how="vertical_relaxed")
    if not is_uri(location):
        return pl.read_parquet(local_path(location))
    fs, path = filesystem(location, storage_options)
    with fs.open(path, "rb") as fh:
        return pl.read_parquet(fh)


def write_partitioned_parquet(frame: pl.DataFrame, location: str | Path, by: str,
                              storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Hive-style ``<location>/<by>=<value>/part-0.parquet``; stale partitions are removed."""
    if not is_uri(location):
        from pipelines.core.io import write_partitioned_parquet as local_write

        return [str(p) for p in local_write(frame, local_path(location), by)]
    fs, base = filesystem(location, storage_options)
    values = sorted(v for v in frame.get_column(by).unique().to_list() if v is not None) if frame.height else []
    written = []
    for value in values:
        target = f"{base.rstrip('/')}/{by}={value}/part-0.parquet"
        fs.pipe(target, parquet_bytes(frame.filter(pl.col(by) == value).drop(by)))
        written.append(target)
    keep = {f"{by}={v}" for v in values}
    for child in (fs.ls(base, detail=False) if fs.exists(base) else []):
        name = child.rstrip("/").rsplit("/", 1)[-1]
        if name.startswith(f"{by}=") and name not in keep:
            fs.rm(child, recursive=True)
    return [_protocol(location) + w for w in written]


def list_files(location: str | Path, pattern: str, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Files under ``location`` matching the glob ``pattern``, sorted, as URIs (or local paths)."""
    if not is_uri(location):
        base = local_path(location)
        return [str(p) for p in sorted(base.glob(pattern))] if base.is_dir() else []
    fs, base = filesystem(location, storage_options)
    return sorted(_protocol(location) + p for p in fs.glob(f"{base.rstrip('/')}/{pattern}"))


def is_dir(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> bool:
    if not is_uri(location):
        return local_path(location).is_dir()
    fs, path = filesystem(location, storage_options)
    return fs.isdir(path)


def iter_parquet_batches(location: str | Path, batch_rows: int = 65536, columns: list[str] | None = None,
                         storage_options: Mapping[str, Any] | None = None) -> Iterator[pl.DataFrame]:
    """Record batches of a Parquet file as Polars frames; at most one batch of it in memory."""
    if not is_uri(location):
        fh = open(local_path(location), "rb")
    else:
        fs, path = filesystem(location, storage_options)
        fh = fs.open(path, "rb")
    with fh:
        for batch in pq.ParquetFile(fh).iter_batches(batch_size=batch_rows, columns=columns):
            yield pl.from_arrow(batch)


def register_duckdb_filesystem(con, location: str | Path, storage_options: Mapping[str, Any] | None = None) -> None:
    """Let DuckDB read ``location``'s store through fsspec (DuckDB's httpfs extension is not
    installable offline; a filesystem registered here serves ``read_parquet('s3://...')``)."""
    if not is_uri(location):
        return
    fs, _ = filesystem(location, storage_options)
    name = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    if name not in {f for f in con.list_filesystems()}:
        con.register_filesystem(fs)


def _protocol(location: str | Path) -> str:
    return str(location).split("://", 1)[0] + "://"


def _strip(uri: str) -> str:
    return uri.split("://", 1)[1] if "://" in uri else uri


# --- inputs and command outputs by URI ------------------------------------------------------
# The families' readers take a local path or a URI for their inputs. A reader that can work on a
# file object opens the object through fsspec (Parquet, JSONL, HDF5 through h5py, TFRecord); one
# whose library needs a path on disk (Minari's) reads a temporary local copy, removed afterwards.


def exists(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> bool:
    if not is_uri(location):
        return local_path(location).exists()
    fs, path = filesystem(location, storage_options)
    return fs.exists(path)


def open_input(location: str | Path, storage_options: Mapping[str, Any] | None = None):
    """A binary file object for reading ``location`` (local file or object); the caller closes it."""
    if not is_uri(location):
        return open(local_path(location), "rb")
    fs, path = filesystem(location, storage_options)
    return fs.open(path, "rb")


def read_bytes(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> bytes:
    with open_input(location, storage_options) as fh:
        return fh.read()


def name_of(location: str | Path) -> str:
    """The last component of a path or URI (``s3://b/x/y.parquet`` -> ``y.parquet``)."""
    return str(location).rstrip("/").rsplit("/", 1)[-1] if is_uri(location) else local_path(location).name


@contextmanager
def local_copy(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> Iterator[Path]:
    """``location`` as a local path: the path itself, or for a URI a temporary copy of the object (or of
    every object under the prefix) with the same last name, removed when the block ends."""
    if not is_uri(location):
        yield local_path(location)
        return
    fs, path = filesystem(location, storage_options)
    with tempfile.TemporaryDirectory(prefix="foundry-input-") as tmp:
        target = Path(tmp) / name_of(location)
        if fs.isdir(path):
            base = path.rstrip("/")
            for obj in sorted(fs.find(base)):  # every object under the prefix, its relative key kept
                dest = target / obj[len(base):].lstrip("/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(obj, str(dest))
        elif fs.exists(path):
            fs.get_file(path, str(target))
        yield target


def upload_tree(local: str | Path, location: str | Path, storage_options: Mapping[str, Any] | None = None) -> list[str]:
    """Every file under ``local`` (or the file itself) to ``location``, one PUT per file, in sorted
    order; returns the URIs written. Each object appears whole; the set does not appear at once."""
    local = Path(local)
    fs, base = filesystem(location, storage_options)
    files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
    written = []
    for f in files:
        key = base.rstrip("/") + ("/" + f.relative_to(local).as_posix() if local.is_dir() else "")
        fs.pipe(key, f.read_bytes())
        written.append(_protocol(location) + key)
    return written


@contextmanager
def output_location(out: str | Path, *, kind: str = "dir", inputs=()) -> Iterator[Path]:
    """A command's ``--out``: a local path gets :func:`pipelines.core.outputs.staged_output` (the set
    swapped in whole); a URI gets a local staging directory (or file) whose files are uploaded with
    one PUT each when the block ends without error, replacing objects of the same name (older objects
    under the prefix that the new set lacks are left alone: an object store has no rename to swap a
    set in). Yields the local path the command writes."""
    if not is_uri(out):
        from pipelines.core.outputs import staged_output

        with staged_output(out, kind=kind, inputs=inputs) as stage:
            yield stage
        return
    filesystem(out)  # a bad scheme or a missing fsspec driver fails here, before any work
    with tempfile.TemporaryDirectory(prefix="foundry-out-") as tmp:
        stage = Path(tmp) / name_of(out)
        if kind == "dir":
            stage.mkdir()
        yield stage
        if stage.exists():
            upload_tree(stage, out)


def read_records(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> list:
    """:func:`pipelines.core.io.read_records` for a local path or a URI (read from a temporary local
    copy with the same name: row reasons name the file as for a local read; a whole-file error names
    the URI)."""
    return read_records_and_digest(location, storage_options)[0]


def read_records_and_digest(location: str | Path, storage_options: Mapping[str, Any] | None = None) -> tuple[list, str]:
    """The raw records of a JSONL/Parquet file and the sha256 of its bytes, from one read of it."""
    from pipelines.core.hashing import file_sha256
    from pipelines.core.io import InputFileError, read_records as read_local

    if not is_uri(location):
        return read_local(location), file_sha256(local_path(location))
    if not exists(location, storage_options):
        raise InputFileError(f"{location}: no such object; check the URI and FOUNDRY_S3_ENDPOINT_URL / credentials")
    with local_copy(location, storage_options) as copy:
        try:
            return read_local(copy), file_sha256(copy)
        except InputFileError as exc:
            raise InputFileError(str(exc).replace(str(copy), str(location))) from exc
