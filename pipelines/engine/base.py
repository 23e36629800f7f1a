"""The engine contract, its configuration, and the helpers both engines share.

Ordering is the one rule every engine keeps: results come back per input shard, rows in input
order, whatever order the batches finished in. The engines tag every row with its shard number
and row number before the work leaves the caller and sort by those tags when it comes back, so no
output depends on completion order, batch size or worker count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence

import polars as pl

ENGINES = ("local", "ray")
SHARD = "__engine_shard"  # tags added to every row on the way out, removed on the way back
ROW = "__engine_row"

BatchFn = Callable[[pl.DataFrame], pl.DataFrame]


class EngineError(RuntimeError):
    """The engine cannot run the work (bad configuration, a batch function broke the contract)."""


@dataclass(frozen=True)
class EngineConfig:
    """Which engine runs the per-row work.

    ``kind``: ``local`` (the default: this process, or ``num_workers`` processes on this machine)
    or ``ray``. ``address``: for ``ray``, the cluster to join (``ray://host:10001`` or
    ``host:6379``); empty means ``RAY_ADDRESS`` if set, else a Ray cluster started on this machine
    with ``num_workers`` CPUs. ``batch_rows``: rows per batch handed to one task (0 = one batch per
    shard).
    """

    kind: str = "local"
    address: str = ""
    num_workers: int = 1
    batch_rows: int = 0

    def __post_init__(self):
        if self.kind not in ENGINES:
            raise EngineError(f"engine kind {self.kind!r} is not one of {ENGINES}; set FOUNDRY_ENGINE (or the "
                              f"engine resource's `kind`) to local or ray")
        if self.num_workers < 1:
            raise EngineError(f"engine num_workers={self.num_workers} must be at least 1")
        if self.batch_rows < 0:
            raise EngineError(f"engine batch_rows={self.batch_rows} must be 0 (one batch per shard) or more")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "EngineConfig":
        """``FOUNDRY_ENGINE`` (local|ray), ``RAY_ADDRESS``, ``FOUNDRY_ENGINE_WORKERS``, ``FOUNDRY_ENGINE_BATCH_ROWS``."""
        env = os.environ if env is None else env
        try:
            workers = int(env.get("FOUNDRY_ENGINE_WORKERS", "1") or 1)
            batch_rows = int(env.get("FOUNDRY_ENGINE_BATCH_ROWS", "0") or 0)
        except ValueError as exc:
            raise EngineError(f"FOUNDRY_ENGINE_WORKERS / FOUNDRY_ENGINE_BATCH_ROWS must be integers ({exc})") from None
        return cls(kind=env.get("FOUNDRY_ENGINE", "local") or "local", address=env.get("RAY_ADDRESS", ""),
                   num_workers=workers, batch_rows=batch_rows)


class Engine(Protocol):
    """Runs row-aligned batch functions over shards; results in shard order, rows in input order."""

    kind: str
    num_workers: int

    def map_batches(self, fn: BatchFn, shards: Sequence[pl.DataFrame], *, batch_rows: int = 0) -> list[pl.DataFrame]:
        """``fn`` on every batch of every shard. ``fn`` returns one row per input row (same order);
        the result is one frame per shard. ``fn`` must be picklable (a module-level function or a
        ``functools.partial`` of one) for any engine but the in-process one."""
        ...

    def map_stream(self, fn: BatchFn, batches: Iterable[pl.DataFrame], *, window: int = 0) -> Iterator[pl.DataFrame]:
        """``fn`` on a stream of batches, yielding each output in input order while holding at most
        ``window`` batches (default: two per worker) in flight."""
        ...

    def close(self) -> None:
        ...


def split_rows(frame: pl.DataFrame, rows: int) -> list[pl.DataFrame]:
    """``frame`` cut into consecutive slices of at most ``rows`` rows (0: the frame itself)."""
    if rows <= 0 or frame.height <= rows:
        return [frame]
    return [frame.slice(i, rows) for i in range(0, frame.height, rows)]


def iter_frame_batches(frame: pl.DataFrame, rows: int) -> Iterator[pl.DataFrame]:
    yield from split_rows(frame, rows)


def tag(shard: pl.DataFrame, index: int) -> pl.DataFrame:
    return shard.with_columns(pl.lit(index, dtype=pl.Int64).alias(SHARD),
                              pl.int_range(shard.height, dtype=pl.Int64).alias(ROW))


def apply_aligned(fn: BatchFn, batch: pl.DataFrame) -> pl.DataFrame:
    """Run ``fn`` on a tagged batch and put the tags back on its output (checked row-aligned)."""
    tags = batch.select(SHARD, ROW)
    out = fn(batch.drop(SHARD, ROW))
    if not isinstance(out, pl.DataFrame):
        raise EngineError(f"{_name(fn)} returned {type(out).__name__}; a batch function returns a polars.DataFrame")
    if out.height != batch.height:
        raise EngineError(f"{_name(fn)} returned {out.height} rows for a batch of {batch.height}; a batch function "
                          "returns exactly one row per input row (return flags or reasons, filter afterwards)")
    clash = {SHARD, ROW} & set(out.columns)
    if clash:
        raise EngineError(f"{_name(fn)} returned the engine's own columns {sorted(clash)}; rename them")
    return tags.hstack(out)


def untag(results: pl.DataFrame, shards: Sequence[pl.DataFrame]) -> list[pl.DataFrame]:
    """Sort tagged results by (shard, row) and cut them back into one frame per shard."""
    results = results.sort(SHARD, ROW)
    counts = dict(results.group_by(SHARD).len().iter_rows())
    out, start = [], 0
    for i, shard in enumerate(shards):
        n = counts.get(i, 0)
        if n != shard.height:
            raise EngineError(f"shard {i}: {shard.height} rows in, {n} rows came back from the engine")
        out.append(results.slice(start, n).drop(SHARD, ROW))
        start += n
    return out


def _name(fn) -> str:
    inner = getattr(fn, "func", fn)
    return getattr(inner, "__qualname__", type(inner).__name__)


def make_engine(config: EngineConfig | None = None) -> Engine:
    """The engine ``config`` names (default: from the environment, ``local`` when nothing is set)."""
    config = config or EngineConfig.from_env()
    if config.kind == "ray":
        from pipelines.engine.ray_engine import RayEngine

        return RayEngine(address=config.address, num_workers=config.num_workers, batch_rows=config.batch_rows)
    from pipelines.engine.local import LocalEngine

    return LocalEngine(num_workers=config.num_workers, batch_rows=config.batch_rows)
