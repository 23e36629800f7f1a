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


def lossy(io: ParquetWarehouseIOManager, lose_from: str) -> LossyIOManager:
    """The same IO manager (same settings), losing one row of ``lose_from``."""
    return LossyIOManager(**{name: getattr(io, name) for name in type(io).model_fields}, lose_from=lose_from)


def lossy_resources(root: Path, lose_from: str) -> dict:
    resources = foundry_resources("sample", root)
    resources["io_manager"] = lossy(resources["io_manager"], lose_from)
    return resources
