"""The embedded default: batches run in this process, or in worker processes on this machine.

``num_workers=1`` runs every batch in the calling process (what the project did before engines:
steps with their own process pools, like answer verification, keep them). More workers run the
batches in a process pool; batches and results travel pickled, and results are put back in input
order whatever order they finished in.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Iterable, Iterator, Sequence

import polars as pl

from pipelines.engine.base import BatchFn, apply_aligned, split_rows, tag, untag


def _run(fn: BatchFn, batch: pl.DataFrame) -> pl.DataFrame:
    return apply_aligned(fn, batch)


def _plain(fn: BatchFn, batch: pl.DataFrame) -> pl.DataFrame:
    return fn(batch)


class LocalEngine:
    kind = "local"

    def __init__(self, num_workers: int = 1, batch_rows: int = 0):
        self.num_workers = max(1, int(num_workers))
        self.batch_rows = int(batch_rows)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: a fork of a clean server process, never of this (possibly threaded) one
            self._pool = ProcessPoolExecutor(self.num_workers, mp_context=mp.get_context("forkserver"))
        return self._pool

    def map_batches(self, fn: BatchFn, shards: Sequence[pl.DataFrame], *, batch_rows: int = 0) -> list[pl.DataFrame]:
        shards = list(shards)
        rows = batch_rows or self.batch_rows
        batches = [b for i, s in enumerate(shards) for b in split_rows(tag(s, i), rows)]
        if self.num_workers == 1:
            done = [_run(fn, b) for b in batches]
        else:
            futures = [self._executor().submit(_run, fn, b) for b in batches]
            done = [f.result() for f in futures]  # in submission order, not completion order
        if not done:
            return []
        return untag(pl.concat(done, how="vertical_relaxed"), shards)

    def map_stream(self, fn: BatchFn, batches: Iterable[pl.DataFrame], *, window: int = 0) -> Iterator[pl.DataFrame]:
        if self.num_workers == 1:
            for batch in batches:
                yield _checked(fn, batch)
            return
        window = window or 2 * self.num_workers
        pending: deque[tuple[pl.DataFrame, Future]] = deque()
        for batch in batches:
            pending.append((batch, self._executor().submit(_plain, fn, batch)))
            if len(pending) >= window:
                b, f = pending.popleft()
                yield _check_height(fn, b, f.result())
        while pending:
            b, f = pending.popleft()
            yield _check_height(fn, b, f.result())

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _checked(fn: BatchFn, batch: pl.DataFrame) -> pl.DataFrame:
    return _check_height(fn, batch, fn(batch))


def _check_height(fn, batch: pl.DataFrame, out: pl.DataFrame) -> pl.DataFrame:
    from pipelines.engine.base import EngineError, _name

    if out.height != batch.height:
        raise EngineError(f"{_name(fn)} returned {out.height} rows for a batch of {batch.height}; a batch function "
                          "returns exactly one row per input row")
    return out
