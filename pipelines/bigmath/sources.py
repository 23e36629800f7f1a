"""Sources as configuration: where rows come from and how their fields map to the schema.

A source is either files (JSONL/Parquet; local paths or fsspec URIs such as ``s3://bucket/x.jsonl``,
see :mod:`pipelines.core.storage`) or a Hugging Face dataset (id, config, split,
revision). ``fields`` maps schema names (``problem``, ``answer``, ``solution``, ``options``,
``id``) to the source's column names; ``answer_from`` says how the final answer is found:

- ``column``   the answer column as given (numbers are written without a trailing ``.0``);
- ``gsm8k``    the text after ``####`` in the answer column; the text before it is the solution;
- ``boxed``    the last ``\\boxed{}``/``\\fbox{}`` in the solution;
- ``option``   the answer column is an option letter; the answer is that option's text;
- ``auto``     the answer column if present and non-empty, else ``####``, else the last box.

A Hub source must be pinned: ``hf_revision`` set, or filled from the committed lock file
(``sources.lock.json``, written by ``foundry sources lock``; see :mod:`pipelines.bigmath.lock`).
An unpinned Hub source refuses to load, naming that command: a source that moves under us would
change the dataset without any change in this repository. ``where`` keeps only the rows whose
columns equal the given values (one subset of a mixed dataset, e.g. NuminaMath-CoT's ``source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Literal

from pipelines.core import storage
from pipelines.core.io import InputFileError, RawRecord

AnswerFrom = Literal["column", "gsm8k", "boxed", "option", "auto"]
SCHEMA_FIELDS = ("problem", "answer", "solution", "options", "id")


@dataclass(frozen=True)
class SourceSpec:
    name: str
    fields: dict[str, str]
    answer_from: AnswerFrom = "auto"
    files: tuple[str, ...] = ()
    hf_id: str | None = None
    hf_config: str | None = None
    hf_split: str = "train"
    hf_revision: str | None = None
    license: str = "unknown"
    origin: str = ""
    limit: int | None = None  # read at most this many rows (profiles that sample)
    # Every row of this source is known to be a proof problem (e.g. HARP's proof-based split):
    # they are rejected as ``proof`` even where the wording does not say "prove".
    proof_source: bool = False
    # Keep only rows whose column equals the value, e.g. (("source", "cn_k12"),) for one subset of
    # NuminaMath-CoT; source_id stays the row's index in the whole split, so it can be found again.
    where: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if bool(self.files) == bool(self.hf_id):
            raise ValueError(f"source {self.name!r}: give exactly one of files=[...] or hf_id=...")
        if "problem" not in self.fields:
            raise ValueError(f"source {self.name!r}: fields must map 'problem' to a column")
        unknown = set(self.fields) - set(SCHEMA_FIELDS)
        if unknown:
            raise ValueError(f"source {self.name!r}: unknown schema fields {sorted(unknown)}; known: {SCHEMA_FIELDS}")

    @property
    def kind(self) -> str:
        return "hf" if self.hf_id else "local"

    def resolved_files(self, base: Path | str | None = None) -> list[Path | str]:
        """Local files relative to ``base``; a URI (``s3://...``) stays as given, and a relative file
        under a URI ``base`` becomes a URI below it."""
        out: list[Path | str] = []
        for f in self.files:
            if storage.is_uri(f):
                out.append(str(f))
                continue
            p = Path(f)
            if not p.is_absolute() and base is not None:
                out.append(storage.join(base, str(p)) if storage.is_uri(base) else Path(base) / p)
                continue
            out.append(p)
        return out


@dataclass(frozen=True)
class SourceRows:
    """The raw records of one source, with the revision that identifies their content."""

    spec: SourceSpec
    records: list[RawRecord]
    revision: str
    files: list[str] = field(default_factory=list)


def load_source(spec: SourceSpec, base: Path | None = None) -> SourceRows:
    """Read every raw record of ``spec``. Bad rows come back as records with ``error`` set."""
    if spec.kind == "local":
        records: list[RawRecord] = []
        digests = []
        paths = spec.resolved_files(base)
        for path in paths:
            # a URI is read from a temporary local copy (same name, so row reasons read the same)
            recs, digest = storage.read_records_and_digest(path)
            if len(paths) > 1:  # keep source_id unique across files
                recs = [RawRecord(f"{storage.name_of(path)}:{r.source_id}", r.record, r.error, r.raw) for r in recs]
            records.extend(recs)
            digests.append(digest[:12])
        revision = "sha256:" + "+".join(digests)
        if spec.where:
            records = [r for r in records if r.record is not None and _matches(r.record, spec.where)]
        if spec.limit is not None:
            records = records[: spec.limit]
        return SourceRows(spec, records, revision, [str(p) for p in paths])
    return _load_hf(spec)


class UnpinnedSourceError(InputFileError):
    """A Hub source without a revision: loading it would read whatever the Hub holds today."""


def require_revision(spec: SourceSpec) -> str:
    if spec.hf_revision:
        return spec.hf_revision
    raise UnpinnedSourceError(
        f"source {spec.name!r}: Hugging Face dataset {spec.hf_id!r} has no locked revision. Run "
        "`foundry sources lock` (needs network) and commit sources.lock.json, or set hf_revision= on the "
        "source in pipelines/bigmath/recipe.py. An unpinned source would change the data without a change here.")


def _matches(row: dict, where: tuple[tuple[str, str], ...]) -> bool:
    return all(row.get(col) == value for col, value in where)


def _load_hf(spec: SourceSpec) -> SourceRows:
    import datasets

    revision = require_revision(spec)  # before any download: refuse early, with the fix
    try:
        ds = datasets.load_dataset(spec.hf_id, spec.hf_config, split=spec.hf_split, revision=revision)
    except Exception as exc:  # datasets raises many types; name the source and what to check
        raise InputFileError(
            f"source {spec.name!r}: cannot load Hugging Face dataset {spec.hf_id!r} "
            f"(config={spec.hf_config!r}, split={spec.hf_split!r}, revision={spec.hf_revision!r}): {exc}. "
            "Check the id and network access, or point the source at local files."
        ) from exc
    if spec.where:
        columns = [c for c, _ in spec.where]
        values = zip(*(ds[c] for c in columns))  # column reads: no per-row dict for rows we drop
        wanted = [v for _, v in spec.where]
        index = [i for i, row in enumerate(values) if list(row) == wanted]
    else:
        index = list(range(len(ds)))
    if spec.limit is not None:
        index = index[: spec.limit]
    ds = ds.select(index)
    records = [RawRecord(str(i), row, None) for i, row in zip(index, _iter_rows(ds))]
    return SourceRows(spec, records, revision)


def _iter_rows(ds) -> Iterator[dict]:
    for batch in ds.iter(batch_size=1000):
        keys = list(batch)
        n = len(batch[keys[0]]) if keys else 0
        for i in range(n):
            yield {k: batch[k][i] for k in keys}


@dataclass(frozen=True)
class HubEvalSet:
    """An evaluation set read from a (pinned) source instead of files: the funnel reads ``texts()``.

    It has the attributes of :class:`pipelines.bigmath.funnel.EvalSetSpec` (``name``, ``files``,
    ``field``, ``limit``) so the funnel treats both alike; ``source.fields["problem"]`` names the
    column holding the problem text.
    """

    name: str
    source: SourceSpec
    limit: int | None = None
    files: tuple[str, ...] = ()

    @property
    def field(self) -> str:
        return self.source.fields["problem"]

    def texts(self, base: Path | None = None) -> list[str]:
        rows = load_source(self.source, base).records
        out = [r.record[self.field] for r in rows if r.record is not None and isinstance(r.record.get(self.field), str)]
        return out[: self.limit] if self.limit is not None else out


# ------------------------------------------------------------------ streaming (issue 11)
# The whole-file path above holds every raw record of a source; the streaming path
# (``foundry bigmath filter --stream``) reads the same records in batches: one batch of a file in
# memory at a time. The rows are those of :func:`pipelines.core.io.read_records` (same source_id,
# same malformed-line reasons naming file and line), so normalizing batch after batch gives the
# rows of :func:`load_source` (``tests/pipelines/bigmath/test_filter_stream.py``).


def iter_raw_records(path: Path, batch_rows: int) -> Iterator[list[RawRecord]]:
    """The raw records of one local JSONL/Parquet file, in batches of at most ``batch_rows``:
    :func:`pipelines.core.io.read_records` without holding the file (JSONL line by line, Parquet by
    ``iter_batches``). A file that cannot be read as a whole raises :class:`InputFileError`."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, got {batch_rows}")
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith(".parquet"):
        records = _iter_parquet_records(path, batch_rows)
    elif suffix.endswith((".jsonl", ".json", ".ndjson", ".jsonl.gz")) or suffix.endswith(".json.gz"):
        records = _iter_jsonl_records(path)
    else:
        raise InputFileError(f"{path}: unsupported file type; give .jsonl, .json (one object a line) or .parquet")
    batch: list[RawRecord] = []
    for rec in records:
        batch.append(rec)
        if len(batch) == batch_rows:
            yield batch
            batch = []
    if batch:
        yield batch


def _iter_jsonl_records(path: Path) -> Iterator[RawRecord]:
    # the loop of pipelines/core/io.py _read_jsonl_records, yielding: its row rules (BOM, long
    # lines, blank lines, per-line reasons) come from the same helpers, so the two cannot drift apart
    import gzip
    import zlib

    from pipelines.core.io import _BOM, MAX_LINE_BYTES, _jsonl_record, _lines

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            for lineno, (raw, whole) in enumerate(_lines(fh, MAX_LINE_BYTES), start=1):
                if lineno == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM):]
                if not whole:
                    yield RawRecord(str(lineno), None, f"{path.name} line {lineno}: line longer than "
                                                       f"{MAX_LINE_BYTES:,} bytes", None)
                    continue
                if not raw.strip():
                    continue
                try:
                    rec = _jsonl_record(path, lineno, raw)
                except Exception as exc:  # noqa: BLE001 - one row must never end the file
                    rec = RawRecord(str(lineno), None, f"{path.name} line {lineno}: {type(exc).__name__}: "
                                                        f"{str(exc)[:200]}", None)
                yield rec
    except (OSError, EOFError, zlib.error) as exc:
        raise InputFileError(f"{path}: cannot read ({exc})") from exc


def _iter_parquet_records(path: Path, batch_rows: int) -> Iterator[RawRecord]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
        batches = reader.iter_batches(batch_size=batch_rows)
        start = 0
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            yield from _batch_records(path, batch, start)
            start += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path}: not a readable Parquet file ({exc})") from exc


def _batch_records(path: Path, batch, start: int) -> list[RawRecord]:
    # pipelines/core/io.py _read_parquet_records on one record batch: a row that does not convert
    # (e.g. a timestamp past year 9999) is one malformed record naming its columns
    try:
        return [RawRecord(str(start + i), row, None) for i, row in enumerate(batch.to_pylist())]
    except Exception:  # noqa: BLE001 - find the row
        pass
    out = []
    for i in range(batch.num_rows):
        try:
            out.append(RawRecord(str(start + i), batch.slice(i, 1).to_pylist()[0], None))
        except Exception as exc:  # noqa: BLE001
            bad = []
            for name in batch.schema.names:
                try:
                    batch.column(name).slice(i, 1).to_pylist()
                except Exception:  # noqa: BLE001
                    bad.append(name)
            out.append(RawRecord(str(start + i), None, f"{path.name} row {start + i}: column(s) {', '.join(bad) or '?'} "
                                                       f"do not convert ({type(exc).__name__}: {str(exc)[:200]})", None))
    return out


def iter_source_batches(spec: SourceSpec, batch_rows: int, base: Path | None = None) -> Iterator[SourceRows]:
    """The records of a file source as :class:`SourceRows` of at most ``batch_rows`` records each
    (the first one empty: it carries the revision before any row is read),
    every one carrying the source's whole revision (the files' sha256, hashed in a first pass over
    each file, in blocks): :func:`pipelines.bigmath.normalize.normalize_source` on each gives the
    rows of :func:`load_source` in the same order. A URI is read from a temporary local copy (on
    disk, not in memory), as the whole-file path does. ``where`` and ``limit`` apply as there."""
    from contextlib import ExitStack

    from pipelines.core.hashing import file_sha256

    if spec.kind != "local":
        raise ValueError(f"source {spec.name!r}: streaming reads files; a Hugging Face source loads whole (load_source)")
    paths = spec.resolved_files(base)
    with ExitStack() as stack:
        local: list[Path] = []
        for p in paths:
            if storage.is_uri(p) and not storage.exists(p):
                raise InputFileError(f"{p}: no such object; check the URI and FOUNDRY_S3_ENDPOINT_URL / credentials")
            local.append(stack.enter_context(storage.local_copy(p)))
        for p, copy in zip(paths, local):
            if not copy.exists():
                raise InputFileError(f"{p}: no such file")
        revision = "sha256:" + "+".join(file_sha256(copy)[:12] for copy in local)
        files = [str(p) for p in paths]
        left = spec.limit
        yield SourceRows(spec, [], revision, files)  # first: the revision, even for a source with no row
        for p, copy in zip(paths, local):
            try:
                for batch in iter_raw_records(copy, batch_rows):
                    if len(paths) > 1:  # keep source_id unique across files (as load_source)
                        batch = [RawRecord(f"{storage.name_of(p)}:{r.source_id}", r.record, r.error, r.raw) for r in batch]
                    if spec.where:
                        batch = [r for r in batch if r.record is not None and _matches(r.record, spec.where)]
                    if left is not None:
                        batch, left = batch[:left], left - min(left, len(batch))
                    if batch:
                        yield SourceRows(spec, batch, revision, files)
                    if left == 0:
                        return
            except InputFileError as exc:
                raise InputFileError(str(exc).replace(str(copy), str(p))) from exc
