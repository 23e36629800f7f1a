"""The Big-Math funnel over shards on an engine, with the cross-shard steps on signatures.

The funnel's steps are of two kinds:

- per-row steps (decontaminate, the text signals, language, missing_answer, verify_answer): a
  row's verdict depends only on the row (and the evaluation index, shipped to every worker). They
  run as one batch function per shard on the engine; a shard sends back, per row, the first step
  that rejected it (reason, step, detail) and, for rows that survived, the two signatures the
  cross-shard steps need: the exact-dedup hash and the MinHash signature of the problem.
- cross-shard steps (exact_dedup, near_dedup): run once, in input order, over the signatures
  only: 8 bytes + ``num_perm`` hash values per row, never the text.

The result (kept, rejected, funnel table) equals :func:`pipelines.bigmath.funnel.filter_rows` on
the same rows, on any engine and any shard size (``tests/pipelines/engine/test_bigmath_sharded.py``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from functools import partial
from typing import Iterable, Sequence

import numpy as np
import polars as pl

from pipelines.bigmath import reasons as R
from pipelines.bigmath.dedup import ContaminationIndex, NearDedupConfig, dedup_keys, near_duplicates_of_signatures, text_signatures
from pipelines.bigmath.funnel import (
    FunnelConfig,
    FunnelResult,
    build_steps,
    finish_funnel,
    read_all,
    start_funnel,
)
from pipelines.bigmath.schema import SCHEMA
from pipelines.bigmath.sources import SourceRows
from pipelines.core.steps import Funnel, StepResult, concat_rejected, measure_step, run_steps
from pipelines.engine import Engine, split_rows

CROSS_SHARD_STEPS = ("exact_dedup", "near_dedup")
OUTCOME_SCHEMA = {
    "reason": pl.Utf8, "step": pl.Utf8, "detail": pl.Utf8,
    "dedup_key": pl.UInt64,              # exact-dedup hash of the problem (survivors only)
    # MinHash signature of the problem's shingles (survivors only); datasketch's default scheme
    # (affine32) keeps its values in uint32: 4 bytes per value, not 8, for every row kept (issue 11)
    "minhash": pl.List(pl.UInt32),
}
DEFAULT_SHARD_ROWS = 2000


def per_row_steps(config: FunnelConfig, index: ContaminationIndex | None):
    return [s for s in build_steps(config, index) if s.name not in CROSS_SHARD_STEPS]


def row_outcomes(frame: pl.DataFrame, config: FunnelConfig, index: ContaminationIndex | None,
                 steps=None) -> pl.DataFrame:
    """The batch function: one outcome row per input row (see :data:`OUTCOME_SCHEMA`). ``steps``:
    :func:`per_row_steps` built once by a caller that runs many batches (the language model is
    loaded when the steps are built)."""
    pos = "__pos"
    kept, rejected, _ = run_steps(frame.with_columns(pl.int_range(frame.height, dtype=pl.Int64).alias(pos)),
                                  steps if steps is not None else per_row_steps(config, index))
    texts = kept.get_column("problem").to_list()
    nd = config.near_dedup
    sigs = text_signatures(texts, nd) if texts else np.empty((0, nd.num_perm), dtype=np.uint32)
    if sigs.dtype.itemsize > 4 and len(sigs) and int(sigs.max()) > 0xFFFFFFFF:  # datasketch's "affine64" scheme
        raise ValueError("MinHash values exceed uint32 (datasketch scheme affine64?); OUTCOME_SCHEMA stores uint32: "
                         "use datasketch's default scheme (affine32) for the sharded funnel")
    minhash = pl.Series(sigs.astype(np.uint32, copy=False).ravel()).reshape((len(texts), nd.num_perm))
    minhash = minhash.cast(pl.List(pl.UInt32))
    survivors = pl.DataFrame({
        pos: kept.get_column(pos),
        "dedup_key": pl.Series(dedup_keys(texts), dtype=pl.UInt64),
        "minhash": minhash,
    })
    out = (pl.DataFrame({pos: pl.int_range(frame.height, dtype=pl.Int64, eager=True)})
           .join(rejected.select(pos, "reason", "step", "detail"), on=pos, how="left")
           .join(survivors, on=pos, how="left")
           .sort(pos))
    return out.select([pl.col(c).cast(t) for c, t in OUTCOME_SCHEMA.items()])


def exact_duplicates_from_keys(keys: Iterable[int]) -> list[bool]:
    """True where a key was seen earlier (input order): :func:`pipelines.bigmath.dedup.exact_duplicates` on hashes."""
    seen: set[int] = set()
    flags = []
    for k in keys:
        flags.append(k in seen)
        seen.add(k)
    return flags


def near_duplicates_from_signatures(signatures: np.ndarray | Sequence[Sequence[int]],
                                    config: NearDedupConfig = NearDedupConfig()) -> list[int | None]:
    """For each signature, the position of the earlier kept one it nearly duplicates, or None.

    The same decisions as :func:`pipelines.bigmath.dedup.near_duplicates` on the texts (datasketch's
    LSH bands, candidates in position order, the share of equal hash values as the Jaccard
    estimate), from signatures computed anywhere.
    """
    sigs = np.asarray(signatures)
    return [None if m is None else int(m) for m in near_duplicates_of_signatures(sigs, config)]


class NearDedupIndex:
    """:func:`near_duplicates_from_signatures`, one signature at a time: the same LSH bands,
    candidates in position order and Jaccard estimate, so feeding rows batch after batch in input
    order gives the same matches as one call over all of them. It holds, per KEPT row only, its
    signature (``num_perm`` values in the dtype given: 8 bytes each as uint64, 4 as uint32) and its
    band keys; nothing of the text."""

    def __init__(self, config: NearDedupConfig = NearDedupConfig()):
        from datasketch import MinHashLSH

        self.config = config
        self.ranges = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm).hashranges
        self.tables: list[dict[bytes, list[int]]] = [{} for _ in self.ranges]
        self._blocks: list[np.ndarray] = []  # signatures of kept rows, in blocks of the batches
        self._ends: list[int] = []           # kept-row count at the end of each block
        self.kept = 0

    def _signature(self, k: int) -> np.ndarray:
        b = int(np.searchsorted(self._ends, k, side="right"))
        return self._blocks[b][k - (self._ends[b - 1] if b else 0)]

    def add(self, signatures: np.ndarray) -> list[int | None]:
        """Match each row (in order) against the kept rows before it; returns, per row, the number
        of the kept row it nearly duplicates (0-based, in kept order), or None (it is kept)."""
        out: list[int | None] = []
        new: list[np.ndarray] = []
        base = self.kept  # kept rows before this batch; those of this batch are in ``new``
        for sig in signatures:
            keys = [sig[a:b].tobytes() for a, b in self.ranges]
            cands: set[int] = set()
            for key, table in zip(keys, self.tables):
                cands.update(table.get(key, ()))
            match = None
            for c in sorted(cands):
                other = self._signature(c) if c < base else new[c - base]
                if float(np.count_nonzero(sig == other)) / float(self.config.num_perm) >= self.config.threshold:
                    match = c
                    break
            out.append(match)
            if match is None:
                for key, table in zip(keys, self.tables):
                    table.setdefault(key, []).append(self.kept)
                new.append(sig)
                self.kept += 1
        if new:
            self._blocks.append(np.vstack(new))
            self._ends.append(self.kept)
        return out


class StreamingFunnel:
    """The Big-Math funnel's filter steps over record batches, with memory that does not grow with
    the text: each batch goes through the per-row steps (built once: one language model), then
    through exact and near dedup against every earlier batch's survivors, in input order, and is
    finished there: the caller writes or drops its kept and rejected rows. Held across batches:
    per kept row, the exact-dedup key, its MinHash signature and LSH band keys
    (:class:`NearDedupIndex`), plus its id and source for the near-copy detail; one verification
    pool (:class:`pipelines.bigmath.verify.VerifyPool`) serves every batch.

    Kept and rejected rows equal :func:`pipelines.bigmath.funnel.filter_rows` on the concatenated
    batches (``tests/pipelines/bigmath/test_streaming.py``)."""

    def __init__(self, config: FunnelConfig, index: ContaminationIndex | None = None):
        from pipelines.bigmath.verify import VerifyPool

        self.config = config
        self.index = index if index is not None and len(index) else None
        self.steps = per_row_steps(config, self.index)
        self.pool = VerifyPool(workers=config.verify.workers, item_timeout_s=config.verify.item_timeout_s)
        self.seen: set[int] = set()
        self.near = NearDedupIndex(config.near_dedup)
        self.kept_ids: list[str] = []      # problem_id (source) of each kept row: the near-copy detail
        self.rows_in = 0
        self.rows_kept = 0
        self.rejected_by: dict[tuple[str, str], int] = {}

    def __enter__(self) -> "StreamingFunnel":
        self.pool.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.pool.__exit__(*exc)

    def add(self, batch: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """One batch in input order: (kept rows, rejected rows with reason, step, detail)."""
        self.rows_in += batch.height
        kept, rejected, _ = run_steps(batch, self.steps)
        texts = kept.get_column("problem").to_list()
        keys = dedup_keys(texts)
        exact = []
        for k in keys:
            exact.append(k in self.seen)
            self.seen.add(k)
        alive = [i for i, d in enumerate(exact) if not d]
        nd = self.config.near_dedup
        sigs = text_signatures([texts[i] for i in alive], nd) if alive else []
        matches = self.near.add(sigs) if alive else []
        pid, src = kept.get_column("problem_id").to_list(), kept.get_column("source").to_list()
        reason: list[str | None] = [R.DUPLICATE if d else None for d in exact]
        step: list[str | None] = ["exact_dedup" if d else None for d in exact]
        detail: list[str | None] = [None] * len(exact)
        for i, m in zip(alive, matches):
            if m is None:
                self.kept_ids.append(f"{pid[i]} ({src[i]})")
            else:
                reason[i], step[i], detail[i] = R.NEAR_DUPLICATE, "near_dedup", f"near copy of {self.kept_ids[m]}"
        labels = pl.DataFrame({"reason": reason, "step": step, "detail": detail},
                              schema={"reason": pl.Utf8, "step": pl.Utf8, "detail": pl.Utf8})
        labelled = kept.hstack(labels)
        dups = labelled.filter(pl.col("step").is_not_null())
        kept = labelled.filter(pl.col("step").is_null()).select(list(SCHEMA))
        rejected = concat_rejected([rejected, dups], batch.schema)
        for (r, s), n in Counter(zip(rejected.get_column("reason").to_list(),
                                     rejected.get_column("step").to_list())).items():
            self.rejected_by[(s, r)] = self.rejected_by.get((s, r), 0) + n
        self.rows_kept += kept.height
        return kept, rejected

    def held_bytes(self) -> int:
        """Bytes of the per-row state held across batches (signatures; the band keys, key set and
        ids are Python objects on top: see ``benchmarks/scale.py`` for the measured total)."""
        return sum(b.nbytes for b in self.near._blocks)


def shard_rows(rows: pl.DataFrame, rows_per_shard: int = DEFAULT_SHARD_ROWS) -> list[pl.DataFrame]:
    """Shards: each run of one source on its own (input order kept), cut into slices of ``rows_per_shard``."""
    if not rows.height:
        return [rows]
    runs = rows.select((pl.col("source") != pl.col("source").shift()).fill_null(True).cum_sum().alias("r")).to_series()
    out = []
    for part in rows.with_columns(runs.alias("__run")).partition_by("__run", maintain_order=True):
        out += split_rows(part.drop("__run"), rows_per_shard)  # contiguous runs: the rows' order is kept
    return out


def filter_rows_on_engine(rows: pl.DataFrame, quarantined: pl.DataFrame, config: FunnelConfig, engine: Engine,
                          loaded: Sequence[SourceRows] = (), rows_per_shard: int = DEFAULT_SHARD_ROWS) -> FunnelResult:
    """:func:`pipelines.bigmath.funnel.filter_rows`, with the per-row steps on ``engine`` over shards."""
    funnel, rows_in, index = start_funnel(rows, quarantined, config)
    if engine.kind != "local" or engine.num_workers > 1:
        # the engine is the parallelism: one verification worker per task, not a pool per task
        config = dataclasses.replace(config, verify=dataclasses.replace(config.verify, workers=1))
    shards = shard_rows(rows, rows_per_shard)
    with measure_step(funnel, f"per_row_steps[{engine.kind}]"):
        outcomes = engine.map_batches(partial(row_outcomes, config=config, index=index if len(index) else None), shards)
    outcome = pl.concat(outcomes, how="vertical") if outcomes else pl.DataFrame(schema=OUTCOME_SCHEMA)
    # shards keep the sources' order, so concatenated shards are ``rows`` in the funnel's order
    rows = pl.concat(shards, how="vertical")
    with measure_step(funnel, "cross_shard_dedup"):
        outcome = cross_shard_dedup(outcome, rows.select("problem_id", "source"), config.near_dedup)
    step_names = [s.name for s in build_steps(config, index)]
    labelled = rows.hstack(outcome.select("reason", "step", "detail"))
    remaining = rows.height
    parts = []
    for name in step_names:
        mine = labelled.filter(pl.col("step") == name)
        _record(funnel, name, remaining, mine)
        remaining -= mine.height
        if mine.height:
            parts.append(mine)
    kept = labelled.filter(pl.col("step").is_null()).select(list(SCHEMA))
    rejected = concat_rejected(parts, rows.schema)
    return finish_funnel(kept, rejected, quarantined, rows, funnel, rows_in, index, loaded)


def cross_shard_dedup(outcome: pl.DataFrame, ids: pl.DataFrame, config: NearDedupConfig) -> pl.DataFrame:
    """Add exact_dedup and near_dedup verdicts to the survivors of the per-row steps, from signatures."""
    reason, step, detail = (outcome.get_column(c).to_list() for c in ("reason", "step", "detail"))
    alive = [i for i, s in enumerate(step) if s is None]
    keys = outcome.get_column("dedup_key").to_list()
    dup = exact_duplicates_from_keys(keys[i] for i in alive)
    for i, d in zip(alive, dup):
        if d:
            reason[i], step[i], detail[i] = R.DUPLICATE, "exact_dedup", None
    alive = [i for i, d in zip(alive, dup) if not d]
    if alive:
        sigs = outcome.get_column("minhash").gather(alive).to_list()
        matches = near_duplicates_from_signatures(sigs, config)
        pid, src = ids.get_column("problem_id").to_list(), ids.get_column("source").to_list()
        for i, m in zip(alive, matches):
            if m is not None:
                j = alive[m]
                reason[i], step[i], detail[i] = R.NEAR_DUPLICATE, "near_dedup", f"near copy of {pid[j]} ({src[j]})"
    return pl.DataFrame({"reason": reason, "step": step, "detail": detail},
                        schema={"reason": pl.Utf8, "step": pl.Utf8, "detail": pl.Utf8})


def _record(funnel: Funnel, name: str, rows_in: int, rejected: pl.DataFrame) -> None:
    # the rows Funnel.record would write for this step, from the labelled rows of every shard
    funnel.record(name, rows_in, StepResult(kept=pl.DataFrame({"_": [0] * (rows_in - rejected.height)}),
                                            rejected=rejected))


def run_funnel_on_engine(config: FunnelConfig, engine: Engine, rows_per_shard: int = DEFAULT_SHARD_ROWS) -> FunnelResult:
    probe = Funnel()
    with measure_step(probe, "normalize"):
        rows, quarantined, loaded = read_all(config)
    result = filter_rows_on_engine(rows, quarantined, config, engine, loaded, rows_per_shard)
    result.funnel.timings[:0] = probe.timings
    return result


__all__ = ["CROSS_SHARD_STEPS", "NearDedupIndex", "StreamingFunnel", "cross_shard_dedup", "exact_duplicates_from_keys", "filter_rows_on_engine",
           "near_duplicates_from_signatures", "row_outcomes", "run_funnel_on_engine", "shard_rows"]
