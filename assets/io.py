"""Parquet IO manager with a DuckDB view per asset.

Storage layout, in one place (``asset_path`` / ``partition_file``):

- an unpartitioned asset: ``<data_root>/assets/<asset key>.parquet``;
- a Dagster-partitioned asset: one file per partition key,
  ``<asset key>/<dimension>=<partition key>/part-0.parquet``, where ``<dimension>`` is the
  definition metadata ``partition_by`` (the column the key is the value of; the column is not
  stored, the directory name carries it, as in Hive);
- an unpartitioned asset whose definition metadata sets ``partition_by`` is written whole as the
  same Hive directory (one file per value, stale values removed).

A partitioned downstream reads only its partition(s); an unpartitioned one reads every partition.
After each write ``<data_root>/foundry.duckdb`` gets ``CREATE OR REPLACE VIEW <asset_name>`` over the
files, so every asset can be queried by name; each materialization records ``dagster/uri``,
``dagster/table_name`` (the view) and ``dagster/column_schema`` (from the Polars schema).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import polars as pl
from dagster import ConfigurableIOManager, InputContext, MetadataValue, OutputContext

from assets.metadata import column_schema
from assets.resources import FoundryResource
from pipelines.core import storage
from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet


def view_name(key_path: list[str]) -> str:
    return "__".join(key_path)


def register_view(db_path: Path, name: str, target: Path | str, hive: bool, attempts: int = 50) -> None:
    """Create or replace a view; retries while another process holds the DuckDB file's lock.
    ``target`` may be a URI: the connection reads it through fsspec (see pipelines/core/storage.py)."""
    pattern = f"{str(target).rstrip('/')}/**/*.parquet" if hive else str(target)
    sql = (f"CREATE OR REPLACE VIEW \"{name}\" AS SELECT * FROM read_parquet('{pattern}'"
           f"{', hive_partitioning = true, union_by_name = true' if hive else ''})")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        try:
            con = duckdb.connect(str(db_path))
        except duckdb.IOException:  # the file is locked by a concurrent step process
            time.sleep(0.1 * (attempt + 1))
            continue
        try:
            storage.register_duckdb_filesystem(con, str(target))  # a no-op for local paths
            con.execute(sql).fetchall()
        finally:
            con.close()
        return
    raise RuntimeError(f"could not open {db_path} to register view {name!r}: locked by another process")


def _partition_by(context: OutputContext | InputContext) -> str | None:
    meta = (context.definition_metadata if isinstance(context, OutputContext)
            else (context.upstream_output.definition_metadata if context.upstream_output else None)) or {}
    by = meta.get("partition_by")
    by = getattr(by, "value", by)
    return str(by) if by else None


class ParquetWarehouseIOManager(ConfigurableIOManager):
    """Polars frames to Parquet under ``<data root>/assets``, each with a view in ``foundry.duckdb``.

    The data root comes from the ``foundry`` resource, resolved when the run starts."""

    foundry: FoundryResource
    # where tables go instead of <data root>/assets: an fsspec URI (s3://bucket/prefix); empty =
    # FOUNDRY_ASSETS_URI at run time, else the local data root. The DuckDB file stays local.
    base_uri: str = ""

    def remote_base(self) -> str | None:
        uri = self.base_uri or os.environ.get("FOUNDRY_ASSETS_URI", "")
        return uri.rstrip("/") if storage.is_uri(uri) else None

    @property
    def base_dir(self) -> Path:
        return self.foundry.root() / "assets"

    @property
    def duckdb_path(self) -> Path:
        return self.foundry.root() / "foundry.duckdb"

    def asset_path(self, key_path: list[str]) -> Path:
        """The directory of a Hive-style asset; ``.parquet`` beside it for a single-file asset."""
        return Path(self.base_dir, *key_path)

    def partition_file(self, key_path: list[str], by: str, partition_key: str) -> Path:
        return self.asset_path(key_path) / f"{by}={partition_key}" / "part-0.parquet"

    def handle_output(self, context: OutputContext, obj: pl.DataFrame | None) -> None:
        if obj is None:
            return
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{context.asset_key.to_user_string()}: expected a polars.DataFrame, got {type(obj).__name__}")
        key = list(context.asset_key.path)
        by = _partition_by(context)
        if self.remote_base():
            return self._handle_remote(context, obj, key, by)
        if context.has_asset_partitions:
            if not by:
                raise ValueError(f"{context.asset_key.to_user_string()} is partitioned but its definition metadata "
                                 "sets no partition_by column; add metadata={'partition_by': '<column>'}")
            target = self.asset_path(key)
            written = atomic_write_parquet(obj.drop(by, strict=False),
                                           self.partition_file(key, by, context.asset_partition_key))
        elif by:
            target = written = self.asset_path(key)
            write_partitioned_parquet(obj, target, by)
        else:
            target = written = self.asset_path(key[:-1] + [key[-1] + ".parquet"])
            atomic_write_parquet(obj, target)
        hive = bool(by)
        if not hive or any(target.glob("*=*/part-*.parquet")):
            register_view(self.duckdb_path, view_name(key), target, hive=hive)
        context.add_output_metadata({
            "dagster/uri": MetadataValue.path(Path(written).as_uri()),  # this partition's file, if partitioned
            "dagster/table_name": MetadataValue.text(view_name(key)),
            "dagster/column_schema": column_schema(obj),
        })

    def _handle_remote(self, context: OutputContext, obj: pl.DataFrame, key: list[str], by: str | None) -> None:
        """The same layout under an object-store URI: one PUT per file (an object appears whole)."""
        base = self.remote_base()
        if context.has_asset_partitions:
            if not by:
                raise ValueError(f"{context.asset_key.to_user_string()} is partitioned but its definition metadata "
                                 "sets no partition_by column; add metadata={'partition_by': '<column>'}")
            target = storage.join(base, *key)
            written = storage.write_parquet(obj.drop(by, strict=False),
                                            storage.join(target, f"{by}={context.asset_partition_key}", "part-0.parquet"))
        elif by:
            target = written = storage.join(base, *key)
            storage.write_partitioned_parquet(obj, target, by)
        else:
            target = written = storage.join(base, *key[:-1], key[-1] + ".parquet")
            storage.write_parquet(obj, target)
        if not by or storage.list_files(target, "*=*/part-*.parquet"):
            register_view(self.duckdb_path, view_name(key), target, hive=bool(by))
        context.add_output_metadata({
            "dagster/uri": MetadataValue.url(written),
            "dagster/table_name": MetadataValue.text(view_name(key)),
            "dagster/column_schema": column_schema(obj),
        })

    def _load_remote(self, context: InputContext, key: list[str]) -> pl.DataFrame:
        base = self.remote_base()
        directory = storage.join(base, *key)
        if not storage.is_dir(directory):
            return storage.read_parquet(storage.join(base, *key[:-1], key[-1] + ".parquet"))
        by = _partition_by(context)
        if by and context.has_asset_partitions:
            files = [storage.join(directory, f"{by}={k}", "part-0.parquet") for k in sorted(context.asset_partition_keys)]
        else:
            files = storage.list_files(directory, "*=*/part-*.parquet")
        if not files:
            return pl.DataFrame()
        parts = []
        for f in files:
            column, value = f.rstrip("/").split("/")[-2].split("=", 1)
            parts.append(storage.read_parquet(f).with_columns(pl.lit(value, dtype=pl.Utf8).alias(column)))
        return pl.concat(parts, how="diagonal_relaxed")

    def load_input(self, context: InputContext) -> pl.DataFrame:
        key = list(context.asset_key.path)
        if self.remote_base():
            return self._load_remote(context, key)
        directory = self.asset_path(key)
        if directory.is_dir():
            by = _partition_by(context)
            if by and context.has_asset_partitions:
                # a partitioned downstream reads its own partition(s); an unpartitioned one gets every
                # partition Dagster maps to it (all of them)
                files = [self.partition_file(key, by, k) for k in sorted(context.asset_partition_keys)]
                missing = [f.parent.name for f in files if not f.exists()]
                if missing and context.has_partition_key:  # a partitioned downstream needs its own partition
                    raise FileNotFoundError(f"{context.asset_key.to_user_string()}: partition(s) {missing} not "
                                            f"written under {directory}; materialize those partitions first")
                if missing:  # an unpartitioned downstream reads what exists, and says what it did not find
                    context.log.warning(f"{context.asset_key.to_user_string()}: {len(missing)} partition(s) not "
                                        f"materialized, read without them: {', '.join(missing)}")
                    files = [f for f in files if f.exists()]
            else:
                files = sorted(directory.glob("*=*/part-*.parquet"))
            if not files:
                return pl.DataFrame()
            return pl.concat([_read_partition(f) for f in files], how="diagonal_relaxed")
        return pl.read_parquet(self.asset_path(key[:-1] + [key[-1] + ".parquet"]))


def _read_partition(path: Path) -> pl.DataFrame:
    """One Hive file with its ``<column>=<value>`` directory restored as a column (last, as Hive does)."""
    column, value = path.parent.name.split("=", 1)
    frame = pl.read_parquet(path)
    return frame.with_columns(pl.lit(value, dtype=pl.Utf8).alias(column))
