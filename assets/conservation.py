"""The row contract's blocking check, one per family: kept + rejected = read, counted in the files
the IO manager wrote (not in the frames a step held in memory).

Each check reads the Parquet footers under ``<data_root>/assets`` after its assets were written, so a
row lost on the way to disk, or a file changed after writing, fails it and blocks what depends on the
family's kept table. A table of the family not written at all (one asset materialized alone, before
the others) is a warning that names it, not a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, asset_check

from assets.resources import FoundryResource
from validators.common import conservation_on_disk, funnel_totals, parquet_files, to_check_result

CHECK_NAME = "row_conservation_on_disk"


def asset_path(foundry: FoundryResource, key: AssetKey) -> Path:
    """Where the warehouse IO manager writes ``key`` (a file, or a partitioned directory)."""
    return foundry.root() / "assets" / Path(*key.path)


def rows_where(path: Path, column: str, value: str) -> int:
    """Rows of the table at ``path`` whose ``column`` equals ``value`` (the input of a family that
    reads part of another family's table)."""
    files = parquet_files(path)
    if not files:
        raise FileNotFoundError(f"{path}: no Parquet file written there; materialize the asset first")
    frame = pl.scan_parquet([str(f) for f in files]).filter(pl.col(column) == value)
    return int(frame.select(pl.len()).collect().item())


def conservation_check(*, asset: AssetKey, kept: Sequence[AssetKey], rejected: Sequence[AssetKey],
                       funnel: AssetKey, read: Sequence[AssetKey] = (),
                       read_rows: Callable[[FoundryResource], int] | None = None,
                       name: str = CHECK_NAME, description: str = ""):
    """A blocking asset check on ``asset``: the kept and rejected files add up to the rows read,
    and the funnel table on disk agrees with both. Without ``read`` or ``read_rows`` the rows read
    are the funnel's first step's input (the input was generated in memory, never written), summed
    over the funnel's files when the family writes one per partition."""
    deps = [k for k in (*kept, *rejected, funnel, *read) if k != asset]

    @asset_check(asset=asset, name=name, blocking=True, additional_deps=list(dict.fromkeys(deps)),
                 description=description or "kept + rejected = read, counted in the Parquet files written "
                                            "(and the funnel table on disk agrees)")
    def _check(foundry: FoundryResource) -> AssetCheckResult:
        funnel_path = asset_path(foundry, funnel)
        if read_rows is not None:
            try:
                n_read: int | list = read_rows(foundry)
            except FileNotFoundError as exc:
                return to_check_result(name, (False, {"problems": str(exc)}), asset_key=asset,
                                       severity=AssetCheckSeverity.WARN)
        elif read:
            n_read = [asset_path(foundry, k) for k in read]
        else:
            files = parquet_files(funnel_path)
            if not files:
                return to_check_result(name, (False, {"problems": f"{funnel_path}: no funnel table written"}),
                                       asset_key=asset, severity=AssetCheckSeverity.WARN)
            n_read = funnel_totals(files)[0]["rows_in"]
        outcome = conservation_on_disk(n_read, [asset_path(foundry, k) for k in kept],
                                       [asset_path(foundry, k) for k in rejected], funnel_path)
        # a table not written yet (one asset of the family materialized alone) warns; files that are
        # all there and do not add up fail and block
        severity = AssetCheckSeverity.WARN if outcome[1].get("missing") else AssetCheckSeverity.ERROR
        return to_check_result(name, outcome, asset_key=asset, severity=severity)

    return _check
