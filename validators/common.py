"""Invariants every family shares, as plain functions returning (passed, metadata).

Families turn them into ``AssetCheckResult`` with :func:`to_check_result`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import polars as pl
import pyarrow.parquet as pq
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from pipelines.core.steps import check_funnel_conservation


def row_conservation(funnel: pl.DataFrame, rows_in: int, kept: int, rejected: int) -> tuple[bool, dict]:
    """Every input row is kept or rejected once: per step, and end to end."""
    problems = check_funnel_conservation(funnel)
    if kept + rejected != rows_in:
        problems.append(f"end to end: kept {kept} + rejected {rejected} != input {rows_in}")
    return not problems, {"rows_in": rows_in, "kept": kept, "rejected": rejected,
                          "problems": "\n".join(problems) or "none"}


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of one written table: the file itself, or every ``*.parquet`` under a
    partitioned directory (any depth, so Hive folders and per-partition files both count)."""
    path = Path(path)
    if path.is_dir():
        return sorted(path.rglob("*.parquet"))
    if path.exists():
        return [path]
    alt = path.with_suffix(".parquet") if path.suffix != ".parquet" else path.with_suffix("")
    if alt.is_dir():
        return sorted(alt.rglob("*.parquet"))
    return [alt] if alt.exists() else []


def parquet_rows(paths: str | Path | Sequence[str | Path]) -> int:
    """Rows of the tables written at ``paths``, from the Parquet footers (no data is read)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    total = 0
    for p in paths:
        files = parquet_files(p)
        if not files:
            raise FileNotFoundError(f"{p}: no Parquet file written there; materialize the asset first")
        total += sum(pq.read_metadata(f).num_rows for f in files)
    return total


def funnel_totals(files: Sequence[str | Path]) -> tuple[dict, list[str]]:
    """Rows in (the first step's input), kept (the last step's) and rejected (all reasons) of funnel
    tables on disk, summed over ``files``: a partitioned family writes one funnel per partition,
    each a chain of its own. Also the problems of each (:func:`check_funnel_conservation`)."""
    totals = {"rows_in": 0, "kept": 0, "rejected": 0}
    problems: list[str] = []
    for f in files:
        funnel = pl.read_parquet(f)
        if not funnel.height:
            continue
        problems += [f"funnel {f}: {p}" for p in check_funnel_conservation(funnel)]
        totals["rows_in"] += int(funnel.get_column("rows_in")[0])
        totals["kept"] += int(funnel.get_column("rows_kept")[-1])
        totals["rejected"] += int(funnel.get_column("count").sum())
    return totals, problems


def conservation_on_disk(read_rows: int | str | Path | Sequence[str | Path],
                         kept_paths: str | Path | Sequence[str | Path],
                         rejected_paths: str | Path | Sequence[str | Path],
                         funnel_path: str | Path | None = None) -> tuple[bool, dict]:
    """kept + rejected = read, counted in the files the IO manager wrote, not in memory.

    ``read_rows`` is the input: a count, or the files of the input tables. ``funnel_path`` (the
    family's funnel table on disk), when given, must also conserve step by step, start from the
    rows read, end with the kept file's rows and reject as many rows as the rejected files hold."""
    problems: list[str] = []
    try:
        kept = parquet_rows(kept_paths)
        rejected = parquet_rows(rejected_paths)
        read = read_rows if isinstance(read_rows, int) else parquet_rows(read_rows)
    except FileNotFoundError as exc:  # a table of the family not written yet (e.g. one asset materialized alone)
        return False, {"problems": str(exc), "missing": True}
    meta: dict = {"rows_read": read, "kept_on_disk": kept, "rejected_on_disk": rejected}
    if kept + rejected != read:
        problems.append(f"kept {kept} + rejected {rejected} = {kept + rejected} rows on disk, but {read} were read: "
                        f"a step lost or invented rows, or a file was changed after writing; rematerialize the family")
    if funnel_path is not None:
        files = parquet_files(funnel_path)
        if not files:
            problems.append(f"{funnel_path}: no funnel table written; materialize the family's funnel")
        else:
            totals, funnel_problems = funnel_totals(files)
            problems += funnel_problems
            meta.update(funnel_rows_in=totals["rows_in"], funnel_kept=totals["kept"], funnel_rejected=totals["rejected"])
            if totals["rows_in"] != read:
                problems.append(f"funnel {funnel_path} starts from {totals['rows_in']} rows, but {read} were read")
            if totals["kept"] != kept:
                problems.append(f"funnel {funnel_path} ends with {totals['kept']} kept, but the kept files hold {kept}")
            if totals["rejected"] != rejected:
                problems.append(f"funnel {funnel_path} rejects {totals['rejected']} rows, "
                                f"but the rejected files hold {rejected}")
    meta["problems"] = "\n".join(problems) or "none"
    return not problems, meta


def unique_values(frame: pl.DataFrame, column: str) -> tuple[bool, dict]:
    dupes = frame.height - frame.get_column(column).n_unique()
    nulls = frame.get_column(column).null_count()
    return dupes == 0 and nulls == 0, {"duplicates": dupes, "nulls": nulls}


def schema_matches(frame: pl.DataFrame, expected: Mapping[str, pl.DataType]) -> tuple[bool, dict]:
    missing = [c for c in expected if c not in frame.columns]
    wrong = [f"{c}: {frame.schema[c]} != {t}" for c, t in expected.items() if c in frame.columns and frame.schema[c] != t]
    extra = [c for c in frame.columns if c not in expected]
    return not (missing or wrong), {"missing": ", ".join(missing) or "none", "wrong_types": "; ".join(wrong) or "none",
                                     "extra": ", ".join(extra) or "none"}


def to_check_result(name: str, outcome: tuple[bool, dict], *, asset_key=None,
                    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> AssetCheckResult:
    passed, meta = outcome
    return AssetCheckResult(
        check_name=name,
        asset_key=asset_key,
        passed=bool(passed),
        severity=severity,
        metadata={k: (MetadataValue.text(v) if isinstance(v, str) else v) for k, v in meta.items()},
    )


def gx_check(frame: pl.DataFrame, suite_name: str, expectations, *, data_docs_dir=None,
             asset_key=None) -> AssetCheckResult:
    """Run a Great Expectations suite on ``frame`` and report it as an asset check result, with
    the per-expectation table as markdown (and the Data Docs page when ``data_docs_dir`` is set)."""
    from validators.gx import validate_frame

    ok, meta = validate_frame(frame, suite_name, expectations, data_docs_dir=data_docs_dir)
    return AssetCheckResult(asset_key=asset_key, passed=ok,
                            metadata={**meta, "results_markdown": MetadataValue.md(meta["results_markdown"])})
