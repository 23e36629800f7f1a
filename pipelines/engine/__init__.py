"""The engine the heavy per-row work runs on: ``local`` (this machine) or ``ray`` (a Ray cluster).

Every family hands its per-row work to :meth:`Engine.map_batches` as a function from one record
batch (a Polars frame) to a frame with one output row per input row. The engine may cut, move and
run those batches anywhere, in any order; the caller gets back one frame per input shard, rows in
input order, so the same inputs give byte-identical outputs on every engine and worker count.
"""

from pipelines.engine.base import (
    ENGINES,
    Engine,
    EngineConfig,
    EngineError,
    iter_frame_batches,
    make_engine,
    split_rows,
)

__all__ = ["ENGINES", "Engine", "EngineConfig", "EngineError", "iter_frame_batches", "make_engine", "split_rows"]
