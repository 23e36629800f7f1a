"""Scoring users' own files: one output row per input row, streamed batch by batch.

Used by ``foundry owm score`` and the benchmark. Memory stays at one record batch plus the
scorer whatever the input size; the output is written as it goes (Parquet row groups or JSONL
lines) to a temp file that replaces ``out`` only when every input was read.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.behaviors.detector import BEHAVIORS
from pipelines.owm.reader import file_kind, iter_batches

SCORED = "scored"
MALFORMED = "malformed"
OUT_SCHEMA = pa.schema([("file", pa.string()), ("row", pa.int64()), ("doc_id", pa.string()), ("status", pa.string()),
                        ("reason", pa.string()), ("detail", pa.string()),
                        *[(f"score_{b}", pa.float64()) for b in BEHAVIORS], ("scorer_version", pa.string())])


def count_rows(path: str | Path) -> int | None:
    """Rows in a Parquet file from its footer (cheap; a URI reads only the footer); None for JSONL
    (unknown until read)."""
    from pipelines.core.storage import is_uri, name_of, open_input
    from pipelines.owm.hub import storage_options

    if file_kind(Path(name_of(path))) != "parquet":
        return None
    if is_uri(path):
        with open_input(path, storage_options(str(path))) as fh:
            return pq.ParquetFile(fh).metadata.num_rows
    return pq.ParquetFile(Path(path)).metadata.num_rows


def scored_rows(path: str | Path, scorer, fields: dict[str, str] | None = None, batch_rows: int = 1024):
    """Lists of output rows (dicts in :data:`OUT_SCHEMA` order), one list per record batch."""
    name = str(path)
    for batch in iter_batches(path, fields, batch_rows):
        scores = scorer.score([d["text"] for d in batch.kept])
        rows = []
        for i, d in enumerate(batch.kept):
            rows.append({"file": name, "row": d["row"], "doc_id": d["doc_id"], "status": SCORED, "reason": None, "detail": None,
                         **{f"score_{b}": float(scores[b][i]) for b in BEHAVIORS}, "scorer_version": scorer.version})
        for r in batch.rejected:
            rows.append({"file": name, "row": r["row"], "doc_id": None, "status": MALFORMED, "reason": r["reason"],
                         "detail": r["detail"], **{f"score_{b}": None for b in BEHAVIORS}, "scorer_version": scorer.version})
        rows.sort(key=lambda r: r["row"])
        yield rows


def score_files(paths: Sequence[str], out: str | Path, scorer, fields: dict[str, str] | None = None,
                batch_rows: int = 1024, on_rows: Callable[[int], None] | None = None) -> dict:
    """Score every file into ``out`` (.parquet or .jsonl); returns counts for a summary line."""
    out = Path(out)
    fmt = "parquet" if out.name.lower().endswith(".parquet") else "jsonl" if out.name.lower().endswith((".jsonl", ".ndjson")) else None
    if fmt is None:
        raise ValueError(f"{out}: write .parquet or .jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    counts = {"rows": 0, SCORED: 0, MALFORMED: 0, "reasons": {}}
    try:
        writer = pq.ParquetWriter(tmp, OUT_SCHEMA, compression="zstd") if fmt == "parquet" else None
        fh = open(tmp, "w", encoding="utf-8") if fmt == "jsonl" else None
        try:
            for path in paths:
                for rows in scored_rows(path, scorer, fields, batch_rows):
                    if writer is not None:
                        writer.write_table(pa.Table.from_pylist(rows, schema=OUT_SCHEMA))
                    else:
                        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                    for r in rows:
                        counts[r["status"]] += 1
                        if r["reason"]:
                            counts["reasons"][r["reason"]] = counts["reasons"].get(r["reason"], 0) + 1
                    counts["rows"] += len(rows)
                    if on_rows:
                        on_rows(len(rows))
        finally:
            if writer is not None:
                writer.close()
            if fh is not None:
                fh.close()
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    counts["reasons"] = dict(sorted(counts["reasons"].items()))
    counts["scorer_version"] = scorer.version
    return counts
