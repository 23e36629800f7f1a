"""Reading asset tables from the warehouse without Dagster (same layout as ``assets/io.py``).

``<data_root>/assets/<name>.parquet``, or a Hive directory ``<name>/<col>=<value>/part-*.parquet``
whose partition column comes back as a column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl


def read_asset(data_root: str | Path, name: str) -> pl.DataFrame:
    base = Path(data_root) / "assets"
    directory = base / name
    if directory.is_dir():
        files = sorted(directory.glob("*=*/part-*.parquet"))
        return pl.read_parquet([str(f) for f in files], hive_partitioning=True) if files else pl.DataFrame()
    path = base / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: asset {name!r} is not materialized under {data_root}; run `make run` "
                                f"(or `foundry materialize`) first, or use --from-pipeline")
    return pl.read_parquet(path)


def read_assets(data_root: str | Path, names: list[str]) -> dict[str, pl.DataFrame]:
    return {n: read_asset(data_root, n) for n in names}
