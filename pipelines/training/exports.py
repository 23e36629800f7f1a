"""Exports a GPU user feeds unchanged to the anchors' trainers, each with its version and hash.

- ``countdown_verl``: TinyZero / veRL RL rows: ``data_source``, ``prompt`` (chat messages),
  ``ability``, ``reward_model`` = {style: rule, ground_truth: {target, numbers}},
  ``extra_info`` = {split, index}.
- ``bigmath_verl``: the same layout for Big-Math, ``ground_truth`` = the answer string.
- ``priming_sft`` / ``qa_sft``: ``query`` + ``completion`` rows for SFT (TRL's SFTTrainer takes them
  as ``prompt``/``completion``; the cognitive-behaviors code reads ``query``/``completion``).
- ``pretrain_text``: ``doc_id`` + ``text`` for causal-LM continued pretraining.

Every export is one Parquet file written atomically with fixed settings (same inputs, same bytes)
plus a manifest row: name, path, rows, the consumed dataset's version and the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl

from pipelines.core.hashing import file_sha256

COUNTDOWN_SOURCE = "countdown"
BIGMATH_SOURCE = "bigmath"
BIGMATH_INSTRUCTION = "\nPlease reason step by step, and put your final answer within \\boxed{}."
# The project's splits -> veRL's file names (TinyZero writes train.parquet and test.parquet)
VERL_SPLITS = {"train": "train", "val": "train", "test_heldout": "test"}

VERL_SCHEMA_COUNTDOWN = {
    "data_source": pl.Utf8,
    "prompt": pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8})),
    "ability": pl.Utf8,
    "reward_model": pl.Struct({"style": pl.Utf8,
                               "ground_truth": pl.Struct({"target": pl.Int64, "numbers": pl.List(pl.Int64)})}),
    "extra_info": pl.Struct({"split": pl.Utf8, "index": pl.Int64, "problem_id": pl.Utf8}),
}
VERL_SCHEMA_BIGMATH = {
    **VERL_SCHEMA_COUNTDOWN,
    "reward_model": pl.Struct({"style": pl.Utf8, "ground_truth": pl.Utf8}),
    "extra_info": pl.Struct({"split": pl.Utf8, "index": pl.Int64, "problem_id": pl.Utf8, "source": pl.Utf8}),
}


@dataclass(frozen=True)
class ExportRecord:
    name: str
    path: str
    format: str
    rows: int
    dataset: str
    dataset_version: str
    content_sha256: str

    def as_dict(self) -> dict:
        return asdict(self)


def frame_sha256(frame: pl.DataFrame) -> str:
    """A content hash of a frame: SHA-256 of its Parquet bytes under fixed settings (row order counts)."""
    buf = io.BytesIO()
    frame.write_parquet(buf, compression="zstd", compression_level=3, statistics=True)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; the input must be the asset it names "
                         f"(columns present: {frame.columns})")


def countdown_verl(problems: pl.DataFrame, split: str) -> pl.DataFrame:
    """veRL rows for ``split`` ("train": the project's train + val, "test": test_heldout)."""
    _require(problems, ("problem_id", "split", "numbers", "target", "query"), "countdown_problems")
    part = problems.filter(pl.col("split").replace_strict(VERL_SPLITS, default=None) == split).sort("problem_id")
    rows = [{
        "data_source": COUNTDOWN_SOURCE,
        "prompt": [{"role": "user", "content": r["query"]}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": {"target": int(r["target"]), "numbers": list(r["numbers"])}},
        "extra_info": {"split": split, "index": i, "problem_id": r["problem_id"]},
    } for i, r in enumerate(part.iter_rows(named=True))]
    return pl.DataFrame(rows, schema=VERL_SCHEMA_COUNTDOWN)


def bigmath_split(problem_id: str, test_share: float = 0.1) -> str:
    """A stable split by id hash (the kept set has no split of its own)."""
    return "test" if int(hashlib.sha256(problem_id.encode()).hexdigest()[:8], 16) % 1000 < test_share * 1000 else "train"


def bigmath_verl(kept: pl.DataFrame, split: str) -> pl.DataFrame:
    _require(kept, ("problem_id", "problem", "answer", "source"), "bigmath_kept")
    part = kept.filter(pl.col("answer").is_not_null()).sort("problem_id")
    part = part.filter(pl.col("problem_id").map_elements(bigmath_split, return_dtype=pl.Utf8) == split)
    rows = [{
        "data_source": BIGMATH_SOURCE,
        "prompt": [{"role": "user", "content": r["problem"] + BIGMATH_INSTRUCTION}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": r["answer"]},
        "extra_info": {"split": split, "index": i, "problem_id": r["problem_id"], "source": r["source"]},
    } for i, r in enumerate(part.iter_rows(named=True))]
    return pl.DataFrame(rows, schema=VERL_SCHEMA_BIGMATH)


def priming_sft(priming: pl.DataFrame, set_name: str) -> pl.DataFrame:
    _require(priming, ("set_name", "problem_id", "query", "completion"), "countdown_priming_sets")
    part = priming.filter(pl.col("set_name") == set_name)
    if part.is_empty():
        raise ValueError(f"countdown_priming_sets has no set {set_name!r}; sets present: "
                         f"{sorted(priming['set_name'].unique().to_list())}")
    return part.select("problem_id", "set_name", "query", "completion").sort("problem_id")


def qa_sft(qa: pl.DataFrame) -> pl.DataFrame:
    """The OWM QA rewrite (``pipelines.owm.qa``): ``doc_id``, ``query``, ``completion``."""
    _require(qa, ("doc_id", "query", "completion"), "owm qa rewrite")
    return qa.select("doc_id", "query", "completion").sort("doc_id")


def pretrain_text(corpus: pl.DataFrame, text_column: str = "text", id_column: str = "doc_id") -> pl.DataFrame:
    """``doc_id`` + ``text`` of a corpus (the OWM enriched corpus, or search traces' ``search_text``)."""
    _require(corpus, (text_column, id_column), "pretraining corpus")
    return (corpus.select(pl.col(id_column).cast(pl.Utf8).alias("doc_id"), pl.col(text_column).alias("text"))
            .filter(pl.col("text").is_not_null() & (pl.col("text").str.len_chars() > 0))
            .unique("doc_id", keep="first", maintain_order=True).sort("doc_id"))


def _plain_arrow_type(t):
    """large_string -> string, large_list -> list, recursively: the types `datasets.to_parquet` writes
    (what TinyZero's exports hold and veRL's loaders are tested on)."""
    import pyarrow as pa

    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(_plain_arrow_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain_arrow_type(f.type)) for f in t])
    return t


def atomic_write_plain_parquet(frame: pl.DataFrame, path: str | Path) -> Path:
    """Parquet with plain Arrow types, fixed settings (same frame, same bytes), temp file + rename."""
    import os
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = frame.to_arrow()
    table = table.cast(pa.schema([pa.field(f.name, _plain_arrow_type(f.type)) for f in table.schema]))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd", compression_level=3, write_statistics=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_export(frame: pl.DataFrame, path: str | Path, name: str, fmt: str, dataset: str,
                 dataset_version: str) -> ExportRecord:
    path = atomic_write_plain_parquet(frame, path)
    return ExportRecord(name, str(path), fmt, frame.height, dataset, dataset_version, file_sha256(path))


def manifest_frame(records: list[ExportRecord]) -> pl.DataFrame:
    schema = {"name": pl.Utf8, "path": pl.Utf8, "format": pl.Utf8, "rows": pl.Int64, "dataset": pl.Utf8,
              "dataset_version": pl.Utf8, "content_sha256": pl.Utf8}
    return pl.DataFrame([r.as_dict() for r in records], schema=schema).sort("name")


def write_all(out_dir: str | Path, *, problems: pl.DataFrame | None = None, priming: pl.DataFrame | None = None,
              priming_set: str = "all_strategies", bigmath: pl.DataFrame | None = None,
              corpus: pl.DataFrame | None = None, corpus_text_column: str = "text", corpus_id_column: str = "doc_id",
              qa: pl.DataFrame | None = None, versions: dict[str, str] | None = None) -> list[ExportRecord]:
    """Every export whose input is given, under ``out_dir``; ``versions`` maps dataset -> version
    (default: the input frame's content hash)."""
    out, versions = Path(out_dir), dict(versions or {})
    recs: list[ExportRecord] = []

    def version(name: str, frame: pl.DataFrame) -> str:
        return versions.get(name) or f"sha256:{frame_sha256(frame)[:16]}"

    if problems is not None:
        v = version("countdown_problems", problems)
        for split in ("train", "test"):
            recs.append(write_export(countdown_verl(problems, split), out / "verl" / "countdown" / f"{split}.parquet",
                                     f"countdown_verl_{split}", "verl", "countdown_problems", v))
    if bigmath is not None:
        v = version("bigmath_kept", bigmath)
        for split in ("train", "test"):
            recs.append(write_export(bigmath_verl(bigmath, split), out / "verl" / "bigmath" / f"{split}.parquet",
                                     f"bigmath_verl_{split}", "verl", "bigmath_kept", v))
    if priming is not None:
        recs.append(write_export(priming_sft(priming, priming_set), out / "sft" / f"priming_{priming_set}.parquet",
                                 f"priming_{priming_set}", "query_completion", "countdown_priming_sets",
                                 version("countdown_priming_sets", priming)))
    if qa is not None:
        recs.append(write_export(qa_sft(qa), out / "sft" / "owm_qa.parquet", "owm_qa", "query_completion", "owm_qa",
                                 version("owm_qa", qa)))
    if corpus is not None:
        recs.append(write_export(pretrain_text(corpus, corpus_text_column, corpus_id_column),
                                 out / "pretrain" / "corpus.parquet", "pretrain_corpus", "text", "pretrain_corpus",
                                 version("pretrain_corpus", corpus)))
    return recs
