"""Ray as the engine: batches become Ray Data blocks, the batch function a ``map_batches`` transform.

The engine joins the cluster at ``address`` (or ``RAY_ADDRESS``), or, when neither is set, starts
a Ray cluster on this machine with ``num_workers`` CPUs and no dashboard; a cluster it started is
shut down by :meth:`RayEngine.close`. Every row carries its shard and row number through Ray and
the results are sorted by them, so the output never depends on which block finished first.

Workers import the batch function from this package, so the cluster's Python environment must
have the project installed (the same virtual environment on one machine; the same image on a
real cluster).
"""

from __future__ import annotations

import logging
import os
from typing import Iterable, Iterator, Sequence

import polars as pl
import pyarrow as pa

from pipelines.engine.base import BatchFn, EngineError, apply_aligned, split_rows, tag, untag


class _AlignedBatch:
    """The Ray Data transform: Arrow block -> Polars -> ``fn`` (tags kept) -> Arrow."""

    def __init__(self, fn: BatchFn):
        self.fn = fn

    def __call__(self, block: pa.Table) -> pa.Table:
        return to_arrow(apply_aligned(self.fn, pl.from_arrow(block)))


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    # plain (large_)string, not string_view: every Arrow consumer in a Ray cluster reads it
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


class RayEngine:
    kind = "ray"

    def __init__(self, address: str = "", num_workers: int = 1, batch_rows: int = 0):
        self.address = address or os.environ.get("RAY_ADDRESS", "")
        self.num_workers = max(1, int(num_workers))
        self.batch_rows = int(batch_rows)
        self._started = False

    def start(self) -> "RayEngine":
        try:
            import ray
        except ImportError:
            raise EngineError("the ray engine needs Ray: pip install 'ray[data]' (make install does), or set "
                              "FOUNDRY_ENGINE=local") from None
        if ray.is_initialized():
            return self
        quiet = dict(log_to_driver=False, configure_logging=False)
        if self.address:
            try:
                ray.init(address=self.address, **quiet)
            except ConnectionError as exc:
                raise EngineError(f"cannot reach the Ray cluster at {self.address!r} ({exc}); start one with "
                                  "`ray start --head`, fix RAY_ADDRESS, or set FOUNDRY_ENGINE=local") from None
        else:
            # address="local": always a new cluster (never one a `ray start` left on this machine);
            # loopback only: it serves this machine and is reachable from nowhere else
            ray.init(address="local", num_cpus=self.num_workers, include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
            self._started = True
        ray.data.DataContext.get_current().enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # one INFO line per dataset otherwise
        return self

    def map_batches(self, fn: BatchFn, shards: Sequence[pl.DataFrame], *, batch_rows: int = 0) -> list[pl.DataFrame]:
        import ray

        shards = list(shards)
        rows = batch_rows or self.batch_rows
        blocks = [to_arrow(b) for i, s in enumerate(shards) if s.height for b in split_rows(tag(s, i), rows)]
        if not blocks:  # nothing to send: the function still decides the output columns
            return [apply_aligned(fn, tag(s, i)).drop("__engine_shard", "__engine_row") for i, s in enumerate(shards)]
        self.start()
        ds = ray.data.from_arrow(blocks)
        ds = ds.map_batches(_AlignedBatch(fn), batch_format="pyarrow", batch_size=None, zero_copy_batch=True)
        tables = ray.get(ds.to_arrow_refs())
        results = pl.from_arrow(pa.concat_tables(tables, promote_options="permissive"))
        empty = [i for i, s in enumerate(shards) if not s.height]
        if empty:  # empty shards never travel; their (empty) output comes from the function here
            local = [apply_aligned(fn, tag(shards[i], i)) for i in empty]
            results = pl.concat([results, *local], how="vertical_relaxed")
        return untag(results, shards)

    def map_stream(self, fn: BatchFn, batches: Iterable[pl.DataFrame], *, window: int = 0) -> Iterator[pl.DataFrame]:
        window = window or 2 * self.num_workers
        pending: list[pl.DataFrame] = []
        for batch in batches:
            pending.append(batch)
            if len(pending) >= window:
                yield from self.map_batches(fn, pending)
                pending = []
        if pending:
            yield from self.map_batches(fn, pending)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
