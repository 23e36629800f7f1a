"""Parquet IO manager with a DuckDB view per asset.

Each asset is written atomically under ``<data_root>/assets/<asset key>.parquet`` or, when the
asset's definition metadata sets ``partition_by``, as a Hive-style directory
``<asset key>/<column>=<value>/part-0.parquet``. After each write, ``<data_root>/foundry.duckdb``
gets ``CREATE OR REPLACE VIEW <asset_name>`` over the files, so every asset can be queried by name.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import polars as pl
from dagster import ConfigurableIOManager, InputContext, OutputContext

from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet


def view_name(key_path: list[str]) -> str:
    return "__".join(key_path)


def register_view(db_path: Path, name: str, target: Path, hive: bool, attempts: int = 50) -> None:
    """Create or replace a view; retries while another process holds the DuckDB file's lock."""
    pattern = str(target / "**" / "*.parquet") if hive else str(target)
    sql = (f"CREATE OR REPLACE VIEW \"{name}\" AS SELECT * FROM read_parquet('{pattern}'"
           f"{', hive_partitioning = true' if hive else ''})")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        try:
            con = duckdb.connect(str(db_path))
        except duckdb.IOException:  # the file is locked by a concurrent step process
            time.sleep(0.1 * (attempt + 1))
            continue
        try:
            con.execute(sql).fetchall()
        finally:
            con.close()
        return
    raise RuntimeError(f"could not open {db_path} to register view {name!r}: locked by another process")


class ParquetWarehouseIOManager(ConfigurableIOManager):
    """Polars frames to Parquet under ``base_dir``, each with a view in ``duckdb_path``."""

    base_dir: str
    duckdb_path: str

    def _path(self, key_path: list[str]) -> Path:
        return Path(self.base_dir, *key_path)

    def handle_output(self, context: OutputContext, obj: pl.DataFrame | None) -> None:
        if obj is None:
            return
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a polars.DataFrame, got {type(obj).__name__}")
        key = list(context.asset_key.path)
        meta = context.definition_metadata or {}
        by = meta.get("partition_by")
        by = getattr(by, "value", by)
        if by:
            target = self._path(key)
            write_partitioned_parquet(obj, target, str(by))
        else:
            target = self._path(key[:-1] + [key[-1] + ".parquet"])
            atomic_write_parquet(obj, target)
        if obj.height or not by:
            register_view(Path(self.duckdb_path), view_name(key), target, hive=bool(by))
        context.add_output_metadata({"path": str(target), "duckdb_view": view_name(key)})

    def load_input(self, context: InputContext) -> pl.DataFrame:
        key = list(context.asset_key.path)
        directory = self._path(key)
        if directory.is_dir():
            files = sorted(directory.glob("*=*/part-*.parquet"))
            if not files:
                return pl.DataFrame()
            return pl.read_parquet([str(f) for f in files], hive_partitioning=True)
        return pl.read_parquet(self._path(key[:-1] + [key[-1] + ".parquet"]))
