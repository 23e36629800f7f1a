"""The engine as a Dagster resource: where the heavy per-row work runs (no FAMILY: not a family).

``kind`` is ``local`` (the default: this run's process and its worker processes; no cluster, no
network) or ``ray``. Empty fields fall back to the environment when the run starts, never at
import: ``FOUNDRY_ENGINE``, ``RAY_ADDRESS``, ``FOUNDRY_ENGINE_WORKERS``, ``FOUNDRY_ENGINE_BATCH_ROWS``.
The assets open the engine for the length of their body; a Ray cluster the engine started itself
(no address given) is shut down when the body ends, a cluster it joined is left running.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from dagster import ConfigurableResource

from pipelines.engine import Engine, EngineConfig, make_engine


class EngineResource(ConfigurableResource):
    """`local` (embedded default) or `ray` (Ray Data over shards on a cluster at `address`)."""

    kind: str = ""
    address: str = ""
    num_workers: int = 0
    batch_rows: int = 0

    def config(self) -> EngineConfig:
        env = EngineConfig.from_env()
        return EngineConfig(kind=self.kind or env.kind, address=self.address or env.address,
                            num_workers=self.num_workers or env.num_workers, batch_rows=self.batch_rows or env.batch_rows)

    @contextmanager
    def open(self) -> Iterator[Engine]:
        engine = make_engine(self.config())
        try:
            yield engine
        finally:
            engine.close()
