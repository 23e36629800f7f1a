"""An IO manager that loses one row of one asset on write: a break the frames held in memory cannot
show, which only the on-disk conservation check (assets/conservation.py) can catch."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from dagster import OutputContext

from assets.io import ParquetWarehouseIOManager
from assets.resources import foundry_resources


class LossyIOManager(ParquetWarehouseIOManager):
    lose_from: str  # the asset whose written file ends one row short

    def handle_output(self, context: OutputContext, obj: pl.DataFrame | None) -> None:
        if obj is not None and context.asset_key.to_user_string() == self.lose_from and obj.height:
            obj = obj.head(obj.height - 1)
        super().handle_output(context, obj)


def lossy_resources(root: Path, lose_from: str) -> dict:
    resources = foundry_resources("sample", root)
    io = resources["io_manager"]
    resources["io_manager"] = LossyIOManager(base_dir=io.base_dir, duckdb_path=io.duckdb_path, lose_from=lose_from)
    return resources
