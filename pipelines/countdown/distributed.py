"""Countdown search traces on an engine: one task per chunk of (strategy, problem) pairs.

Each pair's search is independent and seeded from the problem id, so the traces are the same
whichever worker runs them; rows come back in input order and are sorted exactly as
:func:`pipelines.countdown.traces.build_traces` sorts them, so both give the same frame.
"""

from __future__ import annotations

from functools import partial

import polars as pl

from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.traces import SCHEMA, checked_strategies, run_one, trace_problems, trace_row
from pipelines.engine import Engine, split_rows

STRATEGY = "strategy"
DEFAULT_CHUNK = 16  # pairs per task: a search is milliseconds to a second; smaller chunks spread better


def trace_pairs(problems: pl.DataFrame, cfg: CountdownConfig, strategies: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Every (strategy, problem) pair :func:`build_traces` searches, strategies sorted, problems by id."""
    names = pl.DataFrame({STRATEGY: checked_strategies(cfg, strategies)}, schema={STRATEGY: pl.Utf8})
    chosen = trace_problems(problems, cfg)
    return names.join(chosen, how="cross")


def trace_batch(pairs: pl.DataFrame, cfg: CountdownConfig) -> pl.DataFrame:
    """The batch function: one trace row per (strategy, problem) row."""
    rows = [trace_row(run_one(p[STRATEGY], p, cfg), p, p[STRATEGY]) for p in pairs.iter_rows(named=True)]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def build_traces_on_engine(problems: pl.DataFrame, cfg: CountdownConfig, engine: Engine,
                           strategies: tuple[str, ...] | None = None, chunk: int = DEFAULT_CHUNK) -> pl.DataFrame:
    """:func:`pipelines.countdown.traces.build_traces` with the searches on ``engine``: one shard per
    strategy, cut into chunks of ``chunk`` problems."""
    pairs = trace_pairs(problems, cfg, strategies)
    if not pairs.height:
        return pl.DataFrame(schema=SCHEMA)
    shards = [s for part in pairs.partition_by(STRATEGY, maintain_order=True) for s in split_rows(part, chunk)]
    out = engine.map_batches(partial(trace_batch, cfg=cfg), shards)
    return pl.concat(out, how="vertical").sort("strategy", "problem_id")
