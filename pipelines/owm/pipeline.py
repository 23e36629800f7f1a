"""The family end to end, as plain functions: read -> score -> select, and annotate -> train.

``build_corpora(cfg, scorer)`` needs no LLM (the baseline scorer); ``annotate_and_train`` labels
a seeded sample through the LLM layer, trains the classifier on part of it and evaluates it and
the baseline on the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import polars as pl

from pipelines.behaviors.detector import BEHAVIORS, detect_behaviors
from pipelines.owm.annotate import annotate, label_matrix, parse_failure_rates
from pipelines.owm.config import OwmConfig
from pipelines.owm.evaluate import compare_scorers, is_heldout, pr_plot
from pipelines.owm.reader import iter_batches
from pipelines.owm.scorers import BaselineScorer, ClassifierScorer, FeatureConfig, train_classifier
from pipelines.owm.select import POS, Selection, select_corpora, select_two_pass, shuffle_key

DOC_SCHEMA = {"doc_id": pl.Utf8, "shard": pl.Utf8, "row": pl.Int64, "text": pl.Utf8, "url": pl.Utf8,
              "date": pl.Utf8, "metadata": pl.Utf8}
READ_REJECT_SCHEMA = {"shard": pl.Utf8, "row": pl.Int64, "reason": pl.Utf8, "detail": pl.Utf8, "raw": pl.Utf8}


def score_frame(docs: pl.DataFrame, scorer) -> pl.DataFrame:
    """``docs`` + ``score_<behavior>`` (the scorer's), ``count_<behavior>`` (the lexical detector's
    cue sentences, always: an auditable count next to any model score), scorer version, labeller."""
    texts = docs.get_column("text").to_list()
    scores = scorer.score(texts)
    counts = [detect_behaviors(t).as_dict() for t in texts] if not isinstance(scorer, BaselineScorer) else None
    cols = []
    for b in BEHAVIORS:
        cols.append(pl.Series(f"score_{b}", np.asarray(scores[b], dtype=np.float64), dtype=pl.Float64))
        c = scores[b] if counts is None else [x[b] for x in counts]
        cols.append(pl.Series(f"count_{b}", np.asarray(c, dtype=np.int64), dtype=pl.Int64))
    return docs.with_columns(*cols, pl.lit(scorer.version).alias("scorer_version"), pl.lit(scorer.kind).alias("scorer_kind"),
                             pl.lit(scorer.labelling_model, dtype=pl.Utf8).alias("labelling_model"))


def stream_scored(paths: Sequence[str], scorer, batch_rows: int = 256, fields: dict[str, str] | None = None
                  ) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """``(scored documents, read rejects)`` per record batch of every file, in file order."""
    for path in paths:
        for batch in iter_batches(path, fields, batch_rows):
            docs = pl.DataFrame(batch.kept, schema=DOC_SCHEMA)
            yield score_frame(docs, scorer), pl.DataFrame(batch.rejected, schema=READ_REJECT_SCHEMA)


@dataclass
class CorporaBuild:
    selection: Selection
    rejected: pl.DataFrame          # read rejects + selection rejects, one row each
    rows_read: int
    scorer_version: str
    scorer_kind: str
    stats: dict = field(default_factory=dict)

    @property
    def enriched(self) -> pl.DataFrame:
        return self.selection.enriched

    @property
    def control(self) -> pl.DataFrame:
        return self.selection.control


def read_scored(cfg: OwmConfig, scorer) -> tuple[pl.DataFrame, pl.DataFrame]:
    scored, bad = [], []
    for s, r in stream_scored(cfg.shards, scorer, cfg.batch_rows):
        scored.append(s)
        bad.append(r)
    return pl.concat(scored, how="vertical"), pl.concat(bad, how="vertical")


def build_corpora(cfg: OwmConfig, scorer=None) -> CorporaBuild:
    """Both corpora from ``cfg.shards``; the baseline scorer unless one is given.

    Two passes over the shards, so memory does not grow with the corpus's text: pass 1 scores every
    document and keeps its ledger row (id, scores, token counts; :func:`pipelines.owm.select.ledger`),
    the selection is decided on those, pass 2 reads the shards again and scores only the chosen
    documents (the token budget bounds them). The rejected rows carry no text (it stays in the shards)."""
    scorer = scorer or BaselineScorer()
    read_rejects: list[pl.DataFrame] = []

    def pass1() -> Iterator[pl.DataFrame]:
        for scored, bad in stream_scored(cfg.shards, scorer, cfg.batch_rows):
            read_rejects.append(bad)
            yield scored

    def pass2(chosen: pl.DataFrame) -> Iterator[pl.DataFrame]:
        wanted = chosen.select(POS)
        offset = 0
        for path in cfg.shards:
            for batch in iter_batches(path, None, cfg.batch_rows):
                docs = pl.DataFrame(batch.kept, schema=DOC_SCHEMA)
                docs = docs.with_columns(pl.int_range(offset, offset + docs.height, dtype=pl.Int64).alias(POS))
                offset += docs.height
                hit = docs.join(wanted, on=POS, how="semi", maintain_order="left")
                if hit.height:
                    yield score_frame(hit.drop(POS), scorer).with_columns(hit.get_column(POS))

    selection = select_two_pass(pass1(), pass2, cfg)
    read_rejects_frame = pl.concat(read_rejects, how="vertical")
    rejected = pl.concat([read_rejects_frame.with_columns(pl.lit("read").alias("step")), selection.rejected],
                         how="diagonal_relaxed").sort("step", "reason", "shard", "row")
    rows_read = selection.stats["documents_in"] + read_rejects_frame.height
    stats = {**selection.stats, "rows_read": rows_read, "read_rejected": read_rejects_frame.height,
             "scorer_version": scorer.version, "scorer_kind": scorer.kind, "labelling_model": scorer.labelling_model}
    return CorporaBuild(selection, rejected, rows_read, scorer.version, scorer.kind, stats)


def corpora_funnel(rows: pl.DataFrame, cfg: OwmConfig):
    """Every row read (scored documents, and quarantined rows with ``reason`` set) through the shared
    step runner: ``read`` (quarantined rows leave) then ``select`` (duplicates, middle band, over
    budget leave). Returns ``(corpora with a set column, rejected, funnel, selection stats)``."""
    from pipelines.core.steps import Step, StepResult, run_steps

    holder: dict = {}

    def read(frame: pl.DataFrame) -> StepResult:
        bad = frame.get_column("reason").is_not_null() if "reason" in frame.columns else pl.repeat(False, frame.height, eager=True)
        return StepResult(kept=frame.filter(~bad).drop("reason", "detail", "raw", strict=False),
                          rejected=frame.filter(bad).with_columns(pl.lit("read").alias("step")))

    def select(frame: pl.DataFrame) -> StepResult:
        selection = select_corpora(frame, cfg)
        holder["stats"] = selection.stats
        kept = pl.concat([selection.enriched.with_columns(pl.lit("enriched").alias("set")),
                          selection.control.with_columns(pl.lit("control").alias("set"))], how="vertical")
        return StepResult(kept=kept, rejected=selection.rejected)

    kept, rejected, funnel = run_steps(rows, [Step("read", read, "rows the reader could not use"),
                                              Step("select", select, "the selection rule and the token budget")])
    return kept.sort("set", "doc_id"), rejected, funnel, holder.get("stats", {})


def corpora_from_files(score_files: Sequence[str], quarantine_files: Sequence[str], cfg: OwmConfig,
                       batch_rows: int | None = None):
    """:func:`corpora_funnel` over scored shards written as Parquet files (local paths or URIs), with
    bounded memory: the two-pass selection streams the files twice (pass 1: ledger rows; pass 2:
    the chosen documents) instead of holding every scored document. Files are taken in the order
    of their shards' names (the funnel's shard/row order), rows in file order. The quarantined rows
    (small) are read whole. Returns what :func:`corpora_funnel` returns; the rejected rows carry
    no text."""
    from pipelines.core.steps import Funnel
    from pipelines.core.storage import iter_parquet_batches, read_parquet

    rows = batch_rows or cfg.batch_rows

    def first_shard(f: str) -> str:
        for batch in iter_parquet_batches(f, 1, ["shard"]):
            return batch.get_column("shard")[0] if batch.height else ""
        return ""

    ordered = [f for _, f in sorted((first_shard(f), f) for f in score_files)]

    def pass1() -> Iterator[pl.DataFrame]:
        for f in ordered:
            yield from (b for b in iter_parquet_batches(f, rows) if b.height)

    def pass2(chosen: pl.DataFrame) -> Iterator[pl.DataFrame]:
        wanted, offset = chosen.select(POS), 0
        for batch in pass1():
            batch = batch.with_columns(pl.int_range(offset, offset + batch.height, dtype=pl.Int64).alias(POS))
            offset += batch.height
            hit = batch.join(wanted, on=POS, how="semi", maintain_order="left")
            if hit.height:
                yield hit

    quarantine = (pl.concat([read_parquet(f) for f in quarantine_files], how="diagonal_relaxed")
                  if quarantine_files else pl.DataFrame(schema=READ_REJECT_SCHEMA))
    selection = select_two_pass(pass1(), pass2, cfg)
    n_scored = selection.stats["documents_in"]
    corpora = pl.concat([selection.enriched, selection.control], how="vertical").sort("set", "doc_id")
    rejected = pl.concat([quarantine.with_columns(pl.lit("read").alias("step")), selection.rejected],
                         how="diagonal_relaxed")
    funnel = Funnel()
    read_reasons = dict(quarantine.group_by("reason").len().iter_rows()) if quarantine.height else {}
    funnel.record_counts("read", n_scored + quarantine.height, n_scored, read_reasons)
    funnel.record_counts("select", n_scored, corpora.height, selection.stats["rejected"])
    return corpora, rejected, funnel, selection.stats


def rows_read(cfg: OwmConfig, scorer=None) -> pl.DataFrame:
    """Every row of ``cfg.shards``, scored or quarantined, in shard/row order (the funnel's input)."""
    scored, bad = read_scored(cfg, scorer or BaselineScorer())
    return pl.concat([scored, bad], how="diagonal_relaxed").sort("shard", "row")


@dataclass
class TrainResult:
    scorer: ClassifierScorer
    labels: pl.DataFrame
    metrics: dict
    parse_failures: dict
    train_docs: int
    heldout_docs: int


def annotation_sample(docs: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """``n`` documents chosen by a seeded hash of their id (stable whatever the input order)."""
    keyed = docs.with_columns(pl.col("doc_id").map_elements(lambda d: shuffle_key(seed, d), return_dtype=pl.Utf8).alias("_k"))
    return keyed.sort("_k").head(n).drop("_k").unique("doc_id", keep="first", maintain_order=True)


def annotate_and_train(cfg: OwmConfig, llm, docs: pl.DataFrame, sample_size: int, plot_path: str | Path | None = None,
                       batch_size: int = 64, ask=None) -> TrainResult:
    """Label a sample with the LLM, train on the train part, evaluate on the held-back part.
    ``ask``: where the LLM calls run (:func:`pipelines.owm.annotate.engine_ask`: on the engine)."""
    sample = annotation_sample(docs, sample_size, cfg.seed)
    labels = annotate(llm, sample.select("doc_id", "text").to_dicts(), BEHAVIORS, cfg.label_chars, ask=ask)
    matrix = label_matrix(labels).join(sample.select("doc_id", "text"), on="doc_id", how="left")
    held = matrix.get_column("doc_id").map_elements(lambda d: is_heldout(d, cfg.seed, cfg.heldout_fraction), return_dtype=pl.Boolean)
    train, test = matrix.filter(~held), matrix.filter(held)
    fcfg = FeatureConfig(n_features=cfg.n_features, seed=cfg.seed, epochs=cfg.epochs)
    batches = [(train.get_column("text").slice(i, batch_size).to_list(),
                train.select(BEHAVIORS).slice(i, batch_size).to_numpy())
               for i in range(0, train.height, batch_size)]
    scorer = train_classifier(batches, fcfg, BEHAVIORS, labelling_model=llm.model)
    metrics: dict[str, Any] = {}
    if test.height:
        texts = test.get_column("text").to_list()
        y = {b: test.get_column(b).to_numpy() for b in BEHAVIORS}
        scored = {"classifier": scorer.score(texts), "baseline": BaselineScorer().score(texts)}
        metrics = compare_scorers(y, scored, {"classifier": cfg.classifier_threshold, "baseline": 1.0})
        if plot_path:
            pr_plot(y, scored, plot_path)
    return TrainResult(scorer, labels, metrics, parse_failure_rates(labels), train.height, test.height)


def write_build(build: CorporaBuild, out_dir: str | Path, checks: dict[str, list[str]] | None = None) -> list[Path]:
    """``enriched.parquet``, ``control.parquet``, ``rejected.parquet`` and ``stats.json`` under
    ``out_dir``; same build, same bytes."""
    import json

    from pipelines.core.io import atomic_write_parquet, atomic_write_text

    out = Path(out_dir)
    written = [atomic_write_parquet(build.enriched, out / "enriched.parquet"),
               atomic_write_parquet(build.control, out / "control.parquet"),
               atomic_write_parquet(build.rejected, out / "rejected.parquet")]
    stats = {**build.stats, **({"checks": checks} if checks is not None else {})}
    written.append(atomic_write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", out / "stats.json"))
    return written
